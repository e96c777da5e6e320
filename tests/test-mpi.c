/* The meta-optimiser's reduction hook (lib/drmad-meta.h) against
 * hypergradients computed separately, and, in a build with Open MPI,
 * `mpirun -n 2 drmad --no-gui` (app/drmad-mpi.c, docs/distributed.md): its first
 * step against the mean of two single-process hypergradients with seeds s
 * and s + 1, the θ check across ranks, and --resume with another number of
 * processes. One small job: 784-16-10, T = 20, 200 examples. */
#include "drmad-job.h"
#include "test-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#define SEED 3
#define META_LR 0.01

/* The job's settings as run.ini keys; SGD without momentum, so that
 * θ₁ = θ₀ − meta_lr · ḡ and the first step shows the averaged ḡ itself. */
static const char *const settings[][2] = {
  { "layers", "784,16,10" }, { "iters", "20" }, { "batch", "20" }, { "train-size", "200" }, { "val-size", "200" },
  { "test-size", "200" }, { "segments", "2" }, { "meta-optimizer", "sgd" }, { "meta-momentum", "0" },
  { "meta-lr", "0.01" }, { "fidelity-every", "0" }, { "seed", "3" },
};

typedef struct {
  DrmadOptions options;
  DrmadSession session;
} Fixture;

/* The session on part @part of @parts of the training split (--shard-data). */
static void
fixture_open_part (Fixture *f, guint part, guint parts)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) values = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < G_N_ELEMENTS (settings); i++)
    g_hash_table_insert (values, (gpointer) settings[i][0], (gpointer) settings[i][1]);
  memset (f, 0, sizeof *f);
  CHECK (drmad_options_from_values (&f->options, values, &error));
  g_assert_cmpfloat (f->options.meta.learning_rate, ==, META_LR);
  CHECK (drmad_session_open_part (&f->session, &f->options, f->options.precision, part, parts, &error));
}

static void
fixture_open (Fixture *f)
{
  fixture_open_part (f, 0, 1);
}

static void
fixture_close (Fixture *f)
{
  drmad_session_clear (&f->session);
  drmad_options_clear (&f->options);
}

/* One meta-iteration from the starting θ with @seed (initial weights and
 * minibatches), as the job runs it; its hypergradient (n values) and
 * scalars, and θ after the step in @theta_after when not NULL. */
typedef struct {
  double *gradient;
  DrmadMetaScalars scalars;
} Single;

static DrmadMeta *
new_meta (Fixture *f, DrmadHyper *hyper, guint64 seed)
{
  g_autoptr (GError) error = NULL;
  DrmadReverseConfig reverse = f->options.reverse;
  reverse.seed = seed;
  DrmadMeta *meta = drmad_meta_new (f->session.net, hyper, f->session.train, f->session.val, &reverse,
                                    &f->options.meta, &error);
  g_assert_no_error (error);
  return meta;
}

static Single
single_step (Fixture *f, guint64 seed)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (f->session.net, &f->options.hyper, &error);
  g_assert_no_error (error);
  g_autoptr (DrmadMeta) meta = new_meta (f, hyper, seed);
  g_autoptr (DrmadMetaReport) report = drmad_meta_step (meta, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (report->rejected);
  const DrmadHypergradient *last = drmad_meta_get_last_hypergradient (meta);
  gsize n = drmad_hyper_get_n (hyper);
  Single s = { g_memdup2 (last->gradient, n * sizeof (double)),
               { last->val_loss, last->val_error, last->train_loss } };
  for (gsize i = 0; i < n; i++)
    s.scalars.hypergradient_norm += s.gradient[i] * s.gradient[i];
  s.scalars.hypergradient_norm = sqrt (s.scalars.hypergradient_norm);
  return s;
}

/* θ₀ − meta_lr · (a + b) / 2, as SGD without momentum computes it. */
static double *
expected_theta (const double *theta0, const Single *a, const Single *b, gsize n)
{
  double *theta = g_new (double, n);
  for (gsize i = 0; i < n; i++) {
    double m = -((a->gradient[i] + b->gradient[i]) / 2);   /* momentum 0: m = 0 · m − ḡ */
    theta[i] = theta0[i] + META_LR * m;
  }
  return theta;
}

/* Component by component within rounding of the step: the step is
 * meta_lr · |g| and θ about 10, so a few ulps of θ. */
static void
assert_theta_close (const double *got, const double *want, gsize n)
{
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat_with_epsilon (got[i], want[i], 1e-13 * MAX (fabs (want[i]), 1));
}

/* …and at least one component apart from @other by more than rounding. */
static void
assert_theta_apart (const double *got, const double *other, gsize n)
{
  double apart = 0;
  for (gsize i = 0; i < n; i++)
    apart = MAX (apart, fabs (got[i] - other[i]));
  g_assert_cmpfloat (apart, >, 1e-9);
}

/* ---- the hook, in one process ---- */

typedef struct {
  const Single *other;
  gsize n;
  guint calls;
} Averaging;

/* The population standard deviation of two values. */
static double
spread_of_two (double a, double b)
{
  return fabs (a - b) / 2;
}

/* Averages with a hypergradient computed beforehand, as a second process
 * would send it, and gives the spreads of the two. */
static gboolean
average_with_other (double *gradient, gsize n, DrmadMetaScalars *s, gpointer user_data, GError **error)
{
  Averaging *a = user_data;
  g_assert_cmpuint (n, ==, a->n);
  /* What the library fills in for one process. */
  g_assert_cmpuint (s->ranks, ==, 1);
  g_assert_cmpfloat (s->val_loss_spread, ==, 0);
  g_assert_cmpfloat (s->hypergradient_norm_spread, ==, 0);
  double norm = 0;
  for (gsize i = 0; i < n; i++)
    norm += gradient[i] * gradient[i];
  g_assert_cmpfloat_with_epsilon (s->hypergradient_norm, sqrt (norm), 1e-14 * sqrt (norm));
  s->ranks = 2;
  s->val_loss_spread = spread_of_two (s->val_loss, a->other->scalars.val_loss);
  s->hypergradient_norm_spread = spread_of_two (s->hypergradient_norm, a->other->scalars.hypergradient_norm);
  a->calls++;
  for (gsize i = 0; i < n; i++)
    gradient[i] = (gradient[i] + a->other->gradient[i]) / 2;
  s->val_loss = (s->val_loss + a->other->scalars.val_loss) / 2;
  s->val_error = (s->val_error + a->other->scalars.val_error) / 2;
  s->train_loss = (s->train_loss + a->other->scalars.train_loss) / 2;
  return TRUE;
}

