/* drmad: OpenCL devices. */
#pragma once

#include <glib.h>
#include "drmad-error.h"

G_BEGIN_DECLS

typedef enum {
  DRMAD_PRECISION_FLOAT32,  /* the default on every device */
  DRMAD_PRECISION_FLOAT64,  /* where the device has cl_khr_fp64 */
} DrmadPrecision;

typedef enum {
  DRMAD_GEMM_AUTO,     /* CLBlast on GPUs and accelerators, host BLAS on CPU devices with native kernels */
  DRMAD_GEMM_CLBLAST,  /* CLBlast kernels on the device */
  DRMAD_GEMM_HOST,     /* OpenBLAS called from an OpenCL native kernel on the same queue (CPU devices) */
} DrmadGemmPath;

/* One OpenCL device as listed by drmad_device_list(). */
typedef struct {
  guint    index;            /* position in the list: what --device N selects */
  char    *platform_name;
  char    *name;
  char    *type;             /* "GPU", "CPU", "accelerator", "other" */
  guint    compute_units;
  guint64  global_mem_bytes;
  guint64  max_alloc_bytes;
  gboolean fp64;
  gboolean native_kernels;   /* can run host functions on its queue */
} DrmadDeviceInfo;

void drmad_device_info_free (DrmadDeviceInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DrmadDeviceInfo, drmad_device_info_free)

/* Every device of every platform, in a stable order; elements are DrmadDeviceInfo.
 * No platform at all gives %DRMAD_ERROR_NO_PLATFORM with the package to install. */
GPtrArray *drmad_device_list (GError **error);

typedef struct _DrmadDevice DrmadDevice;

/**
 * drmad_prepare_environment:
 * Call first thing in main(), before any other thread starts and before any
 * OpenCL call. Sets, only where unset, the environment that CPU OpenCL
 * platforms run the library's many small commands fastest with:
 * POCL_MAX_PTHREAD_COUNT=1. PoCL's pthread device wakes all its worker threads
 * for every command of an in-order queue and all but one go back to sleep;
 * with one worker a DrMAD meta-iteration of 784-100-100-10 at T = 1000 took
 * 15–20 % less time on 2 cores (docs/benchmarks.md). GEMMs are unaffected:
 * OpenBLAS keeps its own threads. GPU platforms ignore the variable.
 * Calling it later is harmless but has no effect on a platform already loaded.
 */
void drmad_prepare_environment (void);

/**
 * drmad_device_open:
 * @spec: NULL or "" for the default (the first GPU, else the first CPU device;
 *   $DRMAD_DEVICE overrides), a list index ("1"), or a case-insensitive
 *   substring of "platform name: device name".
 * Creates the context and an in-order queue. Kernels are compiled on first
 * use, once per precision, and kept.
 */
DrmadDevice *drmad_device_open  (const char *spec, GError **error);
DrmadDevice *drmad_device_ref   (DrmadDevice *device);
void         drmad_device_unref (DrmadDevice *device);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DrmadDevice, drmad_device_unref)

const DrmadDeviceInfo *drmad_device_get_info (DrmadDevice *device);

/* The GEMM path used by nets created afterwards. AUTO resolves per device;
 * HOST on a device without native kernels gives %DRMAD_ERROR_UNSUPPORTED. */
gboolean      drmad_device_set_gemm_path (DrmadDevice *device, DrmadGemmPath path, GError **error);
DrmadGemmPath drmad_device_get_gemm_path (DrmadDevice *device);  /* never AUTO */
const char   *drmad_gemm_path_name       (DrmadGemmPath path);
gboolean      drmad_gemm_path_from_name  (const char *name, DrmadGemmPath *path, GError **error);

/* Bytes of device memory the library holds now and at most since open or the last reset. */
guint64 drmad_device_get_allocated_bytes (DrmadDevice *device);
guint64 drmad_device_get_peak_bytes      (DrmadDevice *device);
void    drmad_device_reset_peak          (DrmadDevice *device);

/* Waits for everything enqueued so far. */
gboolean drmad_device_finish (DrmadDevice *device, GError **error);

G_END_DECLS
