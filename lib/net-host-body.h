/* The fused host step and HVP of lib/net-host.c, written once for both
 * precisions: net-host.c includes this file with REAL (float or double),
 * NAME(x) (x##_f32 or x##_f64), FP64 (0 or 1) and ACT_TANH_FN defined. Each
 * loop does what the kernel of kernels/nn.cl named beside it does, in the
 * same order of additions, so that a host step and a step of launches agree
 * to the rounding of the activation functions and of exp. */

/* gather_bytes: one row of a byte dataset, b · scale + offset in float (two
 * roundings) when standardised, else b / 255. */
static DRMAD_VECTOR_CLONES void
NAME (from_bytes) (REAL *restrict out, const guint8 *restrict bytes, const float *restrict scale,
                   const float *restrict offset, gsize dim)
{
  if (scale)
    for (gsize k = 0; k < dim; k++)
      out[k] = (REAL) ((float) bytes[k] * scale[k] + offset[k]);
  else
    for (gsize k = 0; k < dim; k++)
      out[k] = (REAL) ((float) bytes[k] / 255.0f);
}

/* bias_act: z ← φ(z + b) over @rows rows of @cols, one pass. */
static DRMAD_VECTOR_CLONES void
NAME (bias_act) (REAL *restrict z, const REAL *restrict bias, gsize rows, gsize cols, guint activation)
{
  for (gsize r = 0; r < rows; r++) {
    REAL *restrict row = z + r * cols;
    if (activation == ACT_RELU)
      for (gsize c = 0; c < cols; c++) {
        REAL v = row[c] + bias[c];
        row[c] = v < 0 ? (REAL) 0 : v;   /* not fmax: a NaN stays a NaN */
      }
    else if (activation == ACT_TANH)
      for (gsize c = 0; c < cols; c++)
        row[c] = ACT_TANH_FN (row[c] + bias[c]);
    else if (activation == ACT_SOFTSIGN)
      for (gsize c = 0; c < cols; c++) {
        REAL v = row[c] + bias[c];
        row[c] = v / (1 + (v < 0 ? -v : v));
      }
    else
      for (gsize c = 0; c < cols; c++)
        row[c] += bias[c];
  }
}

static inline REAL
NAME (act_d1) (REAL a, guint activation)
{
  REAL s = 1 - (a < 0 ? -a : a);
  return activation == ACT_RELU ? (a > 0 ? (REAL) 1 : (REAL) 0)
       : activation == ACT_TANH ? 1 - a * a
       : activation == ACT_SOFTSIGN ? s * s : (REAL) 1;
}

static inline REAL
NAME (act_d2) (REAL a, guint activation)
{
  REAL s = 1 - (a < 0 ? -a : a), sign = a > 0 ? (REAL) 1 : a < 0 ? (REAL) -1 : (REAL) 0;
  return activation == ACT_TANH ? -2 * a * (1 - a * a)
       : activation == ACT_SOFTSIGN ? -2 * sign * s * s * s : (REAL) 0;
}

/* act_backward: δ = pre ⊙ φ'(a). */
static DRMAD_VECTOR_CLONES void
NAME (act_backward) (REAL *restrict delta, const REAL *restrict pre, const REAL *restrict act, gsize n,
                     guint activation)
{
  /* One loop per activation: a select among all three inside the loop
   * made it several times slower. */
  if (activation == ACT_TANH)
    for (gsize i = 0; i < n; i++)
      delta[i] = pre[i] * (1 - act[i] * act[i]);
  else
    for (gsize i = 0; i < n; i++)
      delta[i] = pre[i] * NAME (act_d1) (act[i], activation);
}

/* column_sums: out[c] (+)= Σ_r m[r, c], row by row (the kernel's order per column). */
static DRMAD_VECTOR_CLONES void
NAME (column_sums) (const REAL *restrict m, gsize rows, gsize cols, REAL *restrict out, gboolean add)
{
  if (!add)
    memset (out, 0, cols * sizeof *out);
  for (gsize r = 0; r < rows; r++) {
    const REAL *restrict row = m + r * cols;
    for (gsize c = 0; c < cols; c++)
      out[c] += row[c];
  }
}

/* out[c] −= Σ_r m[r, c]: the sums first, in column_sums' order. */
static DRMAD_VECTOR_CLONES void
NAME (column_sums_subtract) (const REAL *restrict m, gsize rows, gsize cols, REAL *restrict out)
{
  REAL sums[cols];
  NAME (column_sums) (m, rows, cols, sums, FALSE);
  for (gsize c = 0; c < cols; c++)
    out[c] -= sums[c];
}

/* softmax_xent over @rows rows: loss, 0/1 error and, with @delta, δ_L. */
static DRMAD_VECTOR_CLONES void
NAME (softmax_xent) (const REAL *logits, const gint32 *labels, gsize rows, gsize classes, REAL scale,
                     REAL *delta, REAL *row_loss, REAL *row_wrong)
{
  for (gsize r = 0; r < rows; r++) {
    const REAL *z = logits + r * classes;
    gint32 label = labels[r];
    REAL top = z[0];
    gsize argmax = 0;
    for (gsize c = 1; c < classes; c++)
      if (z[c] > top) {
        top = z[c];
        argmax = c;
      }
    REAL *d = delta ? delta + r * classes : NULL, sum = 0;
    if (d) {   /* the exps first, a loop the compiler vectorises, then their sum in order */
      for (gsize c = 0; c < classes; c++)
        d[c] = EXP_FN (z[c] - top);
      for (gsize c = 0; c < classes; c++)
        sum += d[c];
    } else
      for (gsize c = 0; c < classes; c++)
        sum += EXP_FN (z[c] - top);
    row_loss[r] = LOG_FN (sum) + top - z[label];
    row_wrong[r] = argmax == (gsize) label ? (REAL) 0 : (REAL) 1;
    if (d)
      for (gsize c = 0; c < classes; c++)
        d[c] = (d[c] / sum - (c == (gsize) label ? (REAL) 1 : (REAL) 0)) * scale;
  }
}

/* sgd_momentum: v ← γ ⊙ v − (1 − γ) ⊙ (g + exp(λ) ⊙ w); w ← w + η ⊙ v. Unlike
 * the kernel, with @clear it clears g as it reads it (nothing reads g after
 * a training step): the next step's weight-gradient GEMMs then add into
 * zeros, and no clearing pass over g goes before them (DrmadNet's
 * zero_grad). A block of W_1's gradient (grad_update_rows) is not cleared:
 * its next GEMM writes it whole. */