static void
test_hook_average (void)
{
  Fixture f;
  fixture_open (&f);
  g_autoptr (GError) error = NULL;
  Single a = single_step (&f, SEED), b = single_step (&f, SEED + 1);
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (f.session.net, &f.options.hyper, &error);
  gsize n = drmad_hyper_get_n (hyper);
  g_autofree double *theta0 = g_memdup2 (drmad_hyper_get_values (hyper), n * sizeof (double));
  g_autofree double *want = expected_theta (theta0, &a, &b, n);
  /* The two seeds give different hypergradients, so the mean is not either one. */
  double differ = 0;
  for (gsize i = 0; i < n; i++)
    differ = MAX (differ, fabs (a.gradient[i] - b.gradient[i]) / MAX (fabs (a.gradient[i]), 1e-30));
  g_assert_cmpfloat (differ, >, 1e-3);

  g_autoptr (DrmadMeta) meta = new_meta (&f, hyper, SEED);
  Averaging averaging = { &b, n, 0 };
  drmad_meta_set_reduce (meta, average_with_other, &averaging);
  g_autoptr (DrmadMetaReport) report = drmad_meta_step (meta, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (averaging.calls, ==, 1);
  g_assert_false (report->rejected);
  assert_theta_close (drmad_hyper_get_values (hyper), want, n);
  /* The report and the last hypergradient hold the reduced values. */
  g_assert_cmpfloat (report->val_loss, ==, (a.scalars.val_loss + b.scalars.val_loss) / 2);
  g_assert_cmpfloat (report->val_error, ==, (a.scalars.val_error + b.scalars.val_error) / 2);
  g_assert_cmpfloat (report->train_loss, ==, (a.scalars.train_loss + b.scalars.train_loss) / 2);
  g_assert_cmpuint (report->ranks, ==, 2);
  g_assert_cmpfloat (report->val_loss_spread, ==, spread_of_two (a.scalars.val_loss, b.scalars.val_loss));
  g_assert_cmpfloat (report->hypergradient_norm_spread, ==,
                     spread_of_two (a.scalars.hypergradient_norm, b.scalars.hypergradient_norm));
  g_assert_cmpfloat (report->val_loss_spread, >, 0);
  const DrmadHypergradient *last = drmad_meta_get_last_hypergradient (meta);
  double norm = 0;
  for (gsize i = 0; i < n; i++) {
    g_assert_cmpfloat (last->gradient[i], ==, (a.gradient[i] + b.gradient[i]) / 2);
    norm += last->gradient[i] * last->gradient[i];
  }
  double groups = 0;
  for (guint g = 0; g < report->n_groups; g++)
    groups += report->group_norms[g] * report->group_norms[g];
  g_assert_cmpfloat_with_epsilon (sqrt (groups), sqrt (norm), 1e-12 * sqrt (norm));
  g_free (a.gradient);
  g_free (b.gradient);
  fixture_close (&f);
}

static gboolean
fail_hook (double *gradient, gsize n, DrmadMetaScalars *s, gpointer user_data, GError **error)
{
  g_set_error_literal (error, DRMAD_ERROR, DRMAD_ERROR_FAILED, "the other process is gone");
  return FALSE;
}

static gboolean
silent_fail_hook (double *gradient, gsize n, DrmadMetaScalars *s, gpointer user_data, GError **error)
{
  return FALSE;   /* breaks the contract: no error set */
}

static gboolean
nan_hook (double *gradient, gsize n, DrmadMetaScalars *s, gpointer user_data, GError **error)
{
  gradient[n / 2] = NAN;   /* as when another process's pass diverged */
  return TRUE;
}

/* A failing hook ends the step with its error and changes nothing; a
 * non-finite reduction at the first meta-iteration is an error on every
 * process alike (DRMAD_ERROR_DIVERGED), θ untouched. */
static void
test_hook_failures (void)
{
  Fixture f;
  fixture_open (&f);
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (f.session.net, &f.options.hyper, &error);
  gsize n = drmad_hyper_get_n (hyper);
  g_autofree double *theta0 = g_memdup2 (drmad_hyper_get_values (hyper), n * sizeof (double));
  g_autoptr (DrmadMeta) meta = new_meta (&f, hyper, SEED);
  drmad_meta_set_reduce (meta, fail_hook, NULL);
  g_assert_null (drmad_meta_step (meta, NULL, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==, "the other process is gone");
  g_clear_error (&error);
  g_assert_cmpuint (drmad_meta_get_iteration (meta), ==, 0);
  g_assert_cmpfloat (drmad_meta_get_learning_rate (meta), ==, META_LR);
  g_assert_cmpmem (drmad_hyper_get_values (hyper), n * sizeof (double), theta0, n * sizeof (double));

  /* A hook that fails without an error still leaves the step with one. */
  drmad_meta_set_reduce (meta, silent_fail_hook, NULL);
  g_assert_null (drmad_meta_step (meta, NULL, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "drmad_meta_set_reduce"));
  g_clear_error (&error);
  g_assert_cmpuint (drmad_meta_get_iteration (meta), ==, 0);
  g_assert_cmpmem (drmad_hyper_get_values (hyper), n * sizeof (double), theta0, n * sizeof (double));

  drmad_meta_set_reduce (meta, nan_hook, NULL);
  g_assert_null (drmad_meta_step (meta, NULL, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_DIVERGED);
  g_clear_error (&error);
  g_assert_cmpmem (drmad_hyper_get_values (hyper), n * sizeof (double), theta0, n * sizeof (double));
  fixture_close (&f);
}

/* ---- the program ---- */

/* The text of the file @name in @folder. */
static char *
read_file_text (const char *folder, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (folder, name, NULL);
  char *text = NULL;
  CHECK (g_file_get_contents (path, &text, NULL, &error));
  return text;
}

/* --no-gui SETTINGS --out @folder (or --resume @folder when @extra starts
 * with "--resume") @extra…, NULL-terminated, onto @argv (which frees them). */
static void
add_job_arguments (GPtrArray *argv, const char *folder, const char *const *extra)
{
  gboolean resume = extra && extra[0] && g_str_equal (extra[0], "--resume");
  g_ptr_array_add (argv, g_strdup ("--no-gui"));
  for (guint i = 0; i < G_N_ELEMENTS (settings) && !resume; i++)
    g_ptr_array_add (argv, g_strdup_printf ("--%s=%s", settings[i][0], settings[i][1]));
  g_ptr_array_add (argv, g_strdup (resume ? "--resume" : "--out"));
  g_ptr_array_add (argv, g_strdup (folder));
  for (const char *const *a = resume ? extra + 1 : extra; a && *a; a++)
    g_ptr_array_add (argv, g_strdup (*a));
  g_ptr_array_add (argv, NULL);
}

/* Alone, --shard-data changes nothing (its one part is the whole split) and says so. */
static void
test_shard_data_alone (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *tmp = test_tmp_dir ("drmad-mpi", &error);
  g_assert_no_error (error);
  char *hyper_csv[2];
  for (guint sharded = 0; sharded < 2; sharded++) {
    g_autofree char *folder = g_build_filename (tmp, sharded ? "sharded" : "plain", NULL);
    g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
    const char *const extra[] = { "--meta-iters=1", sharded ? "--shard-data" : NULL, NULL };
    add_job_arguments (argv, folder, extra);
    g_autofree char *err = NULL;
    g_assert_cmpint (run_drmad ((const char *const *) argv->pdata, NULL, NULL, NULL, NULL, &err), ==, 0);
    g_assert_cmpint (strstr (err, "--shard-data with one process: its one part is the whole training split") != NULL,
                     ==, sharded);
    hyper_csv[sharded] = read_file_text (folder, "hyper.csv");
    guint ranks = 0;
    gboolean shard = TRUE;
    CHECK (drmad_job_folder_ranks (folder, &ranks, &shard, &error));
    g_assert_cmpuint (ranks, ==, 1);
    g_assert_false (shard);
  }
  g_assert_cmpstr (hyper_csv[1], ==, hyper_csv[0]);
  g_free (hyper_csv[0]);
  g_free (hyper_csv[1]);
  remove_tree (tmp);
}

/* ---- mpirun -n 2 ---- */

/* Runs the launcher command @argv (NULL-terminated); its stdout in *@out
 * (@out may be NULL: dropped) and stderr in *@err, its exit status (128 +
 * the signal when one ended it). */
static int
spawn_mpirun (GPtrArray *argv, char **out, char **err)
{
  g_auto (GStrv) env = g_get_environ ();
  /* Open MPI refuses root without these (CI runs as root). */
  env = g_environ_setenv (env, "OMPI_ALLOW_RUN_AS_ROOT", "1", TRUE);
  env = g_environ_setenv (env, "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", TRUE);
  g_autoptr (GError) error = NULL;
  int wait_status;
  g_autofree char *dropped = NULL;
  CHECK (g_spawn_sync (NULL, (char **) argv->pdata, env, G_SPAWN_STDIN_FROM_DEV_NULL, NULL, NULL,
                       out ? out : &dropped, err, &wait_status, &error));
  return WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : 128 + WTERMSIG (wait_status);
}

/* The start of an Open MPI "A : B" command line of two processes, under
 * timeout(1) where it is installed, so that ranks left waiting for each
 * other end. */
static void
add_mpmd_launcher (GPtrArray *argv)
{
  g_autofree char *timeout = g_find_program_in_path ("timeout");
  if (timeout) {
    const char *const guard[] = { timeout, "--kill-after=10", "300", NULL };
    for (guint i = 0; guard[i]; i++)
      g_ptr_array_add (argv, g_strdup (guard[i]));
  }
  g_ptr_array_add (argv, g_strdup (g_getenv ("DRMAD_MPIRUN")));
  g_ptr_array_add (argv, g_strdup ("--oversubscribe"));
}

/* Rank @rank's part of that command line, up to the program: its options follow. */
static void
add_mpmd_rank (GPtrArray *argv, guint rank)
{
  if (rank)
    g_ptr_array_add (argv, g_strdup (":"));
  g_ptr_array_add (argv, g_strdup ("-n"));
  g_ptr_array_add (argv, g_strdup ("1"));
  g_ptr_array_add (argv, g_strdup (g_getenv ("DRMAD_BIN")));
}

/* mpirun --oversubscribe -n @n $DRMAD_BIN --no-gui SETTINGS --out @folder @extra…; the exit status. */
static int
run_mpi (guint n, const char *folder, const char *const *extra, const char *env_key, const char *env_value,
         char **err)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (argv, g_strdup (g_getenv ("DRMAD_MPIRUN")));
  g_ptr_array_add (argv, g_strdup ("--oversubscribe"));
  g_ptr_array_add (argv, g_strdup ("-n"));
  g_ptr_array_add (argv, g_strdup_printf ("%u", n));
  if (env_key) {   /* mpirun passes it on to every rank */
    g_ptr_array_add (argv, g_strdup ("-x"));
    g_ptr_array_add (argv, g_strdup_printf ("%s=%s", env_key, env_value));
  }
  g_ptr_array_add (argv, g_strdup (g_getenv ("DRMAD_BIN")));
  add_job_arguments (argv, folder, extra);
  return spawn_mpirun (argv, NULL, err);
}

/* How many times @needle is in @haystack. */
static guint
occurrences (const char *haystack, const char *needle)
{
  guint n = 0;
  for (const char *at = strstr (haystack, needle); at; at = strstr (at + strlen (needle), needle))
    n++;
  return n;
}

/* An error that every rank finds alike, from what all of them sent: every
 * rank ends with @expected, rank 0 alone saying @line, once, and none by
 * MPI_Abort, whose notice (or mpirun's error relaying it, or its crash,
 * status 139) followed rank 0's line (docs/distributed.md). */
static void
assert_ended_alike (int status, int expected, const char *err, const char *line)
{
  g_assert_cmpint (status, ==, expected);
  g_assert_cmpuint (occurrences (err, line), ==, 1);
  g_assert_null (strstr (err, "drmad: rank 1:"));
  g_assert_null (strstr (err, "MPI_ABORT"));
  g_assert_null (strstr (err, "ORTE_ERROR_LOG"));
}

/* run_mpi() that must succeed; the ranks' stderr in *@err. */
static void
run_mpi_ok (guint n, const char *folder, const char *const *extra, char **err)
{
  int status = run_mpi (n, folder, extra, NULL, NULL, err);
  if (status != 0)
    g_error ("mpirun -n %u exited with %d:\n%s", n, status, *err);
}

/* A new temporary folder for a test (remove_tree() it), and in @folder its "run" inside. */
static char *
new_tmp (char **folder)
{
  g_autoptr (GError) error = NULL;
  char *tmp = test_tmp_dir ("drmad-mpi", &error);
  g_assert_no_error (error);
  *folder = g_build_filename (tmp, "run", NULL);
  return tmp;
}

/* The cell of @column in the row of meta-iteration @iteration of history.csv. */
static char *
history_cell (const char *folder, guint iteration, const char *column)
{
  g_autofree char *text = read_file_text (folder, "history.csv");
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_auto (GStrv) header = g_strsplit (lines[0], ",", -1);
  guint c = 0;
  while (header[c] && !g_str_equal (header[c], column))
    c++;
  g_assert_nonnull (header[c]);
  for (char **line = lines + 1; *line && **line; line++) {
    g_auto (GStrv) cells = g_strsplit (*line, ",", -1);
    if (g_ascii_strtoull (cells[0], NULL, 10) == iteration && g_ascii_isdigit (cells[0][0]))
      return g_strdup (cells[c]);
  }
  g_error ("no row for meta-iteration %u in %s/history.csv", iteration, folder);
}

/* The rows of meta-iterations in @folder's history.csv. */
static guint
history_rows (const char *folder)
{
  g_autofree char *text = read_file_text (folder, "history.csv");
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  guint rows = 0;
  for (char **line = lines + 1; *line; line++)
    rows += g_ascii_isdigit (**line);
  return rows;
}

/* θ after meta-iteration @iteration from hyper.csv (iteration,name,raw,value), in θ's order. */
static double *
read_theta (const char *folder, guint iteration, DrmadHyper *hyper)
{
  g_autofree char *text = read_file_text (folder, "hyper.csv");
  gsize n = drmad_hyper_get_n (hyper), k = 0;
  double *theta = g_new (double, n);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (char **line = lines + 1; *line && **line; line++) {
    g_auto (GStrv) cells = g_strsplit (*line, ",", -1);
    g_assert_cmpuint (g_strv_length (cells), ==, 4);
    if (g_ascii_strtoull (cells[0], NULL, 10) != iteration)
      continue;
    g_assert_cmpuint (k, <, n);
    g_assert_cmpstr (cells[1], ==, drmad_hyper_get_name (hyper, k));
    theta[k++] = g_ascii_strtod (cells[2], NULL);
  }
  g_assert_cmpuint (k, ==, n);
  return theta;
}

#define SKIP_WITHOUT_MPI() G_STMT_START {                                                   \
    if (!g_getenv ("DRMAD_MPIRUN") || !*g_getenv ("DRMAD_MPIRUN")) {                        \
      g_test_skip ("built without Open MPI (meson option mpi; libopenmpi-dev, openmpi-bin)"); \
      return;                                                                              \
    }                                                                                      \
  } G_STMT_END

/* mpirun -n 2: θ after the first step is θ₀ − meta_lr · (g_s + g_{s+1}) / 2
 * with g computed here in one process; three meta-iterations pass the θ
 * check on both ranks; run.ini records 2; plain drmad may not resume it. */
static void
test_two_ranks (void)
{
  SKIP_WITHOUT_MPI ();
  g_autoptr (GError) error = NULL;
  g_autofree char *folder = NULL, *tmp = new_tmp (&folder), *err = NULL;
  const char *const three[] = { "--meta-iters=3", NULL };
  run_mpi_ok (2, folder, three, &err);
  /* Without --device, each local rank takes the device drmad_device_default_index() gives it. */
  if (!g_getenv ("DRMAD_DEVICE") || !*g_getenv ("DRMAD_DEVICE")) {
    g_autoptr (GPtrArray) devices = drmad_device_list (&error);
    g_assert_no_error (error);
    for (guint r = 0; r < 2; r++) {
      g_autofree char *line = g_strdup_printf ("local rank %u of 2 on this machine: device %u ", r,
                                               drmad_device_default_index (devices, r));
      if (!strstr (err, line))
        g_error ("\"%s\" missing from the ranks' messages:\n%s", line, err);
    }
  }

  Fixture f;
  fixture_open (&f);
  Single a = single_step (&f, SEED), b = single_step (&f, SEED + 1);
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (f.session.net, &f.options.hyper, &error);
  gsize n = drmad_hyper_get_n (hyper);
  g_autofree double *want = expected_theta (drmad_hyper_get_values (hyper), &a, &b, n);
  g_autofree double *got = read_theta (folder, 1, hyper);
  g_autofree double *alone = expected_theta (drmad_hyper_get_values (hyper), &a, &a, n);
  assert_theta_close (got, want, n);
  assert_theta_apart (got, alone, n);   /* not the step of rank 0's own hypergradient */

  guint ranks = 0;
  CHECK (drmad_job_folder_ranks (folder, &ranks, NULL, &error));
  g_assert_cmpuint (ranks, ==, 2);
  /* history.csv: 2 ranks, and the first row's spreads are those of the two hypergradients computed here. */
  g_autofree char *ranks_cell = history_cell (folder, 1, "ranks");
  g_autofree char *val_spread = history_cell (folder, 1, "val_loss_spread");
  g_autofree char *norm_spread = history_cell (folder, 1, "hypergradient_norm_spread");
  g_assert_cmpstr (ranks_cell, ==, "2");
  double want_val = spread_of_two (a.scalars.val_loss, b.scalars.val_loss);
  double want_norm = spread_of_two (a.scalars.hypergradient_norm, b.scalars.hypergradient_norm);
  g_test_message ("spreads across the two ranks: val_loss %.6g, hypergradient norm %.6g", want_val, want_norm);
  /* The glue takes them from sums of squares: a few ulps of the squares, far below the spreads here. */
  g_assert_cmpfloat_with_epsilon (g_ascii_strtod (val_spread, NULL), want_val,
                                  1e-10 * want_val);
  g_assert_cmpfloat_with_epsilon (g_ascii_strtod (norm_spread, NULL), want_norm,
                                  1e-10 * want_norm);
  g_assert_cmpfloat (want_val, >, 1e-9);

  /* A different number of processes may not resume it. */
  const char *const resume[] = { "--no-gui", "--resume", folder, "--meta-iters", "4", NULL };
  g_autofree char *resume_err = NULL;
  g_assert_cmpint (run_drmad (resume, NULL, NULL, NULL, NULL, &resume_err), ==, 2);
  g_assert_nonnull (strstr (resume_err, "it was run by 2 processes"));
  /* …nor the same number with the other choice of --shard-data. */
  const char *const resume_sharded[] = { "--resume", "--meta-iters=4", "--shard-data", NULL };
  g_free (g_steal_pointer (&resume_err));
  g_assert_cmpint (run_mpi (2, folder, resume_sharded, NULL, NULL, &resume_err), !=, 0);
  g_assert_nonnull (strstr (resume_err, "it was run without --shard-data (its run.ini, [mpi] shard-data=false) and "
                                        "this run is with it: resume it without --shard-data"));
  g_free (a.gradient);
  g_free (b.gradient);
  fixture_close (&f);
  remove_tree (tmp);
}

/* mpirun -n 2 --shard-data: rank r trains on part r of the training split
 * with seed s + r, so θ after the first step is θ₀ − meta_lr times the mean
 * of the two hypergradients computed here on the two halves (the validation
 * split whole in both), not that of the whole split; run.ini records the
 * sharding and a resume without --shard-data is refused. */
static void
test_shard_data (void)
{
  SKIP_WITHOUT_MPI ();
  g_autoptr (GError) error = NULL;
  g_autofree char *folder = NULL, *tmp = new_tmp (&folder), *err = NULL;
  const char *const one[] = { "--meta-iters=1", "--shard-data", NULL };
  run_mpi_ok (2, folder, one, &err);
  g_assert_nonnull (strstr (err, "data: 100 train (this process's part of 200, --shard-data over 2 processes), "
                                 "200 validation"));

  Fixture halves[2], whole;
  fixture_open_part (&halves[0], 0, 2);
  fixture_open_part (&halves[1], 1, 2);
  fixture_open (&whole);
  g_assert_cmpuint (halves[0].session.n_train + halves[1].session.n_train, ==, whole.session.n_train);
  Single a = single_step (&halves[0], SEED), b = single_step (&halves[1], SEED + 1);
  Single c = single_step (&whole, SEED), d = single_step (&whole, SEED + 1);
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (whole.session.net, &whole.options.hyper, &error);
  gsize n = drmad_hyper_get_n (hyper);
  g_autofree double *want = expected_theta (drmad_hyper_get_values (hyper), &a, &b, n);
  g_autofree double *unsharded = expected_theta (drmad_hyper_get_values (hyper), &c, &d, n);
  g_autofree double *got = read_theta (folder, 1, hyper);
  assert_theta_close (got, want, n);
  assert_theta_apart (got, unsharded, n);

  guint ranks = 0;
  gboolean shard = FALSE;
  CHECK (drmad_job_folder_ranks (folder, &ranks, &shard, &error));
  g_assert_cmpuint (ranks, ==, 2);
  g_assert_true (shard);
  const char *const resume[] = { "--resume", "--meta-iters=2", NULL };
  g_autofree char *resume_err = NULL;
  int status = run_mpi (2, folder, resume, NULL, NULL, &resume_err);
  assert_ended_alike (status, 2, resume_err,
                      "it was run with --shard-data (its run.ini, [mpi] shard-data=true) and this run is without it: "
                      "resume it with --shard-data");
  Single *all[] = { &a, &b, &c, &d };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    g_free (all[i]->gradient);
  fixture_close (&halves[0]);
  fixture_close (&halves[1]);
  fixture_close (&whole);
  remove_tree (tmp);
}

/* Rank 1 dies by SIGKILL in the middle of meta-iteration 3 (a test hook):
 * the job stops with mpirun's message naming rank 1; the run folder holds
 * meta-iterations 1 and 2 and no record of 3; `mpirun -n 2 drmad --resume`
 * finishes it, and θ after every meta-iteration (hyper.csv, %.17g) is
 * bit-identical to an uninterrupted run's. */
static void
test_rank_killed (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
  SKIP_WITHOUT_MPI ();
  g_autofree char *whole = NULL, *tmp = new_tmp (&whole), *err = NULL;
  g_autofree char *killed = g_build_filename (tmp, "killed", NULL);
  const char *const five[] = { "--meta-iters=5", NULL };
  run_mpi_ok (2, whole, five, &err);
  g_free (g_steal_pointer (&err));

  int status = run_mpi (2, killed, five, "DRMAD_INJECT_KILL", "1:3", &err);
  g_test_message ("killed run: exit status %d, stderr:\n%s", status, err);
  g_assert_cmpint (status, !=, 0);
  if (!strstr (err, "rank 1") || !strstr (err, "signal 9"))
    g_error ("the message does not name rank 1 and its signal:\n%s", err);
  g_assert_cmpuint (history_rows (killed), ==, 2);
  g_autofree char *checkpoint = g_build_filename (killed, "checkpoint.bin", NULL);
  g_assert_true (g_file_test (checkpoint, G_FILE_TEST_IS_REGULAR));
  g_free (g_steal_pointer (&err));

  const char *const resume[] = { "--resume", NULL };
  run_mpi_ok (2, killed, resume, &err);
  g_assert_nonnull (strstr (err, "after meta-iteration 2"));
  g_assert_cmpuint (history_rows (killed), ==, 5);
  g_autofree char *want = read_file_text (whole, "hyper.csv"), *got = read_file_text (killed, "hyper.csv");
  g_assert_cmpstr (got, ==, want);
  remove_tree (tmp);
}

/* SIGTERM on one rank (a test hook raises it right after the rank's second
 * allreduce): on rank 0, the run stops after recording meta-iteration 2 and
 * says how to continue it, with mpirun and as many processes (in both of
 * its lines), which does;
 * on rank 1, that rank says it was stopped by the signal rather than only
 * that its training was cancelled. */
static void
test_rank_stopped (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
  SKIP_WITHOUT_MPI ();
  g_autofree char *folder = NULL, *tmp = new_tmp (&folder), *err = NULL;
  const char *const five[] = { "--meta-iters=5", NULL };
  int status = run_mpi (2, folder, five, "DRMAD_INJECT_KILL", "0:2:15", &err);
  g_test_message ("SIGTERM on rank 0: exit status %d, stderr:\n%s", status, err);
  g_assert_cmpint (status, !=, 0);
  g_autofree char *advice = g_strdup_printf ("drmad: stopped by SIGTERM; continue with: mpirun -n 2 drmad --no-gui "
                                             "--resume %s\n", folder);
  g_assert_nonnull (strstr (err, advice));
  /* and the line before it too: it said "continue with --resume DIR", which plain drmad refuses */
  g_autofree char *kept = g_strdup_printf ("everything up to meta-iteration 2 is in %s (continue with mpirun -n 2 "
                                           "drmad --no-gui --resume %s)", folder, folder);
  g_assert_nonnull (strstr (err, kept));
  g_assert_cmpuint (history_rows (folder), ==, 2);
  g_free (g_steal_pointer (&err));
  const char *const resume[] = { "--resume", NULL };
  run_mpi_ok (2, folder, resume, &err);
  g_assert_cmpuint (history_rows (folder), ==, 5);
  remove_tree (tmp);

  g_autofree char *again = NULL, *tmp_again = new_tmp (&again);
  g_free (g_steal_pointer (&err));
  status = run_mpi (2, again, five, "DRMAD_INJECT_KILL", "1:2:15", &err);
  g_test_message ("SIGTERM on rank 1: exit status %d, stderr:\n%s", status, err);
  g_assert_cmpint (status, !=, 0);
  g_assert_nonnull (strstr (err, "drmad: rank 1: stopped by SIGTERM (meta-iteration 3 stopped: "));
  remove_tree (tmp_again);
}

/* The stop of /mpi/rank-stopped (SIGTERM on rank 0 after meta-iteration 2)
 * under mpirun -n 2 through a shell that takes out mpirun's
 * OMPI_COMM_WORLD_* and sets Slurm's SLURM_STEP_ID and @variables
 * (shell assignments): both lines of advice name @launcher, the other
 * launcher none. */
static void
stop_under_step (const char *variables, const char *launcher)
{
  g_autofree char *folder = NULL, *tmp = new_tmp (&folder), *err = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *shell = g_strdup_printf ("unset OMPI_COMM_WORLD_SIZE OMPI_COMM_WORLD_RANK "
                                            "OMPI_COMM_WORLD_LOCAL_SIZE OMPI_COMM_WORLD_LOCAL_RANK "
                                            "OMPI_COMM_WORLD_NODE_RANK; "
                                            "SLURM_STEP_ID=0 SLURM_PROCID=$PMIX_RANK %s exec \"$0\" \"$@\"",
                                            variables);
  const char *const command[] = { g_getenv ("DRMAD_MPIRUN"), "--oversubscribe", "-n", "2", "-x",
                                  "DRMAD_INJECT_KILL=0:2:15", "/bin/sh", "-c", shell, g_getenv ("DRMAD_BIN"),
                                  NULL };
  for (guint i = 0; command[i]; i++)
    g_ptr_array_add (argv, g_strdup (command[i]));
  const char *const five[] = { "--meta-iters=5", NULL };
  add_job_arguments (argv, folder, five);
  int status = spawn_mpirun (argv, NULL, &err);
  g_test_message ("SIGTERM on rank 0 under a Slurm step with %s: exit status %d, stderr:\n%s", variables, status,
                  err);
  g_assert_cmpint (status, !=, 0);
  g_autofree char *advice = g_strdup_printf ("drmad: stopped by SIGTERM; continue with: %s -n 2 drmad --no-gui "
                                             "--resume %s\n", launcher, folder);
  g_assert_nonnull (strstr (err, advice));
  g_autofree char *kept = g_strdup_printf ("everything up to meta-iteration 2 is in %s (continue with %s -n 2 "
                                           "drmad --no-gui --resume %s)", folder, launcher, folder);
  g_assert_nonnull (strstr (err, kept));
  g_autofree char *other = g_strdup_printf ("%s -n 2 drmad", g_str_equal (launcher, "srun") ? "mpirun" : "srun");
  g_assert_null (strstr (err, other));
  g_assert_cmpuint (history_rows (folder), ==, 2);
  remove_tree (tmp);
}

/* Under Slurm's srun the advice for resuming a stopped run said "mpirun -n
 * 2 drmad --no-gui --resume DIR": srun starts the processes itself, and a
 * batch script has no mpirun to give. Here srun is played by mpirun with
 * its own variables taken away and srun's SLURM_STEP_ID and
 * SLURM_STEP_NUM_TASKS set, through a shell (MPI_Init still finds its PMIx
 * server); rank 0 stops as in /mpi/rank-stopped, and both of its lines
 * name srun. */
static void
test_srun_advice (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
  SKIP_WITHOUT_MPI ();
  stop_under_step ("SLURM_STEP_NUM_TASKS=2", "srun");
}

/* A launcher started inside a Slurm step passes the step's variables on:
 * MPICH's or Intel MPI's mpiexec (hydra, which sets MPI_LOCALRANKID, and
 * starts its proxies with srun within an allocation), or any launcher in
 * the shell of `srun --pty bash`, a step of one task. The advice named
 * srun, which those processes were not started by. */
static void
test_srun_advice_nested (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
  SKIP_WITHOUT_MPI ();
  stop_under_step ("SLURM_STEP_NUM_TASKS=2 MPI_LOCALRANKID=$PMIX_RANK MPI_LOCALNRANKS=2", "mpirun");
  stop_under_step ("SLURM_STEP_NUM_TASKS=1", "mpirun");
}

/* OpenBLAS's kernels older than the CPU allows (OPENBLAS_CORETYPE=Prescott,
 * SSE3, on a CPU with AVX or more): every rank's OpenBLAS is the same and
 * so was its warning, printed once per rank on the one terminal. Under
 * mpirun -n 2 the warning that plain `drmad --list-devices` prints is on
 * the job's stderr once. */
static void
test_blas_notice_once (void)
{
  SKIP_WITHOUT_MPI ();
  if (g_getenv ("DRMAD_DEVICE") && *g_getenv ("DRMAD_DEVICE")) {
    g_test_skip ("DRMAD_DEVICE is set: the device may not be a CPU one, whose GEMMs load OpenBLAS");
    return;
  }
  const char *const list[] = { "--list-devices", NULL };
  g_autofree char *listed = NULL;
  g_assert_cmpint (run_drmad (list, NULL, "OPENBLAS_CORETYPE", "Prescott", &listed, NULL), ==, 0);
  const char *warning = strstr (listed, "\nwarning: ");
  if (!warning) {
    g_test_skip ("OpenBLAS's Prescott kernels are not older than this CPU allows (or it has no such core)");
    return;
  }
  warning += strlen ("\nwarning: ");
  g_autofree char *line = g_strndup (warning, strcspn (warning, "\n"));
  g_autofree char *folder = NULL, *tmp = new_tmp (&folder), *err = NULL;
  const char *const one[] = { "--meta-iters=1", NULL };
  int status = run_mpi (2, folder, one, "OPENBLAS_CORETYPE", "Prescott", &err);
  g_test_message ("exit status %d, stderr:\n%s", status, err);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpuint (occurrences (err, line), ==, 1);
  remove_tree (tmp);
}

/* A rank whose θ drifts (a test hook) stops the job with a message naming it. */
static void
test_theta_mismatch (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
  SKIP_WITHOUT_MPI ();
  g_autofree char *folder = NULL, *tmp = new_tmp (&folder), *err = NULL;
  const char *const three[] = { "--meta-iters=3", NULL };
  int status = run_mpi (2, folder, three, "DRMAD_INJECT_THETA_MISMATCH", "1", &err);
  g_test_message ("θ differs: exit status %d, stderr:\n%s", status, err);
  assert_ended_alike (status, 1, err, "after meta-iteration 2 the hyperparameters of rank 1 differ from rank 0's");
  remove_tree (tmp);
}

/* drmad_job_settings_differ: NULL when every rank has rank 0's settings,
 * else the first line of the first rank that differs, and rank 0's. */
static void
test_settings_differ (void)
{
  const char *const same[] = { "seed=3\nlayers=784,16,10\n", "seed=3\nlayers=784,16,10\n",
                               "seed=3\nlayers=784,16,10\n" };
  g_assert_null (drmad_job_settings_differ (same, 3));
  g_assert_null (drmad_job_settings_differ (same, 1));
  const char *const seed[] = { "seed=3\nlayers=784,16,10\n", "seed=3\nlayers=784,16,10\n",
                               "seed=5\nlayers=784,16,16,10\n" };
  g_autofree char *text = drmad_job_settings_differ (seed, 3);
  g_assert_cmpstr (text, ==, "the processes were not started alike: rank 2 has \"seed=5\" where rank 0 has \"seed=3\"; "
                             "start every process with the same options and data (docs/distributed.md)");
  const char *const shorter[] = { "seed=3\nlayers=784,16,10\n", "seed=3\n" };
  g_autofree char *missing = drmad_job_settings_differ (shorter, 2);
  g_assert_nonnull (strstr (missing, "rank 1 has nothing where rank 0 has \"layers=784,16,10\""));
}

/* mpirun with one process of @first's extra options and one of @second's
 * (Open MPI's "A : B" form), under timeout(1) where it is installed, so that
 * ranks left waiting for each other end; the exit status. */
static int
run_mpmd (const char *folder, const char *const *first, const char *const *second, char **err)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  add_mpmd_launcher (argv);
  for (guint rank = 0; rank < 2; rank++) {
    add_mpmd_rank (argv, rank);
    add_job_arguments (argv, folder, rank ? second : first);
    g_ptr_array_remove_index (argv, argv->len - 1);   /* add_job_arguments' NULL */
  }
  g_ptr_array_add (argv, NULL);
  return spawn_mpirun (argv, NULL, err);
}

