/* Tests of core/peermap: the sparse per-peer map, against a dense array. */
#include <glib.h>
#include <stdbool.h>
#include <string.h>

#include "peermap.h"
#include "prng.h"
#include "testlib.h"

typedef struct entry {
    uint32_t id;
    uint32_t value;
    int64_t wide;        /* an 8-byte member: entries must stay aligned */
} entry;

/* Random puts and removes over n ids, checked after every step against a
 * dense copy: what is there, its value, the count, and never more slots
 * than ids. Small n goes direct at once; large n stays hashed until the
 * table would reach n slots. */
static void check_random(uint32_t n, uint32_t steps, uint64_t seed)
{
    dm_peermap m;
    dm_peermap_init(&m, sizeof(entry), n);
    uint32_t *ref = g_new0(uint32_t, n);   /* 0: absent, else value */
    uint32_t count = 0;
    dm_prng r;
    dm_prng_seed(&r, seed);
    int broken = 0;
    for (uint32_t step = 0; step < steps; step++) {
        /* Grow the set for the first half, shrink it in the second. */
        bool add = dm_prng_below(&r, 4) < (step < steps / 2 ? 3u : 1u);
        uint32_t id = (uint32_t)dm_prng_below(&r, n);
        if (add) {
            entry *e = dm_peermap_put(&m, id);
            broken += !e || e->id != id || (ref[id] ? e->value != ref[id] : e->value || e->wide);
            if (e) {
                count += ref[id] == 0;
                e->value = ref[id] = step + 1;
                e->wide = -(int64_t)id;
                broken += ((uintptr_t)e % G_ALIGNOF(entry)) != 0;
            }
        } else {
            dm_peermap_remove(&m, id);
            count -= ref[id] != 0;
            ref[id] = 0;
        }
        broken += dm_peermap_count(&m) != count || m.cap > n;
        /* A sample of ids, and all of them now and then. */
        for (uint32_t k = 0; k < (step % 64 == 0 ? n : 8); k++) {
            uint32_t q = step % 64 == 0 ? k : (uint32_t)dm_prng_below(&r, n);
            const entry *e = dm_peermap_get(&m, q);
            broken += ref[q] ? !e || e->id != q || e->value != ref[q] || e->wide != -(int64_t)q
                             : e != NULL;
        }
    }
    CU_ASSERT_EQUAL(broken, 0);
    dm_peermap_clear(&m);
    CU_ASSERT_EQUAL(dm_peermap_count(&m), 0);
    CU_ASSERT_PTR_NULL(dm_peermap_get(&m, 0));
    g_free(ref);
}

static void test_random_small(void)
{
    for (uint32_t n = 1; n <= 20; n++)
        check_random(n, 400, n);
}

static void test_random_large(void)
{
    check_random(1000, 4000, 7);     /* goes direct near the middle */
    check_random(100000, 4000, 8);   /* stays hashed: at most ~3000 ids */
}

/* Sparse means sparse: a few peers of a big cluster cost a few slots. */
static void test_sparse_stays_small(void)
{
    dm_peermap m;
    dm_peermap_init(&m, sizeof(entry), 10000);
    CU_ASSERT_EQUAL(dm_peermap_bytes(&m), 0);
    for (uint32_t i = 0; i < 12; i++)
        dm_peermap_put(&m, i * 797);
    CU_ASSERT(m.cap <= 32);
    for (uint32_t i = 0; i < 10000; i++)
        dm_peermap_put(&m, i);
    CU_ASSERT_EQUAL(m.cap, 10000);           /* direct: one slot per id */
    CU_ASSERT_EQUAL(dm_peermap_count(&m), 10000);
    dm_peermap_clear(&m);
}

static const CU_TestInfo tests[] = {
    { "random puts and removes, small id ranges", test_random_small },
    { "random puts and removes, large id ranges", test_random_large },
    { "a few peers of many cost a few slots", test_sparse_stays_small },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return dm_test_run("peermap", tests);
}
