/* A widget that shows one DrmadPlot, drawn by drmad_plot_draw() (the same
 * drawing as the PNGs), with a read-out of the data point under the pointer
 * or under a cursor the arrow keys move. */
#pragma once

#include <gtk/gtk.h>
#include "drmad-plot.h"

G_BEGIN_DECLS

#define DRMAD_TYPE_PLOT_VIEW (drmad_plot_view_get_type ())
G_DECLARE_FINAL_TYPE (DrmadPlotView, drmad_plot_view, DRMAD, PLOT_VIEW, GtkDrawingArea)

GtkWidget       *drmad_plot_view_new      (void);
/* Takes @plot (may be NULL: nothing to show). */
void             drmad_plot_view_set_plot (DrmadPlotView *self, DrmadPlot *plot);
const DrmadPlot *drmad_plot_view_get_plot (DrmadPlotView *self);
/* The name a screen reader reads while the view has no plot, or one
 * without a title: the label the view is shown under (its tab's); NULL:
 * "Plot". A plot's title replaces it. */
void             drmad_plot_view_set_placeholder_title (DrmadPlotView *self, const char *title);

/* The view's own choices, kept as the plot is replaced after each
 * meta-iteration (the wheel, a drag, a double click and the right-click menu
 * call these): zoom the x axis by @factor (< 1 in, > 1 out) around the
 * widget x coordinate @x; show all the data again; a log or linear y axis. */
void             drmad_plot_view_zoom       (DrmadPlotView *self, double x, double factor);
void             drmad_plot_view_reset_zoom (DrmadPlotView *self);
void             drmad_plot_view_set_log    (DrmadPlotView *self, gboolean log_y);

/* Moves the read-out to the data point nearest to (@x, @y) in widget
 * coordinates, as the pointer does; FALSE when none is near (the pointer's
 * read-out then goes, the keyboard cursor's stays). */
gboolean         drmad_plot_view_hover    (DrmadPlotView *self, double x, double y);
/* The accessible description: "Newest values: " and the read-out of the
 * last finite point of each series in the key drawn at full strength (each
 * in the key where all are faded), "; " between them, or the plot's empty
 * note; then what the keys do. */
const char      *drmad_plot_view_get_description (DrmadPlotView *self);
/* "layer 2, meta-iteration 7: 1.23e-4", or NULL when nothing is hovered. */
const char      *drmad_plot_view_get_hover_text (DrmadPlotView *self);
/* The read-out's text as drawn at the view's width now: in lines broken
 * after its commas where it would be wider than the view (NULL when there is
 * no read-out); @box_width (may be NULL) gets the width of its box. */
GStrv            drmad_plot_view_get_readout_lines (DrmadPlotView *self, double *box_width);

/* What a key pressed in the focused view does (its key controller calls
 * this): Left / Right move the read-out to the previous / next point of its
 * series, Home / End to the first / last, Up / Down to the nearest point of
 * the series above / below in the key (the faded series of earlier
 * meta-iterations, not in the key, are passed over); the first of these keys
 * starts on the newest point of the first series in the key (Home: its
 * first point). Plus (or =) and minus zoom the x axis in and out around the
 * read-out's point (the middle without one), as the wheel does, and 0 shows
 * all again. Escape hides the read-out. FALSE for a key the view leaves
 * to the window. The read-out is drawn as the pointer's, on its point at
 * whatever scale, zoom and size the plot is drawn, and is the view's
 * accessible label with the plot's title; it goes when the focus leaves or
 * the pointer reads out another point (not as the pointer passes by or
 * leaves), and stays on its point (the newest, if it was there) as the plot
 * is replaced, its series found again by name. */
gboolean         drmad_plot_view_key (DrmadPlotView *self, guint keyval);

/* Save as PNG / SVG (the right-click menu, once a file is chosen): writes
 * the plot as the view last drew it (zoom and scale), at its size, at least
 * 400 × 250, atomically. NULL when saved; else the error dialog it shows
 * (owned by GTK), transient for the view's window. */
GtkWidget       *drmad_plot_view_save_to (DrmadPlotView *self, const char *path, gboolean svg);

/* The read-out text of point @point_index of series @series_index. */
char            *drmad_plot_describe_point (const DrmadPlot *plot, guint series_index, guint point_index);

G_END_DECLS
