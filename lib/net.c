/* MLP forward, gradient and evaluation on the device (docs/algorithm.md §3). */
#include "net-private.h"
#include "dataset-private.h"
#include "enum-names.h"
#include "drmad-sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EVAL_CHUNK_ROWS 1024
#define LOCAL_1D 64
#define CPU_MIN_CHUNK 2048
#define CPU_ITEMS_PER_UNIT 4

static const char *const activation_names[] = { "relu", "tanh", "softsign" };   /* DrmadActivation order */
DRMAD_DEFINE_ENUM_NAMES (DrmadActivation, drmad_activation_name, drmad_activation_from_name, activation_names,
                         "activation")

/* @n reals of @values (float32) into @buffer in its precision, a chunk at a time. */
static gboolean
write_reals (DrmadBuffer *buffer, gsize offset, const float *values, gsize n, GError **error)
{
  if (buffer->elem_size == sizeof (float))
    return drmad_buffer_write (buffer, offset * sizeof (float), n * sizeof (float), values, error);
  double wide[1024];
  for (gsize done = 0; done < n; done += G_N_ELEMENTS (wide)) {
    gsize count = MIN (G_N_ELEMENTS (wide), n - done);
    for (gsize i = 0; i < count; i++)
      wide[i] = values[done + i];
    if (!drmad_buffer_write (buffer, (offset + done) * sizeof (double), count * sizeof (double), wide, error))
      return FALSE;
  }
  return TRUE;
}

/* A dataset with bytes (a loader's, or a split of one) goes as its bytes and
 * its standardisation (4× less memory than reals, drmad-dataset.h); one made
 * from floats goes as reals, a block of rows at a time so that no second
 * full copy is made on the host. */
DrmadDeviceData *
drmad_device_data_new (DrmadDevice *device, DrmadPrecision precision, const DrmadDataset *dataset,
                       GError **error)
{
  if (!drmad_precision_check (precision, error))
    return NULL;
  guint n = drmad_dataset_get_n (dataset), dim = drmad_dataset_get_dim (dataset);
  gsize elem = drmad_precision_size (precision);
  gboolean bytes = dataset->bytes != NULL;
  guint64 feature_bytes = bytes ? (guint64) n * dim + (guint64) dim * 2 * sizeof (float) : (guint64) n * dim * elem;
  g_autofree char *what = g_strdup_printf ("the dataset %s (%u examples of %u features)",
                                           drmad_dataset_get_source (dataset), n, dim);
  if (!drmad_device_check_room (device, feature_bytes + (guint64) n * 4,
                                bytes ? (guint64) n * dim : (guint64) n * dim * elem,
                                what, "use fewer examples", error))
    return NULL;
  g_autoptr (DrmadBuffer) features = NULL, byte_buffer = NULL, scale = NULL, offset = NULL;
  g_autoptr (DrmadBuffer) labels = drmad_buffer_new (device, n, sizeof (gint32), error);
  if (!labels || !drmad_buffer_write (labels, 0, n * sizeof (gint32), drmad_dataset_get_labels (dataset), error))
    return NULL;
  if (bytes) {
    g_autofree float *coefficients = g_new (float, 2 * (gsize) dim);
    gboolean standardised = drmad_dataset_byte_coefficients (dataset, coefficients, coefficients + dim);
    if (!(byte_buffer = drmad_buffer_new (device, (gsize) n * dim, 1, error))
        || !drmad_buffer_write (byte_buffer, 0, (gsize) n * dim, dataset->bytes, error))
      return NULL;
    if (standardised
        && (!(scale = drmad_buffer_new (device, dim, sizeof (float), error))
            || !drmad_buffer_write (scale, 0, dim * sizeof (float), coefficients, error)
            || !(offset = drmad_buffer_new (device, dim, sizeof (float), error))
            || !drmad_buffer_write (offset, 0, dim * sizeof (float), coefficients + dim, error)))
      return NULL;
  } else {
    if (!(features = drmad_buffer_new (device, (gsize) n * dim, elem, error)))
      return NULL;
    guint block = MAX (1u, 65536 / MAX (dim, 1u));
    g_autofree float *rows = g_new (float, (gsize) block * dim);
    for (guint first = 0; first < n; first += block) {
      guint count = MIN (block, n - first);
      drmad_dataset_copy_rows (dataset, first, count, rows);
      if (!write_reals (features, (gsize) first * dim, rows, (gsize) count * dim, error))
        return NULL;
    }
  }

  DrmadDeviceData *data = g_new0 (DrmadDeviceData, 1);
  data->device = drmad_device_ref (device);
  data->precision = precision;
  data->n = n;
  data->dim = dim;
  data->n_classes = drmad_dataset_get_n_classes (dataset);
  data->features = g_steal_pointer (&features);
  data->bytes = g_steal_pointer (&byte_buffer);
  data->scale = g_steal_pointer (&scale);
  data->offset = g_steal_pointer (&offset);
  data->labels = g_steal_pointer (&labels);
  return data;
}

void
drmad_device_data_free (DrmadDeviceData *data)
{
  if (!data)
    return;
  drmad_buffer_free (data->features);
  drmad_buffer_free (data->bytes);
  drmad_buffer_free (data->scale);
  drmad_buffer_free (data->offset);
  drmad_buffer_free (data->labels);
  drmad_device_unref (data->device);
  g_free (data);
}

guint
drmad_device_data_get_n (const DrmadDeviceData *data)
{
  return data->n;
}