/* Ranks started with other settings are refused before the first
 * meta-iteration, every rank alike, with the setting named, and no run
 * folder is made: another --seed (which would average hypergradients of
 * two different splits), another --meta-iters (which left rank 1 waiting
 * for ever in its fourth allreduce once rank 0 had finished). */
static void
test_ranks_differ (void)
{
  SKIP_WITHOUT_MPI ();
  g_autofree char *folder = NULL, *tmp = new_tmp (&folder);
  static const struct { const char *first, *second, *message; } cases[] = {
    { "--seed=3", "--seed=4", "rank 1 has \"seed=4\" where rank 0 has \"seed=3\"" },
    { "--meta-iters=3", "--meta-iters=5", "rank 1 has \"meta-iters=5\" where rank 0 has \"meta-iters=3\"" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    const char *const first[] = { "--meta-iters=3", cases[i].first, NULL };
    const char *const second[] = { "--meta-iters=3", cases[i].second, NULL };
    g_autofree char *err = NULL;
    int status = run_mpmd (folder, first, second, &err);
    g_test_message ("%s against %s: exit status %d, stderr:\n%s", cases[i].first, cases[i].second, status, err);
    g_autofree char *rank0 = g_strdup_printf ("drmad: the processes were not started alike: %s", cases[i].message);
    assert_ended_alike (status, 2, err, rank0);
    g_assert_false (g_file_test (folder, G_FILE_TEST_EXISTS));
  }
  remove_tree (tmp);
}

/* Ranks started in different modes (Open MPI's "A : B" form): each
 * decided alone, before MPI_Init, whether to meta-optimise, so rank 0 with
 * --meta-iters 0 trained once and Open MPI then aborted the job, status 1
 * ("did not call init"), and rank 0 without it waited in MPI_Init for ever,
 * saying nothing (docs/distributed.md). Every rank now initialises MPI and
 * the ranks compare their modes first: the job ends at once with status 2
 * and rank 0's one line naming both modes, nothing trained and no run
 * folder made. Under timeout(1) with 60 s, which the wait ran into. */
static void
test_modes_differ (void)
{
  SKIP_WITHOUT_MPI ();
  g_autofree char *folder = NULL, *tmp = new_tmp (&folder);
  static const struct { const char *mode[2], *named[2]; } cases[] = {
    { { "--meta-iters=0", "--meta-iters=1" }, { "--meta-iters 0", "meta-optimisation" } },
    { { "--meta-iters=1", "--meta-iters=0" }, { "meta-optimisation", "--meta-iters 0" } },
    { { "--check", "--evaluate" }, { "--check", "--evaluate" } },
  };
  g_autofree char *timeout = g_find_program_in_path ("timeout");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
    if (timeout) {
      const char *const guard[] = { timeout, "--kill-after=10", "60", NULL };
      for (guint k = 0; guard[k]; k++)
        g_ptr_array_add (argv, g_strdup (guard[k]));
    }
    g_ptr_array_add (argv, g_strdup (g_getenv ("DRMAD_MPIRUN")));
    g_ptr_array_add (argv, g_strdup ("--oversubscribe"));
    for (guint rank = 0; rank < 2; rank++) {
      add_mpmd_rank (argv, rank);
      g_ptr_array_add (argv, g_strdup ("--no-gui"));
      for (guint k = 0; k < G_N_ELEMENTS (settings); k++)
        g_ptr_array_add (argv, g_strdup_printf ("--%s=%s", settings[k][0], settings[k][1]));
      g_ptr_array_add (argv, g_strdup (cases[i].mode[rank]));
      if (g_str_equal (cases[i].named[rank], "meta-optimisation")) {
        g_ptr_array_add (argv, g_strdup ("--out"));
        g_ptr_array_add (argv, g_strdup (folder));
      }
    }
    g_ptr_array_add (argv, NULL);
    g_autofree char *out = NULL, *err = NULL;
    gint64 started = g_get_monotonic_time ();
    int status = spawn_mpirun (argv, &out, &err);
    g_test_message ("%s against %s: exit status %d after %.1f s, stdout:\n%s\nstderr:\n%s", cases[i].mode[0],
                    cases[i].mode[1], status, (g_get_monotonic_time () - started) / 1e6, out, err);
    g_assert_cmpint (status, ==, 2);
    g_autofree char *expected = g_strdup_printf ("drmad: the processes were not started alike: rank 1 has \"mode: %s\" "
                                                 "where rank 0 has \"mode: %s\"; start every process with the same "
                                                 "options and data (docs/distributed.md)\n", cases[i].named[1],
                                                 cases[i].named[0]);
    const char *said = strstr (err, expected);
    g_assert_nonnull (said);
    g_assert_null (strstr (said + strlen (expected), "not started alike"));   /* once: rank 0 says it */
    g_assert_cmpstr (out, ==, "");
    g_assert_false (g_file_test (folder, G_FILE_TEST_EXISTS));
  }
  remove_tree (tmp);
}

