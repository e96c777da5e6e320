/* The cost of drawing a plot (drmad_plot_draw into an image surface, what
 * the window and the PNG export do), of its hover look-up and of its layout
 * for synthetic runs of two sizes: a realistic one (40 meta-iterations,
 * 3 layers, S = 4) and a very large one (300 meta-iterations, 13 layers,
 * S = T = 300: about 1.2 million points on the learning-rate plot), and one
 * line of a million points.
 * Medians of repeated draws (docs/benchmarks.md).
 *
 *   bench-plot [--iters N] [--layers L] [--segments S] [--steps T] [--repeat R]
 *              [--width W] [--height H] [--png DIR] [--noise A]
 * With no size given, both sizes run. --png DIR writes each plot there;
 * --noise A: schedules that jump by up to A (log units, 0.05) from one
 * segment to the next (jagged ones cost more to stroke). */
#include "drmad-plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
median (double *v, int n)
{
  qsort (v, n, sizeof *v, compare_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Deterministic noise in [0, 1). */
static double
noise (guint64 *state)
{
  *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (*state >> 11) * (1.0 / 9007199254740992.0);
}

typedef struct {
  const char *name;
  DrmadPlot *plot;
  gsize points;
} Case;

static void
time_plot (const Case *c, int width, int height, int repeat, const char *png_dir)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cairo_t *cr = cairo_create (surface);
  double *draw = g_new (double, repeat), *hover = g_new (double, repeat), *layout = g_new (double, repeat);
  for (int r = 0; r < repeat; r++) {
    double t0 = now ();
    drmad_plot_draw (c->plot, cr, width, height);
    cairo_surface_flush (surface);
    double t1 = now ();
    guint s, p;
    drmad_plot_nearest (c->plot, width, height, width / 2.0, height / 2.0, 12, &s, &p);
    double t2 = now ();
    DrmadPlotRect area;
    drmad_plot_get_layout (c->plot, width, height, &area, NULL);
    double t3 = now ();
    draw[r] = t1 - t0, hover[r] = t2 - t1, layout[r] = t3 - t2;
  }
  double draw_median = median (draw, repeat);   /* sorts: draw[0] is then the fastest */
  printf ("%-16s %8zu points  draw %8.2f ms (fastest %8.2f)  nearest %6.2f ms  layout %6.2f ms\n", c->name,
          c->points, draw_median * 1e3, draw[0] * 1e3, median (hover, repeat) * 1e3, median (layout, repeat) * 1e3);
  fflush (stdout);
  if (png_dir) {
    g_autofree char *file = g_strdup_printf ("%s.png", c->name);
    g_autofree char *path = g_build_filename (png_dir, file, NULL);
    g_autoptr (GError) error = NULL;
    if (!drmad_plot_write_png (c->plot, path, width, height, &error))
      fprintf (stderr, "%s\n", error->message);
  }
  g_free (draw), g_free (hover), g_free (layout);
  cairo_destroy (cr);
  cairo_surface_destroy (surface);
}

/* the spread of the schedules from one segment to the next (log units) */
static double lr_noise = 0.05;

static gsize
count_points (const DrmadPlot *plot)
{
  gsize n = 0;
  for (guint s = 0; s < plot->series->len; s++)
    n += ((const DrmadPlotSeries *) g_ptr_array_index (plot->series, s))->x->len;
  return n;
}

static void
run_size (const char *tag, guint iters, guint layers, guint segments, guint64 steps, int width, int height,
          int repeat, const char *png_dir)
{
  guint64 state = 42;
  double *l2 = g_new (double, (gsize) iters * layers);
  double *lr = g_new (double, (gsize) iters * layers * segments);
  double *initial_l2 = g_new (double, layers), *initial_lr = g_new (double, (gsize) layers * segments);
  double *train = g_new (double, iters), *val = g_new (double, iters), *err = g_new (double, iters);
  gboolean *rejected = g_new0 (gboolean, iters);
  for (guint l = 0; l < layers; l++) {
    initial_l2[l] = 1e-4;
    for (guint s = 0; s < segments; s++)
      initial_lr[(gsize) l * segments + s] = 0.1;
  }
  for (guint i = 0; i < iters; i++) {
    double progress = (i + 1.0) / iters;
    for (guint l = 0; l < layers; l++) {
      l2[(gsize) i * layers + l] = 1e-4 * exp (2 * progress * (l + 1) / layers + 0.2 * noise (&state));
      for (guint s = 0; s < segments; s++)
        lr[((gsize) i * layers + l) * segments + s]
          = 0.1 * exp (progress * (0.5 - (double) s / segments) * (1 + 0.3 * l) + lr_noise * noise (&state));
    }
    train[i] = 0.5 * exp (-progress) + 0.02 * noise (&state);
    val[i] = train[i] + 0.05 + 0.02 * noise (&state);
    err[i] = 0.1 * exp (-progress) + 0.01 * noise (&state);
    rejected[i] = i % 17 == 5;
  }
  DrmadPlotRunData data = {
    .n_iters = iters, .n_layers = layers, .segments = segments, .steps = steps,
    .initial_l2 = initial_l2, .l2 = l2, .initial_lr = initial_lr, .lr = lr,
    .train_loss = train, .val_loss = val, .val_error = err, .rejected = rejected,
  };
  Case cases[] = {
    { "l2", drmad_plot_run_l2 (&data) },
    { "lr", drmad_plot_run_lr (&data) },
    { "loss", drmad_plot_run_loss (&data) },
  };
  printf ("%s: %u meta-iterations, %u layers, S = %u, T = %" G_GUINT64_FORMAT ", %d × %d px, median of %d\n", tag,
          iters, layers, segments, steps, width, height, repeat);
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++) {
    cases[c].points = count_points (cases[c].plot);
    g_autofree char *name = g_strdup_printf ("%s-%s", tag, cases[c].name);
    cases[c].name = name;
    time_plot (&cases[c], width, height, repeat, png_dir);
    drmad_plot_free (cases[c].plot);
  }
  g_free (l2), g_free (lr), g_free (initial_l2), g_free (initial_lr);
  g_free (train), g_free (val), g_free (err), g_free (rejected);
}