void
drmad_net_free (DrmadNet *net)
{
  if (!net)
    return;
  cl_kernel kernels[] = { net->k_sample_batch, net->k_gather_rows, net->k_bias_act, net->k_softmax_xent,
                          net->k_act_backward, net->k_column_sums, net->k_accumulate, net->k_sgd_momentum,
                          net->k_r_bias_act, net->k_r_softmax, net->k_r_act_backward, net->k_gather_bytes };
  for (guint i = 0; i < G_N_ELEMENTS (kernels); i++)
    if (kernels[i])
      clReleaseKernel (kernels[i]);
  drmad_buffer_free (net->params);
  drmad_buffer_free (net->grad);
  drmad_buffer_free (net->input);
  for (guint l = 0; l <= net->n_layers; l++) {
    drmad_buffer_free (net->acts[l]);
    drmad_buffer_free (net->deltas[l]);
    drmad_buffer_free (net->pre_deltas[l]);
    drmad_buffer_free (net->r_z[l]);
    drmad_buffer_free (net->r_a[l]);
    drmad_buffer_free (net->r_deltas[l]);
  }
  drmad_buffer_free (net->indices);
  g_free (net->next_indices);
  g_free (net->init_draws);
  drmad_buffer_free (net->batch_labels);
  drmad_buffer_free (net->row_loss);
  drmad_buffer_free (net->row_wrong);
  drmad_buffer_free (net->acc);
  drmad_device_unref (net->device);
  g_mutex_clear (&net->step_lock);
  g_cond_clear (&net->copy_made);
  g_free (net);
}

DrmadNet *
drmad_net_new (DrmadDevice *device, const guint *sizes, guint n_sizes, DrmadActivation activation,
               DrmadPrecision precision, guint batch, GError **error)
{
  if (n_sizes < 2 || n_sizes > DRMAD_MAX_LAYERS + 1) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "a net needs between 2 and %d layer sizes (input … classes), got %u",
                 DRMAD_MAX_LAYERS + 1, n_sizes);
    return NULL;
  }
  for (guint i = 0; i < n_sizes; i++)
    if (sizes[i] == 0 || sizes[i] > (1u << 24)) {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                   "layer %u has width %u: expected 1 to %u", i, sizes[i], 1u << 24);
      return NULL;
    }
  if (sizes[n_sizes - 1] < 2) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "the last layer is the number of classes and must be at least 2, got %u",
                 sizes[n_sizes - 1]);
    return NULL;
  }
  if (batch == 0 || batch > (1u << 20)) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "batch size %u: expected 1 to %u", batch, 1u << 20);
    return NULL;
  }
  if ((guint) activation > DRMAD_ACTIVATION_SOFTSIGN) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "activation %d: expected a DrmadActivation, 0 to %d (relu, tanh or softsign)",
                 (int) activation, DRMAD_ACTIVATION_SOFTSIGN);
    return NULL;
  }
  if (!drmad_precision_check (precision, error))
    return NULL;
  if (precision == DRMAD_PRECISION_FLOAT64 && !device->info.fp64) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_UNSUPPORTED,
                 "%s has no cl_khr_fp64: use float32", device->info.name);
    return NULL;
  }

  g_autoptr (DrmadNet) net = g_new0 (DrmadNet, 1);
  g_mutex_init (&net->step_lock);
  g_cond_init (&net->copy_made);
  net->device = drmad_device_ref (device);
  net->precision = precision;
  net->activation = activation;
  net->gemm_path = device->gemm_path;
  net->cpu_chunk = g_strcmp0 (device->info.type, "CPU") == 0 ? CPU_MIN_CHUNK : 0;
  net->host_fused = net->gemm_path == DRMAD_GEMM_HOST && g_strcmp0 (g_getenv ("DRMAD_HOST_STEP"), "0") != 0;
#ifdef DRMAD_TEST_HOOKS
  const char *chunk = g_getenv ("DRMAD_KERNEL_CHUNK");  /* test hook: 0 = GPU geometry */
  if (chunk)
    net->cpu_chunk = strtoul (chunk, NULL, 10);
