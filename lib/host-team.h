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
 * run nothing, when @threads < 2 or over DRMAD_TEAM_MAX (what a step's job
 * word and the per-member arrays hold), the team is busy with another step, or
 * not enough helper threads could be started: the caller then does the
 * work alone. */
gboolean drmad_team_run     (guint threads, DrmadTeamWork work, const void *data);

/* For tests: drmad_team_threads() gives @threads from now on (0: again
 * DRMAD_HOST_THREADS or the default); and how many times drmad_team_run()
 * has run work on a team so far. */
void     drmad_team_set_threads (guint threads);
guint    drmad_team_runs        (void);

/* Whether the number of threads was given (DRMAD_HOST_THREADS, or
 * drmad_team_set_threads()): then a step that may share the team always
 * does, and no DrmadTeamChoice decides. */
gboolean drmad_team_threads_given (void);

/* Team or alone, by timing. Sharing a step is not always faster: with
 * another process busy on one of the two cores a 784-50-50-50-10 step at
 * batch 50 took 310 µs on the team of two against 127 alone, and on a VM
 * whose two CPUs sat far apart (a cache line's round trip 320 ns instead of
 * 55) 145 against 125 (docs/architecture.md, "The host step"). So where the
 * threads are not given, each kind of step (lib/net-host.c, host_kind)
 * keeps a DrmadTeamChoice:
 * - its steps run in the chosen mode for a while: DRMAD_TEAM_CHOICE_WARM_NS
 *   of their time untimed (a run's first steps are slow: counted, they
 *   chose alone where the team was 1.6× faster), as long again timed, then
 *   DRMAD_TEAM_CHOICE_FIRST_NS after a change and twice the last while
 *   otherwise, at most DRMAD_TEAM_CHOICE_MOST_NS (the cores' placement and
 *   the machine's load change while a run goes on, on the 2-core VM from
 *   one second to the next), and after the warm-ups at least
 *   DRMAD_TEAM_CHOICE_WHILE_STEPS steps (of 50 ms steps a 400 ms while was
 *   8 steps and each try 6: nearly half the steps ran in the mode not
 *   chosen);
 * - then they try the other mode: a step to settle the caches, then at
 *   least DRMAD_TEAM_CHOICE_STEPS steps and DRMAD_TEAM_CHOICE_TRY_NS of
 *   them for the team, DRMAD_TEAM_CHOICE_TRY_ALONE_NS alone. A try of the
 *   team spans several of the scheduler's slices: with a busy process,
 *   tries of 5 steps (half a millisecond) fell in slices where it did not
 *   run and chose the team for the slices where it did. A step alone needs
 *   no other core, and its short try costs little where the team is
 *   faster (about 1 % of the steps);
 * - the other mode is kept when its mean step is under a margin of the
 *   chosen mode's mean over its last while: the team under 0.95 of
 *   alone's, alone only under 0.67 of the team's. The team is the better
 *   default (1.3–1.6× faster on a quiet machine with the cores close);
 *   beside a busy process it was 2.4–4.3× as slow, with the cores far
 *   apart 0.9–1.5×, and there alone, kept at 0.8, made the exact method's
 *   pass slower (0.63 s against 0.47 on the team always and 0.52–0.60 one
 *   thread).
 * The numbers do not depend on the mode (drmad.h, "Threads"). All zero is
 * the state before the first step: the team chosen. */
#define DRMAD_TEAM_CHOICE_STEPS   5
#define DRMAD_TEAM_CHOICE_TRY_NS  G_GINT64_CONSTANT (10000000)
#define DRMAD_TEAM_CHOICE_TRY_ALONE_NS G_GINT64_CONSTANT (2000000)
#define DRMAD_TEAM_CHOICE_WARM_NS G_GINT64_CONSTANT (20000000)
#define DRMAD_TEAM_CHOICE_FIRST_NS G_GINT64_CONSTANT (100000000)
#define DRMAD_TEAM_CHOICE_TEAM_MARGIN  0.95
#define DRMAD_TEAM_CHOICE_ALONE_MARGIN 0.67
#define DRMAD_TEAM_CHOICE_MOST_NS G_GINT64_CONSTANT (400000000)
#define DRMAD_TEAM_CHOICE_WHILE_STEPS (8 * (DRMAD_TEAM_CHOICE_STEPS + 1))

typedef struct {
  gboolean alone;      /* the mode chosen */
  gboolean trying;     /* the steps run in the other mode, timed */
  guint    steps;      /* steps of this while or try so far */
  gint64   ns;         /* their time (of a try: but the first step's) */
  gint64   interval;   /* the chosen mode's time between tries (0: before the first) */
  guint    kept_steps; /* the chosen mode's last while: steps and ns */
  gint64   kept_ns;
} DrmadTeamChoice;

/* Whether the next step of @choice's kind should run on the team. */
gboolean drmad_team_choice_team   (const DrmadTeamChoice *choice);

/* Records a step of @choice's kind that ran for @ns nanoseconds, on the team
 * (@team) or alone; a step that did not run in the mode asked for (the team
 * was busy) is not counted. Returns TRUE when this step ended a probe and
 * changed the mode. */
gboolean drmad_team_choice_record (DrmadTeamChoice *choice, gboolean team, gint64 ns);

#ifdef DRMAD_TEST_HOOKS
/* For tests: each step on the team takes @us microseconds more (0: none). */
void     drmad_team_inject_delay (guint us);
/* For tests: helper number @index (1 …) sleeps @us microseconds each time it
 * sees a new step, before it looks at whether the step is one of its own
 * (0 µs: never). */
void     drmad_team_inject_helper_delay (guint index, guint us);
#endif

/* How many steps have run alone because a DrmadTeamChoice chose so
 * (bench-hypergrad prints their share). */
void     drmad_team_note_declined (void);
guint    drmad_team_declined      (void);

/* Waits until all @threads members of the running step have called it
 * (nothing with @threads < 2). */
void     drmad_team_barrier (guint threads);
