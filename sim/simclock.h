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

/* floor(a / b) for b > 0 (C's division truncates toward zero). */
static inline int64_t dm_simclock_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* The reading d microseconds after the segment's start. */
static inline int64_t dm_simclock_after_epoch(const dm_simclock *c, int64_t d)
{
    return c->offset + d + dm_simclock_floor_div(d * c->rate_ppm, 1000000);
}

/* Local reading at global time g (g >= c->epoch). Inline: the simulator
 * reads a node's clock for every message and timer. */
static inline int64_t dm_simclock_local(const dm_simclock *c, int64_t g)
{
    return dm_simclock_after_epoch(c, g - c->epoch);
}

/* Within this many microseconds of the segment's start (about 19 hours)
 * target * 1e6 and every d * rate_ppm stay far inside int64. */
#define DM_SIMCLOCK_EXACT_SPAN ((int64_t)1 << 36)

/* dm_simclock_global outside the exact span, and INT64_MAX (simclock.c):
 * correct for any local time, the inline case only faster. */
int64_t dm_simclock_global_far(const dm_simclock *c, int64_t local);

/* The first global instant at which the local clock reads >= local, or
 * INT64_MAX when that is INT64_MAX or too far away to matter. Inline for
 * the common case, a deadline within hours of the clock's segment start:
 * for a whole d, d + floor(d * rate / 1e6) = floor(d * (1e6 + rate) / 1e6),
 * which is >= target (a whole number) exactly when d * (1e6 + rate) >=
 * target * 1e6: the smallest such d is a ceiling division, no floating
 * point and no walk. The clock moves forward (1e6 + rate > 0). */
static inline int64_t dm_simclock_global(const dm_simclock *c, int64_t local)
{
    if (local != INT64_MAX) {
        int64_t target = local - c->offset;
        if (target > -DM_SIMCLOCK_EXACT_SPAN && target < DM_SIMCLOCK_EXACT_SPAN &&
            1000000 + c->rate_ppm > 0)
            return c->epoch - dm_simclock_floor_div(-target * 1000000, 1000000 + c->rate_ppm);
    }
    return dm_simclock_global_far(c, local);
}

/* Change the rate from global time g on, keeping the reading continuous. */
void dm_simclock_set_rate(dm_simclock *c, int64_t g, int64_t rate_ppm);

#endif
