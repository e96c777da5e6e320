/* Internal: the device struct, OpenCL status helpers and kernel programs. */
#pragma once

#include <CL/cl.h>
#include "drmad-device.h"

struct _DrmadDevice {
  gint             ref_count;
  DrmadDeviceInfo  info;
  cl_platform_id   platform;
  cl_device_id     id;
  cl_context       context;
  cl_command_queue queue;
  DrmadGemmPath    gemm_path;
  GMutex           lock;          /* guards programs and the memory counters */
  cl_program       programs[2];   /* per DrmadPrecision, built on first use */
  guint64          allocated_bytes;
  guint64          peak_bytes;
  struct _DrmadStoragePool *storage_pool;   /* lib/blas.c: drmad_buffers_new()'s large mappings, kept */
  gboolean         ran_clblast;   /* a CLBlast GEMM ran on it (lib/blas.c, drmad_clblast_device_freed; under its lock) */
};

/* Drops the device's hold on @pool (lib/blas.c); NULL is ignored. */
void drmad_storage_pool_unref (struct _DrmadStoragePool *pool);
/* Frees the mappings @pool keeps; NULL is ignored. */
void drmad_storage_pool_trim  (struct _DrmadStoragePool *pool);
/* After @device's context is released: lets CLBlast's cache go when no
 * device alive has run its GEMMs (lib/blas.c). */
void drmad_clblast_device_freed (struct _DrmadDevice *device);

const char *drmad_cl_status_name (cl_int status);

/* TRUE when @status is CL_SUCCESS; otherwise sets DRMAD_ERROR_OPENCL (or
 * OUT_OF_MEMORY) naming @what and the status. */
gboolean drmad_cl_check (cl_int status, const char *what, GError **error);

/* The kernel program for @precision, built on first use with the build log in
 * the error when it fails. The device keeps the reference. */
cl_program drmad_device_get_program (DrmadDevice *device, DrmadPrecision precision, GError **error);

/* A fresh kernel object from the program (callers own it: arguments are per object). */
cl_kernel drmad_device_create_kernel (DrmadDevice *device, DrmadPrecision precision,
                                      const char *name, GError **error);

void drmad_device_account (DrmadDevice *device, gint64 delta_bytes);
/* Raises the peak drmad_device_get_peak_bytes() reports to at least @bytes:
 * a pass that resets the peak to measure its own gives the caller's back. */
void drmad_device_raise_peak (DrmadDevice *device, guint64 bytes);
/* The bytes allocated and the peak now into @allocated and @peak, and the
 * peak reset to the bytes allocated, at one moment: another thread's free
 * between a read of the bytes and a reset made a pass's own peak (the peak
 * less those bytes) wrap below zero. */
void drmad_device_begin_peak (DrmadDevice *device, guint64 *allocated, guint64 *peak);

/* A size for a message, to g_free(), in the units --memory-budget is given
 * in (K, M, G: powers of 1024): --memory-budget 1G reads back as 1.0 GiB,
 * not 1.1 GB. Every size the library prints goes through it, so that one
 * size reads the same in every message (it read 405.0 TiB in one and
 * 445.3 TB in another). */
char *drmad_memory_text (guint64 bytes);

/* Whether @device's memory is the host's (type CPU: PoCL): what the
 * library allocates on it is this process's memory. */
gboolean drmad_device_shares_host_memory (DrmadDevice *device);

/* The device memory left for new work: its global memory less what the
 * library holds on it. On a device whose memory is the host's no more than
 * this process may still take (drmad_memory_room without swap: MemAvailable,
 * or the room under its cgroup's memory limit), which PoCL's global memory,
 * the machine's physical memory, does not know of: a container's limit
 * went unseen, and a pass that fitted the device was killed for memory.
 * That room already counts what the process holds, the library's arrays
 * among it, so they are not taken off it again. @host_bound (if set) gets
 * the host bound's text (drmad_memory_room's) where it is the lesser, else
 * NULL; a new string. */
guint64 drmad_device_get_free_bytes (DrmadDevice *device, char **host_bound);

/* Refuses, before anything is allocated, work that needs more device
 * memory than is left (drmad_device_get_free_bytes: global memory less what
 * the library holds, and on a CPU device no more than this process may
 * still take) or a single array larger than the device's largest
 * allocation. @what names the work and @advice says what to change; the
 * message gives the numbers, and which bound refused it. */
gboolean drmad_device_check_room (DrmadDevice *device, guint64 bytes_needed, guint64 largest_array,
                                  const char *what, const char *advice, GError **error);

/* drmad_device_check_room() of work that already ran in this process, a
 * meta-iteration's pass after the first: against the device's own bound
 * alone (global memory less what the library holds). The host's room moves
 * with the page cache and with what other processes take, and a run that
 * started was refused at a later meta-iteration; its first pass was checked
 * against it (docs/reliability.md). */
gboolean drmad_device_check_room_again (DrmadDevice *device, guint64 bytes_needed, guint64 largest_array,
                                        const char *what, const char *advice, GError **error);

gsize drmad_precision_size (DrmadPrecision precision);
/* FALSE and %DRMAD_ERROR_INVALID_ARGUMENT when @precision is not a DrmadPrecision. */
gboolean drmad_precision_check (DrmadPrecision precision, GError **error);
