/* bench-hypergrad: time per meta-iteration and peak memory of
 * each reverse method against one plain training run of the same T steps.
 *
 *   POCL_CACHE_DIR=build/pocl-cache ./build/bench/bench-hypergrad \
 *       [--net 784,100,100,10 --batch 100] [--iters 100,300,1000,3000]
 *       [--methods plain,exact1,exact,piecewise8,drmad,drmad-R] [--csv FILE]
 *
 * drmad is the full line (T reverse steps, the work JAX and autograd do);
 * drmad-R is the authors' loop (ceil(T/10) points). The ‖dw‖ watch is off:
 * these rows time the work, docs/hypergradient-accuracy.md measures fidelity.
 *
 * Without --net it measures both the 784-100-100-10 net at batch 100 and the
 * original paper's 784-50-50-50-10 at batch 50. θ: L2 and learning rate per
 * layer (what the peers in bench/peers learn too). Memory: the library's own
 * device accounting (what the pass added at its peak) and the process's peak
 * RSS during the method (VmHWM, reset before each method through
 * /proc/self/clear_refs).
 *
 * The GEMM floor, measured in the same run: the GEMMs of one training step
 * and of one DrMAD reverse step (θ without momentum: the gradient's forward
 * pass and δ chain, then the R-operator), called alone on host OpenBLAS with
 * the same shapes, through drmad_blas_host_gemm() as the library issues them
 * (lib/blas.c: beta = 0, blocks for the small-matrix kernels), one OpenBLAS
 * thread per GEMM, split over the threads the
 * steps share (lib/host-team.c, DRMAD_HOST_THREADS) as the steps split them,
 * and also on one thread (printed beside). `x floor` is a method's time over T times those GEMMs
 * (exact with k = ⌈√T⌉ recomputes every step once more, and on the fused
 * host path its reverse step is the HVP's GEMMs alone): how much of the
 * time is spent outside GEMMs; the floor is timed again right before each
 * timed pass and after the last, each pass is divided by the lower of the
 * floors on either side of it, and the median over the passes is printed
 * (the floor line printed first is the net's first measurement). Every
 * method first runs one untimed pass (the stored states mapped once, as in
 * every meta-iteration of a run after the first). The floor's header
 * line also gives the bound
 * from the machine's sgemm peak (1024³ on every core), which no
 * implementation of the same arithmetic can beat. */
#include "blas.h"
#include "drmad.h"
#include "host-team.h"
#include "small-gemm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const char *name;
  DrmadMethod method;
  guint       k, K;
  gboolean    plain;
} Method;

/* The OpenBLAS the library loaded, with the core it chose (lib/blas.c, top):
 * the floor runs on the same kernels as the device's host GEMMs. */
static const DrmadOpenblas *blas;

static const Method all_methods[] = {
  { "plain", 0, 0, 0, TRUE },
  { "exact1", DRMAD_METHOD_EXACT, 1, 0, FALSE },
  { "exact", DRMAD_METHOD_EXACT, 0, 0, FALSE },
  { "piecewise8", DRMAD_METHOD_PIECEWISE, 0, 8, FALSE },
  { "drmad", DRMAD_METHOD_DRMAD, 0, 0, FALSE },         /* the full line: T reverse steps, as JAX and autograd do */
  { "drmad-R", DRMAD_METHOD_DRMAD, 0, 1, FALSE },       /* the authors' loop: ceil(T/10) points */
};

static void
reset_peak_rss (void)
{
  FILE *f = fopen ("/proc/self/clear_refs", "w");
  if (f) {
    fputs ("5", f);
    fclose (f);
  }
}

static double
peak_rss_mib (void)
{
  FILE *f = fopen ("/proc/self/status", "r");
  char line[256];
  double kib = NAN;
  while (f && fgets (line, sizeof line, f))
    if (sscanf (line, "VmHWM: %lf kB", &kib) == 1)
      break;
  if (f)
    fclose (f);
  return kib / 1024;
}

static void
die (GError *error)
{
  fprintf (stderr, "bench-hypergrad: %s\n", error->message);
  exit (1);
}

