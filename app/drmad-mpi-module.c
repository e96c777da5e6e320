/* Hypergradients averaged over MPI ranks (drmad-mpi.h, docs/distributed.md): one
 * MPI_Allreduce per meta-iteration, and a hash of θ compared on every rank.
 * Built as the module libdrmad-mpi.so, which drmad-mpi.c loads only under
 * an MPI launcher, so that plain `drmad` maps no Open MPI. */
#include "drmad-mpi.h"

#include <math.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What drmad-mpi.c looks up (the functions of drmad-mpi.h but drmad_mpi_launched). */
gboolean drmad_mpi_module_init (DrmadJobRanks *ranks, GError **error);
gboolean drmad_mpi_module_local_rank (guint *local_rank, guint *local_size, GError **error);
void     drmad_mpi_module_finalize (void);
void     drmad_mpi_module_abort (int status);

static gboolean
mpi_failed (int code, const char *what, GError **error)
{
  if (code == MPI_SUCCESS)
    return FALSE;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string (code, text, &length);
  g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_FAILED, "%s failed: %.*s", what, length, text);
  return TRUE;
}

/* What each rank sends after the hypergradient: the sums of the three
 * scalars, and of the validation loss, the hypergradient norm and its square
 * (for the spreads), then the hypergradient. */
enum { SUM_VAL_LOSS, SUM_VAL_ERROR, SUM_TRAIN_LOSS, SUM_VAL_LOSS_SQUARED, SUM_NORM, SUM_NORM_SQUARED, N_SUMS };

/* The population standard deviation of N values from their sum and the sum of their squares. */
static double
spread (double sum, double sum_of_squares, guint n)
{
  double mean = sum / n;
  return sqrt (MAX (sum_of_squares / n - mean * mean, 0));   /* rounding may make it a hair below 0 */
}

/* The hook of drmad_meta_set_reduce(): the mean over all ranks of the
 * hypergradient and the three scalars, and the spreads across ranks of the
 * validation loss and of the hypergradient norm, in one MPI_Allreduce. With
 * DRMAD_MPI_TIMING set, every rank prints the time it spent in that call
 * (docs/distributed.md, "Measured"). */
static gboolean
average (double *gradient, gsize n, DrmadMetaScalars *scalars, gpointer user_data, GError **error)
{
  const DrmadJobRanks *ranks = user_data;
  if (n + N_SUMS > G_MAXINT) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT, "%" G_GSIZE_FORMAT " hyperparameters are too "
                 "many for one MPI message", n);
    return FALSE;
  }
  g_autofree double *buffer = g_new (double, N_SUMS + n);
  double norm = scalars->hypergradient_norm;
  buffer[SUM_VAL_LOSS] = scalars->val_loss;
  buffer[SUM_VAL_ERROR] = scalars->val_error;
  buffer[SUM_TRAIN_LOSS] = scalars->train_loss;
  buffer[SUM_VAL_LOSS_SQUARED] = scalars->val_loss * scalars->val_loss;
  buffer[SUM_NORM] = norm;
  buffer[SUM_NORM_SQUARED] = norm * norm;
  memcpy (buffer + N_SUMS, gradient, n * sizeof (double));
  gint64 started = g_get_monotonic_time ();
  if (mpi_failed (MPI_Allreduce (MPI_IN_PLACE, buffer, (int) (N_SUMS + n), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD),
                  "averaging the hypergradient (MPI_Allreduce)", error))
    return FALSE;
  gint64 allreduce_us = g_get_monotonic_time () - started;
