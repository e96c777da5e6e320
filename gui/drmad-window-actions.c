/* The window's actions: Start, Stop, Open run, Export, the
 * dataset's Open…, and the helper tasks behind them, each in a GTask thread. */
#include "drmad-window-private.h"
#include "drmad-compare.h"
#include "drmad-run-plots.h"
#include "drmad-secondary-window.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

/* What may change when a run continues (as with --resume). */

static void
set_enabled (DrmadWindow *self, const char *name, gboolean enabled)
{
  GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), name);
  g_simple_action_set_enabled (G_SIMPLE_ACTION (action), enabled);
}

void
drmad_window_update_actions (DrmadWindow *self)
{
  gboolean running = drmad_runner_is_running (self->runner), busy = running || self->tasks_running > 0;
  set_enabled (self, "start", !busy);
  set_enabled (self, "stop", running);
  set_enabled (self, "open-run", !busy);
  set_enabled (self, "open-dataset", !busy);
  set_enabled (self, "export", self->run_folder != NULL && self->tasks_running == 0);
  /* the settings are locked while a run goes (the column is insensitive):
   * the menu's reset changed them under it, and Start then began a new run
   * where the status line said it would continue */
  GtkApplication *application = gtk_window_get_application (GTK_WINDOW (self));
  GAction *reset = application ? g_action_map_lookup_action (G_ACTION_MAP (application), "reset-settings") : NULL;
  if (G_IS_SIMPLE_ACTION (reset))
    g_simple_action_set_enabled (G_SIMPLE_ACTION (reset), !busy);
}

/* The window's tasks are made with no source object, and reach the window
 * through a weak reference (drmad_window_task_data), and their data hold no
 * widget by the time their callback returns: GLib's thread pool may drop a
 * task's last reference in the worker thread (it schedules the callback,
 * then unrefs), and what the task held went away there, the window with
 * it; and a window a task held was not disposed when closed, so its tasks
 * were not cancelled (a comparison loaded to the end, then showed). */
gpointer
drmad_window_task_data (DrmadWindow *self)
{
  GWeakRef *ref = g_new (GWeakRef, 1);
  g_weak_ref_init (ref, self);
  return ref;
}

DrmadWindow *
drmad_window_task_window (gpointer data)
{
  GWeakRef *ref = data;
  DrmadWindow *self = g_weak_ref_get (ref);
  g_weak_ref_clear (ref);
  g_free (ref);
  return self;
}

static void
task_begin (DrmadWindow *self, const char *status)
{
  self->tasks_running++;
  drmad_window_set_status (self, "%s", status);
  drmad_window_update_actions (self);
}

/* FALSE when the window went away meanwhile (its tasks were cancelled). */
static gboolean
task_end (DrmadWindow *self, GError *error)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return FALSE;
  self->tasks_running--;
  drmad_window_update_actions (self);
  return TRUE;
}

/* ---- Start and Stop ---- */

static char *runs_folder (void);

/* The window's runs go to g_get_user_data_dir()/drmad/runs/DATE-TIME. */
static char *
new_run_folder (void)
{
  g_autofree char *base = runs_folder ();
  return drmad_options_new_run_folder (base);
}

static void
save_settings (DrmadWindow *self)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = drmad_settings_get_default_path ();
  if (!drmad_settings_save (self->settings, path, &error))
    drmad_window_show_error (self, error->message);
}

static void
start (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  DrmadWindow *self = user_data;
  if (drmad_window_is_busy (self))
    return;
  /* a number typed but not yet committed counts */
  for (GtkWidget *child = gtk_widget_get_first_child (self->settings_box); child;
       child = gtk_widget_get_next_sibling (child))
    for (GtkWidget *cell = gtk_widget_get_first_child (child); cell; cell = gtk_widget_get_next_sibling (cell))
      if (GTK_IS_SPIN_BUTTON (cell))
        gtk_spin_button_update (GTK_SPIN_BUTTON (cell));

  g_autoptr (GHashTable) values = drmad_settings_dup_values (self->settings);
  g_autoptr (GError) error = NULL;
  DrmadOptions options = { 0 };
  if (!drmad_options_from_values (&options, values, &error)) {
    drmad_options_clear (&options);
    drmad_window_show_error (self, error->message);
    return;
  }
  gtk_revealer_set_reveal_child (self->banner_revealer, FALSE);
  gboolean resuming = self->resume_folder && options.meta_iters > self->n_plotted
                      && drmad_settings_values_equal (values, self->resume_values, drmad_options_resume_may_change ());
  if (resuming) {
    options.resume = g_strdup (self->resume_folder);
    options.out = g_strdup (self->resume_folder);
    g_clear_pointer (&self->resume_folder, g_free);
    g_clear_pointer (&self->resume_values, g_hash_table_unref);
  } else {
    /* The shown run stays (and Start can still continue it) until the new
     * run's folder exists: a Start that fails before leaves it on screen. */
    options.out = new_run_folder ();
    options.out_default = TRUE;
    self->replace_pending = TRUE;
  }
  save_settings (self);
  guint64 meta_total = options.meta_iters;
  g_clear_pointer (&self->run_values, g_hash_table_unref);
  self->run_values = g_hash_table_ref (values);
  /* Before the runner takes the options (it clears the caller's copy). */
  self->eta.fidelity_every = options.meta.fidelity_every;   /* kept by drmad_eta_start() */
  drmad_runner_start (self->runner, &options);
  drmad_window_runner_started (self, resuming, meta_total);
}

static void
stop (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  DrmadWindow *self = user_data;
  if (!drmad_runner_is_running (self->runner))
    return;
  drmad_runner_stop (self->runner);
  set_enabled (self, "stop", FALSE);
  gtk_progress_bar_set_text (self->progress_bar, "stopping…");
}

/* ---- Open run ---- */

typedef struct {
  char       *folder;
  GHashTable *values;
  guint       meta_iters;
  DrmadPlot  *l2, *lr, *loss;
  guint       n;
  GArray     *rows;    /* DrmadJobRow */
  char       *learned;
  DrmadPlot  *momentum, *init, *norms, *fidelity;
  char       *writer;  /* the PID of a process running it now, or NULL */
} OpenedRun;

