#include "drmad-dataset.h"
#include "counter-hash.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <png.h>
#include <zlib.h>

struct _DrmadDataset {
  guint n, dim, n_classes;
  guint width, height, channels;
  float *features;
  gint32 *labels;
  char *source;
};

#define IDX_IMAGES_MAGIC 0x00000803u
#define IDX_LABELS_MAGIC 0x00000801u
#define CIFAR_RECORD 3073
#define CIFAR_PIXELS 3072
#define READ_CHUNK (1u << 20)

static const char *const builtin_names[] = { "fashion-mnist", "mnist", NULL };
#define SYSTEM_DATA_DIR "/usr/share/datasets"

void
drmad_load_limits_default (DrmadLoadLimits *limits)
{
  limits->max_examples = 10000000;
  limits->max_features = 1u << 20;
  limits->max_bytes = (guint64) 8 << 30;
}

/* Zero fields fall back to the defaults; examples are also capped at what a guint holds. */
static DrmadLoadLimits
limits_resolve (const DrmadLoadLimits *limits)
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

/* Refuses sizes beyond @limits before anything is allocated for them. */
static gboolean
limits_check (const DrmadLoadLimits *limits, const char *path, guint64 n, guint64 dim,
              GError **error)
{
  if (n > limits->max_examples)
    {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE,
                   "%s: %" G_GUINT64_FORMAT " examples exceed the limit of %" G_GUINT64_FORMAT,
                   path, n, limits->max_examples);
      return FALSE;
    }
  if (dim > limits->max_features)
    {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE,
                   "%s: %" G_GUINT64_FORMAT " features per example exceed the limit of %" G_GUINT64_FORMAT,
                   path, dim, limits->max_features);
      return FALSE;
    }
  if (dim > 0 && n > limits->max_bytes / sizeof (float) / dim)
    {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE,
                   "%s: %" G_GUINT64_FORMAT " × %" G_GUINT64_FORMAT " float features exceed the limit of %"
                   G_GUINT64_FORMAT " bytes", path, n, dim, limits->max_bytes);
      return FALSE;
    }
  return TRUE;
}

static gpointer
try_alloc (gsize n_bytes, const char *what, GError **error)
{
  gpointer p = g_try_malloc (MAX (n_bytes, 1));
  if (p == NULL)
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_OUT_OF_MEMORY,
                 "could not allocate %" G_GSIZE_FORMAT " bytes for %s", n_bytes, what);
  return p;
}

/* Takes ownership of @features, @labels and @source. */
static DrmadDataset *
dataset_wrap (guint n, guint dim, guint n_classes, guint width, guint height, guint channels,
              float *features, gint32 *labels, char *source)
{
  DrmadDataset *ds = g_new0 (DrmadDataset, 1);
  ds->n = n;
  ds->dim = dim;
  ds->n_classes = n_classes;
  ds->width = width;
  ds->height = height;
  ds->channels = channels;
  ds->features = features;
  ds->labels = labels;
  ds->source = source;
  return ds;
}

guint drmad_dataset_get_n (const DrmadDataset *ds) { return ds->n; }
guint drmad_dataset_get_dim (const DrmadDataset *ds) { return ds->dim; }
guint drmad_dataset_get_n_classes (const DrmadDataset *ds) { return ds->n_classes; }
const float *drmad_dataset_get_features (const DrmadDataset *ds) { return ds->features; }
const gint32 *drmad_dataset_get_labels (const DrmadDataset *ds) { return ds->labels; }
const char *drmad_dataset_get_source (const DrmadDataset *ds) { return ds->source; }

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
  g_free (ds->labels);
  g_free (ds->source);
  g_free (ds);
}

