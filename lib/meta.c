/* The meta-optimiser: Adam, SGD with momentum or sign-SGD on θ, with the
 * divergence guard (drmad-meta.h). */
#include "drmad-meta.h"
#include "net-private.h"
#include "reverse-private.h"
#include "meta-private.h"
#include "enum-names.h"

#include <math.h>
#include <string.h>

/* Adam's hypergradient is held to ±ADAM_GRADIENT_MAX (apply_update()): its
 * square and the bias-corrected second moment stay finite. */
#define ADAM_GRADIENT_MAX 1e150

struct _DrmadMeta {
  DrmadNet          *net;
  DrmadHyper        *hyper;
  DrmadDeviceData   *train, *val;
  DrmadReverseConfig reverse;
  DrmadMetaConfig    config;
  double             learning_rate;
  gsize              n;
  guint              iteration;
  guint              adam_t;
  double            *m, *s;                 /* Adam moments or SGD velocity (m) */
  double            *accepted_theta;        /* last θ whose hypergradient was accepted */
  double            *accepted_gradient;     /* its hypergradient */
  double            *accepted_m, *accepted_s;
  guint              accepted_adam_t;
  gboolean           have_accepted;
  double             best_val_loss;
  double            *best_theta;            /* the accepted θ of best_val_loss */
  guint              best_iteration;        /* the meta-iteration that measured it (0: none yet) */
  DrmadHypergradient *last;
  DrmadReverseConfig resolved;              /* auto made concrete */
  char              *method_reason;
  gboolean           have_reference;
  DrmadReverseConfig reference;             /* what fidelity is measured against */
  char              *reference_reason;      /* why there is none, when there is none */
  /* Whether the pass (the reference's) got past its memory check once:
   * later ones are checked against the device's own bound alone
   * (drmad_hypergradient_compute_again()). */
  gboolean           pass_ran, reference_ran;
  DrmadReverseConfig asked;                 /* the method as asked (drmad_meta_keep_recorded_method()) */
  DrmadMetaReduceFunc reduce;               /* drmad_meta_set_reduce(), or NULL */
  gpointer           reduce_data;
};

void
drmad_meta_config_init (DrmadMetaConfig *config)
{
  *config = (DrmadMetaConfig) {
    .algorithm = DRMAD_META_ADAM, .learning_rate = 0.05, .momentum = 0.9,
    .beta1 = 0.9, .beta2 = 0.999, .epsilon = 1e-8, .clip = 0, .divergence_factor = 2, .fidelity_every = 10,
    .learning_rate_growth = 1,
  };
}

static const char *const algorithm_names[] = { "adam", "sgd", "sign" };   /* DrmadMetaAlgorithm order */
DRMAD_DEFINE_ENUM_NAMES (DrmadMetaAlgorithm, drmad_meta_algorithm_name, drmad_meta_algorithm_from_name,
                         algorithm_names, "meta-optimiser")

void
drmad_meta_report_free (DrmadMetaReport *report)
{
  if (!report)
    return;
  g_free (report->event);
  g_free (report->group_norms);
  g_free (report->group_fidelity);
  g_free (report->fidelity_warning);
  g_free (report);
}

void
drmad_meta_free (DrmadMeta *meta)
{
  if (!meta)
    return;
  g_free (meta->m);
  g_free (meta->s);
  g_free (meta->accepted_theta);
  g_free (meta->accepted_gradient);
  g_free (meta->accepted_m);
  g_free (meta->accepted_s);
  g_free (meta->best_theta);
  g_free (meta->method_reason);
  g_free (meta->reference_reason);
  drmad_hypergradient_free (meta->last);
  g_free (meta);
}

/* The most faithful method that fits, for fidelity (docs/algorithm.md §5): exact,
 * else piecewise with 4×, then 2× the pieces. */
static void
choose_reference (DrmadMeta *meta, DrmadNet *net, DrmadHyper *hyper, const DrmadReverseConfig *asked)
{
  guint64 T = drmad_hyper_get_config (hyper)->steps;
  DrmadReverseConfig budget = *asked;
  budget.method = DRMAD_METHOD_AUTO;
  DrmadReverseConfig best;
  if (meta->resolved.method == DRMAD_METHOD_EXACT) {
    meta->reference = meta->resolved;
    meta->have_reference = TRUE;
    return;
  }
  if (!drmad_reverse_config_resolve (net, hyper, &budget, &best, NULL, NULL)) {
    meta->reference_reason = g_strdup ("no more faithful method fits the memory budget");
    return;
  }
  if (best.method == DRMAD_METHOD_EXACT) {
    meta->reference = best;
    meta->have_reference = TRUE;
    return;
  }
  guint current = meta->resolved.method == DRMAD_METHOD_PIECEWISE ? meta->resolved.snapshots : 1;
  for (guint factor = 4; factor >= 2; factor /= 2) {
    guint K = (guint) MIN ((guint64) current * factor, T);
    if (K > current && K <= best.snapshots) {
      meta->reference = best;
      meta->reference.snapshots = K;
      meta->have_reference = TRUE;
      return;
    }
  }
  meta->reference_reason = g_strdup_printf ("no method more faithful than %s fits the memory budget",
                                            drmad_method_name (meta->resolved.method));
}

