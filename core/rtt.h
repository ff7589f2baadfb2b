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
 */
#ifndef DMUTEX_CORE_RTT_H
#define DMUTEX_CORE_RTT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct dm_rtt {
    int64_t srtt;        /* 0 until the first sample */
    int64_t rttvar;
    int64_t initial;     /* RTO before any sample */
    int64_t min, max;    /* clamps of the RTO */
    uint32_t backoff;    /* timeouts since the last sample (the RTO doubles each) */
    uint32_t samples;    /* taken so far (saturating) */
} dm_rtt;

/* Start with no sample. Requires 0 < min <= max; initial is clamped. */
void dm_rtt_init(dm_rtt *r, int64_t initial, int64_t min, int64_t max);
/* A measured round trip (>= 0). Clears the back-off. A sample above `max`
 * counts as `max`: the RTO cannot exceed it anyway, and such a sample is
 * more likely a paused process than a path (it would take a dozen samples
 * to forget). */
void dm_rtt_sample(dm_rtt *r, int64_t rtt);
/* A retransmission timer expired: the next RTO doubles (up to max). */
void dm_rtt_timeout(dm_rtt *r);
/* The peer was heard from: whatever timed out before, the path works, so
 * the back-off ends (the estimate itself waits for a sample). */
void dm_rtt_heard(dm_rtt *r);
/* The current retransmission timeout: in [min, max]. */
int64_t dm_rtt_rto(const dm_rtt *r);
/* The RTO of `r`, or -- while `r` has no sample yet -- one computed from
 * `fallback`'s estimate with `r`'s own back-off: a path never measured is
 * probably like the others, and far more like them than the configured
 * initial value. */
int64_t dm_rtt_rto_or(const dm_rtt *r, const dm_rtt *fallback);
/* True once a sample was taken. */
bool dm_rtt_measured(const dm_rtt *r);

#endif
