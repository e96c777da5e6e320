#include "drmad-error.h"

G_DEFINE_QUARK (drmad-error-quark, drmad_error)
