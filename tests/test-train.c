/* SGD with momentum (docs/algorithm.md §1) against a plain C reference, and real
 * training on Fashion-MNIST to a required accuracy. */
#include "drmad.h"
#include "blas.h"
#include "dataset-private.h"
#include "host-team.h"
#include "small-gemm.h"
#include "train-private.h"
#include "test-util.h"
#include "reference-mlp.h"

/* 700 hidden units: a training step works out W_1's gradient and update a
 * few of its rows at a time (lib/net-host-body.h, grad_update_rows; 32 KiB a
 * block: 5 of the 6 rows in float64, the 6 in float32). */
static const guint sizes[] = { 6, 700, 4 };
#define N_EXAMPLES 19
#define BATCH 5
#define STEPS 40

/* @n examples of @dim features uniform in [−1, 1) and labels below 4 from
 * @rand, on @device; the features also in @x (n × dim), the labels in @labels. */
static DrmadDeviceData *
random_data (DrmadDevice *device, DrmadPrecision precision, GRand *rand, guint n, guint dim, double *x,
             gint32 *labels)
{
  g_autoptr (GError) error = NULL;
  g_autofree float *features = g_new (float, (gsize) n * dim);
  for (gsize i = 0; i < (gsize) n * dim; i++)
    x[i] = features[i] = g_rand_double_range (rand, -1, 1);
  for (guint i = 0; i < n; i++)
    labels[i] = g_rand_int_range (rand, 0, 4);
  g_autoptr (DrmadDataset) dataset = drmad_dataset_new_from_arrays (n, dim, 4, features, labels, &error);
  DrmadDeviceData *data = drmad_device_data_new (device, precision, dataset, &error);
  g_assert_no_error (error);
  return data;
}

/* The default device, or NULL with the test skipped where there is none. */
static DrmadDevice *
open_device (void)
{
  g_autoptr (GError) error = NULL;
  DrmadDevice *device = drmad_device_open (NULL, &error);
  if (!device)
    g_test_skip (error->message);
  return device;
}

/* drmad_net_init_params() against its definition: weight i of the net is
 * the layer's scale (default 1/√fan_in) × drmad_normal_draw (seed, i),
 * biases 0, whether the draws are fresh or the ones the net kept from the
 * seed before (a new seed, the same seed with other scales, the default
 * scales, a refused scale in between). */
static void
test_init_params (void)
{
  static const guint sizes[] = { 7, 5, 3 };
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadDevice) device = open_device ();
  if (!device)
    return;
  g_autoptr (DrmadNet) net = drmad_net_new (device, sizes, 3, DRMAD_ACTIVATION_TANH, DRMAD_PRECISION_FLOAT64, 4,
                                            &error);
  g_assert_no_error (error);
  gsize n = drmad_net_get_n_params (net);
  g_autofree double *got = g_new (double, n);
  static const struct { guint64 seed; gboolean defaults; double scales[2]; } cases[] = {
    { 3, FALSE, { 0.5, 2.0 } }, { 4, FALSE, { 0.5, 2.0 } }, { 3, FALSE, { 1.5, 0.25 } }, { 3, TRUE, { 0 } },
    { 4, TRUE, { 0 } },
  };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++) {
    if (c == 2) {   /* refused, naming the layer: the next call still draws right */
      g_assert_false (drmad_net_init_params (net, 9, (double[]){ 1.0, NAN }, &error));
      g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, "layer 2"));
      g_clear_error (&error);
    }
    CHECK (drmad_net_init_params (net, cases[c].seed, cases[c].defaults ? NULL : cases[c].scales, &error));
    CHECK (drmad_net_get_params (net, got, &error));
    for (guint l = 1; l <= 2; l++) {
      gsize w_off, n_w, b_off;
      drmad_net_get_layer_span (net, l, &w_off, &n_w, &b_off);
      double scale = cases[c].defaults ? 1.0 / sqrt (sizes[l - 1]) : cases[c].scales[l - 1];
      for (gsize i = w_off; i < w_off + n_w; i++)
        g_assert_cmpfloat (got[i], ==, scale * drmad_normal_draw (cases[c].seed, i));
      for (gsize j = 0; j < sizes[l]; j++)
        g_assert_cmpfloat (got[b_off + j], ==, 0.0);
    }
  }
}

static void
test_sgd_reference (gconstpointer data)
{
  DrmadPrecision precision = GPOINTER_TO_INT (data);
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadDevice) device = open_device ();
  if (!device)
    return;
  GRand *rand = g_rand_new_with_seed (5);
  double x[N_EXAMPLES * 6];
  gint32 labels[N_EXAMPLES];
  g_autoptr (DrmadDeviceData) train = random_data (device, precision, rand, N_EXAMPLES, 6, x, labels);
  g_autoptr (DrmadNet) net = drmad_net_new (device, sizes, 3, DRMAD_ACTIVATION_TANH, precision, BATCH, &error);
  g_assert_no_error (error);
  gsize n = drmad_net_get_n_params (net);
  g_autofree double *w = g_new (double, n), *v = g_new0 (double, n), *g = g_new (double, n);
  g_autofree double *eta = g_new (double, n), *gamma = g_new (double, n), *l2 = g_new (double, n);
  g_autofree double *got = g_new (double, n);
  CHECK (drmad_net_init_params (net, 9, (double[]){ 0.7, 1.3 }, &error));
  CHECK (drmad_net_get_params (net, w, &error));
  for (gsize i = 0; i < n; i++) {
    eta[i] = g_rand_double_range (rand, 0.05, 0.3);
    gamma[i] = g_rand_double_range (rand, 0.5, 0.95);
    l2[i] = g_rand_double_range (rand, 0, 0.1);
  }
  g_autoptr (DrmadTrainer) trainer = drmad_trainer_new (net, &error);
  CHECK (drmad_trainer_set_vectors (trainer, eta, gamma, l2, &error));
  /* Two runs, the second with another seed: each step of the first has the
   * next step's minibatch ready (lib/net-host-body.h, prefetch_rows), and the
   * first step of the second must not take the first seed's. */
  double mean_loss[2];
  CHECK (drmad_trainer_run (trainer, train, 77, 0, STEPS / 2, NULL, NULL, &mean_loss[0], &error));
  CHECK (drmad_trainer_run (trainer, train, 78, STEPS / 2, STEPS / 2, NULL, NULL, &mean_loss[1], &error));
  g_assert_no_error (error);
  CHECK (drmad_net_get_params (net, got, &error));

  RefNet ref = { 2, sizes, DRMAD_ACTIVATION_TANH };
  double loss_sum[2] = { 0, 0 };
  for (guint64 t = 0; t < STEPS; t++) {
    guint32 idx[BATCH];
    drmad_sampler_batch (t < STEPS / 2 ? 77 : 78, t, BATCH, N_EXAMPLES, idx);
    loss_sum[t >= STEPS / 2] += ref_loss_grad (&ref, w, x, labels, idx, BATCH, g, NULL);
    for (gsize i = 0; i < n; i++) {
      double gi = g[i] + l2[i] * w[i];
      v[i] = gamma[i] * v[i] - (1 - gamma[i]) * gi;
      w[i] += eta[i] * v[i];
    }
  }
  /* float32: these 40 steps (η up to 0.3, a 700-wide tanh layer) amplify
   * rounding about a thousandfold, so the bound is what correct float GEMMs
   * reach, not one BLAS's luck. Measured (relative error of the weights):
   * OpenBLAS's Haswell kernels 2.8e-6, lib/small-gemm.c 6.0e-5, a plain
   * float loop 8.6e-5, and even a GEMM summing in double 1.2e-5; all
   * agree to 1.1e-7 at 6 steps. */
  double tolerance = precision == DRMAD_PRECISION_FLOAT64 ? 1e-11 : 3e-4;
  g_test_message ("weights after %d steps: relative error %g", STEPS, ref_rel_error (got, w, n));
  g_assert_cmpfloat (ref_rel_error (got, w, n), <=, tolerance);
  for (guint half = 0; half < 2; half++)
    g_assert_cmpfloat_with_epsilon (mean_loss[half], loss_sum[half] / (STEPS / 2), tolerance);
  g_rand_free (rand);
}

