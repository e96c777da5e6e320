/* Shared by the fuzz targets: parsers read files, so each input is written
 * to a private scratch folder (on tmpfs when /dev/shm exists) first. */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *fuzz_scratch;

static const char *
fuzz_folder (void)
{
  if (!fuzz_scratch) {
    const char *base = g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR) ? "/dev/shm" : g_get_tmp_dir ();
    g_autofree char *xs = g_strnfill (6, 'X');   /* g_mkdtemp() makes them random */
    g_autofree char *name = g_strconcat ("drmad-fuzz-", xs, NULL);
    g_autofree char *template = g_build_filename (base, name, NULL);
    fuzz_scratch = g_mkdtemp (g_steal_pointer (&template));
    if (!fuzz_scratch)
      abort ();
  }
  return fuzz_scratch;
}

/* Writes @data to @name inside the scratch folder (creating parents); returns the path. */
static char *
fuzz_write (const char *name, const uint8_t *data, size_t size)
{
  char *path = g_build_filename (fuzz_folder (), name, NULL);
  g_autofree char *parent = g_path_get_dirname (path);
  g_mkdir_with_parents (parent, 0700);
  if (!g_file_set_contents (path, (const char *) data, size, NULL))
    abort ();
  return path;
}

/* A reader's message names the file it read (docs/reliability.md, "Bad
 * input"): @error, when set, must hold @path. */
static inline void
fuzz_check_names (const GError *error, const char *path)
{
  if (error && !strstr (error->message, path)) {
    fprintf (stderr, "the message does not name %s: %s\n", path, error->message);
    abort ();
  }
}
