/* Internal: the host step's own single-precision GEMM for small matrices
 * (lib/small-gemm.c). */
#pragma once

#include <glib.h>

/* C = alpha·op(A)·op(B) + beta·C, row-major, op(A) = A (m × k, @lda) or,
 * with @transpose_a, Aᵀ (A k × m); op(B) = B (k × n, @ldb) or, with
 * @transpose_b, Bᵀ (B n × k); C m × n (@ldc). With @beta 0 C is not read.
 * Each entry of C is one sum over k in a fixed order (chunks of terms,
 * fused multiply-adds), then times alpha, then plus beta·C: the same
 * numbers whatever rows of C a call is given (OpenBLAS's depend on where a
 * row falls in its blocking: docs/benchmarks.md), and the same on the
 * AVX-512 and the AVX2 kernels. FALSE, with nothing done, on a CPU without
 * AVX2 and FMA, when DRMAD_SMALL_GEMM=0, for Aᵀ·Bᵀ, and for A·Bᵀ with k
 * over 512: the caller then uses the BLAS. */
gboolean drmad_small_sgemm (gboolean transpose_a, gboolean transpose_b, gsize m, gsize n, gsize k, float alpha,
                            const float *a, gsize lda, const float *b, gsize ldb, float beta, float *c, gsize ldc);

/* For tests and benchmarks: from now on run the kernels @kernels names
 * ("avx512", "avx2", letters in either case, as DRMAD_SMALL_GEMM takes
 * them) or, for "0", leave the GEMMs to the BLAS; FALSE when
 * that is not what now runs (the CPU lacks them: then the widest it has,
 * or the BLAS). NULL goes back to the choice made on the first call, from
 * DRMAD_SMALL_GEMM if set ("0", "avx2"; a value it does not know warned
 * of), else the widest kernels this CPU
 * runs; then TRUE where they are drmad's own.
 * drmad_host_step_gemm_kernels() (lib/drmad-device.h) says which run. */
gboolean drmad_small_sgemm_choose (const char *kernels);

/* Whether this x86-64 CPU runs AVX-512 (avx512f), as libgcc reports it;
 * with the test hooks, FALSE under DRMAD_INJECT_NO_AVX512=1, so that the
 * suite sees drmad choose as on a CPU without it (docs/reliability.md).
 * lib/blas.c asks it for the OpenBLAS core too. */
gboolean drmad_cpu_avx512 (void);
