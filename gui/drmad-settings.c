/* The window's settings table and its settings.ini. */
#include "drmad-settings.h"
#include "drmad-options.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct _DrmadSettings {
  GObject     parent_instance;
  GHashTable *values;   /* key → value, every setting */
  GStrv       ignored;  /* keys of the loaded file that are no setting here */
  GHashTable *loaded;   /* the last file loaded's values (drmad_settings_get_refused_value), or NULL */
  char       *loaded_path;   /* that file */
  char       *unsaved;  /* why saving would lose a file (drmad_settings_keep_file), or NULL */
};

G_DEFINE_FINAL_TYPE (DrmadSettings, drmad_settings, G_TYPE_OBJECT)

enum { CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static const DrmadOptionSpec *
find_setting (const char *key)
{
  guint n;
  const DrmadOptionSpec *specs = drmad_options_get_specs (&n);
  for (guint i = 0; i < n; i++)
    if (specs[i].in_ini && g_str_equal (specs[i].name, key))
      return &specs[i];
  return NULL;
}

static void
drmad_settings_finalize (GObject *object)
{
  DrmadSettings *self = DRMAD_SETTINGS (object);
  g_clear_pointer (&self->values, g_hash_table_unref);
  g_clear_pointer (&self->ignored, g_strfreev);
  g_clear_pointer (&self->loaded, g_hash_table_unref);
  g_free (self->loaded_path);
  g_free (self->unsaved);
  G_OBJECT_CLASS (drmad_settings_parent_class)->finalize (object);
}

static void
drmad_settings_class_init (DrmadSettingsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = drmad_settings_finalize;
  /* ::changed (const char *key): detailed by the key */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST | G_SIGNAL_DETAILED,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
drmad_settings_init (DrmadSettings *self)
{
  self->values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  guint n;
  const DrmadOptionSpec *specs = drmad_options_get_specs (&n);
  for (guint i = 0; i < n; i++)
    if (specs[i].in_ini)
      g_hash_table_insert (self->values, g_strdup (specs[i].name), g_strdup (specs[i].default_value));
}

DrmadSettings *
drmad_settings_new (void)
{
  return g_object_new (DRMAD_TYPE_SETTINGS, NULL);
}

const char *
drmad_settings_get (DrmadSettings *self, const char *key)
{
  g_return_val_if_fail (DRMAD_IS_SETTINGS (self), NULL);
  return g_hash_table_lookup (self->values, key);
}

gboolean
drmad_settings_set (DrmadSettings *self, const char *key, const char *value, GError **error)
{
  g_return_val_if_fail (DRMAD_IS_SETTINGS (self), FALSE);
  g_return_val_if_fail (value != NULL, FALSE);
  const DrmadOptionSpec *spec = find_setting (key);
  if (!spec) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION,
                 "unknown setting \"%s\" (settings are named as the long options, see drmad --help)", key);
    return FALSE;
  }
  if (g_strcmp0 (g_hash_table_lookup (self->values, key), value) == 0)
    return TRUE;
  g_hash_table_replace (self->values, g_strdup (key), g_strdup (value));
  g_signal_emit (self, signals[CHANGED], g_quark_from_string (key), key);
  return TRUE;
}

gboolean
drmad_settings_set_assignment (DrmadSettings *self, const char *assignment, GError **error)
{
  const char *equals = strchr (assignment, '=');
  if (!equals) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "\"%s\": expected key=value", assignment);
    return FALSE;
  }
  g_autofree char *key = g_strstrip (g_strndup (assignment, equals - assignment));
  g_autofree char *value = g_strstrip (g_strdup (equals + 1));
  return drmad_settings_set (self, key, value, error);
}

void
drmad_settings_reset (DrmadSettings *self)
{
  guint n;
  const DrmadOptionSpec *specs = drmad_options_get_specs (&n);
  for (guint i = 0; i < n; i++)
    if (specs[i].in_ini)
      drmad_settings_set (self, specs[i].name, specs[i].default_value, NULL);
}

GHashTable *
drmad_settings_dup_values (DrmadSettings *self)
{
  GHashTable *copy = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  GHashTableIter iter;
  gpointer key, value;
  g_hash_table_iter_init (&iter, self->values);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_insert (copy, g_strdup (key), g_strdup (value));
  return copy;
}

