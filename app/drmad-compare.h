/* Comparing run folders: the overlay plots of the window's "Compare runs". */
#pragma once

#include <drmad.h>
#include <gio/gio.h>
#include "drmad-plot.h"

/* Three new plots of the run folders @folders (NULL-terminated): validation
 * loss against meta-iteration, the learned L2 per layer after the last
 * meta-iteration, and the learning-rate schedule after it (the geometric mean
 * over layers). One colour per run; each series is named "FOLDER: key=value,
 * …" with the trajectory settings in which that run differs from any other.
 * Reads run.ini and checkpoint.bin only (no device, no data). */
gboolean drmad_compare_runs (const char *const *folders, DrmadPlot **val, DrmadPlot **l2, DrmadPlot **lr,
                             GError **error);
/* The same, giving up with G_IO_ERROR_CANCELLED once @cancellable (may be
 * NULL) is cancelled, checked before each folder is read: for a thread
 * (the window's Compare runs), since a large checkpoint.bin takes seconds. */
gboolean drmad_compare_runs_cancellable (const char *const *folders, GCancellable *cancellable, DrmadPlot **val,
                                         DrmadPlot **l2, DrmadPlot **lr, GError **error);
/* How many runs @folders (NULL-terminated) are, as the comparison counts
 * them: one folder given twice (by the same or another path) is one; one
 * that cannot be looked at counts. */
guint    drmad_compare_count_runs (const char *const *folders);
