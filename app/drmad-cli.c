/* The headless runner behind `drmad --no-gui`: meta-optimisation
 * with a run folder, plots, resume, the final evaluation, and --check. */
#include "drmad-cli.h"
#include "drmad-options.h"
#include "drmad-job.h"
#include "drmad-evaluate.h"
#ifdef DRMAD_HAVE_MPI
#include "drmad-mpi.h"
#endif

#include <errno.h>
#include <float.h>
#include <locale.h>
#include <signal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXIT_FAILED 1
#define EXIT_BAD_INPUT 2

typedef struct {
  gboolean tty;
  gint64   started_us;       /* of the whole job */
  gint64   shown_us;         /* when the bar was last drawn */
  DrmadEta eta;
} Progress;

static gboolean
show_progress (const DrmadJobProgress *event, Progress *p)
{
  double left = drmad_eta_progress (&p->eta, event, NULL);
  /* Ten times a second at most: every 8 steps was 7500 lines in the 7 s of
   * a final evaluation at T = 20000. */
  gint64 now = g_get_monotonic_time ();
  if (!p->tty || (event->step % 8 != 0 && event->step != event->total)
      || (event->step != event->total && event->step > 0 && now - p->shown_us < 100000))
    return TRUE;
  p->shown_us = now;
  int width = 24, filled = (int) (width * MIN (event->step, event->total) / MAX (event->total, 1));
  /* The final evaluation and training once are no meta-iteration; a time
   * left not known yet is not shown (it read "ETA 0s" through the final
   * evaluation's three trainings). */
  g_autofree char *which = event->meta_done < event->meta_total
                           ? g_strdup_printf ("[%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT "] ", event->meta_done + 1,
                                              event->meta_total)
                           : g_strdup ("");
  g_autofree char *eta = isnan (left) ? g_strdup ("") : g_strdup_printf ("  ETA %.0fs", left);
  fprintf (stderr, "\r%s%-8s [%.*s%*s] %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT "%s   ", which, event->phase,
           filled, "########################", width - filled, "", event->step, event->total, eta);
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
  /* The BLAS's warning is a line of this list (below): logged as well, a
   * user saw the same sentence twice. */
  drmad_blas_set_notice (FALSE);
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
  /* The BLAS that runs the GEMMs of CPU devices, and its kernels (lib/blas.c, top). */
  const DrmadBlasInfo *blas = drmad_blas_get_info (&error);
  if (!blas) {
    printf ("BLAS: not available: %s\n", error->message);
    return 0;
  }
  g_autofree char *line = drmad_blas_info_describe (blas);
  printf ("BLAS: %s\n", line);
  if (blas->warning)
    printf ("warning: %s\n", blas->warning);
  guint threads = drmad_host_step_threads (100);
  const char *kernels = drmad_host_step_gemm_kernels ();
  /* Why on the BLAS: "0" was asked for, or the CPU lacks AVX2 and FMA (lib/small-gemm.c), where the
   * variable's name alone read as a switch the user could turn on */
  const char *small = g_getenv ("DRMAD_SMALL_GEMM");
  g_autofree char *gemms = kernels ? g_strdup_printf ("drmad's own %s kernels (DRMAD_SMALL_GEMM)", kernels)
                           : g_strdup (small && g_str_equal (small, "0") ? "the BLAS (DRMAD_SMALL_GEMM=0)"
                                       : "the BLAS (drmad's own kernels need AVX2 and FMA)");
  /* the library's rule (lib/host-team.c): unset, steps on its own kernels are shared or not by timing, and
   * steps on the BLAS always shared (README, DRMAD_HOST_THREADS); a bare variable name read as set where it
   * was not */
  const char *given = g_getenv ("DRMAD_HOST_THREADS");
  gboolean set = given && *given, timed = threads > 1 && kernels && !set;
  g_autofree char *why = set ? g_strdup_printf ("=%s", given)
                         : g_strdup (timed ? " unset: single-precision steps shared or alone as they time faster"
                                     : threads > 1 ? " unset: every step shared, as on the BLAS a choice by timing "
                                                     "would move the numbers"
                                     : " unset");
  printf ("host step: %s%u thread%s per training and reverse step at batch 100 (DRMAD_HOST_THREADS%s; %u CPUs "
          "online); its single-precision GEMMs on %s\n", timed ? "up to " : "",
          threads, threads > 1 ? "s" : "", why, g_get_num_processors (), gemms);
  return 0;
}

/* ---- the meta-optimisation job ---- */

/* NaN, a number never measured (drmad-meta.h), is "—" as the hypergradient
 * norms beside it (format_norms, app/drmad-job.c) and the window's summary
 * are: "val_error nan  |dl2| —" mixed the two on one line. */
static const char *
fmt (char *buffer, double value, DrmadPrecision precision)
{
  if (isnan (value)) {
    g_strlcpy (buffer, "—", G_ASCII_DTOSTR_BUF_SIZE);
    return buffer;
  }
  return g_ascii_formatd (buffer, G_ASCII_DTOSTR_BUF_SIZE, precision == DRMAD_PRECISION_FLOAT64 ? "%.17g" : "%.9g",
                          value);
}

typedef struct {
  Progress             progress;
  const DrmadOptions  *options;
} Terminal;

/* SIGINT, SIGTERM and SIGHUP (the terminal closed, an SSH session dropped)
 * stop the job through its cancel path within one step, so that the run
 * says what it kept and how to continue it; SIGHUP ended it at once,
 * without its last words. A second SIGINT or SIGTERM ends the process at
 * once (SA_RESETHAND); a second SIGHUP does not: a closed terminal sends a
 * run in the foreground two at once, the shell's (bash passes its SIGHUP to
 * every job) and the kernel's when the shell, the session leader, exits,
 * and the second ended the run before it could stop (README, "The run
 * folder"). A signal ignored when drmad started stays ignored, as in the
 * window (gui/drmad-application.c): `nohup drmad --no-gui …` outlives the
 * terminal as it was asked to. */
