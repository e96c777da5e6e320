/* The job: everything between parsed options and a finished run folder. */
#include "drmad-job.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void
drmad_session_clear (DrmadSession *s)
{
  g_clear_pointer (&s->net, drmad_net_free);
  g_clear_pointer (&s->train, drmad_device_data_free);
  g_clear_pointer (&s->val, drmad_device_data_free);
  g_clear_pointer (&s->test, drmad_device_data_free);
  g_clear_pointer (&s->device, drmad_device_unref);
  g_clear_pointer (&s->split, drmad_split_free);
  g_clear_pointer (&s->pool, drmad_dataset_free);
  g_clear_pointer (&s->test_pool, drmad_dataset_free);
}

gboolean
drmad_session_open (DrmadSession *s, const DrmadOptions *o, DrmadPrecision precision, GError **error)
{
  if (!drmad_dataset_open (o->dataset, NULL, &s->pool, &s->test_pool, error)
      || !(s->split = drmad_dataset_split (s->pool, s->test_pool, o->seed, o->train_size, o->val_size,
                                           o->test_size, error)))
    return FALSE;
  guint dim = drmad_dataset_get_dim (s->split->train), classes = drmad_dataset_get_n_classes (s->split->train);
  if (o->sizes[0] != dim || o->sizes[o->n_sizes - 1] < classes) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "--layers does not fit the dataset %s: it needs %u inputs and at least %u outputs "
                 "(e.g. --layers %u,100,%u)", o->dataset, dim, classes, dim, classes);
    return FALSE;
  }
  return (s->device = drmad_device_open (o->device, error))
         && drmad_device_set_gemm_path (s->device, o->gemm, error)
         && (s->train = drmad_device_data_new (s->device, precision, s->split->train, error))
         && (s->val = drmad_device_data_new (s->device, precision, s->split->val, error))
         && (s->test = drmad_device_data_new (s->device, precision, s->split->test, error))
         && (s->net = drmad_net_new (s->device, o->sizes, o->n_sizes, o->activation, precision, o->batch, error));
}

char *
drmad_session_describe (const DrmadSession *s, DrmadPrecision precision)
{
  const DrmadDeviceInfo *info = drmad_device_get_info (s->device);
  return g_strdup_printf ("device: %s: %s (%s GEMM, %s); data: %u train, %u validation, %u test examples",
                          info->platform_name, info->name, drmad_gemm_path_name (drmad_device_get_gemm_path (s->device)),
                          precision == DRMAD_PRECISION_FLOAT64 ? "float64" : "float32",
                          drmad_dataset_get_n (s->split->train), drmad_dataset_get_n (s->split->val),
                          drmad_dataset_get_n (s->split->test));
}

void
drmad_job_result_clear (DrmadJobResult *result)
{
  g_clear_pointer (&result->folder, g_free);
  g_clear_pointer (&result->learned, g_strfreev);
}

/* ---- plots ---- */

/* Per-layer (and per-segment) natural values of a group from a θ vector;
 * groups learned at finer grain are summarised by their geometric mean. */
static void
layer_values (const DrmadHyper *hyper, const double *theta, const char *group_name, guint n_layers,
              guint segments, const double *fallback_per_layer, double *out)
{
  for (guint l = 0; l < n_layers; l++)
    for (guint s = 0; s < segments; s++)
      out[l * segments + s] = fallback_per_layer[l];
  for (guint g = 0; g < drmad_hyper_get_n_groups (hyper); g++) {
    if (!g_str_equal (drmad_hyper_get_group_name (hyper, g), group_name))
      continue;
    gsize first, count;
    drmad_hyper_get_group_span (hyper, g, &first, &count);
    g_autofree double *sum = g_new0 (double, n_layers * segments);
    g_autofree guint *n = g_new0 (guint, n_layers * segments);
    for (gsize k = first; k < first + count; k++) {
      guint layer = 0, segment = 0;
      if (sscanf (drmad_hyper_get_name (hyper, k), "%*[^/]/layer%u/seg%u", &layer, &segment) < 1
          || layer < 1 || layer > n_layers)
        continue;
      guint cell = (layer - 1) * segments + MIN (segment, segments - 1);
      sum[cell] += log (drmad_hyper_natural_of (hyper, k, theta[k]));
      n[cell]++;
    }
    for (guint c = 0; c < n_layers * segments; c++)
      if (n[c])
        out[c] = exp (sum[c] / n[c]);
  }
}

