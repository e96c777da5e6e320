/* drmad --no-gui --evaluate: θ lines through a pipe into one process,
 * each result against an independent computation (a --meta-iters 0 run of
 * the same setting, or the library trained directly); bad lines get an
 * error line and the process goes on; and the line parser on its own. */
#include <gio/gio.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "drmad-evaluate.h"
#include "drmad-job.h"
#include "test-util.h"

/* 784-20-10 on 600 + 300 + 200 examples, T = 40: a second per training. */
static const char *small[] = { "--no-gui", "--iters", "40", "--train-size", "600", "--val-size", "300",
                                "--test-size", "200", "--layers", "784,20,10", "--learn", "l2,lr", "--segments", "2",
                                "--batch", "50", NULL };

/* drmad @small @extra --evaluate, its pipes open. */
typedef struct {
  GSubprocess      *process;
  GOutputStream    *in;
  GDataInputStream *out;
} Evaluator;

/* ... with @child_setup run in the child before the exec (NULL: none). */
static void
evaluator_start_with (Evaluator *e, const char *const *extra, GSpawnChildSetupFunc child_setup)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) g_getenv ("DRMAD_BIN"));
  for (const char *const *a = small; *a; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  for (const char *const *a = extra; a && *a; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  g_ptr_array_add (argv, "--evaluate");
  g_ptr_array_add (argv, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  if (child_setup)
    g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  e->process = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  e->in = g_subprocess_get_stdin_pipe (e->process);
  e->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (e->process));
}

static void
evaluator_start (Evaluator *e, const char *const *extra)
{
  evaluator_start_with (e, extra, NULL);
}

static void
evaluator_send (Evaluator *e, const char *line)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (g_output_stream_write_all (e->in, line, strlen (line), NULL, NULL, &error));
  g_assert_true (g_output_stream_write_all (e->in, "\n", 1, NULL, NULL, &error));
  g_assert_true (g_output_stream_flush (e->in, NULL, &error));
  g_assert_no_error (error);
}

/* The next line it writes (NULL at EOF). */
static char *
evaluator_read (Evaluator *e)
{
  g_autoptr (GError) error = NULL;
  char *line = g_data_input_stream_read_line_utf8 (e->out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("evaluate: %s", line ? line : "(EOF)");
  return line;
}

/* Closes its input (EOF) and returns its exit status. */
static int
evaluator_finish (Evaluator *e)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (g_output_stream_close (e->in, NULL, &error));
  g_autofree char *rest = evaluator_read (e);
  g_assert_null (rest);   /* nothing more than one line per θ line */
  g_assert_true (g_subprocess_wait (e->process, NULL, &error));
  g_assert_no_error (error);
  int status = g_subprocess_get_if_exited (e->process) ? g_subprocess_get_exit_status (e->process) : 128;
  g_clear_object (&e->out);
  g_clear_object (&e->process);
  return status;
}

/* The value of @key in a line of KEY=VALUE (or "KEY VALUE  KEY VALUE") items, as text. */
static char *
value_of (const char *line, const char *key, const char *separator)
{
  g_autofree char *pattern = g_strconcat (key, separator, NULL);
  const char *at = strstr (line, pattern);
  g_assert_nonnull (at);
  at += strlen (pattern);
  return g_strndup (at, strcspn (at, " \n"));
}

/* The result of one line equals a --meta-iters 0 run of the same setting,
 * to the printed digits; blank and comment lines give nothing; the same line
 * twice gives the same numbers (every line trains from scratch). */
