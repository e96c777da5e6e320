/* Hypergradients: the exact reverse pass against central differences of the
 * validation loss through the whole training (ALGORITHM.md §4.3), the
 * shortcuts against exact, memory scaling, the divergence guard, cancel. */
#include "drmad.h"
#include "test-util.h"

#include <math.h>

static const guint sizes[] = { 6, 5, 4, 3 };
#define N_TRAIN 40
#define N_VAL 24

typedef struct {
  DrmadDevice     *device;
  DrmadDataset    *train_set, *val_set;
  DrmadDeviceData *train, *val;
  DrmadNet        *net;
} Problem;

static gboolean
problem_setup (Problem *p, guint batch)
{
  g_autoptr (GError) error = NULL;
  p->device = drmad_device_open (NULL, &error);
  if (!p->device) {
    g_test_skip (error->message);
    return FALSE;
  }
  GRand *rand = g_rand_new_with_seed (21);
  float x[(N_TRAIN + N_VAL) * 6];
  gint32 y[N_TRAIN + N_VAL];
  for (guint i = 0; i < N_TRAIN + N_VAL; i++) {
    y[i] = g_rand_int_range (rand, 0, 3);
    for (guint k = 0; k < 6; k++)  /* a learnable signal plus noise */
      x[i * 6 + k] = (k % 3 == (guint) y[i] ? 1.0 : 0.0) + g_rand_double_range (rand, -0.8, 0.8);
  }
  g_rand_free (rand);
  p->train_set = drmad_dataset_new_from_arrays (N_TRAIN, 6, 3, x, y, &error);
  p->val_set = drmad_dataset_new_from_arrays (N_VAL, 6, 3, x + N_TRAIN * 6, y + N_TRAIN, &error);
  g_assert_no_error (error);
  p->train = drmad_device_data_new (p->device, DRMAD_PRECISION_FLOAT64, p->train_set, &error);
  p->val = drmad_device_data_new (p->device, DRMAD_PRECISION_FLOAT64, p->val_set, &error);
  p->net = drmad_net_new (p->device, sizes, G_N_ELEMENTS (sizes), DRMAD_ACTIVATION_TANH,
                          DRMAD_PRECISION_FLOAT64, batch, &error);
  g_assert_no_error (error);
  return TRUE;
}

static void
problem_teardown (Problem *p)
{
  drmad_net_free (p->net);
  drmad_device_data_free (p->train);
  drmad_device_data_free (p->val);
  drmad_dataset_free (p->train_set);
  drmad_dataset_free (p->val_set);
  drmad_device_unref (p->device);
}

static void
config_all_groups (DrmadHyperConfig *config, DrmadL2Granularity l2, guint64 steps)
{
  drmad_hyper_config_init (config);
  config->l2 = l2;
  config->learn_lr = config->learn_momentum = config->learn_init_scale = TRUE;
  config->segments = 4;
  config->steps = steps;
  for (guint l = 0; l < 3; l++) {
    config->init_l2[l] = 0.01 * (l + 1);
    config->init_lr[l] = 0.3 / (l + 1);
    config->init_momentum[l] = 0.5 + 0.1 * l;
    config->init_scale[l] = 0.6 + 0.2 * l;
  }
}

/* f(θ): train from scratch, validation loss. */
static double
validation_loss (Problem *p, DrmadHyper *hyper, guint64 seed)
{
  g_autoptr (GError) error = NULL;
  double loss;
  CHECK (drmad_hyper_train (p->net, hyper, p->train, seed, NULL, NULL, NULL, &error));
  CHECK (drmad_net_full_gradient (p->net, p->val, &loss, NULL, &error));
  return loss;
}

static DrmadHypergradient *
hypergradient (Problem *p, DrmadHyper *hyper, DrmadMethod method, guint k, guint K)
{
  g_autoptr (GError) error = NULL;
  DrmadReverseConfig reverse = { .method = method, .checkpoint_every = k, .snapshots = K, .seed = 13 };
  DrmadHypergradient *result = drmad_hypergradient_compute (p->net, hyper, p->train, p->val, &reverse,
                                                            NULL, NULL, &error);
  g_assert_no_error (error);
  return result;
}

