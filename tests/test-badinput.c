/* One table of malformed inputs — files, folders, names and
 * settings — each mapped to the GError code it must give and a fragment the
 * message must hold (the file or value at fault). Nothing may crash. */
#include "drmad.h"
#include "environment-private.h"   /* the room drmad sees here (/bad-input/cgroup-memory-limit) */
#include "test-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <png.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static char *scratch;

static char *
path_of (const char *name)
{
  return g_build_filename (scratch, name, NULL);
}

static char *
put (const char *name, const void *data, gsize length)
{
  char *path = path_of (name);
  g_autofree char *folder = g_path_get_dirname (path);
  g_mkdir_with_parents (folder, 0755);
  g_assert_true (g_file_set_contents (path, data, length, NULL));
  return path;
}

static void
be32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

/* An IDX image file header claiming @n images of rows × cols, followed by @have bytes. */
static char *
idx_images (const char *name, guint32 magic, guint32 n, guint32 rows, guint32 cols, gsize have)
{
  g_autofree guint8 *bytes = g_malloc0 (16 + have);
  be32 (bytes, magic);
  be32 (bytes + 4, n);
  be32 (bytes + 8, rows);
  be32 (bytes + 12, cols);
  return put (name, bytes, 16 + have);
}

static char *
idx_labels (const char *name, guint32 n, gsize have)
{
  g_autofree guint8 *bytes = g_malloc0 (8 + have);
  be32 (bytes, 0x801);
  be32 (bytes + 4, n);
  return put (name, bytes, 8 + have);
}

/* @source_path gzip-compressed; with @cut, only the first half of the compressed bytes. */
static char *
gz_of (const char *name, const char *source_path, gboolean cut)
{
  g_autofree char *data = NULL;
  gsize length;
  g_assert_true (g_file_get_contents (source_path, &data, &length, NULL));
  char *path = path_of (name);
  gzFile gz = gzopen (path, "wb");
  gzwrite (gz, data, length);
  gzclose (gz);
  if (cut) {
    g_autofree char *compressed = NULL;
    gsize clen;
    g_assert_true (g_file_get_contents (path, &compressed, &clen, NULL));
    g_assert_true (g_file_set_contents (path, compressed, clen / 2, NULL));
  }
  return path;
}

static void
png_file (const char *name, guint width, guint height)
{
  g_autofree char *path = path_of (name);
  g_autofree char *folder = g_path_get_dirname (path);
  g_mkdir_with_parents (folder, 0755);
  png_image image = { .version = PNG_IMAGE_VERSION, .width = width, .height = height, .format = PNG_FORMAT_GRAY };
  g_autofree guint8 *pixels = g_malloc0 (width * height);
  g_assert_true (png_image_write_to_file (&image, path, 0, pixels, 0, NULL));
}

typedef struct {
  const char *name;
  int         code;        /* DrmadError */
  const char *fragment;    /* the message names this */
  gboolean  (*run) (GError **error);
} BadInput;

#define LOAD_IDX(images, labels) \
  g_autoptr (DrmadDataset) ds = drmad_dataset_load_idx (images, labels, NULL, error); return ds != NULL

static gboolean idx_truncated (GError **error) {
  g_autofree char *i = idx_images ("trunc-images", 0x803, 10, 28, 28, 28 * 28 * 3);
  g_autofree char *l = idx_labels ("trunc-labels", 10, 10);
  LOAD_IDX (i, l);
}
static gboolean idx_bad_magic (GError **error) {
  g_autofree char *i = idx_images ("magic-images", 0x1234, 2, 2, 2, 8);
  g_autofree char *l = idx_labels ("magic-labels", 2, 2);
  LOAD_IDX (i, l);
}
static gboolean idx_count_mismatch (GError **error) {
  g_autofree char *i = idx_images ("count-images", 0x803, 3, 2, 2, 12);
  g_autofree char *l = idx_labels ("count-labels", 4, 4);
  LOAD_IDX (i, l);
}
static gboolean idx_absurd_header (GError **error) {
  g_autofree char *i = idx_images ("absurd-images", 0x803, 0xFFFFFFFFu, 1000, 1000, 16);
  g_autofree char *l = idx_labels ("absurd-labels", 0xFFFFFFFFu, 16);
  LOAD_IDX (i, l);
}
static gboolean idx_labels_truncated (GError **error) {
  g_autofree char *i = idx_images ("lt-images", 0x803, 5, 2, 2, 20);
  g_autofree char *l = idx_labels ("lt-labels", 5, 2);
  LOAD_IDX (i, l);
}
static gboolean idx_gz_truncated (GError **error) {
  g_autofree char *raw = idx_images ("gz-source", 0x803, 200, 28, 28, 200 * 28 * 28);
  g_autofree char *i = gz_of ("gzcut-images.gz", raw, TRUE);
  g_autofree char *l = idx_labels ("gzcut-labels", 200, 200);
  LOAD_IDX (i, l);
}
/* A gzip file whose header claims 2^32 − 1 images of 1000 × 1000 (4.3·10^15
 * bytes), with the loader's limits raised out of the way: memory refuses it
 * before anything is inflated. */
static gboolean idx_gz_beyond_memory (GError **error) {
  g_autofree char *raw = idx_images ("vast-source", 0x803, 0xFFFFFFFFu, 1000, 1000, 16);
  g_autofree char *i = gz_of ("vast-images.gz", raw, FALSE);
  g_autofree char *l = idx_labels ("vast-labels", 0xFFFFFFFFu, 16);
  DrmadLoadLimits limits = { .max_examples = G_MAXUINT64, .max_bytes = G_MAXUINT64 };
  g_autoptr (DrmadDataset) ds = drmad_dataset_load_idx (i, l, &limits, error);
  return ds != NULL;
}
static gboolean idx_missing (GError **error) {
  g_autofree char *i = path_of ("no-such-images");
  g_autofree char *l = path_of ("no-such-labels");
  LOAD_IDX (i, l);
}
static gboolean idx_empty_file (GError **error) {
  g_autofree char *i = put ("empty-images", "", 0);
  g_autofree char *l = idx_labels ("empty-labels", 1, 1);
  LOAD_IDX (i, l);
}

#define LOAD_CIFAR(path) \
  const char *paths[] = { path, NULL }; \
  g_autoptr (DrmadDataset) ds = drmad_dataset_load_cifar10 (paths, NULL, error); return ds != NULL

