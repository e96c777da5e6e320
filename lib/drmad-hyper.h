/* drmad: hyperparameter groups and hypergradients (docs/algorithm.md §1, §2). */
#pragma once

#include <glib.h>
#include "drmad-net.h"

G_BEGIN_DECLS

#define DRMAD_HYPER_MAX_LAYERS 16

typedef enum {
  DRMAD_L2_FIXED,       /* not learned: exp(λ) = init_l2 of each layer */
  DRMAD_L2_PER_LAYER,   /* one λ per weight matrix */
  DRMAD_L2_PER_NEURON,  /* one λ per input unit of each weight matrix (row of W_l), as in DrMAD's MNIST run */
  DRMAD_L2_PER_WEIGHT,  /* one λ per weight */
} DrmadL2Granularity;

/**
 * DrmadHyperConfig:
 * Which groups are learned and where they start, in natural units per layer
 * (index 0 = the first weight layer). Fill with drmad_hyper_config_init().
 */
typedef struct {
  DrmadL2Granularity l2;
  gboolean learn_lr;            /* learning-rate schedule per layer × segments (log scale) */
  gboolean learn_momentum;      /* momentum schedule per layer × segments (logit scale) */
  gboolean learn_init_scale;    /* initial weight scale per layer (log scale) */
  guint    segments;            /* S equal segments of the T steps */
  guint64  steps;               /* T */
  double   init_l2[DRMAD_HYPER_MAX_LAYERS];        /* L2 coefficient exp(λ) */
  double   init_lr[DRMAD_HYPER_MAX_LAYERS];        /* learning rate η */
  double   init_momentum[DRMAD_HYPER_MAX_LAYERS];  /* momentum γ ∈ (0, 1) */
  double   init_scale[DRMAD_HYPER_MAX_LAYERS];     /* scale of W_0; 0 = 1/√fan_in */
} DrmadHyperConfig;

/* Defaults: per-layer L2 learned from 1e-4, lr 0.1 and momentum 0.9 fixed, S = 1, T = 100. */
void drmad_hyper_config_init (DrmadHyperConfig *config);

typedef struct _DrmadHyper DrmadHyper;

/* A new θ for nets of @net's widths, freed with drmad_hyper_free(). It copies
 * the widths and @config and keeps nothing of @net, which may be freed first;
 * pass it only with nets of those widths (the entry points check). */
DrmadHyper *drmad_hyper_new  (const DrmadNet *net, const DrmadHyperConfig *config, GError **error);
/* The same θ from the layer widths alone (input first, @n_sizes − 1 weight
 * layers): no device needed, e.g. to read and plot a finished run folder.
 * @sizes and @config are copied; free with drmad_hyper_free(). */
DrmadHyper *drmad_hyper_new_for_sizes (const guint *sizes, guint n_sizes, const DrmadHyperConfig *config,
                                       GError **error);
void        drmad_hyper_free (DrmadHyper *hyper);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DrmadHyper, drmad_hyper_free)

const DrmadHyperConfig *drmad_hyper_get_config (const DrmadHyper *hyper);  /* belongs to @hyper */
/* Weight layers L of the net the hyperparameters were made for. */
guint                   drmad_hyper_get_n_layers (const DrmadHyper *hyper);

/* The raw vector θ the meta-optimiser moves: log L2, log learning rates,
 * logit momenta, log initial scales, in that order of groups. The n values
 * belong to @hyper and live as long as it; drmad_hyper_set_values(),
 * drmad_meta_step(), drmad_meta_load_state() and drmad_run_restore() change
 * them in place. */
gsize         drmad_hyper_get_n      (const DrmadHyper *hyper);
const double *drmad_hyper_get_values (const DrmadHyper *hyper);
/* Copies @values in; refuses NaN/Inf with %DRMAD_ERROR_DIVERGED, leaving θ unchanged. */
gboolean      drmad_hyper_set_values (DrmadHyper *hyper, const double *values, GError **error);
/* A stable readable name: "l2/layer2", "l2/layer1/in17", "lr/layer1/seg3", "momentum/layer3/seg0", "init/layer1".
 * It belongs to @hyper and lives as long as it. */
const char   *drmad_hyper_get_name   (const DrmadHyper *hyper, gsize index);
/* The value in natural units (exp, sigmoid). */
double        drmad_hyper_get_natural (const DrmadHyper *hyper, gsize index);

/* The natural value of θ[@index] had it the raw value @raw. */
double        drmad_hyper_natural_of  (const DrmadHyper *hyper, gsize index, double raw);

