/* dmutex simulator: what the world's modules share.
 *
 * The world (world.c: the event loop, nodes, the driver callbacks, phases)
 * is split by concern: faults.c (random and scripted faults, through the
 * fault-kind table of fault.h), workload.c (the clients), the observers
 * of observer.h (the safety checker, membership detection and view
 * agreement, availability, the context of the first violation),
 * timeline.c and output.c (the CSV rows). They all work
 * on the one struct below and on the internal operations declared here;
 * nothing outside sim/ includes this header (world.h is the public API).
 */
#ifndef DMUTEX_SIM_WORLD_INTERNAL_H
#define DMUTEX_SIM_WORLD_INTERNAL_H

#include <inttypes.h>

#include "fault.h"
#include "heap.h"
#include "prng.h"
#include "simclock.h"
#include "simnet.h"
#include "trace.h"
#include "world.h"

/* ---------------------------------------------------------------- types */

typedef enum ev_kind {
    EV_DELIVER = 1,     /* a message reaches its destination (pooled) */
    EV_TICK,            /* a node's deadline */
    EV_ARRIVAL,         /* a client wants the lock (workload) */
    EV_ACTION,          /* a client releases, or asks in the liveness phase */
    EV_RESUME,          /* a pause ends */
    EV_RESTART,         /* a downtime ends (scripted crash for=) */
    EV_GEN,             /* a random fault of kind `arg` */
    EV_STEP,            /* scripted step `arg` */
    EV_UNDO,            /* scripted step `arg` expires (for=) */
    EV_HEAL,            /* a partition ends */
    EV_PHASE,           /* the fault phase ends, or the liveness bound passes */
    EV_CRASH_COUNT,     /* the next of faults.crash_count evenly spread crashes */
    EV_CHURN,           /* a node's churn period ends: it goes down, or comes up */
    EV_READ,            /* a slow node reads a message from its backlog (pooled; arg: life) */
    EV_SLOW_END,        /* a node's slow period ends */
} ev_kind;

/* Every queued thing embeds one of these first, so a popped heap entry is
 * cast back to its owner. */
typedef struct sim_event {
    dm_heap_entry he;
    uint8_t kind;
    uint32_t node;
    uint32_t arg;
} sim_event;

typedef struct sim_msg {
    sim_event ev;
    struct sim_msg *next;     /* free list, or a paused node's inbox */
    bool own;                 /* as a core sent it, untouched: dm_node_receive_own */
    dm_msg msg;
} sim_msg;

/* How many messages one pool allocation makes: the hot loop recycles them
 * and only a growing backlog ever allocates. */
#define MSG_SLAB 64

typedef enum node_state { NODE_UP, NODE_PAUSED, NODE_DOWN } node_state;
typedef enum client_state { CL_IDLE, CL_PENDING, CL_HOLDING } client_state;
typedef enum action_kind { ACT_RELEASE = 1, ACT_REQUEST } action_kind;

/* One (node, lock name) pair: the application on that node using that lock.
 * It knows its attempts by the ids lock() returns and matches every outcome
 * by that id: when lock() lands in the very microsecond the previous
 * attempt's deadline (or lease) ends, the core ends that attempt inside the
 * call and accepts the new one, and the old attempt's FAILED (or LOST) is
 * delivered afterwards (issue 9). That late outcome belongs to the
 * superseded attempt, not to the one in progress. */
typedef struct sim_client {
    sim_event arrival;
    sim_event action;
    uint8_t state;
    uint8_t action_kind;
    bool arrival_deferred;    /* fired while the node was paused */
    bool action_deferred;
    bool live_wanted;         /* the liveness phase wants a grant here */
    bool live_attempt;        /* the current attempt is that request */
    uint64_t token;
    int64_t lease_until;      /* node-local, as the core reported it */
    int64_t requested_at;     /* global */
    int64_t granted_at;       /* global */
    uint32_t messages;
    uint64_t attempt;         /* the attempt in progress or held; 0 when idle */
    uint64_t superseded;      /* an earlier attempt whose outcome is still due; 0 none */
    int64_t superseded_requested_at;   /* ... its lock() call, global */
    int64_t superseded_granted_at;     /* ... its grant, global; -1 if it did not hold */
    uint32_t superseded_messages;
    GArray *waiting;          /* open loop: int64 global arrival times, oldest first; NULL
                                 until the first request has to wait */
} sim_client;

