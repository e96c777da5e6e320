/* DrmadRunner: drmad_job_run in a GTask thread; the worker posts copies to
 * the caller's main context, where they become signals. */
#include "drmad-runner.h"
#include "drmad-run-plots.h"

#include <gio/gio.h>
#include <string.h>

/* At most this often a progress event crosses to the main context, besides
 * each meta-iteration's first and each phase's first and last
 * (job_progress()): every step would flood it (a step can take 0.1 ms). */
#define PROGRESS_INTERVAL_US 40000

struct _DrmadRunner {
  GObject       parent_instance;
  GCancellable *cancellable;   /* of the running job, else NULL */
  GApplication *held;          /* held while a job runs */
};

G_DEFINE_FINAL_TYPE (DrmadRunner, drmad_runner, G_TYPE_OBJECT)

enum { STARTED, FOLDER, NOTICE, PROGRESS, ITERATION, FINISHED, N_SIGNALS };
static guint signals[N_SIGNALS];

/* Owned by the GTask; the worker reads options and writes the counters. */
typedef struct {
  DrmadRunner  *runner;
  GMainContext *context;
  GCancellable *cancellable;
  DrmadOptions  options;
  gint64        started_us, last_progress_us;
  guint64       last_meta_done;
  char          last_phase[16];   /* of the last progress event, crossed or not */
  guint64       last_step;
  guint         last_iteration;
} Job;

static void
job_free (gpointer data)
{
  Job *job = data;
  drmad_options_clear (&job->options);
  g_clear_object (&job->cancellable);
  g_main_context_unref (job->context);
  g_object_unref (job->runner);
  g_free (job);
}

static void
iteration_free (DrmadRunnerIteration *it)
{
  g_free (it->event);
  g_free (it->norms);
  g_free (it->fidelity);
  g_free (it->fidelity_warning);
  g_free (it->learned);
  g_clear_pointer (&it->l2, drmad_plot_free);
  g_clear_pointer (&it->lr, drmad_plot_free);
  g_clear_pointer (&it->loss, drmad_plot_free);
  g_clear_pointer (&it->momentum, drmad_plot_free);
  g_clear_pointer (&it->init, drmad_plot_free);
  g_clear_pointer (&it->norms_plot, drmad_plot_free);
  g_clear_pointer (&it->fidelity_plot, drmad_plot_free);
  g_free (it);
}

static void
finish_free (gpointer data)
{
  DrmadRunnerFinish *finish = data;
  g_clear_error (&finish->error);
  drmad_job_result_clear (&finish->result);
  g_free (finish);
}

/* ---- events: built in the worker, emitted on the main context ---- */

typedef struct {
  DrmadRunner          *runner;
  guint                 signal;   /* STARTED, FOLDER, NOTICE, PROGRESS, ITERATION */
  char                 *text;     /* the notice, or the phase */
  DrmadJobProgress      progress;
  DrmadRunnerStarted    started;
  DrmadRunnerFolder     folder;
  DrmadRunnerIteration *iteration;
} Event;

static void
event_free (gpointer data)
{
  Event *event = data;
  g_object_unref (event->runner);
  g_free (event->text);
  g_free (event->started.platform);
  g_free (event->started.device);
  g_free (event->started.gemm);
  g_free (event->folder.folder);
  g_free (event->folder.method_text);
  g_free (event->folder.method_reason);
  g_clear_pointer (&event->iteration, iteration_free);
  g_free (event);
}

static gboolean
event_dispatch (gpointer data)
{
  Event *event = data;
  switch (event->signal) {
  case STARTED:
    g_signal_emit (event->runner, signals[STARTED], 0, &event->started);
    break;
  case FOLDER:
    g_signal_emit (event->runner, signals[FOLDER], 0, &event->folder);
    break;
  case NOTICE:
    g_signal_emit (event->runner, signals[NOTICE], 0, event->text);
    break;
  case PROGRESS:
    /* Posted before a stop, dispatched after it (the main thread was
     * busy): the window's bar says "stopping…" by then, and this step put
     * back over it stayed there till the run ended, the worker posting no
     * more (job_progress()). The other events still come: what they say
     * was done. */
    if (event->runner->cancellable && g_cancellable_is_cancelled (event->runner->cancellable))
      break;
    event->progress.phase = event->text;
    g_signal_emit (event->runner, signals[PROGRESS], 0, &event->progress);
    break;
  case ITERATION:
    g_signal_emit (event->runner, signals[ITERATION], 0, event->iteration);
    break;
  }
  return G_SOURCE_REMOVE;
}