/* What one entry of θ is: which group, which weight layer, which schedule
 * segment, which unit. Front ends use this, never the names, to place a
 * value in a plot or a table. */
typedef enum {
  DRMAD_GROUP_L2,
  DRMAD_GROUP_LR,
  DRMAD_GROUP_MOMENTUM,
  DRMAD_GROUP_INIT,
} DrmadGroupKind;

typedef struct {
  DrmadGroupKind kind;
  guint          layer;     /* weight layer, 1 … L */
  guint          segment;   /* lr, momentum: the schedule segment; else 0 */
  gint64         unit;      /* l2 per neuron: the input unit; per weight: the weight within its layer; else −1 */
} DrmadHyperEntry;

DrmadHyperEntry drmad_hyper_get_entry (const DrmadHyper *hyper, gsize index);

/* Groups: "l2", "lr", "momentum", "init", only those learned, in θ order
 * (static strings). */
guint       drmad_hyper_get_n_groups   (const DrmadHyper *hyper);
const char *drmad_hyper_get_group_name (const DrmadHyper *hyper, guint group);
void        drmad_hyper_get_group_span (const DrmadHyper *hyper, guint group, gsize *first, gsize *count);

typedef enum {
  DRMAD_METHOD_EXACT,      /* the true trajectory, checkpointed (docs/algorithm.md §2a) */
  DRMAD_METHOD_DRMAD,      /* the straight line from w_0 to w_T (§2b): R points as the authors ran it, or all T */
  DRMAD_METHOD_PIECEWISE,  /* K straight pieces (§2c) */
  DRMAD_METHOD_TRUNCATED,  /* the exact reverse pass through the last R steps only (§2d) */
  DRMAD_METHOD_AUTO,       /* exact when it fits the memory budget, else piecewise with the largest K that fits */
} DrmadMethod;

const char *drmad_method_name      (DrmadMethod method);  /* a static string */
gboolean    drmad_method_from_name (const char *name, DrmadMethod *method, GError **error);

typedef struct {
  DrmadMethod method;
  guint       checkpoint_every;  /* exact, truncated: k; 0 = ⌈√T⌉; 1 stores every step */
  guint       snapshots;         /* piecewise: K ≥ 1 (1 = DrMAD over the full line); clipped to T */
  guint64     seed;              /* initial weights and minibatches */
  guint64     reverse_steps;     /* drmad: R points spread over the line (0 = ⌈T/10⌉, the authors' code;
                                  * ≥ T = the full line of the paper's text); truncated: the last R steps
                                  * (0 = ⌈T/10⌉) */
  guint64     memory_budget;     /* auto: bytes the reverse pass may add on the device; 0 = half the
                                  * device memory not yet allocated */
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

/* "exact k=23", "piecewise K=16", "drmad R=200", "drmad R=T (full line)", "truncated R=200"
 * for a resolved configuration (no spaces around '=', no commas: a CSV cell).
 * A new string: g_free() it. */
char *drmad_reverse_config_describe (const DrmadReverseConfig *resolved, guint64 steps);

/* Device bytes the reverse pass of a resolved @config adds on @net (what
 * the memory budget and drmad_hypergradient_check_memory() compare). */
guint64 drmad_hypergradient_device_bytes (DrmadNet *net, DrmadHyper *hyper, const DrmadReverseConfig *config);

/* How close an approximate hypergradient is to a reference, over a span of θ. */
typedef struct {
  double cosine;           /* ⟨a, r⟩ / (‖a‖ ‖r‖); 1 when both are zero */
  double relative_error;   /* ‖a − r‖ / ‖r‖ */
  double sign_agreement;   /* fraction of components whose signs agree (zero counts as a sign) */
} DrmadFidelity;

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

void drmad_hypergradient_free (DrmadHypergradient *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DrmadHypergradient, drmad_hypergradient_free)

/**
 * drmad_hypergradient_compute:
 * Trains @net from scratch for T steps with the hyperparameters @hyper on
 * @train, evaluates f on @val, and runs the reverse pass of @config->method.
 * Progress phases: "train", "reverse". Leaves w_T in @net.
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

/* Trains from scratch with @hyper (no reverse pass): what the final evaluation uses.
 * Leaves the trained weights in @net; the arguments are borrowed for the call. */
gboolean drmad_hyper_train (DrmadNet *net, DrmadHyper *hyper, DrmadDeviceData *train, guint64 seed,
                            DrmadProgressFunc progress, gpointer user_data, double *train_loss,
                            GError **error);

G_END_DECLS
