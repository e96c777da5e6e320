/* The forward SGD-with-momentum run (docs/algorithm.md §1). */
#include "train-private.h"

#include <math.h>

/* Frees the stretches once no queued step reads them any more. */
static void
uniform_free (DrmadTrainer *trainer)
{
  if (trainer->uniform)
    clFinish (trainer->velocity->device->queue);   /* the buffers hold the device; the net may be gone */
  for (guint s = 0; trainer->uniform && s < trainer->n_segments; s++)
    g_free (trainer->uniform[s].runs);
  g_clear_pointer (&trainer->uniform, g_free);
}

/* More stretches than this and the loops read the vectors (a per-neuron or
 * per-weight θ); a per-layer θ makes two a layer. */
#define MAX_UNIFORM_RUNS 64

/* The uniform stretches of each segment, from the values the buffers hold
 * (none with DRMAD_HOST_UNIFORM=0: the loops then read the vectors). */
static void
uniform_make (DrmadTrainer *trainer)
{
  DrmadNet *net = trainer->net;
  uniform_free (trainer);
  if (!net->host_fused || g_strcmp0 (g_getenv ("DRMAD_HOST_UNIFORM"), "0") == 0)
    return;
  gsize n = net->n_params;
  gboolean fp64 = net->precision == DRMAD_PRECISION_FLOAT64;
#define VALUE(buffer, i) (fp64 ? ((const double *) (buffer)->host)[i] : (double) ((const float *) (buffer)->host)[i])
  trainer->uniform = g_new0 (DrmadUniformRuns, trainer->n_segments);
  for (guint s = 0; s < trainer->n_segments; s++) {
    DrmadUniformRun runs[MAX_UNIFORM_RUNS];
    guint count = 0;
    gboolean too_many = FALSE;
    for (gsize i = 0; i < n && !too_many; i++) {
      double eta = VALUE (trainer->eta, s * n + i), gamma = VALUE (trainer->gamma, s * n + i);
      double l2 = VALUE (trainer->l2, i);
      DrmadUniformRun *last = count ? &runs[count - 1] : NULL;
      if (last && last->eta == eta && last->gamma == gamma && last->l2 == l2)
        last->end = i + 1;
      else if (!(too_many = count == MAX_UNIFORM_RUNS))
        runs[count++] = (DrmadUniformRun) { .start = i, .end = i + 1, .eta = eta, .gamma = gamma, .l2 = l2 };
    }
    if (!too_many) {
      trainer->uniform[s].n = count;
      trainer->uniform[s].runs = g_memdup2 (runs, count * sizeof *runs);
    }
  }
#undef VALUE
}

const DrmadUniformRuns *
drmad_trainer_uniform (const DrmadTrainer *trainer, guint segment)
{
  return trainer->uniform && trainer->uniform[segment].n ? &trainer->uniform[segment] : NULL;
}

void
drmad_trainer_free (DrmadTrainer *trainer)
{
  if (!trainer)
    return;
  uniform_free (trainer);
  drmad_buffer_free (trainer->velocity);
  drmad_buffer_free (trainer->eta);
  drmad_buffer_free (trainer->gamma);
  drmad_buffer_free (trainer->l2);
  g_free (trainer);
}

static DrmadTrainer *
drmad_trainer_new_unguarded (DrmadNet *net, GError **error)
{
  g_autoptr (DrmadTrainer) trainer = g_new0 (DrmadTrainer, 1);
  trainer->net = net;
  trainer->n_segments = 1;
  trainer->horizon = 1;
  trainer->poison_step = G_MAXUINT64;
  gsize elem = drmad_precision_size (net->precision);
  /* The default schedule (η 0.1, γ 0.9, no L2) is written when first
   * needed (default_schedule): a caller that sets its own, as every
   * hypergradient pass does, saves the 2–3 ms of writing it. */
  if (!(trainer->velocity = drmad_buffer_new (net->device, net->n_params, elem, error))
      || !(trainer->l2 = drmad_buffer_new (net->device, net->n_params, elem, error))
      || !drmad_buffer_zero (trainer->velocity, error))
    return NULL;
  return g_steal_pointer (&trainer);
}

