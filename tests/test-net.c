/* The MLP kernels (sampling, gather, forward, softmax, backward, evaluation)
 * against the plain C reference and against finite differences. */
#include "blas.h"
#include "dataset-private.h"
#include "drmad.h"
#include "test-util.h"
#include "reference-mlp.h"

typedef struct {
  DrmadPrecision  precision;
  DrmadGemmPath   path;
  DrmadActivation activation;
  gboolean        launches;   /* host path with DRMAD_HOST_STEP=0: a kernel launch per stage */
} NetCase;

typedef struct {
  DrmadDevice     *device;
  DrmadDataset    *dataset;
  DrmadDeviceData *data;
  DrmadNet        *net;
  double          *x;      /* dataset features as doubles (rounded as the device sees them) */
  double          *params;
} Fixture;

static const guint sizes[] = { 7, 6, 5, 3 };
#define N_EXAMPLES 23
#define BATCH 6

static gboolean
fixture_setup (Fixture *f, const NetCase *nc)
{
  g_autoptr (GError) error = NULL;
  f->device = drmad_device_open (NULL, &error);
  if (!f->device) {
    g_test_skip (error->message);
    return FALSE;
  }
  if (!drmad_device_set_gemm_path (f->device, nc->path, &error)) {
    g_test_skip (error->message);
    return FALSE;
  }
  GRand *rand = g_rand_new_with_seed (11);
  float features[N_EXAMPLES * 7];
  gint32 labels[N_EXAMPLES];
  f->x = g_new (double, N_EXAMPLES * 7);
  for (guint i = 0; i < N_EXAMPLES * 7; i++)
    f->x[i] = features[i] = g_rand_double_range (rand, -1.5, 1.5);
  for (guint i = 0; i < N_EXAMPLES; i++)
    labels[i] = g_rand_int_range (rand, 0, 3);
  f->dataset = drmad_dataset_new_from_arrays (N_EXAMPLES, 7, 3, features, labels, &error);
  g_assert_no_error (error);
  f->data = drmad_device_data_new (f->device, nc->precision, f->dataset, &error);
  g_assert_no_error (error);
  if (nc->launches)
    g_setenv ("DRMAD_HOST_STEP", "0", TRUE);
  f->net = drmad_net_new (f->device, sizes, G_N_ELEMENTS (sizes), nc->activation, nc->precision, BATCH, &error);
  g_unsetenv ("DRMAD_HOST_STEP");
  g_assert_no_error (error);
  gsize n = drmad_net_get_n_params (f->net);
  f->params = g_new (double, n);
  for (gsize i = 0; i < n; i++)
    f->params[i] = nc->precision == DRMAD_PRECISION_FLOAT32 ? (float) g_rand_double_range (rand, -0.8, 0.8)
                                                             : g_rand_double_range (rand, -0.8, 0.8);
  CHECK (drmad_net_set_params (f->net, f->params, &error));
  g_rand_free (rand);
  return TRUE;
}

static void
fixture_teardown (Fixture *f)
{
  drmad_net_free (f->net);
  drmad_device_data_free (f->data);
  drmad_dataset_free (f->dataset);
  drmad_device_unref (f->device);
  g_free (f->x);
  g_free (f->params);
}

static void
test_gradient_reference (gconstpointer data)
{
  const NetCase *nc = data;
  Fixture f = { 0 };
  if (!fixture_setup (&f, nc))
    return;
  g_autoptr (GError) error = NULL;
  gsize n = drmad_net_get_n_params (f.net);
  RefNet ref = { 3, sizes, nc->activation };
  g_assert_cmpuint (ref_n_params (&ref), ==, n);
  double tolerance = nc->precision == DRMAD_PRECISION_FLOAT64 ? 1e-12 : 2e-5;
  g_autofree double *got = g_new (double, n), *expect = g_new (double, n);
  /* Steps 0…9 cover several epochs of 23 examples, batches crossing epoch ends. */
  for (guint64 step = 0; step < 10; step++) {
    guint32 idx[BATCH];
    drmad_sampler_batch (42, step, BATCH, N_EXAMPLES, idx);
    const gint32 *labels = drmad_dataset_get_labels (f.dataset);
    double loss;
    CHECK (drmad_net_batch_gradient (f.net, f.data, 42, step, &loss, got, &error));
    g_assert_no_error (error);
    double expect_loss = ref_loss_grad (&ref, f.params, f.x, labels, idx, BATCH, expect, NULL);
    g_assert_cmpfloat_with_epsilon (loss, expect_loss, tolerance * (1 + expect_loss));
    g_assert_cmpfloat (ref_rel_error (got, expect, n), <=, tolerance);
  }
  fixture_teardown (&f);
}

