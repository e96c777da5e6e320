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

/* The --check table: its two heading lines, and the row of a group of
 * @count values whose exact hypergradient is @exact_vs_fd from the finite
 * differences (@ok or "TOO FAR", on the @basis "relative", "fd noise" or
 * "absolute, fd 0"), with the fidelity columns already formatted (22
 * characters each); new strings, each line ending in "\n". */
char *drmad_check_table_heading (void);
char *drmad_check_table_row (const char *group, gsize count, double exact_vs_fd, gboolean ok, const char *basis,
                             const char *drmad_columns, const char *piecewise_columns);
