#include <glib.h>
#include <stdbool.h>

#include "error.h"
#include "heap.h"
#include "prng.h"
#include "testlib.h"

typedef struct item {
    dm_heap_entry e;
    int64_t at;         /* the reference model's copy of the key */
    uint64_t seq;
} item;

/* Every position holds an entry that knows its position, a true copy of
 * its key, and is not due before its parent. */
static bool heap_consistent(const dm_heap *h)
{
    if (h->len > h->cap)
        return false;
    for (uint32_t i = 0; i < h->len; i++) {
        const dm_heap_slot *s = &h->items[i];
        if (s->e->index != i || s->at != s->e->at)
            return false;
        if (i > 0) {
            const dm_heap_slot *p = &h->items[(i - 1) / DM_HEAP_ARITY];
            if (s->at < p->at || (s->at == p->at && s->e->seq < p->e->seq))
                return false;
        }
    }
    return true;
}

/* The reference: queued items sorted by (at, seq), earliest first. */
static gint item_cmp(gconstpointer a, gconstpointer b)
{
    const item *x = *(item *const *)a, *y = *(item *const *)b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void ref_insert(GPtrArray *ref, item *it, int64_t at, uint64_t *seq)
{
    it->at = at;
    it->seq = (*seq)++;
    guint pos = 0;
    while (pos < ref->len && item_cmp(&g_ptr_array_index(ref, pos), &it) < 0)
        pos++;
    g_ptr_array_insert(ref, (gint)pos, it);
}

typedef struct walk_stats {
    uint32_t max_len;
    uint32_t kept;          /* schedules that kept their seq */
    uint32_t earlier, later;    /* reschedules of a queued entry, by direction */
    uint32_t removed_inside;    /* removes of an entry that was not the last */
} walk_stats;

/* A random walk of push, pop, remove and schedule over `n_items` items due
 * in [-50, span - 50), checked after every step against a sorted reference
 * and for the heap's shape. A small span makes ties common; a small n_items
 * keeps the heap at sizes where a node has fewer than four children. */
static walk_stats walk(uint32_t n_items, uint64_t span, uint64_t seed, int ops)
{
    walk_stats st = { 0 };
    item *items = g_new0(item, n_items);
    for (uint32_t i = 0; i < n_items; i++)
        dm_heap_entry_init(&items[i].e);
    GPtrArray *ref = g_ptr_array_new();
    uint64_t seq = 0;
    dm_heap h;
    dm_heap_init(&h);
    dm_prng p;
    dm_prng_seed(&p, seed);
    item *newest = NULL;   /* the entry given the latest seq */

    for (int op = 0; op < ops; op++) {
        item *it = &items[dm_prng_below(&p, n_items)];
        int64_t at = (int64_t)dm_prng_below(&p, span) - 50;
        uint64_t kind = dm_prng_below(&p, 100);
        if (kind >= 95 && newest && dm_heap_entry_queued(&newest->e)) {
            /* The core's common case: the newest entry re-armed unchanged. */
            it = newest;
            at = newest->at;
        }

        if (kind < 40) {
            if (dm_heap_entry_queued(&it->e))
                continue;
            CU_ASSERT_EQUAL(dm_heap_push(&h, &it->e, at), 0);
            ref_insert(ref, it, at, &seq);
            newest = it;
        } else if (kind < 70) {
            dm_heap_entry *got = dm_heap_pop(&h);
            item *want = ref->len ? g_ptr_array_steal_index(ref, 0) : NULL;
            CU_ASSERT_PTR_EQUAL(got, want ? &want->e : NULL);
            if (got)
                CU_ASSERT(!dm_heap_entry_queued(got));
        } else if (kind < 85) {
            if (dm_heap_entry_queued(&it->e) && it->e.index + 1 < dm_heap_len(&h))
                st.removed_inside++;
            dm_heap_remove(&h, &it->e);
            g_ptr_array_remove(ref, it);
            CU_ASSERT(!dm_heap_entry_queued(&it->e));
        } else if (it == newest && dm_heap_entry_queued(&it->e) && it->at == at) {
            /* A fresh seq would change nothing: it keeps the one it has. */
            CU_ASSERT_EQUAL(dm_heap_schedule(&h, &it->e, at), 0);
            st.kept++;
        } else {
            if (dm_heap_entry_queued(&it->e)) {
                if (at < it->at)
                    st.earlier++;
                else
                    st.later++;
            }
            CU_ASSERT_EQUAL(dm_heap_schedule(&h, &it->e, at), 0);
            g_ptr_array_remove(ref, it);
            ref_insert(ref, it, at, &seq);
            newest = it;
        }

        CU_ASSERT_FATAL(heap_consistent(&h));
        CU_ASSERT_EQUAL_FATAL(dm_heap_len(&h), ref->len);
        CU_ASSERT_EQUAL(h.next_seq, seq);
        CU_ASSERT_EQUAL(it->e.at, it->at);
        CU_ASSERT_EQUAL(it->e.seq, it->seq);
        dm_heap_entry *top = dm_heap_peek(&h);
        CU_ASSERT_PTR_EQUAL_FATAL(top, ref->len ? &((item *)g_ptr_array_index(ref, 0))->e : NULL);
        st.max_len = MAX(st.max_len, ref->len);
    }

    while (ref->len) {
        item *want = g_ptr_array_steal_index(ref, 0);
        CU_ASSERT_PTR_EQUAL_FATAL(dm_heap_pop(&h), &want->e);
    }
    CU_ASSERT_PTR_NULL(dm_heap_pop(&h));
    dm_heap_clear(&h);
    g_ptr_array_free(ref, TRUE);
    g_free(items);
    return st;
}

static void test_against_reference(void)
{
    /* Many ties, a few hundred queued. */
    walk_stats st = walk(600, 200, 1991, 100000);
    /* The walk reached heaps deep enough to exercise every sift path. */
    CU_ASSERT(st.max_len > 100);
    CU_ASSERT(st.kept > 100);
    CU_ASSERT(st.earlier > 500 && st.later > 100);
    CU_ASSERT(st.removed_inside > 500);
}

static void test_small_heaps_against_reference(void)
{
    /* At most a dozen queued, nearly all due at one of five instants: nodes
     * with one to three children, and ties at every level. */
    walk_stats st = walk(12, 55, 7, 50000);
    CU_ASSERT(st.max_len >= 9);
    CU_ASSERT(st.earlier > 500 && st.later > 100);
    CU_ASSERT(st.removed_inside > 500);
}

static void test_distinct_times_against_reference(void)
{
    /* Nearly every time distinct, a deep heap: the order is by time alone. */
    walk_stats st = walk(3000, (uint64_t)1 << 40, 12, 60000);
    CU_ASSERT(st.max_len > 1000);
    CU_ASSERT(st.earlier > 500 && st.later > 100);
}

static void test_ties_in_insertion_order(void)
{
    enum { N = 10 };
    dm_heap_entry e[N];
    dm_heap h;
    dm_heap_init(&h);
    for (int i = 0; i < N; i++) {
        dm_heap_entry_init(&e[i]);
        CU_ASSERT_EQUAL(dm_heap_push(&h, &e[i], 7), 0);
    }
    /* Rescheduling to the same instant goes behind the others. */
    CU_ASSERT_EQUAL(dm_heap_schedule(&h, &e[3], 7), 0);
    /* Again, now that it is the newest: it stays where it is. */
    CU_ASSERT_EQUAL(dm_heap_schedule(&h, &e[3], 7), 0);
    static const int order[N] = { 0, 1, 2, 4, 5, 6, 7, 8, 9, 3 };
    for (int i = 0; i < N; i++)
        CU_ASSERT_PTR_EQUAL(dm_heap_pop(&h), &e[order[i]]);

    /* Earlier times first, ties by insertion. */
    static const int64_t at[4] = { 5, 5, 3, 5 };
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(dm_heap_push(&h, &e[i], at[i]), 0);
    static const int by_time[4] = { 2, 0, 1, 3 };
    for (int i = 0; i < 4; i++)
        CU_ASSERT_PTR_EQUAL(dm_heap_pop(&h), &e[by_time[i]]);
    dm_heap_clear(&h);
}

static void test_remove_not_queued(void)
{
    dm_heap h;
    dm_heap_init(&h);
    dm_heap_entry a, b, never;
    dm_heap_entry_init(&a);
    dm_heap_entry_init(&b);
    dm_heap_entry_init(&never);

    CU_ASSERT_PTR_NULL(dm_heap_peek(&h));
    CU_ASSERT_PTR_NULL(dm_heap_pop(&h));
    dm_heap_remove(&h, &never);
    CU_ASSERT_EQUAL(dm_heap_len(&h), 0);

    CU_ASSERT_EQUAL(dm_heap_push(&h, &a, 1), 0);
    CU_ASSERT_EQUAL(dm_heap_push(&h, &b, 2), 0);
    dm_heap_remove(&h, &never);
    CU_ASSERT_EQUAL(dm_heap_len(&h), 2);
    dm_heap_remove(&h, &a);
    CU_ASSERT(!dm_heap_entry_queued(&a));
    dm_heap_remove(&h, &a);
    CU_ASSERT_EQUAL(dm_heap_len(&h), 1);
    CU_ASSERT_PTR_EQUAL(dm_heap_peek(&h), &b);
    CU_ASSERT(heap_consistent(&h));

    /* schedule inserts an entry that is not queued. */
    CU_ASSERT_EQUAL(dm_heap_schedule(&h, &a, 0), 0);
    CU_ASSERT_PTR_EQUAL(dm_heap_pop(&h), &a);
    CU_ASSERT_PTR_EQUAL(dm_heap_pop(&h), &b);
    CU_ASSERT_EQUAL(h.next_seq, 3);
    dm_heap_clear(&h);
}

static void test_growth_and_clear(void)
{
    enum { N = 100000 };
    dm_heap_entry *e = g_new(dm_heap_entry, N);
    dm_heap h;
    dm_heap_init(&h);
    dm_prng p;
    dm_prng_seed(&p, 4);
    for (int i = 0; i < N; i++) {
        dm_heap_entry_init(&e[i]);
        CU_ASSERT_EQUAL(dm_heap_push(&h, &e[i], (int64_t)dm_prng_below(&p, 1000000)), 0);
    }
    CU_ASSERT(heap_consistent(&h));
    CU_ASSERT_EQUAL(dm_heap_len(&h), N);
    dm_heap_entry *prev = dm_heap_pop(&h);
    for (int i = 1; i < N / 2; i++) {
        dm_heap_entry *next = dm_heap_pop(&h);
        CU_ASSERT_FATAL(next != NULL);
        CU_ASSERT(prev->at < next->at || (prev->at == next->at && prev->seq < next->seq));
        prev = next;
    }
    dm_heap_clear(&h);
    CU_ASSERT_EQUAL(dm_heap_len(&h), 0);
    CU_ASSERT_PTR_NULL(dm_heap_peek(&h));

    /* Cleared storage is reusable; the entries were left as they were. */
    dm_heap_entry fresh;
    dm_heap_entry_init(&fresh);
    CU_ASSERT_EQUAL(dm_heap_push(&h, &fresh, 1), 0);
    CU_ASSERT_PTR_EQUAL(dm_heap_pop(&h), &fresh);
    dm_heap_clear(&h);
    g_free(e);
}

static const CU_TestInfo tests[] = {
    { "random operations against a sorted reference", test_against_reference },
    { "small heaps with many ties against the reference", test_small_heaps_against_reference },
    { "deep heap, distinct times, against the reference", test_distinct_times_against_reference },
    { "ties come out in insertion order", test_ties_in_insertion_order },
    { "remove of an entry not queued is a no-op", test_remove_not_queued },
    { "growth and clear", test_growth_and_clear },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return dm_test_run("heap", tests);
}
