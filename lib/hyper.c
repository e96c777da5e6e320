/* Hyperparameter groups: the raw vector θ, its names, and its map to the
 * per-parameter η, γ, exp(λ) and initial scales (docs/algorithm.md §1). */
#include "hyper-private.h"
#include "environment-private.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

enum { GROUP_L2 = DRMAD_GROUP_L2, GROUP_LR = DRMAD_GROUP_LR, GROUP_MOMENTUM = DRMAD_GROUP_MOMENTUM,
       GROUP_INIT = DRMAD_GROUP_INIT, N_GROUP_KINDS };
static const char *const group_names[N_GROUP_KINDS] = { "l2", "lr", "momentum", "init" };

struct _DrmadHyper {
  DrmadHyperConfig config;
  guint            n_layers;
  guint            sizes[DRMAD_HYPER_MAX_LAYERS + 1];
  gsize            n;
  double          *values;
  char           **names;
  DrmadHyperEntry *entries;
  guint            n_groups;
  guint            group_kind[N_GROUP_KINDS];
  gsize            group_first[N_GROUP_KINDS], group_count[N_GROUP_KINDS];
  gsize            first_of[N_GROUP_KINDS];   /* by kind; only valid when learned */
  gboolean         learned[N_GROUP_KINDS];
};

void
drmad_hyper_config_init (DrmadHyperConfig *config)
{
  memset (config, 0, sizeof *config);
  config->l2 = DRMAD_L2_PER_LAYER;
  config->segments = 1;
  config->steps = 100;
  for (guint l = 0; l < DRMAD_HYPER_MAX_LAYERS; l++) {
    config->init_l2[l] = 1e-4;
    config->init_lr[l] = 0.1;
    config->init_momentum[l] = 0.9;
    config->init_scale[l] = 0;
  }
}

static double logit (double p) { return log (p / (1 - p)); }
static double sigmoid (double x) { return 1 / (1 + exp (-x)); }

void
drmad_hyper_free (DrmadHyper *hyper)
{
  if (!hyper)
    return;
  g_free (hyper->values);
  g_strfreev (hyper->names);
  g_free (hyper->entries);
  g_free (hyper);
}

static gsize
l2_count (const DrmadHyper *hyper, guint l)
{
  switch (hyper->config.l2) {
  case DRMAD_L2_PER_LAYER: return 1;
  case DRMAD_L2_PER_NEURON: return hyper->sizes[l - 1];
  case DRMAD_L2_PER_WEIGHT: return (gsize) hyper->sizes[l - 1] * hyper->sizes[l];
  default: return 0;
  }
}

DrmadHyper *
drmad_hyper_new (const DrmadNet *net, const DrmadHyperConfig *config, GError **error)
{
  guint sizes[DRMAD_HYPER_MAX_LAYERS + 2];
  guint L = drmad_net_get_n_layers (net);
  if (L > DRMAD_HYPER_MAX_LAYERS) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT, "the net has %u weight layers: at most %d are "
                 "supported", L, DRMAD_HYPER_MAX_LAYERS);
    return NULL;
  }
  for (guint l = 0; l <= L; l++)
    sizes[l] = drmad_net_get_size (net, l);
  return drmad_hyper_new_for_sizes (sizes, L + 1, config, error);
}

/* Host bytes each entry of θ takes here: its value, its entry, its name
 * (a pointer and a heap block of up to 32 bytes). */
#define ENTRY_HOST_BYTES (sizeof (double) + sizeof (DrmadHyperEntry) + sizeof (char *) + 32)

/* Refuses, before anything is allocated, a θ whose entries would not fit
 * in the memory this process may still take (%DRMAD_ERROR_TOO_LARGE):
 * millions of segments, or a per-weight L2 of billions of weights, made
 * GLib abort the process when an allocation failed. That memory is
 * drmad_memory_room's (MemAvailable, or the room under the process's
 * cgroup memory limit), not the machine's physical memory, which a
 * container's limit leaves far behind: there the kernel's OOM killer ended
 * the process without a word. */
