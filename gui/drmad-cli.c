/* The headless runner behind `drmad --no-gui` (issue 4): meta-optimisation
 * with a run folder, plots, resume, the final evaluation, and --check. */
#include "drmad-cli.h"
#include "drmad-options.h"
#include "drmad-plot.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define EXIT_FAILED 1
#define EXIT_BAD_INPUT 2

typedef struct {
  gboolean tty;
  gint64   started_us;       /* of the whole job */
  guint64  meta_done, meta_total;
  gint64   meta_started_us;  /* of the current meta-iteration */
  double   meta_seconds;     /* mean seconds per finished meta-iteration */
} Progress;

static gboolean
show_progress (const char *phase, guint64 step, guint64 total, gpointer user_data)
{
  Progress *p = user_data;
  if (!p->tty || (step % 8 != 0 && step != total))
    return TRUE;
  double elapsed = (g_get_monotonic_time () - p->meta_started_us) / 1e6;
  /* ETA: the rest of this meta-iteration from its pace, plus the iterations still to come. */
  double fraction = (g_str_equal (phase, "reverse") ? 0.5 + 0.5 * step / total : 0.5 * step / total);
  double this_left = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0;
  double later = p->meta_total > p->meta_done + 1
                 ? (p->meta_total - p->meta_done - 1) * (p->meta_seconds > 0 ? p->meta_seconds : elapsed / MAX (fraction, 1e-3))
                 : 0;
  int width = 24, filled = (int) (width * step / MAX (total, 1));
  fprintf (stderr, "\r[%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT "] %-8s [%.*s%*s] %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT
           "  ETA %.0fs   ", p->meta_done + 1, p->meta_total, phase, filled, "########################",
           width - filled, "", step, total, this_left + later);
  fflush (stderr);
  return TRUE;
}

static void
clear_progress (Progress *p)
{
  if (p->tty)
    fprintf (stderr, "\r%*s\r", 78, "");
}

