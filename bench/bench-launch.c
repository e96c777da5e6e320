/* bench-launch: what one command costs on the device's queue, the figure
 * behind the fused host step (lib/net-host.c, docs/architecture.md).
 *
 *   POCL_CACHE_DIR=build/pocl-cache ./build/bench/bench-launch [--count N] [--device SPEC]
 *
 * For an empty native kernel (what a host GEMM or a fused step is) and a
 * one-work-item kernel of kernels/nn.cl (`accumulate` over no values), it
 * times N commands queued back to back and then waited for once
 * ("queued"), and N commands each waited for ("waited": the host wakes the
 * device's worker and sleeps until it is done). Then it prints what a
 * training step of each of the two nets of issue 12 spends on commands
 * alone, with a launch per stage (the kernels) and fused (one native kernel),
 * as a share of the step's GEMMs timed here with the library's host GEMM
 * (one OpenBLAS thread). */
#include "net-private.h"
#include "drmad.h"

#include <stdio.h>

static void CL_CALLBACK
nothing (void *data)
{
  (void) data;
}

/* µs per command: @count commands, then one clFinish (or one after each). */
static double
time_commands (DrmadDevice *device, cl_kernel kernel, DrmadBuffer *acc, guint count, gboolean wait_each,
               GError **error)
{
  int arg = 0;
  gint64 start = g_get_monotonic_time ();
  for (guint i = 0; i < count; i++) {
    if (kernel) {
      DrmadLaunch launch = drmad_launch_begin (kernel, DRMAD_PRECISION_FLOAT32);
      drmad_launch_mem (&launch, acc->mem);
      drmad_launch_uint (&launch, 0);
      drmad_launch_mem (&launch, acc->mem);
      drmad_launch_uint (&launch, 0);
      if (!drmad_launch_run (&launch, device, 1, (gsize[]){ 1 }, (gsize[]){ 1 }, error))
        return -1;
    } else if (!drmad_cl_check (clEnqueueNativeKernel (device->queue, nothing, &arg, sizeof arg, 0, NULL, NULL,
                                                       0, NULL, NULL), "clEnqueueNativeKernel", error))
      return -1;
    if (wait_each && !drmad_cl_check (clFinish (device->queue), "clFinish", error))
      return -1;
  }
  if (!drmad_cl_check (clFinish (device->queue), "clFinish", error))
    return -1;
  return (double) (g_get_monotonic_time () - start) / count;
}

/* µs of the GEMMs of one training step of @sizes at @batch, host OpenBLAS, one thread. */
static double
step_gemms_us (const guint *sizes, guint n_sizes, guint batch, GError **error)
{
  const DrmadOpenblas *blas = drmad_openblas (error);
  if (!blas)
    return -1;
  gsize most = 0;
  for (guint l = 0; l < n_sizes; l++)
    most = MAX (most, (gsize) sizes[l]);
  g_autofree float *a = g_new0 (float, MAX (most * most, batch * most));
  g_autofree float *b = g_new0 (float, MAX (most * most, batch * most));
  g_autofree float *c = g_new0 (float, MAX (most * most, batch * most));
  double best = G_MAXDOUBLE;
  for (guint round = 0; round < 20; round++) {
    gint64 start = g_get_monotonic_time ();
    for (guint l = 1; l < n_sizes; l++) {
      gsize in = sizes[l - 1], out = sizes[l];
      drmad_blas_host_gemm (blas, FALSE, FALSE, FALSE, batch, out, in, 1, a, in, b, out, 0, c, out);
      drmad_blas_host_gemm (blas, FALSE, TRUE, FALSE, in, out, batch, 1, a, in, b, out, 0, c, out);
      if (l > 1)
        drmad_blas_host_gemm (blas, FALSE, FALSE, TRUE, batch, in, out, 1, a, out, b, out, 0, c, in);
    }
    best = MIN (best, (double) (g_get_monotonic_time () - start));
  }
  return best;
}

