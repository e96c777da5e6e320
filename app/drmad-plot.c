/* Plots: the model (series of data points) and one cairo drawing of it that
 * the window and the PNG export share. Pixels are computed only here, by
 * plot_layout_*; drawing and hit testing both go through them. Text is
 * measured on a private image surface, so that the layout (margins grown to
 * fit the tick labels, the legend beside or below the axes) is the same for
 * every target and for hit testing, which has no cairo context. */
#include "drmad-plot.h"

#include <cairo-svg.h>

#include <drmad.h>
#include <float.h>
#include <math.h>
#include <string.h>

/* Okabe & Ito (2008), colour-blind safe; yellow and black last because they
 * read worst against a white background and black axes. */
static const double palette[][3] = {
  { 0x00 / 255.0, 0x72 / 255.0, 0xB2 / 255.0 },   /* blue */
  { 0xD5 / 255.0, 0x5E / 255.0, 0x00 / 255.0 },   /* vermillion */
  { 0x00 / 255.0, 0x9E / 255.0, 0x73 / 255.0 },   /* bluish green */
  { 0xCC / 255.0, 0x79 / 255.0, 0xA7 / 255.0 },   /* reddish purple */
  { 0xE6 / 255.0, 0x9F / 255.0, 0x00 / 255.0 },   /* orange */
  { 0x56 / 255.0, 0xB4 / 255.0, 0xE9 / 255.0 },   /* sky blue */
  { 0xF0 / 255.0, 0xE4 / 255.0, 0x42 / 255.0 },   /* yellow */
  { 0x00 / 255.0, 0x00 / 255.0, 0x00 / 255.0 },   /* black */
};
#define PALETTE_SIZE G_N_ELEMENTS (palette)

/* Rejected meta-iterations: a pale red column behind the data; the best one:
 * a dashed grey line. Neither is a palette colour. */
static const double rejected_fill[3] = { 1.0, 0.86, 0.86 };
static const double rejected_edge[3] = { 0.85, 0.55, 0.55 };
static const double best_rgb[3] = { 0.35, 0.35, 0.35 };

#define FONT_TICK 11.0
#define FONT_LABEL 12.0
#define FONT_TITLE 14.0
#define MARKER_RADIUS 2.5
#define MARKER_MAX_POINTS 30
#define OUTER 6.0            /* blank border of the whole drawing */
#define TICK_GAP 8.0         /* axis line to tick label */
#define TITLE_GAP 8.0        /* tick labels to the axis title */
#define LEGEND_ROW (FONT_TICK + 6)
#define LEGEND_SWATCH 22.0
#define LEGEND_PAD 6.0
#define LEGEND_GAP 12.0      /* between items of a row, and between the legend and the axes */
#define MIN_LABEL_GAP (FONT_TICK + 5)   /* vertical pixels between tick labels */

/* ---- model ---- */

static void
series_free (gpointer data)
{
  DrmadPlotSeries *series = data;
  g_free (series->name);
  g_array_unref (series->x);
  g_array_unref (series->y);
  g_free (series);
}

DrmadPlot *
drmad_plot_new (const char *title, const char *x_label, const char *y_label, gboolean log_y)
{
  DrmadPlot *plot = g_new0 (DrmadPlot, 1);
  plot->title = g_strdup (title);
  plot->x_label = g_strdup (x_label);
  plot->y_label = g_strdup (y_label);
  plot->log_y = log_y;
  plot->series = g_ptr_array_new_with_free_func (series_free);
  plot->rejected_x = g_array_new (FALSE, FALSE, sizeof (double));
  plot->best_x = NAN;
  plot->shades = g_array_new (FALSE, FALSE, sizeof (DrmadPlotShade));
  plot->view_x_lo = plot->view_x_hi = NAN;
  plot->y_min = plot->y_max = NAN;
  return plot;
}

void
drmad_plot_free (DrmadPlot *plot)
{
  if (plot == NULL)
    return;
  g_ptr_array_unref (plot->series);
  g_array_unref (plot->rejected_x);
  g_array_unref (plot->shades);
  g_free (plot->title);
  g_free (plot->x_label);
  g_free (plot->y_label);
  g_free (plot->y2_label);
  g_free (plot->best_text);
  g_free (plot->empty_note);
  g_free (plot->shades_caption);
  g_free (plot);
}

/* A new series is shown in the legend and drawn as a polyline. */
DrmadPlotSeries *
drmad_plot_add_series (DrmadPlot *plot, const char *name, guint color_index, double alpha)
{
  g_return_val_if_fail (plot != NULL, NULL);
  DrmadPlotSeries *series = g_new0 (DrmadPlotSeries, 1);
  series->name = g_strdup (name);
  series->x = g_array_new (FALSE, FALSE, sizeof (double));
  series->y = g_array_new (FALSE, FALSE, sizeof (double));
  series->color_index = color_index;
  series->alpha = alpha;
  series->in_legend = TRUE;
  g_ptr_array_add (plot->series, series);
  return series;
}

void
drmad_plot_series_append (DrmadPlotSeries *series, double x, double y)
{
  g_array_append_val (series->x, x);
  g_array_append_val (series->y, y);
}

/* ---- text ---- */

static void
set_font (cairo_t *cr, double size, gboolean bold)
{
  cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL,
                          bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, size);
}

static double
text_width (cairo_t *cr, const char *text)
{
  cairo_text_extents_t ext;
  cairo_text_extents (cr, text, &ext);
  return ext.x_advance;
}

/* A context on a private surface, for measuring text the same way whatever
 * the drawing's target is. */
static cairo_t *
measure_context (void)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 1, 1);
  cairo_t *cr = cairo_create (surface);
  cairo_surface_destroy (surface);
  return cr;
}

/* ---- ticks ---- */

typedef struct {
  double value;     /* axis units (log10 on a log axis, fractions on a percent axis) */
  double natural;   /* the number its label shows */
  gboolean major;   /* labelled (and a grid line) */
  int exponent;     /* labelled 10^exponent; G_MININT when labelled by text */
  char text[32];
} Tick;

/* 1, 2 or 5 × 10^k, the nearest to @raw on a log scale */
static double
nice_step (double raw)
{
  double decade = pow (10, floor (log10 (raw)));
  double m = raw / decade;
  return (m < 1.42 ? 1 : m < 3.17 ? 2 : m < 7.08 ? 5 : 10) * decade;
}

static void
format_one (char *buf, gsize size, double v, int digits, gboolean exp_style, const char *suffix)
{
  char number[G_ASCII_DTOSTR_BUF_SIZE], format[16];
  if (v == 0) {
    g_snprintf (buf, size, "0%s", suffix);
    return;
  }
  g_snprintf (format, sizeof format, "%%.%df", digits);
  if (!exp_style) {
    g_ascii_formatd (number, sizeof number, format, v);
    g_snprintf (buf, size, "%s%s", number, suffix);
    return;
  }
  int e = (int) floor (log10 (fabs (v)));
  g_ascii_formatd (number, sizeof number, format, v / pow (10, e));
  if (fabs (g_ascii_strtod (number, NULL)) >= 10)   /* 9.99 rounded up to 10.0 */
    g_ascii_formatd (number, sizeof number, format, v / pow (10, ++e));
  g_snprintf (buf, size, "%se%d%s", number, e, suffix);
}

/* Labels every labelled text tick of @ticks (ordered by value) with the
 * fewest digits, all ticks alike, that give each its exact value back; so
 * the labels are as many digits as the spacing needs, and distinct. Numbers
 * below 10^-3 or from 10^5 up read as 1.05e-4. */
static void
format_ticks (GArray *ticks, const char *suffix)
{
  gboolean exp_style = FALSE;
  for (guint i = 0; i < ticks->len; i++) {
    const Tick *t = &g_array_index (ticks, Tick, i);
    double a = fabs (t->natural);
    if (t->major && t->exponent == G_MININT && a != 0 && (a < 1e-3 || a >= 1e5))
      exp_style = TRUE;
  }
  for (int digits = 0; digits <= 12; digits++) {
    gboolean exact = TRUE;
    const char *previous = NULL;
    for (guint i = 0; i < ticks->len; i++) {
      Tick *t = &g_array_index (ticks, Tick, i);
      if (!t->major || t->exponent != G_MININT)
        continue;
      format_one (t->text, sizeof t->text, t->natural, digits, exp_style, suffix);
      double back = g_ascii_strtod (t->text, NULL);
      if (fabs (back - t->natural) > 1e-9 * fabs (t->natural) || (previous && strcmp (previous, t->text) == 0))
        exact = FALSE;
      previous = t->text;
    }
    if (exact)
      return;
  }
}

