/* The host team: helper threads that run parts of a fused host step beside
 * the PoCL worker thread that runs the step's native kernel
 * (lib/net-host.c). One team per process, for one step at a time; a step
 * that finds it busy runs alone. Its members wait for work and for each
 * other by spinning: a step is a few hundred microseconds with a handful of
 * barriers, and a thread put to sleep costs tens of microseconds to wake on
 * a VM. A helper that sees no work for IDLE_SPIN_US sleeps on a condition
 * variable until the next step; a member that waits at a barrier longer than
 * BARRIER_SPIN_US sleeps until the others arrive: the member it waits for
 * was preempted (by the program's own thread, say), and spinning or
 * yielding there made whole runs twice as slow (docs/benchmarks.md), unless
 * a member is asleep (WAKE_SPIN_US, wait_change).
 * docs/architecture.md, "The host step", tells why the work is split by
 * rows and not by GEMM. */
#include "host-team.h"
#include "blas.h"
#include "drmad-device.h"

#include <pthread.h>
#include <stdlib.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause ()
#else
#define CPU_RELAX() do { } while (0)
#endif

#define IDLE_SPIN_US    200
#define BARRIER_SPIN_US 50
#define WAKE_SPIN_US    1000

typedef struct {
  gint           busy;           /* a step holds the team */
  guint          helpers;        /* started helper threads */
  gint           job;            /* the step's JOB_WORD; helpers wait for it to change */
  gint           done;           /* helpers finished with this step */
  gint           arrived;        /* members at the barrier */
  gint           phase;          /* bumped as the last member arrives */
  DrmadTeamWork  work;           /* work and data: read only by the step's members */
  const void    *data;
  gint           blocked;        /* threads asleep in wait_change */
  GMutex         lock;
  GCond          changed;        /* job, a barrier's phase or the done count */
} Team;

static Team team;

/* A step's word in Team's job: a count of steps and the step's members, in
 * one int so that a helper reads both at once. With the members in a field
 * of their own, a helper that a step of two did not need (number 2, started
 * by an earlier step of three) and that read them late, after the caller had
 * gone on to a step of three, took that step for the one whose job it had
 * seen: it ran its part of it, then ran it again as the next step, beside
 * whatever ran then (ThreadSanitizer: the caller's write of the members
 * against the helper's read; /train/host-team/members). The step's work and
 * data stay in fields: only its members read them, and the caller changes
 * them only after every member is done. */
#define JOB_MEMBER_BITS 4
#define JOB_WORD(count, threads) ((gint) (((guint) (count) << JOB_MEMBER_BITS) | (threads)))
#define JOB_MEMBERS(word) ((guint) (word) & ((1u << JOB_MEMBER_BITS) - 1))
G_STATIC_ASSERT (DRMAD_TEAM_MAX < (1 << JOB_MEMBER_BITS));

/* What a helper thread starts with: its number, and the job before the step
 * that started it, handed to it at its creation. Not a field of Team: where
 * starting a later helper failed, that step ran alone, and the next step
 * rewrote such a field while the new helper read it. */
typedef struct {
  guint index;
  gint  seen;
} HelperStart;

static gint threads_set = 0;   /* drmad_team_set_threads() */
static gint steps_run = 0;     /* drmad_team_runs() */
static gint steps_declined = 0;   /* drmad_team_declined() */
#ifdef DRMAD_TEST_HOOKS
static gint delay_us = 0;       /* drmad_team_inject_delay() */
static gint helper_delay_index = 0, helper_delay_us = 0;   /* drmad_team_inject_helper_delay() */

void
drmad_team_inject_delay (guint us)
{
  g_atomic_int_set (&delay_us, (gint) us);
}

void
drmad_team_inject_helper_delay (guint index, guint us)
{
  g_atomic_int_set (&helper_delay_us, (gint) us);
  g_atomic_int_set (&helper_delay_index, (gint) index);
}

static void
helper_delay (guint index)
{
  if (g_atomic_int_get (&helper_delay_index) == (gint) index && g_atomic_int_get (&helper_delay_us) > 0)
    g_usleep ((gulong) g_atomic_int_get (&helper_delay_us));
}
#else
#define helper_delay(index) do { } while (0)
#endif
static gint threads_env = -1;  /* DRMAD_HOST_THREADS was set (1) or not (0); -1 before drmad_team_threads() */

/* Spins until *@at differs from @seen; after BARRIER_SPIN_US (@barrier:
 * a barrier, or the end of a step) or IDLE_SPIN_US (a helper waiting for a
 * step), sleeps until it does (at a barrier: the member it waits for was
 * preempted, and the CPU is better given to whatever preempted it than spun
 * on; a helper: no step came). At a barrier while another member is asleep,
 * or woken and not yet running, it spins on for up to WAKE_SPIN_US: that
 * member comes as soon as it runs, and a wake-up takes longer on a VM than
 * BARRIER_SPIN_US. Sleeping there too made the next barrier wait for a
 * wake-up again, and so on: the team slept at every barrier, its steps 3–6×
 * as long (docs/benchmarks.md). */