typedef struct sim_node {
    sim_event tick;
    sim_event resume;
    sim_event restart;
    dm_world *w;
    uint32_t id;
    node_state state;
    dm_node *core;
    dm_simclock clock;
    int64_t tick_local;       /* the deadline `tick` was scheduled for */
    dm_prng prng;             /* seeds each incarnation's core */
    GByteArray *persisted;    /* survives crashes */
    bool ran;                 /* started at least once: a start without persisted state is
                                 then a recovery, not a bootstrap */
    bool wiped;               /* down, and what it persisted is lost */
    bool amnesiac;            /* down without a known token floor (wiped, or crashed while
                                 recovering one), or abstaining in its epoch (epoch policy) */
    uint64_t arbiter_msgs;    /* lock messages delivered to it as arbiter, over all lives
                                 (observe_load.c) */
    bool recoverable;         /* a quorum without it exists: after a wipe it can learn a
                                 token floor (not so for one member, or the root of two) */
    sim_msg *inbox, *inbox_tail;
    uint32_t inbox_len;
    sim_client *clients;      /* [cfg->locks] */
    const dm_world_tap *tap;
    void *tap_user;
    bool view_dirty;          /* on the world's dirty list: rehash, recount */
    bool in_census;           /* its view is counted in the world's census */
    uint64_t view_hash;       /* dm_membership_view_hash (0 without membership) */
    uint64_t tree_hash;       /* dm_node_view_hash */
    int64_t up_since;         /* global time the process last started */
    uint32_t life_incarnation; /* its SWIM incarnation when this life started: news about a
                                 lower one is about an earlier life (observe_membership.c) */
    sim_event churn;          /* EV_CHURN */
    dm_prng churn_prng;       /* ("churn", id): its up/down periods */
    bool churn_up;            /* the churn process's state (the process may differ
                                 when other faults crash or restart it) */
    int64_t tl_crashed_at;    /* timeline: open crash interval, -1 none */
    int64_t tl_paused_at;     /* timeline: open pause interval, -1 none */
    /* slow (fault_slow.c): messages read `slow_us` after they arrive */
    int64_t slow_us;          /* 0: not slow */
    sim_event slow_end;       /* EV_SLOW_END */
    uint32_t backlog;         /* messages arrived, not yet read (EV_READ queued) */
    int64_t backlog_last;     /* when the last of them is read */
    uint32_t life;            /* bumped by a crash: a backlog read of an earlier life is dropped */
    int64_t tl_slow_at;       /* timeline: open slow interval, -1 none */
} sim_node;

typedef struct sim_step {
    sim_event ev;
    sim_event undo;
    int32_t node;             /* resolved target */
    double saved;             /* what undo restores */
    int64_t tl_from;          /* timeline: open loss/dup/reorder interval, -1 none */
} sim_step;

/* How many live nodes hold each distinct (view, tree): they agree when
 * there is at most one entry. Few entries exist at any time, so a list. */
typedef struct view_count {
    uint64_t view_hash, tree_hash;
    uint32_t count;
} view_count;

typedef enum phase { PHASE_FAULTS, PHASE_LIVENESS, PHASE_DONE } phase;

struct dm_world {
    const dm_sim_config *cfg;
    dm_heap heap;
    int64_t now;
    phase phase;
    uint32_t n;
    sim_node *nodes;
    sim_client *clients;
    char **lock_names;
    GHashTable *lock_index;   /* name -> index + 1 */
    dm_checker *checker;
    dm_simnet *net;
    double loss, dup, reorder;
    dm_prng fault_prng, work_prng;
    sim_event gen[DM_FAULT_MAX];
    sim_step *steps;
    GArray *record;           /* dm_fault_step: faults struck, or NULL (dm_world_record_faults) */
    sim_event heal, phase_ev;
    uint32_t down;
    sim_msg *free_msgs;
    GPtrArray *slabs;
    dm_trace trace;
    FILE *csv;
    FILE *csv_members;
    int64_t live_deadline;
    int cur_shape;            /* partition shape in force, -1 none */
    sim_event crash_ev;       /* EV_CRASH_COUNT */
    uint32_t crashes_done;    /* of cfg->crash_count */
    bool member_dirty;        /* some node's view may have changed */
    uint32_t *dirty;          /* those nodes, each once */
    uint32_t n_dirty;
    GArray *census;           /* view_count: the distinct views of live nodes */
    bool views_agree;         /* live members agree on one view and tree */
    GArray *detections;       /* dm_world_detection */
    GArray *latencies;        /* double seconds, arrival (or lock()) to GRANTED, per grant of
                                 a workload request */
    uint32_t open_detections;
    uint32_t violations_seen;
    uint32_t event_due;       /* observers whose event callback runs after this event
                                 (observer.h, observe_due): bit i is observers[i] */
    /* availability (world.h): the full tree, who is down, accounted up to */
    dm_quorum *full_quorum;   /* the system over every member: ground truth */
    uint8_t *down_mask;       /* [n] */
    int64_t avail_at;
    bool avail_open;          /* the fault phase is being accounted */
    bool avail_truth, avail_views;
    bool avail_dirty;         /* a node started, crashed or changed its view */
    /* timeline */
    FILE *timeline;
    int64_t tl_next;          /* next sample instant; INT64_MAX: no timeline */
    GString *tl_row;
    uint32_t *tl_quorum;      /* [n] */
    int64_t tl_part_at;       /* open partition interval, -1 none */
    GString *tl_part;         /* its description */
    dm_world_stats stats;
};

