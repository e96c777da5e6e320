/* IDX and IDX.gz images + labels. The first byte picks where the input is
 * split into the two files and whether each is gzip-compressed first. */
#include "drmad.h"
#include "fuzz-common.h"

#include <zlib.h>

static char *
write_maybe_gz (const char *name, const uint8_t *data, size_t size, gboolean gz)
{
  if (!gz)
    return fuzz_write (name, data, size);
  g_autofree char *plain_name = g_strconcat (name, ".gz", NULL);
  char *path = g_build_filename (fuzz_folder (), plain_name, NULL);
  gzFile file = gzopen (path, "wb");
  gzwrite (file, data, size);
  gzclose (file);
  return path;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  guint8 control = data[0];
  data++, size--;
  size_t cut = size ? (size * (control & 0x3f)) / 63 : 0;
  g_autofree char *images = write_maybe_gz ("images-idx3-ubyte", data, cut, control & 0x40);
  g_autofree char *labels = write_maybe_gz ("labels-idx1-ubyte", data + cut, size - cut, control & 0x80);
  DrmadLoadLimits limits = { .max_examples = 100000, .max_features = 1 << 16, .max_bytes = 64 << 20 };
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadDataset) ds = drmad_dataset_load_idx (images, labels, &limits, &error);
  if (!ds && !error)
    abort ();  /* a failure must say why */
  fuzz_check_names (error, fuzz_folder ());
  if (ds) {
    guint n = drmad_dataset_get_n (ds), dim = drmad_dataset_get_dim (ds);
    const float *x = drmad_dataset_get_features (ds);
    const gint32 *y = drmad_dataset_get_labels (ds);
    for (guint i = 0; i < n; i++)
      if (y[i] < 0 || (guint) y[i] >= drmad_dataset_get_n_classes (ds) || x[(gsize) i * dim] < 0 || x[(gsize) i * dim] > 1)
        abort ();
  }
  return 0;
}