/* The default device when its GEMMs are the host's (a host step, a host
 * team), else NULL and the test skipped. */
static DrmadDevice *
host_team_device (void)
{
  g_autoptr (DrmadDevice) device = open_device ();
  if (!device)
    return NULL;
  if (drmad_device_get_gemm_path (device) != DRMAD_GEMM_HOST) {
    g_test_skip ("the device runs its GEMMs itself: no host step, no host team");
    return NULL;
  }
  return g_steal_pointer (&device);
}

/* A net of @sizes (four widths) at TEAM_BATCH on @device, and
 * TEAM_EXAMPLES random examples from @rand in @train (features also in @x,
 * labels in @labels, when given). */
#define TEAM_BATCH (3 * DRMAD_TEAM_MIN_ROWS + 4)
#define TEAM_EXAMPLES 131
static DrmadNet *
team_net (DrmadDevice *device, DrmadPrecision precision, const guint *sizes, DrmadActivation activation,
          GRand *rand, double *x, gint32 *labels, DrmadDeviceData **train)
{
  g_autoptr (GError) error = NULL;
  g_autofree double *own_x = x ? NULL : g_new (double, (gsize) TEAM_EXAMPLES * sizes[0]);
  g_autofree gint32 *own_labels = labels ? NULL : g_new (gint32, TEAM_EXAMPLES);
  *train = random_data (device, precision, rand, TEAM_EXAMPLES, sizes[0], x ? x : own_x,
                        labels ? labels : own_labels);
  DrmadNet *net = drmad_net_new (device, sizes, 4, activation, precision, TEAM_BATCH, &error);
  g_assert_no_error (error);
  return net;
}

/* team_net's float32 ReLU net of @sizes from random data of @seed, its
 * parameters drawn with seed 3 and copied to a new @w0. */
static DrmadNet *
relu_team_net (DrmadDevice *device, const guint *sizes, guint32 seed, DrmadDeviceData **train, double **w0)
{
  g_autoptr (GError) error = NULL;
  GRand *rand = g_rand_new_with_seed (seed);
  DrmadNet *net = team_net (device, DRMAD_PRECISION_FLOAT32, sizes, DRMAD_ACTIVATION_RELU, rand, NULL, NULL, train);
  g_rand_free (rand);
  *w0 = g_new (double, drmad_net_get_n_params (net));
  CHECK (drmad_net_init_params (net, 3, NULL, &error));
  CHECK (drmad_net_get_params (net, *w0, &error));
  return net;
}

/* A training step shared by the host team (lib/host-team.c; each member
 * its rows of the batch, its rows of each W_l) gives the single thread's
 * numbers, on uneven splits (batch 100 over 3 members, fan-ins 23 and 1100)
 * and with η, γ and exp(λ) per weight or per layer; and both agree with the
 * plain C reference. Three members on two cores also checks that a member
 * waiting at a barrier lets the others run. */
#define TEAM_STEPS 12
static void
test_host_team (gconstpointer data)
{
  DrmadPrecision precision = GPOINTER_TO_INT (data);
  /* 1100 wide: float32 takes W_1's gradient and update 7 rows at a time
   * (each member's rows in blocks, the last short); float64's rows are too
   * wide for a 32 KiB block (lib/net-host-body.h, blocked_update), and its
   * W_1 goes through g like the other layers. */
  static const guint team_sizes[] = { 23, 1100, 9, 4 };
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadDevice) device = host_team_device ();
  if (!device)
    return;
  GRand *rand = g_rand_new_with_seed (11);
  g_autofree double *x = g_new (double, TEAM_EXAMPLES * 23);
  gint32 labels[TEAM_EXAMPLES];
  g_autoptr (DrmadDeviceData) train = NULL;
  g_autoptr (DrmadNet) net = team_net (device, precision, team_sizes, DRMAD_ACTIVATION_TANH, rand, x, labels, &train);
  gsize n = drmad_net_get_n_params (net);
  g_autofree double *w0 = g_new (double, n), *eta = g_new (double, n), *gamma = g_new (double, n);
  g_autofree double *l2 = g_new (double, n);
  double *got[3][2] = { { NULL } };   /* the weights after training: threads − 1, per layer */
  CHECK (drmad_net_init_params (net, 4, (double[]){ 0.8, 1.2, 1.0 }, &error));
  CHECK (drmad_net_get_params (net, w0, &error));
  for (gsize i = 0; i < n; i++) {
    eta[i] = g_rand_double_range (rand, 0.05, 0.3);
    gamma[i] = g_rand_double_range (rand, 0.5, 0.95);
    l2[i] = g_rand_double_range (rand, 0, 0.1);
  }
  /* who shares a step: DRMAD_TEAM_MIN_ROWS rows or more each, never beside OpenBLAS's own threads */
  drmad_team_set_threads (3);
  g_assert_cmpuint (drmad_host_step_threads (TEAM_BATCH), ==, 3);
  g_assert_cmpuint (drmad_host_step_threads (3 * DRMAD_TEAM_MIN_ROWS - 1), ==, 2);
  g_assert_cmpuint (drmad_host_step_threads (2 * DRMAD_TEAM_MIN_ROWS - 1), ==, 1);
  drmad_blas_set_large_threads (2);
  g_assert_cmpuint (drmad_host_step_threads (TEAM_BATCH), ==, 1);
  drmad_blas_set_large_threads (1);
  double loss[3][2];
  for (guint threads = 1; threads <= 3; threads++)
    for (guint uniform = 0; uniform < 2; uniform++) {
      drmad_team_set_threads (threads);
      g_autoptr (DrmadTrainer) trainer = drmad_trainer_new (net, &error);
      CHECK (drmad_net_set_params (net, w0, &error));
      if (uniform)
        CHECK (drmad_trainer_set_uniform (trainer, 0.2, 0.8, 0.01, &error));
      else
        CHECK (drmad_trainer_set_vectors (trainer, eta, gamma, l2, &error));
      guint runs = drmad_team_runs ();
      CHECK (drmad_trainer_run (trainer, train, 5, 0, TEAM_STEPS, NULL, NULL, &loss[threads - 1][uniform], &error));
      /* every step on the team (none found it busy), or none with one thread */
      g_assert_cmpuint (drmad_team_runs () - runs, ==, threads > 1 ? TEAM_STEPS : 0);
      got[threads - 1][uniform] = g_new (double, n);
      CHECK (drmad_net_get_params (net, got[threads - 1][uniform], &error));
    }
  drmad_team_set_threads (0);

  /* The reference: the same steps in plain C, in double. */
  RefNet ref = { 3, team_sizes, DRMAD_ACTIVATION_TANH };
  double tolerance = precision == DRMAD_PRECISION_FLOAT64 ? 1e-11 : 1e-4;
  for (guint uniform = 0; uniform < 2; uniform++) {
    g_autofree double *w = g_memdup2 (w0, n * sizeof (double)), *v = g_new0 (double, n), *g = g_new (double, n);
    g_autofree gboolean *bias = g_new0 (gboolean, n);   /* W_l, then b_l, layer by layer */
    for (guint l = 1, at = 0; l < G_N_ELEMENTS (team_sizes); l++) {
      at += team_sizes[l - 1] * team_sizes[l];
      for (guint j = 0; j < team_sizes[l]; j++)
        bias[at++] = TRUE;
    }
    double loss_sum = 0;
    for (guint64 t = 0; t < TEAM_STEPS; t++) {
      guint32 idx[TEAM_BATCH];
      drmad_sampler_batch (5, t, TEAM_BATCH, TEAM_EXAMPLES, idx);
      loss_sum += ref_loss_grad (&ref, w, x, labels, idx, TEAM_BATCH, g, NULL);
      for (gsize i = 0; i < n; i++) {
        double e = uniform ? 0.2 : eta[i], m = uniform ? 0.8 : gamma[i];
        double r = !uniform ? l2[i] : bias[i] ? 0 : 0.01;   /* set_uniform leaves biases unregularised */
        v[i] = m * v[i] - (1 - m) * (g[i] + r * w[i]);
        w[i] += e * v[i];
      }
    }
    for (guint threads = 1; threads <= 3; threads++) {
      double *mine = got[threads - 1][uniform];
      g_test_message ("%u thread(s), %s: relative error %g to the reference, %g to one thread", threads,
                      uniform ? "per layer" : "per weight", ref_rel_error (mine, w, n),
                      ref_rel_error (mine, got[0][uniform], n));
      g_assert_cmpfloat (ref_rel_error (mine, w, n), <=, tolerance);
      g_assert_cmpfloat_with_epsilon (loss[threads - 1][uniform], loss_sum / TEAM_STEPS, tolerance);
      /* the same GEMMs on other rows: the single thread's numbers to the last
       * bits; exactly with drmad's own kernels (lib/small-gemm.c), whose
       * sums do not depend on where a row falls, as OpenBLAS's do */
      g_assert_cmpfloat (ref_rel_error (mine, got[0][uniform], n), <=,
                         precision == DRMAD_PRECISION_FLOAT64 ? 1e-14
                         : drmad_host_step_gemm_kernels () ? 0.0 : 1e-6);
    }
  }
  for (guint i = 0; i < 6; i++)
    g_free (got[i / 2][i % 2]);
  g_rand_free (rand);
}

