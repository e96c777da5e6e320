/* Plots (the run folder's l2.png lr.png loss.png): the builders' series,
 * that drawing really draws them, the atomic PNG export, and hit testing. */
#include "drmad-plot.h"
#include "drmad.h"
#include "test-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <png.h>
#include <string.h>
#include <sys/resource.h>

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

/* Pixels of @rgb (within @tolerance) inside @rect, and their centroid. */
static guint
count_colour_in (cairo_surface_t *surface, const DrmadPlotRect *rect, const guint8 rgb[3], int tolerance,
                 double *cx, double *cy)
{
  guint n = 0;
  double sx = 0, sy = 0;
  int x0 = MAX (0, (int) ceil (rect->x)), x1 = MIN (W, (int) floor (rect->x + rect->width));
  int y0 = MAX (0, (int) ceil (rect->y)), y1 = MIN (H, (int) floor (rect->y + rect->height));
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++)
      {
        guint8 p[3];
        pixel_rgb (surface, x, y, p);
        if (close_to (p, rgb, tolerance))
          n++, sx += x + 0.5, sy += y + 0.5;
      }
  if (cx)
    *cx = n ? sx / n : NAN, *cy = n ? sy / n : NAN;
  return n;
}

/* The plot area less its frame line. */
static DrmadPlotRect
inner_area (const DrmadPlot *plot, int width, int height)
{
  DrmadPlotRect area;
  drmad_plot_get_layout (plot, width, height, &area, NULL);
  return (DrmadPlotRect) { area.x + 2, area.y + 2, area.width - 4, area.height - 4 };
}

/* Pixels of @rgb inside the plot area, and their centroid. */
static guint
count_colour (const DrmadPlot *plot, cairo_surface_t *surface, const guint8 rgb[3], double *cx, double *cy)
{
  DrmadPlotRect area = inner_area (plot, W, H);
  return count_colour_in (surface, &area, rgb, 8, cx, cy);
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
  /* the key: one shade per faded meta-iteration, the same alpha as its series */
  g_assert_cmpuint (lr->shades->len, ==, ITERS - 1);
  for (guint i = 0; i + 1 < ITERS; i++)
    {
      const DrmadPlotShade *shade = &g_array_index (lr->shades, DrmadPlotShade, i);
      g_assert_cmpuint (shade->meta_iteration, ==, i + 1);
      g_assert_cmpfloat (shade->alpha, ==, series_at (lr, i * LAYERS)->alpha);
    }

  /* T = 10, S = 4: step t uses segment ⌊t·S/T⌋, so segments start at 0 3 5 8 */
  g_autoptr (DrmadPlot) uneven = drmad_plot_lr (1, 1, SEGMENTS, 10, lr_values);
  const double starts[] = { 0, 3, 5, 8, 10 };
  for (guint k = 0; k <= SEGMENTS; k++)
    g_assert_cmpfloat (point_x (series_at (uneven, 0), k), ==, starts[k]);

  g_autoptr (DrmadPlot) loss = drmad_plot_loss (ITERS, train_loss, val_loss, val_error);
  g_assert_false (loss->log_y);
  g_assert_cmpstr (loss->title, ==, "Loss");
  g_assert_cmpstr (loss->y2_label, ==, "validation error (%)");
  g_assert_true (loss->y2_percent);
  g_assert_cmpuint (loss->series->len, ==, 3);
  const char *names[] = { "train loss (mean over the T steps)", "validation loss", "validation error" };
  const double *columns[] = { train_loss, val_loss, val_error };
  for (guint c = 0; c < 3; c++)
    {
      DrmadPlotSeries *s = series_at (loss, c);
      g_assert_cmpstr (s->name, ==, names[c]);
      g_assert_cmpint (s->right_axis, ==, c == 2);
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
      g_assert_cmpuint (count_colour (plot, surface, palette_rgb[series_at (plot, s)->color_index], NULL, NULL), >, 200);
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
  g_autofree char *dir = test_tmp_dir ("drmad-plot", NULL);
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
  g_assert_cmpuint (count_colour (plot, surface, palette_rgb[0], &ax, &ay), >=, 5);
  g_assert_cmpuint (count_colour (plot, surface, palette_rgb[1], &bx, &by), >=, 5);
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

  /* drmad_plot_locate is its inverse: each point where its marker is drawn */
  double px, py;
  g_assert_true (drmad_plot_locate (plot, W, H, 0, 0, &px, &py));
  g_assert_cmpfloat (fabs (px - ax), <=, 2);
  g_assert_cmpfloat (fabs (py - ay), <=, 2);
  g_assert_true (drmad_plot_nearest (plot, W, H, px, py, 0.5, &series, &point));
  g_assert_cmpuint (series, ==, 0);
  g_assert_true (drmad_plot_locate (plot, W, H, 1, 0, &px, &py));
  g_assert_cmpfloat (fabs (px - bx), <=, 2);
  g_assert_cmpfloat (fabs (py - by), <=, 2);
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
  for (guint i = 0; i < G_N_ELEMENTS (xs); i++)   /* only the points drawn have a place */
    g_assert_true (drmad_plot_locate (with_bad, W, H, 0, i, NULL, NULL) == (i >= 2 && i <= 4));

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
      DrmadPlotRect area;
      drmad_plot_get_layout (plots[p], W, H, &area, NULL);
      pixel_rgb (surface, (int) (area.x + area.width / 2), (int) round (area.y + area.height), px);   /* on the x axis */
      g_assert_cmpuint (px[0], <, 200);
      cairo_surface_destroy (surface);
      g_assert_false (drmad_plot_nearest (plots[p], W, H, W / 2, H / 2, 1e6, NULL, NULL));
    }
}

/* ---- a run with starting values, a rejected and a best meta-iteration ---- */

enum { RUN_ITERS = 8, RUN_LAYERS = 3, RUN_SEGMENTS = 4 };
static double run_l2[RUN_ITERS * RUN_LAYERS], run_lr[RUN_ITERS * RUN_LAYERS * RUN_SEGMENTS];
static double run_initial_l2[RUN_LAYERS], run_initial_lr[RUN_LAYERS * RUN_SEGMENTS];
static double run_train[RUN_ITERS], run_val[RUN_ITERS], run_error[RUN_ITERS];
static gboolean run_rejected[RUN_ITERS];

/* Meta-iteration 4 (row 3) is rejected although its validation loss is the
 * lowest of all: the best is meta-iteration 6, the lowest among the rest.
 * L2 stays within 1.0–1.1 × 10^-4, the case whose labels once read alike;
 * learning rates span 0.055–0.13. */
static DrmadPlotRunData
run_data (void)
{
  for (guint l = 0; l < RUN_LAYERS; l++)
    {
      run_initial_l2[l] = 1.0e-4 * (1 + 0.01 * l);
      for (guint s = 0; s < RUN_SEGMENTS; s++)
        run_initial_lr[l * RUN_SEGMENTS + s] = 0.1;
    }
  for (guint i = 0; i < RUN_ITERS; i++)
    {
      for (guint l = 0; l < RUN_LAYERS; l++)
        {
          run_l2[i * RUN_LAYERS + l] = run_initial_l2[l] * (1 + 0.01 * (i + 1));
          for (guint s = 0; s < RUN_SEGMENTS; s++)
            run_lr[(i * RUN_LAYERS + l) * RUN_SEGMENTS + s] = 0.1 + (0.13 - 0.1) * (i + 1) / RUN_ITERS
                                                               - (0.1 - 0.055) * s / (RUN_SEGMENTS - 1) * (l + 1) / RUN_LAYERS;
        }
      run_train[i] = 2.0 - 0.1 * i;
      run_val[i] = 2.5 - 0.1 * i;
      run_error[i] = 0.40 - 0.03 * i;
      run_rejected[i] = FALSE;
    }
  run_val[5] = 1.0;         /* meta-iteration 6: the best accepted */
  run_val[3] = 0.5;         /* meta-iteration 4: lower, but rejected */
  run_rejected[3] = TRUE;
  return (DrmadPlotRunData) {
    .n_iters = RUN_ITERS, .n_layers = RUN_LAYERS, .segments = RUN_SEGMENTS, .steps = 500,
    .initial_l2 = run_initial_l2, .l2 = run_l2, .initial_lr = run_initial_lr, .lr = run_lr,
    .train_loss = run_train, .val_loss = run_val, .val_error = run_error, .rejected = run_rejected,
  };
}

static gboolean
rects_intersect (const DrmadPlotRect *a, const DrmadPlotRect *b)
{
  return a->x < b->x + b->width && b->x < a->x + a->width && a->y < b->y + b->height && b->y < a->y + a->height;
}

static cairo_surface_t *
render_at (const DrmadPlot *plot, int width, int height)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cairo_t *cr = cairo_create (surface);
  drmad_plot_draw (plot, cr, width, height);
  g_assert_cmpint (cairo_status (cr), ==, CAIRO_STATUS_SUCCESS);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  return surface;
}

static void
pixel_at (cairo_surface_t *surface, int x, int y, guint8 rgb[3])
{
  const guint8 *row = cairo_image_surface_get_data (surface) + (gsize) y * cairo_image_surface_get_stride (surface);
  guint32 p = ((const guint32 *) row)[x];
  rgb[0] = (p >> 16) & 255, rgb[1] = (p >> 8) & 255, rgb[2] = p & 255;
}

/* Legend text is the only black ink (axis lines are dark grey, the data
 * palette colours): no dark pixel lies inside the plot area, while the legend
 * box holds its text; the legend box and the plot area are disjoint, and
 * the data's colours lie only in the area and the legend. Wide plots get a
 * column on the right, narrow ones rows below, and data filling the whole
 * area (no free corner) changes nothing. */
