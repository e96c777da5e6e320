/* The window, in this process under Xvfb (tests/run-with-xvfb.sh):
 * a tiny run set through app.set-option, started and watched until two
 * meta-iterations are plotted, stopped (the run ends mid-way, "Stopped", the run
 * folder holding every finished meta-iteration), saved as a PNG, exported,
 * opened again and continued; bad input lands in the window's banner. Also
 * the settings table, drmad_options_from_values against the command line,
 * and that the runner's signals never run on its worker thread. In windows
 * of their own: that nothing is out of reach at 1024×600 and 800×600, the
 * keyboard, and the files as a user meets them (settings.ini damaged or from
 * another version, quitting by a signal, Export cut short, Open run on a
 * folder in use or without its checkpoint, a plot saved where it cannot be). */
#define _GNU_SOURCE   /* F_OFD_SETLK: hold_run_lock() in test-util.h */
#include <gtk/gtk.h>
#include <locale.h>
#include <math.h>
#include <glib/gstdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <signal.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/inotify.h>
#endif

#include "drmad-application.h"
#include "drmad-compare.h"
#include "drmad-job.h"
#include "drmad-options.h"
#include "drmad-runner.h"
#include "drmad-window.h"
#include "drmad-window-private.h"   /* the summary's rows, set without a run */
#include "test-util.h"

static gboolean display_ok;

/* In a test function: skips it where GTK found no display. */
#define SKIP_WITHOUT_DISPLAY() G_STMT_START {                                      \
    if (!display_ok) {                                                               \
      g_test_skip ("no display (gtk_init_check failed): run under tests/run-with-xvfb.sh"); \
      return;                                                                        \
    }                                                                                \
  } G_STMT_END

static GtkWidget *find_action_button (GtkWidget *widget, const char *action);

static gboolean
have_display_data_and_device (void)
{
  if (!display_ok) {
    g_test_skip ("no display (gtk_init_check failed): run under tests/run-with-xvfb.sh");
    return FALSE;
  }
  if (!g_file_test ("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", G_FILE_TEST_EXISTS)) {
    g_test_skip ("Fashion-MNIST is not installed (Debian package dataset-fashion-mnist)");
    return FALSE;
  }
  g_autoptr (GPtrArray) devices = drmad_device_list (NULL);
  if (!devices || devices->len == 0) {
    g_test_skip ("no OpenCL device");
    return FALSE;
  }
  return TRUE;
}

/* ---- the main context, iterated until a condition holds ---- */

typedef gboolean (*Condition) (DrmadWindow *window);

static gboolean
wake (gpointer unused)
{
  return G_SOURCE_CONTINUE;
}

/* Iterates until @condition holds or @seconds pass; returns the seconds it took, or -1. */
static double
wait_until (DrmadWindow *window, Condition condition, double seconds)
{
  gint64 start = g_get_monotonic_time ();
  guint waker = g_timeout_add (5, wake, NULL);
  while (!condition (window) && g_get_monotonic_time () - start < seconds * 1e6)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (waker);
  return condition (window) ? (g_get_monotonic_time () - start) / 1e6 : -1;
}

static gboolean two_plotted (DrmadWindow *w) { return drmad_window_get_n_plotted (w) >= 2; }
static gboolean idle (DrmadWindow *w) { return !drmad_window_is_busy (w); }
static gboolean stopped (DrmadWindow *w)
{
  return !drmad_window_is_running (w) && strstr (drmad_window_get_status (w), "Stopped") != NULL;
}

static gboolean allocated (DrmadWindow *w) { return gtk_widget_get_width (GTK_WIDGET (w)) > 0; }
static gboolean no_task (DrmadWindow *w) { return w->tasks_running == 0; }

/* An exported run folder's files are of one meta-iteration, returned:
 * history.csv's and hyper.csv's last rows are its checkpoint's last record,
 * and its plots are the ones drawn from that checkpoint. */
static guint
assert_one_iteration (const char *folder)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *ini = g_build_filename (folder, "run.ini", NULL);
  g_autoptr (GHashTable) values = drmad_options_read_ini (NULL, 0, ini, TRUE, &error);
  g_assert_no_error (error);
  DrmadOptions options = { 0 };
  g_assert_true (drmad_options_from_values (&options, values, &error));
  g_autoptr (DrmadHyper) hyper = NULL;
  g_autoptr (DrmadRun) run = NULL;
  g_assert_true (drmad_run_load (folder, &options, &hyper, &run, &error));
  g_assert_no_error (error);
  drmad_options_clear (&options);
  guint n = drmad_run_get_n_records (run);
  g_assert_cmpuint (n, >, 0);
  guint last = drmad_run_get_record (run, n - 1)->iteration;
  g_autofree char *history_path = g_build_filename (folder, "history.csv", NULL);
  g_autofree char *hyper_path = g_build_filename (folder, "hyper.csv", NULL);
  g_autofree char *history = NULL, *hyper_csv = NULL;
  g_assert_true (g_file_get_contents (history_path, &history, NULL, NULL));
  g_assert_true (g_file_get_contents (hyper_path, &hyper_csv, NULL, NULL));
  guint history_last = 0;
  for (const char *line = history; line; line = strchr (line, '\n') ? strchr (line, '\n') + 1 : NULL)
    if (g_ascii_isdigit (*line))
      history_last = g_ascii_strtoull (line, NULL, 10);
  g_strchomp (hyper_csv);
  const char *hyper_line = strrchr (hyper_csv, '\n');
  g_assert_nonnull (hyper_line);
  g_assert_cmpuint (history_last, ==, last);
  g_assert_cmpuint (g_ascii_strtoull (hyper_line + 1, NULL, 10), ==, last);
  GBytes *pngs[3];
  g_assert_true (drmad_run_plot_pngs (run, hyper, pngs, &error));
  for (guint i = 0; i < 3; i++) {
    g_autofree char *path = g_build_filename (folder, drmad_run_plot_files[i], NULL), *png = NULL;
    gsize length;
    g_assert_true (g_file_get_contents (path, &png, &length, NULL));
    g_assert_cmpmem (png, length, g_bytes_get_data (pngs[i], NULL), g_bytes_get_size (pngs[i]));
    g_bytes_unref (pngs[i]);
  }
  return last;
}

/* The scrolled window around the tabs of the plots beside the learning rate. */
static GtkWidget *
plot_tabs_scroller (DrmadWindow *w)
{
  GtkWidget *stack = gtk_widget_get_parent (GTK_WIDGET (drmad_window_get_plot_view (w, 1)));
  g_assert_true (GTK_IS_STACK (stack));
  GtkWidget *scroller = gtk_widget_get_first_child (gtk_widget_get_parent (stack));
  g_assert_true (GTK_IS_SCROLLED_WINDOW (scroller));
  return scroller;
}

static gboolean
tabs_laid_out (DrmadWindow *w)
{
  GtkWidget *scroller = plot_tabs_scroller (w);
  return gtk_widget_get_width (scroller) > 0
         && gtk_widget_get_mapped (gtk_scrolled_window_get_hscrollbar (GTK_SCROLLED_WINDOW (scroller)));
}

/* The accelerators a shortcuts window lists. */
static void
collect_accelerators (GtkWidget *widget, GPtrArray *accelerators)
{
  if (GTK_IS_SHORTCUTS_SHORTCUT (widget)) {
    char *accelerator = NULL;
    g_object_get (widget, "accelerator", &accelerator, NULL);
    if (accelerator)
      g_ptr_array_add (accelerators, accelerator);
  }
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    collect_accelerators (child, accelerators);
}

/* Whether a shortcut of @widget's own, not an action's accelerator (GTK's
 * window: the inspector's Ctrl+Shift+I and Ctrl+Shift+D, its Tab and arrow
 * keys), is @key with @mods. */
static gboolean
widget_takes_key (GtkWidget *widget, guint key, GdkModifierType mods)
{
  gboolean taken = FALSE;
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (widget);
  for (guint i = 0; i < g_list_model_get_n_items (controllers) && !taken; i++) {
    g_autoptr (GtkEventController) controller = g_list_model_get_item (controllers, i);
    if (!GTK_IS_SHORTCUT_CONTROLLER (controller))
      continue;
    for (guint k = 0; k < g_list_model_get_n_items (G_LIST_MODEL (controller)) && !taken; k++) {
      g_autoptr (GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (controller), k);
      GtkShortcutTrigger *trigger = gtk_shortcut_get_trigger (shortcut);
      taken = !GTK_IS_NAMED_ACTION (gtk_shortcut_get_action (shortcut)) && GTK_IS_KEYVAL_TRIGGER (trigger)
              && gdk_keyval_to_lower (gtk_keyval_trigger_get_keyval (GTK_KEYVAL_TRIGGER (trigger))) == key
              && gtk_keyval_trigger_get_modifiers (GTK_KEYVAL_TRIGGER (trigger)) == mods;
    }
  }
  return taken;
}

static guint resumed_target;
static gboolean one_more (DrmadWindow *w) { return drmad_window_get_n_plotted (w) >= resumed_target; }

static void
set_option (GApplication *app, const char *assignment)
{
  g_action_group_activate_action (G_ACTION_GROUP (app), "set-option", g_variant_new_string (assignment));
}

static void
activate (DrmadWindow *window, const char *name)
{
  g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (window), name));
  g_action_group_activate_action (G_ACTION_GROUP (window), name, NULL);
}

/* Rows of history.csv after its header. */
static guint
history_rows (const char *folder)
{
  g_autofree char *path = g_build_filename (folder, "history.csv", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  guint lines = 0;
  for (const char *p = text; *p; p++)
    lines += *p == '\n';
  return lines - 1;
}

static gboolean saved_flag;
static gboolean is_saved (DrmadWindow *w) { return saved_flag; }

static void
saved (GObject *source, GAsyncResult *result, gpointer user_data)
{
  drmad_window_save_png_finish (DRMAD_WINDOW (source), result, user_data);
  saved_flag = TRUE;
}

/* The PNG has the window's size and shows more than a blank surface. */
static void
assert_window_png (DrmadWindow *window, const char *path)
{
  g_autoptr (GError) error = NULL;
  saved_flag = FALSE;
  drmad_window_save_png_async (window, path, saved, &error);
  g_assert_cmpfloat (wait_until (window, is_saved, 10), >=, 0);
  g_assert_no_error (error);
  g_autoptr (GdkTexture) texture = gdk_texture_new_from_filename (path, &error);
  g_assert_no_error (error);
  int width = gdk_texture_get_width (texture), height = gdk_texture_get_height (texture);
  g_assert_cmpint (width, ==, gtk_widget_get_width (GTK_WIDGET (window)));
  g_assert_cmpint (height, ==, gtk_widget_get_height (GTK_WIDGET (window)));
  g_assert_cmpint (width, >=, 800);
  g_autofree guint32 *pixels = g_new (guint32, (gsize) width * height);
  gdk_texture_download (texture, (guchar *) pixels, width * 4);
  g_autoptr (GHashTable) colours = g_hash_table_new (g_direct_hash, g_direct_equal);
  for (gsize i = 0; i < (gsize) width * height; i += 7)
    g_hash_table_add (colours, GUINT_TO_POINTER (pixels[i]));
  g_test_message ("%s: %d × %d, %u colours", path, width, height, g_hash_table_size (colours));
  g_assert_cmpuint (g_hash_table_size (colours), >, 100);
}

/* The runner's signals are emitted on the main context's thread only, even
 * while that thread is busy outside the main loop (as the window test is
 * between its waits, e.g. hovering): g_main_context_invoke() from the worker
 * would run them on the worker whenever it could acquire the context, racing
 * the main thread on the window and its plots (a SIGSEGV seen once in ~12
 * suite runs). */
typedef struct {
  GThread *main_thread;
  guint    emitted, off_thread, iterations;
  gboolean finished, folder;
  /* "META PHASE" → the steps of its progress events, in the order they
   * came; "setup PHASE" before the folder event */
  GHashTable *phases;
} RunnerWatch;

static void
watch_emission (RunnerWatch *watch)
{
  watch->emitted++;
  if (g_thread_self () != watch->main_thread)
    watch->off_thread++;
}

static void
on_watch_event (DrmadRunner *runner, gpointer event, RunnerWatch *watch)
{
  watch_emission (watch);
}

static void
on_watch_folder (DrmadRunner *runner, DrmadRunnerFolder *folder, RunnerWatch *watch)
{
  watch_emission (watch);
  watch->folder = TRUE;
}

static void
free_string (gpointer string)
{
  g_string_free (string, TRUE);
}

static void
on_watch_progress (DrmadRunner *runner, DrmadJobProgress *progress, RunnerWatch *watch)
{
  watch_emission (watch);
  char *key = watch->folder ? g_strdup_printf ("%" G_GUINT64_FORMAT " %s", progress->meta_done, progress->phase)
                            : g_strdup_printf ("setup %s", progress->phase);
  GString *steps = g_hash_table_lookup (watch->phases, key);
  if (!steps) {
    steps = g_string_new (NULL);
    g_hash_table_insert (watch->phases, key, steps);
  } else {
    g_free (key);
  }
  g_string_append_printf (steps, " %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT, progress->step, progress->total);
}

static void
on_watch_iteration (DrmadRunner *runner, DrmadRunnerIteration *it, RunnerWatch *watch)
{
  watch_emission (watch);
  watch->iterations++;
}

static void
on_watch_finished (DrmadRunner *runner, DrmadRunnerFinish *finish, RunnerWatch *watch)
{
  watch_emission (watch);
  g_assert_cmpint (finish->outcome, ==, DRMAD_JOB_DONE);
  watch->finished = TRUE;
}

/* A small DrmadRunner job of @meta_iters meta-iterations into the user
 * data folder's @name, as the runner tests start it. */
static void
runner_options (DrmadOptions *options, const char *meta_iters, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) values = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (values, "layers", "784,16,10");
  g_hash_table_insert (values, "iters", "30");
  g_hash_table_insert (values, "train-size", "300");
  g_hash_table_insert (values, "val-size", "200");
  g_hash_table_insert (values, "meta-iters", (gpointer) meta_iters);
  g_hash_table_insert (values, "method", "drmad");
  g_hash_table_insert (values, "batch", "50");
  g_assert_true (drmad_options_from_values (options, values, &error));
  g_assert_no_error (error);
  options->out = g_build_filename (g_get_user_data_dir (), name, NULL);
}

static void
test_runner_thread (void)
{
  if (!have_display_data_and_device ())
    return;
  DrmadOptions options = { 0 };
  runner_options (&options, "2", "runner-thread");

  g_autoptr (GHashTable) phases = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, free_string);
  RunnerWatch watch = { .main_thread = g_thread_self (), .phases = phases };
  g_autoptr (DrmadRunner) runner = drmad_runner_new ();
  g_signal_connect (runner, "started", G_CALLBACK (on_watch_event), &watch);
  g_signal_connect (runner, "folder", G_CALLBACK (on_watch_folder), &watch);
  g_signal_connect (runner, "notice", G_CALLBACK (on_watch_event), &watch);
  g_signal_connect (runner, "progress", G_CALLBACK (on_watch_progress), &watch);
  g_signal_connect (runner, "iteration", G_CALLBACK (on_watch_iteration), &watch);
  g_signal_connect (runner, "finished", G_CALLBACK (on_watch_finished), &watch);
  g_assert_true (drmad_runner_start (runner, &options));
  /* Busy away from the main loop while the worker posts several progress events. */
  g_usleep (G_USEC_PER_SEC);
  g_assert_cmpuint (watch.off_thread, ==, 0);
  g_assert_cmpuint (watch.emitted, ==, 0);
  gint64 start = g_get_monotonic_time ();
  while (!watch.finished && g_get_monotonic_time () - start < 60 * G_USEC_PER_SEC)
    g_main_context_iteration (NULL, TRUE);
  g_test_message ("%u emissions, %u of them off the main thread", watch.emitted, watch.off_thread);
  g_assert_true (watch.finished);
  g_assert_cmpuint (watch.iterations, ==, 2);
  g_assert_cmpuint (watch.off_thread, ==, 0);
  /* However few of the steps cross (one each PROGRESS_INTERVAL_US), every
   * phase's first and last step does, the recording's one event ("saving"
   * 0/1) among them: the window's bar said "reverse 29/30" through the
   * recording, and its time left timed each phase from whichever of its
   * steps came first after the interval, where the terminal's times it
   * from its first. Each meta-iteration trains (steps 1 to 30), reverses
   * and records; the final evaluation trains three times (1 to 90).
   * Before the run folder, the job reports "train" 0/30 (a stop asked for
   * while loading); the window's time left starts again at the folder
   * event, and meta-iteration 1's step 1 came within the interval of
   * that 0/30, with no new phase: only its 30/30 crossed, and the window
   * timed that training from its last step. */
  GHashTableIter iter;
  gpointer key, value;
  g_hash_table_iter_init (&iter, phases);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    const char *steps = ((GString *) value)->str;
    g_test_message ("%s:%s", (const char *) key, steps);
    g_auto (GStrv) each = g_strsplit (steps + 1, " ", -1);
    guint64 first = g_ascii_strtoull (each[0], NULL, 10);
    const char *last = each[g_strv_length (each) - 1];
    const char *slash = strchr (last, '/');
    gboolean setup = g_str_has_prefix (key, "setup ");
    gboolean ended = g_str_has_suffix (key, " saving") ? g_str_equal (steps, " 0/1")   /* its one event */
                     : setup ? g_str_equal (steps, " 0/30")
                     : slash && g_ascii_strtoull (last, NULL, 10) == g_ascii_strtoull (slash + 1, NULL, 10);
    if ((!setup && !g_str_has_suffix (key, " saving") && first != 1) || !ended)
      g_error ("meta-iteration %s: its first or its last step did not cross to the main context:%s",
               (const char *) key, steps);
  }
  const char *expected[] = { "setup train", "0 train", "0 reverse", "0 saving", "1 train", "1 reverse", "1 saving",
                             "2 final" };
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    if (!g_hash_table_contains (phases, expected[i]))
      g_error ("no progress event of meta-iteration %s crossed to the main context", expected[i]);
  drmad_options_clear (&options);
}

typedef struct {
  guint    progress, other;   /* emitted after the stop */
  gboolean stopped, finished;
  DrmadJobOutcome outcome;
} StopWatch;

static void
on_stop_progress (DrmadRunner *runner, DrmadJobProgress *progress, StopWatch *watch)
{
  if (watch->stopped) {
    g_test_message ("after the stop: %s %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT, progress->phase, progress->step,
                    progress->total);
    watch->progress++;
  }
}

static void
on_stop_event (DrmadRunner *runner, gpointer event, StopWatch *watch)
{
  watch->other += watch->stopped;
}

static void
on_stop_finished (DrmadRunner *runner, DrmadRunnerFinish *finish, StopWatch *watch)
{
  watch->outcome = finish->outcome;
  watch->finished = TRUE;
}

/* Stop pressed while progress events wait in the main context (posted
 * before it, the main thread busy): none of them is emitted after it. The
 * window's bar said "stopping…", and the next of them put "meta-iteration
 * 2 · train 1/30" back over it until the run ended, the worker sending no
 * more. The events that say what was done still come (the iteration
 * recorded meanwhile is in the run folder). */
static void
test_runner_stop (void)
{
  if (!have_display_data_and_device ())
    return;
  DrmadOptions options = { 0 };
  runner_options (&options, "1000", "runner-stop");
  /* drmad_runner_start() takes the options: the job frees them on its
   * thread when it ends. */
  g_autofree char *out = g_strdup (options.out);
  g_autofree char *history = g_build_filename (out, "history.csv", NULL);

  StopWatch watch = { 0 };
  g_autoptr (DrmadRunner) runner = drmad_runner_new ();
  g_signal_connect (runner, "folder", G_CALLBACK (on_stop_event), &watch);
  g_signal_connect (runner, "progress", G_CALLBACK (on_stop_progress), &watch);
  g_signal_connect (runner, "iteration", G_CALLBACK (on_stop_event), &watch);
  g_signal_connect (runner, "finished", G_CALLBACK (on_stop_finished), &watch);
  g_assert_true (drmad_runner_start (runner, &options));
  /* Away from the main loop until meta-iteration 1 is recorded: its
   * progress events (its training's first step at least, and "saving"
   * 0/1) and the folder's wait in the main context. */
  gint64 start = g_get_monotonic_time ();
  guint rows = 0;
  while (rows < 1 && g_get_monotonic_time () - start < 60 * G_USEC_PER_SEC) {
    g_usleep (10000);
    g_autofree char *text = NULL;
    rows = 0;
    if (g_file_get_contents (history, &text, NULL, NULL))
      for (const char *p = text; *p; p++)
        rows += *p == '\n';
    rows = rows ? rows - 1 : 0;   /* its header */
  }
  g_assert_cmpuint (rows, >=, 1);
  drmad_runner_stop (runner);
  watch.stopped = TRUE;
  start = g_get_monotonic_time ();
  while (!watch.finished && g_get_monotonic_time () - start < 60 * G_USEC_PER_SEC)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (watch.finished);
  g_assert_cmpint (watch.outcome, ==, DRMAD_JOB_CANCELLED);
  g_assert_cmpuint (watch.other, >=, 2);   /* the folder and meta-iteration 1 at least: they waited too */
  g_assert_cmpuint (watch.progress, ==, 0);
  remove_tree (out);
  drmad_options_clear (&options);
}

