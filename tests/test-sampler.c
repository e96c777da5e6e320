/* The counter-based sampler (docs/algorithm.md §1): minibatches are a pure
 * function of (seed, step) and each epoch visits every example once. */
#include "drmad-sampler.h"

#include <math.h>
#include <string.h>

static void
test_deterministic (void)
{
  guint32 a[64], b[64];
  for (guint64 step = 0; step < 50; step++)
    {
      drmad_sampler_batch (1234, step, 64, 1000, a);
      drmad_sampler_batch (1234, step, 64, 1000, b);
      g_assert_cmpmem (a, sizeof a, b, sizeof b);
      for (guint j = 0; j < 64; j++)
        {
          g_assert_cmpuint (a[j], <, 1000);
          g_assert_cmpuint (drmad_sampler_index (1234, step, 64, j, 1000), ==, a[j]);
        }
    }
  /* batches that span several epochs (lib/sampler.c steps the epoch's key along) */
  for (guint32 n = 1; n <= 7; n += 6)
    for (guint64 step = 0; step < 5; step++)
      {
        drmad_sampler_batch (99, step, 64, n, a);
        for (guint j = 0; j < 64; j++)
          g_assert_cmpuint (drmad_sampler_index (99, step, 64, j, n), ==, a[j]);
      }
  /* drmad_sampler_batch (AVX-512 and AVX2 clones where the CPU has them:
   * one pass of the rounds, then the cycle-walk) against the scalar index,
   * over sizes whose permutation walks rarely (n = 4^k) to often (n = 4^k + 1),
   * and batches that cross epochs or hold several */
  static const guint32 sizes[] = { 1, 2, 3, 5, 16, 17, 1000, 10000, 16385, 65537, (1u << 20) + 3 };
  static const guint32 batches[] = { 1, 7, 50, 100, 256 };
  guint32 c[256];
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    for (guint b = 0; b < G_N_ELEMENTS (batches); b++)
      for (guint64 step = 0; step < 300; step += 1 + step / 3)
        {
          drmad_sampler_batch (7 + s, step, batches[b], sizes[s], c);
          for (guint j = 0; j < batches[b]; j++)
            g_assert_cmpuint (drmad_sampler_index (7 + s, step, batches[b], j, sizes[s]), ==, c[j]);
        }
  /* a step taken out of order draws the same batch as in order */
  drmad_sampler_batch (1234, 17, 64, 1000, a);
  drmad_sampler_batch (1234, 3, 64, 1000, b);
  drmad_sampler_batch (1234, 17, 64, 1000, b);
  g_assert_cmpmem (a, sizeof a, b, sizeof b);
}

static void
test_seeds_differ (void)
{
  guint32 a[100], b[100];
  guint differing_batches = 0;
  for (guint64 step = 0; step < 20; step++)
    {
      drmad_sampler_batch (1, step, 100, 1000, a);
      drmad_sampler_batch (2, step, 100, 1000, b);
      guint same = 0;
      for (guint j = 0; j < 100; j++)
        same += a[j] == b[j];
      /* two independent orders agree at about 100/1000 slots by chance */
      g_assert_cmpuint (same, <, 10);
      differing_batches += memcmp (a, b, sizeof a) != 0;
    }
  g_assert_cmpuint (differing_batches, ==, 20);

  /* consecutive epochs are differently ordered too */
  guint same = 0;
  for (guint j = 0; j < 1000; j++)
    same += drmad_sampler_index (1, 0, 1000, j, 1000) == drmad_sampler_index (1, 1, 1000, j, 1000);
  g_assert_cmpuint (same, <, 10);
}

/* Positions e·n … e·n + n − 1 of the stream, read through whole batches of
 * size @batch, hold every example exactly once. */