/* Ranks started in the same mode that runs once, one of them with a flag
 * that mode refuses (README, "Which flags each mode takes"): the ranks
 * compared their modes alone, so rank 0 (--meta-iters 0) trained and
 * printed its result while rank 1 (--meta-iters 0 --force) ended with
 * status 2 and not a word, and Open MPI said only that a process had
 * failed. The refusal is now part of what the ranks compare: the job ends
 * at once, status 2, rank 0 naming rank 1's refusal, nothing trained. */
static void
test_mode_flags_differ (void)
{
  SKIP_WITHOUT_MPI ();
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *timeout = g_find_program_in_path ("timeout");
  if (timeout) {
    const char *const guard[] = { timeout, "--kill-after=10", "60", NULL };
    for (guint k = 0; guard[k]; k++)
      g_ptr_array_add (argv, g_strdup (guard[k]));
  }
  g_ptr_array_add (argv, g_strdup (g_getenv ("DRMAD_MPIRUN")));
  g_ptr_array_add (argv, g_strdup ("--oversubscribe"));
  for (guint rank = 0; rank < 2; rank++) {
    add_mpmd_rank (argv, rank);
    g_ptr_array_add (argv, g_strdup ("--no-gui"));
    for (guint k = 0; k < G_N_ELEMENTS (settings); k++)
      g_ptr_array_add (argv, g_strdup_printf ("--%s=%s", settings[k][0], settings[k][1]));
    g_ptr_array_add (argv, g_strdup ("--meta-iters=0"));
    if (rank == 1)
      g_ptr_array_add (argv, g_strdup ("--force"));
  }
  g_ptr_array_add (argv, NULL);
  g_autofree char *out = NULL, *err = NULL;
  int status = spawn_mpirun (argv, &out, &err);
  g_test_message ("exit status %d, stdout:\n%s\nstderr:\n%s", status, out, err);
  g_assert_cmpint (status, ==, 2);
  static const char expected[] = "drmad: the processes were not started alike: rank 1 has \"refused: --meta-iters 0 and "
                                 "--force cannot be combined: --meta-iters 0 trains once with the starting values, "
                                 "reports on standard output and keeps no run folder, so there is none to overwrite "
                                 "(leave out --force)\" where rank 0 has nothing; start every process with the same "
                                 "options and data (docs/distributed.md)\n";
  g_assert_nonnull (strstr (err, expected));
  g_assert_cmpstr (out, ==, "");   /* rank 0 trained nothing */
}

