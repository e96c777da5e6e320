/* DrmadWindow: the template, and what the runner's signals do to the plots,
 * the summary, the progress bar and the status line. The settings ↔ widgets
 * binding is in drmad-window-settings.c, the actions in drmad-window-actions.c. */
#include "drmad-window-private.h"
#include "drmad-application.h"
#include "drmad-secondary-window.h"

#include <math.h>

G_DEFINE_FINAL_TYPE (DrmadWindow, drmad_window, GTK_TYPE_APPLICATION_WINDOW)

enum { PROP_0, PROP_SETTINGS, N_PROPS };
static GParamSpec *properties[N_PROPS];

/* ---- small helpers ---- */

static char *
format_duration (double seconds)
{
  if (!isfinite (seconds) || seconds < 0)
    return g_strdup ("…");
  guint64 s = (guint64) (seconds + 0.5);
  if (s < 60)
    return g_strdup_printf ("%" G_GUINT64_FORMAT " s", s);
  if (s < 3600)
    return g_strdup_printf ("%" G_GUINT64_FORMAT " min %02" G_GUINT64_FORMAT " s", s / 60, s % 60);
  return g_strdup_printf ("%" G_GUINT64_FORMAT " h %02" G_GUINT64_FORMAT " min", s / 3600, s / 60 % 60);
}

/* The number of characters @a and @b begin with alike. */
static int
common_prefix_chars (const char *a, const char *b)
{
  int n = 0;
  while (*a && g_utf8_get_char (a) == g_utf8_get_char (b)) {
    a = g_utf8_next_char (a);
    b = g_utf8_next_char (b);
    n++;
  }
  return n;
}

void
drmad_window_set_status (DrmadWindow *self, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *text = g_strdup_vprintf (format, args);
  va_end (args);
  /* The status line is selectable (README, "Keyboard"): Tab selects all of
   * it for Ctrl+C, and it changes each second of a run, where GTK clears a
   * label's selection with every new text, so the selection was gone before
   * Ctrl+C. All of it selected stays all of it; a part stays where the text
   * up to its end is unchanged (the device, before "elapsed"). */
  GtkLabel *label = self->status_label;
  int start, end;
  gboolean selected = gtk_label_get_selection_bounds (label, &start, &end);
  const char *shown = gtk_label_get_text (label);
  if (selected && start == 0 && end == g_utf8_strlen (shown, -1))
    end = g_utf8_strlen (text, -1);
  else if (selected && end > common_prefix_chars (shown, text))
    selected = FALSE;
  if (selected) {
    /* GTK 4.8 clears the label's selection by giving up the primary
     * selection (X11's), and the X server's word of that came back after
     * the selection was made again, which GTK then dropped as taken by
     * another program: the selected text, made the primary selection's
     * first, keeps it ours throughout (/gui/a11y/status-selection). */
    const char *from = g_utf8_offset_to_pointer (text, start);
    g_autofree char *part = g_strndup (from, g_utf8_offset_to_pointer (text, end) - from);
    gdk_clipboard_set_text (gtk_widget_get_primary_clipboard (GTK_WIDGET (label)), part);
  }
  g_free (self->status);
  self->status = g_steal_pointer (&text);
  gtk_label_set_text (label, self->status);
  if (selected)
    gtk_label_select_region (label, start, end);
}

void
drmad_window_show_error (DrmadWindow *self, const char *message)
{
  g_return_if_fail (DRMAD_IS_WINDOW (self));
  gtk_label_set_text (self->banner_label, message);
  gtk_revealer_set_reveal_child (self->banner_revealer, TRUE);
}

const char *
drmad_window_get_error (DrmadWindow *self)
{
  g_return_val_if_fail (DRMAD_IS_WINDOW (self), NULL);
  return gtk_revealer_get_reveal_child (self->banner_revealer) ? gtk_label_get_text (self->banner_label) : NULL;
}

/* ---- plots and the run ---- */

DrmadPlotView *
drmad_window_get_plot_view (DrmadWindow *self, guint index)
{
  g_return_val_if_fail (DRMAD_IS_WINDOW (self) && index < 7, NULL);
  DrmadPlotView *views[] = { self->l2_view, self->lr_view, self->loss_view, self->momentum_view, self->init_view,
                             self->norms_view, self->fidelity_view };
  return views[index];
}

void
drmad_window_set_plots (DrmadWindow *self, DrmadPlot *l2, DrmadPlot *lr, DrmadPlot *loss, guint n)
{
  drmad_plot_view_set_plot (self->l2_view, l2);
  drmad_plot_view_set_plot (self->lr_view, lr);
  drmad_plot_view_set_plot (self->loss_view, loss);
  self->n_plotted = n;
}

void
drmad_window_set_rows (DrmadWindow *self, GArray *rows)
{
  g_clear_pointer (&self->rows, g_array_unref);
  self->rows = rows;
}

void
drmad_window_set_extra_plots (DrmadWindow *self, DrmadPlot *momentum, DrmadPlot *init, DrmadPlot *norms,
                              DrmadPlot *fidelity)
{
  drmad_plot_view_set_plot (self->momentum_view, momentum);
  drmad_plot_view_set_plot (self->init_view, init);
  drmad_plot_view_set_plot (self->norms_view, norms);
  drmad_plot_view_set_plot (self->fidelity_view, fidelity);
}

