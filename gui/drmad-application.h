/* DrmadApplication: the GtkApplication (org.drmad.Drmad): the window, the
 * app actions, and the settings that persist between launches. */
#pragma once

#include <gtk/gtk.h>
#include "drmad-settings.h"

G_BEGIN_DECLS

#define DRMAD_APPLICATION_ID "org.drmad.Drmad"

#define DRMAD_TYPE_APPLICATION (drmad_application_get_type ())
G_DECLARE_FINAL_TYPE (DrmadApplication, drmad_application, DRMAD, APPLICATION, GtkApplication)

DrmadApplication *drmad_application_new (void);

DrmadSettings *drmad_application_get_settings (DrmadApplication *self);

/* Settings from the command line (key → value), applied over the saved ones
 * at startup, and a run folder to open (--resume DIR); either may be NULL. */
void drmad_application_set_command_line (DrmadApplication *self, GHashTable *values, const char *open_run);

/* What drmad_application_main returns (0 unless set). */
void drmad_application_set_exit_status (DrmadApplication *self, int status);

/* `drmad` with a display: parses the options as the headless runner does
 * (settings given on the command line override the saved ones), then runs
 * the window. Returns the exit status (2 on bad options). */
int drmad_application_main (int argc, char **argv);

G_END_DECLS