/* @prefix… (a guard, a display) then mpirun --oversubscribe -n 2 @program
 * @args…, all NULL-terminated; the exit status, standard output in @out. */
static int
run_launched_program (const char *program, const char *const *prefix, const char *const *args, char **out, char **err)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  for (const char *const *a = prefix; *a; a++)
    g_ptr_array_add (argv, g_strdup (*a));
  const char *const launcher[] = { g_getenv ("DRMAD_MPIRUN"), "--oversubscribe", "-n", "2", program, NULL };
  for (const char *const *a = launcher; *a; a++)
    g_ptr_array_add (argv, g_strdup (*a));
  for (const char *const *a = args; *a; a++)
    g_ptr_array_add (argv, g_strdup (*a));
  g_ptr_array_add (argv, NULL);
  g_auto (GStrv) env = g_get_environ ();
  env = g_environ_setenv (env, "OMPI_ALLOW_RUN_AS_ROOT", "1", TRUE);
  env = g_environ_setenv (env, "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", TRUE);
  g_autoptr (GError) error = NULL;
  int wait_status;
  CHECK (g_spawn_sync (NULL, (char **) argv->pdata, env, G_SPAWN_STDIN_FROM_DEV_NULL, NULL, NULL, out, err,
                       &wait_status, &error));
  return WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : 128 + WTERMSIG (wait_status);
}

/* $DRMAD_BIN @args… (NULL-terminated) as one process, without mpirun: its
 * exit status (it must exit), standard output in @out, error in @err. */
static int
run_plain (const char *const *args, char **out, char **err)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) g_getenv ("DRMAD_BIN"));
  for (const char *const *a = args; *a; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  g_ptr_array_add (argv, NULL);
  g_autoptr (GError) error = NULL;
  int wait_status;
  CHECK (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_STDIN_FROM_DEV_NULL, NULL, NULL, out, err,
                       &wait_status, &error));
  g_assert_true (WIFEXITED (wait_status));
  return WEXITSTATUS (wait_status);
}

