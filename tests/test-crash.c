/* Kill a headless run with SIGKILL at seeded random moments,
 * check that what it left is readable, resume it, and check that the final
 * hyperparameters equal an uninterrupted run's bit for bit. */
#include "drmad.h"
#include "test-util.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#define TRIALS 20

static const char *config[] = { "--no-gui", "--iters", "30", "--train-size", "300", "--val-size", "200",
                                "--test-size", "500", "--layers", "784,16,10", "--batch", "30",
                                "--learn", "l2,lr,momentum", "--segments", "2", "--meta-iters", "6", NULL };

static GPtrArray *
command (const char *const *options, const char *const *extra)
{
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) g_getenv ("DRMAD_BIN"));
  for (const char *const *a = config; *a; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  for (const char *const *a = options; *a; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  for (const char *const *a = extra; *a; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  g_ptr_array_add (argv, NULL);
  return argv;
}

static int
run_to_end (const char *const *argv)
{
  int status;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                               NULL, NULL, NULL, NULL, &status, &error));
  g_assert_no_error (error);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128;
}

static char *
read_file (const char *folder, const char *name)
{
  g_autofree char *path = g_build_filename (folder, name, NULL);
  char *text = NULL;
  g_file_get_contents (path, &text, NULL, NULL);
  return text;
}

/* Whatever a killed run left must read back: a checkpoint passes its CRC,
 * the CSVs are whole lines with their header, but for a piece of a row
 * after hyper.csv's last newline: its rows are appended in place
 * (lib/run.c, append_hyper_csv), and a kill within an append leaves one,
 * of a meta-iteration the checkpoint does not hold, which the resume cuts
 * (its hyper.csv is then checked against the uninterrupted run's). */
static void
assert_readable (const char *folder)
{
  g_autofree char *checkpoint = g_build_filename (folder, "checkpoint.bin", NULL);
  if (g_file_test (checkpoint, G_FILE_TEST_EXISTS)) {
    g_autoptr (GError) error = NULL;
    g_autoptr (GBytes) payload = drmad_checkpoint_read (checkpoint, &error);
    g_assert_no_error (error);
  }
  const char *csvs[] = { "history.csv", "hyper.csv" };
  for (guint i = 0; i < G_N_ELEMENTS (csvs); i++) {
    char *text = read_file (folder, csvs[i]);
    if (!text)
      continue;
    g_assert_true (g_str_has_prefix (text, "iteration,"));
    gsize length = strlen (text), piece = length;
    while (piece > 0 && text[piece - 1] != '\n')
      piece--;
    if (piece < length) {
      g_test_message ("%s/%s ends with a piece of a row: \"%s\"", folder, csvs[i], text + piece);
      g_assert_cmpstr (csvs[i], ==, "hyper.csv");
      g_assert_true (g_ascii_isdigit (text[piece]));   /* a row's start: its iteration */
    }
    g_free (text);
  }
}

/* @trials runs with @options added, each killed at a random moment and
 * resumed to the end. */
