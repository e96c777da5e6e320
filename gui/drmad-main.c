/* `drmad`: the desktop window, or with --no-gui (and for --list-devices,
 * --check, --evaluate, --version, --help, without a display, or in a build
 * without the window) the headless runner. */
#include "drmad-cli.h"
#include "drmad-options.h"
#include "drmad.h"

#include <stdio.h>
#include <string.h>

#ifdef DRMAD_GUI_MODULE
#include <dlfcn.h>
#include "drmad-module.h"

/* Runs the window from its module (gui/meson.build): TRUE with its exit
 * status in @status; FALSE, having said why, when the module cannot be
 * loaded or there is no display. */
static gboolean
run_window (int argc, char **argv, int *status)
{
  g_autofree char *failure = NULL;
  void *module = drmad_module_open (DRMAD_GUI_MODULE, RTLD_NOW | RTLD_LOCAL, &failure);
  int (*gui_main) (int, char **) = module ? (int (*) (int, char **)) dlsym (module, "drmad_gui_main") : NULL;
  if (!gui_main) {
    g_autofree char *notice = g_strdup_printf ("cannot load the window (%s): running headless, as with --no-gui",
                                               module ? DRMAD_GUI_MODULE " has no drmad_gui_main" : failure);
    drmad_cli_set_headless_notice (notice);
    return FALSE;
  }
  *status = gui_main (argc, argv);
  if (*status != -1)
    return TRUE;
  drmad_cli_set_headless_notice ("no display to open a window on (DISPLAY / WAYLAND_DISPLAY unset or unreachable): "
                                 "running headless, as with --no-gui");
  return FALSE;
}
#endif

int
main (int argc, char **argv)
{
  drmad_prepare_environment ();  /* before any thread or OpenCL call */
#ifdef DRMAD_GUI_MODULE
  int status;
  if (!drmad_options_want_terminal (argc, argv) && drmad_cli_launched ())
    drmad_cli_set_headless_notice ("started by mpirun or srun: running headless, as with --no-gui (the window runs "
                                   "in one process started without them)");
  else if (!drmad_options_want_terminal (argc, argv) && run_window (argc, argv, &status))
    return status;
#else
  /* README, "The window": `drmad` opens the window; a build without one
   * says so rather than running the job headless unannounced. */
  if (!drmad_options_want_terminal (argc, argv))
    drmad_cli_set_headless_notice ("this build has no window (configured with -Dgui=disabled, or GTK 4 not found): "
                                   "running headless, as with --no-gui");
#endif
  return drmad_cli_main (argc, argv);
}
