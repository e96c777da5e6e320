/* Shared test helpers. */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>
#include <sys/wait.h>

/* Runs a call that reports through `error`, failing with its message. */
#define CHECK(call) G_STMT_START {        \
    gboolean check_ok_ = (call);          \
    g_assert_no_error (error);            \
    g_assert_true (check_ok_);            \
  } G_STMT_END

/* A new folder in the temporary directory, named @prefix, a dash and six
 * random characters (g_dir_make_tmp's template, its X's made here). */
static inline char *
test_tmp_dir (const char *prefix, GError **error)
{
  g_autofree char *xs = g_strnfill (6, 'X');
  g_autofree char *name = g_strdup_printf ("%s-%s", prefix, xs);
  return g_dir_make_tmp (name, error);
}

/* Removes a file or a folder with everything in it (symbolic links are not followed). */
static inline void
remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK)) {
    GDir *dir = g_dir_open (path, 0, NULL);
    const char *name;
    while (dir && (name = g_dir_read_name (dir))) {
      g_autofree char *child = g_build_filename (path, name, NULL);
      remove_tree (child);
    }
    if (dir)
      g_dir_close (dir);
    g_rmdir (path);
  } else {
    g_unlink (path);
  }
}

#ifdef F_OFD_SETLK   /* a test that holds a run folder as a writer defines _GNU_SOURCE first */
/* Holds the run folder whose .drmad-lock @fd is open read-write, as its
 * writer does (lib/run.c: an open file description lock over the whole file),
 * until @fd is closed. 0, or -1 with errno where it is held already. */
static inline int
hold_run_lock (int fd)
{
  struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
  return fcntl (fd, F_OFD_SETLK, &lock);
}
#endif

/* A test of a fault-injection hook skips itself in a build without the hooks
 * (meson option test_hooks; test.sh turns it on). */
#ifdef DRMAD_TEST_HOOKS
#define SKIP_WITHOUT_TEST_HOOKS() G_STMT_START { } G_STMT_END
#else
#define SKIP_WITHOUT_TEST_HOOKS() G_STMT_START {                                         \
    g_test_skip ("built without the test hooks (meson configure build -Dtest_hooks=true)"); \
    return;                                                                              \
  } G_STMT_END
#endif

/* A test that cannot run under AddressSanitizer (its shadow memory under an
 * address-space limit, its runtime with PoCL's threads) skips itself in the
 * sanitizer build, saying @why; the plain build runs it. */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_UNDER_ASAN 1
#endif
#endif
#ifdef TEST_UNDER_ASAN
#define SKIP_UNDER_ASAN(why) G_STMT_START { g_test_skip (why); return; } G_STMT_END
#else
#define SKIP_UNDER_ASAN(why) G_STMT_START { } G_STMT_END
#endif

/* Runs $DRMAD_BIN with @base then @extra arguments (NULL-terminated; either
 * may be NULL), with @env_key=@env_value added when @env_key is set. Returns
 * the exit status (128 + the signal when killed); stdout and stderr go to
 * @out and @err when set. @setup (@data), when set, runs in the child
 * before exec (a umask, a resource limit). */
static inline int
run_drmad_set_up (const char *const *base, const char *const *extra, const char *env_key, const char *env_value,
                  GSpawnChildSetupFunc setup, gpointer data, char **out, char **err)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) g_getenv ("DRMAD_BIN"));
  for (const char *const *a = base; a && *a; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  for (const char *const *a = extra; a && *a; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  g_ptr_array_add (argv, NULL);
  int wait_status;
  g_autoptr (GError) error = NULL;
  char *stdout_text = NULL, *stderr_text = NULL;
  g_auto (GStrv) env = g_get_environ ();
  if (env_key)
    env = g_environ_setenv (env, env_key, env_value, TRUE);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, env, G_SPAWN_DEFAULT, setup, data, &stdout_text,
                               &stderr_text, &wait_status, &error));
  g_assert_no_error (error);
  g_test_message ("stderr: %s", stderr_text);
  if (out) *out = stdout_text; else g_free (stdout_text);
  if (err) *err = stderr_text; else g_free (stderr_text);
  return WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : 128 + WTERMSIG (wait_status);
}

/* run_drmad_set_up() without a set-up. */
static inline int
run_drmad (const char *const *base, const char *const *extra, const char *env_key, const char *env_value, char **out,
           char **err)
{
  return run_drmad_set_up (base, extra, env_key, env_value, NULL, NULL, out, err);
}

/* An environment whose locale writes 0,5: de_DE.UTF-8 compiled with
 * localedef into @dir (Debian package locales). NULL, the test skipped,
 * where it cannot be made. */
static inline char **
decimal_comma_environ (const char *dir)
{
  g_autofree char *locale = g_build_filename (dir, "de_DE.UTF-8", NULL);
  const char *localedef[] = { "localedef", "-i", "de_DE", "-f", "UTF-8", locale, NULL };
  int wait_status = 1;
  if (!g_spawn_sync (NULL, (char **) localedef, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL
                     | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, &wait_status, NULL)
      || !g_spawn_check_wait_status (wait_status, NULL)) {
    g_test_skip ("localedef cannot make de_DE.UTF-8 here (Debian package locales)");
    return NULL;
  }
  char **env = g_get_environ ();
  env = g_environ_setenv (env, "LOCPATH", dir, TRUE);
  return g_environ_setenv (env, "LC_ALL", "de_DE.UTF-8", TRUE);
}

/* Tests on the real data skip themselves where it is not installed. */
/* @folder's history.csv without its seconds column, the one column that
 * differs between two runs of the same job. */
static inline char *
history_without_seconds (const char *folder)
{
  g_autofree char *path = g_build_filename (folder, "history.csv", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_auto (GStrv) header = g_strsplit (lines[0], ",", -1);
  guint column = 0;
  while (header[column] && !g_str_equal (header[column], "seconds"))
    column++;
  g_assert_nonnull (header[column]);
  GString *kept = g_string_new (NULL);
  for (guint i = 0; lines[i]; i++) {
    g_auto (GStrv) cells = g_strsplit (lines[i], ",", -1);
    for (guint c = 0; cells[c]; c++)
      if (c != column)
        g_string_append_printf (kept, "%s%s", c ? "," : "", cells[c]);
    g_string_append_c (kept, '\n');
  }
  return g_string_free (kept, FALSE);
}

static inline gboolean
have_fashion_mnist (void)
{
  if (!g_file_test ("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", G_FILE_TEST_EXISTS)) {
    g_test_skip ("Fashion-MNIST is not installed (Debian package dataset-fashion-mnist)");
    return FALSE;
  }
  return TRUE;
}
