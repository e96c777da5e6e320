/* DrmadDataset basics (limits, accessors, arrays) and opening a dataset by
 * name or path; the formats live in dataset-idx.c, dataset-png.c and
 * dataset-cifar.c, the split in dataset-split.c. */
#include "dataset-private.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

static const char *const builtin_names[] = { "fashion-mnist", "mnist", NULL };
#define SYSTEM_DATA_DIR "/usr/share/datasets"

void
drmad_load_limits_default (DrmadLoadLimits *limits)
{
  limits->max_examples = 10000000;
  limits->max_features = 1u << 20;
  limits->max_bytes = (guint64) 8 << 30;
}

DrmadLoadLimits
drmad_load_limits_resolve (const DrmadLoadLimits *limits)
{
  DrmadLoadLimits def, out;
  drmad_load_limits_default (&def);
  out = limits ? *limits : def;
  if (out.max_examples == 0)
    out.max_examples = def.max_examples;
  if (out.max_features == 0)
    out.max_features = def.max_features;
  if (out.max_bytes == 0)
    out.max_bytes = def.max_bytes;
  out.max_examples = MIN (out.max_examples, G_MAXUINT);
  out.max_features = MIN (out.max_features, G_MAXUINT);
  out.max_bytes = MIN (out.max_bytes, G_MAXSIZE);
  return out;
}

gboolean
drmad_load_limits_check (const DrmadLoadLimits *limits, const char *path, guint64 n, guint64 dim,
                         GError **error)
{
  if (n > limits->max_examples) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE,
                 "%s: %" G_GUINT64_FORMAT " examples exceed the limit of %" G_GUINT64_FORMAT,
                 path, n, limits->max_examples);
    return FALSE;
  }
  if (dim > limits->max_features) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE,
                 "%s: %" G_GUINT64_FORMAT " features per example exceed the limit of %" G_GUINT64_FORMAT,
                 path, dim, limits->max_features);
    return FALSE;
  }
  if (dim > 0 && n > limits->max_bytes / sizeof (float) / dim) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE,
                 "%s: %" G_GUINT64_FORMAT " × %" G_GUINT64_FORMAT " float features exceed the limit of %"
                 G_GUINT64_FORMAT " bytes", path, n, dim, limits->max_bytes);
    return FALSE;
  }
  return TRUE;
}

gpointer
drmad_dataset_try_alloc (gsize n_bytes, const char *what, GError **error)
{
  gpointer p = g_try_malloc (MAX (n_bytes, 1));
  if (p == NULL)
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_OUT_OF_MEMORY,
                 "could not allocate %" G_GSIZE_FORMAT " bytes for %s", n_bytes, what);
  return p;
}

DrmadDataset *
drmad_dataset_wrap (guint n, guint dim, guint n_classes, guint width, guint height, guint channels,
                    float *features, guint8 *bytes, gint32 *labels, char *source)
{
  DrmadDataset *ds = g_new0 (DrmadDataset, 1);
  ds->n = n;
  ds->dim = dim;
  ds->n_classes = n_classes;
  ds->width = width;
  ds->height = height;
  ds->channels = channels;
  ds->features = features;
  ds->bytes = bytes;
  ds->labels = labels;
  ds->source = source;
  return ds;
}

void
drmad_dataset_byte_table (float table[256])
{
  for (guint b = 0; b < 256; b++)
    table[b] = b / 255.0f;
}

/* byte / 255 exactly as a caller would compute it, at the speed of a lookup. */
void
drmad_dataset_bytes_scale (const guint8 *bytes, gsize count, float *out)
{
  float table[256];
  drmad_dataset_byte_table (table);
  for (gsize i = 0; i < count; i++)
    out[i] = table[bytes[i]];
}

void
drmad_dataset_set_open_error (GError **error, const char *path, int saved_errno)
{
  g_set_error (error, DRMAD_ERROR, saved_errno == ENOENT ? DRMAD_ERROR_NOT_FOUND : DRMAD_ERROR_IO,
               "%s: cannot open: %s", path, g_strerror (saved_errno));
}

gint
drmad_dataset_compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