#endif
  net->n_layers = n_sizes - 1;
  net->batch = batch;
  net->rows_capacity = MAX (batch, EVAL_CHUNK_ROWS);
  memcpy (net->sizes, sizes, n_sizes * sizeof *sizes);
  gsize offset = 0;
  for (guint l = 1; l <= net->n_layers; l++) {
    net->weight_offset[l] = offset;
    offset += (gsize) sizes[l - 1] * sizes[l];
    net->bias_offset[l] = offset;
    offset += sizes[l];
  }
  net->n_params = offset;
  if (net->n_params > G_MAXUINT32) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE,
                 "the net has %" G_GSIZE_FORMAT " parameters; at most %u are supported",
                 net->n_params, G_MAXUINT32);
    return NULL;
  }

  gsize elem = drmad_precision_size (precision);
  guint rows = net->rows_capacity;
  guint64 cells = 2 * (guint64) net->n_params + (guint64) batch * sizes[0] + 2 * (guint64) rows + 4;
  guint64 largest = MAX (net->n_params, (guint64) batch * sizes[0]);
  for (guint l = 1; l <= net->n_layers; l++) {
    cells += (guint64) rows * sizes[l] + 5 * (guint64) batch * sizes[l];
    largest = MAX (largest, (guint64) rows * sizes[l]);
  }
  g_autofree char *what = g_strdup_printf ("a net of %" G_GSIZE_FORMAT " parameters at batch %u", net->n_params, batch);
  if (!drmad_device_check_room (device, cells * elem + 8 * (guint64) batch, largest * elem, what,
                                "use narrower layers or a smaller batch", error))
    return NULL;
  if (!(net->params = drmad_buffer_new (device, net->n_params, elem, error))
      || !(net->grad = drmad_buffer_new (device, net->n_params, elem, error))
      || !(net->input = drmad_buffer_new (device, (gsize) batch * sizes[0], elem, error))
      || !(net->indices = drmad_buffer_new (device, batch, sizeof (guint32), error))
      || !(net->batch_labels = drmad_buffer_new (device, batch, sizeof (gint32), error))
      || !(net->row_loss = drmad_buffer_new (device, rows, elem, error))
      || !(net->row_wrong = drmad_buffer_new (device, rows, elem, error))
      || !(net->acc = drmad_buffer_new (device, 4, elem, error)))
    return NULL;
  net->next_indices = g_new (guint32, 2 * (gsize) batch);
  for (guint l = 1; l <= net->n_layers; l++) {
    gsize batch_cells = (gsize) batch * sizes[l];
    if (!(net->acts[l] = drmad_buffer_new (device, (gsize) rows * sizes[l], elem, error))
        || !(net->deltas[l] = drmad_buffer_new (device, batch_cells, elem, error))
        || !(net->pre_deltas[l] = drmad_buffer_new (device, batch_cells, elem, error))
        || !(net->r_z[l] = drmad_buffer_new (device, batch_cells, elem, error))
        || !(net->r_a[l] = drmad_buffer_new (device, batch_cells, elem, error))
        || !(net->r_deltas[l] = drmad_buffer_new (device, batch_cells, elem, error)))
      return NULL;
  }

  struct { cl_kernel *slot; const char *name; } kernels[] = {
    { &net->k_sample_batch, "sample_batch" }, { &net->k_gather_rows, "gather_rows" },
    { &net->k_bias_act, "bias_act" }, { &net->k_softmax_xent, "softmax_xent" },
    { &net->k_act_backward, "act_backward" }, { &net->k_column_sums, "column_sums" },
    { &net->k_accumulate, "accumulate" }, { &net->k_sgd_momentum, "sgd_momentum" },
    { &net->k_r_bias_act, "r_bias_act" }, { &net->k_r_softmax, "r_softmax" },
    { &net->k_r_act_backward, "r_act_backward" }, { &net->k_gather_bytes, "gather_bytes" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (kernels); i++)
    if (!(*kernels[i].slot = drmad_device_create_kernel (device, precision, kernels[i].name, error)))
      return NULL;
  if (!drmad_buffer_zero (net->params, error) || !drmad_buffer_zero (net->acc, error))
    return NULL;
  return g_steal_pointer (&net);
}

guint drmad_net_get_n_layers (const DrmadNet *net) { return net->n_layers; }
gsize drmad_net_get_n_params (const DrmadNet *net) { return net->n_params; }
guint drmad_net_get_batch (const DrmadNet *net) { return net->batch; }
DrmadPrecision drmad_net_get_precision (const DrmadNet *net) { return net->precision; }
DrmadDevice *drmad_net_get_device (const DrmadNet *net) { return net->device; }

guint
drmad_net_get_size (const DrmadNet *net, guint index)
{
  g_return_val_if_fail (index <= net->n_layers, 0);
  return net->sizes[index];
}

void
drmad_net_get_layer_span (const DrmadNet *net, guint layer, gsize *weight_offset, gsize *n_weights,
                          gsize *bias_offset)
{
  g_return_if_fail (layer >= 1 && layer <= net->n_layers);
  if (weight_offset)
    *weight_offset = net->weight_offset[layer];
  if (n_weights)
    *n_weights = (gsize) net->sizes[layer - 1] * net->sizes[layer];
  if (bias_offset)
    *bias_offset = net->bias_offset[layer];
}

static gboolean
drmad_net_set_params_unguarded (DrmadNet *net, const double *params, GError **error)
{
  return drmad_buffer_write_doubles (net->params, 0, net->n_params, params, error);
}

gboolean
drmad_net_set_params (DrmadNet *net, const double *params, GError **error)
{
  /* NaN or Inf (or, in float32, a value it rounds to Inf) would only surface
   * as a NaN loss at the next evaluation. */
  const double largest = net->precision == DRMAD_PRECISION_FLOAT32 ? G_MAXFLOAT : G_MAXDOUBLE;
  for (gsize i = 0; i < net->n_params; i++)
    if (!(fabs (params[i]) <= largest)) {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                   "parameter %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " is %g: parameters must be finite numbers%s",
                   i + 1, net->n_params, params[i],
                   isfinite (params[i]) ? " (beyond float32's range, the net's precision)" : "");
      return FALSE;
    }
  if (!drmad_net_enter (net, "drmad_net_set_params()", error))
    return FALSE;
  gboolean result = drmad_net_set_params_unguarded (net, params, error);
  drmad_net_leave (net);
  return result;
}

gboolean
drmad_net_get_params (DrmadNet *net, double *params, GError **error)
{
  /* Another thread may read while the owner trains (drmad.h, "Threads"):
   * a queued read waits for the steps queued before it, but a step on the
   * owner's thread (DRMAD_HOST_DIRECT) would write the parameters while
   * the copy is taken. Those steps leave them in host memory, read there:
   * through the device's queue the copy waited for other nets' work on a
   * shared device, and the owner's next step for the copy
   * (/train/params-read-beside-queued-work). */
  g_atomic_int_inc (&net->copies_asked);
  g_mutex_lock (&net->step_lock);
  g_atomic_int_add (&net->copies_asked, -1);
  gboolean read = TRUE;
  if (net->host_direct && net->params->elem_size == sizeof (double))
    memcpy (params, net->params->host, net->n_params * sizeof (double));
  else if (net->host_direct)
    for (gsize i = 0; i < net->n_params; i++)
      params[i] = ((const float *) net->params->host)[i];
  else
    read = drmad_buffer_read_doubles (net->params, 0, net->n_params, params, error);
  net->copies_made++;
  g_cond_broadcast (&net->copy_made);
  g_mutex_unlock (&net->step_lock);
  return read;
}