static int
compare (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* The floor's GEMMs on the host step's own kernels (gemm_floor). */
static gboolean floor_own = FALSE;

/* C (m×n) = op(A)·op(B), row-major, single precision, on scratch memory,
 * as the library issues a beta = 0 GEMM (lib/blas.c, drmad_blas_host_gemm:
 * the fastest known way to a cleared C for each size), or with @floor_own
 * as the host step does (lib/net-host-body.h, gemm_scaled). */
static void
gemm (float *scratch[3], gboolean ta, gboolean tb, int m, int n, int k)
{
  if (floor_own && drmad_small_sgemm (ta, tb, m, n, k, 1.0f, scratch[0], ta ? m : k, scratch[1], tb ? k : n, 0.0f,
                                      scratch[2], n))
    return;
  drmad_blas_host_gemm (blas, FALSE, ta, tb, m, n, k, 1.0, scratch[0], ta ? m : k, scratch[1], tb ? k : n, 0.0,
                        scratch[2], n);
}

/* The GEMMs of one step, as lib/net.c issues them; returns the multiply-adds.
 * Training: forward a_{l−1}W_l, backward a_{l−1}ᵀδ_l and δ_l W_lᵀ (l ≥ 2).
 * DrMAD reverse step without momentum in θ: forward, the δ chain, and the
 * R-operator (R-forward a_{l−1}V_l and R(a_{l−1})W_l; R-backward a_{l−1}ᵀR(δ_l),
 * R(a_{l−1})ᵀδ_l, R(δ_l)W_lᵀ and δ_l V_lᵀ). Member @t of @threads of the
 * host team (0 of 1: alone) as lib/net-host-body.h splits them (step_part,
 * hvp): its rows of the batch, its rows of W_l in the weight terms. The
 * multiply-adds are the whole step's. */
static double
step_gemms (float *scratch[3], const guint *s, guint L, guint B, gboolean reverse, gboolean hvp_only, guint t,
            guint threads)
{
  double macs = 0;
  guint rows = B * (t + 1) / threads - B * t / threads;
  for (guint l = 1; l <= L; l++) {
    double layer = (double) B * s[l] * s[l - 1];
    if (l == 1 && !reverse && L > 1) {   /* a training step's X·W_1: two halves of its rows of W_1 (net-host-body.h) */
      for (guint half = 0; half < 2; half++)
        if (threads == 1 || t == half)
          gemm (scratch, FALSE, FALSE, B, s[1], s[0] * (half + 1) / 2 - s[0] * half / 2);
    } else if (!hvp_only)
      gemm (scratch, FALSE, FALSE, rows, s[l], s[l - 1]);             /* a_{l−1} W_l */
    if (reverse) {
      gemm (scratch, FALSE, FALSE, rows, s[l], s[l - 1]);             /* a_{l−1} V_l */
      if (l > 1)
        gemm (scratch, FALSE, FALSE, rows, s[l], s[l - 1]);           /* R(a_{l−1}) W_l */
    }
    macs += layer * ((reverse ? (l > 1 ? 3 : 2) : 1) - (hvp_only ? 1 : 0));
  }
  for (guint l = L; l >= 1; l--) {
    double layer = (double) B * s[l] * s[l - 1];
    guint weight_grads = reverse ? (l > 1 ? 2 : 1) : 1;              /* a_{l−1}ᵀδ_l, or a_{l−1}ᵀR(δ_l) + R(a_{l−1})ᵀδ_l */
    guint delta_grads = l == 1 ? 0 : (reverse ? 3 : 1) - (hvp_only ? 1 : 0);   /* δ_l W_lᵀ (+ R(δ_l) W_lᵀ + δ_l V_lᵀ) */
    guint part = s[l - 1] * (t + 1) / threads - s[l - 1] * t / threads;
    for (guint i = 0; i < weight_grads && part; i++)
      gemm (scratch, TRUE, FALSE, part, s[l], B);
    for (guint i = 0; i < delta_grads; i++)
      gemm (scratch, FALSE, TRUE, rows, s[l - 1], s[l]);
    macs += layer * (weight_grads + delta_grads);
  }
  return macs;
}

/* Median µs per step of each kind's GEMMs, on the threads the steps share
 * (lib/host-team.c; one OpenBLAS thread per GEMM), and on one thread. */
typedef struct {
  guint  threads;
  double train_us, train_one_us;
  double reverse_us, reverse_one_us;
  double hvp_us, hvp_one_us;         /* the R-operator's GEMMs alone: a reverse step whose forward
                                      * pass and δ chain come from the exact method's tape */
  double train_macs, reverse_macs, hvp_macs;
  double blas_train_us, own_train_us;   /* the training step's on each (G_MAXDOUBLE: not measured) */
  double round_trip_ns;                 /* team_round_trip_ns(); 0: no team */
} Floor;

static double
time_step_us (float *scratch[3], const guint *s, guint L, guint B, gboolean reverse, gboolean hvp_only,
              double *macs)
{
  double us[41];
  for (guint r = 0; r < G_N_ELEMENTS (us); r++) {
    gint64 start = g_get_monotonic_time ();
    for (guint i = 0; i < 10; i++)
      *macs = step_gemms (scratch, s, L, B, reverse, hvp_only, 0, 1);
    us[r] = (g_get_monotonic_time () - start) / 10.0;
  }
  qsort (us, G_N_ELEMENTS (us), sizeof (double), compare);
  return us[G_N_ELEMENTS (us) / 2];
}

/* A, B and C of the floor's GEMMs, @cells floats each, A and B filled. */
static void
scratch_new (float *scratch[3], gsize cells)
{
  for (guint i = 0; i < 3; i++) {
    scratch[i] = g_new (float, cells);
    for (gsize j = 0; j < cells; j++)
      scratch[i][j] = (float) ((j * 7 + i) % 13) / 13.0f - 0.5f;
  }
}

typedef struct {
  float      *scratch[DRMAD_TEAM_MAX][3];   /* each member's own */
  const guint *s;
  guint       L, B;
  gboolean    reverse, hvp_only;
} TeamFloor;

static void
team_gemms (const void *data, guint t, guint threads)
{
  const TeamFloor *f = data;
  for (guint i = 0; i < 10; i++)
    step_gemms ((float **) f->scratch[t], f->s, f->L, f->B, f->reverse, f->hvp_only, t, threads);
}

/* A step's GEMMs on @threads members of the host team, ten steps per
 * start of the team (one hand-over per ten steps: the GEMMs' own time on
 * that many cores), median µs per step; 0 when the team cannot run. */
static double
time_team_step_us (const guint *s, guint L, guint B, gboolean reverse, gboolean hvp_only, guint threads,
                   gsize cells)
{
  TeamFloor f = { .s = s, .L = L, .B = B, .reverse = reverse, .hvp_only = hvp_only };
  for (guint t = 0; t < threads; t++)
    scratch_new (f.scratch[t], cells);
  double us[41];
  guint runs = 0;
  for (guint r = 0; r < G_N_ELEMENTS (us); r++) {
    gint64 start = g_get_monotonic_time ();
    if (!drmad_team_run (threads, team_gemms, &f))
      break;
    us[runs++] = (g_get_monotonic_time () - start) / 10.0;
  }
  for (guint t = 0; t < threads; t++)
    for (guint i = 0; i < 3; i++)
      g_free (f.scratch[t][i]);
  qsort (us, runs, sizeof (double), compare);
  return runs ? us[runs / 2] : 0;
}

/* The fused host path (lib/net-host.c) unless DRMAD_HOST_STEP=0: there
 * exact keeps a tape, and a step's threads are the host team's. */
static gboolean fused_host = FALSE;

/* The threads a step of @batch shares: the host team's on the fused host
 * path, else one (a GPU's steps are its kernels; the floor is still the host's GEMMs). */
static guint
team_threads (guint batch)
{
  return fused_host ? drmad_host_step_threads (batch) : 1;
}

/* A cache line handed from member 0 of the host team to member 1 and
 * back, PINGS times: ns a round trip, the median of 5 runs. On a VM the
 * two virtual CPUs can sit close (tens of ns) or far apart (hundreds): a
 * step shares its rows, δ_l and W_l between the cores several hundred
 * lines a step, and its ratio to the floor follows this figure while the
 * floor's GEMMs, each on its own scratch, do not (docs/benchmarks.md). */
#define PINGS 20000
static gint ping_line[16] __attribute__ ((aligned (64)));

static void
team_ping (const void *data, guint t, guint threads)
{
  (void) data;
  if (threads < 2 || t > 1)
    return;
  for (gint i = 0; i < PINGS; i++) {
    while (g_atomic_int_get (ping_line) != 2 * i + (gint) t)
      ;
    g_atomic_int_set (ping_line, 2 * i + (gint) t + 1);
  }
}

static double
team_round_trip_ns (guint threads)
{
  double ns[5];
  guint runs = 0;
  for (guint r = 0; r < G_N_ELEMENTS (ns) && threads > 1; r++) {
    g_atomic_int_set (ping_line, 0);
    gint64 start = g_get_monotonic_time ();
    if (!drmad_team_run (threads, team_ping, NULL))
      break;
    ns[runs++] = (g_get_monotonic_time () - start) * 1e3 / PINGS;
  }
  qsort (ns, runs, sizeof (double), compare);
  return runs ? ns[runs / 2] : 0;
}

static Floor
gemm_floor_now (const guint *s, guint L, guint B)
{
  gsize cells = 0;
  for (guint l = 1; l <= L; l++)
    cells = MAX (cells, (gsize) MAX (B, s[l]) * MAX (s[l - 1], MAX (B, s[l])));
  float *scratch[3];
  scratch_new (scratch, cells);
  int threads = blas->get_num_threads ();
  blas->set_num_threads (1);
  Floor floor;
  floor.train_one_us = time_step_us (scratch, s, L, B, FALSE, FALSE, &floor.train_macs);
  floor.reverse_one_us = time_step_us (scratch, s, L, B, TRUE, FALSE, &floor.reverse_macs);
  floor.hvp_one_us = time_step_us (scratch, s, L, B, TRUE, TRUE, &floor.hvp_macs);
  floor.threads = team_threads (B);
  floor.train_us = floor.reverse_us = floor.hvp_us = floor.round_trip_ns = 0;
  if (floor.threads > 1) {
    floor.train_us = time_team_step_us (s, L, B, FALSE, FALSE, floor.threads, cells);
    floor.reverse_us = time_team_step_us (s, L, B, TRUE, FALSE, floor.threads, cells);
    floor.hvp_us = time_team_step_us (s, L, B, TRUE, TRUE, floor.threads, cells);
    floor.round_trip_ns = team_round_trip_ns (floor.threads);
  }
  if (floor.train_us == 0 || floor.reverse_us == 0 || floor.hvp_us == 0) {   /* alone */
    floor.threads = 1;
    floor.round_trip_ns = 0;
    floor.train_us = floor.train_one_us;
    floor.reverse_us = floor.reverse_one_us;
    floor.hvp_us = floor.hvp_one_us;
  }
  blas->set_num_threads (threads);
  for (guint i = 0; i < 3; i++)
    g_free (scratch[i]);
  return floor;
}

/* The lower of two floors, part by part: the less disturbed measurement. */
static Floor
floor_min (Floor a, Floor b)
{
  a.blas_train_us = MIN (a.blas_train_us, b.blas_train_us);
  a.own_train_us = MIN (a.own_train_us, b.own_train_us);
  a.train_us = MIN (a.train_us, b.train_us);
  a.train_one_us = MIN (a.train_one_us, b.train_one_us);
  a.reverse_us = MIN (a.reverse_us, b.reverse_us);
  a.reverse_one_us = MIN (a.reverse_one_us, b.reverse_one_us);
  a.hvp_one_us = MIN (a.hvp_one_us, b.hvp_one_us);
  a.hvp_us = MIN (a.hvp_us, b.hvp_us);
  a.round_trip_ns = MIN (a.round_trip_ns, b.round_trip_ns);   /* gemm_floor's two: the same placement */
  return a;
}

/* The floor on host OpenBLAS, and where the fused host step runs its own
 * kernels (lib/small-gemm.c) on them too, each GEMM where the step runs
 * it: the faster of the two, part by part. So `x floor` never
 * credits the step with GEMMs faster than the BLAS's: it is the time spent
 * beyond the faster way to the same GEMMs. */
static Floor
gemm_floor (const guint *s, guint L, guint B)
{
  floor_own = FALSE;
  Floor floor = gemm_floor_now (s, L, B);
  floor.blas_train_us = floor.train_us;
  floor.own_train_us = G_MAXDOUBLE;
  if (fused_host && drmad_host_step_gemm_kernels ()) {
    floor_own = TRUE;
    Floor own = gemm_floor_now (s, L, B);
    floor_own = FALSE;
    own.blas_train_us = G_MAXDOUBLE;
    own.own_train_us = own.train_us;
    floor = floor_min (floor, own);
  }
  return floor;
}

/* sgemm GFLOP/s of 1024³ on every core: the machine's practical peak. */
static double
peak_gflops (void)
{
  const int n = 1024;
  float *a = g_new0 (float, (gsize) n * n), *b = g_new0 (float, (gsize) n * n), *c = g_new0 (float, (gsize) n * n);
  int threads = blas->get_num_threads ();
  blas->set_num_threads (g_get_num_processors ());
  double best = 0;
  for (guint r = 0; r < 5; r++) {
    gint64 start = g_get_monotonic_time ();
    blas->sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    best = MAX (best, 2.0 * n * n * n / ((g_get_monotonic_time () - start) * 1e3));
  }
  blas->set_num_threads (threads);
  g_free (a);
  g_free (b);
  g_free (c);
  return best;
}

/* T × the GEMMs of the steps @method performs; @tape: the fused host path,
 * where exact keeps each step's passes for the reverse step: the
 * recompute's with k > 1, the training run's with k = 1 (docs/algorithm.md
 * §2a; θ here has no momentum). */
static double
floor_seconds (const Method *method, const Floor *floor, guint64 T, gboolean tape)
{
  if (method->method == DRMAD_METHOD_DRMAD && method->K == 1)   /* the authors' loop: ceil(T/10) reverse steps */
    return (T * floor->train_us + (double) ((T + 9) / 10) * floor->reverse_us) / 1e6;
  double per_step = method->plain ? floor->train_us : floor->train_us + floor->reverse_us;
  if (!method->plain && method->method == DRMAD_METHOD_EXACT)   /* k > 1: each segment recomputed */
    per_step = (method->k != 1 ? 2 : 1) * floor->train_us + (tape ? floor->hvp_us : floor->reverse_us);
  return T * per_step / 1e6;
}

int
main (int argc, char **argv)
{
  drmad_prepare_environment ();  /* before any thread or OpenCL call */
  g_autofree char *net_text = NULL, *iters_text = NULL, *methods_text = NULL, *csv_path = NULL;
  int batch_option = 0, repeats_option = 0;
  gboolean failed = FALSE;
  double lr_option = 0;
  GOptionEntry entries[] = {
    { "net", 0, 0, G_OPTION_ARG_STRING, &net_text, "Layer widths (default: both 784,100,100,10 and 784,50,50,50,10)", "W,W,…" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch_option, "Batch size with --net (default 100)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr_option, "Learning rate with --net (default 0.1; 0.05 for 784,50,50,50,10 as in the paper)", "η" },
    { "iters", 0, 0, G_OPTION_ARG_STRING, &iters_text, "Horizons T (default 100,300,1000,3000)", "T,T,…" },
    { "methods", 0, 0, G_OPTION_ARG_STRING, &methods_text, "Any of plain,exact1,exact,piecewise8,drmad,drmad-R (default all)", "LIST" },
    { "repeats", 0, 0, G_OPTION_ARG_INT, &repeats_option, "Timed repeats per cell, median reported (default 3 for T ≤ 300, else 1; plain at least 5)", "N" },
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv_path, "Also write the table as CSV", "FILE" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- time and memory of hypergradient methods");
  g_option_context_add_main_entries (context, entries, NULL);
  GError *error = NULL;
  if (!g_option_context_parse (context, &argc, &argv, &error))
    die (error);

  struct { guint sizes[8]; guint n; guint batch; double lr; } nets[2];
  guint n_nets = 0;
  if (net_text) {
    g_auto (GStrv) parts = g_strsplit (net_text, ",", -1);
    nets[0].n = 0;
    for (char **p = parts; *p && nets[0].n < 8; p++)
      nets[0].sizes[nets[0].n++] = atoi (*p);
    nets[0].batch = batch_option > 0 ? batch_option : 100;
    nets[0].lr = lr_option > 0 ? lr_option : nets[0].n == 5 && nets[0].sizes[1] == 50 ? 0.05 : 0.1;
    n_nets = 1;
  } else {
    nets[0] = (typeof (nets[0])) { { 784, 100, 100, 10 }, 4, 100, 0.1 };
    nets[1] = (typeof (nets[1])) { { 784, 50, 50, 50, 10 }, 5, 50, 0.05 };
    n_nets = 2;
  }
  g_auto (GStrv) iters = g_strsplit (iters_text ? iters_text : "100,300,1000,3000", ",", -1);
  g_auto (GStrv) wanted = g_strsplit (methods_text ? methods_text : "plain,exact1,exact,piecewise8,drmad,drmad-R", ",", -1);
  const DrmadBlasInfo *blas_info = drmad_blas_get_info (&error);
  if (!blas_info || !(blas = drmad_openblas (&error)))
    die (error);

  DrmadDataset *pool = NULL, *test = NULL;
  if (!drmad_dataset_open ("fashion-mnist", NULL, &pool, &test, &error))
    die (error);
  g_autoptr (DrmadSplit) split = drmad_dataset_split (pool, test, 1, 10000, 5000, 1000, &error);
  g_autoptr (DrmadDevice) device = split ? drmad_device_open (NULL, &error) : NULL;
  g_autoptr (DrmadDeviceData) train = device ? drmad_device_data_new (device, DRMAD_PRECISION_FLOAT32, split->train, &error) : NULL;
  g_autoptr (DrmadDeviceData) val = train ? drmad_device_data_new (device, DRMAD_PRECISION_FLOAT32, split->val, &error) : NULL;
  if (!val)
    die (error);
  const DrmadDeviceInfo *info = drmad_device_get_info (device);
  printf ("bench-hypergrad: seconds per meta-iteration and peak memory of each method (issue 6 §1)\n");
  printf ("device: %s: %s (%s GEMM); Fashion-MNIST 10000 train / 5000 validation; float32; momentum 0.9;\n",
          info->platform_name, info->name, drmad_gemm_path_name (drmad_device_get_gemm_path (device)));
  g_autofree char *blas_line = drmad_blas_info_describe (blas_info);
  printf ("BLAS: %s\n", blas_line);
  if (blas_info->warning)
    printf ("warning: %s\n", blas_info->warning);
  fused_host = drmad_device_get_gemm_path (device) == DRMAD_GEMM_HOST
               && g_strcmp0 (g_getenv ("DRMAD_HOST_STEP"), "0") != 0;
  printf ("theta: L2 and learning rate per layer; x plain: time / one plain training run of the same T steps;\n"
          "x floor: time / the same GEMMs alone (the faster of host OpenBLAS and the host step's own kernels,\n"
          "one thread per GEMM, on the threads the steps\n"
          "share: %u at batch 100 here, DRMAD_HOST_THREADS; see the floor line of each net;\n"
          "exact: two training steps (exact1: one) and %s per step;\n"
          "trip ns: a cache line from one of the team's threads to the other and back, the higher of the two\n"
          "measured with the floors before and after each pass (the step shares rows and weights between the\n"
          "cores; the floor's GEMMs do not), 0 without a team;\n"
          "alone %%: of the steps the team could share, those that ran alone because they timed faster so\n"
          "(lib/host-team.h, DrmadTeamChoice; 0 with DRMAD_HOST_THREADS set))\n",
          team_threads (100), fused_host ? "the HVP's GEMMs (the tape has the passes)" : "a reverse step");
  double peak = peak_gflops ();
  printf ("sgemm peak: %.1f GFLOP/s (1024^3, %u threads)\n\n", peak, g_get_num_processors ());
  printf ("%-18s %5s %6s %-11s %10s %8s %8s %12s %10s %8s %7s\n", "net", "batch", "T", "method", "s/meta-it",
          "x plain", "x floor", "device MiB", "RSS MiB", "trip ns", "alone %");
  FILE *csv = csv_path ? fopen (csv_path, "w") : NULL;
  if (csv)
    fprintf (csv, "net,batch,T,method,seconds,x_plain,x_floor,device_peak_bytes,peak_rss_mib,round_trip_ns,alone_pct\n");

  for (guint n = 0; n < n_nets; n++) {
    g_autoptr (GString) net_name = g_string_new (NULL);
    for (guint i = 0; i < nets[n].n; i++)
      g_string_append_printf (net_name, "%s%u", i ? "-" : "", nets[n].sizes[i]);
    g_autoptr (DrmadNet) net = drmad_net_new (device, nets[n].sizes, nets[n].n, DRMAD_ACTIVATION_RELU,
                                              DRMAD_PRECISION_FLOAT32, nets[n].batch, &error);
    if (!net)
      die (error);
    Floor floor = gemm_floor (nets[n].sizes, nets[n].n - 1, nets[n].batch);
    double drmad_flop = 2 * (floor.train_macs + floor.reverse_macs);
    /* peers.py reads "training step N us" and "DrMAD reverse step N us" */
    g_autofree char *own = floor.own_train_us < G_MAXDOUBLE
                             ? g_strdup_printf (", on the step's own %s kernels %.0f us", drmad_host_step_gemm_kernels (),
                                                floor.own_train_us)
                             : g_strdup ("");
    printf ("%s floor on %u thread%s: training step %.0f us (one thread %.0f us; %.1f MFLOP, %.1f GFLOP/s; "
            "on OpenBLAS %.0f us%s), "
            "DrMAD reverse step %.0f us (one thread %.0f us; %.1f MFLOP, %.1f GFLOP/s); a DrMAD meta-iteration "
            "is %.1f MFLOP per step: at the sgemm peak at least %.3f s per 1000 steps; the HVP's GEMMs alone "
            "%.0f us (one thread %.0f us; %.1f MFLOP)\n",
            net_name->str, floor.threads, floor.threads > 1 ? "s" : "", floor.train_us, floor.train_one_us,
            2 * floor.train_macs / 1e6, 2 * floor.train_macs / floor.train_us / 1e3, floor.blas_train_us, own,
            floor.reverse_us, floor.reverse_one_us, 2 * floor.reverse_macs / 1e6,
            2 * floor.reverse_macs / floor.reverse_us / 1e3,
            drmad_flop / 1e6, 1000 * drmad_flop / (peak * 1e9), floor.hvp_us, floor.hvp_one_us, 2 * floor.hvp_macs / 1e6);
    for (char **t_text = iters; *t_text; t_text++) {
      guint64 T = g_ascii_strtoull (*t_text, NULL, 10);
      DrmadHyperConfig config;
      drmad_hyper_config_init (&config);
      config.l2 = DRMAD_L2_PER_LAYER;
      config.learn_lr = TRUE;
      config.steps = T;
      for (guint l = 0; l < DRMAD_HYPER_MAX_LAYERS; l++)
        config.init_lr[l] = nets[n].lr;
      g_autoptr (DrmadHyper) hyper = drmad_hyper_new (net, &config, &error);
      if (!hyper)
        die (error);
      guint repeats = repeats_option > 0 ? repeats_option : (T <= 300 ? 3 : 1);
      double plain_seconds = NAN;
      /* Warm-up: kernels built and caches hot before anything is timed. */
      if (!drmad_hyper_train (net, hyper, train, 7, NULL, NULL, NULL, &error))
        die (error);
      for (guint m = 0; m < G_N_ELEMENTS (all_methods); m++) {
        const Method *method = &all_methods[m];
        if (!g_strv_contains ((const char *const *) wanted, method->name))
          continue;
        double times[16], ratios[16], trips[16], alone[16];
        guint64 device_peak = 0;
        /* Plain training, the shortest, always gets five timed runs. */
        guint reps = MIN (method->plain ? MAX (repeats, 5) : repeats, 16);
        /* x floor: each timed pass over the floor timed right before or
         * right after it (the lower of the two), the median over the passes:
         * on a shared virtual machine the speed drifts by tens of percent
         * over seconds, and a floor timed minutes earlier, or a single pass
         * in a slow spell, made the ratio swing as much. */
        Floor floors[17];
        /* The previous method's kept storage goes; this method's first pass,
         * untimed, maps its own, as every meta-iteration of a run after the
         * first finds it (drmad_device_trim_memory()). */
        drmad_device_trim_memory (device);
        for (guint r = 0; r <= reps; r++) {
          if (r > 0)
            floors[r - 1] = gemm_floor (nets[n].sizes, nets[n].n - 1, nets[n].batch);
          if (r == 1)
            reset_peak_rss ();
          guint team_before = drmad_team_runs (), declined_before = drmad_team_declined ();
          gint64 start = g_get_monotonic_time ();
          if (method->plain) {
            if (!drmad_hyper_train (net, hyper, train, 7, NULL, NULL, NULL, &error) || !drmad_device_finish (device, &error))
              die (error);
          } else {
            /* Timing, not fidelity: the ‖dw‖ watch is off so that a diverging shortcut still runs its
             * T steps (docs/hypergradient-accuracy.md measures fidelity). */
            gboolean authors = method->method == DRMAD_METHOD_DRMAD && method->K == 1;
            DrmadReverseConfig reverse = { .method = method->method, .checkpoint_every = method->k,
                                           .snapshots = method->method == DRMAD_METHOD_PIECEWISE ? method->K : 1,
                                           .seed = 7, .reverse_steps = authors ? 0 : G_MAXUINT64,
                                           .watch_factor = G_MAXDOUBLE };
            g_autoptr (DrmadHypergradient) result = drmad_hypergradient_compute (net, hyper, train, val, &reverse,
                                                                                 NULL, NULL, &error);
            if (!result)
              break;
            device_peak = result->device_peak_bytes;
          }
          if (r > 0) {
            times[r - 1] = (g_get_monotonic_time () - start) / 1e6;
            guint declined = drmad_team_declined () - declined_before, shared = drmad_team_runs () - team_before;
            alone[r - 1] = declined + shared ? 100.0 * declined / (declined + shared) : 0;
          }
        }
        if (error) {  /* e.g. DrMAD overflowing at T = 3000: say so, go on with the rest */
          fprintf (stderr, "bench-hypergrad: %s\n", error->message);
          printf ("%-18s %5u %6" G_GUINT64_FORMAT " %-11s %10s  %s\n", net_name->str, nets[n].batch, T, method->name,
                  "-", error->message);
          g_clear_error (&error);
          failed = TRUE;
          continue;
        }
        double rss = peak_rss_mib ();
        floors[reps] = gemm_floor (nets[n].sizes, nets[n].n - 1, nets[n].batch);
        for (guint r = 0; r < reps; r++) {
          Floor near = floor_min (floors[r], floors[r + 1]);
          ratios[r] = times[r] / floor_seconds (method, &near, T, fused_host);
          trips[r] = MAX (floors[r].round_trip_ns, floors[r + 1].round_trip_ns);   /* the worse placement */
        }
        qsort (times, reps, sizeof (double), compare);
        qsort (ratios, reps, sizeof (double), compare);
        qsort (trips, reps, sizeof (double), compare);
        qsort (alone, reps, sizeof (double), compare);
        double seconds = times[reps / 2], x_floor = ratios[reps / 2], round_trip = trips[reps / 2];
        if (method->plain)
          plain_seconds = seconds;
        printf ("%-18s %5u %6" G_GUINT64_FORMAT " %-11s %10.3f %8.2f %8.2f %12.2f %10.1f %8.0f %7.1f\n", net_name->str,
                nets[n].batch, T, method->name, seconds, seconds / plain_seconds, x_floor, device_peak / 1048576.0, rss,
                round_trip, alone[reps / 2]);
        fflush (stdout);
        if (csv)
          fprintf (csv, "%s,%u,%" G_GUINT64_FORMAT ",%s,%.6f,%.4f,%.4f,%" G_GUINT64_FORMAT ",%.1f,%.0f,%.1f\n",
                   net_name->str, nets[n].batch, T, method->name, seconds, seconds / plain_seconds, x_floor, device_peak,
                   rss, round_trip, alone[reps / 2]);
      }
    }
  }
  if (csv)
    fclose (csv);
  drmad_dataset_free (pool);
  drmad_dataset_free (test);
  return failed ? 1 : 0;  /* a method that failed was reported on its row and on stderr */
}