static int
list_devices (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) list = drmad_device_list (&error);
  if (!list) {
    fprintf (stderr, "drmad: %s\n", error->message);
    return EXIT_FAILED;
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

/* Everything a job trains on. */
typedef struct {
  DrmadDataset    *pool, *test_pool;
  DrmadSplit      *split;
  DrmadDevice     *device;
  DrmadDeviceData *train, *val, *test;
  DrmadNet        *net;
} Session;

static void
session_clear (Session *s)
{
  drmad_net_free (s->net);
  drmad_device_data_free (s->train);
  drmad_device_data_free (s->val);
  drmad_device_data_free (s->test);
  drmad_device_unref (s->device);
  drmad_split_free (s->split);
  drmad_dataset_free (s->pool);
  drmad_dataset_free (s->test_pool);
}

/* Returns an exit status: 0, or EXIT_BAD_INPUT with the message printed. */
static int
session_open (Session *s, const DrmadOptions *o, DrmadPrecision precision, gboolean quiet)
{
  g_autoptr (GError) error = NULL;
  if (!drmad_dataset_open (o->dataset, NULL, &s->pool, &s->test_pool, &error)
      || !(s->split = drmad_dataset_split (s->pool, s->test_pool, o->seed, o->train_size, o->val_size,
                                           o->test_size, &error))) {
    fprintf (stderr, "drmad: %s\n", error->message);
    return EXIT_BAD_INPUT;
  }
  guint dim = drmad_dataset_get_dim (s->split->train), classes = drmad_dataset_get_n_classes (s->split->train);
  if (o->sizes[0] != dim || o->sizes[o->n_sizes - 1] < classes) {
    fprintf (stderr, "drmad: --layers does not fit the dataset %s: it needs %u inputs and at least %u outputs "
             "(e.g. --layers %u,100,%u)\n", o->dataset, dim, classes, dim, classes);
    return EXIT_BAD_INPUT;
  }
  if (!(s->device = drmad_device_open (o->device, &error))
      || !drmad_device_set_gemm_path (s->device, o->gemm, &error)
      || !(s->train = drmad_device_data_new (s->device, precision, s->split->train, &error))
      || !(s->val = drmad_device_data_new (s->device, precision, s->split->val, &error))
      || !(s->test = drmad_device_data_new (s->device, precision, s->split->test, &error))
      || !(s->net = drmad_net_new (s->device, o->sizes, o->n_sizes, o->activation, precision, o->batch, &error))) {
    fprintf (stderr, "drmad: %s\n", error->message);
    return EXIT_BAD_INPUT;
  }
  if (!quiet) {
    const DrmadDeviceInfo *info = drmad_device_get_info (s->device);
    fprintf (stderr, "device: %s: %s (%s GEMM, %s); data: %u train, %u validation, %u test examples\n",
             info->platform_name, info->name, drmad_gemm_path_name (drmad_device_get_gemm_path (s->device)),
             precision == DRMAD_PRECISION_FLOAT64 ? "float64" : "float32",
             drmad_dataset_get_n (s->split->train), drmad_dataset_get_n (s->split->val),
             drmad_dataset_get_n (s->split->test));
  }
  return 0;
}

/* Retrains from scratch with @hyper and evaluates on @data. */
static gboolean
train_and_evaluate (Session *s, DrmadHyper *hyper, guint64 seed, DrmadDeviceData *data, Progress *progress,
                    double *loss, double *error_rate, GError **error)
{
  return drmad_hyper_train (s->net, hyper, s->train, seed, show_progress, progress, NULL, error)
         && drmad_net_evaluate (s->net, data, loss, error_rate, error);
}

/* ---- plots ---- */

/* Per-layer (and per-segment) natural values of a group from a θ vector;
 * groups learned at finer grain are summarised by their geometric mean. */
static void
layer_values (const DrmadHyper *hyper, const double *theta, const char *group_name, guint n_layers,
              guint segments, double fallback_per_layer[], double *out)
{
  guint n_groups = drmad_hyper_get_n_groups (hyper);
  for (guint l = 0; l < n_layers; l++)
    for (guint s = 0; s < segments; s++)
      out[l * segments + s] = fallback_per_layer[l];
  for (guint g = 0; g < n_groups; g++) {
    if (!g_str_equal (drmad_hyper_get_group_name (hyper, g), group_name))
      continue;
    gsize first, count;
    drmad_hyper_get_group_span (hyper, g, &first, &count);
    g_autofree double *sum = g_new0 (double, n_layers * segments);
    g_autofree guint *n = g_new0 (guint, n_layers * segments);
    for (gsize k = first; k < first + count; k++) {
      guint layer = 0, segment = 0;
      const char *name = drmad_hyper_get_name (hyper, k);
      if (sscanf (name, "%*[^/]/layer%u/seg%u", &layer, &segment) < 1 || layer < 1 || layer > n_layers)
        continue;
      guint cell = (layer - 1) * segments + MIN (segment, segments - 1);
      sum[cell] += log (drmad_hyper_natural_of (hyper, k, theta[k]));
      n[cell]++;
    }
    for (guint c = 0; c < n_layers * segments; c++)
      if (n[c])
        out[c] = exp (sum[c] / n[c]);
  }
}

static gboolean
write_plots (DrmadRun *run, const DrmadHyper *hyper, const DrmadOptions *o, GError **error)
{
  guint n_iters = drmad_run_get_n_records (run), L = o->n_sizes - 1, S = o->hyper.segments;
  const DrmadHyperConfig *config = drmad_hyper_get_config (hyper);
  g_autofree double *l2 = g_new (double, MAX (n_iters, 1) * L);
  g_autofree double *lr = g_new (double, MAX (n_iters, 1) * L * S);
  g_autofree double *train = g_new (double, MAX (n_iters, 1));
  g_autofree double *val = g_new (double, MAX (n_iters, 1));
  g_autofree double *err = g_new (double, MAX (n_iters, 1));
  for (guint i = 0; i < n_iters; i++) {
    const DrmadRunRecord *r = drmad_run_get_record (run, i);
    layer_values (hyper, r->theta, "l2", L, 1, (double *) config->init_l2, l2 + i * L);
    layer_values (hyper, r->theta, "lr", L, S, (double *) config->init_lr, lr + i * L * S);
    train[i] = r->train_loss;
    val[i] = r->val_loss;
    err[i] = r->val_error;
  }
  g_autoptr (DrmadPlot) l2_plot = drmad_plot_l2 (n_iters, L, l2);
  g_autoptr (DrmadPlot) lr_plot = drmad_plot_lr (n_iters, L, S, o->hyper.steps, lr);
  g_autoptr (DrmadPlot) loss_plot = drmad_plot_loss (n_iters, train, val, err);
  g_autofree char *l2_path = g_build_filename (drmad_run_get_folder (run), "l2.png", NULL);
  g_autofree char *lr_path = g_build_filename (drmad_run_get_folder (run), "lr.png", NULL);
  g_autofree char *loss_path = g_build_filename (drmad_run_get_folder (run), "loss.png", NULL);
  return drmad_plot_write_png (l2_plot, l2_path, 800, 500, error)
         && drmad_plot_write_png (lr_plot, lr_path, 800, 500, error)
         && drmad_plot_write_png (loss_plot, loss_path, 800, 500, error);
}

/* ---- the meta-optimisation job ---- */

static const char *
fmt (char *buffer, double value, DrmadPrecision precision)
{
  return g_ascii_formatd (buffer, G_ASCII_DTOSTR_BUF_SIZE, precision == DRMAD_PRECISION_FLOAT64 ? "%.17g" : "%.9g",
                          value);
}

static void
print_summary (const DrmadMetaReport *r, const DrmadHyper *hyper, guint64 total, DrmadPrecision precision)
{
  char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE], c[G_ASCII_DTOSTR_BUF_SIZE];
  printf ("meta %u/%" G_GUINT64_FORMAT "  train_loss %s  val_loss %s  val_error %s", r->iteration, total,
          fmt (a, r->train_loss, precision), fmt (b, r->val_loss, precision), fmt (c, r->val_error, precision));
  for (guint g = 0; g < r->n_groups; g++)
    printf ("  |d%s| %s", drmad_hyper_get_group_name (hyper, g), fmt (a, r->group_norms[g], precision));
  printf ("  seconds %.2f", r->seconds);
  if (r->rejected)
    printf ("  REJECTED (%s; meta learning rate now %g)", r->event, r->meta_learning_rate);
  printf ("\n");
  fflush (stdout);
}

