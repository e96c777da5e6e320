/* drmad: hyperparameter optimisation by hypergradients on OpenCL.
 *
 * A whole program (tests/installed-example.sh compiles and runs it against
 * the installed library; docs/install.md says how to build it):
 *
 *   #include <drmad.h>
 *
 *   static int
 *   fail (GError *error)
 *   {
 *     g_printerr ("%s\n", error->message);
 *     g_error_free (error);
 *     return 1;
 *   }
 *
 *   int
 *   main (void)
 *   {
 *     drmad_prepare_environment ();  // first: before any thread or OpenCL call
 *     GError *error = NULL;
 *     g_autoptr (DrmadDataset) pool = NULL;
 *     g_autoptr (DrmadDataset) test = NULL;
 *     if (!drmad_dataset_open ("fashion-mnist", NULL, &pool, &test, &error))
 *       return fail (error);
 *     g_autoptr (DrmadSplit) split = drmad_dataset_split (pool, test, 1, 10000, 5000, 10000, &error);
 *     if (!split)
 *       return fail (error);
 *     g_autoptr (DrmadDevice) device = drmad_device_open (NULL, &error);  // first GPU, else CPU
 *     if (!device)
 *       return fail (error);
 *     g_autoptr (DrmadDeviceData) train = drmad_device_data_new (device, DRMAD_PRECISION_FLOAT32,
 *                                                                split->train, &error);
 *     if (!train)
 *       return fail (error);
 *     guint sizes[] = { 784, 100, 10 };
 *     g_autoptr (DrmadNet) net = drmad_net_new (device, sizes, 3, DRMAD_ACTIVATION_RELU,
 *                                               DRMAD_PRECISION_FLOAT32, 100, &error);
 *     if (!net || !drmad_net_init_params (net, 1, NULL, &error))
 *       return fail (error);
 *     g_autoptr (DrmadTrainer) trainer = drmad_trainer_new (net, &error);  // borrows net
 *     double loss;
 *     if (!trainer || !drmad_trainer_set_uniform (trainer, 0.1, 0.9, 1e-4, &error)
 *         || !drmad_trainer_run (trainer, train, 1, 0, 200, NULL, NULL, &loss, &error))
 *       return fail (error);
 *     g_print ("mean training loss %.3f\n", loss);
 *     return 0;  // g_autoptr frees in reverse order: the trainer before the net it borrows
 *   }
 *
 * Errors: every fallible function returns NULL/FALSE and sets a GError in
 * DRMAD_ERROR, which the caller frees (g_error_free, g_clear_error), with
 * two exceptions: drmad_read_regular_file() reports in G_FILE_ERROR, as
 * g_file_get_contents() whose place it takes; and drmad_meta_step() passes
 * on the error of a reduction hook (DrmadMetaReduceFunc) as the hook set it.
 *
 * Ownership, in every header:
 * - A function that makes something returns it to the caller, who frees it
 *   with the matching …_free() or …_unref() (each works with g_autoptr); a
 *   returned `char *` is freed with g_free(), a GBytes with g_bytes_unref(),
 *   a GPtrArray with g_ptr_array_unref().
 * - A `const` pointer from a getter belongs to the object it came from and
 *   lives as long as that object, unless its declaration says less. Names of
 *   enum values are static strings.
 * - Arguments are borrowed for the call only, unless the declaration says
 *   the result keeps them: a DrmadTrainer keeps its net, a DrmadMeta its
 *   net, θ and data; these must outlive it. Nets and device data hold their
 *   own reference to their device, which may be unreffed before them.
 *
 * Arguments: a pointer to an object or to an array a function reads is
 * never NULL unless its declaration says what NULL means (an optional
 * output, "NULL for the default", the …_free() and …_unref() functions,
 * which ignore NULL); an index a getter takes is within the range it
 * names. Breaking either is a programmer error, not a reported one: the
 * call may crash, or log a critical warning and return 0 or NULL. Every
 * value the caller chooses (sizes, counts, steps, rates, enums) is checked
 * and refused with a GError instead.
 *
 * Threads: the library may be used from several threads at once.
 * - Objects that share nothing run in parallel, and so do nets on one
 *   shared DrmadDevice (its reference count, kernel programs and memory
 *   counters are locked; OpenCL queues take commands from any thread). On a
 *   shared device the memory figures (drmad_device_get_peak_bytes(), a
 *   hypergradient's device_peak_bytes) count every thread's arrays.
 *   CLBlast's GEMMs (the GPU path) are called one at a time in the
 *   process, CLBlast 1.5.3 being unsafe when two threads first call it at
 *   once (docs/reliability.md, "Long-lived use"): a call only enqueues, so
 *   the devices still work at once, but a first call that compiles
 *   CLBlast's kernels holds the other threads' calls back meanwhile.
 * - A DrmadNet and everything that works on it (its DrmadTrainer, a
 *   DrmadMeta over it, drmad_hyper_train() and
 *   drmad_hypergradient_compute() with it) are used by one thread at a
 *   time; drmad_meta_load_state() counts as work on the meta's net. A call that works on the net from a second thread while the first
 *   is inside one fails with %DRMAD_ERROR_BUSY, and so does such a call from
 *   a progress callback or reduction hook of work on that same net, which
 *   it would disturb. Getters and drmad_net_get_params() are not refused
 *   (a callback may read the parameters), and a callback may work on other
 *   nets. drmad_net_get_params() from another thread while the net trains
 *   (a window that draws the weights live) copies the parameters after a
 *   whole step, waiting for the step under way to end (on a queued path,
 *   for the steps queued before it: drmad-net.h, DRMAD_PROGRESS_LEAD).
 * - DrmadHyper, DrmadMeta and DrmadRun are not locked: use each from one
 *   thread at a time (drmad_meta_step() moves θ in the DrmadHyper, so
 *   another thread must not read θ meanwhile: copy it between steps).
 * - DrmadDataset and DrmadDeviceData are read-only once made: any number of
 *   threads and nets may read them at once.
 * - Results: a job run beside others gives the numbers it gives alone, bit
 *   for bit, on a GPU, and on a CPU device in single precision where the
 *   host step's GEMMs are drmad's own (drmad_host_step_gemm_kernels() is
 *   "avx512" or "avx2", which give the same numbers). Where they are
 *   OpenBLAS's (double precision, a CPU without AVX2 and FMA, or
 *   DRMAD_SMALL_GEMM=0) a job may differ from its lone
 *   run from the last bits on, and a meta-optimisation carries that on (the
 *   default job on OpenBLAS's Haswell kernels: test loss 0.3992 on the
 *   team, 0.4236 on one thread): a training or reverse step shares the
 *   host team (drmad_host_step_threads()) only while no other thread's step holds
 *   it, else runs alone, and OpenBLAS's sums for a row depend on where the
 *   row falls in the GEMM (docs/architecture.md, "Threads").
 *   DRMAD_HOST_THREADS=1 makes such jobs bit for bit reproducible however
 *   many run at once.
 * - Progress callbacks run on the thread that called the function they
 *   report on. To cancel from another thread, set a flag (g_atomic_int_set)
 *   that the callback reads and returns FALSE on: the work stops within one
 *   step with %DRMAD_ERROR_CANCELLED.
 * - drmad_prepare_environment() sets environment variables: call it before
 *   any other thread starts (glibc's setenv() races with other threads'
 *   getenv(), the OpenCL platform's and the library's own included).
 * - Freeing an object while another thread uses it, or from a callback of
 *   work on it, is undefined, as for any C object.
 */
#pragma once

#include "drmad-error.h"
#include "drmad-sampler.h"
#include "drmad-dataset.h"
#include "drmad-device.h"
#include "drmad-net.h"
#include "drmad-hyper.h"
#include "drmad-hypergradient.h"
#include "drmad-meta.h"
#include "drmad-run.h"
