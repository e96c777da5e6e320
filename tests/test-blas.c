/* OpenBLAS loaded at run time (lib/blas.c, top), with the kernels for the
 * widest instruction set the CPU supports unless the user set
 * OPENBLAS_CORETYPE; GEMMs through the loaded library against a plain C
 * triple loop.
 * OpenBLAS chooses its core once per process, so each case that depends on
 * the environment runs in a fresh process (g_test_trap_subprocess), where
 * nothing has loaded OpenBLAS yet: the test program does not link it.
 * Also CLBlast's kernels let go with the devices that ran them, and CLBlast
 * called from several threads at once. */
#include "blas.h"
#include "device-private.h"
#include "small-gemm.h"
#include "drmad.h"
#include "test-util.h"

#include <dlfcn.h>
#include <math.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* TRUE on x86-64 CPUs with AVX, where kernels older than the CPU exist (Prescott). */
static gboolean
cpu_has_avx (void)
{
#ifdef __x86_64__
  __builtin_cpu_init ();
  return __builtin_cpu_supports ("avx") != 0;
#else
  return FALSE;
#endif
}

static void
clear_coretype (void)
{
  g_unsetenv ("OPENBLAS_CORETYPE");
  g_unsetenv ("DRMAD_CHOSEN_CORETYPE");
}

static const DrmadBlasInfo *
get_info (void)
{
  g_autoptr (GError) error = NULL;
  const DrmadBlasInfo *info = drmad_blas_get_info (&error);
  g_assert_no_error (error);
  g_assert_nonnull (info);
  g_autofree char *line = drmad_blas_info_describe (info);
  g_test_message ("BLAS: %s", line);
  g_assert_nonnull (strstr (line, info->core));
  g_assert_nonnull (strstr (line, info->version));
  return info;
}

static const char *const isa_words[] = { "sse", "avx", "avx2", "avx512" };

static int
isa_level (const char *isa)
{
  for (guint i = 0; i < G_N_ELEMENTS (isa_words); i++)
    if (g_str_equal (isa, isa_words[i]))
      return i;
  return -1;
}

/* Nothing set: the library chooses the core from the CPU's features, and it
 * is not older than the CPU's instruction set; with @prepare through
 * drmad_prepare_environment(), else at the first use. */
static void
check_core_for_cpu (gboolean prepare)
{
  clear_coretype ();
  if (prepare)
    drmad_prepare_environment ();
  const DrmadBlasInfo *info = get_info ();
  g_assert_cmpint (isa_level (info->cpu_isa), >=, 0);
  g_assert_cmpint (isa_level (info->core_isa), >=, isa_level (info->cpu_isa));
  g_assert_false (info->core_older_than_cpu);
  g_assert_null (info->warning);
  if (!g_str_equal (info->cpu_isa, "sse")) {
    g_assert_cmpint (info->chosen_by, ==, DRMAD_BLAS_CHOSEN_BY_DRMAD);
    g_assert_cmpint (g_ascii_strcasecmp (g_getenv ("OPENBLAS_CORETYPE"), info->core), ==, 0);
  }
}