/* drmad's AVX-512 and AVX2 kernels (lib/small-gemm.c) sum each entry the
 * same way: a net trained on either, on one thread or on the team, ends
 * with the same weights bit for bit, so a run on a CPU without AVX-512
 * gives the numbers it gives on one with it. Needs a CPU with both. */
static void
test_host_team_kernels (void)
{
  static const guint sizes[] = { 37, 50, 10, 4 };   /* 50 = 3 × 16 + 2: both kernels' column tails */
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadDevice) device = host_team_device ();
  if (!device)
    return;
  if (!drmad_small_sgemm_choose ("avx512") || !drmad_small_sgemm_choose ("avx2")) {
    drmad_small_sgemm_choose (NULL);
    g_test_skip ("this CPU does not run both the AVX-512 and the AVX2 kernels");
    return;
  }
  g_autoptr (DrmadDeviceData) train = NULL;
  g_autofree double *w0 = NULL;
  g_autoptr (DrmadNet) net = relu_team_net (device, sizes, 21, &train, &w0);
  gsize n = drmad_net_get_n_params (net);
  const struct { const char *kernels; guint threads; } runs[] = { { "avx512", 1 }, { "avx2", 1 }, { "avx2", 2 },
                                                                  { "avx512", 2 } };
  double *got[G_N_ELEMENTS (runs)];
  drmad_blas_set_large_threads (1);
  for (guint r = 0; r < G_N_ELEMENTS (runs); r++) {
    g_assert_true (drmad_small_sgemm_choose (runs[r].kernels));
    drmad_team_set_threads (runs[r].threads);
    g_autoptr (DrmadTrainer) trainer = drmad_trainer_new (net, &error);
    CHECK (drmad_net_set_params (net, w0, &error));
    CHECK (drmad_trainer_set_uniform (trainer, 0.1, 0.9, 0.001, &error));
    CHECK (drmad_trainer_run (trainer, train, 7, 0, 15, NULL, NULL, NULL, &error));
    got[r] = g_new (double, n);
    CHECK (drmad_net_get_params (net, got[r], &error));
  }
  drmad_team_set_threads (0);
  drmad_small_sgemm_choose (NULL);
  g_assert_cmpfloat (ref_rel_error (got[0], w0, n), >, 1e-3);   /* it trained */
  for (guint r = 1; r < G_N_ELEMENTS (runs); r++) {
    g_test_message ("%s on %u thread(s): relative difference %g from avx512 on one", runs[r].kernels,
                    runs[r].threads, ref_rel_error (got[r], got[0], n));
    g_assert_cmpmem (got[r], n * sizeof (double), got[0], n * sizeof (double));
  }
  for (guint r = 0; r < G_N_ELEMENTS (runs); r++)
    g_free (got[r]);
}

/* A team's member 0 works out the minibatch of step + 2 during a step
 * (lib/net-host.c, step_indices): runs of steps that continue, jump ahead,
 * change seed, or alternate between the team and one thread train the
 * weights to the single thread's numbers on the same minibatches. */
static void
test_host_team_ahead (void)
{
  static const guint sizes[] = { 23, 40, 9, 4 };
  static const struct { guint64 seed, from, to; guint threads; } runs[] = {
    { 5, 0, 4, 2 }, { 5, 4, 8, 2 },    /* on from the note of the last run */
    { 5, 8, 12, 1 }, { 5, 12, 16, 2 }, /* one thread between: no note of step + 2 */
    { 5, 20, 24, 2 },                  /* a jump */
    { 6, 24, 25, 2 }, { 6, 25, 29, 2 } /* another seed; a run of one step */
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadDevice) device = host_team_device ();
  if (!device)
    return;
  g_autoptr (DrmadDeviceData) train = NULL;
  g_autofree double *w0 = NULL;
  g_autoptr (DrmadNet) net = relu_team_net (device, sizes, 12, &train, &w0);
  gsize n = drmad_net_get_n_params (net);
  g_autofree double *alone = g_new (double, n), *mixed = g_new (double, n);
  drmad_blas_set_large_threads (1);
  for (guint team = 0; team < 2; team++) {
    g_autoptr (DrmadTrainer) trainer = drmad_trainer_new (net, &error);
    CHECK (drmad_net_set_params (net, w0, &error));
    CHECK (drmad_trainer_set_uniform (trainer, 0.1, 0.9, 0.001, &error));
    for (guint r = 0; r < G_N_ELEMENTS (runs); r++) {
      drmad_team_set_threads (team ? runs[r].threads : 1);
      guint before = drmad_team_runs ();
      CHECK (drmad_trainer_run (trainer, train, runs[r].seed, runs[r].from, runs[r].to - runs[r].from, NULL, NULL,
                                NULL, &error));
      g_assert_cmpuint (drmad_team_runs () - before, ==,
                        team && runs[r].threads > 1 ? runs[r].to - runs[r].from : 0);
    }
    CHECK (drmad_net_get_params (net, team ? mixed : alone, &error));
  }
  drmad_team_set_threads (0);
  g_assert_cmpfloat (ref_rel_error (mixed, w0, n), >, 1e-3);   /* it trained */
  g_assert_cmpfloat (ref_rel_error (mixed, alone, n), <=, drmad_host_step_gemm_kernels () ? 0.0 : 1e-6);
}