DrmadMeta *
drmad_meta_new (DrmadNet *net, DrmadHyper *hyper, DrmadDeviceData *train, DrmadDeviceData *val,
                const DrmadReverseConfig *reverse, const DrmadMetaConfig *config, GError **error)
{
  /* Name only the settings at fault. A NaN clip is one: it read as off. */
  g_autoptr (GString) bad = g_string_new (NULL);
  if (!(config->learning_rate > 0) || !isfinite (config->learning_rate))
    g_string_append_printf (bad, ", learning rate %g (> 0)", config->learning_rate);
  if (!(config->divergence_factor >= 1))
    g_string_append_printf (bad, ", divergence factor %g (≥ 1)", config->divergence_factor);
  if (!(config->clip >= 0))
    g_string_append_printf (bad, ", clip %g (≥ 0)", config->clip);
  if (!(config->momentum >= 0 && config->momentum < 1))
    g_string_append_printf (bad, ", momentum %g (in [0, 1))", config->momentum);
  if (!(config->beta1 >= 0 && config->beta1 < 1) || !(config->beta2 >= 0 && config->beta2 < 1))
    g_string_append_printf (bad, ", betas %g, %g (in [0, 1))", config->beta1, config->beta2);
  if (!(config->learning_rate_growth >= 1 && config->learning_rate_growth <= 100))
    g_string_append_printf (bad, ", learning-rate growth %g (1 to 100)", config->learning_rate_growth);
  if (config->algorithm == DRMAD_META_ADAM && !(config->epsilon > 0 && isfinite (config->epsilon)))
    g_string_append_printf (bad, ", Adam's epsilon %g (> 0)", config->epsilon);
  if (bad->len) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT, "meta-optimiser settings out of range: %s",
                 bad->str + 2);
    return NULL;
  }
  if (drmad_hyper_get_n (hyper) == 0) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "no hyperparameter group is learned: enable at least one");
    return NULL;
  }
  DrmadReverseConfig resolved;
  g_autofree char *reason = NULL;
  if ((guint) config->algorithm > DRMAD_META_SIGN) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT, "meta-optimiser %d out of range (0 to %d)",
                 (int) config->algorithm, DRMAD_META_SIGN);
    return NULL;
  }
  if (!drmad_net_check_data (net, train, error)) {
    g_prefix_error (error, "the training data: ");
    return NULL;
  }
  if (!drmad_net_check_data (net, val, error)) {
    g_prefix_error (error, "the validation data: ");
    return NULL;
  }
  if (!drmad_reverse_config_resolve (net, hyper, reverse, &resolved, &reason, error))
    return NULL;
  DrmadMeta *meta = g_new0 (DrmadMeta, 1);
  meta->resolved = resolved;
  meta->method_reason = g_steal_pointer (&reason);
  choose_reference (meta, net, hyper, reverse);
  meta->net = net;
  meta->hyper = hyper;
  meta->train = train;
  meta->val = val;
  meta->reverse = resolved;
  meta->asked = *reverse;
  meta->config = *config;
  meta->learning_rate = config->learning_rate;
  meta->n = drmad_hyper_get_n (hyper);
  meta->m = g_new0 (double, meta->n);
  meta->s = g_new0 (double, meta->n);
  meta->accepted_theta = g_new0 (double, meta->n);
  meta->accepted_gradient = g_new0 (double, meta->n);
  meta->accepted_m = g_new0 (double, meta->n);
  meta->accepted_s = g_new0 (double, meta->n);
  meta->best_theta = g_new0 (double, meta->n);
  meta->best_val_loss = INFINITY;
  return meta;
}

/* @config with the method and its settings of @method (what a record
 * keeps: history.csv's method_used), the rest (seed, watch factor, budget)
 * @config's own. */
static DrmadReverseConfig
with_method_of (const DrmadReverseConfig *config, const DrmadReverseConfig *method)
{
  DrmadReverseConfig r = *config;
  r.method = method->method;
  r.checkpoint_every = method->checkpoint_every;
  r.snapshots = method->snapshots;
  r.reverse_steps = method->reverse_steps;
  return r;
}

void
drmad_meta_keep_recorded_method (DrmadMeta *meta, const DrmadReverseConfig *method,
                                 const DrmadReverseConfig *reference)
{
  if (meta->asked.method != DRMAD_METHOD_AUTO || method->method == DRMAD_METHOD_AUTO)
    return;
  guint64 T = drmad_hyper_get_config (meta->hyper)->steps;
  DrmadReverseConfig kept = with_method_of (&meta->resolved, method);
  g_autofree char *kept_text = drmad_reverse_config_describe (&kept, T);
  g_autofree char *now_text = drmad_reverse_config_describe (&meta->resolved, T);
  g_autoptr (GError) local = NULL;
  if (!drmad_hypergradient_check_memory (meta->net, meta->hyper, &kept, &local)) {
    char *reason = g_strdup_printf ("%s; the run's meta-iterations so far used %s, which does not fit now (%s), "
                                    "so from here on its numbers are not those of an uninterrupted run",
                                    meta->method_reason, kept_text, local->message);
    g_free (meta->method_reason);
    meta->method_reason = reason;
    return;
  }
  if (!g_str_equal (kept_text, now_text)) {
    char *reason = g_strdup_printf ("auto kept %s, the method the run's meta-iterations so far used, so that the "
                                    "resumed run goes on as it began; started now, %s", kept_text,
                                    meta->method_reason);
    g_free (meta->method_reason);
    meta->method_reason = reason;
    meta->resolved = meta->reverse = kept;
    g_clear_pointer (&meta->reference_reason, g_free);
    meta->have_reference = FALSE;
    choose_reference (meta, meta->net, meta->hyper, &meta->asked);
  }
  /* the reference the run measured against, where it still fits */
  DrmadReverseConfig recorded = reference ? with_method_of (&meta->resolved, reference) : meta->resolved;
  if (reference && reference->method != DRMAD_METHOD_AUTO
      && drmad_hypergradient_check_memory (meta->net, meta->hyper, &recorded, NULL)) {
    g_clear_pointer (&meta->reference_reason, g_free);
    meta->reference = recorded;
    meta->have_reference = TRUE;
  }
}

