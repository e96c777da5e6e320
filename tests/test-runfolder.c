/* Run folders that cannot be corrupted (docs/reliability.md, "Run folders"):
 * one run per folder (the lock), a checkpoint tied to its settings and data,
 * refusals that delete nothing, --force that replaces an earlier run whole
 * or not at all, resume that updates run.ini, SIGINT and SIGTERM, a full
 * stdout, pipes where files are expected, file modes. Runs the real binary. */
#define _GNU_SOURCE   /* F_OFD_SETLK: hold_run_lock() in test-util.h */
#include <glib.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/fs.h>   /* FS_IOC_SETFLAGS, FS_IMMUTABLE_FL: make_unwritable() */
#include <signal.h>
#include <stdio.h>   /* renameat2() */
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drmad.h"
#include "test-util.h"

static const char *small[] = { "--no-gui", "--iters", "20", "--train-size", "200", "--val-size", "50",
                                "--test-size", "50", "--layers", "784,16,10", "--batch", "20", NULL };


/* Every umask() of the process comes here (the executable's definition
 * goes before libc's): the calls made while umask_watched are counted. */
static gboolean umask_watched;
static gint     umask_calls;

mode_t
umask (mode_t mask)
{
  if (g_atomic_int_get (&umask_watched))
    g_atomic_int_inc (&umask_calls);
  return (mode_t) syscall (SYS_umask, mask);
}

static int
drmad (const char *const *extra, char **err)
{
  return run_drmad (small, extra, NULL, NULL, NULL, err);
}

static char *
read_file (const char *folder, const char *name)
{
  g_autofree char *path = g_build_filename (folder, name, NULL);
  char *text = NULL;
  return g_file_get_contents (path, &text, NULL, NULL) ? text : NULL;
}

/* Names in @parent that start with @prefix. */
static guint
count_prefixed (const char *parent, const char *prefix)
{
  g_autoptr (GDir) dir = g_dir_open (parent, 0, NULL);
  const char *name;
  guint n = 0;
  while (dir && (name = g_dir_read_name (dir)))
    n += g_str_has_prefix (name, prefix);
  return n;
}

/* Starts drmad in the background; the caller waits or signals it. */
static GSubprocess *
start_drmad (const char *const *extra)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) g_getenv ("DRMAD_BIN"));
  for (const char *const *a = small; *a; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  for (const char *const *a = extra; *a; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  g_ptr_array_add (argv, NULL);
  g_autoptr (GError) error = NULL;
  GSubprocess *process = g_subprocess_newv ((const char *const *) argv->pdata,
                                            G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  return process;
}

/* Waits until @path exists (the background run has made its folder), at most 60 s. */
static void
wait_for (const char *path)
{
  for (int i = 0; i < 600 && !g_file_test (path, G_FILE_TEST_EXISTS); i++)
    g_usleep (100000);
  g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
}

/* One run per folder: a second one is refused with the holder's PID and
 * changes nothing; after the first ends, the folder can be resumed. */
static void
test_lock (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-lock", NULL);
  g_autofree char *folder = g_build_filename (dir, "C", NULL);
  g_autofree char *history = g_build_filename (folder, "history.csv", NULL);
  g_autoptr (GSubprocess) first = start_drmad ((const char *[]){ "--meta-iters", "400", "--out", folder, NULL });
  wait_for (history);
  g_autofree char *err = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "2", "--seed", "2", "--force", "--out", folder, NULL },
                          &err), ==, 2);
  g_assert_nonnull (strstr (err, "in use by process"));
  g_assert_nonnull (strstr (err, g_subprocess_get_identifier (first)));
  g_autofree char *err2 = NULL;
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", folder, "--meta-iters", "500", NULL }, NULL,
                              NULL, NULL, NULL, &err2), ==, 2);
  g_assert_nonnull (strstr (err2, "in use by process"));
  g_subprocess_send_signal (first, SIGTERM);
  g_assert_true (g_subprocess_wait (first, NULL, NULL));
  g_assert_cmpint (g_subprocess_get_exit_status (first), ==, 128 + SIGTERM);
  /* The stopped run resumes: its settings, not the refused run's. */
  g_autofree char *ini = read_file (folder, "run.ini");
  g_assert_nonnull (strstr (ini, "seed=1"));
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", folder, "--meta-iters", "1", NULL }, NULL,
                              NULL, NULL, NULL, NULL), ==, 0);
  remove_tree (dir);
}

/* A refused --out deletes nothing; --force refuses a folder that is not a run. */
static void
test_refusals_delete_nothing (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-refuse", NULL);
  g_autofree char *home = g_build_filename (dir, "H", NULL);
  g_autofree char *backup = g_build_filename (home, ".bashrc.backup", NULL);
  g_autofree char *tmp_like = g_build_filename (home, ".notes.AB12CD", NULL);
  g_assert_cmpint (g_mkdir (home, 0755), ==, 0);
  g_assert_true (g_file_set_contents (backup, "a\n", -1, NULL));
  g_assert_true (g_file_set_contents (tmp_like, "b\n", -1, NULL));
  g_autofree char *err = NULL, *err2 = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "1", "--out", home, NULL }, &err), ==, 2);
  g_assert_nonnull (strstr (err, "already holds files"));
  g_assert_null (strstr (err, "device: "));   /* refused before the data and the device were opened */
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "1", "--force", "--out", home, NULL }, &err2), ==, 2);
  g_assert_nonnull (strstr (err2, "not a run folder"));
  g_assert_null (strstr (err2, "device: "));
  g_assert_true (g_file_test (backup, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (tmp_like, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpuint (count_prefixed (dir, "H."), ==, 0);
  remove_tree (dir);
}

/* Makes the folder @dir one that a new folder cannot be made in: its mode
 * 0555, or where that does not stop this user (root) its immutable flag
 * (ext4 and others; chattr +i). TRUE with the errno of a mkdir(2) tried in
 * it in @refused; FALSE, @dir as it was, where neither stops it. */
static gboolean
make_unwritable (const char *dir, int *refused)
{
  g_autofree char *probe = g_build_filename (dir, "probe", NULL);
  g_assert_cmpint (g_chmod (dir, 0555), ==, 0);
  if (g_mkdir (probe, 0755) != 0) {
    *refused = errno;
    return TRUE;
  }
  g_rmdir (probe);
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), flags = 0;
  if (fd >= 0 && ioctl (fd, FS_IOC_GETFLAGS, &flags) == 0) {
    flags |= FS_IMMUTABLE_FL;
    if (ioctl (fd, FS_IOC_SETFLAGS, &flags) == 0 && g_mkdir (probe, 0755) != 0) {
      *refused = errno;
      close (fd);
      return TRUE;
    }
    g_rmdir (probe);
  }
  if (fd >= 0)
    close (fd);
  g_chmod (dir, 0755);
  return FALSE;
}

/* make_unwritable() undone. */
static void
make_writable (const char *dir)
{
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), flags = 0;
  if (fd >= 0 && ioctl (fd, FS_IOC_GETFLAGS, &flags) == 0 && (flags & FS_IMMUTABLE_FL)) {
    flags &= ~FS_IMMUTABLE_FL;
    g_assert_cmpint (ioctl (fd, FS_IOC_SETFLAGS, &flags), ==, 0);
  }
  if (fd >= 0)
    close (fd);
  g_assert_cmpint (g_chmod (dir, 0755), ==, 0);
}

/* An --out the run could not make was found only after the data load
 * (seconds on the whole of Fashion-MNIST), when the run folder was created:
 * a path under a file, a folder in a folder that may not be written, an
 * empty folder that may not be written, --force over a run in one, a link
 * to nothing (as the folder or above it). Each is refused before the data
 * and the device are opened, with the line the create gave (its errno that
 * of a mkdir(2) here), and nothing made: a forced run used to leave its
 * lock file in the earlier run's folder. */
static void
test_out_unwritable_up_front (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-unwritable", NULL);
  g_autofree char *file = g_build_filename (dir, "notes.txt", NULL);
  g_autofree char *under_file = g_build_filename (file, "run", NULL);
  g_assert_true (g_file_set_contents (file, "mine\n", -1, NULL));
  g_autofree char *err = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "1", "--out", under_file, NULL }, &err), ==, 2);
  g_autofree char *expected = g_strdup_printf ("drmad: cannot create the output folder %s: %s\n", under_file,
                                               g_strerror (ENOTDIR));
  g_assert_cmpstr (err, ==, expected);   /* no "device: " line: refused before the data were loaded */
  g_autofree char *notes = read_file (dir, "notes.txt");
  g_assert_cmpstr (notes, ==, "mine\n");
  /* a link to nothing, as the run folder or above it: the create's mkdir(2)
   * said EEXIST for it and went on, to fail after the data load */
  g_autofree char *dangling = g_build_filename (dir, "dangling", NULL);
  g_autofree char *under_dangling = g_build_filename (dangling, "run", NULL);
  g_assert_cmpint (symlink ("nowhere", dangling), ==, 0);
  const struct { const char *out; int errsv; } links[] = { { dangling, ENOTDIR }, { under_dangling, ENOENT } };
  for (guint i = 0; i < G_N_ELEMENTS (links); i++) {
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "1", "--out", links[i].out, NULL }, &err), ==, 2);
    g_autofree char *line = g_strdup_printf ("drmad: cannot create the output folder %s: %s: %s is a symbolic link "
                                             "to \"nowhere\", which does not exist\n", links[i].out,
                                             g_strerror (links[i].errsv), dangling);
    g_assert_cmpstr (err, ==, line);
    g_assert_true (g_file_test (dangling, G_FILE_TEST_IS_SYMLINK));
    g_assert_false (g_file_test (dangling, G_FILE_TEST_EXISTS));
  }

  g_autofree char *locked = g_build_filename (dir, "L", NULL);
  g_autofree char *earlier = g_build_filename (locked, "earlier", NULL);
  g_autofree char *earlier_ini = g_build_filename (earlier, "run.ini", NULL);
  g_assert_cmpint (g_mkdir_with_parents (earlier, 0755), ==, 0);
  g_assert_true (g_file_set_contents (earlier_ini, "[drmad]\n", -1, NULL));
  int refused = 0;
  if (!make_unwritable (locked, &refused)) {
    g_test_message ("no way to make a folder this user cannot write in: only a path under a file checked");
    remove_tree (dir);
    return;
  }
  g_test_message ("a folder made unwritable: mkdir there fails with %s", g_strerror (refused));
  g_autofree char *nested = g_build_filename (locked, "new", "run", NULL);
  /* ".." read as the create reads it: after "new", made in DIR, the run
   * goes in L, which may not be written. The check walked up the name
   * (new/.., then new, both missing) to DIR, and passed; the create then
   * made DIR/new and failed at L/run after the data load, leaving new. */
  g_autofree char *made_then_left = g_build_filename (dir, "new", NULL);
  g_autofree char *through_new = g_build_filename (made_then_left, "..", "L", "run", NULL);
  g_autofree char *lock = g_build_filename (earlier, ".drmad-lock", NULL);   /* the forced run took it there */
  struct { const char *const *args; char *line; } cases[] = {
    { (const char *[]){ "--meta-iters", "1", "--out", nested, NULL },
      g_strdup_printf ("drmad: cannot create the output folder %s: %s\n", nested, g_strerror (refused)) },
    { (const char *[]){ "--meta-iters", "1", "--out", through_new, NULL },
      g_strdup_printf ("drmad: cannot create the output folder %s: %s\n", through_new, g_strerror (refused)) },
    { (const char *[]){ "--meta-iters", "1", "--force", "--out", earlier, NULL },
      g_strdup_printf ("drmad: cannot create a folder beside %s: %s\n", earlier, g_strerror (refused)) },
  };
  int status[G_N_ELEMENTS (cases)];
  char *said[G_N_ELEMENTS (cases)];
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    status[i] = drmad (cases[i].args, &said[i]);
  /* without --out, in that folder: the runs/DATE-TIME drmad names */
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) g_getenv ("DRMAD_BIN"));
  for (const char *const *a = small; *a; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  g_ptr_array_add (argv, (gpointer) "--meta-iters=1");
  g_ptr_array_add (argv, NULL);
  g_autofree char *default_err = NULL;
  g_autoptr (GError) error = NULL;
  int wait_status;
  gboolean spawned = g_spawn_sync (locked, (char **) argv->pdata, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                                   &default_err, &wait_status, &error);
  make_writable (locked);   /* before any assertion, so that a failing one leaves no folder remove_tree() cannot take */
  g_assert_no_error (error);
  g_assert_true (spawned);
  g_test_message ("without --out: %s", default_err);
  g_assert_true (WIFEXITED (wait_status));
  g_assert_cmpint (WEXITSTATUS (wait_status), ==, 2);
  g_autofree char *default_end = g_strdup_printf (": %s\n", g_strerror (refused));
  g_assert_true (g_str_has_prefix (default_err, "drmad: cannot create the output folder runs/"));
  g_assert_true (g_str_has_suffix (default_err, default_end));
  g_assert_true (strchr (default_err, '\n') == default_err + strlen (default_err) - 1);   /* that line alone */
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_assert_cmpint (status[i], ==, 2);
    g_assert_cmpstr (said[i], ==, cases[i].line);
    g_free (cases[i].line);
    g_free (said[i]);
  }
  /* nothing made: the earlier run holds its run.ini alone, nothing beside it */
  g_assert_false (g_file_test (lock, G_FILE_TEST_EXISTS));
  g_autofree char *nested_parent = g_path_get_dirname (nested);
  g_assert_false (g_file_test (nested_parent, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (made_then_left, G_FILE_TEST_EXISTS));
  g_autoptr (GDir) contents = g_dir_open (earlier, 0, NULL);
  g_assert_cmpstr (g_dir_read_name (contents), ==, "run.ini");
  g_assert_null (g_dir_read_name (contents));
  g_assert_cmpuint (count_prefixed (locked, "earlier."), ==, 0);

  /* an empty folder that may not be written: its lock file cannot be made */
  g_autofree char *empty = g_build_filename (dir, "E", NULL);
  g_assert_cmpint (g_mkdir (empty, 0755), ==, 0);
  g_assert_true (make_unwritable (empty, &refused));
  g_autofree char *empty_lock = g_build_filename (empty, ".drmad-lock", NULL);
  g_autofree char *empty_err = NULL;
  int empty_status = drmad ((const char *[]){ "--meta-iters", "1", "--out", empty, NULL }, &empty_err);
  make_writable (empty);
  g_autofree char *empty_line = g_strdup_printf ("drmad: cannot create the lock file %s: %s\n", empty_lock,
                                                 g_strerror (refused));
  g_assert_cmpint (empty_status, ==, 2);
  g_assert_cmpstr (empty_err, ==, empty_line);
  remove_tree (dir);
}

/* In the child, before its exec: the user nobody (65534) with
 * CAP_DAC_OVERRIDE as an ambient capability, as systemd runs a service
 * with User= and AmbientCapabilities=: it may write in any folder. Exits
 * 77 where this process may not do that (not root). */
static void
become_nobody_overriding (gpointer user_data)
{
  struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { { 0 } };
  guint at = CAP_TO_INDEX (CAP_DAC_OVERRIDE);
  data[at].effective = data[at].permitted = data[at].inheritable = CAP_TO_MASK (CAP_DAC_OVERRIDE);
  if (prctl (PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 || setgroups (0, NULL) != 0 || setresgid (65534, 65534, 65534) != 0
      || setresuid (65534, 65534, 65534) != 0 || syscall (SYS_capset, &header, data) != 0
      || prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_DAC_OVERRIDE, 0, 0) != 0)
    _exit (77);
}

/* @argv run as become_nobody_overriding() leaves it: its wait status. */
static int
spawn_overriding (const char *const *argv, char **err)
{
  g_autoptr (GError) error = NULL;
  int wait_status;
  GSpawnFlags flags = G_SPAWN_STDOUT_TO_DEV_NULL | (err ? 0 : G_SPAWN_STDERR_TO_DEV_NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, flags, become_nobody_overriding, NULL, NULL, err,
                               &wait_status, &error));
  g_assert_no_error (error);
  return wait_status;
}

/* The early --out check asked access(2), which answers for the real user
 * and drops a non-root user's capabilities: a user given CAP_DAC_OVERRIDE,
 * whose run folder the create makes in a folder of root's, was refused
 * before the data load ("Permission denied", status 2), and warned that
 * the OpenCL kernel cache cannot be written. It runs, without a word. */
