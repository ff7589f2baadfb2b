/* Tests of core/node: the lock protocol, leases, restarts and fencing.
 *
 * A small discrete-event pump drives 1..15 core nodes: every message gets a
 * delivery time (constant latency: FIFO; random latency: an order drawn from
 * the seed), may be duplicated, and nodes are ticked at their deadlines.
 * All nodes share one clock, so lease ends reported by the core are directly
 * comparable. The holder check runs on every GRANTED event; test (e) shows
 * that it catches a deliberately wrong arbiter.
 */
#include <string.h>
#include <glib.h>

#include "testlib.h"
#include "wire.h"
#include "error.h"
#include "heap.h"
#include "node.h"
#include "prng.h"
#include "tree.h"

#define MAX_NODES 16
#define MS 1000
#define SEC 1000000

typedef struct pump pump;


typedef struct holder {
    bool holding;
    uint32_t node;
    int64_t lease_end;
    uint64_t last_token;
} holder;

typedef struct member {
    pump *p;
    uint32_t id;
    dm_node *node;
    bool up;
    bool paused;
    guint8 persisted[64];
    size_t persisted_len;
    /* workload */
    bool want;             /* issues lock() whenever idle */
    bool requested;        /* a lock() is outstanding */
    int64_t unlock_at;     /* DM_NEVER unless holding under the workload */
    int64_t next_request_at;
    GArray *events;        /* dm_event_type, in delivery order */
    uint64_t granted_attempt, failed_attempt;   /* of the latest GRANTED / FAILED */
    GQueue inbox;          /* dm_msg* that arrived while paused */
    uint32_t views;        /* DM_EV_VIEW events */
    uint32_t member_events[DM_MEMBER_EV_LEFT + 1];
} member;

struct pump {
    uint32_t n;
    member m[MAX_NODES];
    dm_config cfg;
    dm_wire wire;
    int64_t now;
    dm_prng rng;
    uint32_t broken_arbiter;       /* UINT32_MAX: none; else grants to every request */
    uint64_t broken_grant_seq;
    GHashTable *holders;           /* lock name -> holder */
    uint64_t violations;
    uint64_t token_regressions;
    uint64_t acquisitions;
    uint64_t failures;
    uint64_t lost;
    uint64_t sent_to[MAX_NODES][DM_MSG_TYPE_COUNT];
    int64_t hold_us;
    int64_t lock_timeout_us;
    const char *lock_name;
};

static holder *holder_of(pump *p, const char *name)
{
    holder *h = g_hash_table_lookup(p->holders, name);
    if (!h) {
        h = g_new0(holder, 1);
        g_hash_table_insert(p->holders, g_strdup(name), h);
    }
    return h;
}

static void holder_end(pump *p, uint32_t node, const char *name)
{
    holder *h = holder_of(p, name);
    if (h->holding && h->node == node)
        h->holding = false;
}

/* Unlocking ends the hold for the holder check before the core is told. */
static int unlock(pump *p, uint32_t i, const char *name)
{
    holder_end(p, i, name);
    return dm_node_unlock(p->m[i].node, p->now, name);
}

/* ------------------------------------------------------------------ driver */

/* FIFO (a constant 1 ms) by default; random order: an order drawn from the
 * seed, with `dup` of the messages duplicated and `loss` lost. */
static void pump_network(pump *p, bool random_order, double dup, double loss)
{
    p->wire.latency_min = random_order ? 50 : 1 * MS;
    p->wire.latency_max = random_order ? 3 * MS : 1 * MS;
    p->wire.dup = dup;
    p->wire.loss = loss;
}

static void drv_send(void *user, const dm_msg *msg)
{
    member *mb = user;
    pump *p = mb->p;
    CU_ASSERT_NOT_EQUAL(msg->to, msg->from);
    CU_ASSERT_EQUAL(msg->from, mb->id);
    p->sent_to[msg->to][msg->type]++;
    dm_wire_send(&p->wire, p->now, msg);
}

static void drv_notify(void *user, const dm_event *ev)
{
    member *mb = user;
    pump *p = mb->p;
    dm_event_type t = ev->type;
    g_array_append_val(mb->events, t);
    holder *h = ev->name ? holder_of(p, ev->name) : NULL;
    switch (ev->type) {
    case DM_EV_GRANTED:
        if (h->holding && h->node != mb->id && h->lease_end > p->now)
            p->violations++;
        if (ev->token <= h->last_token)
            p->token_regressions++;
        h->last_token = ev->token;
        h->holding = true;
        h->node = mb->id;
        h->lease_end = ev->lease_until;
        CU_ASSERT(ev->lease_until > p->now);
        CU_ASSERT_EQUAL(dm_node_token(mb->node, ev->name), ev->token);
        p->acquisitions++;
        mb->granted_attempt = ev->attempt;
        mb->requested = false;
        if (mb->want)
            mb->unlock_at = p->now + p->hold_us;
        break;
    case DM_EV_RENEWED:
        if (h->holding && h->node == mb->id)
            h->lease_end = ev->lease_until;
        break;
    case DM_EV_LOST:
        holder_end(p, mb->id, ev->name);
        p->lost++;
        mb->unlock_at = DM_NEVER;
        break;
    case DM_EV_FAILED:
        p->failures++;
        mb->failed_attempt = ev->attempt;
        mb->requested = false;
        break;
    case DM_EV_MEMBER:
        CU_ASSERT_PTR_NULL(ev->name);
        CU_ASSERT(ev->member < p->n && ev->member != mb->id);
        mb->member_events[ev->member_event]++;
        break;
    case DM_EV_VIEW:
        CU_ASSERT_EQUAL(ev->view_hash, dm_membership_view_hash(dm_node_membership(mb->node)));
        mb->views++;
        break;
    }
}

static int drv_persist(void *user, const void *bytes, size_t len)
{
    member *mb = user;
    g_assert(len <= sizeof mb->persisted);
    memcpy(mb->persisted, bytes, len);
    mb->persisted_len = len;
    return 0;
}

static const dm_driver driver = { drv_send, drv_notify, drv_persist };

/* ------------------------------------------------------------------ pump */

static void member_start(pump *p, uint32_t i)
{
    member *mb = &p->m[i];
    dm_config cfg = p->cfg;
    cfg.self = i;
    cfg.seed = 1000 + i;
    int rc = dm_node_new(&cfg, &driver, mb, p->now,
                         mb->persisted_len ? mb->persisted : NULL, mb->persisted_len, &mb->node);
    g_assert(rc == 0);
    mb->up = true;
    mb->paused = false;
    mb->requested = false;
    mb->unlock_at = DM_NEVER;
}

static void pump_init(pump *p, uint32_t n, uint64_t seed)
{
    memset(p, 0, sizeof *p);
    p->n = n;
    dm_config_defaults(&p->cfg);
    p->cfg.bootstrap = true;   /* a new cluster: no recovery wait */
    p->cfg.n_members = n;
    p->cfg.lease_us = 2 * SEC;
    p->cfg.rpc_timeout_us = 200 * MS;
    p->cfg.suspect_us = 2 * SEC;
    p->cfg.drift_ppm = 10000;
    /* The lock protocol alone (exact message counts, timeout suspicion);
     * the membership tests switch SWIM on. */
    p->cfg.membership = false;
    /* The tests name arbiters by their place in the tree as built (the
     * root, a subtree): every lock name uses that placement here;
     * tests/test_placement.c covers placements. */
    p->cfg.spread = false;
    dm_wire_init(&p->wire, seed ^ 0x77697265, 1 * MS, 1 * MS);
    dm_prng_seed(&p->rng, seed);
    p->now = 1 * SEC;
    p->broken_arbiter = UINT32_MAX;
    p->holders = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    p->hold_us = 5 * MS;
    p->lock_timeout_us = 60 * SEC;
    p->lock_name = "alpha";
    for (uint32_t i = 0; i < n; i++) {
        p->m[i].p = p;
        p->m[i].id = i;
        p->m[i].events = g_array_new(FALSE, FALSE, sizeof(dm_event_type));
        p->m[i].next_request_at = DM_NEVER;
        member_start(p, i);
    }
}

static void pump_free(pump *p)
{
    dm_wire_clear(&p->wire);
    for (uint32_t i = 0; i < p->n; i++) {
        dm_node_free(p->m[i].node);
        g_array_free(p->m[i].events, TRUE);
        g_queue_clear_full(&p->m[i].inbox, g_free);
    }
    g_hash_table_destroy(p->holders);
}

/* Start every node afresh (first boot) with the pump's current config. */
static void pump_reboot(pump *p)
{
    for (uint32_t i = 0; i < p->n; i++) {
        dm_node_free(p->m[i].node);
        p->m[i].persisted_len = 0;
        member_start(p, i);
    }
}

/* The process runs again: what its socket buffered arrives first. */
static void resume(pump *p, uint32_t i)
{
    member *mb = &p->m[i];
    mb->paused = false;
    dm_msg *m;
    while ((m = g_queue_pop_head(&mb->inbox)) != NULL) {
        CU_ASSERT_EQUAL(dm_node_receive(mb->node, p->now, m), 0);
        g_free(m);
    }
    dm_node_tick(mb->node, p->now);
}

