/* Device arrays and GEMM dispatch (DESIGN.md "Portability and speed"):
 * CLBlast on GPUs, OpenBLAS inside an OpenCL native kernel on CPU devices so
 * that the call stays ordered on the same in-order queue without a host sync. */
#include "blas.h"

#include <cblas.h>
#include <clblast_c.h>
#include <string.h>

static void CL_CALLBACK
free_host_storage (cl_mem mem, void *host)
{
  g_aligned_free (host);
}

DrmadBuffer *
drmad_buffer_new (DrmadDevice *device, gsize n, gsize elem_size, GError **error)
{
  gsize bytes = MAX (n, 1) * elem_size;
  if (bytes / elem_size != MAX (n, 1) || bytes > device->info.max_alloc_bytes) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE,
                 "an array of %" G_GSIZE_FORMAT " numbers (%" G_GSIZE_FORMAT " bytes) exceeds the "
                 "largest allocation %s allows (%" G_GUINT64_FORMAT " bytes)",
                 n, bytes, device->info.name, device->info.max_alloc_bytes);
    return NULL;
  }
  gpointer host = NULL;
  if (device->info.native_kernels) {
    /* PoCL fills and copies in aligned chunks as if it had allocated the
     * storage itself: give it 128-byte alignment and whole 128-byte blocks. */
    gsize blocks = (bytes + 127) / 128;
    host = blocks < G_MAXSIZE / 128 ? g_aligned_alloc0 (blocks, 128, 128) : NULL;
    if (!host) {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_OUT_OF_MEMORY,
                   "no host memory for an array of %" G_GSIZE_FORMAT " bytes", bytes);
      return NULL;
    }
  }
  cl_int status;
  cl_mem mem = clCreateBuffer (device->context, CL_MEM_READ_WRITE | (host ? CL_MEM_USE_HOST_PTR : 0),
                               bytes, host, &status);
  if (!drmad_cl_check (status, "clCreateBuffer", error)) {
    g_aligned_free (host);
    return NULL;
  }
  /* Commands still queued may use the storage after drmad_buffer_free():
   * the runtime frees it once the last of them has released the buffer. */
  if (host && !drmad_cl_check (clSetMemObjectDestructorCallback (mem, free_host_storage, host),
                               "clSetMemObjectDestructorCallback", error)) {
    clReleaseMemObject (mem);
    g_aligned_free (host);
    return NULL;
  }
  DrmadBuffer *buffer = g_new0 (DrmadBuffer, 1);
  buffer->host = host;
  buffer->device = drmad_device_ref (device);
  buffer->mem = mem;
  buffer->n = n;
  buffer->elem_size = elem_size;
  drmad_device_account (device, bytes);
  return buffer;
}

void
drmad_buffer_free (DrmadBuffer *buffer)
{
  if (!buffer)
    return;
  drmad_device_account (buffer->device, -(gint64) (MAX (buffer->n, 1) * buffer->elem_size));
  clReleaseMemObject (buffer->mem);
  drmad_device_unref (buffer->device);
  g_free (buffer);
}

gboolean
drmad_buffer_write (DrmadBuffer *buffer, gsize offset_bytes, gsize bytes, const void *data, GError **error)
{
  return drmad_cl_check (clEnqueueWriteBuffer (buffer->device->queue, buffer->mem, CL_TRUE,
                                               offset_bytes, bytes, data, 0, NULL, NULL),
                         "clEnqueueWriteBuffer", error);
}

gboolean
drmad_buffer_read (DrmadBuffer *buffer, gsize offset_bytes, gsize bytes, void *data, GError **error)
{
  return drmad_cl_check (clEnqueueReadBuffer (buffer->device->queue, buffer->mem, CL_TRUE,
                                              offset_bytes, bytes, data, 0, NULL, NULL),
                         "clEnqueueReadBuffer", error);
}

