/* drmad: the meta-optimiser over the raw hyperparameter vector θ. */
#pragma once

#include <glib.h>
#include "drmad-hypergradient.h"

G_BEGIN_DECLS

typedef enum {
  DRMAD_META_ADAM,   /* the default */
  DRMAD_META_SGD,    /* with momentum */
  DRMAD_META_SIGN,   /* sign-SGD, the DrMAD authors' choice */
} DrmadMetaAlgorithm;

/* Names for settings and the command line: "adam", "sgd", "sign". The name
 * function gives a static string (the first name for a value out of range);
 * the parser takes them in any case and refuses any other with
 * %DRMAD_ERROR_INVALID_ARGUMENT listing them, leaving @algorithm untouched. */
const char *drmad_meta_algorithm_name      (DrmadMetaAlgorithm algorithm);
gboolean    drmad_meta_algorithm_from_name (const char *name, DrmadMetaAlgorithm *algorithm, GError **error);

typedef struct {
  DrmadMetaAlgorithm algorithm;  /* default DRMAD_META_ADAM */
  double learning_rate;      /* step on raw θ (default 0.05) */
  double momentum;           /* SGD momentum (default 0.9) */
  double beta1, beta2, epsilon;  /* Adam (0.9, 0.999, 1e-8) */
  double clip;               /* > 0: clip each hypergradient component to ±clip (default 0: off) */
  double divergence_factor;  /* reject a step whose validation loss exceeds this × the best so far (default 2;
                              * 1: any step that does not improve on the best, backtracking) */
  guint  fidelity_every;     /* measure the method against a more faithful one at meta-iteration 1 and
                              * every N after it (default 10); 0: never */
  double learning_rate_growth;  /* ≥ 1: an accepted meta-iteration that lowers the best validation loss
                                 * multiplies the meta learning rate by this before its step (default 1:
                                 * constant); with divergence_factor 1, the "bold driver" */
} DrmadMetaConfig;

/* Fills @config with the defaults each field names. */
void drmad_meta_config_init (DrmadMetaConfig *config);

/* What one meta-iteration did. The caller frees it with
 * drmad_meta_report_free(), which frees its arrays and strings too; nothing
 * in it refers to the DrmadMeta. */
typedef struct {
  guint    iteration;         /* 1, 2, … */
  gboolean rejected;          /* the divergence guard restored θ and halved the meta learning rate */
  char    *event;             /* why, when rejected; else NULL */
  double   train_loss, val_loss, val_error;  /* NaN where not measured: a training that diverged; a reverse
                                               * pass that diverged keeps its training's losses, not val_error */
  double   meta_learning_rate;  /* after this iteration */
  guint    n_groups;
  double  *group_norms;       /* ‖df/dθ‖ per group (drmad_hyper_get_group_name order); NaN where the
                               * meta-iteration's training or reverse pass diverged and gave none */
  double   seconds;
  guint64  device_peak_bytes, host_peak_bytes;
  DrmadReverseConfig method;  /* the resolved method that computed the hypergradient */
  /* Fidelity (docs/algorithm.md §5), when measured this iteration: the hypergradient
   * against @fidelity_reference's at the same θ and trajectory. When the
   * method is exact itself the values are 1, 0, 1 and the reference is exact. */
  gboolean fidelity_measured;
  DrmadReverseConfig fidelity_reference;
  DrmadFidelity  fidelity;          /* over all of θ */
  DrmadFidelity *group_fidelity;    /* per group, n_groups (NULL when not measured) */
  char          *fidelity_warning;  /* below cosine 0.5: what would be more faithful; when a measurement
                                    * was due but not made (fidelity_measured FALSE: no more faithful
                                    * method fits the memory budget, or its pass failed): why; else NULL */
  /* Across the processes a reduction hook combined (DrmadMetaScalars): how
   * many (1 without a hook), and the standard deviations across them of the
   * validation loss and of the hypergradient norm ‖g‖ (0 for one process). */
  guint  ranks;
  double val_loss_spread, hypergradient_norm_spread;
  /* Entries that the step after this meta-iteration would have taken
   * outside their ranges, held at the nearest bound instead
   * (drmad_hyper_clamp_range()): often, a meta learning rate too large. */
  guint  clamped;
} DrmadMetaReport;

/* Frees @report with its strings and arrays; NULL is ignored. */
void drmad_meta_report_free (DrmadMetaReport *report);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DrmadMetaReport, drmad_meta_report_free)

typedef struct _DrmadMeta DrmadMeta;

/* A new meta-optimiser, freed with drmad_meta_free(). @net, @hyper, @train and
 * @val are borrowed, neither copied nor referenced: each must outlive the
 * DrmadMeta (free the meta first; drmad_meta_free() frees none of them).
 * θ lives in @hyper, which every step moves; every step retrains @net.
 * @reverse and @config are copied. */
