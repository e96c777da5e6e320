/* drmad_module_open (drmad-module.h). */
#include "drmad-module.h"

#include <dlfcn.h>

void *
drmad_module_open (const char *name, int flags, char **failure)
{
  g_autofree char *program = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *folder = program ? g_path_get_dirname (program) : NULL;
  g_autofree char *beside = folder ? g_build_filename (folder, name, NULL) : NULL;
  g_autofree char *installed = g_build_filename (DRMAD_MODULE_DIR, name, NULL);
  const char *paths[] = { beside, installed };
  g_autofree char *why = NULL;
  for (guint i = 0; i < G_N_ELEMENTS (paths); i++) {
    if (!paths[i] || !g_file_test (paths[i], G_FILE_TEST_EXISTS))
      continue;
    void *module = dlopen (paths[i], flags);
    if (module)
      return module;
    g_free (why);
    why = g_strdup (dlerror ());
  }
  *failure = why ? g_steal_pointer (&why)
                 : g_strdup_printf ("%s is neither beside the program nor in %s", name, DRMAD_MODULE_DIR);
  return NULL;
}