static gboolean cifar_bad_label (GError **error) {
  g_autofree guint8 *bytes = g_malloc0 (2 * 3073);
  bytes[3073] = 12;
  g_autofree char *p = put ("cifar-label.bin", bytes, 2 * 3073);
  LOAD_CIFAR (p);
}
static gboolean cifar_truncated (GError **error) {
  g_autofree guint8 *bytes = g_malloc0 (3073 + 100);
  g_autofree char *p = put ("cifar-trunc.bin", bytes, 3073 + 100);
  LOAD_CIFAR (p);
}
static gboolean png_not_png (GError **error) {
  png_file ("pngbad/a/one.png", 4, 4);
  g_autofree char *bad = put ("pngbad/b/broken.png", "\x89PNG\r\n\x1a\nnot really", 19);
  g_autofree char *folder = path_of ("pngbad");
  g_autoptr (DrmadDataset) ds = drmad_dataset_load_png_folder (folder, NULL, error);
  return ds != NULL;
}
static gboolean png_mixed_sizes (GError **error) {
  png_file ("pngmixed/a/one.png", 4, 4);
  png_file ("pngmixed/b/two.png", 5, 4);
  g_autofree char *folder = path_of ("pngmixed");
  g_autoptr (DrmadDataset) ds = drmad_dataset_load_png_folder (folder, NULL, error);
  return ds != NULL;
}
static gboolean png_empty_folder (GError **error) {
  g_autofree char *folder = path_of ("pngempty");
  g_mkdir_with_parents (folder, 0755);
  g_autoptr (DrmadDataset) ds = drmad_dataset_load_png_folder (folder, NULL, error);
  return ds != NULL;
}
static gboolean dataset_unknown_name (GError **error) {
  DrmadDataset *train = NULL, *test = NULL;
  return drmad_dataset_open ("imagenet-22k-please", NULL, &train, &test, error);
}
/* An IDX folder @name whose train-images-idx3-ubyte is replaced by what
 * @replace makes at its path; drmad_dataset_open() of it. */
static gboolean
open_idx_folder_with (const char *name, const char *replaced, void (*replace) (const char *path), GError **error)
{
  g_autofree char *folder = path_of (name);
  g_autofree char *images = g_build_filename (name, "train-images-idx3-ubyte", NULL);
  g_autofree char *labels = g_build_filename (name, "train-labels-idx1-ubyte", NULL);
  g_autofree char *i = idx_images (images, 0x803, 4, 2, 2, 16);
  g_autofree char *l = idx_labels (labels, 4, 4);
  g_autofree char *target = g_build_filename (folder, replaced, NULL);
  g_unlink (target);
  replace (target);
  DrmadDataset *train = NULL, *test = NULL;
  gboolean ok = drmad_dataset_open (folder, NULL, &train, &test, error);
  drmad_dataset_free (train);
  drmad_dataset_free (test);
  return ok;
}
static void make_folder (const char *path) { g_assert_cmpint (g_mkdir (path, 0755), ==, 0); }
static void make_dangling_link (const char *path) { g_assert_cmpint (symlink ("missing", path), ==, 0); }
static void make_link_loop (const char *path) { g_assert_cmpint (symlink (path, path), ==, 0); }
static void make_fifo (const char *path) { g_assert_cmpint (mkfifo (path, 0644), ==, 0); }
static gboolean dataset_idx_is_folder (GError **error) {
  return open_idx_folder_with ("idx-folder", "train-images-idx3-ubyte", make_folder, error);
}
static gboolean dataset_idx_dangling_link (GError **error) {
  return open_idx_folder_with ("idx-dangling", "train-images-idx3-ubyte", make_dangling_link, error);
}
static gboolean dataset_idx_link_loop (GError **error) {
  return open_idx_folder_with ("idx-loop", "train-images-idx3-ubyte", make_link_loop, error);
}
static gboolean dataset_idx_fifo (GError **error) {
  return open_idx_folder_with ("idx-fifo", "train-images-idx3-ubyte", make_fifo, error);
}
/* A FIFO where the test images would be is not "no test set". */
static gboolean dataset_t10k_fifo (GError **error) {
  return open_idx_folder_with ("t10k-fifo", "t10k-images-idx3-ubyte", make_fifo, error);
}
static gboolean dataset_t10k_only (GError **error) {
  g_autofree char *i = idx_images ("t10k-only/t10k-images-idx3-ubyte", 0x803, 4, 2, 2, 16);
  g_autofree char *l = idx_labels ("t10k-only/t10k-labels-idx1-ubyte", 4, 4);
  g_autofree char *folder = path_of ("t10k-only");
  DrmadDataset *train = NULL, *test = NULL;
  return drmad_dataset_open (folder, NULL, &train, &test, error);
}
static gboolean dataset_cifar_test_only (GError **error) {
  g_autofree guint8 *bytes = g_malloc0 (3073);
  g_autofree char *p = put ("cifar-test-only/test_batch.bin", bytes, 3073);
  g_autofree char *folder = path_of ("cifar-test-only");
  DrmadDataset *train = NULL, *test = NULL;
  return drmad_dataset_open (folder, NULL, &train, &test, error);
}
static gboolean dataset_nothing (GError **error) {
  g_autofree char *p = put ("nothing/notes/readme.txt", "x", 1);
  g_autofree char *folder = path_of ("nothing");
  DrmadDataset *train = NULL, *test = NULL;
  return drmad_dataset_open (folder, NULL, &train, &test, error);
}
static gboolean split_too_large (GError **error) {
  float x[8] = { 0 };
  gint32 y[4] = { 0, 1, 0, 1 };
  g_autoptr (DrmadDataset) ds = drmad_dataset_new_from_arrays (4, 2, 2, x, y, error);
  g_autoptr (DrmadSplit) split = drmad_dataset_split (ds, NULL, 1, 3, 2, 1, error);
  return split != NULL;
}
static gboolean arrays_bad_label (GError **error) {
  float x[4] = { 0 };
  gint32 y[2] = { 0, 7 };
  g_autoptr (DrmadDataset) ds = drmad_dataset_new_from_arrays (2, 2, 3, x, y, error);
  return ds != NULL;
}
static gboolean checkpoint_bad_magic (GError **error) {
  g_autofree char *p = put ("bad-magic.bin", "NOTDRMAD and then some bytes", 28);
  g_autoptr (GBytes) b = drmad_checkpoint_read (p, error);
  return b != NULL;
}
static gboolean checkpoint_truncated (GError **error) {
  g_autofree char *p = path_of ("cut.bin");
  g_autoptr (GBytes) payload = g_bytes_new ("0123456789abcdef", 16);
  g_assert_true (drmad_checkpoint_write (p, payload, NULL));
  g_autofree char *data = NULL;
  gsize n;
  g_assert_true (g_file_get_contents (p, &data, &n, NULL));
  g_assert_true (g_file_set_contents (p, data, n - 6, NULL));
  g_autoptr (GBytes) b = drmad_checkpoint_read (p, error);
  return b != NULL;
}
static gboolean checkpoint_flipped_bit (GError **error) {
  g_autofree char *p = path_of ("flip.bin");
  g_autoptr (GBytes) payload = g_bytes_new ("0123456789abcdef", 16);
  g_assert_true (drmad_checkpoint_write (p, payload, NULL));
  g_autofree char *data = NULL;
  gsize n;
  g_assert_true (g_file_get_contents (p, &data, &n, NULL));
  data[25] ^= 1;
  g_assert_true (g_file_set_contents (p, data, n, NULL));
  g_autoptr (GBytes) b = drmad_checkpoint_read (p, error);
  return b != NULL;
}
static gboolean run_folder_missing (GError **error) {
  g_autofree char *p = path_of ("not-a-run");
  g_autoptr (DrmadRun) run = drmad_run_open (p, error);
  return run != NULL;
}
static gboolean run_folder_exists (GError **error) {
  g_autofree char *p = put ("taken/something.txt", "x", 1);
  g_autofree char *folder = path_of ("taken");
  g_autoptr (DrmadRun) run = drmad_run_create (folder, "[drmad]\n", FALSE, error);
  return run != NULL;
}
/* An empty name: said so, not "cannot create the output folder : Invalid argument". */
static gboolean run_folder_empty_name (GError **error) {
  g_autoptr (DrmadRun) run = drmad_run_create ("", "[drmad]\n", FALSE, error);
  return run != NULL;
}
static gboolean device_no_match (GError **error) {
  g_autoptr (DrmadDevice) d = drmad_device_open ("quantum-annealer-9000", error);
  return d != NULL;
}
/* A stale $DRMAD_DEVICE is named as the source of the device asked for. */
static gboolean device_environment_no_match (GError **error) {
  g_autofree char *before = g_strdup (g_getenv ("DRMAD_DEVICE"));
  g_setenv ("DRMAD_DEVICE", "quantum-annealer-9000", TRUE);
  g_autoptr (DrmadDevice) d = drmad_device_open (NULL, error);
  if (before)
    g_setenv ("DRMAD_DEVICE", before, TRUE);
  else
    g_unsetenv ("DRMAD_DEVICE");
  return d != NULL;
}
static gboolean device_index_out_of_range (GError **error) {
  g_autoptr (DrmadDevice) d = drmad_device_open ("4096", error);
  return d != NULL;
}
static gboolean gemm_name (GError **error) {
  DrmadGemmPath path;
  return drmad_gemm_path_from_name ("cublas", &path, error);
}
static gboolean activation_name (GError **error) {
  DrmadActivation a;
  return drmad_activation_from_name ("swish", &a, error);
}
static gboolean method_name (GError **error) {
  DrmadMethod m;
  return drmad_method_from_name ("rmad", &m, error);
}
static gboolean meta_name (GError **error) {
  DrmadMetaAlgorithm a;
  return drmad_meta_algorithm_from_name ("lbfgs", &a, error);
}

