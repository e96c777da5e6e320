/* The window's settings: every key of run.ini (the long options that are
 * settings) with its value as text, persisted between launches as a GKeyFile
 * with run.ini's [drmad] group. Widgets bind to it; a run is built from it
 * with drmad_options_from_values(). */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define DRMAD_TYPE_SETTINGS (drmad_settings_get_type ())
G_DECLARE_FINAL_TYPE (DrmadSettings, drmad_settings, DRMAD, SETTINGS, GObject)

/* Every setting at its default. */
DrmadSettings *drmad_settings_new (void);

/* NULL for a key that is not a setting. */
const char *drmad_settings_get (DrmadSettings *self, const char *key);
/* Emits ::changed (detail: the key) when the value changes. Refuses a key
 * that is not a setting. */
gboolean    drmad_settings_set (DrmadSettings *self, const char *key, const char *value, GError **error);
/* "key=value", as the app.set-option action takes it. */
gboolean    drmad_settings_set_assignment (DrmadSettings *self, const char *assignment, GError **error);
/* Every key back to its default. */
void        drmad_settings_reset (DrmadSettings *self);

/* A copy of the key → value table, for drmad_options_from_values(). */
GHashTable *drmad_settings_dup_values (DrmadSettings *self);
/* Whether @a and @b agree on every setting except those in @except (NULL-terminated). */
gboolean    drmad_settings_values_equal (GHashTable *a, GHashTable *b, const char *const *except);

/* Sets every key of @values. */
gboolean    drmad_settings_apply (DrmadSettings *self, GHashTable *values, GError **error);

/* g_get_user_config_dir()/drmad/settings.ini */
char       *drmad_settings_get_default_path (void);
/* A missing file is no error (the defaults stay). Unknown keys are skipped,
 * so that a settings file from a newer version still loads:
 * drmad_settings_get_ignored_keys() names them. A FIFO, socket, device or
 * folder in @path's place is an error, never waited on. */
gboolean    drmad_settings_load (DrmadSettings *self, const char *path, GError **error);
/* The keys of the last file loaded that are no setting here, or NULL. */
const char *const *drmad_settings_get_ignored_keys (DrmadSettings *self);
/* The last file loaded's first value the options refuse ("in PATH: --KEY
 * VALUE: expected …", loaded all the same), under @typed (the command
 * line's values, which replace the file's; NULL: none), or NULL. */
char              *drmad_settings_get_refused_value (DrmadSettings *self, GHashTable *typed);
/* Copies a settings file that cannot be loaded to PATH.damaged (before the
 * window's own settings replace it; PATH.damaged-2, -3, … where earlier
 * copies are); returns that path. A file that is not a regular one is not
 * copied (an error): drmad_settings_keep_file() then leaves it alone. */
char       *drmad_settings_set_aside (const char *path, GError **error);
/* From now on drmad_settings_save() writes nothing and says @reason: a
 * file that could neither be read nor set aside is not replaced. */
void        drmad_settings_keep_file (DrmadSettings *self, const char *reason);
/* Writes the settings atomically; keys of @path that are no setting here
 * (a newer version's) and its other groups are kept. A symbolic link is
 * written through, to the file it names, not replaced. */
gboolean    drmad_settings_save (DrmadSettings *self, const char *path, GError **error);

G_END_DECLS
