/* bench-step: the time of one training step of an MLP 784-100-100-10 (ReLU,
 * float32) on the device, through each GEMM path, against a plain C +
 * OpenBLAS step that does the same math on host arrays (issue 2 §7), and
 * against the same reference with its GEMMs on drmad's own AVX-512 or AVX2
 * small-matrix kernels (lib/small-gemm.c) where the CPU has them: OpenBLAS
 * runs the kernels of its chosen core (Haswell's AVX2 ones when
 * OPENBLAS_CORETYPE says so on an AVX-512 CPU), and a reference on slower
 * kernels than the device's flatters its ratio (issue 12).
 *
 * One step is what drmad_trainer_run() does per step: sample and gather the
 * minibatch, forward, softmax cross-entropy, backward, fused SGD-momentum
 * update with L2 (docs/algorithm.md §1 and §3).
 *
 * Run it with a kernel cache so that PoCL does not recompile every time:
 *
 *   POCL_CACHE_DIR=build/pocl-cache ./build/bench/bench-step [--repeats N] [--steps N] [--csv FILE]
 *
 * Each configuration is timed in blocks of --steps steps (drmad_trainer_run
 * synchronises every 16 steps and at the end, so a block's wall time covers
 * all its work); blocks of every configuration are interleaved, --repeats
 * times, and the median block time per step is reported. The host GEMM path
 * and the reference are measured at 1 and 2 OpenBLAS threads (the device
 * path gives them to its large GEMMs only, lib/blas.c), so that the
 * library's default (2 on two cores or more, unless $DRMAD_BLAS_THREADS says otherwise) is backed
 * by a measurement every run.
 */
#include "net-private.h"
#include "small-gemm.h"
#include "drmad.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_TRAIN       10000
#define DATA_SEED     1
#define INIT_SEED     7
#define ETA           0.1
#define GAMMA         0.9
#define L2            1e-4
#define WARMUP_STEPS  16
#define CHECK_STEPS   5
#define CHECK_TOLERANCE 1e-3
#define TARGET_RATIO  1.5

static const guint layer_sizes[] = { 784, 100, 100, 10 };
#define N_SIZES G_N_ELEMENTS (layer_sizes)
#define N_LAYERS (N_SIZES - 1)
static const guint batch_sizes[] = { 100, 256 };
static const int blas_thread_counts[] = { 1, 2 };

/* The OpenBLAS the library loaded, with the core it chose (lib/blas.c, top):
 * the reference runs on the same kernels as the device's host GEMMs. */
static const DrmadOpenblas *blas;

/* ---------------------------------------------------------------------- */
/* The reference step: plain C and sgemm on host arrays.                  */

typedef struct {
  guint         batch, n, dim;
  const float  *features;   /* n × dim, the same standardised data the device holds */
  const gint32 *labels;
  gsize         weight_offset[N_SIZES], bias_offset[N_SIZES], n_params;
  float        *params, *velocity, *grad, *eta, *gamma, *l2;
  float        *input;                      /* batch × dim */
  float        *acts[N_SIZES], *deltas[N_SIZES];
  guint32      *indices;
  gint32       *batch_labels;
} Reference;

static void
reference_free (Reference *ref)
{
  g_free (ref->params);
  g_free (ref->velocity);
  g_free (ref->grad);
  g_free (ref->eta);
  g_free (ref->gamma);
  g_free (ref->l2);
  g_free (ref->input);
  for (guint l = 1; l < N_SIZES; l++) {
    g_free (ref->acts[l]);
    g_free (ref->deltas[l]);
  }
  g_free (ref->indices);
  g_free (ref->batch_labels);
  g_free (ref);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Reference, reference_free)