static void
test_out_capability (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-capability", NULL);
  g_autofree char *roots = g_build_filename (dir, "R", NULL);
  g_assert_cmpint (g_mkdir (roots, 0755), ==, 0);
  g_autofree char *probe = g_build_filename (roots, "probe", NULL);
  const char *const mkdir_argv[] = { "/bin/mkdir", probe, NULL };
  int probed = spawn_overriding (mkdir_argv, NULL);
  if (!WIFEXITED (probed) || WEXITSTATUS (probed) != 0 || !g_file_test (probe, G_FILE_TEST_IS_DIR)) {
    g_test_skip ("cannot run a process as nobody with CAP_DAC_OVERRIDE here (not root?)");
    remove_tree (dir);
    return;
  }
  g_autofree char *out = g_build_filename (roots, "new", "run", NULL);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) g_getenv ("DRMAD_BIN"));
  for (const char *const *a = small; *a; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  const char *const extra[] = { "--meta-iters", "1", "--out", out, NULL };
  for (const char *const *a = extra; *a; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  g_ptr_array_add (argv, NULL);
  g_autofree char *err = NULL;
  int status = spawn_overriding ((const char *const *) argv->pdata, &err);
  g_test_message ("as nobody with CAP_DAC_OVERRIDE: wait status %d, stderr:\n%s", status, err);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  g_autofree char *ini = read_file (out, "run.ini");
  g_assert_nonnull (ini);
  /* nor was it told that the kernel cache (root's, here) cannot be written */
  g_assert_null (strstr (err, "cannot be written"));
  remove_tree (dir);
}

/* --force is refused up front (before the data load), changing nothing, where it cannot work: on
 * a symbolic link to a run folder (the replacement renames folders) and on
 * a file; the refusal of a file does not suggest --force. */
static void
test_force_refused_up_front (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-force-link", NULL);
  g_autofree char *folder = g_build_filename (dir, "R", NULL), *link = g_build_filename (dir, "L", NULL);
  g_autofree char *file = g_build_filename (dir, "notes.txt", NULL);
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "1", "--out", folder, NULL }, NULL), ==, 0);
  g_autofree char *history = read_file (folder, "history.csv"), *ini = read_file (folder, "run.ini");
  g_assert_cmpint (symlink ("R", link), ==, 0);
  g_autofree char *err = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "1", "--seed", "2", "--force", "--out", link, NULL },
                          &err), ==, 2);
  g_assert_nonnull (strstr (err, "symbolic link"));
  g_assert_null (strstr (err, "device: "));   /* refused before the data and the device were opened */
  g_autofree char *history2 = read_file (folder, "history.csv"), *ini2 = read_file (folder, "run.ini");
  g_assert_cmpstr (history2, ==, history);
  g_assert_cmpstr (ini2, ==, ini);
  g_assert_true (g_file_test (link, G_FILE_TEST_IS_SYMLINK));
  g_assert_cmpuint (count_prefixed (dir, "R."), ==, 0);
  g_assert_cmpuint (count_prefixed (dir, "L."), ==, 0);
  /* L/ names the folder the link points to, but is the link all the same. */
  g_autofree char *link_slash = g_strconcat (link, "/", NULL), *err_slash = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "1", "--seed", "2", "--force", "--out", link_slash,
                                            NULL }, &err_slash), ==, 2);
  g_assert_nonnull (strstr (err_slash, "symbolic link"));
  g_assert_cmpuint (count_prefixed (dir, "R."), ==, 0);
  g_assert_cmpuint (count_prefixed (dir, "L."), ==, 0);
  g_autofree char *history_slash = read_file (folder, "history.csv");
  g_assert_cmpstr (history_slash, ==, history);
  /* Without --force the link is refused as the run folder it is, without suggesting --force. */
  g_autofree char *err_link = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "1", "--out", link, NULL }, &err_link), ==, 2);
  g_assert_nonnull (strstr (err_link, "--resume"));
  g_assert_null (strstr (err_link, "--force"));

  /* A name too long for the staging folder beside it (the name plus 17
   * characters): refused up front, not after the data load with "File name
   * too long" about a folder the user never named. */
  long name_max = pathconf (dir, _PC_NAME_MAX);
  if (name_max > 17 && name_max < 4096) {
    g_autofree char *long_name = g_strnfill (name_max - 10, 'n');
    g_autofree char *long_folder = g_build_filename (dir, long_name, NULL), *err_long = NULL;
    g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "1", "--out", long_folder, NULL }, NULL), ==, 0);
    g_autofree char *long_history = read_file (long_folder, "history.csv");
    g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "1", "--seed", "2", "--force", "--out", long_folder,
                                              NULL }, &err_long), ==, 2);
    g_assert_nonnull (strstr (err_long, "too long to overwrite it"));
    g_assert_null (strstr (err_long, "device: "));
    g_autofree char *long_history2 = read_file (long_folder, "history.csv");
    g_assert_cmpstr (long_history2, ==, long_history);
  }

  g_assert_true (g_file_set_contents (file, "mine\n", -1, NULL));
  g_autofree char *err_file = NULL, *err_file_force = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "1", "--out", file, NULL }, &err_file), ==, 2);
  g_assert_nonnull (strstr (err_file, "is not a folder"));
  g_assert_null (strstr (err_file, "device: "));
  g_assert_null (strstr (err_file, "--force"));
  g_assert_null (strstr (err_file, "--resume"));
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "1", "--force", "--out", file, NULL }, &err_file_force),
                   ==, 2);
  g_autofree char *mine = NULL;
  g_assert_true (g_file_get_contents (file, &mine, NULL, NULL));
  g_assert_cmpstr (mine, ==, "mine\n");
  remove_tree (dir);
}

/* --force on an earlier run: a new run that fails before its first
 * meta-iteration leaves the earlier one byte for byte; one that records it
 * replaces the earlier one whole; nothing is left beside the folder. */
static void
test_force_replaces_whole (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-force", NULL);
  g_autofree char *folder = g_build_filename (dir, "F", NULL);
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "2", "--out", folder, NULL }, NULL), ==, 0);
  g_autofree char *history = read_file (folder, "history.csv"), *ini = read_file (folder, "run.ini");
  g_autofree char *checkpoint = read_file (folder, "checkpoint.bin");
  g_autofree char *err = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "2", "--force", "--init-lr", "90", "--out", folder,
                                            NULL }, &err), ==, 1);
  g_assert_nonnull (strstr (err, "unchanged"));
  g_autofree char *history2 = read_file (folder, "history.csv"), *ini2 = read_file (folder, "run.ini");
  g_assert_cmpstr (history2, ==, history);
  g_assert_cmpstr (ini2, ==, ini);
  g_autofree char *checkpoint2 = read_file (folder, "checkpoint.bin");
  g_assert_true (checkpoint2 && memcmp (checkpoint2, checkpoint, 8) == 0);
  g_assert_cmpuint (count_prefixed (dir, "F."), ==, 0);

  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "1", "--force", "--seed", "5", "--out", folder, NULL },
                          NULL), ==, 0);
  g_autofree char *ini3 = read_file (folder, "run.ini"), *history3 = read_file (folder, "history.csv");
  g_assert_nonnull (strstr (ini3, "seed=5"));
  g_assert_nonnull (strstr (history3, "\n1,0,"));
  g_assert_null (strstr (history3, "\n2,0,"));   /* nothing of the earlier run's second meta-iteration */
  g_assert_cmpuint (count_prefixed (dir, "F."), ==, 0);
  remove_tree (dir);
}

/* Whether this file system swaps two folders' names in one step
 * (renameat2 RENAME_EXCHANGE), as --force's replacement asks. */
static gboolean
can_exchange (const char *dir)
{
  g_autofree char *a = g_build_filename (dir, "exchange-a", NULL), *b = g_build_filename (dir, "exchange-b", NULL);
  g_assert_cmpint (g_mkdir (a, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (b, 0755), ==, 0);
  gboolean swapped = renameat2 (AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) == 0;
  g_rmdir (a);
  g_rmdir (b);
  return swapped;
}

/* --force's replacement of an earlier run was two renames (the earlier
 * run aside, the new one into its place): a run killed between them left
 * no F at all, the earlier run in F.drmad-old-…, the new one in
 * F.drmad-new-…, and --resume F said "not a run folder". The folders now
 * swap names in one step. Killed right after the replacement's first
 * rename (DRMAD_INJECT_FAULT=kill:replace), F holds the new run, which
 * --resume finishes as an uninterrupted run would; the earlier run's files,
 * left under the staging name, go at that resume. */
static void
test_force_killed_mid_replace (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-force-kill", NULL);
  if (!can_exchange (dir)) {
    g_test_skip ("this file system cannot swap two folders (renameat2 RENAME_EXCHANGE)");
    remove_tree (dir);
    return;
  }
  g_autofree char *folder = g_build_filename (dir, "F", NULL), *alone = g_build_filename (dir, "U", NULL);
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "2", "--out", folder, NULL }, NULL), ==, 0);
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "2", "--seed", "5", "--out", alone, NULL }, NULL), ==, 0);
  g_assert_cmpint (run_drmad (small, (const char *[]){ "--meta-iters", "2", "--seed", "5", "--force", "--out", folder,
                                                       NULL }, "DRMAD_INJECT_FAULT", "kill:replace", NULL, NULL),
                   ==, 128 + SIGKILL);
  g_autofree char *ini = read_file (folder, "run.ini");
  g_assert_nonnull (ini);
  g_assert_nonnull (strstr (ini, "seed=5"));
  g_autofree char *checkpoint = g_build_filename (folder, "checkpoint.bin", NULL);
  g_assert_true (g_file_test (checkpoint, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", folder, NULL }, NULL, NULL, NULL, NULL, NULL),
                   ==, 0);
  g_autofree char *history = history_without_seconds (folder), *history_alone = history_without_seconds (alone);
  g_assert_cmpstr (history, ==, history_alone);
  g_autofree char *hyper = read_file (folder, "hyper.csv"), *hyper_alone = read_file (alone, "hyper.csv");
  g_assert_cmpstr (hyper, ==, hyper_alone);
  g_autofree char *mark = g_build_filename (folder, ".drmad-staging", NULL);
  g_assert_false (g_file_test (mark, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (count_prefixed (dir, "F."), ==, 0);
  remove_tree (dir);
}

/* The one folder in @parent whose name starts with @prefix, or NULL. */
static char *
only_prefixed (const char *parent, const char *prefix)
{
  g_autoptr (GDir) dir = g_dir_open (parent, 0, NULL);
  const char *name;
  char *found = NULL;
  while (dir && (name = g_dir_read_name (dir)))
    if (g_str_has_prefix (name, prefix)) {
      g_assert_null (found);
      found = g_build_filename (parent, name, NULL);
    }
  return found;
}

/* A file of the user's in an earlier run's folder (notes.txt) is never
 * removed by --force: it stays, alone, in F.drmad-old- and six random
 * characters, as before the folders were swapped. After the swap it was
 * left under the staging name F.drmad-new-…, which README describes as a
 * run killed before its first record. The same where the run was killed
 * right after the swap (DRMAD_INJECT_FAULT=kill:replace), once the next run
 * of F has removed the earlier run's files. */
static void
test_force_keeps_other_files (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-force-others", NULL);
  g_autofree char *folder = g_build_filename (dir, "F", NULL);
  g_autofree char *notes = g_build_filename (folder, "notes.txt", NULL);
  const char *text = "seed 3, the first try\n";
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "1", "--out", folder, NULL }, NULL), ==, 0);
  g_assert_true (g_file_set_contents (notes, text, -1, NULL));
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "1", "--seed", "5", "--force", "--out", folder, NULL },
                          NULL), ==, 0);
  g_autofree char *ini = read_file (folder, "run.ini");
  g_assert_nonnull (strstr (ini, "seed=5"));
  g_assert_false (g_file_test (notes, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (count_prefixed (dir, "F.drmad-new-"), ==, 0);
  g_autofree char *old = only_prefixed (dir, "F.drmad-old-");
  g_assert_nonnull (old);
  g_assert_cmpuint (count_prefixed (old, ""), ==, 1);
  g_autofree char *kept = read_file (old, "notes.txt");
  g_assert_cmpstr (kept, ==, text);
  remove_tree (old);

#ifdef DRMAD_TEST_HOOKS
  if (!can_exchange (dir)) {   /* killed between two renames, F is missing (/runfolder/force-killed-mid-replace) */
    remove_tree (dir);
    return;
  }
  g_assert_true (g_file_set_contents (notes, text, -1, NULL));
  int status = run_drmad (small, (const char *[]){ "--meta-iters", "1", "--seed", "7", "--force", "--out", folder,
                                                   NULL }, "DRMAD_INJECT_FAULT", "kill:replace", NULL, NULL);
  g_assert_cmpint (status, ==, 128 + SIGKILL);
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", folder, NULL }, NULL, NULL, NULL, NULL, NULL),
                   ==, 0);
  g_assert_cmpuint (count_prefixed (dir, "F.drmad-new-"), ==, 0);
  g_clear_pointer (&old, g_free);
  old = only_prefixed (dir, "F.drmad-old-");
  g_assert_nonnull (old);
  g_assert_cmpuint (count_prefixed (old, ""), ==, 1);
  g_clear_pointer (&kept, g_free);
  kept = read_file (old, "notes.txt");
  g_assert_cmpstr (kept, ==, text);
#endif
  remove_tree (dir);
}

/* --force on a file system without the swap of two folders (renameat2
 * RENAME_EXCHANGE fails with EINVAL on NFS, FUSE or CIFS; here
 * DRMAD_INJECT_FAULT=exchange:22): the two renames of before. F holds the
 * new run, whole (its resume to 2 meta-iterations gives the uninterrupted
 * run's hyper.csv), nothing of the earlier run or the staging folder is
 * left beside it, and a file of the user's stays in F.drmad-old-…. */
static void
test_force_without_exchange (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-force-rename", NULL);
  g_autofree char *folder = g_build_filename (dir, "F", NULL), *alone = g_build_filename (dir, "U", NULL);
  g_autofree char *notes = g_build_filename (folder, "notes.txt", NULL);
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "1", "--out", folder, NULL }, NULL), ==, 0);
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "2", "--seed", "5", "--out", alone, NULL }, NULL), ==, 0);
  g_assert_true (g_file_set_contents (notes, "mine", -1, NULL));
  g_assert_cmpint (run_drmad (small, (const char *[]){ "--meta-iters", "1", "--seed", "5", "--force", "--out", folder,
                                                       NULL }, "DRMAD_INJECT_FAULT", "exchange:22", NULL, NULL),
                   ==, 0);
  g_assert_cmpuint (count_prefixed (dir, "F.drmad-new-"), ==, 0);
  g_autofree char *old = only_prefixed (dir, "F.drmad-old-");
  g_assert_nonnull (old);
  g_assert_cmpuint (count_prefixed (old, ""), ==, 1);
  g_autofree char *kept = read_file (old, "notes.txt");
  g_assert_cmpstr (kept, ==, "mine");
  g_assert_false (g_file_test (notes, G_FILE_TEST_EXISTS));
  g_autofree char *mark = g_build_filename (folder, ".drmad-staging", NULL);
  g_assert_false (g_file_test (mark, G_FILE_TEST_EXISTS));
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", folder, "--meta-iters", "2", NULL }, NULL,
                              NULL, NULL, NULL, NULL), ==, 0);
  g_autofree char *hyper = read_file (folder, "hyper.csv"), *hyper_alone = read_file (alone, "hyper.csv");
  g_assert_cmpstr (hyper, ==, hyper_alone);
  remove_tree (dir);
}

/* On a file system without the swap, a --force run killed between its two
 * renames leaves no F, the earlier run in F.drmad-old- and six characters
 * (made here by hand, as that kill leaves it: the fallback of
 * /runfolder/force-without-exchange, stopped halfway). --resume F said only
 * "not a run folder"; it names the folder that holds the run, and not one
 * that holds only files of the user's. Renamed back, the run resumes. */
static void
test_resume_names_moved_aside (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-moved-aside", NULL);
  g_autofree char *folder = g_build_filename (dir, "F", NULL);
  g_autofree char *aside = g_build_filename (dir, "F.drmad-old-a1b2c3", NULL);
  g_autofree char *notes_only = g_build_filename (dir, "F.drmad-old-z9y8x7", NULL);
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "1", "--out", folder, NULL }, NULL), ==, 0);
  g_assert_cmpint (g_rename (folder, aside), ==, 0);
  g_assert_cmpint (g_mkdir (notes_only, 0755), ==, 0);
  g_autofree char *notes = g_build_filename (notes_only, "notes.txt", NULL);
  g_assert_true (g_file_set_contents (notes, "mine", -1, NULL));
  g_autofree char *err = NULL;
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", folder, "--meta-iters", "2", NULL }, NULL,
                              NULL, NULL, NULL, &err), ==, 2);
  g_test_message ("%s", err);
  g_autofree char *expected = g_strdup_printf ("%s holds a run of it, moved aside by a --force run", aside);
  g_assert_nonnull (strstr (err, expected));
  g_clear_pointer (&expected, g_free);
  expected = g_strdup_printf ("rename it back to %s to resume it", folder);
  g_assert_nonnull (strstr (err, expected));
  g_assert_null (strstr (err, notes_only));
  g_assert_cmpint (g_rename (aside, folder), ==, 0);
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", folder, "--meta-iters", "2", NULL }, NULL,
                              NULL, NULL, NULL, NULL), ==, 0);
  g_autofree char *history = read_file (folder, "history.csv");
  g_assert_nonnull (strstr (history, "\n2,"));
  remove_tree (dir);
}

/* A --force run killed before its first record leaves its staging folder
 * (F.drmad-new- and six random characters) beside F, marked, its lock
 * released; the next --force, --resume or new run of F (here --resume)
 * removes it, and nothing else
 * by that name: not one whose lock a live process holds, nor one without
 * the mark or a lock file (lib/run.c, remove_stale_staging). */
