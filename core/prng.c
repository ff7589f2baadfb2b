#include "prng.h"

#include <math.h>

/* splitmix64 (Steele, Lea, Flood): its outputs for consecutive states are
 * well spread even when the seeds are 0, 1, 2, ..., which xoshiro's own
 * state would not tolerate. */
static uint64_t splitmix64(uint64_t *x)
{
    return dm_mix64(*x += 0x9e3779b97f4a7c15u);
}

void dm_prng_seed(dm_prng *p, uint64_t seed)
{
    /* Four distinct splitmix64 states never all map to zero, the one state
     * xoshiro cannot leave. */
    for (int i = 0; i < 4; i++)
        p->s[i] = splitmix64(&seed);
}

uint64_t dm_fnv1a_str(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = dm_fnv1a_byte(h, (uint8_t)*s);
    return h;
}

uint64_t dm_mix64(uint64_t h)
{
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9u;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebu;
    return h ^ (h >> 31);
}

uint64_t dm_hash_str(const char *s)
{
    return dm_mix64(dm_fnv1a_str(DM_FNV_BASIS, s));
}

void dm_prng_derive(dm_prng *out, uint64_t master, const char *label, uint64_t index)
{
    /* Each step is a bijection of the running value for a fixed input, so
     * streams differing in only one of (master, label, index) never share a
     * seed (short of an FNV collision between labels). */
    uint64_t x = master;
    x = splitmix64(&x) ^ dm_fnv1a_str(DM_FNV_BASIS, label);
    x = splitmix64(&x) ^ index;
    dm_prng_seed(out, splitmix64(&x));
}

uint64_t dm_prng_below(dm_prng *p, uint64_t bound)
{
    if (bound == 0)
        return 0;
    /* Reject the 2^64 mod bound lowest draws, so that what is left is a whole
     * number of copies of [0, bound) and the modulo favours no residue. */
    uint64_t threshold = -bound % bound;
    for (;;) {
        uint64_t r = dm_prng_next(p);
        if (r >= threshold)
            return r % bound;
    }
}

double dm_prng_exponential(dm_prng *p, double mean)
{
    if (!(mean > 0))    /* NaN as well: a deadline must stay a number */
        return 0;
    /* 1 - u lies in (0, 1], so the logarithm is finite; log1p keeps the
     * precision of small u. */
    return -log1p(-dm_prng_double(p)) * mean;
}

/* One Fisher-Yates for every element width, so that a u16 and a u32 array
 * holding the same values come out in the same order from the same draws. */
#define SHUFFLE(p, v, n, type)                          \
    for (uint32_t i = (n); i > 1; i--) {                \
        uint32_t j = (uint32_t)dm_prng_below((p), i);   \
        type tmp = (v)[i - 1];                          \
        (v)[i - 1] = (v)[j];                            \
        (v)[j] = tmp;                                   \
    }

void dm_prng_shuffle_u32(dm_prng *p, uint32_t *v, uint32_t n)
{
    SHUFFLE(p, v, n, uint32_t)
}

void dm_prng_shuffle_u16(dm_prng *p, uint16_t *v, uint32_t n)
{
    SHUFFLE(p, v, n, uint16_t)
}
