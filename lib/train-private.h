/* Internal: the trainer struct, shared by train.c and reverse.c. */
#pragma once

#include "net-private.h"

/* Steps between host synchronisations: the only read-back inside a run is
 * the running loss sum (one scalar), every SYNC_EVERY steps, which also
 * paces progress reports and cancellation. */
#define DRMAD_SYNC_EVERY 16
/* the lead of progress over the steps done (drmad-net.h) */
G_STATIC_ASSERT (DRMAD_PROGRESS_LEAD == 2 * DRMAD_SYNC_EVERY);

struct _DrmadTrainer {
  DrmadNet    *net;
  guint        n_segments;     /* S: η and γ hold S vectors of P numbers */
  guint64      horizon;        /* T: step t uses segment ⌊t·S/T⌋ */
  DrmadBuffer *velocity;       /* v */
  DrmadBuffer *eta, *gamma;    /* S × P; NULL until a schedule is set or a step needs the default */
  DrmadBuffer *l2;             /* P: exp(λ) on weights, 0 on biases */
  guint64      poison_step;    /* test hook: a NaN enters g at this step (G_MAXUINT64: never) */
  DrmadUniformRuns *uniform;   /* fused host path: n_segments of them (else NULL) */
};

/* The uniform stretches of segment @segment, or NULL (lib/net-private.h). */
const DrmadUniformRuns *drmad_trainer_uniform (const DrmadTrainer *trainer, guint segment);

/* Segment of step @t. */
guint drmad_trainer_segment (const DrmadTrainer *trainer, guint64 t);

/* Enqueues step @t (gradient at net->params, then the §1 update of
 * net->params and the velocity); leaves g_t in net->grad. No host sync. */
gboolean drmad_trainer_enqueue_step (DrmadTrainer *trainer, DrmadDeviceData *train, guint64 seed,
                                     guint64 t, GError **error);

/* The one training loop: steps [@from, @to) from the net's current w and
 * the trainer's v. Before each step t (and once more with t = @to when
 * @to = @total) @before, when set, may store what it needs; while the net
 * runs its steps on the calling thread (drmad_net_host_direct_begin,
 * net->host_direct) it must queue nothing, and copies on the host. The loss sum is
 * read every DRMAD_SYNC_EVERY steps without draining the queue (NaN/Inf fail
 * a block later) and at the end (into @loss_sum);
 * @progress, when set, hears (@phase, t + 1 − @from, @to − @from) after
 * every step, and FALSE from it cancels. */
typedef gboolean (*DrmadStepHook) (guint64 t, gpointer data, GError **error);

gboolean drmad_trainer_run_steps (DrmadTrainer *trainer, DrmadDeviceData *train, guint64 seed, guint64 from,
                                  guint64 to, guint64 total, const char *phase, DrmadStepHook before,
                                  gpointer before_data, DrmadProgressFunc progress, gpointer user_data,
                                  double *loss_sum, GError **error);
