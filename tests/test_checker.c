/* CUnit suite for sim/checker: every check is shown to fire on a bad history
 * and to stay quiet on a correct one. */
#include <string.h>

#include "checker.h"
#include "testlib.h"

/* The single violation recorded, if there is exactly one and of this kind. */
static const dm_violation *sole_violation(const dm_checker *c, dm_violation_kind kind)
{
    if (dm_checker_violation_count(c) != 1)
        return NULL;
    const dm_violation *v = dm_checker_violation(c, 0);
    return v->kind == kind ? v : NULL;
}

static void test_overlap_is_one_mutex_violation(void)
{
    dm_checker *c = dm_checker_new(5);
    dm_checker_hold_begin(c, 0, 1, "x", 7, 100);
    dm_checker_hold_begin(c, 50, 3, "x", 9, 150);
    const dm_violation *v = sole_violation(c, DM_VIOLATION_MUTEX);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_EQUAL(v->node, 3);
    CU_ASSERT_EQUAL(v->other, 1);
    CU_ASSERT_EQUAL(v->at, 50);
    CU_ASSERT_STRING_EQUAL(v->lock, "x");
    CU_ASSERT_PTR_NOT_NULL(strstr(v->text, "node 3"));
    CU_ASSERT_PTR_NOT_NULL(strstr(v->text, "node 1"));
    CU_ASSERT_PTR_NULL(strchr(v->text, '\n'));
    CU_ASSERT_EQUAL(dm_checker_get_counts(c)->violations[DM_VIOLATION_MUTEX], 1);
    CU_ASSERT_EQUAL(dm_checker_get_counts(c)->holds, 2);
    CU_ASSERT_PTR_NULL(dm_checker_violation(c, 1));
    dm_checker_free(c);
}

static void test_other_locks_do_not_conflict(void)
{
    dm_checker *c = dm_checker_new(5);
    dm_checker_hold_begin(c, 0, 1, "x", 1, 100);
    dm_checker_hold_begin(c, 10, 2, "y", 1, 100);
    CU_ASSERT_EQUAL(dm_checker_violation_count(c), 0);
    dm_checker_free(c);
}

static void test_back_to_back_holds(void)
{
    dm_checker *c = dm_checker_new(5);
    /* B begins exactly when A's lease ends. */
    dm_checker_hold_begin(c, 0, 0, "x", 1, 100);
    dm_checker_hold_begin(c, 100, 1, "x", 2, 200);
    /* C begins exactly at B's unlock. */
    dm_checker_hold_end(c, 150, 1, "x", "unlock");
    dm_checker_hold_begin(c, 150, 2, "x", 3, 300);
    /* Unlock after the lease end keeps the lease end. */
    dm_checker_hold_end(c, 320, 2, "x", "unlock");
    CU_ASSERT_FALSE(dm_checker_holds(c, 320, 2, "x"));
    dm_checker_hold_begin(c, 320, 3, "x", 4, 400);
    CU_ASSERT_EQUAL(dm_checker_violation_count(c), 0);
    dm_checker_free(c);
}

static void test_expired_lease_does_not_conflict(void)
{
    dm_checker *c = dm_checker_new(5);
    dm_checker_hold_begin(c, 0, 0, "x", 1, 100);
    CU_ASSERT_TRUE(dm_checker_holds(c, 99, 0, "x"));
    CU_ASSERT_FALSE(dm_checker_holds(c, 100, 0, "x"));
    dm_checker_hold_begin(c, 130, 1, "x", 2, 200);
    /* The old holder's late unlock must not touch the new hold. */
    dm_checker_hold_end(c, 140, 0, "x", "unlock");
    CU_ASSERT_TRUE(dm_checker_holds(c, 140, 1, "x"));
    CU_ASSERT_EQUAL(dm_checker_violation_count(c), 0);
    dm_checker_free(c);
}