static void
test_evaluate_reference (gconstpointer data)
{
  const NetCase *nc = data;
  Fixture f = { 0 };
  if (!fixture_setup (&f, nc))
    return;
  g_autoptr (GError) error = NULL;
  RefNet ref = { 3, sizes, nc->activation };
  double wrong, loss, error_rate;
  double expect = ref_loss_grad (&ref, f.params, f.x, drmad_dataset_get_labels (f.dataset), NULL,
                                 N_EXAMPLES, NULL, &wrong);
  CHECK (drmad_net_evaluate (f.net, f.data, &loss, &error_rate, &error));
  g_assert_no_error (error);
  double tolerance = nc->precision == DRMAD_PRECISION_FLOAT64 ? 1e-12 : 2e-5;
  g_assert_cmpfloat_with_epsilon (loss, expect, tolerance * (1 + expect));
  g_assert_cmpfloat (error_rate, ==, wrong / N_EXAMPLES);
  fixture_teardown (&f);
}

/* docs/algorithm.md §4.1: the gradient against central differences of the loss,
 * float64, tanh. */
static void
test_gradient_finite_differences (gconstpointer data)
{
  const NetCase *nc = data;
  Fixture f = { 0 };
  if (!fixture_setup (&f, nc))
    return;
  g_autoptr (GError) error = NULL;
  gsize n = drmad_net_get_n_params (f.net);
  g_autofree double *grad = g_new (double, n), *fd = g_new (double, n), *w = g_memdup2 (f.params, n * sizeof (double));
  CHECK (drmad_net_batch_gradient (f.net, f.data, 3, 1, NULL, grad, &error));
  const double eps = 1e-5;
  for (gsize i = 0; i < n; i++) {
    double plus, minus, saved = w[i];
    w[i] = saved + eps;
    CHECK (drmad_net_set_params (f.net, w, &error));
    CHECK (drmad_net_batch_gradient (f.net, f.data, 3, 1, &plus, NULL, &error));
    w[i] = saved - eps;
    CHECK (drmad_net_set_params (f.net, w, &error));
    CHECK (drmad_net_batch_gradient (f.net, f.data, 3, 1, &minus, NULL, &error));
    w[i] = saved;
    fd[i] = (plus - minus) / (2 * eps);
  }
  g_assert_no_error (error);
  double diff = 0, norm = 0;
  for (gsize i = 0; i < n; i++) {
    diff += (grad[i] - fd[i]) * (grad[i] - fd[i]);
    norm += fd[i] * fd[i];
  }
  g_test_message ("gradient vs finite differences: relative error %g", sqrt (diff / norm));
  g_assert_cmpfloat (sqrt (diff / norm), <=, 1e-6);
  fixture_teardown (&f);
}

/* docs/algorithm.md §4.2: the R-operator HVP against central differences of the
 * gradient, float64, for each activation. */
