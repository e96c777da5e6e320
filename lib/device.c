/* OpenCL platforms and devices: listing, choice, context, queue, programs. */
#include "device-private.h"
#include "environment-private.h"
#include "drmad-kernels.h"
#include "enum-names.h"

#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#ifndef CL_PLATFORM_NOT_FOUND_KHR
#define CL_PLATFORM_NOT_FOUND_KHR -1001
#endif

const char *
drmad_cl_status_name (cl_int status)
{
  switch (status) {
#define NAME(s) case s: return #s
    NAME (CL_SUCCESS);
    NAME (CL_DEVICE_NOT_FOUND);
    NAME (CL_DEVICE_NOT_AVAILABLE);
    NAME (CL_COMPILER_NOT_AVAILABLE);
    NAME (CL_MEM_OBJECT_ALLOCATION_FAILURE);
    NAME (CL_OUT_OF_RESOURCES);
    NAME (CL_OUT_OF_HOST_MEMORY);
    NAME (CL_BUILD_PROGRAM_FAILURE);
    NAME (CL_INVALID_VALUE);
    NAME (CL_INVALID_DEVICE);
    NAME (CL_INVALID_CONTEXT);
    NAME (CL_INVALID_COMMAND_QUEUE);
    NAME (CL_INVALID_MEM_OBJECT);
    NAME (CL_INVALID_BUFFER_SIZE);
    NAME (CL_INVALID_PROGRAM_EXECUTABLE);
    NAME (CL_INVALID_KERNEL_NAME);
    NAME (CL_INVALID_KERNEL_ARGS);
    NAME (CL_INVALID_ARG_INDEX);
    NAME (CL_INVALID_ARG_SIZE);
    NAME (CL_INVALID_ARG_VALUE);
    NAME (CL_INVALID_WORK_GROUP_SIZE);
    NAME (CL_INVALID_WORK_ITEM_SIZE);
    NAME (CL_INVALID_GLOBAL_WORK_SIZE);
    NAME (CL_INVALID_OPERATION);
    NAME (CL_PLATFORM_NOT_FOUND_KHR);
#undef NAME
  default: return "unknown OpenCL status";
  }
}

gboolean
drmad_cl_check (cl_int status, const char *what, GError **error)
{
  if (status == CL_SUCCESS)
    return TRUE;
  gboolean oom = status == CL_MEM_OBJECT_ALLOCATION_FAILURE || status == CL_OUT_OF_RESOURCES
                 || status == CL_OUT_OF_HOST_MEMORY || status == CL_INVALID_BUFFER_SIZE;
  g_set_error (error, DRMAD_ERROR, oom ? DRMAD_ERROR_OUT_OF_MEMORY : DRMAD_ERROR_OPENCL,
               "%s failed: %s (%d)", what, drmad_cl_status_name (status), status);
  return FALSE;
}

gsize
drmad_precision_size (DrmadPrecision precision)
{
  return precision == DRMAD_PRECISION_FLOAT64 ? sizeof (double) : sizeof (float);
}

gboolean
drmad_precision_check (DrmadPrecision precision, GError **error)
{
  if ((guint) precision <= DRMAD_PRECISION_FLOAT64)
    return TRUE;
  g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
               "precision %d: expected a DrmadPrecision, 0 to %d (float32 or float64)",
               (int) precision, DRMAD_PRECISION_FLOAT64);
  return FALSE;
}

void
drmad_device_info_free (DrmadDeviceInfo *info)
{
  if (!info)
    return;
  g_free (info->platform_name);
  g_free (info->name);
  g_free (info->type);
  g_free (info);
}

static char *
platform_string (cl_platform_id platform, cl_platform_info what)
{
  size_t size = 0;
  if (clGetPlatformInfo (platform, what, 0, NULL, &size) != CL_SUCCESS || size == 0)
    return g_strdup ("?");
  char *text = g_malloc0 (size + 1);
  clGetPlatformInfo (platform, what, size, text, NULL);
  return g_strstrip (text);
}

static char *
device_string (cl_device_id device, cl_device_info what)
{
  size_t size = 0;
  if (clGetDeviceInfo (device, what, 0, NULL, &size) != CL_SUCCESS || size == 0)
    return g_strdup ("");
  char *text = g_malloc0 (size + 1);
  clGetDeviceInfo (device, what, size, text, NULL);
  return g_strstrip (text);
}

