/* The job: everything between parsed options and a finished run folder. */
#include "drmad-job.h"
#include "drmad-run-plots.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

void
drmad_session_clear (DrmadSession *s)
{
  g_clear_pointer (&s->net, drmad_net_free);
  g_clear_pointer (&s->train, drmad_device_data_free);
  g_clear_pointer (&s->val, drmad_device_data_free);
  g_clear_pointer (&s->test, drmad_device_data_free);
  g_clear_pointer (&s->device, drmad_device_unref);
  g_clear_pointer (&s->data_identity, g_free);
  g_clear_pointer (&s->test_dataset, g_free);
  g_clear_pointer (&s->test_mean, g_free);
  g_clear_pointer (&s->test_std, g_free);
  g_clear_pointer (&s->test_md5, g_free);
}

/* The library's messages name no command-line option; the front end adds
 * which of its options change the thing that failed. */
static void
add_advice (GError **error, const char *advice)
{
  if (!error || !*error)
    return;
  char *message = g_strdup_printf ("%s (%s)", (*error)->message, advice);
  g_free ((*error)->message);
  (*error)->message = message;
}

static char *
dataset_md5 (const DrmadDataset *ds)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_MD5);
  drmad_dataset_checksum_update (ds, sum);
  return g_strdup (g_checksum_get_string (sum));
}

/* The data's identity: its source, the split sizes, an MD5 of the labels
 * and features of every split as defined (drmad_dataset_checksum_update()). */
static char *
data_identity (const DrmadSplit *split)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_MD5);
  DrmadDataset *splits[3] = { split->train, split->val, split->test };
  for (guint k = 0; k < 3; k++)
    drmad_dataset_checksum_update (splits[k], sum);
  return g_strdup_printf ("data=%s %u+%u+%u examples md5 %s", drmad_dataset_get_source (split->train),
                          drmad_dataset_get_n (splits[0]), drmad_dataset_get_n (splits[1]),
                          drmad_dataset_get_n (splits[2]), g_checksum_get_string (sum));
}

/* "N+N+N examples md5 …" of data_identity(): the data without the path it
 * was found at, which may differ between machines ($DRMAD_DATA_DIR). */
static const char *
data_digest (const char *identity)
{
  const char *end = g_strrstr (identity, " examples md5 "), *start = end;
  while (start && start > identity && start[-1] != ' ')
    start--;
  return start ? start : identity;
}

/* The line of @identity that starts with @key ("dataset="), or NULL; to g_free(). */
static char *
identity_line (const char *identity, const char *key)
{
  for (const char *p = identity; p && *p;) {
    const char *end = strchr (p, '\n');
    if (g_str_has_prefix (p, key))
      return g_strndup (p, end ? (gsize) (end - p) : strlen (p));
    p = end ? end + 1 : NULL;
  }
  return NULL;
}

/* The path of a data_identity() line: what precedes its digest. */
static char *
data_source (const char *line)
{
  const char *digest = data_digest (line), *start = line + strlen ("data=");
  return g_strndup (start, digest > start ? (gsize) (digest - start - 1) : strlen (start));
}

/* The dataset setting's default (what run.ini without the key means). */
static const char *
default_dataset (void)
{
  guint n;
  const DrmadOptionSpec *specs = drmad_options_get_specs (&n);
  for (guint i = 0; i < n; i++)
    if (g_str_equal (specs[i].name, "dataset"))
      return specs[i].default_value;
  return "";
}

/* No way on from a damaged checkpoint (its frame, or a value in it that
 * the restore refuses): say what is left, and how to run it again. */
static void
add_damage_advice (DrmadRun *run, GError **error)
{
  if (!g_error_matches (*error, DRMAD_ERROR, DRMAD_ERROR_CORRUPT)
      && !g_error_matches (*error, DRMAD_ERROR, DRMAD_ERROR_TRUNCATED)
      && !g_error_matches (*error, DRMAD_ERROR, DRMAD_ERROR_BAD_MAGIC))
    return;
  g_autofree char *advice = g_strdup_printf ("its meta-iterations so far stay in history.csv and hyper.csv; to "
                                             "run it again from the start: drmad --no-gui --config %s/run.ini "
                                             "--out NEW_FOLDER", drmad_run_get_folder (run));
  add_advice (error, advice);
}

/* Restores @run's checkpoint (where it has one) into @hyper and @meta,
 * checking it against @identity. The data may have moved since the
 * checkpoint was written (a run folder and its data copied to another
 * machine, a dataset folder renamed, another $DRMAD_DATA_DIR): where the
 * checkpoint's data have the split sizes and MD5 of the data loaded now,
 * only their place differs, and the run resumes with them where they are
 * now, which the next checkpoint records. @moved gets a sentence saying so,
 * or NULL; to g_free(). */
static gboolean
restore_run (DrmadRun *run, DrmadHyper *hyper, DrmadMeta *meta, const char *identity, char **moved, GError **error)
{
  *moved = NULL;
  if (!drmad_run_has_checkpoint (run))
    return TRUE;
  g_autofree char *stored = drmad_run_read_identity (run, error);
  if (!stored) {
    add_damage_advice (run, error);
    return FALSE;
  }
  g_autofree char *old_dataset = identity_line (stored, "dataset="), *new_dataset = identity_line (identity, "dataset=");
  g_autofree char *old_data = identity_line (stored, "data="), *new_data = identity_line (identity, "data=");
  /* Only the data's lines differ: every other line the checkpoint has is this run's too. */
  gboolean only_data = old_dataset && new_dataset && old_data && new_data
                       && !(g_str_equal (old_dataset, new_dataset) && g_str_equal (old_data, new_data));
  g_auto (GStrv) stored_lines = g_strsplit (stored, "\n", -1);
  g_auto (GStrv) lines = g_strsplit (identity, "\n", -1);
  for (guint i = 0; only_data && stored_lines[i]; i++)
    only_data = !*stored_lines[i] || g_str_has_prefix (stored_lines[i], "dataset=")
                || g_str_has_prefix (stored_lines[i], "data=")
                || g_strv_contains ((const char *const *) lines, stored_lines[i]);
  if (!old_data && new_dataset) {
    /* A checkpoint that keeps no identity of its data (written without one)
     * cannot tell other data from the run's: the data stay where run.ini
     * names them, as they did before they could move. */
    g_autoptr (GKeyFile) ini = g_key_file_new ();
    g_autofree char *recorded = g_key_file_load_from_data (ini, drmad_run_get_ini (run), (gsize) -1, G_KEY_FILE_NONE,
                                                           NULL)
                                ? g_key_file_get_string (ini, "drmad", "dataset", NULL) : NULL;
    g_autofree char *recorded_line = g_strconcat ("dataset=", recorded ? recorded : default_dataset (), NULL);
    if (!g_str_equal (recorded_line, new_dataset)) {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_MISMATCH,
                   "--dataset %s: %s/checkpoint.bin keeps no identity of the data it was written with, so other "
                   "data cannot be told from the run's (%s): resuming would risk mixing two runs in one history; "
                   "resume without --dataset", new_dataset + strlen ("dataset="), drmad_run_get_folder (run),
                   recorded_line + strlen ("dataset="));
      return FALSE;
    }
  }
  if (!only_data) {
    if (drmad_run_restore (run, hyper, meta, error))
      return TRUE;
    if (g_error_matches (*error, DRMAD_ERROR, DRMAD_ERROR_MISMATCH))
      add_advice (error, "the settings are run.ini's: if it was edited, put back the checkpoint's value; if the "
                         "checkpoint is another run's, put this run's back; or start a new run with --out");
    add_damage_advice (run, error);
    return FALSE;
  }
  if (!g_str_equal (data_digest (old_data), data_digest (new_data))) {
    g_autofree char *was = data_source (old_data), *now = data_source (new_data);
    if (g_str_equal (was, now))
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_MISMATCH,
                   "the data at %s changed since %s/checkpoint.bin was written (%s then, %s now): resuming would mix "
                   "two runs in one history", now, drmad_run_get_folder (run), data_digest (old_data),
                   data_digest (new_data));
    else
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_MISMATCH,
                   "%s/checkpoint.bin was written with the data at %s (%s; %s) and %s holds other data (%s): "
                   "resuming would mix two runs in one history", drmad_run_get_folder (run), was, old_dataset,
                   data_digest (old_data), now, data_digest (new_data));
    return FALSE;
  }
  /* the identity as the checkpoint has it: the same but for the data's place */
  GString *as_recorded = g_string_new (NULL);
  for (guint i = 0; lines[i]; i++)
    g_string_append_printf (as_recorded, "%s%s", i ? "\n" : "",
                            g_str_has_prefix (lines[i], "dataset=") ? old_dataset
                            : g_str_has_prefix (lines[i], "data=") ? old_data : lines[i]);
  drmad_run_set_identity (run, as_recorded->str);
  g_string_free (as_recorded, TRUE);
  gboolean ok = drmad_run_restore (run, hyper, meta, error);
  drmad_run_set_identity (run, identity);
  if (!ok)
    add_damage_advice (run, error);
  if (ok) {
    g_autofree char *was = data_source (old_data), *now = data_source (new_data);
    *moved = g_strdup_printf ("the data moved: the checkpoint has them at %s (%s), now they are at %s (%s), the same "
                              "%s: resuming with them", was, old_dataset, now, new_dataset, data_digest (new_data));
  }
  return ok;
}

/* Refuses a path that is neither a regular file nor a folder (a FIFO or a
 * device would block open() or read forever). */
static gboolean
check_plain_path (const char *path, const char *option, GError **error)
{
  GStatBuf st;
  if (g_stat (path, &st) != 0 || S_ISREG (st.st_mode) || S_ISDIR (st.st_mode))
    return TRUE;
  g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
               "%s %s is neither a file nor a folder (a pipe or a device?): give a file or a folder", option, path);
  return FALSE;
}

/* Sizes that fit a pool of @pool_n examples (and a test pool of @test_n, or
 * none when @has_test is FALSE), as options to give, for a split that failed
 * on the sizes asked for: those asked for where they fit, else a fifth of
 * the pool each for validation and, without a test pool, test, and the rest
 * for training. NULL when the pool is too small to split at all. */
static char *
size_suggestion (const DrmadOptions *o, guint pool_n, gboolean has_test, guint test_n)
{
  guint needed = has_test ? 2 : 3;   /* one example for each split the pool gives */
  if (pool_n < needed)
    return NULL;
  guint val = o->val_size, test = o->test_size;
  gboolean test_fits = has_test ? test <= test_n : test > 0;
  guint64 from_pool = (guint64) val + (has_test ? 0 : test);
  gboolean keep = val > 0 && test_fits && from_pool < pool_n;
  if (!keep) {
    val = MAX (1u, pool_n / 5);
    if (!has_test)
      test = MAX (1u, pool_n / 5);
    else if (!test_fits)
      test = 0;
  }
  guint rest = pool_n - val - (has_test ? 0 : test);
  GString *s = g_string_new ("for example");
  if (o->train_size == 0 || o->train_size > rest)
    g_string_append (s, " --train-size 0");
  if (!keep)
    g_string_append_printf (s, " --val-size %u", val);
  if ((!keep && !has_test) || !test_fits)
    g_string_append_printf (s, " --test-size %u", test);
  if (has_test)
    g_string_append_printf (s, ": %s holds %u examples for training and validation and %u test examples "
                            "(--test-size 0 takes them all), and --train-size 0 trains on the %u left after "
                            "validation", o->dataset, pool_n, test_n, rest);
  else
    g_string_append_printf (s, ": %s holds %u examples and no test set of its own, and --train-size 0 trains "
                            "on the %u left after validation and test", o->dataset, pool_n, rest);
  return g_string_free (s, FALSE);
}