static void
test_against_train_once (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *once = NULL;
  g_assert_cmpint (run_drmad (small, (const char *[]){ "--meta-iters", "0", "--init-l2", "3e-4,2e-3", "--init-lr", "0.05",
                                                       "--init-momentum", "0.8", NULL }, NULL, NULL, &once, NULL), ==, 0);
  Evaluator e;
  evaluator_start (&e, NULL);
  evaluator_send (&e, "init-l2=3e-4,2e-3  init-lr=0.05\tinit-momentum=0.8");
  /* The answer comes before the input ends: one process serves line after line. */
  g_autofree char *first = evaluator_read (&e);
  evaluator_send (&e, "# a comment");
  evaluator_send (&e, "   ");
  /* The same θ through its entries, per layer and per segment. */
  evaluator_send (&e, "l2/layer1=3e-4 l2/layer2=2e-3 lr/layer1/seg0=0.05 lr/layer1/seg1=0.05 lr/layer2/seg0=0.05 "
                      "lr/layer2/seg1=0.05 init-momentum=0.8");
  g_autofree char *second = evaluator_read (&e);
  g_assert_cmpint (evaluator_finish (&e), ==, 0);
  const char *keys[] = { "val_loss", "val_error", "test_loss", "test_error" };
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++) {
    g_autofree char *reference = value_of (once, keys[i], " ");
    g_autofree char *got = value_of (first, keys[i], "=");
    g_autofree char *again = value_of (second, keys[i], "=");
    g_assert_cmpstr (got, ==, reference);
    g_assert_cmpstr (again, ==, reference);
  }
  g_assert_nonnull (strstr (first, " diverged=0 seconds="));
  g_assert_nonnull (strstr (first, " test_seconds="));
  g_autofree char *train_loss = value_of (first, "train_loss", "=");
  g_assert_cmpfloat (g_ascii_strtod (train_loss, NULL), >, 0);
}

/* Per-segment values and per-unit L2 against the library trained
 * directly with the same θ, data, net and seed. */
static void
test_against_library (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadDevice) device = drmad_device_open (NULL, &error);
  if (!device) {
    g_test_skip (error->message);
    return;
  }
  CHECK (drmad_device_set_gemm_path (device, DRMAD_GEMM_AUTO, &error));
  g_autoptr (DrmadDataset) pool = NULL;
  g_autoptr (DrmadDataset) test_pool = NULL;
  CHECK (drmad_dataset_open ("fashion-mnist", NULL, &pool, &test_pool, &error));
  g_autoptr (DrmadSplit) split = drmad_dataset_split (pool, test_pool, 1, 600, 300, 200, &error);
  g_assert_no_error (error);
  g_autoptr (DrmadDeviceData) train = drmad_device_data_new (device, DRMAD_PRECISION_FLOAT32, split->train, &error);
  g_autoptr (DrmadDeviceData) val = drmad_device_data_new (device, DRMAD_PRECISION_FLOAT32, split->val, &error);
  g_autoptr (DrmadDeviceData) test = drmad_device_data_new (device, DRMAD_PRECISION_FLOAT32, split->test, &error);
  g_assert_no_error (error);
  const guint sizes[] = { 784, 20, 10 };
  g_autoptr (DrmadNet) net = drmad_net_new (device, sizes, 3, DRMAD_ACTIVATION_RELU, DRMAD_PRECISION_FLOAT32, 50,
                                            &error);
  g_assert_no_error (error);

  /* Per-unit L2 (784 + 20 entries), 2-segment schedules of lr and momentum. */
  DrmadHyperConfig config;
  drmad_hyper_config_init (&config);
  config.l2 = DRMAD_L2_PER_NEURON;
  config.learn_lr = config.learn_momentum = TRUE;
  config.segments = 2;
  config.steps = 40;
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (net, &config, &error);
  g_assert_no_error (error);
  gsize n = drmad_hyper_get_n (hyper);
  g_assert_cmpuint (n, ==, 784 + 20 + 4 + 4);
  g_autofree double *theta = g_new (double, n);
  GString *line = g_string_new (NULL);
  for (gsize i = 0; i < n; i++) {
    DrmadHyperEntry entry = drmad_hyper_get_entry (hyper, i);
    double natural = entry.kind == DRMAD_GROUP_L2 ? 1e-4 * (1 + (entry.unit % 7))
                     : entry.kind == DRMAD_GROUP_LR ? (entry.segment ? 0.03 : 0.2) / entry.layer
                     : (entry.segment ? 0.6 : 0.85);
    theta[i] = entry.kind == DRMAD_GROUP_MOMENTUM ? log (natural / (1 - natural)) : log (natural);
    char number[G_ASCII_DTOSTR_BUF_SIZE];
    g_string_append_printf (line, "%s%s=%s", i ? " " : "", drmad_hyper_get_name (hyper, i),
                            g_ascii_formatd (number, sizeof number, "%.17g", natural));
  }
  CHECK (drmad_hyper_set_values (hyper, theta, &error));
  double val_loss, val_error, test_loss, test_error;
  CHECK (drmad_hyper_train (net, hyper, train, 1, NULL, NULL, NULL, &error));
  CHECK (drmad_net_evaluate (net, val, &val_loss, &val_error, &error));
  CHECK (drmad_net_evaluate (net, test, &test_loss, &test_error, &error));

  Evaluator e;
  evaluator_start (&e, (const char *[]){ "--l2-granularity", "neuron", "--learn", "l2,lr,momentum", NULL });
  evaluator_send (&e, line->str);
  g_autofree char *result = evaluator_read (&e);
  g_assert_cmpint (evaluator_finish (&e), ==, 0);
  g_string_free (line, TRUE);
  double expected[] = { val_loss, val_error, test_loss, test_error };
  const char *keys[] = { "val_loss", "val_error", "test_loss", "test_error" };
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++) {
    char reference[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd (reference, sizeof reference, "%.9g", expected[i]);
    g_autofree char *got = value_of (result, keys[i], "=");
    g_assert_cmpstr (got, ==, reference);
  }
}