DrmadDataset *
drmad_dataset_new_from_arrays (guint n, guint dim, guint n_classes,
                               const float *features, const gint32 *labels, GError **error)
{
  if (dim == 0 || n_classes == 0 || (n > 0 && (features == NULL || labels == NULL)))
    {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                   "a dataset needs dim ≥ 1, n_classes ≥ 1 and arrays for %u examples "
                   "(got dim %u, n_classes %u)", n, dim, n_classes);
      return NULL;
    }
  if ((guint64) n * dim > G_MAXSIZE / sizeof (float))
    {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE,
                   "%u × %u features do not fit in memory", n, dim);
      return NULL;
    }
  for (guint i = 0; i < n; i++)
    if (labels[i] < 0 || (guint32) labels[i] >= n_classes)
      {
        g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_LABEL_RANGE,
                     "label %d of example %u is outside [0, %u)", labels[i], i, n_classes);
        return NULL;
      }
  gsize n_features = (gsize) n * dim;
  /* NaN or Inf in the data would only surface as a diverged training run. */
  for (gsize k = 0; k < n_features; k++)
    if (!isfinite (features[k]))
      {
        g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                     "feature %" G_GSIZE_FORMAT " of example %" G_GSIZE_FORMAT " is %g: features must be finite numbers",
                     k % dim, k / dim, features[k]);
        return NULL;
      }
  float *f = try_alloc (n_features * sizeof (float), "features", error);
  if (f == NULL)
    return NULL;
  gint32 *l = try_alloc ((gsize) n * sizeof (gint32), "labels", error);
  if (l == NULL)
    {
      g_free (f);
      return NULL;
    }
  if (n > 0)
    {
      memcpy (f, features, n_features * sizeof (float));
      memcpy (l, labels, (gsize) n * sizeof (gint32));
    }
  return dataset_wrap (n, dim, n_classes, dim, 1, 1, f, l, g_strdup ("arrays"));
}

/* byte / 255 exactly as a caller would compute it, at the speed of a lookup. */
static void
bytes_scale (const guint8 *bytes, gsize count, float *out)
{
  float table[256];
  for (guint b = 0; b < 256; b++)
    table[b] = b / 255.0f;
  for (gsize i = 0; i < count; i++)
    out[i] = table[bytes[i]];
}

/* ---- IDX ---------------------------------------------------------------- */

/* zlib reads plain files transparently, so one stream type serves both; only
 * a plain file's size is known ahead, which lets it be checked before allocating. */
typedef struct {
  const char *path;
  gzFile gz;
  gboolean compressed;
  guint64 file_size;
  guint64 header_len;
} IdxStream;

static void
set_open_error (GError **error, const char *path, int saved_errno)
{
  g_set_error (error, DRMAD_ERROR, saved_errno == ENOENT ? DRMAD_ERROR_NOT_FOUND : DRMAD_ERROR_IO,
               "%s: cannot open: %s", path, g_strerror (saved_errno));
}

static gboolean
idx_stream_open (IdxStream *s, const char *path, GError **error)
{
  memset (s, 0, sizeof *s);
  s->path = path;
  int fd = g_open (path, O_RDONLY, 0);
  if (fd < 0)
    {
      set_open_error (error, path, errno);
      return FALSE;
    }
  struct stat st;
  guint8 magic[2] = { 0, 0 };
  if (fstat (fd, &st) != 0 || S_ISDIR (st.st_mode) || read (fd, magic, 2) < 0
      || lseek (fd, 0, SEEK_SET) != 0)
    {
      int saved = S_ISDIR (st.st_mode) ? EISDIR : errno;
      close (fd);
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_IO, "%s: cannot read: %s", path, g_strerror (saved));
      return FALSE;
    }
  s->file_size = st.st_size;
  s->compressed = magic[0] == 0x1f && magic[1] == 0x8b;
  s->gz = gzdopen (fd, "rb");
  if (s->gz == NULL)
    {
      close (fd);
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_OUT_OF_MEMORY, "%s: cannot start zlib", path);
      return FALSE;
    }
  gzbuffer (s->gz, 1 << 18);
  return TRUE;
}

static void
idx_stream_close (IdxStream *s)
{
  if (s->gz)
    gzclose (s->gz);
  s->gz = NULL;
}

/* Reads up to @len bytes; returns how many, or -1 with @error set when zlib
 * or the file system failed (a short count alone means the file ended). */
static gint64
idx_stream_read (IdxStream *s, guint8 *buf, guint64 len, GError **error)
{
  guint64 got = 0;
  while (got < len)
    {
      unsigned want = (unsigned) MIN (len - got, (guint64) READ_CHUNK);
      int r = gzread (s->gz, buf + got, want);
      if (r > 0)
        {
          got += r;
          continue;
        }
      int errnum = Z_OK;
      const char *msg = gzerror (s->gz, &errnum);
      if (errnum == Z_OK || errnum == Z_BUF_ERROR)
        break;   /* end of data; Z_BUF_ERROR is zlib's "unexpected end of file" */
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_IO, "%s: cannot read: %s", s->path,
                   errnum == Z_ERRNO ? g_strerror (errno) : msg);
      return -1;
    }
  return got;
}

