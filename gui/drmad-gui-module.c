/* The window as a module that `drmad` (drmad-main.c) loads only to open the
 * window: a run in the terminal maps no GTK. */
#include <gtk/gtk.h>
#include "drmad-application.h"

int drmad_gui_main (int argc, char **argv);

/* The window's exit status, or -1, with nothing run, when there is no
 * display to open it on. */
G_MODULE_EXPORT int
drmad_gui_main (int argc, char **argv)
{
  if (!gtk_init_check ())
    return -1;
  return drmad_application_main (argc, argv);
}
