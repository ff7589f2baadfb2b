#include "world.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "codec.h"
#include "error.h"
#include "heap.h"
#include "prng.h"
#include "tree.h"
#include "simclock.h"
#include "simnet.h"
#include "trace.h"

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
                                 recovering one) */
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
    sim_event churn;          /* EV_CHURN */
    dm_prng churn_prng;       /* ("churn", id): its up/down periods */
    bool churn_up;            /* the churn process's state (the process may differ
                                 when other faults crash or restart it) */
    int64_t tl_crashed_at;    /* timeline: open crash interval, -1 none */
    int64_t tl_paused_at;     /* timeline: open pause interval, -1 none */
} sim_node;

typedef struct sim_step {
    sim_event ev;
    sim_event undo;
    int32_t node;             /* resolved target */
    double saved;             /* what undo restores */
    int64_t tl_from;          /* timeline: open loss/dup/reorder interval, -1 none */
} sim_step;

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
    sim_event gen[DM_FAULT_KINDS];
    sim_step *steps;
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
    uint32_t open_detections;
    uint32_t violations_seen;
    /* availability (world.h): the full tree, who is down, accounted up to */
    dm_quorum *full_quorum;   /* the system over every member: ground truth */
    uint8_t *down_mask;       /* [n] */
    int64_t avail_at;
    bool avail_open;          /* the fault phase is being accounted */
    bool avail_truth, avail_views;
    /* timeline */
    FILE *timeline;
    int64_t tl_next;          /* next sample instant; INT64_MAX: no timeline */
    GString *tl_row;
    uint32_t *tl_quorum;      /* [n] */
    int64_t tl_part_at;       /* open partition interval, -1 none */
    GString *tl_part;         /* its description */
    dm_world_stats stats;
};

static const dm_driver driver;

/* ---------------------------------------------------------------- helpers */

static void event_init(sim_event *e, ev_kind kind, uint32_t node, uint32_t arg)
{
    dm_heap_entry_init(&e->he);
    e->kind = (uint8_t)kind;
    e->node = node;
    e->arg = arg;
}

static void schedule(dm_world *w, sim_event *e, int64_t at)
{
    if (dm_heap_schedule(&w->heap, &e->he, at) < 0)
        g_error("simulator event queue: out of memory");
}

static void cancel(dm_world *w, sim_event *e)
{
    dm_heap_remove(&w->heap, &e->he);
}

static int64_t local_now(const sim_node *nd)
{
    return dm_simclock_local(&nd->clock, nd->w->now);
}

static void fold(dm_world *w, uint64_t x)
{
    dm_trace_fold(&w->trace, x);
}

static bool tracing(const dm_world *w)
{
    return dm_trace_on(&w->trace);
}

#define TRACE(w, node, ...) \
    do { if (tracing(w)) dm_trace_line(&(w)->trace, (w)->now, (int)(node), __VA_ARGS__); } while (0)

static char *fmt_time(char *buf, size_t cap, int64_t us)
{
    if (us == INT64_MAX)
        g_strlcpy(buf, "never", cap);
    else
        g_snprintf(buf, cap, "%s%" PRId64 ".%06" PRId64, us < 0 ? "-" : "",
                   (us < 0 ? -us : us) / G_USEC_PER_SEC, (us < 0 ? -us : us) % G_USEC_PER_SEC);
    return buf;
}

static int64_t sample_exp(dm_prng *p, int64_t mean)
{
    return (int64_t)dm_prng_exponential(p, (double)mean);
}

static sim_msg *msg_alloc(dm_world *w)
{
    if (!w->free_msgs) {
        sim_msg *slab = g_new(sim_msg, MSG_SLAB);
        g_ptr_array_add(w->slabs, slab);
        for (int i = 0; i < MSG_SLAB; i++) {
            slab[i].next = w->free_msgs;
            w->free_msgs = &slab[i];
        }
    }
    sim_msg *m = w->free_msgs;
    w->free_msgs = m->next;
    m->next = NULL;
    return m;
}

static void msg_free(dm_world *w, sim_msg *m)
{
    m->next = w->free_msgs;
    w->free_msgs = m;
}

/* The used part of a message: the fixed fields, the name and the updates
 * actually carried (a full dm_msg is over a kilobyte, mostly unused). */
_Static_assert(offsetof(dm_msg, name) < offsetof(dm_msg, n_updates) &&
               offsetof(dm_msg, n_updates) < offsetof(dm_msg, updates) &&
               offsetof(dm_msg, updates) + sizeof(((dm_msg *)0)->updates) + 8 > sizeof(dm_msg),
               "msg_copy assumes dm_msg ends with name, n_updates, updates");

static void msg_copy(dm_msg *dst, const dm_msg *src)
{
    memcpy(dst, src, offsetof(dm_msg, name) + src->name_len);
    dst->name[src->name_len] = '\0';
    uint8_t n = src->n_updates <= DM_MSG_MAX_UPDATES ? src->n_updates : DM_MSG_MAX_UPDATES;
    dst->n_updates = src->n_updates;
    memcpy(dst->updates, src->updates, n * sizeof src->updates[0]);
}

static void fold_msg(dm_world *w, const dm_msg *m)
{
    fold(w, (uint64_t)m->type | (uint64_t)m->from << 8 | (uint64_t)m->to << 24 |
                (uint64_t)m->n_updates << 40);
    fold(w, m->attempt ^ (uint64_t)m->round << 48 ^ (uint64_t)m->target << 32);
    fold(w, m->grant ^ m->value << 1 ^ m->clock << 3);
}

/* ---------------------------------------------------------------- CSV */

void dm_world_csv_header(FILE *out)
{
    fputs("seed,node,lock,requested_at,granted_at,failed_at,outcome,messages\n", out);
}

static void csv_time(GString *s, int64_t us)
{
    char buf[32];
    if (us >= 0)
        g_string_append(s, fmt_time(buf, sizeof buf, us));
    g_string_append_c(s, ',');
}

/* Outcome names for the CSV: "timeout" rather than "timedout". */
static const char *reason_name(int reason)
{
    static const char *const names[DM_ERROR_COUNT] = {
        [DM_ETIMEDOUT] = "timeout", [DM_ENOQUORUM] = "noquorum", [DM_ELEASE] = "lease",
        [DM_EREVOKED] = "revoked", [DM_ESHUTDOWN] = "shutdown", [DM_EPERSIST] = "persist",
        [DM_EINVAL] = "invalid", [DM_EBADNAME] = "badname",
    };
    int r = reason < 0 ? -reason : reason;
    return r < DM_ERROR_COUNT && names[r] ? names[r] : "error";
}

/* One acquisition attempt ends (or the run does): granted_at < 0 when never
 * granted, failed_at < 0 when it did not fail. */
static void csv_attempt(dm_world *w, const sim_node *nd, uint32_t lock, int64_t requested_at,
                        int64_t granted_at, int64_t failed_at, const char *outcome,
                        uint32_t messages)
{
    if (!w->csv)
        return;
    GString *s = g_string_sized_new(96);
    g_string_append_printf(s, "%" PRIu64 ",%u,%s,", w->cfg->seed, nd->id, w->lock_names[lock]);
    csv_time(s, requested_at);
    csv_time(s, granted_at);
    csv_time(s, failed_at);
    g_string_append_printf(s, "%s,%u\n", outcome, messages);
    fwrite(s->str, 1, s->len, w->csv);
    g_string_free(s, TRUE);
}

/* The client's current attempt ends. */
static void csv_row(dm_world *w, const sim_node *nd, uint32_t lock, const sim_client *cl,
                    int64_t failed_at, const char *outcome)
{
    csv_attempt(w, nd, lock, cl->requested_at, cl->state == CL_HOLDING ? cl->granted_at : -1,
                failed_at, outcome, cl->messages);
}

/* ---------------------------------------------------------------- membership tracking */

void dm_world_csv_members_header(FILE *out)
{
    fputs("seed,n,node,crashed_at,first_suspect_s,dead_all_s,converge_s\n", out);
}

static bool node_live(const sim_node *nd)
{
    return nd->state != NODE_DOWN && nd->core != NULL;
}

/* How many live nodes hold each distinct (view, tree): they agree when
 * there is at most one entry. Few entries exist at any time, so a list. */
typedef struct view_count {
    uint64_t view_hash, tree_hash;
    uint32_t count;
} view_count;

static void census_add(dm_world *w, const sim_node *nd, int delta)
{
    for (guint i = 0; i < w->census->len; i++) {
        view_count *e = &g_array_index(w->census, view_count, i);
        if (e->view_hash == nd->view_hash && e->tree_hash == nd->tree_hash) {
            e->count += (uint32_t)delta;
            if (e->count == 0)
                g_array_remove_index_fast(w->census, i);
            return;
        }
    }
    g_assert(delta > 0);
    view_count e = { nd->view_hash, nd->tree_hash, 1 };
    g_array_append_val(w->census, e);
}

/* Node `nd`'s view may have changed, or it started or crashed. */
static void view_touch(dm_world *w, sim_node *nd)
{
    w->member_dirty = true;
    if (nd->view_dirty)
        return;
    nd->view_dirty = true;
    w->dirty[w->n_dirty++] = nd->id;
}

static bool member_gone(const sim_node *observer, uint32_t member)
{
    dm_member_info info;
    dm_membership_info(dm_node_membership(observer->core), member, &info);
    return info.state == DM_MEMBER_DEAD || info.state == DM_MEMBER_LEFT;
}

/* A record is over: it converged, its node restarted, or the run ended. */
static void detection_close(dm_world *w, dm_world_detection *d, const char *why)
{
    if (!d->open)
        return;
    d->open = false;
    w->open_detections--;
    char t1[32], t2[32], t3[32];
    TRACE(w, d->node, "detection %s: first suspect %s, dead everywhere %s, converged %s", why,
          d->first_suspect_us >= 0 ? fmt_time(t1, sizeof t1, d->first_suspect_us) : "-",
          d->dead_all_us >= 0 ? fmt_time(t2, sizeof t2, d->dead_all_us) : "-",
          d->converge_us >= 0 ? fmt_time(t3, sizeof t3, d->converge_us) : "-");
    if (!w->csv_members)
        return;
    GString *s = g_string_sized_new(96);
    g_string_append_printf(s, "%" PRIu64 ",%u,%u,", w->cfg->seed, w->n, d->node);
    csv_time(s, d->crashed_at);
    csv_time(s, d->first_suspect_us);
    csv_time(s, d->dead_all_us);
    if (d->converge_us >= 0)
        g_string_append(s, fmt_time(t1, sizeof t1, d->converge_us));
    g_string_append_c(s, '\n');
    fwrite(s->str, 1, s->len, w->csv_members);
    g_string_free(s, TRUE);
}