static gboolean
check_size (const guint *sizes, guint L, const DrmadHyperConfig *config, GError **error)
{
  double entries = 0;   /* a double: a per-weight count may pass 2^64 over 16 layers */
  for (guint l = 1; l <= L; l++) {
    if (config->l2 == DRMAD_L2_PER_LAYER)
      entries += 1;
    else if (config->l2 == DRMAD_L2_PER_NEURON)
      entries += sizes[l - 1];
    else if (config->l2 == DRMAD_L2_PER_WEIGHT)
      entries += (double) sizes[l - 1] * sizes[l];
    entries += ((config->learn_lr ? 1 : 0) + (config->learn_momentum ? 1 : 0)) * (double) config->segments
               + (config->learn_init_scale ? 1 : 0);
  }
  g_autofree char *bound = NULL;
  guint64 room = drmad_memory_room (FALSE, &bound);
  double memory = room == G_MAXUINT64 ? (double) G_MAXSIZE : (double) room;
  double bytes = entries * ENTRY_HOST_BYTES;
  /* The names, values and entries are built in GLib arrays, whose length
   * is a guint: past G_MAXUINT entries GLib aborts, whatever the memory. */
  if (bytes <= MIN (memory, (double) G_MAXSIZE / 2) && entries <= G_MAXUINT)
    return TRUE;
  const char *l2 = config->l2 == DRMAD_L2_PER_WEIGHT ? "per weight" : config->l2 == DRMAD_L2_PER_NEURON
                   ? "per neuron" : config->l2 == DRMAD_L2_PER_LAYER ? "per layer" : "fixed";
  if (entries > G_MAXUINT)
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE,
                 "the hyperparameters would have %.4g entries (%u segments; L2 %s), more than the %u they may "
                 "have: use fewer segments or a coarser L2", entries, config->segments, l2, G_MAXUINT);
  else {
    g_autofree char *need = drmad_memory_text ((guint64) bytes), *have = drmad_memory_text ((guint64) memory);
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE,
                 "the hyperparameters would have %.4g entries (%u segments; L2 %s), %s of host memory for "
                 "their values and names; this process may take %s more (%s): use fewer segments or a coarser L2",
                 entries, config->segments, l2, need, have, bound);
  }
  return FALSE;
}