static void
opened_run_free (gpointer data)
{
  OpenedRun *opened = data;
  g_free (opened->folder);
  g_clear_pointer (&opened->values, g_hash_table_unref);
  g_clear_pointer (&opened->l2, drmad_plot_free);
  g_clear_pointer (&opened->lr, drmad_plot_free);
  g_clear_pointer (&opened->loss, drmad_plot_free);
  g_clear_pointer (&opened->rows, g_array_unref);
  g_free (opened->learned);
  g_clear_pointer (&opened->momentum, drmad_plot_free);
  g_clear_pointer (&opened->init, drmad_plot_free);
  g_clear_pointer (&opened->norms, drmad_plot_free);
  g_clear_pointer (&opened->fidelity, drmad_plot_free);
  g_free (opened->writer);
  g_free (opened);
}

static void
open_run_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  const char *folder = task_data;
  g_autofree char *ini_path = g_build_filename (folder, "run.ini", NULL);
  g_autofree char *ini = NULL;
  gsize length;
  GError *error = NULL;
  if (!drmad_read_regular_file (ini_path, "file", &ini, &length, &error)) {
    if (g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
      g_clear_error (&error);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               "%s is not a run folder: it has no readable run.ini", folder);
    } else {
      g_prefix_error (&error, "cannot open the run %s: ", folder);
      g_task_return_error (task, error);
    }
    return;
  }
  OpenedRun *opened = g_new0 (OpenedRun, 1);
  opened->folder = g_strdup (folder);
  DrmadOptions options = { 0 };
  g_autoptr (DrmadHyper) hyper = NULL;
  g_autoptr (DrmadRun) run = NULL;
  /* checkpoint.bin read once (hundreds of megabytes with a large θ), for the
   * plots, the summary's rows and the pages beside the learning rate alike */
  if (!(opened->values = drmad_options_read_ini (ini, length, ini_path, TRUE, &error))
      || !drmad_options_from_file_values (&options, opened->values, NULL, ini_path, &error)
      || !drmad_run_load (folder, &options, &hyper, &run, &error)) {
    g_prefix_error (&error, "cannot open the run %s: ", folder);
    drmad_options_clear (&options);
    opened_run_free (opened);
    g_task_return_error (task, error);
    return;
  }
  opened->n = drmad_run_get_n_records (run);
  drmad_run_plots (run, hyper, &opened->l2, &opened->lr, &opened->loss);
  drmad_run_rows (run, hyper, &opened->rows, &opened->learned);
  drmad_run_extra_plots (run, hyper, &opened->momentum, &opened->init, &opened->norms, &opened->fidelity);
  opened->meta_iters = options.meta_iters;
  drmad_run_in_use (folder, &opened->writer);
  drmad_options_clear (&options);
  g_task_return_pointer (task, opened, opened_run_free);
}

static void
open_run_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  OpenedRun *opened = g_task_propagate_pointer (G_TASK (result), &error);
  g_autoptr (DrmadWindow) self = drmad_window_task_window (user_data);
  if (!self || !task_end (self, error))
    return;
  if (!opened) {
    drmad_window_set_status (self, "Could not open the run");
    drmad_window_show_error (self, error->message);
    return;
  }
  g_autoptr (GError) apply_error = NULL;
  if (!drmad_settings_apply (self->settings, opened->values, &apply_error))
    drmad_window_show_error (self, apply_error->message);
  drmad_window_set_plots (self, g_steal_pointer (&opened->l2), g_steal_pointer (&opened->lr),
                          g_steal_pointer (&opened->loss), opened->n);
  drmad_window_set_rows (self, g_steal_pointer (&opened->rows));
  drmad_window_set_learned (self, opened->learned);
  drmad_window_set_extra_plots (self, g_steal_pointer (&opened->momentum), g_steal_pointer (&opened->init),
                                g_steal_pointer (&opened->norms), g_steal_pointer (&opened->fidelity));
  drmad_window_set_run_folder (self, opened->folder);
  self->meta_total = opened->meta_iters;
  g_clear_pointer (&self->last_norms, g_free);
  g_string_truncate (self->summary_extra, 0);
  g_autofree char *final = drmad_run_final_text (opened->folder);
  if (final) {
    g_autofree char *line = g_markup_printf_escaped ("\n%s", final);
    g_string_append (self->summary_extra, line);
  }
  g_free (self->resume_folder);
  self->resume_folder = g_strdup (opened->folder);
  g_clear_pointer (&self->resume_values, g_hash_table_unref);
  self->resume_values = g_hash_table_ref (opened->values);
  gtk_progress_bar_set_fraction (self->progress_bar, opened->meta_iters ? (double) opened->n / opened->meta_iters : 0);
  gtk_progress_bar_set_text (self->progress_bar, "opened");
  if (opened->writer)
    drmad_window_set_status (self, "Opened a run that process %s is still writing (%u meta-iterations so far): "
                             "Start continues it once that process has ended", opened->writer, opened->n);
  else if (opened->n < opened->meta_iters)
    drmad_window_set_status (self, "Opened a run with %u of %u meta-iterations: Start continues it", opened->n,
                             opened->meta_iters);
  else
    drmad_window_set_status (self, "Opened a run with %u meta-iterations: raise Meta-iterations above %u and "
                             "press Start to continue it", opened->n, opened->n);
  drmad_window_update_summary (self);
  drmad_window_update_actions (self);
  opened_run_free (opened);
}

void
drmad_window_open_run (DrmadWindow *self, const char *folder)
{
  g_return_if_fail (DRMAD_IS_WINDOW (self));
  if (drmad_window_is_busy (self))
    return;
  gtk_revealer_set_reveal_child (self->banner_revealer, FALSE);
  task_begin (self, "Opening the run (loading its data)…");
  g_autoptr (GTask) task = g_task_new (NULL, self->cancellable, open_run_done, drmad_window_task_data (self));
  g_task_set_task_data (task, g_strdup (folder), g_free);
  g_task_run_in_thread (task, open_run_thread);
}

/* ---- Export ---- */

typedef struct {
  char *from, *to;
  /* where rows were left out: the meta-iteration the export ends at, and
   * the first and last of the folder's rows past it (0 when none were) */
  guint64 kept_iteration, ahead_first, ahead_last;
  GPtrArray *written;   /* the names of the files written, for the status line */
} ExportJob;

static void
export_job_free (gpointer data)
{
  ExportJob *job = data;
  g_free (job->from);
  g_free (job->to);
  g_clear_pointer (&job->written, g_ptr_array_unref);
  g_free (job);
}

typedef struct {
  char     *name;
  GBytes   *contents;
  GStatBuf  seen;
} ExportedFile;

static void
exported_file_free (gpointer data)
{
  ExportedFile *file = data;
  g_free (file->name);
  g_clear_pointer (&file->contents, g_bytes_unref);
  g_free (file);
}