void
drmad_window_set_learned (DrmadWindow *self, const char *learned)
{
  g_free (self->learned);
  self->learned = g_strdup (learned);
}

void
drmad_window_clear_plots (DrmadWindow *self)
{
  drmad_window_set_plots (self, drmad_plot_l2 (0, 0, NULL), drmad_plot_lr (0, 0, 1, 0, NULL),
                          drmad_plot_loss (0, NULL, NULL, NULL), 0);
  drmad_window_set_rows (self, g_array_new (FALSE, FALSE, sizeof (DrmadJobRow)));
  drmad_window_set_learned (self, NULL);
  drmad_window_set_extra_plots (self, NULL, NULL, NULL, NULL);
}

void
drmad_window_set_run_folder (DrmadWindow *self, const char *folder)
{
  if (folder != self->run_folder) {
    g_free (self->run_folder);
    self->run_folder = g_strdup (folder);
  }
  gtk_label_set_text (self->subtitle_label, folder ? folder : "no run yet");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->subtitle_label), folder);
}

/* A number of the summary: a rejected meta-iteration whose training
 * diverged has NaN losses, shown as "—" rather than "nan" (and an infinite
 * loss as "∞"). */
static char *
summary_number (const char *format, double value)
{
  if (isnan (value))
    return g_strdup ("—");
  if (isinf (value))
    return g_strdup (value > 0 ? "∞" : "−∞");
  return g_strdup_printf (format, value);
}

/* The values the plots end on: the hyperparameters as they are now. */

void
drmad_window_update_summary (DrmadWindow *self)
{
  GString *text = g_string_new (NULL);
  if (self->rows && self->rows->len > 0) {
    const DrmadJobRow *first = &g_array_index (self->rows, DrmadJobRow, 0);
    const DrmadJobRow *last = &g_array_index (self->rows, DrmadJobRow, self->rows->len - 1);
    g_autofree char *val_loss = summary_number ("%.4f", last->val_loss);
    g_autofree char *first_loss = summary_number ("%.4f", first->val_loss);
    g_autofree char *val_error = summary_number ("%.2f %%", 100 * last->val_error);
    g_autofree char *train_loss = summary_number ("%.4f", last->train_loss);
    g_autofree char *line = g_markup_printf_escaped (
      "<b>Meta-iteration %u</b> of %" G_GUINT64_FORMAT "%s\n"
      "validation loss <b>%s</b> (first %s)\n"
      "validation error <b>%s</b>\n"
      "train loss %s\n",
      last->iteration, MAX (self->meta_total, (guint64) last->iteration), last->rejected ? " (rejected)" : "",
      val_loss, first_loss, val_error, train_loss);
    g_string_append (text, line);
    if (self->last_norms) {
      g_autofree char *line = g_markup_printf_escaped ("<small>%s</small>\n", self->last_norms);
      g_string_append (text, line);
    }
    if (self->last_fidelity) {
      g_autofree char *line = g_markup_printf_escaped ("<small>%s</small>\n", self->last_fidelity);
      g_string_append (text, line);
    }
    if (self->learned) {
      g_autofree char *line = g_markup_printf_escaped ("\n<b>Now</b>\n%s\n", self->learned);
      g_string_append (text, line);
    }
  } else {
    g_string_append (text, "<b>No meta-iteration yet.</b>\nChoose the settings on the left and press <b>Start</b>, "
                           "or <b>Open run…</b> to look at (and continue) an earlier run.\n");
  }
  if (self->summary_extra->len)
    g_string_append (text, self->summary_extra->str);
  if (self->run_folder) {
    g_autofree char *line = g_markup_printf_escaped ("\n<small>run folder %s</small>", self->run_folder);
    g_string_append (text, line);
  }
  gtk_label_set_markup (self->summary_label, text->str);
  g_string_free (text, TRUE);
}

static void
update_elapsed (DrmadWindow *self)
{
  g_autofree char *elapsed = format_duration ((g_get_monotonic_time () - self->started_us) / 1e6);
  /* an export (the one task a run leaves possible) said so in the status
   * line, which this tick overwrote each second while it waited */
  drmad_window_set_status (self, "%s · elapsed %s%s", self->device_text ? self->device_text : "opening the device",
                           elapsed, self->tasks_running > 0 ? " · exporting…" : "");
}

static gboolean
tick (gpointer user_data)
{
  update_elapsed (user_data);
  return G_SOURCE_CONTINUE;
}

void
drmad_window_runner_started (DrmadWindow *self, gboolean resuming, guint64 meta_total)
{
  self->started_us = g_get_monotonic_time ();
  self->meta_total = meta_total;
  drmad_eta_start (&self->eta, resuming ? self->n_plotted : 0, meta_total);
  g_clear_pointer (&self->device_text, g_free);
  g_clear_pointer (&self->last_norms, g_free);
  g_clear_pointer (&self->last_fidelity, g_free);
  g_string_truncate (self->summary_extra, 0);
  /* A field with the focus (Ctrl+Return typed in it) gives it to the first
   * plot before the column is greyed out: GTK 4.8 sends no focus-out to a
   * focused field made insensitive, whose blinking cursor then warned
   * "GtkText - did not receive a focus-out event", and the focus was lost. */
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (self));
  if (focus && gtk_widget_is_ancestor (focus, self->settings_box)
      && !gtk_widget_grab_focus (GTK_WIDGET (self->l2_view)))
    gtk_root_set_focus (GTK_ROOT (self), NULL);
  gtk_widget_set_sensitive (self->settings_box, FALSE);
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  gtk_progress_bar_set_text (self->progress_bar, "loading the data and opening the device…");
  g_clear_handle_id (&self->tick_id, g_source_remove);
  self->tick_id = g_timeout_add_seconds (1, tick, self);
  update_elapsed (self);
  drmad_window_update_summary (self);
  drmad_window_update_actions (self);
  /* Start pressed from the keyboard goes insensitive and drops the focus:
   * it goes to Stop, the next button a user of the keys wants. */
  if (focus == self->start_button && !gtk_widget_grab_focus (self->stop_button))
    gtk_widget_grab_focus (GTK_WIDGET (self->l2_view));
}

