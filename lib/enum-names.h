/* Internal: the name tables of the library's enums (methods, meta-optimisers,
 * GEMM paths, activations) and one parser for all of them. */
#pragma once

#include <glib.h>

/* The index of @name (case-insensitive) in @names (@n of them), or
 * %DRMAD_ERROR_INVALID_ARGUMENT "unknown WHAT "NAME": expected a, b or c". */
gboolean drmad_enum_from_name (const char *name, const char *const *names, guint n, const char *what, guint *value,
                               GError **error);