static int
by_name (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(ExportedFile *const *) a)->name, (*(ExportedFile *const *) b)->name);
}

/* The same version of a file: a run replaces its files by renaming a new
 * one over them (a new inode) and appends to hyper.csv (a new size), and
 * the time is to the nanosecond. */
static gboolean
same_file (const GStatBuf *a, const GStatBuf *b)
{
  return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size
         && a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* The run's files (not the atomic writer's temporaries, not its lock), read
 * whole; NULL, @error set, when the folder cannot be read. @settled: no file
 * was replaced while they were read (a run another process or this window
 * is writing replaces its files after each meta-iteration). */
static GPtrArray *
read_run_files (const char *folder, gboolean *settled, GError **error)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, error);
  if (!dir)
    return NULL;
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (exported_file_free);
  for (const char *name; (name = g_dir_read_name (dir));) {
    g_autofree char *path = g_build_filename (folder, name, NULL);
    GStatBuf seen;
    if (g_str_has_prefix (name, ".") || g_stat (path, &seen) != 0 || !S_ISREG (seen.st_mode))
      continue;
    char *text;
    gsize length;
    if (!g_file_get_contents (path, &text, &length, error))
      return NULL;
    ExportedFile *file = g_new0 (ExportedFile, 1);
    file->name = g_strdup (name);
    file->contents = g_bytes_new_take (text, length);
    file->seen = seen;
    g_ptr_array_add (files, file);
  }
  g_ptr_array_sort (files, by_name);
  *settled = TRUE;
  for (guint i = 0; i < files->len && *settled; i++) {
    ExportedFile *file = files->pdata[i];
    g_autofree char *path = g_build_filename (folder, file->name, NULL);
    GStatBuf now;
    *settled = g_stat (path, &now) == 0 && same_file (&now, &file->seen);
  }
  return g_steal_pointer (&files);
}

static ExportedFile *
find_file (GPtrArray *files, const char *name)
{
  for (guint i = 0; i < files->len; i++)
    if (g_str_equal (((ExportedFile *) files->pdata[i])->name, name))
      return files->pdata[i];
  return NULL;
}

/* Where a reading of the run folder stands: history.csv and hyper.csv
 * against the checkpoint.bin read with them. */
typedef enum {
  READING_WHOLE,     /* of one meta-iteration, the checkpoint's last */
  READING_AHEAD,     /* rows of a meta-iteration the checkpoint does not hold yet (or never will) */
  READING_UNKNOWN,   /* a checkpoint not read here, or rows missing that it records */
} ReadingState;

/* A record writes history.csv, hyper.csv, checkpoint.bin, then the three
 * plots (drmad_run_record, drmad_job_run), each replaced whole but
 * hyper.csv, whose rows are appended in place: a reading
 * between two of them holds history.csv (and hyper.csv) of meta-iteration
 * k + 1 beside the checkpoint of k, and so does, for good, a folder whose
 * run was killed (or ran out of space) there, until a resumed run records
 * again. The count of records comes from the checkpoint's header alone
 * (drmad_checkpoint_bytes_records): nothing is decoded here. @cut: the rows
 * after the checkpoint's last record are left out of @files, which are then
 * of the checkpoint's meta-iteration; @job (when not NULL) gets the
 * meta-iteration kept and the iterations of the rows past it. */
static ReadingState
check_reading (GPtrArray *files, gboolean cut, ExportJob *job)
{
  ExportedFile *checkpoint = find_file (files, "checkpoint.bin"), *history = find_file (files, "history.csv");
  ExportedFile *hyper = find_file (files, "hyper.csv");
  guint64 records = 0, rows = 0, kept_iteration = 0, hyper_last = 0, history_last = 0;
  gsize history_end = 0, hyper_end = 0;
  /* no checkpoint read (deleted or moved after the window opened the run,
   * a dangling link, no regular file, a run killed in its first record):
   * nothing tells how many rows are the run's, so none are left out */
  if (!checkpoint)
    return READING_UNKNOWN;
  g_autoptr (GError) error = NULL;
  if (!drmad_checkpoint_bytes_records (checkpoint->contents, checkpoint->name, &records, &error)) {
    g_debug ("the export is of the files as read: %s", error->message);
    return READING_UNKNOWN;
  }
  if (history)
    rows = drmad_history_csv_rows (history->contents, records, &kept_iteration, &history_end, &history_last);
  if (hyper)
    hyper_last = drmad_hyper_csv_rows (hyper->contents, kept_iteration, &hyper_end);
  /* An iteration past 64 bits (row_iteration() stops at G_MAXUINT64) is no
   * run's: rows after it cannot be told apart from it, and the first of
   * them, kept_iteration + 1, would wrap to 0, which the status line takes
   * for "nothing left out" while the rows were cut. Exported as read. */
  if (rows < records || hyper_last < kept_iteration || kept_iteration == G_MAXUINT64)
    return READING_UNKNOWN;
  /* a piece of a row after hyper.csv's last newline: the run appends its
   * rows in place, and that one is of a meta-iteration past the checkpoint */
  gsize hyper_size = hyper ? g_bytes_get_size (hyper->contents) : 0;
  if (rows == records && hyper_last == kept_iteration && hyper_end == hyper_size)
    return READING_WHOLE;
  if (job) {
    job->kept_iteration = kept_iteration;
    job->ahead_first = kept_iteration + 1;
    job->ahead_last = MAX (MAX (history_last, hyper_last), kept_iteration + 1);
  }
  if (cut) {
    if (rows > records) {
      GBytes *kept = g_bytes_new_from_bytes (history->contents, 0, history_end);
      g_bytes_unref (history->contents);
      history->contents = kept;
    }
    if (hyper && hyper_end < hyper_size) {
      GBytes *kept = g_bytes_new_from_bytes (hyper->contents, 0, hyper_end);
      g_bytes_unref (hyper->contents);
      hyper->contents = kept;
    }
  }
  return READING_AHEAD;
}

static gboolean
modified_before (const GStatBuf *a, const GStatBuf *b)
{
  return a->st_mtim.tv_sec < b->st_mtim.tv_sec
         || (a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec < b->st_mtim.tv_nsec);
}

/* Whether the plots of a reading of one meta-iteration must be drawn anew
 * from its checkpoint: one is missing, or older than the checkpoint (the
 * run writes them after it, so until it has, or for good where it was
 * killed in between, they are of the meta-iteration before). */
