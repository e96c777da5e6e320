/* MLP kernels (docs/algorithm.md §1 and §3). `real` is float or double, set by the
 * build options; counter-hash.h is prepended by the host. Every kernel takes
 * its sizes explicitly and walks its indices with FOR_CHUNK, so any global
 * size works. */
#ifdef DRMAD_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#define ACT_IDENTITY 0
#define ACT_RELU     1
#define ACT_TANH     2
#define ACT_SOFTSIGN 3

/* for (i = …) over this work-item's contiguous share of 0 … n−1 in dimension
 * @dim: work-item g of G takes [g·⌈n/G⌉, (g+1)·⌈n/G⌉). GPUs are launched with
 * G ≥ n, one index per work-item (coalesced); CPU devices with a few
 * work-items per compute unit, each running a loop the compiler vectorises
 * (lib/net.c, drmad_net_run_1d: PoCL pays ~20 ns per work-group). */
#define FOR_CHUNK(i, n, dim)                                                              \
  for (size_t i##_share = ((size_t) (n) + get_global_size (dim) - 1) / get_global_size (dim), \
              i = get_global_id (dim) * i##_share, i##_end = min ((size_t) (n), i + i##_share); \
       i < i##_end; i++)

/* Minibatch at (seed, step): indices and labels. */
__kernel void sample_batch (__global const int *labels, uint n, ulong seed, ulong step, uint batch,
                            __global uint *indices, __global int *batch_labels)
{
  FOR_CHUNK (j, batch, 0) {
    uint i = drmad_sample_index (seed, step, batch, (uint) j, n);
    indices[j] = i;
    batch_labels[j] = labels[i];
  }
}

__kernel void gather_rows (__global const real *x, __global const uint *indices, uint dim, uint rows,
                           __global real *out)
{
  FOR_CHUNK (j, rows, 1) {
    __global const real *row = x + (size_t) indices[j] * dim;
    FOR_CHUNK (k, dim, 0)
      out[j * dim + k] = row[k];
  }
}

/* Rows of a byte dataset as reals: feature d of byte b is b · scale[d] +
 * offset[d] in float (rounded twice: not contracted to an fma) for a
 * standardised dataset, b / 255 without @scale, as
 * drmad_dataset_get_features() computes it (lib/dataset-private.h); rows
 * @indices[j], or @first + j when @indices is NULL. */
__kernel void gather_bytes (__global const uchar *x, __global const float *scale, __global const float *offset,
                            __global const uint *indices, uint first, uint dim, uint rows, __global real *out)
{
  FOR_CHUNK (j, rows, 1) {
    __global const uchar *row = x + (size_t) (indices ? indices[j] : first + (uint) j) * dim;
    FOR_CHUNK (k, dim, 0)
    {
#pragma OPENCL FP_CONTRACT OFF
      out[j * dim + k] = (real) (scale ? (float) row[k] * scale[k] + offset[k] : (float) row[k] / 255.0f);
    }
  }
}

/* z ← φ(z + b): the bias row is read from the parameter vector. */
__kernel void bias_act (__global real *z, __global const real *params, uint bias_offset,
                        uint rows, uint cols, uint activation)
{
  FOR_CHUNK (r, rows, 1)
    FOR_CHUNK (c, cols, 0) {
      size_t i = r * cols + c;
      real value = z[i] + params[bias_offset + c];
      if (activation == ACT_RELU)
        value = value < 0 ? (real) 0 : value;  /* not fmax: it would turn a NaN into 0 and hide a divergence */
      else if (activation == ACT_TANH)
        value = tanh (value);
      else if (activation == ACT_SOFTSIGN)
        value = value / (1 + fabs (value));
      z[i] = value;
    }
}

/* Softmax cross-entropy per row: loss, 0/1 error, and δ_L = (p − Y)·scale
 * (scale = 1/B for the batch mean, docs/algorithm.md §3). */
__kernel void softmax_xent (__global const real *logits, __global const int *labels, uint label_offset,
                            uint rows, uint classes, real scale,
                            __global real *delta, __global real *row_loss, __global real *row_wrong)
{
  FOR_CHUNK (r, rows, 0) {
    __global const real *z = logits + r * classes;
    int label = labels[label_offset + r];
    real top = z[0];
    uint argmax = 0;
    for (uint c = 1; c < classes; c++)
      if (z[c] > top) {
        top = z[c];
        argmax = c;
      }
    /* one exp per logit: with δ wanted, e^(z − top) waits in δ for the sum */
    __global real *d = delta ? delta + r * classes : 0;
    real sum = 0;
    for (uint c = 0; c < classes; c++) {
      real e = exp (z[c] - top);
      sum += e;
      if (d)
        d[c] = e;
    }
    row_loss[r] = log (sum) + top - z[label];
    row_wrong[r] = argmax == (uint) label ? (real) 0 : (real) 1;
    if (d)
      for (uint c = 0; c < classes; c++)
        d[c] = (d[c] / sum - (c == (uint) label ? (real) 1 : (real) 0)) * scale;
  }
}

/* φ'(z) and φ''(z), written through the activation a = φ(z). */
inline real act_d1 (real a, uint activation)
{
  return activation == ACT_RELU ? (a > 0 ? (real) 1 : (real) 0)
       : activation == ACT_TANH ? 1 - a * a
       : activation == ACT_SOFTSIGN ? (1 - fabs (a)) * (1 - fabs (a)) : (real) 1;
}

inline real act_d2 (real a, uint activation)
{
  return activation == ACT_TANH ? -2 * a * (1 - a * a)
       : activation == ACT_SOFTSIGN ? -2 * sign (a) * (1 - fabs (a)) * (1 - fabs (a)) * (1 - fabs (a)) : (real) 0;
}

/* δ = (δ_l W_lᵀ) ⊙ φ'(z): @pre keeps δ_l W_lᵀ, which the R-operator needs. */
__kernel void act_backward (__global real *delta, __global const real *pre, __global const real *act,
                            uint n, uint activation)
{
  FOR_CHUNK (i, n, 0)
    delta[i] = pre[i] * act_d1 (act[i], activation);
}

/* docs/algorithm.md §3, R-forward: R(z) += Vb; R(a) = φ'(z) ⊙ R(z). */
__kernel void r_bias_act (__global real *rz, __global real *ra, __global const real *dir, uint bias_offset,
                          __global const real *act, uint rows, uint cols, uint activation)
{
  FOR_CHUNK (r, rows, 1)
    FOR_CHUNK (c, cols, 0) {
      size_t i = r * cols + c;
      real value = rz[i] + dir[bias_offset + c];
      rz[i] = value;
      if (ra)
        ra[i] = act_d1 (act[i], activation) * value;
    }
}

/* docs/algorithm.md §3: R(δ_L) = [p ⊙ (R(z_L) − rowsum(p ⊙ R(z_L)))] · scale. */
__kernel void r_softmax (__global const real *logits, __global const real *rz, uint rows, uint classes,
                         real scale, __global real *rdelta)
{
  FOR_CHUNK (r, rows, 0) {
    __global const real *z = logits + r * classes;
    __global const real *rzr = rz + r * classes;
    real top = z[0];
    for (uint c = 1; c < classes; c++)
      top = fmax (top, z[c]);
    real sum = 0, dot = 0;
    for (uint c = 0; c < classes; c++) {
      real e = exp (z[c] - top);
      sum += e;
      dot += e * rzr[c];
    }
    dot /= sum;
    for (uint c = 0; c < classes; c++)
      rdelta[r * classes + c] = exp (z[c] - top) / sum * (rzr[c] - dot) * scale;
  }
}

/* docs/algorithm.md §3: R(δ_{l−1}) = pre_R ⊙ φ'(z) + (δ_l W_lᵀ) ⊙ φ''(z) ⊙ R(z),
 * where @rdelta holds pre_R = R(δ_l) W_lᵀ + δ_l VW_lᵀ on entry. */
__kernel void r_act_backward (__global real *rdelta, __global const real *pre, __global const real *act,
                              __global const real *rz, uint n, uint activation)
{
  FOR_CHUNK (i, n, 0) {
    real a = act[i];
    rdelta[i] = rdelta[i] * act_d1 (a, activation) + pre[i] * act_d2 (a, activation) * rz[i];
  }
}

/* out[offset + c] (+)= Σ_r m[r, c]: bias gradients. */
__kernel void column_sums (__global const real *m, uint rows, uint cols,
                           __global real *out, uint out_offset, uint add)
{
  FOR_CHUNK (c, cols, 0) {
    real sum = add ? out[out_offset + c] : (real) 0;
    for (uint r = 0; r < rows; r++)
      sum += m[(size_t) r * cols + c];
    out[out_offset + c] = sum;
  }
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

/* docs/algorithm.md §1, one step, fused:
 *   g ← g + exp(λ) ⊙ w        (l2 holds exp(λ) per weight, 0 on biases)
 *   v ← γ ⊙ v − (1 − γ) ⊙ g
 *   w ← w + η ⊙ v
 * g keeps the regularised gradient. */
__kernel void sgd_momentum (__global real *w, __global real *v, __global real *g,
                            __global const real *eta, __global const real *gamma,
                            __global const real *l2, uint n, uint segment_offset)
{
  eta += segment_offset;
  gamma += segment_offset;
  FOR_CHUNK (i, n, 0) {
    real gi = g[i] + l2[i] * w[i];
    real gi_gamma = gamma[i];
    real vi = gi_gamma * v[i] - (1 - gi_gamma) * gi;
    g[i] = gi;
    v[i] = vi;
    w[i] += eta[i] * vi;
  }
}

/* docs/algorithm.md §2, the part of one reverse step before the HVP:
 *   dη_t += dw ⊙ v_{t+1};  dv += η ⊙ dw;  dγ_t += dv ⊙ (v_t + g_t);
 * with g_t = g + exp(λ) ⊙ w_t regularised (g as the minibatch gradient left it);
 *   u = (1 − γ) ⊙ dv
 * accumulated per parameter (dη, dγ per segment), reduced to groups on the host.
 * Without @with_dgamma (momentum not learned) g is not read and dγ not kept. */
__kernel void reverse_before_hvp (__global const real *dw, __global real *dv,
                                  __global const real *v_next, __global const real *v_now,
                                  __global const real *g, __global const real *w,
                                  __global const real *l2, __global const real *eta,
                                  __global const real *gamma, __global real *deta,
                                  __global real *dgamma, __global real *u, uint n, uint segment_offset,
                                  uint with_dgamma)
{
  FOR_CHUNK (i, n, 0) {
    size_t s = segment_offset + i;
    real dwi = dw[i];
    deta[s] += dwi * v_next[i];
    real dvi = dv[i] + eta[s] * dwi;
    if (with_dgamma)
      dgamma[s] += dvi * (v_now[i] + g[i] + l2[i] * w[i]);
    u[i] = (1 - gamma[s]) * dvi;
    dv[i] = dvi;
  }
}

/* docs/algorithm.md §2, after the HVP (hu = R(g)·u without the L2 term):
 *   dw −= hu + exp(λ) ⊙ u;  dλ −= exp(λ) ⊙ w_t ⊙ u;  dv = γ ⊙ dv */
__kernel void reverse_after_hvp (__global real *dw, __global real *dv, __global const real *hu,
                                 __global const real *u, __global const real *w, __global const real *l2,
                                 __global const real *gamma, __global real *dl2, uint n,
                                 uint segment_offset)
{
  FOR_CHUNK (i, n, 0) {
    real ui = u[i], l2i = l2[i];
    dw[i] -= hu[i] + l2i * ui;
    dl2[i] -= l2i * w[i] * ui;
    dv[i] *= gamma[segment_offset + i];
  }
}

/* docs/algorithm.md §2b/§2c: the point on the straight line between snapshots a
 * (step t_a) and b (step t_b) at step t, and the line's velocity for the
 * steps t_a … t_b − 1: v̂ = (w_b − w_a) / ((t_b − t_a) η). Writes ŵ_t into @w
 * and v̂ for step @eta_segment's η into @v. */
__kernel void interpolate (__global const real *wa, __global const real *wb, real beta,
                           real inv_steps, __global const real *eta, uint eta_offset,
                           __global real *w, __global real *v, uint n)
{
  FOR_CHUNK (i, n, 0) {
    real a = wa[i], b = wb[i];
    if (w)
      w[i] = a + beta * (b - a);
    if (v)
      v[i] = (b - a) * inv_steps / eta[eta_offset + i];
  }
}
