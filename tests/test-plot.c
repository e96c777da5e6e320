/* Plots (the run folder's l2.png lr.png loss.png): the builders' series,
 * that drawing really draws them, the atomic PNG export, and hit testing. */
#include "drmad-plot.h"
#include "drmad.h"

#include <glib/gstdio.h>
#include <math.h>
#include <png.h>
#include <string.h>

#define W 640
#define H 400

/* Okabe–Ito blue, vermillion, bluish green: the palette's first three. */
static const guint8 palette_rgb[][3] = { { 0x00, 0x72, 0xB2 }, { 0xD5, 0x5E, 0x00 }, { 0x00, 0x9E, 0x73 } };

static cairo_surface_t *
render (const DrmadPlot *plot)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, W, H);
  cairo_t *cr = cairo_create (surface);
  drmad_plot_draw (plot, cr, W, H);
  g_assert_cmpint (cairo_status (cr), ==, CAIRO_STATUS_SUCCESS);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  return surface;
}

/* RGB of an opaque pixel (ARGB32 is premultiplied; opaque needs no division). */
static void
pixel_rgb (cairo_surface_t *surface, int x, int y, guint8 rgb[3])
{
  const guint8 *row = cairo_image_surface_get_data (surface) + (gsize) y * cairo_image_surface_get_stride (surface);
  guint32 p = ((const guint32 *) row)[x];
  g_assert_cmpuint (p >> 24, ==, 255);
  rgb[0] = (p >> 16) & 255, rgb[1] = (p >> 8) & 255, rgb[2] = p & 255;
}

static gboolean
close_to (const guint8 a[3], const guint8 b[3], int tolerance)
{
  for (int c = 0; c < 3; c++)
    if (abs (a[c] - b[c]) > tolerance)
      return FALSE;
  return TRUE;
}

/* Pixels of @rgb inside the plot area (well inside the margins), and their centroid. */
static guint
count_colour (cairo_surface_t *surface, const guint8 rgb[3], double *cx, double *cy)
{
  guint n = 0;
  double sx = 0, sy = 0;
  for (int y = 40; y < H - 50; y++)
    for (int x = 80; x < W - 20; x++)
      {
        guint8 p[3];
        pixel_rgb (surface, x, y, p);
        if (close_to (p, rgb, 8))
          n++, sx += x + 0.5, sy += y + 0.5;
      }
  if (cx)
    *cx = n ? sx / n : NAN, *cy = n ? sy / n : NAN;
  return n;
}

static void
assert_corners_white (cairo_surface_t *surface)
{
  static const guint8 white[3] = { 255, 255, 255 };
  const int corners[][2] = { { 0, 0 }, { W - 1, 0 }, { 0, H - 1 }, { W - 1, H - 1 } };
  for (guint c = 0; c < G_N_ELEMENTS (corners); c++)
    {
      guint8 p[3];
      pixel_rgb (surface, corners[c][0], corners[c][1], p);
      g_assert_true (close_to (p, white, 0));
    }
}

static DrmadPlotSeries *
series_at (const DrmadPlot *plot, guint i)
{
  return g_ptr_array_index (plot->series, i);
}

static double
point_x (const DrmadPlotSeries *s, guint i)
{
  return g_array_index (s->x, double, i);
}

static double
point_y (const DrmadPlotSeries *s, guint i)
{
  return g_array_index (s->y, double, i);
}

/* 3 meta-iterations × 2 layers × 4 segments */
enum { ITERS = 3, LAYERS = 2, SEGMENTS = 4 };
static double l2_values[ITERS * LAYERS], lr_values[ITERS * LAYERS * SEGMENTS];
static double train_loss[ITERS] = { 2.3, 1.1, 0.6 }, val_loss[ITERS] = { 2.4, 1.3, 0.9 },
              val_error[ITERS] = { 0.9, 0.5, 0.3 };

static void
fill_inputs (void)
{
  for (guint i = 0; i < ITERS; i++)
    for (guint l = 0; l < LAYERS; l++)
      {
        l2_values[i * LAYERS + l] = 1e-4 * pow (10, l) * (1 + i);
        for (guint s = 0; s < SEGMENTS; s++)
          lr_values[(i * LAYERS + l) * SEGMENTS + s] = 0.01 * (l + 1) * (1 + 0.5 * i) / (1 + s);
      }
}