/* DrmadTeamChoice (lib/host-team.h) on made-up step times: the team until
 * twice DRMAD_TEAM_CHOICE_WARM_NS of steps (the first while untimed: a
 * slow first step does not count), then a try alone (a settling step,
 * then DRMAD_TEAM_CHOICE_STEPS steps and DRMAD_TEAM_CHOICE_TRY_ALONE_NS;
 * of the team, DRMAD_TEAM_CHOICE_TRY_NS) kept
 * only when its mean is under DRMAD_TEAM_CHOICE_ALONE_MARGIN (0.67) of the
 * team's (the team under TEAM_MARGIN, 0.95, of alone's), steps in the other mode
 * not counted, and the while between tries doubling from
 * DRMAD_TEAM_CHOICE_FIRST_NS while the mode stays. Each step count below is
 * worked out here from the constants, not read from the chooser. */
static guint
choice_feed (DrmadTeamChoice *choice, gboolean team, gint64 ns, guint steps)
{
  guint changed = 0;
  for (guint i = 0; i < steps; i++) {
    g_assert_cmpint (drmad_team_choice_team (choice), ==, team);
    changed += drmad_team_choice_record (choice, team, ns);
  }
  return changed;
}

static guint
steps_for (gint64 total_ns, gint64 ns)
{
  return (guint) ((total_ns + ns - 1) / ns);
}

static void
test_host_team_choice (void)
{
  const gint64 ms = 1000000;
  DrmadTeamChoice choice = { 0 };
  /* the team first, for WARM_NS of 1 ms steps untimed, then as many timed */
  guint warm = steps_for (DRMAD_TEAM_CHOICE_WARM_NS, ms);
  gint64 slow = DRMAD_TEAM_CHOICE_WARM_NS / 2;   /* a slow first step */
  g_assert_cmpuint (choice_feed (&choice, TRUE, slow, 1), ==, 0);
  g_assert_cmpuint (choice_feed (&choice, TRUE, ms, steps_for (DRMAD_TEAM_CHOICE_WARM_NS - slow, ms) - 1), ==, 0);
  g_assert_true (drmad_team_choice_team (&choice));
  g_assert_cmpuint (choice_feed (&choice, TRUE, ms, 1), ==, 0);   /* WARM_NS: the timed while starts */
  g_assert_true (drmad_team_choice_team (&choice));
  g_assert_cmpuint (choice_feed (&choice, TRUE, ms, warm), ==, 0);
  g_assert_false (drmad_team_choice_team (&choice));   /* trying alone */
  /* a step that ran on the team all the same (the team busy the other way
   * round cannot happen; a mode not asked for) is not counted */
  g_assert_false (drmad_team_choice_record (&choice, TRUE, 1));
  /* alone at (margin + 0.05) ms: faster than the team's 1 ms, not by the margin; the team stays, and
   * the next while is FIRST_NS (twice the timed warm-up's, at least FIRST_NS) */
  gint64 near = (gint64) (ms * (DRMAD_TEAM_CHOICE_ALONE_MARGIN + 0.05));
  guint tried = 1 + MAX (DRMAD_TEAM_CHOICE_STEPS, steps_for (DRMAD_TEAM_CHOICE_TRY_ALONE_NS, near));
  g_assert_cmpuint (choice_feed (&choice, FALSE, near, tried), ==, 0);
  guint first = steps_for (DRMAD_TEAM_CHOICE_FIRST_NS, ms);
  g_assert_cmpuint (choice_feed (&choice, TRUE, ms, first), ==, 0);
  g_assert_false (drmad_team_choice_team (&choice));   /* trying alone again */
  /* alone at (margin − 0.05) ms: by the margin; the settling step's time does not count */
  gint64 fast = (gint64) (ms * (DRMAD_TEAM_CHOICE_ALONE_MARGIN - 0.05));
  g_assert_cmpuint (choice_feed (&choice, FALSE, 50 * ms, 1), ==, 0);
  tried = MAX (DRMAD_TEAM_CHOICE_STEPS, steps_for (DRMAD_TEAM_CHOICE_TRY_ALONE_NS, fast));
  g_assert_cmpuint (choice_feed (&choice, FALSE, fast, tried - 1), ==, 0);
  g_assert_cmpuint (choice_feed (&choice, FALSE, fast, 1), ==, 1);   /* the try's last step changes it */
  /* alone now, for FIRST_NS of 1 ms steps; then the team tried at 0.96 ms:
   * not under TEAM_MARGIN, alone stays, and the next while is twice as long */
  g_assert_cmpuint (choice_feed (&choice, FALSE, ms, first), ==, 0);
  near = (gint64) (ms * (DRMAD_TEAM_CHOICE_TEAM_MARGIN + 0.01));
  tried = 1 + MAX (DRMAD_TEAM_CHOICE_STEPS, steps_for (DRMAD_TEAM_CHOICE_TRY_NS, near));
  g_assert_cmpuint (choice_feed (&choice, TRUE, near, tried), ==, 0);
  guint longer = steps_for (MIN (2 * DRMAD_TEAM_CHOICE_FIRST_NS, DRMAD_TEAM_CHOICE_MOST_NS), ms);
  g_assert_cmpuint (choice_feed (&choice, FALSE, ms, longer - 1), ==, 0);
  g_assert_false (drmad_team_choice_team (&choice));   /* one step of the while left */
  g_assert_cmpuint (choice_feed (&choice, FALSE, ms, 1), ==, 0);
  /* the team at 0.5 ms after a settling step of 20 ms: back to the team */
  g_assert_cmpuint (choice_feed (&choice, TRUE, 20 * ms, 1), ==, 0);
  tried = MAX (DRMAD_TEAM_CHOICE_STEPS, steps_for (DRMAD_TEAM_CHOICE_TRY_NS, ms / 2));
  g_assert_cmpuint (choice_feed (&choice, TRUE, ms / 2, tried - 1), ==, 0);
  g_assert_cmpuint (choice_feed (&choice, TRUE, ms / 2, 1), ==, 1);
  g_assert_true (drmad_team_choice_team (&choice));
  /* slow steps: a try ends after DRMAD_TEAM_CHOICE_STEPS steps however
   * long each is (alone at 30 ms against the team's 0.5: the team stays) */
  g_assert_cmpuint (choice_feed (&choice, TRUE, ms / 2, steps_for (DRMAD_TEAM_CHOICE_FIRST_NS, ms / 2)), ==, 0);
  g_assert_cmpuint (choice_feed (&choice, FALSE, 30 * ms, 1 + DRMAD_TEAM_CHOICE_STEPS), ==, 0);
  g_assert_true (drmad_team_choice_team (&choice));
}

