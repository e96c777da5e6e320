/* Loaders round-trip files written here, refuse each kind of bad input with
 * its own error code, and splits are disjoint and standardised. */
#include "drmad-dataset.h"
#include "dataset-private.h"   /* to see that a pool holds no floats */
#include "test-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <png.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* ---- helpers ------------------------------------------------------------ */


static char *
make_tmp (void)
{
  GError *error = NULL;
  char *dir = test_tmp_dir ("drmad-test-dataset", &error);
  g_assert_no_error (error);
  return dir;
}

static char *
path_in (const char *dir, const char *name)
{
  return g_build_filename (dir, name, NULL);
}

static void
write_bytes (const char *path, const void *data, gsize len)
{
  GError *error = NULL;
  g_assert_true (g_file_set_contents (path, data, len, &error));
  g_assert_no_error (error);
}

static void
write_gz (const char *path, const void *data, gsize len)
{
  gzFile gz = gzopen (path, "wb");
  g_assert_nonnull (gz);
  g_assert_cmpint (gzwrite (gz, data, len), ==, (int) len);
  g_assert_cmpint (gzclose (gz), ==, Z_OK);
}

static void
append_be32 (GByteArray *a, guint32 v)
{
  guint8 b[4] = { v >> 24, v >> 16, v >> 8, v };
  g_byte_array_append (a, b, 4);
}

static guint8
pixel_value (guint i, guint p)
{
  return (guint8) ((i * 131 + p * 29 + (p * p) / 7) & 0xff);
}

/* An IDX image file of @n images of rows × cols whose header says @claimed_n. */
static GByteArray *
idx_images (guint32 claimed_n, guint n, guint rows, guint cols)
{
  GByteArray *a = g_byte_array_new ();
  append_be32 (a, 0x00000803);
  append_be32 (a, claimed_n);
  append_be32 (a, rows);
  append_be32 (a, cols);
  for (guint i = 0; i < n; i++)
    for (guint p = 0; p < rows * cols; p++)
      {
        guint8 v = pixel_value (i, p);
        g_byte_array_append (a, &v, 1);
      }
  return a;
}

static GByteArray *
idx_labels (guint32 claimed_n, guint n, guint n_classes)
{
  GByteArray *a = g_byte_array_new ();
  append_be32 (a, 0x00000801);
  append_be32 (a, claimed_n);
  for (guint i = 0; i < n; i++)
    {
      guint8 v = (i * 7) % n_classes;
      g_byte_array_append (a, &v, 1);
    }
  return a;
}

static void
write_array (const char *path, GByteArray *a, gboolean gz)
{
  if (gz)
    write_gz (path, a->data, a->len);
  else
    write_bytes (path, a->data, a->len);
  g_byte_array_unref (a);
}

static void
write_png (const char *path, guint width, guint height, guint32 format, const guint8 *pixels)
{
  png_image image = { 0 };
  image.version = PNG_IMAGE_VERSION;
  image.width = width;
  image.height = height;
  image.format = format;
  g_assert_true (png_image_write_to_file (&image, path, 0, pixels, 0, NULL));
}

/* A PNG written with libpng's own API, for what the simplified one cannot
 * write: 16-bit samples, Adam7 interlacing, a gAMA chunk (@gamma > 0, in
 * units of 1/100000). @samples holds height rows of width × channels samples
 * (big-endian pairs of bytes at 16 bits). */