static void
test_builders (void)
{
  g_autoptr (DrmadPlot) l2 = drmad_plot_l2 (ITERS, LAYERS, l2_values);
  g_assert_true (l2->log_y);
  g_assert_cmpstr (l2->title, ==, "Learned L2 per layer");
  g_assert_cmpstr (l2->x_label, ==, "meta-iteration");
  g_assert_cmpuint (l2->series->len, ==, LAYERS);
  for (guint l = 0; l < LAYERS; l++)
    {
      DrmadPlotSeries *s = series_at (l2, l);
      g_autofree char *name = g_strdup_printf ("layer %u", l + 1);
      g_assert_cmpstr (s->name, ==, name);
      g_assert_true (s->in_legend && !s->steps && s->alpha == 1);
      g_assert_cmpuint (s->x->len, ==, ITERS);
      for (guint i = 0; i < ITERS; i++)
        {
          g_assert_cmpfloat (point_x (s, i), ==, i + 1);
          g_assert_cmpfloat (point_y (s, i), ==, l2_values[i * LAYERS + l]);
        }
    }

  g_autoptr (DrmadPlot) lr = drmad_plot_lr (ITERS, LAYERS, SEGMENTS, 100, lr_values);
  g_assert_true (lr->log_y);
  g_assert_cmpstr (lr->x_label, ==, "training step");
  g_assert_cmpuint (lr->series->len, ==, ITERS * LAYERS);
  double previous_alpha = 0;
  for (guint i = 0; i < ITERS; i++)
    for (guint l = 0; l < LAYERS; l++)
      {
        DrmadPlotSeries *s = series_at (lr, i * LAYERS + l);
        gboolean last = i == ITERS - 1;
        g_assert_true (s->steps);
        g_assert_cmpuint (s->color_index, ==, l);
        g_assert_cmpint (s->in_legend, ==, last);
        if (last)
          {
            g_autofree char *name = g_strdup_printf ("layer %u", l + 1);
            g_assert_cmpstr (s->name, ==, name);
            g_assert_cmpfloat (s->alpha, ==, 1);
          }
        else
          {
            g_assert_cmpfloat (s->alpha, >=, 0.1);
            g_assert_cmpfloat (s->alpha, <, 0.5);
            g_assert_cmpfloat (s->alpha, >=, previous_alpha);
            previous_alpha = s->alpha;
          }
        g_assert_cmpuint (s->x->len, ==, SEGMENTS + 1);
        for (guint k = 0; k <= SEGMENTS; k++)
          {
            g_assert_cmpfloat (point_x (s, k), ==, 25.0 * k);
            g_assert_cmpfloat (point_y (s, k), ==, lr_values[(i * LAYERS + l) * SEGMENTS + MIN (k, SEGMENTS - 1)]);
          }
      }
  g_assert_cmpfloat (series_at (lr, 0)->alpha, <, series_at (lr, LAYERS)->alpha);

  /* T = 10, S = 4: step t uses segment ⌊t·S/T⌋, so segments start at 0 3 5 8 */
  g_autoptr (DrmadPlot) uneven = drmad_plot_lr (1, 1, SEGMENTS, 10, lr_values);
  const double starts[] = { 0, 3, 5, 8, 10 };
  for (guint k = 0; k <= SEGMENTS; k++)
    g_assert_cmpfloat (point_x (series_at (uneven, 0), k), ==, starts[k]);

  g_autoptr (DrmadPlot) loss = drmad_plot_loss (ITERS, train_loss, val_loss, val_error);
  g_assert_false (loss->log_y);
  g_assert_cmpstr (loss->title, ==, "Loss");
  g_assert_cmpuint (loss->series->len, ==, 3);
  const char *names[] = { "train loss", "validation loss", "validation error" };
  const double *columns[] = { train_loss, val_loss, val_error };
  for (guint c = 0; c < 3; c++)
    {
      DrmadPlotSeries *s = series_at (loss, c);
      g_assert_cmpstr (s->name, ==, names[c]);
      g_assert_cmpuint (s->x->len, ==, ITERS);
      for (guint i = 0; i < ITERS; i++)
        g_assert_cmpfloat (point_y (s, i), ==, columns[c][i]);
    }
}

