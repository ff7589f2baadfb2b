/* dmutex core: deterministic pseudo-random numbers.
 *
 * xoshiro256** seeded through splitmix64. The core never touches global
 * randomness: every node owns a dm_prng seeded by its driver, and the
 * simulator derives independent streams from one master seed with
 * dm_prng_derive(), so that changing one stream never reshuffles another.
 */
#ifndef DMUTEX_CORE_PRNG_H
#define DMUTEX_CORE_PRNG_H

#include <stdint.h>

typedef struct dm_prng {
    uint64_t s[4];
} dm_prng;

void dm_prng_seed(dm_prng *p, uint64_t seed);

/* Seed `out` with a stream that depends only on (master seed, stream label,
 * index): e.g. ("network", 0), ("node", 17). */
void dm_prng_derive(dm_prng *out, uint64_t master, const char *label, uint64_t index);

uint64_t dm_prng_next(dm_prng *p);

/* Uniform in [0, bound), without modulo bias. bound == 0 returns 0. */
uint64_t dm_prng_below(dm_prng *p, uint64_t bound);

/* Uniform double in [0, 1). */
double dm_prng_double(dm_prng *p);

/* Exponentially distributed with the given mean (mean <= 0 returns 0). */
double dm_prng_exponential(dm_prng *p, double mean);

/* Fisher-Yates shuffle of n uint32 values. */
void dm_prng_shuffle_u32(dm_prng *p, uint32_t *v, uint32_t n);

#endif