static gboolean
plots_behind (GPtrArray *files)
{
  ExportedFile *checkpoint = find_file (files, "checkpoint.bin");
  for (guint i = 0; checkpoint && i < 3; i++) {
    ExportedFile *plot = find_file (files, drmad_run_plot_files[i]);
    if (!plot || modified_before (&plot->seen, &checkpoint->seen))
      return TRUE;
  }
  return FALSE;
}

static int
by_string (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Every entry of @folder but its lock, by name, inode, size and time, in
 * one string: it changes while a run records (its temporaries ".NAME.…"
 * grow, then replace the files), and stays while nothing does. */
static char *
folder_signature (const char *folder)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  g_autoptr (GPtrArray) entries = g_ptr_array_new_with_free_func (g_free);
  for (const char *name; dir && (name = g_dir_read_name (dir));) {
    g_autofree char *path = g_build_filename (folder, name, NULL);
    GStatBuf seen;
    if (g_str_equal (name, ".drmad-lock") || g_lstat (path, &seen) != 0)
      continue;
    g_ptr_array_add (entries, g_strdup_printf ("%s %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GINT64_FORMAT
                                               ".%09ld", name, (guint64) seen.st_ino, (guint64) seen.st_size,
                                               (gint64) seen.st_mtim.tv_sec, (long) seen.st_mtim.tv_nsec));
  }
  g_ptr_array_sort (entries, by_string);
  g_ptr_array_add (entries, NULL);
  return g_strjoinv ("\n", (char **) entries->pdata);
}

/* A run's folder that changes in no way for this long (no file replaced, no
 * temporary growing) records nothing now: history.csv and hyper.csv ahead
 * of its checkpoint are then a killed record's (kept until a resumed run
 * records again), or one that has not yet started writing its checkpoint
 * (a θ of millions takes seconds to lay out and sum). Either way the export
 * leaves their extra rows out and holds the checkpoint's meta-iteration. */
#define EXPORT_QUIET_US (5 * G_USEC_PER_SEC)
/* While the folder keeps changing, the export waits for a reading of one
 * meta-iteration for up to this long: a record of a large θ writes
 * gigabytes. */
#define EXPORT_LIMIT_US (10 * 60 * G_USEC_PER_SEC)

/* The plots of @folder (an export just written, holding run.ini and
 * checkpoint.bin as read), drawn from that checkpoint as the run draws
 * them (drmad_run_plot_pngs); FALSE where it cannot be decoded here (too
 * big for the memory there is, of a newer drmad, a run.ini not read). */
static gboolean
draw_plots (const char *folder, GBytes *ini, GBytes **pngs)
{
  gsize length;
  const char *text = g_bytes_get_data (ini, &length);
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) values = drmad_options_read_ini (text, length, "run.ini", TRUE, &error);
  DrmadOptions options = { 0 };
  g_autoptr (DrmadHyper) hyper = NULL;
  g_autoptr (DrmadRun) run = NULL;
  gboolean drawn = values && drmad_options_from_values (&options, values, &error)
                   && drmad_run_load (folder, &options, &hyper, &run, &error)
                   && drmad_run_plot_pngs (run, hyper, pngs, &error);
  drmad_options_clear (&options);
  if (!drawn)
    g_debug ("the exported plots are the run's own: %s", error ? error->message : "");
  return drawn;
}

static gboolean
is_plot (const char *name)
{
  for (guint k = 0; k < 3; k++)
    if (g_str_equal (name, drmad_run_plot_files[k]))
      return TRUE;
  return FALSE;
}

/* Writes @contents as @name in the export's folder; FALSE when the task
 * has returned (cancelled, or the write failed after @written of @total
 * files). */
static gboolean
export_file (GTask *task, ExportJob *job, const char *name, GBytes *contents, guint written, guint total)
{
  if (g_task_return_error_if_cancelled (task))
    return FALSE;
  g_autofree char *to_path = g_build_filename (job->to, name, NULL);
  gsize length;
  const void *data = g_bytes_get_data (contents, &length);
  GError *error = NULL;
  if (!drmad_write_file_atomic (to_path, data, length, &error)) {
    g_prefix_error (&error, "cannot export %s to %s (%u of the run's %u files were exported before it): ", name,
                    job->to, written, total);
    g_task_return_error (task, error);
    return FALSE;
  }
  g_ptr_array_add (job->written, g_strdup (name));
  return TRUE;
}

/* Copies every file of the run folder: l2.png, lr.png, loss.png (the plots
 * the window shows, as drmad_run_write_plots drew them), history.csv,
 * hyper.csv, run.ini, checkpoint.bin; each written as the run writes its
 * own (a temporary file renamed over the name: an export cut short leaves
 * no half file), from one reading of the folder in which none changed, of
 * one meta-iteration (check_reading): while a run records one, the reading
 * is tried again; rows a checkpoint does not hold are left out; plots older
 * than the checkpoint are drawn anew from the checkpoint exported. */
