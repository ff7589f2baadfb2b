/* dmutex core: a retransmission timeout that adapts to the measured round trip.
 *
 * One fixed timeout cannot serve both a LAN (round trips of 100 µs) and a WAN
 * (hundreds of milliseconds): too long and every lost message costs a
 * needless wait, too short and nothing completes once the round trip exceeds
 * it. Each node keeps one estimator per peer, in the shape of TCP's
 * (Jacobson/Karels, RFC 6298): a smoothed round trip SRTT and its mean
 * deviation RTTVAR, with RTO = SRTT + 4·RTTVAR clamped to [min, max], doubled
 * at every timeout (back-off) until the next sample. Before the first sample
 * the configured initial value is used. Samples must be unambiguous (the
 * caller matches an answer to the exact transmission it answers); time is
 * whatever the caller passes, in microseconds.
 *
 * A node of a 10,000-member cluster keeps one estimator per peer it ever
 * measured, so the estimator is 12 bytes: the clamps and initial value,
 * which are the same for every peer of a node, live apart (dm_rtt_limits),
 * and the estimates are 32-bit. That is exact: SRTT and RTTVAR never exceed
 * max (a sample is clamped to it, and both are weighted means of samples
 * and of values at most max), and max is at most INT32_MAX microseconds
 * (about 36 minutes; a longer retransmission timeout, which only a lease
 * above 1.8 hours would ask for, is cut to it).
 */
#ifndef DMUTEX_CORE_RTT_H
#define DMUTEX_CORE_RTT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct dm_rtt_limits {
    int64_t initial;     /* RTO before any sample */
    int64_t min, max;    /* clamps of the RTO; max <= INT32_MAX */
} dm_rtt_limits;

/* All zero: no sample yet (what dm_rtt_init sets). */
typedef struct dm_rtt {
    int32_t srtt;        /* 0 until the first sample */
    int32_t rttvar;
    uint8_t backoff;     /* timeouts since the last sample (the RTO doubles each) */
    uint8_t samples;     /* taken so far (saturating) */
} dm_rtt;

/* Requires 0 < min; max is raised to min, both are cut to INT32_MAX, and
 * initial is clamped to them. */
void dm_rtt_limits_init(dm_rtt_limits *l, int64_t initial, int64_t min, int64_t max);
/* Start with no sample. */
void dm_rtt_init(dm_rtt *r);
/* A measured round trip (>= 0). Clears the back-off. A sample above
 * `l->max` counts as max: the RTO cannot exceed it anyway, and such a
 * sample is more likely a paused process than a path (it would take a
 * dozen samples to forget). */
void dm_rtt_sample(dm_rtt *r, const dm_rtt_limits *l, int64_t rtt);
/* A retransmission timer expired: the next RTO doubles (up to max). */
void dm_rtt_timeout(dm_rtt *r);

/* The queries below are inline: a node asks for an RTO or clears a back-off
 * on nearly every message it sends or receives. */

/* Internal to the estimator (rtt.c uses them too). */
static inline int64_t dm_rtt_clamp_(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static inline int64_t dm_rtt_backed_off_(const dm_rtt *r, const dm_rtt_limits *l, int64_t base)
{
    for (uint32_t i = 0; i < r->backoff && base < l->max; i++)
        base *= 2;
    return dm_rtt_clamp_(base, l->min, l->max);
}

static inline int64_t dm_rtt_estimate_(const dm_rtt *r, const dm_rtt_limits *l)
{
    return dm_rtt_clamp_((int64_t)r->srtt + 4 * (int64_t)r->rttvar, l->min, l->max);
}

/* The peer was heard from: whatever timed out before, the path works, so
 * the back-off ends (the estimate itself waits for a sample). */
static inline void dm_rtt_heard(dm_rtt *r)
{
    r->backoff = 0;
}

/* The current retransmission timeout: in [min, max]. */
static inline int64_t dm_rtt_rto(const dm_rtt *r, const dm_rtt_limits *l)
{
    return dm_rtt_backed_off_(r, l, r->srtt ? dm_rtt_estimate_(r, l) : l->initial);
}

/* The RTO of `r`, or -- while `r` has no sample yet -- one computed from
 * `fallback`'s estimate with `r`'s own back-off: a path never measured is
 * probably like the others, and far more like them than the configured
 * initial value. */
static inline int64_t dm_rtt_rto_or(const dm_rtt *r, const dm_rtt *fallback,
                                    const dm_rtt_limits *l)
{
    if (r->srtt || !fallback->srtt)
        return dm_rtt_rto(r, l);
    return dm_rtt_backed_off_(r, l, dm_rtt_estimate_(fallback, l));
}

/* True once a sample was taken. */
static inline bool dm_rtt_measured(const dm_rtt *r)
{
    return r->srtt != 0;
}

#endif
