/* What the documents hand a user besides the program itself: the example
 * programs (examples/, docs/install.md), scripts/paper-experiment.sh
 * (docs/experiments.md) and fuzz/run.sh (docs/reliability.md). Their --help answers at once, and an argument they
 * do not take is refused with exit status 2 before any work starts. */
#include <glib.h>
#include <string.h>

#include "test-util.h"

/* Runs @argv in @cwd with @env_key=@env_value added (when set); returns the
 * exit status, with stdout and stderr in @out and @err. */
static int
run (const char *const *argv, const char *cwd, const char *env_key, const char *env_value, char **out, char **err)
{
  g_auto (GStrv) env = g_get_environ ();
  if (env_key)
    env = g_environ_setenv (env, env_key, env_value, TRUE);
  int wait_status;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (cwd, (char **) argv, env, G_SPAWN_SEARCH_PATH, NULL, NULL, out, err, &wait_status, &error));
  g_assert_no_error (error);
  g_test_message ("%s: stdout: %s\nstderr: %s", argv[0], *out, *err);
  return WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : 128 + WTERMSIG (wait_status);
}

static void
test_example_arguments (void)
{
  g_auto (GStrv) examples = g_strsplit (g_getenv ("DRMAD_EXAMPLES"), ":", -1);
  for (guint i = 0; examples[i]; i++) {
    const char *exe = examples[i];
    g_autofree char *help_out = NULL, *help_err = NULL;
    g_assert_cmpint (run ((const char *[]){ exe, "--help", NULL }, NULL, NULL, NULL, &help_out, &help_err), ==, 0);
    g_assert_true (g_str_has_prefix (help_out, "Usage: "));
    g_assert_nonnull (strstr (help_out, "Fashion-MNIST"));
    /* It said what it does and did nothing: no device opened, no training. */
    g_assert_null (strstr (help_out, "device:"));
    g_assert_null (strstr (help_out, "meta-iteration 1:"));
    g_assert_null (strstr (help_out, "test accuracy"));
    g_assert_cmpstr (help_err, ==, "");

    const char *bad[][3] = { { "--bogus", NULL }, { "extra", NULL }, { "--help", "more", NULL } };
    for (guint b = 0; b < G_N_ELEMENTS (bad); b++) {
      const char *argv[] = { exe, bad[b][0], bad[b][1], NULL };
      g_autofree char *out = NULL, *err = NULL;
      g_assert_cmpint (run (argv, NULL, NULL, NULL, &out, &err), ==, 2);
      g_autofree char *named = g_strdup_printf ("unexpected argument %s: this example takes none",
                                                bad[b][1] ? bad[b][1] : bad[b][0]);
      g_assert_nonnull (strstr (err, named));
      g_assert_cmpstr (out, ==, "");
    }
  }
}

