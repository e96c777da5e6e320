/* A whole meta-optimisation job on the library's meta API, shared by the
 * headless runner and the window's worker thread: data, device, net, the
 * meta-iterations with the run folder and its plots, the final evaluation. */
#pragma once

#include <drmad.h>
#include "drmad-options.h"
#include "drmad-plot.h"

/* Everything a job trains on. The loaded pool and the split's host copy
 * are freed once the device holds the data (the process's memory peak).
 * A dataset with a test set of its own (IDX t10k files, CIFAR-10's
 * test_batch) leaves @test NULL until drmad_session_get_test() draws it
 * again from its files: the meta-iterations never use it, and its rows
 * would add to their peak. */
typedef struct {
  DrmadDevice     *device;
  DrmadDeviceData *train, *val, *test;
  DrmadNet        *net;
  guint            n_train, n_val, n_test;   /* n_train: this process's part */
  guint            part, parts;              /* the part of the training split trained on (0 of 1: all) */
  guint            n_train_split;            /* the whole training split */
  char            *data_identity;   /* "data=SOURCE N+N+N examples md5 …": what was loaded (the whole split) */
  /* What drmad_session_get_test() needs to draw the test set again. */
  char            *test_dataset;    /* --dataset, as given */
  guint64          test_seed;
  guint            test_classes;
  DrmadPrecision   test_precision;
  float           *test_mean, *test_std;   /* the split's standardisation */
  char            *test_md5;        /* of the test set as first drawn */
} DrmadSession;

/* Loads and splits the data, opens the device, uploads, builds the net.
 * Errors are bad input (the user can fix them). */
gboolean drmad_session_open  (DrmadSession *session, const DrmadOptions *options, DrmadPrecision precision,
                              GError **error);
/* The same on part @part of @parts of the training split
 * (drmad_dataset_shard; --shard-data); validation and test stay whole. */
gboolean drmad_session_open_part (DrmadSession *session, const DrmadOptions *options, DrmadPrecision precision,
                                  guint part, guint parts, GError **error);
void     drmad_session_clear (DrmadSession *session);
/* The test set on the device: drawn again from the dataset's files on the
 * first call when the session deferred it (then checked against what was
 * first loaded: a file changed since is an error), kept after. */
DrmadDeviceData *drmad_session_get_test (DrmadSession *session, GError **error);
/* "device: …; data: …" */
char    *drmad_session_describe (const DrmadSession *session, DrmadPrecision precision);

typedef enum {
  DRMAD_JOB_DONE,
  DRMAD_JOB_BAD_INPUT,   /* exit status 2 */
  DRMAD_JOB_FAILED,      /* exit status 1 */
  DRMAD_JOB_CANCELLED,
} DrmadJobOutcome;

/* The typed events a job reports to its front end (the terminal, the
 * window's runner), in this order: started (once the data and the device
 * are open), folder (meta-optimisation only), then progress and iteration
 * events, notices at any time; drmad_job_run()'s return and DrmadJobResult
 * are the finish. Everything a handler receives belongs to the job and
 * lives only for the call, unless said otherwise. */
typedef struct {
  const char *platform, *device;   /* the OpenCL platform and device names */
  const char *gemm;                /* "host", "clblast" */
  DrmadPrecision precision;
  guint n_train, n_val, n_test;    /* examples in each split (n_train: this process's part) */
  guint parts, n_train_split;      /* --shard-data: the training split's n_train_split examples in parts (else 1) */
} DrmadJobStarted;

typedef struct {
  const char *folder;
  guint       resumed_after;       /* finished meta-iterations found there (0: a new run) */
  gboolean    resumed;             /* --resume was given */
  const DrmadReverseConfig *method;   /* the resolved reverse method */
  const char *method_text;         /* "exact k=23" */
  const char *method_reason;       /* one sentence: what auto chose and why */
  gboolean    fidelity_unmeasured; /* no reference fits: fidelity is never measured (drmad_eta_set_fidelity()) */
} DrmadJobFolder;