/* `victim` has just crashed. */
static void detection_open(dm_world *w, const sim_node *victim)
{
    if (!w->cfg->membership)
        return;
    dm_world_detection d = { .node = victim->id, .crashed_at = w->now, .first_suspect_us = -1,
                             .dead_all_us = -1, .converge_us = -1, .open = true };
    for (uint32_t i = 0; i < w->n && d.first_suspect_us < 0; i++) {
        const sim_node *nd = &w->nodes[i];
        if (!node_live(nd))
            continue;
        dm_member_info info;
        dm_membership_info(dm_node_membership(nd->core), victim->id, &info);
        if (info.state != DM_MEMBER_ALIVE)
            d.first_suspect_us = 0;   /* already suspected when it crashed */
    }
    g_array_append_val(w->detections, d);
    w->open_detections++;
}

static dm_world_detection *detection_of(dm_world *w, uint32_t node)
{
    if (w->open_detections == 0)
        return NULL;
    for (guint i = w->detections->len; i-- > 0;) {
        dm_world_detection *d = &g_array_index(w->detections, dm_world_detection, i);
        if (d->node == node && d->open)
            return d;
    }
    return NULL;
}

/* ---------------------------------------------------------------- availability */

/* Account the time since the last update under the states then in force,
 * and evaluate them anew: a quorum of the full tree among the running
 * members, and of some running node's own tree. Called whenever a node
 * starts, crashes or changes its view (members_update), so the integral is
 * exact. */
static void avail_update(dm_world *w)
{
    int64_t dt = w->now - w->avail_at;
    if (w->avail_truth)
        w->stats.quorum_us += dt;
    if (w->avail_views)
        w->stats.quorum_views_us += dt;
    w->avail_at = w->now;
    for (uint32_t i = 0; i < w->n; i++)
        w->down_mask[i] = !node_live(&w->nodes[i]);
    w->avail_truth = dm_quorum_exists(w->full_quorum, w->down_mask);
    bool views = false;
    for (uint32_t i = 0; i < w->n && !views; i++)
        if (node_live(&w->nodes[i]))
            views = dm_quorum_exists(dm_node_quorum_system(w->nodes[i].core), w->down_mask);
    w->avail_views = views;
}

/* The fault phase ends: close the integral. */
static void avail_close(dm_world *w)
{
    if (!w->avail_open)
        return;
    avail_update(w);
    w->avail_open = false;
    w->stats.fault_us = w->now;
}

/* ---------------------------------------------------------------- timeline */

void dm_world_timeline_header(FILE *out)
{
    fputs("seed,kind,t_start,t_end,node,state,view_size,view_hash,tree_size,quorum_size,detail,"
          "holds\n", out);
}

static void tl_time(GString *s, int64_t us)
{
    char buf[32];
    g_string_append(s, fmt_time(buf, sizeof buf, us));
}

static void tl_flush(dm_world *w)
{
    fwrite(w->tl_row->str, 1, w->tl_row->len, w->timeline);
    g_string_truncate(w->tl_row, 0);
}

/* One row: kind=fault (an interval; from == to for an instant) or phase.
 * node < 0: none. `detail` holds no comma. */
static void tl_interval(dm_world *w, const char *kind, int64_t from, int64_t to, int node,
                        const char *detail)
{
    GString *r = w->tl_row;
    g_string_append_printf(r, "%" PRIu64 ",%s,", w->cfg->seed, kind);
    tl_time(r, from);
    g_string_append_c(r, ',');
    tl_time(r, to);
    g_string_append_c(r, ',');
    if (node >= 0)
        g_string_append_printf(r, "%d", node);
    /* state, view_size, view_hash, tree_size, quorum_size: empty */
    g_string_append_printf(r, ",,,,,,%s,\n", detail);
    tl_flush(w);
}

/* The quorum node `nd` would ask for a request now: the core's own rule
 * (dm_node_current_quorum), its size, or -1 when none exists. */
static int tl_quorum_size(dm_world *w, const sim_node *nd)
{
    int size = dm_node_current_quorum(nd->core, local_now(nd), w->tl_quorum, w->n);
    return size < 0 ? -1 : size;
}

/* Every node's state at `at` (after every event at or before it). */
static void tl_sample(dm_world *w, int64_t at)
{
    GString *r = w->tl_row;
    for (uint32_t i = 0; i < w->n; i++) {
        const sim_node *nd = &w->nodes[i];
        g_string_append_printf(r, "%" PRIu64 ",sample,", w->cfg->seed);
        tl_time(r, at);
        g_string_append_printf(r, ",,%u,", i);
        if (!node_live(nd)) {
            g_string_append(r, "crashed,,,,,,0\n");
            continue;
        }
        const dm_membership *m = dm_node_membership(nd->core);
        uint32_t holds = 0;
        for (uint32_t l = 0; l < w->cfg->locks; l++)
            holds += dm_node_holds(nd->core, w->lock_names[l]);
        g_string_append_printf(r, "%s,%u,%016" PRIx64 ",%u,%d,,%u\n",
                               nd->state == NODE_PAUSED ? "paused" : "up",
                               m ? dm_membership_view_size(m) : w->n,
                               m ? dm_membership_view_hash(m) : dm_node_view_hash(nd->core),
                               dm_quorum_count(dm_node_quorum_system(nd->core)), tl_quorum_size(w, nd), holds);
    }
    tl_flush(w);
}

/* Samples due before `t` (and at `t` when `inclusive`). */
static void tl_until(dm_world *w, int64_t t, bool inclusive)
{
    while (w->tl_next < t || (inclusive && w->tl_next == t)) {
        tl_sample(w, w->tl_next);
        w->tl_next += w->cfg->timeline_interval_us;
    }
}

/* A scripted loss/dup/reorder step's interval ends. */
static void tl_step_close(dm_world *w, uint32_t i)
{
    sim_step *rt = &w->steps[i];
    if (rt->tl_from < 0)
        return;
    const dm_fault_step *s = &g_array_index(w->cfg->schedule, dm_fault_step, i);
    static const char *const names[DM_STEP_ACTIONS] = {
        [DM_STEP_LOSS] = "loss", [DM_STEP_DUP] = "dup", [DM_STEP_REORDER] = "reorder",
    };
    char d[64];
    g_snprintf(d, sizeof d, "%s %g", names[s->action] ? names[s->action] : "network", s->value);
    tl_interval(w, "fault", rt->tl_from, w->now, -1, d);
    rt->tl_from = -1;
}

/* The run is over: what is still open ends now; then the liveness phase. */
static void tl_finish(dm_world *w)
{
    tl_until(w, w->now, true);
    for (uint32_t i = 0; i < w->n; i++) {
        sim_node *nd = &w->nodes[i];
        if (nd->tl_paused_at >= 0)
            tl_interval(w, "fault", nd->tl_paused_at, w->now, (int)i, "pause");
        if (nd->tl_crashed_at >= 0)
            tl_interval(w, "fault", nd->tl_crashed_at, w->now, (int)i, nd->wiped ? "wipe" : "crash");
        nd->tl_paused_at = nd->tl_crashed_at = -1;
    }
    if (w->tl_part_at >= 0)
        tl_interval(w, "fault", w->tl_part_at, w->now, -1, w->tl_part->str);
    w->tl_part_at = -1;
    for (guint i = 0; i < w->cfg->schedule->len; i++)
        tl_step_close(w, i);
    if (w->stats.liveness_start_us > 0)
        tl_interval(w, "phase", w->stats.liveness_start_us, w->now, -1, "liveness");
    fflush(w->timeline);
}

/* Some node's membership moved, or the set of live nodes changed: rehash
 * the views that may have changed, see whether the live members agree, and
 * advance the open detection records. */
static void members_update(dm_world *w)
{
    w->member_dirty = false;
    for (uint32_t k = 0; k < w->n_dirty; k++) {
        sim_node *nd = &w->nodes[w->dirty[k]];
        nd->view_dirty = false;
        if (nd->in_census)
            census_add(w, nd, -1);
        nd->in_census = node_live(nd);
        if (!nd->in_census)
            continue;
        const dm_membership *m = dm_node_membership(nd->core);
        nd->view_hash = m ? dm_membership_view_hash(m) : 0;
        nd->tree_hash = dm_node_view_hash(nd->core);
        census_add(w, nd, 1);
    }
    w->n_dirty = 0;
    bool agree = w->census->len <= 1;
    if (agree != w->views_agree) {
        TRACE(w, -1, "views %s", agree ? "agree" : "differ");
        if (w->phase == PHASE_LIVENESS)
            w->stats.liveness_view_us = agree ? w->now - w->stats.liveness_start_us : -1;
    }
    w->views_agree = agree;
    if (w->avail_open)
        avail_update(w);
    if (w->open_detections == 0)
        return;
    for (guint k = 0; k < w->detections->len; k++) {
        dm_world_detection *d = &g_array_index(w->detections, dm_world_detection, k);
        if (!d->open)
            continue;
        bool all_dead = true;
        for (uint32_t i = 0; i < w->n && all_dead; i++)
            if (i != d->node && node_live(&w->nodes[i]))
                all_dead = member_gone(&w->nodes[i], d->node);
        if (!all_dead)
            continue;
        if (d->dead_all_us < 0)
            d->dead_all_us = w->now - d->crashed_at;
        if (agree) {
            d->converge_us = w->now - d->crashed_at;
            detection_close(w, d, "converged");
        }
    }
}

/* Node `nd` reported a member event: first suspicions of crashed nodes, and
 * false suspicions and deaths of running ones. */
static void member_event_seen(dm_world *w, const sim_node *nd, const dm_event *ev)
{
    if (ev->member_event != DM_MEMBER_EV_SUSPECT && ev->member_event != DM_MEMBER_EV_DEAD)
        return;
    if (ev->member >= w->n || ev->member == nd->id)
        return;
    const sim_node *m = &w->nodes[ev->member];
    if (m->state == NODE_DOWN) {
        dm_world_detection *d = detection_of(w, ev->member);
        if (d && d->first_suspect_us < 0)
            d->first_suspect_us = w->now - d->crashed_at;
        return;
    }
    bool connected = m->state == NODE_UP;
    for (uint32_t j = 0; j < w->n && connected; j++)
        connected = j == m->id || (!dm_simnet_is_cut(w->net, m->id, j) &&
                                   !dm_simnet_is_cut(w->net, j, m->id));
    if (ev->member_event == DM_MEMBER_EV_SUSPECT) {
        w->stats.false_suspicions++;
        w->stats.false_suspicions_connected += connected;
    } else {
        w->stats.false_deaths++;
        w->stats.false_deaths_connected += connected;
    }
    TRACE(w, nd->id, "false %s of %u (%s)",
          ev->member_event == DM_MEMBER_EV_SUSPECT ? "suspicion" : "death", ev->member,
          m->state == NODE_PAUSED ? "paused" : connected ? "connected" : "cut off");
}

