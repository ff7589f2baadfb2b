/* dmutex core: per-peer round-trip estimation (see rtt.h). */
#include "rtt.h"

void dm_rtt_limits_init(dm_rtt_limits *l, int64_t initial, int64_t min, int64_t max)
{
    l->min = min < INT32_MAX ? min : INT32_MAX;
    l->max = dm_rtt_clamp_(max, l->min, INT32_MAX);
    l->initial = dm_rtt_clamp_(initial, l->min, l->max);
}

void dm_rtt_init(dm_rtt *r)
{
    *r = (dm_rtt){ 0 };
}

void dm_rtt_sample(dm_rtt *r, const dm_rtt_limits *l, int64_t rtt)
{
    rtt = dm_rtt_clamp_(rtt, 0, l->max);
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
