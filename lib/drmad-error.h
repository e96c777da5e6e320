/* drmad: one error domain for the whole library. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The library's error domain (DrmadError below holds its codes). */
#define DRMAD_ERROR (drmad_error_quark ())
GQuark drmad_error_quark (void);

/**
 * DrmadError:
 * Every fallible function in the library reports through a #GError in
 * %DRMAD_ERROR with one of these codes (the two exceptions: drmad.h,
 * "Errors"); the message names the file or the
 * value at fault and what was expected. The #GError then belongs to the
 * caller, who frees it (g_error_free(), g_clear_error(), g_autoptr (GError)).
 */
typedef enum {
  DRMAD_ERROR_FAILED,           /* anything not listed below */
  DRMAD_ERROR_INVALID_ARGUMENT, /* a size, a name or a value the caller passed is out of range */
  DRMAD_ERROR_IO,               /* a file or folder could not be opened, read or written */
  DRMAD_ERROR_NOT_FOUND,        /* a named dataset, device or file does not exist */
  DRMAD_ERROR_BAD_MAGIC,        /* a file is not of the format it claims to be */
  DRMAD_ERROR_TRUNCATED,        /* a file ends before the data its header promises */
  DRMAD_ERROR_TOO_LARGE,        /* a size beyond a configured limit or beyond the device */
  DRMAD_ERROR_LABEL_RANGE,      /* a class label outside [0, n_classes) */
  DRMAD_ERROR_MIXED_SIZES,      /* images in one dataset, or a test set and its training set, differ in size,
                                 * shape or channels */
  DRMAD_ERROR_EMPTY,            /* a folder or file that holds no examples */
  DRMAD_ERROR_BAD_IMAGE,        /* an image file that cannot be decoded */
  DRMAD_ERROR_NO_PLATFORM,      /* no OpenCL platform is installed */
  DRMAD_ERROR_NO_DEVICE,        /* no OpenCL device matches */
  DRMAD_ERROR_BUILD,            /* an OpenCL program failed to build; the message holds the log */
  DRMAD_ERROR_OPENCL,           /* an OpenCL call failed */
  DRMAD_ERROR_OUT_OF_MEMORY,    /* the device or host refused an allocation */
  DRMAD_ERROR_UNSUPPORTED,      /* the device cannot do what was asked (fp64, native kernels) */
  DRMAD_ERROR_DIVERGED,         /* NaN or Inf appeared */
  DRMAD_ERROR_CANCELLED,        /* the progress callback asked to stop */
  DRMAD_ERROR_CORRUPT,          /* a checkpoint or run folder fails its own consistency checks; a data file holds more
                                 * than its header counts, or disagrees with its pair (an IDX images file and its
                                 * labels file counting different numbers of examples) */
  DRMAD_ERROR_EXISTS,           /* an output folder exists and overwriting was not asked for */
  DRMAD_ERROR_UNSTABLE,         /* a reverse pass's ‖dw‖ grew past its watch limit: the method is unusable there */
  DRMAD_ERROR_BUSY,             /* a run folder is in use by another process (its lock is held); a net is in use
                                 * by another thread, or by the work whose progress callback made the call */
  DRMAD_ERROR_MISMATCH,         /* a checkpoint belongs to other settings or other data than the run resuming it */
  DRMAD_ERROR_NO_SPACE,         /* a file could not be written: its file system is full or the disk quota used up */
  DRMAD_ERROR_DISK,             /* a file or folder could not be written or flushed: its disk reported an I/O error
                                 * (EIO) */
} DrmadError;

/* A short, printable form of @text (a value someone gave) to quote in a
 * message: at most @max_chars characters, control characters and bytes that
 * are not UTF-8 escaped (\n, \t, \xff), then "…" and the whole length in
 * bytes when cut. NULL gives "(null)". Free with g_free(). */
char *drmad_error_excerpt (const char *text, guint max_chars);

/* How much of a value a message quotes (drmad_error_excerpt()). */
#define DRMAD_ERROR_EXCERPT_CHARS 64

G_END_DECLS
