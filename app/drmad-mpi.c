/* The MPI glue's entry points (drmad-mpi.h): whether an MPI launcher started
 * the process, and the rest forwarded to the module libdrmad-mpi.so
 * (drmad-mpi-module.c), loaded by drmad_mpi_init() only. */
#include "drmad-mpi.h"
#include "drmad-module.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

gboolean
drmad_mpi_launched (void)
{
  /* Open MPI's mpirun, then PMIx and PMI (srun under Slurm). */
  static const char *const variables[] = { "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", NULL };
  for (const char *const *v = variables; *v; v++)
    if (g_getenv (*v))
      return TRUE;
  return FALSE;
}

/* The first of @variables that holds a number from @min on, else 0. */
static guint
launcher_number (const char *const *variables, guint64 min)
{
  guint64 number;
  for (const char *const *v = variables; *v; v++)
    if (g_getenv (*v) && g_ascii_string_to_unsigned (g_getenv (*v), 10, min, G_MAXUINT, &number, NULL))
      return number;
  return 0;
}

guint
drmad_mpi_launched_rank (void)
{
  static const char *const variables[] = { "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", NULL };
  return launcher_number (variables, 0);
}

guint
drmad_mpi_launched_size (void)
{
  static const char *const variables[] = { "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", NULL };
  return launcher_number (variables, 1);
}

const char *
drmad_mpi_launcher (guint size)
{
  /* A launcher that runs inside a Slurm step passes the step's variables
   * on to the processes it starts: Open MPI's mpirun (which sets
   * OMPI_COMM_WORLD_SIZE), MPICH's and Intel MPI's hydra (MPI_LOCALRANKID;
   * within an allocation it starts its proxies with srun), any of them in
   * the shell of `srun --pty bash`. Only srun's own tasks are as many as
   * the processes (SLURM_STEP_NUM_TASKS). */
  static gsize read;
  static gboolean srun_set;
  static guint64 step_tasks;
  if (g_once_init_enter (&read)) {
    srun_set = g_getenv ("SLURM_STEP_ID") && !g_getenv ("OMPI_COMM_WORLD_SIZE") && !g_getenv ("MPI_LOCALRANKID");
    const char *tasks = g_getenv ("SLURM_STEP_NUM_TASKS");
    if (!tasks || !g_ascii_string_to_unsigned (tasks, 10, 1, G_MAXUINT, &step_tasks, NULL))
      step_tasks = 0;
    g_once_init_leave (&read, 1);
  }
  return srun_set && (!size || !step_tasks || step_tasks == size) ? "srun" : "mpirun";
}

static struct {
  gboolean (*init) (DrmadJobRanks *ranks, GError **error);
  gboolean (*local_rank) (guint *local_rank, guint *local_size, GError **error);
  void     (*finalize) (void);
  void     (*abort) (int status);
} mpi;

gboolean
drmad_mpi_init (DrmadJobRanks *ranks, GError **error)
{
  drmad_mpi_launcher (0);   /* the environment read before MPI_Init, which may set variables of its own */
  if (!mpi.init) {
    /* RTLD_GLOBAL: Open MPI's own components, which it loads in turn, look
     * for libmpi's symbols in the global scope. */
    g_autofree char *failure = NULL;
    void *module = drmad_module_open ("libdrmad-mpi.so", RTLD_NOW | RTLD_GLOBAL, &failure);
    const struct { const char *name; void **slot; } symbols[] = {
      { "drmad_mpi_module_init", (void **) &mpi.init },
      { "drmad_mpi_module_local_rank", (void **) &mpi.local_rank },
      { "drmad_mpi_module_finalize", (void **) &mpi.finalize },
      { "drmad_mpi_module_abort", (void **) &mpi.abort },
    };
    for (guint i = 0; module && i < G_N_ELEMENTS (symbols); i++)
      if (!(*symbols[i].slot = dlsym (module, symbols[i].name))) {
        failure = g_strdup_printf ("it has no %s", symbols[i].name);
        memset (&mpi, 0, sizeof mpi);
        break;
      }
    if (!mpi.init) {
      g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_NOT_FOUND, "cannot load the MPI glue (%s)", failure);
      return FALSE;
    }
  }
  if (!mpi.init (ranks, error))
    return FALSE;
  ranks->launcher = drmad_mpi_launcher (ranks->size);
  return TRUE;
}

gboolean
drmad_mpi_local_rank (guint *local_rank, guint *local_size, GError **error)
{
  if (!mpi.local_rank) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_FAILED, "MPI is not initialised (drmad_mpi_init)");
    return FALSE;
  }
  return mpi.local_rank (local_rank, local_size, error);
}

void
drmad_mpi_finalize (void)
{
  if (mpi.finalize)
    mpi.finalize ();
}

void
drmad_mpi_abort (int status)
{
  if (mpi.abort)
    mpi.abort (status);
  exit (status);
}
