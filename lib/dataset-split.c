/* Splits: train, validation and test drawn from a seed, standardised with the
 * training split's statistics. */
#include "dataset-private.h"
#include "counter-hash.h"

#include <math.h>
#include <string.h>

/* Fisher–Yates over [0, n) driven by a splitmix64 counter stream. */
static guint32 *
seeded_permutation (guint n, guint64 seed, guint64 stream, GError **error)
{
  guint32 *perm = drmad_dataset_try_alloc ((gsize) n * sizeof (guint32), "a permutation", error);
  if (perm == NULL)
    return NULL;
  for (guint i = 0; i < n; i++)
    perm[i] = i;
  guint64 key = drmad_mix64 (seed ^ drmad_mix64 (stream));
  for (guint i = n; i > 1; i--) {
    guint64 r = drmad_mix64 (key + i);
    guint j = (guint) (((unsigned __int128) r * i) >> 64);
    guint32 t = perm[i - 1];
    perm[i - 1] = perm[j];
    perm[j] = t;
  }
  return perm;
}

/* The rows @rows of @src: as bytes from a byte pool (the split standardises
 * them by reference, drmad_dataset_copy_rows()), else as floats. */
static DrmadDataset *
dataset_gather (const DrmadDataset *src, const guint32 *rows, guint count, guint n_classes,
                GError **error)
{
  gsize row_bytes = src->dim * (src->bytes ? 1 : sizeof (float));
  guint8 *x = drmad_dataset_try_alloc ((gsize) count * row_bytes, "split features", error);
  gint32 *l = x ? drmad_dataset_try_alloc ((gsize) count * sizeof (gint32), "split labels", error) : NULL;
  if (l == NULL) {
    g_free (x);
    return NULL;
  }
  const guint8 *from = src->bytes ? src->bytes : (const guint8 *) src->features;
  for (guint i = 0; i < count; i++) {
    memcpy (x + (gsize) i * row_bytes, from + (gsize) rows[i] * row_bytes, row_bytes);
    l[i] = src->labels[rows[i]];
  }
  return drmad_dataset_wrap (count, src->dim, n_classes, src->width, src->height, src->channels,
                             src->bytes ? NULL : (float *) x, src->bytes ? x : NULL, l, g_strdup (src->source));
}

/* Sum of row @i's features into @sum (minus @centre, squared, with @centre). */
static void
add_row (const DrmadDataset *ds, const float table[256], guint i, const double *centre, double *sum)
{
  for (guint d = 0; d < ds->dim; d++) {
    gsize at = (gsize) i * ds->dim + d;
    double x = ds->bytes ? table[ds->bytes[at]] : ds->features[at];
    sum[d] += centre ? (x - centre[d]) * (x - centre[d]) : x;
  }
}

DrmadDataset *
drmad_dataset_subset (const DrmadDataset *ds, const guint32 *rows, guint count, GError **error)
{
  g_return_val_if_fail (ds != NULL, NULL);
  if (count == 0 || !rows) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "a subset of %s needs at least one row", ds->source);
    return NULL;
  }
  for (guint i = 0; i < count; i++)
    if (rows[i] >= ds->n) {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                   "row %u asked for, but %s holds %u (rows 0 to %u)", rows[i], ds->source, ds->n, ds->n - 1);
      return NULL;
    }
  DrmadDataset *subset = dataset_gather (ds, rows, count, ds->n_classes, error);
  if (subset && ds->mean) {   /* rows of a split kept as bytes: the same standardisation */
    subset->mean = g_memdup2 (ds->mean, ds->dim * sizeof *ds->mean);
    subset->std = g_memdup2 (ds->std, ds->dim * sizeof *ds->std);
  }
  return subset;
}

DrmadDataset *
drmad_dataset_shard (const DrmadDataset *ds, guint part, guint parts, GError **error)
{
  g_return_val_if_fail (ds != NULL, NULL);
  if (parts == 0 || part >= parts) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT, "part %u of %u asked for: parts are numbered "
                 "from 0 to one less than their number", part, parts);
    return NULL;
  }
  if (parts > ds->n) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "%s holds %u examples: too few for %u parts of at least one each", ds->source, ds->n, parts);
    return NULL;
  }
  guint first = (guint) ((guint64) part * ds->n / parts), end = (guint) ((guint64) (part + 1) * ds->n / parts);
  g_autofree guint32 *rows = drmad_dataset_try_alloc ((gsize) (end - first) * sizeof (guint32), "shard rows", error);
  if (!rows)
    return NULL;
  for (guint i = first; i < end; i++)
    rows[i - first] = i;
  return drmad_dataset_subset (ds, rows, end - first, error);
}

static void
dataset_standardise (DrmadDataset *ds, const float *mean, const float *std)
{
  if (ds->bytes) {
    ds->mean = g_memdup2 (mean, ds->dim * sizeof *mean);
    ds->std = g_memdup2 (std, ds->dim * sizeof *std);
    return;
  }
  for (guint i = 0; i < ds->n; i++) {
    float *row = ds->features + (gsize) i * ds->dim;
    for (guint d = 0; d < ds->dim; d++)
      row[d] = (row[d] - mean[d]) / std[d];
  }
}