/* Live members that disagree on the view when the liveness bound passes:
 * one line naming the groups. */
static void report_views(dm_world *w)
{
    GString *t = g_string_new(NULL);
    uint32_t *group = g_new0(uint32_t, w->n);   /* group leader + 1, 0: not live */
    uint32_t groups = 0, smallest = UINT32_MAX, smallest_size = UINT32_MAX;
    for (uint32_t i = 0; i < w->n; i++) {
        if (!node_live(&w->nodes[i]))
            continue;
        for (uint32_t j = 0; j < i && !group[i]; j++)
            if (group[j] == j + 1 && w->nodes[j].view_hash == w->nodes[i].view_hash &&
                w->nodes[j].tree_hash == w->nodes[i].tree_hash)
                group[i] = j + 1;
        if (!group[i]) {
            group[i] = i + 1;
            groups++;
        }
    }
    g_string_append_printf(t, "liveness: live members disagree on the view at the bound "
                              "(%u distinct views):", groups);
    for (uint32_t i = 0; i < w->n; i++) {
        if (group[i] != i + 1)
            continue;
        uint32_t size = 0;
        g_string_append(t, " {");
        for (uint32_t j = i; j < w->n; j++)
            if (group[j] == i + 1) {
                g_string_append_printf(t, size ? ",%u" : "%u", j);
                size++;
            }
        const dm_membership *m = dm_node_membership(w->nodes[i].core);
        g_string_append_printf(t, "} see %u members (view %016" PRIx64 ", tree %016" PRIx64 ");",
                               m ? dm_membership_view_size(m) : w->n, w->nodes[i].view_hash,
                               w->nodes[i].tree_hash);
        if (size < smallest_size) {
            smallest_size = size;
            smallest = i;
        }
    }
    g_string_truncate(t, t->len - 1);
    TRACE(w, -1, "%s", t->str);
    dm_checker_add_violation(w->checker, DM_VIOLATION_LIVENESS, w->now, NULL, smallest, t->str);
    g_free(group);
    g_string_free(t, TRUE);
}

/* ---------------------------------------------------------------- node clock and deadline */

/* Keep the node's tick event at the global instant its clock reaches the
 * core's next deadline. */
static void node_sync(dm_world *w, sim_node *nd)
{
    if (nd->state != NODE_UP)
        return;
    int64_t dl = dm_node_next_deadline(nd->core);
    if (dl == DM_NEVER) {
        cancel(w, &nd->tick);
        return;
    }
    if (dl == nd->tick_local && dm_heap_entry_queued(&nd->tick.he))
        return;
    int64_t g = dm_simclock_global(&nd->clock, dl);
    nd->tick_local = dl;
    schedule(w, &nd->tick, g < w->now ? w->now : g);
}

/* ---------------------------------------------------------------- clients */

static sim_client *client_of(dm_world *w, sim_node *nd, const char *name, uint32_t *lock)
{
    gpointer v = g_hash_table_lookup(w->lock_index, name);
    if (!v)
        return NULL;
    *lock = GPOINTER_TO_UINT(v) - 1;
    return &nd->clients[*lock];
}

static uint64_t live_id(const dm_world *w, uint32_t node, uint32_t lock)
{
    return (uint64_t)node * w->cfg->locks + lock;
}

static int64_t sample_hold(dm_world *w)
{
    if (w->phase != PHASE_FAULTS)
        return 0;   /* liveness: let the next node have it at once */
    if (w->cfg->hold_dist == DM_HOLD_FIXED)
        return w->cfg->hold_us;
    return sample_exp(&w->work_prng, w->cfg->hold_us);
}

/* The time from one request of a client to its next. The first request is
 * always drawn exponentially (client_start_arrivals), so that periodic
 * clients do not all ask at once. */
static int64_t next_arrival(dm_world *w)
{
    if (w->cfg->interarrival_dist == DM_HOLD_FIXED)
        return w->cfg->interarrival_us;
    return 1 + sample_exp(&w->work_prng, w->cfg->interarrival_us);
}

static void client_write(dm_world *w, sim_node *nd, uint32_t lock, sim_client *cl, const char *why)
{
    bool ok = dm_checker_write(w->checker, w->now, nd->id, w->lock_names[lock], cl->token);
    w->stats.writes++;
    fold(w, 0x5752495445ull ^ (uint64_t)ok << 40 ^ cl->token << 1);
    TRACE(w, nd->id, "write %s token=%" PRIu64 " (%s): %s", w->lock_names[lock], cl->token, why,
          ok ? "accepted" : "REJECTED");
}

static void client_action(dm_world *w, sim_client *cl, action_kind what, int64_t at)
{
    cl->action_kind = (uint8_t)what;
    cl->action_deferred = false;
    schedule(w, &cl->action, at);
}

/* The client is idle again: in the liveness phase it asks once more. */
static void client_idle(dm_world *w, sim_client *cl, int64_t retry_after)
{
    cl->state = CL_IDLE;
    cl->attempt = 0;
    cl->live_attempt = false;
    if (cl->live_wanted)
        client_action(w, cl, ACT_REQUEST, w->now + retry_after);
    else if (cl->action_kind == ACT_RELEASE)
        cancel(w, &cl->action);
}

/* lock() started a new attempt while the client still had one: the core
 * ended that one inside the call (its deadline or its lease ended at this
 * very instant) and owes its outcome, FAILED or LOST, which comes after the
 * call. Keep what the CSV row needs until then. */
static void client_supersede(dm_world *w, sim_node *nd, sim_client *cl, const char *name)
{
    if (cl->superseded) {
        /* Only one outcome can be owed: lock() is refused while the
         * attempt it started is in progress. */
        w->stats.api_errors++;
        TRACE(w, nd->id, "API: %s: the outcome of attempt %" PRIx64 " never came", name,
              cl->superseded);
    }
    w->stats.superseded++;
    TRACE(w, nd->id, "%s: attempt %" PRIx64 " ended inside lock(); its outcome is still due", name,
          cl->attempt);
    cl->superseded = cl->attempt;
    cl->superseded_requested_at = cl->requested_at;
    cl->superseded_granted_at = cl->state == CL_HOLDING ? cl->granted_at : -1;
    cl->superseded_messages = cl->messages;
    if (cl->action_kind == ACT_RELEASE)
        cancel(w, &cl->action);   /* that hold is over */
}

static void client_lock(dm_world *w, sim_node *nd, uint32_t lock, sim_client *cl, bool live)
{
    const char *name = w->lock_names[lock];
    uint64_t attempt = 0;
    int rc = dm_node_lock(nd->core, local_now(nd), name, w->cfg->timeout_us, &attempt);
    fold(w, (uint64_t)(uint32_t)rc << 8 | lock);
    if (tracing(w)) {
        char started[48];
        g_snprintf(started, sizeof started, "started attempt=%" PRIx64, attempt);
        TRACE(w, nd->id, "lock %s%s -> %s", name, live ? " (liveness)" : "",
              rc == 0 ? started : dm_error_name(rc));
    }
    if (rc == 0) {
        if (attempt == 0 || attempt == cl->attempt || attempt == cl->superseded) {
            w->stats.api_errors++;
            TRACE(w, nd->id, "API: lock %s started attempt %" PRIx64 ", not a new id", name, attempt);
        }
        if (cl->state != CL_IDLE)
            client_supersede(w, nd, cl, name);
        w->stats.attempts++;
        cl->attempt = attempt;
        cl->state = CL_PENDING;
        cl->live_attempt = live;
        cl->requested_at = w->now;
        cl->messages = 0;
    } else if (rc == -DM_EBUSY) {
        w->stats.ebusy++;
        if (live)
            client_action(w, cl, ACT_REQUEST, w->now + w->cfg->rpc_timeout_us);
    } else {
        w->stats.failed++;
        cl->requested_at = w->now;
        cl->messages = 0;
        csv_row(w, nd, lock, cl, w->now, reason_name(rc));
        if (live)
            client_action(w, cl, ACT_REQUEST, w->now + w->cfg->rpc_timeout_us);
    }
    node_sync(w, nd);
}

static void client_release(dm_world *w, sim_node *nd, uint32_t lock, sim_client *cl)
{
    if (cl->state != CL_HOLDING)
        return;
    const char *name = w->lock_names[lock];
    /* The last write of the critical section, then the unlock. */
    client_write(w, nd, lock, cl, "before unlock");
    int rc = dm_node_unlock(nd->core, local_now(nd), name);
    fold(w, 0x554e4c4f434bull ^ (uint64_t)(uint32_t)rc);
    TRACE(w, nd->id, "unlock %s -> %s", name, rc == 0 ? "ok" : dm_error_name(rc));
    if (rc == -DM_ENOTHELD)
        w->stats.unlock_notheld++;   /* its LOST is on the way, or it lied */
    dm_checker_hold_end(w->checker, w->now, nd->id, name, "unlock");
    csv_row(w, nd, lock, cl, -1, "granted");
    client_idle(w, cl, 0);
    node_sync(w, nd);
}

static void client_timer(dm_world *w, sim_node *nd, uint32_t lock, sim_client *cl, bool arrival)
{
    if (nd->state == NODE_PAUSED) {
        /* The application is frozen with its process: it acts on resume. */
        if (arrival)
            cl->arrival_deferred = true;
        else
            cl->action_deferred = true;
        return;
    }
    if (arrival) {
        if (w->phase != PHASE_FAULTS)
            return;
        client_lock(w, nd, lock, cl, false);
        if (w->cfg->interarrival_us > 0)
            schedule(w, &cl->arrival, w->now + next_arrival(w));
    } else if (cl->action_kind == ACT_RELEASE) {
        client_release(w, nd, lock, cl);
    } else if (cl->state == CL_IDLE && cl->live_wanted) {
        client_lock(w, nd, lock, cl, true);
    }
}

static void client_start_arrivals(dm_world *w, sim_node *nd)
{
    if (w->phase != PHASE_FAULTS || w->cfg->interarrival_us <= 0 ||
        !dm_sim_config_is_client(w->cfg, nd->id))
        return;
    for (uint32_t l = 0; l < w->cfg->locks; l++)
        schedule(w, &nd->clients[l].arrival,
                 w->now + 1 + sample_exp(&w->work_prng, w->cfg->interarrival_us));
}

/* ---------------------------------------------------------------- driver callbacks */