int
main (int argc, char **argv)
{
  int iters = 0, layers = 3, segments = 4, steps = 500, repeat = 0, width = 800, height = 500;
  const char *png_dir = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp (argv[i], "--iters")) iters = atoi (argv[i + 1]);
    else if (!strcmp (argv[i], "--layers")) layers = atoi (argv[i + 1]);
    else if (!strcmp (argv[i], "--segments")) segments = atoi (argv[i + 1]);
    else if (!strcmp (argv[i], "--steps")) steps = atoi (argv[i + 1]);
    else if (!strcmp (argv[i], "--repeat")) repeat = atoi (argv[i + 1]);
    else if (!strcmp (argv[i], "--width")) width = atoi (argv[i + 1]);
    else if (!strcmp (argv[i], "--height")) height = atoi (argv[i + 1]);
    else if (!strcmp (argv[i], "--png")) png_dir = argv[i + 1];
    else if (!strcmp (argv[i], "--noise")) lr_noise = atof (argv[i + 1]);
    else {
      fprintf (stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (iters > 0) {
    run_size ("custom", iters, layers, segments, steps, width, height, repeat > 0 ? repeat : 5, png_dir);
    return 0;
  }
  run_size ("realistic", 40, 3, 4, 500, width, height, repeat > 0 ? repeat : 21, png_dir);
  run_size ("big", 300, 13, 300, 300, width, height, repeat > 0 ? repeat : 5, png_dir);
  /* one line of a million points (a noisy curve with a spike) */
  Case line = { "long-line", drmad_plot_new ("One long line", "x", "y", FALSE) };
  DrmadPlotSeries *series = drmad_plot_add_series (line.plot, "noise", 0, 1);
  guint64 state = 7;
  for (guint i = 0; i < 1000000; i++)
    drmad_plot_series_append (series, i, i == 654321 ? 5 : sin (i * 1e-5) + 0.3 * noise (&state));
  line.points = count_points (line.plot);
  time_plot (&line, width, height, repeat > 0 ? repeat : 5, png_dir);
  /* zoomed in on 1 % of it: the rest lies outside the plot area */
  line.name = "long-line-zoomed";
  line.plot->view_x_lo = 650000, line.plot->view_x_hi = 660000;
  time_plot (&line, width, height, repeat > 0 ? repeat : 5, png_dir);
  drmad_plot_free (line.plot);
  return 0;
}