/* ---------------------------------------------------------------- helpers */

static inline void event_init(sim_event *e, ev_kind kind, uint32_t node, uint32_t arg)
{
    dm_heap_entry_init(&e->he);
    e->kind = (uint8_t)kind;
    e->node = node;
    e->arg = arg;
}

static inline void schedule(dm_world *w, sim_event *e, int64_t at)
{
    if (dm_heap_schedule(&w->heap, &e->he, at) < 0)
        g_error("simulator event queue: out of memory");
}

static inline void cancel(dm_world *w, sim_event *e)
{
    dm_heap_remove(&w->heap, &e->he);
}

static inline int64_t local_now(const sim_node *nd)
{
    return dm_simclock_local(&nd->clock, nd->w->now);
}

static inline void fold(dm_world *w, uint64_t x)
{
    dm_trace_fold(&w->trace, x);
}

static inline bool tracing(const dm_world *w)
{
    return dm_trace_on(&w->trace);
}

#define TRACE(w, node, ...) \
    do { if (tracing(w)) dm_trace_line(&(w)->trace, (w)->now, (int)(node), __VA_ARGS__); } while (0)

static inline int64_t sample_exp(dm_prng *p, int64_t mean)
{
    return (int64_t)dm_prng_exponential(p, (double)mean);
}

static inline bool node_live(const sim_node *nd)
{
    return nd->state != NODE_DOWN && nd->core != NULL;
}

/* Which nodes a fault may strike. */
typedef bool (*node_pred)(const sim_node *nd);
static inline bool is_not_down(const sim_node *nd) { return nd->state != NODE_DOWN; }
static inline bool is_down(const sim_node *nd) { return nd->state == NODE_DOWN; }
static inline bool is_up(const sim_node *nd) { return nd->state == NODE_UP; }
static inline bool is_paused(const sim_node *nd) { return nd->state == NODE_PAUSED; }
/* Slow, or still working through what arrived while it was. */
static inline bool is_slow(const sim_node *nd) { return nd->slow_us > 0 || nd->backlog > 0; }
static inline bool is_any(const sim_node *nd) { (void)nd; return true; }
static inline bool is_holder(const sim_node *nd)
{
    if (nd->state != NODE_UP)
        return false;
    for (uint32_t l = 0; l < nd->w->cfg->locks; l++)
        if (nd->clients[l].state == CL_HOLDING)
            return true;
    return false;
}

/* "S.UUUUUU" seconds, or "never" for INT64_MAX. */
char *fmt_time(char *buf, size_t cap, int64_t us);

/* ---------------------------------------------------------------- world.c: nodes */

/* Keep the node's tick at the global instant of the core's next deadline. */
void node_sync(dm_world *w, sim_node *nd);
/* Start a node's core: a bootstrap the first time, else from what it persisted. */
bool node_start(dm_world *w, sim_node *nd);
void node_crash(dm_world *w, sim_node *nd);
void node_wipe(dm_world *w, sim_node *nd);
void node_restart(dm_world *w, sim_node *nd);
void node_pause(dm_world *w, sim_node *nd, int64_t dur);
void node_resume(dm_world *w, sim_node *nd);
void node_skew(dm_world *w, sim_node *nd, int64_t rate_ppm);
void handle(dm_world *w, sim_event *ev);
/* A message reaches the core now (taps, counts, trace, then the core). */
void deliver_now(dm_world *w, sim_node *nd, sim_msg *sm);
/* A message arrives at a paused node: kept in its socket buffer (true),
 * or not when that is full (false: the caller frees it). */
