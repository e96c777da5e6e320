/* DrmadPlotView: a GtkDrawingArea that owns a DrmadPlot and draws it with
 * drmad_plot_draw(); hovering shows the nearest data point. */
#include "drmad-plot-view.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HOVER_RADIUS 12.0

struct _DrmadPlotView {
  GtkDrawingArea parent_instance;
  DrmadPlot     *plot;
  char          *hover_text;   /* NULL: no read-out */
  double         hover_x, hover_y;
};

G_DEFINE_FINAL_TYPE (DrmadPlotView, drmad_plot_view, GTK_TYPE_DRAWING_AREA)

/* 1.23e-4 rather than 0.000123 or 1.23e-04: the scale of an L2 penalty reads at a glance. */
static char *
format_value (double value)
{
  double magnitude = fabs (value);
  if (value == 0 || (magnitude >= 1e-3 && magnitude < 1e5))
    return g_strdup_printf ("%.4g", value);
  g_autofree char *text = g_strdup_printf ("%.2e", value);
  char *e = strchr (text, 'e');
  if (!e)
    return g_steal_pointer (&text);
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
  g_autofree char *y_text = series->right_axis && plot->y2_label && plot->y2_percent
                            ? g_strdup_printf ("%.4g %%", 100 * y) : format_value (y);
  return g_strdup_printf ("%s, %s %s: %s", series->name, plot->x_label, x_text, y_text);
}

static void
draw_readout (DrmadPlotView *self, cairo_t *cr, int width, int height)
{
  cairo_save (cr);
  cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, 12);
  cairo_text_extents_t extents;
  cairo_text_extents (cr, self->hover_text, &extents);
  double pad = 6, box_w = extents.x_advance + 2 * pad, box_h = 12 + 2 * pad;
  /* Below and right of the pointer, kept inside the widget. */
  double x = CLAMP (self->hover_x + 14, 2, MAX (2, width - box_w - 2));
  double y = self->hover_y + 16;
  if (y + box_h > height - 2)
    y = self->hover_y - box_h - 10;
  y = MAX (2, y);
  cairo_rectangle (cr, x, y, box_w, box_h);
  cairo_set_source_rgba (cr, 0.13, 0.13, 0.15, 0.88);
  cairo_fill (cr);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_move_to (cr, x + pad, y + pad + 10);
  cairo_show_text (cr, self->hover_text);
  cairo_arc (cr, self->hover_x, self->hover_y, 5, 0, 2 * G_PI);
  cairo_set_source_rgba (cr, 0.13, 0.13, 0.15, 0.88);
  cairo_set_line_width (cr, 1.5);
  cairo_stroke (cr);
  cairo_restore (cr);
}

static void
draw (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer user_data)
{
  DrmadPlotView *self = DRMAD_PLOT_VIEW (area);
  if (!self->plot)
    return;
  drmad_plot_draw (self->plot, cr, width, height);
  if (self->hover_text)
    draw_readout (self, cr, width, height);
}

static void
clear_hover (DrmadPlotView *self)
{
  if (!self->hover_text)
    return;
  g_clear_pointer (&self->hover_text, g_free);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

gboolean
drmad_plot_view_hover (DrmadPlotView *self, double x, double y)
{
  g_return_val_if_fail (DRMAD_IS_PLOT_VIEW (self), FALSE);
  guint series, point;
  int width = gtk_widget_get_width (GTK_WIDGET (self)), height = gtk_widget_get_height (GTK_WIDGET (self));
  if (!self->plot || width <= 0 || height <= 0
      || !drmad_plot_nearest (self->plot, width, height, x, y, HOVER_RADIUS, &series, &point)) {
    clear_hover (self);
    return FALSE;
  }
  g_free (self->hover_text);
  self->hover_text = drmad_plot_describe_point (self->plot, series, point);
  self->hover_x = x;
  self->hover_y = y;
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
  clear_hover (self);
}

void
drmad_plot_view_set_plot (DrmadPlotView *self, DrmadPlot *plot)
{
  g_return_if_fail (DRMAD_IS_PLOT_VIEW (self));
  g_clear_pointer (&self->plot, drmad_plot_free);
  self->plot = plot;
  /* The point under a resting pointer may have moved: drop the read-out
   * rather than show a stale value. */
  g_clear_pointer (&self->hover_text, g_free);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

const DrmadPlot *
drmad_plot_view_get_plot (DrmadPlotView *self)
{
  g_return_val_if_fail (DRMAD_IS_PLOT_VIEW (self), NULL);
  return self->plot;
}

static void
drmad_plot_view_finalize (GObject *object)
{
  DrmadPlotView *self = DRMAD_PLOT_VIEW (object);
  g_clear_pointer (&self->plot, drmad_plot_free);
  g_clear_pointer (&self->hover_text, g_free);
  G_OBJECT_CLASS (drmad_plot_view_parent_class)->finalize (object);
}

static void
drmad_plot_view_class_init (DrmadPlotViewClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = drmad_plot_view_finalize;
  gtk_widget_class_set_css_name (GTK_WIDGET_CLASS (klass), "plotview");
}

static void
drmad_plot_view_init (DrmadPlotView *self)
{
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (self), draw, NULL, NULL);
  gtk_widget_set_size_request (GTK_WIDGET (self), 240, 180);   /* two columns beside the settings fit 1024 px */
  gtk_widget_set_hexpand (GTK_WIDGET (self), TRUE);
  gtk_widget_set_vexpand (GTK_WIDGET (self), TRUE);
  GtkEventController *motion = gtk_event_controller_motion_new ();
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (motion, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);
}

GtkWidget *
drmad_plot_view_new (void)
{
  return g_object_new (DRMAD_TYPE_PLOT_VIEW, NULL);
}