static gboolean
drmad_net_init_params_unguarded (DrmadNet *net, guint64 seed, const double *scales, GError **error)
{
  for (guint l = 1; scales && l <= net->n_layers; l++)
    if (!(scales[l - 1] >= 0) || !isfinite (scales[l - 1])) {   /* a negative scale too, as DrmadHyperConfig refuses */
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                   "initial scale of layer %u is %g: expected a finite number ≥ 0", l, scales[l - 1]);
      return FALSE;
    }
  if (!net->init_draws || net->init_seed != seed) {
    if (!net->init_draws)
      net->init_draws = g_new0 (double, net->n_params);
    for (guint l = 1; l <= net->n_layers; l++) {
      gsize start = net->weight_offset[l], count = (gsize) net->sizes[l - 1] * net->sizes[l];
      for (gsize i = 0; i < count; i++)
        net->init_draws[start + i] = drmad_normal_draw (seed, start + i);
    }
    net->init_seed = seed;
  }
  g_autofree double *params = g_new0 (double, net->n_params);
  for (guint l = 1; l <= net->n_layers; l++) {
    double scale = scales ? scales[l - 1] : 1.0 / sqrt (net->sizes[l - 1]);
    gsize start = net->weight_offset[l], count = (gsize) net->sizes[l - 1] * net->sizes[l];
    for (gsize i = 0; i < count; i++)
      params[start + i] = scale * net->init_draws[start + i];
  }
  /* Unchecked: a learned initial scale (θ up to 700, exp(θ) in float32
   * overflowing beyond θ ≈ 88) is a hyperparameter whose training
   * diverges, DRMAD_ERROR_DIVERGED at the first loss as for any other
   * (the meta-step rejects it), not a parameter the caller passed. */
  return drmad_net_set_params_unguarded (net, params, error);
}

gboolean
drmad_net_init_params (DrmadNet *net, guint64 seed, const double *scales, GError **error)
{
  if (!drmad_net_enter (net, "drmad_net_init_params()", error))
    return FALSE;
  gboolean result = drmad_net_init_params_unguarded (net, seed, scales, error);
  drmad_net_leave (net);
  return result;
}

/* Work-items for @n indices on a CPU device (kernels/nn.cl, FOR_CHUNK): a
 * work-group of one work-item per chunk of at least CPU_MIN_CHUNK indices, at
 * most CPU_ITEMS_PER_UNIT per compute unit. PoCL pays about 20 ns per
 * work-group, so one index per work-item, as on GPUs, made the 78 400-element
 * minibatch gather cost 60–90 µs instead of 10. */
static gsize
cpu_items (const DrmadNet *net, gsize n)
{
  gsize items = (n + net->cpu_chunk - 1) / net->cpu_chunk;
  return CLAMP (items, 1, (gsize) CPU_ITEMS_PER_UNIT * MAX (net->device->info.compute_units, 1));
}

gboolean
drmad_net_run_1d (DrmadNet *net, DrmadLaunch *launch, gsize n, GError **error)
{
  if (net->cpu_chunk)
    return drmad_launch_run (launch, net->device, 1, (gsize[]){ n ? cpu_items (net, n) : 0 },
                             (gsize[]){ 1 }, error);
  return drmad_launch_run (launch, net->device, 1, (gsize[]){ n }, (gsize[]){ LOCAL_1D }, error);
}

/* A rows × cols launch: on CPU devices, chunks of whole rows. */
static gboolean
run_2d (DrmadNet *net, DrmadLaunch *launch, gsize cols, gsize rows, GError **error)
{
  if (net->cpu_chunk)
    return drmad_launch_run (launch, net->device, 2,
                             (gsize[]){ cols ? 1 : 0, MIN (rows, cpu_items (net, cols * rows)) },
                             (gsize[]){ 1, 1 }, error);
  return drmad_launch_run (launch, net->device, 2, (gsize[]){ cols, rows },
                           (gsize[]){ LOCAL_1D, 1 }, error);
}

static DrmadMatrix
matrix (DrmadBuffer *buffer, gsize offset, gsize ld)
{
  return (DrmadMatrix) { .mem = buffer->mem, .host = buffer->host, .offset = offset, .ld = ld };
}

/* C = alpha·op(A)·op(B) + beta·C on the net's device, precision and GEMM path. */
static gboolean
net_gemm (DrmadNet *net, gboolean transpose_a, gboolean transpose_b, gsize m, gsize n, gsize k, double alpha,
          DrmadMatrix a, DrmadMatrix b, double beta, DrmadMatrix c, GError **error)
{
  return drmad_gemm (net->device, net->precision, net->gemm_path, transpose_a, transpose_b, m, n, k,
                     alpha, a, b, beta, c, error);
}

/* Forward pass over @rows rows of @input starting at row @first_row; leaves
 * a_1 … a_L (logits) in the workspace. */
