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

/* xoshiro256** (Blackman, Vigna). Inline, with dm_prng_double: the
 * simulator draws several per event (latency, loss, duplication, order). */
static inline uint64_t dm_prng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t dm_prng_next(dm_prng *p)
{
    uint64_t *s = p->s;
    uint64_t result = dm_prng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = dm_prng_rotl(s[3], 45);
    return result;
}

/* Uniform in [0, bound), without modulo bias. bound == 0 returns 0. */
uint64_t dm_prng_below(dm_prng *p, uint64_t bound);

/* Uniform double in [0, 1). */
static inline double dm_prng_double(dm_prng *p)
{
    /* The top 53 bits fill a double's mantissa exactly. */
    return (double)(dm_prng_next(p) >> 11) * 0x1.0p-53;
}

/* Exponentially distributed with the given mean (mean <= 0 returns 0). */
double dm_prng_exponential(dm_prng *p, double mean);

/* Fisher-Yates shuffle of n values; both widths draw alike. */
void dm_prng_shuffle_u32(dm_prng *p, uint32_t *v, uint32_t n);
void dm_prng_shuffle_u16(dm_prng *p, uint16_t *v, uint32_t n);

/* Hashes that every node and every version must compute alike (they place
 * members per lock name and digest views): FNV-1a, whose weak high bits
 * dm_mix64 (splitmix64's finaliser) spreads. */
#define DM_FNV_BASIS UINT64_C(0xcbf29ce484222325)
static inline uint64_t dm_fnv1a_byte(uint64_t h, uint8_t byte)
{
    return (h ^ byte) * UINT64_C(0x100000001b3);
}
uint64_t dm_fnv1a_str(uint64_t h, const char *s);
uint64_t dm_mix64(uint64_t h);
/* dm_mix64 of the string's FNV-1a: a lock name's key (core/quorum.h). */
uint64_t dm_hash_str(const char *s);

#endif
