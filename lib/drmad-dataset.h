/* drmad: datasets in host memory, their loaders and splits. */
#pragma once

#include <glib.h>
#include "drmad-error.h"

G_BEGIN_DECLS

/**
 * DrmadDataset:
 * An in-memory labelled dataset: @n examples of @dim float features each,
 * row-major, and one integer label per example in [0, n_classes).
 * Loaders return features scaled to [0, 1]; drmad_dataset_split() returns
 * standardised copies.
 *
 * A loader keeps the 8-bit values its files hold (one byte per feature, see
 * drmad_dataset_get_bytes()) rather than floats; the float view is made only
 * when drmad_dataset_get_features() asks for it. drmad_dataset_split() of
 * such a pool keeps the bytes of the rows it draws and their standardisation,
 * and drmad_device_data_new() sends the bytes and a table of 256 values per
 * feature, so that neither the host nor the device holds the data as floats.
 */
typedef struct _DrmadDataset DrmadDataset;

/**
 * DrmadLoadLimits:
 * Bounds a loader enforces before it allocates anything, so that a header
 * claiming absurd sizes is refused with %DRMAD_ERROR_TOO_LARGE.
 * A zero field means the default (see drmad_load_limits_default()).
 */
typedef struct {
  guint64 max_examples;   /* default 10 000 000 */
  guint64 max_features;   /* default 1 << 20 features per example */
  guint64 max_bytes;      /* default 8 GiB of float features in memory */
} DrmadLoadLimits;

/* Fills every field of @limits with its default (the values above): what a
 * loader given NULL, or a zero field, uses. */
void drmad_load_limits_default (DrmadLoadLimits *limits);

/* Accessors. The arrays and strings belong to the dataset and live as long as it. */
guint         drmad_dataset_get_n          (const DrmadDataset *ds);
guint         drmad_dataset_get_dim        (const DrmadDataset *ds);
guint         drmad_dataset_get_n_classes  (const DrmadDataset *ds);
/* n × dim floats. For a dataset a loader returned they are byte / 255, made
 * on the first call (4 bytes a feature) and kept; NULL, with a warning, when
 * that memory cannot be had. */
const float  *drmad_dataset_get_features   (const DrmadDataset *ds);
const gint32 *drmad_dataset_get_labels     (const DrmadDataset *ds);  /* n */
/* Rows @first … @first + @count − 1 as floats into @out (@count × dim), the
 * values drmad_dataset_get_features() holds, without making the float view
 * of the whole dataset. */
void          drmad_dataset_copy_rows      (const DrmadDataset *ds, guint first, guint count, float *out);
/* Feeds @sum with the labels and the features of @ds as their definition
 * gives them: byte / 255 for a loader's bytes, then (x − mean) / std in
 * float for a split, whatever rounding the form that
 * drmad_dataset_get_features() and a training step compute leaves (a byte
 * split's are a multiply-add, a few ulps away). What a run folder records as
 * its data's identity, the same across versions that round differently. */
void          drmad_dataset_checksum_update (const DrmadDataset *ds, GChecksum *sum);
/* n × dim bytes as a loader read them (feature = byte / 255), or NULL for a
 * dataset made from floats (drmad_dataset_new_from_arrays()) or standardised
 * (a split: it keeps its rows as bytes too, but its features are not byte / 255). */
const guint8 *drmad_dataset_get_bytes      (const DrmadDataset *ds);
/* Image shape when the data are images (width × height × channels = dim), else dim × 1 × 1. */
void          drmad_dataset_get_shape      (const DrmadDataset *ds, guint *width, guint *height, guint *channels);
const char   *drmad_dataset_get_source     (const DrmadDataset *ds);  /* file or folder it came from */

/* A dataset built from caller arrays (copied: the caller keeps and frees its
 * own). @n ≥ 1 examples, @dim ≥ 1, @n_classes ≥ 1 and finite features, or
 * %DRMAD_ERROR_INVALID_ARGUMENT; labels must be in [0, n_classes)
 * (%DRMAD_ERROR_LABEL_RANGE). Free with drmad_dataset_free(). */
