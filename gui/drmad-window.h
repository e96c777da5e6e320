/* The main window: settings on the left, live plots of the run on
 * the right, Start / Stop / Open run / Export in the header bar. */
#pragma once

#include <gtk/gtk.h>
#include "drmad-plot-view.h"
#include "drmad-settings.h"

G_BEGIN_DECLS

#define DRMAD_TYPE_WINDOW (drmad_window_get_type ())
G_DECLARE_FINAL_TYPE (DrmadWindow, drmad_window, DRMAD, WINDOW, GtkApplicationWindow)

DrmadWindow *drmad_window_new (GtkApplication *application, DrmadSettings *settings);

/* Shows @message in the banner above the plots. */
void         drmad_window_show_error (DrmadWindow *self, const char *message);
/* The banner's text, or NULL when it is hidden. */
const char  *drmad_window_get_error  (DrmadWindow *self);

gboolean     drmad_window_is_running (DrmadWindow *self);
/* A run, or opening a run / dataset, or an export, is in progress. */
gboolean     drmad_window_is_busy    (DrmadWindow *self);
/* The status line: device and elapsed time, or how the last run ended. */
const char  *drmad_window_get_status (DrmadWindow *self);
/* Meta-iterations the plots show. */
guint        drmad_window_get_n_plotted (DrmadWindow *self);
/* The run folder shown (the current run's, or the one opened), or NULL. */
const char  *drmad_window_get_run_folder (DrmadWindow *self);
/* The plot views: 0 L2, 1 learning rate, 2 loss, then the pages beside the
 * learning rate: 3 momentum, 4 initial scale, 5 hypergradient norms, 6 fidelity. */

/* The widget that edits setting @key (every run.ini setting has one), or NULL. */
GtkWidget   *drmad_window_get_setting_widget (DrmadWindow *self, const char *key);
/* The setting whose field is marked invalid, with the message as its tooltip; NULL when all are valid. */
const char  *drmad_window_get_invalid_setting (DrmadWindow *self);
/* 0: learned L2, 1: learning-rate schedule, 2: loss. */
DrmadPlotView *drmad_window_get_plot_view (DrmadWindow *self, guint index);

/* What Open run…, Export… and the dataset's Open… do once a folder is chosen. */
void         drmad_window_open_run     (DrmadWindow *self, const char *folder);
/* A window overlaying @folders (NULL-terminated) and the run this window
 * shows, if any: validation loss, learned L2 per layer, learning-rate
 * schedule. Returns it (owned by GTK) at once, saying that it is loading:
 * the run folders are read in a thread, and the plots fill it once they are
 * (an error closes it and shows in the banner). Closing it, or another
 * comparison, cancels the load. */
GtkWidget   *drmad_window_compare_runs (DrmadWindow *self, const char *const *folders);
/* A comparison is loading. */
gboolean     drmad_window_is_comparing (DrmadWindow *self);
/* scripts/screenshots.sh: opens the comparison of @folders, saves it to
 * @path once drawn, and quits the application. */
void         drmad_window_screenshot_compare (DrmadWindow *self, const char *path, const char *const *folders);
void         drmad_window_export_to    (DrmadWindow *self, const char *folder);
/* Export as the menu does: when @folder holds files of the run's names, a
 * question (returned; Replace exports) instead; else exports and returns NULL. */
GtkWidget   *drmad_window_export_asking (DrmadWindow *self, const char *folder);
/* The settings column's wheel at (@x, @y) in the column's coordinates: TRUE
 * when it scrolled the column, FALSE when the focused field under the pointer
 * takes it (an unfocused number field never changes under the wheel). */
gboolean     drmad_window_settings_wheel (DrmadWindow *self, double x, double y, double dy);
void         drmad_window_open_dataset (DrmadWindow *self, const char *folder);

/* Renders the window (not a screen grab) to a PNG with its own renderer,
 * from the render nodes of the last frame: FALSE when there are none (a
 * change since then invalidated them); _async waits for the next frame, and
 * fails (G_IO_ERROR_FAILED) where the window is not shown or is closed
 * before that frame. */
gboolean     drmad_window_save_png (DrmadWindow *self, const char *path, GError **error);
void         drmad_window_save_png_async  (DrmadWindow *self, const char *path, GAsyncReadyCallback callback,
                                           gpointer user_data);
gboolean     drmad_window_save_png_finish (DrmadWindow *self, GAsyncResult *result, GError **error);

/* The screenshot hook (scripts/screenshots.sh): starts the run, and after
 * @iterations meta-iterations saves the window to @path, stops and quits. */
void         drmad_window_screenshot_after (DrmadWindow *self, const char *path, guint iterations);

G_END_DECLS
