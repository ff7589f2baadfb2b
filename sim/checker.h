/* dmutex simulator: the safety checkers.
 *
 * The checker sees the simulated world in global (true) time and judges it:
 *  - mutual exclusion, per lock name: at every instant at most one node is
 *    inside the critical section. A node's interval runs from the grant to
 *    the earliest of its unlock, its crash, its "lost" event and the lease
 *    end the core last reported (converted to global time by the caller);
 *  - fencing: tokens strictly increase across successive holders of a lock
 *    name (in grant order), and a fenced resource per lock name accepts a
 *    write only if its token is >= every token it accepted before. A write
 *    from a node whose interval has ended is "stale": the resource must
 *    reject it whenever a newer holder has written; both outcomes are
 *    counted, and an accepted stale write after a newer token was accepted
 *    is a violation (it cannot happen with a correct resource, which is the
 *    point of having the check);
 *  - liveness: requests registered as pending must resolve before a deadline;
 *  - lock delay, per arbiter and lock name: after a grant lapsed there (its
 *    lease ran out or it was revoked, not released), the arbiter grants the
 *    name to nobody until the delay is over, unless the lapsed grantee's
 *    release came first.
 *
 * Every violation is recorded with a one-line description; the caller
 * decides what to print. Times are global microseconds, and calls come in
 * nondecreasing time (the simulator's clock): a hold closed at or before the
 * current call's time is forgotten.
 */
#ifndef DMUTEX_SIM_CHECKER_H
#define DMUTEX_SIM_CHECKER_H

#include <stdint.h>
#include <stdbool.h>
#include <glib.h>

typedef struct dm_checker dm_checker;

typedef enum dm_violation_kind {
    DM_VIOLATION_MUTEX = 1,      /* two holders overlap */
    DM_VIOLATION_TOKEN,          /* token not greater than the previous holder's */
    DM_VIOLATION_FENCE,          /* resource accepted a token below one it accepted */
    DM_VIOLATION_LIVENESS,       /* a pending request missed its deadline */
    DM_VIOLATION_MARGIN,         /* a holder whose hold ran out (lost or expired, not
                                    released) held it within the lost margin of a later
                                    grant to another node */
    DM_VIOLATION_DELAY,          /* a grant inside a lock_delay that no release ended */
} dm_violation_kind;

/* "mutex", "token", "fence", "liveness", "margin",
 * "delay"; "?" for anything else. The one
 * spelling the summary, the shrinker and the CSVs share. */
const char *dm_violation_kind_name(int kind);

typedef struct dm_violation {
    dm_violation_kind kind;
    int64_t at;
    char *lock;
    uint32_t node;
    uint32_t other;              /* the other holder, for MUTEX; else UINT32_MAX */
    char *text;                  /* one line, no newline */
} dm_violation;

dm_checker *dm_checker_new(uint32_t n_nodes);
void dm_checker_free(dm_checker *c);

/* Mutual exclusion and token order. A hold begins at `t` with `token` and a
 * lease that ends at `lease_end` (global). extend moves the lease end of the
 * current hold of (node, lock); end closes it at `t` (unlock, lost, crash;
 * `why` is informational: an ended hold cannot take part in a later
 * violation). Calls for a node that does not hold are ignored by extend and
 * end. */
void dm_checker_hold_begin(dm_checker *c, int64_t t, uint32_t node, const char *lock,
                           uint64_t token, int64_t lease_end);
void dm_checker_hold_extend(dm_checker *c, int64_t t, uint32_t node, const char *lock,
                            int64_t lease_end);
void dm_checker_hold_end(dm_checker *c, int64_t t, uint32_t node, const char *lock,
                         const char *why);
/* The lost margin (core lost_margin, default 10 % of the lease): a hold that ends by
 * running out -- "lost", or its lease end passing -- rather than by a
 * release or a crash must end at least `margin_us` before another node's
 * grant (a MARGIN violation otherwise; an overlap stays a MUTEX one). A
 * release or a crash stopped the holder itself, so neither is held to it.
 * hold_lost closes a hold for that reason at MIN(lease end, t). */
void dm_checker_set_margin(dm_checker *c, int64_t margin_us);
void dm_checker_hold_lost(dm_checker *c, int64_t t, uint32_t node, const char *lock);
/* End every hold of a node (crash). */
void dm_checker_node_down(dm_checker *c, int64_t t, uint32_t node, const char *why);

/* True if (node, lock) is inside its interval at time t. */
bool dm_checker_holds(const dm_checker *c, int64_t t, uint32_t node, const char *lock);

/* A write to the fenced resource of `lock` by `node` with `token` at `t`.
 * Returns true when the resource accepts it. */
bool dm_checker_write(dm_checker *c, int64_t t, uint32_t node, const char *lock, uint64_t token);
/* For tests only: the resource accepts every write, so the FENCE check can
 * be seen to fire. */
void dm_checker_set_resource_broken(dm_checker *c, bool broken);

/* Liveness: register a pending request (id chosen by the caller) that must
 * resolve by `deadline`; resolve it; check() reports every pending request
 * whose deadline is <= t as a violation (once). */
void dm_checker_expect(dm_checker *c, uint64_t id, uint32_t node, const char *lock, int64_t deadline);
void dm_checker_resolve(dm_checker *c, uint64_t id);
void dm_checker_check_deadlines(dm_checker *c, int64_t t);
/* Requests registered and not yet resolved, overdue ones included. */
uint32_t dm_checker_pending(const dm_checker *c);

/* Record a violation the caller found itself (the simulator's check that
 * live members agree on one view by the liveness bound): counted under
 * `kind` and listed with `text` like every other. `lock` may be NULL. */
void dm_checker_add_violation(dm_checker *c, dm_violation_kind kind, int64_t t, const char *lock,
                              uint32_t node, const char *text);

/* Lock delay, as arbiter `arbiter` of `lock` saw it (the core's
 * DM_EV_ARBITER): the grant to (grantee, attempt) lapsed at t, so nothing
 * may be granted before `until` (global: the caller converts the arbiter's
 * own clock plus the configured lock_delay); the release of that attempt
 * ends the delay; a grant at t inside a delay not so ended is a violation.
 * A later lapse replaces an earlier one. */
void dm_checker_arb_lapse(dm_checker *c, int64_t t, uint32_t arbiter, const char *lock,
                          uint32_t grantee, uint64_t attempt, int64_t until);
void dm_checker_arb_release(dm_checker *c, int64_t t, uint32_t arbiter, const char *lock,
                            uint32_t grantee, uint64_t attempt);
void dm_checker_arb_grant(dm_checker *c, int64_t t, uint32_t arbiter, const char *lock,
                          uint32_t grantee);

typedef struct dm_checker_counts {
    uint64_t holds;
    uint64_t writes_accepted;
    uint64_t writes_rejected;        /* stale writes the resource refused */
    uint64_t stale_writes_accepted;  /* from an ended interval, but no newer token seen yet */
    uint64_t violations[DM_VIOLATION_DELAY + 1];    /* indexed by dm_violation_kind */
} dm_checker_counts;

const dm_checker_counts *dm_checker_get_counts(const dm_checker *c);
uint32_t dm_checker_violation_count(const dm_checker *c);
/* Call fn(user) after each violation is recorded (one at a time; NULL: none),
 * so that a caller need not poll the count after every step. */
void dm_checker_on_violation(dm_checker *c, void (*fn)(void *user), void *user);
/* The i-th violation, in the order found. */
const dm_violation *dm_checker_violation(const dm_checker *c, uint32_t i);

#endif
