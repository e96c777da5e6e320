/* The further plots of a run folder, beside drmad_run_plots (): the learned
 * momentum schedule, the initial weight scale, the hypergradient norms and
 * the fidelity measured. */
#pragma once

#include <drmad.h>
#include "drmad-plot.h"
#include "drmad-options.h"

/* Whether @hyper learns the group named @group ("l2", "lr", "momentum",
 * "init"): a group not learned keeps its configured values, and its plots
 * say so. */
gboolean drmad_theta_learns (const DrmadHyper *hyper, const char *group);

/* New plots of @run's history (each may be NULL to skip it). A group that is
 * not learned still gets a plot, of its fixed value, saying so in its title. */
void drmad_run_extra_plots (const DrmadRun *run, const DrmadHyper *hyper, DrmadPlot **momentum, DrmadPlot **init,
                            DrmadPlot **norms, DrmadPlot **fidelity);

/* The same for the run folder @folder whose run.ini gave @options (read-only,
 * no device, no data). */
gboolean drmad_run_load_extra_plots (const char *folder, const DrmadOptions *options, DrmadPlot **momentum,
                                     DrmadPlot **init, DrmadPlot **norms, DrmadPlot **fidelity, GError **error);
