/* dmutex core: one node of the distributed mutex, as a sans-I/O state machine.
 *
 * A node plays two roles for every lock name: requester (the local
 * application's lock/unlock) and arbiter (granting to requesters whose
 * quorum contains this node). The driver feeds it inputs -- a received
 * message, "your deadline passed", an application call -- each with `now`,
 * the driver's monotonic clock in microseconds; the node answers through the
 * dm_driver callbacks. It never reads a clock, touches a socket, sleeps,
 * spawns a thread or keeps global state: any number of nodes live in one
 * process.
 *
 * Safety rests on leases (DESIGN.md section 3):
 *  - an arbiter's grant lasts `lease_us` of its clock from the grant or the
 *    last KEEP it acknowledged;
 *  - the holder counts from when it *sent* the acknowledged KEEP, shortened
 *    by the drift bound, so it always believes less than any arbiter grants;
 *  - when it can no longer trust its lease it reports DM_EV_LOST, and does so
 *    before anything else on the first input after a gap (a pause);
 *  - a restarted arbiter grants nothing for one lease plus drift; one
 *    started without persisted state also learns a token floor from a
 *    quorum formed without itself before it grants (cfg.bootstrap).
 * Fencing tokens: every arbiter numbers its grants from one counter that
 * also absorbs every token it acknowledges; a holder's token is the maximum
 * over its quorum's grants, acknowledged by every quorum member (the fence
 * round) before DM_EV_GRANTED, so tokens strictly increase across successive
 * holders. The counter survives restarts through dm_driver.persist.
 *
 * Membership: with cfg.membership set the node runs SWIM (core/membership.h)
 * over the configured members; its traffic goes through dm_driver.send like
 * any message, and member and view changes are reported as events. The
 * quorum policy decides what membership does to quorums:
 *  - ae (core/policy_ae.c): the tree stays over all configured members; members not
 *    ALIVE are merely avoided by substitution (safe);
 *  - memberlist (core/policy_memberlist.c): the original Go dmutex's design -- every view
 *    change rebuilds the tree over the members in view (ALIVE or SUSPECT)
 *    and purges queued requests and grants of members that left the view.
 *    Nodes with different views can form disjoint quorums: measured by the
 *    simulator, not recommended.
 */
#ifndef DMUTEX_CORE_NODE_H
#define DMUTEX_CORE_NODE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "membership.h"
#include "message.h"
#include "policy.h"
#include "quorum.h"

#define DM_NEVER INT64_MAX

typedef struct dm_node dm_node;

typedef enum dm_event_type {
    DM_EV_GRANTED = 1,   /* lock acquired: token, lease_until */
    DM_EV_FAILED,        /* acquisition ended without the lock: reason */
    DM_EV_LOST,          /* held lock can no longer be trusted: reason */
    DM_EV_RENEWED,       /* lease of a held lock extended: lease_until */
    DM_EV_MEMBER,        /* a member joined or changed state: member, member_event, incarnation */
    DM_EV_VIEW,          /* the set of members in view changed: view_size, view_hash */
    DM_EV_EPOCH,         /* epoch policy: a configuration was installed: epoch, view_size
                            (its member count), view_hash (digest of its members) */
    DM_EV_RECONFIG,      /* epoch policy: a change asked for with dm_node_change_members
                            ended: reason 0 with epoch and view_size of the configuration
                            installed, or -DM_ETIMEDOUT (no quorum of the current
                            configuration answered in time), -DM_EBUSY (another change won
                            the epoch: look again and retry) */
    DM_EV_ARBITER,       /* arbiter role, reported only while cfg.lock_delay_us > 0 (they
                            exist for the lock-delay checker; without it the event stream
                            is what it always was): arbiter_action on `name` for requester
                            `member`, its `attempt`, grant id in `token` */
} dm_event_type;

typedef enum dm_arbiter_action {
    DM_ARB_GRANTED = 1,  /* a grant issued */
    DM_ARB_LAPSED,       /* a grant ended without a release (reason -DM_ELEASE: its lease ran
                            out; -DM_EREVOKED: revoked): no grant of the name until
                            lease_until (node-local) */
    DM_ARB_RELEASED,     /* the lapsed grantee's RELEASE came: the delay ended early */
} dm_arbiter_action;

