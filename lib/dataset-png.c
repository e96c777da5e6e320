/* Folders of PNG files, one subfolder per class. */
#include "dataset-private.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>
#include <png.h>

/* Entries of @folder (hidden ones skipped) that are folders when @want_dirs,
 * else regular files ending in .png; sorted by name. */
static GPtrArray *
list_entries (const char *folder, gboolean want_dirs, GError **error)
{
  if (!drmad_dataset_check_folder (folder, error))
    return NULL;
  GError *local = NULL;
  GDir *dir = g_dir_open (folder, 0, &local);
  if (dir == NULL) {
    /* GLib's message already names the folder */
    g_set_error_literal (error, DRMAD_ERROR,
                         g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                         ? DRMAD_ERROR_NOT_FOUND : DRMAD_ERROR_IO, local->message);
    g_error_free (local);
    return NULL;
  }
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (dir))) {
    if (name[0] == '.')
      continue;
    char *path = g_build_filename (folder, name, NULL);
    gsize len = strlen (name);
    gboolean png = len > 4 && g_ascii_strcasecmp (name + len - 4, ".png") == 0;
    /* A symbolic link that leads nowhere, where a class folder or a PNG file
     * may be, is said rather than passed over: a class or its files would
     * be missing without a word. */
    GStatBuf st;
    if ((want_dirs || png) && g_stat (path, &st) != 0 && g_lstat (path, &st) == 0 && S_ISLNK (st.st_mode)) {
      gboolean exists;
      drmad_dataset_probe_file (path, want_dirs ? "a class folder" : "a PNG file", &exists, error);
      g_free (path);
      g_dir_close (dir);
      g_ptr_array_unref (names);
      return NULL;
    }
    gboolean keep = want_dirs ? g_file_test (path, G_FILE_TEST_IS_DIR)
                              : png && g_file_test (path, G_FILE_TEST_IS_REGULAR);
    if (keep)
      g_ptr_array_add (names, path);
    else
      g_free (path);
  }
  g_dir_close (dir);
  g_ptr_array_sort (names, drmad_dataset_compare_strings);
  return names;
}

/* One PNG file being read with libpng's own API. The simplified API
 * (png_image_*) is not used: it treats a 16-bit file without a gAMA chunk as
 * linear light and re-encodes it to sRGB on the way to 8 bits (32768 read as
 * 186, not 128), applies any gAMA chunk to 8-bit files too, and with
 * libpng 1.6.39 returns wrong rows for interlaced 16-bit files. Here the
 * samples are taken as stored, like the bytes of IDX files and CIFAR-10
 * batches. */
typedef struct {
  const char *path;
  FILE *file;
  png_structp png;
  png_infop info;
  guint width, height;
  guint channels;      /* 1 (gray) or 3 (RGB), alpha dropped */
  guint stored;        /* channels per pixel libpng delivers: @channels, plus one with alpha */
  const char *kind;    /* the file's colour type, in words */
  char message[200];   /* libpng's last error */
} PngReader;

static void
png_reader_error (png_structp png, png_const_charp message)
{
  PngReader *r = png_get_error_ptr (png);
  g_strlcpy (r->message, message, sizeof r->message);
  png_longjmp (png, 1);
}

static void
png_reader_warning (png_structp png, png_const_charp message)
{
  (void) png;
  (void) message;   /* e.g. an unknown ancillary chunk: the pixels are still read */
}

/* fread, with a short read said as what it is (libpng's own says "Read Error"). */
static void
png_reader_read (png_structp png, png_bytep data, size_t length)
{
  PngReader *r = png_get_io_ptr (png);
  if (fread (data, 1, length, r->file) != length)
    png_error (png, ferror (r->file) ? "cannot read the file" : "the file ends early (truncated?)");
}

static void
png_reader_close (PngReader *r)
{
  if (r->png)
    png_destroy_read_struct (&r->png, r->info ? &r->info : NULL, NULL);
  r->png = NULL;
  r->info = NULL;
  if (r->file)
    fclose (r->file);
  r->file = NULL;
}

/* Reads the header and sets the transformations that give 8-bit gray or RGB
 * samples, plus alpha where the file has it: palette files become RGB, gray
 * below 8 bits is scaled up (1 bit: 0 and 255), 16-bit samples are scaled to
 * 8 bits (v · 255 / 65535, rounded) and a tRNS chunk becomes alpha. */
