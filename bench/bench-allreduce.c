/* bench-allreduce: the latency of the MPI collectives drmad's MPI glue runs
 * once per meta-iteration (app/drmad-mpi.c), and of the one allreduce per
 * training step that data-parallel inner training would need
 * (docs/distributed.md, "Is data-parallel inner training worth adding next?").
 *
 *   mpirun --oversubscribe -n 2 ./build/bench/bench-allreduce [--repeats N]
 *
 * Each message is timed over --repeats back-to-back calls (default 2000)
 * after 100 unmeasured ones, five times; rank 0 prints the median and the
 * smallest of the five means per call. Messages: the meta-iteration's
 * allreduce of the default job (15 hyperparameters + 6 sums = 21 doubles),
 * the θ check's allgather (32 bytes of SHA-256 per rank), and one training
 * step's weight gradient of 784-100-100-10 in float32 (89 610 floats). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUNDS 5
#define WARMUP 100

typedef enum { ALLREDUCE_DOUBLES, ALLREDUCE_FLOATS, ALLGATHER_BYTES } Kind;

typedef struct {
  const char *what;
  Kind        kind;
  int         count;
} Message;

static double
time_calls (const Message *m, int repeats, void *send, void *receive)
{
  double started = 0;
  for (int i = 0; i < WARMUP + repeats; i++) {
    if (i == WARMUP) {
      MPI_Barrier (MPI_COMM_WORLD);
      started = MPI_Wtime ();
    }
    switch (m->kind) {
    case ALLREDUCE_DOUBLES:
      MPI_Allreduce (MPI_IN_PLACE, send, m->count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
      break;
    case ALLREDUCE_FLOATS:
      MPI_Allreduce (MPI_IN_PLACE, send, m->count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      break;
    case ALLGATHER_BYTES:
      MPI_Allgather (send, m->count, MPI_BYTE, receive, m->count, MPI_BYTE, MPI_COMM_WORLD);
      break;
    }
  }
  return (MPI_Wtime () - started) / repeats;
}

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

int
main (int argc, char **argv)
{
  MPI_Init (&argc, &argv);
  int rank, size, repeats = 2000;
  MPI_Comm_rank (MPI_COMM_WORLD, &rank);
  MPI_Comm_size (MPI_COMM_WORLD, &size);
  for (int i = 1; i + 1 < argc; i++)
    if (strcmp (argv[i], "--repeats") == 0)
      repeats = atoi (argv[i + 1]);
  if (repeats < 1)
    repeats = 1;
  const Message messages[] = {
    { "allreduce 21 doubles (168 B): one meta-iteration, default job", ALLREDUCE_DOUBLES, 21 },
    { "allgather 32 B per rank: the θ check", ALLGATHER_BYTES, 32 },
    { "allreduce 89610 floats (358 KB): one training step's weight gradient", ALLREDUCE_FLOATS, 89610 },
  };
  double *send = calloc (89610, sizeof (double));
  unsigned char *receive = calloc ((size_t) size, 32);
  if (rank == 0)
    printf ("bench-allreduce: %d ranks, %d calls per round, %d rounds\n%-72s %12s %12s\n", size, repeats, ROUNDS,
            "message", "median us", "min us");
  for (size_t k = 0; k < sizeof messages / sizeof messages[0]; k++) {
    double per_call[ROUNDS];
    /* the large message takes a tenth of the calls: it is ~1000 times longer */
    int calls = messages[k].count > 1000 ? (repeats + 9) / 10 : repeats;
    for (int r = 0; r < ROUNDS; r++)
      per_call[r] = time_calls (&messages[k], calls, send, receive);
    qsort (per_call, ROUNDS, sizeof (double), compare_doubles);
    if (rank == 0)
      printf ("%-72s %12.2f %12.2f\n", messages[k].what, per_call[ROUNDS / 2] * 1e6, per_call[0] * 1e6);
  }
  free (send);
  free (receive);
  MPI_Finalize ();
  return 0;
}
