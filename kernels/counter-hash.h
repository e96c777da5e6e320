/* Counter-based hashing shared verbatim by the C library and the OpenCL
 * kernels, so that the host and the device draw the same minibatches.
 * docs/algorithm.md §1: minibatch order is a pure function of (seed, t).
 *
 * A minibatch at step t holds positions t·B … t·B+B−1 of an endless stream;
 * position p lies in epoch p / n at slot p mod n, and the example at that slot
 * is a keyed Feistel permutation of [0, n) (cycle-walking on the next even
 * power of two), so each example appears exactly once per epoch and nothing is
 * stored. */
#ifndef DRMAD_COUNTER_HASH_H
#define DRMAD_COUNTER_HASH_H

#ifdef __OPENCL_VERSION__
typedef uint  drmad_u32;
typedef ulong drmad_u64;
#define DRMAD_FN
#else
#include <stdint.h>
typedef uint32_t drmad_u32;
typedef uint64_t drmad_u64;
#define DRMAD_FN static inline
#endif

/* splitmix64 finaliser */
DRMAD_FN drmad_u64 drmad_mix64 (drmad_u64 x)
{
  x += 0x9e3779b97f4a7c15UL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9UL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebUL;
  return x ^ (x >> 31);
}

DRMAD_FN drmad_u32 drmad_feistel_round (drmad_u32 value, drmad_u64 key, drmad_u32 round)
{
  return (drmad_u32) (drmad_mix64 (key ^ ((drmad_u64) round << 40) ^ (drmad_u64) value) >> 16);
}

/* Half the width of the power of four that drmad_permute works on for @n. */
DRMAD_FN drmad_u32 drmad_permute_half_bits (drmad_u32 n)
{
  drmad_u32 bits = 2;
  while (bits < 32 && ((drmad_u64) 1 << bits) < (drmad_u64) n)
    bits += 2;
  return bits / 2;
}

/* drmad_permute with @half_bits = drmad_permute_half_bits (@n). */
DRMAD_FN drmad_u32 drmad_permute_half (drmad_u32 i, drmad_u32 n, drmad_u64 key, drmad_u32 half_bits)
{
  drmad_u32 mask = ((drmad_u32) 1 << half_bits) - 1;
  do {
    drmad_u32 left = i >> half_bits, right = i & mask;
    for (drmad_u32 r = 0; r < 4; r++) {
      drmad_u32 next = left ^ (drmad_feistel_round (right, key, r) & mask);
      left = right;
      right = next;
    }
    i = (left << half_bits) | right;
  } while (i >= n);
  return i;
}

/* A bijection of [0, n) keyed by @key; n ≥ 1. */
DRMAD_FN drmad_u32 drmad_permute (drmad_u32 i, drmad_u32 n, drmad_u64 key)
{
  return drmad_permute_half (i, n, key, drmad_permute_half_bits (n));
}

DRMAD_FN drmad_u64 drmad_epoch_key (drmad_u64 seed, drmad_u64 epoch)
{
  return drmad_mix64 (seed ^ drmad_mix64 (epoch ^ 0x5851f42d4c957f2dUL));
}

/* Example index of slot @j of the minibatch at @step (batch size @batch, @n examples). */
DRMAD_FN drmad_u32 drmad_sample_index (drmad_u64 seed, drmad_u64 step, drmad_u32 batch,
                                       drmad_u32 j, drmad_u32 n)
{
  drmad_u64 position = step * (drmad_u64) batch + j;
  drmad_u64 epoch = position / n;
  return drmad_permute ((drmad_u32) (position % n), n, drmad_epoch_key (seed, epoch));
}

#ifndef __OPENCL_VERSION__
/* One pass of drmad_permute_half's four rounds over @i, without the cycle-walk. */
static inline drmad_u32 drmad_permute_rounds (drmad_u32 i, drmad_u64 key, drmad_u32 half_bits)
{
  drmad_u32 mask = ((drmad_u32) 1 << half_bits) - 1;
  drmad_u32 left = i >> half_bits, right = i & mask;
#pragma GCC unroll 4
  for (drmad_u32 r = 0; r < 4; r++) {
    drmad_u32 next = left ^ (drmad_feistel_round (right, key, r) & mask);
    left = right;
    right = next;
  }
  return (left << half_bits) | right;
}

/* Slots @first … @first + @count − 1 of the minibatch at @step into @out, as
 * drmad_sample_index gives them, with the epoch's key and the permutation's
 * width worked out once rather than per slot (the host's gathers and the
 * indices of each fused host step). Up to 256 slots of an epoch at a time:
 * one pass of the rounds over all of them, then passes over those still at
 * n or above, gathered into a short list (the cycle-walk): loops that a
 * caller compiled for AVX-512 runs 8 or 16 slots at a time, with the same
 * values as drmad_permute_half slot by slot. */
static inline __attribute__ ((always_inline)) void drmad_sample_range (drmad_u64 seed, drmad_u64 step, drmad_u32 batch,
                                                                  drmad_u32 first, drmad_u32 count, drmad_u32 n,
                                                                  drmad_u32 *out)
{
  if (count == 0)
    return;
  drmad_u32 half_bits = drmad_permute_half_bits (n);
  drmad_u64 position = step * (drmad_u64) batch + first;
  drmad_u64 epoch = position / n;
  drmad_u32 slot = (drmad_u32) (position % n);
  drmad_u64 key = drmad_epoch_key (seed, epoch);
  drmad_u32 at[256], value[256];
  for (drmad_u32 done = 0; done < count;) {
    drmad_u32 left = count - done < n - slot ? count - done : n - slot;   /* slots left in this epoch */
    drmad_u32 run = left < 256 ? left : 256, walking = 0;
    drmad_u32 *part = out + done;
    for (drmad_u32 j = 0; j < run; j++)
      part[j] = drmad_permute_rounds (slot + j, key, half_bits);
    for (drmad_u32 j = 0; j < run; j++)
      if (part[j] >= n) {
        at[walking] = j;
        value[walking++] = part[j];
      }
    while (walking > 0) {
      for (drmad_u32 k = 0; k < walking; k++)
        value[k] = drmad_permute_rounds (value[k], key, half_bits);
      drmad_u32 still = 0;
      for (drmad_u32 k = 0; k < walking; k++) {
        if (value[k] >= n) {
          at[still] = at[k];
          value[still++] = value[k];
        } else
          part[at[k]] = value[k];
      }
      walking = still;
    }
    done += run;
    slot += run;
    if (slot == n) {
      slot = 0;
      key = drmad_epoch_key (seed, ++epoch);
    }
  }
}
#endif

#endif