/* Always through a source that the caller's thread dispatches. Not
 * g_main_context_invoke(): from a GTask thread (no thread default context
 * of its own) it runs the function right there whenever it can acquire the
 * context, i.e. whenever the main thread is not inside an iteration at that
 * moment (between two g_main_context_iteration() calls, or in a test that
 * drives the loop by hand), and the signal handlers then touch the window
 * and free its plots on the worker, racing the main thread (a SIGSEGV in the
 * gui test). */
static void
post (Job *job, Event *event)
{
  event->runner = g_object_ref (job->runner);
  GSource *source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, event_dispatch, event, event_free);
  g_source_set_static_name (source, "[drmad] runner event");
  g_source_attach (source, job->context);
  g_source_unref (source);
}

/* ---- the callbacks drmad_job_run calls on the worker thread ---- */

static gboolean
job_progress (const DrmadJobProgress *progress, gpointer user_data)
{
  Job *job = user_data;
  if (g_cancellable_is_cancelled (job->cancellable))
    return FALSE;
  gint64 now = g_get_monotonic_time ();
  /* Besides one each interval: each meta-iteration's first event, and each
   * phase's first and last. The window's time left times a phase from its
   * first event, as the terminal's does (drmad_eta_progress_at()); and the
   * recording's one event ("saving" 0/1) comes within the interval of the
   * reverse pass's last step: dropped, the bar said "reverse 29/30" through
   * the seconds of saving a large θ. A few more events a meta-iteration
   * (the last step once, though a count held at its end repeats it). */
  gboolean new_phase = strncmp (progress->phase, job->last_phase, sizeof job->last_phase - 1) != 0;
  gboolean phase_edge = new_phase || (progress->step >= progress->total && job->last_step < progress->total);
  g_strlcpy (job->last_phase, progress->phase, sizeof job->last_phase);
  job->last_step = progress->step;
  if (now - job->last_progress_us >= PROGRESS_INTERVAL_US || progress->meta_done != job->last_meta_done
      || phase_edge) {
    job->last_progress_us = now;
    job->last_meta_done = progress->meta_done;
    Event *event = g_new0 (Event, 1);
    event->signal = PROGRESS;
    event->text = g_strdup (progress->phase);
    event->progress = *progress;
    post (job, event);
  }
  return TRUE;
}

static void
job_iteration (DrmadJobIteration *event, gpointer user_data)
{
  Job *job = user_data;
  const DrmadMetaReport *report = event->report;
  DrmadRunnerIteration *it = g_new0 (DrmadRunnerIteration, 1);
  it->iteration = report->iteration;
  it->rejected = report->rejected;
  it->event = g_strdup (report->event);
  it->train_loss = report->train_loss;
  it->val_loss = report->val_loss;
  it->val_error = report->val_error;
  it->seconds = report->seconds;
  it->meta_learning_rate = report->meta_learning_rate;
  it->norms = g_strdup (event->norms);
  it->fidelity = g_strdup (event->fidelity);
  it->fidelity_warning = g_strdup (report->fidelity_warning);
  it->learned = g_strdup (event->learned);
  it->l2 = g_steal_pointer (&event->l2);
  it->lr = g_steal_pointer (&event->lr);
  it->loss = g_steal_pointer (&event->loss);
  drmad_run_extra_plots (event->run, event->hyper, &it->momentum, &it->init, &it->norms_plot, &it->fidelity_plot);
  job->last_iteration = report->iteration;
  Event *posted = g_new0 (Event, 1);
  posted->signal = ITERATION;
  posted->iteration = it;
  post (job, posted);
}

static void
job_started (const DrmadJobStarted *started, gpointer user_data)
{
  Event *event = g_new0 (Event, 1);
  event->signal = STARTED;
  event->started = (DrmadRunnerStarted) {
    g_strdup (started->platform), g_strdup (started->device), g_strdup (started->gemm), started->precision,
    started->n_train, started->n_val, started->n_test,
  };
  post (user_data, event);
}