static int
run_job (const DrmadOptions *o)
{
  g_autoptr (GError) error = NULL;
  Session s = { 0 };
  Progress progress = { .tty = isatty (STDERR_FILENO), .started_us = g_get_monotonic_time (),
                        .meta_total = o->meta_iters, .meta_started_us = g_get_monotonic_time () };
  int status = session_open (&s, o, o->precision, FALSE);
  g_autoptr (DrmadHyper) hyper = NULL, initial = NULL;
  g_autoptr (DrmadMeta) meta = NULL;
  g_autoptr (DrmadRun) run = NULL;
  char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];
  if (status)
    goto out;
  if (!(hyper = drmad_hyper_new (s.net, &o->hyper, &error)) || !(initial = drmad_hyper_new (s.net, &o->hyper, &error))) {
    fprintf (stderr, "drmad: %s\n", error->message);
    status = EXIT_BAD_INPUT;
    goto out;
  }

  if (o->meta_iters == 0) {
    /* Train once with the given θ; report, change nothing. */
    double val_loss, val_error, test_loss, test_error;
    if (!drmad_hyper_train (s.net, hyper, s.train, o->seed, show_progress, &progress, NULL, &error)
        || !drmad_net_evaluate (s.net, s.val, &val_loss, &val_error, &error)
        || !drmad_net_evaluate (s.net, s.test, &test_loss, &test_error, &error)) {
      clear_progress (&progress);
      fprintf (stderr, "drmad: %s\n", error->message);
      status = EXIT_FAILED;
      goto out;
    }
    clear_progress (&progress);
    printf ("trained once: val_loss %s  val_error %s", fmt (a, val_loss, o->precision), fmt (b, val_error, o->precision));
    printf ("  test_loss %s  test_error %s\n", fmt (a, test_loss, o->precision), fmt (b, test_error, o->precision));
    goto out;
  }

  if (!(meta = drmad_meta_new (s.net, hyper, s.train, s.val, &o->reverse, &o->meta, &error))) {
    fprintf (stderr, "drmad: %s\n", error->message);
    status = EXIT_BAD_INPUT;
    goto out;
  }
  if (o->resume) {
    if (!(run = drmad_run_open (o->resume, &error)) || !drmad_run_restore (run, hyper, meta, &error)) {
      fprintf (stderr, "drmad: cannot resume %s: %s\n", o->resume, error->message);
      status = EXIT_BAD_INPUT;
      goto out;
    }
    fprintf (stderr, "resuming %s after meta-iteration %u\n", o->resume, drmad_meta_get_iteration (meta));
  } else {
    g_autofree char *ini = drmad_options_to_ini (o);
    if (!(run = drmad_run_create (o->out, ini, o->force, &error))) {
      fprintf (stderr, "drmad: %s\n", error->message);
      status = EXIT_BAD_INPUT;
      goto out;
    }
  }
  fprintf (stderr, "run folder: %s\n", drmad_run_get_folder (run));

  double seconds_sum = 0;
  guint done_here = 0;
  for (guint64 it = drmad_meta_get_iteration (meta); it < o->meta_iters; it++) {
    progress.meta_done = it;
    progress.meta_started_us = g_get_monotonic_time ();
    g_autoptr (DrmadMetaReport) report = drmad_meta_step (meta, show_progress, &progress, &error);
    clear_progress (&progress);
    if (!report || !drmad_run_record (run, hyper, meta, report, &error) || !write_plots (run, hyper, o, &error)) {
      fprintf (stderr, "drmad: meta-iteration %" G_GUINT64_FORMAT " failed: %s\n"
               "drmad: everything up to the previous meta-iteration is in %s (resume with --resume %s)\n",
               it + 1, error->message, drmad_run_get_folder (run), drmad_run_get_folder (run));
      status = EXIT_FAILED;
      goto out;
    }
    print_summary (report, hyper, o->meta_iters, o->precision);
    seconds_sum += report->seconds;
    progress.meta_seconds = seconds_sum / ++done_here;
  }

  /* Final evaluation (issue 4 §4): retrain from scratch with the initial and the learned θ. */
  double initial_loss, initial_error, learned_loss, learned_error;
  progress.meta_done = o->meta_iters;
  if (!train_and_evaluate (&s, initial, o->seed, s.test, &progress, &initial_loss, &initial_error, &error)
      || !train_and_evaluate (&s, hyper, o->seed, s.test, &progress, &learned_loss, &learned_error, &error)
      || !drmad_run_record_final (run, hyper, initial_loss, initial_error, learned_loss, learned_error, &error)) {
    clear_progress (&progress);
    fprintf (stderr, "drmad: the final evaluation failed: %s\n", error->message);
    status = EXIT_FAILED;
    goto out;
  }
  clear_progress (&progress);
  printf ("final  initial: test_loss %s  test_error %s\n", fmt (a, initial_loss, o->precision),
          fmt (b, initial_error, o->precision));
  printf ("final  learned: test_loss %s  test_error %s\n", fmt (a, learned_loss, o->precision),
          fmt (b, learned_error, o->precision));
  for (gsize i = 0; i < drmad_hyper_get_n (hyper) && i < 64; i++)
    printf ("learned %s = %s\n", drmad_hyper_get_name (hyper, i), fmt (a, drmad_hyper_get_natural (hyper, i), DRMAD_PRECISION_FLOAT64));
  if (drmad_hyper_get_n (hyper) > 64)
    printf ("learned … %" G_GSIZE_FORMAT " values in all: see hyper.csv\n", drmad_hyper_get_n (hyper));
  fprintf (stderr, "plots: %s/l2.png %s/lr.png %s/loss.png (%.0f s in all)\n", drmad_run_get_folder (run),
           drmad_run_get_folder (run), drmad_run_get_folder (run),
           (g_get_monotonic_time () - progress.started_us) / 1e6);