guint drmad_dataset_get_n (const DrmadDataset *ds) { return ds->n; }
guint drmad_dataset_get_dim (const DrmadDataset *ds) { return ds->dim; }
guint drmad_dataset_get_n_classes (const DrmadDataset *ds) { return ds->n_classes; }
const gint32 *drmad_dataset_get_labels (const DrmadDataset *ds) { return ds->labels; }
const char *drmad_dataset_get_source (const DrmadDataset *ds) { return ds->source; }
const guint8 *drmad_dataset_get_bytes (const DrmadDataset *ds) { return ds->mean ? NULL : ds->bytes; }

gboolean
drmad_dataset_byte_coefficients (const DrmadDataset *ds, float *scale, float *offset)
{
  if (!ds->mean)
    return FALSE;
  for (guint d = 0; d < ds->dim; d++) {
    scale[d] = 1.0f / (255.0f * ds->std[d]);
    offset[d] = -ds->mean[d] / ds->std[d];
  }
  return TRUE;
}

void
drmad_dataset_copy_rows (const DrmadDataset *ds, guint first, guint count, float *out)
{
  g_return_if_fail ((guint64) first + count <= ds->n);
  gsize dim = ds->dim;
  const float *f = g_atomic_pointer_get (&((DrmadDataset *) ds)->features);
  if (f != NULL || ds->bytes == NULL) {
    memcpy (out, f + (gsize) first * dim, (gsize) count * dim * sizeof (float));
    return;
  }
  const guint8 *bytes = ds->bytes + (gsize) first * dim;
  if (ds->mean == NULL) {
    drmad_dataset_bytes_scale (bytes, (gsize) count * dim, out);
    return;
  }
  g_autofree float *scale = g_new (float, 2 * dim);
  float *offset = scale + dim;
  drmad_dataset_byte_coefficients (ds, scale, offset);
  for (gsize i = 0; i < count; i++)
    for (gsize d = 0; d < dim; d++)
      out[i * dim + d] = (float) bytes[i * dim + d] * scale[d] + offset[d];
}

void
drmad_dataset_checksum_update (const DrmadDataset *ds, GChecksum *sum)
{
  gsize dim = ds->dim;
  g_checksum_update (sum, (const guchar *) ds->labels, (gsize) ds->n * sizeof (gint32));
  guint block = MAX (1u, 65536 / MAX (ds->dim, 1u));
  g_autofree float *rows = g_new (float, (gsize) block * dim);
  float table[256];
  drmad_dataset_byte_table (table);
  for (guint first = 0; first < ds->n; first += block) {
    guint count = MIN (block, ds->n - first);
    if (ds->mean && ds->bytes) {
      const guint8 *bytes = ds->bytes + (gsize) first * dim;
      for (gsize i = 0; i < count; i++)
        for (gsize d = 0; d < dim; d++)
          rows[i * dim + d] = (table[bytes[i * dim + d]] - ds->mean[d]) / ds->std[d];
    } else {
      drmad_dataset_copy_rows (ds, first, count, rows);
    }
    g_checksum_update (sum, (const guchar *) rows, (gsize) count * dim * sizeof (float));
  }
}

/* A loaded dataset keeps its bytes; the float view is made once, on first
 * use, and kept until the dataset is freed. Two threads asking at once may
 * both convert; one copy wins and the other is dropped. */
const float *
drmad_dataset_get_features (const DrmadDataset *ds)
{
  DrmadDataset *self = (DrmadDataset *) ds;
  float *f = g_atomic_pointer_get (&self->features);
  if (f != NULL || ds->bytes == NULL)
    return f;
  gsize count = (gsize) ds->n * ds->dim;
  f = g_try_malloc (MAX (count * sizeof (float), 1));
  if (f == NULL) {
    g_warning ("%s: could not allocate %" G_GSIZE_FORMAT " bytes for its %u × %u features as floats",
               ds->source, count * sizeof (float), ds->n, ds->dim);
    return NULL;
  }
  drmad_dataset_copy_rows (ds, 0, ds->n, f);
  if (!g_atomic_pointer_compare_and_exchange (&self->features, NULL, f))
    g_free (f);
  return g_atomic_pointer_get (&self->features);
}

