/* Hypergradients: the forward run, then the reverse pass of ALGORITHM.md §2
 * along the exact (checkpointed) trajectory, the DrMAD line, or K pieces. */
#include "hyper-private.h"
#include "train-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void
drmad_hypergradient_free (DrmadHypergradient *result)
{
  if (!result)
    return;
  g_free (result->gradient);
  g_free (result->dw0);
  g_free (result);
}

typedef struct {
  DrmadNet        *net;
  DrmadTrainer    *trainer;
  DrmadDeviceData *train;
  guint64          seed, T;
  DrmadProgressFunc progress;
  gpointer         user_data;
  gsize            elem;
  guint64          host_bytes, host_peak;
  /* reverse state */
  DrmadBuffer *dw, *dv, *deta, *dgamma, *dl2, *u, *hu, *w_now, *v_now, *v_next;
  cl_kernel    k_before, k_after, k_interpolate;
  gboolean     with_dgamma;   /* momentum learned: the reverse steps need g_t (ALGORITHM.md §2) */
  /* results of the forward run */
  DrmadDeviceData *val;
  double       train_loss_sum, val_loss;
  gint64       reverse_started;
} Pass;

/* After the forward run, with w_T in the net: dw = ∇_w f(w_T) (ALGORITHM.md
 * §2, first line) and f itself. */
static gboolean
start_reverse (Pass *pass, GError **error)
{
  DrmadNet *net = pass->net;
  double sums[2];
  if (!drmad_buffer_zero (net->acc, error)
      || !drmad_net_enqueue_full_gradient (net, pass->val, net->params, pass->dw, error)
      || !drmad_buffer_read_doubles (net->acc, 0, 2, sums, error))
    return FALSE;
  pass->val_loss = sums[0] / pass->val->n;
  pass->reverse_started = g_get_monotonic_time ();
  if (!isfinite (pass->val_loss)) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_DIVERGED,
                 "the validation loss after training is %g: the hyperparameters diverge", pass->val_loss);
    return FALSE;
  }
  return TRUE;
}

/* Test hook (issue 7 §5): DRMAD_INJECT_FAULT=KIND:N puts a NaN into the Nth
 * (1-based, counted per process) hypergradient ("hypergradient") or into the
 * minibatch gradient halfway through the Nth forward run ("gradient"). */
static gboolean
inject_fault (const char *kind)
{
  static gint counters[2];
  const char *spec = g_getenv ("DRMAD_INJECT_FAULT");
  gsize length = strlen (kind);
  if (!spec || strncmp (spec, kind, length) != 0 || spec[length] != ':')
    return FALSE;
  gint *counter = &counters[g_str_equal (kind, "gradient")];
  return g_atomic_int_add (counter, 1) + 1 == atoi (spec + length + 1);
}

static void
host_account (Pass *pass, gint64 bytes)
{
  pass->host_bytes += bytes;
  pass->host_peak = MAX (pass->host_peak, pass->host_bytes);
}

static DrmadBuffer *
vector (Pass *pass, gsize n, GError **error)
{
  return drmad_buffer_new (pass->net->device, n, pass->elem, error);
}

static gboolean
copy (DrmadBuffer *dst, DrmadBuffer *src, GError **error)
{
  return drmad_buffer_copy (dst, src, error);
}

static gboolean
report (Pass *pass, const char *phase, guint64 done, guint64 total, GError **error)
{
  if (pass->progress && !pass->progress (phase, done, total, pass->user_data)) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_CANCELLED, "%s cancelled at step %" G_GUINT64_FORMAT
                 " of %" G_GUINT64_FORMAT, phase, done, total);
    return FALSE;
  }
  return TRUE;
}

/* Forward steps [from, to) from the net's current w and the trainer's v;
 * before each step t, @record (if set) is called to store what the method needs. */
typedef gboolean (*RecordFunc) (Pass *pass, guint64 t, gpointer data, GError **error);