static void test_extend(void)
{
    dm_checker *c = dm_checker_new(5);
    /* A renewal in time keeps the hold open... */
    dm_checker_hold_begin(c, 0, 0, "x", 1, 100);
    dm_checker_hold_extend(c, 90, 0, "x", 300);
    dm_checker_hold_begin(c, 200, 1, "x", 2, 400);
    CU_ASSERT_PTR_NOT_NULL(sole_violation(c, DM_VIOLATION_MUTEX));
    dm_checker_free(c);

    /* ...a renewal after expiry, or at the expiry instant, does not. */
    c = dm_checker_new(5);
    dm_checker_hold_begin(c, 0, 0, "x", 1, 100);
    dm_checker_hold_extend(c, 100, 0, "x", 300);
    dm_checker_hold_extend(c, 150, 0, "x", 300);
    CU_ASSERT_FALSE(dm_checker_holds(c, 150, 0, "x"));
    dm_checker_hold_begin(c, 200, 1, "x", 2, 400);
    /* Extending a lock never held is ignored too. */
    dm_checker_hold_extend(c, 210, 2, "x", 999);
    dm_checker_hold_extend(c, 210, 2, "nope", 999);
    CU_ASSERT_EQUAL(dm_checker_violation_count(c), 0);
    dm_checker_free(c);
}

static void test_rebegin_replaces_own_hold(void)
{
    dm_checker *c = dm_checker_new(5);
    dm_checker_hold_begin(c, 0, 0, "x", 1, 1000);
    dm_checker_hold_begin(c, 50, 0, "x", 2, 100);
    CU_ASSERT_EQUAL(dm_checker_violation_count(c), 0);
    /* Only the new, shorter lease counts. */
    dm_checker_hold_begin(c, 100, 1, "x", 3, 200);
    CU_ASSERT_EQUAL(dm_checker_violation_count(c), 0);
    dm_checker_free(c);
}

static void test_node_down_ends_holds(void)
{
    dm_checker *c = dm_checker_new(5);
    dm_checker_hold_begin(c, 0, 0, "x", 1, 1000);
    dm_checker_hold_begin(c, 0, 0, "y", 1, 1000);
    dm_checker_hold_begin(c, 0, 1, "z", 1, 1000);
    dm_checker_node_down(c, 10, 0, "crash");
    CU_ASSERT_FALSE(dm_checker_holds(c, 10, 0, "x"));
    CU_ASSERT_FALSE(dm_checker_holds(c, 10, 0, "y"));
    CU_ASSERT_TRUE(dm_checker_holds(c, 10, 1, "z"));
    dm_checker_hold_begin(c, 20, 2, "x", 2, 1000);
    dm_checker_hold_begin(c, 20, 2, "y", 2, 1000);
    CU_ASSERT_EQUAL(dm_checker_violation_count(c), 0);
    /* The survivor's hold still conflicts. */
    dm_checker_hold_begin(c, 30, 3, "z", 2, 1000);
    CU_ASSERT_PTR_NOT_NULL(sole_violation(c, DM_VIOLATION_MUTEX));
    dm_checker_free(c);
}

static void test_token_order(void)
{
    dm_checker *c = dm_checker_new(5);
    dm_checker_hold_begin(c, 0, 0, "x", 5, 10);
    dm_checker_hold_begin(c, 10, 1, "x", 6, 20);
    dm_checker_hold_begin(c, 20, 2, "x", 100, 30);
    /* Each lock has its own sequence. */
    dm_checker_hold_begin(c, 20, 2, "y", 1, 30);
    CU_ASSERT_EQUAL(dm_checker_violation_count(c), 0);

    dm_checker_hold_begin(c, 30, 3, "x", 99, 40);
    const dm_violation *v = sole_violation(c, DM_VIOLATION_TOKEN);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_EQUAL(v->node, 3);
    CU_ASSERT_EQUAL(v->other, UINT32_MAX);
    CU_ASSERT_PTR_NOT_NULL(strstr(v->text, "99"));
    CU_ASSERT_PTR_NOT_NULL(strstr(v->text, "100"));
    dm_checker_free(c);

    c = dm_checker_new(5);
    dm_checker_hold_begin(c, 0, 0, "x", 5, 10);
    dm_checker_hold_begin(c, 10, 1, "x", 5, 20);
    CU_ASSERT_PTR_NOT_NULL(sole_violation(c, DM_VIOLATION_TOKEN));
    CU_ASSERT_EQUAL(dm_checker_get_counts(c)->violations[DM_VIOLATION_TOKEN], 1);
    dm_checker_free(c);
}