/* DrmadTeamChoice on long steps (a big net: 100 ms on the team, 200 alone):
 * the tries of the mode not chosen stay a small share of the steps, at most
 * one try (a settling step and DRMAD_TEAM_CHOICE_STEPS) per
 * DRMAD_TEAM_CHOICE_WHILE_STEPS of the chosen mode after the warm-ups (their
 * two steps and the first try). When whiles were only timed, each 400 ms
 * while was 4 steps and each try 6: 60 % of the steps ran alone, the
 * slower. */
static void
test_host_team_choice_slow (void)
{
  const gint64 ms = 1000000;
  const guint steps = 1000, try_steps = 1 + DRMAD_TEAM_CHOICE_STEPS;
  DrmadTeamChoice choice = { 0 };
  guint alone = 0;
  for (guint i = 0; i < steps; i++) {
    gboolean team = drmad_team_choice_team (&choice);
    alone += !team;
    g_assert_false (drmad_team_choice_record (&choice, team, team ? 100 * ms : 200 * ms));
  }
  guint most = try_steps + (steps / (DRMAD_TEAM_CHOICE_WHILE_STEPS + try_steps) + 1) * try_steps;
  g_test_message ("%u of %u steps alone (at most %u)", alone, steps, most);
  g_assert_cmpuint (alone, >=, try_steps);   /* alone was tried */
  g_assert_cmpuint (alone, <=, most);
}

/* Where the numbers do not depend on it (float32 on drmad's own kernels),
 * a step runs on the team or alone by timing (lib/host-team.h,
 * DrmadTeamChoice): with every step on the team made 3 ms slower
 * (DRMAD_TEST_HOOKS), the steps go alone after twice DRMAD_TEAM_CHOICE_WARM_NS
 * and stay alone, and the trained weights are bit for bit those of a run
 * all alone. */
static void
test_host_team_timed (void)
{
#ifndef DRMAD_TEST_HOOKS
  g_test_skip ("built without -Dtest_hooks=true: no way to make the team slow");
#else
  static const guint sizes[] = { 23, 40, 9, 4 };
  /* part 1 long enough for a try alone to end in it (2 ms of alone
   * steps) and a team chosen back, wrongly, to show */
  const guint delay_us = 3000, steps[2] = { 400, 1500 };
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadDevice) device = host_team_device ();
  if (!device)
    return;
  drmad_blas_set_large_threads (1);
  drmad_team_set_threads (0);
  if (!drmad_host_step_gemm_kernels () || drmad_team_threads_given () || drmad_host_step_threads (TEAM_BATCH) < 2) {
    g_test_skip ("no choice to make here: the step's GEMMs are OpenBLAS's, DRMAD_HOST_THREADS is set, or one core");
    return;
  }
  g_autoptr (DrmadDeviceData) train = NULL;
  g_autofree double *w0 = NULL;
  g_autoptr (DrmadNet) net = relu_team_net (device, sizes, 13, &train, &w0);
  gsize n = drmad_net_get_n_params (net);
  g_autofree double *alone = g_new (double, n), *timed = g_new (double, n);
  /* a try of the team: a settling step and then at least STEPS steps and TRY_NS */
  guint try_steps = 1 + MAX (DRMAD_TEAM_CHOICE_STEPS, steps_for (DRMAD_TEAM_CHOICE_TRY_NS, delay_us * 1000));
  for (guint timed_run = 0; timed_run < 2; timed_run++) {
    drmad_team_set_threads (timed_run ? 0 : 1);
    drmad_team_inject_delay (timed_run ? delay_us : 0);
    g_autoptr (DrmadTrainer) trainer = drmad_trainer_new (net, &error);
    CHECK (drmad_net_set_params (net, w0, &error));
    CHECK (drmad_trainer_set_uniform (trainer, 0.1, 0.9, 0.001, &error));
    for (guint part = 0; part < 2; part++) {
      guint team = drmad_team_runs (), declined = drmad_team_declined ();
      gint64 start = g_get_monotonic_time ();
      CHECK (drmad_trainer_run (trainer, train, 5, part * steps[0], steps[part], NULL, NULL, NULL, &error));
      /* alone, a try of the team comes at most once per FIRST_NS of alone steps (the whiles only grow):
       * on a slow machine (a sanitizer build beside other work) the part may have room for some */
      guint tries = (guint) ((g_get_monotonic_time () - start) * 1000 / DRMAD_TEAM_CHOICE_FIRST_NS);
      team = drmad_team_runs () - team;
      declined = drmad_team_declined () - declined;
      if (!timed_run) {
        g_assert_cmpuint (team + declined, ==, 0);
        continue;
      }
      g_assert_cmpuint (team + declined, ==, steps[part]);
      if (part == 0) {   /* the team until twice WARM_NS of its steps, then alone */
        g_assert_cmpuint (team, >=, 1);
        g_assert_cmpuint (team, <=, 2 * steps_for (DRMAD_TEAM_CHOICE_WARM_NS, delay_us * 1000) + tries * try_steps);
      } else             /* alone, but for the tries of the team */
        g_assert_cmpuint (team, <=, (1 + tries) * try_steps);
    }
    CHECK (drmad_net_get_params (net, timed_run ? timed : alone, &error));
  }
  drmad_team_inject_delay (0);
  drmad_team_set_threads (0);
  g_assert_cmpfloat (ref_rel_error (alone, w0, n), >, 1e-3);   /* it trained */
  g_assert_cmpfloat (ref_rel_error (timed, alone, n), ==, 0.0);
#endif
}

/* Each member of a host team's step runs its part once, whatever the size
 * of the steps before it. A helper that a step of two did not need (helper
 * 2, started by a step of three) and that was slow to look at it read the
 * next step's members, a step of three, as the one it had seen: it ran its
 * part of that step, then ran it again as a new step, beside whatever ran
 * next (lib/host-team.c, helper). The helper is made slow by a test hook. */
#define MEMBER_STEPS 3
static gint member_runs[MEMBER_STEPS][DRMAD_TEAM_MAX];

static void
count_member_run (const void *data, guint thread, guint threads)
{
  g_atomic_int_inc ((gint *) data + thread);
}

static void
test_host_team_members (void)
{
#ifndef DRMAD_TEST_HOOKS
  g_test_skip ("built without -Dtest_hooks=true: no way to make a helper slow");
#else
  static const guint threads[MEMBER_STEPS] = { 3, 2, 3 };
  drmad_team_inject_helper_delay (2, 20000);
  for (guint s = 0; s < MEMBER_STEPS; s++)
    g_assert_true (drmad_team_run (threads[s], count_member_run, member_runs[s]));
  g_usleep (200000);   /* room for a second run of helper 2's part of the last step */
  drmad_team_inject_helper_delay (0, 0);
  /* more members than a step's word holds: declined (the caller runs alone) */
  g_assert_false (drmad_team_run (DRMAD_TEAM_MAX + 1, count_member_run, member_runs[0]));
  for (guint s = 0; s < MEMBER_STEPS; s++)
    for (guint t = 0; t < DRMAD_TEAM_MAX; t++) {
      g_test_message ("step %u of %u members: member %u ran %d time(s)", s, threads[s], t,
                      g_atomic_int_get (&member_runs[s][t]));
      g_assert_cmpint (g_atomic_int_get (&member_runs[s][t]), ==, t < threads[s] ? 1 : 0);
    }
#endif
}