/* Each bad line gets one error line naming the key and what was expected,
 * the process goes on, and a good line after them gives the numbers it gave
 * before them. */
static void
test_bad_lines (void)
{
  if (!have_fashion_mnist ())
    return;
  struct { const char *line, *fragments[2]; } bad[] = {
    { "bogus=1", { "unknown key \"bogus\"", "init-l2" } },
    { "l2/layer9=1e-4", { "l2/layer9", "l2/layer1 … lr/layer2/seg1" } },
    { "momentum/layer1/seg0=0.5", { "momentum/layer1/seg0", "--learn" } },
    { "iters=5", { "iters", "--iters on the command line" } },
    { "init-l2=abc", { "init-l2=abc", "expected a number from 1e-12 up to 100" } },
    { "init-l2=1e-4,1e-4,1e-4", { "init-l2=1e-4,1e-4,1e-4", "one value, or 2" } },
    { "init-lr=0.1,", { "init-lr=0.1,: item 2 of 2 is empty", "expected a number" } },
    { "init-lr=", { "init-lr=: expected a number", "up to 100" } },
    { "lr/layer1/seg0=2e3", { "lr/layer1/seg0=2e3", "up to 100" } },
    { "lr/layer1/seg0=0.1x", { "lr/layer1/seg0=0.1x", "expected a number" } },
    { "lr/layer1/seg0=nan", { "lr/layer1/seg0=nan", "expected a number" } },
    { "l2/layer1=", { "l2/layer1=", "expected a number" } },
    { "init-momentum=1", { "init-momentum=1", "expected a number from 1e-12 up to 0.999999999999" } },
    { "init-momentum=0", { "init-momentum=0", "expected a number from 1e-12 up to 0.999999999999" } },
    { "init-lr=0.1 noequals", { "\"noequals\"", "KEY=VALUE" } },
    { "=3", { "\"=3\"", "KEY=VALUE" } },
    { "l2/layer1=1e-3 l2/layer1=1e-3", { "l2/layer1", "twice" } },
  };
  Evaluator e;
  evaluator_start (&e, NULL);
  evaluator_send (&e, "init-lr=0.07");
  g_autofree char *before = evaluator_read (&e);
  g_assert_true (g_str_has_prefix (before, "val_loss="));
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    evaluator_send (&e, bad[i].line);
    g_autofree char *answer = evaluator_read (&e);
    g_autofree char *prefix = g_strdup_printf ("error: line %u: ", i + 2);
    g_assert_true (g_str_has_prefix (answer, prefix));
    for (guint k = 0; k < 2; k++)
      g_assert_nonnull (strstr (answer, bad[i].fragments[k]));
  }
  /* A θ whose training overflows is a result, not an error. */
  evaluator_send (&e, "init-lr=100");
  g_autofree char *diverged = evaluator_read (&e);
  g_assert_true (g_str_has_prefix (diverged, "val_loss=inf val_error=1 test_loss=inf test_error=1 "));
  g_assert_nonnull (strstr (diverged, " diverged=1 "));
  evaluator_send (&e, "init-lr=0.07");
  g_autofree char *after = evaluator_read (&e);
  *strstr (after, " seconds=") = '\0';   /* every number but the time */
  *strstr (before, " seconds=") = '\0';
  g_assert_cmpstr (after, ==, before);
  g_assert_cmpint (evaluator_finish (&e), ==, 0);

  /* Options that cannot be set up: exit status 2 and one line, before any θ is read. */
  g_autofree char *err = NULL;
  g_assert_cmpint (run_drmad (small, (const char *[]){ "--evaluate", "--dataset", "/no/such/data", NULL }, NULL, NULL,
                              NULL, &err), ==, 2);
  g_assert_nonnull (strstr (err, "/no/such/data"));
  g_autofree char *err2 = NULL;
  g_assert_cmpint (run_drmad (small, (const char *[]){ "--evaluate", "--check", NULL }, NULL, NULL, NULL, &err2), ==, 2);
  g_assert_nonnull (strstr (err2, "cannot be combined"));
}