static void
test_stale_staging (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-stale", NULL);
  g_autofree char *folder = g_build_filename (dir, "F", NULL);
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "1", "--out", folder, NULL }, NULL), ==, 0);
  /* A --force run that finishes leaves no staging mark in the folder it became. */
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "1", "--seed", "2", "--force", "--out", folder, NULL },
                          NULL), ==, 0);
  g_autofree char *own_mark = g_build_filename (folder, ".drmad-staging", NULL);
  g_assert_false (g_file_test (own_mark, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (count_prefixed (dir, "F.drmad-"), ==, 0);
  /* Beside it, as a --force run killed before its first record leaves one (its mark, run.ini and an
   * unlocked lock), and four that look alike and must stay: one whose lock is held (by this test, as a
   * live run would hold it), one without a lock file, one without the mark, and a finished run folder
   * that someone named so. */
  const struct { const char *name; gboolean mark, lock, held, stays; } beside[] = {
    { "F.drmad-new-STALE0", TRUE, TRUE, FALSE, FALSE },
    { "F.drmad-new-HELD00", TRUE, TRUE, TRUE, TRUE },
    { "F.drmad-new-NOLOCK", TRUE, FALSE, FALSE, TRUE },
    { "F.drmad-new-NOMARK", FALSE, TRUE, FALSE, TRUE },
    { "F.drmad-new-keepme", FALSE, TRUE, FALSE, TRUE },
  };
  int held_fd = -1;
  for (guint b = 0; b < G_N_ELEMENTS (beside); b++) {
    g_autofree char *path = g_build_filename (dir, beside[b].name, NULL);
    g_assert_cmpint (g_mkdir (path, 0755), ==, 0);
    g_autofree char *ini = g_build_filename (path, "run.ini", NULL);
    g_assert_true (g_file_set_contents (ini, "[drmad]\n", -1, NULL));
    if (g_str_has_suffix (beside[b].name, "keepme")) {
      g_autofree char *checkpoint = g_build_filename (path, "checkpoint.bin", NULL);
      g_assert_true (g_file_set_contents (checkpoint, "results", -1, NULL));
    }
    if (beside[b].mark) {
      g_autofree char *mark = g_build_filename (path, ".drmad-staging", NULL);
      g_assert_true (g_file_set_contents (mark, "", 0, NULL));
    }
    if (beside[b].lock) {
      g_autofree char *lock = g_build_filename (path, ".drmad-lock", NULL);
      int fd = open (lock, O_RDWR | O_CREAT, 0644);
      g_assert_cmpint (fd, >=, 0);
      if (beside[b].held) {
        g_assert_cmpint (hold_run_lock (fd), ==, 0);
        held_fd = fd;
      } else
        close (fd);
    }
  }
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", folder, "--meta-iters", "2", NULL }, NULL,
                              NULL, NULL, NULL, NULL), ==, 0);
  for (guint b = 0; b < G_N_ELEMENTS (beside); b++) {
    g_autofree char *ini = g_build_filename (dir, beside[b].name, "run.ini", NULL);
    g_test_message ("%s", beside[b].name);
    g_assert_cmpint (g_file_test (ini, G_FILE_TEST_EXISTS), ==, beside[b].stays);
  }
  g_autofree char *stale = g_build_filename (dir, "F.drmad-new-STALE0", NULL);
  g_assert_false (g_file_test (stale, G_FILE_TEST_EXISTS));   /* the folder too */
  close (held_fd);
  remove_tree (dir);
}

/* A checkpoint belongs to its settings and data; finished meta-iterations
 * without a checkpoint are not silently started over; resume updates run.ini
 * and cannot be sent to another folder. */
static void
test_checkpoint_identity (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-identity", NULL);
  g_autofree char *folder = g_build_filename (dir, "I", NULL);
  g_autofree char *ini_path = g_build_filename (folder, "run.ini", NULL);
  g_autofree char *checkpoint = g_build_filename (folder, "checkpoint.bin", NULL);
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "2", "--out", folder, NULL }, NULL), ==, 0);
  const char *resume[] = { "--no-gui", "--resume", folder, "--meta-iters", "3", NULL };

  /* An edited setting that defines the trajectory: refused, naming it. */
  g_autofree char *ini = read_file (folder, "run.ini");
  g_autofree char *edited = g_strdup (ini);
  char *iters = strstr (edited, "\niters=20\n");
  g_assert_nonnull (iters);
  memcpy (iters, "\niters=25\n", 10);
  g_assert_true (g_file_set_contents (ini_path, edited, -1, NULL));
  g_autofree char *err = NULL;
  g_assert_cmpint (run_drmad (resume, NULL, NULL, NULL, NULL, &err), ==, 2);
  g_assert_nonnull (strstr (err, "iters=20"));
  g_assert_nonnull (strstr (err, "iters=25"));
  g_assert_true (g_file_set_contents (ini_path, ini, -1, NULL));

  /* Another run's checkpoint copied in: refused, naming the first difference. */
  g_autofree char *other = g_build_filename (dir, "O", NULL);
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "2", "--seed", "9", "--out", other, NULL }, NULL), ==, 0);
  g_autofree char *mine = NULL;
  gsize mine_length;
  g_assert_true (g_file_get_contents (checkpoint, &mine, &mine_length, NULL));
  g_autofree char *theirs_path = g_build_filename (other, "checkpoint.bin", NULL);
  gsize theirs_length;
  g_autofree char *theirs = NULL;
  g_assert_true (g_file_get_contents (theirs_path, &theirs, &theirs_length, NULL));
  g_assert_true (g_file_set_contents (checkpoint, theirs, theirs_length, NULL));
  g_autofree char *err2 = NULL;
  g_assert_cmpint (run_drmad (resume, NULL, NULL, NULL, NULL, &err2), ==, 2);
  g_assert_nonnull (strstr (err2, "seed=9"));

  /* No checkpoint, or a folder in its place, with finished meta-iterations: refused, CSVs kept. */
  g_autofree char *history = read_file (folder, "history.csv");
  g_assert_cmpint (g_unlink (checkpoint), ==, 0);
  g_autofree char *err3 = NULL;
  g_assert_cmpint (run_drmad (resume, NULL, NULL, NULL, NULL, &err3), ==, 2);
  g_assert_nonnull (strstr (err3, "records 2 finished meta-iterations"));
  g_assert_cmpint (g_mkdir (checkpoint, 0755), ==, 0);
  g_assert_cmpint (run_drmad (resume, NULL, NULL, NULL, NULL, NULL), ==, 2);
  g_autofree char *history_after = read_file (folder, "history.csv");
  g_assert_cmpstr (history_after, ==, history);
  g_assert_cmpint (g_rmdir (checkpoint), ==, 0);
  g_assert_true (g_file_set_contents (checkpoint, mine, mine_length, NULL));

  /* One row and no checkpoint is what a process killed while writing its
   * first record leaves: resumed, it starts over and ends as an
   * uninterrupted run. */
  g_autofree char *first = g_build_filename (dir, "F", NULL);
  g_autofree char *first_history = g_build_filename (first, "history.csv", NULL);
  g_autofree char *first_checkpoint = g_build_filename (first, "checkpoint.bin", NULL);
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "1", "--out", first, NULL }, NULL), ==, 0);
  g_autofree char *whole = read_file (first, "hyper.csv");
  g_autofree char *first_rows = read_file (first, "history.csv");
  g_auto (GStrv) lines = g_strsplit (first_rows, "\n", 3);   /* header, row 1, the rest */
  g_autofree char *one_row = g_strconcat (lines[0], "\n", lines[1], "\n", NULL);
  g_assert_true (g_file_set_contents (first_history, one_row, -1, NULL));
  g_assert_cmpint (g_unlink (first_checkpoint), ==, 0);
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", first, NULL }, NULL, NULL, NULL, NULL, NULL),
                   ==, 0);
  g_autofree char *whole_after = read_file (first, "hyper.csv");
  g_assert_cmpstr (whole_after, ==, whole);
  g_assert_true (g_file_test (first_checkpoint, G_FILE_TEST_IS_REGULAR));

  /* Resume: run.ini takes the new meta-iteration count; --out is refused. */
  g_assert_cmpint (run_drmad (resume, NULL, NULL, NULL, NULL, NULL), ==, 0);
  g_autofree char *ini_after = read_file (folder, "run.ini");
  g_assert_nonnull (strstr (ini_after, "meta-iters=3"));
  g_autofree char *err4 = NULL;
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", folder, "--out", other, NULL }, NULL, NULL,
                              NULL, NULL, &err4), ==, 2);
  g_assert_nonnull (strstr (err4, "cannot be combined"));
  remove_tree (dir);
}

/* SIGINT stops a headless run within a step, says how to continue, exits 130. */
static void
test_signals (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-signal", NULL);
  g_autofree char *folder = g_build_filename (dir, "S", NULL);
  g_autofree char *history = g_build_filename (folder, "history.csv", NULL);
  g_autoptr (GSubprocess) run = start_drmad ((const char *[]){ "--meta-iters", "400", "--out", folder, NULL });
  wait_for (history);
  gint64 sent = g_get_monotonic_time ();
  g_subprocess_send_signal (run, SIGINT);
  g_autofree char *err = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (run, NULL, NULL, NULL, &err, NULL));
  double seconds = (g_get_monotonic_time () - sent) / 1e6;
  g_test_message ("stopped %.2f s after SIGINT: %s", seconds, err);
  g_assert_cmpint (g_subprocess_get_exit_status (run), ==, 130);
  g_assert_nonnull (strstr (err, "continue with: drmad --no-gui --resume"));
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", folder, "--meta-iters", "1", NULL }, NULL,
                              NULL, NULL, NULL, NULL), ==, 0);
  remove_tree (dir);
}

/* Waits until process @pid is stopped (state T in /proc/PID/stat), at most
 * 60 s; fails at once where it has ended. */
static void
wait_stopped (const char *pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%s/stat", pid);
  char state = '?';
  for (int i = 0; i < 60000 && state != 'T' && state != 'Z'; i++) {
    g_autofree char *stat = NULL;
    g_assert_true (g_file_get_contents (path, &stat, NULL, NULL));
    const char *end = strrchr (stat, ')');   /* after the command's name, which may hold anything */
    state = end && end[1] == ' ' ? end[2] : '?';
    if (state != 'T')
      g_usleep (1000);
  }
  g_assert_cmpint (state, ==, 'T');
}

/* The run folder deleted while the run goes on (rm -rf of it, or of the
 * folder a relative runs/DATE-TIME lies in): the run fails at its next write
 * with status 1 and says that the folder is gone, not that its
 * meta-iterations are kept there. checkpoint.bin replaced by a folder is
 * said to be that (it was said to be gone, "the folder was deleted or
 * moved": found replacing files under running runs, docs/reliability.md). */
static void
test_folder_deleted (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-deleted", NULL);
  g_autofree char *folder = g_build_filename (dir, "D", NULL);
  g_autofree char *checkpoint = g_build_filename (folder, "checkpoint.bin", NULL);
  g_autoptr (GSubprocess) run = start_drmad ((const char *[]){ "--meta-iters", "400", "--out", folder, NULL });
  wait_for (checkpoint);   /* a meta-iteration recorded */
  /* Removed while the run is stopped: a removal takes a file at a time, and a
   * write of the run that failed on a file already taken, while
   * checkpoint.bin was still there, was rightly said to leave "everything up
   * to meta-iteration 1" in the folder (1 of 15 runs with two busy loops on 2
   * cores). What is checked is a folder gone whole between two writes. */
  const char *pid = g_subprocess_get_identifier (run);
  g_assert_nonnull (pid);
  g_assert_cmpint (kill (atoi (pid), SIGSTOP), ==, 0);
  wait_stopped (pid);
  remove_tree (folder);
  g_assert_false (g_file_test (folder, G_FILE_TEST_EXISTS));
  g_assert_cmpint (kill (atoi (pid), SIGCONT), ==, 0);
  g_autofree char *err = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (run, NULL, NULL, NULL, &err, NULL));
  g_test_message ("%s", err);
  g_assert_cmpint (g_subprocess_get_exit_status (run), ==, 1);
  g_assert_nonnull (strstr (err, "checkpoint.bin is gone"));
  g_assert_null (strstr (err, "everything up to"));

  /* checkpoint.bin replaced by a folder while the run goes on: the folder is
   * there, and the line said it was deleted or moved */
  g_autoptr (GSubprocess) second = start_drmad ((const char *[]){ "--meta-iters", "400", "--out", folder, NULL });
  wait_for (checkpoint);
  pid = g_subprocess_get_identifier (second);
  g_assert_nonnull (pid);
  g_assert_cmpint (kill (atoi (pid), SIGSTOP), ==, 0);
  wait_stopped (pid);
  g_assert_cmpint (g_unlink (checkpoint), ==, 0);
  g_assert_cmpint (g_mkdir (checkpoint, 0755), ==, 0);
  g_assert_cmpint (kill (atoi (pid), SIGCONT), ==, 0);
  g_clear_pointer (&err, g_free);
  g_assert_true (g_subprocess_communicate_utf8 (second, NULL, NULL, NULL, &err, NULL));
  g_test_message ("%s", err);
  g_assert_cmpint (g_subprocess_get_exit_status (second), ==, 1);
  g_autofree char *expected = g_strdup_printf ("%s is no longer a file but a folder, put there while the run went "
                                               "on: nothing of this run can be resumed from there", checkpoint);
  g_assert_nonnull (strstr (err, expected));
  g_assert_null (strstr (err, "is gone"));
  g_assert_null (strstr (err, "everything up to"));
  remove_tree (dir);
}

/* drmad_make_folders() where the folder's place holds a file, or a link
 * to nothing: refused, naming it (ENOTDIR), as g_mkdir_with_parents() did
 * for the window's settings folder; a link to a folder is the folder, and
 * a folder there already is kept. The file and the link stay as they were.
 * A folder below a link to nothing is refused too, once the walk that
 * makes it is tried again after each "No such file or directory" (16
 * walks, for a folder above taken back meanwhile: the churn test below);
 * the message named the folder alone, whose every name a listing shows:
 * it names the link and where it points. */
static void
test_make_folders_not_a_folder (void)
{
  g_autofree char *dir = test_tmp_dir ("drmad-made", NULL);
  g_autofree char *file = g_build_filename (dir, "file", NULL), *dangling = g_build_filename (dir, "dangling", NULL);
  g_autofree char *linked = g_build_filename (dir, "linked", NULL), *below = g_build_filename (file, "x", NULL);
  g_autofree char *below_dangling = g_build_filename (dangling, "x", "y", NULL);
  g_assert_true (g_file_set_contents (file, "kept\n", -1, NULL));
  g_assert_cmpint (symlink ("nowhere", dangling), ==, 0);
  g_assert_cmpint (symlink (".", linked), ==, 0);
  g_autofree char *dangling_why = g_strdup_printf ("%s is a symbolic link to \"nowhere\", which does not exist",
                                                   dangling);
  const struct { const char *folder; int errsv; const char *why; } refused[] = {
    { file, ENOTDIR, NULL }, { dangling, ENOTDIR, dangling_why }, { below, ENOTDIR, NULL },
    { below_dangling, ENOENT, dangling_why },
  };
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++) {
    g_autoptr (GError) error = NULL;
    g_assert_false (drmad_make_folders (refused[i].folder, 0700, &error));
    g_assert_nonnull (error);
    g_autofree char *expected = g_strdup_printf ("cannot create the folder %s: %s%s%s", refused[i].folder,
                                                 g_strerror (refused[i].errsv), refused[i].why ? ": " : "",
                                                 refused[i].why ? refused[i].why : "");
    g_assert_cmpstr (error->message, ==, expected);
  }
  g_autofree char *text = read_file (dir, "file");
  g_assert_cmpstr (text, ==, "kept\n");
  g_assert_false (g_file_test (dangling, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (dangling, G_FILE_TEST_IS_SYMLINK));
  g_autoptr (GError) error = NULL;
  g_assert_true (drmad_make_folders (linked, 0700, &error));
  g_assert_no_error (error);
  g_assert_true (drmad_make_folders (dir, 0700, &error));
  g_assert_no_error (error);
  g_autofree char *inner = g_build_filename (dir, "a", "b", NULL);
  g_assert_true (drmad_make_folders (inner, 0700, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (inner, G_FILE_TEST_IS_DIR));
  remove_tree (dir);
}

/* Two runs started at once under one runs/ that neither found: one that
 * fails takes back the folders it made (runs/ among them, still empty),
 * while the other is between making runs/… and the folder in it, whose
 * mkdir then said ENOENT and failed a run that had done nothing wrong. A
 * thread here makes and takes back D/runs and D/runs/a over and over, as
 * failing starts do, while the test makes D/runs/b: every make must hold. */
typedef struct {
  const char *runs, *own;
  gint stop;
} Churn;

static gpointer
churn_folders (gpointer data)
{
  Churn *churn = data;
  while (!g_atomic_int_get (&churn->stop)) {
    if (drmad_make_folders (churn->own, 0700, NULL))
      g_rmdir (churn->own);
    g_rmdir (churn->runs);   /* only while empty, as a failed start's clean-up */
  }
  return NULL;
}

static void
test_make_folders_parent_taken_back (void)
{
  g_autofree char *dir = test_tmp_dir ("drmad-churn", NULL);
  g_autofree char *runs = g_build_filename (dir, "runs", NULL);
  g_autofree char *own = g_build_filename (runs, "a", NULL), *mine = g_build_filename (runs, "b", NULL);
  Churn churn = { runs, own, 0 };
  GThread *thread = g_thread_new ("churn", churn_folders, &churn);
  guint failed = 0;
  for (guint i = 0; i < 4000; i++) {
    g_autoptr (GError) error = NULL;
    if (!drmad_make_folders (mine, 0700, &error)) {
      if (!failed++)
        g_test_message ("make %u: %s", i, error->message);
    } else
      g_rmdir (mine);
  }
  g_atomic_int_set (&churn.stop, 1);
  g_thread_join (thread);
  g_assert_cmpuint (failed, ==, 0);
  remove_tree (dir);
}

/* A folder's flush after a rename (fsync of the folder, which makes the
 * rename last through a power loss) that fails was passed over: the run
 * went on, status 0, as if its files were safe. With every such flush
 * failing as on a disk's I/O error (DRMAD_INJECT_FAULT=fsyncdir:5, EIO) a
 * new run stops, naming the folder, the file and the error, with status 1
 * (the disk failed, as a full one does: it said 2, bad input), and leaves
 * no folder behind. The first flush is the new folder's parent's, right
 * after the mkdir: the folder's own entry (its parent's) was never
 * flushed, so a power loss could take the folder with its flushed run.ini.
 * The folders made above it for it (runs/a/F: runs/ and runs/a/) go too.
 * A resume stops at its run.ini too, status 1, and a plain --resume, once
 * the flush works again, continues with the settings the failed one wrote
 * (--meta-iters 2) to the uninterrupted run's hyper.csv. */
static void
test_folder_flush_fails (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-flush", NULL);
  g_autofree char *runs = g_build_filename (dir, "runs", NULL), *inner = g_build_filename (runs, "a", NULL);
  g_autofree char *folder = g_build_filename (inner, "F", NULL), *alone = g_build_filename (dir, "U", NULL);
  g_autofree char *err = NULL;
  int status = run_drmad (small, (const char *[]){ "--meta-iters", "1", "--out", folder, NULL }, "DRMAD_INJECT_FAULT",
                          "fsyncdir:5", NULL, &err);
  g_test_message ("%s", err);
  g_assert_cmpint (status, ==, 1);
  g_autofree char *expected = g_strdup_printf ("cannot flush the folder %s after creating %s: %s", inner, folder,
                                               g_strerror (EIO));
  g_assert_nonnull (strstr (err, expected));
  /* runs/ and runs/a/ too, made for it: only F was taken back, they stayed, empty */
  g_assert_false (g_file_test (runs, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (dir, G_FILE_TEST_IS_DIR));
  /* the same where run.ini cannot be written (its write the process's
   * first, DRMAD_INJECT_FAULT=nospace:1) */
  g_clear_pointer (&err, g_free);
  status = run_drmad (small, (const char *[]){ "--meta-iters", "1", "--out", folder, NULL }, "DRMAD_INJECT_FAULT",
                      "nospace:1", NULL, &err);
  g_test_message ("%s", err);
  g_assert_cmpint (status, ==, 1);
  g_autofree char *full = g_strdup_printf ("%s/run.ini", folder);
  g_assert_nonnull (strstr (err, full));
  g_assert_false (g_file_test (runs, G_FILE_TEST_EXISTS));
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "1", "--out", folder, NULL }, NULL), ==, 0);
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "2", "--out", alone, NULL }, NULL), ==, 0);
  g_autofree char *history = read_file (folder, "history.csv");
  g_clear_pointer (&err, g_free);
  status = run_drmad ((const char *[]){ "--no-gui", "--resume", folder, "--meta-iters", "2", NULL }, NULL,
                      "DRMAD_INJECT_FAULT", "fsyncdir:5", NULL, &err);
  g_test_message ("%s", err);
  g_assert_cmpint (status, ==, 1);
  g_clear_pointer (&expected, g_free);
  expected = g_strdup_printf ("cannot resume %s: cannot flush the folder %s after replacing %s/run.ini: %s", folder,
                              folder, folder, g_strerror (EIO));
  g_assert_nonnull (strstr (err, expected));
  g_autofree char *history_after = read_file (folder, "history.csv");
  g_assert_cmpstr (history_after, ==, history);
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", folder, NULL }, NULL, NULL, NULL, NULL, NULL),
                   ==, 0);
  g_autofree char *hyper = read_file (folder, "hyper.csv"), *hyper_alone = read_file (alone, "hyper.csv");
  g_assert_cmpstr (hyper, ==, hyper_alone);
  remove_tree (dir);
}