static DRMAD_VECTOR_CLONES void
NAME (sgd_momentum) (REAL *restrict w, REAL *restrict v, REAL *restrict g, const REAL *restrict eta,
                     const REAL *restrict gamma, const REAL *restrict l2, gsize n, gboolean clear)
{
  if (clear)
    for (gsize i = 0; i < n; i++) {
      REAL gi = g[i] + l2[i] * w[i];
      REAL vi = gamma[i] * v[i] - (1 - gamma[i]) * gi;
      g[i] = 0;
      v[i] = vi;
      w[i] += eta[i] * vi;
    }
  else
    for (gsize i = 0; i < n; i++) {
      REAL vi = gamma[i] * v[i] - (1 - gamma[i]) * (g[i] + l2[i] * w[i]);
      v[i] = vi;
      w[i] += eta[i] * vi;
    }
}

/* sgd_momentum over a stretch where η, γ and exp(λ) are one value each. */
static DRMAD_VECTOR_CLONES void
NAME (sgd_momentum_uniform) (REAL *restrict w, REAL *restrict v, REAL *restrict g, REAL eta, REAL gamma,
                             REAL l2, gsize n, gboolean clear)
{
  if (clear)
    for (gsize i = 0; i < n; i++) {
      REAL gi = g[i] + l2 * w[i];
      REAL vi = gamma * v[i] - (1 - gamma) * gi;
      g[i] = 0;
      v[i] = vi;
      w[i] += eta * vi;
    }
  else
    for (gsize i = 0; i < n; i++) {
      REAL vi = gamma * v[i] - (1 - gamma) * (g[i] + l2 * w[i]);
      v[i] = vi;
      w[i] += eta * vi;
    }
}

/* A training step that updates a net with a second layer keeps its
 * minibatch X in net->input as two column halves, batch × ⌊fan_in/2⌋ then
 * batch × ⌈fan_in/2⌉, the halves of layer1_half: in a team of two, member t
 * gathers half t of every row, the only part of X it reads (its half of z_1
 * and its rows of W_1's gradient), so no line of X goes from one core to
 * the other and back each step (the gather took 15 µs a member instead of
 * 5: docs/benchmarks.md). Other passes keep X row by row. */
static inline gboolean
NAME (halved_input) (const HostStep *h)
{
  return h->velocity && LAYER1_HALVES (h->net);
}

/* Where column @c of the pass's input X (row 0) is: in @input (X row by
 * row, or net->input with halved_input), with the distance between rows
 * in @ld and the end of its run of columns (its half, or fan_in) in @end. */
static const REAL *
NAME (input_columns) (const HostStep *h, const REAL *input, gsize c, gsize *ld, gsize *end)
{
  gsize dim = h->net->sizes[0], half = dim / 2, batch = h->net->batch;
  if (!NAME (halved_input) (h)) {
    *ld = *end = dim;
    return input + c;
  }
  if (c < half) {
    *ld = *end = half;
    return input + c;
  }
  *ld = dim - half;
  *end = dim;
  return input + batch * half + (c - half);
}

/* The columns of X that member @t of @threads gathers and prefetches,
 * @c0 … @c1 − 1, and its rows @r0 … @r1 − 1: in a team of two with a
 * halved X, half t of every row; else its rows, whole. */
static void
NAME (gather_part) (const HostStep *h, guint t, guint threads, gsize *c0, gsize *c1, guint *r0, guint *r1)
{
  gsize dim = h->net->sizes[0];
  guint batch = h->net->batch;
  if (threads == 2 && NAME (halved_input) (h)) {
    *c0 = t ? dim / 2 : 0;
    *c1 = t ? dim : dim / 2;
    *r0 = 0;
    *r1 = batch;
  } else {
    *c0 = 0;
    *c1 = dim;
    *r0 = team_first_row (batch, t, threads);
    *r1 = team_first_row (batch, t + 1, threads);
  }
}

/* With @h->given_indices (a training step), asks for the cache lines of
 * the next @h->prefetch_rows rows (and their labels) of the next step's minibatch,
 * which its gather_batch reads (member @t of the host team: its own rows): a few rows at a time, spread over the step
 * (before each GEMM, between stretches of the update), so that the loads from
 * memory overlap work. Most of a gather was waiting on scattered rows, and
 * prefetches asked for all at once were mostly lost: they need free miss
 * buffers (docs/benchmarks.md). */
static void
NAME (prefetch_some) (const HostStep *h, guint t)
{
  guint batch = h->net->batch, threads = MAX (h->threads, 1), first, last;   /* member @t's part */
  gsize c0, c1;
  NAME (gather_part) (h, t, threads, &c0, &c1, &first, &last);
  guint from = first + prefetched_rows;
  if (!h->given_indices || from >= last)
    return;
  gsize dim = h->net->sizes[0], size = h->bytes ? 1 : sizeof (REAL);
  gsize row_bytes = dim * size, part_bytes = (c1 - c0) * size;
  const char *base = (h->bytes ? (const char *) h->bytes : (const char *) h->features) + c0 * size;
  const guint32 *next = h->indices + batch;
  guint end = MIN (last, from + h->prefetch_rows);
  for (guint j = from; j < end; j++) {
    const char *row = base + (gsize) next[j] * row_bytes;
    for (gsize at = 0; at < part_bytes; at += 64)
      __builtin_prefetch (row + at);
    __builtin_prefetch (row + part_bytes - 1);
    __builtin_prefetch (h->labels + next[j]);
  }
  prefetched_rows = end - first;
}

/* The update of parameters @start … @end − 1 (a layer's W_l and b_l, right
 * after the backward pass last reads them, while g_l is still in cache),
 * whose gradient is @g_start[0 … end − start − 1], cleared with @clear. */
static void
NAME (update_from) (const HostStep *h, guint t, REAL *g_start, gsize start, gsize end, gboolean clear)
{
  if (end - start > UPDATE_STRETCH) {
    for (gsize at = start; at < end; at += UPDATE_STRETCH) {
      NAME (update_from) (h, t, g_start + (at - start), at, MIN (end, at + UPDATE_STRETCH), clear);
      NAME (prefetch_some) (h, t);
    }
    return;
  }
  REAL *w = h->params, *v = h->velocity;
  if (h->uniform)
    for (guint r = 0; r < h->uniform->n; r++) {
      const DrmadUniformRun *run = &h->uniform->runs[r];
      gsize from = MAX (run->start, start), to = MIN (run->end, end);
      if (from < to)
        NAME (sgd_momentum_uniform) (w + from, v + from, g_start + (from - start), (REAL) run->eta,
                                     (REAL) run->gamma, (REAL) run->l2, to - from, clear);
    }
  else
    NAME (sgd_momentum) (w + start, v + start, g_start, (const REAL *) h->eta + h->segment_offset + start,
                         (const REAL *) h->gamma + h->segment_offset + start, (const REAL *) h->l2 + start,
                         end - start, clear);
}