static void
test_paper_experiment_arguments (void)
{
  g_autofree char *script = g_build_filename (g_getenv ("DRMAD_SOURCE_ROOT"), "scripts", "paper-experiment.sh", NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = test_tmp_dir ("drmad-paper", &error);
  g_assert_no_error (error);

  /* --help prints the usage and runs nothing; it used to make a folder
   * named --help and start the 30-minute experiment. */
  g_autofree char *help_out = NULL, *help_err = NULL;
  g_assert_cmpint (run ((const char *[]){ "bash", script, "--help", NULL }, dir, NULL, NULL, &help_out, &help_err),
                   ==, 0);
  g_assert_nonnull (strstr (help_out, "scripts/paper-experiment.sh [OUT]"));
  g_assert_nonnull (strstr (help_out, "Exit status"));
  g_autofree char *help_folder = g_build_filename (dir, "--help", NULL);
  g_assert_false (g_file_test (help_folder, G_FILE_TEST_EXISTS));

  struct { const char *args[3]; const char *drmad; const char *fragment; } bad[] = {
    { { "-x", NULL }, NULL, "unknown option -x" },
    { { "one", "two", NULL }, NULL, "expected at most one argument, the output folder; got 2" },
    { { "out", NULL }, "/no/such/drmad", "no drmad program at /no/such/drmad" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    const char *argv[] = { "bash", script, bad[i].args[0], bad[i].args[1], NULL };
    g_autofree char *out = NULL, *err = NULL;
    g_assert_cmpint (run (argv, dir, bad[i].drmad ? "DRMAD" : NULL, bad[i].drmad, &out, &err), ==, 2);
    g_assert_nonnull (strstr (err, bad[i].fragment));
  }
  g_autofree char *out_folder = g_build_filename (dir, "out", NULL);
  g_assert_false (g_file_test (out_folder, G_FILE_TEST_EXISTS));

  /* A drmad that fails every run: each failure is reported with the
   * program's last line, and the script exits 1 (it exited 0). A relative
   * OUT is taken from the folder the script runs in. */
  g_autofree char *fake = g_build_filename (dir, "failing-drmad", NULL);
  g_assert_true (g_file_set_contents (fake, "#!/bin/sh\necho 'drmad: made to fail' >&2\nexit 1\n", -1, NULL));
  g_assert_cmpint (g_chmod (fake, 0755), ==, 0);
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (run ((const char *[]){ "bash", script, "results", NULL }, dir, "DRMAD", fake, &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "sweep momentum 0.95 l2 1e-5 failed: drmad: made to fail"));
  g_assert_nonnull (strstr (err, "exact momentum 0.1: exit 1"));
  g_autofree char *sweep = g_build_filename (dir, "results", "sweep.tsv", NULL);
  g_assert_true (g_file_test (sweep, G_FILE_TEST_IS_REGULAR));
  remove_tree (dir);
}

/* fuzz/run.sh (docs/reliability.md): --help, and a target name or --runs
 * value it cannot use refused before the clang build. Under `timeout`, so
 * that a regression that starts the build fails here rather than hangs. */
static void
test_fuzz_run_arguments (void)
{
  g_autofree char *script = g_build_filename (g_getenv ("DRMAD_SOURCE_ROOT"), "fuzz", "run.sh", NULL);
  g_autofree char *help_out = NULL, *help_err = NULL;
  g_assert_cmpint (run ((const char *[]){ "timeout", "20", "bash", script, "--help", NULL }, NULL, NULL, NULL,
                        &help_out, &help_err), ==, 0);
  g_assert_nonnull (strstr (help_out, "fuzz/run.sh [SECONDS_PER_TARGET | --runs N] [TARGET"));
  g_assert_nonnull (strstr (help_out, "Targets: idx png-folder cifar10 run-ini checkpoint csv-rows evaluate-line."));
  struct { const char *args[3]; const char *fragment; } bad[] = {
    { { "60", "idxx", NULL }, "no target \"idxx\": expected idx png-folder cifar10 run-ini checkpoint csv-rows evaluate-line" },
    { { "--bogus", NULL }, "no target \"--bogus\"" },
    { { "--runs", NULL }, "--runs needs a number of executions" },
    { { "--runs", "many", NULL }, "--runs needs a number of executions" },
    { { "0", "idx", NULL }, "0 seconds: give 1 or more" },   /* libFuzzer: no limit at all */
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    const char *argv[] = { "timeout", "20", "bash", script, bad[i].args[0], bad[i].args[1], NULL };
    g_autofree char *out = NULL, *err = NULL;
    g_assert_cmpint (run (argv, NULL, NULL, NULL, &out, &err), ==, 2);
    g_assert_nonnull (strstr (err, bad[i].fragment));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/examples/arguments", test_example_arguments);
  g_test_add_func ("/scripts/paper-experiment-arguments", test_paper_experiment_arguments);
  g_test_add_func ("/scripts/fuzz-run-arguments", test_fuzz_run_arguments);
  return g_test_run ();
}
