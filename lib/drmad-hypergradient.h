/* drmad: hypergradients of θ — the reverse passes (exact, piecewise,
 * truncated, DrMAD, auto), their memory, and how close one is to another
 * (docs/algorithm.md §2, §5). Implemented in lib/reverse.c. */
#pragma once

#include <glib.h>
#include "drmad-net.h"
#include "drmad-hyper.h"

G_BEGIN_DECLS

typedef enum {
  DRMAD_METHOD_EXACT,      /* the true trajectory, checkpointed (docs/algorithm.md §2a) */
  DRMAD_METHOD_DRMAD,      /* the straight line from w_0 to w_T (§2b): R points as the authors ran it, or all T */
  DRMAD_METHOD_PIECEWISE,  /* K straight pieces (§2c) */
  DRMAD_METHOD_TRUNCATED,  /* the exact reverse pass through the last R steps only (§2d) */
  DRMAD_METHOD_AUTO,       /* exact when it fits the memory budget, else piecewise with the largest K that fits */
} DrmadMethod;

/* Names for settings and the command line: "exact", "drmad", "piecewise",
 * "truncated", "auto". The name function gives a static string ("drmad"
 * for a value out of range); the parser takes them in any case and refuses
 * any other with %DRMAD_ERROR_INVALID_ARGUMENT listing them, leaving
 * @method untouched. */
const char *drmad_method_name      (DrmadMethod method);
gboolean    drmad_method_from_name (const char *name, DrmadMethod *method, GError **error);

typedef struct {
  DrmadMethod method;
  guint       checkpoint_every;  /* exact, truncated: k; 0 = ⌈√T⌉ (truncated: ⌈√R⌉); 1 stores every step */
  guint       snapshots;         /* piecewise: K ≥ 1 (1 = DrMAD over the full line); clipped to T */
  guint64     seed;              /* initial weights and minibatches */
  guint64     reverse_steps;     /* drmad: R points spread over the line (0 = ⌈T/10⌉, the authors' code;
                                  * ≥ T = the full line of the paper's text); truncated: the last R steps
                                  * (0 = ⌈T/10⌉) */
  guint64     memory_budget;     /* auto: bytes the reverse pass may add on the device; 0 = half the
                                  * device memory not yet allocated; more than that memory counts as it */
  double      watch_factor;      /* stop the reverse pass when ‖dw‖ grows beyond this × its starting
                                  * value (0 = 1e6); %DRMAD_ERROR_UNSTABLE names the step */
} DrmadReverseConfig;

/* Defaults: auto, K = 16, k = ⌈√T⌉, seed 1, R = ⌈T/10⌉, half the free device memory, watch 1e6. */
void drmad_reverse_config_init (DrmadReverseConfig *config);

/**
 * drmad_reverse_config_resolve:
 * The concrete method @config stands for on @net and @hyper: auto becomes
 * exact or piecewise with the largest K that fits the memory budget; 0
 * defaults become their values (k, R). @reason (if set) gets one sentence
 * saying what was chosen and why, a new string to g_free().
 * %DRMAD_ERROR_TOO_LARGE when nothing fits.
 */
gboolean drmad_reverse_config_resolve (DrmadNet *net, DrmadHyper *hyper, const DrmadReverseConfig *config,
                                       DrmadReverseConfig *resolved, char **reason, GError **error);

/* "exact k=23", "piecewise K=16", "drmad R=200", "drmad R=T (full line)", "truncated R=40 k=7"
 * (R reverse steps, checkpoints every k) for a resolved configuration (no spaces around '=', no commas: a CSV cell).
 * A new string: g_free() it. */
char *drmad_reverse_config_describe (const DrmadReverseConfig *resolved, guint64 steps);

/* Device bytes the reverse pass of a resolved @config adds on @net (what
 * the memory budget and drmad_hypergradient_check_memory() compare);
 * G_MAXUINT64 when they would pass it. */
guint64 drmad_hypergradient_device_bytes (DrmadNet *net, DrmadHyper *hyper, const DrmadReverseConfig *config);

/* How close an approximate hypergradient is to a reference, over a span of θ. */
typedef struct {
  double cosine;           /* ⟨a, r⟩ / (‖a‖ ‖r‖); 1 when both are zero */
  double relative_error;   /* ‖a − r‖ / ‖r‖ */
  double sign_agreement;   /* fraction of components whose signs agree (zero counts as a sign) */
} DrmadFidelity;

/* The fidelity of @approx to @reference over entries [@first, @first +
 * @count) of both. Edge cases: @count 0, or both zero over the span, gives
 * (cosine 1, relative error 0, sign agreement 1); a zero @reference against
 * a non-zero @approx gives cosine 0 and relative error inf (no relative
 * size to measure against); a NaN in either gives NaN cosine and relative
 * error, while the sign agreement stays a fraction: it counts a NaN
 * component as a zero sign, agreeing with a zero (or NaN) one only. */
DrmadFidelity drmad_fidelity_compute (const double *approx, const double *reference, gsize first, gsize count);

/* The outcome of one forward and reverse pass. drmad_hypergradient_free()
 * frees it with its arrays; nothing in it refers to the objects it came from. */
typedef struct {
  double   train_loss;      /* mean minibatch loss of the forward run */
  double   val_loss;        /* f(θ) = CE(w_T; validation) */
  double   val_error;       /* validation error rate at w_T */
  gsize    n;               /* = drmad_hyper_get_n () */
  double  *gradient;        /* df/dθ, n numbers */
  gsize    n_params;
  double  *dw0;             /* df/dw_0, P numbers */
  guint64  device_peak_bytes;  /* device memory this pass added at its peak */
  guint64  host_peak_bytes;    /* host memory this pass allocated at its peak */
  double   forward_seconds, reverse_seconds;
  double   reverse_growth;  /* the largest ‖dw‖ seen in the reverse pass over its starting value */
} DrmadHypergradient;

/* Frees @result with its gradient and dw0 arrays; NULL is ignored. */
void drmad_hypergradient_free (DrmadHypergradient *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DrmadHypergradient, drmad_hypergradient_free)

/**
 * drmad_hypergradient_compute:
 * Trains @net from scratch for T steps with the hyperparameters @hyper on
 * @train, evaluates f on @val, and runs the reverse pass of @config->method.
 * Progress phases: "train" (T steps), "reverse", whose total depends on
 * the method (R: @config's reverse_steps as resolved, at most T): exact T,
 * or 2T with checkpoints k > 1 steps apart (each step recomputed from its
 * checkpoint and reversed, both counted); truncated R, or 2R with k > 1;
 * drmad R where R < T (points on the line), else T; piecewise T. A cancel
 * during a recomputation reports the "reverse" step the progress gave.
 * Leaves w_T in @net.
 * Returns a new result the caller frees with drmad_hypergradient_free();
 * every argument is borrowed for the call only.
 */
DrmadHypergradient *drmad_hypergradient_compute (DrmadNet *net, DrmadHyper *hyper,
                                                 DrmadDeviceData *train, DrmadDeviceData *val,
                                                 const DrmadReverseConfig *config,
                                                 DrmadProgressFunc progress, gpointer user_data,
                                                 GError **error);

/* Whether the device has room for drmad_hypergradient_compute() with
 * @config; otherwise %DRMAD_ERROR_TOO_LARGE with the bytes needed and free.
 * drmad_hypergradient_compute() checks this itself before training. */
gboolean drmad_hypergradient_check_memory (DrmadNet *net, DrmadHyper *hyper, const DrmadReverseConfig *config,
                                           GError **error);

G_END_DECLS