static void
export_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  ExportJob *job = task_data;
  GError *error = NULL;
  g_autoptr (GPtrArray) files = NULL;
  g_autofree char *seen = NULL, *read_at = NULL;
  gboolean settled = FALSE, writing = FALSE;
  ReadingState state = READING_UNKNOWN;
  gint64 start = g_get_monotonic_time (), quiet_since = start;
  for (guint attempt = 0;; attempt++) {
    if (attempt > 0)
      g_usleep (attempt < 20 ? 50000 : 200000);
    if (g_task_return_error_if_cancelled (task))
      return;
    gint64 now = g_get_monotonic_time ();
    g_autofree char *signature = folder_signature (job->from);
    if (!seen || !g_str_equal (seen, signature)) {
      quiet_since = now;
      g_free (seen);
      seen = g_strdup (signature);
    }
    /* before and after: a run starting meanwhile counts */
    writing = drmad_run_in_use (job->from, NULL);
    /* read again only what changed: a checkpoint can be gigabytes */
    if (!files || !settled || !g_str_equal (read_at, signature)) {
      g_clear_pointer (&files, g_ptr_array_unref);
      if (!(files = read_run_files (job->from, &settled, &error))) {
        g_prefix_error (&error, "cannot export %s: ", job->from);
        g_task_return_error (task, error);
        return;
      }
      g_free (read_at);
      read_at = g_steal_pointer (&signature);
      state = settled ? check_reading (files, FALSE, NULL) : READING_UNKNOWN;
    }
    writing |= drmad_run_in_use (job->from, NULL);
    if (settled && (state == READING_WHOLE || !writing || now - quiet_since >= EXPORT_QUIET_US))
      break;
    if (!settled && !writing && attempt >= 20)
      break;   /* no run holds it, yet it changes: the last reading, as read */
    if (now - start >= EXPORT_LIMIT_US) {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_BUSY, "cannot export %s: for %d minutes the run "
                               "writing it kept replacing its files, each reading of it falling within the "
                               "recording of a meta-iteration; try again, or stop that run first", job->from,
                               (int) (EXPORT_LIMIT_US / G_USEC_PER_SEC / 60));
      return;
    }
  }
  if (settled && state == READING_AHEAD)
    check_reading (files, TRUE, job);
  gboolean redraw = settled && state != READING_UNKNOWN && plots_behind (files);
  if (g_mkdir_with_parents (job->to, 0755) != 0) {
    int saved = errno;
    g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (saved), "cannot export: cannot create %s: %s",
                             job->to, g_strerror (saved));
    return;
  }
  GStatBuf from_stat, to_stat;
  if (g_stat (job->from, &from_stat) == 0 && g_stat (job->to, &to_stat) == 0 && from_stat.st_ino == to_stat.st_ino
      && from_stat.st_dev == to_stat.st_dev) {
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_EXISTS,
                             "cannot export into %s: it is the run folder itself; choose another folder", job->to);
    return;
  }
  ExportedFile *ini = find_file (files, "run.ini");
  g_autoptr (GBytes) ini_text = ini && redraw ? g_bytes_ref (ini->contents) : NULL;
  /* the plots to draw anew go last, drawn from the checkpoint exported: its
   * bytes are then no longer held here, only what the library decodes */
  guint written = 0, total = files->len;
  for (guint k = 0; k < 3 && redraw; k++)
    total += !find_file (files, drmad_run_plot_files[k]);
  for (guint i = 0; i < files->len; i++) {
    ExportedFile *file = files->pdata[i];
    if (redraw && is_plot (file->name))
      continue;
    if (!export_file (task, job, file->name, file->contents, written, total))
      return;
    written++;
    g_clear_pointer (&file->contents, g_bytes_unref);
  }
  if (redraw) {
    GBytes *pngs[3] = { NULL };
    /* where the checkpoint cannot be decoded here, the run's own plots */
    gboolean drawn = ini_text && draw_plots (job->to, ini_text, pngs);
    for (guint k = 0; k < 3; k++) {
      ExportedFile *file = find_file (files, drmad_run_plot_files[k]);
      g_autoptr (GBytes) png = drawn ? pngs[k] : file ? g_bytes_ref (file->contents) : NULL;
      if (png && !export_file (task, job, drmad_run_plot_files[k], png, written, total))
        return;
      written += png != NULL;
    }
  }
  g_task_return_int (task, written);
}

/* The run's own files (drmad_run_record writes them) before any other of
 * its folder, each part by name. */
static gboolean
is_run_file (const char *name)
{
  static const char *const own[] = { "checkpoint.bin", "history.csv", "hyper.csv", "run.ini" };
  for (guint k = 0; k < G_N_ELEMENTS (own); k++)
    if (g_str_equal (name, own[k]))
      return TRUE;
  return is_plot (name);
}

static int
run_files_first (gconstpointer a, gconstpointer b)
{
  const char *x = *(const char *const *) a, *y = *(const char *const *) b;
  gboolean own_x = is_run_file (x), own_y = is_run_file (y);
  return own_x != own_y ? (own_x ? -1 : 1) : strcmp (x, y);
}

/* The status line names this many files at most: a run's seven and one of
 * the user's; past that, the first seven and how many more, so that the
 * folder exported to and any rows left out stay in view. */
#define EXPORT_NAMES_SHOWN 8

/* "checkpoint.bin, history.csv, … and 21 more", as the user reads the
 * names (a name that is not UTF-8 with U+FFFD for its odd bytes). */
static char *
export_names (GPtrArray *written)
{
  g_ptr_array_sort (written, run_files_first);
  guint shown = written->len <= EXPORT_NAMES_SHOWN ? written->len : EXPORT_NAMES_SHOWN - 1;
  GString *text = g_string_new (NULL);
  for (guint i = 0; i < shown; i++) {
    g_autofree char *name = g_filename_display_name (written->pdata[i]);
    g_string_append_printf (text, "%s%s", i ? ", " : "", name);
  }
  if (shown < written->len)
    g_string_append_printf (text, " and %u more", written->len - shown);
  return g_string_free (text, FALSE);
}

static void
export_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  gssize copied = g_task_propagate_int (G_TASK (result), &error);
  g_autoptr (DrmadWindow) self = drmad_window_task_window (user_data);
  if (!self || !task_end (self, error))
    return;
  ExportJob *job = g_task_get_task_data (G_TASK (result));
  if (copied < 0) {
    drmad_window_set_status (self, "Export failed");
    drmad_window_show_error (self, error->message);
  } else {
    g_autofree char *rows = NULL;
    if (job->ahead_first == job->ahead_last)
      rows = g_strdup_printf ("rows of %" G_GUINT64_FORMAT, job->ahead_first);
    else
      rows = g_strdup_printf ("rows of %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT, job->ahead_first,
                              job->ahead_last);
    /* rows left out (check_reading): said, not only done */
    g_autofree char *cut = job->ahead_first
                             ? g_strdup_printf ("; history.csv and hyper.csv end at meta-iteration %" G_GUINT64_FORMAT
                                                ", the last the checkpoint holds; the folder also has %s that no "
                                                "checkpoint holds (resume the run to record them)",
                                                job->kept_iteration, rows)
                             : g_strdup ("");
    /* the files as written: a folder without checkpoint.bin (or with files
     * of its own) was said to have given the usual seven */
    g_autofree char *names = export_names (job->written);
    g_autofree char *to = g_filename_display_name (job->to);
    drmad_window_set_status (self, "Exported %" G_GSSIZE_FORMAT " file%s%s%s%s to %s%s", copied, copied == 1 ? "" : "s",
                             *names ? " (" : "", names, *names ? ")" : "", to, cut);
  }
}

void
drmad_window_export_to (DrmadWindow *self, const char *folder)
{
  g_return_if_fail (DRMAD_IS_WINDOW (self));
  if (!self->run_folder || self->tasks_running > 0)
    return;
  ExportJob *job = g_new0 (ExportJob, 1);
  job->from = g_strdup (self->run_folder);
  job->to = g_strdup (folder);
  job->written = g_ptr_array_new_with_free_func (g_free);
  task_begin (self, "Exporting…");
  g_autoptr (GTask) task = g_task_new (NULL, self->cancellable, export_done, drmad_window_task_data (self));
  g_task_set_task_data (task, job, export_job_free);
  g_task_run_in_thread (task, export_thread);
}