/* Unlabels ticks that would crowd the one labelled below them. */
static void
thin_labels (GArray *ticks, double pixels_per_unit, double min_gap)
{
  double last = -INFINITY;
  for (guint i = 0; i < ticks->len; i++) {
    Tick *t = &g_array_index (ticks, Tick, i);
    if (!t->major)
      continue;
    if ((t->value - last) * pixels_per_unit < min_gap) {
      t->major = FALSE;
      t->exponent = G_MININT;
      t->text[0] = '\0';
    } else
      last = t->value;
  }
}

static guint
count_labels (const GArray *ticks)
{
  guint n = 0;
  for (guint i = 0; i < ticks->len; i++)
    n += g_array_index (ticks, Tick, i).major;
  return n;
}

/* Multiples of a 1-2-5 step over [lo, hi] × @scale, about @target of them
 * and at least @min_count when the step may shrink that far; values are
 * divided by @scale again (a percent axis holds fractions). */
static GArray *
linear_ticks (double lo, double hi, double scale, double target, guint min_count, double min_step)
{
  GArray *ticks = g_array_new (FALSE, TRUE, sizeof (Tick));
  double slo = lo * scale, shi = hi * scale;
  /* No step finer than the doubles there: an axis zoomed to a few units in
   * the last place (the plot view's keys and wheel, far in) had steps so
   * small that the multiple k below passed 2^53, where k++ leaves it as it
   * is, and ticks were appended until memory ran out. From 16 units in the
   * last place up, k stays under 2^49. */
  min_step = MAX (min_step, 16 * DBL_EPSILON * MAX (fabs (slo), fabs (shi)));
  double step = MAX (nice_step (MAX ((shi - slo) / MAX (target, 1), min_step)), min_step);
  if (!(step > 0) || !isfinite (step))
    return ticks;   /* an axis of no width, or none at all */
  for (int tries = 0; tries < 8 && step * 0.45 >= min_step; tries++) {
    double count = floor (shi / step + 1e-9) - ceil (slo / step - 1e-9) + 1;
    if (count >= min_count)
      break;
    step = nice_step (step * 0.45);
  }
  for (double k = ceil (slo / step - 1e-9); k * step <= shi + step * 1e-9; k++) {
    double v = fabs (k) < 0.5 ? 0 : k * step;
    Tick t = { .value = v / scale, .natural = v, .major = TRUE, .exponent = G_MININT };
    g_array_append_val (ticks, t);
  }
  return ticks;
}

/* A log axis over [lo, hi] (log10 units), @axis_px pixels long, labels at
 * least three ticks when there is room for them: powers of ten when three or
 * more are in view (every few decades when they would crowd), else 1, 2 and
 * 5 times powers of ten, else evenly spaced numbers in natural units (a
 * range narrower than a factor of about 2.5). */
static GArray *
log_ticks (double lo, double hi, double axis_px)
{
  double per_unit = axis_px / (hi - lo);
  guint max_labels = MAX (2, (guint) (axis_px / (MIN_LABEL_GAP + 6)));
  guint want = MIN (3, max_labels);
  int first = (int) ceil (lo - 1e-9), last = (int) floor (hi + 1e-9);
  int decades = last - first + 1;

  GArray *ticks = g_array_new (FALSE, TRUE, sizeof (Tick));
  if (decades >= (int) want) {
    int step = (decades + (int) max_labels - 1) / (int) max_labels;
    gboolean minors = step == 1 && per_unit * log10 (10.0 / 9) >= 3;
    for (int k = (int) floor (lo); k <= (int) ceil (hi); k++)
      for (int m = 1; m <= 9; m++) {
        double v = k + log10 (m);
        if (v < lo - 1e-9 || v > hi + 1e-9 || (m > 1 && !minors))
          continue;
        Tick t = { .value = v, .natural = m * pow (10, k), .exponent = G_MININT };
        if (m == 1 && k % step == 0)
          t.major = TRUE, t.exponent = k;
        g_array_append_val (ticks, t);
      }
    return ticks;
  }

  for (int k = (int) floor (lo); k <= (int) ceil (hi); k++)
    for (int m = 1; m <= 9; m++) {
      double v = k + log10 (m);
      if (v < lo - 1e-9 || v > hi + 1e-9)
        continue;
      Tick t = { .value = v, .natural = m * pow (10, k), .major = m == 1 || m == 2 || m == 5,
                 .exponent = G_MININT };
      g_array_append_val (ticks, t);
    }
  thin_labels (ticks, per_unit, MIN_LABEL_GAP);
  if (count_labels (ticks) >= want) {
    format_ticks (ticks, "");
    return ticks;
  }
  g_array_unref (ticks);

  ticks = linear_ticks (pow (10, lo), pow (10, hi), 1, MIN (max_labels, 5), want, 0);
  for (guint i = ticks->len; i-- > 0;) {
    Tick *t = &g_array_index (ticks, Tick, i);
    if (t->natural > 0)
      t->value = log10 (t->natural);
    else
      g_array_remove_index (ticks, i);
  }
  thin_labels (ticks, per_unit, MIN_LABEL_GAP);
  format_ticks (ticks, "");
  return ticks;
}

/* Width of a tick label; draws it with its right edge at @x (align 1), centre
 * (align 0.5) or left edge (align 0), baseline at @y, when @draw. */
static double
tick_label (cairo_t *cr, const Tick *t, double x, double y, double align, gboolean draw)
{
  if (t->exponent == G_MININT) {
    double w = text_width (cr, t->text);
    if (draw) {
      cairo_move_to (cr, x - align * w, y);
      cairo_show_text (cr, t->text);
    }
    return w;
  }
  char exponent[16];
  g_snprintf (exponent, sizeof exponent, "%d", t->exponent);
  double base_w = text_width (cr, "10");
  cairo_set_font_size (cr, FONT_TICK * 0.75);
  double exp_w = text_width (cr, exponent);
  double w = base_w + exp_w + 1;
  if (draw) {
    cairo_move_to (cr, x - align * w + base_w + 1, y - FONT_TICK * 0.45);
    cairo_show_text (cr, exponent);
  }
  cairo_set_font_size (cr, FONT_TICK);
  if (draw) {
    cairo_move_to (cr, x - align * w, y);
    cairo_show_text (cr, "10");
  }
  return w;
}

static double
widest_label (cairo_t *cr, const GArray *ticks)
{
  double w = 0;
  set_font (cr, FONT_TICK, FALSE);
  for (guint i = 0; i < ticks->len; i++) {
    const Tick *t = &g_array_index (ticks, Tick, i);
    if (t->major)
      w = MAX (w, tick_label (cr, t, 0, 0, 0, FALSE));
  }
  return w;
}

/* ---- layout: data ↔ pixels ---- */

typedef struct {
  double lo, hi;     /* visible range, axis units (log10 on a log axis) */
  gboolean log;
  GArray *ticks;
} Axis;

typedef enum {
  ITEM_SERIES,
  ITEM_REJECTED,
  ITEM_BEST,
  ITEM_CAPTION,      /* text alone */
  ITEM_SHADES,       /* "0 ▮▮▮▮ 7": one cell per faded meta-iteration */
} ItemKind;

typedef struct {
  ItemKind kind;
  const DrmadPlotSeries *series;
  const char *text;
  char *shortened;   /* owned: text cut to fit the drawing's width, or NULL */
  double w;
  double x, y;       /* left edge, centre of its row */
} LegendItem;

typedef struct {
  DrmadPlotRect area, legend;
  Axis x, y, y2;
  gboolean empty, has_y2, integer_x;
  gboolean marks_only;   /* empty, but with rejected columns to show (every meta-iteration diverged) */
  GArray *items;     /* LegendItem */
} PlotLayout;

static const Axis *
series_axis (const PlotLayout *layout, const DrmadPlotSeries *series)
{
  return series->right_axis && layout->has_y2 ? &layout->y2 : &layout->y;
}

static gboolean
point_valid (const DrmadPlot *plot, const DrmadPlotSeries *series, double x, double y)
{
  gboolean log_axis = plot->log_y && !(series->right_axis && plot->y2_label);
  return isfinite (x) && isfinite (y) && (!log_axis || y > 0);
}

static double
axis_to_pixel_x (const PlotLayout *layout, double x)
{
  return layout->area.x + (x - layout->x.lo) / (layout->x.hi - layout->x.lo) * layout->area.width;
}

/* @v in axis units */
static double
axis_to_pixel_y (const PlotLayout *layout, const Axis *axis, double v)
{
  return layout->area.y + layout->area.height - (v - axis->lo) / (axis->hi - axis->lo) * layout->area.height;
}