DrmadHyper *
drmad_hyper_new_for_sizes (const guint *sizes, guint n_sizes, const DrmadHyperConfig *config, GError **error)
{
  guint L = n_sizes > 0 ? n_sizes - 1 : 0;
  g_autofree char *bad = NULL;
  if (L < 1)
    bad = g_strdup_printf ("a net needs at least one weight layer (two widths), got %u widths", n_sizes);
  else if (L > DRMAD_HYPER_MAX_LAYERS)
    bad = g_strdup_printf ("%u weight layers: at most %d are supported", L, DRMAD_HYPER_MAX_LAYERS);
  else if (config->segments == 0 || config->steps == 0)
    bad = g_strdup_printf ("%u segments of %" G_GUINT64_FORMAT " steps T: both must be at least 1",
                           config->segments, config->steps);
  else if (config->segments > config->steps)
    bad = g_strdup_printf ("%u schedule segments of %" G_GUINT64_FORMAT " training steps: there cannot be more "
                           "segments than steps", config->segments, config->steps);
  else if ((guint) config->l2 > DRMAD_L2_PER_WEIGHT)
    bad = g_strdup_printf ("L2 granularity %d: expected a DrmadL2Granularity, 0 to %d", (int) config->l2,
                           DRMAD_L2_PER_WEIGHT);
  for (guint l = 0; !bad && l <= L; l++)
    if (sizes[l] == 0)
      bad = g_strdup_printf ("layer %u has width 0: every width must be at least 1", l);
  for (guint l = 0; !bad && l < L; l++) {
    const double rate_lo = DRMAD_HYPER_RATE_MIN, rate_hi = DRMAD_HYPER_RATE_MAX;
    const double momentum_lo = DRMAD_HYPER_MOMENTUM_MIN, momentum_hi = 1 - DRMAD_HYPER_MOMENTUM_MIN;
    if (!(config->init_l2[l] >= rate_lo && config->init_l2[l] <= rate_hi))
      bad = g_strdup_printf ("initial L2 coefficient of weight layer %u is %g: expected a number from %g up to %g",
                             l + 1, config->init_l2[l], rate_lo, rate_hi);
    else if (!(config->init_lr[l] >= rate_lo && config->init_lr[l] <= rate_hi))
      bad = g_strdup_printf ("initial learning rate of weight layer %u is %g: expected a number from %g up to %g",
                             l + 1, config->init_lr[l], rate_lo, rate_hi);
    else if (!(config->init_momentum[l] >= momentum_lo && config->init_momentum[l] <= momentum_hi))
      bad = g_strdup_printf ("initial momentum of weight layer %u is %g: expected a number from %g up to 1 − %g",
                             l + 1, config->init_momentum[l], momentum_lo, momentum_lo);
    else if (!(config->init_scale[l] == 0
               || (config->init_scale[l] >= DRMAD_HYPER_SCALE_MIN && config->init_scale[l] <= DRMAD_HYPER_SCALE_MAX)))
      bad = g_strdup_printf ("initial scale of weight layer %u is %g: expected 0 (= 1/sqrt(fan_in)) or a number "
                             "from %g up to %g", l + 1, config->init_scale[l], DRMAD_HYPER_SCALE_MIN,
                             DRMAD_HYPER_SCALE_MAX);
  }
  if (bad) {
    g_set_error_literal (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT, bad);
    return NULL;
  }
  if (!check_size (sizes, L, config, error))
    return NULL;

  g_autoptr (DrmadHyper) hyper = g_new0 (DrmadHyper, 1);
  hyper->config = *config;
  hyper->n_layers = L;
  for (guint l = 0; l <= L; l++)
    hyper->sizes[l] = sizes[l];
  for (guint l = 0; l < L; l++)
    if (hyper->config.init_scale[l] == 0)
      hyper->config.init_scale[l] = 1 / sqrt (hyper->sizes[l]);
  hyper->learned[GROUP_L2] = config->l2 != DRMAD_L2_FIXED;
  hyper->learned[GROUP_LR] = config->learn_lr;
  hyper->learned[GROUP_MOMENTUM] = config->learn_momentum;
  hyper->learned[GROUP_INIT] = config->learn_init_scale;

  GPtrArray *names = g_ptr_array_new ();
  GArray *values = g_array_new (FALSE, FALSE, sizeof (double));
  GArray *entries = g_array_new (FALSE, FALSE, sizeof (DrmadHyperEntry));
  const DrmadHyperConfig *c = &hyper->config;
  for (guint kind = 0; kind < N_GROUP_KINDS; kind++) {
    if (!hyper->learned[kind])
      continue;
    hyper->group_kind[hyper->n_groups] = kind;
    hyper->group_first[hyper->n_groups] = hyper->first_of[kind] = names->len;
    for (guint l = 1; l <= L; l++) {
      double v;
      switch (kind) {
      case GROUP_L2:
        v = log (c->init_l2[l - 1]);
        for (gsize j = 0, count = l2_count (hyper, l); j < count; j++) {
          g_ptr_array_add (names, c->l2 == DRMAD_L2_PER_LAYER ? g_strdup_printf ("l2/layer%u", l)
                                  : c->l2 == DRMAD_L2_PER_NEURON ? g_strdup_printf ("l2/layer%u/in%" G_GSIZE_FORMAT, l, j)
                                  : g_strdup_printf ("l2/layer%u/w%" G_GSIZE_FORMAT, l, j));
          g_array_append_val (values, v);
          DrmadHyperEntry entry = { kind, l, 0, c->l2 == DRMAD_L2_PER_LAYER ? -1 : (gint64) j };
          g_array_append_val (entries, entry);
        }
        break;
      case GROUP_LR:
      case GROUP_MOMENTUM:
        v = kind == GROUP_LR ? log (c->init_lr[l - 1]) : logit (c->init_momentum[l - 1]);
        for (guint s = 0; s < c->segments; s++) {
          g_ptr_array_add (names, g_strdup_printf ("%s/layer%u/seg%u", group_names[kind], l, s));
          g_array_append_val (values, v);
          DrmadHyperEntry entry = { kind, l, s, -1 };
          g_array_append_val (entries, entry);
        }
        break;
      default:
        v = log (c->init_scale[l - 1]);
        g_ptr_array_add (names, g_strdup_printf ("init/layer%u", l));
        g_array_append_val (values, v);
        DrmadHyperEntry entry = { kind, l, 0, -1 };
        g_array_append_val (entries, entry);
      }
    }
    hyper->group_count[hyper->n_groups] = names->len - hyper->group_first[hyper->n_groups];
    hyper->n_groups++;
  }
  hyper->n = names->len;
  g_ptr_array_add (names, NULL);
  hyper->names = (char **) g_ptr_array_free (names, FALSE);
  hyper->values = (double *) g_array_free (values, FALSE);
  hyper->entries = (DrmadHyperEntry *) g_array_free (entries, FALSE);
  /* A starting value on a bound (--init-lr 100) is its logarithm or logit,
   * which exp() or the sigmoid may turn back into a value a last bit
   * outside: moved inside, as a meta-step's, so that θ printed and given
   * back is accepted. */
  drmad_hyper_clamp_range (hyper, hyper->values);
  return g_steal_pointer (&hyper);
}

