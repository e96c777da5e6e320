/* bench-hypergrad-accuracy: how close the shortcuts come to the exact
 * hypergradient on a realistic run, and what a meta-iteration costs against
 * one plain training run (docs/algorithm.md §4.4).
 *
 * The problem, every part an option (defaults in brackets): --dataset
 * [fashion-mnist] (split seed 1, --train-size / --val-size examples,
 * standardised), an MLP --layers [784,100,100,10] --activation [relu] on the
 * default device (its default GEMM path: host OpenBLAS on CPU devices),
 * --batch [100], T = --iters [500] steps. Learned hyperparameters: --learn
 * [l2,lr,momentum,init]: L2 per --l2-granularity [layer] from --init-l2
 * [1e-3], learning-rate and momentum schedules per layer with --segments [4]
 * from --init-lr [0.05] and --momentum [0.9], the initial weight scale per
 * layer from --init-scale [0 = 1/sqrt(fan_in)].
 *
 * The hypergradient is computed with exact (checkpoints every ceil(sqrt T)
 * steps), DrMAD over the full line, DrMAD with R points as its authors ran it
 * and truncated R (--reverse-steps R [ceil(T/10)]), and piecewise K = 2, 4,
 * 8, 16 (--snapshots), all with the same seed, hence the same forward
 * trajectory. For every shortcut and every group: cosine similarity, ||g -
 * g_exact|| / ||g_exact|| and the fraction of signs that agree. For every
 * method: forward and reverse seconds, the wall time of the whole
 * drmad_hypergradient_compute call (one meta-iteration) and that time as a
 * multiple of one plain training run of T steps with the same θ and seed
 * (drmad_hyper_train), device and host peak memory. Times are medians of
 * --repeats rounds (default 3); each round runs the plain training, one
 * validation gradient and every method once, so that drift of the machine
 * spreads over all rows. The hypergradients of later rounds are checked to
 * equal the first round's. The DrMAD rows run without the ‖dw‖ watch, so
 * that a diverging shortcut shows its numbers instead of stopping; one whose
 * numbers overflow is reported and left out of the tables.
 *
 *   POCL_CACHE_DIR=build/pocl-cache ./build/bench/bench-hypergrad-accuracy \
 *       [--iters T] [--train-size N] [--val-size N] [--precision float32|float64]
 *       [--snapshots 2,4,8,16] [--repeats N] [--csv FILE] [--components]
 *       [--check-exact [--fd-epsilon EPS]] [--curvature] [problem options above]
 *
 * --check-exact compares exact with central differences of f itself (2 runs
 * of training per component of θ; meaningful in float64 only, and only with
 * a small step: f of a ReLU net is rough at steps of 1e-5 and above).
 * --curvature prints the extreme eigenvalues of the minibatch Hessian on the
 * true trajectory and on DrMAD's straight line (Lanczos): negative curvature
 * that the line sees and the trajectory does not is amplified by the
 * shortcut's reverse pass, step after step.
 *
 * Before anything is timed, a short warm-up (a DrMAD and an exact
 * hypergradient over a few steps) compiles every kernel the timed runs use.
 * Exit status 77 (skipped) when Fashion-MNIST is not installed.
 */
#include "blas.h"
#include "drmad.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DATA_SEED      1
#define RUN_SEED       7     /* initial weights and minibatches, shared by every run */
#define PLAIN_REPEATS  3
#define WARMUP_STEPS   8
#define TARGET_RATIO   4.0
#define CURVATURE_ITERATIONS 40

/* The problem, from the options (defaults: the table of docs/hypergradient-accuracy.md). */
static guint              layer_sizes[DRMAD_HYPER_MAX_LAYERS + 1] = { 784, 100, 100, 10 };
static guint              n_sizes = 4;
static DrmadActivation    activation = DRMAD_ACTIVATION_RELU;
static gint               batch_size = 100;
static gint               n_segments = 4;
static double             init_l2 = 1e-3, init_lr = 0.05, init_momentum = 0.9, init_scale = 0;
static DrmadL2Granularity granularity = DRMAD_L2_PER_LAYER;
static gboolean           learn_lr = TRUE, learn_momentum = TRUE, learn_init = TRUE;
#define N_LAYERS (n_sizes - 1)

static const guint default_snapshots[] = { 2, 4, 8, 16 };

typedef struct {
  char               *label;      /* "exact", "DrMAD", "piecewise K=4" */
  DrmadReverseConfig  reverse;
  guint               K;          /* 1 for DrMAD, 0 for exact */
  DrmadHypergradient *result;
  double              total_seconds, forward_seconds, reverse_seconds;  /* medians over the rounds */
  double             *totals, *forwards, *reverses;                    /* per round */
  double             *cosine;     /* n_groups + 1: the groups, then the whole vector */
  double             *relative;
  double             *sign;       /* fraction of components whose sign agrees with exact's */
} Method;

static void
method_clear (Method *method)
{
  g_free (method->label);
  drmad_hypergradient_free (method->result);
  g_free (method->cosine);
  g_free (method->relative);
  g_free (method->sign);
  g_free (method->totals);
  g_free (method->forwards);
  g_free (method->reverses);
}

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
median (const double *values, guint n)
{
  g_autofree double *sorted = g_memdup2 (values, n * sizeof *values);
  qsort (sorted, n, sizeof *sorted, compare_doubles);
  return n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
}

/* Cosine and ‖a − b‖/‖b‖ over [first, first + count): the library's
 * measure (drmad_fidelity_compute), NaN where a side is zero. */
static void
compare_span (const double *a, const double *b, gsize first, gsize count, double *cosine, double *relative)
{
  DrmadFidelity f = drmad_fidelity_compute (a, b, first, count);
  double aa = 0, bb = 0;
  for (gsize i = first; i < first + count; i++)
    aa += a[i] * a[i], bb += b[i] * b[i];
  *cosine = aa > 0 && bb > 0 ? f.cosine : NAN;
  *relative = bb > 0 ? f.relative_error : NAN;
}

static double
span_norm (const double *a, gsize first, gsize count)
{
  double sum = 0;
  for (gsize i = first; i < first + count; i++)
    sum += a[i] * a[i];
  return sqrt (sum);
}