static void
layout_to_pixel (const PlotLayout *layout, const DrmadPlotSeries *series, double x, double y, double *px, double *py)
{
  const Axis *axis = series_axis (layout, series);
  *px = axis_to_pixel_x (layout, x);
  *py = axis_to_pixel_y (layout, axis, axis->log ? log10 (y) : y);
}

/* A range narrower than 10^-9 of its values (or of a decade, on a log
 * axis: @absolute) is a flat line: its ticks would need more digits than
 * the labels have (twelve) to differ, and read "0.900000000000" thrice. */
static void
pad_range (double *lo, double *hi, double equal_pad, double fraction, double absolute)
{
  if (*hi - *lo <= MAX (1e-9 * MAX (fabs (*lo), fabs (*hi)), absolute)) {
    *lo -= equal_pad;
    *hi += equal_pad;
  } else {
    double pad = (*hi - *lo) * fraction;
    *lo -= pad;
    *hi += pad;
  }
}

static void
pad_y_range (Axis *axis)
{
  if (axis->lo > axis->hi) {   /* no point on this axis */
    axis->lo = 0, axis->hi = 1;
    return;
  }
  /* a log axis pads half a decade either side of a single value */
  pad_range (&axis->lo, &axis->hi, axis->log ? 0.5 : (axis->lo != 0 ? fabs (axis->lo) * 0.1 : 1), 0.06,
             axis->log ? 1e-9 : 0);
}

/* An axis of a bounded quantity whose data lie within [@min, @max] (NaN:
 * no bound) pads no further than 3 % of the bounded range past them: no
 * "106 %" error, no cosine of 1.10 on the labels of a flat line. A log axis
 * compares decades (@data_lo, @data_hi are log10 already): a flat L2 of
 * 100, the largest there is, labels no 200; a bound ≤ 0 is none there. */
static void
bound_y_range (Axis *axis, double data_lo, double data_hi, double min, double max)
{
  if (!(data_lo <= data_hi))
    return;
  if (axis->log) {
    min = min > 0 ? log10 (min) : NAN;
    max = max > 0 ? log10 (max) : NAN;
  }
  /* within them, give or take rounding (a cosine of 1.0000000000000002) */
  double slack = isfinite (max - min) ? 1e-9 * (max - min) : 0;
  gboolean below = data_lo >= min - slack, above = data_hi <= max + slack;
  double lo = axis->lo, hi = axis->hi;
  if (below)
    lo = MAX (lo, min);
  if (above)
    hi = MIN (hi, max);
  if (!(hi > lo))
    return;
  double margin = 0.03 * (hi - lo);
  if (below)
    axis->lo = MAX (axis->lo, MIN (min - margin, data_lo));
  if (above)
    axis->hi = MIN (axis->hi, MAX (max + margin, data_hi));
}

static void
data_ranges (const DrmadPlot *plot, PlotLayout *layout)
{
  gboolean zoomed = isfinite (plot->view_x_lo) && isfinite (plot->view_x_hi) && plot->view_x_hi > plot->view_x_lo;
  layout->empty = TRUE;
  layout->integer_x = TRUE;
  layout->x.lo = layout->y.lo = layout->y2.lo = INFINITY;
  layout->x.hi = layout->y.hi = layout->y2.hi = -INFINITY;
  for (guint s = 0; s < plot->series->len; s++) {
    const DrmadPlotSeries *series = g_ptr_array_index (plot->series, s);
    Axis *axis = (Axis *) series_axis (layout, series);
    for (guint i = 0; i < series->x->len; i++) {
      double x = g_array_index (series->x, double, i), y = g_array_index (series->y, double, i);
      if (!point_valid (plot, series, x, y))
        continue;
      if (zoomed && (x < plot->view_x_lo || x > plot->view_x_hi))
        continue;   /* the y axes fit what is in view */
      double v = axis->log ? log10 (y) : y;
      layout->x.lo = MIN (layout->x.lo, x);
      layout->x.hi = MAX (layout->x.hi, x);
      axis->lo = MIN (axis->lo, v);
      axis->hi = MAX (axis->hi, v);
      layout->integer_x &= x == floor (x);
      layout->empty = FALSE;
    }
  }
  /* the marks too: a rejected meta-iteration whose losses are NaN (a
   * diverged training) has no point, yet its column is shown; when every
   * meta-iteration is such, the columns alone */
  gboolean marks_integer = TRUE;
  double marks_lo = INFINITY, marks_hi = -INFINITY;
  for (guint i = 0; i <= plot->rejected_x->len; i++) {
    double x = i < plot->rejected_x->len ? g_array_index (plot->rejected_x, double, i) : plot->best_x;
    if (!isfinite (x) || (zoomed && (x < plot->view_x_lo || x > plot->view_x_hi)))
      continue;
    marks_lo = MIN (marks_lo, x);
    marks_hi = MAX (marks_hi, x);
    marks_integer &= x == floor (x);
  }
  layout->marks_only = layout->empty && marks_lo <= marks_hi;
  if (marks_lo <= marks_hi) {
    layout->x.lo = MIN (layout->x.lo, marks_lo);
    layout->x.hi = MAX (layout->x.hi, marks_hi);
    layout->integer_x &= marks_integer;
  }
  if (layout->empty) {
    layout->y.lo = layout->y2.lo = 0;
    layout->y.hi = layout->y2.hi = 1;
    if (layout->marks_only && !zoomed) {
      pad_range (&layout->x.lo, &layout->x.hi, layout->integer_x ? 1 : MAX (fabs (layout->x.lo) * 0.1, 0.5), 0.03,
                 0);
      return;
    }
    layout->x.lo = zoomed ? plot->view_x_lo : 0, layout->x.hi = zoomed ? plot->view_x_hi : 1;
    /* no data says nothing of x: labelled 0 and 1, not "0.1 meta-iteration";
     * a zoom on rejected columns at whole meta-iterations, as on points */
    if (zoomed && !layout->marks_only)
      layout->integer_x = FALSE;
    return;
  }
  pad_range (&layout->x.lo, &layout->x.hi,
             layout->integer_x ? 1 : MAX (fabs (layout->x.lo) * 0.1, 0.5), 0.03, 0);
  if (zoomed) {
    layout->x.lo = plot->view_x_lo;
    layout->x.hi = plot->view_x_hi;
  }
  double y_lo = layout->y.lo, y_hi = layout->y.hi, y2_lo = layout->y2.lo, y2_hi = layout->y2.hi;
  pad_y_range (&layout->y);
  pad_y_range (&layout->y2);
  bound_y_range (&layout->y, y_lo, y_hi, plot->y_min, plot->y_max);
  if (plot->y2_percent)
    bound_y_range (&layout->y2, y2_lo, y2_hi, 0, 1);
}

/* ---- legend items ---- */

static void
add_item (GArray *items, cairo_t *cr, ItemKind kind, const DrmadPlotSeries *series, const char *text, double w)
{
  LegendItem item = { .kind = kind, .series = series, .text = text, .w = w };
  if (kind != ITEM_SHADES)
    item.w = (kind == ITEM_CAPTION ? 0 : LEGEND_SWATCH + LEGEND_PAD) + text_width (cr, text);
  g_array_append_val (items, item);
}

/* The shade key: the first and last meta-iteration as text beside a bar of
 * one cell per shade (cells narrower when there are many). */
static double
shade_bar_width (const DrmadPlot *plot)
{
  return CLAMP (plot->shades->len * 6.0, 12.0, 90.0);
}

static void
shade_end_labels (const DrmadPlot *plot, char first[16], char last[16])
{
  const DrmadPlotShade *shades = (const DrmadPlotShade *) plot->shades->data;
  g_snprintf (first, 16, "%u", shades[0].meta_iteration);
  /* one shade (a run of one meta-iteration): "0 ▮", not "0 ▮ 0" */
  if (plot->shades->len > 1)
    g_snprintf (last, 16, "%u", shades[plot->shades->len - 1].meta_iteration);
  else
    last[0] = '\0';
}

static GArray *
legend_items (const DrmadPlot *plot, cairo_t *cr)
{
  GArray *items = g_array_new (FALSE, TRUE, sizeof (LegendItem));
  set_font (cr, FONT_TICK, FALSE);
  for (guint s = 0; s < plot->series->len; s++) {
    const DrmadPlotSeries *series = g_ptr_array_index (plot->series, s);
    if (series->in_legend && series->name)
      add_item (items, cr, ITEM_SERIES, series, series->name, 0);
  }
  if (plot->rejected_x->len > 0)
    add_item (items, cr, ITEM_REJECTED, NULL, "rejected (undone)", 0);
  if (isfinite (plot->best_x) && plot->best_text)
    add_item (items, cr, ITEM_BEST, NULL, plot->best_text, 0);
  if (plot->shades->len > 0) {
    char first[16], last[16];
    shade_end_labels (plot, first, last);
    add_item (items, cr, ITEM_CAPTION, NULL,
              plot->shades_caption ? plot->shades_caption : "faded: earlier meta-iterations", 0);
    double w = shade_bar_width (plot) + 4 + text_width (cr, first) + (last[0] ? 4 + text_width (cr, last) : 0);
    add_item (items, cr, ITEM_SHADES, NULL, NULL, w);
  }
  return items;
}