const DrmadHypergradient *drmad_meta_get_last_hypergradient (DrmadMeta *meta) { return meta->last; }
const DrmadReverseConfig *drmad_meta_get_method (DrmadMeta *meta) { return &meta->resolved; }
const char *drmad_meta_get_method_reason (DrmadMeta *meta) { return meta->method_reason; }
const char *drmad_meta_get_no_fidelity_reason (DrmadMeta *meta) { return meta->have_reference ? NULL : meta->reference_reason; }
const double *drmad_meta_get_best_values (DrmadMeta *meta) { return meta->have_accepted ? meta->best_theta : NULL; }
double drmad_meta_get_best_val_loss (DrmadMeta *meta) { return meta->best_val_loss; }
guint drmad_meta_get_stalled (DrmadMeta *meta) { return meta->iteration - meta->best_iteration; }
double drmad_meta_get_learning_rate (DrmadMeta *meta) { return meta->learning_rate; }

/* θ_next = θ − step(gradient), from the accepted point and its optimiser
 * state, projected onto the ranges a value may take (@clamped: how many
 * entries it moved onto a bound). */
static gboolean
apply_update (DrmadMeta *meta, guint *clamped, GError **error)
{
  const DrmadMetaConfig *c = &meta->config;
  g_autofree double *theta = g_memdup2 (meta->accepted_theta, meta->n * sizeof (double));
  memcpy (meta->m, meta->accepted_m, meta->n * sizeof (double));
  memcpy (meta->s, meta->accepted_s, meta->n * sizeof (double));
  meta->adam_t = meta->accepted_adam_t + 1;
  for (gsize i = 0; i < meta->n; i++) {
    double g = meta->accepted_gradient[i];
    if (c->clip > 0)
      g = CLAMP (g, -c->clip, c->clip);
    switch (c->algorithm) {
    case DRMAD_META_SGD:
      /* Held finite: an infinite velocity would be saved in every later
       * checkpoint, which the load then had to refuse (docs/reliability.md). */
      meta->m[i] = CLAMP (c->momentum * meta->m[i] - g, -G_MAXDOUBLE, G_MAXDOUBLE);
      theta[i] += meta->learning_rate * meta->m[i];
      break;
    case DRMAD_META_SIGN:
      theta[i] -= meta->learning_rate * (g > 0 ? 1 : g < 0 ? -1 : 0);
      break;
    default:
      /* |g| > 1.34e154 (a float64 net, no clip) squares to +Inf. Adam's step
       * does not depend on g's scale, so g is held to ±1e150: g², the second
       * moment and its bias-corrected value (÷ 1 − β2^t, at least 1 − β2)
       * stay far below the largest double, the step about the learning rate
       * in g's direction at every meta-iteration, and a checkpoint of the
       * state loads. A second moment of the largest double (which a state
       * may hold) corrected overflows: its square root is then taken before
       * the correction. */
      g = CLAMP (g, -ADAM_GRADIENT_MAX, ADAM_GRADIENT_MAX);
      meta->m[i] = c->beta1 * meta->m[i] + (1 - c->beta1) * g;
      meta->s[i] = fmin (c->beta2 * meta->s[i] + (1 - c->beta2) * g * g, G_MAXDOUBLE);
      double m_hat = meta->m[i] / (1 - pow (c->beta1, meta->adam_t));
      double s_hat = meta->s[i] / (1 - pow (c->beta2, meta->adam_t));
      double root = isfinite (s_hat) ? sqrt (s_hat) : sqrt (meta->s[i]) / sqrt (1 - pow (c->beta2, meta->adam_t));
      theta[i] -= meta->learning_rate * m_hat / (root + c->epsilon);
    }
  }
  *clamped = drmad_hyper_clamp_range (meta->hyper, theta);
  return drmad_hyper_set_values (meta->hyper, theta, error);
}

/* After a step apply_update() refused: θ and the optimiser state go back to
 * the accepted point, so that the next meta-iteration measures it again and
 * steps from it with the halved meta learning rate. */
static void
stay_at_accepted (DrmadMeta *meta)
{
  drmad_hyper_set_values (meta->hyper, meta->accepted_theta, NULL);
  memcpy (meta->m, meta->accepted_m, meta->n * sizeof (double));
  memcpy (meta->s, meta->accepted_s, meta->n * sizeof (double));
  meta->adam_t = meta->accepted_adam_t;
}

static DrmadMetaReport *
new_report (DrmadMeta *meta)
{
  DrmadMetaReport *report = g_new0 (DrmadMetaReport, 1);
  report->iteration = ++meta->iteration;
  report->n_groups = drmad_hyper_get_n_groups (meta->hyper);
  /* NaN until a pass gives them: a meta-iteration whose training or reverse
   * pass diverged has no hypergradient, and reported ‖df/dθ‖ = 0 for it
   * (history.csv's cells, the terminal's and the window's |dl2| 0). */
  report->group_norms = g_new (double, MAX (report->n_groups, 1));
  for (guint g = 0; g < MAX (report->n_groups, 1); g++)
    report->group_norms[g] = NAN;
  report->train_loss = report->val_loss = report->val_error = NAN;
  report->ranks = 1;   /* one process, spreads 0, unless a reduction hook says otherwise */
  return report;
}

/* The error of a pass that diverged before any θ was accepted: there is
 * nothing to go back to. A training that diverged ends its own error with
 * the advice, which this one repeated ("(try a smaller learning rate)):
 * lower the initial learning rate"). */
static void
set_start_diverged (const char *event, GError **error)
{
  gboolean advised = g_str_has_suffix (event, DRMAD_SMALLER_LR_ADVICE);
  g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_DIVERGED, "the starting hyperparameters already diverge (%s)%s", event,
               advised ? "" : ": lower the initial learning rate");
}

/* The guard: go back to the accepted θ and take a half-length step. */
static DrmadMetaReport *
reject_full (DrmadMeta *meta, DrmadMetaReport *report, char *event, gboolean unstable, GError **error)
{
  report->rejected = TRUE;
  report->event = event;
  meta->learning_rate /= 2;
  report->meta_learning_rate = meta->learning_rate;
  if (!meta->have_accepted && unstable) {
    /* The reverse pass blew up at the starting θ: nothing to step from; keep θ. */
    return report;
  }
  if (!meta->have_accepted) {
    set_start_diverged (event, error);
    drmad_meta_report_free (report);
    return NULL;
  }
  g_autoptr (GError) local = NULL;
  if (!apply_update (meta, &report->clamped, &local)) {
    /* The half-length step would put NaN into θ too: rejected all the same, rather than ending the run. */
    stay_at_accepted (meta);
    report->event = g_strdup_printf ("%s; the half-length step too (%s), θ stays at the last accepted values", event,
                                     local->message);
    g_free (event);
  }
  return report;
}

