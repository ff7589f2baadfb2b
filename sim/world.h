/* dmutex simulator: the simulated world.
 *
 * One single-threaded, deterministic discrete-event loop runs a cluster of
 * core nodes (the same core objects every driver links) over a simulated
 * network, with drifting clocks, crashes, restarts, pauses, partitions and a
 * lock workload, and feeds what happens to the safety checker (checker.h).
 *
 * Events sit in one heap (core/heap.h, 4-ary) keyed by (global time, insertion sequence).
 * One master seed derives independent PRNG streams -- "network" (latency,
 * loss, duplication, reordering), "faults" (when, where, which shape),
 * "workload" (arrivals, holds), ("node", i) (node i's clock and the seed of
 * each of its incarnations), and "swarm" (simconfig's draws) -- so changing,
 * say, the workload does not reshuffle message timings or faults. Same resolved configuration, same events in
 * the same order: same trace bytes and the same 64-bit hash, which is folded
 * from every event whether or not a trace is written.
 *
 * A run has two phases. In the fault phase (cfg.duration) faults happen and
 * clients lock and unlock. Then the liveness phase: faults stop, the network
 * heals, crashed nodes restart and paused ones resume; every node asks for
 * every lock once more, and each request must be GRANTED within
 * cfg.liveness (registered with dm_checker_expect), and all live members
 * must agree on one view: the same SWIM view (dm_membership_view_hash) and
 * the same tree (dm_node_view_hash, which only differs under memberlist).
 * The run ends when all are granted while the views agree, or when the
 * bound has passed; views still apart then are a liveness violation.
 *
 * Membership metrics. Every crash opens a detection record (with
 * membership on): the time from the crash to the first SUSPECT or DEAD
 * event about the crashed node at any live member (0 if one already had it
 * so), to the first instant every live member has it DEAD, and to the first
 * instant every live member also agrees on one view and one tree. "Live"
 * means the process runs (not crashed; a paused node is live). A record is
 * closed when it converges, and censored (unknown times stay -1) when the
 * node restarts or the run ends first. A SUSPECT or DEAD event about a
 * member whose process is running counts as false (one per event, at every
 * member that reports it); the _connected counts keep those whose member
 * was neither paused nor behind a cut link at that instant.
 *
 * Availability. Over the fault phase the world integrates, exactly (state
 * only changes at events), the time during which a quorum of the fixed tree
 * over all configured members exists among the members whose process runs
 * (not crashed; a paused node counts as up): quorum_us, the ground truth of
 * "availability". Beside it, quorum_views_us: the time during which at least
 * one running node's own current tree (dm_node_tree: the fixed tree under
 * ae, its view's tree under memberlist) has a quorum among the running
 * members. Both are kept in every run; churn (DM_FAULT_CHURN) is the fault
 * mode that measures them: every node alternates exponential up and down
 * periods from a stationary start, from its own stream ("churn", i), so the
 * up/down schedule depends on the seed alone, not on the protocol.
 *
 * Timeline (dm_world_set_timeline): CSV rows sampling every node every
 * cfg.timeline_interval_us, one row per fault interval and one for the
 * liveness phase (columns: dm_world_timeline_header, sim/README.md).
 * Samples are taken between events, outside the heap: they change neither
 * the events, nor their order, nor the hash. */
#ifndef DMUTEX_SIM_WORLD_H
#define DMUTEX_SIM_WORLD_H

#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include "checker.h"
#include "message.h"
#include "node.h"
#include "simconfig.h"

typedef struct dm_world dm_world;