static void crash(pump *p, uint32_t i)
{
    member *mb = &p->m[i];
    g_queue_clear_full(&mb->inbox, g_free);
    dm_node_free(mb->node);
    mb->node = NULL;
    mb->up = false;
    mb->requested = false;
    mb->unlock_at = DM_NEVER;
    GHashTableIter it;
    gpointer key, val;
    g_hash_table_iter_init(&it, p->holders);
    while (g_hash_table_iter_next(&it, &key, &val))
        holder_end(p, i, key);
}

/* A wrong arbiter for test (e): it answers every REQUEST with a fresh GRANT
 * and every KEEP with KEPT, whatever it granted before. */
static void broken_arbiter_answer(pump *p, const dm_msg *in)
{
    dm_msg out = *in;
    out.from = in->to;
    out.to = in->from;
    out.clock = in->clock + 1;
    if (in->type == DM_MSG_REQUEST) {
        out.type = DM_MSG_GRANT;
        out.grant = ++p->broken_grant_seq;
        out.value = 0;
    } else if (in->type == DM_MSG_KEEP) {
        out.type = DM_MSG_KEPT;
    } else {
        return;
    }
    dm_wire_send(&p->wire, p->now, &out);
}

static void deliver(pump *p, const dm_msg *msg)
{
    member *mb = &p->m[msg->to];
    if (!mb->up)
        return;
    if (msg->to == p->broken_arbiter) {
        broken_arbiter_answer(p, msg);
        return;
    }
    if (mb->paused) {   /* the socket buffers it until the process runs again */
        g_queue_push_tail(&mb->inbox, g_memdup2(msg, sizeof *msg));
        return;
    }
    CU_ASSERT_EQUAL(dm_node_receive(mb->node, p->now, msg), 0);
}

static int64_t member_due(const member *mb)
{
    if (!mb->up || mb->paused)
        return DM_NEVER;
    int64_t due = dm_node_next_deadline(mb->node);
    if (mb->unlock_at < due)
        due = mb->unlock_at;
    if (mb->want && !mb->requested && mb->unlock_at == DM_NEVER && mb->next_request_at < due)
        due = mb->next_request_at;
    return due;
}

static void member_act(pump *p, member *mb)
{
    if (mb->unlock_at <= p->now) {
        mb->unlock_at = DM_NEVER;
        if (dm_node_holds(mb->node, p->lock_name))
            CU_ASSERT_EQUAL(unlock(p, mb->id, p->lock_name), 0);
        mb->next_request_at = p->now + (int64_t)dm_prng_below(&p->rng, 2 * MS);
    }
    if (mb->want && !mb->requested && mb->unlock_at == DM_NEVER && mb->next_request_at <= p->now) {
        int rc = dm_node_lock(mb->node, p->now, p->lock_name, p->lock_timeout_us, NULL);
        if (rc == 0)
            mb->requested = true;
        else
            mb->next_request_at = p->now + 100 * MS;
    }
    dm_node_tick(mb->node, p->now);
    /* A tick serves everything due: nothing may be left in the past. */
    CU_ASSERT(dm_node_next_deadline(mb->node) > p->now);
}

/* Run one event; false when nothing at all is scheduled before `until`. */
static bool pump_step(pump *p, int64_t until)
{
    int64_t best = DM_NEVER;
    int who = -1;
    for (uint32_t i = 0; i < p->n; i++) {
        int64_t d = member_due(&p->m[i]);
        if (d < best) {
            best = d;
            who = (int)i;
        }
    }
    int64_t arrival = dm_wire_next(&p->wire);
    bool wire_first = arrival <= best;
    int64_t at = wire_first ? arrival : best;
    if (at > until || at == DM_NEVER) {
        p->now = until;
        return false;
    }
    if (at > p->now)
        p->now = at;
    if (wire_first) {
        dm_msg msg;
        dm_wire_take(&p->wire, at, &msg, &at);
        deliver(p, &msg);
    } else {
        member_act(p, &p->m[who]);
    }
    return true;
}

static void pump_run_until(pump *p, int64_t until)
{
    while (pump_step(p, until))
        ;
}

/* Node i asks for `name` and the pump runs for 100 ms (an uncontended grant
 * takes a few 1 ms hops): true when it then holds the lock. */
static bool acquire(pump *p, uint32_t i, const char *name, int64_t timeout_us)
{
    CU_ASSERT_EQUAL(dm_node_lock(p->m[i].node, p->now, name, timeout_us, NULL), 0);
    pump_run_until(p, p->now + 100 * MS);
    return dm_node_holds(p->m[i].node, name);
}

static uint64_t total_sent(pump *p, dm_msg_type t)
{
    uint64_t sum = 0;
    for (uint32_t i = 0; i < p->n; i++)
        if (p->m[i].node)
            sum += dm_node_get_stats(p->m[i].node)->sent[t];
    return sum;
}

static uint64_t total_network_messages(pump *p)
{
    uint64_t sum = 0;
    for (int t = 1; t < DM_MSG_TYPE_END; t++)
        sum += total_sent(p, t);
    return sum;
}

static int quorum_contains(const dm_quorum *t, uint32_t self, uint32_t n)
{
    /* Failure-free quorum of `self`: the tree path through self, which is what
     * the node forms with nothing suspected. */
    int32_t *pref = g_new0(int32_t, n);
    uint32_t *q = g_new(uint32_t, n);
    pref[self] = 1 << 20;
    dm_quorum_hint hint = { NULL, pref };
    int size = dm_quorum_form(t, &hint, q, n);
    int in = 0;
    for (int i = 0; i < size; i++)
        in |= q[i] == self;
    g_free(pref);
    g_free(q);
    return in ? size : -size;
}

/* ------------------------------------------------------------------ (a) */

static void test_lone_requester_cost(void)
{
    for (uint32_t n = 1; n <= 15; n++) {
        for (uint32_t who = 0; who < n; who++) {
            pump p;
            pump_init(&p, n, 7);
            member *mb = &p.m[who];
            CU_ASSERT_EQUAL_FATAL(dm_node_lock(mb->node, p.now, "a", 10 * SEC, NULL), 0);
            pump_run_until(&p, p.now + 500 * MS);
            CU_ASSERT_TRUE(dm_node_holds(mb->node, "a"));
            CU_ASSERT_EQUAL(p.acquisitions, 1);
            CU_ASSERT_EQUAL(unlock(&p, who, "a"), 0);
            CU_ASSERT_FALSE(dm_node_holds(mb->node, "a"));
            pump_run_until(&p, p.now + 500 * MS);
            int k = quorum_contains(dm_node_quorum_system(mb->node), who, n);
            CU_ASSERT(k > 0);   /* the node's own path contains it */
            uint64_t remote = (uint64_t)k - 1;
            /* REQUEST, GRANT, KEEP (the fence), KEPT, RELEASE per remote
             * quorum member: Maekawa's 3(K-1) plus the fence round. */
            CU_ASSERT_EQUAL(total_sent(&p, DM_MSG_REQUEST), remote);
            CU_ASSERT_EQUAL(total_sent(&p, DM_MSG_GRANT), remote);
            CU_ASSERT_EQUAL(total_sent(&p, DM_MSG_KEEP), remote);
            CU_ASSERT_EQUAL(total_sent(&p, DM_MSG_KEPT), remote);
            CU_ASSERT_EQUAL(total_sent(&p, DM_MSG_RELEASE), remote);
            CU_ASSERT_EQUAL(total_network_messages(&p), 5 * remote);
            /* Every arbiter is free again. */
            for (uint32_t i = 0; i < n; i++) {
                dm_arbiter_info info;
                dm_node_arbiter_info(p.m[i].node, "a", &info);
                CU_ASSERT_FALSE(info.granted);
            }
            pump_free(&p);
        }
    }
}

/* ------------------------------------------------------------------ (b) */

static void contend(uint32_t n, uint64_t seed, bool random_order, double dup_p, uint64_t target,
                    pump *p)
{
    pump_init(p, n, seed);
    pump_network(p, random_order, dup_p, 0);
    for (uint32_t i = 0; i < n; i++) {
        p->m[i].want = true;
        p->m[i].next_request_at = p->now + (int64_t)dm_prng_below(&p->rng, 5 * MS);
    }
    int64_t limit = p->now + 3600 * (int64_t)SEC;
    uint64_t last = 0;
    int64_t last_progress = p->now;
    while (p->acquisitions < target && p->now < limit) {
        if (!pump_step(p, limit))
            break;
        if (p->acquisitions != last) {
            last = p->acquisitions;
            last_progress = p->now;
        }
        /* Deadlock: nobody acquired for much longer than any lease. */
        if (p->now - last_progress > 30 * (int64_t)SEC)
            break;
    }
}

static void test_contention_fifo_and_random(void)
{
    /* Seed 1 delivers in FIFO order; every other seed draws its own order
     * and duplicates 5% of the messages. */
    for (uint32_t n = 3; n <= 15; n++) {
        for (uint64_t seed = 1; seed <= 10; seed++) {
            pump p;
            bool random_order = seed > 1;
            contend(n, seed, random_order, random_order ? 0.05 : 0.0, 1000, &p);
            CU_ASSERT_EQUAL(p.violations, 0);
            CU_ASSERT_EQUAL(p.token_regressions, 0);
            CU_ASSERT(p.acquisitions >= 1000);   /* no deadlock */
            CU_ASSERT_EQUAL(p.failures, 0);       /* every request served */
            CU_ASSERT_EQUAL(p.lost, 0);
            if (p.violations || p.acquisitions < 1000 || p.failures)
                g_printerr("n=%u seed=%" G_GUINT64_FORMAT ": violations=%" G_GUINT64_FORMAT
                           " acquisitions=%" G_GUINT64_FORMAT " failures=%" G_GUINT64_FORMAT "\n",
                           n, seed, p.violations, p.acquisitions, p.failures);
            pump_free(&p);
        }
    }
}

