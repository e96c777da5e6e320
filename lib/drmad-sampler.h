/* drmad: the counter-based minibatch sampler (docs/algorithm.md §1). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Index of slot @j (0 ≤ j < @batch) of the minibatch at @step over @n ≥ 1
 * examples (@n 0 is a programming error: a critical warning and 0).
 * A pure function: the device computes the same value in its gather kernel. */
guint32 drmad_sampler_index (guint64 seed, guint64 step, guint32 batch, guint32 j, guint32 n);

/* Fills @indices[0 … batch) for @step: the caller's array of @batch entries
 * (@n ≥ 1; with @n 0, a critical warning and @indices untouched). */
void    drmad_sampler_batch (guint64 seed, guint64 step, guint32 batch, guint32 n, guint32 *indices);

/* A standard normal draw that depends only on (@seed, @counter): the initial
 * weight draws Z of docs/algorithm.md §1. */
double  drmad_normal_draw   (guint64 seed, guint64 counter);

G_END_DECLS
