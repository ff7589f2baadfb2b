/* dmutex core: SWIM membership with Lifeguard, as in hashicorp/memberlist.
 *
 * A sans-I/O failure detector over the configured members (ids 0..n-1).
 * The owner (core/node.c, or a test) feeds it messages and ticks with `now`
 * and it answers through dm_membership_driver. Nothing here reads a clock,
 * draws global randomness or does I/O; its PRNG is seeded by the owner.
 *
 * Followed: hashicorp/memberlist v0.6.0 (commit 1b4c746c, master after
 * v0.6.0): state.go (probe, probeNode, gossip, pushPull, suspectNode,
 * deadNode, refute), suspicion.go, awareness.go, config.go (DefaultLANConfig)
 * and util.go (suspicionTimeout, retransmitLimit, pushPullScale,
 * kRandomNodes). Protocol (SWIM, DSN 2002; Lifeguard, arXiv 1707.00788):
 *  - probing: one member per protocol period, round-robin over a list
 *    reshuffled at every pass, DEAD and LEFT skipped: PING; no ACK within
 *    probe_timeout (never scaled) -> PING_REQ through `indirect_checks`
 *    random ALIVE members, and (tcp_fallback) the same PING over a stream
 *    (DM_SEQ_STREAM); no ACK by the end of the period -> SUSPECT, unless
 *    the stream ping was answered. The period is probe_interval x (health
 *    + 1): a probe answered earlier ends there, and the next starts one
 *    unscaled probe_interval after the last one started (memberlist's
 *    ticker), so health slows down failing probes only;
 *  - suspicion: DEAD after a timeout that starts at max = min x
 *    suspicion_max_mult and shrinks toward min as independent confirmations
 *    (other members' suspicions) arrive:
 *      min = suspicion_mult x max(1, log10(n)) x probe_interval
 *      timeout = max(min, max - (max - min) x log(C + 1) / log(K + 1))
 *    with K = suspicion_mult - 2 expected confirmations, 0 when n - 2 < K
 *    (too few members could confirm), and with K = 0 the timeout is min;
 *  - incarnation numbers: only a member raises its own, to refute a
 *    suspicion or death of itself that reaches it. Precedence of an update
 *    (state s, incarnation i) over what is known (s0, i0):
 *      ALIVE overrides when i > i0 (also reviving DEAD/LEFT: a rejoin);
 *      SUSPECT overrides ALIVE when i >= i0, SUSPECT when i > i0;
 *      DEAD/LEFT override ALIVE/SUSPECT when i >= i0, and DEAD/LEFT when
 *      i > i0;
 *  - dissemination: every change is queued as a broadcast, sent at most
 *    retransmit_mult x ceil(log10(n + 1)) times, fewest-sent and newest
 *    first, as many as fit in a message (DM_MSG_MAX_UPDATES). Every
 *    gossip_interval, while any is pending, a GOSSIP goes to each of
 *    gossip_nodes random members that are ALIVE, SUSPECT, or DEAD for at
 *    most gossip_to_dead (an idle cluster sends no gossip); broadcasts also
 *    ride on PING, PING_REQ, ACK and NACK;
 *  - push/pull: every push_pull_interval x pushPullScale(n) (x1 up to 32
 *    members, then x(ceil(log2 n - log2 32) + 1)), full state (SYNC chunks
 *    of DM_MSG_MAX_UPDATES members) goes to one random ALIVE member, which
 *    merges it and answers with its own;
 *  - Lifeguard local health (awareness): a score in [0, awareness_max - 1];
 *    a failed probe adds the NACKs that did not come (or 1 when no relay
 *    was asked), a successful probe subtracts 1, refuting a suspicion of
 *    ourselves adds 1. It scales the probe period (above), not the probe
 *    timeout. Relays NACK a PING_REQ whose target did not answer.
 *  - `lifeguard` false is classic SWIM, the Lifeguard paper's baseline: no
 *    health (the period is never scaled), no NACKs, and a fixed suspicion
 *    timeout (min, K = 0).
 *
 * Where dmutex deliberately differs from memberlist, and why:
 *  - members believed DEAD are still probed now and then (one in
 *    `dead_probe_every` periods; directly only, without relays, stream ping
 *    or health change) and are, one push/pull in four, the partner: so two
 *    sides of a healed partition merge again by themselves (memberlist
 *    forgets dead members after gossip_to_dead and needs a re-join);
 *  - a relay NACKs after 4/5 of min(probe_timeout, probe_interval -
 *    probe_timeout), not after probe_timeout: memberlist's NACK leaves when
 *    a healthy requester's period (1 s, of which 500 ms direct) has just
 *    ended, so it is always missed and raises a healthy member's score;
 *  - the update about a message's destination rides first ("buddy"), and
 *    our SUSPECT/DEAD/LEFT verdict of it rides even when not pending (memberlist
 *    does this for PINGs to suspects only); the accused also gets a PING at
 *    once when we suspect it, and a refuting member PINGs its ALIVE to
 *    indirect_checks + 1 others at once: refutations must beat a timeout that
 *    confirmations shrink to its minimum;
 *  - confirmations count distinct accusers named in the update, not senders;
 *  - a SYNC's DEAD entry is merged as SUSPECT (memberlist's mergeState does
 *    the same), and a SYNC answers on its last chunk only;
 *  - n is the configured membership (a fixed list), not an estimate of the
 *    live members, in every formula above;
 *  - any message from the member being probed (lock traffic too) counts as
 *    its ACK (dm_membership_heard).
 *
 * Configured members all start ALIVE at incarnation 0; a JOIN event reports
 * the first message heard from each (the application's "member is up").
 */