/* It allocates on the net's device and clears the velocity through the
 * net's queue: work on the net, refused while another call or a callback
 * holds it (drmad_net_enter), in its own name. */
DrmadTrainer *
drmad_trainer_new (DrmadNet *net, GError **error)
{
  if (!drmad_net_enter (net, "drmad_trainer_new()", error))
    return NULL;
  DrmadTrainer *trainer = drmad_trainer_new_unguarded (net, error);
  drmad_net_leave (net);
  return trainer;
}

static gboolean drmad_trainer_set_uniform_unguarded (DrmadTrainer *trainer, double eta, double gamma, double l2,
                                                     GError **error);

/* drmad_trainer_new()'s schedule, unless one is set. Always within a call
 * that has entered the net: unguarded, so that no error of it names a
 * function the caller did not call. */
static gboolean
default_schedule (DrmadTrainer *trainer, GError **error)
{
  return trainer->eta || drmad_trainer_set_uniform_unguarded (trainer, 0.1, 0.9, 0.0, error);
}

static gboolean
check_vector (const char *what, const double *values, gsize n, double low, double high, GError **error)
{
  for (gsize i = 0; values && i < n; i++)
    if (!(values[i] >= low && values[i] <= high)) {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                   "%s[%" G_GSIZE_FORMAT "] = %g: expected a value in [%g, %g]", what, i, values[i], low, high);
      return FALSE;
    }
  return TRUE;
}

static gboolean
drmad_trainer_set_schedule_unguarded (DrmadTrainer *trainer, guint n_segments, guint64 horizon,
                                      const double *eta, const double *gamma, const double *l2, GError **error)
{
  DrmadNet *net = trainer->net;
  gsize n = net->n_params;
  if (n_segments == 0 || horizon == 0) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "a schedule needs at least one segment and one step (got %u segments, %" G_GUINT64_FORMAT " steps)",
                 n_segments, horizon);
    return FALSE;
  }
  if (n_segments != trainer->n_segments && (!eta || !gamma)) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "changing the number of segments needs both the learning-rate and the momentum schedule");
    return FALSE;
  }
  if (!check_vector ("learning rate", eta, n * n_segments, 0, G_MAXDOUBLE, error)
      || !check_vector ("momentum", gamma, n * n_segments, 0, 1, error)
      || !check_vector ("L2 coefficient", l2, n, 0, G_MAXDOUBLE, error)
      || (!(eta && gamma && l2) && !default_schedule (trainer, error)))   /* what is not given keeps its value */
    return FALSE;
  gsize elem = drmad_precision_size (net->precision);
  if (n_segments != trainer->n_segments || !trainer->eta) {
    uniform_free (trainer);   /* made for the old number of segments */
    g_autoptr (DrmadBuffer) new_eta = drmad_buffer_new (net->device, n * n_segments, elem, error);
    g_autoptr (DrmadBuffer) new_gamma = new_eta ? drmad_buffer_new (net->device, n * n_segments, elem, error) : NULL;
    if (!new_gamma)
      return FALSE;
    drmad_buffer_free (trainer->eta);
    drmad_buffer_free (trainer->gamma);
    trainer->eta = g_steal_pointer (&new_eta);
    trainer->gamma = g_steal_pointer (&new_gamma);
    trainer->n_segments = n_segments;
  }
  trainer->horizon = horizon;
  /* The writes block, and the queue runs in order: no step still queued
   * reads the stretches being replaced. */
  gboolean ok = (!eta || drmad_buffer_write_doubles (trainer->eta, 0, n * n_segments, eta, error))
                && (!gamma || drmad_buffer_write_doubles (trainer->gamma, 0, n * n_segments, gamma, error))
                && (!l2 || drmad_buffer_write_doubles (trainer->l2, 0, n, l2, error));
  if (ok)
    uniform_make (trainer);
  else
    uniform_free (trainer);
  return ok;
}

gboolean
drmad_trainer_set_schedule (DrmadTrainer *trainer, guint n_segments, guint64 horizon,
                            const double *eta, const double *gamma, const double *l2, GError **error)
{
  if (!drmad_net_enter (trainer->net, "drmad_trainer_set_schedule()", error))
    return FALSE;
  gboolean result = drmad_trainer_set_schedule_unguarded (trainer, n_segments, horizon, eta, gamma, l2, error);
  drmad_net_leave (trainer->net);
  return result;
}