/* --evaluate keeps no run folder: --out is refused as --resume is
 * (drmad-cli.c, refused()), with status 2, before anything is loaded or made. */
static void
test_refuses_out (void)
{
  g_autofree char *dir = test_tmp_dir ("drmad-evaluate", NULL);
  g_autofree char *folder = g_build_filename (dir, "run", NULL);
  g_autofree char *err = NULL, *out = NULL;
  g_assert_cmpint (run_drmad (small, (const char *[]){ "--evaluate", "--out", folder, NULL }, NULL, NULL, &out, &err),
                   ==, 2);
  g_assert_nonnull (strstr (err, "--evaluate and --out"));
  g_assert_nonnull (strstr (err, folder));
  g_assert_cmpstr (out, ==, "");
  g_assert_false (g_file_test (folder, G_FILE_TEST_EXISTS));
  remove_tree (dir);
}

/* A line of 12 MB of blanks around one item is one θ, and costs about its
 * own size in memory (split into strings, one per blank, it took 800 MB):
 * the largest child this test process has waited for stays small. */
static void
test_long_blank_line (void)
{
  if (!have_fashion_mnist ())
    return;
  Evaluator e;
  evaluator_start (&e, NULL);
  evaluator_send (&e, "init-lr=0.07");
  g_autofree char *plain = evaluator_read (&e);
  gsize half = 6 * 1024 * 1024;
  g_autofree char *line = g_malloc (2 * half + 32);
  memset (line, ' ', half);
  strcpy (line + half, "init-lr=0.07");
  memset (line + half + strlen ("init-lr=0.07"), '\t', half);
  line[2 * half + strlen ("init-lr=0.07")] = '\0';
  evaluator_send (&e, line);
  g_autofree char *padded = evaluator_read (&e);
  *strstr (plain, " seconds=") = '\0';
  *strstr (padded, " seconds=") = '\0';
  g_assert_cmpstr (padded, ==, plain);
  g_assert_cmpint (evaluator_finish (&e), ==, 0);
  struct rusage usage;
  g_assert_cmpint (getrusage (RUSAGE_CHILDREN, &usage), ==, 0);
  g_test_message ("largest child: %ld kB", usage.ru_maxrss);
  g_assert_cmpint (usage.ru_maxrss, <, 400 * 1024);
}

/* As a shell starts a job with & in a script (SIGINT ignored) under
 * nohup (SIGHUP ignored). */
static void
ignore_int_and_hup (gpointer user_data)
{
  signal (SIGINT, SIG_IGN);
  signal (SIGHUP, SIG_IGN);
}

/* A stop signal ignored when --evaluate started stays ignored (README),
 * also while it waits for its next line: PoCL's LLVM put its own handler
 * over it as the device opened, and SIGINT or SIGHUP then ended the
 * process with status 1, "cannot read standard input after 1 line:
 * Interrupted system call", the next line unanswered. Here both arrive
 * while it waits; the next line gets the first one's numbers (the same θ),
 * and the end of input ends it with status 0. */