static void
fill_info (DrmadDeviceInfo *info, cl_platform_id platform, cl_device_id device)
{
  cl_device_type type = 0;
  cl_uint units = 0;
  cl_ulong global = 0, max_alloc = 0;
  cl_device_exec_capabilities exec = 0;
  clGetDeviceInfo (device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
  clGetDeviceInfo (device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL);
  clGetDeviceInfo (device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof global, &global, NULL);
  clGetDeviceInfo (device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof max_alloc, &max_alloc, NULL);
  clGetDeviceInfo (device, CL_DEVICE_EXECUTION_CAPABILITIES, sizeof exec, &exec, NULL);
  g_autofree char *extensions = device_string (device, CL_DEVICE_EXTENSIONS);

  info->platform_name = platform_string (platform, CL_PLATFORM_NAME);
  info->name = device_string (device, CL_DEVICE_NAME);
  info->type = g_strdup ((type & CL_DEVICE_TYPE_GPU) ? "GPU"
                         : (type & CL_DEVICE_TYPE_CPU) ? "CPU"
                         : (type & CL_DEVICE_TYPE_ACCELERATOR) ? "accelerator" : "other");
  info->compute_units = units;
  info->global_mem_bytes = global;
  info->max_alloc_bytes = max_alloc;
  info->fp64 = strstr (extensions, "cl_khr_fp64") != NULL;
  info->native_kernels = (exec & CL_EXEC_NATIVE_KERNEL) != 0;
}

/* Under an address-space limit (ulimit -v) a driver that cannot map what it
 * needs is skipped by the ICD loader, or shows no device: what to say about
 * the limit then. NULL without one. */
static char *
address_space_limit (void)
{
  struct rlimit limit;
  if (getrlimit (RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
    return NULL;
  return g_strdup_printf ("the process's address-space limit (ulimit -v, %" G_GUINT64_FORMAT " KiB) may be too "
                          "small for the driver (PoCL maps some hundreds of MB): raise it",
                          (guint64) limit.rlim_cur / 1024);
}

/* Walks every device of every platform; @visit returns FALSE to stop. */
typedef gboolean (*DeviceVisitor) (guint index, cl_platform_id, cl_device_id, gpointer);

static gboolean for_each_device_locked (DeviceVisitor visit, gpointer user_data, GError **error);

/* One walk at a time in the process: PoCL 3.1 sets its devices up on the
 * first clGetDeviceIDs, and a second thread asking meanwhile was told
 * CL_DEVICE_NOT_FOUND (drmad_device_open() from two threads at once failed
 * with %DRMAD_ERROR_NO_DEVICE, or crashed). */
static GMutex walk_lock;

static gboolean
for_each_device (DeviceVisitor visit, gpointer user_data, GError **error)
{
  g_mutex_lock (&walk_lock);
  gboolean ok = for_each_device_locked (visit, user_data, error);
  g_mutex_unlock (&walk_lock);
  return ok;
}

static gboolean
for_each_device_locked (DeviceVisitor visit, gpointer user_data, GError **error)
{
  cl_uint n_platforms = 0;
  cl_int status = clGetPlatformIDs (0, NULL, &n_platforms);
  if (status == CL_PLATFORM_NOT_FOUND_KHR || (status == CL_SUCCESS && n_platforms == 0)) {
    /* The ICD loader skips a driver it cannot load, as under an address-space
     * limit too small for it (PoCL with its LLVM maps some hundreds of MB):
     * that looks the same as no driver at all. */
    g_autofree char *limit = address_space_limit ();
    if (limit)
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_NO_PLATFORM,
                   "no OpenCL platform could be loaded: %s; or none is installed: for the CPU `apt-get install "
                   "pocl-opencl-icd` (Debian package pocl-opencl-icd), or your GPU vendor's OpenCL ICD", limit);
    else
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_NO_PLATFORM,
                   "no OpenCL platform is installed: install a driver, for the CPU "
                   "`apt-get install pocl-opencl-icd` (Debian package pocl-opencl-icd), "
                   "or your GPU vendor's OpenCL ICD");
    return FALSE;
  }
  if (!drmad_cl_check (status, "clGetPlatformIDs", error))
    return FALSE;
  g_autofree cl_platform_id *platforms = g_new0 (cl_platform_id, n_platforms);
  clGetPlatformIDs (n_platforms, platforms, NULL);
  guint index = 0;
  for (cl_uint p = 0; p < n_platforms; p++) {
    cl_uint n_devices = 0;
    if (clGetDeviceIDs (platforms[p], CL_DEVICE_TYPE_ALL, 0, NULL, &n_devices) != CL_SUCCESS)
      continue;
    g_autofree cl_device_id *devices = g_new0 (cl_device_id, n_devices);
    clGetDeviceIDs (platforms[p], CL_DEVICE_TYPE_ALL, n_devices, devices, NULL);
    for (cl_uint d = 0; d < n_devices; d++)
      if (!visit (index++, platforms[p], devices[d], user_data))
        return TRUE;
  }
  return TRUE;
}

static gboolean
collect_info (guint index, cl_platform_id platform, cl_device_id device, gpointer user_data)
{
  DrmadDeviceInfo *info = g_new0 (DrmadDeviceInfo, 1);
  info->index = index;
  fill_info (info, platform, device);
  g_ptr_array_add (user_data, info);
  return TRUE;
}

GPtrArray *
drmad_device_list (GError **error)
{
  g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) drmad_device_info_free);
  if (!for_each_device (collect_info, list, error))
    return NULL;
  if (list->len == 0) {
    g_autofree char *limit = address_space_limit ();
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_NO_DEVICE,
                 "OpenCL platforms are installed but none has a device%s%s", limit ? ": " : "", limit ? limit : "");
    return NULL;
  }
  return g_steal_pointer (&list);
}