/* Every node gets its turn: with all contending, no node starves. */
static void test_no_starvation(void)
{
    pump p;
    contend(7, 42, true, 0.02, 2000, &p);
    for (uint32_t i = 0; i < p.n; i++) {
        const dm_node_stats *st = dm_node_get_stats(p.m[i].node);
        CU_ASSERT(st->acquired >= 2000 / p.n / 4);
    }
    pump_free(&p);
}

/* Losing messages costs retransmissions, never safety or progress. */
static void test_contention_with_loss(void)
{
    for (uint64_t seed = 1; seed <= 4; seed++) {
        pump p;
        pump_init(&p, 7, seed);
        pump_network(&p, true, 0.05, 0.05);
        p.lock_timeout_us = 5 * SEC;
        for (uint32_t i = 0; i < p.n; i++) {
            p.m[i].want = true;
            p.m[i].next_request_at = p.now;
        }
        pump_run_until(&p, p.now + 60 * (int64_t)SEC);
        CU_ASSERT_EQUAL(p.violations, 0);
        CU_ASSERT_EQUAL(p.token_regressions, 0);
        /* Without loss this workload does ~85 acquisitions/s; each loss costs
         * one retransmission timeout (200-400 ms) and about every other
         * acquisition meets one, so ~10/s is what progress looks like. A lost
         * RELEASE or GRANT that cost a whole lease (2 s) would drop it far
         * below: */
        CU_ASSERT(p.acquisitions >= 400);
        uint64_t expiries = 0;
        for (uint32_t i = 0; i < p.n; i++)
            expiries += dm_node_get_stats(p.m[i].node)->lease_expiries;
        CU_ASSERT(expiries <= 5);
        if (p.acquisitions < 400)
            g_printerr("loss seed %" G_GUINT64_FORMAT ": acquisitions=%" G_GUINT64_FORMAT
                       " failures=%" G_GUINT64_FORMAT " lost=%" G_GUINT64_FORMAT "\n",
                       seed, p.acquisitions, p.failures, p.lost);
        pump_free(&p);
    }
}

/* ------------------------------------------------------------------ (c) */

static void test_names_are_independent(void)
{
    pump p;
    pump_init(&p, 5, 3);
    CU_ASSERT_EQUAL(dm_node_lock(p.m[0].node, p.now, "x", 5 * SEC, NULL), 0);
    CU_ASSERT_EQUAL(dm_node_lock(p.m[4].node, p.now, "y", 5 * SEC, NULL), 0);
    pump_run_until(&p, p.now + 200 * MS);
    CU_ASSERT_TRUE(dm_node_holds(p.m[0].node, "x"));
    CU_ASSERT_TRUE(dm_node_holds(p.m[4].node, "y"));
    /* A second name on the same node is independent too. */
    CU_ASSERT_EQUAL(dm_node_lock(p.m[0].node, p.now, "y", 1 * SEC, NULL), 0);
    pump_run_until(&p, p.now + 200 * MS);
    CU_ASSERT_FALSE(dm_node_holds(p.m[0].node, "y"));   /* held by node 4 */
    CU_ASSERT_EQUAL(unlock(&p, 4, "y"), 0);
    pump_run_until(&p, p.now + 200 * MS);
    CU_ASSERT_TRUE(dm_node_holds(p.m[0].node, "y"));
    CU_ASSERT_TRUE(dm_node_holds(p.m[0].node, "x"));
    CU_ASSERT_EQUAL(p.violations, 0);
    pump_free(&p);
}

/* ------------------------------------------------------------------ (d) */

static void test_error_semantics(void)
{
    pump p;
    pump_init(&p, 3, 4);
    dm_node *a = p.m[0].node;
    char long_name[300];
    memset(long_name, 'n', sizeof long_name);
    long_name[256] = '\0';
    CU_ASSERT_EQUAL(dm_node_lock(a, p.now, "", SEC, NULL), -DM_EBADNAME);
    CU_ASSERT_EQUAL(dm_node_lock(a, p.now, NULL, SEC, NULL), -DM_EBADNAME);
    CU_ASSERT_EQUAL(dm_node_lock(a, p.now, long_name, SEC, NULL), -DM_EBADNAME);
    long_name[255] = '\0';
    CU_ASSERT_EQUAL(dm_node_lock(a, p.now, long_name, SEC, NULL), 0);   /* 255 bytes is fine */
    CU_ASSERT_EQUAL(dm_node_lock(a, p.now, "ok", 0, NULL), -DM_EINVAL);
    CU_ASSERT_EQUAL(dm_node_unlock(a, p.now, "ok"), -DM_ENOTHELD);
    CU_ASSERT_EQUAL(dm_node_lock(a, p.now, "ok", SEC, NULL), 0);
    /* Acquiring: a second lock() fails at once, and so does unlock(). */
    CU_ASSERT_EQUAL(dm_node_lock(a, p.now, "ok", SEC, NULL), -DM_EBUSY);
    CU_ASSERT_EQUAL(dm_node_unlock(a, p.now, "ok"), -DM_ENOTHELD);
    guint events_before = p.m[0].events->len;
    pump_run_until(&p, p.now + 100 * MS);
    CU_ASSERT(p.m[0].events->len > events_before);
    CU_ASSERT_TRUE(dm_node_holds(a, "ok"));
    /* Held: lock() still fails at once. */
    CU_ASSERT_EQUAL(dm_node_lock(a, p.now, "ok", SEC, NULL), -DM_EBUSY);
    CU_ASSERT_EQUAL(dm_node_unlock(a, p.now, "ok"), 0);
    CU_ASSERT_EQUAL(dm_node_unlock(a, p.now, "ok"), -DM_ENOTHELD);
    pump_free(&p);
}

/* lock()'s outcome never arrives from inside lock(), even when the node is
 * its own whole quorum. */
static void test_outcome_not_reentrant(void)
{
    pump p;
    pump_init(&p, 1, 5);
    CU_ASSERT_EQUAL(dm_node_lock(p.m[0].node, p.now, "solo", SEC, NULL), 0);
    CU_ASSERT_EQUAL(p.m[0].events->len, 0);
    CU_ASSERT(dm_node_next_deadline(p.m[0].node) <= p.now);
    dm_node_tick(p.m[0].node, p.now);
    CU_ASSERT_EQUAL(p.m[0].events->len, 1);
    CU_ASSERT_TRUE(dm_node_holds(p.m[0].node, "solo"));
    pump_free(&p);
}

/* A timed-out acquisition releases every grant it collected. */
static void test_timeout_releases_grants(void)
{
    pump p;
    pump_init(&p, 7, 6);
    dm_node *holder_node = p.m[1].node;
    /* node 1 holds "t" (quorum 3,1,0 or similar). */
    CU_ASSERT_EQUAL(dm_node_lock(holder_node, p.now, "t", 10 * SEC, NULL), 0);
    pump_run_until(&p, p.now + 100 * MS);
    CU_ASSERT_TRUE_FATAL(dm_node_holds(holder_node, "t"));
    /* node 5 wants it briefly: it collects what it can, then times out. */
    CU_ASSERT_EQUAL(dm_node_lock(p.m[5].node, p.now, "t", 300 * MS, NULL), 0);
    pump_run_until(&p, p.now + 1 * SEC);
    CU_ASSERT_EQUAL(p.failures, 1);
    CU_ASSERT_FALSE(dm_node_holds(p.m[5].node, "t"));
    for (uint32_t i = 0; i < p.n; i++) {
        dm_arbiter_info info;
        if (dm_node_arbiter_info(p.m[i].node, "t", &info) && info.granted)
            CU_ASSERT_EQUAL(info.grantee, 1);   /* only the holder's grants remain */
        CU_ASSERT_EQUAL(info.waiting, 0);
    }
    pump_free(&p);
}

/* Suspicion is a hint: when every quorum contains a member this node
 * suspects (here: both others, after they stopped answering for a while),
 * lock() still tries one instead of failing with -DM_ENOQUORUM. */
static void test_suspicion_alone_never_blocks(void)
{
    pump p;
    pump_init(&p, 3, 18);
    p.m[1].paused = true;
    p.m[2].paused = true;
    CU_ASSERT_EQUAL(dm_node_lock(p.m[0].node, p.now, "s", SEC, NULL), 0);
    pump_run_until(&p, p.now + 2 * SEC);
    CU_ASSERT_EQUAL(p.failures, 1);   /* timed out, suspecting both */
    /* They come back having lost what was sent meanwhile (as across a
     * partition), so nothing from them has cleared the suspicion yet. */
    for (uint32_t i = 1; i <= 2; i++) {
        g_queue_clear_full(&p.m[i].inbox, g_free);
        resume(&p, i);
    }
    CU_ASSERT_EQUAL(dm_node_lock(p.m[0].node, p.now, "s", SEC, NULL), 0);
    pump_run_until(&p, p.now + 100 * MS);
    CU_ASSERT_TRUE(dm_node_holds(p.m[0].node, "s"));
    pump_free(&p);
}

