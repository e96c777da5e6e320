/* Plots: the model (series of data points) and one cairo drawing of it that
 * the window and the PNG export share. Pixels are computed only
 * here, by plot_frame_*; drawing and hit testing both go through them. */
#include "drmad-plot.h"

#include <drmad.h>
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

/* Fixed margins (not measured from text) so that hit testing needs no cairo
 * context and maps points exactly as drawing does. */
enum { MARGIN_LEFT = 74, MARGIN_RIGHT = 18, MARGIN_TOP = 34, MARGIN_BOTTOM = 48 };
#define FONT_TICK 11.0
#define FONT_LABEL 12.0
#define FONT_TITLE 14.0
#define MARKER_RADIUS 2.5
#define MARKER_MAX_POINTS 30

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
  return plot;
}

void
drmad_plot_free (DrmadPlot *plot)
{
  if (plot == NULL)
    return;
  g_ptr_array_unref (plot->series);
  g_free (plot->title);
  g_free (plot->x_label);
  g_free (plot->y_label);
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

/* ---- frame: data ↔ pixels ---- */

typedef struct {
  double left, top, right, bottom;   /* plot area, pixels */
  double x_min, x_max, y_min, y_max; /* visible range; y in log10 units on a log axis */
  gboolean log_y, empty, integer_x;
} PlotFrame;

static gboolean
point_valid (const DrmadPlot *plot, double x, double y)
{
  return isfinite (x) && isfinite (y) && (!plot->log_y || y > 0);
}

static double
plot_frame_y_value (const PlotFrame *frame, double y)
{
  return frame->log_y ? log10 (y) : y;
}

static void
plot_frame_to_pixel (const PlotFrame *frame, double x, double y, double *px, double *py)
{
  *px = frame->left + (x - frame->x_min) / (frame->x_max - frame->x_min) * (frame->right - frame->left);
  *py = frame->bottom - (plot_frame_y_value (frame, y) - frame->y_min)
                          / (frame->y_max - frame->y_min) * (frame->bottom - frame->top);
}

static void
pad_range (double *lo, double *hi, double equal_pad, double fraction)
{
  if (*hi - *lo <= 1e-12 * MAX (fabs (*lo), fabs (*hi))) {
    *lo -= equal_pad;
    *hi += equal_pad;
  } else {
    double pad = (*hi - *lo) * fraction;
    *lo -= pad;
    *hi += pad;
  }
}

static PlotFrame
plot_frame_compute (const DrmadPlot *plot, double width, double height)
{
  PlotFrame frame = { .log_y = plot->log_y, .empty = TRUE, .integer_x = TRUE };
  frame.left = MIN (MARGIN_LEFT, width * 0.3);
  frame.right = MAX (frame.left + 1, width - MARGIN_RIGHT);
  frame.top = MIN (MARGIN_TOP, height * 0.2);
  frame.bottom = MAX (frame.top + 1, height - MARGIN_BOTTOM);

  frame.x_min = frame.y_min = INFINITY;
  frame.x_max = frame.y_max = -INFINITY;
  for (guint s = 0; s < plot->series->len; s++) {
    const DrmadPlotSeries *series = g_ptr_array_index (plot->series, s);
    for (guint i = 0; i < series->x->len; i++) {
      double x = g_array_index (series->x, double, i), y = g_array_index (series->y, double, i);
      if (!point_valid (plot, x, y))
        continue;
      double v = plot_frame_y_value (&frame, y);
      frame.x_min = MIN (frame.x_min, x);
      frame.x_max = MAX (frame.x_max, x);
      frame.y_min = MIN (frame.y_min, v);
      frame.y_max = MAX (frame.y_max, v);
      frame.integer_x &= x == floor (x);
      frame.empty = FALSE;
    }
  }
  if (frame.empty) {
    frame.x_min = 0, frame.x_max = 1;
    frame.y_min = 0, frame.y_max = 1;
    frame.integer_x = FALSE;
    return frame;
  }
  pad_range (&frame.x_min, &frame.x_max, frame.integer_x ? 1 : MAX (fabs (frame.x_min) * 0.1, 0.5), 0.03);
  /* a log axis pads half a decade either side of a single value */
  pad_range (&frame.y_min, &frame.y_max,
             frame.log_y ? 0.5 : (frame.y_min != 0 ? fabs (frame.y_min) * 0.1 : 1), 0.06);
  return frame;
}

/* ---- ticks ---- */

typedef struct {
  double value;     /* axis units (log10 on a log axis) */
  gboolean major;
  int exponent;     /* for labels 10^k; G_MININT when labelled by text */
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
format_number (char *buf, gsize size, double v, double step)
{
  if (fabs (v) < step * 1e-6)
    v = 0;
  double mag = MAX (fabs (v), step);
  if (step >= 1 && mag < 1e9)
    g_snprintf (buf, size, "%.0f", v);
  else if (mag >= 1e5 || mag < 1e-3)
    g_snprintf (buf, size, "%g", v);
  else
    g_snprintf (buf, size, "%.*f", (int) ceil (-log10 (step) - 1e-9), v);
}

static GArray *
linear_ticks (double lo, double hi, double target_count, double min_step)
{
  GArray *ticks = g_array_new (FALSE, TRUE, sizeof (Tick));
  double step = MAX (nice_step ((hi - lo) / target_count), min_step);
  for (double k = ceil (lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) {
    Tick t = { .value = k * step, .major = TRUE, .exponent = G_MININT };
    format_number (t.text, sizeof t.text, t.value, step);
    g_array_append_val (ticks, t);
  }
  return ticks;
}

/* Decades labelled 10^k with minor ticks at 2…9; when fewer than two decades
 * are in view, 1, 2 and 5 times each decade are labelled as numbers, and when even that
 * gives fewer than two labels, plain 1-2-5 ticks in natural units. */
static GArray *
log_ticks (double lo, double hi)
{
  GArray *ticks = g_array_new (FALSE, TRUE, sizeof (Tick));
  int first = (int) floor (lo), last = (int) ceil (hi);
  int decade_step = MAX (1, (int) ceil ((last - first) / 8.0));
  int labelled = 0;
  for (int k = first; k <= last; k++)
    if (k >= lo - 1e-9 && k <= hi + 1e-9 && k % decade_step == 0)
      labelled++;
  gboolean label_125 = labelled < 2;
  for (int k = first; k <= last; k++)
    for (int m = 1; m <= 9; m++) {
      double v = k + log10 (m);
      if (v < lo - 1e-9 || v > hi + 1e-9)
        continue;
      Tick t = { .value = v, .exponent = G_MININT };
      if (m == 1 && k % decade_step == 0 && !label_125)
        t.major = TRUE, t.exponent = k;
      else if (label_125 && (m == 1 || m == 2 || m == 5)) {
        t.major = TRUE;
        g_snprintf (t.text, sizeof t.text, "%g", m * pow (10, k));
      } else if (decade_step > 1 || last - first > 6)
        continue;
      g_array_append_val (ticks, t);
    }
  guint majors = 0;
  for (guint i = 0; i < ticks->len; i++)
    majors += g_array_index (ticks, Tick, i).major;
  if (majors >= 2)
    return ticks;

  g_array_unref (ticks);
  ticks = linear_ticks (pow (10, lo), pow (10, hi), 4, 0);
  for (guint i = 0; i < ticks->len; i++) {
    Tick *t = &g_array_index (ticks, Tick, i);
    t->value = t->value > 0 ? log10 (t->value) : -INFINITY;
  }
  for (guint i = ticks->len; i-- > 0;)
    if (!isfinite (g_array_index (ticks, Tick, i).value))
      g_array_remove_index (ticks, i);
  return ticks;
}

/* ---- drawing ---- */

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

/* Width of a tick label; draws it with its right edge at @x (align 1), centre
 * (align 0.5), baseline at @y, when @draw. */
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

static void
draw_axes (const DrmadPlot *plot, const PlotFrame *frame, cairo_t *cr, double width, double height)
{
  g_autoptr (GArray) x_ticks = linear_ticks (frame->x_min, frame->x_max, 6, frame->integer_x ? 1 : 0);
  g_autoptr (GArray) y_ticks = frame->log_y ? log_ticks (frame->y_min, frame->y_max)
                                            : linear_ticks (frame->y_min, frame->y_max, 5, 0);
  double plot_w = frame->right - frame->left, plot_h = frame->bottom - frame->top;

  set_font (cr, FONT_TICK, FALSE);
  cairo_set_line_width (cr, 1);
  for (guint i = 0; i < y_ticks->len; i++) {
    const Tick *t = &g_array_index (y_ticks, Tick, i);
    double py = round (frame->bottom - (t->value - frame->y_min) / (frame->y_max - frame->y_min) * plot_h) + 0.5;
    if (t->major) {
      cairo_set_source_rgb (cr, 0.92, 0.92, 0.92);
      cairo_move_to (cr, frame->left, py);
      cairo_line_to (cr, frame->right, py);
      cairo_stroke (cr);
    }
    cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
    cairo_move_to (cr, frame->left - (t->major ? 5 : 3), py);
    cairo_line_to (cr, frame->left, py);
    cairo_stroke (cr);
    if (t->major)
      tick_label (cr, t, frame->left - 8, py + FONT_TICK * 0.35, 1, TRUE);
  }
  for (guint i = 0; i < x_ticks->len; i++) {
    const Tick *t = &g_array_index (x_ticks, Tick, i);
    double px = round (frame->left + (t->value - frame->x_min) / (frame->x_max - frame->x_min) * plot_w) + 0.5;
    cairo_set_source_rgb (cr, 0.92, 0.92, 0.92);
    cairo_move_to (cr, px, frame->top);
    cairo_line_to (cr, px, frame->bottom);
    cairo_stroke (cr);
    cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
    cairo_move_to (cr, px, frame->bottom);
    cairo_line_to (cr, px, frame->bottom + 5);
    cairo_stroke (cr);
    tick_label (cr, t, px, frame->bottom + 8 + FONT_TICK, 0.5, TRUE);
  }
  cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
  cairo_rectangle (cr, round (frame->left) + 0.5, round (frame->top) + 0.5,
                   round (frame->right) - round (frame->left), round (frame->bottom) - round (frame->top));
  cairo_stroke (cr);

  cairo_set_source_rgb (cr, 0, 0, 0);
  set_font (cr, FONT_LABEL, FALSE);
  if (plot->x_label) {
    cairo_move_to (cr, frame->left + plot_w / 2 - text_width (cr, plot->x_label) / 2, height - 10);
    cairo_show_text (cr, plot->x_label);
  }
  if (plot->y_label) {
    cairo_save (cr);
    cairo_move_to (cr, 4 + FONT_LABEL, frame->top + plot_h / 2 + text_width (cr, plot->y_label) / 2);
    cairo_rotate (cr, -G_PI / 2);
    cairo_show_text (cr, plot->y_label);
    cairo_restore (cr);
  }
  if (plot->title) {
    set_font (cr, FONT_TITLE, TRUE);
    cairo_move_to (cr, width / 2 - text_width (cr, plot->title) / 2, frame->top - 12);
    cairo_show_text (cr, plot->title);
  }
}

static void
set_series_source (cairo_t *cr, const DrmadPlotSeries *series)
{
  const double *rgb = palette[series->color_index % PALETTE_SIZE];
  cairo_set_source_rgba (cr, rgb[0], rgb[1], rgb[2], CLAMP (series->alpha, 0, 1));
}

/* Calls @visit on each pixel-space segment of @series (a step function adds
 * its corner point); invalid points break the line. */
typedef void (*SegmentFunc) (double x0, double y0, double x1, double y1, gboolean starts_run, gpointer data);

static void
series_foreach_segment (const DrmadPlot *plot, const PlotFrame *frame, const DrmadPlotSeries *series,
                        SegmentFunc visit, gpointer data)
{
  gboolean have_prev = FALSE;
  double prev_x = 0, prev_y = 0;
  for (guint i = 0; i < series->x->len; i++) {
    double x = g_array_index (series->x, double, i), y = g_array_index (series->y, double, i);
    if (!point_valid (plot, x, y)) {
      have_prev = FALSE;
      continue;
    }
    double px, py;
    plot_frame_to_pixel (frame, x, y, &px, &py);
    if (!have_prev)
      visit (px, py, px, py, TRUE, data);
    else if (series->steps) {
      visit (prev_x, prev_y, px, prev_y, FALSE, data);
      visit (px, prev_y, px, py, FALSE, data);
    } else
      visit (prev_x, prev_y, px, py, FALSE, data);
    have_prev = TRUE, prev_x = px, prev_y = py;
  }
}

static void
path_segment (double x0, double y0, double x1, double y1, gboolean starts_run, gpointer data)
{
  cairo_t *cr = data;
  if (starts_run)
    cairo_move_to (cr, x0, y0);
  else
    cairo_line_to (cr, x1, y1);
}

static void
draw_series (const DrmadPlot *plot, const PlotFrame *frame, cairo_t *cr, const DrmadPlotSeries *series)
{
  set_series_source (cr, series);
  cairo_set_line_width (cr, series->alpha >= 1 ? 2 : 1.5);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_new_path (cr);
  series_foreach_segment (plot, frame, series, path_segment, cr);
  cairo_stroke (cr);
  if (series->x->len > MARKER_MAX_POINTS)
    return;
  for (guint i = 0; i < series->x->len; i++) {
    double x = g_array_index (series->x, double, i), y = g_array_index (series->y, double, i), px, py;
    if (!point_valid (plot, x, y))
      continue;
    plot_frame_to_pixel (frame, x, y, &px, &py);
    cairo_new_sub_path (cr);
    cairo_arc (cr, px, py, MARKER_RADIUS, 0, 2 * G_PI);
  }
  cairo_fill (cr);
}

typedef struct {
  double x, y, w, h;
  double covered;   /* data drawn under the box, weighted by alpha */
  double alpha;
} LegendBox;

/* Samples a segment every few pixels and counts the samples inside the box. */
static void
cover_segment (double x0, double y0, double x1, double y1, gboolean starts_run, gpointer data)
{
  LegendBox *box = data;
  int samples = 1 + (int) (hypot (x1 - x0, y1 - y0) / 3);
  for (int k = 0; k <= samples; k++) {
    double x = x0 + (x1 - x0) * k / samples, y = y0 + (y1 - y0) * k / samples;
    if (x >= box->x && x <= box->x + box->w && y >= box->y && y <= box->y + box->h)
      box->covered += box->alpha;
  }
}

/* In the corner of the plot area that hides the least data. */
static void
draw_legend (const DrmadPlot *plot, const PlotFrame *frame, cairo_t *cr)
{
  const double pad = 6, swatch = 22, row = FONT_TICK + 5;
  set_font (cr, FONT_TICK, FALSE);
  double text_w = 0;
  guint rows = 0;
  for (guint s = 0; s < plot->series->len; s++) {
    const DrmadPlotSeries *series = g_ptr_array_index (plot->series, s);
    if (series->in_legend && series->name)
      text_w = MAX (text_w, text_width (cr, series->name)), rows++;
  }
  if (rows == 0)
    return;

  double w = pad * 3 + swatch + text_w, h = pad * 2 + rows * row, inset = 8;
  LegendBox corners[4] = {
    { frame->right - inset - w, frame->top + inset, w, h },
    { frame->left + inset, frame->top + inset, w, h },
    { frame->right - inset - w, frame->bottom - inset - h, w, h },
    { frame->left + inset, frame->bottom - inset - h, w, h },
  };
  LegendBox *best = &corners[0];
  for (guint c = 0; c < G_N_ELEMENTS (corners); c++) {
    for (guint s = 0; s < plot->series->len; s++) {
      const DrmadPlotSeries *series = g_ptr_array_index (plot->series, s);
      corners[c].alpha = series->alpha;
      series_foreach_segment (plot, frame, series, cover_segment, &corners[c]);
    }
    if (corners[c].covered < best->covered - 1e-9)
      best = &corners[c];
  }

  cairo_rectangle (cr, round (best->x) + 0.5, round (best->y) + 0.5, round (w), round (h));
  cairo_set_source_rgba (cr, 1, 1, 1, 0.88);
  cairo_fill_preserve (cr);
  cairo_set_source_rgb (cr, 0.6, 0.6, 0.6);
  cairo_set_line_width (cr, 1);
  cairo_stroke (cr);

  double y = best->y + pad + row / 2;
  for (guint s = 0; s < plot->series->len; s++) {
    const DrmadPlotSeries *series = g_ptr_array_index (plot->series, s);
    if (!series->in_legend || !series->name)
      continue;
    double x = best->x + pad;
    set_series_source (cr, series);
    cairo_set_line_width (cr, 2);
    cairo_move_to (cr, x, y);
    cairo_line_to (cr, x + swatch, y);
    cairo_stroke (cr);
    cairo_arc (cr, x + swatch / 2, y, MARKER_RADIUS, 0, 2 * G_PI);
    cairo_fill (cr);
    cairo_set_source_rgb (cr, 0, 0, 0);
    cairo_move_to (cr, x + swatch + pad, y + FONT_TICK * 0.35);
    cairo_show_text (cr, series->name);
    y += row;
  }
}

void
drmad_plot_draw (const DrmadPlot *plot, cairo_t *cr, double width, double height)
{
  g_return_if_fail (plot != NULL && cr != NULL);
  PlotFrame frame = plot_frame_compute (plot, width, height);

  cairo_save (cr);
  cairo_rectangle (cr, 0, 0, width, height);
  cairo_clip (cr);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  draw_axes (plot, &frame, cr, width, height);

  cairo_save (cr);
  cairo_rectangle (cr, frame.left, frame.top, frame.right - frame.left, frame.bottom - frame.top);
  cairo_clip (cr);
  for (guint s = 0; s < plot->series->len; s++)
    draw_series (plot, &frame, cr, g_ptr_array_index (plot->series, s));
  cairo_restore (cr);

  if (frame.empty) {
    const char *note = "no data yet";
    set_font (cr, FONT_LABEL, FALSE);
    cairo_set_source_rgb (cr, 0.5, 0.5, 0.5);
    cairo_move_to (cr, (frame.left + frame.right) / 2 - text_width (cr, note) / 2,
                   (frame.top + frame.bottom) / 2);
    cairo_show_text (cr, note);
  } else
    draw_legend (plot, &frame, cr);
  cairo_restore (cr);
}

gboolean
drmad_plot_nearest (const DrmadPlot *plot, double width, double height, double px, double py,
                    double radius, guint *series_index, guint *point_index)
{
  g_return_val_if_fail (plot != NULL, FALSE);
  PlotFrame frame = plot_frame_compute (plot, width, height);
  double best = radius * radius;
  gboolean found = FALSE;
  /* ties go to the later series, the one drawn on top */
  for (guint s = 0; s < plot->series->len; s++) {
    const DrmadPlotSeries *series = g_ptr_array_index (plot->series, s);
    for (guint i = 0; i < series->x->len; i++) {
      double x = g_array_index (series->x, double, i), y = g_array_index (series->y, double, i), qx, qy;
      if (!point_valid (plot, x, y))
        continue;
      plot_frame_to_pixel (&frame, x, y, &qx, &qy);
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
  return found;
}

/* ---- PNG export ---- */

static cairo_status_t
png_append (void *closure, const unsigned char *data, unsigned int length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

gboolean
drmad_plot_write_png (const DrmadPlot *plot, const char *path, int width, int height, GError **error)
{
  g_return_val_if_fail (plot != NULL && path != NULL, FALSE);
  g_return_val_if_fail (width > 0 && height > 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cairo_t *cr = cairo_create (surface);
  drmad_plot_draw (plot, cr, width, height);
  cairo_status_t status = cairo_status (cr);
  cairo_destroy (cr);
  g_autoptr (GByteArray) png = g_byte_array_new ();
  if (status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_write_to_png_stream (surface, png_append, png);
  cairo_surface_destroy (surface);
  if (status != CAIRO_STATUS_SUCCESS) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_FAILED, "cannot draw %s: %s", path,
                 cairo_status_to_string (status));
    return FALSE;
  }
  /* The library's writer: a temporary file, fsync, rename, fsync of the folder. */
  return drmad_write_file_atomic (path, png->data, png->len, error);
}

/* ---- the plots of a run ---- */

DrmadPlot *
drmad_plot_l2 (guint n_iters, guint n_layers, const double *l2)
{
  DrmadPlot *plot = drmad_plot_new ("Learned L2 per layer", "meta-iteration", "L2 coefficient", TRUE);
  for (guint l = 0; l < n_layers; l++) {
    g_autofree char *name = g_strdup_printf ("layer %u", l + 1);
    DrmadPlotSeries *series = drmad_plot_add_series (plot, name, l, 1);
    for (guint i = 0; i < n_iters; i++)
      drmad_plot_series_append (series, i + 1, l2[(gsize) i * n_layers + l]);
  }
  return plot;
}

/* Segment s starts at the first step t with ⌊t·S/T⌋ = s (drmad-net.h). The
 * last meta-iteration is drawn on top; earlier ones fade the older they are. */
DrmadPlot *
drmad_plot_lr (guint n_iters, guint n_layers, guint segments, guint64 steps, const double *lr)
{
  DrmadPlot *plot = drmad_plot_new ("Learning-rate schedule", "training step", "learning rate", TRUE);
  g_return_val_if_fail (segments > 0, plot);
  for (guint i = 0; i < n_iters; i++) {
    gboolean current = i + 1 == n_iters;
    double alpha = current ? 1 : 0.12 + 0.38 * i / (n_iters - 1);
    for (guint l = 0; l < n_layers; l++) {
      g_autofree char *name = current ? g_strdup_printf ("layer %u", l + 1)
                                      : g_strdup_printf ("layer %u, meta-iteration %u", l + 1, i + 1);
      DrmadPlotSeries *series = drmad_plot_add_series (plot, name, l, alpha);
      series->steps = TRUE;
      series->in_legend = current;
      const double *schedule = lr + ((gsize) i * n_layers + l) * segments;
      for (guint s = 0; s < segments; s++)
        drmad_plot_series_append (series, (double) ((s * steps + segments - 1) / segments), schedule[s]);
      drmad_plot_series_append (series, (double) steps, schedule[segments - 1]);
    }
  }
  return plot;
}

/* Any of the three arrays may be NULL (not recorded): its series is left out. */
DrmadPlot *
drmad_plot_loss (guint n_iters, const double *train_loss, const double *val_loss, const double *val_error)
{
  DrmadPlot *plot = drmad_plot_new ("Loss", "meta-iteration", "loss / error", FALSE);
  const struct { const char *name; const double *values; } columns[] = {
    { "train loss", train_loss },
    { "validation loss", val_loss },
    { "validation error", val_error },
  };
  for (guint c = 0; c < G_N_ELEMENTS (columns); c++) {
    if (columns[c].values == NULL)
      continue;
    DrmadPlotSeries *series = drmad_plot_add_series (plot, columns[c].name, c, 1);
    for (guint i = 0; i < n_iters; i++)
      drmad_plot_series_append (series, i + 1, columns[c].values[i]);
  }
  return plot;
}