typedef struct {
  const char *phase;               /* "train", "reverse", "fidelity" (drmad_meta_step()), "saving" (the run
                                    * folder, step 0 of 1), "final" (the final evaluation's three trainings),
                                    * "warm start" */
  guint64     step, total;         /* within the phase */
  guint64     meta_done;           /* finished meta-iterations; = meta_total in the final evaluation */
  guint64     meta_total;
} DrmadJobProgress;

typedef struct {
  const DrmadMetaReport *report;
  DrmadRun              *run;
  DrmadHyper            *hyper;
  guint64                meta_total;
  DrmadPlot             *l2, *lr, *loss;  /* drmad_run_plots() of the run so far, drawn once; a handler may steal them */
  char                  *norms;           /* "|dl2| 0.00123  |dlr| 0.234" */
  char                  *fidelity;        /* one line when fidelity was measured, else NULL */
  char                  *learned;         /* drmad_job_learned_text () of θ now */
} DrmadJobIteration;

/* Called from the thread that runs the job; any may be NULL. */
typedef struct {
  void     (*started)   (const DrmadJobStarted *event, gpointer user_data);
  void     (*folder)    (const DrmadJobFolder *event, gpointer user_data);
  /* every step; FALSE stops the job within one step (outcome CANCELLED) */
  gboolean (*progress)  (const DrmadJobProgress *event, gpointer user_data);
  /* after each meta-iteration is recorded in the run folder */
  void     (*iteration) (DrmadJobIteration *event, gpointer user_data);
  /* a line for the user that is none of the above (a warning, resuming) */
  void     (*notice)    (const char *text, gpointer user_data);
  gpointer user_data;
} DrmadJobCallbacks;

/* "device: P: D (host GEMM, float32); data: N train, N validation, N test examples" */
char *drmad_job_started_describe (const DrmadJobStarted *event);

/* The time left, for the terminal's bar and the window's. Each phase is
 * timed: a meta-iteration is its training, its reverse pass (in the ratio
 * to its training the last meta-iteration had; 1:1 before the first), the
 * fidelity measurement where one runs (at 1 and every fidelity_every), and
 * the recording; the iterations still to come take the mean wall-clock time
 * of the finished ones (their fidelity measurements apart). The final
 * evaluation ("final", its three trainings as one count of steps) and
 * training once take what their steps so far took; before a phase's own
 * steps are timed, what was timed before it (README, "Progress and the
 * time left"). */
typedef struct {
  gint64  meta_started_us;     /* the current meta-iteration's first progress */
  guint64 meta_first, meta_current, meta_total;
  double  seconds_sum;         /* DrmadMetaReport.seconds of the finished meta-iterations */
  guint   seconds_n;
  guint   fidelity_every;      /* as DrmadMetaConfig's; 0 = never */
  /* wall-clock, finished meta-iterations: all, and the fidelity part */
  gint64  last_end_us;
  double  wall_sum, fidelity_sum;
  guint   fidelity_n;
  /* the current phase, and the current and last meta-iteration's phases */
  char    phase[16];
  gint64  phase_started_us, last_event_us;
  guint64 phase_first_step;    /* the step of the phase's first event */
  /* the event the phase's pace is timed from: the first DRMAD_PROGRESS_LEAD
   * steps past phase_first_step, whose reports may come at once */
  gboolean anchored;
  gint64  anchor_us;
  guint64 anchor_step;
  double  train_s, reverse_s, fidelity_s, last_train_s, last_reverse_s;
} DrmadEta;

void   drmad_eta_start     (DrmadEta *eta, guint64 meta_first, guint64 meta_total);
/* Updates from a progress event; returns the seconds left (NAN when unknown)
 * and, in @fraction, how much of the meta-iterations of this session is done. */
double drmad_eta_progress  (DrmadEta *eta, const DrmadJobProgress *event, double *fraction);
/* The same at the monotonic time @now_us (g_get_monotonic_time()). */
double drmad_eta_progress_at (DrmadEta *eta, const DrmadJobProgress *event, gint64 now_us, double *fraction);
/* A meta-iteration recorded (@seconds: its report's). */
void   drmad_eta_iteration (DrmadEta *eta, double seconds);
/* The method the run uses: exact is its own fidelity reference (no fidelity phase). */
void   drmad_eta_set_method (DrmadEta *eta, DrmadMethod method);
/* Whether the run measures fidelity at all (DrmadJobFolder.fidelity_unmeasured):
 * where it cannot, no meta-iteration has a fidelity phase to wait for. */
