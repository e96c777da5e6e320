/* A whole meta-optimisation job on the library's meta API, shared by the
 * headless runner and the window's worker thread: data, device, net, the
 * meta-iterations with the run folder and its plots, the final evaluation. */
#pragma once

#include <drmad.h>
#include "drmad-options.h"
#include "drmad-plot.h"

/* Everything a job trains on. */
typedef struct {
  DrmadDataset    *pool, *test_pool;
  DrmadSplit      *split;
  DrmadDevice     *device;
  DrmadDeviceData *train, *val, *test;
  DrmadNet        *net;
} DrmadSession;

/* Loads and splits the data, opens the device, uploads, builds the net.
 * Errors are bad input (the user can fix them). */
gboolean drmad_session_open  (DrmadSession *session, const DrmadOptions *options, DrmadPrecision precision,
                              GError **error);
void     drmad_session_clear (DrmadSession *session);
/* "device: …; data: …" */
char    *drmad_session_describe (const DrmadSession *session, DrmadPrecision precision);

typedef enum {
  DRMAD_JOB_DONE,
  DRMAD_JOB_BAD_INPUT,   /* exit status 2 */
  DRMAD_JOB_FAILED,      /* exit status 1 */
  DRMAD_JOB_CANCELLED,
} DrmadJobOutcome;

/* Called from the thread that runs the job. */
typedef struct {
  /* every step; FALSE stops the job within one step (outcome CANCELLED) */
  gboolean (*progress)  (const char *phase, guint64 step, guint64 total, guint64 meta_done, gpointer user_data);
  /* after each meta-iteration is recorded in the run folder */
  void     (*iteration) (const DrmadMetaReport *report, DrmadRun *run, DrmadHyper *hyper, gpointer user_data);
  /* a line for the user (the device, the run folder, resuming) */
  void     (*message)   (const char *text, gpointer user_data);
  gpointer user_data;
} DrmadJobCallbacks;

typedef struct {
  gboolean trained_once;   /* --meta-iters 0 */
  double   val_loss, val_error;                /* trained once */
  double   initial_test_loss, initial_test_error, learned_test_loss, learned_test_error;
  double   best_test_loss, best_test_error;  /* the best accepted θ (lowest validation loss) */
  double   best_val_loss;
  char    *folder;         /* the run folder (NULL when trained once) */
  char   **learned;        /* "name = value" lines, NULL-terminated */
} DrmadJobResult;

void drmad_job_result_clear (DrmadJobResult *result);

DrmadJobOutcome drmad_job_run (const DrmadOptions *options, const DrmadJobCallbacks *callbacks,
                               DrmadJobResult *result, GError **error);

/* The three plots of a run so far (l2, lr, loss). */
void     drmad_run_plots       (const DrmadRun *run, const DrmadHyper *hyper, DrmadPlot **l2, DrmadPlot **lr,
                                DrmadPlot **loss);
gboolean drmad_run_write_plots (const DrmadRun *run, const DrmadHyper *hyper, GError **error);

/* The plots of the run folder @folder, whose run.ini gave @options: opens the
 * data and the device as the job does, restores checkpoint.bin and builds the
 * three plots of every finished meta-iteration (@n_iterations of them). Slow
 * (it loads the data): the window calls it from a worker thread. */
gboolean drmad_run_load_plots (const char *folder, const DrmadOptions *options, guint *n_iterations,
                               DrmadPlot **l2, DrmadPlot **lr, DrmadPlot **loss, GError **error);