/* Items wider than @room (a comparison's run described by its settings, in
 * a narrow window) lose the end of their text to "…": no legend runs off
 * the drawing's edge. */
static void
fit_legend_items (GArray *items, cairo_t *cr, double room)
{
  set_font (cr, FONT_TICK, FALSE);
  for (guint i = 0; i < items->len; i++) {
    LegendItem *item = &g_array_index (items, LegendItem, i);
    if (item->w <= room || item->kind == ITEM_SHADES || !item->text)
      continue;
    double swatch = item->kind == ITEM_CAPTION ? 0 : LEGEND_SWATCH + LEGEND_PAD;
    glong n = g_utf8_strlen (item->text, -1);
    char *text = NULL;
    do {
      g_free (text);
      g_autofree char *kept = g_utf8_substring (item->text, 0, --n);
      text = g_strconcat (g_strchomp (kept), "…", NULL);
    } while (n > 1 && swatch + text_width (cr, text) > room);
    item->shortened = text;
    item->text = text;
    item->w = swatch + text_width (cr, text);
  }
}

/* In a column at the right edge, top-aligned with the plot area. */
static void
place_legend_column (PlotLayout *layout, double width, double top)
{
  double w = 0;
  for (guint i = 0; i < layout->items->len; i++)
    w = MAX (w, g_array_index (layout->items, LegendItem, i).w);
  layout->legend = (DrmadPlotRect) { width - OUTER - w, top, w, layout->items->len * LEGEND_ROW };
  for (guint i = 0; i < layout->items->len; i++) {
    LegendItem *item = &g_array_index (layout->items, LegendItem, i);
    item->x = layout->legend.x;
    item->y = top + (i + 0.5) * LEGEND_ROW;
  }
}

/* In rows along the bottom edge, each row centred; returns its height. */
static double
place_legend_rows (PlotLayout *layout, double width, double height)
{
  double avail = width - 2 * OUTER;
  guint n = layout->items->len, rows = 0;
  g_autofree guint *row_of = g_new0 (guint, MAX (n, 1));
  g_autofree double *row_w = g_new0 (double, MAX (n, 1));
  for (guint i = 0; i < n; i++) {
    const LegendItem *item = &g_array_index (layout->items, LegendItem, i);
    if (rows == 0 || row_w[rows - 1] + LEGEND_GAP + item->w > avail)
      rows++;
    else
      row_w[rows - 1] += LEGEND_GAP;
    row_of[i] = rows - 1;
    row_w[rows - 1] += item->w;
  }
  double total = rows * LEGEND_ROW, top = height - OUTER - total, max_w = 0;
  g_autofree double *cursor = g_new0 (double, MAX (rows, 1));
  for (guint r = 0; r < rows; r++) {
    cursor[r] = MAX (OUTER, (width - row_w[r]) / 2);
    max_w = MAX (max_w, MIN (row_w[r], avail));
  }
  for (guint i = 0; i < n; i++) {
    LegendItem *item = &g_array_index (layout->items, LegendItem, i);
    item->x = cursor[row_of[i]];
    item->y = top + (row_of[i] + 0.5) * LEGEND_ROW;
    cursor[row_of[i]] += item->w + LEGEND_GAP;
  }
  layout->legend = (DrmadPlotRect) { MAX (OUTER, (width - max_w) / 2), top, max_w, total };
  return total;
}

/* ---- layout ---- */

static void
plot_layout_clear (PlotLayout *layout)
{
  g_clear_pointer (&layout->x.ticks, g_array_unref);
  g_clear_pointer (&layout->y.ticks, g_array_unref);
  g_clear_pointer (&layout->y2.ticks, g_array_unref);
  for (guint i = 0; layout->items && i < layout->items->len; i++)
    g_free (g_array_index (layout->items, LegendItem, i).shortened);
  g_clear_pointer (&layout->items, g_array_unref);
}

static GArray *
vertical_ticks (const Axis *axis, double axis_px, gboolean percent)
{
  if (axis->log)
    return log_ticks (axis->lo, axis->hi, axis_px);
  double target = CLAMP (axis_px / 60, 2, 7);
  GArray *ticks = linear_ticks (axis->lo, axis->hi, percent ? 100 : 1, target, 2, 0);
  thin_labels (ticks, axis_px / (axis->hi - axis->lo), MIN_LABEL_GAP);
  format_ticks (ticks, percent ? "%" : "");
  return ticks;
}

/* Margins: the title above; the x tick labels and title below, then the
 * legend's rows if it goes there; on the left the y axis title and the
 * widest y tick label; on the right the second axis' labels and title, then
 * the legend's column if it goes there. */
static void
plot_layout_compute (const DrmadPlot *plot, double width, double height, PlotLayout *layout)
{
  memset (layout, 0, sizeof *layout);
  cairo_t *cr = measure_context ();
  layout->has_y2 = plot->y2_label != NULL;
  layout->y.log = plot->log_y;
  data_ranges (plot, layout);
  layout->items = layout->empty && !layout->marks_only ? g_array_new (FALSE, TRUE, sizeof (LegendItem))
                                                       : legend_items (plot, cr);
  fit_legend_items (layout->items, cr, width - 2 * OUTER);

  double top = plot->title ? 34 : OUTER + FONT_TICK / 2;
  double bottom = height - (OUTER + FONT_TICK + TICK_GAP + (plot->x_label ? FONT_LABEL + 14 : 4));
  double right_limit = width - OUTER;
  if (layout->items->len > 0) {
    double w = 0;
    for (guint i = 0; i < layout->items->len; i++)
      w = MAX (w, g_array_index (layout->items, LegendItem, i).w);
    /* a column only when it fits the height too (thirteen layers and the
     * key of the faded schedules ran off the bottom of a short plot) */
    if (width - w - LEGEND_GAP - OUTER >= MAX (0.6 * width, 280)
        && top + layout->items->len * LEGEND_ROW <= height - OUTER) {
      place_legend_column (layout, width, top);
      right_limit = layout->legend.x - LEGEND_GAP;
    } else
      bottom -= place_legend_rows (layout, width, height) + 4;
  }
  bottom = MAX (bottom, top + 1);
  double plot_h = bottom - top;

  layout->y.ticks = vertical_ticks (&layout->y, plot_h, FALSE);
  double left = OUTER + (plot->y_label ? FONT_LABEL + TITLE_GAP : 0) + widest_label (cr, layout->y.ticks) + TICK_GAP;
  left = MIN (left, width * 0.45);
  double right = right_limit - 12;   /* half the last x tick label */
  if (layout->has_y2) {
    layout->y2.ticks = vertical_ticks (&layout->y2, plot_h, plot->y2_percent);
    right = right_limit - widest_label (cr, layout->y2.ticks) - TICK_GAP - TITLE_GAP - FONT_LABEL;
  }
  right = MAX (right, left + 1);
  layout->area = (DrmadPlotRect) { left, top, right - left, plot_h };

  double target = CLAMP (layout->area.width / 70, 2, 8);
  layout->x.ticks = linear_ticks (layout->x.lo, layout->x.hi, 1, target, 2, layout->integer_x ? 1 : 0);
  format_ticks (layout->x.ticks, "");
  cairo_destroy (cr);
}

void
drmad_plot_get_layout (const DrmadPlot *plot, double width, double height, DrmadPlotRect *area,
                       DrmadPlotRect *legend)
{
  g_return_if_fail (plot != NULL);
  PlotLayout layout;
  plot_layout_compute (plot, width, height, &layout);
  if (area)
    *area = layout.area;
  if (legend)
    *legend = layout.legend;
  plot_layout_clear (&layout);
}

GStrv
drmad_plot_get_tick_labels (const DrmadPlot *plot, double width, double height, DrmadPlotAxis axis)
{
  g_return_val_if_fail (plot != NULL, NULL);
  PlotLayout layout;
  plot_layout_compute (plot, width, height, &layout);
  const GArray *ticks = axis == DRMAD_PLOT_AXIS_X ? layout.x.ticks : axis == DRMAD_PLOT_AXIS_Y ? layout.y.ticks
                                                                                                : layout.y2.ticks;
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  for (guint i = 0; ticks && i < ticks->len; i++) {
    const Tick *t = &g_array_index (ticks, Tick, i);
    if (!t->major)
      continue;
    if (t->exponent != G_MININT) {
      g_autofree char *text = g_strdup_printf ("10^%d", t->exponent);
      g_strv_builder_add (builder, text);
    } else
      g_strv_builder_add (builder, t->text);
  }
  plot_layout_clear (&layout);
  return g_strv_builder_end (builder);
}