static DrmadMetaReport *
reject (DrmadMeta *meta, DrmadMetaReport *report, char *event, GError **error)
{
  return reject_full (meta, report, event, FALSE, error);
}

/* The reference pass's progress as one phase, "fidelity": its training
 * (steps 0 to T) then its reverse pass (T on), over T plus the reverse
 * pass's count, known before it starts (drmad_reverse_progress_steps: 2T
 * for an exact reference with checkpoints, whose segments are recomputed,
 * T for piecewise). Reported as "train" and "reverse" again, it read as the
 * meta-iteration starting over (the terminal's time left jumped to ten
 * times the run); counted as 2T whatever the reverse pass counts, the bar
 * went back where its count was more. */
typedef struct {
  DrmadProgressFunc progress;
  gpointer          user_data;
  guint64           train_steps, reverse_steps;
  guint64           reported;   /* the last step the callback was given, for a cancellation's message */
} FidelityProgress;

static gboolean
fidelity_progress (const char *phase, guint64 step, guint64 total, gpointer user_data)
{
  FidelityProgress *f = user_data;
  guint64 all = f->train_steps + f->reverse_steps;
  f->reported = g_strcmp0 (phase, "reverse") != 0 ? MIN (step, f->train_steps)
                                                  : f->train_steps + MIN (step, f->reverse_steps);
  return f->progress ("fidelity", f->reported, all, f->user_data);
}

/* A pass of @config: its memory checked against the host's room too
 * only until it first got past the check (*@ran), as a run that started is
 * not refused at a later meta-iteration because the page cache or another
 * process took some of the room (docs/reliability.md). */
static DrmadHypergradient *
run_pass (DrmadMeta *meta, const DrmadReverseConfig *config, gboolean *ran, DrmadProgressFunc progress,
          gpointer user_data, double unstable_losses[2], GError **error)
{
  double losses[2];
  DrmadHypergradient *result = drmad_hypergradient_compute_measured (meta->net, meta->hyper, meta->train, meta->val,
                                                                     config, *ran, progress, user_data,
                                                                     unstable_losses ? unstable_losses : losses,
                                                                     error);
  /* a pass that diverged ran all the same; one refused for memory, or cancelled before, did not */
  if (result || (error && *error && (g_error_matches (*error, DRMAD_ERROR, DRMAD_ERROR_DIVERGED)
                                     || g_error_matches (*error, DRMAD_ERROR, DRMAD_ERROR_UNSTABLE))))
    *ran = TRUE;
  return result;
}

/* The fidelity of this iteration's hypergradient @result (docs/algorithm.md §5). */
static gboolean
measure_fidelity (DrmadMeta *meta, DrmadMetaReport *report, const DrmadHypergradient *result,
                  DrmadProgressFunc progress, gpointer user_data, GError **error)
{
  guint every = meta->config.fidelity_every;
  if (every == 0 || (report->iteration - 1) % every != 0)
    return TRUE;
  if (!meta->have_reference) {
    report->fidelity_warning = g_strdup_printf ("fidelity not measured: %s", meta->reference_reason);
    return TRUE;
  }
  g_autoptr (DrmadHypergradient) reference = NULL;
  if (meta->resolved.method != DRMAD_METHOD_EXACT) {
    g_autoptr (GError) local = NULL;
    guint64 T = drmad_hyper_get_config (meta->hyper)->steps;
    FidelityProgress relay = { progress, user_data, T, drmad_reverse_progress_steps (&meta->reference, T) };
    reference = run_pass (meta, &meta->reference, &meta->reference_ran, progress ? fidelity_progress : NULL, &relay,
                          NULL, &local);
    if (!reference && g_error_matches (local, DRMAD_ERROR, DRMAD_ERROR_CANCELLED)) {
      /* The reference pass names its own phase and count ("train cancelled at
       * step 3 of 30"), which the callback never saw: say the phase it saw. */
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_CANCELLED, "fidelity cancelled at step %" G_GUINT64_FORMAT
                   " of %" G_GUINT64_FORMAT, relay.reported, relay.train_steps + relay.reverse_steps);
      return FALSE;
    }
    if (!reference) {
      /* A reference the memory no longer holds (on a CPU device the room
       * moves with what else runs, and its first pass may come meta-iterations
       * after the run began) leaves this one's fidelity unmeasured: the run
       * goes on, and the next measurement checks again. */
      if (!g_error_matches (local, DRMAD_ERROR, DRMAD_ERROR_DIVERGED)
          && !g_error_matches (local, DRMAD_ERROR, DRMAD_ERROR_UNSTABLE)
          && !g_error_matches (local, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE)) {
        g_propagate_error (error, g_steal_pointer (&local));
        return FALSE;
      }
      report->fidelity_warning = g_strdup_printf ("fidelity not measured: the reference pass failed: %s",
                                                  local->message);
      return TRUE;
    }
  }
  const double *ref = reference ? reference->gradient : result->gradient;
  report->fidelity_measured = TRUE;
  report->fidelity_reference = meta->reference;
  report->fidelity = drmad_fidelity_compute (result->gradient, ref, 0, meta->n);
  report->group_fidelity = g_new (DrmadFidelity, MAX (report->n_groups, 1));
  for (guint g = 0; g < report->n_groups; g++) {
    gsize first, count;
    drmad_hyper_get_group_span (meta->hyper, g, &first, &count);
    report->group_fidelity[g] = drmad_fidelity_compute (result->gradient, ref, first, count);
  }
  if (report->fidelity.cosine < 0.5) {
    guint64 T = drmad_hyper_get_config (meta->hyper)->steps;
    g_autofree char *ref_name = drmad_reverse_config_describe (&meta->reference, T);
    report->fidelity_warning = g_strdup_printf ("the hypergradient's cosine to %s is only %.2f: its direction is "
                                                "unreliable; %s fits the memory budget and is more faithful",
                                                ref_name, report->fidelity.cosine, ref_name);
  }
  return TRUE;
}

