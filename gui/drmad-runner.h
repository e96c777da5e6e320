/* DrmadRunner: runs one job (drmad_job_run) in a GTask worker thread and
 * reports back on the main context through signals that carry copies; no
 * widget is touched from the worker (docs/architecture.md, "Threads"). */
#pragma once

#include <glib-object.h>
#include "drmad-job.h"

G_BEGIN_DECLS

/* What the worker copied out after a meta-iteration. */
typedef struct {
  guint      iteration;          /* 1, 2, … */
  gboolean   rejected;
  char      *event;              /* why, when rejected */
  double     train_loss, val_loss, val_error, seconds, meta_learning_rate;
  char      *norms;              /* "|dl2| 0.00123  |dlr| 0.234" */
  char      *fidelity;           /* "fidelity of piecewise K=16 to exact k=23: cosine 0.97 …", when measured */
  char      *fidelity_warning;   /* below cosine 0.5: what is more faithful */
  char      *learned;            /* the learned values now (drmad_job_learned_text) */
  DrmadPlot *l2, *lr, *loss;     /* drmad_run_plots() of the run so far; a handler may steal them */
  DrmadPlot *momentum, *init, *norms_plot, *fidelity_plot;   /* drmad_run_extra_plots(); may be stolen too */
} DrmadRunnerIteration;

/* The job's started and folder events, copied (drmad-job.h). */
typedef struct {
  char          *platform, *device, *gemm;
  DrmadPrecision precision;
  guint          n_train, n_val, n_test;
} DrmadRunnerStarted;

typedef struct {
  char    *folder, *method_text, *method_reason;
  DrmadMethod method;
  guint    resumed_after;
  gboolean resumed;
  gboolean fidelity_unmeasured;   /* DrmadJobFolder's */
} DrmadRunnerFolder;

/* How the job ended. */
typedef struct {
  DrmadJobOutcome outcome;
  GError         *error;           /* unless DONE */
  DrmadJobResult  result;          /* result.folder: the run folder, or NULL */
  guint           iterations_done; /* finished meta-iterations in the run folder */
  double          seconds;
} DrmadRunnerFinish;

#define DRMAD_TYPE_RUNNER (drmad_runner_get_type ())
G_DECLARE_FINAL_TYPE (DrmadRunner, drmad_runner, DRMAD, RUNNER, GObject)

DrmadRunner *drmad_runner_new (void);

/* Runs @options in a worker thread; takes what @options holds (and zeroes
 * it). While it runs the default GApplication is held, so closing the window
 * waits for the worker. FALSE when a job is already running.
 * Signals, on the thread default main context of the caller, always from
 * its dispatch in the thread that iterates it (never on the worker, even when
 * that thread is between iterations):
 *   ::started (DrmadRunnerStarted *), ::folder (DrmadRunnerFolder *), ::notice (const char *text)
 *   ::progress (DrmadJobProgress *), one each 40 ms, besides each meta-iteration's
 *     first step and each phase's first and last (more a second where phases are short)
 *   ::iteration (DrmadRunnerIteration *)
 *   ::finished (DrmadRunnerFinish *), last */
gboolean drmad_runner_start      (DrmadRunner *self, DrmadOptions *options);
/* The worker stops within one training step; the run folder keeps every
 * finished meta-iteration. No ::progress comes after it, even one posted
 * before; the other signals still do, ::finished last with outcome
 * CANCELLED. */
void     drmad_runner_stop       (DrmadRunner *self);
gboolean drmad_runner_is_running (DrmadRunner *self);

G_END_DECLS
