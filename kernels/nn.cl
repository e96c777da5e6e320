/* MLP kernels (ALGORITHM.md §1 and §3). `real` is float or double, set by the
 * build options; counter-hash.h is prepended by the host. Every kernel takes
 * its sizes explicitly and ignores work-items past them (global sizes are
 * rounded up to the local size). */
#ifdef DRMAD_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#define ACT_IDENTITY 0
#define ACT_RELU     1
#define ACT_TANH     2

/* Minibatch at (seed, step): indices and labels. */
__kernel void sample_batch (__global const int *labels, uint n, ulong seed, ulong step, uint batch,
                            __global uint *indices, __global int *batch_labels)
{
  uint j = get_global_id (0);
  if (j >= batch)
    return;
  uint i = drmad_sample_index (seed, step, batch, j, n);
  indices[j] = i;
  batch_labels[j] = labels[i];
}

__kernel void gather_rows (__global const real *x, __global const uint *indices, uint dim, uint rows,
                           __global real *out)
{
  uint k = get_global_id (0), j = get_global_id (1);
  if (k >= dim || j >= rows)
    return;
  out[(size_t) j * dim + k] = x[(size_t) indices[j] * dim + k];
}

/* z ← φ(z + b): the bias row is read from the parameter vector. */
__kernel void bias_act (__global real *z, __global const real *params, uint bias_offset,
                        uint rows, uint cols, uint activation)
{
  uint c = get_global_id (0), r = get_global_id (1);
  if (c >= cols || r >= rows)
    return;
  size_t i = (size_t) r * cols + c;
  real value = z[i] + params[bias_offset + c];
  if (activation == ACT_RELU)
    value = fmax (value, (real) 0);
  else if (activation == ACT_TANH)
    value = tanh (value);
  z[i] = value;
}

/* Softmax cross-entropy per row: loss, 0/1 error, and δ_L = (p − Y)·scale
 * (scale = 1/B for the batch mean, ALGORITHM.md §3). */
__kernel void softmax_xent (__global const real *logits, __global const int *labels, uint label_offset,
                            uint rows, uint classes, real scale,
                            __global real *delta, __global real *row_loss, __global real *row_wrong)
{
  uint r = get_global_id (0);
  if (r >= rows)
    return;
  __global const real *z = logits + (size_t) r * classes;
  int label = labels[label_offset + r];
  real top = z[0];
  uint argmax = 0;
  for (uint c = 1; c < classes; c++)
    if (z[c] > top) {
      top = z[c];
      argmax = c;
    }
  real sum = 0;
  for (uint c = 0; c < classes; c++)
    sum += exp (z[c] - top);
  real log_sum = log (sum);
  row_loss[r] = log_sum + top - z[label];
  row_wrong[r] = argmax == (uint) label ? (real) 0 : (real) 1;
  if (delta) {
    __global real *d = delta + (size_t) r * classes;
    for (uint c = 0; c < classes; c++)
      d[c] = (exp (z[c] - top - log_sum) - (c == (uint) label ? (real) 1 : (real) 0)) * scale;
  }
}

/* δ ← δ ⊙ φ'(z), with φ' written through the activation a = φ(z). */
__kernel void act_backward (__global real *delta, __global const real *act, uint n, uint activation)
{
  uint i = get_global_id (0);
  if (i >= n)
    return;
  real a = act[i];
  if (activation == ACT_RELU)
    delta[i] = a > 0 ? delta[i] : (real) 0;
  else if (activation == ACT_TANH)
    delta[i] *= 1 - a * a;
}

/* out[offset + c] = Σ_r m[r, c]: bias gradients. */
__kernel void column_sums (__global const real *m, uint rows, uint cols,
                           __global real *out, uint out_offset)
{
  uint c = get_global_id (0);
  if (c >= cols)
    return;
  real sum = 0;
  for (uint r = 0; r < rows; r++)
    sum += m[(size_t) r * cols + c];
  out[out_offset + c] = sum;
}

/* acc[slot] += Σ values[0 … n): one work-item, so no atomics on reals. */
__kernel void accumulate (__global const real *values, uint n, __global real *acc, uint slot)
{
  if (get_global_id (0) != 0)
    return;
  real sum = 0;
  for (uint i = 0; i < n; i++)
    sum += values[i];
  acc[slot] += sum;
}

/* ALGORITHM.md §1, one step, fused:
 *   g ← g + exp(λ) ⊙ w        (l2 holds exp(λ) per weight, 0 on biases)
 *   v ← γ ⊙ v − (1 − γ) ⊙ g
 *   w ← w + η ⊙ v
 * g keeps the regularised gradient. */
__kernel void sgd_momentum (__global real *w, __global real *v, __global real *g,
                            __global const real *eta, __global const real *gamma,
                            __global const real *l2, uint n)
{
  uint i = get_global_id (0);
  if (i >= n)
    return;
  real gi = g[i] + l2[i] * w[i];
  real gi_gamma = gamma[i];
  real vi = gi_gamma * v[i] - (1 - gi_gamma) * gi;
  g[i] = gi;
  v[i] = vi;
  w[i] += eta[i] * vi;
}