/* Settings that need a net (and so a device). */
static DrmadNet *
small_net (GError **error)
{
  g_autoptr (DrmadDevice) device = drmad_device_open (NULL, error);
  guint sizes[] = { 4, 3, 2 };
  return device ? drmad_net_new (device, sizes, 3, DRMAD_ACTIVATION_RELU, DRMAD_PRECISION_FLOAT32, 4, error) : NULL;
}
static gboolean net_zero_width (GError **error) {
  g_autoptr (DrmadDevice) device = drmad_device_open (NULL, error);
  guint sizes[] = { 4, 0, 2 };
  g_autoptr (DrmadNet) net = device ? drmad_net_new (device, sizes, 3, DRMAD_ACTIVATION_RELU, DRMAD_PRECISION_FLOAT32, 4, error) : NULL;
  return net != NULL;
}
static gboolean hyper_momentum_one (GError **error) {
  g_autoptr (DrmadNet) net = small_net (error);
  if (!net)
    return TRUE;  /* no device: reported as a skip below */
  DrmadHyperConfig config;
  drmad_hyper_config_init (&config);
  config.init_momentum[1] = 1.0;
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (net, &config, error);
  return hyper != NULL;
}
static gboolean hyper_segments_beyond_steps (GError **error) {
  g_autoptr (DrmadNet) net = small_net (error);
  if (!net)
    return TRUE;
  DrmadHyperConfig config;
  drmad_hyper_config_init (&config);
  config.steps = 3;
  config.segments = 5;
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (net, &config, error);
  return hyper != NULL;
}
/* Values outside their enums: refused, not read as another value or used
 * as an index (a precision of 5 indexed the device's two programs). */
static gboolean net_bad_precision (GError **error) {
  g_autoptr (DrmadDevice) device = drmad_device_open (NULL, error);
  guint sizes[] = { 4, 3, 2 };
  g_autoptr (DrmadNet) net = device ? drmad_net_new (device, sizes, 3, DRMAD_ACTIVATION_RELU, (DrmadPrecision) 5, 4,
                                                     error) : NULL;
  return net != NULL;
}
static gboolean net_bad_activation (GError **error) {
  g_autoptr (DrmadDevice) device = drmad_device_open (NULL, error);
  guint sizes[] = { 4, 3, 2 };
  g_autoptr (DrmadNet) net = device ? drmad_net_new (device, sizes, 3, (DrmadActivation) 9, DRMAD_PRECISION_FLOAT32,
                                                     4, error) : NULL;
  return net != NULL;
}
static gboolean data_bad_precision (GError **error) {
  g_autoptr (DrmadDevice) device = drmad_device_open (NULL, error);
  const float features[4] = { 0 };
  const gint32 labels[1] = { 1 };
  g_autoptr (DrmadDataset) ds = drmad_dataset_new_from_arrays (1, 4, 2, features, labels, error);
  g_autoptr (DrmadDeviceData) data = device && ds ? drmad_device_data_new (device, (DrmadPrecision) 7, ds, error)
                                                  : NULL;
  return data != NULL;
}
static gboolean gemm_path_out_of_range (GError **error) {
  g_autoptr (DrmadDevice) device = drmad_device_open (NULL, error);
  return device && drmad_device_set_gemm_path (device, (DrmadGemmPath) 7, error);
}
static gboolean hyper_zero_width (GError **error) {
  DrmadHyperConfig config;
  drmad_hyper_config_init (&config);
  guint sizes[] = { 4, 0, 2 };
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new_for_sizes (sizes, 3, &config, error);
  return hyper != NULL;
}
static gboolean hyper_bad_granularity (GError **error) {
  DrmadHyperConfig config;
  drmad_hyper_config_init (&config);
  config.l2 = (DrmadL2Granularity) 9;
  guint sizes[] = { 4, 3, 2 };
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new_for_sizes (sizes, 3, &config, error);
  return hyper != NULL;
}
/* The message names the layer and the value at fault. */
static gboolean hyper_negative_lr (GError **error) {
  DrmadHyperConfig config;
  drmad_hyper_config_init (&config);
  config.init_lr[1] = -0.5;
  guint sizes[] = { 4, 3, 2 };
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new_for_sizes (sizes, 3, &config, error);
  return hyper != NULL;
}
/* Data that fit the net in every size but were copied to another opened
 * device: the message says that, not that the sizes do not fit. */
