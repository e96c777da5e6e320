/* bench-hypergrad (issue 6 §1): time per meta-iteration and peak memory of
 * each reverse method against one plain training run of the same T steps.
 *
 *   POCL_CACHE_DIR=build/pocl-cache ./build/bench/bench-hypergrad \
 *       [--net 784,100,100,10 --batch 100] [--iters 100,300,1000,3000]
 *       [--methods plain,exact1,exact,piecewise8,drmad] [--csv FILE]
 *
 * Without --net it measures both the 784-100-100-10 net at batch 100 and the
 * original paper's 784-50-50-50-10 at batch 50. θ: L2 and learning rate per
 * layer (what the peers in bench/peers learn too). Memory: the library's own
 * device accounting (what the pass added at its peak) and the process's peak
 * RSS during the method (VmHWM, reset before each method through
 * /proc/self/clear_refs). */
#include "drmad.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const char *name;
  DrmadMethod method;
  guint       k, K;
  gboolean    plain;
} Method;

static const Method all_methods[] = {
  { "plain", 0, 0, 0, TRUE },
  { "exact1", DRMAD_METHOD_EXACT, 1, 0, FALSE },
  { "exact", DRMAD_METHOD_EXACT, 0, 0, FALSE },
  { "piecewise8", DRMAD_METHOD_PIECEWISE, 0, 8, FALSE },
  { "drmad", DRMAD_METHOD_DRMAD, 0, 0, FALSE },
};

static void
reset_peak_rss (void)
{
  FILE *f = fopen ("/proc/self/clear_refs", "w");
  if (f) {
    fputs ("5", f);
    fclose (f);
  }
}

static double
peak_rss_mib (void)
{
  FILE *f = fopen ("/proc/self/status", "r");
  char line[256];
  double kib = NAN;
  while (f && fgets (line, sizeof line, f))
    if (sscanf (line, "VmHWM: %lf kB", &kib) == 1)
      break;
  if (f)
    fclose (f);
  return kib / 1024;
}

static void
die (GError *error)
{
  fprintf (stderr, "bench-hypergrad: %s\n", error->message);
  exit (1);
}

