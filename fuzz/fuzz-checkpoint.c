/* checkpoint.bin: the framing (magic, version, length, CRC-32), then a
 * restore into a small run. Inputs that pass the CRC are rare, so half the
 * time the input is taken as the payload and framed correctly first. */
#include "drmad.h"
#include "fuzz-common.h"

#include <math.h>
#include <stdio.h>

static DrmadNet *net;
static DrmadHyper *hyper;
static DrmadDeviceData *data_on_device;

static void
prepare (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadDevice) device = drmad_device_open (NULL, &error);
  if (!device) {
    fprintf (stderr, "fuzz-checkpoint needs an OpenCL device: %s\n", error->message);
    abort ();
  }
  guint sizes[] = { 4, 3, 2 };
  float x[8] = { 0 };
  gint32 y[2] = { 0, 1 };
  g_autoptr (DrmadDataset) ds = drmad_dataset_new_from_arrays (2, 4, 2, x, y, &error);
  net = drmad_net_new (device, sizes, 3, DRMAD_ACTIVATION_RELU, DRMAD_PRECISION_FLOAT32, 2, &error);
  data_on_device = drmad_device_data_new (device, DRMAD_PRECISION_FLOAT32, ds, &error);
  DrmadHyperConfig config;
  drmad_hyper_config_init (&config);
  config.learn_lr = TRUE;
  config.segments = 2;
  config.steps = 4;
  hyper = net ? drmad_hyper_new (net, &config, &error) : NULL;
  if (!hyper || !data_on_device)
    abort ();
  g_autofree char *ini = g_build_filename (fuzz_folder (), "run", "run.ini", NULL);
  g_autofree char *folder = g_path_get_dirname (ini);
  g_mkdir_with_parents (folder, 0700);
  g_file_set_contents (ini, "[drmad]\n", -1, NULL);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (!net)
    prepare ();
  g_autofree char *path = g_build_filename (fuzz_folder (), "run", "checkpoint.bin", NULL);
  if (size > 0 && (data[0] & 1)) {
    g_autoptr (GBytes) payload = g_bytes_new (data + 1, size - 1);
    if (!drmad_checkpoint_write (path, payload, NULL))
      abort ();
  } else {
    g_free (fuzz_write ("run/checkpoint.bin", data, size));
  }
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = drmad_checkpoint_read (path, &error);
  if (!bytes && !error)
    abort ();
  g_clear_error (&error);
  DrmadReverseConfig reverse = { .method = DRMAD_METHOD_DRMAD };
  DrmadMetaConfig meta_config;
  drmad_meta_config_init (&meta_config);
  g_autoptr (DrmadMeta) meta = drmad_meta_new (net, hyper, data_on_device, data_on_device, &reverse, &meta_config, NULL);
  g_autofree char *folder = g_path_get_dirname (path);
  g_autoptr (DrmadRun) run = drmad_run_open (folder, NULL);
  if (!run || !meta)
    abort ();
  if (!drmad_run_restore (run, hyper, meta, &error) && !error)
    abort ();
  /* Whatever was restored must be finite (set_values refuses NaN). */
  for (gsize i = 0; i < drmad_hyper_get_n (hyper); i++)
    if (!isfinite (drmad_hyper_get_values (hyper)[i]))
      abort ();
  return 0;
}