gboolean
drmad_settings_values_equal (GHashTable *a, GHashTable *b, const char *const *except)
{
  guint n;
  const DrmadOptionSpec *specs = drmad_options_get_specs (&n);
  for (guint i = 0; i < n; i++) {
    if (!specs[i].in_ini || (except && g_strv_contains (except, specs[i].name)))
      continue;
    const char *va = g_hash_table_lookup (a, specs[i].name), *vb = g_hash_table_lookup (b, specs[i].name);
    if (g_strcmp0 (va ? va : specs[i].default_value, vb ? vb : specs[i].default_value) != 0)
      return FALSE;
  }
  return TRUE;
}

gboolean
drmad_settings_apply (DrmadSettings *self, GHashTable *values, GError **error)
{
  GHashTableIter iter;
  gpointer key, value;
  g_hash_table_iter_init (&iter, values);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (!drmad_settings_set (self, key, value, error))
      return FALSE;
  return TRUE;
}

char *
drmad_settings_get_default_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "drmad", "settings.ini", NULL);
}

/* The keys of [drmad] in @text that are no setting of this version. */
static GStrv
keys_not_settings (const char *text, gsize length)
{
  g_autoptr (GKeyFile) file = g_key_file_new ();
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_auto (GStrv) keys = g_key_file_load_from_data (file, text, length, G_KEY_FILE_NONE, NULL)
                        ? g_key_file_get_keys (file, "drmad", NULL, NULL) : NULL;
  for (char **key = keys; key && *key; key++)
    if (!find_setting (*key))
      g_strv_builder_add (builder, *key);
  return g_strv_builder_end (builder);
}

gboolean
drmad_settings_load (DrmadSettings *self, const char *path, GError **error)
{
  g_clear_pointer (&self->ignored, g_strfreev);
  g_clear_pointer (&self->loaded, g_hash_table_unref);
  g_clear_pointer (&self->loaded_path, g_free);
  g_autofree char *text = NULL;
  gsize length;
  GError *local = NULL;
  if (!drmad_read_regular_file (path, "settings file", &text, &length, &local)) {
    /* no file there: the first launch (or a config folder under a file,
     * which saving reports) */
    if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT)
        || g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOTDIR)
        || g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_LOOP)) {
      g_error_free (local);
      return TRUE;
    }
    g_propagate_error (error, local);
    return FALSE;
  }
  g_autoptr (GHashTable) values = drmad_options_read_ini (text, length, path, FALSE, error);
  if (!values)
    return FALSE;
  self->ignored = keys_not_settings (text, length);
  if (!drmad_settings_apply (self, values, error))
    return FALSE;
  /* A value the options refuse still loads, its field marked
   * (drmad-window-settings.c, validate); drmad_settings_get_refused_value
   * says it, once the command line's values are known. */
  self->loaded = g_hash_table_ref (values);
  self->loaded_path = g_strdup (path);
  return TRUE;
}

char *
drmad_settings_get_refused_value (DrmadSettings *self, GHashTable *typed)
{
  g_return_val_if_fail (DRMAD_IS_SETTINGS (self), NULL);
  if (!self->loaded)
    return NULL;
  /* the words --config uses, naming the file; a key the command line
   * replaced is not the file's any more (drmad_options_parse) */
  DrmadOptions options = { 0 };
  g_autoptr (GError) refused = NULL;
  gboolean ok = drmad_options_from_file_values (&options, self->loaded, typed, self->loaded_path, &refused);
  drmad_options_clear (&options);
  return ok ? NULL : g_strdup (refused->message);
}

const char *const *
drmad_settings_get_ignored_keys (DrmadSettings *self)
{
  g_return_val_if_fail (DRMAD_IS_SETTINGS (self), NULL);
  return self->ignored && self->ignored[0] ? (const char *const *) self->ignored : NULL;
}

/* @path, or where the chain of symbolic links from it ends (a settings
 * file kept in a dotfiles folder and linked from ~/.config): written there,
 * not over the link. */