static void
test_legend_outside (void)
{
  DrmadPlotRunData data = run_data ();
  g_autoptr (DrmadPlot) l2 = drmad_plot_run_l2 (&data);
  g_autoptr (DrmadPlot) lr = drmad_plot_run_lr (&data);
  g_autoptr (DrmadPlot) loss = drmad_plot_run_loss (&data);
  g_autoptr (DrmadPlot) filled = drmad_plot_new ("filled", "x", "y", FALSE);
  for (guint c = 0; c < 3; c++)
    {
      g_autofree char *name = g_strdup_printf ("zigzag %u", c);
      DrmadPlotSeries *s = drmad_plot_add_series (filled, name, c, 1);
      for (guint i = 0; i <= 40; i++)
        drmad_plot_series_append (s, i, (i + c) % 2);
    }
  const DrmadPlot *plots[] = { l2, lr, loss, filled };
  const int sizes[][2] = { { 800, 500 }, { 640, 400 }, { 360, 260 }, { 260, 200 } };
  static const guint8 black[3] = { 0, 0, 0 };
  for (guint p = 0; p < G_N_ELEMENTS (plots); p++)
    for (guint z = 0; z < G_N_ELEMENTS (sizes); z++)
      {
        int w = sizes[z][0], h = sizes[z][1];
        DrmadPlotRect area, legend;
        drmad_plot_get_layout (plots[p], w, h, &area, &legend);
        g_assert_cmpfloat (legend.width, >, 0);
        g_assert_false (rects_intersect (&area, &legend));
        g_assert_cmpfloat (legend.x, >=, 0);
        g_assert_cmpfloat (legend.y, >=, 0);
        g_assert_cmpfloat (legend.x + legend.width, <=, w);
        g_assert_cmpfloat (legend.y + legend.height, <=, h);
        if (z == 0)   /* wide: a column on the right */
          g_assert_cmpfloat (legend.x, >, area.x + area.width);
        if (z == G_N_ELEMENTS (sizes) - 1)   /* narrow: rows below */
          g_assert_cmpfloat (legend.y, >, area.y + area.height);

        cairo_surface_t *surface = render_at (plots[p], w, h);
        guint dark_inside = 0, dark_in_legend = 0;
        for (int y = 0; y < h; y++)
          for (int x = 0; x < w; x++)
            {
              guint8 px[3];
              pixel_at (surface, x, y, px);
              if (!close_to (px, black, 40))
                continue;
              if (x > area.x + 1 && x < area.x + area.width - 1 && y > area.y + 1 && y < area.y + area.height - 1)
                dark_inside++;
              if (x >= legend.x && x < legend.x + legend.width && y >= legend.y && y < legend.y + legend.height)
                dark_in_legend++;
            }
        g_assert_cmpuint (dark_inside, ==, 0);
        g_assert_cmpuint (dark_in_legend, >, 50);
        cairo_surface_destroy (surface);

        /* the data's colours: inside the area (lines, markers) or the legend
         * (swatches), nowhere else */
        surface = render_at (plots[p], w, h);
        guint stray = 0, in_area = 0;
        for (int y = 0; y < h; y++)
          for (int x = 0; x < w; x++)
            {
              guint8 px[3];
              pixel_at (surface, x, y, px);
              gboolean data_colour = FALSE;
              for (guint c = 0; c < G_N_ELEMENTS (palette_rgb); c++)
                data_colour |= close_to (px, palette_rgb[c], 4);
              if (!data_colour)
                continue;
              gboolean inside_area = x >= area.x && x < area.x + area.width && y >= area.y && y < area.y + area.height;
              in_area += inside_area;
              stray += !inside_area
                       && !(x >= legend.x && x < legend.x + legend.width && y >= legend.y && y < legend.y + legend.height);
            }
        g_assert_cmpuint (stray, ==, 0);
        g_assert_cmpuint (in_area, >, 100);
        cairo_surface_destroy (surface);
      }
}

static gboolean
strv_distinct (GStrv v)
{
  for (guint i = 0; v[i]; i++)
    for (guint j = i + 1; v[j]; j++)
      if (g_str_equal (v[i], v[j]))
        return FALSE;
  return TRUE;
}

/* Parses "0.06", "1.05e-4", "10^-3" or "20%" (as 20). */
static double
label_value (const char *label)
{
  if (g_str_has_prefix (label, "10^"))
    return pow (10, g_ascii_strtod (label + 3, NULL));
  return g_ascii_strtod (label, NULL);
}

/* Labels of the y axis: at least @min_count, distinct, increasing, and all
 * within [lo, hi] with lo ≤ data ≤ hi (what is in view) */
static void
assert_y_labels (const DrmadPlot *plot, int w, int h, DrmadPlotAxis axis, guint min_count, double data_lo,
                 double data_hi, double scale)
{
  g_auto (GStrv) labels = drmad_plot_get_tick_labels (plot, w, h, axis);
  g_autofree char *joined = g_strjoinv (" | ", labels);
  g_test_message ("%s %dx%d axis %d: %s", plot->title, w, h, axis, joined);
  g_assert_cmpuint (g_strv_length (labels), >=, min_count);
  g_assert_true (strv_distinct (labels));
  double span = data_hi - data_lo, previous = -INFINITY;
  for (guint i = 0; labels[i]; i++)
    {
      double v = label_value (labels[i]) / scale;
      g_assert_cmpfloat (v, >, previous);
      /* in view: the axis pads the data by less than half its span (a log
       * axis by less than half a decade) */
      if (plot->log_y && axis == DRMAD_PLOT_AXIS_Y)
        {
          g_assert_cmpfloat (v, >=, data_lo / pow (10, 0.5));
          g_assert_cmpfloat (v, <=, data_hi * pow (10, 0.5));
        }
      else
        {
          g_assert_cmpfloat (v, >=, data_lo - span / 2);
          g_assert_cmpfloat (v, <=, data_hi + span / 2);
        }
      previous = v;
    }
}

/* Ink columns left of the plot area, over the area's rows: column 0 (the
 * edge) is blank, and the ink forms two runs (the rotated axis title, then
 * the tick labels) apart by at least 4 blank columns (gaps between the
 * characters of a label are narrower): nothing is clipped and the labels do
 * not run into the title. */
static void
assert_left_margin (const DrmadPlot *plot, int w, int h)
{
  DrmadPlotRect area;
  drmad_plot_get_layout (plot, w, h, &area, NULL);
  cairo_surface_t *surface = render_at (plot, w, h);
  static const guint8 white[3] = { 255, 255, 255 };
  int runs = 0, blank = 1000;
  for (int x = 0; x < (int) area.x - 6; x++)
    {
      gboolean ink = FALSE;
      for (int y = MAX (0, (int) area.y - 6); y < MIN (h, (int) (area.y + area.height) + 6) && !ink; y++)
        {
          guint8 px[3];
          pixel_at (surface, x, y, px);
          ink = !close_to (px, white, 30);
        }
      if (x == 0)
        g_assert_false (ink);
      if (ink && blank >= 4)
        runs++;
      blank = ink ? 0 : blank + 1;
    }
  cairo_surface_destroy (surface);
  g_assert_cmpint (runs, ==, 2);
}

static void
test_log_ticks (void)
{
  /* the learned L2 of three layers, all near 1.05e-4 (less than a decade) */
  DrmadPlotRunData data = run_data ();
  g_autoptr (DrmadPlot) l2 = drmad_plot_run_l2 (&data);
  double lo = INFINITY, hi = -INFINITY;
  for (guint i = 0; i < G_N_ELEMENTS (run_l2); i++)
    lo = MIN (lo, run_l2[i]), hi = MAX (hi, run_l2[i]);
  for (guint i = 0; i < RUN_LAYERS; i++)
    lo = MIN (lo, run_initial_l2[i]);
  const int sizes[][2] = { { 800, 500 }, { W, H }, { 300, 220 } };
  for (guint z = 0; z < G_N_ELEMENTS (sizes); z++)
    {
      assert_y_labels (l2, sizes[z][0], sizes[z][1], DRMAD_PLOT_AXIS_Y, 3, lo, hi, 1);
      assert_left_margin (l2, sizes[z][0], sizes[z][1]);
    }

  /* one value: the axis pads half a decade either way */
  g_autoptr (DrmadPlot) single = drmad_plot_new ("one", "x", "y", TRUE);
  drmad_plot_series_append (drmad_plot_add_series (single, "s", 0, 1), 1, 1.05127e-4);
  assert_y_labels (single, W, H, DRMAD_PLOT_AXIS_Y, 3, 1.05127e-4, 1.05127e-4, 1);

  /* 0.055–0.13: at least three labels, one of them below 0.10 */
  g_autoptr (DrmadPlot) lr = drmad_plot_new ("lr", "training step", "learning rate", TRUE);
  DrmadPlotSeries *s = drmad_plot_add_series (lr, "layer 1", 0, 1);
  drmad_plot_series_append (s, 0, 0.13);
  drmad_plot_series_append (s, 50, 0.055);
  drmad_plot_series_append (s, 100, 0.09);
  for (guint z = 0; z < G_N_ELEMENTS (sizes); z++)
    {
      assert_y_labels (lr, sizes[z][0], sizes[z][1], DRMAD_PLOT_AXIS_Y, 3, 0.055, 0.13, 1);
      g_auto (GStrv) labels = drmad_plot_get_tick_labels (lr, sizes[z][0], sizes[z][1], DRMAD_PLOT_AXIS_Y);
      g_assert_cmpfloat (label_value (labels[0]), <, 0.10);
    }

  /* a wide range: powers of ten, at least three */
  g_autoptr (DrmadPlot) wide = drmad_plot_new ("wide", "x", "y", TRUE);
  s = drmad_plot_add_series (wide, "s", 0, 1);
  drmad_plot_series_append (s, 0, 3e-7);
  drmad_plot_series_append (s, 1, 2e-2);
  assert_y_labels (wide, W, H, DRMAD_PLOT_AXIS_Y, 3, 3e-7, 2e-2, 1);
  g_auto (GStrv) wide_labels = drmad_plot_get_tick_labels (wide, W, H, DRMAD_PLOT_AXIS_Y);
  for (guint i = 0; wide_labels[i]; i++)
    g_assert_true (g_str_has_prefix (wide_labels[i], "10^"));

  /* the margin grows with the labels: long labels start further right than
   * short ones would need, yet the title stays clear of them */
  g_autoptr (DrmadPlot) narrow = drmad_plot_new ("narrow", "x", "L2 coefficient", TRUE);
  s = drmad_plot_add_series (narrow, "s", 0, 1);
  drmad_plot_series_append (s, 0, 1.0512e-4);
  drmad_plot_series_append (s, 1, 1.0519e-4);
  assert_y_labels (narrow, W, H, DRMAD_PLOT_AXIS_Y, 3, 1.0512e-4, 1.0519e-4, 1);
  DrmadPlotRect narrow_area, wide_area;
  drmad_plot_get_layout (narrow, W, H, &narrow_area, NULL);
  drmad_plot_get_layout (wide, W, H, &wide_area, NULL);
  g_assert_cmpfloat (narrow_area.x, >, wide_area.x);
  assert_left_margin (narrow, W, H);
}