static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP };
static gboolean stop_signal_caught[G_N_ELEMENTS (stop_signals)];
static volatile sig_atomic_t stop_signal;

static void
on_stop_signal (int signo)
{
  if (signo != SIGHUP || !stop_signal)   /* the terminal's echo names no stop of its own */
    stop_signal = signo;
}

static void
catch_stop_signals (void)
{
  struct sigaction action = { .sa_handler = on_stop_signal };
  sigemptyset (&action.sa_mask);
  for (guint i = 0; i < G_N_ELEMENTS (stop_signals); i++) {
    struct sigaction now;
    if (sigaction (stop_signals[i], NULL, &now) == 0 && now.sa_handler == SIG_IGN)
      continue;
    action.sa_flags = stop_signals[i] == SIGHUP ? 0 : SA_RESETHAND;
    stop_signal_caught[i] = sigaction (stop_signals[i], &action, NULL) == 0;
  }
}

#ifdef DRMAD_HAVE_MPI
/* Each stop signal caught ends the process again, as before catch_stop_signals(). */
static void
release_stop_signals (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (stop_signals); i++)
    if (stop_signal_caught[i])
      signal (stop_signals[i], SIG_DFL);
}
#endif

static const char *
stop_signal_name (void)
{
  return stop_signal == SIGINT ? "SIGINT" : stop_signal == SIGHUP ? "SIGHUP" : "SIGTERM";
}

static gboolean
terminal_progress (const DrmadJobProgress *event, gpointer user_data)
{
  Terminal *t = user_data;
  return !stop_signal && show_progress (event, &t->progress);
}

static void
terminal_notice (const char *text, gpointer user_data)
{
  Terminal *t = user_data;
  clear_progress (&t->progress);
  fprintf (stderr, "%s\n", text);
}

static void
terminal_started (const DrmadJobStarted *event, gpointer user_data)
{
  g_autofree char *text = drmad_job_started_describe (event);
  terminal_notice (text, user_data);
}

static void
terminal_folder (const DrmadJobFolder *event, gpointer user_data)
{
  Terminal *t = user_data;
  clear_progress (&t->progress);
  if (event->resumed && event->resumed_after)
    fprintf (stderr, "resuming %s after meta-iteration %u\n", event->folder, event->resumed_after);
  /* "method: exact k=5, as asked", not "method: method exact …" */
  const char *reason = event->method_reason;
  fprintf (stderr, "run folder: %s\nmethod: %s\n", event->folder,
           g_str_has_prefix (reason, "method ") ? reason + strlen ("method ") : reason);
  if (event->method)
    drmad_eta_set_method (&t->progress.eta, event->method->method);
  drmad_eta_set_fidelity (&t->progress.eta, !event->fidelity_unmeasured);
  drmad_eta_start (&t->progress.eta, event->resumed_after, t->options->meta_iters);
}

static void
terminal_iteration (DrmadJobIteration *event, gpointer user_data)
{
  Terminal *t = user_data;
  const DrmadMetaReport *r = event->report;
  DrmadPrecision precision = t->options->precision;
  char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE], c[G_ASCII_DTOSTR_BUF_SIZE];
  clear_progress (&t->progress);
  printf ("meta %u/%" G_GUINT64_FORMAT "  train_loss %s  val_loss %s  val_error %s  %s  seconds %.2f", r->iteration,
          event->meta_total, fmt (a, r->train_loss, precision), fmt (b, r->val_loss, precision),
          fmt (c, r->val_error, precision), event->norms, r->seconds);
  if (r->ranks > 1)   /* the mean of several processes (docs/distributed.md) */
    printf ("  ranks %u  spread: val_loss %s  |d| %s", r->ranks, fmt (a, r->val_loss_spread, precision),
            fmt (b, r->hypergradient_norm_spread, precision));
  if (r->rejected)
    printf ("  REJECTED (%s; meta learning rate now %g)", r->event, r->meta_learning_rate);
  if (r->clamped)
    printf ("  (%u value%s of the next θ held at the edge of %s range; a smaller --meta-lr takes shorter steps)",
            r->clamped, r->clamped == 1 ? "" : "s", r->clamped == 1 ? "its" : "their");
  printf ("\n");
  if (event->fidelity)
    printf ("%s\n", event->fidelity);
  fflush (stdout);
  if (r->fidelity_warning)
    fprintf (stderr, "drmad: warning: %s\n", r->fidelity_warning);
  drmad_eta_iteration (&t->progress.eta, r->seconds);
}

