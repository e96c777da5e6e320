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

/* One OpenCL device as listed by drmad_device_list(). Each owns its strings;
 * drmad_device_info_free() frees them and the struct. */
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

/* Frees @info's strings and @info; NULL is ignored. */
void drmad_device_info_free (DrmadDeviceInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DrmadDeviceInfo, drmad_device_info_free)

/* Every device of every platform, in a stable order; elements are DrmadDeviceInfo.
 * No platform at all gives %DRMAD_ERROR_NO_PLATFORM with the package to install.
 * A new array: g_ptr_array_unref() frees it and its elements. */
GPtrArray *drmad_device_list (GError **error);

/* The list index of the @nth device (counting from 0, modulo their number)
 * of the kind an empty --device picks: GPUs when @list has any, else CPUs,
 * else any device. With @nth 0 it is the default device; several processes
 * on one machine (MPI ranks) take one each with their local rank. @list
 * must not be empty. */
guint drmad_device_default_index (GPtrArray *list, guint nth);

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
 * It also sets OPENBLAS_CORETYPE, unless the user set it, to the kernels for
 * the widest instruction set the CPU supports (x86-64: SkylakeX for
 * AVX-512, Zen or Haswell for AVX2, Sandybridge for AVX), so that OpenBLAS,
 * loaded later, never runs older kernels than the CPU allows (see
 * drmad_blas_get_info()). Unless the user set OPENBLAS_NUM_THREADS,
 * GOTO_NUM_THREADS or OMP_NUM_THREADS, it sets OPENBLAS_NUM_THREADS to the
 * threads the large GEMMs use ($DRMAD_BLAS_THREADS, default 1), so that
 * OpenBLAS starts no more (each maps a 128 MiB buffer); without this call
 * the library sets it when it loads OpenBLAS, from whichever thread.
 * And, unless $MALLOC_MMAP_THRESHOLD_ is set, it fixes glibc's mmap
 * threshold at 1 MiB: glibc otherwise raises the threshold to the size of
 * each large block freed (up to 32 MiB; the data's, while loading), after
 * which the reverse pass's multi-megabyte work arrays land in the heap
 * between short-lived blocks, and the heap's freed holes stay resident
 * (7 MiB more peak RSS in a default run, more with more meta-iterations).
 * Not lower: OpenBLAS allocates a 528 KB job table for each threaded GEMM
 * (Debian's build, 64 CPUs at most), which would then be mapped and
 * unmapped each time, thousands of times a meta-iteration. (Device arrays
 * of 128 KiB or more have their own mappings whatever the threshold:
 * drmad_buffer_new() in lib/blas.c.) For the same table it sets, unless
 * $MALLOC_TRIM_THRESHOLD_ is set, glibc's trim threshold to 4 MiB: at the
 * 128 KiB that a fixed mmap threshold leaves, each threaded GEMM's free of
 * the table handed its pages back to the kernel (madvise) and the next GEMM
 * faulted them in again; the madvise's TLB shoot-down across the cores took
 * 7 % of the worker thread's time in an exact hypergradient of
 * 784-100-100-10 (docs/benchmarks.md). At most 4 MiB of freed heap per
 * thread then stays resident.
 * Calling it again is harmless. Calling it later, once an OpenCL platform
 * is loaded, has no effect on that platform; and it sets environment
 * variables, which glibc does not make safe while other threads run (the
 * platform's workers and the library's own helpers are such threads once
 * a device has run work): call it before any thread starts.
 */
void drmad_prepare_environment (void);

/**
 * drmad_device_open:
 * @spec: NULL or "" for the default (the first GPU, else the first CPU device;
 *   $DRMAD_DEVICE overrides), a list index ("1"), or a case-insensitive
 *   substring of "platform name: device name".
 * Creates the context and an in-order queue. Kernels are compiled on first
 * use, once per precision, and kept.
 * Returns a new device holding one reference: drop it with
 * drmad_device_unref(). Nets, device data and trainers take references of
 * their own, so the device may be unreffed before them; the context and
 * queue go with the last reference. So do CLBlast's compiled GEMM kernels,
 * which CLBlast keeps per context for the process's life, where no other
 * device alive has run CLBlast GEMMs (else they go with the last such
 * device): a program that opens a device per job keeps none of them, and
 * a device opened afterwards compiles its own as the first one did.
 */
DrmadDevice *drmad_device_open  (const char *spec, GError **error);
DrmadDevice *drmad_device_ref   (DrmadDevice *device);  /* @device, with one more reference */
void         drmad_device_unref (DrmadDevice *device);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DrmadDevice, drmad_device_unref)

/* Belongs to @device and lives as long as it. */
const DrmadDeviceInfo *drmad_device_get_info (DrmadDevice *device);

/* The GEMM path used by nets created afterwards. AUTO resolves per device;
 * HOST on a device without native kernels gives %DRMAD_ERROR_UNSUPPORTED. */
gboolean      drmad_device_set_gemm_path (DrmadDevice *device, DrmadGemmPath path, GError **error);
DrmadGemmPath drmad_device_get_gemm_path (DrmadDevice *device);  /* never AUTO */
/* Names for settings and the command line: "auto", "clblast", "host". The
 * name function gives a static string (the first name for a value out of
 * range); the parser takes them in any case and refuses any other with
 * %DRMAD_ERROR_INVALID_ARGUMENT listing them, leaving @path untouched. */
const char   *drmad_gemm_path_name       (DrmadGemmPath path);
gboolean      drmad_gemm_path_from_name  (const char *name, DrmadGemmPath *path, GError **error);

/* Bytes of device memory the library holds now and at most since open or the last reset. */
guint64 drmad_device_get_allocated_bytes (DrmadDevice *device);
guint64 drmad_device_get_peak_bytes      (DrmadDevice *device);
void    drmad_device_reset_peak          (DrmadDevice *device);

/* On CPU devices the exact method's large stored states (each kind of 64
 * MiB or more, e.g. the 0.9 GB of 784-100-100-10 at T = 1000 with every
 * state stored) stay mapped after a hypergradient for the next one, which
 * then takes no page faults: host memory the system may reclaim under
 * pressure (MADV_FREE) but that counts in the process's RSS until it does.
 * This gives it back now; the device also does when closed. */
void    drmad_device_trim_memory         (DrmadDevice *device);

/* Waits for everything enqueued so far. A failure of the work or of the
 * wait (clFinish) is %DRMAD_ERROR_OPENCL, or %DRMAD_ERROR_OUT_OF_MEMORY where
 * the device or host ran out of memory; the message names the OpenCL status. */
gboolean drmad_device_finish (DrmadDevice *device, GError **error);

/* The host BLAS (OpenBLAS), which runs the GEMMs of CPU devices. The
 * library loads it at run time, the first time it is needed, after choosing
 * its kernel core from the CPU's features (OPENBLAS_CORETYPE, unless the
 * user set it); $DRMAD_OPENBLAS names another file to load instead of
 * libopenblas.so.0. */
typedef enum {
  DRMAD_BLAS_CHOSEN_BY_OPENBLAS,  /* OpenBLAS's own detection */
  DRMAD_BLAS_CHOSEN_BY_DRMAD,     /* OPENBLAS_CORETYPE set by the library from the CPU's features */
  DRMAD_BLAS_CHOSEN_BY_USER,      /* OPENBLAS_CORETYPE set before the library loaded OpenBLAS */
} DrmadBlasChooser;

typedef struct {
  const char      *library;       /* the file loaded: "libopenblas.so.0" */
  const char      *version;       /* "OpenBLAS 0.3.21" */
  const char      *config;        /* openblas_get_config(): version and build options */
  const char      *core;          /* openblas_get_corename(): the kernels in use, e.g. "Zen" */
  const char      *core_isa;      /* the widest instruction set those kernels use:
                                   * "avx512", "avx2", "avx", "sse", or "unknown" */
  const char      *cpu_isa;       /* the widest this CPU and OS support, same words ("unknown" off x86-64) */
  const char      *cpu_features;  /* the features it was judged by that the CPU has: "sse3 avx fma avx2" */
  const char      *cpu_model;     /* the CPU's brand string, "" where unknown */
  DrmadBlasChooser chosen_by;
  gboolean         core_older_than_cpu;  /* core_isa below cpu_isa: GEMMs slower (1.5–4×) */
  const char      *warning;       /* when core_older_than_cpu, why and what would fix it; else NULL */
} DrmadBlasInfo;

/**
 * drmad_blas_get_info:
 * Loads OpenBLAS if it is not loaded yet and describes it. The struct and
 * its strings belong to the library and live as long as the process: never
 * free them. When OpenBLAS cannot be loaded: NULL and
 * %DRMAD_ERROR_NOT_FOUND naming the file and the Debian package. When the
 * core is older than the CPU allows, the library has said so once through
 * GLib's log (domain "drmad"): a warning, or a message when the user chose
 * the core (unless drmad_blas_set_notice (FALSE) came first).
 */
const DrmadBlasInfo *drmad_blas_get_info (GError **error);
/* Whether the library logs the warning of a core older than the CPU allows
 * when it loads OpenBLAS (drmad_blas_get_info()); TRUE by default. Called
 * before that, FALSE leaves the warning in DrmadBlasInfo alone: for a
 * process of several that share a terminal (each would say the same line),
 * all but one. */
void drmad_blas_set_notice (gboolean say);
/* "OpenBLAS", "drmad", "the user (OPENBLAS_CORETYPE)": static strings. */
const char *drmad_blas_chooser_name (DrmadBlasChooser chooser);
/* One line: version, file, core and its instruction set, who chose it, the
 * CPU and its features: what the programs print after "BLAS: ". A new
 * string: g_free() it. */
char *drmad_blas_info_describe (const DrmadBlasInfo *info);

/* The threads that may share each training and reverse step of a net with
 * @batch rows on a CPU device's fused host path (DRMAD_HOST_THREADS, by
 * default the online CPUs up to 2; at least 20 rows each; 1 while
 * DRMAD_BLAS_THREADS > 1). The results are the same on any number: exactly
 * on drmad's own GEMM kernels (below), to the last bits on OpenBLAS's
 * (drmad.h, "Threads"). On drmad's own kernels, with DRMAD_HOST_THREADS
 * unset, a step runs on them or alone by which timed faster lately
 * (docs/architecture.md, "The host step"). */
guint drmad_host_step_threads (guint batch);

/* The kernels of the fused host step's single-precision GEMMs: "avx512"
 * or "avx2" (drmad's own, chosen by the CPU's instruction set, not by the
 * BLAS's core; both give the same numbers, which do not depend on the
 * threads that share a step) or NULL: the BLAS (a CPU without AVX2 and
 * FMA, or DRMAD_SMALL_GEMM=0). DRMAD_SMALL_GEMM=avx2 asks for the AVX2
 * ones on an AVX-512 CPU. Double precision always runs on the BLAS. A
 * static string. */
const char *drmad_host_step_gemm_kernels (void);

G_END_DECLS