/* ‖a − b‖ / ‖b‖ over [first, first + count) */
static double
relative_error (const double *a, const double *b, gsize first, gsize count)
{
  double diff = 0, norm = 0;
  for (gsize i = first; i < first + count; i++) {
    diff += (a[i] - b[i]) * (a[i] - b[i]);
    norm += b[i] * b[i];
  }
  return sqrt (diff / MAX (norm, 1e-300));
}

typedef struct {
  DrmadL2Granularity l2;
  guint              k;            /* checkpoint spacing */
  gboolean           fixed_momentum;  /* momentum not learned: the reverse steps skip g_t (lib/reverse.c) */
} ExactCase;

/* ALGORITHM.md §4.3: exact hypergradient vs central differences of f(θ),
 * every group, float64, tanh, T = 50: relative error ≤ 1e-4 per group. */
static void
test_exact_vs_finite_differences (gconstpointer data)
{
  const ExactCase *ec = data;
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  config_all_groups (&config, ec->l2, 50);
  config.learn_momentum = !ec->fixed_momentum;
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  g_assert_no_error (error);
  g_autoptr (DrmadHypergradient) exact = hypergradient (&p, hyper, DRMAD_METHOD_EXACT, ec->k, 0);
  gsize n = drmad_hyper_get_n (hyper);
  g_assert_cmpuint (exact->n, ==, n);
  g_assert_cmpfloat_with_epsilon (exact->val_loss, validation_loss (&p, hyper, 13), 1e-12);
  g_autofree double *theta = g_memdup2 (drmad_hyper_get_values (hyper), n * sizeof (double));
  g_autofree double *fd = g_new (double, n);
  const double eps = 1e-5;
  for (gsize i = 0; i < n; i++) {
    double saved = theta[i], plus, minus;
    theta[i] = saved + eps;
    CHECK (drmad_hyper_set_values (hyper, theta, &error));
    plus = validation_loss (&p, hyper, 13);
    theta[i] = saved - eps;
    CHECK (drmad_hyper_set_values (hyper, theta, &error));
    minus = validation_loss (&p, hyper, 13);
    theta[i] = saved;
    fd[i] = (plus - minus) / (2 * eps);
  }
  CHECK (drmad_hyper_set_values (hyper, theta, &error));
  for (guint g = 0; g < drmad_hyper_get_n_groups (hyper); g++) {
    gsize first, count;
    drmad_hyper_get_group_span (hyper, g, &first, &count);
    double rel = relative_error (exact->gradient, fd, first, count);
    g_test_message ("group %-8s (%3" G_GSIZE_FORMAT " values): exact vs finite differences %.3g, e.g. %s %.6g vs %.6g",
                    drmad_hyper_get_group_name (hyper, g), count, rel, drmad_hyper_get_name (hyper, first),
                    exact->gradient[first], fd[first]);
    g_assert_cmpfloat (rel, <=, 1e-4);
  }
  problem_teardown (&p);
}

/* §2c: K = T is exact to rounding; K = 1 is DrMAD. With momentum fixed the
 * line's velocities are cached across steps and v̂_t is not formed at all
 * (lib/reverse.c, reverse_pieces): the limits must hold there too. */
static void
test_piecewise_limits (gconstpointer data)
{
  gboolean fixed_momentum = GPOINTER_TO_INT (data);
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  config_all_groups (&config, DRMAD_L2_PER_LAYER, 30);
  config.learn_momentum = !fixed_momentum;
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  g_autoptr (DrmadHypergradient) exact = hypergradient (&p, hyper, DRMAD_METHOD_EXACT, 1, 0);
  g_autoptr (DrmadHypergradient) full = hypergradient (&p, hyper, DRMAD_METHOD_PIECEWISE, 0, 30);
  g_autoptr (DrmadHypergradient) drmad = hypergradient (&p, hyper, DRMAD_METHOD_DRMAD, 0, 0);
  g_autoptr (DrmadHypergradient) one = hypergradient (&p, hyper, DRMAD_METHOD_PIECEWISE, 0, 1);
  gsize n = drmad_hyper_get_n (hyper);
  double rel_full = relative_error (full->gradient, exact->gradient, 0, n);
  double rel_one = relative_error (one->gradient, drmad->gradient, 0, n);
  double rel_drmad = relative_error (drmad->gradient, exact->gradient, 0, n);
  g_test_message ("piecewise K=T vs exact %.3g; K=1 vs DrMAD %.3g; DrMAD vs exact %.3g", rel_full, rel_one, rel_drmad);
  g_assert_cmpfloat (rel_full, <=, 1e-9);
  g_assert_cmpfloat (relative_error (full->dw0, exact->dw0, 0, full->n_params), <=, 1e-9);
  g_assert_cmpfloat (rel_one, ==, 0);
  g_assert_cmpfloat (rel_drmad, >, 1e-6);  /* a shortcut, not the same computation */
  problem_teardown (&p);
}