static char *
widths_text (const guint *sizes, guint n_sizes)
{
  GString *text = g_string_new (NULL);
  for (guint l = 0; l < n_sizes; l++)
    g_string_append_printf (text, "%s%u", l ? "-" : "", sizes[l]);
  return g_string_free (text, FALSE);
}

gboolean
drmad_hyper_check_net (const DrmadHyper *hyper, const DrmadNet *net, GError **error)
{
  gboolean same = hyper->n_layers == net->n_layers;
  for (guint l = 0; same && l <= net->n_layers; l++)
    same = hyper->sizes[l] == net->sizes[l];
  if (same)
    return TRUE;
  g_autofree char *made_for = widths_text (hyper->sizes, hyper->n_layers + 1);
  g_autofree char *given = widths_text (net->sizes, net->n_layers + 1);
  g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
               "the hyperparameters were made for a %s net, not this %s one: make them with drmad_hyper_new () "
               "for this net", made_for, given);
  return FALSE;
}

DrmadHyperEntry
drmad_hyper_get_entry (const DrmadHyper *hyper, gsize index)
{
  g_return_val_if_fail (index < hyper->n, ((DrmadHyperEntry) { DRMAD_GROUP_L2, 0, 0, -1 }));
  return hyper->entries[index];
}

guint
drmad_hyper_get_n_cells (const DrmadHyper *hyper, DrmadGroupKind kind)
{
  gboolean schedule = kind == DRMAD_GROUP_LR || kind == DRMAD_GROUP_MOMENTUM;
  return hyper->n_layers * (schedule ? MAX (hyper->config.segments, 1) : 1);
}

void
drmad_hyper_cells (const DrmadHyper *hyper, const double *theta, DrmadGroupKind kind, double *out)
{
  const DrmadHyperConfig *config = &hyper->config;
  gboolean schedule = kind == DRMAD_GROUP_LR || kind == DRMAD_GROUP_MOMENTUM;
  guint L = hyper->n_layers, S = schedule ? MAX (config->segments, 1) : 1;
  const double *fallback = kind == DRMAD_GROUP_L2 ? config->init_l2 : kind == DRMAD_GROUP_LR ? config->init_lr
                           : kind == DRMAD_GROUP_MOMENTUM ? config->init_momentum : config->init_scale;
  g_autofree double *sum = g_new0 (double, MAX (L * S, 1));
  g_autofree gsize *hits = g_new0 (gsize, MAX (L * S, 1));
  for (gsize i = 0; i < hyper->n; i++) {
    DrmadHyperEntry e = hyper->entries[i];
    if (e.kind != kind || e.layer < 1 || e.layer > L)
      continue;
    guint c = (e.layer - 1) * S + MIN (e.segment, S - 1);
    sum[c] += log (drmad_hyper_natural_of (hyper, i, theta[i]));
    hits[c]++;
  }
  for (guint l = 0; l < L; l++)
    for (guint s = 0; s < S; s++)
      out[l * S + s] = hits[l * S + s] ? exp (sum[l * S + s] / hits[l * S + s]) : fallback[l];
}

const DrmadHyperConfig *drmad_hyper_get_config (const DrmadHyper *hyper) { return &hyper->config; }
gsize drmad_hyper_get_n (const DrmadHyper *hyper) { return hyper->n; }
guint drmad_hyper_get_n_layers (const DrmadHyper *hyper) { return hyper->n_layers; }
const double *drmad_hyper_get_values (const DrmadHyper *hyper) { return hyper->values; }
guint drmad_hyper_get_n_groups (const DrmadHyper *hyper) { return hyper->n_groups; }

const char *
drmad_hyper_get_name (const DrmadHyper *hyper, gsize index)
{
  g_return_val_if_fail (index < hyper->n, NULL);
  return hyper->names[index];
}

