#include "simclock.h"

#include <math.h>

#define PPM 1000000

/* Beyond this many microseconds of local time ahead (~115 days) a deadline
 * is as good as never, and d * rate stays far from overflowing. */
#define HORIZON ((int64_t)1 << 53)

static int64_t local_at(const dm_simclock *c, int64_t d)
{
    return dm_simclock_after_epoch(c, d);
}

void dm_simclock_init(dm_simclock *c, int64_t global_now, int64_t local_now, int64_t rate_ppm)
{
    c->epoch = global_now;
    c->offset = local_now;
    c->rate_ppm = rate_ppm;
}

int64_t dm_simclock_global_far(const dm_simclock *c, int64_t local)
{
    if (local == INT64_MAX || local - c->offset > HORIZON)
        return INT64_MAX;
    int64_t target = local - c->offset;
    /* The floating estimate lands within a step or two of the answer; the
     * integer walk makes it exact: the smallest d with local_at(d) >= local.
     * Successive readings differ by 0 or 1 (or 2 for a fast clock), so the
     * walk is short and terminates. */
    int64_t d = (int64_t)ceil((double)target * PPM / (double)(PPM + c->rate_ppm));
    while (local_at(c, d) < local)
        d++;
    while (local_at(c, d - 1) >= local)
        d--;
    return c->epoch + d;
}

void dm_simclock_set_rate(dm_simclock *c, int64_t g, int64_t rate_ppm)
{
    c->offset = dm_simclock_local(c, g);
    c->epoch = g;
    c->rate_ppm = rate_ppm;
}