void
drmad_dataset_get_shape (const DrmadDataset *ds, guint *width, guint *height, guint *channels)
{
  if (width)
    *width = ds->width;
  if (height)
    *height = ds->height;
  if (channels)
    *channels = ds->channels;
}

void
drmad_dataset_free (DrmadDataset *ds)
{
  if (ds == NULL)
    return;
  g_free (ds->features);
  g_free (ds->bytes);
  g_free (ds->mean);
  g_free (ds->std);
  g_free (ds->labels);
  g_free (ds->source);
  g_free (ds);
}

DrmadDataset *
drmad_dataset_new_from_arrays (guint n, guint dim, guint n_classes,
                               const float *features, const gint32 *labels, GError **error)
{
  if (n == 0) {   /* an empty dataset was refused only later, by whatever used it */
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "a dataset needs at least one example (n is 0)");
    return NULL;
  }
  if (dim == 0 || n_classes == 0 || features == NULL || labels == NULL) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "a dataset needs dim ≥ 1, n_classes ≥ 1 and arrays for %u examples "
                 "(got dim %u, n_classes %u)", n, dim, n_classes);
    return NULL;
  }
  if ((guint64) n * dim > G_MAXSIZE / sizeof (float)) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE,
                 "%u × %u features do not fit in memory", n, dim);
    return NULL;
  }
  for (guint i = 0; i < n; i++)
    if (labels[i] < 0 || (guint32) labels[i] >= n_classes) {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_LABEL_RANGE,
                   "label %d of example %u is outside [0, %u)", labels[i], i + 1, n_classes);   /* counted from 1 */
      return NULL;
    }
  gsize n_features = (gsize) n * dim;
  /* NaN or Inf in the data would only surface as a diverged training run. */
  for (gsize k = 0; k < n_features; k++)
    if (!isfinite (features[k])) {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                   "feature %" G_GSIZE_FORMAT " of example %" G_GSIZE_FORMAT " is %g: features must be finite numbers",
                   k % dim + 1, k / dim + 1, features[k]);   /* counted from 1, as every index a user reads */
      return NULL;
    }
  float *f = drmad_dataset_try_alloc (n_features * sizeof (float), "features", error);
  if (f == NULL)
    return NULL;
  gint32 *l = drmad_dataset_try_alloc ((gsize) n * sizeof (gint32), "labels", error);
  if (l == NULL) {
    g_free (f);
    return NULL;
  }
  memcpy (f, features, n_features * sizeof (float));
  memcpy (l, labels, (gsize) n * sizeof (gint32));
  return drmad_dataset_wrap (n, dim, n_classes, dim, 1, 1, f, NULL, l, g_strdup ("arrays"));
}

/* ---- Opening by name or path -------------------------------------------- */

gboolean
drmad_dataset_probe_file (const char *path, const char *expected, gboolean *exists, GError **error)
{
  GStatBuf link, st;
  *exists = FALSE;
  if (g_lstat (path, &link) != 0) {
    if (errno == ENOENT || errno == ENOTDIR)
      return TRUE;
    drmad_dataset_set_open_error (error, path, errno);
    return FALSE;
  }
  *exists = TRUE;
  if (g_stat (path, &st) != 0) {
    int saved = errno;
    g_autofree char *target = S_ISLNK (link.st_mode) ? g_file_read_link (path, NULL) : NULL;
    if (target && saved == ENOENT)
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_NOT_FOUND,
                   "%s: is a dangling symbolic link (to %s, which does not exist): expected %s",
                   path, target, expected);
    else if (saved == ELOOP)
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_IO,
                   "%s: is a loop of symbolic links (too many levels): expected %s", path, expected);
    else
      drmad_dataset_set_open_error (error, path, saved);
    return FALSE;
  }
  if (S_ISREG (st.st_mode))
    return TRUE;
  const char *kind = S_ISDIR (st.st_mode) ? "a folder"
                     : S_ISFIFO (st.st_mode) ? "a FIFO (named pipe)"
                     : S_ISSOCK (st.st_mode) ? "a socket"
                     : S_ISCHR (st.st_mode) || S_ISBLK (st.st_mode) ? "a device" : "a special file";
  g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_IO, "%s: is %s, not a regular file: expected %s",
               path, kind, expected);
  return FALSE;
}