static gboolean
drmad_trainer_set_vectors_unguarded (DrmadTrainer *trainer, const double *eta, const double *gamma,
                                     const double *l2, GError **error)
{
  if (trainer->n_segments != 1 && (!eta || !gamma)) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "the trainer holds a %u-segment schedule: give both η and γ", trainer->n_segments);
    return FALSE;
  }
  return drmad_trainer_set_schedule (trainer, 1, 1, eta, gamma, l2, error);
}

gboolean
drmad_trainer_set_vectors (DrmadTrainer *trainer, const double *eta, const double *gamma,
                           const double *l2, GError **error)
{
  if (!drmad_net_enter (trainer->net, "drmad_trainer_set_vectors()", error))
    return FALSE;
  gboolean result = drmad_trainer_set_vectors_unguarded (trainer, eta, gamma, l2, error);
  drmad_net_leave (trainer->net);
  return result;
}

guint
drmad_trainer_segment (const DrmadTrainer *trainer, guint64 t)
{
  return MIN (trainer->n_segments - 1, t * trainer->n_segments / trainer->horizon);
}

static gboolean
drmad_trainer_set_uniform_unguarded (DrmadTrainer *trainer, double eta, double gamma, double l2, GError **error)
{
  DrmadNet *net = trainer->net;
  g_autofree double *eta_v = g_new (double, net->n_params);
  g_autofree double *gamma_v = g_new (double, net->n_params);
  g_autofree double *l2_v = g_new0 (double, net->n_params);
  for (gsize i = 0; i < net->n_params; i++) {
    eta_v[i] = eta;
    gamma_v[i] = gamma;
  }
  for (guint l = 1; l <= net->n_layers; l++)
    for (gsize i = 0; i < (gsize) net->sizes[l - 1] * net->sizes[l]; i++)
      l2_v[net->weight_offset[l] + i] = l2;
  return drmad_trainer_set_vectors (trainer, eta_v, gamma_v, l2_v, error);
}

gboolean
drmad_trainer_set_uniform (DrmadTrainer *trainer, double eta, double gamma, double l2, GError **error)
{
  if (!drmad_net_enter (trainer->net, "drmad_trainer_set_uniform()", error))
    return FALSE;
  gboolean result = drmad_trainer_set_uniform_unguarded (trainer, eta, gamma, l2, error);
  drmad_net_leave (trainer->net);
  return result;
}

static gboolean
drmad_trainer_reset_velocity_unguarded (DrmadTrainer *trainer, GError **error)
{
  return drmad_buffer_zero (trainer->velocity, error);
}

gboolean
drmad_trainer_reset_velocity (DrmadTrainer *trainer, GError **error)
{
  if (!drmad_net_enter (trainer->net, "drmad_trainer_reset_velocity()", error))
    return FALSE;
  gboolean result = drmad_trainer_reset_velocity_unguarded (trainer, error);
  drmad_net_leave (trainer->net);
  return result;
}

static gboolean
enqueue_update (DrmadTrainer *trainer, guint segment, GError **error)
{
  DrmadNet *net = trainer->net;
  DrmadLaunch launch = drmad_launch_begin (net->k_sgd_momentum, net->precision);
  drmad_launch_mem (&launch, net->params->mem);
  drmad_launch_mem (&launch, trainer->velocity->mem);
  drmad_launch_mem (&launch, net->grad->mem);
  drmad_launch_mem (&launch, trainer->eta->mem);
  drmad_launch_mem (&launch, trainer->gamma->mem);
  drmad_launch_mem (&launch, trainer->l2->mem);
  drmad_launch_uint (&launch, net->n_params);
  drmad_launch_uint (&launch, segment * net->n_params);
  return drmad_net_run_1d (net, &launch, net->n_params, error);
}

