#include <glib.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "error.h"
#include "prng.h"
#include "testlib.h"
#include "tree.h"

/* Quorums are handled here as bit masks over member ids, so every id in these
 * tests stays below 64. */
enum { MAX_ID = 64 };

static uint64_t bit(uint32_t id)
{
    return (uint64_t)1 << id;
}

static dm_tree *build(const uint32_t *ids, uint32_t n)
{
    dm_tree *t = NULL;
    CU_ASSERT_EQUAL_FATAL(dm_tree_new(ids, n, &t), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    return t;
}

static dm_tree *build_dense(uint32_t n)
{
    uint32_t ids[MAX_ID];
    for (uint32_t i = 0; i < n; i++)
        ids[i] = i;
    return build(ids, n);
}

static bool complete(uint32_t n)
{
    return (n & (n + 1)) == 0;
}

/* ---- shape ---- */

/* Walk the inclusive index range [lo, hi] of the sorted ids, checking each
 * node's children against the (lo + hi) / 2 rule; returns the range's
 * height (-1 when empty). */
static int check_shape(const dm_tree *t, const uint32_t *ids, int lo, int hi)
{
    if (lo > hi)
        return -1;
    int mid = (lo + hi) / 2;
    uint32_t left = lo <= mid - 1 ? ids[(lo + mid - 1) / 2] : DM_TREE_NONE;
    uint32_t right = mid + 1 <= hi ? ids[(mid + 1 + hi) / 2] : DM_TREE_NONE;
    CU_ASSERT_EQUAL(dm_tree_left(t, ids[mid]), left);
    CU_ASSERT_EQUAL(dm_tree_right(t, ids[mid]), right);
    CU_ASSERT(dm_tree_contains(t, ids[mid]));
    int hl = check_shape(t, ids, lo, mid - 1), hr = check_shape(t, ids, mid + 1, hi);
    return 1 + (hl > hr ? hl : hr);
}

static void test_shape(void)
{
    for (uint32_t n = 1; n <= 20; n++) {
        dm_tree *t = build_dense(n);
        uint32_t ids[20];
        for (uint32_t i = 0; i < n; i++)
            ids[i] = i;
        CU_ASSERT_EQUAL(dm_tree_size(t), n);
        CU_ASSERT_EQUAL(dm_tree_max_id(t), n - 1);
        CU_ASSERT_EQUAL(dm_tree_root(t), (0 + n - 1) / 2);
        int height = check_shape(t, ids, 0, (int)n - 1);
        CU_ASSERT_EQUAL(dm_tree_height(t), (uint32_t)height);
        if (complete(n))
            CU_ASSERT_EQUAL(1u << (dm_tree_height(t) + 1), n + 1);
        uint32_t outside[] = { n, n + 5, DM_TREE_NONE };
        for (size_t i = 0; i < G_N_ELEMENTS(outside); i++) {
            CU_ASSERT(!dm_tree_contains(t, outside[i]));
            CU_ASSERT_EQUAL(dm_tree_left(t, outside[i]), DM_TREE_NONE);
            CU_ASSERT_EQUAL(dm_tree_right(t, outside[i]), DM_TREE_NONE);
        }
        dm_tree_free(t);
    }
}

/* ---- enumeration ---- */

typedef struct collection {
    GArray *sets;               /* uint64_t masks */
    uint32_t rank[MAX_ID];      /* pre-order rank of each member */
} collection;

static uint32_t rank_preorder(const dm_tree *t, uint32_t id, uint32_t *rank, uint32_t next)
{
    if (id == DM_TREE_NONE)
        return next;
    rank[id] = next++;
    next = rank_preorder(t, dm_tree_left(t, id), rank, next);
    return rank_preorder(t, dm_tree_right(t, id), rank, next);
}

/* Far above the 65 535 quorums of N = 31: an enumeration that overshoots
 * fails the test instead of running for hours. */
enum { COLLECT_LIMIT = 1 << 17 };

static int collect(const uint32_t *ids, uint32_t n, void *user)
{
    collection *c = user;
    if (c->sets->len == COLLECT_LIMIT)
        return 1;
    uint64_t mask = 0;
    for (uint32_t i = 0; i < n; i++) {
        CU_ASSERT(ids[i] < MAX_ID && !(mask & bit(ids[i])));
        if (i > 0)
            CU_ASSERT(c->rank[ids[i - 1]] < c->rank[ids[i]]);
        mask |= bit(ids[i]);
    }
    g_array_append_val(c->sets, mask);
    return 0;
}

static gint mask_cmp(gconstpointer a, gconstpointer b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Every quorum of t as a sorted array of masks, checking on the way that
 * each comes in pre-order without repeats and that no set comes twice. */
static GArray *quorums_of(const dm_tree *t)
{
    collection c = { .sets = g_array_new(FALSE, FALSE, sizeof(uint64_t)) };
    rank_preorder(t, dm_tree_root(t), c.rank, 0);
    CU_ASSERT_EQUAL(dm_tree_enumerate_quorums(t, collect, &c), 0);
    g_array_sort(c.sets, mask_cmp);
    for (guint i = 1; i < c.sets->len; i++)
        CU_ASSERT(g_array_index(c.sets, uint64_t, i - 1) != g_array_index(c.sets, uint64_t, i));
    return c.sets;
}

static bool is_quorum(GArray *quorums, uint64_t mask)
{
    return bsearch(&mask, quorums->data, quorums->len, sizeof(uint64_t), mask_cmp) != NULL;
}

/* The pairwise-intersection checker: true, with the pair, when two sets
 * share no member. */
static bool find_disjoint(const uint64_t *sets, size_t n, size_t *a, size_t *b)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (!(sets[i] & sets[j])) {
                *a = i;
                *b = j;
                return true;
            }
    return false;
}

static void test_checker_catches_disjoint(void)
{
    size_t a = 9, b = 9;
    const uint64_t disjoint[] = { bit(0) | bit(1), bit(1) | bit(4), bit(2) | bit(3) };
    CU_ASSERT(find_disjoint(disjoint, 3, &a, &b));
    CU_ASSERT(a == 0 && b == 2);
    const uint64_t meeting[] = { bit(0) | bit(1), bit(1) | bit(2), bit(2) | bit(0) };
    CU_ASSERT(!find_disjoint(meeting, 3, &a, &b));
}

/* f(h) = 2 f(h-1) + f(h-1)^2, f(0) = 1: quorums of a complete tree of height h. */
static uint64_t complete_count(uint32_t h)
{
    uint64_t f = 1;
    while (h--)
        f = 2 * f + f * f;
    return f;
}

static void test_quorums_intersect(void)
{
    for (uint32_t n = 1; n <= 15; n++) {
        dm_tree *t = build_dense(n);
        GArray *q = quorums_of(t);
        CU_ASSERT(q->len > 0);
        size_t a, b;
        CU_ASSERT(!find_disjoint((uint64_t *)q->data, q->len, &a, &b));
        if (complete(n))
            CU_ASSERT_EQUAL(q->len, complete_count(dm_tree_height(t)));
        g_array_free(q, TRUE);
        dm_tree_free(t);
    }
    static const uint32_t sizes[] = { 1, 3, 7, 15 };
    static const uint64_t counts[] = { 1, 3, 15, 255 };
    for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
        dm_tree *t = build_dense(sizes[i]);
        GArray *q = quorums_of(t);
        CU_ASSERT_EQUAL(q->len, counts[i]);
        g_array_free(q, TRUE);
        dm_tree_free(t);
    }
}