/* The loss plot: the error on its own axis in percent on the right, whose
 * labels cover the error's range; the green error line spans most of the
 * area's height although losses are ten times larger (a shared axis would
 * squash it into the bottom tenth); hovering its points finds them. */
static void
test_error_axis (void)
{
  DrmadPlotRunData data = run_data ();
  g_autoptr (DrmadPlot) loss = drmad_plot_run_loss (&data);
  g_assert_cmpstr (series_at (loss, 0)->name, ==, "train loss (mean over 500 steps)");
  g_assert_true (series_at (loss, 2)->right_axis);
  g_assert_false (series_at (loss, 0)->right_axis || series_at (loss, 1)->right_axis);

  double err_lo = run_error[RUN_ITERS - 1], err_hi = run_error[0];
  assert_y_labels (loss, W, H, DRMAD_PLOT_AXIS_Y2, 3, err_lo, err_hi, 100);
  g_auto (GStrv) labels = drmad_plot_get_tick_labels (loss, W, H, DRMAD_PLOT_AXIS_Y2);
  for (guint i = 0; labels[i]; i++)
    g_assert_true (g_str_has_suffix (labels[i], "%"));
  g_auto (GStrv) left = drmad_plot_get_tick_labels (loss, W, H, DRMAD_PLOT_AXIS_Y);
  g_assert_cmpfloat (label_value (left[g_strv_length (left) - 1]), >=, 2.0);

  /* the error line's vertical extent */
  cairo_surface_t *surface = render (loss);
  DrmadPlotRect area = inner_area (loss, W, H);
  int top = H, bottom = -1;
  for (int y = (int) area.y; y < (int) (area.y + area.height); y++)
    for (int x = (int) area.x; x < (int) (area.x + area.width); x++)
      {
        guint8 px[3];
        pixel_rgb (surface, x, y, px);
        if (close_to (px, palette_rgb[2], 8))
          top = MIN (top, y), bottom = MAX (bottom, y);
      }
  cairo_surface_destroy (surface);
  g_assert_cmpint (bottom - top, >, area.height * 0.7);

  /* hover: the point of the first error value sits near the green top */
  gboolean found = FALSE;
  for (int x = (int) area.x; x < (int) (area.x + area.width) && !found; x++)
    {
      guint series, point;
      if (drmad_plot_nearest (loss, W, H, x, top + 1, 4, &series, &point) && series == 2)
        {
          g_assert_cmpuint (point, ==, 0);
          found = TRUE;
        }
    }
  g_assert_true (found);
}

/* The last meta-iteration rejected with no numbers (its reverse pass or its
 * training diverged: history.csv's cells are empty, NaN here): the loss plot
 * still reaches it on the x axis and shades its column, as the key says. */
static void
test_run_rejected_last (void)
{
  DrmadPlotRunData data = run_data ();
  guint last = RUN_ITERS - 1;
  run_train[last] = run_val[last] = run_error[last] = NAN;
  run_rejected[last] = TRUE;
  g_autoptr (DrmadPlot) loss = drmad_plot_run_loss (&data);
  g_assert_cmpuint (loss->rejected_x->len, ==, 2);
  g_assert_cmpfloat (g_array_index (loss->rejected_x, double, 1), ==, RUN_ITERS);
  double lo, hi;
  drmad_plot_get_x_range (loss, W, H, &lo, &hi);
  g_assert_cmpfloat (lo, <=, 1);
  g_assert_cmpfloat (hi, >=, RUN_ITERS);
  /* two shaded columns: meta-iteration 4's and the last one's */
  cairo_surface_t *surface = render (loss);
  DrmadPlotRect area = inner_area (loss, W, H);
  static const guint8 rejected_rgb[3] = { 255, 219, 219 };
  double rx, ry;
  DrmadPlotRect right = area;
  right.x = area.x + area.width * 0.8;
  right.width = area.width * 0.2;
  g_assert_cmpuint (count_colour_in (surface, &right, rejected_rgb, 3, &rx, &ry), >, 200);
  cairo_surface_destroy (surface);

  /* Every meta-iteration so, as a run whose reverse pass diverges at the
   * starting values: RUN_ITERS shaded columns, not "no data yet". */
  for (guint i = 0; i < RUN_ITERS; i++)
    {
      run_train[i] = run_val[i] = run_error[i] = NAN;
      run_rejected[i] = TRUE;
    }
  g_autoptr (DrmadPlot) none = drmad_plot_run_loss (&data);
  drmad_plot_get_x_range (none, W, H, &lo, &hi);
  g_assert_cmpfloat (lo, <=, 1);
  g_assert_cmpfloat (hi, >=, RUN_ITERS);
  surface = render (none);
  area = inner_area (none, W, H);
  g_assert_cmpuint (count_colour_in (surface, &area, rejected_rgb, 3, &rx, &ry), >, 0.5 * area.width * area.height);
  cairo_surface_destroy (surface);
}

/* Meta-iteration 0 (the starting values) in the L2 and learning-rate plots;
 * the rejected meta-iteration shaded and the best one dashed, at the pixel
 * columns where hit testing finds those meta-iterations' points; the faded
 * schedules' key draws one shade per earlier meta-iteration. */
