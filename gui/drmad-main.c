/* `drmad`: the desktop window, or with --no-gui (and for --list-devices,
 * --check, --evaluate, --version, --help, or without a display) the headless runner. */
#include "drmad-cli.h"
#include "drmad.h"

#include <stdio.h>
#include <string.h>

#ifdef DRMAD_HAVE_GUI
#include <gtk/gtk.h>
#include "drmad-application.h"

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
#endif

int
main (int argc, char **argv)
{
  drmad_prepare_environment ();  /* before any thread or OpenCL call */
#ifdef DRMAD_HAVE_GUI
  if (!wants_terminal (argc, argv)) {
    if (gtk_init_check ())
      return drmad_application_main (argc, argv);
    fprintf (stderr, "drmad: no display to open a window on (DISPLAY / WAYLAND_DISPLAY unset or unreachable): "
                     "running headless, as with --no-gui\n");
  }
#endif
  return drmad_cli_main (argc, argv);
}