/* ---- drawing ---- */

/* @text, less its first words while it is wider than @room
 * ("validation error (%)" becomes "error (%)" on a short axis). */
static const char *
fit_words (cairo_t *cr, const char *text, double room)
{
  while (text_width (cr, text) > room) {
    const char *space = strchr (text, ' ');
    if (!space)
      break;
    text = space + 1;
  }
  return text;
}

static void
draw_axes (const DrmadPlot *plot, const PlotLayout *layout, cairo_t *cr, double width, double height)
{
  const DrmadPlotRect *a = &layout->area;
  double left = a->x, top = a->y, right = a->x + a->width, bottom = a->y + a->height;

  set_font (cr, FONT_TICK, FALSE);
  cairo_set_line_width (cr, 1);
  for (guint i = 0; i < layout->y.ticks->len; i++) {
    const Tick *t = &g_array_index (layout->y.ticks, Tick, i);
    double py = round (axis_to_pixel_y (layout, &layout->y, t->value)) + 0.5;
    if (t->major) {
      cairo_set_source_rgb (cr, 0.92, 0.92, 0.92);
      cairo_move_to (cr, left, py);
      cairo_line_to (cr, right, py);
      cairo_stroke (cr);
    }
    cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
    cairo_move_to (cr, left - (t->major ? 5 : 3), py);
    cairo_line_to (cr, left, py);
    cairo_stroke (cr);
    if (t->major)
      tick_label (cr, t, left - TICK_GAP, py + FONT_TICK * 0.35, 1, TRUE);
  }
  for (guint i = 0; layout->has_y2 && i < layout->y2.ticks->len; i++) {
    const Tick *t = &g_array_index (layout->y2.ticks, Tick, i);
    double py = round (axis_to_pixel_y (layout, &layout->y2, t->value)) + 0.5;
    cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
    cairo_move_to (cr, right, py);
    cairo_line_to (cr, right + (t->major ? 5 : 3), py);
    cairo_stroke (cr);
    if (t->major)
      tick_label (cr, t, right + TICK_GAP, py + FONT_TICK * 0.35, 0, TRUE);
  }
  for (guint i = 0; i < layout->x.ticks->len; i++) {
    const Tick *t = &g_array_index (layout->x.ticks, Tick, i);
    double px = round (axis_to_pixel_x (layout, t->value)) + 0.5;
    cairo_set_source_rgb (cr, 0.92, 0.92, 0.92);
    cairo_move_to (cr, px, top);
    cairo_line_to (cr, px, bottom);
    cairo_stroke (cr);
    cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
    cairo_move_to (cr, px, bottom);
    cairo_line_to (cr, px, bottom + 5);
    cairo_stroke (cr);
    tick_label (cr, t, px, bottom + TICK_GAP + FONT_TICK, 0.5, TRUE);
  }
  cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
  cairo_rectangle (cr, round (left) + 0.5, round (top) + 0.5, round (right) - round (left), round (bottom) - round (top));
  cairo_stroke (cr);

  cairo_set_source_rgb (cr, 0, 0, 0);
  set_font (cr, FONT_LABEL, FALSE);
  if (plot->x_label) {
    cairo_move_to (cr, left + a->width / 2 - text_width (cr, plot->x_label) / 2,
                   bottom + TICK_GAP + FONT_TICK + 6 + FONT_LABEL);
    cairo_show_text (cr, plot->x_label);
  }
  /* rotated: the ascent of the glyphs points left (y) or right (y2) */
  double room = height - 2 * OUTER;
  if (plot->y_label) {
    const char *text = fit_words (cr, plot->y_label, room);
    cairo_save (cr);
    cairo_move_to (cr, OUTER + FONT_LABEL * 0.8,
                   MIN (height - OUTER, top + a->height / 2 + text_width (cr, text) / 2));
    cairo_rotate (cr, -G_PI / 2);
    cairo_show_text (cr, text);
    cairo_restore (cr);
  }
  if (layout->has_y2) {
    double x = right + TICK_GAP + widest_label (cr, layout->y2.ticks) + TITLE_GAP + FONT_LABEL * 0.2;
    set_font (cr, FONT_LABEL, FALSE);
    cairo_set_source_rgb (cr, 0, 0, 0);
    const char *text = fit_words (cr, plot->y2_label, room);
    cairo_save (cr);
    cairo_move_to (cr, x, MAX (OUTER, top + a->height / 2 - text_width (cr, text) / 2));
    cairo_rotate (cr, G_PI / 2);
    cairo_show_text (cr, text);
    cairo_restore (cr);
  }
  if (plot->title) {
    /* centred over the plot area; smaller, down to the tick labels' size,
     * rather than cut at the edge of a narrow plot */
    double room = width - 2 * OUTER, size = FONT_TITLE;
    set_font (cr, size, TRUE);
    while (text_width (cr, plot->title) > room && size > FONT_TICK)
      set_font (cr, size = MAX (FONT_TICK, size - 0.5), TRUE);
    g_autofree char *title = g_strdup (plot->title);
    for (glong n = g_utf8_strlen (plot->title, -1); text_width (cr, title) > room && n > 1;) {
      g_autofree char *kept = g_utf8_substring (plot->title, 0, --n);   /* then "…" at the end */
      g_free (title);
      title = g_strconcat (g_strchomp (kept), "…", NULL);
    }
    double w = text_width (cr, title);
    cairo_move_to (cr, CLAMP (left + a->width / 2 - w / 2, OUTER, MAX (OUTER, width - OUTER - w)), top - 12);
    cairo_show_text (cr, title);
  }
}

/* Behind the data: a pale column over each rejected meta-iteration, one x
 * unit wide, and the dashed line of the best one. */
static void
draw_marks (const DrmadPlot *plot, const PlotLayout *layout, cairo_t *cr)
{
  const DrmadPlotRect *a = &layout->area;
  double unit = fabs (axis_to_pixel_x (layout, 1) - axis_to_pixel_x (layout, 0));
  for (guint i = 0; i < plot->rejected_x->len; i++) {
    double px = axis_to_pixel_x (layout, g_array_index (plot->rejected_x, double, i));
    double half = CLAMP (unit / 2, 2, 20);
    cairo_rectangle (cr, px - half, a->y, 2 * half, a->height);
  }
  cairo_set_source_rgb (cr, rejected_fill[0], rejected_fill[1], rejected_fill[2]);
  cairo_fill (cr);
  if (isfinite (plot->best_x)) {
    double px = round (axis_to_pixel_x (layout, plot->best_x)) + 0.5;
    static const double dash[] = { 5, 4 };
    cairo_save (cr);
    cairo_set_dash (cr, dash, G_N_ELEMENTS (dash), 0);
    cairo_set_line_width (cr, 1.5);
    cairo_set_source_rgb (cr, best_rgb[0], best_rgb[1], best_rgb[2]);
    cairo_move_to (cr, px, a->y);
    cairo_line_to (cr, px, a->y + a->height);
    cairo_stroke (cr);
    cairo_restore (cr);
  }
}

/* Over the data: a ring around each point of the best meta-iteration. */
static void
draw_best_rings (const DrmadPlot *plot, const PlotLayout *layout, cairo_t *cr)
{
  if (!isfinite (plot->best_x))
    return;
  cairo_new_path (cr);
  for (guint s = 0; s < plot->series->len; s++) {
    const DrmadPlotSeries *series = g_ptr_array_index (plot->series, s);
    for (guint i = 0; i < series->x->len; i++) {
      double x = g_array_index (series->x, double, i), y = g_array_index (series->y, double, i), px, py;
      if (x != plot->best_x || !point_valid (plot, series, x, y))
        continue;
      layout_to_pixel (layout, series, x, y, &px, &py);
      cairo_new_sub_path (cr);
      cairo_arc (cr, px, py, MARKER_RADIUS + 3, 0, 2 * G_PI);
    }
  }
  cairo_set_source_rgb (cr, best_rgb[0], best_rgb[1], best_rgb[2]);
  cairo_set_line_width (cr, 1.5);
  cairo_stroke (cr);
}

static void
set_series_source (cairo_t *cr, const DrmadPlotSeries *series)
{
  const double *rgb = palette[series->color_index % PALETTE_SIZE];
  cairo_set_source_rgba (cr, rgb[0], rgb[1], rgb[2], CLAMP (series->alpha, 0, 1));
}

