/* Shared test helpers. */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>

/* Runs a call that reports through `error`, failing with its message. */
#define CHECK(call) G_STMT_START {        \
    gboolean check_ok_ = (call);          \
    g_assert_no_error (error);            \
    g_assert_true (check_ok_);            \
  } G_STMT_END

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