/* cancel() abandons an acquisition: it ends FAILED(-DM_ECANCELED) at the
 * next tick, no arbiter keeps anything for it, and the name can be locked
 * again at once; it refuses what is held or not being acquired. */
static void test_cancel(void)
{
    pump p;
    pump_init(&p, 7, 19);
    CU_ASSERT_TRUE_FATAL(acquire(&p, 1, "c", 20 * SEC));
    CU_ASSERT_EQUAL(dm_node_cancel(p.m[1].node, p.now, "c"), -DM_EBUSY);
    CU_ASSERT_EQUAL(dm_node_cancel(p.m[5].node, p.now, "c"), -DM_ENOTHELD);
    CU_ASSERT_EQUAL(dm_node_cancel(p.m[5].node, p.now, ""), -DM_EBADNAME);
    /* node 5 queues behind the holder, collecting what it can, then gives up. */
    CU_ASSERT_EQUAL(dm_node_lock(p.m[5].node, p.now, "c", 20 * SEC, NULL), 0);
    pump_run_until(&p, p.now + 100 * MS);
    guint before = p.m[5].events->len;
    CU_ASSERT_EQUAL(dm_node_cancel(p.m[5].node, p.now, "c"), 0);
    CU_ASSERT_EQUAL(p.m[5].events->len, before);   /* never from inside the call */
    pump_run_until(&p, p.now + 100 * MS);
    CU_ASSERT_EQUAL_FATAL(p.m[5].events->len, before + 1);
    CU_ASSERT_EQUAL(g_array_index(p.m[5].events, dm_event_type, before), DM_EV_FAILED);
    CU_ASSERT_EQUAL(p.failures, 1);
    for (uint32_t i = 0; i < p.n; i++) {
        dm_arbiter_info info;
        if (dm_node_arbiter_info(p.m[i].node, "c", &info) && info.granted)
            CU_ASSERT_EQUAL(info.grantee, 1);
        CU_ASSERT_EQUAL(info.waiting, 0);
    }
    /* The holder releases: nobody is granted for the abandoned attempt, and
     * node 5 can ask again at once. */
    CU_ASSERT_EQUAL(unlock(&p, 1, "c"), 0);
    CU_ASSERT_EQUAL(dm_node_lock(p.m[5].node, p.now, "c", 5 * SEC, NULL), 0);
    pump_run_until(&p, p.now + 100 * MS);
    CU_ASSERT_TRUE(dm_node_holds(p.m[5].node, "c"));
    CU_ASSERT_EQUAL(p.violations, 0);
    pump_free(&p);
}

/* ------------------------------------------------------------------ (e) */

/* A wrong arbiter (grants to everyone) is caught by the same holder check
 * test (b) relies on: proof that the check can fail. */
static void test_holder_check_catches_wrong_arbiter(void)
{
    pump p;
    pump_init(&p, 3, 8);
    p.broken_arbiter = 1;    /* the root: every quorum of N = 3 contains it */
    p.hold_us = 50 * MS;
    for (uint32_t i = 0; i < p.n; i++) {
        if (i == p.broken_arbiter)
            continue;
        p.m[i].want = true;
        p.m[i].next_request_at = p.now;
    }
    pump_run_until(&p, p.now + 2 * SEC);
    CU_ASSERT(p.violations > 0);
    pump_free(&p);
}

/* ------------------------------------------------------------------ leases */

static void test_holder_crash_frees_after_one_lease(void)
{
    pump p;
    pump_init(&p, 5, 9);
    CU_ASSERT_EQUAL(dm_node_lock(p.m[2].node, p.now, "c", 5 * SEC, NULL), 0);   /* the root */
    pump_run_until(&p, p.now + 100 * MS);
    CU_ASSERT_TRUE_FATAL(dm_node_holds(p.m[2].node, "c"));
    int64_t crashed_at = p.now;
    crash(&p, 2);
    /* node 4's quorum must substitute the dead root: AE degradation. */
    CU_ASSERT_EQUAL(dm_node_lock(p.m[0].node, p.now, "c", 20 * SEC, NULL), 0);
    pump_run_until(&p, p.now + 15 * SEC);
    CU_ASSERT_TRUE(dm_node_holds(p.m[0].node, "c"));
    CU_ASSERT_EQUAL(p.violations, 0);
    /* ...but not before the dead holder's grants could have expired. */
    holder *h = holder_of(&p, "c");
    CU_ASSERT_EQUAL(h->node, 0);
    CU_ASSERT(p.now - crashed_at >= p.cfg.lease_us - 200 * MS);
    pump_free(&p);
}

static int64_t granted_at(pump *p, uint32_t node, const char *name, int64_t until)
{
    while (p->now < until) {
        if (dm_node_holds(p->m[node].node, name))
            return p->now;
        if (!pump_step(p, until))
            break;
    }
    return dm_node_holds(p->m[node].node, name) ? p->now : DM_NEVER;
}

static void test_crashed_holder_lease_bounds_wait(void)
{
    /* The second node's quorum shares arbiters with the crashed holder, so
     * it must wait out (about) one lease, and no more than a lease plus the
     * retry slack. */
    pump p;
    pump_init(&p, 3, 10);
    CU_ASSERT_TRUE_FATAL(acquire(&p, 0, "c", 5 * SEC));
    int64_t crashed_at = p.now;
    crash(&p, 0);
    CU_ASSERT_EQUAL(dm_node_lock(p.m[2].node, p.now, "c", 20 * SEC, NULL), 0);
    int64_t at = granted_at(&p, 2, "c", p.now + 10 * SEC);
    CU_ASSERT(at != DM_NEVER);
    CU_ASSERT(at >= crashed_at + p.cfg.lease_us - 200 * MS);
    CU_ASSERT(at <= crashed_at + p.cfg.lease_us + 2 * p.cfg.rpc_timeout_us + 50 * MS);
    CU_ASSERT_EQUAL(p.violations, 0);
    pump_free(&p);
}

static void test_paused_holder_reports_lost_first(void)
{
    pump p;
    pump_init(&p, 3, 11);
    CU_ASSERT_TRUE_FATAL(acquire(&p, 0, "p", 5 * SEC));
    uint64_t first_token = dm_node_token(p.m[0].node, "p");
    p.m[0].paused = true;
    CU_ASSERT_EQUAL(dm_node_lock(p.m[2].node, p.now, "p", 20 * SEC, NULL), 0);
    pump_run_until(&p, p.now + 6 * SEC);
    CU_ASSERT_TRUE_FATAL(dm_node_holds(p.m[2].node, "p"));
    uint64_t second_token = dm_node_token(p.m[2].node, "p");
    CU_ASSERT(second_token > first_token);
    CU_ASSERT_EQUAL(p.violations, 0);
    /* Resume: messages buffered for it arrive, but its first event is LOST. */
    guint before = p.m[0].events->len;
    resume(&p, 0);
    CU_ASSERT_FATAL(p.m[0].events->len > before);
    CU_ASSERT_EQUAL(g_array_index(p.m[0].events, dm_event_type, before), DM_EV_LOST);
    CU_ASSERT_FALSE(dm_node_holds(p.m[0].node, "p"));
    pump_run_until(&p, p.now + 1 * SEC);
    CU_ASSERT_TRUE(dm_node_holds(p.m[2].node, "p"));
    pump_free(&p);
}

/* The same, when the first input after the pause is a message, not a tick. */
static void test_paused_holder_lost_before_message(void)
{
    pump p;
    pump_init(&p, 3, 12);
    CU_ASSERT_TRUE_FATAL(acquire(&p, 0, "p", 5 * SEC));
    p.m[0].paused = true;
    pump_run_until(&p, p.now + 5 * SEC);
    guint before = p.m[0].events->len;
    dm_msg junk;
    memset(&junk, 0, sizeof junk);
    junk.type = DM_MSG_FAILED;
    junk.from = 1;
    junk.to = 0;
    junk.attempt = 99;
    dm_msg_set_name(&junk, "other");
    g_queue_clear_full(&p.m[0].inbox, g_free);   /* the stray message comes first */
    p.m[0].paused = false;
    CU_ASSERT_EQUAL(dm_node_receive(p.m[0].node, p.now, &junk), 0);
    CU_ASSERT_FATAL(p.m[0].events->len > before);
    CU_ASSERT_EQUAL(g_array_index(p.m[0].events, dm_event_type, before), DM_EV_LOST);
    pump_free(&p);
}

/* Paused between sending the fence and hearing it acknowledged, past the
 * holder's (drift-shortened) lease but not the arbiters' full one: the
 * buffered acknowledgement vouches for a lease the holder can no longer
 * trust, so no GRANTED may come of it (the simulator found this). The rpc
 * timeout outlasts the pause, so that no retransmission or suspicion runs
 * first on resume: the buffered KEPT is what the node sees. */