gboolean
drmad_dataset_check_folder (const char *folder, GError **error)
{
  int fd = g_open (folder, O_RDONLY | O_DIRECTORY, 0);
  if (fd < 0) {
    drmad_dataset_set_open_error (error, folder, errno);
    return FALSE;
  }
  close (fd);
  /* Naming "." inside the folder needs its search permission, which looking
   * at any of its files needs too. */
  g_autofree char *dot = g_build_filename (folder, ".", NULL);
  GStatBuf st;
  if (g_stat (dot, &st) != 0) {
    drmad_dataset_set_open_error (error, folder, errno);
    return FALSE;
  }
  return TRUE;
}

/* @dir/@stem or @dir/@stem.gz, whichever is a file (plain first), in
 * *@found; NULL when neither name exists. Something else by either name (a
 * folder, a FIFO, a dangling link) is an error naming it rather than
 * passed over, since the folder would then be taken for another format and
 * refused for that format's reasons. */
static gboolean
find_maybe_gz (const char *dir, const char *stem, char **found, GError **error)
{
  g_autofree char *plain = g_build_filename (dir, stem, NULL);
  g_autofree char *gz = g_strconcat (plain, ".gz", NULL);
  GError *plain_error = NULL;
  gboolean exists;
  *found = NULL;
  if (drmad_dataset_probe_file (plain, "an IDX file", &exists, &plain_error) && exists) {
    *found = g_steal_pointer (&plain);
    return TRUE;
  }
  if (drmad_dataset_probe_file (gz, "an IDX file", &exists, NULL) && exists) {
    g_clear_error (&plain_error);
    *found = g_steal_pointer (&gz);
    return TRUE;
  }
  if (plain_error) {
    g_propagate_error (error, plain_error);
    return FALSE;
  }
  return drmad_dataset_probe_file (gz, "an IDX file", &exists, error);
}

static DrmadDataset *
load_idx_pair (const char *dir, const char *prefix, const DrmadLoadLimits *limits, GError **error)
{
  g_autofree char *images_stem = g_strconcat (prefix, "-images-idx3-ubyte", NULL);
  g_autofree char *labels_stem = g_strconcat (prefix, "-labels-idx1-ubyte", NULL);
  g_autofree char *images = NULL, *labels = NULL;
  if (!find_maybe_gz (dir, images_stem, &images, error) || !find_maybe_gz (dir, labels_stem, &labels, error))
    return NULL;
  if (images == NULL || labels == NULL) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_NOT_FOUND, "%s: has no %s[.gz] beside %s",
                 dir, images ? labels_stem : images_stem, images ? images : labels);
    return NULL;
  }
  return drmad_dataset_load_idx (images, labels, limits, error);
}

/* data_batch_2.bin before data_batch_10.bin */
static gint
compare_by_length_then_name (gconstpointer a, gconstpointer b)
{
  const char *x = *(char *const *) a, *y = *(char *const *) b;
  gsize lx = strlen (x), ly = strlen (y);
  return lx != ly ? (lx < ly ? -1 : 1) : strcmp (x, y);
}