/* A team of two gathers its minibatch by columns (each member half of every
 * row, lib/net-host-body.h, gather_part): from a byte dataset with a
 * standardisation per column, the trained weights are bit for bit those of
 * the same features sent as floats, alone and on the team, at the columns
 * where the halves meet too (an odd width). */
static void
test_host_team_bytes (void)
{
  enum { N = 97, DIM = 23 };
  static const guint byte_sizes[] = { DIM, 40, 3 };
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadDevice) device = host_team_device ();
  if (!device)
    return;
  GRand *rand = g_rand_new_with_seed (23);
  guint8 *bytes = g_new (guint8, N * DIM);
  gint32 *labels = g_new (gint32, N);
  float *mean = g_new (float, DIM), *std = g_new (float, DIM);
  for (guint i = 0; i < N * DIM; i++)
    bytes[i] = g_rand_int_range (rand, 0, 256);
  for (guint i = 0; i < N; i++)
    labels[i] = g_rand_int_range (rand, 0, 3);
  for (guint d = 0; d < DIM; d++) {
    mean[d] = g_rand_double_range (rand, 0.2, 0.6);
    std[d] = g_rand_double_range (rand, 0.1, 0.4);
  }
  g_rand_free (rand);
  g_autoptr (DrmadDataset) byte_set = drmad_dataset_wrap (N, DIM, 3, DIM, 1, 1, NULL, bytes, labels,
                                                          g_strdup ("bytes"));
  byte_set->mean = mean;
  byte_set->std = std;
  g_autoptr (DrmadDataset) float_set = drmad_dataset_new_from_arrays (N, DIM, 3,
                                                                      drmad_dataset_get_features (byte_set),
                                                                      labels, &error);
  g_assert_no_error (error);
  g_autoptr (DrmadNet) net = drmad_net_new (device, byte_sizes, 3, DRMAD_ACTIVATION_RELU, DRMAD_PRECISION_FLOAT32,
                                            TEAM_BATCH, &error);
  g_assert_no_error (error);
  gsize n = drmad_net_get_n_params (net);
  g_autofree double *w0 = g_new (double, n), *got = g_new (double, 4 * n);
  CHECK (drmad_net_init_params (net, 2, NULL, &error));
  CHECK (drmad_net_get_params (net, w0, &error));
  for (guint k = 0; k < 4; k++) {   /* bytes, floats; alone, then a team of two */
    drmad_team_set_threads (k < 2 ? 1 : 2);
    g_autoptr (DrmadDeviceData) set = drmad_device_data_new (device, DRMAD_PRECISION_FLOAT32,
                                                             k % 2 ? float_set : byte_set, &error);
    g_assert_no_error (error);
    g_autoptr (DrmadTrainer) trainer = drmad_trainer_new (net, &error);
    CHECK (drmad_net_set_params (net, w0, &error));
    CHECK (drmad_trainer_set_uniform (trainer, 0.1, 0.9, 0.001, &error));
    guint runs = drmad_team_runs ();
    CHECK (drmad_trainer_run (trainer, set, 3, 0, TEAM_STEPS, NULL, NULL, NULL, &error));
    g_assert_cmpuint (drmad_team_runs () - runs, ==, k < 2 ? 0 : TEAM_STEPS);
    CHECK (drmad_net_get_params (net, got + k * n, &error));
  }
  drmad_team_set_threads (0);
  g_assert_cmpfloat (ref_rel_error (got, w0, n), >, 1e-3);   /* it trained */
  g_assert_cmpmem (got, n * sizeof (double), got + n, n * sizeof (double));
  g_assert_cmpmem (got + 2 * n, n * sizeof (double), got + 3 * n, n * sizeof (double));
  /* the team's GEMMs are the lone thread's, on other rows */
  g_assert_cmpfloat (ref_rel_error (got + 2 * n, got, n), <=, 1e-6);
}

/* Training steps run on the calling thread (drmad_net_host_direct_begin,
 * lib/net-host.c) give the numbers of the same steps queued as native
 * kernels (DRMAD_HOST_DIRECT=0), bit for bit, alone and on a team of two,
 * over more than one block of DRMAD_SYNC_EVERY steps; and a loss that blows
 * up is caught at the end of its block, as when queued. */
static void
test_host_direct (gconstpointer data)
{
  DrmadPrecision precision = GPOINTER_TO_INT (data);
  static const guint direct_sizes[] = { 23, 70, 9, 4 };
  enum { DIRECT_STEPS = 3 * DRMAD_SYNC_EVERY + 5 };
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadDevice) device = host_team_device ();
  if (!device)
    return;
  g_autoptr (GRand) rand = g_rand_new_with_seed (31);
  g_autoptr (DrmadDeviceData) train = NULL;
  g_autoptr (DrmadNet) net = team_net (device, precision, direct_sizes, DRMAD_ACTIVATION_RELU, rand, NULL, NULL,
                                       &train);
  gsize n = drmad_net_get_n_params (net);
  g_autofree double *w0 = g_new (double, n), *got = g_new (double, 4 * n);
  double loss[4];
  CHECK (drmad_net_init_params (net, 6, NULL, &error));
  CHECK (drmad_net_get_params (net, w0, &error));
  for (guint k = 0; k < 4; k++) {   /* queued, direct; alone, then a team of two */
    g_setenv ("DRMAD_HOST_DIRECT", k % 2 ? "1" : "0", TRUE);
    g_assert_true (drmad_net_host_direct_begin (net, &error) == (k % 2 == 1));
    g_assert_no_error (error);
    drmad_net_host_direct_end (net);
    drmad_team_set_threads (k < 2 ? 1 : 2);
    g_autoptr (DrmadTrainer) trainer = drmad_trainer_new (net, &error);
    CHECK (drmad_net_set_params (net, w0, &error));
    CHECK (drmad_trainer_set_uniform (trainer, 0.1, 0.9, 0.001, &error));
    guint runs = drmad_team_runs ();
    CHECK (drmad_trainer_run (trainer, train, 8, 0, DIRECT_STEPS, NULL, NULL, &loss[k], &error));
    g_assert_cmpuint (drmad_team_runs () - runs, ==, k < 2 ? 0 : DIRECT_STEPS);
    CHECK (drmad_net_get_params (net, got + k * n, &error));
    if (k == 3) {   /* weights blown up in the first step: caught after the first block */
      CHECK (drmad_trainer_set_uniform (trainer, 1e30, 0.0, 0.0, &error));
      g_assert_false (drmad_trainer_run (trainer, train, 8, 0, DIRECT_STEPS, NULL, NULL, NULL, &error));
      g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_DIVERGED);
      g_autofree char *block = g_strdup_printf ("by step %d of %d", DRMAD_SYNC_EVERY, (int) DIRECT_STEPS);
      g_assert_nonnull (strstr (error->message, block));
      g_clear_error (&error);
    }
  }
  g_unsetenv ("DRMAD_HOST_DIRECT");
  drmad_team_set_threads (0);
  g_assert_cmpfloat (ref_rel_error (got, w0, n), >, 1e-3);   /* it trained */
  for (guint k = 0; k < 4; k += 2) {
    g_assert_cmpmem (got + k * n, n * sizeof (double), got + (k + 1) * n, n * sizeof (double));
    g_assert_cmpfloat (loss[k], ==, loss[k + 1]);
  }
}