DrmadMeta *drmad_meta_new  (DrmadNet *net, DrmadHyper *hyper, DrmadDeviceData *train,
                            DrmadDeviceData *val, const DrmadReverseConfig *reverse,
                            const DrmadMetaConfig *config, GError **error);
void       drmad_meta_free (DrmadMeta *meta);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DrmadMeta, drmad_meta_free)

/**
 * drmad_meta_step:
 * One meta-iteration: the hypergradient at the current θ, then the update of
 * θ. The divergence guard: NaN/Inf anywhere, or a validation loss above
 * divergence_factor × the best so far, rejects the step — θ goes back to the
 * last accepted point, the meta learning rate halves, and the report says so.
 * NaN never reaches θ. Returns a new report (drmad_meta_report_free()), or
 * NULL only on errors the guard cannot handle (device failures,
 * cancellation, a first point that already diverges). Progress phases:
 * "train" and "reverse" (drmad_hypergradient_compute()), then, where the
 * iteration measures fidelity against another method, "fidelity" (that
 * method's training and reverse pass as one count of steps).
 */
DrmadMetaReport *drmad_meta_step (DrmadMeta *meta, DrmadProgressFunc progress, gpointer user_data,
                                  GError **error);

/**
 * drmad_meta_warm_start:
 * A coarse search before the first meta-iteration, for hypergradient
 * descent to refine: for each learned group in θ order, every entry of the
 * group is moved together by each of @points factors spread evenly on the
 * log scale over [1/100, 100] for L2, [1/10, 10] for learning rates and
 * initial scales (momenta: logit shifts over [−2, 2]; with @points 1 the
 * lower end alone, with 2 both ends); θ keeps the group's
 * move with the lowest validation loss (training from scratch with the
 * method's seed, no reverse pass), or none when none beats where it was,
 * and the next group starts from there. Costs 1 + @points × groups
 * trainings at most (the unmoved θ once). @summary, when not NULL, gets one
 * entry per group, "l2 ×0.1 (validation loss 0.381); lr ×1 (…)", to g_free().
 * Refused once a meta-iteration has run; @points 0 does nothing.
 */
gboolean drmad_meta_warm_start (DrmadMeta *meta, guint points, DrmadProgressFunc progress, gpointer user_data,
                                char **summary, GError **error);

/* The numbers of one meta-iteration that a reduction hook may replace.
 * The first three hold this process's values on the way in. The fields
 * after them were added later, at the end, so that a hook written before
 * them (which sets only the first three) works unchanged: the library fills
 * them in with what one process has (ranks 1, spreads 0) and reads them back
 * after the call into the report (DrmadMetaReport.ranks, …_spread). */
typedef struct {
  double val_loss, val_error, train_loss;
  guint  ranks;                      /* in 1; out: how many processes the values are the mean of (0 reads as 1) */
  double hypergradient_norm;         /* in: ‖g‖ of this process's own hypergradient, for its spread; not read back */
  double val_loss_spread;            /* in 0; out: the standard deviation of val_loss across the processes */
  double hypergradient_norm_spread;  /* in 0; out: the standard deviation of hypergradient_norm across them */
} DrmadMetaScalars;

/**
 * DrmadMetaReduceFunc:
 * Called by drmad_meta_step() after the hypergradient of each
 * meta-iteration and before the divergence guard and the update: it
 * replaces @gradient (@n values) and @scalars in place with reduced ones
 * (e.g. the mean over several processes that each trained with their own
 * seed), so that the guard, the report and the update all use the reduced
 * values. It is called on every meta-iteration, also when the local
 * reverse pass diverged or was unstable: then @gradient and @scalars hold
 * NaN, the reduced values are expected to be non-finite too, and the step
 * is rejected on every process alike. Returning FALSE with @error set ends
 * the step with that error (drmad_meta_step() returns NULL).
 *
 * A hook that averages over MPI ranks (the program's app/drmad-mpi.c does
 * this, with the sums below in one message):
 *
 *   static gboolean
 *   average (double *gradient, gsize n, DrmadMetaScalars *s, gpointer data, GError **error)
 *   {
 *     int size;
 *     MPI_Comm_size (MPI_COMM_WORLD, &size);
 *     double sums[5] = { s->val_loss, s->val_error, s->train_loss,
 *                        s->val_loss * s->val_loss, s->hypergradient_norm * s->hypergradient_norm };
 *     double norm_sum = s->hypergradient_norm;
 *     MPI_Allreduce (MPI_IN_PLACE, gradient, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
 *     MPI_Allreduce (MPI_IN_PLACE, sums, 5, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
 *     MPI_Allreduce (MPI_IN_PLACE, &norm_sum, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
 *     for (gsize i = 0; i < n; i++)
 *       gradient[i] /= size;
 *     s->val_loss = sums[0] / size; s->val_error = sums[1] / size; s->train_loss = sums[2] / size;
 *     s->ranks = size;   // optional, as are the spreads: the population standard deviations
 *     s->val_loss_spread = sqrt (fmax (sums[3] / size - s->val_loss * s->val_loss, 0));
 *     s->hypergradient_norm_spread = sqrt (fmax (sums[4] / size - pow (norm_sum / size, 2), 0));
 *     return TRUE;
 *   }
 *   …
 *   drmad_meta_set_reduce (meta, average, NULL);
 *
 * Fidelity (DrmadMetaConfig.fidelity_every) is measured on the local
 * hypergradient, before the hook. With a hook set, a non-finite reduced
 * result before the first accepted meta-iteration is an error
 * (%DRMAD_ERROR_DIVERGED) rather than a retry, so that every process
 * decides alike. @func NULL removes the hook; @user_data is borrowed.
 * Like a progress callback, the hook may not work on the meta's net or
 * load a state into the meta (%DRMAD_ERROR_BUSY; drmad.h, "Threads").
 */