typedef struct dm_world_stats {
    uint64_t events;            /* events processed (heap events and buffered deliveries) */
    uint64_t queued_sum;        /* events left in the heap, summed over the heap events popped
                                   (bench_sim's bare-heap baseline runs at its mean) */
    uint64_t popped;            /* heap events popped */
    int64_t sim_us;             /* global time at the end */
    int64_t liveness_start_us;
    /* network */
    uint64_t messages;          /* sent by the nodes */
    uint64_t delivered;
    uint64_t dropped_cut;       /* at send or at delivery */
    uint64_t dropped_loss;
    uint64_t dropped_down;      /* addressed to a crashed node */
    uint64_t dropped_overflow;  /* a paused node's buffer was full */
    uint64_t dropped_tap;
    uint64_t duplicated;
    uint64_t reordered;
    uint64_t rejected;          /* dm_node_receive refused them */
    uint64_t codec_errors;      /* codec round trip failed or changed the frame */
    /* workload */
    uint64_t attempts;          /* lock() calls that started an attempt */
    uint64_t acquisitions;      /* GRANTED */
    uint64_t failed;            /* FAILED, or lock() refused for another reason than busy */
    uint64_t lost;              /* LOST */
    uint64_t renewals;          /* RENEWED */
    uint64_t cache_reuses;      /* GRANTED by a re-use of kept grants (core.grant_cache): no
                                   message, though the quorum holds other members */
    uint64_t ebusy;             /* lock() while this client had one outstanding: -DM_EBUSY */
    uint64_t arrivals;          /* requests the clients made in the fault phase */
    uint64_t timeouts;          /* requests whose acquisition timeout ran out: FAILED at the
                                   deadline, or (open loop) expired in the queue */
    uint64_t queue_dropped;     /* open loop: arrived to a full queue */
    uint64_t queue_abandoned;   /* open loop: still queued, within their timeout, when the
                                   client's node crashed or the fault phase ended */
    uint64_t superseded;        /* lock() started an attempt in the instant the previous one
                                   ended, before that one's outcome was delivered */
    uint64_t unlock_notheld;    /* unlock() found the lock already gone */
    uint64_t api_errors;        /* the core broke its API contract (see the trace) */
    uint64_t writes;
    uint64_t member_events;     /* DM_EV_MEMBER (SWIM) */
    uint64_t view_changes;      /* DM_EV_VIEW */
    uint64_t epoch_installs;    /* DM_EV_EPOCH: configurations installed, over all nodes */
    /* membership */
    uint64_t member_msgs;       /* PING, PING_REQ, ACK, NACK, SYNC sent */
    uint64_t member_bytes;      /* their dm_codec_size */
    int64_t node_up_us;         /* total time node processes ran (crash to restart excluded) */
    uint64_t false_suspicions;  /* SUSPECT events about a running member */
    uint64_t false_deaths;      /* DEAD events about a running member */
    uint64_t false_suspicions_connected;   /* ... neither paused nor cut off */
    uint64_t stale_accusations; /* SUSPECT/DEAD about an earlier incarnation of a member that
                                   runs again: old news, not counted as false */
    uint64_t false_deaths_connected;
    uint64_t false_suspicions_healthy;     /* ... nor slow: accusations of a healthy member */
    uint64_t false_deaths_healthy;
    int64_t liveness_view_us;   /* liveness phase: views agreed after this long; -1 never */
    /* availability over the fault phase (see above) */
    int64_t fault_us;           /* the fault phase's length, once it ended */
    int64_t quorum_us;          /* a quorum of the full tree among running members */
    int64_t quorum_views_us;    /* ... of some running node's own tree */
    /* load: max/mean over all nodes of the lock messages (REQUEST, YIELD,
       RELEASE, KEEP) delivered to each as arbiter; 0 without any */
    double arbiter_load_ratio;
    /* the [measure] window (observe_window.c) */
    uint64_t window_grants;     /* GRANTED in the window */
    uint64_t window_lock_msgs;  /* lock-protocol messages delivered in the window */
    uint64_t reconfig_msgs;     /* configuration messages (epoch policy) delivered, whole run */
    double quorum_size_end;     /* mean over running nodes, at the fault phase's end, of the
                                   quorum each would form (placement 0); 0: none */
    /* faults */
    uint64_t crashes, restarts, pauses, resumes, partitions, heals, skews;
    uint64_t wipes;             /* crashes that also lost the persisted state */
    uint64_t slows;             /* slow periods begun (fault_slow.c) */
    uint64_t slowed_msgs;       /* messages a slow node read late */
    uint64_t bootstraps;        /* starts as a node that never ran (cfg.bootstrap) */
    uint64_t recoveries;        /* starts without persisted state that must recover */
    uint64_t shapes[DM_SHAPE_COUNT];
    uint64_t start_failures;    /* dm_node_new refused a (re)start */
    uint64_t stuck_ticks;       /* the core kept asking for a tick it had just had */
    /* liveness phase */
    uint32_t liveness_requests;
    uint32_t liveness_granted;
    int64_t liveness_max_us;    /* slowest grant, from the phase start */
    /* the first safety violation (mutex, token or fence), in context */
    int64_t violation_at;       /* -1: none */
    int violation_kind;         /* dm_violation_kind */
    int violation_shape;        /* partition shape in force, -1: none */
    uint32_t violation_down;    /* nodes crashed then */
    uint32_t violation_paused;
    bool violation_views_agree; /* live members agreed on one view then */
    int violation_holder_in_view; /* at the first mutex violation, the earlier
                                     holder was in the new holder's view (1),
                                     was not (0); -1: no mutex violation */
} dm_world_stats;

/* One crash and how the membership noticed it (times in microseconds from
 * the crash; -1: did not happen before the record closed). */
typedef struct dm_world_detection {
    uint32_t node;
    int64_t crashed_at;         /* global */
    int64_t first_suspect_us;
    int64_t first_dead_us;      /* the first DEAD event about it at any live member */
    int64_t dead_all_us;
    int64_t converge_us;
    bool open;
} dm_world_detection;

/* Interposes on one node, for tests that sabotage it: each hook sees what
 * passes and may change it; returning false suppresses it (the message is
 * not delivered / the event never reaches the world / the message the node
 * sent never enters the network). Any hook may be NULL. */
typedef struct dm_world_tap {
    bool (*receive)(void *user, uint32_t node, dm_msg *msg);
    bool (*notify)(void *user, uint32_t node, dm_event *ev);
    bool (*send)(void *user, uint32_t node, dm_msg *msg);
} dm_world_tap;

/* `cfg` must be resolved (dm_sim_config_resolve) and outlive the world. */
dm_world *dm_world_new(const dm_sim_config *cfg);
void dm_world_free(dm_world *w);

