/* drmad: hyperparameter optimisation by hypergradients on OpenCL.
 *
 * A short tour:
 *
 *   g_autoptr (DrmadDevice) device = drmad_device_open (NULL, &error);      // first GPU, else CPU
 *   DrmadDataset *pool, *test;
 *   drmad_dataset_open ("fashion-mnist", NULL, &pool, &test, &error);
 *   g_autoptr (DrmadSplit) split = drmad_dataset_split (pool, test, 1, 10000, 5000, 10000, &error);
 *   g_autoptr (DrmadDeviceData) train = drmad_device_data_new (device, DRMAD_PRECISION_FLOAT32,
 *                                                              split->train, &error);
 *   guint sizes[] = { 784, 100, 10 };
 *   g_autoptr (DrmadNet) net = drmad_net_new (device, sizes, 3, DRMAD_ACTIVATION_RELU,
 *                                             DRMAD_PRECISION_FLOAT32, 100, &error);
 *   drmad_net_init_params (net, 1, NULL, &error);
 *   g_autoptr (DrmadTrainer) trainer = drmad_trainer_new (net, &error);
 *   drmad_trainer_set_uniform (trainer, 0.1, 0.9, 1e-4, &error);
 *   drmad_trainer_run (trainer, train, 1, 0, 200, NULL, NULL, NULL, &error);
 *
 * Every fallible function returns NULL/FALSE and sets a GError in DRMAD_ERROR.
 */
#pragma once

#include "drmad-error.h"
#include "drmad-sampler.h"
#include "drmad-dataset.h"
#include "drmad-device.h"
#include "drmad-net.h"
#include "drmad-hyper.h"
#include "drmad-meta.h"
#include "drmad-run.h"