typedef struct dm_event {
    dm_event_type type;
    const char *name;        /* lock name, valid during the callback */
    uint64_t attempt;
    uint64_t token;          /* GRANTED, RENEWED, LOST: the fencing token */
    int64_t lease_until;     /* GRANTED, RENEWED: node-local time the holder's lease ends
                                (drift bound and lost_margin already taken off: LOST is
                                reported then, at the latest) */
    int reason;              /* FAILED, LOST: negative error code */
    int64_t requested_at;    /* node-local time of the lock() call */
    uint32_t messages;       /* network messages sent and received for this attempt */
    uint32_t quorum_size;
    uint32_t member;         /* MEMBER: which member */
    dm_member_event_type member_event;
    uint32_t incarnation;
    uint32_t view_size;      /* VIEW, EPOCH */
    uint64_t view_hash;
    uint64_t epoch;          /* EPOCH: the configuration epoch installed */
    dm_arbiter_action arbiter_action;   /* ARBITER */
} dm_event;

typedef struct dm_driver {
    /* Best effort: may be lost, duplicated, reordered. `to` != self. */
    void (*send)(void *user, const dm_msg *msg);
    void (*notify)(void *user, const dm_event *ev);
    /* Store `len` bytes durably before returning (replacing what was there);
     * they are handed back to dm_node_new after a restart. Return 0, or a
     * negative code, in which case the node does not act on what needed it. */
    int (*persist)(void *user, const void *bytes, size_t len);
} dm_driver;


typedef struct dm_config {
    uint32_t n_members;          /* 1..DM_MAX_MEMBERS */
    uint32_t self;               /* this node's id: index into the sorted member list */
    const dm_policy_ops *policy; /* what a view change does (core/policy.h); NULL: ae */
    const dm_quorum_ops *quorum; /* the quorum system; NULL: the default (tree). A built-in
                                    from dm_quorum_lookup(), or a user's own ops */
    int64_t lease_us;            /* arbiter lease; default 10 s */
    uint32_t drift_ppm;          /* bound on clock rate error, parts per million; default 10000 */
    int64_t lost_margin_us;      /* the holder reports DM_EV_LOST at least this long (by its own
                                    clock, bound by the drift) before any other node can be
                                    granted the lock, so that what it protects has time to stop.
                                    At most half the drift-shortened lease.
                                    DM_LOST_MARGIN_RELATIVE (the default): lost_margin_ppm of
                                    the lease; read it with dm_config_lost_margin() */
    uint32_t lost_margin_ppm;    /* the margin as a fraction of lease_us, parts per million, when
                                    lost_margin_us is DM_LOST_MARGIN_RELATIVE; default 100000
                                    (10 %) */
    int64_t rpc_timeout_us;      /* initial retransmission timeout, used until a round trip to
                                    the peer was measured (core/rtt.h); default 1 s */
    int64_t rto_min_us;          /* lower clamp of the adaptive timeout; default 2 ms. The upper
                                    clamp is a third of the holder lease: no slower retransmission
                                    could renew a lease in time */
    int64_t suspect_us;          /* how long an unresponsive arbiter is avoided; default 10 s */
    uint64_t seed;               /* seeds the node's PRNG */
    uint32_t token_stride;       /* tokens reserved per persist; default 1024 */
    bool membership;             /* run SWIM; default true (required by MEMBERLIST) */
    bool bootstrap;              /* the caller vouches that this node never ran before (a new
                                    cluster's first start): a start without persisted state then
                                    skips recovery. Default false: a node started without
                                    persisted state may have granted leases and acknowledged
                                    tokens in an earlier life, so it grants nothing for one lease
                                    plus drift and until it has learnt a token floor and its
                                    attempt epoch from a quorum formed without itself. Ignored
                                    when persisted state is handed to dm_node_new. */
    bool spread;                 /* place the quorum system's members per lock name
                                    (core/quorum.h placements), so that different names
                                    have different roots and the arbiters' load spreads.
                                    Default true. Like `quorum`, every member must have
                                    the same value: quorums of one name must come from
                                    one placement */
    int64_t lock_delay_us;       /* Chubby's lock-delay: after a grant ended without a release
                                    (its lease ran out, or it was revoked), the arbiter grants
                                    the name to nobody for this long; a RELEASE from that
                                    grantee ends it at once. Every member must have the same
                                    value. Default 0: off */
    bool grant_cache;            /* sticky grants (docs/PROTOCOL.md "Sticky grants"): an unlock
                                    of an uncontended hold keeps the quorum's grants, and a
                                    lock() of the name soon after re-uses them with the next
                                    token, without a network round. Per node; arbiters reserve
                                    the tokens it needs when asked, whatever their own value.
                                    Default false */
    int64_t grant_cache_idle_us; /* how long at most kept grants wait for a re-use; never
                                    past the next renewal either. Default 100 ms */
    /* The epoch policy (dm_policy_ops.epochs) only: */
    int64_t reconfig_delay_us;   /* a member out of SWIM's view this long is removed from the
                                    configuration; default 10 s */
    int64_t rejoin_delay_us;     /* a member back in view this long is added back; default 30 s */
    uint32_t reconfig_min_size;  /* a change never leaves fewer members; default 3 */
    int64_t reconfig_interval_us; /* a node starts at most one change per this (the rate limit
                                    against flapping); default 5 s */
    bool reconfig_auto;          /* SWIM's view changes the configuration (reconfig_delay,
                                    rejoin_delay); false: only dm_node_change_members does,
                                    and an interrupted change is still finished. Default true */
    uint32_t initial_members;    /* C_1 holds the ids below this (0: every member); the others
                                    are spare ids, outside every configuration until an
                                    operator adds them (dm_node_change_members_bind). The same
                                    on every member. Default 0 */
    dm_swim_config swim;         /* SWIM timing; n_members, self, seed and
                                    incarnation are filled in by the node */
} dm_config;