/* ---- the runner's signals (main context) ---- */

static void
on_runner_started (DrmadRunner *runner, DrmadRunnerStarted *started, DrmadWindow *self)
{
  /* The status line keeps the device; the summary the data. */
  g_free (self->device_text);
  self->device_text = g_strdup_printf ("device: %s: %s (%s GEMM, %s)", started->platform, started->device,
                                       started->gemm, started->precision == DRMAD_PRECISION_FLOAT64 ? "float64"
                                                                                                    : "float32");
  update_elapsed (self);
  g_autofree char *line = g_markup_printf_escaped ("\ndata: %u train, %u validation, %u test examples",
                                                   started->n_train, started->n_val, started->n_test);
  g_string_append (self->summary_extra, line);
  drmad_window_update_summary (self);
}

static void
on_runner_folder (DrmadRunner *runner, DrmadRunnerFolder *folder, DrmadWindow *self)
{
  if (self->replace_pending) {
    self->replace_pending = FALSE;
    drmad_window_clear_plots (self);
    g_clear_pointer (&self->resume_folder, g_free);
    g_clear_pointer (&self->resume_values, g_hash_table_unref);
  }
  /* Timed from here, as the terminal does: the data's loading is no meta-iteration's. */
  drmad_eta_set_method (&self->eta, folder->method);
  drmad_eta_set_fidelity (&self->eta, !folder->fidelity_unmeasured);
  drmad_eta_start (&self->eta, folder->resumed_after, self->meta_total);
  g_autofree char *line = g_markup_printf_escaped ("\n%s", folder->method_reason);
  g_string_append (self->summary_extra, line);
  drmad_window_set_run_folder (self, folder->folder);
  drmad_window_update_summary (self);
  drmad_window_update_actions (self);
}

static void
on_runner_notice (DrmadRunner *runner, const char *text, DrmadWindow *self)
{
  g_autofree char *line = g_markup_printf_escaped ("\n%s", text);
  g_string_append (self->summary_extra, line);
  drmad_window_update_summary (self);
}

static void
on_runner_progress (DrmadRunner *runner, DrmadJobProgress *progress, DrmadWindow *self)
{
  double fraction;
  double left = drmad_eta_progress (&self->eta, progress, &fraction);
  gtk_progress_bar_set_fraction (self->progress_bar, fraction);
  g_autofree char *text = NULL;
  if (progress->meta_done >= progress->meta_total) {
    /* after the last meta-iteration: retraining with the initial, the
     * learned and the best values (phase "final", one count of steps) */
    g_autofree char *duration = format_duration (left);
    text = g_strdup_printf ("%s: step %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " · about %s left",
                            progress->meta_total ? "final evaluation" : "training once", progress->step,
                            progress->total, duration);
  } else {
    g_autofree char *duration = format_duration (left);
    text = g_strdup_printf ("meta-iteration %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " · %s %" G_GUINT64_FORMAT
                            "/%" G_GUINT64_FORMAT " · about %s left", progress->meta_done + 1, progress->meta_total,
                            progress->phase, progress->step, progress->total, duration);
  }
  gtk_progress_bar_set_text (self->progress_bar, text);
}

static gboolean take_screenshot (gpointer user_data);

/* The screenshot hook runs unattended: a failure goes to stderr and the exit status. */
static void
screenshot_failed (DrmadWindow *self, const char *message)
{
  GtkApplication *application = gtk_window_get_application (GTK_WINDOW (self));
  g_printerr ("drmad: no screenshot: %s\n", message);
  if (DRMAD_IS_APPLICATION (application))
    drmad_application_set_exit_status (DRMAD_APPLICATION (application), 1);
}