gboolean
drmad_trainer_enqueue_step (DrmadTrainer *trainer, DrmadDeviceData *train, guint64 seed, guint64 t,
                            GError **error)
{
  DrmadNet *net = trainer->net;
  if (!default_schedule (trainer, error))
    return FALSE;
  if (net->host_fused && t != trainer->poison_step) {
    DrmadHostUpdate update = {
      .velocity = trainer->velocity, .eta = trainer->eta, .gamma = trainer->gamma, .l2 = trainer->l2,
      .segment_offset = (gsize) drmad_trainer_segment (trainer, t) * net->n_params,
      .uniform = drmad_trainer_uniform (trainer, drmad_trainer_segment (trainer, t)),
    };
    return drmad_net_enqueue_host_step (net, train, net->params, seed, t, net->grad, &update, error);
  }
  if (!drmad_net_enqueue_batch_gradient (net, train, net->params, seed, t, net->grad, error))
    return FALSE;
  if (t == trainer->poison_step) {
    const double nan = NAN;
    if (!drmad_buffer_write_doubles (net->grad, 0, 1, &nan, error))
      return FALSE;
  }
  return enqueue_update (trainer, drmad_trainer_segment (trainer, t), error);
}

static gboolean
check_loss (double loss_sum, const char *phase, guint64 done, guint64 total, GError **error)
{
  if (isfinite (loss_sum))
    return TRUE;
  /* NaN has no sign worth showing: %g wrote "-nan" for the one an inf − inf left */
  g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_DIVERGED,
               "%s diverged: the minibatch loss became %s by step %" G_GUINT64_FORMAT
               " of %" G_GUINT64_FORMAT DRMAD_SMALLER_LR_ADVICE, phase,
               isnan (loss_sum) ? "NaN" : loss_sum > 0 ? "inf" : "-inf", done, total);
  return FALSE;
}

/* Reads the loss sum (a blocking read: the queue drains) and fails on NaN or
 * Inf, naming @phase and step @done of @total. */
static gboolean
trainer_sync (DrmadTrainer *trainer, const char *phase, guint64 done, guint64 total, double *loss_sum,
                    GError **error)
{
  return drmad_buffer_read_doubles (trainer->net->acc, 0, 1, loss_sum, error)
         && check_loss (*loss_sum, phase, done, total, error);
}

/* A read of the running loss sum queued behind a block of steps. The
 * training loop waits for block k's read only once block k + 1 is queued as
 * well, so the device always has steps to run while the host thread wakes
 * up and queues more (a blocking read every block left the device idle for
 * two thread wake-ups a block: about a sixth of the time of a small net's
 * steps on a virtual machine, docs/benchmarks.md). */
typedef struct {
  cl_event event;    /* NULL: none queued */
  guint64  done;     /* steps done when it was queued */
  union { float f; double d; } value;
} LossRead;

static gboolean
loss_read_queue (DrmadTrainer *trainer, LossRead *read, guint64 done, GError **error)
{
  DrmadBuffer *acc = trainer->net->acc;
  read->done = done;
  return drmad_cl_check (clEnqueueReadBuffer (acc->device->queue, acc->mem, CL_FALSE, 0, acc->elem_size,
                                              &read->value, 0, NULL, &read->event),
                         "clEnqueueReadBuffer (loss sum)", error)
         && drmad_cl_check (clFlush (acc->device->queue), "clFlush", error);
}

/* Waits for @read if one is queued; with @phase, checks the sum it read. */
static gboolean
loss_read_finish (DrmadTrainer *trainer, LossRead *read, const char *phase, guint64 total, GError **error)
{
  if (!read->event)
    return TRUE;
  cl_int status = clWaitForEvents (1, &read->event);
  clReleaseEvent (read->event);
  read->event = NULL;
  if (!phase)
    return TRUE;
  double sum = trainer->net->acc->elem_size == sizeof (double) ? read->value.d : read->value.f;
  return drmad_cl_check (status, "clWaitForEvents (loss sum)", error)
         && check_loss (sum, phase, read->done, total, error);
}

/* The caller's @progress, marked on @net (drmad_net_callback_begin). */
static gboolean
call_progress (DrmadNet *net, DrmadProgressFunc progress, const char *phase, guint64 step, guint64 total,
               gpointer user_data)
{
  drmad_net_callback_begin (net);
  gboolean go_on = progress (phase, step, total, user_data);
  drmad_net_callback_end (net);
  return go_on;
}