static void
test_run_marks (void)
{
  DrmadPlotRunData data = run_data ();
  g_autoptr (DrmadPlot) l2 = drmad_plot_run_l2 (&data);
  g_autoptr (DrmadPlot) lr = drmad_plot_run_lr (&data);
  g_autoptr (DrmadPlot) loss = drmad_plot_run_loss (&data);

  g_assert_cmpuint (l2->series->len, ==, RUN_LAYERS);
  for (guint l = 0; l < RUN_LAYERS; l++)
    {
      const DrmadPlotSeries *s = series_at (l2, l);
      g_assert_cmpuint (s->x->len, ==, RUN_ITERS + 1);
      g_assert_cmpfloat (point_x (s, 0), ==, 0);
      g_assert_cmpfloat (point_y (s, 0), ==, run_initial_l2[l]);
      for (guint i = 0; i < RUN_ITERS; i++)
        {
          g_assert_cmpfloat (point_x (s, i + 1), ==, i + 1);
          g_assert_cmpfloat (point_y (s, i + 1), ==, run_l2[i * RUN_LAYERS + l]);
        }
    }

  /* best: the lowest validation loss among the accepted, computed here */
  guint best = 0;
  for (guint i = 0; i < RUN_ITERS; i++)
    if (!run_rejected[i] && (best == 0 || run_val[i] < run_val[best - 1]))
      best = i + 1;
  g_assert_cmpuint (best, ==, 6);
  /* Meta-iteration k measures the θ it starts from (drmad_meta_step: the
   * hypergradient at the current θ, then the update), which the L2 plot draws
   * at k − 1; so the best values, those the final evaluation's "best" row
   * trains with, are its point at 5, and the rejected ones its point at 3.
   * The loss plot marks the meta-iterations themselves. */
  const struct { const DrmadPlot *plot; double rejected, best; } marked[] = {
    { l2, 4 - 1, best - 1 }, { loss, 4, best },
  };
  for (guint p = 0; p < G_N_ELEMENTS (marked); p++)
    {
      g_assert_cmpuint (marked[p].plot->rejected_x->len, ==, 1);
      g_assert_cmpfloat (g_array_index (marked[p].plot->rejected_x, double, 0), ==, marked[p].rejected);
      g_assert_cmpfloat (marked[p].plot->best_x, ==, marked[p].best);
      g_assert_nonnull (strstr (marked[p].plot->best_text, "6"));
    }
  for (guint l = 0; l < RUN_LAYERS; l++)
    g_assert_cmpfloat (point_y (series_at (l2, l), (guint) l2->best_x), ==, run_l2[(best - 2) * RUN_LAYERS + l]);

  /* the shaded column and the dashed line, on a row of the area with no data */
  cairo_surface_t *surface = render (l2);
  DrmadPlotRect area = inner_area (l2, W, H);
  static const guint8 rejected_rgb[3] = { 255, 219, 219 }, best_rgb[3] = { 89, 89, 89 };
  double rx, ry, bx, by;
  g_assert_cmpuint (count_colour_in (surface, &area, rejected_rgb, 3, &rx, &ry), >, 200);
  g_assert_cmpuint (count_colour_in (surface, &area, best_rgb, 12, &bx, &by), >, 40);
  cairo_surface_destroy (surface);
  const struct { double px; double meta; } columns[] = { { rx, 4 - 1 }, { bx, best - 1 } };
  for (guint c = 0; c < G_N_ELEMENTS (columns); c++)
    {
      gboolean found = FALSE;
      for (int y = (int) area.y; y < (int) (area.y + area.height) && !found; y++)
        {
          guint series, point;
          if (drmad_plot_nearest (l2, W, H, columns[c].px, y, 2, &series, &point))
            {
              g_assert_cmpfloat (point_x (series_at (l2, series), point), ==, columns[c].meta);
              found = TRUE;
            }
        }
      g_assert_true (found);
    }

  /* learning rates: the starting schedule is meta-iteration 0, faded */
  g_assert_cmpuint (lr->series->len, ==, (RUN_ITERS + 1) * RUN_LAYERS);
  for (guint l = 0; l < RUN_LAYERS; l++)
    {
      const DrmadPlotSeries *s = series_at (lr, l);
      g_autofree char *name = g_strdup_printf ("layer %u, meta-iteration 0", l + 1);
      g_assert_cmpstr (s->name, ==, name);
      g_assert_false (s->in_legend);
      g_assert_cmpfloat (point_y (s, 0), ==, run_initial_lr[l * RUN_SEGMENTS]);
      g_assert_cmpfloat (point_x (s, RUN_SEGMENTS), ==, 500);
    }
  g_assert_cmpuint (lr->shades->len, ==, RUN_ITERS);
  for (guint i = 0; i < RUN_ITERS; i++)
    {
      const DrmadPlotShade *shade = &g_array_index (lr->shades, DrmadPlotShade, i);
      g_assert_cmpuint (shade->meta_iteration, ==, i);
      g_assert_cmpfloat (shade->alpha, ==, series_at (lr, i * RUN_LAYERS)->alpha);
      if (i > 0)
        g_assert_cmpfloat (shade->alpha, >, g_array_index (lr->shades, DrmadPlotShade, i - 1).alpha);
    }
  /* each shade's grey (0.15 at its alpha over white) is in the legend */
  DrmadPlotRect legend;
  drmad_plot_get_layout (lr, W, H, NULL, &legend);
  surface = render (lr);
  for (guint i = 0; i < RUN_ITERS; i++)
    {
      double alpha = g_array_index (lr->shades, DrmadPlotShade, i).alpha;
      guint8 grey = (guint8) round (255 * (1 - alpha) + 0.15 * 255 * alpha);
      const guint8 rgb[3] = { grey, grey, grey };
      g_assert_cmpuint (count_colour_in (surface, &legend, rgb, 2, NULL, NULL), >=, 4);
    }
  cairo_surface_destroy (surface);
}

/* Zoom (the x range shown) and SVG: a zoomed plot shows that range and fits
 * its y axis to the points in it; the SVG export is a vector drawing of the
 * same plot, written atomically. */
/* A title wider than the plot is drawn smaller, inside the drawing: its ink
 * (the only black above the plot area) stays off the outer 4 pixels on
 * either side, and there is some. */
static void
test_long_title (void)
{
  g_autoptr (DrmadPlot) plot = drmad_plot_new ("Learning-rate schedule (last, mean over layers)", "training step",
                                               "learning rate", TRUE);
  DrmadPlotSeries *series = drmad_plot_add_series (plot, "run", 0, 1);
  for (int i = 0; i < 5; i++)
    drmad_plot_series_append (series, 50 * i, 0.16 / (1 + i));
  const int width = 300, height = 300;
  DrmadPlotRect area;
  drmad_plot_get_layout (plot, width, height, &area, NULL);
  cairo_surface_t *surface = render_at (plot, width, height);
  guint ink = 0, ink_at_edges = 0;
  for (int y = 0; y < (int) area.y - 2; y++)
    for (int x = 0; x < width; x++) {
      guint8 rgb[3];
      pixel_at (surface, x, y, rgb);
      if (rgb[0] < 80 && rgb[1] < 80 && rgb[2] < 80) {
        ink++;
        ink_at_edges += x < 4 || x >= width - 4;
      }
    }
  cairo_surface_destroy (surface);
  g_assert_cmpuint (ink, >, 100);
  g_assert_cmpuint (ink_at_edges, ==, 0);
}