static void test_pause_during_fence_round(void)
{
    pump p;
    pump_init(&p, 3, 17);
    p.cfg.rpc_timeout_us = 10 * SEC;
    pump_reboot(&p);
    CU_ASSERT_EQUAL(dm_node_lock(p.m[0].node, p.now, "f", 20 * SEC, NULL), 0);
    while (dm_node_get_stats(p.m[0].node)->sent[DM_MSG_KEEP] == 0)
        CU_ASSERT_FATAL(pump_step(&p, p.now + SEC));
    int64_t holder_lease = dm_node_holder_lease(p.m[0].node);
    CU_ASSERT_FATAL(holder_lease < p.cfg.lease_us);
    p.m[0].paused = true;
    pump_run_until(&p, p.now + (holder_lease + p.cfg.lease_us) / 2);
    CU_ASSERT_EQUAL(p.m[0].inbox.length, 1);   /* the KEPT */
    guint before = p.m[0].events->len;
    resume(&p, 0);   /* drv_notify asserts every GRANTED lease is still ahead */
    for (guint i = before; i < p.m[0].events->len; i++)
        CU_ASSERT_NOT_EQUAL(g_array_index(p.m[0].events, dm_event_type, i), DM_EV_GRANTED);
    /* It fences again, and then holds for real. */
    pump_run_until(&p, p.now + 100 * MS);
    CU_ASSERT_TRUE(dm_node_holds(p.m[0].node, "f"));
    CU_ASSERT_EQUAL(p.violations, 0);
    pump_free(&p);
}

/* A long hold is kept alive by renewals, and the lease reported grows. */
static void test_renewal_keeps_long_hold(void)
{
    pump p;
    pump_init(&p, 7, 13);
    CU_ASSERT_TRUE_FATAL(acquire(&p, 3, "r", 5 * SEC));
    pump_run_until(&p, p.now + 10 * p.cfg.lease_us);
    CU_ASSERT_TRUE(dm_node_holds(p.m[3].node, "r"));
    CU_ASSERT_EQUAL(p.lost, 0);
    guint renewed = 0;
    for (guint i = 0; i < p.m[3].events->len; i++)
        renewed += g_array_index(p.m[3].events, dm_event_type, i) == DM_EV_RENEWED;
    CU_ASSERT(renewed >= 10);
    /* Contenders wait, and do not get it while it is renewed. */
    CU_ASSERT_EQUAL(dm_node_lock(p.m[0].node, p.now, "r", 3 * SEC, NULL), 0);
    pump_run_until(&p, p.now + 4 * SEC);
    CU_ASSERT_EQUAL(p.failures, 1);
    CU_ASSERT_EQUAL(p.violations, 0);
    pump_free(&p);
}

/* ------------------------------------------------------------------ restarts */

static void restart(pump *p, uint32_t i)
{
    if (p->m[i].up)
        crash(p, i);
    member_start(p, i);
}

static void test_arbiter_restart_no_double_grant(void)
{
    pump p;
    pump_init(&p, 3, 14);
    /* node 0 holds with quorum {1, 0}; the root 1 restarts and forgets. */
    CU_ASSERT_TRUE_FATAL(acquire(&p, 0, "r", 5 * SEC));
    uint64_t t0 = dm_node_token(p.m[0].node, "r");
    restart(&p, 1);
    /* node 2 asks the restarted root straight away. */
    CU_ASSERT_EQUAL(dm_node_lock(p.m[2].node, p.now, "r", 20 * SEC, NULL), 0);
    pump_run_until(&p, p.now + 500 * MS);
    CU_ASSERT_FALSE(dm_node_holds(p.m[2].node, "r"));   /* quiet period */
    pump_run_until(&p, p.now + 10 * SEC);
    CU_ASSERT_TRUE(dm_node_holds(p.m[2].node, "r"));
    CU_ASSERT(dm_node_token(p.m[2].node, "r") > t0);
    CU_ASSERT_EQUAL(p.violations, 0);
    CU_ASSERT_EQUAL(p.token_regressions, 0);
    CU_ASSERT(p.lost >= 1);   /* node 0 learned its root forgot the grant */
    pump_free(&p);
}

static void test_restarted_node_without_state_is_first_boot(void)
{
    dm_config cfg;
    dm_config_defaults(&cfg);
    cfg.n_members = 3;
    cfg.self = 0;
    dm_node *n = NULL;
    member mb = { 0 };
    CU_ASSERT_EQUAL(dm_node_new(&cfg, &driver, &mb, 0, "junk", 4, &n), -DM_EBADSTATE);
    CU_ASSERT_PTR_NULL(n);
    cfg.self = 3;
    CU_ASSERT_EQUAL(dm_node_new(&cfg, &driver, &mb, 0, NULL, 0, &n), -DM_EINVAL);
    cfg.self = 0;
    cfg.lease_us = 0;
    CU_ASSERT_EQUAL(dm_node_new(&cfg, &driver, &mb, 0, NULL, 0, &n), -DM_EINVAL);
}

/* A message as a peer would send it: the fields the type uses are for the
 * caller to fill. `name` NULL for a membership message. */
static dm_msg peer_msg(dm_msg_type type, uint32_t from, uint32_t to, const char *name)
{
    dm_msg m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.from = (uint16_t)from;
    m.to = (uint16_t)to;
    m.clock = 1;
    if (name)
        dm_msg_set_name(&m, name);
    return m;
}

/* ------------------------------------------------------------------ issue 9 */

/* Crash node i, lose what it persisted, and start it again: as recovery
 * demands (bootstrap false), or -- as the code before recovery existed
 * behaved -- as if it had never run. */
static void wipe(pump *p, uint32_t i, bool as_first_start)
{
    if (p->m[i].up)
        crash(p, i);
    p->m[i].persisted_len = 0;
    bool saved = p->cfg.bootstrap;
    p->cfg.bootstrap = as_first_start;
    member_start(p, i);
    p->cfg.bootstrap = saved;
}

/* Issue 9's live scenario, in the core: node 0 holds L through {2, 0}; the
 * root 2 loses its disk and comes back; node 3, whose quorum is {2, 3},
 * asks for L while node 0 still holds it. */
static void wiped_root_scenario(pump *p, bool as_first_start, uint64_t *t0, uint64_t *t3)
{
    pump_init(p, 5, 41);
    CU_ASSERT_TRUE_FATAL(acquire(p, 0, "L", 20 * SEC));
    *t0 = dm_node_token(p->m[0].node, "L");
    wipe(p, 2, as_first_start);
    CU_ASSERT_EQUAL(dm_node_lock(p->m[3].node, p->now, "L", 20 * SEC, NULL), 0);
    /* Node 0 keeps holding (renewals) for a while, then lets go. */
    pump_run_until(p, p->now + 3 * SEC);
    if (dm_node_holds(p->m[0].node, "L"))
        CU_ASSERT_EQUAL(unlock(p, 0, "L"), 0);
    pump_run_until(p, p->now + 5 * SEC);
    *t3 = p->m[3].granted_attempt ? dm_node_token(p->m[3].node, "L") : 0;
}

static void test_wiped_arbiter_keeps_exclusion_and_tokens(void)
{
    pump p;
    uint64_t t0, t3;
    wiped_root_scenario(&p, false, &t0, &t3);
    CU_ASSERT_EQUAL(p.violations, 0);
    CU_ASSERT_EQUAL(p.token_regressions, 0);
    CU_ASSERT_TRUE(dm_node_holds(p.m[3].node, "L"));   /* around the root, after node 0 */
    CU_ASSERT(t3 > t0);
    /* The wiped root said RECOVERING and recovered a floor above t0. */
    CU_ASSERT(dm_node_get_stats(p.m[2].node)->sent[DM_MSG_RECOVERING] >= 1);
    CU_ASSERT(dm_node_get_stats(p.m[2].node)->sent[DM_MSG_RECOVER] >= 1);
    CU_ASSERT_EQUAL(dm_node_recovery(p.m[2].node, NULL), DM_RECOVERY_NONE);
    CU_ASSERT_EQUAL(unlock(&p, 3, "L"), 0);
    CU_ASSERT_TRUE(acquire(&p, 2, "L", 5 * SEC));      /* through itself again */
    CU_ASSERT(dm_node_token(p.m[2].node, "L") > t3);
    CU_ASSERT_EQUAL(p.violations, 0);
    CU_ASSERT_EQUAL(p.token_regressions, 0);
    pump_free(&p);

    /* The same with the wiped root taken for a first start -- what every
     * node without state did before recovery existed: the checks above
     * catch it, so they would have failed on that code. */
    wiped_root_scenario(&p, true, &t0, &t3);
    CU_ASSERT(p.violations + p.token_regressions > 0);
    pump_free(&p);
}