/* ---- a dataset from a folder ---- */

typedef struct {
  char *path;
  guint n_train, n_test, dim, classes;
} ProbedDataset;

static void
probed_dataset_free (gpointer data)
{
  ProbedDataset *probed = data;
  g_free (probed->path);
  g_free (probed);
}

/* Loads the dataset once, so that a bad file shows now rather than at Start. */
static void
probe_dataset_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  const char *path = task_data;
  g_autoptr (DrmadDataset) train = NULL;
  g_autoptr (DrmadDataset) test = NULL;
  GError *error = NULL;
  if (!drmad_dataset_open (path, NULL, &train, &test, &error)) {
    g_task_return_error (task, error);
    return;
  }
  ProbedDataset *probed = g_new0 (ProbedDataset, 1);
  probed->path = g_strdup (path);
  probed->n_train = drmad_dataset_get_n (train);
  probed->n_test = test ? drmad_dataset_get_n (test) : 0;
  probed->dim = drmad_dataset_get_dim (train);
  /* the net's outputs cover the test set's labels too, and are never fewer than two */
  probed->classes = MAX (MAX (drmad_dataset_get_n_classes (train), test ? drmad_dataset_get_n_classes (test) : 0), 2);
  g_task_return_pointer (task, probed, probed_dataset_free);
}

static void
probe_dataset_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  ProbedDataset *probed = g_task_propagate_pointer (G_TASK (result), &error);
  g_autoptr (DrmadWindow) self = drmad_window_task_window (user_data);
  if (!self || !task_end (self, error))
    return;
  if (!probed) {
    drmad_window_set_status (self, "Could not open the dataset");
    drmad_window_show_error (self, error->message);
    return;
  }
  g_autofree char *label = g_path_get_basename (probed->path);
  drmad_window_add_dataset (self, probed->path, label);
  drmad_settings_set (self->settings, "dataset", probed->path, NULL);
  /* The network's input and output widths follow the data; the hidden layers stay. */
  g_auto (GStrv) widths = g_strsplit (drmad_settings_get (self->settings, "layers"), ",", -1);
  guint n = g_strv_length (widths);
  if (n >= 2) {
    g_free (widths[0]);
    widths[0] = g_strdup_printf ("%u", probed->dim);
    g_free (widths[n - 1]);
    widths[n - 1] = g_strdup_printf ("%u", probed->classes);
    g_autofree char *layers = g_strjoinv (",", widths);
    drmad_settings_set (self->settings, "layers", layers, NULL);
  }
  drmad_window_set_status (self, "Dataset %s: %u training examples of %u values in %u classes%s", label,
                           probed->n_train, probed->dim, probed->classes,
                           probed->n_test ? ", and its own test set" : "");
  probed_dataset_free (probed);
}

void
drmad_window_open_dataset (DrmadWindow *self, const char *path)
{
  g_return_if_fail (DRMAD_IS_WINDOW (self));
  if (drmad_window_is_busy (self))
    return;
  gtk_revealer_set_reveal_child (self->banner_revealer, FALSE);
  /* A file chosen inside an IDX or CIFAR-10 folder stands for its folder. */
  char *folder = g_file_test (path, G_FILE_TEST_IS_REGULAR) ? g_path_get_dirname (path) : g_strdup (path);
  task_begin (self, "Loading the dataset…");
  g_autoptr (GTask) task = g_task_new (NULL, self->cancellable, probe_dataset_done, drmad_window_task_data (self));
  g_task_set_task_data (task, folder, g_free);
  g_task_run_in_thread (task, probe_dataset_thread);
}

/* ---- the file choosers ---- */

typedef void (*FolderChosen) (DrmadWindow *self, const char *path);

static void
on_folder_chosen (GtkNativeDialog *dialog, int response, DrmadWindow *self)
{
  FolderChosen chosen = g_object_get_data (G_OBJECT (dialog), "drmad-chosen");
  if (response == GTK_RESPONSE_ACCEPT) {
    g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
    g_autofree char *path = file ? g_file_get_path (file) : NULL;
    if (path)
      chosen (self, path);
  }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
}

static void
choose_folder (DrmadWindow *self, const char *title, const char *accept, const char *start_in, FolderChosen chosen)
{
  GtkFileChooserNative *native = gtk_file_chooser_native_new (title, GTK_WINDOW (self),
                                                              GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, accept,
                                                              "_Cancel");
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (native), TRUE);
  if (start_in && g_file_test (start_in, G_FILE_TEST_IS_DIR)) {
    g_autoptr (GFile) folder = g_file_new_for_path (start_in);
    gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (native), folder, NULL);
  }
  g_object_set_data (G_OBJECT (native), "drmad-chosen", chosen);
  g_signal_connect_object (native, "response", G_CALLBACK (on_folder_chosen), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (native));
}

static char *
runs_folder (void)
{
  return g_build_filename (g_get_user_data_dir (), "drmad", "runs", NULL);
}

/* ---- Compare runs ---- */

/* Read in a GTask thread: a checkpoint.bin of hundreds of megabytes froze
 * the window for seconds. The comparison's window shows that it is loading
 * meanwhile; closing it, or another Compare, cancels the load. */
typedef struct {
  GStrv         folders;
  GtkWidget    *compare;     /* the comparison's window, referenced */
  gboolean      closed;      /* it was closed while loading */
  GCancellable *cancellable;
  DrmadPlot    *val, *l2, *lr;
} CompareJob;

static void
compare_job_free (gpointer data)
{
  CompareJob *job = data;
  g_strfreev (job->folders);
  g_clear_object (&job->compare);
  g_clear_object (&job->cancellable);
  g_clear_pointer (&job->val, drmad_plot_free);
  g_clear_pointer (&job->l2, drmad_plot_free);
  g_clear_pointer (&job->lr, drmad_plot_free);
  g_free (job);
}

