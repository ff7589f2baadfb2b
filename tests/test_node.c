/* Tests of core/node: the lock protocol, leases, restarts and fencing.
 *
 * Every test runs 1..15 core nodes on the simulator's cluster fixture
 * (sim/cluster.h): one event loop, a network of exactly 1 ms per message
 * (messages between two nodes arrive in the order sent, so message counts
 * are exact) or, for the contention tests, with jitter (an order drawn from
 * the seed), duplication and loss. Clocks run without offset or drift, so
 * lease ends reported by the core compare directly. The simulator's safety
 * checker sees every grant, renewal, loss, unlock and crash: mutual
 * exclusion and token order are judged there (dm_cluster_ok), and test (e)
 * shows that it catches a deliberately wrong arbiter.
 *
 * Tests that need one particular arbiter ask the core which members its
 * quorum for that lock name holds (quorum_of), never the tree's shape.
 */
#include <string.h>
#include <glib.h>

#include "testlib.h"
#include "cluster.h"
#include "error.h"
#include "node.h"
#include "prng.h"

#define MS 1000
#define SEC 1000000
#define MAX_NODES 16

/* ------------------------------------------------------------------ fixture */

static void base_config(dm_sim_config *cfg, uint32_t n, uint64_t seed)
{
    dm_cluster_config(cfg, n);
    cfg->seed = seed;
}

/* A cluster for `cfg`, which it consumes. */
static dm_cluster *start(dm_sim_config *cfg)
{
    GError *err = NULL;
    dm_cluster *c = dm_cluster_new(cfg, &err);
    if (!c)
        g_error("%s", err->message);
    dm_sim_config_clear(cfg);
    return c;
}

static dm_cluster *cluster(uint32_t n, uint64_t seed)
{
    dm_sim_config cfg;
    base_config(&cfg, n, seed);
    return start(&cfg);
}

/* Messages delivered in an order drawn from the seed (50 us plus an
 * exponential jitter of mean 1.5 ms), `dup` of them twice, `loss` lost. */
static void random_order(dm_sim_config *cfg, double dup, double loss)
{
    cfg->net.latency_us = 50;
    cfg->net.jitter_us = 1500;
    cfg->net.dup = dup;
    cfg->net.loss = loss;
}

/* Every client node wants "lock0" all the time: it holds it for 5 ms and
 * asks again within 2 ms of letting go (the world's workload clients). */
#define WORK_LOCK "lock0"
static void contenders(dm_sim_config *cfg, int64_t timeout_us)
{
    cfg->locks = 1;
    cfg->interarrival_us = 2 * MS;
    cfg->interarrival_dist = DM_HOLD_FIXED;
    cfg->hold_us = 5 * MS;
    cfg->hold_dist = DM_HOLD_FIXED;
    cfg->timeout_us = timeout_us;
}

static void with_membership(dm_sim_config *cfg, const dm_policy_ops *policy)
{
    cfg->core.membership = true;
    cfg->core.policy = policy;
    cfg->core.swim.probe_interval_us = 200 * MS;
    cfg->core.swim.probe_timeout_us = 100 * MS;
    cfg->core.swim.push_pull_interval_us = 5 * SEC;
}

static int64_t now(const dm_cluster *c)
{
    return dm_cluster_now(c);
}

static dm_node *node(const dm_cluster *c, uint32_t i)
{
    return dm_cluster_node(c, i);
}

static const dm_world_stats *stats(const dm_cluster *c)
{
    return dm_world_get_stats(dm_cluster_world(c));
}

static uint64_t events_of(const dm_cluster *c, uint32_t i, dm_event_type type)
{
    return dm_cluster_count(c, i, type);
}

static dm_event_type event_type(const dm_cluster *c, uint32_t i, uint32_t k)
{
    const dm_cluster_event *e = dm_cluster_event_get(c, i, k);
    return e ? e->type : 0;
}

static uint64_t sent(const dm_cluster *c, dm_msg_type t)
{
    return dm_cluster_sent(c, DM_CLUSTER_ALL, DM_CLUSTER_ALL, t);
}

static uint64_t sent_to(const dm_cluster *c, uint32_t to, dm_msg_type t)
{
    return dm_cluster_sent(c, DM_CLUSTER_ALL, to, t);
}

/* The quorum node i would ask for `name` now (the core's own formation
 * rule); its size, or a negative error. Lock names may place members
 * differently, so every question names the lock. */
static int quorum_of(const dm_cluster *c, uint32_t i, const char *name, uint32_t *out)
{
    return dm_node_current_quorum(node(c, i), dm_cluster_local_now(c, i), name, out, MAX_NODES);
}

static bool in_quorum(const dm_cluster *c, uint32_t i, const char *name, uint32_t member)
{
    uint32_t q[MAX_NODES];
    int size = quorum_of(c, i, name, q);
    for (int k = 0; k < size; k++)
        if (q[k] == member)
            return true;
    return false;
}

/* A member in the quorum of every node for `name` (the tree's root while
 * nothing failed); UINT32_MAX when none is. */
static uint32_t common_arbiter(const dm_cluster *c, const char *name)
{
    uint32_t n = dm_cluster_size(c);
    for (uint32_t a = 0; a < n; a++) {
        bool all = true;
        for (uint32_t i = 0; i < n && all; i++)
            all = in_quorum(c, i, name, a);
        if (all)
            return a;
    }
    return UINT32_MAX;
}

/* Two nodes other than `a` whose quorums for `name` share `a` and no other
 * member: what one node's failure does to the other is then all `a`'s. */
static bool pair_through(const dm_cluster *c, const char *name, uint32_t a, uint32_t *x,
                         uint32_t *y)
{
    uint32_t n = dm_cluster_size(c);
    for (*x = 0; *x < n; ++*x)
        for (*y = 0; *y < n; ++*y) {
            if (*x == a || *y == a || *x == *y)
                continue;
            uint32_t q[MAX_NODES];
            int size = quorum_of(c, *y, name, q);
            bool only_a = size > 0;
            for (int k = 0; k < size && only_a; k++)
                only_a = q[k] == a || !in_quorum(c, *x, name, q[k]);
            if (only_a && in_quorum(c, *x, name, a) && in_quorum(c, *y, name, a))
                return true;
        }
    return false;
}

/* Three nodes' roles for `name`: the arbiter every quorum contains, and the
 * two others. */
static void three_roles(const dm_cluster *c, const char *name, uint32_t *root, uint32_t *first,
                        uint32_t *second)
{
    *root = common_arbiter(c, name);
    CU_ASSERT_FATAL(*root < 3);
    *first = (*root + 1) % 3;
    *second = (*root + 2) % 3;
}

static bool acquire(dm_cluster *c, uint32_t i, const char *name, int64_t timeout_us)
{
    /* An uncontended grant takes a few 1 ms hops. */
    return dm_cluster_acquire(c, i, name, timeout_us, 100 * MS);
}

static void run_for(dm_cluster *c, int64_t dt)
{
    dm_cluster_run_for(c, dt);
}

static int lock_(dm_cluster *c, uint32_t i, const char *name, int64_t timeout_us, uint64_t *id)
{
    return dm_cluster_lock(c, i, name, timeout_us, id);
}

static int unlock(dm_cluster *c, uint32_t i, const char *name)
{
    return dm_cluster_unlock(c, i, name);
}

static bool holds(const dm_cluster *c, uint32_t i, const char *name)
{
    return dm_cluster_holds(c, i, name);
}

static bool pred_acquisitions(dm_cluster *c, void *user)
{
    return stats(c)->acquisitions >= *(const uint64_t *)user;
}

/* Run the workload until `target` acquisitions, an hour, or a deadlock:
 * nobody acquired for much longer than any lease. */
