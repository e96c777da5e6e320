/* Hypergradients: the forward run, then the reverse pass of docs/algorithm.md §2
 * along the exact (checkpointed) trajectory, the DrMAD line, or K pieces. */
#include "hyper-private.h"
#include "train-private.h"
#include "reverse-private.h"
#include "enum-names.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const method_names[] = { "exact", "drmad", "piecewise", "truncated", "auto" };   /* DrmadMethod order */

const char *
drmad_method_name (DrmadMethod method)
{
  return (guint) method < G_N_ELEMENTS (method_names) ? method_names[method] : "drmad";
}

gboolean
drmad_method_from_name (const char *name, DrmadMethod *method, GError **error)
{
  /* Listed in the order a user should consider them. */
  static const char *const preferred[] = { "auto", "exact", "piecewise", "truncated", "drmad" };
  static const DrmadMethod preferred_value[] = { DRMAD_METHOD_AUTO, DRMAD_METHOD_EXACT, DRMAD_METHOD_PIECEWISE,
                                                 DRMAD_METHOD_TRUNCATED, DRMAD_METHOD_DRMAD };
  guint value;
  if (!drmad_enum_from_name (name, preferred, G_N_ELEMENTS (preferred), "method", &value, error))
    return FALSE;
  *method = preferred_value[value];
  return TRUE;
}

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
  DrmadBuffer *tape;           /* the a_l and δ_l at w_now on the step's minibatch, or NULL */
  cl_kernel    k_before, k_after, k_interpolate;
  gboolean     with_dgamma;   /* momentum learned: the reverse steps need g_t (docs/algorithm.md §2) */
  /* results of the forward run */
  DrmadDeviceData *val;
  double       train_loss_sum, val_loss;
  gint64       reverse_started;
  /* the ‖dw‖ watch (docs/algorithm.md §2f) */
  double      *dw_host;        /* P numbers to read dw into */
  double       dw_start, watch_factor, growth;
  double       line_beta;      /* the point on the line of the step being reversed; < 0 off a line */
  /* Progress of a checkpointed pass (k > 1): its "reverse" phase counts the
   * steps recomputed from the checkpoints as well as those reversed
   * (drmad_reverse_progress_steps), so that the count and the bar move
   * while a segment is recomputed, not only while it is reversed. */
  guint64      recomputed, recompute_total;
  guint64      reversed_before;  /* the steps reversed before the segment being recomputed */
  guint64      reported;         /* the last "reverse" count recompute_progress gave the caller */
} Pass;

/* ‖dw‖, read back to the host (the watch runs every DRMAD_SYNC_EVERY steps). */
static gboolean
dw_norm (Pass *pass, double *norm, GError **error)
{
  gsize P = pass->net->n_params;
  if (!drmad_buffer_read_doubles (pass->dw, 0, P, pass->dw_host, error))
    return FALSE;
  double sum = 0;
  for (gsize i = 0; i < P; i++)
    sum += pass->dw_host[i] * pass->dw_host[i];
  *norm = sqrt (sum);
  return TRUE;
}

/* The watch (docs/algorithm.md §2f): a reverse pass whose ‖dw‖ grows beyond
 * watch_factor × its start has left the region where its linearisation
 * means anything; stop it here, naming the step, instead of a NaN later. */
static gboolean
watch_dw (Pass *pass, guint64 t, GError **error)
{
  double norm;
  if (!dw_norm (pass, &norm, error))
    return FALSE;
  double growth = norm / MAX (pass->dw_start, 1e-300);
  if (isfinite (growth) && growth <= pass->watch_factor) {
    pass->growth = MAX (pass->growth, growth);
    return TRUE;
  }
  g_autofree char *where = pass->line_beta >= 0
    ? g_strdup_printf (" (β = %.3f on the line w_0 → w_T)", pass->line_beta) : g_strdup ("");
  g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_UNSTABLE,
               "the reverse pass diverged at step %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT "%s: ‖dw‖ grew "
               "from %.3g to %.3g, more than %g-fold", t, pass->T, where, pass->dw_start, norm, pass->watch_factor);
  return FALSE;
}

/* After the forward run, with w_T in the net: dw = ∇_w f(w_T) (docs/algorithm.md
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
  pass->line_beta = -1;
  pass->growth = 1;
  return dw_norm (pass, &pass->dw_start, error);
}

/* Test hook (docs/reliability.md): DRMAD_INJECT_FAULT=KIND:N puts a NaN into the Nth
 * (1-based, counted per process) hypergradient ("hypergradient") or into the
 * minibatch gradient halfway through the Nth forward run ("gradient"). */
static gboolean
inject_fault (const char *kind)
{
#ifndef DRMAD_TEST_HOOKS
  return FALSE;
#endif
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

/* copy() from a hook of the training loop: on the host while the net runs
 * its steps on the calling thread (the queue is idle then, and the steps
 * do not go through it: drmad_trainer_run_steps). */
static gboolean
hook_copy (Pass *pass, DrmadBuffer *dst, DrmadBuffer *src, GError **error)
{
  if (!pass->net->host_direct)
    return copy (dst, src, error);
  g_return_val_if_fail (dst->host && src->host && dst->n * dst->elem_size >= src->n * src->elem_size, FALSE);
  memcpy (dst->host, src->host, src->n * src->elem_size);
  return TRUE;
}

static gboolean
report (Pass *pass, const char *phase, guint64 done, guint64 total, GError **error)
{
  gboolean go_on = TRUE;
  if (pass->progress) {
    drmad_net_callback_begin (pass->net);
    go_on = pass->progress (phase, done, total, pass->user_data);
    drmad_net_callback_end (pass->net);
  }
  if (!go_on) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_CANCELLED, "%s cancelled at step %" G_GUINT64_FORMAT
                 " of %" G_GUINT64_FORMAT, phase, done, total);
    return FALSE;
  }
  return TRUE;
}

/* Forward steps [from, to) from the net's current w and the trainer's v
 * (drmad_trainer_run_steps); before each step t, @record (if set) is called
 * to store what the method needs. */
typedef gboolean (*RecordFunc) (Pass *pass, guint64 t, gpointer data, GError **error);

typedef struct {
  Pass      *pass;
  RecordFunc record;
  gpointer   data;
} Recorder;

static gboolean
record_step (guint64 t, gpointer data, GError **error)
{
  Recorder *recorder = data;
  return recorder->record (recorder->pass, t, recorder->data, error);
}