static gboolean data_other_device (GError **error) {
  g_autoptr (DrmadNet) net = small_net (error);
  g_autoptr (DrmadDevice) other = net ? drmad_device_open (NULL, error) : NULL;
  if (!other)
    return TRUE;
  const float features[4] = { 0 };
  const gint32 labels[1] = { 1 };
  g_autoptr (DrmadDataset) ds = drmad_dataset_new_from_arrays (1, 4, 2, features, labels, error);
  g_autoptr (DrmadDeviceData) data = drmad_device_data_new (other, DRMAD_PRECISION_FLOAT32, ds, error);
  double loss;
  return data && drmad_net_evaluate (net, data, &loss, NULL, error);
}
/* Empty validation data: no constructor makes them any more. A dataset of
 * no examples and a split without validation examples are refused where
 * they are asked for; before, they were made and refused only by
 * drmad_meta_new() or drmad_hypergradient_compute(). */
static gboolean
arrays_zero_examples (GError **error)
{
  const float features[4] = { 0 };
  const gint32 labels[1] = { 1 };
  g_autoptr (DrmadDataset) none = drmad_dataset_new_from_arrays (0, 4, 2, features, labels, error);
  return none != NULL;
}
static gboolean
split_zero_validation (GError **error)
{
  const float features[8] = { 0, 1, 2, 3, 3, 2, 1, 0 };
  const gint32 labels[2] = { 0, 1 };
  g_autoptr (DrmadDataset) ds = drmad_dataset_new_from_arrays (2, 4, 2, features, labels, error);
  g_autoptr (DrmadSplit) split = ds ? drmad_dataset_split (ds, NULL, 1, 1, 0, 1, error) : NULL;
  return split != NULL;
}
/* Step numbers that wrap around: it ran no step and reported success with
 * a mean loss of 0. */
static gboolean trainer_steps_wrap (GError **error) {
  g_autoptr (DrmadNet) net = small_net (error);
  if (!net)
    return TRUE;
  const float features[8] = { 0, 1, 2, 3, 3, 2, 1, 0 };
  const gint32 labels[2] = { 0, 1 };
  g_autoptr (DrmadDataset) ds = drmad_dataset_new_from_arrays (2, 4, 2, features, labels, error);
  g_autoptr (DrmadDeviceData) data = drmad_device_data_new (drmad_net_get_device (net), DRMAD_PRECISION_FLOAT32, ds,
                                                            error);
  g_autoptr (DrmadTrainer) trainer = data ? drmad_trainer_new (net, error) : NULL;
  double loss;
  return trainer && drmad_trainer_run (trainer, data, 1, G_MAXUINT64 - 1, 5, NULL, NULL, &loss, error);
}
static gboolean hyper_nan_theta (GError **error) {
  g_autoptr (DrmadNet) net = small_net (error);
  if (!net)
    return TRUE;
  DrmadHyperConfig config;
  drmad_hyper_config_init (&config);
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (net, &config, error);
  double theta[2] = { 0.0, NAN };
  return drmad_hyper_set_values (hyper, theta, error);
}

/* A meta-optimiser or reverse configuration with one bad setting, given to
 * drmad_meta_new() (@set_meta changes the default DrmadMetaConfig,
 * @set_reverse the default DrmadReverseConfig). */
static gboolean
meta_with (void (*set_meta) (DrmadMetaConfig *), void (*set_reverse) (DrmadReverseConfig *), GError **error)
{
  g_autoptr (DrmadNet) net = small_net (error);
  if (!net)
    return TRUE;
  const float features[8] = { 0, 1, 2, 3, 3, 2, 1, 0 };
  const gint32 labels[2] = { 0, 1 };
  g_autoptr (DrmadDataset) ds = drmad_dataset_new_from_arrays (2, 4, 2, features, labels, error);
  g_autoptr (DrmadDeviceData) data = drmad_device_data_new (drmad_net_get_device (net), DRMAD_PRECISION_FLOAT32, ds,
                                                            error);
  DrmadHyperConfig config;
  drmad_hyper_config_init (&config);
  config.steps = 2;
  g_autoptr (DrmadHyper) hyper = drmad_hyper_new (net, &config, error);
  DrmadReverseConfig reverse;
  drmad_reverse_config_init (&reverse);
  DrmadMetaConfig meta_config;
  drmad_meta_config_init (&meta_config);
  if (set_meta)
    set_meta (&meta_config);
  if (set_reverse)
    set_reverse (&reverse);
  g_autoptr (DrmadMeta) meta = data && hyper ? drmad_meta_new (net, hyper, data, data, &reverse, &meta_config, error)
                                             : NULL;
  return meta != NULL;
}
/* A NaN clip was taken for 0 (off), a NaN watch factor for the default. */
static void nan_clip (DrmadMetaConfig *c) { c->clip = NAN; }
static gboolean meta_nan_clip (GError **error) { return meta_with (nan_clip, NULL, error); }
static void nan_watch (DrmadReverseConfig *c) { c->watch_factor = NAN; }
static gboolean reverse_nan_watch (GError **error) { return meta_with (NULL, nan_watch, error); }
/* The message named every setting, the valid ones too, with their ranges. */
static void no_pieces (DrmadReverseConfig *c) { c->method = DRMAD_METHOD_PIECEWISE; c->snapshots = 0; }
static gboolean reverse_no_pieces (GError **error) { return meta_with (NULL, no_pieces, error); }
static void big_growth (DrmadMetaConfig *c) { c->learning_rate_growth = 1000; }
static gboolean meta_big_growth (GError **error) { return meta_with (big_growth, NULL, error); }
/* Adam with a NaN epsilon made every step NaN, each rejected by the guard. */
static void nan_epsilon (DrmadMetaConfig *c) { c->epsilon = NAN; }
static gboolean meta_nan_epsilon (GError **error) { return meta_with (nan_epsilon, NULL, error); }

