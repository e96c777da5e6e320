/* DrmadApplication: one window; app.set-option, app.reset-settings,
 * app.about, app.quit; settings.ini loaded at startup and saved at shutdown. */
#include "drmad-application.h"
#include "drmad-options.h"
#include "drmad-secondary-window.h"
#include "drmad-window.h"

#include <glib-unix.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>

/* gnome.compile_resources(… '--manual-register') */
extern void drmad_register_resource (void);

struct _DrmadApplication {
  GtkApplication parent_instance;
  DrmadSettings *settings;
  char          *load_error;       /* settings.ini could not be read: shown in the window */
  GHashTable    *command_line;     /* key → value, or NULL */
  char          *open_run;
  int            exit_status;
};

G_DEFINE_FINAL_TYPE (DrmadApplication, drmad_application, GTK_TYPE_APPLICATION)

/* The main window: the active one, or the one the active window (Compare
 * runs, a window of the application too) was opened from. */
static DrmadWindow *
get_window (DrmadApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));
  if (window && !DRMAD_IS_WINDOW (window))
    window = gtk_window_get_transient_for (window);
  return DRMAD_IS_WINDOW (window) ? DRMAD_WINDOW (window) : NULL;
}

static void
set_option (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  DrmadApplication *self = user_data;
  g_autoptr (GError) error = NULL;
  if (!drmad_settings_set_assignment (self->settings, g_variant_get_string (parameter, NULL), &error)) {
    DrmadWindow *window = get_window (self);
    if (window)
      drmad_window_show_error (window, error->message);
    else
      g_printerr ("drmad: %s\n", error->message);
  }
}

static void
reset_settings (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  DrmadApplication *self = user_data;
  drmad_settings_reset (self->settings);
}

static void
about (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  static const char *authors[] = { "The drmad authors", NULL };
  DrmadWindow *parent = get_window (user_data);
  /* one About a window, shown again while it is up or after it was closed,
   * as gtk_show_about_dialog() did: its menu item, taken twice, opened two */
  GObject *owner = parent ? G_OBJECT (parent) : G_OBJECT (user_data);
  GtkWindow *shown = g_object_get_data (owner, "drmad-about");
  if (shown) {
    gtk_window_present (shown);
    return;
  }
  /* made here rather than by gtk_show_about_dialog(), which keeps its
   * dialog to itself: Ctrl+W closes this one too */
  GtkWidget *dialog = g_object_new (GTK_TYPE_ABOUT_DIALOG,
                                    "transient-for", parent,
                                    "modal", TRUE,
                                    "destroy-with-parent", TRUE,
                                    "hide-on-close", TRUE,
                                    "program-name", "drmad",
                                    "logo-icon-name", DRMAD_APPLICATION_ID,
                                    "version", DRMAD_VERSION,
                                    "comments", "Learns hyperparameters of neural networks (L2 penalties, "
                                                "learning-rate and momentum schedules, initial scales) by gradient "
                                                "descent on hypergradients from the DrMAD reverse pass, on any "
                                                "OpenCL device.",
                                    "license-type", GTK_LICENSE_MIT_X11,
                                    "authors", authors,
                                    NULL);
  g_object_set_data_full (owner, "drmad-about", g_object_ref (dialog), g_object_unref);
  drmad_secondary_window_setup (GTK_WINDOW (dialog), FALSE);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
quit (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  DrmadApplication *self = user_data;
  /* Closing the window stops a run; the runner holds the application until
   * its worker is done. A copy of the list, each window held: destroying
   * the main window destroys Compare runs with it, taking it out of the
   * application's list while this goes through it (gtk_window_destroy()
   * does nothing to a window already destroyed). */
  GList *windows = g_list_copy (gtk_application_get_windows (GTK_APPLICATION (self)));
  for (GList *l = windows; l; l = l->next)
    g_object_ref (l->data);
  for (GList *l = windows; l; l = l->next)
    gtk_window_destroy (l->data);
  g_list_free_full (windows, g_object_unref);
}

static void
drmad_application_startup (GApplication *application)
{
  DrmadApplication *self = DRMAD_APPLICATION (application);
  G_APPLICATION_CLASS (drmad_application_parent_class)->startup (application);

  static const GActionEntry entries[] = {
    { .name = "set-option", .activate = set_option, .parameter_type = "s" },
    { .name = "reset-settings", .activate = reset_settings },
    { .name = "about", .activate = about },
    { .name = "quit", .activate = quit },
  };
  g_action_map_add_action_entries (G_ACTION_MAP (self), entries, G_N_ELEMENTS (entries), self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", (const char *[]){ "<Ctrl>q", NULL });
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "win.start",
                                         (const char *[]){ "<Ctrl>Return", NULL });
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "win.stop", (const char *[]){ "<Ctrl>period", NULL });
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "win.open-run", (const char *[]){ "<Ctrl>o", NULL });
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "win.export", (const char *[]){ "<Ctrl>e", NULL });
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "win.compare-runs",
                                         (const char *[]){ "<Ctrl><Shift>o", NULL });
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "win.toggle-settings", (const char *[]){ "F9", NULL });
  gtk_window_set_default_icon_name (DRMAD_APPLICATION_ID);
  g_autoptr (GtkCssProvider) css = gtk_css_provider_new ();
  gtk_css_provider_load_from_resource (css, "/org/drmad/Drmad/style.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);

  g_autofree char *path = drmad_settings_get_default_path ();
  g_autoptr (GError) error = NULL;
  if (!drmad_settings_load (self->settings, path, &error)) {
    /* The window starts from the defaults and saves them as it quits: the
     * file it could not read is kept beside, as the user wrote it. */
    g_autoptr (GError) aside_error = NULL;
    g_autofree char *aside = drmad_settings_set_aside (path, &aside_error);
    self->load_error = aside ? g_strdup_printf ("%s: the window starts from the defaults; that file is kept as %s",
                                                error->message, aside)
                             : g_strdup_printf ("%s: the window starts from the defaults, and will not save its "
                                                "settings over that file (it could not be copied aside: %s)",
                                                error->message, aside_error->message);
    if (!aside) {
      g_autofree char *reason = g_strdup_printf ("%s could be neither read nor copied aside, and saving would replace "
                                                 "it: make it readable, or move it away", path);
      drmad_settings_keep_file (self->settings, reason);
    }
  } else if (drmad_settings_get_ignored_keys (self->settings)) {
    g_autofree char *keys = g_strjoinv ("\", \"", (char **) drmad_settings_get_ignored_keys (self->settings));
    self->load_error = g_strdup_printf ("%s: \"%s\" %s no setting of this drmad (another version's, or misspelt): "
                                        "ignored, and kept in the file", path, keys,
                                        g_strv_length ((char **) drmad_settings_get_ignored_keys (self->settings)) > 1
                                        ? "are" : "is");
  }
  g_autofree char *refused = drmad_settings_get_refused_value (self->settings, self->command_line);
  if (refused) {
    g_autofree char *earlier = self->load_error;
    self->load_error = g_strdup_printf ("%s%s%s", earlier ? earlier : "", earlier ? "; " : "", refused);
  }
  if (self->command_line)
    drmad_settings_apply (self->settings, self->command_line, NULL);
}

