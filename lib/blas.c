/* Device arrays and GEMM dispatch (docs/architecture.md, the data path):
 * CLBlast on GPUs, OpenBLAS inside an OpenCL native kernel on CPU devices so
 * that the call stays ordered on the same in-order queue without a host sync.
 *
 * OpenBLAS is loaded here at run time (dlopen), not linked.
 * A DYNAMIC_ARCH OpenBLAS (Debian's) picks its kernel core in a library
 * constructor, before main() runs, from the CPU's family and model numbers;
 * on a CPU its table does not know (a 2-core AVX-512 Xeon that reports a
 * generic model) it falls back to Prescott (SSE3) kernels.
 * Linked, nothing the program does afterwards can change that. Loaded
 * here, the core is chosen first: if
 * OPENBLAS_CORETYPE is unset, it is set from the CPU's features (AVX-512
 * F+BW+VL+DQ+CD: SkylakeX; AVX2+FMA: Zen on AMD, Haswell otherwise; AVX:
 * Sandybridge) by drmad_prepare_environment() while the process has one
 * thread, or at the latest just before the dlopen. A user who set it keeps
 * the choice. Every OpenBLAS call of the library, the tests and the
 * benchmarks goes through the table of drmad_openblas(), so nothing loads
 * OpenBLAS earlier; drmad_blas_get_info() says which core runs and warns
 * (once, GLib's log) when it is older than the CPU allows.
 *
 * Why this mechanism, measured:
 * - the cost of a wrong core: sgemm 100x100x784, one thread, on a 2-core
 *   AMD EPYC (AVX2): 55-75 GFLOP/s with Zen or Haswell kernels, 17-20 with
 *   Prescott, 43 with Sandybridge (3-4x); on that 2-core AVX-512 Xeon:
 *   33 GFLOP/s with Prescott, 143 with SkylakeX, and the bench-step
 *   host-GEMM step 1473 us vs 494 us. bench-step on the EPYC:
 *   the table below.
 * - the cost of loading it this way: one dlopen of 4-8 ms on first use and
 *   one indirect call per GEMM (nothing measurable next to a 100x100x784
 *   GEMM of about 250 us; the table below).
 * - against the alternatives: re-executing the program with
 *   OPENBLAS_CORETYPE set works only for programs, not for a library inside
 *   someone else's process (the window, any C program using libdrmad); a
 *   start-up check of openblas_get_corename() against the CPU can only warn,
 *   since the kernels of a loaded OpenBLAS cannot be changed; BLIS (Debian
 *   libblis4) detects the CPU by its features but reached 95-100 GFLOP/s
 *   on that Xeon where OpenBLAS's SkylakeX kernels reach 143, and would be a
 *   second BLAS to install and keep in step.
 *
 *   bench/bench-step, us per step (device/host GEMM path / the plain C +
 *   OpenBLAS reference), OpenBLAS 1 thread, median of 3 interleaved runs on
 *   a 2-core AMD EPYC (AVX2) shared with another job (runs vary by 20 %):
 *                                              batch 100      batch 256
 *     linked, OPENBLAS_CORETYPE unset: Zen     956 / 1287    2137 / 2631
 *     linked, OPENBLAS_CORETYPE=Prescott      3077 / 3219    7277 / 8342
 *     loaded here, unset: Zen (drmad)          996 / 1308    2425 / 2849
 *     loaded here, =Prescott (the user)       3072 / 3213    7814 / 7512
 *   The same kernels run as fast either way; the wrong ones cost 3x here.
 *   (On this CPU OpenBLAS's own choice, Zen, is already right.)
 */
#include "blas.h"
#include "small-gemm.h"

#include <clblast_c.h>
#include <dlfcn.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#ifdef __x86_64__
#include <cpuid.h>
#endif

/* ---- OpenBLAS, loaded at run time ---- */

typedef enum { ISA_UNKNOWN, ISA_SSE, ISA_AVX, ISA_AVX2, ISA_AVX512 } Isa;
static const char *const isa_names[] = { "unknown", "sse", "avx", "avx2", "avx512" };

typedef struct {
  Isa         isa;           /* the widest the CPU and the OS support */
  const char *core;          /* the OpenBLAS core for it; NULL: leave the choice to OpenBLAS */
  char        features[128]; /* the features looked at that the CPU has */
  char        model[49];     /* the brand string */
} Cpu;

static void
cpu_detect (Cpu *cpu)
{
  memset (cpu, 0, sizeof *cpu);
#ifdef __x86_64__
  /* libgcc reports AVX and AVX-512 only where the OS saves their registers (XGETBV). */
  __builtin_cpu_init ();
  const struct { const char *name; gboolean has; } features[] = {
    { "sse3", __builtin_cpu_supports ("sse3") },
    { "avx", __builtin_cpu_supports ("avx") },
    { "fma", __builtin_cpu_supports ("fma") },
    { "avx2", __builtin_cpu_supports ("avx2") },
    { "avx512f", __builtin_cpu_supports ("avx512f") },
    { "avx512cd", __builtin_cpu_supports ("avx512cd") },
    { "avx512bw", __builtin_cpu_supports ("avx512bw") },
    { "avx512dq", __builtin_cpu_supports ("avx512dq") },
    { "avx512vl", __builtin_cpu_supports ("avx512vl") },
  };
  for (guint i = 0; i < G_N_ELEMENTS (features); i++)
    if (features[i].has) {
      if (cpu->features[0])
        g_strlcat (cpu->features, " ", sizeof cpu->features);
      g_strlcat (cpu->features, features[i].name, sizeof cpu->features);
    }
  gboolean avx = features[1].has, fma = features[2].has, avx2 = features[3].has;
  gboolean avx512 = features[4].has && features[5].has && features[6].has && features[7].has && features[8].has;
#ifdef DRMAD_TEST_HOOKS
  if (!drmad_cpu_avx512 ()) {   /* DRMAD_INJECT_NO_AVX512: a CPU without it, features and all */
    avx512 = FALSE;
    char *at = strstr (cpu->features, " avx512");
    if (at)
      *at = '\0';
  }
#endif
  if (avx512) {
    cpu->isa = ISA_AVX512;
    cpu->core = "SkylakeX";
  } else if (avx2 && fma) {
    cpu->isa = ISA_AVX2;
    cpu->core = __builtin_cpu_is ("amd") ? "Zen" : "Haswell";
  } else if (avx) {
    cpu->isa = ISA_AVX;
    cpu->core = "Sandybridge";
  } else {
    cpu->isa = ISA_SSE;  /* x86-64's baseline: OpenBLAS's own choice is as good as any */
  }
  guint regs[12];
  if (__get_cpuid_max (0x80000000, NULL) >= 0x80000004) {
    for (guint i = 0; i < 3; i++)
      __get_cpuid (0x80000002 + i, &regs[4 * i], &regs[4 * i + 1], &regs[4 * i + 2], &regs[4 * i + 3]);
    memcpy (cpu->model, regs, 48);
    cpu->model[48] = '\0';
    g_strstrip (cpu->model);
  }
#endif
}

