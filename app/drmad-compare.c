/* Several run folders side by side: their validation loss, learned L2 per
 * layer and learning-rate schedules overlaid, one colour per run, each named
 * by its folder and the settings that set it apart. Read from the run
 * folders alone (no device, no data). */
#include "drmad-compare.h"
#include "drmad-job.h"
#include "drmad-run-plots.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

typedef struct {
  char          *folder;
  GHashTable    *values;     /* its run.ini */
  DrmadOptions   options;
  DrmadHyper    *hyper;
  DrmadRun      *run;
} Loaded;

static void
loaded_clear (Loaded *l)
{
  g_free (l->folder);
  g_clear_pointer (&l->values, g_hash_table_unref);
  drmad_options_clear (&l->options);
  g_clear_pointer (&l->hyper, drmad_hyper_free);
  g_clear_pointer (&l->run, drmad_run_free);
}

static gboolean
load (Loaded *l, const char *folder, GError **error)
{
  l->folder = g_strdup (folder);
  g_autofree char *ini_path = g_build_filename (folder, "run.ini", NULL);
  if (!(l->values = drmad_options_read_ini (NULL, 0, ini_path, TRUE, error))
      || !drmad_options_from_file_values (&l->options, l->values, NULL, ini_path, error)
      || !drmad_run_load (folder, &l->options, &l->hyper, &l->run, error)) {
    g_prefix_error (error, "cannot compare %s: ", folder);
    return FALSE;
  }
  return TRUE;
}

/* "FOLDER: key=value, …" with the settings in which this run differs from
 * any other (a resume may change only what does not define the trajectory,
 * so those keys are left out). */
static char *
run_label (const Loaded *runs, guint n, guint k)
{
  g_autofree char *base = g_path_get_basename (runs[k].folder);
  GString *label = g_string_new (base);
  guint count;
  const DrmadOptionSpec *specs = drmad_options_get_specs (&count);
  const char *const *may_change = drmad_options_resume_may_change ();
  guint shown = 0, more = 0;
  for (guint s = 0; s < count; s++) {
    if (!specs[s].in_ini || g_strv_contains (may_change, specs[s].name))
      continue;
    const char *mine = g_hash_table_lookup (runs[k].options.values, specs[s].name);
    gboolean differs = FALSE;
    for (guint j = 0; j < n && !differs; j++)
      differs = g_strcmp0 (mine, g_hash_table_lookup (runs[j].options.values, specs[s].name)) != 0;
    if (!differs)
      continue;
    if (shown < 3)
      g_string_append_printf (label, "%s%s=%s", shown ? ", " : ": ", specs[s].name, mine);
    else
      more++;
    shown++;
  }
  if (more)
    g_string_append_printf (label, ", +%u more", more);
  return g_string_free (label, FALSE);
}

gboolean
drmad_compare_runs (const char *const *folders, DrmadPlot **val_plot, DrmadPlot **l2_plot, DrmadPlot **lr_plot,
                    GError **error)
{
  return drmad_compare_runs_cancellable (folders, NULL, val_plot, l2_plot, lr_plot, error);
}

/* Whether @folder is one of the @n folders whose stat is in @seen (the same
 * device and inode); its own goes to seen[n], zeros where it cannot be
 * looked at (which matches no folder). */
static gboolean
seen_before (GStatBuf *seen, guint n, const char *folder)
{
  if (g_stat (folder, &seen[n]) != 0) {
    memset (&seen[n], 0, sizeof seen[n]);
    return FALSE;
  }
  for (guint j = 0; j < n; j++)
    if (seen[j].st_dev == seen[n].st_dev && seen[j].st_ino == seen[n].st_ino)
      return TRUE;
  return FALSE;
}

guint
drmad_compare_count_runs (const char *const *folders)
{
  guint given = g_strv_length ((char **) folders), n = 0;
  g_autofree GStatBuf *seen = g_new0 (GStatBuf, MAX (given, 1));
  for (guint k = 0; k < given; k++)
    n += !seen_before (seen, n, folders[k]);
  return n;
}