static void
drmad_application_activate (GApplication *application)
{
  DrmadApplication *self = DRMAD_APPLICATION (application);
  DrmadWindow *window = get_window (self);
  if (!window) {
    window = drmad_window_new (GTK_APPLICATION (self), self->settings);
    if (self->load_error)
      drmad_window_show_error (window, self->load_error);
  }
  gtk_window_present (GTK_WINDOW (window));
  if (self->open_run) {
    drmad_window_open_run (window, self->open_run);
    g_clear_pointer (&self->open_run, g_free);
  }
  /* scripts/screenshots.sh: DRMAD_SCREENSHOT=PATH [DRMAD_SCREENSHOT_AFTER=N] drmad [settings] */
  /* and DRMAD_SCREENSHOT_COMPARE=PATH DRMAD_COMPARE=RUN:RUN… for the comparison */
  const char *screenshot = g_getenv ("DRMAD_SCREENSHOT"), *compare = g_getenv ("DRMAD_SCREENSHOT_COMPARE");
  if (compare && *compare) {
    g_auto (GStrv) folders = g_strsplit (g_getenv ("DRMAD_COMPARE") ? g_getenv ("DRMAD_COMPARE") : "", ":", -1);
    drmad_window_screenshot_compare (window, compare, (const char *const *) folders);
  } else if (screenshot && *screenshot) {
    const char *after = g_getenv ("DRMAD_SCREENSHOT_AFTER");
    drmad_window_screenshot_after (window, screenshot, after ? (guint) g_ascii_strtoull (after, NULL, 10) : 5);
  }
}

static void
drmad_application_shutdown (GApplication *application)
{
  DrmadApplication *self = DRMAD_APPLICATION (application);
  g_autofree char *path = drmad_settings_get_default_path ();
  g_autoptr (GError) error = NULL;
  if (!drmad_settings_save (self->settings, path, &error))
    g_printerr ("drmad: %s\n", error->message);
  G_APPLICATION_CLASS (drmad_application_parent_class)->shutdown (application);
}

static void
drmad_application_dispose (GObject *object)
{
  DrmadApplication *self = DRMAD_APPLICATION (object);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->command_line, g_hash_table_unref);
  G_OBJECT_CLASS (drmad_application_parent_class)->dispose (object);
}

static void
drmad_application_finalize (GObject *object)
{
  DrmadApplication *self = DRMAD_APPLICATION (object);
  g_free (self->load_error);
  g_free (self->open_run);
  G_OBJECT_CLASS (drmad_application_parent_class)->finalize (object);
}