static void
on_runner_iteration (DrmadRunner *runner, DrmadRunnerIteration *it, DrmadWindow *self)
{
  drmad_window_set_plots (self, g_steal_pointer (&it->l2), g_steal_pointer (&it->lr), g_steal_pointer (&it->loss),
                          it->iteration);
  DrmadJobRow row = { it->iteration, it->rejected, it->train_loss, it->val_loss, it->val_error, it->seconds };
  g_array_append_val (self->rows, row);
  drmad_window_set_learned (self, it->learned);
  drmad_window_set_extra_plots (self, g_steal_pointer (&it->momentum), g_steal_pointer (&it->init),
                                g_steal_pointer (&it->norms_plot), g_steal_pointer (&it->fidelity_plot));
  drmad_eta_iteration (&self->eta, it->seconds);
  if (it->rejected) {
    g_autofree char *line = g_markup_printf_escaped ("\nmeta-iteration %u rejected: %s (meta learning rate now %g)",
                                                     it->iteration, it->event, it->meta_learning_rate);
    g_string_append (self->summary_extra, line);
  }
  g_free (self->last_norms);
  self->last_norms = g_strdup_printf ("hypergradient %s · %.2f s per meta-iteration", it->norms, it->seconds);
  if (it->fidelity || it->fidelity_warning) {
    g_free (self->last_fidelity);
    self->last_fidelity = g_strdup_printf ("%s%s%s%s", it->fidelity ? it->fidelity : "",
                                           it->fidelity && it->fidelity_warning ? "\n" : "",
                                           it->fidelity_warning ? "⚠ " : "",
                                           it->fidelity_warning ? it->fidelity_warning : "");
  }
  drmad_window_update_summary (self);
  if (self->screenshot_path && !self->screenshot_taken && it->iteration >= self->screenshot_after) {
    self->screenshot_taken = self->screenshot_saving = TRUE;
    /* once the new plots are laid out and drawn */
    g_timeout_add (300, take_screenshot, g_object_ref (self));
  }
}

/* The final evaluation's line of the summary. */
static void
append_final (DrmadWindow *self, const DrmadJobResult *r)
{
  g_string_append_printf (self->summary_extra, "\n<b>final</b> test error %.2f %% → <b>%.2f %%</b> "
                          "(test loss %.4f → %.4f); %s: %.2f %%%s", 100 * r->initial_test_error,
                          100 * r->learned_test_error, r->initial_test_loss, r->learned_test_loss,
                          isfinite (r->best_val_loss) ? "best accepted values"
                                                      : "no meta-iteration accepted, best = the starting values",
                          100 * r->best_test_error,
                          r->initial_diverged || r->learned_diverged || r->best_diverged
                          ? "; a test loss of inf: that θ's training diverged" : "");
}

static void
on_runner_finished (DrmadRunner *runner, DrmadRunnerFinish *finish, DrmadWindow *self)
{
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (self));
  g_clear_handle_id (&self->tick_id, g_source_remove);
  gtk_widget_set_sensitive (self->settings_box, TRUE);
  /* The whole run: every meta-iteration shown (earlier sessions too), plus
   * what this session spent outside them (set-up, final evaluation). */
  double whole = finish->seconds - self->eta.seconds_sum;
  for (guint i = 0; !self->replace_pending && self->rows && i < self->rows->len; i++)
    whole += g_array_index (self->rows, DrmadJobRow, i).seconds;
  /* Ended before the new run's folder existed: the shown run stays, and
   * stays continuable. */
  gboolean kept = self->replace_pending && finish->outcome != DRMAD_JOB_DONE;
  if (self->replace_pending && !kept) {   /* training once: no run folder, nothing to continue */
    drmad_window_clear_plots (self);
    drmad_window_set_run_folder (self, finish->result.folder);
  }
  self->replace_pending = FALSE;
  g_autofree char *elapsed = format_duration (MAX (whole, finish->seconds));
  /* A continued run that stopped before it opened its folder (another
   * process holding it, say) is still the shown run's. */
  const char *folder = finish->result.folder ? finish->result.folder : kept ? NULL : self->run_folder;
  gboolean resumable = FALSE;
  switch (finish->outcome) {
  case DRMAD_JOB_DONE:
    gtk_progress_bar_set_fraction (self->progress_bar, 1);
    if (finish->result.trained_once) {
      gtk_progress_bar_set_text (self->progress_bar, "trained once");
      drmad_window_set_status (self, "Trained once in %s: validation loss %.4f, error %.2f %%; test error %.2f %%",
                               elapsed, finish->result.val_loss, 100 * finish->result.val_error,
                               100 * finish->result.learned_test_error);
    } else {
      const DrmadJobResult *r = &finish->result;
      /* A θ whose training diverged in the final evaluation: its test loss is inf, its error 1. */
      const char *diverged = " (its training diverged)";
      gtk_progress_bar_set_text (self->progress_bar, "finished");
      /* as an opened finished run: Start continues it once Meta-iterations is raised */
      resumable = !kept && folder && self->n_plotted > 0;
      drmad_window_set_status (self, "Finished in %s: test error %.2f %% with the initial values%s, %.2f %% with the "
                               "learned ones%s", elapsed, 100 * r->initial_test_error,
                               r->initial_diverged ? diverged : "", 100 * r->learned_test_error,
                               r->learned_diverged ? diverged : "");
      append_final (self, r);
    }
    break;
  case DRMAD_JOB_CANCELLED:
    gtk_progress_bar_set_text (self->progress_bar, "stopped");
    resumable = !kept && folder && self->n_plotted > 0;
    if (resumable)
      drmad_window_set_status (self, "Stopped after meta-iteration %u (%s); the run folder keeps every finished "
                               "meta-iteration: Start continues it", self->n_plotted, elapsed);
    else
      drmad_window_set_status (self, "Stopped before the first meta-iteration finished (%s)", elapsed);
    break;
  case DRMAD_JOB_BAD_INPUT:
  case DRMAD_JOB_FAILED:
    gtk_progress_bar_set_text (self->progress_bar, "failed");
    resumable = !kept && folder && self->n_plotted > 0;
    if (finish->result.final_unrecorded) {
      /* measured, then not written (a full disk): shown, as drmad --no-gui prints them, not lost */
      const DrmadJobResult *r = &finish->result;
      drmad_window_set_status (self, "Failed after %s writing the final evaluation, measured but not recorded: test "
                               "error %.2f %% with the initial values, %.2f %% with the learned ones", elapsed,
                               100 * r->initial_test_error, 100 * r->learned_test_error);
      append_final (self, r);
    } else
      drmad_window_set_status (self, "Failed after %s%s", elapsed,
                               kept && self->run_folder ? "; the run shown before is kept"
                               : resumable              ? "; the run folder keeps every finished meta-iteration"
                                                        : "");
    drmad_window_show_error (self, finish->error->message);
    break;
  }
  if (!kept) {
    g_clear_pointer (&self->resume_folder, g_free);
    g_clear_pointer (&self->resume_values, g_hash_table_unref);
  }
  if (resumable) {
    self->resume_folder = g_strdup (folder);
    self->resume_values = g_steal_pointer (&self->run_values);
  }
  g_clear_pointer (&self->run_values, g_hash_table_unref);
  drmad_window_update_summary (self);
  drmad_window_update_actions (self);
  /* Stop goes insensitive and drops the focus (and a focus dropped during
   * the run is nowhere): Start takes it, to continue or start again. */
  if (focus == self->stop_button || !gtk_root_get_focus (GTK_ROOT (self)))
    gtk_widget_grab_focus (self->start_button);
  if (self->screenshot_path) {
    if (!self->screenshot_taken)
      screenshot_failed (self, finish->error ? finish->error->message : "the run ended before the screenshot");
    /* a run that ends within the screenshot's delay (its last meta-iteration
     * was the one asked for) quits once the picture is written */
    if (!self->screenshot_saving)
      g_application_quit (G_APPLICATION (gtk_window_get_application (GTK_WINDOW (self))));
  }
}