void
drmad_run_plots (const DrmadRun *run, const DrmadHyper *hyper, DrmadPlot **l2_plot, DrmadPlot **lr_plot,
                 DrmadPlot **loss_plot)
{
  const DrmadHyperConfig *config = drmad_hyper_get_config (hyper);
  guint n_iters = drmad_run_get_n_records (run), S = config->segments, L = drmad_hyper_get_n_layers (hyper);
  g_autofree double *l2 = g_new (double, MAX (n_iters, 1) * L);
  g_autofree double *lr = g_new (double, MAX (n_iters, 1) * L * S);
  g_autofree double *train = g_new (double, MAX (n_iters, 1));
  g_autofree double *val = g_new (double, MAX (n_iters, 1));
  g_autofree double *err = g_new (double, MAX (n_iters, 1));
  for (guint i = 0; i < n_iters; i++) {
    const DrmadRunRecord *r = drmad_run_get_record (run, i);
    layer_values (hyper, r->theta, "l2", L, 1, config->init_l2, l2 + i * L);
    layer_values (hyper, r->theta, "lr", L, S, config->init_lr, lr + i * L * S);
    train[i] = r->train_loss;
    val[i] = r->val_loss;
    err[i] = r->val_error;
  }
  if (l2_plot)
    *l2_plot = drmad_plot_l2 (n_iters, L, l2);
  if (lr_plot)
    *lr_plot = drmad_plot_lr (n_iters, L, S, config->steps, lr);
  if (loss_plot)
    *loss_plot = drmad_plot_loss (n_iters, train, val, err);
}

gboolean
drmad_run_write_plots (const DrmadRun *run, const DrmadHyper *hyper, GError **error)
{
  DrmadPlot *plots[3];
  const char *names[3] = { "l2.png", "lr.png", "loss.png" };
  drmad_run_plots (run, hyper, &plots[0], &plots[1], &plots[2]);
  gboolean ok = TRUE;
  for (guint i = 0; i < 3; i++) {
    g_autofree char *path = g_build_filename (drmad_run_get_folder (run), names[i], NULL);
    ok = ok && drmad_plot_write_png (plots[i], path, 800, 500, error);
    drmad_plot_free (plots[i]);
  }
  return ok;
}

gboolean
drmad_run_load_plots (const char *folder, const DrmadOptions *o, guint *n_iterations, DrmadPlot **l2,
                      DrmadPlot **lr, DrmadPlot **loss, GError **error)
{
  DrmadSession s = { 0 };
  DrmadHyper *hyper = NULL;
  DrmadMeta *meta = NULL;
  DrmadRun *run = NULL;
  gboolean ok = drmad_session_open (&s, o, o->precision, error)
                && (hyper = drmad_hyper_new (s.net, &o->hyper, error))
                && (meta = drmad_meta_new (s.net, hyper, s.train, s.val, &o->reverse, &o->meta, error))
                && (run = drmad_run_open (folder, error))
                && drmad_run_restore (run, hyper, meta, error);
  if (ok) {
    *n_iterations = drmad_run_get_n_records (run);
    drmad_run_plots (run, hyper, l2, lr, loss);
  }
  g_clear_pointer (&run, drmad_run_free);
  g_clear_pointer (&meta, drmad_meta_free);
  g_clear_pointer (&hyper, drmad_hyper_free);
  drmad_session_clear (&s);
  return ok;
}

/* ---- the job ---- */

typedef struct {
  const DrmadJobCallbacks *callbacks;
  guint64 meta_done;
} ProgressRelay;

static gboolean
relay_progress (const char *phase, guint64 step, guint64 total, gpointer user_data)
{
  ProgressRelay *relay = user_data;
  return !relay->callbacks->progress
         || relay->callbacks->progress (phase, step, total, relay->meta_done, relay->callbacks->user_data);
}