/* Past the palette's eight colours (a network of many layers), the colours
 * come round again with a dash pattern of their own: layer 9 is blue as
 * layer 1, but dashed. Solid for the first eight. */
static void
set_series_dash (cairo_t *cr, const DrmadPlotSeries *series)
{
  static const double dashed[] = { 7, 3 }, dotted[] = { 2, 2 }, dash_dot[] = { 7, 2.5, 2, 2.5 };
  switch ((series->color_index / PALETTE_SIZE) % 4) {
  case 0:
    cairo_set_dash (cr, NULL, 0, 0);
    break;
  case 1:
    cairo_set_dash (cr, dashed, G_N_ELEMENTS (dashed), 0);
    break;
  case 2:
    cairo_set_dash (cr, dotted, G_N_ELEMENTS (dotted), 0);
    break;
  default:
    cairo_set_dash (cr, dash_dot, G_N_ELEMENTS (dash_dot), 0);
    break;
  }
}

/* The path of a line through many points is decimated per pixel column
 * (min/max decimation, "M4"): of a run of consecutive vertices that fall in
 * one column of device pixels, the first, the lowest, the highest and the
 * last are kept, in their order, so the line still enters and leaves the
 * column where it did and reaches every peak; the ones between would only
 * be drawn over the same pixels again. A run of DECIMATE_MIN_RUN vertices
 * or fewer is kept whole: a line of a few points per column (every
 * realistic plot) draws exactly the path it drew before. The vertices left
 * of the plot area, or right of it, (a zoom) count as one column each: of a
 * run of them only the line into the area and out of it is drawn. */
#define DECIMATE_MIN_RUN 4
#define OFF_AREA_MARGIN 8.0   /* px: past the widest stroke and its round joins */

typedef struct {
  cairo_t *cr;
  double columns_per_unit;   /* device pixels per user unit along x */
  double left, right;        /* the x beyond which vertices are off the plot area */
  gboolean open;             /* a subpath is begun */
  double column;             /* of the run buffered */
  guint n;                   /* vertices in the run */
  double x[DECIMATE_MIN_RUN], y[DECIMATE_MIN_RUN];   /* the first ones, while n ≤ DECIMATE_MIN_RUN */
  double first_x, first_y, last_x, last_y, low_x, low_y, high_x, high_y;
  guint low_at, high_at;     /* their order in the run */
} Decimator;

static void
decimator_emit (Decimator *d, double x, double y)
{
  if (d->open)
    cairo_line_to (d->cr, x, y);
  else
    cairo_move_to (d->cr, x, y);
  d->open = TRUE;
}

static void
decimator_flush (Decimator *d)
{
  if (d->n <= DECIMATE_MIN_RUN) {
    for (guint i = 0; i < d->n; i++)
      decimator_emit (d, d->x[i], d->y[i]);
  } else {
    decimator_emit (d, d->first_x, d->first_y);
    /* the extremes in the order the line reached them (the first and the
     * last are emitted once, when one of them is an extreme too) */
    gboolean low_first = d->low_at < d->high_at;
    guint at[2] = { low_first ? d->low_at : d->high_at, low_first ? d->high_at : d->low_at };
    double ex[2] = { low_first ? d->low_x : d->high_x, low_first ? d->high_x : d->low_x };
    double ey[2] = { low_first ? d->low_y : d->high_y, low_first ? d->high_y : d->low_y };
    for (guint k = 0; k < 2; k++)
      if (at[k] != 0 && at[k] != d->n - 1 && (k == 0 || at[1] != at[0]))
        decimator_emit (d, ex[k], ey[k]);
    decimator_emit (d, d->last_x, d->last_y);
  }
  d->n = 0;
}

static void
decimator_add (Decimator *d, double x, double y)
{
  double column = x < d->left ? -G_MAXDOUBLE : x > d->right ? G_MAXDOUBLE : floor (x * d->columns_per_unit);
  if (d->n > 0 && column != d->column)
    decimator_flush (d);
  if (d->n == 0) {
    d->column = column;
    d->first_x = d->low_x = d->high_x = x;
    d->first_y = d->low_y = d->high_y = y;
    d->low_at = d->high_at = 0;
  }
  if (d->n < DECIMATE_MIN_RUN)
    d->x[d->n] = x, d->y[d->n] = y;
  /* pixel y grows downwards: "low" is the smallest y, drawn highest; either way both are kept */
  if (y < d->low_y)
    d->low_x = x, d->low_y = y, d->low_at = d->n;
  if (y > d->high_y)
    d->high_x = x, d->high_y = y, d->high_at = d->n;
  d->last_x = x, d->last_y = y;
  d->n++;
}

/* An invalid point breaks the line: the next vertex begins a new subpath. */
static void
decimator_break (Decimator *d)
{
  decimator_flush (d);
  d->open = FALSE;
}

static void
draw_series (const DrmadPlot *plot, const PlotLayout *layout, cairo_t *cr, const DrmadPlotSeries *series)
{
  set_series_source (cr, series);
  cairo_set_line_width (cr, series->alpha >= 1 ? 2 : 1.5);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  set_series_dash (cr, series);
  cairo_new_path (cr);
  double dx = 1, dy = 0;
  cairo_user_to_device_distance (cr, &dx, &dy);
  Decimator d = { .cr = cr, .columns_per_unit = isfinite (dx) && fabs (dx) > 0 ? fabs (dx) : 1,
                  .left = layout->area.x - OFF_AREA_MARGIN,
                  .right = layout->area.x + layout->area.width + OFF_AREA_MARGIN };
  /* invalid points break the line; a step function adds its corner point */
  gboolean have_prev = FALSE;
  double prev_y = 0;
  for (guint i = 0; i < series->x->len; i++) {
    double x = g_array_index (series->x, double, i), y = g_array_index (series->y, double, i), px, py;
    if (!point_valid (plot, series, x, y)) {
      if (have_prev)
        decimator_break (&d);
      have_prev = FALSE;
      continue;
    }
    layout_to_pixel (layout, series, x, y, &px, &py);
    if (have_prev && series->steps)
      decimator_add (&d, px, prev_y);
    decimator_add (&d, px, py);
    have_prev = TRUE, prev_y = py;
  }
  decimator_flush (&d);
  cairo_stroke (cr);
  cairo_set_dash (cr, NULL, 0, 0);
  /* markers on every point of a short series; on a long one, only where a
   * point has no drawn neighbour (between NaNs: no line leads to it) */
  gboolean all_markers = series->x->len <= MARKER_MAX_POINTS;
  for (guint i = 0; i < series->x->len; i++) {
    double x = g_array_index (series->x, double, i), y = g_array_index (series->y, double, i), px, py;
    if (!point_valid (plot, series, x, y))
      continue;
    if (!all_markers
        && ((i > 0 && point_valid (plot, series, g_array_index (series->x, double, i - 1),
                                   g_array_index (series->y, double, i - 1)))
            || (i + 1 < series->x->len && point_valid (plot, series, g_array_index (series->x, double, i + 1),
                                                       g_array_index (series->y, double, i + 1)))))
      continue;
    layout_to_pixel (layout, series, x, y, &px, &py);
    cairo_new_sub_path (cr);
    cairo_arc (cr, px, py, MARKER_RADIUS, 0, 2 * G_PI);
  }
  cairo_fill (cr);
}