static guint32
read_be32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

static gboolean
idx_read_header (IdxStream *s, guint32 expected_magic, const char *kind,
                 guint32 *dims, GError **error)
{
  guint n_dims = expected_magic & 0xff;
  guint8 head[16];
  gsize head_len = 4 + 4 * n_dims;
  gint64 got = idx_stream_read (s, head, head_len, error);
  if (got < 0)
    return FALSE;
  if (got >= 4)
    {
      guint32 magic = read_be32 (head);
      if (magic != expected_magic)
        {
          g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_BAD_MAGIC,
                       "%s: not an IDX %s file: expected magic 0x%08x, found 0x%08x",
                       s->path, kind, expected_magic, magic);
          return FALSE;
        }
    }
  if ((gsize) got < head_len)
    {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_TRUNCATED,
                   "%s: ends inside its %" G_GSIZE_FORMAT "-byte IDX header (%" G_GINT64_FORMAT " bytes)",
                   s->path, head_len, got);
      return FALSE;
    }
  for (guint i = 0; i < n_dims; i++)
    dims[i] = read_be32 (head + 4 + 4 * i);
  s->header_len = head_len;
  return TRUE;
}

/* The body of @count bytes. A plain file is measured before allocating; a
 * gzip one grows its buffer as data arrive, so a header that lies costs no
 * more memory than the data actually present. */
static guint8 *
idx_read_body (IdxStream *s, guint64 count, const char *what, GError **error)
{
  guint64 header_len = s->header_len;
  if (!s->compressed && s->file_size < header_len + count)
    {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_TRUNCATED,
                   "%s: header promises %" G_GUINT64_FORMAT " bytes of %s but the file holds only %"
                   G_GUINT64_FORMAT " after its header", s->path, count, what,
                   s->file_size - MIN (s->file_size, header_len));
      return NULL;
    }
  guint64 capacity = s->compressed ? MIN (count, (guint64) 16 << 20) : count;
  guint8 *buf = try_alloc (capacity, what, error);
  if (buf == NULL)
    return NULL;
  guint64 have = 0;
  for (;;)
    {
      gint64 got = idx_stream_read (s, buf + have, capacity - have, error);
      if (got < 0)
        {
          g_free (buf);
          return NULL;
        }
      have += got;
      if (have < capacity || capacity == count)
        break;
      guint64 next = MIN (count, capacity * 2);
      guint8 *grown = g_try_realloc (buf, next);
      if (grown == NULL)
        {
          g_free (buf);
          g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_OUT_OF_MEMORY,
                       "%s: could not allocate %" G_GUINT64_FORMAT " bytes for %s", s->path, next, what);
          return NULL;
        }
      buf = grown;
      capacity = next;
    }
  /* One byte more makes zlib reach the gzip trailer and check its CRC. */
  guint8 extra;
  if (s->compressed && have == count && idx_stream_read (s, &extra, 1, error) < 0)
    {
      g_free (buf);
      return NULL;
    }
  if (have < count)
    {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_TRUNCATED,
                   "%s: ends after %" G_GUINT64_FORMAT " of the %" G_GUINT64_FORMAT " bytes of %s its header promises",
                   s->path, have, count, what);
      g_free (buf);
      return NULL;
    }
  return buf;
}

static float *
bytes_to_features (const guint8 *bytes, gsize count, GError **error)
{
  float *f = try_alloc (count * sizeof (float), "features", error);
  if (f == NULL)
    return NULL;
  bytes_scale (bytes, count, f);
  return f;
}

