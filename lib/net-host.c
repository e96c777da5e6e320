/* The fused host path of CPU devices that run native kernels: a whole
 * training step (or a whole Hessian-vector product) is one native kernel that
 * calls OpenBLAS for the GEMMs and runs the elementwise work in plain C,
 * instead of about 30 launches of kernels/nn.cl with a host GEMM between
 * them. On PoCL each launch costs several microseconds of queue and worker
 * hand-over, as much as the GEMMs of a 784-50-50-50-10 step at batch 50
 * (docs/benchmarks.md). The loops are in net-host-body.h, once per precision;
 * this file is built with -fno-trapping-math so that they vectorise. */
#include "net-private.h"
#include "counter-hash.h"
#include "host-team.h"
#include "small-gemm.h"
#include "vector-clones.h"
#include "drmad-sampler.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

typedef enum { HOST_STEP, HOST_HVP, HOST_REVERSE, HOST_FULL_GRADIENT, HOST_EVALUATE } HostWork;

typedef struct {
  HostWork             work;
  DrmadNet            *net;
  const DrmadOpenblas *blas;
  const void          *features;   /* the data, for a step: reals, or bytes and their standardisation */
  const guint8        *bytes;
  const float         *scale, *offset;   /* NULL: byte / 255 */
  const gint32        *labels;
  guint                n;
  guint                chunk;      /* rows per pass of a full gradient or an evaluation */
  guint64              seed, step;
  void                *params, *grad;
  void                *velocity;   /* with an update: the trainer's v, η, γ, exp(λ) */
  const void          *eta, *gamma, *l2;
  gsize                segment_offset;
  const DrmadUniformRuns *uniform; /* of the segment: η, γ and exp(λ) in stretches, or NULL */
  const void          *dir;        /* for an HVP */
  void                *out;
  void                *dw, *dv, *deta, *dgamma, *dl2;   /* for a reverse step (dir = u, out = hu) */
  const void          *v_next, *v_now;
  gboolean             with_dgamma;
  gboolean             from_tape;  /* a reverse step whose a_l and δ_l are in the tape slot */
  void                *acts[DRMAD_MAX_LAYERS + 1], *deltas[DRMAD_MAX_LAYERS + 1],
                      *pre_deltas[DRMAD_MAX_LAYERS + 1];   /* the workspace or a tape slot */
  /* A training step: the minibatch indices of this step and of the next one
   * (whose rows it prefetches), worked out by the thread that queued it. */
  gboolean             given_indices;
  gboolean             grad_zero;   /* a training step whose grad holds zeros (DrmadNet's zero_grad) */
  guint                prefetch_rows;   /* rows per prefetch_some: the batch over the places that call it */
  guint                threads;     /* a training or reverse step shared by this many threads of the host team
                                     * (0, 1: alone) */
  guint32             *ahead;       /* or NULL: where member 0 of the team leaves the indices of step + 2 */
  guint32              indices[];  /* 2 × batch with given_indices */
} HostStep;

/* exp for float32 (tanh and the softmax), in a form the compiler vectorises: 2ⁿ·exp(r)
 * with |r| ≤ ln2/2 and a degree-6 polynomial, over the clamped range
 * [−87, 88]. Against the float64 exp over [−86, 86]: at most 8.1e-8
 * relative (1.4 ulp); the tanh below, at most 1.5e-7 relative over [−10, 10]. */
static inline float
exp_f32 (float x)
{
  x = x > -87.0f ? x : -87.0f;
  x = x < 88.0f ? x : 88.0f;
  float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;   /* round to nearest */
  float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  union { int32_t i; float f; } scale = { .i = ((int32_t) n + 127) << 23 };
  return p * scale.f;
}

/* tanh for float32: an odd polynomial below |x| = 0.625, (1 − e^{−2|x|}) /
 * (1 + e^{−2|x|}) above; a NaN stays a NaN (it takes the polynomial branch). */