#ifdef DRMAD_TEST_HOOKS
  /* DRMAD_INJECT_KILL=R:C: rank R dies by SIGKILL right after its C-th
   * allreduce, in the middle of meta-iteration C: rank 0 has recorded C − 1
   * (it records before its next allreduce) and cannot record C, which waits
   * for the θ check with R (tests/test-mpi.c, /mpi/rank-killed).
   * DRMAD_INJECT_KILL=R:C:S raises signal S instead (15: SIGTERM, which
   * the program catches and stops at its next step, /mpi/rank-stopped). */
  static guint calls;
  const char *kill_at = g_getenv ("DRMAD_INJECT_KILL");
  calls++;
  if (kill_at && strchr (kill_at, ':') && g_ascii_strtoull (kill_at, NULL, 10) == ranks->rank
      && g_ascii_strtoull (strchr (kill_at, ':') + 1, NULL, 10) == calls) {
    const char *signal_at = strchr (strchr (kill_at, ':') + 1, ':');
    raise (signal_at ? (int) g_ascii_strtoull (signal_at + 1, NULL, 10) : SIGKILL);
  }
#endif
  if (g_getenv ("DRMAD_MPI_TIMING"))
    fprintf (stderr, "drmad: rank %u: allreduce of %" G_GSIZE_FORMAT " doubles: %.1f µs\n", ranks->rank, N_SUMS + n,
             (double) allreduce_us);
  for (gsize i = 0; i < n; i++)
    gradient[i] = buffer[N_SUMS + i] / ranks->size;
  scalars->val_loss = buffer[SUM_VAL_LOSS] / ranks->size;
  scalars->val_error = buffer[SUM_VAL_ERROR] / ranks->size;
  scalars->train_loss = buffer[SUM_TRAIN_LOSS] / ranks->size;
  scalars->ranks = ranks->size;
  scalars->val_loss_spread = spread (buffer[SUM_VAL_LOSS], buffer[SUM_VAL_LOSS_SQUARED], ranks->size);
  scalars->hypergradient_norm_spread = spread (buffer[SUM_NORM], buffer[SUM_NORM_SQUARED], ranks->size);
  return TRUE;
}

#define HASH_BYTES 32   /* SHA-256 */

/* θ's SHA-256 from every rank; all must equal rank 0's. */
static gboolean
check_theta (const double *theta, gsize n, guint iteration, gpointer user_data, GError **error)
{
  const DrmadJobRanks *ranks = user_data;
  guint8 mine[HASH_BYTES];
  gsize length = sizeof mine;
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (sum, (const guchar *) theta, n * sizeof (double));
#ifdef DRMAD_TEST_HOOKS
  /* DRMAD_INJECT_THETA_MISMATCH=R: rank R hashes one more byte from
   * meta-iteration 2 on, as if its θ had drifted (tests/test-mpi.c). */
  const char *drift = g_getenv ("DRMAD_INJECT_THETA_MISMATCH");
  if (drift && g_ascii_strtoull (drift, NULL, 10) == ranks->rank && iteration >= 2)
    g_checksum_update (sum, (const guchar *) "x", 1);
#endif
  g_checksum_get_digest (sum, mine, &length);
  g_autofree guint8 *all = g_new (guint8, (gsize) HASH_BYTES * ranks->size);
  if (mpi_failed (MPI_Allgather (mine, HASH_BYTES, MPI_BYTE, all, HASH_BYTES, MPI_BYTE, MPI_COMM_WORLD),
                  "comparing θ across ranks (MPI_Allgather)", error))
    return FALSE;
  for (guint r = 1; r < ranks->size; r++)
    if (memcmp (all + (gsize) r * HASH_BYTES, all, HASH_BYTES) != 0) {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_MISMATCH,
                   "after meta-iteration %u the hyperparameters of rank %u differ from rank 0's (SHA-256 of θ): "
                   "the ranks no longer take the same step, so the run stops", iteration, r);
      return FALSE;
    }
  return TRUE;
}

