/* Internal: what reverse.c tells meta.c about a pass before it runs. */
#pragma once

#include "drmad-hypergradient.h"

/* The steps the reverse phase of a pass with the resolved @config counts
 * over @T training steps (its "reverse" progress events' total): each step
 * reversed, and where checkpoints are k > 1 steps apart (exact, truncated)
 * each step recomputed from its checkpoint first, which counts too. */
guint64 drmad_reverse_progress_steps (const DrmadReverseConfig *config, guint64 T);

/* drmad_hypergradient_compute() of a pass that already ran in this run (a
 * meta-iteration after the first, the fidelity reference after its first):
 * its memory check is against the device's own bound alone
 * (drmad_device_check_room_again()), not the host's room again, which
 * moves with the page cache and other processes: a long run was refused
 * mid-way at a later meta-iteration where the same pass had run before
 * (docs/reliability.md). */
DrmadHypergradient *drmad_hypergradient_compute_again (DrmadNet *net, DrmadHyper *hyper, DrmadDeviceData *train,
                                                       DrmadDeviceData *val, const DrmadReverseConfig *config,
                                                       DrmadProgressFunc progress, gpointer user_data,
                                                       GError **error);

/* drmad_hypergradient_compute(), or its _again() where @again, that on
 * %DRMAD_ERROR_UNSTABLE still gives what the pass measured before its
 * reverse phase, where the training ran whole: @unstable_losses[0] the
 * mean minibatch loss of the T steps, [1] the validation loss at w_T
 * (NaN both otherwise). A meta-iteration rejected for its reverse pass
 * alone reported them as NaN, "val_loss nan", of a training that had not
 * diverged. */
DrmadHypergradient *drmad_hypergradient_compute_measured (DrmadNet *net, DrmadHyper *hyper, DrmadDeviceData *train,
                                                          DrmadDeviceData *val, const DrmadReverseConfig *config,
                                                          gboolean again, DrmadProgressFunc progress,
                                                          gpointer user_data, double unstable_losses[2],
                                                          GError **error);