static void
test_window (void)
{
  if (!have_display_data_and_device ())
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);
  g_application_activate (G_APPLICATION (app));
  GList *windows = gtk_application_get_windows (GTK_APPLICATION (app));
  g_assert_nonnull (windows);
  DrmadWindow *window = DRMAD_WINDOW (windows->data);
  DrmadSettings *settings = drmad_application_get_settings (app);

  /* Every run.ini setting has a control; a bad value is marked at its field
   * as it is typed, with the command line's wording, and unmarked when fixed. */
  guint n_specs;
  const DrmadOptionSpec *specs = drmad_options_get_specs (&n_specs);
  for (guint i = 0; i < n_specs; i++)
    if (specs[i].in_ini)
      g_assert_nonnull (drmad_window_get_setting_widget (window, specs[i].name));
  g_assert_null (drmad_window_get_invalid_setting (window));
  set_option (G_APPLICATION (app), "clip=-1");
  g_assert_cmpstr (drmad_window_get_invalid_setting (window), ==, "clip");
  GtkWidget *clip = drmad_window_get_setting_widget (window, "clip");
  g_assert_true (gtk_widget_has_css_class (clip, "error"));
  g_assert_nonnull (strstr (gtk_widget_get_tooltip_text (clip), "--clip -1"));
  set_option (G_APPLICATION (app), "clip=0");
  g_assert_null (drmad_window_get_invalid_setting (window));
  g_assert_false (gtk_widget_has_css_class (clip, "error"));
  /* a name none of the option's (the message "--gemm: unknown GEMM path
   * \"fast\": …" since the fuzzing of 2026-12-05, whose key the window read
   * as "gemm:" and marked nothing), typed or from a settings file */
  const char *names[][2] = { { "gemm=fast", "gemm" }, { "activation=sigmoid", "activation" },
                             { "method=newton", "method" }, { "meta-optimizer=lbfgs", "meta-optimizer" } };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    set_option (G_APPLICATION (app), names[i][0]);
    g_assert_cmpstr (drmad_window_get_invalid_setting (window), ==, names[i][1]);
    GtkWidget *named = drmad_window_get_setting_widget (window, names[i][1]);
    g_assert_true (gtk_widget_has_css_class (named, "error"));
    g_autofree char *said = g_strdup_printf ("--%s: unknown ", names[i][1]);
    g_assert_true (g_str_has_prefix (gtk_widget_get_tooltip_text (named), said));
    const char *default_value = NULL;
    for (guint k = 0; k < n_specs; k++)
      if (g_str_equal (specs[k].name, names[i][1]))
        default_value = specs[k].default_value;
    g_autofree char *back = g_strdup_printf ("%s=%s", names[i][1], default_value);
    set_option (G_APPLICATION (app), back);
    g_assert_null (drmad_window_get_invalid_setting (window));
    g_assert_false (gtk_widget_has_css_class (named, "error"));
  }

  /* The largest values the command line takes (as a run.ini from drmad
   * --no-gui may hold them) are shown as they are, not cut to the field's
   * range: the seed field showed 4294967295 for a seed of 5000000000, the
   * training examples 1000000 for 2000000, while Start used the real ones. */
  const char *largest[] = { "train-size=2147483647", "val-size=2147483647", "batch=1048576", "segments=100000",
                            "iters=100000000", "meta-iters=1000000", "snapshots=2147483647",
                            "seed=18446744073709551615" };
  g_autoptr (GHashTable) largest_values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (guint i = 0; i < G_N_ELEMENTS (largest); i++) {
    g_auto (GStrv) kv = g_strsplit (largest[i], "=", 2);
    g_hash_table_insert (largest_values, g_strdup (kv[0]), g_strdup (kv[1]));
  }
  DrmadOptions largest_options = { 0 };
  g_assert_true (drmad_options_from_values (&largest_options, largest_values, &error));   /* the command line's */
  g_assert_no_error (error);
  drmad_options_clear (&largest_options);
  for (guint i = 0; i < G_N_ELEMENTS (largest); i++) {
    set_option (G_APPLICATION (app), largest[i]);
    g_auto (GStrv) kv = g_strsplit (largest[i], "=", 2);
    GtkWidget *field = drmad_window_get_setting_widget (window, kv[0]);
    g_autofree char *shown = GTK_IS_SPIN_BUTTON (field)
                             ? g_strdup_printf ("%.0f", gtk_spin_button_get_value (GTK_SPIN_BUTTON (field)))
                             : g_strdup (gtk_editable_get_text (GTK_EDITABLE (field)));
    g_assert_cmpstr (shown, ==, kv[1]);
    g_assert_cmpstr (drmad_settings_get (settings, kv[0]), ==, kv[1]);
  }
  g_assert_null (drmad_window_get_invalid_setting (window));
  gtk_editable_set_text (GTK_EDITABLE (drmad_window_get_setting_widget (window, "seed")), "18446744073709551616");
  g_assert_cmpstr (drmad_window_get_invalid_setting (window), ==, "seed");
  /* blanks around a seed count for nothing, as around every number */
  gtk_editable_set_text (GTK_EDITABLE (drmad_window_get_setting_widget (window, "seed")), " 5 ");
  g_assert_null (drmad_window_get_invalid_setting (window));
  g_action_group_activate_action (G_ACTION_GROUP (app), "reset-settings", NULL);
  g_assert_cmpstr (drmad_settings_get (settings, "seed"), ==, "1");

  /* The keyboard shortcuts window lists every accelerator the application
   * sets, Ctrl+? opening it; Compare runs has one (it had none: the menu
   * was the only way to it). */
  GtkShortcutsWindow *overlay = gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (window));
  g_assert_nonnull (overlay);
  g_autoptr (GPtrArray) listed = g_ptr_array_new_with_free_func (g_free);
  collect_accelerators (GTK_WIDGET (overlay), listed);
  const char *actions[] = { "app.quit", "win.start", "win.stop", "win.open-run", "win.export",
                            "win.compare-runs", "win.toggle-settings", "win.show-help-overlay" };
  for (guint i = 0; i < G_N_ELEMENTS (actions); i++) {
    g_auto (GStrv) accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app), actions[i]);
    g_assert_nonnull (accels[0]);
    guint key, shown_key;
    GdkModifierType mods, shown_mods;
    g_assert_true (gtk_accelerator_parse (accels[0], &key, &mods));
    gboolean found = FALSE;
    for (guint k = 0; k < listed->len && !found; k++)
      found = gtk_accelerator_parse (listed->pdata[k], &shown_key, &shown_mods) && shown_key == key
              && shown_mods == mods;
    if (!found)
      g_error ("%s (%s) is missing from the shortcuts window", actions[i], accels[0]);
    /* and the key reaches it: the action is the window's or the application's */
    g_auto (GStrv) by_key = gtk_application_get_actions_for_accel (GTK_APPLICATION (app), accels[0]);
    g_assert_true (g_strv_contains ((const char *const *) by_key, actions[i]));
    /* and only it: no other action, nor GTK's own window keys (Ctrl+Shift+O
     * beside the inspector's Ctrl+Shift+I and Ctrl+Shift+D) */
    g_assert_cmpuint (g_strv_length (by_key), ==, 1);
    if (widget_takes_key (GTK_WIDGET (window), gdk_keyval_to_lower (key), mods))
      g_error ("%s (%s) is a key of GTK's window too", actions[i], accels[0]);
    g_assert_true (g_str_has_prefix (actions[i], "app.")
                   ? g_action_group_has_action (G_ACTION_GROUP (app), actions[i] + 4)
                   : g_action_group_has_action (G_ACTION_GROUP (window), actions[i] + 4));
  }

  /* It fits a 1024×600 screen: its smallest size does, and at 1024 wide its
   * natural height does too (the settings column scrolls). */
  int min_w, nat_w, min_h, nat_h;
  gtk_widget_measure (GTK_WIDGET (window), GTK_ORIENTATION_HORIZONTAL, -1, &min_w, &nat_w, NULL, NULL);
  gtk_widget_measure (GTK_WIDGET (window), GTK_ORIENTATION_VERTICAL, 1024, &min_h, &nat_h, NULL, NULL);
  g_test_message ("window: minimum %d×%d, natural width %d, natural height at 1024 wide %d", min_w, min_h, nat_w,
                  nat_h);
  g_assert_cmpint (min_w, <=, 1024);
  g_assert_cmpint (nat_w, <=, 1024);
  g_assert_cmpint (min_h, <=, 600);
  g_assert_cmpint (nat_h, <=, 600);

  /* The wheel over a number field that does not have the focus scrolls the
   * column and leaves the value alone; with the focus, the field takes it. */
  g_assert_cmpfloat (wait_until (window, allocated, 10), >=, 0);

  /* The five plots beside the learning rate have a tab each; where the tabs
   * do not all fit (at the default size the last two did not), a scrollbar
   * that takes its own room under them shows that more follow. */
  GtkWidget *tabs = plot_tabs_scroller (window);
  GtkWidget *switcher = gtk_scrolled_window_get_child (GTK_SCROLLED_WINDOW (tabs));
  if (GTK_IS_VIEWPORT (switcher))
    switcher = gtk_viewport_get_child (GTK_VIEWPORT (switcher));
  g_assert_true (GTK_IS_STACK_SWITCHER (switcher));
  g_autoptr (GListModel) pages = G_LIST_MODEL (gtk_stack_get_pages (GTK_STACK (gtk_widget_get_parent (
    GTK_WIDGET (drmad_window_get_plot_view (window, 1))))));
  g_assert_cmpuint (g_list_model_get_n_items (pages), ==, 5);
  int tabs_natural;
  gtk_widget_measure (switcher, GTK_ORIENTATION_HORIZONTAL, -1, NULL, &tabs_natural, NULL, NULL);
  double laid_out = wait_until (window, tabs_laid_out, 2);
  g_test_message ("plot tabs: %d px wide, %d px shown", tabs_natural, gtk_widget_get_width (tabs));
  /* at the default size the tabs (about 666 px) do not fit (about 476) */
  g_assert_cmpint (tabs_natural, >, gtk_widget_get_width (tabs));
  g_assert_cmpfloat (laid_out, >=, 0);   /* the scrollbar is shown */
  g_assert_false (gtk_scrolled_window_get_overlay_scrolling (GTK_SCROLLED_WINDOW (tabs)));
  GtkWidget *iters = drmad_window_get_setting_widget (window, "iters");
  GtkWidget *column = gtk_widget_get_ancestor (iters, GTK_TYPE_SCROLLED_WINDOW);
  graphene_point_t centre = GRAPHENE_POINT_INIT (gtk_widget_get_width (iters) / 2.0f,
                                                 gtk_widget_get_height (iters) / 2.0f), at;
  g_assert_true (gtk_widget_compute_point (iters, column, &centre, &at));
  g_autofree char *iters_before = g_strdup (drmad_settings_get (settings, "iters"));
  double iters_value = gtk_spin_button_get_value (GTK_SPIN_BUTTON (iters));
  gtk_root_set_focus (GTK_ROOT (window), NULL);
  g_assert_true (drmad_window_settings_wheel (window, at.x, at.y, 1));
  g_assert_true (drmad_window_settings_wheel (window, at.x, at.y, -1));
  g_assert_cmpfloat (gtk_spin_button_get_value (GTK_SPIN_BUTTON (iters)), ==, iters_value);
  g_assert_cmpstr (drmad_settings_get (settings, "iters"), ==, iters_before);
  g_assert_true (gtk_widget_grab_focus (iters));
  g_assert_false (drmad_window_settings_wheel (window, at.x, at.y, 1));
  gtk_root_set_focus (GTK_ROOT (window), NULL);

  /* A Start that fails before any run was shown says so, and claims to keep no run. */
  g_assert_null (drmad_window_get_run_folder (window));
  g_autofree char *first_dataset = g_strdup (drmad_settings_get (settings, "dataset"));
  set_option (G_APPLICATION (app), "dataset=/no/such/dataset");
  activate (window, "start");
  g_assert_cmpfloat (wait_until (window, idle, 30), >=, 0);
  g_assert_nonnull (strstr (drmad_window_get_error (window), "/no/such/dataset"));
  g_test_message ("status: %s", drmad_window_get_status (window));
  g_assert_true (g_str_has_prefix (drmad_window_get_status (window), "Failed after "));
  g_assert_null (strstr (drmad_window_get_status (window), "kept"));
  g_assert_null (drmad_window_get_run_folder (window));
  g_autofree char *first_restore = g_strdup_printf ("dataset=%s", first_dataset ? first_dataset : "");
  set_option (G_APPLICATION (app), first_restore);

  const char *tiny[] = { "layers=784,16,10", "iters=30", "train-size=300", "val-size=200", "meta-iters=50",
                         "method=drmad", "batch=50", "learn=l2,lr", "segments=2" };
  for (guint i = 0; i < G_N_ELEMENTS (tiny); i++)
    set_option (G_APPLICATION (app), tiny[i]);
  g_assert_cmpstr (drmad_settings_get (settings, "layers"), ==, "784,16,10");
  g_assert_cmpstr (drmad_settings_get (settings, "method"), ==, "drmad");
  g_assert_cmpstr (drmad_settings_get (settings, "learn"), ==, "l2,lr");

  /* Start, and watch it plot. */
  activate (window, "start");
  g_assert_true (drmad_window_is_running (window));
  /* The time left counts a fidelity measurement every --fidelity-every
   * (10 by default) meta-iterations, as the terminal's does: the window
   * read it from options the runner had already taken, and counted none. */
  g_assert_cmpuint (window->eta.fidelity_every, ==, 10);
  g_assert_false (g_action_group_get_action_enabled (G_ACTION_GROUP (window), "start"));
  /* the settings are locked while it runs: the menu's reset too */
  g_assert_false (g_action_group_get_action_enabled (G_ACTION_GROUP (app), "reset-settings"));
  double took = wait_until (window, two_plotted, 60);
  g_test_message ("two meta-iterations plotted after %.2f s", took);
  g_assert_cmpfloat (took, >=, 0);
  g_assert_null (drmad_window_get_error (window));
  const DrmadPlot *l2 = drmad_plot_view_get_plot (drmad_window_get_plot_view (window, 0));
  g_assert_cmpuint (l2->series->len, ==, 2);   /* two weight layers */
  g_assert_cmpuint (((DrmadPlotSeries *) l2->series->pdata[0])->x->len, >=, 2);

  /* The pages beside the learning rate: the momentum schedule (not learned
   * here, and saying so), the initial scale, the hypergradient norm of each
   * group learned, and the fidelity measured at meta-iteration 1. */
  const DrmadPlot *momentum = drmad_plot_view_get_plot (drmad_window_get_plot_view (window, 3));
  const DrmadPlot *norms = drmad_plot_view_get_plot (drmad_window_get_plot_view (window, 5));
  const DrmadPlot *fidelity = drmad_plot_view_get_plot (drmad_window_get_plot_view (window, 6));
  g_assert_nonnull (strstr (momentum->title, "not learned"));
  g_assert_nonnull (drmad_plot_view_get_plot (drmad_window_get_plot_view (window, 4)));
  g_assert_cmpuint (norms->series->len, ==, 2);   /* l2 and lr */
  g_assert_cmpstr (((DrmadPlotSeries *) norms->series->pdata[0])->name, ==, "l2");
  g_assert_cmpuint (((DrmadPlotSeries *) norms->series->pdata[0])->x->len, >=, 1);
  const DrmadPlotSeries *cosine = fidelity->series->pdata[0];
  g_assert_cmpuint (cosine->x->len, >=, 1);
  g_assert_cmpfloat (g_array_index (cosine->x, double, 0), ==, 1);
  g_assert_cmpfloat (fabs (g_array_index (cosine->y, double, 0)), <=, 1);

  /* Hovering a data point reads it out. */
  DrmadPlotView *view = drmad_window_get_plot_view (window, 0);
  gboolean found = FALSE;
  for (int x = 0; x < gtk_widget_get_width (GTK_WIDGET (view)) && !found; x += 2)
    for (int y = 0; y < gtk_widget_get_height (GTK_WIDGET (view)) && !found; y += 2)
      found = drmad_plot_view_hover (view, x, y);
  g_assert_true (found);
  g_test_message ("hover: %s", drmad_plot_view_get_hover_text (view));
  g_assert_true (g_str_has_prefix (drmad_plot_view_get_hover_text (view), "layer "));
  g_assert_nonnull (strstr (drmad_plot_view_get_hover_text (view), ", meta-iteration "));

  /* Zoom and scale are the view's: they hold as the next meta-iteration's plot replaces this one. */
  DrmadPlotView *loss_view = drmad_window_get_plot_view (window, 2);
  guint before_zoom = drmad_window_get_n_plotted (window);
  drmad_plot_view_zoom (loss_view, gtk_widget_get_width (GTK_WIDGET (loss_view)) / 2.0, 0.5);
  drmad_plot_view_set_log (loss_view, TRUE);
  double zoom_lo = drmad_plot_view_get_plot (loss_view)->view_x_lo;
  g_assert_true (isfinite (zoom_lo));
  resumed_target = before_zoom + 1;
  g_assert_cmpfloat (wait_until (window, one_more, 60), >=, 0);
  const DrmadPlot *replaced = drmad_plot_view_get_plot (loss_view);
  g_assert_cmpfloat (replaced->view_x_lo, ==, zoom_lo);
  g_assert_true (replaced->log_y);
  drmad_plot_view_reset_zoom (loss_view);
  drmad_plot_view_set_log (loss_view, FALSE);
  g_assert_false (isfinite (drmad_plot_view_get_plot (loss_view)->view_x_lo));

  /* Export while the run goes on: the files are of one meta-iteration. */
  g_autofree char *export_running = g_build_filename (g_get_user_data_dir (), "exported-running", NULL);
  drmad_window_export_to (window, export_running);
  g_assert_cmpfloat (wait_until (window, no_task, 60), >=, 0);
  g_test_message ("%s", drmad_window_get_status (window));
  g_assert_true (g_str_has_prefix (drmad_window_get_status (window), "Exported 7 files"));
  g_test_message ("exported while running: meta-iteration %u", assert_one_iteration (export_running));

  /* Stop: the run ends before its meta-iterations are done (how soon is
   * bench work, not a test's: 60 s only keeps a hang from blocking the
   * suite), everything so far kept. Stop had
   * the focus (pressed from the keyboard): Start takes it back. */
  GtkWidget *stop_button = find_action_button (GTK_WIDGET (window), "win.stop");
  g_assert_true (gtk_widget_grab_focus (stop_button));
  activate (window, "stop");
  took = wait_until (window, stopped, 60);
  g_test_message ("stopped %.3f s after Stop: %s", took, drmad_window_get_status (window));
  g_assert_cmpfloat (took, >=, 0);
  g_assert_true (gtk_root_get_focus (GTK_ROOT (window)) == find_action_button (GTK_WIDGET (window), "win.start"));
  guint n = drmad_window_get_n_plotted (window);
  g_autofree char *folder = g_strdup (drmad_window_get_run_folder (window));
  g_assert_nonnull (folder);
  g_assert_true (g_str_has_prefix (folder, g_get_user_data_dir ()));
  g_assert_cmpuint (history_rows (folder), ==, n);

  const char *png = g_getenv ("DRMAD_GUI_PNG");
  g_autofree char *png_path = png ? g_strdup (png) : g_build_filename (g_get_user_data_dir (), "gui-window.png", NULL);
  assert_window_png (window, png_path);

  /* The settings were saved when the run started. */
  g_autofree char *settings_path = drmad_settings_get_default_path ();
  g_autofree char *settings_text = NULL;
  g_assert_true (g_file_get_contents (settings_path, &settings_text, NULL, NULL));
  g_assert_nonnull (strstr (settings_text, "\nlayers=784,16,10\n"));

  /* Export copies the run folder. */
  g_autofree char *export_folder = g_build_filename (g_get_user_data_dir (), "exported", NULL);
  drmad_window_export_to (window, export_folder);
  g_assert_cmpfloat (wait_until (window, idle, 10), >=, 0);
  const char *exported[] = { "l2.png", "lr.png", "loss.png", "history.csv", "hyper.csv", "run.ini", "checkpoint.bin" };
  for (guint i = 0; i < G_N_ELEMENTS (exported); i++) {
    g_autofree char *path = g_build_filename (export_folder, exported[i], NULL);
    g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  }
  g_assert_cmpuint (history_rows (export_folder), ==, n);
  /* Exporting there again asks before replacing those files; a new folder does not. */
  GtkWidget *question = drmad_window_export_asking (window, export_folder);
  g_assert_nonnull (question);
  gtk_window_destroy (GTK_WINDOW (question));
  g_autofree char *export_again = g_build_filename (g_get_user_data_dir (), "exported-again", NULL);
  g_assert_null (drmad_window_export_asking (window, export_again));
  g_assert_cmpfloat (wait_until (window, idle, 10), >=, 0);
  g_assert_cmpuint (history_rows (export_again), ==, n);

  /* Open run restores its settings and plots; Start then continues it. */
  set_option (G_APPLICATION (app), "layers=784,20,10");
  drmad_window_open_run (window, folder);
  g_assert_cmpfloat (wait_until (window, idle, 30), >=, 0);
  g_assert_null (drmad_window_get_error (window));
  g_assert_cmpstr (drmad_settings_get (settings, "layers"), ==, "784,16,10");
  g_assert_cmpuint (drmad_window_get_n_plotted (window), ==, n);
  l2 = drmad_plot_view_get_plot (drmad_window_get_plot_view (window, 0));
  g_assert_cmpuint (((DrmadPlotSeries *) l2->series->pdata[0])->x->len, ==, n + 1);   /* meta-iteration 0, the starting values, then n */

  activate (window, "start");
  resumed_target = n + 1;
  g_assert_cmpfloat (wait_until (window, one_more, 60), >=, 0);
  activate (window, "stop");
  g_assert_cmpfloat (wait_until (window, stopped, 60), >=, 0);
  g_assert_cmpstr (drmad_window_get_run_folder (window), ==, folder);
  g_assert_cmpuint (history_rows (folder), ==, drmad_window_get_n_plotted (window));
  g_assert_cmpuint (drmad_window_get_n_plotted (window), >, n);

  /* A Start refused because another process holds the run folder (its
   * lock, taken here) leaves the run continuable: the next Start, the folder
   * free again, continues it rather than starting a new run. */
  guint before_refusal = drmad_window_get_n_plotted (window);
  g_autofree char *lock_path = g_build_filename (folder, ".drmad-lock", NULL);
  int lock_fd = g_open (lock_path, O_RDWR, 0);
  g_assert_cmpint (lock_fd, >=, 0);
  g_assert_cmpint (hold_run_lock (lock_fd), ==, 0);
  activate (window, "start");
  g_assert_cmpfloat (wait_until (window, idle, 30), >=, 0);
  g_assert_nonnull (drmad_window_get_error (window));
  g_assert_nonnull (strstr (drmad_window_get_error (window), "in use by process"));
  g_assert_cmpstr (drmad_window_get_run_folder (window), ==, folder);
  g_assert_cmpint (close (lock_fd), ==, 0);
  activate (window, "start");
  resumed_target = before_refusal + 1;
  g_assert_cmpfloat (wait_until (window, one_more, 60), >=, 0);
  activate (window, "stop");
  g_assert_cmpfloat (wait_until (window, stopped, 60), >=, 0);
  g_assert_cmpstr (drmad_window_get_run_folder (window), ==, folder);
  g_assert_cmpuint (history_rows (folder), ==, drmad_window_get_n_plotted (window));

  /* A run that finishes is continued, as an opened one, once Meta-iterations
   * is raised (Start began a new run folder). */
  g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (app), "reset-settings"));
  guint before_finish = drmad_window_get_n_plotted (window);
  g_autofree char *finish_at = g_strdup_printf ("meta-iters=%u", before_finish + 1);
  set_option (G_APPLICATION (app), finish_at);
  activate (window, "start");
  g_assert_cmpfloat (wait_until (window, idle, 120), >=, 0);
  g_assert_true (g_str_has_prefix (drmad_window_get_status (window), "Finished in "));
  g_assert_cmpuint (drmad_window_get_n_plotted (window), ==, before_finish + 1);
  g_autofree char *raised = g_strdup_printf ("meta-iters=%u", before_finish + 3);
  set_option (G_APPLICATION (app), raised);
  activate (window, "start");
  resumed_target = before_finish + 2;
  g_assert_cmpfloat (wait_until (window, one_more, 60), >=, 0);
  activate (window, "stop");
  g_assert_cmpfloat (wait_until (window, stopped, 60), >=, 0);
  g_assert_cmpstr (drmad_window_get_run_folder (window), ==, folder);
  g_assert_cmpuint (history_rows (folder), ==, drmad_window_get_n_plotted (window));
  set_option (G_APPLICATION (app), "meta-iters=50");

  /* A Start that fails before its run folder exists (no such data set here:
   * a new run, as the settings differ) leaves the shown run on screen, still
   * continuable. */
  guint shown = drmad_window_get_n_plotted (window);
  g_autofree char *dataset = g_strdup (drmad_settings_get (settings, "dataset"));
  set_option (G_APPLICATION (app), "dataset=/no/such/dataset");
  activate (window, "start");
  g_assert_cmpfloat (wait_until (window, idle, 30), >=, 0);
  g_assert_nonnull (drmad_window_get_error (window));
  g_assert_nonnull (strstr (drmad_window_get_error (window), "/no/such/dataset"));
  g_assert_cmpuint (drmad_window_get_n_plotted (window), ==, shown);
  g_assert_cmpstr (drmad_window_get_run_folder (window), ==, folder);
  g_autofree char *restore = g_strdup_printf ("dataset=%s", dataset ? dataset : "");
  set_option (G_APPLICATION (app), restore);

  /* Bad input is shown in the window, and nothing starts. */
  set_option (G_APPLICATION (app), "layers=784,x,10");
  activate (window, "start");
  g_assert_false (drmad_window_is_running (window));
  g_assert_nonnull (drmad_window_get_error (window));
  g_assert_nonnull (strstr (drmad_window_get_error (window), "--layers"));
  drmad_window_open_dataset (window, "/no/such/dataset");
  g_assert_cmpfloat (wait_until (window, idle, 10), >=, 0);
  g_assert_nonnull (strstr (drmad_window_get_error (window), "/no/such/dataset"));
  drmad_window_open_run (window, g_get_user_data_dir ());
  g_assert_cmpfloat (wait_until (window, idle, 10), >=, 0);
  g_assert_nonnull (strstr (drmad_window_get_error (window), "not a run folder"));

  /* A dataset folder: loaded once, and the network's ends follow it. */
  set_option (G_APPLICATION (app), "layers=100,16,3");
  drmad_window_open_dataset (window, "/usr/share/datasets/fashion-mnist");
  g_assert_cmpfloat (wait_until (window, idle, 30), >=, 0);
  g_assert_null (drmad_window_get_error (window));
  g_assert_cmpstr (drmad_settings_get (settings, "dataset"), ==, "/usr/share/datasets/fashion-mnist");
  g_assert_cmpstr (drmad_settings_get (settings, "layers"), ==, "784,16,10");

  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* The final test errors a finished run's summary shows, from the rows
 * history.csv ends with (here a file this test writes). */
static void
test_final_text (void)
{
  g_autofree char *folder = test_tmp_dir ("drmad-final", NULL);
  g_autofree char *path = g_build_filename (folder, "history.csv", NULL);
  g_assert_null (drmad_run_final_text (folder));
  const char *text = "meta_iteration,val_loss,test_loss,test_error\n1,0.5,,\n"
                     "final-initial,,0.61,0.1576\nfinal-learned,,0.55,0.1493\nfinal-best,,0.54,0.1465\n";
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  g_autofree char *final = drmad_run_final_text (folder);
  g_assert_cmpstr (final, ==, "final test error 15.76 % → 14.93 % (best accepted values 14.65 %)");
  g_assert_true (g_file_set_contents (path, "meta_iteration\n1\n", -1, NULL));
  g_assert_null (drmad_run_final_text (folder));
  /* history.csv as the program writes it (iteration, rejected, …): with every
   * meta-iteration rejected the best row is the starting values, and says so;
   * with one accepted, it is the best accepted values. */
  const char *none = "iteration,rejected,train_loss,val_loss,test_loss,test_error\n1,1,,,,\n2,1,,,,\n"
                     "final-initial,,,,0.88,0.2592\nfinal-learned,,,,0.88,0.2592\nfinal-best,,,,0.88,0.2592\n";
  g_assert_true (g_file_set_contents (path, none, -1, NULL));
  g_autofree char *none_text = drmad_run_final_text (folder);
  g_assert_cmpstr (none_text, ==, "final test error 25.92 % → 25.92 % (no meta-iteration accepted, best = the "
                                  "starting values, 25.92 %)");
  const char *one = "iteration,rejected,train_loss,val_loss,test_loss,test_error\n1,1,,,,\n2,0,0.4,0.5,,\n"
                    "final-initial,,,,0.88,0.2592\nfinal-learned,,,,0.8,0.25\nfinal-best,,,,0.8,0.25\n";
  g_assert_true (g_file_set_contents (path, one, -1, NULL));
  g_autofree char *one_text = drmad_run_final_text (folder);
  g_assert_cmpstr (one_text, ==, "final test error 25.92 % → 25.00 % (best accepted values 25.00 %)");
  g_assert_cmpint (g_remove (path), ==, 0);
  g_assert_cmpint (g_rmdir (folder), ==, 0);
}

/* The program itself: `drmad [settings]` opens the window with those
 * settings over the saved ones; the screenshot hook (scripts/screenshots.sh)
 * starts, saves the window after a meta-iteration, stops and quits. */
static void
test_program (void)
{
  if (!have_display_data_and_device ())
    return;
  g_autofree char *png = g_build_filename (g_get_user_data_dir (), "hook.png", NULL);
  const char *argv[] = { g_getenv ("DRMAD_BIN"), "--layers", "784,16,10", "--iters", "30", "--train-size", "300",
                         "--val-size", "200", "--meta-iters", "50", "--method", "drmad", NULL };
  g_auto (GStrv) envp = g_get_environ ();
  envp = g_environ_setenv (envp, "DRMAD_SCREENSHOT", png, TRUE);
  envp = g_environ_setenv (envp, "DRMAD_SCREENSHOT_AFTER", "2", TRUE);
  /* the test's isolated folders (GLib points the variables themselves at /dev/null) */
  envp = g_environ_setenv (envp, "HOME", g_get_home_dir (), TRUE);
  envp = g_environ_setenv (envp, "XDG_DATA_HOME", g_get_user_data_dir (), TRUE);
  envp = g_environ_setenv (envp, "XDG_CONFIG_HOME", g_get_user_config_dir (), TRUE);
  envp = g_environ_setenv (envp, "XDG_CACHE_HOME", g_get_user_cache_dir (), TRUE);
  g_autofree char *err = NULL;
  int status;
  g_autoptr (GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  g_assert_true (g_spawn_sync (NULL, (char **) argv, envp, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err,
                               &status, &error));
  g_assert_no_error (error);
  g_test_message ("drmad with the screenshot hook: %.1f s; stderr: %s", (g_get_monotonic_time () - start) / 1e6, err);
  g_assert_true (g_spawn_check_wait_status (status, &error));
  g_assert_nonnull (strstr (err, "saved the window to"));
  g_autoptr (GdkTexture) texture = gdk_texture_new_from_filename (png, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_texture_get_width (texture), >=, 800);
  /* the window saved its settings on the way out: the command line's */
  g_autofree char *settings_path = drmad_settings_get_default_path ();
  g_autofree char *settings_text = NULL;
  g_assert_true (g_file_get_contents (settings_path, &settings_text, NULL, NULL));
  g_assert_nonnull (strstr (settings_text, "\nlayers=784,16,10\n"));
  g_assert_nonnull (strstr (settings_text, "\nmethod=drmad\n"));
}

/* The screenshot hook asked for the run's last meta-iteration: a short run
 * ends (final evaluation and all) within the hook's wait for the plots to
 * be drawn, and the window quit then without writing the picture, with
 * exit status 0 and not a word. It now waits for the picture. */
static void
test_program_last_iteration (void)
{
  if (!have_display_data_and_device ())
    return;
  g_autofree char *png = g_build_filename (g_get_user_data_dir (), "hook-last.png", NULL);
  g_unlink (png);
  const char *argv[] = { g_getenv ("DRMAD_BIN"), "--layers", "784,10", "--iters", "10", "--train-size", "100",
                         "--val-size", "50", "--test-size", "50", "--batch", "10", "--meta-iters", "1",
                         "--fidelity-every", "0", NULL };
  g_auto (GStrv) envp = g_get_environ ();
  envp = g_environ_setenv (envp, "DRMAD_SCREENSHOT", png, TRUE);
  envp = g_environ_setenv (envp, "DRMAD_SCREENSHOT_AFTER", "1", TRUE);
  envp = g_environ_setenv (envp, "HOME", g_get_home_dir (), TRUE);
  envp = g_environ_setenv (envp, "XDG_DATA_HOME", g_get_user_data_dir (), TRUE);
  envp = g_environ_setenv (envp, "XDG_CONFIG_HOME", g_get_user_config_dir (), TRUE);
  envp = g_environ_setenv (envp, "XDG_CACHE_HOME", g_get_user_cache_dir (), TRUE);
  g_autofree char *err = NULL;
  int status;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, envp, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err,
                               &status, &error));
  g_assert_no_error (error);
  g_test_message ("drmad with the screenshot hook on its last meta-iteration; stderr: %s", err);
  g_assert_true (g_spawn_check_wait_status (status, &error));
  g_assert_nonnull (strstr (err, "saved the window to"));
  g_autoptr (GdkTexture) texture = gdk_texture_new_from_filename (png, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_texture_get_width (texture), >=, 800);
}

/* ---- the keyboard and small screens, in a window of their own ---- */

static void
iterate_for (double seconds)
{
  gint64 end = g_get_monotonic_time () + (gint64) (seconds * G_USEC_PER_SEC);
  guint waker = g_timeout_add (5, wake, NULL);
  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (waker);
}

/* A window of its own at @width × @height, the application's settings reset
 * to their defaults. */
static DrmadWindow *
new_window (DrmadApplication *app, int width, int height)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);
  g_action_group_activate_action (G_ACTION_GROUP (app), "reset-settings", NULL);
  DrmadWindow *window = drmad_window_new (GTK_APPLICATION (app), drmad_application_get_settings (app));
  gtk_window_set_default_size (GTK_WINDOW (window), width, height);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_cmpfloat (wait_until (window, allocated, 10), >=, 0);
  return window;
}

static void
close_window (DrmadWindow *window)
{
  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* Whether all of @widget can be brought into view: it lies inside the
 * window, or inside what a scrolled window (itself in reach) scrolls over. */
static gboolean
reachable (GtkWidget *window, GtkWidget *widget)
{
  GtkWidget *scroller = gtk_widget_get_parent (widget) ? gtk_widget_get_ancestor (gtk_widget_get_parent (widget),
                                                                                 GTK_TYPE_SCROLLED_WINDOW)
                                                       : NULL;
  graphene_rect_t bounds;
  if (!scroller) {
    g_assert_true (gtk_widget_compute_bounds (widget, window, &bounds));
    return bounds.origin.x >= -0.5 && bounds.origin.y >= -0.5
           && bounds.origin.x + bounds.size.width <= gtk_widget_get_width (window) + 0.5
           && bounds.origin.y + bounds.size.height <= gtk_widget_get_height (window) + 0.5;
  }
  GtkWidget *content = gtk_scrolled_window_get_child (GTK_SCROLLED_WINDOW (scroller));
  if (GTK_IS_VIEWPORT (content))
    content = gtk_viewport_get_child (GTK_VIEWPORT (content));
  g_assert_true (gtk_widget_compute_bounds (widget, content, &bounds));
  GtkAdjustment *h = gtk_scrolled_window_get_hadjustment (GTK_SCROLLED_WINDOW (scroller));
  GtkAdjustment *v = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scroller));
  return bounds.origin.x >= -0.5 && bounds.origin.y >= -0.5
         && bounds.origin.x + bounds.size.width <= gtk_adjustment_get_upper (h) + 0.5
         && bounds.origin.y + bounds.size.height <= gtk_adjustment_get_upper (v) + 0.5
         && reachable (window, scroller);
}

/* The window's own size, its decorations (some pixels) left out, is at most the size asked for. */
static int target_width, target_height;
static gboolean
at_target_size (DrmadWindow *w)
{
  int width = gtk_widget_get_width (GTK_WIDGET (w)), height = gtk_widget_get_height (GTK_WIDGET (w));
  return width <= target_width && width > target_width - 40 && height <= target_height && height > target_height - 40;
}

/* Narrower than 1024 px (the settings shown), the plots, their tabs, the
 * summary, the progress bar and the status line can all be reached: the
 * plots scroll rather than being cut at the right edge. */
static void
test_narrow (void)
{
  SKIP_WITHOUT_DISPLAY ();
  const int sizes[][2] = { { 1024, 600 }, { 800, 600 } };
  for (guint k = 0; k < G_N_ELEMENTS (sizes); k++) {
    g_autoptr (DrmadApplication) app = drmad_application_new ();
    DrmadWindow *window = new_window (app, sizes[k][0], sizes[k][1]);
    target_width = sizes[k][0], target_height = sizes[k][1];
    double sized = wait_until (window, at_target_size, 10);
    int min_w, min_h;
    gtk_widget_measure (GTK_WIDGET (window), GTK_ORIENTATION_HORIZONTAL, -1, &min_w, NULL, NULL, NULL);
    gtk_widget_measure (GTK_WIDGET (window), GTK_ORIENTATION_VERTICAL, sizes[k][0], &min_h, NULL, NULL, NULL);
    g_test_message ("asked for %d×%d: %d×%d (its smallest %d×%d)", sizes[k][0], sizes[k][1],
                    gtk_widget_get_width (GTK_WIDGET (window)), gtk_widget_get_height (GTK_WIDGET (window)), min_w, min_h);
    g_assert_cmpfloat (sized, >=, 0);
    iterate_for (0.3);   /* the scrollbars shown or hidden, and laid out again */
    GPtrArray *check = g_ptr_array_new ();
    for (guint i = 0; i < 3; i++)   /* L2, learning rate, loss: the other plots are pages beside the learning rate */
      g_ptr_array_add (check, drmad_window_get_plot_view (window, i));
    GtkWidget *tabs = plot_tabs_scroller (window);
    g_ptr_array_add (check, tabs);
    GtkWidget *summary = gtk_widget_get_ancestor (GTK_WIDGET (drmad_window_get_plot_view (window, 2)), GTK_TYPE_GRID);
    g_ptr_array_add (check, gtk_grid_get_child_at (GTK_GRID (summary), 1, 1));
    GtkWidget *column = gtk_paned_get_end_child (GTK_PANED (gtk_widget_get_ancestor (summary, GTK_TYPE_PANED)));
    for (GtkWidget *child = gtk_widget_get_first_child (column); child; child = gtk_widget_get_next_sibling (child))
      if (GTK_IS_PROGRESS_BAR (child) || GTK_IS_LABEL (child))   /* the progress bar and the status line */
        g_ptr_array_add (check, child);
    for (guint i = 0; i < check->len; i++) {
      GtkWidget *widget = check->pdata[i];
      g_test_message ("%d×%d: %s %d×%d", sizes[k][0], sizes[k][1], G_OBJECT_TYPE_NAME (widget),
                      gtk_widget_get_width (widget), gtk_widget_get_height (widget));
      if (!reachable (GTK_WIDGET (window), widget))
        g_error ("at %d×%d a %s is out of reach", sizes[k][0], sizes[k][1], G_OBJECT_TYPE_NAME (widget));
    }
    g_ptr_array_unref (check);
    close_window (window);
  }
}

/* GTK's messages while a test records them (criticals and warnings, which
 * otherwise abort the test): a sequence a user can go through must log none. */
static gboolean recording;
static GPtrArray *recorded;

static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  if (recording && (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))) {
    for (gsize i = 0; i < n_fields; i++)
      if (g_str_equal (fields[i].key, "MESSAGE"))
        g_ptr_array_add (recorded, fields[i].length < 0 ? g_strdup (fields[i].value)
                                                         : g_strndup (fields[i].value, fields[i].length));
    return G_LOG_WRITER_HANDLED;
  }
  return g_log_writer_default (level, fields, n_fields, user_data);
}

/* A g_return_if_fail() critical goes through g_logv() and its handler, not
 * the writer; g_logv() then aborts unless log_fatal() says not to (set for
 * each test: GLib unsets it after each). */
static void
log_handler (const char *domain, GLogLevelFlags level, const char *message, gpointer user_data)
{
  if (recording && (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)))
    g_ptr_array_add (recorded, g_strdup_printf ("%s: %s", domain ? domain : "", message));
  else
    g_log_default_handler (domain, level, message, user_data);
}

static gboolean
log_fatal (const char *domain, GLogLevelFlags level, const char *message, gpointer user_data)
{
  return !recording;
}

static void
record_begin (void)
{
  g_clear_pointer (&recorded, g_ptr_array_unref);
  recorded = g_ptr_array_new_with_free_func (g_free);
  g_test_log_set_fatal_handler (log_fatal, NULL);
  recording = TRUE;
}

/* Fails with the messages recorded since record_begin(), if any. */
static void
record_end (const char *what)
{
  recording = FALSE;
  for (guint i = 0; i < recorded->len; i++)
    g_test_message ("%s logged: %s", what, (const char *) recorded->pdata[i]);
  if (recorded->len)
    g_error ("%s logged %u warnings or criticals, the first: %s", what, recorded->len,
             (const char *) recorded->pdata[0]);
}

static GtkWidget *
find_expander (GtkWidget *widget)
{
  if (GTK_IS_EXPANDER (widget))
    return widget;
  GtkWidget *found = NULL;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child && !found; child = gtk_widget_get_next_sibling (child))
    found = find_expander (child);
  return found;
}

/* The "More settings" expander, and the first and the last of its
 * settings, of @window. */
static GtkWidget *
more_settings (DrmadWindow *window, GtkWidget **first, GtkWidget **last)
{
  GtkWidget *grid = gtk_widget_get_parent (drmad_window_get_setting_widget (window, "clip"));
  GtkWidget *more = find_expander (GTK_WIDGET (window));
  g_assert_true (GTK_IS_EXPANDER (more));
  *first = *last = NULL;
  for (int row = 0; gtk_grid_get_child_at (GTK_GRID (grid), 1, row); row++) {
    *last = gtk_grid_get_child_at (GTK_GRID (grid), 1, row);
    *first = *first ? *first : *last;
  }
  return more;
}

static gboolean
focus_in (DrmadWindow *window, GtkWidget *widget)
{
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (window));
  return focus && (focus == widget || gtk_widget_is_ancestor (focus, widget));
}

/* Tab from the last of the settings, "More settings" collapsed or expanded,
 * leaves the column for the plots, and Shift+Tab comes back, logging nothing:
 * GTK 4.8's expander passed the focus on to its child while collapsed, when
 * that child is out of the window ("gtk_window_get_focus: assertion
 * 'GTK_IS_WINDOW (window)' failed"). Collapsed with the focus in one of its
 * settings, the expander takes the focus. */
static void
test_keyboard_more_settings (void)
{
  SKIP_WITHOUT_DISPLAY ();
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1440, 900);
  GtkWidget *first, *last, *more = more_settings (window, &first, &last);
  GtkWidget *column = gtk_widget_get_ancestor (more, GTK_TYPE_SCROLLED_WINDOW);
  GtkWidget *paned = gtk_widget_get_ancestor (column, GTK_TYPE_PANED);
  g_assert_false (gtk_expander_get_expanded (GTK_EXPANDER (more)));
  for (gboolean expanded = FALSE; expanded <= TRUE; expanded++) {
    gtk_expander_set_expanded (GTK_EXPANDER (more), expanded);
    iterate_for (0.1);
    g_assert_true (gtk_widget_is_drawable (last) == expanded);   /* its settings hidden while collapsed */
    record_begin ();
    g_assert_true (gtk_widget_grab_focus (more));
    guint presses = 0;
    gboolean saw_first = FALSE, saw_last = FALSE;
    while (focus_in (window, column) && presses++ < 100) {
      g_assert_true (gtk_widget_child_focus (GTK_WIDGET (window), GTK_DIR_TAB_FORWARD));
      saw_first = saw_first || focus_in (window, first);
      saw_last = saw_last || focus_in (window, last);
    }
    GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (window));
    g_test_message ("More settings %s: %u Tab presses to a %s", expanded ? "expanded" : "collapsed", presses,
                    focus ? G_OBJECT_TYPE_NAME (focus) : "nothing");
    g_assert_nonnull (focus);
    g_assert_true (gtk_widget_is_ancestor (focus, paned));   /* beside the column: the plots */
    g_assert_true (saw_first == expanded);
    g_assert_true (saw_last == expanded);
    presses = 0;
    while (!focus_in (window, column) && presses++ < 100)
      g_assert_true (gtk_widget_child_focus (GTK_WIDGET (window), GTK_DIR_TAB_BACKWARD));
    g_assert_true (focus_in (window, expanded ? last : more));
    iterate_for (0.1);
    record_end (expanded ? "Tab through More settings (expanded)" : "Tab from More settings (collapsed)");
  }
  /* Collapsed with the focus in one of its settings: the expander takes it
   * (GTK gave it to the column's scrolled window). */
  g_assert_true (gtk_widget_grab_focus (first));
  record_begin ();
  gtk_expander_set_expanded (GTK_EXPANDER (more), FALSE);
  iterate_for (0.1);
  record_end ("More settings collapsed with the focus in it");
  g_assert_false (gtk_widget_is_drawable (first));
  g_assert_true (gtk_root_get_focus (GTK_ROOT (window)) == more);
  close_window (window);
}

/* @widget's first event controller of @type (the widget holds it). */
static GtkEventController *
controller_of (GtkWidget *widget, GType type)
{
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (widget);
  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++) {
    g_autoptr (GtkEventController) controller = g_list_model_get_item (controllers, i);
    if (G_TYPE_CHECK_INSTANCE_TYPE (controller, type))
      return controller;
  }
  return NULL;
}

static GtkEventController *
key_controller (GtkWidget *widget)
{
  return controller_of (widget, GTK_TYPE_EVENT_CONTROLLER_KEY);
}

/* A key pressed in @widget, as GTK delivers it to its key controller. */
static gboolean
press (GtkWidget *widget, guint keyval)
{
  GtkEventController *keys = key_controller (widget);
  g_assert_nonnull (keys);
  gboolean handled = FALSE;
  g_signal_emit_by_name (keys, "key-pressed", keyval, 0, (GdkModifierType) 0, &handled);
  return handled;
}

static gboolean painted_flag;
static gboolean is_painted (DrmadWindow *w) { return painted_flag; }

static void
after_paint (GdkFrameClock *clock, gpointer unused)
{
  painted_flag = TRUE;
}

/* @widget as the next frame draws it (its CSS, focus ring included, and its own drawing). */
static GdkTexture *
render (DrmadWindow *window, GtkWidget *widget)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (widget);
  painted_flag = FALSE;
  gulong id = g_signal_connect (clock, "after-paint", G_CALLBACK (after_paint), NULL);
  gtk_widget_queue_draw (widget);
  g_assert_cmpfloat (wait_until (window, is_painted, 10), >=, 0);
  g_signal_handler_disconnect (clock, id);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  g_autoptr (GskRenderNode) node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  return gsk_renderer_render_texture (gtk_native_get_renderer (GTK_NATIVE (window)), node,
                                      &GRAPHENE_RECT_INIT (0, 0, width, height));
}