static const BadInput table[] = {
  { "idx-truncated", DRMAD_ERROR_TRUNCATED, "trunc-images", idx_truncated },
  { "idx-bad-magic", DRMAD_ERROR_BAD_MAGIC, "magic-images", idx_bad_magic },
  { "idx-count-mismatch", DRMAD_ERROR_CORRUPT, "count-labels", idx_count_mismatch },
  { "idx-absurd-header", DRMAD_ERROR_TOO_LARGE, "absurd-images", idx_absurd_header },
  { "idx-labels-truncated", DRMAD_ERROR_TRUNCATED, "lt-labels", idx_labels_truncated },
  { "idx-gz-truncated", DRMAD_ERROR_TRUNCATED, "gzcut-images.gz", idx_gz_truncated },
  { "idx-gz-beyond-memory", DRMAD_ERROR_TOO_LARGE, "vast-images.gz", idx_gz_beyond_memory },
  { "idx-missing", DRMAD_ERROR_NOT_FOUND, "no-such-images", idx_missing },
  { "idx-empty-file", DRMAD_ERROR_TRUNCATED, "empty-images", idx_empty_file },
  { "cifar-bad-label", DRMAD_ERROR_LABEL_RANGE, "cifar-label.bin", cifar_bad_label },
  { "cifar-truncated", DRMAD_ERROR_TRUNCATED, "cifar-trunc.bin", cifar_truncated },
  { "png-not-png", DRMAD_ERROR_BAD_IMAGE, "broken.png", png_not_png },
  { "png-mixed-sizes", DRMAD_ERROR_MIXED_SIZES, "two.png", png_mixed_sizes },
  { "png-empty-folder", DRMAD_ERROR_EMPTY, "pngempty", png_empty_folder },
  { "dataset-unknown-name", DRMAD_ERROR_NOT_FOUND, "imagenet-22k-please", dataset_unknown_name },
  { "dataset-idx-is-folder", DRMAD_ERROR_IO, "train-images-idx3-ubyte: is a folder", dataset_idx_is_folder },
  { "dataset-idx-dangling-link", DRMAD_ERROR_NOT_FOUND, "train-images-idx3-ubyte: is a dangling symbolic link",
    dataset_idx_dangling_link },
  { "dataset-idx-link-loop", DRMAD_ERROR_IO, "train-images-idx3-ubyte: is a loop of symbolic links",
    dataset_idx_link_loop },
  { "dataset-idx-fifo", DRMAD_ERROR_IO, "train-images-idx3-ubyte: is a FIFO", dataset_idx_fifo },
  { "dataset-t10k-fifo", DRMAD_ERROR_IO, "t10k-images-idx3-ubyte: is a FIFO", dataset_t10k_fifo },
  { "dataset-t10k-only", DRMAD_ERROR_NOT_FOUND, "holds t10k-images-idx3-ubyte but no train-images", dataset_t10k_only },
  { "dataset-cifar-test-only", DRMAD_ERROR_NOT_FOUND, "holds test_batch.bin but no data_batch_N.bin",
    dataset_cifar_test_only },
  { "dataset-nothing", DRMAD_ERROR_EMPTY, "nothing: holds no dataset", dataset_nothing },
  { "split-too-large", DRMAD_ERROR_INVALID_ARGUMENT, "holds 4", split_too_large },
  { "arrays-bad-label", DRMAD_ERROR_LABEL_RANGE, "7", arrays_bad_label },
  { "checkpoint-bad-magic", DRMAD_ERROR_BAD_MAGIC, "bad-magic.bin", checkpoint_bad_magic },
  { "checkpoint-truncated", DRMAD_ERROR_TRUNCATED, "cut.bin", checkpoint_truncated },
  { "checkpoint-flipped-bit", DRMAD_ERROR_CORRUPT, "CRC-32", checkpoint_flipped_bit },
  { "run-folder-missing", DRMAD_ERROR_NOT_FOUND, "not-a-run", run_folder_missing },
  { "run-folder-empty-name", DRMAD_ERROR_INVALID_ARGUMENT, "name is empty", run_folder_empty_name },
  { "run-folder-exists", DRMAD_ERROR_EXISTS, "it is not a run folder", run_folder_exists },
  { "device-no-match", DRMAD_ERROR_NO_DEVICE, "quantum-annealer-9000", device_no_match },
  { "device-index", DRMAD_ERROR_NO_DEVICE, "4096", device_index_out_of_range },
  { "device-environment", DRMAD_ERROR_NO_DEVICE, "\"quantum-annealer-9000\" (from the environment variable DRMAD_DEVICE",
    device_environment_no_match },
  { "gemm-name", DRMAD_ERROR_INVALID_ARGUMENT, "cublas", gemm_name },
  { "activation-name", DRMAD_ERROR_INVALID_ARGUMENT, "swish", activation_name },
  { "method-name", DRMAD_ERROR_INVALID_ARGUMENT, "rmad", method_name },
  { "meta-optimiser-name", DRMAD_ERROR_INVALID_ARGUMENT, "lbfgs", meta_name },
  { "net-zero-width", DRMAD_ERROR_INVALID_ARGUMENT, "layer 1", net_zero_width },
  { "hyper-momentum-one", DRMAD_ERROR_INVALID_ARGUMENT, "momentum", hyper_momentum_one },
  { "hyper-segments-beyond-steps", DRMAD_ERROR_INVALID_ARGUMENT, "segments", hyper_segments_beyond_steps },
  { "hyper-nan", DRMAD_ERROR_DIVERGED, "l2/layer2", hyper_nan_theta },
  { "net-bad-precision", DRMAD_ERROR_INVALID_ARGUMENT, "precision 5", net_bad_precision },
  { "net-bad-activation", DRMAD_ERROR_INVALID_ARGUMENT, "activation 9", net_bad_activation },
  { "data-bad-precision", DRMAD_ERROR_INVALID_ARGUMENT, "precision 7", data_bad_precision },
  { "gemm-path-out-of-range", DRMAD_ERROR_INVALID_ARGUMENT, "GEMM path 7", gemm_path_out_of_range },
  { "hyper-zero-width", DRMAD_ERROR_INVALID_ARGUMENT, "layer 1 has width 0", hyper_zero_width },
  { "hyper-bad-granularity", DRMAD_ERROR_INVALID_ARGUMENT, "L2 granularity 9", hyper_bad_granularity },
  { "hyper-negative-lr", DRMAD_ERROR_INVALID_ARGUMENT, "learning rate of weight layer 2 is -0.5", hyper_negative_lr },
  { "data-other-device", DRMAD_ERROR_INVALID_ARGUMENT, "another DrmadDevice than the net's", data_other_device },
  { "arrays-zero-examples", DRMAD_ERROR_INVALID_ARGUMENT, "n is 0", arrays_zero_examples },
  { "split-zero-validation", DRMAD_ERROR_INVALID_ARGUMENT, "n_val is 0", split_zero_validation },
  { "trainer-steps-wrap", DRMAD_ERROR_INVALID_ARGUMENT, "5 steps from step 18446744073709551614", trainer_steps_wrap },
  { "meta-nan-epsilon", DRMAD_ERROR_INVALID_ARGUMENT, "epsilon nan", meta_nan_epsilon },
  { "meta-nan-clip", DRMAD_ERROR_INVALID_ARGUMENT, "clip nan", meta_nan_clip },
  { "meta-growth-only", DRMAD_ERROR_INVALID_ARGUMENT, "out of range: learning-rate growth 1000 (1 to 100)",
    meta_big_growth },
  { "reverse-nan-watch", DRMAD_ERROR_INVALID_ARGUMENT, "watch factor nan", reverse_nan_watch },
  { "reverse-snapshots-only", DRMAD_ERROR_INVALID_ARGUMENT,
    "out of range: snapshots 0 (at least 1 for the piecewise method)", reverse_no_pieces },
};