typedef struct {
  guint          wanted;
  cl_platform_id platform;
  cl_device_id   device;
} FindByIndex;

static gboolean
find_by_index (guint index, cl_platform_id platform, cl_device_id device, gpointer user_data)
{
  FindByIndex *find = user_data;
  if (index != find->wanted)
    return TRUE;
  find->platform = platform;
  find->device = device;
  return FALSE;
}

guint
drmad_device_default_index (GPtrArray *list, guint nth)
{
  g_return_val_if_fail (list != NULL && list->len > 0, 0);
  for (const char *const *kind = (const char *const[]){ "GPU", "CPU", NULL }; *kind; kind++) {
    guint count = 0;
    for (guint i = 0; i < list->len; i++)
      count += g_str_equal (((DrmadDeviceInfo *) list->pdata[i])->type, *kind);
    for (guint i = 0, seen = 0; count && i < list->len; i++)
      if (g_str_equal (((DrmadDeviceInfo *) list->pdata[i])->type, *kind) && seen++ == nth % count)
        return i;
  }
  return nth % list->len;
}

/* Picks the list index that @spec names; NULL/"" picks the first GPU, else
 * the first CPU. @origin says where @spec came from when not from the
 * caller ("" or " (…)"), since a stale environment variable is otherwise
 * hard to spot behind a message about an option nobody gave. */
static gboolean
choose_index (const char *spec, const char *origin, GPtrArray *list, guint *chosen, GError **error)
{
  if (spec == NULL || *spec == '\0') {
    *chosen = list->len ? drmad_device_default_index (list, 0) : 0;
    return TRUE;
  }
  guint64 number;
  if (g_ascii_string_to_unsigned (spec, 10, 0, G_MAXUINT, &number, NULL)) {
    if (number < list->len) {
      *chosen = number;
      return TRUE;
    }
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_NO_DEVICE,
                 "device %s%s does not exist: there %s %u device%s, numbered 0 to %u",
                 spec, origin, list->len == 1 ? "is" : "are", list->len, list->len == 1 ? "" : "s", list->len - 1);
    return FALSE;
  }
  g_autofree char *needle = g_utf8_casefold (spec, -1);
  for (guint i = 0; i < list->len; i++) {
    DrmadDeviceInfo *info = list->pdata[i];
    g_autofree char *full = g_strdup_printf ("%s: %s", info->platform_name, info->name);
    g_autofree char *folded = g_utf8_casefold (full, -1);
    if (strstr (folded, needle)) {
      *chosen = i;
      return TRUE;
    }
  }
  g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_NO_DEVICE,
               "no OpenCL device matches \"%s\"%s: give a device's number or part of its name", spec, origin);
  return FALSE;
}