static int
compare (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

int
main (int argc, char **argv)
{
  drmad_prepare_environment ();  /* before any thread or OpenCL call */
  g_autofree char *net_text = NULL, *iters_text = NULL, *methods_text = NULL, *csv_path = NULL;
  int batch_option = 0, repeats_option = 0;
  double lr_option = 0;
  GOptionEntry entries[] = {
    { "net", 0, 0, G_OPTION_ARG_STRING, &net_text, "Layer widths (default: both 784,100,100,10 and 784,50,50,50,10)", "W,W,…" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch_option, "Batch size with --net (default 100)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr_option, "Learning rate with --net (default 0.1; 0.05 for 784,50,50,50,10 as in the paper)", "η" },
    { "iters", 0, 0, G_OPTION_ARG_STRING, &iters_text, "Horizons T (default 100,300,1000,3000)", "T,T,…" },
    { "methods", 0, 0, G_OPTION_ARG_STRING, &methods_text, "Any of plain,exact1,exact,piecewise8,drmad (default all)", "LIST" },
    { "repeats", 0, 0, G_OPTION_ARG_INT, &repeats_option, "Repeats per cell, median reported (default 3 for T ≤ 300, else 1)", "N" },
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv_path, "Also write the table as CSV", "FILE" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- time and memory of hypergradient methods");
  g_option_context_add_main_entries (context, entries, NULL);
  GError *error = NULL;
  if (!g_option_context_parse (context, &argc, &argv, &error))
    die (error);

  struct { guint sizes[8]; guint n; guint batch; double lr; } nets[2];
  guint n_nets = 0;
  if (net_text) {
    g_auto (GStrv) parts = g_strsplit (net_text, ",", -1);
    nets[0].n = 0;
    for (char **p = parts; *p && nets[0].n < 8; p++)
      nets[0].sizes[nets[0].n++] = atoi (*p);
    nets[0].batch = batch_option > 0 ? batch_option : 100;
    nets[0].lr = lr_option > 0 ? lr_option : nets[0].n == 5 && nets[0].sizes[1] == 50 ? 0.05 : 0.1;
    n_nets = 1;
  } else {
    nets[0] = (typeof (nets[0])) { { 784, 100, 100, 10 }, 4, 100, 0.1 };
    nets[1] = (typeof (nets[1])) { { 784, 50, 50, 50, 10 }, 5, 50, 0.05 };
    n_nets = 2;
  }
  g_auto (GStrv) iters = g_strsplit (iters_text ? iters_text : "100,300,1000,3000", ",", -1);
  g_auto (GStrv) wanted = g_strsplit (methods_text ? methods_text : "plain,exact1,exact,piecewise8,drmad", ",", -1);

  DrmadDataset *pool = NULL, *test = NULL;
  if (!drmad_dataset_open ("fashion-mnist", NULL, &pool, &test, &error))
    die (error);
  g_autoptr (DrmadSplit) split = drmad_dataset_split (pool, test, 1, 10000, 5000, 1000, &error);
  g_autoptr (DrmadDevice) device = split ? drmad_device_open (NULL, &error) : NULL;
  g_autoptr (DrmadDeviceData) train = device ? drmad_device_data_new (device, DRMAD_PRECISION_FLOAT32, split->train, &error) : NULL;
  g_autoptr (DrmadDeviceData) val = train ? drmad_device_data_new (device, DRMAD_PRECISION_FLOAT32, split->val, &error) : NULL;
  if (!val)
    die (error);
  const DrmadDeviceInfo *info = drmad_device_get_info (device);
  printf ("bench-hypergrad: seconds per meta-iteration and peak memory of each method (issue 6 §1)\n");
  printf ("device: %s: %s (%s GEMM); Fashion-MNIST 10000 train / 5000 validation; float32; momentum 0.9;\n",
          info->platform_name, info->name, drmad_gemm_path_name (drmad_device_get_gemm_path (device)));
  printf ("theta: L2 and learning rate per layer; x plain: time / one plain training run of the same T steps\n\n");
  printf ("%-18s %5s %6s %-11s %10s %8s %12s %10s\n", "net", "batch", "T", "method", "s/meta-it", "x plain",
          "device MiB", "RSS MiB");
  FILE *csv = csv_path ? fopen (csv_path, "w") : NULL;
  if (csv)
    fprintf (csv, "net,batch,T,method,seconds,x_plain,device_peak_bytes,peak_rss_mib\n");

  for (guint n = 0; n < n_nets; n++) {
    g_autoptr (GString) net_name = g_string_new (NULL);
    for (guint i = 0; i < nets[n].n; i++)
      g_string_append_printf (net_name, "%s%u", i ? "-" : "", nets[n].sizes[i]);
    g_autoptr (DrmadNet) net = drmad_net_new (device, nets[n].sizes, nets[n].n, DRMAD_ACTIVATION_RELU,
                                              DRMAD_PRECISION_FLOAT32, nets[n].batch, &error);
    if (!net)
      die (error);
    for (char **t_text = iters; *t_text; t_text++) {
      guint64 T = g_ascii_strtoull (*t_text, NULL, 10);
      DrmadHyperConfig config;
      drmad_hyper_config_init (&config);
      config.l2 = DRMAD_L2_PER_LAYER;
      config.learn_lr = TRUE;
      config.steps = T;
      for (guint l = 0; l < DRMAD_HYPER_MAX_LAYERS; l++)
        config.init_lr[l] = nets[n].lr;
      g_autoptr (DrmadHyper) hyper = drmad_hyper_new (net, &config, &error);
      if (!hyper)
        die (error);
      guint repeats = repeats_option > 0 ? repeats_option : (T <= 300 ? 3 : 1);
      double plain_seconds = NAN;
      /* Warm-up: kernels built and caches hot before anything is timed. */
      if (!drmad_hyper_train (net, hyper, train, 7, NULL, NULL, NULL, &error))
        die (error);
      for (guint m = 0; m < G_N_ELEMENTS (all_methods); m++) {
        const Method *method = &all_methods[m];
        if (!g_strv_contains ((const char *const *) wanted, method->name))
          continue;
        double times[16];
        guint64 device_peak = 0;
        reset_peak_rss ();
        for (guint r = 0; r < MIN (repeats, 16); r++) {
          gint64 start = g_get_monotonic_time ();
          if (method->plain) {
            if (!drmad_hyper_train (net, hyper, train, 7, NULL, NULL, NULL, &error) || !drmad_device_finish (device, &error))
              die (error);
          } else {
            DrmadReverseConfig reverse = { .method = method->method, .checkpoint_every = method->k,
                                           .snapshots = method->K, .seed = 7 };
            g_autoptr (DrmadHypergradient) result = drmad_hypergradient_compute (net, hyper, train, val, &reverse,
                                                                                 NULL, NULL, &error);
            if (!result)
              die (error);
            device_peak = result->device_peak_bytes;
          }
          times[r] = (g_get_monotonic_time () - start) / 1e6;
        }
        qsort (times, MIN (repeats, 16), sizeof (double), compare);
        double seconds = times[MIN (repeats, 16) / 2], rss = peak_rss_mib ();
        if (method->plain)
          plain_seconds = seconds;
        printf ("%-18s %5u %6" G_GUINT64_FORMAT " %-11s %10.3f %8.2f %12.2f %10.1f\n", net_name->str, nets[n].batch,
                T, method->name, seconds, seconds / plain_seconds, device_peak / 1048576.0, rss);
        fflush (stdout);
        if (csv)
          fprintf (csv, "%s,%u,%" G_GUINT64_FORMAT ",%s,%.6f,%.4f,%" G_GUINT64_FORMAT ",%.1f\n", net_name->str,
                   nets[n].batch, T, method->name, seconds, seconds / plain_seconds, device_peak, rss);
      }
    }
  }
  if (csv)
    fclose (csv);
  drmad_dataset_free (pool);
  drmad_dataset_free (test);
  return 0;
}
