/* drmad_prepare_environment (drmad-device.h): the environment a process sets
 * before its first thread and its first OpenCL or BLAS call. It sits apart
 * from device.c and blas.c so that neither needs the other. */
#include "device-private.h"
#include "environment-private.h"
#include "blas.h"

#include <errno.h>
#include <fcntl.h>
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
  /* AT_EACCESS: for the user PoCL writes as, with its capabilities; access()
   * asked for the real user and warned a service given CAP_DAC_OVERRIDE. */
  if (g_mkdir_with_parents (folder, 0755) != 0 || faccessat (AT_FDCWD, folder, W_OK | X_OK, AT_EACCESS) != 0)
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

/* A number from the first line of @path ("max", a missing or unreadable
 * file: FALSE). */
static gboolean
read_cgroup_number (const char *path, guint64 *value)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return FALSE;
  g_strstrip (text);
  return g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT64, value, NULL);
}

/* The value of the line "@key N" of the memory.stat file @path; FALSE
 * where it cannot be read or has no such line. */
static gboolean
read_memory_stat (const char *path, const char *key, guint64 *value)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return FALSE;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  gsize length = strlen (key);
  for (guint i = 0; lines[i]; i++)
    if (strncmp (lines[i], key, length) == 0 && lines[i][length] == ' ')
      return g_ascii_string_to_unsigned (g_strstrip (lines[i] + length), 10, 0, G_MAXUINT64, value, NULL);
  return FALSE;
}

/* The least room under the limits of the cgroup @relative (a path of
 * /proc/self/cgroup) and its ancestors, in the hierarchy mounted at
 * @mount, whose files are @limit_file and @usage_file; the bound's text in
 * @bound when one is found below @room. The usage counts the page cache,
 * which the kernel reclaims before it kills: a long-lived container sits
 * near its limit with cache (writing a 300 MB file took a v1 usage from
 * 71 MB to 394 MB while MemAvailable moved by 5 MB), so the inactive file
 * pages, @stat_key of the level's memory.stat, are taken off it as
 * kubelet's working set does; where memory.stat cannot be read, the raw
 * usage. A cgroup whose folder is not there (a container that mounts its
 * own cgroup as the root) is passed over, and the root is read like the
 * others. */
static void
cgroup_room (const char *mount, const char *relative, const char *limit_file, const char *usage_file,
             const char *stat_key, guint64 *room, char **bound)
{
  g_autofree char *folder = g_build_filename (mount, relative, NULL);
  g_autofree char *root = g_canonicalize_filename (mount, NULL);
  for (char *at = g_canonicalize_filename (folder, NULL); at;) {
    g_autofree char *limit_path = g_build_filename (at, limit_file, NULL);
    g_autofree char *usage_path = g_build_filename (at, usage_file, NULL);
    g_autofree char *stat_path = g_build_filename (at, "memory.stat", NULL);
    guint64 limit, usage, inactive;
    /* Only what can lower the room is read: a v1 level without a limit
     * (PAGE_COUNTER_MAX pages, 9223372036854771712 bytes with 4 KiB pages;
     * v2 says "max", which read_cgroup_number() refuses) is passed over, and
     * memory.stat, whose cache only adds room, is read where the raw usage
     * leaves less than the room found so far. Each checkpoint read and
     * write, each optimiser and each θ asks (docs/reliability.md): reading
     * memory.stat and usage at every level of a v1 container was most of
     * fuzz-checkpoint's time per input, and a resume's checks paid it too. */
    if (read_cgroup_number (limit_path, &limit) && limit <= G_MAXINT64 / 2
        && read_cgroup_number (usage_path, &usage)) {
      gboolean cache = limit > usage && limit - usage >= *room ? FALSE
                       : read_memory_stat (stat_path, stat_key, &inactive);
      guint64 used = cache ? usage - MIN (inactive, usage) : usage;
      guint64 left = limit > used ? limit - used : 0;
      if (left < *room) {
        *room = left;
        g_free (*bound);
        g_autofree char *how = cache ? g_strdup_printf ("%s %" G_GUINT64_FORMAT " less %s %" G_GUINT64_FORMAT
                                                        " in memory.stat", usage_file, usage, stat_key, inactive)
                                     : g_strdup (usage_file);
        *bound = g_strdup_printf ("the room under this process's cgroup memory limit: %" G_GUINT64_FORMAT
                                  " bytes in %s, of which %" G_GUINT64_FORMAT " in use (%s)",
                                  limit, limit_path, used, how);
      }
    }
    gboolean last = strlen (at) <= strlen (root);
    char *parent = last ? NULL : g_path_get_dirname (at);
    g_free (at);
    at = parent;
  }
}

