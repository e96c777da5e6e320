/* The headless runner: options, device listing, training, progress on stderr. */
#include "drmad-cli.h"

#include <drmad.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  gboolean no_gui, list_devices, version;
  char    *dataset, *layers, *activation, *device, *gemm, *precision;
  int      batch, train_size, val_size, test_size;
  gint64   iters, seed;
  double   lr, momentum, l2;
} Options;

typedef struct {
  gboolean tty;
  gint64   started_us;
} Progress;

static gboolean
show_progress (const char *phase, guint64 step, guint64 total, gpointer user_data)
{
  Progress *progress = user_data;
  if (!progress->tty)
    return TRUE;
  double elapsed = (g_get_monotonic_time () - progress->started_us) / 1e6;
  double eta = step ? elapsed * (total - step) / step : 0;
  int width = 30, filled = total ? (int) (width * step / total) : 0;
  fprintf (stderr, "\r%-8s [%.*s%*s] %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT "  ETA %.0fs ",
           phase, filled, "##############################", width - filled, "", step, total, eta);
  if (step == total)
    fputc ('\n', stderr);
  return TRUE;
}

static gboolean
parse_layers (const char *text, GArray *sizes, GError **error)
{
  g_auto (GStrv) parts = g_strsplit (text, ",", -1);
  for (char **part = parts; *part; part++) {
    guint64 value;
    if (!g_ascii_string_to_unsigned (g_strstrip (*part), 10, 1, 1u << 24, &value, NULL)) {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                   "--layers %s: \"%s\" is not a layer width (expected positive integers such as 784,100,10)",
                   text, *part);
      return FALSE;
    }
    guint width = value;
    g_array_append_val (sizes, width);
  }
  if (sizes->len < 2) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "--layers %s: give at least the input and output widths, e.g. 784,100,10", text);
    return FALSE;
  }
  return TRUE;
}

static int
list_devices (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) list = drmad_device_list (&error);
  if (!list) {
    fprintf (stderr, "drmad: %s\n", error->message);
    return 1;
  }
  printf ("%-3s %-11s %-5s %9s %9s %-5s %-6s %s\n", "#", "type", "units", "memory", "max alloc",
          "fp64", "native", "platform: device");
  for (guint i = 0; i < list->len; i++) {
    DrmadDeviceInfo *info = list->pdata[i];
    g_autofree char *memory = g_format_size (info->global_mem_bytes);
    g_autofree char *alloc = g_format_size (info->max_alloc_bytes);
    printf ("%-3u %-11s %-5u %9s %9s %-5s %-6s %s: %s\n", info->index, info->type, info->compute_units,
            memory, alloc, info->fp64 ? "yes" : "no", info->native_kernels ? "yes" : "no",
            info->platform_name, info->name);
  }
  return 0;
}

static gboolean
check_options (const Options *o, GError **error)
{
  const char *bad = NULL;
  if (o->batch <= 0) bad = "--batch must be a positive integer";
  else if (o->iters < 0) bad = "--iters must be zero or positive";
  else if (o->train_size < 0 || o->val_size < 0 || o->test_size < 0) bad = "split sizes must be zero or positive";
  else if (!(o->lr > 0) || !isfinite (o->lr)) bad = "--lr must be a positive number";
  else if (!(o->momentum >= 0 && o->momentum < 1)) bad = "--momentum must lie in [0, 1)";
  else if (!(o->l2 >= 0) || !isfinite (o->l2)) bad = "--l2 must be zero or positive";
  if (bad) {
    g_set_error_literal (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT, bad);
    return FALSE;
  }
  return TRUE;
}

