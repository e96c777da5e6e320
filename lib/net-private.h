/* Internal: the net struct, shared by net.c (forward, gradient, evaluation)
 * and train.c (the SGD run). */
#pragma once

#include "blas.h"
#include "drmad-net.h"
#include "host-team.h"

#define DRMAD_MAX_LAYERS 16

/* Kinds of fused host step that time their mode apart (lib/net-host.c,
 * host_kind): training with and without an update, four kinds of reverse
 * step. */
#define DRMAD_HOST_KINDS 6

enum { ACT_IDENTITY = 0, ACT_RELU = 1, ACT_TANH = 2, ACT_SOFTSIGN = 3 };  /* as in kernels/nn.cl */

struct _DrmadDeviceData {
  DrmadDevice   *device;
  DrmadPrecision precision;
  guint          n, dim, n_classes;
  DrmadBuffer   *features;   /* n × dim reals, or NULL with bytes */
  DrmadBuffer   *bytes;      /* a byte dataset: n × dim bytes, … */
  DrmadBuffer   *scale, *offset; /* … and, standardised, dim floats each: feature = byte · scale +
                              * offset in float (drmad_dataset_byte_coefficients()); NULL: byte / 255 */
  DrmadBuffer   *labels;     /* n ints */
};

/* The advice a training that diverged ends its error with (train.c,
 * check_loss); errors that wrap it add none of their own (meta.c). */
#define DRMAD_SMALLER_LR_ADVICE " (try a smaller learning rate)"

struct _DrmadNet {
  DrmadDevice    *device;
  gpointer        owner;        /* the GThread inside a call on the net, or NULL (drmad_net_enter) */
  guint           depth;        /* the owner's calls on it, nested: the library's own */
  guint           in_callback;  /* the owner is in a progress callback or hook of work on the net */
  DrmadPrecision  precision;
  DrmadActivation activation;
  DrmadGemmPath   gemm_path;
  gboolean        host_fused;                     /* a step and an HVP are one native kernel each
                                                   * (lib/net-host.c): the host GEMM path, unless
                                                   * DRMAD_HOST_STEP=0 */
  gboolean        host_direct;                    /* fused training steps run on the calling thread,
                                                   * the queue idle (drmad_net_host_direct_begin);
                                                   * set under step_lock */
  GMutex          step_lock;                      /* held by each such step and by
                                                   * drmad_net_get_params(), which another thread may
                                                   * call meanwhile: it copies whole steps' parameters */
  gint            copies_asked;                   /* drmad_net_get_params() calls waiting for step_lock */
  guint           copies_made;                    /* under step_lock */
  GCond           copy_made;
  gsize           cpu_chunk;                      /* CPU devices: least indices per work-item
                                                   * (drmad_net_run_1d); 0 on GPUs: one each */
  guint           n_layers;                       /* L */
  guint           sizes[DRMAD_MAX_LAYERS + 1];
  gsize           weight_offset[DRMAD_MAX_LAYERS + 1];  /* index 1 … L */
  gsize           bias_offset[DRMAD_MAX_LAYERS + 1];
  gsize           n_params;
  guint           batch;
  guint           rows_capacity;                  /* rows the workspace holds: max(batch, eval chunk) */