static void
test_zoom_and_svg (void)
{
  g_autoptr (DrmadPlot) plot = drmad_plot_new ("zoom", "meta-iteration", "loss", FALSE);
  DrmadPlotSeries *series = drmad_plot_add_series (plot, "loss", 0, 1);
  for (guint i = 0; i <= 20; i++)
    drmad_plot_series_append (series, i, i == 2 ? 100.0 : 1.0 + 0.01 * i);   /* a spike at 2 */
  double lo, hi;
  drmad_plot_get_x_range (plot, 800, 500, &lo, &hi);
  g_assert_cmpfloat (lo, <=, 0);
  g_assert_cmpfloat (hi, >=, 20);
  g_auto (GStrv) all_y = drmad_plot_get_tick_labels (plot, 800, 500, DRMAD_PLOT_AXIS_Y);
  g_assert_cmpfloat (g_ascii_strtod (all_y[g_strv_length (all_y) - 1], NULL), >=, 50);   /* the spike is in view */
  plot->view_x_lo = 10;
  plot->view_x_hi = 20;
  drmad_plot_get_x_range (plot, 800, 500, &lo, &hi);
  g_assert_cmpfloat (lo, ==, 10);
  g_assert_cmpfloat (hi, ==, 20);
  g_auto (GStrv) zoomed_y = drmad_plot_get_tick_labels (plot, 800, 500, DRMAD_PLOT_AXIS_Y);
  g_assert_cmpfloat (g_ascii_strtod (zoomed_y[g_strv_length (zoomed_y) - 1], NULL), <, 2);   /* fitted to 1.1–1.2 */

  g_autofree char *dir = test_tmp_dir ("drmad-svg", NULL);
  g_autofree char *path = g_build_filename (dir, "zoom.svg", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (drmad_plot_write_svg (plot, path, 640, 400, &error));
  g_assert_no_error (error);
  g_autofree char *svg = NULL;
  g_assert_true (g_file_get_contents (path, &svg, NULL, NULL));
  g_assert_true (g_str_has_prefix (svg, "<?xml"));
  g_assert_nonnull (strstr (svg, "<svg"));
  g_assert_nonnull (strstr (svg, "width=\"640\""));
  g_assert_nonnull (strstr (svg, "<path"));
  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* Fraction of the columns from @x0 to @x1 whose pixels at rows @y - 1 … @y
 * + 1 hold @rgb (within 40): 1 for a solid line along row @y. */
static double
row_coverage (cairo_surface_t *surface, int x0, int x1, int y, const guint8 rgb[3])
{
  guint hit = 0;
  for (int x = x0; x < x1; x++)
    {
      gboolean any = FALSE;
      for (int dy = -1; dy <= 1 && !any; dy++)
        {
          guint8 p[3];
          pixel_at (surface, x, y + dy, p);
          any = close_to (p, rgb, 40);
        }
      hit += any;
    }
  return (double) hit / MAX (x1 - x0, 1);
}

/* Twelve hidden layers: the palette has eight colours, so layer 9 has layer
 * 1's blue; it must not look the same (a dashed line where layer 1's is
 * solid), in the plot area and in the legend's swatches. */
static void
test_many_series_distinct (void)
{
  g_autoptr (DrmadPlot) plot = drmad_plot_new ("13 layers", "meta-iteration", "L2", FALSE);
  for (guint l = 0; l < 13; l++)
    {
      g_autofree char *name = g_strdup_printf ("layer %u", l + 1);
      DrmadPlotSeries *s = drmad_plot_add_series (plot, name, l, 1);
      for (guint i = 0; i < 50; i++)   /* more than get markers: lines alone */
        drmad_plot_series_append (s, i, l + 1);
    }
  cairo_surface_t *surface = render_at (plot, 800, 500);
  double x0, x1, y1, y9, unused;
  g_assert_true (drmad_plot_locate (plot, 800, 500, 0, 5, &x0, &y1));
  g_assert_true (drmad_plot_locate (plot, 800, 500, 0, 45, &x1, &unused));
  g_assert_true (drmad_plot_locate (plot, 800, 500, 8, 5, &unused, &y9));
  double solid = row_coverage (surface, (int) x0, (int) x1, (int) round (y1), palette_rgb[0]);
  double ninth = row_coverage (surface, (int) x0, (int) x1, (int) round (y9), palette_rgb[0]);
  g_test_message ("blue coverage along layer 1: %.2f, along layer 9: %.2f", solid, ninth);
  g_assert_cmpfloat (solid, >, 0.95);
  g_assert_cmpfloat (ninth, >, 0.3);    /* drawn, in the same blue */
  g_assert_cmpfloat (ninth, <, 0.85);   /* with gaps */

  /* the legend: each swatch is the 22 pixels left of its text; layer 1's
   * and layer 9's rows are found by their blue */
  DrmadPlotRect legend;
  drmad_plot_get_layout (plot, 800, 500, NULL, &legend);
  g_assert_cmpfloat (legend.width, >, 0);
  double swatch_cover[2] = { -1, -1 };
  guint found = 0;
  for (int y = (int) legend.y; y < (int) (legend.y + legend.height) && found < 2; y++)
    {
      double c = row_coverage (surface, (int) legend.x, (int) legend.x + 22, y, palette_rgb[0]);
      if (c > 0.3)
        {
          swatch_cover[found++] = c;
          y += 8;   /* the next row */
        }
    }
  g_test_message ("legend swatches: %.2f, %.2f", swatch_cover[0], swatch_cover[1]);
  g_assert_cmpuint (found, ==, 2);
  g_assert_cmpfloat (swatch_cover[0], >, 0.95);
  g_assert_cmpfloat (swatch_cover[1], <, 0.9);
  cairo_surface_destroy (surface);
}

/* The labels of @axis as numbers (percent signs read as numbers too). */
static GArray *
label_values (const DrmadPlot *plot, DrmadPlotAxis axis)
{
  g_auto (GStrv) labels = drmad_plot_get_tick_labels (plot, 800, 500, axis);
  g_autofree char *joined = g_strjoinv (" | ", labels);
  g_test_message ("%s, axis %d: %s", plot->title, axis, joined);
  GArray *values = g_array_new (FALSE, FALSE, sizeof (double));
  for (guint i = 0; labels[i]; i++)
    {
      double v = label_value (labels[i]);
      g_array_append_val (values, v);
    }
  g_assert_cmpuint (values->len, >=, 2);
  return values;
}

/* A bounded quantity keeps its labels within its bounds when its data do:
 * a flat validation error of 98 % (a net that learns nothing) labels no
 * 102–106 %, a flat 0 % no −100 %, a cosine of 1 (an exact reverse pass,
 * measured against itself) no 1.10; an unbounded axis pads as before. */
static void
test_bounded_axes (void)
{
  const double train[3] = { 2.58, 2.47, 2.41 }, val[3] = { 2.81, 2.63, 2.52 };
  const double high[3] = { 0.98, 0.98, 0.98 }, zero[3] = { 0, 0, 0 };
  g_autoptr (DrmadPlot) at_98 = drmad_plot_loss (3, train, val, high);
  g_autoptr (GArray) v98 = label_values (at_98, DRMAD_PLOT_AXIS_Y2);
  g_assert_cmpfloat (g_array_index (v98, double, v98->len - 1), ==, 100);   /* 100 % labelled, nothing above */
  g_assert_cmpfloat (g_array_index (v98, double, 0), <, 98);
  g_autoptr (DrmadPlot) at_0 = drmad_plot_loss (3, train, val, zero);
  g_autoptr (GArray) v0 = label_values (at_0, DRMAD_PLOT_AXIS_Y2);
  g_assert_cmpfloat (g_array_index (v0, double, 0), ==, 0);
  g_assert_cmpfloat (g_array_index (v0, double, v0->len - 1), <=, 100);
  /* the flat 0 % line is drawn inside the area, off its bottom edge */
  DrmadPlotRect area;
  double px, py;
  drmad_plot_get_layout (at_0, 800, 500, &area, NULL);
  g_assert_true (drmad_plot_locate (at_0, 800, 500, 2, 1, &px, &py));
  g_assert_cmpfloat (py, <, area.y + area.height);
  g_assert_cmpfloat (py, >, area.y + area.height - 0.1 * area.height);

  g_autoptr (DrmadPlot) cosine = drmad_plot_new ("cosine", "meta-iteration", "cosine", FALSE);
  cosine->y_min = -1, cosine->y_max = 1;
  DrmadPlotSeries *s = drmad_plot_add_series (cosine, "cosine", 0, 1);
  drmad_plot_series_append (s, 1, 1);
  drmad_plot_series_append (s, 4, 1.0000000000000002);   /* rounding */
  drmad_plot_series_append (s, 7, 0.99999999999999978);
  g_autoptr (GArray) vc = label_values (cosine, DRMAD_PLOT_AXIS_Y);
  g_assert_cmpfloat (g_array_index (vc, double, vc->len - 1), ==, 1);
  g_assert_true (drmad_plot_locate (cosine, 800, 500, 0, 1, &px, &py));
  drmad_plot_get_layout (cosine, 800, 500, &area, NULL);
  g_assert_cmpfloat (py, >, area.y);

  g_autoptr (DrmadPlot) free_axis = drmad_plot_new ("unbounded", "meta-iteration", "loss", FALSE);
  s = drmad_plot_add_series (free_axis, "loss", 0, 1);
  drmad_plot_series_append (s, 1, 1);
  drmad_plot_series_append (s, 2, 1);
  g_autoptr (GArray) vf = label_values (free_axis, DRMAD_PLOT_AXIS_Y);
  g_assert_cmpfloat (g_array_index (vf, double, vf->len - 1), >, 1);
}

/* The log axes of the L2 and learning-rate plots are bounded as the linear
 * ones: an L2 or a learning rate is at most 100 (drmad-hyper.h), so a flat
 * L2 of 100 (a run that pushed every layer to the bound) labels no 200,
 * nor does a schedule flat at 100; 100 itself is labelled, and the line
 * stays inside the area. A log axis of an unbounded quantity pads half a
 * decade as before. */
static void
test_bounded_log_axes (void)
{
  const double top[4] = { 100, 100, 100, 100 };
  DrmadPlotRunData data = { .n_iters = 3, .n_layers = 1, .segments = 1, .steps = 10,
                            .initial_l2 = top, .l2 = top + 1, .initial_lr = top, .lr = top + 1 };
  g_autoptr (DrmadPlot) l2 = drmad_plot_run_l2 (&data);
  g_autoptr (DrmadPlot) lr = drmad_plot_run_lr (&data);
  DrmadPlot *plots[2] = { l2, lr };
  for (guint k = 0; k < 2; k++)
    {
      g_autoptr (GArray) v = label_values (plots[k], DRMAD_PLOT_AXIS_Y);
      for (guint i = 0; i < v->len; i++)
        g_assert_cmpfloat (g_array_index (v, double, i), <=, 100);
      g_assert_cmpfloat (g_array_index (v, double, v->len - 1), ==, 100);
      DrmadPlotRect area;
      double px, py;
      drmad_plot_get_layout (plots[k], 800, 500, &area, NULL);
      g_assert_true (drmad_plot_locate (plots[k], 800, 500, k == 0 ? 0 : 1, 1, &px, &py));
      g_assert_cmpfloat (py, >, area.y);
    }
  g_autoptr (DrmadPlot) free_axis = drmad_plot_new ("unbounded", "meta-iteration", "norm", TRUE);
  DrmadPlotSeries *s = drmad_plot_add_series (free_axis, "norm", 0, 1);
  drmad_plot_series_append (s, 1, 100);
  drmad_plot_series_append (s, 2, 100);
  g_autoptr (GArray) vf = label_values (free_axis, DRMAD_PLOT_AXIS_Y);
  g_assert_cmpfloat (g_array_index (vf, double, vf->len - 1), >, 100);
}

/* A long run whose diverged meta-iterations recorded NaN: a point between
 * two NaNs has no line to it, and a series too long for markers on every
 * point must still show it (a marker), in the PNG as in the window. */
static void
test_isolated_points (void)
{
  g_autoptr (DrmadPlot) plot = drmad_plot_new ("Loss", "meta-iteration", "loss", FALSE);
  DrmadPlotSeries *s = drmad_plot_add_series (plot, "validation loss", 0, 1);
  for (guint i = 0; i < 60; i++)
    drmad_plot_series_append (s, i + 1, i < 10 ? 2.0 - 0.05 * i : i == 30 ? 1.2 : NAN);
  cairo_surface_t *surface = render (plot);
  double px, py;
  g_assert_true (drmad_plot_locate (plot, W, H, 0, 30, &px, &py));
  DrmadPlotRect around = { px - 5, py - 5, 10, 10 };
  guint n = count_colour_in (surface, &around, palette_rgb[0], 8, NULL, NULL);
  g_test_message ("blue pixels around the lone point at (%.0f, %.0f): %u", px, py, n);
  g_assert_cmpuint (n, >=, 10);
  /* the connected points keep no markers: the line is as before */
  g_assert_true (drmad_plot_locate (plot, W, H, 0, 5, &px, &py));
  DrmadPlotRect above = { px - 1, py - 4, 3, 2 };
  g_assert_cmpuint (count_colour_in (surface, &above, palette_rgb[0], 8, NULL, NULL), ==, 0);
  cairo_surface_destroy (surface);
}

/* A legend entry wider than the drawing (the comparison names each run by
 * its settings) ends in "…" within the drawing: the columns at its edges
 * stay blank over the legend's rows, and the text still reaches near the
 * right edge (cut, not dropped). */
static void
test_long_legend_entry (void)
{
  g_autoptr (DrmadPlot) plot = drmad_plot_new ("Validation loss", "meta-iteration", "validation loss", FALSE);
  const char *names[] = { "short: layers=784,10",
                          "deep: layers=784,8,8,8,8,8,8,8,8,8,8,8,8,10, iters=10, learn=l2,lr,momentum,init, "
                          "segments=4, init-l2=1e-4, init-lr=0.1, +5 more settings that differ" };
  for (guint k = 0; k < G_N_ELEMENTS (names); k++)
    {
      DrmadPlotSeries *s = drmad_plot_add_series (plot, names[k], k, 1);
      for (guint i = 1; i <= 5; i++)
        drmad_plot_series_append (s, i, 2.0 / (i + k));
    }
  const int widths[] = { 420, W };
  for (guint z = 0; z < G_N_ELEMENTS (widths); z++)
    {
      int w = widths[z];
      DrmadPlotRect legend;
      drmad_plot_get_layout (plot, w, H, NULL, &legend);
      g_assert_cmpfloat (legend.x, >=, 0);
      g_assert_cmpfloat (legend.x + legend.width, <=, w);
      cairo_surface_t *surface = render_at (plot, w, H);
      static const guint8 white[3] = { 255, 255, 255 };
      int rightmost = -1;
      for (int y = (int) legend.y; y < (int) (legend.y + legend.height) && y < H; y++)
        for (int x = 0; x < w; x++)
          {
            guint8 p[3];
            pixel_at (surface, x, y, p);
            if (close_to (p, white, 30))
              continue;
            g_assert_cmpint (x, >=, 4);
            g_assert_cmpint (x, <, w - 4);
            rightmost = MAX (rightmost, x);
          }
      g_test_message ("width %d: legend ink up to column %d", w, rightmost);
      g_assert_cmpint (rightmost, >, w - 60);
      cairo_surface_destroy (surface);
    }
}

/* Pixels of the rejected columns' pale red over the area's height at data x @x. */
static guint
rejected_pixels_at (const DrmadPlot *plot, cairo_surface_t *surface, double x)
{
  static const guint8 rejected_rgb[3] = { 255, 219, 219 };
  DrmadPlotRect area = inner_area (plot, W, H);
  double lo, hi;
  drmad_plot_get_x_range (plot, W, H, &lo, &hi);
  DrmadPlotRect column = { area.x + (x - lo) / (hi - lo) * area.width - 1, area.y, 3, area.height };
  return count_colour_in (surface, &column, rejected_rgb, 3, NULL, NULL);
}

/* A diverged training records NaN losses and is rejected: a rejected
 * meta-iteration with no point, first or last, is still in view with its
 * column (the loss plot of a run whose last meta-iterations diverged showed
 * none of them, and "rejected" in the legend over nothing). */
static void
test_rejected_without_points (void)
{
  const double train[4] = { 1.1, NAN, NAN, NAN }, val[4] = { 1.4, NAN, NAN, NAN }, err[4] = { 0.2, NAN, NAN, NAN };
  const gboolean last[4] = { FALSE, TRUE, TRUE, TRUE };
  DrmadPlotRunData data = { .n_iters = 4, .train_loss = train, .val_loss = val, .val_error = err, .rejected = last };
  g_autoptr (DrmadPlot) loss = drmad_plot_run_loss (&data);
  double lo, hi;
  drmad_plot_get_x_range (loss, W, H, &lo, &hi);
  g_test_message ("rejected 2–4 of 4, with NaN losses: x from %g to %g", lo, hi);
  g_assert_cmpfloat (lo, <=, 1);
  g_assert_cmpfloat (hi, >=, 4);
  cairo_surface_t *surface = render (loss);
  for (guint k = 2; k <= 4; k++)
    g_assert_cmpuint (rejected_pixels_at (loss, surface, k), >, 100);
  cairo_surface_destroy (surface);

  const double train1[3] = { NAN, 1.2, 1.0 }, val1[3] = { NAN, 1.5, 1.3 }, err1[3] = { NAN, 0.3, 0.25 };
  const gboolean first[3] = { TRUE, FALSE, FALSE };
  DrmadPlotRunData data1 = { .n_iters = 3, .train_loss = train1, .val_loss = val1, .val_error = err1,
                             .rejected = first };
  g_autoptr (DrmadPlot) loss1 = drmad_plot_run_loss (&data1);
  drmad_plot_get_x_range (loss1, W, H, &lo, &hi);
  g_test_message ("rejected 1 of 3, with NaN losses: x from %g to %g", lo, hi);
  g_assert_cmpfloat (lo, <=, 1);
  surface = render (loss1);
  g_assert_cmpuint (rejected_pixels_at (loss1, surface, 1), >, 100);
  cairo_surface_destroy (surface);
}

/* Every meta-iteration rejected with NaN losses (a reverse pass unstable
 * from the start): no point at all, but the columns, and the legend that
 * says what they are, are drawn; the plot does not read "no data yet" as
 * if the run had not begun (its x axis spanned 0 to 1, no column). */
static void
test_all_rejected (void)
{
  const double none[2] = { NAN, NAN };
  const gboolean all[2] = { TRUE, TRUE };
  DrmadPlotRunData data = { .n_iters = 2, .train_loss = none, .val_loss = none, .val_error = none, .rejected = all };
  g_autoptr (DrmadPlot) loss = drmad_plot_run_loss (&data);
  double lo, hi;
  drmad_plot_get_x_range (loss, W, H, &lo, &hi);
  g_test_message ("all rejected: x from %g to %g", lo, hi);
  g_assert_cmpfloat (lo, <=, 1);
  g_assert_cmpfloat (hi, >=, 2);
  DrmadPlotRect legend;
  drmad_plot_get_layout (loss, W, H, NULL, &legend);
  g_assert_cmpfloat (legend.width, >, 0);
  cairo_surface_t *surface = render (loss);
  g_assert_cmpuint (rejected_pixels_at (loss, surface, 1), >, 100);
  g_assert_cmpuint (rejected_pixels_at (loss, surface, 2), >, 100);
  cairo_surface_destroy (surface);
  /* no data and no marks: as before, nothing in view and no legend */
  DrmadPlotRunData nothing = { .n_iters = 2, .train_loss = none, .val_loss = none, .val_error = none };
  g_autoptr (DrmadPlot) empty = drmad_plot_run_loss (&nothing);
  drmad_plot_get_layout (empty, W, H, NULL, &legend);
  g_assert_cmpfloat (legend.width, ==, 0);
}

/* Whole numbers only on the x axis of a plot whose x values are whole
 * numbers or unknown: an empty plot (no meta-iteration yet) is labelled 0
 * and 1, not "0.1 meta-iteration"; a zoom on a run whose meta-iterations
 * were all rejected without numbers labels 2 and 3, as a zoom on points
 * does, not 1.6 … 3.4. */
static void
test_whole_x_labels (void)
{
  g_autoptr (DrmadPlot) empty = drmad_plot_new ("Loss", "meta-iteration", "loss", FALSE);
  g_auto (GStrv) labels = drmad_plot_get_tick_labels (empty, 800, 500, DRMAD_PLOT_AXIS_X);
  g_autofree char *joined = g_strjoinv (" | ", labels);
  g_test_message ("empty: %s", joined);
  g_assert_cmpstr (joined, ==, "0 | 1");

  const double none[3] = { NAN, NAN, NAN };
  const gboolean all[3] = { TRUE, TRUE, TRUE };
  DrmadPlotRunData data = { .n_iters = 3, .train_loss = none, .val_loss = none, .val_error = none, .rejected = all };
  g_autoptr (DrmadPlot) rejected = drmad_plot_run_loss (&data);
  /* the same zoom on points at 1, 2, 3 for reference */
  const double values[3] = { 1.5, 1.4, 1.3 };
  g_autoptr (DrmadPlot) points = drmad_plot_loss (3, values, values, NULL);
  DrmadPlot *plots[2] = { rejected, points };
  for (guint k = 0; k < 2; k++)
    {
      plots[k]->view_x_lo = 1.5, plots[k]->view_x_hi = 3.5;
      g_auto (GStrv) zoomed = drmad_plot_get_tick_labels (plots[k], 800, 500, DRMAD_PLOT_AXIS_X);
      g_autofree char *text = g_strjoinv (" | ", zoomed);
      g_test_message ("%s, zoomed on 1.5 to 3.5: %s", k == 0 ? "all rejected" : "points", text);
      g_assert_cmpstr (text, ==, "2 | 3");
    }
}

/* Values that differ in their twelfth digit (a momentum, a learning rate
 * that barely moved) are a flat line to the eye: the axis labels them as
 * one, not as "0.900000000000 | 0.900000000000 | 0.900000000001". Labels
 * stay distinct from there to ranges the labels' digits can resolve. */
static void
test_nearly_flat (void)
{
  const struct { gboolean log; double a, b; } cases[] = {
    { FALSE, 0.9, 0.9 + 1e-12 }, { FALSE, 1 - 1e-12, 1 - 2e-12 }, { TRUE, 1, 1 + 1e-12 },
    { TRUE, 0.1, 0.1 * (1 + 1e-11) }, { TRUE, 1e-12, 1e-12 * (1 + 1e-11) }, { FALSE, 0.9, 0.9 + 2e-9 },
    { FALSE, 5e-4, 5e-4 * (1 + 1e-8) }, { TRUE, 1, 1 + 1e-8 },
  };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr (DrmadPlot) plot = drmad_plot_new ("nearly flat", "training step", "y", cases[c].log);
      DrmadPlotSeries *s = drmad_plot_add_series (plot, "s", 0, 1);
      drmad_plot_series_append (s, 0, cases[c].a);
      drmad_plot_series_append (s, 10, cases[c].b);
      const int sizes[][2] = { { 800, 500 }, { 420, 260 } };
      for (guint z = 0; z < G_N_ELEMENTS (sizes); z++)
        {
          g_auto (GStrv) labels = drmad_plot_get_tick_labels (plot, sizes[z][0], sizes[z][1], DRMAD_PLOT_AXIS_Y);
          g_autofree char *joined = g_strjoinv (" | ", labels);
          g_test_message ("%.17g, %.17g (%s) at %dx%d: %s", cases[c].a, cases[c].b, cases[c].log ? "log" : "linear",
                          sizes[z][0], sizes[z][1], joined);
          g_assert_cmpuint (g_strv_length (labels), >=, 2);
          g_assert_true (strv_distinct (labels));
          for (guint i = 1; labels[i]; i++)
            g_assert_cmpfloat (label_value (labels[i]), >, label_value (labels[i - 1]));
        }
    }
}

/* Runs of dark columns (text) in the legend's last row, the key of the
 * faded schedules: "0 ▮▮ 2" has two, its numbers (the bar is grey). */
static guint
shade_key_numbers (const DrmadPlot *plot)
{
  DrmadPlotRect legend;
  drmad_plot_get_layout (plot, 800, 500, NULL, &legend);
  cairo_surface_t *surface = render_at (plot, 800, 500);
  int centre = (int) (legend.y + legend.height - 17 / 2.0);
  guint runs = 0;
  gboolean previous = FALSE;
  for (int x = (int) legend.x - 2; x < (int) (legend.x + legend.width) + 2; x++)
    {
      gboolean dark = FALSE;
      for (int y = centre - 6; y <= centre + 6 && !dark; y++)
        {
          guint8 p[3];
          pixel_at (surface, x, y, p);
          dark = p[0] < 100 && p[1] < 100 && p[2] < 100;
        }
      runs += dark && !previous;
      previous = dark;
    }
  cairo_surface_destroy (surface);
  return runs;
}

/* A run of one meta-iteration has one faded schedule, the starting one:
 * its key reads "0 ▮", not "from 0 to 0"; with several, first and last. */
static void
test_single_shade_key (void)
{
  const double initial[2] = { 0.1, 0.1 }, lr[3 * 2] = { 0.09, 0.08, 0.08, 0.07, 0.07, 0.06 };
  DrmadPlotRunData one = { .n_iters = 1, .n_layers = 1, .segments = 2, .steps = 20, .initial_lr = initial, .lr = lr };
  g_autoptr (DrmadPlot) single = drmad_plot_run_lr (&one);
  g_assert_cmpuint (single->shades->len, ==, 1);
  g_assert_cmpuint (shade_key_numbers (single), ==, 1);
  DrmadPlotRunData three = one;
  three.n_iters = 3;
  g_autoptr (DrmadPlot) several = drmad_plot_run_lr (&three);
  g_assert_cmpuint (several->shades->len, ==, 3);
  g_assert_cmpuint (shade_key_numbers (several), ==, 2);
}

/* Thirteen layers' schedules and the key of the faded ones, in a short
 * plot (a small window): the legend's column would run off the bottom,
 * cutting layer 13 and the key; it goes below the axes in rows instead,
 * inside the drawing and clear of the plot area. */
static void
test_tall_legend (void)
{
  enum { L = 13, S = 4, N = 2 };
  double initial[L * S], lr[N * L * S];
  for (guint i = 0; i < L * S; i++)
    initial[i] = 0.1;
  for (guint i = 0; i < N * L * S; i++)
    lr[i] = 0.05 + 0.001 * (i % 37);
  DrmadPlotRunData data = { .n_iters = N, .n_layers = L, .segments = S, .steps = 10, .initial_lr = initial, .lr = lr };
  g_autoptr (DrmadPlot) plot = drmad_plot_run_lr (&data);
  const int sizes[][2] = { { 600, 250 }, { 800, 300 }, { 800, 500 } };
  for (guint z = 0; z < G_N_ELEMENTS (sizes); z++)
    {
      int w = sizes[z][0], h = sizes[z][1];
      DrmadPlotRect area, legend;
      drmad_plot_get_layout (plot, w, h, &area, &legend);
      g_test_message ("%dx%d: area %.0f,%.0f %.0fx%.0f, legend %.0f,%.0f %.0fx%.0f", w, h, area.x, area.y, area.width,
                      area.height, legend.x, legend.y, legend.width, legend.height);
      g_assert_cmpfloat (legend.y, >=, 0);
      g_assert_cmpfloat (legend.y + legend.height, <=, h);
      g_assert_cmpfloat (legend.x + legend.width, <=, w);
      gboolean apart = legend.x >= area.x + area.width || legend.y >= area.y + area.height;
      g_assert_true (apart);
      g_assert_cmpfloat (area.height, >=, 60);
    }
}

/* Deterministic noise in [0, 1). */
static double
next_noise (guint64 *state)
{
  *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (*state >> 11) * (1.0 / 9007199254740992.0);
}

/* @plot drawn as drmad_plot_draw() draws it, but its only series, of alpha
 * 0 there, drawn here through every one of its points, undecimated: the
 * reference for the decimated path. */
static cairo_surface_t *
render_undecimated (DrmadPlot *plot)
{
  DrmadPlotSeries *series = g_ptr_array_index (plot->series, 0);
  double alpha = series->alpha;
  series->alpha = 0;   /* a stroke of alpha 0 leaves every pixel as it was */
  cairo_surface_t *surface = render (plot);
  series->alpha = alpha;
  DrmadPlotRect area;
  drmad_plot_get_layout (plot, W, H, &area, NULL);
  cairo_t *cr = cairo_create (surface);
  cairo_rectangle (cr, area.x, area.y, area.width, area.height);
  cairo_clip (cr);
  cairo_set_source_rgba (cr, palette_rgb[0][0] / 255.0, palette_rgb[0][1] / 255.0, palette_rgb[0][2] / 255.0, 1);
  cairo_set_line_width (cr, 2);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  double prev_y = 0;
  for (guint i = 0; i < series->x->len; i++) {
    double px, py;
    g_assert_true (drmad_plot_locate (plot, W, H, 0, i, &px, &py));
    if (i == 0)
      cairo_move_to (cr, px, py);
    else {
      if (series->steps)
        cairo_line_to (cr, px, prev_y);
      cairo_line_to (cr, px, py);
    }
    prev_y = py;
  }
  cairo_stroke (cr);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  return surface;
}

/* Pixels whose colour differs by more than @tolerance in a channel. */
static guint
count_different (cairo_surface_t *a, cairo_surface_t *b, int tolerance)
{
  guint n = 0;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      guint8 p[3], q[3];
      pixel_rgb (a, x, y, p);
      pixel_rgb (b, x, y, q);
      n += !close_to (p, q, tolerance);
    }
  return n;
}