/* The instruction set an OpenBLAS core's kernels use (names as
 * openblas_get_corename() gives them, x86-64 only). */
static Isa
core_isa (const char *core)
{
  static const struct { const char *name; Isa isa; } cores[] = {
    { "SkylakeX", ISA_AVX512 }, { "Cooperlake", ISA_AVX512 }, { "SapphireRapids", ISA_AVX512 },
    { "Haswell", ISA_AVX2 }, { "Zen", ISA_AVX2 }, { "Excavator", ISA_AVX2 }, { "Steamroller", ISA_AVX2 },
    { "Sandybridge", ISA_AVX }, { "Bulldozer", ISA_AVX }, { "Piledriver", ISA_AVX },
    { "Prescott", ISA_SSE }, { "Core2", ISA_SSE }, { "Penryn", ISA_SSE }, { "Dunnington", ISA_SSE },
    { "Nehalem", ISA_SSE }, { "Atom", ISA_SSE }, { "Athlon", ISA_SSE }, { "Opteron", ISA_SSE },
    { "Opteron_SSE3", ISA_SSE }, { "Barcelona", ISA_SSE }, { "Bobcat", ISA_SSE }, { "Nano", ISA_SSE },
    { "Katmai", ISA_SSE }, { "Coppermine", ISA_SSE }, { "Northwood", ISA_SSE }, { "Banias", ISA_SSE },
  };
  for (guint i = 0; core && i < G_N_ELEMENTS (cores); i++)
    if (g_ascii_strcasecmp (core, cores[i].name) == 0)
      return cores[i].isa;
  return ISA_UNKNOWN;
}

#define CORETYPE "OPENBLAS_CORETYPE"
/* Set beside OPENBLAS_CORETYPE when the library chose it, so that a child
 * process that inherits both (the tests run the drmad program) does not take
 * the library's choice for the user's. */
#define CORETYPE_MARK "DRMAD_CHOSEN_CORETYPE"

/* The files to load: $DRMAD_OPENBLAS, else the runtime's soname, else the
 * development link. */
static void
library_names (const char *names[3])
{
  const char *chosen = g_getenv ("DRMAD_OPENBLAS");
  names[0] = chosen && *chosen ? chosen : "libopenblas.so.0";
  names[1] = chosen && *chosen ? NULL : "libopenblas.so";
  names[2] = NULL;
}

/* Who chose the core, made once: by drmad_prepare_environment(), else just
 * before the dlopen. */
typedef struct {
  gboolean         made;
  gboolean         loaded_before;  /* OpenBLAS was in the process already: its constructor has chosen */
  DrmadBlasChooser chooser;
  char            *value;          /* OPENBLAS_CORETYPE as the user set it, or the library's choice */
} Choice;

static Choice choice;
G_LOCK_DEFINE_STATIC (choice);

static Choice
make_choice (const Cpu *cpu)
{
  G_LOCK (choice);
  if (!choice.made) {
    const char *names[3];
    library_names (names);
    for (guint i = 0; names[i] && !choice.loaded_before; i++) {
      void *handle = dlopen (names[i], RTLD_NOW | RTLD_NOLOAD);
      if (handle) {
        choice.loaded_before = TRUE;
        dlclose (handle);  /* the reference RTLD_NOLOAD took */
      }
    }
    const char *set = g_getenv (CORETYPE), *mark = g_getenv (CORETYPE_MARK);
    if (set && *set && g_strcmp0 (set, mark) != 0) {
      choice.chooser = DRMAD_BLAS_CHOSEN_BY_USER;
      choice.value = g_strdup (set);
    } else if (choice.loaded_before) {
      /* Too late to choose; OpenBLAS's constructor read what was there. */
      choice.chooser = set && *set ? DRMAD_BLAS_CHOSEN_BY_DRMAD : DRMAD_BLAS_CHOSEN_BY_OPENBLAS;
      choice.value = set && *set ? g_strdup (set) : NULL;
    } else if (cpu->core) {
      if (g_strcmp0 (set, cpu->core) != 0 || g_strcmp0 (mark, cpu->core) != 0) {
        g_setenv (CORETYPE, cpu->core, TRUE);
        g_setenv (CORETYPE_MARK, cpu->core, TRUE);
      }
      choice.chooser = DRMAD_BLAS_CHOSEN_BY_DRMAD;
      choice.value = g_strdup (cpu->core);
    } else {
      choice.chooser = DRMAD_BLAS_CHOSEN_BY_OPENBLAS;
    }
    choice.made = TRUE;
  }
  Choice made = choice;
  G_UNLOCK (choice);
  return made;
}

/* The threads OpenBLAS starts when it loads: the user's choice
 * (OPENBLAS_NUM_THREADS, else GOTO_NUM_THREADS, else OMP_NUM_THREADS, as
 * OpenBLAS reads them), else the threads drmad's large GEMMs use, then set
 * in OPENBLAS_NUM_THREADS for OpenBLAS's constructor to read. Set by
 * drmad_prepare_environment(), before any thread runs; a program that did
 * not call it has it set just before the dlopen (glibc's setenv() is then
 * the race drmad_prepare_environment() is there to avoid). */
static int
openblas_start_threads (void)
{
  for (const char *const *name = (const char *const[]){ "OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS",
                                                        "OMP_NUM_THREADS", NULL }; *name; name++) {
    const char *given = g_getenv (*name);
    if (given)
      return MAX (atoi (given), 1);
  }
  int threads = drmad_blas_get_large_threads ();
  char text[16];
  g_snprintf (text, sizeof text, "%d", threads);
  g_setenv ("OPENBLAS_NUM_THREADS", text, TRUE);
  return threads;
}

void
drmad_blas_prepare_environment (void)
{
  Cpu cpu;
  cpu_detect (&cpu);
  make_choice (&cpu);
  openblas_start_threads ();
}

/* Everything about the loaded library; made once, kept for the process. */
typedef struct {
  DrmadOpenblas api;
  DrmadBlasInfo info;
  Cpu           cpu;
  GError       *error;   /* why it could not be loaded */
} Openblas;

/* What OpenBLAS maps: a GEMM buffer per thread (BUFFER_SIZE, 32 << 22 on
 * x86-64), and the library itself (Debian's DYNAMIC_ARCH build: about 40 MB
 * with its kernels for every core), rounded up. */