static void
compare_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  CompareJob *job = task_data;
  GError *error = NULL;
  if (drmad_compare_runs_cancellable ((const char *const *) job->folders, cancellable, &job->val, &job->l2, &job->lr,
                                      &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/* The comparison's window closed while it loads (its window manager's
 * close, Escape, Ctrl+W: all ask through close-request, then the window is
 * destroyed): its load is no longer wanted. Not "destroy": GTK emits that
 * as the window's last reference goes, and the job holds one until the
 * load ends. */
static gboolean
on_compare_close_request (GtkWindow *compare, CompareJob *job)
{
  job->closed = TRUE;
  g_cancellable_cancel (job->cancellable);
  return FALSE;   /* closed: destroyed */
}

static void
compare_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (DrmadWindow) self = drmad_window_task_window (user_data);
  CompareJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;
  gboolean loaded = g_task_propagate_boolean (G_TASK (result), &error);
  /* the comparison's window and the plots are let go here, in the main
   * thread, on every path: the task itself may end in its worker thread */
  g_autoptr (GtkWidget) compare = g_steal_pointer (&job->compare);
  g_autoptr (DrmadPlot) val = g_steal_pointer (&job->val);
  g_autoptr (DrmadPlot) l2 = g_steal_pointer (&job->l2);
  g_autoptr (DrmadPlot) lr = g_steal_pointer (&job->lr);
  g_signal_handlers_disconnect_by_func (compare, on_compare_close_request, job);
  if (self && self->compare_cancellable == job->cancellable) {
    g_clear_object (&self->compare_cancellable);
    self->compare_loading = NULL;
  }
  if (!self || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
    if (!job->closed)   /* another Compare, or the window going away */
      gtk_window_destroy (GTK_WINDOW (compare));
    return;
  }
  if (!loaded) {
    gtk_window_destroy (GTK_WINDOW (compare));
    drmad_window_show_error (self, error->message);
    drmad_window_compare_finished (self, NULL);
    return;
  }
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  gtk_box_set_homogeneous (GTK_BOX (box), TRUE);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_widget_set_margin_top (box, 12);
  gtk_widget_set_margin_bottom (box, 12);
  DrmadPlot *plots[3] = { g_steal_pointer (&val), g_steal_pointer (&l2), g_steal_pointer (&lr) };
  for (guint i = 0; i < 3; i++) {
    GtkWidget *view = drmad_plot_view_new ();
    gtk_widget_set_hexpand (view, TRUE);
    gtk_widget_set_vexpand (view, TRUE);
    drmad_plot_view_set_plot (DRMAD_PLOT_VIEW (view), plots[i]);
    gtk_box_append (GTK_BOX (box), view);
  }
  gtk_window_set_child (GTK_WINDOW (compare), box);
  /* the focus on the first plot, as GTK gives a window shown with a widget
   * that takes it (this one was shown loading, with none): its keys work
   * at once, and a screen reader reads its name and newest values */
  gtk_window_set_focus (GTK_WINDOW (compare), gtk_widget_get_first_child (box));
  drmad_window_compare_finished (self, compare);
}

GtkWidget *
drmad_window_compare_runs (DrmadWindow *self, const char *const *folders)
{
  g_return_val_if_fail (DRMAD_IS_WINDOW (self), NULL);
  g_autoptr (GStrvBuilder) all = g_strv_builder_new ();
  for (const char *const *f = folders; f && *f; f++)
    g_strv_builder_add (all, *f);
  if (self->run_folder && !(folders && g_strv_contains (folders, self->run_folder))
      && g_file_test (self->run_folder, G_FILE_TEST_IS_DIR))
    g_strv_builder_add (all, self->run_folder);   /* and the run this window shows */
  /* one load at a time: the one in flight, and its window, give way now
   * (its thread ends once the checkpoint it reads is read) */
  if (self->compare_loading)
    gtk_window_destroy (GTK_WINDOW (self->compare_loading));
  if (self->compare_cancellable)
    g_cancellable_cancel (self->compare_cancellable);
  g_clear_object (&self->compare_cancellable);
  self->compare_cancellable = g_cancellable_new ();

  /* A window of the application's, as the main window is: GTK gives the
   * application's keys (Ctrl+Q, Ctrl+? for its own shortcuts window) only to
   * the windows the application holds, and Quit destroys only those. It
   * goes with the main window, which is the program (closing that one
   * quits). */
  GtkWidget *window = gtk_application_window_new (gtk_window_get_application (GTK_WINDOW (self)));
  gtk_application_window_set_show_menubar (GTK_APPLICATION_WINDOW (window), FALSE);
  /* A shortcuts window of its own keys (data/ui/compare-help-overlay.ui):
   * GtkApplication gives each of its windows the main window's, whose
   * Start, Stop, Open, Export, F9 and F10 do nothing here. */
  g_autoptr (GtkBuilder) builder = gtk_builder_new_from_resource ("/org/drmad/Drmad/ui/compare-help-overlay.ui");
  GtkShortcutsWindow *overlay = GTK_SHORTCUTS_WINDOW (gtk_builder_get_object (builder, "help_overlay"));
  gtk_application_window_set_help_overlay (GTK_APPLICATION_WINDOW (window), overlay);
  drmad_secondary_window_setup (GTK_WINDOW (overlay), FALSE);
  gtk_window_set_title (GTK_WINDOW (window), "Compare runs");
  gtk_window_set_transient_for (GTK_WINDOW (window), GTK_WINDOW (self));
  /* Not destroy-with-parent: GTK then keeps the main window as its parent
   * after destroying it, and a comparison still loading (its job holds it)
   * let go of that dead parent as it was finalized. Connected after
   * gtk_window_set_transient_for(), whose handler forgets the parent first. */
  g_signal_connect_object (self, "destroy", G_CALLBACK (gtk_window_destroy), window, G_CONNECT_SWAPPED);
  gtk_window_set_default_size (GTK_WINDOW (window), 1300, 480);
  /* Escape and Ctrl+W close it as the window manager does, so that
   * on_compare_close_request() cancels a load still going */
  drmad_secondary_window_setup (GTK_WINDOW (window), TRUE);
  GtkWidget *loading = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  gtk_widget_set_halign (loading, GTK_ALIGN_CENTER);
  gtk_widget_set_valign (loading, GTK_ALIGN_CENTER);
  GtkWidget *spinner = gtk_spinner_new ();
  gtk_spinner_start (GTK_SPINNER (spinner));
  gtk_box_append (GTK_BOX (loading), spinner);
  GStrv all_folders = g_strv_builder_end (all);
  guint n = drmad_compare_count_runs ((const char *const *) all_folders);
  g_autofree char *text = g_strdup_printf ("Loading %u run folder%s…", n, n == 1 ? "" : "s");
  gtk_box_append (GTK_BOX (loading), gtk_label_new (text));
  gtk_window_set_child (GTK_WINDOW (window), loading);

  CompareJob *job = g_new0 (CompareJob, 1);
  job->folders = all_folders;
  job->compare = g_object_ref (window);
  self->compare_loading = window;
  job->cancellable = g_object_ref (self->compare_cancellable);
  g_signal_connect (window, "close-request", G_CALLBACK (on_compare_close_request), job);
  g_autoptr (GTask) task = g_task_new (NULL, self->compare_cancellable, compare_done, drmad_window_task_data (self));
  g_task_set_task_data (task, job, compare_job_free);
  g_task_run_in_thread (task, compare_thread);
  gtk_window_present (GTK_WINDOW (window));
  return window;
}

gboolean
drmad_window_is_comparing (DrmadWindow *self)
{
  g_return_val_if_fail (DRMAD_IS_WINDOW (self), FALSE);
  return self->compare_cancellable != NULL;
}

static void
on_compare_chosen (GtkNativeDialog *native, int response, DrmadWindow *self)
{
  if (response == GTK_RESPONSE_ACCEPT) {
    g_autoptr (GListModel) files = gtk_file_chooser_get_files (GTK_FILE_CHOOSER (native));
    g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
    for (guint i = 0; i < g_list_model_get_n_items (files); i++) {
      g_autoptr (GFile) file = g_list_model_get_item (files, i);
      char *path = g_file_get_path (file);
      if (path)
        g_ptr_array_add (paths, path);
    }
    g_ptr_array_add (paths, NULL);
    drmad_window_compare_runs (self, (const char *const *) paths->pdata);
  }
  g_object_unref (native);
}

static char *runs_folder (void);

/* Several run folders at once (Ctrl or Shift in the chooser), plus the one shown. */
static void
compare_runs (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  DrmadWindow *self = user_data;
  GtkFileChooserNative *native = gtk_file_chooser_native_new ("Compare run folders", GTK_WINDOW (self),
                                                              GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, "_Compare",
                                                              "_Cancel");
  gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (native), TRUE);
  g_autofree char *runs = runs_folder ();
  if (g_file_test (runs, G_FILE_TEST_IS_DIR)) {
    g_autoptr (GFile) folder = g_file_new_for_path (runs);
    gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (native), folder, NULL);
  }
  g_signal_connect_object (native, "response", G_CALLBACK (on_compare_chosen), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (native));
}