DrmadDevice *
drmad_device_open (const char *spec, GError **error)
{
  g_autoptr (GPtrArray) list = drmad_device_list (error);
  if (!list)
    return NULL;
  const char *origin = "";
  if ((spec == NULL || *spec == '\0') && g_getenv ("DRMAD_DEVICE")) {
    spec = g_getenv ("DRMAD_DEVICE");
    origin = " (from the environment variable DRMAD_DEVICE; unset it for the default device)";
  }
  guint chosen;
  if (!choose_index (spec, origin, list, &chosen, error))
    return NULL;
  FindByIndex find = { .wanted = chosen };
  if (!for_each_device (find_by_index, &find, error))
    return NULL;

  cl_int status;
  cl_context context = clCreateContext (NULL, 1, &find.device, NULL, NULL, &status);
  if (!drmad_cl_check (status, "clCreateContext", error))
    return NULL;
  cl_command_queue queue = clCreateCommandQueue (context, find.device, 0, &status);
  if (!drmad_cl_check (status, "clCreateCommandQueue", error)) {
    clReleaseContext (context);
    return NULL;
  }

  DrmadDevice *device = g_new0 (DrmadDevice, 1);
  device->ref_count = 1;
  DrmadDeviceInfo *info = list->pdata[chosen];
  device->info = *info;
  info->platform_name = info->name = info->type = NULL;  /* moved */
  device->platform = find.platform;
  device->id = find.device;
  device->context = context;
  device->queue = queue;
  g_mutex_init (&device->lock);
  device->gemm_path = device->info.native_kernels && g_str_equal (device->info.type, "CPU")
                      ? DRMAD_GEMM_HOST : DRMAD_GEMM_CLBLAST;
  return device;
}

DrmadDevice *
drmad_device_ref (DrmadDevice *device)
{
  g_atomic_int_inc (&device->ref_count);
  return device;
}

void
drmad_device_unref (DrmadDevice *device)
{
  if (!device || !g_atomic_int_dec_and_test (&device->ref_count))
    return;
  clFinish (device->queue);
  for (guint i = 0; i < G_N_ELEMENTS (device->programs); i++)
    if (device->programs[i])
      clReleaseProgram (device->programs[i]);
  clReleaseCommandQueue (device->queue);
  clReleaseContext (device->context);
  drmad_clblast_device_freed (device);
  g_free (device->info.platform_name);
  g_free (device->info.name);
  g_free (device->info.type);
  drmad_storage_pool_unref (device->storage_pool);
  g_mutex_clear (&device->lock);
  g_free (device);
}

const DrmadDeviceInfo *
drmad_device_get_info (DrmadDevice *device)
{
  return &device->info;
}

static const char *const gemm_path_names[] = { "auto", "clblast", "host" };   /* DrmadGemmPath order */
DRMAD_DEFINE_ENUM_NAMES (DrmadGemmPath, drmad_gemm_path_name, drmad_gemm_path_from_name, gemm_path_names, "GEMM path")

gboolean
drmad_device_set_gemm_path (DrmadDevice *device, DrmadGemmPath path, GError **error)
{
  if ((guint) path > DRMAD_GEMM_HOST) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "GEMM path %d: expected a DrmadGemmPath, 0 to %d (auto, clblast or host)", (int) path,
                 DRMAD_GEMM_HOST);
    return FALSE;
  }
  if (path == DRMAD_GEMM_AUTO)
    path = device->info.native_kernels && g_str_equal (device->info.type, "CPU")
           ? DRMAD_GEMM_HOST : DRMAD_GEMM_CLBLAST;
  if (path == DRMAD_GEMM_HOST && !device->info.native_kernels) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_UNSUPPORTED,
                 "GEMM path \"host\" needs a device that runs native kernels; %s does not: use CLBlast",
                 device->info.name);
    return FALSE;
  }
  device->gemm_path = path;
  return TRUE;
}

DrmadGemmPath
drmad_device_get_gemm_path (DrmadDevice *device)
{
  return device->gemm_path;
}

void
drmad_device_account (DrmadDevice *device, gint64 delta_bytes)
{
  g_mutex_lock (&device->lock);
  device->allocated_bytes += delta_bytes;
  device->peak_bytes = MAX (device->peak_bytes, device->allocated_bytes);
  g_mutex_unlock (&device->lock);
}

char *
drmad_memory_text (guint64 bytes)
{
  return g_format_size_full (bytes, G_FORMAT_SIZE_IEC_UNITS);
}

gboolean
drmad_device_shares_host_memory (DrmadDevice *device)
{
  return g_strcmp0 (device->info.type, "CPU") == 0;
}

