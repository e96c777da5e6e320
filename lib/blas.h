/* Internal: device arrays, GEMM dispatch, and kernel launches. */
#pragma once

#include "device-private.h"

/* For the enum types and the prototypes the table below copies; nothing in
 * the library or its programs links OpenBLAS (lib/blas.c, top). */
#include <cblas.h>

/* A device array of @n numbers of one precision, counted in the device's
 * memory accounting. On devices that run native kernels the storage is host
 * memory the library owns (CL_MEM_USE_HOST_PTR, zero-copy on CPU devices), so
 * that host BLAS can be handed plain pointers: PoCL 3.1's own cl_mem →
 * pointer replacement for native kernels returns wrong pointers when several
 * buffers are passed. */
typedef struct {
  DrmadDevice   *device;
  cl_mem         mem;
  gpointer       host;   /* the storage, or NULL when the device owns it */
  gsize          n;
  gsize          elem_size;
} DrmadBuffer;

DrmadBuffer *drmad_buffer_new   (DrmadDevice *device, gsize n, gsize elem_size, GError **error);
void         drmad_buffer_free  (DrmadBuffer *buffer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DrmadBuffer, drmad_buffer_free)
/* @count arrays of @n numbers each (a GPtrArray that frees them), on one
 * host allocation on devices that run native kernels: one mapping and its
 * 2 MiB pages instead of a mapping, 4 KiB page faults and an unmapping per
 * array (the exact method's thousands of stored states). Once the last of
 * them is freed, the device keeps that mapping for a later call when it is
 * 64 MiB or more (a few, the largest; lib/blas.c): unlike
 * drmad_buffer_new()'s, the arrays do not start zero but may hold what
 * earlier ones left. NULL with @error set on failure. */
GPtrArray   *drmad_buffers_new  (DrmadDevice *device, guint count, gsize n, gsize elem_size, GError **error);

/* Host doubles ↔ device reals (float or double by @buffer->elem_size); blocking. */
gboolean drmad_buffer_write_doubles (DrmadBuffer *buffer, gsize offset, gsize n, const double *values, GError **error);
gboolean drmad_buffer_read_doubles  (DrmadBuffer *buffer, gsize offset, gsize n, double *values, GError **error);
/* Raw bytes; blocking. */
gboolean drmad_buffer_write (DrmadBuffer *buffer, gsize offset_bytes, gsize bytes, const void *data, GError **error);
gboolean drmad_buffer_read  (DrmadBuffer *buffer, gsize offset_bytes, gsize bytes, void *data, GError **error);
gboolean drmad_buffer_zero  (DrmadBuffer *buffer, GError **error);
gboolean drmad_buffer_copy  (DrmadBuffer *dst, const DrmadBuffer *src, GError **error);

/* Row-major C = alpha·op(A)·op(B) + beta·C with element offsets, enqueued on
 * the device's queue through @path (never AUTO). */
typedef struct {
  cl_mem   mem;
  gpointer host;    /* the buffer's host storage, needed by the host path */
  gsize    offset;  /* elements */
  gsize  ld;      /* leading dimension, elements */
} DrmadMatrix;

/* OpenBLAS, loaded at run time the first time a host GEMM or a BLAS query
 * needs it, after its kernel core was chosen (lib/blas.c, top). Every call
 * into OpenBLAS in the library, the tests and the benchmarks goes through
 * this table, so that nothing loads OpenBLAS earlier. */
typedef struct {
  __typeof__ (cblas_sgemm)              *sgemm;
  __typeof__ (cblas_dgemm)              *dgemm;
  __typeof__ (openblas_set_num_threads) *set_num_threads;
  __typeof__ (openblas_get_num_threads) *get_num_threads;
  __typeof__ (openblas_get_num_procs)   *get_num_procs;
  __typeof__ (openblas_get_corename)    *get_corename;
  __typeof__ (openblas_get_config)      *get_config;
  gboolean small_kernels;   /* sgemm up to 100³ multiply-adds runs small-matrix kernels (lib/blas.c,
                             * drmad_blas_host_gemm) */
} DrmadOpenblas;

/* The loaded library; NULL with %DRMAD_ERROR_NOT_FOUND naming the file and
 * the Debian package when it cannot be loaded. Thread-safe; the first call
 * loads it (and logs once when its core is older than the CPU allows). */
const DrmadOpenblas *drmad_openblas (GError **error);

/* From drmad_prepare_environment(): sets OPENBLAS_CORETYPE from the CPU's
 * features, unless the user set it, while the process has one thread. */
void drmad_blas_prepare_environment (void);

/* OpenBLAS threads for host GEMMs of at least 4 Mi multiply-adds (smaller
 * ones use one); process-wide, as OpenBLAS's own setting is. */
void drmad_blas_set_large_threads (int threads);
int  drmad_blas_get_large_threads (void);

/* Up to this many multiply-adds OpenBLAS's SkylakeX-class cores may take
 * their small-matrix kernels, which neither pack A and B nor clear C for
 * beta = 0 (C written at once, not read); above, drmad_blas_host_gemm()
 * clears C by a memset and asks for beta = 1, and with small_kernels splits
 * a one-thread sgemm into blocks of rows within it. */
#define DRMAD_BLAS_SMALL_WORK (100.0 * 100 * 100)

/* One OpenBLAS GEMM on host pointers, row-major, with the thread count of
 * drmad_blas_get_large_threads() for large ones; for code already running on
 * the device's thread (native kernels). */
void drmad_blas_host_gemm (const DrmadOpenblas *blas, gboolean fp64, gboolean transpose_a, gboolean transpose_b,
                           gsize m, gsize n, gsize k, double alpha, const void *a, gsize lda, const void *b,
                           gsize ldb, double beta, void *c, gsize ldc);

gboolean drmad_gemm (DrmadDevice *device, DrmadPrecision precision, DrmadGemmPath path,
                     gboolean transpose_a, gboolean transpose_b,
                     gsize m, gsize n, gsize k,
                     double alpha, DrmadMatrix a, DrmadMatrix b,
                     double beta, DrmadMatrix c, GError **error);

/* Kernel arguments and launches. */
typedef struct {
  cl_kernel      kernel;
  DrmadPrecision precision;
  guint          next;     /* next argument index */
  cl_int         status;   /* first failure while setting arguments */
} DrmadLaunch;

DrmadLaunch drmad_launch_begin (cl_kernel kernel, DrmadPrecision precision);
void drmad_launch_mem  (DrmadLaunch *launch, cl_mem mem);
void drmad_launch_uint (DrmadLaunch *launch, guint32 value);
void drmad_launch_ulong (DrmadLaunch *launch, guint64 value);
void drmad_launch_real (DrmadLaunch *launch, double value);
/* Enqueues with @global rounded up to a multiple of @local in each dimension. */
gboolean drmad_launch_run (DrmadLaunch *launch, DrmadDevice *device, guint dims,
                           const gsize *global, const gsize *local, GError **error);
