/* Hypergradients: the exact reverse pass against central differences of the
 * validation loss through the whole training (docs/algorithm.md §4.3), the
 * shortcuts against exact, memory scaling, the divergence guard, cancel. */
#include "drmad.h"
#include "host-team.h"
#include "reverse-private.h"
#include "environment-private.h"
#include "test-util.h"
#include "reference-mlp.h"

#include <math.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>
#include <string.h>
#include <time.h>

static const guint sizes[] = { 6, 5, 4, 3 };
#define N_TRAIN 40
#define N_VAL 24

typedef struct {
  DrmadDevice     *device;
  DrmadDataset    *train_set, *val_set;
  DrmadDeviceData *train, *val;
  DrmadNet        *net;
  double           x[(N_TRAIN + N_VAL) * 6];   /* the data again, for plain C references */
  gint32           y[N_TRAIN + N_VAL];
} Problem;

static gboolean
problem_setup_as (Problem *p, guint batch, DrmadPrecision precision)
{
  g_autoptr (GError) error = NULL;
  p->device = drmad_device_open (NULL, &error);
  if (!p->device) {
    g_test_skip (error->message);
    return FALSE;
  }
  GRand *rand = g_rand_new_with_seed (21);
  float x[(N_TRAIN + N_VAL) * 6];
  gint32 *y = p->y;
  for (guint i = 0; i < N_TRAIN + N_VAL; i++) {
    y[i] = g_rand_int_range (rand, 0, 3);
    for (guint k = 0; k < 6; k++) {  /* a learnable signal plus noise */
      x[i * 6 + k] = (k % 3 == (guint) y[i] ? 1.0 : 0.0) + g_rand_double_range (rand, -0.8, 0.8);
      p->x[i * 6 + k] = x[i * 6 + k];
    }
  }
  g_rand_free (rand);
  p->train_set = drmad_dataset_new_from_arrays (N_TRAIN, 6, 3, x, y, &error);
  p->val_set = drmad_dataset_new_from_arrays (N_VAL, 6, 3, x + N_TRAIN * 6, y + N_TRAIN, &error);
  g_assert_no_error (error);
  p->train = drmad_device_data_new (p->device, precision, p->train_set, &error);
  p->val = drmad_device_data_new (p->device, precision, p->val_set, &error);
  p->net = drmad_net_new (p->device, sizes, G_N_ELEMENTS (sizes), DRMAD_ACTIVATION_TANH, precision, batch, &error);
  g_assert_no_error (error);
  return TRUE;
}

static gboolean
problem_setup (Problem *p, guint batch)
{
  return problem_setup_as (p, batch, DRMAD_PRECISION_FLOAT64);
}

static void
problem_teardown (Problem *p)
{
  drmad_net_free (p->net);
  drmad_device_data_free (p->train);
  drmad_device_data_free (p->val);
  drmad_dataset_free (p->train_set);
  drmad_dataset_free (p->val_set);
  drmad_device_unref (p->device);
}

static void
config_all_groups (DrmadHyperConfig *config, DrmadL2Granularity l2, guint64 steps)
{
  drmad_hyper_config_init (config);
  config->l2 = l2;
  config->learn_lr = config->learn_momentum = config->learn_init_scale = TRUE;
  config->segments = 4;
  config->steps = steps;
  for (guint l = 0; l < 3; l++) {
    config->init_l2[l] = 0.01 * (l + 1);
    config->init_lr[l] = 0.3 / (l + 1);
    config->init_momentum[l] = 0.5 + 0.1 * l;
    config->init_scale[l] = 0.6 + 0.2 * l;
  }
}

#ifdef DRMAD_TEST_HOOKS
/* The memory a test says this process may take, through the test hook
 * DRMAD_INJECT_CGROUP (docs/reliability.md), set until
 * fake_memory_end(): a /proc/meminfo with @available bytes MemAvailable
 * and, where @limit is not 0, a cgroup v2 /drmad.slice whose memory.max is
 * @limit and memory.current @usage (its memory.max's path in @limit_path,
 * if set). The room is then the lesser of @available and @limit − @usage,
 * whatever this machine has and whatever the test allocates. */
static char *
fake_memory (guint64 available, guint64 limit, guint64 usage, char **limit_path)
{
  g_autoptr (GError) error = NULL;
  char *folder = test_tmp_dir ("drmad-test-cgroup", &error);
  g_assert_no_error (error);
  g_autofree char *slice = g_build_filename (folder, "sys-fs-cgroup", "drmad.slice", NULL);
  g_assert_cmpint (g_mkdir_with_parents (slice, 0755), ==, 0);
  g_autofree char *meminfo = g_build_filename (folder, "proc-meminfo", NULL);
  g_autofree char *meminfo_text = g_strdup_printf ("MemTotal:       %" G_GUINT64_FORMAT " kB\n"
                                                   "MemAvailable:   %" G_GUINT64_FORMAT " kB\n",
                                                   available / 1024, available / 1024);
  g_assert_true (g_file_set_contents (meminfo, meminfo_text, -1, NULL));
  g_autofree char *proc = g_build_filename (folder, "proc-self-cgroup", NULL);
  g_assert_true (g_file_set_contents (proc, "0::/drmad.slice\n", -1, NULL));
  g_autofree char *max = g_build_filename (slice, "memory.max", NULL);
  g_autofree char *current = g_build_filename (slice, "memory.current", NULL);
  g_autofree char *max_text = limit ? g_strdup_printf ("%" G_GUINT64_FORMAT "\n", limit) : g_strdup ("max\n");
  g_autofree char *current_text = g_strdup_printf ("%" G_GUINT64_FORMAT "\n", usage);
  g_assert_true (g_file_set_contents (max, max_text, -1, NULL));
  g_assert_true (g_file_set_contents (current, current_text, -1, NULL));
  g_setenv ("DRMAD_INJECT_CGROUP", folder, TRUE);
  if (limit_path)
    *limit_path = g_steal_pointer (&max);
  return folder;
}

static void
fake_memory_end (char *folder)
{
  g_unsetenv ("DRMAD_INJECT_CGROUP");
  remove_tree (folder);
  g_free (folder);
}
#endif

/* For tests of the device's own bound on its free memory: on a CPU device
 * that bound is also the memory this process may take (MemAvailable, a
 * cgroup's limit), which moves with what else runs on the machine; here it
 * is made plenty (1 PiB available, no limit; the folder in @folder, for
 * device_memory_bound_end()), so that the device's global memory less what
 * the library holds is the bound. Built without the test hooks, FALSE
 * (and the test skipped) where this machine's room is the lesser. */
static gboolean
device_memory_bound (DrmadDevice *device, char **folder)
{
  *folder = NULL;
  if (g_strcmp0 (drmad_device_get_info (device)->type, "CPU") != 0)
    return TRUE;
#ifdef DRMAD_TEST_HOOKS
  *folder = fake_memory (G_GUINT64_CONSTANT (1) << 50, 0, 0, NULL);
  return TRUE;
#else
  g_autofree char *bound = NULL;
  guint64 room = drmad_memory_room (FALSE, &bound);
  if (room < 2 * drmad_device_get_info (device)->global_mem_bytes) {
    g_autofree char *why = g_strdup_printf ("the device's memory is not the bound here (%s) and the test hooks, "
                                            "which would make it so, are not built", bound);
    g_test_skip (why);
    return FALSE;
  }
  return TRUE;
#endif
}

static void
device_memory_bound_end (char *folder)
{
#ifdef DRMAD_TEST_HOOKS
  if (folder)
    fake_memory_end (folder);
#endif
}

/* f(θ): train from scratch, validation loss. */
static double
validation_loss (Problem *p, DrmadHyper *hyper, guint64 seed)
{
  g_autoptr (GError) error = NULL;
  double loss;
  CHECK (drmad_hyper_train (p->net, hyper, p->train, seed, NULL, NULL, NULL, &error));
  CHECK (drmad_net_full_gradient (p->net, p->val, &loss, NULL, &error));
  return loss;
}

static DrmadHypergradient *
hypergradient (Problem *p, DrmadHyper *hyper, DrmadMethod method, guint k, guint K)
{
  g_autoptr (GError) error = NULL;
  /* DrMAD here is the full line (R = T); the authors' R-point loop has its own test. */
  DrmadReverseConfig reverse = { .method = method, .checkpoint_every = k, .snapshots = K, .seed = 13,
                                 .reverse_steps = G_MAXUINT64 };
  DrmadHypergradient *result = drmad_hypergradient_compute (p->net, hyper, p->train, p->val, &reverse,
                                                            NULL, NULL, &error);
  g_assert_no_error (error);
  return result;
}

/* ‖a − b‖ / ‖b‖ over [first, first + count): the library's measure, itself
 * checked against its definition in /hyper/fidelity. */
static double
relative_error (const double *a, const double *b, gsize first, gsize count)
{
  return drmad_fidelity_compute (a, b, first, count).relative_error;
}

typedef struct {
  DrmadL2Granularity l2;
  guint              k;            /* checkpoint spacing */
  gboolean           fixed_momentum;  /* momentum not learned: the reverse steps skip g_t (lib/reverse.c) */
} ExactCase;

/* docs/algorithm.md §4.3: exact hypergradient vs central differences of f(θ),
 * every group, float64, tanh, T = 50: relative error ≤ 1e-4 per group. */
static void
test_exact_vs_finite_differences (gconstpointer data)
{
  const ExactCase *ec = data;
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  config_all_groups (&config, ec->l2, 50);
  config.learn_momentum = !ec->fixed_momentum;
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  g_assert_no_error (error);
  g_autoptr (DrmadHypergradient) exact = hypergradient (&p, hyper, DRMAD_METHOD_EXACT, ec->k, 0);
  gsize n = drmad_hyper_get_n (hyper);
  g_assert_cmpuint (exact->n, ==, n);
  g_assert_cmpfloat_with_epsilon (exact->val_loss, validation_loss (&p, hyper, 13), 1e-12);
  g_autofree double *theta = g_memdup2 (drmad_hyper_get_values (hyper), n * sizeof (double));
  g_autofree double *fd = g_new (double, n);
  const double eps = 1e-5;
  for (gsize i = 0; i < n; i++) {
    double saved = theta[i], plus, minus;
    theta[i] = saved + eps;
    CHECK (drmad_hyper_set_values (hyper, theta, &error));
    plus = validation_loss (&p, hyper, 13);
    theta[i] = saved - eps;
    CHECK (drmad_hyper_set_values (hyper, theta, &error));
    minus = validation_loss (&p, hyper, 13);
    theta[i] = saved;
    fd[i] = (plus - minus) / (2 * eps);
  }
  CHECK (drmad_hyper_set_values (hyper, theta, &error));
  for (guint g = 0; g < drmad_hyper_get_n_groups (hyper); g++) {
    gsize first, count;
    drmad_hyper_get_group_span (hyper, g, &first, &count);
    double rel = relative_error (exact->gradient, fd, first, count);
    g_test_message ("group %-8s (%3" G_GSIZE_FORMAT " values): exact vs finite differences %.3g, e.g. %s %.6g vs %.6g",
                    drmad_hyper_get_group_name (hyper, g), count, rel, drmad_hyper_get_name (hyper, first),
                    exact->gradient[first], fd[first]);
    g_assert_cmpfloat (rel, <=, 1e-4);
  }
  problem_teardown (&p);
}

/* θ of every group over @steps steps, momentum learned unless @fixed_momentum. */
static DrmadHyper *
hyper_with (Problem *p, DrmadL2Granularity l2, guint64 steps, gboolean fixed_momentum)
{
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  config_all_groups (&config, l2, steps);
  config.learn_momentum = !fixed_momentum;
  DrmadHyper *hyper = drmad_hyper_new (p->net, &config, &error);
  g_assert_no_error (error);
  return hyper;
}

/* The host team (lib/host-team.c) shares training and reverse steps by
 * rows of the batch and of each W_l: exact (k = 4, recomputed, and k = 1,
 * from the tape) and DrMAD give the single thread's hypergradients with 2
 * members (batch 50, split at row 24: team_first_row in lib/net-host.c)
 * and 3 (batch 61: uneven splits of the batch and of the widths 6, 5 and
 * 4), momentum learned (the reverse step's gradient g_t) or fixed, per
 * layer and per weight; the single thread's are checked against finite
 * differences above. */
static void
test_host_team (void)
{
  for (guint c = 0; c < 4; c++) {
    guint threads = c & 1 ? 3 : 2;
    gboolean fixed_momentum = c & 2;
    Problem p = { 0 };
    if (!problem_setup (&p, threads == 2 ? 50 : DRMAD_TEAM_MIN_ROWS * threads + 1))
      return;
    if (drmad_device_get_gemm_path (p.device) != DRMAD_GEMM_HOST) {
      problem_teardown (&p);
      g_test_skip ("the device runs its GEMMs itself: no host step, no host team");
      return;
    }
    g_autoptr (DrmadHyper) hyper = hyper_with (&p, c & 1 ? DRMAD_L2_PER_WEIGHT : DRMAD_L2_PER_LAYER, 20,
                                                fixed_momentum);
    static const struct { DrmadMethod method; guint k; } methods[] = {
      { DRMAD_METHOD_EXACT, 4 }, { DRMAD_METHOD_EXACT, 1 }, { DRMAD_METHOD_DRMAD, 0 },
    };
    for (guint m = 0; m < G_N_ELEMENTS (methods); m++) {
      DrmadHypergradient *results[2];
      for (guint team = 0; team < 2; team++) {
        drmad_team_set_threads (team ? threads : 1);
        guint runs = drmad_team_runs ();
        results[team] = hypergradient (&p, hyper, methods[m].method, methods[m].k, 0);
        /* each training and reverse step on the team, or none alone */
        if (team)
          g_assert_cmpuint (drmad_team_runs () - runs, >=, 2 * 20);
        else
          g_assert_cmpuint (drmad_team_runs (), ==, runs);
      }
      drmad_team_set_threads (0);
      DrmadHypergradient *alone = results[0], *shared = results[1];
      double rel = relative_error (shared->gradient, alone->gradient, 0, alone->n);
      g_test_message ("%u threads, momentum %s, %s k=%u: relative difference %.3g to one thread", threads,
                      fixed_momentum ? "fixed" : "learned", methods[m].method == DRMAD_METHOD_EXACT ? "exact" : "DrMAD",
                      methods[m].k, rel);
      g_assert_cmpfloat (rel, <=, 1e-13);
      g_assert_cmpfloat (relative_error (shared->dw0, alone->dw0, 0, alone->n_params), <=, 1e-13);
      g_assert_cmpfloat_with_epsilon (shared->val_loss, alone->val_loss, 1e-13);
      drmad_hypergradient_free (alone);
      drmad_hypergradient_free (shared);
    }
    problem_teardown (&p);
  }
}

/* Asserts @results[0] and [1] the same bit for bit (hypergradient, dw0,
 * validation loss), and frees them. */
static void
same_and_free (DrmadHypergradient **results)
{
  g_assert_cmpmem (results[0]->gradient, results[0]->n * sizeof (double), results[1]->gradient,
                   results[1]->n * sizeof (double));
  g_assert_cmpmem (results[0]->dw0, results[0]->n_params * sizeof (double), results[1]->dw0,
                   results[1]->n_params * sizeof (double));
  g_assert_cmpfloat (results[0]->val_loss, ==, results[1]->val_loss);
  drmad_hypergradient_free (results[0]);
  drmad_hypergradient_free (results[1]);
}

/* In float32 on drmad's own kernels each kind of host step runs on the team
 * or alone by timing (lib/host-team.h, DrmadTeamChoice), so one pass mixes
 * the two: with every team step made 3 ms slower (DRMAD_TEST_HOOKS) the
 * training and reverse steps start on the team and go alone within the
 * pass, and every method's hypergradient (exact recomputed and
 * from the tape, DrMAD, piecewise; momentum learned, whose reverse steps
 * take g_t, or fixed) is bit for bit that of every step alone. */
static void
test_host_team_timed (void)
{
#ifndef DRMAD_TEST_HOOKS
  g_test_skip ("built without -Dtest_hooks=true: no way to make the team slow");
#else
  static const struct { DrmadMethod method; guint k, K; } methods[] = {
    { DRMAD_METHOD_EXACT, 4, 0 }, { DRMAD_METHOD_EXACT, 1, 0 }, { DRMAD_METHOD_DRMAD, 0, 0 },
    { DRMAD_METHOD_PIECEWISE, 0, 3 },
  };
  for (guint c = 0; c < 2 * G_N_ELEMENTS (methods); c++) {
    guint m = c / 2;
    gboolean fixed_momentum = c & 1;
    const guint batch = 2 * DRMAD_TEAM_MIN_ROWS + 10;
    Problem p = { 0 };   /* a new net, whose every kind of step starts on the team */
    if (!problem_setup_as (&p, batch, DRMAD_PRECISION_FLOAT32))
      return;
    drmad_team_set_threads (0);
    if (drmad_device_get_gemm_path (p.device) != DRMAD_GEMM_HOST || !drmad_host_step_gemm_kernels ()
        || drmad_team_threads_given () || drmad_host_step_threads (batch) < 2) {
      problem_teardown (&p);
      g_test_skip ("no choice to make here: no host step, its GEMMs on OpenBLAS, DRMAD_HOST_THREADS set, or one core");
      return;
    }
    /* enough steps for the first kinds to run their timed while on the team and go alone */
    g_autoptr (DrmadHyper) hyper = hyper_with (&p, DRMAD_L2_PER_LAYER, 150, fixed_momentum);
    DrmadHypergradient *results[2];
    for (guint timed = 0; timed < 2; timed++) {
      drmad_team_set_threads (timed ? 0 : 1);
      drmad_team_inject_delay (timed ? 3000 : 0);
      guint team = drmad_team_runs (), declined = drmad_team_declined ();
      results[timed] = hypergradient (&p, hyper, methods[m].method, methods[m].k, methods[m].K);
      team = drmad_team_runs () - team;
      declined = drmad_team_declined () - declined;
      g_test_message ("momentum %s, method %u: %u steps on the team, %u alone by choice", fixed_momentum ? "fixed"
                      : "learned", m, team, declined);
      if (timed) {   /* the pass mixed the two */
        g_assert_cmpuint (team, >, 0);
        g_assert_cmpuint (declined, >, 0);
      } else
        g_assert_cmpuint (team + declined, ==, 0);
    }
    drmad_team_inject_delay (0);
    drmad_team_set_threads (0);
    same_and_free (results);
    problem_teardown (&p);
  }
#endif
}

/* Training steps on the calling thread (DRMAD_HOST_DIRECT, lib/net-host.c),
 * with the exact method's checkpoints and segment states and the piecewise
 * method's snapshots copied on the host by the hooks before each step
 * (lib/reverse.c, hook_copy): every method's hypergradient bit for bit that
 * of the same steps queued as native kernels. */
static void
test_host_direct (void)
{
  Problem p = { 0 };
  if (!problem_setup (&p, 2 * DRMAD_TEAM_MIN_ROWS + 1))
    return;
  if (drmad_device_get_gemm_path (p.device) != DRMAD_GEMM_HOST) {
    problem_teardown (&p);
    g_test_skip ("the device runs its GEMMs itself: no host step");
    return;
  }
  g_autoptr (DrmadHyper) hyper = hyper_with (&p, DRMAD_L2_PER_LAYER, 20, FALSE);
  static const struct { DrmadMethod method; guint k, K; } methods[] = {
    { DRMAD_METHOD_EXACT, 4, 0 }, { DRMAD_METHOD_EXACT, 1, 0 }, { DRMAD_METHOD_DRMAD, 0, 0 },
    { DRMAD_METHOD_PIECEWISE, 0, 3 },
  };
  for (guint m = 0; m < G_N_ELEMENTS (methods); m++) {
    DrmadHypergradient *results[2];
    for (guint direct = 0; direct < 2; direct++) {
      g_setenv ("DRMAD_HOST_DIRECT", direct ? "1" : "0", TRUE);
      results[direct] = hypergradient (&p, hyper, methods[m].method, methods[m].k, methods[m].K);
    }
    g_unsetenv ("DRMAD_HOST_DIRECT");
    same_and_free (results);
  }
  problem_teardown (&p);
}

/* §2c: K = T is exact to rounding; K = 1 is DrMAD. With momentum fixed the
 * line's velocities are cached across steps and v̂_t is not formed at all
 * (lib/reverse.c, reverse_pieces): the limits must hold there too. */
static void
test_piecewise_limits (gconstpointer data)
{
  gboolean fixed_momentum = GPOINTER_TO_INT (data);
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  g_autoptr (DrmadHyper) hyper = hyper_with (&p, DRMAD_L2_PER_LAYER, 30, fixed_momentum);
  g_autoptr (DrmadHypergradient) exact = hypergradient (&p, hyper, DRMAD_METHOD_EXACT, 1, 0);
  g_autoptr (DrmadHypergradient) full = hypergradient (&p, hyper, DRMAD_METHOD_PIECEWISE, 0, 30);
  g_autoptr (DrmadHypergradient) drmad = hypergradient (&p, hyper, DRMAD_METHOD_DRMAD, 0, 0);
  g_autoptr (DrmadHypergradient) one = hypergradient (&p, hyper, DRMAD_METHOD_PIECEWISE, 0, 1);
  gsize n = drmad_hyper_get_n (hyper);
  double rel_full = relative_error (full->gradient, exact->gradient, 0, n);
  double rel_one = relative_error (one->gradient, drmad->gradient, 0, n);
  double rel_drmad = relative_error (drmad->gradient, exact->gradient, 0, n);
  g_test_message ("piecewise K=T vs exact %.3g; K=1 vs DrMAD %.3g; DrMAD vs exact %.3g", rel_full, rel_one, rel_drmad);
  g_assert_cmpfloat (rel_full, <=, 1e-9);
  g_assert_cmpfloat (relative_error (full->dw0, exact->dw0, 0, full->n_params), <=, 1e-9);
  g_assert_cmpfloat (rel_one, ==, 0);
  g_assert_cmpfloat (rel_drmad, >, 1e-6);  /* a shortcut, not the same computation */
  problem_teardown (&p);
}

/* The exact method keeps each step's forward and backward passes for the
 * reverse step at the same weights (a tape slot, on the fused host path with
 * momentum fixed): with checkpoints (k = 4) the recompute leaves them, and
 * with every state stored (k = 1) the training run itself. Both give the
 * same hypergradient to the last bit, and the one of the kernels, a launch
 * per stage and no tape (DRMAD_HOST_STEP=0, where the build has test
 * hooks), to the rounding; and each pass peaks at the memory the library
 * predicts, the slots included. */
static void
test_exact_tape (gconstpointer data)
{
  gboolean fixed_momentum = GPOINTER_TO_INT (data);
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  g_autoptr (DrmadHyper) hyper = hyper_with (&p, DRMAD_L2_PER_LAYER, 30, fixed_momentum);
  g_autoptr (DrmadHypergradient) every = hypergradient (&p, hyper, DRMAD_METHOD_EXACT, 1, 0);
  g_autoptr (DrmadHypergradient) segments = hypergradient (&p, hyper, DRMAD_METHOD_EXACT, 4, 0);
  gsize n = drmad_hyper_get_n (hyper);
  g_assert_cmpmem (segments->gradient, n * sizeof (double), every->gradient, n * sizeof (double));
  g_assert_cmpmem (segments->dw0, every->n_params * sizeof (double), every->dw0, every->n_params * sizeof (double));
  for (guint k = 1; k <= 4; k += 3) {
    DrmadReverseConfig reverse = { .method = DRMAD_METHOD_EXACT, .checkpoint_every = k };
    g_assert_cmpuint ((k == 1 ? every : segments)->device_peak_bytes, ==,
                      drmad_hypergradient_device_bytes (p.net, hyper, &reverse));
  }
  problem_teardown (&p);
#ifdef DRMAD_TEST_HOOKS
  g_setenv ("DRMAD_HOST_STEP", "0", TRUE);
  gboolean ready = problem_setup (&p, 8);
  g_unsetenv ("DRMAD_HOST_STEP");
  g_assert_true (ready);
  g_autoptr (DrmadHyper) kernels_hyper = hyper_with (&p, DRMAD_L2_PER_LAYER, 30, fixed_momentum);
  g_autoptr (DrmadHypergradient) kernels = hypergradient (&p, kernels_hyper, DRMAD_METHOD_EXACT, 1, 0);
  double rel = relative_error (every->gradient, kernels->gradient, 0, n);
  double rel_dw0 = relative_error (every->dw0, kernels->dw0, 0, every->n_params);
  g_test_message ("fused host path with tapes vs the kernels without: hypergradient %.3g, dw0 %.3g", rel, rel_dw0);
  g_assert_cmpfloat (rel, <=, 1e-12);
  g_assert_cmpfloat (rel_dw0, <=, 1e-12);
  problem_teardown (&p);
#endif
}