static void
test_bad_input (gconstpointer data)
{
  const BadInput *bad = data;
  g_autoptr (GError) error = NULL;
  gboolean ok = bad->run (&error);
  if (g_error_matches (error, DRMAD_ERROR, DRMAD_ERROR_NO_PLATFORM) && bad->code != DRMAD_ERROR_NO_PLATFORM) {
    g_test_skip (error->message);
    return;
  }
  g_assert_false (ok);
  g_assert_error (error, DRMAD_ERROR, bad->code);
  g_test_message ("%s: %s", bad->name, error->message);
  g_assert_nonnull (strstr (error->message, bad->fragment));
}

/* The process's MemAvailable from /proc/meminfo, read here as the
 * reference; 0 where it cannot be read. */
static guint64
test_mem_available (void)
{
  g_autofree char *meminfo = NULL;
  const char *line;
  if (!g_file_get_contents ("/proc/meminfo", &meminfo, NULL, NULL)
      || !(line = strstr (meminfo, "MemAvailable:")))
    return 0;
  return g_ascii_strtoull (line + strlen ("MemAvailable:"), NULL, 10) * 1024;
}

/* A cgroup memory limit (a container's, a systemd unit's) is the memory the
 * process may have, whatever MemAvailable says of the whole machine: a gzip
 * IDX file that claims 64 MiB, and a checkpoint of 4000 bytes, both well
 * within MemAvailable, are refused before reading where the fake cgroup's
 * limit leaves less, with the cgroup file and its numbers in the message.
 * They were read, the limit unseen (the kernel's OOM killer ends such a
 * process with no message). cgroup v2 with the limit on the parent of the
 * process's cgroup (whose memory.max is "max"), and v1, whose hierarchy
 * the container mounts as its own root. */