#define DM_LOST_MARGIN_RELATIVE (-1)

/* Fill every field with its default (n_members and self stay 0). */
void dm_config_defaults(dm_config *cfg);
/* The largest lost_margin_us cfg's lease and drift bound allow: half the
 * lease shortened by the drift bound (0 when those are invalid). */
int64_t dm_config_lost_margin_max(const dm_config *cfg);
/* The lost margin in force, in us: lost_margin_us, or lost_margin_ppm of
 * the lease when that is DM_LOST_MARGIN_RELATIVE. */
int64_t dm_config_lost_margin(const dm_config *cfg);

typedef struct dm_node_stats {
    uint64_t sent[DM_MSG_TYPE_COUNT];       /* network messages, by type */
    uint64_t received[DM_MSG_TYPE_COUNT];
    uint64_t local;                         /* messages to itself, handled in-process */
    uint64_t rejected;                      /* received messages failing validation */
    uint64_t stale;                         /* received messages ignored as stale/duplicate */
    uint64_t grants;                        /* grants issued as arbiter */
    uint64_t lease_expiries;                /* grants ended by lease expiry */
    uint64_t acquired, failed, lost;        /* requester outcomes */
    uint64_t persists;
    uint64_t retransmits;                   /* REQUEST/KEEP/RECOVER re-sent after a timeout */
    uint64_t rtt_samples;                   /* round trips measured (KEEP/KEPT, RECOVER/FLOOR) */
    uint64_t epochs;                        /* epoch policy: configurations installed */
    uint64_t proposals;                     /* ... changes this node proposed */
    uint64_t epoch_stale;                   /* ... lock messages of another epoch (answered
                                               with the newer configuration, or asked for it) */
    uint64_t cache_reuses;                  /* grant_cache: holds that re-used kept grants */
    uint64_t cache_releases;                /* ... kept grants given up without a re-use */
} dm_node_stats;

/* Create a node at driver time `now`. `persisted` is what the node last
 * handed to dm_driver.persist (NULL/0 on a first start): a node restarted
 * with it keeps its tokens increasing and waits out the leases its previous
 * life might have granted. Returns 0 and sets *out, or a negative code. */
int dm_node_new(const dm_config *cfg, const dm_driver *driver, void *user,
                int64_t now, const void *persisted, size_t persisted_len,
                dm_node **out);
void dm_node_free(dm_node *n);

/* Application calls. lock() returns 0 when the attempt started (its outcome
 * comes later as GRANTED or FAILED, never from inside this call) and stores
 * the attempt's id in *attempt (may be NULL): every event about this attempt
 * carries the same id in dm_event.attempt, and an outcome must be matched by
 * it, never by the lock name alone (an earlier attempt's FAILED can be
 * delivered after a new attempt started). Or at once -DM_EBADNAME, -DM_EBUSY
 * (already held or being acquired here), -DM_ENOQUORUM, -DM_EINVAL
 * (timeout <= 0), -DM_ERECOVERING (started without persisted state, the
 * attempt epoch is not known yet: usually one round trip). unlock() returns
 * 0 or -DM_EBADNAME / -DM_ENOTHELD. With grant_cache an unlock may keep the
 * grants, and a lock() of the name soon after is GRANTED at the next tick
 * without a message; the name is not held meanwhile (dm_node_holds). */
int dm_node_lock(dm_node *n, int64_t now, const char *name, int64_t timeout_us,
                 uint64_t *attempt);
/* A try-lock: as lock(), but an arbiter of the quorum that finds the lock
 * held by another -- granted to a requester that announced its token, or
 * withheld by lock_delay -- answers HELD at once, and the attempt ends with
 * DM_EV_FAILED (-DM_EHELD) at the next tick, its grants released. Mere
 * contention (others acquiring, nobody holding) is resolved as for lock(),
 * within timeout_us. */