gboolean
drmad_session_open (DrmadSession *s, const DrmadOptions *o, DrmadPrecision precision, GError **error)
{
  return drmad_session_open_part (s, o, precision, 0, 1, error);
}

/* Keeps part @part of @parts of @split's training set (already standardised
 * with the whole set's statistics, as validation and test are). */
static gboolean
keep_part (DrmadSplit *split, guint part, guint parts, GError **error)
{
  DrmadDataset *shard = drmad_dataset_shard (split->train, part, parts, error);
  if (!shard) {
    g_prefix_error (error, "--shard-data over %u processes: ", parts);
    add_advice (error, "more --train-size, or fewer processes");
    return FALSE;
  }
  drmad_dataset_free (split->train);
  split->train = shard;
  return TRUE;
}

gboolean
drmad_session_open_part (DrmadSession *s, const DrmadOptions *o, DrmadPrecision precision, guint part, guint parts,
                         GError **error)
{
  g_autoptr (DrmadSplit) split = NULL;
  DrmadDataset *pool = NULL, *test_pool = NULL;
  if (!check_plain_path (o->dataset, "--dataset", error)
      || !drmad_dataset_open (o->dataset, NULL, &pool, &test_pool, error)) {
    if (o->dataset_from && error && g_error_matches (*error, DRMAD_ERROR, DRMAD_ERROR_NOT_FOUND)
        && !g_file_test (o->dataset, G_FILE_TEST_EXISTS)) {   /* the value itself, not a file inside it */
      /* Most likely a relative path written by a run started in another folder. */
      g_autofree char *advice = g_strdup_printf ("the dataset value came from %s%s", o->dataset_from,
                                                 g_path_is_absolute (o->dataset)
                                                 ? "" : "; a relative path there is read from the current folder");
      add_advice (error, advice);
    }
    return FALSE;
  }
  /* Loaders number the classes they find; one class is a loadable folder but
   * nothing to classify, most likely the wrong folder or broken labels. */
  const gint32 *labels = drmad_dataset_get_labels (pool);
  guint pool_size = drmad_dataset_get_n (pool), other = 0;
  while (other < pool_size && labels[other] == labels[0])
    other++;
  if (pool_size > 0 && other == pool_size) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "%s: all %u examples have the same label (%d): a classifier needs examples of two classes "
                 "or more (in a PNG folder, one subfolder of PNG files per class)",
                 o->dataset, pool_size, labels[0]);
    g_clear_pointer (&pool, drmad_dataset_free);
    g_clear_pointer (&test_pool, drmad_dataset_free);
    return FALSE;
  }
  split = drmad_dataset_split (pool, test_pool, o->seed, o->train_size, o->val_size, o->test_size, error);
  gboolean defer_test = test_pool != NULL;
  guint pool_n = drmad_dataset_get_n (pool), test_n = test_pool ? drmad_dataset_get_n (test_pool) : 0;
  g_clear_pointer (&pool, drmad_dataset_free);   /* the split holds copies of its rows */
  g_clear_pointer (&test_pool, drmad_dataset_free);
  if (!split) {
    /* Only the sizes are the options' doing; a test set of another shape is the data's. */
    if (error && g_error_matches (*error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT)) {
      g_autofree char *example = size_suggestion (o, pool_n, defer_test, test_n);
      g_autofree char *advice = example
        ? g_strdup_printf ("--train-size, --val-size, --test-size; %s", example)
        : g_strdup_printf ("--train-size, --val-size, --test-size; %s holds %u examples, too few for a training "
                           "and a validation split%s of at least one each", o->dataset, pool_n,
                           defer_test ? "" : " and a test split");
      add_advice (error, advice);
    }
    return FALSE;
  }
  if (defer_test) {
    guint dim = drmad_dataset_get_dim (split->test);
    s->test_dataset = g_strdup (o->dataset);
    s->test_seed = o->seed;
    s->test_classes = drmad_dataset_get_n_classes (split->test);
    s->test_precision = precision;
    s->test_mean = g_memdup2 (split->mean, dim * sizeof (float));
    s->test_std = g_memdup2 (split->std, dim * sizeof (float));
    s->test_md5 = dataset_md5 (split->test);
  }
  s->n_train_split = drmad_dataset_get_n (split->train);
  s->n_val = drmad_dataset_get_n (split->val);
  s->n_test = drmad_dataset_get_n (split->test);
  s->data_identity = data_identity (split);   /* of the whole split: the same on every process */
  s->part = part;
  s->parts = parts;
  if (parts > 1 && !keep_part (split, part, parts, error))
    return FALSE;
  s->n_train = drmad_dataset_get_n (split->train);
  guint dim = drmad_dataset_get_dim (split->train), classes = drmad_dataset_get_n_classes (split->train);
  if (o->sizes[0] != dim || o->sizes[o->n_sizes - 1] < classes) {
    /* One stray label (255 among 0 to 9) asks for as many outputs: say how many labels occur. */
    g_autofree gboolean *seen = g_new0 (gboolean, classes);
    guint distinct = 0;
    const DrmadDataset *parts[] = { split->train, split->val };
    for (guint k = 0; k < G_N_ELEMENTS (parts); k++) {
      const gint32 *labels = drmad_dataset_get_labels (parts[k]);
      for (guint i = 0; i < drmad_dataset_get_n (parts[k]); i++)
        if (!seen[labels[i]]) {
          seen[labels[i]] = TRUE;
          distinct++;
        }
    }
    g_autofree char *note = NULL;
    if (o->sizes[o->n_sizes - 1] < classes && distinct < classes)
      note = g_strdup_printf ("; the labels run up to %u, but only %u of the values 0 to %u occur in the "
                              "training and validation examples: if the labels are not meant so, check them",
                              classes - 1, distinct, classes - 1);
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "--layers does not fit the dataset %s: it needs %u inputs and at least %u outputs "
                 "(e.g. --layers %u,100,%u)%s", o->dataset, dim, classes, dim, classes, note ? note : "");
    return FALSE;
  }
  if (!(s->device = drmad_device_open (o->device, error))) {
    add_advice (error, "see drmad --list-devices");
    return FALSE;
  }
  if (!drmad_device_set_gemm_path (s->device, o->gemm, error)) {
    add_advice (error, "choose another with --gemm");
    return FALSE;
  }
  /* Each split's host rows go as soon as the device holds them, so that the
   * host and device copies of the whole data never coexist (peak RSS). */
  DrmadDataset **host[] = { &split->train, &split->val, &split->test };
  DrmadDeviceData **device[] = { &s->train, &s->val, &s->test };
  for (guint k = 0; k < G_N_ELEMENTS (host); k++) {
    if (k == 2 && defer_test) {   /* drawn again when first needed (drmad_session_get_test) */
      g_clear_pointer (host[k], drmad_dataset_free);
      continue;
    }
    if (!(*device[k] = drmad_device_data_new (s->device, precision, *host[k], error))) {
      if (error && (g_error_matches (*error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE)
                    || g_error_matches (*error, DRMAD_ERROR, DRMAD_ERROR_OUT_OF_MEMORY)))
        add_advice (error, "--train-size, --val-size, --test-size");
      return FALSE;
    }
    g_clear_pointer (host[k], drmad_dataset_free);
  }
  return (s->net = drmad_net_new (s->device, o->sizes, o->n_sizes, o->activation, precision, o->batch, error))
         != NULL;
}

DrmadDeviceData *
drmad_session_get_test (DrmadSession *s, GError **error)
{
  if (s->test || !s->test_dataset)
    return s->test;
  DrmadDataset *test_pool = NULL;
  if (!drmad_dataset_open (s->test_dataset, NULL, NULL, &test_pool, error))
    return NULL;
  g_autoptr (DrmadDataset) test = test_pool
      ? drmad_dataset_split_test (test_pool, s->test_seed, s->n_test, s->test_classes, s->test_mean, s->test_std,
                                  error)
      : NULL;
  if (!test_pool)
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_NOT_FOUND, "%s: its test set is gone since the run began",
                 s->test_dataset);
  g_clear_pointer (&test_pool, drmad_dataset_free);
  if (!test)
    return NULL;
  g_autofree char *md5 = dataset_md5 (test);
  if (strcmp (md5, s->test_md5) != 0) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_IO, "%s: its test set changed since the run began "
                 "(md5 %s, now %s)", s->test_dataset, s->test_md5, md5);
    return NULL;
  }
  return s->test = drmad_device_data_new (s->device, s->test_precision, test, error);
}

static DrmadJobStarted
session_started (const DrmadSession *s, DrmadPrecision precision)
{
  const DrmadDeviceInfo *info = drmad_device_get_info (s->device);
  return (DrmadJobStarted) {
    .platform = info->platform_name, .device = info->name,
    .gemm = drmad_gemm_path_name (drmad_device_get_gemm_path (s->device)), .precision = precision,
    .n_train = s->n_train, .n_val = s->n_val, .n_test = s->n_test, .parts = MAX (s->parts, 1),
    .n_train_split = s->n_train_split,
  };
}

char *
drmad_job_started_describe (const DrmadJobStarted *e)
{
  g_autofree char *part = e->parts > 1 ? g_strdup_printf (" (this process's part of %u, --shard-data over %u processes)",
                                                          e->n_train_split, e->parts) : g_strdup ("");
  return g_strdup_printf ("device: %s: %s (%s GEMM, %s); data: %u train%s, %u validation, %u test example%s",
                          e->platform, e->device, e->gemm,
                          e->precision == DRMAD_PRECISION_FLOAT64 ? "float64" : "float32", e->n_train, part, e->n_val,
                          e->n_test, e->n_test == 1 ? "" : "s");
}

char *
drmad_session_describe (const DrmadSession *s, DrmadPrecision precision)
{
  DrmadJobStarted started = session_started (s, precision);
  return drmad_job_started_describe (&started);
}

/* ---- time left ---- */

void
drmad_eta_start (DrmadEta *eta, guint64 meta_first, guint64 meta_total)
{
  guint every = eta->fidelity_every;   /* set by the caller, kept */
  gint64 now = g_get_monotonic_time ();
  *eta = (DrmadEta) { .meta_started_us = now, .meta_first = meta_first, .meta_current = meta_first,
                      .meta_total = meta_total, .fidelity_every = every, .last_end_us = now,
                      .phase_started_us = now };
}

/* Whether meta-iteration @done + 1 measures fidelity (drmad_meta_step). */
static gboolean
measures_fidelity (const DrmadEta *eta, guint64 done)
{
  return eta->fidelity_every && done % eta->fidelity_every == 0;
}

/* How many meta-iterations come after meta-iteration @done + 1: those with
 * k finished before them, @done < k < @total. */
static guint64
meta_iterations_after (guint64 done, guint64 total)
{
  return total > done + 1 ? total - done - 1 : 0;
}

/* How many of those measure fidelity: the k with measures_fidelity (k), the
 * multiples of fidelity_every in (@done, @total), counted without a loop (it
 * ran at every step, over up to 100 000 of them). */
static guint64
measuring_after (const DrmadEta *eta, guint64 done)
{
  guint64 every = eta->fidelity_every;
  if (!every || eta->meta_total <= done + 1)
    return 0;
  return (eta->meta_total - 1) / every - done / every;
}