DrmadDataset *
drmad_dataset_load_idx (const char *images_path, const char *labels_path,
                        const DrmadLoadLimits *limits, GError **error)
{
  DrmadLoadLimits lim = limits_resolve (limits);
  IdxStream images = { 0 }, labels = { 0 };
  guint32 image_dims[3], label_dims[1];
  guint8 *pixels = NULL, *label_bytes = NULL;
  float *features = NULL;
  gint32 *label_array = NULL;
  DrmadDataset *ds = NULL;

  if (!idx_stream_open (&images, images_path, error)
      || !idx_read_header (&images, IDX_IMAGES_MAGIC, "images", image_dims, error))
    goto out;
  guint64 n = image_dims[0], dim = (guint64) image_dims[1] * image_dims[2];
  if (!limits_check (&lim, images_path, n, dim, error))
    goto out;
  if (n == 0 || dim == 0)
    {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_EMPTY,
                   "%s: holds %" G_GUINT64_FORMAT " images of %u × %u pixels",
                   images_path, n, image_dims[1], image_dims[2]);
      goto out;
    }
  if (!idx_stream_open (&labels, labels_path, error)
      || !idx_read_header (&labels, IDX_LABELS_MAGIC, "labels", label_dims, error))
    goto out;
  if (label_dims[0] != n)
    {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                   "%s holds %" G_GUINT64_FORMAT " images but %s holds %u labels",
                   images_path, n, labels_path, label_dims[0]);
      goto out;
    }
  if (!(label_bytes = idx_read_body (&labels, n, "labels", error))
      || !(pixels = idx_read_body (&images, n * dim, "pixels", error))
      || !(features = bytes_to_features (pixels, n * dim, error))
      || !(label_array = try_alloc (n * sizeof (gint32), "labels", error)))
    goto out;

  /* Labels are bytes, so n_classes ≤ 256 by construction. */
  guint n_classes = 2;
  for (guint64 i = 0; i < n; i++)
    {
      label_array[i] = label_bytes[i];
      n_classes = MAX (n_classes, (guint) label_bytes[i] + 1);
    }
  ds = dataset_wrap (n, dim, n_classes, image_dims[2], image_dims[1], 1,
                     features, label_array, g_strdup (images_path));
  features = NULL;
  label_array = NULL;

out:
  idx_stream_close (&images);
  idx_stream_close (&labels);
  g_free (pixels);
  g_free (label_bytes);
  g_free (features);
  g_free (label_array);
  return ds;
}

/* ---- CIFAR-10 ----------------------------------------------------------- */

DrmadDataset *
drmad_dataset_load_cifar10 (const char *const *paths, const DrmadLoadLimits *limits,
                            GError **error)
{
  DrmadLoadLimits lim = limits_resolve (limits);
  if (paths == NULL || paths[0] == NULL)
    {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT, "no CIFAR-10 batch files given");
      return NULL;
    }

  /* Measure every file first so nothing is allocated for a set that will fail. */
  guint64 n = 0;
  for (guint k = 0; paths[k]; k++)
    {
      GStatBuf st;
      if (g_stat (paths[k], &st) != 0)
        {
          set_open_error (error, paths[k], errno);
          return NULL;
        }
      if (!S_ISREG (st.st_mode))
        {
          g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_IO, "%s: is not a regular file", paths[k]);
          return NULL;
        }
      if (st.st_size % CIFAR_RECORD != 0)
        {
          g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_TRUNCATED,
                       "%s: %" G_GUINT64_FORMAT " bytes is not a whole number of %d-byte CIFAR-10 records "
                       "(%" G_GUINT64_FORMAT " bytes left over)", paths[k], (guint64) st.st_size,
                       CIFAR_RECORD, (guint64) st.st_size % CIFAR_RECORD);
          return NULL;
        }
      n += st.st_size / CIFAR_RECORD;
    }
  if (!limits_check (&lim, paths[0], n, CIFAR_PIXELS, error))
    return NULL;
  if (n == 0)
    {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_EMPTY, "%s: holds no CIFAR-10 records", paths[0]);
      return NULL;
    }

  float *features = try_alloc (n * CIFAR_PIXELS * sizeof (float), "features", error);
  gint32 *labels = features ? try_alloc (n * sizeof (gint32), "labels", error) : NULL;
  guint8 *record = g_malloc (CIFAR_RECORD);
  guint64 i = 0;
  gboolean ok = labels != NULL;
  for (guint k = 0; ok && paths[k]; k++)
    {
      FILE *f = g_fopen (paths[k], "rb");
      if (f == NULL)
        {
          set_open_error (error, paths[k], errno);
          ok = FALSE;
          break;
        }
      for (guint64 r = 0; ok; r++)
        {
          size_t got = fread (record, 1, CIFAR_RECORD, f);
          if (got == 0 && feof (f))
            break;
          if (got != CIFAR_RECORD || i >= n)
            {
              /* The file changed size since it was measured. */
              g_set_error (error, DRMAD_ERROR, ferror (f) ? DRMAD_ERROR_IO : DRMAD_ERROR_TRUNCATED,
                           "%s: record %" G_GUINT64_FORMAT " could not be read whole", paths[k], r);
              ok = FALSE;
            }
          else if (record[0] >= 10)
            {
              g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_LABEL_RANGE,
                           "%s: record %" G_GUINT64_FORMAT " has label %u, expected 0 to 9",
                           paths[k], r, record[0]);
              ok = FALSE;
            }
          else
            {
              labels[i] = record[0];
              bytes_scale (record + 1, CIFAR_PIXELS, features + i * CIFAR_PIXELS);
              i++;
            }
        }
      fclose (f);
    }
  g_free (record);
  if (ok && i != n)
    {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_TRUNCATED,
                   "%s: holds %" G_GUINT64_FORMAT " records, %" G_GUINT64_FORMAT " expected",
                   paths[0], i, n);
      ok = FALSE;
    }
  if (!ok)
    {
      g_free (features);
      g_free (labels);
      return NULL;
    }
  return dataset_wrap (n, CIFAR_PIXELS, 10, 32, 32, 3, features, labels, g_strdup (paths[0]));
}

