/* run.ini / --config files through the program's option parser. */
#include "drmad-options.h"
#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *path = fuzz_write ("settings.ini", data, size);
  char *argv_storage[] = { (char *) "drmad", (char *) "--config", path, NULL };
  char **argv = argv_storage;
  int argc = 3;
  DrmadOptions options = { 0 };
  g_autoptr (GError) error = NULL;
  if (drmad_options_parse (&options, &argc, &argv, &error)) {
    /* What parses must describe itself again. */
    g_autofree char *ini = drmad_options_to_ini (&options);
    if (!ini || options.n_sizes < 2)
      abort ();
  } else if (!error) {
    abort ();
  } else {
    fuzz_check_names (error, path);
  }
  drmad_options_clear (&options);
  return 0;
}