static void drv_send(void *user, const dm_msg *m)
{
    sim_node *nd = user;
    dm_world *w = nd->w;
    w->stats.messages++;
    if (dm_msg_is_membership((int)m->type)) {
        /* Membership traffic: counted here, then treated like any message. */
        int size = dm_codec_size(m);
        w->stats.member_msgs++;
        w->stats.member_bytes += size > 0 ? (uint64_t)size : 0;
    }
    dm_msg tapped;
    if (nd->tap && nd->tap->send) {
        msg_copy(&tapped, m);
        if (!nd->tap->send(nd->tap_user, nd->id, &tapped)) {
            w->stats.dropped_tap++;
            return;
        }
        m = &tapped;
    }
    if (m->to >= w->n || m->to == nd->id) {
        w->stats.api_errors++;
        TRACE(w, nd->id, "API: send to %u", m->to);
        return;
    }
    int64_t delay[2];
    int copies = dm_simnet_route(w->net, nd->id, m->to, delay);
    if (copies < 0) {
        if (copies == DM_SIMNET_CUT)
            w->stats.dropped_cut++;
        else
            w->stats.dropped_loss++;
        if (tracing(w)) {
            char buf[512];
            dm_msg_format(m, buf, sizeof buf);
            TRACE(w, nd->id, "%s %s", copies == DM_SIMNET_CUT ? "cut" : "loss", buf);
        }
        return;
    }
    dm_msg copy;
    const dm_msg *src = m;
    if (w->cfg->codec) {
        /* What the network driver would put on the wire and read back; a
         * second encoding must give the same bytes. */
        uint8_t wire[DM_FRAME_MAX], again[DM_FRAME_MAX];
        int len = dm_codec_encode(m, wire, sizeof wire);
        int used = len > 0 ? dm_codec_decode(wire, (size_t)len, &copy) : len;
        int len2 = used == len ? dm_codec_encode(&copy, again, sizeof again) : -1;
        if (len <= 0 || used != len || len2 != len || memcmp(wire, again, (size_t)len) != 0) {
            w->stats.codec_errors++;
            TRACE(w, nd->id, "CODEC: round trip failed (encode %d, decode %d)", len, used);
            return;
        }
        src = &copy;
    }
    for (int i = 0; i < copies; i++) {
        sim_msg *sm = msg_alloc(w);
        event_init(&sm->ev, EV_DELIVER, m->to, i);
        msg_copy(&sm->msg, src);
        schedule(w, &sm->ev, w->now + delay[i]);
    }
}

static const char *member_event_name(dm_member_event_type t)
{
    static const char *const names[] = { "?", "join", "alive", "suspect", "dead", "left" };
    return (unsigned)t < G_N_ELEMENTS(names) ? names[t] : "?";
}

static void drv_notify(void *user, const dm_event *event)
{
    sim_node *nd = user;
    dm_world *w = nd->w;
    dm_event ev = *event;
    /* The core's view moved (a member entered or left it; under memberlist
     * the tree with it), whatever a tap lets the world see. */
    if (ev.type == DM_EV_VIEW)
        view_touch(w, nd);
    if (nd->tap && nd->tap->notify && !nd->tap->notify(nd->tap_user, nd->id, &ev))
        return;
    fold(w, (uint64_t)ev.type << 56 ^ (uint64_t)(uint32_t)ev.reason << 24 ^ ev.attempt);
    fold(w, ev.token ^ (uint64_t)ev.lease_until << 7);
    int64_t lease_global = ev.type == DM_EV_GRANTED || ev.type == DM_EV_RENEWED
                               ? dm_simclock_global(&nd->clock, ev.lease_until)
                               : 0;
    if (ev.type == DM_EV_MEMBER || ev.type == DM_EV_VIEW) {
        fold(w, (uint64_t)ev.member << 32 ^ (uint64_t)ev.member_event << 24 ^ ev.incarnation ^
                    ev.view_hash);
        if (ev.type == DM_EV_MEMBER) {
            w->stats.member_events++;
            TRACE(w, nd->id, "MEMBER %u %s incarnation=%u", ev.member,
                  member_event_name(ev.member_event), ev.incarnation);
            member_event_seen(w, nd, &ev);
        } else {
            w->stats.view_changes++;
            TRACE(w, nd->id, "VIEW size=%u hash=%016" PRIx64, ev.view_size, ev.view_hash);
        }
        return;
    }
    if (tracing(w)) {
        static const char *const names[] = { "?", "GRANTED", "FAILED", "LOST", "RENEWED" };
        char t[32];
        TRACE(w, nd->id, "%s %s attempt=%" PRIx64 " token=%" PRIu64 " lease_until=%s reason=%s msgs=%u",
              ev.type <= DM_EV_RENEWED ? names[ev.type] : "?", ev.name, ev.attempt, ev.token,
              fmt_time(t, sizeof t, lease_global), ev.reason ? dm_error_name(ev.reason) : "-",
              ev.messages);
    }
    uint32_t lock;
    sim_client *cl = client_of(w, nd, ev.name, &lock);
    if (!cl) {
        w->stats.api_errors++;
        TRACE(w, nd->id, "API: event for unknown lock %s", ev.name);
        return;
    }
    /* Match the outcome to the attempt it concerns (sim_client). */
    bool current = cl->state != CL_IDLE && ev.attempt == cl->attempt;
    bool owed = !current && cl->superseded != 0 && ev.attempt == cl->superseded;
    if (current)
        cl->messages = ev.messages;
    switch (ev.type) {
    case DM_EV_GRANTED:
        w->stats.acquisitions++;
        if (!current || cl->state != CL_PENDING) {
            /* Granted an attempt the application is not waiting for: a
             * broken contract, and a lock nobody will use or unlock. */
            w->stats.api_errors++;
            TRACE(w, nd->id, "API: GRANTED attempt %" PRIx64 ", but the client %s", ev.attempt,
                  cl->state == CL_PENDING ? "waits for another" : "is not waiting");
            break;
        }
        cl->state = CL_HOLDING;
        cl->token = ev.token;
        cl->lease_until = ev.lease_until;
        cl->granted_at = w->now;
        dm_checker_hold_begin(w->checker, w->now, nd->id, ev.name, ev.token, lease_global);
        client_write(w, nd, lock, cl, "granted");
        if (cl->live_attempt) {
            dm_checker_resolve(w->checker, live_id(w, nd->id, lock));
            cl->live_wanted = false;
            w->stats.liveness_granted++;
            int64_t waited = w->now - w->stats.liveness_start_us;
            if (waited > w->stats.liveness_max_us)
                w->stats.liveness_max_us = waited;
        }
        client_action(w, cl, ACT_RELEASE, w->now + sample_hold(w));
        break;
    case DM_EV_RENEWED:
        w->stats.renewals++;
        if (!current || cl->state != CL_HOLDING) {
            /* Events are delivered before the next application call, so a
             * renewal always concerns the hold in force. */
            w->stats.api_errors++;
            TRACE(w, nd->id, "API: RENEWED attempt %" PRIx64 ", which does not hold", ev.attempt);
            break;
        }
        cl->lease_until = ev.lease_until;
        dm_checker_hold_extend(w->checker, w->now, nd->id, ev.name, lease_global);
        break;
    case DM_EV_FAILED:
        w->stats.failed++;
        if (current && cl->state == CL_PENDING) {
            csv_row(w, nd, lock, cl, w->now, reason_name(ev.reason));
            client_idle(w, cl, w->cfg->rpc_timeout_us);
        } else if (owed && cl->superseded_granted_at < 0) {
            csv_attempt(w, nd, lock, cl->superseded_requested_at, -1, w->now,
                        reason_name(ev.reason), ev.messages);
            cl->superseded = 0;
        } else {
            w->stats.api_errors++;
            TRACE(w, nd->id, "API: FAILED attempt %" PRIx64 ", which was not acquiring", ev.attempt);
        }
        break;
    case DM_EV_MEMBER:
    case DM_EV_VIEW:
        break;   /* handled above */
    case DM_EV_LOST:
        w->stats.lost++;
        if (current && cl->state == CL_HOLDING) {
            dm_checker_hold_end(w->checker, w->now, nd->id, ev.name, "lost");
            csv_row(w, nd, lock, cl, w->now, "lost");
            client_idle(w, cl, 0);
        } else if (owed && cl->superseded_granted_at >= 0) {
            dm_checker_hold_end(w->checker, w->now, nd->id, ev.name, "lost");
            csv_attempt(w, nd, lock, cl->superseded_requested_at, cl->superseded_granted_at,
                        w->now, "lost", ev.messages);
            cl->superseded = 0;
        }
        /* Otherwise the client already let go: unlock() found the lease
         * gone (-DM_ENOTHELD) and this is the news of it. */
        break;
    }
}

static int drv_persist(void *user, const void *bytes, size_t len)
{
    sim_node *nd = user;
    g_byte_array_set_size(nd->persisted, 0);
    g_byte_array_append(nd->persisted, bytes, (guint)len);
    return 0;
}

static const dm_driver driver = { drv_send, drv_notify, drv_persist };

/* ---------------------------------------------------------------- processes */

static void deliver_now(dm_world *w, sim_node *nd, dm_msg *m)
{
    if (nd->tap && nd->tap->receive && !nd->tap->receive(nd->tap_user, nd->id, m)) {
        w->stats.dropped_tap++;
        return;
    }
    w->stats.delivered++;
    if (tracing(w)) {
        char buf[512];
        dm_msg_format(m, buf, sizeof buf);
        TRACE(w, nd->id, "recv %s", buf);
    }
    if (dm_node_receive(nd->core, local_now(nd), m) < 0)
        w->stats.rejected++;
    node_sync(w, nd);
}

static bool node_start(dm_world *w, sim_node *nd)
{
    dm_config c;
    dm_config_defaults(&c);
    c.n_members = w->n;
    c.self = nd->id;
    c.policy = w->cfg->policy;
    c.lease_us = w->cfg->lease_us;
    c.drift_ppm = w->cfg->drift_ppm;
    c.quorum = w->cfg->quorum;
    c.rpc_timeout_us = w->cfg->rpc_timeout_us;
    c.rto_min_us = w->cfg->rto_min_us;
    c.suspect_us = w->cfg->suspect_us;
    c.token_stride = w->cfg->token_stride;
    c.membership = w->cfg->membership;
    c.swim = w->cfg->swim;
    c.seed = dm_prng_next(&nd->prng);
    /* Only a node's very first start may vouch that it never ran; after a
     * wipe it must recover, unless the scenario emulates the old code. */
    c.bootstrap = !nd->ran || (nd->wiped && w->cfg->wipe_bootstrap);
    /* The core may persist while it reads what it was handed: give it a copy. */
    GBytes *saved = g_bytes_new(nd->persisted->data, nd->persisted->len);
    gsize len;
    const void *data = g_bytes_get_data(saved, &len);
    int rc = dm_node_new(&c, &driver, nd, local_now(nd), len ? data : NULL, len, &nd->core);
    g_bytes_unref(saved);
    fold(w, 0x5354415254ull ^ (uint64_t)(uint32_t)rc ^ (uint64_t)c.bootstrap << 40);
    TRACE(w, nd->id, "start: %s, %u persisted bytes%s", c.bootstrap ? "bootstrap" : "restart",
          (unsigned)len, !c.bootstrap && !len ? ": recovers" : "");
    if (rc < 0) {
        w->stats.start_failures++;
        TRACE(w, nd->id, "START FAILED: %s", dm_error_name(rc));
        nd->core = NULL;
        return false;
    }
    if (c.bootstrap)
        w->stats.bootstraps++;
    else if (!len)
        w->stats.recoveries++;
    if (nd->tl_crashed_at >= 0) {
        tl_interval(w, "fault", nd->tl_crashed_at, w->now, (int)nd->id, nd->wiped ? "wipe" : "crash");
        nd->tl_crashed_at = -1;
    }
    nd->ran = true;
    nd->wiped = false;
    nd->state = NODE_UP;
    nd->tick_local = DM_NEVER;
    nd->up_since = w->now;
    view_touch(w, nd);
    node_sync(w, nd);
    client_start_arrivals(w, nd);
    return true;
}

