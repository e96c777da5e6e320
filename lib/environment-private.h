/* Internal: what the process's environment allows it (lib/environment.c). */
#pragma once

#include <glib.h>

/* The bytes of memory this process may still take: MemAvailable from
 * /proc/meminfo (plus SwapFree there when @with_swap), or lower, the room
 * left under the memory limit of the process's cgroup and of each cgroup
 * above it (cgroup v2: memory.max minus memory.current less inactive_file
 * of that cgroup's memory.stat; v1: memory.limit_in_bytes minus
 * memory.usage_in_bytes less total_inactive_file: the usage without the
 * page cache the kernel reclaims first, as kubelet's working set; the raw
 * usage where memory.stat cannot be read), which a container
 * (Docker, Kubernetes) or a systemd unit sets while MemAvailable still shows
 * the whole machine; without MemAvailable (a kernel before 3.14) the free
 * physical pages stand for it. G_MAXUINT64 when none is known. @bound (if set) gets
 * which of them it is, for messages: "MemAvailable in /proc/meminfo", or the
 * cgroup file with its limit and its usage; a new string to g_free().
 * Test hook (docs/reliability.md): DRMAD_INJECT_CGROUP=DIR reads
 * DIR/proc-self-cgroup for /proc/self/cgroup and DIR/sys-fs-cgroup for
 * /sys/fs/cgroup, and DIR/proc-meminfo for /proc/meminfo where that file
 * is there. */
guint64 drmad_memory_room (gboolean with_swap, char **bound);
