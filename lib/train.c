/* The forward SGD-with-momentum run (ALGORITHM.md §1). */
#include "net-private.h"

#include <math.h>

/* Steps between host synchronisations: the only read-back inside a run is
 * the running loss sum (one scalar), every SYNC_EVERY steps, which also
 * paces progress reports and cancellation. */
#define SYNC_EVERY 16

struct _DrmadTrainer {
  DrmadNet    *net;
  DrmadBuffer *velocity, *eta, *gamma, *l2;
};

void
drmad_trainer_free (DrmadTrainer *trainer)
{
  if (!trainer)
    return;
  drmad_buffer_free (trainer->velocity);
  drmad_buffer_free (trainer->eta);
  drmad_buffer_free (trainer->gamma);
  drmad_buffer_free (trainer->l2);
  g_free (trainer);
}

DrmadTrainer *
drmad_trainer_new (DrmadNet *net, GError **error)
{
  g_autoptr (DrmadTrainer) trainer = g_new0 (DrmadTrainer, 1);
  trainer->net = net;
  gsize elem = drmad_precision_size (net->precision);
  if (!(trainer->velocity = drmad_buffer_new (net->device, net->n_params, elem, error))
      || !(trainer->eta = drmad_buffer_new (net->device, net->n_params, elem, error))
      || !(trainer->gamma = drmad_buffer_new (net->device, net->n_params, elem, error))
      || !(trainer->l2 = drmad_buffer_new (net->device, net->n_params, elem, error))
      || !drmad_buffer_zero (trainer->velocity, error)
      || !drmad_trainer_set_uniform (trainer, 0.1, 0.9, 0.0, error))
    return NULL;
  return g_steal_pointer (&trainer);
}

static gboolean
check_vector (const char *what, const double *values, gsize n, double low, double high, GError **error)
{
  for (gsize i = 0; values && i < n; i++)
    if (!(values[i] >= low && values[i] <= high)) {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                   "%s[%" G_GSIZE_FORMAT "] = %g: expected a value in [%g, %g]", what, i, values[i], low, high);
      return FALSE;
    }
  return TRUE;
}

gboolean
drmad_trainer_set_vectors (DrmadTrainer *trainer, const double *eta, const double *gamma,
                           const double *l2, GError **error)
{
  gsize n = trainer->net->n_params;
  if (!check_vector ("learning rate", eta, n, 0, G_MAXDOUBLE, error)
      || !check_vector ("momentum", gamma, n, 0, 1, error)
      || !check_vector ("L2 coefficient", l2, n, 0, G_MAXDOUBLE, error))
    return FALSE;
  return (!eta || drmad_buffer_write_doubles (trainer->eta, 0, n, eta, error))
         && (!gamma || drmad_buffer_write_doubles (trainer->gamma, 0, n, gamma, error))
         && (!l2 || drmad_buffer_write_doubles (trainer->l2, 0, n, l2, error));
}

gboolean
drmad_trainer_set_uniform (DrmadTrainer *trainer, double eta, double gamma, double l2, GError **error)
{
  DrmadNet *net = trainer->net;
  g_autofree double *eta_v = g_new (double, net->n_params);
  g_autofree double *gamma_v = g_new (double, net->n_params);
  g_autofree double *l2_v = g_new0 (double, net->n_params);
  for (gsize i = 0; i < net->n_params; i++) {
    eta_v[i] = eta;
    gamma_v[i] = gamma;
  }
  for (guint l = 1; l <= net->n_layers; l++)
    for (gsize i = 0; i < (gsize) net->sizes[l - 1] * net->sizes[l]; i++)
      l2_v[net->weight_offset[l] + i] = l2;
  return drmad_trainer_set_vectors (trainer, eta_v, gamma_v, l2_v, error);
}

gboolean
drmad_trainer_reset_velocity (DrmadTrainer *trainer, GError **error)
{
  return drmad_buffer_zero (trainer->velocity, error);
}

static gboolean
enqueue_update (DrmadTrainer *trainer, GError **error)
{
  DrmadNet *net = trainer->net;
  DrmadLaunch launch = drmad_launch_begin (net->k_sgd_momentum, net->precision);
  drmad_launch_mem (&launch, net->params->mem);
  drmad_launch_mem (&launch, trainer->velocity->mem);
  drmad_launch_mem (&launch, net->grad->mem);
  drmad_launch_mem (&launch, trainer->eta->mem);
  drmad_launch_mem (&launch, trainer->gamma->mem);
  drmad_launch_mem (&launch, trainer->l2->mem);
  drmad_launch_uint (&launch, net->n_params);
  return drmad_net_run_1d (net, &launch, net->n_params, error);
}

gboolean
drmad_trainer_run (DrmadTrainer *trainer, DrmadDeviceData *train, guint64 seed, guint64 first_step,
                   guint64 n_steps, DrmadProgressFunc progress, gpointer user_data,
                   double *mean_loss, GError **error)
{
  DrmadNet *net = trainer->net;
  if (train->dim != net->sizes[0] || train->precision != net->precision || train->n == 0) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "the training data (%u examples of %u features) do not fit the net (%u inputs)",
                 train->n, train->dim, net->sizes[0]);
    return FALSE;
  }
  if (!drmad_buffer_zero (net->acc, error))
    return FALSE;
  double loss_sum = 0;
  for (guint64 done = 0; done < n_steps; done++) {
    if (!drmad_net_enqueue_batch_gradient (net, train, net->params, seed, first_step + done, net->grad, error)
        || !enqueue_update (trainer, error))
      return FALSE;
    if ((done + 1) % SYNC_EVERY == 0 || done + 1 == n_steps) {
      if (!drmad_buffer_read_doubles (net->acc, 0, 1, &loss_sum, error))
        return FALSE;
      if (!isfinite (loss_sum)) {
        g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_DIVERGED,
                     "training diverged: the minibatch loss became %g by step %" G_GUINT64_FORMAT
                     " (try a smaller learning rate)", loss_sum, first_step + done);
        return FALSE;
      }
      if (progress && !progress ("train", done + 1, n_steps, user_data)) {
        g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_CANCELLED,
                     "training cancelled at step %" G_GUINT64_FORMAT, first_step + done + 1);
        return FALSE;
      }
    }
  }
  if (mean_loss)
    *mean_loss = n_steps ? loss_sum / ((double) n_steps * net->batch) : NAN;
  return TRUE;
}