/* A segment's recomputation, step @step of its @total, as part of the
 * "reverse" phase (Pass.recomputed). */
static gboolean
recompute_progress (const char *phase, guint64 step, guint64 total, gpointer user_data)
{
  Pass *pass = user_data;
  /* R steps, each recomputed once and reversed once */
  pass->reported = pass->reversed_before + pass->recomputed + step;
  return pass->progress ("reverse", pass->reported, 2 * pass->recompute_total, pass->user_data);
}

static gboolean
run_forward (Pass *pass, guint64 from, guint64 to, const char *phase, RecordFunc record,
             gpointer data, double *loss_sum, GError **error)
{
  gboolean training = g_strcmp0 (phase, "train") == 0;
  if (training && from == 0 && inject_fault ("gradient"))
    pass->trainer->poison_step = pass->T / 2;
  Recorder recorder = { pass, record, data };
  DrmadProgressFunc progress = training ? pass->progress : pass->progress ? recompute_progress : NULL;
  g_autoptr (GError) local = NULL;
  if (drmad_trainer_run_steps (pass->trainer, pass->train, pass->seed, from, to, pass->T, phase,
                               record ? record_step : NULL, &recorder, progress,
                               training ? pass->user_data : pass, loss_sum, &local))
    return TRUE;
  /* A cancel during a recomputation, in the caller's terms: its progress
   * showed "reverse" and recompute_progress's count, never the
   * recomputation's own phase and step ("recompute cancelled at step 35 of
   * 300" where the bar said reverse 12/150). */
  if (!training && progress && g_error_matches (local, DRMAD_ERROR, DRMAD_ERROR_CANCELLED)) {
    g_clear_error (&local);
    g_set_error (&local, DRMAD_ERROR, DRMAD_ERROR_CANCELLED, "reverse cancelled at step %" G_GUINT64_FORMAT
                 " of %" G_GUINT64_FORMAT, pass->reported, 2 * pass->recompute_total);
  }
  g_propagate_error (error, g_steal_pointer (&local));
  return FALSE;
}

/* Enqueues the work of one reverse step: the gradient at pass->w_now on the
 * minibatch of step @t_batch, the part before the HVP, the HVP, the part
 * after; @offset selects the schedule segment of η and γ. */
static gboolean
enqueue_reverse_step (Pass *pass, guint64 t_batch, guint32 offset, GError **error)
{
  DrmadNet *net = pass->net;
  DrmadTrainer *trainer = pass->trainer;
  if (net->host_fused) {
    DrmadHostReverse r = {
      .dw = pass->dw, .dv = pass->dv, .v_next = pass->v_next, .v_now = pass->v_now, .g = net->grad,
      .w = pass->w_now, .l2 = trainer->l2, .eta = trainer->eta, .gamma = trainer->gamma, .deta = pass->deta,
      .dgamma = pass->dgamma, .u = pass->u, .hu = pass->hu, .dl2 = pass->dl2, .segment_offset = offset,
      .with_dgamma = pass->with_dgamma, .tape = pass->tape,
      .uniform = drmad_trainer_uniform (trainer, offset / net->n_params),
    };
    return drmad_net_enqueue_host_reverse (net, pass->train, pass->seed, t_batch, &r, error);
  }
  /* g_t enters only dγ; the HVP needs just the forward pass and the δ_l. */
  if (!drmad_net_enqueue_batch_gradient (net, pass->train, pass->w_now, pass->seed, t_batch,
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
  return drmad_net_run_1d (net, &after, net->n_params, error);
}

/* One reverse step with w_t, v_t, v_{t+1} in pass->w_now, v_now, v_next:
 * the minibatch of step @t_batch, the η and γ of step @t_sched (the same
 * step but in the authors' DrMAD loop), step @done of @total for progress. */
static gboolean
reverse_step_at (Pass *pass, guint64 t_batch, guint64 t_sched, guint64 done, guint64 total, GError **error)
{
  guint32 offset = drmad_trainer_segment (pass->trainer, t_sched) * pass->net->n_params;
  if (!enqueue_reverse_step (pass, t_batch, offset, error))
    return FALSE;
  if ((done % DRMAD_SYNC_EVERY == 0 || done == total) && !watch_dw (pass, t_sched, error))
    return FALSE;
  return report (pass, "reverse", done + pass->recomputed, total + pass->recompute_total, error);
}

static gboolean
reverse_step (Pass *pass, guint64 t, GError **error)
{
  return reverse_step_at (pass, t, t, pass->T - t, pass->T, error);
}

/* ---- exact: checkpoints every k steps, each segment recomputed (§2a) ---- */

/* Tape slots of the exact method with checkpoints every @k steps that
 * reverses @reversed steps: on the fused host path without dγ (g_t is not
 * kept), one per step of a segment (k > 1: the recompute's step at w_t
 * leaves its passes there for the reverse step at t), or, with every state
 * stored (k = 1), one per reversed step, left by the training run itself:
 * the reverse pass then runs no forward or backward pass at all. */
static guint64
tape_slots (const DrmadNet *net, gboolean with_dgamma, guint64 k, guint64 reversed)
{
  if (!net->host_fused || with_dgamma)
    return 0;
  return k > 1 ? MIN (k, reversed) : reversed;
}

/* @count arrays of @n reals on one allocation (drmad_buffers_new), or an
 * empty array for none; NULL with @error set on failure. */
static GPtrArray *
vectors (Pass *pass, guint64 count, gsize n, GError **error)
{
  if (count > G_MAXUINT) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE, "%" G_GUINT64_FORMAT " stored arrays are too many",
                 count);
    return NULL;
  }
  return drmad_buffers_new (pass->net->device, (guint) count, n, pass->elem, error);
}

typedef struct {
  guint64      k;
  GPtrArray   *w, *v;          /* checkpoints at t = first, first + k, first + 2k, … < T */
  GPtrArray   *tape;           /* k = 1 with tape slots: the passes of steps first, …, T − 1 */
  guint64      first;          /* the first step reversed: 0, or T − R when truncated */
} Checkpoints;

static gboolean
record_checkpoint (Pass *pass, guint64 t, gpointer data, GError **error)
{
  Checkpoints *cp = data;
  if (cp->tape->len)   /* the step from w_t leaves its passes in its slot */
    pass->net->host_tape = t >= cp->first && t < pass->T ? cp->tape->pdata[t - cp->first] : NULL;
  if (t < cp->first || (t - cp->first) % cp->k != 0 || t == pass->T)
    return TRUE;
  guint64 j = (t - cp->first) / cp->k;
  return hook_copy (pass, cp->w->pdata[j], pass->net->params, error)
         && hook_copy (pass, cp->v->pdata[j], pass->trainer->velocity, error);
}