static DrmadMetaReport *meta_step (DrmadMeta *meta, DrmadProgressFunc progress, gpointer user_data,
                                   GError **error);

static DrmadMetaReport *
drmad_meta_step_unguarded (DrmadMeta *meta, DrmadProgressFunc progress, gpointer user_data, GError **error)
{
  /* A step that returns nothing (a device error, a cancel) leaves the
   * iteration count and the meta learning rate as they were. */
  guint iteration = meta->iteration;
  double learning_rate = meta->learning_rate;
  DrmadMetaReport *report = meta_step (meta, progress, user_data, error);
  if (!report) {
    meta->iteration = iteration;
    meta->learning_rate = learning_rate;
  }
  return report;
}

DrmadMetaReport *
drmad_meta_step (DrmadMeta *meta, DrmadProgressFunc progress, gpointer user_data, GError **error)
{
  if (!drmad_net_enter (meta->net, "drmad_meta_step()", error))
    return NULL;
  DrmadMetaReport *result = drmad_meta_step_unguarded (meta, progress, user_data, error);
  drmad_net_leave (meta->net);
  return result;
}

DrmadHyper *drmad_meta_get_hyper (DrmadMeta *meta) { return meta->hyper; }

void
drmad_meta_set_reduce (DrmadMeta *meta, DrmadMetaReduceFunc func, gpointer user_data)
{
  meta->reduce = func;
  meta->reduce_data = func ? user_data : NULL;
}

/* Runs the reduction hook on @gradient and the three scalars (drmad-meta.h),
 * the number of processes and the spreads going into @report; *finite says
 * whether everything it returned is finite. */
static gboolean
reduce (DrmadMeta *meta, double *gradient, double *train_loss, double *val_loss, double *val_error,
        DrmadMetaReport *report, gboolean *finite, GError **error)
{
  double norm = 0;
  for (gsize i = 0; i < meta->n; i++)
    norm += gradient[i] * gradient[i];
  DrmadMetaScalars scalars = { .val_loss = *val_loss, .val_error = *val_error, .train_loss = *train_loss,
                               .ranks = 1, .hypergradient_norm = sqrt (norm) };
  GError *local = NULL;
  drmad_net_callback_begin (meta->net);
  gboolean reduced = meta->reduce (gradient, meta->n, &scalars, meta->reduce_data, &local);
  drmad_net_callback_end (meta->net);
  if (!reduced) {
    if (!local)   /* a hook that broke its contract: still say why drmad_meta_step() failed */
      local = g_error_new_literal (DRMAD_ERROR, DRMAD_ERROR_FAILED,
                                   "the reduction hook (drmad_meta_set_reduce) failed without setting an error");
    g_propagate_error (error, local);
    return FALSE;
  }
  g_clear_error (&local);   /* set by a hook that then succeeded: not an error */
  *val_loss = scalars.val_loss;
  *val_error = scalars.val_error;
  *train_loss = scalars.train_loss;
  report->ranks = MAX (scalars.ranks, 1);
  report->val_loss_spread = scalars.val_loss_spread;
  report->hypergradient_norm_spread = scalars.hypergradient_norm_spread;
  *finite = isfinite (scalars.val_loss) && isfinite (scalars.val_error) && isfinite (scalars.train_loss);
  for (gsize i = 0; i < meta->n && *finite; i++)
    *finite = isfinite (gradient[i]);
  return TRUE;
}

/* A reduced hypergradient that is not finite (this process's pass or
 * another's failed): every process rejects alike (drmad-meta.h). */
static DrmadMetaReport *
reject_reduced (DrmadMeta *meta, DrmadMetaReport *report, char *event, GError **error)
{
  if (!meta->have_accepted) {
    set_start_diverged (event, error);
    g_free (event);
    drmad_meta_report_free (report);
    return NULL;
  }
  return reject (meta, report, event, error);
}