/* Every rank's @text, in rank order (DrmadJobRanks.gather). */
static char **
gather (const char *text, gpointer user_data, GError **error)
{
  const DrmadJobRanks *ranks = user_data;
  gsize length = strlen (text) + 1;   /* with its NUL */
  if (length > G_MAXINT / ranks->size) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT, "%" G_GSIZE_FORMAT " bytes of settings are too "
                 "many for one MPI message", length);
    return NULL;
  }
  int mine = (int) length;
  g_autofree int *lengths = g_new (int, ranks->size), *offsets = g_new (int, ranks->size);
  if (mpi_failed (MPI_Allgather (&mine, 1, MPI_INT, lengths, 1, MPI_INT, MPI_COMM_WORLD),
                  "comparing the settings across ranks (MPI_Allgather)", error))
    return NULL;
  gsize total = 0;
  for (guint r = 0; r < ranks->size; r++) {
    if (lengths[r] < 1 || (gsize) lengths[r] > G_MAXINT / ranks->size) {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT, "rank %u has %d bytes of settings, expected 1 "
                   "to %d", r, lengths[r], G_MAXINT / (int) ranks->size);
      return NULL;
    }
    offsets[r] = (int) total;
    total += lengths[r];
  }
  g_autofree char *all = g_malloc (total);
  if (mpi_failed (MPI_Allgatherv (text, mine, MPI_CHAR, all, lengths, offsets, MPI_CHAR, MPI_COMM_WORLD),
                  "comparing the settings across ranks (MPI_Allgatherv)", error))
    return NULL;
  char **texts = g_new0 (char *, ranks->size + 1);
  for (guint r = 0; r < ranks->size; r++)
    texts[r] = g_strndup (all + offsets[r], lengths[r] - 1);
  return texts;
}

gboolean
drmad_mpi_module_init (DrmadJobRanks *ranks, GError **error)
{
  int rank = 0, size = 1;
  if (mpi_failed (MPI_Init (NULL, NULL), "MPI_Init", error))
    return FALSE;
  /* Errors come back as codes (mpi_failed) rather than ending the process unexplained. */
  MPI_Comm_set_errhandler (MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank (MPI_COMM_WORLD, &rank);
  MPI_Comm_size (MPI_COMM_WORLD, &size);
  *ranks = (DrmadJobRanks) { .rank = rank, .size = size, .reduce = average, .check_theta = check_theta,
                             .gather = gather, .user_data = ranks };
  return TRUE;
}

gboolean
drmad_mpi_module_local_rank (guint *local_rank, guint *local_size, GError **error)
{
  MPI_Comm node;
  int rank = 0, size = 1;
  if (mpi_failed (MPI_Comm_split_type (MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node),
                  "finding the ranks on this machine (MPI_Comm_split_type)", error))
    return FALSE;
  MPI_Comm_rank (node, &rank);
  MPI_Comm_size (node, &size);
  MPI_Comm_free (&node);
  *local_rank = rank;
  *local_size = size;
  return TRUE;
}

void
drmad_mpi_module_finalize (void)
{
  int initialized = 0, finalized = 0;
  MPI_Initialized (&initialized);
  MPI_Finalized (&finalized);
  if (!initialized || finalized)
    return;
  /* The other ranks wait here while rank 0 alone runs --check, --evaluate
   * or --meta-iters 0 (drmad-cli.c, run_launched), for hours if need be:
   * Open MPI 4.1's MPI_Finalize waits for them polling every 100 µs, about
   * 9% of a core a rank (measured 2026-12-05); a barrier looked at ten
   * times a second costs nothing. Every rank that does not abort comes
   * here, so it completes. */
  MPI_Request barrier;
  if (MPI_Ibarrier (MPI_COMM_WORLD, &barrier) == MPI_SUCCESS)
    for (int done = 0; MPI_Test (&barrier, &done, MPI_STATUS_IGNORE) == MPI_SUCCESS && !done;)
      g_usleep (G_USEC_PER_SEC / 10);
  MPI_Finalize ();
}

void
drmad_mpi_module_abort (int status)
{
  MPI_Abort (MPI_COMM_WORLD, status);
  exit (status);   /* MPI_Abort does not return; for the compiler */
}