void   drmad_eta_set_fidelity (DrmadEta *eta, gboolean measured);
void   drmad_eta_iteration_at (DrmadEta *eta, double seconds, gint64 now_us);

typedef struct {
  gboolean trained_once;   /* --meta-iters 0 */
  double   val_loss, val_error;                /* trained once */
  double   initial_test_loss, initial_test_error, learned_test_loss, learned_test_error;
  double   best_test_loss, best_test_error;  /* the best accepted θ (lowest validation loss) */
  /* The final evaluation's training with that θ diverged: its test loss is
   * inf and its error 1, as drmad --evaluate reports diverged=1. */
  gboolean initial_diverged, learned_diverged, best_diverged;
  double   best_val_loss;
  char    *folder;         /* the run folder (NULL when trained once) */
  char   **learned;        /* "name = value" lines, NULL-terminated */
  char    *best;           /* the best accepted θ as one drmad --evaluate line ("l2/layer1=… lr/layer1/seg0=…") */
  guint    best_iteration; /* the meta-iteration that measured it (its θ is hyper.csv's iteration before) */
  /* One of several processes: every rank reached this same error from what
   * all of them sent (drmad_job_run_ranks), and rank 0 alone reports it and
   * ends the others. */
  gboolean rank_0_reports;
  gboolean final_unrecorded; /* the job failed writing the final evaluation, whose numbers above are set */
  /* --force over an earlier run, stopped before its first record: the folder
   * still holds the earlier run as it was (--resume would continue that one) */
  gboolean earlier_run_kept;
} DrmadJobResult;

void drmad_job_result_clear (DrmadJobResult *result);

DrmadJobOutcome drmad_job_run (const DrmadOptions *options, const DrmadJobCallbacks *callbacks,
                               DrmadJobResult *result, GError **error);

/* The processes a job is one of (docs/distributed.md): each trains with seed + rank
 * (initial weights and minibatches; the split stays that of the seed, and
 * with --shard-data each trains on part rank of size of its training set),
 * @reduce averages the hypergradient and its scalars over all of them
 * (drmad_meta_set_reduce), @check_theta confirms after every
 * meta-iteration that θ is the same on all of them (FALSE with a message
 * when not). Only rank 0 writes the run folder, reports folder and
 * iteration events and runs the final evaluation; run.ini records @size and
 * whether the data is sharded in its [mpi] group, and --resume refuses a
 * folder run with another number of processes or the other choice of
 * --shard-data. @gather hands every rank the text each rank passed it (a
 * GStrv of @size, rank order): the job compares the settings of every rank
 * with rank 0's before the first meta-iteration (drmad_job_settings_differ).
 * The three functions are collective: every rank calls them, in the same
 * order. */
typedef struct {
  guint               rank, size;
  /* the command that started them ("mpirun", "srun"; NULL: "mpirun"), for
   * advice that starts as many again (--resume) */
  const char         *launcher;
  DrmadMetaReduceFunc reduce;
  gboolean          (*check_theta) (const double *theta, gsize n, guint iteration, gpointer user_data,
                                    GError **error);
  char            **(*gather) (const char *text, gpointer user_data, GError **error);
  gpointer            user_data;
} DrmadJobRanks;

/* The settings of each rank (@texts, one "key=value" line each, as the job
 * gathers them) against rank 0's: NULL when all are the same, else what the
 * first rank that differs has where rank 0 has something else, for an
 * error message. */
char *drmad_job_settings_differ (const char *const *texts, guint n);

/* drmad_job_run() as one of @ranks->size processes; @ranks NULL: alone. */
DrmadJobOutcome drmad_job_run_ranks (const DrmadOptions *options, const DrmadJobRanks *ranks,
                                     const DrmadJobCallbacks *callbacks, DrmadJobResult *result, GError **error);

/* The number of processes the run folder @folder was run with (its run.ini's
 * [mpi] ranks; 1 when absent), and in @shard_data (may be NULL) whether each
 * trained on its own part of the data ([mpi] shard-data; FALSE when absent).
 * FALSE when run.ini cannot be read or holds a bad value. */
