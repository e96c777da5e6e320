/* NaN injected into the data, into a gradient and into a
 * hypergradient is caught — by the loaders, by the divergence guard — and
 * never reaches a checkpoint or a CSV. Also descriptors and memory under
 * failures (fsync, address space, a lock file), and a process that runs
 * job after job getting back what each took (docs/reliability.md,
 * "Long-lived use"). */
#include "drmad.h"
#include "net-private.h"
#include "blas.h"
#include "test-util.h"

#include <math.h>
#include <string.h>
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sys/wait.h>

static const char *config[] = { "--no-gui", "--iters", "30", "--train-size", "300", "--val-size", "200",
                                "--test-size", "500", "--layers", "784,16,10", "--batch", "30",
                                "--learn", "l2,lr", "--meta-iters", "5", NULL };


/* Runs drmad with DRMAD_INJECT_FAULT=@fault; returns its stdout. */
static char *
run_with_fault (const char *fault, const char *folder, int *exit_status)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) g_getenv ("DRMAD_BIN"));
  for (const char **a = config; *a; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  g_ptr_array_add (argv, (gpointer) "--out");
  g_ptr_array_add (argv, (gpointer) folder);
  g_ptr_array_add (argv, NULL);
  g_auto (GStrv) env = g_environ_setenv (g_get_environ (), "DRMAD_INJECT_FAULT", fault, TRUE);
  char *out = NULL;
  int status;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, env, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                               &out, NULL, &status, &error));
  g_assert_no_error (error);
  *exit_status = WIFEXITED (status) ? WEXITSTATUS (status) : -1;
  return out;
}

/* The offset of the first of @count doubles at @at in @data that is not
 * finite, or G_MAXSIZE. */
static gsize
not_finite_in (const guint8 *data, gsize at, gsize count)
{
  for (gsize i = 0; i < count; i++) {
    double v;
    memcpy (&v, data + at + i * sizeof v, sizeof v);
    if (!isfinite (v))
      return at + i * sizeof v;
  }
  return G_MAXSIZE;
}

/* The offset of the first double of checkpoint payload @data that is not
 * finite, or G_MAXSIZE: every double, walked as version 6 lays them out
 * (lib/run.c, checkpoint_payload: 8 header integers, the optimiser state,
 * the identity, each record's 15 counts, 7 values, 3 fidelity numbers,
 * group norms, cells and θ where count 14 says so, the start θ; lib/meta.c,
 * drmad_meta_save_state: 5 counters, 2 doubles, 1 counter, 8 vectors of n).
 * The walk must end at the payload's end: a layout that changed fails here
 * rather than leaving a part unread. */
static gsize
payload_not_finite (const guint8 *data, gsize size)
{
  guint64 header[8];
  g_assert_cmpuint (size, >=, sizeof header);
  memcpy (header, data, sizeof header);
  gsize n = header[2], groups = header[3], cells = header[5];
  gsize state = sizeof header;
  g_assert_cmpuint (header[0], ==, 8 * sizeof (guint64) + 8 * n * sizeof (double));
  gsize found = not_finite_in (data, state + 5 * sizeof (guint64), 2);
  if (found == G_MAXSIZE)
    found = not_finite_in (data, state + 8 * sizeof (guint64), 8 * n);
  gsize at = state + header[0] + header[4];
  for (guint64 i = 0; i < header[1] && found == G_MAXSIZE; i++) {
    guint64 counts[15];
    g_assert_cmpuint (size - at, >=, sizeof counts);
    memcpy (counts, data + at, sizeof counts);
    at += sizeof counts;
    gsize doubles = 7 + 3 + groups + cells + (counts[14] ? n : 0);
    g_assert_cmpuint (size - at, >=, doubles * sizeof (double));
    found = not_finite_in (data, at, doubles);
    at += doubles * sizeof (double);
  }
  if (found != G_MAXSIZE)
    return found;
  g_assert_true (size - at == 0 || size - at == n * sizeof (double));   /* the start θ */
  return not_finite_in (data, at, (size - at) / sizeof (double));
}