/* ---- public ---- */

gboolean
drmad_window_is_running (DrmadWindow *self)
{
  g_return_val_if_fail (DRMAD_IS_WINDOW (self), FALSE);
  return drmad_runner_is_running (self->runner);
}

gboolean
drmad_window_is_busy (DrmadWindow *self)
{
  g_return_val_if_fail (DRMAD_IS_WINDOW (self), FALSE);
  return drmad_runner_is_running (self->runner) || self->tasks_running > 0;
}

const char *
drmad_window_get_status (DrmadWindow *self)
{
  g_return_val_if_fail (DRMAD_IS_WINDOW (self), NULL);
  return self->status;
}

guint
drmad_window_get_n_plotted (DrmadWindow *self)
{
  g_return_val_if_fail (DRMAD_IS_WINDOW (self), 0);
  return self->n_plotted;
}

const char *
drmad_window_get_run_folder (DrmadWindow *self)
{
  g_return_val_if_fail (DRMAD_IS_WINDOW (self), NULL);
  return self->run_folder;
}

/* Any shown window, rendered with its own renderer. */
static gboolean
save_widget_png (GtkWidget *widget, const char *path, GError **error)
{
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  GskRenderer *renderer = gtk_native_get_renderer (GTK_NATIVE (widget));
  if (width <= 0 || height <= 0 || !renderer) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot save %s: the window is not shown", path);
    return FALSE;
  }
  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  g_autoptr (GskRenderNode) node = gtk_snapshot_free_to_node (snapshot);
  if (!node) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot save %s: the window drew nothing", path);
    return FALSE;
  }
  g_autoptr (GdkTexture) texture = gsk_renderer_render_texture (renderer, node,
                                                                &GRAPHENE_RECT_INIT (0, 0, width, height));
  if (!gdk_texture_save_to_png (texture, path)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot write %s", path);
    return FALSE;
  }
  return TRUE;
}

gboolean
drmad_window_save_png (DrmadWindow *self, const char *path, GError **error)
{
  g_return_val_if_fail (DRMAD_IS_WINDOW (self), FALSE);
  return save_widget_png (GTK_WIDGET (self), path, error);
}

/* scripts/screenshots.sh's comparison: once the comparison window has
 * painted, save it and quit. */
static void
compare_painted (GdkFrameClock *clock, GtkWidget *compare)
{
  g_signal_handlers_disconnect_by_func (clock, compare_painted, compare);
  DrmadWindow *self = DRMAD_WINDOW (gtk_window_get_transient_for (GTK_WINDOW (compare)));
  g_autoptr (GError) error = NULL;
  if (save_widget_png (compare, self->screenshot_path, &error))
    g_printerr ("drmad: saved the comparison to %s\n", self->screenshot_path);
  else
    screenshot_failed (self, error->message);
  g_application_quit (G_APPLICATION (gtk_window_get_application (GTK_WINDOW (self))));
}

static gboolean
compare_shown (gpointer user_data)
{
  GtkWidget *compare = user_data;
  GdkFrameClock *clock = gtk_widget_get_frame_clock (compare);
  if (clock) {
    g_signal_connect (clock, "after-paint", G_CALLBACK (compare_painted), compare);
    gtk_widget_queue_draw (compare);
  } else {
    DrmadWindow *self = DRMAD_WINDOW (gtk_window_get_transient_for (GTK_WINDOW (compare)));
    screenshot_failed (self, "the comparison window is not shown");
    g_application_quit (G_APPLICATION (gtk_window_get_application (GTK_WINDOW (self))));
  }
  return G_SOURCE_REMOVE;
}