static void
test_cgroup_memory_limit (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
  const guint64 claim = (guint64) 65536 * 32 * 32;
  struct rlimit rl;
  if (test_mem_available () < 4 * claim
      || (getrlimit (RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 4 * claim)) {
    g_test_skip ("less than 256 MiB of memory available here");
    return;
  }
  g_autofree char *raw = idx_images ("cgroup-source", 0x803, 65536, 32, 32, 16);
  g_autofree char *images = gz_of ("cgroup-images.gz", raw, FALSE);
  g_autofree char *labels = idx_labels ("cgroup-labels", 65536, 16);
  g_autofree char *checkpoint = path_of ("cgroup-checkpoint.bin");
  g_autofree guint8 *bytes = g_malloc0 (4000);
  g_autoptr (GBytes) payload = g_bytes_new_take (g_steal_pointer (&bytes), 4000);
  g_assert_true (drmad_checkpoint_write (checkpoint, payload, NULL));
  /* Under this process's own limits both fit: the data set gets past the
   * memory check to its short body, the checkpoint is read. Where this
   * machine's real room (its cgroup's, read as drmad reads it) is below
   * the data set's claim, that half says nothing of drmad, and is skipped. */
  g_autoptr (GError) error = NULL;
  g_autofree char *real_what = NULL;
  guint64 real_room = drmad_memory_room (FALSE, &real_what);
  if (real_room < 2 * claim) {
    g_autofree char *why = g_strdup_printf ("the unlimited half: %" G_GUINT64_FORMAT " bytes of room here (%s), "
                                            "less than twice the data set's %" G_GUINT64_FORMAT, real_room,
                                            real_what, claim);
    g_test_skip (why);
  } else {
    g_autoptr (DrmadDataset) unlimited = drmad_dataset_load_idx (images, labels, NULL, &error);
    g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TRUNCATED);
    g_clear_error (&error);
    g_autoptr (GBytes) read_back = drmad_checkpoint_read (checkpoint, &error);
    g_assert_no_error (error);
  }

  g_autofree char *v2 = path_of ("cgroup-v2");
  g_autofree char *v2_limit = g_build_filename (v2, "sys-fs-cgroup", "drmad.slice", "memory.max", NULL);
  g_autofree char *v2_own = g_build_filename (v2, "sys-fs-cgroup", "drmad.slice", "job.scope", "memory.max", NULL);
  g_autofree char *v2_current = g_build_filename (v2, "sys-fs-cgroup", "drmad.slice", "memory.current", NULL);
  g_autofree char *v2_own_current = g_build_filename (v2, "sys-fs-cgroup", "drmad.slice", "job.scope",
                                                      "memory.current", NULL);
  g_autofree char *v2_proc = g_build_filename (v2, "proc-self-cgroup", NULL);
  g_autofree char *v2_folder = g_path_get_dirname (v2_own);
  g_assert_cmpint (g_mkdir_with_parents (v2_folder, 0755), ==, 0);
  g_assert_true (g_file_set_contents (v2_proc, "0::/drmad.slice/job.scope\n", -1, NULL));
  g_assert_true (g_file_set_contents (v2_own, "max\n", -1, NULL));
  g_assert_true (g_file_set_contents (v2_own_current, "1000\n", -1, NULL));
  g_assert_true (g_file_set_contents (v2_limit, "33554432\n", -1, NULL));   /* 32 MiB */
  g_assert_true (g_file_set_contents (v2_current, "1048576\n", -1, NULL));
  g_setenv ("DRMAD_INJECT_CGROUP", v2, TRUE);
  g_autoptr (DrmadDataset) limited = drmad_dataset_load_idx (images, labels, NULL, &error);
  g_assert_null (limited);
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE);
  g_test_message ("%s", error->message);
  g_autofree char *data_message = g_strdup_printf (
    "%s: header claims %" G_GUINT64_FORMAT " bytes of pixels, more than the limit of %d bytes (the room under this "
    "process's cgroup memory limit: 33554432 bytes in %s, of which 1048576 in use (memory.current)); refused before "
    "inflating", images, claim, 33554432 - 1048576, v2_limit);
  g_assert_cmpstr (error->message, ==, data_message);
  g_clear_error (&error);

  /* The same limit of 256 MiB with 250 MiB in use, 200 MiB of it inactive
   * page cache (memory.stat's inactive_file): the room is 206 MiB, not 6,
   * and the 64 MiB data set gets past the check to its short body. The
   * cache counted as used refused it ("more than the limit"), as it did
   * any run in a container that had written files for a while. */
  g_autofree char *v2_stat = g_build_filename (v2, "sys-fs-cgroup", "drmad.slice", "memory.stat", NULL);
  g_assert_true (g_file_set_contents (v2_limit, "268435456\n", -1, NULL));
  g_assert_true (g_file_set_contents (v2_current, "262144000\n", -1, NULL));
  g_assert_true (g_file_set_contents (v2_stat, "anon 41943040\nfile 220200960\nactive_anon 0\n"
                                      "inactive_anon 41943040\nactive_file 10485760\ninactive_file 209715200\n", -1,
                                      NULL));
  g_autoptr (DrmadDataset) cached = drmad_dataset_load_idx (images, labels, NULL, &error);
  g_assert_null (cached);
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TRUNCATED);
  g_clear_error (&error);
  /* 260 MiB of cache and 10 in use, under a limit of 32 MiB: 22 MiB of room,
   * refused, the message giving both numbers the usage was made of */
  g_assert_true (g_file_set_contents (v2_limit, "33554432\n", -1, NULL));
  g_assert_true (g_file_set_contents (v2_current, "283115520\n", -1, NULL));
  g_assert_true (g_file_set_contents (v2_stat, "anon 10485760\ninactive_file 272629760\n", -1, NULL));
  g_autoptr (DrmadDataset) working = drmad_dataset_load_idx (images, labels, NULL, &error);
  g_assert_null (working);
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE);
  g_test_message ("%s", error->message);
  g_autofree char *working_message = g_strdup_printf (
    "%s: header claims %" G_GUINT64_FORMAT " bytes of pixels, more than the limit of %d bytes (the room under this "
    "process's cgroup memory limit: 33554432 bytes in %s, of which 10485760 in use (memory.current 283115520 less "
    "inactive_file 272629760 in memory.stat)); refused before inflating", images, claim, 33554432 - 10485760, v2_limit);
  g_assert_cmpstr (error->message, ==, working_message);
  g_clear_error (&error);

  g_autofree char *v1 = path_of ("cgroup-v1");
  g_autofree char *v1_limit = g_build_filename (v1, "sys-fs-cgroup", "memory", "memory.limit_in_bytes", NULL);
  g_autofree char *v1_usage = g_build_filename (v1, "sys-fs-cgroup", "memory", "memory.usage_in_bytes", NULL);
  g_autofree char *v1_proc = g_build_filename (v1, "proc-self-cgroup", NULL);
  g_autofree char *v1_folder = g_path_get_dirname (v1_limit);
  g_assert_cmpint (g_mkdir_with_parents (v1_folder, 0755), ==, 0);
  g_assert_true (g_file_set_contents (v1_proc, "5:cpu,cpuacct:/docker/4f2a\n4:memory:/docker/4f2a\n0::/\n", -1,
                                      NULL));
  g_assert_true (g_file_set_contents (v1_limit, "3000\n", -1, NULL));
  g_assert_true (g_file_set_contents (v1_usage, "1000\n", -1, NULL));
  g_setenv ("DRMAD_INJECT_CGROUP", v1, TRUE);
  g_autoptr (GBytes) refused = drmad_checkpoint_read (checkpoint, &error);
  g_unsetenv ("DRMAD_INJECT_CGROUP");
  g_assert_null (refused);
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_OUT_OF_MEMORY);
  g_test_message ("%s", error->message);
  g_autofree char *checkpoint_message = g_strdup_printf (
    "%s is too big to read here: its payload is 4000 bytes (3.9\u00a0KiB) and 2000 bytes (2.0\u00a0KiB) of memory are "
    "available (the room under this process's cgroup memory limit: 3000 bytes in %s, of which 1000 in use "
    "(memory.usage_in_bytes))", checkpoint, v1_limit);
  g_assert_cmpstr (error->message, ==, checkpoint_message);
  g_clear_error (&error);

  /* v1: total_inactive_file (the hierarchy's, not inactive_file, this
   * cgroup's own) comes off memory.usage_in_bytes: 9500 in use of which
   * 9000 cache leaves 9500 of the 10000, and the 4000-byte checkpoint is
   * read; counted as used, the cache left 500 and refused it */
  g_autofree char *v1_stat = g_build_filename (v1_folder, "memory.stat", NULL);
  g_assert_true (g_file_set_contents (v1_limit, "10000\n", -1, NULL));
  g_assert_true (g_file_set_contents (v1_usage, "9500\n", -1, NULL));
  g_assert_true (g_file_set_contents (v1_stat, "cache 9000\ninactive_file 100\ntotal_cache 9000\n"
                                      "total_inactive_file 9000\n", -1, NULL));
  g_setenv ("DRMAD_INJECT_CGROUP", v1, TRUE);
  g_autoptr (GBytes) cache_read = drmad_checkpoint_read (checkpoint, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (cache_read), ==, 4000);
  /* and where it still does not fit, the message gives the numbers */
  g_assert_true (g_file_set_contents (v1_usage, "17500\n", -1, NULL));
  g_autoptr (GBytes) cache_refused = drmad_checkpoint_read (checkpoint, &error);
  g_unsetenv ("DRMAD_INJECT_CGROUP");
  g_assert_null (cache_refused);
  g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_OUT_OF_MEMORY);
  g_test_message ("%s", error->message);
  g_autofree char *cache_message = g_strdup_printf (
    "%s is too big to read here: its payload is 4000 bytes (3.9\u00a0KiB) and 1500 bytes (1.5\u00a0KiB) of memory are "
    "available (the room under this process's cgroup memory limit: 10000 bytes in %s, of which 8500 in use "
    "(memory.usage_in_bytes 17500 less total_inactive_file 9000 in memory.stat))", checkpoint, v1_limit);
  g_assert_cmpstr (error->message, ==, cache_message);
}

/* The room is asked at every checkpoint read and write, each optimiser and
 * each θ made (fuzz-checkpoint: six times an input, most of its time), and
 * each time read the limit, the usage and memory.stat of every level of
 * the cgroup hierarchy. Only what can lower the room is read now: a v1
 * level without a limit (9223372036854771712, as the kernel writes none)
 * is passed over, and a level whose raw usage leaves more than the room
 * found so far has its memory.stat (whose cache only adds room) unread.
 * What is not to be read is a FIFO here, which a read waits on for good:
 * in a subprocess with a time limit. The room and its bound are those of
 * the reading of every file: the root's 10000 bytes less 9500 in use, of
 * which 9000 inactive cache, under a MemAvailable of 1 000 kB. */
