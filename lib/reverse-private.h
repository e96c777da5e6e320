/* Internal: what reverse.c tells meta.c about a pass before it runs. */
#pragma once

#include "drmad-hypergradient.h"

/* The steps the reverse phase of a pass with the resolved @config counts
 * over @T training steps (its "reverse" progress events' total): each step
 * reversed, and where checkpoints are k > 1 steps apart (exact, truncated)
 * each step recomputed from its checkpoint first, which counts too. */
guint64 drmad_reverse_progress_steps (const DrmadReverseConfig *config, guint64 T);