/* The seconds a phase still takes that is now @step of @total through,
 * from its pace since its anchor (DrmadEta.anchor_*); NAN while that pace
 * rests on no measured time. The first event comes after its step
 * (training reports step 1 first, a warm start's trainings too), and that
 * step's time is not in the phase's clock: counted as done in no time, it
 * made the time left 0 ("0 s left" at a warm start's first event). And a
 * queued path reports steps as they are enqueued, waiting for the device
 * every 16 steps only (lib/train.c, drmad_trainer_run_steps): the first 32
 * steps of a training come at almost the same instant, whose pace made
 * "ETA 0s" with the whole phase ahead. So the pace is timed from the first
 * event DRMAD_PROGRESS_LEAD steps past the phase's first, and only once
 * DRMAD_PROGRESS_LEAD more are reported: both ends then lag the device by
 * at most that lead (drmad-net.h), not by the whole of what was reported. */
static double
phase_left (const DrmadEta *eta, gint64 now, guint64 step, guint64 total)
{
  if (!eta->anchored || step < eta->anchor_step + DRMAD_PROGRESS_LEAD || total == 0)
    return NAN;
  step = MIN (step, total);
  if (step <= eta->anchor_step)
    return NAN;
  double elapsed = (now - eta->anchor_us) / 1e6;
  return elapsed * (total - step) / (step - eta->anchor_step);
}

double
drmad_eta_progress_at (DrmadEta *eta, const DrmadJobProgress *event, gint64 now, double *fraction)
{
  gboolean warm = g_str_equal (event->phase, "warm start");
  if (warm)   /* before meta-iteration 1, whose clock starts after it */
    eta->meta_current = G_MAXUINT64;
  else if (event->meta_done != eta->meta_current) {
    if (eta->meta_current == G_MAXUINT64)   /* after a warm start: its time is no meta-iteration's wall time */
      eta->last_end_us = now;
    eta->meta_current = event->meta_done;
    eta->meta_started_us = now;
  }
  if (strncmp (eta->phase, event->phase, sizeof eta->phase - 1) != 0) {
    double ended = (now - eta->phase_started_us) / 1e6;   /* one phase runs into the next */
    if (g_str_equal (eta->phase, "train"))
      eta->train_s = ended;
    else if (g_str_equal (eta->phase, "reverse"))
      eta->reverse_s = ended;
    else if (g_str_equal (eta->phase, "fidelity"))
      eta->fidelity_s = ended;
    g_strlcpy (eta->phase, event->phase, sizeof eta->phase);
    eta->phase_started_us = now;
    eta->phase_first_step = event->step;
    eta->anchored = FALSE;
  }
  if (!eta->anchored && event->step >= eta->phase_first_step + DRMAD_PROGRESS_LEAD) {
    eta->anchored = TRUE;
    eta->anchor_us = now;
    eta->anchor_step = event->step;
  }
  eta->last_event_us = now;
  double elapsed = (now - eta->phase_started_us) / 1e6;
  double left = phase_left (eta, now, event->step, event->total);
  double step = (double) event->step / MAX (event->total, 1);
  if (event->meta_done >= eta->meta_total) {  /* the final evaluation, or training once */
    if (fraction)
      *fraction = eta->meta_total ? 1 : step;
    /* The final evaluation before its own pace is timed: its three
     * trainings as long as the last meta-iteration's training, as the
     * estimates before it counted them (it showed no time left at first);
     * overrun, unknown again rather than 0 with the phase still going. */
    if (isnan (left) && eta->meta_total && eta->last_train_s > 0 && 3 * eta->last_train_s > elapsed)
      left = 3 * eta->last_train_s - elapsed;
    return left;
  }
  gboolean saving = g_str_equal (event->phase, "saving");
  if (!saving && !g_str_equal (event->phase, "train") && !g_str_equal (event->phase, "reverse")
      && !g_str_equal (event->phase, "fidelity")) {
    if (fraction)   /* the warm start, before meta-iteration 1: its own time left */
      *fraction = 0;
    return warm ? left : NAN;
  }
  /* This meta-iteration's training: so far and what is left of it, or as
   * measured, or as the last one took. */
  gboolean training = g_str_equal (event->phase, "train");
  double train = training ? elapsed + left : eta->train_s > 0 ? eta->train_s : eta->last_train_s;
  double reverse = g_str_equal (event->phase, "reverse") && !isnan (left) ? elapsed + left : eta->reverse_s;
  double ratio = eta->train_s > 0 && reverse > 0 ? reverse / eta->train_s
                 : eta->last_train_s > 0 && eta->last_reverse_s > 0 ? eta->last_reverse_s / eta->last_train_s : 1;
  /* What the finished meta-iterations took, the fidelity measurements apart;
   * before any, the training and a reverse pass as long. The fidelity
   * measurement's own, before the first: as long as a meta-iteration. */
  guint n = eta->seconds_n;
  double plain = n ? (eta->wall_sum - eta->fidelity_sum) / n : train * (1 + ratio);
  double fidelity = eta->fidelity_n ? eta->fidelity_sum / eta->fidelity_n
                    : g_str_equal (event->phase, "fidelity") && !isnan (left) ? elapsed + left : plain;
  gboolean measuring = measures_fidelity (eta, event->meta_done);
  /* The recording after the passes (run folder, plots): what the last
   * meta-iteration took beyond its training and reverse pass. */
  double saving_s = n && eta->last_train_s > 0 ? MAX (plain - eta->last_train_s - eta->last_reverse_s, 0) : 0;
  /* This meta-iteration: the rest of its phase, then the phases after it. */
  double this_left = training ? left + train * ratio : left;
  if (measuring && !g_str_equal (event->phase, "fidelity") && !saving)
    this_left += fidelity;
  this_left = saving ? MAX (saving_s - elapsed, 0) : this_left + saving_s;
  double so_far = (now - eta->meta_started_us) / 1e6;
  /* At a phase's first events, before its own pace is timed: what the
   * finished meta-iterations took, or in the first meta-iteration this
   * session runs (meta-iteration 1, or the one a continued run starts
   * from: n counts only this session's), once its training is timed
   * whole, what that training took (a reverse pass as long, a fidelity
   * measurement as long as both). Only that training waits for its own
   * pace: its first steps hold one-time costs
   * (kernels compiled on first use) and the queue's lead (README, "Progress
   * and the time left"). */
  if (isnan (this_left) && (n || eta->train_s > 0))
    this_left = MAX (plain + (measuring ? fidelity : 0) - so_far, 0);
  if (fraction) {
    double within = isnan (this_left) ? 0 : so_far / MAX (so_far + this_left, 1e-9);
    *fraction = CLAMP ((event->meta_done - eta->meta_first + within) / MAX (1.0, eta->meta_total - eta->meta_first),
                       0, 1);
  }
  /* The meta-iterations after this one, then the final evaluation's three trainings. */
  guint64 after = meta_iterations_after (event->meta_done, eta->meta_total);
  guint64 measured_after = measuring_after (eta, event->meta_done);
  double later = (after ? plain * after : 0) + (measured_after ? fidelity * measured_after : 0);   /* none: not NaN × 0 */
  later += 3 * (eta->last_train_s > 0 ? eta->last_train_s : train);
  /* unknown stays unknown: MAX () would make NaN 0 ("ETA 0s" at a phase's first event) */
  double total = this_left + later;
  return isnan (total) ? NAN : MAX (total, 0);
}

double
drmad_eta_progress (DrmadEta *eta, const DrmadJobProgress *event, double *fraction)
{
  return drmad_eta_progress_at (eta, event, g_get_monotonic_time (), fraction);
}

void
drmad_eta_iteration_at (DrmadEta *eta, double seconds, gint64 now)
{
  eta->seconds_sum += seconds;
  eta->seconds_n++;
  eta->wall_sum += (now - eta->last_end_us) / 1e6;
  eta->last_end_us = now;
  /* the phase that ran up to its last step, before the record */
  double ended = (MAX (eta->last_event_us, eta->phase_started_us) - eta->phase_started_us) / 1e6;
  if (g_str_equal (eta->phase, "reverse"))
    eta->reverse_s = ended;
  else if (g_str_equal (eta->phase, "fidelity"))
    eta->fidelity_s = ended;
  if (eta->fidelity_s > 0) {
    eta->fidelity_sum += eta->fidelity_s;
    eta->fidelity_n++;
  }
  if (eta->train_s > 0 && eta->reverse_s > 0) {
    eta->last_train_s = eta->train_s;
    eta->last_reverse_s = eta->reverse_s;
  }
  eta->train_s = eta->reverse_s = eta->fidelity_s = 0;
  eta->phase[0] = 0;   /* the next progress starts a phase */
  eta->phase_started_us = now;
}

void
drmad_eta_set_method (DrmadEta *eta, DrmadMethod method)
{
  if (method == DRMAD_METHOD_EXACT)
    eta->fidelity_every = 0;
}

void
drmad_eta_set_fidelity (DrmadEta *eta, gboolean measured)
{
  if (!measured)   /* "fidelity not measured: …" in place of each measurement: it takes no time */
    eta->fidelity_every = 0;
}

void
drmad_eta_iteration (DrmadEta *eta, double seconds)
{
  drmad_eta_iteration_at (eta, seconds, g_get_monotonic_time ());
}

void
drmad_job_result_clear (DrmadJobResult *result)
{
  g_clear_pointer (&result->folder, g_free);
  g_clear_pointer (&result->learned, g_strfreev);
  g_clear_pointer (&result->best, g_free);
}

/* ---- plots ---- */


/* "TITLE: v1, v2" (one value a layer, @S 0) or "TITLE:" then a line of @S
 * values a layer (a schedule), after a line break unless @text is empty:
 * @cells, a group's drmad_hyper_cells(). */
static void
append_cells (GString *text, const DrmadHyper *hyper, const double *cells, guint S, const char *title)
{
  gboolean schedule = S > 0;
  S = MAX (S, 1);
  guint L = drmad_hyper_get_n_layers (hyper);
  g_string_append_printf (text, "%s%s:", text->len ? "\n" : "", title);
  for (guint l = 0; l < L; l++) {
    if (!schedule) {
      g_string_append_printf (text, "%s %.3g", l ? "," : "", cells[l]);
      continue;
    }
    g_string_append_printf (text, "\n   layer %u:", l + 1);
    for (guint s = 0; s < S; s++)
      g_string_append_printf (text, "  %.3g", cells[l * S + s]);
  }
}

/* drmad_job_learned_text() from the cells of each kind (DrmadRunRecord's). */
static char *
learned_text_of_cells (const DrmadHyper *hyper, const double *l2, const double *lr, const double *momentum,
                       const double *init)
{
  const DrmadHyperConfig *config = drmad_hyper_get_config (hyper);
  guint S = config->segments;
  GString *text = g_string_new (NULL);
  append_cells (text, hyper, l2, 0, "L2 per layer");
  append_cells (text, hyper, lr, S, "learning rate per segment");
  /* the other groups when learned (a run with --learn momentum,init showed only L2 and lr, unchanged) */
  if (config->learn_momentum)
    append_cells (text, hyper, momentum, S, "momentum per segment");
  if (config->learn_init_scale)
    append_cells (text, hyper, init, 0, "initial scale per layer");
  return g_string_free (text, FALSE);
}

char *
drmad_job_learned_text (const DrmadHyper *hyper, const double *theta)
{
  DrmadGroupKind kinds[4] = { DRMAD_GROUP_L2, DRMAD_GROUP_LR, DRMAD_GROUP_MOMENTUM, DRMAD_GROUP_INIT };
  double *cells[4];
  for (guint k = 0; k < 4; k++) {
    cells[k] = g_new (double, MAX (drmad_hyper_get_n_cells (hyper, kinds[k]), 1));
    drmad_hyper_cells (hyper, theta, kinds[k], cells[k]);
  }
  char *text = learned_text_of_cells (hyper, cells[0], cells[1], cells[2], cells[3]);
  for (guint k = 0; k < 4; k++)
    g_free (cells[k]);
  return text;
}