/* ---- PNG folder --------------------------------------------------------- */

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Entries of @folder (hidden ones skipped) that are folders when @want_dirs,
 * else regular files ending in .png; sorted by name. */
static GPtrArray *
list_entries (const char *folder, gboolean want_dirs, GError **error)
{
  GError *local = NULL;
  GDir *dir = g_dir_open (folder, 0, &local);
  if (dir == NULL)
    {
      /* GLib's message already names the folder */
      g_set_error_literal (error, DRMAD_ERROR,
                           g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                           ? DRMAD_ERROR_NOT_FOUND : DRMAD_ERROR_IO, local->message);
      g_error_free (local);
      return NULL;
    }
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (dir)))
    {
      if (name[0] == '.')
        continue;
      char *path = g_build_filename (folder, name, NULL);
      gsize len = strlen (name);
      gboolean keep = want_dirs ? g_file_test (path, G_FILE_TEST_IS_DIR)
                                : len > 4 && g_ascii_strcasecmp (name + len - 4, ".png") == 0
                                  && g_file_test (path, G_FILE_TEST_IS_REGULAR);
      if (keep)
        g_ptr_array_add (names, path);
      else
        g_free (path);
    }
  g_dir_close (dir);
  g_ptr_array_sort (names, compare_strings);
  return names;
}

/* Keeps the file's colour model and drops alpha: gray+alpha becomes gray and
 * RGBA becomes RGB by compositing on black (an opaque file reads unchanged);
 * palette files become RGB; 16-bit files are reduced to 8 bits. */
static gboolean
png_open (png_image *image, const char *path, guint *channels, GError **error)
{
  memset (image, 0, sizeof *image);
  image->version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file (image, path))
    {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_BAD_IMAGE, "%s: cannot decode PNG: %s",
                   path, image->message);
      png_image_free (image);
      return FALSE;
    }
  *channels = (image->format & PNG_FORMAT_FLAG_COLOR) ? 3 : 1;
  image->format = *channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  return TRUE;
}