static void contend_until(dm_cluster *c, uint64_t target)
{
    int64_t limit = now(c) + 3600 * (int64_t)SEC;
    uint64_t last = stats(c)->acquisitions;
    while (stats(c)->acquisitions < target && now(c) < limit) {
        dm_cluster_step_until(c, pred_acquisitions, &target, now(c) + 30 * (int64_t)SEC, 0);
        if (stats(c)->acquisitions == last)
            break;
        last = stats(c)->acquisitions;
    }
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

/* ------------------------------------------------------------------ (a) */

static void test_lone_requester_cost(void)
{
    for (uint32_t n = 1; n <= 15; n++) {
        for (uint32_t who = 0; who < n; who++) {
            dm_cluster *c = cluster(n, 7);
            uint32_t q[MAX_NODES];
            int k = quorum_of(c, who, "a", q);
            CU_ASSERT(in_quorum(c, who, "a", who));   /* the node's own path contains it */
            CU_ASSERT_EQUAL_FATAL(lock_(c, who, "a", 10 * SEC, NULL), 0);
            run_for(c, 500 * MS);
            CU_ASSERT_TRUE(holds(c, who, "a"));
            CU_ASSERT_EQUAL(events_of(c, DM_CLUSTER_ALL, DM_EV_GRANTED), 1);
            CU_ASSERT_EQUAL(unlock(c, who, "a"), 0);
            CU_ASSERT_FALSE(holds(c, who, "a"));
            run_for(c, 500 * MS);
            CU_ASSERT(k > 0);
            uint64_t remote = (uint64_t)k - 1;
            /* REQUEST, GRANT, RELEASE per remote quorum member: Maekawa's
             * 3(K-1). In a new cluster every counter is alike, so every
             * member's grant id is the token and the fence round sends no
             * KEEP (a member whose id is lower would get KEEP and KEPT). */
            CU_ASSERT_EQUAL(sent(c, DM_MSG_REQUEST), remote);
            CU_ASSERT_EQUAL(sent(c, DM_MSG_GRANT), remote);
            CU_ASSERT_EQUAL(sent(c, DM_MSG_KEEP), 0);
            CU_ASSERT_EQUAL(sent(c, DM_MSG_KEPT), 0);
            CU_ASSERT_EQUAL(sent(c, DM_MSG_RELEASE), remote);
            CU_ASSERT_EQUAL(dm_cluster_sent_all(c), 3 * remote);
            /* Every arbiter is free again. */
            for (uint32_t i = 0; i < n; i++) {
                dm_arbiter_info info;
                dm_node_arbiter_info(node(c, i), "a", &info);
                CU_ASSERT_FALSE(info.granted);
            }
            CU_ASSERT(dm_cluster_ok(c));
            dm_cluster_free(c);
        }
    }
}

/* ------------------------------------------------------------------ (b) */

static dm_cluster *contend(uint32_t n, uint64_t seed, bool shuffle, double dup_p, uint64_t target)
{
    dm_sim_config cfg;
    base_config(&cfg, n, seed);
    if (shuffle)
        random_order(&cfg, dup_p, 0);
    contenders(&cfg, 60 * SEC);
    dm_cluster *c = start(&cfg);
    contend_until(c, target);
    return c;
}

static void test_contention_fifo_and_random(void)
{
    /* Seed 1 delivers in FIFO order; every other seed draws its own order
     * and duplicates 5% of the messages. */
    for (uint32_t n = 3; n <= 15; n++) {
        for (uint64_t seed = 1; seed <= 10; seed++) {
            bool shuffle = seed > 1;
            dm_cluster *c = contend(n, seed, shuffle, shuffle ? 0.05 : 0.0, 1000);
            const dm_world_stats *st = stats(c);
            CU_ASSERT(dm_cluster_ok(c));              /* exclusion, token order */
            CU_ASSERT(st->acquisitions >= 1000);      /* no deadlock */
            CU_ASSERT_EQUAL(st->failed, 0);           /* every request served */
            CU_ASSERT_EQUAL(st->lost, 0);
            if (!dm_cluster_ok(c) || st->acquisitions < 1000 || st->failed)
                g_printerr("n=%u seed=%" G_GUINT64_FORMAT ": violations=%u acquisitions=%"
                           G_GUINT64_FORMAT " failures=%" G_GUINT64_FORMAT "\n", n, seed,
                           dm_checker_violation_count(dm_cluster_checker(c)), st->acquisitions,
                           st->failed);
            dm_cluster_free(c);
        }
    }
}

/* Every node gets its turn: with all contending, no node starves. */
static void test_no_starvation(void)
{
    dm_cluster *c = contend(7, 42, true, 0.02, 2000);
    for (uint32_t i = 0; i < 7; i++)
        CU_ASSERT(dm_node_get_stats(node(c, i))->acquired >= 2000 / 7 / 4);
    CU_ASSERT(dm_cluster_ok(c));
    dm_cluster_free(c);
}

/* Losing messages costs retransmissions, never safety or progress. */
static void test_contention_with_loss(void)
{
    for (uint64_t seed = 1; seed <= 4; seed++) {
        dm_sim_config cfg;
        base_config(&cfg, 7, seed);
        random_order(&cfg, 0.05, 0.05);
        contenders(&cfg, 5 * SEC);
        dm_cluster *c = start(&cfg);
        run_for(c, 60 * (int64_t)SEC);
        const dm_world_stats *st = stats(c);
        CU_ASSERT(dm_cluster_ok(c));
        /* Without loss this workload does ~85 acquisitions/s; each loss costs
         * one retransmission timeout (200-400 ms) and about every other
         * acquisition meets one, so ~10/s is what progress looks like. A lost
         * RELEASE or GRANT that cost a whole lease (2 s) would drop it far
         * below: */
        CU_ASSERT(st->acquisitions >= 400);
        uint64_t expiries = 0;
        for (uint32_t i = 0; i < 7; i++)
            expiries += dm_node_get_stats(node(c, i))->lease_expiries;
        CU_ASSERT(expiries <= 5);
        if (st->acquisitions < 400 || expiries > 5)
            g_printerr("loss seed %" G_GUINT64_FORMAT ": acquisitions=%" G_GUINT64_FORMAT
                       " failures=%" G_GUINT64_FORMAT " lost=%" G_GUINT64_FORMAT
                       " expiries=%" G_GUINT64_FORMAT "\n",
                       seed, st->acquisitions, st->failed, st->lost, expiries);
        dm_cluster_free(c);
    }
}

/* ------------------------------------------------------------------ (c) */

static void test_names_are_independent(void)
{
    dm_cluster *c = cluster(5, 3);
    CU_ASSERT_EQUAL(lock_(c, 0, "x", 5 * SEC, NULL), 0);
    CU_ASSERT_EQUAL(lock_(c, 4, "y", 5 * SEC, NULL), 0);
    run_for(c, 200 * MS);
    CU_ASSERT_TRUE(holds(c, 0, "x"));
    CU_ASSERT_TRUE(holds(c, 4, "y"));
    /* A second name on the same node is independent too. */
    CU_ASSERT_EQUAL(lock_(c, 0, "y", 1 * SEC, NULL), 0);
    run_for(c, 200 * MS);
    CU_ASSERT_FALSE(holds(c, 0, "y"));   /* held by node 4 */
    CU_ASSERT_EQUAL(unlock(c, 4, "y"), 0);
    run_for(c, 200 * MS);
    CU_ASSERT_TRUE(holds(c, 0, "y"));
    CU_ASSERT_TRUE(holds(c, 0, "x"));
    CU_ASSERT(dm_cluster_ok(c));
    dm_cluster_free(c);
}

/* Lock names are found by hash and then compared (core/node.c, name_equal,
 * which compares in words of several sizes and copies short names as a
 * fixed block): at every length that takes a different path, two names that
 * differ only in their last byte are two locks, and a held one excludes
 * another node. */
static void test_names_of_every_length(void)
{
    static const size_t lens[] = { 1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 23, 24, 25, 64, DM_NAME_MAX };
    dm_cluster *c = cluster(5, 7);
    char x[DM_NAME_MAX + 1], y[DM_NAME_MAX + 1];
    for (size_t k = 0; k < G_N_ELEMENTS(lens); k++) {
        size_t len = lens[k];
        memset(x, 'a' + (int)(k % 26), len);
        memcpy(y, x, len);
        x[len - 1] = 'X';
        y[len - 1] = 'Y';
        x[len] = y[len] = '\0';
        CU_ASSERT_EQUAL(lock_(c, 0, x, 5 * SEC, NULL), 0);
        CU_ASSERT_EQUAL(lock_(c, 4, y, 5 * SEC, NULL), 0);
        run_for(c, 200 * MS);
        CU_ASSERT_TRUE(holds(c, 0, x));
        CU_ASSERT_TRUE(holds(c, 4, y));
        CU_ASSERT_EQUAL(lock_(c, 2, x, 1 * SEC, NULL), 0);
        run_for(c, 200 * MS);
        CU_ASSERT_FALSE(holds(c, 2, x));   /* node 0 holds it */
        CU_ASSERT_EQUAL(unlock(c, 0, x), 0);
        run_for(c, 200 * MS);
        CU_ASSERT_TRUE(holds(c, 2, x));
        CU_ASSERT_EQUAL(unlock(c, 2, x), 0);
        CU_ASSERT_EQUAL(unlock(c, 4, y), 0);
        run_for(c, 200 * MS);
    }
    CU_ASSERT(dm_cluster_ok(c));
    dm_cluster_free(c);
}

/* ------------------------------------------------------------------ (d) */

static void test_error_semantics(void)
{
    dm_cluster *c = cluster(3, 4);
    char long_name[300];
    memset(long_name, 'n', sizeof long_name);
    long_name[256] = '\0';
    CU_ASSERT_EQUAL(lock_(c, 0, "", SEC, NULL), -DM_EBADNAME);
    CU_ASSERT_EQUAL(lock_(c, 0, NULL, SEC, NULL), -DM_EBADNAME);
    CU_ASSERT_EQUAL(lock_(c, 0, long_name, SEC, NULL), -DM_EBADNAME);
    long_name[255] = '\0';
    CU_ASSERT_EQUAL(lock_(c, 0, long_name, SEC, NULL), 0);   /* 255 bytes is fine */
    CU_ASSERT_EQUAL(lock_(c, 0, "ok", 0, NULL), -DM_EINVAL);
    CU_ASSERT_EQUAL(unlock(c, 0, "ok"), -DM_ENOTHELD);
    CU_ASSERT_EQUAL(lock_(c, 0, "ok", SEC, NULL), 0);
    /* Acquiring: a second lock() fails at once, and so does unlock(). */
    CU_ASSERT_EQUAL(lock_(c, 0, "ok", SEC, NULL), -DM_EBUSY);
    CU_ASSERT_EQUAL(unlock(c, 0, "ok"), -DM_ENOTHELD);
    uint32_t events_before = dm_cluster_event_count(c, 0);
    run_for(c, 100 * MS);
    CU_ASSERT(dm_cluster_event_count(c, 0) > events_before);
    CU_ASSERT_TRUE(holds(c, 0, "ok"));
    /* Held: lock() still fails at once. */
    CU_ASSERT_EQUAL(lock_(c, 0, "ok", SEC, NULL), -DM_EBUSY);
    CU_ASSERT_EQUAL(unlock(c, 0, "ok"), 0);
    CU_ASSERT_EQUAL(unlock(c, 0, "ok"), -DM_ENOTHELD);
    dm_cluster_free(c);
}

/* lock()'s outcome never arrives from inside lock(), even when the node is
 * its own whole quorum. */
static void test_outcome_not_reentrant(void)
{
    dm_cluster *c = cluster(1, 5);
    CU_ASSERT_EQUAL(lock_(c, 0, "solo", SEC, NULL), 0);
    CU_ASSERT_EQUAL(dm_cluster_event_count(c, 0), 0);
    CU_ASSERT(dm_node_next_deadline(node(c, 0)) <= dm_cluster_local_now(c, 0));
    CU_ASSERT_TRUE(dm_cluster_step(c));   /* that deadline: the tick */
    CU_ASSERT_EQUAL(dm_cluster_event_count(c, 0), 1);
    CU_ASSERT_TRUE(holds(c, 0, "solo"));
    dm_cluster_free(c);
}

/* A timed-out acquisition releases every grant it collected. */
static void test_timeout_releases_grants(void)
{
    dm_cluster *c = cluster(7, 6);
    /* node 1 holds "t". */
    CU_ASSERT_TRUE_FATAL(acquire(c, 1, "t", 10 * SEC));
    /* node 5 wants it briefly: it collects what it can, then times out. */
    CU_ASSERT_EQUAL(lock_(c, 5, "t", 300 * MS, NULL), 0);
    run_for(c, 1 * SEC);
    CU_ASSERT_EQUAL(events_of(c, DM_CLUSTER_ALL, DM_EV_FAILED), 1);
    CU_ASSERT_FALSE(holds(c, 5, "t"));
    for (uint32_t i = 0; i < 7; i++) {
        dm_arbiter_info info;
        if (dm_node_arbiter_info(node(c, i), "t", &info) && info.granted)
            CU_ASSERT_EQUAL(info.grantee, 1);   /* only the holder's grants remain */
        CU_ASSERT_EQUAL(info.waiting, 0);
    }
    dm_cluster_free(c);
}

/* Suspicion is a hint: when every quorum contains a member this node
 * suspects (here: both others, after they stopped answering for a while),
 * lock() still tries one instead of failing with -DM_ENOQUORUM. */
static void test_suspicion_alone_never_blocks(void)
{
    dm_cluster *c = cluster(3, 18);
    dm_cluster_cut(c, 0, 1);
    dm_cluster_cut(c, 0, 2);
    CU_ASSERT_EQUAL(lock_(c, 0, "s", SEC, NULL), 0);
    run_for(c, 2 * SEC);
    CU_ASSERT_EQUAL(events_of(c, 0, DM_EV_FAILED), 1);   /* timed out, suspecting both */
    /* The partition heals: what was sent meanwhile is lost, so nothing from
     * them has cleared the suspicion yet. */
    dm_cluster_heal(c);
    CU_ASSERT_EQUAL(lock_(c, 0, "s", SEC, NULL), 0);
    run_for(c, 100 * MS);
    CU_ASSERT_TRUE(holds(c, 0, "s"));
    dm_cluster_free(c);
}

/* cancel() abandons an acquisition: it ends FAILED(-DM_ECANCELED) at the
 * next tick, no arbiter keeps anything for it, and the name can be locked
 * again at once; it refuses what is held or not being acquired. */
static void test_cancel(void)
{
    dm_cluster *c = cluster(7, 19);
    CU_ASSERT_TRUE_FATAL(acquire(c, 1, "c", 20 * SEC));
    CU_ASSERT_EQUAL(dm_cluster_cancel(c, 1, "c"), -DM_EBUSY);
    CU_ASSERT_EQUAL(dm_cluster_cancel(c, 5, "c"), -DM_ENOTHELD);
    CU_ASSERT_EQUAL(dm_cluster_cancel(c, 5, ""), -DM_EBADNAME);
    /* node 5 queues behind the holder, collecting what it can, then gives up. */
    CU_ASSERT_EQUAL(lock_(c, 5, "c", 20 * SEC, NULL), 0);
    run_for(c, 100 * MS);
    uint32_t before = dm_cluster_event_count(c, 5);
    CU_ASSERT_EQUAL(dm_cluster_cancel(c, 5, "c"), 0);
    CU_ASSERT_EQUAL(dm_cluster_event_count(c, 5), before);   /* never from inside the call */
    run_for(c, 100 * MS);
    CU_ASSERT_EQUAL_FATAL(dm_cluster_event_count(c, 5), before + 1);
    CU_ASSERT_EQUAL(event_type(c, 5, before), DM_EV_FAILED);
    CU_ASSERT_EQUAL(dm_cluster_event_get(c, 5, before)->reason, -DM_ECANCELED);
    CU_ASSERT_EQUAL(events_of(c, DM_CLUSTER_ALL, DM_EV_FAILED), 1);
    for (uint32_t i = 0; i < 7; i++) {
        dm_arbiter_info info;
        if (dm_node_arbiter_info(node(c, i), "c", &info) && info.granted)
            CU_ASSERT_EQUAL(info.grantee, 1);
        CU_ASSERT_EQUAL(info.waiting, 0);
    }
    /* The holder releases: nobody is granted for the abandoned attempt, and
     * node 5 can ask again at once. */
    CU_ASSERT_EQUAL(unlock(c, 1, "c"), 0);
    CU_ASSERT_EQUAL(lock_(c, 5, "c", 5 * SEC, NULL), 0);
    run_for(c, 100 * MS);
    CU_ASSERT_TRUE(holds(c, 5, "c"));
    CU_ASSERT(dm_cluster_ok(c));
    dm_cluster_free(c);
}

/* ------------------------------------------------------------------ (e) */

/* A wrong arbiter: it answers every REQUEST with a fresh GRANT and every
 * KEEP with KEPT, whatever it granted before, and its core hears nothing. */
typedef struct wrong_arbiter {
    dm_cluster *c;
    uint64_t grants;
} wrong_arbiter;

static bool wrong_arbiter_answer(void *user, uint32_t node_id, dm_msg *in)
{
    wrong_arbiter *wa = user;
    dm_msg out = *in;
    out.from = (uint16_t)node_id;
    out.to = in->from;
    out.clock = in->clock + 1;
    if (in->type == DM_MSG_REQUEST) {
        out.type = DM_MSG_GRANT;
        out.grant = ++wa->grants;
        out.value = 0;
        dm_cluster_send(wa->c, &out);
    } else if (in->type == DM_MSG_KEEP) {
        out.type = DM_MSG_KEPT;
        dm_cluster_send(wa->c, &out);
    }
    return false;
}

/* The simulator's mutual-exclusion checker, the one every test here relies
 * on, catches it: proof that the check can fail. */
static void test_checker_catches_wrong_arbiter(void)
{
    /* The arbiter every quorum of N = 3 contains, asked of the core. */
    dm_cluster *probe = cluster(3, 8);
    uint32_t bad = common_arbiter(probe, WORK_LOCK);
    dm_cluster_free(probe);
    CU_ASSERT_FATAL(bad < 3);

    dm_sim_config cfg;
    base_config(&cfg, 3, 8);
    contenders(&cfg, 60 * SEC);
    cfg.hold_us = 50 * MS;
    cfg.clients = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    for (uint32_t i = 0; i < 3; i++)
        if (i != bad)
            g_array_append_val(cfg.clients, i);
    dm_cluster *c = start(&cfg);
    wrong_arbiter wa = { c, 0 };
    static const dm_world_tap tap = { .receive = wrong_arbiter_answer };
    dm_cluster_set_tap(c, bad, &tap, &wa);
    run_for(c, 2 * SEC);
    CU_ASSERT(wa.grants > 0);
    CU_ASSERT(dm_cluster_violations(c, DM_VIOLATION_MUTEX) > 0);
    CU_ASSERT_FALSE(dm_cluster_ok(c));
    dm_cluster_free(c);
}

/* ------------------------------------------------------------------ leases */

/* Step until node i holds `name`: the time it did, or -1 by `until`. */
static int64_t granted_at(dm_cluster *c, uint32_t i, const char *name, int64_t until)
{
    return dm_cluster_step_until_holds(c, i, name, until);
}

static void test_holder_crash_frees_after_one_lease(void)
{
    dm_cluster *c = cluster(5, 9);
    /* The holder is the arbiter every quorum of "c" contains (the root). */
    uint32_t root = common_arbiter(c, "c");
    CU_ASSERT_FATAL(root < 5);
    uint32_t other = root == 0 ? 4 : 0;
    CU_ASSERT_TRUE_FATAL(acquire(c, root, "c", 5 * SEC));
    int64_t crashed_at = now(c);
    dm_cluster_crash(c, root);
    /* The other node's quorum must substitute the dead root: AE degradation. */
    CU_ASSERT_EQUAL(lock_(c, other, "c", 20 * SEC, NULL), 0);
    int64_t at = granted_at(c, other, "c", now(c) + 15 * SEC);
    CU_ASSERT(at >= 0);
    CU_ASSERT(dm_cluster_ok(c));
    /* ...but not before the dead holder's grants could have expired. */
    CU_ASSERT(at - crashed_at >= dm_cluster_cfg(c)->core.lease_us - 200 * MS);
    dm_cluster_free(c);
}

/* Node 0 takes `name` and crashes holding it: when it crashed. */
static int64_t holder_crashes(dm_cluster *c, const char *name)
{
    CU_ASSERT_TRUE_FATAL(acquire(c, 0, name, 5 * SEC));
    int64_t at = now(c);
    dm_cluster_crash(c, 0);
    return at;
}

static void test_crashed_holder_lease_bounds_wait(void)
{
    /* The second node's quorum shares arbiters with the crashed holder, so
     * it must wait out (about) one lease, and no more than a lease plus the
     * retry slack. */
    dm_cluster *c = cluster(3, 10);
    const dm_sim_config *cfg = dm_cluster_cfg(c);
    int64_t crashed_at = holder_crashes(c, "c");
    CU_ASSERT_EQUAL(lock_(c, 2, "c", 20 * SEC, NULL), 0);
    int64_t at = granted_at(c, 2, "c", now(c) + 10 * SEC);
    CU_ASSERT(at >= 0);
    CU_ASSERT(at >= crashed_at + cfg->core.lease_us - 200 * MS);
    CU_ASSERT(at <= crashed_at + cfg->core.lease_us + 2 * cfg->core.rpc_timeout_us + 50 * MS);
    CU_ASSERT(dm_cluster_ok(c));
    dm_cluster_free(c);
}

/* Three nodes with lock_delay on. */
static dm_cluster *delay_cluster_margin(uint64_t seed, int64_t delay_us, int64_t margin_us)
{
    dm_sim_config cfg;
    base_config(&cfg, 3, seed);
    cfg.core.lock_delay_us = delay_us;
    cfg.core.lost_margin_us = margin_us;
    return start(&cfg);
}

static dm_cluster *delay_cluster(uint64_t seed, int64_t delay_us)
{
    return delay_cluster_margin(seed, delay_us, DM_LOST_MARGIN_RELATIVE);
}

/* lock_delay: a crashed holder's lock is withheld for lease + lock_delay
 * (the arbiters its quorum shares with the next requester's lapse it, then
 * wait the delay); without the delay, the crashed-holder test above shows
 * about one lease. */
static void test_lock_delay_after_crashed_holder(void)
{
    dm_cluster *c = delay_cluster(10, 3 * SEC);
    const dm_sim_config *sc = dm_cluster_cfg(c);
    int64_t crashed_at = holder_crashes(c, "c");
    CU_ASSERT_EQUAL(lock_(c, 2, "c", 30 * SEC, NULL), 0);
    int64_t at = granted_at(c, 2, "c", now(c) + 20 * SEC);
    CU_ASSERT_FATAL(at >= 0);
    int64_t wait = sc->core.lease_us + sc->core.lock_delay_us;
    CU_ASSERT(at >= crashed_at + wait - 200 * MS);
    CU_ASSERT(at <= crashed_at + wait + 2 * sc->core.rpc_timeout_us + 50 * MS);
    CU_ASSERT(dm_cluster_ok(c));
    CU_ASSERT_EQUAL(dm_cluster_violations(c, DM_VIOLATION_DELAY), 0);
    dm_cluster_free(c);
}

/* A lapsed holder's RELEASE ends the delay at once: paused past its lease,
 * it reports LOST on resuming and releases, and the waiter gets the lock
 * long before the delay is over -- without a lost margin. With one (the
 * default, 10 % of the lease) the holder sends no RELEASE after its LOST
 * (that is the margin's rule: the application may still be stopping), so
 * the delay runs its course. */
static void test_lock_delay_ended_by_release(void)
{
    for (int margin = 0; margin < 2; margin++) {
        dm_cluster *c = delay_cluster_margin(11, 30 * SEC, margin ? DM_LOST_MARGIN_RELATIVE : 0);
        const dm_sim_config *sc = dm_cluster_cfg(c);
        CU_ASSERT_TRUE_FATAL(acquire(c, 0, "p", 5 * SEC));
        dm_cluster_pause(c, 0);
        CU_ASSERT_EQUAL(lock_(c, 2, "p", 60 * SEC, NULL), 0);
        run_for(c, sc->core.lease_us + 2 * SEC);
        CU_ASSERT_FALSE(holds(c, 2, "p"));   /* lapsed: withheld */
        int64_t resumed_at = now(c);
        dm_cluster_resume(c, 0);
        int64_t at = granted_at(c, 2, "p", now(c) + 10 * SEC);
        if (margin) {
            CU_ASSERT(at < 0);
        } else {
            CU_ASSERT_FATAL(at >= 0);
            CU_ASSERT(at - resumed_at < 2 * SEC);
        }
        CU_ASSERT(dm_cluster_ok(c));
        dm_cluster_free(c);
    }
}

struct outcome_wait {
    uint32_t node;
    uint64_t attempt;
};

static bool pred_outcome_of(dm_cluster *c, void *user)
{
    const struct outcome_wait *w = user;
    return dm_cluster_outcome(c, w->node, w->attempt) != 0;
}

/* Node i's latest event of `type` for `attempt`, NULL: none. */
static const dm_cluster_event *event_for(const dm_cluster *c, uint32_t i, dm_event_type type,
                                         uint64_t attempt)
{
    for (uint32_t k = dm_cluster_event_count(c, i); k-- > 0;) {
        const dm_cluster_event *e = dm_cluster_event_get(c, i, k);
        if (e->type == type && e->attempt == attempt)
            return e;
    }
    return NULL;
}

/* The reason of the FAILED node i reported for `attempt`, 0: none. */
static int failed_reason(const dm_cluster *c, uint32_t i, uint64_t attempt)
{
    const dm_cluster_event *e = event_for(c, i, DM_EV_FAILED, attempt);
    return e ? e->reason : 0;
}

/* A try-lock fails at once (one round trip, not its timeout) with
 * -DM_EHELD while another holds the lock, gives back what it collected (the
 * holder keeps it, the next try after the unlock acquires), and acquires
 * when nobody holds. */
static void test_try_lock(void)
{
    dm_cluster *c = cluster(5, 12);
    const dm_sim_config *sc = dm_cluster_cfg(c);
    uint64_t id = 0;
    CU_ASSERT_EQUAL(dm_cluster_try_lock(c, 1, "t", 5 * SEC, &id), 0);
    CU_ASSERT(granted_at(c, 1, "t", now(c) + 5 * SEC) >= 0);   /* uncontended */
    for (uint32_t i = 0; i < 5; i++) {
        if (i == 1)
            continue;
        int64_t asked = now(c);
        CU_ASSERT_EQUAL_FATAL(dm_cluster_try_lock(c, i, "t", 20 * SEC, &id), 0);
        dm_cluster_step_until(c, pred_outcome_of, &(struct outcome_wait){ i, id }, now(c) + 20 * SEC, 0);
        CU_ASSERT_EQUAL(dm_cluster_outcome(c, i, id), DM_EV_FAILED);
        CU_ASSERT_EQUAL(failed_reason(c, i, id), -DM_EHELD);
        CU_ASSERT(now(c) - asked < 2 * sc->core.rpc_timeout_us);
    }
    CU_ASSERT_TRUE(holds(c, 1, "t"));
    CU_ASSERT_EQUAL(unlock(c, 1, "t"), 0);
    run_for(c, 100 * MS);
    CU_ASSERT_EQUAL(dm_cluster_try_lock(c, 3, "t", 5 * SEC, &id), 0);
    CU_ASSERT(granted_at(c, 3, "t", now(c) + 5 * SEC) >= 0);
    CU_ASSERT(dm_cluster_ok(c));
    dm_cluster_free(c);
}

/* With lock_delay, a crashed holder's lock is HELD to a try-lock during the
 * delay too (the arbiter withholds it), and free after it. */
static void test_try_lock_during_lock_delay(void)
{
    dm_cluster *c = delay_cluster(13, 5 * SEC);
    const dm_sim_config *sc = dm_cluster_cfg(c);
    int64_t crashed_at = holder_crashes(c, "d");
    run_for(c, sc->core.lease_us + SEC);
    uint64_t id = 0;
    CU_ASSERT_EQUAL_FATAL(dm_cluster_try_lock(c, 2, "d", 20 * SEC, &id), 0);
    dm_cluster_step_until(c, pred_outcome_of, &(struct outcome_wait){ 2, id }, now(c) + 20 * SEC, 0);
    CU_ASSERT_EQUAL(failed_reason(c, 2, id), -DM_EHELD);
    dm_cluster_run_until(c, crashed_at + sc->core.lease_us + sc->core.lock_delay_us + SEC);
    CU_ASSERT_EQUAL(dm_cluster_try_lock(c, 2, "d", 5 * SEC, &id), 0);
    CU_ASSERT(granted_at(c, 2, "d", now(c) + 5 * SEC) >= 0);
    CU_ASSERT(dm_cluster_ok(c));
    dm_cluster_free(c);
}

static bool pred_new_event(dm_cluster *c, void *user)
{
    const uint32_t *at = user;   /* { node, events before } */
    return dm_cluster_event_count(c, at[0]) > at[1];
}

static void test_paused_holder_reports_lost_first(void)
{
    dm_cluster *c = cluster(3, 11);
    CU_ASSERT_TRUE_FATAL(acquire(c, 0, "p", 5 * SEC));
    uint64_t first_token = dm_node_token(node(c, 0), "p");
    dm_cluster_pause(c, 0);
    CU_ASSERT_EQUAL(lock_(c, 2, "p", 20 * SEC, NULL), 0);
    run_for(c, 6 * SEC);
    CU_ASSERT_TRUE_FATAL(holds(c, 2, "p"));
    uint64_t second_token = dm_node_token(node(c, 2), "p");
    CU_ASSERT(second_token > first_token);
    CU_ASSERT(dm_cluster_ok(c));
    /* Resume: what was buffered for it arrives, or its overdue tick runs,
     * and either way its first event is LOST. */
    uint32_t before[2] = { 0, dm_cluster_event_count(c, 0) };
    dm_cluster_resume(c, 0);
    CU_ASSERT_FATAL(dm_cluster_step_until(c, pred_new_event, before, now(c), 0) >= 0);
    CU_ASSERT_EQUAL(event_type(c, 0, before[1]), DM_EV_LOST);
    CU_ASSERT_FALSE(holds(c, 0, "p"));
    run_for(c, 1 * SEC);
    CU_ASSERT_TRUE(holds(c, 2, "p"));
    CU_ASSERT(dm_cluster_ok(c));
    dm_cluster_free(c);
}

/* The same, when the first input after the pause is a message, not a tick:
 * a stray one sent to it while it was paused waits in its socket. */
static void test_paused_holder_lost_before_message(void)
{
    dm_cluster *c = cluster(3, 12);
    CU_ASSERT_TRUE_FATAL(acquire(c, 0, "p", 5 * SEC));
    dm_cluster_pause(c, 0);
    run_for(c, 5 * SEC);
    dm_msg junk = peer_msg(DM_MSG_FAILED, 1, 0, "other");
    junk.attempt = 99;
    CU_ASSERT_EQUAL(dm_cluster_send(c, &junk), 0);
    run_for(c, 10 * MS);
    uint32_t before = dm_cluster_event_count(c, 0);
    uint64_t rejected = stats(c)->rejected;
    dm_cluster_resume(c, 0);   /* the buffered messages, before any tick */
    CU_ASSERT_FATAL(dm_cluster_event_count(c, 0) > before);
    CU_ASSERT_EQUAL(event_type(c, 0, before), DM_EV_LOST);
    CU_ASSERT_EQUAL(stats(c)->rejected, rejected);   /* the stray one was taken */
    dm_cluster_free(c);
}

/* Paused between sending the fence and hearing it acknowledged, past the
 * holder's (drift-shortened) lease but not the arbiters' full one: the
 * buffered acknowledgement vouches for a lease the holder can no longer
 * trust, so no GRANTED may come of it (the simulator found this). The rpc
 * timeout is as long as the rules allow (lease >= 4 x rpc_timeout), so that
 * no retransmission or suspicion runs first on resume: the buffered KEPT is
 * what the node sees. */
static void test_pause_during_fence_round(void)
{
    dm_sim_config cfg;
    base_config(&cfg, 3, 17);
    cfg.core.rpc_timeout_us = cfg.core.lease_us / 4;
    dm_cluster *c = start(&cfg);
    int64_t lease = dm_cluster_cfg(c)->core.lease_us;
    /* A fence round sends no KEEP to a member whose grant id is the token,
     * so while node 0's quorum members have alike counters it holds at
     * once: locks of other names through other members raise some
     * counters until its grant ids differ and the round needs a KEEP. */
    bool fencing = false;
    for (int round = 0; round < 8 && !fencing; round++) {
        char other[8];
        snprintf(other, sizeof other, "g%d", round);
        CU_ASSERT_TRUE_FATAL(acquire(c, 1 + (uint32_t)round % 2, other, 5 * SEC));
        CU_ASSERT_EQUAL(unlock(c, 1 + (uint32_t)round % 2, other), 0);
        run_for(c, 100 * MS);
        uint64_t keeps = dm_cluster_sent(c, 0, DM_CLUSTER_ALL, DM_MSG_KEEP);
        CU_ASSERT_EQUAL(lock_(c, 0, "f", 20 * SEC, NULL), 0);
        int64_t until = now(c) + SEC;
        while (!holds(c, 0, "f") && dm_cluster_sent(c, 0, DM_CLUSTER_ALL, DM_MSG_KEEP) == keeps)
            CU_ASSERT_FATAL(dm_cluster_step(c) && now(c) < until);
        fencing = !holds(c, 0, "f");
        if (!fencing) {
            CU_ASSERT_EQUAL(unlock(c, 0, "f"), 0);
            run_for(c, 100 * MS);
        }
    }
    CU_ASSERT_TRUE_FATAL(fencing);
    int64_t holder_lease = dm_node_holder_lease(node(c, 0));
    CU_ASSERT_FATAL(holder_lease < lease);
    dm_cluster_pause(c, 0);
    uint64_t to_holder = 0, kept = sent_to(c, 0, DM_MSG_KEPT);
    for (int t = 1; t < DM_MSG_TYPE_COUNT; t++)
        to_holder += sent_to(c, 0, t);
    run_for(c, (holder_lease + lease) / 2);
    uint64_t to_holder_after = 0;
    for (int t = 1; t < DM_MSG_TYPE_COUNT; t++)
        to_holder_after += sent_to(c, 0, t);
    /* Its socket holds the KEPT, and nothing else. */
    CU_ASSERT_EQUAL(to_holder_after - to_holder, 1);
    CU_ASSERT_EQUAL(sent_to(c, 0, DM_MSG_KEPT) - kept, 1);
    uint32_t before = dm_cluster_event_count(c, 0);
    dm_cluster_resume(c, 0);   /* the fixture checks every GRANTED lease is still ahead */
    for (uint32_t i = before; i < dm_cluster_event_count(c, 0); i++)
        CU_ASSERT_NOT_EQUAL(event_type(c, 0, i), DM_EV_GRANTED);
    /* It fences again, and then holds for real. */
    run_for(c, 100 * MS);
    CU_ASSERT_TRUE(holds(c, 0, "f"));
    CU_ASSERT(dm_cluster_ok(c));
    dm_cluster_free(c);
}

/* A long hold is kept alive by renewals, and the lease reported grows. */
static void test_renewal_keeps_long_hold(void)
{
    dm_cluster *c = cluster(7, 13);
    CU_ASSERT_TRUE_FATAL(acquire(c, 3, "r", 5 * SEC));
    run_for(c, 10 * dm_cluster_cfg(c)->core.lease_us);
    CU_ASSERT_TRUE(holds(c, 3, "r"));
    CU_ASSERT_EQUAL(events_of(c, DM_CLUSTER_ALL, DM_EV_LOST), 0);
    CU_ASSERT(events_of(c, 3, DM_EV_RENEWED) >= 10);
    /* Contenders wait, and do not get it while it is renewed. */
    CU_ASSERT_EQUAL(lock_(c, 0, "r", 3 * SEC, NULL), 0);
    run_for(c, 4 * SEC);
    CU_ASSERT_EQUAL(events_of(c, DM_CLUSTER_ALL, DM_EV_FAILED), 1);
    CU_ASSERT(dm_cluster_ok(c));
    dm_cluster_free(c);
}

/* ------------------------------------------------------------------ restarts */

static void test_arbiter_restart_no_double_grant(void)
{
    dm_cluster *c = cluster(3, 14);
    /* The holder's quorum holds the arbiter every quorum of "r" contains;
     * that arbiter restarts and forgets. */
    uint32_t root, holder, other;
    three_roles(c, "r", &root, &holder, &other);
    CU_ASSERT_TRUE_FATAL(acquire(c, holder, "r", 5 * SEC));
    uint64_t t0 = dm_node_token(node(c, holder), "r");
    dm_cluster_restart(c, root);
    /* The other node asks the restarted root straight away. */
    CU_ASSERT_EQUAL(lock_(c, other, "r", 20 * SEC, NULL), 0);
    run_for(c, 500 * MS);
    CU_ASSERT_FALSE(holds(c, other, "r"));   /* quiet period */
    run_for(c, 10 * SEC);
    CU_ASSERT_TRUE(holds(c, other, "r"));
    CU_ASSERT(dm_node_token(node(c, other), "r") > t0);
    CU_ASSERT(dm_cluster_ok(c));
    /* The holder learned its root forgot the grant. */
    CU_ASSERT(events_of(c, holder, DM_EV_LOST) >= 1);
    dm_cluster_free(c);
}

static void noop_send(void *user, const dm_msg *msg)
{
    (void)user;
    (void)msg;
}

static void noop_notify(void *user, const dm_event *ev)
{
    (void)user;
    (void)ev;
}

static int noop_persist(void *user, const void *bytes, size_t len)
{
    (void)user;
    (void)bytes;
    (void)len;
    return 0;
}

static void test_restarted_node_without_state_is_first_boot(void)
{
    static const dm_driver driver = { noop_send, noop_notify, noop_persist };
    dm_config cfg;
    dm_config_defaults(&cfg);
    cfg.n_members = 3;
    cfg.self = 0;
    dm_node *n = NULL;
    CU_ASSERT_EQUAL(dm_node_new(&cfg, &driver, NULL, 0, "junk", 4, &n), -DM_EBADSTATE);
    CU_ASSERT_PTR_NULL(n);
    cfg.self = 3;
    CU_ASSERT_EQUAL(dm_node_new(&cfg, &driver, NULL, 0, NULL, 0, &n), -DM_EINVAL);
    cfg.self = 0;
    cfg.lease_us = 0;
    CU_ASSERT_EQUAL(dm_node_new(&cfg, &driver, NULL, 0, NULL, 0, &n), -DM_EINVAL);
}

/* ------------------------------------------------------------------ issue 9 */

/* Issue 9's live scenario, in the core: a node holds L through the root,
 * the arbiter every quorum of L contains; the root loses its disk and comes
 * back; another node, whose quorum meets the holder's only at the root,
 * asks for L while the first still holds it. `as_first_start`: the wiped
 * root restarts claiming it never ran, as every node without state did
 * before recovery existed. */
static dm_cluster *wiped_root_scenario(bool as_first_start, uint32_t *second, uint32_t *wiped,
                                       uint64_t *t0, uint64_t *t3)
{
    dm_sim_config cfg;
    base_config(&cfg, 5, 41);
    cfg.wipe_bootstrap = as_first_start;
    dm_cluster *c = start(&cfg);
    uint32_t root = common_arbiter(c, "L"), first = 0, other = 0;
    CU_ASSERT_FATAL(root < 5);
    CU_ASSERT_FATAL(pair_through(c, "L", root, &first, &other));
    *second = other;
    *wiped = root;
    CU_ASSERT_TRUE_FATAL(acquire(c, first, "L", 20 * SEC));
    *t0 = dm_node_token(node(c, first), "L");
    dm_cluster_wipe(c, root);
    dm_cluster_restart(c, root);
    CU_ASSERT_EQUAL(lock_(c, other, "L", 20 * SEC, NULL), 0);
    /* The first holder keeps holding (renewals) for a while, then lets go. */
    run_for(c, 3 * SEC);
    if (holds(c, first, "L"))
        CU_ASSERT_EQUAL(unlock(c, first, "L"), 0);
    run_for(c, 5 * SEC);
    *t3 = events_of(c, other, DM_EV_GRANTED) ? dm_node_token(node(c, other), "L") : 0;
    return c;
}

static void test_wiped_arbiter_keeps_exclusion_and_tokens(void)
{
    uint32_t second, root;
    uint64_t t0, t3;
    dm_cluster *c = wiped_root_scenario(false, &second, &root, &t0, &t3);
    CU_ASSERT(dm_cluster_ok(c));
    CU_ASSERT_TRUE(holds(c, second, "L"));   /* around the root, after the first */
    CU_ASSERT(t3 > t0);
    /* The wiped root said RECOVERING and recovered a floor above t0. */
    CU_ASSERT(dm_cluster_sent(c, root, DM_CLUSTER_ALL, DM_MSG_RECOVERING) >= 1);
    CU_ASSERT(dm_cluster_sent(c, root, DM_CLUSTER_ALL, DM_MSG_RECOVER) >= 1);
    CU_ASSERT_EQUAL(dm_node_recovery(node(c, root), NULL), DM_RECOVERY_NONE);
    CU_ASSERT_EQUAL(unlock(c, second, "L"), 0);
    CU_ASSERT_TRUE(acquire(c, root, "L", 5 * SEC));      /* through itself again */
    CU_ASSERT(dm_node_token(node(c, root), "L") > t3);
    CU_ASSERT(dm_cluster_ok(c));
    dm_cluster_free(c);

    /* The same with the wiped root taken for a first start: the checker
     * catches it, so it would have failed on that code. */
    c = wiped_root_scenario(true, &second, &root, &t0, &t3);
    CU_ASSERT(dm_cluster_violations(c, DM_VIOLATION_MUTEX) +
              dm_cluster_violations(c, DM_VIOLATION_TOKEN) > 0);
    dm_cluster_free(c);
}

static void test_recovery_waits_quiet_period_and_floor(void)
{
    dm_cluster *c = cluster(3, 43);
    int64_t lease = dm_cluster_cfg(c)->core.lease_us;
    CU_ASSERT_TRUE_FATAL(acquire(c, 0, "a", 5 * SEC));
    CU_ASSERT_EQUAL(unlock(c, 0, "a"), 0);
    run_for(c, 10 * MS);
    int64_t start_at = now(c);
    dm_cluster_wipe(c, 0);
    dm_cluster_restart(c, 0);
    int64_t until;
    CU_ASSERT_EQUAL(dm_node_recovery(node(c, 0), &until), DM_RECOVERY_FLOOR);
    CU_ASSERT(until >= start_at + lease);
    /* The attempt epoch is not known yet: no attempt id may be issued. */
    CU_ASSERT_EQUAL(lock_(c, 0, "b", SEC, NULL), -DM_ERECOVERING);
    run_for(c, 50 * MS);
    CU_ASSERT_EQUAL(dm_node_recovery(node(c, 0), NULL), DM_RECOVERY_QUIET);
    /* Its earlier life's attempt ids are behind the new ones. */
    uint64_t id = 0;
    CU_ASSERT_EQUAL(lock_(c, 0, "b", 5 * SEC, &id), 0);
    CU_ASSERT(id >> 32 >= 2);
    run_for(c, 200 * MS);
    CU_ASSERT_TRUE(holds(c, 0, "b"));   /* around itself */
    CU_ASSERT_EQUAL(dm_cluster_outcome(c, 0, id), DM_EV_GRANTED);
    CU_ASSERT_EQUAL(unlock(c, 0, "b"), 0);
    /* As an arbiter it grants nothing before the quiet period is over. */
    CU_ASSERT_EQUAL(lock_(c, 1, "c", 20 * SEC, NULL), 0);
    dm_cluster_run_until(c, start_at + lease - 100 * MS);
    dm_arbiter_info info;
    dm_node_arbiter_info(node(c, 0), "c", &info);
    CU_ASSERT_FALSE(info.granted);
    dm_cluster_run_until(c, start_at + 3 * lease);
    CU_ASSERT_EQUAL(dm_node_recovery(node(c, 0), NULL), DM_RECOVERY_NONE);
    CU_ASSERT_TRUE(holds(c, 1, "c"));
    CU_ASSERT(dm_cluster_ok(c));
    dm_cluster_free(c);
}

/* A crash in the middle of recovery must not make the next start look like
 * a restart whose counter can be trusted. */
static void test_crash_during_recovery_recovers_again(void)
{
    dm_cluster *c = cluster(3, 44);
    dm_cluster_wipe(c, 1);
    dm_cluster_restart(c, 1);
    CU_ASSERT_EQUAL(dm_node_recovery(node(c, 1), NULL), DM_RECOVERY_FLOOR);
    dm_cluster_restart(c, 1);   /* with the state it persisted so far */
    CU_ASSERT_EQUAL(dm_node_recovery(node(c, 1), NULL), DM_RECOVERY_FLOOR);
    run_for(c, 50 * MS);
    CU_ASSERT_EQUAL(dm_node_recovery(node(c, 1), NULL), DM_RECOVERY_QUIET);
    dm_cluster_free(c);
}

/* With one member there is no quorum without it: nothing can vouch for a
 * token floor, so it must never grant (and says why). */
static void test_single_member_without_state_never_grants(void)
{
    dm_cluster *c = cluster(1, 45);
    dm_cluster_wipe(c, 0);
    dm_cluster_restart(c, 0);
    run_for(c, 10 * SEC);
    CU_ASSERT_EQUAL(dm_node_recovery(node(c, 0), NULL), DM_RECOVERY_FLOOR);
    CU_ASSERT_EQUAL(lock_(c, 0, "x", SEC, NULL), -DM_ERECOVERING);
    dm_cluster_free(c);
}

/* A recovering member's counter proves nothing: a recovering node routes
 * around it, and when nothing else is left it waits rather than take its
 * word. */
static void test_recovering_members_are_not_counted(void)
{
    dm_cluster *c = cluster(3, 46);
    dm_world *w = dm_cluster_world(c);
    CU_ASSERT_TRUE_FATAL(acquire(c, 1, "t", 5 * SEC));
    uint64_t t = dm_node_token(node(c, 1), "t");
    CU_ASSERT_EQUAL(unlock(c, 1, "t"), 0);
    run_for(c, 10 * MS);
    size_t saved_len;
    const uint8_t *p = dm_world_persisted(w, 1, &saved_len);
    guint8 *saved = g_memdup2(p, saved_len);
    /* Nodes 0 and 1 lose their disks. Every quorum of three holds two of
     * them: one without 0 holds 1 and one without 1 holds 0, so each needs
     * the other, which is recovering. */
    dm_cluster_wipe(c, 0);
    dm_cluster_restart(c, 0);
    dm_cluster_wipe(c, 1);
    dm_cluster_restart(c, 1);
    run_for(c, 5 * SEC);
    CU_ASSERT_EQUAL(dm_node_recovery(node(c, 0), NULL), DM_RECOVERY_FLOOR);
    CU_ASSERT_EQUAL(dm_node_recovery(node(c, 1), NULL), DM_RECOVERY_FLOOR);
    /* Node 1's disk comes back: restarted with its state, it vouches (its
     * counter survived), so node 0 finishes too. */
    dm_cluster_crash(c, 1);
    CU_ASSERT_EQUAL(dm_world_set_persisted(w, 1, saved, saved_len), 0);
    g_free(saved);
    dm_cluster_restart(c, 1);
    run_for(c, 100 * MS);
    CU_ASSERT_EQUAL(dm_node_recovery(node(c, 1), NULL), DM_RECOVERY_QUIET);
    CU_ASSERT_NOT_EQUAL(dm_node_recovery(node(c, 0), NULL), DM_RECOVERY_FLOOR);
    run_for(c, 3 * dm_cluster_cfg(c)->core.lease_us);
    CU_ASSERT_TRUE(acquire(c, 0, "t", 5 * SEC));
    CU_ASSERT(dm_node_token(node(c, 0), "t") > t);
    CU_ASSERT(dm_cluster_ok(c));
    dm_cluster_free(c);
}

/* Issue 9's liveness cliff: a round trip above twice the initial timeout
 * (one-way 210 ms, rpc_timeout 200 ms). Fence rounds used to be re-formed
 * and every older KEPT dropped, forever. */
static void test_round_trip_above_initial_timeout(void)
{
    dm_sim_config cfg;
    base_config(&cfg, 5, 47);
    cfg.net.latency_us = 210 * MS;
    cfg.net.jitter_us = 2 * MS;
    dm_cluster *c = start(&cfg);
    /* A remote member of node 0's quorum: the timeout towards it follows. */
    uint32_t q[MAX_NODES], peer = UINT32_MAX;
    int size = quorum_of(c, 0, "w", q);
    for (int k = 0; k < size; k++)
        if (q[k] != 0)
            peer = q[k];
    CU_ASSERT_FATAL(peer < 5);
    for (uint32_t who = 0; who < 5; who++) {
        CU_ASSERT_EQUAL(lock_(c, who, "w", 20 * SEC, NULL), 0);
        run_for(c, 5 * SEC);
        CU_ASSERT_TRUE(holds(c, who, "w"));
        CU_ASSERT_EQUAL(unlock(c, who, "w"), 0);
        run_for(c, 1 * SEC);
    }
    CU_ASSERT_EQUAL(events_of(c, DM_CLUSTER_ALL, DM_EV_FAILED), 0);
    CU_ASSERT(dm_cluster_ok(c));
    /* The timeout followed the path: above the round trip, below the cap. */
    int64_t rto = dm_node_rto(node(c, 0), peer);
    CU_ASSERT(dm_node_srtt(node(c, 0), peer) >= 420 * MS);
    CU_ASSERT(rto > 420 * MS && rto <= dm_node_holder_lease(node(c, 0)) / 3);
    dm_cluster_free(c);
}

/* A waiting requester does not keep re-sending REQUEST to an arbiter that
 * already answered: it backs off (the arbiter's INQUIRE does the waiting). */
static void test_answered_arbiter_is_not_asked_again_and_again(void)
{
    dm_cluster *c = cluster(3, 48);
    uint32_t root, holder, waiter;
    three_roles(c, "h", &root, &holder, &waiter);
    CU_ASSERT_TRUE_FATAL(acquire(c, holder, "h", 5 * SEC));
    CU_ASSERT_EQUAL(lock_(c, waiter, "h", 60 * SEC, NULL), 0);
    run_for(c, 30 * SEC);                 /* the holder renews all along */
    CU_ASSERT_TRUE(holds(c, holder, "h"));
    /* Re-sent every 2 x rpc_timeout (400 ms) before: 75 in 30 s. */
    CU_ASSERT(dm_cluster_sent(c, waiter, root, DM_MSG_REQUEST) <= 20);
    CU_ASSERT_EQUAL(unlock(c, holder, "h"), 0);
    run_for(c, 100 * MS);
    CU_ASSERT_TRUE(holds(c, waiter, "h"));
    dm_cluster_free(c);
}

/* Outcomes carry their attempt: lock() in the very microsecond of the
 * previous attempt's deadline starts a new attempt before the old one's
 * FAILED is delivered, and the two must not be confused. */
static void test_outcome_names_its_attempt(void)
{
    dm_cluster *c = cluster(3, 49);
    CU_ASSERT_TRUE_FATAL(acquire(c, 0, "s", 5 * SEC));
    uint64_t first = 0, second = 0;
    CU_ASSERT_EQUAL(lock_(c, 2, "s", 300 * MS, &first), 0);
    int64_t deadline = now(c) + 300 * MS;
    dm_cluster_run_until(c, deadline - 1);
    CU_ASSERT_EQUAL(events_of(c, DM_CLUSTER_ALL, DM_EV_FAILED), 0);
    /* At the deadline, before the node's tick there runs. */
    CU_ASSERT_EQUAL_FATAL(dm_world_advance(dm_cluster_world(c), deadline), 0);
    CU_ASSERT_EQUAL(lock_(c, 2, "s", 5 * SEC, &second), 0);
    CU_ASSERT(second > first);
    CU_ASSERT_EQUAL(events_of(c, DM_CLUSTER_ALL, DM_EV_FAILED), 0);   /* not from inside lock() */
    dm_cluster_run_until(c, deadline);
    CU_ASSERT_EQUAL(events_of(c, DM_CLUSTER_ALL, DM_EV_FAILED), 1);
    CU_ASSERT_EQUAL(dm_cluster_outcome(c, 2, first), DM_EV_FAILED);   /* not the one in progress */
    CU_ASSERT_EQUAL(dm_cluster_outcome(c, 2, second), 0);
    CU_ASSERT_EQUAL(unlock(c, 0, "s"), 0);
    run_for(c, 100 * MS);
    CU_ASSERT_TRUE(holds(c, 2, "s"));
    CU_ASSERT_EQUAL(dm_cluster_outcome(c, 2, second), DM_EV_GRANTED);
    CU_ASSERT(dm_cluster_ok(c));
    dm_cluster_free(c);
}

/* An arbiter that remembers an attempt id of ours from an earlier life
 * (lost with our state) tells us, and we move past it. */
static void test_earlier_life_attempt_ids_are_skipped(void)
{
    dm_cluster *c = cluster(3, 50);
    dm_msg m = peer_msg(DM_MSG_FAILED, 1, 0, "e");
    m.attempt = (uint64_t)7 << 32 | 12;
    CU_ASSERT_EQUAL(dm_cluster_inject(c, 0, &m), 0);
    uint64_t id = 0;
    CU_ASSERT_EQUAL(lock_(c, 0, "e", SEC, &id), 0);
    CU_ASSERT(id > m.attempt);
    /* And an arbiter answers a REQUEST from an older epoch than one it saw
     * finish with the id it remembers. */
    run_for(c, 100 * MS);
    CU_ASSERT_TRUE(holds(c, 0, "e"));
    CU_ASSERT_EQUAL(unlock(c, 0, "e"), 0);
    run_for(c, 100 * MS);
    /* An arbiter of "e" for node 0 other than itself (names are placed). */
    uint32_t q[MAX_NODES], arb = 0;
    int size = quorum_of(c, 0, "e", q);
    for (int i = 0; i < size && arb == 0; i++)
        arb = q[i];
    CU_ASSERT_NOT_EQUAL_FATAL(arb, 0);
    dm_msg old = peer_msg(DM_MSG_REQUEST, 0, arb, "e");
    old.attempt = (uint64_t)1 << 32 | 1;
    old.value = 1;
    uint64_t before = dm_node_get_stats(node(c, arb))->sent[DM_MSG_FAILED];
    CU_ASSERT_EQUAL(dm_cluster_inject(c, arb, &old), 0);
    CU_ASSERT_EQUAL(dm_node_get_stats(node(c, arb))->sent[DM_MSG_FAILED], before + 1);
    dm_cluster_free(c);
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
    dm_cluster *c = cluster(3, 51);
    uint64_t ida = 0;
    CU_ASSERT_EQUAL(lock_(c, 0, "a", SEC, &ida), 0);
    CU_ASSERT_TRUE_FATAL(acquire(c, 0, "b", SEC));
    CU_ASSERT_TRUE_FATAL(holds(c, 0, "a"));
    seen_held s = { 0 };
    CU_ASSERT_EQUAL(dm_node_foreach_held(node(c, 0), note_held, &s), 0);
    CU_ASSERT_EQUAL(s.count, 2);
    CU_ASSERT(s.saw_a && s.saw_b);
    CU_ASSERT_EQUAL(s.token_sum, dm_node_token(node(c, 0), "a") + dm_node_token(node(c, 0), "b"));
    CU_ASSERT_EQUAL(dm_node_held_attempt(node(c, 0), "a"), ida);
    int calls = 0;
    CU_ASSERT_EQUAL(dm_node_foreach_held(node(c, 0), stop_at_first, &calls), 7);
    CU_ASSERT_EQUAL(calls, 1);
    CU_ASSERT_EQUAL(unlock(c, 0, "a"), 0);
    CU_ASSERT_EQUAL(dm_node_held_attempt(node(c, 0), "a"), 0);
    memset(&s, 0, sizeof s);
    dm_node_foreach_held(node(c, 0), note_held, &s);
    CU_ASSERT(s.count == 1 && s.saw_b && !s.saw_a);
    seen_held none = { 0 };
    dm_node_foreach_held(node(c, 1), note_held, &none);
    CU_ASSERT_EQUAL(none.count, 0);
    dm_cluster_free(c);
}

static void test_tokens_increase_across_random_restarts(void)
{
    for (uint64_t seed = 1; seed <= 3; seed++) {
        dm_sim_config cfg;
        base_config(&cfg, 7, 100 + seed);
        random_order(&cfg, 0.05, 0);
        contenders(&cfg, 8 * SEC);
        cfg.core.token_stride = 4;   /* persist often: restarts land mid-stride */
        dm_cluster *c = start(&cfg);
        dm_prng rng;
        dm_prng_seed(&rng, seed);
        int64_t limit = now(c) + 3600 * (int64_t)SEC;
        while (stats(c)->acquisitions < 1000 && now(c) < limit) {
            dm_cluster_run_for(c, 1 * SEC + (int64_t)dm_prng_below(&rng, 3 * SEC));
            dm_cluster_restart(c, (uint32_t)dm_prng_below(&rng, 7));
        }
        CU_ASSERT(stats(c)->acquisitions >= 1000);
        CU_ASSERT(stats(c)->restarts > 0);
        CU_ASSERT(dm_cluster_ok(c));   /* token order and exclusion */
        dm_cluster_free(c);
    }
}

/* ------------------------------------------------------------------ input */

static void test_bad_input_is_rejected_and_counted(void)
{
    dm_cluster *c = cluster(3, 15);
    dm_msg m = peer_msg(DM_MSG_GRANT, 1, 0, "x");
    m.clock = 0;
    m.attempt = 1;
    m.grant = 1;
    m.to = 2;
    CU_ASSERT_EQUAL(dm_cluster_inject(c, 0, &m), -DM_EPEER);   /* not for us */
    m.to = 0;
    m.from = 7;
    CU_ASSERT(dm_cluster_inject(c, 0, &m) < 0);                /* not a member */
    m.from = 1;
    m.type = 77;
    CU_ASSERT(dm_cluster_inject(c, 0, &m) < 0);
    CU_ASSERT_EQUAL(dm_node_get_stats(node(c, 0))->rejected, 3);
    /* A stray grant for an attempt we never made is answered by RELEASE. */
    m.type = DM_MSG_GRANT;
    CU_ASSERT_EQUAL(dm_cluster_inject(c, 0, &m), 0);
    CU_ASSERT_EQUAL(dm_cluster_sent(c, 0, DM_CLUSTER_ALL, DM_MSG_RELEASE), 1);
    dm_cluster_free(c);
}

/* Idle lock names are forgotten after a while; names still in use stay
 * found while their neighbours in the lookup index are removed around them
 * (every third is kept held: with this many names, some were displaced
 * past one that goes). */
static void test_idle_names_are_collected(void)
{
    dm_cluster *c = cluster(3, 16);
    char name[16];
    for (int i = 0; i < 200; i++) {
        g_snprintf(name, sizeof name, "n%d", i);
        CU_ASSERT_EQUAL(lock_(c, 1, name, SEC, NULL), 0);
        run_for(c, 20 * MS);
        if (i % 3 != 0)
            CU_ASSERT_EQUAL(unlock(c, 1, name), 0);
    }
    CU_ASSERT(dm_node_lock_count(node(c, 1)) >= 200);
    run_for(c, 3 * dm_cluster_cfg(c)->core.lease_us);
    CU_ASSERT_EQUAL(dm_node_lock_count(node(c, 1)), 67);
    for (int i = 0; i < 200; i += 3) {
        g_snprintf(name, sizeof name, "n%d", i);
        CU_ASSERT(dm_node_holds(node(c, 1), name));
        CU_ASSERT_EQUAL(unlock(c, 1, name), 0);
    }
    run_for(c, 3 * dm_cluster_cfg(c)->core.lease_us);
    for (uint32_t i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(dm_node_lock_count(node(c, i)), 0);
    dm_cluster_free(c);
}

/* ------------------------------------------------------------------ membership */

static dm_cluster *swim_cluster(uint32_t n, uint64_t seed, const dm_policy_ops *policy)
{
    dm_sim_config cfg;
    base_config(&cfg, n, seed);
    with_membership(&cfg, policy);
    return start(&cfg);
}

static bool trees_agree(const dm_cluster *c, uint32_t size)
{
    for (uint32_t i = 0; i < dm_cluster_size(c); i++)
        if (node(c, i) && dm_quorum_count(dm_node_quorum_system(node(c, i))) != size)
            return false;
    return true;
}

/* Under MEMBERLIST a death rebuilds every live node's tree over the view, and
 * a rejoin rebuilds it again; under AE the tree never changes. */
static void test_memberlist_rebuilds_tree_on_view_change(void)
{
    for (size_t k = 0; k < dm_policy_builtin_count(); k++) {
        const dm_policy_ops *policy = dm_policy_builtin(k);
        dm_cluster *c = swim_cluster(7, 20, policy);
        uint64_t before = dm_node_view_hash(node(c, 0));
        run_for(c, 2 * SEC);
        for (uint32_t i = 1; i < 7; i++)
            CU_ASSERT_EQUAL(dm_cluster_member_events(c, 0, i, DM_MEMBER_EV_JOIN), 1);
        dm_cluster_crash(c, 3);
        run_for(c, 20 * SEC);
        /* memberlist rebuilds on its own view, epoch through an agreed
         * configuration; ae never. */
        bool rebuilds = policy == &dm_policy_memberlist_ops || policy->epochs;
        uint32_t expect = rebuilds ? 6 : 7;
        CU_ASSERT_TRUE(trees_agree(c, expect));
        for (uint32_t i = 0; i < 7; i++) {
            if (!node(c, i))
                continue;
            CU_ASSERT_FALSE(dm_membership_in_view(dm_cluster_membership(c, i), 3));
            CU_ASSERT(dm_cluster_member_events(c, i, DM_CLUSTER_ALL, DM_MEMBER_EV_DEAD) >= 1);
            CU_ASSERT(events_of(c, i, DM_EV_VIEW) >= 1);
        }
        CU_ASSERT_EQUAL(dm_node_view_hash(node(c, 0)) != before, rebuilds);
        dm_cluster_restart(c, 3);
        run_for(c, 20 * SEC);
        CU_ASSERT_TRUE(trees_agree(c, 7));
        CU_ASSERT_EQUAL(dm_node_view_hash(node(c, 0)), before);
        CU_ASSERT_EQUAL(dm_cluster_contract_errors(c), 0);
        dm_cluster_free(c);
    }
}

/* Contention across deaths and returns under both policies: views change
 * while attempts are in flight (a view change re-forms quorums, which once
 * left deadlines in the past: the world counts a deadline still due after a
 * tick). AE stays safe; MEMBERLIST's safety is the simulator's subject, not
 * this one's. */
static void test_contention_across_view_changes(void)
{
    for (size_t k = 0; k < dm_policy_builtin_count(); k++) {
        const dm_policy_ops *policy = dm_policy_builtin(k);
        dm_sim_config cfg;
        base_config(&cfg, 7, 25);
        with_membership(&cfg, policy);
        random_order(&cfg, 0.02, 0);
        contenders(&cfg, 5 * SEC);
        dm_cluster *c = start(&cfg);
        for (int round = 0; round < 3; round++) {
            uint32_t victim = 1 + (uint32_t)round * 2;
            run_for(c, 3 * SEC);
            dm_cluster_crash(c, victim);
            run_for(c, 15 * SEC);
            dm_cluster_restart(c, victim);
        }
        run_for(c, 15 * SEC);
        CU_ASSERT(stats(c)->acquisitions > 100);
        CU_ASSERT_EQUAL(stats(c)->stuck_ticks, 0);
        if (policy != &dm_policy_memberlist_ops)
            CU_ASSERT(dm_cluster_ok(c));
        dm_cluster_free(c);
    }
}

/* Under AE a member SWIM declared dead is substituted at once: the lock does
 * not wait for a request timeout to discover the dead root. */
static void test_ae_avoids_members_swim_declared_dead(void)
{
    dm_cluster *c = swim_cluster(7, 21, &dm_policy_ae_ops);
    uint32_t root = common_arbiter(c, "a");
    CU_ASSERT_FATAL(root < 7);
    uint32_t other = root == 0 ? 6 : 0;
    dm_cluster_crash(c, root);
    run_for(c, 20 * SEC);
    CU_ASSERT_FALSE(dm_membership_is_alive(dm_cluster_membership(c, other), root));
    CU_ASSERT_EQUAL(lock_(c, other, "a", 5 * SEC, NULL), 0);
    /* Well inside one rpc timeout: no time was spent waiting on the root. */
    run_for(c, dm_cluster_cfg(c)->core.rpc_timeout_us / 2);
    CU_ASSERT_TRUE(holds(c, other, "a"));
    CU_ASSERT_EQUAL(sent_to(c, root, DM_MSG_REQUEST), 0);
    dm_cluster_free(c);
}

/* A restarted node comes back with a higher incarnation than it had. */
static void test_incarnation_survives_restart(void)
{
    dm_cluster *c = swim_cluster(3, 22, &dm_policy_ae_ops);
    run_for(c, 2 * SEC);
    uint32_t before = dm_membership_incarnation(dm_cluster_membership(c, 1));
    dm_cluster_restart(c, 1);
    CU_ASSERT(dm_membership_incarnation(dm_cluster_membership(c, 1)) > before);
    run_for(c, 5 * SEC);
    dm_member_info info;
    dm_membership_info(dm_cluster_membership(c, 0), 1, &info);
    CU_ASSERT_EQUAL(info.state, DM_MEMBER_ALIVE);
    CU_ASSERT(info.incarnation > before);
    dm_cluster_free(c);
}

/* Leaving releases what the node holds, fails what it is acquiring, and
 * the others see LEFT, not DEAD. */
static void test_leave(void)
{
    dm_cluster *c = swim_cluster(5, 23, &dm_policy_ae_ops);
    CU_ASSERT_EQUAL(lock_(c, 2, "held", 5 * SEC, NULL), 0);
    run_for(c, 200 * MS);
    CU_ASSERT_TRUE_FATAL(holds(c, 2, "held"));
    CU_ASSERT_EQUAL(dm_cluster_leave(c, 2), 0);
    CU_ASSERT_FALSE(holds(c, 2, "held"));
    CU_ASSERT_EQUAL(lock_(c, 2, "x", SEC, NULL), -DM_ESHUTDOWN);
    CU_ASSERT_EQUAL(lock_(c, 0, "held", 5 * SEC, NULL), 0);
    run_for(c, 5 * SEC);
    CU_ASSERT_TRUE(holds(c, 0, "held"));
    for (uint32_t i = 0; i < 5; i++) {
        if (i == 2)
            continue;
        CU_ASSERT_EQUAL(dm_cluster_member_events(c, i, DM_CLUSTER_ALL, DM_MEMBER_EV_DEAD), 0);
        CU_ASSERT_EQUAL(dm_cluster_member_events(c, i, DM_CLUSTER_ALL, DM_MEMBER_EV_LEFT), 1);
    }
    CU_ASSERT(dm_cluster_ok(c));
    dm_cluster_free(c);
}

/* A node without SWIM rejects membership traffic as bad input. */
static void test_membership_off_rejects_swim(void)
{
    dm_cluster *c = cluster(3, 24);
    dm_msg m = peer_msg(DM_MSG_PING, 1, 0, NULL);
    m.clock = 0;
    m.value = 1;
    CU_ASSERT_EQUAL(dm_cluster_inject(c, 0, &m), -DM_ETYPE);
    CU_ASSERT_EQUAL(dm_node_get_stats(node(c, 0))->rejected, 1);
    CU_ASSERT_PTR_NULL(dm_cluster_membership(c, 0));
    dm_cluster_free(c);
}

/* A node of one member, driven by hand: every message is local, so its
 * renewal happens inside whatever call finds it due. */
typedef struct solo_events {
    GArray *types;       /* dm_event_type, in delivery order */
} solo_events;

static void solo_send(void *user, const dm_msg *m)
{
    (void)user;
    (void)m;
    CU_FAIL("a node of one member sent a message over the network");
}

static void solo_notify(void *user, const dm_event *ev)
{
    solo_events *s = user;
    g_array_append_val(s->types, ev->type);
}

static int solo_persist(void *user, const void *b, size_t len)
{
    (void)user;
    (void)b;
    (void)len;
    return 0;
}

/* unlock() in the very instant a renewal falls due: the renewal runs inside
 * unlock() before the release, and its RENEWED used to stay queued and be
 * delivered at the next input -- for a lock the application had just given
 * up (the simulator counted an API error: dmutex-sim --seed 21984 --faults
 * swarm --set workload.locks=16). Nothing about an attempt is reported after
 * the application ended it. */
static void test_no_renewal_after_unlock(void)
{
    static const dm_driver drv = { solo_send, solo_notify, solo_persist };
    solo_events s = { g_array_new(FALSE, FALSE, sizeof(dm_event_type)) };
    dm_config cfg;
    dm_config_defaults(&cfg);
    cfg.n_members = 1;
    cfg.membership = false;
    cfg.bootstrap = true;
    cfg.lease_us = 3 * SEC;
    dm_node *n = NULL;
    CU_ASSERT_EQUAL_FATAL(dm_node_new(&cfg, &drv, &s, 0, NULL, 0, &n), 0);
    CU_ASSERT_EQUAL(dm_node_lock(n, 0, "u", SEC, NULL), 0);
    dm_node_tick(n, 0);
    CU_ASSERT_TRUE_FATAL(dm_node_holds(n, "u"));
    /* Two renewals the ordinary way, then unlock exactly at the third. */
    int64_t now = 0;
    for (int k = 0; k < 2; k++) {
        now = dm_node_next_deadline(n);
        dm_node_tick(n, now);
    }
    guint renewed = 0;
    for (guint i = 0; i < s.types->len; i++)
        renewed += g_array_index(s.types, dm_event_type, i) == DM_EV_RENEWED;
    CU_ASSERT_EQUAL(renewed, 2);
    now = dm_node_next_deadline(n);
    guint before = s.types->len;
    CU_ASSERT_EQUAL(dm_node_unlock(n, now, "u"), 0);
    dm_node_tick(n, now);
    dm_node_tick(n, now + SEC);
    CU_ASSERT_EQUAL(s.types->len, before);
    CU_ASSERT_FALSE(dm_node_holds(n, "u"));
    dm_node_free(n);
    g_array_free(s.types, TRUE);
}


/* ------------------------------------------------------------------ grant_cache */

/* A cluster whose nodes keep uncontended grants after an unlock. */
static dm_cluster *cache_cluster(uint32_t n, uint64_t seed)
{
    dm_sim_config cfg;
    base_config(&cfg, n, seed);
    cfg.core.grant_cache = true;
    return start(&cfg);
}

/* The token of node i's latest GRANTED for `attempt`, 0: none. */
static uint64_t granted_token(const dm_cluster *c, uint32_t i, uint64_t attempt)
{
    const dm_cluster_event *e = event_for(c, i, DM_EV_GRANTED, attempt);
    return e ? e->token : 0;
}

/* A re-lock while the grants are kept costs no message at all, is reported
 * GRANTED under a new attempt id with the next token, and the kept grants
 * are released once nobody re-used them for grant_cache_idle. */
static void test_grant_cache_relock_is_free(void)
{
    dm_cluster *c = cache_cluster(5, 7);
    uint32_t who = 0, q[MAX_NODES];
    int k = quorum_of(c, who, "a", q);
    CU_ASSERT_FATAL(k > 1);
    uint64_t remote = (uint64_t)k - 1, id = 0, prev = 0;
    /* Other names locked first leave the quorum's counters unlike, so the
     * fence round KEEPs the members whose grant id is below the token:
     * their reservation must follow the token (arb_keep), or no quorum
     * with unlike counters would ever keep its grants. */
    uint32_t member = q[0] == who ? q[1] : q[0];   /* a remote member */
    for (uint32_t i = 0; i < 3; i++) {
        char other[8];
        g_snprintf(other, sizeof other, "w%u", i);
        CU_ASSERT_TRUE_FATAL(acquire(c, member, other, 5 * SEC));
        CU_ASSERT_EQUAL(unlock(c, member, other), 0);
    }
    run_for(c, dm_cluster_cfg(c)->core.grant_cache_idle_us + 50 * MS);
    uint64_t keeps = sent(c, DM_MSG_KEEP), grants = sent(c, DM_MSG_GRANT_RESERVED);
    CU_ASSERT_EQUAL_FATAL(lock_(c, who, "a", 10 * SEC, &id), 0);
    run_for(c, 100 * MS);
    CU_ASSERT_TRUE_FATAL(holds(c, who, "a"));
    CU_ASSERT(sent(c, DM_MSG_KEEP) > keeps);
    uint64_t token = granted_token(c, who, id);
    CU_ASSERT(token > 0);
    /* Every arbiter reserved tokens for it; none was sent a plain GRANT. */
    CU_ASSERT_EQUAL(sent(c, DM_MSG_GRANT_RESERVED) - grants, remote);
    CU_ASSERT_EQUAL(sent(c, DM_MSG_GRANT), 0);
    uint64_t releases = sent(c, DM_MSG_RELEASE);
    for (int r = 1; r <= 5; r++) {
        CU_ASSERT_EQUAL(unlock(c, who, "a"), 0);
        CU_ASSERT_FALSE(holds(c, who, "a"));   /* kept, not held */
        run_for(c, 10 * MS);
        uint64_t before = dm_cluster_sent_all(c);
        prev = id;
        CU_ASSERT_EQUAL_FATAL(lock_(c, who, "a", 10 * SEC, &id), 0);
        CU_ASSERT(id > prev);
        run_for(c, 1 * MS);
        CU_ASSERT_TRUE(holds(c, who, "a"));
        CU_ASSERT_EQUAL(dm_cluster_outcome(c, who, id), DM_EV_GRANTED);
        CU_ASSERT_EQUAL(granted_token(c, who, id), token + (uint64_t)r);
        CU_ASSERT_EQUAL(dm_cluster_sent_all(c), before);   /* not one message */
    }
    CU_ASSERT_EQUAL(dm_node_get_stats(node(c, who))->cache_reuses, 5);
    CU_ASSERT_EQUAL(unlock(c, who, "a"), 0);
    CU_ASSERT_EQUAL(sent(c, DM_MSG_RELEASE), releases);
    /* Not re-used within grant_cache_idle: released as an unlock would. */
    run_for(c, dm_cluster_cfg(c)->core.grant_cache_idle_us + 50 * MS);
    CU_ASSERT_EQUAL(sent(c, DM_MSG_RELEASE) - releases, remote);
    for (uint32_t i = 0; i < 5; i++) {
        dm_arbiter_info info;
        dm_node_arbiter_info(node(c, i), "a", &info);
        CU_ASSERT_FALSE(info.granted);
    }
    /* The next lock is a fresh acquisition, with a token above the kept ones. */
    CU_ASSERT_EQUAL_FATAL(lock_(c, who, "a", 10 * SEC, &id), 0);
    run_for(c, 100 * MS);
    CU_ASSERT(granted_token(c, who, id) > token + 5);
    CU_ASSERT(dm_cluster_ok(c));
    dm_cluster_free(c);
}

/* Another node's request ends the kept grants at once: the arbiter that
 * granted with a reservation INQUIREs at once, not after a timeout, the
 * keeper answers RELEASE, and the other node is granted within a few hops
 * with a token above every re-used one. */
static void test_grant_cache_inquire_releases(void)
{
    dm_cluster *c = cache_cluster(3, 11);
    uint32_t root, first, second;
    three_roles(c, "x", &root, &first, &second);
    uint64_t id = 0;
    CU_ASSERT_TRUE_FATAL(acquire(c, first, "x", 5 * SEC));
    CU_ASSERT_EQUAL(unlock(c, first, "x"), 0);
    CU_ASSERT_EQUAL_FATAL(lock_(c, first, "x", 5 * SEC, &id), 0);   /* re-used */
    run_for(c, 1 * MS);
    uint64_t reused = granted_token(c, first, id);
    CU_ASSERT(reused > 0 && holds(c, first, "x"));
    CU_ASSERT_EQUAL(unlock(c, first, "x"), 0);
    run_for(c, 5 * MS);
    CU_ASSERT_EQUAL(sent(c, DM_MSG_INQUIRE), 0);
    CU_ASSERT_EQUAL(sent(c, DM_MSG_RELEASE), 0);
    int64_t asked = now(c);
    CU_ASSERT_EQUAL_FATAL(lock_(c, second, "x", 5 * SEC, &id), 0);
    int64_t at = granted_at(c, second, "x", now(c) + 5 * SEC);
    CU_ASSERT(at >= 0);
    CU_ASSERT(dm_cluster_sent(c, root, first, DM_MSG_INQUIRE) >= 1 ||
              (root == first && sent(c, DM_MSG_INQUIRE) == 0));
    CU_ASSERT(dm_cluster_sent(c, first, root, DM_MSG_RELEASE) >= 1 || root == first);
    /* REQUEST, FAILED, INQUIRE, RELEASE, GRANT: hops of 1 ms, far below the
     * initial timeout after which a waiter is otherwise probed for. */
    CU_ASSERT(at - asked < dm_cluster_cfg(c)->core.rpc_timeout_us / 2);
    CU_ASSERT(granted_token(c, second, id) > reused);
    CU_ASSERT(dm_node_get_stats(node(c, first))->cache_releases >= 1);
    CU_ASSERT(dm_cluster_ok(c));
    dm_cluster_free(c);
}

/* A holder that re-used kept grants crashes: the next holder's token is
 * above every token it re-used. The arbiters' reservations are what makes
 * it so (without them the next holder's quorum member would grant the next
 * id of its counter, which a re-use already took: the checker's token
 * violation). */
static void test_grant_cache_crash_keeps_tokens_increasing(void)
{
    for (uint64_t seed = 1; seed <= 4; seed++) {
        dm_cluster *c = cache_cluster(3, seed);
        uint32_t root, first, second;
        three_roles(c, "c", &root, &first, &second);
        uint64_t id = 0, last = 0;
        CU_ASSERT_TRUE_FATAL(acquire(c, first, "c", 5 * SEC));
        for (int r = 0; r < 3; r++) {
            CU_ASSERT_EQUAL(unlock(c, first, "c"), 0);
            run_for(c, 2 * MS);
            CU_ASSERT_EQUAL_FATAL(lock_(c, first, "c", 5 * SEC, &id), 0);
            run_for(c, 1 * MS);
            CU_ASSERT_TRUE(holds(c, first, "c"));
            last = granted_token(c, first, id);
        }
        CU_ASSERT_EQUAL(dm_node_get_stats(node(c, first))->cache_reuses, 3);
        dm_cluster_crash(c, first);
        CU_ASSERT_EQUAL_FATAL(lock_(c, second, "c", 20 * SEC, &id), 0);
        CU_ASSERT(granted_at(c, second, "c", now(c) + 15 * SEC) >= 0);
        CU_ASSERT(granted_token(c, second, id) > last);
        CU_ASSERT(dm_cluster_ok(c));
        dm_cluster_free(c);
    }
}

/* A try-lock against kept grants: the keeper is no holder, so the try
 * gets the lock -- at once where the shared arbiter asks the keeper to
 * yield, or after one HELD where the keeper had announced its token there
 * (the arbiter probes it, and it releases): at the latest the second try. */
static void test_grant_cache_try_lock(void)
{
    uint64_t held = 0;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        dm_cluster *c = cache_cluster(5, seed);
        uint64_t id = 0;
        /* Other names first: unlike counters, so that the fence round
         * KEEPs some member, which then answers a try HELD. */
        for (uint32_t i = 0; i < 5; i++) {
            char other[8];
            g_snprintf(other, sizeof other, "w%u", i);
            CU_ASSERT_TRUE_FATAL(acquire(c, i, other, 5 * SEC));
            CU_ASSERT_EQUAL(unlock(c, i, other), 0);
        }
        run_for(c, dm_cluster_cfg(c)->core.grant_cache_idle_us + 50 * MS);
        CU_ASSERT_TRUE_FATAL(acquire(c, 1, "t", 5 * SEC));
        CU_ASSERT_EQUAL(unlock(c, 1, "t"), 0);
        run_for(c, 5 * MS);
        bool got = false;
        for (int k = 0; k < 2 && !got; k++) {
            CU_ASSERT_EQUAL_FATAL(dm_cluster_try_lock(c, 3, "t", 5 * SEC, &id), 0);
            dm_cluster_step_until(c, pred_outcome_of, &(struct outcome_wait){ 3, id },
                                  now(c) + 5 * SEC, 0);
            got = dm_cluster_outcome(c, 3, id) == DM_EV_GRANTED;
            CU_ASSERT(got || failed_reason(c, 3, id) == -DM_EHELD);
        }
        CU_ASSERT_TRUE(got && holds(c, 3, "t"));
        held += sent(c, DM_MSG_HELD);
        CU_ASSERT(dm_cluster_ok(c));
        dm_cluster_free(c);
    }
    CU_ASSERT(held > 0);   /* the second way was taken */
}

/* A holder re-uses kept grants and crashes, and the one arbiter its quorum
 * shares with another node's loses its disk and restarts: the floor it
 * recovers from a quorum without itself is above every re-used token (the
 * members' counters hold the reservations), so the other node's token is
 * too. Fails without the reservation (the checker's token violation). */
static void test_grant_cache_wiped_arbiter_floor(void)
{
    dm_sim_config cfg;
    base_config(&cfg, 5, 41);
    cfg.core.grant_cache = true;
    dm_cluster *c = start(&cfg);
    uint32_t root = common_arbiter(c, "L"), first = 0, other = 0;
    CU_ASSERT_FATAL(root < 5);
    CU_ASSERT_FATAL(pair_through(c, "L", root, &first, &other));
    uint64_t id = 0, last = 0;
    CU_ASSERT_TRUE_FATAL(acquire(c, first, "L", 5 * SEC));
    for (int r = 0; r < 3; r++) {
        CU_ASSERT_EQUAL(unlock(c, first, "L"), 0);
        run_for(c, 2 * MS);
        CU_ASSERT_EQUAL_FATAL(lock_(c, first, "L", 5 * SEC, &id), 0);
        run_for(c, 1 * MS);
        last = granted_token(c, first, id);
    }
    CU_ASSERT_EQUAL(dm_node_get_stats(node(c, first))->cache_reuses, 3);
    dm_cluster_crash(c, first);
    dm_cluster_wipe(c, root);
    dm_cluster_restart(c, root);
    CU_ASSERT_EQUAL_FATAL(lock_(c, other, "L", 20 * SEC, &id), 0);
    run_for(c, 8 * SEC);
    CU_ASSERT(granted_token(c, other, id) > last);
    CU_ASSERT(dm_cluster_sent(c, root, DM_CLUSTER_ALL, DM_MSG_RECOVER) >= 1);
    CU_ASSERT(dm_cluster_ok(c));
    dm_cluster_free(c);
}

/* Contention with the cache on: every node wants the name all the time
 * (the workload's clients), with jitter and duplicates; mutual exclusion,
 * token order and progress as without it. */
static void test_grant_cache_contention(void)
{
    dm_sim_config cfg;
    base_config(&cfg, 5, 3);
    random_order(&cfg, 0.05, 0);
    contenders(&cfg, 60 * SEC);
    cfg.core.grant_cache = true;
    dm_cluster *c = start(&cfg);
    contend_until(c, 300);
    CU_ASSERT(stats(c)->acquisitions >= 300);
    CU_ASSERT(dm_cluster_ok(c));
    dm_cluster_free(c);
}

static const CU_TestInfo tests[] = {
    { "no renewal reported after unlock", test_no_renewal_after_unlock },
    { "lone requester costs 3(K-1) messages", test_lone_requester_cost },
    { "contention FIFO and random order", test_contention_fifo_and_random },
    { "no starvation", test_no_starvation },
    { "contention with loss", test_contention_with_loss },
    { "lock names are independent", test_names_are_independent },
    { "lock names of every length", test_names_of_every_length },
    { "error semantics", test_error_semantics },
    { "outcome never from inside lock()", test_outcome_not_reentrant },
    { "timeout releases collected grants", test_timeout_releases_grants },
    { "suspicion alone never blocks a lock", test_suspicion_alone_never_blocks },
    { "cancel an acquisition", test_cancel },
    { "checker catches a wrong arbiter", test_checker_catches_wrong_arbiter },
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
    { "lock delay after a crashed holder", test_lock_delay_after_crashed_holder },
    { "lock delay ended by a release", test_lock_delay_ended_by_release },
    { "try-lock", test_try_lock },
    { "try-lock during lock delay", test_try_lock_during_lock_delay },
    { "membership off rejects SWIM traffic", test_membership_off_rejects_swim },
    { "grant cache: a re-lock costs no message", test_grant_cache_relock_is_free },
    { "grant cache: another's request releases at once", test_grant_cache_inquire_releases },
    { "grant cache: tokens increase across a crash", test_grant_cache_crash_keeps_tokens_increasing },
    { "grant cache: a try-lock gets kept grants", test_grant_cache_try_lock },
    { "grant cache: a wiped arbiter's floor", test_grant_cache_wiped_arbiter_floor },
    { "grant cache: contention", test_grant_cache_contention },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return dm_test_run("node", tests);
}
