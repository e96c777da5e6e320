/* drmad: multilayer perceptrons on a device, and their SGD-with-momentum training. */
#pragma once

#include <glib.h>
#include "drmad-dataset.h"
#include "drmad-device.h"

G_BEGIN_DECLS

typedef enum {
  DRMAD_ACTIVATION_RELU,
  DRMAD_ACTIVATION_TANH,
  DRMAD_ACTIVATION_SOFTSIGN,   /* z / (1 + |z|): added by following docs/architecture.md, kept as its test */
} DrmadActivation;

/* Names for settings and the command line: "relu", "tanh", "softsign". The
 * name function gives a static string (the first name for a value out of
 * range); the parser takes them in any case and refuses any other with
 * %DRMAD_ERROR_INVALID_ARGUMENT listing them, leaving @activation untouched. */
const char *drmad_activation_name      (DrmadActivation activation);
gboolean    drmad_activation_from_name (const char *name, DrmadActivation *activation, GError **error);

/**
 * DrmadProgressFunc:
 * Called from the thread that runs the work, at most every few steps, with a
 * phase name ("train", "evaluate", …), the step reached and the total.
 * Return FALSE to stop: the work ends within one step with %DRMAD_ERROR_CANCELLED.
 * It may read the net (getters, drmad_net_get_params()) and work on other
 * nets; a call that works on the same net (evaluation, training, θ's
 * passes) fails with %DRMAD_ERROR_BUSY (drmad.h, "Threads").
 */
typedef gboolean (*DrmadProgressFunc) (const char *phase, guint64 step, guint64 total, gpointer user_data);

/* A step reported to a DrmadProgressFunc is queued, not always done: on a
 * queued path (every OpenCL device, and the host without its fused path)
 * training reports each step as it is enqueued and waits for the device
 * only every 16 steps, for the 16 before, so the steps reported run up to
 * this many ahead of those done, and the first 32 of a training come at
 * almost the same instant. A time left is measured from steps reported
 * further apart than this (app/drmad-job.c, drmad_eta_progress). */
#define DRMAD_PROGRESS_LEAD 32

/* A dataset copied to a device, in the precision of the nets that use it. */
typedef struct _DrmadDeviceData DrmadDeviceData;

/* A new copy of @dataset on @device, freed with drmad_device_data_free(). It
 * keeps a reference to @device and nothing of @dataset, which may be freed as
 * soon as it returns. A dataset that holds bytes (a loader's, a split of one)
 * is copied as its bytes and its per-feature standardisation, one byte a
 * feature, and turned into reals as the passes read it; one made from floats
 * is copied as reals. Neither makes the dataset's float view. */
DrmadDeviceData *drmad_device_data_new  (DrmadDevice *device, DrmadPrecision precision,
                                         const DrmadDataset *dataset, GError **error);
void             drmad_device_data_free (DrmadDeviceData *data);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DrmadDeviceData, drmad_device_data_free)
/* The number of examples the copy holds (drmad_dataset_get_n() of the dataset it was made from). */
guint            drmad_device_data_get_n (const DrmadDeviceData *data);

/**
 * DrmadNet:
 * An MLP z_l = a_{l−1} W_l + b_l, a_l = φ(z_l), softmax cross-entropy on the
 * last layer (docs/algorithm.md §3). All parameters live in one flat vector of
 * length P: for each layer, W_l (row-major, fan_in × fan_out) then b_l.
 */
typedef struct _DrmadNet DrmadNet;

/* @sizes: n_sizes ≥ 2 layer widths, input first, classes last (copied). @batch:
 * minibatch size. A new net holding a reference to @device; free with
 * drmad_net_free(). */
DrmadNet *drmad_net_new  (DrmadDevice *device, const guint *sizes, guint n_sizes,
                          DrmadActivation activation, DrmadPrecision precision, guint batch,
                          GError **error);
void      drmad_net_free (DrmadNet *net);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DrmadNet, drmad_net_free)

guint          drmad_net_get_n_layers   (const DrmadNet *net);  /* weight layers L = n_sizes − 1 */
guint          drmad_net_get_size       (const DrmadNet *net, guint index);  /* width of layer index ∈ [0, L] */
gsize          drmad_net_get_n_params   (const DrmadNet *net);
guint          drmad_net_get_batch      (const DrmadNet *net);
DrmadPrecision drmad_net_get_precision  (const DrmadNet *net);
/* The net's own reference, not a new one: valid as long as the net;
 * drmad_device_ref() it to keep it longer. */
DrmadDevice   *drmad_net_get_device     (const DrmadNet *net);
/* Where layer @layer ∈ [1, L] lives in the flat parameter vector. */
void           drmad_net_get_layer_span (const DrmadNet *net, guint layer,
                                         gsize *weight_offset, gsize *n_weights, gsize *bias_offset);

/* @params: the caller's P numbers, copied in or filled. A new net's
 * parameters are zeros until set or drmad_net_init_params() draws them.
 * drmad_net_set_params() refuses a value that is NaN, ±Inf or, in a float32
 * net, beyond float32's range with %DRMAD_ERROR_INVALID_ARGUMENT naming the
 * first one (counted from 1), and leaves the parameters as they were; from another
 * thread while the net works, or from a progress callback of work on it,
 * it fails with %DRMAD_ERROR_BUSY (drmad.h, "Threads"). Both report a
 * failed copy to or from the device as %DRMAD_ERROR_OPENCL, or
 * %DRMAD_ERROR_OUT_OF_MEMORY where the device ran out of memory;
 * drmad_net_get_params() may be called from a progress callback, and from
 * another thread while the net works: it then copies the parameters after
 * a whole step, waiting for the step under way to end, and on a queued
 * path for every step queued before it (up to DRMAD_PROGRESS_LEAD,
 * above). */