static gboolean
forward (DrmadNet *net, DrmadBuffer *params, DrmadBuffer *input, gsize first_row, guint rows,
         GError **error)
{
  for (guint l = 1; l <= net->n_layers; l++) {
    guint fan_in = net->sizes[l - 1], fan_out = net->sizes[l];
    DrmadMatrix a = l == 1 ? matrix (input, first_row * fan_in, fan_in) : matrix (net->acts[l - 1], 0, fan_in);
    if (!net_gemm (net, FALSE, FALSE, rows, fan_out, fan_in,
                   1.0, a, matrix (params, net->weight_offset[l], fan_out),
                   0.0, matrix (net->acts[l], 0, fan_out), error))
      return FALSE;
    DrmadLaunch launch = drmad_launch_begin (net->k_bias_act, net->precision);
    drmad_launch_mem (&launch, net->acts[l]->mem);
    drmad_launch_mem (&launch, params->mem);
    drmad_launch_uint (&launch, net->bias_offset[l]);
    drmad_launch_uint (&launch, rows);
    drmad_launch_uint (&launch, fan_out);
    drmad_launch_uint (&launch, l < net->n_layers ? hidden_activation (net) : ACT_IDENTITY);
    if (!run_2d (net, &launch, fan_out, rows, error))
      return FALSE;
  }
  return TRUE;
}

/* Per-row loss and error into row_loss/row_wrong, δ_L into deltas[L] when @with_delta. */
static gboolean
softmax_loss (DrmadNet *net, DrmadBuffer *labels, gsize label_offset, guint rows, double scale,
              gboolean with_delta, GError **error)
{
  DrmadLaunch launch = drmad_launch_begin (net->k_softmax_xent, net->precision);
  drmad_launch_mem (&launch, net->acts[net->n_layers]->mem);
  drmad_launch_mem (&launch, labels->mem);
  drmad_launch_uint (&launch, label_offset);
  drmad_launch_uint (&launch, rows);
  drmad_launch_uint (&launch, net->sizes[net->n_layers]);
  drmad_launch_real (&launch, scale);
  drmad_launch_mem (&launch, with_delta ? net->deltas[net->n_layers]->mem : NULL);
  drmad_launch_mem (&launch, net->row_loss->mem);
  drmad_launch_mem (&launch, net->row_wrong->mem);
  return drmad_net_run_1d (net, &launch, rows, error);
}

static gboolean
accumulate (DrmadNet *net, DrmadBuffer *values, guint n, guint slot, GError **error)
{
  DrmadLaunch launch = drmad_launch_begin (net->k_accumulate, net->precision);
  drmad_launch_mem (&launch, values->mem);
  drmad_launch_uint (&launch, n);
  drmad_launch_mem (&launch, net->acc->mem);
  drmad_launch_uint (&launch, slot);
  return drmad_net_run_1d (net, &launch, 1, error);
}

static gboolean
column_sums (DrmadNet *net, DrmadBuffer *m, guint rows, guint cols, DrmadBuffer *out, gsize offset,
             gboolean add, GError **error)
{
  DrmadLaunch sums = drmad_launch_begin (net->k_column_sums, net->precision);
  drmad_launch_mem (&sums, m->mem);
  drmad_launch_uint (&sums, rows);
  drmad_launch_uint (&sums, cols);
  drmad_launch_mem (&sums, out->mem);
  drmad_launch_uint (&sums, offset);
  drmad_launch_uint (&sums, add);
  return drmad_net_run_1d (net, &sums, cols, error);
}

/* Backward pass for the @rows rows in the workspace whose inputs are rows
 * @first_row… of @input (docs/algorithm.md §3: gW_l = a_{l−1}ᵀ δ_l,
 * gb_l = Σ_rows δ_l, δ_{l−1} = (δ_l W_lᵀ) ⊙ φ'(z_{l−1})); with @add the
 * gradient is added to @grad instead of replacing it. With @grad NULL only
 * the δ_l are computed (what the R-operator needs). */
static gboolean
backward (DrmadNet *net, DrmadBuffer *params, DrmadBuffer *input, gsize first_row, guint rows,
          DrmadBuffer *grad, gboolean add, GError **error)
{
  for (guint l = net->n_layers; l >= 1; l--) {
    guint fan_in = net->sizes[l - 1], fan_out = net->sizes[l];
    DrmadMatrix a = l == 1 ? matrix (input, first_row * fan_in, fan_in) : matrix (net->acts[l - 1], 0, fan_in);
    if (grad && (!net_gemm (net, TRUE, FALSE, fan_in, fan_out, rows,
                            1.0, a, matrix (net->deltas[l], 0, fan_out),
                            add ? 1.0 : 0.0, matrix (grad, net->weight_offset[l], fan_out), error)
                 || !column_sums (net, net->deltas[l], rows, fan_out, grad, net->bias_offset[l], add, error)))
      return FALSE;
    if (l == 1)
      break;
    if (!net_gemm (net, FALSE, TRUE, rows, fan_in, fan_out,
                   1.0, matrix (net->deltas[l], 0, fan_out), matrix (params, net->weight_offset[l], fan_out),
                   0.0, matrix (net->pre_deltas[l - 1], 0, fan_in), error))
      return FALSE;
    DrmadLaunch back = drmad_launch_begin (net->k_act_backward, net->precision);
    drmad_launch_mem (&back, net->deltas[l - 1]->mem);
    drmad_launch_mem (&back, net->pre_deltas[l - 1]->mem);
    drmad_launch_mem (&back, net->acts[l - 1]->mem);
    drmad_launch_uint (&back, rows * fan_in);
    drmad_launch_uint (&back, hidden_activation (net));
    if (!drmad_net_run_1d (net, &back, (gsize) rows * fan_in, error))
      return FALSE;
  }
  return TRUE;
}