static void
drmad_application_class_init (DrmadApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);
  object_class->dispose = drmad_application_dispose;
  object_class->finalize = drmad_application_finalize;
  app_class->startup = drmad_application_startup;
  app_class->activate = drmad_application_activate;
  app_class->shutdown = drmad_application_shutdown;
  drmad_register_resource ();
}

static void
drmad_application_init (DrmadApplication *self)
{
  self->settings = drmad_settings_new ();
}

DrmadApplication *
drmad_application_new (void)
{
  /* NON_UNIQUE: each `drmad` is its own run; a second window in the same
   * process would share nothing worth the D-Bus round trip. */
  return g_object_new (DRMAD_TYPE_APPLICATION, "application-id", DRMAD_APPLICATION_ID,
                       "flags", G_APPLICATION_NON_UNIQUE, NULL);
}

DrmadSettings *
drmad_application_get_settings (DrmadApplication *self)
{
  g_return_val_if_fail (DRMAD_IS_APPLICATION (self), NULL);
  return self->settings;
}

void
drmad_application_set_command_line (DrmadApplication *self, GHashTable *values, const char *open_run)
{
  g_return_if_fail (DRMAD_IS_APPLICATION (self));
  g_clear_pointer (&self->command_line, g_hash_table_unref);
  self->command_line = values ? g_hash_table_ref (values) : NULL;
  g_free (self->open_run);
  self->open_run = g_strdup (open_run);
}

void
drmad_application_set_exit_status (DrmadApplication *self, int status)
{
  g_return_if_fail (DRMAD_IS_APPLICATION (self));
  self->exit_status = status;
}

/* SIGINT (Ctrl+C in the terminal it was started from), SIGTERM and SIGHUP
 * (the terminal closed, the session ending) quit as Ctrl+Q does: a run stops
 * within a step and the settings are saved (they were lost since the last
 * Start). */
static gboolean
on_quit_signal (gpointer user_data)
{
  if (gtk_application_get_windows (GTK_APPLICATION (user_data)))
    g_action_group_activate_action (G_ACTION_GROUP (user_data), "quit", NULL);
  else
    g_application_quit (G_APPLICATION (user_data));   /* before the window: no run to stop */
  return G_SOURCE_CONTINUE;
}

int
drmad_application_main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  /* Messages in the user's language, numbers as 0.5 in every locale, as
   * the terminal's drmad writes them (drmad-cli.c) and as the plots' axes
   * and read-outs do: the summary, the status line and the library's
   * messages in the banner said 0,7715 in de_DE beside axes of 0.5. GTK set
   * the whole locale in gtk_init_check() (drmad-gui-module.c), before
   * this, and sets it no more. */
  setlocale (LC_NUMERIC, "C");
  DrmadOptions options = { 0 };
  g_autoptr (GError) error = NULL;
  char *program = argv[0];
  if (!drmad_options_parse (&options, &argc, &argv, &error)) {
    fprintf (stderr, "drmad: %s (see drmad --help)\n", error->message);
    drmad_options_clear (&options);
    return 2;
  }
  /* Only what was given, so that the saved settings fill the rest. */
  g_autoptr (GHashTable) given = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  guint n;
  const DrmadOptionSpec *specs = drmad_options_get_specs (&n);
  for (guint i = 0; i < n; i++)
    if (specs[i].in_ini && drmad_options_given (&options, specs[i].name))
      g_hash_table_insert (given, g_strdup (specs[i].name), g_strdup (g_hash_table_lookup (options.values, specs[i].name)));
  g_autoptr (DrmadApplication) app = drmad_application_new ();
  drmad_application_set_command_line (app, options.resume ? NULL : given, options.resume);
  drmad_options_clear (&options);
  char *app_argv[] = { program, NULL };
  /* A signal ignored when the window starts stays so (nohup ignores
   * SIGHUP, a shell SIGINT for a command started with & in a script): the
   * window outlives the terminal as it was asked to. */
  const int quit_signals[] = { SIGINT, SIGTERM, SIGHUP };
  guint signal_sources[G_N_ELEMENTS (quit_signals)] = { 0 };
  for (guint i = 0; i < G_N_ELEMENTS (quit_signals); i++) {
    struct sigaction now;
    if (sigaction (quit_signals[i], NULL, &now) != 0 || now.sa_handler != SIG_IGN)
      signal_sources[i] = g_unix_signal_add (quit_signals[i], on_quit_signal, app);
  }
  int status = g_application_run (G_APPLICATION (app), 1, app_argv);
  for (guint i = 0; i < G_N_ELEMENTS (signal_sources); i++)
    if (signal_sources[i])
      g_source_remove (signal_sources[i]);
  return status ? status : app->exit_status;
}
