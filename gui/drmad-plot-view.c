/* DrmadPlotView: a GtkDrawingArea that owns a DrmadPlot and draws it with
 * drmad_plot_draw(); hovering shows the nearest data point, and so does a
 * cursor the arrow keys move once the view has the keyboard focus.
 *
 * The plot is drawn once into an image (a texture) and kept until the plot,
 * its zoom or scale, or the widget's size changes: the pointer and the keys
 * only move the read-out, drawn over it, and redraw nothing else (a plot of
 * many points takes tens of milliseconds to draw). The image has the
 * widget's device pixels, so it shows the very pixels a direct drawing
 * would. */
#include "drmad-plot-view.h"
#include "drmad-secondary-window.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HOVER_RADIUS 12.0

struct _DrmadPlotView {
  GtkDrawingArea parent_instance;
  DrmadPlot     *plot;
  char          *hover_text;   /* NULL: no read-out */
  char          *description;  /* the accessible description: the newest values, then the keys */
  char          *placeholder_title;   /* the name without a plot's title (its tab's label); NULL: "Plot" */
  double         hover_x, hover_y;
  /* The point read out, by the pointer or the keys: the keys go on from it. */
  int            point_series; /* -1: none */
  guint          point_index;
  gboolean       from_keys;    /* the read-out is the keyboard cursor's: it goes when the focus leaves */
  gboolean       pointer_in;   /* the pointer is over the view, at pointer_x, pointer_y */
  double         pointer_x, pointer_y;
  /* What the user chose, kept when the plot is replaced after each meta-iteration. */
  double         zoom_lo, zoom_hi;   /* the x range shown; NaN: all */
  int            log_choice;         /* -1: the plot's own scale; 0 linear; 1 log */
  double         drag_lo, drag_hi;   /* the range when a pan began */
  /* The plot drawn (without the read-out) at rendered_width × rendered_height
   * and rendered_scale; NULL: to draw again. */
  GdkTexture    *rendered;
  int            rendered_width, rendered_height, rendered_scale;
};

G_DEFINE_FINAL_TYPE (DrmadPlotView, drmad_plot_view, GTK_TYPE_DRAWING_AREA)

/* 1.23e-4 rather than 0.000123 or 1.23e-04: the scale of an L2 penalty
 * reads at a glance. With a decimal point in every locale, as the plot's
 * axes are labelled (drmad-plot.c) and history.csv holds the numbers: in a
 * locale that writes 0,5 the read-out and the description said "0,7715"
 * beside an axis labelled 0.5. */
static char *
format_value (double value)
{
  char text[G_ASCII_DTOSTR_BUF_SIZE];
  double magnitude = fabs (value);
  if (value == 0 || (magnitude >= 1e-3 && magnitude < 1e5))
    return g_strdup (g_ascii_formatd (text, sizeof text, "%.4g", value));
  g_ascii_formatd (text, sizeof text, "%.2e", value);
  char *e = strchr (text, 'e');
  if (!e)
    return g_strdup (text);
  int exponent = atoi (e + 1);
  *e = '\0';
  return g_strdup_printf ("%se%d", text, exponent);
}

char *
drmad_plot_describe_point (const DrmadPlot *plot, guint series_index, guint point_index)
{
  g_return_val_if_fail (series_index < plot->series->len, NULL);
  const DrmadPlotSeries *series = g_ptr_array_index (plot->series, series_index);
  g_return_val_if_fail (point_index < series->x->len, NULL);
  double x = g_array_index (series->x, double, point_index), y = g_array_index (series->y, double, point_index);
  g_autofree char *x_text = x == floor (x) && fabs (x) < 1e15 ? g_strdup_printf ("%.0f", x) : format_value (x);
  char percent[G_ASCII_DTOSTR_BUF_SIZE];
  g_autofree char *y_text = series->right_axis && plot->y2_label && plot->y2_percent
                            ? g_strconcat (g_ascii_formatd (percent, sizeof percent, "%.4g", 100 * y), " %", NULL)
                            : format_value (y);
  return g_strdup_printf ("%s, %s %s: %s", series->name, plot->x_label, x_text, y_text);
}

#define READOUT_PAD 6.0
#define READOUT_LINE 15.0

/* The read-out's text in lines that fit @width: a narrow plot (240 px) would
 * cut "layer 1, meta-iteration 2, training step 30: 0.1" before its value,
 * so the text breaks after its commas (a piece wider than the plot is a line
 * of its own). @cr has the read-out's font; @box_width gets the widest line
 * with the padding. */
static GPtrArray *
readout_lines (cairo_t *cr, const char *text, int width, double *box_width)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);
  double max_w = MAX (width - 4 - 2 * READOUT_PAD, 1), widest = 0;
  g_auto (GStrv) pieces = g_strsplit (text, ", ", -1);
  GString *line = g_string_new (NULL);
  for (guint i = 0; pieces[i]; i++) {
    g_autofree char *piece = pieces[i + 1] ? g_strconcat (pieces[i], ",", NULL) : g_strdup (pieces[i]);
    g_autofree char *joined = line->len ? g_strconcat (line->str, " ", piece, NULL) : g_strdup (piece);
    cairo_text_extents_t extents;
    cairo_text_extents (cr, joined, &extents);
    if (line->len && extents.x_advance > max_w) {
      g_ptr_array_add (lines, g_string_free (line, FALSE));
      line = g_string_new (piece);
    } else {
      g_string_assign (line, joined);
    }
  }
  g_ptr_array_add (lines, g_string_free (line, FALSE));
  for (guint i = 0; i < lines->len; i++) {
    cairo_text_extents_t extents;
    cairo_text_extents (cr, lines->pdata[i], &extents);
    widest = MAX (widest, extents.x_advance);
  }
  *box_width = widest + 2 * READOUT_PAD;
  return lines;
}