typedef struct {
  GPtrArray *w, *v;            /* states of the segment being reversed: w_t (k), v_t (k + 1) */
  GPtrArray *tape;             /* each step's a_l and δ_l (k), or empty */
  guint64    first;
} SegmentStates;

static gboolean
record_segment (Pass *pass, guint64 t, gpointer data, GError **error)
{
  SegmentStates *seg = data;
  guint64 j = t - seg->first;
  if (seg->tape->len)  /* the step from w_t leaves its passes in slot j */
    pass->net->host_tape = j < seg->tape->len ? seg->tape->pdata[j] : NULL;
  if (j < seg->w->len && !hook_copy (pass, seg->w->pdata[j], pass->net->params, error))
    return FALSE;
  return j >= seg->v->len || hook_copy (pass, seg->v->pdata[j], pass->trainer->velocity, error);
}

/* The exact reverse pass from T down to @stop (0; truncated: T − R). The
 * checkpoints are kept from @stop on, every @k steps (k ≤ T − stop), so a
 * truncated pass stores only what its R steps need. */
static gboolean
reverse_exact (Pass *pass, guint64 k, guint64 stop, GError **error)
{
  DrmadNet *net = pass->net;
  gsize P = net->n_params;
  guint64 T = pass->T, R = T - stop, slots = tape_slots (net, pass->with_dgamma, k, R);
  guint64 checkpoints = R / k + (R % k != 0);
  Checkpoints cp = { .k = k, .first = stop };
  SegmentStates seg = { 0 };
  g_autoptr (DrmadBuffer) w_end = NULL;
  g_autoptr (DrmadBuffer) v_end = NULL;
  /* Each kind of stored state on one allocation (thousands of arrays with
   * k = 1); the segment's only once training and the validation gradient
   * are done, as their own work arrays are then gone. */
  gboolean ok = (cp.w = vectors (pass, checkpoints, P, error)) && (cp.v = vectors (pass, checkpoints, P, error))
                && (cp.tape = vectors (pass, k == 1 ? slots : 0, drmad_net_host_tape_reals (net), error))
                && run_forward (pass, 0, T, "train", record_checkpoint, &cp, &pass->train_loss_sum, error)
                && start_reverse (pass, error)
                && (w_end = vector (pass, P, error)) && copy (w_end, net->params, error)
                && (k > 1 || ((v_end = vector (pass, P, error)) && copy (v_end, pass->trainer->velocity, error)))
                && (seg.w = vectors (pass, k > 1 ? k : 0, P, error))
                && (seg.v = vectors (pass, k > 1 ? k + 1 : 0, P, error))
                && (seg.tape = vectors (pass, k > 1 ? slots : 0, drmad_net_host_tape_reals (net), error));
  net->host_tape = NULL;
  /* k = 1: every state is stored (and, on the fused host path, every
   * step's passes): reverse straight through the checkpoints. */
  for (guint64 t = T; ok && k == 1 && t-- > stop;) {
    pass->w_now = cp.w->pdata[t - stop];
    pass->v_now = cp.v->pdata[t - stop];
    pass->v_next = t + 1 < T ? cp.v->pdata[t + 1 - stop] : v_end;
    pass->tape = cp.tape->len ? cp.tape->pdata[t - stop] : NULL;
    ok = reverse_step_at (pass, t, t, T - t, R, error);
  }
  pass->recompute_total = k > 1 ? R : 0;
  for (gint64 j = k == 1 ? -1 : (gint64) checkpoints - 1; ok && j >= 0; j--) {
    seg.first = stop + (guint64) j * k;
    guint64 end = MIN (seg.first + k, T);
    /* Recompute the segment from its checkpoint, storing every state. */
    pass->reversed_before = T - end;
    ok = copy (net->params, cp.w->pdata[j], error) && copy (pass->trainer->velocity, cp.v->pdata[j], error)
         && run_forward (pass, seg.first, end, "recompute", record_segment, &seg, NULL, error)
         && copy (seg.v->pdata[end - seg.first], pass->trainer->velocity, error);
    pass->recomputed += end - seg.first;
    net->host_tape = NULL;
    for (guint64 t = end; ok && t-- > seg.first;) {
      pass->w_now = seg.w->pdata[t - seg.first];
      pass->v_now = seg.v->pdata[t - seg.first];
      pass->v_next = seg.v->pdata[t + 1 - seg.first];
      pass->tape = seg.tape->len ? seg.tape->pdata[t - seg.first] : NULL;
      ok = reverse_step_at (pass, t, t, T - t, R, error);
    }
  }
  net->host_tape = NULL;
  pass->w_now = pass->v_now = pass->v_next = pass->tape = NULL;
  if (ok)
    ok = copy (net->params, w_end, error);  /* leave w_T in the net */
  if (ok && stop > 0)  /* truncated: nothing flows back to w_0 (no initial-scale hypergradient) */
    ok = drmad_buffer_zero (pass->dw, error);
  g_clear_pointer (&cp.w, g_ptr_array_unref);
  g_clear_pointer (&cp.v, g_ptr_array_unref);
  g_clear_pointer (&cp.tape, g_ptr_array_unref);
  g_clear_pointer (&seg.w, g_ptr_array_unref);
  g_clear_pointer (&seg.v, g_ptr_array_unref);
  g_clear_pointer (&seg.tape, g_ptr_array_unref);
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
  return hook_copy (pass, w, pass->net->params, error);
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
         && ((pass->line_beta = snap.K == 1 ? (double) t / pass->T : -1), reverse_step (pass, t, error));
    v_next_key = key;
  }
  pass->w_now = pass->v_now = pass->v_next = NULL;
  g_free (snap.times);
  g_ptr_array_unref (snap.w);
  return ok;
}

/* DrMAD as the authors' code runs it (docs/algorithm.md §2b): R points
 * x_i = (1 − β_i) w_0 + β_i w_T, β = linspace(0.001, 0.999, R), visited for
 * i = R − 1 … 0 with the minibatch of step i and no velocity term:
 *   dv += η dw;  u = (1 − γ) dv;  dw −= H(x_i) u;  dλ −= exp(λ) ⟨W(x_i), u⟩;  dv *= γ.
 * With no velocity, dη and dγ stay 0. η and γ are those of the step at
 * β_i T (the authors' schedules were constant). */