void
drmad_run_plots (const DrmadRun *run, const DrmadHyper *hyper, DrmadPlot **l2_plot, DrmadPlot **lr_plot,
                 DrmadPlot **loss_plot)
{
  const DrmadHyperConfig *config = drmad_hyper_get_config (hyper);
  guint n_iters = drmad_run_get_n_records (run), S = config->segments, L = drmad_hyper_get_n_layers (hyper);
  g_autofree double *l2 = g_new (double, MAX (n_iters, 1) * L);
  g_autofree double *lr = g_new (double, MAX (n_iters, 1) * L * S);
  g_autofree double *train = g_new (double, MAX (n_iters, 1));
  g_autofree double *val = g_new (double, MAX (n_iters, 1));
  g_autofree double *err = g_new (double, MAX (n_iters, 1));
  g_autofree gboolean *rejected = g_new (gboolean, MAX (n_iters, 1));
  /* meta-iteration 0: θ as meta-iteration 1 measured it (after a warm start),
   * else from the settings; the records hold θ after each meta-iteration */
  const double *start = drmad_run_get_start (run);
  g_autofree double *initial_lr = g_new (double, MAX (L * S, 1));
  g_autofree double *initial_l2 = g_memdup2 (config->init_l2, MAX (L, 1) * sizeof (double));
  for (guint l = 0; l < L; l++)
    for (guint s = 0; s < S; s++)
      initial_lr[l * S + s] = config->init_lr[l];
  if (start) {
    drmad_hyper_cells (hyper, start, DRMAD_GROUP_L2, initial_l2);
    drmad_hyper_cells (hyper, start, DRMAD_GROUP_LR, initial_lr);
  }
  /* the records' cells, not θ: past DRMAD_RUN_THETA_KEPT_MAX only the last holds θ */
  for (guint i = 0; i < n_iters; i++) {
    const DrmadRunRecord *r = drmad_run_get_record (run, i);
    memcpy (l2 + (gsize) i * L, r->l2_cells, L * sizeof (double));
    memcpy (lr + (gsize) i * L * S, r->lr_cells, (gsize) L * S * sizeof (double));
    train[i] = r->train_loss;
    val[i] = r->val_loss;
    err[i] = r->val_error;
    rejected[i] = r->rejected;
  }
  DrmadPlotRunData data = {
    .n_iters = n_iters, .n_layers = L, .segments = S, .steps = config->steps,
    .initial_l2 = initial_l2, .l2 = l2, .initial_lr = initial_lr, .lr = lr,
    .train_loss = train, .val_loss = val, .val_error = err, .rejected = rejected,
  };
  /* a group not learned says so, as the momentum and initial-scale plots do
   * (a run with --learn momentum,init showed "Learned L2 per layer") */
  gboolean learns_l2 = FALSE, learns_lr = FALSE;
  for (guint g = 0; g < drmad_hyper_get_n_groups (hyper); g++) {
    learns_l2 |= g_str_equal (drmad_hyper_get_group_name (hyper, g), "l2");
    learns_lr |= g_str_equal (drmad_hyper_get_group_name (hyper, g), "lr");
  }
  if (l2_plot) {
    *l2_plot = drmad_plot_run_l2 (&data);
    /* one value per layer drawn for an L2 per neuron or per weight: the
     * geometric mean of the layer's (drmad_hyper_cells), and said so */
    const char *title = !learns_l2                                ? "L2 per layer (not learned)"
                        : config->l2 == DRMAD_L2_PER_NEURON ? "Learned L2 per layer (geometric mean over neurons)"
                        : config->l2 == DRMAD_L2_PER_WEIGHT ? "Learned L2 per layer (geometric mean over weights)"
                                                            : NULL;
    if (title) {
      g_free ((*l2_plot)->title);
      (*l2_plot)->title = g_strdup (title);
    }
  }
  if (lr_plot) {
    *lr_plot = drmad_plot_run_lr (&data);
    if (!learns_lr) {
      g_free ((*lr_plot)->title);
      (*lr_plot)->title = g_strdup ("Learning-rate schedule (not learned)");
    }
  }
  if (loss_plot)
    *loss_plot = drmad_plot_run_loss (&data);
}

const char *const drmad_run_plot_files[3] = { "l2.png", "lr.png", "loss.png" };
#define RUN_PLOT_WIDTH 800
#define RUN_PLOT_HEIGHT 500

/* The run folder's l2.png, lr.png and loss.png from the three plots. */
static gboolean
write_plots (const DrmadRun *run, DrmadPlot *const *plots, GError **error)
{
  for (guint i = 0; i < 3; i++) {
    g_autofree char *path = g_build_filename (drmad_run_get_folder (run), drmad_run_plot_files[i], NULL);
    if (!drmad_plot_write_png (plots[i], path, RUN_PLOT_WIDTH, RUN_PLOT_HEIGHT, error))
      return FALSE;
  }
  return TRUE;
}

gboolean
drmad_run_plot_pngs (const DrmadRun *run, const DrmadHyper *hyper, GBytes **pngs, GError **error)
{
  DrmadPlot *plots[3];
  drmad_run_plots (run, hyper, &plots[0], &plots[1], &plots[2]);
  gboolean ok = TRUE;
  for (guint i = 0; i < 3; i++) {
    pngs[i] = ok ? drmad_plot_png_bytes (plots[i], drmad_run_plot_files[i], RUN_PLOT_WIDTH, RUN_PLOT_HEIGHT, error)
                 : NULL;
    ok = ok && pngs[i];
    drmad_plot_free (plots[i]);
  }
  if (!ok)
    for (guint i = 0; i < 3; i++)
      g_clear_pointer (&pngs[i], g_bytes_unref);
  return ok;
}

gboolean
drmad_run_write_plots (const DrmadRun *run, const DrmadHyper *hyper, GError **error)
{
  DrmadPlot *plots[3];
  drmad_run_plots (run, hyper, &plots[0], &plots[1], &plots[2]);
  gboolean ok = write_plots (run, plots, error);
  for (guint i = 0; i < 3; i++)
    drmad_plot_free (plots[i]);
  return ok;
}

/* The iteration a row of @end - @line bytes starts with (its leading
 * digits; G_MAXUINT64 past it, as g_ascii_strtoull() says). Read within the
 * row: the contents are a GBytes, no NUL after them (a slice of a file, as
 * Export's cut makes, stops in the middle of one). */
static guint64
row_iteration (const char *line, const char *end)
{
  guint64 value = 0;
  for (; line < end && g_ascii_isdigit (*line); line++) {
    guint digit = *line - '0';
    value = value > (G_MAXUINT64 - digit) / 10 ? G_MAXUINT64 : value * 10 + digit;
  }
  return value;
}

/* The meta-iteration rows of history.csv @contents (each starts with its
 * iteration; the final rows with "final-"): how many there are; @kept_iteration
 * gets the iteration of row @keep (0 when @keep is 0) and @kept_end the
 * offset just after that row (after the header line when @keep is 0);
 * @last the iteration of the last row (0 when there is none). */
guint64
drmad_history_csv_rows (GBytes *contents, guint64 keep, guint64 *kept_iteration, gsize *kept_end, guint64 *last)
{
  gsize length;
  const char *text = g_bytes_get_data (contents, &length);
  guint64 rows = 0;
  *kept_iteration = 0;
  *kept_end = 0;
  *last = 0;
  if (!length)
    return 0;   /* text may be NULL, where no offset may be added */
  const char *end = text + length;
  for (const char *line = text; line < end;) {
    const char *next = memchr (line, '\n', end - line);
    next = next ? next + 1 : end;
    if (g_ascii_isdigit (*line)) {
      *last = row_iteration (line, next);
      if (++rows == keep) {
        *kept_iteration = *last;
        *kept_end = next - text;
      }
    } else if (rows == 0) {
      *kept_end = next - text;
    }
    line = next;
  }
  return rows;
}

/* The iteration of hyper.csv @contents' last row (0 when it has none); its
 * rows go in the order of their iterations, and @kept_end gets the offset
 * just after the last row of iteration @keep or before. Read from the end:
 * the file holds θ of every record. A run appends its rows in place
 * (lib/run.c, append_hyper_csv): bytes after the last newline are a piece
 * of a row it was writing, or was killed writing, of a meta-iteration not
 * recorded; they are no row, and @kept_end is before them. */
guint64
drmad_hyper_csv_rows (GBytes *contents, guint64 keep, gsize *kept_end)
{
  gsize length;
  const char *text = g_bytes_get_data (contents, &length);
  gsize end = length;
  while (end > 0 && text[end - 1] != '\n')
    end--;
  guint64 last = 0;
  gboolean first = TRUE;
  while (end > 0) {
    gsize start = end - 1;   /* end follows a newline, or is the file's end */
    while (start > 0 && text[start - 1] != '\n')
      start--;
    guint64 iteration = row_iteration (text + start, text + end);
    if (first)
      last = iteration;
    first = FALSE;
    if (iteration <= keep)
      break;
    end = start;
  }
  *kept_end = end;
  return last;
}

gboolean
drmad_run_load (const char *folder, const DrmadOptions *o, DrmadHyper **hyper_out, DrmadRun **run_out,
                GError **error)
{
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new_for_sizes (o->sizes, o->n_sizes, &o->hyper, error);
  g_autoptr (DrmadRun) run = hyper ? drmad_run_open_read_only (folder, error) : NULL;
  if (!run || (drmad_run_has_checkpoint (run) && !drmad_run_load_history (run, hyper, error)))
    return FALSE;
  *hyper_out = g_steal_pointer (&hyper);
  *run_out = g_steal_pointer (&run);
  return TRUE;
}

gboolean
drmad_run_load_plots (const char *folder, const DrmadOptions *o, guint *n_iterations, DrmadPlot **l2,
                      DrmadPlot **lr, DrmadPlot **loss, GError **error)
{
  g_autoptr (DrmadHyper) hyper = NULL;
  g_autoptr (DrmadRun) run = NULL;
  if (!drmad_run_load (folder, o, &hyper, &run, error))
    return FALSE;
  *n_iterations = drmad_run_get_n_records (run);
  drmad_run_plots (run, hyper, l2, lr, loss);
  return TRUE;
}

char *
drmad_run_final_text (const char *folder)
{
  g_autofree char *path = g_build_filename (folder, "history.csv", NULL), *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  double errors[3] = { NAN, NAN, NAN };
  const char *labels[3] = { "final-initial,", "final-learned,", "final-best," };
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  /* history.csv's second column says whether a meta-iteration was rejected:
   * when every one was, the best row is the starting values. */
  gboolean rejected_column = lines[0] && g_str_has_prefix (lines[0], "iteration,rejected,");
  gboolean any_accepted = !rejected_column;
  for (guint i = 0; lines[i]; i++) {
    if (rejected_column && g_ascii_isdigit (lines[i][0])) {
      const char *comma = strchr (lines[i], ',');
      any_accepted |= comma && comma[1] == '0';
    }
    for (guint k = 0; k < 3; k++)
      if (g_str_has_prefix (lines[i], labels[k])) {
        const char *last = strrchr (lines[i], ',');
        errors[k] = last && last[1] ? g_ascii_strtod (last + 1, NULL) : NAN;
      }
  }
  if (!isfinite (errors[0]) || !isfinite (errors[1]))
    return NULL;
  return isfinite (errors[2])
         ? g_strdup_printf ("final test error %.2f %% → %.2f %% (%s %.2f %%)", 100 * errors[0], 100 * errors[1],
                            any_accepted ? "best accepted values" : "no meta-iteration accepted, best = the starting "
                            "values,", 100 * errors[2])
         : g_strdup_printf ("final test error %.2f %% → %.2f %%", 100 * errors[0], 100 * errors[1]);
}