#define OPENBLAS_BUFFER_BYTES ((gsize) 128 << 20)
#define OPENBLAS_LIBRARY_BYTES ((gsize) 64 << 20)
/* Large enough for OpenBLAS's buffered path, not its small-matrix kernels. */
#define WARM_UP_SIZE 128

/* dlopen()s the first of @names (NULL-terminated) that loads, its name in
 * @opened; each failure's dlerror() appended to @failures. */
static void *
open_first (const char *const *names, const char **opened, GString *failures)
{
  for (guint i = 0; names[i]; i++) {
    void *handle = dlopen (names[i], RTLD_NOW | RTLD_LOCAL);
    if (handle) {
      *opened = names[i];
      return handle;
    }
    g_string_append_printf (failures, "%s%s", failures->len ? "; " : "", dlerror ());
  }
  return NULL;
}

/* drmad_blas_set_notice (FALSE): the core's warning is kept in the info, not logged. */
static gint notice_unsaid;

static gpointer
load_openblas (gpointer data)
{
  Openblas *blas = g_new0 (Openblas, 1);
  cpu_detect (&blas->cpu);
  Choice made = make_choice (&blas->cpu);

  const char *names[3];
  library_names (names);
  /* OpenBLAS starts a thread per core when it loads, each mapping a GEMM
   * buffer of 128 MiB (Debian's 0.3.21), and retries a mapping that fails
   * forever: under an address-space limit (ulimit -v) its idle second
   * thread spun at 100 % CPU for the whole run and the program hung at
   * exit, joining it. It gets the threads drmad's large GEMMs use (one
   * unless DRMAD_BLAS_THREADS says more; openblas_set_num_threads() starts
   * more when asked), unless the user chose; under a limit, their buffers
   * must fit first. */
  int threads = openblas_start_threads ();
  struct rlimit limit;
  gboolean limited = getrlimit (RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY;
  gsize needed = (gsize) threads * OPENBLAS_BUFFER_BYTES + OPENBLAS_LIBRARY_BYTES;
  if (limited) {
    void *probe = mmap (NULL, needed, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (probe == MAP_FAILED) {
      blas->error = g_error_new (DRMAD_ERROR, DRMAD_ERROR_OUT_OF_MEMORY,
                                 "OpenBLAS, which runs the GEMMs of CPU devices, needs about %" G_GSIZE_FORMAT
                                 " MiB of address space (128 MiB of buffer for each of its %d thread%s, and the "
                                 "library), and the process's address-space limit (ulimit -v, %" G_GUINT64_FORMAT
                                 " KiB) leaves less than that: raise the limit", needed >> 20, threads,
                                 threads == 1 ? "" : "s", (guint64) limit.rlim_cur / 1024);
      return blas;
    }
    munmap (probe, needed);
  }
  g_autoptr (GString) failures = g_string_new (NULL);
  const char *name = NULL;
  void *handle = open_first (names, &name, failures);
  if (!handle) {
    blas->error = g_error_new (DRMAD_ERROR, DRMAD_ERROR_NOT_FOUND,
                               "cannot load OpenBLAS, which runs the GEMMs of CPU devices (%s): "
                               "install the Debian package libopenblas0", failures->str);
    return blas;
  }
  blas->info.library = g_strdup (name);
  const struct { const char *name; void **slot; } symbols[] = {
    { "cblas_sgemm", (void **) &blas->api.sgemm },
    { "cblas_dgemm", (void **) &blas->api.dgemm },
    { "openblas_set_num_threads", (void **) &blas->api.set_num_threads },
    { "openblas_get_num_threads", (void **) &blas->api.get_num_threads },
    { "openblas_get_num_procs", (void **) &blas->api.get_num_procs },
    { "openblas_get_corename", (void **) &blas->api.get_corename },
    { "openblas_get_config", (void **) &blas->api.get_config },
  };
  for (guint i = 0; i < G_N_ELEMENTS (symbols); i++)
    if (!(*symbols[i].slot = dlsym (handle, symbols[i].name))) {
      blas->error = g_error_new (DRMAD_ERROR, DRMAD_ERROR_NOT_FOUND,
                                 "%s has no function %s: it is not OpenBLAS; install the Debian package "
                                 "libopenblas0", blas->info.library, symbols[i].name);
      return blas;
    }

  if (limited) {
    /* Map the calling threads' buffer now, while it fits: a GEMM's later
     * mapping would retry forever once the run's arrays took the room. */
    g_autofree float *a = g_new0 (float, WARM_UP_SIZE * WARM_UP_SIZE);
    g_autofree float *c = g_new0 (float, WARM_UP_SIZE * WARM_UP_SIZE);
    blas->api.sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, WARM_UP_SIZE, WARM_UP_SIZE, WARM_UP_SIZE, 1, a,
                     WARM_UP_SIZE, a, WARM_UP_SIZE, 0, c, WARM_UP_SIZE);
  }

  DrmadBlasInfo *info = &blas->info;
  const char *config = blas->api.get_config ();
  info->config = g_strdup (config ? config : "");
  g_auto (GStrv) words = g_strsplit (info->config, " ", 3);
  info->version = words[0] && words[1] ? g_strjoin (" ", words[0], words[1], NULL) : g_strdup (info->config);
  const char *core = blas->api.get_corename ();
  info->core = g_strdup (core ? core : "unknown");
  Isa isa = core_isa (info->core);
  /* OpenBLAS's AVX-512 cores have sgemm kernels for small matrices, when
   * it was built with them (SMALL_MATRIX_OPT: the core's kernel is there) */
  g_autofree char *core_upper = g_ascii_strup (info->core, -1);
  g_autofree char *small_kernel = g_strconcat ("sgemm_small_kernel_nn_", core_upper, NULL);
  blas->api.small_kernels = isa == ISA_AVX512 && dlsym (handle, small_kernel) != NULL;
  info->core_isa = isa_names[isa];
  info->cpu_isa = isa_names[blas->cpu.isa];
  info->cpu_features = blas->cpu.features;
  info->cpu_model = blas->cpu.model;
  info->chosen_by = made.chooser;
  info->core_older_than_cpu = isa != ISA_UNKNOWN && blas->cpu.isa != ISA_UNKNOWN && isa < blas->cpu.isa;
  if (!info->core_older_than_cpu)
    return blas;

  g_autofree char *why = NULL;
  if (made.chooser == DRMAD_BLAS_CHOSEN_BY_USER)
    why = g_strdup_printf (CORETYPE "=%s was set by the user; unset it to let drmad choose %s",
                           made.value, blas->cpu.core);
  else if (made.loaded_before)
    why = g_strdup_printf ("%s was loaded before drmad could choose its kernels (the program or a library "
                           "links it); start the program with " CORETYPE "=%s",
                           info->library, blas->cpu.core);
  else if (made.chooser == DRMAD_BLAS_CHOSEN_BY_DRMAD)
    why = g_strdup_printf ("drmad set " CORETYPE "=%s but %s runs %s: it may lack those kernels",
                           made.value, info->library, info->core);
  else
    why = g_strdup_printf ("OpenBLAS chose them; start the program with " CORETYPE "=%s", blas->cpu.core);
  /* how much slower: Prescott's SSE kernels against AVX-512 ones 3–4×
   * (Xeon), Haswell's AVX2 ones 1.5–1.7× (Zen 5): docs/benchmarks.md */
  const char *own = drmad_host_step_gemm_kernels ();
  g_autofree char *not_step = own ? g_strdup_printf (" (not the host step's float32 GEMMs: drmad's own %s kernels "
                                                     "run those)", own) : g_strdup ("");
  info->warning = g_strdup_printf ("the BLAS kernels %s (%s) are older than this CPU allows (%s%s%s), "
                                   "and its GEMMs run %s%s: %s", info->core, info->core_isa,
                                   info->cpu_isa, info->cpu_model[0] ? ", " : "", info->cpu_model,
                                   blas->cpu.isa - isa > 1 ? "several times slower" : "up to about twice as slow",
                                   not_step, why);
  /* Once, from here, unless the program keeps it to itself; the user's own
   * choice is not an error. */
  gboolean say = !g_atomic_int_get (&notice_unsaid);
  if (say && made.chooser == DRMAD_BLAS_CHOSEN_BY_USER)
    g_message ("%s", info->warning);
  else if (say)
    g_warning ("%s", info->warning);
  return blas;
}

static Openblas *
openblas (void)
{
  static GOnce once = G_ONCE_INIT;
  return g_once (&once, load_openblas, NULL);
}

const DrmadOpenblas *
drmad_openblas (GError **error)
{
  Openblas *blas = openblas ();
  if (blas->error) {
    g_propagate_error (error, g_error_copy (blas->error));
    return NULL;
  }
  return &blas->api;
}

void
drmad_blas_set_notice (gboolean say)
{
  g_atomic_int_set (&notice_unsaid, !say);
}

const DrmadBlasInfo *
drmad_blas_get_info (GError **error)
{
  Openblas *blas = openblas ();
  if (blas->error) {
    g_propagate_error (error, g_error_copy (blas->error));
    return NULL;
  }
  return &blas->info;
}

const char *
drmad_blas_chooser_name (DrmadBlasChooser chooser)
{
  switch (chooser) {
  case DRMAD_BLAS_CHOSEN_BY_DRMAD:
    return "drmad";
  case DRMAD_BLAS_CHOSEN_BY_USER:
    return "the user (" CORETYPE ")";
  case DRMAD_BLAS_CHOSEN_BY_OPENBLAS:
  default:
    return "OpenBLAS";
  }
}

char *
drmad_blas_info_describe (const DrmadBlasInfo *info)
{
  return g_strdup_printf ("%s (%s), kernels %s (%s) chosen by %s; CPU %s: %s (widest %s)",
                          info->version, info->library, info->core, info->core_isa,
                          drmad_blas_chooser_name (info->chosen_by),
                          info->cpu_model[0] ? info->cpu_model : "(model unknown)",
                          info->cpu_features[0] ? info->cpu_features : "no features known", info->cpu_isa);
}

/* ---- CLBlast, loaded at run time ----
 * Only the GPU path runs it, so it is loaded on the first CLBlast GEMM: a
 * process on a CPU device (host GEMMs) never maps it. Linked, its
 * constructors and relocations alone kept 3.1 MiB of it resident in every
 * drmad process (/proc/PID/smaps). */

typedef struct {
  __typeof__ (CLBlastSgemm) *sgemm;
  __typeof__ (CLBlastDgemm) *dgemm;
  __typeof__ (CLBlastClearCache) *clear_cache;   /* NULL where the library has none */
  GError *error;   /* why it could not be loaded */
} Clblast;

/* Every call into CLBlast, and the count below, under one lock: CLBlast
 * 1.5.3 builds a kernel's tuning database on the first call that needs it,
 * and two threads doing so at once (two devices, drmad.h's threads) read
 * memory the other had freed (AddressSanitizer, /blas/clblast-threads);
 * and its cache is emptied only while no call is inside it and no device
 * alive has run one (a device counted and its first call made in one step). */
static GMutex clblast_lock;
/* Devices alive that have run a CLBlast GEMM (DrmadDevice.ran_clblast). */
static guint clblast_devices = 0;

static gpointer
load_clblast (gpointer data)
{
  Clblast *clblast = g_new0 (Clblast, 1);
  /* The runtime's soname, else the development link. */
  const char *names[] = { "libclblast.so.1", "libclblast.so", NULL };
  g_autoptr (GString) failures = g_string_new (NULL);
  const char *name = NULL;
  void *handle = open_first (names, &name, failures);
  if (!handle) {
    clblast->error = g_error_new (DRMAD_ERROR, DRMAD_ERROR_NOT_FOUND,
                                  "cannot load CLBlast, which runs the GEMMs of devices without native kernels "
                                  "(%s): install the Debian package libclblast1", failures->str);
    return clblast;
  }
  clblast->sgemm = (__typeof__ (CLBlastSgemm) *) dlsym (handle, "CLBlastSgemm");
  clblast->dgemm = (__typeof__ (CLBlastDgemm) *) dlsym (handle, "CLBlastDgemm");
  clblast->clear_cache = (__typeof__ (CLBlastClearCache) *) dlsym (handle, "CLBlastClearCache");
  if (!clblast->sgemm || !clblast->dgemm)
    clblast->error = g_error_new (DRMAD_ERROR, DRMAD_ERROR_NOT_FOUND,
                                  "%s has no function CLBlastSgemm or CLBlastDgemm: install the Debian package "
                                  "libclblast1", name);
  return clblast;
}

static const Clblast *
clblast_load (void)
{
  static GOnce once = G_ONCE_INIT;
  return g_once (&once, load_clblast, NULL);
}

/* CLBlast keeps each program it compiles, for the process's life, in a
 * cache keyed by the OpenCL context, and each program holds its context:
 * a program that opened a device per job (the window on every Start, a
 * library caller's loop) kept every closed device's context and programs,
 * 1.5 MB of heap a job here (docs/reliability.md, "Long-lived use").
 * CLBlast can only empty the whole cache, so it is emptied when the last
 * device alive that ran its GEMMs goes: no other device's programs are
 * dropped under it, and the next device compiles afresh, as a first
 * device does. */
void
drmad_clblast_device_freed (DrmadDevice *device)
{
  if (!device->ran_clblast)   /* read unlocked: every call on @device came before its last unref */
    return;
  const Clblast *clblast = clblast_load ();
  g_mutex_lock (&clblast_lock);
  if (--clblast_devices == 0 && clblast->clear_cache)
    clblast->clear_cache ();
  g_mutex_unlock (&clblast_lock);
}

/* ---- device arrays ---- */

/* The host storage of an array on a device that runs native kernels: a
 * mapping of its own when large, so that it goes back to the system when
 * freed whatever glibc's mmap threshold is (the reverse pass's checkpoints
 * and segment states, the data), else an aligned heap block. Zero either way. */
typedef struct _DrmadStoragePool DrmadStoragePool;

typedef struct {
  gpointer          data;
  gsize             length;   /* of the mapping; 0 for a heap block */
  gint              users;    /* the buffers on it (drmad_buffers_new: several), and its maker until done */
  DrmadStoragePool *pool;     /* drmad_buffers_new's mappings: where it goes when the last user is done */
} HostStorage;

/* A device's kept mappings (drmad_buffers_new): the exact method stores
 * tens of MB to a GB of states each meta-iteration, and mapping them afresh
 * cost more than the work on them (first-touch page faults, 36 % of an
 * exact1 pass of 784-100-100-10 in clear_page on a 2-core VM,
 * docs/benchmarks.md). Kept mappings are MADV_FREE: the system may take
 * their pages back under memory pressure, and otherwise the next pass finds
 * them in place. Only large ones are kept: the default job's few MB of
 * segment states, kept, stayed resident through the next pass's training
 * run and pushed its peak RSS from 145 to 154 MiB (target 150, issue 12),
 * for a saving of a few percent. */
#define POOL_KEPT 8                      /* mappings kept at most: a pass's kinds of stored states (6) */
#define POOL_MIN  (64 * 1024 * 1024)     /* the smallest mapping kept */

struct _DrmadStoragePool {
  gint         ref_count;   /* the device and each storage it made */
  GMutex       lock;
  HostStorage *kept[POOL_KEPT];
};

#define HOST_MAPPING_MIN (128 * 1024)
#define HOST_HUGE_MIN    (4 * 1024 * 1024)
#define HOST_HUGE_PAGE   (2 * 1024 * 1024)

static HostStorage *
host_storage_new (gsize blocks)
{
  gsize bytes = blocks * 128;
  if (bytes >= HOST_MAPPING_MIN) {
    /* Large arrays (the data above all, whose minibatch rows are read at
     * random) start on a 2 MiB boundary and ask for 2 MiB pages, where the
     * kernel allows them: a row then seldom costs a page walk. */
    gboolean huge = bytes >= HOST_HUGE_MIN;
    gsize slack = huge ? HOST_HUGE_PAGE : 0;
    char *mapped = mmap (NULL, bytes + slack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped != MAP_FAILED) {
      if (huge) {
        gsize head = (HOST_HUGE_PAGE - (guintptr) mapped % HOST_HUGE_PAGE) % HOST_HUGE_PAGE;
        if (head)
          munmap (mapped, head);
        if (slack - head)
          munmap (mapped + head + bytes, slack - head);
        mapped += head;
#ifdef MADV_HUGEPAGE
        madvise (mapped, bytes, MADV_HUGEPAGE);
#endif
      }
      HostStorage *storage = g_new (HostStorage, 1);
      *storage = (HostStorage) { .data = mapped, .length = bytes, .users = 1 };
      return storage;
    }
  }
  gpointer data = g_aligned_alloc0 (blocks, 128, 128);
  if (!data)
    return NULL;
  HostStorage *storage = g_new (HostStorage, 1);
  *storage = (HostStorage) { .data = data, .length = 0, .users = 1 };
  return storage;
}

static void
host_storage_free (HostStorage *storage)
{
  if (storage->length)
    munmap (storage->data, storage->length);
  else
    g_aligned_free (storage->data);
  g_free (storage);
}

void
drmad_storage_pool_trim (DrmadStoragePool *pool)
{
  if (!pool)
    return;
  HostStorage *kept[POOL_KEPT];
  g_mutex_lock (&pool->lock);
  for (guint i = 0; i < POOL_KEPT; i++)
    kept[i] = g_steal_pointer (&pool->kept[i]);
  g_mutex_unlock (&pool->lock);
  for (guint i = 0; i < POOL_KEPT; i++)
    if (kept[i])
      host_storage_free (kept[i]);
}

void
drmad_storage_pool_unref (DrmadStoragePool *pool)
{
  if (!pool || !g_atomic_int_dec_and_test (&pool->ref_count))
    return;
  drmad_storage_pool_trim (pool);
  g_mutex_clear (&pool->lock);
  g_free (pool);
}

/* Drops one user of @storage; after the last, a mapping of a pool is kept
 * there (in place of the smallest kept one when all places are taken),
 * anything else freed. */
static void
host_storage_release (HostStorage *storage)
{
  if (!g_atomic_int_dec_and_test (&storage->users))
    return;
  DrmadStoragePool *pool = g_steal_pointer (&storage->pool);
  if (pool && storage->length >= POOL_MIN) {
    HostStorage *drop = storage;
#ifdef MADV_FREE
    madvise (storage->data, storage->length, MADV_FREE);
#endif
    g_mutex_lock (&pool->lock);
    guint place = 0;
    for (guint i = 1; i < POOL_KEPT; i++)   /* an empty place, else the smallest */
      if (pool->kept[place] && (!pool->kept[i] || pool->kept[i]->length < pool->kept[place]->length))
        place = i;
    if (!pool->kept[place] || pool->kept[place]->length < storage->length) {
      drop = pool->kept[place];
      pool->kept[place] = storage;
    }
    g_mutex_unlock (&pool->lock);
    storage = drop;
  }
  if (storage)
    host_storage_free (storage);
  drmad_storage_pool_unref (pool);
}

/* A mapping of @bytes for drmad_buffers_new: the smallest kept one that is
 * large enough and not more than twice as large, else a new one. Its
 * contents are whatever the last user left. */
static HostStorage *
pool_storage (DrmadDevice *device, gsize blocks)
{
  gsize bytes = blocks * 128;
  g_mutex_lock (&device->lock);
  if (!device->storage_pool) {
    device->storage_pool = g_new0 (DrmadStoragePool, 1);
    device->storage_pool->ref_count = 1;
    g_mutex_init (&device->storage_pool->lock);
  }
  DrmadStoragePool *pool = device->storage_pool;
  g_atomic_int_inc (&pool->ref_count);
  g_mutex_unlock (&device->lock);
  g_mutex_lock (&pool->lock);
  HostStorage *storage = NULL;
  guint fit = POOL_KEPT;
  for (guint i = 0; i < POOL_KEPT; i++) {
    HostStorage *kept = pool->kept[i];
    if (kept && kept->length >= bytes && kept->length / 2 <= bytes
        && (fit == POOL_KEPT || kept->length < pool->kept[fit]->length))
      fit = i;
  }
  if (fit < POOL_KEPT)
    storage = g_steal_pointer (&pool->kept[fit]);
  g_mutex_unlock (&pool->lock);
  if (storage)
    storage->users = 1;
  else
    storage = host_storage_new (blocks);
  if (storage && storage->length)
    storage->pool = pool;
  else
    drmad_storage_pool_unref (pool);   /* a heap block: freed, never kept */
  return storage;
}

static void CL_CALLBACK
free_host_storage (cl_mem mem, void *storage)
{
  host_storage_release (storage);
}

/* The size check of a device array of @n numbers: its bytes, or 0 with @error set. */
static gsize
array_bytes (DrmadDevice *device, gsize n, gsize elem_size, GError **error)
{
  gsize bytes = MAX (n, 1) * elem_size;
  if (bytes / elem_size != MAX (n, 1) || bytes > device->info.max_alloc_bytes) {
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_TOO_LARGE,
                 "an array of %" G_GSIZE_FORMAT " numbers (%" G_GSIZE_FORMAT " bytes) exceeds the "
                 "largest allocation %s allows (%" G_GUINT64_FORMAT " bytes)",
                 n, bytes, device->info.name, device->info.max_alloc_bytes);
    return 0;
  }
  return bytes;
}