static gboolean
reverse_line_points (Pass *pass, guint64 R, GError **error)
{
  DrmadNet *net = pass->net;
  Snapshots snap = { .K = 1, .w = g_ptr_array_new_with_free_func ((GDestroyNotify) drmad_buffer_free) };
  guint64 times[2] = { 0, pass->T };
  snap.times = times;
  g_autoptr (DrmadBuffer) w_now = NULL, zero = NULL;
  gboolean ok = run_forward (pass, 0, pass->T, "train", record_snapshot, &snap, &pass->train_loss_sum, error)
                && start_reverse (pass, error)
                && (w_now = vector (pass, net->n_params, error)) && (zero = vector (pass, net->n_params, error))
                && drmad_buffer_zero (zero, error);
  pass->w_now = w_now;
  pass->v_now = pass->v_next = zero;
  pass->with_dgamma = FALSE;
  for (guint64 i = R; ok && i-- > 0;) {
    double beta = R > 1 ? 0.001 + (0.999 - 0.001) * (double) i / (double) (R - 1) : 0.001;
    guint64 t_sched = MIN ((guint64) (beta * pass->T), pass->T - 1);
    DrmadLaunch launch = drmad_launch_begin (pass->k_interpolate, net->precision);
    drmad_launch_mem (&launch, ((DrmadBuffer *) snap.w->pdata[0])->mem);
    drmad_launch_mem (&launch, ((DrmadBuffer *) snap.w->pdata[1])->mem);
    drmad_launch_real (&launch, beta);
    drmad_launch_real (&launch, 1);
    drmad_launch_mem (&launch, pass->trainer->eta->mem);
    drmad_launch_uint (&launch, 0);
    drmad_launch_mem (&launch, w_now->mem);
    drmad_launch_mem (&launch, NULL);
    drmad_launch_uint (&launch, net->n_params);
    pass->line_beta = beta;
    ok = drmad_net_run_1d (net, &launch, net->n_params, error)
         && reverse_step_at (pass, i, t_sched, R - i, R, error);
  }
  pass->w_now = pass->v_now = pass->v_next = NULL;
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
  g_clear_pointer (&pass->dw_host, g_free);
}

/* Sets up the trainer from θ and the initial weights; the caller then runs forward. */
static gboolean
pass_begin (Pass *pass, DrmadNet *net, DrmadHyper *hyper, DrmadDeviceData *train, guint64 seed, GError **error)
{
  const DrmadHyperConfig *config = drmad_hyper_get_config (hyper);
  gsize P = net->n_params, S = config->segments;
  pass->net = net;
  pass->train = train;
  pass->seed = seed;
  pass->T = config->steps;
  pass->with_dgamma = config->learn_momentum;
  pass->elem = drmad_precision_size (net->precision);
  /* θ expanded to every parameter, for the trainer's buffers only: freed
   * here, not held through the pass (the reduction expands it again). */
  g_autofree double *eta = g_new (double, S * P), *gamma = g_new (double, S * P), *l2 = g_new (double, P);
  double scales[DRMAD_HYPER_MAX_LAYERS];
  host_account (pass, (2 * S + 1) * P * sizeof (double));
  drmad_hyper_expand (hyper, net, eta, gamma, l2, scales);
  gboolean ok = drmad_net_check_data (net, train, error);
  if (!ok)
    g_prefix_error (error, "the training data: ");
  ok = ok && (pass->trainer = drmad_trainer_new (net, error))
       && drmad_trainer_set_schedule (pass->trainer, S, pass->T, eta, gamma, l2, error)
       && drmad_net_init_params (net, seed, scales, error)
       && drmad_buffer_zero (net->acc, error);  /* the forward run's loss sum starts here */
  host_account (pass, -(gint64) ((2 * S + 1) * P * sizeof (double)));
  return ok;
}

static gboolean
drmad_hyper_train_unguarded (DrmadNet *net, DrmadHyper *hyper, DrmadDeviceData *train, guint64 seed,
                             DrmadProgressFunc progress, gpointer user_data, double *train_loss, GError **error)
{
  if (!drmad_hyper_check_net (hyper, net, error))
    return FALSE;
  Pass pass = { .progress = progress, .user_data = user_data };
  double sum = 0;
  gboolean ok = pass_begin (&pass, net, hyper, train, seed, error)
                && run_forward (&pass, 0, pass.T, "train", NULL, NULL, &sum, error);
  if (ok && train_loss)
    *train_loss = sum / ((double) pass.T * net->batch);
  pass_clear (&pass);
  return ok;
}

gboolean
drmad_hyper_train (DrmadNet *net, DrmadHyper *hyper, DrmadDeviceData *train, guint64 seed,
                   DrmadProgressFunc progress, gpointer user_data, double *train_loss, GError **error)
{
  if (!drmad_net_enter (net, "drmad_hyper_train()", error))
    return FALSE;
  gboolean result = drmad_hyper_train_unguarded (net, hyper, train, seed, progress, user_data, train_loss, error);
  drmad_net_leave (net);
  return result;
}

static gboolean
all_finite (const double *values, gsize n)
{
  for (gsize i = 0; i < n; i++)
    if (!isfinite (values[i]))
      return FALSE;
  return TRUE;
}

void
drmad_reverse_config_init (DrmadReverseConfig *config)
{
  *config = (DrmadReverseConfig) { .method = DRMAD_METHOD_AUTO, .snapshots = 16, .seed = 1 };
}

/* ⌈√T⌉, at most G_MAXUINT (DrmadReverseConfig.checkpoint_every is a guint:
 * √(2⁶⁴ − 1) rounds up to 2³², which read as 0). */
static guint64
default_k (guint64 T)
{
  return MIN (MIN ((guint64) ceil (sqrt ((double) T)), T), G_MAXUINT);
}

/* ⌈T/10⌉ (T + 9 wraps near G_MAXUINT64) */
static guint64
default_r (guint64 T)
{
  return MAX (T / 10 + (T % 10 != 0), 1);
}

/* R of drmad and truncated, and k of exact and truncated (checkpoints every
 * k steps of the T, or of the R a truncated pass reverses), as resolved. */
static guint64
resolved_r (const DrmadReverseConfig *config, guint64 T)
{
  return config->reverse_steps ? MIN (config->reverse_steps, T) : default_r (T);
}