guint64
drmad_memory_room (gboolean with_swap, char **bound)
{
  guint64 room = G_MAXUINT64;
  char *text = g_strdup ("no known limit");
  const char *proc_meminfo = "/proc/meminfo";
  const char *proc_cgroup = "/proc/self/cgroup";
  const char *mount = "/sys/fs/cgroup";
#ifdef DRMAD_TEST_HOOKS
  g_autofree char *fake_meminfo = NULL, *fake_proc = NULL, *fake_mount = NULL;
  const char *fake = g_getenv ("DRMAD_INJECT_CGROUP");
  if (fake && *fake) {
    /* A test's own meminfo where it writes one: a room the machine does not have, or less than it has */
    fake_meminfo = g_build_filename (fake, "proc-meminfo", NULL);
    if (g_file_test (fake_meminfo, G_FILE_TEST_EXISTS))
      proc_meminfo = fake_meminfo;
    proc_cgroup = fake_proc = g_build_filename (fake, "proc-self-cgroup", NULL);
    mount = fake_mount = g_build_filename (fake, "sys-fs-cgroup", NULL);
  }
#endif
  g_autofree char *meminfo = NULL;
  const char *available;
  if (g_file_get_contents (proc_meminfo, &meminfo, NULL, NULL)
      && (available = strstr (meminfo, "MemAvailable:")) != NULL) {
    guint64 kib = g_ascii_strtoull (available + strlen ("MemAvailable:"), NULL, 10);
    const char *swap = with_swap ? strstr (meminfo, "SwapFree:") : NULL;
    if (swap)
      kib += g_ascii_strtoull (swap + strlen ("SwapFree:"), NULL, 10);
    room = kib * 1024;
    g_free (text);
    text = g_strdup (swap ? "MemAvailable plus SwapFree in /proc/meminfo" : "MemAvailable in /proc/meminfo");
  } else {
    long pages = sysconf (_SC_AVPHYS_PAGES), page_size = sysconf (_SC_PAGESIZE);
    if (pages > 0 && page_size > 0) {   /* a kernel before 3.14 has no MemAvailable */
      room = (guint64) pages * page_size;
      g_free (text);
      text = g_strdup ("the free physical memory");
    }
  }
  /* Lines "ID:CONTROLLERS:PATH": "0::PATH" is cgroup v2 (one hierarchy at
   * the mount), "N:…memory…:PATH" the v1 memory controller's (at
   * mount/memory); a machine may have both (hybrid). */
  g_autofree char *cgroups = NULL;
  if (g_file_get_contents (proc_cgroup, &cgroups, NULL, NULL)) {
    g_auto (GStrv) lines = g_strsplit (cgroups, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
      g_auto (GStrv) fields = g_strsplit (lines[i], ":", 3);
      if (g_strv_length (fields) != 3 || fields[2][0] != '/')
        continue;
      g_auto (GStrv) controllers = g_strsplit (fields[1], ",", -1);
      if (g_str_equal (fields[0], "0") && !*fields[1]) {
        cgroup_room (mount, fields[2], "memory.max", "memory.current", "inactive_file", &room, &text);
      } else if (g_strv_contains ((const char *const *) controllers, "memory")) {
        g_autofree char *v1 = g_build_filename (mount, "memory", NULL);
        cgroup_room (v1, fields[2], "memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file", &room,
                     &text);
      }
    }
  }
  if (bound)
    *bound = text;
  else
    g_free (text);
  return room;
}