static gboolean
png_reader_open (PngReader *r, const char *path, GError **error)
{
  memset (r, 0, sizeof *r);
  r->path = path;
  r->file = g_fopen (path, "rb");
  if (r->file == NULL) {
    drmad_dataset_set_open_error (error, path, errno);
    return FALSE;
  }
  png_byte signature[8];
  gsize got = fread (signature, 1, sizeof signature, r->file);
  if (got < sizeof signature || png_sig_cmp (signature, 0, sizeof signature) != 0) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_BAD_IMAGE,
                 "%s: cannot decode PNG: not a PNG file (its first bytes are not the PNG signature)", path);
    png_reader_close (r);
    return FALSE;
  }
  r->png = png_create_read_struct (PNG_LIBPNG_VER_STRING, r, png_reader_error, png_reader_warning);
  r->info = r->png ? png_create_info_struct (r->png) : NULL;
  if (r->info == NULL) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_OUT_OF_MEMORY, "%s: cannot start libpng", path);
    png_reader_close (r);
    return FALSE;
  }
  if (setjmp (png_jmpbuf (r->png))) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_BAD_IMAGE, "%s: cannot decode PNG: %s", path, r->message);
    png_reader_close (r);
    return FALSE;
  }
  png_set_read_fn (r->png, r, png_reader_read);
  png_set_sig_bytes (r->png, sizeof signature);
  png_read_info (r->png, r->info);
  int color_type = png_get_color_type (r->png, r->info);
  png_set_expand (r->png);
#ifdef PNG_READ_SCALE_16_TO_8_SUPPORTED
  png_set_scale_16 (r->png);
#else
  png_set_strip_16 (r->png);
#endif
  png_set_interlace_handling (r->png);
  png_read_update_info (r->png, r->info);
  r->width = png_get_image_width (r->png, r->info);
  r->height = png_get_image_height (r->png, r->info);
  r->channels = color_type & PNG_COLOR_MASK_COLOR ? 3 : 1;
  r->kind = color_type == PNG_COLOR_TYPE_PALETTE ? "a palette PNG, read as RGB"
            : color_type == PNG_COLOR_TYPE_RGB_ALPHA ? "an RGBA PNG, read as RGB"
            : color_type == PNG_COLOR_TYPE_RGB ? "an RGB PNG"
            : color_type == PNG_COLOR_TYPE_GRAY_ALPHA ? "a gray+alpha PNG, read as gray" : "a gray PNG";
  r->stored = png_get_channels (r->png, r->info);
  if (png_get_bit_depth (r->png, r->info) != 8 || (r->stored != r->channels && r->stored != r->channels + 1)) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_BAD_IMAGE,
                 "%s: cannot decode PNG: colour type %d at %d bits per sample gives %d-bit samples in %u channels, "
                 "expected 8-bit gray or RGB with or without alpha", path, color_type,
                 png_get_bit_depth (r->png, r->info), png_get_bit_depth (r->png, r->info), r->stored);
    png_reader_close (r);
    return FALSE;
  }
  return TRUE;
}

/* The pixels into @out (height × width × channels bytes, rows top down,
 * channels interleaved), alpha composited on black (v · a / 255, rounded, on
 * the stored values: an opaque file reads unchanged); @scratch is
 * height × width × stored bytes when the file has alpha. Closes @r. */
static gboolean
png_reader_finish (PngReader *r, guint8 *out, guint8 *scratch, GError **error)
{
  gboolean alpha = r->stored != r->channels;
  guint8 *target = alpha ? scratch : out;
  gsize row_bytes = (gsize) r->width * r->stored;
  png_bytep *rows = g_new (png_bytep, r->height);
  for (guint y = 0; y < r->height; y++)
    rows[y] = target + y * row_bytes;
  if (setjmp (png_jmpbuf (r->png))) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_BAD_IMAGE, "%s: cannot decode PNG: %s", r->path, r->message);
    g_free (rows);
    png_reader_close (r);
    return FALSE;
  }
  png_read_image (r->png, rows);
  g_free (rows);
  png_reader_close (r);
  if (alpha) {
    gsize pixels = (gsize) r->width * r->height;
    for (gsize p = 0; p < pixels; p++) {
      const guint8 *in = scratch + p * r->stored;
      guint a = in[r->channels];
      for (guint k = 0; k < r->channels; k++)
        out[p * r->channels + k] = (guint8) ((in[k] * a + 127) / 255);
    }
  }
  return TRUE;
}

/* For a folder that gave no classes, where its PNG files are, if it has
 * any one or two levels down: a note to append to the error, or NULL. */
char *
drmad_dataset_png_layout_hint (const char *folder)
{
  g_autoptr (GPtrArray) own = list_entries (folder, FALSE, NULL);
  if (own && own->len > 0)
    return g_strdup_printf ("it holds %u PNG file%s itself (%s): a PNG dataset is a folder of one subfolder "
                            "of PNG files per class (if this is one class of one, give the folder above it)",
                            own->len, own->len == 1 ? "" : "s", (const char *) own->pdata[0]);
  g_autoptr (GPtrArray) subfolders = list_entries (folder, TRUE, NULL);
  const char *found = NULL;
  g_autofree char *found_class = NULL;
  for (guint i = 0; subfolders && i < subfolders->len; i++) {
    g_autoptr (GPtrArray) inner = list_entries (subfolders->pdata[i], TRUE, NULL);
    for (guint k = 0; inner && k < inner->len; k++) {
      g_autoptr (GPtrArray) pngs = list_entries (inner->pdata[k], FALSE, NULL);
      if (pngs && pngs->len > 0) {
        g_autofree char *base = g_path_get_basename (subfolders->pdata[i]);
        /* a training folder before the others (test sorts before train) */
        if (found == NULL || g_ascii_strncasecmp (base, "train", 5) == 0) {
          found = subfolders->pdata[i];
          g_free (found_class);
          found_class = g_strdup (inner->pdata[k]);
        }
        break;
      }
    }
  }
  if (found == NULL)
    return NULL;
  return g_strdup_printf ("its subfolder %s holds class subfolders of PNG files (%s): give that folder "
                          "as the dataset (a layout of train and test folders is not read as one; "
                          "--test-size holds test examples out)", found, found_class);
}