static gboolean
run_forward (Pass *pass, guint64 from, guint64 to, const char *phase, RecordFunc record,
             gpointer data, double *loss_sum, GError **error)
{
  double sum = 0;
  if (g_strcmp0 (phase, "train") == 0 && from == 0 && inject_fault ("gradient"))
    pass->trainer->poison_step = pass->T / 2;
  for (guint64 t = from; t < to; t++) {
    if ((record && !record (pass, t, data, error))
        || !drmad_trainer_enqueue_step (pass->trainer, pass->train, pass->seed, t, error))
      return FALSE;
    if ((t + 1 - from) % DRMAD_SYNC_EVERY == 0 || t + 1 == to) {
      if (!drmad_trainer_sync (pass->trainer, phase, t + 1, pass->T, NULL, NULL, &sum, error))
        return FALSE;
    }
    if (g_strcmp0 (phase, "train") == 0 && !report (pass, phase, t + 1, pass->T, error))
      return FALSE;
  }
  if (record && to == pass->T && !record (pass, to, data, error))
    return FALSE;
  if (loss_sum)
    *loss_sum = sum;
  return TRUE;
}

/* One reverse step at t, with w_t, v_t, v_{t+1} in pass->w_now, v_now, v_next. */
static gboolean
reverse_step (Pass *pass, guint64 t, GError **error)
{
  DrmadNet *net = pass->net;
  DrmadTrainer *trainer = pass->trainer;
  guint32 offset = drmad_trainer_segment (trainer, t) * net->n_params;
  /* g_t enters only dγ; the HVP needs just the forward pass and the δ_l. */
  if (!drmad_net_enqueue_batch_gradient (net, pass->train, pass->w_now, pass->seed, t,
                                         pass->with_dgamma ? net->grad : NULL, error))
    return FALSE;
  DrmadLaunch before = drmad_launch_begin (pass->k_before, net->precision);
  drmad_launch_mem (&before, pass->dw->mem);
  drmad_launch_mem (&before, pass->dv->mem);
  drmad_launch_mem (&before, pass->v_next->mem);
  drmad_launch_mem (&before, pass->v_now->mem);
  drmad_launch_mem (&before, net->grad->mem);
  drmad_launch_mem (&before, pass->w_now->mem);
  drmad_launch_mem (&before, trainer->l2->mem);
  drmad_launch_mem (&before, trainer->eta->mem);
  drmad_launch_mem (&before, trainer->gamma->mem);
  drmad_launch_mem (&before, pass->deta->mem);
  drmad_launch_mem (&before, pass->dgamma->mem);
  drmad_launch_mem (&before, pass->u->mem);
  drmad_launch_uint (&before, net->n_params);
  drmad_launch_uint (&before, offset);
  drmad_launch_uint (&before, pass->with_dgamma);
  if (!drmad_net_run_1d (net, &before, net->n_params, error)
      || !drmad_net_enqueue_batch_hvp (net, pass->w_now, pass->u, pass->hu, error))
    return FALSE;
  DrmadLaunch after = drmad_launch_begin (pass->k_after, net->precision);
  drmad_launch_mem (&after, pass->dw->mem);
  drmad_launch_mem (&after, pass->dv->mem);
  drmad_launch_mem (&after, pass->hu->mem);
  drmad_launch_mem (&after, pass->u->mem);
  drmad_launch_mem (&after, pass->w_now->mem);
  drmad_launch_mem (&after, trainer->l2->mem);
  drmad_launch_mem (&after, trainer->gamma->mem);
  drmad_launch_mem (&after, pass->dl2->mem);
  drmad_launch_uint (&after, net->n_params);
  drmad_launch_uint (&after, offset);
  if (!drmad_net_run_1d (net, &after, net->n_params, error))
    return FALSE;
  guint64 done = pass->T - t;
  if (done % DRMAD_SYNC_EVERY == 0 && !drmad_device_finish (net->device, error))
    return FALSE;
  return report (pass, "reverse", done, pass->T, error);
}

/* ---- exact: checkpoints every k steps, each segment recomputed (§2a) ---- */

typedef struct {
  guint64      k;
  GPtrArray   *w, *v;          /* checkpoints at t = 0, k, 2k, … */
} Checkpoints;

static gboolean
record_checkpoint (Pass *pass, guint64 t, gpointer data, GError **error)
{
  Checkpoints *cp = data;
  if (t % cp->k != 0 || t == pass->T)
    return TRUE;
  DrmadBuffer *w = vector (pass, pass->net->n_params, error);
  DrmadBuffer *v = w ? vector (pass, pass->net->n_params, error) : NULL;
  if (!v) {
    drmad_buffer_free (w);
    return FALSE;
  }
  g_ptr_array_add (cp->w, w);
  g_ptr_array_add (cp->v, v);
  return copy (w, pass->net->params, error) && copy (v, pass->trainer->velocity, error);
}