static void
write_png_raw (const char *path, guint width, guint height, int color_type, int bit_depth,
               gboolean interlaced, int gamma, const guint8 *samples)
{
  FILE *f = g_fopen (path, "wb");
  g_assert_nonnull (f);
  png_structp png = png_create_write_struct (PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png_create_info_struct (png);
  g_assert_nonnull (info);
  if (setjmp (png_jmpbuf (png)))
    g_assert_not_reached ();
  png_init_io (png, f);
  png_set_IHDR (png, info, width, height, bit_depth, color_type,
                interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (gamma > 0)
    png_set_gAMA_fixed (png, info, gamma);
  png_color grays[2] = { { 0, 0, 0 }, { 128, 128, 128 } };   /* palette files: two gray entries */
  if (color_type == PNG_COLOR_TYPE_PALETTE)
    png_set_PLTE (png, info, grays, 2);
  png_write_info (png, info);
  gsize row_bytes = png_get_rowbytes (png, info);
  g_autofree png_bytep *rows = g_new (png_bytep, height);
  for (guint y = 0; y < height; y++)
    rows[y] = (png_bytep) samples + y * row_bytes;
  png_write_image (png, rows);
  png_write_end (png, NULL);
  png_destroy_write_struct (&png, &info);
  g_assert_cmpint (fclose (f), ==, 0);
}

static void
write_png_pattern (const char *path, guint width, guint height, guint channels, guint seed)
{
  g_autofree guint8 *px = g_malloc (width * height * channels);
  for (guint p = 0; p < width * height * channels; p++)
    px[p] = pixel_value (seed, p);
  write_png (path, width, height, channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY, px);
}

static void
assert_message_has (const GError *error, const char *fragment)
{
  if (strstr (error->message, fragment) == NULL)
    g_test_message ("message “%s” lacks “%s”", error->message, fragment);
  g_assert_nonnull (strstr (error->message, fragment));
}

/* ---- IDX ---------------------------------------------------------------- */

static void
check_idx_dataset (const DrmadDataset *ds, guint n, guint rows, guint cols, guint n_classes)
{
  g_assert_cmpuint (drmad_dataset_get_n (ds), ==, n);
  g_assert_cmpuint (drmad_dataset_get_dim (ds), ==, rows * cols);
  g_assert_cmpuint (drmad_dataset_get_n_classes (ds), ==, n_classes);
  guint w, h, c;
  drmad_dataset_get_shape (ds, &w, &h, &c);
  g_assert_cmpuint (w, ==, cols);
  g_assert_cmpuint (h, ==, rows);
  g_assert_cmpuint (c, ==, 1);
  const float *f = drmad_dataset_get_features (ds);
  const gint32 *l = drmad_dataset_get_labels (ds);
  for (guint i = 0; i < n; i++)
    {
      g_assert_cmpint (l[i], ==, (gint32) ((i * 7) % n_classes));
      for (guint p = 0; p < rows * cols; p++)
        g_assert_cmpfloat (f[i * rows * cols + p], ==, pixel_value (i, p) / 255.0f);
    }
}

static void
test_idx_roundtrip (gconstpointer data)
{
  gboolean gz = GPOINTER_TO_INT (data);
  g_autofree char *dir = make_tmp ();
  g_autofree char *images = path_in (dir, gz ? "x-images-idx3-ubyte.gz" : "x-images-idx3-ubyte");
  g_autofree char *labels = path_in (dir, "x-labels-idx1-ubyte");
  write_array (images, idx_images (7, 7, 3, 4), gz);
  write_array (labels, idx_labels (7, 7, 3), gz);
  GError *error = NULL;
  g_autoptr (DrmadDataset) ds = drmad_dataset_load_idx (images, labels, NULL, &error);
  g_assert_no_error (error);
  check_idx_dataset (ds, 7, 3, 4, 3);
  g_assert_cmpstr (drmad_dataset_get_source (ds), ==, images);
  remove_tree (dir);
}

static void
test_idx_truncated (void)
{
  g_autofree char *dir = make_tmp ();
  g_autofree char *images = path_in (dir, "cut-images-idx3-ubyte");
  g_autofree char *labels = path_in (dir, "cut-labels-idx1-ubyte");
  write_array (labels, idx_labels (10, 10, 3), FALSE);
  GError *error = NULL;

  /* cut inside the pixels */
  GByteArray *a = idx_images (10, 10, 5, 5);
  g_byte_array_set_size (a, a->len - 30);
  write_array (images, a, FALSE);
  DrmadDataset *ds = drmad_dataset_load_idx (images, labels, NULL, &error);
  g_assert_null (ds);
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TRUNCATED);
  assert_message_has (error, "cut-images-idx3-ubyte");
  g_clear_error (&error);

  /* bytes past what the header counts (one image more), plain and compressed */
  for (int gz = 0; gz < 2; gz++) {
    g_autofree char *longer = path_in (dir, gz ? "long-images-idx3-ubyte.gz" : "long-images-idx3-ubyte");
    write_array (longer, idx_images (10, 11, 5, 5), gz);
    g_assert_null (drmad_dataset_load_idx (longer, labels, NULL, &error));
    g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_CORRUPT);
    assert_message_has (error, longer);
    assert_message_has (error, gz ? "at least 1 byte more than the 250 bytes" : "25 bytes more than the 250 bytes");
    g_clear_error (&error);
  }

  /* cut inside the header */
  a = idx_images (10, 10, 5, 5);
  g_byte_array_set_size (a, 9);
  write_array (images, a, FALSE);
  g_assert_null (drmad_dataset_load_idx (images, labels, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TRUNCATED);
  assert_message_has (error, "header");
  g_clear_error (&error);

  /* labels cut short */
  write_array (images, idx_images (10, 10, 5, 5), FALSE);
  a = idx_labels (10, 10, 3);
  g_byte_array_set_size (a, a->len - 1);
  write_array (labels, a, FALSE);
  g_assert_null (drmad_dataset_load_idx (images, labels, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TRUNCATED);
  assert_message_has (error, "cut-labels-idx1-ubyte");
  g_clear_error (&error);
  remove_tree (dir);
}

static void
test_idx_truncated_gz (void)
{
  g_autofree char *dir = make_tmp ();
  g_autofree char *full = path_in (dir, "full.gz");
  g_autofree char *images = path_in (dir, "cut-images-idx3-ubyte.gz");
  g_autofree char *labels = path_in (dir, "cut-labels-idx1-ubyte.gz");
  write_array (full, idx_images (300, 300, 28, 28), TRUE);
  write_array (labels, idx_labels (300, 300, 10), TRUE);

  g_autofree char *bytes = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (full, &bytes, &len, NULL));
  g_assert_cmpuint (len, >, 1000);
  write_bytes (images, bytes, len / 2);
  GError *error = NULL;
  g_assert_null (drmad_dataset_load_idx (images, labels, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TRUNCATED);
  assert_message_has (error, "cut-images-idx3-ubyte.gz");
  g_clear_error (&error);

  /* corrupt compressed data: zlib's data or CRC check fails */
  g_autofree char *corrupt = g_memdup2 (bytes, len);
  for (gsize k = len / 2; k < len / 2 + 8; k++)
    corrupt[k] ^= 0x5a;
  write_bytes (images, corrupt, len);
  g_assert_null (drmad_dataset_load_idx (images, labels, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_IO);
  assert_message_has (error, "corrupt gzip data");
  /* the file named once, and not as zlib's descriptor "<fd:N>" */
  g_assert_true (g_str_has_prefix (error->message, images));
  g_assert_null (strstr (error->message + strlen (images), "cut-images-idx3-ubyte.gz"));
  g_assert_null (strstr (error->message, "<fd:"));
  g_clear_error (&error);

  /* a whole gzip stream whose header promises 2 000 000 images (within the
   * limits) while it holds 300: the loader must fail without allocating 1.5 GB */
  write_array (images, idx_images (2000000, 300, 28, 28), TRUE);
  write_array (labels, idx_labels (2000000, 2000000, 10), TRUE);
  gint64 start = g_get_monotonic_time ();
  g_assert_null (drmad_dataset_load_idx (images, labels, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TRUNCATED);
  assert_message_has (error, "cut-images-idx3-ubyte.gz");
  assert_message_has (error, "1568000000");
  g_assert_cmpint (g_get_monotonic_time () - start, <, 2 * G_USEC_PER_SEC);
  g_clear_error (&error);
  remove_tree (dir);
}

static void
test_idx_bad_magic (void)
{
  g_autofree char *dir = make_tmp ();
  g_autofree char *images = path_in (dir, "m-images-idx3-ubyte");
  g_autofree char *labels = path_in (dir, "m-labels-idx1-ubyte");
  write_array (labels, idx_labels (4, 4, 2), FALSE);
  GError *error = NULL;

  /* labels given as images */
  g_assert_null (drmad_dataset_load_idx (labels, labels, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_BAD_MAGIC);
  assert_message_has (error, "m-labels-idx1-ubyte");
  assert_message_has (error, "0x00000803");
  assert_message_has (error, "0x00000801");
  g_clear_error (&error);

  /* images given as labels */
  write_array (images, idx_images (4, 4, 2, 2), FALSE);
  g_assert_null (drmad_dataset_load_idx (images, images, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_BAD_MAGIC);
  g_clear_error (&error);

  /* IDX, but of floats, or of bytes in four dimensions: the message says
   * what the file is and what drmad reads */
  const guint8 floats[] = { 0, 0, 0x0D, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x3f, 0, 0, 0 };
  write_bytes (images, floats, sizeof floats);
  g_assert_null (drmad_dataset_load_idx (images, labels, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_BAD_MAGIC);
  assert_message_has (error, "m-images-idx3-ubyte: is an IDX file of 32-bit floats (type 0x0d) in 3 dimensions");
  assert_message_has (error, "unsigned bytes (type 0x08) in 3 dimensions, images × rows × columns");
  g_clear_error (&error);
  const guint8 four[] = { 0, 0, 8, 4, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 3, 1, 2, 3 };
  write_bytes (images, four, sizeof four);
  g_assert_null (drmad_dataset_load_idx (images, labels, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_BAD_MAGIC);
  assert_message_has (error, "is an IDX file of unsigned bytes (type 0x08) in 4 dimensions");
  g_clear_error (&error);

  /* not IDX at all, compressed */
  const char text[] = "this is a text file, not an IDX file at all";
  write_gz (images, text, sizeof text);
  g_assert_null (drmad_dataset_load_idx (images, labels, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_BAD_MAGIC);
  assert_message_has (error, "m-images-idx3-ubyte");
  g_clear_error (&error);
  remove_tree (dir);
}

static void
test_idx_count_mismatch (void)
{
  g_autofree char *dir = make_tmp ();
  g_autofree char *images = path_in (dir, "a-images-idx3-ubyte");
  g_autofree char *labels = path_in (dir, "b-labels-idx1-ubyte");
  write_array (images, idx_images (6, 6, 2, 2), FALSE);
  write_array (labels, idx_labels (5, 5, 2), FALSE);
  GError *error = NULL;
  g_assert_null (drmad_dataset_load_idx (images, labels, NULL, &error));
  /* the two files disagree: CORRUPT (drmad-error.h), not a bad argument, which it gave */
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_CORRUPT);
  assert_message_has (error, "a-images-idx3-ubyte");
  assert_message_has (error, "b-labels-idx1-ubyte");
  g_clear_error (&error);

  /* No images, of 3 rows × 5 columns: the shape width first, as drmad_dataset_get_shape() gives it */
  write_array (images, idx_images (0, 0, 3, 5), FALSE);
  g_assert_null (drmad_dataset_load_idx (images, labels, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_EMPTY);
  assert_message_has (error, "holds 0 images of 5 × 3 pixels (width × height)");
  g_clear_error (&error);
  remove_tree (dir);
}

static void
test_idx_too_large (void)
{
  g_autofree char *dir = make_tmp ();
  g_autofree char *images = path_in (dir, "huge-images-idx3-ubyte");
  g_autofree char *labels = path_in (dir, "huge-labels-idx1-ubyte");
  write_array (labels, idx_labels (10, 10, 2), FALSE);
  GError *error = NULL;

  /* IDX counts are 32-bit, so the most it can claim, 2^32 − 1 images of
   * 1000 × 1000, stands in for "10^12 images": 4·10^15 bytes. */
  write_array (images, idx_images (G_MAXUINT32, 10, 1000, 1000), FALSE);
  gint64 start = g_get_monotonic_time ();
  g_assert_null (drmad_dataset_load_idx (images, labels, NULL, &error));
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC / 10);
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE);
  assert_message_has (error, "huge-images-idx3-ubyte");
  assert_message_has (error, "4294967295");
  g_clear_error (&error);

  /* a caller's limits: 10 images of 2 × 2 against a 5-example cap and a 32-byte cap */
  write_array (images, idx_images (10, 10, 2, 2), FALSE);
  DrmadLoadLimits limits = { .max_examples = 5 };
  g_assert_null (drmad_dataset_load_idx (images, labels, &limits, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE);
  g_clear_error (&error);
  limits = (DrmadLoadLimits) { .max_bytes = 32 };
  g_assert_null (drmad_dataset_load_idx (images, labels, &limits, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE);
  g_clear_error (&error);
  limits = (DrmadLoadLimits) { .max_features = 3 };
  g_assert_null (drmad_dataset_load_idx (images, labels, &limits, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE);
  g_clear_error (&error);
  remove_tree (dir);
}

static void
test_idx_header_exceeds_file (void)
{
  g_autofree char *dir = make_tmp ();
  g_autofree char *images = path_in (dir, "lie-images-idx3-ubyte");
  g_autofree char *labels = path_in (dir, "lie-labels-idx1-ubyte");
  write_array (images, idx_images (1000000, 10, 28, 28), FALSE);
  write_array (labels, idx_labels (1000000, 1000000, 10), FALSE);
  GError *error = NULL;
  g_assert_null (drmad_dataset_load_idx (images, labels, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TRUNCATED);
  assert_message_has (error, "lie-images-idx3-ubyte");
  assert_message_has (error, "784000000");
  g_clear_error (&error);
  remove_tree (dir);
}

static void
test_idx_missing (void)
{
  g_autofree char *dir = make_tmp ();
  g_autofree char *images = path_in (dir, "none-images-idx3-ubyte");
  g_autofree char *labels = path_in (dir, "none-labels-idx1-ubyte");
  GError *error = NULL;
  g_assert_null (drmad_dataset_load_idx (images, labels, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_NOT_FOUND);
  assert_message_has (error, "none-images-idx3-ubyte");
  g_clear_error (&error);

  write_array (images, idx_images (3, 3, 2, 2), FALSE);
  g_assert_null (drmad_dataset_load_idx (images, labels, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_NOT_FOUND);
  assert_message_has (error, "none-labels-idx1-ubyte");
  g_clear_error (&error);
  remove_tree (dir);
}

/* ---- CIFAR-10 ----------------------------------------------------------- */

static void
write_cifar (const char *path, guint first, guint n, guint bad_record, guint8 bad_label, gsize cut)
{
  GByteArray *a = g_byte_array_new ();
  for (guint r = 0; r < n; r++)
    {
      guint8 label = r == bad_record ? bad_label : (first + r) % 10;
      g_byte_array_append (a, &label, 1);
      for (guint p = 0; p < 3072; p++)
        {
          guint8 v = pixel_value (first + r, p);
          g_byte_array_append (a, &v, 1);
        }
    }
  g_byte_array_set_size (a, a->len - cut);
  write_array (path, a, FALSE);
}

static void
test_cifar_roundtrip (void)
{
  g_autofree char *dir = make_tmp ();
  g_autofree char *b1 = path_in (dir, "data_batch_1.bin");
  g_autofree char *b2 = path_in (dir, "data_batch_2.bin");
  write_cifar (b1, 0, 3, G_MAXUINT, 0, 0);
  write_cifar (b2, 3, 9, G_MAXUINT, 0, 0);
  const char *paths[] = { b1, b2, NULL };
  GError *error = NULL;
  g_autoptr (DrmadDataset) ds = drmad_dataset_load_cifar10 (paths, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (drmad_dataset_get_n (ds), ==, 12);
  g_assert_cmpuint (drmad_dataset_get_dim (ds), ==, 3072);
  g_assert_cmpuint (drmad_dataset_get_n_classes (ds), ==, 10);
  guint w, h, c;
  drmad_dataset_get_shape (ds, &w, &h, &c);
  g_assert_cmpuint (w, ==, 32);
  g_assert_cmpuint (h, ==, 32);
  g_assert_cmpuint (c, ==, 3);
  const float *f = drmad_dataset_get_features (ds);
  for (guint i = 0; i < 12; i++)
    {
      g_assert_cmpint (drmad_dataset_get_labels (ds)[i], ==, i % 10);
      for (guint p = 0; p < 3072; p++)
        g_assert_cmpfloat (f[i * 3072 + p], ==, pixel_value (i, p) / 255.0f);
    }
  remove_tree (dir);
}

static void
test_cifar_bad (void)
{
  g_autofree char *dir = make_tmp ();
  g_autofree char *good = path_in (dir, "data_batch_1.bin");
  g_autofree char *bad = path_in (dir, "data_batch_2.bin");
  write_cifar (good, 0, 2, G_MAXUINT, 0, 0);
  const char *paths[] = { good, bad, NULL };
  GError *error = NULL;

  write_cifar (bad, 0, 4, 2, 10, 0);
  g_assert_null (drmad_dataset_load_cifar10 (paths, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_LABEL_RANGE);
  assert_message_has (error, "data_batch_2.bin");
  assert_message_has (error, "record 2");
  assert_message_has (error, "label 10");
  g_clear_error (&error);

  write_cifar (bad, 0, 4, G_MAXUINT, 0, 100);
  g_assert_null (drmad_dataset_load_cifar10 (paths, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TRUNCATED);
  assert_message_has (error, "data_batch_2.bin");
  assert_message_has (error, "2973");   /* 3073 − 100 left over */
  g_clear_error (&error);

  g_unlink (bad);
  g_assert_null (drmad_dataset_load_cifar10 (paths, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_NOT_FOUND);
  assert_message_has (error, "data_batch_2.bin");
  g_clear_error (&error);

  /* an empty batch among others, which would add nothing unseen */
  write_bytes (bad, "", 0);
  g_assert_null (drmad_dataset_load_cifar10 (paths, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_EMPTY);
  assert_message_has (error, "data_batch_2.bin: is empty");
  g_clear_error (&error);

  const char *empty[] = { bad, NULL };
  g_assert_null (drmad_dataset_load_cifar10 (empty, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_EMPTY);
  g_clear_error (&error);

  /* CIFAR-100 given by mistake: three 3074-byte records (two label bytes),
   * as a batch and as a folder by CIFAR-100's own names */
  g_autofree guint8 *records = g_malloc0 (3 * 3074);
  write_bytes (bad, records, 3 * 3074);
  g_assert_null (drmad_dataset_load_cifar10 (paths, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TRUNCATED);
  assert_message_has (error, "data_batch_2.bin: 9222 bytes");
  assert_message_has (error, "3074-byte records, the CIFAR-100 layout");
  g_clear_error (&error);
  g_autofree char *c100 = path_in (dir, "c100");
  g_mkdir (c100, 0700);
  g_autofree char *train = path_in (c100, "train.bin"), *test = path_in (c100, "test.bin");
  write_bytes (train, records, 3 * 3074);
  write_bytes (test, records, 3074);
  DrmadDataset *pool = NULL, *test_pool = NULL;
  g_assert_false (drmad_dataset_open (c100, NULL, &pool, &test_pool, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_EMPTY);
  assert_message_has (error, "its train.bin looks like CIFAR-100");
  g_clear_error (&error);
  remove_tree (dir);
}

/* ---- PNG folders -------------------------------------------------------- */

static void
test_png_gray (void)
{
  g_autofree char *dir = make_tmp ();
  g_autofree char *dog = path_in (dir, "a_dog");
  g_autofree char *cat = path_in (dir, "b_cat");
  g_autofree char *empty = path_in (dir, "c_empty");
  g_mkdir (dog, 0700);
  g_mkdir (cat, 0700);
  g_mkdir (empty, 0700);
  /* written out of order: classes and files are read in sorted order */
  g_autofree char *c2 = path_in (cat, "2.png"), *c1 = path_in (cat, "1.png"), *d1 = path_in (dog, "x.png");
  g_autofree char *note = path_in (cat, "notes.txt"), *top = path_in (dir, "README");
  write_png_pattern (c2, 5, 4, 1, 2);
  write_png_pattern (c1, 5, 4, 1, 1);
  write_png_pattern (d1, 5, 4, 1, 0);
  write_bytes (note, "not an image", 12);
  write_bytes (top, "not a class", 11);

  GError *error = NULL;
  g_test_expect_message ("drmad", G_LOG_LEVEL_MESSAGE, "*c_empty: holds no PNG files, so it is not a class*");
  g_autoptr (DrmadDataset) ds = drmad_dataset_load_png_folder (dir, NULL, &error);
  g_test_assert_expected_messages ();
  g_assert_no_error (error);
  g_assert_cmpuint (drmad_dataset_get_n (ds), ==, 3);
  g_assert_cmpuint (drmad_dataset_get_dim (ds), ==, 20);
  g_assert_cmpuint (drmad_dataset_get_n_classes (ds), ==, 2);
  guint w, h, c;
  drmad_dataset_get_shape (ds, &w, &h, &c);
  g_assert_cmpuint (w, ==, 5);
  g_assert_cmpuint (h, ==, 4);
  g_assert_cmpuint (c, ==, 1);
  const gint32 expected_labels[] = { 0, 1, 1 };
  const float *f = drmad_dataset_get_features (ds);
  for (guint i = 0; i < 3; i++)
    {
      g_assert_cmpint (drmad_dataset_get_labels (ds)[i], ==, expected_labels[i]);
      for (guint p = 0; p < 20; p++)
        g_assert_cmpfloat (f[i * 20 + p], ==, pixel_value (i, p) / 255.0f);
    }
  remove_tree (dir);
}

/* An empty class folder between two others is left out with a message
 * naming it: the folder after it takes its number. */
/* A folder that gives no classes says where its PNG files are: in the
 * folder itself, or one level too deep (a train/test layout, where the
 * training folder is named). */
static void
test_png_layout_hint (void)
{
  g_autofree char *dir = make_tmp ();
  g_autofree char *flat = path_in (dir, "flat"), *deep = path_in (dir, "deep");
  g_mkdir (flat, 0700);
  g_autofree char *loose = path_in (flat, "0.png");
  write_png_pattern (loose, 3, 3, 1, 0);
  GError *error = NULL;
  DrmadDataset *pool = NULL, *test = NULL;
  g_assert_false (drmad_dataset_open (flat, NULL, &pool, &test, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_EMPTY);
  assert_message_has (error, "it holds 1 PNG file itself");
  assert_message_has (error, "a folder of one subfolder of PNG files per class");
  g_clear_error (&error);
  /* the PNG file itself */
  g_assert_false (drmad_dataset_open (loose, NULL, &pool, &test, &error));
  assert_message_has (error, "PNG files are read as a folder of one subfolder of PNG files per class");
  g_clear_error (&error);

  const char *parts[] = { "test", "train" }, *classes[] = { "cat", "dog" };
  for (guint p = 0; p < 2; p++)
    for (guint c = 0; c < 2; c++) {
      g_autofree char *cls = g_build_filename (deep, parts[p], classes[c], NULL);
      g_assert_cmpint (g_mkdir_with_parents (cls, 0700), ==, 0);
      g_autofree char *file = path_in (cls, "1.png");
      write_png_pattern (file, 3, 3, 1, c);
    }
  g_autofree char *train = path_in (deep, "train");
  g_autofree char *want = g_strdup_printf ("its subfolder %s holds class subfolders of PNG files", train);
  g_assert_false (drmad_dataset_open (deep, NULL, &pool, &test, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_EMPTY);
  assert_message_has (error, want);
  g_clear_error (&error);
  g_assert_null (drmad_dataset_load_png_folder (deep, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_EMPTY);
  assert_message_has (error, want);
  g_clear_error (&error);
  remove_tree (dir);
}

/* A symbolic link that leads nowhere, as a PNG file or as a class folder,
 * is refused naming it, not passed over with its class or file missing; a
 * link that leads to a file or a folder is followed. */
static void
test_png_dangling_link (void)
{
  g_autofree char *dir = make_tmp ();
  g_autofree char *a = path_in (dir, "a"), *b = path_in (dir, "b");
  g_mkdir (a, 0700);
  g_mkdir (b, 0700);
  g_autofree char *a1 = path_in (a, "1.png"), *b1 = path_in (b, "1.png"), *b2 = path_in (b, "2.png");
  write_png_pattern (a1, 3, 3, 1, 0);
  write_png_pattern (b1, 3, 3, 1, 1);
  g_assert_cmpint (symlink (a1, b2), ==, 0);
  GError *error = NULL;
  DrmadDataset *ds = drmad_dataset_load_png_folder (dir, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (drmad_dataset_get_n (ds), ==, 3);
  drmad_dataset_free (ds);

  g_autofree char *gone = path_in (dir, "gone.png"), *b3 = path_in (b, "3.png");
  g_assert_cmpint (symlink (gone, b3), ==, 0);
  g_assert_null (drmad_dataset_load_png_folder (dir, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_NOT_FOUND);
  assert_message_has (error, "3.png: is a dangling symbolic link");
  assert_message_has (error, "expected a PNG file");
  g_clear_error (&error);
  g_unlink (b3);

  g_autofree char *nowhere = path_in (dir, "nowhere"), *c = path_in (dir, "c");
  g_assert_cmpint (symlink (nowhere, c), ==, 0);
  g_assert_null (drmad_dataset_load_png_folder (dir, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_NOT_FOUND);
  assert_message_has (error, "c: is a dangling symbolic link");
  assert_message_has (error, "expected a class folder");
  g_clear_error (&error);
  remove_tree (dir);
}

static void
test_png_empty_class (void)
{
  g_autofree char *dir = make_tmp ();
  g_autofree char *dog = path_in (dir, "a_dog"), *empty = path_in (dir, "b_empty"), *cat = path_in (dir, "c_cat");
  g_mkdir (dog, 0700);
  g_mkdir (empty, 0700);
  g_mkdir (cat, 0700);
  g_autofree char *d1 = path_in (dog, "1.png"), *c1 = path_in (cat, "1.png");
  write_png_pattern (d1, 3, 3, 1, 0);
  write_png_pattern (c1, 3, 3, 1, 1);

  GError *error = NULL;
  g_test_expect_message ("drmad", G_LOG_LEVEL_MESSAGE, "*b_empty: holds no PNG files, so it is not a class: the 2 classes*");
  g_autoptr (DrmadDataset) ds = drmad_dataset_load_png_folder (dir, NULL, &error);
  g_test_assert_expected_messages ();
  g_assert_no_error (error);
  g_assert_cmpuint (drmad_dataset_get_n_classes (ds), ==, 2);
  g_assert_cmpint (drmad_dataset_get_labels (ds)[0], ==, 0);
  g_assert_cmpint (drmad_dataset_get_labels (ds)[1], ==, 1);
  remove_tree (dir);
}

static void
test_png_rgb (void)
{
  g_autofree char *dir = make_tmp ();
  g_autofree char *cls = path_in (dir, "only");
  g_mkdir (cls, 0700);
  g_autofree char *p0 = path_in (cls, "0.png"), *p1 = path_in (cls, "1.PNG");
  write_png_pattern (p0, 3, 2, 3, 0);
  /* an opaque RGBA file reads as RGB */
  guint8 rgba[3 * 2 * 4];
  for (guint p = 0; p < 6; p++)
    {
      for (guint k = 0; k < 3; k++)
        rgba[p * 4 + k] = pixel_value (1, p * 3 + k);
      rgba[p * 4 + 3] = 255;
    }
  write_png (p1, 3, 2, PNG_FORMAT_RGBA, rgba);

  GError *error = NULL;
  g_autoptr (DrmadDataset) ds = drmad_dataset_load_png_folder (dir, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (drmad_dataset_get_n (ds), ==, 2);
  g_assert_cmpuint (drmad_dataset_get_dim (ds), ==, 18);
  guint w, h, c;
  drmad_dataset_get_shape (ds, &w, &h, &c);
  g_assert_cmpuint (w, ==, 3);
  g_assert_cmpuint (h, ==, 2);
  g_assert_cmpuint (c, ==, 3);
  const float *f = drmad_dataset_get_features (ds);
  for (guint i = 0; i < 2; i++)
    for (guint p = 0; p < 18; p++)   /* interleaved per pixel, HWC */
      g_assert_cmpfloat (f[i * 18 + p], ==, pixel_value (i, p) / 255.0f);
  remove_tree (dir);
}

static void
test_png_alpha (void)
{
  g_autofree char *dir = make_tmp ();
  g_autofree char *cls = path_in (dir, "c");
  g_mkdir (cls, 0700);
  g_autofree char *file = path_in (cls, "ga.png");
  /* gray+alpha: opaque pixels keep their value, transparent ones read as black */
  const guint8 ga[] = { 10, 255, 200, 255, 77, 0, 255, 255 };
  write_png (file, 2, 2, PNG_FORMAT_GA, ga);
  GError *error = NULL;
  g_autoptr (DrmadDataset) ds = drmad_dataset_load_png_folder (dir, NULL, &error);
  g_assert_no_error (error);
  guint c;
  drmad_dataset_get_shape (ds, NULL, NULL, &c);
  g_assert_cmpuint (c, ==, 1);
  const float *f = drmad_dataset_get_features (ds);
  g_assert_cmpfloat (f[0], ==, 10 / 255.0f);
  g_assert_cmpfloat (f[1], ==, 200 / 255.0f);
  g_assert_cmpfloat (f[2], ==, 0.0f);
  g_assert_cmpfloat (f[3], ==, 1.0f);
  remove_tree (dir);
}

/* The samples as stored: 16 bits scaled to 8 (v · 255 / 65535, rounded)
 * whether or not the file has a gAMA chunk, interlaced or not, and an 8-bit
 * file's bytes unchanged by its gAMA chunk. */
static void
test_png_depths (void)
{
  g_autofree char *dir = make_tmp ();
  g_autofree char *cls = path_in (dir, "c");
  g_mkdir (cls, 0700);
  GError *error = NULL;
  enum { W = 9, H = 9 };
  /* gray: 16-bit value (x · 10 + y) · 257 reads as x · 10 + y */
  guint8 gray16[H][W][2], rgb16[H][W][3][2], gray8[H][W];
  for (guint y = 0; y < H; y++)
    for (guint x = 0; x < W; x++) {
      guint v = x * 10 + y;
      gray16[y][x][0] = gray16[y][x][1] = v;   /* v · 257, big-endian */
      gray8[y][x] = v * 2;
      for (guint k = 0; k < 3; k++) {
        guint s = (k == 0 ? v : k == 1 ? 255 - v : x * 28) * 257;
        rgb16[y][x][k][0] = s >> 8;
        rgb16[y][x][k][1] = s & 0xff;
      }
    }
  static const struct { int type, depth; gboolean interlaced; int gamma; } files[] = {
    { PNG_COLOR_TYPE_GRAY, 16, FALSE, 0 },        /* no gAMA: libpng's simplified API takes it as linear */
    { PNG_COLOR_TYPE_GRAY, 16, TRUE, 45455 },
    { PNG_COLOR_TYPE_GRAY, 8, FALSE, 100000 },    /* gAMA 1.0 on an 8-bit file */
    { PNG_COLOR_TYPE_GRAY, 8, TRUE, 0 },
    { PNG_COLOR_TYPE_RGB, 16, TRUE, 45455 },
    { PNG_COLOR_TYPE_RGB, 16, FALSE, 0 },
  };
  for (guint f = 0; f < G_N_ELEMENTS (files); f++) {
    g_autofree char *file = path_in (cls, "x.png");
    const guint8 *samples = files[f].depth == 8 ? &gray8[0][0]
                            : files[f].type == PNG_COLOR_TYPE_GRAY ? &gray16[0][0][0] : &rgb16[0][0][0][0];
    write_png_raw (file, W, H, files[f].type, files[f].depth, files[f].interlaced, files[f].gamma, samples);
    g_autoptr (DrmadDataset) ds = drmad_dataset_load_png_folder (dir, NULL, &error);
    g_assert_no_error (error);
    guint channels = files[f].type == PNG_COLOR_TYPE_RGB ? 3 : 1;
    g_assert_cmpuint (drmad_dataset_get_dim (ds), ==, W * H * channels);
    const guint8 *b = drmad_dataset_get_bytes (ds);
    for (guint y = 0; y < H; y++)
      for (guint x = 0; x < W; x++) {
        guint v = x * 10 + y;
        for (guint k = 0; k < channels; k++) {
          guint want = files[f].depth == 8 ? v * 2 : k == 0 ? v : k == 1 ? 255 - v : x * 28;
          guint got = b[(y * W + x) * channels + k];
          if (got != want)
            g_test_message ("file %u: pixel (%u, %u) channel %u is %u, expected %u", f, x, y, k, got, want);
          g_assert_cmpuint (got, ==, want);
        }
      }
    g_remove (file);
  }
  remove_tree (dir);
}

/* A half-transparent pixel is its value times alpha / 255 on the stored values. */
static void
test_png_half_alpha (void)
{
  g_autofree char *dir = make_tmp ();
  g_autofree char *cls = path_in (dir, "c");
  g_mkdir (cls, 0700);
  g_autofree char *file = path_in (cls, "rgba.png");
  const guint8 rgba[] = { 200, 100, 50, 128,   200, 100, 50, 255,   255, 255, 255, 0 };
  write_png_raw (file, 3, 1, PNG_COLOR_TYPE_RGB_ALPHA, 8, FALSE, 0, rgba);
  GError *error = NULL;
  g_autoptr (DrmadDataset) ds = drmad_dataset_load_png_folder (dir, NULL, &error);
  g_assert_no_error (error);
  const guint8 want[] = { 100, 50, 25,   200, 100, 50,   0, 0, 0 };
  const guint8 *b = drmad_dataset_get_bytes (ds);
  g_assert_cmpuint (drmad_dataset_get_dim (ds), ==, 9);
  for (guint k = 0; k < 9; k++)
    g_assert_cmpuint (b[k], ==, want[k]);
  remove_tree (dir);
}

static void
test_png_bad (void)
{
  g_autofree char *dir = make_tmp ();
  g_autofree char *cls = path_in (dir, "k");
  g_mkdir (cls, 0700);
  g_autofree char *good = path_in (cls, "a.png"), *bad = path_in (cls, "b.png");
  write_png_pattern (good, 4, 4, 1, 0);
  GError *error = NULL;

  write_bytes (bad, "GIF89a not a png", 16);
  g_assert_null (drmad_dataset_load_png_folder (dir, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_BAD_IMAGE);
  assert_message_has (error, "b.png");
  g_clear_error (&error);

  /* a real PNG cut short: the header decodes, the pixels do not */
  write_png_pattern (bad, 4, 4, 1, 0);
  g_autofree char *whole = NULL;
  gsize whole_len;
  g_assert_true (g_file_get_contents (bad, &whole, &whole_len, NULL));
  write_bytes (bad, whole, whole_len - 20);
  g_assert_null (drmad_dataset_load_png_folder (dir, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_BAD_IMAGE);
  assert_message_has (error, "b.png: cannot decode PNG: the file ends early (truncated?)");
  g_clear_error (&error);
  remove_tree (dir);
}

static void
test_png_mixed (void)
{
  g_autofree char *dir = make_tmp ();
  g_autofree char *a = path_in (dir, "a"), *b = path_in (dir, "b");
  g_mkdir (a, 0700);
  g_mkdir (b, 0700);
  g_autofree char *first = path_in (a, "1.png"), *second = path_in (b, "2.png");
  write_png_pattern (first, 4, 4, 1, 0);
  GError *error = NULL;

  write_png_pattern (second, 5, 4, 1, 0);
  g_assert_null (drmad_dataset_load_png_folder (dir, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_MIXED_SIZES);
  assert_message_has (error, "2.png");
  assert_message_has (error, "expected 4 × 4 × 1");
  g_clear_error (&error);

  write_png_pattern (second, 4, 4, 3, 0);
  g_assert_null (drmad_dataset_load_png_folder (dir, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_MIXED_SIZES);
  assert_message_has (error, "2.png");
  assert_message_has (error, "(width × height × channels; an RGB PNG), expected 4 × 4 × 1");
  assert_message_has (error, "(a gray PNG): gray and colour files are not mixed");
  g_clear_error (&error);

  /* a palette file is colour, even with gray entries: said so */
  const guint8 index[16] = { 0 };
  write_png_raw (second, 4, 4, PNG_COLOR_TYPE_PALETTE, 8, FALSE, 0, index);
  g_assert_null (drmad_dataset_load_png_folder (dir, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_MIXED_SIZES);
  assert_message_has (error, "a palette PNG, read as RGB");
  g_clear_error (&error);
  remove_tree (dir);
}

static void
test_png_empty (void)
{
  g_autofree char *dir = make_tmp ();
  GError *error = NULL;
  g_assert_null (drmad_dataset_load_png_folder (dir, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_EMPTY);
  assert_message_has (error, dir);
  g_clear_error (&error);

  g_autofree char *cls = path_in (dir, "c"), *txt = path_in (cls, "a.txt");
  g_mkdir (cls, 0700);
  write_bytes (txt, "x", 1);
  g_assert_null (drmad_dataset_load_png_folder (dir, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_EMPTY);
  g_clear_error (&error);

  g_autofree char *missing = path_in (dir, "nowhere");
  g_assert_null (drmad_dataset_load_png_folder (missing, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_NOT_FOUND);
  assert_message_has (error, "nowhere");
  g_clear_error (&error);
  remove_tree (dir);
}

/* ---- drmad_dataset_open ------------------------------------------------- */

static void
test_open_paths (void)
{
  g_autofree char *dir = make_tmp ();
  g_autofree char *idx = path_in (dir, "idx"), *cifar = path_in (dir, "cifar"), *png = path_in (dir, "png");
  g_mkdir (idx, 0700);
  g_mkdir (cifar, 0700);
  g_mkdir (png, 0700);
  g_autofree char *ti = path_in (idx, "train-images-idx3-ubyte.gz"), *tl = path_in (idx, "train-labels-idx1-ubyte");
  g_autofree char *si = path_in (idx, "t10k-images-idx3-ubyte"), *sl = path_in (idx, "t10k-labels-idx1-ubyte.gz");
  write_array (ti, idx_images (8, 8, 2, 3), TRUE);
  write_array (tl, idx_labels (8, 8, 4), FALSE);
  write_array (si, idx_images (5, 5, 2, 3), FALSE);
  write_array (sl, idx_labels (5, 5, 4), TRUE);
  g_autofree char *b1 = path_in (cifar, "data_batch_1.bin"), *b2 = path_in (cifar, "data_batch_2.bin");
  g_autofree char *tb = path_in (cifar, "test_batch.bin");
  write_cifar (b2, 0, 2, G_MAXUINT, 0, 0);
  write_cifar (b1, 0, 3, G_MAXUINT, 0, 0);
  write_cifar (tb, 0, 1, G_MAXUINT, 0, 0);
  g_autofree char *cls = path_in (png, "c"), *img = path_in (cls, "i.png");
  g_mkdir (cls, 0700);
  write_png_pattern (img, 2, 2, 1, 0);

  GError *error = NULL;
  DrmadDataset *train = NULL, *test = NULL;
  g_assert_true (drmad_dataset_open (idx, NULL, &train, &test, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (drmad_dataset_get_n (train), ==, 8);
  g_assert_cmpuint (drmad_dataset_get_n (test), ==, 5);
  g_clear_pointer (&train, drmad_dataset_free);
  g_clear_pointer (&test, drmad_dataset_free);

  g_assert_true (drmad_dataset_open (ti, NULL, &train, &test, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (drmad_dataset_get_n (train), ==, 8);
  g_assert_null (test);
  g_clear_pointer (&train, drmad_dataset_free);

  g_assert_true (drmad_dataset_open (cifar, NULL, &train, &test, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (drmad_dataset_get_n (train), ==, 5);
  /* data_batch_1 (labels 0, 1, 2) is read before data_batch_2 (labels 0, 1) */
  g_assert_cmpint (drmad_dataset_get_labels (train)[2], ==, 2);
  g_assert_cmpuint (drmad_dataset_get_n (test), ==, 1);
  g_clear_pointer (&train, drmad_dataset_free);
  g_clear_pointer (&test, drmad_dataset_free);

  /* no training pool asked for: the test set alone, or NULL where there is none */
  g_assert_true (drmad_dataset_open (idx, NULL, NULL, &test, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (drmad_dataset_get_n (test), ==, 5);
  g_clear_pointer (&test, drmad_dataset_free);
  g_assert_true (drmad_dataset_open (cifar, NULL, NULL, &test, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (drmad_dataset_get_n (test), ==, 1);
  g_clear_pointer (&test, drmad_dataset_free);
  const char *without_test[] = { png, ti };
  for (guint k = 0; k < G_N_ELEMENTS (without_test); k++) {
    test = (DrmadDataset *) 0x1;   /* must be overwritten with NULL */
    g_assert_true (drmad_dataset_open (without_test[k], NULL, NULL, &test, &error));
    g_assert_no_error (error);
    g_assert_null (test);
  }

  test = (DrmadDataset *) 0x1;   /* must be overwritten with NULL */
  g_assert_true (drmad_dataset_open (png, NULL, &train, &test, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (drmad_dataset_get_n (train), ==, 1);
  g_assert_null (test);
  g_clear_pointer (&train, drmad_dataset_free);

  /* $DRMAD_DATA_DIR/NAME */
  g_setenv ("DRMAD_DATA_DIR", dir, TRUE);
  g_assert_true (drmad_dataset_open ("cifar", NULL, &train, &test, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (drmad_dataset_get_n (train), ==, 5);
  g_clear_pointer (&train, drmad_dataset_free);
  g_clear_pointer (&test, drmad_dataset_free);
  g_auto (GStrv) names = drmad_dataset_list_builtin ();
  g_assert_true (g_strv_contains ((const char *const *) names, "cifar"));
  g_assert_true (g_strv_contains ((const char *const *) names, "png"));
  g_unsetenv ("DRMAD_DATA_DIR");

  /* failures leave the outputs alone */
  DrmadDataset *sentinel = (DrmadDataset *) 0x2;
  train = test = sentinel;
  g_assert_false (drmad_dataset_open ("no-such-dataset", NULL, &train, &test, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_NOT_FOUND);
  assert_message_has (error, "no-such-dataset");
  assert_message_has (error, "fashion-mnist");
  assert_message_has (error, "data_batch_");
  g_assert_true (train == sentinel && test == sentinel);
  g_clear_error (&error);

  g_unlink (tl);
  g_assert_false (drmad_dataset_open (idx, NULL, &train, &test, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_NOT_FOUND);
  assert_message_has (error, "train-labels-idx1-ubyte");
  g_assert_true (train == sentinel && test == sentinel);
  g_clear_error (&error);
  remove_tree (dir);
}

/* An IDX folder whose test images have the training images' pixel count
 * in another shape (7 × 5 against 5 × 7) is refused when opened and when
 * split, naming both files and both shapes; so is another pixel count;
 * the same shape opens. */
static void
test_open_test_shape (void)
{
  g_autofree char *dir = make_tmp ();
  g_autofree char *ti = path_in (dir, "train-images-idx3-ubyte"), *tl = path_in (dir, "train-labels-idx1-ubyte");
  g_autofree char *si = path_in (dir, "t10k-images-idx3-ubyte"), *sl = path_in (dir, "t10k-labels-idx1-ubyte");
  write_array (ti, idx_images (6, 6, 5, 7), FALSE);
  write_array (tl, idx_labels (6, 6, 3), FALSE);
  write_array (sl, idx_labels (4, 4, 3), FALSE);
  GError *error = NULL;
  DrmadDataset *sentinel = (DrmadDataset *) 0x2, *train = sentinel, *test = sentinel;

  write_array (si, idx_images (4, 4, 5, 7), FALSE);
  g_assert_true (drmad_dataset_open (dir, NULL, &train, &test, &error));
  g_assert_no_error (error);
  g_autoptr (DrmadSplit) same = drmad_dataset_split (train, test, 1, 3, 2, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (drmad_dataset_get_n (same->test), ==, 4);
  g_clear_pointer (&train, drmad_dataset_free);
  g_clear_pointer (&test, drmad_dataset_free);

  write_array (si, idx_images (4, 4, 7, 5), FALSE);
  train = test = sentinel;
  g_assert_false (drmad_dataset_open (dir, NULL, &train, &test, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_MIXED_SIZES);
  assert_message_has (error, ti);
  assert_message_has (error, si);
  assert_message_has (error, "5 × 7 × 1");
  assert_message_has (error, "7 × 5 × 1");
  g_assert_true (train == sentinel && test == sentinel);
  g_clear_error (&error);

  /* each file alone loads; paired in a split they are refused just the same */
  g_autoptr (DrmadDataset) pool = drmad_dataset_load_idx (ti, tl, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (DrmadDataset) turned = drmad_dataset_load_idx (si, sl, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (drmad_dataset_split (pool, turned, 1, 3, 2, 0, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_MIXED_SIZES);
  assert_message_has (error, "7 × 5 × 1");
  /* width first, as drmad_dataset_get_shape() and the PNG messages give it (it was height × width) */
  guint width, height;
  drmad_dataset_get_shape (turned, &width, &height, NULL);
  g_assert_cmpuint (width, ==, 5);   /* idx_images (…, rows 7, cols 5) */
  g_assert_cmpuint (height, ==, 7);
  assert_message_has (error, "holds images of 5 × 7 × 1 (width × height × channels), the training pool");
  g_clear_error (&error);

  write_array (si, idx_images (4, 4, 6, 7), FALSE);
  g_assert_false (drmad_dataset_open (dir, NULL, &train, &test, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_MIXED_SIZES);
  assert_message_has (error, si);
  assert_message_has (error, "42 features");
  g_assert_true (train == sentinel && test == sentinel);
  g_clear_error (&error);
  remove_tree (dir);
}

/* A folder without search permission (mode 600: its names can be read but
 * not looked at) or without read permission (300) is refused as such, not
 * taken for an empty PNG folder. Root passes both checks, so the part that
 * opens runs in a subprocess as nobody when the test runs as root. */
static void
test_open_unreadable (void)
{
  if (g_test_subprocess ())
    {
      if (geteuid () == 0)
        {
          g_assert_cmpint (setgid (65534), ==, 0);
          g_assert_cmpint (setuid (65534), ==, 0);
        }
      const char *modes[] = { "600", "300" };
      for (guint k = 0; k < G_N_ELEMENTS (modes); k++)
        {
          g_autofree char *folder = g_strdup (g_getenv (k == 0 ? "DRMAD_TEST_FOLDER_600" : "DRMAD_TEST_FOLDER_300"));
          g_test_message ("mode %s: %s", modes[k], folder);
          GError *error = NULL;
          DrmadDataset *sentinel = (DrmadDataset *) 0x2, *train = sentinel, *test = sentinel;
          g_assert_false (drmad_dataset_open (folder, NULL, &train, &test, &error));
          g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_IO);
          assert_message_has (error, folder);
          assert_message_has (error, g_strerror (EACCES));
          g_assert_true (train == sentinel && test == sentinel);
          g_clear_error (&error);
          g_assert_null (drmad_dataset_load_png_folder (folder, NULL, &error));
          g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_IO);
          assert_message_has (error, g_strerror (EACCES));
          g_clear_error (&error);
        }
      return;
    }
  g_autofree char *dir = make_tmp ();
  g_assert_cmpint (g_chmod (dir, 0711), ==, 0);   /* nobody may pass through to the folders */
  if (geteuid () == 0)   /* and through every folder above (a closed TMPDIR: nothing to check) */
    for (g_autofree char *up = g_path_get_dirname (dir); strlen (up) > 1;)
      {
        GStatBuf st;
        g_assert_cmpint (g_stat (up, &st), ==, 0);
        if (!(st.st_mode & S_IXOTH))
          {
            g_test_skip_printf ("nobody cannot pass through %s", up);
            g_chmod (dir, 0755);
            remove_tree (dir);
            return;
          }
        char *parent = g_path_get_dirname (up);
        g_free (up);
        up = parent;
      }
  const int modes[] = { 0600, 0300 };
  char *folders[G_N_ELEMENTS (modes)];
  for (guint k = 0; k < G_N_ELEMENTS (folders); k++)
    {
      folders[k] = path_in (dir, k == 0 ? "no-search" : "no-read");
      g_autofree char *cls = path_in (folders[k], "c"), *img = path_in (cls, "i.png");
      g_assert_cmpint (g_mkdir_with_parents (cls, 0755), ==, 0);
      write_png_pattern (img, 2, 2, 1, 0);
      g_assert_cmpint (g_chmod (folders[k], modes[k]), ==, 0);
    }
  g_setenv ("DRMAD_TEST_FOLDER_600", folders[0], TRUE);
  g_setenv ("DRMAD_TEST_FOLDER_300", folders[1], TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  gboolean passed = g_test_trap_has_passed ();
  for (guint k = 0; k < G_N_ELEMENTS (folders); k++)   /* the folders back as they were, pass or fail */
    {
      g_chmod (folders[k], 0755);
      g_clear_pointer (&folders[k], g_free);
    }
  remove_tree (dir);
  g_assert_true (passed);
}

static void
test_open_fashion_mnist (void)
{
  if (!g_file_test ("/usr/share/datasets/fashion-mnist", G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("/usr/share/datasets/fashion-mnist is not installed");
      return;
    }
  GError *error = NULL;
  g_autoptr (DrmadDataset) train = NULL;
  g_autoptr (DrmadDataset) test = NULL;
  gint64 start = g_get_monotonic_time ();
  g_assert_true (drmad_dataset_open ("fashion-mnist", NULL, &train, &test, &error));
  g_test_message ("fashion-mnist loaded in %.3f s", (g_get_monotonic_time () - start) / 1e6);
  g_assert_no_error (error);
  g_assert_cmpuint (drmad_dataset_get_n (train), ==, 60000);
  g_assert_cmpuint (drmad_dataset_get_n (test), ==, 10000);
  g_assert_cmpuint (drmad_dataset_get_dim (train), ==, 784);
  g_assert_cmpuint (drmad_dataset_get_n_classes (train), ==, 10);
  g_assert_cmpuint (drmad_dataset_get_n_classes (test), ==, 10);
  guint counts[10] = { 0 };
  for (guint i = 0; i < 60000; i++)
    counts[drmad_dataset_get_labels (train)[i]]++;
  for (guint k = 0; k < 10; k++)
    g_assert_cmpuint (counts[k], ==, 6000);
  g_auto (GStrv) names = drmad_dataset_list_builtin ();
  g_assert_true (g_strv_contains ((const char *const *) names, "fashion-mnist"));
}

/* ---- arrays and splits -------------------------------------------------- */

#define POOL_N 100
#define POOL_DIM 3

/* Feature 0 is the example's index, so it can be recovered after standardising;
 * feature 2 is constant, so its deviation is zero. */
static DrmadDataset *
make_pool (guint n, float offset)
{
  g_autofree float *f = g_new (float, n * POOL_DIM);
  g_autofree gint32 *l = g_new (gint32, n);
  for (guint i = 0; i < n; i++)
    {
      f[i * POOL_DIM + 0] = i + offset;
      f[i * POOL_DIM + 1] = sinf (i * 0.7f) * 3 + 5;
      f[i * POOL_DIM + 2] = 0.5f;
      l[i] = i % 5;
    }
  GError *error = NULL;
  DrmadDataset *ds = drmad_dataset_new_from_arrays (n, POOL_DIM, 5, f, l, &error);
  g_assert_no_error (error);
  return ds;
}

static void
collect_ids (const DrmadSplit *split, const DrmadDataset *ds, guint *seen, guint seen_len, float offset)
{
  const float *f = drmad_dataset_get_features (ds);
  for (guint i = 0; i < drmad_dataset_get_n (ds); i++)
    {
      double id = f[i * POOL_DIM] * split->std[0] + split->mean[0] - offset;
      guint k = (guint) lround (id);
      g_assert_cmpfloat (fabs (id - k), <, 1e-3);
      g_assert_cmpuint (k, <, seen_len);
      g_assert_cmpint (drmad_dataset_get_labels (ds)[i], ==, (gint32) (k % 5));
      seen[k]++;
    }
}

static void
test_split (void)
{
  g_autoptr (DrmadDataset) pool = make_pool (POOL_N, 0);
  GError *error = NULL;
  g_autoptr (DrmadSplit) split = drmad_dataset_split (pool, NULL, 42, 0, 20, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (drmad_dataset_get_n (split->train), ==, 70);
  g_assert_cmpuint (drmad_dataset_get_n (split->val), ==, 20);
  g_assert_cmpuint (drmad_dataset_get_n (split->test), ==, 10);

  guint seen[POOL_N] = { 0 };
  collect_ids (split, split->train, seen, POOL_N, 0);
  collect_ids (split, split->val, seen, POOL_N, 0);
  collect_ids (split, split->test, seen, POOL_N, 0);
  for (guint k = 0; k < POOL_N; k++)
    g_assert_cmpuint (seen[k], ==, 1);

  /* the training split is standardised; the constant feature is only centred */
  const float *f = drmad_dataset_get_features (split->train);
  for (guint d = 0; d < POOL_DIM; d++)
    {
      double sum = 0, sq = 0;
      for (guint i = 0; i < 70; i++)
        sum += f[i * POOL_DIM + d];
      double mean = sum / 70;
      for (guint i = 0; i < 70; i++)
        sq += (f[i * POOL_DIM + d] - mean) * (f[i * POOL_DIM + d] - mean);
      g_assert_cmpfloat (fabs (mean), <, 1e-5);
      g_assert_cmpfloat (fabs (sqrt (sq / 70) - (d == 2 ? 0.0 : 1.0)), <, 1e-5);
    }
  g_assert_cmpfloat (split->std[2], ==, 1.0f);
  g_assert_cmpfloat (split->mean[2], ==, 0.5f);

  /* the same seed gives the same split, another seed another one */
  g_autoptr (DrmadSplit) again = drmad_dataset_split (pool, NULL, 42, 0, 20, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (drmad_dataset_get_labels (again->val), 20 * sizeof (gint32),
                   drmad_dataset_get_labels (split->val), 20 * sizeof (gint32));
  g_assert_cmpmem (drmad_dataset_get_features (again->train), 70 * POOL_DIM * sizeof (float),
                   drmad_dataset_get_features (split->train), 70 * POOL_DIM * sizeof (float));
  g_autoptr (DrmadSplit) other = drmad_dataset_split (pool, NULL, 43, 0, 20, 10, &error);
  g_assert_no_error (error);
  g_assert_true (memcmp (drmad_dataset_get_features (other->val), drmad_dataset_get_features (split->val),
                         20 * POOL_DIM * sizeof (float)) != 0);

  /* a separate test pool: test examples come only from it */
  g_autoptr (DrmadDataset) test_pool = make_pool (30, 1000);
  g_autoptr (DrmadSplit) with_test = drmad_dataset_split (pool, test_pool, 7, 50, 50, 30, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (drmad_dataset_get_n (with_test->train), ==, 50);
  g_assert_cmpuint (drmad_dataset_get_n (with_test->test), ==, 30);
  guint seen_pool[POOL_N] = { 0 }, seen_test[30] = { 0 };
  collect_ids (with_test, with_test->train, seen_pool, POOL_N, 0);
  collect_ids (with_test, with_test->val, seen_pool, POOL_N, 0);
  collect_ids (with_test, with_test->test, seen_test, 30, 1000);
  for (guint k = 0; k < POOL_N; k++)
    g_assert_cmpuint (seen_pool[k], ==, 1);
  for (guint k = 0; k < 30; k++)
    g_assert_cmpuint (seen_test[k], ==, 1);
}

static void
test_split_too_large (void)
{
  g_autoptr (DrmadDataset) pool = make_pool (POOL_N, 0);
  g_autoptr (DrmadDataset) test_pool = make_pool (30, 0);
  GError *error = NULL;
  g_assert_null (drmad_dataset_split (pool, NULL, 1, 80, 20, 10, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  assert_message_has (error, "80 train + 20 validation + 10 test");
  assert_message_has (error, "holds 100");
  g_clear_error (&error);

  g_assert_null (drmad_dataset_split (pool, NULL, 1, 0, 60, 40, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_null (drmad_dataset_split (pool, NULL, 1, 0, G_MAXUINT, G_MAXUINT, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_null (drmad_dataset_split (pool, test_pool, 1, 0, 10, 31, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  assert_message_has (error, "31 test");
  assert_message_has (error, "holds 30");
  g_clear_error (&error);

  g_autoptr (DrmadDataset) narrow = drmad_dataset_new_from_arrays (1, 2, 2, (float[]) { 0, 1 }, (gint32[]) { 1 }, NULL);
  g_assert_null (drmad_dataset_split (pool, narrow, 1, 0, 10, 1, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_MIXED_SIZES);
  assert_message_has (error, "2 features");
  g_clear_error (&error);

  /* No validation examples: refused at the split, naming n_val; the empty validation set it made was
   * refused only later, by drmad_meta_new(). */
  g_assert_null (drmad_dataset_split (pool, NULL, 1, 50, 0, 10, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  assert_message_has (error, "n_val is 0");
  g_clear_error (&error);
  g_assert_null (drmad_dataset_split (pool, test_pool, 1, 0, 0, 0, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  assert_message_has (error, "n_val is 0");
  g_clear_error (&error);
}

/* ---- splits of a byte pool against a plain C reference ------------------- */

/* Pixel 0 of image i is (i·131) mod 256, one value per image for up to 256
 * images (131 is odd), so a row of a split can be traced to its image; pixel 1
 * is constant, so its deviation is zero; the rest follow pixel_value(). */
static guint8
ref_pixel (guint i, guint p)
{
  return p == 0 ? (guint8) (i * 131) : p == 1 ? 7 : pixel_value (i, p);
}

static void
write_ref_idx (const char *dir, const char *prefix, guint n, guint rows, guint cols, guint first)
{
  g_autofree char *images_name = g_strconcat (prefix, "-images-idx3-ubyte", NULL);
  g_autofree char *labels_name = g_strconcat (prefix, "-labels-idx1-ubyte.gz", NULL);
  g_autofree char *images = path_in (dir, images_name);
  g_autofree char *labels = path_in (dir, labels_name);
  GByteArray *a = g_byte_array_new ();
  append_be32 (a, 0x00000803);
  append_be32 (a, n);
  append_be32 (a, rows);
  append_be32 (a, cols);
  for (guint i = 0; i < n; i++)
    for (guint p = 0; p < rows * cols; p++)
      {
        guint8 v = ref_pixel (first + i, p);
        g_byte_array_append (a, &v, 1);
      }
  write_array (images, a, FALSE);
  write_array (labels, idx_labels (n, n, 4), TRUE);
}

/* The image of a pool whose pixel 0 is @byte0. */
static guint
ref_trace (const guint8 *bytes, guint n, guint dim, guint8 byte0)
{
  for (guint i = 0; i < n; i++)
    if (bytes[(gsize) i * dim] == byte0)
      return i;
  g_assert_not_reached ();
}

/* The rows of @ds as images of @pool (through pixel 0), checking the labels on the way. */
static guint *
ref_rows (const DrmadSplit *split, const DrmadDataset *ds, const DrmadDataset *pool)
{
  guint n = drmad_dataset_get_n (ds), dim = drmad_dataset_get_dim (ds);
  const float *f = drmad_dataset_get_features (ds);
  guint *rows = g_new (guint, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    {
      double x = (double) f[(gsize) i * dim] * split->std[0] + split->mean[0];
      long b = lround (x * 255);
      g_assert_cmpfloat (fabs (x * 255 - b), <, 1e-3);
      g_assert_cmpint (b, >=, 0);
      g_assert_cmpint (b, <, 256);
      rows[i] = ref_trace (drmad_dataset_get_bytes (pool), drmad_dataset_get_n (pool), dim, (guint8) b);
      g_assert_cmpint (drmad_dataset_get_labels (ds)[i], ==, drmad_dataset_get_labels (pool)[rows[i]]);
    }
  return rows;
}

/* drmad-dataset.h's split, written out: a feature is its byte / 255 in float;
 * per feature, the mean and the deviation over the training split in double,
 * two passes (sum, then squared distances from the mean), stored as floats,
 * a deviation below 1e-6 stored as 1; every split's feature becomes
 * byte · (1 / (255 std)) + (−mean / std), each operation rounded in float
 * (lib/dataset-private.h), within a few float ulps of (x − mean) / std.
 * Compared bit for bit with what the library gives. */
static void
check_split_against_reference (const DrmadSplit *split, const DrmadDataset *pool,
                               const DrmadDataset *test_pool)
{
  guint dim = drmad_dataset_get_dim (pool);
  guint n_train = drmad_dataset_get_n (split->train);
  /* a split of a byte pool keeps bytes and no floats until they are asked for */
  const DrmadDataset *held[] = { split->train, split->val, split->test };
  for (guint k = 0; k < G_N_ELEMENTS (held); k++)
    {
      g_assert_nonnull (held[k]->bytes);
      g_assert_null (held[k]->features);
    }
  g_autofree guint *train_rows = ref_rows (split, split->train, pool);
  const guint8 *bytes = drmad_dataset_get_bytes (pool);

  g_autofree float *mean = g_new (float, dim);
  g_autofree float *std = g_new (float, dim);
  for (guint d = 0; d < dim; d++)
    {
      double sum = 0, sq = 0;
      for (guint i = 0; i < n_train; i++)
        sum += (float) bytes[(gsize) train_rows[i] * dim + d] / 255.0f;
      sum /= n_train;
      for (guint i = 0; i < n_train; i++)
        {
          double c = (float) bytes[(gsize) train_rows[i] * dim + d] / 255.0f - sum;
          sq += c * c;
        }
      double sd = sqrt (sq / n_train);
      mean[d] = sum;
      std[d] = sd < 1e-6 ? 1.0f : (float) sd;
    }
  g_assert_cmpmem (split->mean, dim * sizeof (float), mean, dim * sizeof (float));
  g_assert_cmpmem (split->std, dim * sizeof (float), std, dim * sizeof (float));
  g_assert_cmpfloat (split->std[1], ==, 1.0f);

  const DrmadDataset *parts[] = { split->train, split->val, split->test };
  for (guint k = 0; k < G_N_ELEMENTS (parts); k++)
    {
      const DrmadDataset *from = k == 2 && test_pool ? test_pool : pool;
      guint n = drmad_dataset_get_n (parts[k]);
      g_autofree guint *rows = ref_rows (split, parts[k], from);
      g_autofree float *expected = g_new (float, (gsize) MAX (n, 1) * dim);
      g_autofree float *defined = g_new (float, (gsize) MAX (n, 1) * dim);
      for (guint i = 0; i < n; i++)
        for (guint d = 0; d < dim; d++)
          {
            guint8 b = drmad_dataset_get_bytes (from)[(gsize) rows[i] * dim + d];
            volatile float scale = 1.0f / (255.0f * std[d]), offset = -mean[d] / std[d], product = b * scale;
            expected[(gsize) i * dim + d] = product + offset;
            float x = (float) b / 255.0f, plain = (x - mean[d]) / std[d];
            defined[(gsize) i * dim + d] = plain;
            g_assert_cmpfloat (fabsf (expected[(gsize) i * dim + d] - plain), <=, 4 * FLT_EPSILON * MAX (fabsf (plain), 1));
          }
      /* the identity a run folder records: MD5 of the labels, then of the features as defined */
      g_autoptr (GChecksum) ours = g_checksum_new (G_CHECKSUM_MD5), reference = g_checksum_new (G_CHECKSUM_MD5);
      drmad_dataset_checksum_update (parts[k], ours);
      g_checksum_update (reference, (const guchar *) drmad_dataset_get_labels (parts[k]), (gsize) n * sizeof (gint32));
      g_checksum_update (reference, (const guchar *) defined, (gsize) n * dim * sizeof (float));
      g_assert_cmpstr (g_checksum_get_string (ours), ==, g_checksum_get_string (reference));
      /* a split of a byte pool keeps bytes and no floats; its rows as floats
       * come a block at a time, or all at once as the float view */
      if (n >= 3)
        {
          g_autofree float *middle = g_new (float, (gsize) 2 * dim);
          drmad_dataset_copy_rows (parts[k], 1, 2, middle);
          g_assert_cmpmem (middle, (gsize) 2 * dim * sizeof (float), expected + dim, (gsize) 2 * dim * sizeof (float));
        }
      g_assert_cmpmem (drmad_dataset_get_features (parts[k]), (gsize) n * dim * sizeof (float),
                       expected, (gsize) n * dim * sizeof (float));
      g_assert_null (drmad_dataset_get_bytes (parts[k]));
    }
}

static void
test_split_bytes_reference (void)
{
  g_autofree char *dir = make_tmp ();
  write_ref_idx (dir, "train", 60, 3, 5, 0);
  write_ref_idx (dir, "t10k", 25, 3, 5, 100);
  GError *error = NULL;
  DrmadDataset *pool_out = NULL, *test_out = NULL;
  g_assert_true (drmad_dataset_open (dir, NULL, &pool_out, &test_out, &error));
  g_assert_no_error (error);
  g_autoptr (DrmadDataset) pool = pool_out;
  g_autoptr (DrmadDataset) test_pool = test_out;

  /* the pool holds the file's bytes and no floats until they are asked for */
  const guint8 *bytes = drmad_dataset_get_bytes (pool);
  g_assert_nonnull (bytes);
  for (guint i = 0; i < 60; i++)
    for (guint p = 0; p < 15; p++)
      g_assert_cmpuint (bytes[i * 15 + p], ==, ref_pixel (i, p));
  g_assert_null (pool->features);

  /* the test split from the rest of the pool, then from the test pool */
  g_autoptr (DrmadSplit) split = drmad_dataset_split (pool, NULL, 5, 0, 12, 9, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (drmad_dataset_get_n (split->train), ==, 39);
  check_split_against_reference (split, pool, NULL);
  g_assert_null (pool->features);

  g_autoptr (DrmadSplit) with_test = drmad_dataset_split (pool, test_pool, 9, 30, 20, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (drmad_dataset_get_n (with_test->test), ==, 25);
  check_split_against_reference (with_test, pool, test_pool);
  g_assert_null (pool->features);
  g_assert_null (test_pool->features);

  /* the test set drawn again is the split's: rows, labels, standardisation */
  for (guint n_test = 0; n_test <= 25; n_test += 7) {
    g_autoptr (DrmadSplit) first = drmad_dataset_split (pool, test_pool, 9, 30, 20, n_test, &error);
    g_assert_no_error (error);
    g_autoptr (DrmadDataset) again = drmad_dataset_split_test (test_pool, 9, n_test,
                                                               drmad_dataset_get_n_classes (first->test),
                                                               first->mean, first->std, &error);
    g_assert_no_error (error);
    guint n = drmad_dataset_get_n (first->test);
    g_assert_cmpuint (drmad_dataset_get_n (again), ==, n);
    g_assert_cmpuint (drmad_dataset_get_n_classes (again), ==, drmad_dataset_get_n_classes (first->test));
    g_assert_cmpmem (drmad_dataset_get_labels (again), n * sizeof (gint32),
                     drmad_dataset_get_labels (first->test), n * sizeof (gint32));
    g_autofree float *want = g_new (float, n * 15), *got = g_new (float, n * 15);
    drmad_dataset_copy_rows (first->test, 0, n, want);
    drmad_dataset_copy_rows (again, 0, n, got);
    g_assert_cmpmem (got, n * 15 * sizeof (float), want, n * 15 * sizeof (float));
  }
  g_assert_null (drmad_dataset_split_test (test_pool, 9, 26, 10, with_test->mean, with_test->std, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* the float view of the pool is byte / 255, and a float pool made from it
   * splits into the same rows, mean and deviation as the byte pool, its
   * features (x − mean) / std within a few ulps of the bytes' multiply-add */
  const float *f = drmad_dataset_get_features (pool);
  g_assert_nonnull (f);
  g_assert_true (drmad_dataset_get_features (pool) == f);
  for (guint k = 0; k < 60 * 15; k++)
    g_assert_cmpfloat (f[k], ==, bytes[k] / 255.0f);
  g_autoptr (DrmadDataset) floats = drmad_dataset_new_from_arrays (60, 15, drmad_dataset_get_n_classes (pool), f,
                                                                   drmad_dataset_get_labels (pool), &error);
  g_assert_no_error (error);
  g_assert_null (drmad_dataset_get_bytes (floats));
  g_autoptr (DrmadSplit) same = drmad_dataset_split (floats, NULL, 5, 0, 12, 9, &error);
  g_assert_no_error (error);
  const DrmadDataset *a[] = { split->train, split->val, split->test }, *b[] = { same->train, same->val, same->test };
  for (guint k = 0; k < G_N_ELEMENTS (a); k++)
    {
      g_assert_cmpuint (drmad_dataset_get_n (a[k]), ==, drmad_dataset_get_n (b[k]));
      g_assert_cmpmem (drmad_dataset_get_labels (a[k]), drmad_dataset_get_n (a[k]) * sizeof (gint32),
                       drmad_dataset_get_labels (b[k]), drmad_dataset_get_n (b[k]) * sizeof (gint32));
      const float *fa = drmad_dataset_get_features (a[k]), *fb = drmad_dataset_get_features (b[k]);
      for (guint i = 0; i < drmad_dataset_get_n (a[k]) * 15; i++)
        g_assert_cmpfloat (fabsf (fa[i] - fb[i]), <=, 4 * FLT_EPSILON * MAX (fabsf (fb[i]), 1));
    }
  g_assert_cmpmem (split->mean, 15 * sizeof (float), same->mean, 15 * sizeof (float));
  g_assert_cmpmem (split->std, 15 * sizeof (float), same->std, 15 * sizeof (float));
  remove_tree (dir);
}

/* drmad_dataset_subset and drmad_dataset_shard against the plain rows:
 * each row of the result equals, bit for bit, the row of the original it
 * names (the float view byte / 255 for a loader's dataset); the shards of a
 * dataset are disjoint, in order and together the whole. */
static void
assert_rows_equal (const DrmadDataset *got, const DrmadDataset *from, const guint32 *rows, guint count)
{
  guint dim = drmad_dataset_get_dim (from);
  g_assert_cmpuint (drmad_dataset_get_n (got), ==, count);
  g_assert_cmpuint (drmad_dataset_get_dim (got), ==, dim);
  g_assert_cmpuint (drmad_dataset_get_n_classes (got), ==, drmad_dataset_get_n_classes (from));
  g_assert_cmpstr (drmad_dataset_get_source (got), ==, drmad_dataset_get_source (from));
  const float *f = drmad_dataset_get_features (from), *g = drmad_dataset_get_features (got);
  for (guint i = 0; i < count; i++) {
    g_assert_cmpmem (g + (gsize) i * dim, dim * sizeof (float), f + (gsize) rows[i] * dim, dim * sizeof (float));
    g_assert_cmpint (drmad_dataset_get_labels (got)[i], ==, drmad_dataset_get_labels (from)[rows[i]]);
  }
}

static void
test_subset (void)
{
  GError *error = NULL;
  g_autoptr (DrmadDataset) pool = make_pool (10, 0);
  const guint32 rows[] = { 7, 0, 7, 9, 3 };
  g_autoptr (DrmadDataset) some = drmad_dataset_subset (pool, rows, G_N_ELEMENTS (rows), &error);
  g_assert_no_error (error);
  assert_rows_equal (some, pool, rows, G_N_ELEMENTS (rows));

  /* 10 rows in 3 parts: 0–2, 3–5, 6–9 */
  const guint sizes[3] = { 3, 3, 4 };
  guint next = 0;
  for (guint part = 0; part < 3; part++) {
    g_autoptr (DrmadDataset) shard = drmad_dataset_shard (pool, part, 3, &error);
    g_assert_no_error (error);
    guint32 expected[4];
    for (guint i = 0; i < sizes[part]; i++)
      expected[i] = next++;
    assert_rows_equal (shard, pool, expected, sizes[part]);
  }
  g_assert_cmpuint (next, ==, 10);
  g_autoptr (DrmadDataset) whole = drmad_dataset_shard (pool, 0, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (drmad_dataset_get_features (whole), 10 * POOL_DIM * sizeof (float),
                   drmad_dataset_get_features (pool), 10 * POOL_DIM * sizeof (float));

  /* a loader's byte dataset: the rows come out as byte / 255 */
  g_autofree char *dir = make_tmp ();
  write_ref_idx (dir, "train", 20, 3, 5, 0);
  write_ref_idx (dir, "t10k", 5, 3, 5, 100);
  DrmadDataset *pool_out = NULL, *test_out = NULL;
  g_assert_true (drmad_dataset_open (dir, NULL, &pool_out, &test_out, &error));
  g_autoptr (DrmadDataset) bytes = pool_out;
  g_autoptr (DrmadDataset) test_pool = test_out;
  g_autoptr (DrmadDataset) second = drmad_dataset_shard (bytes, 1, 2, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < 10; i++)
    for (guint p = 0; p < 15; p++)
      g_assert_cmpfloat (drmad_dataset_get_features (second)[i * 15 + p], ==, ref_pixel (10 + i, p) / 255.0f);
  /* a split of it keeps bytes and its standardisation, and so do its shards */
  g_autoptr (DrmadSplit) split = drmad_dataset_split (bytes, NULL, 3, 0, 4, 4, &error);
  g_assert_no_error (error);
  g_autoptr (DrmadDataset) half = drmad_dataset_shard (split->train, 1, 2, &error);
  g_assert_no_error (error);
  g_assert_null (half->features);
  const guint32 upper[] = { 6, 7, 8, 9, 10, 11 };
  assert_rows_equal (half, split->train, upper, G_N_ELEMENTS (upper));

  /* bad input */
  const guint32 beyond[] = { 1, 10 };
  g_assert_null (drmad_dataset_subset (pool, beyond, 2, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  assert_message_has (error, "row 10 asked for");
  g_clear_error (&error);
  g_assert_null (drmad_dataset_subset (pool, rows, 0, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (drmad_dataset_shard (pool, 3, 3, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (drmad_dataset_shard (pool, 0, 11, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  assert_message_has (error, "too few for 11 parts");
  g_clear_error (&error);
  remove_tree (dir);
}

/* CIFAR-10 and PNG pools keep bytes too, and their float view is byte / 255. */
static void
test_pool_bytes (void)
{
  g_autofree char *dir = make_tmp ();
  g_autofree char *batch = path_in (dir, "b.bin");
  write_cifar (batch, 0, 3, G_MAXUINT, 0, 0);
  const char *paths[] = { batch, NULL };
  GError *error = NULL;
  g_autoptr (DrmadDataset) cifar = drmad_dataset_load_cifar10 (paths, NULL, &error);
  g_assert_no_error (error);
  const guint8 *bytes = drmad_dataset_get_bytes (cifar);
  g_assert_nonnull (bytes);
  for (guint r = 0; r < 3; r++)
    for (guint p = 0; p < 3072; p++)
      g_assert_cmpuint (bytes[r * 3072 + p], ==, pixel_value (r, p));

  g_autofree char *cls = path_in (dir, "c");
  g_autofree char *img = path_in (cls, "i.png");
  g_mkdir (cls, 0700);
  write_png_pattern (img, 3, 2, 3, 4);
  g_autoptr (DrmadDataset) png = drmad_dataset_load_png_folder (dir, NULL, &error);
  g_assert_no_error (error);
  bytes = drmad_dataset_get_bytes (png);
  g_assert_nonnull (bytes);
  const float *f = drmad_dataset_get_features (png);
  for (guint p = 0; p < 18; p++)
    {
      g_assert_cmpuint (bytes[p], ==, pixel_value (4, p));
      g_assert_cmpfloat (f[p], ==, pixel_value (4, p) / 255.0f);
    }
  remove_tree (dir);
}

/* A gzip file's header is held against the memory the process may have
 * before anything is inflated: here it claims 2^32 − 1 images of 1000 × 1000
 * (4.3·10^15 bytes) under limits raised so far that only memory stops it. */
static void
test_idx_gz_beyond_memory (void)
{
  g_autofree char *dir = make_tmp ();
  g_autofree char *images = path_in (dir, "vast-images-idx3-ubyte.gz");
  g_autofree char *labels = path_in (dir, "vast-labels-idx1-ubyte");
  write_array (images, idx_images (G_MAXUINT32, 2, 1000, 1000), TRUE);
  write_array (labels, idx_labels (G_MAXUINT32, 2, 2), FALSE);
  DrmadLoadLimits limits = { .max_examples = G_MAXUINT64, .max_bytes = G_MAXUINT64 };
  GError *error = NULL;
  gint64 start = g_get_monotonic_time ();
  g_assert_null (drmad_dataset_load_idx (images, labels, &limits, &error));
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC / 2);
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE);
  g_test_message ("%s", error->message);
  assert_message_has (error, "vast-images-idx3-ubyte.gz");
  assert_message_has (error, "4294967295000000 bytes of pixels");
  assert_message_has (error, "limit of ");
  assert_message_has (error, "before inflating");
  g_clear_error (&error);

  /* the same claim in a plain file is held against the file's size, as before */
  g_autofree char *plain = path_in (dir, "vast-images-idx3-ubyte");
  write_array (plain, idx_images (G_MAXUINT32, 2, 1000, 1000), FALSE);
  g_assert_null (drmad_dataset_load_idx (plain, labels, &limits, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TRUNCATED);
  g_clear_error (&error);
  remove_tree (dir);
}

static void
test_arrays (void)
{
  const float f[6] = { 1, 2, 3, 4, 5, 6 };
  const gint32 good[2] = { 0, 2 }, high[2] = { 0, 3 }, negative[2] = { -1, 0 };
  GError *error = NULL;
  g_autoptr (DrmadDataset) ds = drmad_dataset_new_from_arrays (2, 3, 3, f, good, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (drmad_dataset_get_features (ds), sizeof f, f, sizeof f);
  g_assert_cmpmem (drmad_dataset_get_labels (ds), sizeof good, good, sizeof good);
  g_assert_true (drmad_dataset_get_features (ds) != f);

  g_assert_null (drmad_dataset_new_from_arrays (2, 3, 3, f, high, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_LABEL_RANGE);
  assert_message_has (error, "label 3 of example 2 ");   /* indices counted from 1 */
  g_clear_error (&error);
  const float with_nan[6] = { 1, 2, 3, 4, 5, NAN };
  g_assert_null (drmad_dataset_new_from_arrays (2, 3, 3, with_nan, good, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  assert_message_has (error, "feature 3 of example 2 is nan");
  g_clear_error (&error);
  g_assert_null (drmad_dataset_new_from_arrays (2, 3, 3, f, negative, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_LABEL_RANGE);
  g_clear_error (&error);
  g_assert_null (drmad_dataset_new_from_arrays (2, 0, 3, f, good, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (drmad_dataset_new_from_arrays (2, 3, 3, NULL, good, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* No examples: refused here, not later by whatever used the empty dataset (it was made). */
  g_assert_null (drmad_dataset_new_from_arrays (0, 3, 3, f, good, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  assert_message_has (error, "n is 0");
  g_clear_error (&error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/dataset/idx/roundtrip", GINT_TO_POINTER (FALSE), test_idx_roundtrip);
  g_test_add_data_func ("/dataset/idx/roundtrip-gz", GINT_TO_POINTER (TRUE), test_idx_roundtrip);
  g_test_add_func ("/dataset/idx/truncated", test_idx_truncated);
  g_test_add_func ("/dataset/idx/truncated-gz", test_idx_truncated_gz);
  g_test_add_func ("/dataset/idx/bad-magic", test_idx_bad_magic);
  g_test_add_func ("/dataset/idx/count-mismatch", test_idx_count_mismatch);
  g_test_add_func ("/dataset/idx/too-large", test_idx_too_large);
  g_test_add_func ("/dataset/idx/header-exceeds-file", test_idx_header_exceeds_file);
  g_test_add_func ("/dataset/idx/missing", test_idx_missing);
  g_test_add_func ("/dataset/cifar/roundtrip", test_cifar_roundtrip);
  g_test_add_func ("/dataset/cifar/bad", test_cifar_bad);
  g_test_add_func ("/dataset/png/gray", test_png_gray);
  g_test_add_func ("/dataset/png/rgb", test_png_rgb);
  g_test_add_func ("/dataset/png/alpha", test_png_alpha);
  g_test_add_func ("/dataset/png/half-alpha", test_png_half_alpha);
  g_test_add_func ("/dataset/png/depths", test_png_depths);
  g_test_add_func ("/dataset/png/bad-image", test_png_bad);
  g_test_add_func ("/dataset/png/mixed-sizes", test_png_mixed);
  g_test_add_func ("/dataset/png/empty", test_png_empty);
  g_test_add_func ("/dataset/png/empty-class", test_png_empty_class);
  g_test_add_func ("/dataset/png/layout-hint", test_png_layout_hint);
  g_test_add_func ("/dataset/png/dangling-link", test_png_dangling_link);
  g_test_add_func ("/dataset/open/paths", test_open_paths);
  g_test_add_func ("/dataset/open/test-shape", test_open_test_shape);
  g_test_add_func ("/dataset/open/unreadable", test_open_unreadable);
  g_test_add_func ("/dataset/open/fashion-mnist", test_open_fashion_mnist);
  g_test_add_func ("/dataset/arrays", test_arrays);
  g_test_add_func ("/dataset/split", test_split);
  g_test_add_func ("/dataset/split/too-large", test_split_too_large);
  g_test_add_func ("/dataset/split/bytes-reference", test_split_bytes_reference);
  g_test_add_func ("/dataset/subset", test_subset);
  g_test_add_func ("/dataset/pool-bytes", test_pool_bytes);
  g_test_add_func ("/dataset/idx/gz-beyond-memory", test_idx_gz_beyond_memory);
  return g_test_run ();
}