DrmadDataset *
drmad_dataset_load_png_folder (const char *folder, const DrmadLoadLimits *limits, GError **error)
{
  DrmadLoadLimits lim = drmad_load_limits_resolve (limits);
  g_autoptr (GPtrArray) classes = list_entries (folder, TRUE, error);
  if (classes == NULL)
    return NULL;

  /* Folders without PNGs are not classes, so a stray empty folder does not
   * leave a label that no example carries; but the classes after it are
   * numbered one lower than their place among the folders, so each is
   * reported where others hold PNG files (where none does, the error says so). */
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GArray) file_class = g_array_new (FALSE, FALSE, sizeof (gint32));
  g_autoptr (GPtrArray) skipped = g_ptr_array_new ();
  gint32 n_classes = 0;
  for (guint c = 0; c < classes->len; c++) {
    g_autoptr (GPtrArray) pngs = list_entries (classes->pdata[c], FALSE, error);
    if (pngs == NULL)
      return NULL;
    if (pngs->len == 0) {
      g_ptr_array_add (skipped, classes->pdata[c]);
      continue;
    }
    for (guint k = 0; k < pngs->len; k++) {
      g_ptr_array_add (files, g_steal_pointer (&pngs->pdata[k]));
      g_array_append_val (file_class, n_classes);
    }
    n_classes++;
  }
  if (files->len == 0) {
    g_autofree char *hint = drmad_dataset_png_layout_hint (folder);
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_EMPTY,
                 "%s: holds no class subfolders with PNG files%s%s", folder, hint ? "; " : "", hint ? hint : "");
    return NULL;
  }

  for (guint k = 0; k < skipped->len; k++)
    g_message ("%s: holds no PNG files, so it is not a class: the %d classes are the subfolders that hold "
               "some, numbered in name order", (const char *) skipped->pdata[k], n_classes);

  PngReader reader;
  guint width = 0, height = 0, channels = 0, dim = 0;
  const char *first_kind = NULL;
  guint8 *pixels = NULL;   /* files->len × dim: the bytes stay as decoded */
  guint8 *scratch = NULL;  /* one image with alpha, as libpng delivers it */
  gint32 *labels = NULL;
  for (guint i = 0; i < files->len; i++) {
    const char *path = files->pdata[i];
    if (!png_reader_open (&reader, path, error))
      goto fail;
    if (i == 0) {
      width = reader.width;
      height = reader.height;
      channels = reader.channels;
      first_kind = reader.kind;
      if (!drmad_load_limits_check (&lim, path, files->len, (guint64) width * height * channels, error)) {
        png_reader_close (&reader);
        goto fail;
      }
      dim = width * height * channels;
      if (!(pixels = drmad_dataset_try_alloc ((gsize) files->len * dim, "pixels", error))
          || !(labels = drmad_dataset_try_alloc (files->len * sizeof (gint32), "labels", error))) {
        png_reader_close (&reader);
        goto fail;
      }
    } else if (reader.width != width || reader.height != height || reader.channels != channels) {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_MIXED_SIZES,
                   "%s: is %u × %u × %u (width × height × channels; %s), expected %u × %u × %u like %s (%s)%s",
                   path, reader.width, reader.height, reader.channels, reader.kind, width, height, channels,
                   (const char *) files->pdata[0], first_kind,
                   reader.width != width || reader.height != height
                   ? ": drmad does not resize images, give files of one size"
                   : ": gray and colour files are not mixed, convert them to one kind");
      png_reader_close (&reader);
      goto fail;
    }
    if (reader.stored != channels && scratch == NULL
        && !(scratch = drmad_dataset_try_alloc ((gsize) width * height * (channels + 1), "an image with alpha",
                                                error))) {
      png_reader_close (&reader);
      goto fail;
    }
    if (!png_reader_finish (&reader, pixels + (gsize) i * dim, scratch, error))
      goto fail;
    labels[i] = g_array_index (file_class, gint32, i);
  }
  g_free (scratch);
  return drmad_dataset_wrap (files->len, dim, n_classes, width, height, channels,
                             NULL, pixels, labels, g_strdup (folder));

fail:
  g_free (scratch);
  g_free (labels);
  g_free (pixels);
  return NULL;
}