static void test_enumeration_n31(void)
{
    dm_tree *t = build_dense(31);
    GArray *q = quorums_of(t);
    CU_ASSERT_EQUAL(q->len, 65535);
    g_array_free(q, TRUE);
    dm_tree_free(t);
}

static int stop_at_third(const uint32_t *ids, uint32_t n, void *user)
{
    (void)ids;
    (void)n;
    return ++*(int *)user == 3 ? 7 : 0;
}

static void test_enumeration_stops_early(void)
{
    dm_tree *t = build_dense(7);
    int calls = 0;
    CU_ASSERT_EQUAL(dm_tree_enumerate_quorums(t, stop_at_third, &calls), 7);
    CU_ASSERT_EQUAL(calls, 3);
    CU_ASSERT_EQUAL(dm_tree_enumerate_quorums(t, NULL, NULL), -DM_EINVAL);
    dm_tree_free(t);
}

/* ---- formation against brute force ---- */

/* exists[down] for every pattern of down members (bit i = member i down):
 * some enumerated quorum avoids them all. */
static bool *exists_table(GArray *quorums, uint32_t n)
{
    bool *exists = g_new(bool, (size_t)1 << n);
    for (uint64_t down = 0; down < (uint64_t)1 << n; down++) {
        exists[down] = false;
        for (guint i = 0; i < quorums->len && !exists[down]; i++)
            exists[down] = !(g_array_index(quorums, uint64_t, i) & down);
    }
    return exists;
}