static DrmadMetaReport *
meta_step (DrmadMeta *meta, DrmadProgressFunc progress, gpointer user_data, GError **error)
{
  gint64 started = g_get_monotonic_time ();
  DrmadMetaReport *report = new_report (meta);
  g_autoptr (GError) local = NULL;
  double unstable_losses[2];
  DrmadHypergradient *result = run_pass (meta, &meta->reverse, &meta->pass_ran, progress, user_data, unstable_losses,
                                         &local);
  report->method = meta->resolved;
  if (!result) {
    gboolean unstable = g_error_matches (local, DRMAD_ERROR, DRMAD_ERROR_UNSTABLE);
    /* NaN unless the training ran whole (its reverse pass alone diverged) */
    report->train_loss = unstable_losses[0];
    report->val_loss = unstable_losses[1];
    if (!unstable && !g_error_matches (local, DRMAD_ERROR, DRMAD_ERROR_DIVERGED)) {
      g_propagate_error (error, g_steal_pointer (&local));
      drmad_meta_report_free (report);
      return NULL;
    }
    report->seconds = (g_get_monotonic_time () - started) / 1e6;
    if (meta->reduce) {
      /* The other processes wait for this one's numbers: send NaN. */
      g_autofree double *nan_gradient = g_new (double, meta->n);
      for (gsize i = 0; i < meta->n; i++)
        nan_gradient[i] = NAN;
      gboolean finite;
      if (!reduce (meta, nan_gradient, &report->train_loss, &report->val_loss, &report->val_error, report, &finite,
                   error)) {
        drmad_meta_report_free (report);
        return NULL;
      }
      return reject_reduced (meta, report, g_strdup (local->message), error);
    }
    return reject_full (meta, report, g_strdup (local->message), unstable, error);
  }
  drmad_hypergradient_free (meta->last);
  meta->last = result;
  report->device_peak_bytes = result->device_peak_bytes;
  report->host_peak_bytes = result->host_peak_bytes;
  /* Fidelity is a property of this process's method: measured before the reduction. */
  if (!measure_fidelity (meta, report, result, progress, user_data, error)) {
    drmad_meta_report_free (report);
    return NULL;
  }
  gboolean finite = TRUE;
  if (meta->reduce
      && !reduce (meta, result->gradient, &result->train_loss, &result->val_loss, &result->val_error, report,
                  &finite, error)) {
    drmad_meta_report_free (report);
    return NULL;
  }
  report->train_loss = result->train_loss;
  report->val_loss = result->val_loss;
  report->val_error = result->val_error;
  for (guint g = 0; g < report->n_groups; g++) {
    gsize first, count;
    drmad_hyper_get_group_span (meta->hyper, g, &first, &count);
    double sum = 0;
    for (gsize i = first; i < first + count; i++)
      sum += result->gradient[i] * result->gradient[i];
    report->group_norms[g] = sqrt (sum);
  }
  report->seconds = (g_get_monotonic_time () - started) / 1e6;
  if (!finite)
    return reject_reduced (meta, report, g_strdup ("the reduced hypergradient is not finite (a process's reverse "
                                                   "pass diverged)"), error);
  if (meta->have_accepted && result->val_loss > meta->config.divergence_factor * meta->best_val_loss)
    return reject (meta, report,
                   g_strdup_printf ("validation loss %.6g exceeds %g × the best so far (%.6g)", result->val_loss,
                                    meta->config.divergence_factor, meta->best_val_loss),
                   error);
  /* Accept θ and its hypergradient, then move. */
  memcpy (meta->accepted_theta, drmad_hyper_get_values (meta->hyper), meta->n * sizeof (double));
  memcpy (meta->accepted_gradient, result->gradient, meta->n * sizeof (double));
  memcpy (meta->accepted_m, meta->m, meta->n * sizeof (double));
  memcpy (meta->accepted_s, meta->s, meta->n * sizeof (double));
  meta->accepted_adam_t = meta->adam_t;
  meta->have_accepted = TRUE;
  if (result->val_loss < meta->best_val_loss) {
    if (isfinite (meta->best_val_loss))   /* an improvement on an earlier θ: a longer step next */
      meta->learning_rate *= meta->config.learning_rate_growth;
    meta->best_val_loss = result->val_loss;
    meta->best_iteration = report->iteration;
    memcpy (meta->best_theta, meta->accepted_theta, meta->n * sizeof (double));
  }
  if (!apply_update (meta, &report->clamped, &local)) {
    /* A step that would put NaN into θ: keep θ, halve. */
    stay_at_accepted (meta);
    return reject (meta, report, g_strdup (local->message), error);
  }
  report->meta_learning_rate = meta->learning_rate;
  return report;
}

guint drmad_meta_get_iteration (DrmadMeta *meta) { return meta->iteration; }

/* The validation loss after training from scratch with @theta (inf when the training diverges). */
static gboolean
warm_start_loss (DrmadMeta *meta, const double *theta, DrmadProgressFunc progress, gpointer user_data,
                 double *val_loss, GError **error)
{
  g_autoptr (GError) local = NULL;
  double val_error;
  if (!drmad_hyper_set_values (meta->hyper, theta, error))
    return FALSE;
  if (drmad_hyper_train (meta->net, meta->hyper, meta->train, meta->reverse.seed, progress, user_data, NULL, &local)
      && drmad_net_evaluate (meta->net, meta->val, val_loss, &val_error, &local)) {
    if (!isfinite (*val_loss))
      *val_loss = INFINITY;
    return TRUE;
  }
  if (!g_error_matches (local, DRMAD_ERROR, DRMAD_ERROR_DIVERGED)) {
    g_propagate_error (error, g_steal_pointer (&local));
    return FALSE;
  }
  *val_loss = INFINITY;
  return TRUE;
}

static gboolean
drmad_meta_warm_start_unguarded (DrmadMeta *meta, guint points, DrmadProgressFunc progress, gpointer user_data,
                                 char **summary, GError **error)
{
  if (meta->iteration > 0) {
    g_set_error_literal (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                         "a warm start comes before the first meta-iteration, not after");
    return FALSE;
  }
  GString *text = g_string_new (NULL);
  g_autofree double *start = g_memdup2 (drmad_hyper_get_values (meta->hyper), meta->n * sizeof (double));
  g_autofree double *theta = g_memdup2 (start, meta->n * sizeof (double));
  g_autofree double *trial = g_new (double, meta->n);
  double best_loss = INFINITY;
  gboolean ok = points == 0 || warm_start_loss (meta, theta, progress, user_data, &best_loss, error);
  for (guint g = 0; ok && points > 0 && g < drmad_hyper_get_n_groups (meta->hyper); g++) {
    gsize first, count;
    drmad_hyper_get_group_span (meta->hyper, g, &first, &count);
    DrmadGroupKind kind = drmad_hyper_get_entry (meta->hyper, first).kind;
    /* The half-width of the grid in raw units: log of the factor's span, or a logit shift. */
    double half = kind == DRMAD_GROUP_L2 ? log (100) : kind == DRMAD_GROUP_MOMENTUM ? 2 : log (10);
    double best_shift = 0;
    for (guint k = 0; ok && k < points; k++) {
      double shift = points == 1 ? -half : -half + 2 * half * k / (points - 1);
      if (fabs (shift) < 1e-12)
        continue;   /* where it is: already measured */
      memcpy (trial, theta, meta->n * sizeof (double));
      for (gsize i = first; i < first + count; i++)
        trial[i] += shift;
      drmad_hyper_clamp_range (meta->hyper, trial);   /* as every meta-step: a point in the ranges */
      double loss;
      ok = warm_start_loss (meta, trial, progress, user_data, &loss, error);
      if (ok && loss < best_loss) {
        best_loss = loss;
        best_shift = shift;
      }
    }
    for (gsize i = first; i < first + count; i++)
      theta[i] += best_shift;
    drmad_hyper_clamp_range (meta->hyper, theta);
    const char *name = drmad_hyper_get_group_name (meta->hyper, g);
    if (kind == DRMAD_GROUP_MOMENTUM)
      g_string_append_printf (text, "%s%s logit %+g (validation loss %.6g)", text->len ? "; " : "", name,
                              best_shift, best_loss);
    else
      g_string_append_printf (text, "%s%s ×%.3g (validation loss %.6g)", text->len ? "; " : "", name,
                              exp (best_shift), best_loss);
  }
  /* θ is where the search ended, or where it started when the search failed. */
  drmad_hyper_set_values (meta->hyper, ok ? theta : start, NULL);
  if (ok && summary)
    *summary = g_string_free (g_steal_pointer (&text), FALSE);
  if (text)
    g_string_free (text, TRUE);
  return ok;
}