static void
say (const DrmadJobCallbacks *callbacks, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
say (const DrmadJobCallbacks *callbacks, const char *format, ...)
{
  if (!callbacks->message)
    return;
  va_list args;
  va_start (args, format);
  g_autofree char *text = g_strdup_vprintf (format, args);
  va_end (args);
  callbacks->message (text, callbacks->user_data);
}

static DrmadJobOutcome
outcome_of (const GError *error, DrmadJobOutcome otherwise)
{
  return g_error_matches (error, DRMAD_ERROR, DRMAD_ERROR_CANCELLED) ? DRMAD_JOB_CANCELLED : otherwise;
}

DrmadJobOutcome
drmad_job_run (const DrmadOptions *o, const DrmadJobCallbacks *callbacks, DrmadJobResult *result, GError **error)
{
  DrmadSession s = { 0 };
  ProgressRelay relay = { .callbacks = callbacks };
  DrmadJobOutcome outcome = DRMAD_JOB_DONE;
  g_autoptr (DrmadHyper) hyper = NULL;
  g_autoptr (DrmadHyper) initial = NULL;
  g_autoptr (DrmadHyper) best = NULL;
  g_autoptr (DrmadMeta) meta = NULL;
  g_autoptr (DrmadRun) run = NULL;
  g_autofree char *description = NULL;
  memset (result, 0, sizeof *result);

  if (!drmad_session_open (&s, o, o->precision, error)
      || !(hyper = drmad_hyper_new (s.net, &o->hyper, error))
      || !(initial = drmad_hyper_new (s.net, &o->hyper, error))
      || !(best = drmad_hyper_new (s.net, &o->hyper, error))) {
    outcome = DRMAD_JOB_BAD_INPUT;
    goto out;
  }
  description = drmad_session_describe (&s, o->precision);
  say (callbacks, "%s", description);

  if (o->meta_iters == 0) {
    /* Train once with the given θ; report, change nothing. */
    double test_loss, test_error;
    if (!drmad_hyper_train (s.net, hyper, s.train, o->seed, relay_progress, &relay, NULL, error)
        || !drmad_net_evaluate (s.net, s.val, &result->val_loss, &result->val_error, error)
        || !drmad_net_evaluate (s.net, s.test, &test_loss, &test_error, error)) {
      outcome = outcome_of (*error, DRMAD_JOB_FAILED);
      goto out;
    }
    result->trained_once = TRUE;
    result->learned_test_loss = result->initial_test_loss = test_loss;
    result->learned_test_error = result->initial_test_error = test_error;
    goto out;
  }

  if (!drmad_hypergradient_check_memory (s.net, hyper, &o->reverse, error)
      || !(meta = drmad_meta_new (s.net, hyper, s.train, s.val, &o->reverse, &o->meta, error))) {
    outcome = DRMAD_JOB_BAD_INPUT;
    goto out;
  }
  if (o->resume) {
    if (!(run = drmad_run_open (o->resume, error))
        || (drmad_run_has_checkpoint (run) && !drmad_run_restore (run, hyper, meta, error))) {
      g_prefix_error (error, "cannot resume %s: ", o->resume);
      outcome = DRMAD_JOB_BAD_INPUT;
      goto out;
    }
    if (drmad_run_has_checkpoint (run))
      say (callbacks, "resuming %s after meta-iteration %u", o->resume, drmad_meta_get_iteration (meta));
    else
      say (callbacks, "%s has no finished meta-iteration yet: starting it from the beginning", o->resume);
  } else {
    g_autofree char *ini = drmad_options_to_ini (o);
    if (!(run = drmad_run_create (o->out, ini, o->force, error))) {
      outcome = DRMAD_JOB_BAD_INPUT;
      goto out;
    }
  }
  result->folder = g_strdup (drmad_run_get_folder (run));
  say (callbacks, "run folder: %s", result->folder);
  say (callbacks, "method: %s", drmad_meta_get_method_reason (meta));

  for (guint64 it = drmad_meta_get_iteration (meta); it < o->meta_iters; it++) {
    relay.meta_done = it;
    g_autoptr (DrmadMetaReport) report = drmad_meta_step (meta, relay_progress, &relay, error);
    if (!report || !drmad_run_record (run, hyper, meta, report, error)
        || !drmad_run_write_plots (run, hyper, error)) {
      outcome = outcome_of (*error, DRMAD_JOB_FAILED);
      g_prefix_error (error, "meta-iteration %" G_GUINT64_FORMAT " %s: ", it + 1,
                      outcome == DRMAD_JOB_CANCELLED ? "stopped" : "failed");
      say (callbacks, "everything up to meta-iteration %" G_GUINT64_FORMAT " is in %s (continue with --resume %s)",
           it, result->folder, result->folder);
      goto out;
    }
    if (callbacks->iteration)
      callbacks->iteration (report, run, hyper, callbacks->user_data);
  }

  /* Final evaluation (issue 4 §4, issue 11 §3): retrain from scratch with
   * the initial θ, the last θ and the best accepted θ (lowest validation loss). */
  relay.meta_done = o->meta_iters;
  const double *best_values = drmad_meta_get_best_values (meta);
  result->best_val_loss = drmad_meta_get_best_val_loss (meta);
  if (!drmad_hyper_set_values (best, best_values ? best_values : drmad_hyper_get_values (initial), error)
      || !drmad_hyper_train (s.net, initial, s.train, o->seed, relay_progress, &relay, NULL, error)
      || !drmad_net_evaluate (s.net, s.test, &result->initial_test_loss, &result->initial_test_error, error)
      || !drmad_hyper_train (s.net, hyper, s.train, o->seed, relay_progress, &relay, NULL, error)
      || !drmad_net_evaluate (s.net, s.test, &result->learned_test_loss, &result->learned_test_error, error)
      || !drmad_hyper_train (s.net, best, s.train, o->seed, relay_progress, &relay, NULL, error)
      || !drmad_net_evaluate (s.net, s.test, &result->best_test_loss, &result->best_test_error, error)
      || !drmad_run_record_final (run, hyper, result->initial_test_loss, result->initial_test_error,
                                  result->learned_test_loss, result->learned_test_error, result->best_test_loss,
                                  result->best_test_error, error)) {
    outcome = outcome_of (*error, DRMAD_JOB_FAILED);
    g_prefix_error (error, "the final evaluation %s: ", outcome == DRMAD_JOB_CANCELLED ? "stopped" : "failed");
    goto out;
  }
  GPtrArray *lines = g_ptr_array_new ();
  for (gsize i = 0; i < drmad_hyper_get_n (hyper); i++)
    g_ptr_array_add (lines, g_strdup_printf ("%s = %.17g", drmad_hyper_get_name (hyper, i),
                                             drmad_hyper_get_natural (hyper, i)));
  g_ptr_array_add (lines, NULL);
  result->learned = (char **) g_ptr_array_free (lines, FALSE);
out:
  g_clear_pointer (&meta, drmad_meta_free);
  drmad_session_clear (&s);
  return outcome;
}