/* docs/algorithm.md §3, the R-operator over the batch in the workspace. */
gboolean
drmad_net_enqueue_batch_hvp (DrmadNet *net, DrmadBuffer *params, DrmadBuffer *dir, DrmadBuffer *out,
                             GError **error)
{
  if (net->host_fused)
    return drmad_net_enqueue_host_hvp (net, params, dir, out, error);
  guint rows = net->batch, L = net->n_layers;
  /* R-forward: R(z_l) = R(a_{l−1}) W_l + a_{l−1} VW_l + Vb_l, R(a_l) = φ'(z_l) ⊙ R(z_l). */
  for (guint l = 1; l <= L; l++) {
    guint fan_in = net->sizes[l - 1], fan_out = net->sizes[l];
    DrmadMatrix a = l == 1 ? matrix (net->input, 0, fan_in) : matrix (net->acts[l - 1], 0, fan_in);
    if (!net_gemm (net, FALSE, FALSE, rows, fan_out, fan_in,
                   1.0, a, matrix (dir, net->weight_offset[l], fan_out),
                   0.0, matrix (net->r_z[l], 0, fan_out), error))
      return FALSE;
    if (l > 1 && !net_gemm (net, FALSE, FALSE, rows, fan_out, fan_in,
                            1.0, matrix (net->r_a[l - 1], 0, fan_in), matrix (params, net->weight_offset[l], fan_out),
                            1.0, matrix (net->r_z[l], 0, fan_out), error))
      return FALSE;
    DrmadLaunch launch = drmad_launch_begin (net->k_r_bias_act, net->precision);
    drmad_launch_mem (&launch, net->r_z[l]->mem);
    drmad_launch_mem (&launch, l < L ? net->r_a[l]->mem : NULL);
    drmad_launch_mem (&launch, dir->mem);
    drmad_launch_uint (&launch, net->bias_offset[l]);
    drmad_launch_mem (&launch, net->acts[l]->mem);
    drmad_launch_uint (&launch, rows);
    drmad_launch_uint (&launch, fan_out);
    drmad_launch_uint (&launch, l < L ? hidden_activation (net) : ACT_IDENTITY);
    if (!run_2d (net, &launch, fan_out, rows, error))
      return FALSE;
  }
  DrmadLaunch soft = drmad_launch_begin (net->k_r_softmax, net->precision);
  drmad_launch_mem (&soft, net->acts[L]->mem);
  drmad_launch_mem (&soft, net->r_z[L]->mem);
  drmad_launch_uint (&soft, rows);
  drmad_launch_uint (&soft, net->sizes[L]);
  drmad_launch_real (&soft, 1.0 / rows);
  drmad_launch_mem (&soft, net->r_deltas[L]->mem);
  if (!drmad_net_run_1d (net, &soft, rows, error))
    return FALSE;
  /* R-backward. */
  for (guint l = L; l >= 1; l--) {
    guint fan_in = net->sizes[l - 1], fan_out = net->sizes[l];
    DrmadMatrix a = l == 1 ? matrix (net->input, 0, fan_in) : matrix (net->acts[l - 1], 0, fan_in);
    /* R(gW_l) = R(a_{l−1})ᵀ δ_l + a_{l−1}ᵀ R(δ_l);  R(gb_l) = Σ_rows R(δ_l) */
    if (!net_gemm (net, TRUE, FALSE, fan_in, fan_out, rows,
                   1.0, a, matrix (net->r_deltas[l], 0, fan_out),
                   0.0, matrix (out, net->weight_offset[l], fan_out), error)
        || (l > 1 && !net_gemm (net, TRUE, FALSE, fan_in, fan_out, rows,
                                1.0, matrix (net->r_a[l - 1], 0, fan_in), matrix (net->deltas[l], 0, fan_out),
                                1.0, matrix (out, net->weight_offset[l], fan_out), error))
        || !column_sums (net, net->r_deltas[l], rows, fan_out, out, net->bias_offset[l], FALSE, error))
      return FALSE;
    if (l == 1)
      break;
    /* R(δ_{l−1}) = (R(δ_l) W_lᵀ + δ_l VW_lᵀ) ⊙ φ'(z_{l−1}) + (δ_l W_lᵀ) ⊙ φ''(z_{l−1}) ⊙ R(z_{l−1}) */
    if (!net_gemm (net, FALSE, TRUE, rows, fan_in, fan_out,
                   1.0, matrix (net->r_deltas[l], 0, fan_out), matrix (params, net->weight_offset[l], fan_out),
                   0.0, matrix (net->r_deltas[l - 1], 0, fan_in), error)
        || !net_gemm (net, FALSE, TRUE, rows, fan_in, fan_out,
                      1.0, matrix (net->deltas[l], 0, fan_out), matrix (dir, net->weight_offset[l], fan_out),
                      1.0, matrix (net->r_deltas[l - 1], 0, fan_in), error))
      return FALSE;
    DrmadLaunch back = drmad_launch_begin (net->k_r_act_backward, net->precision);
    drmad_launch_mem (&back, net->r_deltas[l - 1]->mem);
    drmad_launch_mem (&back, net->pre_deltas[l - 1]->mem);
    drmad_launch_mem (&back, net->acts[l - 1]->mem);
    drmad_launch_mem (&back, net->r_z[l - 1]->mem);
    drmad_launch_uint (&back, rows * fan_in);
    drmad_launch_uint (&back, hidden_activation (net));
    if (!drmad_net_run_1d (net, &back, (gsize) rows * fan_in, error))
      return FALSE;
  }
  return TRUE;
}

gboolean
drmad_net_enter (DrmadNet *net, const char *what, GError **error)
{
  gpointer self = g_thread_self ();
  if (g_atomic_pointer_get (&net->owner) == self) {
    if (net->in_callback) {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_BUSY,
                   "%s was called from a progress callback (or hook) of work on the same net, which it would "
                   "disturb: call it after that work returns, or on another net", what);
      return FALSE;
    }
    net->depth++;
    return TRUE;
  }
  if (!g_atomic_pointer_compare_and_exchange (&net->owner, NULL, self)) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_BUSY,
                 "%s: the net is in use by another thread; a net (and its trainers, θ's passes and "
                 "meta-optimiser) is used by one thread at a time", what);
    return FALSE;
  }
  net->depth = 1;
  return TRUE;
}