DrmadDataset *drmad_dataset_new_from_arrays (guint n, guint dim, guint n_classes,
                                             const float *features, const gint32 *labels,
                                             GError **error);
void          drmad_dataset_free           (DrmadDataset *ds);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DrmadDataset, drmad_dataset_free)

/* Every loader returns a new dataset, freed with drmad_dataset_free(); the
 * paths and @limits (NULL for the defaults) are read during the call only. */

/**
 * drmad_dataset_load_idx:
 * An IDX image file (magic 0x00000803, unsigned bytes, n × rows × cols) and
 * its IDX label file (0x00000801). Either may be gzip-compressed (".gz" or
 * gzip magic). Features are pixel/255. n_classes = max label + 1 (at least 2).
 * A gzip file whose header claims more bytes than the process may have (the
 * memory available, MemAvailable in /proc/meminfo, or the room under the
 * memory limit of the process's cgroup, its RLIMIT_AS or its RLIMIT_DATA
 * when lower) is refused with
 * %DRMAD_ERROR_TOO_LARGE before any of it is inflated. A file that ends
 * before the data its header counts is refused with %DRMAD_ERROR_TRUNCATED,
 * one that holds more with %DRMAD_ERROR_CORRUPT.
 */
DrmadDataset *drmad_dataset_load_idx (const char *images_path, const char *labels_path,
                                      const DrmadLoadLimits *limits, GError **error);

/**
 * drmad_dataset_load_png_folder:
 * A folder with one subfolder per class (classes in sorted name order), each
 * holding PNG files (.png in any case; names starting with a dot passed
 * over), all the same size and channel count: gray, with or without alpha,
 * gives one channel, RGB and palette files three. Samples are read as
 * stored, any bit depth and interlacing: 16 bits scaled to 8 (v · 255 /
 * 65535, rounded), fewer scaled up, alpha composited on black (v · a / 255)
 * and gamma chunks ignored.
 * A subfolder without PNG files is not a class (the ones after it take its
 * number); each is named in a message on GLib's log (a warning would be fatal where warnings are).
 */
DrmadDataset *drmad_dataset_load_png_folder (const char *folder, const DrmadLoadLimits *limits,
                                             GError **error);

/**
 * drmad_dataset_load_cifar10:
 * CIFAR-10 binary batches: each record is 1 label byte then 3072 bytes
 * (1024 R, 1024 G, 1024 B). @paths is a NULL-terminated list of batch files,
 * loaded in order into one dataset (features in the file's channel-major order).
 * An empty file among them is %DRMAD_ERROR_EMPTY.
 */
DrmadDataset *drmad_dataset_load_cifar10 (const char *const *paths, const DrmadLoadLimits *limits,
                                          GError **error);

/**
 * drmad_dataset_open:
 * Resolves a built-in name ("fashion-mnist", "mnist" when installed under
 * /usr/share/datasets, or $DRMAD_DATA_DIR/NAME) or a path: a folder holding
 * train-images-idx3-ubyte[.gz] etc. (IDX), a folder holding data_batch_*.bin
 * and test_batch.bin (CIFAR-10), or a folder of class subfolders (PNG).
 * @train receives the training pool; @test the predefined test set, or NULL
 * when the source has none (then drmad_dataset_split() takes the test split
 * from the pool). Both are new datasets the caller frees with
 * drmad_dataset_free(); whatever *@train and *@test held before is
 * overwritten, not freed. On failure neither is touched. A test set whose
 * feature count or image shape differs from the training pool's is
 * %DRMAD_ERROR_MIXED_SIZES, naming both files. A folder that cannot be read,
 * a file name a format expects (train-images-idx3-ubyte[.gz],
 * test_batch.bin, …) that is not a regular file (a folder, a FIFO, a
 * dangling link), and a test set without its training set are errors that
 * say so, rather than the folder being taken for another format.
 * With @train NULL only the predefined test set is loaded (and *@test is
 * NULL, nothing read, when the source has none): what a caller needs to
 * draw the same test split again (drmad_dataset_split_test()).
 */