/* The update of parameters @start … @end − 1 whose gradient is in @g. */
static void
NAME (update_range) (const HostStep *h, guint t, REAL *g, gsize start, gsize end)
{
  NAME (update_from) (h, t, g + start, start, end, TRUE);
}

/* r_bias_act: R(z) += Vb; R(a) = φ'(a) ⊙ R(z) when @ra is set. */
static DRMAD_VECTOR_CLONES void
NAME (r_bias_act) (REAL *restrict rz, REAL *restrict ra, const REAL *restrict dir_bias, const REAL *restrict act,
                   gsize rows, gsize cols, guint activation)
{
  for (gsize r = 0; r < rows; r++)
    for (gsize c = 0; c < cols; c++)
      rz[r * cols + c] += dir_bias[c];
  if (ra && activation == ACT_TANH)
    for (gsize i = 0; i < rows * cols; i++)
      ra[i] = (1 - act[i] * act[i]) * rz[i];
  else if (ra)
    for (gsize i = 0; i < rows * cols; i++)
      ra[i] = NAME (act_d1) (act[i], activation) * rz[i];
}

/* r_softmax: R(δ_L) = [p ⊙ (R(z_L) − rowsum(p ⊙ R(z_L)))] · scale. */
static void
NAME (r_softmax) (const REAL *logits, const REAL *rz, gsize rows, gsize classes, REAL scale, REAL *r_delta)
{
  for (gsize r = 0; r < rows; r++) {
    const REAL *z = logits + r * classes, *rzr = rz + r * classes;
    REAL top = z[0];
    for (gsize c = 1; c < classes; c++)
      top = z[c] > top || top != top ? z[c] : top;   /* fmax: a NaN loses */
    REAL sum = 0, dot = 0;
    for (gsize c = 0; c < classes; c++) {
      REAL e = EXP_FN (z[c] - top);
      sum += e;
      dot += e * rzr[c];
    }
    dot /= sum;
    for (gsize c = 0; c < classes; c++)
      r_delta[r * classes + c] = EXP_FN (z[c] - top) / sum * (rzr[c] - dot) * scale;
  }
}

/* r_act_backward: R(δ) = pre_R ⊙ φ'(a) + pre ⊙ φ''(a) ⊙ R(z), pre_R in @r_delta on entry. */
static DRMAD_VECTOR_CLONES void
NAME (r_act_backward) (REAL *restrict r_delta, const REAL *restrict pre, const REAL *restrict act,
                       const REAL *restrict rz, gsize n, guint activation)
{
  if (activation == ACT_TANH)
    for (gsize i = 0; i < n; i++) {
      REAL a = act[i], d1 = 1 - a * a;
      r_delta[i] = r_delta[i] * d1 + pre[i] * (-2 * a * d1) * rz[i];
    }
  else
    for (gsize i = 0; i < n; i++) {
      REAL a = act[i];
      r_delta[i] = r_delta[i] * NAME (act_d1) (a, activation) + pre[i] * NAME (act_d2) (a, activation) * rz[i];
    }
}