  DrmadBuffer    *params;                         /* w */
  DrmadBuffer    *grad;                           /* g */
  DrmadBuffer    *input;                          /* gathered minibatch, rows × sizes[0] */
  DrmadBuffer    *acts[DRMAD_MAX_LAYERS + 1];     /* a_l, index 1 … L (a_L holds logits) */
  DrmadBuffer    *deltas[DRMAD_MAX_LAYERS + 1];   /* δ_l */
  DrmadBuffer    *pre_deltas[DRMAD_MAX_LAYERS + 1]; /* δ_{l+1} W_{l+1}ᵀ before φ' (R-operator needs it) */
  DrmadBuffer    *r_z[DRMAD_MAX_LAYERS + 1];      /* R(z_l), batch rows */
  DrmadBuffer    *r_a[DRMAD_MAX_LAYERS + 1];      /* R(a_l) */
  DrmadBuffer    *r_deltas[DRMAD_MAX_LAYERS + 1]; /* R(δ_l) */
  DrmadBuffer    *indices;                        /* uint, batch */
  DrmadBuffer    *batch_labels;                   /* int, batch */
  DrmadBuffer    *row_loss, *row_wrong;           /* rows_capacity */
  DrmadBuffer    *acc;                            /* scalars: [0] loss sum, [1] error count */
  DrmadBuffer    *host_tape;                      /* fused host path: where the next step leaves its
                                                   * a_l and δ_l (a tape slot; NULL: the workspace) */
  /* Fused host path: the minibatch indices of the step after the last
   * training step queued (lib/net-host.c, step_indices), valid for
   * (next_seed, next_step, next_n) once next_valid is set; then those of
   * the step after that, valid with ahead_valid as well (worked out during
   * a team's step, HostStep's ahead). */
  guint32        *next_indices;                   /* 2 × batch */
  /* drmad_net_init_params(): the unit normal draws of the weights of seed
   * init_seed (n_params; NULL before the first call). Every meta-iteration
   * starts from the same seed, and the draws took 3 ms of each. */
  double         *init_draws;
  guint64         init_seed;
  /* Fused host path: the gradient array that the work queued so far leaves
   * all zeros (a training step's update clears g_l as it reads it, so the
   * next step's weight-gradient GEMMs need no clearing pass), or NULL.
   * Everything queued that writes a gradient otherwise sets it to NULL. */
  DrmadBuffer    *zero_grad;
  gboolean        next_valid, ahead_valid;
  guint64         next_seed, next_step;
  guint32         next_n;
  /* Team or alone for each kind of fused host step (lib/net-host.c,
   * host_kind), by timing; written only by the step running. */
  DrmadTeamChoice team_choice[DRMAD_HOST_KINDS];

  cl_kernel k_sample_batch, k_gather_rows, k_bias_act, k_softmax_xent, k_act_backward,
            k_column_sums, k_accumulate, k_sgd_momentum, k_r_bias_act, k_r_softmax, k_r_act_backward,
            k_gather_bytes;
};

/* The kernels' activation code of the hidden layers. */
static inline guint
hidden_activation (const DrmadNet *net)
{
  return net->activation == DRMAD_ACTIVATION_TANH ? ACT_TANH
         : net->activation == DRMAD_ACTIVATION_SOFTSIGN ? ACT_SOFTSIGN : ACT_RELU;
}

/* Enqueues the minibatch gradient at (seed, step) for the parameters in
 * @params into @grad (unregularised, mean over the batch) and adds the
 * minibatch's summed loss to acc[0]. No host synchronisation. With @grad
 * NULL, only the forward pass and the δ_l that drmad_net_enqueue_batch_hvp()
 * needs: no weight GEMMs, no loss. */
gboolean drmad_net_enqueue_batch_gradient (DrmadNet *net, DrmadDeviceData *data, DrmadBuffer *params,
                                           guint64 seed, guint64 step, DrmadBuffer *grad,
                                           GError **error);

/* After drmad_net_enqueue_batch_gradient() at @params, enqueues the
 * Hessian-vector product of the minibatch loss (unregularised) with the
 * direction @dir into @out, by the R-operator (docs/algorithm.md §3), reusing the
 * forward pass left in the workspace. */
gboolean drmad_net_enqueue_batch_hvp (DrmadNet *net, DrmadBuffer *params, DrmadBuffer *dir,
                                      DrmadBuffer *out, GError **error);

/* Enqueues the gradient of the mean loss over all of @data at @params into
 * @grad and adds the summed loss to acc[0] (acc is not reset). */
gboolean drmad_net_enqueue_full_gradient (DrmadNet *net, DrmadDeviceData *data, DrmadBuffer *params,
                                          DrmadBuffer *grad, GError **error);

gboolean drmad_net_check_data (DrmadNet *net, DrmadDeviceData *data, GError **error);

/* Launches a FOR_CHUNK kernel over @n indices (one per work-item on GPUs, a few
 * long chunks on CPU devices). */
gboolean drmad_net_run_1d (DrmadNet *net, DrmadLaunch *launch, gsize n, GError **error);

/* The fused host path (lib/net-host.c), when net->host_fused: what
 * drmad_net_enqueue_batch_gradient() and drmad_net_enqueue_batch_hvp() do, as
 * one native kernel each. With @update (and @grad), the step then applies
 * the §1 update to @params and @update->velocity, as sgd_momentum does. */
/* Stretches of parameters [start, end) over which η and γ (of one schedule
 * segment) and exp(λ) hold one value each, as a per-layer θ leaves them: the
 * fused host loops then read three numbers instead of three vectors, and
 * compute the same (lib/train.c makes them; @n = 0: too many stretches, the
 * loops read the vectors). */