static gboolean
cancel_at_32 (const char *phase, guint64 step, guint64 total, gpointer user_data)
{
  *(guint64 *) user_data = step;
  return step < 32;
}

static void
test_cancel_and_divergence (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadDevice) device = open_device ();
  if (!device)
    return;
  float features[40 * 6];
  gint32 labels[40];
  for (guint i = 0; i < 40 * 6; i++)
    features[i] = (i * 37 % 11) / 5.0 - 1;
  for (guint i = 0; i < 40; i++)
    labels[i] = i % 4;
  g_autoptr (DrmadDataset) dataset = drmad_dataset_new_from_arrays (40, 6, 4, features, labels, &error);
  g_autoptr (DrmadDeviceData) train = drmad_device_data_new (device, DRMAD_PRECISION_FLOAT32, dataset, &error);
  g_autoptr (DrmadNet) net = drmad_net_new (device, sizes, 3, DRMAD_ACTIVATION_RELU, DRMAD_PRECISION_FLOAT32, 8, &error);
  g_autoptr (DrmadTrainer) trainer = drmad_trainer_new (net, &error);
  CHECK (drmad_net_init_params (net, 1, NULL, &error));
  guint64 reached = 0;
  g_assert_false (drmad_trainer_run (trainer, train, 1, 0, 1000, cancel_at_32, &reached, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_CANCELLED);
  g_assert_cmpuint (reached, ==, 32);
  g_clear_error (&error);
  /* A learning rate that blows the weights up is reported, not silently trained on. */
  CHECK (drmad_trainer_set_uniform (trainer, 1e30, 0.0, 0.0, &error));
  g_assert_false (drmad_trainer_run (trainer, train, 1, 0, 200, NULL, NULL, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_DIVERGED);
  g_clear_error (&error);
  g_assert_false (drmad_trainer_set_uniform (trainer, 0.1, 1.5, 0.0, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
}

/* 784-100-10 on 10k Fashion-MNIST images, ≥ 2 epochs, ≥ 82 % test accuracy. */
static void
test_fashion_mnist (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadDataset) pool = NULL;
  g_autoptr (DrmadDataset) test = NULL;
  if (!drmad_dataset_open ("fashion-mnist", NULL, &pool, &test, &error)) {
    g_test_skip (error->message);
    return;
  }
  g_autoptr (DrmadDevice) device = open_device ();
  if (!device)
    return;
  g_autoptr (DrmadSplit) split = drmad_dataset_split (pool, test, 1, 10000, 1000, 0, &error);
  g_assert_no_error (error);
  g_autoptr (DrmadDeviceData) train = drmad_device_data_new (device, DRMAD_PRECISION_FLOAT32, split->train, &error);
  g_autoptr (DrmadDeviceData) test_data = drmad_device_data_new (device, DRMAD_PRECISION_FLOAT32, split->test, &error);
  guint widths[] = { 784, 100, 10 };
  g_autoptr (DrmadNet) net = drmad_net_new (device, widths, 3, DRMAD_ACTIVATION_RELU, DRMAD_PRECISION_FLOAT32, 100, &error);
  g_autoptr (DrmadTrainer) trainer = drmad_trainer_new (net, &error);
  g_assert_no_error (error);
  CHECK (drmad_net_init_params (net, 1, NULL, &error));
  CHECK (drmad_trainer_set_uniform (trainer, 0.1, 0.9, 1e-4, &error));
  double before, after, error_rate, train_loss;
  CHECK (drmad_net_evaluate (net, test_data, &before, NULL, &error));
  CHECK (drmad_trainer_run (trainer, train, 1, 0, 300, NULL, NULL, &train_loss, &error)); /* 3 epochs */
  CHECK (drmad_net_evaluate (net, test_data, &after, &error_rate, &error));
  g_assert_no_error (error);
  g_test_message ("test loss %.4f → %.4f, test accuracy %.2f%%", before, after, 100 * (1 - error_rate));
  g_assert_cmpuint (drmad_device_data_get_n (test_data), ==, 10000);
  g_assert_cmpfloat (after, <, before);
  g_assert_cmpfloat (1 - error_rate, >=, 0.82);
}

/* drmad_net_get_params() from a second thread while the net trains, as a
 * window that draws the weights live would call it (drmad.h, "Threads"):
 * each copy it gets is the parameters after some whole step, one of those
 * the same training gives one step at a time. On the host path's steps on
 * the calling thread (DRMAD_HOST_DIRECT) the copy used to be taken while
 * the step wrote them: 321 of 392 copies of 784-30-10 in float32 (425 of
 * 911 in float64) matched no step's parameters. */
#define READ_STEPS 150
typedef struct {
  DrmadNet        *net;
  DrmadTrainer    *trainer;
  DrmadDeviceData *train;
  gint             done;
  GError          *error;
} ReadWhileTraining;

static gpointer
train_elsewhere (gpointer data)
{
  ReadWhileTraining *job = data;
  drmad_trainer_run (job->trainer, job->train, 3, 0, READ_STEPS, NULL, NULL, NULL, &job->error);
  g_atomic_int_set (&job->done, 1);
  return NULL;
}

static void
test_params_read_while_training (gconstpointer data)
{
  DrmadPrecision precision = GPOINTER_TO_INT (data);
  static const guint read_sizes[] = { 100, 200, 4 };
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadDevice) device = open_device ();
  if (!device)
    return;
  GRand *rand = g_rand_new_with_seed (5);
  g_autofree double *x = g_new (double, 200 * 100);
  gint32 labels[200];
  g_autoptr (DrmadDeviceData) train = random_data (device, precision, rand, 200, 100, x, labels);
  g_rand_free (rand);
  g_autoptr (DrmadNet) net = drmad_net_new (device, read_sizes, 3, DRMAD_ACTIVATION_TANH, precision, 40, &error);
  g_assert_no_error (error);
  g_autoptr (DrmadTrainer) trainer = drmad_trainer_new (net, &error);
  g_assert_no_error (error);
  gsize n = drmad_net_get_n_params (net);
  /* the parameters after each step, one step at a time */
  g_autofree double *after = g_new (double, (READ_STEPS + 1) * n);
  CHECK (drmad_net_init_params (net, 2, NULL, &error));
  CHECK (drmad_net_get_params (net, after, &error));
  for (guint t = 0; t < READ_STEPS; t++) {
    CHECK (drmad_trainer_run (trainer, train, 3, t, 1, NULL, NULL, NULL, &error));
    CHECK (drmad_net_get_params (net, after + (t + 1) * n, &error));
  }
  CHECK (drmad_net_init_params (net, 2, NULL, &error));
  CHECK (drmad_trainer_reset_velocity (trainer, &error));
  ReadWhileTraining job = { net, trainer, train };
  GThread *thread = g_thread_new ("train", train_elsewhere, &job);
  g_autofree double *copy = g_new (double, n);
  guint reads = 0, step = 0;
  while (!g_atomic_int_get (&job.done)) {
    CHECK (drmad_net_get_params (net, copy, &error));
    reads++;
    /* steps only go forward: the copy is this step's or a later one's */
    while (step <= READ_STEPS && memcmp (copy, after + step * n, n * sizeof (double)) != 0)
      step++;
    if (step > READ_STEPS)
      g_test_message ("copy %u of the parameters while training matches no step's parameters", reads);
    g_assert_cmpuint (step, <=, READ_STEPS);
  }
  g_thread_join (thread);
  g_assert_no_error (job.error);
  g_test_message ("%u copies while training, the last of step %u", reads, step);
  g_assert_cmpuint (reads, >, 0);
  CHECK (drmad_net_get_params (net, copy, &error));
  g_assert_cmpmem (copy, n * sizeof (double), after + READ_STEPS * n, n * sizeof (double));
}

/* drmad_net_get_params() from a second thread while the net trains on the
 * owner's thread (DRMAD_HOST_DIRECT), beside another net's work queued on
 * the same device: the copy must not wait for that work, or the training,
 * whose next step waits for the copy (lib/net-host.c, enqueue_sized),
 * went at the other net's pace. The other net's work is a marker held by
 * a user event, queued from the progress callback after step 1; the copy
 * then read the parameters through the device's queue, and waited for the
 * event (here until the callback gives up, 30 s). */
typedef struct {
  DrmadNet *net;
  double   *own, *copy;   /* the parameters after step 1, by the owner and by the second thread */
  GMutex    lock;
  GCond     copied;
  gboolean  done, blocked_copy, ok;
} BesideQueued;

static gpointer
copy_beside_queued (gpointer data)
{
  BesideQueued *b = data;
  gboolean ok = drmad_net_get_params (b->net, b->copy, NULL);
  g_mutex_lock (&b->lock);
  b->done = TRUE;
  b->ok = ok;
  g_cond_signal (&b->copied);
  g_mutex_unlock (&b->lock);
  return NULL;
}

static gboolean
hold_queue_and_copy (const char *phase, guint64 step, guint64 total, gpointer data)
{
  BesideQueued *b = data;
  if (step != 1)
    return TRUE;
  g_assert_true (drmad_net_get_params (b->net, b->own, NULL));
  DrmadDevice *device = b->net->device;
  cl_int status;
  cl_event held = clCreateUserEvent (device->context, &status);
  g_assert_cmpint (status, ==, CL_SUCCESS);
  g_assert_cmpint (clEnqueueMarkerWithWaitList (device->queue, 1, &held, NULL), ==, CL_SUCCESS);
  GThread *thread = g_thread_new ("copy", copy_beside_queued, b);
  gint64 until = g_get_monotonic_time () + 30 * G_TIME_SPAN_SECOND;
  g_mutex_lock (&b->lock);
  while (!b->done && g_cond_wait_until (&b->copied, &b->lock, until))
    ;
  b->blocked_copy = !b->done;
  g_mutex_unlock (&b->lock);
  clSetUserEventStatus (held, CL_COMPLETE);
  g_thread_join (thread);
  clReleaseEvent (held);
  return TRUE;
}

static void
test_params_read_beside_queued_work (void)
{
  static const guint beside_sizes[] = { 6, 8, 4 };
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadDevice) device = host_team_device ();
  if (!device)
    return;
  GRand *rand = g_rand_new_with_seed (6);
  double x[40 * 6];
  gint32 labels[40];
  g_autoptr (DrmadDeviceData) train = random_data (device, DRMAD_PRECISION_FLOAT32, rand, 40, 6, x, labels);
  g_rand_free (rand);
  g_autoptr (DrmadNet) net = drmad_net_new (device, beside_sizes, 3, DRMAD_ACTIVATION_TANH, DRMAD_PRECISION_FLOAT32,
                                            10, &error);
  g_assert_no_error (error);
  if (!net->host_fused) {
    g_test_skip ("no fused host path: the steps are queued, and so is the copy");
    return;
  }
  g_autoptr (DrmadTrainer) trainer = drmad_trainer_new (net, &error);
  g_assert_no_error (error);
  CHECK (drmad_net_init_params (net, 2, NULL, &error));
  gsize n = drmad_net_get_n_params (net);
  g_autofree double *own = g_new (double, n);
  g_autofree double *copy = g_new (double, n);
  BesideQueued b = { .net = net, .own = own, .copy = copy };
  g_mutex_init (&b.lock);
  g_cond_init (&b.copied);
  CHECK (drmad_trainer_run (trainer, train, 3, 0, 4, hold_queue_and_copy, &b, NULL, &error));
  g_mutex_clear (&b.lock);
  g_cond_clear (&b.copied);
  g_assert_false (b.blocked_copy);
  g_assert_true (b.ok);
  g_assert_cmpmem (copy, n * sizeof (double), own, n * sizeof (double));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/train/sgd-vs-reference/float64", GINT_TO_POINTER (DRMAD_PRECISION_FLOAT64), test_sgd_reference);
  g_test_add_data_func ("/train/sgd-vs-reference/float32", GINT_TO_POINTER (DRMAD_PRECISION_FLOAT32), test_sgd_reference);
  g_test_add_data_func ("/train/host-team/float64", GINT_TO_POINTER (DRMAD_PRECISION_FLOAT64), test_host_team);
  g_test_add_data_func ("/train/host-team/float32", GINT_TO_POINTER (DRMAD_PRECISION_FLOAT32), test_host_team);
  g_test_add_func ("/train/host-team/bytes", test_host_team_bytes);
  g_test_add_func ("/train/host-team/ahead", test_host_team_ahead);
  g_test_add_func ("/train/host-team/kernels", test_host_team_kernels);
  g_test_add_func ("/train/host-team/choice", test_host_team_choice);
  g_test_add_func ("/train/host-team/choice-slow", test_host_team_choice_slow);
  g_test_add_func ("/train/host-team/timed", test_host_team_timed);
  g_test_add_func ("/train/host-team/members", test_host_team_members);
  g_test_add_data_func ("/train/host-direct/float32", GINT_TO_POINTER (DRMAD_PRECISION_FLOAT32), test_host_direct);
  g_test_add_data_func ("/train/host-direct/float64", GINT_TO_POINTER (DRMAD_PRECISION_FLOAT64), test_host_direct);
  g_test_add_func ("/train/cancel-and-divergence", test_cancel_and_divergence);
  g_test_add_data_func ("/train/params-read-while-training/float32", GINT_TO_POINTER (DRMAD_PRECISION_FLOAT32),
                        test_params_read_while_training);
  g_test_add_data_func ("/train/params-read-while-training/float64", GINT_TO_POINTER (DRMAD_PRECISION_FLOAT64),
                        test_params_read_while_training);
  g_test_add_func ("/train/params-read-beside-queued-work", test_params_read_beside_queued_work);
  g_test_add_func ("/train/init-params", test_init_params);
  g_test_add_func ("/train/fashion-mnist-accuracy", test_fashion_mnist);
  return g_test_run ();
}