static inline float
tanh_f32 (float x)
{
  float a = x < 0 ? -x : x, z = x * x;
  float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z
                  + 1.33314422036e-1f) * z - 3.33332819422e-1f) * z * x + x;
  float e = exp_f32 (-2.0f * a);
  float big = (1.0f - e) / (1.0f + e);
  big = x < 0 ? -big : big;
  return a >= 0.625f ? big : small;
}

/* The next step's rows are prefetched a few at a time (HostStep's
 * prefetch_rows), before each GEMM and after every UPDATE_STRETCH parameters
 * of the update (net-host-body.h, prefetch_some). */
#define UPDATE_STRETCH 1024

/* Of the thread's rows of the next step, how many prefetch_some has asked
 * for so far this step: the thread's own (each member of the host team is
 * a thread), set to 0 as its part of a step starts. Not in HostStep: a
 * member writes it some fifty times a step, and a line that one core keeps
 * writing while the other reads the step's arguments beside it goes from
 * core to core each time (docs/architecture.md, "The host step"). */
static __thread guint prefetched_rows;

/* The bytes of W_1's gradient that a training step works out at a time
 * and applies at once (net-host-body.h, grad_update_rows), on the stack:
 * for 784-100-100-10 blocks of 80 rows, which the small-matrix kernels run
 * faster than 40 (73.5 against 76.2 µs for a member's 392 rows; lib/blas.c,
 * SPLIT_MIN_ROWS), still read back from L1 or L2 by the update. */
#define GRAD_BLOCK_BYTES 32768

/* -Dstep_profile=true: the time of each phase of a training step, on the
 * host team (step_part) or alone (step), summed per member and phase,
 * printed as µs per step at exit. STEP_PHASE (t, threads, p) adds the time
 * since member @t's last mark to phase @p (@threads 0: not a training step,
 * nothing); no code at all in other builds. */
#ifdef DRMAD_STEP_PROFILE
#include <stdio.h>
#include <time.h>
enum { PHASE_GATHER, PHASE_WAIT, PHASE_LAYER1, PHASE_FORWARD, PHASE_SOFTMAX, PHASE_DELTA, PHASE_WEIGHT_GRAD,
       PHASE_UPDATE, N_PHASES };
static const char *const phase_names[N_PHASES] = {
  "gather", "barrier waits", "layer 1 GEMM (halves)", "rest of forward", "softmax and loss",
  "delta chain (GEMM, phi')", "weight gradients (GEMM, bias sums)", "update",
};
typedef struct {
  guint64 ns[N_PHASES], last, steps;
  guint64 between, gaps;   /* from a step's last mark to the next step's start, gaps under 1 ms */
} __attribute__ ((aligned (64))) PhaseTimes;
static PhaseTimes phase_times[DRMAD_TEAM_MAX];

static inline guint64
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (guint64) ts.tv_sec * 1000000000u + (guint64) ts.tv_nsec;
}

#define STEP_PHASE_BEGIN(t, threads) \
  do { if ((threads) > 0) { guint64 now_ = now_ns (); \
                            if (phase_times[t].last && now_ - phase_times[t].last < 1000000) { \
                              phase_times[t].between += now_ - phase_times[t].last; phase_times[t].gaps++; } \
                            phase_times[t].last = now_; phase_times[t].steps++; } } while (0)
#define STEP_PHASE(t, threads, p) \
  do { if ((threads) > 0) { guint64 now_ = now_ns (); phase_times[t].ns[p] += now_ - phase_times[t].last; \
                            phase_times[t].last = now_; } } while (0)