static void
wait_change (gint *at, gint seen, gboolean barrier)
{
  gint64 spin_us = barrier ? BARRIER_SPIN_US : IDLE_SPIN_US;
  gint64 since = 0;
  for (guint i = 1; g_atomic_int_get (at) == seen; i++) {
    CPU_RELAX ();
    if (i % 256)
      continue;
    gint64 now = g_get_monotonic_time ();
    if (since == 0)
      since = now;
    else if (now - since > (barrier && g_atomic_int_get (&team.blocked) > 0 ? WAKE_SPIN_US : spin_us)) {
      g_mutex_lock (&team.lock);
      g_atomic_int_inc (&team.blocked);
      while (g_atomic_int_get (at) == seen)
        g_cond_wait (&team.changed, &team.lock);
      g_atomic_int_add (&team.blocked, -1);
      g_mutex_unlock (&team.lock);
      return;
    }
  }
}

/* After a change of what wait_change waits on: wakes the members asleep. */
static void
wake_blocked (void)
{
  if (g_atomic_int_get (&team.blocked) > 0) {
    g_mutex_lock (&team.lock);
    g_cond_broadcast (&team.changed);
    g_mutex_unlock (&team.lock);
  }
}

void
drmad_team_barrier (guint threads)
{
  if (threads < 2)
    return;
  gint phase = g_atomic_int_get (&team.phase);
  if (g_atomic_int_add (&team.arrived, 1) == (gint) threads - 1) {
    g_atomic_int_set (&team.arrived, 0);
    g_atomic_int_inc (&team.phase);
    wake_blocked ();
  } else
    wait_change (&team.phase, phase, TRUE);
}

static gpointer
helper (gpointer data)
{
  HelperStart *start = data;
  guint index = start->index;
  gint seen = start->seen;   /* the step it was started for may have begun */
  g_free (start);
  for (;;) {
    wait_change (&team.job, seen, FALSE);
    seen = g_atomic_int_get (&team.job);
    helper_delay (index);
    guint threads = JOB_MEMBERS (seen);
    if (index < threads) {
      team.work (team.data, index, threads);
      g_atomic_int_inc (&team.done);
      wake_blocked ();
    }
  }
  return NULL;
}

/* A child of fork() has none of the helpers. */
static void
forget_helpers (void)
{
  team.helpers = 0;
  team.busy = 0;
}

void
drmad_team_set_threads (guint threads)
{
  g_atomic_int_set (&threads_set, (gint) MIN (threads, DRMAD_TEAM_MAX));
}

guint
drmad_team_runs (void)
{
  return (guint) g_atomic_int_get (&steps_run);
}

guint
drmad_team_threads (void)
{
  gint set = g_atomic_int_get (&threads_set);
  if (set > 0)
    return (guint) set;
  static gsize wanted = 0;
  if (g_once_init_enter (&wanted)) {
    const char *text = g_getenv ("DRMAD_HOST_THREADS");
    long threads;
    char *end = NULL;
    g_atomic_int_set (&threads_env, text && *text);
    if (text && *text) {
      threads = strtol (text, &end, 10);
      if (*end || threads < 1 || threads > DRMAD_TEAM_MAX) {
        g_warning ("DRMAD_HOST_THREADS=%s: expected a whole number from 1 to %d; using %d", text, DRMAD_TEAM_MAX,
                   (int) CLAMP (*end ? 1 : threads, 1, DRMAD_TEAM_MAX));
        if (*end)
          threads = 1;
      }
    } else {
      /* both cores of a 2-core machine, shared with the other processes of
       * an MPI job on the same node */
      long cores = (long) g_get_num_processors ();
      const char *local = g_getenv ("OMPI_COMM_WORLD_LOCAL_SIZE");
      if (local && atol (local) > 0)
        cores /= atol (local);
      threads = MIN (cores, DRMAD_TEAM_DEFAULT);
    }
    g_once_init_leave (&wanted, (gsize) CLAMP (threads, 1, DRMAD_TEAM_MAX));
  }
  return (guint) wanted;
}

gboolean
drmad_team_threads_given (void)
{
  if (g_atomic_int_get (&threads_set) > 0)
    return TRUE;
  drmad_team_threads ();
  return g_atomic_int_get (&threads_env) == 1;
}

gboolean
drmad_team_choice_team (const DrmadTeamChoice *choice)
{
  return choice->trying ? choice->alone : !choice->alone;
}