/* An empty folder given to a new run, whose run.ini's folder flush fails
 * (DRMAD_INJECT_FAULT=fsyncdir:5, EIO: the file is already renamed into
 * place): the folder is left as it was, empty. It kept run.ini and the
 * lock file, and the same command, once the disk worked again, was refused
 * with "already holds files". */
static void
test_flush_fails_empty_folder (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-flush-empty", NULL);
  g_autofree char *folder = g_build_filename (dir, "E", NULL), *err = NULL;
  g_assert_cmpint (g_mkdir (folder, 0755), ==, 0);
  int status = run_drmad (small, (const char *[]){ "--meta-iters", "1", "--out", folder, NULL }, "DRMAD_INJECT_FAULT",
                          "fsyncdir:5", NULL, &err);
  g_test_message ("%s", err);
  g_assert_cmpint (status, ==, 1);
  g_autofree char *expected = g_strdup_printf ("cannot flush the folder %s after replacing %s/run.ini: %s", folder,
                                               folder, g_strerror (EIO));
  g_assert_nonnull (strstr (err, expected));
  g_assert_true (g_file_test (folder, G_FILE_TEST_IS_DIR));
  g_assert_cmpuint (count_prefixed (folder, ""), ==, 0);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "1", "--out", folder, NULL }, &err), ==, 0);
  g_autofree char *history = read_file (folder, "history.csv");
  g_assert_nonnull (strstr (history, "\n1,"));
  remove_tree (dir);
}

/* Whether process @pid catches @signo (its handler is installed): SigCgt in
 * /proc/PID/status. FALSE where that cannot be read. */
static gboolean
catches (const char *pid, int signo)
{
  g_autofree char *path = g_strdup_printf ("/proc/%s/status", pid), *status = NULL;
  if (!g_file_get_contents (path, &status, NULL, NULL))
    return FALSE;
  const char *line = strstr (status, "\nSigCgt:");
  return line && (g_ascii_strtoull (line + strlen ("\nSigCgt:"), NULL, 16) >> (signo - 1)) & 1;
}

/* SIGTERM while the data and the device are being loaded: the run stopped
 * only at its first training step, after making a run folder that held
 * nothing, and said to resume it. It now stops before any folder is made. */
static void
test_signal_during_start (void)
{
  if (!have_fashion_mnist ())
    return;
  if (!g_file_test ("/proc/self/status", G_FILE_TEST_EXISTS)) {
    g_test_skip ("no /proc to see when the program's handler is installed");
    return;
  }
  g_autofree char *dir = test_tmp_dir ("drmad-signal-start", NULL);
  g_autofree char *folder = g_build_filename (dir, "S", NULL);
  g_autoptr (GSubprocess) run = start_drmad ((const char *[]){ "--meta-iters", "3", "--out", folder, NULL });
  const char *pid = g_subprocess_get_identifier (run);
  /* its handler is installed just before the job starts loading the data */
  while (pid && !catches (pid, SIGTERM) && !g_file_test (folder, G_FILE_TEST_EXISTS))
    g_usleep (500);
  g_subprocess_send_signal (run, SIGTERM);
  g_autofree char *err = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (run, NULL, NULL, NULL, &err, NULL));
  g_test_message ("%s", err);
  g_assert_cmpint (g_subprocess_get_exit_status (run), ==, 128 + SIGTERM);
  g_assert_nonnull (strstr (err, "stopped before the run began"));
  g_assert_null (strstr (err, "--resume"));
  g_assert_false (g_file_test (folder, G_FILE_TEST_EXISTS));
  remove_tree (dir);
}

static void
ignore_hangup_and_interrupt (gpointer user_data)
{
  signal (SIGHUP, SIG_IGN);   /* as nohup leaves it */
  signal (SIGINT, SIG_IGN);   /* as a shell leaves a command started with & in a script */
}

/* Waits until the process @pid has taken every signal sent to it (none
 * pending in /proc/PID/status): two sent at once are otherwise one. */
static void
wait_taken (const char *pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%s/status", pid);
  for (guint tries = 0; tries < 5000; tries++) {
    g_autofree char *status = NULL;
    const char *pending;
    if (!g_file_get_contents (path, &status, NULL, NULL) || !(pending = strstr (status, "\nShdPnd:\t"))
        || g_ascii_strtoull (pending + strlen ("\nShdPnd:\t"), NULL, 16) == 0)
      return;
    g_usleep (1000);
  }
}

/* SIGHUP (the terminal closed, an SSH session dropped) ended a headless run
 * at once, status 129, without saying what it kept: it now stops it as
 * SIGTERM does, within a step, saying how to continue, status 129, and the
 * run resumes. A closed terminal sends a run in its foreground two SIGHUPs
 * (the shell's, then the kernel's when the shell exits): the second ended
 * it at once as a second SIGTERM does, before its last words, and now
 * changes nothing. Where SIGHUP and SIGINT were ignored when drmad started
 * (`nohup drmad --no-gui … &` in a script), they stay ignored and the run
 * goes on; SIGTERM still stops it. */
static void
test_hangup (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-hangup", NULL);
  g_autofree char *folder = g_build_filename (dir, "S", NULL);
  g_autofree char *history = g_build_filename (folder, "history.csv", NULL);
  g_autoptr (GSubprocess) run = start_drmad ((const char *[]){ "--meta-iters", "400", "--out", folder, NULL });
  wait_for (history);
  /* kill(2), not g_subprocess_send_signal(), which sends from GLib's
   * worker thread later: the two could come together, as one */
  const char *run_pid = g_subprocess_get_identifier (run);
  g_assert_cmpint (kill (atoi (run_pid), SIGHUP), ==, 0);
  wait_taken (run_pid);
  g_assert_cmpint (kill (atoi (run_pid), SIGHUP), ==, 0);
  g_autofree char *err = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (run, NULL, NULL, NULL, &err, NULL));
  g_test_message ("after SIGHUP: %s", err);
  g_assert_true (g_subprocess_get_if_exited (run));   /* not ended by the signal itself */
  g_assert_cmpint (g_subprocess_get_exit_status (run), ==, 128 + SIGHUP);
  g_autofree char *advice = g_strdup_printf ("drmad: stopped by SIGHUP; continue with: drmad --no-gui --resume %s\n",
                                             folder);
  g_assert_nonnull (strstr (err, advice));
  g_assert_nonnull (strstr (err, "everything up to meta-iteration "));
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", folder, "--meta-iters", "1", NULL }, NULL,
                              NULL, NULL, NULL, NULL), ==, 0);

  g_autofree char *ignoring = g_build_filename (dir, "N", NULL);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) g_getenv ("DRMAD_BIN"));
  for (const char *const *a = small; *a; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  const char *const extra[] = { "--meta-iters", "400", "--out", ignoring, NULL };
  for (const char *const *a = extra; *a; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  g_ptr_array_add (argv, NULL);
  g_autoptr (GError) error = NULL;
  GPid pid;
  g_assert_true (g_spawn_async (NULL, (char **) argv->pdata, NULL,
                                G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                                ignore_hangup_and_interrupt, NULL, &pid, &error));
  g_assert_no_error (error);
  g_autofree char *ignoring_history = g_build_filename (ignoring, "history.csv", NULL);
  wait_for (ignoring_history);   /* its handlers installed (before the data load), a meta-iteration done */
  g_assert_cmpint (kill (pid, SIGHUP), ==, 0);
  g_assert_cmpint (kill (pid, SIGINT), ==, 0);
  g_usleep (2 * G_USEC_PER_SEC);   /* a step here takes milliseconds */
  int status;
  pid_t ended = waitpid (pid, &status, WNOHANG);
  if (ended == 0)
    g_assert_cmpint (kill (pid, SIGTERM), ==, 0);
  g_assert_cmpint (ended == 0 ? waitpid (pid, &status, 0) : ended, ==, pid);
  g_spawn_close_pid (pid);
  g_test_message ("SIGHUP and SIGINT ignored: wait status %d after them and SIGTERM", status);
  g_assert_cmpint (ended, ==, 0);   /* it went on through SIGHUP and SIGINT */
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 128 + SIGTERM);
  remove_tree (dir);
}

/* Special files and output that cannot be written. */
static void
test_special_files (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-special", NULL);
  g_autofree char *fifo = g_build_filename (dir, "pipe", NULL);
  g_autofree char *out = g_build_filename (dir, "R", NULL);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_autofree char *err = NULL, *err2 = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "1", "--config", fifo, "--out", out, NULL }, &err), ==, 2);
  g_assert_nonnull (strstr (err, "not a regular file"));
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "1", "--dataset", fifo, "--out", out, NULL }, &err2), ==, 2);
  g_assert_nonnull (strstr (err2, "neither a file nor a folder"));

  /* stdout on a full device: the results are lost, and the exit status says so. */
  g_autofree char *command = g_strdup_printf ("'%s' --no-gui --iters 20 --train-size 200 --val-size 50 --test-size 50 "
                                              "--layers 784,16,10 --batch 20 --meta-iters 1 --out '%s' > /dev/full",
                                              g_getenv ("DRMAD_BIN"), out);
  int status;
  g_autofree char *full_err = NULL;
  g_assert_true (g_spawn_sync (NULL, (char *[]){ "/bin/sh", "-c", command, NULL }, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               NULL, &full_err, &status, NULL));
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 1);
  g_assert_nonnull (strstr (full_err, "cannot write the results to standard output"));

  /* One file-mode policy: every file of the run folder follows the umask (022 here: 0644). */
  const char *names[] = { "run.ini", "history.csv", "hyper.csv", "checkpoint.bin", "l2.png", "lr.png", "loss.png" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    g_autofree char *path = g_build_filename (out, names[i], NULL);
    GStatBuf st;
    g_assert_cmpint (g_stat (path, &st), ==, 0);
    g_test_message ("%s: %o", names[i], st.st_mode & 0777);
    g_assert_cmpint (st.st_mode & 0777, ==, 0644);
  }
  remove_tree (dir);
}

/* A run folder an older drmad wrote (tests/data/checkpoint-v3: the small job,
 * two meta-iterations, checkpoint version 3, before history.csv had ranks
 * and spreads) resumes: the two rows keep their numbers and θ exactly, with
 * empty ranks and spread cells (not known then), the new row has ranks 1
 * and spreads 0, and the checkpoint is rewritten as version 6 (without the
 * start θ, which the older file does not have). */
static void
test_checkpoint_v3 (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-v3", NULL);
  g_autofree char *folder = g_build_filename (dir, "run", NULL);
  g_autofree char *fixture = g_build_filename (g_getenv ("DRMAD_TEST_DATA"), "checkpoint-v3", NULL);
  g_assert_cmpint (g_mkdir (folder, 0755), ==, 0);
  const char *names[] = { "run.ini", "checkpoint.bin", "history.csv", "hyper.csv" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    g_autofree char *from = g_build_filename (fixture, names[i], NULL), *to = g_build_filename (folder, names[i], NULL);
    g_autofree char *contents = NULL;
    gsize length;
    g_assert_true (g_file_get_contents (from, &contents, &length, NULL));
    g_assert_true (g_file_set_contents (to, contents, length, NULL));
  }
  g_autofree char *old_history = read_file (folder, "history.csv"), *old_hyper = read_file (folder, "hyper.csv");
  g_autofree char *err = NULL;
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", folder, "--meta-iters", "3", NULL }, NULL,
                              NULL, NULL, NULL, &err), ==, 0);
  g_assert_nonnull (strstr (err, "after meta-iteration 2"));

  g_autofree char *hyper = read_file (folder, "hyper.csv");
  g_assert_true (g_str_has_prefix (hyper, old_hyper));   /* θ after 1 and 2 read back exactly */
  g_autofree char *history = read_file (folder, "history.csv");
  g_auto (GStrv) old_lines = g_strsplit (old_history, "\n", -1), lines = g_strsplit (history, "\n", -1);
  g_auto (GStrv) header = g_strsplit (lines[0], ",", -1);
  guint ranks = 0;
  while (header[ranks] && !g_str_equal (header[ranks], "ranks"))
    ranks++;
  g_assert_cmpstr (header[ranks + 1], ==, "val_loss_spread");
  g_assert_cmpstr (header[ranks + 2], ==, "hypergradient_norm_spread");
  for (guint row = 1; row <= 3; row++) {
    g_auto (GStrv) cells = g_strsplit (lines[row], ",", -1);
    g_assert_cmpuint (g_ascii_strtoull (cells[0], NULL, 10), ==, row);
    if (row == 3) {
      g_assert_cmpstr (cells[ranks], ==, "1");
      g_assert_cmpstr (cells[ranks + 1], ==, "0");
      g_assert_cmpstr (cells[ranks + 2], ==, "0");
      continue;
    }
    /* the older columns as written before, then three empty cells */
    g_auto (GStrv) old_cells = g_strsplit (old_lines[row], ",", -1);
    for (guint c = 0; c < ranks; c++)
      g_assert_cmpstr (cells[c], ==, old_cells[c]);
    for (guint c = ranks; c < ranks + 3; c++)
      g_assert_cmpstr (cells[c], ==, "");
  }
  g_autofree char *checkpoint = read_file (folder, "checkpoint.bin");
  guint32 version;
  memcpy (&version, checkpoint + 8, 4);
  g_assert_cmpuint (version, ==, 6);
  remove_tree (dir);
}

static gsize
file_size (const char *folder, const char *name)
{
  g_autofree char *path = g_build_filename (folder, name, NULL);
  GStatBuf st;
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_size;
}

/* The rows hyper.csv has for meta-iteration 1: θ's entries, n. */
static gsize
hyper_rows_of_first (const char *folder)
{
  g_autofree char *text = read_file (folder, "hyper.csv");
  g_assert_nonnull (text);
  gsize rows = 0;
  for (const char *line = strchr (text, '\n'); line && line[1]; line = strchr (line + 1, '\n'))
    rows += g_str_has_prefix (line + 1, "1,");
  return rows;
}