static void
check_epoch (guint64 seed, guint32 n, guint32 batch, guint64 epoch)
{
  g_autofree guint *count = g_new0 (guint, n);
  g_autofree guint32 *indices = g_new (guint32, batch);
  guint64 first = epoch * n, last = first + n;
  for (guint64 step = first / batch; step * batch < last; step++)
    {
      drmad_sampler_batch (seed, step, batch, n, indices);
      for (guint32 j = 0; j < batch; j++)
        {
          guint64 position = step * batch + j;
          g_assert_cmpuint (indices[j], <, n);
          if (position >= first && position < last)
            count[indices[j]]++;
        }
    }
  for (guint32 i = 0; i < n; i++)
    if (count[i] != 1)
      g_error ("seed %" G_GUINT64_FORMAT ", n %u, batch %u, epoch %" G_GUINT64_FORMAT
               ": example %u appears %u times", seed, n, batch, epoch, i, count[i]);
}

static void
test_epoch_covers_all (void)
{
  const guint32 sizes[] = { 1000, 37, 1, 2, 64, 65, 4097 };
  const guint32 batches[] = { 1, 8, 10, 25, 37, 50, 100, 128, 333 };
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    for (guint b = 0; b < G_N_ELEMENTS (batches); b++)
      for (guint64 epoch = 0; epoch < 3; epoch++)
        check_epoch (99 + s, sizes[s], batches[b], epoch);
}

static void
test_permutation_is_not_identity (void)
{
  guint fixed = 0;
  for (guint32 j = 0; j < 1000; j++)
    fixed += drmad_sampler_index (5, 0, 1000, j, 1000) == j;
  g_assert_cmpuint (fixed, <, 10);
}

static void
test_normal (void)
{
  const guint n = 100000;
  double sum = 0, sq = 0, quart = 0;
  guint within_one = 0;
  for (guint64 i = 0; i < n; i++)
    {
      double z = drmad_normal_draw (77, i);
      g_assert_true (isfinite (z));
      g_assert_cmpfloat (z, ==, drmad_normal_draw (77, i));
      sum += z;
      sq += z * z;
      quart += z * z * z * z;
      within_one += fabs (z) < 1;
    }
  double mean = sum / n, var = sq / n - mean * mean;
  g_assert_cmpfloat (fabs (mean), <, 0.02);
  g_assert_cmpfloat (fabs (var - 1), <, 0.02);
  g_assert_cmpfloat (fabs (quart / n - 3), <, 0.1);                  /* a normal's fourth moment */
  g_assert_cmpfloat (fabs (within_one / (double) n - 0.6827), <, 0.01);

  guint same = 0;
  for (guint64 i = 0; i < 1000; i++)
    same += drmad_normal_draw (77, i) == drmad_normal_draw (78, i);
  g_assert_cmpuint (same, ==, 0);
}

/* No examples is refused with a critical warning, not a division by zero. */
static void
test_no_examples (void)
{
  if (g_test_subprocess ())
    {
      guint32 indices[4] = { 7, 7, 7, 7 };
      g_test_expect_message ("drmad", G_LOG_LEVEL_CRITICAL, "*n > 0*");
      g_assert_cmpuint (drmad_sampler_index (1, 5, 4, 0, 0), ==, 0);
      g_test_assert_expected_messages ();
      g_test_expect_message ("drmad", G_LOG_LEVEL_CRITICAL, "*n > 0*");
      drmad_sampler_batch (1, 5, 4, 0, indices);
      g_test_assert_expected_messages ();
      for (guint j = 0; j < 4; j++)
        g_assert_cmpuint (indices[j], ==, 7);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sampler/deterministic", test_deterministic);
  g_test_add_func ("/sampler/seeds-differ", test_seeds_differ);
  g_test_add_func ("/sampler/epoch-covers-all", test_epoch_covers_all);
  g_test_add_func ("/sampler/not-identity", test_permutation_is_not_identity);
  g_test_add_func ("/sampler/normal", test_normal);
  g_test_add_func ("/sampler/no-examples", test_no_examples);
  return g_test_run ();
}