static void
kill_and_resume (const char *const *options, guint trials)
{
  if (!g_file_test ("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", G_FILE_TEST_EXISTS)) {
    g_test_skip ("Fashion-MNIST is not installed");
    return;
  }
  g_autofree char *dir = test_tmp_dir ("drmad-crash", NULL);
  g_autofree char *reference = g_build_filename (dir, "reference", NULL);
  g_autoptr (GPtrArray) reference_argv = command (options, (const char *[]){ "--out", reference, NULL });
  gint64 start = g_get_monotonic_time ();
  g_assert_cmpint (run_to_end ((const char *const *) reference_argv->pdata), ==, 0);
  double duration = (g_get_monotonic_time () - start) / 1e6;
  g_autofree char *expected = read_file (reference, "hyper.csv");
  g_assert_nonnull (expected);

  GRand *rand = g_rand_new_with_seed (2026);
  guint killed_mid_run = 0;
  for (guint trial = 0; trial < trials; trial++) {
    g_autofree char *name = g_strdup_printf ("trial-%02u", trial);
    g_autofree char *folder = g_build_filename (dir, name, NULL);
    g_autoptr (GPtrArray) argv = command (options, (const char *[]){ "--out", folder, NULL });
    GPid pid;
    g_autoptr (GError) error = NULL;
    g_assert_true (g_spawn_async (NULL, (char **) argv->pdata, NULL,
                                  G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                                  NULL, NULL, &pid, &error));
    double delay = g_rand_double_range (rand, 0.05, duration);
    g_usleep ((gulong) (delay * 1e6));
    kill (pid, SIGKILL);
    int status;
    waitpid (pid, &status, 0);
    g_spawn_close_pid (pid);
    killed_mid_run += WIFSIGNALED (status);
    /* A run that finished before the kill took less than the delay: the
     * reference ran slower (a busier machine), so later delays are drawn
     * within what a run takes now. */
    if (!WIFSIGNALED (status))
      duration = MAX (delay, 0.1);
    assert_readable (folder);
    /* Resume (or start over when it died before run.ini existed) until done. */
    g_autofree char *ini = g_build_filename (folder, "run.ini", NULL);
    g_autoptr (GPtrArray) again = g_file_test (ini, G_FILE_TEST_EXISTS)
      ? ({ GPtrArray *a = g_ptr_array_new ();
           const char *args[] = { g_getenv ("DRMAD_BIN"), "--no-gui", "--resume", folder, NULL };
           for (guint i = 0; i < G_N_ELEMENTS (args); i++) g_ptr_array_add (a, (gpointer) args[i]);
           a; })
      : command (options, (const char *[]){ "--out", folder, "--force", NULL });
    g_assert_cmpint (run_to_end ((const char *const *) again->pdata), ==, 0);
    g_autofree char *got = read_file (folder, "hyper.csv");
    g_test_message ("trial %u: killed after %.2f s of %.2f s (%s), resumed", trial, delay, duration,
                    WIFSIGNALED (status) ? "mid-run" : "after it finished");
    g_assert_cmpstr (got, ==, expected);
    /* No temporary files survive a resume (the lock file stays: it is the folder's). */
    g_autoptr (GDir) listing = g_dir_open (folder, 0, NULL);
    const char *entry;
    while ((entry = g_dir_read_name (listing)))
      if ((entry[0] == '.' && !g_str_equal (entry, ".drmad-lock")) || strstr (entry, ".tmp-"))
        g_error ("trial %u left %s/%s", trial, folder, entry);
  }
  g_rand_free (rand);
  g_test_message ("%u of %u trials were killed mid-run", killed_mid_run, trials);
  g_assert_cmpuint (killed_mid_run, >=, trials / 2);
  g_autofree char *cleanup = g_strdup_printf ("rm -rf '%s'", dir);
  g_assert_cmpint (system (cleanup), ==, 0);
}

static void
test_kill_and_resume (void)
{
  kill_and_resume ((const char *[]){ NULL }, TRIALS);
}

/* The same with an L2 per weight (12 704 + 8 hyperparameters) and
 * DRMAD_THETA_KEPT_MAX=1000: the checkpoint keeps θ of the last
 * meta-iteration only, so a resume cannot write hyper.csv anew and
 * continues the file, cut to the checkpoint's rows (a kill between hyper.csv
 * and the checkpoint leaves one meta-iteration's rows more). */
static void
test_kill_and_resume_large_theta (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
  g_setenv ("DRMAD_THETA_KEPT_MAX", "1000", TRUE);
  kill_and_resume ((const char *[]){ "--l2-granularity", "weight", NULL }, TRIALS / 2);
  g_unsetenv ("DRMAD_THETA_KEPT_MAX");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (!g_getenv ("DRMAD_BIN"))
    return 77;
  g_test_add_func ("/crash/kill-and-resume", test_kill_and_resume);
  g_test_add_func ("/crash/kill-and-resume-large-theta", test_kill_and_resume_large_theta);
  return g_test_run ();
}