static void node_crash(dm_world *w, sim_node *nd)
{
    if (nd->state == NODE_DOWN)
        return;
    TRACE(w, nd->id, "crash%s", nd->state == NODE_PAUSED ? " (while paused)" : "");
    w->stats.crashes++;
    /* A crash before the floor is known keeps the node amnesiac: its
     * persisted state says it still has to recover. */
    nd->amnesiac = nd->core && dm_node_recovery(nd->core, NULL) == DM_RECOVERY_FLOOR;
    for (uint32_t l = 0; l < w->cfg->locks; l++) {
        sim_client *cl = &nd->clients[l];
        if (cl->state != CL_IDLE)
            csv_row(w, nd, l, cl, w->now, "crashed");
        if (cl->superseded)
            csv_attempt(w, nd, l, cl->superseded_requested_at, cl->superseded_granted_at, w->now,
                        "crashed", cl->superseded_messages);
        cl->state = CL_IDLE;
        cl->attempt = cl->superseded = 0;
        cl->live_attempt = false;
        cl->arrival_deferred = cl->action_deferred = false;
        cancel(w, &cl->arrival);
        cancel(w, &cl->action);
    }
    dm_checker_node_down(w->checker, w->now, nd->id, "crash");
    while (nd->inbox) {
        sim_msg *m = nd->inbox;
        nd->inbox = m->next;
        msg_free(w, m);
        w->stats.dropped_down++;
    }
    nd->inbox_tail = NULL;
    nd->inbox_len = 0;
    cancel(w, &nd->tick);
    cancel(w, &nd->resume);
    dm_node_free(nd->core);
    nd->core = NULL;
    nd->state = NODE_DOWN;
    w->down++;
    w->stats.node_up_us += w->now - nd->up_since;
    view_touch(w, nd);
    detection_open(w, nd);
    if (w->timeline) {
        if (nd->tl_paused_at >= 0)
            tl_interval(w, "fault", nd->tl_paused_at, w->now, (int)nd->id, "pause");
        nd->tl_paused_at = -1;
        nd->tl_crashed_at = w->now;
    }
}

/* A crash that also loses what the node persisted: it comes back without
 * persisted state, as after a disk replacement. */
static void node_wipe(dm_world *w, sim_node *nd)
{
    if (nd->state == NODE_DOWN)
        return;
    node_crash(w, nd);
    TRACE(w, nd->id, "wipe: %u persisted bytes lost", nd->persisted->len);
    w->stats.wipes++;
    g_byte_array_set_size(nd->persisted, 0);
    nd->wiped = true;
    nd->amnesiac = true;
}

static void node_restart(dm_world *w, sim_node *nd)
{
    cancel(w, &nd->restart);
    if (nd->state != NODE_DOWN)
        return;
    TRACE(w, nd->id, "%s", nd->ran ? "restart" : "first start");
    dm_world_detection *d = detection_of(w, nd->id);
    if (d)
        detection_close(w, d, "cut short: the node is back");
    if (!node_start(w, nd))
        return;
    w->stats.restarts++;
    w->down--;
}

static void node_pause(dm_world *w, sim_node *nd, int64_t dur)
{
    if (nd->state != NODE_UP)
        return;
    char t[32];
    TRACE(w, nd->id, "pause for %s s", dur > 0 ? fmt_time(t, sizeof t, dur) : "ever");
    w->stats.pauses++;
    nd->state = NODE_PAUSED;
    if (w->timeline)
        nd->tl_paused_at = w->now;
    cancel(w, &nd->tick);
    if (dur > 0)
        schedule(w, &nd->resume, w->now + dur);
}

static void node_resume(dm_world *w, sim_node *nd)
{
    cancel(w, &nd->resume);
    if (nd->state != NODE_PAUSED)
        return;
    TRACE(w, nd->id, "resume (%u buffered messages)", nd->inbox_len);
    w->stats.resumes++;
    nd->state = NODE_UP;
    if (nd->tl_paused_at >= 0) {
        tl_interval(w, "fault", nd->tl_paused_at, w->now, (int)nd->id, "pause");
        nd->tl_paused_at = -1;
    }
    /* Kleppmann's pause: the application, unaware it was frozen, finishes
     * the write it was about to make before the core hears of anything. */
    for (uint32_t l = 0; l < w->cfg->locks; l++)
        if (nd->clients[l].state == CL_HOLDING)
            client_write(w, nd, l, &nd->clients[l], "after pause");
    /* Then the socket buffer, in arrival order. */
    sim_msg *m = nd->inbox;
    nd->inbox = nd->inbox_tail = NULL;
    nd->inbox_len = 0;
    while (m) {
        sim_msg *next = m->next;
        w->stats.events++;
        fold_msg(w, &m->msg);
        if (nd->state == NODE_UP)
            deliver_now(w, nd, &m->msg);
        msg_free(w, m);
        m = next;
    }
    nd->tick_local = DM_NEVER;
    node_sync(w, nd);
    for (uint32_t l = 0; l < w->cfg->locks; l++) {
        sim_client *cl = &nd->clients[l];
        if (cl->action_deferred)
            schedule(w, &cl->action, w->now);
        if (cl->arrival_deferred)
            schedule(w, &cl->arrival, w->now);
        cl->action_deferred = cl->arrival_deferred = false;
    }
}

static void node_skew(dm_world *w, sim_node *nd, int64_t rate_ppm)
{
    TRACE(w, nd->id, "skew %+" PRId64 " ppm (was %+" PRId64 ")", rate_ppm, nd->clock.rate_ppm);
    w->stats.skews++;
    dm_simclock_set_rate(&nd->clock, w->now, rate_ppm);
    if (w->timeline) {
        char d[64];
        g_snprintf(d, sizeof d, "skew %+" PRId64 " ppm", rate_ppm);
        tl_interval(w, "fault", w->now, w->now, (int)nd->id, d);
    }
    /* Every global instant derived from this clock moves. */
    nd->tick_local = DM_NEVER;
    node_sync(w, nd);
    for (uint32_t l = 0; l < w->cfg->locks; l++) {
        sim_client *cl = &nd->clients[l];
        if (cl->state == CL_HOLDING)
            dm_checker_hold_extend(w->checker, w->now, nd->id, w->lock_names[l],
                                   dm_simclock_global(&nd->clock, cl->lease_until));
    }
}

/* ---------------------------------------------------------------- faults */

typedef bool (*node_pred)(const sim_node *nd);
static bool is_not_down(const sim_node *nd) { return nd->state != NODE_DOWN; }
static bool is_down(const sim_node *nd) { return nd->state == NODE_DOWN; }
static bool is_up(const sim_node *nd) { return nd->state == NODE_UP; }
static bool is_paused(const sim_node *nd) { return nd->state == NODE_PAUSED; }
static bool is_any(const sim_node *nd) { (void)nd; return true; }
static bool is_wipeable(const sim_node *nd) { return nd->state != NODE_DOWN && nd->recoverable; }

/* Some node lost its persisted state and has not yet learnt its token floor:
 * down since a wipe (or a crash during recovery), or up and recovering. */
static bool amnesiac_node(const dm_world *w)
{
    for (uint32_t i = 0; i < w->n; i++) {
        const sim_node *nd = &w->nodes[i];
        if (nd->state == NODE_DOWN ? nd->amnesiac
                                   : nd->core && dm_node_recovery(nd->core, NULL) == DM_RECOVERY_FLOOR)
            return true;
    }
    return false;
}

static bool is_holder(const sim_node *nd)
{
    if (nd->state != NODE_UP)
        return false;
    for (uint32_t l = 0; l < nd->w->cfg->locks; l++)
        if (nd->clients[l].state == CL_HOLDING)
            return true;
    return false;
}

/* A node satisfying `pred`, drawn from the fault stream; NULL if none. */
static sim_node *pick(dm_world *w, node_pred pred)
{
    uint32_t count = 0;
    for (uint32_t i = 0; i < w->n; i++)
        count += pred(&w->nodes[i]);
    if (count == 0)
        return NULL;
    uint32_t k = (uint32_t)dm_prng_below(&w->fault_prng, count);
    for (uint32_t i = 0; i < w->n; i++)
        if (pred(&w->nodes[i]) && k-- == 0)
            return &w->nodes[i];
    return NULL;
}

static void set_rates(dm_world *w, double loss, double dup, double reorder)
{
    w->loss = loss;
    w->dup = dup;
    w->reorder = reorder;
    dm_simnet_set_rates(w->net, loss, dup, reorder);
}

static void partition(dm_world *w, dm_shape shape, uint32_t pivot, int64_t dur)
{
    GString *desc = tracing(w) || w->timeline ? g_string_new(NULL) : NULL;
    dm_simnet_partition(w->net, shape, pivot, &w->fault_prng, desc);
    if (w->timeline) {
        /* The new cuts replace the old. */
        if (w->tl_part_at >= 0)
            tl_interval(w, "fault", w->tl_part_at, w->now, -1, w->tl_part->str);
        w->tl_part_at = w->now;
        g_string_printf(w->tl_part, "partition %s", desc->str);
        g_strdelimit(w->tl_part->str, ",", ' ');
    }
    w->stats.partitions++;
    w->stats.shapes[shape]++;
    w->cur_shape = shape;
    fold(w, 0x50415254ull ^ (uint64_t)shape << 32 ^ dm_simnet_cut_count(w->net));
    if (desc) {
        char t[32];
        TRACE(w, -1, "partition %s%s%s", desc->str, dur > 0 ? " for " : "",
              dur > 0 ? fmt_time(t, sizeof t, dur) : "");
        g_string_free(desc, TRUE);
    }
    if (dur > 0)
        schedule(w, &w->heal, w->now + dur);
    else
        cancel(w, &w->heal);
}

static void heal(dm_world *w)
{
    cancel(w, &w->heal);
    if (w->tl_part_at >= 0) {
        tl_interval(w, "fault", w->tl_part_at, w->now, -1, w->tl_part->str);
        w->tl_part_at = -1;
    }
    if (dm_simnet_cut_count(w->net) == 0)
        return;
    TRACE(w, -1, "heal");
    w->stats.heals++;
    w->cur_shape = -1;
    dm_simnet_heal(w->net);
}