static void
test_cgroup_reads_what_counts (void)
{
  SKIP_WITHOUT_TEST_HOOKS ();
  if (!g_test_subprocess ()) {
    g_test_trap_subprocess (NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
    g_test_trap_assert_passed ();
    return;
  }
  g_autofree char *fake = path_of ("cgroup-what-counts");
  g_autofree char *root = g_build_filename (fake, "sys-fs-cgroup", "memory", NULL);
  g_autofree char *middle = g_build_filename (root, "docker", NULL);
  g_autofree char *leaf = g_build_filename (middle, "4f2a", NULL);
  g_assert_cmpint (g_mkdir_with_parents (leaf, 0755), ==, 0);
  g_autofree char *meminfo = g_build_filename (fake, "proc-meminfo", NULL);
  g_autofree char *proc = g_build_filename (fake, "proc-self-cgroup", NULL);
  g_assert_true (g_file_set_contents (meminfo, "MemTotal: 8000 kB\nMemAvailable: 1000 kB\nSwapFree: 0 kB\n", -1,
                                      NULL));
  g_assert_true (g_file_set_contents (proc, "4:memory:/docker/4f2a\n", -1, NULL));
  struct { const char *folder, *limit, *usage, *stat; } levels[] = {
    { leaf, "9223372036854771712\n", NULL, NULL },          /* no limit: neither usage nor memory.stat read */
    { middle, "2147483648\n", "1000\n", NULL },             /* 2 GiB less 1000 > 1 000 kB: memory.stat unread */
    { root, "10000\n", "9500\n", "total_inactive_file 9000\n" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (levels); i++) {
    g_autofree char *limit = g_build_filename (levels[i].folder, "memory.limit_in_bytes", NULL);
    g_autofree char *usage = g_build_filename (levels[i].folder, "memory.usage_in_bytes", NULL);
    g_autofree char *stat = g_build_filename (levels[i].folder, "memory.stat", NULL);
    g_assert_true (g_file_set_contents (limit, levels[i].limit, -1, NULL));
    g_assert_true (levels[i].usage ? g_file_set_contents (usage, levels[i].usage, -1, NULL) : mkfifo (usage, 0600) == 0);
    g_assert_true (levels[i].stat ? g_file_set_contents (stat, levels[i].stat, -1, NULL) : mkfifo (stat, 0600) == 0);
  }
  g_setenv ("DRMAD_INJECT_CGROUP", fake, TRUE);
  g_autofree char *bound = NULL;
  guint64 room = drmad_memory_room (TRUE, &bound);
  g_unsetenv ("DRMAD_INJECT_CGROUP");
  g_autofree char *root_limit = g_build_filename (root, "memory.limit_in_bytes", NULL);
  g_autofree char *expected = g_strdup_printf ("the room under this process's cgroup memory limit: 10000 bytes in %s, "
                                               "of which 500 in use (memory.usage_in_bytes 9500 less "
                                               "total_inactive_file 9000 in memory.stat)", root_limit);
  g_assert_cmpuint (room, ==, 9500);
  g_assert_cmpstr (bound, ==, expected);
}

/* An enum's names as its header lists them, in value order: each value's
 * name parses back to it in any case; a value out of range gets
 * @out_of_range; an unknown name is refused with INVALID_ARGUMENT naming
 * every name, the output left as it was. */
#define ASSERT_ENUM_NAMES(Type, name_fn, parse_fn, out_of_range, ...)                                   \
  do {                                                                                                \
    static const char *const names[] = { __VA_ARGS__ };                                               \
    const guint n = G_N_ELEMENTS (names);                                                             \
    for (guint i = 0; i < n; i++) {                                                                   \
      g_assert_cmpstr (name_fn ((Type) i), ==, names[i]);                                            \
      g_autofree char *upper = g_ascii_strup (names[i], -1);                                         \
      Type parsed = (Type) ((i + 1) % n);                                                             \
      g_assert_true (parse_fn (upper, &parsed, NULL));                                               \
      g_assert_cmpint (parsed, ==, i);                                                                \
    }                                                                                                 \
    g_assert_cmpstr (name_fn ((Type) n), ==, out_of_range);                                          \
    g_autoptr (GError) error = NULL;                                                                  \
    Type kept = (Type) (n - 1);                                                                       \
    g_assert_false (parse_fn ("nonesuch", &kept, &error));                                           \
    g_assert_error (error, DRMAD_ERROR, DRMAD_ERROR_INVALID_ARGUMENT);                               \
    g_assert_cmpint (kept, ==, n - 1);                                                                \
    for (guint i = 0; i < n; i++)                                                                     \
      g_assert_nonnull (strstr (error->message, names[i]));                                          \
  } while (0)

/* What drmad-device.h, drmad-net.h, drmad-hypergradient.h and drmad-meta.h
 * say of their name functions and parsers. */
static void
test_enum_names (void)
{
  ASSERT_ENUM_NAMES (DrmadGemmPath, drmad_gemm_path_name, drmad_gemm_path_from_name, "auto", "auto", "clblast", "host");
  ASSERT_ENUM_NAMES (DrmadActivation, drmad_activation_name, drmad_activation_from_name, "relu", "relu", "tanh",
                     "softsign");
  ASSERT_ENUM_NAMES (DrmadMethod, drmad_method_name, drmad_method_from_name, "drmad", "exact", "drmad", "piecewise",
                     "truncated", "auto");
  ASSERT_ENUM_NAMES (DrmadMetaAlgorithm, drmad_meta_algorithm_name, drmad_meta_algorithm_from_name, "adam", "adam",
                     "sgd", "sign");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  scratch = test_tmp_dir ("drmad-bad", NULL);
  g_assert_cmpuint (G_N_ELEMENTS (table), >=, 20);
  for (guint i = 0; i < G_N_ELEMENTS (table); i++) {
    g_autofree char *path = g_strconcat ("/bad-input/", table[i].name, NULL);
    g_test_add_data_func (path, &table[i], test_bad_input);
  }
  g_test_add_func ("/bad-input/cgroup-memory-limit", test_cgroup_memory_limit);
  g_test_add_func ("/bad-input/cgroup-reads-what-counts", test_cgroup_reads_what_counts);
  g_test_add_func ("/bad-input/enum-names", test_enum_names);
  int status = g_test_run ();
  g_autofree char *command = g_strdup_printf ("rm -rf '%s'", scratch);
  (void) !system (command);
  g_free (scratch);
  return status;
}