/* Trains once and reports test accuracy; returns an exit status. */
static int
train_once (const Options *o)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) sizes = g_array_new (FALSE, FALSE, sizeof (guint));
  DrmadActivation activation;
  DrmadGemmPath gemm = DRMAD_GEMM_AUTO;
  DrmadPrecision precision = DRMAD_PRECISION_FLOAT32;
  if (g_strcmp0 (o->precision, "float64") == 0 || g_strcmp0 (o->precision, "double") == 0)
    precision = DRMAD_PRECISION_FLOAT64;
  else if (g_strcmp0 (o->precision, "float32") != 0 && g_strcmp0 (o->precision, "float") != 0) {
    fprintf (stderr, "drmad: --precision %s: expected float32 or float64\n", o->precision);
    return 2;
  }
  if (!check_options (o, &error) || !parse_layers (o->layers, sizes, &error)
      || !drmad_activation_from_name (o->activation, &activation, &error)
      || (o->gemm && !drmad_gemm_path_from_name (o->gemm, &gemm, &error))) {
    fprintf (stderr, "drmad: %s\n", error->message);
    return 2;
  }

  g_autoptr (DrmadDataset) pool = NULL;
  g_autoptr (DrmadDataset) test = NULL;
  if (!drmad_dataset_open (o->dataset, NULL, &pool, &test, &error)) {
    fprintf (stderr, "drmad: %s\n", error->message);
    return 2;
  }
  g_autoptr (DrmadSplit) split = drmad_dataset_split (pool, test, o->seed, o->train_size, o->val_size,
                                                      o->test_size, &error);
  if (!split) {
    fprintf (stderr, "drmad: %s\n", error->message);
    return 2;
  }
  guint *widths = (guint *) sizes->data;
  if (widths[0] != drmad_dataset_get_dim (split->train)
      || widths[sizes->len - 1] < drmad_dataset_get_n_classes (split->train)) {
    fprintf (stderr, "drmad: --layers %s does not fit the dataset %s: it needs %u inputs and at least %u outputs\n",
             o->layers, o->dataset, drmad_dataset_get_dim (split->train),
             drmad_dataset_get_n_classes (split->train));
    return 2;
  }

  g_autoptr (DrmadDevice) device = drmad_device_open (o->device, &error);
  if (!device || !drmad_device_set_gemm_path (device, gemm, &error)) {
    fprintf (stderr, "drmad: %s\n", error->message);
    return 2;
  }
  const DrmadDeviceInfo *info = drmad_device_get_info (device);
  fprintf (stderr, "device: %s: %s (%s GEMM, %s)\n", info->platform_name, info->name,
           drmad_gemm_path_name (drmad_device_get_gemm_path (device)),
           precision == DRMAD_PRECISION_FLOAT64 ? "float64" : "float32");

  g_autoptr (DrmadDeviceData) train = drmad_device_data_new (device, precision, split->train, &error);
  g_autoptr (DrmadDeviceData) test_data = train ? drmad_device_data_new (device, precision, split->test, &error) : NULL;
  g_autoptr (DrmadNet) net = test_data ? drmad_net_new (device, widths, sizes->len, activation, precision,
                                                        o->batch, &error) : NULL;
  g_autoptr (DrmadTrainer) trainer = NULL;
  Progress progress = { .tty = isatty (STDERR_FILENO), .started_us = g_get_monotonic_time () };
  double train_loss, test_loss, test_error;
  if (!net || !drmad_net_init_params (net, o->seed, NULL, &error)
      || !(trainer = drmad_trainer_new (net, &error))
      || !drmad_trainer_set_uniform (trainer, o->lr, o->momentum, o->l2, &error)
      || !drmad_trainer_run (trainer, train, o->seed, 0, o->iters, show_progress, &progress, &train_loss, &error)
      || !drmad_net_evaluate (net, test_data, &test_loss, &test_error, &error)) {
    fprintf (stderr, "\ndrmad: %s\n", error->message);
    return 1;
  }
  double seconds = (g_get_monotonic_time () - progress.started_us) / 1e6;
  printf ("trained %s on %s: %u train examples, %" G_GINT64_FORMAT " steps of %d in %.2f s\n",
          o->layers, o->dataset, drmad_dataset_get_n (split->train), o->iters, o->batch, seconds);
  printf ("train loss %.9g  test loss %.9g  test accuracy %.2f%% (%u test examples)\n",
          train_loss, test_loss, 100 * (1 - test_error), drmad_dataset_get_n (split->test));
  return 0;
}