gboolean
drmad_buffer_write_doubles (DrmadBuffer *buffer, gsize offset, gsize n, const double *values, GError **error)
{
  if (buffer->elem_size == sizeof (double))
    return drmad_buffer_write (buffer, offset * sizeof (double), n * sizeof (double), values, error);
  g_autofree float *floats = g_new (float, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    floats[i] = values[i];
  return drmad_buffer_write (buffer, offset * sizeof (float), n * sizeof (float), floats, error);
}

gboolean
drmad_buffer_read_doubles (DrmadBuffer *buffer, gsize offset, gsize n, double *values, GError **error)
{
  if (buffer->elem_size == sizeof (double))
    return drmad_buffer_read (buffer, offset * sizeof (double), n * sizeof (double), values, error);
  g_autofree float *floats = g_new (float, MAX (n, 1));
  if (!drmad_buffer_read (buffer, offset * sizeof (float), n * sizeof (float), floats, error))
    return FALSE;
  for (gsize i = 0; i < n; i++)
    values[i] = floats[i];
  return TRUE;
}

gboolean
drmad_buffer_zero (DrmadBuffer *buffer, GError **error)
{
  static const guint64 zero = 0;
  return drmad_cl_check (clEnqueueFillBuffer (buffer->device->queue, buffer->mem, &zero,
                                              buffer->elem_size, 0, buffer->n * buffer->elem_size,
                                              0, NULL, NULL),
                         "clEnqueueFillBuffer", error);
}

gboolean
drmad_buffer_copy (DrmadBuffer *dst, const DrmadBuffer *src, GError **error)
{
  g_return_val_if_fail (dst->n * dst->elem_size >= src->n * src->elem_size, FALSE);
  return drmad_cl_check (clEnqueueCopyBuffer (dst->device->queue, src->mem, dst->mem, 0, 0,
                                              src->n * src->elem_size, 0, NULL, NULL),
                         "clEnqueueCopyBuffer", error);
}

/* The native kernel's argument block, copied by the runtime; the pointers
 * are the buffers' own host storage (see DrmadBuffer). */
typedef struct {
  void  *a, *b, *c;
  gsize  a_offset, b_offset, c_offset, lda, ldb, ldc, m, n, k;
  double alpha, beta;
  int    transpose_a, transpose_b, fp64;
} HostGemmArgs;

/* OpenBLAS threads for one host GEMM: one below LARGE_GEMM_WORK
 * multiply-adds, large_gemm_threads (DRMAD_BLAS_THREADS, default 1) from
 * there. Measured on 2 cores: a second thread makes a 100×784×100 sgemm
 * 1.2–1.35× faster on its own, and made 100×100×100 no faster and the
 * 784-50-50-50-10 meta-iteration (50×784×50, 2 Mi) 20 % slower. */
#define LARGE_GEMM_WORK (4.0 * 1024 * 1024)
static gint large_gemm_threads = 1;

void
drmad_blas_set_large_threads (int threads)
{
  g_atomic_int_set (&large_gemm_threads, MAX (threads, 1));
}

int
drmad_blas_get_large_threads (void)
{
  return g_atomic_int_get (&large_gemm_threads);
}

static void CL_CALLBACK
host_gemm (void *data)
{
  const HostGemmArgs *g = data;
  int threads = (double) g->m * g->n * g->k >= LARGE_GEMM_WORK ? g_atomic_int_get (&large_gemm_threads) : 1;
  if (openblas_get_num_threads () != threads)
    openblas_set_num_threads (threads);
  enum CBLAS_TRANSPOSE ta = g->transpose_a ? CblasTrans : CblasNoTrans;
  enum CBLAS_TRANSPOSE tb = g->transpose_b ? CblasTrans : CblasNoTrans;
  if (g->fp64)
    cblas_dgemm (CblasRowMajor, ta, tb, g->m, g->n, g->k, g->alpha,
                 (double *) g->a + g->a_offset, g->lda, (double *) g->b + g->b_offset, g->ldb,
                 g->beta, (double *) g->c + g->c_offset, g->ldc);
  else
    cblas_sgemm (CblasRowMajor, ta, tb, g->m, g->n, g->k, g->alpha,
                 (float *) g->a + g->a_offset, g->lda, (float *) g->b + g->b_offset, g->ldb,
                 g->beta, (float *) g->c + g->c_offset, g->ldc);
}

gboolean
drmad_gemm (DrmadDevice *device, DrmadPrecision precision, DrmadGemmPath path,
            gboolean transpose_a, gboolean transpose_b, gsize m, gsize n, gsize k,
            double alpha, DrmadMatrix a, DrmadMatrix b, double beta, DrmadMatrix c, GError **error)
{
  if (m == 0 || n == 0)
    return TRUE;
  gboolean fp64 = precision == DRMAD_PRECISION_FLOAT64;
  if (path == DRMAD_GEMM_HOST) {
    g_return_val_if_fail (a.host && b.host && c.host, FALSE);
    HostGemmArgs args = {
      .a = a.host, .b = b.host, .c = c.host,
      .a_offset = a.offset, .b_offset = b.offset, .c_offset = c.offset,
      .lda = a.ld, .ldb = b.ld, .ldc = c.ld, .m = m, .n = n, .k = k,
      .alpha = alpha, .beta = beta,
      .transpose_a = transpose_a, .transpose_b = transpose_b, .fp64 = fp64,
    };
    return drmad_cl_check (clEnqueueNativeKernel (device->queue, host_gemm, &args, sizeof args,
                                                  0, NULL, NULL, 0, NULL, NULL),
                           "clEnqueueNativeKernel (host GEMM)", error);
  }

  CLBlastTranspose ta = transpose_a ? CLBlastTransposeYes : CLBlastTransposeNo;
  CLBlastTranspose tb = transpose_b ? CLBlastTransposeYes : CLBlastTransposeNo;
  CLBlastStatusCode status = fp64
    ? CLBlastDgemm (CLBlastLayoutRowMajor, ta, tb, m, n, k, alpha, a.mem, a.offset, a.ld,
                    b.mem, b.offset, b.ld, beta, c.mem, c.offset, c.ld, &device->queue, NULL)
    : CLBlastSgemm (CLBlastLayoutRowMajor, ta, tb, m, n, k, (float) alpha, a.mem, a.offset, a.ld,
                    b.mem, b.offset, b.ld, (float) beta, c.mem, c.offset, c.ld, &device->queue, NULL);
  if (status != CLBlastSuccess) {
    g_set_error (error, DRMAD_ERROR,
                 status == CLBlastOpenCLOutOfResources || status == CLBlastOpenCLOutOfHostMemory
                 ? DRMAD_ERROR_OUT_OF_MEMORY : DRMAD_ERROR_OPENCL,
                 "CLBlast %cgemm (%" G_GSIZE_FORMAT "×%" G_GSIZE_FORMAT "×%" G_GSIZE_FORMAT
                 ") failed with status %d", fp64 ? 'D' : 'S', m, n, k, (int) status);
    return FALSE;
  }
  return TRUE;
}

DrmadLaunch
drmad_launch_begin (cl_kernel kernel, DrmadPrecision precision)
{
  return (DrmadLaunch) { .kernel = kernel, .precision = precision };
}

static void
launch_arg (DrmadLaunch *launch, gsize size, const void *value)
{
  cl_int status = clSetKernelArg (launch->kernel, launch->next++, size, value);
  if (launch->status == CL_SUCCESS)
    launch->status = status;
}

void drmad_launch_mem (DrmadLaunch *launch, cl_mem mem) { launch_arg (launch, sizeof mem, &mem); }
void drmad_launch_uint (DrmadLaunch *launch, guint32 value) { launch_arg (launch, sizeof value, &value); }
void drmad_launch_ulong (DrmadLaunch *launch, guint64 value) { launch_arg (launch, sizeof value, &value); }

void
drmad_launch_real (DrmadLaunch *launch, double value)
{
  if (launch->precision == DRMAD_PRECISION_FLOAT64) {
    launch_arg (launch, sizeof value, &value);
  } else {
    float single = value;
    launch_arg (launch, sizeof single, &single);
  }
}

gboolean
drmad_launch_run (DrmadLaunch *launch, DrmadDevice *device, guint dims,
                  const gsize *global, const gsize *local, GError **error)
{
  if (launch->status != CL_SUCCESS) {
    char name[128] = "";
    clGetKernelInfo (launch->kernel, CL_KERNEL_FUNCTION_NAME, sizeof name - 1, name, NULL);
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_OPENCL, "setting the arguments of kernel %s failed: %s",
                 name, drmad_cl_status_name (launch->status));
    return FALSE;
  }
  gsize rounded[3];
  for (guint d = 0; d < dims; d++) {
    if (global[d] == 0)
      return TRUE;
    rounded[d] = (global[d] + local[d] - 1) / local[d] * local[d];
  }
  return drmad_cl_check (clEnqueueNDRangeKernel (device->queue, launch->kernel, dims, NULL,
                                                 rounded, local, 0, NULL, NULL),
                         "clEnqueueNDRangeKernel", error);
}
