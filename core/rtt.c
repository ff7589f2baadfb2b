/* dmutex core: per-peer round-trip estimation (see rtt.h). */
#include "rtt.h"

static int64_t clamp(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void dm_rtt_init(dm_rtt *r, int64_t initial, int64_t min, int64_t max)
{
    r->srtt = 0;
    r->rttvar = 0;
    r->min = min;
    r->max = max < min ? min : max;
    r->initial = clamp(initial, r->min, r->max);
    r->backoff = 0;
    r->samples = 0;
}

void dm_rtt_sample(dm_rtt *r, int64_t rtt)
{
    rtt = clamp(rtt, 0, r->max);
    if (r->samples < UINT32_MAX)
        r->samples++;
    if (r->srtt == 0) {
        /* RFC 6298 2.2; a zero sample still counts as measured. */
        r->srtt = rtt > 0 ? rtt : 1;
        r->rttvar = rtt / 2;
    } else {
        /* alpha = 1/8, beta = 1/4, in integers. */
        int64_t err = rtt - r->srtt;
        r->rttvar += ((err < 0 ? -err : err) - r->rttvar) / 4;
        r->srtt += err / 8;
        if (r->srtt <= 0)
            r->srtt = 1;
    }
    r->backoff = 0;
}

void dm_rtt_timeout(dm_rtt *r)
{
    /* Beyond this the doubled value is at max whatever the base. */
    if (r->backoff < 32)
        r->backoff++;
}

void dm_rtt_heard(dm_rtt *r)
{
    r->backoff = 0;
}

bool dm_rtt_measured(const dm_rtt *r)
{
    return r->srtt != 0;
}

static int64_t backed_off(const dm_rtt *r, int64_t base)
{
    for (uint32_t i = 0; i < r->backoff && base < r->max; i++)
        base *= 2;
    return clamp(base, r->min, r->max);
}

int64_t dm_rtt_rto(const dm_rtt *r)
{
    return backed_off(r, r->srtt ? clamp(r->srtt + 4 * r->rttvar, r->min, r->max) : r->initial);
}

int64_t dm_rtt_rto_or(const dm_rtt *r, const dm_rtt *fallback)
{
    if (r->srtt || !fallback->srtt)
        return dm_rtt_rto(r);
    return backed_off(r, clamp(fallback->srtt + 4 * fallback->rttvar, r->min, r->max));
}