/* The final evaluation's lines: stdout, and where the plots are on stderr. */
static void
print_final (const DrmadOptions *o, const DrmadJobResult *result, const Terminal *t)
{
  char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];
  const char *diverged = "  diverged (its training overflowed)";
  printf ("final  initial: test_loss %s  test_error %s%s\n", fmt (a, result->initial_test_loss, o->precision),
          fmt (b, result->initial_test_error, o->precision), result->initial_diverged ? diverged : "");
  printf ("final  learned: test_loss %s  test_error %s%s\n", fmt (a, result->learned_test_loss, o->precision),
          fmt (b, result->learned_test_error, o->precision), result->learned_diverged ? diverged : "");
  printf ("final  best:    test_loss %s  test_error %s%s", fmt (a, result->best_test_loss, o->precision),
          fmt (b, result->best_test_error, o->precision), result->best_diverged ? diverged : "");
  if (isfinite (result->best_val_loss))
    printf ("  (the accepted θ with the lowest validation loss, %s)\n", fmt (a, result->best_val_loss, o->precision));
  else   /* every meta-step rejected with no validation loss (a reverse pass that diverged at the start) */
    printf ("  (no meta-iteration was accepted: the starting values)\n");
  guint n = result->learned ? g_strv_length (result->learned) : 0;
  for (guint i = 0; i < n && i < 64; i++)
    printf ("learned %s\n", result->learned[i]);
  if (n > 64)
    printf ("learned … %u values in all: see hyper.csv\n", n);
  if (result->best && result->best_iteration && n <= 64)
    printf ("best (measured by meta-iteration %u; as a drmad --evaluate line): %s\n", result->best_iteration,
            result->best);
  else if (result->best_iteration > 1)
    printf ("best: measured by meta-iteration %u, hyper.csv's iteration %u\n", result->best_iteration,
            result->best_iteration - 1);
  else if (result->best_iteration)   /* hyper.csv starts after meta-iteration 1 */
    printf ("best: measured by meta-iteration 1, the values the run started from (the settings', or the warm "
            "start's where it moved them)\n");
  fprintf (stderr, "plots: %s/l2.png %s/lr.png %s/loss.png (%.0f s in all)\n", result->folder, result->folder,
           result->folder, (g_get_monotonic_time () - t->progress.started_us) / 1e6);
}

/* @ranks: one of several MPI processes (docs/distributed.md), or NULL alone. Only
 * rank 0 prints; another rank prints only its error. */
static int
run_job (const DrmadOptions *o, const DrmadJobRanks *ranks, gboolean *rank_0_reports)
{
  g_autoptr (GError) error = NULL;
  gboolean quiet = ranks && ranks->rank > 0;
  Terminal t = { .options = o, .progress = { .tty = !quiet && isatty (STDERR_FILENO),
                                             .started_us = g_get_monotonic_time () } };
  t.progress.eta.fidelity_every = o->meta.fidelity_every;   /* kept by drmad_eta_start() */
  drmad_eta_start (&t.progress.eta, 0, o->meta_iters);
  DrmadJobCallbacks callbacks = { terminal_started, terminal_folder, terminal_progress, terminal_iteration,
                                  terminal_notice, &t };
  if (quiet)
    callbacks = (DrmadJobCallbacks) { .progress = terminal_progress, .user_data = &t };
  DrmadJobResult result;
  catch_stop_signals ();
  DrmadJobOutcome outcome = drmad_job_run_ranks (o, ranks, &callbacks, &result, &error);
  clear_progress (&t.progress);
  if (rank_0_reports)
    *rank_0_reports = outcome != DRMAD_JOB_DONE && result.rank_0_reports;
  if (quiet) {
    int status = outcome == DRMAD_JOB_DONE ? 0 : outcome == DRMAD_JOB_BAD_INPUT ? EXIT_BAD_INPUT : EXIT_FAILED;
    if (outcome == DRMAD_JOB_CANCELLED && stop_signal) {
      fprintf (stderr, "drmad: rank %u: stopped by %s (%s)\n", ranks->rank, stop_signal_name (), error->message);
      status = 128 + stop_signal;
    } else if (outcome != DRMAD_JOB_DONE && !result.rank_0_reports)
      fprintf (stderr, "drmad: rank %u: %s\n", ranks->rank, error->message);
    drmad_job_result_clear (&result);
    return status;
  }
  char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];
  int status = 0;
  if (outcome == DRMAD_JOB_CANCELLED && stop_signal) {
    fprintf (stderr, "drmad: %s\n", error->message);
    g_autofree char *launcher = ranks ? g_strdup_printf ("%s -n %u ", ranks->launcher ? ranks->launcher : "mpirun",
                                                         ranks->size)
                                      : g_strdup ("");
    if (result.folder && result.earlier_run_kept)   /* --resume would continue the earlier run, not this one */
      fprintf (stderr, "drmad: stopped by %s before this run's first meta-iteration was recorded: %s still holds the "
               "earlier run as it was; to start this one again, give the same command (with --force)\n",
               stop_signal_name (), result.folder);
    else if (result.folder)
      fprintf (stderr, "drmad: stopped by %s; continue with: %sdrmad --no-gui --resume %s\n", stop_signal_name (),
               launcher, result.folder);
    status = 128 + stop_signal;
  } else if (outcome != DRMAD_JOB_DONE) {
    if (result.final_unrecorded) {   /* measured, not written: shown, not lost */
      print_final (o, &result, &t);
      fflush (stdout);
    }
    fprintf (stderr, "drmad: %s\n", error->message);
    status = outcome == DRMAD_JOB_BAD_INPUT ? EXIT_BAD_INPUT : EXIT_FAILED;
  } else if (result.trained_once) {
    printf ("trained once: val_loss %s  val_error %s", fmt (a, result.val_loss, o->precision),
            fmt (b, result.val_error, o->precision));
    printf ("  test_loss %s  test_error %s\n", fmt (a, result.learned_test_loss, o->precision),
            fmt (b, result.learned_test_error, o->precision));
  } else
    print_final (o, &result, &t);
  drmad_job_result_clear (&result);
  /* Results on a full disk or a closed pipe are lost: say so in the exit status. */
  if (fflush (stdout) != 0 || ferror (stdout)) {
    fprintf (stderr, "drmad: cannot write the results to standard output: %s\n", g_strerror (errno));
    status = status ? status : EXIT_FAILED;
  }
  return status;
}

#ifdef DRMAD_HAVE_MPI
/* Several ranks on one machine take different devices of the default kind
 * (GPUs, else CPUs) by their local rank, unless --device or $DRMAD_DEVICE
 * chose one. */