gboolean drmad_dataset_open (const char *name_or_path, const DrmadLoadLimits *limits,
                             DrmadDataset **train, DrmadDataset **test, GError **error);

/* Names drmad_dataset_open() recognises and finds installed; free with g_strfreev. */
char **drmad_dataset_list_builtin (void);

/**
 * DrmadSplit:
 * Train, validation and test sets drawn without overlap from a seed, features
 * standardised per feature with the training split's mean and standard
 * deviation (a feature with deviation below 1e-6 is only centred).
 * The split owns its three datasets and both arrays: drmad_split_free()
 * frees them all, so do not free its members yourself.
 */
typedef struct {
  DrmadDataset *train;
  DrmadDataset *val;
  DrmadDataset *test;
  float        *mean;   /* dim */
  float        *std;    /* dim */
} DrmadSplit;

/**
 * drmad_dataset_split:
 * Draws @n_train and @n_val examples from @pool (a seeded permutation) and
 * @n_test from @test_pool when it is non-NULL, else from the rest of @pool.
 * A zero @n_train means "all that remain after validation (and test)"; a
 * zero @n_test with a @test_pool means "all of @test_pool", and without one
 * is %DRMAD_ERROR_INVALID_ARGUMENT (a split always has a test set); so is
 * a zero @n_val (the meta-loss is measured on the validation set).
 * Sizes larger than what exists give %DRMAD_ERROR_INVALID_ARGUMENT; a
 * @test_pool whose feature count or image shape (drmad_dataset_get_shape())
 * differs from @pool's gives %DRMAD_ERROR_MIXED_SIZES.
 * Returns a new split (drmad_split_free()) holding copies of the rows it
 * drew: @pool and @test_pool may be freed as soon as it returns.
 */
DrmadSplit *drmad_dataset_split (const DrmadDataset *pool, const DrmadDataset *test_pool,
                                 guint64 seed, guint n_train, guint n_val, guint n_test,
                                 GError **error);
void        drmad_split_free    (DrmadSplit *split);

/**
 * drmad_dataset_split_test:
 * The test set drmad_dataset_split() draws from @test_pool with @seed and
 * @n_test (0: all of it), again: the same rows in the same order, with
 * @n_classes classes (the split's, drmad_dataset_get_n_classes() of its test
 * set; @test_pool's own count where that is larger) and standardised with @mean and @std (the split's, dim each). A
 * caller that frees a split's test set while it is not needed draws it
 * again with this. A new dataset (drmad_dataset_free()).
 */
DrmadDataset *drmad_dataset_split_test (const DrmadDataset *test_pool, guint64 seed, guint n_test,
                                        guint n_classes, const float *mean, const float *std,
                                        GError **error);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DrmadSplit, drmad_split_free)

/**
 * drmad_dataset_subset:
 * A new dataset (drmad_dataset_free()) of the rows @rows[0 … @count − 1] of
 * @ds, in that order (a row may repeat): their features as @ds holds them
 * (a loader's dataset: its bytes, drmad_dataset_get_bytes(), which
 * drmad_dataset_get_features() gives as byte / 255; else floats) and labels, with @ds's class count, image shape and source. @ds and @rows
 * are read during the call only. No rows, or one ≥ the number of examples,
 * is %DRMAD_ERROR_INVALID_ARGUMENT.
 */
DrmadDataset *drmad_dataset_subset (const DrmadDataset *ds, const guint32 *rows, guint count, GError **error);

/**
 * drmad_dataset_shard:
 * Part @part (from 0) of @parts of @ds: the consecutive rows from
 * ⌊part·n/parts⌋ up to ⌊(part+1)·n/parts⌋, as drmad_dataset_subset() copies
 * them. The parts are disjoint, together hold every row once, and their
 * sizes differ by at most one. A split's training set is already in a
 * seeded random order, so its parts are random disjoint samples of it
 * (`mpirun drmad --shard-data` gives each process one). @part ≥ @parts, or
 * more parts than examples, is %DRMAD_ERROR_INVALID_ARGUMENT.
 */
DrmadDataset *drmad_dataset_shard  (const DrmadDataset *ds, guint part, guint parts, GError **error);

G_END_DECLS