/* Form under the given hint and check the answer against `exists`: a quorum
 * exactly when one exists, never a down member nor a repeat, and one of the
 * enumerated quorums. Returns the mask formed (0 when none). */
static uint64_t form_checked(const dm_tree *t, const dm_quorum_hint *hint, uint64_t down,
                             bool exists, GArray *quorums)
{
    uint32_t out[MAX_ID];
    int rc = dm_tree_form_quorum(t, hint, out, MAX_ID);
    if (!exists) {
        CU_ASSERT_EQUAL(rc, -DM_ENOQUORUM);
        return 0;
    }
    CU_ASSERT_FATAL(rc > 0);
    uint64_t mask = 0;
    for (int i = 0; i < rc; i++) {
        CU_ASSERT_FATAL(out[i] < MAX_ID);
        CU_ASSERT(!(mask & bit(out[i])));
        mask |= bit(out[i]);
    }
    CU_ASSERT(!(mask & down));
    CU_ASSERT(is_quorum(quorums, mask));
    return mask;
}

static void test_formation_exhaustive(void)
{
    dm_prng p;
    dm_prng_seed(&p, 1991);
    for (uint32_t n = 1; n <= 12; n++) {
        dm_tree *t = build_dense(n);
        GArray *quorums = quorums_of(t);
        bool *exists = exists_table(quorums, n);
        uint8_t unusable[12];
        int32_t preference[12];
        dm_quorum_hint failures = { unusable, NULL }, steered = { unusable, preference };

        for (uint64_t down = 0; down < (uint64_t)1 << n; down++) {
            for (uint32_t i = 0; i < n; i++) {
                unusable[i] = (down >> i) & 1;
                preference[i] = (int32_t)dm_prng_below(&p, 21) - 10;
            }
            CU_ASSERT_EQUAL(dm_tree_quorum_exists(t, unusable), exists[down]);
            form_checked(t, &failures, down, exists[down], quorums);
            form_checked(t, &steered, down, exists[down], quorums);
        }

        /* And the other way round: every enumerated quorum is formed, when
         * exactly its members are usable and preferred. */
        for (guint k = 0; k < quorums->len; k++) {
            uint64_t q = g_array_index(quorums, uint64_t, k);
            for (uint32_t i = 0; i < n; i++) {
                unusable[i] = !(q & bit(i));
                preference[i] = !unusable[i];
            }
            CU_ASSERT_EQUAL(form_checked(t, &steered, ~q, true, quorums), q);
        }
        g_free(exists);
        g_array_free(quorums, TRUE);
        dm_tree_free(t);
    }
}

/* ---- availability ---- */

static double brute_availability(const bool *exists, uint32_t n, double p)
{
    double a = 0;
    for (uint64_t down = 0; down < (uint64_t)1 << n; down++)
        if (exists[down]) {
            int k = 0;
            for (uint64_t d = down; d; d &= d - 1)
                k++;
            a += pow(p, (double)(n - k)) * pow(1 - p, k);
        }
    return a;
}