static void __attribute__ ((destructor))
print_phases (void)
{
  if (!phase_times[0].steps)
    return;
  fprintf (stderr, "drmad step profile: µs per training step, alone or on the host team (%" G_GUINT64_FORMAT " steps)\n",
           phase_times[0].steps);
  for (guint p = 0; p <= N_PHASES; p++) {
    fprintf (stderr, "  %-36s", p < N_PHASES ? phase_names[p] : "all");
    for (guint t = 0; t < DRMAD_TEAM_MAX && phase_times[t].steps; t++) {
      guint64 ns = 0;
      for (guint q = 0; q < N_PHASES; q++)
        ns += p < N_PHASES && q != p ? 0 : phase_times[t].ns[q];
      fprintf (stderr, " %9.2f", ns / 1e3 / phase_times[t].steps);
    }
    fputc ('\n', stderr);
  }
  fprintf (stderr, "  %-36s", "between steps (gaps under 1 ms)");
  for (guint t = 0; t < DRMAD_TEAM_MAX && phase_times[t].steps; t++)
    fprintf (stderr, " %9.2f", phase_times[t].gaps ? phase_times[t].between / 1e3 / phase_times[t].gaps : 0.0);
  fputc ('\n', stderr);
}
#else
#define STEP_PHASE_BEGIN(t, threads) do { (void) (threads); } while (0)
#define STEP_PHASE(t, threads, p)    do { (void) (threads); } while (0)
#endif

/* A training step computes z_1 in two halves (net-host-body.h,
 * layer1_half) where the net has a second layer, whose pre-δ_1 holds the
 * second half until the backward pass needs it. */
#define LAYER1_HALVES(net) ((net)->n_layers > 1)

/* The first row of the minibatch that member @t of @threads of the host
 * team takes (@n for t = threads): n·t/threads moved to the nearest
 * multiple of TEAM_ROW_ALIGN rows where that moves it by at most an eighth
 * of a member's rows, so that each member's rows of a_l, z_l and δ_l start
 * on a cache line for any even width (8 rows of 50 floats are 25 lines).
 * Split at 25 rows of 784-50-50-50-10's batch of 50, the line holding the
 * end of row 24 and the start of row 25 of every array went from core to
 * core at each phase: with the split at 24, member 0's δ chain took
 * 3.9–4.1 µs a step instead of 5.2–5.6 and its whole step 41–44 µs instead
 * of 43–47 (-Dstep_profile=true, three alternating rounds); end to end the
 * gain is within the machine's noise (docs/benchmarks.md). The numbers do
 * not depend on the split. */
#define TEAM_ROW_ALIGN 8

static inline gsize
team_first_row (gsize n, guint t, guint threads)
{
  if (t >= threads)
    return n;
  gsize even = n * t / threads, at = (even + TEAM_ROW_ALIGN / 2) / TEAM_ROW_ALIGN * TEAM_ROW_ALIGN;
  gsize moved = at > even ? at - even : even - at;
  return moved * threads * 8 <= n && at <= n ? at : even;   /* moved ≤ an eighth of n / threads */
}

#define REAL        float
#define NAME(x)     x##_f32
#define FP64        FALSE
#define ACT_TANH_FN tanh_f32
#define EXP_FN      exp_f32
#define LOG_FN      logf
#include "net-host-body.h"
#undef REAL
#undef NAME
#undef FP64
#undef ACT_TANH_FN
#undef EXP_FN
#undef LOG_FN

#define REAL        double
#define NAME(x)     x##_f64
#define FP64        TRUE
#define ACT_TANH_FN tanh
#define EXP_FN      exp
#define LOG_FN      log
#include "net-host-body.h"

/* Which of DrmadNet's team_choice a training or reverse step uses: steps
 * of one kind take about as long as each other. */
static guint
host_kind (const HostStep *h)
{
  G_STATIC_ASSERT (DRMAD_HOST_KINDS == 6);   /* the kinds below */
  if (h->work == HOST_STEP)
    return h->velocity ? 0 : 1;
  return 2 + (h->with_dgamma ? 1 : 0) + (h->from_tape ? 2 : 0);
}

static gint64
now_ns (void)
{
  struct timespec now;
  clock_gettime (CLOCK_MONOTONIC, &now);
  return (gint64) now.tv_sec * 1000000000 + now.tv_nsec;
}