gboolean
drmad_compare_runs_cancellable (const char *const *folders, GCancellable *cancellable, DrmadPlot **val_plot,
                                DrmadPlot **l2_plot, DrmadPlot **lr_plot, GError **error)
{
  guint n = folders ? g_strv_length ((char **) folders) : 0;
  if (n == 0) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT, "no run folder to compare");
    return FALSE;
  }
  Loaded *runs = g_new0 (Loaded, n);
  gboolean ok = TRUE;
  /* A folder given twice (the run the window shows, chosen again; the same
   * folder by another path) is one run: else it came twice, under one name. */
  g_autofree GStatBuf *seen = g_new0 (GStatBuf, n);
  guint given = n;
  n = 0;
  for (guint k = 0; ok && k < given; k++) {
    gboolean again = seen_before (seen, n, folders[k]);
    /* between folders: a checkpoint being read is read to its end */
    if (!again)
      ok = !g_cancellable_set_error_if_cancelled (cancellable, error) && load (&runs[n++], folders[k], error);
  }
  if (ok) {
    g_autoptr (DrmadPlot) val = drmad_plot_new ("Validation loss", "meta-iteration", "validation loss", FALSE);
    g_autoptr (DrmadPlot) l2 = drmad_plot_new ("Learned L2 per layer (last)", "layer", "L2 coefficient", TRUE);
    g_autoptr (DrmadPlot) lr = drmad_plot_new ("Learning-rate schedule (last, mean over layers)", "training step",
                                               "learning rate", TRUE);
    /* the values an L2 or a learning rate can take (drmad-hyper.h): a flat 100 labels no 200 */
    l2->y_min = lr->y_min = DRMAD_HYPER_RATE_MIN, l2->y_max = lr->y_max = DRMAD_HYPER_RATE_MAX;
    for (guint k = 0; k < n; k++) {
      Loaded *r = &runs[k];
      g_autofree char *name = run_label (runs, n, k);
      const DrmadHyperConfig *config = drmad_hyper_get_config (r->hyper);
      guint L = drmad_hyper_get_n_layers (r->hyper), S = config->segments;
      guint records = drmad_run_get_n_records (r->run);
      DrmadPlotSeries *v = drmad_plot_add_series (val, name, k, 1);
      for (guint i = 0; i < records; i++) {
        const DrmadRunRecord *rec = drmad_run_get_record (r->run, i);
        if (!rec->rejected)
          drmad_plot_series_append (v, rec->iteration, rec->val_loss);
      }
      /* θ after the last meta-iteration (its record's cells), or the start when none finished. */
      g_autofree double *l2_cells = g_new (double, L), *lr_cells = g_new (double, L * S);
      const DrmadRunRecord *last = records ? drmad_run_get_record (r->run, records - 1) : NULL;
      if (last) {
        memcpy (l2_cells, last->l2_cells, L * sizeof (double));
        memcpy (lr_cells, last->lr_cells, (gsize) L * S * sizeof (double));
      } else {
        drmad_hyper_cells (r->hyper, drmad_hyper_get_values (r->hyper), DRMAD_GROUP_L2, l2_cells);
        drmad_hyper_cells (r->hyper, drmad_hyper_get_values (r->hyper), DRMAD_GROUP_LR, lr_cells);
      }
      /* a run that did not learn a group says so in that group's legend, as
       * a single run's plot says it in its title (drmad-run-plots.c) */
      g_autofree char *l2_name = drmad_theta_learns (r->hyper, "l2") ? g_strdup (name)
                                                                      : g_strconcat (name, " (not learned)", NULL);
      g_autofree char *lr_name = drmad_theta_learns (r->hyper, "lr") ? g_strdup (name)
                                                                      : g_strconcat (name, " (not learned)", NULL);
      DrmadPlotSeries *w = drmad_plot_add_series (l2, l2_name, k, 1);
      for (guint l = 0; l < L; l++)
        drmad_plot_series_append (w, l + 1, l2_cells[l]);
      DrmadPlotSeries *e = drmad_plot_add_series (lr, lr_name, k, 1);
      e->steps = TRUE;
      for (guint s = 0; s <= S; s++) {
        double sum = 0;
        for (guint l = 0; l < L; l++)
          sum += log (lr_cells[l * S + MIN (s, S - 1)]);
        /* segment s starts at the first step t with ⌊t·S/T⌋ = s (drmad-net.h), as in the run's own plot */
        drmad_plot_series_append (e, (double) ((s * config->steps + S - 1) / S), exp (sum / L));
      }
    }
    *val_plot = g_steal_pointer (&val);
    *l2_plot = g_steal_pointer (&l2);
    *lr_plot = g_steal_pointer (&lr);
  }
  for (guint k = 0; k < n; k++)
    loaded_clear (&runs[k]);
  g_free (runs);
  return ok;
}