#ifndef DMUTEX_CORE_MEMBERSHIP_H
#define DMUTEX_CORE_MEMBERSHIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "message.h"

typedef struct dm_membership dm_membership;

typedef struct dm_swim_config {
    uint32_t n_members;
    uint32_t self;
    uint64_t seed;
    int64_t probe_interval_us;      /* default 1 s */
    int64_t probe_timeout_us;       /* default 500 ms */
    uint32_t indirect_checks;       /* default 3 */
    uint32_t suspicion_mult;        /* default 4 */
    uint32_t suspicion_max_mult;    /* default 6 */
    uint32_t retransmit_mult;       /* default 4 */
    int64_t push_pull_interval_us;  /* default 30 s */
    uint32_t awareness_max;         /* default 8; 1 disables local health */
    uint32_t dead_probe_every;      /* default 10 protocol periods; 0 never */
    int64_t gossip_interval_us;     /* default 200 ms; 0: no gossip loop */
    uint32_t gossip_nodes;          /* default 3 */
    int64_t gossip_to_dead_us;      /* default 30 s */
    bool lifeguard;                 /* default true; false: classic SWIM */
    bool tcp_fallback;              /* default true (memberlist's !DisableTcpPings) */
    uint32_t incarnation;           /* starting incarnation (a restarted node
                                       passes what it persisted, + 1) */
} dm_swim_config;

/* Defaults of memberlist's LAN profile (n_members, self, seed stay 0). */
void dm_swim_config_defaults(dm_swim_config *cfg);
/* The push/pull period for cfg->n_members: memberlist's pushPullScale. */
int64_t dm_swim_push_pull_interval(const dm_swim_config *cfg);

typedef enum dm_member_event_type {
    DM_MEMBER_EV_JOIN = 1,      /* first message heard from the member */
    DM_MEMBER_EV_ALIVE,         /* back from SUSPECT, DEAD or LEFT */
    DM_MEMBER_EV_SUSPECT,
    DM_MEMBER_EV_DEAD,
    DM_MEMBER_EV_LEFT,
} dm_member_event_type;

typedef struct dm_member_event {
    dm_member_event_type type;
    uint32_t member;
    uint32_t incarnation;
} dm_member_event;

typedef struct dm_membership_driver {
    /* A membership message to send (type, to, value, target, updates set;
     * the owner fills from and clock). Best effort. */
    void (*send)(void *user, dm_msg *msg);
    /* A member changed state, or was heard from for the first time. */
    void (*event)(void *user, const dm_member_event *ev);
} dm_membership_driver;

