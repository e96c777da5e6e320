/* Folders of PNG files, one subfolder per class. */
#include "dataset-private.h"

#include <string.h>

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
    gboolean keep = want_dirs ? g_file_test (path, G_FILE_TEST_IS_DIR)
                              : len > 4 && g_ascii_strcasecmp (name + len - 4, ".png") == 0
                                && g_file_test (path, G_FILE_TEST_IS_REGULAR);
    if (keep)
      g_ptr_array_add (names, path);
    else
      g_free (path);
  }
  g_dir_close (dir);
  g_ptr_array_sort (names, drmad_dataset_compare_strings);
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
  if (!png_image_begin_read_from_file (image, path)) {
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
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_EMPTY,
                 "%s: holds no class subfolders with PNG files", folder);
    return NULL;
  }

  for (guint k = 0; k < skipped->len; k++)
    g_message ("%s: holds no PNG files, so it is not a class: the %d classes are the subfolders that hold "
               "some, numbered in name order", (const char *) skipped->pdata[k], n_classes);

  png_image image;
  guint width = 0, height = 0, channels = 0, dim = 0;
  guint8 *pixels = NULL;   /* files->len × dim: the bytes stay as decoded */
  gint32 *labels = NULL;
  for (guint i = 0; i < files->len; i++) {
    const char *path = files->pdata[i];
    guint c;
    if (!png_open (&image, path, &c, error))
      goto fail;
    if (i == 0) {
      width = image.width;
      height = image.height;
      channels = c;
      if (!drmad_load_limits_check (&lim, path, files->len, (guint64) width * height * channels, error)) {
        png_image_free (&image);
        goto fail;
      }
      dim = width * height * channels;
      if (!(pixels = drmad_dataset_try_alloc ((gsize) files->len * dim, "pixels", error))
          || !(labels = drmad_dataset_try_alloc (files->len * sizeof (gint32), "labels", error))) {
        png_image_free (&image);
        goto fail;
      }
    } else if (image.width != width || image.height != height || c != channels) {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_MIXED_SIZES,
                   "%s: is %u × %u × %u (width × height × channels), expected %u × %u × %u like %s",
                   path, image.width, image.height, c, width, height, channels,
                   (const char *) files->pdata[0]);
      png_image_free (&image);
      goto fail;
    }
    png_color black = { 0, 0, 0 };
    if (!png_image_finish_read (&image, &black, pixels + (gsize) i * dim, 0, NULL)) {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_BAD_IMAGE, "%s: cannot decode PNG: %s",
                   path, image.message);
      png_image_free (&image);
      goto fail;
    }
    labels[i] = g_array_index (file_class, gint32, i);
  }
  return drmad_dataset_wrap (files->len, dim, n_classes, width, height, channels,
                             NULL, pixels, labels, g_strdup (folder));

fail:
  g_free (labels);
  g_free (pixels);
  return NULL;
}