static guint32 *
pixels_of (GdkTexture *texture)
{
  int width = gdk_texture_get_width (texture), height = gdk_texture_get_height (texture);
  guint32 *pixels = g_new (guint32, (gsize) width * height);
  gdk_texture_download (texture, (guchar *) pixels, width * 4);
  return pixels;
}

/* Pixels that differ between two renderings of one widget, in the band
 * @inset px wide along its edges (@edges) or inside it (!@edges). */
static guint
count_changed (GdkTexture *a, GdkTexture *b, int inset, gboolean edges)
{
  int width = gdk_texture_get_width (a), height = gdk_texture_get_height (a);
  g_assert_cmpint (gdk_texture_get_width (b), ==, width);
  g_assert_cmpint (gdk_texture_get_height (b), ==, height);
  g_autofree guint32 *pa = pixels_of (a), *pb = pixels_of (b);
  guint changed = 0;
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++) {
      gboolean on_edge = x < inset || y < inset || x >= width - inset || y >= height - inset;
      if (on_edge == edges && pa[(gsize) y * width + x] != pb[(gsize) y * width + x])
        changed++;
    }
  return changed;
}

static gboolean
is_plot (GtkWidget *widget)
{
  return widget && (DRMAD_IS_PLOT_VIEW (widget) || gtk_widget_get_ancestor (widget, DRMAD_TYPE_PLOT_VIEW));
}

/* The plots take the keyboard: Tab reaches each, with a focus ring, and the
 * arrow keys move a read-out over the meta-iterations, drawn as the
 * pointer's is, the plot's accessible label. */
static void
test_keyboard_plots (void)
{
  SKIP_WITHOUT_DISPLAY ();
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1440, 900);
  GtkWidget *first, *last, *more = more_settings (window, &first, &last);
  GtkWidget *l2 = GTK_WIDGET (drmad_window_get_plot_view (window, 0));
  GtkWidget *lr = GTK_WIDGET (drmad_window_get_plot_view (window, 1));
  GtkWidget *loss = GTK_WIDGET (drmad_window_get_plot_view (window, 2));

  /* Tab from the last setting: the L2 plot, then past the tabs of the pages
   * beside the learning rate to its plot, then the loss. */
  g_assert_true (gtk_widget_grab_focus (more));
  gtk_window_set_focus_visible (GTK_WINDOW (window), TRUE);   /* as a key press sets it */
  GtkWidget *order[] = { l2, lr, loss };
  guint presses = 0, tabs_seen = 0;
  for (guint i = 0; i < G_N_ELEMENTS (order); i++) {
    while (gtk_root_get_focus (GTK_ROOT (window)) != order[i] && presses++ < 100) {
      g_assert_true (gtk_widget_child_focus (GTK_WIDGET (window), GTK_DIR_TAB_FORWARD));
      GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (window));
      g_assert_true (i > 0 || !is_plot (focus) || focus == l2);   /* the L2 plot comes first */
      tabs_seen += i == 1 && focus && gtk_widget_get_ancestor (focus, GTK_TYPE_STACK_SWITCHER) != NULL;
    }
    g_assert_true (gtk_root_get_focus (GTK_ROOT (window)) == order[i]);
    g_assert_true (gtk_widget_has_visible_focus (order[i]));
  }
  g_test_message ("%u Tab presses from More settings to the loss plot", presses);
  g_assert_cmpuint (tabs_seen, >=, 1);

  /* The focus ring: the focused plot's edges are drawn otherwise, its inside alike. */
  g_assert_true (gtk_widget_grab_focus (l2));
  g_autoptr (GdkTexture) unfocused = render (window, loss);
  g_assert_true (gtk_widget_grab_focus (loss));
  g_autoptr (GdkTexture) focused = render (window, loss);
  guint ring = count_changed (unfocused, focused, 6, TRUE), inside = count_changed (unfocused, focused, 6, FALSE);
  g_test_message ("focus ring: %u pixels changed along the edges, %u inside", ring, inside);
  g_assert_cmpuint (ring, >, (guint) gtk_widget_get_width (loss));
  g_assert_cmpuint (inside, ==, 0);

  /* The arrow keys: a read-out over the meta-iterations (a point not drawn,
   * here one ≤ 0 on the log axis, skipped), the pointer's text. */
  DrmadPlot *plot = drmad_plot_new ("Learned L2 per layer", "meta-iteration", "L2", TRUE);
  DrmadPlotSeries *layer1 = drmad_plot_add_series (plot, "layer 1", 0, 1);
  DrmadPlotSeries *layer2 = drmad_plot_add_series (plot, "layer 2", 1, 1);
  const double values[2][4] = { { 1e-4, -1, 3e-4, 4e-4 }, { 2e-2, 2.5e-2, 3e-2, 3.5e-2 } };
  for (guint i = 0; i < 4; i++) {
    drmad_plot_series_append (layer1, i + 1, values[0][i]);
    drmad_plot_series_append (layer2, i + 1, values[1][i]);
  }
  DrmadPlotView *view = DRMAD_PLOT_VIEW (l2);
  drmad_plot_view_set_plot (view, plot);
  g_assert_true (gtk_widget_grab_focus (l2));
  g_autoptr (GdkTexture) plain = render (window, l2);
  g_assert_null (drmad_plot_view_get_hover_text (view));
  gtk_test_accessible_assert_property (GTK_ACCESSIBLE (l2), GTK_ACCESSIBLE_PROPERTY_LABEL, "Learned L2 per layer");
  struct { guint keyval; const char *text; } steps[] = {
    { GDK_KEY_Left, "layer 1, meta-iteration 4: 4.00e-4" },   /* the first key: the newest point */
    { GDK_KEY_Left, "layer 1, meta-iteration 3: 3.00e-4" },
    { GDK_KEY_Left, "layer 1, meta-iteration 1: 1.00e-4" },   /* 2 is not drawn (≤ 0 on a log axis) */
    { GDK_KEY_Left, "layer 1, meta-iteration 1: 1.00e-4" },   /* it stays at the first */
    { GDK_KEY_Right, "layer 1, meta-iteration 3: 3.00e-4" },
    { GDK_KEY_Down, "layer 2, meta-iteration 3: 0.03" },
    { GDK_KEY_Home, "layer 2, meta-iteration 1: 0.02" },
    { GDK_KEY_Right, "layer 2, meta-iteration 2: 0.025" },
    { GDK_KEY_Up, "layer 1, meta-iteration 1: 1.00e-4" },     /* the nearest point drawn */
    { GDK_KEY_End, "layer 1, meta-iteration 4: 4.00e-4" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (steps); i++) {
    g_assert_true (press (l2, steps[i].keyval));
    g_assert_cmpstr (drmad_plot_view_get_hover_text (view), ==, steps[i].text);
    g_autofree char *label = g_strdup_printf ("Learned L2 per layer: %s", steps[i].text);
    gtk_test_accessible_assert_property (GTK_ACCESSIBLE (l2), GTK_ACCESSIBLE_PROPERTY_LABEL, label);
  }
  g_autoptr (GdkTexture) read_out = render (window, l2);
  guint drawn = count_changed (plain, read_out, 6, FALSE);
  g_test_message ("the read-out changed %u pixels", drawn);
  g_assert_cmpuint (drawn, >, 100);
  /* As the next meta-iteration's plot replaces it, the cursor on the newest point follows. */
  DrmadPlot *next = drmad_plot_new ("Learned L2 per layer", "meta-iteration", "L2", TRUE);
  DrmadPlotSeries *next1 = drmad_plot_add_series (next, "layer 1", 0, 1);
  drmad_plot_add_series (next, "layer 2", 1, 1);
  for (guint i = 0; i < 5; i++)
    drmad_plot_series_append (next1, i + 1, 1e-4 * (i + 1));
  drmad_plot_view_set_plot (view, next);
  g_assert_cmpstr (drmad_plot_view_get_hover_text (view), ==, "layer 1, meta-iteration 5: 5.00e-4");
  /* Other keys are the window's; Escape hides the read-out, and so does leaving the plot. */
  g_assert_false (press (l2, GDK_KEY_a));
  g_assert_true (press (l2, GDK_KEY_Escape));
  g_assert_null (drmad_plot_view_get_hover_text (view));
  gtk_test_accessible_assert_property (GTK_ACCESSIBLE (l2), GTK_ACCESSIBLE_PROPERTY_LABEL, "Learned L2 per layer");
  g_assert_true (press (l2, GDK_KEY_Home));
  g_assert_cmpstr (drmad_plot_view_get_hover_text (view), ==, "layer 1, meta-iteration 1: 1.00e-4");
  g_assert_true (gtk_widget_grab_focus (lr));
  g_assert_null (drmad_plot_view_get_hover_text (view));
  close_window (window);
}

/* The button in @widget that activates @action (Start, Stop in the toolbar). */
static GtkWidget *
find_action_button (GtkWidget *widget, const char *action)
{
  if (GTK_IS_BUTTON (widget) && g_strcmp0 (gtk_actionable_get_action_name (GTK_ACTIONABLE (widget)), action) == 0)
    return widget;
  GtkWidget *found = NULL;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child && !found; child = gtk_widget_get_next_sibling (child))
    found = find_action_button (child, action);
  return found;
}

static gboolean clicked_flag;
static gboolean start_clicked (DrmadWindow *w) { return clicked_flag; }

/* The focus as a button's click (and the action it ran) is over. */
static void
note_focus (GtkWidget *button, GtkWidget **focus)
{
  *focus = gtk_root_get_focus (gtk_widget_get_root (button));
  clicked_flag = TRUE;
}

/* Ctrl+Return (the start action) with the focus in a text field or a number
 * field: no "GtkText - did not receive a focus-out event" warning (GTK 4.8
 * sends none to a focused field made insensitive), and the focus goes to
 * the first plot rather than nowhere. F9 with the focus in a field: no
 * warning either, and the focus goes to the first plot. The Start button
 * pressed from the keyboard gives the focus to Stop, and as the run ends
 * Stop gives it back to Start (both went nowhere). */
static void
test_keyboard_start (void)
{
  SKIP_WITHOUT_DISPLAY ();
  /* The text cursor blinks fast: a field left focused but insensitive warns
   * within a few blinks. */
  int blink_time;
  g_object_get (gtk_settings_get_default (), "gtk-cursor-blink-time", &blink_time, NULL);
  g_object_set (gtk_settings_get_default (), "gtk-cursor-blink-time", 100, NULL);
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1440, 900);
  GtkWidget *l2 = GTK_WIDGET (drmad_window_get_plot_view (window, 0));
  /* No such data set: the run ends at once. */
  set_option (G_APPLICATION (app), "dataset=/no/such/dataset");
  const char *fields[] = { "layers", "iters" };
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++) {
    GtkWidget *field = drmad_window_get_setting_widget (window, fields[i]);
    g_assert_true (gtk_widget_grab_focus (field));
    gtk_editable_select_region (GTK_EDITABLE (field), 0, 0);   /* as after typing: the cursor blinks */
    iterate_for (0.3);
    record_begin ();
    activate (window, "start");
    gboolean focus_on_plot = gtk_root_get_focus (GTK_ROOT (window)) == l2;
    g_assert_cmpfloat (wait_until (window, idle, 30), >=, 0);
    iterate_for (1.0);   /* blinks of a cursor left behind, if one were */
    g_autofree char *what = g_strdup_printf ("Ctrl+Return in the %s field", fields[i]);
    record_end (what);
    g_assert_true (focus_on_plot);
    g_assert_nonnull (strstr (drmad_window_get_error (window), "/no/such/dataset"));
  }
  GtkWidget *start = find_action_button (GTK_WIDGET (window), "win.start");
  GtkWidget *stop = find_action_button (GTK_WIDGET (window), "win.stop");
  g_assert_nonnull (start);
  g_assert_nonnull (stop);
  g_assert_true (gtk_widget_grab_focus (start));
  record_begin ();
  GtkWidget *focus_running = NULL;
  clicked_flag = FALSE;
  gulong id = g_signal_connect_after (start, "clicked", G_CALLBACK (note_focus), &focus_running);
  gtk_widget_activate (start);   /* Space or Return on it: pressed, then clicked */
  g_assert_cmpfloat (wait_until (window, start_clicked, 10), >=, 0);
  g_signal_handler_disconnect (start, id);
  g_assert_cmpfloat (wait_until (window, idle, 30), >=, 0);
  iterate_for (0.3);
  record_end ("Start pressed from the keyboard");
  g_assert_true (focus_running == stop);
  g_assert_true (gtk_root_get_focus (GTK_ROOT (window)) == start);
  GtkWidget *layers = drmad_window_get_setting_widget (window, "layers");
  g_assert_true (gtk_widget_grab_focus (layers));
  gtk_editable_select_region (GTK_EDITABLE (layers), 0, 0);
  iterate_for (0.3);
  record_begin ();
  activate (window, "toggle-settings");
  /* the column hidden, its field gives the focus to the first plot (it was
   * left on the invisible pane) */
  g_assert_false (gtk_widget_get_visible (gtk_widget_get_ancestor (layers, GTK_TYPE_SCROLLED_WINDOW)));
  g_assert_true (gtk_root_get_focus (GTK_ROOT (window)) == l2);
  iterate_for (1.0);
  record_end ("F9 with the focus in a field");
  activate (window, "toggle-settings");
  g_object_set (gtk_settings_get_default (), "gtk-cursor-blink-time", blink_time, NULL);
  close_window (window);
}

/* In the learning-rate plot (one series per layer per meta-iteration, the
 * current ones last and in the key, the earlier ones faded): Up and Down go
 * through the series of the key only, and as the next meta-iteration's plot
 * replaces it the cursor stays on its layer's current series, not on the
 * faded one that now has its index. */
static void
test_keyboard_series (void)
{
  SKIP_WITHOUT_DISPLAY ();
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1440, 900);
  GtkWidget *lr = GTK_WIDGET (drmad_window_get_plot_view (window, 1));
  DrmadPlotView *view = DRMAD_PLOT_VIEW (lr);
  /* 2 layers, 2 segments of 100 steps; meta-iteration m, layer l, segment s: 0.1 (s + 1) + 0.01 l + 0.001 m */
  double lr2[8], lr3[12];
  for (guint m = 0; m < 3; m++)
    for (guint l = 0; l < 2; l++)
      for (guint k = 0; k < 2; k++) {
        double value = 0.1 * (k + 1) + 0.01 * l + 0.001 * (m + 1);
        lr3[(m * 2 + l) * 2 + k] = value;
        if (m < 2)
          lr2[(m * 2 + l) * 2 + k] = value;
      }
  drmad_plot_view_set_plot (view, drmad_plot_lr (2, 2, 2, 100, lr2));
  const DrmadPlot *plot = drmad_plot_view_get_plot (view);
  g_assert_cmpuint (plot->series->len, ==, 4);
  g_assert_false (((DrmadPlotSeries *) plot->series->pdata[1])->in_legend);   /* layer 2, meta-iteration 1 */
  g_assert_true (gtk_widget_grab_focus (lr));
  struct { guint keyval; const char *text; } steps[] = {
    { GDK_KEY_End, "layer 1, training step 100: 0.202" },
    { GDK_KEY_Up, "layer 1, training step 100: 0.202" },     /* the first in the key: it stays */
    { GDK_KEY_Down, "layer 2, training step 100: 0.212" },
    { GDK_KEY_Down, "layer 2, training step 100: 0.212" },   /* the last in the key */
    { GDK_KEY_Up, "layer 1, training step 100: 0.202" },     /* not the faded layer 2 of meta-iteration 1 */
    { GDK_KEY_Down, "layer 2, training step 100: 0.212" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (steps); i++) {
    g_assert_true (press (lr, steps[i].keyval));
    g_assert_cmpstr (drmad_plot_view_get_hover_text (view), ==, steps[i].text);
  }
  /* the next meta-iteration: still layer 2's current schedule, at its newest point */
  drmad_plot_view_set_plot (view, drmad_plot_lr (3, 2, 2, 100, lr3));
  g_assert_cmpstr (drmad_plot_view_get_hover_text (view), ==, "layer 2, training step 100: 0.213");
  /* and on a point before the last, the same point of the current schedule */
  g_assert_true (press (lr, GDK_KEY_Home));
  g_assert_cmpstr (drmad_plot_view_get_hover_text (view), ==, "layer 2, training step 0: 0.113");
  drmad_plot_view_set_plot (view, drmad_plot_lr (3, 2, 2, 100, lr3));
  g_assert_cmpstr (drmad_plot_view_get_hover_text (view), ==, "layer 2, training step 0: 0.113");
  close_window (window);
}

/* The keyboard cursor's read-out over @view drawn exactly as the pointer's
 * over the same point (series @series, point @point) is: on its point. The
 * read-out is the pointer's afterwards. */
static void
assert_cursor_on_point (DrmadWindow *window, DrmadPlotView *view, guint series, guint point, const char *what)
{
  GtkWidget *widget = GTK_WIDGET (view);
  g_autofree char *text = g_strdup (drmad_plot_view_get_hover_text (view));
  g_assert_nonnull (text);
  g_autoptr (GdkTexture) keys = render (window, widget);
  double x, y;
  g_assert_true (drmad_plot_locate (drmad_plot_view_get_plot (view), gtk_widget_get_width (widget),
                                    gtk_widget_get_height (widget), series, point, &x, &y));
  g_assert_true (drmad_plot_view_hover (view, x, y));
  g_assert_cmpstr (drmad_plot_view_get_hover_text (view), ==, text);
  g_autoptr (GdkTexture) pointer = render (window, widget);
  guint changed = count_changed (keys, pointer, 0, FALSE);
  g_test_message ("%s: the point at (%.1f, %.1f), %u pixels drawn otherwise", what, x, y, changed);
  g_assert_cmpuint (changed, ==, 0);
}

/* Where point @point of series 0 of @view is drawn now. */
static void
point_at (DrmadPlotView *view, guint point, double *x, double *y)
{
  g_assert_true (drmad_plot_locate (drmad_plot_view_get_plot (view), gtk_widget_get_width (GTK_WIDGET (view)),
                                    gtk_widget_get_height (GTK_WIDGET (view)), 0, point, x, y));
}

static GtkGesture *
drag_gesture (GtkWidget *widget)
{
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (widget);
  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++) {
    g_autoptr (GtkEventController) controller = g_list_model_get_item (controllers, i);
    if (GTK_IS_GESTURE_DRAG (controller))
      return GTK_GESTURE (controller);   /* the widget holds it */
  }
  return NULL;
}

/* The keyboard cursor stays on its point as the plot is drawn otherwise: a
 * linear scale, a zoom, a pan, all shown again, the plot grown (F9 hides
 * the settings); it was drawn where the point had been. */
static void
test_keyboard_marker (void)
{
  SKIP_WITHOUT_DISPLAY ();
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1024, 600);
  GtkWidget *l2 = GTK_WIDGET (drmad_window_get_plot_view (window, 0));
  DrmadPlotView *view = DRMAD_PLOT_VIEW (l2);
  const double values[8] = { 1e-5, 1e-4, 1e-3, 1e-2, 1e-3, 1e-4, 1e-5, 1e-1 };
  drmad_plot_view_set_plot (view, drmad_plot_l2 (8, 1, values));
  g_assert_true (gtk_widget_grab_focus (l2));
  iterate_for (0.3);
  for (guint i = 0; i < 3; i++)   /* End, Left, Left: meta-iteration 6 (point 5) */
    g_assert_true (press (l2, i ? GDK_KEY_Left : GDK_KEY_End));
  g_assert_cmpstr (drmad_plot_view_get_hover_text (view), ==, "layer 1, meta-iteration 6: 1.00e-4");
  assert_cursor_on_point (window, view, 0, 5, "placed");
  double x0, y0, x1, y1;
  struct { const char *what; int change; } changes[] = {
    { "linear scale", 0 }, { "zoomed", 1 }, { "panned", 2 }, { "all shown", 3 }, { "grown (F9)", 4 },
  };
  for (guint c = 0; c < G_N_ELEMENTS (changes); c++) {
    /* the keys' cursor again (the pointer read out the point last) */
    g_assert_true (press (l2, GDK_KEY_Right));
    g_assert_true (press (l2, GDK_KEY_Left));
    point_at (view, 5, &x0, &y0);
    switch (changes[c].change) {
    case 0: drmad_plot_view_set_log (view, FALSE); break;
    case 1: drmad_plot_view_zoom (view, 0.4 * gtk_widget_get_width (l2), 0.8); break;
    case 2: {
      GtkGesture *drag = drag_gesture (l2);
      g_assert_nonnull (drag);
      g_signal_emit_by_name (drag, "drag-begin", x0, y0);
      g_signal_emit_by_name (drag, "drag-update", -30.0, 0.0);
      break;
    }
    case 3: drmad_plot_view_reset_zoom (view); break;
    default: {
      int width = gtk_widget_get_width (l2);
      activate (window, "toggle-settings");
      for (guint i = 0; i < 100 && gtk_widget_get_width (l2) == width; i++)
        iterate_for (0.05);
      iterate_for (0.2);
      break;
    }
    }
    point_at (view, 5, &x1, &y1);
    g_test_message ("%s: the point moved from (%.1f, %.1f) to (%.1f, %.1f)", changes[c].what, x0, y0, x1, y1);
    g_assert_cmpfloat (fabs (x1 - x0) + fabs (y1 - y0), >, 3);   /* a change that moves it */
    g_assert_cmpstr (drmad_plot_view_get_hover_text (view), ==, "layer 1, meta-iteration 6: 1.00e-4");
    assert_cursor_on_point (window, view, 0, 5, changes[c].what);
  }
  activate (window, "toggle-settings");
  close_window (window);
}

/* A click on a plot partly scrolled out of view (800×600: the learning-rate
 * plot mostly right of the window's edge) focuses it without scrolling the
 * plots under the pointer; Tab still scrolls to the plot it reaches. */
static void
test_keyboard_click (void)
{
  SKIP_WITHOUT_DISPLAY ();
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 800, 600);
  target_width = 800, target_height = 600;
  g_assert_cmpfloat (wait_until (window, at_target_size, 10), >=, 0);
  iterate_for (0.3);
  GtkWidget *lr = GTK_WIDGET (drmad_window_get_plot_view (window, 1));
  GtkWidget *scroller = gtk_widget_get_ancestor (GTK_WIDGET (drmad_window_get_plot_view (window, 0)),
                                                 GTK_TYPE_SCROLLED_WINDOW);
  GtkAdjustment *h = gtk_scrolled_window_get_hadjustment (GTK_SCROLLED_WINDOW (scroller));
  graphene_rect_t before, after;
  g_assert_true (gtk_widget_compute_bounds (lr, GTK_WIDGET (window), &before));
  g_test_message ("the learning-rate plot at x %.0f, %.0f px wide, in a window %d px wide", before.origin.x,
                  before.size.width, gtk_widget_get_width (GTK_WIDGET (window)));
  g_assert_cmpfloat (before.origin.x + before.size.width, >, gtk_widget_get_width (GTK_WIDGET (window)));
  double value = gtk_adjustment_get_value (h);
  /* the primary button's click gesture, as a press at its visible left edge */
  GtkGesture *click = NULL;
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (lr);
  for (guint i = 0; i < g_list_model_get_n_items (controllers) && !click; i++) {
    g_autoptr (GtkEventController) controller = g_list_model_get_item (controllers, i);
    if (GTK_IS_GESTURE_CLICK (controller)
        && gtk_gesture_single_get_button (GTK_GESTURE_SINGLE (controller)) == GDK_BUTTON_PRIMARY)
      click = GTK_GESTURE (controller);
  }
  g_assert_nonnull (click);
  g_signal_emit_by_name (click, "pressed", 1, 10.0, 10.0);
  iterate_for (0.5);
  g_assert_true (gtk_root_get_focus (GTK_ROOT (window)) == lr);
  g_assert_true (gtk_widget_compute_bounds (lr, GTK_WIDGET (window), &after));
  g_test_message ("after the click: scrolled from %.0f to %.0f, the plot at x %.0f", value,
                  gtk_adjustment_get_value (h), after.origin.x);
  g_assert_cmpfloat (gtk_adjustment_get_value (h), ==, value);
  g_assert_cmpfloat (after.origin.x, ==, before.origin.x);
  /* Tab away and back: the keyboard brings it into view */
  g_assert_true (gtk_widget_child_focus (GTK_WIDGET (window), GTK_DIR_TAB_FORWARD));
  while (gtk_root_get_focus (GTK_ROOT (window)) != lr)
    g_assert_true (gtk_widget_child_focus (GTK_WIDGET (window), GTK_DIR_TAB_BACKWARD));
  iterate_for (0.5);
  g_assert_true (gtk_widget_compute_bounds (lr, GTK_WIDGET (window), &after));
  g_test_message ("after Tab: scrolled to %.0f, the plot at x %.0f", gtk_adjustment_get_value (h), after.origin.x);
  g_assert_cmpfloat (gtk_adjustment_get_value (h), >, value);
  close_window (window);
}

static GtkEventController *
motion_controller (GtkWidget *widget)
{
  return controller_of (widget, GTK_TYPE_EVENT_CONTROLLER_MOTION);
}

/* The read-out of a plot 240 px wide (its smallest) shows its value: a text
 * wider than the plot breaks after its commas. The keyboard cursor's
 * read-out stays while the pointer moves away from the points and leaves;
 * the pointer's own goes. */
static void
test_keyboard_readout (void)
{
  SKIP_WITHOUT_DISPLAY ();
  GtkWidget *window = gtk_window_new ();
  GtkWidget *widget = drmad_plot_view_new ();
  DrmadPlotView *view = DRMAD_PLOT_VIEW (widget);
  gtk_window_set_child (GTK_WINDOW (window), widget);
  gtk_window_set_default_size (GTK_WINDOW (window), 240, 180);
  gtk_window_present (GTK_WINDOW (window));
  for (guint i = 0; i < 200 && gtk_widget_get_width (widget) <= 0; i++)
    iterate_for (0.05);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  g_test_message ("the plot: %d × %d", width, height);
  g_assert_cmpint (width, <=, 250);
  /* meta-iteration 1: layer 1 at 0.1 and 0.2, layer 2 at 0.15 and 0.25; meta-iteration 2 0.2 higher */
  const double lr[8] = { 0.1, 0.2, 0.15, 0.25, 0.3, 0.4, 0.35, 0.45 };
  drmad_plot_view_set_plot (view, drmad_plot_lr (2, 2, 2, 100, lr));
  double x, y;
  g_assert_true (drmad_plot_locate (drmad_plot_view_get_plot (view), width, height, 0, 1, &x, &y));
  g_assert_true (drmad_plot_view_hover (view, x, y));
  const char *text = "layer 1, meta-iteration 1, training step 50: 0.2";
  g_assert_cmpstr (drmad_plot_view_get_hover_text (view), ==, text);
  double box_width;
  g_auto (GStrv) lines = drmad_plot_view_get_readout_lines (view, &box_width);
  g_autofree char *joined = g_strjoinv (" ", lines);
  g_test_message ("the read-out in %u lines, %.0f px wide: %s", g_strv_length (lines), box_width, joined);
  g_assert_cmpstr (joined, ==, text);
  g_assert_cmpuint (g_strv_length (lines), >=, 2);
  g_assert_cmpfloat (box_width, <=, width - 4);
  g_assert_true (g_str_has_suffix (lines[g_strv_length (lines) - 1], ": 0.2"));
  /* the pointer away from the points: its read-out goes */
  g_assert_false (drmad_plot_view_hover (view, 1, 1));
  g_assert_null (drmad_plot_view_get_hover_text (view));
  /* the keys' read-out stays */
  g_assert_true (gtk_widget_grab_focus (widget));
  g_assert_true (press (widget, GDK_KEY_End));
  g_assert_cmpstr (drmad_plot_view_get_hover_text (view), ==, "layer 1, training step 100: 0.4");
  g_assert_false (drmad_plot_view_hover (view, 1, 1));
  g_assert_cmpstr (drmad_plot_view_get_hover_text (view), ==, "layer 1, training step 100: 0.4");
  g_signal_emit_by_name (motion_controller (widget), "leave");
  g_assert_cmpstr (drmad_plot_view_get_hover_text (view), ==, "layer 1, training step 100: 0.4");
  gtk_test_accessible_assert_property (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       "Learning-rate schedule: layer 1, training step 100: 0.4");
  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* Pixels inside the @inset px band along the edges that differ between the
 * widget's rendering and drmad_plot_draw()'s drawing of @plot at its size. */
static guint
count_unlike_drawing (GdkTexture *rendered, const DrmadPlot *plot, int inset)
{
  int width = gdk_texture_get_width (rendered), height = gdk_texture_get_height (rendered);
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cairo_t *cr = cairo_create (surface);
  drmad_plot_draw (plot, cr, width, height);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  g_autofree guint32 *pixels = pixels_of (rendered);
  const guint8 *data = cairo_image_surface_get_data (surface);
  int stride = cairo_image_surface_get_stride (surface);
  guint unlike = 0, exact = 0, most = 0;
  for (int y = inset; y < height - inset; y++)
    for (int x = inset; x < width - inset; x++) {
      guint32 p = pixels[(gsize) y * width + x], q = ((const guint32 *) (data + (gsize) y * stride))[x];
      guint diff = 0;
      for (int c = 0; c < 32; c += 8)
        diff = MAX (diff, (guint) abs ((int) ((p >> c) & 255) - (int) ((q >> c) & 255)));
      exact += diff > 0;
      unlike += diff > 2;
      most = MAX (most, diff);
    }
  g_test_message ("%u pixels differ from the drawing, by %u at most", exact, most);
  cairo_surface_destroy (surface);
  return unlike;
}

/* What @widget's own snapshot draws (its plot and read-out, without its CSS
 * box), rendered by the window's renderer at its size: the renderings of the
 * whole widget (render()) are scaled to its bounds with the focus ring's. */
static GdkTexture *
render_content (DrmadWindow *window, GtkWidget *widget)
{
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  GTK_WIDGET_GET_CLASS (widget)->snapshot (widget, snapshot);
  g_autoptr (GskRenderNode) node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  return gsk_renderer_render_texture (gtk_native_get_renderer (GTK_NATIVE (window)), node,
                                      &GRAPHENE_RECT_INIT (0, 0, gtk_widget_get_width (widget),
                                                           gtk_widget_get_height (widget)));
}

/* The image of the plot in @widget's snapshot (its first node); NULL: none. */
static GdkTexture *
plot_image (GtkWidget *widget)
{
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  GTK_WIDGET_GET_CLASS (widget)->snapshot (widget, snapshot);
  g_autoptr (GskRenderNode) node = gtk_snapshot_free_to_node (snapshot);
  GskRenderNode *first = node && gsk_render_node_get_node_type (node) == GSK_CONTAINER_NODE
                         ? gsk_container_node_get_child (node, 0) : node;
  return first && gsk_render_node_get_node_type (first) == GSK_TEXTURE_NODE
         ? gsk_texture_node_get_texture (first) : NULL;
}

/* The plot view draws its plot once and keeps the image while only the
 * read-out moves: what it shows is drmad_plot_draw()'s very pixels, before
 * and after a read-out, and again after a zoom and a new plot (nothing stale). */
static void
test_plot_rendering_kept (void)
{
  SKIP_WITHOUT_DISPLAY ();
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1440, 900);
  GtkWidget *widget = GTK_WIDGET (drmad_window_get_plot_view (window, 0));
  DrmadPlotView *view = DRMAD_PLOT_VIEW (widget);
  double l2[40 * 3];
  for (guint i = 0; i < G_N_ELEMENTS (l2); i++)
    l2[i] = 1e-4 * (1 + (i % 3)) * (1 + 0.05 * (i / 3));
  drmad_plot_view_set_plot (view, drmad_plot_l2 (40, 3, l2));
  g_autoptr (GdkTexture) plain = render_content (window, widget);
  g_assert_cmpuint (count_unlike_drawing (plain, drmad_plot_view_get_plot (view), 6), ==, 0);

  /* a read-out over it, then none: the plot under it unchanged */
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  double px, py;
  g_assert_true (drmad_plot_locate (drmad_plot_view_get_plot (view), width, height, 1, 20, &px, &py));
  g_assert_true (drmad_plot_view_hover (view, px, py));
  g_assert_cmpstr (drmad_plot_view_get_hover_text (view), ==, "layer 2, meta-iteration 21: 4.00e-4");
  g_autoptr (GdkTexture) read_out = render_content (window, widget);
  g_assert_cmpuint (count_changed (plain, read_out, 6, FALSE), >, 100);
  /* the plot itself was not drawn again: the same image under the read-out */
  g_autoptr (GdkTexture) image = plot_image (widget);
  g_assert_nonnull (image);
  g_object_ref (image);   /* (the view holds one too, until the zoom) */
  g_assert_true (plot_image (widget) == image);
  g_assert_false (drmad_plot_view_hover (view, 1, 1));
  g_assert_true (plot_image (widget) == image);
  g_autoptr (GdkTexture) again = render_content (window, widget);
  g_assert_cmpuint (count_changed (plain, again, 0, FALSE), ==, 0);

  /* a zoom and a new plot are drawn anew */
  drmad_plot_view_zoom (view, width / 2.0, 0.5);
  g_assert_true (plot_image (widget) != image);
  g_autoptr (GdkTexture) zoomed = render_content (window, widget);
  g_assert_cmpuint (count_changed (plain, zoomed, 6, FALSE), >, 100);
  g_assert_cmpuint (count_unlike_drawing (zoomed, drmad_plot_view_get_plot (view), 6), ==, 0);
  drmad_plot_view_reset_zoom (view);
  for (guint i = 0; i < G_N_ELEMENTS (l2); i++)
    l2[i] *= 2;
  drmad_plot_view_set_plot (view, drmad_plot_l2 (40, 3, l2));
  g_autoptr (GdkTexture) replaced = render_content (window, widget);
  g_assert_cmpuint (count_unlike_drawing (replaced, drmad_plot_view_get_plot (view), 6), ==, 0);
  close_window (window);
}

/* ---- no display needed ---- */

