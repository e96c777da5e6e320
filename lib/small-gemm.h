/* Internal: the host step's own single-precision GEMM for small matrices
 * (lib/small-gemm.c). */
#pragma once

#include <glib.h>

/* C = alpha·op(A)·B + beta·C, row-major, op(A) = A (m × k, @lda) or, with
 * @transpose_a, Aᵀ (A k × m); B k × n (@ldb), C m × n (@ldc). With @beta 0
 * C is not read. Each entry of C is one sum over k in order, fused
 * multiply-adds from 0, then times alpha, then plus beta·C: the same numbers
 * whatever the blocking and whichever of the CPU's kernels runs it. FALSE,
 * with nothing done, on a CPU without AVX-512 (the caller then uses the
 * BLAS) unless DRMAD_SMALL_GEMM=avx2 asks for the AVX2 kernels, and when
 * DRMAD_SMALL_GEMM=0. */
gboolean drmad_small_sgemm (gboolean transpose_a, gsize m, gsize n, gsize k, float alpha, const float *a,
                            gsize lda, const float *b, gsize ldb, float beta, float *c, gsize ldc);

/* Which kernels drmad_small_sgemm() runs: "avx512", "avx2" or NULL (none:
 * the BLAS). Chosen on the first call, from DRMAD_SMALL_GEMM if set. */
const char *drmad_small_sgemm_kernels (void);

/* For tests and benchmarks: from now on run @kernels ("avx512", "avx2";
 * "0" or NULL: none). FALSE, and none, when this CPU cannot run them. */
gboolean drmad_small_sgemm_choose (const char *kernels);