gboolean
drmad_run_load_rows (const char *folder, const DrmadOptions *o, GArray **rows, char **learned, GError **error)
{
  g_autoptr (DrmadHyper) hyper = NULL;
  g_autoptr (DrmadRun) run = NULL;
  if (!drmad_run_load (folder, o, &hyper, &run, error))
    return FALSE;
  drmad_run_rows (run, hyper, rows, learned);
  return TRUE;
}

void
drmad_run_rows (const DrmadRun *run, const DrmadHyper *hyper, GArray **rows, char **learned)
{
  *rows = g_array_new (FALSE, FALSE, sizeof (DrmadJobRow));
  for (guint i = 0; i < drmad_run_get_n_records (run); i++) {
    const DrmadRunRecord *r = drmad_run_get_record (run, i);
    DrmadJobRow row = { r->iteration, r->rejected, r->train_loss, r->val_loss, r->val_error, r->seconds };
    g_array_append_val (*rows, row);
  }
  guint n = drmad_run_get_n_records (run);
  const DrmadRunRecord *last = n ? drmad_run_get_record (run, n - 1) : NULL;
  *learned = last ? learned_text_of_cells (hyper, last->l2_cells, last->lr_cells, last->momentum_cells,
                                           last->init_cells)
                  : NULL;
}

/* ---- the job ---- */

/* What the trajectory depends on: the settings a resume may not change,
 * and the data actually loaded (drmad_session_open). */
static char *
run_identity (const DrmadOptions *o, const DrmadSession *s, const DrmadJobRanks *ranks)
{
  g_autofree char *settings = drmad_options_trajectory_text (o);
  /* Alone, and unsharded, the identity is what it always was, so older run folders resume. */
  g_autofree char *processes = ranks->size > 1 ? g_strdup_printf ("ranks=%u\n%s", ranks->size,
                                                                  s->parts > 1 ? "shard-data=true\n" : "")
                                               : g_strdup ("");
  return g_strdup_printf ("%s%s%s\n", settings, processes, s->data_identity);
}

/* run.ini: the settings, and with several processes their number and
 * whether each had its own part of the data in [mpi]. */
static char *
run_ini (const DrmadOptions *o, const DrmadJobRanks *ranks, gboolean sharded)
{
  g_autofree char *ini = drmad_options_to_ini (o);
  if (ranks->size <= 1)
    return g_steal_pointer (&ini);
  return g_strdup_printf ("%s\n# the number of MPI processes whose hypergradients were averaged, and whether each "
                          "trained on its own part of the training split (--shard-data; docs/distributed.md)\n"
                          "[mpi]\nranks=%u\nshard-data=%s\n", ini, ranks->size, sharded ? "true" : "false");
}

/* run.ini of a resumed run: the settings now, except that a resume with
 * fewer meta-iterations than the @done it has (it only evaluates again)
 * leaves the count of @kept_ini (the run's run.ini), at least @done, so that
 * `--config run.ini` still repeats the run and a later --resume still
 * continues it. */
static char *
resumed_ini (const DrmadOptions *o, const DrmadJobRanks *ranks, gboolean sharded, guint64 done,
             const char *kept_ini, GError **error)
{
  g_autofree char *ini = run_ini (o, ranks, sharded);
  if (done <= o->meta_iters)
    return g_steal_pointer (&ini);
  g_autoptr (GKeyFile) kept = g_key_file_new ();
  guint64 target = done;
  if (g_key_file_load_from_data (kept, kept_ini, -1, G_KEY_FILE_NONE, NULL))
    target = MAX (done, g_key_file_get_uint64 (kept, "drmad", "meta-iters", NULL));
  g_autoptr (GKeyFile) file = g_key_file_new ();
  if (!g_key_file_load_from_data (file, ini, -1, G_KEY_FILE_KEEP_COMMENTS, error))
    return NULL;
  g_key_file_set_uint64 (file, "drmad", "meta-iters", target);
  return g_key_file_to_data (file, NULL, error);
}

char *
drmad_job_settings_differ (const char *const *texts, guint n)
{
  for (guint r = 1; r < n; r++) {
    if (g_str_equal (texts[r], texts[0]))
      continue;
    g_auto (GStrv) first = g_strsplit (texts[0], "\n", -1), mine = g_strsplit (texts[r], "\n", -1);
    guint i = 0;
    while (first[i] && mine[i] && g_str_equal (first[i], mine[i]))
      i++;
    const char *theirs = first[i] && *first[i] ? first[i] : NULL, *own = mine[i] && *mine[i] ? mine[i] : NULL;
    return g_strdup_printf ("the processes were not started alike: rank %u has %s%s%s where rank 0 has %s%s%s; start "
                            "every process with the same options and data (docs/distributed.md)", r,
                            own ? "\"" : "", own ? own : "nothing", own ? "\"" : "",
                            theirs ? "\"" : "", theirs ? theirs : "nothing", theirs ? "\"" : "");
  }
  return NULL;
}

/* Whether every rank's reverse method is rank 0's (a collective: every rank
 * calls it). --method auto chooses within each process's own memory (on a
 * CPU device the host's room, which differs from one machine to the next
 * and moves with what else runs; a resumed run keeps its method only where
 * it still fits, drmad_run_restore()), and the ranks averaged the
 * hypergradients of different methods without a word, the history naming
 * rank 0's alone (docs/distributed.md). %DRMAD_ERROR_MISMATCH, on every
 * rank alike, where they differ. */
static gboolean
methods_agree (const DrmadJobRanks *ranks, DrmadMeta *meta, guint64 T, GError **error)
{
  g_autofree char *method = drmad_reverse_config_describe (drmad_meta_get_method (meta), T);
  const char *reason = drmad_meta_get_method_reason (meta);
  g_autofree char *text = g_strdup_printf ("%s\n%s", method, reason ? reason : "");
  g_strdelimit (text + strlen (method) + 1, "\n", ' ');
  g_auto (GStrv) all = ranks->gather (text, ranks->user_data, error);
  if (!all)
    return FALSE;
  g_auto (GStrv) first = g_strsplit (all[0], "\n", 2);
  for (guint r = 1; r < ranks->size; r++) {
    g_auto (GStrv) theirs = g_strsplit (all[r], "\n", 2);
    if (g_str_equal (theirs[0], first[0]))
      continue;
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_MISMATCH,
                 "the processes would average the hypergradients of different reverse methods: rank %u has %s "
                 "(%s) where rank 0 has %s (%s); --method auto chooses within each process's own memory: give "
                 "every process as much, or run with a --method (and --snapshots or --checkpoint-every) that "
                 "fits every process (docs/distributed.md)", r, theirs[0], theirs[1] ? theirs[1] : "",
                 first[0], first[1] ? first[1] : "");
    return FALSE;
  }
  return TRUE;
}

gboolean
drmad_job_folder_ranks (const char *folder, guint *ranks, gboolean *shard_data, GError **error)
{
  g_autofree char *path = g_build_filename (folder, "run.ini", NULL);
  g_autoptr (GKeyFile) file = g_key_file_new ();
  g_autoptr (GError) local = NULL;
  if (!g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, &local)) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT, "cannot read %s: %s", path, local->message);
    return FALSE;
  }
  *ranks = 1;
  if (shard_data)
    *shard_data = FALSE;
  if (g_key_file_has_key (file, "mpi", "shard-data", NULL)) {
    g_autofree char *value = g_key_file_get_string (file, "mpi", "shard-data", NULL);
    gboolean sharded = value && g_str_equal (g_strstrip (value), "true");
    if (!sharded && !(value && g_str_equal (value, "false"))) {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                   "%s: [mpi] shard-data is \"%s\", expected true or false", path, value ? value : "");
      return FALSE;
    }
    if (shard_data)
      *shard_data = sharded;
  }
  if (!g_key_file_has_key (file, "mpi", "ranks", NULL))
    return TRUE;
  g_autofree char *value = g_key_file_get_string (file, "mpi", "ranks", NULL);
  guint64 n;
  if (!value || !g_ascii_string_to_unsigned (g_strstrip (value), 10, 1, G_MAXINT, &n, NULL)) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                 "%s: [mpi] ranks is \"%s\", expected a whole number from 1", path, value ? value : "");
    return FALSE;
  }
  *ranks = n;
  return TRUE;
}

typedef struct {
  const DrmadJobCallbacks *callbacks;
  guint64 meta_done, meta_total;
  /* during the warm start: its trainings' steps, done and in all */
  gboolean warm;
  guint64  warm_done, warm_total;
  guint64  warm_step;   /* the step the training under way reached; 0 between trainings */
  /* A phase of several trainings (the final evaluation: "final", 3 parts):
   * their steps as one count, part × T + step of parts × T. */
  const char *phase;
  guint part, parts;
} ProgressRelay;

static gboolean
relay_progress (const char *phase, guint64 step, guint64 total, gpointer user_data)
{
  ProgressRelay *relay = user_data;
  DrmadJobProgress event = { phase, step, total, relay->meta_done, relay->meta_total };
  if (relay->warm && g_str_equal (phase, "train")) {
    /* one phase for all of the warm start's trainings, not each as meta-iteration 1's */
    if (step <= relay->warm_step)
      relay->warm_done += total;   /* the training before stopped early (it diverged): its steps are behind */
    relay->warm_step = step;
    event = (DrmadJobProgress) { "warm start", MIN (relay->warm_done + step, relay->warm_total), relay->warm_total,
                                 relay->meta_done, relay->meta_total };
    if (step >= total) {
      relay->warm_done += total;
      relay->warm_step = 0;
    }
  } else if (relay->phase) {
    event.phase = relay->phase;
    if (relay->parts && total <= G_MAXUINT64 / relay->parts) {
      event.step = relay->part * total + step;
      event.total = relay->parts * total;
    }
  }
  return !relay->callbacks->progress || relay->callbacks->progress (&event, relay->callbacks->user_data);
}

/* --resume and --force apply only to a run folder, not to a file or other
 * files; --force not to a link to one (drmad_run_create). */
static void
out_folder_advice (const DrmadOptions *o, GError **error)
{
  g_autofree char *earlier_ini = g_build_filename (o->out, "run.ini", NULL);
  gboolean exists = g_error_matches (*error, DRMAD_ERROR, DRMAD_ERROR_EXISTS);
  if (exists && !o->force && g_file_test (o->out, G_FILE_TEST_IS_DIR)
      && g_file_test (earlier_ini, G_FILE_TEST_IS_REGULAR))
    add_advice (error, g_file_test (o->out, G_FILE_TEST_IS_SYMLINK)
                       ? "another --out, or --resume to continue it"
                       : "another --out, --resume to continue it, or --force to overwrite it");
  else if (exists && !g_file_test (o->out, G_FILE_TEST_IS_DIR))
    add_advice (error, "another --out");
}

/* hyper.csv's growth a meta-iteration past which a run says how big it will be */
#define HYPER_CSV_NOTICE_BYTES ((guint64) 10 * 1000 * 1000)