void
drmad_window_compare_finished (DrmadWindow *self, GtkWidget *compare)
{
  if (!self->screenshot_compare)
    return;
  self->screenshot_compare = FALSE;
  if (!compare) {
    screenshot_failed (self, drmad_window_get_error (self));
    g_application_quit (G_APPLICATION (gtk_window_get_application (GTK_WINDOW (self))));
    return;
  }
  g_timeout_add (500, compare_shown, compare);   /* once laid out */
}

void
drmad_window_screenshot_compare (DrmadWindow *self, const char *path, const char *const *folders)
{
  g_return_if_fail (DRMAD_IS_WINDOW (self));
  g_free (self->screenshot_path);
  self->screenshot_path = g_strdup (path);
  self->screenshot_compare = TRUE;   /* drmad_window_compare_finished() takes it once loaded */
  drmad_window_compare_runs (self, folders);
}

/* ---- saving the window as it is drawn ---- */

/* A save waiting for the window's next frame. A window closed (hidden,
 * destroyed) before it paints no frame more: the save then ends with an
 * error instead of waiting for ever, holding the window and its task. */
typedef struct {
  char          *path;
  GdkFrameClock *clock;   /* a reference: the window's surface, and its clock, go when it is destroyed */
  gulong         after_paint, unmap;
} PngSave;

static void
png_save_free (gpointer data)
{
  PngSave *save = data;
  g_free (save->path);
  g_clear_object (&save->clock);
  g_free (save);
}

static void
png_save_disconnect (GTask *task)
{
  PngSave *save = g_task_get_task_data (task);
  g_clear_signal_handler (&save->after_paint, save->clock);
  g_clear_signal_handler (&save->unmap, g_task_get_source_object (task));
}