int dm_node_try_lock(dm_node *n, int64_t now, const char *name, int64_t timeout_us,
                     uint64_t *attempt);
int dm_node_unlock(dm_node *n, int64_t now, const char *name);
/* Abandon an acquisition in progress: every grant it collected is released
 * and it ends with DM_EV_FAILED (-DM_ECANCELED) at the next tick. Returns 0,
 * -DM_EBUSY when the lock is already held (unlock it instead),
 * -DM_ENOTHELD when nothing is being acquired, or -DM_EBADNAME. */
int dm_node_cancel(dm_node *n, int64_t now, const char *name);

/* A message from the network. Returns 0, or a negative code when the
 * message was rejected (counted in stats.rejected; nothing else changes). */
int dm_node_receive(dm_node *n, int64_t now, const dm_msg *msg);
/* As dm_node_receive, for a message that a dm_node of the same cluster
 * built and that reached this process unchanged (the simulator's own
 * deliveries): the field-by-field check of dm_msg_validate is skipped, as
 * the sending core made it, and its name_key spares hashing the name; what
 * depends on the receiver (addressee, policy, epoch) is still checked.
 * Whatever came from outside -- a network, a test, a tap that may have
 * changed it -- goes to dm_node_receive. */
int dm_node_receive_own(dm_node *n, int64_t now, const dm_msg *msg);

/* Process everything due at or before `now`. Safe to call at any time. */
void dm_node_tick(dm_node *n, int64_t now);

/* When the node next needs dm_node_tick(), or DM_NEVER. */
int64_t dm_node_next_deadline(const dm_node *n);

/* Leave gracefully: release every lock held, fail every acquisition in
 * progress (-DM_ESHUTDOWN), announce LEFT to the members. lock() fails with
 * -DM_ESHUTDOWN afterwards; the node keeps answering as an arbiter until
 * freed. */
void dm_node_leave(dm_node *n, int64_t now);

/* Queries. */
const dm_node_stats *dm_node_get_stats(const dm_node *n);
/* The membership module, NULL when cfg.membership is false: read the
 * member list (dm_membership_info, _in_view, _view_hash, stats) from it. */
const dm_membership *dm_node_membership(const dm_node *n);
/* Digest of the view this node forms quorums over: the members in view
 * under MEMBERLIST, all configured members under AE. */
uint64_t dm_node_view_hash(const dm_node *n);
uint32_t dm_node_self(const dm_node *n);
uint32_t dm_node_members(const dm_node *n);
const dm_config *dm_node_config(const dm_node *n);
/* True while `name` is held (granted, lease trusted) by this node. */
bool dm_node_holds(const dm_node *n, const char *name);
/* Fencing token of a held lock, 0 if not held. */
uint64_t dm_node_token(const dm_node *n, const char *name);
/* The locks this node holds now, as the core sees them (a driver shows or
 * checks these rather than mirroring them from events). */
typedef struct dm_held_lock {
    const char *name;        /* valid during the callback */
    uint64_t attempt;
    uint64_t token;
    int64_t lease_until;     /* node-local */
} dm_held_lock;
/* Calls fn for every held lock, in no particular order, until fn returns
 * non-zero (which is returned). Returns 0 after visiting all. fn must not
 * call into the node. */
int dm_node_foreach_held(const dm_node *n, int (*fn)(const dm_held_lock *lock, void *user),
                         void *user);
/* The attempt id under which `name` is held, 0 when it is not held. */
uint64_t dm_node_held_attempt(const dm_node *n, const char *name);
/* The configuration epoch this node is in (epoch policy), else 0; and
 * whether it is sealed (a change of configuration is being agreed: it grants
 * and renews nothing until the next one is installed). */
uint64_t dm_node_config_epoch(const dm_node *n);
bool dm_node_sealed(const dm_node *n);
/* Epoch policy: the installed configuration's member ids, ascending, into
 * out (cap >= dm_node_members()); returns the count, or 0 under other
 * policies. */
uint32_t dm_node_config_members(const dm_node *n, uint32_t *out, uint32_t cap);
/* False when the epoch policy's installed configuration does not hold this
 * node (it grants nothing then); true otherwise. */
bool dm_node_is_config_member(const dm_node *n);
/* Epoch policy: propose the installed configuration with `member` added
 * (add) or removed, as an operator does. 0: the outcome comes as a
 * DM_EV_RECONFIG event (never from inside this call). -DM_EINVAL: not the
 * epoch policy, `member` is no member id, or already is / is not in the
 * configuration; -DM_EBUSY: a change is being agreed (this node proposes
 * one, or is sealed); -DM_ETOOFEW: fewer than reconfig_min_size members
 * would remain; -DM_ESHUTDOWN: leaving; -DM_ERECOVERING: this node is still
 * recovering its token floor. */