static void test_resource_rejects_stale_after_newer(void)
{
    dm_checker *c = dm_checker_new(5);
    dm_checker_hold_begin(c, 0, 0, "x", 1, 100);
    CU_ASSERT_TRUE(dm_checker_write(c, 50, 0, "x", 1));
    dm_checker_hold_begin(c, 100, 1, "x", 2, 200);
    CU_ASSERT_TRUE(dm_checker_write(c, 110, 1, "x", 2));
    /* Node 0 paused past its lease and wakes up. */
    CU_ASSERT_FALSE(dm_checker_write(c, 120, 0, "x", 1));
    const dm_checker_counts *k = dm_checker_get_counts(c);
    CU_ASSERT_EQUAL(k->writes_accepted, 2);
    CU_ASSERT_EQUAL(k->writes_rejected, 1);
    CU_ASSERT_EQUAL(k->stale_writes_accepted, 0);
    CU_ASSERT_EQUAL(dm_checker_violation_count(c), 0);
    dm_checker_free(c);
}

static void test_resource_accepts_stale_before_newer(void)
{
    dm_checker *c = dm_checker_new(5);
    dm_checker_hold_begin(c, 0, 0, "x", 1, 100);
    CU_ASSERT_TRUE(dm_checker_write(c, 50, 0, "x", 1));
    dm_checker_hold_begin(c, 100, 1, "x", 2, 200);
    /* The new holder has not written yet: nothing can tell the resource. */
    CU_ASSERT_TRUE(dm_checker_write(c, 120, 0, "x", 1));
    const dm_checker_counts *k = dm_checker_get_counts(c);
    CU_ASSERT_EQUAL(k->writes_accepted, 2);
    CU_ASSERT_EQUAL(k->writes_rejected, 0);
    CU_ASSERT_EQUAL(k->stale_writes_accepted, 1);
    CU_ASSERT_EQUAL(dm_checker_violation_count(c), 0);
    dm_checker_free(c);
}

static void test_broken_resource_is_a_fence_violation(void)
{
    dm_checker *c = dm_checker_new(5);
    dm_checker_set_resource_broken(c, true);
    dm_checker_hold_begin(c, 0, 0, "x", 1, 100);
    CU_ASSERT_TRUE(dm_checker_write(c, 50, 0, "x", 1));
    dm_checker_hold_begin(c, 100, 1, "x", 2, 200);
    CU_ASSERT_TRUE(dm_checker_write(c, 110, 1, "x", 2));
    CU_ASSERT_EQUAL(dm_checker_violation_count(c), 0);
    CU_ASSERT_TRUE(dm_checker_write(c, 120, 0, "x", 1));
    const dm_violation *v = sole_violation(c, DM_VIOLATION_FENCE);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_EQUAL(v->node, 0);
    CU_ASSERT_EQUAL(v->at, 120);
    CU_ASSERT_STRING_EQUAL(v->lock, "x");
    CU_ASSERT_EQUAL(dm_checker_get_counts(c)->violations[DM_VIOLATION_FENCE], 1);
    /* The fence remembers the highest token, not the last one. */
    CU_ASSERT_TRUE(dm_checker_write(c, 130, 1, "x", 2));
    CU_ASSERT_EQUAL(dm_checker_violation_count(c), 1);
    dm_checker_free(c);
}