gboolean drmad_job_folder_ranks (const char *folder, guint *ranks, gboolean *shard_data, GError **error);

/* The three plots of a run so far (l2, lr, loss). */
void     drmad_run_plots       (const DrmadRun *run, const DrmadHyper *hyper, DrmadPlot **l2, DrmadPlot **lr,
                                DrmadPlot **loss);
gboolean drmad_run_write_plots (const DrmadRun *run, const DrmadHyper *hyper, GError **error);
/* Those files' names, and the same three PNGs in memory (@pngs[3], new), byte
 * for byte what drmad_run_write_plots() writes for the same history. */
extern const char *const drmad_run_plot_files[3];
gboolean drmad_run_plot_pngs (const DrmadRun *run, const DrmadHyper *hyper, GBytes **pngs, GError **error);

/* The plots of the run folder @folder, whose run.ini gave @options: reads
 * the history in checkpoint.bin (no device, no data) and builds the three
 * plots of every finished meta-iteration (@n_iterations of them). */
/* One finished meta-iteration's numbers, as the window's summary shows them. */
typedef struct {
  guint    iteration;
  gboolean rejected;
  double   train_loss, val_loss, val_error;   /* NaN when rejected before they were known */
  double   seconds;
} DrmadJobRow;

/* "final test error 15.76 % → 14.93 % (best accepted values 14.65 %)" from
 * the final rows of @folder's history.csv, or NULL before the final evaluation. */
char *drmad_run_final_text (const char *folder);

/* @rows gets a GArray of DrmadJobRow, one per finished meta-iteration, and
 * @learned the learned values after the last (drmad_job_learned_text), or NULL. */
gboolean drmad_run_load_rows (const char *folder, const DrmadOptions *options, GArray **rows, char **learned,
                              GError **error);
/* The same from a run already loaded (drmad_run_load). */
void     drmad_run_rows      (const DrmadRun *run, const DrmadHyper *hyper, GArray **rows, char **learned);

/* The run folder @folder whose run.ini gave @options, read-only (no lock,
 * no device, no data): its θ's layout in @hyper and its history, read from
 * checkpoint.bin once, in @run (both new). The drmad_run_load_… calls each
 * read it again: a caller that wants several of their results loads once
 * and passes @run and @hyper to drmad_run_plots(), drmad_run_rows() and
 * drmad_run_extra_plots(). */
gboolean drmad_run_load (const char *folder, const DrmadOptions *options, DrmadHyper **hyper, DrmadRun **run,
                         GError **error);

/* The rows of a run folder's history.csv and hyper.csv as read (the
 * window's Export cuts them to the meta-iteration its checkpoint.bin
 * holds). drmad_history_csv_rows: how many meta-iteration rows @contents
 * has (each starts with its iteration; the final rows with "final-");
 * @kept_iteration gets the iteration of row @keep (0 when @keep is 0),
 * @kept_end the offset just after that row (after the header line when
 * @keep is 0), @last the iteration of the last row (0 when none).
 * drmad_hyper_csv_rows: the iteration of hyper.csv @contents' last row (0
 * when none); @kept_end gets the offset just after the last row of
 * iteration @keep or before (rows go in the order of their iterations).
 * Bytes after its last newline (a row a run is appending, or was killed
 * appending) are no row: @kept_end is before them. */
guint64 drmad_history_csv_rows (GBytes *contents, guint64 keep, guint64 *kept_iteration, gsize *kept_end,
                                guint64 *last);
guint64 drmad_hyper_csv_rows   (GBytes *contents, guint64 keep, gsize *kept_end);

/* "L2 per layer: …\nlearning rate per segment:\n   layer 1: …" for θ = @theta
 * (finer-grained L2 summarised per layer by the geometric mean), then
 * "momentum per segment:" and "initial scale per layer:" where learned. */
char *drmad_job_learned_text (const DrmadHyper *hyper, const double *theta);

gboolean drmad_run_load_plots (const char *folder, const DrmadOptions *options, guint *n_iterations,
                               DrmadPlot **l2, DrmadPlot **lr, DrmadPlot **loss, GError **error);
