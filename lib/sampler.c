/* Built with the fused host step's flags (lib/meson.build): a batch's
 * indices are worked out 8 or 16 at a time on AVX-512 (counter-hash.h,
 * drmad_sample_range), once per training step on the host path. */
#include "drmad-sampler.h"
#include "counter-hash.h"
#include "vector-clones.h"

#include <math.h>

guint32
drmad_sampler_index (guint64 seed, guint64 step, guint32 batch, guint32 j, guint32 n)
{
  g_return_val_if_fail (n > 0, 0);
  return drmad_sample_index (seed, step, batch, j, n);
}

DRMAD_VECTOR_CLONES void
drmad_sampler_batch (guint64 seed, guint64 step, guint32 batch, guint32 n, guint32 *indices)
{
  g_return_if_fail (n > 0);
  drmad_sample_range (seed, step, batch, 0, batch, n, indices);
}

double
drmad_normal_draw (guint64 seed, guint64 counter)
{
  /* Box–Muller on two 53-bit uniforms in (0, 1]. */
  guint64 key = drmad_mix64 (seed ^ 0xd1b54a32d192ed03UL);
  guint64 a = drmad_mix64 (key ^ (2 * counter));
  guint64 b = drmad_mix64 (key ^ (2 * counter + 1));
  double u1 = ((a >> 11) + 1.0) / 9007199254740992.0;
  double u2 = (b >> 11) / 9007199254740992.0;
  return sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2);
}