gboolean
drmad_dataset_check_test_shape (const DrmadDataset *pool, const DrmadDataset *test_pool, GError **error)
{
  if (test_pool->dim != pool->dim) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_MIXED_SIZES,
                 "the test pool (%s) has %u features per example, the training pool (%s) has %u",
                 test_pool->source, test_pool->dim, pool->source, pool->dim);
    return FALSE;
  }
  /* The same count in another shape (7 × 5 images against 5 × 7) would train
   * and test without complaint, the test pixels in other places. Width
   * first, as drmad_dataset_get_shape() and the PNG loader give it (an IDX
   * file's columns × rows). */
  if (test_pool->height != pool->height || test_pool->width != pool->width
      || test_pool->channels != pool->channels) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_MIXED_SIZES,
                 "the test pool (%s) holds images of %u × %u × %u (width × height × channels), the training "
                 "pool (%s) of %u × %u × %u: a test set must have the training set's image shape",
                 test_pool->source, test_pool->width, test_pool->height, test_pool->channels,
                 pool->source, pool->width, pool->height, pool->channels);
    return FALSE;
  }
  return TRUE;
}

DrmadSplit *
drmad_dataset_split (const DrmadDataset *pool, const DrmadDataset *test_pool,
                     guint64 seed, guint n_train, guint n_val, guint n_test, GError **error)
{
  g_return_val_if_fail (pool != NULL, NULL);
  if (n_val == 0) {   /* an empty validation set was refused only later, by drmad_meta_new() */
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "n_val is 0: a split needs at least one validation example (the meta-loss is measured on them)");
    return NULL;
  }
  if (test_pool && !drmad_dataset_check_test_shape (pool, test_pool, error))
    return NULL;
  if (test_pool && n_test > test_pool->n) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "%u test examples asked for but the test pool (%s) holds %u",
                 n_test, test_pool->source, test_pool->n);
    return NULL;
  }
  if (test_pool && n_test == 0)
    n_test = test_pool->n;
  if (!test_pool && n_test == 0) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "%s has no test set of its own: give the number of test examples to hold out",
                 pool->source);
    return NULL;
  }
  guint64 from_pool = (guint64) n_val + (test_pool ? 0 : n_test);
  guint64 wanted = from_pool + n_train;
  if (wanted > pool->n || (n_train == 0 && from_pool >= pool->n)) {
    g_autofree char *test_part = test_pool ? g_strdup ("") : g_strdup_printf (" + %u test", n_test);
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "%u train + %u validation%s examples asked for but the pool (%s) holds %u "
                 "(at least one must be left for training)", n_train, n_val,
                 test_part, pool->source, pool->n);
    return NULL;
  }
  if (n_train == 0)
    n_train = pool->n - from_pool;

  guint n_classes = MAX (pool->n_classes, test_pool ? test_pool->n_classes : 0);
  guint dim = pool->dim;
  g_autofree guint32 *perm = seeded_permutation (pool->n, seed, 1, error);
  if (perm == NULL)
    return NULL;

  /* Validation and test come first so they stay fixed when only n_train
   * changes; a test pool's test set is drawn last, once the standardisation
   * is known, as drmad_dataset_split_test() draws it again. */
  g_autoptr (DrmadSplit) split = g_new0 (DrmadSplit, 1);
  if (!(split->val = dataset_gather (pool, perm, n_val, n_classes, error))
      || (!test_pool && !(split->test = dataset_gather (pool, perm + n_val, n_test, n_classes, error)))
      || !(split->train = dataset_gather (pool, perm + from_pool, n_train, n_classes, error))
      || !(split->mean = drmad_dataset_try_alloc (dim * sizeof (float), "means", error))
      || !(split->std = drmad_dataset_try_alloc (dim * sizeof (float), "deviations", error)))
    return NULL;

  /* Two passes in double: one-pass variance loses digits on 60 000 near-equal pixels. */
  g_autofree double *sum = g_new0 (double, dim);
  g_autofree double *sq = g_new0 (double, dim);
  const DrmadDataset *tr = split->train;
  float table[256];
  drmad_dataset_byte_table (table);
  for (guint i = 0; i < tr->n; i++)
    add_row (tr, table, i, NULL, sum);
  for (guint d = 0; d < dim; d++)
    sum[d] /= tr->n;
  for (guint i = 0; i < tr->n; i++)
    add_row (tr, table, i, sum, sq);
  for (guint d = 0; d < dim; d++) {
    double sd = sqrt (sq[d] / tr->n);
    split->mean[d] = sum[d];
    split->std[d] = sd < 1e-6 ? 1.0f : (float) sd;
  }
  dataset_standardise (split->train, split->mean, split->std);
  dataset_standardise (split->val, split->mean, split->std);
  if (!test_pool)
    dataset_standardise (split->test, split->mean, split->std);
  else if (!(split->test = drmad_dataset_split_test (test_pool, seed, n_test, n_classes, split->mean, split->std,
                                                     error)))
    return NULL;
  return g_steal_pointer (&split);
}

DrmadDataset *
drmad_dataset_split_test (const DrmadDataset *test_pool, guint64 seed, guint n_test, guint n_classes,
                          const float *mean, const float *std, GError **error)
{
  g_return_val_if_fail (test_pool != NULL && mean != NULL && std != NULL, NULL);
  if (n_test > test_pool->n) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "%u test examples asked for but the test pool (%s) holds %u",
                 n_test, test_pool->source, test_pool->n);
    return NULL;
  }
  g_autofree guint32 *test_perm = seeded_permutation (test_pool->n, seed, 2, error);
  DrmadDataset *test = test_perm ? dataset_gather (test_pool, test_perm, n_test ? n_test : test_pool->n,
                                                   MAX (n_classes, test_pool->n_classes), error) : NULL;
  if (test)
    dataset_standardise (test, mean, std);
  return test;
}

void
drmad_split_free (DrmadSplit *split)
{
  if (split == NULL)
    return;
  drmad_dataset_free (split->train);
  drmad_dataset_free (split->val);
  drmad_dataset_free (split->test);
  g_free (split->mean);
  g_free (split->std);
  g_free (split);
}