gboolean
drmad_team_choice_record (DrmadTeamChoice *choice, gboolean team, gint64 ns)
{
  if (team != drmad_team_choice_team (choice))
    return FALSE;
  if (!choice->trying) {
    choice->steps++;
    choice->ns += ns;
    /* after the warm-ups, a while of at least WHILE_STEPS steps too: of long steps, a try would
     * otherwise be most of them */
    if (choice->ns >= (choice->interval ? choice->interval : DRMAD_TEAM_CHOICE_WARM_NS)
        && (choice->interval < DRMAD_TEAM_CHOICE_FIRST_NS || choice->steps >= DRMAD_TEAM_CHOICE_WHILE_STEPS)) {
      if (!choice->interval) {   /* the first while warms up: then one as long, timed */
        choice->interval = DRMAD_TEAM_CHOICE_WARM_NS;
        choice->steps = 0;
        choice->ns = 0;
        return FALSE;
      }
      choice->kept_steps = choice->steps;
      choice->kept_ns = choice->ns;
      choice->trying = TRUE;
      choice->steps = 0;
      choice->ns = 0;
    }
    return FALSE;
  }
  if (choice->steps++ == 0)   /* the first step in the other mode settles the caches */
    return FALSE;
  choice->ns += ns;
  guint tried = choice->steps - 1;
  if (tried < DRMAD_TEAM_CHOICE_STEPS
      || choice->ns < (choice->alone ? DRMAD_TEAM_CHOICE_TRY_NS : DRMAD_TEAM_CHOICE_TRY_ALONE_NS))
    return FALSE;
  double margin = choice->alone ? DRMAD_TEAM_CHOICE_TEAM_MARGIN : DRMAD_TEAM_CHOICE_ALONE_MARGIN;
  gboolean change = (double) choice->ns / tried < margin * ((double) choice->kept_ns / choice->kept_steps);
  choice->alone ^= change;
  choice->interval = change ? DRMAD_TEAM_CHOICE_FIRST_NS
                            : CLAMP (2 * choice->interval, DRMAD_TEAM_CHOICE_FIRST_NS, DRMAD_TEAM_CHOICE_MOST_NS);
  choice->trying = FALSE;
  choice->steps = 0;
  choice->ns = 0;
  return change;
}

void
drmad_team_note_declined (void)
{
  g_atomic_int_inc (&steps_declined);
}

guint
drmad_team_declined (void)
{
  return (guint) g_atomic_int_get (&steps_declined);
}

guint
drmad_host_step_threads (guint batch)
{
  guint threads = MIN (drmad_team_threads (), batch / DRMAD_TEAM_MIN_ROWS);
  return threads > 1 && drmad_blas_get_large_threads () == 1 ? threads : 1;
}

gboolean
drmad_team_run (guint threads, DrmadTeamWork work, const void *data)
{
  /* more members than a job word holds: alone, never a step that waits for ever */
  if (threads < 2 || threads > DRMAD_TEAM_MAX || !g_atomic_int_compare_and_exchange (&team.busy, 0, 1))
    return FALSE;
  static gsize atfork = 0;
  if (g_once_init_enter (&atfork)) {
    pthread_atfork (NULL, NULL, forget_helpers);
    g_once_init_leave (&atfork, 1);
  }
  gint job = g_atomic_int_get (&team.job);
  while (team.helpers < threads - 1) {
    GError *error = NULL;
    HelperStart *start = g_new (HelperStart, 1);
    *start = (HelperStart) { team.helpers + 1, job };
    GThread *thread = g_thread_try_new ("drmad-team", helper, start, &error);
    if (!thread) {   /* the step runs alone (below) */
      g_free (start);
      g_clear_error (&error);
      break;
    }
    g_thread_unref (thread);
    team.helpers++;
  }
  if (team.helpers < threads - 1) {
    g_atomic_int_set (&team.busy, 0);
    return FALSE;
  }
  team.work = work;
  team.data = data;
  team.arrived = 0;
  g_atomic_int_set (&team.done, 0);
  /* sequentially consistent, a release: a helper that reads the new word
   * sees the fields above (and wake_blocked() sees a helper that went to
   * sleep before it) */
  g_atomic_int_set (&team.job, JOB_WORD (((guint) job >> JOB_MEMBER_BITS) + 1, threads));
  wake_blocked ();
  work (data, 0, threads);
  for (gint done; (done = g_atomic_int_get (&team.done)) < (gint) threads - 1;)
    wait_change (&team.done, done, TRUE);
#ifdef DRMAD_TEST_HOOKS
  if (g_atomic_int_get (&delay_us) > 0)
    g_usleep ((gulong) g_atomic_int_get (&delay_us));
#endif
  g_atomic_int_inc (&steps_run);
  g_atomic_int_set (&team.busy, 0);
  return TRUE;
}