/* run_launched_program() of $DRMAD_BIN. */
static int
run_launched (const char *const *prefix, const char *const *args, char **out, char **err)
{
  return run_launched_program (g_getenv ("DRMAD_BIN"), prefix, args, out, err);
}

/* Under mpirun -n 2, what does not meta-optimise runs once, in rank 0:
 * --version prints one line, --evaluate reads (mpirun's standard input,
 * which is rank 0's) and reports once. */
static void
test_one_process_commands (void)
{
  SKIP_WITHOUT_MPI ();
  const char *const none[] = { NULL };
  const char *const version[] = { "--version", NULL };
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (run_launched (none, version, &out, &err), ==, 0);
  g_assert_cmpstr (out, ==, "drmad " DRMAD_VERSION "\n");
  g_free (g_steal_pointer (&out));
  g_free (g_steal_pointer (&err));
  g_autoptr (GPtrArray) evaluate = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < G_N_ELEMENTS (settings); i++)
    g_ptr_array_add (evaluate, g_strdup_printf ("--%s=%s", settings[i][0], settings[i][1]));
  g_ptr_array_add (evaluate, g_strdup ("--evaluate"));
  g_ptr_array_add (evaluate, NULL);
  g_assert_cmpint (run_launched (none, (const char *const *) evaluate->pdata, &out, &err), ==, 0);
  const char *first = strstr (err, "evaluate: one θ per line");
  g_assert_nonnull (first);
  g_assert_null (strstr (first + 1, "evaluate: one θ per line"));
}

/* A script run as one process under the launcher that runs drmad twice
 * (scripts/device-check.sh's run.sh: --list-devices, then a run): every
 * launched drmad initialised MPI to compare its mode, with no other rank
 * to compare with, and Open MPI refuses a second MPI_Init in one rank
 * ("orte_init failed"), so the second drmad failed. A mode that runs once,
 * launched alone, runs as plain drmad does, without MPI_Init. */
static void
test_one_process_script (void)
{
  SKIP_WITHOUT_MPI ();
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  add_mpmd_launcher (argv);
  const char *const shell[] = { "-n", "1", "/bin/sh", "-c", NULL };
  for (guint i = 0; shell[i]; i++)
    g_ptr_array_add (argv, g_strdup (shell[i]));
  g_ptr_array_add (argv, g_strdup ("\"$0\" --no-gui --version && \"$0\" --no-gui --version"));
  g_ptr_array_add (argv, g_strdup (g_getenv ("DRMAD_BIN")));
  g_ptr_array_add (argv, NULL);
  g_autofree char *out = NULL, *err = NULL;
  int status = spawn_mpirun (argv, &out, &err);
  g_test_message ("exit status %d, stdout:\n%s\nstderr:\n%s", status, out, err);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpstr (out, ==, "drmad " DRMAD_VERSION "\ndrmad " DRMAD_VERSION "\n");
}

/* mpirun -n 2 drmad --no-gui --meta-iters 0 with --dataset @dataset0 on
 * rank 0 and @dataset1 on rank 1 (NULL: the default); the exit status. */
static int
train_once_launched (const char *dataset0, const char *dataset1, char **out, char **err)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  add_mpmd_launcher (argv);
  for (guint rank = 0; rank < 2; rank++) {
    add_mpmd_rank (argv, rank);
    g_ptr_array_add (argv, g_strdup ("--no-gui"));
    for (guint i = 0; i < G_N_ELEMENTS (settings); i++)
      g_ptr_array_add (argv, g_strdup_printf ("--%s=%s", settings[i][0], settings[i][1]));
    g_ptr_array_add (argv, g_strdup ("--meta-iters=0"));
    const char *dataset = rank ? dataset1 : dataset0;
    if (dataset)
      g_ptr_array_add (argv, g_strdup_printf ("--dataset=%s", dataset));
  }
  g_ptr_array_add (argv, NULL);
  int status = spawn_mpirun (argv, out, err);
  g_test_message ("stdout:\n%s\nstderr:\n%s", *out, *err);
  return status;
}

/* mpirun -n 2 drmad --no-gui SETTINGS --out @folder with rank r under the
 * memory room of /proc/meminfo's MemAvailable @room_kib[r] (a fake meminfo,
 * DRMAD_INJECT_CGROUP); the exit status. */
static int
run_mpmd_rooms (const char *tmp, const char *folder, const guint64 room_kib[2], char **err)
{
  static const char *const job[] = { "--no-gui", "--layers=784,300,10", "--iters=60", "--train-size=500",
                                     "--val-size=200", "--test-size=200", "--fidelity-every=0", "--meta-iters=1",
                                     "--seed=3", NULL };
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  add_mpmd_launcher (argv);
  for (guint rank = 0; rank < 2; rank++) {
    g_autofree char *fake = g_strdup_printf ("%s/room-%u", tmp, rank);
    g_autofree char *meminfo = g_build_filename (fake, "proc-meminfo", NULL);
    g_autofree char *text = g_strdup_printf ("MemTotal: 100000000 kB\nMemAvailable: %" G_GUINT64_FORMAT " kB\n",
                                             room_kib[rank]);
    g_autoptr (GError) error = NULL;
    g_assert_cmpint (g_mkdir_with_parents (fake, 0755), ==, 0);
    CHECK (g_file_set_contents (meminfo, text, -1, &error));
    if (rank)
      g_ptr_array_add (argv, g_strdup (":"));
    g_ptr_array_add (argv, g_strdup ("-n"));
    g_ptr_array_add (argv, g_strdup ("1"));
    g_ptr_array_add (argv, g_strdup ("-x"));
    g_ptr_array_add (argv, g_strdup_printf ("DRMAD_INJECT_CGROUP=%s", fake));
    g_ptr_array_add (argv, g_strdup (g_getenv ("DRMAD_BIN")));
    for (guint i = 0; job[i]; i++)
      g_ptr_array_add (argv, g_strdup (job[i]));
    g_ptr_array_add (argv, g_strdup ("--out"));
    g_ptr_array_add (argv, g_strdup (folder));
  }
  g_ptr_array_add (argv, NULL);
  return spawn_mpirun (argv, NULL, err);
}

/* --method auto chooses within each process's own memory (on a CPU device
 * the host's room, which differs between machines), and ranks that chose
 * differently averaged the hypergradients of two methods without a word,
 * history.csv naming rank 0's alone; a resumed run, which keeps its method
 * where it still fits, could part the ranks the same way. 784-300-10, T =
 * 60: under 100 000 kB of MemAvailable auto chooses piecewise K = 29 (exact
 * needs 51.9 MiB, more than half the room), under 120 000 kB exact. Ranks
 * with those rooms are refused before the first meta-iteration, rank 0's
 * message naming both methods, and no run folder is made; ranks with the
 * same room run. */
static void
test_methods_differ (void)
{
  SKIP_WITHOUT_MPI ();
  SKIP_WITHOUT_TEST_HOOKS ();
  if (!have_fashion_mnist ())
    return;
  if (g_getenv ("DRMAD_DEVICE") && *g_getenv ("DRMAD_DEVICE")) {
    g_test_skip ("DRMAD_DEVICE is set: the device may not be a CPU one, whose memory is the host's");
    return;
  }
  g_autofree char *folder = NULL, *tmp = new_tmp (&folder), *err = NULL;
  const guint64 parted[2] = { 100000, 120000 };
  int status = run_mpmd_rooms (tmp, folder, parted, &err);
  g_test_message ("rooms of 100 000 and 120 000 kB: exit status %d, stderr:\n%s", status, err);
  static const char line[] = "drmad: the processes would average the hypergradients of different reverse "
                              "methods: rank 1 has exact k=8 (auto chose exact (checkpoints every 8 steps";
  assert_ended_alike (status, 2, err, line);
  const char *said = strstr (err, line);
  g_assert_nonnull (strstr (said, "where rank 0 has piecewise K=29 (auto chose piecewise with K = 29 pieces"));
  g_assert_false (g_file_test (folder, G_FILE_TEST_EXISTS));

  g_clear_pointer (&err, g_free);
  const guint64 alike[2] = { 100000, 100000 };
  status = run_mpmd_rooms (tmp, folder, alike, &err);
  if (status != 0)
    g_error ("two ranks under the same room exited with %d:\n%s", status, err);
  g_autofree char *history = read_file_text (folder, "history.csv");
  g_assert_nonnull (strstr (history, "\n1,0,"));
  g_assert_nonnull (strstr (history, ",piecewise K=29,"));
  remove_tree (tmp);
}

/* mpirun -n 2 drmad --no-gui --meta-iters 0: training once has no
 * hypergradient to average, so it runs once, in rank 0, and the other
 * processes end at once, as for --check and --evaluate. Every rank trained
 * (only rank 0 printed): here rank 1 is given a data folder with nothing in
 * it, which it loaded and failed on, ending the job with status 2; now it
 * never loads it, and the job prints one result. And where rank 0 fails
 * (--dataset names nothing), the job's status is rank 0's, 2, the other
 * ranks' 0 notwithstanding, with rank 0's message once. */
static void
test_train_once_launched (void)
{
  SKIP_WITHOUT_MPI ();
  g_autofree char *folder = NULL, *tmp = new_tmp (&folder);
  g_autofree char *empty = g_build_filename (tmp, "empty", NULL);
  g_assert_cmpint (g_mkdir (empty, 0755), ==, 0);
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (train_once_launched (NULL, empty, &out, &err), ==, 0);
  const char *first = strstr (out, "trained once: val_loss ");
  g_assert_nonnull (first);
  g_assert_null (strstr (first + 1, "trained once:"));
  g_assert_null (strstr (err, empty));     /* rank 1 never looked at its data */
  g_assert_null (strstr (err, "local rank"));   /* no device shared out: one process works */

  g_autofree char *nowhere = g_build_filename (tmp, "nonexistent", NULL);
  g_autofree char *failed_out = NULL, *failed_err = NULL;
  g_assert_cmpint (train_once_launched (nowhere, nowhere, &failed_out, &failed_err), ==, 2);
  g_assert_null (strstr (failed_out, "trained once:"));
  const char *named = strstr (failed_err, nowhere);
  g_assert_nonnull (named);     /* rank 0 says what it could not load, */
  g_assert_null (strstr (named + strlen (nowhere), nowhere));   /* once: rank 1 never looked */
  remove_tree (tmp);
}