static void test_recovery_waits_quiet_period_and_floor(void)
{
    pump p;
    pump_init(&p, 3, 43);
    CU_ASSERT_TRUE_FATAL(acquire(&p, 0, "a", 5 * SEC));
    CU_ASSERT_EQUAL(unlock(&p, 0, "a"), 0);
    pump_run_until(&p, p.now + 10 * MS);
    int64_t start = p.now;
    wipe(&p, 0, false);
    int64_t until;
    CU_ASSERT_EQUAL(dm_node_recovery(p.m[0].node, &until), DM_RECOVERY_FLOOR);
    CU_ASSERT(until >= start + p.cfg.lease_us);
    /* The attempt epoch is not known yet: no attempt id may be issued. */
    CU_ASSERT_EQUAL(dm_node_lock(p.m[0].node, p.now, "b", SEC, NULL), -DM_ERECOVERING);
    pump_run_until(&p, p.now + 50 * MS);
    CU_ASSERT_EQUAL(dm_node_recovery(p.m[0].node, NULL), DM_RECOVERY_QUIET);
    /* Its earlier life's attempt ids are behind the new ones. */
    uint64_t id = 0;
    CU_ASSERT_EQUAL(dm_node_lock(p.m[0].node, p.now, "b", 5 * SEC, &id), 0);
    CU_ASSERT(id >> 32 >= 2);
    pump_run_until(&p, p.now + 200 * MS);
    CU_ASSERT_TRUE(dm_node_holds(p.m[0].node, "b"));   /* around itself: {1, 2} */
    CU_ASSERT_EQUAL(p.m[0].granted_attempt, id);
    CU_ASSERT_EQUAL(unlock(&p, 0, "b"), 0);
    /* As an arbiter it grants nothing before the quiet period is over. */
    CU_ASSERT_EQUAL(dm_node_lock(p.m[1].node, p.now, "c", 20 * SEC, NULL), 0);
    pump_run_until(&p, start + p.cfg.lease_us - 100 * MS);
    dm_arbiter_info info;
    dm_node_arbiter_info(p.m[0].node, "c", &info);
    CU_ASSERT_FALSE(info.granted);
    pump_run_until(&p, start + 3 * p.cfg.lease_us);
    CU_ASSERT_EQUAL(dm_node_recovery(p.m[0].node, NULL), DM_RECOVERY_NONE);
    CU_ASSERT_TRUE(dm_node_holds(p.m[1].node, "c"));
    CU_ASSERT_EQUAL(p.violations, 0);
    pump_free(&p);
}

/* A crash in the middle of recovery must not make the next start look like
 * a restart whose counter can be trusted. */
static void test_crash_during_recovery_recovers_again(void)
{
    pump p;
    pump_init(&p, 3, 44);
    wipe(&p, 1, false);
    CU_ASSERT_EQUAL(dm_node_recovery(p.m[1].node, NULL), DM_RECOVERY_FLOOR);
    restart(&p, 1);   /* with the state it persisted so far */
    CU_ASSERT_EQUAL(dm_node_recovery(p.m[1].node, NULL), DM_RECOVERY_FLOOR);
    pump_run_until(&p, p.now + 50 * MS);
    CU_ASSERT_EQUAL(dm_node_recovery(p.m[1].node, NULL), DM_RECOVERY_QUIET);
    pump_free(&p);
}

/* With one member there is no quorum without it: nothing can vouch for a
 * token floor, so it must never grant (and says why). */
static void test_single_member_without_state_never_grants(void)
{
    pump p;
    pump_init(&p, 1, 45);
    wipe(&p, 0, false);
    pump_run_until(&p, p.now + 10 * SEC);
    CU_ASSERT_EQUAL(dm_node_recovery(p.m[0].node, NULL), DM_RECOVERY_FLOOR);
    CU_ASSERT_EQUAL(dm_node_lock(p.m[0].node, p.now, "x", SEC, NULL), -DM_ERECOVERING);
    pump_free(&p);
}

/* A recovering member's counter proves nothing: a recovering node routes
 * around it, and when nothing else is left it waits rather than take its
 * word. */
static void test_recovering_members_are_not_counted(void)
{
    pump p;
    pump_init(&p, 3, 46);
    CU_ASSERT_TRUE_FATAL(acquire(&p, 1, "t", 5 * SEC));
    uint64_t t = dm_node_token(p.m[1].node, "t");
    CU_ASSERT_EQUAL(unlock(&p, 1, "t"), 0);
    pump_run_until(&p, p.now + 10 * MS);
    guint8 saved[64];
    size_t saved_len = p.m[1].persisted_len;
    memcpy(saved, p.m[1].persisted, saved_len);
    /* Nodes 0 and 1 lose their disks. A quorum without 0 is {1, 2}, and
     * one without 1 is {0, 2}: each needs the other, which is recovering. */
    wipe(&p, 0, false);
    wipe(&p, 1, false);
    pump_run_until(&p, p.now + 5 * SEC);
    CU_ASSERT_EQUAL(dm_node_recovery(p.m[0].node, NULL), DM_RECOVERY_FLOOR);
    CU_ASSERT_EQUAL(dm_node_recovery(p.m[1].node, NULL), DM_RECOVERY_FLOOR);
    /* Node 1's disk comes back: restarted with its state, it vouches (its
     * counter survived), so node 0 finishes too. */
    crash(&p, 1);
    memcpy(p.m[1].persisted, saved, saved_len);
    p.m[1].persisted_len = saved_len;
    member_start(&p, 1);
    pump_run_until(&p, p.now + 100 * MS);
    CU_ASSERT_EQUAL(dm_node_recovery(p.m[1].node, NULL), DM_RECOVERY_QUIET);
    CU_ASSERT_NOT_EQUAL(dm_node_recovery(p.m[0].node, NULL), DM_RECOVERY_FLOOR);
    pump_run_until(&p, p.now + 3 * p.cfg.lease_us);
    CU_ASSERT_TRUE(acquire(&p, 0, "t", 5 * SEC));
    CU_ASSERT(dm_node_token(p.m[0].node, "t") > t);
    CU_ASSERT_EQUAL(p.violations, 0);
    CU_ASSERT_EQUAL(p.token_regressions, 0);
    pump_free(&p);
}

/* Issue 9's liveness cliff: a round trip above twice the initial timeout
 * (one-way 210 ms, rpc_timeout 200 ms). Fence rounds used to be re-formed
 * and every older KEPT dropped, forever. */
static void test_round_trip_above_initial_timeout(void)
{
    pump p;
    pump_init(&p, 5, 47);
    p.wire.latency_min = 210 * MS;
    p.wire.latency_max = 215 * MS;
    for (uint32_t who = 0; who < 5; who++) {
        CU_ASSERT_EQUAL(dm_node_lock(p.m[who].node, p.now, "w", 20 * SEC, NULL), 0);
        pump_run_until(&p, p.now + 5 * SEC);
        CU_ASSERT_TRUE(dm_node_holds(p.m[who].node, "w"));
        CU_ASSERT_EQUAL(unlock(&p, who, "w"), 0);
        pump_run_until(&p, p.now + 1 * SEC);
    }
    CU_ASSERT_EQUAL(p.failures, 0);
    CU_ASSERT_EQUAL(p.violations, 0);
    /* The timeout followed the path: above the round trip, below the cap. */
    int64_t rto = dm_node_rto(p.m[0].node, 2);
    CU_ASSERT(dm_node_srtt(p.m[0].node, 2) >= 420 * MS);
    CU_ASSERT(rto > 420 * MS && rto <= dm_node_holder_lease(p.m[0].node) / 3);
    pump_free(&p);
}

/* A waiting requester does not keep re-sending REQUEST to an arbiter that
 * already answered: it backs off (the arbiter's INQUIRE does the waiting). */
static void test_answered_arbiter_is_not_asked_again_and_again(void)
{
    pump p;
    pump_init(&p, 3, 48);
    CU_ASSERT_TRUE_FATAL(acquire(&p, 0, "h", 5 * SEC));   /* {1, 0} */
    CU_ASSERT_EQUAL(dm_node_lock(p.m[2].node, p.now, "h", 60 * SEC, NULL), 0);   /* {1, 2} */
    pump_run_until(&p, p.now + 30 * SEC);                 /* node 0 renews all along */
    CU_ASSERT_TRUE(dm_node_holds(p.m[0].node, "h"));
    /* Re-sent every 2 x rpc_timeout (400 ms) before: 75 in 30 s. */
    CU_ASSERT(p.sent_to[1][DM_MSG_REQUEST] <= 20);
    CU_ASSERT_EQUAL(unlock(&p, 0, "h"), 0);
    pump_run_until(&p, p.now + 100 * MS);
    CU_ASSERT_TRUE(dm_node_holds(p.m[2].node, "h"));
    pump_free(&p);
}

/* Outcomes carry their attempt: lock() in the very microsecond of the
 * previous attempt's deadline starts a new attempt before the old one's
 * FAILED is delivered, and the two must not be confused. */
static void test_outcome_names_its_attempt(void)
{
    pump p;
    pump_init(&p, 3, 49);
    CU_ASSERT_TRUE_FATAL(acquire(&p, 0, "s", 5 * SEC));
    uint64_t first = 0, second = 0;
    CU_ASSERT_EQUAL(dm_node_lock(p.m[2].node, p.now, "s", 300 * MS, &first), 0);
    int64_t deadline = p.now + 300 * MS;
    pump_run_until(&p, deadline - 1);
    CU_ASSERT_EQUAL(p.failures, 0);
    p.now = deadline;
    CU_ASSERT_EQUAL(dm_node_lock(p.m[2].node, p.now, "s", 5 * SEC, &second), 0);
    CU_ASSERT(second > first);
    dm_node_tick(p.m[2].node, p.now);
    CU_ASSERT_EQUAL(p.failures, 1);
    CU_ASSERT_EQUAL(p.m[2].failed_attempt, first);   /* not the one in progress */
    CU_ASSERT_EQUAL(unlock(&p, 0, "s"), 0);
    pump_run_until(&p, p.now + 100 * MS);
    CU_ASSERT_TRUE(dm_node_holds(p.m[2].node, "s"));
    CU_ASSERT_EQUAL(p.m[2].granted_attempt, second);
    pump_free(&p);
}

/* An arbiter that remembers an attempt id of ours from an earlier life
 * (lost with our state) tells us, and we move past it. */