static void
after_paint (GdkFrameClock *clock, GTask *task)
{
  DrmadWindow *self = g_task_get_source_object (task);
  PngSave *save = g_task_get_task_data (task);
  png_save_disconnect (task);
  GError *error = NULL;
  if (drmad_window_save_png (self, save->path, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
  g_object_unref (task);
}

static void
unmapped_before_paint (GtkWidget *widget, GTask *task)
{
  PngSave *save = g_task_get_task_data (task);
  png_save_disconnect (task);
  g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED,
                           "cannot save %s: the window was closed before its next frame", save->path);
  g_object_unref (task);
}

void
drmad_window_save_png_async (DrmadWindow *self, const char *path, GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (DRMAD_IS_WINDOW (self));
  GTask *task = g_task_new (self, NULL, callback, user_data);
  PngSave *save = g_new0 (PngSave, 1);
  save->path = g_strdup (path);
  g_task_set_task_data (task, save, png_save_free);
  GdkFrameClock *clock = gtk_widget_get_frame_clock (GTK_WIDGET (self));
  if (!clock || !gtk_widget_get_mapped (GTK_WIDGET (self))) {
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot save %s: the window is not shown", path);
    g_object_unref (task);
    return;
  }
  save->clock = g_object_ref (clock);
  save->after_paint = g_signal_connect (clock, "after-paint", G_CALLBACK (after_paint), task);
  save->unmap = g_signal_connect (self, "unmap", G_CALLBACK (unmapped_before_paint), task);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

gboolean
drmad_window_save_png_finish (DrmadWindow *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* The read-out on the newest L2 point, found by sweeping the plot as a pointer would. */
static void
hover_newest_l2 (DrmadWindow *self)
{
  GtkWidget *view = GTK_WIDGET (self->l2_view);
  int width = gtk_widget_get_width (view), height = gtk_widget_get_height (view);
  for (int x = width - 1; x >= 0; x -= 2)
    for (int y = 0; y < height; y += 2)
      if (drmad_plot_view_hover (self->l2_view, x, y))
        return;
}

static void
screenshot_saved (GObject *source, GAsyncResult *result, gpointer user_data)
{
  DrmadWindow *self = DRMAD_WINDOW (source);
  g_autoptr (GError) error = NULL;
  self->screenshot_saving = FALSE;
  if (drmad_window_save_png_finish (self, result, &error))
    g_printerr ("drmad: saved the window to %s\n", self->screenshot_path);
  else
    screenshot_failed (self, error->message);
  if (drmad_runner_is_running (self->runner))
    drmad_runner_stop (self->runner);   /* on_runner_finished quits */
  else
    g_application_quit (G_APPLICATION (gtk_window_get_application (GTK_WINDOW (self))));
}

static gboolean
take_screenshot (gpointer user_data)
{
  DrmadWindow *self = user_data;
  hover_newest_l2 (self);
  drmad_window_save_png_async (self, self->screenshot_path, screenshot_saved, NULL);
  g_object_unref (self);
  return G_SOURCE_REMOVE;
}

void
drmad_window_screenshot_after (DrmadWindow *self, const char *path, guint iterations)
{
  g_return_if_fail (DRMAD_IS_WINDOW (self));
  g_free (self->screenshot_path);
  self->screenshot_path = g_strdup (path);
  self->screenshot_after = MAX (iterations, 1);
  self->screenshot_taken = FALSE;
  gtk_widget_activate_action (GTK_WIDGET (self), "win.start", NULL);
  if (!drmad_runner_is_running (self->runner)) {
    screenshot_failed (self, drmad_window_get_error (self) ? drmad_window_get_error (self) : "the run did not start");
    g_application_quit (G_APPLICATION (gtk_window_get_application (GTK_WINDOW (self))));
  }
}

/* ---- the class ---- */

/* Names for the buttons GTK 4.8 keeps the focus in inside a drop-down and
 * a menu button, which a screen reader reads by their own name and, for a
 * menu button's, its labelling one's (gtk_at_context_get_name: the label,
 * then the labels of the labelled-by relation):
 * - a drop-down's button has neither, and was read by its type's name
 *   ("GtkToggleButton"), whatever named the drop-down: it is labelled by
 *   the drop-down's label (L2 granularity, beside its switch, has none but
 *   its own name, the .ui file's);
 * - the menu button labels its button by itself, which the .ui file names
 *   "Main menu": a name of the button's own was read after it ("Main menu
 *   Main menu"), so it has none;
 * - the expander of More settings, named by nothing (its title is a child
 *   label), was read "GtkExpander". */
static void
name_focus_buttons (DrmadWindow *self)
{
  const struct { GtkDropDown *dropdown; const char *unlabelled; } dropdowns[] = {
    { self->dataset_dropdown, NULL }, { self->activation_dropdown, NULL },
    { self->l2_granularity_dropdown, "L2 granularity" }, { self->method_dropdown, NULL },
    { self->device_dropdown, NULL }, { self->precision_dropdown, NULL },
  };
  for (guint i = 0; i < G_N_ELEMENTS (dropdowns); i++) {
    GtkWidget *button = gtk_widget_get_first_child (GTK_WIDGET (dropdowns[i].dropdown));
    if (!GTK_IS_TOGGLE_BUTTON (button))
      continue;   /* another GTK's drop-down */
    GList *labels = gtk_widget_list_mnemonic_labels (GTK_WIDGET (dropdowns[i].dropdown));
    if (labels)
      gtk_accessible_update_relation (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_RELATION_LABELLED_BY, labels->data, NULL,
                                      -1);
    else if (dropdowns[i].unlabelled)
      gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL, dropdowns[i].unlabelled,
                                      -1);
    g_list_free (labels);
  }
  for (GtkWidget *child = gtk_widget_get_first_child (self->settings_box); child;
       child = gtk_widget_get_next_sibling (child))
    if (GTK_IS_EXPANDER (child))
      gtk_accessible_update_property (GTK_ACCESSIBLE (child), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      gtk_expander_get_label (GTK_EXPANDER (child)), -1);
}

/* The progress bar's text is its value to a screen reader: GTK 4.8 gives
 * only the fraction. It changes as the fraction does: at most every
 * PROGRESS_INTERVAL_US, and at each phase's first and last step
 * (drmad-runner.c, job_progress()). */
static void
on_progress_text (GtkProgressBar *bar, GParamSpec *pspec, gpointer user_data)
{
  const char *text = gtk_progress_bar_get_text (bar);
  gtk_accessible_update_property (GTK_ACCESSIBLE (bar), GTK_ACCESSIBLE_PROPERTY_VALUE_TEXT, text ? text : "", -1);
}

static void
drmad_window_constructed (GObject *object)
{
  DrmadWindow *self = DRMAD_WINDOW (object);
  G_OBJECT_CLASS (drmad_window_parent_class)->constructed (object);
  g_assert (self->settings);

  drmad_window_bind_settings (self);
  /* The settings column can be hidden: the plots take the room (small screens). */
  g_object_bind_property (self->settings_toggle, "active", self->settings_scroller, "visible",
                          G_BINDING_SYNC_CREATE);
  name_focus_buttons (self);
  /* The plots beside the learning rate that no run has filled yet have no
   * title: each is named by its tab's label (a screen reader read "Plot"). */
  for (guint i = 0; i < 7; i++) {
    GtkWidget *view = GTK_WIDGET (drmad_window_get_plot_view (self, i));
    GtkWidget *stack = gtk_widget_get_parent (view);
    if (GTK_IS_STACK (stack))
      drmad_plot_view_set_placeholder_title (DRMAD_PLOT_VIEW (view),
                                             gtk_stack_page_get_title (gtk_stack_get_page (GTK_STACK (stack), view)));
  }
  g_signal_connect (self->progress_bar, "notify::text", G_CALLBACK (on_progress_text), NULL);

  drmad_window_clear_plots (self);
  drmad_window_set_run_folder (self, NULL);
  drmad_window_update_summary (self);
  gtk_progress_bar_set_text (self->progress_bar, "idle");
  drmad_window_set_status (self, "Ready");
  drmad_window_install_actions (self);
}

static void
drmad_window_dispose (GObject *object)
{
  DrmadWindow *self = DRMAD_WINDOW (object);
  g_cancellable_cancel (self->cancellable);
  if (self->compare_cancellable)
    g_cancellable_cancel (self->compare_cancellable);
  if (self->runner) {
    /* the worker goes on until it notices (one step); the runner holds the application till then */
    g_signal_handlers_disconnect_by_data (self->runner, self);
    drmad_runner_stop (self->runner);
    g_clear_object (&self->runner);
  }
  g_clear_handle_id (&self->tick_id, g_source_remove);
  if (self->settings)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  gtk_widget_dispose_template (GTK_WIDGET (self), DRMAD_TYPE_WINDOW);
  g_clear_object (&self->settings);
  G_OBJECT_CLASS (drmad_window_parent_class)->dispose (object);
}

static void
drmad_window_finalize (GObject *object)
{
  DrmadWindow *self = DRMAD_WINDOW (object);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->compare_cancellable);
  g_clear_pointer (&self->choices, g_ptr_array_unref);
  g_clear_pointer (&self->key_widgets, g_hash_table_unref);
  g_clear_pointer (&self->extra_entries, g_hash_table_unref);
  g_clear_pointer (&self->rows, g_array_unref);
  g_free (self->learned);
  g_free (self->run_folder);
  g_free (self->resume_folder);
  g_clear_pointer (&self->resume_values, g_hash_table_unref);
  g_clear_pointer (&self->run_values, g_hash_table_unref);
  g_string_free (self->summary_extra, TRUE);
  g_free (self->device_text);
  g_free (self->last_norms);
  g_free (self->last_fidelity);
  g_free (self->status);
  g_free (self->screenshot_path);
  G_OBJECT_CLASS (drmad_window_parent_class)->finalize (object);
}

static void
drmad_window_set_property (GObject *object, guint id, const GValue *value, GParamSpec *pspec)
{
  DrmadWindow *self = DRMAD_WINDOW (object);
  switch (id) {
  case PROP_SETTINGS:
    self->settings = g_value_dup_object (value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec);
  }
}

static void
drmad_window_get_property (GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
  DrmadWindow *self = DRMAD_WINDOW (object);
  switch (id) {
  case PROP_SETTINGS:
    g_value_set_object (value, self->settings);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec);
  }
}