static void
assert_no_nan_saved (const char *folder, gsize n_theta)
{
  const char *files[] = { "history.csv", "hyper.csv", "run.ini" };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++) {
    g_autofree char *path = g_build_filename (folder, files[i], NULL);
    g_autofree char *text = NULL;
    g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
    g_autofree char *lower = g_ascii_strdown (text, -1);
    g_assert_null (strstr (lower, "nan"));
    g_assert_null (strstr (lower, "inf"));
  }
  /* Every double in the checkpoint payload is finite. */
  g_autofree char *checkpoint = g_build_filename (folder, "checkpoint.bin", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) payload = drmad_checkpoint_read (checkpoint, &error);
  g_assert_no_error (error);
  gsize size;
  const guint8 *data = g_bytes_get_data (payload, &size);
  guint64 header[8];
  memcpy (header, data, sizeof header);
  g_assert_cmpuint (header[2], ==, n_theta);
  g_assert_cmpuint (payload_not_finite (data, size), ==, G_MAXSIZE);
  /* and the walk sees a NaN in the last record's last cell, a summary the
   * plots draw (the scan stopped inside the state before) */
  g_autofree guint8 *copy = g_memdup2 (data, size);
  gsize record_end = size;
  guint64 counts[15];
  gsize at = sizeof header + header[0] + header[4];
  for (guint64 i = 0; i < header[1]; i++) {
    memcpy (counts, copy + at, sizeof counts);
    at += sizeof counts + (7 + 3 + header[3] + header[5]) * sizeof (double);
    record_end = at;
    at += counts[14] ? n_theta * sizeof (double) : 0;
  }
  const double nan = NAN;
  memcpy (copy + record_end - sizeof nan, &nan, sizeof nan);
  g_assert_cmpuint (payload_not_finite (copy, size), ==, record_end - sizeof nan);
}

static void
test_fault (gconstpointer data)
{
  SKIP_WITHOUT_TEST_HOOKS ();
  const char *fault = data;
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-fault", NULL);
  g_autofree char *folder = g_build_filename (dir, "run", NULL);
  int status;
  g_autofree char *out = run_with_fault (fault, folder, &status);
  g_test_message ("%s", out);
  g_assert_cmpint (status, ==, 0);                 /* the guard handled it; the run finished */
  g_assert_nonnull (strstr (out, "REJECTED"));
  g_assert_nonnull (strstr (out, "meta 5/5"));
  g_assert_nonnull (strstr (out, "final  learned"));
  assert_no_nan_saved (folder, 2 + 2 * 4);  /* L2 for 2 layers, lr for 2 layers × 4 segments */
  g_autofree char *history_path = g_build_filename (folder, "history.csv", NULL);
  g_autofree char *history = NULL;
  g_assert_true (g_file_get_contents (history_path, &history, NULL, NULL));
  g_assert_nonnull (strstr (history, ",1,"));      /* one row marked rejected */
}

/* NaN in the data is refused where the data come in, naming the example. */
static void
test_nan_in_data (void)
{
  float x[6] = { 0, 1, 2, 3, NAN, 5 };
  gint32 y[3] = { 0, 1, 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadDataset) ds = drmad_dataset_new_from_arrays (3, 2, 2, x, y, &error);
  g_assert_null (ds);
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "feature 1 of example 3 "));   /* x[4]: counted from 1 */
}

/* NaN that reaches the device anyway stops training with DIVERGED, not a silent NaN model. */
static void
test_nan_on_device (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadDevice) device = drmad_device_open (NULL, &error);
  if (!device) {
    g_test_skip (error->message);
    return;
  }
  float x[40];
  gint32 y[10];
  for (guint i = 0; i < 40; i++)
    x[i] = (i % 7) / 7.0;
  for (guint i = 0; i < 10; i++)
    y[i] = i % 2;
  g_autoptr (DrmadDataset) ds = drmad_dataset_new_from_arrays (10, 4, 2, x, y, &error);
  g_autoptr (DrmadDeviceData) data = drmad_device_data_new (device, DRMAD_PRECISION_FLOAT32, ds, &error);
  const float nan = NAN;
  CHECK (drmad_buffer_write (data->features, 3 * sizeof (float), sizeof nan, &nan, &error));
  guint sizes[] = { 4, 3, 2 };
  g_autoptr (DrmadNet) net = drmad_net_new (device, sizes, 3, DRMAD_ACTIVATION_RELU, DRMAD_PRECISION_FLOAT32, 5, &error);
  g_autoptr (DrmadTrainer) trainer = drmad_trainer_new (net, &error);
  CHECK (drmad_net_init_params (net, 1, NULL, &error));
  g_assert_false (drmad_trainer_run (trainer, data, 1, 0, 40, NULL, NULL, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_DIVERGED);
}