static void
test_settings (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadSettings) settings = drmad_settings_new ();
  g_assert_cmpstr (drmad_settings_get (settings, "method"), ==, "auto");
  g_assert_cmpstr (drmad_settings_get (settings, "meta-iters"), ==, "40");
  g_assert_null (drmad_settings_get (settings, "no-gui"));   /* a flag, not a setting */
  g_assert_true (drmad_settings_set_assignment (settings, "layers = 784,16,10", &error));
  g_assert_no_error (error);
  g_assert_cmpstr (drmad_settings_get (settings, "layers"), ==, "784,16,10");
  g_assert_false (drmad_settings_set_assignment (settings, "itres=30", &error));
  g_assert_nonnull (strstr (error->message, "itres"));
  g_clear_error (&error);
  g_assert_false (drmad_settings_set_assignment (settings, "iters", &error));
  g_clear_error (&error);

  /* settings.ini round trip, in run.ini's format */
  g_assert_true (drmad_settings_set (settings, "init-l2", "1e-3,2e-4", &error));
  g_autofree char *path = drmad_settings_get_default_path ();
  g_assert_true (g_str_has_prefix (path, g_get_user_config_dir ()));
  g_assert_true (drmad_settings_save (settings, path, &error));
  g_assert_no_error (error);
  g_autoptr (DrmadSettings) loaded = drmad_settings_new ();
  g_assert_true (drmad_settings_load (loaded, path, &error));
  g_assert_no_error (error);
  g_autoptr (GHashTable) a = drmad_settings_dup_values (settings);
  g_autoptr (GHashTable) b = drmad_settings_dup_values (loaded);
  g_assert_true (drmad_settings_values_equal (a, b, NULL));
  g_autofree char *text = NULL;
  gsize length;
  g_assert_true (g_file_get_contents (path, &text, &length, NULL));
  g_autoptr (GHashTable) parsed = drmad_options_read_ini (text, length, path, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_hash_table_lookup (parsed, "init-l2"), ==, "1e-3,2e-4");
  drmad_settings_reset (loaded);
  g_assert_cmpstr (drmad_settings_get (loaded, "layers"), ==, "784,100,100,10");
  g_hash_table_unref (b);
  b = drmad_settings_dup_values (loaded);
  g_assert_false (drmad_settings_values_equal (a, b, NULL));
  const char *except[] = { "layers", "init-l2", NULL };
  g_assert_true (drmad_settings_values_equal (a, b, except));
  /* a missing file keeps the defaults */
  g_assert_true (drmad_settings_load (loaded, "/no/such/settings.ini", &error));
  g_assert_no_error (error);
}

/* settings.ini goes through the library's atomic writer, the one that
 * flushes the file before its rename and the folder after (a power loss
 * must not leave an empty settings.ini): g_key_file_save_to_file() flushed
 * nothing for a first save. Seen through the writer's full-disk hook
 * (DRMAD_INJECT_FAULT=nospace:1, every write of the library's writer
 * fails): the save fails naming the file, the earlier file stays byte for
 * byte, nothing is left beside it; without the hook it saves. */
static void
test_settings_durable (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = test_tmp_dir ("drmad-settings-durable", NULL);
  g_autofree char *path = g_build_filename (dir, "settings.ini", NULL);
  const char *earlier = "[drmad]\niters=7\n";
  g_assert_true (g_file_set_contents (path, earlier, -1, NULL));
  g_autoptr (DrmadSettings) settings = drmad_settings_new ();
  g_assert_true (drmad_settings_set (settings, "iters", "30", &error));
  g_setenv ("DRMAD_INJECT_FAULT", "nospace:1", TRUE);
  gboolean saved = drmad_settings_save (settings, path, &error);
  g_unsetenv ("DRMAD_INJECT_FAULT");
  g_assert_false (saved);
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_NO_SPACE);
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, earlier);
  g_autoptr (GDir) listing = g_dir_open (dir, 0, NULL);
  g_assert_cmpstr (g_dir_read_name (listing), ==, "settings.ini");
  g_assert_null (g_dir_read_name (listing));
  g_assert_true (drmad_settings_save (settings, path, &error));
  g_assert_no_error (error);
  g_clear_pointer (&text, g_free);
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "\niters=30\n"));
  remove_tree (dir);
}

/* The folder that holds settings.ini, made by its first save (the user's
 * config dir, drmad/ in it), is made as a run folder is: its entry in the
 * folder above is flushed, or a power loss after the save could lose the
 * folder with the flushed file. With every flush of a folder failing
 * (DRMAD_INJECT_FAULT=fsyncdir:5, EIO), the save fails at the first one,
 * naming the folder made and the one it was made in (it failed only after
 * settings.ini's rename, at that file's own folder), and takes back both
 * folders it made; the config dir, there before, stays. */
static void
test_settings_folder_flushed (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = test_tmp_dir ("drmad-settings-folder", NULL);
  g_autofree char *config = g_build_filename (dir, "config", NULL);
  g_autofree char *drmad_folder = g_build_filename (config, "drmad", NULL);
  g_autofree char *path = g_build_filename (drmad_folder, "settings.ini", NULL);
  g_autoptr (DrmadSettings) settings = drmad_settings_new ();
  g_assert_true (drmad_settings_set (settings, "iters", "30", &error));
  g_setenv ("DRMAD_INJECT_FAULT", "fsyncdir:5", TRUE);
  gboolean saved = drmad_settings_save (settings, path, &error);
  g_unsetenv ("DRMAD_INJECT_FAULT");
  g_assert_false (saved);
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_DISK);
  g_autofree char *expected = g_strdup_printf ("the settings were not saved for the next launch: cannot flush the "
                                               "folder %s after creating %s: %s", config, drmad_folder,
                                               g_strerror (EIO));
  g_assert_cmpstr (error->message, ==, expected);
  g_clear_error (&error);
  g_assert_false (g_file_test (config, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (dir, G_FILE_TEST_IS_DIR));
  g_assert_true (drmad_settings_save (settings, path, &error));
  g_assert_no_error (error);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "\niters=30\n"));
  remove_tree (dir);
}

/* drmad_options_from_values gives what the command line gives. */
static void
test_options_from_values (void)
{
  g_autoptr (GError) error = NULL;
  char *args[] = { "drmad", "--no-gui", "--layers", "784,16,10", "--iters", "30", "--method", "drmad", "--init-l2",
                   "1e-3,2e-4", "--learn", "l2,momentum", "--l2-granularity", "neuron", "--meta-iters", "7", NULL };
  int argc = G_N_ELEMENTS (args) - 1;
  char **argv = args;
  DrmadOptions cli = { 0 }, window = { 0 };
  g_assert_true (drmad_options_parse (&cli, &argc, &argv, &error));
  g_assert_no_error (error);
  g_autoptr (GHashTable) values = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (values, "layers", "784,16,10");
  g_hash_table_insert (values, "iters", "30");
  g_hash_table_insert (values, "method", "drmad");
  g_hash_table_insert (values, "init-l2", "1e-3,2e-4");
  g_hash_table_insert (values, "learn", "l2,momentum");
  g_hash_table_insert (values, "l2-granularity", "neuron");
  g_hash_table_insert (values, "meta-iters", "7");
  g_assert_true (drmad_options_from_values (&window, values, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (window.n_sizes, ==, cli.n_sizes);
  g_assert_cmpmem (window.sizes, sizeof window.sizes, cli.sizes, sizeof cli.sizes);
  g_assert_cmpmem (&window.hyper, sizeof window.hyper, &cli.hyper, sizeof cli.hyper);
  g_assert_cmpmem (&window.reverse, sizeof window.reverse, &cli.reverse, sizeof cli.reverse);
  g_assert_cmpmem (&window.meta, sizeof window.meta, &cli.meta, sizeof cli.meta);
  g_assert_cmpuint (window.meta_iters, ==, 7);
  g_assert_cmpuint (window.batch, ==, cli.batch);
  g_assert_cmpstr (window.dataset, ==, cli.dataset);
  g_assert_cmpint (window.precision, ==, cli.precision);
  g_autofree char *ini_cli = drmad_options_to_ini (&cli);
  g_autofree char *ini_window = drmad_options_to_ini (&window);
  g_assert_cmpstr (ini_window, ==, ini_cli);
  g_assert_null (window.out);
  g_assert_false (window.no_gui);
  drmad_options_clear (&window);
  drmad_options_clear (&cli);

  /* the same checks, the same messages */
  g_hash_table_insert (values, "batch", "0");
  g_assert_false (drmad_options_from_values (&window, values, &error));
  g_assert_nonnull (strstr (error->message, "--batch 0"));
  g_clear_error (&error);
  drmad_options_clear (&window);
  g_hash_table_remove (values, "batch");
  /* a decimal comma, as a settings.ini written by hand in such a locale has it */
  g_hash_table_insert (values, "meta-lr", "0,15");
  g_assert_false (drmad_options_from_values (&window, values, &error));
  g_assert_cmpstr (error->message, ==, "--meta-lr 0,15: expected a finite number above 0, written with a decimal point (0.15)");
  g_clear_error (&error);
  drmad_options_clear (&window);
  g_hash_table_insert (values, "meta-lr", "0,0");   /* no hint where the point would not help */
  g_assert_false (drmad_options_from_values (&window, values, &error));
  g_assert_cmpstr (error->message, ==, "--meta-lr 0,0: expected a finite number above 0");
  g_clear_error (&error);
  drmad_options_clear (&window);
  g_hash_table_remove (values, "meta-lr");
  g_hash_table_insert (values, "no-gui", "true");
  g_assert_false (drmad_options_from_values (&window, values, &error));
  g_assert_nonnull (strstr (error->message, "no-gui"));
  drmad_options_clear (&window);
}

/* Compare runs: two run folders that differ in their seed, overlaid; each
 * series named by its folder and the setting that differs, holding the
 * validation losses history.csv holds. No device needed to read them. */
static void
test_compare (void)
{
  if (!g_file_test ("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", G_FILE_TEST_EXISTS)) {
    g_test_skip ("Fashion-MNIST is not installed");
    return;
  }
  g_autofree char *dir = test_tmp_dir ("drmad-compare", NULL);
  char *folders[3] = { g_build_filename (dir, "first", NULL), g_build_filename (dir, "second", NULL), NULL };
  for (guint k = 0; k < 2; k++) {
    g_autofree char *seed = g_strdup_printf ("%u", k + 1);
    const char *argv[] = { g_getenv ("DRMAD_BIN"), "--no-gui", "--layers", "784,16,10", "--iters", "30",
                           "--train-size", "300", "--val-size", "200", "--test-size", "50", "--batch", "50",
                           "--meta-iters", "3", "--seed", seed, "--out", folders[k], NULL };
    int status;
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                                 NULL, NULL, NULL, NULL, &status, NULL));
    g_assert_true (g_spawn_check_wait_status (status, NULL));
  }
  g_autoptr (GError) error = NULL;
  DrmadPlot *val = NULL, *l2 = NULL, *lr = NULL;
  g_assert_true (drmad_compare_runs ((const char *const *) folders, &val, &l2, &lr, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (val->series->len, ==, 2);
  g_assert_cmpuint (l2->series->len, ==, 2);
  g_assert_cmpuint (lr->series->len, ==, 2);
  for (guint k = 0; k < 2; k++) {
    const DrmadPlotSeries *series = val->series->pdata[k];
    g_autofree char *expected_name = g_strdup_printf ("%s: seed=%u", k ? "second" : "first", k + 1);
    g_assert_cmpstr (series->name, ==, expected_name);
    g_assert_cmpuint (((DrmadPlotSeries *) l2->series->pdata[k])->x->len, ==, 2);   /* two weight layers */
    /* T = 30 in S = 4 segments: segment s starts at the first step t with
     * ⌊t·4/30⌋ = s, steps 0, 8, 15 and 23 (not 7.5 and 22.5), and ends at 30 */
    const DrmadPlotSeries *schedule = lr->series->pdata[k];
    const double starts[] = { 0, 8, 15, 23, 30 };
    g_assert_cmpuint (schedule->x->len, ==, G_N_ELEMENTS (starts));
    for (guint s = 0; s < G_N_ELEMENTS (starts); s++)
      g_assert_cmpfloat (g_array_index (schedule->x, double, s), ==, starts[s]);
    /* The validation losses are history.csv's, meta-iteration by meta-iteration. */
    g_autofree char *path = g_build_filename (folders[k], "history.csv", NULL), *text = NULL;
    g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
    g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
    g_assert_cmpuint (series->y->len, ==, 3);
    for (guint i = 0; i < 3; i++) {
      g_auto (GStrv) cells = g_strsplit (lines[i + 1], ",", -1);
      g_assert_cmpfloat (g_array_index (series->y, double, i), ==, g_ascii_strtod (cells[3], NULL));
    }
  }
  /* A run compared with itself (the window's own run chosen again, here by
   * another spelling of its folder) is one run, not two of one name. */
  drmad_plot_free (val);
  drmad_plot_free (l2);
  drmad_plot_free (lr);
  g_autofree char *first_again = g_strconcat (folders[0], "/.", NULL);
  const char *twice[] = { folders[0], first_again, folders[1], NULL };
  g_assert_true (drmad_compare_runs (twice, &val, &l2, &lr, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (val->series->len, ==, 2);
  g_assert_cmpstr (((DrmadPlotSeries *) val->series->pdata[0])->name, ==, "first: seed=1");
  g_assert_cmpstr (((DrmadPlotSeries *) val->series->pdata[1])->name, ==, "second: seed=2");
  /* A run that did not learn L2 says so in the L2 plot's legend (its
   * series is its fixed value), as a single run's plot says it in its
   * title; its learning-rate series, learned, does not. */
  drmad_plot_free (val);
  drmad_plot_free (l2);
  drmad_plot_free (lr);
  g_autofree char *third = g_build_filename (dir, "third", NULL);
  const char *argv[] = { g_getenv ("DRMAD_BIN"), "--no-gui", "--layers", "784,16,10", "--iters", "30",
                         "--train-size", "300", "--val-size", "200", "--test-size", "50", "--batch", "50",
                         "--meta-iters", "3", "--seed", "1", "--learn", "lr", "--init-l2", "0.004", "--out", third,
                         NULL };
  int status;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                               NULL, NULL, NULL, NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  const char *partly[] = { folders[0], third, NULL };
  g_assert_true (drmad_compare_runs (partly, &val, &l2, &lr, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (l2->series->len, ==, 2);
  g_assert_cmpstr (((DrmadPlotSeries *) l2->series->pdata[0])->name, ==, "first: learn=l2,lr, init-l2=1e-4");
  g_assert_cmpstr (((DrmadPlotSeries *) l2->series->pdata[1])->name, ==,
                   "third: learn=lr, init-l2=0.004 (not learned)");
  g_assert_cmpstr (((DrmadPlotSeries *) lr->series->pdata[0])->name, ==, "first: learn=l2,lr, init-l2=1e-4");
  g_assert_cmpstr (((DrmadPlotSeries *) lr->series->pdata[1])->name, ==, "third: learn=lr, init-l2=0.004");
  g_assert_cmpstr (((DrmadPlotSeries *) val->series->pdata[1])->name, ==, "third: learn=lr, init-l2=0.004");
  const DrmadPlotSeries *fixed = l2->series->pdata[1];
  for (guint l = 0; l < fixed->y->len; l++)
    g_assert_cmpfloat (g_array_index (fixed->y, double, l), ==, 0.004);   /* --init-l2, never moved */
  /* A folder that is not a run: a clear error naming it. */
  const char *bad[] = { folders[0], dir, NULL };
  g_assert_false (drmad_compare_runs (bad, &val, &l2, &lr, &error));
  g_assert_nonnull (strstr (error->message, dir));
  drmad_plot_free (val);
  drmad_plot_free (l2);
  drmad_plot_free (lr);
  g_free (folders[0]);
  g_free (folders[1]);
  remove_tree (dir);
}

static gint64 tick_last_us, tick_gap_us;
static guint tick_turns;

/* The longest wait between two turns of the main loop, in µs (tick_gap_us),
 * and how many turns there were (tick_turns). */
static gboolean
tick_gap (gpointer unused)
{
  gint64 now = g_get_monotonic_time ();
  tick_turns++;
  tick_gap_us = MAX (tick_gap_us, now - tick_last_us);
  tick_last_us = now;
  return G_SOURCE_CONTINUE;
}

static gboolean comparing_done (DrmadWindow *w) { return !drmad_window_is_comparing (w); }

/* A weak reference's record of where its object went away. */
typedef struct {
  gboolean finalized;
  GThread *thread;
} Gone;

static void
note_gone (gpointer data, GObject *object)
{
  Gone *gone = data;
  gone->finalized = TRUE;
  gone->thread = g_thread_self ();
}

/* The windows shown transient for @window: the comparisons it opened. */
static guint
count_comparisons (DrmadWindow *window)
{
  guint n = 0;
  g_autoptr (GListModel) toplevels = gtk_window_get_toplevels ();
  g_object_ref (toplevels);
  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++) {
    g_autoptr (GtkWindow) other = g_list_model_get_item (toplevels, i);
    n += gtk_window_get_transient_for (other) == GTK_WINDOW (window) && gtk_widget_get_visible (GTK_WIDGET (other));
  }
  return n;
}

/* Two run folders, @dir/first and @dir/second (into @folders, NULL
 * after them), of runs that differ in their seed, with checkpoints large
 * enough that DRMAD_CHECKPOINT_CHUNK=1 makes their load take a while. */
static void
make_slow_runs (const char *dir, char *folders[3])
{
  folders[0] = g_build_filename (dir, "first", NULL);
  folders[1] = g_build_filename (dir, "second", NULL);
  folders[2] = NULL;
  for (guint k = 0; k < 2; k++) {
    g_autofree char *seed = g_strdup_printf ("%u", k + 1);
    /* L2 per weight: 50 824 hyperparameters, a checkpoint of 4.5 MB */
    const char *argv[] = { g_getenv ("DRMAD_BIN"), "--no-gui", "--layers", "784,64,10", "--iters", "10",
                           "--train-size", "300", "--val-size", "200", "--test-size", "50", "--batch", "50",
                           "--meta-iters", "2", "--l2-granularity", "weight", "--seed", seed, "--out", folders[k],
                           NULL };
    int status;
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                                 NULL, NULL, NULL, NULL, &status, NULL));
    g_assert_true (g_spawn_check_wait_status (status, NULL));
  }
}

/* Compare runs reads the run folders in a thread: with large checkpoints
 * (here made slow to read by DRMAD_CHECKPOINT_CHUNK, a few bytes a read())
 * the window froze for as long as they took. Its main loop must keep
 * turning (no wait between two turns of more than half the load),
 * the comparison's window saying it is loading; closing that window, or a
 * second Compare, cancels the load; an error still lands in the banner.
 * In a subprocess, whose environment the hook's variable may change. */
static void
test_compare_loading (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
  if (!g_test_subprocess ()) {
    if (!have_display_data_and_device ())
      return;
    g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDOUT | G_TEST_SUBPROCESS_INHERIT_STDERR);
    g_test_trap_assert_passed ();
    return;
  }
  g_autofree char *dir = test_tmp_dir ("drmad-compare-loading", NULL);
  char *folders[3] = { NULL };
  make_slow_runs (dir, folders);
  g_setenv ("DRMAD_CHECKPOINT_CHUNK", "1", TRUE);
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1024, 600);
  iterate_for (0.5);   /* drawn: GTK's first frame (its shaders compiled) is no part of the load */

  tick_last_us = g_get_monotonic_time ();
  tick_gap_us = 0;
  tick_turns = 0;
  guint ticker = g_timeout_add (10, tick_gap, NULL);
  gint64 start = g_get_monotonic_time ();
  GtkWidget *compare = drmad_window_compare_runs (window, (const char *const *) folders);
  double returned = (g_get_monotonic_time () - start) / 1e6;
  g_assert_nonnull (compare);
  g_assert_true (drmad_window_is_comparing (window));
  g_assert_true (GTK_IS_BOX (gtk_window_get_child (GTK_WINDOW (compare))));
  g_assert_cmpfloat (wait_until (window, comparing_done, 120), >=, 0);
  double loaded = (g_get_monotonic_time () - start) / 1e6;
  tick_gap (NULL);   /* and the wait since the last turn */
  g_source_remove (ticker);
  g_test_message ("returned after %.3f s, loaded after %.3f s, the main loop turned %u times and waited at most "
                  "%.3f s", returned, loaded, tick_turns, tick_gap_us / 1e6);
  g_assert_null (drmad_window_get_error (window));
  g_assert_cmpfloat (loaded, >=, 0.5);   /* else the hook made nothing slow, and this shows nothing */
  g_assert_cmpfloat (returned, <, loaded / 2);
  /* turns of a 10 ms timer, not the longest wait between two: that one
   * holds a fixed cost (the comparison window's first frame) that a fast
   * machine's load need not outlast, while a loop frozen for the load
   * turns once or twice in all (a 0.5 s load gives room for 50) */
  g_assert_cmpuint (tick_turns, >=, 10);
  /* loaded: the three plots, one series per run */
  GtkWidget *box = gtk_window_get_child (GTK_WINDOW (compare));
  guint views = 0;
  for (GtkWidget *child = gtk_widget_get_first_child (box); child; child = gtk_widget_get_next_sibling (child)) {
    g_assert_true (DRMAD_IS_PLOT_VIEW (child));
    g_assert_cmpuint (drmad_plot_view_get_plot (DRMAD_PLOT_VIEW (child))->series->len, ==, 2);
    views++;
  }
  g_assert_cmpuint (views, ==, 3);
  gtk_window_destroy (GTK_WINDOW (compare));

  /* closed while loading, as by its window manager's close button: the
   * load is cancelled, and nothing more comes of it */
  compare = drmad_window_compare_runs (window, (const char *const *) folders);
  g_autoptr (GCancellable) load = g_object_ref (window->compare_cancellable);
  gtk_window_close (GTK_WINDOW (compare));
  g_assert_true (g_cancellable_is_cancelled (load));
  g_assert_cmpfloat (wait_until (window, comparing_done, 120), >=, 0);
  iterate_for (0.2);
  g_assert_cmpuint (count_comparisons (window), ==, 0);
  g_assert_null (drmad_window_get_error (window));

  /* a second Compare: the first's load and window give way */
  g_autoptr (GtkWidget) first = g_object_ref (drmad_window_compare_runs (window, (const char *const *) folders));
  const char *alone[] = { folders[1], NULL };
  GtkWidget *second = drmad_window_compare_runs (window, alone);
  g_assert_cmpfloat (wait_until (window, comparing_done, 120), >=, 0);
  iterate_for (0.2);
  g_assert_false (gtk_widget_get_visible (first));   /* destroyed */
  g_assert_cmpuint (count_comparisons (window), ==, 1);
  GtkWidget *view = gtk_widget_get_first_child (gtk_window_get_child (GTK_WINDOW (second)));
  g_assert_true (DRMAD_IS_PLOT_VIEW (view));
  g_assert_cmpuint (drmad_plot_view_get_plot (DRMAD_PLOT_VIEW (view))->series->len, ==, 1);
  gtk_window_destroy (GTK_WINDOW (second));

  /* an error: in the banner, as before, and no comparison window */
  const char *bad[] = { folders[0], dir, NULL };
  drmad_window_compare_runs (window, bad);
  g_assert_cmpfloat (wait_until (window, comparing_done, 120), >=, 0);
  iterate_for (0.2);
  g_assert_nonnull (drmad_window_get_error (window));
  g_assert_nonnull (strstr (drmad_window_get_error (window), dir));
  g_assert_cmpuint (count_comparisons (window), ==, 0);

  /* the window closed while its comparison loads: the load is cancelled,
   * the comparison's window destroyed, and both windows go away in the
   * main thread once the load's thread has ended (the task's last
   * reference may be dropped in that thread: it holds neither) */
  Gone window_gone = { 0 }, compare_gone = { 0 };
  compare = drmad_window_compare_runs (window, (const char *const *) folders);
  g_object_weak_ref (G_OBJECT (compare), note_gone, &compare_gone);
  g_object_weak_ref (G_OBJECT (window), note_gone, &window_gone);
  close_window (window);
  gint64 give_up = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;
  while (!(window_gone.finalized && compare_gone.finalized) && g_get_monotonic_time () < give_up)
    iterate_for (0.05);
  g_assert_true (compare_gone.finalized);
  g_assert_true (window_gone.finalized);
  g_assert_true (compare_gone.thread == g_thread_self ());
  g_assert_true (window_gone.thread == g_thread_self ());
  /* the load's thread, which reads the variable, has ended: the window's last reference was its task's */
  g_unsetenv ("DRMAD_CHECKPOINT_CHUNK");
  g_free (folders[0]);
  g_free (folders[1]);
  remove_tree (dir);
}

/* The last field of history.csv's line starting with @label (final-initial,
 * final-learned), the test error it records, as the status line writes it. */
static char *
history_test_error (const char *folder, const char *label)
{
  g_autofree char *path = g_build_filename (folder, "history.csv", NULL), *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_autofree char *prefix = g_strconcat ("\n", label, ",", NULL);
  const char *line = strstr (text, prefix);
  g_assert_nonnull (line);
  g_autofree char *row = g_strndup (line + 1, strcspn (line + 1, "\n"));
  return g_strdup_printf ("%.2f %%", 100 * g_ascii_strtod (strrchr (row, ',') + 1, NULL));
}

/* A full disk when the final evaluation is written (DRMAD_INJECT_FAULT
 * nospace:N, the run's last write): the numbers were measured, and drmad
 * --no-gui prints them, but the window said only "Failed after …" beside
 * an error about numbers "measured (above)" that it showed nowhere. Its
 * status line now gives them: the same as an identical run without the
 * fault records in its history.csv. In a subprocess, whose environment the
 * hook's variable may change. */
static void
test_final_unrecorded (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
  if (!g_test_subprocess ()) {
    if (!have_display_data_and_device ())
      return;
    g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
    g_test_trap_assert_passed ();
    return;
  }
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1440, 900);
  const char *tiny[] = { "layers=784,16,10", "iters=30", "train-size=300", "val-size=200",
                         "meta-iters=1", "method=drmad", "batch=50", "learn=l2,lr", "segments=2" };
  for (guint i = 0; i < G_N_ELEMENTS (tiny); i++)
    set_option (G_APPLICATION (app), tiny[i]);
  /* The reference: the same run, recorded. Writes: settings.ini (saved as
   * the run starts, through the library's writer too), run.ini, the
   * meta-iteration's history.csv, hyper.csv, checkpoint.bin and three
   * plots, then the final history.csv, the 9th. */
  activate (window, "start");
  g_assert_cmpfloat (wait_until (window, idle, 120), >=, 0);
  g_test_message ("reference: %s", drmad_window_get_status (window));
  g_assert_true (g_str_has_prefix (drmad_window_get_status (window), "Finished in "));
  g_autofree char *reference = g_strdup (drmad_window_get_run_folder (window));
  g_autofree char *initial = history_test_error (reference, "final-initial");
  g_autofree char *learned = history_test_error (reference, "final-learned");
  g_setenv ("DRMAD_INJECT_FAULT", "nospace:9", TRUE);   /* counted from here: this run's 9th write */
  activate (window, "start");
  g_assert_cmpfloat (wait_until (window, idle, 120), >=, 0);
  g_unsetenv ("DRMAD_INJECT_FAULT");
  const char *status = drmad_window_get_status (window);
  g_test_message ("status: %s; error: %s", status, drmad_window_get_error (window));
  g_assert_nonnull (drmad_window_get_error (window));
  g_assert_nonnull (strstr (drmad_window_get_error (window), "No space left on device"));
  g_assert_nonnull (strstr (drmad_window_get_error (window), "not recorded"));
  g_autofree char *numbers = g_strdup_printf ("test error %s with the initial values, %s with the learned ones",
                                              initial, learned);
  g_assert_nonnull (strstr (status, "measured but not recorded"));
  g_assert_nonnull (strstr (status, numbers));
  close_window (window);
}

/* A rejected meta-iteration whose training diverged has NaN losses: the
 * summary showed "validation loss nan (first 2.1035)", "validation error
 * nan %" and "train loss nan". */
static void
test_summary_not_finite (void)
{
  SKIP_WITHOUT_DISPLAY ();
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1440, 900);
  GArray *rows = g_array_new (FALSE, FALSE, sizeof (DrmadJobRow));
  const DrmadJobRow first = { 1, FALSE, 2.0084, 2.1035, 0.6, 0.03 }, diverged = { 2, TRUE, NAN, NAN, NAN, 0.01 };
  g_array_append_val (rows, first);
  g_array_append_val (rows, diverged);
  drmad_window_set_rows (window, rows);
  drmad_window_update_summary (window);
  const char *text = gtk_label_get_text (window->summary_label);
  g_test_message ("%s", text);
  g_assert_nonnull (strstr (text, "Meta-iteration 2"));
  g_assert_nonnull (strstr (text, "(first 2.1035)"));
  g_autofree char *lower = g_ascii_strdown (text, -1);
  g_assert_null (strstr (lower, "nan"));
  g_assert_nonnull (strstr (text, "validation loss — (first"));
  g_assert_nonnull (strstr (text, "validation error —"));
  g_assert_nonnull (strstr (text, "train loss —"));
  close_window (window);
}

/* The window as a user launches it, with settings.ini in the test's
 * isolated folders: the compare hook with no such run makes it quit at
 * once, saving its settings on the way out. Returns its stderr. */
static char *
launch_and_quit (const char *config_home)
{
  const char *argv[] = { g_getenv ("DRMAD_BIN"), NULL };
  g_auto (GStrv) envp = g_get_environ ();
  envp = g_environ_setenv (envp, "DRMAD_SCREENSHOT_COMPARE", "/nonexistent/compare.png", TRUE);
  envp = g_environ_setenv (envp, "DRMAD_COMPARE", "/nonexistent", TRUE);
  envp = g_environ_setenv (envp, "HOME", g_get_home_dir (), TRUE);
  envp = g_environ_setenv (envp, "XDG_DATA_HOME", g_get_user_data_dir (), TRUE);
  envp = g_environ_setenv (envp, "XDG_CONFIG_HOME", config_home ? config_home : g_get_user_config_dir (), TRUE);
  envp = g_environ_setenv (envp, "XDG_CACHE_HOME", g_get_user_cache_dir (), TRUE);
  g_autoptr (GError) error = NULL;
  char *err = NULL;
  int status;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, envp, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err,
                               &status, &error));
  g_assert_no_error (error);
  g_test_message ("drmad: %s", err);
  return err;
}

/* The banner of a window opened in this process on the saved settings. */
static char *
startup_banner (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);
  g_application_activate (G_APPLICATION (app));
  DrmadWindow *window = DRMAD_WINDOW (gtk_application_get_windows (GTK_APPLICATION (app))->data);
  char *banner = g_strdup (drmad_window_get_error (window));
  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  return banner;
}

/* A bad value in a settings file is said in the words --config uses
 * ("in PATH: --KEY VALUE: expected …", drmad-options.c) on the window's
 * paths too: settings.ini at start, Open run, Compare runs. */
static void
test_settings_file_bad_values (void)
{
  SKIP_WITHOUT_DISPLAY ();
  static const struct { const char *ini, *said; } bad[] = {
    { "[drmad]\niters=abc\n", "--iters abc: expected a whole number" },
    { "[drmad]\nclip=-1\n", "--clip -1: expected a finite number from 0" },
    { "[drmad]\nactivation=sigmoid\n", "--activation: unknown activation \"sigmoid\"" },
  };
  g_autofree char *path = drmad_settings_get_default_path ();
  g_autofree char *config_folder = g_path_get_dirname (path);
  g_assert_cmpint (g_mkdir_with_parents (config_folder, 0700), ==, 0);
  g_autofree char *dir = test_tmp_dir ("drmad-bad-values", NULL);
  g_autofree char *run = g_build_filename (dir, "run", NULL);
  g_autofree char *ini = g_build_filename (run, "run.ini", NULL);
  g_assert_cmpint (g_mkdir (run, 0700), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    /* settings.ini: loaded all the same, and the banner names the file */
    g_assert_true (g_file_set_contents (path, bad[i].ini, -1, NULL));
    g_autofree char *banner = startup_banner ();
    g_autofree char *in_settings = g_strdup_printf ("in %s: %s", path, bad[i].said);
    g_test_message ("banner: %s", banner);
    g_assert_nonnull (banner);
    g_assert_nonnull (strstr (banner, in_settings));
    g_assert_true (g_remove (path) == 0);

    /* a run folder's run.ini, through Open run and Compare runs */
    g_assert_true (g_file_set_contents (ini, bad[i].ini, -1, NULL));
    g_autofree char *in_run = g_strdup_printf ("in %s: %s", ini, bad[i].said);
    g_autoptr (GError) error = NULL;
    g_autoptr (DrmadApplication) app = drmad_application_new ();
    g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
    g_application_activate (G_APPLICATION (app));
    DrmadWindow *window = DRMAD_WINDOW (gtk_application_get_windows (GTK_APPLICATION (app))->data);
    g_assert_null (drmad_window_get_error (window));
    drmad_window_open_run (window, run);
    g_assert_cmpfloat (wait_until (window, idle, 10), >=, 0);
    g_test_message ("open run: %s", drmad_window_get_error (window));
    g_assert_nonnull (drmad_window_get_error (window));
    g_assert_nonnull (strstr (drmad_window_get_error (window), in_run));
    gtk_window_destroy (GTK_WINDOW (window));
    while (g_main_context_iteration (NULL, FALSE))
      ;
    const char *folders[] = { run, run, NULL };
    DrmadPlot *val = NULL, *l2 = NULL, *lr = NULL;
    g_assert_false (drmad_compare_runs (folders, &val, &l2, &lr, &error));
    g_test_message ("compare: %s", error->message);
    g_assert_nonnull (strstr (error->message, in_run));
  }
  remove_tree (dir);
}

/* settings.ini's bad value replaced on the command line (drmad iters=5
 * over a settings.ini with iters=abc) is no longer the window's: the banner
 * does not blame the file for it, as --config does not; a value the file
 * and the command line refuse together (segments past the file's iters) is
 * still said, as --config says it (drmad-options.c, convert). */
