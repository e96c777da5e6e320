#include "drmad-error.h"
#include "enum-names.h"

#include <string.h>

G_DEFINE_QUARK (drmad-error-quark, drmad_error)

char *
drmad_error_excerpt (const char *text, guint max_chars)
{
  if (!text)
    return g_strdup ("(null)");
  gsize length = strlen (text);
  const char *p = text, *end = text + length;
  GString *out = g_string_new (NULL);
  for (guint chars = 0; p < end && chars < max_chars; chars++) {
    gunichar c = g_utf8_get_char_validated (p, end - p);
    if (c == (gunichar) -1 || c == (gunichar) -2) {   /* not UTF-8: one byte */
      g_string_append_printf (out, "\\x%02x", (guchar) *p++);
      continue;
    }
    const char *next = g_utf8_next_char (p);
    if (c == '\n')
      g_string_append (out, "\\n");
    else if (c == '\t')
      g_string_append (out, "\\t");
    else if (c == '\r')
      g_string_append (out, "\\r");
    else if (c < 0x20 || c == 0x7f)
      g_string_append_printf (out, "\\x%02x", c);
    else if (c >= 0x80 && c < 0xa0)   /* C1 controls: a terminal may act on them */
      g_string_append_printf (out, "\\u%04x", c);
    else
      g_string_append_len (out, p, next - p);
    p = next;
  }
  if (p < end)
    g_string_append_printf (out, "… (%" G_GSIZE_FORMAT " bytes in all)", length);
  return g_string_free (out, FALSE);
}

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
  g_autofree char *quoted = drmad_error_excerpt (name, DRMAD_ERROR_EXCERPT_CHARS);
  g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT, "unknown %s \"%s\": expected %s", what, quoted,
               expected->str);
  g_string_free (expected, TRUE);
  return FALSE;
}