int
main (int argc, char **argv)
{
  drmad_prepare_environment ();
  guint count = 20000;
  g_autofree char *device_spec = NULL;
  GOptionEntry entries[] = {
    { "count", 'n', 0, G_OPTION_ARG_INT, &count, "Commands per measurement (default 20000)", "N" },
    { "device", 'd', 0, G_OPTION_ARG_STRING, &device_spec, "OpenCL device: index or part of its name", "SPEC" },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- the cost of one command on the device's queue");
  g_option_context_add_main_entries (context, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (context, &argc, &argv, &error) || count == 0) {
    fprintf (stderr, "bench-launch: %s\n", error ? error->message : "--count must be at least 1");
    return 2;
  }
  g_autoptr (DrmadDevice) device = drmad_device_open (device_spec, &error);
  cl_kernel kernel = device ? drmad_device_create_kernel (device, DRMAD_PRECISION_FLOAT32, "accumulate", &error) : NULL;
  g_autoptr (DrmadBuffer) acc = kernel ? drmad_buffer_new (device, 4, sizeof (float), &error) : NULL;
  if (!acc) {
    fprintf (stderr, "bench-launch: %s\n", error->message);
    return 1;
  }
  const DrmadDeviceInfo *info = drmad_device_get_info (device);
  printf ("device: %s: %s; %u commands per figure\n", info->platform_name, info->name, count);
  gboolean native = info->native_kernels;
  double native_queued = native ? time_commands (device, NULL, acc, count, FALSE, &error) : 0;
  double native_waited = native ? time_commands (device, NULL, acc, count / 10 + 1, TRUE, &error) : 0;
  double kernel_queued = time_commands (device, kernel, acc, count, FALSE, &error);
  double kernel_waited = time_commands (device, kernel, acc, count / 10 + 1, TRUE, &error);
  clReleaseKernel (kernel);
  if (native_queued < 0 || native_waited < 0 || kernel_queued < 0 || kernel_waited < 0) {
    fprintf (stderr, "bench-launch: %s\n", error->message);
    return 1;
  }
  printf ("%-28s %12s %12s\n", "command", "queued us", "waited us");
  if (native)
    printf ("%-28s %12.2f %12.2f\n", "empty native kernel", native_queued, native_waited);
  printf ("%-28s %12.2f %12.2f\n", "kernel, one work-item", kernel_queued, kernel_waited);

  /* Commands of one training step, a launch per stage (lib/net.c): sample,
   * gather, L × (GEMM, bias_act), softmax, accumulate, L × (GEMM, column
   * sums), (L − 1) × (GEMM, act_backward), the update; GEMMs are native
   * kernels, the rest kernels. Fused: one native kernel. */
  static const guint net_a[] = { 784, 100, 100, 10 }, net_b[] = { 784, 50, 50, 50, 10 };
  struct { const guint *sizes; guint n, batch; const char *name; } nets[] = {
    { net_a, G_N_ELEMENTS (net_a), 100, "784-100-100-10, batch 100" },
    { net_b, G_N_ELEMENTS (net_b), 50, "784-50-50-50-10, batch 50" },
  };
  printf ("\ncommands of one training step (queued), against the step's GEMMs (host OpenBLAS, 1 thread):\n");
  for (guint i = 0; i < G_N_ELEMENTS (nets); i++) {
    guint L = nets[i].n - 1;
    guint gemms = L + L + (L - 1), kernels = 2 + L + 2 + L + (L - 1) + 1;
    double per_stage = gemms * (native ? native_queued : kernel_queued) + kernels * kernel_queued;
    double gemm_us = native ? step_gemms_us (nets[i].sizes, nets[i].n, nets[i].batch, &error) : -1;
    if (native && gemm_us < 0) {
      fprintf (stderr, "bench-launch: %s\n", error->message);
      return 1;
    }
    printf ("  %-26s a launch per stage: %u commands, %.0f us", nets[i].name, gemms + kernels, per_stage);
    if (native)
      printf (" = %.2fx the GEMMs (%.0f us); fused: 1 command, %.1f us = %.3fx", per_stage / gemm_us, gemm_us,
              native_queued, native_queued / gemm_us);
    printf ("\n");
  }
  return 0;
}