/* A full disk (DRMAD_INJECT_FAULT=nospace:N: the Nth file write and every
 * later one fail with ENOSPC) at each point of a run: writing run.ini, a
 * meta-iteration's record, the final history. Status 1, not 2 (the command
 * was right); the message names the file and says what is kept; once there
 * is room, the same command or --resume finishes the run. Writes, in order:
 * run.ini, then per meta-iteration history.csv, hyper.csv, checkpoint.bin
 * and the three plots, then the final history.csv. */
static const char *small_run[] = { "--no-gui", "--iters", "20", "--train-size", "200", "--val-size", "50",
                                   "--test-size", "50", "--layers", "784,16,10", "--batch", "20", "--meta-iters",
                                   "2", NULL };

static void
test_full_disk (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-full", NULL);
  struct { const char *fault, *says; } cases[] = {
    { "nospace:1", "run the same command again" },                        /* run.ini */
    { "nospace:3", "starts it from the beginning" },                      /* meta-iteration 1's hyper.csv */
    { "nospace:8", "everything up to meta-iteration 1 is in" },           /* meta-iteration 2's history.csv */
    { "nospace:12", "everything up to meta-iteration 2 is in" },          /* meta-iteration 2's lr.png */
    { "nospace:14", "which runs the final evaluation again" },            /* the final history.csv */
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *folder = g_strdup_printf ("%s/run%u", dir, i);
    g_autofree char *out = NULL, *err = NULL, *err2 = NULL, *history = NULL;
    g_assert_cmpint (run_drmad (small_run, (const char *[]){ "--out", folder, NULL }, "DRMAD_INJECT_FAULT",
                                cases[i].fault, &out, &err), ==, 1);
    /* the final evaluation's numbers, measured but not written, are shown all the same */
    if (g_str_equal (cases[i].fault, "nospace:14")) {
      g_assert_nonnull (strstr (out, "final  learned: test_loss"));
      g_assert_nonnull (strstr (err, "measured but not recorded"));
    }
    g_assert_nonnull (strstr (err, "No space left on device"));
    g_assert_nonnull (strstr (err, cases[i].says));
    if (i == 0)   /* nothing was recorded, and the folder made for it is gone */
      g_assert_false (g_file_test (folder, G_FILE_TEST_EXISTS));
    if (i == 0)   /* the same command, with room, makes the run */
      g_assert_cmpint (run_drmad (small_run, (const char *[]){ "--out", folder, NULL }, NULL, NULL, NULL, &err2),
                       ==, 0);
    else {
      g_autofree char *checkpoint = g_build_filename (folder, "checkpoint.bin", NULL);
      g_autoptr (GError) error = NULL;
      g_autoptr (GBytes) payload = i == 1 ? NULL : drmad_checkpoint_read (checkpoint, &error);
      g_assert_no_error (error);   /* none yet at meta-iteration 1 */
      g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", folder, NULL }, NULL, NULL, NULL, NULL,
                                  &err2), ==, 0);
    }
    g_autofree char *history_path = g_build_filename (folder, "history.csv", NULL);
    g_assert_true (g_file_get_contents (history_path, &history, NULL, NULL));
    g_assert_nonnull (strstr (history, "\n2,"));
    g_assert_nonnull (strstr (history, "final-best"));
  }
  /* Resuming with more meta-iterations rewrites run.ini first: on a full
   * disk that fails with status 1 too, run.ini as it was. */
  g_autofree char *folder = g_strdup_printf ("%s/run0", dir), *err = NULL;
  g_autofree char *ini_path = g_build_filename (folder, "run.ini", NULL), *ini = NULL, *ini2 = NULL;
  g_assert_true (g_file_get_contents (ini_path, &ini, NULL, NULL));
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", folder, "--meta-iters", "3", NULL }, NULL,
                              "DRMAD_INJECT_FAULT", "nospace:1", NULL, &err), ==, 1);
  g_assert_nonnull (strstr (err, "then resume it again"));
  g_assert_true (g_file_get_contents (ini_path, &ini2, NULL, NULL));
  g_assert_cmpstr (ini2, ==, ini);
  remove_tree (dir);
}