static int64_t drift_draw(dm_world *w, dm_prng *p)
{
    int64_t b = w->cfg->clock_drift_ppm;
    return (int64_t)dm_prng_below(p, (uint64_t)(2 * b + 1)) - b;
}

static void random_fault(dm_world *w, dm_fault_kind kind)
{
    const dm_sim_config *c = w->cfg;
    sim_node *nd;
    switch (kind) {
    case DM_FAULT_CRASH:
        if (w->down < (uint32_t)c->max_down && (nd = pick(w, is_not_down)))
            node_crash(w, nd);
        break;
    case DM_FAULT_RESTART:
        if ((nd = pick(w, is_down)))
            node_restart(w, nd);
        break;
    case DM_FAULT_PAUSE:
        if ((nd = pick(w, is_up)))
            node_pause(w, nd, 1000 + sample_exp(&w->fault_prng, c->pause_us));
        break;
    case DM_FAULT_PARTITION: {
        dm_shape shape = (dm_shape)dm_prng_below(&w->fault_prng, DM_SHAPE_COUNT);
        partition(w, shape, DM_SIMNET_ANY, 1000 + sample_exp(&w->fault_prng, c->partition_us));
        break;
    }
    case DM_FAULT_SKEW:
        if ((nd = pick(w, is_any)))
            node_skew(w, nd, drift_draw(w, &w->fault_prng));
        break;
    case DM_FAULT_WIPE:
        /* Operators replace one disk at a time: two members without their
         * state at once can leave no quorum without one of them, and then
         * no token floor can ever be recovered (the lock stays unavailable,
         * safely; docs/PROTOCOL.md). Drawn wipes wait for the last one to
         * recover, and spare a node without which no quorum exists (it
         * could never recover); scripted ones do as they are told. */
        if (w->down < (uint32_t)c->max_down && !amnesiac_node(w) && (nd = pick(w, is_wipeable))) {
            node_wipe(w, nd);
            schedule(w, &nd->restart, w->now + 1000 + sample_exp(&w->fault_prng, c->wipe_down_us));
        }
        break;
    default:
        break;
    }
}

static void gen_next(dm_world *w, dm_fault_kind kind)
{
    double rate = w->cfg->rate[kind];
    int64_t at = w->now + 1 + (int64_t)dm_prng_exponential(&w->fault_prng, 1e6 / rate);
    if (at < w->cfg->duration_us)
        schedule(w, &w->gen[kind], at);
}

/* faults.crash_count: crash k (from 0) of `count` strikes at
 * duration x (k + 1) / (count + 1). */
static void crash_count_next(dm_world *w)
{
    uint32_t count = w->cfg->crash_count;
    if (w->crashes_done >= count)
        return;
    int64_t at = w->cfg->duration_us / (count + 1) * (int64_t)(w->crashes_done + 1);
    if (at < w->cfg->duration_us)
        schedule(w, &w->crash_ev, at < w->now ? w->now : at);
}

/* Churn: node `nd`'s next period ends after an exponential time, mean
 * churn_up_mean when up and churn_up_mean (1 - p) / p when down (p = 1: it
 * never goes down; p = 0: never comes up). Only within the fault phase. */
static void churn_next(dm_world *w, sim_node *nd)
{
    double p = w->cfg->churn_p, up = (double)w->cfg->churn_up_mean_us;
    if (nd->churn_up ? p >= 1 : p <= 0)
        return;
    double mean = nd->churn_up ? up : up * (1 - p) / p;
    int64_t at = w->now + llround(dm_prng_exponential(&nd->churn_prng, mean));
    if (at < w->cfg->duration_us)
        schedule(w, &nd->churn, at);
}

/* Time 0, before any node starts: each node is up with probability p, so
 * the alternating process is stationary from the start (its periods are
 * memoryless). A node drawn down never ran: it is counted as crashed at 0,
 * and its first start, when churn brings it up, is a bootstrap. */
static void churn_start(dm_world *w)
{
    for (uint32_t i = 0; i < w->n; i++) {
        sim_node *nd = &w->nodes[i];
        nd->churn_up = dm_prng_double(&nd->churn_prng) < w->cfg->churn_p;
        if (!nd->churn_up) {
            TRACE(w, nd->id, "churn: starts down");
            node_crash(w, nd);
        }
        churn_next(w, nd);
    }
}

static void churn_flip(dm_world *w, sim_node *nd)
{
    nd->churn_up = !nd->churn_up;
    TRACE(w, nd->id, "churn: %s", nd->churn_up ? "up" : "down");
    if (nd->churn_up)
        node_restart(w, nd);
    else
        node_crash(w, nd);
    churn_next(w, nd);
}

static sim_node *step_target(dm_world *w, const dm_fault_step *s, node_pred pred)
{
    if (s->node >= 0)
        return pred(&w->nodes[s->node]) ? &w->nodes[s->node] : NULL;
    return pick(w, s->node == DM_TARGET_HOLDER ? is_holder : pred);
}

/* How often a step aimed at "the holder" looks again while nobody holds. */
#define HOLDER_POLL_US 10000

static void run_step(dm_world *w, uint32_t i)
{
    const dm_fault_step *s = &g_array_index(w->cfg->schedule, dm_fault_step, i);
    sim_step *rt = &w->steps[i];
    static const node_pred preds[DM_STEP_ACTIONS] = {
        [DM_STEP_CRASH] = is_not_down, [DM_STEP_RESTART] = is_down, [DM_STEP_PAUSE] = is_up,
        [DM_STEP_RESUME] = is_paused,  [DM_STEP_SKEW] = is_any,     [DM_STEP_PARTITION] = is_any,
        [DM_STEP_WIPE] = is_not_down,
    };
    sim_node *nd = NULL;
    bool targeted = preds[s->action] && (s->action != DM_STEP_PARTITION || s->node >= 0 ||
                                         s->node == DM_TARGET_HOLDER);
    if (targeted) {
        nd = step_target(w, s, preds[s->action]);
        if (!nd && s->node == DM_TARGET_HOLDER) {
            if (w->now + HOLDER_POLL_US < w->cfg->duration_us)
                schedule(w, &rt->ev, w->now + HOLDER_POLL_US);
            return;
        }
    }
    if (tracing(w)) {
        GString *t = g_string_new(NULL);
        dm_fault_step_format(s, t);
        TRACE(w, -1, "step %s%s", t->str, targeted && !nd ? ": no eligible node" : "");
        g_string_free(t, TRUE);
    }
    if (targeted && !nd)
        return;
    if (nd)
        rt->node = (int32_t)nd->id;
    switch (s->action) {
    case DM_STEP_PARTITION:
        partition(w, (dm_shape)s->shape, nd ? nd->id : DM_SIMNET_ANY, s->dur_us);
        return;
    case DM_STEP_HEAL:
        heal(w);
        return;
    case DM_STEP_CRASH:
    case DM_STEP_WIPE:
        if (s->action == DM_STEP_WIPE)
            node_wipe(w, nd);
        else
            node_crash(w, nd);
        if (s->dur_us > 0)
            schedule(w, &nd->restart, w->now + s->dur_us);
        return;
    case DM_STEP_RESTART:
        node_restart(w, nd);
        return;
    case DM_STEP_PAUSE:
        node_pause(w, nd, s->dur_us);
        return;
    case DM_STEP_RESUME:
        node_resume(w, nd);
        return;
    case DM_STEP_SKEW:
        rt->saved = (double)nd->clock.rate_ppm;
        node_skew(w, nd, (int64_t)s->value);
        break;
    case DM_STEP_LOSS:
        rt->saved = w->loss;
        set_rates(w, s->value, w->dup, w->reorder);
        break;
    case DM_STEP_DUP:
        rt->saved = w->dup;
        set_rates(w, w->loss, s->value, w->reorder);
        break;
    case DM_STEP_REORDER:
        rt->saved = w->reorder;
        set_rates(w, w->loss, w->dup, s->value);
        break;
    default:
        return;
    }
    if (w->timeline && s->action != DM_STEP_SKEW) {
        tl_step_close(w, i);   /* defensive: a step runs once */
        rt->tl_from = w->now;
    }
    if (s->dur_us > 0)
        schedule(w, &rt->undo, w->now + s->dur_us);
}

static void undo_step(dm_world *w, uint32_t i)
{
    const dm_fault_step *s = &g_array_index(w->cfg->schedule, dm_fault_step, i);
    sim_step *rt = &w->steps[i];
    TRACE(w, -1, "step %u over", i);
    switch (s->action) {
    case DM_STEP_SKEW: node_skew(w, &w->nodes[rt->node], (int64_t)rt->saved); break;
    case DM_STEP_LOSS: set_rates(w, rt->saved, w->dup, w->reorder); break;
    case DM_STEP_DUP: set_rates(w, w->loss, rt->saved, w->reorder); break;
    case DM_STEP_REORDER: set_rates(w, w->loss, w->dup, rt->saved); break;
    default: break;
    }
    if (w->timeline)
        tl_step_close(w, i);
}

/* ---------------------------------------------------------------- phases */

static void start_liveness(dm_world *w)
{
    const dm_sim_config *c = w->cfg;
    avail_close(w);
    w->phase = PHASE_LIVENESS;
    w->stats.liveness_start_us = w->now;
    w->live_deadline = w->now + c->liveness_us;
    TRACE(w, -1, "liveness phase: faults stop, network heals, everyone restarts and asks");
    for (int k = 0; k < DM_FAULT_KINDS; k++)
        cancel(w, &w->gen[k]);
    for (guint i = 0; i < c->schedule->len; i++) {
        cancel(w, &w->steps[i].ev);
        cancel(w, &w->steps[i].undo);
    }
    cancel(w, &w->crash_ev);
    for (uint32_t i = 0; i < w->n; i++)
        cancel(w, &w->nodes[i].churn);
    heal(w);
    set_rates(w, 0, 0, 0);
    if (w->timeline)
        for (guint i = 0; i < c->schedule->len; i++)
            tl_step_close(w, i);
    w->stats.liveness_view_us = w->views_agree ? 0 : -1;
    for (uint32_t i = 0; i < w->n; i++) {
        sim_node *nd = &w->nodes[i];
        node_restart(w, nd);
        node_resume(w, nd);
    }
    for (uint32_t i = 0; i < w->n; i++) {
        sim_node *nd = &w->nodes[i];
        for (uint32_t l = 0; l < c->locks; l++) {
            sim_client *cl = &nd->clients[l];
            cancel(w, &cl->arrival);
            cl->live_wanted = true;
            dm_checker_expect(w->checker, live_id(w, i, l), i, w->lock_names[l], w->live_deadline);
            w->stats.liveness_requests++;
            if (cl->state == CL_HOLDING)
                client_action(w, cl, ACT_RELEASE, w->now);
            else if (cl->state == CL_IDLE)
                client_action(w, cl, ACT_REQUEST, w->now);
        }
    }
    schedule(w, &w->phase_ev, w->live_deadline);
}