gboolean
drmad_meta_warm_start (DrmadMeta *meta, guint points, DrmadProgressFunc progress, gpointer user_data,
                       char **summary, GError **error)
{
  if (!drmad_net_enter (meta->net, "drmad_meta_warm_start()", error))
    return FALSE;
  gboolean result = drmad_meta_warm_start_unguarded (meta, points, progress, user_data, summary, error);
  drmad_net_leave (meta->net);
  return result;
}

/* State layout: a header of counters, then 8 vectors of n doubles.
 * best_iteration came last, later: a state without it (8 bytes shorter)
 * still loads, as if the best were the last meta-iteration. */
typedef struct {
  guint64 n, iteration, adam_t, accepted_adam_t, have_accepted;
  double  learning_rate, best_val_loss;
  guint64 best_iteration;
} StateHeader;

#define STATE_HEADER_WITHOUT_BEST_ITERATION G_STRUCT_OFFSET (StateHeader, best_iteration)

#define STATE_VECTORS 8

GBytes *
drmad_meta_save_state (DrmadMeta *meta)
{
  StateHeader header = {
    .n = meta->n, .iteration = meta->iteration, .adam_t = meta->adam_t,
    .accepted_adam_t = meta->accepted_adam_t, .have_accepted = meta->have_accepted,
    .learning_rate = meta->learning_rate, .best_val_loss = meta->best_val_loss,
    .best_iteration = meta->best_iteration,
  };
  const double *vectors[STATE_VECTORS] = { drmad_hyper_get_values (meta->hyper), meta->m, meta->s,
                                           meta->accepted_theta, meta->accepted_gradient,
                                           meta->accepted_m, meta->accepted_s, meta->best_theta };
  GByteArray *bytes = g_byte_array_new ();
  g_byte_array_append (bytes, (const guint8 *) &header, sizeof header);
  for (guint i = 0; i < STATE_VECTORS; i++)
    g_byte_array_append (bytes, (const guint8 *) vectors[i], meta->n * sizeof (double));
  return g_byte_array_free_to_bytes (bytes);
}

#define STATE_THETA_BOUND 700.0   /* drmad_hyper_set_values() refuses a raw θ beyond ±700 */

/* Whether @x lies in [@lo, @hi]: written so that NaN, for which every
 * comparison is false, fails it (x > hi would let NaN through). */
static gboolean
in_range (double x, double lo, double hi)
{
  return x >= lo && x <= hi;
}

/* Value @i of vector @v (drmad_meta_save_state()'s order) of a state's
 * @vectors, read with memcpy: the caller's bytes need not be 8-aligned.
 * The infinities a run could write itself before apply_update() held its
 * moments finite (2026-12-05), a second moment of +Inf (g·g of a
 * hypergradient beyond 1.34e154) and, in SGD, a velocity of ±Inf, read as
 * the most apply_update() now lets them be (ADAM_GRADIENT_MAX², the
 * largest double), so that the checkpoints such a run wrote still resume
 * and step on; NaN, and -Inf in a second moment, stay damage. */
static double
state_double (const DrmadMeta *meta, const guint8 *vectors, guint v, gsize i)
{
  double x;
  memcpy (&x, vectors + (v * meta->n + i) * sizeof (double), sizeof x);
  gboolean second = v == 2 || v == 6, first = v == 1 || v == 5;
  if (second && x == INFINITY)
    x = ADAM_GRADIENT_MAX * ADAM_GRADIENT_MAX;
  else if (first && meta->config.algorithm == DRMAD_META_SGD && isinf (x))
    x = x > 0 ? G_MAXDOUBLE : -G_MAXDOUBLE;
  return x;
}

/* Every double of a state, before any of it is used: one NaN loaded (the
 * meta learning rate, a moment, the best θ) made every later meta-step a
 * rejection or left a NaN best θ, while the load itself succeeded. θ and
 * its copies keep the bound drmad_hyper_set_values() holds θ to; they are
 * then projected onto the ranges as before. */
