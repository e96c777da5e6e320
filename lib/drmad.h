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
 * DRMAD_ERROR, which the caller frees (g_error_free, g_clear_error).
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
