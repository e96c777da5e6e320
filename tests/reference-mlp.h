/* A plain C float64 MLP used as the independent reference in tests: no
 * OpenCL, no BLAS, loops straight from docs/algorithm.md §1 and §3. */
#pragma once

#include <glib.h>
#include <math.h>
#include <string.h>

typedef struct {
  guint        n_layers;   /* L */
  const guint *sizes;      /* L + 1 */
  int          activation; /* DrmadActivation: 0 ReLU, 1 tanh, 2 softsign */
} RefNet;

static inline gsize
ref_n_params (const RefNet *net)
{
  gsize n = 0;
  for (guint l = 1; l <= net->n_layers; l++)
    n += (gsize) net->sizes[l - 1] * net->sizes[l] + net->sizes[l];
  return n;
}

/* Mean loss over the @rows rows x[idx[r]] (idx NULL: rows 0 … rows−1), the
 * error count, and (if @grad) the gradient of the mean loss. */
static inline double
ref_loss_grad (const RefNet *net, const double *params, const double *x, const gint32 *y,
               const guint32 *idx, guint rows, double *grad, double *wrong)
{
  guint L = net->n_layers;
  double *acts[17] = { 0 }, *deltas[17] = { 0 };
  gsize w_off[17], b_off[17], offset = 0;
  for (guint l = 1; l <= L; l++) {
    w_off[l] = offset;
    offset += (gsize) net->sizes[l - 1] * net->sizes[l];
    b_off[l] = offset;
    offset += net->sizes[l];
  }
  for (guint l = 0; l <= L; l++) {
    acts[l] = g_new0 (double, (gsize) rows * net->sizes[l]);
    deltas[l] = g_new0 (double, (gsize) rows * net->sizes[l]);
  }
  for (guint r = 0; r < rows; r++)
    memcpy (acts[0] + (gsize) r * net->sizes[0], x + (gsize) (idx ? idx[r] : r) * net->sizes[0],
            net->sizes[0] * sizeof (double));
  for (guint l = 1; l <= L; l++) {
    guint fi = net->sizes[l - 1], fo = net->sizes[l];
    for (guint r = 0; r < rows; r++)
      for (guint c = 0; c < fo; c++) {
        double z = params[b_off[l] + c];
        for (guint k = 0; k < fi; k++)
          z += acts[l - 1][(gsize) r * fi + k] * params[w_off[l] + (gsize) k * fo + c];
        if (l < L)
          z = net->activation == 1 ? tanh (z) : net->activation == 2 ? z / (1 + fabs (z)) : (z > 0 ? z : 0);
        acts[l][(gsize) r * fo + c] = z;
      }
  }
  double loss = 0, errors = 0;
  guint classes = net->sizes[L];
  for (guint r = 0; r < rows; r++) {
    const double *z = acts[L] + (gsize) r * classes;
    gint32 label = y[idx ? idx[r] : r];
    double top = z[0];
    guint arg = 0;
    for (guint c = 1; c < classes; c++)
      if (z[c] > top) { top = z[c]; arg = c; }
    double sum = 0;
    for (guint c = 0; c < classes; c++)
      sum += exp (z[c] - top);
    loss += log (sum) + top - z[label];
    errors += arg != (guint) label;
    for (guint c = 0; c < classes; c++)
      deltas[L][(gsize) r * classes + c] = (exp (z[c] - top) / sum - (c == (guint) label)) / rows;
  }
  if (grad) {
    for (guint l = L; l >= 1; l--) {
      guint fi = net->sizes[l - 1], fo = net->sizes[l];
      for (guint k = 0; k < fi; k++)
        for (guint c = 0; c < fo; c++) {
          double s = 0;
          for (guint r = 0; r < rows; r++)
            s += acts[l - 1][(gsize) r * fi + k] * deltas[l][(gsize) r * fo + c];
          grad[w_off[l] + (gsize) k * fo + c] = s;
        }
      for (guint c = 0; c < fo; c++) {
        double s = 0;
        for (guint r = 0; r < rows; r++)
          s += deltas[l][(gsize) r * fo + c];
        grad[b_off[l] + c] = s;
      }
      if (l == 1)
        break;
      for (guint r = 0; r < rows; r++)
        for (guint k = 0; k < fi; k++) {
          double s = 0;
          for (guint c = 0; c < fo; c++)
            s += deltas[l][(gsize) r * fo + c] * params[w_off[l] + (gsize) k * fo + c];
          double a = acts[l - 1][(gsize) r * fi + k];
          deltas[l - 1][(gsize) r * fi + k] = s * (net->activation == 1 ? 1 - a * a
                                                   : net->activation == 2 ? (1 - fabs (a)) * (1 - fabs (a))
                                                   : (a > 0 ? 1 : 0));
        }
    }
  }
  for (guint l = 0; l <= L; l++) {
    g_free (acts[l]);
    g_free (deltas[l]);
  }
  if (wrong)
    *wrong = errors;
  return loss / rows;
}

/* max_i |a_i − b_i| / max(max_i |b_i|, tiny) */
static inline double
ref_rel_error (const double *a, const double *b, gsize n)
{
  double diff = 0, scale = 1e-300;
  for (gsize i = 0; i < n; i++) {
    diff = MAX (diff, fabs (a[i] - b[i]));
    scale = MAX (scale, fabs (b[i]));
  }
  return diff / scale;
}
