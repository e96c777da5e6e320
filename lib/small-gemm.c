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

/* A·Bᵀ's block of B on the stack (sgemm_512_nt, sgemm_256_nt), floats:
 * 16 of C's columns for k up to BT_FLOATS / 16. */
#define BT_FLOATS 8192

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
 * beforehand. */

static __attribute__ ((target ("avx512f,fma"))) void
sgemm_512_nt (const Gemm *g, gsize m, gsize n)
{
  gsize k = g->k, w = MIN (64, BT_FLOATS / MAX (k, 1)) / 16 * 16;   /* k ≤ BT_FLOATS / 16: the caller */
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
}

/* AVX2 with FMA, for CPUs without AVX-512: the same sums in the same order
 * on vectors of 8 lanes (each lane one entry of C, summed as the AVX-512
 * kernels sum it), so a step's numbers are the same on either kind of CPU,
 * whatever rows of C a call is given. Blocks of up to 6 rows × 2 vectors
 * (12 accumulators of the 16 registers) or 8 rows × 1 vector; C's last 1–4
 * columns by columns_256, vectors over C's rows as columns_512. An AVX2
 * version once measured 0.84–1.23× OpenBLAS's Haswell kernels and was
 * dropped for speed (docs/benchmarks.md); it came back for the same numbers
 * on one thread and on the team (and so a step's mode chosen by timing,
 * lib/host-team.h) and on either kind of CPU. */
#define ROWS_256 8
#define VECS_256 2
#define ROWS_FOR_256(vecs) ((vecs) == 2 ? 6 : 8)

#define T256 __attribute__ ((target ("avx2,fma"), always_inline)) static inline

/* The first @n (0–8) lanes set, for masked loads and stores. */
T256 __m256i
lanes_256 (gsize n)
{
  return _mm256_cmpgt_epi32 (_mm256_set1_epi32 ((int) n), _mm256_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7));
}

/* @tail: the lanes C's last vector of the block covers (1–8). */
T256 void
block_256 (const int rows, const int vecs, const int ta, gsize k, float alpha, const float *a, gsize lda,
           const float *b, gsize ldb, float beta, float *c, gsize ldc, gsize tail)
{
  __m256i last = lanes_256 (tail);
  gboolean full = tail == 8;
  __m256 acc[ROWS_256][VECS_256], total[ROWS_256][VECS_256];
  for (gsize p0 = 0; p0 < k || p0 == 0; p0 += K_CHUNK) {
#pragma GCC unroll 8
    for (int r = 0; r < rows; r++)
#pragma GCC unroll 2
      for (int v = 0; v < vecs; v++)
        acc[r][v] = _mm256_setzero_ps ();
    for (gsize p = p0; p < MIN (k, p0 + K_CHUNK); p++) {
      const float *bp = b + p * ldb;
      __m256 bv[VECS_256];
#pragma GCC unroll 2
      for (int v = 0; v < vecs; v++)
        bv[v] = v + 1 < vecs || full ? _mm256_loadu_ps (bp + 8 * v) : _mm256_maskload_ps (bp + 8 * v, last);
#pragma GCC unroll 8
      for (int r = 0; r < rows; r++) {
        __m256 av = _mm256_broadcast_ss (ta ? a + p * lda + r : a + r * lda + p);
#pragma GCC unroll 2
        for (int v = 0; v < vecs; v++)
          acc[r][v] = _mm256_fmadd_ps (av, bv[v], acc[r][v]);
      }
    }
#pragma GCC unroll 8
    for (int r = 0; r < rows; r++)
#pragma GCC unroll 2
      for (int v = 0; v < vecs; v++)
        total[r][v] = p0 == 0 ? acc[r][v] : _mm256_add_ps (total[r][v], acc[r][v]);
  }
  __m256 al = _mm256_set1_ps (alpha), be = _mm256_set1_ps (beta);
#pragma GCC unroll 8
  for (int r = 0; r < rows; r++)
#pragma GCC unroll 2
    for (int v = 0; v < vecs; v++) {
      float *cv = c + r * ldc + 8 * v;
      __m256 out = _mm256_mul_ps (total[r][v], al);
      if (v + 1 < vecs || full) {   /* a plain store where the vector is whole */
        if (beta != 0.0f)
          out = _mm256_fmadd_ps (be, _mm256_loadu_ps (cv), out);
        _mm256_storeu_ps (cv, out);
      } else {
        if (beta != 0.0f)
          out = _mm256_fmadd_ps (be, _mm256_maskload_ps (cv, last), out);
        _mm256_maskstore_ps (cv, last, out);
      }
    }
}

