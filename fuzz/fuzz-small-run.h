/* The small run fuzz-checkpoint restores into, and that fuzz-seeds
 * records a meta-iteration of: both build it alike, so the hyper.csv the
 * seed's checkpoint counts (its length and the CRC-32 of its tail) is the
 * one fuzz-checkpoint puts beside each input. */
#pragma once

#include "drmad.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct {
  DrmadDevice *device;
  DrmadNet *net;
  DrmadHyper *hyper;
  DrmadDeviceData *data;
  DrmadMeta *meta;
  DrmadHyperConfig config;
} FuzzSmallRun;

/* A new optimiser of @s's θ. */
static DrmadMeta *
fuzz_small_run_meta (FuzzSmallRun *s, GError **error)
{
  DrmadReverseConfig reverse = { .method = DRMAD_METHOD_DRMAD };
  DrmadMetaConfig meta_config;
  drmad_meta_config_init (&meta_config);
  return drmad_meta_new (s->net, s->hyper, s->data, s->data, &reverse, &meta_config, error);
}

/* FALSE, @error set, where no OpenCL device opens. */
static gboolean
fuzz_small_run_init (FuzzSmallRun *s, GError **error)
{
  s->device = drmad_device_open (NULL, error);
  if (!s->device)
    return FALSE;
  guint sizes[] = { 4, 3, 2 };
  float x[8] = { 0.5f, 0.25f, 0, 1, 1, 0, 0.75f, 0.125f };
  gint32 y[2] = { 0, 1 };
  g_autoptr (DrmadDataset) ds = drmad_dataset_new_from_arrays (2, 4, 2, x, y, error);
  s->net = ds ? drmad_net_new (s->device, sizes, 3, DRMAD_ACTIVATION_RELU, DRMAD_PRECISION_FLOAT32, 2, error) : NULL;
  s->data = s->net ? drmad_device_data_new (s->device, DRMAD_PRECISION_FLOAT32, ds, error) : NULL;
  drmad_hyper_config_init (&s->config);
  s->config.learn_lr = TRUE;
  s->config.segments = 2;
  s->config.steps = 4;
  s->hyper = s->data ? drmad_hyper_new (s->net, &s->config, error) : NULL;
  s->meta = s->hyper ? fuzz_small_run_meta (s, error) : NULL;
  return s->meta != NULL;
}

/* Frees what fuzz_small_run_init() made, the optimiser first. */
static inline void
fuzz_small_run_clear (FuzzSmallRun *s)
{
  g_clear_pointer (&s->meta, drmad_meta_free);
  g_clear_pointer (&s->hyper, drmad_hyper_free);
  g_clear_pointer (&s->data, drmad_device_data_free);
  g_clear_pointer (&s->net, drmad_net_free);
  g_clear_pointer (&s->device, drmad_device_unref);
}

/* One meta-iteration recorded in a new run folder @folder (history.csv,
 * hyper.csv, checkpoint.bin); @s's optimiser moves on by one. */
static gboolean
fuzz_small_run_record (FuzzSmallRun *s, const char *folder, GError **error)
{
  g_autoptr (DrmadRun) run = drmad_run_create (folder, "[drmad]\n", TRUE, error);
  g_autoptr (DrmadMetaReport) report = run ? drmad_meta_step (s->meta, NULL, NULL, error) : NULL;
  return report && drmad_run_record (run, s->hyper, s->meta, report, error);
}
