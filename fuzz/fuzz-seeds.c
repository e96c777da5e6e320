/* Writes the starting corpora of the fuzz targets: small valid files of
 * every format, made the way the tests make theirs.
 *   fuzz-seeds CORPUS_ROOT   →  CORPUS_ROOT/{idx,cifar10,png-folder,run-ini,checkpoint}/ */
#include "drmad.h"
#include "fuzz-small-run.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <png.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

static void
put (const char *root, const char *target, const char *name, const void *data, gsize size)
{
  g_autofree char *folder = g_build_filename (root, target, NULL);
  g_mkdir_with_parents (folder, 0755);
  g_autofree char *path = g_build_filename (folder, name, NULL);
  if (!g_file_set_contents (path, data, size, NULL))
    g_printerr ("cannot write %s\n", path);
}

static void
be32 (GByteArray *a, guint32 v)
{
  guint8 b[4] = { v >> 24, v >> 16, v >> 8, v };
  g_byte_array_append (a, b, 4);
}

/* An fuzz-idx input: control byte, then images and labels back to back. */
static void
idx_seed (const char *root, const char *name, guint n, guint rows, guint cols, guint8 control_gz)
{
  g_autoptr (GByteArray) images = g_byte_array_new (), labels = g_byte_array_new ();
  be32 (images, 0x803); be32 (images, n); be32 (images, rows); be32 (images, cols);
  for (guint i = 0; i < n * rows * cols; i++)
    g_byte_array_append (images, (guint8[]){ (guint8) (i * 37) }, 1);
  be32 (labels, 0x801); be32 (labels, n);
  for (guint i = 0; i < n; i++)
    g_byte_array_append (labels, (guint8[]){ (guint8) (i % 3) }, 1);
  g_autoptr (GByteArray) input = g_byte_array_new ();
  gsize total = images->len + labels->len;
  guint8 control = (guint8) ((images->len * 63 + total - 1) / total) | control_gz;  /* the cut lands at the boundary */
  g_byte_array_append (input, &control, 1);
  g_byte_array_append (input, images->data, images->len);
  g_byte_array_append (input, labels->data, labels->len);
  put (root, "idx", name, input->data, input->len);
}