typedef gboolean (*DrmadMetaReduceFunc) (double *gradient, gsize n, DrmadMetaScalars *scalars, gpointer user_data,
                                         GError **error);
void drmad_meta_set_reduce (DrmadMeta *meta, DrmadMetaReduceFunc func, gpointer user_data);

/* The whole optimiser state (θ, moments, the accepted point, the meta
 * learning rate, the iteration count), for checkpoints: a new GBytes to
 * g_bytes_unref(). Loading copies from @state (borrowed for the call), checks
 * that it belongs to a θ of the same size (%DRMAD_ERROR_MISMATCH: another
 * run's settings) and that every number in it is
 * finite and in its range (a meta learning rate ≥ 0, a best loss ≥ 0 or inf,
 * second moments ≥ 0, θ and its accepted and best copies within ±700):
 * %DRMAD_ERROR_CORRUPT naming the field otherwise. A second moment of +Inf
 * and an SGD velocity of ±Inf, which states written before 2026-12-05
 * could hold, load as ±G_MAXDOUBLE, where the update now holds them.
 * It leaves @meta untouched
 * on failure; from a progress callback of @meta's own step, or from another
 * thread while the step runs, it fails with %DRMAD_ERROR_BUSY. */
GBytes  *drmad_meta_save_state (DrmadMeta *meta);
gboolean drmad_meta_load_state (DrmadMeta *meta, GBytes *state, GError **error);
/* The meta-iterations done so far, rejected ones included: 0 for a new
 * optimiser, one more after each drmad_meta_step() that returns a report,
 * the saved count after drmad_meta_load_state(). A step that returns no
 * report (cancelled, an error) leaves it, and the meta learning rate, as
 * they were. */
guint    drmad_meta_get_iteration (DrmadMeta *meta);
/* The θ this optimiser moves (borrowed: the one given to drmad_meta_new). */
DrmadHyper *drmad_meta_get_hyper (DrmadMeta *meta);

/* The resolved reverse method (auto made concrete; after drmad_run_restore(),
 * the run's recorded method where it still fits) and one sentence on why;
 * both belong to @meta and live as long as it. */
const DrmadReverseConfig *drmad_meta_get_method        (DrmadMeta *meta);
const char               *drmad_meta_get_method_reason (DrmadMeta *meta);
/* Why fidelity is never measured in this run (no more faithful method fits
 * the memory budget: "fidelity not measured: …" each time it would be), or
 * NULL where it is measured every fidelity_every meta-iterations. */
const char               *drmad_meta_get_no_fidelity_reason (DrmadMeta *meta);

/* The accepted θ with the lowest validation loss so far (NULL before the
 * first accepted meta-iteration), and that loss. The n values belong to
 * @meta, live as long as it and change with each step and load. */
const double *drmad_meta_get_best_values   (DrmadMeta *meta);
double        drmad_meta_get_best_val_loss (DrmadMeta *meta);
/* Meta-iterations since the one that measured the best validation loss
 * (all of them before the first accepted one); rejected ones count. A
 * caller that stops when it reaches N stops when the validation loss has
 * not improved for N meta-iterations. Kept in the saved state. */
guint         drmad_meta_get_stalled       (DrmadMeta *meta);

/* The last hypergradient computed (NULL before the first step). It belongs to
 * @meta: the next drmad_meta_step() may free it; copy what you need. */
const DrmadHypergradient *drmad_meta_get_last_hypergradient (DrmadMeta *meta);
/* The meta learning rate the next step takes: DrmadMetaConfig's at first,
 * halved by each rejected meta-iteration, multiplied by
 * learning_rate_growth by each new best validation loss after the first;
 * the saved one after drmad_meta_load_state(). The rate reports give as
 * meta_learning_rate. */
double drmad_meta_get_learning_rate (DrmadMeta *meta);

G_END_DECLS