typedef struct {
  GPtrArray *w, *v;            /* states of the segment being reversed: w_t (len), v_t (len + 1) */
  guint64    first;
} SegmentStates;

static gboolean
record_segment (Pass *pass, guint64 t, gpointer data, GError **error)
{
  SegmentStates *seg = data;
  guint64 j = t - seg->first;
  if (j < seg->w->len && !copy (seg->w->pdata[j], pass->net->params, error))
    return FALSE;
  return j >= seg->v->len || copy (seg->v->pdata[j], pass->trainer->velocity, error);
}

static gboolean
reverse_exact (Pass *pass, guint64 k, GError **error)
{
  DrmadNet *net = pass->net;
  Checkpoints cp = { .k = k, .w = g_ptr_array_new_with_free_func ((GDestroyNotify) drmad_buffer_free),
                     .v = g_ptr_array_new_with_free_func ((GDestroyNotify) drmad_buffer_free) };
  SegmentStates seg = { .w = g_ptr_array_new_with_free_func ((GDestroyNotify) drmad_buffer_free),
                        .v = g_ptr_array_new_with_free_func ((GDestroyNotify) drmad_buffer_free) };
  g_autoptr (DrmadBuffer) w_end = NULL;
  gboolean ok = run_forward (pass, 0, pass->T, "train", record_checkpoint, &cp, &pass->train_loss_sum, error)
                && start_reverse (pass, error)
                && (w_end = vector (pass, net->n_params, error)) && copy (w_end, net->params, error);
  for (guint i = 0; ok && k > 1 && i <= k; i++) {
    DrmadBuffer *w = i < k ? vector (pass, net->n_params, error) : NULL;
    DrmadBuffer *v = vector (pass, net->n_params, error);
    if ((i < k && !w) || !v) {
      ok = FALSE;
      break;
    }
    if (w)
      g_ptr_array_add (seg.w, w);
    g_ptr_array_add (seg.v, v);
  }
  if (ok && k == 1) {
    /* Every state is stored: reverse straight through the checkpoints. */
    g_autoptr (DrmadBuffer) v_end = vector (pass, net->n_params, error);
    ok = v_end && copy (v_end, pass->trainer->velocity, error);
    for (guint64 t = pass->T; ok && t-- > 0;) {
      pass->w_now = cp.w->pdata[t];
      pass->v_now = cp.v->pdata[t];
      pass->v_next = t + 1 < pass->T ? cp.v->pdata[t + 1] : v_end;
      ok = reverse_step (pass, t, error);
    }
  }
  for (gint64 j = k == 1 ? -1 : (gint64) cp.w->len - 1; ok && j >= 0; j--) {
    seg.first = (guint64) j * k;
    guint64 end = MIN (seg.first + k, pass->T);
    /* Recompute the segment from its checkpoint, storing every state. */
    ok = copy (net->params, cp.w->pdata[j], error) && copy (pass->trainer->velocity, cp.v->pdata[j], error)
         && run_forward (pass, seg.first, end, "recompute", record_segment, &seg, NULL, error)
         && copy (seg.v->pdata[end - seg.first], pass->trainer->velocity, error);
    for (guint64 t = end; ok && t-- > seg.first;) {
      pass->w_now = seg.w->pdata[t - seg.first];
      pass->v_now = seg.v->pdata[t - seg.first];
      pass->v_next = seg.v->pdata[t + 1 - seg.first];
      ok = reverse_step (pass, t, error);
    }
  }
  pass->w_now = pass->v_now = pass->v_next = NULL;
  if (ok)
    ok = copy (net->params, w_end, error);  /* leave w_T in the net */
  g_ptr_array_unref (cp.w);
  g_ptr_array_unref (cp.v);
  g_ptr_array_unref (seg.w);
  g_ptr_array_unref (seg.v);
  return ok;
}

/* ---- DrMAD and piecewise: K straight pieces between snapshots (§2b, §2c) ---- */

typedef struct {
  guint      K;
  guint64   *times;            /* t_0 = 0 < t_1 < … < t_K = T */
  GPtrArray *w;                /* snapshots w_{t_j} */
} Snapshots;