static void
draw_legend (const DrmadPlot *plot, const PlotLayout *layout, cairo_t *cr)
{
  set_font (cr, FONT_TICK, FALSE);
  for (guint i = 0; i < layout->items->len; i++) {
    const LegendItem *item = &g_array_index (layout->items, LegendItem, i);
    double x = item->x, y = item->y, text_x = x + LEGEND_SWATCH + LEGEND_PAD;
    switch (item->kind) {
    case ITEM_SERIES:
      set_series_source (cr, item->series);
      cairo_set_line_width (cr, 2);
      set_series_dash (cr, item->series);
      cairo_move_to (cr, x, y);
      cairo_line_to (cr, x + LEGEND_SWATCH, y);
      cairo_stroke (cr);
      cairo_set_dash (cr, NULL, 0, 0);
      cairo_arc (cr, x + LEGEND_SWATCH / 2, y, MARKER_RADIUS, 0, 2 * G_PI);
      cairo_fill (cr);
      break;
    case ITEM_REJECTED:
      cairo_rectangle (cr, x + 4.5, y - 5.5, LEGEND_SWATCH - 8, 11);
      cairo_set_source_rgb (cr, rejected_fill[0], rejected_fill[1], rejected_fill[2]);
      cairo_fill_preserve (cr);
      cairo_set_source_rgb (cr, rejected_edge[0], rejected_edge[1], rejected_edge[2]);
      cairo_set_line_width (cr, 1);
      cairo_stroke (cr);
      break;
    case ITEM_BEST: {
      static const double dash[] = { 3, 2 };
      double px = round (x + LEGEND_SWATCH / 2) + 0.5;
      cairo_save (cr);
      cairo_set_dash (cr, dash, G_N_ELEMENTS (dash), 0);
      cairo_set_line_width (cr, 1.5);
      cairo_set_source_rgb (cr, best_rgb[0], best_rgb[1], best_rgb[2]);
      cairo_move_to (cr, px, y - LEGEND_ROW / 2 + 2);
      cairo_line_to (cr, px, y + LEGEND_ROW / 2 - 2);
      cairo_stroke (cr);
      cairo_restore (cr);
      break;
    }
    case ITEM_CAPTION:
      text_x = x;
      break;
    case ITEM_SHADES: {
      char first[16], last[16];
      shade_end_labels (plot, first, last);
      double bar = shade_bar_width (plot), cell = bar / plot->shades->len;
      double bar_x = x + text_width (cr, first) + 4;
      cairo_set_source_rgb (cr, 0, 0, 0);
      cairo_move_to (cr, x, y + FONT_TICK * 0.35);
      cairo_show_text (cr, first);
      for (guint s = 0; s < plot->shades->len; s++) {
        const DrmadPlotShade *shade = &g_array_index (plot->shades, DrmadPlotShade, s);
        cairo_rectangle (cr, bar_x + s * cell, y - 5, cell, 10);
        cairo_set_source_rgba (cr, 0.15, 0.15, 0.15, CLAMP (shade->alpha, 0, 1));
        cairo_fill (cr);
      }
      cairo_set_source_rgb (cr, 0, 0, 0);
      if (last[0]) {
        cairo_move_to (cr, bar_x + bar + 4, y + FONT_TICK * 0.35);
        cairo_show_text (cr, last);
      }
      continue;
    }
    }
    cairo_set_source_rgb (cr, 0, 0, 0);
    cairo_move_to (cr, text_x, y + FONT_TICK * 0.35);
    cairo_show_text (cr, item->text);
  }
}

void
drmad_plot_draw (const DrmadPlot *plot, cairo_t *cr, double width, double height)
{
  g_return_if_fail (plot != NULL && cr != NULL);
  PlotLayout layout;
  plot_layout_compute (plot, width, height, &layout);
  const DrmadPlotRect *a = &layout.area;

  cairo_save (cr);
  cairo_rectangle (cr, 0, 0, width, height);
  cairo_clip (cr);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);

  cairo_save (cr);
  cairo_rectangle (cr, a->x, a->y, a->width, a->height);
  cairo_clip (cr);
  if (!layout.empty || layout.marks_only)
    draw_marks (plot, &layout, cr);
  cairo_restore (cr);

  draw_axes (plot, &layout, cr, width, height);

  cairo_save (cr);
  cairo_rectangle (cr, a->x, a->y, a->width, a->height);
  cairo_clip (cr);
  for (guint s = 0; s < plot->series->len; s++)
    draw_series (plot, &layout, cr, g_ptr_array_index (plot->series, s));
  if (!layout.empty)
    draw_best_rings (plot, &layout, cr);
  cairo_restore (cr);

  if (layout.empty) {
    const char *note = layout.marks_only ? "no finite values" : plot->empty_note ? plot->empty_note : "no data yet";
    set_font (cr, FONT_LABEL, FALSE);
    cairo_set_source_rgb (cr, 0.5, 0.5, 0.5);
    cairo_move_to (cr, a->x + a->width / 2 - text_width (cr, note) / 2, a->y + a->height / 2);
    cairo_show_text (cr, note);
  }
  if (!layout.empty || layout.marks_only)
    draw_legend (plot, &layout, cr);
  cairo_restore (cr);
  plot_layout_clear (&layout);
}

gboolean
drmad_plot_nearest (const DrmadPlot *plot, double width, double height, double px, double py,
                    double radius, guint *series_index, guint *point_index)
{
  g_return_val_if_fail (plot != NULL, FALSE);
  PlotLayout layout;
  plot_layout_compute (plot, width, height, &layout);
  double best = radius * radius;
  gboolean found = FALSE;
  /* ties go to the later series, the one drawn on top */
  for (guint s = 0; s < plot->series->len; s++) {
    const DrmadPlotSeries *series = g_ptr_array_index (plot->series, s);
    for (guint i = 0; i < series->x->len; i++) {
      double x = g_array_index (series->x, double, i), y = g_array_index (series->y, double, i), qx, qy;
      if (!point_valid (plot, series, x, y))
        continue;
      layout_to_pixel (&layout, series, x, y, &qx, &qy);
      double d = (qx - px) * (qx - px) + (qy - py) * (qy - py);
      if (d <= best) {
        best = d, found = TRUE;
        if (series_index)
          *series_index = s;
        if (point_index)
          *point_index = i;
      }
    }
  }
  plot_layout_clear (&layout);
  return found;
}

gboolean
drmad_plot_locate (const DrmadPlot *plot, double width, double height, guint series_index, guint point_index,
                   double *px, double *py)
{
  g_return_val_if_fail (plot != NULL && series_index < plot->series->len, FALSE);
  const DrmadPlotSeries *series = g_ptr_array_index (plot->series, series_index);
  g_return_val_if_fail (point_index < series->x->len, FALSE);
  double x = g_array_index (series->x, double, point_index), y = g_array_index (series->y, double, point_index);
  if (!point_valid (plot, series, x, y))
    return FALSE;
  if (!px && !py)
    return TRUE;   /* whether it is drawn: no layout needed */
  PlotLayout layout;
  plot_layout_compute (plot, width, height, &layout);
  double qx, qy;
  layout_to_pixel (&layout, series, x, y, &qx, &qy);
  plot_layout_clear (&layout);
  if (px)
    *px = qx;
  if (py)
    *py = qy;
  return TRUE;
}

/* ---- PNG export ---- */

static cairo_status_t
png_append (void *closure, const unsigned char *data, unsigned int length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

void
drmad_plot_get_x_range (const DrmadPlot *plot, double width, double height, double *lo, double *hi)
{
  g_return_if_fail (plot != NULL);
  PlotLayout layout;
  plot_layout_compute (plot, width, height, &layout);
  *lo = layout.x.lo;
  *hi = layout.x.hi;
  plot_layout_clear (&layout);
}

gboolean
drmad_plot_write_svg (const DrmadPlot *plot, const char *path, int width, int height, GError **error)
{
  g_return_val_if_fail (plot != NULL && path != NULL, FALSE);
  g_autoptr (GByteArray) svg = g_byte_array_new ();
  cairo_surface_t *surface = cairo_svg_surface_create_for_stream (png_append, svg, width, height);
  cairo_t *cr = cairo_create (surface);
  drmad_plot_draw (plot, cr, width, height);
  cairo_status_t status = cairo_status (cr);
  cairo_destroy (cr);
  cairo_surface_finish (surface);
  if (status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_status (surface);
  cairo_surface_destroy (surface);
  if (status != CAIRO_STATUS_SUCCESS) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_FAILED, "cannot draw %s: %s", path, cairo_status_to_string (status));
    return FALSE;
  }
  return drmad_write_file_atomic (path, svg->data, svg->len, error);
}

