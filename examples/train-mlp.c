/* train-mlp: train a 784-100-10 MLP on Fashion-MNIST with the public drmad API
 * and print its test accuracy. Against the library installed under DIR
 * (docs/install.md):
 *
 *   cc train-mlp.c $(pkg-config --cflags --libs drmad) -Wl,-rpath,DIR/lib -o train-mlp
 *   ./train-mlp
 *
 * Everything it makes is freed by g_autoptr, in the reverse order of the
 * declarations: the trainer before the net it borrows.
 */
#include <drmad.h>
#include <stdio.h>
#include <string.h>

static int
fail (GError *error)
{
  fprintf (stderr, "train-mlp: %s\n", error->message);
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
           "Trains a 784-100-10 MLP for 300 steps on 10 000 Fashion-MNIST examples and prints\n"
           "its accuracy on the test set.\n"
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

  /* The default device: $DRMAD_DEVICE, else the first GPU, else the first CPU. */
  g_autoptr (DrmadDevice) device = drmad_device_open (NULL, &error);
  if (!device)
    return fail (error);
  const DrmadDeviceInfo *info = drmad_device_get_info (device);
  printf ("device: %s: %s (%s GEMM)\n", info->platform_name, info->name,
          drmad_gemm_path_name (drmad_device_get_gemm_path (device)));

  /* 10 000 training and 1 000 validation examples from the training pool,
   * the whole predefined test set (n_test = 0), standardised with the
   * training split's statistics. */
  g_autoptr (DrmadDataset) pool = NULL;
  g_autoptr (DrmadDataset) test_pool = NULL;
  if (!drmad_dataset_open ("fashion-mnist", NULL, &pool, &test_pool, &error))
    return fail (error);
  g_autoptr (DrmadSplit) split = drmad_dataset_split (pool, test_pool, 1, 10000, 1000, 0, &error);
  if (!split)
    return fail (error);

  g_autoptr (DrmadDeviceData) train =
    drmad_device_data_new (device, DRMAD_PRECISION_FLOAT32, split->train, &error);
  if (!train)
    return fail (error);
  g_autoptr (DrmadDeviceData) test =
    drmad_device_data_new (device, DRMAD_PRECISION_FLOAT32, split->test, &error);
  if (!test)
    return fail (error);

  /* 784-100-10, ReLU, minibatches of 100. */
  const guint sizes[] = { 784, 100, 10 };
  g_autoptr (DrmadNet) net = drmad_net_new (device, sizes, G_N_ELEMENTS (sizes), DRMAD_ACTIVATION_RELU,
                                            DRMAD_PRECISION_FLOAT32, 100, &error);
  if (!net || !drmad_net_init_params (net, 1, NULL, &error))  /* scales 1/sqrt(fan_in) */
    return fail (error);

  /* SGD with momentum: eta = 0.1, gamma = 0.9, L2 1e-4 on weights; 300 steps. */
  g_autoptr (DrmadTrainer) trainer = drmad_trainer_new (net, &error);
  double train_loss;
  if (!trainer || !drmad_trainer_set_uniform (trainer, 0.1, 0.9, 1e-4, &error)
      || !drmad_trainer_run (trainer, train, 1, 0, 300, NULL, NULL, &train_loss, &error))
    return fail (error);

  double test_loss, test_error;
  if (!drmad_net_evaluate (net, test, &test_loss, &test_error, &error))
    return fail (error);
  printf ("train loss %.3f  test loss %.3f  test accuracy %.2f%% (%u test examples)\n",
          train_loss, test_loss, 100 * (1 - test_error), drmad_device_data_get_n (test));
  return 0;
}