static void
copy_named (const char *from_folder, const char *to_folder, const char *name)
{
  g_autofree char *from = g_build_filename (from_folder, name, NULL), *path = g_build_filename (to_folder, name, NULL);
  g_autofree char *contents = NULL;
  gsize length;
  g_assert_true (g_file_get_contents (from, &contents, &length, NULL));
  g_assert_true (g_file_set_contents (path, contents, length, NULL));
}

/* The checkpoint of a θ of more than DRMAD_RUN_THETA_KEPT_MAX entries
 * (lib/drmad-run.h; DRMAD_THETA_KEPT_MAX=1000 brings it below the 12 712 of
 * 784-16-10 with an L2 per weight) keeps θ of the last record only: each
 * meta-iteration adds one record of 15 counts, 7 values, 3 fidelity
 * numbers, 2 group norms and the 20 cells of 2 layers (l2 and init one a
 * layer, lr and momentum 4 segments a layer), 376 bytes, where it added
 * n × 8 = 101 696 bytes of θ more before. A run stopped after 2
 * meta-iterations, whose hyper.csv holds rows beyond them as a run killed
 * between hyper.csv and its checkpoint leaves it, resumed to 3 and to 4,
 * has the hyper.csv (continued from the file, truncated to the checkpoint's
 * rows) and history of an uninterrupted run; a resume that records
 * nothing cuts it to the checkpoint's rows already. A hyper.csv cut short
 * or missing then does not stop a resume that only re-evaluates (it stays
 * as it is); one that records keeps it aside as hyper.csv.old-1 and begins
 * hyper.csv anew with the last meta-iteration the checkpoint keeps θ of,
 * saying so: θ of the earlier records, to write it anew, is no longer
 * held. */
static void
test_large_theta_checkpoint (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-large-theta", NULL);
  g_autofree char *whole = g_build_filename (dir, "whole", NULL), *split = g_build_filename (dir, "split", NULL);
  const char *kept = "1000";
  g_assert_cmpint (run_drmad (small, (const char *[]){ "--l2-granularity", "weight", "--meta-iters", "4", "--out",
                                                       whole, NULL }, "DRMAD_THETA_KEPT_MAX", kept, NULL, NULL),
                   ==, 0);
  gsize n = hyper_rows_of_first (whole);
  g_assert_cmpuint (n, ==, 784 * 16 + 16 * 10 + 2 * 4);
  g_assert_cmpint (run_drmad (small, (const char *[]){ "--l2-granularity", "weight", "--meta-iters", "2", "--out",
                                                       split, NULL }, "DRMAD_THETA_KEPT_MAX", kept, NULL, NULL),
                   ==, 0);
  gsize record_bytes = (15 + 7 + 3 + 2 + (2 + 2 * 4 + 2 * 4 + 2)) * 8;
  gsize sizes[5] = { 0 };
  sizes[2] = file_size (split, "checkpoint.bin");
  copy_named (whole, split, "hyper.csv");   /* rows of meta-iterations 3 and 4 beyond the checkpoint's */
  g_autofree char *whole_theta = read_file (whole, "hyper.csv");
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", split, "--meta-iters", "2", NULL }, NULL,
                              "DRMAD_THETA_KEPT_MAX", kept, NULL, NULL), ==, 0);
  g_autofree char *cut = read_file (split, "hyper.csv");
  const char *third = strstr (whole_theta, "\n3,");   /* the rows of meta-iteration 3 start after it */
  g_assert_nonnull (third);
  g_assert_cmpuint (strlen (cut), ==, third + 1 - whole_theta);
  g_assert_true (g_str_has_prefix (whole_theta, cut));
  for (guint k = 3; k <= 4; k++) {
    g_autofree char *count = g_strdup_printf ("%u", k), *err = NULL;
    g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", split, "--meta-iters", count, NULL }, NULL,
                                "DRMAD_THETA_KEPT_MAX", kept, NULL, &err), ==, 0);
    sizes[k] = file_size (split, "checkpoint.bin");
    g_test_message ("checkpoint after %u: %" G_GSIZE_FORMAT " bytes", k, sizes[k]);
    g_assert_cmpuint (sizes[k] - sizes[k - 1], ==, record_bytes);
  }
  g_assert_cmpuint (sizes[4], ==, file_size (whole, "checkpoint.bin"));
  g_assert_cmpuint (sizes[4], <, 2 * n * 8 + 4 * record_bytes + 9 * n * 8 + 4096);   /* θ twice, the state, small parts */
  g_autofree char *expected = history_without_seconds (whole), *got = history_without_seconds (split);
  g_assert_cmpstr (got, ==, expected);
  g_autofree char *expected_theta = read_file (whole, "hyper.csv"), *got_theta = read_file (split, "hyper.csv");
  g_assert_cmpstr (got_theta, ==, expected_theta);

  /* hyper.csv one byte short, then missing: a resume that only
   * re-evaluates goes through and leaves it so */
  g_autofree char *hyper_path = g_build_filename (split, "hyper.csv", NULL);
  g_autofree char *history_before = read_file (split, "history.csv");
  g_assert_true (g_file_set_contents (hyper_path, got_theta, strlen (got_theta) - 1, NULL));
  g_autofree char *short_err = NULL, *missing_err = NULL;
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", split, "--meta-iters", "4", NULL }, NULL,
                              "DRMAD_THETA_KEPT_MAX", kept, NULL, &short_err), ==, 0);
  g_assert_null (strstr (short_err, "hyper.csv"));
  g_autofree char *still_short = read_file (split, "hyper.csv");
  g_assert_cmpuint (strlen (still_short), ==, strlen (got_theta) - 1);
  g_assert_cmpint (g_unlink (hyper_path), ==, 0);
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", split, "--meta-iters", "4", NULL }, NULL,
                              "DRMAD_THETA_KEPT_MAX", kept, NULL, &missing_err), ==, 0);
  g_assert_false (g_file_test (hyper_path, G_FILE_TEST_EXISTS));
  g_autofree char *history_after = read_file (split, "history.csv");
  g_assert_cmpstr (history_after, ==, history_before);
  g_assert_cmpuint (file_size (split, "checkpoint.bin"), ==, sizes[4]);

  /* the short one back, resumed to 5: kept aside whole, hyper.csv begun
   * anew with meta-iteration 4 (θ of the last record), the rows of 4 and 5
   * as the uninterrupted run has them */
  g_assert_true (g_file_set_contents (hyper_path, got_theta, strlen (got_theta) - 1, NULL));
  g_autofree char *anew_err = NULL;
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", split, "--meta-iters", "5", NULL }, NULL,
                              "DRMAD_THETA_KEPT_MAX", kept, NULL, &anew_err), ==, 0);
  g_test_message ("%s", anew_err);
  g_autofree char *aside_path = g_strconcat (hyper_path, ".old-1", NULL);
  g_autofree char *notice = g_strdup_printf ("%s is not the one this run wrote (it holds only %" G_GSIZE_FORMAT
                                             " bytes) and with %" G_GSIZE_FORMAT " hyperparameters (more than 1000) "
                                             "only the last meta-iteration's θ is kept: at the next meta-iteration it "
                                             "is kept as %s and a new hyper.csv begins with meta-iteration 4, without "
                                             "meta-iterations 1 to 3", hyper_path, strlen (got_theta) - 1, n,
                                             aside_path);
  g_assert_nonnull (strstr (anew_err, notice));
  g_autofree char *aside = NULL;
  g_assert_true (g_file_get_contents (aside_path, &aside, NULL, NULL));
  g_assert_cmpuint (strlen (aside), ==, strlen (got_theta) - 1);
  g_assert_true (g_str_has_prefix (got_theta, aside));
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", whole, "--meta-iters", "5", NULL }, NULL,
                              "DRMAD_THETA_KEPT_MAX", kept, NULL, NULL), ==, 0);
  g_autofree char *whole_five = read_file (whole, "hyper.csv"), *anew = read_file (split, "hyper.csv");
  GString *expected_anew = g_string_new ("iteration,name,raw,value\n");
  g_auto (GStrv) rows = g_strsplit (whole_five, "\n", -1);
  for (guint i = 1; rows[i]; i++)
    if (g_str_has_prefix (rows[i], "4,") || g_str_has_prefix (rows[i], "5,"))
      g_string_append_printf (expected_anew, "%s\n", rows[i]);
  g_assert_cmpstr (anew, ==, expected_anew->str);
  g_string_free (expected_anew, TRUE);
  g_autofree char *expected_five = history_without_seconds (whole), *got_five = history_without_seconds (split);
  g_assert_cmpstr (got_five, ==, expected_five);
  remove_tree (dir);
}

/* A run folder of an older drmad (tests/data/checkpoint-v3, whose records
 * each hold θ) with a θ past DRMAD_RUN_THETA_KEPT_MAX (lowered to 4 by
 * DRMAD_THETA_KEPT_MAX: its θ has 10 entries) resumes, its hyper.csv
 * missing even: written anew from the checkpoint's θ at its first record,
 * then continued (a resume that only re-evaluates leaves it missing, not
 * written anew each time). It ends as the same resume with every θ kept:
 * the same hyper.csv and history, and a version-6 checkpoint smaller by the
 * θ of the two records that no longer keep it. A version-6 checkpoint
 * whose every record kept θ (written under the limit), resumed over it
 * with its hyper.csv missing, writes hyper.csv anew from that θ too. */
static void
test_checkpoint_v3_large_theta (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-v3-large", NULL);
  g_autofree char *fixture = g_build_filename (g_getenv ("DRMAD_TEST_DATA"), "checkpoint-v3", NULL);
  g_autofree char *kept = g_build_filename (dir, "kept", NULL), *dropped = g_build_filename (dir, "dropped", NULL);
  const char *names[] = { "run.ini", "checkpoint.bin", "history.csv", "hyper.csv" };
  for (guint f = 0; f < 2; f++) {
    const char *folder = f ? dropped : kept;
    g_assert_cmpint (g_mkdir (folder, 0755), ==, 0);
    for (guint i = 0; i < G_N_ELEMENTS (names); i++)
      copy_named (fixture, folder, names[i]);
  }
  gsize n = hyper_rows_of_first (kept);
  g_assert_cmpuint (n, ==, 10);
  g_autofree char *dropped_hyper = g_build_filename (dropped, "hyper.csv", NULL);
  g_assert_cmpint (g_unlink (dropped_hyper), ==, 0);
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", dropped, "--meta-iters", "2", NULL }, NULL,
                              "DRMAD_THETA_KEPT_MAX", "4", NULL, NULL), ==, 0);
  g_assert_false (g_file_test (dropped_hyper, G_FILE_TEST_EXISTS));
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", kept, "--meta-iters", "3", NULL }, NULL, NULL,
                              NULL, NULL, NULL), ==, 0);
  g_autofree char *lowered = g_build_filename (dir, "lowered", NULL);
  g_assert_cmpint (g_mkdir (lowered, 0755), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (!g_str_equal (names[i], "hyper.csv"))
      copy_named (kept, lowered, names[i]);
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", dropped, "--meta-iters", "3", NULL }, NULL,
                              "DRMAD_THETA_KEPT_MAX", "4", NULL, NULL), ==, 0);
  g_autofree char *expected = read_file (kept, "hyper.csv"), *got = read_file (dropped, "hyper.csv");
  g_assert_cmpstr (got, ==, expected);
  g_autofree char *expected_history = history_without_seconds (kept), *got_history = history_without_seconds (dropped);
  g_assert_cmpstr (got_history, ==, expected_history);
  g_autofree char *checkpoint = read_file (dropped, "checkpoint.bin");
  guint32 version;
  memcpy (&version, checkpoint + 8, 4);
  g_assert_cmpuint (version, ==, 6);
  g_assert_cmpuint (file_size (kept, "checkpoint.bin") - file_size (dropped, "checkpoint.bin"), ==, 2 * n * 8);
  g_autofree char *lowered_err = NULL;
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", lowered, "--meta-iters", "4", NULL }, NULL,
                              "DRMAD_THETA_KEPT_MAX", "4", NULL, &lowered_err), ==, 0);
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", kept, "--meta-iters", "4", NULL }, NULL, NULL,
                              NULL, NULL, NULL), ==, 0);
  g_autofree char *expected_four = read_file (kept, "hyper.csv"), *got_four = read_file (lowered, "hyper.csv");
  g_assert_cmpstr (got_four, ==, expected_four);

  /* A record count the file cannot hold, CRC-32 valid (a header damaged
   * before the CRC was computed): refused as damaged, naming the count,
   * before anything is sized from it (arrays of 12 bytes a count, as many
   * counts as the file has bytes, were allocated first) */
  g_autofree char *checkpoint_path = g_build_filename (lowered, "checkpoint.bin", NULL);
  g_autoptr (GBytes) payload = drmad_checkpoint_read (checkpoint_path, NULL);
  g_assert_nonnull (payload);
  gsize payload_size;
  g_autofree guint8 *counted = g_memdup2 (g_bytes_get_data (payload, &payload_size), g_bytes_get_size (payload));
  guint64 records = payload_size;   /* the most a count may be before it is checked against the records' size */
  memcpy (counted + sizeof (guint64), &records, sizeof records);
  g_autoptr (GBytes) damaged = g_bytes_new (counted, payload_size);
  g_assert_true (drmad_checkpoint_write (checkpoint_path, damaged, NULL));
  g_autofree char *count_err = NULL;
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", lowered, "--meta-iters", "5", NULL }, NULL,
                              NULL, NULL, NULL, &count_err), ==, 2);
  g_autofree char *count_message = g_strdup_printf ("%s is damaged: it counts %" G_GSIZE_FORMAT " meta-iterations, "
                                                    "where its %" G_GSIZE_FORMAT " bytes hold at most 4 (",
                                                    checkpoint_path, payload_size, payload_size);
  g_assert_nonnull (strstr (count_err, count_message));
  remove_tree (dir);
}

/* A run that learns neither lr nor momentum keeps the same θ whatever its
 * segments, not the same per-layer values (one a layer and segment for lr
 * and momentum): read with segments=3 where it ran with 2, its history is
 * refused naming the segments (the message named the same θ size twice). */
static void
test_segments_differ (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-segments", NULL);
  g_autofree char *folder = g_build_filename (dir, "run", NULL);
  g_assert_cmpint (run_drmad (small, (const char *[]){ "--learn", "l2", "--segments", "2", "--meta-iters", "1",
                                                       "--out", folder, NULL }, NULL, NULL, NULL, NULL), ==, 0);
  guint sizes[] = { 784, 16, 10 };
  DrmadHyperConfig config;
  drmad_hyper_config_init (&config);
  config.segments = 3;
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new_for_sizes (sizes, 3, &config, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (drmad_hyper_get_n (hyper), ==, 2);   /* an L2 a layer */
  g_autoptr (DrmadRun) run = drmad_run_open_read_only (folder, &error);
  g_assert_no_error (error);
  g_assert_false (drmad_run_load_history (run, hyper, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_MISMATCH);
  g_test_message ("%s", error->message);
  /* 2 layers: 2 + 2 + 2 × 2 × 2 values in the checkpoint, 2 + 2 + 2 × 2 × 3 here */
  g_assert_nonnull (strstr (error->message, "checkpoint.bin keeps 12 per-layer values a meta-iteration where this run "
                                            "has 16 (one a layer for l2 and init, one a layer and segment for lr and "
                                            "momentum: 2 layers, 3 segments here and 2 in the checkpoint), with the "
                                            "same 2 hyperparameters: the segments differ from the run's"));
  remove_tree (dir);
}

/* A whole checkpoint of another θ (here the v3 fixture's l2 and lr read with
 * a θ of l2 alone) belongs to other settings: %DRMAD_ERROR_MISMATCH as
 * drmad-error.h defines it, not CORRUPT, which it gave, calling an intact
 * file damaged. The θ it was written for reads it. No device needed. */
static void
test_checkpoint_other_theta (void)
{
  g_autofree char *dir = test_tmp_dir ("drmad-other-theta", NULL);
  g_autofree char *folder = g_build_filename (dir, "run", NULL);
  g_autofree char *fixture = g_build_filename (g_getenv ("DRMAD_TEST_DATA"), "checkpoint-v3", NULL);
  g_assert_cmpint (g_mkdir (folder, 0755), ==, 0);
  const char *names[] = { "run.ini", "checkpoint.bin", "history.csv", "hyper.csv" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    g_autofree char *from = g_build_filename (fixture, names[i], NULL), *to = g_build_filename (folder, names[i], NULL);
    g_autofree char *contents = NULL;
    gsize length;
    g_assert_true (g_file_get_contents (from, &contents, &length, NULL));
    g_assert_true (g_file_set_contents (to, contents, length, NULL));
  }
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadRun) run = drmad_run_open_read_only (folder, &error);
  g_assert_no_error (error);
  const guint sizes[] = { 784, 16, 10 };   /* its run.ini: layers=784,16,10, learn=l2,lr, segments=4 */
  DrmadHyperConfig config;
  drmad_hyper_config_init (&config);
  config.segments = 4;
  g_autoptr (DrmadHyper) l2_only = drmad_hyper_new_for_sizes (sizes, 3, &config, &error);
  g_assert_no_error (error);
  g_assert_false (drmad_run_load_history (run, l2_only, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "holds 10 hyperparameter values in 2 groups; this run has 2 in 1"));
  g_clear_error (&error);
  config.learn_lr = TRUE;
  g_autoptr (DrmadHyper) same = drmad_hyper_new_for_sizes (sizes, 3, &config, &error);
  g_assert_true (drmad_run_load_history (run, same, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (drmad_run_get_n_records (run), ==, 2);
  remove_tree (dir);
}

/* Runs started together without --out: each names its folder runs/DATE-TIME
 * when it reads its options, seconds before it makes the folder, so runs
 * started in the same second chose the same name and all but one were
 * refused ("already holds files", or the lock). Each now takes the next
 * free name and finishes in a folder of its own. */
static void
test_default_folders_side_by_side (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-default-out", NULL);
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                                                        | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_cwd (launcher, dir);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) g_getenv ("DRMAD_BIN"));
  for (const char *const *a = small; *a; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  g_ptr_array_add (argv, (gpointer) "--meta-iters");
  g_ptr_array_add (argv, (gpointer) "1");
  g_ptr_array_add (argv, NULL);
  enum { N = 3 };
  GSubprocess *runs[N];
  for (guint i = 0; i < N; i++) {
    g_autoptr (GError) error = NULL;
    runs[i] = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
    g_assert_no_error (error);
  }
  for (guint i = 0; i < N; i++) {
    g_autofree char *err = NULL;
    g_assert_true (g_subprocess_communicate_utf8 (runs[i], NULL, NULL, NULL, &err, NULL));
    g_test_message ("run %u: %s", i, err);
    g_assert_cmpint (g_subprocess_get_exit_status (runs[i]), ==, 0);
    g_assert_null (strstr (err, "drmad: "));
    g_object_unref (runs[i]);
  }
  g_autofree char *base = g_build_filename (dir, "runs", NULL);
  g_autoptr (GDir) folders = g_dir_open (base, 0, NULL);
  g_assert_nonnull (folders);
  guint finished = 0;
  const char *name;
  while ((name = g_dir_read_name (folders))) {
    g_autofree char *folder = g_build_filename (base, name, NULL);
    g_autofree char *history = read_file (folder, "history.csv");
    g_assert_nonnull (history);
    g_assert_nonnull (strstr (history, "final-best"));
    finished++;
  }
  g_assert_cmpuint (finished, ==, N);
  remove_tree (dir);
}

/* Resuming a finished run of one meta-iteration says so in the singular,
 * and says that its plots are drawn again (it said only the final
 * evaluation ran again, and redrew them). */
static void
test_resume_finished (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-finished", NULL);
  g_autofree char *folder = g_build_filename (dir, "F", NULL), *err = NULL;
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "1", "--out", folder, NULL }, NULL), ==, 0);
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", folder, NULL }, NULL, NULL, NULL, NULL, &err),
                   ==, 0);
  g_assert_nonnull (strstr (err, "already has its 1 meta-iteration: its plots are drawn again and only the final "
                                "evaluation runs again (raise --meta-iters to continue the run)"));
  remove_tree (dir);
}

