/* The host step's own single-precision GEMM for the small matrices of a
 * training or reverse step (lib/small-gemm.h).
 *
 * Why not the BLAS: a step's GEMMs are tens of rows by tens of columns
 * (784-50-50-50-10 at batch 50: 50 × 50 × 392 for each half of layer 1,
 * 25 × 50 × 50 for a member's rows, W_1's gradient in blocks of 392 × 50 ×
 * 50). OpenBLAS packs A and B on every call and runs kernels tiled for
 * large matrices; with the Haswell (AVX2) core a machine image may choose
 * for an AVX-512 CPU it has no small-matrix kernels at all. Here C is
 * computed in blocks of rows × vectors held in registers, B's row p loaded
 * once per block and A's entries broadcast, with nothing packed (for A·Bᵀ,
 * B's rows are first transposed into a block on the stack): measured
 * against OpenBLAS in bench/bench-small-gemm.c.
 *
 * Each entry of C is summed over k with fused multiply-adds in a fixed
 * order (K_CHUNK), so any blocking and any split of C's rows over the host
 * team give the same numbers. */
#include "small-gemm.h"
#include "drmad-device.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_X86 1
#else
#define HAVE_X86 0
#endif

#if HAVE_X86

/* Each entry's sum over k goes in chunks of K_CHUNK terms, each chunk from
 * 0, the chunks' sums added in order: a long sum (layer 1's 392 or 784
 * terms) as one chain of float additions lost 3–4× the accuracy of
 * OpenBLAS's, and training amplified it (tests/test-train.c,
 * sgd-vs-reference). */
#define K_CHUNK 32

/* AVX-512: blocks of up to 6 rows × 4 vectors of 16, or 8 rows × 3 vectors
 * (24 accumulators of the 32 registers; the entries of A go in as broadcast
 * operands). */
#define ROWS_512 8
#define VECS_512 4
#define ROWS_FOR(vecs) ((vecs) == 4 ? 6 : 8)

#define T512 __attribute__ ((target ("avx512f,fma"), always_inline)) static inline

T512 void
block_512 (const int rows, const int vecs, const int ta, gsize k, float alpha, const float *a, gsize lda,
           const float *b, gsize ldb, float beta, float *c, gsize ldc, __mmask16 last)
{
  __m512 acc[ROWS_512][VECS_512], total[ROWS_512][VECS_512];
  for (gsize p0 = 0; p0 < k || p0 == 0; p0 += K_CHUNK) {
#pragma GCC unroll 8
    for (int r = 0; r < rows; r++)
#pragma GCC unroll 4
      for (int v = 0; v < vecs; v++)
        acc[r][v] = _mm512_setzero_ps ();
    for (gsize p = p0; p < MIN (k, p0 + K_CHUNK); p++) {
      const float *bp = b + p * ldb;
      __m512 bv[VECS_512];
#pragma GCC unroll 4
      for (int v = 0; v < vecs; v++)
        bv[v] = v + 1 < vecs ? _mm512_loadu_ps (bp + 16 * v) : _mm512_maskz_loadu_ps (last, bp + 16 * v);
#pragma GCC unroll 8
      for (int r = 0; r < rows; r++) {
        __m512 av = _mm512_set1_ps (ta ? a[p * lda + r] : a[r * lda + p]);
#pragma GCC unroll 4
        for (int v = 0; v < vecs; v++)
          acc[r][v] = _mm512_fmadd_ps (av, bv[v], acc[r][v]);
      }
    }
#pragma GCC unroll 8
    for (int r = 0; r < rows; r++)
#pragma GCC unroll 4
      for (int v = 0; v < vecs; v++)
        total[r][v] = p0 == 0 ? acc[r][v] : _mm512_add_ps (total[r][v], acc[r][v]);
  }
  __m512 al = _mm512_set1_ps (alpha), be = _mm512_set1_ps (beta);
#pragma GCC unroll 8
  for (int r = 0; r < rows; r++)
#pragma GCC unroll 4
    for (int v = 0; v < vecs; v++) {
      float *cv = c + r * ldc + 16 * v;
      __mmask16 mask = v + 1 < vecs ? (__mmask16) 0xffff : last;
      __m512 out = _mm512_mul_ps (total[r][v], al);
      if (beta != 0.0f)
        out = _mm512_fmadd_ps (be, _mm512_maskz_loadu_ps (mask, cv), out);
      _mm512_mask_storeu_ps (cv, mask, out);
    }
}

