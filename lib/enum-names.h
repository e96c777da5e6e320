/* Internal: the name tables of the library's enums (methods, meta-optimisers,
 * GEMM paths, activations) and one parser for all of them. */
#pragma once

#include <glib.h>

/* The index of @name (case-insensitive) in @names (@n of them), or
 * %DRMAD_ERROR_INVALID_ARGUMENT "unknown WHAT "NAME": expected a, b or c". */
gboolean drmad_enum_from_name (const char *name, const char *const *names, guint n, const char *what, guint *value,
                               GError **error);

/* Defines TYPE's name function and parser from the table NAMES (in the
 * enum's order): const char *NAME_FN (TYPE) and gboolean PARSE_FN (const
 * char *, TYPE *, GError **), as the public headers declare them. */
#define DRMAD_DEFINE_ENUM_NAMES(Type, name_fn, parse_fn, names, what)                                  \
  const char *                                                                                      \
  name_fn (Type value)                                                                              \
  {                                                                                                 \
    return (guint) value < G_N_ELEMENTS (names) ? names[value] : names[0];                          \
  }                                                                                                 \
  gboolean                                                                                          \
  parse_fn (const char *name, Type *value, GError **error)                                          \
  {                                                                                                 \
    guint index;                                                                                    \
    if (!drmad_enum_from_name (name, names, G_N_ELEMENTS (names), what, &index, error))             \
      return FALSE;                                                                                 \
    *value = (Type) index;                                                                          \
    return TRUE;                                                                                    \
  }