/* A device array of @bytes on @host (a part of @storage, which it then also
 * uses), or owned by the device when @host is NULL. */
static DrmadBuffer *
buffer_wrap (DrmadDevice *device, gsize n, gsize elem_size, gsize bytes, HostStorage *storage, gpointer host,
             GError **error)
{
  cl_int status;
  cl_mem mem = clCreateBuffer (device->context, CL_MEM_READ_WRITE | (host ? CL_MEM_USE_HOST_PTR : 0),
                               bytes, host, &status);
  if (!drmad_cl_check (status, "clCreateBuffer", error))
    return NULL;
  /* Commands still queued may use the storage after drmad_buffer_free():
   * the runtime frees it once the last of them has released the buffer. */
  if (storage) {
    g_atomic_int_inc (&storage->users);
    if (!drmad_cl_check (clSetMemObjectDestructorCallback (mem, free_host_storage, storage),
                         "clSetMemObjectDestructorCallback", error)) {
      clReleaseMemObject (mem);
      host_storage_release (storage);
      return NULL;
    }
  }
  DrmadBuffer *buffer = g_new0 (DrmadBuffer, 1);
  buffer->host = host;
  buffer->device = drmad_device_ref (device);
  buffer->mem = mem;
  buffer->n = n;
  buffer->elem_size = elem_size;
  drmad_device_account (device, bytes);
  return buffer;
}