static void
test_hvp_finite_differences (gconstpointer data)
{
  const NetCase *nc = data;
  Fixture f = { 0 };
  if (!fixture_setup (&f, nc))
    return;
  g_autoptr (GError) error = NULL;
  gsize n = drmad_net_get_n_params (f.net);
  g_autofree double *dir = g_new (double, n), *hv = g_new (double, n), *fd = g_new (double, n);
  g_autofree double *gp = g_new (double, n), *gm = g_new (double, n), *w = g_new (double, n);
  GRand *rand = g_rand_new_with_seed (3);
  for (gsize i = 0; i < n; i++)
    dir[i] = g_rand_double_range (rand, -1, 1);
  g_rand_free (rand);
  CHECK (drmad_net_batch_hvp (f.net, f.data, 5, 2, dir, hv, &error));
  const double eps = 1e-5;
  for (int sign = -1; sign <= 1; sign += 2) {
    for (gsize i = 0; i < n; i++)
      w[i] = f.params[i] + sign * eps * dir[i];
    CHECK (drmad_net_set_params (f.net, w, &error));
    CHECK (drmad_net_batch_gradient (f.net, f.data, 5, 2, NULL, sign > 0 ? gp : gm, &error));
  }
  double diff = 0, norm = 0;
  for (gsize i = 0; i < n; i++) {
    fd[i] = (gp[i] - gm[i]) / (2 * eps);
    diff += (hv[i] - fd[i]) * (hv[i] - fd[i]);
    norm += fd[i] * fd[i];
  }
  g_test_message ("HVP vs finite differences (%s): relative error %g", drmad_activation_name (nc->activation),
                  sqrt (diff / norm));
  g_assert_cmpfloat (norm, >, 0);
  g_assert_cmpfloat (sqrt (diff / norm), <=, 1e-6);
  fixture_teardown (&f);
}