/* OpenBLAS under an address-space limit (ulimit -v) that leaves too little
 * for its GEMM buffers (128 MiB a thread): it retries a failed mapping
 * forever, so its second thread spun at 100 % CPU for the whole run and the
 * program hung at exit. Loading it now refuses, naming the limit, and
 * starts no thread drmad does not use. In a subprocess: the limit and the
 * load are for the process. */
static void
test_blas_address_space (void)
{
  SKIP_UNDER_ASAN ("AddressSanitizer needs more address space than the limit leaves");
  if (g_test_subprocess ()) {
    g_autofree char *statm = NULL;
    g_assert_true (g_file_get_contents ("/proc/self/statm", &statm, NULL, NULL));
    guint64 pages = g_ascii_strtoull (statm, NULL, 10);
    struct rlimit limit = { .rlim_cur = pages * sysconf (_SC_PAGESIZE) + ((guint64) 100 << 20) };
    limit.rlim_max = limit.rlim_cur;
    g_assert_cmpint (setrlimit (RLIMIT_AS, &limit), ==, 0);
    g_autoptr (GError) error = NULL;
    g_assert_null (drmad_openblas (&error));
    g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_OUT_OF_MEMORY);
    g_assert_nonnull (strstr (error->message, "ulimit -v"));
    return;
  }
  if (!g_file_test ("/proc/self/statm", G_FILE_TEST_EXISTS)) {
    g_test_skip ("no /proc/self/statm to size the limit from");
    return;
  }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

/* The descriptors this process has open (/proc/self/fd), the one that
 * lists them excluded. */
static guint
open_descriptors (void)
{
  g_autoptr (GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  g_assert_nonnull (dir);
  guint n = 0;
  while (g_dir_read_name (dir))
    n++;
  return n - 1;
}

/* fsync() as a full disk reports it (ext4 with delayed allocation, NFS, a
 * quota counted at write-back) while fsync_fails is set: this program's own
 * definition, which the library linked into it calls. */
static gboolean fsync_fails;

int
fsync (int fd)
{
  if (fsync_fails) {
    errno = ENOSPC;
    return -1;
  }
  return syscall (SYS_fsync, fd);
}

/* drmad_write_file_atomic() whose fsync fails: NO_SPACE naming the file,
 * the earlier file as it was, no temporary file left, and its descriptor
 * closed (it stayed open, one lost per failed write, the run going on). */
static void
test_atomic_write_fsync_fails (void)
{
  if (!g_file_test ("/proc/self/fd", G_FILE_TEST_IS_DIR)) {
    g_test_skip ("no /proc/self/fd to count descriptors in");
    return;
  }
  g_autofree char *dir = test_tmp_dir ("drmad-fsync", NULL);
  g_autofree char *path = g_build_filename (dir, "history.csv", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (drmad_write_file_atomic (path, "earlier\n", 8, &error));
  g_assert_no_error (error);
  guint before = open_descriptors ();
  fsync_fails = TRUE;
  for (guint i = 0; i < 3; i++) {
    g_assert_false (drmad_write_file_atomic (path, "later\n", 6, &error));
    g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_NO_SPACE);
    g_assert_nonnull (strstr (error->message, path));
    g_clear_error (&error);
  }
  fsync_fails = FALSE;
  g_assert_cmpuint (open_descriptors (), ==, before);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "earlier\n");
  g_autoptr (GDir) listing = g_dir_open (dir, 0, NULL);
  guint files = 0;
  while (g_dir_read_name (listing))
    files++;
  g_assert_cmpuint (files, ==, 1);   /* history.csv alone */
  remove_tree (dir);
}

/* drmad_run_create() that makes a folder and cannot write its lock file
 * (here a file size limit of 0 bytes, as a full disk would), called with
 * NULL for the error, as GLib's convention allows: it read *error to tell a
 * busy lock from a failure, and crashed. It fails, and removes the folder
 * it made, with or without an error to set. In a subprocess: the limit is
 * the process's. */
static void
test_run_create_lock_fails (void)
{
  if (g_test_subprocess ()) {
    g_autofree char *dir = test_tmp_dir ("drmad-lockfail", NULL);
    g_autofree char *with = g_build_filename (dir, "with-error", NULL);
    g_autofree char *without = g_build_filename (dir, "without-error", NULL);
    signal (SIGXFSZ, SIG_IGN);
    struct rlimit old, limit;
    g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &old), ==, 0);
    limit = old;
    limit.rlim_cur = 0;
    g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);
    GError *error = NULL;
    DrmadRun *run = drmad_run_create (with, "[drmad]\n", FALSE, &error);
    DrmadRun *run_without = drmad_run_create (without, "[drmad]\n", FALSE, NULL);
    g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &old), ==, 0);
    g_assert_null (run);
    g_assert_null (run_without);
    g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_IO);
    g_assert_nonnull (strstr (error->message, "lock file"));
    g_error_free (error);
    g_assert_false (g_file_test (with, G_FILE_TEST_EXISTS));
    g_assert_false (g_file_test (without, G_FILE_TEST_EXISTS));
    remove_tree (dir);
    return;
  }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