static void CL_CALLBACK
run (void *data)
{
  const HostStep *h = data;
  gboolean fp64 = h->net->precision == DRMAD_PRECISION_FLOAT64;
  switch (h->work) {
  case HOST_STEP:
  case HOST_REVERSE: {
    DrmadTeamWork part = h->work == HOST_STEP ? (fp64 ? step_part_f64 : step_part_f32)
                                              : (fp64 ? reverse_f64 : reverse_f32);
    /* one OpenBLAS thread per GEMM (DRMAD_BLAS_THREADS is 1 when the team
     * runs), set here so that no member changes it under another */
    if (h->threads > 1 && h->blas->get_num_threads () != 1)
      h->blas->set_num_threads (1);
    /* by timing only where the numbers are the same either way */
    DrmadTeamChoice *choice = h->threads > 1 && !fp64 && drmad_host_step_gemm_kernels ()
                              && !drmad_team_threads_given () ? &h->net->team_choice[host_kind (h)] : NULL;
    gboolean team = h->threads > 1 && (!choice || drmad_team_choice_team (choice));
    gint64 start = choice ? now_ns () : 0;
    gboolean ran_team = team && drmad_team_run (h->threads, part, h);
    if (!ran_team) {
      if (h->threads > 1 && !team)
        drmad_team_note_declined ();
      ((HostStep *) h)->threads = 1;   /* the team is slower now, busy or has no helpers: alone (the
                                        * runtime's copy of the arguments) */
      if (h->work == HOST_STEP)
        fp64 ? step_f64 (h) : step_f32 (h);
      else
        part (h, 0, 1);
    }
    if (choice && drmad_team_choice_record (choice, ran_team, now_ns () - start))
      g_debug ("host steps of kind %u now run %s (timed faster so)", host_kind (h),
               ran_team ? "on the host team" : "alone");
    break;
  }
  case HOST_HVP:           fp64 ? hvp_f64 (h, h->out, FALSE, 0, 1) : hvp_f32 (h, h->out, FALSE, 0, 1); break;
  case HOST_FULL_GRADIENT: fp64 ? full_gradient_f64 (h) : full_gradient_f32 (h); break;
  case HOST_EVALUATE:      fp64 ? evaluate_f64 (h) : evaluate_f32 (h); break;
  }
}

gsize
drmad_net_host_tape_reals (const DrmadNet *net)
{
  gsize reals = 0;
  for (guint l = 1; l <= net->n_layers; l++)
    reals += (gsize) net->batch * net->sizes[l] * (l < net->n_layers ? 3 : 2);
  return reals;
}

/* Points @args at the a_l, δ_l and pre-δ_l of @tape (laid out a_1 … a_L,
 * δ_1 … δ_L, pre-δ_1 … pre-δ_{L−1}, batch rows each), or of the net's
 * workspace when @tape is NULL. */
static void
workspace_args (DrmadNet *net, DrmadBuffer *tape, HostStep *args)
{
  guint L = net->n_layers;
  gsize elem = drmad_precision_size (net->precision), at = 0;
  for (guint l = 1; l <= L; l++) {
    if (!tape) {
      args->acts[l] = net->acts[l]->host;
      args->deltas[l] = net->deltas[l]->host;
      args->pre_deltas[l] = l < L ? net->pre_deltas[l]->host : NULL;
      continue;
    }
    gsize size = (gsize) net->batch * net->sizes[l] * elem;
    args->acts[l] = (char *) tape->host + at;
    args->deltas[l] = (char *) tape->host + at + size;
    args->pre_deltas[l] = l < L ? (char *) tape->host + at + 2 * size : NULL;
    at += (l < L ? 3 : 2) * size;
  }
}

/* Queues @args (@size bytes: a HostStep and its indices) as a native kernel;
 * the runtime copies them. */
