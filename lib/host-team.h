/* The host team (lib/host-team.c): helper threads that share a fused host
 * step with the thread that runs it. */
#pragma once

#include <glib.h>

/* At most this many threads in a team, the caller's included; by default
 * as many as DRMAD_TEAM_DEFAULT, the machine's cores allowing. */
#define DRMAD_TEAM_MAX     8
#define DRMAD_TEAM_DEFAULT 2

/* The fewest rows of a minibatch per member of a step. On the 2-core Zen 5
 * (docs/benchmarks.md), with a training loop's steps on the calling thread
 * and no sleeping cascade at the barriers, 784-50-50-50-10 on two members
 * was faster than alone in every run at 20 and 25 rows each (plain and
 * DrMAD 25–37 %), and at 16 and 8 rows now faster, now twice as slow; it
 * was 32 while half the runs at 25 rows were slower than one thread. */
#define DRMAD_TEAM_MIN_ROWS 20

/* One member's part of a step: @thread of @threads (0 is the caller's). */
typedef void (*DrmadTeamWork) (const void *data, guint thread, guint threads);

/* The threads a host step may use: DRMAD_HOST_THREADS (1 … DRMAD_TEAM_MAX),
 * else the online CPUs over the MPI processes on this node (Open MPI's
 * OMPI_COMM_WORLD_LOCAL_SIZE), at most DRMAD_TEAM_DEFAULT; read once. */
guint    drmad_team_threads (void);

/* drmad_host_step_threads() (drmad-device.h) is the threads a step of a
 * batch shares: at most drmad_team_threads(), each with
 * DRMAD_TEAM_MIN_ROWS rows or more, and only while OpenBLAS runs one thread
 * per GEMM (OpenBLAS's own threads and the team's would share the cores). */

/* Runs @work (@data, t, @threads) on the caller (t = 0) and on @threads − 1
 * helpers (t = 1 …), and returns when all are done. Returns FALSE, having
 * run nothing, when @threads < 2, the team is busy with another step, or
 * not enough helper threads could be started: the caller then does the
 * work alone. */
gboolean drmad_team_run     (guint threads, DrmadTeamWork work, const void *data);

/* For tests: drmad_team_threads() gives @threads from now on (0: again
 * DRMAD_HOST_THREADS or the default); and how many times drmad_team_run()
 * has run work on a team so far. */
void     drmad_team_set_threads (guint threads);
guint    drmad_team_runs        (void);

/* Waits until all @threads members of the running step have called it
 * (nothing with @threads < 2). */
void     drmad_team_barrier (guint threads);