static void
test_ignored_signals_stay_ignored (void)
{
  if (!have_fashion_mnist ())
    return;
  Evaluator e;
  evaluator_start_with (&e, NULL, ignore_int_and_hup);
  evaluator_send (&e, "init-l2=3e-4");
  g_autofree char *first = evaluator_read (&e);
  g_assert_nonnull (first);
  /* answered: it waits in the read of the next line a moment later (a
   * signal that came while it computed interrupted no read) */
  const int signals[] = { SIGINT, SIGHUP };
  for (guint i = 0; i < G_N_ELEMENTS (signals); i++) {
    g_usleep (G_USEC_PER_SEC / 5);
    g_subprocess_send_signal (e.process, signals[i]);
  }
  g_usleep (G_USEC_PER_SEC / 5);
  /* still there (the identifier goes once it has ended and been waited for) */
  g_assert_nonnull (g_subprocess_get_identifier (e.process));
  evaluator_send (&e, "init-l2=3e-4");
  g_autofree char *second = evaluator_read (&e);
  g_assert_nonnull (second);
  const char *keys[] = { "val_loss", "val_error", "test_loss", "test_error", "train_loss" };
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++) {
    g_autofree char *got = value_of (first, keys[i], "=");
    g_autofree char *again = value_of (second, keys[i], "=");
    g_assert_cmpstr (again, ==, got);
  }
  g_assert_cmpint (evaluator_finish (&e), ==, 0);
}

/* drmad @args with stdin @input in the environment @env; its exit status,
 * stdout in @out. */
static int
run_with_input (const char *const *args, char **env, const char *input, char **out)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) g_getenv ("DRMAD_BIN"));
  for (const char *const *a = args; *a; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  g_ptr_array_add (argv, NULL);
  g_autoptr (GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                               | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_environ (launcher, env);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) process = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_autofree char *err = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (process, input, NULL, out, &err, &error));
  g_assert_no_error (error);
  g_test_message ("stdout: %s\nstderr: %s", *out, err);
  g_assert_true (g_subprocess_get_if_exited (process));
  return g_subprocess_get_exit_status (process);
}

/* In a locale that writes 0,5 (de_DE, compiled here with localedef), the
 * result line's seconds and a run's "best … as a drmad --evaluate line" are
 * still written 0.5: the line reads back into --evaluate as it is. */
static void
test_decimal_comma_locale (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-evaluate", NULL);
  g_auto (GStrv) env = decimal_comma_environ (dir);
  if (!env) {
    remove_tree (dir);
    return;
  }
  g_autofree char *folder = g_build_filename (dir, "run", NULL);
  const char *run[] = { "--no-gui", "--meta-iters", "2", "--iters", "4", "--segments", "1", "--train-size", "100",
                        "--val-size", "50", "--test-size", "10", "--layers", "784,5,10", "--out", folder, NULL };
  g_autofree char *out = NULL;
  g_assert_cmpint (run_with_input (run, env, "", &out), ==, 0);
  const char *marker = "as a drmad --evaluate line): ";
  const char *at = strstr (out, marker);
  g_assert_nonnull (at);
  g_autofree char *best = g_strndup (at + strlen (marker), strcspn (at + strlen (marker), "\n"));
  g_assert_null (strchr (best, ','));
  const char *evaluate[] = { "--no-gui", "--iters", "4", "--segments", "1", "--train-size", "100", "--val-size", "50",
                             "--test-size", "10", "--layers", "784,5,10", "--evaluate", NULL };
  g_autofree char *line = g_strconcat (best, "\n", NULL);
  g_autofree char *result = NULL;
  g_assert_cmpint (run_with_input (evaluate, env, line, &result), ==, 0);
  g_assert_true (g_str_has_prefix (result, "val_loss="));
  g_assert_null (strchr (result, ','));
  g_autofree char *seconds = value_of (result, "seconds", "=");
  g_assert_nonnull (strchr (seconds, '.'));
  remove_tree (dir);
}

/* Standard input that cannot be read is not the end of the input: status 1
 * and one line on stderr, not status 0 as if every line had been answered. */