int
drmad_cli_main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  Options o = {
    .dataset = g_strdup ("fashion-mnist"), .layers = g_strdup ("784,100,100,10"),
    .activation = g_strdup ("relu"), .precision = g_strdup ("float32"),
    .batch = 100, .iters = 3000, .seed = 1, .train_size = 50000, .val_size = 10000, .test_size = 0,
    .lr = 0.1, .momentum = 0.9, .l2 = 1e-4,
  };
  GOptionEntry entries[] = {
    { "no-gui", 0, 0, G_OPTION_ARG_NONE, &o.no_gui, "Run in the terminal, without a window", NULL },
    { "list-devices", 0, 0, G_OPTION_ARG_NONE, &o.list_devices, "List OpenCL platforms and devices, then exit", NULL },
    { "device", 0, 0, G_OPTION_ARG_STRING, &o.device,
      "OpenCL device: a number from --list-devices or part of its name (default: $DRMAD_DEVICE, else the first GPU, else the first CPU)", "N|SUBSTRING" },
    { "gemm", 0, 0, G_OPTION_ARG_STRING, &o.gemm,
      "Matrix products: clblast, or host (OpenBLAS in a native kernel, CPU devices) (default: host on CPU devices, clblast elsewhere)", "clblast|host" },
    { "precision", 0, 0, G_OPTION_ARG_STRING, &o.precision, "float32 or float64 (needs cl_khr_fp64) (default: float32)", "P" },
    { "dataset", 0, 0, G_OPTION_ARG_STRING, &o.dataset,
      "A built-in name (fashion-mnist, mnist) or a folder: IDX files, CIFAR-10 batches, or one PNG subfolder per class (default: fashion-mnist)", "NAME|PATH" },
    { "train-size", 0, 0, G_OPTION_ARG_INT, &o.train_size, "Training examples; 0 = all not used for validation (default: 50000)", "N" },
    { "val-size", 0, 0, G_OPTION_ARG_INT, &o.val_size, "Validation examples (default: 10000)", "N" },
    { "test-size", 0, 0, G_OPTION_ARG_INT, &o.test_size, "Test examples; 0 = the dataset's whole test set (default: 0)", "N" },
    { "layers", 0, 0, G_OPTION_ARG_STRING, &o.layers, "Layer widths, input first, classes last (default: 784,100,100,10)", "W,W,…" },
    { "activation", 0, 0, G_OPTION_ARG_STRING, &o.activation, "Hidden units: relu or tanh (default: relu)", "relu|tanh" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &o.batch, "Minibatch size (default: 100)", "N" },
    { "iters", 0, 0, G_OPTION_ARG_INT64, &o.iters, "Training steps T (default: 3000)", "T" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &o.lr, "Learning rate η (default: 0.1)", "η" },
    { "momentum", 0, 0, G_OPTION_ARG_DOUBLE, &o.momentum, "Momentum γ (default: 0.9)", "γ" },
    { "l2", 0, 0, G_OPTION_ARG_DOUBLE, &o.l2, "L2 coefficient exp(λ) on weights (default: 0.0001)", "C" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &o.seed, "Seed for splits, initial weights and minibatches (default: 1)", "N" },
    { "version", 0, 0, G_OPTION_ARG_NONE, &o.version, "Print the version and exit", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- tune hyperparameters by hypergradients (DrMAD) on OpenCL");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (context,
    "Trains a multilayer perceptron with SGD and momentum on an OpenCL device.\n"
    "Example: drmad --no-gui --dataset fashion-mnist --layers 784,100,10 --iters 2000");
  g_autoptr (GError) error = NULL;
  int status;
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    fprintf (stderr, "drmad: %s (see drmad --help)\n", error->message);
    status = 2;
  } else if (argc > 1) {
    fprintf (stderr, "drmad: unexpected argument \"%s\" (see drmad --help)\n", argv[1]);
    status = 2;
  } else if (o.version) {
    printf ("drmad 0.1.0\n");
    status = 0;
  } else if (o.list_devices) {
    status = list_devices ();
  } else {
    status = train_once (&o);
  }
  g_free (o.dataset); g_free (o.layers); g_free (o.activation); g_free (o.device);
  g_free (o.gemm); g_free (o.precision);
  return status;
}