/* drmad_device_get_free_bytes(), bounded by the host's room only where
 * @with_host_room (drmad_device_check_room_again() leaves it out). */
static guint64
device_free_bytes (DrmadDevice *device, gboolean with_host_room, char **host_bound)
{
  guint64 held = drmad_device_get_allocated_bytes (device);
  guint64 total = device->info.global_mem_bytes;
  guint64 left = total > held ? total - held : 0;
  g_autofree char *bound = NULL;
  if (with_host_room && drmad_device_shares_host_memory (device)) {
    guint64 room = drmad_memory_room (FALSE, &bound);
    if (room < left)
      left = room;
    else
      g_clear_pointer (&bound, g_free);
  }
  if (host_bound)
    *host_bound = g_steal_pointer (&bound);
  return left;
}

guint64
drmad_device_get_free_bytes (DrmadDevice *device, char **host_bound)
{
  return device_free_bytes (device, TRUE, host_bound);
}

static gboolean
check_room (DrmadDevice *device, gboolean with_host_room, guint64 bytes_needed, guint64 largest_array,
            const char *what, const char *advice, GError **error)
{
  g_autofree char *host_bound = NULL;
  guint64 left = device_free_bytes (device, with_host_room, &host_bound);
  if (bytes_needed <= left && largest_array <= device->info.max_alloc_bytes)
    return TRUE;
  g_autofree char *need = drmad_memory_text (bytes_needed);
  g_autofree char *free_text = drmad_memory_text (left);
  g_autofree char *total_text = drmad_memory_text (device->info.global_mem_bytes);
  g_autofree char *largest = drmad_memory_text (largest_array);
  g_autofree char *max_alloc = drmad_memory_text (device->info.max_alloc_bytes);
  if (largest_array > device->info.max_alloc_bytes)
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE,
                 "%s needs one array of %s, more than the largest allocation %s allows (%s): %s",
                 what, largest, device->info.name, max_alloc, advice);
  else if (host_bound)
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE,
                 "%s needs %s of device memory; %s is a CPU device, whose memory is the host's, and this process "
                 "may take %s more (%s): %s", what, need, device->info.name, free_text, host_bound, advice);
  else
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE,
                 "%s needs %s of device memory; %s has %s free of %s: %s",
                 what, need, device->info.name, free_text, total_text, advice);
  return FALSE;
}

gboolean
drmad_device_check_room (DrmadDevice *device, guint64 bytes_needed, guint64 largest_array,
                         const char *what, const char *advice, GError **error)
{
  return check_room (device, TRUE, bytes_needed, largest_array, what, advice, error);
}

gboolean
drmad_device_check_room_again (DrmadDevice *device, guint64 bytes_needed, guint64 largest_array,
                               const char *what, const char *advice, GError **error)
{
  return check_room (device, FALSE, bytes_needed, largest_array, what, advice, error);
}

guint64
drmad_device_get_allocated_bytes (DrmadDevice *device)
{
  g_mutex_lock (&device->lock);
  guint64 bytes = device->allocated_bytes;
  g_mutex_unlock (&device->lock);
  return bytes;
}

guint64
drmad_device_get_peak_bytes (DrmadDevice *device)
{
  g_mutex_lock (&device->lock);
  guint64 bytes = device->peak_bytes;
  g_mutex_unlock (&device->lock);
  return bytes;
}

void
drmad_device_trim_memory (DrmadDevice *device)
{
  g_mutex_lock (&device->lock);
  struct _DrmadStoragePool *pool = device->storage_pool;
  g_mutex_unlock (&device->lock);
  drmad_storage_pool_trim (pool);
}

void
drmad_device_raise_peak (DrmadDevice *device, guint64 bytes)
{
  g_mutex_lock (&device->lock);
  device->peak_bytes = MAX (device->peak_bytes, bytes);
  g_mutex_unlock (&device->lock);
}

void
drmad_device_begin_peak (DrmadDevice *device, guint64 *allocated, guint64 *peak)
{
  g_mutex_lock (&device->lock);
  *allocated = device->allocated_bytes;
  *peak = device->peak_bytes;
  device->peak_bytes = device->allocated_bytes;
  g_mutex_unlock (&device->lock);
}

void
drmad_device_reset_peak (DrmadDevice *device)
{
  g_mutex_lock (&device->lock);
  device->peak_bytes = device->allocated_bytes;
  g_mutex_unlock (&device->lock);
}