static void
config_fill (DrmadHyperConfig *config, guint64 steps)
{
  drmad_hyper_config_init (config);
  config->l2 = granularity;
  config->learn_lr = learn_lr;
  config->learn_momentum = learn_momentum;
  config->learn_init_scale = learn_init;
  config->segments = MIN ((guint64) n_segments, steps);
  config->steps = steps;
  for (guint l = 0; l < N_LAYERS; l++) {
    config->init_l2[l] = init_l2;
    config->init_lr[l] = init_lr;
    config->init_momentum[l] = init_momentum;
    config->init_scale[l] = init_scale;  /* 0: 1/√fan_in */
  }
}

static double
seconds_since (gint64 start)
{
  return (g_get_monotonic_time () - start) / 1e6;
}

/* Compiles every kernel the timed runs use, on a few steps. */
static gboolean
warm_up (DrmadNet *net, DrmadDeviceData *train, DrmadDeviceData *val, GError **error)
{
  DrmadHyperConfig config;
  config_fill (&config, WARMUP_STEPS);
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (net, &config, error);
  if (!hyper || !drmad_hyper_train (net, hyper, train, RUN_SEED, NULL, NULL, NULL, error))
    return FALSE;
  DrmadReverseConfig reverse = { .method = DRMAD_METHOD_DRMAD, .seed = RUN_SEED };
  g_autoptr (DrmadHypergradient) drmad = drmad_hypergradient_compute (net, hyper, train, val, &reverse,
                                                                      NULL, NULL, error);
  if (!drmad)
    return FALSE;
  reverse.method = DRMAD_METHOD_EXACT;
  g_autoptr (DrmadHypergradient) exact = drmad_hypergradient_compute (net, hyper, train, val, &reverse,
                                                                      NULL, NULL, error);
  return exact != NULL;
}

/* --layers, --activation, --l2-granularity, --learn into the problem's globals. */
static gboolean
parse_problem (const char *layers, const char *activation_name, const char *granularity_name, const char *learn,
               GError **error)
{
  g_auto (GStrv) widths = g_strsplit (layers, ",", -1);
  n_sizes = 0;
  for (guint i = 0; widths[i]; i++) {
    guint64 width;
    if (n_sizes > DRMAD_HYPER_MAX_LAYERS
        || !g_ascii_string_to_unsigned (g_strstrip (widths[i]), 10, 1, 1u << 24, &width, NULL)) {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                   "--layers %s: expected 2 to %d positive widths, e.g. 784,100,10", layers, DRMAD_HYPER_MAX_LAYERS + 1);
      return FALSE;
    }
    layer_sizes[n_sizes++] = width;
  }
  if (n_sizes < 2) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT, "--layers %s: at least two widths", layers);
    return FALSE;
  }
  if (!drmad_activation_from_name (activation_name, &activation, error))
    return FALSE;
  g_auto (GStrv) groups = g_strsplit (learn, ",", -1);
  gboolean l2 = FALSE;
  learn_lr = learn_momentum = learn_init = FALSE;
  for (guint i = 0; groups[i]; i++) {
    const char *g = g_strstrip (groups[i]);
    if (g_str_equal (g, "l2")) l2 = TRUE;
    else if (g_str_equal (g, "lr")) learn_lr = TRUE;
    else if (g_str_equal (g, "momentum")) learn_momentum = TRUE;
    else if (g_str_equal (g, "init")) learn_init = TRUE;
    else {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                   "--learn %s: \"%s\" is none of l2, lr, momentum, init", learn, g);
      return FALSE;
    }
  }
  if (!l2)
    granularity = DRMAD_L2_FIXED;
  else if (g_str_equal (granularity_name, "layer")) granularity = DRMAD_L2_PER_LAYER;
  else if (g_str_equal (granularity_name, "neuron")) granularity = DRMAD_L2_PER_NEURON;
  else if (g_str_equal (granularity_name, "weight")) granularity = DRMAD_L2_PER_WEIGHT;
  else {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "--l2-granularity %s: expected layer, neuron or weight", granularity_name);
    return FALSE;
  }
  return TRUE;
}

static gboolean
parse_snapshots (const char *text, GArray *out, GError **error)
{
  g_auto (GStrv) parts = g_strsplit (text, ",", -1);
  for (guint i = 0; parts[i]; i++) {
    guint64 value;
    if (!g_ascii_string_to_unsigned (g_strstrip (parts[i]), 10, 2, G_MAXUINT, &value, error))
      return FALSE;
    guint K = (guint) value;
    g_array_append_val (out, K);
  }
  if (out->len == 0) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT, "--snapshots: no values");
    return FALSE;
  }
  return TRUE;
}

/* f(θ) = validation loss after training from scratch (docs/algorithm.md §1). */
static gboolean
validation_loss (DrmadNet *net, DrmadHyper *hyper, DrmadDeviceData *train, DrmadDeviceData *val,
                 double *loss, GError **error)
{
  return drmad_hyper_train (net, hyper, train, RUN_SEED, NULL, NULL, NULL, error)
         && drmad_net_full_gradient (net, val, loss, NULL, error);
}

/* docs/algorithm.md §4.3 on this problem: central differences of f for every
 * component of θ, 2n training runs; θ is restored afterwards. */
static double *
finite_differences (DrmadNet *net, DrmadHyper *hyper, DrmadDeviceData *train, DrmadDeviceData *val,
                    double epsilon, GError **error)
{
  gsize n = drmad_hyper_get_n (hyper);
  g_autofree double *theta = g_memdup2 (drmad_hyper_get_values (hyper), n * sizeof (double));
  g_autofree double *fd = g_new (double, n);
  gboolean ok = TRUE;
  for (gsize i = 0; ok && i < n; i++) {
    double saved = theta[i], plus = 0, minus = 0;
    theta[i] = saved + epsilon;
    ok = drmad_hyper_set_values (hyper, theta, error) && validation_loss (net, hyper, train, val, &plus, error);
    theta[i] = saved - epsilon;
    ok = ok && drmad_hyper_set_values (hyper, theta, error) && validation_loss (net, hyper, train, val, &minus, error);
    theta[i] = saved;
    fd[i] = (plus - minus) / (2 * epsilon);
    if (ok && (i + 1) % 10 == 0)
      g_printerr ("bench-hypergrad-accuracy: central differences %" G_GSIZE_FORMAT "/%" G_GSIZE_FORMAT "\n", i + 1, n);
  }
  if (!drmad_hyper_set_values (hyper, theta, ok ? error : NULL) || !ok)
    return NULL;
  return g_steal_pointer (&fd);
}