int
main (int argc, char **argv)
{
  if (argc != 2) {
    g_printerr ("usage: fuzz-seeds CORPUS_ROOT\n");
    return 2;
  }
  const char *root = argv[1];
  idx_seed (root, "plain", 3, 2, 2, 0);
  idx_seed (root, "gz-images", 4, 3, 2, 0x40);
  idx_seed (root, "gz-both", 2, 2, 3, 0xc0);

  g_autofree guint8 *cifar = g_malloc0 (2 * 3073);
  cifar[0] = 3;
  cifar[3073] = 9;
  for (guint i = 1; i < 3073; i++)
    cifar[i] = cifar[3073 + i] = i * 7;
  put (root, "cifar10", "two-records", cifar, 2 * 3073);

  for (guint format = 0; format < 2; format++) {
    png_image image = { .version = PNG_IMAGE_VERSION, .width = 4, .height = 4,
                        .format = format ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY };
    guint8 pixels[48];
    for (guint i = 0; i < sizeof pixels; i++)
      pixels[i] = i * 5;
    png_alloc_size_t size = 0;
    png_image_write_to_memory (&image, NULL, &size, 0, pixels, 0, NULL);
    g_autofree guint8 *png = g_malloc (size);
    if (png_image_write_to_memory (&image, png, &size, 0, pixels, 0, NULL))
      put (root, "png-folder", format ? "rgb" : "gray", png, size);
  }

  const char *ini = "[drmad]\ndataset=fashion-mnist\nlayers=784,100,10\nactivation=tanh\nbatch=50\niters=200\n"
                    "meta-iters=5\nlearn=l2,lr,momentum,init\nl2-granularity=neuron\nsegments=3\n"
                    "init-l2=1e-4,2e-4\ninit-lr=0.1\ninit-momentum=0.9\ninit-scale=0\nmethod=piecewise\n"
                    "snapshots=4\nmeta-optimizer=sign\nmeta-lr=0.07\nseed=3\nprecision=float32\n";
  put (root, "run-ini", "full", ini, strlen (ini));

  /* fuzz-csv-rows: the meta-iteration kept, then the file */
  const char *history = "\002iteration,rejected,train_loss,val_loss,val_error,seconds\n1,0,0.5,0.6,0.2,1.5\n"
                        "2,1,0.4,0.7,0.3,1.25\n3,0,0.3,0.5,0.1,1\nfinal-initial,0.9,0.4\nfinal-learned,0.5,0.2\n"
                        "final-best,0.5,0.1\n";
  put (root, "csv-rows", "history", history, strlen (history));
  const char *hyper = "\001iteration,name,raw,value\r\n1,l2/layer1,-9.2,1e-4\r\n1,lr/layer1/seg0,-2.3,0.1\r\n"
                      "2,l2/layer1,-9,1.2e-4\r\n2,lr/layer1/seg0,-2.2,0.11";
  put (root, "csv-rows", "hyper", hyper, strlen (hyper));

  /* fuzz-evaluate-line: the option set (layer-wide L2, or per input unit), then the line */
  const char *lines[] = { "\0init-l2=1e-4,2e-4 init-lr=0.1 lr/layer1/seg0=0.05 momentum/layer2/seg1=0.8\n",
                          "\1l2/layer1/in2=3e-4 init/layer2=0.5 init-momentum=0.9,0.95\n",
                          "\0   # only a comment\n" };
  for (guint i = 0; i < G_N_ELEMENTS (lines); i++) {
    g_autofree char *name = g_strdup_printf ("line%u", i);
    put (root, "evaluate-line", name, lines[i], 1 + strlen (lines[i] + 1));
  }

  /* A real optimiser state framed as checkpoint.bin's payload (no history). */
  g_autoptr (GError) error = NULL;
  FuzzSmallRun small = { 0 };
  if (!fuzz_small_run_init (&small, &error)) {
    g_printerr ("fuzz-seeds: no OpenCL device (%s): the checkpoint corpus starts empty\n", error->message);
  } else {
    g_autoptr (GBytes) state = drmad_meta_save_state (small.meta);
    /* version 6's header (lib/run.c, checkpoint_payload): the state's length, no records, n, the groups, no
     * identity, the cells a record holds, hyper.csv's length and tail CRC (none written) */
    DrmadGroupKind kinds[] = { DRMAD_GROUP_L2, DRMAD_GROUP_LR, DRMAD_GROUP_MOMENTUM, DRMAD_GROUP_INIT };
    guint64 cells = 0;
    for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
      cells += drmad_hyper_get_n_cells (small.hyper, kinds[k]);
    guint64 header[8] = { g_bytes_get_size (state), 0, drmad_hyper_get_n (small.hyper),
                          drmad_hyper_get_n_groups (small.hyper), 0, cells, 0, 0 };
    g_autoptr (GByteArray) payload = g_byte_array_new ();
    g_byte_array_append (payload, (const guint8 *) "\1", 1);  /* fuzz-checkpoint: frame it */
    g_byte_array_append (payload, (const guint8 *) header, sizeof header);
    g_byte_array_append (payload, g_bytes_get_data (state, NULL), g_bytes_get_size (state));
    put (root, "checkpoint", "state-no-history", payload->data, payload->len);
    /* One meta-iteration recorded: a record with θ, and hyper.csv's length
     * and tail CRC, which fuzz-checkpoint's own recording of the same run
     * (beside every input) matches. The file as it is: its magic's first
     * byte is even, so fuzz-checkpoint takes it whole. */
    g_autofree char *xs = g_strnfill (6, 'X');   /* g_mkdtemp() makes them random */
    g_autofree char *template = g_build_filename (g_get_tmp_dir (), "drmad-fuzz-seed-", NULL);
    g_autofree char *scratch_template = g_strconcat (template, xs, NULL);
    char *scratch = g_mkdtemp (scratch_template);
    g_autofree char *folder = scratch ? g_build_filename (scratch, "run", NULL) : NULL;
    g_autofree char *checkpoint = folder ? g_build_filename (folder, "checkpoint.bin", NULL) : NULL;
    g_autofree char *bytes = NULL;
    gsize length;
    if (folder && fuzz_small_run_record (&small, folder, &error)
        && g_file_get_contents (checkpoint, &bytes, &length, &error))
      put (root, "checkpoint", "one-record", bytes, length);
    else
      g_printerr ("fuzz-seeds: no recorded checkpoint seed (%s)\n", error ? error->message : g_strerror (errno));
    if (folder) {
      g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
      for (const char *left; dir && (left = g_dir_read_name (dir));) {
        g_autofree char *name = g_build_filename (folder, left, NULL);
        g_remove (name);
      }
      g_rmdir (folder);
      g_rmdir (scratch);
    }
  }
  fuzz_small_run_clear (&small);
  return 0;
}