typedef struct {
  gsize  start, end;
  double eta, gamma, l2;
} DrmadUniformRun;

typedef struct {
  guint            n;
  DrmadUniformRun *runs;
} DrmadUniformRuns;

typedef struct {
  DrmadBuffer *velocity, *eta, *gamma, *l2;
  gsize        segment_offset;   /* into eta and gamma */
  const DrmadUniformRuns *uniform;   /* of the segment, or NULL */
} DrmadHostUpdate;

/* Training steps on the calling thread. While a training loop queues
 * nothing but its steps (lib/train.c; its hooks copy on the host),
 * drmad_net_enqueue_host_step()
 * on a fused host path can run each step at once instead of as a native
 * kernel: the same function on the same arrays (PoCL's CPU device works on
 * the host's memory), without PoCL's hand-over between steps or a third
 * thread beside the two of the host team. Begin waits for the queue to
 * drain and returns whether steps now run directly (FALSE: not a fused
 * host path, or DRMAD_HOST_DIRECT=0; @error set only when the wait failed);
 * end goes back to queuing. Nothing may be queued in between that reads or
 * writes what the steps do. */
gboolean drmad_net_host_direct_begin (DrmadNet *net, GError **error);
void     drmad_net_host_direct_end   (DrmadNet *net);

gboolean drmad_net_enqueue_host_step (DrmadNet *net, DrmadDeviceData *data, DrmadBuffer *params, guint64 seed,
                                      guint64 step, DrmadBuffer *grad, const DrmadHostUpdate *update,
                                      GError **error);
gboolean drmad_net_enqueue_host_hvp (DrmadNet *net, DrmadBuffer *params, DrmadBuffer *dir, DrmadBuffer *out,
                                     GError **error);
/* One reverse step (docs/algorithm.md §2) on the fused host path: the
 * minibatch gradient at @w (into @g when @with_dgamma, else only the δ_l),
 * then what the kernels reverse_before_hvp, the HVP with u and
 * reverse_after_hvp do, as one native kernel. */
typedef struct {
  DrmadBuffer *dw, *dv, *v_next, *v_now, *g, *w, *l2, *eta, *gamma, *deta, *dgamma, *u, *hu, *dl2;
  DrmadBuffer *tape;             /* NULL, or the tape slot a step at w on this minibatch wrote (then
                                  * no gradient is recomputed; only without dγ) */
  const DrmadUniformRuns *uniform;   /* of the segment, or NULL */
  gsize        segment_offset;   /* into eta, gamma, deta, dgamma */
  gboolean     with_dgamma;
} DrmadHostReverse;

/* A tape slot of the fused host path holds what a training step leaves for
 * the HVP at the same weights and minibatch: a_l, δ_l (l = 1 … L) and the
 * pre-activation δ_l (l < L), batch rows each. Set net->host_tape to a
 * buffer of this many reals and the next drmad_net_enqueue_host_step()
 * writes there instead of the workspace; a reverse step given the slot then
 * skips its forward and backward passes (lib/reverse.c, the exact method). */
gsize drmad_net_host_tape_reals (const DrmadNet *net);

gboolean drmad_net_enqueue_host_reverse (DrmadNet *net, DrmadDeviceData *data, guint64 seed, guint64 step,
                                         const DrmadHostReverse *reverse, GError **error);

/* All of @data in passes of @chunk rows (at most net->batch for a byte
 * dataset or with @grad): with @grad, what drmad_net_enqueue_full_gradient()
 * does; without, the summed loss and error count into acc[0] and acc[1]. */
gboolean drmad_net_enqueue_host_passes (DrmadNet *net, DrmadDeviceData *data, DrmadBuffer *params,
                                        DrmadBuffer *grad, guint chunk, GError **error);

/* Every public entry point that works on a net (its parameters, its
 * workspace, its trainers, θ's passes over it) runs between these: one
 * thread at a time, and not from a progress callback or hook of work on
 * the same net (drmad_net_callback_begin), where it would overwrite that
 * work's state. FALSE and %DRMAD_ERROR_BUSY otherwise, naming @what. The
 * library's own nested calls, on the owner thread outside callbacks, pass. */
gboolean drmad_net_enter (DrmadNet *net, const char *what, GError **error);
void     drmad_net_leave (DrmadNet *net);
/* Around a call of the caller's progress function or hook for work on @net. */
void     drmad_net_callback_begin (DrmadNet *net);
void     drmad_net_callback_end   (DrmadNet *net);