/* dst[c·@ldd + r] = src[r·@lds + c] for r < @rows, c < @cols (both at
 * most 8): an 8 × 8 transpose in registers, rows past @rows as zeros. */
T256 void
transpose_8 (const float *src, gsize lds, gsize rows, gsize cols, float *dst, gsize ldd)
{
  __m256i in = lanes_256 (cols), out = lanes_256 (rows);
  __m256 r[8], t[8];
#pragma GCC unroll 8
  for (int i = 0; i < 8; i++)
    r[i] = (gsize) i >= rows ? _mm256_setzero_ps ()
           : cols == 8       ? _mm256_loadu_ps (src + i * lds)
                             : _mm256_maskload_ps (src + i * lds, in);
#pragma GCC unroll 4
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps (r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps (r[i], r[i + 1]);
  }
#pragma GCC unroll 2
  for (int i = 0; i < 8; i += 4) {
    r[i] = _mm256_shuffle_ps (t[i], t[i + 2], _MM_SHUFFLE (1, 0, 1, 0));
    r[i + 1] = _mm256_shuffle_ps (t[i], t[i + 2], _MM_SHUFFLE (3, 2, 3, 2));
    r[i + 2] = _mm256_shuffle_ps (t[i + 1], t[i + 3], _MM_SHUFFLE (1, 0, 1, 0));
    r[i + 3] = _mm256_shuffle_ps (t[i + 1], t[i + 3], _MM_SHUFFLE (3, 2, 3, 2));
  }
#pragma GCC unroll 4
  for (int i = 0; i < 4; i++) {
    t[i] = _mm256_permute2f128_ps (r[i], r[i + 4], 0x20);
    t[i + 4] = _mm256_permute2f128_ps (r[i], r[i + 4], 0x31);
  }
#pragma GCC unroll 8
  for (int c = 0; c < 8; c++)
    if ((gsize) c < cols) {
      if (rows == 8)
        _mm256_storeu_ps (dst + c * ldd, t[c]);
      else
        _mm256_maskstore_ps (dst + c * ldd, out, t[c]);
    }
}

/* The last @cols (1–4) columns of C, rows @rows (at most 24): as
 * columns_512, on 3 vectors of 8 rows (12 accumulators), the same sums in
 * the same order as block_256 (K_CHUNK a multiple of 8). */