/* @initial: the net's parameters after drmad_net_init_params, so that both start equal. */
static Reference *
reference_new (const DrmadDataset *train, guint batch, const double *initial, gsize n_params)
{
  Reference *ref = g_new0 (Reference, 1);
  ref->batch = batch;
  ref->n = drmad_dataset_get_n (train);
  ref->dim = drmad_dataset_get_dim (train);
  ref->features = drmad_dataset_get_features (train);
  ref->labels = drmad_dataset_get_labels (train);
  gsize offset = 0;
  for (guint l = 1; l < N_SIZES; l++) {
    ref->weight_offset[l] = offset;
    offset += (gsize) layer_sizes[l - 1] * layer_sizes[l];
    ref->bias_offset[l] = offset;
    offset += layer_sizes[l];
  }
  g_assert_cmpuint (offset, ==, n_params);
  ref->n_params = n_params;
  ref->params = g_new (float, n_params);
  ref->velocity = g_new0 (float, n_params);
  ref->grad = g_new0 (float, n_params);
  ref->eta = g_new (float, n_params);
  ref->gamma = g_new (float, n_params);
  ref->l2 = g_new0 (float, n_params);
  for (gsize i = 0; i < n_params; i++) {
    ref->params[i] = initial[i];
    ref->eta[i] = ETA;
    ref->gamma[i] = GAMMA;
  }
  for (guint l = 1; l < N_SIZES; l++)
    for (gsize i = 0; i < (gsize) layer_sizes[l - 1] * layer_sizes[l]; i++)
      ref->l2[ref->weight_offset[l] + i] = L2;
  ref->input = g_new (float, (gsize) batch * ref->dim);
  for (guint l = 1; l < N_SIZES; l++) {
    ref->acts[l] = g_new (float, (gsize) batch * layer_sizes[l]);
    ref->deltas[l] = g_new (float, (gsize) batch * layer_sizes[l]);
  }
  ref->indices = g_new (guint32, batch);
  ref->batch_labels = g_new (gint32, batch);
  return ref;
}

static void
reference_reset (Reference *ref, const double *initial)
{
  for (gsize i = 0; i < ref->n_params; i++) {
    ref->params[i] = initial[i];
    ref->velocity[i] = 0;
  }
}

/* C = op(A)·op(B), row-major: on drmad's own small-matrix kernels with
 * @own where they run (this CPU has AVX-512, or AVX2 and FMA), else on OpenBLAS. */
