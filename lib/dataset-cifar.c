/* CIFAR-10 binary batches. */
#include "dataset-private.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#define CIFAR_RECORD 3073
#define CIFAR_PIXELS 3072

DrmadDataset *
drmad_dataset_load_cifar10 (const char *const *paths, const DrmadLoadLimits *limits,
                            GError **error)
{
  DrmadLoadLimits lim = drmad_load_limits_resolve (limits);
  if (paths == NULL || paths[0] == NULL) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT, "no CIFAR-10 batch files given");
    return NULL;
  }

  /* Measure every file first so nothing is allocated for a set that will fail. */
  guint64 n = 0;
  for (guint k = 0; paths[k]; k++) {
    GStatBuf st;
    if (g_stat (paths[k], &st) != 0) {
      drmad_dataset_set_open_error (error, paths[k], errno);
      return NULL;
    }
    if (!S_ISREG (st.st_mode)) {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_IO, "%s: is not a regular file", paths[k]);
      return NULL;
    }
    /* Among other batches an empty one would add nothing and pass unseen. */
    if (st.st_size == 0) {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_EMPTY,
                   "%s: is empty (0 bytes): a CIFAR-10 batch holds %d-byte records", paths[k], CIFAR_RECORD);
      return NULL;
    }
    if (st.st_size % CIFAR_RECORD != 0) {
      /* CIFAR-100's records have two label bytes, coarse and fine. */
      gboolean cifar100 = st.st_size % (CIFAR_RECORD + 1) == 0;
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_TRUNCATED,
                   "%s: %" G_GUINT64_FORMAT " bytes is not a whole number of %d-byte CIFAR-10 records "
                   "(%" G_GUINT64_FORMAT " bytes left over)%s", paths[k], (guint64) st.st_size,
                   CIFAR_RECORD, (guint64) st.st_size % CIFAR_RECORD,
                   cifar100 ? "; it is a whole number of 3074-byte records, the CIFAR-100 layout (a coarse and a "
                              "fine label byte before the pixels), which drmad does not read" : "");
      return NULL;
    }
    n += st.st_size / CIFAR_RECORD;
  }
  if (!drmad_load_limits_check (&lim, paths[0], n, CIFAR_PIXELS, error))
    return NULL;
  if (n == 0) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_EMPTY, "%s: holds no CIFAR-10 records", paths[0]);
    return NULL;
  }

  /* The pixels stay bytes: drmad_dataset_split() converts the rows it draws. */
  guint8 *pixels = drmad_dataset_try_alloc (n * CIFAR_PIXELS, "pixels", error);
  gint32 *labels = pixels ? drmad_dataset_try_alloc (n * sizeof (gint32), "labels", error) : NULL;
  guint8 *record = g_malloc (CIFAR_RECORD);
  guint64 i = 0;
  gboolean ok = labels != NULL;
  for (guint k = 0; ok && paths[k]; k++) {
    FILE *f = g_fopen (paths[k], "rb");
    if (f == NULL) {
      drmad_dataset_set_open_error (error, paths[k], errno);
      ok = FALSE;
      break;
    }
    for (guint64 r = 0; ok; r++) {
      size_t got = fread (record, 1, CIFAR_RECORD, f);
      if (got == 0 && feof (f))
        break;
      if (got != CIFAR_RECORD || i >= n) {
        /* The file changed size since it was measured. */
        g_set_error (error, DRMAD_ERROR, ferror (f) ? DRMAD_ERROR_IO : DRMAD_ERROR_TRUNCATED,
                     "%s: record %" G_GUINT64_FORMAT " could not be read whole", paths[k], r + 1);
        ok = FALSE;
      } else if (record[0] >= 10) {
        g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_LABEL_RANGE,
                     "%s: record %" G_GUINT64_FORMAT " has label %u, expected 0 to 9",
                     paths[k], r + 1, record[0]);
        ok = FALSE;
      } else {
        labels[i] = record[0];
        memcpy (pixels + i * CIFAR_PIXELS, record + 1, CIFAR_PIXELS);
        i++;
      }
    }
    fclose (f);
  }
  g_free (record);
  if (ok && i != n) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_TRUNCATED,
                 "%s: holds %" G_GUINT64_FORMAT " records, %" G_GUINT64_FORMAT " expected",
                 paths[0], i, n);
    ok = FALSE;
  }
  if (!ok) {
    g_free (pixels);
    g_free (labels);
    return NULL;
  }
  return drmad_dataset_wrap (n, CIFAR_PIXELS, 10, 32, 32, 3, NULL, pixels, labels, g_strdup (paths[0]));
}