T256 void
columns_256 (const int cols, const int ta, gsize rows, gsize k, float alpha, const float *a, gsize lda,
             const float *b, gsize ldb, float beta, float *c, gsize ldc)
{
  G_STATIC_ASSERT (K_CHUNK % 8 == 0);
  __m256i mask[3];
  gboolean whole[3];
  for (int v = 0; v < 3; v++) {
    mask[v] = lanes_256 (rows > (gsize) 8 * v ? MIN (8, rows - 8 * v) : 0);
    whole[v] = rows >= (gsize) 8 * (v + 1);
  }
  float at[8 * 24] __attribute__ ((aligned (32)));   /* A·B: at[q · 24 + i] = A[i][s + q] */
  __m256 acc[4][3], total[4][3];
  for (gsize p0 = 0; p0 < k || p0 == 0; p0 += K_CHUNK) {
#pragma GCC unroll 4
    for (int j = 0; j < cols; j++)
#pragma GCC unroll 3
      for (int v = 0; v < 3; v++)
        acc[j][v] = _mm256_setzero_ps ();
    for (gsize s = p0; s < MIN (k, p0 + K_CHUNK); s += 8) {
      gsize width = MIN (8, k - s);
      for (gsize r0 = 0; !ta && r0 < rows; r0 += 8)
        transpose_8 (a + r0 * lda + s, lda, MIN (8, rows - r0), width, at + r0, 24);
      for (gsize q = 0; q < width; q++) {
        const float *ap = ta ? a + (s + q) * lda : at + q * 24, *bp = b + (s + q) * ldb;
        __m256 av[3];
#pragma GCC unroll 3
        for (int v = 0; v < 3; v++)
          av[v] = whole[v] ? _mm256_loadu_ps (ap + 8 * v) : _mm256_maskload_ps (ap + 8 * v, mask[v]);
#pragma GCC unroll 4
        for (int j = 0; j < cols; j++) {
          __m256 bj = _mm256_broadcast_ss (bp + j);
#pragma GCC unroll 3
          for (int v = 0; v < 3; v++)
            acc[j][v] = _mm256_fmadd_ps (av[v], bj, acc[j][v]);
        }
      }
    }
#pragma GCC unroll 4
    for (int j = 0; j < cols; j++)
#pragma GCC unroll 3
      for (int v = 0; v < 3; v++)
        total[j][v] = p0 == 0 ? acc[j][v] : _mm256_add_ps (total[j][v], acc[j][v]);
  }
  __m256 al = _mm256_set1_ps (alpha);
  for (int j = 0; j < cols; j++)
    for (int v = 0; v < 3 && (gsize) 8 * v < rows; v++) {
      float out[8];
      _mm256_storeu_ps (out, _mm256_mul_ps (total[j][v], al));
      for (gsize l = 0; l < 8 && 8 * v + l < rows; l++) {
        float *cp = c + (8 * v + l) * ldc + j;
        *cp = beta != 0.0f ? __builtin_fmaf (beta, *cp, out[l]) : out[l];
      }
    }
}

#define DEFINE_256(R, V, TA)                                                                           \
  static __attribute__ ((target ("avx2,fma"), noinline)) void                                          \
  kernel_256_##R##_##V##_##TA (const Gemm *g, gsize i, gsize j, gsize tail)                            \
  {                                                                                                    \
    block_256 (R, V, TA, g->k, g->alpha, TA ? g->a + i : g->a + i * g->lda, g->lda, g->b + j, g->ldb,   \
               g->beta, g->c + i * g->ldc + j, g->ldc, tail);                                          \
  }
#define DEFINE_V2(DEF, R, TA) DEF (R, 1, TA) DEF (R, 2, TA)
#define DEFINE_RV2(DEF, TA)                                                                            \
  DEFINE_V2 (DEF, 1, TA) DEFINE_V2 (DEF, 2, TA) DEFINE_V2 (DEF, 3, TA) DEFINE_V2 (DEF, 4, TA)           \
  DEFINE_V2 (DEF, 5, TA) DEFINE_V2 (DEF, 6, TA) DEFINE_V2 (DEF, 7, TA) DEFINE_V2 (DEF, 8, TA)
DEFINE_RV2 (DEFINE_256, 0)
DEFINE_RV2 (DEFINE_256, 1)

#define DEFINE_COLUMNS_256(J, TA)                                                                      \
  static __attribute__ ((target ("avx2,fma"), noinline)) void                                          \
  columns_256_##J##_##TA (const Gemm *g, gsize i, gsize rows, gsize j)                                 \
  {                                                                                                    \
    columns_256 (J, TA, rows, g->k, g->alpha, TA ? g->a + i : g->a + i * g->lda, g->lda, g->b + j,      \
                 g->ldb, g->beta, g->c + i * g->ldc + j, g->ldc);                                      \
  }
#define DEFINE_COLUMNS_256_TA(TA)                                                                      \
  DEFINE_COLUMNS_256 (1, TA) DEFINE_COLUMNS_256 (2, TA) DEFINE_COLUMNS_256 (3, TA) DEFINE_COLUMNS_256 (4, TA)