static gboolean
record_snapshot (Pass *pass, guint64 t, gpointer data, GError **error)
{
  Snapshots *snap = data;
  if (snap->w->len > snap->K || t != snap->times[snap->w->len])
    return TRUE;
  DrmadBuffer *w = vector (pass, pass->net->n_params, error);
  if (!w)
    return FALSE;
  g_ptr_array_add (snap->w, w);
  return copy (w, pass->net->params, error);
}

static guint
piece_of (const Snapshots *snap, guint64 t)
{
  guint j = 0;
  while (j + 1 < snap->K && snap->times[j + 1] <= t)
    j++;
  return j;
}

/* ŵ_t into @w (if set) and the velocity of the line for step @t into @v (if set). */
static gboolean
interpolate (Pass *pass, const Snapshots *snap, guint64 t, guint64 piece_step, DrmadBuffer *w,
             DrmadBuffer *v, GError **error)
{
  DrmadNet *net = pass->net;
  guint j = piece_of (snap, piece_step);
  double steps = snap->times[j + 1] - snap->times[j];
  DrmadLaunch launch = drmad_launch_begin (pass->k_interpolate, net->precision);
  drmad_launch_mem (&launch, ((DrmadBuffer *) snap->w->pdata[j])->mem);
  drmad_launch_mem (&launch, ((DrmadBuffer *) snap->w->pdata[j + 1])->mem);
  drmad_launch_real (&launch, (t - (double) snap->times[j]) / steps);
  drmad_launch_real (&launch, 1 / steps);
  drmad_launch_mem (&launch, pass->trainer->eta->mem);
  drmad_launch_uint (&launch, drmad_trainer_segment (pass->trainer, piece_step) * net->n_params);
  drmad_launch_mem (&launch, w ? w->mem : NULL);
  drmad_launch_mem (&launch, v ? v->mem : NULL);
  drmad_launch_uint (&launch, net->n_params);
  return drmad_net_run_1d (net, &launch, net->n_params, error);
}

static gboolean
reverse_pieces (Pass *pass, guint K, GError **error)
{
  DrmadNet *net = pass->net;
  Snapshots snap = { .K = MIN (K, pass->T), .w = g_ptr_array_new_with_free_func ((GDestroyNotify) drmad_buffer_free) };
  snap.times = g_new (guint64, snap.K + 1);
  for (guint j = 0; j <= snap.K; j++)
    snap.times[j] = (guint64) j * pass->T / snap.K;
  g_autoptr (DrmadBuffer) w_now = NULL, v_now = NULL, v_next = NULL;
  gboolean ok = run_forward (pass, 0, pass->T, "train", record_snapshot, &snap, &pass->train_loss_sum, error)
                && start_reverse (pass, error)
                && (w_now = vector (pass, net->n_params, error)) && (v_now = vector (pass, net->n_params, error))
                && (v_next = vector (pass, net->n_params, error));
  pass->w_now = w_now;
  pass->v_now = v_now;
  pass->v_next = v_next;
  guint64 v_next_key = G_MAXUINT64;
  for (guint64 t = pass->T; ok && t-- > 0;) {
    /* v̂_{t+1}: the velocity of the piece holding step t; v̂_t: of the piece
     * holding step t − 1, and v̂_0 = 0 (§2b). v̂ only changes with the piece
     * or the η segment, and v̂_t only enters dγ (momentum learned). */
    guint64 key = (guint64) piece_of (&snap, t) * G_MAXUINT32 + drmad_trainer_segment (pass->trainer, t);
    ok = interpolate (pass, &snap, t, t, w_now, key != v_next_key ? v_next : NULL, error)
         && (!pass->with_dgamma
             || (t == 0 ? drmad_buffer_zero (v_now, error) : interpolate (pass, &snap, t, t - 1, NULL, v_now, error)))
         && reverse_step (pass, t, error);
    v_next_key = key;
  }
  pass->w_now = pass->v_now = pass->v_next = NULL;
  g_free (snap.times);
  g_ptr_array_unref (snap.w);
  return ok;
}

static void
pass_clear (Pass *pass)
{
  DrmadBuffer **buffers[] = { &pass->dw, &pass->dv, &pass->deta, &pass->dgamma, &pass->dl2, &pass->u, &pass->hu };
  for (guint i = 0; i < G_N_ELEMENTS (buffers); i++)
    g_clear_pointer (buffers[i], drmad_buffer_free);
  cl_kernel kernels[] = { pass->k_before, pass->k_after, pass->k_interpolate };
  for (guint i = 0; i < G_N_ELEMENTS (kernels); i++)
    if (kernels[i])
      clReleaseKernel (kernels[i]);
  g_clear_pointer (&pass->trainer, drmad_trainer_free);
}