/* ---------------------------------------------------------------- the loop */

static void handle(dm_world *w, sim_event *ev)
{
    sim_node *nd = ev->node < w->n ? &w->nodes[ev->node] : NULL;
    switch ((ev_kind)ev->kind) {
    case EV_DELIVER: {
        sim_msg *sm = (sim_msg *)ev;
        fold_msg(w, &sm->msg);
        if (nd->state == NODE_DOWN) {
            w->stats.dropped_down++;
        } else if (dm_simnet_is_cut(w->net, sm->msg.from, sm->msg.to)) {
            /* It was in flight when the cut came. */
            w->stats.dropped_cut++;
        } else if (nd->state == NODE_PAUSED) {
            if (nd->inbox_len >= w->cfg->pause_buffer) {
                w->stats.dropped_overflow++;
            } else {
                if (nd->inbox_tail)
                    nd->inbox_tail->next = sm;
                else
                    nd->inbox = sm;
                nd->inbox_tail = sm;
                sm->next = NULL;
                nd->inbox_len++;
                return;
            }
        } else {
            deliver_now(w, nd, &sm->msg);
        }
        msg_free(w, sm);
        return;
    }
    case EV_TICK: {
        int64_t now = local_now(nd);
        dm_node_tick(nd->core, now);
        if (dm_node_next_deadline(nd->core) <= now) {
            /* Everything due by `now` was just handled: a deadline still
             * due is a core that would spin. Count it and move on. */
            w->stats.stuck_ticks++;
            TRACE(w, nd->id, "API: deadline still due after a tick");
            schedule(w, &nd->tick, dm_simclock_global(&nd->clock, now + 1));
            nd->tick_local = now + 1;
            return;
        }
        node_sync(w, nd);
        return;
    }
    case EV_ARRIVAL:
    case EV_ACTION:
        client_timer(w, nd, ev->arg, &nd->clients[ev->arg], ev->kind == EV_ARRIVAL);
        return;
    case EV_RESUME:
        node_resume(w, nd);
        return;
    case EV_RESTART:
        node_restart(w, nd);
        return;
    case EV_GEN:
        random_fault(w, (dm_fault_kind)ev->arg);
        gen_next(w, (dm_fault_kind)ev->arg);
        return;
    case EV_STEP:
        run_step(w, ev->arg);
        return;
    case EV_UNDO:
        undo_step(w, ev->arg);
        return;
    case EV_HEAL:
        heal(w);
        return;
    case EV_PHASE:
        if (w->phase == PHASE_FAULTS) {
            start_liveness(w);
        } else {
            dm_checker_check_deadlines(w->checker, w->now);
            if (w->member_dirty)
                members_update(w);
            if (!w->views_agree)
                report_views(w);
            w->phase = PHASE_DONE;
        }
        return;
    case EV_CRASH_COUNT:
        random_fault(w, DM_FAULT_CRASH);
        w->crashes_done++;
        crash_count_next(w);
        return;
    case EV_CHURN:
        churn_flip(w, nd);
        return;
    }
}

/* New violations after an event: trace them, and keep the context of the
 * first safety violation (what the fault picture was when it happened). */
static void note_violations(dm_world *w)
{
    uint32_t count = dm_checker_violation_count(w->checker);
    for (uint32_t i = w->violations_seen; i < count; i++) {
        const dm_violation *v = dm_checker_violation(w->checker, i);
        TRACE(w, v->node, "VIOLATION %s", v->text);
        dm_world_stats *s = &w->stats;
        const sim_node *nd = v->node < w->n ? &w->nodes[v->node] : NULL;
        if (v->kind == DM_VIOLATION_MUTEX && s->violation_holder_in_view < 0 && v->other < w->n &&
            nd && node_live(nd) && dm_node_membership(nd->core))
            s->violation_holder_in_view =
                dm_membership_in_view(dm_node_membership(nd->core), v->other) ? 1 : 0;
        if (v->kind == DM_VIOLATION_LIVENESS || s->violation_at >= 0)
            continue;
        s->violation_at = w->now;
        s->violation_kind = v->kind;
        s->violation_shape = dm_simnet_cut_count(w->net) > 0 ? w->cur_shape : -1;
        s->violation_down = w->down;
        s->violation_paused = 0;
        for (uint32_t k = 0; k < w->n; k++)
            s->violation_paused += w->nodes[k].state == NODE_PAUSED;
        s->violation_views_agree = w->views_agree;
    }
    w->violations_seen = count;
}

/* One popped event, and what follows every event: the views, the
 * checkers, the liveness phase's end. */
static void process(dm_world *w, dm_heap_entry *e)
{
    sim_event *ev = (sim_event *)e;
    if (w->tl_next < e->at)
        tl_until(w, e->at, false);   /* never when there is no timeline */
    w->now = e->at;
    w->stats.events++;
    fold(w, (uint64_t)w->now);
    fold(w, (uint64_t)ev->kind | (uint64_t)ev->node << 8 | (uint64_t)ev->arg << 40);
    handle(w, ev);
    if (w->member_dirty)
        members_update(w);
    if (dm_checker_violation_count(w->checker) != w->violations_seen)
        note_violations(w);
    if (w->phase == PHASE_LIVENESS) {
        dm_checker_check_deadlines(w->checker, w->now);
        if (dm_checker_pending(w->checker) == 0 && w->views_agree) {
            TRACE(w, -1, "liveness: every request granted, views agree");
            w->phase = PHASE_DONE;
        }
    }
}

void dm_world_run(dm_world *w)
{
    if (w->phase == PHASE_DONE)
        return;
    dm_heap_entry *e;
    while (w->phase != PHASE_DONE && (e = dm_heap_pop(&w->heap)) != NULL)
        process(w, e);
    w->phase = PHASE_DONE;
    avail_close(w);   /* a run cut short in the fault phase */
    if (w->timeline)
        tl_finish(w);
    w->stats.sim_us = w->now;
    for (uint32_t i = 0; i < w->n; i++)
        if (w->nodes[i].state != NODE_DOWN)
            w->stats.node_up_us += w->now - w->nodes[i].up_since;
    for (guint k = 0; k < w->detections->len; k++)
        detection_close(w, &g_array_index(w->detections, dm_world_detection, k), "cut short by the end");
    const dm_simnet_stats *ns = dm_simnet_get_stats(w->net);
    w->stats.duplicated = ns->duplicated;
    w->stats.reordered = ns->reordered;
    /* Attempts the run ended in the middle of. */
    for (uint32_t i = 0; i < w->n; i++)
        for (uint32_t l = 0; l < w->cfg->locks; l++) {
            sim_client *cl = &w->nodes[i].clients[l];
            if (cl->state != CL_IDLE)
                csv_row(w, &w->nodes[i], l, cl, -1, cl->state == CL_HOLDING ? "granted" : "pending");
        }
    dm_trace_flush(&w->trace);
    if (w->csv)
        fflush(w->csv);
    if (w->csv_members)
        fflush(w->csv_members);
}

/* ---------------------------------------------------------------- setup */

dm_world *dm_world_new(const dm_sim_config *cfg)
{
    dm_world *w = g_new0(dm_world, 1);
    w->cfg = cfg;
    w->n = cfg->nodes;
    dm_heap_init(&w->heap);
    dm_trace_init(&w->trace);
    w->slabs = g_ptr_array_new_with_free_func(g_free);
    w->checker = dm_checker_new(w->n);
    w->detections = g_array_new(FALSE, FALSE, sizeof(dm_world_detection));
    w->census = g_array_new(FALSE, FALSE, sizeof(view_count));
    w->dirty = g_new(uint32_t, cfg->nodes);
    w->cur_shape = -1;
    w->views_agree = true;
    w->stats.violation_at = -1;
    w->stats.violation_shape = -1;
    w->stats.violation_holder_in_view = -1;
    w->stats.liveness_view_us = -1;
    w->tl_next = INT64_MAX;
    w->tl_part_at = -1;
    uint32_t *ids = g_new(uint32_t, w->n);
    for (uint32_t i = 0; i < w->n; i++)
        ids[i] = i;
    if (dm_quorum_new(cfg->quorum, ids, w->n, &w->full_quorum) < 0)
        g_error("simulator: cannot build the tree over %u members", w->n);
    g_free(ids);
    w->down_mask = g_new0(uint8_t, w->n);

    dm_prng p;
    dm_prng_derive(&p, cfg->seed, "network", 0);
    w->net = dm_simnet_new(w->n, &cfg->net, &p);
    set_rates(w, cfg->net.loss, cfg->net.dup, cfg->net.reorder);
    dm_prng_derive(&w->fault_prng, cfg->seed, "faults", 0);
    dm_prng_derive(&w->work_prng, cfg->seed, "workload", 0);

    w->lock_names = g_new0(char *, cfg->locks + 1);
    w->lock_index = g_hash_table_new(g_str_hash, g_str_equal);
    for (uint32_t l = 0; l < cfg->locks; l++) {
        w->lock_names[l] = g_strdup_printf("lock%u", l);
        g_hash_table_insert(w->lock_index, w->lock_names[l], GUINT_TO_POINTER(l + 1));
    }

    w->nodes = g_new0(sim_node, w->n);
    for (uint32_t i = 0; i < w->n; i++) {
        w->down_mask[i] = 1;
        w->nodes[i].recoverable = dm_quorum_exists(w->full_quorum, w->down_mask);
        w->down_mask[i] = 0;
    }
    w->clients = g_new0(sim_client, (gsize)w->n * cfg->locks);
    for (uint32_t i = 0; i < w->n; i++) {
        sim_node *nd = &w->nodes[i];
        nd->w = w;
        nd->id = i;
        event_init(&nd->tick, EV_TICK, i, 0);
        event_init(&nd->resume, EV_RESUME, i, 0);
        event_init(&nd->restart, EV_RESTART, i, 0);
        event_init(&nd->churn, EV_CHURN, i, 0);
        nd->tl_crashed_at = nd->tl_paused_at = -1;
        dm_prng_derive(&nd->prng, cfg->seed, "node", i);
        dm_prng_derive(&nd->churn_prng, cfg->seed, "churn", i);
        /* The node's own stream also sets its clock, so that the cluster
         * size changes no existing node's clock. */
        int64_t offset = (int64_t)dm_prng_below(&nd->prng, (uint64_t)cfg->clock_offset_us + 1);
        int64_t rate = drift_draw(w, &nd->prng);
        if (cfg->clock_rates && i < cfg->clock_rates->len)
            rate = g_array_index(cfg->clock_rates, int64_t, i);
        dm_simclock_init(&nd->clock, 0, offset, rate);
        nd->persisted = g_byte_array_new();
        nd->clients = &w->clients[(gsize)i * cfg->locks];
        for (uint32_t l = 0; l < cfg->locks; l++) {
            event_init(&nd->clients[l].arrival, EV_ARRIVAL, i, l);
            event_init(&nd->clients[l].action, EV_ACTION, i, l);
        }
    }
    for (int k = 0; k < DM_FAULT_KINDS; k++)
        event_init(&w->gen[k], EV_GEN, UINT32_MAX, (uint32_t)k);
    w->steps = g_new0(sim_step, cfg->schedule->len);
    for (guint i = 0; i < cfg->schedule->len; i++) {
        event_init(&w->steps[i].ev, EV_STEP, UINT32_MAX, i);
        event_init(&w->steps[i].undo, EV_UNDO, UINT32_MAX, i);
        w->steps[i].tl_from = -1;
    }
    event_init(&w->heal, EV_HEAL, UINT32_MAX, 0);
    event_init(&w->phase_ev, EV_PHASE, UINT32_MAX, 0);
    event_init(&w->crash_ev, EV_CRASH_COUNT, UINT32_MAX, 0);

    /* Time 0: every node starts -- as a bootstrap: none ran before -- except
     * those churn holds down; the first faults and arrivals are drawn. */
    if (cfg->kinds & (1u << DM_FAULT_CHURN))
        churn_start(w);
    for (uint32_t i = 0; i < w->n; i++)
        if (w->nodes[i].state != NODE_DOWN)
            node_start(w, &w->nodes[i]);
    w->avail_open = true;
    avail_update(w);
    for (int k = 0; k < DM_FAULT_KINDS; k++)
        if (cfg->rate[k] > 0)
            gen_next(w, (dm_fault_kind)k);
    for (guint i = 0; i < cfg->schedule->len; i++) {
        int64_t at = g_array_index(cfg->schedule, dm_fault_step, i).at;
        if (at < cfg->duration_us)
            schedule(w, &w->steps[i].ev, at);
    }
    crash_count_next(w);
    schedule(w, &w->phase_ev, cfg->duration_us);
    return w;
}