gboolean drmad_net_set_params (DrmadNet *net, const double *params, GError **error);
gboolean drmad_net_get_params (DrmadNet *net, double *params, GError **error);

/* W_l = scale_l · Z_l with Z_l fixed N(0,1) draws from @seed, biases 0
 * (docs/algorithm.md §1). @scales: L finite values ≥ 0 (else
 * %DRMAD_ERROR_INVALID_ARGUMENT naming the layer), or NULL for 1/√fan_in.
 * Weights the scale takes past the net's precision (a float32 net with a
 * learned initial scale beyond e^88) are not refused here: they go in as
 * ±Inf and the training reports %DRMAD_ERROR_DIVERGED, as for any
 * hyperparameter whose training diverges. The
 * net keeps the draws of the last seed (8 bytes a parameter), so that a
 * second call with it, as each meta-iteration makes, draws nothing. */
gboolean drmad_net_init_params (DrmadNet *net, guint64 seed, const double *scales, GError **error);

/* The functions below borrow @data for the call only; it must have been made
 * on the net's device, in the net's precision. */

/* Mean unregularised loss of the minibatch at (@seed, @step) and, when
 * @gradient is non-NULL, its gradient (P numbers) at the current parameters. */
gboolean drmad_net_batch_gradient (DrmadNet *net, DrmadDeviceData *data, guint64 seed, guint64 step,
                                   double *loss, double *gradient, GError **error);

/* Mean loss over all of @data and, when @gradient is non-NULL, its gradient. */
gboolean drmad_net_full_gradient (DrmadNet *net, DrmadDeviceData *data, double *loss, double *gradient,
                                  GError **error);

/* The Hessian of the minibatch loss at (@seed, @step) (unregularised) times
 * @direction (P numbers) into @product, by Pearlmutter's R-operator
 * (docs/algorithm.md §3): exact, at about three gradients' cost. */
gboolean drmad_net_batch_hvp (DrmadNet *net, DrmadDeviceData *data, guint64 seed, guint64 step,
                              const double *direction, double *product, GError **error);

/* Mean cross-entropy and error rate over all of @data at the current parameters. */
gboolean drmad_net_evaluate (DrmadNet *net, DrmadDeviceData *data, double *mean_loss,
                             double *error_rate, GError **error);

/**
 * DrmadTrainer:
 * SGD with momentum exactly as docs/algorithm.md §1, with per-weight vectors η, γ
 * and exp(λ), on a net's parameters in place.
 */
typedef struct _DrmadTrainer DrmadTrainer;

/* A new trainer for @net, which it borrows: @net must outlive the trainer.
 * drmad_trainer_free() frees the trainer only, never the net. Its schedule
 * is η = 0.1 and γ = 0.9 everywhere and no L2 until one is set. It works
 * on @net (its device arrays): from another thread, or from a callback of
 * work on @net, it fails with %DRMAD_ERROR_BUSY (drmad.h, "Threads"). */
DrmadTrainer *drmad_trainer_new  (DrmadNet *net, GError **error);
void          drmad_trainer_free (DrmadTrainer *trainer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DrmadTrainer, drmad_trainer_free)

/* The same η, γ for every parameter and exp(λ) = @l2 on every weight (biases unregularised). */
gboolean drmad_trainer_set_uniform (DrmadTrainer *trainer, double eta, double gamma, double l2,
                                    GError **error);
/* Per-parameter vectors of length P, copied to the device; a NULL vector keeps
 * its current values. */
gboolean drmad_trainer_set_vectors (DrmadTrainer *trainer, const double *eta, const double *gamma,
                                    const double *l2, GError **error);
/* Schedules: @eta and @gamma hold @n_segments vectors of P numbers each;
 * step t of a run of @horizon steps uses segment ⌊t·S/T⌋. @l2: P numbers.
 * A NULL vector keeps its values (allowed only when S does not change).
 * The vectors are copied to the device. */
gboolean drmad_trainer_set_schedule (DrmadTrainer *trainer, guint n_segments, guint64 horizon,
                                     const double *eta, const double *gamma, const double *l2,
                                     GError **error);
/* v ← 0 (docs/algorithm.md §1: v_0 = 0). */
gboolean drmad_trainer_reset_velocity (DrmadTrainer *trainer, GError **error);

/* Runs steps @first_step … @first_step + @n_steps − 1 on minibatches of
 * @train drawn with @seed; @mean_loss (optional) receives the mean minibatch
 * loss over those steps (regularisation not included; NaN when @n_steps is
 * 0). Steps numbered past G_MAXUINT64 are refused. @train is borrowed
 * for the call. On a CPU device's host path the steps run on the calling
 * thread (DRMAD_HOST_DIRECT, README). A net is used by one thread at a
 * time: another thread's call on it meanwhile fails with
 * %DRMAD_ERROR_BUSY (drmad.h, "Threads"); other nets on the same device
 * may train at once. */
gboolean drmad_trainer_run (DrmadTrainer *trainer, DrmadDeviceData *train, guint64 seed,
                            guint64 first_step, guint64 n_steps,
                            DrmadProgressFunc progress, gpointer user_data,
                            double *mean_loss, GError **error);

G_END_DECLS
