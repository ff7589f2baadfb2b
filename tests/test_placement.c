/* dmutex tests: the core's per-lock-name placement of quorum members
 * (dm_config.spread, core/quorum.h placements), seen from one node.
 *
 * What the placements must not break is recovery: a node that lost its disk
 * does not know which lock names exist, so the members it asks for a token
 * floor must include a quorum (without itself) of EVERY placement -- one
 * quorum of the system as built would miss the quorums other names use.
 * These tests drive a single node through its public API and read the
 * messages it sends; nothing else runs, so there is no network to fake.
 */
#include <glib.h>
#include <string.h>

#include "error.h"
#include "node.h"
#include "quorum.h"
#include "testlib.h"

enum { SEC = 1000000 };

typedef struct capture {
    GArray *sent;            /* dm_msg */
} capture;

static void cap_send(void *user, const dm_msg *m)
{
    g_array_append_val(((capture *)user)->sent, *m);
}

static void cap_notify(void *user, const dm_event *ev)
{
    (void)user;
    (void)ev;
}

static int cap_persist(void *user, const void *bytes, size_t len)
{
    (void)user;
    (void)bytes;
    (void)len;
    return 0;
}

static const dm_driver cap_driver = { cap_send, cap_notify, cap_persist };

/* A node of `n` members started without persisted state (a wiped disk). */
static dm_node *start_wiped(uint32_t n, uint32_t self, bool spread, capture *cap)
{
    dm_config cfg;
    dm_config_defaults(&cfg);
    cfg.n_members = n;
    cfg.self = self;
    cfg.membership = false;
    cfg.spread = spread;
    cfg.lease_us = 2 * SEC;
    cfg.seed = 99 + self;
    cap->sent = g_array_new(FALSE, FALSE, sizeof(dm_msg));
    dm_node *node = NULL;
    CU_ASSERT_EQUAL_FATAL(dm_node_new(&cfg, &cap_driver, cap, 0, NULL, 0, &node), 0);
    dm_node_tick(node, 0);
    return node;
}

/* The members asked for a floor so far (asked[i] != 0), and their count. */
static uint32_t recover_targets(const capture *cap, uint32_t n, uint8_t *asked)
{
    memset(asked, 0, n);
    uint32_t count = 0;
    for (guint i = 0; i < cap->sent->len; i++) {
        const dm_msg *m = &g_array_index(cap->sent, dm_msg, i);
        if (m->type == DM_MSG_RECOVER && !asked[m->to]) {
            asked[m->to] = 1;
            count++;
        }
    }
    return count;
}

static dm_msg floor_answer(const capture *cap, uint32_t from, uint64_t counter)
{
    const dm_msg *ask = NULL;
    for (guint i = 0; i < cap->sent->len; i++) {
        const dm_msg *m = &g_array_index(cap->sent, dm_msg, i);
        if (m->type == DM_MSG_RECOVER && m->to == from)
            ask = m;
    }
    dm_msg a;
    memset(&a, 0, sizeof a);
    a.type = DM_MSG_FLOOR;
    a.from = (uint16_t)from;
    a.to = ask ? ask->from : 0;
    a.clock = 1;
    a.value = ask ? ask->value : 0;   /* the round asked */
    a.grant = counter;
    return a;
}

/* For every cluster size and every member: the members a wiped node asks
 * contain a quorum of every placement, never the node itself. (With only
 * the system as built asked -- the rule before placements -- this fails,
 * e.g. N = 7, member 0.) */
static void test_recovery_asks_every_placement(void)
{
    static const uint32_t sizes[] = { 3, 5, 7, 9, 15, 31 };
    for (size_t s = 0; s < G_N_ELEMENTS(sizes); s++) {
        uint32_t n = sizes[s];
        for (uint32_t self = 0; self < n; self++) {
            capture cap;
            dm_node *node = start_wiped(n, self, true, &cap);
            CU_ASSERT_EQUAL(dm_node_recovery(node, NULL), DM_RECOVERY_FLOOR);
            uint8_t asked[64], unusable[64];
            CU_ASSERT_TRUE(recover_targets(&cap, n, asked) > 0);
            CU_ASSERT_FALSE(asked[self]);
            const dm_quorum *q = dm_node_quorum_system(node);
            for (uint32_t i = 0; i < n; i++)
                unusable[i] = !asked[i];
            for (uint32_t k = 0; k < dm_quorum_placements(q); k++)
                if (!dm_quorum_exists_at(q, k, unusable)) {
                    char what[96];
                    g_snprintf(what, sizeof what, "N = %u, member %u: placement %u not covered",
                               n, self, k);
                    CU_assertImplementation(CU_FALSE, __LINE__, what, __FILE__, "", CU_FALSE);
                    break;
                }
            dm_node_free(node);
            g_array_free(cap.sent, TRUE);
        }
    }
}

