/* checkpoint.bin: the framing (magic, version, length, CRC-32), then a
 * restore into a small run. Inputs that pass the CRC are rare, so half the
 * time the input is taken as the payload and framed correctly first. Beside
 * each input lies the hyper.csv of one recorded meta-iteration of the same
 * run (fuzz-small-run.h), so that the check of hyper.csv's length and tail
 * CRC against the checkpoint's header, and the cut after it, are reached.
 * The checkpoint is also read as Open run reads it (no optimiser) and as
 * Export counts its records. */
#include "fuzz-small-run.h"
#include "fuzz-common.h"

#include <math.h>
#include <stdio.h>

static FuzzSmallRun small;
/* θ's layout as Open run builds it from run.ini, made once: each input
 * loads a history into it, as the restore loads one into small.hyper */
static DrmadHyper *layout;
static char *hyper_csv;
static gsize hyper_csv_length;

static void
prepare (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *recorded = g_build_filename (fuzz_folder (), "recorded", NULL);
  g_autofree char *recorded_csv = g_build_filename (recorded, "hyper.csv", NULL);
  if (!fuzz_small_run_init (&small, &error) || !fuzz_small_run_record (&small, recorded, &error)
      || !g_file_get_contents (recorded_csv, &hyper_csv, &hyper_csv_length, &error)) {
    fprintf (stderr, "fuzz-checkpoint needs an OpenCL device and a run folder: %s\n", error->message);
    abort ();
  }
  guint sizes[] = { 4, 3, 2 };
  if (!(layout = drmad_hyper_new_for_sizes (sizes, 3, &small.config, &error))) {
    fprintf (stderr, "fuzz-checkpoint: %s\n", error->message);
    abort ();
  }
  g_autofree char *ini = g_build_filename (fuzz_folder (), "run", "run.ini", NULL);
  g_autofree char *folder = g_path_get_dirname (ini);
  g_mkdir_with_parents (folder, 0700);
  g_file_set_contents (ini, "[drmad]\n", -1, NULL);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (!small.meta)
    prepare ();
  g_autofree char *path = g_build_filename (fuzz_folder (), "run", "checkpoint.bin", NULL);
  if (size > 0 && (data[0] & 1)) {
    g_autoptr (GBytes) payload = g_bytes_new (data + 1, size - 1);
    if (!drmad_checkpoint_write (path, payload, NULL))
      abort ();
  } else {
    g_free (fuzz_write ("run/checkpoint.bin", data, size));
  }
  /* a restore may have cut it, or set it aside */
  g_free (fuzz_write ("run/hyper.csv", (const uint8_t *) hyper_csv, hyper_csv_length));
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = drmad_checkpoint_read (path, &error);
  if (!bytes && !error)
    abort ();
  fuzz_check_names (error, path);
  g_clear_error (&error);
  /* Export: the records counted from the file's bytes alone */
  g_autofree char *file = NULL;
  gsize file_length = 0;
  if (g_file_get_contents (path, &file, &file_length, NULL)) {
    g_autoptr (GBytes) contents = g_bytes_new (file, file_length);
    guint64 records;
    if (!drmad_checkpoint_bytes_records (contents, path, &records, &error) && !error)
      abort ();
    fuzz_check_names (error, path);
    g_clear_error (&error);
  }
  g_autofree char *folder = g_path_get_dirname (path);
  {
    /* Open run: read-only, the history without the optimiser */
    g_autoptr (DrmadRun) reader = drmad_run_open_read_only (folder, NULL);
    if (reader && !drmad_run_load_history (reader, layout, &error) && !error)
      abort ();
    fuzz_check_names (error, path);
    g_clear_error (&error);
    g_autofree char *identity = reader ? drmad_run_read_identity (reader, &error) : NULL;
    if (reader && !identity && !error)
      abort ();
    fuzz_check_names (error, path);
    g_clear_error (&error);
  }
  g_autoptr (DrmadMeta) meta = fuzz_small_run_meta (&small, NULL);
  g_autoptr (DrmadRun) run = drmad_run_open (folder, NULL);
  if (!run || !meta)
    abort ();
  if (!drmad_run_restore (run, small.hyper, meta, &error) && !error)
    abort ();
  fuzz_check_names (error, path);
  /* Whatever was restored must be finite (set_values refuses NaN). */
  for (gsize i = 0; i < drmad_hyper_get_n (small.hyper); i++)
    if (!isfinite (drmad_hyper_get_values (small.hyper)[i]))
      abort ();
  if (g_getenv ("FUZZ_CHECKPOINT_SAY"))
    fprintf (stderr, "restore: %s; hyper.csv: %s\n", error ? error->message : "restored",
             drmad_run_get_hyper_csv_notice (run) ? drmad_run_get_hyper_csv_notice (run) : "continues");
  return 0;
}