static void
set_readout_font (cairo_t *cr)
{
  cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, 12);
}

static void
draw_readout (DrmadPlotView *self, cairo_t *cr, int width, int height)
{
  cairo_save (cr);
  set_readout_font (cr);
  double pad = READOUT_PAD, box_w;
  g_autoptr (GPtrArray) lines = readout_lines (cr, self->hover_text, width, &box_w);
  double box_h = 12 + READOUT_LINE * (lines->len - 1) + 2 * pad;
  /* Below and right of the point, kept inside the widget. */
  double x = CLAMP (self->hover_x + 14, 2, MAX (2, width - box_w - 2));
  double y = self->hover_y + 16;
  if (y + box_h > height - 2)
    y = self->hover_y - box_h - 10;
  y = MAX (2, y);
  cairo_rectangle (cr, x, y, box_w, box_h);
  cairo_set_source_rgba (cr, 0.13, 0.13, 0.15, 0.88);
  cairo_fill (cr);
  cairo_set_source_rgb (cr, 1, 1, 1);
  for (guint i = 0; i < lines->len; i++) {
    cairo_move_to (cr, x + pad, y + pad + 10 + READOUT_LINE * i);
    cairo_show_text (cr, lines->pdata[i]);
  }
  cairo_arc (cr, self->hover_x, self->hover_y, 5, 0, 2 * G_PI);
  cairo_set_source_rgba (cr, 0.13, 0.13, 0.15, 0.88);
  cairo_set_line_width (cr, 1.5);
  cairo_stroke (cr);
  cairo_restore (cr);
}

GStrv
drmad_plot_view_get_readout_lines (DrmadPlotView *self, double *box_width)
{
  g_return_val_if_fail (DRMAD_IS_PLOT_VIEW (self), NULL);
  if (box_width)
    *box_width = 0;
  if (!self->hover_text)
    return NULL;
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 1, 1);
  cairo_t *cr = cairo_create (surface);
  set_readout_font (cr);
  double width;
  GPtrArray *lines = readout_lines (cr, self->hover_text, gtk_widget_get_width (GTK_WIDGET (self)), &width);
  cairo_destroy (cr);
  cairo_surface_destroy (surface);
  if (box_width)
    *box_width = width;
  g_ptr_array_add (lines, NULL);
  return (GStrv) g_ptr_array_free (lines, FALSE);
}

/* Where the keyboard cursor's point is drawn at @width × @height, into
 * hover_x and hover_y; FALSE when it is not drawn (≤ 0 on a log axis). */
static gboolean
cursor_position (DrmadPlotView *self, int width, int height)
{
  if (!self->plot || self->point_series < 0 || (guint) self->point_series >= self->plot->series->len)
    return FALSE;
  const DrmadPlotSeries *series = g_ptr_array_index (self->plot->series, self->point_series);
  if (self->point_index >= series->x->len)
    return FALSE;
  return drmad_plot_locate (self->plot, MAX (width, 1), MAX (height, 1), self->point_series, self->point_index,
                            &self->hover_x, &self->hover_y);
}

/* The plot is drawn again at the next frame (it changed, or its zoom or scale). */
static void
forget_rendering (DrmadPlotView *self)
{
  g_clear_object (&self->rendered);
}

/* The plot drawn by drmad_plot_draw() into an image of the widget's device
 * pixels, kept while nothing it shows changes. */
static GdkTexture *
rendering (DrmadPlotView *self, int width, int height, int scale)
{
  if (self->rendered && self->rendered_width == width && self->rendered_height == height
      && self->rendered_scale == scale)
    return self->rendered;
  forget_rendering (self);
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width * scale, height * scale);
  cairo_surface_set_device_scale (surface, scale, scale);
  cairo_t *cr = cairo_create (surface);
  drmad_plot_draw (self->plot, cr, width, height);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  if (cairo_surface_status (surface) != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy (surface);
    return NULL;
  }
  int stride = cairo_image_surface_get_stride (surface);
  /* cairo's ARGB32 is GDK's default memory format (premultiplied, native endian) */
  g_autoptr (GBytes) bytes = g_bytes_new_with_free_func (cairo_image_surface_get_data (surface),
                                                         (gsize) stride * height * scale,
                                                         (GDestroyNotify) cairo_surface_destroy, surface);
  self->rendered = gdk_memory_texture_new (width * scale, height * scale, GDK_MEMORY_DEFAULT, bytes, stride);
  self->rendered_width = width, self->rendered_height = height, self->rendered_scale = scale;
  return self->rendered;
}

static void
drmad_plot_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  DrmadPlotView *self = DRMAD_PLOT_VIEW (widget);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  if (!self->plot || width <= 0 || height <= 0)
    return;
  graphene_rect_t bounds = GRAPHENE_RECT_INIT (0, 0, width, height);
  int scale = MAX (gtk_widget_get_scale_factor (widget), 1);
  gboolean whole_pixels = TRUE;