/* A progress callback that stops the work at its fifth report. */
static gboolean
cancel_after_five (const char *phase, guint64 step, guint64 total, gpointer user_data)
{
  guint *calls = user_data;
  return ++*calls < 5;
}

/* Entries of @folder (its hidden ones too). */
static guint
count_entries (const char *folder)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  guint n = 0;
  while (dir && g_dir_read_name (dir))
    n++;
  return n;
}

/* One small job of a program that embeds the library and runs many in one
 * process (README, "the library"): its own device, data, net, θ and
 * optimiser, and a run in @base/runJ that records, is refused a second
 * writer, has a step cancelled, is resumed, and is replaced by a --force
 * run that never records; then a damaged data file is read. */
static void
long_lived_job (const char *base, guint j)
{
  g_autoptr (GError) error = NULL;
  guint n = 120, dim = 12, classes = 3;
  g_autofree float *x = g_new (float, n * dim);
  g_autofree gint32 *y = g_new (gint32, n);
  for (guint i = 0; i < n; i++) {
    y[i] = i % classes;
    for (guint d = 0; d < dim; d++)
      x[i * dim + d] = (float) ((i * 7 + d * 13 + j) % 17) / 17.0f + (d == (guint) y[i]);
  }
  g_autoptr (DrmadDataset) pool = drmad_dataset_new_from_arrays (n, dim, classes, x, y, &error);
  g_autoptr (DrmadSplit) split = drmad_dataset_split (pool, NULL, j + 1, 60, 30, 30, &error);
  g_assert_no_error (error);
  g_autoptr (DrmadDevice) device = drmad_device_open (NULL, &error);
  g_assert_no_error (error);
  g_autoptr (DrmadDeviceData) train = drmad_device_data_new (device, DRMAD_PRECISION_FLOAT32, split->train, &error);
  g_autoptr (DrmadDeviceData) val = drmad_device_data_new (device, DRMAD_PRECISION_FLOAT32, split->val, &error);
  guint sizes[] = { dim, 8, classes };
  g_autoptr (DrmadNet) net = drmad_net_new (device, sizes, 3, DRMAD_ACTIVATION_RELU, DRMAD_PRECISION_FLOAT32, 10, &error);
  g_assert_no_error (error);
  DrmadHyperConfig config;
  drmad_hyper_config_init (&config);
  config.learn_lr = TRUE;
  config.segments = 2;
  config.steps = 20;
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (net, &config, &error);
  DrmadReverseConfig reverse;
  drmad_reverse_config_init (&reverse);
  reverse.method = j % 2 ? DRMAD_METHOD_DRMAD : DRMAD_METHOD_AUTO;
  DrmadMetaConfig meta_config;
  drmad_meta_config_init (&meta_config);
  meta_config.fidelity_every = 2;
  g_autoptr (DrmadMeta) meta = drmad_meta_new (net, hyper, train, val, &reverse, &meta_config, &error);
  g_assert_no_error (error);

  g_autofree char *folder = g_strdup_printf ("%s/run%u", base, j);
  DrmadRun *run = drmad_run_create (folder, "[drmad]\n", FALSE, &error);
  g_assert_no_error (error);
  g_assert_null (drmad_run_create (folder, "[drmad]\n", TRUE, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_BUSY);
  g_clear_error (&error);
  g_assert_null (drmad_run_open (folder, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_BUSY);
  g_clear_error (&error);
  for (guint i = 0; i < 2; i++) {
    g_autoptr (DrmadMetaReport) report = drmad_meta_step (meta, NULL, NULL, &error);
    g_assert_no_error (error);
    CHECK (drmad_run_record (run, hyper, meta, report, &error));
  }
  guint calls = 0;
  g_assert_null (drmad_meta_step (meta, cancel_after_five, &calls, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_CANCELLED);
  g_clear_error (&error);
  drmad_run_free (run);
  g_assert_false (drmad_run_in_use (folder, NULL));

  g_autoptr (DrmadRun) again = drmad_run_open (folder, &error);
  g_assert_no_error (error);
  CHECK (drmad_run_restore (again, hyper, meta, &error));
  g_autoptr (DrmadMetaReport) report = drmad_meta_step (meta, NULL, NULL, &error);
  g_assert_no_error (error);
  CHECK (drmad_run_record (again, hyper, meta, report, &error));
  g_clear_pointer (&again, drmad_run_free);
  g_autoptr (DrmadRun) replacing = drmad_run_create (folder, "[drmad]\nforce\n", TRUE, &error);
  g_assert_no_error (error);
  g_clear_pointer (&replacing, drmad_run_free);
  g_assert_false (drmad_run_in_use (folder, NULL));

  g_autofree char *damaged = g_strdup_printf ("%s/damaged%u-idx", base, j);
  g_assert_true (g_file_set_contents (damaged, "\0\0\x08\x03\0\0\0\x05\0\0\0\x1c\0\0\0\x1c" "abc", 19, NULL));
  g_assert_null (drmad_dataset_load_idx (damaged, damaged, NULL, &error));
  g_assert_nonnull (error);
}

/* A program that runs job after job in one process gets back every
 * descriptor and thread each job took, and each job leaves its run folder
 * holding the run's files alone (no temporary file, no staging folder
 * beside it) and unlocked. The first job starts what lives as long as the
 * process (the BLAS, the host team); the counts after it are the ones the
 * next jobs must return to. */
static void
test_long_lived (void)
{
  if (!g_file_test ("/proc/self/fd", G_FILE_TEST_IS_DIR)) {
    g_test_skip ("no /proc/self to count descriptors and threads in");
    return;
  }
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadDevice) probe = drmad_device_open (NULL, &error);
  if (!probe) {
    g_test_skip (error->message);
    return;
  }
  g_clear_pointer (&probe, drmad_device_unref);
  g_autofree char *base = test_tmp_dir ("drmad-long-lived", NULL);
  long_lived_job (base, 0);
  guint descriptors = open_descriptors (), threads = count_entries ("/proc/self/task");
  const char *run_files[] = { ".drmad-lock", "run.ini", "history.csv", "hyper.csv", "checkpoint.bin" };
  for (guint j = 1; j <= 10; j++) {
    long_lived_job (base, j);
    g_assert_cmpuint (open_descriptors (), ==, descriptors);
    g_assert_cmpuint (count_entries ("/proc/self/task"), ==, threads);
    g_assert_cmpuint (count_entries (base), ==, 2 * (j + 1));   /* runJ and damagedJ-idx of each job */
    g_autofree char *folder = g_strdup_printf ("%s/run%u", base, j);
    g_assert_cmpuint (count_entries (folder), ==, G_N_ELEMENTS (run_files));
    for (guint i = 0; i < G_N_ELEMENTS (run_files); i++) {
      g_autofree char *path = g_build_filename (folder, run_files[i], NULL);
      g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
    }
    g_autofree char *history = g_build_filename (folder, "history.csv", NULL), *text = NULL;
    g_assert_true (g_file_get_contents (history, &text, NULL, NULL));
    guint lines = 0;
    for (const char *p = text; *p; p++)
      lines += *p == '\n';
    g_assert_cmpuint (lines, ==, 1 + 3);   /* the header and three meta-iterations: the replacement never recorded */
  }
  remove_tree (base);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (!g_getenv ("DRMAD_BIN"))
    return 77;
  g_test_add_func ("/faults/nan-in-data", test_nan_in_data);
  g_test_add_func ("/faults/nan-on-device", test_nan_on_device);
  g_test_add_data_func ("/faults/nan-in-gradient", "gradient:3", test_fault);
  g_test_add_data_func ("/faults/nan-in-hypergradient", "hypergradient:2", test_fault);
  g_test_add_func ("/faults/full-disk", test_full_disk);
  g_test_add_func ("/faults/blas-address-space", test_blas_address_space);
  g_test_add_func ("/faults/atomic-write-fsync-fails", test_atomic_write_fsync_fails);
  g_test_add_func ("/faults/run-create-lock-fails", test_run_create_lock_fails);
  g_test_add_func ("/faults/long-lived", test_long_lived);
  return g_test_run ();
}