DrmadDataset *
drmad_dataset_load_png_folder (const char *folder, const DrmadLoadLimits *limits, GError **error)
{
  DrmadLoadLimits lim = limits_resolve (limits);
  g_autoptr (GPtrArray) classes = list_entries (folder, TRUE, error);
  if (classes == NULL)
    return NULL;

  /* Folders without PNGs are not classes, so a stray empty folder does not
   * leave a label that no example carries. */
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GArray) file_class = g_array_new (FALSE, FALSE, sizeof (gint32));
  gint32 n_classes = 0;
  for (guint c = 0; c < classes->len; c++)
    {
      g_autoptr (GPtrArray) pngs = list_entries (classes->pdata[c], FALSE, error);
      if (pngs == NULL)
        return NULL;
      if (pngs->len == 0)
        continue;
      for (guint k = 0; k < pngs->len; k++)
        {
          g_ptr_array_add (files, g_steal_pointer (&pngs->pdata[k]));
          g_array_append_val (file_class, n_classes);
        }
      n_classes++;
    }
  if (files->len == 0)
    {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_EMPTY,
                   "%s: holds no class subfolders with PNG files", folder);
      return NULL;
    }

  png_image image;
  guint width = 0, height = 0, channels = 0, dim = 0;
  float *features = NULL;
  guint8 *pixels = NULL;
  gint32 *labels = NULL;
  for (guint i = 0; i < files->len; i++)
    {
      const char *path = files->pdata[i];
      guint c;
      if (!png_open (&image, path, &c, error))
        goto fail;
      if (i == 0)
        {
          width = image.width;
          height = image.height;
          channels = c;
          if (!limits_check (&lim, path, files->len, (guint64) width * height * channels, error))
            {
              png_image_free (&image);
              goto fail;
            }
          dim = width * height * channels;
          if (!(features = try_alloc ((gsize) files->len * dim * sizeof (float), "features", error))
              || !(labels = try_alloc (files->len * sizeof (gint32), "labels", error))
              || !(pixels = try_alloc (dim, "a decoded image", error)))
            {
              png_image_free (&image);
              goto fail;
            }
        }
      else if (image.width != width || image.height != height || c != channels)
        {
          g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_MIXED_SIZES,
                       "%s: is %u × %u × %u (width × height × channels), expected %u × %u × %u like %s",
                       path, image.width, image.height, c, width, height, channels,
                       (const char *) files->pdata[0]);
          png_image_free (&image);
          goto fail;
        }
      png_color black = { 0, 0, 0 };
      if (!png_image_finish_read (&image, &black, pixels, 0, NULL))
        {
          g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_BAD_IMAGE, "%s: cannot decode PNG: %s",
                       path, image.message);
          png_image_free (&image);
          goto fail;
        }
      bytes_scale (pixels, dim, features + (gsize) i * dim);
      labels[i] = g_array_index (file_class, gint32, i);
    }
  g_free (pixels);
  return dataset_wrap (files->len, dim, n_classes, width, height, channels,
                       features, labels, g_strdup (folder));

fail:
  g_free (features);
  g_free (labels);
  g_free (pixels);
  return NULL;
}

/* ---- Opening by name or path -------------------------------------------- */

/* @dir/@stem or @dir/@stem.gz, whichever exists (plain first). */
static char *
find_maybe_gz (const char *dir, const char *stem)
{
  char *plain = g_build_filename (dir, stem, NULL);
  if (g_file_test (plain, G_FILE_TEST_IS_REGULAR))
    return plain;
  char *gz = g_strconcat (plain, ".gz", NULL);
  g_free (plain);
  if (g_file_test (gz, G_FILE_TEST_IS_REGULAR))
    return gz;
  g_free (gz);
  return NULL;
}