static guint64
resolved_k (const DrmadReverseConfig *config, guint64 T)
{
  guint64 span = config->method == DRMAD_METHOD_TRUNCATED ? resolved_r (config, T) : T;
  return config->checkpoint_every ? MIN (config->checkpoint_every, span) : default_k (span);
}

/* @a + @b and @a × @b, held at G_MAXUINT64 where they would wrap: the
 * sizes of a pass over 2^62 steps wrapped to a few kB, and the auto method
 * then chose the exact one, which failed. */
static guint64
add_sat (guint64 a, guint64 b)
{
  guint64 sum;
  return __builtin_add_overflow (a, b, &sum) ? G_MAXUINT64 : sum;
}

static guint64
mul_sat (guint64 a, guint64 b)
{
  guint64 product;
  return __builtin_mul_overflow (a, b, &product) ? G_MAXUINT64 : product;
}

/* Vectors of P numbers a pass of a resolved method allocates: the trainer
 * (velocity, L2, η and γ schedules: 2 + 2S), the pass (w_0, dw, dv, dl2, u,
 * hu, dη and dγ: 6 + 2S; dγ only with momentum learned, else one number:
 * drmad_hypergradient_device_bytes()), and what the method stores. */
static guint64
method_vectors (const DrmadReverseConfig *config, guint64 T, guint64 S)
{
  guint64 vectors = 4 * S + 8, k = resolved_k (config, T), R = resolved_r (config, T);
  switch (config->method) {
  case DRMAD_METHOD_EXACT:
  case DRMAD_METHOD_TRUNCATED: {  /* checkpoints, w_T, then one segment's states (or v_T when k = 1) */
    guint64 reversed = config->method == DRMAD_METHOD_EXACT ? T : R;
    return add_sat (add_sat (vectors, mul_sat (2, reversed / k + (reversed % k != 0))),
                    1 + (k > 1 ? 2 * k + 1 : 1));
  }
  case DRMAD_METHOD_DRMAD:      /* w_0, w_T, the point and the zero velocity; the full line as K = 1 */
    return vectors + (R < T ? 4 : 5);
  default:                      /* K + 1 snapshots, the point and two velocities */
    return vectors + MIN (MAX (config->snapshots, 1), T) + 4;
  }
}

guint64
drmad_hypergradient_device_bytes (DrmadNet *net, DrmadHyper *hyper, const DrmadReverseConfig *config)
{
  const DrmadHyperConfig *hc = drmad_hyper_get_config (hyper);
  guint64 reals = mul_sat (method_vectors (config, hc->steps, hc->segments), net->n_params);
  if (!hc->learn_momentum && reals < G_MAXUINT64)   /* dγ is one number, not S vectors */
    reals -= hc->segments * net->n_params - 1;
  guint64 T = hc->steps, k = resolved_k (config, T), R = resolved_r (config, T);
  if (config->method == DRMAD_METHOD_EXACT || config->method == DRMAD_METHOD_TRUNCATED)
    reals = add_sat (reals, mul_sat (tape_slots (net, hc->learn_momentum, k,
                                                 config->method == DRMAD_METHOD_EXACT ? T : R),
                                     drmad_net_host_tape_reals (net)));
  return mul_sat (reals, drmad_precision_size (net->precision));
}

/* Host memory a pass holds besides the device's (host_account: dw on the
 * host, then θ's expansion, the hypergradient's per-parameter arrays and
 * w_0, (4S + 5) P doubles at the end). */
static guint64
pass_host_bytes (DrmadNet *net, DrmadHyper *hyper)
{
  guint64 S = drmad_hyper_get_config (hyper)->segments;
  return mul_sat (mul_sat (4 * S + 5, net->n_params), sizeof (double));
}

/* Whether the device's memory is the host's (PoCL): the pass's host arrays come out of it too. */
static gboolean
shares_host_memory (DrmadNet *net)
{
  return drmad_device_shares_host_memory (net->device);
}