static gboolean
open_folder (const char *folder, const DrmadLoadLimits *limits,
             DrmadDataset **train, DrmadDataset **test, GError **error)
{
  /* Unreadable, every file below would look absent and the folder empty. */
  if (!drmad_dataset_check_folder (folder, error))
    return FALSE;
  g_autofree char *train_images = NULL, *test_images = NULL;
  if (!find_maybe_gz (folder, "train-images-idx3-ubyte", &train_images, error)
      || !find_maybe_gz (folder, "t10k-images-idx3-ubyte", &test_images, error))
    return FALSE;
  if (train_images) {
    g_autoptr (DrmadDataset) tr = NULL;
    if (train && !(tr = load_idx_pair (folder, "train", limits, error)))
      return FALSE;
    g_autoptr (DrmadDataset) te = NULL;
    if (test_images && !(te = load_idx_pair (folder, "t10k", limits, error)))
      return FALSE;
    if (tr && te && !drmad_dataset_check_test_shape (tr, te, error))
      return FALSE;
    if (train)
      *train = g_steal_pointer (&tr);
    *test = g_steal_pointer (&te);
    return TRUE;
  }
  if (test_images) {
    g_autofree char *base = g_path_get_basename (test_images);
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_NOT_FOUND,
                 "%s: holds %s but no train-images-idx3-ubyte[.gz]: an IDX folder needs its training set",
                 folder, base);
    return FALSE;
  }

  g_autoptr (GPtrArray) batches = g_ptr_array_new_with_free_func (g_free);
  GDir *dir = g_dir_open (folder, 0, NULL);
  const char *name;
  while (dir && (name = g_dir_read_name (dir)))
    if (g_str_has_prefix (name, "data_batch_") && g_str_has_suffix (name, ".bin"))
      g_ptr_array_add (batches, g_build_filename (folder, name, NULL));
  if (dir)
    g_dir_close (dir);
  g_autofree char *test_batch = g_build_filename (folder, "test_batch.bin", NULL);
  gboolean have_test_batch;
  if (!drmad_dataset_probe_file (test_batch, "a CIFAR-10 batch", &have_test_batch, error))
    return FALSE;
  if (batches->len > 0) {
    g_ptr_array_sort (batches, compare_by_length_then_name);
    g_ptr_array_add (batches, NULL);
    const char *test_paths[] = { test_batch, NULL };
    g_autoptr (DrmadDataset) tr = NULL;
    if (train && !(tr = drmad_dataset_load_cifar10 ((const char *const *) batches->pdata, limits, error)))
      return FALSE;
    g_autoptr (DrmadDataset) te = NULL;
    if (have_test_batch && !(te = drmad_dataset_load_cifar10 (test_paths, limits, error)))
      return FALSE;
    if (train)
      *train = g_steal_pointer (&tr);
    *test = g_steal_pointer (&te);
    return TRUE;
  }
  if (have_test_batch) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_NOT_FOUND,
                 "%s: holds test_batch.bin but no data_batch_N.bin: a CIFAR-10 folder needs its training batches",
                 folder);
    return FALSE;
  }

  if (!train) {   /* class subfolders hold no test set of their own */
    *test = NULL;
    return TRUE;
  }
  DrmadDataset *tr = drmad_dataset_load_png_folder (folder, limits, error);
  if (tr == NULL) {
    /* Nothing here for any format: say what each would have needed. */
    if (error && g_error_matches (*error, DRMAD_ERROR, DRMAD_ERROR_EMPTY)) {
      g_clear_error (error);
      /* CIFAR-100's binary version names its files train.bin and test.bin */
      g_autofree char *cifar100 = g_build_filename (folder, "train.bin", NULL);
      g_autofree char *hint = drmad_dataset_png_layout_hint (folder);
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_EMPTY,
                   "%s: holds no dataset: no train-images-idx3-ubyte[.gz] (IDX), no data_batch_N.bin "
                   "(CIFAR-10) and no class subfolders with PNG files%s%s%s", folder,
                   g_file_test (cifar100, G_FILE_TEST_EXISTS)
                   ? "; its train.bin looks like CIFAR-100, which drmad does not read (CIFAR-10 batches are "
                     "data_batch_N.bin, 3073-byte records of one label byte and 3072 pixel bytes)" : "",
                   hint ? "; " : "", hint ? hint : "");
    }
    return FALSE;
  }
  *train = tr;
  *test = NULL;
  return TRUE;
}

