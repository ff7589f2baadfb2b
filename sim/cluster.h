/* dmutex simulator: the cluster fixture for tests.
 *
 * A cluster of N core nodes on the simulator's world (world.h), driven by
 * the test instead of by a workload and a fault schedule, in the spirit of
 * cowsql/raft's raft_fixture: step one event, step until a predicate holds
 * (bounded in simulated time and in events), crash, restart, wipe, pause,
 * partition, lose and duplicate messages, all on the world's one event loop
 * and network model. The world's safety checker (checker.h) sees every
 * grant, renewal, loss, unlock and crash, so a test that breaks mutual
 * exclusion or token order fails through the checker.
 *
 * Locks a test takes with dm_cluster_lock are its own: their outcomes are
 * recorded per node, by attempt id, in the node's event log, and fed to the
 * checker here. A configuration may also run the world's workload
 * (cfg.interarrival_us > 0: clients on "lock0", "lock1", ...); those locks
 * belong to the world's clients, which feed the same checker.
 *
 * Every event every node reports is logged (dm_cluster_event), every
 * message a node sends is counted by type and by sender and recipient, and
 * the core's contract is checked as it goes: a GRANTED whose lease is
 * already over, a member event about oneself, a view event whose hash is
 * not the membership's are counted as contract errors (dm_cluster_ok).
 */
#ifndef DMUTEX_SIM_CLUSTER_H
#define DMUTEX_SIM_CLUSTER_H

#include <stdint.h>
#include <stdbool.h>
#include <glib.h>
#include "checker.h"
#include "membership.h"
#include "message.h"
#include "node.h"
#include "simconfig.h"
#include "world.h"

typedef struct dm_cluster dm_cluster;

#define DM_CLUSTER_ALL UINT32_MAX

/* One event a node reported, as the fixture logged it. */
typedef struct dm_cluster_event {
    int64_t at;                  /* global */
    dm_event_type type;
    const char *name;            /* interned; NULL for MEMBER and VIEW */
    uint64_t attempt;
    uint64_t token;
    int64_t lease_until;         /* global */
    int reason;
    uint32_t member;             /* MEMBER */
    dm_member_event_type member_event;
} dm_cluster_event;

/* The fixture's defaults for `nodes` nodes: the core's timing of the unit
 * tests (lease 2 s, rpc timeout 200 ms, suspicion 2 s, drift bound 1 %),
 * SWIM off, clocks without offset or drift, and a network of exactly 1 ms
 * per message with no jitter, loss, duplication or reordering (so messages
 * between two nodes arrive in the order sent and counts are exact); no
 * workload, no faults, a fault phase that outlasts any test. */
void dm_cluster_config(dm_sim_config *cfg, uint32_t nodes);

/* A cluster running `cfg` (copied, then resolved with cfg->seed). Errors
 * name what is wrong: a configuration that does not resolve, or one with
 * faults (the test applies them). */
dm_cluster *dm_cluster_new(const dm_sim_config *cfg, GError **err);
void dm_cluster_free(dm_cluster *c);

dm_world *dm_cluster_world(const dm_cluster *c);
const dm_sim_config *dm_cluster_cfg(const dm_cluster *c);
uint32_t dm_cluster_size(const dm_cluster *c);
int64_t dm_cluster_now(const dm_cluster *c);

/* ---------------------------------------------------------------- time */

/* Process the next event; false when nothing is queued. */
bool dm_cluster_step(dm_cluster *c);
/* Process every event due by `t`, then stand at `t` (never moves back). */
void dm_cluster_run_until(dm_cluster *c, int64_t t);
void dm_cluster_run_for(dm_cluster *c, int64_t dt);

typedef bool (*dm_cluster_pred)(dm_cluster *c, void *user);
/* Step until pred holds (checked before each event and after the last),
 * but not past `max_time` (global) nor more than `max_events` events (0:
 * no bound but time). Returns the time pred first held, or -1. */
int64_t dm_cluster_step_until(dm_cluster *c, dm_cluster_pred pred, void *user, int64_t max_time,
                              uint64_t max_events);

/* ---------------------------------------------------------------- nodes */

/* Node i's core (NULL while it is down), its membership (NULL without
 * SWIM or while down), its clock. */
dm_node *dm_cluster_node(const dm_cluster *c, uint32_t i);
const dm_membership *dm_cluster_membership(const dm_cluster *c, uint32_t i);
int64_t dm_cluster_local_now(const dm_cluster *c, uint32_t i);
bool dm_cluster_is_up(const dm_cluster *c, uint32_t i);   /* running or paused */

/* The application on node i (core calls at the node's clock; -DM_EINVAL
 * for a node that is down or paused, or a lock of the world's workload). */