/* A run killed after its last checkpoint and before or while its plots
 * were written (they go last, and take a good part of a small run's
 * record) left l2.png missing or of the meta-iteration before: --resume
 * only evaluated again and drew nothing, though it printed the plots'
 * names. It draws them from the checkpoint, byte for byte what the run
 * drew (found by killing runs at random moments, docs/reliability.md). */
static void
test_resume_finished_draws_plots (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-finished-plots", NULL);
  g_autofree char *folder = g_build_filename (dir, "F", NULL), *before = g_build_filename (dir, "B", NULL);
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "1", "--out", before, NULL }, NULL), ==, 0);
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "2", "--out", folder, NULL }, NULL), ==, 0);
  g_autofree char *l2_path = g_build_filename (folder, "l2.png", NULL);
  g_autofree char *loss_path = g_build_filename (folder, "loss.png", NULL);
  g_autofree char *earlier_loss = g_build_filename (before, "loss.png", NULL);
  gsize l2_length, loss_length, earlier_length, length;
  g_autofree char *l2_bytes = NULL, *loss_bytes = NULL, *earlier_bytes = NULL, *now = NULL;
  g_assert_true (g_file_get_contents (l2_path, &l2_bytes, &l2_length, NULL));
  g_assert_true (g_file_get_contents (loss_path, &loss_bytes, &loss_length, NULL));
  /* as the kill leaves it: l2.png not yet written, loss.png meta-iteration 1's */
  g_assert_cmpint (g_unlink (l2_path), ==, 0);
  g_assert_true (g_file_get_contents (earlier_loss, &earlier_bytes, &earlier_length, NULL));
  g_assert_true (earlier_length != loss_length || memcmp (earlier_bytes, loss_bytes, loss_length) != 0);
  g_assert_true (g_file_set_contents (loss_path, earlier_bytes, earlier_length, NULL));
  g_autofree char *err = NULL;
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", folder, NULL }, NULL, NULL, NULL, NULL, &err),
                   ==, 0);
  g_assert_nonnull (strstr (err, "already has its 2 meta-iterations: its plots are drawn again"));
  g_assert_true (g_file_get_contents (l2_path, &now, &length, NULL));
  g_assert_cmpmem (now, length, l2_bytes, l2_length);
  g_clear_pointer (&now, g_free);
  g_assert_true (g_file_get_contents (loss_path, &now, &length, NULL));
  g_assert_cmpmem (now, length, loss_bytes, loss_length);
  remove_tree (dir);
}

typedef struct {
  const char *folder;
  gint        stop;
  gint        looks;   /* read by the thread that opens the run while the looker counts */
  guint       busy;
} Looker;

static gpointer
look_in_use (gpointer data)
{
  Looker *looker = data;
  while (!g_atomic_int_get (&looker->stop)) {
    looker->busy += drmad_run_in_use (looker->folder, NULL);
    g_atomic_int_inc (&looker->looks);
  }
  return NULL;
}

/* drmad_run_in_use() took a shared lock for an instant to see whether a
 * writer held the folder: a run opened in that instant (the window's Open
 * run of a folder while `drmad --resume` of it starts) was refused as "in
 * use by process" with no process running it, first at once, then (after
 * 20 ms of tries) when the looking thread was preempted holding it, as on a
 * busy machine (6 of 20 runs with two busy loops on 2 cores). A look now
 * takes nothing. A thread looks while this one opens and closes the run, as
 * a window and a terminal may. */
static void
test_in_use_refuses_no_writer (void)
{
  g_autofree char *dir = test_tmp_dir ("drmad-in-use", NULL);
  g_autofree char *folder = g_build_filename (dir, "R", NULL);
  g_autoptr (GError) error = NULL;
  DrmadRun *created = drmad_run_create (folder, "[drmad]\n", FALSE, &error);
  g_assert_no_error (error);
  g_assert_true (drmad_run_in_use (folder, NULL));   /* held: this process is its writer */
  drmad_run_free (created);
  g_assert_false (drmad_run_in_use (folder, NULL));
  Looker looker = { folder, 0, 0, 0 };
  GThread *thread = g_thread_new ("looker", look_in_use, &looker);
  guint opened = 0, refused = 0;
  gint64 until = g_get_monotonic_time () + G_USEC_PER_SEC / 2;
  while (g_get_monotonic_time () < until || g_atomic_int_get (&looker.looks) < 1000) {
    DrmadRun *run = drmad_run_open (folder, &error);
    if (run) {
      opened++;
      drmad_run_free (run);
    } else {
      g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_BUSY);
      refused++;
      g_clear_error (&error);
    }
  }
  g_atomic_int_set (&looker.stop, 1);
  g_thread_join (thread);
  g_test_message ("%u opened, %u refused; %u looks, %u saw it in use", opened, refused, (guint) looker.looks, looker.busy);
  g_assert_cmpuint (looker.busy, >, 0);   /* the two did meet */
  g_assert_cmpuint (refused, ==, 0);
  remove_tree (dir);
}

static gpointer
look_once (gpointer data)
{
  return GINT_TO_POINTER (drmad_run_in_use (data, NULL) ? 2 : 1);
}

/* A lock file that is a FIFO (no run makes one; a folder copied with its
 * special files, or made by hand): drmad_run_in_use() answers at once
 * instead of blocking in open() until something writes to the pipe (the
 * window's Open run never finished). */
static void
test_in_use_fifo (void)
{
  g_autofree char *dir = test_tmp_dir ("drmad-in-use", NULL);
  g_autofree char *lock = g_build_filename (dir, ".drmad-lock", NULL);
  g_assert_cmpint (mkfifo (lock, 0644), ==, 0);
  GThread *thread = g_thread_new ("look", look_once, dir);
  g_usleep (G_USEC_PER_SEC / 2);   /* time to answer, or to block in open() */
  /* a writer end opened and closed wakes a blocked open(): the thread then
   * ends either way, and whether it had blocked is seen from the time */
  gint64 before = g_get_monotonic_time ();
  int fd = open (lock, O_WRONLY | O_NONBLOCK);
  gboolean was_blocked = fd >= 0;   /* only a reader blocked in open() lets a non-blocking writer in */
  if (fd >= 0)
    close (fd);
  gpointer answer = g_thread_join (thread);
  g_test_message ("blocked: %d, joined after %" G_GINT64_FORMAT " us", was_blocked, g_get_monotonic_time () - before);
  g_assert_false (was_blocked);
  g_assert_cmpint (GPOINTER_TO_INT (answer), ==, 1);   /* no one holds it */
  g_unlink (lock);
  remove_tree (dir);
}

/* A run folder (the v3 fixture) whose run.ini is a FIFO, made so or put
 * there after a caller looked (the window's Open run reads run.ini through
 * drmad_read_regular_file, then drmad_run_open_read_only read it again with
 * g_file_get_contents): opening it waited in open() for a writer that never
 * came. drmad_run_open_read_only() and drmad_run_open() now refuse it at
 * once, naming the file and what it is; a FIFO in history.csv's place is
 * passed over as no history, as an unreadable one was. In a subprocess with
 * a time limit, since the blocked open() hung the test. No device needed. */
static void
test_run_ini_fifo (void)
{
  if (!g_test_subprocess ()) {
    g_test_trap_subprocess (NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
    g_test_trap_assert_passed ();
    return;
  }
  g_autofree char *dir = test_tmp_dir ("drmad-run-ini-fifo", NULL);
  g_autofree char *folder = g_build_filename (dir, "run", NULL);
  g_autofree char *fixture = g_build_filename (g_getenv ("DRMAD_TEST_DATA"), "checkpoint-v3", NULL);
  g_assert_cmpint (g_mkdir (folder, 0755), ==, 0);
  const char *names[] = { "run.ini", "checkpoint.bin", "history.csv", "hyper.csv" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    g_autofree char *from = g_build_filename (fixture, names[i], NULL), *to = g_build_filename (folder, names[i], NULL);
    g_autofree char *contents = NULL;
    gsize length;
    g_assert_true (g_file_get_contents (from, &contents, &length, NULL));
    g_assert_true (g_file_set_contents (to, contents, length, NULL));
  }
  g_autofree char *ini = g_build_filename (folder, "run.ini", NULL);
  g_autofree char *ini_text = NULL;
  g_assert_true (g_file_get_contents (ini, &ini_text, NULL, NULL));
  g_assert_cmpint (g_unlink (ini), ==, 0);
  g_assert_cmpint (mkfifo (ini, 0600), ==, 0);
  g_autofree char *expected = g_strdup_printf ("cannot open the run %s: cannot read the settings file %s: it is a "
                                               "FIFO, not a regular file", folder, ini);
  for (guint writing = 0; writing < 2; writing++) {
    g_autoptr (GError) error = NULL;
    g_autoptr (DrmadRun) run = writing ? drmad_run_open (folder, &error) : drmad_run_open_read_only (folder, &error);
    g_assert_null (run);
    g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_IO);
    g_assert_cmpstr (error->message, ==, expected);
  }
  GStatBuf st;
  g_assert_cmpint (g_lstat (ini, &st), ==, 0);
  g_assert_true (S_ISFIFO (st.st_mode));   /* left as it was */

  /* run.ini back, history.csv a FIFO: read as no history (the checkpoint is there) */
  g_assert_cmpint (g_unlink (ini), ==, 0);
  g_assert_true (g_file_set_contents (ini, ini_text, -1, NULL));
  g_autofree char *history = g_build_filename (folder, "history.csv", NULL);
  g_assert_cmpint (g_unlink (history), ==, 0);
  g_assert_cmpint (mkfifo (history, 0600), ==, 0);
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadRun) run = drmad_run_open_read_only (folder, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (drmad_run_get_ini (run), ==, ini_text);
  remove_tree (dir);
}

/* checkpoint.bin a FIFO (or a folder), put there after the run was opened
 * (drmad_run_open and Open run look with drmad_run_has_checkpoint(), which
 * passes over what is not a regular file, then read it): its reader opened
 * it without O_NONBLOCK, and open() waited for a writer for good, as it did
 * for run.ini (/runfolder/run-ini-fifo). Every reader of the checkpoint
 * (drmad_checkpoint_read, the identity a resume checks, the history Open
 * run and Compare load) now refuses it at once, naming the file and what
 * it is, and leaves it as it was. In a subprocess with a time limit: the
 * blocked open() hung the test. No device needed. */
static void
test_checkpoint_fifo (void)
{
  if (!g_test_subprocess ()) {
    g_test_trap_subprocess (NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
    g_test_trap_assert_passed ();
    return;
  }
  g_autofree char *dir = test_tmp_dir ("drmad-checkpoint-fifo", NULL);
  g_autofree char *folder = g_build_filename (dir, "run", NULL);
  g_autofree char *fixture = g_build_filename (g_getenv ("DRMAD_TEST_DATA"), "checkpoint-v3", NULL);
  g_assert_cmpint (g_mkdir (folder, 0755), ==, 0);
  const char *names[] = { "run.ini", "checkpoint.bin", "history.csv", "hyper.csv" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    g_autofree char *from = g_build_filename (fixture, names[i], NULL), *to = g_build_filename (folder, names[i], NULL);
    g_autofree char *contents = NULL;
    gsize length;
    g_assert_true (g_file_get_contents (from, &contents, &length, NULL));
    g_assert_true (g_file_set_contents (to, contents, length, NULL));
  }
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadRun) run = drmad_run_open_read_only (folder, &error);
  g_assert_no_error (error);
  /* the fixture's layout: 784-16-10, an L2 a layer and 4 segments of learning rates */
  guint sizes[] = { 784, 16, 10 };
  DrmadHyperConfig config;
  drmad_hyper_config_init (&config);
  config.learn_lr = TRUE;
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new_for_sizes (sizes, 3, &config, &error);
  g_assert_no_error (error);
  g_autofree char *checkpoint = g_build_filename (folder, "checkpoint.bin", NULL);
  g_assert_cmpint (g_unlink (checkpoint), ==, 0);
  for (guint folder_there = 0; folder_there < 2; folder_there++) {
    g_assert_cmpint (folder_there ? g_mkdir (checkpoint, 0755) : mkfifo (checkpoint, 0600), ==, 0);
    g_autofree char *expected = g_strdup_printf ("cannot read the checkpoint %s: it is %s, not a regular file",
                                                 checkpoint, folder_there ? "a folder" : "a FIFO");
    g_autoptr (GBytes) bytes = drmad_checkpoint_read (checkpoint, &error);
    g_assert_null (bytes);
    g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_IO);
    g_assert_cmpstr (error->message, ==, expected);
    g_clear_error (&error);
    g_autofree char *identity = drmad_run_read_identity (run, &error);
    g_assert_null (identity);
    g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_IO);
    g_assert_cmpstr (error->message, ==, expected);
    g_clear_error (&error);
    g_assert_false (drmad_run_load_history (run, hyper, &error));
    g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_IO);
    g_assert_cmpstr (error->message, ==, expected);
    g_clear_error (&error);
    GStatBuf st;
    g_assert_cmpint (g_lstat (checkpoint, &st), ==, 0);
    g_assert_true (folder_there ? S_ISDIR (st.st_mode) : S_ISFIFO (st.st_mode));   /* left as it was */
    g_assert_cmpint (folder_there ? g_rmdir (checkpoint) : g_unlink (checkpoint), ==, 0);
  }
  remove_tree (dir);
}

/* hyper.csv's rows are appended in place (lib/run.c, append_hyper_csv):
 * the file was rewritten at every record through a temporary renamed over
 * it, every earlier meta-iteration's rows copied each time, 4.9 GB written
 * for a hyper.csv of 33 MB over 300 meta-iterations (docs/benchmarks.md).
 * A run's hyper.csv stays the same file from its first record on, and so
 * does it through a resume that records; a piece of a row after its last
 * newline (a run killed while appending) is cut by the resume, and the
 * file ends as the uninterrupted run's, byte for byte. */