gboolean
drmad_device_finish (DrmadDevice *device, GError **error)
{
  return drmad_cl_check (clFinish (device->queue), "clFinish", error);
}

static char *
kernel_source (GError **error)
{
  /* Looked up among all registered resources, not in the one
   * drmad_kernels_get_resource() returns: GLib (2.74) registers static
   * resources on first use, and a second thread asking for the resource
   * meanwhile was given NULL (two devices' first nets made at once crashed
   * here); the global lookup waits for the registration. The call stays:
   * it registers the resource, and without it a static link leaves its
   * object file out. */
  (void) drmad_kernels_get_resource ();
  GString *source = g_string_new (NULL);
  for (const char *const *file = (const char *const[]){ "counter-hash.h", "nn.cl", NULL }; *file; file++) {
    g_autofree char *path = g_strconcat ("/org/drmad/kernels/", *file, NULL);
    g_autoptr (GBytes) bytes = g_resources_lookup_data (path, 0, error);
    if (!bytes) {
      g_string_free (source, TRUE);
      return NULL;
    }
    gsize size;
    const char *text = g_bytes_get_data (bytes, &size);
    g_string_append_len (source, text, size);
    g_string_append_c (source, '\n');
  }
#ifdef DRMAD_TEST_HOOKS
  /* A test hook (docs/reliability.md): what a failing build reports. */
  if (g_getenv ("DRMAD_INJECT_BUILD_FAILURE"))
    g_string_append (source, "\nthis does not compile;\n");
#endif
  return g_string_free (source, FALSE);
}

/* ---- PoCL program binaries ----
 * PoCL builds a program from source through clang even when its own cache
 * holds the result: it runs the preprocessor over the source to find the
 * entry, and that alone leaves 4 MiB more of libclang-cpp resident for the
 * rest of the process (docs/benchmarks.md, peak RSS). A program made from
 * the binary PoCL gave for the same source, options, platform, device and
 * driver skips it. The binary is kept in a drmad folder of PoCL's cache
 * ($POCL_CACHE_DIR, else ~/.cache/pocl: drmad_prepare_environment()),
 * named by a SHA-256 of all of those and headed by a SHA-256 of itself;
 * whatever does not match or does not build is ignored, and the source
 * build runs as before. Other platforms always build from source. */

#define BINARY_CHECKSUM_BYTES 32   /* SHA-256 */

static gboolean
is_pocl (const DrmadDevice *device)
{
  return g_strcmp0 (device->info.platform_name, "Portable Computing Language") == 0;
}

/* The binary's file for @source and @options on @device. */
static char *
binary_path (const DrmadDevice *device, const char *source, const char *options)
{
  g_autoptr (GChecksum) key = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree char *platform_version = platform_string (device->platform, CL_PLATFORM_VERSION);
  g_autofree char *driver_version = device_string (device->id, CL_DRIVER_VERSION);
  g_autofree char *device_version = device_string (device->id, CL_DEVICE_VERSION);
  const char *parts[] = { source, options, platform_version, device->info.name, driver_version, device_version };
  for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
    g_checksum_update (key, (const guchar *) (parts[i] ? parts[i] : ""), strlen (parts[i] ? parts[i] : "") + 1);
  const char *cache = g_getenv ("POCL_CACHE_DIR");
  g_autofree char *name = g_strconcat (g_checksum_get_string (key), ".bin", NULL);
  return cache && *cache ? g_build_filename (cache, "drmad", name, NULL)
                         : g_build_filename (g_get_user_cache_dir (), "pocl", "drmad", name, NULL);
}

static void
binary_checksum (const guint8 *data, gsize length, guint8 digest[BINARY_CHECKSUM_BYTES])
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  gsize digest_length = BINARY_CHECKSUM_BYTES;
  g_checksum_update (sum, data, length);
  g_checksum_get_digest (sum, digest, &digest_length);
}