static guint64
peak_bytes (Problem *p, DrmadMethod method, guint k, guint64 steps)
{
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  config_all_groups (&config, DRMAD_L2_PER_LAYER, steps);
  config.learn_momentum = FALSE;  /* momentum 0.5–0.7 for stability over long runs */
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p->net, &config, &error);
  g_autoptr (DrmadHypergradient) result = hypergradient (p, hyper, method, k, 0);
  return result->device_peak_bytes;
}

/* DrMAD's memory does not grow with T; exact with k = 1 does. */
static void
test_memory_scaling (void)
{
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  guint64 drmad_100 = peak_bytes (&p, DRMAD_METHOD_DRMAD, 0, 100);
  guint64 drmad_2000 = peak_bytes (&p, DRMAD_METHOD_DRMAD, 0, 2000);
  guint64 exact_100 = peak_bytes (&p, DRMAD_METHOD_EXACT, 1, 100);
  guint64 exact_400 = peak_bytes (&p, DRMAD_METHOD_EXACT, 1, 400);
  g_test_message ("peak device bytes: DrMAD T=100 %" G_GUINT64_FORMAT ", T=2000 %" G_GUINT64_FORMAT
                  "; exact k=1 T=100 %" G_GUINT64_FORMAT ", T=400 %" G_GUINT64_FORMAT,
                  drmad_100, drmad_2000, exact_100, exact_400);
  g_assert_cmpuint (drmad_100, >, 0);
  g_assert_cmpfloat (fabs ((double) drmad_2000 - drmad_100) / drmad_100, <=, 0.05);
  g_assert_cmpfloat ((double) exact_400, >, 3.0 * exact_100);
  problem_teardown (&p);
}

