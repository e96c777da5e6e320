/* The θ lines `drmad --no-gui --evaluate` reads on standard input
 * (drmad_evaluate_parse_line), for a small net learning every group, its
 * L2 per input unit. The first byte picks one of two option sets, so that
 * both layer-wide and per-unit names are reachable. */
#include "drmad-evaluate.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static DrmadOptions options[2];

static void
prepare (void)
{
  const char *granularity[2] = { "--l2-granularity=layer", "--l2-granularity=neuron" };
  for (guint k = 0; k < 2; k++) {
    char *argv_storage[] = { (char *) "drmad", (char *) "--layers=4,3,2", (char *) "--learn=l2,lr,momentum,init",
                             (char *) "--segments=2", (char *) granularity[k], NULL };
    char **argv = argv_storage;
    int argc = 5;
    g_autoptr (GError) error = NULL;
    if (!drmad_options_parse (&options[k], &argc, &argv, &error)) {
      fprintf (stderr, "fuzz-evaluate-line: %s\n", error->message);
      abort ();
    }
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  if (!options[0].n_sizes)
    prepare ();
  const DrmadOptions *o = &options[data[0] & 1];
  /* getline() hands over text up to the first NUL (drmad_evaluate_main
   * refuses a line holding one before it is parsed) */
  g_autofree char *line = g_strndup ((const char *) data + 1, size - 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (DrmadHyper) hyper = drmad_evaluate_parse_line (o, o->sizes, o->n_sizes, line, &error);
  if (hyper) {
    for (gsize i = 0; i < drmad_hyper_get_n (hyper); i++)
      if (!isfinite (drmad_hyper_get_values (hyper)[i]))
        abort ();
  } else if (error && (!error->message[0] || !g_utf8_validate (error->message, -1, NULL))) {
    abort ();   /* a message says what was wrong, in text the terminal shows */
  }
  return 0;
}