static void
test_settings_file_bad_value_replaced (void)
{
  SKIP_WITHOUT_DISPLAY ();
  g_autofree char *path = drmad_settings_get_default_path ();
  g_autofree char *config_folder = g_path_get_dirname (path);
  g_assert_cmpint (g_mkdir_with_parents (config_folder, 0700), ==, 0);
  static const struct { const char *ini, *key, *typed, *said; } cases[] = {
    { "[drmad]\niters=abc\n", "iters", "5", NULL },
    { "[drmad]\niters=4\nsegments=8\n", "iters", "100", NULL },
    { "[drmad]\niters=4\n", "segments", "8",
      "--segments 8: expected at most as many segments as training steps (--iters 4)" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_assert_true (g_file_set_contents (path, cases[i].ini, -1, NULL));
    g_autoptr (GHashTable) typed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
    g_hash_table_insert (typed, g_strdup (cases[i].key), g_strdup (cases[i].typed));
    g_autoptr (GError) error = NULL;
    g_autoptr (DrmadApplication) app = drmad_application_new ();
    drmad_application_set_command_line (app, typed, NULL);
    g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
    g_assert_no_error (error);
    g_application_activate (G_APPLICATION (app));
    DrmadWindow *window = DRMAD_WINDOW (gtk_application_get_windows (GTK_APPLICATION (app))->data);
    const char *banner = drmad_window_get_error (window);
    g_test_message ("%s, %s=%s: banner: %s", cases[i].ini, cases[i].key, cases[i].typed, banner);
    if (cases[i].said) {
      g_autofree char *in_settings = g_strdup_printf ("in %s: %s", path, cases[i].said);
      g_assert_nonnull (banner);
      g_assert_nonnull (strstr (banner, in_settings));
    } else {
      g_assert_null (banner);
    }
    gtk_window_destroy (GTK_WINDOW (window));
    while (g_main_context_iteration (NULL, FALSE))
      ;
    g_assert_true (g_remove (path) == 0 || errno == ENOENT);
  }
}

/* settings.ini as a user may leave it: a file the window cannot read is
 * kept (it was replaced by the defaults as the window quit), a second one
 * beside the first copy, a newer version's keys survive the window's
 * save, a link to a dotfiles folder stays a link, a file that can be
 * neither read nor kept is not replaced, and a config folder that cannot
 * be made says that the settings were not saved. */
static void
test_settings_file (void)
{
  SKIP_WITHOUT_DISPLAY ();
  g_autoptr (GError) error = NULL;
  g_autofree char *path = drmad_settings_get_default_path ();
  g_autofree char *folder = g_path_get_dirname (path);
  g_autofree char *aside = g_strconcat (path, ".damaged", NULL);
  g_assert_cmpint (g_mkdir_with_parents (folder, 0700), ==, 0);

  const char *damaged = "[drmad]\nlayers=784,50,10\niters=77\niters=78\n";
  g_assert_true (g_file_set_contents (path, damaged, -1, NULL));
  g_autofree char *banner = startup_banner ();
  g_test_message ("banner: %s", banner);
  g_assert_nonnull (banner);
  g_assert_nonnull (strstr (banner, "set twice"));
  g_assert_nonnull (strstr (banner, aside));
  g_free (launch_and_quit (NULL));
  g_autofree char *kept = NULL, *saved = NULL;
  g_assert_true (g_file_get_contents (aside, &kept, NULL, NULL));
  g_assert_cmpstr (kept, ==, damaged);
  g_assert_true (g_file_get_contents (path, &saved, NULL, NULL));
  g_autoptr (GHashTable) values = drmad_options_read_ini (saved, -1, path, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_hash_table_lookup (values, "iters"), ==, "500");   /* the defaults it started from */

  /* a newer version's key and group: named in the banner, and kept */
  const char *newer = "[drmad]\nlayers=784,50,10\nfuture-knob=7\n\n[future]\nx=1\n";
  g_assert_true (g_file_set_contents (path, newer, -1, NULL));
  g_free (banner);
  banner = startup_banner ();
  g_test_message ("banner: %s", banner);
  g_assert_nonnull (banner);
  g_assert_nonnull (strstr (banner, "\"future-knob\""));
  g_free (launch_and_quit (NULL));
  g_autoptr (GKeyFile) file = g_key_file_new ();
  g_assert_true (g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, &error));
  g_autofree char *knob = g_key_file_get_string (file, "drmad", "future-knob", NULL);
  g_autofree char *x = g_key_file_get_string (file, "future", "x", NULL);
  g_autofree char *layers = g_key_file_get_string (file, "drmad", "layers", NULL);
  g_assert_cmpstr (knob, ==, "7");
  g_assert_cmpstr (x, ==, "1");
  g_assert_cmpstr (layers, ==, "784,50,10");

  /* a second damaged file is kept beside the first copy, not over it */
  const char *damaged_again = "[drmad]\niters=5\niters=6\n";
  g_assert_true (g_file_set_contents (path, damaged_again, -1, NULL));
  g_free (banner);
  banner = startup_banner ();
  g_test_message ("banner: %s", banner);
  g_autofree char *numbered = g_strconcat (path, ".damaged-", NULL);
  const char *named = strstr (banner, numbered);   /* -2, or -3 where the launch above kept one too */
  g_assert_nonnull (named);
  g_autofree char *aside_n = g_strdup (named);
  g_free (g_steal_pointer (&kept));
  g_assert_true (g_file_get_contents (aside, &kept, NULL, NULL));
  g_assert_cmpstr (kept, ==, damaged);
  g_free (g_steal_pointer (&kept));
  g_assert_true (g_file_get_contents (aside_n, &kept, NULL, NULL));
  g_assert_cmpstr (kept, ==, damaged_again);
  for (guint n = 2; n < 5; n++) {
    g_autofree char *copy = g_strdup_printf ("%s.damaged-%u", path, n);
    g_unlink (copy);
  }

  /* settings.ini linked from a dotfiles folder: saved through the link,
   * which stays (it was replaced by a file of its own) */
  g_autofree char *dotfiles = g_build_filename (folder, "dotfiles", NULL);
  g_autofree char *real = g_build_filename (dotfiles, "drmad.ini", NULL);
  g_assert_cmpint (g_mkdir_with_parents (dotfiles, 0700), ==, 0);
  g_assert_true (g_file_set_contents (real, "[drmad]\nlayers=784,30,10\n", -1, NULL));
  g_unlink (path);
  g_assert_cmpint (symlink ("dotfiles/drmad.ini", path), ==, 0);
  g_free (launch_and_quit (NULL));
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_SYMLINK));
  g_free (g_steal_pointer (&saved));
  g_assert_true (g_file_get_contents (real, &saved, NULL, NULL));
  g_autoptr (GHashTable) linked = drmad_options_read_ini (saved, -1, real, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_hash_table_lookup (linked, "layers"), ==, "784,30,10");
  g_assert_cmpstr (g_hash_table_lookup (linked, "iters"), ==, "500");   /* written by the window */
  g_unlink (path);
  g_unlink (real);
  g_rmdir (dotfiles);

  /* a file the window can neither read nor copy aside is left as it is
   * (it was replaced by the defaults at quit); root reads it all the same */
  if (geteuid () != 0) {
    const char *unreadable = "[drmad]\nlayers=784,40,10\n";
    g_assert_true (g_file_set_contents (path, unreadable, -1, NULL));
    g_assert_cmpint (g_chmod (path, 0), ==, 0);
    g_free (banner);
    banner = startup_banner ();
    g_assert_nonnull (strstr (banner, "will not save its settings over that file"));
    g_autofree char *quit_err = launch_and_quit (NULL);
    g_assert_nonnull (strstr (quit_err, "could be neither read nor copied aside"));
    g_assert_cmpint (g_chmod (path, 0600), ==, 0);
    g_free (g_steal_pointer (&saved));
    g_assert_true (g_file_get_contents (path, &saved, NULL, NULL));
    g_assert_cmpstr (saved, ==, unreadable);
    g_unlink (aside);
  }

  /* a config folder under a file: the window says what it could not do */
  g_autofree char *blocker = g_build_filename (folder, "not-a-folder", NULL);
  g_assert_true (g_file_set_contents (blocker, "", 0, NULL));
  g_autofree char *under = g_build_filename (blocker, "config", NULL);
  g_autofree char *err = launch_and_quit (under);
  g_assert_nonnull (strstr (err, "the settings were not saved"));
  g_assert_nonnull (strstr (err, under));

  g_unlink (blocker);
  g_unlink (aside);
  g_unlink (path);
}

/* settings.ini that is a FIFO (or another file that is no regular one):
 * opening it to read blocked until a writer came, and the window never
 * came up. It now starts from the defaults, says why in the banner, and
 * leaves the FIFO as it was, quitting included. In a subprocess with a
 * time limit: the blocked open() hung the test. */
static void
test_settings_fifo (void)
{
  SKIP_WITHOUT_DISPLAY ();
  if (!g_test_subprocess ()) {
    g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
    g_test_trap_assert_passed ();
    return;
  }
  g_autofree char *path = drmad_settings_get_default_path ();
  g_autofree char *folder = g_path_get_dirname (path);
  g_assert_cmpint (g_mkdir_with_parents (folder, 0700), ==, 0);
  g_unlink (path);
  g_assert_cmpint (mkfifo (path, 0600), ==, 0);
  GStatBuf before, after;
  g_assert_cmpint (g_lstat (path, &before), ==, 0);

  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);
  g_application_activate (G_APPLICATION (app));
  DrmadWindow *window = DRMAD_WINDOW (gtk_application_get_windows (GTK_APPLICATION (app))->data);
  const char *banner = drmad_window_get_error (window);
  g_test_message ("banner: %s", banner);
  g_assert_nonnull (banner);
  g_assert_nonnull (strstr (banner, "a FIFO, not a regular file"));
  g_assert_nonnull (strstr (banner, "will not save its settings over that file"));
  /* every setting is its default (drmad-options.c's table) */
  g_autoptr (DrmadSettings) settings = NULL;
  g_object_get (window, "settings", &settings, NULL);
  guint n;
  const DrmadOptionSpec *specs = drmad_options_get_specs (&n);
  for (guint i = 0; i < n; i++)
    if (specs[i].in_ini)
      g_assert_cmpstr (drmad_settings_get (settings, specs[i].name), ==, specs[i].default_value);
  g_assert_false (drmad_settings_save (settings, path, &error));
  g_assert_nonnull (strstr (error->message, "could be neither read nor copied aside"));
  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  /* the program as a user launches it, quitting (and saving) on its own */
  g_autofree char *err = launch_and_quit (NULL);
  g_assert_nonnull (strstr (err, "could be neither read nor copied aside"));
  g_assert_cmpint (g_lstat (path, &after), ==, 0);
  g_assert_true (S_ISFIFO (after.st_mode));
  g_assert_cmpuint (after.st_ino, ==, before.st_ino);
  g_autofree char *aside = g_strconcat (path, ".damaged", NULL);
  g_assert_false (g_file_test (aside, G_FILE_TEST_EXISTS));
  g_unlink (path);
}

/* A plot's Save as PNG / SVG: the file has the view's size; a folder that
 * cannot take it gets a dialog naming the file and why (it was only a
 * warning on the terminal), and nothing is written. */
static void
test_plot_save (void)
{
  SKIP_WITHOUT_DISPLAY ();
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1024, 600);
  DrmadPlotView *view = drmad_window_get_plot_view (window, 0);
  g_autofree char *png = g_build_filename (g_get_user_data_dir (), "l2.png", NULL);
  g_assert_cmpint (g_mkdir_with_parents (g_get_user_data_dir (), 0755), ==, 0);
  g_assert_null (drmad_plot_view_save_to (view, png, FALSE));
  g_autoptr (GError) error = NULL;
  g_autoptr (GdkTexture) texture = gdk_texture_new_from_filename (png, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_texture_get_width (texture), ==, MAX (gtk_widget_get_width (GTK_WIDGET (view)), 400));
  g_assert_cmpint (gdk_texture_get_height (texture), ==, MAX (gtk_widget_get_height (GTK_WIDGET (view)), 250));
  const char *blocked[] = { "/nonexistent/l2.png", "/nonexistent/l2.svg" };
  for (guint i = 0; i < G_N_ELEMENTS (blocked); i++) {
    GtkWidget *dialog = drmad_plot_view_save_to (view, blocked[i], i == 1);
    g_assert_nonnull (dialog);
    g_autofree char *secondary = NULL;
    g_object_get (dialog, "secondary-text", &secondary, NULL);
    g_test_message ("%s", secondary);
    g_assert_nonnull (strstr (secondary, blocked[i]));
    g_assert_true (gtk_window_get_transient_for (GTK_WINDOW (dialog)) == GTK_WINDOW (window));
    g_assert_false (g_file_test (blocked[i], G_FILE_TEST_EXISTS));
    gtk_window_destroy (GTK_WINDOW (dialog));
  }
  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* A tiny run folder made by drmad --no-gui (as test_compare's), with @seed. */
static void
make_tiny_run (const char *folder, const char *seed, const char *layers)
{
  const char *argv[] = { g_getenv ("DRMAD_BIN"), "--no-gui", "--layers", layers, "--iters", "30", "--train-size",
                         "300", "--val-size", "200", "--test-size", "50", "--batch", "50", "--meta-iters", "2",
                         "--seed", seed, "--out", folder, NULL };
  int status;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                               NULL, NULL, NULL, NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

/* Every file in @folder (none a temporary one) is the run folder's file of
 * that name, byte for byte; returns how many there are. */
static guint
assert_exported_whole (const char *run, const char *folder)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  g_assert_nonnull (dir);
  guint n = 0;
  for (const char *name; (name = g_dir_read_name (dir)); n++) {
    g_assert_false (g_str_has_prefix (name, "."));
    g_autofree char *ours = g_build_filename (folder, name, NULL), *theirs = g_build_filename (run, name, NULL);
    g_autofree char *a = NULL, *b = NULL;
    gsize la, lb;
    g_assert_true (g_file_get_contents (ours, &a, &la, NULL));
    g_assert_true (g_file_get_contents (theirs, &b, &lb, NULL));
    g_test_message ("%s: %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " bytes", name, la, lb);
    g_assert_cmpmem (a, la, b, lb);
  }
  return n;
}

static int
sort_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The status line of an export into @folder names the files @folder holds
 * (listed here from the folder), and no other. */
static void
assert_status_lists (DrmadWindow *window, const char *folder)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  g_assert_nonnull (dir);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  for (const char *name; (name = g_dir_read_name (dir));)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, sort_strings);
  g_ptr_array_add (names, NULL);
  g_autofree char *joined = g_strjoinv (", ", (char **) names->pdata);
  g_autofree char *expected = g_strdup_printf ("Exported %u files (%s) to %s", names->len - 1, joined, folder);
  g_assert_cmpstr (drmad_window_get_status (window), ==, expected);
}

/* Export as a user meets it: a file too big to write (here a file-size
 * limit, as a full disk) leaves no half file under its name, and the
 * message says how far it got; a folder that cannot be made says why; the
 * run folder itself is refused; a good folder gets every file whole. */
static void
test_export (void)
{
  if (!have_display_data_and_device ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-export", NULL);
  g_autofree char *run = g_build_filename (dir, "run", NULL);
  make_tiny_run (run, "1", "784,16,10");
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1024, 600);
  drmad_window_open_run (window, run);
  g_assert_cmpfloat (wait_until (window, idle, 30), >=, 0);
  g_assert_cmpstr (drmad_window_get_run_folder (window), ==, run);

  /* the plots are some 20 to 30 kB, the rest smaller */
  g_autofree char *limited = g_build_filename (dir, "limited", NULL);
  struct rlimit old_limit, limit;
  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &old_limit), ==, 0);
  limit = old_limit;
  limit.rlim_cur = 10000;
  void (*old_handler) (int) = signal (SIGXFSZ, SIG_IGN);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);
  drmad_window_export_to (window, limited);
  g_assert_cmpfloat (wait_until (window, idle, 30), >=, 0);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &old_limit), ==, 0);
  signal (SIGXFSZ, old_handler);
  g_test_message ("%s", drmad_window_get_error (window));
  g_assert_nonnull (drmad_window_get_error (window));
  g_assert_nonnull (strstr (drmad_window_get_error (window), "files were exported before it"));
  g_assert_cmpuint (assert_exported_whole (run, limited), <, 7);

  g_autofree char *blocker = g_build_filename (dir, "a-file", NULL);
  g_assert_true (g_file_set_contents (blocker, "", 0, NULL));
  g_autofree char *under = g_build_filename (blocker, "export", NULL);
  drmad_window_export_to (window, under);
  g_assert_cmpfloat (wait_until (window, idle, 30), >=, 0);
  g_assert_nonnull (strstr (drmad_window_get_error (window), under));
  g_assert_nonnull (strstr (drmad_window_get_error (window), g_strerror (ENOTDIR)));

  g_autofree char *history_before = NULL, *history_after = NULL;
  g_autofree char *history = g_build_filename (run, "history.csv", NULL);
  g_assert_true (g_file_get_contents (history, &history_before, NULL, NULL));
  g_autofree char *same = g_build_filename (dir, "run", ".", NULL);
  drmad_window_export_to (window, same);
  g_assert_cmpfloat (wait_until (window, idle, 30), >=, 0);
  g_assert_nonnull (strstr (drmad_window_get_error (window), "the run folder itself"));
  g_assert_true (g_file_get_contents (history, &history_after, NULL, NULL));
  g_assert_cmpstr (history_after, ==, history_before);

  g_autofree char *good = g_build_filename (dir, "good", NULL);
  drmad_window_export_to (window, good);
  g_assert_cmpfloat (wait_until (window, idle, 30), >=, 0);
  g_assert_true (g_str_has_prefix (drmad_window_get_status (window), "Exported 7 files"));
  g_assert_cmpuint (assert_exported_whole (run, good), ==, 7);
  assert_status_lists (window, good);

  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  remove_tree (dir);
}

#ifdef __linux__
/* The IN_OPEN events of the file @name that inotify @watch has queued. */
static guint
count_opens (int watch, const char *name)
{
  guint opens = 0;
  char buffer[4096] __attribute__ ((aligned (__alignof__ (struct inotify_event))));
  for (ssize_t got; (got = read (watch, buffer, sizeof buffer)) > 0;)
    for (char *p = buffer; p < buffer + got;) {
      const struct inotify_event *event = (const struct inotify_event *) p;
      opens += (event->mask & IN_OPEN) && event->len && g_str_equal (event->name, name);
      p += sizeof *event + event->len;
    }
  return opens;
}
#endif

/* Copies @name from folder @from into folder @to, replacing it whole with
 * the library's writer, as a run replaces its files. */
static void
replace_from (const char *from, const char *to, const char *name)
{
  g_autofree char *source = g_build_filename (from, name, NULL), *target = g_build_filename (to, name, NULL);
  g_autofree char *contents = NULL;
  gsize length;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_get_contents (source, &contents, &length, NULL));
  g_assert_true (drmad_write_file_atomic (target, contents, length, &error));
  g_assert_no_error (error);
}