/* Eigenvalues of the symmetric tridiagonal matrix (diagonal @alpha, off-diagonal
 * @beta, @m × @m) below @x, by the Sturm sequence. */
static guint
sturm_count (const double *alpha, const double *beta, guint m, double x)
{
  guint count = 0;
  double d = 1;
  for (guint i = 0; i < m; i++) {
    d = alpha[i] - x - (i ? beta[i - 1] * beta[i - 1] / d : 0);
    if (d == 0)
      d = -1e-300;
    if (d < 0)
      count++;
  }
  return count;
}

/* The @k-th smallest eigenvalue (0-based) of that matrix, by bisection. */
static double
tridiagonal_eigenvalue (const double *alpha, const double *beta, guint m, guint k)
{
  double low = G_MAXDOUBLE, high = -G_MAXDOUBLE;
  for (guint i = 0; i < m; i++) {  /* Gershgorin */
    double radius = (i ? fabs (beta[i - 1]) : 0) + (i + 1 < m ? fabs (beta[i]) : 0);
    low = MIN (low, alpha[i] - radius);
    high = MAX (high, alpha[i] + radius);
  }
  for (guint it = 0; it < 200 && high - low > 1e-12 * MAX (1, fabs (low) + fabs (high)); it++) {
    double mid = 0.5 * (low + high);
    if (sturm_count (alpha, beta, m, mid) > k)
      high = mid;
    else
      low = mid;
  }
  return 0.5 * (low + high);
}

/* The extreme eigenvalues of the minibatch Hessian of step @step at the net's
 * current parameters (L2 term, exp(λ) = 1e-3 here, left out): Lanczos with
 * full reorthogonalisation, CURVATURE_ITERATIONS HVPs. */
static gboolean
hessian_extremes (DrmadNet *net, DrmadDeviceData *train, guint64 step, double *top, double *bottom, GError **error)
{
  gsize P = drmad_net_get_n_params (net);
  guint m = CURVATURE_ITERATIONS;
  g_autofree double *q = g_new (double, (gsize) (m + 1) * P), *w = g_new (double, P);
  double alpha[CURVATURE_ITERATIONS], beta[CURVATURE_ITERATIONS];
  g_autoptr (GRand) rand = g_rand_new_with_seed (3);
  double norm = 0;
  for (gsize i = 0; i < P; i++) {
    q[i] = g_rand_double_range (rand, -1, 1);
    norm += q[i] * q[i];
  }
  for (gsize i = 0; i < P; i++)
    q[i] /= sqrt (norm);
  guint used = m;
  for (guint j = 0; j < m; j++) {
    double *qj = q + (gsize) j * P;
    if (!drmad_net_batch_hvp (net, train, RUN_SEED, step, qj, w, error))
      return FALSE;
    for (guint pass = 0; pass < 2; pass++)  /* twice is enough (Kahan–Parlett) */
      for (guint i = 0; i <= j; i++) {
        const double *qi = q + (gsize) i * P;
        double c = 0;
        for (gsize p = 0; p < P; p++)
          c += qi[p] * w[p];
        if (pass == 0 && i == j)
          alpha[j] = c;
        for (gsize p = 0; p < P; p++)
          w[p] -= c * qi[p];
      }
    norm = 0;
    for (gsize p = 0; p < P; p++)
      norm += w[p] * w[p];
    beta[j] = sqrt (norm);
    if (beta[j] < 1e-10 * MAX (1, fabs (alpha[j]))) {  /* an invariant subspace: exact */
      used = j + 1;
      break;
    }
    double *next = q + (gsize) (j + 1) * P;
    for (gsize p = 0; p < P; p++)
      next[p] = w[p] / beta[j];
  }
  *bottom = tridiagonal_eigenvalue (alpha, beta, used, 0);
  *top = tridiagonal_eigenvalue (alpha, beta, used, used - 1);
  return TRUE;
}

/* Why the line can fail: the spectrum of the minibatch Hessian H_t on the
 * true trajectory w_t and on DrMAD's line ŵ_t = (1 − t/T) w_0 + (t/T) w_T.
 * The true w_t come from a DrmadTrainer with uniform η, γ, exp(λ) and the
 * default initial scales: the same run as drmad_hyper_train, because every
 * layer and segment of θ starts from the same values here. */
