/* bench-spells: does this machine have slow spells, with none of drmad's
 * code running? One thread, then N threads at once, each repeats the
 * largest GEMM of a 784-100-100-10 training step at batch 100 (100×784 by
 * 784×100, OpenBLAS with the core drmad chose, one thread per GEMM) in
 * chunks of about 10 ms, and the program prints per thread count: the
 * median chunk speed, the share of chunks under 70 % of that median, and the
 * longest spell of such chunks in a row. A run of drmad that is twice as slow
 * as the next one (docs/benchmarks.md) is the machine's when these spells
 * show here too. */
#include "drmad.h"
#include "blas.h"

#include <stdio.h>
#include <stdlib.h>

#define M 100
#define N 100
#define K 784
#define GEMMS_PER_CHUNK 50
#define SLOW 0.7

typedef struct {
  const DrmadOpenblas *blas;
  double               seconds;
  GArray              *gflops;   /* per chunk */
} Worker;

static gpointer
work (gpointer data)
{
  Worker *w = data;
  float *a = g_new (float, M * K), *b = g_new (float, K * N), *c = g_new (float, M * N);
  for (guint i = 0; i < M * K; i++)
    a[i] = 1e-3f * (float) (i % 97);
  for (guint i = 0; i < K * N; i++)
    b[i] = 1e-3f * (float) (i % 89);
  gint64 end = g_get_monotonic_time () + (gint64) (w->seconds * 1e6);
  for (gint64 now = g_get_monotonic_time (); now < end;) {
    for (guint r = 0; r < GEMMS_PER_CHUNK; r++)
      w->blas->sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N);
    gint64 later = g_get_monotonic_time ();
    double gflops = GEMMS_PER_CHUNK * 2.0 * M * N * K / ((double) (later - now) * 1e3);
    g_array_append_val (w->gflops, gflops);
    now = later;
  }
  g_free (a);
  g_free (b);
  g_free (c);
  return NULL;
}

static int
compare (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* @threads threads at once for @seconds; prints one line. */
static void
measure (const DrmadOpenblas *blas, guint threads, double seconds)
{
  Worker workers[16];
  GThread *handles[G_N_ELEMENTS (workers)];
  threads = MIN (threads, G_N_ELEMENTS (workers));
  for (guint t = 0; t < threads; t++) {
    workers[t] = (Worker){ blas, seconds, g_array_new (FALSE, FALSE, sizeof (double)) };
    handles[t] = g_thread_new ("bench-spells", work, &workers[t]);
  }
  guint chunks = 0, slow = 0;
  double longest_ms = 0, median_sum = 0;
  for (guint t = 0; t < threads; t++) {
    g_thread_join (handles[t]);
    GArray *g = workers[t].gflops;
    double *sorted = g_memdup2 (g->data, g->len * sizeof (double));
    qsort (sorted, g->len, sizeof (double), compare);
    double median = g->len ? sorted[g->len / 2] : 0, spell_ms = 0;
    median_sum += median;
    for (guint i = 0; i < g->len; i++) {
      double gflops = g_array_index (g, double, i);
      double ms = GEMMS_PER_CHUNK * 2.0 * M * N * K / (gflops * 1e6);
      if (gflops < SLOW * median) {
        slow++;
        spell_ms += ms;
        longest_ms = MAX (longest_ms, spell_ms);
      } else
        spell_ms = 0;
    }
    chunks += g->len;
    g_free (sorted);
    g_array_unref (g);
  }
  printf ("%7u %12.1f %8u %13.1f %17.0f\n", threads, median_sum / threads, chunks,
          chunks ? 100.0 * slow / chunks : 0.0, longest_ms);
}

int
main (int argc, char **argv)
{
  drmad_prepare_environment ();
  int threads = MIN (g_get_num_processors (), 2);
  double seconds = 20;
  GOptionEntry entries[] = {
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads of the second measurement (default: online CPUs, at most 2)", "N" },
    { "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &seconds, "Seconds of each measurement (default 20)", "S" },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- slow spells of this machine's cores, without drmad");
  g_option_context_add_main_entries (context, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (context, &argc, &argv, &error) || threads < 1 || threads > 16 || seconds <= 0) {
    fprintf (stderr, "bench-spells: %s\n", error ? error->message : "--threads takes 1 to 16, --seconds a positive number");
    return 2;
  }
  const DrmadBlasInfo *info = drmad_blas_get_info (&error);
  const DrmadOpenblas *blas = info ? drmad_openblas (&error) : NULL;
  if (!blas) {
    fprintf (stderr, "bench-spells: %s\n", error->message);
    return 1;
  }
  g_autofree char *blas_line = drmad_blas_info_describe (info);
  printf ("bench-spells: sgemm %ux%ux%u (one thread per GEMM), chunks of %u GEMMs, a chunk is slow under %.0f %% of "
          "its thread's median\nBLAS: %s\n\n", M, N, K, GEMMS_PER_CHUNK, SLOW * 100, blas_line);
  printf ("%7s %12s %8s %13s %17s\n", "threads", "GFLOP/s each", "chunks", "slow chunks %", "longest spell ms");
  blas->set_num_threads (1);
  measure (blas, 1, seconds);
  if (threads > 1)
    measure (blas, (guint) threads, seconds);
  return 0;
}
