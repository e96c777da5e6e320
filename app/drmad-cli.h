/* The headless runner behind `drmad --no-gui`. */
#pragma once

/* Parses @argv (GOptionContext) and runs; returns the process exit status:
 * 0 on success, 1 when the work failed, 2 on bad input. */
int drmad_cli_main (int argc, char **argv);