static void
NAME (gemm_scaled) (const HostStep *h, gboolean transpose_a, gboolean transpose_b, gsize m, gsize n, gsize k,
                    double alpha, const REAL *a, gsize lda, const REAL *b, gsize ldb, double beta, REAL *c, gsize ldc)
{
#if !FP64
  if (drmad_small_sgemm (transpose_a, transpose_b, m, n, k, (float) alpha, a, lda, b, ldb, (float) beta, c, ldc))
    return;
#endif
  drmad_blas_host_gemm (h->blas, FP64, transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

static void
NAME (gemm) (const HostStep *h, gboolean transpose_a, gboolean transpose_b, gsize m, gsize n, gsize k,
             const REAL *a, gsize lda, const REAL *b, gsize ldb, double beta, REAL *c, gsize ldc)
{
  NAME (gemm_scaled) (h, transpose_a, transpose_b, m, n, k, 1.0, a, lda, b, ldb, beta, c, ldc);
}

#define HOST(buffer) ((REAL *) (buffer)->host)
/* a_l, δ_l and δ_{l+1} W_{l+1}ᵀ: in the net's workspace, or in a tape slot
 * (HostStep's acts, deltas and pre_deltas). */
#define WS_ACT(l)   ((REAL *) h->acts[l])
#define WS_DELTA(l) ((REAL *) h->deltas[l])
#define WS_PRE(l)   ((REAL *) h->pre_deltas[l])

/* The forward pass over rows @first … @first + @rows − 1 of @input (by
 * member @t of the host team): those rows of a_1 … a_L (logits) in the
 * workspace (or tape slot). */
static void
NAME (forward_from) (const HostStep *h, guint t, const REAL *input, gsize first, gsize rows, guint from_layer)
{
  DrmadNet *net = h->net;
  guint L = net->n_layers, act = hidden_activation (net);
  const REAL *w = h->params;
  for (guint l = from_layer; l <= L; l++) {
    gsize fan_in = net->sizes[l - 1], fan_out = net->sizes[l];
    const REAL *a = (l == 1 ? input : WS_ACT (l - 1)) + first * fan_in;
    REAL *z = WS_ACT (l) + first * fan_out;
    NAME (prefetch_some) (h, t);
    NAME (gemm) (h, FALSE, FALSE, rows, fan_out, fan_in, a, fan_in, w + net->weight_offset[l], fan_out,
                 0.0, z, fan_out);
    NAME (bias_act) (z, w + net->bias_offset[l], rows, fan_out, l < L ? act : ACT_IDENTITY);
  }
}

static void
NAME (forward) (const HostStep *h, guint t, const REAL *input, gsize first, gsize rows)
{
  NAME (forward_from) (h, t, input, first, rows, 1);
}

/* A training step's z_1 = X·W_1 is two GEMMs over the halves of its inner
 * dimension (the rows of W_1), summed: half @part (0 or 1) into @out (beta
 * 0). So in the host team each of two members reads only the rows of W_1
 * that it updates (a line of W_1 read by both cores made the update of its
 * writer 3–4× slower: docs/architecture.md, "The host step"), and one
 * thread sums the same two halves, so the numbers do not depend on the
 * threads. Nets with one layer have no WS_PRE (1) to hold the second half
 * and keep the single GEMM (LAYER1_HALVES, lib/net-host.c). */
static void
NAME (layer1_half) (const HostStep *h, guint part, REAL *out)
{
  DrmadNet *net = h->net;
  gsize batch = net->batch, fan_in = net->sizes[0], fan_out = net->sizes[1];
  gsize from = fan_in * part / 2, to = fan_in * (part + 1) / 2, ld, end;
  const REAL *x = NAME (input_columns) (h, (const REAL *) net->input->host, from, &ld, &end);
  NAME (gemm) (h, FALSE, FALSE, batch, fan_out, to - from, x, ld,
               (const REAL *) h->params + net->weight_offset[1] + from * fan_out, fan_out, 0.0, out, fan_out);
}

/* z_1 = half 0 + half 1 (in WS_ACT (1) and WS_PRE (1)) over rows @first …
 * @first + @rows − 1, then bias and activation. */
static void
NAME (layer1_sum) (const HostStep *h, gsize first, gsize rows)
{
  DrmadNet *net = h->net;
  gsize fan_out = net->sizes[1];
  REAL *z = WS_ACT (1) + first * fan_out;
  const REAL *second = WS_PRE (1) + first * fan_out;
  for (gsize i = 0; i < rows * fan_out; i++)
    z[i] += second[i];
  NAME (bias_act) (z, (const REAL *) h->params + net->bias_offset[1], rows, fan_out, hidden_activation (net));
}

/* A training step's forward pass, member @t of @threads (0 of 1: alone):
 * z_1 by layer1_half, each half by the member of its number (both by a lone
 * thread), after a barrier that makes the gathered batch whole (none in a
 * team of two with X halved: each member gathered every row of the half its
 * GEMM reads, gather_part); then the member's rows @first … @first + @rows − 1
 * of the rest. */
static void
NAME (step_forward) (const HostStep *h, guint t, guint threads, const REAL *input, gsize first, gsize rows)
{
  if (!LAYER1_HALVES (h->net)) {
    NAME (forward) (h, t, input, first, rows);
    return;
  }
  guint profiled = h->velocity ? threads : 0;   /* a training step's phases */
  gsize c0, c1;
  guint r0, r1;
  NAME (gather_part) (h, t, threads, &c0, &c1, &r0, &r1);
  if (r1 - r0 < h->net->batch)   /* else each member gathered all of the half of X that its half of z_1 reads */
    drmad_team_barrier (threads);   /* every row gathered */
  STEP_PHASE (t, profiled, PHASE_WAIT);
  NAME (prefetch_some) (h, t);
  for (guint part = t; part < 2; part += threads)
    NAME (layer1_half) (h, part, part == 0 ? WS_ACT (1) : WS_PRE (1));
  STEP_PHASE (t, profiled, PHASE_LAYER1);
  drmad_team_barrier (threads);   /* both halves done */
  STEP_PHASE (t, profiled, PHASE_WAIT);
  NAME (layer1_sum) (h, first, rows);
  NAME (forward_from) (h, t, input, first, rows, 2);
}

/* Rows @from … @to − 1 of W_l's gradient, a_{l−1}ᵀ δ_l over @rows rows of
 * the batch, into (@beta 1: added to) @g's rows: for W_1 a GEMM for each
 * half of X the rows span. */
static void
NAME (weight_grad_rows) (const HostStep *h, const REAL *input, guint l, gsize rows, gsize from, gsize to,
                         double beta, REAL *g)
{
  DrmadNet *net = h->net;
  gsize fan_in = net->sizes[l - 1], fan_out = net->sizes[l], ld = fan_in, end = to;
  for (gsize r = from; r < to; r = end) {
    const REAL *a = l == 1 ? NAME (input_columns) (h, input, r, &ld, &end) : WS_ACT (l - 1) + r;
    end = MIN (end, to);
    NAME (gemm) (h, TRUE, FALSE, end - r, fan_out, rows, a, ld, WS_DELTA (l), fan_out, beta,
                 g + net->weight_offset[l] + r * fan_out, fan_out);
  }
}

/* The weight gradient of rows @from … @to − 1 of W_1 (over the whole batch,
 * δ_1 in the workspace) and at once their update, GRAD_BLOCK_BYTES of
 * gradient at a time in a block on the stack: W_1's gradient never goes
 * through g (which stays as it was: zeros after a training step), so the
 * update reads 2 arrays of W_1's size instead of 3 and writes 2 instead of
 * 3, and the GEMM writes into a block that stays in cache (blocks of at
 * most DRMAD_BLAS_SMALL_WORK multiply-adds, for OpenBLAS's small-matrix
 * kernels, lib/blas.c, where the BLAS runs it: drmad's own kernels,
 * lib/small-gemm.c, take any block). Only W_1 can take it: no later pass
 * of the step reads it.
 * Each entry is a dot product over the batch as in the whole GEMM, the
 * same in a block of any size for a given OpenBLAS kernel. */
static gboolean
NAME (blocked_update) (const HostStep *h, guint l)
{
  return l == 1 && h->velocity && h->grad && h->net->sizes[1] * sizeof (REAL) * 4 <= GRAD_BLOCK_BYTES;
}

static void
NAME (grad_update_rows) (const HostStep *h, guint t, gsize from, gsize to, gboolean bias)
{
  DrmadNet *net = h->net;
  gsize fan_out = net->sizes[1];
  REAL block[GRAD_BLOCK_BYTES / sizeof (REAL)] __attribute__ ((aligned (64)));
  /* rows a block, within the block and the small-matrix kernels' work (at least 4 rows: blocked_update) */
  gsize per = MIN (GRAD_BLOCK_BYTES / (fan_out * sizeof (REAL)),
                   MAX (4, (gsize) (DRMAD_BLAS_SMALL_WORK / ((double) fan_out * net->batch))));
  REAL *g = h->grad;
  guint profiled = h->velocity ? MAX (h->threads, 1) : 0;   /* a training step's phases: its GEMM, its update */
  for (gsize r = from, ld, end; r < to; r += MIN (per, MIN (to, end) - r)) {
    const REAL *x = NAME (input_columns) (h, (const REAL *) net->input->host, r, &ld, &end);   /* within a half */
    gsize n = MIN (per, MIN (to, end) - r), start = net->weight_offset[1] + r * fan_out;
    NAME (gemm) (h, TRUE, FALSE, n, fan_out, net->batch, x, ld, WS_DELTA (1), fan_out, 0.0, block, fan_out);
    STEP_PHASE (t, profiled, PHASE_WEIGHT_GRAD);
    NAME (update_from) (h, t, block, start, start + n * fan_out, FALSE);
    if (!h->grad_zero)   /* g's rows as a training step leaves them */
      memset (g + start, 0, n * fan_out * sizeof (REAL));
    STEP_PHASE (t, profiled, PHASE_UPDATE);
  }
  if (bias) {   /* b_1's gradient, Σ over the batch of δ_1, and its update */
    NAME (column_sums) (WS_DELTA (1), net->batch, fan_out, g + net->bias_offset[1], h->grad_zero);
    NAME (update_range) (h, t, g, net->bias_offset[1], net->bias_offset[1] + fan_out);
  }
}

/* The backward pass from δ_L in the workspace: the δ_l, and with @g the
 * gradient into (@add: added to) @g. */
static void
NAME (backward) (const HostStep *h, const REAL *input, gsize rows, REAL *g, gboolean add)
{
  DrmadNet *net = h->net;
  guint act = hidden_activation (net), profiled = h->velocity ? 1 : 0;   /* a training step's phases */
  const REAL *w = h->params;
  for (guint l = net->n_layers; l >= 1; l--) {
    gsize fan_in = net->sizes[l - 1], fan_out = net->sizes[l];
    REAL *delta = WS_DELTA (l);
    NAME (prefetch_some) (h, 0);
    if (!add && NAME (blocked_update) (h, l)) {   /* a training step: @rows is the batch */
      NAME (grad_update_rows) (h, 0, 0, fan_in, TRUE);
      STEP_PHASE (0, profiled, PHASE_WEIGHT_GRAD);
      continue;   /* l = 1: no δ_0 */
    }
    if (g) {   /* into zeros the last update left: no clearing pass */
      NAME (weight_grad_rows) (h, input, l, rows, 0, fan_in, add || h->grad_zero ? 1.0 : 0.0, g);
      NAME (column_sums) (delta, rows, fan_out, g + net->bias_offset[l], add || h->grad_zero);
    }
    STEP_PHASE (0, profiled, PHASE_WEIGHT_GRAD);
    if (l > 1) {
      REAL *pre = WS_PRE (l - 1);
      NAME (gemm) (h, FALSE, TRUE, rows, fan_in, fan_out, delta, fan_out, w + net->weight_offset[l], fan_out,
                   0.0, pre, fan_in);
      NAME (act_backward) (WS_DELTA (l - 1), pre, WS_ACT (l - 1), rows * fan_in, act);
    }
    STEP_PHASE (0, profiled, PHASE_DELTA);
    if (h->velocity)   /* a training step: W_l and b_l are read no more */
      NAME (update_range) (h, 0, g, net->weight_offset[l], net->bias_offset[l] + fan_out);
    STEP_PHASE (0, profiled, PHASE_UPDATE);
  }
}

/* Σ of @n values in order, added to acc[@slot] (the accumulate kernel). */
static void
NAME (accumulate) (const HostStep *h, const REAL *values, gsize n, guint slot)
{
  REAL sum = 0;
  for (gsize r = 0; r < n; r++)
    sum += values[r];
  HOST (h->net->acc)[slot] += sum;
}

/* Rows @first … @first + @rows − 1 of the data for a pass: the data's own
 * reals, or a byte dataset's rows as reals in net->input. */
static const REAL *
NAME (data_rows) (const HostStep *h, gsize first, gsize rows)
{
  gsize dim = h->net->sizes[0];
  if (!h->bytes)
    return (const REAL *) h->features + first * dim;
  REAL *input = HOST (h->net->input);
  for (gsize j = 0; j < rows; j++)
    NAME (from_bytes) (input + j * dim, h->bytes + (first + j) * dim, h->scale, h->offset, dim);
  return input;
}

/* sample_batch and gather_rows: the minibatch of the step in net->input,
 * its indices and labels (member @t of the host team: its own rows' indices
 * and labels; the rows and columns of gather_part, laid out as
 * input_columns says). */
static void
NAME (gather_batch) (const HostStep *h, guint t)
{
  DrmadNet *net = h->net;
  guint rows = net->batch, threads = MAX (h->threads, 1);
  guint from = team_first_row (rows, t, threads), to = team_first_row (rows, t + 1, threads), r0, r1;
  const REAL *features = h->features;
  REAL *input = HOST (net->input);
  guint32 *indices = net->indices->host;
  gint32 *batch_labels = net->batch_labels->host;
  gsize dim = net->sizes[0], c0, c1;
  if (h->given_indices)
    memcpy (indices + from, h->indices + from, (to - from) * sizeof *indices);
  else
    drmad_sample_range (h->seed, h->step, rows, from, to - from, h->n, indices + from);
  for (guint j = from; j < to; j++)
    batch_labels[j] = h->labels[indices[j]];
  /* a halved X in a team of two: every row (h->indices has them all) */
  NAME (gather_part) (h, t, threads, &c0, &c1, &r0, &r1);
  const guint32 *rows_at = h->given_indices ? h->indices : indices;
  /* The rows are scattered over the data: the next one's cache lines are
   * asked for while this one converts (its loads were most of the gather). */
  gsize size = h->bytes ? 1 : sizeof (REAL), part_bytes = (c1 - c0) * size;
  const char *base = (h->bytes ? (const char *) h->bytes : (const char *) features) + c0 * size;
  for (guint j = r0; j < r1; j++) {
    gsize i = rows_at[j];
    if (j + 1 < r1)
      for (gsize at = 0; at < part_bytes; at += 64)
        __builtin_prefetch (base + (gsize) rows_at[j + 1] * dim * size + at);
    for (gsize c = c0, ld, end; c < c1; c = end) {   /* each half of X the columns span */
      REAL *row = (REAL *) NAME (input_columns) (h, input, c, &ld, &end) + j * ld;
      end = MIN (end, c1);
      if (h->bytes)
        NAME (from_bytes) (row, h->bytes + i * dim + c, h->scale ? h->scale + c : NULL,
                           h->offset ? h->offset + c : NULL, end - c);
      else
        memcpy (row, features + i * dim + c, (end - c) * sizeof (REAL));
    }
  }
}

/* drmad_net_enqueue_batch_gradient() as one function: sample_batch,
 * gather_rows, the forward pass, softmax_xent, accumulate and the backward
 * pass (a_l and δ_l into the workspace, or the tape slot the step was given),
 * with an update each layer's sgd_momentum as soon as the pass is done with
 * its W_l (and the next step's rows prefetched along the way). */
static void
NAME (step) (const HostStep *h)
{
  DrmadNet *net = h->net;
  guint L = net->n_layers, rows = net->batch;
  REAL *input = HOST (net->input);
  gint32 *batch_labels = net->batch_labels->host;
  guint profiled = h->velocity ? 1 : 0;
  STEP_PHASE_BEGIN (0, profiled);
  prefetched_rows = 0;
  NAME (gather_batch) (h, 0);
  STEP_PHASE (0, profiled, PHASE_GATHER);
  NAME (step_forward) (h, 0, 1, input, 0, rows);
  STEP_PHASE (0, profiled, PHASE_FORWARD);
  REAL *row_loss = HOST (net->row_loss), *g = h->grad;
  NAME (softmax_xent) (WS_ACT (L), batch_labels, rows, net->sizes[L], (REAL) 1 / rows,
                       WS_DELTA (L), row_loss, HOST (net->row_wrong));
  if (g)
    NAME (accumulate) (h, row_loss, rows, 0);
  STEP_PHASE (0, profiled, PHASE_SOFTMAX);
  NAME (backward) (h, input, rows, g, FALSE);
}

/* The member of @threads that sums b_l's gradient and updates b_l: the
 * layers' bias sums dealt out in turn from the last layer, so that no
 * member does them all (member 0 also sums the loss). */
static inline guint
NAME (bias_owner) (const DrmadNet *net, guint l, guint threads)
{
  return (net->n_layers - l) % threads;
}

/* The update of member @t's rows of W_l (and of b_l where it is the
 * bias's owner): the rows whose gradient it worked out in step_part. */
static void
NAME (update_part) (const HostStep *h, REAL *g, guint l, guint t, guint threads)
{
  DrmadNet *net = h->net;
  gsize fan_in = net->sizes[l - 1], fan_out = net->sizes[l];
  gsize first = fan_in * t / threads, last = fan_in * (t + 1) / threads;
  NAME (update_range) (h, t, g, net->weight_offset[l] + first * fan_out, net->weight_offset[l] + last * fan_out);
  if (t == NAME (bias_owner) (net, l, threads))
    NAME (update_range) (h, t, g, net->bias_offset[l], net->bias_offset[l] + fan_out);
}

/* A training step shared by @threads members of the host team
 * (lib/host-team.c), member @t's part (with an update, or for a reverse
 * step the gradient or only the δ_l). Member t has rows
 * team_first_row (batch, t) … (about batch·t/threads, lib/net-host.c) of
 * the minibatch for the gather, the forward pass, softmax_xent and the
 * whole δ chain, which needs no other member's rows; then, after the one
 * barrier of the backward pass (every δ_l whole, and no member reads any
 * W_l again this step), rows fan_in·t/threads … of each W_l for its weight
 * gradient (over the whole batch: the single thread's sums, split by
 * output) and its update, layer after layer while the gradient is in
 * cache. The loss is summed by member 0, each b_l's gradient by its
 * bias_owner, each in the single thread's order. Every number is the one
 * step() gives with the same GEMMs (docs/architecture.md, "The host
 * step"). */
static void
NAME (step_part) (const void *data, guint t, guint threads)
{
  const HostStep *h = data;
  DrmadNet *net = h->net;
  guint L = net->n_layers, batch = net->batch, act = hidden_activation (net);
  gsize first = team_first_row (batch, t, threads), rows = team_first_row (batch, t + 1, threads) - first;
  const REAL *input = HOST (net->input), *w = h->params;
  REAL *row_loss = HOST (net->row_loss), *g = h->grad;
  gsize classes = net->sizes[L];
  guint profiled = h->velocity ? threads : 0;   /* a training step's phases (not a reverse step's) */
  STEP_PHASE_BEGIN (t, profiled);
  prefetched_rows = 0;
  NAME (gather_batch) (h, t);
  STEP_PHASE (t, profiled, PHASE_GATHER);
  NAME (step_forward) (h, t, threads, input, first, rows);
  STEP_PHASE (t, profiled, PHASE_FORWARD);
  NAME (softmax_xent) (WS_ACT (L) + first * classes, (const gint32 *) net->batch_labels->host + first, rows,
                       classes, (REAL) 1 / batch, WS_DELTA (L) + first * classes, row_loss + first,
                       HOST (net->row_wrong) + first);
  STEP_PHASE (t, profiled, PHASE_SOFTMAX);
  for (guint l = L; l > 1; l--) {   /* the member's rows of δ_{L−1} … δ_1 */
    gsize fan_in = net->sizes[l - 1], fan_out = net->sizes[l];
    REAL *pre = WS_PRE (l - 1) + first * fan_in;
    NAME (prefetch_some) (h, t);
    NAME (gemm) (h, FALSE, TRUE, rows, fan_in, fan_out, WS_DELTA (l) + first * fan_out, fan_out,
                 w + net->weight_offset[l], fan_out, 0.0, pre, fan_in);
    NAME (act_backward) (WS_DELTA (l - 1) + first * fan_in, pre, WS_ACT (l - 1) + first * fan_in, rows * fan_in,
                         act);
  }
  STEP_PHASE (t, profiled, PHASE_DELTA);
  if (t == 0 && h->ahead) {   /* the minibatch of step + 2 for step_indices, here where member 0 would wait */
    drmad_sampler_batch (h->seed, h->step + 2, batch, h->n, h->ahead);
    net->ahead_valid = TRUE;
    STEP_PHASE (t, profiled, PHASE_GATHER);
  }
  drmad_team_barrier (threads);   /* every δ_l whole; no W_l read again this step */
  STEP_PHASE (t, profiled, PHASE_WAIT);
  if (t == 0 && g)
    NAME (accumulate) (h, row_loss, batch, 0);
  STEP_PHASE (t, profiled, PHASE_SOFTMAX);
  if (!g)
    return;
  for (guint l = L; l >= 1; l--) {
    gsize fan_in = net->sizes[l - 1], fan_out = net->sizes[l];
    gsize from = fan_in * t / threads, to = fan_in * (t + 1) / threads;
    gboolean bias = t == NAME (bias_owner) (net, l, threads);
    NAME (prefetch_some) (h, t);
    if (NAME (blocked_update) (h, l)) {   /* W_1's rows updated too, and b_1 by its owner */
      NAME (grad_update_rows) (h, t, from, to, bias);
      STEP_PHASE (t, profiled, PHASE_WEIGHT_GRAD);
      continue;
    }
    NAME (weight_grad_rows) (h, input, l, batch, from, to, h->grad_zero ? 1.0 : 0.0, g);
    if (bias)
      NAME (column_sums) (WS_DELTA (l), batch, fan_out, g + net->bias_offset[l], h->grad_zero);
    STEP_PHASE (t, profiled, PHASE_WEIGHT_GRAD);
    if (h->velocity)
      NAME (update_part) (h, g, l, t, threads);
    STEP_PHASE (t, profiled, PHASE_UPDATE);
  }
}

/* drmad_net_enqueue_full_gradient() as one function, @chunk rows at a time. */
static void
NAME (full_gradient) (const HostStep *h)
{
  DrmadNet *net = h->net;
  guint L = net->n_layers;
  for (gsize first = 0; first < h->n; first += h->chunk) {
    gsize rows = MIN (h->chunk, h->n - first);
    const REAL *input = NAME (data_rows) (h, first, rows);
    NAME (forward) (h, 0, input, 0, rows);
    NAME (softmax_xent) (WS_ACT (L), h->labels + first, rows, net->sizes[L], (REAL) 1 / h->n,
                         WS_DELTA (L), HOST (net->row_loss), HOST (net->row_wrong));
    NAME (accumulate) (h, HOST (net->row_loss), rows, 0);
    NAME (backward) (h, input, rows, h->grad, first > 0);
  }
}

/* drmad_net_evaluate()'s passes as one function: the summed loss and error
 * count into acc[0] and acc[1], @chunk rows at a time. */
static void
NAME (evaluate) (const HostStep *h)
{
  DrmadNet *net = h->net;
  guint L = net->n_layers;
  for (gsize first = 0; first < h->n; first += h->chunk) {
    gsize rows = MIN (h->chunk, h->n - first);
    NAME (forward) (h, 0, NAME (data_rows) (h, first, rows), 0, rows);
    NAME (softmax_xent) (WS_ACT (L), h->labels + first, rows, net->sizes[L], 1, NULL,
                         HOST (net->row_loss), HOST (net->row_wrong));
    NAME (accumulate) (h, HOST (net->row_loss), rows, 0);
    NAME (accumulate) (h, HOST (net->row_wrong), rows, 1);
  }
}

/* drmad_net_enqueue_batch_hvp() as one function: the R-forward pass,
 * r_softmax and the R-backward pass (docs/algorithm.md §3); member @t of
 * @threads of the host team (0 of 1: alone) as in step_part, its rows of
 * the batch for the R-forward pass and the whole R(δ) chain (which needs
 * no other member's rows), then, after one barrier that makes every R(δ_l)
 * whole, its rows of each W_l for the weight terms of Hu, and each b_l's
 * terms by its bias_owner. */
static void
NAME (hvp) (const HostStep *h, REAL *out, gboolean subtract, guint t, guint threads)
{
  DrmadNet *net = h->net;
  guint L = net->n_layers, batch = net->batch, act = hidden_activation (net);
  gsize first = team_first_row (batch, t, threads), rows = team_first_row (batch, t + 1, threads) - first;
  const REAL *w = h->params, *dir = h->dir;
  for (guint l = 1; l <= L; l++) {
    gsize fan_in = net->sizes[l - 1], fan_out = net->sizes[l];
    const REAL *a = (l == 1 ? HOST (net->input) : WS_ACT (l - 1)) + first * fan_in;
    REAL *rz = HOST (net->r_z[l]) + first * fan_out;
    NAME (gemm) (h, FALSE, FALSE, rows, fan_out, fan_in, a, fan_in, dir + net->weight_offset[l], fan_out,
                 0.0, rz, fan_out);
    if (l > 1)
      NAME (gemm) (h, FALSE, FALSE, rows, fan_out, fan_in, HOST (net->r_a[l - 1]) + first * fan_in, fan_in,
                   w + net->weight_offset[l], fan_out, 1.0, rz, fan_out);
    NAME (r_bias_act) (rz, l < L ? HOST (net->r_a[l]) + first * fan_out : NULL, dir + net->bias_offset[l],
                       WS_ACT (l) + first * fan_out, rows, fan_out, l < L ? act : ACT_IDENTITY);
  }
  gsize classes = net->sizes[L];
  NAME (r_softmax) (WS_ACT (L) + first * classes, HOST (net->r_z[L]) + first * classes, rows, classes,
                    (REAL) 1 / batch, HOST (net->r_deltas[L]) + first * classes);
  for (guint l = L; l > 1; l--) {   /* the member's rows of R(δ_{L−1}) … R(δ_1) */
    gsize fan_in = net->sizes[l - 1], fan_out = net->sizes[l];
    REAL *r_prev = HOST (net->r_deltas[l - 1]) + first * fan_in;
    NAME (gemm) (h, FALSE, TRUE, rows, fan_in, fan_out, HOST (net->r_deltas[l]) + first * fan_out, fan_out,
                 w + net->weight_offset[l], fan_out, 0.0, r_prev, fan_in);
    NAME (gemm) (h, FALSE, TRUE, rows, fan_in, fan_out, WS_DELTA (l) + first * fan_out, fan_out,
                 dir + net->weight_offset[l], fan_out, 1.0, r_prev, fan_in);
    NAME (r_act_backward) (r_prev, WS_PRE (l - 1) + first * fan_in, WS_ACT (l - 1) + first * fan_in,
                           HOST (net->r_z[l - 1]) + first * fan_in, rows * fan_in, act);
  }
  drmad_team_barrier (threads);   /* every R(δ_l) whole */
  for (guint l = L; l >= 1; l--) {
    gsize fan_in = net->sizes[l - 1], fan_out = net->sizes[l];
    const REAL *a = l == 1 ? HOST (net->input) : WS_ACT (l - 1);
    REAL *r_delta = HOST (net->r_deltas[l]);
    /* out = Hu, or out −= Hu straight from the GEMMs (no zeroing pass, no Hu vector) */
    double alpha = subtract ? -1.0 : 1.0;
    gsize from = fan_in * t / threads, to = fan_in * (t + 1) / threads;
    REAL *out_rows = out + net->weight_offset[l] + from * fan_out;
    if (to > from) {
      NAME (gemm_scaled) (h, TRUE, FALSE, to - from, fan_out, batch, alpha, a + from, fan_in, r_delta, fan_out,
                          subtract ? 1.0 : 0.0, out_rows, fan_out);
      if (l > 1)
        NAME (gemm_scaled) (h, TRUE, FALSE, to - from, fan_out, batch, alpha, HOST (net->r_a[l - 1]) + from,
                            fan_in, WS_DELTA (l), fan_out, 1.0, out_rows, fan_out);
    }
    if (t == NAME (bias_owner) (net, l, threads)) {
      if (subtract)
        NAME (column_sums_subtract) (r_delta, batch, fan_out, out + net->bias_offset[l]);
      else
        NAME (column_sums) (r_delta, batch, fan_out, out + net->bias_offset[l], FALSE);
    }
  }
}

/* One reverse step: the minibatch gradient at w_t (only the δ_l unless dγ is
 * kept; with a tape slot, only the minibatch: the a_l and δ_l are the slot's,
 * left there by the recompute's step at w_t), reverse_before_hvp, the HVP
 * with u and reverse_after_hvp (docs/algorithm.md §2; kernels/nn.cl has the
 * loops' formulas). */
/* reverse_before_hvp: dη += dw ⊙ v_{t+1}; dv += η ⊙ dw; (dγ += dv ⊙ (v_t + g + exp(λ) ⊙ w));
 * u = (1 − γ) ⊙ dv. */
static DRMAD_VECTOR_CLONES void
NAME (reverse_before) (const REAL *restrict dw, const REAL *restrict v_next, const REAL *restrict eta,
                       const REAL *restrict gamma, REAL *restrict dv, REAL *restrict deta, REAL *restrict u, gsize n)
{
  for (gsize i = 0; i < n; i++) {
    REAL dwi = dw[i];
    deta[i] += dwi * v_next[i];
    REAL dvi = dv[i] + eta[i] * dwi;
    u[i] = (1 - gamma[i]) * dvi;
    dv[i] = dvi;
  }
}

static DRMAD_VECTOR_CLONES void
NAME (reverse_dgamma) (const REAL *restrict dv, const REAL *restrict v_now, const REAL *restrict g,
                       const REAL *restrict l2, const REAL *restrict w, REAL *restrict dgamma, gsize n)
{
  for (gsize i = 0; i < n; i++)
    dgamma[i] += dv[i] * (v_now[i] + g[i] + l2[i] * w[i]);
}

/* reverse_after_hvp, Hu already taken from dw by the HVP: dw −= exp(λ) ⊙ u;
 * dλ −= exp(λ) ⊙ w ⊙ u; dv ⊙= γ. */
static DRMAD_VECTOR_CLONES void
NAME (reverse_after) (const REAL *restrict u, const REAL *restrict l2, const REAL *restrict w,
                      const REAL *restrict gamma, REAL *restrict dw, REAL *restrict dl2, REAL *restrict dv, gsize n)
{
  for (gsize i = 0; i < n; i++) {
    REAL ui = u[i], l2i = l2[i];
    dw[i] -= l2i * ui;
    dl2[i] -= l2i * w[i] * ui;
    dv[i] *= gamma[i];
  }
}

/* reverse_before and reverse_after over a stretch of one η, γ and exp(λ). */
static DRMAD_VECTOR_CLONES void
NAME (reverse_before_uniform) (const REAL *restrict dw, const REAL *restrict v_next, REAL eta, REAL gamma,
                               REAL *restrict dv, REAL *restrict deta, REAL *restrict u, gsize n)
{
  for (gsize i = 0; i < n; i++) {
    REAL dwi = dw[i];
    deta[i] += dwi * v_next[i];
    REAL dvi = dv[i] + eta * dwi;
    u[i] = (1 - gamma) * dvi;
    dv[i] = dvi;
  }
}

static DRMAD_VECTOR_CLONES void
NAME (reverse_after_uniform) (const REAL *restrict u, REAL l2, const REAL *restrict w, REAL gamma,
                              REAL *restrict dw, REAL *restrict dl2, REAL *restrict dv, gsize n)
{
  for (gsize i = 0; i < n; i++) {
    REAL ui = u[i];
    dw[i] -= l2 * ui;
    dl2[i] -= l2 * w[i] * ui;
    dv[i] *= gamma;
  }
}

static void
NAME (reverse) (const void *data, guint t, guint threads)
{
  const HostStep *h = data;
  if (h->from_tape)
    NAME (gather_batch) (h, t);
  else if (threads == 1)
    NAME (step) (h);
  else
    NAME (step_part) (h, t, threads);
  /* member @t's stretch of the parameters for the elementwise loops */
  gsize n = h->net->n_params, from = n * t / threads, to = n * (t + 1) / threads;
  const REAL *w = h->params, *l2 = h->l2;
  const REAL *eta = (const REAL *) h->eta + h->segment_offset, *gamma = (const REAL *) h->gamma + h->segment_offset;
  REAL *u = (REAL *) h->dir, *dw = h->dw, *dv = h->dv, *deta = (REAL *) h->deta + h->segment_offset;
  const DrmadUniformRuns *uniform = h->uniform;
  if (h->with_dgamma)
    drmad_team_barrier (threads);   /* g whole */
  for (guint r = 0; uniform && r < uniform->n; r++) {
    gsize at = MAX (uniform->runs[r].start, from), end = MIN (uniform->runs[r].end, to);
    if (at < end)
      NAME (reverse_before_uniform) (dw + at, (const REAL *) h->v_next + at, (REAL) uniform->runs[r].eta,
                                     (REAL) uniform->runs[r].gamma, dv + at, deta + at, u + at, end - at);
  }
  if (!uniform)
    NAME (reverse_before) (dw + from, (const REAL *) h->v_next + from, eta + from, gamma + from, dv + from,
                           deta + from, u + from, to - from);
  if (h->with_dgamma)
    NAME (reverse_dgamma) (dv + from, (const REAL *) h->v_now + from, (const REAL *) h->grad + from, l2 + from,
                           w + from, (REAL *) h->dgamma + h->segment_offset + from, to - from);
  drmad_team_barrier (threads);   /* u whole */
  NAME (hvp) (h, dw, TRUE, t, threads);
  drmad_team_barrier (threads);   /* Hu subtracted from all of dw */
  for (guint r = 0; uniform && r < uniform->n; r++) {
    gsize at = MAX (uniform->runs[r].start, from), end = MIN (uniform->runs[r].end, to);
    if (at < end)
      NAME (reverse_after_uniform) (u + at, (REAL) uniform->runs[r].l2, w + at, (REAL) uniform->runs[r].gamma,
                                    dw + at, (REAL *) h->dl2 + at, dv + at, end - at);
  }
  if (!uniform)
    NAME (reverse_after) (u + from, l2 + from, w + from, gamma + from, dw + from, (REAL *) h->dl2 + from,
                          dv + from, to - from);
}

#undef HOST
#undef WS_ACT
#undef WS_DELTA
#undef WS_PRE