/* dst[c·@ldd + r] = src[r·@lds + c] for r < @rows, c < @cols (both at
 * most 16): a 16 × 16 transpose in registers (unpacks of 32 and 64 bits,
 * then shuffles of 128-bit lanes), rows past @rows as zeros. */
T512 void
transpose_16 (const float *src, gsize lds, gsize rows, gsize cols, float *dst, gsize ldd)
{
  __mmask16 in = (__mmask16) (0xffffu >> (16 - cols)), out = (__mmask16) (0xffffu >> (16 - rows));
  __m512 r[16], t[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; i++)
    r[i] = (gsize) i < rows ? _mm512_maskz_loadu_ps (in, src + i * lds) : _mm512_setzero_ps ();
#pragma GCC unroll 8
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps (r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps (r[i], r[i + 1]);
  }
#pragma GCC unroll 4
  for (int i = 0; i < 16; i += 4) {
    __m512d a0 = _mm512_castps_pd (t[i]), a1 = _mm512_castps_pd (t[i + 1]);
    __m512d a2 = _mm512_castps_pd (t[i + 2]), a3 = _mm512_castps_pd (t[i + 3]);
    r[i] = _mm512_castpd_ps (_mm512_unpacklo_pd (a0, a2));
    r[i + 1] = _mm512_castpd_ps (_mm512_unpackhi_pd (a0, a2));
    r[i + 2] = _mm512_castpd_ps (_mm512_unpacklo_pd (a1, a3));
    r[i + 3] = _mm512_castpd_ps (_mm512_unpackhi_pd (a1, a3));
  }
#pragma GCC unroll 4
  for (int i = 0; i < 4; i++) {
    t[i] = _mm512_shuffle_f32x4 (r[i], r[i + 4], 0x88);
    t[i + 4] = _mm512_shuffle_f32x4 (r[i], r[i + 4], 0xdd);
    t[i + 8] = _mm512_shuffle_f32x4 (r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_shuffle_f32x4 (r[i + 8], r[i + 12], 0xdd);
  }
#pragma GCC unroll 8
  for (int i = 0; i < 8; i++) {
    r[i] = _mm512_shuffle_f32x4 (t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_f32x4 (t[i], t[i + 8], 0xdd);
  }
#pragma GCC unroll 16
  for (int c = 0; c < 16; c++)
    if ((gsize) c < cols)
      _mm512_mask_storeu_ps (dst + c * ldd, out, r[c]);
}

/* The last @cols (1–4) columns of C, rows @rows (at most 64): vectors over
 * C's rows, and B's entries broadcast, where a vector across the columns
 * would fill 1–4 of its 16 lanes in every row (784-50-50-50-10's layers:
 * 50 = 3 × 16 + 2, a quarter of the multiply-adds on zeros, which a Zen
 * 4's 256-bit FMA units paid for: docs/benchmarks.md). Aᵀ·B (@ta) has C's
 * rows side by side in each row of A; for A·B each 16 terms' slice of A's
 * rows is transposed first (transpose_16). The same sums, in the same
 * order, as block_512 (K_CHUNK a multiple of 16). */
T512 void
columns_512 (const int cols, const int ta, gsize rows, gsize k, float alpha, const float *a, gsize lda,
             const float *b, gsize ldb, float beta, float *c, gsize ldc)
{
  G_STATIC_ASSERT (K_CHUNK % 16 == 0);
  __mmask16 mask[4];
  for (int v = 0; v < 4; v++) {
    gsize left = rows > (gsize) 16 * v ? rows - 16 * v : 0;
    mask[v] = left >= 16 ? (__mmask16) 0xffff : (__mmask16) ((1u << left) - 1);
  }
  float at[16 * 64] __attribute__ ((aligned (64)));   /* A·B: at[q · 64 + i] = A[i][s + q] */
  __m512 acc[4][4], total[4][4];
  for (gsize p0 = 0; p0 < k || p0 == 0; p0 += K_CHUNK) {
#pragma GCC unroll 4
    for (int j = 0; j < cols; j++)
#pragma GCC unroll 4
      for (int v = 0; v < 4; v++)
        acc[j][v] = _mm512_setzero_ps ();
    for (gsize s = p0; s < MIN (k, p0 + K_CHUNK); s += 16) {
      gsize width = MIN (16, k - s);
      for (gsize r0 = 0; !ta && r0 < rows; r0 += 16)
        transpose_16 (a + r0 * lda + s, lda, MIN (16, rows - r0), width, at + r0, 64);
      for (gsize q = 0; q < width; q++) {
        const float *ap = ta ? a + (s + q) * lda : at + q * 64, *bp = b + (s + q) * ldb;
        __m512 av[4];
#pragma GCC unroll 4
        for (int v = 0; v < 4; v++)
          av[v] = _mm512_maskz_loadu_ps (mask[v], ap + 16 * v);
#pragma GCC unroll 4
        for (int j = 0; j < cols; j++) {
          __m512 bj = _mm512_set1_ps (bp[j]);
#pragma GCC unroll 4
          for (int v = 0; v < 4; v++)
            acc[j][v] = _mm512_fmadd_ps (av[v], bj, acc[j][v]);
        }
      }
    }
#pragma GCC unroll 4
    for (int j = 0; j < cols; j++)
#pragma GCC unroll 4
      for (int v = 0; v < 4; v++)
        total[j][v] = p0 == 0 ? acc[j][v] : _mm512_add_ps (total[j][v], acc[j][v]);
  }
  __m512 al = _mm512_set1_ps (alpha);
  for (int j = 0; j < cols; j++)
    for (int v = 0; v < 4 && (gsize) 16 * v < rows; v++) {
      float out[16];
      _mm512_storeu_ps (out, _mm512_mul_ps (total[j][v], al));
      for (gsize l = 0; l < 16 && 16 * v + l < rows; l++) {
        float *cp = c + (16 * v + l) * ldc + j;
        *cp = beta != 0.0f ? __builtin_fmaf (beta, *cp, out[l]) : out[l];
      }
    }
}

typedef struct {
  gsize        k, lda, ldb, ldc;
  float        alpha, beta;
  const float *a, *b;
  float       *c;
} Gemm;

/* One kernel function per (rows, vectors, transposed A): the block's shape
 * known when it compiles, so its accumulators stay in registers. */
#define DEFINE_512(R, V, TA)                                                                           \
  static __attribute__ ((target ("avx512f,fma"), noinline)) void                                       \
  kernel_512_##R##_##V##_##TA (const Gemm *g, gsize i, gsize j, __mmask16 last)                        \
  {                                                                                                    \
    block_512 (R, V, TA, g->k, g->alpha, TA ? g->a + i : g->a + i * g->lda, g->lda, g->b + j, g->ldb,   \
               g->beta, g->c + i * g->ldc + j, g->ldc, last);                                          \
  }
#define DEFINE_V(DEF, R, TA) DEF (R, 1, TA) DEF (R, 2, TA) DEF (R, 3, TA) DEF (R, 4, TA)
#define DEFINE_RV(DEF, TA)                                                                             \
  DEFINE_V (DEF, 1, TA) DEFINE_V (DEF, 2, TA) DEFINE_V (DEF, 3, TA) DEFINE_V (DEF, 4, TA)               \
  DEFINE_V (DEF, 5, TA) DEFINE_V (DEF, 6, TA) DEFINE_V (DEF, 7, TA) DEFINE_V (DEF, 8, TA)
DEFINE_RV (DEFINE_512, 0)
DEFINE_RV (DEFINE_512, 1)

#define DEFINE_COLUMNS(J, TA)                                                                          \
  static __attribute__ ((target ("avx512f,fma"), noinline)) void                                       \
  columns_512_##J##_##TA (const Gemm *g, gsize i, gsize rows, gsize j)                                 \
  {                                                                                                    \
    columns_512 (J, TA, rows, g->k, g->alpha, TA ? g->a + i : g->a + i * g->lda, g->lda, g->b + j,      \
                 g->ldb, g->beta, g->c + i * g->ldc + j, g->ldc);                                      \
  }
#define DEFINE_COLUMNS_TA(TA) DEFINE_COLUMNS (1, TA) DEFINE_COLUMNS (2, TA) DEFINE_COLUMNS (3, TA) DEFINE_COLUMNS (4, TA)
DEFINE_COLUMNS_TA (0)
DEFINE_COLUMNS_TA (1)
/* [transposed A][columns − 1] */
static void (*const columns_512_kernels[2][4]) (const Gemm *, gsize, gsize, gsize) = {
  { columns_512_1_0, columns_512_2_0, columns_512_3_0, columns_512_4_0 },
  { columns_512_1_1, columns_512_2_1, columns_512_3_1, columns_512_4_1 },
};

typedef void (*Kernel512) (const Gemm *, gsize, gsize, __mmask16);

#define ROW_512(R, TA) { kernel_512_##R##_1_##TA, kernel_512_##R##_2_##TA, kernel_512_##R##_3_##TA, kernel_512_##R##_4_##TA }
/* [transposed A][rows − 1][vectors − 1] */
static const Kernel512 kernels_512[2][ROWS_512][VECS_512] = {
  { ROW_512 (1, 0), ROW_512 (2, 0), ROW_512 (3, 0), ROW_512 (4, 0), ROW_512 (5, 0), ROW_512 (6, 0), ROW_512 (7, 0),
    ROW_512 (8, 0) },
  { ROW_512 (1, 1), ROW_512 (2, 1), ROW_512 (3, 1), ROW_512 (4, 1), ROW_512 (5, 1), ROW_512 (6, 1), ROW_512 (7, 1),
    ROW_512 (8, 1) },
};

/* The last 1–4 columns first (columns_512); then C's columns in chunks
 * of 64 (16 × 4 lanes), the last one the rest, each chunk's rows 6 at a
 * time (8 for 3 vectors or fewer), the last block the rest. */
static __attribute__ ((target ("avx512f"))) void
sgemm_512 (const Gemm *g, gboolean ta, gsize m, gsize n)
{
  gsize rest = n % 16;
  if (n > 16 && rest <= 4 && rest > 0) {   /* the last 1–4 columns by columns_512 */
    n -= rest;
    for (gsize i = 0; i < m; i += 64)
      columns_512_kernels[ta ? 1 : 0][rest - 1](g, i, MIN (64, m - i), n);
  }
  for (gsize j = 0; j < n; j += 16 * VECS_512) {
    gsize cols = MIN (n - j, 16 * VECS_512), vecs = (cols + 15) / 16;
    __mmask16 last = (__mmask16) (0xffffu >> (16 * vecs - cols));
    gsize rows = ROWS_FOR (vecs);
    for (gsize i = 0; i < m; i += rows)
      kernels_512[ta ? 1 : 0][MIN (m - i, rows) - 1][vecs - 1](g, i, j, last);
  }
}

/* A·Bᵀ (B n × k): C's columns @w at a time (a multiple of 16, w·k ≤
 * BT_FLOATS), B's rows for them transposed into a block on the stack, then
 * A·(the block) by sgemm_512: the same sums as A·B with B transposed
 * beforehand. FALSE for k over BT_FLOATS / 16. */
#define BT_FLOATS 8192

static __attribute__ ((target ("avx512f,fma"))) gboolean
sgemm_512_nt (const Gemm *g, gsize m, gsize n)
{
  gsize k = g->k, w = MIN (64, BT_FLOATS / MAX (k, 1)) / 16 * 16;
  if (w == 0)
    return FALSE;
  float bt[BT_FLOATS] __attribute__ ((aligned (64)));
  for (gsize j = 0; j < n; j += w) {
    gsize cols = MIN (w, n - j);
    for (gsize c0 = 0; c0 < cols; c0 += 16)
      for (gsize p0 = 0; p0 < k; p0 += 16)
        transpose_16 (g->b + (j + c0) * g->ldb + p0, g->ldb, MIN (16, cols - c0), MIN (16, k - p0),
                      bt + p0 * cols + c0, cols);
    Gemm block = *g;
    block.b = bt;
    block.ldb = cols;
    block.c = g->c + j;
    sgemm_512 (&block, FALSE, m, cols);
  }
  return TRUE;
}

#endif /* HAVE_X86 */

static gint chosen = -1;   /* -1: not chosen yet; 0: the BLAS; 1: AVX-512 */

/* The AVX-512 kernels unless @name is "0", where this CPU has AVX-512. An
 * AVX2 version (3 rows × 4 vectors of 8) was measured against OpenBLAS's
 * Haswell kernels and dropped: 0.84–1.23× their time (docs/benchmarks.md). */
gboolean
drmad_cpu_avx512 (void)
{
#ifdef DRMAD_TEST_HOOKS
  const char *no = g_getenv ("DRMAD_INJECT_NO_AVX512");
  if (no && *no && strcmp (no, "0") != 0)
    return FALSE;
#endif
#if HAVE_X86
  __builtin_cpu_init ();
  return __builtin_cpu_supports ("avx512f");
#else
  return FALSE;
#endif
}

static gint
kernels_for (const char *name)
{
  return (!name || strcmp (name, "0") != 0) && drmad_cpu_avx512 ();
}

static gboolean
chosen_avx512 (void)
{
  gint kind = g_atomic_int_get (&chosen);
  if (kind < 0) {
    const char *name = g_getenv ("DRMAD_SMALL_GEMM");
    g_atomic_int_compare_and_exchange (&chosen, -1, kernels_for (name && *name ? name : NULL));
    kind = g_atomic_int_get (&chosen);
  }
  return kind == 1;
}

gboolean
drmad_small_sgemm_choose (gboolean on)
{
  g_atomic_int_set (&chosen, on ? kernels_for (NULL) : 0);
  return chosen_avx512 () == on;
}

const char *
drmad_host_step_gemm_kernels (void)
{
  return chosen_avx512 () ? "avx512" : NULL;
}

gboolean
drmad_small_sgemm (gboolean transpose_a, gboolean transpose_b, gsize m, gsize n, gsize k, float alpha,
                   const float *a, gsize lda, const float *b, gsize ldb, float beta, float *c, gsize ldc)
{
  if (!chosen_avx512 () || (transpose_a && transpose_b))
    return FALSE;
#if HAVE_X86
  if (m == 0 || n == 0)
    return TRUE;
  Gemm g = { .k = k, .lda = lda, .ldb = ldb, .ldc = ldc, .alpha = alpha, .beta = beta, .a = a, .b = b, .c = c };
  if (transpose_b)
    return sgemm_512_nt (&g, m, n);
  sgemm_512 (&g, transpose_a, m, n);
  return TRUE;
#else
  (void) transpose_a; (void) transpose_b; (void) m; (void) n; (void) k; (void) alpha; (void) a; (void) lda; (void) b; (void) ldb;
  (void) beta; (void) c; (void) ldc;
  return FALSE;
#endif
}