/* The iteration of history.csv's last meta-iteration row. */
static guint
history_last_iteration (const char *folder)
{
  g_autofree char *path = g_build_filename (folder, "history.csv", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  guint last = 0;
  for (const char *line = text; line; line = strchr (line, '\n') ? strchr (line, '\n') + 1 : NULL)
    if (g_ascii_isdigit (*line))
      last = g_ascii_strtoull (line, NULL, 10);
  return last;
}

/* Export while a run records a meta-iteration into the folder, played here
 * by the test: the folder holds a run of 2 meta-iterations, its lock held
 * as a writer holds it, and the record of a run of 3 has written run.ini,
 * history.csv and hyper.csv; its checkpoint.bin and plots come half a
 * second later. The export took history.csv and hyper.csv of 3 beside the
 * checkpoint and plots of 2; it now waits for the record's end and holds
 * the files of that run of 3, each byte for byte, the plots too (drawn
 * from the checkpoint it exported, as the run drew its own). */
static void
test_export_recording (void)
{
  if (!have_display_data_and_device ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-export-recording", NULL);
  g_autofree char *run = g_build_filename (dir, "run", NULL);
  g_autofree char *longer = g_build_filename (dir, "longer", NULL);
  make_tiny_run (run, "1", "784,16,10");
  const char *argv[] = { g_getenv ("DRMAD_BIN"), "--no-gui", "--layers", "784,16,10", "--iters", "30",
                         "--train-size", "300", "--val-size", "200", "--test-size", "50", "--batch", "50",
                         "--meta-iters", "3", "--seed", "1", "--out", longer, NULL };
  int status;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                               NULL, NULL, NULL, NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1024, 600);
  drmad_window_open_run (window, run);
  g_assert_cmpfloat (wait_until (window, idle, 30), >=, 0);
  g_assert_cmpstr (drmad_window_get_run_folder (window), ==, run);

  g_autofree char *lock_path = g_build_filename (run, ".drmad-lock", NULL);
  int lock_fd = g_open (lock_path, O_RDWR, 0);
  g_assert_cmpint (lock_fd, >=, 0);
  g_assert_cmpint (hold_run_lock (lock_fd), ==, 0);
  const char *first[] = { "run.ini", "history.csv", "hyper.csv" };
  for (guint i = 0; i < G_N_ELEMENTS (first); i++)
    replace_from (longer, run, first[i]);
  g_autofree char *exported = g_build_filename (dir, "exported", NULL);
  drmad_window_export_to (window, exported);
  iterate_for (0.5);
  g_assert_true (drmad_window_is_busy (window));   /* waiting for the record's end */
  const char *then[] = { "checkpoint.bin", "l2.png", "lr.png", "loss.png" };
  for (guint i = 0; i < G_N_ELEMENTS (then); i++)
    replace_from (longer, run, then[i]);
  g_assert_cmpfloat (wait_until (window, idle, 60), >=, 0);
  g_assert_cmpint (close (lock_fd), ==, 0);
  g_test_message ("%s", drmad_window_get_status (window));
  g_assert_null (drmad_window_get_error (window));
  g_assert_true (g_str_has_prefix (drmad_window_get_status (window), "Exported 7 files"));
  g_assert_cmpuint (history_last_iteration (exported), ==, 3);
  g_assert_cmpuint (assert_exported_whole (longer, exported), ==, 7);

  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  remove_tree (dir);
}

/* @text (history.csv) up to and including its @rows-th meta-iteration row
 * (rows start with their iteration), or hyper.csv's (@hyper) rows of
 * iteration @rows and before: what an export of a checkpoint of @rows
 * meta-iterations holds, computed line by line here. */
static char *
rows_up_to (const char *text, guint rows, gboolean hyper)
{
  GString *kept = g_string_new (NULL);
  guint seen = 0;
  for (const char *line = text; line && *line;) {
    const char *next = strchr (line, '\n');
    next = next ? next + 1 : line + strlen (line);
    gboolean row = g_ascii_isdigit (*line);
    if (row && (hyper ? g_ascii_strtoull (line, NULL, 10) > rows : ++seen > rows))
      break;
    g_string_append_len (kept, line, next - line);
    line = next;
  }
  return g_string_free (kept, FALSE);
}

static void
assert_file_is (const char *folder, const char *name, const char *expected, gsize length)
{
  g_autofree char *path = g_build_filename (folder, name, NULL), *text = NULL;
  gsize got;
  g_assert_true (g_file_get_contents (path, &text, &got, NULL));
  g_assert_cmpmem (text, got, expected, length);
}

/* Export of a folder whose history.csv and hyper.csv stay one meta-iteration
 * ahead of its checkpoint: a run killed (or out of space) between hyper.csv
 * and checkpoint.bin leaves it so, and a resumed run holds the lock a whole
 * meta-iteration before it writes them again. Each reading looked like a
 * record in progress: the export waited 30 s, then failed ("each reading of
 * it fell within the recording of a meta-iteration"). Now, locked or not,
 * the export holds the checkpoint's 2 meta-iterations: those rows of
 * history.csv and hyper.csv (as computed here from the files of the run of
 * 3), the checkpoint and the plots of 2. The header alone tells the
 * checkpoint's count: with no memory to decode it (the fault hook), the
 * export still holds the rows of 2. Then a consistent folder whose plots are
 * older than its checkpoint, locked, where the checkpoint cannot be decoded
 * (the same hook; before, "too big to read here" failed the export): the
 * run's own plots. The status says that rows were left out, and which
 * (it said only "Exported 7 files"), and says nothing of it where none
 * were. Last, a piece of a row after hyper.csv's last newline (a run killed
 * while appending its rows) is left out as such a row is, and said. */
static void
test_export_ahead (void)
{
  if (!have_display_data_and_device ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-export-ahead", NULL);
  g_autofree char *run = g_build_filename (dir, "run", NULL);
  make_tiny_run (run, "1", "784,16,10");
  g_autofree char *longer = g_build_filename (dir, "longer", NULL);
  const char *argv[] = { g_getenv ("DRMAD_BIN"), "--no-gui", "--layers", "784,16,10", "--iters", "30",
                         "--train-size", "300", "--val-size", "200", "--test-size", "50", "--batch", "50",
                         "--meta-iters", "3", "--seed", "1", "--out", longer, NULL };
  int status;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                               NULL, NULL, NULL, NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_autofree char *own_history = g_build_filename (dir, "own-history.csv", NULL);
  g_autofree char *own_hyper = g_build_filename (dir, "own-hyper.csv", NULL);
  g_autofree char *history_path = g_build_filename (run, "history.csv", NULL);
  g_autofree char *hyper_path = g_build_filename (run, "hyper.csv", NULL);
  g_assert_cmpint (g_rename (history_path, own_history), ==, 0);
  g_assert_cmpint (g_rename (hyper_path, own_hyper), ==, 0);
  /* what a run killed between hyper.csv and checkpoint.bin of meta-iteration 3 leaves */
  replace_from (longer, run, "history.csv");
  replace_from (longer, run, "hyper.csv");
  g_autofree char *longer_history = g_build_filename (longer, "history.csv", NULL);
  g_autofree char *longer_hyper = g_build_filename (longer, "hyper.csv", NULL);
  g_autofree char *history3 = NULL, *hyper3 = NULL;
  g_assert_true (g_file_get_contents (longer_history, &history3, NULL, NULL));
  g_assert_true (g_file_get_contents (longer_hyper, &hyper3, NULL, NULL));
  g_autofree char *history2 = rows_up_to (history3, 2, FALSE), *hyper2 = rows_up_to (hyper3, 2, TRUE);
  g_assert_cmpuint (strlen (history2), <, strlen (history3));
  g_assert_cmpuint (strlen (hyper2), <, strlen (hyper3));

  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1024, 600);
  drmad_window_open_run (window, run);
  g_assert_cmpfloat (wait_until (window, idle, 30), >=, 0);
  g_autofree char *lock_path = g_build_filename (run, ".drmad-lock", NULL);
  const char *unchanged[] = { "checkpoint.bin", "run.ini", "l2.png", "lr.png", "loss.png" };
  for (guint unlocked = 0; unlocked < 2; unlocked++) {
    int lock_fd = unlocked ? -1 : g_open (lock_path, O_RDWR, 0);
    g_assert_cmpint (unlocked || hold_run_lock (lock_fd) == 0, ==, TRUE);
    if (unlocked)
      g_setenv ("DRMAD_INJECT_FAULT", "memory:1", TRUE);
    g_autofree char *exported = g_build_filename (dir, unlocked ? "exported-unlocked" : "exported", NULL);
    gint64 t0 = g_get_monotonic_time ();
    drmad_window_export_to (window, exported);
    g_assert_cmpfloat (wait_until (window, idle, 60), >=, 0);
    g_unsetenv ("DRMAD_INJECT_FAULT");
    g_test_message ("%s after %.1f s: %s", unlocked ? "unlocked" : "locked", (g_get_monotonic_time () - t0) / 1e6,
                    drmad_window_get_status (window));
    if (lock_fd >= 0)
      g_assert_cmpint (close (lock_fd), ==, 0);
    g_assert_null (drmad_window_get_error (window));
    g_assert_true (g_str_has_prefix (drmad_window_get_status (window), "Exported 7 files"));
    g_assert_true (g_str_has_suffix (drmad_window_get_status (window), "; history.csv and hyper.csv end at "
                                     "meta-iteration 2, the last the checkpoint holds; the folder also has rows of 3 "
                                     "that no checkpoint holds (resume the run to record them)"));
    assert_file_is (exported, "history.csv", history2, strlen (history2));
    assert_file_is (exported, "hyper.csv", hyper2, strlen (hyper2));
    for (guint i = 0; i < G_N_ELEMENTS (unchanged); i++) {
      g_autofree char *path = g_build_filename (run, unchanged[i], NULL), *text = NULL;
      gsize length;
      g_assert_true (g_file_get_contents (path, &text, &length, NULL));
      assert_file_is (exported, unchanged[i], text, length);
    }
    g_assert_cmpuint (assert_one_iteration (exported), ==, 2);
  }

  /* consistent again, the checkpoint newer than the plots, locked */
  g_autofree char *own_history_text = NULL, *own_hyper_text = NULL;
  gsize history_length, hyper_length;
  g_assert_true (g_file_get_contents (own_history, &own_history_text, &history_length, NULL));
  g_assert_true (g_file_get_contents (own_hyper, &own_hyper_text, &hyper_length, NULL));
  g_assert_true (drmad_write_file_atomic (history_path, own_history_text, history_length, NULL));
  g_assert_true (drmad_write_file_atomic (hyper_path, own_hyper_text, hyper_length, NULL));
  replace_from (run, run, "checkpoint.bin");
  int lock_fd = g_open (lock_path, O_RDWR, 0);
  g_assert_cmpint (hold_run_lock (lock_fd), ==, 0);
  g_setenv ("DRMAD_INJECT_FAULT", "memory:1", TRUE);
  g_autofree char *undecoded = g_build_filename (dir, "undecoded", NULL);
  drmad_window_export_to (window, undecoded);
  g_assert_cmpfloat (wait_until (window, idle, 60), >=, 0);
  g_unsetenv ("DRMAD_INJECT_FAULT");
  g_assert_cmpint (close (lock_fd), ==, 0);
  g_test_message ("%s", drmad_window_get_status (window));
  g_assert_null (drmad_window_get_error (window));
  g_assert_null (strstr (drmad_window_get_status (window), "end at meta-iteration"));
  g_assert_cmpuint (assert_exported_whole (run, undecoded), ==, 7);

  /* what a run killed while appending meta-iteration 3's rows to hyper.csv
   * leaves (lib/run.c, append_hyper_csv): a piece of a row after its last
   * newline, no row; the export leaves it out and says so */
  g_autofree char *torn = g_strconcat (own_hyper_text, "3,l2/la", NULL);
  g_assert_true (g_file_set_contents (hyper_path, torn, -1, NULL));
  g_autofree char *exported_torn = g_build_filename (dir, "exported-torn", NULL);
  drmad_window_export_to (window, exported_torn);
  g_assert_cmpfloat (wait_until (window, idle, 60), >=, 0);
  g_test_message ("%s", drmad_window_get_status (window));
  g_assert_null (drmad_window_get_error (window));
  g_assert_true (g_str_has_suffix (drmad_window_get_status (window), "; history.csv and hyper.csv end at "
                                   "meta-iteration 2, the last the checkpoint holds; the folder also has rows of 3 "
                                   "that no checkpoint holds (resume the run to record them)"));
  assert_file_is (exported_torn, "hyper.csv", own_hyper_text, hyper_length);

  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  remove_tree (dir);
}

/* Export of a run folder whose history.csv and hyper.csv give the
 * checkpoint's last meta-iteration (2 of a run of 2) an iteration past 64
 * bits, 18446744073709551615, then rows of 99999999999999999999, which the
 * row reader caps at the same number (app/drmad-job.c, row_iteration;
 * fuzz-csv-rows, docs/reliability.md). The export cut history.csv after
 * the checkpoint's row, kept hyper.csv whole, and its status line said no
 * row was left out (the first row past it, kept + 1, wrapped to 0). Such
 * files are no run's: every file is now exported as read, byte for byte,
 * and the status line says nothing of rows left out. */
static void
test_export_iteration_past_64_bits (void)
{
  if (!have_display_data_and_device ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-export-past-64-bits", NULL);
  g_autofree char *run = g_build_filename (dir, "run", NULL);
  make_tiny_run (run, "1", "784,16,10");
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1024, 600);
  drmad_window_open_run (window, run);
  g_assert_cmpfloat (wait_until (window, idle, 30), >=, 0);
  const char *names[] = { "history.csv", "hyper.csv" };
  for (guint f = 0; f < G_N_ELEMENTS (names); f++) {
    g_autofree char *path = g_build_filename (run, names[f], NULL), *text = NULL;
    g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
    g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
    GString *edited = g_string_new (NULL);
    for (guint i = 0; lines[i]; i++) {
      if (!*lines[i] && !lines[i + 1])
        break;
      /* a row of meta-iteration 2: its number past 64 bits, and a row after it */
      if (g_str_has_prefix (lines[i], "2,")) {
        g_string_append_printf (edited, "18446744073709551615%s\n", lines[i] + 1);
        g_string_append_printf (edited, "99999999999999999999%s\n", lines[i] + 1);
      } else {
        g_string_append_printf (edited, "%s\n", lines[i]);
      }
    }
    g_assert_true (drmad_write_file_atomic (path, edited->str, edited->len, NULL));
    g_string_free (edited, TRUE);
  }
  g_autofree char *exported = g_build_filename (dir, "exported", NULL);
  drmad_window_export_to (window, exported);
  g_assert_cmpfloat (wait_until (window, idle, 60), >=, 0);
  g_test_message ("%s", drmad_window_get_status (window));
  g_assert_null (drmad_window_get_error (window));
  g_assert_true (g_str_has_prefix (drmad_window_get_status (window), "Exported 7 files"));
  g_assert_null (strstr (drmad_window_get_status (window), "end at meta-iteration"));
  g_assert_cmpuint (assert_exported_whole (run, exported), ==, 7);

  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  remove_tree (dir);
}

/* Export of a run folder with no checkpoint.bin to read: removed after the
 * window opened the run, then a dangling symbolic link in its place. The
 * export counted 0 records for it and cut history.csv and hyper.csv to
 * their header lines; now every file is exported as read, byte for byte
 * the folder's. The status line names the files exported (it said
 * "… run.ini, checkpoint.bin) to …" of a folder without one). */
static void
test_export_no_checkpoint (void)
{
  if (!have_display_data_and_device ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-export-no-checkpoint", NULL);
  g_autofree char *run = g_build_filename (dir, "run", NULL);
  make_tiny_run (run, "1", "784,16,10");
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1024, 600);
  drmad_window_open_run (window, run);
  g_assert_cmpfloat (wait_until (window, idle, 30), >=, 0);
  g_autofree char *checkpoint = g_build_filename (run, "checkpoint.bin", NULL);
  g_assert_cmpint (g_unlink (checkpoint), ==, 0);
  for (guint dangling = 0; dangling < 2; dangling++) {
    g_autofree char *nowhere = g_build_filename (dir, "nowhere.bin", NULL);
    if (dangling)
      g_assert_cmpint (symlink (nowhere, checkpoint), ==, 0);
    g_autofree char *exported = g_build_filename (dir, dangling ? "exported-dangling" : "exported", NULL);
    drmad_window_export_to (window, exported);
    g_assert_cmpfloat (wait_until (window, idle, 60), >=, 0);
    g_test_message ("%s", drmad_window_get_status (window));
    g_assert_null (drmad_window_get_error (window));
    g_assert_true (g_str_has_prefix (drmad_window_get_status (window), "Exported 6 files"));
    g_assert_null (strstr (drmad_window_get_status (window), "end at meta-iteration"));
    g_assert_cmpuint (assert_exported_whole (run, exported), ==, 6);
    assert_status_lists (window, exported);
  }

  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  remove_tree (dir);
}

/* Writes "x" to @name in @folder. */
static void
write_extra (const char *folder, const char *name)
{
  g_autofree char *path = g_build_filename (folder, name, NULL);
  g_assert_true (g_file_set_contents (path, "x", 1, NULL));
}

/* Exports the window's run into @folder and checks the status line is
 * "Exported @n file(s) (@names) to @folder". */
static void
assert_export_says (DrmadWindow *window, const char *folder, guint n, const char *names)
{
  drmad_window_export_to (window, folder);
  g_assert_cmpfloat (wait_until (window, idle, 60), >=, 0);
  g_assert_null (drmad_window_get_error (window));
  const char *status = drmad_window_get_status (window);
  g_test_message ("%s", status);
  g_assert_true (g_utf8_validate (status, -1, NULL));
  g_autofree char *expected = g_strdup_printf ("Exported %u file%s (%s) to %s", n, n == 1 ? "" : "s", names, folder);
  g_assert_cmpstr (status, ==, expected);
}

/* The export's status line with other files in the run folder: with 21
 * more it named all 28 (over 300 characters, the folder exported to and
 * any rows left out past the end of a line cut short with "…"); now the
 * run's own seven, then how many more. A file name that is not UTF-8 went
 * into the line byte for byte, text no label may hold; now as GLib
 * displays a file name. A folder of one file says "1 file". */
static void
test_export_names (void)
{
  if (!have_display_data_and_device ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-export-names", NULL);
  g_autofree char *run = g_build_filename (dir, "run", NULL);
  make_tiny_run (run, "1", "784,16,10");
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1024, 600);
  drmad_window_open_run (window, run);
  g_assert_cmpfloat (wait_until (window, idle, 30), >=, 0);
  const char *own = "checkpoint.bin, history.csv, hyper.csv, l2.png, loss.png, lr.png, run.ini";

  for (guint i = 0; i < 21; i++) {
    g_autofree char *name = g_strdup_printf ("note-%02u.txt", i);
    write_extra (run, name);
  }
  g_autofree char *many = g_build_filename (dir, "many", NULL);
  g_autofree char *own_and_more = g_strdup_printf ("%s and 21 more", own);
  assert_export_says (window, many, 28, own_and_more);
  g_assert_cmpuint (assert_exported_whole (run, many), ==, 28);
  for (guint i = 0; i < 21; i++) {
    g_autofree char *path = g_strdup_printf ("%s/note-%02u.txt", run, i);
    g_assert_cmpint (g_unlink (path), ==, 0);
  }

  /* "café.txt" in Latin-1: its é is no UTF-8 */
  write_extra (run, "caf\xe9.txt");
  g_autofree char *latin1 = g_build_filename (dir, "latin1", NULL);
  g_autofree char *own_and_cafe = g_strdup_printf ("%s, caf\xef\xbf\xbd.txt", own);   /* U+FFFD for the byte */
  assert_export_says (window, latin1, 8, own_and_cafe);
  g_assert_cmpuint (assert_exported_whole (run, latin1), ==, 8);

  g_autoptr (GDir) folder = g_dir_open (run, 0, NULL);
  for (const char *name; (name = g_dir_read_name (folder));)
    if (!g_str_equal (name, "run.ini")) {
      g_autofree char *path = g_build_filename (run, name, NULL);
      g_assert_cmpint (g_unlink (path), ==, 0);
    }
  g_autofree char *one = g_build_filename (dir, "one", NULL);
  assert_export_says (window, one, 1, "run.ini");

  close_window (window);
  remove_tree (dir);
}

/* A run folder whose run.ini is a FIFO: Open run's and Compare runs'
 * threads waited in open() for a writer that never came (the window stayed
 * busy for good). Both now refuse it, naming the file and what it is; and
 * a socket in its place is named a socket (open() of one fails, ENXIO:
 * the reader looks before it opens). */
static void
test_run_ini_fifo (void)
{
  if (!have_display_data_and_device ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-run-ini-fifo", NULL);
  g_autofree char *ini = g_build_filename (dir, "run.ini", NULL);
  g_assert_cmpint (mkfifo (ini, 0600), ==, 0);
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1024, 600);
  drmad_window_open_run (window, dir);
  g_assert_cmpfloat (wait_until (window, idle, 30), >=, 0);
  g_test_message ("%s", drmad_window_get_error (window));
  g_assert_nonnull (strstr (drmad_window_get_error (window), ini));
  g_assert_nonnull (strstr (drmad_window_get_error (window), "a FIFO, not a regular file"));
  const char *folders[] = { dir, NULL };
  drmad_window_compare_runs (window, folders);
  g_assert_cmpfloat (wait_until (window, comparing_done, 30), >=, 0);
  g_test_message ("%s", drmad_window_get_error (window));
  g_assert_nonnull (strstr (drmad_window_get_error (window), ini));
  g_assert_nonnull (strstr (drmad_window_get_error (window), "a FIFO, not a regular file"));

  g_assert_cmpint (g_unlink (ini), ==, 0);
  int sock = socket (AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un address = { .sun_family = AF_UNIX };
  g_assert_cmpuint (strlen (ini), <, sizeof address.sun_path);
  strcpy (address.sun_path, ini);
  g_assert_cmpint (bind (sock, (struct sockaddr *) &address, sizeof address), ==, 0);
  drmad_window_open_run (window, dir);
  g_assert_cmpfloat (wait_until (window, idle, 30), >=, 0);
  g_test_message ("%s", drmad_window_get_error (window));
  g_assert_nonnull (strstr (drmad_window_get_error (window), "a socket, not a regular file"));
  close (sock);
  close_window (window);
  remove_tree (dir);
}

/* Open run on a folder as a user may find it: one another process is
 * still running (its lock held: Start would be refused, and the status line
 * said Start continues it), and one whose checkpoint.bin is gone while
 * history.csv records meta-iterations (it opened as a run with none, and
 * Compare drew it so). */
static void
test_open_run (void)
{
  if (!have_display_data_and_device ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-open", NULL);
  g_autofree char *run = g_build_filename (dir, "run", NULL);
  make_tiny_run (run, "1", "784,16,10");
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1024, 600);

  g_autofree char *lock_path = g_build_filename (run, ".drmad-lock", NULL);
  g_autofree char *holder = NULL;
  g_assert_true (g_file_get_contents (lock_path, &holder, NULL, NULL));
  g_strstrip (holder);
  int lock_fd = g_open (lock_path, O_RDWR, 0);
  g_assert_cmpint (lock_fd, >=, 0);
  g_assert_cmpint (hold_run_lock (lock_fd), ==, 0);
  drmad_window_open_run (window, run);
  g_assert_cmpfloat (wait_until (window, idle, 30), >=, 0);
  g_test_message ("%s", drmad_window_get_status (window));
  g_assert_null (drmad_window_get_error (window));
  g_autofree char *writing = g_strdup_printf ("process %s is still writing", holder);
  g_assert_nonnull (strstr (drmad_window_get_status (window), writing));
  g_assert_cmpint (close (lock_fd), ==, 0);
#ifdef __linux__
  /* checkpoint.bin is opened once: the plots, the summary's rows and the
   * other pages each read it (three times; hundreds of megabytes each with
   * a large θ). Counted by inotify, which queues every open. */
  int watch = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
  g_assert_cmpint (watch, >=, 0);
  g_assert_cmpint (inotify_add_watch (watch, run, IN_OPEN), >=, 0);
#endif
  drmad_window_open_run (window, run);
  g_assert_cmpfloat (wait_until (window, idle, 30), >=, 0);
  g_assert_true (g_str_has_prefix (drmad_window_get_status (window), "Opened a run with 2 meta-iterations"));
#ifdef __linux__
  g_assert_cmpuint (count_opens (watch, "checkpoint.bin"), ==, 1);
  close (watch);
#endif

  g_autofree char *checkpoint = g_build_filename (run, "checkpoint.bin", NULL);
  g_autofree char *moved = g_build_filename (dir, "checkpoint.bin", NULL);
  g_assert_cmpint (g_rename (checkpoint, moved), ==, 0);
  drmad_window_open_run (window, run);
  g_assert_cmpfloat (wait_until (window, idle, 30), >=, 0);
  g_test_message ("%s", drmad_window_get_error (window));
  g_assert_nonnull (drmad_window_get_error (window));
  g_assert_nonnull (strstr (drmad_window_get_error (window), "records 2 finished meta-iterations"));
  g_assert_nonnull (strstr (drmad_window_get_error (window), "checkpoint.bin is missing"));
  g_autoptr (GError) error = NULL;
  DrmadPlot *val = NULL, *l2 = NULL, *lr = NULL;
  const char *alone[] = { run, NULL };
  g_assert_false (drmad_compare_runs (alone, &val, &l2, &lr, &error));
  g_assert_nonnull (strstr (error->message, "checkpoint.bin is missing"));

  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  remove_tree (dir);
}

/* Whether process @pid catches signal @number (its handler is installed). */
static gboolean
catches_signal (GPid pid, int number)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", (int) pid), *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return FALSE;
  const char *caught = strstr (text, "\nSigCgt:");
  return caught && (g_ascii_strtoull (caught + strlen ("\nSigCgt:"), NULL, 16) >> (number - 1)) & 1;
}

/* Ctrl+C in the terminal, or SIGTERM or SIGHUP, quits the window as Ctrl+Q
 * does, saving the settings (the command line's here): it killed it, and
 * what was set since the last Start was lost. */
static void
test_quit_signal (void)
{
  SKIP_WITHOUT_DISPLAY ();
  if (!g_file_test ("/proc/self/status", G_FILE_TEST_EXISTS)) {
    g_test_skip ("no /proc to see when the window catches signals");
    return;
  }
  const int signals[] = { SIGINT, SIGTERM, SIGHUP };
  for (guint i = 0; i < G_N_ELEMENTS (signals); i++) {
    g_autofree char *layers = g_strdup_printf ("784,%u,10", 30 + i);
    const char *argv[] = { g_getenv ("DRMAD_BIN"), "--layers", layers, NULL };
    g_auto (GStrv) envp = g_get_environ ();
    envp = g_environ_setenv (envp, "HOME", g_get_home_dir (), TRUE);
    envp = g_environ_setenv (envp, "XDG_DATA_HOME", g_get_user_data_dir (), TRUE);
    envp = g_environ_setenv (envp, "XDG_CONFIG_HOME", g_get_user_config_dir (), TRUE);
    envp = g_environ_setenv (envp, "XDG_CACHE_HOME", g_get_user_cache_dir (), TRUE);
    g_autoptr (GError) error = NULL;
    GPid pid;
    g_assert_true (g_spawn_async (NULL, (char **) argv, envp, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
                                  NULL, NULL, &pid, &error));
    g_assert_no_error (error);
    gint64 until = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
    while (!catches_signal (pid, signals[i]) && g_get_monotonic_time () < until)
      g_usleep (20000);
    g_assert_cmpint (kill (pid, signals[i]), ==, 0);
    int status;
    g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
    g_spawn_close_pid (pid);
    g_test_message ("signal %d: wait status %d", signals[i], status);
    g_assert_true (WIFEXITED (status));
    g_assert_cmpint (WEXITSTATUS (status), ==, 0);
    g_autofree char *path = drmad_settings_get_default_path (), *text = NULL;
    g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
    g_autoptr (GHashTable) values = drmad_options_read_ini (text, -1, path, TRUE, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (g_hash_table_lookup (values, "layers"), ==, layers);
  }
}

static void
ignore_hangup_and_interrupt (gpointer user_data)
{
  signal (SIGHUP, SIG_IGN);   /* as nohup leaves it */
  signal (SIGINT, SIG_IGN);   /* as a shell leaves a command started with & in a script */
}

/* A signal ignored when the window starts stays ignored: `nohup drmad &`
 * keeps the window (and its run) when the terminal closes, as it did before
 * the window caught SIGINT, SIGTERM and SIGHUP; SIGTERM still quits it. */
static void
test_quit_signal_ignored (void)
{
  SKIP_WITHOUT_DISPLAY ();
  if (!g_file_test ("/proc/self/status", G_FILE_TEST_EXISTS)) {
    g_test_skip ("no /proc to see when the window catches signals");
    return;
  }
  const char *argv[] = { g_getenv ("DRMAD_BIN"), NULL };
  g_auto (GStrv) envp = g_get_environ ();
  envp = g_environ_setenv (envp, "HOME", g_get_home_dir (), TRUE);
  envp = g_environ_setenv (envp, "XDG_DATA_HOME", g_get_user_data_dir (), TRUE);
  envp = g_environ_setenv (envp, "XDG_CONFIG_HOME", g_get_user_config_dir (), TRUE);
  envp = g_environ_setenv (envp, "XDG_CACHE_HOME", g_get_user_cache_dir (), TRUE);
  g_autoptr (GError) error = NULL;
  GPid pid;
  g_assert_true (g_spawn_async (NULL, (char **) argv, envp, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
                                ignore_hangup_and_interrupt, NULL, &pid, &error));
  g_assert_no_error (error);
  gint64 until = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (!catches_signal (pid, SIGTERM) && g_get_monotonic_time () < until)
    g_usleep (20000);
  g_assert_true (catches_signal (pid, SIGTERM));
  g_assert_cmpint (kill (pid, SIGHUP), ==, 0);
  g_assert_cmpint (kill (pid, SIGINT), ==, 0);
  g_usleep (G_USEC_PER_SEC);
  int status;
  pid_t ended = waitpid (pid, &status, WNOHANG);
  if (ended == 0)
    g_assert_cmpint (kill (pid, SIGTERM), ==, 0);
  else
    g_test_message ("ended by SIGHUP or SIGINT: wait status %d", status);
  g_assert_cmpint (ended, ==, 0);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_spawn_close_pid (pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
}

/* ---- a screen reader's view of the window ---- */

/* Whether a screen reader has a name for @widget: an accessible label of
 * its own (a button's text sets one) or a label that names it. */
static gboolean
has_name (GtkWidget *widget)
{
  return gtk_test_accessible_has_property (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_PROPERTY_LABEL)
         || gtk_test_accessible_has_relation (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_RELATION_LABELLED_BY);
}

/* Every button @widget holds that takes the focus (an expander's title
 * too), and every field, drop-down and switch, into @unnamed when a screen
 * reader would have no name for it; returns how many were looked at. A
 * drop-down's own button, which takes its focus, is named by itself:
 * GTK 4.8 reads no name of the drop-down there, only the button's own
 * (it read "GtkToggleButton", its type's name, for each). */
static guint
collect_unnamed (GtkWidget *widget, GPtrArray *unnamed)
{
  guint seen = 0;
  gboolean button = (GTK_IS_BUTTON (widget) || GTK_IS_EXPANDER (widget)) && gtk_widget_get_focusable (widget)
                    && gtk_widget_get_can_focus (widget);
  gboolean field = GTK_IS_ENTRY (widget) || GTK_IS_SPIN_BUTTON (widget) || GTK_IS_DROP_DOWN (widget)
                   || GTK_IS_SWITCH (widget);
  if (button || field) {
    seen++;
    if (!has_name (widget))
      g_ptr_array_add (unnamed, g_strdup_printf ("%s%s%s (tooltip: %s)", G_OBJECT_TYPE_NAME (widget),
                                                 gtk_widget_get_name (widget)[0] ? " " : "",
                                                 gtk_widget_get_name (widget),
                                                 gtk_widget_get_tooltip_text (widget)
                                                 ? gtk_widget_get_tooltip_text (widget) : "none"));
  }
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    seen += collect_unnamed (child, unnamed);
  return seen;
}

/* Every widget under @widget into @all. */
static void
collect_widgets (GtkWidget *widget, GPtrArray *all)
{
  g_ptr_array_add (all, widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    collect_widgets (child, all);
}

/* The widgets of @all with a name of their own that are also labelled by
 * another of @all with a name of its own, into @twice: GTK 4.8 reads such a
 * widget by both names, one after the other (the menu's button read "Main
 * menu Main menu": GtkMenuButton labels its button by itself). */
static void
collect_named_twice (GPtrArray *all, GPtrArray *twice)
{
  for (guint i = 0; i < all->len; i++) {
    GtkAccessible *widget = all->pdata[i];
    if (!gtk_test_accessible_has_property (widget, GTK_ACCESSIBLE_PROPERTY_LABEL)
        || !gtk_test_accessible_has_relation (widget, GTK_ACCESSIBLE_RELATION_LABELLED_BY))
      continue;
    for (guint k = 0; k < all->len; k++) {
      GtkAccessible *by = all->pdata[k];
      if (by == widget || !gtk_test_accessible_has_property (by, GTK_ACCESSIBLE_PROPERTY_LABEL))
        continue;
      g_autofree char *differs = gtk_test_accessible_check_relation (widget, GTK_ACCESSIBLE_RELATION_LABELLED_BY,
                                                                     by, NULL);
      if (!differs)
        g_ptr_array_add (twice, g_strdup_printf ("%s, labelled by a %s", G_OBJECT_TYPE_NAME (widget),
                                                 G_OBJECT_TYPE_NAME (by)));
    }
  }
}

/* The window as a screen reader meets it: every button that takes the
 * focus has a name (the settings toggle and the menu, icons with only a
 * tooltip, had none), and so has every setting (their labels stood beside
 * them, naming nothing); the plots are pictures (a bare widget before);
 * the progress bar says its text; F10 opens the menu. */
static void
test_a11y_names (void)
{
  SKIP_WITHOUT_DISPLAY ();
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1440, 900);
  GtkWidget *first, *last, *more = more_settings (window, &first, &last);
  gtk_expander_set_expanded (GTK_EXPANDER (more), TRUE);
  g_autoptr (GPtrArray) unnamed = g_ptr_array_new_with_free_func (g_free);
  guint seen = collect_unnamed (GTK_WIDGET (window), unnamed);   /* the title bar with it */
  GtkWidget *titlebar = gtk_window_get_titlebar (GTK_WINDOW (window));
  g_test_message ("%u buttons and settings, %u without a name", seen, unnamed->len);
  for (guint i = 0; i < unnamed->len; i++)
    g_test_message ("no name: %s", (const char *) unnamed->pdata[i]);
  g_autoptr (GPtrArray) all = g_ptr_array_new (), twice = g_ptr_array_new_with_free_func (g_free);
  collect_widgets (GTK_WIDGET (window), all);
  g_assert_true (gtk_widget_is_ancestor (titlebar, GTK_WIDGET (window)));
  collect_named_twice (all, twice);
  for (guint i = 0; i < twice->len; i++)
    g_test_message ("named twice: %s", (const char *) twice->pdata[i]);
  g_assert_cmpuint (seen, >, 40);
  g_assert_cmpuint (unnamed->len, ==, 0);
  g_assert_cmpuint (twice->len, ==, 0);
  g_assert_true (has_name (first));   /* the entries of More settings too */
  /* the progress bar: named, and its text as its value (GTK 4.8 gives a
   * screen reader neither: it read "GtkProgressBar" and no text) */
  GtkAccessible *progress = GTK_ACCESSIBLE (window->progress_bar);
  gtk_test_accessible_assert_property (progress, GTK_ACCESSIBLE_PROPERTY_LABEL, "Progress");
  gtk_test_accessible_assert_property (progress, GTK_ACCESSIBLE_PROPERTY_VALUE_TEXT, "idle");
  gtk_progress_bar_set_text (window->progress_bar, "meta-iteration 2 of 3 · train 10/30 · about 4 s left");
  gtk_test_accessible_assert_property (progress, GTK_ACCESSIBLE_PROPERTY_VALUE_TEXT,
                                       "meta-iteration 2 of 3 · train 10/30 · about 4 s left");
  for (guint i = 0; i < 7; i++)
    g_assert_true (gtk_test_accessible_has_role (GTK_ACCESSIBLE (drmad_window_get_plot_view (window, i)),
                                                 GTK_ACCESSIBLE_ROLE_IMG));

  /* F10 as GTK 4.8 delivers it: a shortcut of the window, which opens the
   * menu of its primary menu button (without one it opened nothing) */
  GtkWidget *menu = window->menu_button;
  g_assert_nonnull (menu);
  GtkPopover *popover = gtk_menu_button_get_popover (GTK_MENU_BUTTON (menu));
  g_assert_false (popover && gtk_widget_get_visible (GTK_WIDGET (popover)));
  gboolean triggered = FALSE;
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (window));
  for (guint i = 0; i < g_list_model_get_n_items (controllers) && !triggered; i++) {
    g_autoptr (GtkEventController) controller = g_list_model_get_item (controllers, i);
    if (!GTK_IS_SHORTCUT_CONTROLLER (controller))
      continue;
    for (guint k = 0; k < g_list_model_get_n_items (G_LIST_MODEL (controller)) && !triggered; k++) {
      g_autoptr (GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (controller), k);
      g_autofree char *trigger = gtk_shortcut_trigger_to_string (gtk_shortcut_get_trigger (shortcut));
      if (g_str_equal (trigger, "F10"))
        triggered = gtk_shortcut_action_activate (gtk_shortcut_get_action (shortcut), 0, GTK_WIDGET (window), NULL);
    }
  }
  g_assert_true (triggered);
  iterate_for (0.2);
  popover = gtk_menu_button_get_popover (GTK_MENU_BUTTON (menu));
  g_assert_true (popover && gtk_widget_get_visible (GTK_WIDGET (popover)));
  gtk_popover_popdown (popover);
  close_window (window);
}

/* The plots beside the learning rate that no run has filled yet (the
 * momentum schedule, the initial scale, the hypergradient norms, the
 * fidelity) are named by the label of their tab, as shown, from the start:
 * a screen reader read each of them as "Plot" until a run gave it a plot
 * of its own title. So does a new Start, which empties them again. */
static void
test_a11y_tab_names (void)
{
  SKIP_WITHOUT_DISPLAY ();
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1024, 600);
  for (guint round = 0; round < 2; round++) {
    if (round == 1)
      drmad_window_clear_plots (window);   /* as a Start does */
    guint unfilled = 0;
    for (guint i = 0; i < 7; i++) {
      GtkWidget *view = GTK_WIDGET (drmad_window_get_plot_view (window, i));
      GtkWidget *stack = gtk_widget_get_parent (view);
      const DrmadPlot *plot = drmad_plot_view_get_plot (DRMAD_PLOT_VIEW (view));
      if (!GTK_IS_STACK (stack) || (plot && plot->title))
        continue;   /* a page of no tab, or filled: named by its plot's title */
      const char *tab = gtk_stack_page_get_title (gtk_stack_get_page (GTK_STACK (stack), view));
      g_test_message ("%s (tab \"%s\")", gtk_stack_get_visible_child (GTK_STACK (stack)) == view ? "shown" : "hidden",
                      tab);
      g_assert_nonnull (tab);
      gtk_test_accessible_assert_property (GTK_ACCESSIBLE (view), GTK_ACCESSIBLE_PROPERTY_LABEL, tab);
      unfilled++;
    }
    g_assert_cmpuint (unfilled, ==, 4);
  }
  close_window (window);
}

/* The value of column @column of the last meta-iteration row of history.csv
 * in @folder, read here from the file. */
static double
history_last_value (const char *folder, const char *column)
{
  g_autofree char *path = g_build_filename (folder, "history.csv", NULL), *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_auto (GStrv) header = g_strsplit (lines[0], ",", -1);
  int index = -1;
  for (int i = 0; header[i]; i++)
    if (g_str_equal (header[i], column))
      index = i;
  g_assert_cmpint (index, >=, 0);
  double value = NAN;
  for (guint l = 1; lines[l]; l++)
    if (g_ascii_isdigit (lines[l][0])) {
      g_auto (GStrv) fields = g_strsplit (lines[l], ",", -1);
      g_assert_cmpuint (g_strv_length (fields), >, (guint) index);
      value = g_ascii_strtod (fields[index], NULL);
    }
  return value;
}

/* The number after "@name, meta-iteration @iteration: " in @text (the
 * plot's description), or NaN. */
static double
described_value (const char *text, const char *name, guint iteration)
{
  g_autofree char *key = g_strdup_printf ("%s, meta-iteration %u: ", name, iteration);
  const char *at = strstr (text, key);
  return at ? g_ascii_strtod (at + strlen (key), NULL) : NAN;
}

/* The status line, cut with "…" where it is longer than the window is
 * wide (an export's, naming its files and the folder), is reached by Tab
 * as the summary is: a screen reader reads its whole text as the focus
 * comes to it, and the keyboard can select it all and copy it (Ctrl+A,
 * Ctrl+C). Tab passed it by: the end of a long status could be read by
 * neither. */
static void
test_a11y_status_reachable (void)
{
  SKIP_WITHOUT_DISPLAY ();
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1024, 600);
  /* The window opens with the focus on the first setting (README), not on
   * a selectable label, which GTK would give it with all its text selected. */
  g_assert_true (focus_in (window, GTK_WIDGET (window->dataset_dropdown)));
  int start, end;
  g_assert_false (gtk_label_get_selection_bounds (window->status_label, &start, &end));
  const char *text = "Exported 28 files (checkpoint.bin, history.csv, hyper.csv, l2.png, loss.png, lr.png, run.ini "
                     "and 21 more) to /home/someone/a folder with a long name/exports/2026-12-05-meta-iterations";
  drmad_window_set_status (window, "%s", text);
  iterate_for (0.2);
  GtkWidget *status = GTK_WIDGET (window->status_label);
  int natural;
  gtk_widget_measure (status, GTK_ORIENTATION_HORIZONTAL, -1, NULL, &natural, NULL, NULL);
  g_test_message ("status line %d px wide, its text %d px", gtk_widget_get_width (status), natural);
  g_assert_cmpint (gtk_widget_get_width (status), <, natural);   /* cut */
  g_assert_true (gtk_test_accessible_has_role (GTK_ACCESSIBLE (status), GTK_ACCESSIBLE_ROLE_LABEL));
  g_assert_cmpstr (gtk_label_get_text (window->status_label), ==, text);
  g_assert_true (gtk_widget_grab_focus (GTK_WIDGET (window->summary_label)));
  guint presses = 0;
  while (gtk_root_get_focus (GTK_ROOT (window)) != status && presses++ < 100)
    gtk_widget_child_focus (GTK_WIDGET (window), GTK_DIR_TAB_FORWARD);
  g_test_message ("%u Tab presses from the summary", presses);
  g_assert_true (gtk_root_get_focus (GTK_ROOT (window)) == status);
  g_assert_cmpuint (presses, <=, 3);   /* the summary, the status: next to each other */
  close_window (window);
}

static void
clipboard_text_read (GObject *clipboard, GAsyncResult *result, gpointer user_data)
{
  char **text = user_data;
  *text = gdk_clipboard_read_text_finish (GDK_CLIPBOARD (clipboard), result, NULL);
  if (!*text)
    *text = g_strdup ("");
}

/* What Ctrl+C in @widget puts on the clipboard. */
static char *
copied_text (GtkWidget *widget)
{
  g_assert_true (gtk_widget_activate_action (widget, "clipboard.copy", NULL));
  char *text = NULL;
  gdk_clipboard_read_text_async (gtk_widget_get_clipboard (widget), NULL, clipboard_text_read, &text);
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  guint waker = g_timeout_add (5, wake, NULL);
  while (!text && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (waker);
  g_assert_nonnull (text);
  return text;
}

/* The status line Tab reaches keeps what the keyboard selected in it as it
 * changes, each second of a run: Tab selects all of it, and Ctrl+C after
 * the next second copied nothing (GTK clears a label's selection with each
 * new text; Ctrl+A had to beat the clock). All of it selected stays all of
 * the new text; a part stays while the text up to its end is unchanged
 * (the device, before "elapsed"), and goes where it is not. */
static void
test_a11y_status_selection (void)
{
  SKIP_WITHOUT_DISPLAY ();
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1024, 600);
  GtkLabel *status = window->status_label;
  const char *device = "device: Portable Computing Language: cpu-haswell (CLBlast GEMM, float32)";
  drmad_window_set_status (window, "%s · elapsed %u s", device, 1);
  g_assert_true (gtk_widget_grab_focus (GTK_WIDGET (window->summary_label)));
  gtk_widget_child_focus (GTK_WIDGET (window), GTK_DIR_TAB_FORWARD);
  g_assert_true (gtk_root_get_focus (GTK_ROOT (window)) == GTK_WIDGET (status));
  int start, end;
  g_assert_true (gtk_label_get_selection_bounds (status, &start, &end));
  g_assert_cmpint (end - start, ==, g_utf8_strlen (gtk_label_get_text (status), -1));   /* Tab selected it all */
  for (guint second = 2; second <= 3; second++) {
    g_autofree char *expected = g_strdup_printf ("%s · elapsed %u s", device, second);
    drmad_window_set_status (window, "%s · elapsed %u s", device, second);   /* as the run's tick does */
    iterate_for (0.3);   /* the X server's events about the primary selection come in */
    g_autofree char *copied = copied_text (GTK_WIDGET (status));
    g_test_message ("second %u: copied \"%s\"", second, copied);
    g_assert_cmpstr (copied, ==, expected);
    g_assert_true (gtk_root_get_focus (GTK_ROOT (window)) == GTK_WIDGET (status));
  }
  int device_chars = g_utf8_strlen (device, -1);
  gtk_label_select_region (status, 8, device_chars);
  drmad_window_set_status (window, "%s · elapsed %u s", device, 4);
  iterate_for (0.3);
  g_autofree char *copied = copied_text (GTK_WIDGET (status));
  g_assert_cmpstr (copied, ==, device + strlen ("device: "));
  gtk_label_select_region (status, device_chars + 3, device_chars + 12);   /* "elapsed 4" */
  drmad_window_set_status (window, "%s · elapsed %u s", device, 5);
  iterate_for (0.3);
  g_assert_false (gtk_label_get_selection_bounds (status, &start, &end));   /* not "elapsed 5" unasked */
  close_window (window);
}

/* Each header-bar button with a key says it in its tooltip, which is its
 * description to a screen reader too: Start said Ctrl+Return, the settings
 * toggle F9 and the menu F10, but Stop, Open run… and Export… said nothing
 * of Ctrl+., Ctrl+O and Ctrl+E (nor did Orca read them). */
static void
test_a11y_button_keys (void)
{
  SKIP_WITHOUT_DISPLAY ();
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1024, 600);
  const char *actions[] = { "win.start", "win.stop", "win.open-run", "win.export" };
  for (guint i = 0; i < G_N_ELEMENTS (actions); i++) {
    GtkWidget *button = find_action_button (GTK_WIDGET (window), actions[i]);
    g_assert_nonnull (button);
    g_auto (GStrv) accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app), actions[i]);
    g_assert_nonnull (accels[0]);
    guint key;
    GdkModifierType mods;
    g_assert_true (gtk_accelerator_parse (accels[0], &key, &mods));
    g_autofree char *label = gtk_accelerator_get_label (key, mods);
    const char *tooltip = gtk_widget_get_tooltip_text (button);
    g_test_message ("%s: %s; tooltip: %s", actions[i], label, tooltip);
    g_assert_nonnull (tooltip);
    if (!strstr (tooltip, label))
      g_error ("the %s button's tooltip does not name its key %s: %s", actions[i], label, tooltip);
    gtk_test_accessible_assert_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, tooltip);
  }
  close_window (window);
}

/* A plot's accessible description says what it shows: after a run folder
 * is opened, the loss plot's holds the newest train loss, validation loss
 * and validation error (in %), as history.csv records them (the numbers
 * read here from the file; it said only what the keys do). A plot with no
 * data says so. */