#if GTK_CHECK_VERSION (4, 12, 0)
  /* a fractional scale (125 %) would resample the image: drawn directly then */
  GtkNative *native = gtk_widget_get_native (widget);
  GdkSurface *surface = native ? gtk_native_get_surface (native) : NULL;
  whole_pixels = !surface || gdk_surface_get_scale (surface) == scale;
#endif
  GdkTexture *texture = whole_pixels ? rendering (self, width, height, scale) : NULL;
  /* The keyboard cursor's point is placed at the size drawn now: after a
   * change of scale, a zoom, a pan or a resize it is still on its point. */
  gboolean read_out = self->hover_text && (!self->from_keys || cursor_position (self, width, height));
  if (texture)
    gtk_snapshot_append_texture (snapshot, texture, &bounds);
  if (texture && !read_out)
    return;
  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &bounds);
  if (!texture)
    drmad_plot_draw (self->plot, cr, width, height);
  if (read_out)
    draw_readout (self, cr, width, height);
  cairo_destroy (cr);
}

/* The accessible name: the plot's title, and the read-out when there is one
 * (what a screen reader says as the cursor moves). */
static void
update_accessible_label (DrmadPlotView *self)
{
  const char *title = self->plot && self->plot->title ? self->plot->title
                      : self->placeholder_title          ? self->placeholder_title
                                                         : "Plot";
  g_autofree char *label = self->hover_text ? g_strdup_printf ("%s: %s", title, self->hover_text) : g_strdup (title);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
}

/* What the keys do, said after the values. */
#define KEYS_HELP "Left and Right move a cursor over the points and read each out, Up and Down change the " \
                  "series, Home and End go to the first and the last point, plus and minus zoom, 0 shows all, " \
                  "Escape hides the read-out; the Menu key opens the plot's menu"

/* The accessible description: the newest value of each series in the key
 * drawn at full strength (the current meta-iteration's; earlier ones are
 * faded), as the read-out says it, then the keys. A screen reader gets
 * what a glance at the plot gives without moving the cursor. */
static void
update_accessible_description (DrmadPlotView *self)
{
  GString *text = g_string_new (NULL);
  for (guint pass = 0; self->plot && pass < 2 && text->len == 0; pass++)
    for (guint s = 0; s < self->plot->series->len; s++) {
      const DrmadPlotSeries *series = g_ptr_array_index (self->plot->series, s);
      /* first the current series; where there are none, every one in the key */
      if (!series->in_legend || !series->name || (pass == 0 && series->alpha < 1))
        continue;
      int last = (int) series->y->len - 1;
      while (last >= 0 && !isfinite (g_array_index (series->y, double, last)))
        last--;
      if (last < 0)
        continue;
      g_autofree char *point = drmad_plot_describe_point (self->plot, s, last);
      g_string_append_printf (text, "%s%s", text->len ? "; " : "Newest values: ", point);
    }
  if (text->len == 0)
    g_string_append (text, self->plot && self->plot->empty_note ? self->plot->empty_note : "no data yet");
  g_string_append (text, ". " KEYS_HELP);
  g_free (self->description);
  self->description = g_string_free (text, FALSE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, self->description, -1);
}

const char *
drmad_plot_view_get_description (DrmadPlotView *self)
{
  g_return_val_if_fail (DRMAD_IS_PLOT_VIEW (self), NULL);
  return self->description;
}