/* Sets up the trainer from θ and the initial weights; the caller then runs forward. */
static gboolean
pass_begin (Pass *pass, DrmadNet *net, DrmadHyper *hyper, DrmadDeviceData *train, guint64 seed,
            double **eta_out, double **gamma_out, GError **error)
{
  const DrmadHyperConfig *config = drmad_hyper_get_config (hyper);
  gsize P = net->n_params, S = config->segments;
  pass->net = net;
  pass->train = train;
  pass->seed = seed;
  pass->T = config->steps;
  pass->with_dgamma = config->learn_momentum;
  pass->elem = drmad_precision_size (net->precision);
  g_autofree double *eta = g_new (double, S * P), *gamma = g_new (double, S * P), *l2 = g_new (double, P);
  double scales[DRMAD_HYPER_MAX_LAYERS];
  host_account (pass, (2 * S + 1) * P * sizeof (double));
  drmad_hyper_expand (hyper, net, eta, gamma, l2, scales);
  if (!drmad_net_check_data (net, train, error)
      || !(pass->trainer = drmad_trainer_new (net, error))
      || !drmad_trainer_set_schedule (pass->trainer, S, pass->T, eta, gamma, l2, error)
      || !drmad_net_init_params (net, seed, scales, error)
      || !drmad_buffer_zero (net->acc, error))  /* the forward run's loss sum starts here */
    return FALSE;
  if (eta_out)
    *eta_out = g_steal_pointer (&eta);
  if (gamma_out)
    *gamma_out = g_steal_pointer (&gamma);
  return TRUE;
}

gboolean
drmad_hyper_train (DrmadNet *net, DrmadHyper *hyper, DrmadDeviceData *train, guint64 seed,
                   DrmadProgressFunc progress, gpointer user_data, double *train_loss, GError **error)
{
  Pass pass = { .progress = progress, .user_data = user_data };
  double sum = 0;
  gboolean ok = pass_begin (&pass, net, hyper, train, seed, NULL, NULL, error)
                && run_forward (&pass, 0, pass.T, "train", NULL, NULL, &sum, error);
  if (ok && train_loss)
    *train_loss = sum / ((double) pass.T * net->batch);
  pass_clear (&pass);
  return ok;
}

static gboolean
all_finite (const double *values, gsize n)
{
  for (gsize i = 0; i < n; i++)
    if (!isfinite (values[i]))
      return FALSE;
  return TRUE;
}

gboolean
drmad_hypergradient_check_memory (DrmadNet *net, DrmadHyper *hyper, const DrmadReverseConfig *config,
                                  GError **error)
{
  /* The pass's own vectors plus what the method stores (issue 7 §7). */
  const DrmadHyperConfig *hc = drmad_hyper_get_config (hyper);
  guint64 T = hc->steps, P = net->n_params, S = hc->segments, vectors = 2 * S + 12;
  const char *advice = "use the piecewise method with fewer pieces, or DrMAD";
  if (config->method == DRMAD_METHOD_EXACT) {
    guint64 k = config->checkpoint_every ? config->checkpoint_every : (guint64) ceil (sqrt ((double) T));
    k = MIN (k, T);
    vectors += 2 * ((T + k - 1) / k) + (k > 1 ? 2 * k + 1 : 1);
    advice = "use a larger --checkpoint-every, the piecewise method, or DrMAD";
  } else {
    vectors += (config->method == DRMAD_METHOD_DRMAD ? 1 : MIN (MAX (config->snapshots, 1), T)) + 1;
  }
  g_autofree char *what = g_strdup_printf ("the %s reverse pass over T = %" G_GUINT64_FORMAT " steps",
                                           drmad_method_name (config->method), T);
  gsize elem = drmad_precision_size (net->precision);
  return drmad_device_check_room (net->device, vectors * P * elem, S * P * elem, what, advice, error);
}

