/* drmad_prepare_environment (drmad-device.h): the environment a process sets
 * before its first thread and its first OpenCL or BLAS call. It sits apart
 * from device.c and blas.c so that neither needs the other. */
#include "device-private.h"
#include "blas.h"

#include <errno.h>
#include <malloc.h>
#include <string.h>
#include <unistd.h>

void
drmad_prepare_environment (void)
{
  g_setenv ("POCL_MAX_PTHREAD_COUNT", "1", FALSE);
  /* PoCL compiles kernels into a cache ($POCL_CACHE_DIR, else
   * $XDG_CACHE_HOME/pocl or ~/.cache/pocl); when that cannot be written,
   * every kernel build fails with no cause given ("no device", "kernels
   * failed to build"). Say so once, and what to set. */
  const char *cache = g_getenv ("POCL_CACHE_DIR");
  g_autofree char *fallback = g_build_filename (g_get_user_cache_dir (), "pocl", NULL);
  const char *folder = cache && *cache ? cache : fallback;
  if (g_mkdir_with_parents (folder, 0755) != 0 || access (folder, W_OK | X_OK) != 0)
    g_warning ("the OpenCL kernel cache %s cannot be written (%s): kernels will fail to build; set POCL_CACHE_DIR "
               "to a writable folder", folder, g_file_test (folder, G_FILE_TEST_EXISTS)
               && !g_file_test (folder, G_FILE_TEST_IS_DIR) ? "it is not a folder" : g_strerror (errno));
  /* Blocks of 1 MiB or more each in their own mapping, returned when freed:
   * no raising of the threshold, so no heap holes left resident
   * (drmad-device.h). */
  if (!g_getenv ("MALLOC_MMAP_THRESHOLD_"))
    mallopt (M_MMAP_THRESHOLD, 1024 * 1024);
  /* A fixed threshold leaves glibc's trim threshold at 128 KiB: each free of
   * OpenBLAS's 528 KB job table at the top of PoCL's worker's heap then gave
   * the pages back (madvise) and took them again, a TLB shoot-down across
   * the cores each threaded GEMM (drmad-device.h). */
  if (!g_getenv ("MALLOC_TRIM_THRESHOLD_"))
    mallopt (M_TRIM_THRESHOLD, 4 * 1024 * 1024);
  /* OPENBLAS_CORETYPE, before OpenBLAS is loaded (lib/blas.c, top). */
  drmad_blas_prepare_environment ();
}