void dm_world_free(dm_world *w)
{
    if (!w)
        return;
    for (uint32_t i = 0; i < w->n; i++) {
        dm_node_free(w->nodes[i].core);
        g_byte_array_unref(w->nodes[i].persisted);
    }
    g_free(w->nodes);
    g_free(w->clients);
    g_free(w->steps);
    g_hash_table_destroy(w->lock_index);
    g_strfreev(w->lock_names);
    dm_checker_free(w->checker);
    g_array_free(w->detections, TRUE);
    g_array_free(w->census, TRUE);
    g_free(w->dirty);
    dm_quorum_free(w->full_quorum);
    g_free(w->down_mask);
    if (w->tl_row)
        g_string_free(w->tl_row, TRUE);
    if (w->tl_part)
        g_string_free(w->tl_part, TRUE);
    g_free(w->tl_quorum);
    dm_simnet_free(w->net);
    dm_trace_clear(&w->trace);
    g_ptr_array_free(w->slabs, TRUE);
    dm_heap_clear(&w->heap);
    g_free(w);
}

void dm_world_set_trace(dm_world *w, FILE *out)
{
    dm_trace_enable(&w->trace, out);
}

const char *dm_world_trace_text(const dm_world *w)
{
    return dm_trace_text(&w->trace);
}

void dm_world_set_csv(dm_world *w, FILE *out)
{
    w->csv = out;
}

void dm_world_set_csv_members(dm_world *w, FILE *out)
{
    w->csv_members = out;
}

void dm_world_set_timeline(dm_world *w, FILE *out)
{
    g_return_if_fail(w->timeline == NULL && w->stats.events == 0);
    if (!out)
        return;
    w->timeline = out;
    w->tl_next = 0;
    w->tl_row = g_string_sized_new(256);
    w->tl_part = g_string_new(NULL);
    w->tl_quorum = g_new0(uint32_t, w->n);
    /* Nodes churn started down at time 0. */
    for (uint32_t i = 0; i < w->n; i++)
        if (w->nodes[i].state == NODE_DOWN)
            w->nodes[i].tl_crashed_at = w->now;
}

uint32_t dm_world_detection_count(const dm_world *w)
{
    return w->detections->len;
}

const dm_world_detection *dm_world_detection_get(const dm_world *w, uint32_t i)
{
    g_return_val_if_fail(i < w->detections->len, NULL);
    return &g_array_index(w->detections, dm_world_detection, i);
}

bool dm_world_views_agree(const dm_world *w)
{
    return w->views_agree;
}

void dm_world_set_tap(dm_world *w, uint32_t node, const dm_world_tap *tap, void *user)
{
    g_return_if_fail(node < w->n);
    w->nodes[node].tap = tap;
    w->nodes[node].tap_user = user;
}

uint64_t dm_world_hash(const dm_world *w)
{
    return w->trace.hash;
}

const dm_world_stats *dm_world_get_stats(const dm_world *w)
{
    return &w->stats;
}

dm_checker *dm_world_checker(const dm_world *w)
{
    return w->checker;
}

bool dm_world_failed(const dm_world *w)
{
    return dm_checker_violation_count(w->checker) > 0 || w->stats.codec_errors > 0 ||
           w->stats.api_errors > 0 || w->stats.start_failures > 0 || w->stats.stuck_ticks > 0;
}

/* ---------------------------------------------------------------- stepping
 *
 * The world driven by hand (world.h, "stepping"; sim/cluster.c builds the
 * test fixture on it): the same loop body as dm_world_run, one event at a
 * time, and the fault actions of the scripted steps as calls. */

int64_t dm_world_now(const dm_world *w)
{
    return w->now;
}

int64_t dm_world_next_at(const dm_world *w)
{
    const dm_heap_entry *e = dm_heap_peek(&w->heap);
    return e ? e->at : INT64_MAX;
}

bool dm_world_step(dm_world *w)
{
    dm_heap_entry *e = dm_heap_pop(&w->heap);
    if (!e)
        return false;
    process(w, e);
    return true;
}

int dm_world_advance(dm_world *w, int64_t t)
{
    if (t < w->now || dm_world_next_at(w) < t)
        return -DM_EINVAL;
    if (w->tl_next < t)
        tl_until(w, t, false);
    w->now = t;
    return 0;
}

static sim_node *node_at(const dm_world *w, uint32_t i)
{
    return i < w->n ? &w->nodes[i] : NULL;
}

dm_node *dm_world_node(const dm_world *w, uint32_t i)
{
    const sim_node *nd = node_at(w, i);
    return nd && nd->state != NODE_DOWN ? nd->core : NULL;
}

bool dm_world_node_paused(const dm_world *w, uint32_t i)
{
    const sim_node *nd = node_at(w, i);
    return nd && nd->state == NODE_PAUSED;
}

int64_t dm_world_local_now(const dm_world *w, uint32_t i)
{
    const sim_node *nd = node_at(w, i);
    return nd ? local_now(nd) : w->now;
}

int64_t dm_world_global(const dm_world *w, uint32_t i, int64_t local)
{
    const sim_node *nd = node_at(w, i);
    return nd ? dm_simclock_global(&nd->clock, local) : local;
}

int dm_world_sync(dm_world *w, uint32_t i)
{
    sim_node *nd = node_at(w, i);
    if (!nd || !node_live(nd))
        return -DM_EINVAL;
    view_touch(w, nd);
    node_sync(w, nd);
    if (w->member_dirty)
        members_update(w);
    return 0;
}

/* Apply one process fault to node i if it is in `state` (or, with `not`,
 * in any other state); the world's bookkeeping follows as for a scripted
 * step. */
static int node_fault(dm_world *w, uint32_t i, bool not, node_state state,
                      void (*apply)(dm_world *, sim_node *))
{
    sim_node *nd = node_at(w, i);
    if (!nd || (nd->state == state) == not)
        return -DM_EINVAL;
    apply(w, nd);
    if (w->member_dirty)
        members_update(w);
    return 0;
}

static void pause_forever(dm_world *w, sim_node *nd)
{
    node_pause(w, nd, 0);
}

int dm_world_crash(dm_world *w, uint32_t i)
{
    return node_fault(w, i, true, NODE_DOWN, node_crash);
}

int dm_world_wipe(dm_world *w, uint32_t i)
{
    return node_fault(w, i, true, NODE_DOWN, node_wipe);
}

int dm_world_restart(dm_world *w, uint32_t i)
{
    int rc = node_fault(w, i, false, NODE_DOWN, node_restart);
    return rc < 0 ? rc : w->nodes[i].state == NODE_DOWN ? -DM_EINVAL : 0;
}

int dm_world_pause(dm_world *w, uint32_t i)
{
    return node_fault(w, i, false, NODE_UP, pause_forever);
}

int dm_world_resume(dm_world *w, uint32_t i)
{
    return node_fault(w, i, false, NODE_PAUSED, node_resume);
}

const uint8_t *dm_world_persisted(const dm_world *w, uint32_t i, size_t *len)
{
    const sim_node *nd = node_at(w, i);
    *len = nd ? nd->persisted->len : 0;
    return nd ? nd->persisted->data : NULL;
}

int dm_world_set_persisted(dm_world *w, uint32_t i, const void *bytes, size_t len)
{
    sim_node *nd = node_at(w, i);
    if (!nd || nd->state != NODE_DOWN || (len > 0 && !bytes) || len > G_MAXUINT)
        return -DM_EINVAL;
    g_byte_array_set_size(nd->persisted, 0);
    g_byte_array_append(nd->persisted, bytes, (guint)len);
    nd->wiped = false;
    return 0;
}

int dm_world_isolate(dm_world *w, uint32_t i)
{
    if (i >= w->n)
        return -DM_EINVAL;
    partition(w, DM_SHAPE_ISOLATE, i, 0);
    return 0;
}

int dm_world_cut(dm_world *w, uint32_t from, uint32_t to, bool cut)
{
    if (from >= w->n || to >= w->n || from == to)
        return -DM_EINVAL;
    dm_simnet_set_cut(w->net, from, to, cut);
    return 0;
}

void dm_world_heal(dm_world *w)
{
    heal(w);
}

int dm_world_set_rates(dm_world *w, double loss, double dup, double reorder)
{
    if (!(loss >= 0 && loss <= 1 && dup >= 0 && dup <= 1 && reorder >= 0 && reorder <= 1))
        return -DM_EINVAL;
    set_rates(w, loss, dup, reorder);
    return 0;
}

int dm_world_send(dm_world *w, const dm_msg *m)
{
    if (!m || m->from >= w->n || m->to >= w->n || m->from == m->to)
        return -DM_EINVAL;
    drv_send(&w->nodes[m->from], m);
    return 0;
}