static void
job_folder (const DrmadJobFolder *folder, gpointer user_data)
{
  Job *job = user_data;
  /* The window's time left starts again here (drmad_eta_start() in
   * on_runner_folder(), as the terminal's does), so the next step starts
   * a phase there: meta-iteration 1's "train" 1/T. Here it followed the
   * "train" 0/T the job reports before it makes the folder, no new phase
   * and within the interval: the window timed meta-iteration 1's training
   * from its last step. */
  job->last_phase[0] = 0;
  Event *event = g_new0 (Event, 1);
  event->signal = FOLDER;
  event->folder = (DrmadRunnerFolder) {
    g_strdup (folder->folder), g_strdup (folder->method_text), g_strdup (folder->method_reason),
    folder->method ? folder->method->method : DRMAD_METHOD_AUTO, folder->resumed_after, folder->resumed,
    folder->fidelity_unmeasured,
  };
  post (user_data, event);
}

static void
job_notice (const char *text, gpointer user_data)
{
  Event *event = g_new0 (Event, 1);
  event->signal = NOTICE;
  event->text = g_strdup (text);
  post (user_data, event);
}

static void
job_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *unused)
{
  Job *job = task_data;
  DrmadJobCallbacks callbacks = { job_started, job_folder, job_progress, job_iteration, job_notice, job };
  DrmadRunnerFinish *finish = g_new0 (DrmadRunnerFinish, 1);
  finish->outcome = drmad_job_run (&job->options, &callbacks, &finish->result, &finish->error);
  finish->iterations_done = job->last_iteration;
  finish->seconds = (g_get_monotonic_time () - job->started_us) / 1e6;
  g_task_return_pointer (task, finish, finish_free);
}

/* On the main context, after every event the worker posted (same priority, posted earlier). */
static void
job_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  DrmadRunner *self = DRMAD_RUNNER (source);
  DrmadRunnerFinish *finish = g_task_propagate_pointer (G_TASK (result), NULL);
  g_clear_object (&self->cancellable);
  g_signal_emit (self, signals[FINISHED], 0, finish);
  finish_free (finish);
  if (self->held) {
    g_application_release (self->held);
    g_clear_object (&self->held);
  }
}

gboolean
drmad_runner_start (DrmadRunner *self, DrmadOptions *options)
{
  g_return_val_if_fail (DRMAD_IS_RUNNER (self), FALSE);
  if (self->cancellable)
    return FALSE;
  Job *job = g_new0 (Job, 1);
  job->runner = g_object_ref (self);
  job->context = g_main_context_ref_thread_default ();
  job->cancellable = g_cancellable_new ();
  job->options = *options;
  memset (options, 0, sizeof *options);
  job->started_us = g_get_monotonic_time ();
  job->last_meta_done = G_MAXUINT64;
  self->cancellable = g_object_ref (job->cancellable);
  if ((self->held = g_application_get_default ())) {
    g_object_ref (self->held);
    g_application_hold (self->held);
  }
  /* No cancellable on the task itself: a stopped job still returns its
   * DrmadRunnerFinish (what was kept, and where). */
  g_autoptr (GTask) task = g_task_new (self, NULL, job_done, NULL);
  g_task_set_source_tag (task, drmad_runner_start);
  g_task_set_task_data (task, job, job_free);
  g_task_run_in_thread (task, job_thread);
  return TRUE;
}

void
drmad_runner_stop (DrmadRunner *self)
{
  g_return_if_fail (DRMAD_IS_RUNNER (self));
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
}

gboolean
drmad_runner_is_running (DrmadRunner *self)
{
  g_return_val_if_fail (DRMAD_IS_RUNNER (self), FALSE);
  return self->cancellable != NULL;
}

static void
drmad_runner_dispose (GObject *object)
{
  DrmadRunner *self = DRMAD_RUNNER (object);
  /* A running job holds a reference, so this only runs once it is over. */
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (drmad_runner_parent_class)->dispose (object);
}

static void
drmad_runner_class_init (DrmadRunnerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->dispose = drmad_runner_dispose;
  signals[STARTED] = g_signal_new ("started", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                   G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[FOLDER] = g_signal_new ("folder", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                  G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[NOTICE] = g_signal_new ("notice", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                  G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[PROGRESS] = g_signal_new ("progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                    G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[ITERATION] = g_signal_new ("iteration", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                     NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[FINISHED] = g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                    G_TYPE_NONE, 1, G_TYPE_POINTER);
}

static void
drmad_runner_init (DrmadRunner *self)
{
}

DrmadRunner *
drmad_runner_new (void)
{
  return g_object_new (DRMAD_TYPE_RUNNER, NULL);
}