static void
drmad_window_class_init (DrmadWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->constructed = drmad_window_constructed;
  object_class->dispose = drmad_window_dispose;
  object_class->finalize = drmad_window_finalize;
  object_class->set_property = drmad_window_set_property;
  object_class->get_property = drmad_window_get_property;
  properties[PROP_SETTINGS] = g_param_spec_object ("settings", NULL, NULL, DRMAD_TYPE_SETTINGS,
                                                   G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (DRMAD_TYPE_PLOT_VIEW);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/drmad/Drmad/ui/drmad-window.ui");
#define BIND(name) gtk_widget_class_bind_template_child (widget_class, DrmadWindow, name)
  BIND (subtitle_label);
  BIND (banner_revealer);
  BIND (banner_label);
  BIND (settings_box);
  BIND (settings_scroller);
  BIND (settings_toggle);
  BIND (menu_button);
  BIND (start_button);
  BIND (stop_button);
  BIND (dataset_dropdown);
  BIND (train_size_spin);
  BIND (val_size_spin);
  BIND (layers_entry);
  BIND (activation_dropdown);
  BIND (batch_spin);
  BIND (learn_l2_switch);
  BIND (learn_lr_switch);
  BIND (learn_momentum_switch);
  BIND (learn_init_switch);
  BIND (l2_granularity_dropdown);
  BIND (segments_spin);
  BIND (init_l2_entry);
  BIND (init_lr_entry);
  BIND (init_momentum_entry);
  BIND (init_scale_entry);
  BIND (iters_spin);
  BIND (meta_iters_spin);
  BIND (method_dropdown);
  BIND (snapshots_spin);
  BIND (meta_lr_entry);
  BIND (seed_entry);
  BIND (device_dropdown);
  BIND (precision_dropdown);
  BIND (l2_view);
  BIND (lr_view);
  BIND (momentum_view);
  BIND (init_view);
  BIND (norms_view);
  BIND (fidelity_view);
  BIND (loss_view);
  BIND (summary_label);
  BIND (progress_bar);
  BIND (status_label);
#undef BIND
}

static void
drmad_window_init (DrmadWindow *self)
{
  self->cancellable = g_cancellable_new ();
  self->runner = drmad_runner_new ();
  self->summary_extra = g_string_new (NULL);
  self->rows = g_array_new (FALSE, FALSE, sizeof (DrmadJobRow));
  gtk_widget_init_template (GTK_WIDGET (self));
  g_signal_connect (self->runner, "started", G_CALLBACK (on_runner_started), self);
  g_signal_connect (self->runner, "folder", G_CALLBACK (on_runner_folder), self);
  g_signal_connect (self->runner, "notice", G_CALLBACK (on_runner_notice), self);
  g_signal_connect (self->runner, "progress", G_CALLBACK (on_runner_progress), self);
  g_signal_connect (self->runner, "iteration", G_CALLBACK (on_runner_iteration), self);
  g_signal_connect (self->runner, "finished", G_CALLBACK (on_runner_finished), self);
}

DrmadWindow *
drmad_window_new (GtkApplication *application, DrmadSettings *settings)
{
  DrmadWindow *self = g_object_new (DRMAD_TYPE_WINDOW, "application", application, "settings", settings, NULL);
  /* the keyboard shortcuts window, which GtkApplication gives the window as
   * it joins the application (data/gtk/help-overlay.ui) */
  GtkShortcutsWindow *overlay = gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (self));
  if (overlay)
    drmad_secondary_window_setup (GTK_WINDOW (overlay), FALSE);
  return self;
}