static void
no_host_memory (gsize bytes, GError **error)
{
  g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_OUT_OF_MEMORY,
               "no host memory for %" G_GSIZE_FORMAT " bytes of arrays", bytes);
}

DrmadBuffer *
drmad_buffer_new (DrmadDevice *device, gsize n, gsize elem_size, GError **error)
{
  gsize bytes = array_bytes (device, n, elem_size, error);
  if (!bytes)
    return NULL;
  if (!device->info.native_kernels)
    return buffer_wrap (device, n, elem_size, bytes, NULL, NULL, error);
  /* PoCL fills and copies in aligned chunks as if it had allocated the
   * storage itself: give it 128-byte alignment and whole 128-byte blocks. */
  gsize blocks = (bytes + 127) / 128;
  HostStorage *storage = blocks < G_MAXSIZE / 128 ? host_storage_new (blocks) : NULL;
  if (!storage) {
    no_host_memory (bytes, error);
    return NULL;
  }
  DrmadBuffer *buffer = buffer_wrap (device, n, elem_size, bytes, storage, storage->data, error);
  host_storage_release (storage);
  return buffer;
}

GPtrArray *
drmad_buffers_new (DrmadDevice *device, guint count, gsize n, gsize elem_size, GError **error)
{
  g_autoptr (GPtrArray) buffers = g_ptr_array_new_full (count, (GDestroyNotify) drmad_buffer_free);
  gsize bytes = array_bytes (device, n, elem_size, error);
  if (!bytes)
    return NULL;
  gsize blocks = (bytes + 127) / 128;
  HostStorage *storage = NULL;
  if (device->info.native_kernels && count > 0) {
    storage = blocks < G_MAXSIZE / 128 / count ? pool_storage (device, blocks * count) : NULL;
    if (!storage) {
      no_host_memory (blocks * 128 * count, error);
      return NULL;
    }
  }
  for (guint i = 0; i < count; i++) {
    DrmadBuffer *buffer = buffer_wrap (device, n, elem_size, bytes, storage,
                                       storage ? (char *) storage->data + (gsize) i * blocks * 128 : NULL, error);
    if (!buffer)
      break;
    g_ptr_array_add (buffers, buffer);
  }
  if (storage)
    host_storage_release (storage);
  return buffers->len == count ? g_steal_pointer (&buffers) : NULL;
}