static void
test_core_for_cpu (gconstpointer prepare)
{
#ifndef __x86_64__
  g_test_skip ("the cores are chosen on x86-64 only");
  return;
#endif
  if (g_test_subprocess ()) {
    check_core_for_cpu (GPOINTER_TO_INT (prepare));
    return;
  }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

/* The user's OPENBLAS_CORETYPE is kept, reported as theirs, and flagged
 * (once, as a message) when it is older than the CPU. */
static void
test_user_coretype (void)
{
  if (g_test_subprocess ()) {
    clear_coretype ();
    g_setenv ("OPENBLAS_CORETYPE", "Prescott", TRUE);
    drmad_prepare_environment ();
    g_assert_cmpstr (g_getenv ("OPENBLAS_CORETYPE"), ==, "Prescott");
    const DrmadBlasInfo *info = get_info ();
    g_assert_cmpstr (info->core, ==, "Prescott");
    g_assert_cmpstr (info->core_isa, ==, "sse");
    g_assert_cmpint (info->chosen_by, ==, DRMAD_BLAS_CHOSEN_BY_USER);
    g_assert_cmpint (info->core_older_than_cpu, ==, cpu_has_avx ());
    if (cpu_has_avx ())
      g_assert_nonnull (strstr (info->warning, "OPENBLAS_CORETYPE=Prescott was set by the user"));
    return;
  }
#ifndef __x86_64__
  g_test_skip ("OpenBLAS has no Prescott core off x86-64");
  return;
#endif
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  if (cpu_has_avx ())
    g_test_trap_assert_stderr ("*Message*BLAS kernels Prescott (sse) are older than this CPU allows*");
}

/* drmad_blas_set_notice (FALSE) before OpenBLAS loads: the warning of a
 * core older than the CPU is in the info, and nothing is logged (all but
 * one of several processes on one terminal, app/drmad-cli.c). */
static void
test_notice_unsaid (void)
{
  if (g_test_subprocess ()) {
    clear_coretype ();
    g_setenv ("OPENBLAS_CORETYPE", "Prescott", TRUE);
    drmad_prepare_environment ();
    drmad_blas_set_notice (FALSE);
    const DrmadBlasInfo *info = get_info ();
    g_assert_true (info->core_older_than_cpu);
    g_assert_nonnull (strstr (info->warning, "OPENBLAS_CORETYPE=Prescott was set by the user"));
    return;
  }
  if (!cpu_has_avx ()) {
    g_test_skip ("needs an x86-64 CPU with AVX (the Prescott core older than it allows)");
    return;
  }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr_unmatched ("*BLAS kernels*");
}

/* A wrong core inherited from a parent process that ran the library is not
 * the user's: the library chooses again. */
static void
test_inherited_coretype (void)
{
  if (g_test_subprocess ()) {
    g_setenv ("OPENBLAS_CORETYPE", "Prescott", TRUE);
    g_setenv ("DRMAD_CHOSEN_CORETYPE", "Prescott", TRUE);
    drmad_prepare_environment ();
    const DrmadBlasInfo *info = get_info ();
    g_assert_cmpint (info->chosen_by, ==, DRMAD_BLAS_CHOSEN_BY_DRMAD);
    g_assert_false (info->core_older_than_cpu);
    g_assert_cmpstr (info->core, !=, "Prescott");
    return;
  }
  if (!cpu_has_avx ()) {
    g_test_skip ("needs an x86-64 CPU with AVX");
    return;
  }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

/* OpenBLAS already in the process with a wrong core (as in a program that
 * links it): the library cannot change it, says so once as a warning, and
 * reports OpenBLAS's choice. */
static void
test_loaded_before (void)
{
  if (g_test_subprocess ()) {
    clear_coretype ();
    g_setenv ("OPENBLAS_CORETYPE", "Prescott", TRUE);
    void *handle = dlopen ("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    g_assert_nonnull (handle);
    g_unsetenv ("OPENBLAS_CORETYPE");
    drmad_prepare_environment ();
    g_test_expect_message ("drmad", G_LOG_LEVEL_WARNING, "*Prescott (sse) are older*loaded before drmad*");
    const DrmadBlasInfo *info = get_info ();
    g_test_assert_expected_messages ();
    g_assert_cmpstr (info->core, ==, "Prescott");
    g_assert_cmpint (info->chosen_by, ==, DRMAD_BLAS_CHOSEN_BY_OPENBLAS);
    g_assert_true (info->core_older_than_cpu);
    return;
  }
  if (!cpu_has_avx ()) {
    g_test_skip ("needs an x86-64 CPU with AVX");
    return;
  }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

/* No OpenBLAS: a clear error naming the file and the package, no abort. */
static void
test_missing_library (void)
{
  if (g_test_subprocess ()) {
    g_setenv ("DRMAD_OPENBLAS", "/nonexistent/libopenblas.so.0", TRUE);
    g_autoptr (GError) error = NULL;
    g_assert_null (drmad_blas_get_info (&error));
    g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_NOT_FOUND);
    g_assert_nonnull (strstr (error->message, "/nonexistent/libopenblas.so.0"));
    g_assert_nonnull (strstr (error->message, "libopenblas0"));
    g_clear_error (&error);
    g_assert_null (drmad_openblas (&error));
    g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_NOT_FOUND);
    g_clear_error (&error);

    /* A host GEMM on a CPU device reports the same error. */
    g_autoptr (DrmadDevice) device = drmad_device_open (NULL, NULL);
    if (!device || !drmad_device_get_info (device)->native_kernels)
      return;
    g_autoptr (DrmadBuffer) buffer = drmad_buffer_new (device, 4, sizeof (float), &error);
    g_assert_no_error (error);
    DrmadMatrix m = { .mem = buffer->mem, .host = buffer->host, .ld = 2 };
    g_assert_false (drmad_gemm (device, DRMAD_PRECISION_FLOAT32, DRMAD_GEMM_HOST, FALSE, FALSE, 2, 2, 2,
                                1.0, m, m, 0.0, m, &error));
    g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_NOT_FOUND);
    g_assert_nonnull (strstr (error->message, "libopenblas0"));
    return;
  }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

/* Row-major C = alpha·op(A)·op(B) + beta·C in plain C, in doubles. */
static void
reference_gemm (gboolean ta, gboolean tb, int m, int n, int k, double alpha, const double *a,
                const double *b, double beta, double *c)
{
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      double sum = 0;
      for (int p = 0; p < k; p++)
        sum += (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
      c[i * n + j] = alpha * sum + beta * c[i * n + j];
    }
}

/* @n uniform numbers in [−1, 1), as doubles or floats. */
static void
fill_random (GRand *rand, double *d, float *f, gsize n)
{
  for (gsize i = 0; i < n; i++) {
    double x = g_rand_double_range (rand, -1, 1);
    if (d)
      d[i] = x;
    if (f)
      f[i] = x;
  }
}

/* Both precisions, every transpose, through the loaded library's sgemm and dgemm. */
static void
test_gemm (void)
{
  g_autoptr (GError) error = NULL;
  const DrmadOpenblas *blas = drmad_openblas (&error);
  g_assert_no_error (error);
  const int m = 13, n = 9, k = 17;
  const double alpha = 0.7, beta = 0.3;
  g_autoptr (GRand) rand = g_rand_new_with_seed (12);
  double a[13 * 17], b[17 * 9], c0[13 * 9];
  fill_random (rand, a, NULL, G_N_ELEMENTS (a));
  fill_random (rand, b, NULL, G_N_ELEMENTS (b));
  fill_random (rand, c0, NULL, G_N_ELEMENTS (c0));
  float af[G_N_ELEMENTS (a)], bf[G_N_ELEMENTS (b)];
  for (guint i = 0; i < G_N_ELEMENTS (a); i++)
    af[i] = a[i];
  for (guint i = 0; i < G_N_ELEMENTS (b); i++)
    bf[i] = b[i];
  for (int t = 0; t < 4; t++) {
    gboolean ta = t & 1, tb = t & 2;
    double want[G_N_ELEMENTS (c0)], got[G_N_ELEMENTS (c0)];
    float gotf[G_N_ELEMENTS (c0)];
    memcpy (want, c0, sizeof c0);
    memcpy (got, c0, sizeof c0);
    for (guint i = 0; i < G_N_ELEMENTS (c0); i++)
      gotf[i] = c0[i];
    /* The operands hold the same numbers whichever way they are read. */
    reference_gemm (ta, tb, m, n, k, alpha, a, b, beta, want);
    enum CBLAS_TRANSPOSE cta = ta ? CblasTrans : CblasNoTrans, ctb = tb ? CblasTrans : CblasNoTrans;
    blas->dgemm (CblasRowMajor, cta, ctb, m, n, k, alpha, a, ta ? m : k, b, tb ? k : n, beta, got, n);
    blas->sgemm (CblasRowMajor, cta, ctb, m, n, k, alpha, af, ta ? m : k, bf, tb ? k : n, beta, gotf, n);
    for (guint i = 0; i < G_N_ELEMENTS (c0); i++) {
      g_assert_cmpfloat_with_epsilon (got[i], want[i], 1e-12);
      g_assert_cmpfloat_with_epsilon (gotf[i], want[i], 1e-5);
    }
  }
}

/* drmad_blas_host_gemm() against a plain C reference in double, every
 * transpose, beta 0 and 0.3, below 100³ multiply-adds (left to OpenBLAS,
 * and then OpenBLAS's own result bit for bit) and above (C cleared by a
 * memset and beta = 1, and on OpenBLAS's AVX-512 cores split into blocks
 * of rows for its small-matrix kernels): C's old contents (NaN here) are
 * not read with beta = 0, the columns of a wider C beyond n stay as they
 * were. */
static void
test_host_gemm_beta_zero (void)
{
  g_autoptr (GError) error = NULL;
  const DrmadOpenblas *blas = drmad_openblas (&error);
  g_assert_no_error (error);
  static const struct { int m, n, k, ldc; } shapes[] = { { 37, 29, 41, 33 }, { 131, 97, 101, 100 } };
  g_autoptr (GRand) rand = g_rand_new_with_seed (5);
  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++) {
    int M = shapes[s].m, N = shapes[s].n, K = shapes[s].k, LDC = shapes[s].ldc;
    gboolean small = (double) M * N * K <= DRMAD_BLAS_SMALL_WORK;
    gsize c_size = (gsize) M * LDC * sizeof (float);
    g_autofree float *a = g_new (float, M * K), *b = g_new (float, K * N), *c0 = g_new (float, M * LDC);
    g_autofree float *ours = g_new (float, M * LDC), *theirs = g_new (float, M * LDC);
    g_autofree double *ref = g_new (double, M * N);
    fill_random (rand, NULL, a, M * K);
    fill_random (rand, NULL, b, K * N);
    fill_random (rand, NULL, c0, M * LDC);
    for (int t = 0; t < 4; t++)
      for (int beta10 = 0; beta10 <= 3; beta10 += 3) {
        gboolean ta = t & 1, tb = t & 2;
        int lda = ta ? M : K, ldb = tb ? K : N;
        memcpy (ours, c0, c_size);
        memcpy (theirs, c0, c_size);
        if (beta10 == 0)
          for (int r = 0; r < M; r++)
            ours[r * LDC + 3] = NAN;   /* not read with beta = 0 */
        drmad_blas_host_gemm (blas, FALSE, ta, tb, M, N, K, 0.7, a, lda, b, ldb, beta10 / 10.0, ours, LDC);
        double diff = 0, norm = 0;
        for (int r = 0; r < M; r++)
          for (int j = 0; j < N; j++) {
            double sum = 0;
            for (int i = 0; i < K; i++)
              sum += (double) (ta ? a[i * lda + r] : a[r * lda + i]) * (tb ? b[j * ldb + i] : b[i * ldb + j]);
            ref[r * N + j] = 0.7 * sum + beta10 / 10.0 * c0[r * LDC + j];
            diff += (ours[r * LDC + j] - ref[r * N + j]) * (ours[r * LDC + j] - ref[r * N + j]);
            norm += ref[r * N + j] * ref[r * N + j];
          }
        g_assert_cmpfloat (sqrt (diff / norm), <=, 1e-6);
        for (int r = 0; r < M; r++)
          for (int j = N; j < LDC; j++)
            g_assert_cmpfloat (ours[r * LDC + j], ==, c0[r * LDC + j]);
        if (small) {   /* OpenBLAS's own numbers */
          blas->sgemm (CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 0.7f,
                       a, lda, b, ldb, beta10 / 10.0f, theirs, LDC);
          g_assert_cmpmem (ours, c_size, theirs, c_size);
        }
      }
  }
}

/* drmad_buffers_new(): @count arrays back to back on one allocation, each
 * 128-byte aligned and counted in the device's memory; a mapping of 64 MiB
 * or more is kept once they are freed and the next call of the same size
 * gets it back as it was left (the exact method's stored states, no page
 * faults), a smaller one is not kept, and drmad_device_trim_memory() gives
 * the kept one back (the next call gets fresh, zero memory). */
static void
test_buffers_kept (void)
{
  g_autoptr (GError) error = NULL;
  DrmadDevice *device = drmad_device_open (NULL, &error);
  if (!device) {
    g_test_skip (error->message);
    return;
  }
  if (!drmad_device_get_info (device)->native_kernels) {
    g_test_skip ("the device owns its arrays' storage (no native kernels)");
    drmad_device_unref (device);
    return;
  }
  guint64 base = drmad_device_get_allocated_bytes (device);
  const gsize large = 8u << 20, small = 100000;   /* floats: 2 × 32 MiB, 2 × 400 KB */
  for (guint round = 0; round < 5; round++) {
    gsize n = round < 3 ? large : small;
    GPtrArray *arrays = drmad_buffers_new (device, 2, n, sizeof (float), &error);
    g_assert_no_error (error);
    g_assert_cmpuint (arrays->len, ==, 2);
    g_assert_cmpuint (drmad_device_get_allocated_bytes (device), ==, base + 2 * n * sizeof (float));
    DrmadBuffer *first = arrays->pdata[0], *second = arrays->pdata[1];
    g_assert_cmpuint ((guintptr) first->host % 128, ==, 0);
    g_assert_true ((char *) second->host == (char *) first->host + (n * sizeof (float) + 127) / 128 * 128);
    float *a = first->host, *b = second->host;
    /* round 1 finds round 0's marks (kept), round 2 fresh memory (trimmed
     * after round 1); rounds 3 and 4 are small: nothing kept */
    gboolean kept = round == 1;
    g_assert_cmpfloat (a[7], ==, kept ? 1.5f + round - 1 : 0);
    g_assert_cmpfloat (b[n - 1], ==, kept ? -2.5f : 0);
    a[7] = 1.5f + round;
    b[n - 1] = -2.5f;
    /* copies between the arrays work as on any others */
    g_assert_true (drmad_buffer_copy (second, first, &error));
    g_assert_true (drmad_device_finish (device, &error));
    g_assert_no_error (error);
    g_assert_cmpfloat (b[7], ==, 1.5f + round);
    b[n - 1] = -2.5f;
    g_ptr_array_unref (arrays);
    g_assert_cmpuint (drmad_device_get_allocated_bytes (device), ==, base);
    if (round == 1)
      drmad_device_trim_memory (device);
  }
  drmad_device_unref (device);
}

/* The host step's own GEMM (lib/small-gemm.c) against sums in double over
 * random shapes, A·B, Aᵀ·B and A·Bᵀ, strides wider than the rows, alpha
 * and beta, and the columns past n left alone; its numbers bit for bit the
 * same as the same product computed a few rows at a time (the host team
 * splits C's rows), and as ordered_entry() sums them. */
static float *
random_floats (GRand *rand, gsize n)
{
  float *x = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    x[i] = (float) g_rand_double_range (rand, -1, 1);
  return x;
}

/* C[@i][@j] as lib/small-gemm.c promises to sum it, in plain C: each
 * chunk of 32 terms (K_CHUNK) from 0 by fused multiply-adds in order, the
 * chunks' sums added in order, times @alpha, plus @beta times C by one
 * fused multiply-add where @beta is not 0. Every kernel (block_512,
 * columns_512, columns_512_nn, A·Bᵀ through its transposed block) must
 * give these bits. */
static float
ordered_entry (gboolean ta, gboolean tb, gsize i, gsize j, gsize k, float alpha, const float *a, gsize lda,
               const float *b, gsize ldb, float beta, float c)
{
  float total = 0.0f;
  for (gsize p0 = 0; p0 < k; p0 += 32) {
    float chunk = 0.0f;
    for (gsize p = p0; p < MIN (k, p0 + 32); p++)
      chunk = fmaf (ta ? a[p * lda + i] : a[i * lda + p], tb ? b[j * ldb + p] : b[p * ldb + j], chunk);
    total = p0 == 0 ? chunk : total + chunk;
  }
  float out = total * alpha;
  return beta != 0.0f ? fmaf (beta, c, out) : out;
}

/* 600 random products on the kernels chosen, each entry bit for bit the
 * plain sum in the kernels' order (so the AVX-512 and the AVX2 kernels give
 * the same numbers), and the same rows 5 at a time. */
static void
check_small_gemm (void)
{
  GRand *rand = g_rand_new_with_seed (11);
  for (guint trial = 0; trial < 600; trial++) {
    guint op = trial % 3;   /* A·B, Aᵀ·B, A·Bᵀ */
    gboolean ta = op == 1, tb = op == 2;
    gsize m = g_rand_int_range (rand, 1, 40), n = g_rand_int_range (rand, 1, 140), k = g_rand_int_range (rand, 0, 100);
    if (trial % 50 < 3)   /* a long sum: chunks of K_CHUNK (lib/small-gemm.c); A·Bᵀ up to 512 */
      k = tb ? 512 : trial % 100 < 50 ? 1100 : 785;
    gsize lda = (ta ? m : k) + g_rand_int_range (rand, 0, 3), ldb = (tb ? k : n) + g_rand_int_range (rand, 0, 3);
    gsize ldc = n + g_rand_int_range (rand, 0, 3), a_rows = ta ? k : m, b_rows = tb ? n : k;
    float alpha = trial % 5 ? 1.0f : 0.37f, beta = trial % 4 == 0 ? 0.0f : trial % 4 == 1 ? 1.0f : -0.5f;
    g_autofree float *a = random_floats (rand, MAX (a_rows * lda, 1)), *b = random_floats (rand, MAX (b_rows * ldb, 1));
    g_autofree float *c0 = random_floats (rand, m * ldc);
    if (beta == 0.0f)   /* not read */
      for (gsize i = 0; i < m; i++)
        for (gsize j = 0; j < n; j++)
          c0[i * ldc + j] = NAN;
    g_autofree float *c = g_memdup2 (c0, m * ldc * sizeof (float));
    g_autofree float *split = g_memdup2 (c0, m * ldc * sizeof (float));
    g_assert_true (drmad_small_sgemm (ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc));
    for (gsize i = 0; i < m; i++)
      for (gsize j = 0; j < ldc; j++) {
        if (j < n) {
          double sum = 0, size = 0;
          for (gsize p = 0; p < k; p++) {
            double term = (double) (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
            sum += term;
            size += fabs (term);
          }
          double want = alpha * sum + (beta != 0.0f ? beta * c0[i * ldc + j] : 0.0);
          /* a long sum within 1e-7 of the terms' size: one chain of 785
           * float additions was 2e-7 off, chunks of 32 4e-8 */
          g_assert_cmpfloat_with_epsilon (c[i * ldc + j], want, (k > 100 ? 1e-7 : 1e-6) * (size + 1));
          float ordered = ordered_entry (ta, tb, i, j, k, alpha, a, lda, b, ldb, beta, c0[i * ldc + j]);
          if (memcmp (&c[i * ldc + j], &ordered, sizeof (float)) != 0)
            g_error ("%s %zu x %zu x %zu: C[%zu][%zu] is %.9g, summed in the kernels' order %.9g",
                     ta ? "TN" : tb ? "NT" : "NN", (size_t) m, (size_t) n, (size_t) k, (size_t) i, (size_t) j,
                     c[i * ldc + j], ordered);
        } else
          g_assert_cmpmem (&c[i * ldc + j], sizeof (float), &c0[i * ldc + j], sizeof (float));
      }
    for (gsize i = 0; i < m; i += 5)   /* rows 5 at a time */
      g_assert_true (drmad_small_sgemm (ta, tb, MIN (5, m - i), n, k, alpha, ta ? a + i : a + i * lda, lda, b, ldb,
                                        beta, split + i * ldc, ldc));
    g_assert_cmpmem (split, m * ldc * sizeof (float), c, m * ldc * sizeof (float));
  }
  /* the BLAS's cases: Aᵀ·Bᵀ, and A·Bᵀ past 512 terms */
  g_assert_false (drmad_small_sgemm (TRUE, TRUE, 1, 1, 1, 1.0f, (float[]){ 1 }, 1, (float[]){ 1 }, 1, 0.0f,
                                     (float[]){ 0 }, 1));
  g_autofree float *wide = g_new0 (float, 513);
  g_assert_false (drmad_small_sgemm (FALSE, TRUE, 1, 1, 513, 1.0f, wide, 513, wide, 513, 0.0f, (float[]){ 0 }, 1));
  g_rand_free (rand);
}

/* @n floats that end right before a page that cannot be read or written,
 * so that a kernel's load or store past them stops the test (SIGSEGV);
 * unmap *@map (*@bytes) when done. */
static float *
floats_before_guard (gsize n, char **map, gsize *bytes)
{
  gsize page = (gsize) sysconf (_SC_PAGESIZE), data = (n * sizeof (float) + page - 1) / page * page;
  *bytes = data + page;
  *map = mmap (NULL, *bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  g_assert_true (*map != MAP_FAILED);
  g_assert_cmpint (mprotect (*map + data, page, PROT_NONE), ==, 0);
  return (float *) (*map + data) - n;
}

/* The kernels' edges on the kernels chosen: every shape's A, B and C end
 * right before an unreadable page (A's last row only its used entries, C's
 * last row only its n), over row counts and column counts each side of the
 * blocks' (6, 8, 24 rows; vectors of 8 and 16, 1–4 columns left) and sums
 * each side of a vector and of K_CHUNK, leading dimensions minimal and up to
 * 3 more. Each entry the plain sum in the kernels' order; C's entries past n
 * in a row keep their bits; with beta 0, NaN in C does not come through. */
static void
check_small_gemm_bounds (void)
{
  static const gsize ms[] = { 1, 2, 5, 6, 7, 8, 9, 17, 23, 24, 25, 49, 65 };
  static const gsize ns[] = { 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 15, 16, 17, 18, 20, 21, 24, 33, 36, 49, 50, 65, 68 };
  static const gsize ks[] = { 0, 1, 7, 8, 9, 31, 33, 100, 512 };
  const guint32 past_n = 0x7fc0beefu;   /* a NaN's bits, kept as they are */
  GRand *rand = g_rand_new_with_seed (12);
  guint shape = 0;
  for (guint op = 0; op < 3; op++)
    for (guint mi = 0; mi < G_N_ELEMENTS (ms); mi++)
      for (guint ni = 0; ni < G_N_ELEMENTS (ns); ni++)
        for (guint ki = 0; ki < G_N_ELEMENTS (ks); ki++, shape++) {
          gboolean ta = op == 1, tb = op == 2;
          gsize m = ms[mi], n = ns[ni], k = ks[ki], extra = shape % 4;
          if (k == 512 && (m + n) % 3)   /* long sums on a third of the shapes */
            continue;
          gsize lda = MAX ((ta ? m : k) + extra, 1), ldb = MAX ((tb ? k : n) + (shape / 4) % 4, 1);
          gsize ldc = n + (shape / 16) % 4, rows_a = ta ? k : m, cols_a = ta ? m : k, rows_b = tb ? n : k;
          gsize cols_b = tb ? k : n, size_a = rows_a && cols_a ? (rows_a - 1) * lda + cols_a : 0;
          gsize size_b = rows_b && cols_b ? (rows_b - 1) * ldb + cols_b : 0, size_c = (m - 1) * ldc + n;
          float alpha = shape % 3 ? 1.0f : -0.37f, beta = shape % 5 < 2 ? 0.0f : shape % 5 == 2 ? 1.0f : -0.5f;
          char *maps[3];
          gsize bytes[3];
          float *a = floats_before_guard (size_a, &maps[0], &bytes[0]);
          float *b = floats_before_guard (size_b, &maps[1], &bytes[1]);
          float *c = floats_before_guard (size_c, &maps[2], &bytes[2]);
          for (gsize x = 0; x < size_a; x++)
            a[x] = (float) g_rand_double_range (rand, -1, 1);
          for (gsize x = 0; x < size_b; x++)
            b[x] = (float) g_rand_double_range (rand, -1, 1);
          for (gsize x = 0; x < size_c; x++)
            if (x % ldc >= n || beta == 0.0f)
              memcpy (&c[x], &past_n, sizeof (float));
            else
              c[x] = (float) g_rand_double_range (rand, -1, 1);
          g_autofree float *c0 = g_memdup2 (c, size_c * sizeof (float));
          g_assert_true (drmad_small_sgemm (ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc));
          for (gsize x = 0; x < size_c; x++) {
            gsize i = x / ldc, j = x % ldc;
            float want = j >= n ? c0[x] : ordered_entry (ta, tb, i, j, k, alpha, a, lda, b, ldb, beta, c0[x]);
            if (memcmp (&c[x], &want, sizeof (float)) != 0)
              g_error ("%s %zu x %zu x %zu (lda %zu, ldb %zu, ldc %zu, beta %g): C[%zu][%zu] is %.9g, want %.9g",
                       ta ? "TN" : tb ? "NT" : "NN", (size_t) m, (size_t) n, (size_t) k, (size_t) lda, (size_t) ldb,
                       (size_t) ldc, beta, (size_t) i, (size_t) j, c[x], want);
          }
          for (guint t = 0; t < 3; t++)
            munmap (maps[t], bytes[t]);
        }
  g_rand_free (rand);
}

static void
test_small_gemm (void)
{
  const char *const kernels[] = { "avx512", "avx2" };
  guint ran = 0;
  for (guint i = 0; i < G_N_ELEMENTS (kernels); i++) {
    if (!drmad_small_sgemm_choose (kernels[i])) {
      g_test_message ("this CPU does not run the %s kernels", kernels[i]);
      continue;
    }
    g_assert_cmpstr (drmad_host_step_gemm_kernels (), ==, kernels[i]);
    g_autofree char *upper = g_ascii_strup (kernels[i], -1);   /* the names as DRMAD_SMALL_GEMM takes them */
    g_assert_true (drmad_small_sgemm_choose (upper));
    g_assert_cmpstr (drmad_host_step_gemm_kernels (), ==, kernels[i]);
    check_small_gemm ();
    check_small_gemm_bounds ();
    ran++;
  }
  g_assert_true (drmad_small_sgemm_choose ("0"));
  g_assert_null (drmad_host_step_gemm_kernels ());
  g_assert_false (drmad_small_sgemm (FALSE, FALSE, 1, 1, 1, 1.0f, (float[]){ 1 }, 1, (float[]){ 1 }, 1, 0.0f,
                                     (float[]){ 0 }, 1));
  drmad_small_sgemm_choose (NULL);
  if (!ran)
    g_test_skip ("this CPU has neither AVX-512 nor AVX2 with FMA: the host step uses the BLAS");
}

/* OPENBLAS_NUM_THREADS, which OpenBLAS reads when it loads, is set by
 * drmad_prepare_environment() (to $DRMAD_BLAS_THREADS, default 1), before
 * any thread runs, as drmad.h says of the environment: loading OpenBLAS
 * later, on whichever thread, changes no variable (it set this one then,
 * a setenv() racing the other threads' getenv()). OpenBLAS itself reports
 * the thread it started. */
static void
test_start_threads_prepared (void)
{
  if (g_test_subprocess ()) {
    clear_coretype ();
    g_unsetenv ("OPENBLAS_NUM_THREADS");
    g_unsetenv ("GOTO_NUM_THREADS");
    g_unsetenv ("OMP_NUM_THREADS");
    g_unsetenv ("DRMAD_BLAS_THREADS");
    drmad_prepare_environment ();
    g_assert_cmpstr (g_getenv ("OPENBLAS_NUM_THREADS"), ==, "1");
    g_auto (GStrv) before = g_get_environ ();
    g_autoptr (GError) error = NULL;
    const DrmadOpenblas *blas = drmad_openblas (&error);
    g_assert_no_error (error);
    g_auto (GStrv) after = g_get_environ ();
    g_assert_cmpuint (g_strv_length (after), ==, g_strv_length (before));
    for (guint i = 0; before[i]; i++)
      g_assert_cmpstr (after[i], ==, before[i]);
    g_assert_cmpint (blas->get_num_threads (), ==, 1);
    return;
  }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

/* A device that ran CLBlast GEMMs (a net trained on it), its context with one
 * reference more, held here, to count the references to it afterwards. */
static DrmadDevice *
device_after_clblast (cl_context *context)
{
  g_autoptr (GError) error = NULL;
  DrmadDevice *device = drmad_device_open (NULL, &error);
  g_assert_no_error (error);
  g_assert_true (drmad_device_set_gemm_path (device, DRMAD_GEMM_CLBLAST, &error));
  float x[60 * 6];
  gint32 y[60];
  for (guint i = 0; i < 60; i++) {
    y[i] = i % 3;
    for (guint d = 0; d < 6; d++)
      x[i * 6 + d] = (float) ((i * 7 + d * 13) % 17) / 17.0f;
  }
  g_autoptr (DrmadDataset) ds = drmad_dataset_new_from_arrays (60, 6, 3, x, y, &error);
  g_autoptr (DrmadDeviceData) data = drmad_device_data_new (device, DRMAD_PRECISION_FLOAT32, ds, &error);
  guint sizes[] = { 6, 5, 3 };
  g_autoptr (DrmadNet) net = drmad_net_new (device, sizes, 3, DRMAD_ACTIVATION_RELU, DRMAD_PRECISION_FLOAT32, 10,
                                            &error);
  g_assert_no_error (error);
  g_assert_cmpint (drmad_device_get_gemm_path (device), ==, DRMAD_GEMM_CLBLAST);
  g_autoptr (DrmadTrainer) trainer = drmad_trainer_new (net, &error);
  CHECK (drmad_net_init_params (net, 1, NULL, &error));
  CHECK (drmad_trainer_set_uniform (trainer, 0.1, 0.9, 1e-4, &error));
  CHECK (drmad_trainer_run (trainer, data, 1, 0, 6, NULL, NULL, NULL, &error));
  *context = device->context;
  clRetainContext (*context);
  return device;
}

static cl_uint
context_references (cl_context context)
{
  cl_uint count = 0;
  g_assert_cmpint (clGetContextInfo (context, CL_CONTEXT_REFERENCE_COUNT, sizeof count, &count, NULL), ==,
                   CL_SUCCESS);
  return count;
}

/* CLBlast keeps the programs it compiles, and with them their context, in
 * a cache for the process's life: each device a program opened and closed
 * (the window's every Start, a library caller's every job) stayed, context
 * and programs, 1.5 MB of heap a job. The last device alive that ran
 * CLBlast GEMMs lets them go, and only the last: another device's programs
 * stay while it lives. Counted by the contexts' references (the one taken
 * here is the only one left once a context is let go). */
static void
test_clblast_cache_released (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadDevice) probe = drmad_device_open (NULL, &error);
  if (!probe) {
    g_test_skip (error->message);
    return;
  }
  g_clear_pointer (&probe, drmad_device_unref);
  cl_context first_context, second_context;
  DrmadDevice *first = device_after_clblast (&first_context);
  DrmadDevice *second = device_after_clblast (&second_context);
  g_assert_cmpuint (context_references (first_context), >, 2);   /* the device's, this test's, CLBlast's programs' */
  drmad_device_unref (first);
  g_assert_cmpuint (context_references (first_context), >, 1);   /* the second device's programs are kept */
  drmad_device_unref (second);
  g_assert_cmpuint (context_references (first_context), ==, 1);
  g_assert_cmpuint (context_references (second_context), ==, 1);
  clReleaseContext (first_context);
  clReleaseContext (second_context);
  /* and a device opened afterwards compiles afresh and runs */
  cl_context third_context;
  DrmadDevice *third = device_after_clblast (&third_context);
  drmad_device_unref (third);
  g_assert_cmpuint (context_references (third_context), ==, 1);
  clReleaseContext (third_context);
}

/* Threads that each run CLBlast GEMMs on a device of their own, at once, as
 * drmad.h allows: CLBlast 1.5.3 builds its tuning database for a kernel on
 * the first call that needs it, and two threads doing so at once read
 * memory the other had freed (AddressSanitizer: heap-use-after-free in
 * clblast::Database::Database); each thread's device going empties the
 * cache (drmad_clblast_device_freed) beside the others' calls. Each
 * thread's products against the plain C reference, both precisions, every
 * transpose, a size CLBlast multiplies directly and one it pads first. */
typedef struct {
  gint    *waiting;   /* threads not yet at the start line */
  guint    seed;
  guint    checked;
  GError  *error;
} ClblastThread;

static gpointer
clblast_thread (gpointer data)
{
  ClblastThread *job = data;
  g_autoptr (DrmadDevice) device = drmad_device_open (NULL, &job->error);
  g_autoptr (GRand) rand = g_rand_new_with_seed (job->seed);
  g_atomic_int_add (job->waiting, -1);
  while (g_atomic_int_get (job->waiting) > 0)
    g_thread_yield ();
  if (!device)
    return NULL;
  const int sizes[][3] = { { 13, 9, 17 }, { 130, 90, 170 } };
  for (guint p = 0; p < 2; p++) {
    DrmadPrecision precision = p ? DRMAD_PRECISION_FLOAT64 : DRMAD_PRECISION_FLOAT32;
    if (p && !drmad_device_get_info (device)->fp64)
      continue;
    for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
      for (int t = 0; t < 4; t++) {
        gboolean ta = t & 1, tb = t & 2;
        int m = sizes[s][0], n = sizes[s][1], k = sizes[s][2];
        g_autofree double *a = g_new (double, m * k), *b = g_new (double, k * n), *c = g_new (double, m * n);
        g_autofree double *want = g_new (double, m * n);
        fill_random (rand, a, NULL, m * k);
        fill_random (rand, b, NULL, k * n);
        fill_random (rand, c, NULL, m * n);
        memcpy (want, c, sizeof (double) * m * n);
        reference_gemm (ta, tb, m, n, k, 0.7, a, b, 0.3, want);
        gsize size = p ? sizeof (double) : sizeof (float);
        g_autoptr (DrmadBuffer) da = drmad_buffer_new (device, m * k, size, &job->error);
        g_autoptr (DrmadBuffer) db = drmad_buffer_new (device, k * n, size, &job->error);
        g_autoptr (DrmadBuffer) dc = drmad_buffer_new (device, m * n, size, &job->error);
        if (!da || !db || !dc || !drmad_buffer_write_doubles (da, 0, m * k, a, &job->error)
            || !drmad_buffer_write_doubles (db, 0, k * n, b, &job->error)
            || !drmad_buffer_write_doubles (dc, 0, m * n, c, &job->error))
          return NULL;
        DrmadMatrix ma = { .mem = da->mem, .host = da->host, .ld = ta ? m : k };
        DrmadMatrix mb = { .mem = db->mem, .host = db->host, .ld = tb ? k : n };
        DrmadMatrix mc = { .mem = dc->mem, .host = dc->host, .ld = n };
        if (!drmad_gemm (device, precision, DRMAD_GEMM_CLBLAST, ta, tb, m, n, k, 0.7, ma, mb, 0.3, mc, &job->error)
            || !drmad_buffer_read_doubles (dc, 0, m * n, c, &job->error))
          return NULL;
        for (int i = 0; i < m * n; i++)
          if (fabs (c[i] - want[i]) > (p ? 1e-12 : 1e-4) * k) {
            job->error = g_error_new (DRMAD_ERROR, DRMAD_ERROR_OPENCL, "%s %d×%d×%d, transposes %d: C[%d] = %g, expected %g",
                                      p ? "DGEMM" : "SGEMM", m, n, k, t, i, c[i], want[i]);
            return NULL;
          }
        job->checked++;
      }
  }
  return NULL;
}

static void
test_clblast_threads (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadDevice) probe = drmad_device_open (NULL, &error);
  if (!probe) {
    g_test_skip (error->message);
    return;
  }
  guint expected = drmad_device_get_info (probe)->fp64 ? 16 : 8;
  /* A program built on this thread first: PoCL's LLVM gives the thread that
   * first compiles an alternate signal stack from malloc(), which
   * AddressSanitizer fails to unmap (“failed to deallocate”) as that thread
   * ends (tests/meson.build, the gui suite's note); these threads end. A
   * source of its own each run, so that PoCL's cache does not skip LLVM. */
  g_autofree char *source = g_strdup_printf ("kernel void one (global float *x) { x[0] = 1; } /* %" G_GINT64_FORMAT " */",
                                             g_get_real_time ());
  cl_int status;
  cl_program program = clCreateProgramWithSource (probe->context, 1, (const char **) &source, NULL, &status);
  g_assert_cmpint (status, ==, CL_SUCCESS);
  g_assert_cmpint (clBuildProgram (program, 0, NULL, NULL, NULL, NULL), ==, CL_SUCCESS);
  clReleaseProgram (program);
  g_clear_pointer (&probe, drmad_device_unref);
  drmad_prepare_environment ();
  for (guint round = 0; round < 2; round++) {
    ClblastThread jobs[3];
    GThread *threads[G_N_ELEMENTS (jobs)];
    gint waiting = G_N_ELEMENTS (jobs);
    for (guint i = 0; i < G_N_ELEMENTS (jobs); i++) {
      jobs[i] = (ClblastThread) { .waiting = &waiting, .seed = 40 + round * 10 + i };
      threads[i] = g_thread_new ("clblast", clblast_thread, &jobs[i]);
    }
    for (guint i = 0; i < G_N_ELEMENTS (jobs); i++) {
      g_thread_join (threads[i]);
      g_assert_no_error (jobs[i].error);
      g_assert_cmpuint (jobs[i].checked, ==, expected);
    }
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/blas/core-for-cpu/prepared", GINT_TO_POINTER (TRUE), test_core_for_cpu);
  g_test_add_data_func ("/blas/core-for-cpu/first-use", GINT_TO_POINTER (FALSE), test_core_for_cpu);
  g_test_add_func ("/blas/user-coretype", test_user_coretype);
  g_test_add_func ("/blas/notice-unsaid", test_notice_unsaid);
  g_test_add_func ("/blas/inherited-coretype", test_inherited_coretype);
  g_test_add_func ("/blas/loaded-before", test_loaded_before);
  g_test_add_func ("/blas/missing-library", test_missing_library);
  g_test_add_func ("/blas/start-threads-prepared", test_start_threads_prepared);
  g_test_add_func ("/blas/gemm", test_gemm);
  g_test_add_func ("/blas/host-gemm-beta-zero", test_host_gemm_beta_zero);
  g_test_add_func ("/blas/buffers-kept", test_buffers_kept);
  g_test_add_func ("/blas/small-gemm", test_small_gemm);
  g_test_add_func ("/blas/clblast-cache-released", test_clblast_cache_released);
  g_test_add_func ("/blas/clblast-threads", test_clblast_threads);
  return g_test_run ();
}