gboolean
drmad_reverse_config_resolve (DrmadNet *net, DrmadHyper *hyper, const DrmadReverseConfig *config,
                              DrmadReverseConfig *resolved, char **reason, GError **error)
{
  guint64 T = drmad_hyper_get_config (hyper)->steps;
  DrmadReverseConfig r = *config;
  /* Name only the fields at fault. A NaN watch factor is one: it read as the default. */
  g_autoptr (GString) bad = g_string_new (NULL);
  if ((guint) config->method > DRMAD_METHOD_AUTO)
    g_string_append_printf (bad, ", method %d (0 to %d)", (int) config->method, DRMAD_METHOD_AUTO);
  if (config->method == DRMAD_METHOD_PIECEWISE && config->snapshots == 0)
    g_string_append (bad, ", snapshots 0 (at least 1 for the piecewise method)");
  if (!(config->watch_factor >= 0))
    g_string_append_printf (bad, ", watch factor %g (0 or more)", config->watch_factor);
  if (bad->len) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT, "reverse configuration out of range: %s",
                 bad->str + 2);
    return FALSE;
  }
  if (!drmad_hyper_check_net (hyper, net, error))
    return FALSE;
  if (r.method == DRMAD_METHOD_EXACT || r.method == DRMAD_METHOD_TRUNCATED || r.method == DRMAD_METHOD_AUTO)
    r.checkpoint_every = (guint) resolved_k (&r, T);   /* auto: as exact, the method it tries first */
  if (r.method == DRMAD_METHOD_DRMAD || r.method == DRMAD_METHOD_TRUNCATED)
    r.reverse_steps = resolved_r (&r, T);
  r.snapshots = MIN (MAX (r.snapshots, 1), T);
  g_autofree char *why = NULL;
  if (config->method == DRMAD_METHOD_AUTO) {
    /* The memory not yet allocated, as drmad_device_check_room() counts it:
     * on a CPU device no more than this process may still take, which a
     * cgroup's limit makes far less than PoCL's global memory (the
     * machine's). @host_bound names that bound where it applies. */
    g_autofree char *host_bound = NULL;
    guint64 free_bytes = drmad_device_get_free_bytes (net->device, &host_bound);
    guint64 budget = config->memory_budget ? config->memory_budget : free_bytes / 2;
    const char *free_name = host_bound ? "the memory this process may still take" : "the device's free memory";
    /* Which bound that is, for the reason and the refusal: under a
     * container's limit the limit is what to raise. */
    g_autofree char *bound_note = host_bound ? g_strdup_printf (" (a CPU device's memory is the host's: the bound "
                                                                "is %s)", host_bound)
                                             : g_strdup ("");
    if (shares_host_memory (net))   /* what is left beside the host arrays (drmad_hypergradient_check_memory) */
      free_bytes = free_bytes > pass_host_bytes (net, hyper) ? free_bytes - pass_host_bytes (net, hyper) : 0;
    g_autofree char *over = NULL;
    g_autofree char *budget_text = drmad_memory_text (budget);
    g_autofree char *budget_source = config->memory_budget ? g_strdup ("the memory budget")
                                                           : g_strdup_printf ("half %s", free_name);
    if (budget > free_bytes) {
      /* A budget past the device: what it chose by it did not fit, and the
       * memory check refused a method the user never asked for ("the
       * piecewise K=14922 reverse pass … needs 107.4 GB of device memory"). */
      /* With no --memory-budget this happens only where the host arrays
       * share the device's memory: the default, half of it, was no budget
       * the user gave. */
      over = config->memory_budget
             ? g_strdup_printf ("; the memory budget (%s) is more than that, and the pass cannot use more",
                                budget_text)
             : g_strdup_printf ("; the default budget, half %s (%s), is more than that, as the pass's host arrays "
                                "take more than the other half", free_name, budget_text);
      g_free (budget_source);
      budget_source = g_strdup_printf ("%s%s", free_name,
                                       shares_host_memory (net) ? " beside the pass's host arrays" : "");
      g_free (budget_text);
      budget_text = drmad_memory_text (free_bytes);
      budget = free_bytes;
    }
    r.method = DRMAD_METHOD_EXACT;
    guint64 exact_bytes = drmad_hypergradient_device_bytes (net, hyper, &r);
    g_autofree char *exact_text = drmad_memory_text (exact_bytes);
    if (exact_bytes > budget && g_str_equal (exact_text, budget_text)) {
      /* "exact needs 1.3 MiB, more than the memory budget (1.3 MiB)": say the bytes */
      g_free (exact_text);
      g_free (budget_text);
      exact_text = g_strdup_printf ("%" G_GUINT64_FORMAT " bytes", exact_bytes);
      budget_text = g_strdup_printf ("%" G_GUINT64_FORMAT " bytes", budget);
    }
    if (exact_bytes <= budget) {
      why = g_strdup_printf ("auto chose exact (checkpoints every %u steps, %s): it fits %s (%s)%s%s",
                             r.checkpoint_every, exact_text, budget_source, budget_text, over ? over : "",
                             bound_note);
    } else {
      r.method = DRMAD_METHOD_PIECEWISE;
      r.snapshots = 1;
      guint64 one = drmad_hypergradient_device_bytes (net, hyper, &r);
      guint64 per_piece = net->n_params * drmad_precision_size (net->precision);
      if (one > budget) {
        g_autofree char *one_text = drmad_memory_text (one);
        /* Raising the budget helps only where the free memory holds the piece: else the bound is what to change. */
        const char *advice = one <= free_bytes ? "raise the memory budget"
                             : host_bound ? "give this process more memory" : "use a device with more memory";
        g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE,
                     "no reverse pass fits %s (%s): even one straight piece needs %s; %s or use a smaller "
                     "network%s", budget_source, budget_text, one_text, advice, bound_note);
        return FALSE;
      }
      r.snapshots = (guint) MIN (1 + (budget - one) / per_piece, MIN (T, G_MAXUINT));
      why = g_strdup_printf ("auto chose piecewise with K = %u pieces: exact needs %s, more than %s (%s), and "
                             "K = %u is the most that fits%s%s", r.snapshots, exact_text, budget_source,
                             budget_text, r.snapshots, over ? over : "", bound_note);
    }
  } else {
    g_autofree char *what = drmad_reverse_config_describe (&r, T);
    const DrmadHyperConfig *hc = drmad_hyper_get_config (hyper);
    /* groups this method gives no hypergradient for (reverse_line_points; reverse_exact stopped short of 0): say so at once */
    const char *blind = r.method == DRMAD_METHOD_DRMAD && r.reverse_steps < T && (hc->learn_lr || hc->learn_momentum)
                        ? "; it has no learning-rate or momentum hypergradient (its loop has no velocity), so "
                          "those stay at their starting values"
                        : r.method == DRMAD_METHOD_TRUNCATED && r.reverse_steps < T && hc->learn_init_scale
                        ? "; it has no initial-scale hypergradient, so the initial scales stay where they start" : "";
    /* A setting past what T allows is held at its limit: say so, not "as asked" alone. */
    g_autoptr (GString) held = g_string_new (NULL);
    if (r.method == DRMAD_METHOD_PIECEWISE && config->snapshots > T)
      g_string_append_printf (held, "; K = %u is more than the %" G_GUINT64_FORMAT " steps, so K = T (the exact "
                              "trajectory)", config->snapshots, T);
    if (r.method == DRMAD_METHOD_TRUNCATED && config->reverse_steps > T)
      g_string_append_printf (held, "; R = %" G_GUINT64_FORMAT " is more than the %" G_GUINT64_FORMAT " steps, so "
                              "R = T (exact)", config->reverse_steps, T);
    if ((r.method == DRMAD_METHOD_EXACT || r.method == DRMAD_METHOD_TRUNCATED)
        && config->checkpoint_every > r.checkpoint_every)
      g_string_append_printf (held, "; k = %u is more than the %" G_GUINT64_FORMAT " steps reversed, so k = %u",
                              config->checkpoint_every, r.method == DRMAD_METHOD_EXACT ? T : r.reverse_steps,
                              r.checkpoint_every);
    why = g_strdup_printf ("method %s, as asked%s%s", what, held->str, blind);
  }
  *resolved = r;
  if (reason)
    *reason = g_steal_pointer (&why);
  return TRUE;
}

char *
drmad_reverse_config_describe (const DrmadReverseConfig *c, guint64 T)
{
  switch (c->method) {
  case DRMAD_METHOD_EXACT:
    return g_strdup_printf ("exact k=%" G_GUINT64_FORMAT, resolved_k (c, T));
  case DRMAD_METHOD_PIECEWISE:
    return g_strdup_printf ("piecewise K=%u", (guint) MIN (MAX (c->snapshots, 1), T));
  case DRMAD_METHOD_TRUNCATED:
    return g_strdup_printf ("truncated R=%" G_GUINT64_FORMAT " k=%" G_GUINT64_FORMAT, resolved_r (c, T),
                            resolved_k (c, T));
  case DRMAD_METHOD_DRMAD: {
    guint64 R = c->reverse_steps ? c->reverse_steps : default_r (T);
    return R >= T ? g_strdup ("drmad R=T (full line)") : g_strdup_printf ("drmad R=%" G_GUINT64_FORMAT, R);
  }
  default:
    return g_strdup ("auto");
  }
}