void
drmad_buffer_free (DrmadBuffer *buffer)
{
  if (!buffer)
    return;
  drmad_device_account (buffer->device, -(gint64) (MAX (buffer->n, 1) * buffer->elem_size));
  /* Native kernels (host GEMMs, lib/net-host.c) reach host storage by plain
   * pointers, so the runtime does not hold the buffer for them as it does
   * for kernel arguments: let whatever is queued finish first. */
  if (buffer->host)
    clFinish (buffer->device->queue);
  clReleaseMemObject (buffer->mem);
  drmad_device_unref (buffer->device);
  g_free (buffer);
}

gboolean
drmad_buffer_write (DrmadBuffer *buffer, gsize offset_bytes, gsize bytes, const void *data, GError **error)
{
  return drmad_cl_check (clEnqueueWriteBuffer (buffer->device->queue, buffer->mem, CL_TRUE,
                                               offset_bytes, bytes, data, 0, NULL, NULL),
                         "clEnqueueWriteBuffer", error);
}

gboolean
drmad_buffer_read (DrmadBuffer *buffer, gsize offset_bytes, gsize bytes, void *data, GError **error)
{
  return drmad_cl_check (clEnqueueReadBuffer (buffer->device->queue, buffer->mem, CL_TRUE,
                                              offset_bytes, bytes, data, 0, NULL, NULL),
                         "clEnqueueReadBuffer", error);
}