/* An engineered blow-up: a meta step that sends the learning rate to e^12. */
static void
test_divergence_guard (void)
{
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  drmad_hyper_config_init (&config);
  config.l2 = DRMAD_L2_FIXED;
  config.learn_lr = TRUE;
  config.steps = 40;
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  DrmadReverseConfig reverse = { .method = DRMAD_METHOD_DRMAD, .seed = 3 };
  DrmadMetaConfig meta_config;
  drmad_meta_config_init (&meta_config);
  meta_config.algorithm = DRMAD_META_SIGN;
  meta_config.learning_rate = 14;  /* log η: −2.3 → about ±11.7 */
  g_autoptr (DrmadMeta) meta = drmad_meta_new (p.net, hyper, p.train, p.val, &reverse, &meta_config, &error);
  g_assert_no_error (error);
  g_autoptr (DrmadMetaReport) first = drmad_meta_step (meta, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (first->rejected);
  gsize n = drmad_hyper_get_n (hyper);
  g_autofree double *accepted = g_new (double, n);
  for (gsize i = 0; i < n; i++)
    accepted[i] = log (0.1);
  guint rejected = 0;
  for (guint it = 0; it < 4; it++) {
    g_autoptr (DrmadMetaReport) report = drmad_meta_step (meta, NULL, NULL, &error);
    g_assert_no_error (error);
    const double *theta = drmad_hyper_get_values (hyper);
    for (gsize i = 0; i < n; i++)
      g_assert_true (isfinite (theta[i]));
    if (report->rejected) {
      rejected++;
      g_assert_nonnull (report->event);
      g_test_message ("rejected: %s; meta learning rate now %g", report->event, report->meta_learning_rate);
    }
  }
  g_assert_cmpuint (rejected, >=, 1);
  g_assert_cmpfloat (drmad_meta_get_learning_rate (meta), <, 14);

  /* A second, wilder step (±40 on log η): rejected, and θ is the accepted point moved by half of it. */
  meta_config.learning_rate = 40;
  g_autoptr (DrmadMeta) wild = drmad_meta_new (p.net, hyper, p.train, p.val, &reverse, &meta_config, &error);
  g_autofree double *before = g_memdup2 (drmad_hyper_get_values (hyper), n * sizeof (double));
  g_autoptr (DrmadMetaReport) accepted_first = drmad_meta_step (wild, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (accepted_first->rejected);
  g_autoptr (DrmadMetaReport) blown = drmad_meta_step (wild, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (blown->rejected);
  g_test_message ("rejected: %s", blown->event);
  g_assert_cmpfloat (drmad_meta_get_learning_rate (wild), ==, 20);
  /* θ is the accepted point moved by the halved step: finite, and 20 from where it started. */
  const double *theta = drmad_hyper_get_values (hyper);
  for (gsize i = 0; i < n; i++) {
    g_assert_true (isfinite (theta[i]));
    g_assert_cmpfloat_with_epsilon (fabs (theta[i] - before[i]), 20, 1e-9);
  }
  problem_teardown (&p);
}

typedef struct {
  guint64 calls, last_step;
  char   *last_phase;
} CancelState;

static gboolean
cancel_in_reverse (const char *phase, guint64 step, guint64 total, gpointer user_data)
{
  CancelState *state = user_data;
  state->calls++;
  state->last_step = step;
  g_free (state->last_phase);
  state->last_phase = g_strdup (phase);
  return !(g_str_equal (phase, "reverse") && step == 5);
}

static void
test_cancel (void)
{
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  config_all_groups (&config, DRMAD_L2_PER_LAYER, 60);
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  DrmadReverseConfig reverse = { .method = DRMAD_METHOD_EXACT, .seed = 1 };
  CancelState state = { 0 };
  g_autoptr (DrmadHypergradient) result = drmad_hypergradient_compute (p.net, hyper, p.train, p.val, &reverse,
                                                                       cancel_in_reverse, &state, &error);
  g_assert_null (result);
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_CANCELLED);
  g_assert_cmpstr (state.last_phase, ==, "reverse");
  g_assert_cmpuint (state.last_step, ==, 5);     /* nothing ran past the step that asked to stop */
  g_assert_cmpuint (state.calls, ==, 60 + 5);
  g_free (state.last_phase);
  problem_teardown (&p);
}

static void
test_names (void)
{
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  config_all_groups (&config, DRMAD_L2_PER_NEURON, 20);
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  g_assert_no_error (error);
  /* per-neuron L2: one per input unit of each matrix (6 + 5 + 4), then 3×4 lr, 3×4 momentum, 3 init */
  g_assert_cmpuint (drmad_hyper_get_n (hyper), ==, 15 + 12 + 12 + 3);
  g_assert_cmpstr (drmad_hyper_get_name (hyper, 0), ==, "l2/layer1/in0");
  g_assert_cmpstr (drmad_hyper_get_name (hyper, 15), ==, "lr/layer1/seg0");
  g_assert_cmpstr (drmad_hyper_get_name (hyper, 15 + 7), ==, "lr/layer2/seg3");
  g_assert_cmpstr (drmad_hyper_get_name (hyper, 27), ==, "momentum/layer1/seg0");
  g_assert_cmpstr (drmad_hyper_get_name (hyper, 41), ==, "init/layer3");
  g_assert_cmpfloat_with_epsilon (drmad_hyper_get_natural (hyper, 27), 0.5, 1e-12);
  g_assert_cmpfloat_with_epsilon (drmad_hyper_get_natural (hyper, 15), 0.3, 1e-12);
  g_assert_cmpfloat_with_epsilon (drmad_hyper_get_natural (hyper, 5), 0.01, 1e-12);
  double bad[42] = { NAN };
  g_assert_false (drmad_hyper_set_values (hyper, bad, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_DIVERGED);
  g_assert_cmpfloat_with_epsilon (drmad_hyper_get_natural (hyper, 0), 0.01, 1e-12);
  problem_teardown (&p);
}

/* Every kernel walks its indices in chunks whose split depends on the launch
 * (kernels/nn.cl, FOR_CHUNK): GPUs one index per work-item, CPU devices a few
 * long chunks. The hypergradients (training, evaluation, gradient, HVP and
 * the reverse-step kernels) must not depend on the split: compare the default
 * against one index per work-item (the GPU geometry) and against chunks of 7
 * (uneven, every boundary exercised). */
static void
hypergradients_with_chunk (const char *chunk, DrmadHypergradient **exact, DrmadHypergradient **drmad)
{
  if (chunk)
    g_setenv ("DRMAD_KERNEL_CHUNK", chunk, TRUE);
  Problem p = { 0 };
  gboolean ready = problem_setup (&p, 8);
  g_unsetenv ("DRMAD_KERNEL_CHUNK");
  if (!ready)
    return;
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  config_all_groups (&config, DRMAD_L2_PER_NEURON, 20);
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  g_assert_no_error (error);
  *exact = hypergradient (&p, hyper, DRMAD_METHOD_EXACT, 4, 0);
  *drmad = hypergradient (&p, hyper, DRMAD_METHOD_DRMAD, 0, 0);
  problem_teardown (&p);
}

static void
test_launch_geometry (void)
{
  g_autoptr (DrmadHypergradient) exact = NULL, drmad = NULL;
  hypergradients_with_chunk (NULL, &exact, &drmad);
  if (!exact)
    return;
  const char *chunks[] = { "0", "7" };
  for (guint c = 0; c < G_N_ELEMENTS (chunks); c++) {
    g_autoptr (DrmadHypergradient) other_exact = NULL, other_drmad = NULL;
    hypergradients_with_chunk (chunks[c], &other_exact, &other_drmad);
    g_assert_nonnull (other_exact);
    double rel_exact = relative_error (other_exact->gradient, exact->gradient, 0, exact->n);
    double rel_drmad = relative_error (other_drmad->gradient, drmad->gradient, 0, drmad->n);
    double rel_dw0 = relative_error (other_exact->dw0, exact->dw0, 0, exact->n_params);
    g_test_message ("chunk %s vs default: exact %.3g, DrMAD %.3g, dw0 %.3g", chunks[c], rel_exact, rel_drmad, rel_dw0);
    g_assert_cmpfloat (rel_exact, <=, 1e-12);
    g_assert_cmpfloat (rel_drmad, <=, 1e-12);
    g_assert_cmpfloat (rel_dw0, <=, 1e-12);
    g_assert_cmpfloat (fabs (other_exact->val_loss - exact->val_loss), <=, 1e-12 * fabs (exact->val_loss));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  static const ExactCase layer = { DRMAD_L2_PER_LAYER, 0 }, layer_k1 = { DRMAD_L2_PER_LAYER, 1 },
                         neuron = { DRMAD_L2_PER_NEURON, 7 }, weight = { DRMAD_L2_PER_WEIGHT, 50 },
                         fixed_momentum = { DRMAD_L2_PER_LAYER, 5, TRUE };
  g_test_add_data_func ("/hyper/exact-vs-finite-differences/l2-per-layer", &layer, test_exact_vs_finite_differences);
  g_test_add_data_func ("/hyper/exact-vs-finite-differences/l2-per-layer-k1", &layer_k1, test_exact_vs_finite_differences);
  g_test_add_data_func ("/hyper/exact-vs-finite-differences/l2-per-neuron", &neuron, test_exact_vs_finite_differences);
  g_test_add_data_func ("/hyper/exact-vs-finite-differences/l2-per-weight", &weight, test_exact_vs_finite_differences);
  g_test_add_data_func ("/hyper/exact-vs-finite-differences/fixed-momentum", &fixed_momentum, test_exact_vs_finite_differences);
  g_test_add_data_func ("/hyper/piecewise-limits/all-groups", GINT_TO_POINTER (FALSE), test_piecewise_limits);
  g_test_add_data_func ("/hyper/piecewise-limits/fixed-momentum", GINT_TO_POINTER (TRUE), test_piecewise_limits);
  g_test_add_func ("/hyper/memory-scaling", test_memory_scaling);
  g_test_add_func ("/hyper/divergence-guard", test_divergence_guard);
  g_test_add_func ("/hyper/cancel", test_cancel);
  g_test_add_func ("/hyper/names", test_names);
  g_test_add_func ("/hyper/launch-geometry", test_launch_geometry);
  return g_test_run ();
}
