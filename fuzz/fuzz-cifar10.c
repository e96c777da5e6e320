/* CIFAR-10 binary batches. */
#include "drmad.h"
#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *path = fuzz_write ("data_batch_1.bin", data, size);
  const char *paths[] = { path, NULL };
  DrmadLoadLimits limits = { .max_examples = 100000, .max_bytes = 256 << 20 };
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadDataset) ds = drmad_dataset_load_cifar10 (paths, &limits, &error);
  if (!ds && !error)
    abort ();
  fuzz_check_names (error, path);
  if (ds)
    for (guint i = 0; i < drmad_dataset_get_n (ds); i++)
      if (drmad_dataset_get_labels (ds)[i] < 0 || drmad_dataset_get_labels (ds)[i] > 9)
        abort ();
  return 0;
}
