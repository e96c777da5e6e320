/* Plots: a model of series apart from pixels, drawn on any cairo context, so
 * the window and the PNG export share one drawing. */
#pragma once

#include <cairo.h>
#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  char   *name;          /* legend text, e.g. "layer 1" */
  GArray *x, *y;         /* doubles, same length */
  guint   color_index;   /* into a fixed palette */
  double  alpha;         /* 1 = current; earlier meta-iterations fade */
  gboolean in_legend;
  gboolean steps;        /* draw as a step function (schedules) */
} DrmadPlotSeries;

typedef struct {
  char      *title, *x_label, *y_label;
  gboolean   log_y;
  GPtrArray *series;     /* DrmadPlotSeries, drawn in order */
} DrmadPlot;

DrmadPlot       *drmad_plot_new        (const char *title, const char *x_label, const char *y_label, gboolean log_y);
void             drmad_plot_free       (DrmadPlot *plot);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DrmadPlot, drmad_plot_free)
DrmadPlotSeries *drmad_plot_add_series (DrmadPlot *plot, const char *name, guint color_index, double alpha);
void             drmad_plot_series_append (DrmadPlotSeries *series, double x, double y);

/* Draws the whole plot (background, axes with ticks and labels, series,
 * legend, title) into the rectangle (0, 0, width, height) of @cr. Points that
 * are NaN/Inf, or ≤ 0 on a log axis, are skipped. An empty plot draws its
 * axes and a "no data yet" note. */
void drmad_plot_draw (const DrmadPlot *plot, cairo_t *cr, double width, double height);

/* Renders to a @width × @height ARGB PNG, written atomically (temp file in
 * the same folder, then rename): an earlier file survives any failure. */
gboolean drmad_plot_write_png (const DrmadPlot *plot, const char *path, int width, int height, GError **error);

/* The data point nearest to (@px, @py) in a plot drawn at width × height, for
 * hover read-outs; FALSE when none is within @radius pixels. */
gboolean drmad_plot_nearest (const DrmadPlot *plot, double width, double height, double px, double py,
                             double radius, guint *series_index, guint *point_index);

/* The three plots of a run, built from per-meta-iteration arrays (row-major):
 *   l2:   n_iters × n_layers L2 coefficients (natural units), log scale, against meta-iteration
 *   lr:   n_iters × n_layers × segments learning rates; the last iteration's
 *         schedule per layer against training step (0 … steps), earlier ones faded
 *   loss: train loss, validation loss and validation error against meta-iteration */
DrmadPlot *drmad_plot_l2   (guint n_iters, guint n_layers, const double *l2);
DrmadPlot *drmad_plot_lr   (guint n_iters, guint n_layers, guint segments, guint64 steps, const double *lr);
DrmadPlot *drmad_plot_loss (guint n_iters, const double *train_loss, const double *val_loss, const double *val_error);

G_END_DECLS