gboolean
drmad_hyper_set_values (DrmadHyper *hyper, const double *values, GError **error)
{
  for (gsize i = 0; i < hyper->n; i++)
    if (!isfinite (values[i]) || fabs (values[i]) > 700) {
      /* The raw value is a logarithm or a logit: say what it would mean. */
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_DIVERGED,
                   "hyperparameter %s would become %g (raw %s %g): refused", hyper->names[i],
                   drmad_hyper_natural_of (hyper, i, values[i]),
                   hyper->entries[i].kind == DRMAD_GROUP_MOMENTUM ? "logit" : "log", values[i]);
      return FALSE;
    }
  if (hyper->n)   /* --learn none: no values (and memcpy may not take NULL) */
    memcpy (hyper->values, values, hyper->n * sizeof (double));
  return TRUE;
}

/* The raw value (@raw, its logarithm or logit) of the bound @natural of a
 * range, moved inside by the last bits @natural_of (exp, the sigmoid)
 * would round past: a value held there, printed and given back (drmad
 * --evaluate), is within its range. One bit with glibc; where the sigmoid
 * is flat (near 1) one bit may not reach, so the steps then double. */
static double
bound_inside (double raw, double natural, gboolean upper, double (*natural_of) (double))
{
  double step = 0;
  for (guint i = 0; upper ? natural_of (raw) > natural : natural_of (raw) < natural; i++) {
    if (i < 64) {
      raw = nextafter (raw, upper ? -INFINITY : INFINITY);
    } else {
      step = step ? 2 * step : 1e-15;
      raw += upper ? -step : step;
    }
  }
  return raw;
}

static double
log_bound (double natural, gboolean upper)
{
  return bound_inside (log (natural), natural, upper, exp);
}

static double
logit_bound (double natural, gboolean upper)
{
  return bound_inside (logit (natural), natural, upper, sigmoid);
}

guint
drmad_hyper_clamp_range (const DrmadHyper *hyper, double *values)
{
  /* the raw bounds: logarithms, and for momenta logits */
  const double rate_lo = log_bound (DRMAD_HYPER_RATE_MIN, FALSE), rate_hi = log_bound (DRMAD_HYPER_RATE_MAX, TRUE);
  const double scale_lo = log_bound (DRMAD_HYPER_SCALE_MIN, FALSE), scale_hi = log_bound (DRMAD_HYPER_SCALE_MAX, TRUE);
  const double momentum_lo = logit_bound (DRMAD_HYPER_MOMENTUM_MIN, FALSE);
  const double momentum_hi = logit_bound (1 - DRMAD_HYPER_MOMENTUM_MIN, TRUE);
  guint moved = 0;
  for (gsize i = 0; i < hyper->n; i++) {
    double lo = rate_lo, hi = rate_hi;
    if (hyper->entries[i].kind == DRMAD_GROUP_MOMENTUM)
      lo = momentum_lo, hi = momentum_hi;
    else if (hyper->entries[i].kind == DRMAD_GROUP_INIT)
      lo = scale_lo, hi = scale_hi;
    if (values[i] < lo || values[i] > hi) {   /* false for NaN */
      values[i] = values[i] < lo ? lo : hi;
      moved++;
    }
  }
  return moved;
}

const char *
drmad_hyper_get_group_name (const DrmadHyper *hyper, guint group)
{
  g_return_val_if_fail (group < hyper->n_groups, NULL);
  return group_names[hyper->group_kind[group]];
}

void
drmad_hyper_get_group_span (const DrmadHyper *hyper, guint group, gsize *first, gsize *count)
{
  g_return_if_fail (group < hyper->n_groups);
  *first = hyper->group_first[group];
  *count = hyper->group_count[group];
}

double
drmad_hyper_natural_of (const DrmadHyper *hyper, gsize index, double raw)
{
  g_return_val_if_fail (index < hyper->n, NAN);
  return hyper->entries[index].kind == DRMAD_GROUP_MOMENTUM ? sigmoid (raw) : exp (raw);
}

double
drmad_hyper_get_natural (const DrmadHyper *hyper, gsize index)
{
  g_return_val_if_fail (index < hyper->n, NAN);
  return drmad_hyper_natural_of (hyper, index, hyper->values[index]);
}