static void
clear_hover (DrmadPlotView *self)
{
  self->point_series = -1;
  self->from_keys = FALSE;
  if (!self->hover_text)
    return;
  g_clear_pointer (&self->hover_text, g_free);
  update_accessible_label (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

gboolean
drmad_plot_view_hover (DrmadPlotView *self, double x, double y)
{
  g_return_val_if_fail (DRMAD_IS_PLOT_VIEW (self), FALSE);
  guint series, point;
  int width = gtk_widget_get_width (GTK_WIDGET (self)), height = gtk_widget_get_height (GTK_WIDGET (self));
  self->pointer_in = TRUE;
  self->pointer_x = x, self->pointer_y = y;
  if (!self->plot || width <= 0 || height <= 0
      || !drmad_plot_nearest (self->plot, width, height, x, y, HOVER_RADIUS, &series, &point)) {
    /* The keyboard cursor's read-out stays while the pointer passes by
     * away from the points; the pointer's own goes. */
    if (!self->from_keys)
      clear_hover (self);
    return FALSE;
  }
  g_free (self->hover_text);
  self->hover_text = drmad_plot_describe_point (self->plot, series, point);
  self->hover_x = x;
  self->hover_y = y;
  self->point_series = series;
  self->point_index = point;
  self->from_keys = FALSE;
  update_accessible_label (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  return TRUE;
}

const char *
drmad_plot_view_get_hover_text (DrmadPlotView *self)
{
  g_return_val_if_fail (DRMAD_IS_PLOT_VIEW (self), NULL);
  return self->hover_text;
}

static void
on_motion (GtkEventControllerMotion *controller, double x, double y, DrmadPlotView *self)
{
  drmad_plot_view_hover (self, x, y);
}

static void
on_leave (GtkEventControllerMotion *controller, DrmadPlotView *self)
{
  self->pointer_in = FALSE;
  if (!self->from_keys)   /* the keyboard cursor's read-out goes with the focus, or Escape */
    clear_hover (self);
}

/* The user's zoom and scale onto the plot shown. */
static void
apply_choices (DrmadPlotView *self)
{
  forget_rendering (self);
  if (!self->plot)
    return;
  self->plot->view_x_lo = self->zoom_lo;
  self->plot->view_x_hi = self->zoom_hi;
  if (self->log_choice >= 0)
    self->plot->log_y = self->log_choice;
}

static int find_point (DrmadPlotView *self, guint series_index, int from, int step);
static void show_cursor (DrmadPlotView *self);

void
drmad_plot_view_set_plot (DrmadPlotView *self, DrmadPlot *plot)
{
  g_return_if_fail (DRMAD_IS_PLOT_VIEW (self));
  /* The keyboard cursor stays on its series and point, and on the newest
   * point when it was on the last one (a run going on adds one each time).
   * Its series is found again by name: in the learning-rate and momentum
   * plots a new meta-iteration's series come last and the ones the cursor
   * was on ("layer 1") are then the faded "layer 1, meta-iteration 2". */
  int series = self->from_keys ? self->point_series : -1;
  gboolean on_last = series >= 0 && find_point (self, series, G_MAXINT, -1) == (int) self->point_index;
  guint point = self->point_index;
  g_autofree char *name = NULL;
  if (series >= 0 && self->plot && (guint) series < self->plot->series->len)
    name = g_strdup (((const DrmadPlotSeries *) g_ptr_array_index (self->plot->series, series))->name);
  g_clear_pointer (&self->plot, drmad_plot_free);
  self->plot = plot;
  apply_choices (self);
  update_accessible_description (self);
  /* (the same index first, where two series have one name) */
  gboolean same = name && plot && (guint) series < plot->series->len
                  && g_strcmp0 (((const DrmadPlotSeries *) g_ptr_array_index (plot->series, series))->name, name) == 0;
  for (guint s = 0; name && !same && plot && s < plot->series->len; s++)
    if (g_strcmp0 (((const DrmadPlotSeries *) g_ptr_array_index (plot->series, s))->name, name) == 0) {
      series = s;
      break;
    }
  if (series >= 0 && plot && (guint) series < plot->series->len) {
    int found = find_point (self, series, on_last ? G_MAXINT : (int) point, -1);
    if (found >= 0) {
      self->point_series = series;
      self->point_index = found;
      show_cursor (self);
      return;
    }
  }
  /* The point under a resting pointer may have moved: drop the read-out
   * rather than show a stale value. */
  clear_hover (self);
  update_accessible_label (self);   /* the title may be another */
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
drmad_plot_view_set_placeholder_title (DrmadPlotView *self, const char *title)
{
  g_return_if_fail (DRMAD_IS_PLOT_VIEW (self));
  g_free (self->placeholder_title);
  self->placeholder_title = g_strdup (title);
  update_accessible_label (self);
}

const DrmadPlot *
drmad_plot_view_get_plot (DrmadPlotView *self)
{
  g_return_val_if_fail (DRMAD_IS_PLOT_VIEW (self), NULL);
  return self->plot;
}

/* The pointer's read-out is of the point under the resting pointer: after
 * a zoom (the y axis fitted to what is then in view), another one or none.
 * The keyboard cursor's stays on its point, placed again as drawn. */
static void
pointer_readout_again (DrmadPlotView *self)
{
  if (self->pointer_in && !self->from_keys)
    drmad_plot_view_hover (self, self->pointer_x, self->pointer_y);
}

void
drmad_plot_view_zoom (DrmadPlotView *self, double x, double factor)
{
  g_return_if_fail (DRMAD_IS_PLOT_VIEW (self));
  int width = gtk_widget_get_width (GTK_WIDGET (self)), height = gtk_widget_get_height (GTK_WIDGET (self));
  if (!self->plot || width <= 0 || height <= 0 || !(factor > 0))
    return;
  DrmadPlotRect area;
  double lo, hi;
  drmad_plot_get_layout (self->plot, width, height, &area, NULL);
  drmad_plot_get_x_range (self->plot, width, height, &lo, &hi);
  double at = lo + (CLAMP (x, area.x, area.x + area.width) - area.x) / MAX (area.width, 1) * (hi - lo);
  double new_lo = at - (at - lo) * factor, new_hi = at + (hi - at) * factor;
  /* In no further than a billionth of the values shown: past that the
   * doubles run out (a held + reaches it in seconds), the range shrank to
   * one value and the plot jumped back to showing all; here the x axis
   * still has labels of its own (linear_ticks, app/drmad-plot.c). */
  if (factor < 1 && !(new_hi - new_lo >= 1e-9 * MAX (MAX (fabs (new_lo), fabs (new_hi)), 1e-290)))
    return;
  self->zoom_lo = new_lo;
  self->zoom_hi = new_hi;
  apply_choices (self);
  pointer_readout_again (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
drmad_plot_view_reset_zoom (DrmadPlotView *self)
{
  g_return_if_fail (DRMAD_IS_PLOT_VIEW (self));
  self->zoom_lo = self->zoom_hi = NAN;
  apply_choices (self);
  pointer_readout_again (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
drmad_plot_view_set_log (DrmadPlotView *self, gboolean log_y)
{
  g_return_if_fail (DRMAD_IS_PLOT_VIEW (self));
  self->log_choice = log_y;
  apply_choices (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* ---- the keyboard cursor ---- */

/* The first point of series @series_index that is drawn, from index @from on
 * going by @step (±1; G_MAXINT: from the last point), or -1. */
static int
find_point (DrmadPlotView *self, guint series_index, int from, int step)
{
  if (!self->plot || series_index >= self->plot->series->len)
    return -1;
  const DrmadPlotSeries *series = g_ptr_array_index (self->plot->series, series_index);
  if (from == G_MAXINT)
    from = (int) series->x->len - 1;
  for (int i = from; i >= 0 && i < (int) series->x->len; i += step)
    if (drmad_plot_locate (self->plot, 1, 1, series_index, i, NULL, NULL))
      return i;
  return -1;
}

/* The point of series @series_index drawn nearest to @x along the x axis, or -1. */
static int
nearest_point (DrmadPlotView *self, guint series_index, double x)
{
  const DrmadPlotSeries *series = g_ptr_array_index (self->plot->series, series_index);
  int best = -1;
  for (int i = find_point (self, series_index, 0, 1); i >= 0; i = find_point (self, series_index, i + 1, 1))
    if (best < 0 || fabs (g_array_index (series->x, double, i) - x) < fabs (g_array_index (series->x, double, best) - x))
      best = i;
  return best;
}

/* The read-out of the cursor's point, which a zoomed x range is panned to
 * show; draw() places it. */
static void
show_cursor (DrmadPlotView *self)
{
  const DrmadPlotSeries *series = g_ptr_array_index (self->plot->series, self->point_series);
  double x = g_array_index (series->x, double, self->point_index);
  if (isfinite (self->zoom_lo) && isfinite (self->zoom_hi) && (x < self->zoom_lo || x > self->zoom_hi)) {
    double span = self->zoom_hi - self->zoom_lo;
    double shift = x < self->zoom_lo ? x - 0.1 * span - self->zoom_lo : x + 0.1 * span - self->zoom_hi;
    self->zoom_lo += shift;
    self->zoom_hi += shift;
    apply_choices (self);
  }
  g_free (self->hover_text);
  self->hover_text = drmad_plot_describe_point (self->plot, self->point_series, self->point_index);
  self->from_keys = TRUE;
  update_accessible_label (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* Whether series @s has an entry in the key (the faded series of earlier
 * meta-iterations have none: the key shows their shades instead). */
static gboolean
in_key (DrmadPlotView *self, guint s)
{
  const DrmadPlotSeries *series = g_ptr_array_index (self->plot->series, s);
  return series->in_legend && series->name;
}

/* Where the cursor starts: on the first series of the key drawn at full
 * strength (where earlier meta-iterations are faded, the current one's) with
 * a point drawn. */
static int
first_series (DrmadPlotView *self)
{
  int fallback = -1;
  for (guint s = 0; s < self->plot->series->len; s++) {
    if (find_point (self, s, 0, 1) < 0)
      continue;
    if (((const DrmadPlotSeries *) g_ptr_array_index (self->plot->series, s))->alpha >= 1 && in_key (self, s))
      return s;
    if (fallback < 0)
      fallback = s;
  }
  return fallback;
}

gboolean
drmad_plot_view_key (DrmadPlotView *self, guint keyval)
{
  g_return_val_if_fail (DRMAD_IS_PLOT_VIEW (self), FALSE);
  switch (keyval) {
  case GDK_KEY_KP_Left: keyval = GDK_KEY_Left; break;
  case GDK_KEY_KP_Right: keyval = GDK_KEY_Right; break;
  case GDK_KEY_KP_Up: keyval = GDK_KEY_Up; break;
  case GDK_KEY_KP_Down: keyval = GDK_KEY_Down; break;
  case GDK_KEY_KP_Home: keyval = GDK_KEY_Home; break;
  case GDK_KEY_KP_End: keyval = GDK_KEY_End; break;
  default: break;
  }
  if (keyval == GDK_KEY_Escape) {
    if (!self->hover_text)
      return FALSE;
    clear_hover (self);
    return TRUE;
  }
  /* the wheel's zoom and the double click's "show all", from the keys:
   * around the cursor's point, or the middle of the plot */
  gboolean zoom_in = keyval == GDK_KEY_plus || keyval == GDK_KEY_equal || keyval == GDK_KEY_KP_Add;
  if (zoom_in || keyval == GDK_KEY_minus || keyval == GDK_KEY_KP_Subtract) {
    int width = gtk_widget_get_width (GTK_WIDGET (self)), height = gtk_widget_get_height (GTK_WIDGET (self));
    /* the keyboard cursor's point, or the pointer's (which a click that
     * gave the focus may have left up), as the Menu key places its menu */
    gboolean at_readout = self->hover_text && (!self->from_keys || cursor_position (self, width, height));
    drmad_plot_view_zoom (self, at_readout ? self->hover_x : width / 2.0, zoom_in ? 0.8 : 1.25);
    return TRUE;
  }
  if (keyval == GDK_KEY_0 || keyval == GDK_KEY_KP_0) {
    drmad_plot_view_reset_zoom (self);
    return TRUE;
  }
  if (keyval != GDK_KEY_Left && keyval != GDK_KEY_Right && keyval != GDK_KEY_Up && keyval != GDK_KEY_Down
      && keyval != GDK_KEY_Home && keyval != GDK_KEY_End)
    return FALSE;
  if (!self->plot)
    return TRUE;   /* nothing to read out; the arrows still stay in the plot */
  guint n_series = self->plot->series->len;
  if (self->point_series < 0 || (guint) self->point_series >= n_series
      || find_point (self, self->point_series, self->point_index, 1) != (int) self->point_index) {
    /* no cursor yet: the newest point, or with Home the first */
    int s = first_series (self);
    if (s < 0)
      return TRUE;
    self->point_series = s;
    self->point_index = find_point (self, s, keyval == GDK_KEY_Home ? 0 : G_MAXINT, keyval == GDK_KEY_Home ? 1 : -1);
    show_cursor (self);
    return TRUE;
  }
  guint s = self->point_series;
  int next = -1;
  switch (keyval) {
  case GDK_KEY_Left: next = find_point (self, s, (int) self->point_index - 1, -1); break;
  case GDK_KEY_Right: next = find_point (self, s, self->point_index + 1, 1); break;
  case GDK_KEY_Home: next = find_point (self, s, 0, 1); break;
  case GDK_KEY_End: next = find_point (self, s, G_MAXINT, -1); break;
  default: {   /* Up and Down: the series above or below in the key, at the nearest x */
    const DrmadPlotSeries *series = g_ptr_array_index (self->plot->series, s);
    double x = g_array_index (series->x, double, self->point_index);
    int step = keyval == GDK_KEY_Up ? -1 : 1;
    for (int t = (int) s + step; t >= 0 && t < (int) n_series && next < 0; t += step)
      if (in_key (self, t) && (next = nearest_point (self, t, x)) >= 0)
        s = t;
    break;
  }
  }
  /* Left of the first point (and so on) the cursor stays, and its read-out. */
  if (next >= 0) {
    self->point_series = s;
    self->point_index = next;
  }
  show_cursor (self);
  return TRUE;
}

static void popup_menu (DrmadPlotView *self, double x, double y);

static gboolean
on_key_pressed (GtkEventControllerKey *controller, guint keyval, guint keycode, GdkModifierType state,
                DrmadPlotView *self)
{
  if (keyval == GDK_KEY_Menu || (keyval == GDK_KEY_F10 && (state & GDK_SHIFT_MASK))) {
    gboolean at_cursor = self->hover_text != NULL
                         && (!self->from_keys || cursor_position (self, gtk_widget_get_width (GTK_WIDGET (self)),
                                                                  gtk_widget_get_height (GTK_WIDGET (self))));
    popup_menu (self, at_cursor ? self->hover_x : gtk_widget_get_width (GTK_WIDGET (self)) / 2.0,
                at_cursor ? self->hover_y : gtk_widget_get_height (GTK_WIDGET (self)) / 2.0);
    return TRUE;
  }
  /* the window's shortcuts, and Shift+Tab. Shift is how many layouts type
   * the zoom's characters: + is Shift+= on US ones, and 0 is Shift+à on
   * French ones (it was passed over, and 0 could not be typed there); keys
   * that type none of them with Shift (_ and ) on US ones) stay the window's. */
  gboolean zoom_character = keyval == GDK_KEY_plus || keyval == GDK_KEY_equal || keyval == GDK_KEY_minus
                            || keyval == GDK_KEY_0;
  if ((state & (GDK_CONTROL_MASK | GDK_ALT_MASK)) || ((state & GDK_SHIFT_MASK) && !zoom_character))
    return FALSE;
  return drmad_plot_view_key (self, keyval);
}

static void
on_focus_leave (GtkEventControllerFocus *controller, DrmadPlotView *self)
{
  if (self->from_keys)
    clear_hover (self);
}

/* The wheel zooms the x axis around the pointer; a drag pans it; a double
 * click shows everything again. */
static gboolean
on_scroll (GtkEventControllerScroll *controller, double dx, double dy, DrmadPlotView *self)
{
  if (gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (controller)) & GDK_SHIFT_MASK)
    return FALSE;   /* Shift+wheel scrolls the plots sideways where they do not all fit */
  double x = self->hover_x;
  GdkEvent *event = gtk_event_controller_get_current_event (GTK_EVENT_CONTROLLER (controller));
  double ex, ey;
  if (event && gdk_event_get_position (event, &ex, &ey)) {
    graphene_point_t p = GRAPHENE_POINT_INIT ((float) ex, (float) ey), q;
    GtkWidget *native = GTK_WIDGET (gtk_widget_get_native (GTK_WIDGET (self)));
    double nx, ny;
    gtk_native_get_surface_transform (GTK_NATIVE (native), &nx, &ny);
    p.x -= nx, p.y -= ny;
    if (gtk_widget_compute_point (native, GTK_WIDGET (self), &p, &q))
      x = q.x;
  }
  drmad_plot_view_zoom (self, x, dy > 0 ? 1.25 : 0.8);
  return TRUE;
}

static void
on_drag_begin (GtkGestureDrag *gesture, double x, double y, DrmadPlotView *self)
{
  self->drag_lo = self->zoom_lo;
  self->drag_hi = self->zoom_hi;
}

static void
on_drag_update (GtkGestureDrag *gesture, double dx, double dy, DrmadPlotView *self)
{
  int width = gtk_widget_get_width (GTK_WIDGET (self)), height = gtk_widget_get_height (GTK_WIDGET (self));
  if (!self->plot || !isfinite (self->drag_lo) || width <= 0)
    return;   /* nothing to pan: all the data is in view */
  DrmadPlotRect area;
  drmad_plot_get_layout (self->plot, width, height, &area, NULL);
  double shift = -dx / MAX (area.width, 1) * (self->drag_hi - self->drag_lo);
  self->zoom_lo = self->drag_lo + shift;
  self->zoom_hi = self->drag_hi + shift;
  apply_choices (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_pressed (GtkGestureClick *gesture, int n_press, double x, double y, DrmadPlotView *self)
{
  /* The keys go on from here. The viewport of the scrolled plots would
   * scroll a partly shown plot into view as it takes the focus, moving it
   * under the pointer in the middle of a click or a drag: a click focuses
   * without scrolling (Tab still scrolls to the plot it reaches). */
  GtkWidget *viewport = gtk_widget_get_ancestor (GTK_WIDGET (self), GTK_TYPE_VIEWPORT);
  gboolean scrolls = viewport && gtk_viewport_get_scroll_to_focus (GTK_VIEWPORT (viewport));
  if (scrolls)
    gtk_viewport_set_scroll_to_focus (GTK_VIEWPORT (viewport), FALSE);
  gtk_widget_grab_focus (GTK_WIDGET (self));
  if (scrolls)
    gtk_viewport_set_scroll_to_focus (GTK_VIEWPORT (viewport), TRUE);
  if (n_press == 2)
    drmad_plot_view_reset_zoom (self);
}

GtkWidget *
drmad_plot_view_save_to (DrmadPlotView *self, const char *path, gboolean svg)
{
  g_return_val_if_fail (DRMAD_IS_PLOT_VIEW (self), NULL);
  int width = MAX (gtk_widget_get_width (GTK_WIDGET (self)), 400);
  int height = MAX (gtk_widget_get_height (GTK_WIDGET (self)), 250);
  g_autoptr (GError) error = NULL;
  gboolean ok = !self->plot ? (g_set_error (&error, G_IO_ERROR, G_IO_ERROR_FAILED, "there is no plot to save"), FALSE)
                : svg ? drmad_plot_write_svg (self->plot, path, width, height, &error)
                      : drmad_plot_write_png (self->plot, path, width, height, &error);
  if (ok)
    return NULL;
  /* In the window the user saved from (the main one or a comparison), not
   * only on a terminal it may not have. */
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  GtkWidget *dialog = gtk_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                              GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT, GTK_MESSAGE_ERROR,
                                              GTK_BUTTONS_CLOSE, "The plot was not saved");
  gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog), "%s", error->message);
  G_GNUC_END_IGNORE_DEPRECATIONS
  g_signal_connect (dialog, "response", G_CALLBACK (gtk_window_destroy), NULL);
  drmad_secondary_window_setup (GTK_WINDOW (dialog), FALSE);
  gtk_window_present (GTK_WINDOW (dialog));
  return dialog;
}

static void
save_response (GtkNativeDialog *native, int response, DrmadPlotView *self)
{
  if (response == GTK_RESPONSE_ACCEPT) {
    g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (native));
    g_autofree char *path = file ? g_file_get_path (file) : NULL;
    if (path)
      drmad_plot_view_save_to (self, path, GPOINTER_TO_INT (g_object_get_data (G_OBJECT (native), "drmad-svg")));
  }
  g_object_unref (native);
}

static void
save_as (DrmadPlotView *self, gboolean svg)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkFileChooserNative *native = gtk_file_chooser_native_new (svg ? "Save the plot as SVG" : "Save the plot as PNG",
                                                              GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                                              GTK_FILE_CHOOSER_ACTION_SAVE, "_Save", "_Cancel");
  g_autofree char *name = g_strdup_printf ("%s.%s", self->plot && self->plot->title ? self->plot->title : "plot",
                                           svg ? "svg" : "png");
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (native), name);
  g_object_set_data (G_OBJECT (native), "drmad-svg", GINT_TO_POINTER (svg));
  g_signal_connect_object (native, "response", G_CALLBACK (save_response), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (native));
}

static void
action_save_png (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  save_as (user_data, FALSE);
}

static void
action_save_svg (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  save_as (user_data, TRUE);
}

static void
action_reset_zoom (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  drmad_plot_view_reset_zoom (user_data);
}

static void
action_log (GSimpleAction *action, GVariant *state, gpointer user_data)
{
  g_simple_action_set_state (action, state);
  drmad_plot_view_set_log (user_data, g_variant_get_boolean (state));
}

/* Right click, or the Menu key: the plot's menu. */
static void
popup_menu (DrmadPlotView *self, double x, double y)
{
  GAction *log = g_action_map_lookup_action (G_ACTION_MAP (g_object_get_data (G_OBJECT (self), "drmad-actions")),
                                             "log");
  g_simple_action_set_state (G_SIMPLE_ACTION (log), g_variant_new_boolean (self->plot && self->plot->log_y));
  g_autoptr (GMenu) menu = g_menu_new ();
  g_menu_append (menu, "Logarithmic scale", "plot.log");
  g_menu_append (menu, "Show all (double click)", "plot.reset-zoom");
  g_menu_append (menu, "Save as PNG…", "plot.save-png");
  g_menu_append (menu, "Save as SVG…", "plot.save-svg");
  GtkWidget *popover = gtk_popover_menu_new_from_model (G_MENU_MODEL (menu));
  gtk_widget_set_parent (popover, GTK_WIDGET (self));
  gtk_popover_set_pointing_to (GTK_POPOVER (popover), &(GdkRectangle) { (int) x, (int) y, 1, 1 });
  g_signal_connect (popover, "closed", G_CALLBACK (gtk_widget_unparent), NULL);
  gtk_popover_popup (GTK_POPOVER (popover));
}

static void
on_context (GtkGestureClick *gesture, int n_press, double x, double y, DrmadPlotView *self)
{
  popup_menu (self, x, y);
}

/* The plot's menu is its child while it is open (popup_menu() unparents it
 * as it closes): a window closed with the menu open (Ctrl+W in Compare
 * runs, which the menu passes on to the window) disposed the plot with the
 * menu still in it, which GTK reports as children left at finalization,
 * and leaks. */
static void
drmad_plot_view_dispose (GObject *object)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (object)))) {
    g_signal_handlers_disconnect_by_func (child, gtk_widget_unparent, NULL);
    gtk_widget_unparent (child);
  }
  G_OBJECT_CLASS (drmad_plot_view_parent_class)->dispose (object);
}

static void
drmad_plot_view_finalize (GObject *object)
{
  DrmadPlotView *self = DRMAD_PLOT_VIEW (object);
  g_clear_pointer (&self->plot, drmad_plot_free);
  g_clear_pointer (&self->hover_text, g_free);
  g_free (self->description);
  g_free (self->placeholder_title);
  forget_rendering (self);
  G_OBJECT_CLASS (drmad_plot_view_parent_class)->finalize (object);
}

static void
drmad_plot_view_class_init (DrmadPlotViewClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = drmad_plot_view_dispose;
  G_OBJECT_CLASS (klass)->finalize = drmad_plot_view_finalize;
  /* in place of GtkDrawingArea's: the plot's image, then the read-out */
  GTK_WIDGET_CLASS (klass)->snapshot = drmad_plot_view_snapshot;
  gtk_widget_class_set_css_name (GTK_WIDGET_CLASS (klass), "plotview");
  /* a picture to a screen reader (GTK 4.8's drawing area is a bare
   * widget): it reads the label (title, read-out) and the description
   * (the newest values) */
  gtk_widget_class_set_accessible_role (GTK_WIDGET_CLASS (klass), GTK_ACCESSIBLE_ROLE_IMG);
}

static void
drmad_plot_view_init (DrmadPlotView *self)
{
  gtk_widget_set_size_request (GTK_WIDGET (self), 240, 180);   /* two columns beside the settings fit 1024 px */
  gtk_widget_set_hexpand (GTK_WIDGET (self), TRUE);
  gtk_widget_set_vexpand (GTK_WIDGET (self), TRUE);
  /* Tab reaches it (style.css draws the focus ring); the keys move a cursor. */
  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  self->point_series = -1;
  GtkEventController *keys = gtk_event_controller_key_new ();
  g_signal_connect (keys, "key-pressed", G_CALLBACK (on_key_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), keys);
  GtkEventController *focus = gtk_event_controller_focus_new ();
  g_signal_connect (focus, "leave", G_CALLBACK (on_focus_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), focus);
  update_accessible_label (self);
  update_accessible_description (self);
  GtkEventController *motion = gtk_event_controller_motion_new ();
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (motion, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);

  self->zoom_lo = self->zoom_hi = self->drag_lo = self->drag_hi = NAN;
  self->log_choice = -1;
  GtkEventController *scroll = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);
  g_signal_connect (scroll, "scroll", G_CALLBACK (on_scroll), self);
  gtk_widget_add_controller (GTK_WIDGET (self), scroll);
  GtkGesture *drag = gtk_gesture_drag_new ();
  g_signal_connect (drag, "drag-begin", G_CALLBACK (on_drag_begin), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (on_drag_update), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drag));
  GtkGesture *click = gtk_gesture_click_new ();
  g_signal_connect (click, "pressed", G_CALLBACK (on_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
  GtkGesture *context = gtk_gesture_click_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (context), GDK_BUTTON_SECONDARY);
  g_signal_connect (context, "pressed", G_CALLBACK (on_context), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (context));
  static const GActionEntry entries[] = {
    { .name = "save-png", .activate = action_save_png },
    { .name = "save-svg", .activate = action_save_svg },
    { .name = "reset-zoom", .activate = action_reset_zoom },
    { .name = "log", .state = "false", .change_state = action_log },
  };
  GSimpleActionGroup *group = g_simple_action_group_new ();
  g_action_map_add_action_entries (G_ACTION_MAP (group), entries, G_N_ELEMENTS (entries), self);
  gtk_widget_insert_action_group (GTK_WIDGET (self), "plot", G_ACTION_GROUP (group));
  g_object_set_data_full (G_OBJECT (self), "drmad-actions", group, g_object_unref);
}

GtkWidget *
drmad_plot_view_new (void)
{
  return g_object_new (DRMAD_TYPE_PLOT_VIEW, NULL);
}