/* A failure before the ranks exchange their settings, alike on every rank
 * or on rank 0 alone (--warm-start, refused with several processes, as
 * well): each rank that could not load the data said so and
 * aborted (the message once per rank, "drmad: rank 1: no dataset …"), and
 * a --out that rank 0 refused before the load aborted rank 1 in its load,
 * which said "rank 1: stopped by SIGTERM (stopped before the run began …)".
 * Now every rank sends its failure in the exchange, and rank 0 says the
 * first one, once: status 2, no run folder, nothing from rank 1, and every
 * rank ends with its status rather than by rank 0's MPI_Abort. */
static void
test_failed_before_exchange (void)
{
  SKIP_WITHOUT_MPI ();
  g_autofree char *folder = NULL, *tmp = new_tmp (&folder);
  g_autofree char *nowhere = g_build_filename (tmp, "nonexistent", NULL);
  g_autofree char *dataset = g_strdup_printf ("--dataset=%s", nowhere);
  const char *const no_data[] = { dataset, NULL };
  g_autofree char *err = NULL;
  int status = run_mpi (2, folder, no_data, NULL, NULL, &err);
  g_test_message ("--dataset naming nothing: exit status %d, stderr:\n%s", status, err);
  /* 2, bad input, from every rank: no MPI_Abort, which Open MPI 4.1's
   * mpirun now and then crashed relaying (status 139, docs/distributed.md) */
  g_assert_cmpint (status, ==, 2);
  g_assert_null (strstr (err, "MPI_ABORT"));   /* its notice, or the error relaying it: */
  g_assert_null (strstr (err, "ORTE_ERROR_LOG"));
  g_assert_cmpuint (occurrences (err, nowhere), ==, 1);
  g_assert_nonnull (strstr (err, "drmad: no dataset"));
  g_assert_null (strstr (err, "rank 1:"));
  g_assert_false (g_file_test (folder, G_FILE_TEST_EXISTS));

  /* --out holding a file of the user's: refused by rank 0 alone, kept as it was */
  g_assert_cmpint (g_mkdir (folder, 0755), ==, 0);
  g_autofree char *kept = g_build_filename (folder, "notes.txt", NULL);
  g_autoptr (GError) error = NULL;
  CHECK (g_file_set_contents (kept, "mine\n", -1, &error));
  g_autofree char *taken_err = NULL;
  status = run_mpi (2, folder, NULL, NULL, NULL, &taken_err);
  g_test_message ("--out taken: exit status %d, stderr:\n%s", status, taken_err);
  g_assert_cmpint (status, ==, 2);
  g_assert_null (strstr (taken_err, "MPI_ABORT"));   /* its notice, or the error relaying it: */
  g_assert_null (strstr (taken_err, "ORTE_ERROR_LOG"));
  g_assert_cmpuint (occurrences (taken_err, "already holds files"), ==, 1);
  g_assert_null (strstr (taken_err, "rank 1:"));
  g_assert_null (strstr (taken_err, "SIGTERM"));
  g_autofree char *notes = read_file_text (folder, "notes.txt");
  g_assert_cmpstr (notes, ==, "mine\n");
  g_autofree char *ini = g_build_filename (folder, "run.ini", NULL);
  g_assert_false (g_file_test (ini, G_FILE_TEST_EXISTS));

  /* --warm-start, refused with several processes: each rank said so and
   * rank 0 ended them with MPI_Abort */
  g_autofree char *warm = g_build_filename (tmp, "warm", NULL);
  const char *const warm_start[] = { "--warm-start=2", NULL };
  g_autofree char *warm_err = NULL;
  status = run_mpi (2, warm, warm_start, NULL, NULL, &warm_err);
  g_test_message ("--warm-start: exit status %d, stderr:\n%s", status, warm_err);
  g_assert_cmpint (status, ==, 2);
  g_assert_null (strstr (warm_err, "MPI_ABORT"));
  g_assert_null (strstr (warm_err, "ORTE_ERROR_LOG"));
  g_assert_cmpuint (occurrences (warm_err, "--warm-start runs in one process"), ==, 1);
  g_assert_null (strstr (warm_err, "rank 1:"));
  g_assert_false (g_file_test (warm, G_FILE_TEST_EXISTS));
  remove_tree (tmp);
}

/* Under mpirun -n 2, what each rank said before MPI_Init is said once:
 * --help printed the help once per rank, an option no rank can parse said
 * so once per rank, and --help given to rank 1 alone left rank 0 waiting in
 * MPI_Init for ever (the guard's 300 s here). Now --help and options that
 * do not parse take part in the ranks' comparison of modes: rank 0 prints
 * the help (as plain drmad prints it) or the line, once, and where the ranks
 * differ it names both at once, status 2. The notice of running headless
 * (no --no-gui) is rank 0's alone too. */
static void
test_said_once (void)
{
  SKIP_WITHOUT_MPI ();
  const char *const none[] = { NULL };
  g_autofree char *plain = NULL;
  g_autoptr (GError) error = NULL;
  int wait_status;
  const char *const alone[] = { g_getenv ("DRMAD_BIN"), "--help", NULL };
  CHECK (g_spawn_sync (NULL, (char **) alone, NULL, G_SPAWN_STDIN_FROM_DEV_NULL, NULL, NULL, &plain, NULL,
                       &wait_status, &error));
  g_assert_true (g_str_has_prefix (plain, "Usage:"));
  const char *const help[] = { "--no-gui", "--help", NULL };
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (run_launched (none, help, &out, &err), ==, 0);
  g_assert_cmpstr (out, ==, plain);
  /* plain drmad reads nothing after -h (GOption prints the help there and
   * exits): an option after it that does not parse said so, status 2 */
  const char *const help_first[] = { "--no-gui", "-h", "--bogus", NULL };
  g_autofree char *help_first_out = NULL, *help_first_err = NULL;
  g_assert_cmpint (run_launched (none, help_first, &help_first_out, &help_first_err), ==, 0);
  g_assert_cmpstr (help_first_out, ==, plain);

  const char *const bogus[] = { "--no-gui", "--bogus", NULL };
  g_autofree char *bogus_out = NULL, *bogus_err = NULL;
  g_assert_cmpint (run_launched (none, bogus, &bogus_out, &bogus_err), ==, 2);
  g_assert_cmpuint (occurrences (bogus_err, "Unknown option --bogus"), ==, 1);

  g_autofree char *folder = NULL, *tmp = new_tmp (&folder);
  const char *const job[] = { NULL }, *const asks_help[] = { "--help", NULL };
  g_autofree char *differ_err = NULL;
  gint64 started = g_get_monotonic_time ();
  int status = run_mpmd (folder, job, asks_help, &differ_err);
  g_test_message ("--help on rank 1 alone: exit status %d after %.1f s, stderr:\n%s", status,
                  (g_get_monotonic_time () - started) / 1e6, differ_err);
  g_assert_cmpint (status, ==, 2);
  g_assert_nonnull (strstr (differ_err, "drmad: the processes were not started alike: rank 1 has \"mode: --help\" "
                                        "where rank 0 has \"mode: meta-optimisation\""));
  g_assert_false (g_file_test (folder, G_FILE_TEST_EXISTS));

  g_autoptr (GPtrArray) headless = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < G_N_ELEMENTS (settings); i++)
    g_ptr_array_add (headless, g_strdup_printf ("--%s=%s", settings[i][0], settings[i][1]));
  g_ptr_array_add (headless, g_strdup ("--meta-iters=0"));
  g_ptr_array_add (headless, NULL);
  g_autofree char *headless_out = NULL, *headless_err = NULL;
  g_assert_cmpint (run_launched (none, (const char *const *) headless->pdata, &headless_out, &headless_err), ==, 0);
  g_assert_cmpuint (occurrences (headless_err, "running headless"), ==, 1);
  g_assert_cmpuint (occurrences (headless_out, "trained once:"), ==, 1);
  remove_tree (tmp);
}

/* A help option given a value ("--help=x", "--help-all=x") is an unknown
 * option to plain drmad, status 2; under mpirun -n 2 it printed the help,
 * status 0 (the ranks' parser noted it as --help), and so did
 * "--deferred-help", GOption's other name for the ranks' own --help. Each command line here
 * ends alike both ways: the status, standard output, and plain drmad's line
 * said once; a value of another option that looks like one ("--dataset
 * --help=x") is that option's, as GOption reads it. */
static void
test_help_with_value (void)
{
  SKIP_WITHOUT_MPI ();
  static const struct { const char *args[5]; int status; } cases[] = {
    { { "--no-gui", "--help=x", NULL }, 2 },
    { { "--no-gui", "--help-all=x", NULL }, 2 },
    { { "--no-gui", "--help=x", "--help", NULL }, 2 },
    { { "--no-gui", "--deferred-help", NULL }, 2 },   /* the ranks' help group's name, as GOption reads it */
    { { "--no-gui", "--dataset", "--help=x", "--help", NULL }, 0 },
  };
  const char *const none[] = { NULL };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *plain_out = NULL, *plain_err = NULL, *out = NULL, *err = NULL;
    int plain_status = run_plain (cases[i].args, &plain_out, &plain_err);
    g_assert_cmpint (plain_status, ==, cases[i].status);
    int status = run_launched (none, cases[i].args, &out, &err);
    g_test_message ("%s %s: plain drmad %d, under mpirun -n 2 %d; stderr:\n%s", cases[i].args[1],
                    cases[i].args[2] ? cases[i].args[2] : "", plain_status, status, err);
    g_assert_cmpint (status, ==, cases[i].status);
    g_assert_cmpstr (out, ==, plain_out);
    if (cases[i].status) {
      g_autofree char *line = g_strdup_printf ("drmad: Unknown option %s (see drmad --help)\n", cases[i].args[1]);
      g_assert_cmpstr (plain_err, ==, line);
      g_assert_cmpuint (occurrences (err, line), ==, 1);
    } else
      g_assert_true (g_str_has_prefix (out, "Usage:"));
  }
}

