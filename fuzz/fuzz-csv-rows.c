/* history.csv and hyper.csv as Open run and Export read them: the rows
 * Export cuts to (drmad_history_csv_rows, drmad_hyper_csv_rows) on the
 * input's exact bytes (no NUL after them, as in a slice of a larger file),
 * and the final test errors Open run shows (drmad_run_final_text). The
 * first byte picks the meta-iteration kept. */
#include "drmad-job.h"
#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  guint64 keep = data[0];
  data++, size--;
  /* a copy of exactly @size bytes: ASan sees any read past them */
  g_autoptr (GBytes) contents = g_bytes_new (size ? data : NULL, size);
  guint64 kept_iteration, last;
  gsize kept_end;
  guint64 rows = drmad_history_csv_rows (contents, keep, &kept_iteration, &kept_end, &last);
  if (kept_end > size || (rows < keep && kept_iteration != 0) || (keep == 0 && kept_iteration != 0))
    abort ();
  guint64 hyper_last = drmad_hyper_csv_rows (contents, keep, &kept_end);
  /* what is kept of hyper.csv ends with a whole row: bytes after the last
   * newline are a piece of one being appended */
  if (kept_end > size || (size && hyper_last > keep && kept_end == size) || (kept_end && data[kept_end - 1] != '\n'))
    abort ();
  g_free (fuzz_write ("run/history.csv", data, size));
  g_autofree char *folder = g_build_filename (fuzz_folder (), "run", NULL);
  g_autofree char *text = drmad_run_final_text (folder);
  if (text && !g_utf8_validate (text, -1, NULL))
    abort ();
  return 0;
}