/* Index into θ of layer @l's first L2 value, or −1 when L2 is fixed. */
static gssize
l2_first (const DrmadHyper *hyper, guint l)
{
  if (!hyper->learned[GROUP_L2])
    return -1;
  gsize index = hyper->first_of[GROUP_L2];
  for (guint m = 1; m < l; m++)
    index += l2_count (hyper, m);
  return index;
}

void
drmad_hyper_expand (const DrmadHyper *hyper, const DrmadNet *net, double *eta, double *gamma,
                    double *l2, double *scales)
{
  const DrmadHyperConfig *c = &hyper->config;
  gsize P = net->n_params;
  guint S = c->segments;
  memset (l2, 0, P * sizeof (double));
  for (guint l = 1; l <= net->n_layers; l++) {
    gsize first = net->weight_offset[l], end = net->bias_offset[l] + net->sizes[l];
    guint fan_out = net->sizes[l];
    for (guint s = 0; s < S; s++) {
      double lr = hyper->learned[GROUP_LR]
                  ? exp (hyper->values[hyper->first_of[GROUP_LR] + (gsize) (l - 1) * S + s]) : c->init_lr[l - 1];
      double mom = hyper->learned[GROUP_MOMENTUM]
                   ? sigmoid (hyper->values[hyper->first_of[GROUP_MOMENTUM] + (gsize) (l - 1) * S + s])
                   : c->init_momentum[l - 1];
      for (gsize i = first; i < end; i++) {
        eta[(gsize) s * P + i] = lr;
        gamma[(gsize) s * P + i] = mom;
      }
    }
    gssize l2_index = l2_first (hyper, l);
    for (gsize k = 0; k < (gsize) net->sizes[l - 1] * fan_out; k++) {
      double log_l2 = l2_index < 0 ? log (c->init_l2[l - 1])
                      : c->l2 == DRMAD_L2_PER_LAYER ? hyper->values[l2_index]
                      : c->l2 == DRMAD_L2_PER_NEURON ? hyper->values[l2_index + k / fan_out]
                      : hyper->values[l2_index + k];
      l2[first + k] = exp (log_l2);
    }
    scales[l - 1] = hyper->learned[GROUP_INIT] ? exp (hyper->values[hyper->first_of[GROUP_INIT] + l - 1])
                                               : c->init_scale[l - 1];
  }
}

void
drmad_hyper_reduce (const DrmadHyper *hyper, const DrmadNet *net, const double *eta,
                    const double *gamma, const double *deta, const double *dgamma,
                    const double *dl2, const double *dw0, const double *w0, double *gradient)
{
  const DrmadHyperConfig *c = &hyper->config;
  gsize P = net->n_params;
  guint S = c->segments;
  memset (gradient, 0, hyper->n * sizeof (double));
  for (guint l = 1; l <= net->n_layers; l++) {
    gsize first = net->weight_offset[l], end = net->bias_offset[l] + net->sizes[l];
    gsize n_weights = (gsize) net->sizes[l - 1] * net->sizes[l];
    guint fan_out = net->sizes[l];
    for (guint s = 0; s < S; s++)
      for (gsize i = first; i < end; i++) {
        gsize j = (gsize) s * P + i;
        /* docs/algorithm.md §2 chain rule: da = η dη, db = γ(1 − γ) dγ */
        if (hyper->learned[GROUP_LR])
          gradient[hyper->first_of[GROUP_LR] + (gsize) (l - 1) * S + s] += eta[j] * deta[j];
        if (hyper->learned[GROUP_MOMENTUM])
          gradient[hyper->first_of[GROUP_MOMENTUM] + (gsize) (l - 1) * S + s] += gamma[j] * (1 - gamma[j]) * dgamma[j];
      }
    gssize l2_index = l2_first (hyper, l);
    for (gsize k = 0; k < n_weights; k++) {
      if (l2_index >= 0)
        gradient[l2_index + (c->l2 == DRMAD_L2_PER_LAYER ? 0 : c->l2 == DRMAD_L2_PER_NEURON ? k / fan_out : k)]
          += dl2[first + k];
      /* W_0 = exp(c) Z, so dc = ⟨dw_0, w_0⟩ over the layer's weights */
      if (hyper->learned[GROUP_INIT])
        gradient[hyper->first_of[GROUP_INIT] + l - 1] += dw0[first + k] * w0[first + k];
    }
  }
}