static gboolean
state_values_ok (const DrmadMeta *meta, const StateHeader *header, const guint8 *vectors, GError **error)
{
  const char *what = NULL, *expected = NULL;
  double value = 0;
  gsize index = 0;
  /* 0 and subnormal rates included: every rejected meta-iteration halves
   * the rate, and a caller looping on drmad_meta_step() reaches them. */
  if (!in_range (header->learning_rate, 0, G_MAXDOUBLE))
    what = "meta learning rate", value = header->learning_rate, expected = "a finite number ≥ 0";
  else if (!in_range (header->best_val_loss, 0, INFINITY))
    what = "best validation loss", value = header->best_val_loss,
    expected = "a number ≥ 0 (inf before the first accepted meta-iteration)";
  /* The vectors in drmad_meta_save_state()'s order, with their ranges. */
  static const struct { const char *name; double lo, hi; } kinds[STATE_VECTORS] = {
    { "θ", -STATE_THETA_BOUND, STATE_THETA_BOUND },
    { "first moment (Adam) or velocity (SGD)", -G_MAXDOUBLE, G_MAXDOUBLE },
    { "second moment (Adam)", 0, G_MAXDOUBLE },
    { "accepted θ", -STATE_THETA_BOUND, STATE_THETA_BOUND },
    { "accepted hypergradient", -G_MAXDOUBLE, G_MAXDOUBLE },
    { "accepted first moment", -G_MAXDOUBLE, G_MAXDOUBLE },
    { "accepted second moment", 0, G_MAXDOUBLE },
    { "best θ", -STATE_THETA_BOUND, STATE_THETA_BOUND },
  };
  for (guint v = 0; !what && v < STATE_VECTORS; v++)
    for (gsize i = 0; !what && i < meta->n; i++) {
      double x = state_double (meta, vectors, v, i);
      if (!in_range (x, kinds[v].lo, kinds[v].hi)) {
        what = kinds[v].name, value = x, index = i + 1;
        expected = kinds[v].lo == 0 ? "a finite number ≥ 0"
                   : kinds[v].hi == STATE_THETA_BOUND ? "a finite number in [−700, 700], as θ is held to"
                   : "a finite number";
      }
    }
  if (!what)
    return TRUE;
  g_autofree char *where = index ? g_strdup_printf (" (value %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT ", %s)",
                                                    index, meta->n,
                                                    drmad_hyper_get_name (meta->hyper, index - 1))
                                 : g_strdup ("");
  g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_CORRUPT,
               "the optimiser state's %s%s is %g: expected %s; the state is damaged", what, where, value, expected);
  return FALSE;
}

static gboolean
drmad_meta_load_state_unguarded (DrmadMeta *meta, GBytes *state, GError **error)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (state, &size);
  StateHeader header;
  gsize vectors_bytes = STATE_VECTORS * meta->n * sizeof (double);
  gsize header_size = size == STATE_HEADER_WITHOUT_BEST_ITERATION + vectors_bytes
                      ? STATE_HEADER_WITHOUT_BEST_ITERATION : sizeof header;
  if (size < header_size) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_CORRUPT, "the optimiser state is %" G_GSIZE_FORMAT
                 " bytes, shorter than its header", size);
    return FALSE;
  }
  memcpy (&header, data, header_size);
  if (header_size < sizeof header)
    header.best_iteration = header.iteration;
  /* Another run's θ (drmad-error.h): a differing n is reported as MISMATCH
   * even when it is damage, since the count alone cannot tell them apart;
   * a damaged length with the right n is CORRUPT below. */
  if (header.n != meta->n) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_MISMATCH,
                 "the optimiser state is for %" G_GUINT64_FORMAT " hyperparameters; this run has %" G_GSIZE_FORMAT,
                 header.n, meta->n);
    return FALSE;
  }
  if (size != header_size + vectors_bytes) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_CORRUPT,
                 "the optimiser state of %" G_GSIZE_FORMAT " hyperparameters is %" G_GSIZE_FORMAT " bytes; expected %"
                 G_GSIZE_FORMAT " (%" G_GSIZE_FORMAT " without its best meta-iteration, as states written before "
                 "it were)", meta->n, size, sizeof header + vectors_bytes,
                 (gsize) STATE_HEADER_WITHOUT_BEST_ITERATION + vectors_bytes);
    return FALSE;
  }
  if (header.best_iteration > header.iteration) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_CORRUPT,
                 "the optimiser state's best meta-iteration (%" G_GUINT64_FORMAT ") comes after its last (%"
                 G_GUINT64_FORMAT ")", header.best_iteration, header.iteration);
    return FALSE;
  }
  const guint8 *theta = data + header_size;
  if (!state_values_ok (meta, &header, theta, error))
    return FALSE;
  /* θ, the accepted and the best θ onto the ranges as they are now: a
   * state of an earlier version may hold a momentum the last bit below
   * 1e-12, which drmad --evaluate refuses (drmad_hyper_clamp_range). */
  g_autofree double *now = g_memdup2 (theta, meta->n * sizeof (double));
  drmad_hyper_clamp_range (meta->hyper, now);
  if (!drmad_hyper_set_values (meta->hyper, now, error))
    return FALSE;
  double *vectors[STATE_VECTORS - 1] = { meta->m, meta->s, meta->accepted_theta, meta->accepted_gradient,
                                         meta->accepted_m, meta->accepted_s, meta->best_theta };
  for (guint v = 1; v < STATE_VECTORS; v++)
    for (gsize i = 0; i < meta->n; i++)
      vectors[v - 1][i] = state_double (meta, theta, v, i);
  drmad_hyper_clamp_range (meta->hyper, meta->accepted_theta);
  drmad_hyper_clamp_range (meta->hyper, meta->best_theta);
  meta->iteration = header.iteration;
  meta->adam_t = header.adam_t;
  meta->accepted_adam_t = header.accepted_adam_t;
  meta->have_accepted = header.have_accepted != 0;
  meta->learning_rate = header.learning_rate;
  meta->best_val_loss = header.best_val_loss;
  meta->best_iteration = header.best_iteration;
  return TRUE;
}

/* Not from a progress callback of the meta's own step, whose θ it would change under it. */
gboolean
drmad_meta_load_state (DrmadMeta *meta, GBytes *state, GError **error)
{
  if (!drmad_net_enter (meta->net, "drmad_meta_load_state()", error))
    return FALSE;
  gboolean result = drmad_meta_load_state_unguarded (meta, state, error);
  drmad_net_leave (meta->net);
  return result;
}