static gboolean
print_curvature (DrmadNet *net, DrmadDeviceData *train, guint64 T, GError **error)
{
  static const double fractions[] = { 0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.6, 0.8, 1 };
  enum { N_POINTS = G_N_ELEMENTS (fractions) };
  gsize P = drmad_net_get_n_params (net);
  g_autoptr (DrmadTrainer) trainer = drmad_trainer_new (net, error);
  if (!trainer || !drmad_trainer_set_uniform (trainer, init_lr, init_momentum, init_l2, error)
      || !drmad_net_init_params (net, RUN_SEED, NULL, error))
    return FALSE;
  guint64 steps[N_POINTS], done = 0;
  g_autofree double *states = g_new (double, N_POINTS * P), *line = g_new (double, P), *wT = g_new (double, P);
  for (guint k = 0; k < N_POINTS; k++) {
    steps[k] = MIN ((guint64) (fractions[k] * T), T - 1);
    if (steps[k] > done && !drmad_trainer_run (trainer, train, RUN_SEED, done, steps[k] - done, NULL, NULL, NULL, error))
      return FALSE;
    done = MAX (done, steps[k]);
    if (!drmad_net_get_params (net, states + k * P, error))
      return FALSE;
  }
  if (!drmad_trainer_run (trainer, train, RUN_SEED, done, T - done, NULL, NULL, NULL, error)
      || !drmad_net_get_params (net, wT, error))
    return FALSE;
  const double *w0 = states;
  g_print ("curvature: extreme eigenvalues of the minibatch Hessian H_t of step t (Lanczos, %d HVPs) at the\n"
           "true w_t and at DrMAD's line point. Momentum SGD here is stable for 0 <= lambda < 2(1+gamma)/(eta(1-gamma))\n"
           "= %.0f; the reverse recursion amplifies a direction of negative curvature lambda, by up to about\n"
           "1 + eta|lambda| per step while it stays one.\n", CURVATURE_ITERATIONS,
           2 * (1 + init_momentum) / (init_lr * (1 - init_momentum)));
  g_print ("%6s %12s %12s %12s %12s\n", "step", "true max", "true min", "line max", "line min");
  for (guint k = 0; k < N_POINTS; k++) {
    double true_top, true_bottom, line_top, line_bottom;
    double beta = (double) steps[k] / T;
    for (gsize i = 0; i < P; i++)
      line[i] = (1 - beta) * w0[i] + beta * wT[i];
    if (!drmad_net_set_params (net, states + k * P, error)
        || !hessian_extremes (net, train, steps[k], &true_top, &true_bottom, error)
        || !drmad_net_set_params (net, line, error)
        || !hessian_extremes (net, train, steps[k], &line_top, &line_bottom, error))
      return FALSE;
    g_print ("%6" G_GUINT64_FORMAT " %12.3f %12.3f %12.3f %12.3f\n", steps[k], true_top, true_bottom,
             line_top, line_bottom);
  }
  g_print ("\n");
  return TRUE;
}

static char *
format_or_nan (const char *format, double value)
{
  return isfinite (value) ? g_strdup_printf (format, value) : g_strdup ("nan");
}

static gboolean
write_csv (const char *path, DrmadHyper *hyper, GArray *methods, double plain_seconds, double val_seconds,
           GError **error)
{
  guint n_groups = drmad_hyper_get_n_groups (hyper);
  GString *text = g_string_new ("method,snapshots,group,n_values,exact_norm,cosine,relative_error,sign_agreement,"
                                "forward_seconds,reverse_seconds,total_seconds,ratio_to_plain_training,"
                                "plain_training_seconds,val_gradient_seconds,device_peak_bytes,host_peak_bytes,val_loss\n");
  const Method *exact = &g_array_index (methods, Method, 0);
  for (guint m = 0; m < methods->len; m++) {
    const Method *method = &g_array_index (methods, Method, m);
    const DrmadHypergradient *r = method->result;
    for (guint g = 0; g <= n_groups; g++) {
      gsize first = 0, count = r->n;
      if (g < n_groups)
        drmad_hyper_get_group_span (hyper, g, &first, &count);
      g_autofree char *cosine = format_or_nan ("%.6f", method->cosine[g]);
      g_autofree char *relative = format_or_nan ("%.6f", method->relative[g]);
      g_string_append_printf (text, "%s,%u,%s,%" G_GSIZE_FORMAT ",%.6e,%s,%s,%.4f,%.4f,%.4f,%.4f,%.3f,%.4f,%.4f,"
                              "%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%.6f\n",
                              method->label, method->K, g < n_groups ? drmad_hyper_get_group_name (hyper, g) : "all",
                              count, span_norm (exact->result->gradient, first, count), cosine, relative,
                              method->sign[g],
                              method->forward_seconds, method->reverse_seconds, method->total_seconds,
                              method->total_seconds / plain_seconds, plain_seconds, val_seconds,
                              r->device_peak_bytes, r->host_peak_bytes, r->val_loss);
    }
  }
  gboolean ok = g_file_set_contents (path, text->str, text->len, error);
  g_string_free (text, TRUE);
  return ok;
}

typedef enum { SHOW_COSINE, SHOW_RELATIVE, SHOW_SIGN } Measure;

static void
print_accuracy (DrmadHyper *hyper, GArray *methods, Measure measure)
{
  guint n_groups = drmad_hyper_get_n_groups (hyper);
  gboolean cosine = measure == SHOW_COSINE;
  g_print ("%-18s", measure == SHOW_COSINE ? "cosine to exact" : measure == SHOW_SIGN ? "signs agreeing with exact"
                                                                  : "||g-g_exact||/||g_exact||");
  if (!cosine)
    g_print ("\n%-18s", "");
  for (guint g = 0; g < n_groups; g++)
    g_print (" %9s", drmad_hyper_get_group_name (hyper, g));
  g_print (" %9s\n", "all");
  for (guint m = 1; m < methods->len; m++) {
    const Method *method = &g_array_index (methods, Method, m);
    g_print ("%-18s", method->label);
    for (guint g = 0; g <= n_groups; g++) {
      double value = cosine ? method->cosine[g] : measure == SHOW_SIGN ? method->sign[g] : method->relative[g];
      g_print (fabs (value) < 1000 ? " %9.4f" : " %9.2e", value);
    }
    g_print ("\n");
  }
  g_print ("\n");
}

static void
print_components (DrmadHyper *hyper, GArray *methods, const double *fd)
{
  g_print ("components of df/dtheta (raw theta: log L2, log lr, logit momentum, log scale):\n");
  g_print ("%-22s %12s", "hyperparameter", "value");
  for (guint m = 0; m < methods->len; m++)
    g_print (" %12s", g_array_index (methods, Method, m).label);
  if (fd)
    g_print (" %12s", "central diff");
  g_print ("\n");
  gsize n = drmad_hyper_get_n (hyper);
  for (gsize i = 0; i < n; i++) {
    g_print ("%-22s %12.4g", drmad_hyper_get_name (hyper, i), drmad_hyper_get_natural (hyper, i));
    for (guint m = 0; m < methods->len; m++)
      g_print (" %12.4e", g_array_index (methods, Method, m).result->gradient[i]);
    if (fd)
      g_print (" %12.4e", fd[i]);
    g_print ("\n");
  }
  g_print ("\n");
}

