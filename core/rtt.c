/* dmutex core: per-peer round-trip estimation (see rtt.h). */
#include "rtt.h"

static int64_t clamp(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void dm_rtt_limits_init(dm_rtt_limits *l, int64_t initial, int64_t min, int64_t max)
{
    l->min = min < INT32_MAX ? min : INT32_MAX;
    l->max = clamp(max, l->min, INT32_MAX);
    l->initial = clamp(initial, l->min, l->max);
}

void dm_rtt_init(dm_rtt *r)
{
    *r = (dm_rtt){ 0 };
}

void dm_rtt_sample(dm_rtt *r, const dm_rtt_limits *l, int64_t rtt)
{
    rtt = clamp(rtt, 0, l->max);
    if (r->samples < UINT8_MAX)
        r->samples++;
    if (r->srtt == 0) {
        /* RFC 6298 2.2; a zero sample still counts as measured. */
        r->srtt = rtt > 0 ? (int32_t)rtt : 1;
        r->rttvar = (int32_t)(rtt / 2);
    } else {
        /* alpha = 1/8, beta = 1/4, in integers; both stay within [0, max]. */
        int64_t err = rtt - r->srtt;
        r->rttvar = (int32_t)(r->rttvar + ((err < 0 ? -err : err) - r->rttvar) / 4);
        r->srtt = (int32_t)(r->srtt + err / 8);
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

static int64_t backed_off(const dm_rtt *r, const dm_rtt_limits *l, int64_t base)
{
    for (uint32_t i = 0; i < r->backoff && base < l->max; i++)
        base *= 2;
    return clamp(base, l->min, l->max);
}

static int64_t estimate(const dm_rtt *r, const dm_rtt_limits *l)
{
    return clamp((int64_t)r->srtt + 4 * (int64_t)r->rttvar, l->min, l->max);
}

int64_t dm_rtt_rto(const dm_rtt *r, const dm_rtt_limits *l)
{
    return backed_off(r, l, r->srtt ? estimate(r, l) : l->initial);
}

int64_t dm_rtt_rto_or(const dm_rtt *r, const dm_rtt *fallback, const dm_rtt_limits *l)
{
    if (r->srtt || !fallback->srtt)
        return dm_rtt_rto(r, l);
    return backed_off(r, l, estimate(fallback, l));
}
