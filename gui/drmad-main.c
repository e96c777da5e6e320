/* `drmad`: the desktop window, or with --no-gui (and for --list-devices,
 * --check, --evaluate, --version, --help, or without a display) the headless runner. */
#include "drmad-cli.h"
#include "drmad.h"

#include <stdio.h>
#include <string.h>

#ifdef DRMAD_GUI_MODULE
#include <dlfcn.h>

/* Options that mean the terminal, whatever else is given. */
static gboolean
wants_terminal (int argc, char **argv)
{
  static const char *const terminal[] = { "--no-gui", "--list-devices", "--check", "--evaluate", "--version", "--help",
                                          "--help-all", "-h", "-?", NULL };
  for (int i = 1; i < argc; i++) {
    if (g_str_equal (argv[i], "--"))
      break;
    for (const char *const *t = terminal; *t; t++)
      if (g_str_equal (argv[i], *t) || (g_str_has_prefix (argv[i], "--help-")))
        return TRUE;
  }
  return FALSE;
}

/* Runs the window from its module (gui/meson.build): TRUE with its exit
 * status in @status; FALSE, having said why, when the module cannot be
 * loaded or there is no display. */
static gboolean
run_window (int argc, char **argv, int *status)
{
  g_autofree char *program = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *folder = program ? g_path_get_dirname (program) : NULL;
  g_autofree char *beside = folder ? g_build_filename (folder, DRMAD_GUI_MODULE, NULL) : NULL;
  g_autofree char *installed = g_build_filename (DRMAD_GUI_MODULE_DIR, DRMAD_GUI_MODULE, NULL);
  const char *paths[] = { beside, installed };
  void *module = NULL;
  g_autofree char *failure = NULL;
  for (guint i = 0; i < G_N_ELEMENTS (paths) && !module; i++) {
    if (!paths[i] || !g_file_test (paths[i], G_FILE_TEST_EXISTS))
      continue;
    if (!(module = dlopen (paths[i], RTLD_NOW | RTLD_LOCAL))) {
      g_free (failure);
      failure = g_strdup (dlerror ());
    }
  }
  int (*gui_main) (int, char **) = module ? (int (*) (int, char **)) dlsym (module, "drmad_gui_main") : NULL;
  if (!gui_main) {
    fprintf (stderr, "drmad: cannot load the window (%s): running headless, as with --no-gui\n",
             failure ? failure : module ? "its module has no drmad_gui_main" : DRMAD_GUI_MODULE " is neither beside "
             "the program nor in " DRMAD_GUI_MODULE_DIR);
    return FALSE;
  }
  *status = gui_main (argc, argv);
  if (*status != -1)
    return TRUE;
  fprintf (stderr, "drmad: no display to open a window on (DISPLAY / WAYLAND_DISPLAY unset or unreachable): "
                   "running headless, as with --no-gui\n");
  return FALSE;
}
#endif

int
main (int argc, char **argv)
{
  drmad_prepare_environment ();  /* before any thread or OpenCL call */
#ifdef DRMAD_GUI_MODULE
  int status;
  if (!wants_terminal (argc, argv) && run_window (argc, argv, &status))
    return status;
#endif
  return drmad_cli_main (argc, argv);
}