static void
test_a11y_plot_values (void)
{
  if (!have_display_data_and_device ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-a11y", NULL);
  g_autofree char *run = g_build_filename (dir, "run", NULL);
  make_tiny_run (run, "1", "784,16,10");
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1024, 600);
  DrmadPlotView *loss = drmad_window_get_plot_view (window, 2);
  g_assert_nonnull (strstr (drmad_plot_view_get_description (loss), "no data yet"));
  drmad_window_open_run (window, run);
  g_assert_cmpfloat (wait_until (window, idle, 30), >=, 0);
  g_assert_cmpstr (drmad_window_get_run_folder (window), ==, run);
  const char *text = drmad_plot_view_get_description (loss);
  g_test_message ("%s", text);
  gtk_test_accessible_assert_property (GTK_ACCESSIBLE (loss), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, text);
  struct { const char *name, *column; double scale; } shown[] = {
    { "train loss (mean over 30 steps)", "train_loss", 1 },
    { "validation loss", "val_loss", 1 },
    { "validation error", "val_error", 100 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (shown); i++) {
    double expected = shown[i].scale * history_last_value (run, shown[i].column);
    double got = described_value (text, shown[i].name, 2);
    g_test_message ("%s: %g described, %g in history.csv", shown[i].name, got, expected);
    g_assert_true (isfinite (expected));
    g_assert_cmpfloat_with_epsilon (got, expected, 5e-4 * fabs (expected) + 1e-12);
  }
  close_window (window);
  remove_tree (dir);
}

/* The plots' zoom from the keys: + (Shift+= as it comes on many layouts)
 * and = zoom the x axis in around the read-out's point, which stays in
 * view, − out, and 0 shows all again (only the wheel and a double click
 * did). */
static void
test_keyboard_zoom (void)
{
  SKIP_WITHOUT_DISPLAY ();
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1440, 900);
  GtkWidget *widget = GTK_WIDGET (drmad_window_get_plot_view (window, 2));
  DrmadPlotView *view = DRMAD_PLOT_VIEW (widget);
  DrmadPlot *plot = drmad_plot_new ("Loss", "meta-iteration", "loss", FALSE);
  DrmadPlotSeries *series = drmad_plot_add_series (plot, "validation loss", 0, 1);
  for (guint i = 1; i <= 40; i++)
    drmad_plot_series_append (series, i, 1.0 / i);
  drmad_plot_view_set_plot (view, plot);
  g_assert_true (gtk_widget_grab_focus (widget));
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  double lo0, hi0, lo, hi;
  drmad_plot_get_x_range (drmad_plot_view_get_plot (view), width, height, &lo0, &hi0);
  g_assert_true (press (widget, GDK_KEY_Home));
  for (guint i = 0; i < 9; i++)
    g_assert_true (press (widget, GDK_KEY_Right));
  g_assert_cmpstr (drmad_plot_view_get_hover_text (view), ==, "validation loss, meta-iteration 10: 0.1");
  gboolean handled = FALSE;
  g_signal_emit_by_name (key_controller (widget), "key-pressed", GDK_KEY_plus, 0, GDK_SHIFT_MASK, &handled);
  g_assert_true (handled);
  g_assert_true (press (widget, GDK_KEY_equal));
  drmad_plot_get_x_range (drmad_plot_view_get_plot (view), width, height, &lo, &hi);
  g_test_message ("x from %g to %g, zoomed in twice: %g to %g", lo0, hi0, lo, hi);
  g_assert_cmpfloat (hi - lo, <, 0.7 * (hi0 - lo0));
  g_assert_cmpfloat (lo, <=, 10);
  g_assert_cmpfloat (hi, >=, 10);
  double zoomed = hi - lo;
  g_assert_true (press (widget, GDK_KEY_minus));
  drmad_plot_get_x_range (drmad_plot_view_get_plot (view), width, height, &lo, &hi);
  g_assert_cmpfloat (hi - lo, >, 1.2 * zoomed);
  g_assert_true (press (widget, GDK_KEY_0));
  drmad_plot_get_x_range (drmad_plot_view_get_plot (view), width, height, &lo, &hi);
  g_assert_cmpfloat (lo, ==, lo0);
  g_assert_cmpfloat (hi, ==, hi0);
  g_assert_cmpstr (drmad_plot_view_get_hover_text (view), ==, "validation loss, meta-iteration 10: 0.1");
  /* 0 as a French (AZERTY) layout types it, Shift+à: the keyval 0 with
   * Shift held (it was passed over); Shift+- types _ and zooms nothing */
  g_assert_true (press (widget, GDK_KEY_plus));
  handled = FALSE;
  g_signal_emit_by_name (key_controller (widget), "key-pressed", GDK_KEY_0, 0, GDK_SHIFT_MASK, &handled);
  g_assert_true (handled);
  drmad_plot_get_x_range (drmad_plot_view_get_plot (view), width, height, &lo, &hi);
  g_assert_cmpfloat (lo, ==, lo0);
  g_assert_cmpfloat (hi, ==, hi0);
  handled = TRUE;
  g_signal_emit_by_name (key_controller (widget), "key-pressed", GDK_KEY_underscore, 0, GDK_SHIFT_MASK, &handled);
  g_assert_false (handled);
  close_window (window);
}

/* The zoom keys with the pointer's read-out up (a click gave the plot the
 * focus, and the pointer rests on a point): the read-out stays the point
 * drawn under the pointer. The keys zoomed around the middle and left the
 * read-out and its ring where the point had been, over another point or
 * none; the wheel refits the y axis to what is in view, as the keys do. */
static void
test_keyboard_zoom_pointer (void)
{
  SKIP_WITHOUT_DISPLAY ();
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1440, 900);
  GtkWidget *widget = GTK_WIDGET (drmad_window_get_plot_view (window, 2));
  DrmadPlotView *view = DRMAD_PLOT_VIEW (widget);
  DrmadPlot *plot = drmad_plot_new ("Loss", "meta-iteration", "loss", FALSE);
  DrmadPlotSeries *series = drmad_plot_add_series (plot, "validation loss", 0, 1);
  for (guint i = 1; i <= 40; i++)
    drmad_plot_series_append (series, i, 1.0 / i);
  drmad_plot_view_set_plot (view, plot);
  g_assert_true (gtk_widget_grab_focus (widget));
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  double px, py;
  g_assert_true (drmad_plot_locate (drmad_plot_view_get_plot (view), width, height, 0, 29, &px, &py));
  g_assert_true (drmad_plot_view_hover (view, px, py));
  g_assert_cmpstr (drmad_plot_view_get_hover_text (view), ==, "validation loss, meta-iteration 30: 0.03333");
  const guint keys[] = { GDK_KEY_plus, GDK_KEY_plus, GDK_KEY_minus, GDK_KEY_plus, GDK_KEY_0 };
  for (guint k = 0; k < G_N_ELEMENTS (keys); k++) {
    g_assert_true (press (widget, keys[k]));
    const char *text = drmad_plot_view_get_hover_text (view);
    double x, y;
    const char *at = text ? strstr (text, "meta-iteration ") : NULL;
    guint iteration = at ? (guint) g_ascii_strtoull (at + strlen ("meta-iteration "), NULL, 10) : 0;
    gboolean drawn = iteration >= 1
                     && drmad_plot_locate (drmad_plot_view_get_plot (view), width, height, 0, iteration - 1, &x, &y);
    g_test_message ("%s: read-out %s, its point drawn at %.1f, %.1f, the pointer at %.1f, %.1f",
                    gdk_keyval_name (keys[k]), text ? text : "none", drawn ? x : NAN, drawn ? y : NAN, px, py);
    /* none, or the point within the ring's reach of the pointer */
    g_assert_true (!text || (drawn && hypot (x - px, y - py) <= 12));
  }
  g_assert_nonnull (drmad_plot_view_get_hover_text (view));
  close_window (window);
}

/* In a locale that writes 0,5 (de_DE, compiled here with localedef), a
 * plot's read-out and its description (a screen reader's) give numbers as
 * its axes label them, and as the README and history.csv do: 0.7715. They
 * said "0,7715" beside axes labelled 0.5 and 1 (drmad_plot's labels have a
 * decimal point in every locale), and the tests that read them back with
 * g_ascii_strtod failed in such a locale. */
static void
test_plot_decimal_point (void)
{
  SKIP_WITHOUT_DISPLAY ();
  g_autofree char *dir = test_tmp_dir ("drmad-locale", NULL);
  g_auto (GStrv) env = decimal_comma_environ (dir);
  if (!env)
    return;
  g_autofree char *saved = g_strdup (setlocale (LC_NUMERIC, NULL)), *saved_path = g_strdup (g_getenv ("LOCPATH"));
  g_setenv ("LOCPATH", dir, TRUE);
  gboolean loaded = setlocale (LC_NUMERIC, "de_DE.UTF-8") != NULL;
  /* the programs the later tests start look for their locale where they did */
  if (saved_path)
    g_setenv ("LOCPATH", saved_path, TRUE);
  else
    g_unsetenv ("LOCPATH");
  if (!loaded) {
    g_test_skip ("de_DE.UTF-8 made by localedef does not load");
    remove_tree (dir);
    return;
  }
  g_autofree char *comma = g_strdup_printf ("%.1f", 0.5);
  g_assert_cmpstr (comma, ==, "0,5");
  GtkWidget *widget = g_object_ref_sink (drmad_plot_view_new ());
  DrmadPlotView *view = DRMAD_PLOT_VIEW (widget);
  DrmadPlot *plot = drmad_plot_new ("Loss", "meta-iteration", "loss", FALSE);
  plot->y2_label = g_strdup ("validation error (%)");
  plot->y2_percent = TRUE;
  DrmadPlotSeries *loss = drmad_plot_add_series (plot, "validation loss", 0, 1);
  DrmadPlotSeries *error = drmad_plot_add_series (plot, "validation error", 1, 1);
  DrmadPlotSeries *l2 = drmad_plot_add_series (plot, "layer 1", 2, 1);
  error->right_axis = TRUE;
  drmad_plot_series_append (loss, 1, 0.9);
  drmad_plot_series_append (loss, 2, 0.7715);
  drmad_plot_series_append (error, 2, 0.235);
  drmad_plot_series_append (l2, 2, 1.234e-4);
  drmad_plot_view_set_plot (view, plot);
  g_auto (GStrv) ticks = drmad_plot_get_tick_labels (drmad_plot_view_get_plot (view), 800, 500, DRMAD_PLOT_AXIS_Y);
  g_autofree char *joined = g_strjoinv (" | ", ticks);
  const char *description = drmad_plot_view_get_description (view);
  g_test_message ("y axis: %s; description: %s", joined, description);
  g_assert_nonnull (strchr (joined, '.'));   /* the axes: a decimal point */
  g_assert_true (g_str_has_prefix (description, "Newest values: validation loss, meta-iteration 2: 0.7715; "
                                   "validation error, meta-iteration 2: 23.5 %; layer 1, meta-iteration 2: 1.23e-4. "));
  g_autofree char *point = drmad_plot_describe_point (drmad_plot_view_get_plot (view), 0, 0);
  g_assert_cmpstr (point, ==, "validation loss, meta-iteration 1: 0.9");
  setlocale (LC_NUMERIC, saved);
  g_object_unref (widget);
  remove_tree (dir);
}

static gboolean numbers_checked;

/* Whether @text writes a number with a decimal comma ("0,7715"). */
static gboolean
has_decimal_comma (const char *text)
{
  g_autoptr (GRegex) comma = g_regex_new ("[0-9],[0-9]", 0, 0, NULL);
  return g_regex_match (comma, text, 0, NULL);
}

/* In the window drmad_application_main() opened (test_window_decimal_point):
 * the summary of a meta-iteration and the status line of a finished run. */
static gboolean
check_window_numbers (gpointer unused)
{
  GApplication *app = g_application_get_default ();
  GList *windows = app ? gtk_application_get_windows (GTK_APPLICATION (app)) : NULL;
  if (!windows || !DRMAD_IS_WINDOW (windows->data))
    return G_SOURCE_CONTINUE;   /* not opened yet */
  DrmadWindow *window = windows->data;
  GArray *rows = g_array_new (FALSE, FALSE, sizeof (DrmadJobRow));
  DrmadJobRow row = { .iteration = 2, .train_loss = 1.289, .val_loss = 0.7715, .val_error = 0.235, .seconds = 1.5 };
  g_array_append_val (rows, row);
  drmad_window_set_rows (window, rows);
  drmad_window_update_summary (window);
  const char *summary = gtk_label_get_text (window->summary_label);
  g_test_message ("summary: %s", summary);
  g_assert_nonnull (strstr (summary, "validation loss 0.7715"));
  g_assert_nonnull (strstr (summary, "validation error 23.50 %"));
  g_assert_false (has_decimal_comma (summary));
  DrmadRunnerFinish finish = { .outcome = DRMAD_JOB_DONE, .seconds = 12.5 };
  finish.result.initial_test_error = 0.2;
  finish.result.learned_test_error = 0.1234;
  finish.result.best_test_error = 0.125;
  finish.result.best_val_loss = 0.7;
  g_signal_emit_by_name (window->runner, "finished", &finish);
  const char *status = drmad_window_get_status (window);
  g_test_message ("status: %s", status);
  g_assert_nonnull (strstr (status, "test error 20.00 % with the initial values, 12.34 % with the learned ones"));
  g_assert_false (has_decimal_comma (status));
  g_assert_false (has_decimal_comma (gtk_label_get_text (window->summary_label)));   /* the final line */
  /* and whatever else the window formats, the library's messages with it */
  g_autofree char *half = g_strdup_printf ("%.1f", 0.5);
  g_assert_cmpstr (half, ==, "0.5");
  numbers_checked = TRUE;
  g_application_quit (app);
  return G_SOURCE_REMOVE;
}

/* In a locale that writes 0,5 (de_DE, compiled here with localedef), the
 * window's summary and status line write numbers as its plots' axes and
 * read-outs do, and as the program's text output and its files do: 0.7715.
 * They said "0,7715" there (the window took LC_NUMERIC from the locale,
 * the terminal's drmad the C locale's). The window as the program runs it,
 * through drmad_application_main(), in a subprocess started in that locale. */
static void
test_window_decimal_point (void)
{
  SKIP_WITHOUT_DISPLAY ();
  if (g_test_subprocess ()) {
    g_autofree char *comma = g_strdup_printf ("%.1f", 0.5);
    g_assert_cmpstr (comma, ==, "0,5");   /* main()'s gtk_init_check() took the locale from LC_ALL */
    g_timeout_add (50, check_window_numbers, NULL);
    char *argv[] = { "drmad", NULL };
    g_assert_cmpint (drmad_application_main (1, argv), ==, 0);
    g_assert_true (numbers_checked);
    return;
  }
  g_autofree char *dir = test_tmp_dir ("drmad-locale", NULL);
  g_auto (GStrv) env = decimal_comma_environ (dir);
  if (!env) {
    remove_tree (dir);
    return;
  }
  g_autofree char *saved_path = g_strdup (g_getenv ("LOCPATH")), *saved_all = g_strdup (g_getenv ("LC_ALL"));
  g_setenv ("LOCPATH", dir, TRUE);
  g_setenv ("LC_ALL", "de_DE.UTF-8", TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDOUT | G_TEST_SUBPROCESS_INHERIT_STDERR);
  if (saved_path)
    g_setenv ("LOCPATH", saved_path, TRUE);
  else
    g_unsetenv ("LOCPATH");
  if (saved_all)
    g_setenv ("LC_ALL", saved_all, TRUE);
  else
    g_unsetenv ("LC_ALL");
  remove_tree (dir);
  g_test_trap_assert_passed ();
}

/* The distinct labels of @view's x axis. */
static guint
x_labels (DrmadPlotView *view)
{
  GtkWidget *widget = GTK_WIDGET (view);
  g_auto (GStrv) labels = drmad_plot_get_tick_labels (drmad_plot_view_get_plot (view), gtk_widget_get_width (widget),
                                                      gtk_widget_get_height (widget), DRMAD_PLOT_AXIS_X);
  guint distinct = 0;
  for (guint i = 0; labels[i]; i++)
    distinct += i == 0 || strcmp (labels[i], labels[i - 1]) != 0;
  return distinct;
}

/* + held down in a plot with no data (the window's before a run) or one
 * point: every press zooms in or leaves the range as it is, never out, and
 * the empty plot's x axis keeps distinct labels. Some 160 presses in, the
 * range was a few units in the last place of its values: the axis drew one
 * label, then the range shrank to a single value and the plot jumped back
 * to showing all (and before /plot/zoom-far-in, its ticks filled memory). */
static void
test_keyboard_zoom_far_in (void)
{
  SKIP_WITHOUT_DISPLAY ();
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1024, 600);
  GtkWidget *widget = GTK_WIDGET (drmad_window_get_plot_view (window, 2));
  DrmadPlotView *view = DRMAD_PLOT_VIEW (widget);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  for (guint points = 0; points <= 1; points++) {
    DrmadPlot *plot = drmad_plot_new ("Loss", "meta-iteration", "loss", FALSE);
    if (points)
      drmad_plot_series_append (drmad_plot_add_series (plot, "validation loss", 0, 1), 3, 0.5);
    drmad_plot_view_set_plot (view, plot);
    g_assert_true (gtk_widget_grab_focus (widget));
    double lo0, hi0, lo, hi, span;
    drmad_plot_get_x_range (drmad_plot_view_get_plot (view), width, height, &lo0, &hi0);
    span = hi0 - lo0;
    for (guint i = 0; i < 250; i++) {
      g_assert_true (press (widget, GDK_KEY_plus));
      drmad_plot_get_x_range (drmad_plot_view_get_plot (view), width, height, &lo, &hi);
      if (!(hi - lo <= span) || !(hi > lo) || (!points && x_labels (view) < 2))
        g_test_message ("press %u: x from %.17g to %.17g, %u labels", i + 1, lo, hi, x_labels (view));
      g_assert_true (isfinite (lo) && isfinite (hi));
      g_assert_cmpfloat (hi, >, lo);
      g_assert_cmpfloat (hi - lo, <=, span);
      if (!points)
        g_assert_cmpuint (x_labels (view), >=, 2);
      span = hi - lo;
    }
    g_test_message ("%u point%s: x from %g to %g, after 250 presses from %.17g to %.17g", points,
                    points == 1 ? "" : "s", lo0, hi0, lo, hi);
    g_assert_cmpfloat (span, <, 1e-6 * (hi0 - lo0));
    iterate_for (0.1);   /* drawn so */
    g_assert_true (press (widget, GDK_KEY_minus));
    drmad_plot_get_x_range (drmad_plot_view_get_plot (view), width, height, &lo, &hi);
    g_assert_cmpfloat (hi - lo, >, span);
    g_assert_true (press (widget, GDK_KEY_0));
    drmad_plot_get_x_range (drmad_plot_view_get_plot (view), width, height, &lo, &hi);
    g_assert_cmpfloat (lo, ==, lo0);
    g_assert_cmpfloat (hi, ==, hi0);
  }
  close_window (window);
}

/* ---- the windows the main window opens, from the keyboard ---- */

/* @keyval with @state pressed in @window, delivered as GTK 4 does: from the
 * widget with the focus (or the window) up to the window, each widget's
 * key controllers and shortcuts of the bubble phase in turn, until one
 * takes it. TRUE when one did. The window's own key controllers are passed
 * over: GtkShortcutsWindow's hands typed text on to its search entry, which
 * needs a real event (gtk_event_controller_key_forward), and takes neither
 * Escape nor Ctrl+W, which type nothing. */
static gboolean
send_key (GtkWindow *window, guint keyval, GdkModifierType state)
{
  g_autoptr (GtkShortcutTrigger) pressed = gtk_keyval_trigger_new (keyval, state);
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (window));
  for (GtkWidget *widget = focus ? focus : GTK_WIDGET (window); widget; widget = gtk_widget_get_parent (widget)) {
    g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (widget);
    for (guint i = 0; i < g_list_model_get_n_items (controllers); i++) {
      g_autoptr (GtkEventController) controller = g_list_model_get_item (controllers, i);
      if (gtk_event_controller_get_propagation_phase (controller) != GTK_PHASE_BUBBLE)
        continue;
      gboolean handled = FALSE;
      if (GTK_IS_EVENT_CONTROLLER_KEY (controller) && widget != GTK_WIDGET (window))
        g_signal_emit_by_name (controller, "key-pressed", keyval, 0, state, &handled);
      else if (GTK_IS_SHORTCUT_CONTROLLER (controller))
        for (guint k = 0; k < g_list_model_get_n_items (G_LIST_MODEL (controller)) && !handled; k++) {
          g_autoptr (GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (controller), k);
          if (gtk_shortcut_trigger_equal (gtk_shortcut_get_trigger (shortcut), pressed))
            handled = gtk_shortcut_action_activate (gtk_shortcut_get_action (shortcut), 0, widget,
                                                    gtk_shortcut_get_arguments (shortcut));
        }
      if (handled)
        return TRUE;
    }
  }
  return FALSE;
}

static const struct {
  guint keyval;
  GdkModifierType state;
  const char *name;
} close_keys[] = {
  { GDK_KEY_Escape, 0, "Escape" },
  { GDK_KEY_w, GDK_CONTROL_MASK, "Ctrl+W" },
};

static GtkWindow *watched;
static gboolean watched_active (DrmadWindow *w)
{
  return gtk_window_is_active (watched) && !gtk_window_is_active (GTK_WINDOW (w));
}
static gboolean main_active (DrmadWindow *w) { return gtk_window_is_active (GTK_WINDOW (w)); }

/* @secondary shown over @window takes the focus (a key then reaches it). */
static void
assert_takes_focus (DrmadWindow *window, GtkWindow *secondary)
{
  watched = secondary;
  g_assert_cmpfloat (wait_until (window, watched_active, 10), >=, 0);
}

/* Closed by key @k: @secondary (which the caller holds a reference to) is
 * hidden (destroyed, or hidden to show again), and the focus is back in
 * @window, whose keys work again. */
static void
assert_closed_by (DrmadWindow *window, GtkWindow *secondary, guint k)
{
  g_test_message ("%s in %s", close_keys[k].name, G_OBJECT_TYPE_NAME (secondary));
  g_assert_true (send_key (secondary, close_keys[k].keyval, close_keys[k].state));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (secondary)));
  g_assert_cmpfloat (wait_until (window, main_active, 10), >=, 0);
}

/* Compare runs closes with Escape and Ctrl+W as with its window manager's
 * close: while it loads (checkpoints made slow to read, as in
 * /gui/compare-loading) the load is cancelled; loaded, a plot's read-out
 * goes first with Escape. The focus comes back to the main window each
 * time (a bare X server gives it to no window). Its plots take the keys as
 * the main window's do: the first has the focus once loaded, Tab and
 * Shift+Tab go through the three, and the arrows read out history.csv's
 * values, the read-out the plot's accessible name. In a subprocess, whose
 * environment the hook's variable may change. */
static void
test_keyboard_compare (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
  if (!g_test_subprocess ()) {
    if (!have_display_data_and_device ())
      return;
    g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDOUT | G_TEST_SUBPROCESS_INHERIT_STDERR);
    g_test_trap_assert_passed ();
    return;
  }
  g_autofree char *dir = test_tmp_dir ("drmad-compare-keys", NULL);
  char *folders[3] = { NULL };
  make_slow_runs (dir, folders);
  g_setenv ("DRMAD_CHECKPOINT_CHUNK", "1", TRUE);
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1024, 600);
  g_assert_cmpfloat (wait_until (window, main_active, 10), >=, 0);

  for (guint k = 0; k < G_N_ELEMENTS (close_keys); k++) {
    g_autoptr (GtkWidget) compare = g_object_ref (drmad_window_compare_runs (window, (const char *const *) folders));
    g_autoptr (GCancellable) load = g_object_ref (window->compare_cancellable);
    assert_takes_focus (window, GTK_WINDOW (compare));
    g_assert_true (drmad_window_is_comparing (window));   /* still loading */
    g_assert_false (g_cancellable_is_cancelled (load));
    assert_closed_by (window, GTK_WINDOW (compare), k);
    g_assert_true (g_cancellable_is_cancelled (load));
    g_assert_cmpfloat (wait_until (window, comparing_done, 120), >=, 0);
    iterate_for (0.2);
    g_assert_cmpuint (count_comparisons (window), ==, 0);
    g_assert_null (drmad_window_get_error (window));
  }
  g_unsetenv ("DRMAD_CHECKPOINT_CHUNK");   /* no load's thread reads it now */

  for (guint k = 0; k < G_N_ELEMENTS (close_keys); k++) {
    g_autoptr (GtkWidget) compare = g_object_ref (drmad_window_compare_runs (window, (const char *const *) folders));
    g_assert_cmpfloat (wait_until (window, comparing_done, 120), >=, 0);
    g_assert_null (drmad_window_get_error (window));
    assert_takes_focus (window, GTK_WINDOW (compare));
    GtkWidget *views[3], *child = gtk_widget_get_first_child (gtk_window_get_child (GTK_WINDOW (compare)));
    for (guint i = 0; i < 3; i++, child = gtk_widget_get_next_sibling (child)) {
      g_assert_true (DRMAD_IS_PLOT_VIEW (child));
      views[i] = child;
    }
    g_assert_true (gtk_root_get_focus (GTK_ROOT (compare)) == views[0]);
    if (k == 0) {
      gtk_window_set_focus_visible (GTK_WINDOW (compare), TRUE);   /* as a key press sets it */
      for (guint i = 1; i < 3; i++) {
        g_assert_true (gtk_widget_child_focus (GTK_WIDGET (compare), GTK_DIR_TAB_FORWARD));
        g_assert_true (gtk_root_get_focus (GTK_ROOT (compare)) == views[i]);
        g_assert_true (gtk_widget_has_visible_focus (views[i]));
      }
      for (guint i = 2; i-- > 0;) {
        g_assert_true (gtk_widget_child_focus (GTK_WIDGET (compare), GTK_DIR_TAB_BACKWARD));
        g_assert_true (gtk_root_get_focus (GTK_ROOT (compare)) == views[i]);
      }
      /* the validation losses, one series a run, named by folder and seed */
      DrmadPlotView *val = DRMAD_PLOT_VIEW (views[0]);
      const char *title = drmad_plot_view_get_plot (val)->title;
      const char *names[] = { "first: seed=1", "second: seed=2" };
      const guint keyvals[] = { GDK_KEY_End, GDK_KEY_Down };
      for (guint r = 0; r < 2; r++) {
        g_assert_true (send_key (GTK_WINDOW (compare), keyvals[r], 0));
        const char *text = drmad_plot_view_get_hover_text (val);
        g_assert_nonnull (text);
        double expected = history_last_value (folders[r], "val_loss");
        double got = described_value (text, names[r], 2);
        g_test_message ("read out \"%s\"; %g in %s/history.csv", text, expected, folders[r]);
        g_assert_true (isfinite (expected));
        g_assert_cmpfloat_with_epsilon (got, expected, 5e-4 * fabs (expected) + 1e-12);
        g_autofree char *label = g_strdup_printf ("%s: %s", title, text);
        gtk_test_accessible_assert_property (GTK_ACCESSIBLE (val), GTK_ACCESSIBLE_PROPERTY_LABEL, label);
      }
      /* Escape: the read-out goes, the window stays */
      g_assert_true (send_key (GTK_WINDOW (compare), GDK_KEY_Escape, 0));
      g_assert_null (drmad_plot_view_get_hover_text (val));
      gtk_test_accessible_assert_property (GTK_ACCESSIBLE (val), GTK_ACCESSIBLE_PROPERTY_LABEL, title);
      g_assert_true (gtk_widget_get_visible (compare));
    }
    assert_closed_by (window, GTK_WINDOW (compare), k);
    iterate_for (0.1);
    g_assert_cmpuint (count_comparisons (window), ==, 0);
  }
  close_window (window);
  g_free (folders[0]);
  g_free (folders[1]);
  remove_tree (dir);
}

/* The visible window of type @type shown over @window (an About dialog). */
static GtkWindow *
shown_over (DrmadWindow *window, GType type)
{
  GtkWindow *found = NULL;
  g_autoptr (GListModel) toplevels = gtk_window_get_toplevels ();
  g_object_ref (toplevels);
  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++) {
    g_autoptr (GtkWindow) other = g_list_model_get_item (toplevels, i);
    if (G_TYPE_CHECK_INSTANCE_TYPE (other, type) && gtk_widget_get_visible (GTK_WIDGET (other))
        && gtk_window_get_transient_for (other) == GTK_WINDOW (window))
      found = other;
  }
  return found;
}

/* The popover shown from @view (its menu), or NULL. */
static GtkWidget *
shown_popover (GtkWidget *view)
{
  for (GtkWidget *child = gtk_widget_get_first_child (view); child; child = gtk_widget_get_next_sibling (child))
    if (GTK_IS_POPOVER (child) && gtk_widget_get_visible (child))
      return child;
  return NULL;
}

static GtkWidget *laid_out_view;
static gboolean view_laid_out (DrmadWindow *w) { return gtk_widget_get_width (laid_out_view) > 0; }

/* In a loaded comparison, Escape with a plot's menu open (the Menu key)
 * closes the menu only, as in the main window; the next Escape closes the
 * comparison. The menu is a popover of the plot: the keys typed in it go up
 * through the plot to the window, whose Escape must come after the
 * popover's own. Ctrl+W with the menu open closes the comparison, the menu
 * with it: the plot was finalized with the menu still its child (a GTK
 * warning, fatal here). */
static void
test_keyboard_compare_menu (void)
{
  if (!have_display_data_and_device ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-compare-menu", NULL);
  char *folders[3] = { NULL };
  make_slow_runs (dir, folders);
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1024, 600);
  g_assert_cmpfloat (wait_until (window, main_active, 10), >=, 0);
  g_autoptr (GtkWidget) compare = g_object_ref (drmad_window_compare_runs (window, (const char *const *) folders));
  g_assert_cmpfloat (wait_until (window, comparing_done, 120), >=, 0);
  g_assert_null (drmad_window_get_error (window));
  assert_takes_focus (window, GTK_WINDOW (compare));
  GtkWidget *view = gtk_root_get_focus (GTK_ROOT (compare));
  g_assert_true (DRMAD_IS_PLOT_VIEW (view));
  /* laid out, as it is before a key can be typed in it: the menu points
   * into it */
  laid_out_view = view;
  g_assert_cmpfloat (wait_until (window, view_laid_out, 10), >=, 0);
  g_assert_true (send_key (GTK_WINDOW (compare), GDK_KEY_Menu, 0));
  iterate_for (0.2);
  GtkWidget *menu = shown_popover (view);
  g_assert_nonnull (menu);
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (compare));
  g_test_message ("the focus with the menu open: %s", focus ? G_OBJECT_TYPE_NAME (focus) : "none");
  g_assert_true (focus && gtk_widget_is_ancestor (focus, menu));
  g_assert_true (send_key (GTK_WINDOW (compare), GDK_KEY_Escape, 0));
  iterate_for (0.2);
  g_assert_null (shown_popover (view));
  g_assert_true (gtk_widget_get_visible (compare));
  g_assert_true (send_key (GTK_WINDOW (compare), GDK_KEY_Escape, 0));
  g_assert_false (gtk_widget_get_visible (compare));
  g_assert_cmpfloat (wait_until (window, main_active, 10), >=, 0);
  g_autoptr (GtkWidget) second = g_object_ref (drmad_window_compare_runs (window, (const char *const *) folders));
  g_assert_cmpfloat (wait_until (window, comparing_done, 120), >=, 0);
  assert_takes_focus (window, GTK_WINDOW (second));
  view = gtk_root_get_focus (GTK_ROOT (second));
  laid_out_view = view;
  g_assert_cmpfloat (wait_until (window, view_laid_out, 10), >=, 0);
  g_assert_true (send_key (GTK_WINDOW (second), GDK_KEY_Menu, 0));
  iterate_for (0.2);
  g_assert_nonnull (shown_popover (view));
  g_assert_true (send_key (GTK_WINDOW (second), GDK_KEY_w, GDK_CONTROL_MASK));
  iterate_for (0.2);
  g_assert_false (gtk_widget_get_visible (second));
  g_assert_cmpfloat (wait_until (window, main_active, 10), >=, 0);
  close_window (window);
  g_free (folders[0]);
  g_free (folders[1]);
  remove_tree (dir);
}

/* GTK 4.8's shortcuts window warns as it is first laid out, whatever it
 * lists (a bare program showing it does too): "GtkLabel … reported min
 * width -4", and without an SVG loader (librsvg) it cannot load its search
 * icon. Those, recorded since record_begin(), are let through; any other
 * message fails. */
static void
record_end_shortcuts_window (void)
{
  recording = FALSE;
  for (guint i = 0; i < recorded->len; i++) {
    const char *message = recorded->pdata[i];
    g_test_message ("the shortcuts window logged: %s", message);
    if (!strstr (message, "reported min width -4") && !strstr (message, "Failed to load icon"))
      g_error ("the shortcuts window logged: %s", message);
  }
}

/* The keys of @action (an accelerator @app sets) pressed in
 * @window, as GTK delivers them: a shortcut of the window's own controller
 * for the application's accelerators, which GtkWindow runs in the capture
 * phase, before any widget sees the key, and has only while the
 * application holds the window. TRUE when it took them. */
static gboolean
send_app_key (DrmadApplication *app, GtkWindow *window, const char *action)
{
  g_auto (GStrv) accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app), action);
  g_assert_nonnull (accels[0]);
  guint keyval;
  GdkModifierType state;
  g_assert_true (gtk_accelerator_parse (accels[0], &keyval, &state));
  g_autoptr (GtkShortcutTrigger) pressed = gtk_keyval_trigger_new (keyval, state);
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (window));
  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++) {
    g_autoptr (GtkEventController) controller = g_list_model_get_item (controllers, i);
    if (!GTK_IS_SHORTCUT_CONTROLLER (controller)
        || gtk_event_controller_get_propagation_phase (controller) != GTK_PHASE_CAPTURE)
      continue;
    for (guint k = 0; k < g_list_model_get_n_items (G_LIST_MODEL (controller)); k++) {
      g_autoptr (GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (controller), k);
      if (gtk_shortcut_trigger_equal (gtk_shortcut_get_trigger (shortcut), pressed))
        return gtk_shortcut_action_activate (gtk_shortcut_get_action (shortcut), 0, GTK_WIDGET (window),
                                             gtk_shortcut_get_arguments (shortcut));
    }
  }
  return FALSE;
}

/* Every key @window's keyboard shortcuts window lists works there: an
 * accelerator of the application's names an action that @window or the
 * application has (app.quit, win.show-help-overlay), and any other key a
 * widget of @window takes, sent to the one with the focus (a plot's
 * arrows, zoom and menu keys, then Escape and Ctrl+W, which close it).
 * Compare runs listed the main window's Start, Stop, Open a run folder,
 * Export, F9 and F10, which do nothing there. The caller holds @window,
 * which a close key may have closed. */
static void
assert_listed_keys_work (DrmadApplication *app, GtkWindow *window)
{
  GtkShortcutsWindow *overlay = gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (window));
  g_assert_nonnull (overlay);
  g_autoptr (GPtrArray) listed = g_ptr_array_new_with_free_func (g_free);
  collect_accelerators (GTK_WIDGET (overlay), listed);
  g_assert_cmpuint (listed->len, >, 0);
  g_autoptr (GHashTable) tried = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < listed->len; i++) {
    g_auto (GStrv) keys = g_strsplit (listed->pdata[i], " ", -1);
    for (char **key = keys; *key; key++) {
      guint keyval;
      GdkModifierType state;
      g_assert_true (gtk_accelerator_parse (*key, &keyval, &state));
      char *name = gtk_accelerator_name (keyval, state);
      if (!g_hash_table_add (tried, name))
        continue;   /* listed twice (Escape: a plot's, then the window's) */
      g_auto (GStrv) actions = gtk_application_get_actions_for_accel (GTK_APPLICATION (app), name);
      gboolean works = FALSE;
      for (char **a = actions; a && *a && !works; a++)
        works = g_str_has_prefix (*a, "app.") ? g_action_group_has_action (G_ACTION_GROUP (app), *a + 4)
                : g_str_has_prefix (*a, "win.") && g_action_group_has_action (G_ACTION_GROUP (window), *a + 4);
      if (!actions || !actions[0])
        works = send_key (window, keyval, state);
      g_test_message ("%s lists %s: %s", gtk_window_get_title (window), name,
                      actions && actions[0] ? actions[0] : works ? "taken" : "not taken");
      if (!works)
        g_error ("the shortcuts window of %s lists %s (%s), which does nothing there", gtk_window_get_title (window),
                 name, actions && actions[0] ? actions[0] : "no action");
    }
  }
}