int dm_node_change_members(dm_node *n, int64_t now, uint32_t member, bool add);
/* The same, the successor configuration carrying `bind` (opaque driver
 * bytes, see dm_epoch_config.bind; the net driver's: the address of a new
 * id), agreed with it. -DM_EINVAL also for a binding that is too long or
 * holds a NUL. */
int dm_node_change_members_bind(dm_node *n, int64_t now, uint32_t member, bool add,
                                const void *bind, size_t bind_len);
/* Epoch policy: the binding the installed configuration carries (set by
 * the change that installed it; *len 0: none). Valid until the next call
 * into the node. NULL under other policies. */
const uint8_t *dm_node_config_bind(const dm_node *n, size_t *len);
/* Epoch policy: ask every other member of the installed configuration for a
 * newer one (STALE; a member that knows one answers NEWER). Lock traffic
 * does this by itself; a node that has none -- removed, or restarted into
 * an old configuration nobody sends to -- calls it now and then. Returns the
 * number of members asked, or -DM_EINVAL under other policies. */
int dm_node_epoch_catch_up(dm_node *n, int64_t now);
/* Epoch policy: this node is not in its installed configuration and must
 * not be taken back by the automatic trigger (it was removed, and started
 * again with its data): it leaves SWIM's view (LEFT) and proposes nothing
 * until a configuration that holds it is installed (an operator's add);
 * then it rejoins the view. 0, or -DM_EINVAL (not the epoch policy, no
 * SWIM, or a member of the configuration). */
int dm_node_stay_out(dm_node *n, int64_t now);
/* Epoch policy: this node lost its state in its current epoch and may not
 * vote in it (it proposes a successor so that it can vote again). */
bool dm_node_abstaining(const dm_node *n);

/* The quorum system this node forms quorums from (over every member under
 * `ae`, over its view under `memberlist`). */
const dm_quorum *dm_node_quorum_system(const dm_node *n);
/* The quorum this node would ask if the application called lock(name) at
 * `now`: the one formation rule (avoid suspects and members SWIM does not
 * see alive, this node while it may not grant; fall back to avoiding only
 * the dead), so that drivers that show or account for quorums never
 * rewrite it. With cfg.spread the quorum depends on the name's placement;
 * name NULL means placement 0, the system as built. Writes the ids to out
 * (cap >= dm_node_members()); returns the size, -DM_ENOQUORUM or -DM_EINVAL. */
int dm_node_current_quorum(dm_node *n, int64_t now, const char *name, uint32_t *out,
                           uint32_t cap);
/* Recovery after a start: DM_RECOVERY_NONE once the node may grant;
 * DM_RECOVERY_FLOOR while it collects a token floor and its attempt epoch
 * from a quorum formed without itself (started without persisted state);
 * DM_RECOVERY_QUIET while it waits out leases an earlier life may have
 * granted. `until` (may be NULL) gets the end of the quiet period. */
typedef enum dm_recovery {
    DM_RECOVERY_NONE = 0,
    DM_RECOVERY_FLOOR,
    DM_RECOVERY_QUIET,
} dm_recovery;
dm_recovery dm_node_recovery(const dm_node *n, int64_t *until);
/* "none" / "floor" / "quiet". */
const char *dm_recovery_name(dm_recovery r);
/* Smoothed round trip to `member` (0 before any sample) and the current
 * retransmission timeout towards it, microseconds. */
int64_t dm_node_srtt(const dm_node *n, uint32_t member);
int64_t dm_node_rto(const dm_node *n, uint32_t member);
/* The lease length a holder may trust: lease_us shortened by the drift bound,
 * less lost_margin_us. */
int64_t dm_node_holder_lease(const dm_node *n);
/* This node's arbiter view of `name`. Returns false (and zeroes *out) when
 * it keeps no state for that name. */
typedef struct dm_arbiter_info {
    bool granted;
    uint32_t grantee;            /* UINT32_MAX when not granted */
    uint64_t grantee_attempt;
    uint64_t grant;              /* the grant's id, which is its token */
    int64_t lease_until;         /* node-local */
    uint32_t waiting;            /* queued requests */
} dm_arbiter_info;
bool dm_node_arbiter_info(const dm_node *n, const char *name, dm_arbiter_info *out);

/* Number of lock names with any state here (arbiter or requester). */
uint32_t dm_node_lock_count(const dm_node *n);

#endif
