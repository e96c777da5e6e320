/* The headless runner behind `drmad --no-gui`. */
#pragma once

#include <glib.h>

/* Parses @argv (GOptionContext) and runs; returns the process exit status:
 * 0 on success, 1 when the work failed, 2 on bad input. */
int drmad_cli_main (int argc, char **argv);

/* A line that drmad_cli_main() writes to standard error once the options
 * have parsed (so that a mistyped option gets its error alone): why the
 * program runs headless although no terminal mode was asked for. */
void drmad_cli_set_headless_notice (const char *line);

/* Whether an MPI launcher (mpirun, srun) started this process, in a build
 * with Open MPI (docs/distributed.md): the window then stays closed. */
gboolean drmad_cli_launched (void);