gboolean
drmad_trainer_run_steps (DrmadTrainer *trainer, DrmadDeviceData *train, guint64 seed, guint64 from, guint64 to,
                         guint64 total, const char *phase, DrmadStepHook before, gpointer before_data,
                         DrmadProgressFunc progress, gpointer user_data, double *loss_sum, GError **error)
{
  LossRead reads[2] = { { NULL } };
  guint block = 0;
  double sum = 0;
  gboolean ok = TRUE;
  /* A fused host path runs the steps on this thread
   * (drmad_net_host_direct_begin; @before then queues nothing): the loss
   * sum is in host memory after each step, and is checked there. */
  DrmadNet *net = trainer->net;
  gboolean direct = (trainer->poison_step < from || trainer->poison_step >= to)
                    && drmad_net_host_direct_begin (net, error);
  if (!direct && error && *error)
    return FALSE;
  for (guint64 t = from; ok && t < to; t++) {
    ok = (!before || before (t, before_data, error)) && drmad_trainer_enqueue_step (trainer, train, seed, t, error);
    /* Progress every step (so a cancel lands within one step), a host wait
     * only every DRMAD_SYNC_EVERY steps, for the block before. */
    if (ok && (t + 1 - from) % DRMAD_SYNC_EVERY == 0 && t + 1 < to) {
      if (direct) {
        const void *acc = net->acc->host;
        ok = check_loss (net->acc->elem_size == sizeof (double) ? *(const double *) acc : *(const float *) acc,
                         phase, t + 1, total, error);
      } else {
        ok = loss_read_queue (trainer, &reads[block % 2], t + 1, error)
             && loss_read_finish (trainer, &reads[(block + 1) % 2], phase, total, error);
        block++;
      }
    }
    if (ok && progress && !call_progress (net, progress, phase, t + 1 - from, to - from, user_data)) {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_CANCELLED, "%s cancelled at step %" G_GUINT64_FORMAT
                   " of %" G_GUINT64_FORMAT, phase, t + 1, total);
      ok = FALSE;
    }
  }
  if (direct)
    drmad_net_host_direct_end (net);
  /* No read may outlive @reads, whatever stopped the loop. */
  for (guint i = 0; i < 2; i++)
    ok = loss_read_finish (trainer, &reads[(block + i) % 2], ok ? phase : NULL, total, ok ? error : NULL) && ok;
  ok = ok && (from == to || trainer_sync (trainer, phase, to, total, &sum, error))
       && (!before || to != total || before (to, before_data, error));
  if (ok && loss_sum)
    *loss_sum = sum;
  return ok;
}

static gboolean
drmad_trainer_run_unguarded (DrmadTrainer *trainer, DrmadDeviceData *train, guint64 seed, guint64 first_step,
                             guint64 n_steps, DrmadProgressFunc progress, gpointer user_data,
                             double *mean_loss, GError **error)
{
  DrmadNet *net = trainer->net;
  if (!drmad_net_check_data (net, train, error))
    return FALSE;
  if (n_steps > G_MAXUINT64 - first_step) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "%" G_GUINT64_FORMAT " steps from step %" G_GUINT64_FORMAT " go past the last step number, %"
                 G_GUINT64_FORMAT, n_steps, first_step, G_MAXUINT64);
    return FALSE;
  }
  double loss_sum = 0;
  if (!drmad_buffer_zero (net->acc, error)
      || !drmad_trainer_run_steps (trainer, train, seed, first_step, first_step + n_steps, first_step + n_steps,
                                   "train", NULL, NULL, progress, user_data, &loss_sum, error))
    return FALSE;
  if (mean_loss)
    *mean_loss = n_steps ? loss_sum / ((double) n_steps * net->batch) : NAN;
  return TRUE;
}

gboolean
drmad_trainer_run (DrmadTrainer *trainer, DrmadDeviceData *train, guint64 seed, guint64 first_step,
                   guint64 n_steps, DrmadProgressFunc progress, gpointer user_data,
                   double *mean_loss, GError **error)
{
  if (!drmad_net_enter (trainer->net, "drmad_trainer_run()", error))
    return FALSE;
  gboolean result = drmad_trainer_run_unguarded (trainer, train, seed, first_step, n_steps, progress, user_data,
                                                 mean_loss, error);
  drmad_net_leave (trainer->net);
  return result;
}