/* The floor is known only when every member asked has answered: the
 * largest counter among them, whichever placement it came from. */
static void test_recovery_waits_for_every_placement(void)
{
    const uint32_t n = 15, self = 4;
    capture cap;
    dm_node *node = start_wiped(n, self, true, &cap);
    uint8_t asked[64];
    uint32_t count = recover_targets(&cap, n, asked);
    CU_ASSERT_TRUE_FATAL(count >= 2);
    uint32_t last = 0;
    uint64_t counter = 100;
    for (uint32_t i = 0; i < n; i++) {
        if (!asked[i])
            continue;
        last = i;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (!asked[i] || i == last)
            continue;
        dm_msg a = floor_answer(&cap, i, counter++);
        CU_ASSERT_EQUAL(dm_node_receive(node, 1000, &a), 0);
        CU_ASSERT_EQUAL(dm_node_recovery(node, NULL), DM_RECOVERY_FLOOR);
    }
    dm_msg a = floor_answer(&cap, last, 7);
    CU_ASSERT_EQUAL(dm_node_receive(node, 2000, &a), 0);
    CU_ASSERT_NOT_EQUAL(dm_node_recovery(node, NULL), DM_RECOVERY_FLOOR);
    dm_node_free(node);
    g_array_free(cap.sent, TRUE);
}

/* Without spread the node asks one quorum of the system as built, as
 * before placements existed. */
static void test_recovery_without_spread_asks_one_quorum(void)
{
    const uint32_t n = 15, self = 7;
    capture cap;
    dm_node *node = start_wiped(n, self, false, &cap);
    uint8_t asked[64];
    uint32_t count = recover_targets(&cap, n, asked);
    uint32_t min, max;
    dm_quorum_size_bounds(dm_node_quorum_system(node), &min, &max);
    CU_ASSERT_TRUE(count >= min && count <= max);
    dm_node_free(node);
    g_array_free(cap.sent, TRUE);
}

/* Names spread over the placements (and so over tree roots) with spread on,
 * and all use the system as built with it off. One name's quorum is the same
 * wherever it is asked: the placement is the name's, not the node's. */
static void test_names_spread_over_placements(void)
{
    const uint32_t n = 15;
    for (int spread = 0; spread < 2; spread++) {
        capture cap[2];
        dm_config cfg;
        dm_config_defaults(&cfg);
        cfg.n_members = n;
        cfg.membership = false;
        cfg.bootstrap = true;
        cfg.spread = spread;
        dm_node *node[2];
        for (int j = 0; j < 2; j++) {
            cap[j].sent = g_array_new(FALSE, FALSE, sizeof(dm_msg));
            cfg.self = j == 0 ? 3 : 11;
            CU_ASSERT_EQUAL_FATAL(dm_node_new(&cfg, &cap_driver, &cap[j], 0, NULL, 0, &node[j]), 0);
        }
        uint8_t root_seen[15] = { 0 };
        uint32_t roots = 0;
        for (int i = 0; i < 64; i++) {
            char name[16];
            g_snprintf(name, sizeof name, "lock%d", i);
            uint32_t qa[15], qb[15];
            int a = dm_node_current_quorum(node[0], 0, name, qa, n);
            int b = dm_node_current_quorum(node[1], 0, name, qb, n);
            CU_ASSERT_TRUE_FATAL(a > 0 && b > 0);
            /* The tree's first member is its root: common to both. */
            CU_ASSERT_EQUAL(qa[0], qb[0]);
            if (!root_seen[qa[0]]) {
                root_seen[qa[0]] = 1;
                roots++;
            }
        }
        if (spread) {
            CU_ASSERT_TRUE(roots >= 10);
        } else {
            CU_ASSERT_EQUAL(roots, 1);
        }
        for (int j = 0; j < 2; j++) {
            dm_node_free(node[j]);
            g_array_free(cap[j].sent, TRUE);
        }
    }
}

static const CU_TestInfo tests[] = {
    { "a wiped node asks a quorum of every placement", test_recovery_asks_every_placement },
    { "the floor waits for every placement", test_recovery_waits_for_every_placement },
    { "without spread: one quorum asked", test_recovery_without_spread_asks_one_quorum },
    { "names spread over placements", test_names_spread_over_placements },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return dm_test_run("placement", tests);
}