/* Write the text trace to `out`, or keep it in memory when out is NULL. */
void dm_world_set_trace(dm_world *w, FILE *out);
const char *dm_world_trace_text(const dm_world *w);
/* One CSV row per acquisition attempt (see dm_world_csv_header). */
void dm_world_set_csv(dm_world *w, FILE *out);
void dm_world_csv_header(FILE *out);
/* One CSV row per crash detection record (see dm_world_csv_members_header). */
void dm_world_set_csv_members(dm_world *w, FILE *out);
void dm_world_csv_members_header(FILE *out);
/* Timeline rows to `out` (see dm_world_timeline_header); call before
 * dm_world_run. */
void dm_world_set_timeline(dm_world *w, FILE *out);
void dm_world_timeline_header(FILE *out);
void dm_world_set_tap(dm_world *w, uint32_t node, const dm_world_tap *tap, void *user);
/* Append to `steps` (dm_fault_step, the caller's) every fault the fault
 * phase strikes -- drawn, churned, counted or scripted -- as the scripted
 * step that strikes it again: crash, wipe, restart, pause, resume, skew,
 * partition (its shape and sides: the isolated node, or order=), heal,
 * slow (its for=) and the network steps. A churned node's bootstrap and
 * what the random draws decide after are not kept (sim/shrink.c turns
 * the steps into a scenario). Call before dm_world_run. */
void dm_world_record_faults(dm_world *w, GArray *steps);

/* Run both phases to the end. */
void dm_world_run(dm_world *w);

uint64_t dm_world_hash(const dm_world *w);
const dm_world_stats *dm_world_get_stats(const dm_world *w);
dm_checker *dm_world_checker(const dm_world *w);
/* Crash detection records, in crash order. */
uint32_t dm_world_detection_count(const dm_world *w);
const dm_world_detection *dm_world_detection_get(const dm_world *w, uint32_t i);
/* Seconds from each granted workload request's arrival (closed loop: its
 * lock() call) to its GRANTED, in grant order; *count of them. */
const double *dm_world_latencies(const dm_world *w, uint32_t *count);
/* Whether the live members agree on one view and tree right now. */
bool dm_world_views_agree(const dm_world *w);

/* Violations, liveness failures, codec errors or API contract breaches. */
bool dm_world_failed(const dm_world *w);

/* ---------------------------------------------------------------- stepping
 *
 * For the cluster fixture (sim/cluster.h) and tests that drive the world by
 * hand instead of dm_world_run: one event at a time, with faults applied
 * when the caller says. Build the world from a configuration without a
 * workload or faults, whose fault phase outlasts the test, and the phases
 * never change. Calls that take a node index return -DM_EINVAL for one out
 * of range, or when the node is not in a state the call applies to (crash a
 * crashed node, resume a running one); 0 otherwise. */

int64_t dm_world_now(const dm_world *w);
/* When the next event is due (global); INT64_MAX when nothing is queued. */
int64_t dm_world_next_at(const dm_world *w);
/* Process the next event; false when nothing is queued. */
bool dm_world_step(dm_world *w);
/* Move the clock to `t` (global) across a stretch without events: no event
 * may be due before t. */
int dm_world_advance(dm_world *w, int64_t t);

/* Node i's core (NULL while it is down) and its clock. */
dm_node *dm_world_node(const dm_world *w, uint32_t i);
bool dm_world_node_paused(const dm_world *w, uint32_t i);
int64_t dm_world_local_now(const dm_world *w, uint32_t i);
/* A reading of node i's clock, as global time. */
int64_t dm_world_global(const dm_world *w, uint32_t i, int64_t local);
/* The caller called node i's core (lock, unlock, receive, ...): schedule its
 * next deadline and look at its view again. */
int dm_world_sync(dm_world *w, uint32_t i);

int dm_world_crash(dm_world *w, uint32_t i);
/* A crash that also loses what the node persisted. */
int dm_world_wipe(dm_world *w, uint32_t i);
/* Start a crashed node again with what it persisted. */
int dm_world_restart(dm_world *w, uint32_t i);
/* Pause until dm_world_resume: inputs wait, the clock runs on. */
int dm_world_pause(dm_world *w, uint32_t i);
int dm_world_resume(dm_world *w, uint32_t i);
/* What node i persisted; replace it while the node is down (a disk that
 * comes back). */
const uint8_t *dm_world_persisted(const dm_world *w, uint32_t i, size_t *len);
int dm_world_set_persisted(dm_world *w, uint32_t i, const void *bytes, size_t len);

/* Cut node i off from everyone (both directions); cut or mend one
 * directed link; heal every cut. */
int dm_world_isolate(dm_world *w, uint32_t i);
int dm_world_cut(dm_world *w, uint32_t from, uint32_t to, bool cut);
void dm_world_heal(dm_world *w);
/* Loss, duplication and reordering probabilities from now on. */
int dm_world_set_rates(dm_world *w, double loss, double dup, double reorder);
/* Put `m` on the network as if node m->from had sent it now (its send tap
 * included): a test playing a wrong peer. */
int dm_world_send(dm_world *w, const dm_msg *m);

#endif