static gboolean
open_file (const char *path, const DrmadLoadLimits *limits,
           DrmadDataset **train, DrmadDataset **test, GError **error)
{
  if (!train) {   /* one file is a training pool, never a test set */
    *test = NULL;
    return TRUE;
  }
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  DrmadDataset *ds = NULL;
  const char *marker = strstr (base, "-images-idx3-ubyte");
  if (marker && (marker[18] == '\0' || strcmp (marker + 18, ".gz") == 0)) {
    g_autofree char *stem = g_strndup (base, marker - base);
    g_autofree char *labels_stem = g_strconcat (stem, "-labels-idx1-ubyte", NULL);
    g_autofree char *labels = NULL;
    if (!find_maybe_gz (dir, labels_stem, &labels, error))
      return FALSE;
    if (labels == NULL) {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_NOT_FOUND, "%s: has no %s[.gz] beside it",
                   path, labels_stem);
      return FALSE;
    }
    ds = drmad_dataset_load_idx (path, labels, limits, error);
  } else if (g_str_has_suffix (base, ".bin")) {
    const char *paths[] = { path, NULL };
    ds = drmad_dataset_load_cifar10 (paths, limits, error);
  } else {
    gsize len = strlen (base);
    gboolean png = len > 4 && g_ascii_strcasecmp (base + len - 4, ".png") == 0;
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_NOT_FOUND,
                 "%s: is neither an IDX images file (NAME-images-idx3-ubyte[.gz]) nor a CIFAR-10 batch (.bin)%s",
                 path, png ? "; PNG files are read as a folder of one subfolder of PNG files per class: give "
                             "that folder" : "");
    return FALSE;
  }
  if (ds == NULL)
    return FALSE;
  *train = ds;
  *test = NULL;
  return TRUE;
}

static gboolean
is_builtin (const char *name)
{
  return g_strv_contains (builtin_names, name);
}

/* Where @name is installed: $DRMAD_DATA_DIR/NAME first, then the system folder for built-ins. */
static char *
find_named (const char *name)
{
  const char *env = g_getenv ("DRMAD_DATA_DIR");
  if (env && *env) {
    char *p = g_build_filename (env, name, NULL);
    if (g_file_test (p, G_FILE_TEST_EXISTS))
      return p;
    g_free (p);
  }
  if (is_builtin (name)) {
    char *p = g_build_filename (SYSTEM_DATA_DIR, name, NULL);
    if (g_file_test (p, G_FILE_TEST_IS_DIR))
      return p;
    g_free (p);
  }
  return NULL;
}

gboolean
drmad_dataset_open (const char *name_or_path, const DrmadLoadLimits *limits,
                    DrmadDataset **train, DrmadDataset **test, GError **error)
{
  g_autofree char *path = NULL;
  if (name_or_path && *name_or_path && !strchr (name_or_path, G_DIR_SEPARATOR)
      && strcmp (name_or_path, ".") != 0 && strcmp (name_or_path, "..") != 0)
    path = find_named (name_or_path);
  if (path == NULL && name_or_path && g_file_test (name_or_path, G_FILE_TEST_EXISTS))
    path = g_strdup (name_or_path);
  if (path == NULL) {
    g_auto (GStrv) installed = drmad_dataset_list_builtin ();
    g_autofree char *known = g_strjoinv (", ", (char **) builtin_names);
    g_autofree char *have = installed[0] ? g_strjoinv (", ", installed) : g_strdup ("none");
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_NOT_FOUND,
                 "no dataset “%s”: expected a built-in name (%s; installed: %s; looked in "
                 "$DRMAD_DATA_DIR and " SYSTEM_DATA_DIR "), a folder holding "
                 "train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz], a folder holding "
                 "data_batch_*.bin (CIFAR-10), a folder of class subfolders of PNG files, or a "
                 "NAME-images-idx3-ubyte[.gz] file with NAME-labels-idx1-ubyte[.gz] beside it",
                 name_or_path ? name_or_path : "(null)", known, have);
    return FALSE;
  }
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    return open_folder (path, limits, train, test, error);
  return open_file (path, limits, train, test, error);
}

char **
drmad_dataset_list_builtin (void)
{
  GPtrArray *names = g_ptr_array_new_null_terminated (4, NULL, TRUE);
  const char *env = g_getenv ("DRMAD_DATA_DIR");
  GDir *dir = env && *env ? g_dir_open (env, 0, NULL) : NULL;
  const char *name;
  while (dir && (name = g_dir_read_name (dir)))
    if (name[0] != '.')
      g_ptr_array_add (names, g_strdup (name));
  if (dir)
    g_dir_close (dir);
  for (guint i = 0; builtin_names[i]; i++) {
    g_autofree char *p = find_named (builtin_names[i]);
    if (p && !g_strv_contains ((const char *const *) names->pdata, builtin_names[i]))
      g_ptr_array_add (names, g_strdup (builtin_names[i]));
  }
  g_ptr_array_sort (names, drmad_dataset_compare_strings);
  return (char **) g_ptr_array_free (names, FALSE);
}