static void
test_hyper_csv_appended (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-append", NULL);
  g_autofree char *whole = g_build_filename (dir, "whole", NULL), *split = g_build_filename (dir, "split", NULL);
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "4", "--out", whole, NULL }, NULL), ==, 0);
  g_autofree char *expected = read_file (whole, "hyper.csv");
  g_autofree char *path = g_build_filename (split, "hyper.csv", NULL);
  GStatBuf first, before, after;
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "1", "--out", split, NULL }, NULL), ==, 0);
  g_assert_cmpint (g_stat (path, &first), ==, 0);
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", split, "--meta-iters", "2", NULL }, NULL,
                              NULL, NULL, NULL, NULL), ==, 0);
  g_assert_cmpint (g_stat (path, &before), ==, 0);
  g_assert_cmpuint (before.st_ino, ==, first.st_ino);
  g_assert_cmpuint (before.st_size, >, first.st_size);
  g_autofree char *two = read_file (split, "hyper.csv");
  g_assert_true (g_str_has_prefix (expected, two));
  g_autofree char *torn = g_strconcat (two, "3,l2/la", NULL);
  g_assert_true (g_file_set_contents (path, torn, -1, NULL));   /* a new file: its inode is the one kept from here */
  g_assert_cmpint (g_stat (path, &before), ==, 0);
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", split, "--meta-iters", "4", NULL }, NULL,
                              NULL, NULL, NULL, NULL), ==, 0);
  g_assert_cmpint (g_stat (path, &after), ==, 0);
  g_assert_cmpuint (after.st_ino, ==, before.st_ino);
  g_autofree char *got = read_file (split, "hyper.csv");
  g_assert_cmpstr (got, ==, expected);
  remove_tree (dir);
}

/* In the child, before exec: no file may grow past @data bytes, and a
 * write that would is cut short there, then fails with EFBIG (SIGXFSZ
 * ignored, as a shell's trap does), as a disk that fills in the middle of
 * a write. Lowering a limit needs no privilege. */
static void
limit_file_size (gpointer data)
{
  struct rlimit limit = { .rlim_cur = GPOINTER_TO_SIZE (data), .rlim_max = GPOINTER_TO_SIZE (data) };
  signal (SIGXFSZ, SIG_IGN);
  setrlimit (RLIMIT_FSIZE, &limit);
}


/* An append of hyper.csv's rows that fails part-way (lib/run.c,
 * append_hyper_csv: a disk that fills, here a file size limit 1 000 bytes
 * past the two meta-iterations' rows, less than the third's 760 KB) cuts
 * the file back to the rows the run counts: the meta-iteration fails
 * naming the file, hyper.csv holds the two meta-iterations' rows and no
 * part of the third (the nospace hook fails the append before its first
 * byte, so nothing else writes part of one), and a resume with room
 * finishes it as the uninterrupted run, byte for byte. */
static void
test_hyper_csv_append_fails_midway (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-append-fails", NULL);
  g_autofree char *whole = g_build_filename (dir, "whole", NULL), *split = g_build_filename (dir, "split", NULL);
  g_assert_cmpint (drmad ((const char *[]){ "--l2-granularity", "weight", "--meta-iters", "3", "--out", whole, NULL },
                          NULL), ==, 0);
  g_assert_cmpint (drmad ((const char *[]){ "--l2-granularity", "weight", "--meta-iters", "2", "--out", split, NULL },
                          NULL), ==, 0);
  g_autofree char *expected = read_file (whole, "hyper.csv"), *two = read_file (split, "hyper.csv");
  gsize two_length = strlen (two);
  g_assert_cmpuint (strlen (expected), >, two_length + 100000);
  g_assert_true (g_str_has_prefix (expected, two));
  g_autofree char *history = read_file (split, "history.csv");
  g_assert_cmpuint (strlen (history) + 1000, <, two_length);   /* the record's history.csv is written whole first */
  g_autofree char *err = NULL;
  g_assert_cmpint (run_drmad_set_up (NULL, (const char *[]){ "--no-gui", "--resume", split, "--meta-iters", "3", NULL },
                                     NULL, NULL, limit_file_size, GSIZE_TO_POINTER (two_length + 1000), NULL, &err),
                   ==, 1);
  g_autofree char *path = g_build_filename (split, "hyper.csv", NULL);
  g_autofree char *line = g_strdup_printf ("cannot write %s: %s", path, g_strerror (EFBIG));
  g_assert_nonnull (strstr (err, line));
  g_assert_nonnull (strstr (err, "everything up to meta-iteration 2 is in"));
  g_autofree char *after = read_file (split, "hyper.csv");
  g_assert_cmpuint (strlen (after), ==, two_length);   /* a length first: the rows are 1.5 MB to print */
  g_assert_true (g_str_equal (after, two));
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", split, "--meta-iters", "3", NULL }, NULL,
                              NULL, NULL, NULL, NULL), ==, 0);
  g_autofree char *got = read_file (split, "hyper.csv");
  g_assert_cmpuint (strlen (got), ==, strlen (expected));
  g_assert_true (g_str_equal (got, expected));
  remove_tree (dir);
}

/* In the child, before exec: the umask in @data. */
static void
set_child_umask (gpointer data)
{
  umask ((mode_t) GPOINTER_TO_UINT (data));
}

/* Resumes @folder to @meta_iters meta-iterations under @mask; then every
 * run file there is 0666 minus @mask, and hyper.csv is still the file
 * whose inode is @inode (appended to, not rewritten). */
static void
resume_under_umask (const char *folder, const char *meta_iters, mode_t mask, guint64 inode)
{
  g_assert_cmpint (run_drmad_set_up (NULL, (const char *[]){ "--no-gui", "--resume", folder, "--meta-iters", meta_iters,
                                                             NULL }, NULL, NULL, set_child_umask,
                                     GUINT_TO_POINTER (mask), NULL, NULL), ==, 0);
  const char *names[] = { "run.ini", "history.csv", "hyper.csv", "checkpoint.bin", "l2.png", "lr.png", "loss.png" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    g_autofree char *path = g_build_filename (folder, names[i], NULL);
    GStatBuf st;
    g_assert_cmpint (g_stat (path, &st), ==, 0);
    g_test_message ("umask %03o, %s: %o", mask, names[i], st.st_mode & 07777);
    g_assert_cmpint (st.st_mode & 07777, ==, 0666 & ~mask);
    if (g_str_equal (names[i], "hyper.csv"))
      g_assert_cmpuint (st.st_ino, ==, inode);
  }
}

/* One file-mode policy (README, docs/reliability.md: every file of the run
 * folder is 0666 minus the umask) through a resume under another umask:
 * hyper.csv, whose rows are appended in place since 98fb63b, kept the mode
 * its first record gave it, where the rewrite gave it the umask of each
 * record as every other file has: a run begun under 022 and resumed under
 * 077 had every file 0600 but hyper.csv, still 0644. */
static void
test_hyper_csv_mode_follows_umask (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-append-mode", NULL);
  g_autofree char *folder = g_build_filename (dir, "run", NULL), *path = g_build_filename (folder, "hyper.csv", NULL);
  g_assert_cmpint (run_drmad_set_up (small, (const char *[]){ "--meta-iters", "2", "--out", folder, NULL }, NULL, NULL,
                                     set_child_umask, GUINT_TO_POINTER (022), NULL, NULL), ==, 0);
  GStatBuf st;
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0644);
  resume_under_umask (folder, "3", 077, st.st_ino);
  resume_under_umask (folder, "4", 022, st.st_ino);
  remove_tree (dir);
}

/* Copies @folder's run files to @to, whose checkpoint.bin is then changed by the caller. */
static void
copy_run (const char *folder, const char *to)
{
  g_assert_cmpint (g_mkdir (to, 0755), ==, 0);
  const char *names[] = { "run.ini", "checkpoint.bin", "history.csv", "hyper.csv" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    copy_named (folder, to, names[i]);
}

/* hyper.csv is written anew through a temporary where it cannot be
 * appended to in place (a link to a file outside the run folder: the
 * rewrite gives the run a file of its own), the rows the checkpoint counts
 * copied over from it (copy_file_range). Where the kernel copies nothing
 * (DRMAD_INJECT_FAULT=copyrange:E: EPERM from a sandbox's seccomp filter,
 * EIO from some CIFS mounts, EXDEV, or 0 bytes copied) the rows go through
 * a buffer instead: the run ends well, its hyper.csv is the one an
 * uninterrupted run writes, byte for byte, and the file outside keeps its
 * bytes. */
static void
test_hyper_csv_copy_fallback (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-copyrange", NULL);
  g_autofree char *reference = g_build_filename (dir, "R", NULL), *split = g_build_filename (dir, "S", NULL);
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "3", "--out", reference, NULL }, NULL), ==, 0);
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "2", "--out", split, NULL }, NULL), ==, 0);
  g_autofree char *expected = read_file (reference, "hyper.csv"), *two = read_file (split, "hyper.csv");
  g_assert_nonnull (expected);
  const int faults[] = { EPERM, EIO, EXDEV, 0 };
  for (guint k = 0; k < G_N_ELEMENTS (faults); k++) {
    g_autofree char *name = g_strdup_printf ("F%u", k), *outside_name = g_strdup_printf ("outside%u.csv", k);
    g_autofree char *folder = g_build_filename (dir, name, NULL), *outside = g_build_filename (dir, outside_name, NULL);
    g_autofree char *linked = g_build_filename (folder, "hyper.csv", NULL);
    copy_run (split, folder);
    g_assert_true (g_file_set_contents (outside, two, -1, NULL));
    g_assert_cmpint (g_unlink (linked), ==, 0);
    g_assert_cmpint (link (outside, linked), ==, 0);
    g_autofree char *spec = g_strdup_printf ("copyrange:%d", faults[k]);
    g_autofree char *err = NULL;
    int status = run_drmad ((const char *[]){ "--no-gui", "--resume", folder, "--meta-iters", "3", NULL }, NULL,
                            "DRMAD_INJECT_FAULT", spec, NULL, &err);
    g_test_message ("%s: exit %d", spec, status);
    g_assert_cmpint (status, ==, 0);
    g_autofree char *got = read_file (folder, "hyper.csv"), *kept = read_file (dir, outside_name);
    g_assert_cmpstr (got, ==, expected);
    g_assert_cmpstr (kept, ==, two);
  }
  remove_tree (dir);
}

/* A hyper.csv that is a hard or symbolic link to a file outside the run
 * folder (here a longer run's hyper.csv, whose first bytes are the ones
 * the checkpoint counts) was truncated through the link by a resume, even
 * one that only re-evaluates: the cut at the restore now touches only a
 * regular file of one name. The outside file keeps every byte through a
 * re-evaluating resume and one that records; the run's own hyper.csv, then
 * a file of its own, ends as the uninterrupted run's. */
static void
test_hyper_csv_link_not_cut (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-link", NULL);
  g_autofree char *whole = g_build_filename (dir, "whole", NULL), *split = g_build_filename (dir, "split", NULL);
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "3", "--out", whole, NULL }, NULL), ==, 0);
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "2", "--out", split, NULL }, NULL), ==, 0);
  g_autofree char *expected = read_file (whole, "hyper.csv"), *two = read_file (split, "hyper.csv");
  g_assert_true (g_str_has_prefix (expected, two));
  g_assert_cmpuint (strlen (expected), >, strlen (two));
  for (guint symbolic = 0; symbolic < 2; symbolic++) {
    g_autofree char *name = g_strdup_printf ("L%u", symbolic), *outside_name = g_strdup_printf ("outside%u.csv", symbolic);
    g_autofree char *folder = g_build_filename (dir, name, NULL), *outside = g_build_filename (dir, outside_name, NULL);
    g_autofree char *linked = g_build_filename (folder, "hyper.csv", NULL);
    copy_run (split, folder);
    g_assert_true (g_file_set_contents (outside, expected, -1, NULL));
    g_assert_cmpint (g_unlink (linked), ==, 0);
    g_assert_cmpint (symbolic ? symlink (outside, linked) : link (outside, linked), ==, 0);
    g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", folder, "--meta-iters", "2", NULL }, NULL,
                                NULL, NULL, NULL, NULL), ==, 0);
    g_autofree char *after_evaluate = NULL;
    g_assert_true (g_file_get_contents (outside, &after_evaluate, NULL, NULL));
    g_assert_cmpstr (after_evaluate, ==, expected);
    g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", folder, "--meta-iters", "3", NULL }, NULL,
                                NULL, NULL, NULL, NULL), ==, 0);
    g_autofree char *after_record = NULL;
    g_assert_true (g_file_get_contents (outside, &after_record, NULL, NULL));
    g_assert_cmpstr (after_record, ==, expected);
    GStatBuf st;
    g_assert_cmpint (g_lstat (linked, &st), ==, 0);
    g_assert_true (S_ISREG (st.st_mode));
    g_assert_cmpuint (st.st_nlink, ==, 1);
    g_autofree char *own = read_file (folder, "hyper.csv");
    g_assert_cmpstr (own, ==, expected);
  }
  remove_tree (dir);
}

/* A hyper.csv to keep aside as hyper.csv.old-N (θ of a large run no longer
 * held to write it anew, /runfolder/large-theta-checkpoint) where a name
 * cannot be looked at (DRMAD_INJECT_FAULT=aside:5, EIO: the search went on
 * for good, as it did on EACCES or ENAMETOOLONG), then where the first
 * 10 000 names are taken: the resume that records fails, naming the file,
 * and hyper.csv stays as it was. */
static void
test_aside_name_bounded (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-aside", NULL);
  g_autofree char *split = g_build_filename (dir, "split", NULL);
  const char *kept = "1000";
  g_assert_cmpint (run_drmad (small, (const char *[]){ "--l2-granularity", "weight", "--meta-iters", "2", "--out",
                                                       split, NULL }, "DRMAD_THETA_KEPT_MAX", kept, NULL, NULL),
                   ==, 0);
  g_autofree char *hyper_path = g_build_filename (split, "hyper.csv", NULL);
  g_autofree char *theta = read_file (split, "hyper.csv");
  gsize short_length = strlen (theta) - 1;
  g_assert_true (g_file_set_contents (hyper_path, theta, short_length, NULL));
  g_autofree char *first = g_strconcat (hyper_path, ".old-1", NULL);
  g_autofree char *eio_err = NULL;
  g_setenv ("DRMAD_INJECT_FAULT", "aside:5", TRUE);
  int eio_status = run_drmad ((const char *[]){ "--no-gui", "--resume", split, "--meta-iters", "3", NULL }, NULL,
                              "DRMAD_THETA_KEPT_MAX", kept, NULL, &eio_err);
  g_unsetenv ("DRMAD_INJECT_FAULT");
  g_assert_cmpint (eio_status, !=, 0);
  g_test_message ("%s", eio_err);
  g_autofree char *eio = g_strdup_printf ("cannot keep %s aside: cannot look at %s: %s", hyper_path, first,
                                          g_strerror (EIO));
  g_assert_nonnull (strstr (eio_err, eio));
  g_autofree char *after_eio = read_file (split, "hyper.csv");
  g_assert_cmpuint (strlen (after_eio), ==, short_length);
  g_assert_true (g_str_has_prefix (theta, after_eio));

  for (guint i = 1; i <= 10000; i++) {
    g_autofree char *taken = g_strdup_printf ("%s.old-%u", hyper_path, i);
    g_assert_true (g_file_set_contents (taken, "", 0, NULL));
  }
  g_autofree char *full_err = NULL;
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", split, "--meta-iters", "3", NULL }, NULL,
                              "DRMAD_THETA_KEPT_MAX", kept, NULL, &full_err), !=, 0);
  g_test_message ("%s", full_err);
  g_autofree char *full = g_strdup_printf ("cannot keep %s aside: %s.old-1 to %s.old-10000 are all taken",
                                           hyper_path, hyper_path, hyper_path);
  g_assert_nonnull (strstr (full_err, full));
  g_autofree char *after_full = read_file (split, "hyper.csv");
  g_assert_cmpuint (strlen (after_full), ==, short_length);
  g_autofree char *next = g_strdup_printf ("%s.old-10001", hyper_path);
  g_assert_false (g_file_test (next, G_FILE_TEST_EXISTS));

  /* hyper.csv deleted (README: it may be, once read): nothing to keep aside,
   * so neither the names taken nor one that cannot be looked at stop the
   * record (they did: the name was looked for first); a new one begins. */
  g_assert_cmpint (g_unlink (hyper_path), ==, 0);
  g_autofree char *gone_err = NULL;
  g_setenv ("DRMAD_INJECT_FAULT", "aside:5", TRUE);
  int gone_status = run_drmad ((const char *[]){ "--no-gui", "--resume", split, "--meta-iters", "3", NULL }, NULL,
                               "DRMAD_THETA_KEPT_MAX", kept, NULL, &gone_err);
  g_unsetenv ("DRMAD_INJECT_FAULT");
  g_test_message ("%s", gone_err);
  g_assert_cmpint (gone_status, ==, 0);
  g_autofree char *begun = read_file (split, "hyper.csv");
  g_assert_true (g_str_has_prefix (begun, "iteration,name,raw,value\n"));
  g_assert_nonnull (strstr (begun, "\n3,"));
  g_assert_false (g_file_test (next, G_FILE_TEST_EXISTS));
  remove_tree (dir);
}

/* drmad_checkpoint_bytes_records(), the window's Export's count of the
 * records a checkpoint.bin holds, read from its header only: a run's
 * version-6 checkpoint of 2 meta-iterations counts 2. The same bytes with
 * the record count lowered to 1 (a damaged file: the export cut rows
 * silently), another byte of the payload flipped, the version raised to 8,
 * past the newest (read as the newest's header before) or cut short by one
 * byte are refused with the error drmad_checkpoint_read() gives for the
 * same file. */