int dm_cluster_lock(dm_cluster *c, uint32_t i, const char *name, int64_t timeout_us,
                    uint64_t *attempt);
int dm_cluster_try_lock(dm_cluster *c, uint32_t i, const char *name, int64_t timeout_us,
                        uint64_t *attempt);
int dm_cluster_unlock(dm_cluster *c, uint32_t i, const char *name);
int dm_cluster_cancel(dm_cluster *c, uint32_t i, const char *name);
bool dm_cluster_holds(const dm_cluster *c, uint32_t i, const char *name);
/* Step until node i holds `name`: the time it first did, or -1 when it did
 * not by `until` (global). */
int64_t dm_cluster_step_until_holds(dm_cluster *c, uint32_t i, const char *name, int64_t until);
/* lock(), then step until node i holds `name` or `within` has passed. */
bool dm_cluster_acquire(dm_cluster *c, uint32_t i, const char *name, int64_t timeout_us,
                        int64_t within);
/* Node i leaves the cluster (dm_node_leave): its holds end. */
int dm_cluster_leave(dm_cluster *c, uint32_t i);
/* Hand node i a message now, as if it had just arrived (no tap, no
 * network); dm_node_receive's result. */
int dm_cluster_inject(dm_cluster *c, uint32_t i, const dm_msg *m);
/* Put a message on the network as if m->from had sent it. */
int dm_cluster_send(dm_cluster *c, const dm_msg *m);

/* ---------------------------------------------------------------- faults */

int dm_cluster_crash(dm_cluster *c, uint32_t i);
int dm_cluster_restart(dm_cluster *c, uint32_t i);   /* crashes it first if it runs */
int dm_cluster_wipe(dm_cluster *c, uint32_t i);      /* crash, losing its disk */
int dm_cluster_pause(dm_cluster *c, uint32_t i);
int dm_cluster_resume(dm_cluster *c, uint32_t i);
int dm_cluster_isolate(dm_cluster *c, uint32_t i);
int dm_cluster_cut(dm_cluster *c, uint32_t a, uint32_t b);   /* both directions */
/* Cut every link between nodes of different sides (side[i], n entries). */
int dm_cluster_partition(dm_cluster *c, const int *side);
void dm_cluster_heal(dm_cluster *c);
int dm_cluster_set_rates(dm_cluster *c, double loss, double dup, double reorder);

/* A test's own hooks on node i, called after the fixture's bookkeeping
 * (the fixture owns the world's tap slot). NULL removes them. */
void dm_cluster_set_tap(dm_cluster *c, uint32_t i, const dm_world_tap *tap, void *user);

/* ---------------------------------------------------------------- what happened */

/* Messages of `type` sent (lost ones included) by `from` to `to`; either
 * may be DM_CLUSTER_ALL. */
uint64_t dm_cluster_sent(const dm_cluster *c, uint32_t from, uint32_t to, dm_msg_type type);
/* Every message sent, of every type. */
uint64_t dm_cluster_sent_all(const dm_cluster *c);

uint32_t dm_cluster_event_count(const dm_cluster *c, uint32_t i);
const dm_cluster_event *dm_cluster_event_get(const dm_cluster *c, uint32_t i, uint32_t k);
/* Events of `type` at node i (or every node). */
uint64_t dm_cluster_count(const dm_cluster *c, uint32_t i, dm_event_type type);
/* The last outcome (GRANTED, FAILED, LOST, RENEWED) node i reported for
 * `attempt`; 0: none. */
dm_event_type dm_cluster_outcome(const dm_cluster *c, uint32_t i, uint64_t attempt);
/* MEMBER events of `type` that `observer` reported about `about` (either
 * may be DM_CLUSTER_ALL), and the first time one was; INT64_MAX: never. */
uint32_t dm_cluster_member_events(const dm_cluster *c, uint32_t observer, uint32_t about,
                                  dm_member_event_type type);
int64_t dm_cluster_member_event_first(const dm_cluster *c, uint32_t observer, uint32_t about,
                                      dm_member_event_type type);

dm_checker *dm_cluster_checker(const dm_cluster *c);
uint64_t dm_cluster_violations(const dm_cluster *c, dm_violation_kind kind);
/* Contract errors the fixture saw (see above). */
uint64_t dm_cluster_contract_errors(const dm_cluster *c);
/* No violation, contract error, or breach the world counts (api errors,
 * stuck ticks, failed starts, codec errors). */
bool dm_cluster_ok(const dm_cluster *c);

/* Every running member's SWIM view is the same, with every running member
 * ALIVE in it and every crashed one out of it. */
bool dm_cluster_converged(const dm_cluster *c);
bool dm_cluster_pred_converged(dm_cluster *c, void *user);

#endif