static void
reference_sgemm (gboolean own, gboolean ta, gboolean tb, guint m, guint n, guint k, const float *a, guint lda,
                 const float *b, guint ldb, float *c, guint ldc)
{
  if (!own || !drmad_small_sgemm (ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc))
    blas->sgemm (CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k,
                 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}

/* One step at (seed, step), its GEMMs on OpenBLAS or (@own) on drmad's
 * own kernels; returns the minibatch's mean loss before the update. */
static double
reference_step (Reference *ref, guint64 seed, guint64 step, gboolean own)
{
  guint batch = ref->batch, dim = ref->dim;
  drmad_sampler_batch (seed, step, batch, ref->n, ref->indices);
  for (guint j = 0; j < batch; j++) {
    memcpy (ref->input + (gsize) j * dim, ref->features + (gsize) ref->indices[j] * dim, dim * sizeof (float));
    ref->batch_labels[j] = ref->labels[ref->indices[j]];
  }

  for (guint l = 1; l < N_SIZES; l++) {
    guint fan_in = layer_sizes[l - 1], fan_out = layer_sizes[l];
    const float *a = l == 1 ? ref->input : ref->acts[l - 1];
    float *z = ref->acts[l];
    reference_sgemm (own, FALSE, FALSE, batch, fan_out, fan_in, a, fan_in, ref->params + ref->weight_offset[l],
                     fan_out, z, fan_out);
    const float *bias = ref->params + ref->bias_offset[l];
    gboolean relu = l < N_LAYERS;
    for (guint r = 0; r < batch; r++)
      for (guint c = 0; c < fan_out; c++) {
        float value = z[(gsize) r * fan_out + c] + bias[c];
        z[(gsize) r * fan_out + c] = relu && value < 0 ? 0 : value;
      }
  }

  /* Softmax cross-entropy, δ_L = (p − Y)/B. */
  guint classes = layer_sizes[N_LAYERS];
  double loss_sum = 0;
  for (guint r = 0; r < batch; r++) {
    const float *z = ref->acts[N_LAYERS] + (gsize) r * classes;
    float *d = ref->deltas[N_LAYERS] + (gsize) r * classes;
    float top = z[0];
    for (guint c = 1; c < classes; c++)
      top = MAX (top, z[c]);
    float sum = 0;
    for (guint c = 0; c < classes; c++)
      sum += expf (z[c] - top);
    float log_sum = logf (sum);
    gint32 label = ref->batch_labels[r];
    loss_sum += log_sum + top - z[label];
    for (guint c = 0; c < classes; c++)
      d[c] = (expf (z[c] - top - log_sum) - (c == (guint) label ? 1.0f : 0.0f)) / batch;
  }

  for (guint l = N_LAYERS; l >= 1; l--) {
    guint fan_in = layer_sizes[l - 1], fan_out = layer_sizes[l];
    const float *a = l == 1 ? ref->input : ref->acts[l - 1];
    const float *delta = ref->deltas[l];
    reference_sgemm (own, TRUE, FALSE, fan_in, fan_out, batch, a, fan_in, delta, fan_out,
                     ref->grad + ref->weight_offset[l], fan_out);
    float *bias_grad = ref->grad + ref->bias_offset[l];
    memset (bias_grad, 0, fan_out * sizeof (float));
    for (guint r = 0; r < batch; r++)
      for (guint c = 0; c < fan_out; c++)
        bias_grad[c] += delta[(gsize) r * fan_out + c];
    if (l == 1)
      break;
    float *previous = ref->deltas[l - 1];
    reference_sgemm (own, FALSE, TRUE, batch, fan_in, fan_out, delta, fan_out, ref->params + ref->weight_offset[l],
                     fan_out, previous, fan_in);
    const float *act = ref->acts[l - 1];
    for (gsize i = 0; i < (gsize) batch * fan_in; i++)
      if (!(act[i] > 0))
        previous[i] = 0;
  }

  /* docs/algorithm.md §1, fused as in the sgd_momentum kernel. */
  float *w = ref->params, *v = ref->velocity, *g = ref->grad;
  for (gsize i = 0; i < ref->n_params; i++) {
    float gi = g[i] + ref->l2[i] * w[i];
    float vi = ref->gamma[i] * v[i] - (1 - ref->gamma[i]) * gi;
    g[i] = gi;
    v[i] = vi;
    w[i] += ref->eta[i] * vi;
  }
  return loss_sum / batch;
}

/* ---------------------------------------------------------------------- */
/* Configurations and timing.                                             */

/* KIND_REFERENCE_OWN: the reference with its GEMMs on drmad's own kernels. */
typedef enum { KIND_HOST, KIND_HOST_LAUNCHES, KIND_CLBLAST, KIND_REFERENCE, KIND_REFERENCE_OWN } Kind;

static const char *
kind_name (Kind kind)
{
  return kind == KIND_HOST ? "device/host" : kind == KIND_HOST_LAUNCHES ? "device/host-launch"
         : kind == KIND_CLBLAST ? "device/clblast" : kind == KIND_REFERENCE ? "reference" : "reference/own";
}

static gboolean
is_reference (Kind kind)
{
  return kind == KIND_REFERENCE || kind == KIND_REFERENCE_OWN;
}

typedef struct {
  Kind          kind;
  guint         batch;
  int           blas_threads;   /* 0: OpenBLAS is not used (CLBlast) */
  DrmadNet     *net;            /* device kinds; shared by the rows of one path and batch */
  DrmadTrainer *trainer;
  Reference    *reference;      /* shared by the reference rows of one batch */
  guint64       next_step;
  double        warmup_ms;
  double       *block_us;       /* per repeat: µs per step */
  double        median_us, min_us, ratio;
} Config;

/* The reference calls OpenBLAS directly with this many threads; the device's
 * host GEMMs use it for their large GEMMs and one thread for the rest. */
static void
set_blas_threads (const Config *config, int default_threads)
{
  int threads = config->blas_threads ? config->blas_threads : default_threads;
  blas->set_num_threads (threads);
  drmad_blas_set_large_threads (threads);
}

/* Runs @n_steps steps of @config; returns the wall time in µs, or a negative number on error. */
static double
run_block (Config *config, guint64 n_steps, DrmadDeviceData *train, GError **error)
{
  gint64 start = g_get_monotonic_time ();
  if (is_reference (config->kind)) {
    for (guint64 s = 0; s < n_steps; s++)
      reference_step (config->reference, DATA_SEED, config->next_step + s, config->kind == KIND_REFERENCE_OWN);
  } else if (!drmad_trainer_run (config->trainer, train, DATA_SEED, config->next_step, n_steps,
                                 NULL, NULL, NULL, error)) {
    return -1;
  }
  gint64 end = g_get_monotonic_time ();
  config->next_step += n_steps;
  return (double) (end - start);
}

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
median (const double *values, guint n)
{
  g_autofree double *sorted = g_memdup2 (values, n * sizeof *values);
  qsort (sorted, n, sizeof *sorted, compare_doubles);
  return n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
}

/* Fashion-MNIST's first N_TRAIN examples of a seeded split, else random data of that shape. */
static DrmadDataset *
load_train (char **description, GError **error)
{
  DrmadDataset *pool = NULL, *test = NULL;
  g_autoptr (GError) open_error = NULL;
  if (drmad_dataset_open ("fashion-mnist", NULL, &pool, &test, &open_error)) {
    g_autoptr (DrmadSplit) split = drmad_dataset_split (pool, test, DATA_SEED, N_TRAIN, 1000, 1000, error);
    drmad_dataset_free (pool);
    drmad_dataset_free (test);
    if (!split)
      return NULL;
    *description = g_strdup_printf ("fashion-mnist, %u training examples (standardised split)", N_TRAIN);
    return g_steal_pointer (&split->train);
  }
  guint dim = layer_sizes[0], classes = layer_sizes[N_LAYERS];
  g_autofree float *features = g_new (float, (gsize) N_TRAIN * dim);
  g_autofree gint32 *labels = g_new (gint32, N_TRAIN);
  g_autoptr (GRand) rand = g_rand_new_with_seed (DATA_SEED);
  for (gsize i = 0; i < (gsize) N_TRAIN * dim; i++)
    features[i] = g_rand_double_range (rand, -1.7, 1.7);
  for (guint i = 0; i < N_TRAIN; i++)
    labels[i] = g_rand_int_range (rand, 0, classes);
  *description = g_strdup_printf ("random data, %u x %u, %u classes (fashion-mnist: %s)",
                                  N_TRAIN, dim, classes, open_error->message);
  return drmad_dataset_new_from_arrays (N_TRAIN, dim, classes, features, labels, error);
}

/* Max |device loss − reference loss| over the first CHECK_STEPS steps from the same start. */
static gboolean
check_losses (DrmadNet *net, DrmadTrainer *trainer, DrmadDeviceData *train, Reference *ref,
              const double *initial, double *max_difference, double *first_loss, GError **error)
{
  if (!drmad_net_set_params (net, initial, error) || !drmad_trainer_reset_velocity (trainer, error))
    return FALSE;
  reference_reset (ref, initial);
  *max_difference = 0;
  for (guint64 step = 0; step < CHECK_STEPS; step++) {
    double device_loss;
    if (!drmad_trainer_run (trainer, train, DATA_SEED, step, 1, NULL, NULL, &device_loss, error))
      return FALSE;
    double reference_loss = reference_step (ref, DATA_SEED, step, FALSE);
    if (step == 0)
      *first_loss = reference_loss;
    *max_difference = MAX (*max_difference, fabs (device_loss - reference_loss));
  }
  return TRUE;
}


typedef struct {
  DrmadDevice     *device;
  DrmadDataset    *train_set;
  DrmadDeviceData *train;
  int              default_threads;  /* what drmad_device_open chose for large GEMMs */
  gboolean         has_host_path;
  gboolean         own_kernels;      /* drmad's own small-matrix kernels run (the CPU, DRMAD_SMALL_GEMM) */
  GPtrArray       *nets, *trainers, *references;
  GArray          *configs;
  double          *initial[G_N_ELEMENTS (batch_sizes)];  /* the start both sides share */
  double           best_reference[G_N_ELEMENTS (batch_sizes)];
} Bench;

static void
config_clear (Config *config)
{
  g_clear_pointer (&config->block_us, g_free);
}

static void
bench_free (Bench *bench)
{
  if (bench->configs)
    g_array_unref (bench->configs);
  if (bench->trainers)
    g_ptr_array_unref (bench->trainers);
  if (bench->nets)
    g_ptr_array_unref (bench->nets);
  if (bench->references)
    g_ptr_array_unref (bench->references);
  for (guint b = 0; b < G_N_ELEMENTS (batch_sizes); b++)
    g_free (bench->initial[b]);
  drmad_device_data_free (bench->train);
  drmad_dataset_free (bench->train_set);
  if (bench->device)
    drmad_device_unref (bench->device);
  g_free (bench);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Bench, bench_free)

static gboolean
add_device_configs (Bench *bench, guint b, Kind kind, GError **error)
{
  guint batch = batch_sizes[b];
  if (!drmad_device_set_gemm_path (bench->device, kind == KIND_CLBLAST ? DRMAD_GEMM_CLBLAST : DRMAD_GEMM_HOST, error))
    return FALSE;
  /* device/host-launch: host GEMMs with a kernel launch per stage, as before
   * the fused host step (lib/net-host.c), for the ratio between the two. */
  if (kind == KIND_HOST_LAUNCHES)
    g_setenv ("DRMAD_HOST_STEP", "0", TRUE);
  DrmadNet *net = drmad_net_new (bench->device, layer_sizes, N_SIZES, DRMAD_ACTIVATION_RELU,
                                 DRMAD_PRECISION_FLOAT32, batch, error);
  if (kind == KIND_HOST_LAUNCHES)
    g_unsetenv ("DRMAD_HOST_STEP");
  if (!net)
    return FALSE;
  g_ptr_array_add (bench->nets, net);
  DrmadTrainer *trainer = drmad_trainer_new (net, error);
  if (!trainer)
    return FALSE;
  g_ptr_array_add (bench->trainers, trainer);
  if (!drmad_net_init_params (net, INIT_SEED, NULL, error)
      || !drmad_trainer_set_uniform (trainer, ETA, GAMMA, L2, error))
    return FALSE;
  if (!bench->initial[b]) {
    bench->initial[b] = g_new (double, drmad_net_get_n_params (net));
    if (!drmad_net_get_params (net, bench->initial[b], error))
      return FALSE;
  }
  Config config = { .kind = kind, .batch = batch, .net = net, .trainer = trainer };
  if (kind == KIND_CLBLAST || kind == KIND_HOST_LAUNCHES) {
    config.blas_threads = kind == KIND_HOST_LAUNCHES ? blas_thread_counts[0] : 0;
    g_array_append_val (bench->configs, config);
    return TRUE;
  }
  for (guint t = 0; t < G_N_ELEMENTS (blas_thread_counts); t++) {
    config.blas_threads = blas_thread_counts[t];
    g_array_append_val (bench->configs, config);
  }
  return TRUE;
}

static Bench *
bench_new (const char *device_spec, char **data_description, GError **error)
{
  g_autoptr (Bench) bench = g_new0 (Bench, 1);
  if (!(bench->device = drmad_device_open (device_spec, error)))
    return NULL;
  bench->default_threads = drmad_blas_get_large_threads ();
  bench->has_host_path = drmad_device_get_info (bench->device)->native_kernels;
  bench->own_kernels = drmad_host_step_gemm_kernels () != NULL;   /* as the device's host step has them */
  if (!(bench->train_set = load_train (data_description, error))
      || !(bench->train = drmad_device_data_new (bench->device, DRMAD_PRECISION_FLOAT32, bench->train_set, error)))
    return NULL;

  bench->nets = g_ptr_array_new_with_free_func ((GDestroyNotify) drmad_net_free);
  bench->trainers = g_ptr_array_new_with_free_func ((GDestroyNotify) drmad_trainer_free);
  bench->references = g_ptr_array_new_with_free_func ((GDestroyNotify) reference_free);
  bench->configs = g_array_new (FALSE, TRUE, sizeof (Config));
  g_array_set_clear_func (bench->configs, (GDestroyNotify) config_clear);
  DrmadGemmPath original_path = drmad_device_get_gemm_path (bench->device);
  for (guint b = 0; b < G_N_ELEMENTS (batch_sizes); b++) {
    if ((bench->has_host_path && (!add_device_configs (bench, b, KIND_HOST, error)
                                  || !add_device_configs (bench, b, KIND_HOST_LAUNCHES, error)))
        || !add_device_configs (bench, b, KIND_CLBLAST, error))
      return NULL;
    Reference *ref = reference_new (bench->train_set, batch_sizes[b], bench->initial[b],
                                    drmad_net_get_n_params (bench->nets->pdata[bench->nets->len - 1]));
    g_ptr_array_add (bench->references, ref);
    for (guint t = 0; t < G_N_ELEMENTS (blas_thread_counts); t++)
      g_array_append_val (bench->configs, ((Config) { .kind = KIND_REFERENCE, .batch = batch_sizes[b],
                                                      .reference = ref, .blas_threads = blas_thread_counts[t] }));
    if (bench->own_kernels)   /* one thread: the kernels' own (OpenBLAS's for the shapes they leave) */
      g_array_append_val (bench->configs, ((Config) { .kind = KIND_REFERENCE_OWN, .batch = batch_sizes[b],
                                                      .reference = ref, .blas_threads = blas_thread_counts[0] }));
  }
  if (!drmad_device_set_gemm_path (bench->device, original_path, error))
    return NULL;
  return g_steal_pointer (&bench);
}

static guint
batch_index (guint batch)
{
  for (guint b = 0; b < G_N_ELEMENTS (batch_sizes); b++)
    if (batch_sizes[b] == batch)
      return b;
  g_assert_not_reached ();
}

/* After a block on more than one OpenBLAS thread, OpenBLAS's other threads
 * spin for work for 2^28 TSC cycles (its default THREAD_TIMEOUT: 90–270 ms
 * at 1–3 GHz) before they sleep; a block of the host team timed meanwhile
 * shares the cores with them and took 3–6× as long on the 2-core Zen 5
 * (821–948 µs a step against 137–146 with OPENBLAS_THREAD_TIMEOUT=4:
 * docs/benchmarks.md). So the next block waits for them to sleep. */
#define OPENBLAS_SPIN_US 300000

static void
after_block (const Config *config)
{
  if (config->blas_threads > 1)
    g_usleep (OPENBLAS_SPIN_US);
}

/* Warm-up, then @repeats rounds in which every configuration runs one block
 * of @steps steps: interleaving spreads any drift of the machine over all rows. */
static gboolean
bench_time (Bench *bench, guint repeats, guint steps, GError **error)
{
  for (guint i = 0; i < bench->configs->len; i++) {
    Config *config = &g_array_index (bench->configs, Config, i);
    set_blas_threads (config, bench->default_threads);
    double us = run_block (config, WARMUP_STEPS, bench->train, error);
    after_block (config);
    if (us < 0)
      return FALSE;
    config->warmup_ms = us / 1000;
    config->block_us = g_new (double, repeats);
  }
  for (guint r = 0; r < repeats; r++)
    for (guint i = 0; i < bench->configs->len; i++) {
      Config *config = &g_array_index (bench->configs, Config, i);
      set_blas_threads (config, bench->default_threads);
      double us = run_block (config, steps, bench->train, error);
      after_block (config);
      if (us < 0)
        return FALSE;
      config->block_us[r] = us / steps;
    }
  set_blas_threads (&(Config) { 0 }, bench->default_threads);

  for (guint b = 0; b < G_N_ELEMENTS (batch_sizes); b++)
    bench->best_reference[b] = G_MAXDOUBLE;
  for (guint i = 0; i < bench->configs->len; i++) {
    Config *config = &g_array_index (bench->configs, Config, i);
    config->median_us = median (config->block_us, repeats);
    config->min_us = config->block_us[0];
    for (guint r = 1; r < repeats; r++)
      config->min_us = MIN (config->min_us, config->block_us[r]);
    guint b = batch_index (config->batch);
    if (is_reference (config->kind))
      bench->best_reference[b] = MIN (bench->best_reference[b], config->median_us);
  }
  /* Ratios are to the faster reference of the same batch: the best plain C does here. */
  for (guint i = 0; i < bench->configs->len; i++) {
    Config *config = &g_array_index (bench->configs, Config, i);
    config->ratio = config->median_us / bench->best_reference[batch_index (config->batch)];
  }
  return TRUE;
}

static char *
threads_text (const Config *config)
{
  return config->blas_threads ? g_strdup_printf ("%d", config->blas_threads) : g_strdup ("-");
}

static gboolean
write_csv (Bench *bench, const char *path, GError **error)
{
  GString *text = g_string_new ("batch,path,blas_threads,median_us_per_step,min_us_per_step,"
                                "ratio_to_best_reference,warmup_ms\n");
  for (guint i = 0; i < bench->configs->len; i++) {
    Config *config = &g_array_index (bench->configs, Config, i);
    g_autofree char *threads = threads_text (config);
    g_string_append_printf (text, "%u,%s,%s,%.1f,%.1f,%.3f,%.1f\n", config->batch, kind_name (config->kind),
                            threads, config->median_us, config->min_us, config->ratio, config->warmup_ms);
  }
  gboolean ok = g_file_set_contents (path, text->str, text->len, error);
  g_string_free (text, TRUE);
  return ok;
}

static void
print_table (Bench *bench)
{
  g_print ("%5s  %-15s %7s  %14s  %10s  %6s  %10s\n", "batch", "path", "threads", "median us/step",
           "min us", "x ref", "warm-up ms");
  for (guint i = 0; i < bench->configs->len; i++) {
    Config *config = &g_array_index (bench->configs, Config, i);
    g_autofree char *threads = threads_text (config);
    g_print ("%5u  %-15s %7s  %14.0f  %10.0f  %6.2f  %10.1f\n", config->batch, kind_name (config->kind),
             threads, config->median_us, config->min_us, config->ratio, config->warmup_ms);
  }
  g_print ("x ref: median over the faster reference row of the same batch. threads: OpenBLAS threads\n"
           "('-': OpenBLAS unused). warm-up: the first %d steps, kernel compilation included.\n\n", WARMUP_STEPS);
}

static const Config *
find_config (Bench *bench, guint batch, Kind kind, int blas_threads)
{
  for (guint i = 0; i < bench->configs->len; i++) {
    const Config *config = &g_array_index (bench->configs, Config, i);
    if (config->batch == batch && config->kind == kind && config->blas_threads == blas_threads)
      return config;
  }
  return NULL;
}

static void
print_verdicts (Bench *bench)
{
  int threads = bench->default_threads;
  for (guint b = 0; b < G_N_ELEMENTS (batch_sizes); b++) {
    const Config *config = bench->has_host_path ? find_config (bench, batch_sizes[b], KIND_HOST, threads)
                                                : find_config (bench, batch_sizes[b], KIND_CLBLAST, 0);
    if (!config) {
      g_print ("target, batch %u: the library's default (%d OpenBLAS threads) was not measured\n",
               batch_sizes[b], threads);
      continue;
    }
    g_print ("target CPU-device step <= %.1fx reference, batch %u: %s (library default) %.0f us vs %.0f us"
             " = %.2fx - %s\n", TARGET_RATIO, batch_sizes[b], kind_name (config->kind), config->median_us,
             bench->best_reference[b], config->ratio, config->ratio <= TARGET_RATIO ? "met" : "MISSED");
  }
  if (!bench->has_host_path)
    return;
  for (guint b = 0; b < G_N_ELEMENTS (batch_sizes); b++) {
    int one = blas_thread_counts[0], two = blas_thread_counts[1];
    const Config *host_one = find_config (bench, batch_sizes[b], KIND_HOST, one);
    const Config *host_two = find_config (bench, batch_sizes[b], KIND_HOST, two);
    const Config *ref_one = find_config (bench, batch_sizes[b], KIND_REFERENCE, one);
    const Config *ref_two = find_config (bench, batch_sizes[b], KIND_REFERENCE, two);
    g_print ("OpenBLAS %d -> %d threads, batch %u: device/host time x %.2f, reference time x %.2f"
             " (< 1: more threads faster)\n", one, two, batch_sizes[b],
             host_two->median_us / host_one->median_us, ref_two->median_us / ref_one->median_us);
    const Config *launches = find_config (bench, batch_sizes[b], KIND_HOST_LAUNCHES, one);
    g_print ("fused host step (device/host) vs a launch per stage (device/host-launch), batch %u, %d thread: "
             "%.0f us vs %.0f us = %.2fx\n", batch_sizes[b], one, host_one->median_us, launches->median_us,
             host_one->median_us / launches->median_us);
  }
}

/* Correctness, cheaply: the same start, the same minibatches, the first few losses. */
static gboolean
bench_check_losses (Bench *bench, GError **error)
{
  g_print ("\nloss check, first %d steps from the same weights (want |device - reference| <= %g):\n",
           CHECK_STEPS, CHECK_TOLERANCE);
  set_blas_threads (&(Config) { 0 }, bench->default_threads);
  for (guint i = 0; i < bench->configs->len; i++) {
    Config *config = &g_array_index (bench->configs, Config, i);
    if (is_reference (config->kind) || (config->kind == KIND_HOST && config->blas_threads != blas_thread_counts[0]))
      continue;
    guint b = batch_index (config->batch);
    double difference, first_loss;
    if (!check_losses (config->net, config->trainer, bench->train, bench->references->pdata[b],
                       bench->initial[b], &difference, &first_loss, error))
      return FALSE;
    g_print ("  batch %3u  %-15s max |dloss| = %.1e (step-0 loss %.4f) - %s\n", config->batch,
             kind_name (config->kind), difference, first_loss, difference <= CHECK_TOLERANCE ? "ok" : "DIFFERS");
  }
  for (guint b = 0; bench->own_kernels && b < G_N_ELEMENTS (batch_sizes); b++) {
    /* reference/own against reference: the same steps, the GEMMs on the other kernels */
    Reference *ref = bench->references->pdata[b];
    double losses[CHECK_STEPS], difference = 0;
    for (guint own = 0; own < 2; own++) {
      reference_reset (ref, bench->initial[b]);
      for (guint64 step = 0; step < CHECK_STEPS; step++) {
        double loss = reference_step (ref, DATA_SEED, step, own);
        if (own)
          difference = MAX (difference, fabs (loss - losses[step]));
        else
          losses[step] = loss;
      }
    }
    g_print ("  batch %3u  %-15s max |dloss| = %.1e (step-0 loss %.4f) - %s\n", batch_sizes[b],
             kind_name (KIND_REFERENCE_OWN), difference, losses[0], difference <= CHECK_TOLERANCE ? "ok" : "DIFFERS");
  }
  return TRUE;
}

int
main (int argc, char **argv)
{
  drmad_prepare_environment ();  /* before any thread or OpenCL call */
  gint repeats = 9, steps = 64;
  g_autofree char *csv_path = NULL;
  g_autofree char *device_spec = NULL;
  GOptionEntry entries[] = {
    { "repeats", 'r', 0, G_OPTION_ARG_INT, &repeats, "Timed blocks per configuration (default 9)", "N" },
    { "steps", 's', 0, G_OPTION_ARG_INT, &steps, "Steps per timed block (default 64)", "N" },
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv_path, "Also write the table as CSV to FILE", "FILE" },
    { "device", 'd', 0, G_OPTION_ARG_STRING, &device_spec, "OpenCL device: index or part of its name", "SPEC" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- time one MLP training step per GEMM path");
  g_option_context_set_description (context, "Run as POCL_CACHE_DIR=build/pocl-cache ./build/bench/bench-step\n"
                                             "so that PoCL reuses compiled kernels.");
  g_option_context_add_main_entries (context, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    g_printerr ("bench-step: %s\n", error->message);
    return 2;
  }
  if (repeats < 1 || steps < 1) {
    g_printerr ("bench-step: --repeats and --steps must be at least 1\n");
    return 2;
  }

  const DrmadBlasInfo *blas_info = drmad_blas_get_info (&error);
  if (!blas_info || !(blas = drmad_openblas (&error))) {
    g_printerr ("bench-step: %s\n", error->message);
    return 1;
  }
  g_autofree char *data_description = NULL;
  g_autoptr (Bench) bench = bench_new (device_spec, &data_description, &error);
  if (!bench) {
    g_printerr ("bench-step: %s\n", error->message);
    return 1;
  }
  const DrmadDeviceInfo *info = drmad_device_get_info (bench->device);
  const char *blas_env = g_getenv ("DRMAD_BLAS_THREADS"), *cache = g_getenv ("POCL_CACHE_DIR");
  g_print ("bench-step: one SGD-momentum training step, MLP 784-100-100-10 ReLU float32, batches 100 and 256\n");
  g_print ("device:   %s: %s (%s, %u compute units, native kernels: %s)\n", info->platform_name, info->name,
           info->type, info->compute_units, info->native_kernels ? "yes" : "no");
  g_autofree char *blas_line = drmad_blas_info_describe (blas_info);
  g_print ("BLAS:     %s\n", blas_line);
  if (blas_info->warning)
    g_print ("warning:  %s\n", blas_info->warning);
  g_print ("OpenBLAS: %s, %d cores; library default %d thread%s (DRMAD_BLAS_THREADS=%s)\n",
           blas->get_config (), blas->get_num_procs (), bench->default_threads,
           bench->default_threads == 1 ? "" : "s", blas_env ? blas_env : "unset");
  g_print ("data:     %s\n", data_description);
  g_print ("timing:   median of %d interleaved blocks of %d steps per row; POCL_CACHE_DIR=%s\n\n",
           repeats, steps, cache ? cache : "unset");

  if (!bench_time (bench, repeats, steps, &error)) {
    g_printerr ("bench-step: %s\n", error->message);
    return 1;
  }
  print_table (bench);
  print_verdicts (bench);
  if (csv_path && !write_csv (bench, csv_path, &error)) {
    g_printerr ("bench-step: %s\n", error->message);
    return 1;
  }
  if (!bench_check_losses (bench, &error)) {
    g_printerr ("bench-step: %s\n", error->message);
    return 1;
  }
  return 0;
}