out:
  g_clear_pointer (&meta, drmad_meta_free);
  session_clear (&s);
  return status;
}

/* ---- --check ---- */

static double
cosine (const double *a, const double *b, gsize first, gsize count)
{
  double ab = 0, aa = 0, bb = 0;
  for (gsize i = first; i < first + count; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / sqrt (MAX (aa * bb, 1e-300));
}

static double
relative (const double *a, const double *b, gsize first, gsize count)
{
  double diff = 0, norm = 0;
  for (gsize i = first; i < first + count; i++) {
    diff += (a[i] - b[i]) * (a[i] - b[i]);
    norm += b[i] * b[i];
  }
  return sqrt (diff / MAX (norm, 1e-300));
}

/* The small configuration --check uses unless the model is given. */
static void
check_defaults (DrmadOptions *o)
{
  static const struct { const char *key; } model_keys[] = {
    { "layers" }, { "iters" }, { "batch" }, { "train-size" }, { "val-size" }, { "activation" }, { "learn" }, { "segments" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (model_keys); i++)
    if (drmad_options_given (o, model_keys[i].key))
      return;
  o->n_sizes = 3;
  o->sizes[1] = 16;
  o->sizes[2] = 10;
  o->activation = DRMAD_ACTIVATION_TANH;
  o->batch = 20;
  o->train_size = 300;
  o->val_size = 200;
  o->test_size = MAX (o->test_size, 1);
  o->hyper.steps = 40;
  o->hyper.segments = 2;
  o->hyper.l2 = DRMAD_L2_PER_LAYER;
  o->hyper.learn_lr = o->hyper.learn_momentum = o->hyper.learn_init_scale = TRUE;
  o->hyper.init_l2[0] = o->hyper.init_l2[1] = 1e-3;
  o->hyper.init_lr[0] = o->hyper.init_lr[1] = 0.1;
}

static int
run_check (DrmadOptions *o)
{
  g_autoptr (GError) error = NULL;
  check_defaults (o);
  Session s = { 0 };
  /* Finite differences need float64 where the device has it. */
  DrmadPrecision precision = DRMAD_PRECISION_FLOAT64;
  {
    g_autoptr (DrmadDevice) probe = drmad_device_open (o->device, NULL);
    if (probe && !drmad_device_get_info (probe)->fp64)
      precision = DRMAD_PRECISION_FLOAT32;
  }
  int status = session_open (&s, o, precision, FALSE);
  if (status)
    return status;
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (s.net, &o->hyper, &error);
  if (!hyper || drmad_hyper_get_n (hyper) == 0) {
    fprintf (stderr, "drmad: %s\n", hyper ? "no hyperparameter group is learned (see --learn)" : error->message);
    session_clear (&s);
    return EXIT_BAD_INPUT;
  }
  gsize n = drmad_hyper_get_n (hyper);
  guint K = MIN (o->reverse.snapshots, (guint) o->hyper.steps);
  DrmadReverseConfig exact_cfg = o->reverse, drmad_cfg = o->reverse, piece_cfg = o->reverse;
  exact_cfg.method = DRMAD_METHOD_EXACT;
  drmad_cfg.method = DRMAD_METHOD_DRMAD;
  piece_cfg.method = DRMAD_METHOD_PIECEWISE;
  piece_cfg.snapshots = K;
  printf ("check: %u-layer %s net, T = %" G_GUINT64_FORMAT ", batch %u, %" G_GSIZE_FORMAT " hyperparameters, %s\n",
          o->n_sizes - 1, drmad_activation_name (o->activation), o->hyper.steps, o->batch, n,
          precision == DRMAD_PRECISION_FLOAT64 ? "float64" : "float32");
  g_autoptr (DrmadHypergradient) exact = drmad_hypergradient_compute (s.net, hyper, s.train, s.val, &exact_cfg, NULL, NULL, &error);
  g_autoptr (DrmadHypergradient) drmad = exact ? drmad_hypergradient_compute (s.net, hyper, s.train, s.val, &drmad_cfg, NULL, NULL, &error) : NULL;
  g_autoptr (DrmadHypergradient) piece = drmad ? drmad_hypergradient_compute (s.net, hyper, s.train, s.val, &piece_cfg, NULL, NULL, &error) : NULL;
  if (!piece) {
    fprintf (stderr, "drmad: %s\n", error->message);
    session_clear (&s);
    return EXIT_FAILED;
  }
  /* Central differences of f(θ) through the whole training, at most 64 components, spread evenly. */
  double eps = precision == DRMAD_PRECISION_FLOAT64 ? (o->activation == DRMAD_ACTIVATION_TANH ? 1e-5 : 1e-7) : 1e-2;
  double tolerance = precision == DRMAD_PRECISION_FLOAT64 ? 1e-4 : 5e-2;
  g_autofree double *theta = g_memdup2 (drmad_hyper_get_values (hyper), n * sizeof (double));
  g_autofree double *fd = g_new (double, n);
  g_autofree gboolean *checked = g_new0 (gboolean, n);
  gsize stride = MAX (1, (n + 63) / 64);
  for (gsize i = 0; i < n; i += stride) {
    double f[2];
    for (int side = 0; side < 2; side++) {
      theta[i] = drmad_hyper_get_values (hyper)[i] + (side ? -eps : eps);
      g_autoptr (DrmadHyper) moved = drmad_hyper_new (s.net, &o->hyper, NULL);
      if (!drmad_hyper_set_values (moved, theta, &error)
          || !drmad_hyper_train (s.net, moved, s.train, o->seed, NULL, NULL, NULL, &error)
          || !drmad_net_full_gradient (s.net, s.val, &f[side], NULL, &error)) {
        fprintf (stderr, "drmad: %s\n", error->message);
        session_clear (&s);
        return EXIT_FAILED;
      }
    }
    theta[i] = drmad_hyper_get_values (hyper)[i];
    fd[i] = (f[0] - f[1]) / (2 * eps);
    checked[i] = TRUE;
  }
  printf ("\n%-9s %6s  %-22s  %-22s  %-22s\n", "group", "values", "exact vs finite diff.", "DrMAD vs exact",
          "piecewise vs exact");
  printf ("%-9s %6s  %-22s  %-11s%-11s  %-11s%-11s\n", "", "", "relative error", "cosine", "rel. error",
          "cosine", "rel. error");
  gboolean pass = TRUE;
  for (guint g = 0; g < drmad_hyper_get_n_groups (hyper); g++) {
    gsize first, count;
    drmad_hyper_get_group_span (hyper, g, &first, &count);
    double diff = 0, norm = 0;
    for (gsize i = first; i < first + count; i++)
      if (checked[i]) {
        diff += (exact->gradient[i] - fd[i]) * (exact->gradient[i] - fd[i]);
        norm += fd[i] * fd[i];
      }
    double exact_vs_fd = norm > 0 ? sqrt (diff / norm) : (diff > 0 ? INFINITY : 0);
    gboolean ok = exact_vs_fd <= tolerance;
    pass = pass && ok;
    printf ("%-9s %6" G_GSIZE_FORMAT "  %-12.3g %-9s  %-11.4f%-11.3g  %-11.4f%-11.3g\n",
            drmad_hyper_get_group_name (hyper, g), count, exact_vs_fd, ok ? "ok" : "TOO FAR",
            cosine (drmad->gradient, exact->gradient, first, count), relative (drmad->gradient, exact->gradient, first, count),
            cosine (piece->gradient, exact->gradient, first, count), relative (piece->gradient, exact->gradient, first, count));
  }
  printf ("\npiecewise uses K = %u pieces; finite differences: step %g on %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
          " values, tolerance %g\n", K, eps, (n + stride - 1) / stride, n, tolerance);
  printf ("%s\n", pass ? "check passed: the exact hypergradient agrees with finite differences"
                       : "check FAILED: the exact hypergradient is farther from finite differences than the tolerance");
  session_clear (&s);
  return pass ? 0 : EXIT_FAILED;
}

int
drmad_cli_main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  DrmadOptions options = { 0 };
  g_autoptr (GError) error = NULL;
  int status;
  if (!drmad_options_parse (&options, &argc, &argv, &error)) {
    fprintf (stderr, "drmad: %s (see drmad --help)\n", error->message);
    status = EXIT_BAD_INPUT;
  } else if (options.version) {
    printf ("drmad 0.1.0\n");
    status = 0;
  } else if (options.list_devices) {
    status = list_devices ();
  } else if (options.check) {
    status = run_check (&options);
  } else {
    status = run_job (&options);
  }
  drmad_options_clear (&options);
  return status;
}
