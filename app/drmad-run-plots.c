/* The further plots of a run folder (drmad-run-plots.h). */
#include "drmad-run-plots.h"
#include "drmad-job.h"

#include <math.h>
#include <string.h>

gboolean
drmad_theta_learns (const DrmadHyper *hyper, const char *group)
{
  for (guint g = 0; g < drmad_hyper_get_n_groups (hyper); g++)
    if (g_str_equal (drmad_hyper_get_group_name (hyper, g), group))
      return TRUE;
  return FALSE;
}

static void
retitle (DrmadPlot *plot, const char *title, const char *y_label, gboolean log_y)
{
  g_free (plot->title);
  plot->title = g_strdup (title);
  g_free (plot->y_label);
  plot->y_label = g_strdup (y_label);
  plot->log_y = log_y;
}

void
drmad_run_extra_plots (const DrmadRun *run, const DrmadHyper *hyper, DrmadPlot **momentum_plot, DrmadPlot **init_plot,
                       DrmadPlot **norms_plot, DrmadPlot **fidelity_plot)
{
  const DrmadHyperConfig *config = drmad_hyper_get_config (hyper);
  guint n = drmad_run_get_n_records (run), L = drmad_hyper_get_n_layers (hyper), S = config->segments;
  /* Meta-iteration 0, the start, is the configuration's values. */
  g_autofree double *mom0 = g_new (double, L * S), *mom = g_new (double, MAX (n, 1) * L * S);
  g_autofree double *init0 = g_new (double, L), *init = g_new (double, MAX (n, 1) * L);
  g_autofree gboolean *rejected = g_new0 (gboolean, MAX (n, 1));
  g_autofree double *val = g_new (double, MAX (n, 1));
  for (guint l = 0; l < L; l++) {
    for (guint s = 0; s < S; s++)
      mom0[l * S + s] = config->init_momentum[l];
    init0[l] = config->init_scale[l];
  }
  const double *start = drmad_run_get_start (run);   /* θ as meta-iteration 1 measured it, after a warm start */
  if (start) {
    drmad_hyper_cells (hyper, start, DRMAD_GROUP_MOMENTUM, mom0);
    drmad_hyper_cells (hyper, start, DRMAD_GROUP_INIT, init0);
  }
  /* the records' cells, not θ: past DRMAD_RUN_THETA_KEPT_MAX only the last holds θ */
  for (guint i = 0; i < n; i++) {
    const DrmadRunRecord *r = drmad_run_get_record (run, i);
    memcpy (mom + (gsize) i * L * S, r->momentum_cells, (gsize) L * S * sizeof (double));
    memcpy (init + (gsize) i * L, r->init_cells, L * sizeof (double));
    rejected[i] = r->rejected;
    val[i] = r->val_loss;
  }
  DrmadPlotRunData data = { .n_iters = n, .n_layers = L, .segments = S, .steps = config->steps,
                            .rejected = rejected, .val_loss = val };
  if (momentum_plot) {
    data.initial_lr = mom0;
    data.lr = mom;
    *momentum_plot = drmad_plot_run_lr (&data);
    retitle (*momentum_plot,
             drmad_theta_learns (hyper, "momentum") ? "Momentum schedule" : "Momentum schedule (not learned)",
             "momentum", FALSE);
    (*momentum_plot)->y_min = 0, (*momentum_plot)->y_max = 1;
  }
  if (init_plot) {
    data.initial_l2 = init0;
    data.l2 = init;
    *init_plot = drmad_plot_run_l2 (&data);
    retitle (*init_plot,
             drmad_theta_learns (hyper, "init") ? "Initial weight scale" : "Initial weight scale (not learned)",
             "scale of W_0", TRUE);
  }
  if (norms_plot) {
    DrmadPlot *plot = drmad_plot_new ("Hypergradient norm per group", "meta-iteration", "‖df/dθ‖", TRUE);
    for (guint g = 0; g < drmad_hyper_get_n_groups (hyper); g++) {
      DrmadPlotSeries *series = drmad_plot_add_series (plot, drmad_hyper_get_group_name (hyper, g), g, 1);
      for (guint i = 0; i < n; i++) {
        const DrmadRunRecord *r = drmad_run_get_record (run, i);
        if (!r->rejected && isfinite (r->group_norms[g]) && r->group_norms[g] > 0)
          drmad_plot_series_append (series, r->iteration, r->group_norms[g]);
      }
    }
    *norms_plot = plot;
  }
  if (fidelity_plot) {
    DrmadPlot *plot = drmad_plot_new ("Fidelity to the reference method", "meta-iteration", "cosine, sign agreement",
                                      FALSE);
    plot->y_min = -1, plot->y_max = 1;   /* a cosine; the sign agreement is a fraction */
    /* --fidelity-every 0: never measured, rather than "no data yet" */
    const char *ini = drmad_run_get_ini (run);
    g_autoptr (GHashTable) values = ini ? drmad_options_read_ini (ini, strlen (ini), "run.ini", FALSE, NULL) : NULL;
    const char *every = values ? g_hash_table_lookup (values, "fidelity-every") : NULL;
    if (every && g_ascii_strtoull (every, NULL, 10) == 0)
      plot->empty_note = g_strdup ("not measured (--fidelity-every 0)");
    DrmadPlotSeries *cosine = drmad_plot_add_series (plot, "cosine", 0, 1);
    DrmadPlotSeries *sign = drmad_plot_add_series (plot, "sign agreement", 1, 1);
    for (guint i = 0; i < n; i++) {
      const DrmadRunRecord *r = drmad_run_get_record (run, i);
      if (!r->fidelity_measured)
        continue;
      drmad_plot_series_append (cosine, r->iteration, r->fidelity.cosine);
      drmad_plot_series_append (sign, r->iteration, r->fidelity.sign_agreement);
    }
    *fidelity_plot = plot;
  }
}

gboolean
drmad_run_load_extra_plots (const char *folder, const DrmadOptions *o, DrmadPlot **momentum, DrmadPlot **init,
                            DrmadPlot **norms, DrmadPlot **fidelity, GError **error)
{
  g_autoptr (DrmadHyper) hyper = NULL;
  g_autoptr (DrmadRun) run = NULL;
  if (!drmad_run_load (folder, o, &hyper, &run, error))
    return FALSE;
  drmad_run_extra_plots (run, hyper, momentum, init, norms, fidelity);
  return TRUE;
}