DrmadFidelity
drmad_fidelity_compute (const double *a, const double *r, gsize first, gsize count)
{
  /* Each vector divided by its largest magnitude first, so that the squares
   * neither overflow (‖a‖ beyond 1e154) nor underflow (below 1e-154). */
  double scale_a = 0, scale_r = 0;
  for (gsize i = first; i < first + count; i++) {
    scale_a = fmax (scale_a, fabs (a[i]));
    scale_r = fmax (scale_r, fabs (r[i]));
  }
  double scale = fmax (scale_a, scale_r);
  double ar = 0, aa = 0, rr = 0, diff = 0;
  gsize agree = 0;
  for (gsize i = first; i < first + count; i++) {
    double x = scale_a > 0 ? a[i] / scale_a : a[i], y = scale_r > 0 ? r[i] / scale_r : r[i];
    double d = scale > 0 ? a[i] / scale - r[i] / scale : a[i] - r[i];
    ar += x * y;
    aa += x * x;
    rr += y * y;
    diff += d * d;
    agree += (a[i] > 0) == (r[i] > 0) && (a[i] < 0) == (r[i] < 0);
  }
  DrmadFidelity f;
  f.cosine = aa == 0 && rr == 0 ? 1 : aa == 0 || rr == 0 ? ar * 0 : ar / (sqrt (aa) * sqrt (rr));
  /* ‖a − r‖ / ‖r‖: ‖a − r‖ in units of the larger of the two scales, ‖r‖ in
   * its own (∞ where their ratio overflows). */
  f.relative_error = rr > 0 ? sqrt (diff) / sqrt (rr) * (scale / scale_r) : (diff > 0 ? INFINITY : diff * 0);
  f.sign_agreement = count ? (double) agree / count : 1;
  return f;
}

/* drmad_hypergradient_check_memory(); where @again (a pass of a run that
 * already ran one of it, drmad_hypergradient_compute_again()) against the
 * device's own bound alone (drmad_device_check_room_again()). */
static gboolean
check_memory (DrmadNet *net, DrmadHyper *hyper, const DrmadReverseConfig *config, gboolean again, GError **error)
{
  /* The pass's own vectors plus what the method stores (docs/algorithm.md §2e). */
  const DrmadHyperConfig *hc = drmad_hyper_get_config (hyper);
  DrmadReverseConfig resolved;
  if (!drmad_reverse_config_resolve (net, hyper, config, &resolved, NULL, error))
    return FALSE;
  const char *advice = resolved.method == DRMAD_METHOD_EXACT || resolved.method == DRMAD_METHOD_TRUNCATED
                       ? "use a larger checkpoint spacing, the piecewise method, or DrMAD"
                       : "use the piecewise method with fewer pieces, or DrMAD";
  g_autofree char *method = drmad_reverse_config_describe (&resolved, hc->steps);
  guint64 bytes = drmad_hypergradient_device_bytes (net, hyper, &resolved);
  g_autofree char *what = g_strdup_printf ("the %s reverse pass over T = %" G_GUINT64_FORMAT " steps", method,
                                           hc->steps);
  /* A CPU device's memory is the host's: the pass's host arrays come out of
   * it too (168 bytes a parameter at S = 4, more than DrMAD's device
   * vectors), and a pass that fitted the device alone was killed for memory. */
  if (shares_host_memory (net)) {
    guint64 host = pass_host_bytes (net, hyper);
    g_autofree char *host_text = drmad_memory_text (host);
    g_free (what);
    what = g_strdup_printf ("the %s reverse pass over T = %" G_GUINT64_FORMAT " steps, with its %s of host arrays "
                            "(a CPU device's memory is the host's),", method, hc->steps, host_text);
    bytes = add_sat (bytes, host);
  }
  gsize elem = drmad_precision_size (net->precision);
  return (again ? drmad_device_check_room_again : drmad_device_check_room) (net->device, bytes,
                                                                           hc->segments * net->n_params * elem,
                                                                           what, advice, error);
}

gboolean
drmad_hypergradient_check_memory (DrmadNet *net, DrmadHyper *hyper, const DrmadReverseConfig *config,
                                  GError **error)
{
  return check_memory (net, hyper, config, FALSE, error);
}