static gboolean
enqueue_sized (DrmadNet *net, HostStep *args, gsize size, GError **error)
{
  args->net = net;
  if (!args->acts[1])
    workspace_args (net, NULL, args);
  if (!(args->blas = drmad_openblas (error)))
    return FALSE;
  if (net->host_direct && args->work == HOST_STEP) {   /* the queue is idle: drmad_net_host_direct_begin */
    g_mutex_lock (&net->step_lock);
    /* a copy another thread asked for goes first, one per step: the lock
     * alone let this thread take it back step after step, and a copy wait
     * for the whole training */
    for (guint made = net->copies_made; g_atomic_int_get (&net->copies_asked) > 0 && net->copies_made == made;)
      g_cond_wait (&net->copy_made, &net->step_lock);
    run (args);
    g_mutex_unlock (&net->step_lock);
    return TRUE;
  }
  return drmad_cl_check (clEnqueueNativeKernel (net->device->queue, run, args, size, 0, NULL, NULL, 0, NULL, NULL),
                         "clEnqueueNativeKernel (host step)", error);
}

/* Under step_lock: drmad_net_get_params() from another thread reads it
 * there, to take the parameters from host memory while they are only
 * there. */
static void
drmad_net_set_host_direct (DrmadNet *net, gboolean direct)
{
  g_mutex_lock (&net->step_lock);
  net->host_direct = direct;
  g_mutex_unlock (&net->step_lock);
}

gboolean
drmad_net_host_direct_begin (DrmadNet *net, GError **error)
{
  if (!net->host_fused || g_strcmp0 (g_getenv ("DRMAD_HOST_DIRECT"), "0") == 0)
    return FALSE;
  if (!drmad_cl_check (clFinish (net->device->queue), "clFinish (before training steps)", error))
    return FALSE;
  drmad_net_set_host_direct (net, TRUE);
  return TRUE;
}

void
drmad_net_host_direct_end (DrmadNet *net)
{
  drmad_net_set_host_direct (net, FALSE);
}

static gboolean
enqueue (DrmadNet *net, HostStep *args, GError **error)
{
  return enqueue_sized (net, args, sizeof *args, error);
}

/* Fills @indices with the minibatch of (@seed, @step) over @n examples and
 * the one after it, from the net's note of them where the previous call
 * left it (its second half, and the step after that if its team worked it
 * out: HostStep's ahead), else by hashing; then notes the second half for
 * the next call (the training loop asks for steps in order; each batch is
 * hashed once). */
static void
step_indices (DrmadNet *net, guint64 seed, guint64 step, guint32 n, guint32 *indices)
{
  guint batch = net->batch;
  gboolean noted = net->next_valid && net->next_seed == seed && net->next_step == step && net->next_n == n;
  if (noted)
    memcpy (indices, net->next_indices, batch * sizeof *indices);
  else
    drmad_sampler_batch (seed, step, batch, n, indices);
  if (noted && net->ahead_valid)
    memcpy (indices + batch, net->next_indices + batch, batch * sizeof *indices);
  else
    drmad_sampler_batch (seed, step + 1, batch, n, indices + batch);
  memcpy (net->next_indices, indices + batch, batch * sizeof *indices);
  net->next_valid = TRUE;
  net->ahead_valid = FALSE;   /* until a team's step leaves step + 2's in next_indices + batch */
  net->next_seed = seed;
  net->next_step = step + 1;
  net->next_n = n;
}

/* The data's side of a native kernel's arguments. */
static HostStep
data_args (DrmadDeviceData *data, HostWork work)
{
  return (HostStep) {
    .work = work, .n = data->n, .labels = data->labels->host,
    .features = data->features ? data->features->host : NULL, .bytes = data->bytes ? data->bytes->host : NULL,
    .scale = data->scale ? data->scale->host : NULL, .offset = data->offset ? data->offset->host : NULL,
  };
}