/* A flag given a value ("--force=no", "--no-gui=0"): GOption (2.74) took
 * it for the flag and dropped the value, in plain drmad and under mpirun
 * alike, so "--force=no" forced. It is refused as an unknown option,
 * status 2, with GOption's line naming it with its value, both ways; a
 * value of another option that looks like one ("--dataset --force=x") is
 * that option's, as GOption reads it. Plain drmad is checked without
 * Open MPI too. */
static void
test_flag_with_value (void)
{
  static const struct { const char *args[5]; const char *refused; int status; } cases[] = {
    { { "--no-gui", "--force=anything", "--meta-iters=0", NULL }, "--force=anything", 2 },
    { { "--meta-iters=0", "--no-gui=0", NULL }, "--no-gui=0", 2 },
    { { "--no-gui", "--meta-iters=0", "--shard-data=", NULL }, "--shard-data=", 2 },
    { { "--no-gui", "--dataset", "--force=x", "--help", NULL }, NULL, 0 },
  };
  const char *const none[] = { NULL };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *plain_out = NULL, *plain_err = NULL, *out = NULL, *err = NULL;
    int plain_status = run_plain (cases[i].args, &plain_out, &plain_err);
    g_test_message ("%s: plain drmad, stderr:\n%s", cases[i].args[1], plain_err);
    g_assert_cmpint (plain_status, ==, cases[i].status);
    g_autofree char *line = cases[i].refused ? g_strdup_printf ("drmad: Unknown option %s (see drmad --help)\n",
                                                                cases[i].refused) : NULL;
    if (line)
      g_assert_cmpstr (plain_err, ==, line);
    else
      g_assert_true (g_str_has_prefix (plain_out, "Usage:"));
    if (!g_getenv ("DRMAD_MPIRUN") || !*g_getenv ("DRMAD_MPIRUN"))
      continue;
    int status = run_launched (none, cases[i].args, &out, &err);
    g_test_message ("under mpirun -n 2: %d; stderr:\n%s", status, err);
    g_assert_cmpint (status, ==, cases[i].status);
    g_assert_cmpstr (out, ==, plain_out);
    if (line)
      g_assert_cmpuint (occurrences (err, line), ==, 1);
  }
}

/* Under mpirun, where the MPI glue cannot be loaded (libdrmad-mpi.so
 * beside no copy of the program, none installed, or libmpi missing), the
 * ranks cannot compare: --help prints what plain drmad --help prints, status
 * 0, and an option that does not parse is said, status 2, as plain drmad
 * does. Both said only "cannot load the MPI glue", status 1, once --help
 * and such options took part in the comparison (docs/distributed.md). A
 * copy of the program in a folder of its own, its libraries where its
 * run path looks ($ORIGIN/../lib), has no glue beside it. */
static void
test_without_glue (void)
{
  SKIP_WITHOUT_MPI ();
  g_autofree char *program = g_strdup (g_getenv ("DRMAD_BIN"));
  g_autofree char *bin_dir = g_path_get_dirname (program), *build_dir = g_path_get_dirname (bin_dir);
  g_autofree char *lib = g_build_filename (build_dir, "lib", NULL);
  if (!g_file_test (lib, G_FILE_TEST_IS_DIR)) {   /* (where a glue is installed, the copy finds it, and passes) */
    g_test_skip ("no lib folder beside the program's: a copy of the program would not run");
    return;
  }
  g_autoptr (GError) error = NULL;
  g_autofree char *folder = NULL, *tmp = new_tmp (&folder);
  g_autofree char *copy_dir = g_build_filename (tmp, "bin", NULL), *copy_lib = g_build_filename (tmp, "lib", NULL);
  g_autofree char *copy = g_build_filename (copy_dir, "drmad", NULL);
  g_autofree char *contents = NULL;
  gsize length;
  g_assert_cmpint (g_mkdir (copy_dir, 0755), ==, 0);
  CHECK (g_file_get_contents (program, &contents, &length, &error));
  CHECK (g_file_set_contents (copy, contents, length, &error));
  g_assert_cmpint (g_chmod (copy, 0755), ==, 0);
  g_assert_cmpint (symlink (lib, copy_lib), ==, 0);

  g_autofree char *plain = NULL;
  int wait_status;
  const char *const alone[] = { program, "--help", NULL };
  CHECK (g_spawn_sync (NULL, (char **) alone, NULL, G_SPAWN_STDIN_FROM_DEV_NULL, NULL, NULL, &plain, NULL,
                       &wait_status, &error));
  g_assert_true (g_str_has_prefix (plain, "Usage:"));
  const char *const none[] = { NULL };
  const char *const help[] = { "--no-gui", "--help", NULL };
  g_autofree char *out = NULL, *err = NULL;
  int status = run_launched_program (copy, none, help, &out, &err);
  g_test_message ("--help without the glue: exit status %d, stderr:\n%s", status, err);
  g_assert_cmpint (status, ==, 0);
  /* each of the two processes prints the whole help (no glue, so no rank
   * to leave it to); mpirun forwards their output as it comes, so the two
   * copies may interleave: the same bytes as two copies, in any order */
  g_assert_cmpuint (strlen (out), ==, 2 * strlen (plain));
  guint64 counts[256] = { 0 };
  for (const guchar *c = (const guchar *) plain; *c; c++)
    counts[*c] += 2;
  for (const guchar *c = (const guchar *) out; *c; c++)
    g_assert_cmpuint (counts[*c]--, >, 0);
  g_assert_null (strstr (err, "cannot load the MPI glue"));

  const char *const bogus[] = { "--no-gui", "--bogus", NULL };
  g_autofree char *bogus_out = NULL, *bogus_err = NULL;
  status = run_launched_program (copy, none, bogus, &bogus_out, &bogus_err);
  g_test_message ("--bogus without the glue: exit status %d, stderr:\n%s", status, bogus_err);
  g_assert_cmpint (status, ==, 2);
  g_assert_nonnull (strstr (bogus_err, "drmad: Unknown option --bogus (see drmad --help)"));
  g_assert_null (strstr (bogus_err, "cannot load the MPI glue"));
  remove_tree (tmp);
}

/* mpirun -n 2 drmad without --no-gui where a display is (Xvfb): the ranks
 * run the job headless, as with --no-gui, rather than each opening a window
 * (which waited there for ever). Under timeout(1), so that windows left open
 * end the test. */
static void
test_launched_without_window (void)
{
  SKIP_WITHOUT_MPI ();
  g_autofree char *xvfb = g_find_program_in_path ("xvfb-run"), *timeout = g_find_program_in_path ("timeout");
  if (!xvfb || !timeout) {
    g_test_skip ("needs xvfb-run and timeout");
    return;
  }
  g_autofree char *folder = NULL, *tmp = new_tmp (&folder), *out = NULL, *err = NULL;
  const char *const prefix[] = { timeout, "--kill-after=10", "120", xvfb, "-a", NULL };
  g_autoptr (GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  add_job_arguments (args, folder, (const char *const[]) { "--meta-iters=1", NULL });
  g_ptr_array_remove_index (args, 0);   /* --no-gui */
  int status = run_launched (prefix, (const char *const *) args->pdata, &out, &err);
  g_test_message ("exit status %d, stderr:\n%s", status, err);
  g_assert_cmpint (status, ==, 0);
  /* A build without the window says that instead (tests/test-cli.c, /cli/headless-notice). */
  if (DRMAD_HAS_WINDOW)   /* tests/meson.build */
    g_assert_nonnull (strstr (err, "drmad: started by mpirun or srun: running headless, as with --no-gui"));
  else
    g_assert_nonnull (strstr (err, "drmad: this build has no window"));
  guint ranks = 0;
  g_autoptr (GError) error = NULL;
  CHECK (drmad_job_folder_ranks (folder, &ranks, NULL, &error));
  g_assert_cmpuint (ranks, ==, 2);
  remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  drmad_prepare_environment ();
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/mpi/hook-average", test_hook_average);
  g_test_add_func ("/mpi/hook-failures", test_hook_failures);
  g_test_add_func ("/mpi/two-ranks", test_two_ranks);
  g_test_add_func ("/mpi/theta-mismatch", test_theta_mismatch);
  g_test_add_func ("/mpi/rank-killed", test_rank_killed);
  g_test_add_func ("/mpi/rank-stopped", test_rank_stopped);
  g_test_add_func ("/mpi/srun-advice", test_srun_advice);
  g_test_add_func ("/mpi/srun-advice-nested", test_srun_advice_nested);
  g_test_add_func ("/mpi/blas-notice-once", test_blas_notice_once);
  g_test_add_func ("/mpi/shard-data-alone", test_shard_data_alone);
  g_test_add_func ("/mpi/shard-data", test_shard_data);
  g_test_add_func ("/mpi/settings-differ", test_settings_differ);
  g_test_add_func ("/mpi/ranks-differ", test_ranks_differ);
  g_test_add_func ("/mpi/modes-differ", test_modes_differ);
  g_test_add_func ("/mpi/mode-flags-differ", test_mode_flags_differ);
  g_test_add_func ("/mpi/methods-differ", test_methods_differ);
  g_test_add_func ("/mpi/one-process-commands", test_one_process_commands);
  g_test_add_func ("/mpi/one-process-script", test_one_process_script);
  g_test_add_func ("/mpi/train-once-launched", test_train_once_launched);
  g_test_add_func ("/mpi/failed-before-exchange", test_failed_before_exchange);
  g_test_add_func ("/mpi/said-once", test_said_once);
  g_test_add_func ("/mpi/help-with-value", test_help_with_value);
  g_test_add_func ("/mpi/flag-with-value", test_flag_with_value);
  g_test_add_func ("/mpi/without-glue", test_without_glue);
  g_test_add_func ("/mpi/launched-without-window", test_launched_without_window);
  return g_test_run ();
}