static void test_earlier_life_attempt_ids_are_skipped(void)
{
    pump p;
    pump_init(&p, 3, 50);
    dm_msg m = peer_msg(DM_MSG_FAILED, 1, 0, "e");
    m.attempt = (uint64_t)7 << 32 | 12;
    CU_ASSERT_EQUAL(dm_node_receive(p.m[0].node, p.now, &m), 0);
    uint64_t id = 0;
    CU_ASSERT_EQUAL(dm_node_lock(p.m[0].node, p.now, "e", SEC, &id), 0);
    CU_ASSERT(id > m.attempt);
    /* And an arbiter answers a REQUEST from an older epoch than one it saw
     * finish with the id it remembers. */
    pump_run_until(&p, p.now + 100 * MS);
    CU_ASSERT_TRUE(dm_node_holds(p.m[0].node, "e"));
    CU_ASSERT_EQUAL(unlock(&p, 0, "e"), 0);
    pump_run_until(&p, p.now + 100 * MS);
    dm_msg old = peer_msg(DM_MSG_REQUEST, 0, 1, "e");
    old.attempt = (uint64_t)1 << 32 | 1;
    old.value = 1;
    uint64_t before = dm_node_get_stats(p.m[1].node)->sent[DM_MSG_FAILED];
    CU_ASSERT_EQUAL(dm_node_receive(p.m[1].node, p.now, &old), 0);
    CU_ASSERT_EQUAL(dm_node_get_stats(p.m[1].node)->sent[DM_MSG_FAILED], before + 1);
    pump_free(&p);
}

typedef struct seen_held {
    uint32_t count;
    uint64_t token_sum;
    bool saw_a, saw_b;
} seen_held;

static int note_held(const dm_held_lock *h, void *user)
{
    seen_held *s = user;
    s->count++;
    s->token_sum += h->token;
    s->saw_a |= strcmp(h->name, "a") == 0;
    s->saw_b |= strcmp(h->name, "b") == 0;
    CU_ASSERT(h->attempt != 0 && h->lease_until > 0);
    return 0;
}

static int stop_at_first(const dm_held_lock *h, void *user)
{
    (void)h;
    ++*(int *)user;
    return 7;
}

/* The core answers "what do I hold" itself: drivers need not mirror it. */
static void test_held_locks_are_listed(void)
{
    pump p;
    pump_init(&p, 3, 51);
    uint64_t ida = 0;
    CU_ASSERT_EQUAL(dm_node_lock(p.m[0].node, p.now, "a", SEC, &ida), 0);
    CU_ASSERT_TRUE_FATAL(acquire(&p, 0, "b", SEC));
    CU_ASSERT_TRUE_FATAL(dm_node_holds(p.m[0].node, "a"));
    seen_held s = { 0 };
    CU_ASSERT_EQUAL(dm_node_foreach_held(p.m[0].node, note_held, &s), 0);
    CU_ASSERT_EQUAL(s.count, 2);
    CU_ASSERT(s.saw_a && s.saw_b);
    CU_ASSERT_EQUAL(s.token_sum, dm_node_token(p.m[0].node, "a") + dm_node_token(p.m[0].node, "b"));
    CU_ASSERT_EQUAL(dm_node_held_attempt(p.m[0].node, "a"), ida);
    int calls = 0;
    CU_ASSERT_EQUAL(dm_node_foreach_held(p.m[0].node, stop_at_first, &calls), 7);
    CU_ASSERT_EQUAL(calls, 1);
    CU_ASSERT_EQUAL(unlock(&p, 0, "a"), 0);
    CU_ASSERT_EQUAL(dm_node_held_attempt(p.m[0].node, "a"), 0);
    memset(&s, 0, sizeof s);
    dm_node_foreach_held(p.m[0].node, note_held, &s);
    CU_ASSERT(s.count == 1 && s.saw_b && !s.saw_a);
    seen_held none = { 0 };
    dm_node_foreach_held(p.m[1].node, note_held, &none);
    CU_ASSERT_EQUAL(none.count, 0);
    pump_free(&p);
}

static void test_tokens_increase_across_random_restarts(void)
{
    for (uint64_t seed = 1; seed <= 3; seed++) {
        pump p;
        pump_init(&p, 7, 100 + seed);
        pump_network(&p, true, 0.05, 0);
        p.lock_timeout_us = 8 * SEC;
        p.cfg.token_stride = 4;   /* persist often: restarts land mid-stride */
        for (uint32_t i = 0; i < p.n; i++) {
            p.m[i].want = true;
            p.m[i].next_request_at = p.now;
        }
        int64_t limit = p.now + 3600 * (int64_t)SEC;
        int64_t next_restart = p.now + 2 * SEC;
        while (p.acquisitions < 1000 && p.now < limit) {
            int64_t until = next_restart < limit ? next_restart : limit;
            pump_run_until(&p, until);
            if (p.now >= next_restart) {
                uint32_t victim = (uint32_t)dm_prng_below(&p.rng, p.n);
                restart(&p, victim);
                p.m[victim].want = true;
                p.m[victim].next_request_at = p.now;
                next_restart = p.now + 1 * SEC + (int64_t)dm_prng_below(&p.rng, 3 * SEC);
            }
        }
        CU_ASSERT(p.acquisitions >= 1000);
        CU_ASSERT_EQUAL(p.token_regressions, 0);
        CU_ASSERT_EQUAL(p.violations, 0);
        pump_free(&p);
    }
}

/* ------------------------------------------------------------------ input */

static void test_bad_input_is_rejected_and_counted(void)
{
    pump p;
    pump_init(&p, 3, 15);
    dm_node *a = p.m[0].node;
    dm_msg m = peer_msg(DM_MSG_GRANT, 1, 0, "x");
    m.clock = 0;
    m.attempt = 1;
    m.grant = 1;
    m.to = 2;
    CU_ASSERT_EQUAL(dm_node_receive(a, p.now, &m), -DM_EPEER);   /* not for us */
    m.to = 0;
    m.from = 7;
    CU_ASSERT(dm_node_receive(a, p.now, &m) < 0);                /* not a member */
    m.from = 1;
    m.type = 77;
    CU_ASSERT(dm_node_receive(a, p.now, &m) < 0);
    CU_ASSERT_EQUAL(dm_node_get_stats(a)->rejected, 3);
    /* A stray grant for an attempt we never made is answered by RELEASE. */
    m.type = DM_MSG_GRANT;
    CU_ASSERT_EQUAL(dm_node_receive(a, p.now, &m), 0);
    CU_ASSERT_EQUAL(dm_node_get_stats(a)->sent[DM_MSG_RELEASE], 1);
    pump_free(&p);
}

/* Idle lock names are forgotten after a while. */
static void test_idle_names_are_collected(void)
{
    pump p;
    pump_init(&p, 3, 16);
    char name[16];
    for (int i = 0; i < 50; i++) {
        g_snprintf(name, sizeof name, "n%d", i);
        CU_ASSERT_EQUAL(dm_node_lock(p.m[1].node, p.now, name, SEC, NULL), 0);
        pump_run_until(&p, p.now + 20 * MS);
        CU_ASSERT_EQUAL(unlock(&p, 1, name), 0);
    }
    CU_ASSERT(dm_node_lock_count(p.m[1].node) >= 50);
    pump_run_until(&p, p.now + 3 * p.cfg.lease_us);
    for (uint32_t i = 0; i < p.n; i++)
        CU_ASSERT_EQUAL(dm_node_lock_count(p.m[i].node), 0);
    pump_free(&p);
}

/* ------------------------------------------------------------------ membership */

static void pump_enable_membership(pump *p, const dm_policy_ops *policy)
{
    p->cfg.membership = true;
    p->cfg.policy = policy;
    p->cfg.swim.probe_interval_us = 200 * MS;
    p->cfg.swim.probe_timeout_us = 100 * MS;
    p->cfg.swim.push_pull_interval_us = 5 * SEC;
    pump_reboot(p);
}

static bool trees_agree(pump *p, uint32_t size)
{
    for (uint32_t i = 0; i < p->n; i++)
        if (p->m[i].up && dm_quorum_count(dm_node_quorum_system(p->m[i].node)) != size)
            return false;
    return true;
}

/* Under MEMBERLIST a death rebuilds every live node's tree over the view, and
 * a rejoin rebuilds it again; under AE the tree never changes. */
static void test_memberlist_rebuilds_tree_on_view_change(void)
{
    for (size_t k = 0; k < dm_policy_builtin_count(); k++) {
        const dm_policy_ops *policy = dm_policy_builtin(k);
        pump p;
        pump_init(&p, 7, 20);
        pump_enable_membership(&p, policy);
        uint64_t before = dm_node_view_hash(p.m[0].node);
        pump_run_until(&p, p.now + 2 * SEC);
        for (uint32_t i = 1; i < p.n; i++)
            CU_ASSERT_EQUAL(p.m[0].member_events[DM_MEMBER_EV_JOIN] >= 1, true);
        crash(&p, 3);
        pump_run_until(&p, p.now + 20 * SEC);
        uint32_t expect = policy == &dm_policy_memberlist_ops ? 6 : 7;
        CU_ASSERT_TRUE(trees_agree(&p, expect));
        for (uint32_t i = 0; i < p.n; i++) {
            if (!p.m[i].up)
                continue;
            CU_ASSERT_FALSE(dm_membership_in_view(dm_node_membership(p.m[i].node), 3));
            CU_ASSERT(p.m[i].member_events[DM_MEMBER_EV_DEAD] >= 1);
            CU_ASSERT(p.m[i].views >= 1);
        }
        CU_ASSERT_EQUAL(dm_node_view_hash(p.m[0].node) != before, policy == &dm_policy_memberlist_ops);
        restart(&p, 3);
        pump_run_until(&p, p.now + 20 * SEC);
        CU_ASSERT_TRUE(trees_agree(&p, 7));
        CU_ASSERT_EQUAL(dm_node_view_hash(p.m[0].node), before);
        pump_free(&p);
    }
}