static void
open_run (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  g_autofree char *runs = runs_folder ();
  choose_folder (user_data, "Open a run folder", "_Open", runs, drmad_window_open_run);
}

static void
on_replace_response (GtkDialog *dialog, int response, DrmadWindow *self)
{
  const char *folder = g_object_get_data (G_OBJECT (dialog), "drmad-folder");
  if (response == GTK_RESPONSE_ACCEPT)
    drmad_window_export_to (self, folder);
  gtk_window_destroy (GTK_WINDOW (dialog));
}

/* Export asks before replacing files of the same names in the chosen folder
 * (the terminal refuses a non-empty folder without --force). */
GtkWidget *
drmad_window_export_asking (DrmadWindow *self, const char *folder)
{
  guint clashes = 0;
  if (self->run_folder) {
    g_autoptr (GDir) dir = g_dir_open (self->run_folder, 0, NULL);
    for (const char *name; dir && (name = g_dir_read_name (dir));) {
      g_autofree char *there = g_build_filename (folder, name, NULL);
      clashes += name[0] != '.' && g_file_test (there, G_FILE_TEST_EXISTS);
    }
  }
  if (clashes == 0) {
    drmad_window_export_to (self, folder);
    return NULL;
  }
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  GtkWidget *dialog = gtk_message_dialog_new (GTK_WINDOW (self), GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                              GTK_MESSAGE_QUESTION, GTK_BUTTONS_NONE,
                                              "Replace %u file%s in %s?", clashes, clashes == 1 ? "" : "s", folder);
  gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog),
                                            "The folder already holds files of the same names as the run's "
                                            "(plots, history.csv, hyper.csv, run.ini, checkpoint.bin).");
  gtk_dialog_add_button (GTK_DIALOG (dialog), "_Cancel", GTK_RESPONSE_CANCEL);
  gtk_dialog_add_button (GTK_DIALOG (dialog), "_Replace", GTK_RESPONSE_ACCEPT);
  G_GNUC_END_IGNORE_DEPRECATIONS
  g_object_set_data_full (G_OBJECT (dialog), "drmad-folder", g_strdup (folder), g_free);
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_replace_response), self, 0);
  drmad_secondary_window_setup (GTK_WINDOW (dialog), FALSE);
  gtk_window_present (GTK_WINDOW (dialog));
  return dialog;
}

static void
export_or_ask (DrmadWindow *self, const char *folder)
{
  drmad_window_export_asking (self, folder);
}

static void
toggle_settings (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  DrmadWindow *self = user_data;
  gboolean hide = gtk_toggle_button_get_active (self->settings_toggle);
  /* A field of the column with the focus (F9 pressed in it) gives it to the
   * first plot: hidden, it left the focus on the invisible pane. */
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (self));
  if (hide && focus && gtk_widget_is_ancestor (focus, self->settings_scroller))
    gtk_widget_grab_focus (GTK_WIDGET (self->l2_view));
  gtk_toggle_button_set_active (self->settings_toggle, !hide);
}

static void
export (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  choose_folder (user_data, "Export the run into a folder", "_Export", NULL, export_or_ask);
}

static void
open_dataset (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  choose_folder (user_data, "Open a dataset: a folder of IDX files, CIFAR-10 batches, or PNG class folders",
                 "_Open", NULL, drmad_window_open_dataset);
}

static void
dismiss_banner (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  DrmadWindow *self = user_data;
  gtk_revealer_set_reveal_child (self->banner_revealer, FALSE);
}

static void
show_runs (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  g_autofree char *runs = runs_folder ();
  g_mkdir_with_parents (runs, 0755);
  g_autoptr (GFile) folder = g_file_new_for_path (runs);
  g_autofree char *uri = g_file_get_uri (folder);
  gtk_show_uri (GTK_WINDOW (user_data), uri, GDK_CURRENT_TIME);
}

void
drmad_window_install_actions (DrmadWindow *self)
{
  static const GActionEntry entries[] = {
    { .name = "start", .activate = start },
    { .name = "stop", .activate = stop },
    { .name = "open-run", .activate = open_run },
    { .name = "compare-runs", .activate = compare_runs },
    { .name = "export", .activate = export },
    { .name = "toggle-settings", .activate = toggle_settings },
    { .name = "open-dataset", .activate = open_dataset },
    { .name = "dismiss-banner", .activate = dismiss_banner },
    { .name = "show-runs", .activate = show_runs },
  };
  g_action_map_add_action_entries (G_ACTION_MAP (self), entries, G_N_ELEMENTS (entries), self);
  drmad_window_update_actions (self);
}