DEFINE_COLUMNS_256_TA (0)
DEFINE_COLUMNS_256_TA (1)
/* [transposed A][columns − 1] */
static void (*const columns_256_kernels[2][4]) (const Gemm *, gsize, gsize, gsize) = {
  { columns_256_1_0, columns_256_2_0, columns_256_3_0, columns_256_4_0 },
  { columns_256_1_1, columns_256_2_1, columns_256_3_1, columns_256_4_1 },
};

typedef void (*Kernel256) (const Gemm *, gsize, gsize, gsize);

#define ROW_256(R, TA) { kernel_256_##R##_1_##TA, kernel_256_##R##_2_##TA }
/* [transposed A][rows − 1][vectors − 1] */
static const Kernel256 kernels_256[2][ROWS_256][VECS_256] = {
  { ROW_256 (1, 0), ROW_256 (2, 0), ROW_256 (3, 0), ROW_256 (4, 0), ROW_256 (5, 0), ROW_256 (6, 0), ROW_256 (7, 0),
    ROW_256 (8, 0) },
  { ROW_256 (1, 1), ROW_256 (2, 1), ROW_256 (3, 1), ROW_256 (4, 1), ROW_256 (5, 1), ROW_256 (6, 1), ROW_256 (7, 1),
    ROW_256 (8, 1) },
};

/* As sgemm_512: the last 1–4 columns first (columns_256, 24 rows at a
 * time), then C's columns in chunks of 16, each chunk's rows 6 at a time
 * (8 for a chunk of one vector). */
static __attribute__ ((target ("avx2,fma"))) void
sgemm_256 (const Gemm *g, gboolean ta, gsize m, gsize n)
{
  gsize rest = n % 8;
  if (n > 8 && rest <= 4 && rest > 0) {
    n -= rest;
    for (gsize i = 0; i < m; i += 24)
      columns_256_kernels[ta ? 1 : 0][rest - 1](g, i, MIN (24, m - i), n);
  }
  for (gsize j = 0; j < n; j += 8 * VECS_256) {
    gsize cols = MIN (n - j, 8 * VECS_256), vecs = (cols + 7) / 8, tail = cols - 8 * (vecs - 1);
    gsize rows = ROWS_FOR_256 (vecs);
    for (gsize i = 0; i < m; i += rows)
      kernels_256[ta ? 1 : 0][MIN (m - i, rows) - 1][vecs - 1](g, i, j, tail);
  }
}

/* A·Bᵀ as sgemm_512_nt: B's rows for @w of C's columns transposed (8 × 8
 * in registers) into a block on the stack, then sgemm_256. */
static __attribute__ ((target ("avx2,fma"))) void
sgemm_256_nt (const Gemm *g, gsize m, gsize n)
{
  gsize k = g->k, w = MIN (64, BT_FLOATS / MAX (k, 1)) / 8 * 8;
  float bt[BT_FLOATS] __attribute__ ((aligned (32)));
  for (gsize j = 0; j < n; j += w) {
    gsize cols = MIN (w, n - j);
    for (gsize c0 = 0; c0 < cols; c0 += 8)
      for (gsize p0 = 0; p0 < k; p0 += 8)
        transpose_8 (g->b + (j + c0) * g->ldb + p0, g->ldb, MIN (8, cols - c0), MIN (8, k - p0),
                     bt + p0 * cols + c0, cols);
    Gemm block = *g;
    block.b = bt;
    block.ldb = cols;
    block.c = g->c + j;
    sgemm_256 (&block, FALSE, m, cols);
  }
}

#endif /* HAVE_X86 */

/* Which kernels run the host step's GEMMs. */
typedef enum { KERNELS_BLAS, KERNELS_AVX512, KERNELS_AVX2 } Kernels;
static const char *const kernel_names[] = { NULL, "avx512", "avx2" };
static gint chosen = -1;   /* -1: not chosen yet; else a Kernels */

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

