/* Internal: the dataset struct and the helpers that dataset.c (basics, names
 * and folders), the loaders (dataset-idx.c, dataset-png.c, dataset-cifar.c)
 * and the split (dataset-split.c) share. */
#pragma once

#include "drmad-dataset.h"

/* Features are held in one of two forms. A loader keeps the 8-bit values as
 * its files hold them in @bytes (feature = byte / 255) and leaves @features
 * NULL until drmad_dataset_get_features() is first called; the split converts
 * only the rows it draws. Datasets built from floats (arrays, splits) have
 * @features and no @bytes. */
struct _DrmadDataset {
  guint n, dim, n_classes;
  guint width, height, channels;
  float *features;   /* n × dim; for a byte dataset made on first use (atomically) */
  guint8 *bytes;     /* n × dim, or NULL */
  float *mean, *std; /* with @bytes, a split's standardisation per feature: the feature is
                      * byte · scale + offset (drmad_dataset_byte_coefficients());
                      * NULL: byte / 255 */
  gint32 *labels;
  char *source;
};

/* Zero fields fall back to the defaults; examples are also capped at what a guint holds. */
DrmadLoadLimits drmad_load_limits_resolve (const DrmadLoadLimits *limits);

/* Refuses sizes beyond @limits before anything is allocated for them. */
gboolean drmad_load_limits_check (const DrmadLoadLimits *limits, const char *path, guint64 n,
                                  guint64 dim, GError **error);

/* g_try_malloc with DRMAD_ERROR_OUT_OF_MEMORY naming @what when it fails. */
gpointer drmad_dataset_try_alloc (gsize n_bytes, const char *what, GError **error);

/* Takes ownership of @features or @bytes (the other one NULL), @labels and @source. */
DrmadDataset *drmad_dataset_wrap (guint n, guint dim, guint n_classes,
                                  guint width, guint height, guint channels,
                                  float *features, guint8 *bytes, gint32 *labels, char *source);

/* The feature value of each byte: b / 255 in float, as a caller would compute it. */
void drmad_dataset_byte_table (float table[256]);

/* A standardised byte dataset's features are a multiply and an add each,
 * feature = byte · scale + offset in float, each operation rounded (never
 * contracted to an fma), with scale = 1 / (255 std) and offset = −mean / std
 * in float (dim each): what drmad_dataset_get_features() gives and what a
 * step's gather computes (kernels/nn.cl, lib/net-host-body.h), a rounding or
 * two from (byte / 255 − mean) / std and without its two divisions (a tenth
 * of a training step at batch 50). FALSE, and nothing written, for a dataset
 * without a standardisation (its features are byte / 255). */
gboolean drmad_dataset_byte_coefficients (const DrmadDataset *ds, float *scale, float *offset);

/* @count bytes to features through drmad_dataset_byte_table(). */
void drmad_dataset_bytes_scale (const guint8 *bytes, gsize count, float *out);

/* DRMAD_ERROR_NOT_FOUND for ENOENT, else DRMAD_ERROR_IO, naming @path. */
void drmad_dataset_set_open_error (GError **error, const char *path, int saved_errno);

/* DRMAD_ERROR_MIXED_SIZES, naming both sources and both shapes, unless
 * @test_pool has @pool's feature count and image shape. */
gboolean drmad_dataset_check_test_shape (const DrmadDataset *pool, const DrmadDataset *test_pool, GError **error);

/* Whether something by the name @path exists (*@exists) and, when it does,
 * is a regular file or a link to one. Anything else (a folder, a FIFO, a
 * dangling link or a loop of them, a name that cannot be looked at) is an
 * error naming @path, what it is, and @expected ("an IDX file"). */
gboolean drmad_dataset_probe_file (const char *path, const char *expected, gboolean *exists, GError **error);

/* Refuses a folder whose names cannot be read or whose files cannot be
 * looked at (no read or no search permission), naming it. */
gboolean drmad_dataset_check_folder (const char *folder, GError **error);

/* strcmp for a GPtrArray of strings. */
gint drmad_dataset_compare_strings (gconstpointer a, gconstpointer b);

/* Where the PNG files of a folder that gave no classes are (in the folder
 * itself, or one level too deep, as in a train/test layout), as a note for
 * the error; NULL when neither. */
char *drmad_dataset_png_layout_hint (const char *folder);