gboolean
drmad_net_enqueue_host_step (DrmadNet *net, DrmadDeviceData *data, DrmadBuffer *params, guint64 seed,
                             guint64 step, DrmadBuffer *grad, const DrmadHostUpdate *update, GError **error)
{
  g_return_val_if_fail (net->host_fused && (!update || grad), FALSE);
  gsize size = sizeof (HostStep) + (update ? 2 * net->batch * sizeof (guint32) : 0);
  g_autofree HostStep *args = g_malloc (size);
  *args = data_args (data, HOST_STEP);
  args->seed = seed;
  args->step = step;
  args->params = params->host;
  args->grad = grad ? grad->host : NULL;
  workspace_args (net, net->host_tape, args);
  if (update) {
    args->velocity = update->velocity->host;
    args->eta = update->eta->host;
    args->gamma = update->gamma->host;
    args->l2 = update->l2->host;
    args->segment_offset = update->segment_offset;
    args->uniform = update->uniform;
    args->given_indices = TRUE;   /* training goes on with the next step: its rows are prefetched */
    step_indices (net, seed, step, data->n, args->indices);
    /* before each forward GEMM and each layer's backward (a team member
     * has L − 1 more, its δ chain apart from its weight gradients: its
     * prefetches end a little earlier in the step) */
    guint places = 2 * net->n_layers;
    for (guint l = 1; l <= net->n_layers; l++)
      places += ((gsize) (net->sizes[l - 1] + 1) * net->sizes[l] + UPDATE_STRETCH - 1) / UPDATE_STRETCH;
    args->prefetch_rows = (net->batch + places - 1) / places;
    args->grad_zero = net->zero_grad == grad;
    args->threads = drmad_host_step_threads (net->batch);
    /* On the calling thread (no queued step reads the note meanwhile), a
     * team's member 0 hashes step + 2's minibatch while it would wait for
     * the others' δ chain, not this thread between steps (step_part). */
    if (net->host_direct && args->threads > 1)
      args->ahead = net->next_indices + net->batch;
  }
  /* the update leaves g zero; without one, g keeps the gradient */
  net->zero_grad = update ? grad : NULL;
  return enqueue_sized (net, args, size, error);
}

gboolean
drmad_net_enqueue_host_hvp (DrmadNet *net, DrmadBuffer *params, DrmadBuffer *dir, DrmadBuffer *out,
                            GError **error)
{
  g_return_val_if_fail (net->host_fused, FALSE);
  HostStep args = { .work = HOST_HVP, .params = params->host, .dir = dir->host, .out = out->host };
  return enqueue (net, &args, error);
}

gboolean
drmad_net_enqueue_host_reverse (DrmadNet *net, DrmadDeviceData *data, guint64 seed, guint64 step,
                                const DrmadHostReverse *r, GError **error)
{
  g_return_val_if_fail (net->host_fused, FALSE);
  HostStep args = data_args (data, HOST_REVERSE);
  if (r->with_dgamma)
    net->zero_grad = NULL;   /* the step at w_t writes g_t */
  args.seed = seed;
  args.step = step;
  args.params = r->w->host;
  args.grad = r->with_dgamma ? r->g->host : NULL;
  args.l2 = r->l2->host;
  args.eta = r->eta->host;
  args.gamma = r->gamma->host;
  args.segment_offset = r->segment_offset;
  args.uniform = r->uniform;
  args.dir = r->u->host;
  args.out = r->hu->host;
  args.dw = r->dw->host;
  args.dv = r->dv->host;
  args.deta = r->deta->host;
  args.dgamma = r->dgamma->host;
  args.dl2 = r->dl2->host;
  args.v_next = r->v_next->host;
  args.v_now = r->v_now->host;
  args.with_dgamma = r->with_dgamma;
  args.from_tape = r->tape != NULL;
  args.threads = drmad_host_step_threads (net->batch);
  workspace_args (net, r->tape, &args);
  return enqueue (net, &args, error);
}

gboolean
drmad_net_enqueue_host_passes (DrmadNet *net, DrmadDeviceData *data, DrmadBuffer *params, DrmadBuffer *grad,
                               guint chunk, GError **error)
{
  g_return_val_if_fail (net->host_fused && chunk > 0, FALSE);
  HostStep args = data_args (data, grad ? HOST_FULL_GRADIENT : HOST_EVALUATE);
  if (grad)
    net->zero_grad = NULL;
  args.params = params->host;
  args.grad = grad ? grad->host : NULL;
  args.chunk = chunk;
  return enqueue (net, &args, error);
}