/* A line of a few points per pixel column (every realistic plot) draws the
 * very pixels it drew through every point; one of many points per column
 * nearly so. */
static void
test_decimation_unchanged (void)
{
  guint64 state = 3;
  const struct { guint n; gboolean steps; double zoom; } cases[] = {
    { 1500, FALSE, 1 },    /* about 2.7 points a column */
    { 400, TRUE, 1 },      /* a step function: its corners too, about 2.8 vertices a column */
    { 20000, FALSE, 20 },  /* zoomed in on a twentieth: 1.8 a column, 19 000 off the plot area */
    { 20000, FALSE, 1 },   /* about 36 a column: decimated */
  };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++) {
    g_autoptr (DrmadPlot) plot = drmad_plot_new ("decimation", "x", "y", FALSE);
    DrmadPlotSeries *series = drmad_plot_add_series (plot, "line", 0, 1);
    series->steps = cases[c].steps;
    series->in_legend = FALSE;   /* no legend: its swatch would tell the reference apart */
    for (guint i = 0; i < cases[c].n; i++)
      drmad_plot_series_append (series, i, sin (i * 6.0 / cases[c].n) + 0.2 * next_noise (&state));
    if (cases[c].zoom > 1) {
      plot->view_x_lo = 0.4 * cases[c].n;
      plot->view_x_hi = plot->view_x_lo + cases[c].n / cases[c].zoom;
    }
    cairo_surface_t *drawn = render (plot), *reference = render_undecimated (plot);
    guint exact = count_different (drawn, reference, 0), visible = count_different (drawn, reference, 64);
    g_test_message ("%u points%s, zoom %g: %u pixels differ, %u by more than 64", cases[c].n,
                    cases[c].steps ? " (steps)" : "", cases[c].zoom, exact, visible);
    if (c < 2)
      g_assert_cmpuint (exact, ==, 0);
    else if (c == 2) {   /* the path off the area is another: cairo's coverage of an edge pixel or two
                          * rounds otherwise (2 pixels, by a few levels, here) */
      g_assert_cmpuint (exact, <=, 20);
      g_assert_cmpuint (visible, ==, 0);
    }
    else   /* of 256 000: single pixels of the band's antialiased edge, which a dropped vertex's
            * stroke (2 px wide, reaching into the next column) covered a little more (166 here) */
      g_assert_cmpuint (visible, <=, 400);
    cairo_surface_destroy (drawn);
    cairo_surface_destroy (reference);
  }
}