static gboolean
cpu_avx2_fma (void)
{
#if HAVE_X86
  __builtin_cpu_init ();
  return __builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma");
#else
  return FALSE;
#endif
}

/* @name as DRMAD_SMALL_GEMM, letters in either case: "0" the BLAS, "avx2"
 * the AVX2 kernels where the CPU runs them; anything else (or NULL) the
 * widest the CPU runs. */
static Kernels
kernels_for (const char *name)
{
  if (name && strcmp (name, "0") == 0)
    return KERNELS_BLAS;
  if (name && g_ascii_strcasecmp (name, "avx2") == 0 && cpu_avx2_fma ())
    return KERNELS_AVX2;
  return drmad_cpu_avx512 () ? KERNELS_AVX512 : cpu_avx2_fma () ? KERNELS_AVX2 : KERNELS_BLAS;
}

/* Whether @name is one of DRMAD_SMALL_GEMM's values: "0" or a kernel set's name. */
static gboolean
kernels_named (const char *name, Kernels kind)
{
  return kernel_names[kind] ? g_ascii_strcasecmp (name, kernel_names[kind]) == 0 : strcmp (name, "0") == 0;
}

static Kernels
chosen_kernels (void)
{
  gint kind = g_atomic_int_get (&chosen);
  if (kind < 0) {
    const char *name = g_getenv ("DRMAD_SMALL_GEMM");
    Kernels wanted = kernels_for (name && *name ? name : NULL);
    /* a value it does not know ("off" for the BLAS) ran the widest kernels without a word */
    if (g_atomic_int_compare_and_exchange (&chosen, -1, wanted) && name && *name &&
        !kernels_named (name, KERNELS_BLAS) && !kernels_named (name, KERNELS_AVX512) &&
        !kernels_named (name, KERNELS_AVX2))
      g_warning ("DRMAD_SMALL_GEMM=%s: expected 0 (the BLAS), avx2 or avx512; using %s%s", name,
                 kernel_names[wanted] ? kernel_names[wanted] : "the BLAS",
                 kernel_names[wanted] ? ", the widest kernels this CPU runs" : " (no AVX2 and FMA)");
    kind = g_atomic_int_get (&chosen);
  }
  return (Kernels) kind;
}

gboolean
drmad_small_sgemm_choose (const char *kernels)
{
  if (!kernels) {   /* as on the first call */
    g_atomic_int_set (&chosen, -1);
    return chosen_kernels () != KERNELS_BLAS;
  }
  Kernels kind = kernels_for (kernels);
  g_atomic_int_set (&chosen, kind);
  return kernels_named (kernels, kind);
}

const char *
drmad_host_step_gemm_kernels (void)
{
  return kernel_names[chosen_kernels ()];
}

gboolean
drmad_small_sgemm (gboolean transpose_a, gboolean transpose_b, gsize m, gsize n, gsize k, float alpha,
                   const float *a, gsize lda, const float *b, gsize ldb, float beta, float *c, gsize ldc)
{
  Kernels kind = chosen_kernels ();
  /* the same GEMMs go to the BLAS whichever kernels run (BT_FLOATS) */
  if (kind == KERNELS_BLAS || (transpose_a && transpose_b) || (transpose_b && k > BT_FLOATS / 16))
    return FALSE;
#if HAVE_X86
  if (m == 0 || n == 0)
    return TRUE;
  Gemm g = { .k = k, .lda = lda, .ldb = ldb, .ldc = ldc, .alpha = alpha, .beta = beta, .a = a, .b = b, .c = c };
  if (kind == KERNELS_AVX2) {
    if (transpose_b)
      sgemm_256_nt (&g, m, n);
    else
      sgemm_256 (&g, transpose_a, m, n);
  } else if (transpose_b)
    sgemm_512_nt (&g, m, n);
  else
    sgemm_512 (&g, transpose_a, m, n);
  return TRUE;
#else
  (void) m; (void) n; (void) alpha; (void) a; (void) lda; (void) b; (void) ldb; (void) beta; (void) c; (void) ldc;
  return FALSE;
#endif
}