static GtkWindow *compare_shown;
static gboolean compare_active (DrmadWindow *w) { return gtk_window_is_active (compare_shown); }
static DrmadRunner *quit_runner;
static Gone quit_window_gone, quit_compare_gone;
static gboolean quit_done (DrmadWindow *unused)
{
  return !drmad_runner_is_running (quit_runner) && quit_window_gone.finalized && quit_compare_gone.finalized;
}

/* Compare runs is a window of the application's, as the main window is:
 * the application's keys work there (they did nothing: GTK gives them only
 * to the windows the application holds). Ctrl+? shows the keyboard
 * shortcuts over it (Ctrl+W closes them, the focus back in Compare), and
 * every key that shortcuts window lists works there (it listed the main
 * window's Start, Open, F9…, which do nothing in Compare), and
 * Ctrl+Q quits as from the main window, which asks nothing: with a run
 * going and the comparison still loading (checkpoints made slow to read,
 * as in /gui/compare-loading), both windows go, the load is cancelled and
 * the run stops. Loaded, it goes with the main window closed. In a
 * subprocess, whose environment the hook's variable may change. */
static void
test_keyboard_compare_app_keys (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
  if (!g_test_subprocess ()) {
    if (!have_display_data_and_device ())
      return;
    g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDOUT | G_TEST_SUBPROCESS_INHERIT_STDERR);
    g_test_trap_assert_passed ();
    return;
  }
  g_autofree char *dir = test_tmp_dir ("drmad-compare-app-keys", NULL);
  char *folders[3] = { NULL };
  make_slow_runs (dir, folders);
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1024, 600);
  g_assert_cmpfloat (wait_until (window, main_active, 10), >=, 0);

  GtkWidget *compare = drmad_window_compare_runs (window, (const char *const *) folders);
  g_assert_cmpfloat (wait_until (window, comparing_done, 120), >=, 0);
  g_assert_null (drmad_window_get_error (window));
  assert_takes_focus (window, GTK_WINDOW (compare));
  g_assert_true (gtk_window_get_application (GTK_WINDOW (compare)) == GTK_APPLICATION (app));
  g_assert_nonnull (g_list_find (gtk_application_get_windows (GTK_APPLICATION (app)), compare));
  record_begin ();
  g_assert_true (send_app_key (app, GTK_WINDOW (compare), "win.show-help-overlay"));
  GtkWindow *overlay = GTK_WINDOW (gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (compare)));
  g_assert_nonnull (overlay);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (overlay)));
  g_assert_true (gtk_window_get_transient_for (overlay) == GTK_WINDOW (compare));
  gtk_window_present (overlay);   /* as a window manager gives a window it maps the focus */
  assert_takes_focus (window, overlay);
  g_object_ref (overlay);
  g_assert_true (send_key (overlay, GDK_KEY_w, GDK_CONTROL_MASK));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (overlay)));
  g_object_unref (overlay);
  compare_shown = GTK_WINDOW (compare);
  g_assert_cmpfloat (wait_until (window, compare_active, 10), >=, 0);
  record_end_shortcuts_window ();
  /* its shortcuts window lists its own keys, not the main window's */
  g_object_ref (compare);
  laid_out_view = gtk_root_get_focus (GTK_ROOT (compare));   /* the menu points into the plot */
  g_assert_true (DRMAD_IS_PLOT_VIEW (laid_out_view));
  g_assert_cmpfloat (wait_until (window, view_laid_out, 10), >=, 0);
  assert_listed_keys_work (app, GTK_WINDOW (compare));
  gtk_window_destroy (GTK_WINDOW (compare));
  g_object_unref (compare);
  iterate_for (0.1);

  const char *job[] = { "layers=784,16,10", "iters=30", "train-size=300", "val-size=200", "meta-iters=1000",
                        "method=drmad", "batch=50" };
  for (guint i = 0; i < G_N_ELEMENTS (job); i++)
    set_option (G_APPLICATION (app), job[i]);
  activate (window, "start");
  g_assert_true (drmad_window_is_running (window));
  g_setenv ("DRMAD_CHECKPOINT_CHUNK", "1", TRUE);
  compare = drmad_window_compare_runs (window, (const char *const *) folders);
  g_autoptr (GCancellable) load = g_object_ref (window->compare_cancellable);
  assert_takes_focus (window, GTK_WINDOW (compare));
  g_assert_true (drmad_window_is_comparing (window));   /* still loading */
  g_assert_true (drmad_window_is_running (window));
  g_autoptr (DrmadRunner) runner = g_object_ref (window->runner);
  quit_runner = runner;
  g_object_weak_ref (G_OBJECT (window), note_gone, &quit_window_gone);
  g_object_weak_ref (G_OBJECT (compare), note_gone, &quit_compare_gone);
  g_assert_true (send_app_key (app, GTK_WINDOW (compare), "app.quit"));
  g_assert_true (g_cancellable_is_cancelled (load));
  g_assert_null (gtk_application_get_windows (GTK_APPLICATION (app)));
  g_assert_cmpfloat (wait_until (NULL, quit_done, 120), >=, 0);
  /* the load's thread, which reads the variable, has ended: Compare's last reference was its task's */
  g_unsetenv ("DRMAD_CHECKPOINT_CHUNK");

  /* a loaded comparison goes with the main window closed, as the
   * application does (held by it now, it kept the program open) */
  window = new_window (app, 1024, 600);
  g_autoptr (GtkWidget) loaded = g_object_ref (drmad_window_compare_runs (window, (const char *const *) folders));
  g_assert_cmpfloat (wait_until (window, comparing_done, 120), >=, 0);
  g_assert_cmpuint (g_list_length (gtk_application_get_windows (GTK_APPLICATION (app))), ==, 2);
  gtk_window_close (GTK_WINDOW (window));   /* as its window manager's close button */
  iterate_for (0.1);
  g_assert_false (gtk_widget_get_visible (loaded));
  g_assert_null (gtk_application_get_windows (GTK_APPLICATION (app)));
  g_free (folders[0]);
  g_free (folders[1]);
  remove_tree (dir);
}

/* The About dialogs there are, shown or hidden (the tests before closed
 * their windows, and theirs with them). */
static guint
count_abouts (void)
{
  guint n = 0;
  GListModel *toplevels = gtk_window_get_toplevels ();
  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++) {
    g_autoptr (GtkWindow) other = g_list_model_get_item (toplevels, i);
    n += GTK_IS_ABOUT_DIALOG (other);
  }
  return n;
}

/* About drmad taken twice from the menu shows one dialog, as
 * gtk_show_about_dialog() did (each made its own, one over the other), and
 * closed with Ctrl+W it comes back as it was: the version meson gives,
 * the MIT licence. */
static void
test_about_once (void)
{
  SKIP_WITHOUT_DISPLAY ();
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1024, 600);
  g_assert_cmpfloat (wait_until (window, main_active, 10), >=, 0);
  g_assert_cmpuint (count_abouts (), ==, 0);
  g_action_group_activate_action (G_ACTION_GROUP (app), "about", NULL);
  g_action_group_activate_action (G_ACTION_GROUP (app), "about", NULL);
  iterate_for (0.1);
  g_assert_cmpuint (count_abouts (), ==, 1);
  GtkWindow *about = shown_over (window, GTK_TYPE_ABOUT_DIALOG);
  g_assert_nonnull (about);
  g_object_ref (about);
  assert_takes_focus (window, about);
  assert_closed_by (window, about, 1);
  g_action_group_activate_action (G_ACTION_GROUP (app), "about", NULL);
  iterate_for (0.1);
  g_assert_cmpuint (count_abouts (), ==, 1);
  g_assert_true (shown_over (window, GTK_TYPE_ABOUT_DIALOG) == about);
  g_assert_cmpstr (gtk_about_dialog_get_version (GTK_ABOUT_DIALOG (about)), ==, DRMAD_VERSION);
  g_assert_cmpint (gtk_about_dialog_get_license_type (GTK_ABOUT_DIALOG (about)), ==, GTK_LICENSE_MIT_X11);
  g_assert_cmpstr (gtk_about_dialog_get_program_name (GTK_ABOUT_DIALOG (about)), ==, "drmad");
  g_object_unref (about);
  close_window (window);
  g_assert_cmpuint (count_abouts (), ==, 0);   /* gone with its window */
}

/* drmad_window_save_png_async() on a window closed before its next frame:
 * that frame never comes, and the task waited for it for ever, its
 * callback never called and the window it holds never freed. It ends
 * when the window goes, with an error naming the file, and writes nothing. */
static guint png_callbacks;
static GError *png_error;

static void
png_saved_or_not (GObject *source, GAsyncResult *result, gpointer user_data)
{
  png_callbacks++;
  g_assert_false (drmad_window_save_png_finish (DRMAD_WINDOW (source), result, &png_error));
}

static void
test_save_png_window_closed (void)
{
  SKIP_WITHOUT_DISPLAY ();
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1024, 600);
  g_autofree char *folder = test_tmp_dir ("drmad-png-closed", NULL);
  g_autofree char *path = g_build_filename (folder, "window.png", NULL);
  g_object_add_weak_pointer (G_OBJECT (window), (gpointer *) &window);
  png_callbacks = 0;
  g_clear_error (&png_error);
  drmad_window_save_png_async (window, path, png_saved_or_not, NULL);
  gtk_window_destroy (GTK_WINDOW (window));
  iterate_for (2);
  g_assert_cmpuint (png_callbacks, ==, 1);
  g_assert_error (png_error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_assert_nonnull (strstr (png_error->message, path));
  g_assert_nonnull (strstr (png_error->message, "closed"));
  g_clear_error (&png_error);
  g_assert_null (window);   /* the task let it go */
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  remove_tree (folder);
}

/* The dataset list holds a folder once however its path is written: with
 * a slash after it (a run.ini from `--dataset DIR/`), with "." or ".."
 * in it, relative to the working folder, or as Open… gives it; each
 * selects the one item. It was listed again for each spelling but the
 * same one, two items of the same name. */
static guint
dataset_items (DrmadWindow *window)
{
  return g_list_model_get_n_items (gtk_drop_down_get_model (window->dataset_dropdown));
}

static void
test_dataset_same_folder (void)
{
  SKIP_WITHOUT_DISPLAY ();
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1024, 600);
  g_autofree char *folder = test_tmp_dir ("drmad-dataset-same", NULL);
  g_autofree char *data = g_build_filename (folder, "data", NULL);
  g_autofree char *other = g_build_filename (folder, "other", NULL);
  g_assert_cmpint (g_mkdir (data, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (other, 0755), ==, 0);
  g_auto (GStrv) builtin = drmad_dataset_list_builtin ();
  guint listed = g_strv_length (builtin);
  g_assert_cmpuint (dataset_items (window), ==, listed);
  g_autofree char *data_option = g_strdup_printf ("dataset=%s", data);
  g_autofree char *other_option = g_strdup_printf ("dataset=%s", other);
  set_option (G_APPLICATION (app), data_option);
  set_option (G_APPLICATION (app), other_option);
  g_assert_cmpuint (dataset_items (window), ==, listed + 2);
  g_assert_cmpuint (gtk_drop_down_get_selected (window->dataset_dropdown), ==, listed + 1);
  g_autofree char *old_cwd = g_get_current_dir ();
  g_assert_cmpint (g_chdir (folder), ==, 0);
  const char *spellings[] = { "/", "/.", "/../data", "//" };
  for (guint i = 0; i < G_N_ELEMENTS (spellings) + 2; i++) {
    set_option (G_APPLICATION (app), other_option);   /* the other item selected between */
    g_assert_cmpuint (gtk_drop_down_get_selected (window->dataset_dropdown), ==, listed + 1);
    g_autofree char *value = i < G_N_ELEMENTS (spellings) ? g_strdup_printf ("dataset=%s%s", data, spellings[i])
                             : g_strdup (i == G_N_ELEMENTS (spellings) ? "dataset=data/" : "dataset=./data");
    set_option (G_APPLICATION (app), value);
    g_assert_cmpuint (dataset_items (window), ==, listed + 2);
    g_assert_cmpuint (gtk_drop_down_get_selected (window->dataset_dropdown), ==, listed);
  }
  g_assert_cmpint (g_chdir (old_cwd), ==, 0);
  g_autofree char *slash = g_strconcat (data, "/", NULL);
  drmad_window_add_dataset (window, slash, "data");   /* as a dataset opened with Open… is added */
  g_assert_cmpuint (dataset_items (window), ==, listed + 2);
  /* a folder first named with "/." after it is listed by its own name */
  g_autofree char *third = g_build_filename (folder, "third", NULL);
  g_autofree char *third_option = g_strdup_printf ("dataset=%s/.", third);
  set_option (G_APPLICATION (app), third_option);
  g_assert_cmpuint (dataset_items (window), ==, listed + 3);
  g_assert_cmpstr (gtk_string_list_get_string (GTK_STRING_LIST (gtk_drop_down_get_model (window->dataset_dropdown)),
                                               listed + 2), ==, "third");
  /* a built-in name is no path: "mnist" and a folder of that name are two items */
  g_autofree char *named = g_build_filename (folder, "mnist", NULL);
  g_autofree char *named_option = g_strdup_printf ("dataset=%s", named);
  set_option (G_APPLICATION (app), "dataset=mnist");
  set_option (G_APPLICATION (app), named_option);
  g_assert_cmpuint (dataset_items (window), ==, listed + 4 + !g_strv_contains ((const char *const *) builtin, "mnist"));
  close_window (window);
  remove_tree (folder);
}

/* ---- Alt+letter and Tab through the settings ---- */

/* Whether @widget is a setting: a field, a drop-down, a switch or a check
 * button. */
static gboolean
is_input (GtkWidget *widget)
{
  return GTK_IS_ENTRY (widget) || GTK_IS_SPIN_BUTTON (widget) || GTK_IS_DROP_DOWN (widget) || GTK_IS_SWITCH (widget)
         || GTK_IS_CHECK_BUTTON (widget);
}

/* Every label under @widget with a mnemonic (Alt+letter) into @labels, and
 * every setting into @inputs (in the order of the tree). */
static void
collect_mnemonics (GtkWidget *widget, GPtrArray *labels, GPtrArray *inputs)
{
  if (GTK_IS_POPOVER (widget))
    return;   /* a menu: its own letters, apart from the window's */
  if (GTK_IS_LABEL (widget) && gtk_label_get_mnemonic_keyval (GTK_LABEL (widget)) != GDK_KEY_VoidSymbol)
    g_ptr_array_add (labels, widget);
  if (is_input (widget)) {
    g_ptr_array_add (inputs, widget);
    return;   /* a spin button's text, a drop-down's button: parts of it */
  }
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    collect_mnemonics (child, labels, inputs);
}

/* The label that names @widget with a mnemonic, or NULL. */
static GtkWidget *
mnemonic_label (GtkWidget *widget)
{
  GList *labels = gtk_widget_list_mnemonic_labels (widget);
  GtkWidget *found = NULL;
  for (GList *l = labels; l && !found; l = l->next)
    if (GTK_IS_LABEL (l->data) && gtk_label_get_mnemonic_keyval (GTK_LABEL (l->data)) != GDK_KEY_VoidSymbol)
      found = l->data;
  g_list_free (labels);
  return found;
}

/* Alt+letter for @label, as GTK runs it: the label's mnemonic shortcut
 * (its controller is in the window's managed scope), activated alone. */
static gboolean
press_mnemonic (GtkWidget *label)
{
  guint keyval = gdk_keyval_to_lower (gtk_label_get_mnemonic_keyval (GTK_LABEL (label)));
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (label);
  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++) {
    g_autoptr (GtkEventController) controller = g_list_model_get_item (controllers, i);
    if (!GTK_IS_SHORTCUT_CONTROLLER (controller))
      continue;
    for (guint k = 0; k < g_list_model_get_n_items (G_LIST_MODEL (controller)); k++) {
      g_autoptr (GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (controller), k);
      GtkShortcutTrigger *trigger = gtk_shortcut_get_trigger (shortcut);
      if (GTK_IS_MNEMONIC_TRIGGER (trigger)
          && gdk_keyval_to_lower (gtk_mnemonic_trigger_get_keyval (GTK_MNEMONIC_TRIGGER (trigger))) == keyval)
        return gtk_shortcut_action_activate (gtk_shortcut_get_action (shortcut), GTK_SHORTCUT_ACTION_EXCLUSIVE, label,
                                             NULL);
    }
  }
  return FALSE;
}

/* A setting named in a message: its label's text, else its tooltip. */
static const char *
input_name (GtkWidget *input)
{
  GList *labels = gtk_widget_list_mnemonic_labels (input);
  const char *name = labels ? gtk_label_get_text (GTK_LABEL (labels->data)) : gtk_widget_get_tooltip_text (input);
  g_list_free (labels);
  return name ? name : G_OBJECT_TYPE_NAME (input);
}

/* Every setting of the window has a label with a mnemonic, Alt and its
 * underlined letter, that takes the keyboard to it (a switch it turns, as
 * Alt+letter turns a check button), and no two labels of the window share
 * a letter. The labels named their settings (mnemonic-widget) but had no
 * letter: none of the 23 could be reached by Alt+letter. Two kinds are
 * left to Tab: the settings under More settings, whose labels are run.ini's
 * keys (more of them than letters are left), the expander itself taking no
 * letter, and the L2 granularity beside its switch, which has no label of
 * its own (a name for a screen reader instead). */
static void
test_keyboard_mnemonics (void)
{
  SKIP_WITHOUT_DISPLAY ();
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1440, 900);
  GtkWidget *first, *last, *more = more_settings (window, &first, &last);
  gtk_expander_set_expanded (GTK_EXPANDER (more), TRUE);   /* its labels counted too */
  iterate_for (0.1);
  GtkWidget *more_grid = gtk_widget_get_parent (first);
  g_autoptr (GPtrArray) labels = g_ptr_array_new (), inputs = g_ptr_array_new ();
  collect_mnemonics (GTK_WIDGET (window), labels, inputs);
  g_autoptr (GHashTable) letters = g_hash_table_new (NULL, NULL);
  for (guint i = 0; i < labels->len; i++) {
    guint keyval = gdk_keyval_to_lower (gtk_label_get_mnemonic_keyval (labels->pdata[i]));
    GtkLabel *other = g_hash_table_lookup (letters, GUINT_TO_POINTER (keyval));
    if (other)
      g_error ("Alt+%s is both \"%s\" and \"%s\"", gdk_keyval_name (keyval), gtk_label_get_text (other),
               gtk_label_get_text (labels->pdata[i]));
    g_hash_table_insert (letters, GUINT_TO_POINTER (keyval), labels->pdata[i]);
  }
  g_autoptr (GPtrArray) lettered = g_ptr_array_new (), missing = g_ptr_array_new ();
  for (guint i = 0; i < inputs->len; i++) {
    GtkWidget *input = inputs->pdata[i];
    if (gtk_widget_is_ancestor (input, more_grid) || input == GTK_WIDGET (window->l2_granularity_dropdown)) {
      g_assert_true (has_name (input));
      continue;
    }
    g_ptr_array_add (mnemonic_label (input) ? lettered : missing, input);
  }
  g_test_message ("%u settings with a letter, %u without; %u letters in the window", lettered->len, missing->len,
                  labels->len);
  for (guint i = 0; i < missing->len; i++)
    g_test_message ("no letter: %s", input_name (missing->pdata[i]));
  g_assert_cmpuint (missing->len, ==, 0);
  g_assert_cmpuint (lettered->len, >=, 23);

  GtkWidget *plot = GTK_WIDGET (drmad_window_get_plot_view (window, 0));
  for (guint i = 0; i < lettered->len; i++) {
    GtkWidget *input = lettered->pdata[i], *label = mnemonic_label (input);
    /* Pieces K but for the piecewise method: Alt+letter does nothing there.
     * A drop-down's Alt+letter opens its list (GTK 4.8 activates it), a
     * popover that over a bare X server, no window manager to place it,
     * logged criticals: its label naming it is what is drmad's. */
    if (!gtk_widget_is_sensitive (input) || GTK_IS_DROP_DOWN (input))
      continue;
    g_assert_true (gtk_widget_grab_focus (plot));
    gboolean was = GTK_IS_SWITCH (input) && gtk_switch_get_active (GTK_SWITCH (input));
    g_assert_true (press_mnemonic (label));
    if (GTK_IS_SWITCH (input)) {
      /* It turns at the end of its animation, 100 ms at GTK's own pace and
       * longer on a busy machine: a fixed 0.3 s wait failed there (Alt+L
       * "left the focus in DrmadPlotView"), and always with GTK_SLOWDOWN=4. */
      gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
      while (gtk_switch_get_active (GTK_SWITCH (input)) == was && g_get_monotonic_time () < end)
        iterate_for (0.02);
      if (gtk_switch_get_active (GTK_SWITCH (input)) == was)
        g_error ("Alt+%s (\"%s\") did not turn its switch",
                 gdk_keyval_name (gtk_label_get_mnemonic_keyval (GTK_LABEL (label))), gtk_label_get_text (GTK_LABEL (label)));
      gtk_switch_set_active (GTK_SWITCH (input), was);   /* turned, as Alt+letter turns a check button */
      continue;
    }
    iterate_for (0.1);
    if (!focus_in (window, input))
      g_error ("Alt+%s (\"%s\") left the focus in %s", gdk_keyval_name (gtk_label_get_mnemonic_keyval (GTK_LABEL (label))),
               gtk_label_get_text (GTK_LABEL (label)), G_OBJECT_TYPE_NAME (gtk_root_get_focus (GTK_ROOT (window))));
  }
  close_window (window);
}

/* README's table of Alt+letter keys (under "Keyboard") is the window's: a
 * row for every label with a letter, its letter and its text, and no other.
 * The letters were listed in prose that nothing checked against the .ui. */
static void
test_keyboard_mnemonics_readme (void)
{
  SKIP_WITHOUT_DISPLAY ();
  g_autofree char *readme = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_get_contents (DRMAD_README, &readme, NULL, &error));
  g_assert_no_error (error);
  g_autoptr (GHashTable) rows = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_auto (GStrv) lines = g_strsplit (readme, "\n", -1);
  for (guint i = 0; lines[i]; i++) {
    if (!g_str_has_prefix (lines[i], "| Alt+"))
      continue;
    g_auto (GStrv) cells = g_strsplit (lines[i] + strlen ("| Alt+"), " | ", 2);
    if (!cells[1] || !g_str_has_suffix (cells[1], " |"))
      g_error ("README: \"%s\" is not a row \"| Alt+KEY | SETTING |\"", lines[i]);
    cells[1][strlen (cells[1]) - 2] = '\0';
    if (!g_hash_table_insert (rows, g_strdup (cells[0]), g_strdup (cells[1])))
      g_error ("README lists Alt+%s twice", cells[0]);
  }
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1024, 600);
  g_autoptr (GPtrArray) labels = g_ptr_array_new (), inputs = g_ptr_array_new ();
  collect_mnemonics (GTK_WIDGET (window), labels, inputs);
  g_test_message ("%u letters in the window, %u in README", labels->len, g_hash_table_size (rows));
  for (guint i = 0; i < labels->len; i++) {
    const char *key = gdk_keyval_name (gdk_keyval_to_upper (gtk_label_get_mnemonic_keyval (labels->pdata[i])));
    const char *text = gtk_label_get_text (labels->pdata[i]), *row = g_hash_table_lookup (rows, key);
    if (!row)
      g_error ("README's Keyboard table has no Alt+%s (\"%s\")", key, text);
    if (strcmp (row, text) != 0)
      g_error ("README says Alt+%s is \"%s\"; the window's label is \"%s\"", key, row, text);
    g_hash_table_remove (rows, key);
  }
  GHashTableIter left;
  const char *key, *row;
  g_hash_table_iter_init (&left, rows);
  while (g_hash_table_iter_next (&left, (gpointer *) &key, (gpointer *) &row))
    g_error ("README lists Alt+%s (\"%s\"), which no label of the window has", key, row);
  g_assert_cmpuint (labels->len, >=, 23);
  close_window (window);
}

/* The other windows the main window opens close with Escape and Ctrl+W,
 * the focus back in the main window: the keyboard shortcuts (which lists
 * both keys), About, Export's question before replacing files (closed, it
 * exports nothing), and the dialog of a plot that could not be saved. */
static void
test_keyboard_dialogs (void)
{
  SKIP_WITHOUT_DISPLAY ();
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  DrmadWindow *window = new_window (app, 1024, 600);
  g_assert_cmpfloat (wait_until (window, main_active, 10), >=, 0);

  GtkShortcutsWindow *overlay = gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (window));
  g_autoptr (GPtrArray) listed = g_ptr_array_new_with_free_func (g_free);
  collect_accelerators (GTK_WIDGET (overlay), listed);
  gboolean listed_both = FALSE;
  for (guint i = 0; i < listed->len && !listed_both; i++) {
    g_auto (GStrv) alternatives = g_strsplit (listed->pdata[i], " ", -1);
    gboolean escape = FALSE, ctrl_w = FALSE;
    for (guint a = 0; alternatives[a]; a++) {
      guint key;
      GdkModifierType mods;
      if (!gtk_accelerator_parse (alternatives[a], &key, &mods))
        continue;
      escape |= key == GDK_KEY_Escape && mods == 0;
      ctrl_w |= key == GDK_KEY_w && mods == GDK_CONTROL_MASK;
    }
    listed_both = escape && ctrl_w;
  }
  g_assert_true (listed_both);
  /* neither key is the main window's: no action of the application's has
   * Ctrl+W, and typed in its plot (no read-out) it closes nothing */
  g_auto (GStrv) ctrl_w_actions = gtk_application_get_actions_for_accel (GTK_APPLICATION (app), "<Ctrl>w");
  g_assert_cmpuint (g_strv_length (ctrl_w_actions), ==, 0);
  gtk_widget_grab_focus (GTK_WIDGET (drmad_window_get_plot_view (window, 0)));
  g_object_ref (window);   /* a closed window fails the assertion, not the cast */
  for (guint k = 0; k < G_N_ELEMENTS (close_keys); k++) {
    send_key (GTK_WINDOW (window), close_keys[k].keyval, close_keys[k].state);
    iterate_for (0.1);
    g_assert_true (gtk_widget_get_visible (GTK_WIDGET (window)));
  }
  g_object_unref (window);
  record_begin ();
  for (guint k = 0; k < G_N_ELEMENTS (close_keys); k++) {
    activate (window, "show-help-overlay");
    /* GtkApplicationWindow shows it without asking for the focus, which a
     * window manager gives a window it maps; a bare X server does not */
    gtk_window_present (GTK_WINDOW (overlay));
    assert_takes_focus (window, GTK_WINDOW (overlay));
    assert_closed_by (window, GTK_WINDOW (overlay), k);
  }
  record_end_shortcuts_window ();

  for (guint k = 0; k < G_N_ELEMENTS (close_keys); k++) {
    g_action_group_activate_action (G_ACTION_GROUP (app), "about", NULL);
    GtkWindow *about = shown_over (window, GTK_TYPE_ABOUT_DIALOG);
    g_assert_nonnull (about);
    g_object_ref (about);
    assert_takes_focus (window, about);
    assert_closed_by (window, about, k);
    g_object_unref (about);
  }

  g_autofree char *dir = test_tmp_dir ("drmad-dialog-keys", NULL);
  g_autofree char *run = g_build_filename (dir, "run", NULL), *target = g_build_filename (dir, "export", NULL);
  g_autofree char *run_ini = g_build_filename (run, "run.ini", NULL);
  g_autofree char *kept = g_build_filename (target, "run.ini", NULL);
  g_assert_cmpint (g_mkdir_with_parents (run, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (target, 0755), ==, 0);
  g_assert_true (g_file_set_contents (run_ini, "[drmad]\n", -1, NULL));
  g_assert_true (g_file_set_contents (kept, "kept\n", -1, NULL));
  drmad_window_set_run_folder (window, run);
  for (guint k = 0; k < G_N_ELEMENTS (close_keys); k++) {
    GtkWidget *question = drmad_window_export_asking (window, target);
    g_assert_nonnull (question);
    g_object_ref (question);
    assert_takes_focus (window, GTK_WINDOW (question));
    assert_closed_by (window, GTK_WINDOW (question), k);
    g_object_unref (question);
    iterate_for (0.2);
    g_assert_cmpuint (window->tasks_running, ==, 0);
    g_autofree char *text = NULL;
    g_assert_true (g_file_get_contents (kept, &text, NULL, NULL));
    g_assert_cmpstr (text, ==, "kept\n");   /* not replaced */
  }
  drmad_window_set_run_folder (window, NULL);

  g_autofree char *blocked = g_build_filename (dir, "no-such-folder", "l2.png", NULL);
  for (guint k = 0; k < G_N_ELEMENTS (close_keys); k++) {
    GtkWidget *dialog = drmad_plot_view_save_to (drmad_window_get_plot_view (window, 0), blocked, FALSE);
    g_assert_nonnull (dialog);
    g_object_ref (dialog);
    assert_takes_focus (window, GTK_WINDOW (dialog));
    assert_closed_by (window, GTK_WINDOW (dialog), k);
    g_object_unref (dialog);
  }
  close_window (window);
  remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_log_set_writer_func (log_writer, NULL, NULL);
  g_log_set_default_handler (log_handler, NULL);
  /* GTK's test accessibility backend rather than none (run-with-xvfb.sh):
   * the plots' accessible labels are checked, and it needs no session bus. */
  g_setenv ("GTK_A11Y", "test", TRUE);
  display_ok = gtk_init_check ();
  g_test_add_func ("/gui/final-text", test_final_text);
  g_test_add_func ("/gui/summary-not-finite", test_summary_not_finite);
  g_test_add_func ("/gui/settings", test_settings);
  g_test_add_func ("/gui/settings-durable", test_settings_durable);
  g_test_add_func ("/gui/settings-folder-flushed", test_settings_folder_flushed);
  g_test_add_func ("/gui/options-from-values", test_options_from_values);
  g_test_add_func ("/gui/runner-thread", test_runner_thread);
  g_test_add_func ("/gui/runner-stop", test_runner_stop);
  g_test_add_func ("/gui/window", test_window);
  g_test_add_func ("/gui/narrow", test_narrow);
  g_test_add_func ("/gui/keyboard/more-settings", test_keyboard_more_settings);
  g_test_add_func ("/gui/keyboard/plots", test_keyboard_plots);
  g_test_add_func ("/gui/keyboard/start", test_keyboard_start);
  g_test_add_func ("/gui/keyboard/series", test_keyboard_series);
  g_test_add_func ("/gui/keyboard/marker", test_keyboard_marker);
  g_test_add_func ("/gui/keyboard/click", test_keyboard_click);
  g_test_add_func ("/gui/keyboard/readout", test_keyboard_readout);
  g_test_add_func ("/gui/keyboard/zoom", test_keyboard_zoom);
  g_test_add_func ("/gui/keyboard/zoom-far-in", test_keyboard_zoom_far_in);
  g_test_add_func ("/gui/keyboard/zoom-pointer", test_keyboard_zoom_pointer);
  g_test_add_func ("/gui/keyboard/compare", test_keyboard_compare);
  g_test_add_func ("/gui/keyboard/dialogs", test_keyboard_dialogs);
  g_test_add_func ("/gui/keyboard/mnemonics", test_keyboard_mnemonics);
  g_test_add_func ("/gui/keyboard/mnemonics-readme", test_keyboard_mnemonics_readme);
  g_test_add_func ("/gui/about-once", test_about_once);
  g_test_add_func ("/gui/save-png-window-closed", test_save_png_window_closed);
  g_test_add_func ("/gui/dataset-same-folder", test_dataset_same_folder);
  g_test_add_func ("/gui/keyboard/compare-menu", test_keyboard_compare_menu);
  g_test_add_func ("/gui/keyboard/compare-app-keys", test_keyboard_compare_app_keys);
  g_test_add_func ("/gui/plot-decimal-point", test_plot_decimal_point);
  g_test_add_func ("/gui/window-decimal-point", test_window_decimal_point);
  g_test_add_func ("/gui/a11y/names", test_a11y_names);
  g_test_add_func ("/gui/a11y/tab-names", test_a11y_tab_names);
  g_test_add_func ("/gui/a11y/plot-values", test_a11y_plot_values);
  g_test_add_func ("/gui/a11y/status-reachable", test_a11y_status_reachable);
  g_test_add_func ("/gui/a11y/status-selection", test_a11y_status_selection);
  g_test_add_func ("/gui/a11y/button-keys", test_a11y_button_keys);
  g_test_add_func ("/gui/plot-rendering-kept", test_plot_rendering_kept);
  g_test_add_func ("/gui/final-unrecorded", test_final_unrecorded);
  g_test_add_func ("/gui/program", test_program);
  g_test_add_func ("/gui/program-last-iteration", test_program_last_iteration);
  g_test_add_func ("/gui/compare", test_compare);
  g_test_add_func ("/gui/compare-loading", test_compare_loading);
  g_test_add_func ("/gui/settings-file", test_settings_file);
  g_test_add_func ("/gui/settings-file-bad-values", test_settings_file_bad_values);
  g_test_add_func ("/gui/settings-file-bad-value-replaced", test_settings_file_bad_value_replaced);
  g_test_add_func ("/gui/settings-fifo", test_settings_fifo);
  g_test_add_func ("/gui/plot-save", test_plot_save);
  g_test_add_func ("/gui/export", test_export);
  g_test_add_func ("/gui/export-recording", test_export_recording);
  g_test_add_func ("/gui/export-ahead", test_export_ahead);
  g_test_add_func ("/gui/export-no-checkpoint", test_export_no_checkpoint);
  g_test_add_func ("/gui/export-iteration-past-64-bits", test_export_iteration_past_64_bits);
  g_test_add_func ("/gui/export-names", test_export_names);
  g_test_add_func ("/gui/run-ini-fifo", test_run_ini_fifo);
  g_test_add_func ("/gui/open-run", test_open_run);
  g_test_add_func ("/gui/quit-signal", test_quit_signal);
  g_test_add_func ("/gui/quit-signal-ignored", test_quit_signal_ignored);
  return g_test_run ();
}