/* A million points, one of them a spike up and one a dip down: the PNG still
 * shows both, at the pixels where their points lie. */
static void
test_decimation_spike (void)
{
  enum { N = 1000000, SPIKE = 654321, DIP = 123457 };
  g_autoptr (DrmadPlot) plot = drmad_plot_new ("a million points", "x", "y", FALSE);
  DrmadPlotSeries *series = drmad_plot_add_series (plot, "line", 0, 1);
  guint64 state = 5;
  for (guint i = 0; i < N; i++)
    drmad_plot_series_append (series, i, i == SPIKE ? 3 : i == DIP ? -3 : 0.3 * next_noise (&state));
  g_autofree char *dir = test_tmp_dir ("drmad-plot", NULL);
  g_autofree char *path = g_build_filename (dir, "spike.png", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (drmad_plot_write_png (plot, path, W, H, &error));
  g_assert_no_error (error);
  png_image image;
  g_autofree guint8 *pixels = read_png (path, &image);
  const guint points[] = { SPIKE, DIP };
  for (guint k = 0; k < G_N_ELEMENTS (points); k++) {
    double px, py, base_y;
    g_assert_true (drmad_plot_locate (plot, W, H, 0, points[k], &px, &py));
    g_assert_true (drmad_plot_locate (plot, W, H, 0, points[k] + 1, NULL, &base_y));
    g_assert_cmpfloat (fabs (py - base_y), >, 50);   /* far out of the band of the others */
    /* the line's colour at the tip (a pixel back towards the band) and halfway there */
    double step = py < base_y ? 1 : -1;
    const double ys[] = { py + step, (py + base_y) / 2 };
    for (guint j = 0; j < G_N_ELEMENTS (ys); j++) {
      const guint8 *p = pixels + ((gsize) floor (ys[j]) * image.width + (gsize) floor (px)) * 4;
      g_test_message ("point %u at (%.1f, %.1f): pixel at y %.0f is %u %u %u", points[k], px, py, floor (ys[j]), p[0],
                      p[1], p[2]);
      g_assert_true (close_to (p, palette_rgb[0], 40));
    }
  }
  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* Very many earlier schedules: at most about 24 000 of their points are
 * drawn, the starting one and the latest earlier one among them, each in the
 * shade of its age, and the key says how many of how many; a realistic run
 * keeps them all. */
static void
test_faded_cap (void)
{
  enum { BIG_ITERS = 300, BIG_LAYERS = 13, BIG_S = 300 };
  g_autofree double *lr = g_new (double, (gsize) BIG_ITERS * BIG_LAYERS * BIG_S);
  for (gsize i = 0; i < (gsize) BIG_ITERS * BIG_LAYERS * BIG_S; i++)
    lr[i] = 0.1 + 1e-4 * (i % 977);
  g_autoptr (DrmadPlot) big = drmad_plot_lr (BIG_ITERS, BIG_LAYERS, BIG_S, BIG_S, lr);
  gsize faded_points = 0;
  guint current = 0;
  for (guint s = 0; s < big->series->len; s++) {
    const DrmadPlotSeries *series = g_ptr_array_index (big->series, s);
    if (series->alpha < 1)
      faded_points += series->x->len;
    else
      current++;
  }
  g_assert_cmpuint (current, ==, BIG_LAYERS);
  g_assert_cmpuint (faded_points, <=, 24000);
  guint drawn = big->shades->len;
  g_assert_cmpuint (drawn, >=, 2);
  g_assert_cmpuint (drawn, <, BIG_ITERS - 1);
  g_assert_cmpuint (big->series->len, ==, (drawn + 1) * BIG_LAYERS);
  const DrmadPlotShade *shades = (const DrmadPlotShade *) big->shades->data;
  g_assert_cmpuint (shades[0].meta_iteration, ==, 1);
  g_assert_cmpuint (shades[drawn - 1].meta_iteration, ==, BIG_ITERS - 1);
  for (guint i = 1; i < drawn; i++) {
    g_assert_cmpuint (shades[i].meta_iteration, >, shades[i - 1].meta_iteration);
    /* the shade of its age among all 300, as when every one is drawn */
    double age_alpha = 0.12 + 0.38 * (shades[i].meta_iteration - 1) / (BIG_ITERS - 1);
    g_assert_cmpfloat (fabs (shades[i].alpha - age_alpha), <, 1e-12);
    /* and its series: layer 1 of the meta-iteration the key names */
    const DrmadPlotSeries *series = g_ptr_array_index (big->series, i * BIG_LAYERS);
    g_autofree char *name = g_strdup_printf ("layer 1, meta-iteration %u", shades[i].meta_iteration);
    g_assert_cmpstr (series->name, ==, name);
    g_assert_cmpfloat (series->alpha, ==, shades[i].alpha);
  }
  g_autofree char *caption = g_strdup_printf ("faded: %u of %u earlier meta-iterations", drawn, BIG_ITERS - 1);
  g_assert_cmpstr (big->shades_caption, ==, caption);

  /* 40 meta-iterations of 3 layers and 4 segments, with the starting values: all 40 earlier ones */
  enum { ITERS_40 = 40, LAYERS_3 = 3, S_4 = 4 };
  double small_lr[ITERS_40 * LAYERS_3 * S_4], initial[LAYERS_3 * S_4];
  for (guint i = 0; i < G_N_ELEMENTS (small_lr); i++)
    small_lr[i] = 0.1 + 0.001 * i;
  for (guint i = 0; i < G_N_ELEMENTS (initial); i++)
    initial[i] = 0.1;
  DrmadPlotRunData data = { .n_iters = ITERS_40, .n_layers = LAYERS_3, .segments = S_4, .steps = 500,
                            .initial_lr = initial, .lr = small_lr };
  g_autoptr (DrmadPlot) realistic = drmad_plot_run_lr (&data);
  g_assert_cmpuint (realistic->shades->len, ==, ITERS_40);
  g_assert_cmpuint (realistic->series->len, ==, (ITERS_40 + 1) * LAYERS_3);
  g_assert_null (realistic->shades_caption);
}

/* An x axis zoomed far in, as the plot view's keys and wheel can (each
 * press takes 0.8 of the span): some 160 presses into an empty plot's
 * [0, 1], the span is a few units in the last place of its values, the
 * ticks' step as small, and the tick loop's counter (near 2^53 there) no
 * longer grew: ticks were appended until memory ran out and the window
 * hung. Each case runs in a child process with its memory and time
 * bounded; the axis must come back with a handful of labels. */
static void
test_zoom_far_in (void)
{
  SKIP_UNDER_ASAN ("its child runs under a 1 GiB address-space limit, which ASan's shadow memory does not fit");
  if (g_test_subprocess ())
    {
      struct rlimit limit = { (rlim_t) 1 << 30, (rlim_t) 1 << 30 };
      g_assert_cmpint (setrlimit (RLIMIT_AS, &limit), ==, 0);
      const struct { double x[3]; guint n; double at, ulps; } cases[] = {
        { { 0 }, 0, 0.458, 4 },                        /* the window's empty plot, zoomed by the keys */
        { { 0.25, 0.5, 0.75 }, 3, 0.5, 2 },            /* points at fractions of a unit */
        { { 1e6 + 0.25, 1e6 + 0.5 }, 2, 1e6 + 0.5, 1 },
        { { -3.5, -2.5 }, 2, -3, 8 },
      };
      for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
        {
          g_autoptr (DrmadPlot) plot = drmad_plot_new ("far in", "x", "y", FALSE);
          if (cases[c].n)
            {
              DrmadPlotSeries *s = drmad_plot_add_series (plot, "s", 0, 1);
              for (guint i = 0; i < cases[c].n; i++)
                drmad_plot_series_append (s, cases[c].x[i], 1 + i);
            }
          double lo = cases[c].at, hi = cases[c].at;
          for (guint i = 0; i < cases[c].ulps; i++)
            hi = nextafter (hi, INFINITY);
          plot->view_x_lo = lo, plot->view_x_hi = hi;
          double got_lo, got_hi;
          drmad_plot_get_x_range (plot, 800, 500, &got_lo, &got_hi);
          g_assert_cmpfloat (got_lo, ==, lo);
          g_assert_cmpfloat (got_hi, ==, hi);
          g_auto (GStrv) labels = drmad_plot_get_tick_labels (plot, 800, 500, DRMAD_PLOT_AXIS_X);
          g_autofree char *joined = g_strjoinv (" | ", labels);
          g_test_message ("x from %.17g to %.17g: %u labels (%s)", lo, hi, g_strv_length (labels), joined);
          g_assert_cmpuint (g_strv_length (labels), <=, 10);
          cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 400, 250);
          cairo_t *cr = cairo_create (surface);
          drmad_plot_draw (plot, cr, 400, 250);
          g_assert_cmpint (cairo_status (cr), ==, CAIRO_STATUS_SUCCESS);
          cairo_destroy (cr);
          cairo_surface_destroy (surface);
        }
      return;
    }
  g_test_trap_subprocess (NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  fill_inputs ();
  g_test_add_func ("/plot/builders", test_builders);
  g_test_add_func ("/plot/draw", test_draw);
  g_test_add_func ("/plot/write-png", test_write_png);
  g_test_add_func ("/plot/zoom-and-svg", test_zoom_and_svg);
  g_test_add_func ("/plot/nearest", test_nearest);
  g_test_add_func ("/plot/invalid-and-empty", test_invalid_and_empty);
  g_test_add_func ("/plot/legend-outside", test_legend_outside);
  g_test_add_func ("/plot/log-ticks", test_log_ticks);
  g_test_add_func ("/plot/error-axis", test_error_axis);
  g_test_add_func ("/plot/run-marks", test_run_marks);
  g_test_add_func ("/plot/run-rejected-last", test_run_rejected_last);
  g_test_add_func ("/plot/long-title", test_long_title);
  g_test_add_func ("/plot/many-series-distinct", test_many_series_distinct);
  g_test_add_func ("/plot/bounded-axes", test_bounded_axes);
  g_test_add_func ("/plot/bounded-log-axes", test_bounded_log_axes);
  g_test_add_func ("/plot/isolated-points", test_isolated_points);
  g_test_add_func ("/plot/long-legend-entry", test_long_legend_entry);
  g_test_add_func ("/plot/rejected-without-points", test_rejected_without_points);
  g_test_add_func ("/plot/nearly-flat", test_nearly_flat);
  g_test_add_func ("/plot/single-shade-key", test_single_shade_key);
  g_test_add_func ("/plot/tall-legend", test_tall_legend);
  g_test_add_func ("/plot/all-rejected", test_all_rejected);
  g_test_add_func ("/plot/whole-x-labels", test_whole_x_labels);
  g_test_add_func ("/plot/decimation-unchanged", test_decimation_unchanged);
  g_test_add_func ("/plot/decimation-spike", test_decimation_spike);
  g_test_add_func ("/plot/faded-cap", test_faded_cap);
  g_test_add_func ("/plot/zoom-far-in", test_zoom_far_in);
  return g_test_run ();
}