static DrmadDataset *
load_idx_pair (const char *dir, const char *prefix, const DrmadLoadLimits *limits, GError **error)
{
  g_autofree char *images_stem = g_strconcat (prefix, "-images-idx3-ubyte", NULL);
  g_autofree char *labels_stem = g_strconcat (prefix, "-labels-idx1-ubyte", NULL);
  g_autofree char *images = find_maybe_gz (dir, images_stem);
  g_autofree char *labels = find_maybe_gz (dir, labels_stem);
  if (images == NULL || labels == NULL)
    {
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
  g_autofree char *train_images = find_maybe_gz (folder, "train-images-idx3-ubyte");
  if (train_images)
    {
      g_autofree char *test_images = find_maybe_gz (folder, "t10k-images-idx3-ubyte");
      g_autoptr (DrmadDataset) tr = load_idx_pair (folder, "train", limits, error);
      if (tr == NULL)
        return FALSE;
      g_autoptr (DrmadDataset) te = NULL;
      if (test_images && !(te = load_idx_pair (folder, "t10k", limits, error)))
        return FALSE;
      *train = g_steal_pointer (&tr);
      *test = g_steal_pointer (&te);
      return TRUE;
    }

  g_autoptr (GPtrArray) batches = g_ptr_array_new_with_free_func (g_free);
  GDir *dir = g_dir_open (folder, 0, NULL);
  const char *name;
  while (dir && (name = g_dir_read_name (dir)))
    if (g_str_has_prefix (name, "data_batch_") && g_str_has_suffix (name, ".bin"))
      g_ptr_array_add (batches, g_build_filename (folder, name, NULL));
  if (dir)
    g_dir_close (dir);
  if (batches->len > 0)
    {
      g_ptr_array_sort (batches, compare_by_length_then_name);
      g_ptr_array_add (batches, NULL);
      g_autofree char *test_batch = g_build_filename (folder, "test_batch.bin", NULL);
      const char *test_paths[] = { test_batch, NULL };
      g_autoptr (DrmadDataset) tr = drmad_dataset_load_cifar10 ((const char *const *) batches->pdata,
                                                               limits, error);
      if (tr == NULL)
        return FALSE;
      g_autoptr (DrmadDataset) te = NULL;
      if (g_file_test (test_batch, G_FILE_TEST_EXISTS)
          && !(te = drmad_dataset_load_cifar10 (test_paths, limits, error)))
        return FALSE;
      *train = g_steal_pointer (&tr);
      *test = g_steal_pointer (&te);
      return TRUE;
    }

  DrmadDataset *tr = drmad_dataset_load_png_folder (folder, limits, error);
  if (tr == NULL)
    return FALSE;
  *train = tr;
  *test = NULL;
  return TRUE;
}

static gboolean
open_file (const char *path, const DrmadLoadLimits *limits,
           DrmadDataset **train, DrmadDataset **test, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  DrmadDataset *ds = NULL;
  const char *marker = strstr (base, "-images-idx3-ubyte");
  if (marker && (marker[18] == '\0' || strcmp (marker + 18, ".gz") == 0))
    {
      g_autofree char *stem = g_strndup (base, marker - base);
      g_autofree char *labels_stem = g_strconcat (stem, "-labels-idx1-ubyte", NULL);
      g_autofree char *labels = find_maybe_gz (dir, labels_stem);
      if (labels == NULL)
        {
          g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_NOT_FOUND, "%s: has no %s[.gz] beside it",
                       path, labels_stem);
          return FALSE;
        }
      ds = drmad_dataset_load_idx (path, labels, limits, error);
    }
  else if (g_str_has_suffix (base, ".bin"))
    {
      const char *paths[] = { path, NULL };
      ds = drmad_dataset_load_cifar10 (paths, limits, error);
    }
  else
    {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_NOT_FOUND,
                   "%s: is neither an IDX images file (NAME-images-idx3-ubyte[.gz]) nor a CIFAR-10 batch (.bin)",
                   path);
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
  if (env && *env)
    {
      char *p = g_build_filename (env, name, NULL);
      if (g_file_test (p, G_FILE_TEST_EXISTS))
        return p;
      g_free (p);
    }
  if (is_builtin (name))
    {
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
  if (path == NULL)
    {
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
  for (guint i = 0; builtin_names[i]; i++)
    {
      g_autofree char *p = find_named (builtin_names[i]);
      if (p && !g_strv_contains ((const char *const *) names->pdata, builtin_names[i]))
        g_ptr_array_add (names, g_strdup (builtin_names[i]));
    }
  g_ptr_array_sort (names, compare_strings);
  return (char **) g_ptr_array_free (names, FALSE);
}

/* ---- Splits ------------------------------------------------------------- */

/* Fisher–Yates over [0, n) driven by a splitmix64 counter stream. */
static guint32 *
seeded_permutation (guint n, guint64 seed, guint64 stream, GError **error)
{
  guint32 *perm = try_alloc ((gsize) n * sizeof (guint32), "a permutation", error);
  if (perm == NULL)
    return NULL;
  for (guint i = 0; i < n; i++)
    perm[i] = i;
  guint64 key = drmad_mix64 (seed ^ drmad_mix64 (stream));
  for (guint i = n; i > 1; i--)
    {
      guint64 r = drmad_mix64 (key + i);
      guint j = (guint) (((unsigned __int128) r * i) >> 64);
      guint32 t = perm[i - 1];
      perm[i - 1] = perm[j];
      perm[j] = t;
    }
  return perm;
}

static DrmadDataset *
dataset_gather (const DrmadDataset *src, const guint32 *rows, guint count, guint n_classes,
                GError **error)
{
  float *f = try_alloc ((gsize) count * src->dim * sizeof (float), "split features", error);
  gint32 *l = f ? try_alloc ((gsize) count * sizeof (gint32), "split labels", error) : NULL;
  if (l == NULL)
    {
      g_free (f);
      return NULL;
    }
  for (guint i = 0; i < count; i++)
    {
      memcpy (f + (gsize) i * src->dim, src->features + (gsize) rows[i] * src->dim,
              src->dim * sizeof (float));
      l[i] = src->labels[rows[i]];
    }
  return dataset_wrap (count, src->dim, n_classes, src->width, src->height, src->channels,
                       f, l, g_strdup (src->source));
}

static void
dataset_standardise (DrmadDataset *ds, const float *mean, const float *std)
{
  for (guint i = 0; i < ds->n; i++)
    {
      float *row = ds->features + (gsize) i * ds->dim;
      for (guint d = 0; d < ds->dim; d++)
        row[d] = (row[d] - mean[d]) / std[d];
    }
}

DrmadSplit *
drmad_dataset_split (const DrmadDataset *pool, const DrmadDataset *test_pool,
                     guint64 seed, guint n_train, guint n_val, guint n_test, GError **error)
{
  g_return_val_if_fail (pool != NULL, NULL);
  if (test_pool && test_pool->dim != pool->dim)
    {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                   "the test pool (%s) has %u features per example, the training pool (%s) has %u",
                   test_pool->source, test_pool->dim, pool->source, pool->dim);
      return NULL;
    }
  if (test_pool && n_test > test_pool->n)
    {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                   "%u test examples asked for but the test pool (%s) holds %u",
                   n_test, test_pool->source, test_pool->n);
      return NULL;
    }
  if (test_pool && n_test == 0)
    n_test = test_pool->n;
  if (!test_pool && n_test == 0)
    {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                   "%s has no test set of its own: give the number of test examples to hold out "
                   "(--test-size N)", pool->source);
      return NULL;
    }
  guint64 from_pool = (guint64) n_val + (test_pool ? 0 : n_test);
  guint64 wanted = from_pool + n_train;
  if (wanted > pool->n || (n_train == 0 && from_pool >= pool->n))
    {
      g_autofree char *test_part = test_pool ? g_strdup ("") : g_strdup_printf (" + %u test", n_test);
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                   "%u train + %u validation%s examples asked for but the pool (%s) holds %u "
                   "(at least one must be left for training)", n_train, n_val,
                   test_part, pool->source, pool->n);
      return NULL;
    }
  if (n_train == 0)
    n_train = pool->n - from_pool;

  guint n_classes = MAX (pool->n_classes, test_pool ? test_pool->n_classes : 0);
  guint dim = pool->dim;
  g_autofree guint32 *perm = seeded_permutation (pool->n, seed, 1, error);
  g_autofree guint32 *test_perm = NULL;
  if (perm == NULL || (test_pool && !(test_perm = seeded_permutation (test_pool->n, seed, 2, error))))
    return NULL;

  /* Validation and test come first so they stay fixed when only n_train changes. */
  g_autoptr (DrmadSplit) split = g_new0 (DrmadSplit, 1);
  if (!(split->val = dataset_gather (pool, perm, n_val, n_classes, error))
      || !(split->test = test_pool ? dataset_gather (test_pool, test_perm, n_test, n_classes, error)
                                   : dataset_gather (pool, perm + n_val, n_test, n_classes, error))
      || !(split->train = dataset_gather (pool, perm + from_pool, n_train, n_classes, error))
      || !(split->mean = try_alloc (dim * sizeof (float), "means", error))
      || !(split->std = try_alloc (dim * sizeof (float), "deviations", error)))
    return NULL;

  /* Two passes in double: one-pass variance loses digits on 60 000 near-equal pixels. */
  g_autofree double *sum = g_new0 (double, dim);
  g_autofree double *sq = g_new0 (double, dim);
  const DrmadDataset *tr = split->train;
  for (guint i = 0; i < tr->n; i++)
    for (guint d = 0; d < dim; d++)
      sum[d] += tr->features[(gsize) i * dim + d];
  for (guint d = 0; d < dim; d++)
    sum[d] /= tr->n;
  for (guint i = 0; i < tr->n; i++)
    for (guint d = 0; d < dim; d++)
      {
        double c = tr->features[(gsize) i * dim + d] - sum[d];
        sq[d] += c * c;
      }
  for (guint d = 0; d < dim; d++)
    {
      double sd = sqrt (sq[d] / tr->n);
      split->mean[d] = sum[d];
      split->std[d] = sd < 1e-6 ? 1.0f : (float) sd;
    }
  dataset_standardise (split->train, split->mean, split->std);
  dataset_standardise (split->val, split->mean, split->std);
  dataset_standardise (split->test, split->mean, split->std);
  return g_steal_pointer (&split);
}

void
drmad_split_free (DrmadSplit *split)
{
  if (split == NULL)
    return;
  drmad_dataset_free (split->train);
  drmad_dataset_free (split->val);
  drmad_dataset_free (split->test);
  g_free (split->mean);
  g_free (split->std);
  g_free (split);
}