/* Each legend series leaves far more of its colour in the plot area than its
 * legend swatch alone (about 60 pixels) could. */
static void
assert_draws_series (const DrmadPlot *plot)
{
  cairo_surface_t *surface = render (plot);
  assert_corners_white (surface);
  for (guint s = 0; s < plot->series->len; s++)
    if (series_at (plot, s)->in_legend)
      g_assert_cmpuint (count_colour (surface, palette_rgb[series_at (plot, s)->color_index], NULL, NULL), >, 200);
  cairo_surface_destroy (surface);
}

static void
test_draw (void)
{
  g_autoptr (DrmadPlot) l2 = drmad_plot_l2 (ITERS, LAYERS, l2_values);
  g_autoptr (DrmadPlot) lr = drmad_plot_lr (ITERS, LAYERS, SEGMENTS, 100, lr_values);
  g_autoptr (DrmadPlot) loss = drmad_plot_loss (ITERS, train_loss, val_loss, val_error);
  assert_draws_series (l2);
  assert_draws_series (lr);
  assert_draws_series (loss);
}

static guint8 *
read_png (const char *path, png_image *image)
{
  memset (image, 0, sizeof *image);
  image->version = PNG_IMAGE_VERSION;
  g_assert_true (png_image_begin_read_from_file (image, path));
  image->format = PNG_FORMAT_RGBA;
  guint8 *pixels = g_malloc (PNG_IMAGE_SIZE (*image));
  g_assert_true (png_image_finish_read (image, NULL, pixels, 0, NULL));
  return pixels;
}

static guint
count_files (const char *dir_path)
{
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
  guint n = 0;
  while (g_dir_read_name (dir))
    n++;
  return n;
}