/* A per-layer θ makes η, γ and exp(λ) constant over each layer's weights
 * and biases, and the fused host loops then read three numbers per stretch
 * instead of three vectors (lib/train.c): the same hypergradients, bit for
 * bit, as the loops over the vectors (DRMAD_HOST_UNIFORM=0), for the exact
 * method and DrMAD, momentum learned or not, per-layer and per-neuron L2. */
static void
test_uniform_stretches (void)
{
  for (guint c = 0; c < 4; c++) {
    gboolean per_neuron = c & 1, fixed_momentum = c & 2;
    DrmadHypergradient *results[2][2];
    for (guint vectors = 0; vectors < 2; vectors++) {
      if (vectors)
        g_setenv ("DRMAD_HOST_UNIFORM", "0", TRUE);
      Problem p = { 0 };
      gboolean ready = problem_setup (&p, 8);
      if (!ready) {
        g_unsetenv ("DRMAD_HOST_UNIFORM");
        return;
      }
      g_autoptr (DrmadHyper) hyper = hyper_with (&p, per_neuron ? DRMAD_L2_PER_NEURON : DRMAD_L2_PER_LAYER, 20,
                                                  fixed_momentum);
      results[vectors][0] = hypergradient (&p, hyper, DRMAD_METHOD_EXACT, 4, 0);
      results[vectors][1] = hypergradient (&p, hyper, DRMAD_METHOD_DRMAD, 0, 0);
      g_unsetenv ("DRMAD_HOST_UNIFORM");
      problem_teardown (&p);
    }
    for (guint m = 0; m < 2; m++) {
      DrmadHypergradient *a = results[0][m], *b = results[1][m];
      g_assert_cmpmem (a->gradient, a->n * sizeof (double), b->gradient, b->n * sizeof (double));
      g_assert_cmpmem (a->dw0, a->n_params * sizeof (double), b->dw0, b->n_params * sizeof (double));
      g_assert_cmpfloat (a->val_loss, ==, b->val_loss);
      drmad_hypergradient_free (a);
      drmad_hypergradient_free (b);
    }
  }
}

static guint64
peak_bytes (Problem *p, DrmadMethod method, guint k, guint64 steps)
{
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  config_all_groups (&config, DRMAD_L2_PER_LAYER, steps);
  config.learn_momentum = FALSE;  /* momentum 0.5–0.7 for stability over long runs */
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p->net, &config, &error);
  /* The full line diverges at T = 2000: only its memory matters here, so the watch is off. */
  DrmadReverseConfig reverse = { .method = method, .checkpoint_every = k, .seed = 13,
                                 .reverse_steps = G_MAXUINT64, .watch_factor = G_MAXDOUBLE };
  g_autoptr (DrmadHypergradient) result = drmad_hypergradient_compute (p->net, hyper, p->train, p->val, &reverse,
                                                                       NULL, NULL, &error);
  g_assert_no_error (error);
  return result->device_peak_bytes;
}

/* DrMAD's memory does not grow with T; exact with k = 1 does. */
static void
test_memory_scaling (void)
{
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  guint64 drmad_100 = peak_bytes (&p, DRMAD_METHOD_DRMAD, 0, 100);
  guint64 drmad_2000 = peak_bytes (&p, DRMAD_METHOD_DRMAD, 0, 2000);
  guint64 exact_100 = peak_bytes (&p, DRMAD_METHOD_EXACT, 1, 100);
  guint64 exact_400 = peak_bytes (&p, DRMAD_METHOD_EXACT, 1, 400);
  g_test_message ("peak device bytes: DrMAD T=100 %" G_GUINT64_FORMAT ", T=2000 %" G_GUINT64_FORMAT
                  "; exact k=1 T=100 %" G_GUINT64_FORMAT ", T=400 %" G_GUINT64_FORMAT,
                  drmad_100, drmad_2000, exact_100, exact_400);
  g_assert_cmpuint (drmad_100, >, 0);
  g_assert_cmpfloat (fabs ((double) drmad_2000 - drmad_100) / drmad_100, <=, 0.05);
  g_assert_cmpfloat ((double) exact_400, >, 3.0 * exact_100);
  problem_teardown (&p);
}

