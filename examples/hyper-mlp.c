/* hyper-mlp: three meta-iterations of DrMAD on Fashion-MNIST through the
 * installed library. Built and run as docs/install.md says (DIR: the prefix
 * the library was installed under; tests/installed-example.sh does this):
 *
 *   cc hyper-mlp.c $(pkg-config --cflags --libs drmad) -Wl,-rpath,DIR/lib -o hyper-mlp
 *   ./hyper-mlp
 *
 * Everything it makes is freed by g_autoptr, in the reverse order of the
 * declarations: the meta before the net, θ and data it borrows.
 */
#include <drmad.h>
#include <stdio.h>
#include <string.h>

static int
fail (GError *error)
{
  fprintf (stderr, "hyper-mlp: %s\n", error->message);
  g_error_free (error);
  return 1;
}

/* The program takes no arguments: --help says what it does; anything else is refused. */
static int
usage (int argc, char **argv)
{
  gboolean asked = strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0;
  gboolean help = asked && argc == 2;
  if (!help)
    fprintf (stderr, "%s: unexpected argument %s: this example takes none\n", argv[0], argv[asked ? 2 : 1]);
  fprintf (help ? stdout : stderr,
           "Usage: %s\n"
           "Three meta-iterations of DrMAD (L2 per layer and a 2-segment learning-rate schedule)\n"
           "on 2000 Fashion-MNIST examples, 784-50-10; prints the learned values.\n"
           "Environment: DRMAD_DEVICE (the OpenCL device), DRMAD_DATA_DIR (a folder holding\n"
           "fashion-mnist/, else /usr/share/datasets), POCL_CACHE_DIR (the kernel cache).\n",
           argv[0]);
  return help ? 0 : 2;
}

int
main (int argc, char **argv)
{
  if (argc > 1)
    return usage (argc, argv);
  drmad_prepare_environment ();  /* before any thread or OpenCL call */
  GError *error = NULL;
  g_autoptr (DrmadDataset) pool = NULL;
  g_autoptr (DrmadDataset) test = NULL;
  if (!drmad_dataset_open ("fashion-mnist", NULL, &pool, &test, &error))
    return fail (error);
  g_autoptr (DrmadSplit) split = drmad_dataset_split (pool, test, 1, 2000, 1000, 1000, &error);
  if (!split)
    return fail (error);
  g_autoptr (DrmadDevice) device = drmad_device_open (NULL, &error);
  if (!device)
    return fail (error);
  g_autoptr (DrmadDeviceData) train = drmad_device_data_new (device, DRMAD_PRECISION_FLOAT32, split->train, &error);
  g_autoptr (DrmadDeviceData) val = train ? drmad_device_data_new (device, DRMAD_PRECISION_FLOAT32, split->val, &error) : NULL;
  guint sizes[] = { 784, 50, 10 };
  g_autoptr (DrmadNet) net = val ? drmad_net_new (device, sizes, 3, DRMAD_ACTIVATION_RELU,
                                                  DRMAD_PRECISION_FLOAT32, 50, &error) : NULL;
  if (!net)
    return fail (error);

  /* Learn L2 per layer and a 2-segment learning-rate schedule per layer. */
  DrmadHyperConfig config;
  drmad_hyper_config_init (&config);
  config.l2 = DRMAD_L2_PER_LAYER;
  config.learn_lr = TRUE;
  config.segments = 2;
  config.steps = 100;
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (net, &config, &error);
  if (!hyper)
    return fail (error);
  DrmadReverseConfig reverse;
  drmad_reverse_config_init (&reverse);       /* auto: exact if it fits half the free device memory, else piecewise */
  DrmadMetaConfig meta_config;
  drmad_meta_config_init (&meta_config);      /* Adam; fidelity measured at meta-iteration 1 and every 10 */
  /* Borrows net, hyper, train and val: declared after them, it is freed first. */
  g_autoptr (DrmadMeta) meta = drmad_meta_new (net, hyper, train, val, &reverse, &meta_config, &error);
  if (!meta)
    return fail (error);
  printf ("%s\n", drmad_meta_get_method_reason (meta));

  for (int i = 0; i < 3; i++) {
    g_autoptr (DrmadMetaReport) report = drmad_meta_step (meta, NULL, NULL, &error);
    if (!report)
      return fail (error);
    printf ("meta-iteration %u: validation loss %.6f error %.4f%s", report->iteration, report->val_loss,
            report->val_error, report->rejected ? " (rejected)" : "");
    for (guint g = 0; g < report->n_groups; g++)
      printf ("  |d%s| %.3g", drmad_hyper_get_group_name (hyper, g), report->group_norms[g]);
    printf ("\n");
    if (report->fidelity_measured)
      printf ("  fidelity to the reference: cosine %.4f, relative error %.3g, signs agreeing %.2f\n",
              report->fidelity.cosine, report->fidelity.relative_error, report->fidelity.sign_agreement);
  }
  for (gsize i = 0; i < drmad_hyper_get_n (hyper); i++)
    printf ("%s = %.6g\n", drmad_hyper_get_name (hyper, i), drmad_hyper_get_natural (hyper, i));
  return 0;
}