static void test_availability_brute_force(void)
{
    static const double ps[] = { 0.7, 0.95 };
    for (uint32_t n = 1; n <= 12; n++) {
        dm_tree *t = build_dense(n);
        GArray *quorums = quorums_of(t);
        bool *exists = exists_table(quorums, n);
        for (size_t i = 0; i < G_N_ELEMENTS(ps); i++)
            CU_ASSERT_DOUBLE_EQUAL(dm_tree_availability(t, ps[i]),
                                   brute_availability(exists, n, ps[i]), 1e-12);
        g_free(exists);
        g_array_free(quorums, TRUE);
        dm_tree_free(t);
    }
}

static double availability_of(uint32_t n, double p)
{
    dm_tree *t = build_dense(n);
    double a = dm_tree_availability(t, p);
    dm_tree_free(t);
    return a;
}

static void test_availability_references(void)
{
    /* REFERENCES.md, AE section. */
    CU_ASSERT_DOUBLE_EQUAL(availability_of(7, 0.8), 0.9519104, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(availability_of(7, 0.9), 0.9937728, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(availability_of(15, 0.9), 0.9987235376, 1e-9);
    /* Complete trees: A_0 = p, A_k = 2p A_{k-1} + (1 - 2p) A_{k-1}^2, and
     * so A = 1/2 at p = 1/2 for every height. */
    static const double ps[] = { 0.5, 0.6, 0.8, 0.99 };
    for (size_t i = 0; i < G_N_ELEMENTS(ps); i++) {
        double p = ps[i], a = p;
        for (uint32_t n = 1; n <= 63; n = 2 * n + 1) {
            CU_ASSERT_DOUBLE_EQUAL(availability_of(n, p), a, 1e-12);
            a = 2 * p * a + (1 - 2 * p) * a * a;
        }
    }
    CU_ASSERT_DOUBLE_EQUAL(availability_of(31, 0.5), 0.5, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(availability_of(20, 0), 0, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(availability_of(20, 1), 1, 1e-15);
}

/* ---- steering ---- */

/* The members dm_tree_form_quorum returns, in order, compared to a list. */
static void assert_quorum(const dm_tree *t, const dm_quorum_hint *hint, const uint32_t *want,
                          int n)
{
    uint32_t out[MAX_ID];
    int rc = dm_tree_form_quorum(t, hint, out, MAX_ID);
    CU_ASSERT_EQUAL_FATAL(rc, n);
    for (int i = 0; i < n; i++)
        CU_ASSERT_EQUAL(out[i], want[i]);
}

static void test_steering_toward_member(void)
{
    for (uint32_t n = 1; n <= 20; n++) {
        dm_tree *t = build_dense(n);
        for (uint32_t x = 0; x < n; x++) {
            int32_t preference[20] = { 0 };
            preference[x] = 1000;
            dm_quorum_hint hint = { NULL, preference };
            /* The path from the root down to x, then (with nothing left to
             * prefer) left children until a node has none: an empty subtree
             * under a usable root completes the quorum. */
            uint32_t want[20];
            int k = 0;
            for (uint32_t id = dm_tree_root(t); id != x; id = x < id ? dm_tree_left(t, id) : dm_tree_right(t, id))
                want[k++] = id;
            for (uint32_t id = x; id != DM_TREE_NONE; id = dm_tree_left(t, id))
                want[k++] = id;
            assert_quorum(t, &hint, want, k);
        }
        dm_tree_free(t);
    }
}

static void test_steering_ties(void)
{
    /* 3 (1 (0, 2), 5 (4, 6)) */
    dm_tree *t = build_dense(7);
    uint8_t unusable[7] = { 0 };
    int32_t preference[7] = { 0 };
    dm_quorum_hint hint = { unusable, preference };

    assert_quorum(t, NULL, (uint32_t[]){ 3, 1, 0 }, 3);
    assert_quorum(t, &hint, (uint32_t[]){ 3, 1, 0 }, 3);

    /* Fewer unusable members wins a tie of preferences... */
    unusable[0] = 1;
    assert_quorum(t, &hint, (uint32_t[]){ 3, 5, 4 }, 3);
    /* ...and the left side wins a tie of both. */
    unusable[4] = 1;
    assert_quorum(t, &hint, (uint32_t[]){ 3, 1, 2 }, 3);
    unusable[4] = 0;

    /* Preference counts before unusable members, but only usable members'
     * preferences count. */
    preference[2] = 1;
    assert_quorum(t, &hint, (uint32_t[]){ 3, 1, 2 }, 3);
    preference[2] = 0;
    preference[0] = 1000;
    assert_quorum(t, &hint, (uint32_t[]){ 3, 5, 4 }, 3);
    unusable[0] = 0;

    /* Negative weights push a side back. */
    preference[0] = -5;
    assert_quorum(t, &hint, (uint32_t[]){ 3, 5, 4 }, 3);
    preference[0] = 0;

    /* Unusable root: both subtrees stand in. */
    unusable[3] = 1;
    assert_quorum(t, &hint, (uint32_t[]){ 1, 0, 5, 4 }, 4);
    dm_tree_free(t);
}

static void test_min_quorum_size(void)
{
    for (uint32_t n = 1; n <= 20; n++) {
        dm_tree *t = build_dense(n);
        uint32_t out[20];
        int formed = dm_tree_form_quorum(t, NULL, out, 20);
        CU_ASSERT_EQUAL(dm_tree_min_quorum_size(t), (uint32_t)formed);
        if (complete(n))
            CU_ASSERT_EQUAL(dm_tree_min_quorum_size(t), dm_tree_height(t) + 1);
        dm_tree_free(t);
    }
    /* N = 2: the root is the lower member, whose left subtree is empty. */
    dm_tree *t = build_dense(2);
    CU_ASSERT_EQUAL(dm_tree_min_quorum_size(t), 1);
    dm_tree_free(t);
}

/* ---- sparse ids ---- */

static uint64_t densify(uint64_t mask, const uint32_t *ids, uint32_t n)
{
    uint64_t dense = 0;
    for (uint32_t i = 0; i < n; i++)
        if (mask & bit(ids[i]))
            dense |= bit(i);
    return dense;
}

static void test_sparse_ids(void)
{
    static const uint32_t ids[] = { 3, 8, 20, 21, 40 };
    enum { N = G_N_ELEMENTS(ids) };
    dm_tree *sparse = build(ids, N), *dense = build_dense(N);

    CU_ASSERT_EQUAL(dm_tree_max_id(sparse), 40);
    CU_ASSERT_EQUAL(dm_tree_root(sparse), ids[dm_tree_root(dense)]);
    CU_ASSERT_EQUAL(dm_tree_height(sparse), dm_tree_height(dense));
    CU_ASSERT(!dm_tree_contains(sparse, 4));
    CU_ASSERT(!dm_tree_contains(sparse, 0));
    for (uint32_t i = 0; i < N; i++) {
        uint32_t l = dm_tree_left(dense, i), r = dm_tree_right(dense, i);
        CU_ASSERT_EQUAL(dm_tree_left(sparse, ids[i]), l == DM_TREE_NONE ? l : ids[l]);
        CU_ASSERT_EQUAL(dm_tree_right(sparse, ids[i]), r == DM_TREE_NONE ? r : ids[r]);
    }

    GArray *qs = quorums_of(sparse), *qd = quorums_of(dense);
    CU_ASSERT_EQUAL_FATAL(qs->len, qd->len);
    for (guint i = 0; i < qs->len; i++)
        CU_ASSERT(is_quorum(qd, densify(g_array_index(qs, uint64_t, i), ids, N)));

    dm_prng p;
    dm_prng_seed(&p, 40);
    for (uint32_t down = 0; down < 1u << N; down++) {
        uint8_t un_s[41] = { 0 }, un_d[N];
        int32_t pref_s[41] = { 0 }, pref_d[N];
        for (uint32_t i = 0; i < N; i++) {
            un_s[ids[i]] = un_d[i] = (down >> i) & 1;
            pref_s[ids[i]] = pref_d[i] = (int32_t)dm_prng_below(&p, 5);
        }
        dm_quorum_hint hs = { un_s, pref_s }, hd = { un_d, pref_d };
        uint32_t out_s[N], out_d[N];
        int rs = dm_tree_form_quorum(sparse, &hs, out_s, N);
        int rd = dm_tree_form_quorum(dense, &hd, out_d, N);
        CU_ASSERT_EQUAL_FATAL(rs, rd);
        for (int i = 0; i < rs; i++)
            CU_ASSERT_EQUAL(out_s[i], ids[out_d[i]]);
        CU_ASSERT_EQUAL(dm_tree_quorum_exists(sparse, un_s), rd > 0);
    }
    CU_ASSERT_DOUBLE_EQUAL(dm_tree_availability(sparse, 0.8), dm_tree_availability(dense, 0.8), 1e-15);
    CU_ASSERT_EQUAL(dm_tree_min_quorum_size(sparse), dm_tree_min_quorum_size(dense));

    g_array_free(qs, TRUE);
    g_array_free(qd, TRUE);
    dm_tree_free(sparse);
    dm_tree_free(dense);
}

/* ---- bad input ---- */

static void test_bad_input(void)
{
    dm_tree *t = (dm_tree *)&t;     /* any non-NULL value: must be left alone */
    const uint32_t ok[] = { 1, 2, 3 };
    CU_ASSERT_EQUAL(dm_tree_new(ok, 0, &t), -DM_EINVAL);
    CU_ASSERT_EQUAL(dm_tree_new(NULL, 3, &t), -DM_EINVAL);
    CU_ASSERT_EQUAL(dm_tree_new(ok, 3, NULL), -DM_EINVAL);
    CU_ASSERT_EQUAL(dm_tree_new((uint32_t[]){ 2, 1, 3 }, 3, &t), -DM_EINVAL);
    CU_ASSERT_EQUAL(dm_tree_new((uint32_t[]){ 1, 3, 3 }, 3, &t), -DM_EINVAL);
    CU_ASSERT_PTR_EQUAL(t, (dm_tree *)&t);

    t = build_dense(7);
    uint32_t out[7];
    CU_ASSERT_EQUAL(dm_tree_form_quorum(t, NULL, out, 2), -DM_EINVAL);
    CU_ASSERT_EQUAL(dm_tree_form_quorum(t, NULL, out, 3), 3);
    CU_ASSERT_EQUAL(dm_tree_form_quorum(t, NULL, NULL, 0), -DM_EINVAL);
    CU_ASSERT_EQUAL(dm_tree_form_quorum(NULL, NULL, out, 7), -DM_EINVAL);
    /* Substitution needs more room than the failure-free quorum. */
    uint8_t unusable[7] = { [3] = 1 };
    dm_quorum_hint hint = { unusable, NULL };
    CU_ASSERT_EQUAL(dm_tree_form_quorum(t, &hint, out, 3), -DM_EINVAL);
    CU_ASSERT_EQUAL(dm_tree_form_quorum(t, &hint, out, 4), 4);
    /* Both leaves under 1 down, with the root down too: no quorum. */
    unusable[0] = unusable[2] = 1;
    CU_ASSERT_EQUAL(dm_tree_form_quorum(t, &hint, out, 7), -DM_ENOQUORUM);
    CU_ASSERT(!dm_tree_quorum_exists(t, unusable));
    dm_tree_free(t);
}

/* The formation rule written out the slow way -- every weighing walks its
 * range -- to hold large trees, where dm_tree_form_quorum weighs by prefix
 * sums, to the same quorums. ids are 0..n-1. */
typedef struct ref_former {
    const uint8_t *unusable;
    const int32_t *preference;
    uint32_t *out;
    uint32_t len;
} ref_former;

static void ref_weigh(const ref_former *f, uint32_t lo, uint32_t end, int64_t *pref, uint32_t *down)
{
    *pref = 0;
    *down = 0;
    for (uint32_t i = lo; i < end; i++) {
        if (f->unusable[i])
            (*down)++;
        else
            *pref += f->preference[i];
    }
}

static bool ref_form(ref_former *f, uint32_t lo, uint32_t end)
{
    uint32_t mark = f->len, root = lo + (end - 1 - lo) / 2;
    uint32_t l[2] = { lo, root }, r[2] = { root + 1, end };
    if (!f->unusable[root]) {
        f->out[f->len++] = root;
        int64_t pl, pr;
        uint32_t dl, dr;
        ref_weigh(f, l[0], l[1], &pl, &dl);
        ref_weigh(f, r[0], r[1], &pr, &dr);
        bool left_first = pl != pr ? pl > pr : dl <= dr;
        const uint32_t *first = left_first ? l : r, *second = left_first ? r : l;
        if (first[0] == first[1] || ref_form(f, first[0], first[1]))
            return true;
        if (second[0] == second[1] || ref_form(f, second[0], second[1]))
            return true;
    } else if (l[0] != l[1] && r[0] != r[1]) {
        if (ref_form(f, l[0], l[1]) && ref_form(f, r[0], r[1]))
            return true;
    }
    f->len = mark;
    return false;
}

static void test_formation_large_matches_reference(void)
{
    static const uint32_t sizes[] = { 64, 65, 100, 255, 1024 };
    dm_prng p;
    dm_prng_derive(&p, 12, "tree-large", 0);
    for (size_t s = 0; s < G_N_ELEMENTS(sizes); s++) {
        uint32_t n = sizes[s];
        uint32_t *ids = g_new(uint32_t, n);
        for (uint32_t i = 0; i < n; i++)
            ids[i] = i;
        dm_tree *t = build(ids, n);
        g_free(ids);
        uint8_t *unusable = g_new0(uint8_t, n);
        int32_t *preference = g_new0(int32_t, n);
        uint32_t *got = g_new(uint32_t, n), *want = g_new(uint32_t, n);
        for (int round = 0; round < 200; round++) {
            /* From none down to most down, with a few members preferred. */
            uint64_t per_mille = dm_prng_below(&p, 900);
            for (uint32_t i = 0; i < n; i++) {
                unusable[i] = dm_prng_below(&p, 1000) < per_mille;
                preference[i] = dm_prng_below(&p, 10) == 0 ? (int32_t)dm_prng_below(&p, 5) : 0;
            }
            dm_quorum_hint hint = { unusable, preference };
            ref_former f = { unusable, preference, want, 0 };
            int expect = ref_form(&f, 0, n) ? (int)f.len : -DM_ENOQUORUM;
            int size = dm_tree_form_quorum(t, &hint, got, n);
            CU_ASSERT_EQUAL_FATAL(size, expect);
            for (int i = 0; i < size; i++)
                CU_ASSERT_EQUAL_FATAL(got[i], want[i]);
            CU_ASSERT_EQUAL(dm_tree_quorum_exists(t, unusable), expect > 0);
        }
        g_free(unusable);
        g_free(preference);
        g_free(got);
        g_free(want);
        dm_tree_free(t);
    }
}

static const CU_TestInfo tests[] = {
    { "shape follows (lo + hi) / 2", test_shape },
    { "intersection checker catches a disjoint pair", test_checker_catches_disjoint },
    { "all quorums intersect, N = 1..15", test_quorums_intersect },
    { "N = 31 has 65535 quorums", test_enumeration_n31 },
    { "enumeration stops when told", test_enumeration_stops_early },
    { "formation matches brute force, N <= 12", test_formation_exhaustive },
    { "availability equals brute force, N <= 12", test_availability_brute_force },
    { "availability reference values", test_availability_references },
    { "steering toward a member", test_steering_toward_member },
    { "steering tie-breaks", test_steering_ties },
    { "minimum quorum size", test_min_quorum_size },
    { "sparse member ids", test_sparse_ids },
    { "bad input", test_bad_input },
    { "large trees form the reference quorum", test_formation_large_matches_reference },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return dm_test_run("tree", tests);
}