gboolean
drmad_buffer_write_doubles (DrmadBuffer *buffer, gsize offset, gsize n, const double *values, GError **error)
{
  if (buffer->elem_size == sizeof (double))
    return drmad_buffer_write (buffer, offset * sizeof (double), n * sizeof (double), values, error);
  g_autofree float *floats = g_new (float, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    floats[i] = values[i];
  return drmad_buffer_write (buffer, offset * sizeof (float), n * sizeof (float), floats, error);
}

gboolean
drmad_buffer_read_doubles (DrmadBuffer *buffer, gsize offset, gsize n, double *values, GError **error)
{
  if (buffer->elem_size == sizeof (double))
    return drmad_buffer_read (buffer, offset * sizeof (double), n * sizeof (double), values, error);
  /* The floats into the first half of @values, widened from the last back
   * (double i takes the bytes of floats 2i and 2i + 1, both read by then):
   * no second array, which at every step of a reverse pass was a block
   * mapped and unmapped (glibc's fixed mmap threshold, environment.c). */
  if (!drmad_buffer_read (buffer, offset * sizeof (float), n * sizeof (float), values, error))
    return FALSE;
  for (gsize i = n; i-- > 0;) {
    float f;
    memcpy (&f, (const char *) values + i * sizeof (float), sizeof f);
    values[i] = f;
  }
  return TRUE;
}

gboolean
drmad_buffer_zero (DrmadBuffer *buffer, GError **error)
{
  static const guint64 zero = 0;
  return drmad_cl_check (clEnqueueFillBuffer (buffer->device->queue, buffer->mem, &zero,
                                              buffer->elem_size, 0, buffer->n * buffer->elem_size,
                                              0, NULL, NULL),
                         "clEnqueueFillBuffer", error);
}

gboolean
drmad_buffer_copy (DrmadBuffer *dst, const DrmadBuffer *src, GError **error)
{
  g_return_val_if_fail (dst->n * dst->elem_size >= src->n * src->elem_size, FALSE);
  return drmad_cl_check (clEnqueueCopyBuffer (dst->device->queue, src->mem, dst->mem, 0, 0,
                                              src->n * src->elem_size, 0, NULL, NULL),
                         "clEnqueueCopyBuffer", error);
}

/* The native kernel's argument block, copied by the runtime; the pointers
 * are the buffers' own host storage (see DrmadBuffer). */
typedef struct {
  const DrmadOpenblas *blas;
  void  *a, *b, *c;
  gsize  a_offset, b_offset, c_offset, lda, ldb, ldc, m, n, k;
  double alpha, beta;
  int    transpose_a, transpose_b, fp64;
} HostGemmArgs;

/* OpenBLAS threads for one host GEMM: one below LARGE_GEMM_WORK
 * multiply-adds, large_gemm_threads (DRMAD_BLAS_THREADS, default 1) from
 * there. Measured on 2 cores: a second thread makes a 100×784×100 sgemm
 * 1.2–1.35× faster on its own, and made 100×100×100 no faster and the
 * 784-50-50-50-10 meta-iteration (50×784×50, 2 Mi) 20 % slower. */
#define LARGE_GEMM_WORK (4.0 * 1024 * 1024)

#define SMALL_WORK DRMAD_BLAS_SMALL_WORK

/* With small_kernels, a larger one-thread sgemm goes as blocks of at least
 * SPLIT_MIN_ROWS rows of C, each within SMALL_WORK: one thread of the
 * 2-core EPYC (Zen 4, SkylakeX kernels) ran 100×100×392 in 77.7 µs as 4
 * blocks of 25 rows against 83.8 µs whole, 392×100×100 (Aᵀ·B) in 73.5 µs
 * as blocks of 80 against 84.7, 50×50×784 in 40.2 against 49.4; blocks of
 * 10 rows lost (85.4), and blocks just over SMALL_WORK, packed, lost more
 * (34 rows: 98.6). Not for A·Bᵀ, which OpenBLAS keeps on the packed
 * kernels when C is not tiny: smaller blocks there are only slower. */
#define SPLIT_MIN_ROWS 16
static gint large_gemm_threads = 0;   /* 0: not set yet, DRMAD_BLAS_THREADS or the default */

void
drmad_blas_set_large_threads (int threads)
{
  g_atomic_int_set (&large_gemm_threads, MAX (threads, 1));
}

int
drmad_blas_get_large_threads (void)
{
  int threads = g_atomic_int_get (&large_gemm_threads);
  if (threads == 0) {
    /* One. Within a training step, OpenBLAS's second thread spins between
     * the large GEMMs (sched_yield, for up to 2^28 cycles), and on a 2-core
     * AMD EPYC (Zen 4) VM about half of the runs of plain training of
     * 784-100-100-10 then took 2–2.5× as long as the others (0.93–1.25 s
     * against 0.44–0.53 s at T = 1000), run by run; letting it sleep at
     * once (OPENBLAS_THREAD_TIMEOUT=4–8) ended that, but was then no
     * faster than one thread (0.45–0.65 s against 0.45–0.47 s; exact1
     * 1.22–1.54 s against 1.19–1.28 s). An earlier AVX2 machine measured
     * two threads 20 % faster; docs/benchmarks.md has both. */
    const char *text = g_getenv ("DRMAD_BLAS_THREADS");
    threads = MAX (text ? atoi (text) : 1, 1);
    g_atomic_int_compare_and_exchange (&large_gemm_threads, 0, threads);
    threads = g_atomic_int_get (&large_gemm_threads);
  }
  return threads;
}

void
drmad_blas_host_gemm (const DrmadOpenblas *blas, gboolean fp64, gboolean transpose_a, gboolean transpose_b,
                      gsize m, gsize n, gsize k, double alpha, const void *a, gsize lda, const void *b,
                      gsize ldb, double beta, void *c, gsize ldc)
{
  double work = (double) m * n * k;
  int threads = work >= LARGE_GEMM_WORK ? drmad_blas_get_large_threads () : 1;
  if (blas->get_num_threads () != threads)
    blas->set_num_threads (threads);
  gsize block = work > SMALL_WORK ? (gsize) (SMALL_WORK / ((double) n * k)) : m;
  if (threads == 1 && blas->small_kernels && !fp64 && !(transpose_b && !transpose_a) && block >= SPLIT_MIN_ROWS
      && block < m) {
    gsize blocks = (m + block - 1) / block;
    block = (m + blocks - 1) / blocks;   /* as even as they come */
    for (gsize r = 0; r < m; r += block)
      drmad_blas_host_gemm (blas, fp64, transpose_a, transpose_b, MIN (block, m - r), n, k, alpha,
                            (const float *) a + (transpose_a ? r : r * lda), lda, b, ldb, beta,
                            (float *) c + r * ldc, ldc);
    return;
  }
  enum CBLAS_TRANSPOSE ta = transpose_a ? CblasTrans : CblasNoTrans;
  enum CBLAS_TRANSPOSE tb = transpose_b ? CblasTrans : CblasNoTrans;
  if (beta == 0.0 && work > SMALL_WORK) {
    /* OpenBLAS clears C for beta = 0 a short column at a time, a pass as slow
     * as a tenth of a small step's GEMMs (the weight gradients of a 784-wide
     * layer); a memset of the rows and beta = 1 give the same numbers, 0 + AB.
     * Small GEMMs keep beta = 0: a memset was 4 % of a training step's time
     * on the host team (784-100-100-10, docs/benchmarks.md). */
    gsize size = fp64 ? sizeof (double) : sizeof (float);
    if (ldc == n)
      memset (c, 0, m * n * size);
    else
      for (gsize r = 0; r < m; r++)
        memset ((char *) c + r * ldc * size, 0, n * size);
    beta = 1.0;
  }
  if (fp64)
    blas->dgemm (CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  else
    blas->sgemm (CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

static void CL_CALLBACK
host_gemm (void *data)
{
  const HostGemmArgs *g = data;
  gsize size = g->fp64 ? sizeof (double) : sizeof (float);
  drmad_blas_host_gemm (g->blas, g->fp64, g->transpose_a, g->transpose_b, g->m, g->n, g->k, g->alpha,
                        (const char *) g->a + g->a_offset * size, g->lda,
                        (const char *) g->b + g->b_offset * size, g->ldb, g->beta,
                        (char *) g->c + g->c_offset * size, g->ldc);
}

gboolean
drmad_gemm (DrmadDevice *device, DrmadPrecision precision, DrmadGemmPath path,
            gboolean transpose_a, gboolean transpose_b, gsize m, gsize n, gsize k,
            double alpha, DrmadMatrix a, DrmadMatrix b, double beta, DrmadMatrix c, GError **error)
{
  if (m == 0 || n == 0)
    return TRUE;
  gboolean fp64 = precision == DRMAD_PRECISION_FLOAT64;
  if (path == DRMAD_GEMM_HOST) {
    g_return_val_if_fail (a.host && b.host && c.host, FALSE);
    const DrmadOpenblas *blas = drmad_openblas (error);
    if (!blas)
      return FALSE;
    HostGemmArgs args = {
      .blas = blas,
      .a = a.host, .b = b.host, .c = c.host,
      .a_offset = a.offset, .b_offset = b.offset, .c_offset = c.offset,
      .lda = a.ld, .ldb = b.ld, .ldc = c.ld, .m = m, .n = n, .k = k,
      .alpha = alpha, .beta = beta,
      .transpose_a = transpose_a, .transpose_b = transpose_b, .fp64 = fp64,
    };
    return drmad_cl_check (clEnqueueNativeKernel (device->queue, host_gemm, &args, sizeof args,
                                                  0, NULL, NULL, 0, NULL, NULL),
                           "clEnqueueNativeKernel (host GEMM)", error);
  }

  const Clblast *clblast = clblast_load ();
  if (clblast->error) {
    g_propagate_error (error, g_error_copy (clblast->error));
    return FALSE;
  }
  CLBlastTranspose ta = transpose_a ? CLBlastTransposeYes : CLBlastTransposeNo;
  CLBlastTranspose tb = transpose_b ? CLBlastTransposeYes : CLBlastTransposeNo;
  g_mutex_lock (&clblast_lock);
  if (!device->ran_clblast) {
    device->ran_clblast = TRUE;
    clblast_devices++;
  }
  CLBlastStatusCode status = fp64
    ? clblast->dgemm (CLBlastLayoutRowMajor, ta, tb, m, n, k, alpha, a.mem, a.offset, a.ld,
                      b.mem, b.offset, b.ld, beta, c.mem, c.offset, c.ld, &device->queue, NULL)
    : clblast->sgemm (CLBlastLayoutRowMajor, ta, tb, m, n, k, (float) alpha, a.mem, a.offset, a.ld,
                      b.mem, b.offset, b.ld, (float) beta, c.mem, c.offset, c.ld, &device->queue, NULL);
  g_mutex_unlock (&clblast_lock);
  if (status != CLBlastSuccess) {
    g_set_error (error, DRMAD_ERROR,
                 status == CLBlastOpenCLOutOfResources || status == CLBlastOpenCLOutOfHostMemory
                 ? DRMAD_ERROR_OUT_OF_MEMORY : DRMAD_ERROR_OPENCL,
                 "CLBlast %cgemm (%" G_GSIZE_FORMAT "×%" G_GSIZE_FORMAT "×%" G_GSIZE_FORMAT
                 ") failed with status %d", fp64 ? 'D' : 'S', m, n, k, (int) status);
    return FALSE;
  }
  return TRUE;
}

DrmadLaunch
drmad_launch_begin (cl_kernel kernel, DrmadPrecision precision)
{
  return (DrmadLaunch) { .kernel = kernel, .precision = precision };
}

static void
launch_arg (DrmadLaunch *launch, gsize size, const void *value)
{
  cl_int status = clSetKernelArg (launch->kernel, launch->next++, size, value);
  if (launch->status == CL_SUCCESS)
    launch->status = status;
}

void drmad_launch_mem (DrmadLaunch *launch, cl_mem mem) { launch_arg (launch, sizeof mem, &mem); }
void drmad_launch_uint (DrmadLaunch *launch, guint32 value) { launch_arg (launch, sizeof value, &value); }
void drmad_launch_ulong (DrmadLaunch *launch, guint64 value) { launch_arg (launch, sizeof value, &value); }

void
drmad_launch_real (DrmadLaunch *launch, double value)
{
  if (launch->precision == DRMAD_PRECISION_FLOAT64) {
    launch_arg (launch, sizeof value, &value);
  } else {
    float single = value;
    launch_arg (launch, sizeof single, &single);
  }
}

gboolean
drmad_launch_run (DrmadLaunch *launch, DrmadDevice *device, guint dims,
                  const gsize *global, const gsize *local, GError **error)
{
  if (launch->status != CL_SUCCESS) {
    char name[128] = "";
    clGetKernelInfo (launch->kernel, CL_KERNEL_FUNCTION_NAME, sizeof name - 1, name, NULL);
    g_set_error (error, DRMAD_ERROR, DRMAD_ERROR_OPENCL, "setting the arguments of kernel %s failed: %s",
                 name, drmad_cl_status_name (launch->status));
    return FALSE;
  }
  gsize rounded[3];
  for (guint d = 0; d < dims; d++) {
    if (global[d] == 0)
      return TRUE;
    rounded[d] = (global[d] + local[d] - 1) / local[d] * local[d];
  }
  return drmad_cl_check (clEnqueueNDRangeKernel (device->queue, launch->kernel, dims, NULL,
                                                 rounded, local, 0, NULL, NULL),
                         "clEnqueueNDRangeKernel", error);
}
