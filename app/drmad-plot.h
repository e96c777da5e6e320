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
  gboolean right_axis;   /* against the second y axis, when the plot has one */
} DrmadPlotSeries;

/* One entry of the key of faded series: the meta-iteration drawn at @alpha. */
typedef struct {
  guint  meta_iteration;
  double alpha;
} DrmadPlotShade;

typedef struct {
  char      *title, *x_label, *y_label;
  gboolean   log_y;
  GPtrArray *series;     /* DrmadPlotSeries, drawn in order */
  char      *y2_label;   /* NULL: no second axis; else a linear axis on the right for right_axis series */
  gboolean   y2_percent; /* the second axis holds fractions, labelled and read out in percent */
  GArray    *rejected_x; /* doubles: x of rejected meta-iterations, drawn as shaded columns */
  double     best_x;     /* x of the best meta-iteration, a dashed line; NaN: none */
  char      *best_text;  /* its legend text */
  GArray    *shades;     /* DrmadPlotShade: the key of the faded series, oldest first; empty: none */
  char      *shades_caption;         /* the key's caption; NULL: "faded: earlier meta-iterations"
                                      * (drmad_plot_run_lr: "faded: 10 of 300 …" when it left some out) */
  double     view_x_lo, view_x_hi;   /* the x range shown (zoom); NaN: all the data */
  double     y_min, y_max;           /* the values the left axis' quantity can take (a momentum, a cosine,
                                      * an L2): its padding stays within them when the data do, on a log
                                      * axis too (there a bound ≤ 0 is none); NaN: unbounded.
                                      * A y2_percent axis is bounded by 0 and 1 alike. */
  char      *empty_note;             /* what a plot without data says; NULL: "no data yet" */
} DrmadPlot;

DrmadPlot       *drmad_plot_new        (const char *title, const char *x_label, const char *y_label, gboolean log_y);
void             drmad_plot_free       (DrmadPlot *plot);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DrmadPlot, drmad_plot_free)
DrmadPlotSeries *drmad_plot_add_series (DrmadPlot *plot, const char *name, guint color_index, double alpha);
void             drmad_plot_series_append (DrmadPlotSeries *series, double x, double y);

/* Draws the whole plot (background, axes with ticks and labels, series,
 * legend, title) into the rectangle (0, 0, width, height) of @cr. Points that
 * are NaN/Inf, or ≤ 0 on a log axis, are skipped. An empty plot draws its
 * axes and a "no data yet" note; one whose meta-iterations were all
 * rejected without a finite value, their columns, its legend and "no finite
 * values". The legend lies outside the plot area: in a
 * column on the right when the plot is wide enough, else in rows below.
 * A line of many points per device-pixel column draws, per column, only
 * its way in and out and its lowest and highest points (the same pixels,
 * give or take an antialiased edge; a few points per column: the same path). */
void drmad_plot_draw (const DrmadPlot *plot, cairo_t *cr, double width, double height);

typedef struct {
  double x, y, width, height;
} DrmadPlotRect;

/* Where drmad_plot_draw() puts the plot area (the axes' box, inside which
 * all data lie) and the legend (zero width and height when there is none)
 * for a plot drawn at @width × @height. */
void drmad_plot_get_layout (const DrmadPlot *plot, double width, double height, DrmadPlotRect *area,
                            DrmadPlotRect *legend);

typedef enum {
  DRMAD_PLOT_AXIS_X,
  DRMAD_PLOT_AXIS_Y,
  DRMAD_PLOT_AXIS_Y2,
} DrmadPlotAxis;

/* The tick labels drawn on @axis, from the lowest value up; "10^-4" stands for
 * a power of ten drawn with a superscript. Empty when the axis is not drawn. */
GStrv drmad_plot_get_tick_labels (const DrmadPlot *plot, double width, double height, DrmadPlotAxis axis);

/* Renders to a @width × @height ARGB PNG, written atomically (temp file in
 * the same folder, then rename): an earlier file survives any failure. */
gboolean drmad_plot_write_png (const DrmadPlot *plot, const char *path, int width, int height, GError **error);
/* The same PNG in memory (@name for the error only). */
GBytes  *drmad_plot_png_bytes (const DrmadPlot *plot, const char *name, int width, int height, GError **error);
/* The same drawing as SVG (vector), written the same way. */
gboolean drmad_plot_write_svg (const DrmadPlot *plot, const char *path, int width, int height, GError **error);

/* The x range drawn at this size (after padding, or the zoom), in data units. */
void drmad_plot_get_x_range (const DrmadPlot *plot, double width, double height, double *lo, double *hi);

/* The data point nearest to (@px, @py) in a plot drawn at width × height, for
 * hover read-outs; FALSE when none is within @radius pixels. */
gboolean drmad_plot_nearest (const DrmadPlot *plot, double width, double height, double px, double py,
                             double radius, guint *series_index, guint *point_index);
/* Where point @point_index of series @series_index is drawn in a plot drawn at
 * width × height (its inverse): FALSE when it is not drawn at all (NaN/Inf,
 * or ≤ 0 on a log axis). A point outside a zoomed x range lies outside the
 * plot area. With @px and @py NULL, only whether it is drawn (quick). */
gboolean drmad_plot_locate (const DrmadPlot *plot, double width, double height, guint series_index,
                            guint point_index, double *px, double *py);

/* What a run recorded, for its plots (arrays row-major; any pointer may be
 * NULL: not recorded). Meta-iteration i + 1 is row i; meta-iteration 0 is
 * the starting values, before any meta-step. */
typedef struct {
  guint           n_iters, n_layers, segments;
  guint64         steps;            /* T, training steps per meta-iteration */
  const double   *initial_l2;       /* n_layers */
  const double   *l2;               /* n_iters × n_layers, natural units */
  const double   *initial_lr;       /* n_layers × segments */
  const double   *lr;               /* n_iters × n_layers × segments */
  const double   *train_loss;       /* n_iters: mean minibatch loss over the T steps */
  const double   *val_loss;         /* n_iters */
  const double   *val_error;        /* n_iters, a fraction */
  const gboolean *rejected;         /* n_iters: the divergence guard undid the meta-step */
} DrmadPlotRunData;

/* The three plots of a run:
 *   l2:   L2 coefficient per layer against meta-iteration (0 when initial_l2 is
 *         given), log scale; the rejected values shaded and the best ones (lowest
 *         validation loss among the accepted) marked, each at the point θ had
 *         when a meta-iteration measured it (k − 1 for meta-iteration k)
 *   lr:   the last schedule per layer against training step (0 … steps), earlier
 *         ones (the starting one first, when initial_lr is given) faded, with a key;
 *         past about 24 000 points of earlier ones, some spread over the run (the
 *         first and the latest among them), and shades_caption says how many
 *   loss: train and validation loss against meta-iteration, validation error in
 *         percent on a second axis, rejected meta-iterations shaded and the best
 *         one marked at the meta-iteration itself */
DrmadPlot *drmad_plot_run_l2   (const DrmadPlotRunData *data);
DrmadPlot *drmad_plot_run_lr   (const DrmadPlotRunData *data);
DrmadPlot *drmad_plot_run_loss (const DrmadPlotRunData *data);

/* The same without starting values, marks or T. */
DrmadPlot *drmad_plot_l2   (guint n_iters, guint n_layers, const double *l2);
DrmadPlot *drmad_plot_lr   (guint n_iters, guint n_layers, guint segments, guint64 steps, const double *lr);
DrmadPlot *drmad_plot_loss (guint n_iters, const double *train_loss, const double *val_loss, const double *val_error);

G_END_DECLS