static void
test_write_png (void)
{
  g_autofree char *dir = g_dir_make_tmp ("drmad-plot-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "loss.png", NULL);
  g_autoptr (DrmadPlot) loss = drmad_plot_loss (ITERS, train_loss, val_loss, val_error);
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_set_contents (path, "an older file", -1, NULL));
  g_assert_true (drmad_plot_write_png (loss, path, W, H, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_files (dir), ==, 1);   /* no temporary left behind */

  png_image image;
  g_autofree guint8 *pixels = read_png (path, &image);
  g_assert_cmpuint (image.width, ==, W);
  g_assert_cmpuint (image.height, ==, H);
  cairo_surface_t *surface = render (loss);
  guint non_white = 0;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      {
        guint8 expected[3];
        const guint8 *p = pixels + ((gsize) y * W + x) * 4;
        pixel_rgb (surface, x, y, expected);
        g_assert_cmpuint (p[3], ==, 255);
        g_assert_true (close_to (p, expected, 0));
        non_white += p[0] + p[1] + p[2] < 3 * 255;
      }
  g_assert_cmpuint (non_white, >, 2000);
  cairo_surface_destroy (surface);

  /* a folder that does not exist: an error naming the path, and no file */
  g_autofree char *bad_path = g_build_filename (dir, "missing", "l2.png", NULL);
  g_assert_false (drmad_plot_write_png (loss, bad_path, W, H, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_IO);   /* the library's atomic writer */
  g_assert_nonnull (strstr (error->message, bad_path));
  g_assert_false (g_file_test (bad_path, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (count_files (dir), ==, 1);

  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* Two one-point series (one of them one value, so its y range is padded),
 * outside the legend so that the only pixels of their colours are markers. */
static void
test_nearest (void)
{
  g_autoptr (DrmadPlot) plot = drmad_plot_new ("t", "x", "y", FALSE);
  DrmadPlotSeries *a = drmad_plot_add_series (plot, "a", 0, 1);
  DrmadPlotSeries *b = drmad_plot_add_series (plot, "b", 1, 1);
  a->in_legend = b->in_legend = FALSE;
  drmad_plot_series_append (a, 1, 0.25);
  drmad_plot_series_append (b, 4, 0.75);

  cairo_surface_t *surface = render (plot);
  double ax, ay, bx, by;
  g_assert_cmpuint (count_colour (surface, palette_rgb[0], &ax, &ay), >=, 5);
  g_assert_cmpuint (count_colour (surface, palette_rgb[1], &bx, &by), >=, 5);
  cairo_surface_destroy (surface);
  g_assert_cmpfloat (ax, <, bx);   /* x grows to the right, y upwards */
  g_assert_cmpfloat (ay, >, by);

  guint series = 99, point = 99;
  g_assert_true (drmad_plot_nearest (plot, W, H, ax + 1, ay - 1, 3, &series, &point));
  g_assert_cmpuint (series, ==, 0);
  g_assert_cmpuint (point, ==, 0);
  g_assert_true (drmad_plot_nearest (plot, W, H, bx, by, 2, &series, &point));
  g_assert_cmpuint (series, ==, 1);
  g_assert_true (drmad_plot_nearest (plot, W, H, bx - 1, by + 1, 1000, &series, &point));
  g_assert_cmpuint (series, ==, 1);
  g_assert_false (drmad_plot_nearest (plot, W, H, (ax + bx) / 2, (ay + by) / 2, 10, &series, &point));
}

/* On a log axis, NaN, ±Inf and values ≤ 0 are skipped: the plot draws exactly
 * as one without them, and hit testing never returns them. */
static void
test_invalid_and_empty (void)
{
  g_autoptr (DrmadPlot) with_bad = drmad_plot_new ("t", "x", "y", TRUE);
  g_autoptr (DrmadPlot) clean = drmad_plot_new ("t", "x", "y", TRUE);
  DrmadPlotSeries *bad = drmad_plot_add_series (with_bad, "s", 0, 1);
  DrmadPlotSeries *good = drmad_plot_add_series (clean, "s", 0, 1);
  const double xs[] = { 0, 1, 2, 3, 4, 5, 6, INFINITY, 7 };
  const double ys[] = { NAN, -1, 1e-3, 1e-2, 1e-1, 0, INFINITY, 1, -INFINITY };
  for (guint i = 0; i < G_N_ELEMENTS (xs); i++)
    {
      drmad_plot_series_append (bad, xs[i], ys[i]);
      if (i >= 2 && i <= 4)
        drmad_plot_series_append (good, xs[i], ys[i]);
    }
  cairo_surface_t *s1 = render (with_bad), *s2 = render (clean);
  gsize bytes = (gsize) cairo_image_surface_get_stride (s1) * H;
  g_assert_cmpmem (cairo_image_surface_get_data (s1), bytes, cairo_image_surface_get_data (s2), bytes);
  cairo_surface_destroy (s1);
  cairo_surface_destroy (s2);
  for (int y = 0; y < H; y += 20)
    for (int x = 0; x < W; x += 20)
      {
        guint series, point;
        g_assert_true (drmad_plot_nearest (with_bad, W, H, x, y, 1e6, &series, &point));
        g_assert_cmpuint (point, >=, 2);
        g_assert_cmpuint (point, <=, 4);
      }

  /* empty, and only invalid points: axes and a note, no hit */
  g_autoptr (DrmadPlot) empty = drmad_plot_new ("Loss", "meta-iteration", "loss", FALSE);
  g_autoptr (DrmadPlot) all_bad = drmad_plot_new ("L2", "meta-iteration", "L2", TRUE);
  drmad_plot_series_append (drmad_plot_add_series (all_bad, "s", 0, 1), 1, -1);
  const DrmadPlot *plots[] = { empty, all_bad };
  for (guint p = 0; p < G_N_ELEMENTS (plots); p++)
    {
      cairo_surface_t *surface = render (plots[p]);
      assert_corners_white (surface);
      guint8 px[3];
      pixel_rgb (surface, 100, H - 48, px);   /* on the x axis */
      g_assert_cmpuint (px[0], <, 200);
      cairo_surface_destroy (surface);
      g_assert_false (drmad_plot_nearest (plots[p], W, H, W / 2, H / 2, 1e6, NULL, NULL));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  fill_inputs ();
  g_test_add_func ("/plot/builders", test_builders);
  g_test_add_func ("/plot/draw", test_draw);
  g_test_add_func ("/plot/write-png", test_write_png);
  g_test_add_func ("/plot/nearest", test_nearest);
  g_test_add_func ("/plot/invalid-and-empty", test_invalid_and_empty);
  return g_test_run ();
}