DrmadHypergradient *
drmad_hypergradient_compute (DrmadNet *net, DrmadHyper *hyper, DrmadDeviceData *train,
                             DrmadDeviceData *val, const DrmadReverseConfig *config,
                             DrmadProgressFunc progress, gpointer user_data, GError **error)
{
  if (!drmad_net_check_data (net, val, error))
    return NULL;
  if (!drmad_hypergradient_check_memory (net, hyper, config, error))
    return NULL;
  guint64 device_base = drmad_device_get_allocated_bytes (net->device);
  drmad_device_reset_peak (net->device);
  Pass pass = { .progress = progress, .user_data = user_data, .val = val };
  g_autofree double *eta = NULL, *gamma = NULL;
  g_autoptr (DrmadBuffer) w0 = NULL;
  gint64 started = g_get_monotonic_time ();
  gsize P = net->n_params, S = drmad_hyper_get_config (hyper)->segments;
  gboolean ok = pass_begin (&pass, net, hyper, train, config->seed, &eta, &gamma, error)
    && (w0 = vector (&pass, P, error)) && copy (w0, net->params, error)
    && (pass.dw = vector (&pass, P, error)) && (pass.dv = vector (&pass, P, error))
    && (pass.deta = vector (&pass, S * P, error)) && (pass.dgamma = vector (&pass, S * P, error))
    && (pass.dl2 = vector (&pass, P, error)) && (pass.u = vector (&pass, P, error))
    && (pass.hu = vector (&pass, P, error))
    && drmad_buffer_zero (pass.dv, error) && drmad_buffer_zero (pass.deta, error)
    && drmad_buffer_zero (pass.dgamma, error) && drmad_buffer_zero (pass.dl2, error)
    && (pass.k_before = drmad_device_create_kernel (net->device, net->precision, "reverse_before_hvp", error))
    && (pass.k_after = drmad_device_create_kernel (net->device, net->precision, "reverse_after_hvp", error))
    && (pass.k_interpolate = drmad_device_create_kernel (net->device, net->precision, "interpolate", error));
  if (ok && config->method == DRMAD_METHOD_EXACT) {
    guint64 k = config->checkpoint_every ? config->checkpoint_every : (guint64) ceil (sqrt ((double) pass.T));
    ok = reverse_exact (&pass, MIN (k, pass.T), error);
  } else if (ok) {
    ok = reverse_pieces (&pass, config->method == DRMAD_METHOD_DRMAD ? 1 : MAX (config->snapshots, 1), error);
  }

  g_autoptr (DrmadHypergradient) result = NULL;
  if (ok) {
    result = g_new0 (DrmadHypergradient, 1);
    result->n = drmad_hyper_get_n (hyper);
    result->n_params = P;
    result->gradient = g_new0 (double, MAX (result->n, 1));
    result->dw0 = g_new (double, P);
    g_autofree double *deta = g_new (double, S * P), *dgamma = g_new (double, S * P);
    g_autofree double *dl2 = g_new (double, P), *w0_host = g_new (double, P);
    host_account (&pass, (2 * S + 3) * P * sizeof (double));
    ok = drmad_buffer_read_doubles (pass.deta, 0, S * P, deta, error)
         && drmad_buffer_read_doubles (pass.dgamma, 0, S * P, dgamma, error)
         && drmad_buffer_read_doubles (pass.dl2, 0, P, dl2, error)
         && drmad_buffer_read_doubles (pass.dw, 0, P, result->dw0, error)
         && drmad_buffer_read_doubles (w0, 0, P, w0_host, error)
         && drmad_net_evaluate (net, val, NULL, &result->val_error, error);
    if (ok) {
      drmad_hyper_reduce (hyper, net, eta, gamma, deta, dgamma, dl2, result->dw0, w0_host, result->gradient);
      if (inject_fault ("hypergradient"))
        result->gradient[0] = NAN;
      result->train_loss = pass.train_loss_sum / ((double) pass.T * net->batch);
      result->val_loss = pass.val_loss;
      result->forward_seconds = (pass.reverse_started - started) / 1e6;
      result->reverse_seconds = (g_get_monotonic_time () - pass.reverse_started) / 1e6;
      result->device_peak_bytes = drmad_device_get_peak_bytes (net->device) - device_base;
      result->host_peak_bytes = pass.host_peak;
      if (!all_finite (result->gradient, result->n) || !all_finite (result->dw0, P)) {
        g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_DIVERGED,
                     "the hypergradient holds NaN or Inf (%s reverse pass over %" G_GUINT64_FORMAT " steps)",
                     drmad_method_name (config->method), pass.T);
        ok = FALSE;
      }
    }
  }
  pass_clear (&pass);
  return ok ? g_steal_pointer (&result) : NULL;
}