int
main (int argc, char **argv)
{
  drmad_prepare_environment ();  /* before any thread or OpenCL call */
  gint iters = 500, train_size = 10000, val_size = 5000, repeats = PLAIN_REPEATS;
  gint64 reverse_steps_option = 0;
  g_autofree char *csv_path = NULL, *device_spec = NULL, *precision_name = NULL, *snapshots_text = NULL;
  g_autofree char *dataset_option = NULL, *layers_option = NULL, *activation_option = NULL;
  g_autofree char *granularity_option = NULL, *learn_option = NULL;
  gboolean components = FALSE, check_exact = FALSE, curvature = FALSE;
  double fd_epsilon = 1e-7;
  GOptionEntry entries[] = {
    { "iters", 'T', 0, G_OPTION_ARG_INT, &iters, "Training steps T (default 500)", "T" },
    { "train-size", 0, 0, G_OPTION_ARG_INT, &train_size, "Training examples (default 10000)", "N" },
    { "val-size", 0, 0, G_OPTION_ARG_INT, &val_size, "Validation examples (default 5000)", "N" },
    { "repeats", 'r', 0, G_OPTION_ARG_INT, &repeats, "Timing rounds; medians are reported (default 3)", "N" },
    { "precision", 'p', 0, G_OPTION_ARG_STRING, &precision_name, "float32 (default) or float64", "P" },
    { "snapshots", 'K', 0, G_OPTION_ARG_STRING, &snapshots_text, "Piecewise K values (default 2,4,8,16)", "K,K,..." },
    { "components", 0, 0, G_OPTION_ARG_NONE, &components, "Also print every component of every hypergradient", NULL },
    { "check-exact", 0, 0, G_OPTION_ARG_NONE, &check_exact,
      "Also check exact against central differences of f (2 trainings per component; use float64)", NULL },
    { "fd-epsilon", 0, 0, G_OPTION_ARG_DOUBLE, &fd_epsilon, "Step on raw theta for --check-exact (default 1e-7: ReLU kinks make f rough at 1e-5 and above)", "EPS" },
    { "curvature", 0, 0, G_OPTION_ARG_NONE, &curvature,
      "Also print the Hessian's extreme eigenvalues on the true trajectory and on the DrMAD line", NULL },
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv_path, "Also write the table as CSV to FILE", "FILE" },
    { "device", 'd', 0, G_OPTION_ARG_STRING, &device_spec, "OpenCL device: index or part of its name", "SPEC" },
    { "dataset", 0, 0, G_OPTION_ARG_STRING, &dataset_option, "Dataset name or folder, as drmad --dataset (default fashion-mnist)", "NAME|PATH" },
    { "layers", 0, 0, G_OPTION_ARG_STRING, &layers_option, "Layer widths, input first (default 784,100,100,10)", "W,W,..." },
    { "activation", 0, 0, G_OPTION_ARG_STRING, &activation_option, "relu (default), tanh or softsign", "A" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch_size, "Minibatch size (default 100)", "N" },
    { "momentum", 0, 0, G_OPTION_ARG_DOUBLE, &init_momentum, "Starting momentum (default 0.9)", "G" },
    { "init-l2", 0, 0, G_OPTION_ARG_DOUBLE, &init_l2, "Starting L2 coefficient (default 1e-3)", "C" },
    { "init-lr", 0, 0, G_OPTION_ARG_DOUBLE, &init_lr, "Starting learning rate (default 0.05)", "ETA" },
    { "init-scale", 0, 0, G_OPTION_ARG_DOUBLE, &init_scale, "Starting initial-weight scale; 0 = 1/sqrt(fan_in) (default)", "S" },
    { "segments", 0, 0, G_OPTION_ARG_INT, &n_segments, "Segments of the lr and momentum schedules (default 4)", "S" },
    { "l2-granularity", 0, 0, G_OPTION_ARG_STRING, &granularity_option, "layer (default), neuron or weight", "G" },
    { "learn", 0, 0, G_OPTION_ARG_STRING, &learn_option, "Groups learned: any of l2, lr, momentum, init (default all four)", "LIST" },
    { "reverse-steps", 'R', 0, G_OPTION_ARG_INT64, &reverse_steps_option, "R of the DrMAD R-point and truncated rows; 0 = ceil(T/10) (default)", "R" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- accuracy and cost of the DrMAD and piecewise hypergradients");
  g_option_context_set_description (context, "Run as POCL_CACHE_DIR=build/pocl-cache ./build/bench/bench-hypergrad-accuracy\n"
                                             "so that PoCL reuses compiled kernels.");
  g_option_context_add_main_entries (context, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    g_printerr ("bench-hypergrad-accuracy: %s\n", error->message);
    return 2;
  }
  DrmadPrecision precision = DRMAD_PRECISION_FLOAT32;
  if (precision_name && g_str_equal (precision_name, "float64"))
    precision = DRMAD_PRECISION_FLOAT64;
  else if (precision_name && !g_str_equal (precision_name, "float32")) {
    g_printerr ("bench-hypergrad-accuracy: --precision must be float32 or float64, not '%s'\n", precision_name);
    return 2;
  }
  const char *dataset_name = dataset_option ? dataset_option : "fashion-mnist";
  const char *layers_text = layers_option ? layers_option : "784,100,100,10";
  const char *activation_name = activation_option ? activation_option : "relu";
  const char *granularity_name = granularity_option ? granularity_option : "layer";
  const char *learn_text = learn_option ? learn_option : "l2,lr,momentum,init";
  if (!parse_problem (layers_text, activation_name, granularity_name, learn_text, &error)) {
    g_printerr ("bench-hypergrad-accuracy: %s\n", error->message);
    return 2;
  }
  if (iters < 1 || batch_size < 1 || train_size < batch_size || val_size < 1 || repeats < 1 || !(fd_epsilon > 0)
      || n_segments < 1 || !(init_l2 >= DRMAD_HYPER_RATE_MIN && init_l2 <= DRMAD_HYPER_RATE_MAX)
      || !(init_lr >= DRMAD_HYPER_RATE_MIN && init_lr <= DRMAD_HYPER_RATE_MAX)
      || !(init_momentum >= DRMAD_HYPER_MOMENTUM_MIN && init_momentum <= 1 - DRMAD_HYPER_MOMENTUM_MIN)
      || !(init_scale == 0 || (init_scale >= DRMAD_HYPER_SCALE_MIN && init_scale <= DRMAD_HYPER_SCALE_MAX))) {
    g_printerr ("bench-hypergrad-accuracy: --iters, --batch, --segments and --repeats must be at least 1, "
                "--train-size at least the batch, --val-size at least 1, --fd-epsilon positive, --init-l2 and "
                "--init-lr from 1e-12 up to 100, --momentum from 1e-12 up to 1 - 1e-12, --init-scale 0 or from "
                "1e-12 up to 100\n");
    return 2;
  }
  g_autoptr (GArray) snapshots = g_array_new (FALSE, FALSE, sizeof (guint));
  if (snapshots_text) {
    if (!parse_snapshots (snapshots_text, snapshots, &error)) {
      g_printerr ("bench-hypergrad-accuracy: --snapshots: %s\n", error->message);
      return 2;
    }
  } else {
    g_array_append_vals (snapshots, default_snapshots, G_N_ELEMENTS (default_snapshots));
  }
  guint64 T = iters;
  guint64 reverse_steps = reverse_steps_option > 0 ? MIN ((guint64) reverse_steps_option, T) : MAX ((T + 9) / 10, 1);

  /* Data, device, net. */
  gint64 setup_start = g_get_monotonic_time ();
  g_autoptr (DrmadDevice) device = drmad_device_open (device_spec, &error);
  if (!device) {
    g_printerr ("bench-hypergrad-accuracy: %s\n", error->message);
    return 1;
  }
  DrmadDataset *pool = NULL, *test = NULL;
  if (!drmad_dataset_open (dataset_name, NULL, &pool, &test, &error)) {
    g_printerr ("bench-hypergrad-accuracy: %s\n", error->message);
    return g_error_matches (error, DRMAD_ERROR, DRMAD_ERROR_NOT_FOUND) ? 77 : 1;
  }
  g_autoptr (DrmadSplit) split = drmad_dataset_split (pool, test, DATA_SEED, train_size, val_size, 1000, &error);
  g_autofree char *source = g_strdup (drmad_dataset_get_source (pool));
  drmad_dataset_free (pool);
  drmad_dataset_free (test);
  if (!split) {
    g_printerr ("bench-hypergrad-accuracy: %s\n", error->message);
    return 1;
  }
  g_autoptr (DrmadDeviceData) train = drmad_device_data_new (device, precision, split->train, &error);
  g_autoptr (DrmadDeviceData) val = train ? drmad_device_data_new (device, precision, split->val, &error) : NULL;
  g_autoptr (DrmadNet) net = val ? drmad_net_new (device, layer_sizes, n_sizes, activation,
                                                  precision, batch_size, &error) : NULL;
  DrmadHyperConfig config;
  config_fill (&config, T);
  g_autoptr (DrmadHyper) hyper = net ? drmad_hyper_new (net, &config, &error) : NULL;
  if (!hyper) {
    g_printerr ("bench-hypergrad-accuracy: %s\n", error->message);
    return 1;
  }

  const DrmadDeviceInfo *info = drmad_device_get_info (device);
  const char *cache = g_getenv ("POCL_CACHE_DIR");
  const char *precision_text = precision == DRMAD_PRECISION_FLOAT64 ? "float64" : "float32";
  guint k_exact = (guint) MIN ((guint64) ceil (sqrt ((double) T)), T);
  g_print ("bench-hypergrad-accuracy: exact vs DrMAD vs truncated vs piecewise hypergradients (docs/algorithm.md section 4.4)\n");
  g_print ("device:   %s: %s (%s, %u compute units); GEMM path %s; OpenBLAS %d thread%s for large GEMMs, 1 for the rest\n",
           info->platform_name, info->name, info->type, info->compute_units,
           drmad_gemm_path_name (drmad_device_get_gemm_path (device)), drmad_blas_get_large_threads (),
           drmad_blas_get_large_threads () == 1 ? "" : "s");
  g_print ("data:     %s (%s), split seed %d: %d train, %d validation examples, standardised\n",
           dataset_name, source, DATA_SEED, train_size, val_size);
  g_print ("net:      MLP %s %s %s, %" G_GSIZE_FORMAT " parameters, batch %d, T = %" G_GUINT64_FORMAT
           " steps, seed %d\n", layers_text, drmad_activation_name (activation), precision_text,
           drmad_net_get_n_params (net), batch_size, T, RUN_SEED);
  g_print ("theta:    %" G_GSIZE_FORMAT " values: L2 per %s (from %g)%s, lr schedule per layer x %u segments (from %g)%s,\n"
           "          momentum schedule per layer x %u segments (from %g)%s, initial scale per layer (from %g%s)%s\n",
           drmad_hyper_get_n (hyper), granularity_name, init_l2, granularity == DRMAD_L2_FIXED ? " fixed" : "",
           config.segments, init_lr, learn_lr ? "" : " fixed", config.segments, init_momentum,
           learn_momentum ? "" : " fixed", init_scale, init_scale == 0 ? " = 1/sqrt(fan_in)" : "",
           learn_init ? "" : " fixed");
  g_print ("methods:  exact (checkpoint every %u = ceil(sqrt T)), DrMAD with R = %" G_GUINT64_FORMAT
           " points (the authors' loop) and over the full line, truncated R = %" G_GUINT64_FORMAT
           ", piecewise K =", k_exact, reverse_steps, reverse_steps);
  for (guint i = 0; i < snapshots->len; i++)
    g_print ("%s %u", i ? "," : "", g_array_index (snapshots, guint, i));
  g_print ("; all with seed %d\n", RUN_SEED);
  g_print ("timing:   wall time of each drmad_hypergradient_compute call vs drmad_hyper_train of the same theta;\n"
           "          medians of %d interleaved rounds; kernels compiled beforehand; POCL_CACHE_DIR=%s\n\n",
           repeats, cache ? cache : "unset");

  gint64 start = g_get_monotonic_time ();
  if (!warm_up (net, train, val, &error)) {
    g_printerr ("bench-hypergrad-accuracy: warm-up: %s\n", error->message);
    return 1;
  }
  g_printerr ("bench-hypergrad-accuracy: set-up %.1f s, warm-up %.1f s\n",
              (start - setup_start) / 1e6, seconds_since (start));

  /* The methods: exact first, the reference. */
  g_autoptr (GArray) methods = g_array_new (FALSE, TRUE, sizeof (Method));
  g_array_set_clear_func (methods, (GDestroyNotify) method_clear);
  g_array_append_val (methods, ((Method) { .label = g_strdup ("exact"), .K = 0,
                                           .reverse = { .method = DRMAD_METHOD_EXACT, .seed = RUN_SEED } }));
  g_array_append_val (methods, ((Method) { .label = g_strdup ("DrMAD line"), .K = 1,
                                           .reverse = { .method = DRMAD_METHOD_DRMAD, .seed = RUN_SEED,
                                                        .reverse_steps = G_MAXUINT64, .watch_factor = G_MAXDOUBLE } }));
  g_array_append_val (methods, ((Method) { .label = g_strdup_printf ("DrMAD R=%" G_GUINT64_FORMAT, reverse_steps),
                                           .K = 1, .reverse = { .method = DRMAD_METHOD_DRMAD, .seed = RUN_SEED,
                                                                .reverse_steps = reverse_steps,
                                                                .watch_factor = G_MAXDOUBLE } }));
  g_array_append_val (methods, ((Method) { .label = g_strdup_printf ("truncated R=%" G_GUINT64_FORMAT, reverse_steps),
                                           .K = 0, .reverse = { .method = DRMAD_METHOD_TRUNCATED, .seed = RUN_SEED,
                                                                .reverse_steps = reverse_steps } }));
  for (guint i = 0; i < snapshots->len; i++) {
    guint K = g_array_index (snapshots, guint, i);
    g_array_append_val (methods, ((Method) { .label = g_strdup_printf ("piecewise K=%u", K), .K = K,
                                             .reverse = { .method = DRMAD_METHOD_PIECEWISE, .snapshots = K,
                                                          .seed = RUN_SEED, .watch_factor = G_MAXDOUBLE } }));
  }
  for (guint m = 0; m < methods->len; m++) {
    Method *method = &g_array_index (methods, Method, m);
    method->totals = g_new (double, repeats);
    method->forwards = g_new (double, repeats);
    method->reverses = g_new (double, repeats);
  }

  /* Rounds: in each, one plain training, one validation gradient and one run
   * of every method, so that any drift of the machine spreads over all rows. */
  g_autofree double *plain = g_new (double, repeats), *val_pass = g_new (double, repeats);
  g_autoptr (GString) failures = g_string_new (NULL);
  g_autofree double *val_gradient = g_new (double, drmad_net_get_n_params (net));
  double plain_val_loss = 0, repeat_spread = 0;
  for (gint r = 0; r < repeats; r++) {
    start = g_get_monotonic_time ();
    if (!drmad_hyper_train (net, hyper, train, RUN_SEED, NULL, NULL, NULL, &error)) {
      g_printerr ("bench-hypergrad-accuracy: plain training: %s\n", error->message);
      return 1;
    }
    plain[r] = seconds_since (start);
    start = g_get_monotonic_time ();
    if (!drmad_net_full_gradient (net, val, &plain_val_loss, val_gradient, &error)) {
      g_printerr ("bench-hypergrad-accuracy: validation gradient: %s\n", error->message);
      return 1;
    }
    val_pass[r] = seconds_since (start);
    g_printerr ("bench-hypergrad-accuracy: round %d/%d: plain training %.2f s, validation gradient %.2f s\n",
                r + 1, repeats, plain[r], val_pass[r]);
    for (guint m = 0; m < methods->len; m++) {
      Method *method = &g_array_index (methods, Method, m);
      g_printerr ("bench-hypergrad-accuracy: round %d/%d: [%u/%u] %s ... ", r + 1, repeats, m + 1, methods->len,
                  method->label);
      start = g_get_monotonic_time ();
      DrmadHypergradient *result = drmad_hypergradient_compute (net, hyper, train, val, &method->reverse,
                                                                NULL, NULL, &error);
      method->totals[r] = seconds_since (start);
      if (!result && m > 0) {  /* a shortcut that diverges: say so, drop its row, go on */
        g_printerr ("failed\n");
        g_autofree char *line = g_strdup_printf ("%s: no hypergradient: %s\n", method->label, error->message);
        g_string_append (failures, line);
        g_clear_error (&error);
        g_array_remove_index (methods, m--);
        continue;
      }
      if (!result) {
        g_printerr ("failed\nbench-hypergrad-accuracy: %s: %s\n", method->label, error->message);
        return 1;
      }
      method->forwards[r] = result->forward_seconds;
      method->reverses[r] = result->reverse_seconds;
      g_printerr ("%.2f s\n", method->totals[r]);
      if (!method->result) {
        method->result = result;
        continue;
      }
      /* Later rounds only time: their gradients must equal the first round's. */
      double cosine, relative;
      compare_span (result->gradient, method->result->gradient, 0, result->n, &cosine, &relative);
      repeat_spread = MAX (repeat_spread, isnan (relative) ? 0 : relative);
      drmad_hypergradient_free (result);
    }
  }
  double plain_seconds = median (plain, repeats), val_seconds = median (val_pass, repeats);
  for (guint m = 0; m < methods->len; m++) {
    Method *method = &g_array_index (methods, Method, m);
    method->total_seconds = median (method->totals, repeats);
    method->forward_seconds = median (method->forwards, repeats);
    method->reverse_seconds = median (method->reverses, repeats);
  }

  /* Accuracy against exact, per group and over the whole vector. */
  guint n_groups = drmad_hyper_get_n_groups (hyper);
  const double *reference = g_array_index (methods, Method, 0).result->gradient;
  for (guint m = 0; m < methods->len; m++) {
    Method *method = &g_array_index (methods, Method, m);
    method->cosine = g_new (double, n_groups + 1);
    method->relative = g_new (double, n_groups + 1);
    method->sign = g_new (double, n_groups + 1);
    for (guint g = 0; g <= n_groups; g++) {
      gsize first = 0, count = method->result->n;
      if (g < n_groups)
        drmad_hyper_get_group_span (hyper, g, &first, &count);
      compare_span (method->result->gradient, reference, first, count, &method->cosine[g], &method->relative[g]);
      method->sign[g] = drmad_fidelity_compute (method->result->gradient, reference, first, count).sign_agreement;
    }
  }

  const Method *exact = &g_array_index (methods, Method, 0);
  g_print ("forward run (shared by every method): train loss %.4f, validation loss %.4f, validation error %.2f%%\n",
           exact->result->train_loss, exact->result->val_loss, 100 * exact->result->val_error);
  g_print ("exact hypergradient norm per group:");
  for (guint g = 0; g < n_groups; g++) {
    gsize first, count;
    drmad_hyper_get_group_span (hyper, g, &first, &count);
    g_print ("  %s (%" G_GSIZE_FORMAT ") %.3e", drmad_hyper_get_group_name (hyper, g), count,
             span_norm (reference, first, count));
  }
  g_print ("\n\n");
  if (failures->len)
    g_print ("%s\n", failures->str);
  print_accuracy (hyper, methods, SHOW_COSINE);
  print_accuracy (hyper, methods, SHOW_RELATIVE);
  print_accuracy (hyper, methods, SHOW_SIGN);

  g_print ("%-16s %9s %9s %9s %8s %9s %9s %9s\n", "cost", "forward s", "reverse s", "total s", "x plain",
           "dev MiB", "host MiB", "val loss");
  for (guint m = 0; m < methods->len; m++) {
    const Method *method = &g_array_index (methods, Method, m);
    const DrmadHypergradient *r = method->result;
    g_print ("%-16s %9.3f %9.3f %9.3f %8.2f %9.2f %9.2f %9.5f\n", method->label, method->forward_seconds,
             method->reverse_seconds, method->total_seconds, method->total_seconds / plain_seconds,
             r->device_peak_bytes / 1048576.0, r->host_peak_bytes / 1048576.0, r->val_loss);
  }
  g_print ("%-16s %9s %9s %9.3f %8.2f %9s %9s %9.5f\n", "plain training", "", "", plain_seconds, 1.0,
           "", "", plain_val_loss);
  g_print ("%-16s %9s %9s %9.3f %8.2f\n", "val gradient", "", "", val_seconds, val_seconds / plain_seconds);
  g_print ("seconds: medians of %d rounds (plain training runs:", repeats);
  for (gint r = 0; r < repeats; r++)
    g_print (" %.3f", plain[r]);
  g_print (" s).\n"
           "total: the whole drmad_hypergradient_compute call (one meta-iteration); forward: from the call to the\n"
           "start of the reverse sweep, so it includes setting up the trainer and the validation loss and gradient\n"
           "at w_T (the 'val gradient' row alone); x plain: total / plain training of T steps (drmad_hyper_train,\n"
           "same theta and seed); dev MiB: device memory the call added at its peak; host MiB: host memory it\n"
           "allocated; val loss: f at w_T (the same trajectory in every row). Hypergradients of later rounds vs\n"
           "the first round: max relative difference %.1e.\n\n",
           repeat_spread);

  g_autofree double *fd = NULL;
  if (check_exact) {
    if (!(fd = finite_differences (net, hyper, train, val, fd_epsilon, &error))) {
      g_printerr ("bench-hypergrad-accuracy: central differences: %s\n", error->message);
      return 1;
    }
    g_print ("exact vs central differences of f (epsilon %g on raw theta, %" G_GSIZE_FORMAT " x 2 training runs):\n",
             fd_epsilon, drmad_hyper_get_n (hyper));
    for (guint g = 0; g <= n_groups; g++) {
      gsize first = 0, count = exact->result->n;
      if (g < n_groups)
        drmad_hyper_get_group_span (hyper, g, &first, &count);
      double cosine, relative;
      compare_span (exact->result->gradient, fd, first, count, &cosine, &relative);
      g_print ("  %-9s cosine %.6f, ||exact - fd|| / ||fd|| %.2e\n",
               g < n_groups ? drmad_hyper_get_group_name (hyper, g) : "all", cosine, relative);
    }
    g_print ("\n");
  }
  if (components)
    print_components (hyper, methods, fd);
  if (curvature && !print_curvature (net, train, T, &error)) {
    g_printerr ("bench-hypergrad-accuracy: curvature: %s\n", error->message);
    return 1;
  }

  const Method *drmad = NULL;
  for (guint m = 0; m < methods->len && !drmad; m++)
    if (g_array_index (methods, Method, m).reverse.method == DRMAD_METHOD_DRMAD)
      drmad = &g_array_index (methods, Method, m);
  if (!drmad)
    return 0;
  double drmad_ratio = drmad->total_seconds / plain_seconds, exact_ratio = exact->total_seconds / plain_seconds;
  g_print ("target DrMAD meta-iteration <= %.0fx plain training: %.3f s vs %.3f s = %.2fx - %s\n", TARGET_RATIO,
           drmad->total_seconds, plain_seconds, drmad_ratio, drmad_ratio <= TARGET_RATIO ? "met" : "MISSED");
  g_print ("DrMAD meta-iteration: forward %.2fx + reverse %.2fx plain training; against plain training plus one\n"
           "  validation gradient: %.2fx\n", drmad->forward_seconds / plain_seconds,
           drmad->reverse_seconds / plain_seconds, drmad->total_seconds / (plain_seconds + val_seconds));
  g_print ("exact meta-iteration: %.3f s = %.2fx plain training (forward %.2fx + reverse %.2fx, the reverse\n"
           "  recomputing each segment of %u steps); against plain training plus one validation gradient: %.2fx;\n"
           "  DrMAD takes %.2f of exact's time\n",
           exact->total_seconds, exact_ratio, exact->forward_seconds / plain_seconds,
           exact->reverse_seconds / plain_seconds, k_exact, exact->total_seconds / (plain_seconds + val_seconds),
           drmad->total_seconds / exact->total_seconds);

  if (csv_path) {
    if (!write_csv (csv_path, hyper, methods, plain_seconds, val_seconds, &error)) {
      g_printerr ("bench-hypergrad-accuracy: %s\n", error->message);
      return 1;
    }
    g_printerr ("bench-hypergrad-accuracy: wrote %s\n", csv_path);
  }
  return 0;
}