static DrmadHypergradient *
drmad_hypergradient_compute_unguarded (DrmadNet *net, DrmadHyper *hyper, DrmadDeviceData *train,
                                       DrmadDeviceData *val, const DrmadReverseConfig *config, gboolean again,
                                       DrmadProgressFunc progress, gpointer user_data, double *unstable_losses,
                                       GError **error)
{
  if (!drmad_hyper_check_net (hyper, net, error))
    return NULL;
  if (!drmad_net_check_data (net, val, error)) {
    g_prefix_error (error, "the validation data: ");
    return NULL;
  }
  DrmadReverseConfig resolved;
  if (!drmad_reverse_config_resolve (net, hyper, config, &resolved, NULL, error)
      || !check_memory (net, hyper, &resolved, again, error))
    return NULL;
  config = &resolved;
  /* The pass measures its own peak from here; the caller's peak (since open
   * or their last reset) is given back at the end. */
  guint64 device_base, caller_peak;
  drmad_device_begin_peak (net->device, &device_base, &caller_peak);
  Pass pass = { .progress = progress, .user_data = user_data, .val = val,
                .watch_factor = config->watch_factor > 0 ? config->watch_factor : 1e6,
                .dw_host = g_new (double, net->n_params) };
  g_autoptr (DrmadBuffer) w0 = NULL;
  gint64 started = g_get_monotonic_time ();
  gsize P = net->n_params, S = drmad_hyper_get_config (hyper)->segments;
  gboolean momentum_learned = drmad_hyper_get_config (hyper)->learn_momentum;
  gboolean ok = pass_begin (&pass, net, hyper, train, config->seed, error)
    && (w0 = vector (&pass, P, error)) && copy (w0, net->params, error)
    && (pass.dw = vector (&pass, P, error)) && (pass.dv = vector (&pass, P, error))
    && (pass.deta = vector (&pass, S * P, error))
    && (pass.dgamma = vector (&pass, momentum_learned ? S * P : 1, error))   /* dγ only when kept */
    && (pass.dl2 = vector (&pass, P, error)) && (pass.u = vector (&pass, P, error))
    && (pass.hu = vector (&pass, P, error))
    && drmad_buffer_zero (pass.dv, error) && drmad_buffer_zero (pass.deta, error)
    && drmad_buffer_zero (pass.dgamma, error) && drmad_buffer_zero (pass.dl2, error)
    && (pass.k_before = drmad_device_create_kernel (net->device, net->precision, "reverse_before_hvp", error))
    && (pass.k_after = drmad_device_create_kernel (net->device, net->precision, "reverse_after_hvp", error))
    && (pass.k_interpolate = drmad_device_create_kernel (net->device, net->precision, "interpolate", error));
  host_account (&pass, P * sizeof (double));  /* dw_host */
  if (ok && (config->method == DRMAD_METHOD_EXACT || config->method == DRMAD_METHOD_TRUNCATED))
    ok = reverse_exact (&pass, config->checkpoint_every, config->method == DRMAD_METHOD_TRUNCATED
                                                         ? pass.T - config->reverse_steps : 0, error);
  else if (ok && config->method == DRMAD_METHOD_DRMAD && config->reverse_steps < pass.T)
    ok = reverse_line_points (&pass, config->reverse_steps, error);
  else if (ok)
    ok = reverse_pieces (&pass, config->method == DRMAD_METHOD_DRMAD ? 1 : config->snapshots, error);

  g_autoptr (DrmadHypergradient) result = NULL;
  if (ok) {
    result = g_new0 (DrmadHypergradient, 1);
    result->n = drmad_hyper_get_n (hyper);
    result->n_params = P;
    result->gradient = g_new0 (double, MAX (result->n, 1));
    result->dw0 = g_new (double, P);
    g_autofree double *deta = g_new (double, S * P), *dgamma = g_new0 (double, S * P);
    g_autofree double *dl2 = g_new (double, P), *w0_host = g_new (double, P);
    g_autofree double *eta = g_new (double, S * P), *gamma = g_new (double, S * P), *l2 = g_new (double, P);
    double scales[DRMAD_HYPER_MAX_LAYERS];
    host_account (&pass, (4 * S + 4) * P * sizeof (double));
    drmad_hyper_expand (hyper, net, eta, gamma, l2, scales);
    ok = drmad_buffer_read_doubles (pass.deta, 0, S * P, deta, error)
         && (!momentum_learned || drmad_buffer_read_doubles (pass.dgamma, 0, S * P, dgamma, error))
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
      guint64 peak = drmad_device_get_peak_bytes (net->device);
      result->device_peak_bytes = peak > device_base ? peak - device_base : 0;
      result->host_peak_bytes = pass.host_peak;
      result->reverse_growth = pass.growth;
      if (!all_finite (result->gradient, result->n) || !all_finite (result->dw0, P)) {
        g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_DIVERGED,
                     "the hypergradient holds NaN or Inf (%s reverse pass over %" G_GUINT64_FORMAT " steps)",
                     drmad_method_name (config->method), pass.T);
        ok = FALSE;
      }
    }
  }
  if (!ok && unstable_losses && error && g_error_matches (*error, DRMAD_ERROR, DRMAD_ERROR_UNSTABLE)) {
    /* the training ran whole and f(w_T) was measured before the reverse pass */
    unstable_losses[0] = pass.train_loss_sum / ((double) pass.T * net->batch);
    unstable_losses[1] = pass.val_loss;
  }
  pass_clear (&pass);
  drmad_device_raise_peak (net->device, caller_peak);
  return ok ? g_steal_pointer (&result) : NULL;
}

guint64
drmad_reverse_progress_steps (const DrmadReverseConfig *config, guint64 T)
{
  switch (config->method) {
  case DRMAD_METHOD_EXACT:
  case DRMAD_METHOD_TRUNCATED: {
    guint64 R = config->method == DRMAD_METHOD_TRUNCATED ? MIN (config->reverse_steps, T) : T;
    return config->checkpoint_every > 1 ? 2 * R : R;   /* reverse_exact */
  }
  case DRMAD_METHOD_DRMAD:
    return config->reverse_steps < T ? config->reverse_steps : T;   /* reverse_line_points, else the full line */
  default:
    return T;   /* reverse_pieces */
  }
}

/* Both entry points: the net entered once for the pass; @again as
 * drmad_hypergradient_compute_again() (lib/reverse-private.h) says. */
static DrmadHypergradient *
compute_entered (DrmadNet *net, DrmadHyper *hyper, DrmadDeviceData *train, DrmadDeviceData *val,
                 const DrmadReverseConfig *config, gboolean again, DrmadProgressFunc progress,
                 gpointer user_data, double *unstable_losses, GError **error)
{
  if (!drmad_net_enter (net, "drmad_hypergradient_compute()", error))
    return NULL;
  DrmadHypergradient *result = drmad_hypergradient_compute_unguarded (net, hyper, train, val, config, again,
                                                                       progress, user_data, unstable_losses, error);
  drmad_net_leave (net);
  return result;
}

DrmadHypergradient *
drmad_hypergradient_compute (DrmadNet *net, DrmadHyper *hyper, DrmadDeviceData *train,
                             DrmadDeviceData *val, const DrmadReverseConfig *config,
                             DrmadProgressFunc progress, gpointer user_data, GError **error)
{
  return compute_entered (net, hyper, train, val, config, FALSE, progress, user_data, NULL, error);
}

DrmadHypergradient *
drmad_hypergradient_compute_again (DrmadNet *net, DrmadHyper *hyper, DrmadDeviceData *train,
                                   DrmadDeviceData *val, const DrmadReverseConfig *config,
                                   DrmadProgressFunc progress, gpointer user_data, GError **error)
{
  return compute_entered (net, hyper, train, val, config, TRUE, progress, user_data, NULL, error);
}

DrmadHypergradient *
drmad_hypergradient_compute_measured (DrmadNet *net, DrmadHyper *hyper, DrmadDeviceData *train,
                                      DrmadDeviceData *val, const DrmadReverseConfig *config, gboolean again,
                                      DrmadProgressFunc progress, gpointer user_data, double unstable_losses[2],
                                      GError **error)
{
  unstable_losses[0] = unstable_losses[1] = NAN;
  return compute_entered (net, hyper, train, val, config, again, progress, user_data, unstable_losses, error);
}