static void test_liveness_missed_deadline(void)
{
    dm_checker *c = dm_checker_new(5);
    dm_checker_expect(c, 17, 2, "x", 100);
    CU_ASSERT_EQUAL(dm_checker_pending(c), 1);
    dm_checker_check_deadlines(c, 99);
    CU_ASSERT_EQUAL(dm_checker_violation_count(c), 0);
    dm_checker_check_deadlines(c, 130);
    const dm_violation *v = sole_violation(c, DM_VIOLATION_LIVENESS);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_EQUAL(v->node, 2);
    CU_ASSERT_EQUAL(v->at, 130);
    CU_ASSERT_STRING_EQUAL(v->lock, "x");
    CU_ASSERT_PTR_NOT_NULL(strstr(v->text, "node 2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(v->text, "lock=x"));
    CU_ASSERT_PTR_NOT_NULL(strstr(v->text, "30 us"));
    /* Reported once, however often checked afterwards. */
    dm_checker_check_deadlines(c, 200);
    dm_checker_check_deadlines(c, 10000);
    CU_ASSERT_EQUAL(dm_checker_violation_count(c), 1);
    CU_ASSERT_EQUAL(dm_checker_pending(c), 1);
    dm_checker_resolve(c, 17);
    CU_ASSERT_EQUAL(dm_checker_pending(c), 0);
    CU_ASSERT_EQUAL(dm_checker_violation_count(c), 1);
    dm_checker_free(c);
}

static void test_liveness_deadline_order(void)
{
    dm_checker *c = dm_checker_new(5);
    dm_checker_expect(c, 1, 0, "x", 300);
    dm_checker_expect(c, 2, 1, "x", 100);
    dm_checker_expect(c, 3, 2, "x", 200);
    dm_checker_expect(c, 4, 3, "x", 100);
    dm_checker_resolve(c, 2);
    dm_checker_check_deadlines(c, 250);
    CU_ASSERT_EQUAL_FATAL(dm_checker_violation_count(c), 2);
    CU_ASSERT_EQUAL(dm_checker_violation(c, 0)->node, 3);
    CU_ASSERT_EQUAL(dm_checker_violation(c, 1)->node, 2);
    dm_checker_check_deadlines(c, 300);
    CU_ASSERT_EQUAL_FATAL(dm_checker_violation_count(c), 3);
    CU_ASSERT_EQUAL(dm_checker_violation(c, 2)->node, 0);
    CU_ASSERT_EQUAL(dm_checker_get_counts(c)->violations[DM_VIOLATION_LIVENESS], 3);
    dm_checker_free(c);
}

static void test_liveness_resolved_in_time(void)
{
    dm_checker *c = dm_checker_new(5);
    dm_checker_expect(c, 1, 0, "x", 100);
    dm_checker_expect(c, 2, 1, "y", 100);
    dm_checker_check_deadlines(c, 50);
    dm_checker_resolve(c, 1);
    dm_checker_resolve(c, 2);
    dm_checker_resolve(c, 3);   /* unknown ids are ignored */
    /* Re-registering an id replaces its deadline. */
    dm_checker_expect(c, 4, 2, "x", 100);
    dm_checker_expect(c, 4, 2, "x", 500);
    CU_ASSERT_EQUAL(dm_checker_pending(c), 1);
    dm_checker_check_deadlines(c, 400);
    dm_checker_resolve(c, 4);
    dm_checker_check_deadlines(c, 1000);
    CU_ASSERT_EQUAL(dm_checker_pending(c), 0);
    CU_ASSERT_EQUAL(dm_checker_violation_count(c), 0);
    dm_checker_free(c);
}

/* A generated history: events are sorted by (at, seq) before being fed. */
enum ev_kind { EV_EXPECT, EV_BEGIN, EV_RESOLVE, EV_EXTEND, EV_WRITE, EV_END, EV_DOWN };

typedef struct ev {
    int64_t at;
    uint64_t seq;
    enum ev_kind kind;
    uint32_t node;
    uint32_t lock;
    uint64_t token;     /* or request id */
    int64_t until;      /* lease end or deadline */
} ev;

typedef struct history {
    GArray *evs;
    uint64_t next_seq;
} history;

typedef struct planned_hold {
    uint32_t node;
    uint32_t lock;
    uint64_t token;
    int64_t begin;
    int64_t end;
} planned_hold;

#define N_HOLDS 10000
#define N_NODES 5
#define N_LOCKS 3
#define TOKEN_STEP 10   /* leaves room for an injected token between two grants */

static const char *const lock_names[N_LOCKS] = { "alpha", "beta", "gamma" };

static void add_ev(history *h, int64_t at, enum ev_kind kind, uint32_t node, uint32_t lock,
                   uint64_t token, int64_t until)
{
    ev e = { at, h->next_seq++, kind, node, lock, token, until };
    g_array_append_val(h->evs, e);
}

static gint ev_cmp(gconstpointer a, gconstpointer b)
{
    const ev *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Serial per lock: each hold begins at or after the previous one's end. Its
 * node may unlock, let the lease run out, renew in time, renew too late,
 * crash, write inside its interval and write again once stale. */
static void generate(GRand *r, history *h, planned_hold *holds)
{
    int64_t free_at[N_LOCKS] = { 0 };
    uint64_t token[N_LOCKS] = { 0 };
    for (uint32_t i = 0; i < N_HOLDS; i++) {
        uint32_t l = g_rand_int_range(r, 0, N_LOCKS);
        uint32_t n = g_rand_int_range(r, 0, N_NODES);
        int64_t begin = free_at[l] + (g_rand_boolean(r) ? 0 : g_rand_int_range(r, 1, 200));
        int64_t lease = begin + g_rand_int_range(r, 10, 1000);
        token[l] += TOKEN_STEP;

        add_ev(h, MAX(0, begin - g_rand_int_range(r, 0, 100)), EV_EXPECT, n, l, i, begin + 1000);
        add_ev(h, begin, EV_BEGIN, n, l, token[l], lease);
        add_ev(h, begin, EV_RESOLVE, n, l, i, 0);

        int64_t end = lease;
        int64_t renew_at = begin;
        if (g_rand_int_range(r, 0, 3) == 0) {
            renew_at = g_rand_int_range(r, begin, lease);
            end = lease + g_rand_int_range(r, 1, 500);
            add_ev(h, renew_at, EV_EXTEND, n, l, 0, end);
        }
        /* An unlock strictly after any renewal, so the renewal cannot land
         * on a later hold of the same node. */
        if (g_rand_boolean(r)) {
            end = g_rand_int_range(r, renew_at + 1, end + 1);
            add_ev(h, end, EV_END, n, l, 0, 0);
        }
        for (int w = g_rand_int_range(r, 0, 3); w > 0; w--)
            add_ev(h, g_rand_int_range(r, begin, end), EV_WRITE, n, l, token[l], 0);
        if (g_rand_int_range(r, 0, 4) == 0)
            add_ev(h, end + g_rand_int_range(r, 0, 300), EV_WRITE, n, l, token[l], 0);
        if (g_rand_int_range(r, 0, 10) == 0)
            add_ev(h, end, EV_EXTEND, n, l, 0, end + 5000);
        if (g_rand_int_range(r, 0, 50) == 0)
            add_ev(h, g_rand_int_range(r, begin, end), EV_DOWN, n, l, 0, 0);

        holds[i] = (planned_hold){ n, l, token[l], begin, end };
        free_at[l] = end;
    }
}

static void replay(dm_checker *c, GArray *evs)
{
    g_array_sort(evs, ev_cmp);
    for (guint i = 0; i < evs->len; i++) {
        const ev *e = &g_array_index(evs, ev, i);
        const char *lock = lock_names[e->lock];
        switch (e->kind) {
        case EV_EXPECT:  dm_checker_expect(c, e->token, e->node, lock, e->until); break;
        case EV_BEGIN:   dm_checker_hold_begin(c, e->at, e->node, lock, e->token, e->until); break;
        case EV_RESOLVE: dm_checker_resolve(c, e->token); break;
        case EV_EXTEND:  dm_checker_hold_extend(c, e->at, e->node, lock, e->until); break;
        case EV_WRITE:   dm_checker_write(c, e->at, e->node, lock, e->token); break;
        case EV_END:     dm_checker_hold_end(c, e->at, e->node, lock, "unlock"); break;
        case EV_DOWN:    dm_checker_node_down(c, e->at, e->node, "crash"); break;
        }
        dm_checker_check_deadlines(c, e->at);
    }
}

static bool crashed_during(GArray *evs, uint32_t node, int64_t from, int64_t to)
{
    for (guint i = 0; i < evs->len; i++) {
        const ev *e = &g_array_index(evs, ev, i);
        if (e->kind == EV_DOWN && e->node == node && e->at >= from && e->at <= to)
            return true;
    }
    return false;
}

static void test_random_serial_history(void)
{
    GRand *r = g_rand_new_with_seed(20240611);
    history h = { g_array_new(FALSE, FALSE, sizeof(ev)), 0 };
    planned_hold *holds = g_new(planned_hold, N_HOLDS);
    generate(r, &h, holds);

    dm_checker *c = dm_checker_new(N_NODES);
    replay(c, h.evs);
    const dm_checker_counts *k = dm_checker_get_counts(c);
    CU_ASSERT_EQUAL(dm_checker_violation_count(c), 0);
    CU_ASSERT_EQUAL(k->holds, N_HOLDS);
    CU_ASSERT_EQUAL(dm_checker_pending(c), 0);
    /* The history did exercise the resource both ways. */
    CU_ASSERT(k->writes_accepted > 0);
    CU_ASSERT(k->writes_rejected > 0);
    CU_ASSERT(k->stale_writes_accepted > 0);
    dm_checker_free(c);

    /* One grant to another node inside a live hold, with a token that still
     * fits the order and a lease that ends with the victim's. */
    planned_hold *victim;
    int64_t at;
    for (;;) {
        victim = &holds[g_rand_int_range(r, 0, N_HOLDS)];
        if (victim->end - victim->begin < 2)
            continue;
        at = g_rand_int_range(r, victim->begin + 1, victim->end);
        if (!crashed_during(h.evs, victim->node, victim->begin, at))
            break;
    }
    uint32_t intruder = (victim->node + g_rand_int_range(r, 1, N_NODES)) % N_NODES;
    add_ev(&h, at, EV_BEGIN, intruder, victim->lock, victim->token + TOKEN_STEP / 2, victim->end);

    c = dm_checker_new(N_NODES);
    replay(c, h.evs);
    const dm_violation *v = sole_violation(c, DM_VIOLATION_MUTEX);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_EQUAL(v->node, intruder);
    CU_ASSERT_EQUAL(v->other, victim->node);
    CU_ASSERT_EQUAL(v->at, at);
    CU_ASSERT_STRING_EQUAL(v->lock, lock_names[victim->lock]);
    dm_checker_free(c);

    g_free(holds);
    g_array_free(h.evs, TRUE);
    g_rand_free(r);
}

/* lock_delay: a grant inside the delay after a lapse is caught; the lapsed
 * grantee's release ends the delay; a grant after it, or at another
 * arbiter, or of another lock, is fine. */
static void test_lock_delay(void)
{
    dm_checker *c = dm_checker_new(3);
    dm_checker_arb_lapse(c, 1000, 0, "a", 1, 0x100000001, 3000);
    dm_checker_arb_grant(c, 1500, 1, "a", 2);     /* another arbiter */
    dm_checker_arb_grant(c, 1500, 0, "b", 2);     /* another lock */
    CU_ASSERT_EQUAL(dm_checker_violation_count(c), 0);
    dm_checker_arb_grant(c, 2999, 0, "a", 2);     /* inside: the known violation */
    CU_ASSERT_EQUAL_FATAL(dm_checker_violation_count(c), 1);
    const dm_violation *v = dm_checker_violation(c, 0);
    CU_ASSERT_EQUAL(v->kind, DM_VIOLATION_DELAY);
    CU_ASSERT_STRING_EQUAL(dm_violation_kind_name(v->kind), "delay");
    CU_ASSERT_EQUAL(v->node, 2);
    CU_ASSERT_EQUAL(v->other, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(v->text, "lapsed"));
    dm_checker_arb_grant(c, 3000, 0, "a", 2);     /* over */
    CU_ASSERT_EQUAL(dm_checker_violation_count(c), 1);

    dm_checker_arb_lapse(c, 4000, 0, "a", 2, 7, 9000);
    dm_checker_arb_release(c, 4100, 0, "a", 2, 6);   /* an older attempt: no */
    dm_checker_arb_grant(c, 4200, 0, "a", 1);
    CU_ASSERT_EQUAL(dm_checker_violation_count(c), 2);
    dm_checker_arb_lapse(c, 5000, 0, "a", 1, 8, 9000);
    dm_checker_arb_release(c, 5100, 0, "a", 1, 8);   /* the lapsed one: ends it */
    dm_checker_arb_grant(c, 5200, 0, "a", 2);
    CU_ASSERT_EQUAL(dm_checker_violation_count(c), 2);
    CU_ASSERT_EQUAL(dm_checker_get_counts(c)->violations[DM_VIOLATION_DELAY], 2);
    dm_checker_free(c);
}

/* A holder that lost its lock 30 us before another node's grant, with a
 * 50 us margin: the margin check must catch it (and name both nodes); the
 * same history with the margin kept, or with a release instead, is clean. */
static void test_margin_violation_caught(void)
{
    dm_checker *c = dm_checker_new(3);
    dm_checker_set_margin(c, 50);
    dm_checker_hold_begin(c, 0, 0, "x", 1, 100);
    dm_checker_hold_lost(c, 70, 0, "x");
    CU_ASSERT_FALSE(dm_checker_holds(c, 80, 0, "x"));
    dm_checker_hold_begin(c, 100, 1, "x", 2, 200);
    const dm_violation *v = sole_violation(c, DM_VIOLATION_MARGIN);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_EQUAL(v->node, 1);
    CU_ASSERT_EQUAL(v->other, 0);
    CU_ASSERT_EQUAL(v->at, 100);
    CU_ASSERT_PTR_NOT_NULL(strstr(v->text, "only 30 us after node 0"));
    CU_ASSERT_STRING_EQUAL(dm_violation_kind_name(v->kind), "margin");
    CU_ASSERT_EQUAL(dm_checker_get_counts(c)->violations[DM_VIOLATION_MARGIN], 1);

    /* A lease that simply runs out (a paused holder: no LOST yet) counts
     * from its end. */
    dm_checker_hold_begin(c, 300, 0, "y", 1, 400);
    dm_checker_hold_begin(c, 420, 2, "y", 2, 500);
    CU_ASSERT_EQUAL(dm_checker_get_counts(c)->violations[DM_VIOLATION_MARGIN], 2);
    dm_checker_free(c);
}

static void test_margin_kept_or_released(void)
{
    dm_checker *c = dm_checker_new(3);
    dm_checker_set_margin(c, 50);
    dm_checker_hold_begin(c, 0, 0, "x", 1, 100);
    dm_checker_hold_lost(c, 40, 0, "x");
    dm_checker_hold_begin(c, 90, 1, "x", 2, 200);      /* exactly the margin */
    dm_checker_hold_end(c, 120, 1, "x", "unlock");
    dm_checker_hold_begin(c, 121, 2, "x", 3, 300);     /* a release: no margin */
    dm_checker_hold_lost(c, 150, 2, "x");
    dm_checker_hold_begin(c, 160, 2, "x", 4, 300);     /* the same node again */
    CU_ASSERT_EQUAL(dm_checker_violation_count(c), 0);
    dm_checker_free(c);

    /* Without a margin a loss just before another grant is fine. */
    c = dm_checker_new(3);
    dm_checker_hold_begin(c, 0, 0, "x", 1, 100);
    dm_checker_hold_lost(c, 99, 0, "x");
    dm_checker_hold_begin(c, 100, 1, "x", 2, 200);
    CU_ASSERT_EQUAL(dm_checker_violation_count(c), 0);
    dm_checker_free(c);
}

static const CU_TestInfo tests[] = {
    { "margin violation caught", test_margin_violation_caught },
    { "margin kept or released", test_margin_kept_or_released },
    { "overlap is one mutex violation", test_overlap_is_one_mutex_violation },
    { "other locks do not conflict", test_other_locks_do_not_conflict },
    { "back-to-back holds", test_back_to_back_holds },
    { "expired lease does not conflict", test_expired_lease_does_not_conflict },
    { "extend", test_extend },
    { "re-begin replaces own hold", test_rebegin_replaces_own_hold },
    { "node down ends holds", test_node_down_ends_holds },
    { "token order", test_token_order },
    { "resource rejects stale after newer", test_resource_rejects_stale_after_newer },
    { "resource accepts stale before newer", test_resource_accepts_stale_before_newer },
    { "broken resource is a fence violation", test_broken_resource_is_a_fence_violation },
    { "liveness missed deadline", test_liveness_missed_deadline },
    { "liveness deadline order", test_liveness_deadline_order },
    { "liveness resolved in time", test_liveness_resolved_in_time },
    { "random serial history", test_random_serial_history },
    { "lock delay", test_lock_delay },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return dm_test_run("checker", tests);
}