static void
say (const DrmadJobCallbacks *callbacks, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
say (const DrmadJobCallbacks *callbacks, const char *format, ...)
{
  if (!callbacks->notice)
    return;
  va_list args;
  va_start (args, format);
  g_autofree char *text = g_strdup_vprintf (format, args);
  va_end (args);
  callbacks->notice (text, callbacks->user_data);
}

/* "|dl2| 0.00123  |dlr| 0.234" with @format for each norm; "—" for one a
 * diverged pass never gave (NaN, drmad-meta.h) */
static char *
format_norms (const DrmadMetaReport *report, const DrmadHyper *hyper, const char *format)
{
  GString *text = g_string_new (NULL);
  char number[G_ASCII_DTOSTR_BUF_SIZE];
  for (guint g = 0; g < report->n_groups; g++)
    g_string_append_printf (text, "%s|d%s| %s", g ? "  " : "", drmad_hyper_get_group_name (hyper, g),
                            isnan (report->group_norms[g])
                            ? "—" : g_ascii_formatd (number, sizeof number, format, report->group_norms[g]));
  return g_string_free (text, FALSE);
}

/* One line on the fidelity measured at this meta-iteration, or NULL. */
static char *
format_fidelity (const DrmadMetaReport *r, const DrmadHyper *hyper)
{
  if (!r->fidelity_measured)
    return NULL;
  guint64 T = drmad_hyper_get_config (hyper)->steps;
  g_autofree char *method = drmad_reverse_config_describe (&r->method, T);
  g_autofree char *reference = drmad_reverse_config_describe (&r->fidelity_reference, T);
  if (g_str_equal (method, reference))
    return g_strdup_printf ("fidelity %s: the reference itself (cosine 1, relative_error 0, sign_agreement 1)", method);
  GString *text = g_string_new (NULL);
  g_string_append_printf (text, "fidelity %s vs %s: cosine %.4f  relative_error %.4g  sign_agreement %.4f", method,
                          reference, r->fidelity.cosine, r->fidelity.relative_error, r->fidelity.sign_agreement);
  for (guint g = 0; g < r->n_groups && r->n_groups > 1; g++)
    g_string_append_printf (text, "  %s %.3f", drmad_hyper_get_group_name (hyper, g), r->group_fidelity[g].cosine);
  return g_string_free (text, FALSE);
}

static DrmadJobOutcome
outcome_of (const GError *error, DrmadJobOutcome otherwise)
{
  return g_error_matches (error, DRMAD_ERROR, DRMAD_ERROR_CANCELLED) ? DRMAD_JOB_CANCELLED : otherwise;
}

/* A run folder that could not be made or resumed: bad input (status 2),
 * unless its disk is full or failed (an I/O error writing or flushing
 * run.ini), which no change to the command mends: then the work failed
 * (status 1), and the same command works once there is room. */
static DrmadJobOutcome
folder_outcome (GError **error, const char *again)
{
  if (g_error_matches (*error, DRMAD_ERROR, DRMAD_ERROR_DISK))
    return DRMAD_JOB_FAILED;
  if (!g_error_matches (*error, DRMAD_ERROR, DRMAD_ERROR_NO_SPACE))
    return DRMAD_JOB_BAD_INPUT;
  add_advice (error, again);
  return DRMAD_JOB_FAILED;
}

/* "drmad --no-gui", launched as this run was where it has several
 * processes ("mpirun -n 4 drmad --no-gui"): the start of a command line
 * the job offers. */
static char *
command_start (const DrmadJobRanks *ranks)
{
  if (ranks->size > 1)
    return g_strdup_printf ("%s -n %u drmad --no-gui", ranks->launcher ? ranks->launcher : "mpirun", ranks->size);
  return g_strdup ("drmad --no-gui");
}

/* Where the meta-iterations up to @kept are, after a failure; a folder that
 * disappeared while the run went on (deleted, or moved: a relative name
 * follows the current folder) is said to be gone. @then follows the way to
 * continue; @settings_then, where not NULL, follows the offer of a resume
 * of a folder that holds only run.ini. */
static void
say_kept (const DrmadJobCallbacks *callbacks, const DrmadJobRanks *ranks, const char *folder, guint64 kept,
          gboolean force, const char *then, const char *settings_then)
{
  /* A run of several processes resumes with as many (plain --resume is
   * refused there), as the stop line of drmad-cli.c says. */
  g_autofree char *command = command_start (ranks);
  g_autofree char *resume = ranks->size > 1 ? g_strdup_printf ("%s --resume", command) : g_strdup ("--resume");
  g_autofree char *checkpoint = g_build_filename (folder, "checkpoint.bin", NULL);
  GStatBuf st;
  gboolean there = g_stat (checkpoint, &st) == 0;
  if (kept > 0 && there && !S_ISREG (st.st_mode))
    /* put there while the run went on: "gone" blamed a deleted folder */
    say (callbacks, "%s is no longer a file but %s, put there while the run went on: nothing of this run can be "
         "resumed from there", checkpoint, S_ISDIR (st.st_mode) ? "a folder" : "a special file");
  else if (kept > 0 && !there)
    say (callbacks, "%s/checkpoint.bin is gone (the folder was deleted or moved while the run went on): nothing of "
         "this run can be resumed from there", folder);
  else if (kept > 0)
    say (callbacks, "everything up to meta-iteration %" G_GUINT64_FORMAT " is in %s (continue with %s %s%s)",
         kept, folder, resume, folder, then);
  else if (force)
    say (callbacks, "no meta-iteration finished: %s holds nothing of this run (an earlier run there is unchanged)",
         folder);
  else {
    /* its run.ini is there: a second --out would be refused, --resume starts it over */
    g_autofree char *ini = g_build_filename (folder, "run.ini", NULL);
    if (g_file_test (ini, G_FILE_TEST_IS_REGULAR))
      say (callbacks, "no meta-iteration finished: %s holds only this run's settings (%s %s starts it from "
           "the beginning)%s", folder, resume, folder, settings_then ? settings_then : "");
    else
      say (callbacks, "no meta-iteration finished: %s holds nothing of this run", folder);
  }
}

/* One θ of the final evaluation: trains from scratch and measures the test
 * split. A training that diverges is a result for that θ, not an error (as
 * in drmad --evaluate): test loss inf, error 1, *diverged set; the other
 * θs are still evaluated and the run still finishes. */
static gboolean
final_test (DrmadSession *s, DrmadHyper *hyper, guint64 seed, ProgressRelay *relay, double *test_loss,
            double *test_error, gboolean *diverged, GError **error)
{
  g_autoptr (GError) local = NULL;
  *diverged = FALSE;
  if (drmad_hyper_train (s->net, hyper, s->train, seed, relay_progress, relay, NULL, &local)) {
    if (!drmad_net_evaluate (s->net, s->test, test_loss, test_error, error))
      return FALSE;
    if (isfinite (*test_loss))
      return TRUE;
  } else if (!g_error_matches (local, DRMAD_ERROR, DRMAD_ERROR_DIVERGED)) {
    g_propagate_error (error, g_steal_pointer (&local));
    return FALSE;
  }
  *diverged = TRUE;   /* also weights that overflowed without the training loss saying so */
  *test_loss = INFINITY;
  *test_error = 1;
  return TRUE;
}

DrmadJobOutcome
drmad_job_run (const DrmadOptions *o, const DrmadJobCallbacks *callbacks, DrmadJobResult *result, GError **error)
{
  return drmad_job_run_ranks (o, NULL, callbacks, result, error);
}

DrmadJobOutcome
drmad_job_run_ranks (const DrmadOptions *o, const DrmadJobRanks *ranks, const DrmadJobCallbacks *callbacks,
                     DrmadJobResult *result, GError **error)
{
  static const DrmadJobRanks alone = { .rank = 0, .size = 1 };
  if (!ranks)
    ranks = &alone;
  gboolean writer = ranks->rank == 0;   /* only rank 0 writes the run folder and reports */
  DrmadReverseConfig reverse = o->reverse;
  reverse.seed = o->seed + ranks->rank;  /* own initial weights and minibatches; the split is the seed's */
  DrmadSession s = { 0 };
  ProgressRelay relay = { .callbacks = callbacks };
  DrmadJobOutcome outcome = DRMAD_JOB_DONE;
  g_autoptr (DrmadHyper) hyper = NULL;
  g_autoptr (DrmadHyper) initial = NULL;
  g_autoptr (DrmadHyper) best = NULL;
  g_autofree char *identity = NULL;
  g_autoptr (DrmadMeta) meta = NULL;
  g_autoptr (DrmadRun) run = NULL;
  g_autoptr (GError) objection = NULL;   /* --resume refused by this rank (below) */
  gboolean replacing = FALSE;            /* --force over an earlier run, which stays until the first record */
  g_autofree char *moved = NULL;         /* --resume: where the data moved (restore_run) */
  memset (result, 0, sizeof *result);

  /* With several processes, a rank that fails before the settings are
   * exchanged (below) sends the others its failure there, as its objection,
   * rather than ending alone: every rank then ends alike and rank 0 says it
   * once. Each rank that could not load the data said so and aborted, and a
   * --out rank 0 refused aborted the others while they loaded, each of them
   * then saying "rank R: stopped by SIGTERM" (docs/distributed.md). */
  gboolean failed_early = FALSE;
  /* --shard-data: rank r trains on part r of the training split; alone, the one part is all of it. */
  gboolean sharded = o->shard_data && ranks->size > 1;
  if (o->warm_start && ranks->size > 1) {
    /* Before the exchange like the failures below: every rank given it
     * printed this line and rank 0 ended them with MPI_Abort, and a rank
     * given it alone (MPMD "A : B") did so while the others loaded. */
    g_set_error_literal (&objection, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT,
                         "--warm-start runs in one process: each would choose from its own training");
    failed_early = TRUE;
    goto exchange;
  }
  /* --out refused before the data load (seconds), and again when the run is
   * created. A name drmad chose (runs/DATE-TIME) that is taken is replaced
   * then (below); one it cannot make (a current folder that may not be
   * written) is said now. */
  GError *out_refused = NULL;
  if (writer && o->meta_iters > 0 && !o->resume && !drmad_run_check_new (o->out, o->force, &out_refused)
      && o->out_default && g_error_matches (out_refused, DRMAD_ERROR, DRMAD_ERROR_EXISTS))
    g_clear_error (&out_refused);
  if (out_refused) {
    g_propagate_error (error, out_refused);
    out_folder_advice (o, error);
    if (ranks->size == 1)
      return DRMAD_JOB_BAD_INPUT;
    failed_early = TRUE;
    g_propagate_error (&objection, g_steal_pointer (error));
    goto exchange;
  }
  if (o->shard_data && ranks->size == 1 && writer)
    say (callbacks, "--shard-data with one process: its one part is the whole training split");
  if (!drmad_session_open_part (&s, o, o->precision, sharded ? ranks->rank : 0, sharded ? ranks->size : 1, error)
      || !(hyper = drmad_hyper_new (s.net, &o->hyper, error))
      || !(initial = drmad_hyper_new (s.net, &o->hyper, error))
      || !(best = drmad_hyper_new (s.net, &o->hyper, error))) {
    outcome = DRMAD_JOB_BAD_INPUT;
    if (ranks->size == 1)
      goto out;
    failed_early = TRUE;
    g_propagate_error (&objection, g_steal_pointer (error));
    goto exchange;
  }
  DrmadJobStarted started = session_started (&s, o->precision);
  if (callbacks->started)
    callbacks->started (&started, callbacks->user_data);
  if (o->batch > s.n_train)
    say (callbacks, "--batch %u is larger than the %u training example%s%s: each minibatch holds some of them "
         "more than once (use --batch %u or less, or a larger --train-size)", o->batch, s.n_train,
         s.n_train == 1 ? "" : "s", sharded ? " of this process's part" : "", s.n_train);

  if (o->meta_iters == 0) {
    /* Train once with the given θ; report, change nothing. */
    double test_loss, test_error;
    if (!drmad_hyper_train (s.net, hyper, s.train, o->seed, relay_progress, &relay, NULL, error)
        || !drmad_net_evaluate (s.net, s.val, &result->val_loss, &result->val_error, error)
        || !drmad_session_get_test (&s, error)
        || !drmad_net_evaluate (s.net, s.test, &test_loss, &test_error, error)) {
      outcome = outcome_of (*error, DRMAD_JOB_FAILED);
      goto out;
    }
    result->trained_once = TRUE;
    result->learned_test_loss = result->initial_test_loss = test_loss;
    result->learned_test_error = result->initial_test_error = test_error;
    goto out;
  }

  if (!drmad_hypergradient_check_memory (s.net, hyper, &reverse, error)
      || !(meta = drmad_meta_new (s.net, hyper, s.train, s.val, &reverse, &o->meta, error))) {
    outcome = DRMAD_JOB_BAD_INPUT;
    if (ranks->size == 1)
      goto out;
    failed_early = TRUE;
    g_propagate_error (&objection, g_steal_pointer (error));
    goto exchange;
  }
  if (ranks->size > 1)
    drmad_meta_set_reduce (meta, ranks->reduce, ranks->user_data);
  /* A stop asked for while the data and the device were being loaded (no
   * step reports progress there): before any run folder is made or opened,
   * not at the first training step, in a new folder that holds nothing. */
  relay.meta_total = o->meta_iters;
  if (!relay_progress ("train", 0, o->hyper.steps, &relay)) {
    g_set_error_literal (error, DRMAD_ERROR, DRMAD_ERROR_CANCELLED,
                         "stopped before the run began: no run folder was made or changed");
    outcome = DRMAD_JOB_CANCELLED;
    goto out;
  }
  identity = run_identity (o, &s, ranks);
  /* A folder to resume must have been run by as many processes, with the
   * same choice of --shard-data. With several processes, this rank's
   * objection goes to the others first (below). */
  if (o->resume) {
    guint recorded_ranks;
    gboolean recorded_sharded;
    if (!drmad_job_folder_ranks (o->resume, &recorded_ranks, &recorded_sharded, &objection))
      ;
    else if (recorded_ranks != ranks->size) {
      g_autofree char *how = recorded_ranks == 1 ? g_strdup ("plain drmad")
                                                 : g_strdup_printf ("mpirun -n %u or srun -n %u", recorded_ranks,
                                                                    recorded_ranks);
      g_set_error (&objection, DRMAD_ERROR, DRMAD_ERROR_MISMATCH,
                   "cannot resume %s: it was run by %u process%s (its run.ini, [mpi] ranks) and this is %u: "
                   "resume it with as many (%s)", o->resume, recorded_ranks, recorded_ranks == 1 ? "" : "es",
                   ranks->size, how);
    } else if (recorded_ranks > 1 && recorded_sharded != sharded) {
      g_set_error (&objection, DRMAD_ERROR, DRMAD_ERROR_MISMATCH,
                   "cannot resume %s: it was run %s --shard-data (its run.ini, [mpi] shard-data=%s) and this run is "
                   "%s it: resume it %s --shard-data", o->resume, recorded_sharded ? "with" : "without",
                   recorded_sharded ? "true" : "false", sharded ? "with" : "without",
                   recorded_sharded ? "with" : "without");
    }
  }
exchange:
  if (ranks->size > 1) {
    /* Every rank must run the same job: other settings or data would be
     * averaged silently (another --seed, --train-size), stop the collectives
     * from matching (another --layers), or leave a rank waiting for ever for
     * the others (another --meta-iters or --patience). The settings and any
     * objection go to every rank, so that all reach the same verdict and
     * rank 0 alone reports it (result->rank_0_reports). */
    g_autofree char *settings = drmad_options_trajectory_text (o);
    g_autofree char *text = failed_early   /* no data to name: the objection alone */
                            ? g_strdup_printf ("\nobjection=%s", objection->message)
                            : g_strdup_printf ("%sdata=%s\nshard-data=%s\nmeta-iters=%" G_GUINT64_FORMAT "\npatience=%u\n"
                                               "resume=%s\n%s%s", settings, data_digest (s.data_identity),
                                               o->shard_data ? "true" : "false", o->meta_iters, o->patience,
                                               o->resume ? o->resume : "", objection ? "objection=" : "",
                                               objection ? objection->message : "");
    g_strdelimit (text + strlen (text) - (objection ? strlen (objection->message) : 0), "\n", ' ');
    g_auto (GStrv) all = ranks->gather (text, ranks->user_data, error);
    if (!all) {
      outcome = DRMAD_JOB_FAILED;
      goto out;
    }
    for (guint r = 0; r < ranks->size && !*error; r++) {
      const char *said = strstr (all[r], "\nobjection=");
      if (said) {
        g_autofree char *who = r ? g_strdup_printf ("rank %u: ", r) : g_strdup ("");
        g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_MISMATCH, "%s%s", who, said + strlen ("\nobjection="));
      }
    }
    g_autofree char *difference = *error ? NULL : drmad_job_settings_differ ((const char *const *) all, ranks->size);
    if (difference)
      g_set_error_literal (error, DRMAD_ERROR, DRMAD_ERROR_MISMATCH, difference);
    if (*error) {
      result->rank_0_reports = TRUE;
      outcome = DRMAD_JOB_BAD_INPUT;
      goto out;
    }
  } else if (objection) {
    g_propagate_error (error, g_steal_pointer (&objection));
    outcome = DRMAD_JOB_BAD_INPUT;
    goto out;
  }
  if (o->resume && !writer) {
    /* The other ranks read the checkpoint to start from the same θ and optimiser state. */
    g_autoptr (DrmadRun) peek = drmad_run_open_read_only (o->resume, error);
    if (!peek || (drmad_run_set_identity (peek, identity), FALSE)
        || !restore_run (peek, hyper, meta, identity, &moved, error)) {
      g_prefix_error (error, "cannot resume %s: ", o->resume);
      outcome = DRMAD_JOB_BAD_INPUT;
      goto out;
    }
  }
  if (o->resume && writer
      && (!(run = drmad_run_open (o->resume, error))
          || (drmad_run_set_identity (run, identity), FALSE)
          || !restore_run (run, hyper, meta, identity, &moved, error))) {
    g_prefix_error (error, "cannot resume %s: ", o->resume);
    outcome = folder_outcome (error, "free space there, then resume it again");
    goto out;
  }
  /* After the restore (a resumed auto run keeps its method where it fits)
   * and before any run folder is made or run.ini rewritten. */
  if (ranks->size > 1 && !methods_agree (ranks, meta, o->hyper.steps, error)) {
    result->rank_0_reports = g_error_matches (*error, DRMAD_ERROR, DRMAD_ERROR_MISMATCH);
    outcome = DRMAD_JOB_BAD_INPUT;
    goto out;
  }
  if (o->resume && writer) {
    g_autofree char *ini = NULL;
    if (!(ini = resumed_ini (o, ranks, sharded, drmad_meta_get_iteration (meta), drmad_run_get_ini (run), error))
        || !drmad_run_update_ini (run, ini, error)) {
      g_prefix_error (error, "cannot resume %s: ", o->resume);
      outcome = folder_outcome (error, "free space there, then resume it again");
      goto out;
    }
    if (!drmad_run_has_checkpoint (run))
      say (callbacks, "%s has no finished meta-iteration yet: starting it from the beginning", o->resume);
    if (moved)
      say (callbacks, "%s", moved);
  } else if (writer) {
    g_autofree char *earlier_ini = g_build_filename (o->out, "run.ini", NULL);
    replacing = o->force && g_file_test (earlier_ini, G_FILE_TEST_IS_REGULAR);
    g_autofree char *ini = run_ini (o, ranks, sharded);
    g_autofree char *out = g_strdup (o->out);
    for (guint tries = 1; !(run = drmad_run_create (out, ini, o->force, error)); tries++) {
      /* A name drmad chose (runs/DATE-TIME) is chosen when the options are
       * read, seconds before the folder is made: another run started in the
       * same second may have taken it since. This one takes the next name. */
      if (!o->out_default || tries >= 100
          || !(g_error_matches (*error, DRMAD_ERROR, DRMAD_ERROR_EXISTS)
               || g_error_matches (*error, DRMAD_ERROR, DRMAD_ERROR_BUSY))) {
        out_folder_advice (o, error);
        outcome = folder_outcome (error, "free space there, then run the same command again");
        goto out;
      }
      g_clear_error (error);
      g_autofree char *parent = g_path_get_dirname (out);
      g_free (out);
      out = drmad_options_new_run_folder (parent);
    }
    drmad_run_set_identity (run, identity);
  }
  result->folder = g_strdup (run ? drmad_run_get_folder (run) : o->out);
  if (writer) {
    g_autofree char *method = drmad_reverse_config_describe (drmad_meta_get_method (meta), o->hyper.steps);
    DrmadJobFolder event = { .folder = result->folder, .resumed_after = drmad_meta_get_iteration (meta),
                             .resumed = o->resume != NULL, .method = drmad_meta_get_method (meta),
                             .method_text = method, .method_reason = drmad_meta_get_method_reason (meta),
                             .fidelity_unmeasured = drmad_meta_get_no_fidelity_reason (meta) != NULL };
    if (callbacks->folder)
      callbacks->folder (&event, callbacks->user_data);
  }
  /* hyper.csv has a row for every entry of θ after every meta-iteration
   * (README, "The run folder"): with an L2 per weight of a large net that
   * is gigabytes in a few dozen, which a user should know before, not when
   * the disk is full. */
  guint64 hyper_csv_bytes = drmad_run_hyper_csv_bytes_per_iteration (hyper);
  if (writer && hyper_csv_bytes > HYPER_CSV_NOTICE_BYTES && drmad_meta_get_iteration (meta) < o->meta_iters) {
    g_autofree char *each = g_format_size (hyper_csv_bytes);
    g_autofree char *all = g_format_size (hyper_csv_bytes * o->meta_iters);
    say (callbacks, "hyper.csv grows by about %s a meta-iteration (a row for each of the %" G_GSIZE_FORMAT
         " hyperparameters): about %s after %" G_GUINT64_FORMAT " meta-iteration%s", each, drmad_hyper_get_n (hyper),
         all, (guint64) o->meta_iters, o->meta_iters == 1 ? "" : "s");
  }
  /* said only by a run that records: one that re-evaluates leaves hyper.csv as it is */
  if (writer && drmad_run_get_hyper_csv_notice (run) && drmad_meta_get_iteration (meta) < o->meta_iters)
    say (callbacks, "%s", drmad_run_get_hyper_csv_notice (run));
  relay.meta_total = o->meta_iters;
  if (o->warm_start && drmad_meta_get_iteration (meta) == 0 && o->meta_iters > 0) {
    g_autofree char *summary = NULL;
    /* as drmad_meta_warm_start() counts: θ as given once, then each of the
     * factors per group but the one of ×1 (the middle of an odd number) */
    guint per_group = o->warm_start > 1 && o->warm_start % 2 ? o->warm_start - 1 : o->warm_start;
    guint64 trainings = 1 + (guint64) per_group * drmad_hyper_get_n_groups (hyper);
    if (writer)
      say (callbacks, "warm start (--warm-start %u): %" G_GUINT64_FORMAT " trainings of %" G_GUINT64_FORMAT " steps "
           "before meta-iteration 1", o->warm_start, trainings, (guint64) o->hyper.steps);
    relay.warm = TRUE;
    relay.warm_done = relay.warm_step = 0;
    relay.warm_total = trainings * o->hyper.steps;
    gboolean warmed = drmad_meta_warm_start (meta, o->warm_start, relay_progress, &relay, &summary, error);
    relay.warm = FALSE;
    if (!warmed) {
      outcome = outcome_of (*error, DRMAD_JOB_FAILED);
      g_prefix_error (error, "the warm start %s: ", outcome == DRMAD_JOB_CANCELLED ? "stopped" : "failed");
      if (writer)
        say_kept (callbacks, ranks, result->folder, 0, replacing, "", NULL);
      goto out;
    }
    say (callbacks, "warm start (--warm-start %u): %s", o->warm_start, summary);
  }
  if (writer && drmad_meta_get_iteration (meta) == 0 && !drmad_run_set_start (run, hyper, error)) {
    outcome = DRMAD_JOB_FAILED;
    goto out;
  }
  if (writer && o->resume && drmad_meta_get_iteration (meta) >= o->meta_iters) {
    say (callbacks, "%s already has its %u meta-iteration%s: its plots are drawn again and only the final "
         "evaluation runs again (raise --meta-iters to continue the run)", result->folder, drmad_meta_get_iteration (meta),
         drmad_meta_get_iteration (meta) == 1 ? "" : "s");
    /* The plots go after the checkpoint (drmad_run_record, then
     * write_plots): a run killed between its last checkpoint and its last
     * plot left them missing or of the meta-iteration before, and no record
     * follows here to draw them again (docs/reliability.md). */
    if (drmad_meta_get_iteration (meta) > 0 && !drmad_run_write_plots (run, hyper, error)) {
      outcome = outcome_of (*error, DRMAD_JOB_FAILED);
      g_prefix_error (error, "the plots of meta-iteration %u could not be drawn again: ",
                      drmad_meta_get_iteration (meta));
      say_kept (callbacks, ranks, result->folder, drmad_meta_get_iteration (meta), FALSE,
                ", which runs the final evaluation again", NULL);
      goto out;
    }
  }

  /* The next meta-iteration would be this one again: its reverse pass
   * diverged before any θ was accepted (the only rejection that lets a run
   * go on without one, drmad-meta.h), θ stays where it started, and each
   * meta-iteration then ran the same pass on the same minibatches to the
   * same divergence, to the last one. A resumed run that recorded only such
   * meta-iterations is in the same place: it ran the pass once more. */
  gboolean repeats = drmad_meta_get_iteration (meta) > 0 && !drmad_meta_get_best_values (meta);
  for (guint64 it = drmad_meta_get_iteration (meta); it < o->meta_iters; it++) {
    if (repeats) {
      /* Exact and truncated reverse the true trajectory (docs/algorithm.md
       * §2a, §2d), as piecewise does with a piece a step: none is more
       * faithful, and the growth is the training's own. */
      const DrmadReverseConfig *used = drmad_meta_get_method (meta);
      gboolean on_trajectory = used->method == DRMAD_METHOD_EXACT || used->method == DRMAD_METHOD_TRUNCATED
                               || (used->method == DRMAD_METHOD_PIECEWISE && used->snapshots >= o->hyper.steps);
      say (callbacks, "stopping after meta-iteration %" G_GUINT64_FORMAT ": its reverse pass diverged at the "
           "starting values, which no meta-iteration has moved, so every further one would repeat it; %s", it,
           on_trajectory ? "that pass follows the training's own trajectory, so no method is more faithful: the "
                           "training is unstable at these values, and a new run with a smaller --init-lr avoids it"
                         : "a new run with a more faithful method (--method exact, or piecewise with more "
                           "--snapshots) or a smaller --init-lr avoids it");
      break;
    }
    if (o->patience && drmad_meta_get_stalled (meta) >= o->patience) {
      say (callbacks, "stopping after meta-iteration %" G_GUINT64_FORMAT ": the validation loss has not improved "
           "for %u meta-iteration%s (--patience %u)", it, drmad_meta_get_stalled (meta),
           drmad_meta_get_stalled (meta) == 1 ? "" : "s", o->patience);
      break;
    }
    relay.meta_done = it;
    g_autoptr (DrmadMetaReport) report = drmad_meta_step (meta, relay_progress, &relay, error);
    /* no θ accepted, not "no finite best": an accepted θ whose validation
     * loss was inf moved θ all the same */
    repeats = report && report->rejected && !drmad_meta_get_best_values (meta);
    if (report && ranks->size > 1
        && !ranks->check_theta (drmad_hyper_get_values (hyper), drmad_hyper_get_n (hyper), report->iteration,
                                ranks->user_data, error)) {
      g_clear_pointer (&report, drmad_meta_report_free);
      /* A θ that differs is seen by every rank alike; an MPI error may not be. */
      result->rank_0_reports = g_error_matches (*error, DRMAD_ERROR, DRMAD_ERROR_MISMATCH);
    }
    if (report && !writer)
      continue;
    DrmadJobIteration event = { .report = report, .run = run, .hyper = hyper, .meta_total = o->meta_iters };
    if (report)   /* the run folder and its plots: seconds with a θ of millions, the bar full meanwhile */
      relay_progress ("saving", 0, 1, &relay);
    gboolean recorded = report && drmad_run_record (run, hyper, meta, report, error);
    if (recorded)
      drmad_run_plots (run, hyper, &event.l2, &event.lr, &event.loss);
    DrmadPlot *plots[3] = { event.l2, event.lr, event.loss };
    if (!recorded || !write_plots (run, plots, error)) {
      for (guint i = 0; i < 3; i++)
        g_clear_pointer (&plots[i], drmad_plot_free);
      outcome = outcome_of (*error, DRMAD_JOB_FAILED);
      if (recorded)
        g_prefix_error (error, "meta-iteration %" G_GUINT64_FORMAT " is recorded, but not its plots: ", it + 1);
      else
        g_prefix_error (error, "meta-iteration %" G_GUINT64_FORMAT " %s: ", it + 1,
                        outcome == DRMAD_JOB_CANCELLED ? "stopped" : "failed");
      if (!writer)
        goto out;
      /* Recorded, its plots failing (a full disk): the checkpoint holds it. */
      g_autofree char *advice = NULL;
      if (!recorded && it == 0 && !replacing && g_error_matches (*error, DRMAD_ERROR, DRMAD_ERROR_DIVERGED)) {
        /* The starting values diverged (drmad-meta.h): a resume, which must
         * keep them, trains the same way where the divergence is the
         * values' own (a fault that does not come back resumes:
         * /cli/first-meta-iteration-failed), so the offer alone led back to
         * the same failure. Said on its line: a second line that named the
         * way out ("resuming keeps them") seemed to take the offer back.
         * --force over the folder reads its run.ini first
         * (/cli/first-meta-iteration-failed-force-new runs this). */
        const char *init_lr = o->values ? g_hash_table_lookup (o->values, "init-lr") : NULL;
        g_autofree char *command = command_start (ranks);
        advice = g_strdup_printf ("; that keeps its starting values, which diverged: to change them, %s --config "
                                  "%s/run.ini --out %s --force --init-lr SMALLER (below %s)", command,
                                  result->folder, result->folder, init_lr ? init_lr : "the run's");
      }
      say_kept (callbacks, ranks, result->folder, recorded ? it + 1 : it, replacing, "", advice);
      goto out;
    }
    event.norms = format_norms (report, hyper, o->precision == DRMAD_PRECISION_FLOAT64 ? "%.17g" : "%.9g");
    event.fidelity = format_fidelity (report, hyper);
    event.learned = drmad_job_learned_text (hyper, drmad_hyper_get_values (hyper));
    if (callbacks->iteration)
      callbacks->iteration (&event, callbacks->user_data);
    g_clear_pointer (&event.l2, drmad_plot_free);   /* what the handler did not steal */
    g_clear_pointer (&event.lr, drmad_plot_free);
    g_clear_pointer (&event.loss, drmad_plot_free);
    g_free (event.norms);
    g_free (event.fidelity);
    g_free (event.learned);
  }

  /* Final evaluation: retrain from scratch with
   * the initial θ, the last θ and the best accepted θ (lowest validation loss). */
  relay.meta_done = o->meta_iters;
  /* No hypergradient from here on: the stored states' memory, kept for the
   * next meta-iteration, goes back before the test split comes in. */
  drmad_device_trim_memory (s.device);
  if (!writer)
    goto out;   /* rank 0 alone evaluates and records the final numbers */
  const double *best_values = drmad_meta_get_best_values (meta);
  result->best_val_loss = drmad_meta_get_best_val_loss (meta);
  /* The three trainings as one phase of progress, "final", over 3T steps. */
  DrmadHyper *evaluated[3] = { initial, hyper, best };
  double *losses[3] = { &result->initial_test_loss, &result->learned_test_loss, &result->best_test_loss };
  double *errors[3] = { &result->initial_test_error, &result->learned_test_error, &result->best_test_error };
  gboolean *diverged[3] = { &result->initial_diverged, &result->learned_diverged, &result->best_diverged };
  gboolean evaluated_all = drmad_hyper_set_values (best, best_values ? best_values : drmad_hyper_get_values (initial),
                                                   error)
                           && drmad_session_get_test (&s, error);
  relay.phase = "final";
  relay.parts = 3;
  for (guint k = 0; evaluated_all && k < 3; k++) {
    relay.part = k;
    evaluated_all = final_test (&s, evaluated[k], o->seed, &relay, losses[k], errors[k], diverged[k], error);
  }
  if (!evaluated_all) {
    outcome = outcome_of (*error, DRMAD_JOB_FAILED);
    g_prefix_error (error, "the final evaluation %s: ", outcome == DRMAD_JOB_CANCELLED ? "stopped" : "failed");
    say_kept (callbacks, ranks, result->folder, drmad_meta_get_iteration (meta), FALSE,
              ", which runs the final evaluation again", NULL);
    goto out;
  }
  /* In the C locale's notation whatever the user's (0.001, not 0,001): the
   * best line is an --evaluate line, which reads numbers that way. */
  char number[G_ASCII_DTOSTR_BUF_SIZE];
  GPtrArray *lines = g_ptr_array_new ();
  for (gsize i = 0; i < drmad_hyper_get_n (hyper); i++)
    g_ptr_array_add (lines, g_strdup_printf ("%s = %s", drmad_hyper_get_name (hyper, i),
                                             g_ascii_formatd (number, sizeof number, "%.17g",
                                                              drmad_hyper_get_natural (hyper, i))));
  g_ptr_array_add (lines, NULL);
  result->learned = (char **) g_ptr_array_free (lines, FALSE);
  GString *best_line = g_string_new (NULL);
  for (gsize i = 0; i < drmad_hyper_get_n (best); i++)
    g_string_append_printf (best_line, "%s%s=%s", i ? " " : "", drmad_hyper_get_name (best, i),
                            g_ascii_formatd (number, sizeof number, "%.17g", drmad_hyper_get_natural (best, i)));
  result->best = g_string_free (best_line, FALSE);
  result->best_iteration = drmad_meta_get_iteration (meta) - drmad_meta_get_stalled (meta);
  /* Measured but not recorded (a full disk): the numbers are the caller's to
   * show, since a resume would have to train them again. */
  if (!drmad_run_record_final (run, hyper, result->initial_test_loss, result->initial_test_error,
                               result->learned_test_loss, result->learned_test_error, result->best_test_loss,
                               result->best_test_error, error)) {
    outcome = DRMAD_JOB_FAILED;
    result->final_unrecorded = TRUE;
    g_prefix_error (error, "the final evaluation is measured but not recorded: ");
    say_kept (callbacks, ranks, result->folder, drmad_meta_get_iteration (meta), FALSE,
              ", which runs the final evaluation again", NULL);
  }
out:
  result->earlier_run_kept = replacing && outcome != DRMAD_JOB_DONE && (!run || drmad_run_get_n_records (run) == 0);
  g_clear_pointer (&meta, drmad_meta_free);
  drmad_session_clear (&s);
  return outcome;
}