/* Contention across deaths and returns under both policies: views change
 * while attempts are in flight (a view change re-forms quorums, which once
 * left deadlines in the past: the pump's tick invariant catches that). AE
 * stays safe; MEMBERLIST's safety is the simulator's subject, not this one's. */
static void test_contention_across_view_changes(void)
{
    for (size_t k = 0; k < dm_policy_builtin_count(); k++) {
        const dm_policy_ops *policy = dm_policy_builtin(k);
        pump p;
        pump_init(&p, 7, 25);
        pump_enable_membership(&p, policy);
        pump_network(&p, true, 0.02, 0);
        p.lock_timeout_us = 5 * SEC;
        for (uint32_t i = 0; i < p.n; i++) {
            p.m[i].want = true;
            p.m[i].next_request_at = p.now;
        }
        for (int round = 0; round < 3; round++) {
            uint32_t victim = 1 + (uint32_t)round * 2;
            pump_run_until(&p, p.now + 3 * SEC);
            crash(&p, victim);
            pump_run_until(&p, p.now + 15 * SEC);
            restart(&p, victim);
            p.m[victim].want = true;
            p.m[victim].next_request_at = p.now;
        }
        pump_run_until(&p, p.now + 15 * SEC);
        CU_ASSERT(p.acquisitions > 100);
        if (policy == &dm_policy_ae_ops)
            CU_ASSERT_EQUAL(p.violations, 0);
        pump_free(&p);
    }
}

/* Under AE a member SWIM declared dead is substituted at once: the lock does
 * not wait for a request timeout to discover the dead root. */
static void test_ae_avoids_members_swim_declared_dead(void)
{
    pump p;
    pump_init(&p, 7, 21);
    pump_enable_membership(&p, &dm_policy_ae_ops);
    const dm_quorum *qs = dm_node_quorum_system(p.m[0].node);
    CU_ASSERT_STRING_EQUAL_FATAL(dm_quorum_name(qs), "tree");
    uint32_t root = dm_tree_root(dm_quorum_state(qs));
    crash(&p, root);
    pump_run_until(&p, p.now + 20 * SEC);
    CU_ASSERT_FALSE(dm_membership_is_alive(dm_node_membership(p.m[0].node), root));
    CU_ASSERT_EQUAL(dm_node_lock(p.m[0].node, p.now, "a", 5 * SEC, NULL), 0);
    /* Well inside one rpc timeout: no time was spent waiting on the root. */
    pump_run_until(&p, p.now + p.cfg.rpc_timeout_us / 2);
    CU_ASSERT_TRUE(dm_node_holds(p.m[0].node, "a"));
    CU_ASSERT_EQUAL(p.sent_to[root][DM_MSG_REQUEST], 0);
    pump_free(&p);
}

/* A restarted node comes back with a higher incarnation than it had. */
static void test_incarnation_survives_restart(void)
{
    pump p;
    pump_init(&p, 3, 22);
    pump_enable_membership(&p, &dm_policy_ae_ops);
    pump_run_until(&p, p.now + 2 * SEC);
    uint32_t before = dm_membership_incarnation(dm_node_membership(p.m[1].node));
    restart(&p, 1);
    CU_ASSERT(dm_membership_incarnation(dm_node_membership(p.m[1].node)) > before);
    pump_run_until(&p, p.now + 5 * SEC);
    dm_member_info info;
    dm_membership_info(dm_node_membership(p.m[0].node), 1, &info);
    CU_ASSERT_EQUAL(info.state, DM_MEMBER_ALIVE);
    CU_ASSERT(info.incarnation > before);
    pump_free(&p);
}

/* Leaving releases what the node holds, fails what it is acquiring, and
 * the others see LEFT, not DEAD. */
static void test_leave(void)
{
    pump p;
    pump_init(&p, 5, 23);
    pump_enable_membership(&p, &dm_policy_ae_ops);
    CU_ASSERT_EQUAL(dm_node_lock(p.m[2].node, p.now, "held", 5 * SEC, NULL), 0);
    pump_run_until(&p, p.now + 200 * MS);
    CU_ASSERT_TRUE_FATAL(dm_node_holds(p.m[2].node, "held"));
    holder_end(&p, 2, "held");
    dm_node_leave(p.m[2].node, p.now);
    CU_ASSERT_FALSE(dm_node_holds(p.m[2].node, "held"));
    CU_ASSERT_EQUAL(dm_node_lock(p.m[2].node, p.now, "x", SEC, NULL), -DM_ESHUTDOWN);
    CU_ASSERT_EQUAL(dm_node_lock(p.m[0].node, p.now, "held", 5 * SEC, NULL), 0);
    pump_run_until(&p, p.now + 5 * SEC);
    CU_ASSERT_TRUE(dm_node_holds(p.m[0].node, "held"));
    for (uint32_t i = 0; i < p.n; i++) {
        if (i == 2)
            continue;
        CU_ASSERT_EQUAL(p.m[i].member_events[DM_MEMBER_EV_DEAD], 0);
        CU_ASSERT_EQUAL(p.m[i].member_events[DM_MEMBER_EV_LEFT], 1);
    }
    pump_free(&p);
}

/* A node without SWIM rejects membership traffic as bad input. */
static void test_membership_off_rejects_swim(void)
{
    pump p;
    pump_init(&p, 3, 24);
    dm_msg m = peer_msg(DM_MSG_PING, 1, 0, NULL);
    m.clock = 0;
    m.value = 1;
    CU_ASSERT_EQUAL(dm_node_receive(p.m[0].node, p.now, &m), -DM_ETYPE);
    CU_ASSERT_EQUAL(dm_node_get_stats(p.m[0].node)->rejected, 1);
    CU_ASSERT_PTR_NULL(dm_node_membership(p.m[0].node));
    pump_free(&p);
}

static const CU_TestInfo tests[] = {
    { "lone requester costs 5(K-1) messages", test_lone_requester_cost },
    { "contention FIFO and random order", test_contention_fifo_and_random },
    { "no starvation", test_no_starvation },
    { "contention with loss", test_contention_with_loss },
    { "lock names are independent", test_names_are_independent },
    { "error semantics", test_error_semantics },
    { "outcome never from inside lock()", test_outcome_not_reentrant },
    { "timeout releases collected grants", test_timeout_releases_grants },
    { "suspicion alone never blocks a lock", test_suspicion_alone_never_blocks },
    { "cancel an acquisition", test_cancel },
    { "holder check catches a wrong arbiter", test_holder_check_catches_wrong_arbiter },
    { "crashed holder: AE substitution", test_holder_crash_frees_after_one_lease },
    { "crashed holder: free after one lease", test_crashed_holder_lease_bounds_wait },
    { "paused holder: lost first on resume", test_paused_holder_reports_lost_first },
    { "paused holder: lost before a message", test_paused_holder_lost_before_message },
    { "renewal keeps a long hold", test_renewal_keeps_long_hold },
    { "pause during the fence round", test_pause_during_fence_round },
    { "arbiter restart: no double grant", test_arbiter_restart_no_double_grant },
    { "bad start arguments", test_restarted_node_without_state_is_first_boot },
    { "tokens increase across restarts", test_tokens_increase_across_random_restarts },
    { "wiped arbiter: exclusion and token order kept", test_wiped_arbiter_keeps_exclusion_and_tokens },
    { "recovery: quiet period, floor, epoch", test_recovery_waits_quiet_period_and_floor },
    { "crash during recovery recovers again", test_crash_during_recovery_recovers_again },
    { "one member without state never grants", test_single_member_without_state_never_grants },
    { "recovering members are not counted", test_recovering_members_are_not_counted },
    { "round trip above the initial timeout", test_round_trip_above_initial_timeout },
    { "answered arbiter not asked again and again", test_answered_arbiter_is_not_asked_again_and_again },
    { "outcomes name their attempt", test_outcome_names_its_attempt },
    { "earlier life's attempt ids skipped", test_earlier_life_attempt_ids_are_skipped },
    { "held locks are listed", test_held_locks_are_listed },
    { "bad input rejected and counted", test_bad_input_is_rejected_and_counted },
    { "idle names collected", test_idle_names_are_collected },
    { "memberlist rebuilds the tree, ae does not", test_memberlist_rebuilds_tree_on_view_change },
    { "ae avoids members SWIM declared dead", test_ae_avoids_members_swim_declared_dead },
    { "contention across view changes", test_contention_across_view_changes },
    { "incarnation survives restart", test_incarnation_survives_restart },
    { "leave", test_leave },
    { "membership off rejects SWIM traffic", test_membership_off_rejects_swim },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return dm_test_run("node", tests);
}
