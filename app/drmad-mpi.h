/* The MPI glue of `mpirun -n N drmad --no-gui` (docs/distributed.md): built only
 * with Open MPI (meson option mpi); the library knows nothing of MPI. */
#pragma once

#include "drmad-job.h"

/* Whether an MPI launcher (mpirun, srun) started this process: read from
 * the environment it sets, so that plain `drmad` never initialises MPI. */
gboolean drmad_mpi_launched (void);
/* Under a launcher, this process's rank as the launcher set it in the
 * environment (before MPI_Init); 0 when none says. */
guint    drmad_mpi_launched_rank (void);
/* Under a launcher, how many processes it started, as it set it in the
 * environment (before MPI_Init); 0 when none says. */
guint    drmad_mpi_launched_size (void);
/* The command that started this process and @size in all (0: not known
 * yet), as a user gives it: "srun" where Slurm's srun started each of them
 * itself (its SLURM_STEP_ID, its SLURM_STEP_NUM_TASKS where set equal to
 * @size, and neither mpirun's OMPI_COMM_WORLD_SIZE nor hydra's
 * MPI_LOCALRANKID, which mpirun and mpiexec started within an allocation
 * pass on with the step's variables), else "mpirun". The environment is
 * read at the first call, which drmad_mpi_init() makes before MPI_Init. */
const char *drmad_mpi_launcher (guint size);

/* MPI_Init, and @ranks filled for drmad_job_run_ranks(): this rank, the
 * number of ranks, the launcher, the averaging hook and the θ check. */
gboolean drmad_mpi_init     (DrmadJobRanks *ranks, GError **error);
void     drmad_mpi_finalize (void);
/* After drmad_mpi_init(): this rank's number among the ranks on its machine
 * (MPI_Comm_split_type, shared memory), and how many there are. */
gboolean drmad_mpi_local_rank (guint *local_rank, guint *local_size, GError **error);
/* Ends every rank at once (MPI_Abort) with @status: for a rank that fails
 * while the others may wait in a collective call. */
G_NORETURN void drmad_mpi_abort (int status);