static void
test_bad_shapes (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadDevice) device = drmad_device_open (NULL, &error);
  if (!device) {
    g_test_skip (error->message);
    return;
  }
  guint one[] = { 5 };
  g_assert_null (drmad_net_new (device, one, 1, DRMAD_ACTIVATION_RELU, DRMAD_PRECISION_FLOAT32, 10, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  guint zero[] = { 5, 0, 3 };
  g_assert_null (drmad_net_new (device, zero, 3, DRMAD_ACTIVATION_RELU, DRMAD_PRECISION_FLOAT32, 10, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "layer 1"));
  g_clear_error (&error);
  guint ok[] = { 5, 3 };
  g_assert_null (drmad_net_new (device, ok, 2, DRMAD_ACTIVATION_RELU, DRMAD_PRECISION_FLOAT32, 0, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
}

/* Values the caller passes are checked (drmad.h): parameters NaN, ±Inf or
 * past float32's range in a float32 net are refused naming the first bad
 * index and leave the net's parameters as they were (they went in, and the
 * next evaluation's loss was NaN); a negative initial scale is refused as
 * DrmadHyperConfig refuses it. A new net's parameters are zeros. */
static void
test_bad_values (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadDevice) device = drmad_device_open (NULL, &error);
  if (!device) {
    g_test_skip (error->message);
    return;
  }
  for (int p = 0; p < 2; p++) {
    DrmadPrecision precision = p ? DRMAD_PRECISION_FLOAT64 : DRMAD_PRECISION_FLOAT32;
    g_autoptr (DrmadNet) net = drmad_net_new (device, sizes, G_N_ELEMENTS (sizes), DRMAD_ACTIVATION_TANH, precision,
                                              BATCH, &error);
    g_assert_no_error (error);
    gsize n = drmad_net_get_n_params (net);
    g_autofree double *got = g_new (double, n), *zeros = g_new0 (double, n), *params = g_new (double, n);
    CHECK (drmad_net_get_params (net, got, &error));
    g_assert_cmpmem (got, n * sizeof (double), zeros, n * sizeof (double));
    for (gsize i = 0; i < n; i++)
      params[i] = (double) (i % 7) / 8 - 0.375;   /* exact in float32 too */
    CHECK (drmad_net_set_params (net, params, &error));
    const struct { gsize index; double value; gboolean float32_only; } bad[] = {
      { 4, NAN, FALSE }, { 0, INFINITY, FALSE }, { n - 1, -INFINITY, FALSE }, { 9, 1e300, TRUE },
    };
    for (guint k = 0; k < G_N_ELEMENTS (bad); k++) {
      g_autofree double *wrong = g_memdup2 (params, n * sizeof (double));
      wrong[bad[k].index] = bad[k].value;
      wrong[n - 1] = bad[k].index == n - 1 ? bad[k].value : NAN;   /* a later bad one is not the one named */
      if (bad[k].float32_only && p) {
        wrong[n - 1] = params[n - 1];
        CHECK (drmad_net_set_params (net, wrong, &error));
        CHECK (drmad_net_set_params (net, params, &error));
        continue;
      }
      g_assert_false (drmad_net_set_params (net, wrong, &error));
      g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
      g_autofree char *named = g_strdup_printf ("parameter %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " is ",
                                                bad[k].index + 1, n);   /* counted from 1 */
      g_assert_nonnull (strstr (error->message, named));
      g_clear_error (&error);
      CHECK (drmad_net_get_params (net, got, &error));
      g_assert_cmpmem (got, n * sizeof (double), params, n * sizeof (double));
    }
    const double negative[3] = { 0.5, -1, 0.5 }, nan_scale[3] = { NAN, 1, 1 }, zero[3] = { 0, 0, 0 };
    g_assert_false (drmad_net_init_params (net, 3, negative, &error));
    g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
    g_assert_nonnull (strstr (error->message, "initial scale of layer 2 is -1"));
    g_clear_error (&error);
    g_assert_false (drmad_net_init_params (net, 3, nan_scale, &error));
    g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
    CHECK (drmad_net_get_params (net, got, &error));
    g_assert_cmpmem (got, n * sizeof (double), params, n * sizeof (double));
    CHECK (drmad_net_init_params (net, 3, zero, &error));   /* zero weights (0 × a negative draw is −0), zero biases */
    CHECK (drmad_net_get_params (net, got, &error));
    for (gsize i = 0; i < n; i++)
      g_assert_cmpfloat (got[i], ==, 0);
  }
}

/* A byte dataset (a split of one: bytes plus a standardisation) on the
 * device gives what the same features sent as floats give: the minibatch
 * gradient and HVP bit for bit (the same reals reach the same GEMMs), the
 * evaluation and the full gradient to the rounding of their sums. */
static void
test_byte_data (gconstpointer data)
{
  const NetCase *nc = data;
  Fixture f = { 0 };
  if (!fixture_setup (&f, nc))
    return;
  g_autoptr (GError) error = NULL;
  GRand *rand = g_rand_new_with_seed (17);
  guint8 *bytes = g_new (guint8, N_EXAMPLES * 7);
  gint32 *labels = g_new (gint32, N_EXAMPLES);
  float *mean = g_new (float, 7), *std = g_new (float, 7);
  for (guint i = 0; i < N_EXAMPLES * 7; i++)
    bytes[i] = g_rand_int_range (rand, 0, 256);
  for (guint i = 0; i < N_EXAMPLES; i++)
    labels[i] = g_rand_int_range (rand, 0, 3);
  for (guint d = 0; d < 7; d++) {
    mean[d] = g_rand_double_range (rand, 0.2, 0.6);
    std[d] = g_rand_double_range (rand, 0.1, 0.4);
  }
  g_rand_free (rand);
  g_autoptr (DrmadDataset) byte_set = drmad_dataset_wrap (N_EXAMPLES, 7, 3, 7, 1, 1, NULL, bytes, labels,
                                                          g_strdup ("bytes"));
  byte_set->mean = mean;
  byte_set->std = std;
  g_autoptr (DrmadDataset) float_set = drmad_dataset_new_from_arrays (N_EXAMPLES, 7, 3,
                                                                      drmad_dataset_get_features (byte_set),
                                                                      labels, &error);
  g_assert_no_error (error);
  /* lib/dataset-private.h: byte · 1 / (255 std) + (−mean / std), each operation rounded in float */
  volatile float scale = 1.0f / (255.0f * std[2]), offset = -mean[2] / std[2], product = bytes[9] * scale;
  g_assert_cmpfloat (drmad_dataset_get_features (byte_set)[9], ==, product + offset);
  DrmadDeviceData *sets[2];
  sets[0] = drmad_device_data_new (f.device, nc->precision, byte_set, &error);
  g_assert_no_error (error);
  sets[1] = drmad_device_data_new (f.device, nc->precision, float_set, &error);
  g_assert_no_error (error);
  gsize n = drmad_net_get_n_params (f.net);
  double loss[2], error_rate[2], full_loss[2];
  g_autofree double *dir = g_new (double, n);
  for (gsize i = 0; i < n; i++)
    dir[i] = sin (i + 1.0);
  g_autofree double *grad = g_new (double, 2 * n), *hvp = g_new (double, 2 * n), *full = g_new (double, 2 * n);
  for (guint k = 0; k < 2; k++) {
    CHECK (drmad_net_set_params (f.net, f.params, &error));
    CHECK (drmad_net_batch_gradient (f.net, sets[k], 42, 3, NULL, grad + k * n, &error));
    CHECK (drmad_net_batch_hvp (f.net, sets[k], 42, 5, dir, hvp + k * n, &error));
    CHECK (drmad_net_evaluate (f.net, sets[k], &loss[k], &error_rate[k], &error));
    CHECK (drmad_net_full_gradient (f.net, sets[k], &full_loss[k], full + k * n, &error));
  }
  g_assert_cmpmem (grad, n * sizeof (double), grad + n, n * sizeof (double));
  g_assert_cmpmem (hvp, n * sizeof (double), hvp + n, n * sizeof (double));
  double tolerance = nc->precision == DRMAD_PRECISION_FLOAT64 ? 1e-13 : 1e-6;
  g_assert_cmpfloat_with_epsilon (loss[0], loss[1], tolerance * loss[1]);
  g_assert_cmpfloat (error_rate[0], ==, error_rate[1]);
  g_assert_cmpfloat_with_epsilon (full_loss[0], full_loss[1], tolerance * full_loss[1]);
  g_assert_cmpfloat (ref_rel_error (full, full + n, n), <=, tolerance);
  drmad_device_data_free (sets[0]);
  drmad_device_data_free (sets[1]);
  fixture_teardown (&f);
}

/* A small net training on synthetic data, for the tests of who may call
 * what while it works. */
typedef struct {
  DrmadDevice     *device;
  DrmadDeviceData *data;
  DrmadNet        *net;
  DrmadTrainer    *trainer;
  /* what the callbacks saw */
  GError          *inner_error;
  guint            inner_calls;
  gint             stage;       /* /net/one-thread-at-a-time: 1 the trainer waits, 2 the other thread has tried */
} Busy;

static gboolean
busy_setup (Busy *b)
{
  g_autoptr (GError) error = NULL;
  b->device = drmad_device_open (NULL, &error);
  if (!b->device) {
    g_test_skip (error->message);
    return FALSE;
  }
  enum { N = 60, DIM = 7, CLASSES = 3 };
  float features[N * DIM];
  gint32 labels[N];
  for (guint i = 0; i < N; i++) {
    labels[i] = i % CLASSES;
    for (guint j = 0; j < DIM; j++)
      features[i * DIM + j] = (float) ((i * 7 + j * 3) % 11) / 11 + (j == (guint) labels[i]);
  }
  g_autoptr (DrmadDataset) dataset = drmad_dataset_new_from_arrays (N, DIM, CLASSES, features, labels, &error);
  g_assert_no_error (error);
  b->data = drmad_device_data_new (b->device, DRMAD_PRECISION_FLOAT32, dataset, &error);
  g_assert_no_error (error);
  const guint widths[] = { DIM, 8, CLASSES };
  b->net = drmad_net_new (b->device, widths, 3, DRMAD_ACTIVATION_RELU, DRMAD_PRECISION_FLOAT32, 10, &error);
  g_assert_no_error (error);
  b->trainer = drmad_trainer_new (b->net, &error);
  g_assert_no_error (error);
  return TRUE;
}

static double
busy_train (Busy *b, DrmadProgressFunc progress)
{
  g_autoptr (GError) error = NULL;
  double loss = 0;
  g_assert_true (drmad_net_init_params (b->net, 3, NULL, &error));
  g_assert_true (drmad_trainer_reset_velocity (b->trainer, &error));
  g_assert_true (drmad_trainer_run (b->trainer, b->data, 5, 0, 12, progress, b, &loss, &error));
  g_assert_no_error (error);
  return loss;
}

static void
busy_clear (Busy *b)
{
  g_clear_error (&b->inner_error);
  g_clear_pointer (&b->trainer, drmad_trainer_free);
  g_clear_pointer (&b->net, drmad_net_free);
  g_clear_pointer (&b->data, drmad_device_data_free);
  g_clear_pointer (&b->device, drmad_device_unref);
}

static gboolean
evaluate_inside (const char *phase, guint64 step, guint64 total, gpointer user_data)
{
  Busy *b = user_data;
  double loss, error_rate;
  g_clear_error (&b->inner_error);
  if (!drmad_net_evaluate (b->net, b->data, &loss, &error_rate, &b->inner_error))
    b->inner_calls++;
  return TRUE;
}

/* A progress callback that calls back into the library on the net whose
 * training it reports on is refused with DRMAD_ERROR_BUSY: an evaluation
 * there overwrote the training's loss sum (a mean loss of 0.016 where it
 * was 0.61), a nested training the weights. The training itself goes on
 * unchanged. */
static void
test_callback_reentry (void)
{
  Busy b = { 0 };
  if (!busy_setup (&b))
    return;
  double alone = busy_train (&b, NULL);
  double with_callback = busy_train (&b, evaluate_inside);
  g_assert_error (b.inner_error, DRMAD_ERROR, DRMAD_ERROR_BUSY);
  g_assert_nonnull (strstr (b.inner_error->message, "drmad_net_evaluate()"));
  g_assert_cmpuint (b.inner_calls, ==, 12);
  g_assert_cmpfloat (with_callback, ==, alone);
  /* After the work has returned, the same call works. */
  double loss, error_rate;
  g_autoptr (GError) error = NULL;
  g_assert_true (drmad_net_evaluate (b.net, b.data, &loss, &error_rate, &error));
  busy_clear (&b);
}

static gboolean
new_trainer_inside (const char *phase, guint64 step, guint64 total, gpointer user_data)
{
  Busy *b = user_data;
  g_clear_error (&b->inner_error);
  DrmadTrainer *trainer = drmad_trainer_new (b->net, &b->inner_error);
  b->inner_calls += trainer != NULL;
  drmad_trainer_free (trainer);
  return TRUE;
}

/* drmad_trainer_new() allocates on the net's device and clears the velocity
 * through the net's queue: from a progress callback of work on the net it
 * is refused like every other call on it, in its own name. It entered no
 * net: it ran (12 trainers made inside the training), and a busy error of
 * its default schedule named drmad_trainer_set_uniform(), which the caller
 * never called. */
static void
test_trainer_new_busy (void)
{
  Busy b = { 0 };
  if (!busy_setup (&b))
    return;
  double alone = busy_train (&b, NULL);
  double with_callback = busy_train (&b, new_trainer_inside);
  g_assert_error (b.inner_error, DRMAD_ERROR, DRMAD_ERROR_BUSY);
  g_test_message ("%s", b.inner_error->message);
  g_assert_true (g_str_has_prefix (b.inner_error->message, "drmad_trainer_new() was called from a progress callback"));
  g_assert_null (strstr (b.inner_error->message, "drmad_trainer_set_uniform()"));
  g_assert_cmpuint (b.inner_calls, ==, 0);
  g_assert_cmpfloat (with_callback, ==, alone);
  /* After the work has returned, the same call works. */
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadTrainer) trainer = drmad_trainer_new (b.net, &error);
  g_assert_no_error (error);
  g_assert_nonnull (trainer);
  busy_clear (&b);
}

static gpointer
evaluate_elsewhere (gpointer user_data)
{
  Busy *b = user_data;
  while (g_atomic_int_get (&b->stage) != 1)
    g_thread_yield ();
  double loss, error_rate;
  if (!drmad_net_evaluate (b->net, b->data, &loss, &error_rate, &b->inner_error))
    b->inner_calls++;
  g_atomic_int_set (&b->stage, 2);
  return NULL;
}

static gboolean
wait_for_other_thread (const char *phase, guint64 step, guint64 total, gpointer user_data)
{
  Busy *b = user_data;
  if (step == 4) {
    g_atomic_int_set (&b->stage, 1);
    while (g_atomic_int_get (&b->stage) != 2)
      g_thread_yield ();
  }
  return TRUE;
}

/* A net is used by one thread at a time: a second thread's call while the
 * first trains it is refused with DRMAD_ERROR_BUSY rather than run into the
 * training's state; once the first is done, the second may use it. */
static void
test_one_thread_at_a_time (void)
{
  Busy b = { 0 };
  if (!busy_setup (&b))
    return;
  double alone = busy_train (&b, NULL);
  GThread *other = g_thread_new ("other", evaluate_elsewhere, &b);
  double shared = busy_train (&b, wait_for_other_thread);
  g_thread_join (other);
  g_assert_error (b.inner_error, DRMAD_ERROR, DRMAD_ERROR_BUSY);
  g_assert_nonnull (strstr (b.inner_error->message, "another thread"));
  g_assert_cmpfloat (shared, ==, alone);
  g_clear_error (&b.inner_error);
  g_atomic_int_set (&b.stage, 1);
  other = g_thread_new ("other", evaluate_elsewhere, &b);
  g_thread_join (other);
  g_assert_no_error (b.inner_error);
  busy_clear (&b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* Paths: the host GEMMs with the fused host step (the CPU default,
   * lib/net-host.c), CLBlast with the kernels, the host GEMMs with the kernels. */
  static NetCase cases[2][3][3];
  static const char *const path_names[] = { "host", "clblast", "host-launches" };
  for (int p = 0; p < 2; p++)
    for (int g = 0; g < 3; g++)
      for (int a = 0; a < 3; a++) {
        NetCase *nc = &cases[p][g][a];
        *nc = (NetCase) { p ? DRMAD_PRECISION_FLOAT64 : DRMAD_PRECISION_FLOAT32,
                          g == 1 ? DRMAD_GEMM_CLBLAST : DRMAD_GEMM_HOST, (DrmadActivation) a, g == 2 };
        g_autofree char *suffix = g_strdup_printf ("%s/%s/%s", path_names[g],
                                                   p ? "float64" : "float32", drmad_activation_name (nc->activation));
        g_autofree char *grad = g_strconcat ("/net/gradient-vs-reference/", suffix, NULL);
        g_autofree char *eval = g_strconcat ("/net/evaluate-vs-reference/", suffix, NULL);
        g_test_add_data_func (grad, nc, test_gradient_reference);
        g_test_add_data_func (eval, nc, test_evaluate_reference);
      }
  g_test_add_data_func ("/net/gradient-vs-finite-differences/host/float64/tanh", &cases[1][0][1],
                        test_gradient_finite_differences);
  g_test_add_data_func ("/net/hvp-vs-finite-differences/host/float64/tanh", &cases[1][0][1],
                        test_hvp_finite_differences);
  g_test_add_data_func ("/net/hvp-vs-finite-differences/host/float64/relu", &cases[1][0][0],
                        test_hvp_finite_differences);
  g_test_add_data_func ("/net/hvp-vs-finite-differences/clblast/float64/tanh", &cases[1][1][1],
                        test_hvp_finite_differences);
  g_test_add_data_func ("/net/hvp-vs-finite-differences/host-launches/float64/tanh", &cases[1][2][1],
                        test_hvp_finite_differences);
  g_test_add_data_func ("/net/hvp-vs-finite-differences/host-launches/float64/softsign", &cases[1][2][2],
                        test_hvp_finite_differences);
  /* softsign: the activation added by following docs/architecture.md ("Where to add things"). */
  g_test_add_data_func ("/net/gradient-vs-finite-differences/host/float64/softsign", &cases[1][0][2],
                        test_gradient_finite_differences);
  g_test_add_data_func ("/net/hvp-vs-finite-differences/host/float64/softsign", &cases[1][0][2],
                        test_hvp_finite_differences);
  for (int g = 0; g < 3; g++)
    for (int p = 0; p < 2; p++) {
      g_autofree char *name = g_strdup_printf ("/net/byte-data/%s/%s", path_names[g], p ? "float64" : "float32");
      g_test_add_data_func (name, &cases[p][g][1], test_byte_data);
    }
  g_test_add_func ("/net/bad-shapes", test_bad_shapes);
  g_test_add_func ("/net/bad-values", test_bad_values);
  g_test_add_func ("/net/callback-reentry", test_callback_reentry);
  g_test_add_func ("/net/trainer-new-busy", test_trainer_new_busy);
  g_test_add_func ("/net/one-thread-at-a-time", test_one_thread_at_a_time);
  return g_test_run ();
}