void
drmad_net_leave (DrmadNet *net)
{
  if (--net->depth == 0)
    g_atomic_pointer_set (&net->owner, NULL);
}

void
drmad_net_callback_begin (DrmadNet *net)
{
  net->in_callback++;
}

void
drmad_net_callback_end (DrmadNet *net)
{
  net->in_callback--;
}

gboolean
drmad_net_check_data (DrmadNet *net, DrmadDeviceData *data, GError **error)
{
  if (data->dim != net->sizes[0] || data->n_classes > net->sizes[net->n_layers]
      || data->precision != net->precision) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "the data (%u features, %u classes, %s) do not fit the net (%u inputs, %u outputs, %s)",
                 data->dim, data->n_classes, data->precision ? "float64" : "float32",
                 net->sizes[0], net->sizes[net->n_layers], net->precision ? "float64" : "float32");
    return FALSE;
  }
  if (data->device != net->device) {
    g_set_error_literal (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                         "the data were copied to another DrmadDevice than the net's: make them with the net's "
                         "device (drmad_net_get_device ())");
    return FALSE;
  }
  if (data->n == 0) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_EMPTY, "the data hold no examples");
    return FALSE;
  }
  return TRUE;
}

/* Rows of a byte dataset as reals into net->input (at most net->batch rows):
 * rows @indices[j], or @first + j when @indices is NULL. */
static gboolean
gather_bytes (DrmadNet *net, DrmadDeviceData *data, DrmadBuffer *indices, guint first, guint rows,
              GError **error)
{
  DrmadLaunch gather = drmad_launch_begin (net->k_gather_bytes, net->precision);
  drmad_launch_mem (&gather, data->bytes->mem);
  drmad_launch_mem (&gather, data->scale ? data->scale->mem : NULL);
  drmad_launch_mem (&gather, data->offset ? data->offset->mem : NULL);
  drmad_launch_mem (&gather, indices ? indices->mem : NULL);
  drmad_launch_uint (&gather, first);
  drmad_launch_uint (&gather, data->dim);
  drmad_launch_uint (&gather, rows);
  drmad_launch_mem (&gather, net->input->mem);
  return run_2d (net, &gather, data->dim, rows, error);
}

/* The input rows @first … @first + @rows − 1 of @data for a pass: the
 * dataset's own reals, or (bytes) a copy as reals in net->input. */
static gboolean
input_rows (DrmadNet *net, DrmadDeviceData *data, guint first, guint rows, DrmadBuffer **input,
            gsize *first_row, GError **error)
{
  if (!data->bytes) {
    *input = data->features;
    *first_row = first;
    return TRUE;
  }
  *input = net->input;
  *first_row = 0;
  return gather_bytes (net, data, NULL, first, rows, error);
}

gboolean
drmad_net_enqueue_batch_gradient (DrmadNet *net, DrmadDeviceData *data, DrmadBuffer *params,
                                  guint64 seed, guint64 step, DrmadBuffer *grad, GError **error)
{
  if (net->host_fused)
    return drmad_net_enqueue_host_step (net, data, params, seed, step, grad, NULL, error);
  net->zero_grad = NULL;
  DrmadLaunch sample = drmad_launch_begin (net->k_sample_batch, net->precision);
  drmad_launch_mem (&sample, data->labels->mem);
  drmad_launch_uint (&sample, data->n);
  drmad_launch_ulong (&sample, seed);
  drmad_launch_ulong (&sample, step);
  drmad_launch_uint (&sample, net->batch);
  drmad_launch_mem (&sample, net->indices->mem);
  drmad_launch_mem (&sample, net->batch_labels->mem);
  if (!drmad_net_run_1d (net, &sample, net->batch, error))
    return FALSE;
  gboolean gathered;
  if (data->bytes)
    gathered = gather_bytes (net, data, net->indices, 0, net->batch, error);
  else {
    DrmadLaunch gather = drmad_launch_begin (net->k_gather_rows, net->precision);
    drmad_launch_mem (&gather, data->features->mem);
    drmad_launch_mem (&gather, net->indices->mem);
    drmad_launch_uint (&gather, data->dim);
    drmad_launch_uint (&gather, net->batch);
    drmad_launch_mem (&gather, net->input->mem);
    gathered = run_2d (net, &gather, data->dim, net->batch, error);
  }
  return gathered
         && forward (net, params, net->input, 0, net->batch, error)
         && softmax_loss (net, net->batch_labels, 0, net->batch, 1.0 / net->batch, TRUE, error)
         && (!grad || accumulate (net, net->row_loss, net->batch, 0, error))
         && backward (net, params, net->input, 0, net->batch, grad, FALSE, error);
}

gboolean
drmad_net_enqueue_full_gradient (DrmadNet *net, DrmadDeviceData *data, DrmadBuffer *params,
                                 DrmadBuffer *grad, GError **error)
{
  if (net->host_fused)
    return drmad_net_enqueue_host_passes (net, data, params, grad, net->batch, error);
  net->zero_grad = NULL;
  for (guint first = 0; first < data->n; first += net->batch) {
    guint rows = MIN (net->batch, data->n - first);
    DrmadBuffer *input;
    gsize at;
    if (!input_rows (net, data, first, rows, &input, &at, error)
        || !forward (net, params, input, at, rows, error)
        || !softmax_loss (net, data->labels, first, rows, 1.0 / data->n, TRUE, error)
        || !accumulate (net, net->row_loss, rows, 0, error)
        || !backward (net, params, input, at, rows, grad, first > 0, error))
      return FALSE;
  }
  return TRUE;
}