static char *
link_target (const char *path)
{
  g_autofree char *current = g_strdup (path);
  for (guint hops = 0; hops < 40; hops++) {   /* a loop of links ends somewhere */
    g_autofree char *target = g_file_read_link (current, NULL);
    if (!target)
      break;
    if (!g_path_is_absolute (target)) {
      g_autofree char *folder = g_path_get_dirname (current);
      g_autofree char *relative = g_steal_pointer (&target);
      target = g_build_filename (folder, relative, NULL);
    }
    g_free (current);
    current = g_steal_pointer (&target);
  }
  return g_steal_pointer (&current);
}

char *
drmad_settings_set_aside (const char *path, GError **error)
{
  g_autofree char *contents = NULL;
  gsize length;
  if (!drmad_read_regular_file (path, "settings file", &contents, &length, error))
    return NULL;
  /* PATH.damaged, or PATH.damaged-2, -3, …: an earlier copy stays */
  for (guint n = 1; n <= 1000; n++) {
    g_autofree char *aside = n == 1 ? g_strconcat (path, ".damaged", NULL)
                                    : g_strdup_printf ("%s.damaged-%u", path, n);
    if (g_file_test (aside, G_FILE_TEST_EXISTS) || g_file_test (aside, G_FILE_TEST_IS_SYMLINK))
      continue;
    if (!drmad_write_file_atomic (aside, contents, length, error))
      return NULL;
    return g_steal_pointer (&aside);
  }
  g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_EXIST, "%s.damaged and 999 more copies exist already: remove them",
               path);
  return NULL;
}

void
drmad_settings_keep_file (DrmadSettings *self, const char *reason)
{
  g_return_if_fail (DRMAD_IS_SETTINGS (self));
  g_free (self->unsaved);
  self->unsaved = g_strdup (reason);
}

gboolean
drmad_settings_save (DrmadSettings *self, const char *given_path, GError **error)
{
  if (self->unsaved) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_EXIST, "the settings were not saved for the next launch: %s",
                 self->unsaved);
    return FALSE;
  }
  g_autofree char *target = link_target (given_path);
  const char *path = target;
  /* What the file holds besides the settings (keys of a newer version,
   * other groups) stays: only the settings' own keys are written. */
  g_autoptr (GKeyFile) file = g_key_file_new ();
  g_autoptr (GHashTable) readable = g_file_test (path, G_FILE_TEST_IS_REGULAR)
                                    ? drmad_options_read_ini (NULL, 0, path, FALSE, NULL) : NULL;
  /* (one the loader refuses, a key set twice say, is not built on: it was set aside) */
  if (!readable || !g_key_file_load_from_file (file, path, G_KEY_FILE_KEEP_COMMENTS, NULL)) {
    g_key_file_free (file);
    file = g_key_file_new ();
  }
  guint n;
  const DrmadOptionSpec *specs = drmad_options_get_specs (&n);
  for (guint i = 0; i < n; i++)
    if (specs[i].in_ini)
      g_key_file_set_string (file, "drmad", specs[i].name, g_hash_table_lookup (self->values, specs[i].name));
  g_key_file_set_comment (file, NULL, NULL,
                          " drmad window settings, keys as in run.ini: `drmad --no-gui --config FILE` runs them", NULL);
  g_autofree char *folder = g_path_get_dirname (path);
  /* Made as a run folder is, each new folder's entry flushed: the file's
   * own flush below keeps its entry in FOLDER, and a power loss could still
   * lose FOLDER itself with it (docs/reliability.md). */
  if (!drmad_make_folders (folder, 0700, error)) {
    g_prefix_error (error, "the settings were not saved for the next launch: ");
    return FALSE;
  }
  /* The library's writer, as for a run folder's files: the file flushed
   * before its rename and the folder after. g_key_file_save_to_file()
   * flushed nothing where no settings.ini was there before, nor the folder,
   * so a power loss after the first save could leave it empty or missing
   * (docs/reliability.md). */
  gsize length;
  g_autofree char *data = g_key_file_to_data (file, &length, NULL);
  if (!drmad_write_file_atomic (path, data, length, error)) {
    g_prefix_error (error, "the settings were not saved for the next launch: ");
    return FALSE;
  }
  return TRUE;
}
