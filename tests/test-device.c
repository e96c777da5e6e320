/* Devices, buffers and both GEMM paths against a plain C reference. */
#include "blas.h"
#include "drmad.h"
#include "test-util.h"

#include <math.h>

static DrmadDevice *
open_or_skip (void)
{
  g_autoptr (GError) error = NULL;
  DrmadDevice *device = drmad_device_open (NULL, &error);
  if (!device)
    g_test_skip (error->message);
  return device;
}

static void
test_list (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) list = drmad_device_list (&error);
  if (!list) {
    g_test_skip (error->message);
    return;
  }
  g_assert_cmpuint (list->len, >, 0);
  for (guint i = 0; i < list->len; i++) {
    DrmadDeviceInfo *info = list->pdata[i];
    g_assert_cmpuint (info->index, ==, i);
    g_assert_cmpuint (info->compute_units, >, 0);
    g_assert_cmpuint (info->global_mem_bytes, >, 0);
    g_assert_nonnull (info->name);
  }
}

static void
test_choose (void)
{
  g_autoptr (DrmadDevice) device = open_or_skip ();
  if (!device)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadDevice) by_index = drmad_device_open ("0", &error);
  g_assert_no_error (error);
  g_autoptr (DrmadDevice) none = drmad_device_open ("no such device anywhere", &error);
  g_assert_null (none);
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_NO_DEVICE);
  g_assert_nonnull (strstr (error->message, "no such device anywhere"));
  g_clear_error (&error);
  none = drmad_device_open ("999", &error);
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_NO_DEVICE);
  g_clear_error (&error);
  DrmadGemmPath path;
  g_assert_false (drmad_gemm_path_from_name ("cublas", &path, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
}

/* drmad_prepare_environment() sets POCL_MAX_PTHREAD_COUNT only where unset,
 * and PoCL then runs its CPU device with one worker (one compute unit).
 * Each case runs in a fresh process, before any OpenCL call. */
static void
test_prepare_environment (void)
{
  if (g_test_subprocess ()) {
    const char *preset = g_getenv ("DRMAD_TEST_PRESET");
    if (preset)
      g_setenv ("POCL_MAX_PTHREAD_COUNT", preset, TRUE);
    else
      g_unsetenv ("POCL_MAX_PTHREAD_COUNT");
    drmad_prepare_environment ();
    g_assert_cmpstr (g_getenv ("POCL_MAX_PTHREAD_COUNT"), ==, preset ? preset : "1");
    g_autoptr (GError) error = NULL;
    g_autoptr (DrmadDevice) device = drmad_device_open (NULL, &error);
    const DrmadDeviceInfo *info = device ? drmad_device_get_info (device) : NULL;
    if (!preset && info && strstr (info->platform_name, "Portable Computing Language")
        && g_str_equal (info->type, "CPU"))
      g_assert_cmpuint (info->compute_units, ==, 1);
    return;
  }
  g_unsetenv ("DRMAD_TEST_PRESET");
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
  g_setenv ("DRMAD_TEST_PRESET", "2", TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_unsetenv ("DRMAD_TEST_PRESET");
  g_test_trap_assert_passed ();
}

/* The first devices and kernels of a process, from several threads at
 * once: PoCL sets its devices up on the first query and GLib registers the
 * kernels' resource on first use, and a thread asking meanwhile was told
 * there was no device, or crashed. Each round is a fresh process (the
 * window is only open once per process). */
#define FIRST_USE_THREADS 4

static gint first_use_waiting;

static gpointer
first_use (gpointer data)
{
  g_atomic_int_add (&first_use_waiting, -1);
  while (g_atomic_int_get (&first_use_waiting) > 0)
    ;   /* all start together */
  GError **error = data;
  g_autoptr (DrmadDevice) device = drmad_device_open (NULL, error);
  if (device) {
    cl_kernel kernel = drmad_device_create_kernel (device, DRMAD_PRECISION_FLOAT32, "accumulate", error);
    if (kernel)
      clReleaseKernel (kernel);
  }
  return NULL;
}

static void
test_first_use_in_threads (void)
{
  /* Under AddressSanitizer its runtime aborts now and then as the threads
   * of a fresh PoCL exit ("failed to deallocate … unable to unmap", as GTK's
   * in tests/meson.build): the race this checks is checked in the plain build. */
  SKIP_UNDER_ASAN ("AddressSanitizer's runtime fails as PoCL's first threads exit; checked in the plain build");
  if (g_test_subprocess ()) {
    GError *errors[FIRST_USE_THREADS] = { NULL };
    GThread *threads[FIRST_USE_THREADS];
    g_atomic_int_set (&first_use_waiting, FIRST_USE_THREADS);
    for (guint i = 0; i < FIRST_USE_THREADS; i++)
      threads[i] = g_thread_new ("first-use", first_use, &errors[i]);
    for (guint i = 0; i < FIRST_USE_THREADS; i++) {
      g_thread_join (threads[i]);
      g_assert_no_error (errors[i]);
    }
    return;
  }
  g_autoptr (DrmadDevice) device = open_or_skip ();
  if (!device)
    return;
  for (guint round = 0; round < 12; round++) {
    g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
    g_test_trap_assert_passed ();
  }
}

static void
test_accounting (void)
{
  g_autoptr (DrmadDevice) device = open_or_skip ();
  if (!device)
    return;
  g_autoptr (GError) error = NULL;
  guint64 before = drmad_device_get_allocated_bytes (device);
  DrmadBuffer *buffer = drmad_buffer_new (device, 1000, sizeof (float), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (drmad_device_get_allocated_bytes (device), ==, before + 4000);
  drmad_buffer_free (buffer);
  g_assert_cmpuint (drmad_device_get_allocated_bytes (device), ==, before);
  g_assert_cmpuint (drmad_device_get_peak_bytes (device), >=, before + 4000);
  /* More than the device allows in one allocation: refused before allocating. */
  const DrmadDeviceInfo *info = drmad_device_get_info (device);
  buffer = drmad_buffer_new (device, info->max_alloc_bytes / 4 + 1, 4, &error);
  g_assert_null (buffer);
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE);
}

static void
test_build_failure (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
  g_autoptr (DrmadDevice) device = open_or_skip ();
  if (!device)
    return;
  g_autoptr (GError) error = NULL;
  g_setenv ("DRMAD_INJECT_BUILD_FAILURE", "1", TRUE);
  cl_kernel kernel = drmad_device_create_kernel (device, DRMAD_PRECISION_FLOAT32, "accumulate", &error);
  g_unsetenv ("DRMAD_INJECT_BUILD_FAILURE");
  g_assert_null (kernel);
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_BUILD);
  g_assert_nonnull (strstr (error->message, "build log"));
}

static void
round_to_float (double *values, gsize n)
{
  for (gsize i = 0; i < n; i++)
    values[i] = (float) values[i];
}

typedef struct {
  DrmadPrecision precision;
  DrmadGemmPath  path;
} GemmCase;

/* C = alpha op(A) op(B) + beta C over every transpose combination, with offsets. */
static void
test_gemm (gconstpointer data)
{
  const GemmCase *gc = data;
  g_autoptr (DrmadDevice) device = open_or_skip ();
  if (!device)
    return;
  g_autoptr (GError) error = NULL;
  if (!drmad_device_set_gemm_path (device, gc->path, &error)) {
    g_test_skip (error->message);
    return;
  }
  gsize elem = gc->precision == DRMAD_PRECISION_FLOAT64 ? 8 : 4;
  double tolerance = gc->precision == DRMAD_PRECISION_FLOAT64 ? 1e-12 : 2e-5;
  GRand *rand = g_rand_new_with_seed (7);
  const gsize shapes[][3] = { { 1, 1, 1 }, { 5, 3, 7 }, { 33, 17, 65 }, { 100, 10, 100 }, { 64, 100, 784 } };
  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    for (int ta = 0; ta < 2; ta++)
      for (int tb = 0; tb < 2; tb++) {
        gsize m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        gsize lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
        gsize rows_a = ta ? k : m, rows_b = tb ? n : k;
        gsize off_a = 5, off_b = 2, off_c = 3;
        gsize na = off_a + rows_a * lda, nb = off_b + rows_b * ldb, nc = off_c + m * ldc;
        g_autofree double *a = g_new (double, na), *b = g_new (double, nb), *c = g_new (double, nc);
        g_autofree double *expect = g_new (double, nc), *got = g_new (double, nc);
        for (gsize i = 0; i < na; i++) a[i] = g_rand_double_range (rand, -1, 1);
        for (gsize i = 0; i < nb; i++) b[i] = g_rand_double_range (rand, -1, 1);
        for (gsize i = 0; i < nc; i++) c[i] = g_rand_double_range (rand, -1, 1);
        if (elem == 4) { /* the reference sees the same rounded inputs */
          round_to_float (a, na);
          round_to_float (b, nb);
          round_to_float (c, nc);
        }
        double alpha = 0.75, beta = -0.5;
        memcpy (expect, c, nc * sizeof (double));
        for (gsize i = 0; i < m; i++)
          for (gsize j = 0; j < n; j++) {
            double sum = 0;
            for (gsize p = 0; p < k; p++)
              sum += a[off_a + (ta ? p * lda + i : i * lda + p)] * b[off_b + (tb ? j * ldb + p : p * ldb + j)];
            expect[off_c + i * ldc + j] = alpha * sum + beta * c[off_c + i * ldc + j];
          }
        g_autoptr (DrmadBuffer) da = drmad_buffer_new (device, na, elem, &error);
        g_autoptr (DrmadBuffer) db = drmad_buffer_new (device, nb, elem, &error);
        g_autoptr (DrmadBuffer) dc = drmad_buffer_new (device, nc, elem, &error);
        g_assert_no_error (error);
        CHECK (drmad_buffer_write_doubles (da, 0, na, a, &error));
        CHECK (drmad_buffer_write_doubles (db, 0, nb, b, &error));
        CHECK (drmad_buffer_write_doubles (dc, 0, nc, c, &error));
        CHECK (drmad_gemm (device, gc->precision, drmad_device_get_gemm_path (device), ta, tb, m, n, k,
                                   alpha, (DrmadMatrix) { da->mem, da->host, off_a, lda }, (DrmadMatrix) { db->mem, db->host, off_b, ldb },
                                   beta, (DrmadMatrix) { dc->mem, dc->host, off_c, ldc }, &error));
        CHECK (drmad_buffer_read_doubles (dc, 0, nc, got, &error));
        g_assert_no_error (error);
        double worst = 0;
        for (gsize i = 0; i < nc; i++)
          worst = MAX (worst, fabs (got[i] - expect[i]) / (1 + fabs (expect[i])));
        g_test_message ("gemm %zux%zux%zu ta=%d tb=%d: error %g", m, n, k, ta, tb, worst);
        g_assert_cmpfloat (worst, <=, tolerance * sqrt ((double) k));
      }
  g_rand_free (rand);
}

/* The .bin files of drmad's folder in PoCL's cache, as a list of paths. */
static GPtrArray *
program_binaries (void)
{
  GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *folder = g_build_filename (g_getenv ("POCL_CACHE_DIR"), "drmad", NULL);
  GDir *dir = g_dir_open (folder, 0, NULL);
  const char *name;
  while (dir && (name = g_dir_read_name (dir)))
    if (g_str_has_suffix (name, ".bin"))
      g_ptr_array_add (paths, g_build_filename (folder, name, NULL));
  if (dir)
    g_dir_close (dir);
  return paths;
}

/* On PoCL a built program leaves its binary, headed by its SHA-256, for the
 * next process; a damaged one is ignored and written again. */
static void
test_program_binary (void)
{
  g_autoptr (DrmadDevice) device = open_or_skip ();
  if (!device)
    return;
  if (g_strcmp0 (drmad_device_get_info (device)->platform_name, "Portable Computing Language") != 0
      || !g_getenv ("POCL_CACHE_DIR")) {
    g_test_skip ("not PoCL with $POCL_CACHE_DIR");
    return;
  }
  g_autoptr (GError) error = NULL;
  cl_kernel kernel = drmad_device_create_kernel (device, DRMAD_PRECISION_FLOAT32, "accumulate", &error);
  g_assert_no_error (error);
  clReleaseKernel (kernel);
  g_autoptr (GPtrArray) binaries = program_binaries ();
  g_assert_cmpuint (binaries->len, >, 0);

  /* Every binary damaged in its last byte: the next device builds from source and writes them again. */
  for (guint i = 0; i < binaries->len; i++) {
    g_autofree char *contents = NULL;
    gsize length = 0;
    CHECK (g_file_get_contents (binaries->pdata[i], &contents, &length, &error));
    g_assert_cmpuint (length, >, 32);
    contents[length - 1] ^= 0x5a;
    CHECK (g_file_set_contents (binaries->pdata[i], contents, length, &error));
  }
  g_autoptr (DrmadDevice) again = drmad_device_open (NULL, &error);
  g_assert_no_error (error);
  kernel = drmad_device_create_kernel (again, DRMAD_PRECISION_FLOAT32, "accumulate", &error);
  g_assert_no_error (error);
  clReleaseKernel (kernel);
  gboolean rewritten = FALSE;
  for (guint i = 0; i < binaries->len; i++) {
    g_autofree char *contents = NULL;
    gsize length = 0;
    CHECK (g_file_get_contents (binaries->pdata[i], &contents, &length, &error));
    g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
    guint8 digest[32];
    gsize digest_length = sizeof digest;
    g_checksum_update (sum, (const guchar *) contents + 32, length - 32);
    g_checksum_get_digest (sum, digest, &digest_length);
    rewritten |= memcmp (digest, contents, 32) == 0;
  }
  g_assert_true (rewritten);
}

/* The default device and one per local rank, on lists this test makes. */
static DrmadDeviceInfo *
fake_device (const char *type)
{
  DrmadDeviceInfo *info = g_new0 (DrmadDeviceInfo, 1);
  info->platform_name = g_strdup ("fake");
  info->name = g_strdup (type);
  info->type = g_strdup (type);
  return info;
}

static void
test_default_index (void)
{
  g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) drmad_device_info_free);
  g_ptr_array_add (list, fake_device ("CPU"));
  g_assert_cmpuint (drmad_device_default_index (list, 0), ==, 0);
  g_assert_cmpuint (drmad_device_default_index (list, 3), ==, 0);
  g_ptr_array_add (list, fake_device ("GPU"));
  g_ptr_array_add (list, fake_device ("accelerator"));
  g_ptr_array_add (list, fake_device ("GPU"));
  /* GPUs first, when there are any: ranks 0, 1, 2, 3 take 1, 3, 1, 3 */
  const guint expected[] = { 1, 3, 1, 3 };
  for (guint rank = 0; rank < G_N_ELEMENTS (expected); rank++)
    g_assert_cmpuint (drmad_device_default_index (list, rank), ==, expected[rank]);
  g_ptr_array_remove_range (list, 0, 2);   /* an accelerator and a GPU left */
  g_assert_cmpuint (drmad_device_default_index (list, 1), ==, 1);
  g_ptr_array_remove_index (list, 1);      /* only an accelerator: any device */
  g_assert_cmpuint (drmad_device_default_index (list, 5), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/device/list", test_list);
  g_test_add_func ("/device/choose", test_choose);
  g_test_add_func ("/device/default-index", test_default_index);
  g_test_add_func ("/device/accounting", test_accounting);
  g_test_add_func ("/device/first-use-in-threads", test_first_use_in_threads);
  g_test_add_func ("/device/prepare-environment", test_prepare_environment);
  g_test_add_func ("/device/build-failure", test_build_failure);
  g_test_add_func ("/device/program-binary", test_program_binary);
  static const GemmCase cases[] = {
    { DRMAD_PRECISION_FLOAT32, DRMAD_GEMM_HOST }, { DRMAD_PRECISION_FLOAT64, DRMAD_GEMM_HOST },
    { DRMAD_PRECISION_FLOAT32, DRMAD_GEMM_CLBLAST }, { DRMAD_PRECISION_FLOAT64, DRMAD_GEMM_CLBLAST },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *path = g_strdup_printf ("/device/gemm/%s/%s", drmad_gemm_path_name (cases[i].path),
                                             cases[i].precision ? "float64" : "float32");
    g_test_add_data_func (path, &cases[i], test_gemm);
  }
  return g_test_run ();
}