static void
test_unreadable_input (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-evaluate", NULL);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) g_getenv ("DRMAD_BIN"));
  for (const char *const *a = small; *a; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  g_ptr_array_add (argv, "--evaluate");
  g_ptr_array_add (argv, NULL);
  g_autoptr (GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_stdin_file_path (launcher, dir);   /* read(): EISDIR */
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) process = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_autofree char *out = NULL, *err = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (process, NULL, NULL, &out, &err, &error));
  g_assert_no_error (error);
  g_test_message ("stderr: %s", err);
  g_assert_true (g_subprocess_get_if_exited (process));
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 1);
  g_assert_cmpstr (out, ==, "");
  g_assert_nonnull (strstr (err, "cannot read standard input after 0 lines"));
  remove_tree (dir);
}

/* The parser alone: global keys, then entries, in natural units. */
static void
test_parse_line (void)
{
  static const guint sizes[] = { 4, 3, 2 };
  DrmadOptions options = { 0 };
  drmad_hyper_config_init (&options.hyper);
  options.hyper.l2 = DRMAD_L2_PER_NEURON;
  options.hyper.learn_lr = options.hyper.learn_momentum = TRUE;
  options.hyper.segments = 2;
  options.hyper.steps = 10;
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadHyper) hyper =
    drmad_evaluate_parse_line (&options, sizes, 3,
                               "momentum/layer2/seg1=0.5 init-l2=1e-3,2e-3 l2/layer1/in2=0.25 init-momentum=0.8 "
                               "lr/layer1/seg0=0.3\n", &error);
  g_assert_no_error (error);
  g_assert_nonnull (hyper);
  for (gsize i = 0; i < drmad_hyper_get_n (hyper); i++) {
    const char *name = drmad_hyper_get_name (hyper, i);
    DrmadHyperEntry entry = drmad_hyper_get_entry (hyper, i);
    double expected = g_str_equal (name, "l2/layer1/in2") ? 0.25
                      : entry.kind == DRMAD_GROUP_L2 ? (entry.layer == 1 ? 1e-3 : 2e-3)
                      : g_str_equal (name, "lr/layer1/seg0") ? 0.3
                      : entry.kind == DRMAD_GROUP_LR ? 0.1
                      : g_str_equal (name, "momentum/layer2/seg1") ? 0.5 : 0.8;
    g_assert_cmpfloat_with_epsilon (drmad_hyper_get_natural (hyper, i), expected, 1e-15);
  }
  /* Blank and comment lines: no θ, no error. */
  const char *nothing[] = { "", "\n", "  \t\n", "# init-l2=abc", "   # x" };
  for (guint i = 0; i < G_N_ELEMENTS (nothing); i++) {
    g_assert_null (drmad_evaluate_parse_line (&options, sizes, 3, nothing[i], &error));
    g_assert_no_error (error);
  }
  /* The last entry of each layer, and one past it. */
  g_autoptr (DrmadHyper) last = drmad_evaluate_parse_line (&options, sizes, 3, "l2/layer2/in2=1e-5", &error);
  g_assert_no_error (error);
  g_assert_null (drmad_evaluate_parse_line (&options, sizes, 3, "l2/layer2/in3=1e-5", &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "l2/layer2/in3"));
  g_clear_error (&error);
  g_assert_null (drmad_evaluate_parse_line (&options, sizes, 3, "momentum/layer1/seg0=1", &error));
  g_assert_nonnull (strstr (error->message, "from 1e-12 up to 0.999999999999"));
  g_clear_error (&error);
  /* With --learn none θ has no entries, and the message says so in a sentence. */
  DrmadOptions none = options;
  none.hyper.l2 = DRMAD_L2_FIXED;
  none.hyper.learn_lr = none.hyper.learn_momentum = none.hyper.learn_init_scale = FALSE;
  g_autoptr (DrmadHyper) fixed = drmad_evaluate_parse_line (&none, sizes, 3, "init-l2=1e-3", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (drmad_hyper_get_n (fixed), ==, 0);
  g_assert_null (drmad_evaluate_parse_line (&none, sizes, 3, "l2/layer1=1e-3", &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==, "θ has no entry l2/layer1: θ has no entries (--learn none); a line sets "
                   "init-l2, init-lr, init-momentum, init-scale");
}

/* t10k labels (10 000, IDX, uncompressed): label (i + @shift) mod 10 for image i. */
static void
write_test_labels (const char *path, guint shift)
{
  g_autofree guint8 *file = g_malloc (8 + 10000);
  const guint8 head[8] = { 0, 0, 8, 1, 0, 0, 0x27, 0x10 };
  memcpy (file, head, 8);
  for (guint i = 0; i < 10000; i++)
    file[8 + i] = (i + shift) % 10;
  g_autoptr (GError) error = NULL;
  CHECK (g_file_set_contents (path, (const char *) file, 8 + 10000, &error));
}

/* The session leaves a test set of the dataset's own on disk until it is
 * asked for, then draws the same one again; a test set changed or gone
 * since the session opened is an error, not other numbers. */
static void
test_session_deferred_test (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = test_tmp_dir ("drmad-deferred-test", &error);
  g_assert_no_error (error);
  const char *linked[] = { "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz" };
  for (guint i = 0; i < G_N_ELEMENTS (linked); i++) {
    g_autofree char *from = g_build_filename ("/usr/share/datasets/fashion-mnist", linked[i], NULL);
    g_autofree char *to = g_build_filename (dir, linked[i], NULL);
    g_assert_cmpint (symlink (from, to), ==, 0);
  }
  g_autofree char *labels = g_build_filename (dir, "t10k-labels-idx1-ubyte", NULL);
  g_autofree char *images = g_build_filename (dir, "t10k-images-idx3-ubyte.gz", NULL);
  write_test_labels (labels, 0);
  const char *settings[][2] = {
    { "dataset", dir }, { "train-size", "600" }, { "val-size", "300" }, { "test-size", "200" },
    { "layers", "784,20,10" }, { "iters", "20" }, { "batch", "50" }, { "seed", "4" },
  };
  g_autoptr (GHashTable) values = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < G_N_ELEMENTS (settings); i++)
    g_hash_table_insert (values, (gpointer) settings[i][0], (gpointer) settings[i][1]);
  DrmadOptions options = { 0 };
  CHECK (drmad_options_from_values (&options, values, &error));

  /* Unchanged: drawn on the first call, the same set after. */
  DrmadSession s = { 0 };
  CHECK (drmad_session_open (&s, &options, options.precision, &error));
  g_assert_null (s.test);
  g_assert_cmpuint (s.n_test, ==, 200);
  DrmadDeviceData *test = drmad_session_get_test (&s, &error);
  g_assert_no_error (error);
  g_assert_nonnull (test);
  g_assert_cmpuint (drmad_device_data_get_n (test), ==, 200);
  g_assert_true (drmad_session_get_test (&s, &error) == test);
  drmad_session_clear (&s);

  /* Other labels since the session opened. */
  CHECK (drmad_session_open (&s, &options, options.precision, &error));
  write_test_labels (labels, 1);
  g_assert_null (drmad_session_get_test (&s, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "changed since the run began"));
  g_clear_error (&error);
  drmad_session_clear (&s);

  /* The test images gone since the session opened. */
  CHECK (drmad_session_open (&s, &options, options.precision, &error));
  g_assert_cmpint (g_unlink (images), ==, 0);
  g_assert_null (drmad_session_get_test (&s, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_NOT_FOUND);
  g_clear_error (&error);
  drmad_session_clear (&s);

  drmad_options_clear (&options);
  remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/evaluate/parse-line", test_parse_line);
  if (g_getenv ("DRMAD_BIN")) {
    g_test_add_func ("/evaluate/against-train-once", test_against_train_once);
    g_test_add_func ("/evaluate/against-library", test_against_library);
    g_test_add_func ("/evaluate/bad-lines", test_bad_lines);
    g_test_add_func ("/evaluate/refuses-out", test_refuses_out);
    g_test_add_func ("/evaluate/unreadable-input", test_unreadable_input);
    g_test_add_func ("/evaluate/long-blank-line", test_long_blank_line);
    g_test_add_func ("/evaluate/decimal-comma-locale", test_decimal_comma_locale);
    g_test_add_func ("/evaluate/session-deferred-test", test_session_deferred_test);
    g_test_add_func ("/evaluate/ignored-signals-stay-ignored", test_ignored_signals_stay_ignored);
  }
  return g_test_run ();
}
