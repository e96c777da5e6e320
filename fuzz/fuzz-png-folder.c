/* A PNG-folder entry: class "a" holds a valid 4×4 gray PNG, class "b" holds
 * the input as a PNG file. */
#include "drmad.h"
#include "fuzz-common.h"

#include <png.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static gboolean prepared;
  if (!prepared) {
    g_autofree char *path = g_build_filename (fuzz_folder (), "pngs", "a", "valid.png", NULL);
    g_autofree char *parent = g_path_get_dirname (path);
    g_mkdir_with_parents (parent, 0700);
    guint8 pixels[16] = { 0, 16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240 };
    png_image image = { .version = PNG_IMAGE_VERSION, .width = 4, .height = 4, .format = PNG_FORMAT_GRAY };
    if (!png_image_write_to_file (&image, path, 0, pixels, 0, NULL))
      abort ();
    prepared = TRUE;
  }
  g_free (fuzz_write ("pngs/b/input.png", data, size));
  g_autofree char *folder = g_build_filename (fuzz_folder (), "pngs", NULL);
  DrmadLoadLimits limits = { .max_examples = 1000, .max_features = 1 << 16, .max_bytes = 64 << 20 };
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadDataset) ds = drmad_dataset_load_png_folder (folder, &limits, &error);
  if (!ds && !error)
    abort ();
  fuzz_check_names (error, folder);
  if (ds && (drmad_dataset_get_n (ds) != 2 || drmad_dataset_get_dim (ds) != 16))
    abort ();  /* the only way to load is a second 4×4 gray image */
  return 0;
}
