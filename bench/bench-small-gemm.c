/* bench-small-gemm: the fused host step's own single-precision GEMM
 * (lib/small-gemm.c) against OpenBLAS on the shapes of a training step, one
 * thread, in the same run. For each shape (A·B, Aᵀ·B or A·Bᵀ, m × n × k: a
 * member's part of 784-50-50-50-10 at batch 50 and of 784-100-100-10 at
 * batch 100, lib/net-host-body.h) it prints the best µs of five rounds of
 * OpenBLAS with the core drmad chose (or the user), through
 * drmad_blas_host_gemm() as the library issues it, then drmad's AVX-512
 * and AVX2 kernels where this CPU runs them (DRMAD_SMALL_GEMM=avx2: the
 * AVX2 ones first), each with the ratio to OpenBLAS and the largest
 * difference from OpenBLAS's product. Run it
 * twice, with OPENBLAS_CORETYPE unset and set to an older core, to see
 * what the step's kernels are worth when the BLAS runs the wrong kernels. */
#include "blas.h"
#include "drmad.h"
#include "small-gemm.h"

#include <math.h>
#include <stdio.h>

typedef struct {
  gboolean    ta, tb;
  guint       m, n, k;
  const char *what;
} Shape;

static const Shape shapes[] = {
  { FALSE, FALSE, 50, 50, 392, "50-net: a half of layer 1" },
  { FALSE, FALSE, 25, 50, 50, "50-net: layer 2, a member's rows" },
  { FALSE, FALSE, 25, 10, 50, "50-net: layer 4, a member's rows" },
  { TRUE, FALSE, 392, 50, 50, "50-net: W_1's gradient, a member's rows" },
  { TRUE, FALSE, 25, 50, 50, "50-net: W_2's gradient, a member's rows" },
  { FALSE, TRUE, 25, 50, 50, "50-net: delta_2 W_2^T, a member's rows" },
  { FALSE, TRUE, 25, 50, 10, "50-net: delta_4 W_4^T, a member's rows" },
  { FALSE, FALSE, 100, 100, 392, "100-net: a half of layer 1" },
  { FALSE, FALSE, 50, 100, 100, "100-net: layer 2, a member's rows" },
  { TRUE, FALSE, 392, 100, 100, "100-net: W_1's gradient, a member's rows" },
  { TRUE, FALSE, 50, 100, 100, "100-net: W_2's gradient, a member's rows" },
  { TRUE, FALSE, 50, 10, 100, "100-net: W_3's gradient, a member's rows" },
  { FALSE, TRUE, 50, 100, 100, "100-net: delta_2 W_2^T, a member's rows" },
  { FALSE, TRUE, 50, 100, 10, "100-net: delta_3 W_3^T, a member's rows" },
};

#define ROUNDS 5

/* Best µs per call over ROUNDS rounds of enough calls for about 2 ms. */
static double
best_us (const DrmadOpenblas *blas, gboolean own, const Shape *s, const float *a, const float *b, float *c)
{
  guint lda = s->ta ? s->m : s->k, ldb = s->tb ? s->k : s->n;
  double work = (double) s->m * s->n * s->k, best = INFINITY;
  guint calls = MAX (20, (guint) (2e-3 * 100e9 / work));
  for (guint r = 0; r < ROUNDS; r++) {
    gint64 start = g_get_monotonic_time ();
    for (guint i = 0; i < calls; i++)
      if (!own || !drmad_small_sgemm (s->ta, s->tb, s->m, s->n, s->k, 1.0f, a, lda, b, ldb, 0.0f, c, s->n))
        drmad_blas_host_gemm (blas, FALSE, s->ta, s->tb, s->m, s->n, s->k, 1.0, a, lda, b, ldb, 0.0, c, s->n);
    best = MIN (best, (double) (g_get_monotonic_time () - start) / calls);
  }
  return best;
}

int
main (void)
{
  g_autoptr (GError) error = NULL;
  const DrmadBlasInfo *info = drmad_blas_get_info (&error);
  const DrmadOpenblas *blas = info ? drmad_openblas (&error) : NULL;
  if (!blas) {
    fprintf (stderr, "bench-small-gemm: %s\n", error->message);
    return 1;
  }
  g_autofree char *line = drmad_blas_info_describe (info);
  printf ("bench-small-gemm: the host step's own GEMM against OpenBLAS, one thread, best of %d rounds\n", ROUNDS);
  printf ("BLAS: %s\n", line);
  if (info->warning)
    printf ("warning: %s\n", info->warning);
  blas->set_num_threads (1);
  /* each of drmad's kernel sets this CPU runs, DRMAD_SMALL_GEMM's first if it names one */
  const char *asked = g_getenv ("DRMAD_SMALL_GEMM");
  const char *sets[2];
  guint n_sets = 0;
  for (guint i = 0; i < 2; i++) {
    const char *kernels = i == 0 ? "avx512" : "avx2";
    if (asked && g_str_equal (asked, "avx2"))
      kernels = i == 0 ? "avx2" : "avx512";
    if (drmad_small_sgemm_choose (kernels))
      sets[n_sets++] = kernels;
  }
  if (!n_sets)
    printf ("this CPU has neither AVX-512 nor AVX2 with FMA: the host step's GEMMs run on OpenBLAS (only its times "
            "below)\n");
  printf ("%-4s %15s  %-42s %10s", "op", "m x n x k", "shape", "OpenBLAS");
  for (guint t = 0; t < n_sets; t++)
    printf ("  drmad %-23s", sets[t]);
  printf ("\n");
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++) {
    const Shape *s = &shapes[i];
    gsize cells = (gsize) MAX (s->m, s->k) * MAX (s->n, MAX (s->m, s->k));
    g_autofree float *a = g_new (float, cells), *b = g_new (float, cells);
    g_autofree float *want = g_new (float, cells), *got = g_new (float, cells);
    for (gsize j = 0; j < cells; j++) {
      a[j] = (float) ((j * 7) % 13) / 13.0f - 0.5f;
      b[j] = (float) ((j * 5) % 11) / 11.0f - 0.5f;
    }
    double blas_us = best_us (blas, FALSE, s, a, b, want);
    g_autofree char *dims = g_strdup_printf ("%u x %u x %u", s->m, s->n, s->k);
    printf ("%-4s %15s  %-42s %7.2f us", s->ta ? "TN" : s->tb ? "NT" : "NN", dims, s->what, blas_us);
    for (guint t = 0; t < n_sets; t++) {
      drmad_small_sgemm_choose (sets[t]);
      double us = best_us (blas, TRUE, s, a, b, got), diff = 0;
      for (gsize j = 0; j < (gsize) s->m * s->n; j++)
        diff = MAX (diff, fabs ((double) got[j] - want[j]));
      printf ("  %7.2f us %4.2fx (%7.1e)", us, us / blas_us, diff);
    }
    printf ("\n");
  }
  printf ("ratios: drmad's kernels' time over OpenBLAS's (below 1: faster); in brackets the largest difference "
          "from OpenBLAS's product\n");
  return 0;
}
