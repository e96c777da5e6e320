#include "drmad-error.h"
#include "enum-names.h"

G_DEFINE_QUARK (drmad-error-quark, drmad_error)

gboolean
drmad_enum_from_name (const char *name, const char *const *names, guint n, const char *what, guint *value,
                      GError **error)
{
  for (guint i = 0; i < n; i++)
    if (g_ascii_strcasecmp (name, names[i]) == 0) {
      *value = i;
      return TRUE;
    }
  GString *expected = g_string_new (NULL);
  for (guint i = 0; i < n; i++)
    g_string_append_printf (expected, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", names[i]);
  g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT, "unknown %s \"%s\": expected %s", what, name,
               expected->str);
  g_string_free (expected, TRUE);
  return FALSE;
}