/* An engineered blow-up: a meta step that sends the learning rate to e^12. */
static void
test_divergence_guard (void)
{
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  drmad_hyper_config_init (&config);
  config.l2 = DRMAD_L2_FIXED;
  config.learn_lr = TRUE;
  config.steps = 40;
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  DrmadReverseConfig reverse = { .method = DRMAD_METHOD_DRMAD, .seed = 3, .reverse_steps = G_MAXUINT64 };
  DrmadMetaConfig meta_config;
  drmad_meta_config_init (&meta_config);
  meta_config.algorithm = DRMAD_META_SIGN;
  meta_config.learning_rate = 14;  /* log η: −2.3 → about −16.3, or 11.7 projected onto log 100 */
  g_autoptr (DrmadMeta) meta = drmad_meta_new (p.net, hyper, p.train, p.val, &reverse, &meta_config, &error);
  g_assert_no_error (error);
  g_autoptr (DrmadMetaReport) first = drmad_meta_step (meta, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (first->rejected);
  gsize n = drmad_hyper_get_n (hyper);
  g_autofree double *accepted = g_new (double, n);
  for (gsize i = 0; i < n; i++)
    accepted[i] = log (0.1);
  guint rejected = 0, best_iteration = 1;
  double best_val_loss = first->val_loss;
  for (guint it = 0; it < 4; it++) {
    g_autoptr (DrmadMetaReport) report = drmad_meta_step (meta, NULL, NULL, &error);
    g_assert_no_error (error);
    if (!report->rejected && report->val_loss < best_val_loss) {
      best_val_loss = report->val_loss;
      best_iteration = report->iteration;
    }
    const double *theta = drmad_hyper_get_values (hyper);
    for (gsize i = 0; i < n; i++)
      g_assert_true (isfinite (theta[i]));
    if (report->rejected) {
      rejected++;
      g_assert_nonnull (report->event);
      g_test_message ("rejected: %s; meta learning rate now %g", report->event, report->meta_learning_rate);
    }
  }
  g_assert_cmpuint (rejected, >=, 1);
  g_assert_cmpfloat (drmad_meta_get_learning_rate (meta), <, 14);
  /* Meta-iterations since the best validation loss (what --patience reads), from the reports; kept in the
   * saved state, and a state saved before it was kept (8 bytes shorter) loads as "the best is the last". */
  g_assert_cmpuint (drmad_meta_get_stalled (meta), ==, 5 - best_iteration);
  g_autoptr (GBytes) state = drmad_meta_save_state (meta);
  g_autofree double *theta_now = g_memdup2 (drmad_hyper_get_values (hyper), n * sizeof (double));
  g_autoptr (DrmadMeta) restored = drmad_meta_new (p.net, hyper, p.train, p.val, &reverse, &meta_config, &error);
  CHECK (drmad_meta_load_state (restored, state, &error));
  g_assert_cmpuint (drmad_meta_get_stalled (restored), ==, 5 - best_iteration);
  gsize size;
  const guint8 *bytes = g_bytes_get_data (state, &size);
  gsize old_header = 7 * 8;
  g_autofree guint8 *old = g_malloc (size - 8);
  memcpy (old, bytes, old_header);
  memcpy (old + old_header, bytes + old_header + 8, size - old_header - 8);
  g_autoptr (GBytes) old_state = g_bytes_new (old, size - 8);
  g_autoptr (DrmadMeta) from_old = drmad_meta_new (p.net, hyper, p.train, p.val, &reverse, &meta_config, &error);
  CHECK (drmad_meta_load_state (from_old, old_state, &error));
  g_assert_cmpuint (drmad_meta_get_stalled (from_old), ==, 0);
  g_assert_cmpuint (drmad_meta_get_iteration (from_old), ==, 5);
  g_assert_cmpmem (drmad_hyper_get_values (hyper), n * sizeof (double), theta_now, n * sizeof (double));
  g_autoptr (GBytes) truncated = g_bytes_new (old, size - 12);
  g_assert_false (drmad_meta_load_state (from_old, truncated, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_CORRUPT);
  /* The message says what size was expected (it said "holds 15 hyperparameters in … bytes; this run has 15"). */
  g_autofree char *cut_message = g_strdup_printf ("the optimiser state of %" G_GSIZE_FORMAT " hyperparameters is %"
                                                  G_GSIZE_FORMAT " bytes; expected %" G_GSIZE_FORMAT " (%"
                                                  G_GSIZE_FORMAT " without", n, size - 12, size, size - 8);
  g_assert_nonnull (strstr (error->message, cut_message));
  g_clear_error (&error);
  /* A best meta-iteration after the last one is named as that. */
  g_autofree guint8 *late_best = g_memdup2 (bytes, size);
  guint64 five = 5, six = 6;
  g_assert_cmpmem (late_best + 8, 8, &five, 8);   /* the iteration count */
  memcpy (late_best + old_header, &six, 8);       /* the best meta-iteration */
  g_autoptr (GBytes) late_state = g_bytes_new (late_best, size);
  g_assert_false (drmad_meta_load_state (from_old, late_state, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "best meta-iteration (6) comes after its last (5)"));
  g_clear_error (&error);

  /* A wild step (±40 on log η) is projected onto η ∈ [1e-12, 100] (drmad_hyper_clamp_range): the entries it
   * takes past a bound sit on it. Training at η = 100 blows up, so the next meta-iteration is rejected and θ is
   * the accepted point moved by the halved step, projected again. */
  meta_config.learning_rate = 40;
  g_autoptr (DrmadMeta) wild = drmad_meta_new (p.net, hyper, p.train, p.val, &reverse, &meta_config, &error);
  g_autofree double *before = g_memdup2 (drmad_hyper_get_values (hyper), n * sizeof (double));
  const double lo = log (DRMAD_HYPER_RATE_MIN), hi = log (DRMAD_HYPER_RATE_MAX);
  g_autoptr (DrmadMetaReport) accepted_first = drmad_meta_step (wild, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (accepted_first->rejected);
  const double *theta = drmad_hyper_get_values (hyper);
  guint on_bound = 0;
  for (gsize i = 0; i < n; i++) {
    /* (a bound is the logarithm moved inside by at most a few bits: drmad_hyper_clamp_range) */
    g_assert_true (fabs (theta[i] - CLAMP (before[i] + 40, lo, hi)) < 1e-13
                   || fabs (theta[i] - CLAMP (before[i] - 40, lo, hi)) < 1e-13);
    on_bound += fabs (theta[i] - before[i]) < 40;
    g_assert_cmpfloat (exp (theta[i]), >=, DRMAD_HYPER_RATE_MIN);
    g_assert_cmpfloat (exp (theta[i]), <=, DRMAD_HYPER_RATE_MAX);
  }
  g_assert_cmpuint (on_bound, >, 0);
  g_assert_cmpuint (accepted_first->clamped, ==, on_bound);
  g_autoptr (DrmadMetaReport) blown = drmad_meta_step (wild, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (blown->rejected);
  g_test_message ("rejected: %s", blown->event);
  g_assert_cmpfloat (drmad_meta_get_learning_rate (wild), ==, 20);
  for (gsize i = 0; i < n; i++) {
    g_assert_true (fabs (theta[i] - CLAMP (before[i] + 20, lo, hi)) < 1e-13
                   || fabs (theta[i] - CLAMP (before[i] - 20, lo, hi)) < 1e-13);
    g_assert_cmpfloat (exp (theta[i]), >=, DRMAD_HYPER_RATE_MIN);
    g_assert_cmpfloat (exp (theta[i]), <=, DRMAD_HYPER_RATE_MAX);
  }
  g_autoptr (DrmadMetaReport) next = drmad_meta_step (wild, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (next);
  problem_teardown (&p);
}

/* --warm-start: one group after another, the move of the grid with the
 * lowest validation loss, against the same coordinate search done here
 * by training each candidate directly. */
static void
test_warm_start (void)
{
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  config_all_groups (&config, DRMAD_L2_PER_NEURON, 30);
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  g_autoptr (DrmadHyper) probe = drmad_hyper_new (p.net, &config, &error);
  gsize n = drmad_hyper_get_n (hyper);
  g_autofree double *expected = g_memdup2 (drmad_hyper_get_values (hyper), n * sizeof (double));
  g_autofree double *trial = g_new (double, n);
  const guint points = 3;
  for (guint g = 0; g < drmad_hyper_get_n_groups (hyper); g++) {
    gsize first, count;
    drmad_hyper_get_group_span (hyper, g, &first, &count);
    const char *group = drmad_hyper_get_group_name (hyper, g);
    double half = g_str_equal (group, "l2") ? log (100) : g_str_equal (group, "momentum") ? 2 : log (10);
    double best_shift = 0, best = INFINITY;
    for (guint k = 0; k < points; k++) {
      double shift = -half + 2 * half * k / (points - 1);
      memcpy (trial, expected, n * sizeof (double));
      for (gsize i = first; i < first + count; i++)
        trial[i] += shift;
      CHECK (drmad_hyper_set_values (probe, trial, &error));
      double loss = validation_loss (&p, probe, 13);
      g_test_message ("%s shift %+.4f: validation loss %.6f", group, shift, loss);
      if (loss < best - 1e-12 * (shift != 0)) {   /* the unmoved θ wins a tie, as in the library */
        best = loss;
        best_shift = shift;
      }
    }
    for (gsize i = first; i < first + count; i++)
      expected[i] += best_shift;
  }
  DrmadReverseConfig reverse = { .method = DRMAD_METHOD_EXACT, .seed = 13 };
  DrmadMetaConfig meta_config;
  drmad_meta_config_init (&meta_config);
  g_autoptr (DrmadMeta) meta = drmad_meta_new (p.net, hyper, p.train, p.val, &reverse, &meta_config, &error);
  g_assert_no_error (error);
  g_autofree char *summary = NULL;
  CHECK (drmad_meta_warm_start (meta, 0, NULL, NULL, NULL, &error));
  CHECK (drmad_meta_warm_start (meta, points, NULL, NULL, &summary, &error));
  g_test_message ("warm start: %s", summary);
  g_assert_nonnull (strstr (summary, "l2 ×"));
  g_assert_nonnull (strstr (summary, "; momentum logit "));
  const double *theta = drmad_hyper_get_values (hyper);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat_with_epsilon (theta[i], expected[i], 1e-12);
  /* After a meta-iteration it is refused, θ untouched. */
  g_autoptr (DrmadMetaReport) report = drmad_meta_step (meta, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autofree double *after = g_memdup2 (drmad_hyper_get_values (hyper), n * sizeof (double));
  g_assert_false (drmad_meta_warm_start (meta, points, NULL, NULL, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  g_assert_cmpmem (drmad_hyper_get_values (hyper), n * sizeof (double), after, n * sizeof (double));
  problem_teardown (&p);
}


/* What drmad-hypergradient.h says of drmad_reverse_config_describe() and
 * of drmad_fidelity_compute()'s edge cases, checked as written there. */
static void
test_documented_edges (void)
{
  DrmadReverseConfig truncated = { .method = DRMAD_METHOD_TRUNCATED, .reverse_steps = 40, .checkpoint_every = 7 };
  g_autofree char *text = drmad_reverse_config_describe (&truncated, 200);
  g_assert_cmpstr (text, ==, "truncated R=40 k=7");
  const double a[3] = { 1, -2, 0 }, zero[3] = { 0, 0, 0 };
  DrmadFidelity none = drmad_fidelity_compute (a, a, 1, 0);
  g_assert_cmpfloat (none.cosine, ==, 1);
  g_assert_cmpfloat (none.relative_error, ==, 0);
  g_assert_cmpfloat (none.sign_agreement, ==, 1);
  DrmadFidelity both_zero = drmad_fidelity_compute (zero, zero, 0, 3);
  g_assert_cmpfloat (both_zero.cosine, ==, 1);
  g_assert_cmpfloat (both_zero.relative_error, ==, 0);
  g_assert_cmpfloat (both_zero.sign_agreement, ==, 1);
  DrmadFidelity against_zero = drmad_fidelity_compute (a, zero, 0, 3);
  g_assert_cmpfloat (against_zero.cosine, ==, 0);
  g_assert_true (isinf (against_zero.relative_error) && against_zero.relative_error > 0);
  g_assert_cmpfloat (against_zero.sign_agreement, ==, 1.0 / 3);   /* only the zero entry agrees */
  /* A NaN: cosine and relative error NaN, the sign agreement a fraction that counts it as a zero sign. */
  const double with_nan[3] = { NAN, -2, 0 }, signs[3] = { 0, -1, 1 };
  DrmadFidelity nan_fidelity = drmad_fidelity_compute (with_nan, signs, 0, 3);
  g_assert_true (isnan (nan_fidelity.cosine));
  g_assert_true (isnan (nan_fidelity.relative_error));
  g_assert_cmpfloat (nan_fidelity.sign_agreement, ==, 2.0 / 3);   /* NaN against 0, −2 against −1 */
}

/* Whether @text prints a size in SI units (kB, MB, GB, TB, PB, EB). */
static gboolean
has_si_size (const char *text)
{
  static const char *const units[] = { " kB", " MB", " GB", " TB", " PB", " EB",
                                       "\u00a0kB", "\u00a0MB", "\u00a0GB", "\u00a0TB", "\u00a0PB", "\u00a0EB" };
  for (guint i = 0; i < G_N_ELEMENTS (units); i++)
    if (strstr (text, units[i]))
      return TRUE;
  return FALSE;
}

/* One size reads the same in every message: powers of 1024, as
 * --memory-budget takes them. drmad_reverse_config_resolve() said "405.0
 * TiB" of an exact pass and drmad_hypergradient_check_memory() "445.3 TB"
 * of the same one. The reference is GLib's IEC text of the pass's size. */
static void
test_memory_units (void)
{
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  drmad_hyper_config_init (&config);
  config.steps = G_GUINT64_CONSTANT (1) << 62;
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  g_assert_no_error (error);
  DrmadReverseConfig reverse = { .method = DRMAD_METHOD_EXACT };
  guint64 bytes = drmad_hypergradient_device_bytes (p.net, hyper, &reverse);
  g_autofree char *size = g_format_size_full (bytes, G_FORMAT_SIZE_IEC_UNITS);
  /* auto: exact does not fit, and the reason says what it needs */
  DrmadReverseConfig automatic = { .method = DRMAD_METHOD_AUTO }, resolved;
  g_autofree char *reason = NULL;
  CHECK (drmad_reverse_config_resolve (p.net, hyper, &automatic, &resolved, &reason, &error));
  g_test_message ("resolve: %s", reason);
  g_assert_nonnull (strstr (reason, size));
  g_assert_false (has_si_size (reason));
  g_assert_false (drmad_hypergradient_check_memory (p.net, hyper, &reverse, &error));
  g_test_message ("check_memory: %s", error->message);
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, size));   /* the same pass, the same text (a CPU's host arrays: KiB) */
  g_assert_false (has_si_size (error->message));
  problem_teardown (&p);
}

/* Every double of a saved optimiser state is checked on load: NaN at the
 * meta learning rate, the best loss, any entry of θ, the moments, the
 * accepted point or the best θ is refused as damaged, naming the field, and
 * leaves the optimiser as it was; so are values outside a field's range. */
static void
test_state_every_double (void)
{
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  drmad_hyper_config_init (&config);
  config.steps = 10;
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  DrmadReverseConfig reverse = { .method = DRMAD_METHOD_EXACT, .reverse_steps = G_MAXUINT64 };
  DrmadMetaConfig meta_config;
  drmad_meta_config_init (&meta_config);
  g_autoptr (DrmadMeta) meta = drmad_meta_new (p.net, hyper, p.train, p.val, &reverse, &meta_config, &error);
  g_assert_no_error (error);
  g_autoptr (DrmadMetaReport) first = drmad_meta_step (meta, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GBytes) state = drmad_meta_save_state (meta);
  gsize n = drmad_hyper_get_n (hyper), size;
  const guint8 *bytes = g_bytes_get_data (state, &size);
  const gsize header = 8 * 8;   /* lib/meta.c StateHeader: five counters, two doubles, the best iteration */
  g_assert_cmpuint (size, ==, header + 8 * n * sizeof (double));
  g_autofree double *theta = g_memdup2 (drmad_hyper_get_values (hyper), n * sizeof (double));
  const double rate = drmad_meta_get_learning_rate (meta);
  static const char *const fields[8] = { "θ", "first moment", "second moment", "accepted θ", "accepted hypergradient",
                                         "accepted first moment", "accepted second moment", "best θ" };
  /* Offsets 40 and 48: the meta learning rate and the best validation loss; then the 8 vectors. */
  for (gsize offset = 40; offset < size; offset += 8) {
    if (offset == 56)
      continue;   /* the best iteration, a count */
    for (guint kind = 0; kind < 3; kind++) {
      double bad = kind == 0 ? NAN : kind == 1 ? INFINITY : -INFINITY;
      g_autofree guint8 *copy = g_memdup2 (bytes, size);
      memcpy (copy + offset, &bad, 8);
      g_autoptr (GBytes) damaged = g_bytes_new (copy, size);
      if (kind == 1 && offset == 48)
        continue;   /* an infinite best loss is "none yet" */
      gsize vector = offset >= header ? (offset - header) / 8 / n : 0;
      if (kind == 1 && (vector == 2 || vector == 6)) {
        /* +Inf in a second moment, what a run could write itself: loaded as the most the update
         * now makes it, the square of the 1e150 Adam's g is held to (lib/meta.c). */
        CHECK (drmad_meta_load_state (meta, damaged, &error));
        g_autoptr (GBytes) again = drmad_meta_save_state (meta);
        const double largest = 1e150 * 1e150;
        memcpy (copy + offset, &largest, 8);
        g_assert_cmpmem (g_bytes_get_data (again, NULL), g_bytes_get_size (again), copy, size);
        CHECK (drmad_meta_load_state (meta, state, &error));
        continue;
      }
      g_assert_false (drmad_meta_load_state (meta, damaged, &error));
      g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_CORRUPT);
      const char *field = offset == 40 ? "meta learning rate" : offset == 48 ? "best validation loss"
                          : fields[(offset - header) / 8 / n];
      g_autofree char *value = NULL;
      if (offset >= header)
        value = g_strdup_printf ("(value %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT ", %s)", (offset - header) / 8 % n + 1,
                                 n, drmad_hyper_get_name (hyper, (offset - header) / 8 % n));
      if (!strstr (error->message, field) || (value && !strstr (error->message, value)))
        g_error ("offset %" G_GSIZE_FORMAT ": %s names neither %s nor %s", offset, error->message, field, value);
      g_clear_error (&error);
      g_assert_cmpmem (drmad_hyper_get_values (hyper), n * sizeof (double), theta, n * sizeof (double));
      g_assert_cmpfloat (drmad_meta_get_learning_rate (meta), ==, rate);
    }
  }
  /* A negative meta learning rate, a negative best loss, a θ past the ±700 drmad_hyper_set_values()
   * holds it to: out of range, and the message says what was expected. */
  const struct { gsize offset; double value; const char *expected; } outside[] = {
    { 40, -0.05, "a finite number ≥ 0" }, { 40, NAN, "a finite number ≥ 0" }, { 48, -1, "≥ 0" },
    { header, 701, "[−700, 700]" }, { header + 7 * n * 8, -1e300, "[−700, 700]" },
  };
  for (guint k = 0; k < G_N_ELEMENTS (outside); k++) {
    g_autofree guint8 *copy = g_memdup2 (bytes, size);
    memcpy (copy + outside[k].offset, &outside[k].value, 8);
    g_autoptr (GBytes) damaged = g_bytes_new (copy, size);
    g_assert_false (drmad_meta_load_state (meta, damaged, &error));
    g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_CORRUPT);
    g_assert_nonnull (strstr (error->message, outside[k].expected));
    g_assert_null (strstr (error->message, "> 0"));
    g_clear_error (&error);
  }
  /* A meta learning rate of 0 or a subnormal one, which halving on every rejection reaches: loaded as it was
   * saved; and from a buffer that is not 8-aligned. */
  const double small_rates[] = { 0, 4.9e-324, 1e-310 };
  for (guint k = 0; k < G_N_ELEMENTS (small_rates); k++) {
    g_autofree guint8 *copy = g_malloc (size + 1);
    memcpy (copy + 1, bytes, size);
    memcpy (copy + 1 + 40, &small_rates[k], 8);
    g_autoptr (GBytes) small = g_bytes_new_static (copy + 1, size);
    CHECK (drmad_meta_load_state (meta, small, &error));
    g_assert_cmpfloat (drmad_meta_get_learning_rate (meta), ==, small_rates[k]);
    g_autoptr (GBytes) again = drmad_meta_save_state (meta);
    g_assert_cmpmem (g_bytes_get_data (again, NULL), g_bytes_get_size (again), copy + 1, size);
  }
  /* A whole state of another θ (momentum learned too) belongs to other settings: MISMATCH (drmad-error.h),
   * not CORRUPT, which it gave. */
  DrmadHyperConfig more = config;
  more.learn_momentum = TRUE;
  g_autoptr (DrmadHyper) other = drmad_hyper_new (p.net, &more, &error);
  g_autoptr (DrmadMeta) other_meta = drmad_meta_new (p.net, other, p.train, p.val, &reverse, &meta_config, &error);
  g_assert_no_error (error);
  g_assert_false (drmad_meta_load_state (other_meta, state, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_MISMATCH);
  g_clear_error (&error);
  /* The state as saved still loads, and the optimiser steps on from it. */
  CHECK (drmad_meta_load_state (meta, state, &error));
  g_autoptr (DrmadMetaReport) second = drmad_meta_step (meta, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (isfinite (drmad_meta_get_learning_rate (meta)));
  problem_teardown (&p);
}

/* A reduce hook standing in for a hypergradient component of 1e160
 * (@user_data: the value): g·g overflows to +Inf. */
static gboolean
huge_component (double *gradient, gsize n, DrmadMetaScalars *scalars, gpointer user_data, GError **error)
{
  gradient[0] = *(const double *) user_data;
  return TRUE;
}

/* Adam's second moment (and SGD's velocity) of a hypergradient component
 * beyond 1.34e154: the run went on with +Inf in its state and saved it in
 * every later checkpoint, which the load then refused as CORRUPT. Now the
 * state stays finite and loads as saved, Adam's component moves by the
 * learning rate at every step; a state with the +Inf an earlier version
 * wrote loads with 1e150² (Adam) or the largest double (SGD) in its place. */
static void
test_state_huge_hypergradient (void)
{
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  g_autoptr (GError) error = NULL;
  for (guint algorithm = 0; algorithm < 2; algorithm++) {
    DrmadHyperConfig config;
    drmad_hyper_config_init (&config);
    config.steps = 10;
    g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
    DrmadReverseConfig reverse = { .method = DRMAD_METHOD_EXACT, .reverse_steps = G_MAXUINT64 };
    DrmadMetaConfig meta_config;
    drmad_meta_config_init (&meta_config);
    g_assert_cmpfloat (meta_config.clip, ==, 0);
    /* SGD: -1e308 twice makes a velocity past the largest double (0.9 · 1e308 + 1e308). */
    double value = 1e160;
    if (algorithm == 1)
      meta_config.algorithm = DRMAD_META_SGD, value = -1e308;
    g_autoptr (DrmadMeta) meta = drmad_meta_new (p.net, hyper, p.train, p.val, &reverse, &meta_config, &error);
    g_assert_no_error (error);
    drmad_meta_set_reduce (meta, huge_component, &value);
    for (guint k = 0; k < 3; k++) {
      double before = drmad_hyper_get_values (hyper)[0], rate = drmad_meta_get_learning_rate (meta);
      g_autoptr (DrmadMetaReport) report = drmad_meta_step (meta, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_false (report->rejected);   /* the run goes on with the huge component */
      /* Adam's step with the same g every time is the learning rate against g's
       * sign, whatever g's size (m̂ / √ŝ = g / |g|): the component moves down by
       * it at every meta-iteration, not to a bound once and then not at all. */
      if (algorithm == 0)
        g_assert_cmpfloat_with_epsilon (drmad_hyper_get_values (hyper)[0], before - rate, 1e-9);
    }
    g_autoptr (GBytes) state = drmad_meta_save_state (meta);
    gsize n = drmad_hyper_get_n (hyper), size;
    const guint8 *bytes = g_bytes_get_data (state, &size);
    const gsize header = 8 * 8;   /* lib/meta.c StateHeader */
    /* The moment of component 0 (vector 2, Adam's second moment; vector 1, SGD's velocity): finite. Adam's
     * g held to 1e150: s = (1 − 0.999³) · 1e300 after three steps; SGD's velocity at the largest double. */
    double moment;
    memcpy (&moment, bytes + header + (algorithm == 0 ? 2 : 1) * n * 8, 8);
    g_assert_true (isfinite (moment));
    if (algorithm == 0)
      g_assert_cmpfloat_with_epsilon (moment / 1e300, 1 - pow (0.999, 3), 1e-12);
    else
      g_assert_cmpfloat (fabs (moment), ==, G_MAXDOUBLE);
    CHECK (drmad_meta_load_state (meta, state, &error));
    g_autoptr (GBytes) again = drmad_meta_save_state (meta);
    g_assert_true (g_bytes_equal (state, again));
    /* The +Inf an earlier version saved, in the moment and the accepted moment (vectors 2 and 6, or 1 and 5):
     * loads, and what is saved next equals the state with the mapped value there. */
    g_autofree guint8 *old = g_memdup2 (bytes, size);
    g_autofree guint8 *expected = g_memdup2 (bytes, size);
    const gsize offsets[2] = { header + (algorithm == 0 ? 2 : 1) * n * 8, header + (algorithm == 0 ? 6 : 5) * n * 8 };
    for (guint k = 0; k < 2; k++) {
      double inf = algorithm == 1 && k == 1 ? -INFINITY : INFINITY;
      /* Adam's second moment: the square of the 1e150 its g is held to; SGD's velocity: the largest double */
      double largest = algorithm == 0 ? 1e150 * 1e150 : inf > 0 ? G_MAXDOUBLE : -G_MAXDOUBLE;
      memcpy (old + offsets[k], &inf, 8);
      memcpy (expected + offsets[k], &largest, 8);
    }
    g_autoptr (GBytes) old_state = g_bytes_new (old, size);
    CHECK (drmad_meta_load_state (meta, old_state, &error));
    g_autoptr (GBytes) mapped = drmad_meta_save_state (meta);
    g_assert_cmpmem (g_bytes_get_data (mapped, NULL), g_bytes_get_size (mapped), expected, size);
    /* And steps on from it: Adam's component still moves (mapped to the
     * largest double, its corrected second moment overflowed and the step
     * was 2e-7; SGD's sits at its range's bound, where the velocity put it). */
    double before = drmad_hyper_get_values (hyper)[0];
    g_autoptr (DrmadMetaReport) next = drmad_meta_step (meta, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_false (next->rejected);
    if (algorithm == 0)
      g_assert_cmpfloat (fabs (drmad_hyper_get_values (hyper)[0] - before), >, 1e-3 * drmad_meta_get_learning_rate (meta));
    g_clear_pointer (&meta, drmad_meta_free);   /* before the net it borrows */
  }
  problem_teardown (&p);
}

/* A learned initial scale past float32's range (θ = 95, e^95 ≈ 1.8e41,
 * which drmad_hyper_set_values() accepts up to 700) in a float32 net: the
 * training diverges (DRMAD_ERROR_DIVERGED, which the meta-step rejects) as
 * before 2026-12-05, not INVALID_ARGUMENT naming a parameter the caller
 * never passed; drmad_net_set_params() with those weights is still refused. */
static void
test_init_scale_past_float32 (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadDevice) device = drmad_device_open (NULL, &error);
  if (!device) {
    g_test_skip (error->message);
    return;
  }
  float x[60 * 6];
  gint32 y[60];
  for (int i = 0; i < 60; i++) {
    y[i] = i % 3;
    for (int k = 0; k < 6; k++)
      x[i * 6 + k] = (k % 3 == y[i]) + 0.1f * ((i * 7 + k) % 5);
  }
  g_autoptr (DrmadDataset) set = drmad_dataset_new_from_arrays (60, 6, 3, x, y, &error);
  g_assert_no_error (error);
  g_autoptr (DrmadDeviceData) train = drmad_device_data_new (device, DRMAD_PRECISION_FLOAT32, set, &error);
  g_assert_no_error (error);
  g_autoptr (DrmadNet) net = drmad_net_new (device, sizes, G_N_ELEMENTS (sizes), DRMAD_ACTIVATION_TANH,
                                            DRMAD_PRECISION_FLOAT32, 8, &error);
  g_assert_no_error (error);
  DrmadHyperConfig config;
  drmad_hyper_config_init (&config);
  config.steps = 10;
  config.learn_init_scale = TRUE;
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (net, &config, &error);
  g_assert_no_error (error);
  gsize n = drmad_hyper_get_n (hyper);
  g_autofree double *values = g_memdup2 (drmad_hyper_get_values (hyper), n * sizeof (double));
  guint found = 0;
  for (gsize i = 0; i < n; i++)
    if (drmad_hyper_get_entry (hyper, i).kind == DRMAD_GROUP_INIT)
      values[i] = 95, found++;
  g_assert_cmpuint (found, >, 0);
  CHECK (drmad_hyper_set_values (hyper, values, &error));
  double loss = 0;
  g_assert_false (drmad_hyper_train (net, hyper, train, 1, NULL, NULL, &loss, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_DIVERGED);
  g_clear_error (&error);
  /* The same weights (e^95 times the first layer's draws, 1.8e41 times a draw past float32's 3.4e38) from a
   * caller: refused, naming the first weight (counted from 1). */
  gsize p = drmad_net_get_n_params (net);
  g_autofree double *weights = g_new0 (double, p);
  gsize first = 0;
  drmad_net_get_layer_span (net, 1, &first, NULL, NULL);
  weights[first] = exp (95.0);
  g_assert_false (drmad_net_set_params (net, weights, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  g_autofree char *named = g_strdup_printf ("parameter %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " is ", first + 1, p);
  g_assert_nonnull (strstr (error->message, named));
}

/* The bold driver (divergence factor 1, growth 2): a step that improves
 * on the best doubles the meta learning rate, any other is rejected and
 * halves it; the rate in every report against that rule. */
static void
test_learning_rate_growth (void)
{
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  config_all_groups (&config, DRMAD_L2_PER_LAYER, 30);
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  DrmadReverseConfig reverse = { .method = DRMAD_METHOD_EXACT, .seed = 13 };
  DrmadMetaConfig meta_config;
  drmad_meta_config_init (&meta_config);
  meta_config.divergence_factor = 1;
  meta_config.learning_rate_growth = 2;
  meta_config.learning_rate = 0.2;
  g_autoptr (DrmadMeta) meta = drmad_meta_new (p.net, hyper, p.train, p.val, &reverse, &meta_config, &error);
  g_assert_no_error (error);
  double rate = 0.2, best = INFINITY;
  guint grown = 0, rejected = 0;
  for (guint it = 0; it < 8; it++) {
    g_autoptr (DrmadMetaReport) report = drmad_meta_step (meta, NULL, NULL, &error);
    g_assert_no_error (error);
    if (report->rejected) {
      rate /= 2;
      rejected++;
      g_assert_false (report->val_loss <= best);   /* worse, or not measured (NaN) */
    } else {
      g_assert_cmpfloat (report->val_loss, <=, best);
      if (isfinite (best) && report->val_loss < best) {
        rate *= 2;
        grown++;
      }
      best = MIN (best, report->val_loss);
    }
    g_test_message ("meta-iteration %u: validation loss %.6f%s, meta learning rate %g", report->iteration,
                    report->val_loss, report->rejected ? " (rejected)" : "", report->meta_learning_rate);
    g_assert_cmpfloat (report->meta_learning_rate, ==, rate);
  }
  g_assert_cmpuint (grown, >=, 1);
  g_assert_cmpuint (rejected, >=, 1);
  /* Out of range: refused. */
  meta_config.learning_rate_growth = 0.5;
  g_assert_null (drmad_meta_new (p.net, hyper, p.train, p.val, &reverse, &meta_config, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  problem_teardown (&p);
}

typedef struct {
  guint64 calls, last_step, last_total, stop_at;
  char   *last_phase;
} CancelState;

static gboolean
cancel_in_reverse (const char *phase, guint64 step, guint64 total, gpointer user_data)
{
  CancelState *state = user_data;
  state->calls++;
  state->last_step = step;
  state->last_total = total;
  g_free (state->last_phase);
  state->last_phase = g_strdup (phase);
  return !(g_str_equal (phase, "reverse") && step == state->stop_at);
}

/* A cancel in the reverse pass stops at the step that asked, and says so
 * in the terms of the progress the caller saw. Exact at T = 60 keeps
 * checkpoints 8 steps apart: the last segment (4 steps) is recomputed
 * first, as "reverse" 1 to 4 of 120, then reversed from 5. A cancel at 3,
 * within the recomputation, said "recompute cancelled at step 59 of 60", a
 * phase and a count the caller never saw. */
static void
test_cancel (void)
{
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  DrmadHyperConfig config;
  config_all_groups (&config, DRMAD_L2_PER_LAYER, 60);
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, NULL);
  DrmadReverseConfig reverse = { .method = DRMAD_METHOD_EXACT, .seed = 1 };
  const guint64 stops[] = { 5, 3 };   /* reversing, recomputing */
  for (guint i = 0; i < G_N_ELEMENTS (stops); i++) {
    g_autoptr (GError) error = NULL;
    CancelState state = { .stop_at = stops[i] };
    g_autoptr (DrmadHypergradient) result = drmad_hypergradient_compute (p.net, hyper, p.train, p.val, &reverse,
                                                                         cancel_in_reverse, &state, &error);
    g_assert_null (result);
    g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_CANCELLED);
    g_test_message ("%s", error->message);
    g_assert_cmpstr (state.last_phase, ==, "reverse");
    g_assert_cmpuint (state.last_step, ==, stops[i]);     /* nothing ran past the step that asked to stop */
    g_assert_cmpuint (state.calls, ==, 60 + stops[i]);
    g_assert_cmpuint (state.last_total, ==, 120);
    g_autofree char *expected = g_strdup_printf ("reverse cancelled at step %" G_GUINT64_FORMAT " of 120", stops[i]);
    g_assert_cmpstr (error->message, ==, expected);
    g_free (state.last_phase);
  }
  problem_teardown (&p);
}

static gboolean
cancel_in_fidelity (const char *phase, guint64 step, guint64 total, gpointer user_data)
{
  CancelState *state = user_data;
  state->calls++;
  state->last_step = step;
  state->last_total = total;
  g_free (state->last_phase);
  state->last_phase = g_strdup (phase);
  return !(g_str_equal (phase, "fidelity") && step == 3);
}

/* Cancelled while the callback is in phase "fidelity" (the reference pass of
 * a DrMAD meta-step), the error names that phase and the step and total
 * the callback was given; it named the reference pass's own ("train
 * cancelled at step 3 of 20"), a phase the callback never saw. */
static void
test_cancel_in_fidelity (void)
{
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  drmad_hyper_config_init (&config);
  config.steps = 20;
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  DrmadReverseConfig reverse = { .method = DRMAD_METHOD_DRMAD, .seed = 1, .reverse_steps = G_MAXUINT64 };
  DrmadMetaConfig meta_config;
  drmad_meta_config_init (&meta_config);
  meta_config.fidelity_every = 1;
  g_autoptr (DrmadMeta) meta = drmad_meta_new (p.net, hyper, p.train, p.val, &reverse, &meta_config, &error);
  g_assert_no_error (error);
  g_assert_null (drmad_meta_get_no_fidelity_reason (meta));
  CancelState state = { 0 };
  g_autoptr (DrmadMetaReport) report = drmad_meta_step (meta, cancel_in_fidelity, &state, &error);
  g_assert_null (report);
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_CANCELLED);
  g_assert_cmpstr (state.last_phase, ==, "fidelity");
  g_assert_cmpuint (state.last_step, ==, 3);
  g_autofree char *expected = g_strdup_printf ("fidelity cancelled at step 3 of %" G_GUINT64_FORMAT, state.last_total);
  g_assert_cmpstr (error->message, ==, expected);
  g_free (state.last_phase);
  problem_teardown (&p);
}

typedef struct {
  DrmadNet           *net;
  DrmadHyper         *hyper;
  Problem            *problem;
  DrmadHypergradient *result;
  GError             *error;
} SharedDeviceJob;

static gpointer
shared_device_job (gpointer data)
{
  SharedDeviceJob *job = data;
  DrmadReverseConfig reverse = { .method = DRMAD_METHOD_EXACT, .seed = 3 };
  job->result = drmad_hypergradient_compute (job->net, job->hyper, job->problem->train, job->problem->val,
                                             &reverse, NULL, NULL, &job->error);
  return NULL;
}

/* Two threads with a net each on one shared device (and the same device
 * data) compute hypergradients at once, as drmad.h ("Threads") allows:
 * each gets what it gets alone, bit for bit, and the device holds no more
 * afterwards than before. */
static void
test_threads_share_a_device (void)
{
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadNet) second = drmad_net_new (p.device, sizes, G_N_ELEMENTS (sizes), DRMAD_ACTIVATION_TANH,
                                               DRMAD_PRECISION_FLOAT64, 8, &error);
  g_assert_no_error (error);
  DrmadHyperConfig config;
  config_all_groups (&config, DRMAD_L2_PER_NEURON, 30);
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  g_autoptr (DrmadHyper) second_hyper = drmad_hyper_new (second, &config, &error);
  g_assert_no_error (error);
  SharedDeviceJob alone = { p.net, hyper, &p };
  shared_device_job (&alone);
  g_assert_no_error (alone.error);
  guint64 held = drmad_device_get_allocated_bytes (p.device);
  SharedDeviceJob jobs[2] = { { p.net, hyper, &p }, { second, second_hyper, &p } };
  GThread *threads[2];
  for (guint i = 0; i < 2; i++)
    threads[i] = g_thread_new ("shared-device", shared_device_job, &jobs[i]);
  for (guint i = 0; i < 2; i++) {
    g_thread_join (threads[i]);
    g_assert_no_error (jobs[i].error);
    g_assert_cmpfloat (jobs[i].result->val_loss, ==, alone.result->val_loss);
    g_assert_cmpmem (jobs[i].result->gradient, alone.result->n * sizeof (double),
                     alone.result->gradient, alone.result->n * sizeof (double));
    drmad_hypergradient_free (jobs[i].result);
  }
  g_assert_cmpuint (drmad_device_get_allocated_bytes (p.device), ==, held);
  drmad_hypergradient_free (alone.result);
  g_clear_pointer (&second, drmad_net_free);
  problem_teardown (&p);
}

/* A meta-optimisation as a server runs one per thread (drmad.h, "Threads"):
 * its own net, θ and meta over data shared by all, on a device of its own
 * or a shared one; every report's numbers and θ at the end, and how many
 * meta-iterations a cancel from another thread cost (none: the cancelled
 * one is run again). */
#define JOB_ITERATIONS 3
typedef struct {
  DrmadDevice     *device;        /* borrowed */
  DrmadDataset    *train_set, *val_set;
  DrmadActivation  activation;
  guint64          seed;
  gint             cancel;        /* set by another thread: the next progress call stops the step */
  gint             reported;      /* progress calls so far */
  guint            cancels;
  GChecksum       *numbers;       /* of every report and θ */
  GError          *error;
} MetaJob;

static gboolean
meta_job_progress (const char *phase, guint64 step, guint64 total, gpointer data)
{
  MetaJob *job = data;
  g_atomic_int_inc (&job->reported);
  return !g_atomic_int_compare_and_exchange (&job->cancel, 1, 0);
}

static gpointer
meta_job_run (gpointer data)
{
  MetaJob *job = data;
  static const guint job_sizes[] = { 20, 16, 3 };
  GError **error = &job->error;
  g_autoptr (DrmadDeviceData) train = drmad_device_data_new (job->device, DRMAD_PRECISION_FLOAT32, job->train_set, error);
  g_autoptr (DrmadDeviceData) val = train ? drmad_device_data_new (job->device, DRMAD_PRECISION_FLOAT32, job->val_set, error) : NULL;
  /* 2 × DRMAD_TEAM_MIN_ROWS rows: the steps of two jobs contend for the host team */
  g_autoptr (DrmadNet) net = val ? drmad_net_new (job->device, job_sizes, 3, job->activation, DRMAD_PRECISION_FLOAT32,
                                                  2 * DRMAD_TEAM_MIN_ROWS, error) : NULL;
  if (!net)
    return NULL;
  DrmadHyperConfig config;
  config_all_groups (&config, DRMAD_L2_PER_LAYER, 40);
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (net, &config, error);
  DrmadReverseConfig reverse = { .method = DRMAD_METHOD_DRMAD, .seed = job->seed, .reverse_steps = G_MAXUINT64 };
  DrmadMetaConfig meta_config;
  drmad_meta_config_init (&meta_config);
  meta_config.fidelity_every = 2;   /* an exact pass too, at meta-iterations 1 and 3 */
  g_autoptr (DrmadMeta) meta = hyper ? drmad_meta_new (net, hyper, train, val, &reverse, &meta_config, error) : NULL;
  if (!meta)
    return NULL;
  job->numbers = g_checksum_new (G_CHECKSUM_SHA256);
  while (drmad_meta_get_iteration (meta) < JOB_ITERATIONS) {
    g_autoptr (DrmadMetaReport) report = drmad_meta_step (meta, meta_job_progress, job, error);
    if (!report && g_error_matches (*error, DRMAD_ERROR, DRMAD_ERROR_CANCELLED)) {
      job->cancels++;
      g_clear_error (error);
      continue;
    }
    if (!report)
      return NULL;
    double numbers[] = { report->train_loss, report->val_loss, report->val_error, report->meta_learning_rate,
                         report->fidelity.cosine, report->rejected };
    g_checksum_update (job->numbers, (const guchar *) numbers, sizeof numbers);
    g_checksum_update (job->numbers, (const guchar *) report->group_norms, report->n_groups * sizeof (double));
  }
  g_checksum_update (job->numbers, (const guchar *) drmad_hyper_get_values (hyper),
                     drmad_hyper_get_n (hyper) * sizeof (double));
  return NULL;
}

/* Three float32 meta-optimisations on three threads, two on a shared device
 * and one on its own, the third cancelled from the main thread once it has
 * started: each gets its lone run's reports and θ bit for bit (drmad.h,
 * "Threads", Results), the cancelled step run again from where it was. */
static void
test_threads_meta_jobs (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadDevice) shared = drmad_device_open (NULL, &error);
  g_autoptr (DrmadDevice) own = shared ? drmad_device_open (NULL, &error) : NULL;
  if (!own) {
    g_test_skip (error->message);
    return;
  }
  /* On OpenBLAS's GEMMs a step alone and one on the host team differ in
   * the last bits, and which a job's step gets depends on the others. */
  gboolean blas_sums = drmad_device_get_gemm_path (own) == DRMAD_GEMM_HOST && !drmad_host_step_gemm_kernels ();
  if (blas_sums)
    drmad_team_set_threads (1);
  GRand *rand = g_rand_new_with_seed (8);
  g_autofree float *x = g_new (float, 200 * 20);
  gint32 y[200];
  for (guint i = 0; i < 200; i++) {
    y[i] = g_rand_int_range (rand, 0, 3);
    for (guint k = 0; k < 20; k++)
      x[i * 20 + k] = (k % 3 == (guint) y[i] ? 0.5 : 0.0) + g_rand_double_range (rand, -1, 1);
  }
  g_rand_free (rand);
  g_autoptr (DrmadDataset) train_set = drmad_dataset_new_from_arrays (120, 20, 3, x, y, &error);
  g_autoptr (DrmadDataset) val_set = drmad_dataset_new_from_arrays (80, 20, 3, x + 120 * 20, y + 120, &error);
  g_assert_no_error (error);
  MetaJob jobs[3], alone[3];
  for (guint i = 0; i < 3; i++) {
    jobs[i] = (MetaJob) { i < 2 ? shared : own, train_set, val_set, i == 1 ? DRMAD_ACTIVATION_RELU : DRMAD_ACTIVATION_TANH, 5 + i };
    alone[i] = jobs[i];
    alone[i].device = own;
    meta_job_run (&alone[i]);
    g_assert_no_error (alone[i].error);
    g_assert_cmpuint (alone[i].cancels, ==, 0);
  }
  GThread *threads[3];
  for (guint i = 0; i < 3; i++)
    threads[i] = g_thread_new ("meta-job", meta_job_run, &jobs[i]);
  while (g_atomic_int_get (&jobs[2].reported) == 0)
    g_usleep (100);
  g_atomic_int_set (&jobs[2].cancel, 1);
  for (guint i = 0; i < 3; i++) {
    g_thread_join (threads[i]);
    g_assert_no_error (jobs[i].error);
    g_assert_cmpstr (g_checksum_get_string (jobs[i].numbers), ==, g_checksum_get_string (alone[i].numbers));
    g_checksum_free (jobs[i].numbers);
    g_checksum_free (alone[i].numbers);
  }
  g_assert_cmpuint (jobs[2].cancels, ==, 1);
  drmad_team_set_threads (0);
}

typedef struct {
  DrmadMeta *meta;
  GBytes    *saved;
  GError    *inner_error;
  GError    *hook_error;
} ReloadState;

/* A reduction hook that changes nothing but tries the same load. */
static gboolean
reload_in_hook (double *gradient, gsize n, DrmadMetaScalars *scalars, gpointer user_data, GError **error)
{
  ReloadState *state = user_data;
  if (!drmad_meta_load_state (state->meta, state->saved, &state->hook_error) && !state->hook_error)
    g_assert_not_reached ();
  return TRUE;
}

static gboolean
reload_inside (const char *phase, guint64 step, guint64 total, gpointer user_data)
{
  ReloadState *state = user_data;
  if (g_str_equal (phase, "reverse")   /* the reverse pass's callbacks (the training's: test-net) */
      && !state->inner_error && !drmad_meta_load_state (state->meta, state->saved, &state->inner_error)
      && !state->inner_error)
    g_assert_not_reached ();
  return TRUE;
}

/* A progress callback of drmad_meta_step()'s reverse pass, or its
 * reduction hook, that loads a state into the same meta-optimiser would
 * change θ under the step: refused with DRMAD_ERROR_BUSY, and the step
 * ends as it would have. */
static void
test_reload_inside_step (void)
{
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  config_all_groups (&config, DRMAD_L2_PER_LAYER, 10);
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  g_autoptr (DrmadHyper) alone_hyper = drmad_hyper_new (p.net, &config, &error);
  DrmadReverseConfig reverse = { .method = DRMAD_METHOD_EXACT, .seed = 1 };
  DrmadMetaConfig meta_config;
  drmad_meta_config_init (&meta_config);
  meta_config.fidelity_every = 0;
  g_autoptr (DrmadMeta) meta = drmad_meta_new (p.net, hyper, p.train, p.val, &reverse, &meta_config, &error);
  g_autoptr (DrmadMeta) alone = drmad_meta_new (p.net, alone_hyper, p.train, p.val, &reverse, &meta_config, &error);
  g_assert_no_error (error);
  g_autoptr (DrmadMetaReport) first = drmad_meta_step (meta, NULL, NULL, &error);
  g_autoptr (DrmadMetaReport) first_alone = drmad_meta_step (alone, NULL, NULL, &error);
  g_assert_no_error (error);
  ReloadState state = { .meta = meta, .saved = drmad_meta_save_state (meta) };
  drmad_meta_set_reduce (meta, reload_in_hook, &state);
  g_autoptr (DrmadMetaReport) second = drmad_meta_step (meta, reload_inside, &state, &error);
  g_autoptr (DrmadMetaReport) second_alone = drmad_meta_step (alone, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_error (state.inner_error, DRMAD_ERROR, DRMAD_ERROR_BUSY);
  g_assert_error (state.hook_error, DRMAD_ERROR, DRMAD_ERROR_BUSY);
  g_assert_cmpuint (drmad_meta_get_iteration (meta), ==, 2);
  for (gsize i = 0; i < drmad_hyper_get_n (hyper); i++)
    g_assert_cmpfloat (drmad_hyper_get_values (hyper)[i], ==, drmad_hyper_get_values (alone_hyper)[i]);
  /* Outside the step the same state loads. */
  g_assert_true (drmad_meta_load_state (meta, state.saved, &error));
  g_assert_cmpuint (drmad_meta_get_iteration (meta), ==, 1);
  g_clear_error (&state.inner_error);
  g_clear_error (&state.hook_error);
  g_bytes_unref (state.saved);
  g_clear_pointer (&meta, drmad_meta_free);   /* before the net it borrows */
  g_clear_pointer (&alone, drmad_meta_free);
  problem_teardown (&p);
}

/* The reason a method chosen by hand comes with names the groups it gives no
 * hypergradient for, and it is true: DrMAD as its authors ran it (R < T)
 * gives exact zeros for the learning rates and momenta, truncated for the
 * initial scales; exact names none. */
static void
test_blind_groups (void)
{
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  config_all_groups (&config, DRMAD_L2_PER_LAYER, 20);
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  g_assert_no_error (error);
  const struct { DrmadMethod method; guint64 R; const char *said; DrmadGroupKind zero[2]; } cases[] = {
    { DRMAD_METHOD_DRMAD, 5, "no learning-rate or momentum hypergradient", { DRMAD_GROUP_LR, DRMAD_GROUP_MOMENTUM } },
    { DRMAD_METHOD_TRUNCATED, 5, "no initial-scale hypergradient", { DRMAD_GROUP_INIT, DRMAD_GROUP_INIT } },
    { DRMAD_METHOD_TRUNCATED, 20, NULL, { DRMAD_GROUP_L2, DRMAD_GROUP_L2 } },   /* R = T: exact, w_0 reached */
    { DRMAD_METHOD_EXACT, 5, NULL, { DRMAD_GROUP_L2, DRMAD_GROUP_L2 } },
  };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++) {
    DrmadReverseConfig reverse = { .method = cases[c].method, .seed = 1, .reverse_steps = cases[c].R };
    DrmadReverseConfig resolved;
    g_autofree char *reason = NULL;
    g_assert_true (drmad_reverse_config_resolve (p.net, hyper, &reverse, &resolved, &reason, &error));
    g_test_message ("%s", reason);
    g_assert_true (cases[c].said ? strstr (reason, cases[c].said) != NULL : strstr (reason, " no ") == NULL);
    g_autoptr (DrmadHypergradient) result = drmad_hypergradient_compute (p.net, hyper, p.train, p.val, &reverse,
                                                                         NULL, NULL, &error);
    g_assert_no_error (error);
    guint zeros = 0, nonzeros = 0;
    for (gsize i = 0; i < drmad_hyper_get_n (hyper); i++) {
      DrmadGroupKind kind = drmad_hyper_get_entry (hyper, i).kind;
      gboolean blind = cases[c].said && (kind == cases[c].zero[0] || kind == cases[c].zero[1]);
      if (blind)
        g_assert_cmpfloat (result->gradient[i], ==, 0);
      else if (!cases[c].said && kind == DRMAD_GROUP_INIT)
        g_assert_cmpfloat (result->gradient[i], !=, 0);
      zeros += blind;
      nonzeros += result->gradient[i] != 0;
    }
    g_assert_cmpuint (zeros, ==, cases[c].said ? (cases[c].zero[0] == cases[c].zero[1] ? 3 : 24) : 0);
    g_assert_cmpuint (nonzeros, >, 0);
  }
  problem_teardown (&p);
}

static void
test_names (void)
{
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  config_all_groups (&config, DRMAD_L2_PER_NEURON, 20);
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  g_assert_no_error (error);
  /* per-neuron L2: one per input unit of each matrix (6 + 5 + 4), then 3×4 lr, 3×4 momentum, 3 init */
  g_assert_cmpuint (drmad_hyper_get_n (hyper), ==, 15 + 12 + 12 + 3);
  g_assert_cmpstr (drmad_hyper_get_name (hyper, 0), ==, "l2/layer1/in0");
  g_assert_cmpstr (drmad_hyper_get_name (hyper, 15), ==, "lr/layer1/seg0");
  g_assert_cmpstr (drmad_hyper_get_name (hyper, 15 + 7), ==, "lr/layer2/seg3");
  g_assert_cmpstr (drmad_hyper_get_name (hyper, 27), ==, "momentum/layer1/seg0");
  g_assert_cmpstr (drmad_hyper_get_name (hyper, 41), ==, "init/layer3");
  g_assert_cmpfloat_with_epsilon (drmad_hyper_get_natural (hyper, 27), 0.5, 1e-12);
  g_assert_cmpfloat_with_epsilon (drmad_hyper_get_natural (hyper, 15), 0.3, 1e-12);
  g_assert_cmpfloat_with_epsilon (drmad_hyper_get_natural (hyper, 5), 0.01, 1e-12);
  /* The layout: each entry's group, layer, segment and unit, as the names say. */
  DrmadHyperEntry e = drmad_hyper_get_entry (hyper, 0);
  g_assert_cmpint (e.kind, ==, DRMAD_GROUP_L2);
  g_assert_cmpuint (e.layer, ==, 1);
  g_assert_cmpint (e.unit, ==, 0);
  e = drmad_hyper_get_entry (hyper, 14);   /* l2/layer3/in3: 6 + 5 units before it, then the 4th */
  g_assert_cmpstr (drmad_hyper_get_name (hyper, 14), ==, "l2/layer3/in3");
  g_assert_cmpuint (e.layer, ==, 3);
  g_assert_cmpint (e.unit, ==, 3);
  e = drmad_hyper_get_entry (hyper, 15 + 7);
  g_assert_cmpint (e.kind, ==, DRMAD_GROUP_LR);
  g_assert_cmpuint (e.layer, ==, 2);
  g_assert_cmpuint (e.segment, ==, 3);
  g_assert_cmpint (e.unit, ==, -1);
  g_assert_cmpint (drmad_hyper_get_entry (hyper, 27).kind, ==, DRMAD_GROUP_MOMENTUM);
  g_assert_cmpint (drmad_hyper_get_entry (hyper, 41).kind, ==, DRMAD_GROUP_INIT);
  /* From the widths alone, without a device: the same θ. */
  g_autoptr (DrmadHyper) bare = drmad_hyper_new_for_sizes (sizes, G_N_ELEMENTS (sizes), &config, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (drmad_hyper_get_n (bare), ==, drmad_hyper_get_n (hyper));
  for (gsize i = 0; i < drmad_hyper_get_n (hyper); i++) {
    g_assert_cmpstr (drmad_hyper_get_name (bare, i), ==, drmad_hyper_get_name (hyper, i));
    g_assert_cmpfloat (drmad_hyper_get_values (bare)[i], ==, drmad_hyper_get_values (hyper)[i]);
    DrmadHyperEntry a = drmad_hyper_get_entry (bare, i), b = drmad_hyper_get_entry (hyper, i);
    g_assert_true (a.kind == b.kind && a.layer == b.layer && a.segment == b.segment && a.unit == b.unit);
  }
  double bad[42] = { NAN };
  g_assert_false (drmad_hyper_set_values (hyper, bad, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_DIVERGED);
  g_assert_cmpfloat_with_epsilon (drmad_hyper_get_natural (hyper, 0), 0.01, 1e-12);
  problem_teardown (&p);
}

/* Every kernel walks its indices in chunks whose split depends on the launch
 * (kernels/nn.cl, FOR_CHUNK): GPUs one index per work-item, CPU devices a few
 * long chunks. The hypergradients (training, evaluation, gradient, HVP and
 * the reverse-step kernels) must not depend on the split: compare the default
 * (on a CPU device the fused host step of lib/net-host.c, which launches none
 * of them) against the kernels with their default split, with one index per
 * work-item (the GPU geometry) and with chunks of 7 (uneven, every boundary
 * exercised). */
static void
hypergradients_with_chunk (const char *chunk, DrmadHypergradient **exact, DrmadHypergradient **drmad)
{
  if (chunk) {
    /* the kernels, a launch per stage (DRMAD_HOST_STEP=0), with @chunk ("": the default) */
    g_setenv ("DRMAD_HOST_STEP", "0", TRUE);
    if (*chunk)
      g_setenv ("DRMAD_KERNEL_CHUNK", chunk, TRUE);
  }
  Problem p = { 0 };
  gboolean ready = problem_setup (&p, 8);
  g_unsetenv ("DRMAD_KERNEL_CHUNK");
  g_unsetenv ("DRMAD_HOST_STEP");
  if (!ready)
    return;
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  config_all_groups (&config, DRMAD_L2_PER_NEURON, 20);
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  g_assert_no_error (error);
  *exact = hypergradient (&p, hyper, DRMAD_METHOD_EXACT, 4, 0);
  *drmad = hypergradient (&p, hyper, DRMAD_METHOD_DRMAD, 0, 0);
  problem_teardown (&p);
}

static void
test_launch_geometry (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
  g_autoptr (DrmadHypergradient) exact = NULL, drmad = NULL;
  hypergradients_with_chunk (NULL, &exact, &drmad);
  if (!exact)
    return;
  const char *chunks[] = { "", "0", "7" };
  for (guint c = 0; c < G_N_ELEMENTS (chunks); c++) {
    g_autoptr (DrmadHypergradient) other_exact = NULL, other_drmad = NULL;
    hypergradients_with_chunk (chunks[c], &other_exact, &other_drmad);
    g_assert_nonnull (other_exact);
    double rel_exact = relative_error (other_exact->gradient, exact->gradient, 0, exact->n);
    double rel_drmad = relative_error (other_drmad->gradient, drmad->gradient, 0, drmad->n);
    double rel_dw0 = relative_error (other_exact->dw0, exact->dw0, 0, exact->n_params);
    g_test_message ("kernels, chunk %s, vs the default: exact %.3g, DrMAD %.3g, dw0 %.3g",
                    chunks[c][0] ? chunks[c] : "as on this device", rel_exact, rel_drmad, rel_dw0);
    g_assert_cmpfloat (rel_exact, <=, 1e-12);
    g_assert_cmpfloat (rel_drmad, <=, 1e-12);
    g_assert_cmpfloat (rel_dw0, <=, 1e-12);
    g_assert_cmpfloat (fabs (other_exact->val_loss - exact->val_loss), <=, 1e-12 * fabs (exact->val_loss));
  }
}


/* Plain C Hessian-vector product of the training loss on one minibatch:
 * central differences of the plain C gradient of the cross-entropy, plus
 * the L2 term exp(λ_l) u on the weights (docs/algorithm.md §3). */
static void
ref_hvp (const RefNet *ref, const Problem *p, const double *w, const double *u, const guint32 *idx, guint rows,
         const double *l2_of, double *out)
{
  gsize P = ref_n_params (ref);
  g_autofree double *plus = g_new (double, P), *minus = g_new (double, P);
  g_autofree double *gp = g_new (double, P), *gm = g_new (double, P);
  double eps = 1e-5;
  for (gsize j = 0; j < P; j++) {
    plus[j] = w[j] + eps * u[j];
    minus[j] = w[j] - eps * u[j];
  }
  ref_loss_grad (ref, plus, p->x, p->y, idx, rows, gp, NULL);
  ref_loss_grad (ref, minus, p->x, p->y, idx, rows, gm, NULL);
  for (gsize j = 0; j < P; j++)
    out[j] = (gp[j] - gm[j]) / (2 * eps) + l2_of[j] * u[j];
}

/* DrMAD as the authors ran it (docs/algorithm.md §2b): R points on the line with the
 * β grid linspace(0.001, 0.999, R), the minibatches of steps 0 … R−1, no
 * velocity. Against a plain C transcription of their loop (float64): the L2
 * and initial-scale hypergradients and dw_0 to rounding (the transcription's
 * HVP is a central difference: ~1e-9), and exactly zero for the learning
 * rate, which the loop cannot see. */
static void
test_drmad_authors_loop (void)
{
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  g_autoptr (GError) error = NULL;
  const guint64 T = 60, R = 6, seed = 13;
  DrmadHyperConfig config;
  config_all_groups (&config, DRMAD_L2_PER_LAYER, T);
  config.learn_momentum = FALSE;
  config.segments = 1;   /* constant η and γ, as in the authors' runs */
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  g_assert_no_error (error);
  DrmadReverseConfig reverse = { .method = DRMAD_METHOD_DRMAD, .seed = seed, .reverse_steps = R };
  g_autoptr (DrmadHypergradient) lib = drmad_hypergradient_compute (p.net, hyper, p.train, p.val, &reverse,
                                                                    NULL, NULL, &error);
  g_assert_no_error (error);

  /* The transcription. w_0 and w_T come from the library's own training
   * (tested elsewhere); everything after is plain C. */
  RefNet ref = { 3, sizes, DRMAD_ACTIVATION_TANH };
  gsize P = ref_n_params (&ref);
  g_assert_cmpuint (P, ==, drmad_net_get_n_params (p.net));
  g_autofree double *w0 = g_new (double, P), *wT = g_new (double, P), *dw = g_new (double, P);
  g_autofree double *dv = g_new0 (double, P), *u = g_new (double, P), *x = g_new (double, P);
  g_autofree double *hu = g_new (double, P), *eta = g_new (double, P), *gamma = g_new (double, P);
  g_autofree double *l2_of = g_new0 (double, P);
  double scales[3], dl2[3] = { 0 };
  for (guint l = 0; l < 3; l++)
    scales[l] = config.init_scale[l];
  CHECK (drmad_net_init_params (p.net, seed, scales, &error));
  CHECK (drmad_net_get_params (p.net, w0, &error));
  CHECK (drmad_hyper_train (p.net, hyper, p.train, seed, NULL, NULL, NULL, &error));
  CHECK (drmad_net_get_params (p.net, wT, &error));
  guint layer_of[512];
  g_assert_cmpuint (P, <=, G_N_ELEMENTS (layer_of));
  for (guint l = 1; l <= 3; l++) {
    gsize w_off, n_w, b_off;
    drmad_net_get_layer_span (p.net, l, &w_off, &n_w, &b_off);
    for (gsize j = w_off; j < b_off + sizes[l]; j++) {
      eta[j] = config.init_lr[l - 1];
      gamma[j] = config.init_momentum[l - 1];
      layer_of[j] = j < w_off + n_w ? l : 0;   /* 0: a bias, not penalised */
      l2_of[j] = layer_of[j] ? config.init_l2[l - 1] : 0;
    }
  }
  guint32 *val_idx = NULL;
  ref_loss_grad (&ref, wT, p.x + N_TRAIN * 6, p.y + N_TRAIN, val_idx, N_VAL, dw, NULL);
  for (guint64 i = R; i-- > 0;) {
    double beta = 0.001 + (0.999 - 0.001) * (double) i / (double) (R - 1);
    guint32 idx[8];
    drmad_sampler_batch (seed, i, 8, N_TRAIN, idx);
    for (gsize j = 0; j < P; j++) {
      x[j] = (1 - beta) * w0[j] + beta * wT[j];
      dv[j] += eta[j] * dw[j];
      u[j] = (1 - gamma[j]) * dv[j];
    }
    ref_hvp (&ref, &p, x, u, idx, 8, l2_of, hu);
    for (gsize j = 0; j < P; j++) {
      dw[j] -= hu[j];
      if (layer_of[j])
        dl2[layer_of[j] - 1] -= l2_of[j] * x[j] * u[j];
      dv[j] *= gamma[j];
    }
  }
  double dinit[3] = { 0 };
  for (gsize j = 0; j < P; j++)
    if (layer_of[j])
      dinit[layer_of[j] - 1] += dw[j] * w0[j];

  gsize first, count;
  for (guint g = 0; g < drmad_hyper_get_n_groups (hyper); g++) {
    drmad_hyper_get_group_span (hyper, g, &first, &count);
    const char *name = drmad_hyper_get_group_name (hyper, g);
    const double *expected = g_str_equal (name, "l2") ? dl2 : g_str_equal (name, "init") ? dinit : NULL;
    for (gsize k = 0; k < count; k++) {
      g_test_message ("%s[%" G_GSIZE_FORMAT "]: library %.12g, transcription %.12g", name, k,
                      lib->gradient[first + k], expected ? expected[k] : 0.0);
      if (expected)
        g_assert_cmpfloat (fabs (lib->gradient[first + k] - expected[k]), <=, 1e-6 * fabs (expected[k]) + 1e-12);
      else
        g_assert_cmpfloat (lib->gradient[first + k], ==, 0);
    }
  }
  g_assert_cmpfloat (ref_rel_error (lib->dw0, dw, P), <=, 1e-6);
  g_assert_cmpfloat (fabs (dl2[0]), >, 1e-8);   /* the comparison is not between zeros */
  problem_teardown (&p);
}

/* drmad with R = T is the full line: identical to piecewise K = 1. */
static void
test_drmad_full_line (void)
{
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  config_all_groups (&config, DRMAD_L2_PER_LAYER, 30);
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  DrmadReverseConfig full = { .method = DRMAD_METHOD_DRMAD, .seed = 13, .reverse_steps = 30 };
  g_autoptr (DrmadHypergradient) line = drmad_hypergradient_compute (p.net, hyper, p.train, p.val, &full, NULL,
                                                                     NULL, &error);
  g_assert_no_error (error);
  g_autoptr (DrmadHypergradient) one = hypergradient (&p, hyper, DRMAD_METHOD_PIECEWISE, 0, 1);
  g_assert_cmpfloat (relative_error (line->gradient, one->gradient, 0, line->n), ==, 0);
  full.reverse_steps = 29;   /* one point fewer: the authors' loop, a different estimate */
  g_autoptr (DrmadHypergradient) points = drmad_hypergradient_compute (p.net, hyper, p.train, p.val, &full, NULL,
                                                                       NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (relative_error (points->gradient, one->gradient, 0, line->n), >, 1e-6);
  problem_teardown (&p);
}

/* truncated with R = T is exact. With R < T it is exact's reverse pass
 * stopped after R steps: the hypergradients of the learning rates of the
 * steps it covers are exact's, the rest differ, and nothing reaches w_0. */
static void
test_truncated (void)
{
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  config_all_groups (&config, DRMAD_L2_PER_LAYER, 40);
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  g_autoptr (DrmadHypergradient) exact = hypergradient (&p, hyper, DRMAD_METHOD_EXACT, 6, 0);
  for (guint64 R = 10; R <= 40; R += 30) {
    DrmadReverseConfig reverse = { .method = DRMAD_METHOD_TRUNCATED, .checkpoint_every = 7, .seed = 13,
                                   .reverse_steps = R };
    g_autoptr (DrmadHypergradient) truncated = drmad_hypergradient_compute (p.net, hyper, p.train, p.val, &reverse,
                                                                            NULL, NULL, &error);
    g_assert_no_error (error);
    double rel = relative_error (truncated->gradient, exact->gradient, 0, exact->n);
    g_test_message ("truncated R = %" G_GUINT64_FORMAT " vs exact: %.3g", R, rel);
    if (R == 40) {
      g_assert_cmpfloat (rel, <=, 1e-12);
    } else {
      g_assert_cmpfloat (rel, >, 1e-6);
      /* The learning rates of the last segment (steps 30 … 39) only see those steps: exact there. */
      gsize first, count;
      drmad_hyper_get_group_span (hyper, 1, &first, &count);
      g_assert_cmpstr (drmad_hyper_get_group_name (hyper, 1), ==, "lr");
      for (guint l = 0; l < 3; l++) {
        gsize last = first + l * 4 + 3;
        g_assert_cmpfloat (fabs (truncated->gradient[last] - exact->gradient[last]), <=,
                           1e-9 * fabs (exact->gradient[last]));
      }
      for (gsize j = 0; j < truncated->n_params; j++)
        g_assert_cmpfloat (truncated->dw0[j], ==, 0);
    }
  }
  /* Momentum fixed, so tape slots on the fused host path: with every state
   * stored (k = 1) the training run fills slots for the last R steps only,
   * and the result is k = 7's to the last bit, each at its predicted peak. */
  config.learn_momentum = FALSE;
  g_autoptr (DrmadHyper) fixed = drmad_hyper_new (p.net, &config, &error);
  g_assert_no_error (error);
  DrmadHypergradient *results[2];
  for (guint i = 0; i < 2; i++) {
    DrmadReverseConfig reverse = { .method = DRMAD_METHOD_TRUNCATED, .checkpoint_every = i ? 1 : 7, .seed = 13,
                                   .reverse_steps = 10 };
    results[i] = drmad_hypergradient_compute (p.net, fixed, p.train, p.val, &reverse, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (results[i]->device_peak_bytes, ==, drmad_hypergradient_device_bytes (p.net, fixed, &reverse));
  }
  g_assert_cmpmem (results[1]->gradient, results[1]->n * sizeof (double), results[0]->gradient,
                   results[0]->n * sizeof (double));
  /* It stores only what its 10 steps need, as much as exact over T = 10
   * steps with the same k, not the states of the 30 steps before T − R. */
  config.steps = 10;
  g_autoptr (DrmadHyper) short_run = drmad_hyper_new (p.net, &config, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < 2; i++) {
    g_autoptr (DrmadHypergradient) exact_short = hypergradient (&p, short_run, DRMAD_METHOD_EXACT, i ? 1 : 7, 0);
    g_test_message ("peaks: truncated T = 40, R = 10, k = %u: %" G_GUINT64_FORMAT " bytes; exact T = 10: %"
                    G_GUINT64_FORMAT, i ? 1 : 7, results[i]->device_peak_bytes, exact_short->device_peak_bytes);
    g_assert_cmpuint (results[i]->device_peak_bytes, ==, exact_short->device_peak_bytes);
  }
  drmad_hypergradient_free (results[0]);
  drmad_hypergradient_free (results[1]);
  problem_teardown (&p);
}

/* auto: exact under a large budget; under a small one, piecewise with the
 * largest K whose measured peak fits (K + 1 pieces would not). */
static void
test_auto_choice (void)
{
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  config_all_groups (&config, DRMAD_L2_PER_LAYER, 200);
  config.learn_momentum = FALSE;
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  DrmadReverseConfig reverse, resolved;
  drmad_reverse_config_init (&reverse);
  reverse.seed = 13;
  g_autofree char *reason = NULL;
  CHECK (drmad_reverse_config_resolve (p.net, hyper, &reverse, &resolved, &reason, &error));
  g_test_message ("%s", reason);
  g_assert_cmpint (resolved.method, ==, DRMAD_METHOD_EXACT);
  g_assert_nonnull (strstr (reason, "exact"));

  /* What exact (k = 15) and one piece actually peak at, measured. */
  g_autoptr (DrmadHypergradient) exact = hypergradient (&p, hyper, DRMAD_METHOD_EXACT, 0, 0);
  g_autoptr (DrmadHypergradient) two = hypergradient (&p, hyper, DRMAD_METHOD_PIECEWISE, 0, 2);
  g_autoptr (DrmadHypergradient) three = hypergradient (&p, hyper, DRMAD_METHOD_PIECEWISE, 0, 3);
  guint64 per_piece = three->device_peak_bytes - two->device_peak_bytes;
  g_assert_cmpuint (per_piece, ==, drmad_net_get_n_params (p.net) * sizeof (double));
  reverse.memory_budget = exact->device_peak_bytes;   /* exactly enough for exact */
  g_clear_pointer (&reason, g_free);
  CHECK (drmad_reverse_config_resolve (p.net, hyper, &reverse, &resolved, &reason, &error));
  g_assert_cmpint (resolved.method, ==, DRMAD_METHOD_EXACT);
  /* One byte less: piecewise, K the largest whose measured peak fits. */
  reverse.memory_budget = exact->device_peak_bytes - 1;
  g_clear_pointer (&reason, g_free);
  CHECK (drmad_reverse_config_resolve (p.net, hyper, &reverse, &resolved, &reason, &error));
  g_test_message ("%s", reason);
  g_assert_cmpint (resolved.method, ==, DRMAD_METHOD_PIECEWISE);
  /* The reason tells the two sizes apart where rounding would print them
   * alike ("exact needs 19.8 kB, more than the memory budget (19.8 kB)"):
   * the measured peak and the budget, in bytes. */
  g_autofree char *needs = g_strdup_printf ("exact needs %" G_GUINT64_FORMAT " bytes, more than the memory budget (%"
                                            G_GUINT64_FORMAT " bytes)", exact->device_peak_bytes,
                                            reverse.memory_budget);
  g_assert_nonnull (strstr (reason, needs));
  guint K = resolved.snapshots;
  g_autoptr (DrmadHypergradient) at_k = hypergradient (&p, hyper, DRMAD_METHOD_PIECEWISE, 0, K);
  g_assert_cmpuint (at_k->device_peak_bytes, <=, reverse.memory_budget);
  g_assert_cmpuint (at_k->device_peak_bytes + per_piece, >, reverse.memory_budget);
  /* And the pass itself runs under auto with that budget, as piecewise K. */
  g_autoptr (DrmadHypergradient) automatic = drmad_hypergradient_compute (p.net, hyper, p.train, p.val, &reverse,
                                                                          NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (relative_error (automatic->gradient, at_k->gradient, 0, at_k->n), ==, 0);
  /* Nothing fits: a clear error. */
  reverse.memory_budget = 1000;
  g_assert_false (drmad_reverse_config_resolve (p.net, hyper, &reverse, &resolved, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE);
  problem_teardown (&p);
}

/* On a CPU device, whose memory is the host's, auto chooses within the
 * room under the process's cgroup memory limit, not within PoCL's global
 * memory (the machine's physical memory): in a container it chose exact,
 * whose checkpoints the cgroup's OOM killer then ended. Without a limit
 * exact; under a fake cgroup v2 limit (DRMAD_INJECT_CGROUP), piecewise with
 * the K this test counts from docs/algorithm.md §2e: K + 4 vectors of P
 * numbers beside the trainer's and the pass's 3S + 8 (and one number for
 * dγ, momentum not learned), in half the room (the default budget; the
 * pass's (4S + 5) P host doubles, README's "Which method", fit in the other
 * half). The room is made to hold K = 5 with half a piece over in its half.
 * The reason names the limit's file;
 * the pass runs under it, its measured peaks within the room; and the
 * memory check refuses exact there, naming the limit too. */
static void
test_auto_choice_cgroup_limit (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
#ifdef DRMAD_TEST_HOOKS
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  if (g_strcmp0 (drmad_device_get_info (p.device)->type, "CPU") != 0) {
    g_test_skip ("not a CPU device: its memory is not the host's");
    problem_teardown (&p);
    return;
  }
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  config_all_groups (&config, DRMAD_L2_PER_LAYER, 200);
  config.learn_momentum = FALSE;
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  g_assert_no_error (error);
  DrmadReverseConfig reverse, resolved;
  drmad_reverse_config_init (&reverse);
  reverse.seed = 13;
  g_autofree char *reason = NULL;
  CHECK (drmad_reverse_config_resolve (p.net, hyper, &reverse, &resolved, &reason, &error));
  g_test_message ("no limit: %s", reason);
  g_assert_cmpint (resolved.method, ==, DRMAD_METHOD_EXACT);

  const guint64 P = drmad_net_get_n_params (p.net), S = config.segments, K = 5, usage = 1048576;
  const guint64 piece = P * sizeof (double);
  const guint64 pieces_bytes = ((3 * S + 8 + K + 4) * P + 1) * sizeof (double);
  const guint64 host = (4 * S + 5) * P * sizeof (double);
  const guint64 room = 2 * pieces_bytes + piece;   /* half: K pieces and half of one */
  g_assert_cmpuint (host, <=, room / 2);
  g_autofree char *limit_path = NULL;
  g_autofree char *fake = fake_memory (G_GUINT64_CONSTANT (1) << 50, usage + room, usage, &limit_path);
  g_clear_pointer (&reason, g_free);
  CHECK (drmad_reverse_config_resolve (p.net, hyper, &reverse, &resolved, &reason, &error));
  g_test_message ("limit of %" G_GUINT64_FORMAT " bytes, %" G_GUINT64_FORMAT " in use: %s", usage + room, usage,
                  reason);
  g_assert_cmpint (resolved.method, ==, DRMAD_METHOD_PIECEWISE);
  g_assert_cmpuint (resolved.snapshots, ==, K);
  g_assert_cmpuint (drmad_hypergradient_device_bytes (p.net, hyper, &resolved), ==, pieces_bytes);
  g_autofree char *budget_text = g_format_size_full (room / 2, G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char *chose = g_strdup_printf ("auto chose piecewise with K = 5 pieces: exact needs %%s, more than half "
                                            "the memory this process may still take (%s)", budget_text);
  g_autofree char *exact_text = NULL;
  {
    DrmadReverseConfig exact = resolved;
    exact.method = DRMAD_METHOD_EXACT;
    exact.checkpoint_every = 15;   /* ⌈√200⌉ */
    exact_text = g_format_size_full (drmad_hypergradient_device_bytes (p.net, hyper, &exact),
                                     G_FORMAT_SIZE_IEC_UNITS);
  }
  g_autofree char *chose_text = g_strdup_printf (chose, exact_text);
  g_assert_true (g_str_has_prefix (reason, chose_text));
  g_autofree char *bound = g_strdup_printf ("(a CPU device's memory is the host's: the bound is the room under this "
                                            "process's cgroup memory limit: %" G_GUINT64_FORMAT " bytes in %s, of "
                                            "which %" G_GUINT64_FORMAT " in use (memory.current))",
                                            usage + room, limit_path, usage);
  g_assert_true (g_str_has_suffix (reason, bound));

  /* The pass auto chose runs under the limit; its measured device and host peaks fit the room. */
  g_autoptr (DrmadHypergradient) automatic = drmad_hypergradient_compute (p.net, hyper, p.train, p.val, &reverse,
                                                                          NULL, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("measured: %" G_GUINT64_FORMAT " device bytes, %" G_GUINT64_FORMAT " host bytes, room %"
                  G_GUINT64_FORMAT, automatic->device_peak_bytes, automatic->host_peak_bytes, room);
  g_assert_cmpuint (automatic->device_peak_bytes, ==, pieces_bytes);
  g_assert_cmpuint (automatic->device_peak_bytes + automatic->host_peak_bytes, <=, room);

  /* Exact asked for under the same limit: refused before anything is
   * allocated, with the limit named (it was let through: the machine's
   * memory was the bound). */
  reverse.method = DRMAD_METHOD_EXACT;
  g_assert_false (drmad_hypergradient_check_memory (p.net, hyper, &reverse, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE);
  g_test_message ("%s", error->message);
  g_autofree char *room_text = g_format_size_full (room, G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char *says = g_strdup_printf ("is a CPU device, whose memory is the host's, and this process may take %s "
                                           "more (the room under this process's cgroup memory limit: %"
                                           G_GUINT64_FORMAT " bytes in %s, of which %" G_GUINT64_FORMAT " in use "
                                           "(memory.current)): use a larger checkpoint spacing", room_text,
                                           usage + room, limit_path, usage);
  g_assert_nonnull (strstr (error->message, says));
  g_clear_error (&error);
  /* and the pieces that fit are let through */
  CHECK (drmad_hypergradient_check_memory (p.net, hyper, &resolved, &error));
  fake_memory_end (g_steal_pointer (&fake));

  /* A room whose half holds no piece: refused, the limit named. Where the
   * room beside the host arrays would hold one piece, the advice is to
   * raise the budget; where it would not, or the budget is past the room
   * already, to give the process more memory. */
  const guint64 one_piece = ((3 * S + 8 + 1 + 4) * P + 1) * sizeof (double);
  g_assert_cmpuint (host, <, one_piece);
  const guint64 rooms[] = { one_piece + host + 1000, 2 * host };
  for (guint i = 0; i < G_N_ELEMENTS (rooms); i++) {
    g_free (limit_path);
    fake = fake_memory (G_GUINT64_CONSTANT (1) << 50, usage + rooms[i], usage, &limit_path);
    g_assert_cmpuint (rooms[i] / 2, <, one_piece);
    g_assert_cmpuint (rooms[i] / 2, <=, rooms[i] - host);   /* the default budget, half the room, is the bound */
    reverse.method = DRMAD_METHOD_AUTO;
    g_assert_false (drmad_reverse_config_resolve (p.net, hyper, &reverse, &resolved, NULL, &error));
    g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE);
    g_test_message ("%s", error->message);
    g_autofree char *one_text = g_format_size_full (one_piece, G_FORMAT_SIZE_IEC_UNITS);
    g_autofree char *half_text = g_format_size_full (rooms[i] / 2, G_FORMAT_SIZE_IEC_UNITS);
    g_autofree char *none = g_strdup_printf ("no reverse pass fits half the memory this process may still take "
                                             "(%s): even one straight piece needs %s; %s or use a smaller network "
                                             "(a CPU device's memory is the host's: the bound is the room under "
                                             "this process's cgroup memory limit: %" G_GUINT64_FORMAT " bytes in "
                                             "%s, of which %" G_GUINT64_FORMAT " in use (memory.current))",
                                             half_text, one_text,
                                             rooms[i] - host >= one_piece ? "raise the memory budget"
                                                                          : "give this process more memory",
                                             usage + rooms[i], limit_path, usage);
    g_assert_cmpstr (error->message, ==, none);
    g_clear_error (&error);
    if (i + 1 < G_N_ELEMENTS (rooms))
      fake_memory_end (g_steal_pointer (&fake));
  }
  reverse.memory_budget = G_GUINT64_CONSTANT (1) << 40;
  g_assert_false (drmad_reverse_config_resolve (p.net, hyper, &reverse, &resolved, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "; give this process more memory or use a smaller network (a CPU "
                                            "device's memory is the host's: the bound is the room under this "
                                            "process's cgroup memory limit"));
  g_clear_error (&error);
  fake_memory_end (g_steal_pointer (&fake));
  problem_teardown (&p);
#endif
}

/* A run's passes are checked against the memory this process may take
 * (MemAvailable, a cgroup's room) before the first of each runs, not again
 * at every meta-iteration: that room moves with the page cache and with
 * other processes, and a run that had started was refused at a later
 * meta-iteration, its pass the same as before. Under 1 PiB available
 * (DRMAD_INJECT_CGROUP's meminfo) meta-iteration 1 runs piecewise K = 2
 * and its fidelity reference (exact, which auto chose); the room then falls
 * to 4 KiB, where a check of either pass refuses it, and meta-iteration 2
 * runs both all the same. A new run (as after --resume) is refused there
 * at its first pass. */
static void
test_meta_room_checked_once (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
#ifdef DRMAD_TEST_HOOKS
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  if (g_strcmp0 (drmad_device_get_info (p.device)->type, "CPU") != 0) {
    g_test_skip ("not a CPU device: its memory is not the host's");
    problem_teardown (&p);
    return;
  }
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  config_all_groups (&config, DRMAD_L2_PER_LAYER, 20);
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  g_assert_no_error (error);
  DrmadReverseConfig reverse;
  drmad_reverse_config_init (&reverse);
  reverse.method = DRMAD_METHOD_PIECEWISE;
  reverse.snapshots = 2;
  reverse.seed = 5;
  DrmadMetaConfig meta_config;
  drmad_meta_config_init (&meta_config);
  meta_config.fidelity_every = 1;
  g_autofree char *fake = fake_memory (G_GUINT64_CONSTANT (1) << 50, 0, 0, NULL);
  g_autoptr (DrmadMeta) meta = drmad_meta_new (p.net, hyper, p.train, p.val, &reverse, &meta_config, &error);
  g_assert_no_error (error);
  g_autoptr (DrmadMetaReport) first = drmad_meta_step (meta, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (first->fidelity_measured);
  g_assert_cmpint (first->fidelity_reference.method, ==, DRMAD_METHOD_EXACT);
  fake_memory_end (g_steal_pointer (&fake));

  fake = fake_memory (4096, 0, 0, NULL);
  g_assert_false (drmad_hypergradient_check_memory (p.net, hyper, &reverse, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE);
  g_test_message ("the pass, checked now: %s", error->message);
  g_assert_nonnull (strstr (error->message, "this process may take 4.0\u00a0KiB more (MemAvailable in /proc/meminfo)"));
  g_clear_error (&error);
  g_assert_false (drmad_hypergradient_check_memory (p.net, hyper, &first->fidelity_reference, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE);
  g_clear_error (&error);
  g_autoptr (DrmadMetaReport) second = drmad_meta_step (meta, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (second->iteration, ==, 2);
  g_assert_true (second->fidelity_measured);
  g_assert_null (second->fidelity_warning);

  g_autoptr (DrmadMeta) fresh = drmad_meta_new (p.net, hyper, p.train, p.val, &reverse, &meta_config, &error);
  g_assert_no_error (error);
  g_assert_null (drmad_meta_step (fresh, NULL, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "(MemAvailable in /proc/meminfo)"));
  g_clear_error (&error);
  fake_memory_end (g_steal_pointer (&fake));
  problem_teardown (&p);
#endif
}

/* A fidelity reference that the memory this process may take no longer
 * holds when it first runs leaves the meta-iteration's fidelity unmeasured,
 * saying why, and the run goes on: it stopped the run (exit 1), though
 * the reference was chosen to fit when the run began. Chosen under 1 PiB
 * (exact), then the room (DRMAD_INJECT_CGROUP's meminfo) falls to between
 * what the pass, piecewise K = 2, and exact need with the host arrays. */
static void
test_fidelity_reference_refused_for_memory (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
#ifdef DRMAD_TEST_HOOKS
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  if (g_strcmp0 (drmad_device_get_info (p.device)->type, "CPU") != 0) {
    g_test_skip ("not a CPU device: its memory is not the host's");
    problem_teardown (&p);
    return;
  }
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  config_all_groups (&config, DRMAD_L2_PER_LAYER, 20);
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  g_assert_no_error (error);
  DrmadReverseConfig reverse;
  drmad_reverse_config_init (&reverse);
  reverse.method = DRMAD_METHOD_PIECEWISE;
  reverse.snapshots = 2;
  reverse.seed = 5;
  DrmadMetaConfig meta_config;
  drmad_meta_config_init (&meta_config);
  meta_config.fidelity_every = 1;
  g_autofree char *fake = fake_memory (G_GUINT64_CONSTANT (1) << 50, 0, 0, NULL);
  g_autoptr (DrmadMeta) meta = drmad_meta_new (p.net, hyper, p.train, p.val, &reverse, &meta_config, &error);
  g_assert_no_error (error);
  fake_memory_end (g_steal_pointer (&fake));
  const guint64 host = (4 * (guint64) config.segments + 5) * drmad_net_get_n_params (p.net) * sizeof (double);
  DrmadReverseConfig exact = reverse;
  exact.method = DRMAD_METHOD_EXACT;
  exact.checkpoint_every = 5;   /* ⌈√20⌉, auto's exact */
  guint64 pass = drmad_hypergradient_device_bytes (p.net, hyper, &reverse) + host;
  guint64 reference = drmad_hypergradient_device_bytes (p.net, hyper, &exact) + host;
  g_assert_cmpuint (pass + 4096, <, reference);
  /* meminfo counts in KiB: a room on a KiB boundary between the two */
  fake = fake_memory ((pass + reference) / 2 / 1024 * 1024, 0, 0, NULL);
  g_autoptr (DrmadMetaReport) first = drmad_meta_step (meta, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (first->iteration, ==, 1);
  g_assert_false (first->fidelity_measured);
  g_test_message ("%s", first->fidelity_warning);
  g_autofree char *exact_text = g_format_size_full (reference, G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char *host_text = g_format_size_full (host, G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char *says = g_strdup_printf ("fidelity not measured: the reference pass failed: the exact k=5 reverse "
                                           "pass over T = 20 steps, with its %s of host arrays (a CPU device's "
                                           "memory is the host's), needs %s of device memory;", host_text,
                                           exact_text);
  g_assert_true (g_str_has_prefix (first->fidelity_warning, says));
  g_assert_nonnull (strstr (first->fidelity_warning, "(MemAvailable in /proc/meminfo)"));
  fake_memory_end (g_steal_pointer (&fake));
  /* with room again, the next meta-iteration measures it */
  fake = fake_memory (G_GUINT64_CONSTANT (1) << 50, 0, 0, NULL);
  g_autoptr (DrmadMetaReport) second = drmad_meta_step (meta, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (second->fidelity_measured);
  g_assert_cmpint (second->fidelity_reference.method, ==, DRMAD_METHOD_EXACT);
  fake_memory_end (g_steal_pointer (&fake));
  problem_teardown (&p);
#endif
}

/* A resumed run goes on with the method its meta-iterations used: on a
 * CPU device auto chooses within the memory this process may still take,
 * which moves from one start to the next, and a resumed run took another
 * K, so that its numbers were not an uninterrupted run's. Under a fake
 * cgroup room (DRMAD_INJECT_CGROUP) auto chooses piecewise K = 5, counted
 * as in /hyper/auto-choice-cgroup-limit; the run records meta-iteration 1
 * and goes on to 2. Started again under a room where auto chooses K = 3,
 * the restored run keeps K = 5, says so, and its meta-iteration 2 gives
 * θ and the validation loss of the uninterrupted run's, bit for bit. */
static void
test_resume_keeps_auto_choice (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
#ifdef DRMAD_TEST_HOOKS
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  if (g_strcmp0 (drmad_device_get_info (p.device)->type, "CPU") != 0) {
    g_test_skip ("not a CPU device: its memory is not the host's");
    problem_teardown (&p);
    return;
  }
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  config_all_groups (&config, DRMAD_L2_PER_LAYER, 200);
  config.learn_momentum = FALSE;
  const guint64 P = drmad_net_get_n_params (p.net), S = config.segments, usage = 1048576;
  const guint64 room5 = 2 * (((3 * S + 8 + 5 + 4) * P + 1) * sizeof (double)) + P * sizeof (double);
  const guint64 room3 = 2 * (((3 * S + 8 + 3 + 4) * P + 1) * sizeof (double)) + P * sizeof (double);
  DrmadReverseConfig reverse;
  drmad_reverse_config_init (&reverse);
  reverse.seed = 17;
  DrmadMetaConfig meta_config;
  drmad_meta_config_init (&meta_config);
  meta_config.fidelity_every = 0;
  g_autofree char *folder = test_tmp_dir ("drmad-test-resume", &error);
  g_assert_no_error (error);
  g_autofree char *run_folder = g_build_filename (folder, "run", NULL);

  g_autofree char *fake = fake_memory (G_GUINT64_CONSTANT (1) << 50, usage + room5, usage, NULL);
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  g_assert_no_error (error);
  g_autoptr (DrmadMeta) meta = drmad_meta_new (p.net, hyper, p.train, p.val, &reverse, &meta_config, &error);
  g_assert_no_error (error);
  g_assert_cmpint (drmad_meta_get_method (meta)->method, ==, DRMAD_METHOD_PIECEWISE);
  g_assert_cmpuint (drmad_meta_get_method (meta)->snapshots, ==, 5);
  g_autoptr (DrmadRun) run = drmad_run_create (run_folder, "[drmad]\n", FALSE, &error);
  g_assert_no_error (error);
  g_autoptr (DrmadMetaReport) first = drmad_meta_step (meta, NULL, NULL, &error);
  g_assert_no_error (error);
  CHECK (drmad_run_record (run, hyper, meta, first, &error));
  g_clear_pointer (&run, drmad_run_free);
  g_autoptr (DrmadMetaReport) second = drmad_meta_step (meta, NULL, NULL, &error);
  g_assert_no_error (error);
  gsize n = drmad_hyper_get_n (hyper);
  g_autofree double *theta = g_memdup2 (drmad_hyper_get_values (hyper), n * sizeof (double));
  fake_memory_end (g_steal_pointer (&fake));

  fake = fake_memory (G_GUINT64_CONSTANT (1) << 50, usage + room3, usage, NULL);
  g_autoptr (DrmadHyper) again = drmad_hyper_new (p.net, &config, &error);
  g_assert_no_error (error);
  g_autoptr (DrmadMeta) resumed = drmad_meta_new (p.net, again, p.train, p.val, &reverse, &meta_config, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (drmad_meta_get_method (resumed)->snapshots, ==, 3);   /* what auto chooses now */
  run = drmad_run_open (run_folder, &error);
  g_assert_no_error (error);
  CHECK (drmad_run_restore (run, again, resumed, &error));
  g_test_message ("%s", drmad_meta_get_method_reason (resumed));
  g_assert_cmpint (drmad_meta_get_method (resumed)->method, ==, DRMAD_METHOD_PIECEWISE);
  g_assert_cmpuint (drmad_meta_get_method (resumed)->snapshots, ==, 5);
  g_assert_true (g_str_has_prefix (drmad_meta_get_method_reason (resumed),
                                   "auto kept piecewise K=5, the method the run's meta-iterations so far used, so "
                                   "that the resumed run goes on as it began; started now, auto chose piecewise "
                                   "with K = 3 pieces"));
  g_autoptr (DrmadMetaReport) resumed_second = drmad_meta_step (resumed, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (resumed_second->iteration, ==, 2);
  g_assert_cmpuint (resumed_second->method.snapshots, ==, 5);
  g_assert_cmpmem (drmad_hyper_get_values (again), n * sizeof (double), theta, n * sizeof (double));
  g_assert_cmpfloat (resumed_second->val_loss, ==, second->val_loss);
  g_clear_pointer (&run, drmad_run_free);
  fake_memory_end (g_steal_pointer (&fake));

  /* Where the run's method no longer fits (K = 20: (24 + 20) P numbers and
   * the (4S + 5) P host doubles, 65 P, in a room of 51 P where auto
   * chooses K = 1), auto's choice now stays, and the reason says why. */
  const guint64 room20 = 2 * (((3 * S + 8 + 20 + 4) * P + 1) * sizeof (double)) + P * sizeof (double);
  const guint64 room1 = 2 * (((3 * S + 8 + 1 + 4) * P + 1) * sizeof (double)) + P * sizeof (double);
  g_autofree char *large_folder = g_build_filename (folder, "large", NULL);
  fake = fake_memory (G_GUINT64_CONSTANT (1) << 50, usage + room20, usage, NULL);
  g_autoptr (DrmadHyper) large = drmad_hyper_new (p.net, &config, &error);
  g_assert_no_error (error);
  g_autoptr (DrmadMeta) large_meta = drmad_meta_new (p.net, large, p.train, p.val, &reverse, &meta_config, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (drmad_meta_get_method (large_meta)->snapshots, ==, 20);
  run = drmad_run_create (large_folder, "[drmad]\n", FALSE, &error);
  g_assert_no_error (error);
  g_autoptr (DrmadMetaReport) large_first = drmad_meta_step (large_meta, NULL, NULL, &error);
  g_assert_no_error (error);
  CHECK (drmad_run_record (run, large, large_meta, large_first, &error));
  g_clear_pointer (&run, drmad_run_free);
  fake_memory_end (g_steal_pointer (&fake));
  fake = fake_memory (G_GUINT64_CONSTANT (1) << 50, usage + room1, usage, NULL);
  g_autoptr (DrmadHyper) small = drmad_hyper_new (p.net, &config, &error);
  g_assert_no_error (error);
  g_autoptr (DrmadMeta) small_meta = drmad_meta_new (p.net, small, p.train, p.val, &reverse, &meta_config, &error);
  g_assert_no_error (error);
  run = drmad_run_open (large_folder, &error);
  g_assert_no_error (error);
  CHECK (drmad_run_restore (run, small, small_meta, &error));
  g_test_message ("%s", drmad_meta_get_method_reason (small_meta));
  g_assert_cmpuint (drmad_meta_get_method (small_meta)->snapshots, ==, 1);
  g_assert_true (g_str_has_prefix (drmad_meta_get_method_reason (small_meta), "auto chose piecewise with K = 1 "));
  g_assert_nonnull (strstr (drmad_meta_get_method_reason (small_meta), "; the run's meta-iterations so far used "
                                                                       "piecewise K=20, which does not fit now (the "
                                                                       "piecewise K=20 reverse pass"));
  g_assert_true (g_str_has_suffix (drmad_meta_get_method_reason (small_meta), "), so from here on its numbers are "
                                   "not those of an uninterrupted run"));
  g_clear_pointer (&run, drmad_run_free);
  fake_memory_end (g_steal_pointer (&fake));
  remove_tree (folder);
  problem_teardown (&p);
#endif
}

/* θ's entries are held to the memory this process may take, the room under
 * its cgroup's memory limit (DRMAD_INJECT_CGROUP) where that is less, not
 * to the machine's physical memory: an L2 per weight of a 200-200-10 net
 * (42 000 entries, 48 bytes or more each: at least 2016000 bytes) under a
 * limit that leaves 1 MiB is refused, the limit's file named; with 64 MiB
 * left it is made. */
static void
test_theta_size_cgroup_limit (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
#ifdef DRMAD_TEST_HOOKS
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  drmad_hyper_config_init (&config);
  config.l2 = DRMAD_L2_PER_WEIGHT;
  config.learn_lr = config.learn_momentum = config.learn_init_scale = FALSE;
  const guint sizes[] = { 200, 200, 10 };
  const guint64 usage = 5 << 20, tight = 1 << 20, ample = 64 << 20;
  g_autofree char *limit_path = NULL;
  g_autofree char *fake = fake_memory (G_GUINT64_CONSTANT (1) << 50, usage + tight, usage, &limit_path);
  g_assert_null (drmad_hyper_new_for_sizes (sizes, 3, &config, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE);
  g_test_message ("%s", error->message);
  g_autofree char *says = g_strdup_printf ("this process may take 1.0\u00a0MiB more (the room under this process's "
                                           "cgroup memory limit: %" G_GUINT64_FORMAT " bytes in %s, of which %"
                                           G_GUINT64_FORMAT " in use (memory.current)): use fewer segments or a "
                                           "coarser L2", usage + tight, limit_path, usage);
  g_assert_nonnull (strstr (error->message, "would have 4.2e+04 entries"));
  g_assert_nonnull (strstr (error->message, says));
  g_clear_error (&error);
  fake_memory_end (g_steal_pointer (&fake));
  fake = fake_memory (G_GUINT64_CONSTANT (1) << 50, usage + ample, usage, NULL);
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new_for_sizes (sizes, 3, &config, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (drmad_hyper_get_n (hyper), ==, 200 * 200 + 200 * 10);
  fake_memory_end (g_steal_pointer (&fake));
#endif
}

/* A setting past what T allows is held at its limit, and the reason says
 * so: "piecewise K=12, as asked" read as if K = 1000 had run. Each held
 * value is the limit T (or R) of the configuration, and K = T gives the
 * exact hypergradient. */
static void
test_resolve_held_settings (void)
{
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  config_all_groups (&config, DRMAD_L2_PER_LAYER, 12);
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  g_assert_no_error (error);
  static const struct {
    DrmadMethod method;
    guint snapshots, k;
    guint64 R;
    const char *says;
  } cases[] = {
    { DRMAD_METHOD_PIECEWISE, 1000, 0, 0, "piecewise K=12, as asked; K = 1000 is more than the 12 steps, so K = T" },
    { DRMAD_METHOD_TRUNCATED, 16, 0, 1000, "truncated R=12 k=4, as asked; R = 1000 is more than the 12 steps, so R = T" },
    { DRMAD_METHOD_EXACT, 16, 50, 0, "exact k=12, as asked; k = 50 is more than the 12 steps reversed, so k = 12" },
    { DRMAD_METHOD_TRUNCATED, 16, 9, 5, "truncated R=5 k=5, as asked; k = 9 is more than the 5 steps reversed, so k = 5" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    DrmadReverseConfig reverse, resolved;
    drmad_reverse_config_init (&reverse);
    reverse.method = cases[i].method;
    reverse.snapshots = cases[i].snapshots;
    reverse.checkpoint_every = cases[i].k;
    reverse.reverse_steps = cases[i].R;
    g_autofree char *reason = NULL;
    CHECK (drmad_reverse_config_resolve (p.net, hyper, &reverse, &resolved, &reason, &error));
    g_test_message ("%s", reason);
    g_assert_nonnull (strstr (reason, cases[i].says));
  }
  /* Within the limits, nothing is added. */
  DrmadReverseConfig reverse, resolved;
  drmad_reverse_config_init (&reverse);
  reverse.method = DRMAD_METHOD_PIECEWISE;
  reverse.snapshots = 12;
  g_autofree char *reason = NULL;
  CHECK (drmad_reverse_config_resolve (p.net, hyper, &reverse, &resolved, &reason, &error));
  g_assert_cmpstr (reason, ==, "method piecewise K=12, as asked");
  /* And K = 1000 is what the reason says: the exact hypergradient. */
  g_autoptr (DrmadHypergradient) exact = hypergradient (&p, hyper, DRMAD_METHOD_EXACT, 0, 0);
  g_autoptr (DrmadHypergradient) pieces = hypergradient (&p, hyper, DRMAD_METHOD_PIECEWISE, 0, 1000);
  g_assert_cmpfloat (relative_error (pieces->gradient, exact->gradient, 0, exact->n), <, 1e-12);
  problem_teardown (&p);
}

/* The defaults k = ⌈√T⌉ and R = ⌈T/10⌉ at the largest T: k stayed a guint
 * (it read as 0, the default, when 2³² wrapped) and ⌈T/10⌉ did not wrap (R
 * was 1). Resolving and sizing only: nothing trains. */
static void
test_defaults_at_largest_steps (void)
{
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  g_autofree char *plenty = NULL;
  if (!device_memory_bound (p.device, &plenty)) {
    problem_teardown (&p);
    return;
  }
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  drmad_hyper_config_init (&config);
  config.steps = G_MAXUINT64;
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  g_assert_no_error (error);
  DrmadReverseConfig reverse, resolved;
  drmad_reverse_config_init (&reverse);
  reverse.method = DRMAD_METHOD_EXACT;
  CHECK (drmad_reverse_config_resolve (p.net, hyper, &reverse, &resolved, NULL, &error));
  g_assert_cmpuint (resolved.checkpoint_every, ==, G_MAXUINT);   /* ⌈√(2⁶⁴ − 1)⌉ = 2³², held at 2³² − 1 */
  reverse.method = DRMAD_METHOD_DRMAD;
  CHECK (drmad_reverse_config_resolve (p.net, hyper, &reverse, &resolved, NULL, &error));
  g_assert_cmpuint (resolved.reverse_steps, ==, G_GUINT64_CONSTANT (1844674407370955162));   /* ⌈(2⁶⁴ − 1)/10⌉ */
  reverse.method = DRMAD_METHOD_TRUNCATED;
  CHECK (drmad_reverse_config_resolve (p.net, hyper, &reverse, &resolved, NULL, &error));
  g_assert_cmpuint (resolved.reverse_steps, ==, G_GUINT64_CONSTANT (1844674407370955162));
  g_assert_cmpuint (resolved.checkpoint_every, ==, 1358187914);   /* ⌈√R⌉ */

  /* The sizes of a pass with every state stored over 2^62 steps are held
   * at G_MAXUINT64 rather than wrapped (to 26 kB): the memory check
   * refuses it, and auto chooses piecewise instead of an exact pass that
   * then failed with too many stored arrays. */
  config.steps = G_GUINT64_CONSTANT (1) << 62;
  g_autoptr (DrmadHyper) long_run = drmad_hyper_new (p.net, &config, &error);
  g_assert_no_error (error);
  reverse.method = DRMAD_METHOD_EXACT;
  reverse.checkpoint_every = 1;
  g_assert_cmpuint (drmad_hypergradient_device_bytes (p.net, long_run, &reverse), ==, G_MAXUINT64);
  g_assert_false (drmad_hypergradient_check_memory (p.net, long_run, &reverse, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE);
  g_clear_error (&error);
  reverse.method = DRMAD_METHOD_AUTO;
  CHECK (drmad_reverse_config_resolve (p.net, long_run, &reverse, &resolved, NULL, &error));
  g_assert_cmpint (resolved.method, ==, DRMAD_METHOD_PIECEWISE);

  /* A memory budget past the device's memory: auto takes the most pieces
   * the device holds, and says why. It chose by the budget (K = 2³² − 1
   * here), and the memory check then refused that piecewise pass, a method
   * the user never named, with "needs … of device memory". */
  reverse.memory_budget = G_GUINT64_CONSTANT (1) << 63;
  g_autofree char *reason = NULL;
  CHECK (drmad_reverse_config_resolve (p.net, long_run, &reverse, &resolved, &reason, &error));
  g_test_message ("%s", reason);
  g_assert_cmpint (resolved.method, ==, DRMAD_METHOD_PIECEWISE);
  CHECK (drmad_hypergradient_check_memory (p.net, long_run, &resolved, &error));
  /* K is the most that fits: one more piece, of P doubles, does not. On a
   * CPU device the pass's host arrays (measured on a short pass) take
   * from the same memory. */
  guint64 room = drmad_device_get_info (p.device)->global_mem_bytes - drmad_device_get_allocated_bytes (p.device);
  if (g_strcmp0 (drmad_device_get_info (p.device)->type, "CPU") == 0) {
    config.steps = 20;
    g_autoptr (DrmadHyper) short_run = drmad_hyper_new (p.net, &config, &error);
    DrmadReverseConfig one = { .method = DRMAD_METHOD_PIECEWISE, .snapshots = 1, .seed = 1 };
    g_autoptr (DrmadHypergradient) measured = drmad_hypergradient_compute (p.net, short_run, p.train, p.val, &one,
                                                                           NULL, NULL, &error);
    g_assert_no_error (error);
    room -= measured->host_peak_bytes;
  }
  g_assert_cmpuint (drmad_hypergradient_device_bytes (p.net, long_run, &resolved), <=, room);
  g_assert_cmpuint (drmad_hypergradient_device_bytes (p.net, long_run, &resolved)
                    + drmad_net_get_n_params (p.net) * sizeof (double), >, room);
  g_assert_nonnull (strstr (reason, "more than the device's free memory"));   /* (beside the host arrays on a CPU) */
  g_autofree char *budget_text = g_format_size_full (reverse.memory_budget, G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char *over = g_strdup_printf ("the memory budget (%s) is more than that", budget_text);
  g_assert_nonnull (strstr (reason, over));
  device_memory_bound_end (g_steal_pointer (&plenty));
  problem_teardown (&p);
}

/* drmad_device_get_peak_bytes() is the peak since open or the caller's last
 * reset: a hypergradient measures its own peak (DrmadHypergradient) without
 * losing the caller's, which it reset to the bytes held when it started. */
static void
test_caller_peak_kept (void)
{
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  config_all_groups (&config, DRMAD_L2_PER_LAYER, 10);
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  g_assert_no_error (error);
  drmad_device_reset_peak (p.device);
  guint64 held = drmad_device_get_allocated_bytes (p.device);
  /* 4096 × 64 doubles on the device for a moment: a peak far above any pass of this net. */
  g_autofree float *x = g_new0 (float, 4096 * 64);
  g_autofree gint32 *y = g_new0 (gint32, 4096);
  g_autoptr (DrmadDataset) big = drmad_dataset_new_from_arrays (4096, 64, 2, x, y, &error);
  g_assert_no_error (error);
  DrmadDeviceData *data = drmad_device_data_new (p.device, DRMAD_PRECISION_FLOAT64, big, &error);
  g_assert_no_error (error);
  drmad_device_data_free (data);
  guint64 peak = drmad_device_get_peak_bytes (p.device);
  g_assert_cmpuint (peak, >=, held + 4096 * 64 * sizeof (double));
  g_autoptr (DrmadHypergradient) h = hypergradient (&p, hyper, DRMAD_METHOD_EXACT, 0, 0);
  g_assert_cmpuint (h->device_peak_bytes, >, 0);
  g_assert_cmpuint (held + h->device_peak_bytes, <, peak);
  g_assert_cmpuint (drmad_device_get_peak_bytes (p.device), ==, peak);
  problem_teardown (&p);
}

/* The ‖dw‖ watch (docs/algorithm.md §2f). The engineered divergence: a watch factor
 * just under the growth this pass really shows (measured first), so the
 * pass trips at a known place; the meta step is then rejected with that
 * reason and θ does not move. */
static void
test_watch (void)
{
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  config_all_groups (&config, DRMAD_L2_PER_LAYER, 64);
  config.learn_momentum = FALSE;
  for (guint l = 0; l < 3; l++)
    config.init_lr[l] = 2.0;   /* large steps: the reverse state grows */
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  g_autoptr (DrmadHypergradient) free_run = hypergradient (&p, hyper, DRMAD_METHOD_EXACT, 0, 0);
  g_test_message ("‖dw‖ grew at most %.4g-fold", free_run->reverse_growth);
  g_assert_cmpfloat (free_run->reverse_growth, >, 1.5);
  DrmadReverseConfig reverse = { .method = DRMAD_METHOD_EXACT, .seed = 13,
                                 .watch_factor = 1 + (free_run->reverse_growth - 1) / 2 };
  g_autoptr (DrmadHypergradient) stopped = drmad_hypergradient_compute (p.net, hyper, p.train, p.val, &reverse,
                                                                        NULL, NULL, &error);
  g_assert_null (stopped);
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_UNSTABLE);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "diverged at step"));
  g_clear_error (&error);

  DrmadMetaConfig meta_config;
  drmad_meta_config_init (&meta_config);
  meta_config.fidelity_every = 0;
  g_autofree double *before = g_memdup2 (drmad_hyper_get_values (hyper), drmad_hyper_get_n (hyper) * sizeof (double));
  g_autoptr (DrmadMeta) meta = drmad_meta_new (p.net, hyper, p.train, p.val, &reverse, &meta_config, &error);
  g_assert_no_error (error);
  g_autoptr (DrmadMetaReport) report = drmad_meta_step (meta, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (report->rejected);
  g_assert_nonnull (strstr (report->event, "diverged at step"));
  g_assert_cmpmem (drmad_hyper_get_values (hyper), drmad_hyper_get_n (hyper) * sizeof (double), before,
                   drmad_hyper_get_n (hyper) * sizeof (double));
  problem_teardown (&p);
}

/* Fidelity (docs/algorithm.md §5): the report's numbers and the run folder's
 * history.csv columns equal what separate calls compute, and the cosine,
 * relative error and sign agreement are what their definitions give. */
/* drmad_fidelity_compute() at magnitudes whose squares overflow or
 * underflow a double, against the definitions worked out in long double
 * (whose exponent reaches 1e±4931). */
static void
test_fidelity_scale (void)
{
  const double a[3] = { 1, -2, 3 }, r[3] = { 2, -1, -0.5 };
  const double scales[][2] = { { 1, 1 }, { 1e-170, 1e-170 }, { 1e160, 1e160 }, { 1e-160, 1 }, { 1, 1e-160 },
                               { 1e200, 1e-200 }, { 1e-300, 1e300 } };
  for (gsize s = 0; s < G_N_ELEMENTS (scales); s++) {
    double x[3], y[3];
    long double xy = 0, xx = 0, yy = 0, dd = 0;
    for (int i = 0; i < 3; i++) {
      x[i] = a[i] * scales[s][0];
      y[i] = r[i] * scales[s][1];
      xy += (long double) x[i] * y[i];
      xx += (long double) x[i] * x[i];
      yy += (long double) y[i] * y[i];
      dd += ((long double) x[i] - y[i]) * ((long double) x[i] - y[i]);
    }
    double cosine = (double) (xy / sqrtl (xx * yy)), rel = (double) sqrtl (dd / yy);
    DrmadFidelity f = drmad_fidelity_compute (x, y, 0, 3);
    g_test_message ("scales %g, %g: cosine %.17g (%.17g), relative error %.17g (%.17g)", scales[s][0],
                    scales[s][1], f.cosine, cosine, f.relative_error, rel);
    g_assert_cmpfloat_with_epsilon (f.cosine, cosine, 1e-14);
    if (isinf (rel))
      g_assert_true (isinf (f.relative_error) && f.relative_error > 0);
    else
      g_assert_cmpfloat_with_epsilon (f.relative_error, rel, 1e-14 * rel);
    g_assert_cmpfloat (f.sign_agreement, ==, 2.0 / 3);
  }
  /* Both zero: cosine 1 and no error; one of them zero: cosine 0. */
  const double zero[3] = { 0 };
  DrmadFidelity f = drmad_fidelity_compute (zero, zero, 0, 3);
  g_assert_cmpfloat (f.cosine, ==, 1);
  g_assert_cmpfloat (f.relative_error, ==, 0);
  f = drmad_fidelity_compute (a, zero, 0, 3);
  g_assert_cmpfloat (f.cosine, ==, 0);
  g_assert_true (isinf (f.relative_error));
  f = drmad_fidelity_compute (zero, a, 0, 3);
  g_assert_cmpfloat (f.cosine, ==, 0);
  g_assert_cmpfloat (f.relative_error, ==, 1);
  /* NaN is not hidden. */
  const double nan3[3] = { NAN, 1, 1 };
  f = drmad_fidelity_compute (nan3, a, 0, 3);
  g_assert_true (isnan (f.cosine) && isnan (f.relative_error));
}

/* The phases a meta-iteration reports, in order, each with its last step
 * and total ("train 40/40, reverse 40/40, fidelity 120/120"). */
static gboolean
record_phases (const char *phase, guint64 step, guint64 total, gpointer user_data)
{
  GString *phases = user_data;
  const char *last = strrchr (phases->str, ',');
  last = last ? last + 2 : phases->str;
  if (!g_str_has_prefix (last, phase) || last[strlen (phase)] != ' ')
    g_string_append_printf (phases, "%s%s ", phases->len ? ", " : "", phase);
  else
    g_string_truncate (phases, last - phases->str + strlen (phase) + 1);
  g_string_append_printf (phases, "%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT, step, total);
  return TRUE;
}

/* Every progress event of a pass: its phase, step and total. */
typedef struct {
  GString *phases;     /* the phase names in order, each once */
  guint64  train_last, reverse_last, reverse_total, gaps, totals_changed;
} PassEvents;

static gboolean
record_pass (const char *phase, guint64 step, guint64 total, gpointer user_data)
{
  PassEvents *e = user_data;
  if (!g_str_has_suffix (e->phases->str, phase))
    g_string_append_printf (e->phases, "%s%s", e->phases->len ? " " : "", phase);
  if (g_str_equal (phase, "reverse")) {
    e->gaps += step != e->reverse_last + 1;
    e->totals_changed += e->reverse_total && total != e->reverse_total;
    e->reverse_total = total;
    e->reverse_last = step;
  } else {
    e->train_last = step;
  }
  return TRUE;
}

/* The reverse pass's progress says what it does: with checkpoints k > 1
 * steps apart (exact, truncated) each step reversed is first recomputed
 * from its checkpoint, and both count, one by one: 2R steps (R = T, or the
 * truncated pass's R), every one reported, under the phase "reverse" (no
 * other name reaches the caller). The recomputation was silent: the count
 * said T and stood still while each segment was recomputed, and the
 * fidelity phase counted 2T for an exact reference that does 3T steps'
 * work. k = 1 stores every state and recomputes nothing: R steps. drmad
 * reverses R points on the line w_0 → w_T where R < T (R by default
 * ⌈T/10⌉), else the whole line of T: R or T. The
 * count drmad_meta_step's fidelity phase uses (/hyper/fidelity) is checked
 * against each pass's own. */
static void
test_reverse_progress (void)
{
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  config_all_groups (&config, DRMAD_L2_PER_LAYER, 40);
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  g_assert_no_error (error);
  struct { DrmadMethod method; guint k; guint64 R; guint64 total; } cases[] = {
    { DRMAD_METHOD_EXACT, 0, 0, 80 },         /* k = ⌈√40⌉ = 7: segments of 7, the last of 5 */
    { DRMAD_METHOD_EXACT, 40, 0, 80 },        /* one segment: all of it recomputed */
    { DRMAD_METHOD_EXACT, 1, 0, 40 },
    { DRMAD_METHOD_TRUNCATED, 0, 10, 20 },    /* k = ⌈√10⌉ = 4 */
    { DRMAD_METHOD_PIECEWISE, 0, 0, 40 },
    { DRMAD_METHOD_DRMAD, 0, 10, 10 },        /* R < T: R points on the line (reverse_line_points) */
    { DRMAD_METHOD_DRMAD, 0, 0, 4 },          /* R = ⌈T/10⌉, the authors' code */
    { DRMAD_METHOD_DRMAD, 0, 40, 40 },        /* R = T: the full line */
    { DRMAD_METHOD_TRUNCATED, 1, 10, 10 },    /* every state kept: R, nothing recomputed */
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    DrmadReverseConfig reverse = { .method = cases[i].method, .checkpoint_every = cases[i].k, .snapshots = 4,
                                   .reverse_steps = cases[i].R, .seed = 13 };
    g_autoptr (GString) phases = g_string_new (NULL);
    PassEvents e = { .phases = phases };
    g_autoptr (DrmadHypergradient) result = drmad_hypergradient_compute (p.net, hyper, p.train, p.val, &reverse,
                                                                         record_pass, &e, &error);
    g_assert_no_error (error);
    g_test_message ("%s k=%u: %s, reverse %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT, drmad_method_name (cases[i].method),
                    cases[i].k, phases->str, e.reverse_last, e.reverse_total);
    g_assert_cmpstr (phases->str, ==, "train reverse");
    g_assert_cmpuint (e.train_last, ==, 40);
    g_assert_cmpuint (e.reverse_total, ==, cases[i].total);
    g_assert_cmpuint (e.reverse_last, ==, cases[i].total);
    g_assert_cmpuint (e.gaps, ==, 0);
    g_assert_cmpuint (e.totals_changed, ==, 0);
    DrmadReverseConfig resolved;
    g_assert_true (drmad_reverse_config_resolve (p.net, hyper, &reverse, &resolved, NULL, &error));
    g_assert_cmpuint (drmad_reverse_progress_steps (&resolved, 40), ==, cases[i].total);
  }
}

static void
test_fidelity (void)
{
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  config_all_groups (&config, DRMAD_L2_PER_LAYER, 40);
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  gsize n = drmad_hyper_get_n (hyper);
  DrmadReverseConfig reverse = { .method = DRMAD_METHOD_PIECEWISE, .snapshots = 2, .seed = 13 };
  g_autoptr (DrmadHypergradient) approx = drmad_hypergradient_compute (p.net, hyper, p.train, p.val, &reverse, NULL,
                                                                       NULL, &error);
  g_autoptr (DrmadHypergradient) exact = hypergradient (&p, hyper, DRMAD_METHOD_EXACT, 0, 0);
  g_assert_no_error (error);
  double ab = 0, aa = 0, bb = 0, dd = 0, agree = 0;
  for (gsize i = 0; i < n; i++) {
    double a = approx->gradient[i], b = exact->gradient[i];
    ab += a * b;
    aa += a * a;
    bb += b * b;
    dd += (a - b) * (a - b);
    agree += (a > 0) == (b > 0);
  }
  double cosine = ab / sqrt (aa * bb), rel = sqrt (dd / bb), sign = agree / n;
  g_test_message ("piecewise K = 2 vs exact: cosine %.6f, relative error %.6g, sign agreement %.4f", cosine, rel, sign);

  g_autofree char *folder = test_tmp_dir ("drmad-fidelity", &error);
  g_assert_no_error (error);
  g_autofree char *out = g_build_filename (folder, "run", NULL);
  g_autoptr (DrmadRun) run = drmad_run_create (out, "[drmad]\n", FALSE, &error);
  g_assert_no_error (error);
  DrmadMetaConfig meta_config;
  drmad_meta_config_init (&meta_config);
  meta_config.fidelity_every = 2;
  g_autoptr (DrmadMeta) meta = drmad_meta_new (p.net, hyper, p.train, p.val, &reverse, &meta_config, &error);
  g_assert_no_error (error);
  g_assert_cmpint (drmad_meta_get_method (meta)->method, ==, DRMAD_METHOD_PIECEWISE);
  for (guint it = 1; it <= 3; it++) {
    g_autoptr (GString) phases = g_string_new (NULL);
    g_autoptr (DrmadMetaReport) report = drmad_meta_step (meta, record_phases, phases, &error);
    g_assert_no_error (error);
    CHECK (drmad_run_record (run, hyper, meta, report, &error));
    g_assert_cmpint (report->fidelity_measured, ==, it != 2);   /* at 1, then every 2: 1, 3 */
    /* The reference pass is one phase of its own, over its training and its
     * reverse pass; reported as "train" and "reverse" again, it read as the
     * meta-iteration starting over. The exact reference (checkpoints every
     * ⌈√40⌉ = 7 steps) recomputes each step before reversing it: 40 + 2 × 40
     * (/hyper/reverse-progress). */
    g_assert_cmpstr (phases->str, ==, it != 2 ? "train 40/40, reverse 40/40, fidelity 120/120"
                                              : "train 40/40, reverse 40/40");
    if (it == 1) {
      g_assert_cmpint (report->fidelity_reference.method, ==, DRMAD_METHOD_EXACT);
      g_assert_cmpfloat_with_epsilon (report->fidelity.cosine, cosine, 1e-12);
      g_assert_cmpfloat_with_epsilon (report->fidelity.relative_error, rel, 1e-12 * rel);
      g_assert_cmpfloat (report->fidelity.sign_agreement, ==, sign);
      DrmadFidelity same = drmad_fidelity_compute (approx->gradient, exact->gradient, 0, n);
      g_assert_cmpfloat (same.cosine, ==, report->fidelity.cosine);
    }
  }
  /* history.csv: the columns are there and hold the report's numbers. */
  g_autofree char *path = g_build_filename (out, "history.csv", NULL), *text = NULL;
  CHECK (g_file_get_contents (path, &text, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_auto (GStrv) header = g_strsplit (lines[0], ",", -1);
  gint cos_col = -1, method_col = -1, ref_col = -1, sign_col = -1;
  for (gint c = 0; header[c]; c++) {
    if (g_str_equal (header[c], "fidelity_cosine")) cos_col = c;
    if (g_str_equal (header[c], "method_used")) method_col = c;
    if (g_str_equal (header[c], "fidelity_reference")) ref_col = c;
    if (g_str_equal (header[c], "fidelity_sign_agreement")) sign_col = c;
  }
  g_assert_cmpint (cos_col, >, 0);
  g_assert_cmpint (sign_col, >, 0);
  g_auto (GStrv) row1 = g_strsplit (lines[1], ",", -1);
  g_auto (GStrv) row2 = g_strsplit (lines[2], ",", -1);
  g_assert_cmpstr (row1[method_col], ==, "piecewise K=2");
  g_assert_cmpstr (row1[ref_col], ==, "exact k=7");
  g_assert_cmpfloat_with_epsilon (g_ascii_strtod (row1[cos_col], NULL), cosine, 1e-12);
  g_assert_cmpfloat (g_ascii_strtod (row1[sign_col], NULL), ==, sign);
  g_assert_cmpstr (row2[cos_col], ==, "");   /* not measured at 2 */
  /* One process, no reduction hook: ranks 1, spreads 0. */
  gint ranks_col = -1;
  for (gint c = 0; header[c]; c++)
    if (g_str_equal (header[c], "ranks")) ranks_col = c;
  g_assert_cmpint (ranks_col, >, 0);
  g_assert_cmpstr (header[ranks_col + 1], ==, "val_loss_spread");
  g_assert_cmpstr (header[ranks_col + 2], ==, "hypergradient_norm_spread");
  g_assert_cmpstr (row1[ranks_col], ==, "1");
  g_assert_cmpstr (row1[ranks_col + 1], ==, "0");
  g_assert_cmpstr (row1[ranks_col + 2], ==, "0");
  remove_tree (folder);
  problem_teardown (&p);
}

static gboolean
cancel_at_once (const char *phase, guint64 step, guint64 total, gpointer user_data)
{
  return FALSE;
}

/* θ far too large for the machine is refused before anything is
 * allocated: 4294967295 segments, or an L2 per weight of 2^48 weights,
 * made GLib abort the process when its arrays could not grow. */
static void
test_too_many_entries (void)
{
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  drmad_hyper_config_init (&config);
  config.learn_lr = TRUE;
  config.segments = G_MAXUINT;
  config.steps = G_MAXUINT64;
  const guint sizes[] = { 20, 20, 4 };
  g_assert_null (drmad_hyper_new_for_sizes (sizes, 3, &config, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "4294967295 segments"));
  g_clear_error (&error);
  drmad_hyper_config_init (&config);
  config.l2 = DRMAD_L2_PER_WEIGHT;
  const guint wide[] = { 1u << 24, 1u << 24, 10 };
  g_assert_null (drmad_hyper_new_for_sizes (wide, 3, &config, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE);
  g_clear_error (&error);
  /* A large θ that fits is still made. */
  config.l2 = DRMAD_L2_PER_LAYER;
  config.learn_lr = TRUE;
  config.segments = 100000;
  config.steps = 100000;
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new_for_sizes (sizes, 3, &config, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (drmad_hyper_get_n (hyper), ==, 2 + 2 * 100000);
}

/* More entries than GLib's arrays hold (G_MAXUINT; their length is a guint)
 * are refused with TOO_LARGE on a machine whose memory would take them too
 * (1 PiB available, through the test hook DRMAD_INJECT_CGROUP's meminfo):
 * the check compared the bytes with the memory alone, and there the
 * 4294967295 segments of /hyper/too-many-entries went on to allocate some
 * 700 GB before GLib aborted the process. In a subprocess, whose address
 * space is limited, so that an allocation the check lets through fails at
 * once rather than taking the machine's memory. */
static void
test_too_many_entries_large_memory (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
  if (g_test_subprocess ()) {
#ifdef DRMAD_TEST_HOOKS
    g_autofree char *folder = fake_memory (G_GUINT64_CONSTANT (1) << 50, 0, 0, NULL);
#endif
    struct rlimit limit = { .rlim_cur = (rlim_t) 4 << 30, .rlim_max = (rlim_t) 4 << 30 };
    g_assert_cmpint (setrlimit (RLIMIT_AS, &limit), ==, 0);
    g_autoptr (GError) error = NULL;
    DrmadHyperConfig config;
    drmad_hyper_config_init (&config);
    config.learn_lr = TRUE;
    config.segments = G_MAXUINT;
    config.steps = G_MAXUINT64;
    const guint sizes[] = { 20, 20, 4 };
    g_assert_null (drmad_hyper_new_for_sizes (sizes, 3, &config, &error));
    g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE);
    g_assert_nonnull (strstr (error->message, "4294967295 segments"));
    g_assert_nonnull (strstr (error->message, "more than the 4294967295 they may have"));
    g_clear_error (&error);
    /* 2^32 + 2 weights, one L2 entry each: one more than an array holds */
    drmad_hyper_config_init (&config);
    config.l2 = DRMAD_L2_PER_WEIGHT;
    const guint wide[] = { 1u << 16, (1u << 16) + 1, 1 };
    g_assert_null (drmad_hyper_new_for_sizes (wide, 3, &config, &error));
    g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE);
    g_assert_nonnull (strstr (error->message, "more than the 4294967295 they may have"));
#ifdef DRMAD_TEST_HOOKS
    fake_memory_end (g_steal_pointer (&folder));
#endif
    return;
  }
  SKIP_UNDER_ASAN ("AddressSanitizer needs more address space than the limit leaves");
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

/* Objects that do not belong together are refused up front, never read out
 * of bounds: θ made for another net, a method or meta-optimiser out of
 * range, piecewise with no pieces, data of the other precision. */
static void
test_misuse (void)
{
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  config_all_groups (&config, DRMAD_L2_PER_NEURON, 20);
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  g_assert_no_error (error);

  /* Starting values outside the documented ranges (lib/drmad-hyper.h) are
   * refused up front: a momentum of 1e-310 once trained and failed only at
   * the final evaluation, its logit past what θ may hold. */
  const struct { double *field; double value; const char *says; } starts[] = {
    { &config.init_momentum[0], 1e-310, "initial momentum of weight layer 1 is 1e-310: expected a number from 1e-12" },
    { &config.init_momentum[1], 1, "initial momentum of weight layer 2 is 1:" },
    { &config.init_scale[0], 1e-310, "initial scale of weight layer 1 is 1e-310: expected 0" },
    { &config.init_l2[0], 1e-300, "initial L2 coefficient of weight layer 1 is 1e-300" },
    { &config.init_lr[1], 1e3, "initial learning rate of weight layer 2 is 1000" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (starts); i++) {
    double kept = *starts[i].field;
    *starts[i].field = starts[i].value;
    g_assert_null (drmad_hyper_new (p.net, &config, &error));
    g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
    g_assert_nonnull (strstr (error->message, starts[i].says));
    g_clear_error (&error);
    *starts[i].field = kept;
  }
  /* A meta-step projected onto those ranges stays inside them, at both ends of every group. */
  gsize n_all = drmad_hyper_get_n (hyper);
  g_autofree double *wild = g_new (double, n_all);
  for (int sign = -1; sign <= 1; sign += 2) {
    for (gsize i = 0; i < n_all; i++)
      wild[i] = sign * 1e6;
    g_assert_cmpuint (drmad_hyper_clamp_range (hyper, wild), ==, n_all);
    for (gsize i = 0; i < n_all; i++) {
      DrmadGroupKind kind = drmad_hyper_get_entry (hyper, i).kind;
      double natural = drmad_hyper_natural_of (hyper, i, wild[i]);
      double lo = kind == DRMAD_GROUP_MOMENTUM ? DRMAD_HYPER_MOMENTUM_MIN
                  : kind == DRMAD_GROUP_INIT ? DRMAD_HYPER_SCALE_MIN : DRMAD_HYPER_RATE_MIN;
      double hi = kind == DRMAD_GROUP_MOMENTUM ? 1 - DRMAD_HYPER_MOMENTUM_MIN
                  : kind == DRMAD_GROUP_INIT ? DRMAD_HYPER_SCALE_MAX : DRMAD_HYPER_RATE_MAX;
      g_assert_cmpfloat (natural, >=, lo);
      g_assert_cmpfloat (natural, <=, hi);
      double bound = sign < 0 ? lo : hi;
      g_assert_cmpfloat (fabs (natural - bound), <=, 1e-12 * bound);   /* on the bound */
    }
  }
  /* Starting values on the bounds themselves: θ holds them inside, so that
   * θ printed and given back (drmad --evaluate) is accepted. */
  DrmadHyperConfig edges = config;
  for (guint l = 0; l < 3; l++) {
    edges.init_l2[l] = l % 2 ? DRMAD_HYPER_RATE_MIN : DRMAD_HYPER_RATE_MAX;
    edges.init_lr[l] = l % 2 ? DRMAD_HYPER_RATE_MAX : DRMAD_HYPER_RATE_MIN;
    edges.init_momentum[l] = l % 2 ? 1 - DRMAD_HYPER_MOMENTUM_MIN : DRMAD_HYPER_MOMENTUM_MIN;
    edges.init_scale[l] = l % 2 ? DRMAD_HYPER_SCALE_MIN : DRMAD_HYPER_SCALE_MAX;
  }
  g_autoptr (DrmadHyper) at_edges = drmad_hyper_new (p.net, &edges, &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < drmad_hyper_get_n (at_edges); i++) {
    DrmadGroupKind kind = drmad_hyper_get_entry (at_edges, i).kind;
    double natural = drmad_hyper_get_natural (at_edges, i);
    if (kind == DRMAD_GROUP_MOMENTUM) {
      g_assert_cmpfloat (natural, >=, DRMAD_HYPER_MOMENTUM_MIN);
      g_assert_cmpfloat (natural, <=, 1 - DRMAD_HYPER_MOMENTUM_MIN);
    } else {
      g_assert_cmpfloat (natural, >=, kind == DRMAD_GROUP_INIT ? DRMAD_HYPER_SCALE_MIN : DRMAD_HYPER_RATE_MIN);
      g_assert_cmpfloat (natural, <=, kind == DRMAD_GROUP_INIT ? DRMAD_HYPER_SCALE_MAX : DRMAD_HYPER_RATE_MAX);
    }
  }

  static const guint other_sizes[] = { 6, 4, 3 };
  g_autoptr (DrmadNet) other = drmad_net_new (p.device, other_sizes, 3, DRMAD_ACTIVATION_TANH,
                                              DRMAD_PRECISION_FLOAT64, 8, &error);
  g_assert_no_error (error);
  DrmadReverseConfig reverse = { .method = DRMAD_METHOD_EXACT, .seed = 1 };
  DrmadMetaConfig meta_config;
  drmad_meta_config_init (&meta_config);

  g_assert_null (drmad_hypergradient_compute (other, hyper, p.train, p.val, &reverse, NULL, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "6-5-4-3"));
  g_clear_error (&error);
  g_assert_false (drmad_hyper_train (other, hyper, p.train, 1, NULL, NULL, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (drmad_meta_new (other, hyper, p.train, p.val, &reverse, &meta_config, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  DrmadReverseConfig bad_method = { .method = 7, .seed = 1 };
  g_assert_null (drmad_hypergradient_compute (p.net, hyper, p.train, p.val, &bad_method, NULL, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  DrmadReverseConfig no_pieces = { .method = DRMAD_METHOD_PIECEWISE, .snapshots = 0, .seed = 1 };
  g_assert_null (drmad_hypergradient_compute (p.net, hyper, p.train, p.val, &no_pieces, NULL, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  meta_config.algorithm = 9;
  g_assert_null (drmad_meta_new (p.net, hyper, p.train, p.val, &reverse, &meta_config, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  drmad_meta_config_init (&meta_config);

  /* float32 validation data with the float64 net */
  g_autoptr (DrmadDeviceData) val32 = drmad_device_data_new (p.device, DRMAD_PRECISION_FLOAT32, p.val_set, &error);
  g_assert_no_error (error);
  g_assert_null (drmad_meta_new (p.net, hyper, p.train, val32, &reverse, &meta_config, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (drmad_hypergradient_compute (p.net, hyper, p.train, val32, &reverse, NULL, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* The trainer checks its data as every other entry point does. */
  g_autoptr (DrmadTrainer) trainer = drmad_trainer_new (p.net, &error);
  g_assert_no_error (error);
  g_assert_false (drmad_trainer_run (trainer, val32, 1, 0, 4, NULL, NULL, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* A run folder records only the θ its optimiser moves; a cancelled step leaves the count. */
  g_autoptr (DrmadMeta) meta = drmad_meta_new (p.net, hyper, p.train, p.val, &reverse, &meta_config, &error);
  g_assert_no_error (error);
  g_autoptr (DrmadHyper) stranger = drmad_hyper_new (p.net, &config, &error);
  g_assert_null (drmad_meta_step (meta, cancel_at_once, NULL, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpuint (drmad_meta_get_iteration (meta), ==, 0);
  g_autoptr (DrmadMetaReport) report = drmad_meta_step (meta, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (report->iteration, ==, 1);
  g_autofree char *folder = test_tmp_dir ("drmad-misuse", NULL);
  g_autofree char *out = g_build_filename (folder, "run", NULL);
  g_autoptr (DrmadRun) run = drmad_run_create (out, "[drmad]\n", FALSE, &error);
  g_assert_no_error (error);
  g_assert_false (drmad_run_record (run, stranger, meta, report, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  CHECK (drmad_run_record (run, hyper, meta, report, &error));
  g_assert_cmpuint (drmad_run_get_n_records (run), ==, 1);

  /* A saved state of an earlier version whose θ and best θ hold a momentum
   * at its lower bound then, the logit log(1e-12 / (1 − 1e-12)), which is a
   * last bit below 1e-12: loaded inside the range. */
  {
    g_autoptr (GBytes) saved = drmad_meta_save_state (meta);
    gsize size, n_theta = drmad_hyper_get_n (hyper), first, count;
    g_autofree guint8 *bytes = g_memdup2 (g_bytes_get_data (saved, &size), g_bytes_get_size (saved));
    gsize header = size - 8 * n_theta * sizeof (double);   /* θ, m, s, accepted θ, g, m, s, best θ */
    guint momentum_group = 0;
    while (g_strcmp0 (drmad_hyper_get_group_name (hyper, momentum_group), "momentum") != 0)
      momentum_group++;
    drmad_hyper_get_group_span (hyper, momentum_group, &first, &count);
    double old_bound = -log ((1 - 1e-12) / 1e-12);
    g_assert_cmpfloat (1 / (1 + exp (-old_bound)), <, DRMAD_HYPER_MOMENTUM_MIN);
    memcpy (bytes + header + first * sizeof (double), &old_bound, sizeof old_bound);
    memcpy (bytes + header + (7 * n_theta + first) * sizeof (double), &old_bound, sizeof old_bound);
    g_autoptr (GBytes) old_state = g_bytes_new (bytes, size);
    g_autoptr (DrmadMeta) from_old = drmad_meta_new (p.net, hyper, p.train, p.val, &reverse, &meta_config, &error);
    g_assert_no_error (error);
    CHECK (drmad_meta_load_state (from_old, old_state, &error));
    g_assert_cmpfloat (drmad_hyper_get_natural (hyper, first), >=, DRMAD_HYPER_MOMENTUM_MIN);
    g_assert_cmpfloat (drmad_hyper_natural_of (hyper, first, drmad_meta_get_best_values (from_old)[first]), >=,
                       DRMAD_HYPER_MOMENTUM_MIN);
    CHECK (drmad_meta_load_state (from_old, saved, &error));   /* θ as it was, for what follows */
  }

  /* A record that is not written is not kept: refused on a read-only run,
   * or when history.csv cannot be replaced (a folder in its place); the
   * second try then holds it once. */
  g_autoptr (DrmadMetaReport) report2 = drmad_meta_step (meta, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (DrmadRun) reader = drmad_run_open_read_only (out, &error);
  g_assert_no_error (error);
  CHECK (drmad_run_load_history (reader, hyper, &error));
  g_assert_false (drmad_run_record (reader, hyper, meta, report2, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpuint (drmad_run_get_n_records (reader), ==, 1);
  g_autofree char *history = g_build_filename (out, "history.csv", NULL);
  g_autofree char *in_the_way = g_build_filename (history, "file", NULL);
  g_assert_cmpint (g_unlink (history), ==, 0);
  g_assert_cmpint (g_mkdir (history, 0755), ==, 0);
  g_assert_true (g_file_set_contents (in_the_way, "x", 1, NULL));
  g_assert_false (drmad_run_record (run, hyper, meta, report2, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_IO);
  g_clear_error (&error);
  g_assert_cmpuint (drmad_run_get_n_records (run), ==, 1);
  remove_tree (history);
  CHECK (drmad_run_record (run, hyper, meta, report2, &error));
  g_assert_cmpuint (drmad_run_get_n_records (run), ==, 2);
  g_assert_cmpuint (drmad_run_get_record (run, 1)->iteration, ==, 2);

  /* A report of another optimiser at the same iteration, with fewer groups
   * than this θ (its group norms are shorter): refused, not read past. */
  DrmadHyperConfig l2_only;
  drmad_hyper_config_init (&l2_only);
  l2_only.steps = 20;
  g_autoptr (DrmadHyper) small_hyper = drmad_hyper_new (p.net, &l2_only, &error);
  g_assert_no_error (error);
  g_autoptr (DrmadMeta) small_meta = drmad_meta_new (p.net, small_hyper, p.train, p.val, &reverse, &meta_config,
                                                     &error);
  g_assert_no_error (error);
  g_autoptr (DrmadMetaReport) small1 = drmad_meta_step (small_meta, NULL, NULL, &error);
  g_autoptr (DrmadMetaReport) small2 = drmad_meta_step (small_meta, NULL, NULL, &error);
  g_autoptr (DrmadMetaReport) small3 = drmad_meta_step (small_meta, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (DrmadMetaReport) report3 = drmad_meta_step (meta, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (small3->iteration, ==, report3->iteration);
  g_assert_cmpuint (small3->n_groups, <, report3->n_groups);
  g_assert_false (drmad_run_record (run, hyper, meta, small3, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpuint (drmad_run_get_n_records (run), ==, 2);
  /* Reports that agree with their own optimiser and θ but not with the
   * records the run holds: another θ's next meta-iteration (the records
   * would be read with its sizes), and this θ's meta-iteration 2 again. */
  g_autoptr (DrmadMetaReport) small4 = drmad_meta_step (small_meta, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (small4->iteration, ==, 4);
  g_assert_false (drmad_run_record (run, small_hyper, small_meta, small4, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_autoptr (DrmadMeta) again = drmad_meta_new (p.net, hyper, p.train, p.val, &reverse, &meta_config, &error);
  g_assert_no_error (error);
  g_autoptr (DrmadMetaReport) again1 = drmad_meta_step (again, NULL, NULL, &error);
  g_autoptr (DrmadMetaReport) again2 = drmad_meta_step (again, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (drmad_run_record (run, hyper, again, again2, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpuint (drmad_run_get_n_records (run), ==, 2);
  g_autofree char *history_text = NULL;
  g_assert_true (g_file_get_contents (history, &history_text, NULL, NULL));
  g_assert_null (strstr (history_text, "\n3,"));   /* no third row was written */
  g_clear_pointer (&reader, drmad_run_free);
  g_clear_pointer (&run, drmad_run_free);
  remove_tree (folder);
  problem_teardown (&p);
}

/* hyper.csv with a θ of thousands (L2 per weight) over many meta-iterations:
 * each record's rows are formatted once. Rewriting every earlier record's
 * rows at each meta-iteration made a record's cost grow with the run (with
 * 1.8 million values, 8 meta-iterations: 3 s more at the first record, 11 s
 * at the eighth, 2.1 GB of memory for a 0.3 GB pass). The file is checked
 * against the rows written here from θ after each step, also after it was
 * cut short behind the run's back (then written whole again). */
static void
test_hyper_csv_grows_linearly (void)
{
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  g_autoptr (GError) error = NULL;
  static const guint wide[] = { 6, 120, 100, 3 };
  g_autoptr (DrmadNet) net = drmad_net_new (p.device, wide, G_N_ELEMENTS (wide), DRMAD_ACTIVATION_TANH,
                                            DRMAD_PRECISION_FLOAT64, 8, &error);
  g_assert_no_error (error);
  DrmadHyperConfig config;
  drmad_hyper_config_init (&config);
  config.l2 = DRMAD_L2_PER_WEIGHT;
  config.learn_lr = config.learn_momentum = config.learn_init_scale = FALSE;
  config.steps = 2;
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (net, &config, &error);
  g_assert_no_error (error);
  gsize n = drmad_hyper_get_n (hyper);
  g_assert_cmpuint (n, ==, 6 * 120 + 120 * 100 + 100 * 3);
  DrmadReverseConfig reverse = { .method = DRMAD_METHOD_EXACT, .seed = 3 };
  DrmadMetaConfig meta_config;
  drmad_meta_config_init (&meta_config);
  meta_config.fidelity_every = 0;
  g_autoptr (DrmadMeta) meta = drmad_meta_new (net, hyper, p.train, p.val, &reverse, &meta_config, &error);
  g_assert_no_error (error);
  g_autofree char *folder = test_tmp_dir ("drmad-hyper-csv", &error);
  g_assert_no_error (error);
  g_autofree char *out = g_build_filename (folder, "run", NULL);
  g_autoptr (DrmadRun) run = drmad_run_create (out, "[drmad]\n", FALSE, &error);
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (out, "hyper.csv", NULL);
  GString *expected = g_string_new ("iteration,name,raw,value\n");
  enum { RECORDS = 12 };
  double cpu[RECORDS + 1];
  char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];
  for (guint it = 1; it <= RECORDS; it++) {
    g_autoptr (DrmadMetaReport) report = drmad_meta_step (meta, NULL, NULL, &error);
    g_assert_no_error (error);
    const double *theta = drmad_hyper_get_values (hyper);
    for (gsize k = 0; k < n; k++)
      g_string_append_printf (expected, "%u,%s,%s,%s\n", it, drmad_hyper_get_name (hyper, k),
                              g_ascii_formatd (a, sizeof a, "%.17g", theta[k]),
                              g_ascii_formatd (b, sizeof b, "%.17g", exp (theta[k])));
    struct timespec t0, t1;
    clock_gettime (CLOCK_THREAD_CPUTIME_ID, &t0);
    CHECK (drmad_run_record (run, hyper, meta, report, &error));
    clock_gettime (CLOCK_THREAD_CPUTIME_ID, &t1);
    cpu[it] = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (it == 5) {   /* cut short: the next record writes it whole again */
      CHECK (truncate (path, expected->len / 2) == 0);
      continue;
    }
    g_autofree char *text = NULL;
    gsize length;
    CHECK (g_file_get_contents (path, &text, &length, NULL));
    g_assert_cmpuint (length, ==, expected->len);
    g_assert_true (memcmp (text, expected->str, length) == 0);
  }
  g_test_message ("CPU seconds of drmad_run_record: first %.4f, last %.4f", cpu[1], cpu[RECORDS]);
  /* The last formats one record's rows as the first did (plus copying the
   * earlier ones' bytes in the kernel); formatting all twelve took 12×. */
  g_assert_cmpfloat (cpu[RECORDS], <, 4 * cpu[1]);
  g_string_free (expected, TRUE);
  g_clear_pointer (&run, drmad_run_free);
  remove_tree (folder);
  problem_teardown (&p);
}

/* On a CPU device (PoCL) the device's memory is the host's: the pass's host
 * arrays (dw, θ expanded, the per-parameter hypergradient; as much as 1.75×
 * DrMAD's device vectors) come out of the same memory. The check counted
 * the device part alone, so a pass that fitted it by less than its host
 * arrays was accepted and then killed for memory. Here T is chosen so that
 * the device part fits the device's free memory and the host arrays, as
 * measured on a short pass, do not fit beside it. */
static void
test_check_memory_host_arrays (void)
{
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  if (g_strcmp0 (drmad_device_get_info (p.device)->type, "CPU") != 0) {
    g_test_skip ("not a CPU device: its memory is not the host's");
    problem_teardown (&p);
    return;
  }
  g_autofree char *plenty = NULL;
  if (!device_memory_bound (p.device, &plenty)) {
    problem_teardown (&p);
    return;
  }
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  config_all_groups (&config, DRMAD_L2_PER_LAYER, 20);
  g_autoptr (DrmadHyper) short_run = drmad_hyper_new (p.net, &config, &error);
  g_assert_no_error (error);
  DrmadReverseConfig reverse = { .method = DRMAD_METHOD_EXACT, .checkpoint_every = 1, .seed = 13 };
  g_autoptr (DrmadHypergradient) measured = drmad_hypergradient_compute (p.net, short_run, p.train, p.val, &reverse,
                                                                         NULL, NULL, &error);
  g_assert_no_error (error);
  guint64 host = measured->host_peak_bytes;
  g_assert_cmpuint (host, >, 0);
  guint64 room = drmad_device_get_info (p.device)->global_mem_bytes - drmad_device_get_allocated_bytes (p.device);
  /* The largest T whose device part fits the room (bisection: the device part grows with T). */
  guint64 lo = 1, hi = G_GUINT64_CONSTANT (1) << 40;
  while (hi - lo > 1) {
    config.steps = lo + (hi - lo) / 2;
    g_autoptr (DrmadHyper) h = drmad_hyper_new (p.net, &config, &error);
    g_assert_no_error (error);
    if (drmad_hypergradient_device_bytes (p.net, h, &reverse) <= room)
      lo = config.steps;
    else
      hi = config.steps;
  }
  config.steps = lo;
  g_autoptr (DrmadHyper) long_run = drmad_hyper_new (p.net, &config, &error);
  g_assert_no_error (error);
  guint64 device_part = drmad_hypergradient_device_bytes (p.net, long_run, &reverse);
  g_test_message ("T = %" G_GUINT64_FORMAT ": device part %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
                  " bytes free, host arrays %" G_GUINT64_FORMAT, lo, device_part, room, host);
  g_assert_cmpuint (device_part, <=, room);
  g_assert_cmpuint (device_part + host, >, room);   /* one step of T adds less than the host arrays */
  g_assert_false (drmad_hypergradient_check_memory (p.net, long_run, &reverse, &error));
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "of host arrays"));
  g_clear_error (&error);
  /* Room for both: accepted. */
  config.steps = 20;
  CHECK (drmad_hypergradient_check_memory (p.net, short_run, &reverse, &error));
  device_memory_bound_end (g_steal_pointer (&plenty));
  problem_teardown (&p);
}

/* No --memory-budget on a CPU device whose memory the pass's host arrays
 * share, and those arrays leaving less than half the free memory: the
 * default budget (half the free memory) is more than what is left, and the
 * reason says that, not "the memory budget (…) is more than that" as if the
 * user had given one. A wide layer (about 10⁶ parameters) and enough
 * segments (learning rates per segment; momentum fixed, so the device needs
 * less than the host) that the host arrays, (4S + 5) P doubles, are about
 * 52% of the free memory. Resolving only: nothing is allocated for them. */
static void
test_auto_default_budget_beside_host_arrays (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadDevice) device = drmad_device_open (NULL, &error);
  if (!device) {
    g_test_skip (error->message);
    return;
  }
  if (g_strcmp0 (drmad_device_get_info (device)->type, "CPU") != 0) {
    g_test_skip ("the host arrays share the device's memory only on a CPU device");
    return;
  }
  g_autofree char *plenty = NULL;
  if (!device_memory_bound (device, &plenty))
    return;
  const guint wide[] = { 6, 100000, 3 };
  g_autoptr (DrmadNet) net = drmad_net_new (device, wide, G_N_ELEMENTS (wide), DRMAD_ACTIVATION_TANH,
                                            DRMAD_PRECISION_FLOAT64, 8, &error);
  g_assert_no_error (error);
  guint64 P = drmad_net_get_n_params (net);
  guint64 room = drmad_device_get_info (device)->global_mem_bytes - drmad_device_get_allocated_bytes (device);
  guint64 S = (guint64) (0.52 * room / (P * sizeof (double)) / 4) + 1;
  DrmadHyperConfig config;
  drmad_hyper_config_init (&config);
  config.learn_lr = TRUE;
  config.segments = (guint) S;
  config.steps = S;
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (net, &config, &error);
  g_assert_no_error (error);
  g_assert_cmpuint ((4 * S + 5) * P * sizeof (double), >, room / 2);
  DrmadReverseConfig reverse, resolved;
  drmad_reverse_config_init (&reverse);
  g_assert_cmpint (reverse.method, ==, DRMAD_METHOD_AUTO);
  g_assert_cmpuint (reverse.memory_budget, ==, 0);
  g_autofree char *reason = NULL;
  CHECK (drmad_reverse_config_resolve (net, hyper, &reverse, &resolved, &reason, &error));
  g_test_message ("%s", reason);
  g_assert_null (strstr (reason, "the memory budget"));
  g_assert_nonnull (strstr (reason, "the device's free memory beside the pass's host arrays"));
  g_autofree char *half = g_format_size_full (room / 2, G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char *says = g_strdup_printf ("the default budget, half the device's free memory (%s), is more than "
                                           "that", half);
  g_assert_nonnull (strstr (reason, says));
  device_memory_bound_end (g_steal_pointer (&plenty));
}

/* drmad_meta_get_no_fidelity_reason(), which the job's folder event passes
 * on so that the time left counts no fidelity phase where none will run:
 * NULL where a more faithful reference fits (the default budget, a short
 * run), the reason where none does (drmad under a budget that holds one
 * straight piece and not two), and what meta-iteration 1 then warns. */
static void
test_meta_no_fidelity_reason (void)
{
  Problem p = { 0 };
  if (!problem_setup (&p, 8))
    return;
  g_autoptr (GError) error = NULL;
  DrmadHyperConfig config;
  drmad_hyper_config_init (&config);
  config.steps = 20;
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (p.net, &config, &error);
  g_assert_no_error (error);
  DrmadMetaConfig meta_config;
  drmad_meta_config_init (&meta_config);
  meta_config.fidelity_every = 1;
  DrmadReverseConfig reverse = { .method = DRMAD_METHOD_DRMAD, .seed = 1 };
  g_autoptr (DrmadMeta) measured = drmad_meta_new (p.net, hyper, p.train, p.val, &reverse, &meta_config, &error);
  g_assert_no_error (error);
  g_assert_null (drmad_meta_get_no_fidelity_reason (measured));
  DrmadReverseConfig one = { .method = DRMAD_METHOD_PIECEWISE, .snapshots = 1, .seed = 1 };
  reverse.memory_budget = drmad_hypergradient_device_bytes (p.net, hyper, &one);
  g_autoptr (DrmadHyper) tight_hyper = drmad_hyper_new (p.net, &config, &error);
  g_autoptr (DrmadMeta) tight = drmad_meta_new (p.net, tight_hyper, p.train, p.val, &reverse, &meta_config, &error);
  g_assert_no_error (error);
  const char *reason = drmad_meta_get_no_fidelity_reason (tight);
  g_assert_cmpstr (reason, ==, "no method more faithful than drmad fits the memory budget");
  g_autoptr (DrmadMetaReport) report = drmad_meta_step (tight, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (report->fidelity_measured);
  g_autofree char *warning = g_strdup_printf ("fidelity not measured: %s", reason);
  g_assert_cmpstr (report->fidelity_warning, ==, warning);
  problem_teardown (&p);
}

/* drmad_hyper_cells (): the geometric mean of each layer's L2 per weight
 * and each layer × segment's learning rate, computed here from θ's names,
 * and the configuration's value for a group not learned (momentum, init). */
static void
test_cells (void)
{
  DrmadHyperConfig config;
  drmad_hyper_config_init (&config);
  config.l2 = DRMAD_L2_PER_WEIGHT;
  config.learn_lr = TRUE;
  config.segments = 2;
  config.init_momentum[0] = 0.8, config.init_momentum[1] = 0.7;
  config.init_scale[0] = 0.05, config.init_scale[1] = 0.5;
  guint sizes[] = { 3, 4, 2 };
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new_for_sizes (sizes, 3, &config, &error);
  g_assert_no_error (error);
  gsize n = drmad_hyper_get_n (hyper);
  g_assert_cmpuint (n, ==, 3 * 4 + 4 * 2 + 2 * 2);
  g_autofree double *theta = g_new (double, n);
  double l2_log_sum[2] = { 0 }, lr[2][2] = { { 0 } };
  guint l2_count[2] = { 0 };
  for (gsize i = 0; i < n; i++) {
    theta[i] = -3 + 0.37 * i - 0.01 * i * i;
    guint layer, unit;
    const char *name = drmad_hyper_get_name (hyper, i);
    if (sscanf (name, "l2/layer%u/w%u", &layer, &unit) == 2) {
      l2_log_sum[layer - 1] += theta[i];   /* log of exp (θ) */
      l2_count[layer - 1]++;
    } else {
      g_assert_cmpint (sscanf (name, "lr/layer%u/seg%u", &layer, &unit), ==, 2);
      lr[layer - 1][unit] = exp (theta[i]);
    }
  }
  g_assert_cmpuint (drmad_hyper_get_n_cells (hyper, DRMAD_GROUP_L2), ==, 2);
  g_assert_cmpuint (drmad_hyper_get_n_cells (hyper, DRMAD_GROUP_LR), ==, 4);
  g_assert_cmpuint (drmad_hyper_get_n_cells (hyper, DRMAD_GROUP_MOMENTUM), ==, 4);
  g_assert_cmpuint (drmad_hyper_get_n_cells (hyper, DRMAD_GROUP_INIT), ==, 2);
  double cells[4];
  drmad_hyper_cells (hyper, theta, DRMAD_GROUP_L2, cells);
  for (guint l = 0; l < 2; l++) {
    double expected = exp (l2_log_sum[l] / l2_count[l]);
    g_assert_cmpfloat_with_epsilon (cells[l], expected, 1e-14 * expected);
  }
  drmad_hyper_cells (hyper, theta, DRMAD_GROUP_LR, cells);
  for (guint c = 0; c < 4; c++)
    g_assert_cmpfloat_with_epsilon (cells[c], lr[c / 2][c % 2], 1e-14 * lr[c / 2][c % 2]);
  drmad_hyper_cells (hyper, theta, DRMAD_GROUP_MOMENTUM, cells);
  const double momentum[4] = { 0.8, 0.8, 0.7, 0.7 };
  for (guint c = 0; c < 4; c++)
    g_assert_cmpfloat (cells[c], ==, momentum[c]);
  drmad_hyper_cells (hyper, theta, DRMAD_GROUP_INIT, cells);
  g_assert_cmpfloat (cells[0], ==, 0.05);
  g_assert_cmpfloat (cells[1], ==, 0.5);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  static const ExactCase layer = { DRMAD_L2_PER_LAYER, 0 }, layer_k1 = { DRMAD_L2_PER_LAYER, 1 },
                         neuron = { DRMAD_L2_PER_NEURON, 7 }, weight = { DRMAD_L2_PER_WEIGHT, 50 },
                         fixed_momentum = { DRMAD_L2_PER_LAYER, 5, TRUE };
  g_test_add_data_func ("/hyper/exact-vs-finite-differences/l2-per-layer", &layer, test_exact_vs_finite_differences);
  g_test_add_data_func ("/hyper/exact-vs-finite-differences/l2-per-layer-k1", &layer_k1, test_exact_vs_finite_differences);
  g_test_add_data_func ("/hyper/exact-vs-finite-differences/l2-per-neuron", &neuron, test_exact_vs_finite_differences);
  g_test_add_data_func ("/hyper/exact-vs-finite-differences/l2-per-weight", &weight, test_exact_vs_finite_differences);
  g_test_add_data_func ("/hyper/exact-vs-finite-differences/fixed-momentum", &fixed_momentum, test_exact_vs_finite_differences);
  g_test_add_data_func ("/hyper/piecewise-limits/all-groups", GINT_TO_POINTER (FALSE), test_piecewise_limits);
  g_test_add_data_func ("/hyper/piecewise-limits/fixed-momentum", GINT_TO_POINTER (TRUE), test_piecewise_limits);
  g_test_add_data_func ("/hyper/exact-tape/fixed-momentum", GINT_TO_POINTER (TRUE), test_exact_tape);
  g_test_add_data_func ("/hyper/exact-tape/learned-momentum", GINT_TO_POINTER (FALSE), test_exact_tape);
  g_test_add_func ("/hyper/uniform-stretches", test_uniform_stretches);
  g_test_add_func ("/hyper/host-team", test_host_team);
  g_test_add_func ("/hyper/host-team/timed", test_host_team_timed);
  g_test_add_func ("/hyper/host-direct", test_host_direct);
  g_test_add_func ("/hyper/memory-scaling", test_memory_scaling);
  g_test_add_func ("/hyper/divergence-guard", test_divergence_guard);
  g_test_add_func ("/hyper/cells", test_cells);
  g_test_add_func ("/hyper/warm-start", test_warm_start);
  g_test_add_func ("/hyper/learning-rate-growth", test_learning_rate_growth);
  g_test_add_func ("/hyper/state-every-double", test_state_every_double);
  g_test_add_func ("/hyper/state-huge-hypergradient", test_state_huge_hypergradient);
  g_test_add_func ("/hyper/init-scale-past-float32", test_init_scale_past_float32);
  g_test_add_func ("/hyper/cancel", test_cancel);
  g_test_add_func ("/hyper/memory-units", test_memory_units);
  g_test_add_func ("/hyper/documented-edges", test_documented_edges);
  g_test_add_func ("/hyper/cancel-in-fidelity", test_cancel_in_fidelity);
  g_test_add_func ("/hyper/reload-inside-step", test_reload_inside_step);
  g_test_add_func ("/hyper/threads-share-a-device", test_threads_share_a_device);
  g_test_add_func ("/hyper/threads-meta-jobs", test_threads_meta_jobs);
  g_test_add_func ("/hyper/names", test_names);
  g_test_add_func ("/hyper/launch-geometry", test_launch_geometry);
  g_test_add_func ("/hyper/drmad-authors-loop", test_drmad_authors_loop);
  g_test_add_func ("/hyper/drmad-full-line", test_drmad_full_line);
  g_test_add_func ("/hyper/truncated", test_truncated);
  g_test_add_func ("/hyper/auto-choice", test_auto_choice);
  g_test_add_func ("/hyper/auto-choice-cgroup-limit", test_auto_choice_cgroup_limit);
  g_test_add_func ("/hyper/theta-size-cgroup-limit", test_theta_size_cgroup_limit);
  g_test_add_func ("/hyper/meta-room-checked-once", test_meta_room_checked_once);
  g_test_add_func ("/hyper/resume-keeps-auto-choice", test_resume_keeps_auto_choice);
  g_test_add_func ("/hyper/fidelity-reference-refused-for-memory", test_fidelity_reference_refused_for_memory);
  g_test_add_func ("/hyper/resolve-held-settings", test_resolve_held_settings);
  g_test_add_func ("/hyper/caller-peak-kept", test_caller_peak_kept);
  g_test_add_func ("/hyper/defaults-at-largest-steps", test_defaults_at_largest_steps);
  g_test_add_func ("/hyper/meta-no-fidelity-reason", test_meta_no_fidelity_reason);
  g_test_add_func ("/hyper/auto-default-budget-beside-host-arrays", test_auto_default_budget_beside_host_arrays);
  g_test_add_func ("/hyper/watch", test_watch);
  g_test_add_func ("/hyper/check-memory-host-arrays", test_check_memory_host_arrays);
  g_test_add_func ("/hyper/reverse-progress", test_reverse_progress);
  g_test_add_func ("/hyper/fidelity", test_fidelity);
  g_test_add_func ("/hyper/fidelity-scale", test_fidelity_scale);
  g_test_add_func ("/hyper/misuse", test_misuse);
  g_test_add_func ("/hyper/hyper-csv-grows-linearly", test_hyper_csv_grows_linearly);
  g_test_add_func ("/hyper/too-many-entries", test_too_many_entries);
  g_test_add_func ("/hyper/too-many-entries-large-memory", test_too_many_entries_large_memory);
  g_test_add_func ("/hyper/blind-groups", test_blind_groups);
  return g_test_run ();
}
