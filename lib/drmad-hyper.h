/* drmad: hyperparameter groups, the raw vector θ and its layout (docs/algorithm.md §1).
 * Hypergradients of θ are in drmad-hypergradient.h. */
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
  double   init_momentum[DRMAD_HYPER_MAX_LAYERS];  /* momentum γ ∈ [1e-12, 1 − 1e-12] */
  double   init_scale[DRMAD_HYPER_MAX_LAYERS];     /* scale of W_0; 0 = 1/√fan_in */
} DrmadHyperConfig;

/* Defaults: per-layer L2 learned from 1e-4, lr 0.1 and momentum 0.9 fixed, S = 1, T = 100. */
void drmad_hyper_config_init (DrmadHyperConfig *config);

typedef struct _DrmadHyper DrmadHyper;

/* A new θ for nets of @net's widths, freed with drmad_hyper_free(). It copies
 * the widths and @config and keeps nothing of @net, which may be freed first;
 * pass it only with nets of those widths (the entry points check). Both
 * constructors refuse a θ whose entries (names included, about 72 bytes
 * each) would not fit in the machine's memory, or that has more than
 * G_MAXUINT entries, e.g. millions of segments or an L2 per weight of
 * billions of weights, with %DRMAD_ERROR_TOO_LARGE before allocating
 * anything. */
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
/* Copies @values in; refuses NaN, Inf and raw values beyond ±700 (e^700 ≈
 * 1e304, near where exp() overflows) with %DRMAD_ERROR_DIVERGED, naming the
 * entry, leaving θ unchanged. */
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

/* Entry @index < drmad_hyper_get_n(), by value. */
DrmadHyperEntry drmad_hyper_get_entry (const DrmadHyper *hyper, gsize index);

/* What a plot or a summary draws of θ = @theta (drmad_hyper_get_n() raw
 * values) for the entries of @kind: their natural values averaged
 * geometrically per cell, one cell per layer for l2 and init, one per layer
 * × segment for lr and momentum (layer by layer, config->segments each).
 * A cell with no entry (a group not learned) holds the configuration's
 * value for its layer. @out takes drmad_hyper_get_n_cells() values. */
guint drmad_hyper_get_n_cells (const DrmadHyper *hyper, DrmadGroupKind kind);
void  drmad_hyper_cells       (const DrmadHyper *hyper, const double *theta, DrmadGroupKind kind, double *out);

/* The natural values a hyperparameter may take, the same for a starting
 * value (DrmadHyperConfig, --init-l2, a drmad --evaluate line) and a
 * learned one, so that any learned θ can be given back: L2 and learning
 * rates in [1e-12, 100], momenta in [1e-12, 1 − 1e-12], initial scales in
 * [1e-12, 100] (in a DrmadHyperConfig also 0, for 1/sqrt(fan_in)). Past
 * them training overflows or never moves. */
#define DRMAD_HYPER_RATE_MIN     1e-12
#define DRMAD_HYPER_RATE_MAX     100.0
#define DRMAD_HYPER_MOMENTUM_MIN 1e-12   /* and 1 − DRMAD_HYPER_MOMENTUM_MIN the largest */
#define DRMAD_HYPER_SCALE_MIN    1e-12
#define DRMAD_HYPER_SCALE_MAX    100.0

/* Puts every entry of the raw vector @values that lies outside the ranges
 * above on the nearest bound: a meta-step projected onto them. Returns how many it
 * moved; NaN entries stay, for drmad_hyper_set_values() to refuse. */
guint drmad_hyper_clamp_range (const DrmadHyper *hyper, double *values);

/* Groups: "l2", "lr", "momentum", "init", only those learned, in θ order
 * (static strings). */
guint       drmad_hyper_get_n_groups   (const DrmadHyper *hyper);
const char *drmad_hyper_get_group_name (const DrmadHyper *hyper, guint group);
void        drmad_hyper_get_group_span (const DrmadHyper *hyper, guint group, gsize *first, gsize *count);

/* Trains from scratch with @hyper (no reverse pass): what the final evaluation uses.
 * Leaves the trained weights in @net; the arguments are borrowed for the call. */
gboolean drmad_hyper_train (DrmadNet *net, DrmadHyper *hyper, DrmadDeviceData *train, guint64 seed,
                            DrmadProgressFunc progress, gpointer user_data, double *train_loss,
                            GError **error);

G_END_DECLS