bool inbox_push(dm_world *w, sim_node *nd, sim_msg *sm);

/* ---------------------------------------------------------------- faults.c and the kinds */

/* A node satisfying `pred`, drawn from the fault stream; NULL if none. */
sim_node *pick(dm_world *w, node_pred pred);
int64_t drift_draw(dm_world *w, dm_prng *p);
/* A crashed node comes back after `dur` (> 0), unless something else restarts it first. */
void restart_after(dm_world *w, sim_node *nd, int64_t dur);
/* The kinds' hooks (fault.h): start before the nodes, arm after, one strike
 * of `kind` (EV_GEN) and the next, stop when the fault phase ends. */
void faults_start(dm_world *w);
void faults_arm(dm_world *w);
void faults_fire(dm_world *w, int kind);
void gen_next(dm_world *w, int kind);
void faults_stop(dm_world *w);
void run_step(dm_world *w, uint32_t i);
void undo_step(dm_world *w, uint32_t i);
/* Recording (dm_world_record_faults): the step that strikes `verb` at
 * node `nd` (may be NULL) again now; `proto` (may be NULL) gives its
 * other fields. A no-op unless recording in the fault phase. */
void record_fault(dm_world *w, const char *verb, const sim_node *nd, const dm_fault_step *proto);
/* Kinds with their own events: crash_count's next crash, a churn flip. */
void crash_count_fire(dm_world *w);
void churn_flip(dm_world *w, sim_node *nd);
/* The slow kind (fault_slow.c): node `nd` reads every message `delay` after
 * it arrives, for `dur` (0: until slow_end or the fault phase ends);
 * slow_enqueue takes an arriving message into the backlog; slow_read is
 * its EV_READ (false: the caller frees the message); slow_crash forgets
 * the backlog of a life that ended. */
void node_slow(dm_world *w, sim_node *nd, int64_t delay, int64_t dur);
void node_slow_end(dm_world *w, sim_node *nd);
void slow_enqueue(dm_world *w, sim_node *nd, sim_msg *sm);
bool slow_read(dm_world *w, sim_node *nd, sim_msg *sm);
void slow_crash(dm_world *w, sim_node *nd);
/* The network kinds' probabilities; partitions (the partition kind). */
void set_rates(dm_world *w, double loss, double dup, double reorder);
/* `order` (n ids, may be NULL: drawn): dm_simnet_partition_order. */
void partition(dm_world *w, dm_shape shape, uint32_t pivot, const uint32_t *order, int64_t dur);
void heal(dm_world *w);

/* ---------------------------------------------------------------- workload.c */

uint64_t live_id(const dm_world *w, uint32_t node, uint32_t lock);
void client_write(dm_world *w, sim_node *nd, uint32_t lock, sim_client *cl, const char *why);
void client_action(dm_world *w, sim_client *cl, action_kind what, int64_t at);
void client_timer(dm_world *w, sim_node *nd, uint32_t lock, sim_client *cl, bool arrival);
void client_start_arrivals(dm_world *w, sim_node *nd);
/* The client's process crashed or the fault phase ended: the requests still
 * in its queue are never made (open loop). */
void client_drop_waiting(dm_world *w, sim_node *nd, uint32_t lock, sim_client *cl);
/* A GRANTED, RENEWED, FAILED or LOST event reached node `nd`'s application. */
void client_event(dm_world *w, sim_node *nd, const dm_event *ev, int64_t lease_global);

/* ---------------------------------------------------------------- timeline.c */

void tl_interval(dm_world *w, const char *kind, int64_t from, int64_t to, int node,
                 const char *detail);
void tl_until(dm_world *w, int64_t t, bool inclusive);
void tl_step_close(dm_world *w, uint32_t i);
void tl_finish(dm_world *w);

/* ---------------------------------------------------------------- output.c */

void csv_attempt(dm_world *w, const sim_node *nd, uint32_t lock, int64_t requested_at,
                 int64_t granted_at, int64_t failed_at, const char *outcome, uint32_t messages);
void csv_row(dm_world *w, const sim_node *nd, uint32_t lock, const sim_client *cl,
             int64_t failed_at, const char *outcome);
void csv_member_row(dm_world *w, const dm_world_detection *d);
const char *reason_name(int reason);

#endif
