/* The job's plots of a run folder (app/drmad-job.c, drmad_run_plots): θ's
 * point 0 is the θ that meta-iteration 1 measured, which after a warm start
 * is not the configuration's, kept in checkpoint.bin (drmad_run_set_start)
 * and read back by whoever opens the folder. The run is made by the real
 * program; the expected values come from the checkpoint's θ through the
 * library, and from the program's own "best" line. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "drmad-cli.h"
#include "drmad-job.h"
#include "drmad-options.h"
#include "drmad-run-plots.h"
#include "test-util.h"

static G_GNUC_NO_INLINE int
drmad (const char *const *options, char **out, char **err)
{
  return run_drmad (options, NULL, NULL, NULL, out, err);
}

/* @o from the run.ini of the run folder @folder, as the window's Open run
 * reads it. */
static void
read_run_options (const char *folder, DrmadOptions *o)
{
  g_autofree char *ini_path = g_build_filename (folder, "run.ini", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) values = drmad_options_read_ini (NULL, 0, ini_path, TRUE, &error);
  g_assert_no_error (error);
  *o = (DrmadOptions) { 0 };
  g_assert_true (drmad_options_from_values (o, values, &error));
  g_assert_no_error (error);
}

static void
test_warm_start_plots (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-job", NULL);
  g_autofree char *folder = g_build_filename (dir, "run", NULL);
  /* An L2 of 1 on every layer stops learning: the warm start's grid (×1/100,
   * ×1, ×100) moves it, so θ's start is not the configuration's. */
  const char *options[] = { "--no-gui", "--iters", "40", "--train-size", "600", "--val-size", "300",
                            "--layers", "784,20,10", "--learn", "l2", "--batch", "50", "--init-l2", "1",
                            "--warm-start", "3", "--meta-iters", "2", "--meta-lr", "5", "--out", folder, NULL };
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (drmad (options, &out, &err), ==, 0);
  g_assert_nonnull (strstr (err, "warm start (--warm-start 3)"));

  /* The run as the window opens it: settings from run.ini, history and
   * start from checkpoint.bin. */
  g_autoptr (GError) error = NULL;
  DrmadOptions o;
  read_run_options (folder, &o);
  g_autoptr (DrmadHyper) hyper = NULL;
  g_autoptr (DrmadRun) run = NULL;
  g_assert_true (drmad_run_load (folder, &o, &hyper, &run, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (drmad_run_get_n_records (run), ==, 2);
  const double *start = drmad_run_get_start (run);
  g_assert_nonnull (start);

  /* The start's L2 per layer, through the library's own map of θ. */
  g_autofree double *before = g_memdup2 (drmad_hyper_get_values (hyper), drmad_hyper_get_n (hyper) * sizeof (double));
  g_assert_true (drmad_hyper_set_values (hyper, start, &error));
  g_assert_no_error (error);
  double start_l2[2];
  gboolean moved = FALSE;
  for (guint l = 0; l < 2; l++) {
    g_autofree char *name = g_strdup_printf ("l2/layer%u", l + 1);
    gsize i = 0;
    while (i < drmad_hyper_get_n (hyper) && !g_str_equal (drmad_hyper_get_name (hyper, i), name))
      i++;
    g_assert_cmpuint (i, <, drmad_hyper_get_n (hyper));
    start_l2[l] = drmad_hyper_get_natural (hyper, i);
    moved |= fabs (start_l2[l] - 1) > 1e-3;
  }
  g_assert_true (moved);   /* the warm start chose another L2 than the configuration's 1 */
  g_assert_true (drmad_hyper_set_values (hyper, before, &error));

  g_autoptr (DrmadPlot) l2 = NULL;
  g_autoptr (DrmadPlot) lr = NULL;
  drmad_run_plots (run, hyper, &l2, &lr, NULL);
  g_assert_nonnull (l2);
  /* --learn l2: the learning-rate plot says it is not learned */
  g_assert_cmpstr (l2->title, ==, "Learned L2 per layer");
  g_assert_cmpstr (lr->title, ==, "Learning-rate schedule (not learned)");
  g_assert_cmpuint (l2->series->len, ==, 2);
  for (guint l = 0; l < 2; l++) {
    const DrmadPlotSeries *s = g_ptr_array_index (l2->series, l);
    g_assert_cmpfloat (g_array_index (s->x, double, 0), ==, 0);
    g_assert_cmpfloat_with_epsilon (g_array_index (s->y, double, 0), start_l2[l], 1e-12 * start_l2[l]);
  }
  /* A meta learning rate of 5 (an Adam step of about 5 in log L2) makes
   * meta-iteration 2 measure a far worse θ: the best is the one meta-iteration
   * 1 measured, and its ring sits on point 0, the values of the program's
   * "best" line. */
  g_assert_nonnull (strstr (out, "best (measured by meta-iteration 1;"));
  g_assert_cmpfloat (l2->best_x, ==, 0);
  for (guint l = 0; l < 2; l++) {
    g_autofree char *item = g_strdup_printf ("l2/layer%u=", l + 1);
    const char *at = strstr (strstr (out, "best (measured by"), item);
    g_assert_nonnull (at);
    double best = g_ascii_strtod (at + strlen (item), NULL);
    g_assert_cmpfloat_with_epsilon (best, start_l2[l], 1e-9 * best);
  }
  drmad_options_clear (&o);
  remove_tree (dir);
}

/* An L2 per neuron or per weight is drawn one line per layer, the geometric
 * mean of the layer's values: the title says so (it read "Learned L2 per
 * layer", as if each layer had one). */
static void
test_l2_granularity_title (void)
{
  if (!have_fashion_mnist ())
    return;
  const char *granularity[] = { "neuron", "weight", "layer" };
  const char *titles[] = { "Learned L2 per layer (geometric mean over neurons)",
                           "Learned L2 per layer (geometric mean over weights)", "Learned L2 per layer" };
  for (guint g = 0; g < G_N_ELEMENTS (granularity); g++) {
    g_autofree char *dir = test_tmp_dir ("drmad-job", NULL);
    g_autofree char *folder = g_build_filename (dir, "run", NULL);
    const char *options[] = { "--no-gui", "--iters", "10", "--train-size", "100", "--val-size", "50",
                              "--test-size", "50", "--layers", "784,10", "--batch", "10", "--meta-iters", "1",
                              "--fidelity-every", "0", "--l2-granularity", granularity[g], "--out", folder, NULL };
    g_autofree char *out = NULL, *err = NULL;
    g_assert_cmpint (drmad (options, &out, &err), ==, 0);
    g_autoptr (GError) error = NULL;
    DrmadOptions o;
    read_run_options (folder, &o);
    guint n = 0;
    g_autoptr (DrmadPlot) l2 = NULL;
    g_assert_true (drmad_run_load_plots (folder, &o, &n, &l2, NULL, NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (n, ==, 1);
    g_assert_cmpstr (l2->title, ==, titles[g]);
    drmad_options_clear (&o);
    remove_tree (dir);
  }
}

/* A θ past DRMAD_RUN_THETA_KEPT_MAX (lowered by DRMAD_THETA_KEPT_MAX to
 * 1000, below the 12 712 entries of 784-16-10 with an L2 per weight): the
 * run folder read back keeps θ of the last record only, and the plots,
 * drawn from each record's summary, hold the geometric means of the L2 per
 * weight of each layer after each meta-iteration and the learning rates
 * after the last, computed here from hyper.csv; the learned values the
 * window shows for the folder are those of the last one. */
static void
test_large_theta_plots (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-job", NULL);
  g_autofree char *folder = g_build_filename (dir, "run", NULL);
  enum { ITERS = 3, L = 2, S = 4 };
  const char *options[] = { "--no-gui", "--iters", "20", "--train-size", "200", "--val-size", "50", "--test-size",
                            "50", "--layers", "784,16,10", "--batch", "20", "--l2-granularity", "weight",
                            "--segments", "4", "--meta-iters", "3", "--fidelity-every", "0", "--out", folder, NULL };
  g_assert_cmpint (run_drmad (options, NULL, "DRMAD_THETA_KEPT_MAX", "1000", NULL, NULL), ==, 0);

  /* log sums and counts of the natural values per meta-iteration and layer (× segment) */
  double l2_sum[ITERS][L] = { { 0 } }, lr[ITERS][L][S];
  guint l2_count[ITERS][L] = { { 0 } };
  g_autofree char *hyper_path = g_build_filename (folder, "hyper.csv", NULL), *csv = NULL;
  g_assert_true (g_file_get_contents (hyper_path, &csv, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (csv, "\n", -1);
  g_assert_cmpstr (lines[0], ==, "iteration,name,raw,value");
  for (guint i = 1; lines[i] && *lines[i]; i++) {
    g_auto (GStrv) cells = g_strsplit (lines[i], ",", -1);
    guint it = g_ascii_strtoull (cells[0], NULL, 10), layer, unit;
    double value = g_ascii_strtod (cells[3], NULL);
    g_assert_true (it >= 1 && it <= ITERS);
    if (sscanf (cells[1], "l2/layer%u/w%u", &layer, &unit) == 2) {
      l2_sum[it - 1][layer - 1] += log (value);
      l2_count[it - 1][layer - 1]++;
    } else {
      g_assert_cmpint (sscanf (cells[1], "lr/layer%u/seg%u", &layer, &unit), ==, 2);
      lr[it - 1][layer - 1][unit] = value;
    }
  }
  g_assert_cmpuint (l2_count[0][0], ==, 784 * 16);
  g_assert_cmpuint (l2_count[0][1], ==, 16 * 10);

  g_autoptr (GError) error = NULL;
  DrmadOptions o;
  read_run_options (folder, &o);
  g_autoptr (DrmadHyper) hyper = NULL;
  g_autoptr (DrmadRun) run = NULL;
  g_assert_true (drmad_run_load (folder, &o, &hyper, &run, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (drmad_run_get_n_records (run), ==, ITERS);
  for (guint i = 0; i < ITERS; i++)
    g_assert_true ((drmad_run_get_record (run, i)->theta != NULL) == (i + 1 == ITERS));

  g_autoptr (DrmadPlot) l2 = NULL;
  g_autoptr (DrmadPlot) lr_plot = NULL;
  drmad_run_plots (run, hyper, &l2, &lr_plot, NULL);
  g_assert_cmpuint (l2->series->len, ==, L);
  for (guint l = 0; l < L; l++) {
    const DrmadPlotSeries *series = g_ptr_array_index (l2->series, l);
    g_assert_cmpuint (series->x->len, ==, ITERS + 1);   /* the start, then each meta-iteration */
    for (guint i = 0; i < ITERS; i++) {
      double expected = exp (l2_sum[i][l] / l2_count[i][l]);
      g_assert_cmpfloat (g_array_index (series->x, double, i + 1), ==, i + 1);
      g_assert_cmpfloat_with_epsilon (g_array_index (series->y, double, i + 1), expected, 1e-12 * expected);
    }
  }
  /* the current schedule: the last L series, S steps and the end */
  g_assert_cmpuint (lr_plot->series->len, >=, L);
  for (guint l = 0; l < L; l++) {
    const DrmadPlotSeries *series = g_ptr_array_index (lr_plot->series, lr_plot->series->len - L + l);
    g_assert_cmpuint (series->y->len, ==, S + 1);
    for (guint k = 0; k < S; k++)
      g_assert_cmpfloat_with_epsilon (g_array_index (series->y, double, k), lr[ITERS - 1][l][k],
                                      1e-12 * lr[ITERS - 1][l][k]);
  }

  g_autoptr (GArray) rows = NULL;
  g_autofree char *learned = NULL;
  g_assert_true (drmad_run_load_rows (folder, &o, &rows, &learned, &error));
  g_assert_no_error (error);
  g_autofree char *expected_l2 = g_strdup_printf ("L2 per layer: %.3g, %.3g",
                                                  exp (l2_sum[ITERS - 1][0] / l2_count[ITERS - 1][0]),
                                                  exp (l2_sum[ITERS - 1][1] / l2_count[ITERS - 1][1]));
  g_test_message ("%s", learned);
  g_assert_true (g_str_has_prefix (learned, expected_l2));
  drmad_options_clear (&o);
  remove_tree (dir);
}

/* The fidelity plot of a run made with --fidelity-every 0 has no data and
 * never will: it says "not measured", not "no data yet" as a run that has
 * not reached its first measurement does. A run that measures has data. */
static void
test_fidelity_not_measured (void)
{
  if (!have_fashion_mnist ())
    return;
  const char *every[] = { "0", "1" };
  for (guint k = 0; k < G_N_ELEMENTS (every); k++) {
    g_autofree char *dir = test_tmp_dir ("drmad-job", NULL);
    g_autofree char *folder = g_build_filename (dir, "run", NULL);
    const char *options[] = { "--no-gui", "--iters", "10", "--train-size", "100", "--val-size", "50",
                              "--test-size", "50", "--layers", "784,10", "--batch", "10", "--meta-iters", "1",
                              "--fidelity-every", every[k], "--out", folder, NULL };
    g_autofree char *out = NULL, *err = NULL;
    g_assert_cmpint (drmad (options, &out, &err), ==, 0);
    g_autoptr (GError) error = NULL;
    DrmadOptions o;
    read_run_options (folder, &o);
    g_autoptr (DrmadPlot) fidelity = NULL;
    g_assert_true (drmad_run_load_extra_plots (folder, &o, NULL, NULL, NULL, &fidelity, &error));
    g_assert_no_error (error);
    const DrmadPlotSeries *cosine = g_ptr_array_index (fidelity->series, 0);
    if (k == 0) {
      g_assert_cmpuint (cosine->x->len, ==, 0);
      g_assert_cmpstr (fidelity->empty_note, ==, "not measured (--fidelity-every 0)");
    } else {
      g_assert_cmpuint (cosine->x->len, ==, 1);
      g_assert_null (fidelity->empty_note);
    }
    drmad_options_clear (&o);
    remove_tree (dir);
  }
}

/* The values the window shows as "Now" include every learned group: with
 * --learn momentum,init it showed only L2 and the learning rates, neither
 * learned. */
static void
test_learned_text (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) values = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (values, "layers", "784,20,10");
  g_hash_table_insert (values, "learn", "momentum,init");
  g_hash_table_insert (values, "segments", "2");
  g_hash_table_insert (values, "init-momentum", "0.8");
  g_hash_table_insert (values, "init-scale", "0.05");
  DrmadOptions o = { 0 };
  g_assert_true (drmad_options_from_values (&o, values, &error));
  g_assert_no_error (error);
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new_for_sizes (o.sizes, o.n_sizes, &o.hyper, &error);
  g_assert_no_error (error);
  g_autofree char *text = drmad_job_learned_text (hyper, drmad_hyper_get_values (hyper));
  g_test_message ("%s", text);
  g_assert_nonnull (strstr (text, "\nmomentum per segment:\n   layer 1:  0.8  0.8\n   layer 2:  0.8  0.8"));
  g_assert_nonnull (strstr (text, "\ninitial scale per layer: 0.05, 0.05"));
  drmad_options_clear (&o);
}

/* The time left during and after a warm start: its trainings are one phase
 * with its own estimate, and meta-iteration 1's clock starts when they end.
 * Before, each training was reported as meta-iteration 1's, whose estimate
 * then counted the whole warm start as time spent on meta-iteration 1. */
static void
test_eta_warm_start (void)
{
  DrmadEta eta;
  drmad_eta_start (&eta, 0, 10);
  double fraction = -1;
  DrmadJobProgress warm = { "warm start", 0, 400, 0, 10 };
  for (guint64 step = 1; step <= 400; step++) {
    warm.step = step;
    if (step == 200) {
      g_usleep (300000);
      double left = drmad_eta_progress (&eta, &warm, &fraction);
      g_assert_cmpfloat (fraction, ==, 0);
      g_assert_cmpfloat (left, >, 0.2);    /* half done in 0.3 s: about 0.3 s to go */
      g_assert_cmpfloat (left, <, 1.0);
    } else {
      drmad_eta_progress (&eta, &warm, NULL);
    }
  }
  /* meta-iteration 1's training, a tenth of it done at once: its clock starts now */
  DrmadJobProgress train = { "train", 50, 500, 0, 10 };
  double left = drmad_eta_progress (&eta, &train, &fraction);
  /* meta-iteration 1 has just begun: the warm start's 0.3 s is no part of
   * it (counted, its share of the time so far made this 0.1) */
  g_assert_cmpfloat (fraction, <, 0.05);
  g_assert_true (isnan (left));   /* nothing of it timed yet (test_eta_first_step_reported) */
  /* its pace is timed from DRMAD_PROGRESS_LEAD steps past its first event
   * to as many more (test_eta_queued_burst) */
  gint64 now = g_get_monotonic_time ();
  DrmadJobProgress anchor = { "train", 50 + DRMAD_PROGRESS_LEAD, 500, 0, 10 };
  drmad_eta_progress_at (&eta, &anchor, now, &fraction);
  DrmadJobProgress later = { "train", 50 + 2 * DRMAD_PROGRESS_LEAD, 500, 0, 10 };
  left = drmad_eta_progress_at (&eta, &later, now + 100, &fraction);
  g_assert_cmpfloat (fraction, <, 0.05);
  g_assert_cmpfloat (left, <, 0.2);   /* counting the warm start's 0.3 s, about 10 × 6 s */
}

typedef struct {
  guint64 last, total, events, backwards;
} WarmSeen;

static gboolean
warm_progress (const DrmadJobProgress *event, gpointer user_data)
{
  WarmSeen *seen = user_data;
  if (!g_str_equal (event->phase, "warm start"))
    return TRUE;
  seen->backwards += event->step < seen->last;
  seen->last = event->step;
  seen->total = event->total;
  seen->events++;
  return TRUE;
}

/* The warm start's one phase counts up over all its trainings, also where
 * one of them diverges part way (a learning rate ×10 of a large one): the
 * steps it did not take are behind the bar, not counted again by the next
 * training. Its steps were counted only when a training reached its last,
 * so the bar went back at the training after a diverged one. */
static void
test_warm_start_progress_diverged (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-job", NULL);
  g_autofree char *folder = g_build_filename (dir, "run", NULL);
  /* 40 steps: the loss is read every 16, so a divergence stops a training
   * before its last step; lr 20 and 20 ×10 (held at 100) diverge here */
  const char *args[] = { "drmad", "--no-gui", "--iters", "40", "--train-size", "200", "--val-size", "100",
                         "--test-size", "100", "--layers", "784,50,10", "--learn", "lr", "--batch", "50",
                         "--init-lr", "20", "--warm-start", "3", "--meta-iters", "1", "--out", folder, NULL };
  int argc = G_N_ELEMENTS (args) - 1;
  char **argv = (char **) args;
  DrmadOptions o = { 0 };
  g_autoptr (GError) error = NULL;
  g_assert_true (drmad_options_parse (&o, &argc, &argv, &error));
  WarmSeen seen = { 0 };
  DrmadJobCallbacks callbacks = { .progress = warm_progress, .user_data = &seen };
  DrmadJobResult result;
  DrmadJobOutcome outcome = drmad_job_run (&o, &callbacks, &result, &error);
  g_test_message ("outcome %d %s; %" G_GUINT64_FORMAT " events, last %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT,
                  outcome, error ? error->message : "", seen.events, seen.last, seen.total);
  /* 1 + 2 trainings of 40 steps (×1 is the θ given) */
  g_assert_cmpuint (seen.total, ==, 3 * 40);
  g_assert_cmpuint (seen.events, >, 0);
  g_assert_cmpuint (seen.events, <, 3 * 40);   /* one training at least stopped early: the case at hand */
  g_assert_cmpuint (seen.backwards, ==, 0);
  drmad_job_result_clear (&result);
  drmad_options_clear (&o);
  remove_tree (dir);
}

/* The time left (drmad_eta_*) through a simulated job whose phases take
 * known times: 5 meta-iterations, each training 100 steps in 10 s and
 * reversing them in 20 s, measuring fidelity at 1, 3 and 5 (a 200-step
 * phase of 40 s), recording in 5 s; then the final evaluation's three
 * trainings as one phase of 300 steps, 30 s; and the same with exact,
 * which measures no fidelity. The reference at each event
 * is the simulated end minus now. The terminal showed "ETA 0s" through the
 * final evaluation, and at the fidelity phase's start (read as the
 * meta-iteration's training again) about ten times the run. */
typedef struct {
  DrmadEta eta;
  gint64   now;           /* µs */
  gint64   end;           /* µs: when the simulated job ends */
  double   worst_late;    /* the largest |error| / (true + 2 s) from meta-iteration 2 on */
  double   worst_first;   /* the same in meta-iteration 1, past a tenth of each phase */
} EtaRun;

static void
eta_phase (EtaRun *r, const char *phase, guint64 meta_done, guint64 meta_total, guint64 steps, double seconds)
{
  for (guint64 k = 0; k <= steps; k++) {
    if (k > 0)
      r->now += (gint64) (seconds * 1e6 / steps);
    DrmadJobProgress event = { phase, k, steps, meta_done, meta_total };
    double fraction, left = drmad_eta_progress_at (&r->eta, &event, r->now, &fraction);
    double truth = (r->end - r->now) / 1e6;
    g_assert_cmpfloat (fraction, >=, 0);
    g_assert_cmpfloat (fraction, <=, 1);
    if (steps > 1 && k * 10 < steps)   /* "saving" is one event of step 0 of 1, its whole time */
      continue;
    /* unknown until steps 2 × DRMAD_PROGRESS_LEAD past the phase's first
     * are timed (test_eta_queued_burst), where no meta-iteration was */
    if (k < 2 * DRMAD_PROGRESS_LEAD && (meta_done == 0 || meta_done >= meta_total) && isnan (left))
      continue;
    g_assert_false (isnan (left));
    g_assert_cmpfloat (left, >=, 0);
    double error = fabs (left - truth) / (truth + 2);
    if (meta_done == 0)
      r->worst_first = MAX (r->worst_first, error);
    else
      r->worst_late = MAX (r->worst_late, error);
  }
}

/* @exact: the method is its own fidelity reference, so no fidelity phase
 * runs whatever fidelity_every says. @unmeasured: no reference fits the
 * memory budget ("fidelity not measured: …"), so none runs either; the time
 * left counted a fidelity phase (as long as a meta-iteration, none having
 * been timed) at 1, 3 and 5 all the same. */
static void
simulate_eta (gboolean exact, gboolean unmeasured)
{
  enum { META = 5 };
  EtaRun r = { .now = 1000000000 };
  guint measured = exact || unmeasured ? 0 : 3;
  r.end = r.now + (gint64) ((META * (10 + 20 + 5) + measured * 40 + 30) * 1e6);
  r.eta.fidelity_every = 2;
  drmad_eta_set_method (&r.eta, exact ? DRMAD_METHOD_EXACT : DRMAD_METHOD_DRMAD);
  drmad_eta_set_fidelity (&r.eta, !unmeasured);
  drmad_eta_start (&r.eta, 0, META);
  r.eta.meta_started_us = r.eta.last_end_us = r.eta.phase_started_us = r.now;   /* started at the simulated time */
  for (guint64 done = 0; done < META; done++) {
    eta_phase (&r, "train", done, META, 100, 10);
    eta_phase (&r, "reverse", done, META, 100, 20);
    if (measured && done % 2 == 0)
      eta_phase (&r, "fidelity", done, META, 200, 40);
    eta_phase (&r, "saving", done, META, 1, 5);   /* the run folder */
    drmad_eta_iteration_at (&r.eta, done % 2 == 0 ? 70 : 30, r.now);
  }
  eta_phase (&r, "final", META, META, 300, 30);
  g_assert_cmpint (r.now, ==, r.end);
  g_test_message ("%s%s: worst relative error of the time left: meta-iteration 1 %.3f, later %.3f",
                  exact ? "exact" : "drmad", unmeasured ? " (fidelity not measured)" : "", r.worst_first,
                  r.worst_late);
  g_assert_cmpfloat (r.worst_first, <, 0.5);   /* the phases' ratios still unknown */
  g_assert_cmpfloat (r.worst_late, <, 0.1);
}

static void
test_eta (void)
{
  simulate_eta (FALSE, FALSE);
  simulate_eta (TRUE, FALSE);
}

/* The same run with no fidelity reference that fits: no fidelity phase. */
static void
test_eta_fidelity_unmeasured (void)
{
  simulate_eta (FALSE, TRUE);
}

/* The first event of meta-iteration 1's training (step 0, nothing timed
 * yet) and the first of its reverse pass: the time left is unknown there,
 * NaN by drmad_eta_progress()'s contract, never 0 (the terminal showed
 * "ETA 0s" with the whole run ahead). And a resumed run (meta_first 3 of
 * 10) at its first event the same. */
static void
test_eta_first_event (void)
{
  for (guint64 first = 0; first <= 3; first += 3) {
    DrmadEta eta = { .fidelity_every = 0 };
    drmad_eta_start (&eta, first, 10);
    gint64 now = eta.phase_started_us;
    DrmadJobProgress train0 = { "train", 0, 100, first, 10 };
    double fraction, left = drmad_eta_progress_at (&eta, &train0, now, &fraction);
    g_assert_true (isnan (left) || left > 0);
    /* 100 steps in 10 s, each reported (one jump to 100 would be timed
     * from no step DRMAD_PROGRESS_LEAD past another: test_eta_queued_burst) */
    for (guint64 step = 1; step <= 100; step++) {
      DrmadJobProgress train = { "train", step, 100, first, 10 };
      left = drmad_eta_progress_at (&eta, &train, now + 100000 * step, &fraction);
    }
    g_assert_cmpfloat (left, >, 10);   /* the reverse pass and 9 meta-iterations more at least */
    DrmadJobProgress reverse0 = { "reverse", 0, 100, first, 10 };
    left = drmad_eta_progress_at (&eta, &reverse0, now + 10000000, &fraction);
    g_assert_true (isnan (left) || left > 10);
  }
}

/* Training reports step 1 first (lib/train.c), a warm start's trainings
 * too: at that first event nothing is timed, since the step it reports ran
 * before the phase's clock started. The time left was 0 there ("0 s left"
 * in the window, "ETA 0s" in the terminal) for the warm start and for
 * meta-iteration 1's training; it is unknown (NaN) until later steps are
 * timed, and then steps after the first event alone set the pace. */
static void
test_eta_first_step_reported (void)
{
  const char *phases[] = { "warm start", "train" };
  for (guint i = 0; i < G_N_ELEMENTS (phases); i++) {
    DrmadEta eta = { .fidelity_every = 0 };
    drmad_eta_start (&eta, 0, 10);
    gint64 now = eta.phase_started_us + 500000;   /* the setup before the first step: no step's time */
    DrmadJobProgress first = { phases[i], 1, 400, 0, 10 };
    double fraction, left = drmad_eta_progress_at (&eta, &first, now, &fraction);
    g_assert_true (isnan (left));
    /* 10 ms a step, timed from DRMAD_PROGRESS_LEAD steps past the first
     * event (test_eta_queued_burst) to as many more: steps 34 to 65 in
     * 320 ms, 335 to go in 3.35 s */
    DrmadJobProgress anchor = { phases[i], 1 + DRMAD_PROGRESS_LEAD, 400, 0, 10 };
    left = drmad_eta_progress_at (&eta, &anchor, now + 10000 * DRMAD_PROGRESS_LEAD, &fraction);
    g_assert_true (isnan (left));
    DrmadJobProgress later = { phases[i], 1 + 2 * DRMAD_PROGRESS_LEAD, 400, 0, 10 };
    left = drmad_eta_progress_at (&eta, &later, now + 2 * 10000 * DRMAD_PROGRESS_LEAD, &fraction);
    if (i == 0)
      g_assert_cmpfloat_with_epsilon (left, 3.35, 1e-9);
    else   /* the training's rest, a reverse pass as long, 9 meta-iterations more and the final evaluation */
      g_assert_cmpfloat (left, >, 3.35);
  }
}

/* A queued path (every OpenCL device; the host with DRMAD_HOST_DIRECT=0)
 * reports each step as it is enqueued and waits for the device every 16
 * steps only, for the 16 before (lib/train.c, drmad_trainer_run_steps): a
 * training of 1500 steps of 1.5 ms (`--meta-iters 0 --iters 1500`, training
 * once, and the final evaluation the same) reports steps 1 to 31 at once,
 * and step 16k after step 16(k - 1) is done. The reference is the device's
 * end (1500 × 1.5 ms) minus the report's time; every time left given is
 * within half of it and the lead of the steps reported over those done
 * (DRMAD_PROGRESS_LEAD), and one is given by step 100. The terminal drew
 * "train … 8/1500 ETA 0s" with 2.2 s left. */
static void
test_eta_queued_burst (void)
{
  const double step_s = 0.0015;
  const guint64 total = 1500;
  for (guint i = 0; i < 2; i++) {
    /* training once (no meta-iteration), and meta-iteration 1's training */
    guint64 meta_total = i == 0 ? 0 : 3;
    DrmadEta eta = { .fidelity_every = 0 };
    drmad_eta_start (&eta, 0, meta_total);
    gint64 start = eta.phase_started_us;
    gint64 now = start;
    double worst = 0;
    guint64 first_known = 0;
    for (guint64 step = 1; step <= total; step++) {
      if (step % 16 == 0 && step >= 32 && step < total)   /* waits for step − 16 */
        now = MAX (now, start + (gint64) ((step - 16) * step_s * 1e6));
      else if (step == total)   /* the last sync: all done */
        now = start + (gint64) (total * step_s * 1e6);
      else
        now += 2;   /* enqueueing a step: 2 µs */
      DrmadJobProgress event = { "train", step, total, 0, meta_total };
      double left = drmad_eta_progress_at (&eta, &event, now, NULL);
      if (isnan (left))
        continue;
      first_known = first_known ? first_known : step;
      double truth = total * step_s - (now - start) / 1e6;
      if (i == 1)   /* a reverse pass as long, 2 meta-iterations more and the final evaluation's 3 trainings */
        truth += total * step_s + 2 * 2 * total * step_s + 3 * total * step_s;
      /* within half of it, and the steps reported ahead of those done */
      double error = fabs (left - truth), allowed = truth / 2 + DRMAD_PROGRESS_LEAD * step_s;
      worst = MAX (worst, error / allowed);
      if (error > allowed)
        g_test_message ("step %" G_GUINT64_FORMAT ": %.3f s left, truly %.3f s", step, left, truth);
      g_assert_cmpfloat (error, <=, allowed);
    }
    g_test_message ("%s: first time left at step %" G_GUINT64_FORMAT ", worst error %.2f of the allowed",
                    i == 0 ? "training once" : "meta-iteration 1", first_known, worst);
    g_assert_cmpuint (first_known, >, 0);
    g_assert_cmpuint (first_known, <=, 100);
  }
}

/* One phase of test_eta_short_phases: @steps events over @seconds. The
 * time left must be unknown (NaN) where @unknown, else known and within
 * half of the reference (the simulated end minus now). Returns the worst
 * |error| / reference. */
static double
eta_short_phase (EtaRun *r, const char *phase, guint64 meta_done, guint64 meta_total, guint64 steps,
                 double seconds, gboolean unknown)
{
  double worst = 0;
  for (guint64 k = 0; k <= steps; k++) {
    if (k > 0)
      r->now += (gint64) (seconds * 1e6 / steps);
    DrmadJobProgress event = { phase, k, steps, meta_done, meta_total };
    double left = drmad_eta_progress_at (&r->eta, &event, r->now, NULL);
    double truth = (r->end - r->now) / 1e6;
    if (unknown) {
      if (!isnan (left))
        g_error ("%s of meta-iteration %" G_GUINT64_FORMAT ", step %" G_GUINT64_FORMAT ": %.3f s left, where "
                 "no pace is timed yet", phase, meta_done + 1, k, left);
      continue;
    }
    if (isnan (left) || fabs (left - truth) > truth / 2)
      g_error ("%s of meta-iteration %" G_GUINT64_FORMAT ", step %" G_GUINT64_FORMAT ": %.3f s left, truly %.3f s",
               phase, meta_done + 1, k, left, truth);
    if (truth > 0)
      worst = MAX (worst, fabs (left - truth) / truth);
  }
  return worst;
}

/* Phases too short for a pace of their own (2 × DRMAD_PROGRESS_LEAD
 * steps): 3 meta-iterations, each a training of 30 steps in 3 s and a
 * reverse pass of 30 steps in 6 s, recording in 1 s, the fidelity measured
 * at meta-iterations 1 and 3 (90 steps, 9 s); then the final evaluation's
 * 90 steps in 9 s. Meta-iteration 1's training gives no time left (its
 * first steps hold one-time costs, and it is the first thing timed); from
 * its reverse pass on, the time left rests on that training's measured 3 s
 * (a reverse pass as long) and is within half of the truth, and the final
 * evaluation's first steps on the last training's (three as long). It was
 * unknown ("…") through the whole of meta-iteration 1 and the final
 * evaluation's first 64 steps. */
static void
test_eta_short_phases (void)
{
  enum { META = 3 };
  EtaRun r = { .now = 1000000000 };
  r.end = r.now + (gint64) ((META * (3 + 6 + 1) + 2 * 9 + 9) * 1e6);
  r.eta.fidelity_every = 2;
  drmad_eta_set_method (&r.eta, DRMAD_METHOD_DRMAD);
  drmad_eta_start (&r.eta, 0, META);
  r.eta.meta_started_us = r.eta.last_end_us = r.eta.phase_started_us = r.now;
  double worst_first = 0, worst_final = 0;
  for (guint64 done = 0; done < META; done++) {
    eta_short_phase (&r, "train", done, META, 30, 3, done == 0);
    double reverse = eta_short_phase (&r, "reverse", done, META, 30, 6, FALSE);
    double fidelity = done % 2 == 0 ? eta_short_phase (&r, "fidelity", done, META, 90, 9, FALSE) : 0;
    double saving = eta_short_phase (&r, "saving", done, META, 1, 1, FALSE);
    if (done == 0)
      worst_first = MAX (MAX (reverse, fidelity), saving);
    drmad_eta_iteration_at (&r.eta, done % 2 == 0 ? 19 : 10, r.now);
  }
  worst_final = eta_short_phase (&r, "final", META, META, 90, 9, FALSE);
  g_assert_cmpint (r.now, ==, r.end);
  g_test_message ("worst relative error of the time left: meta-iteration 1 after its training %.3f, the final "
                  "evaluation %.3f", worst_first, worst_final);
}

/* The --check table keeps its columns under their headings on every row:
 * each verdict ("ok" or "TOO FAR" on each basis) and fidelity columns of
 * numbers or "diverged". The row of a group whose finite differences were
 * all 0 and that failed, "TOO FAR (absolute, fd 0)" (24 characters in a
 * column of 19), pushed its DrMAD and piecewise columns five characters
 * right of their headings. */
static void
test_check_table_aligned (void)
{
  g_autofree char *heading = drmad_check_table_heading ();
  g_auto (GStrv) lines = g_strsplit (heading, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 3);   /* two lines, each ending in "\n" */
  g_test_message ("%s", heading);
  glong drmad_at = strstr (lines[0], "DrMAD vs exact") - lines[0];
  glong piece_at = strstr (lines[0], "piecewise vs exact") - lines[0];
  glong number_at = strstr (lines[0], "exact vs finite diff.") - lines[0];
  g_assert_cmpint (strstr (lines[1], "relative error (bound)") - lines[1], ==, number_at);
  g_assert_cmpint (strstr (lines[1], "cosine") - lines[1], ==, drmad_at);
  g_assert_cmpint (g_strrstr (lines[1], "cosine") - lines[1], ==, piece_at);
  const char *bases[] = { "relative", "fd noise", "absolute, fd 0" };
  const char *d_text = "0.9912     0.0431     ", *k_text = "diverged              ";
  for (guint ok = 0; ok <= 1; ok++)
    for (guint b = 0; b < G_N_ELEMENTS (bases); b++) {
      g_autofree char *row = drmad_check_table_row ("lr/layer1", 12, 3.25e-7, ok, bases[b], d_text, k_text);
      g_test_message ("%s", row);
      g_assert_true (g_str_has_suffix (row, "\n"));
      g_assert_cmpint (strstr (row, "3.25e-07") - row, ==, number_at);
      g_assert_cmpint (strstr (row, d_text) - row, ==, drmad_at);
      g_assert_cmpint (strstr (row, k_text) - row, ==, piece_at);
      g_autofree char *verdict = g_strdup_printf ("%s (%s)", ok ? "ok" : "TOO FAR", bases[b]);
      g_assert_nonnull (strstr (row, verdict));
    }
}

/* A warm start of 60 s (three trainings) before 4 meta-iterations of 35 s
 * each (training 10 s, reverse pass 20 s, recording 5 s; no fidelity): once
 * meta-iteration 1 is recorded, the time left is the 3 meta-iterations to
 * come and the final evaluation, the reference being the simulated end
 * minus now. The warm start's minute counted into meta-iteration 1's wall
 * time made every later one about 95 s (2.7 × too long). */
static void
test_eta_after_warm_start (void)
{
  enum { META = 4 };
  EtaRun r = { .now = 1000000000 };
  r.end = r.now + (gint64) ((60 + META * 35 + 30) * 1e6);
  r.eta.fidelity_every = 0;
  drmad_eta_start (&r.eta, 0, META);
  r.eta.meta_started_us = r.eta.last_end_us = r.eta.phase_started_us = r.now;
  for (guint64 k = 0; k <= 300; k++) {   /* the warm start: 3 trainings of 100 steps as one count */
    if (k > 0)
      r.now += 200000;
    DrmadJobProgress event = { "warm start", k, 300, 0, META };
    drmad_eta_progress_at (&r.eta, &event, r.now, NULL);
  }
  for (guint64 done = 0; done < META; done++) {
    eta_phase (&r, "train", done, META, 100, 10);
    eta_phase (&r, "reverse", done, META, 100, 20);
    eta_phase (&r, "saving", done, META, 1, 5);
    drmad_eta_iteration_at (&r.eta, 30, r.now);
  }
  eta_phase (&r, "final", META, META, 300, 30);
  g_assert_cmpint (r.now, ==, r.end);
  g_test_message ("after a warm start: worst relative error of the time left from meta-iteration 2 on %.3f",
                  r.worst_late);
  g_assert_cmpfloat (r.worst_late, <, 0.1);
}

/* The meta-iterations still to come, summed in closed form: an ETA state
 * with known times (35 s a meta-iteration, 40 s a fidelity measurement, 10 s
 * training, 20 s reverse pass, so 5 s recording) asked at the recording of
 * meta-iteration done + 1: the time left is that recording's 5 s, 35 s for
 * each k in (done, total), 40 s more for each such k with k %
 * fidelity_every == 0, and the final evaluation's three trainings. The
 * count is checked against a loop where the loop is short, and against the
 * arithmetic at total 1e9, where the old loop stopped at 100 000 iterations
 * and extrapolated (off by about 1e-5 relative). */
static void
test_eta_later_closed_form (void)
{
  const guint everys[] = { 0, 1, 2, 3, 7, 10, 1000 };
  const guint64 dones[] = { 0, 1, 2, 5, 9, 99, 12345 };
  const guint64 extra[] = { 1, 2, 3, 10, 11, 100, 1001, 1000000000 };
  for (guint e = 0; e < G_N_ELEMENTS (everys); e++)
    for (guint d = 0; d < G_N_ELEMENTS (dones); d++)
      for (guint x = 0; x < G_N_ELEMENTS (extra); x++) {
        guint64 done = dones[d], total = done + extra[x];   /* total = done + 1: nothing after */
        DrmadEta eta = { .fidelity_every = everys[e] };
        drmad_eta_start (&eta, 0, total);
        eta.seconds_n = 1;
        eta.wall_sum = 35 + 40;
        eta.fidelity_sum = 40;
        eta.fidelity_n = 1;
        eta.last_train_s = 10;
        eta.last_reverse_s = 20;
        DrmadJobProgress saving = { "saving", 0, 1, done, total };
        double left = drmad_eta_progress_at (&eta, &saving, eta.phase_started_us, NULL);
        guint64 after = total > done + 1 ? total - done - 1 : 0;
        guint64 measuring = everys[e] && after ? (total - 1) / everys[e] - done / everys[e] : 0;
        if (after <= 2000) {   /* the count as the loop took it */
          guint64 counted = 0;
          for (guint64 k = done + 1; k < total; k++)
            counted += everys[e] && k % everys[e] == 0;
          g_assert_cmpuint (counted, ==, measuring);
        }
        double expected = 5 + 35.0 * after + 40.0 * measuring + 3 * 10;
        if (fabs (left - expected) > 1e-9 * expected)
          g_error ("fidelity_every %u, done %" G_GUINT64_FORMAT ", total %" G_GUINT64_FORMAT
                   ": time left %.17g, expected %.17g", everys[e], done, total, left, expected);
      }
}

/* The rows of history.csv and hyper.csv as the window's Export cuts them
 * (drmad_history_csv_rows, drmad_hyper_csv_rows), on texts written here
 * with their offsets counted by hand: iterations 9 and 10 and 100 (one a
 * prefix of the other), a last line without its newline, CRLF lines, and
 * the final rows, which are no meta-iterations. In hyper.csv, whose rows a
 * run appends in place, a last line without its newline is a piece of a row
 * being written (or left by a kill): no row, and never kept; it was taken
 * for a row, so that a reading within an append kept "1" of row
 * "101,…" as a row of iteration 1. */
static void
test_csv_rows (void)
{
  const char history_text[] = "iteration,train_loss\n9,0.5\n10,0.4\n100,0.3\nfinal-initial,0.6\n";
  g_autoptr (GBytes) history = g_bytes_new_static (history_text, strlen (history_text));
  guint64 kept_iteration, last;
  gsize kept_end;
  g_assert_cmpuint (drmad_history_csv_rows (history, 2, &kept_iteration, &kept_end, &last), ==, 3);
  g_assert_cmpuint (kept_iteration, ==, 10);
  g_assert_cmpuint (kept_end, ==, strlen ("iteration,train_loss\n9,0.5\n10,0.4\n"));
  g_assert_cmpuint (last, ==, 100);
  g_assert_cmpuint (drmad_history_csv_rows (history, 0, &kept_iteration, &kept_end, &last), ==, 3);
  g_assert_cmpuint (kept_iteration, ==, 0);
  g_assert_cmpuint (kept_end, ==, strlen ("iteration,train_loss\n"));
  const char header_only[] = "iteration,train_loss";
  g_autoptr (GBytes) empty = g_bytes_new_static (header_only, strlen (header_only));
  g_assert_cmpuint (drmad_history_csv_rows (empty, 0, &kept_iteration, &kept_end, &last), ==, 0);
  g_assert_cmpuint (kept_end, ==, strlen (header_only));
  g_assert_cmpuint (last, ==, 0);

  const char hyper_text[] = "iteration,name,raw,value\r\n9,l2/layer1,-9,1e-4\r\n10,l2/layer1,-8,3e-4\r\n"
                            "10,lr/layer1/seg0,-2,0.1\r\n100,l2/layer1,-7,9e-4\r\n1";
  g_autoptr (GBytes) hyper = g_bytes_new_static (hyper_text, strlen (hyper_text));
  g_assert_cmpuint (drmad_hyper_csv_rows (hyper, 10, &kept_end), ==, 100);
  g_assert_cmpuint (kept_end, ==, strlen ("iteration,name,raw,value\r\n9,l2/layer1,-9,1e-4\r\n"
                                          "10,l2/layer1,-8,3e-4\r\n10,lr/layer1/seg0,-2,0.1\r\n"));
  g_assert_cmpuint (drmad_hyper_csv_rows (hyper, 9, &kept_end), ==, 100);
  g_assert_cmpuint (kept_end, ==, strlen ("iteration,name,raw,value\r\n9,l2/layer1,-9,1e-4\r\n"));
  g_assert_cmpuint (drmad_hyper_csv_rows (hyper, 0, &kept_end), ==, 100);
  g_assert_cmpuint (kept_end, ==, strlen ("iteration,name,raw,value\r\n"));
  g_assert_cmpuint (drmad_hyper_csv_rows (hyper, 100, &kept_end), ==, 100);
  g_assert_cmpuint (kept_end, ==, strlen (hyper_text) - 1);
  g_assert_cmpuint (drmad_hyper_csv_rows (hyper, 1, &kept_end), ==, 100);
  g_assert_cmpuint (kept_end, ==, strlen ("iteration,name,raw,value\r\n"));
  const char piece_only[] = "iteration,name,raw,value\n3,l2/la";
  g_autoptr (GBytes) piece = g_bytes_new_static (piece_only, strlen (piece_only));
  g_assert_cmpuint (drmad_hyper_csv_rows (piece, 3, &kept_end), ==, 0);
  g_assert_cmpuint (kept_end, ==, strlen ("iteration,name,raw,value\n"));
}

/* The rows of a GBytes are read within its bytes (fuzz-csv-rows,
 * docs/reliability.md): a slice that stops inside a row's iteration, as
 * Export's cut of a larger file does, has its own last row, not the one of
 * the text after it; iteration 10 here in history.csv, where reading on
 * into "0,…" of the whole file said 100, and 9 in hyper.csv, where a line
 * without its newline is a piece of a row, no row (test_csv_rows). An
 * empty file (a GBytes of no data) has no rows. */
static void
test_csv_rows_bounded (void)
{
  const char hyper_text[] = "iteration,name,raw,value\n9,l2/layer1,-9,1e-4\n100,l2/layer1,-7,9e-4\n";
  g_autoptr (GBytes) hyper = g_bytes_new_static (hyper_text, strlen (hyper_text));
  gsize ten = strlen ("iteration,name,raw,value\n9,l2/layer1,-9,1e-4\n10");
  g_autoptr (GBytes) hyper_slice = g_bytes_new_from_bytes (hyper, 0, ten);
  gsize kept_end;
  g_assert_cmpuint (drmad_hyper_csv_rows (hyper_slice, 9, &kept_end), ==, 9);
  g_assert_cmpuint (kept_end, ==, strlen ("iteration,name,raw,value\n9,l2/layer1,-9,1e-4\n"));

  const char history_text[] = "iteration,train_loss\n9,0.5\n100,0.3\n";
  g_autoptr (GBytes) history = g_bytes_new_static (history_text, strlen (history_text));
  g_autoptr (GBytes) history_slice = g_bytes_new_from_bytes (history, 0, strlen ("iteration,train_loss\n9,0.5\n10"));
  guint64 kept_iteration, last;
  g_assert_cmpuint (drmad_history_csv_rows (history_slice, 2, &kept_iteration, &kept_end, &last), ==, 2);
  g_assert_cmpuint (kept_iteration, ==, 10);
  g_assert_cmpuint (last, ==, 10);
  g_assert_cmpuint (kept_end, ==, strlen ("iteration,train_loss\n9,0.5\n10"));

  /* 20 digits past G_MAXUINT64: saturated, as g_ascii_strtoull() does */
  const char huge_text[] = "iteration\n99999999999999999999,0.5\n";
  g_autoptr (GBytes) huge = g_bytes_new_static (huge_text, strlen (huge_text));
  g_assert_cmpuint (drmad_history_csv_rows (huge, 1, &kept_iteration, &kept_end, &last), ==, 1);
  g_assert_cmpuint (last, ==, G_MAXUINT64);
  g_assert_cmpuint (drmad_hyper_csv_rows (huge, 0, &kept_end), ==, G_MAXUINT64);

  g_autoptr (GBytes) empty = g_bytes_new (NULL, 0);
  g_assert_cmpuint (drmad_history_csv_rows (empty, 0, &kept_iteration, &kept_end, &last), ==, 0);
  g_assert_cmpuint (kept_end, ==, 0);
  g_assert_cmpuint (last, ==, 0);
  g_assert_cmpuint (drmad_hyper_csv_rows (empty, 0, &kept_end), ==, 0);
  g_assert_cmpuint (kept_end, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/job/warm-start-plots", test_warm_start_plots);
  g_test_add_func ("/job/learned-text", test_learned_text);
  g_test_add_func ("/job/eta-warm-start", test_eta_warm_start);
  g_test_add_func ("/job/l2-granularity-title", test_l2_granularity_title);
  g_test_add_func ("/job/fidelity-not-measured", test_fidelity_not_measured);
  g_test_add_func ("/job/large-theta-plots", test_large_theta_plots);
  g_test_add_func ("/job/warm-start-progress-diverged", test_warm_start_progress_diverged);
  g_test_add_func ("/job/eta", test_eta);
  g_test_add_func ("/job/eta-fidelity-unmeasured", test_eta_fidelity_unmeasured);
  g_test_add_func ("/job/eta-first-step-reported", test_eta_first_step_reported);
  g_test_add_func ("/job/eta-first-event", test_eta_first_event);
  g_test_add_func ("/job/eta-queued-burst", test_eta_queued_burst);
  g_test_add_func ("/job/eta-short-phases", test_eta_short_phases);
  g_test_add_func ("/job/check-table-aligned", test_check_table_aligned);
  g_test_add_func ("/job/eta-after-warm-start", test_eta_after_warm_start);
  g_test_add_func ("/job/eta-later-closed-form", test_eta_later_closed_form);
  g_test_add_func ("/job/csv-rows", test_csv_rows);
  g_test_add_func ("/job/csv-rows-bounded", test_csv_rows_bounded);
  return g_test_run ();
}