/* The program from the binary at @path, built; NULL when there is none or it does not serve. */
static cl_program
program_from_binary (DrmadDevice *device, const char *path, const char *options)
{
  g_autofree guint8 *contents = NULL;
  gsize length = 0;
  guint8 digest[BINARY_CHECKSUM_BYTES];
  if (!g_file_get_contents (path, (char **) &contents, &length, NULL) || length <= BINARY_CHECKSUM_BYTES)
    return NULL;
  const guint8 *binary = contents + BINARY_CHECKSUM_BYTES;
  gsize binary_length = length - BINARY_CHECKSUM_BYTES;
  binary_checksum (binary, binary_length, digest);
  if (memcmp (digest, contents, BINARY_CHECKSUM_BYTES) != 0)
    return NULL;
  cl_int status = CL_SUCCESS, binary_status = CL_SUCCESS;
  cl_program program = clCreateProgramWithBinary (device->context, 1, &device->id, &binary_length, &binary,
                                                  &binary_status, &status);
  if (status != CL_SUCCESS || binary_status != CL_SUCCESS
      || clBuildProgram (program, 1, &device->id, options, NULL, NULL) != CL_SUCCESS) {
    if (program)
      clReleaseProgram (program);
    return NULL;
  }
  return program;
}

/* @program's binary to @path, for the next process; nothing when it cannot be had or written. */
static void
save_binary (DrmadDevice *device, cl_program program, const char *path)
{
  size_t size = 0;
  if (clGetProgramInfo (program, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) != CL_SUCCESS || size == 0)
    return;
  g_autofree guint8 *contents = g_try_malloc (BINARY_CHECKSUM_BYTES + size);
  unsigned char *binary = contents ? contents + BINARY_CHECKSUM_BYTES : NULL;
  if (!contents || clGetProgramInfo (program, CL_PROGRAM_BINARIES, sizeof binary, &binary, NULL) != CL_SUCCESS)
    return;
  binary_checksum (binary, size, contents);
  g_autofree char *folder = g_path_get_dirname (path);
  if (g_mkdir_with_parents (folder, 0755) == 0)
    g_file_set_contents (path, (const char *) contents, BINARY_CHECKSUM_BYTES + size, NULL);
}

static cl_program
build_program (DrmadDevice *device, DrmadPrecision precision, GError **error)
{
  if (precision == DRMAD_PRECISION_FLOAT64 && !device->info.fp64) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_UNSUPPORTED,
                 "%s has no cl_khr_fp64: float64 is not available on it (use float32)",
                 device->info.name);
    return NULL;
  }
  g_autofree char *source = kernel_source (error);
  if (!source)
    return NULL;
  const char *options = precision == DRMAD_PRECISION_FLOAT64
                        ? "-cl-std=CL1.2 -DDRMAD_FP64=1 -Dreal=double"
                        : "-cl-std=CL1.2 -Dreal=float";
  g_autofree char *binary = is_pocl (device) ? binary_path (device, source, options) : NULL;
  cl_program program = binary ? program_from_binary (device, binary, options) : NULL;
  if (program)
    return program;
  cl_int status;
  const char *text = source;
  program = clCreateProgramWithSource (device->context, 1, &text, NULL, &status);
  if (!drmad_cl_check (status, "clCreateProgramWithSource", error))
    return NULL;
  status = clBuildProgram (program, 1, &device->id, options, NULL, NULL);
  if (status != CL_SUCCESS) {
    size_t size = 0;
    clGetProgramBuildInfo (program, device->id, CL_PROGRAM_BUILD_LOG, 0, NULL, &size);
    g_autofree char *log = g_malloc0 (size + 1);
    clGetProgramBuildInfo (program, device->id, CL_PROGRAM_BUILD_LOG, size, log, NULL);
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_BUILD,
                 "the OpenCL kernels failed to build on %s (%s): %s\nbuild log:\n%s",
                 device->info.name, options, drmad_cl_status_name (status), g_strstrip (log));
    clReleaseProgram (program);
    return NULL;
  }
  if (binary)
    save_binary (device, program, binary);
  return program;
}

cl_program
drmad_device_get_program (DrmadDevice *device, DrmadPrecision precision, GError **error)
{
  g_mutex_lock (&device->lock);
  if (!device->programs[precision])
    device->programs[precision] = build_program (device, precision, error);
  cl_program program = device->programs[precision];
  g_mutex_unlock (&device->lock);
  return program;
}

cl_kernel
drmad_device_create_kernel (DrmadDevice *device, DrmadPrecision precision,
                            const char *name, GError **error)
{
  cl_program program = drmad_device_get_program (device, precision, error);
  if (!program)
    return NULL;
  cl_int status;
  cl_kernel kernel = clCreateKernel (program, name, &status);
  if (status != CL_SUCCESS) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_OPENCL, "clCreateKernel(%s) failed: %s",
                 name, drmad_cl_status_name (status));
    return NULL;
  }
  return kernel;
}