static gboolean
read_acc (DrmadNet *net, double values[2], GError **error)
{
  return drmad_buffer_read_doubles (net->acc, 0, 2, values, error);
}

static gboolean
drmad_net_batch_gradient_unguarded (DrmadNet *net, DrmadDeviceData *data, guint64 seed, guint64 step,
                                    double *loss, double *gradient, GError **error)
{
  double sums[2];
  if (!drmad_net_check_data (net, data, error) || !drmad_buffer_zero (net->acc, error)
      || !drmad_net_enqueue_batch_gradient (net, data, net->params, seed, step, net->grad, error)
      || !read_acc (net, sums, error)
      || (gradient && !drmad_buffer_read_doubles (net->grad, 0, net->n_params, gradient, error)))
    return FALSE;
  if (loss)
    *loss = sums[0] / net->batch;
  return TRUE;
}

gboolean
drmad_net_batch_gradient (DrmadNet *net, DrmadDeviceData *data, guint64 seed, guint64 step,
                          double *loss, double *gradient, GError **error)
{
  if (!drmad_net_enter (net, "drmad_net_batch_gradient()", error))
    return FALSE;
  gboolean result = drmad_net_batch_gradient_unguarded (net, data, seed, step, loss, gradient, error);
  drmad_net_leave (net);
  return result;
}

static gboolean
drmad_net_evaluate_unguarded (DrmadNet *net, DrmadDeviceData *data, double *mean_loss, double *error_rate,
                              GError **error)
{
  if (!drmad_net_check_data (net, data, error) || !drmad_buffer_zero (net->acc, error))
    return FALSE;
  /* A byte dataset goes through net->input, a batch of rows at a time. */
  guint chunk = data->bytes ? net->batch : net->rows_capacity;
  if (net->host_fused && !drmad_net_enqueue_host_passes (net, data, net->params, NULL, chunk, error))
    return FALSE;
  for (guint first = 0; !net->host_fused && first < data->n; first += chunk) {
    guint rows = MIN (chunk, data->n - first);
    DrmadBuffer *input;
    gsize at;
    if (!input_rows (net, data, first, rows, &input, &at, error)
        || !forward (net, net->params, input, at, rows, error)
        || !softmax_loss (net, data->labels, first, rows, 1.0, FALSE, error)
        || !accumulate (net, net->row_loss, rows, 0, error)
        || !accumulate (net, net->row_wrong, rows, 1, error))
      return FALSE;
  }
  double sums[2];
  if (!read_acc (net, sums, error))
    return FALSE;
  if (mean_loss)
    *mean_loss = sums[0] / data->n;
  if (error_rate)
    *error_rate = sums[1] / data->n;
  return TRUE;
}

gboolean
drmad_net_evaluate (DrmadNet *net, DrmadDeviceData *data, double *mean_loss, double *error_rate,
                    GError **error)
{
  if (!drmad_net_enter (net, "drmad_net_evaluate()", error))
    return FALSE;
  gboolean result = drmad_net_evaluate_unguarded (net, data, mean_loss, error_rate, error);
  drmad_net_leave (net);
  return result;
}

static gboolean
drmad_net_full_gradient_unguarded (DrmadNet *net, DrmadDeviceData *data, double *loss, double *gradient,
                                   GError **error)
{
  double sums[2];
  if (!drmad_net_check_data (net, data, error) || !drmad_buffer_zero (net->acc, error)
      || !drmad_net_enqueue_full_gradient (net, data, net->params, net->grad, error)
      || !read_acc (net, sums, error)
      || (gradient && !drmad_buffer_read_doubles (net->grad, 0, net->n_params, gradient, error)))
    return FALSE;
  if (loss)
    *loss = sums[0] / data->n;
  return TRUE;
}

gboolean
drmad_net_full_gradient (DrmadNet *net, DrmadDeviceData *data, double *loss, double *gradient,
                         GError **error)
{
  if (!drmad_net_enter (net, "drmad_net_full_gradient()", error))
    return FALSE;
  gboolean result = drmad_net_full_gradient_unguarded (net, data, loss, gradient, error);
  drmad_net_leave (net);
  return result;
}

static gboolean
drmad_net_batch_hvp_unguarded (DrmadNet *net, DrmadDeviceData *data, guint64 seed, guint64 step,
                               const double *direction, double *product, GError **error)
{
  g_autoptr (DrmadBuffer) dir = drmad_buffer_new (net->device, net->n_params, drmad_precision_size (net->precision), error);
  g_autoptr (DrmadBuffer) out = dir ? drmad_buffer_new (net->device, net->n_params, drmad_precision_size (net->precision), error) : NULL;
  return out && drmad_net_check_data (net, data, error)
         && drmad_buffer_write_doubles (dir, 0, net->n_params, direction, error)
         && drmad_net_enqueue_batch_gradient (net, data, net->params, seed, step, net->grad, error)
         && drmad_net_enqueue_batch_hvp (net, net->params, dir, out, error)
         && drmad_buffer_read_doubles (out, 0, net->n_params, product, error);
}

gboolean
drmad_net_batch_hvp (DrmadNet *net, DrmadDeviceData *data, guint64 seed, guint64 step,
                     const double *direction, double *product, GError **error)
{
  if (!drmad_net_enter (net, "drmad_net_batch_hvp()", error))
    return FALSE;
  gboolean result = drmad_net_batch_hvp_unguarded (net, data, seed, step, direction, product, error);
  drmad_net_leave (net);
  return result;
}