typedef struct dm_member_info {
    dm_member_state state;
    uint32_t incarnation;
    bool joined;                /* heard from at least once */
    int64_t state_since;        /* when the current state was taken */
} dm_member_info;

typedef struct dm_membership_stats {
    uint64_t sent[DM_MSG_TYPE_COUNT];
    uint64_t received[DM_MSG_TYPE_COUNT];
    uint64_t probes, probes_failed, indirect_probes;
    uint64_t stream_pings, stream_saves;    /* TCP fallback: sent, and probes it saved */
    uint64_t suspicions, deaths, refutations;
    uint64_t updates_sent;      /* piggybacked update transmissions */
    uint64_t updates_dropped;   /* retransmit budget exhausted before sent */
    uint64_t syncs;
} dm_membership_stats;

/* Returns 0 and sets *out, or -DM_EINVAL / -DM_ENOMEM. */
int dm_membership_new(const dm_swim_config *cfg, const dm_membership_driver *drv,
                      void *user, int64_t now, dm_membership **out);
void dm_membership_free(dm_membership *m);

/* A PING, PING_REQ, ACK, NACK, SYNC or GOSSIP for this member. Returns 0, or
 * -DM_ETYPE for other types, or -DM_EMALFORMED for a sender, target or
 * update outside the membership (nothing changes). The message is assumed
 * validated (dm_msg_validate) by the caller; the second check only keeps
 * memory safe without it. */
int dm_membership_receive(dm_membership *m, int64_t now, const dm_msg *msg);

/* Everything due at or before now. */
void dm_membership_tick(dm_membership *m, int64_t now);
/* When tick is next needed; INT64_MAX when nothing is due (after a leave). */
int64_t dm_membership_next_deadline(const dm_membership *m);

/* Any message at all from `member` proves it alive right now (lock traffic
 * counts too): refreshes a pending probe of it. Cheap; call it freely. */
void dm_membership_heard(dm_membership *m, int64_t now, uint32_t member);

/* Graceful leave: announce LEFT about ourselves (at a higher incarnation)
 * to up to indirect_checks + 1 members at once, and stop probing. */
void dm_membership_leave(dm_membership *m, int64_t now);
/* Come back after dm_membership_leave: announce ALIVE at a higher
 * incarnation (which overrides our LEFT everywhere) and probe and push/pull
 * again, at once. Nothing when not leaving. */
void dm_membership_rejoin(dm_membership *m, int64_t now);

/* Hold `member` LEFT at its current incarnation, locally and silently (no
 * broadcast): an id that has no member behind it yet (the epoch policy's
 * spare ids) is neither probed nor gossiped to nor in the view. A member
 * that does run behind it refutes the verdict when it hears it (it rides on
 * every answer to that member), as any member held LEFT does. Not self. */
void dm_membership_forget(dm_membership *m, int64_t now, uint32_t member);

/* Queries. */
void dm_membership_info(const dm_membership *m, uint32_t member, dm_member_info *out);
bool dm_membership_is_alive(const dm_membership *m, uint32_t member);   /* ALIVE */
bool dm_membership_in_view(const dm_membership *m, uint32_t member);    /* ALIVE or SUSPECT */
/* out[i] = !dm_membership_is_alive(m, i) for every member i: one call where a
 * quorum formation asks about every member. */
void dm_membership_not_alive(const dm_membership *m, uint8_t *out);
uint32_t dm_membership_view_size(const dm_membership *m);
/* 64-bit digest of the view (which members are in it): equal on two nodes
 * exactly when they agree on the view (up to hash collisions). */
uint64_t dm_membership_view_hash(const dm_membership *m);
uint32_t dm_membership_incarnation(const dm_membership *m);   /* our own */
uint32_t dm_membership_health(const dm_membership *m);        /* Lifeguard score */
const dm_membership_stats *dm_membership_get_stats(const dm_membership *m);

#endif