static void
choose_rank_device (DrmadOptions *o)
{
  const char *from_environment = g_getenv ("DRMAD_DEVICE");
  if ((o->device && *o->device) || (from_environment && *from_environment))
    return;
  guint local_rank, local_size;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) list = NULL;
  if (!drmad_mpi_local_rank (&local_rank, &local_size, &error) || local_size < 2
      || !(list = drmad_device_list (&error)) || list->len == 0)
    return;   /* one rank here, or no device: the job reports it */
  guint index = drmad_device_default_index (list, local_rank);
  const DrmadDeviceInfo *info = list->pdata[index];
  g_free (o->device);
  o->device = g_strdup_printf ("%u", index);
  fprintf (stderr, "drmad: local rank %u of %u on this machine: device %u (%s: %s)\n", local_rank, local_size, index,
           info->platform_name, info->name);
}
#endif

/* ---- --check ---- */

/* The small configuration --check uses unless the model is given. */
static gboolean
check_defaults (DrmadOptions *o)
{
  static const struct { const char *key; } model_keys[] = {
    { "layers" }, { "iters" }, { "batch" }, { "train-size" }, { "val-size" }, { "activation" }, { "learn" }, { "segments" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (model_keys); i++)
    if (drmad_options_given (o, model_keys[i].key))
      return TRUE;
  /* A starting value per layer was read for --layers (the default's), not
   * for the small problem's two weight layers: its first two would be used
   * and the rest dropped without a word. */
  for (const char *const *key = drmad_options_start_keys (); *key; key++) {
    const char *value = g_hash_table_lookup (o->values, *key);
    if (drmad_options_given (o, *key) && value && strchr (value, ',')) {
      fprintf (stderr, "drmad: --check --%s %s: with no --layers (nor --iters, --batch, …) --check runs its own small "
               "problem, 784,16,10 (2 weight layers), and a value per layer of %s does not fit it: give one value, "
               "or give --layers too\n", *key, value, (char *) g_hash_table_lookup (o->values, "layers"));
      return FALSE;
    }
  }
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
  o->hyper.learn_lr = o->hyper.learn_momentum = o->hyper.learn_init_scale = TRUE;
  /* Settings of θ that do not change the problem's size are the user's
   * where given (--check --l2-granularity neuron checks per-unit L2). */
  if (!drmad_options_given (o, "l2-granularity"))
    o->hyper.l2 = DRMAD_L2_PER_LAYER;
  if (!drmad_options_given (o, "init-l2"))
    o->hyper.init_l2[0] = o->hyper.init_l2[1] = 1e-3;
  if (!drmad_options_given (o, "init-lr"))
    o->hyper.init_lr[0] = o->hyper.init_lr[1] = 0.1;
  return TRUE;
}

/* The cosine and relative-error columns of --check for @approx against
 * @exact over a group, or "diverged" where its pass was stopped (NULL). */
static char *
fidelity_columns (const DrmadHypergradient *approx, const DrmadHypergradient *exact, gsize first, gsize count)
{
  if (!approx)
    return g_strdup_printf ("%-22s", "diverged");
  DrmadFidelity f = drmad_fidelity_compute (approx->gradient, exact->gradient, first, count);
  return g_strdup_printf ("%-11.4f%-11.3g", f.cosine, f.relative_error);
}

/* The --check table's verdict column is as wide as its longest text, "TOO
 * FAR (absolute, fd 0)": a %-19s column let that row push the fidelity
 * columns five characters right of their headings. */
#define CHECK_VERDICT_WIDTH ((int) sizeof "TOO FAR (absolute, fd 0)" - 1)

char *
drmad_check_table_heading (void)
{
  int wide = 11 + CHECK_VERDICT_WIDTH;   /* the number (%-10.3g), a space, the verdict */
  return g_strdup_printf ("%-9s %6s  %-*s  %-22s  %-22s\n%-9s %6s  %-*s  %-11s%-11s  %-11s%-11s\n", "group", "values",
                          wide, "exact vs finite diff.", "DrMAD vs exact", "piecewise vs exact", "", "", wide,
                          "relative error (bound)", "cosine", "rel. error", "cosine", "rel. error");
}

char *
drmad_check_table_row (const char *group, gsize count, double exact_vs_fd, gboolean ok, const char *basis,
                       const char *drmad_columns, const char *piecewise_columns)
{
  g_autofree char *verdict = g_strdup_printf ("%s (%s)", ok ? "ok" : "TOO FAR", basis);
  return g_strdup_printf ("%-9s %6" G_GSIZE_FORMAT "  %-10.3g %-*s  %s  %s\n", group, count, exact_vs_fd,
                          CHECK_VERDICT_WIDTH, verdict, drmad_columns, piecewise_columns);
}

static int
run_check (DrmadOptions *o)
{
  g_autoptr (GError) error = NULL;
  if (!check_defaults (o))
    return EXIT_BAD_INPUT;
  DrmadSession s = { 0 };
  /* Finite differences need float64 where the device has it. */
  DrmadPrecision precision = DRMAD_PRECISION_FLOAT64;
  {
    g_autoptr (DrmadDevice) probe = drmad_device_open (o->device, NULL);
    if (probe && !drmad_device_get_info (probe)->fp64)
      precision = DRMAD_PRECISION_FLOAT32;
  }
  if (!drmad_session_open (&s, o, precision, &error)) {
    fprintf (stderr, "drmad: %s\n", error->message);
    drmad_session_clear (&s);
    return EXIT_BAD_INPUT;
  }
  g_autofree char *description = drmad_session_describe (&s, precision);
  fprintf (stderr, "%s\n", description);
  if (drmad_options_given (o, "precision") && o->precision != precision)
    fprintf (stderr, "drmad: --check runs in %s (finite differences need it), not %s\n",
             precision == DRMAD_PRECISION_FLOAT64 ? "float64" : "float32",
             o->precision == DRMAD_PRECISION_FLOAT64 ? "float64" : "float32");
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (s.net, &o->hyper, &error);
  if (!hyper || drmad_hyper_get_n (hyper) == 0) {
    fprintf (stderr, "drmad: %s\n", hyper ? "no hyperparameter group is learned (see --learn)" : error->message);
    drmad_session_clear (&s);
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
  if (!exact) {
    fprintf (stderr, "drmad: the exact hypergradient: %s\n", error->message);
    /* Exact reverses the training's own trajectory (docs/algorithm.md §2a):
     * a pass that grows without bound there is the training's instability,
     * which only other settings take away. */
    if (g_error_matches (error, DRMAD_ERROR, DRMAD_ERROR_UNSTABLE) || g_error_matches (error, DRMAD_ERROR, DRMAD_ERROR_DIVERGED))
      fprintf (stderr, "drmad: the training is unstable at these values, so there is no hypergradient to check: "
               "give a smaller --init-lr (or --init-momentum)\n");
    drmad_session_clear (&s);
    return EXIT_FAILED;
  }
  /* A shortcut whose reverse pass the watch stops (docs/algorithm.md §2f)
   * is a finding of the check, shown in its columns; the exact pass decides. */
  g_autoptr (GError) drmad_error = NULL, piece_error = NULL;
  g_autoptr (DrmadHypergradient) drmad = drmad_hypergradient_compute (s.net, hyper, s.train, s.val, &drmad_cfg, NULL, NULL,
                                                                       &drmad_error);
  g_autoptr (DrmadHypergradient) piece = drmad_hypergradient_compute (s.net, hyper, s.train, s.val, &piece_cfg, NULL, NULL,
                                                                       &piece_error);
  GError *failed = !drmad && !g_error_matches (drmad_error, DRMAD_ERROR, DRMAD_ERROR_UNSTABLE) ? drmad_error
                   : !piece && !g_error_matches (piece_error, DRMAD_ERROR, DRMAD_ERROR_UNSTABLE) ? piece_error : NULL;
  if (failed) {
    fprintf (stderr, "drmad: %s\n", failed->message);
    drmad_session_clear (&s);
    return EXIT_FAILED;
  }
  /* Central differences of f(θ) through the whole training, at most 64
   * components, spread evenly over each group: every group gets a share, so
   * that a large one (L2 per unit or per weight) cannot take them all and
   * leave a group unchecked. */
  double eps = precision == DRMAD_PRECISION_FLOAT64 ? (o->activation == DRMAD_ACTIVATION_TANH ? 1e-5 : 1e-7) : 1e-2;
  double tolerance = precision == DRMAD_PRECISION_FLOAT64 ? 1e-4 : 5e-2;
  g_autofree double *theta = g_memdup2 (drmad_hyper_get_values (hyper), n * sizeof (double));
  g_autofree double *fd = g_new (double, n), *noise = g_new0 (double, n);
  g_autofree gboolean *checked = g_new0 (gboolean, n);
  guint n_groups = drmad_hyper_get_n_groups (hyper), n_large = n_groups;
  gsize budget = 64, share = 0, n_checked = 0;
  /* A group no larger than its share is checked whole; what it leaves goes
   * to the larger ones. */
  for (gboolean settled = FALSE; !settled && n_large > 0;) {
    share = MAX (1, budget / n_large);
    settled = TRUE;
    for (guint g = 0; g < n_groups; g++) {
      gsize first, count;
      drmad_hyper_get_group_span (hyper, g, &first, &count);
      if (count > 0 && count <= share && !checked[first]) {
        for (gsize i = first; i < first + count; i++)
          checked[i] = TRUE;
        budget -= MIN (budget, count);
        n_large--;
        settled = FALSE;
      }
    }
  }
  for (guint g = 0; g < n_groups; g++) {
    gsize first, count;
    drmad_hyper_get_group_span (hyper, g, &first, &count);
    if (count == 0 || checked[first])
      continue;
    gsize stride = MAX (1, (count + share - 1) / share);
    for (gsize i = first; i < first + count; i += stride)
      checked[i] = TRUE;
  }
  for (gsize i = 0; i < n; i++)
    n_checked += checked[i] != FALSE;
  double unit = precision == DRMAD_PRECISION_FLOAT64 ? DBL_EPSILON : FLT_EPSILON;
  for (gsize i = 0; i < n; i++) {
    if (!checked[i])
      continue;
    /* Two steps, h and 2h: their difference estimates the difference
     * quotient's own error (truncation grows as h², a kink of ReLU shows as
     * a jump); rounding adds about unit·|f|/h. That is the floor below
     * which exact and the finite difference cannot be told apart. */
    double f[4];
    for (int k = 0; k < 4; k++) {
      double h = (k < 2 ? 1 : 2) * eps;
      theta[i] = drmad_hyper_get_values (hyper)[i] + (k % 2 ? -h : h);
      g_autoptr (DrmadHyper) moved = drmad_hyper_new (s.net, &o->hyper, NULL);
      if (!drmad_hyper_set_values (moved, theta, &error)
          || !drmad_hyper_train (s.net, moved, s.train, o->seed, NULL, NULL, NULL, &error)
          || !drmad_net_full_gradient (s.net, s.val, &f[k], NULL, &error)) {
        fprintf (stderr, "drmad: %s\n", error->message);
        drmad_session_clear (&s);
        return EXIT_FAILED;
      }
    }
    theta[i] = drmad_hyper_get_values (hyper)[i];
    fd[i] = (f[0] - f[1]) / (2 * eps);
    double fd_wide = (f[2] - f[3]) / (4 * eps);
    noise[i] = fabs (fd[i] - fd_wide) + 4 * unit * MAX (fabs (f[0]), 1) / eps;
  }
  g_autofree char *heading = drmad_check_table_heading ();
  printf ("\n%s", heading);
  gboolean noise_decided = FALSE;
  gboolean pass = TRUE;
  g_autoptr (GString) fd_zero_bounds = g_string_new (NULL);
  for (guint g = 0; g < drmad_hyper_get_n_groups (hyper); g++) {
    gsize first, count;
    drmad_hyper_get_group_span (hyper, g, &first, &count);
    double diff = 0, norm = 0, floor = 0;
    for (gsize i = first; i < first + count; i++)
      if (checked[i]) {
        diff += (exact->gradient[i] - fd[i]) * (exact->gradient[i] - fd[i]);
        norm += fd[i] * fd[i];
        floor += noise[i] * noise[i];
      }
    /* Within the relative tolerance, or within what the finite differences
     * themselves can resolve (whichever bound is larger decides). */
    double relative_bound = tolerance * sqrt (norm), noise_bound = 2 * sqrt (floor);
    gboolean by_noise = noise_bound > relative_bound;
    gboolean ok = sqrt (diff) <= MAX (relative_bound, noise_bound);
    /* Every finite difference of the group exactly 0 (θ moved f by less than
     * its rounding): an error relative to 0 means nothing (it printed "inf
     * ok"), so the column shows the absolute difference, which the finite
     * differences' own error alone bounds. */
    gboolean fd_zero = norm == 0;
    double exact_vs_fd = fd_zero ? sqrt (diff) : sqrt (diff / norm);
    if (fd_zero)
      g_string_append_printf (fd_zero_bounds, "%s%s %.3g", fd_zero_bounds->len ? ", " : "",
                              drmad_hyper_get_group_name (hyper, g), noise_bound);
    else
      noise_decided |= by_noise;
    pass = pass && ok;
    g_autofree char *d_text = fidelity_columns (drmad, exact, first, count);
    g_autofree char *k_text = fidelity_columns (piece, exact, first, count);
    g_autofree char *row = drmad_check_table_row (drmad_hyper_get_group_name (hyper, g), count, exact_vs_fd, ok,
                                                  fd_zero ? "absolute, fd 0" : by_noise ? "fd noise" : "relative",
                                                  d_text, k_text);
    printf ("%s", row);
  }
  if (drmad_error || piece_error)
    printf ("\n");
  if (drmad_error)
    printf ("DrMAD: %s\n", drmad_error->message);
  if (piece_error)
    printf ("piecewise: %s\n", piece_error->message);
  g_autofree char *fd_zero_note = fd_zero_bounds->len
    ? g_strdup_printf ("; where it says \"fd 0\" every finite difference of the group was exactly 0 (θ moved the "
                       "validation loss by less than its rounding): the number there is the absolute difference "
                       "|exact - fd| = |exact|, bounded by the finite differences' own error alone (%s)",
                       fd_zero_bounds->str)
    : g_strdup ("");
  printf ("\npiecewise uses K = %u pieces; finite differences: steps %g and %g on %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
          " values; bound: relative tolerance %g, or the finite differences' own error (their disagreement between the "
          "two steps plus rounding)%s%s\n", K, eps, 2 * eps, n_checked, n, tolerance,
          noise_decided ? ", which decided where it says \"fd noise\"" : "", fd_zero_note);
  printf ("%s\n", pass ? "check passed: the exact hypergradient agrees with finite differences"
                       : "check FAILED: the exact hypergradient is farther from finite differences than the tolerance");
  drmad_session_clear (&s);
  return pass ? 0 : EXIT_FAILED;
}

/* What went to standard output on a full disk or a closed pipe is lost: say
 * so in the exit status (@status when it is already a failure). */
static int
check_stdout (int status)
{
  if (fflush (stdout) != 0 || ferror (stdout)) {
    fprintf (stderr, "drmad: cannot write to standard output: %s\n", g_strerror (errno));
    return status ? status : EXIT_FAILED;
  }
  return status;
}

/* --help and its variants print from inside the option parser, which then
 * exits with status 0 whether or not the text was written. */
static gboolean parsing_options;

static void
check_help_written (void)
{
  if (parsing_options && check_stdout (0) != 0)
    _exit (EXIT_FAILED);
}

static char *headless_notice;

void
drmad_cli_set_headless_notice (const char *line)
{
  g_free (headless_notice);
  headless_notice = g_strdup (line);
}

gboolean
drmad_cli_launched (void)
{
#ifdef DRMAD_HAVE_MPI
  return drmad_mpi_launched ();
#else
  return FALSE;
#endif
}

/* The mode the options ask for, as drmad_cli_main() chooses it: each takes
 * the flags README's "Options" lists for it. NULL: the meta-optimisation
 * (a new run, or --resume). */
static const char *
mode_name (const DrmadOptions *o)
{
  return o->help ? "--help" : o->version ? "--version" : o->list_devices ? "--list-devices" : o->check ? "--check"
         : o->evaluate ? "--evaluate" : o->meta_iters == 0 ? "--meta-iters 0" : NULL;
}

/* Options that contradict each other, or that the mode asked for would
 * ignore (README, "Options", says which mode takes which): why they are
 * refused (to g_free), or NULL. Each of them did nothing without a word:
 * --check --out DIR made no folder, --force with a mode that keeps none or
 * with --resume overwrote nothing, --shard-data with a mode that trains
 * once, in one process, parted nothing. */
static char *
refusal (const DrmadOptions *o)
{
  g_autofree char *message = NULL;
  const char *mode = mode_name (o);
  /* what a mode that keeps no run folder does, after its name */
  const char *does = o->check ? "trains afresh from the starting values given, compares hypergradients there"
                     : o->evaluate ? "trains once per line of standard input, writes its results on standard output"
                     : "trains once with the starting values, reports on standard output";
  if (o->help || o->version || o->list_devices)
    return NULL;
  else if (o->check && o->evaluate)
    message = g_strdup ("--check and --evaluate cannot be combined: give one");
  else if (o->check && o->resume)
    /* --check measures the hypergradients of a fresh training at the
     * starting values given (README, "--check"); a resumed run's learned θ
     * is not a starting value, and its run.ini would be read as options
     * for a check that never uses its checkpoint. */
    message = g_strdup_printf ("--check and --resume %s cannot be combined: --check trains afresh from the starting "
                               "values given and compares hypergradients there, and neither continues a run nor reads "
                               "its checkpoint; to check that run's settings, give --check --config %s%srun.ini",
                               o->resume, o->resume, g_str_has_suffix (o->resume, G_DIR_SEPARATOR_S) ? ""
                               : G_DIR_SEPARATOR_S);
  else if (o->evaluate && o->resume)
    /* The same for θ lines: the run's settings are its run.ini. */
    message = g_strdup_printf ("--evaluate and --resume %s cannot be combined: --evaluate %s and keeps no run folder, "
                               "and neither continues a run nor reads its checkpoint; to evaluate θ with that run's "
                               "settings, give --evaluate --config %s%srun.ini", o->resume, does, o->resume,
                               g_str_has_suffix (o->resume, G_DIR_SEPARATOR_S) ? "" : G_DIR_SEPARATOR_S);
  else if (o->meta_iters == 0 && o->resume)
    /* Training once keeps no run folder: a resumed run's state would be
     * ignored, its starting values trained instead. */
    message = g_strdup_printf ("--meta-iters 0 and --resume %s cannot be combined: --meta-iters 0 %s and keeps no "
                               "run folder (to continue the run, give more meta-iterations than it has)", o->resume,
                               does);
  else if (mode && drmad_options_given (o, "out"))
    message = g_strdup_printf ("%s and --out %s cannot be combined: %s %s and keeps no run folder (leave out --out)",
                               mode, o->out, mode, does);
  else if (mode && o->force)
    message = g_strdup_printf ("%s and --force cannot be combined: %s %s and keeps no run folder, so there is none to "
                               "overwrite (leave out --force)", mode, mode, does);
  else if (mode && o->shard_data)
    message = g_strdup_printf ("%s and --shard-data cannot be combined: %s trains in one process, on the whole "
                               "training split (under mpirun or srun, in rank 0 alone), and --shard-data parts the "
                               "training split between the processes of a meta-optimisation (leave out --shard-data)",
                               mode, mode);
  else if (mode && o->warm_start && drmad_options_typed (o, "warm-start"))
    /* It would be ignored: the values given would be trained, not the
     * warm start's (from a settings file, such as a run's run.ini, it is). */
    message = g_strdup_printf ("%s and --warm-start %u cannot be combined: the warm start chooses where the "
                               "meta-iterations start, and %s %s (leave out --warm-start%s)", mode, o->warm_start, mode,
                               o->check ? "measures the hypergradients at the values given"
                               : o->evaluate ? "trains once with each θ given on standard input"
                               : "trains once with the values given, without meta-iterations",
                               o->check || o->evaluate ? "" : ", or give --meta-iters 1 or more");
  else if (o->resume && o->force)
    message = g_strdup_printf ("--resume %s and --force cannot be combined: a resumed run continues in its own folder "
                               "from its checkpoint and overwrites nothing (leave out --force; to start that run over "
                               "in its folder, give --config %s%srun.ini --out %s --force)", o->resume, o->resume,
                               g_str_has_suffix (o->resume, G_DIR_SEPARATOR_S) ? "" : G_DIR_SEPARATOR_S, o->resume);
  return g_steal_pointer (&message);
}

/* refusal(): TRUE where there is one, said on stderr where @say. */
static gboolean
refused (const DrmadOptions *o, gboolean say)
{
  g_autofree char *message = refusal (o);
  if (message && say)
    fprintf (stderr, "drmad: %s\n", message);
  return message != NULL;
}

/* One process (or rank 0 of several that agreed on a mode that is no
 * meta-optimisation): the mode the options ask for. */
static int
run_alone (DrmadOptions *o)
{
  if (o->help) {   /* help_deferred: as GOption prints it */
    fputs (o->help, stdout);
    return check_stdout (0);
  }
  if (o->version) {
    printf ("drmad %s\n", DRMAD_VERSION);
    return check_stdout (0);
  }
  if (o->list_devices)
    return check_stdout (list_devices ());
  if (refused (o, TRUE))
    return EXIT_BAD_INPUT;
  if (o->check)
    return check_stdout (run_check (o));
  if (o->evaluate)
    return drmad_evaluate_main (o, stdin, stdout, stderr);
  return run_job (o, NULL, NULL);
}

#ifdef DRMAD_HAVE_MPI
/* Under mpirun or srun: one of several processes (docs/distributed.md).
 * Every rank initialises MPI and the ranks compare the mode they were
 * started in, and the flags that decide whether it is refused, before
 * anything else: a rank given --meta-iters 0, --check or --evaluate (or
 * --version, --list-devices) that the others lacked ended alone, and Open
 * MPI aborted the job or the others waited for it for ever, without a word.
 * Where they agree on a mode that does not meta-optimise, it runs once, in
 * rank 0 (which has mpirun's standard input); the other processes load
 * nothing and wait for it in drmad_mpi_finalize(). Options that do not
 * parse (@parse_error, the line to print) and --help take part too: each
 * rank said the same line, and --help given to some ranks only left the
 * others waiting in MPI_Init for ever. */
static int
run_launched (DrmadOptions *o, const char *parse_error)
{
  g_autoptr (GError) error = NULL;
  DrmadJobRanks ranks;
  if (!drmad_mpi_init (&ranks, &error)) {
    /* No rank to compare with (the MPI glue or libmpi missing): --help and
     * a line about the options are each process's own, as plain drmad says
     * them, rather than lost behind this failure. */
    if (o->help)
      return run_alone (o);
    fprintf (stderr, "drmad: %s\n", parse_error ? parse_error : error->message);
    return parse_error ? EXIT_BAD_INPUT : EXIT_FAILED;
  }
  const char *mode = mode_name (o);
  if (ranks.size > 1) {
    /* With the mode, what refusal() refuses, so that ranks that agree
     * here agree on it: in a meta-optimisation one rank left alone in the
     * job's own exchange would wait there for ever, and in a mode that
     * runs once a refused rank other than 0 ended with status 2, saying
     * nothing, after rank 0 had run it (MPMD "A : B" with --force in B). */
    g_autofree char *refused_because = parse_error ? NULL : refusal (o);
    g_autofree char *text = parse_error ? g_strdup_printf ("options: %s\n", parse_error)
                            : g_strdup_printf ("mode: %s\n%s%s%s", mode ? mode : "meta-optimisation",
                                               refused_because ? "refused: " : "",
                                               refused_because ? refused_because : "", refused_because ? "\n" : "");
    g_auto (GStrv) all = ranks.gather (text, ranks.user_data, &error);
    if (!all) {   /* the others may wait in the exchange */
      fprintf (stderr, "drmad: rank %u: %s\n", ranks.rank, error->message);
      drmad_mpi_abort (EXIT_FAILED);
    }
    /* Every rank has every text: each ends alike, rank 0 saying why. */
    g_autofree char *difference = drmad_job_settings_differ ((const char *const *) all, ranks.size);
    if (difference) {
      if (ranks.rank == 0)
        fprintf (stderr, "drmad: %s\n", difference);
      drmad_mpi_finalize ();
      return EXIT_BAD_INPUT;
    }
    if (refused_because || parse_error) {   /* on every rank alike */
      if (ranks.rank == 0)
        fprintf (stderr, "drmad: %s\n", parse_error ? parse_error : refused_because);
      drmad_mpi_finalize ();
      return EXIT_BAD_INPUT;
    }
    if (mode && ranks.rank > 0) {
      drmad_mpi_finalize ();
      return 0;
    }
  }
  if (parse_error) {   /* one process */
    fprintf (stderr, "drmad: %s\n", parse_error);
    drmad_mpi_finalize ();
    return EXIT_BAD_INPUT;
  }
  if (mode || ranks.size == 1) {
    int status = run_alone (o);
    drmad_mpi_finalize ();
    return status;
  }
  choose_rank_device (o);
  gboolean rank_0_reports = FALSE;
  /* A failing rank ends all of them, since the others may be waiting for
   * its hypergradient. */
  int status = run_job (o, &ranks, &rank_0_reports);
  if (status != 0 && !rank_0_reports)
    drmad_mpi_abort (status);
  if (status != 0) {
    /* Every rank has the error (rank 0 has said it), so every rank ends
     * here with its status, as where the modes differ. Rank 0 used to end
     * them with MPI_Abort: Open MPI 4.1's mpirun then printed its abort
     * notice and now and then "ORTE_ERROR_LOG: Data unpack would read past
     * end of buffer" after rank 0's line, or crashed relaying it (status
     * 139 for 2; docs/distributed.md). A stop signal still ends a rank
     * waiting in MPI_Finalize. */
    release_stop_signals ();
  }
  drmad_mpi_finalize ();
  return status;
}
#endif

int
drmad_cli_main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  /* Messages in the user's language, numbers as 0.5 in every locale: what
   * the program prints is read back (--evaluate lines, logs, tables). */
  setlocale (LC_NUMERIC, "C");
  DrmadOptions options = { 0 };
  g_autoptr (GError) error = NULL;
  int status;
  /* One of several processes under mpirun or srun (a size not known counts
   * as several): a line each would say is said by rank 0 alone, once the
   * ranks have compared them (run_launched). */
  gboolean several = FALSE;
#ifdef DRMAD_HAVE_MPI
  several = drmad_mpi_launched () && drmad_mpi_launched_size () != 1;
  /* Their stderr is one terminal: the BLAS's warning of a core older than
   * the CPU allows, which each rank's OpenBLAS gives alike, is rank 0's. */
  if (several && drmad_mpi_launched_rank () > 0)
    drmad_blas_set_notice (FALSE);
#endif
  options.help_deferred = several;
  parsing_options = TRUE;
  atexit (check_help_written);
  gboolean parsed = drmad_options_parse (&options, &argc, &argv, &error);
  parsing_options = FALSE;
#ifdef DRMAD_HAVE_MPI
  if (parsed && headless_notice && (!several || drmad_mpi_launched_rank () == 0))
#else
  if (parsed && headless_notice)
#endif
    fprintf (stderr, "drmad: %s\n", headless_notice);
  g_clear_pointer (&headless_notice, g_free);
  g_autofree char *parse_error = parsed ? NULL
                                 : g_strdup_printf ("%s%s", error->message,
                                                    strstr (error->message, "drmad --help") ? "" : " (see drmad --help)");
  if (!parsed && !several) {
    fprintf (stderr, "drmad: %s\n", parse_error);
    status = EXIT_BAD_INPUT;
#ifdef DRMAD_HAVE_MPI
  } else if (!parsed) {
    status = run_launched (&options, parse_error);
  } else if (drmad_mpi_launched () && !(mode_name (&options) && drmad_mpi_launched_size () == 1)) {
    /* A mode that runs once, launched alone, has no rank to compare with:
     * it runs as plain drmad does, without MPI_Init. A script under
     * `mpirun -n 1` or `srun -n 1` that runs drmad more than once
     * (scripts/device-check.sh's run.sh: --list-devices, then a run)
     * can initialise MPI only once in its rank: Open MPI's orte_init
     * refuses the second. */
    status = run_launched (&options, NULL);
#endif
  } else
    status = run_alone (&options);
  drmad_options_clear (&options);
  return status;
}
