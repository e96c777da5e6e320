/* The program's loadable modules: the window (libdrmad-gui.so) and the MPI
 * glue (libdrmad-mpi.so), loaded only when a run needs them so that a run in
 * the terminal maps neither GTK nor Open MPI (docs/benchmarks.md, peak RSS). */
#pragma once

#include <glib.h>

/* dlopen() of module @name (e.g. "libdrmad-mpi.so") with @flags, from
 * beside the program (the build tree) else from DRMAD_MODULE_DIR (where it
 * is installed); NULL with why in *@failure (free it) when neither loads. */
void *drmad_module_open (const char *name, int flags, char **failure);