static void
test_checkpoint_bytes_records (void)
{
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-count", NULL);
  g_autofree char *folder = g_build_filename (dir, "F", NULL);
  g_assert_cmpint (drmad ((const char *[]){ "--meta-iters", "2", "--out", folder, NULL }, NULL), ==, 0);
  g_autofree char *path = g_build_filename (folder, "checkpoint.bin", NULL), *good = NULL;
  gsize size;
  g_assert_true (g_file_get_contents (path, &good, &size, NULL));
  guint32 version;
  memcpy (&version, good + 8, 4);
  g_assert_cmpuint (version, ==, 6);
  g_autoptr (GBytes) bytes = g_bytes_new (good, size);
  g_autoptr (GError) error = NULL;
  guint64 records = 0;
  g_assert_true (drmad_checkpoint_bytes_records (bytes, path, &records, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (records, ==, 2);

  struct { gsize at; guint8 value; gsize length; int code; } faults[] = {
    { 20 + 8, 1, size, DRMAD_ERROR_CORRUPT },          /* the record count, 2 -> 1 */
    { size / 2, 0, size, DRMAD_ERROR_CORRUPT },        /* a byte of the payload, flipped below */
    { 8, 8, size, DRMAD_ERROR_CORRUPT },               /* version 8 */
    { 0, 'D', size - 1, DRMAD_ERROR_TRUNCATED },       /* cut short */
  };
  for (guint k = 0; k < G_N_ELEMENTS (faults); k++) {
    g_autofree char *bad = g_memdup2 (good, size);
    bad[faults[k].at] = k == 1 ? (char) (bad[faults[k].at] ^ 0x10) : (char) faults[k].value;
    g_autoptr (GBytes) damaged = g_bytes_new (bad, faults[k].length);
    g_autoptr (GError) refused = NULL, read_error = NULL;
    records = 99;
    g_assert_false (drmad_checkpoint_bytes_records (damaged, path, &records, &refused));
    g_assert_error (refused, DRMAD_ERROR, faults[k].code);
    g_test_message ("%s", refused->message);
    g_assert_cmpuint (records, ==, 99);
    g_autofree char *bad_path = g_build_filename (dir, "checkpoint.bin", NULL);
    g_assert_true (g_file_set_contents (bad_path, bad, faults[k].length, NULL));
    g_autoptr (GBytes) read = drmad_checkpoint_read (bad_path, &read_error);
    g_assert_null (read);
    g_assert_error (read_error, DRMAD_ERROR, faults[k].code);
  }
  remove_tree (dir);
}

/* A checkpoint past 4 GiB (300 meta-iterations of 1.8 M hyperparameters
 * with L2 per weight) could not be read back: it is now written, read and
 * checksummed in chunks of at most 1 GiB. DRMAD_CHECKPOINT_CHUNK=4093 makes
 * the chunks 4093 bytes, so that the few hundred KiB of this run's
 * checkpoint (θ of 12 890 values per meta-iteration) take hundreds of
 * chunks whose boundaries fall inside numbers: a run stopped after 2
 * meta-iterations and resumed to 3 gives the history and θ of an
 * uninterrupted run. Through the same path, a checkpoint cut short or with
 * one bit flipped (in a chunk past the first) is refused with the messages
 * of before, and one bigger than the memory there is is refused up front,
 * naming the file, its size and the memory. */
static void
test_checkpoint_in_chunks (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-chunks", NULL);
  g_autofree char *whole = g_build_filename (dir, "whole", NULL), *split = g_build_filename (dir, "split", NULL);
  const char *chunk = "4093";
  g_assert_cmpint (run_drmad (small, (const char *[]){ "--l2-granularity", "weight", "--meta-iters", "3", "--out",
                                                       whole, NULL }, "DRMAD_CHECKPOINT_CHUNK", chunk, NULL, NULL),
                   ==, 0);
  g_assert_cmpint (run_drmad (small, (const char *[]){ "--l2-granularity", "weight", "--meta-iters", "2", "--out",
                                                       split, NULL }, "DRMAD_CHECKPOINT_CHUNK", chunk, NULL, NULL),
                   ==, 0);
  g_autofree char *path = g_build_filename (split, "checkpoint.bin", NULL);
  g_autofree char *checkpoint = NULL;
  gsize size;
  g_assert_true (g_file_get_contents (path, &checkpoint, &size, NULL));
  g_assert_cmpuint (size, >, 50 * 4093);

  /* Damaged copies of the 2-meta-iteration run: refused, and left as they were. */
  g_autofree char *flipped = g_build_filename (dir, "flipped", NULL), *cut = g_build_filename (dir, "cut", NULL);
  g_autofree char *big = g_build_filename (dir, "big", NULL);
  copy_run (split, flipped);
  copy_run (split, cut);
  copy_run (split, big);
  g_autofree char *flipped_path = g_build_filename (flipped, "checkpoint.bin", NULL);
  g_autofree char *cut_path = g_build_filename (cut, "checkpoint.bin", NULL);
  checkpoint[20 + 30 * 4093 + 7] ^= 0x10;
  g_assert_true (g_file_set_contents (flipped_path, checkpoint, size, NULL));
  checkpoint[20 + 30 * 4093 + 7] ^= 0x10;
  g_assert_true (g_file_set_contents (cut_path, checkpoint, size - 5000, NULL));
  g_autofree char *err = NULL, *cut_err = NULL, *big_err = NULL;
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", flipped, "--meta-iters", "3", NULL }, NULL,
                              "DRMAD_CHECKPOINT_CHUNK", chunk, NULL, &err), !=, 0);
  g_assert_nonnull (strstr (err, "fails its CRC-32 check: the file is damaged"));
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", cut, "--meta-iters", "3", NULL }, NULL,
                              "DRMAD_CHECKPOINT_CHUNK", chunk, NULL, &cut_err), !=, 0);
  g_autofree char *claims = g_strdup_printf ("claims a %" G_GSIZE_FORMAT "-byte payload but holds %" G_GSIZE_FORMAT
                                             " bytes in all", size - 24, size - 5000);
  g_assert_nonnull (strstr (cut_err, claims));
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", big, "--meta-iters", "3", NULL }, NULL,
                              "DRMAD_INJECT_FAULT", "memory:65536", NULL, &big_err), !=, 0);
  g_autofree char *big_path = g_build_filename (big, "checkpoint.bin", NULL);
  g_autofree char *too_big = g_strdup_printf ("%s is too big to read here: its payload is %" G_GSIZE_FORMAT " bytes",
                                              big_path, size - 24);
  g_assert_nonnull (strstr (big_err, too_big));
  g_assert_nonnull (strstr (big_err, "65536 bytes (64.0\u00a0KiB) of memory are available"));
  g_autofree char *after = read_file (flipped, "history.csv"), *before = read_file (split, "history.csv");
  g_assert_cmpstr (after, ==, before);

  g_autofree char *resume_err = NULL;
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", split, "--meta-iters", "3", NULL }, NULL,
                              "DRMAD_CHECKPOINT_CHUNK", chunk, NULL, &resume_err), ==, 0);
  g_assert_nonnull (strstr (resume_err, "after meta-iteration 2"));
  g_autofree char *expected = history_without_seconds (whole), *got = history_without_seconds (split);
  g_assert_cmpstr (got, ==, expected);
  g_autofree char *expected_theta = read_file (whole, "hyper.csv"), *got_theta = read_file (split, "hyper.csv");
  g_assert_cmpstr (got_theta, ==, expected_theta);
  remove_tree (dir);
}

/* Resuming holds checkpoint.bin's payload and, while decoding it, its
 * records' θ and group norms and a copy of the optimiser state: about twice
 * the payload at the peak (drmad_run_restore). The memory check counted the
 * payload once, so a checkpoint with 1.5 times its payload available was
 * read and then decoded past the memory. Here (DRMAD_INJECT_FAULT=memory:
 * BYTES) 1.5 × the payload is refused up front, naming both sizes; 2 × is
 * read and the run goes on. */
static void
test_checkpoint_memory_peak (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
  if (!have_fashion_mnist ())
    return;
  g_autofree char *dir = test_tmp_dir ("drmad-peak", NULL);
  g_autofree char *run = g_build_filename (dir, "run", NULL), *tight = g_build_filename (dir, "tight", NULL);
  g_assert_cmpint (run_drmad (small, (const char *[]){ "--meta-iters", "2", "--out", run, NULL }, NULL, NULL, NULL,
                              NULL), ==, 0);
  copy_run (run, tight);
  g_autofree char *path = g_build_filename (tight, "checkpoint.bin", NULL);
  struct stat st;
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  guint64 payload = st.st_size - 24;   /* magic, version, length; the CRC after */
  g_autofree char *between = g_strdup_printf ("memory:%" G_GUINT64_FORMAT, payload * 3 / 2);
  g_autofree char *err = NULL;
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", tight, "--meta-iters", "3", NULL }, NULL,
                              "DRMAD_INJECT_FAULT", between, NULL, &err), ==, 2);
  /* Each size also in IEC units, as every size the library prints (GLib's text of it the reference):
   * "0.0 GiB" said nothing of a payload of kilobytes. */
  g_autofree char *payload_text = g_format_size_full (payload, G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char *peak_text = g_format_size_full (2 * payload, G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char *room_text = g_format_size_full (payload * 3 / 2, G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char *refused = g_strdup_printf (
    "%s is too big to read here: its payload is %" G_GUINT64_FORMAT " bytes (%s), held with what is decoded "
    "from it, %" G_GUINT64_FORMAT " bytes (%s) in all, and %" G_GUINT64_FORMAT " bytes (%s) of memory are "
    "available (as the test hook DRMAD_INJECT_FAULT says)", path, payload, payload_text, 2 * payload, peak_text,
    payload * 3 / 2, room_text);
  g_assert_nonnull (strstr (err, refused));
  g_autofree char *history_after = read_file (tight, "history.csv"), *history_before = read_file (run, "history.csv");
  g_assert_cmpstr (history_after, ==, history_before);
  g_autofree char *twice = g_strdup_printf ("memory:%" G_GUINT64_FORMAT, 2 * payload);
  g_autofree char *resumed = NULL;
  g_assert_cmpint (run_drmad ((const char *[]){ "--no-gui", "--resume", tight, "--meta-iters", "3", NULL }, NULL,
                              "DRMAD_INJECT_FAULT", twice, NULL, &resumed), ==, 0);
  g_assert_nonnull (strstr (resumed, "after meta-iteration 2"));
  remove_tree (dir);
}

/* In the parent: runs the test in a new process, where the library has
 * not read the umask yet, and returns NULL; or skips it where
 * /proc/self/status has no umask (no procfs, Linux before 4.7), where the
 * library falls back on umask() (lib/run.c, process_umask). In that
 * process: a new temporary folder. */
static char *
umask_subprocess_dir (void)
{
  g_autofree char *status = NULL;
  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL) || !strstr (status, "\nUmask:")) {
    g_test_skip ("/proc/self/status gives no umask: the library sets it to read it");
    return NULL;
  }
  if (!g_test_subprocess ()) {
    g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
    g_test_trap_assert_passed ();
    return NULL;
  }
  g_autoptr (GError) error = NULL;
  char *dir = test_tmp_dir ("drmad-umask", &error);
  g_assert_no_error (error);
  return dir;
}

/* The modes of @folder and of its run.ini. */
static void
assert_run_modes (const char *folder, mode_t ini_mode, mode_t folder_mode)
{
  g_autofree char *ini = g_build_filename (folder, "run.ini", NULL);
  GStatBuf st;
  g_assert_cmpint (g_stat (ini, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, ini_mode);
  g_assert_cmpint (g_stat (folder, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, folder_mode);
}

/* The library reads the umask without setting it: umask() reads it only
 * by setting it, and for that moment every other thread's new files and
 * folders got 022 instead (lib/run.c, process_umask), a server's other
 * jobs' run folders and the program's own files. No test catches that
 * moment; this one sees the call. In a new process, where the library has
 * not read the umask yet: a run folder there (under umask 027) sets it no
 * time, and its files follow it. */
static void
test_umask_read_not_set (void)
{
  g_autofree char *dir = umask_subprocess_dir ();
  if (!dir)
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *folder = g_build_filename (dir, "run", NULL);
  umask (027);
  g_atomic_int_set (&umask_watched, TRUE);
  DrmadRun *run = drmad_run_create (folder, "[run]\n", FALSE, &error);
  g_atomic_int_set (&umask_watched, FALSE);
  g_assert_no_error (error);
  drmad_run_free (run);
  umask (022);
  g_assert_cmpint (g_atomic_int_get (&umask_calls), ==, 0);
  assert_run_modes (folder, 0640, 0750);
  remove_tree (dir);
}

/* A program that narrows its umask after its first run folder (a server
 * that sets 077 once it has started, say): the next run folder's files
 * follow the umask of the moment, as open() and mkdir() do. The umask the
 * library read first used to be kept, and the atomic writer's fchmod(),
 * which no umask masks, gave run.ini 0644 under 077 (lib/run.c,
 * process_umask). In a new process, so that the first read is this one's. */
static void
test_umask_followed_when_changed (void)
{
  g_autofree char *dir = umask_subprocess_dir ();
  if (!dir)
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *first = g_build_filename (dir, "first", NULL);
  g_autofree char *second = g_build_filename (dir, "second", NULL);
  umask (022);
  drmad_run_free (drmad_run_create (first, "[run]\n", FALSE, &error));
  g_assert_no_error (error);
  umask (077);
  drmad_run_free (drmad_run_create (second, "[run]\n", FALSE, &error));
  umask (022);
  g_assert_no_error (error);
  assert_run_modes (first, 0644, 0755);
  assert_run_modes (second, 0600, 0700);
  remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (!g_getenv ("DRMAD_BIN")) {
    g_printerr ("set DRMAD_BIN to the drmad program\n");
    return 77;
  }
  umask (022);
  g_test_add_func ("/runfolder/lock", test_lock);
  g_test_add_func ("/runfolder/in-use-refuses-no-writer", test_in_use_refuses_no_writer);
  g_test_add_func ("/runfolder/in-use-fifo", test_in_use_fifo);
  g_test_add_func ("/runfolder/run-ini-fifo", test_run_ini_fifo);
  g_test_add_func ("/runfolder/checkpoint-fifo", test_checkpoint_fifo);
  g_test_add_func ("/runfolder/refusals-delete-nothing", test_refusals_delete_nothing);
  g_test_add_func ("/runfolder/force-replaces-whole", test_force_replaces_whole);
  g_test_add_func ("/runfolder/force-killed-mid-replace", test_force_killed_mid_replace);
  g_test_add_func ("/runfolder/force-keeps-other-files", test_force_keeps_other_files);
  g_test_add_func ("/runfolder/force-without-exchange", test_force_without_exchange);
  g_test_add_func ("/runfolder/resume-names-moved-aside", test_resume_names_moved_aside);
  g_test_add_func ("/runfolder/stale-staging", test_stale_staging);
  g_test_add_func ("/runfolder/force-refused-up-front", test_force_refused_up_front);
  g_test_add_func ("/runfolder/out-unwritable-up-front", test_out_unwritable_up_front);
  g_test_add_func ("/runfolder/out-capability", test_out_capability);
  g_test_add_func ("/runfolder/checkpoint-identity", test_checkpoint_identity);
  g_test_add_func ("/runfolder/checkpoint-v3", test_checkpoint_v3);
  g_test_add_func ("/runfolder/checkpoint-v3-large-theta", test_checkpoint_v3_large_theta);
  g_test_add_func ("/runfolder/segments-differ", test_segments_differ);
  g_test_add_func ("/runfolder/large-theta-checkpoint", test_large_theta_checkpoint);
  g_test_add_func ("/runfolder/checkpoint-other-theta", test_checkpoint_other_theta);
  g_test_add_func ("/runfolder/signals", test_signals);
  g_test_add_func ("/runfolder/hangup", test_hangup);
  g_test_add_func ("/runfolder/signal-during-start", test_signal_during_start);
  g_test_add_func ("/runfolder/special-files", test_special_files);
  g_test_add_func ("/runfolder/folder-deleted", test_folder_deleted);
  g_test_add_func ("/runfolder/folder-flush-fails", test_folder_flush_fails);
  g_test_add_func ("/runfolder/make-folders-not-a-folder", test_make_folders_not_a_folder);
  g_test_add_func ("/runfolder/make-folders-parent-taken-back", test_make_folders_parent_taken_back);
  g_test_add_func ("/runfolder/flush-fails-empty-folder", test_flush_fails_empty_folder);
  g_test_add_func ("/runfolder/resume-finished", test_resume_finished);
  g_test_add_func ("/runfolder/resume-finished-draws-plots", test_resume_finished_draws_plots);
  g_test_add_func ("/runfolder/hyper-csv-appended", test_hyper_csv_appended);
  g_test_add_func ("/runfolder/hyper-csv-append-fails-midway", test_hyper_csv_append_fails_midway);
  g_test_add_func ("/runfolder/hyper-csv-mode-follows-umask", test_hyper_csv_mode_follows_umask);
  g_test_add_func ("/runfolder/hyper-csv-copy-fallback", test_hyper_csv_copy_fallback);
  g_test_add_func ("/runfolder/checkpoint-in-chunks", test_checkpoint_in_chunks);
  g_test_add_func ("/runfolder/hyper-csv-link-not-cut", test_hyper_csv_link_not_cut);
  g_test_add_func ("/runfolder/aside-name-bounded", test_aside_name_bounded);
  g_test_add_func ("/runfolder/checkpoint-bytes-records", test_checkpoint_bytes_records);
  g_test_add_func ("/runfolder/checkpoint-memory-peak", test_checkpoint_memory_peak);
  g_test_add_func ("/runfolder/default-folders-side-by-side", test_default_folders_side_by_side);
  g_test_add_func ("/runfolder/umask-read-not-set", test_umask_read_not_set);
  g_test_add_func ("/runfolder/umask-followed-when-changed", test_umask_followed_when_changed);
  return g_test_run ();
}
