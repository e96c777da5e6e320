/* Internal: what run.c tells meta.c when a run is resumed. */
#pragma once

#include "drmad-meta.h"

/* On resume (drmad_run_restore()), a @meta asked for the auto method goes
 * on with @method, the method the run's meta-iterations so far used (its
 * last record's), and measures fidelity against @reference (the last
 * measured record's, or NULL: chosen again for @method), rather than with
 * what auto chooses now. On a CPU device auto chooses within the memory
 * this process may still take, which moves from one start to the next: a
 * resumed run took another K, and did not give the numbers of an
 * uninterrupted run. Where @method no longer fits the memory
 * (drmad_hypergradient_check_memory()), auto's choice now stays and the
 * method's reason says so. Nothing happens for a method asked by name. */
void drmad_meta_keep_recorded_method (DrmadMeta *meta, const DrmadReverseConfig *method,
                                      const DrmadReverseConfig *reference);