GBytes *
drmad_plot_png_bytes (const DrmadPlot *plot, const char *name, int width, int height, GError **error)
{
  g_return_val_if_fail (plot != NULL && name != NULL, NULL);
  g_return_val_if_fail (width > 0 && height > 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cairo_t *cr = cairo_create (surface);
  drmad_plot_draw (plot, cr, width, height);
  cairo_status_t status = cairo_status (cr);
  cairo_destroy (cr);
  GByteArray *png = g_byte_array_new ();
  if (status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_write_to_png_stream (surface, png_append, png);
  cairo_surface_destroy (surface);
  if (status != CAIRO_STATUS_SUCCESS) {
    g_byte_array_unref (png);
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_FAILED, "cannot draw %s: %s", name,
                 cairo_status_to_string (status));
    return NULL;
  }
  return g_byte_array_free_to_bytes (png);
}

gboolean
drmad_plot_write_png (const DrmadPlot *plot, const char *path, int width, int height, GError **error)
{
  g_return_val_if_fail (plot != NULL && path != NULL, FALSE);
  g_autoptr (GBytes) png = drmad_plot_png_bytes (plot, path, width, height, error);
  if (!png)
    return FALSE;
  /* The library's writer: a temporary file, fsync, rename, fsync of the folder. */
  gsize length;
  const void *data = g_bytes_get_data (png, &length);
  return drmad_write_file_atomic (path, data, length, error);
}

/* ---- the plots of a run ---- */

/* The accepted meta-iteration with the lowest validation loss; 0: none. */
static guint
best_iteration (const DrmadPlotRunData *data)
{
  guint best = 0;
  double best_loss = INFINITY;
  for (guint i = 0; data->val_loss && i < data->n_iters; i++)
    if (!(data->rejected && data->rejected[i]) && data->val_loss[i] < best_loss)
      best = i + 1, best_loss = data->val_loss[i];
  return best;
}

/* Meta-iteration k measures the validation loss of the θ it starts from (the
 * point at k − 1 of a plot of θ, whose point at k is θ after its step), so a
 * plot of θ (@theta) marks the rejected and the best values one to the left
 * of the meta-iteration that measured them; the loss plot marks k itself. */
static void
add_marks (DrmadPlot *plot, const DrmadPlotRunData *data, gboolean theta)
{
  for (guint i = 0; data->rejected && i < data->n_iters; i++)
    if (data->rejected[i]) {
      double x = theta ? i : i + 1;
      g_array_append_val (plot->rejected_x, x);
    }
  guint best = best_iteration (data);
  if (best > 0) {
    plot->best_x = theta ? best - 1 : best;
    plot->best_text = theta ? g_strdup_printf ("best values (measured by %u)", best)
                            : g_strdup_printf ("best: %u (lowest val. loss)", best);
  }
}

DrmadPlot *
drmad_plot_run_l2 (const DrmadPlotRunData *data)
{
  g_return_val_if_fail (data != NULL, NULL);
  DrmadPlot *plot = drmad_plot_new ("Learned L2 per layer", "meta-iteration", "L2 coefficient", TRUE);
  /* the range of an L2 (drmad-hyper.h), and of an initial scale (drmad_run_extra_plots) */
  plot->y_min = DRMAD_HYPER_RATE_MIN, plot->y_max = DRMAD_HYPER_RATE_MAX;
  for (guint l = 0; l < data->n_layers; l++) {
    g_autofree char *name = g_strdup_printf ("layer %u", l + 1);
    DrmadPlotSeries *series = drmad_plot_add_series (plot, name, l, 1);
    if (data->initial_l2)
      drmad_plot_series_append (series, 0, data->initial_l2[l]);
    for (guint i = 0; data->l2 && i < data->n_iters; i++)
      drmad_plot_series_append (series, i + 1, data->l2[(gsize) i * data->n_layers + l]);
  }
  add_marks (plot, data, TRUE);
  return plot;
}

/* The faded schedules drawn at most, in points: each series costs its
 * points and FADED_SERIES_COST more (a stroke of its own). Cairo strokes a
 * translucent schedule at 1.5–3 µs a point (more for a jagged one), so 300
 * meta-iterations of 13 layers and 300 segments (1.2 million points) took
 * 2–3 s to draw, on every zoom and pan of the window; with the budget,
 * 30–70 ms (docs/benchmarks.md). Past the budget, meta-iterations
 * evenly spread over the run are drawn (the starting one and the latest
 * earlier one always), each in the shade of its age, and the key says how
 * many of how many are drawn. Realistic runs (40 meta-iterations of 3 layers
 * and 4 segments: 2 500) are far below it and draw every one. */
#define FADED_POINT_BUDGET 24000
#define FADED_SERIES_COST 16

/* Segment s starts at the first step t with ⌊t·S/T⌋ = s (drmad-net.h). The
 * last schedule is drawn on top; earlier ones fade the older they are, and
 * the key says which meta-iteration each shade is. */
DrmadPlot *
drmad_plot_run_lr (const DrmadPlotRunData *data)
{
  g_return_val_if_fail (data != NULL, NULL);
  DrmadPlot *plot = drmad_plot_new ("Learning-rate schedule", "training step", "learning rate", TRUE);
  plot->y_min = DRMAD_HYPER_RATE_MIN, plot->y_max = DRMAD_HYPER_RATE_MAX;   /* a momentum's: its caller's */
  guint S = data->segments, L = data->n_layers;
  g_return_val_if_fail (S > 0, plot);
  guint first = data->initial_lr ? 0 : 1, n = (data->lr ? data->n_iters : 0) + (data->initial_lr ? 1 : 0);
  /* how many of the n − 1 earlier schedules fit the budget (at least the first and the last) */
  guint faded = n > 0 ? n - 1 : 0;
  guint64 per_schedule = (guint64) MAX (L, 1) * (S + 1 + FADED_SERIES_COST);
  guint drawn = (guint) MIN ((guint64) faded, MAX (FADED_POINT_BUDGET / per_schedule, 2));
  for (guint j = 0, kept = 0; j < n; j++) {
    guint meta = first + j;
    gboolean current = j + 1 == n;
    /* the kept ones: the k-th of drawn is the one nearest to k·(faded − 1)/(drawn − 1) */
    if (!current && drawn < faded) {
      guint64 want = drawn > 1 ? ((guint64) kept * (faded - 1) * 2 + (drawn - 1)) / (2 * (guint64) (drawn - 1)) : 0;
      if (j != want)
        continue;
      kept++;
    }
    double alpha = current ? 1 : 0.12 + 0.38 * j / (n - 1);
    if (!current) {
      DrmadPlotShade shade = { meta, alpha };
      g_array_append_val (plot->shades, shade);
    }
    for (guint l = 0; l < L; l++) {
      g_autofree char *name = current ? g_strdup_printf ("layer %u", l + 1)
                                      : g_strdup_printf ("layer %u, meta-iteration %u", l + 1, meta);
      DrmadPlotSeries *series = drmad_plot_add_series (plot, name, l, alpha);
      series->steps = TRUE;
      series->in_legend = current;
      const double *schedule = meta == 0 ? data->initial_lr + (gsize) l * S
                                         : data->lr + ((gsize) (meta - 1) * L + l) * S;
      for (guint s = 0; s < S; s++)
        drmad_plot_series_append (series, (double) ((s * data->steps + S - 1) / S), schedule[s]);
      drmad_plot_series_append (series, (double) data->steps, schedule[S - 1]);
    }
  }
  if (drawn < faded)
    plot->shades_caption = g_strdup_printf ("faded: %u of %u earlier meta-iterations", drawn, faded);
  return plot;
}

/* Losses on the left axis, the error in percent on the right one: they have
 * different units and scales. */
DrmadPlot *
drmad_plot_run_loss (const DrmadPlotRunData *data)
{
  g_return_val_if_fail (data != NULL, NULL);
  DrmadPlot *plot = drmad_plot_new ("Loss", "meta-iteration", "loss", FALSE);
  plot->y2_label = g_strdup ("validation error (%)");
  plot->y2_percent = TRUE;
  g_autofree char *train_name = data->steps
    ? g_strdup_printf ("train loss (mean over %" G_GUINT64_FORMAT " steps)", data->steps)
    : g_strdup ("train loss (mean over the T steps)");
  const struct { const char *name; const double *values; gboolean right; } columns[] = {
    { train_name, data->train_loss, FALSE },
    { "validation loss", data->val_loss, FALSE },
    { "validation error", data->val_error, TRUE },
  };
  for (guint c = 0; c < G_N_ELEMENTS (columns); c++) {
    if (columns[c].values == NULL)
      continue;
    DrmadPlotSeries *series = drmad_plot_add_series (plot, columns[c].name, c, 1);
    series->right_axis = columns[c].right;
    for (guint i = 0; i < data->n_iters; i++)
      drmad_plot_series_append (series, i + 1, columns[c].values[i]);
  }
  add_marks (plot, data, FALSE);
  return plot;
}

DrmadPlot *
drmad_plot_l2 (guint n_iters, guint n_layers, const double *l2)
{
  DrmadPlotRunData data = { .n_iters = n_iters, .n_layers = n_layers, .l2 = l2 };
  return drmad_plot_run_l2 (&data);
}

DrmadPlot *
drmad_plot_lr (guint n_iters, guint n_layers, guint segments, guint64 steps, const double *lr)
{
  DrmadPlotRunData data = { .n_iters = n_iters, .n_layers = n_layers, .segments = segments, .steps = steps, .lr = lr };
  return drmad_plot_run_lr (&data);
}

/* Any of the three arrays may be NULL (not recorded): its series is left out. */
DrmadPlot *
drmad_plot_loss (guint n_iters, const double *train_loss, const double *val_loss, const double *val_error)
{
  DrmadPlotRunData data = { .n_iters = n_iters, .train_loss = train_loss, .val_loss = val_loss,
                            .val_error = val_error };
  return drmad_plot_run_loss (&data);
}
