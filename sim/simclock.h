/* dmutex simulator: a node's drifting local clock.
 *
 * Every simulated node reads its own clock, which runs at a rate (1 + rate)
 * relative to the simulator's global (true) time:
 *
 *     local(g) = offset + (g - epoch) + floor((g - epoch) * rate_ppm / 1e6)
 *
 * Integer arithmetic keeps traces identical on every machine. A rate change
 * (the `skew` fault) starts a new segment at the current instant so that the
 * clock stays continuous and monotonic; nothing ever makes it jump.
 */
#ifndef DMUTEX_SIM_SIMCLOCK_H
#define DMUTEX_SIM_SIMCLOCK_H

#include <stdint.h>

/* |rate_ppm| must stay below this so that the clock still moves forward. */
#define DM_SIMCLOCK_MAX_PPM 900000

typedef struct dm_simclock {
    int64_t epoch;      /* global time the current segment started */
    int64_t offset;     /* local time at epoch */
    int64_t rate_ppm;   /* rate error of this segment */
} dm_simclock;

void dm_simclock_init(dm_simclock *c, int64_t global_now, int64_t local_now, int64_t rate_ppm);

/* The reading d microseconds after the segment's start; C's division
 * truncates toward zero, so the floor of d * rate / 1e6 corrects it. */
static inline int64_t dm_simclock_after_epoch(const dm_simclock *c, int64_t d)
{
    int64_t p = d * c->rate_ppm;
    int64_t q = p / 1000000;
    if (p % 1000000 != 0 && p < 0)
        q--;
    return c->offset + d + q;
}

/* Local reading at global time g (g >= c->epoch). Inline: the simulator
 * reads a node's clock for every message and timer. */
static inline int64_t dm_simclock_local(const dm_simclock *c, int64_t g)
{
    return dm_simclock_after_epoch(c, g - c->epoch);
}

/* The first global instant at which the local clock reads >= local, or
 * INT64_MAX when that is INT64_MAX or too far away to matter. */
int64_t dm_simclock_global(const dm_simclock *c, int64_t local);

/* Change the rate from global time g on, keeping the reading continuous. */
void dm_simclock_set_rate(dm_simclock *c, int64_t g, int64_t rate_ppm);

#endif
