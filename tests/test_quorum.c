/* dmutex tests: every built-in quorum system (core/quorum.h) against what the
 * lock protocol relies on.
 *
 * The generic tests walk dm_quorum_builtin(), so a system added to the
 * registry is held to the same rules without editing this file: for N = 1..12
 * and every one of the 2^N patterns of unusable members, under a few
 * preferences, form() must succeed exactly when exists() says so, return
 * distinct usable members of its list within size_bounds(), and every two
 * quorums it ever returns must intersect; availability() must match the
 * brute-force sum over the 2^N patterns (N <= 16) and grow with p. Then a few values
 * worked out by hand per system, and two deliberately broken systems that
 * the checker must reject, so that a pass means something.
 */
#include <glib.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "prng.h"
#include "quorum.h"
#include "testlib.h"
#include "tree.h"

/* Quorums are bit masks over positions in the member list (bit i: ids[i]);
 * ids themselves stay below MAX_ID so that hint arrays are small. */
enum { MAX_N = 12, MAX_ID = 64 };

static uint64_t bit(uint32_t i)
{
    return (uint64_t)1 << i;
}

static int popcount(uint64_t m)
{
    int k = 0;
    for (; m; m &= m - 1)
        k++;
    return k;
}

static const uint32_t dense_ids[MAX_ID] = {
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
    32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,
    48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63,
};

static dm_quorum *build(const dm_quorum_ops *ops, const uint32_t *ids, uint32_t n)
{
    dm_quorum *q = NULL;
    CU_ASSERT_EQUAL_FATAL(dm_quorum_new(ops, ids, n, &q), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    return q;
}

/* Over 0..n-1, for any n. */
static dm_quorum *build_dense(const dm_quorum_ops *ops, uint32_t n)
{
    uint32_t *ids = g_new(uint32_t, n);
    for (uint32_t i = 0; i < n; i++)
        ids[i] = i;
    dm_quorum *q = build(ops, ids, n);
    g_free(ids);
    return q;
}

/* A failed check that names the system and what broke. */
static void fail_with(const char *what)
{
    CU_assertImplementation(CU_FALSE, __LINE__, what, __FILE__, "", CU_FALSE);
}

/* ---- the survey: everything form() and exists() do over 2^N patterns ---- */

typedef struct survey {
    uint32_t placement;         /* the placement surveyed (core/quorum.h) */
    char violation[200];        /* the first rule broken; empty when none */
    GArray *quorums;            /* distinct masks formed, sorted */
    bool *exists;               /* exists() by pattern (bit i: ids[i] unusable) */
    uint32_t min, max;          /* size_bounds() */
    uint32_t min_seen, max_seen;
} survey;

static gint mask_cmp(gconstpointer a, gconstpointer b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void violate(survey *s, const dm_quorum *q, const char *rule, uint64_t down, int mode)
{
    if (!s->violation[0])
        snprintf(s->violation, sizeof s->violation,
                 "%s, N = %u, placement %u, unusable mask %#llx, hint %d: %s", dm_quorum_name(q),
                 dm_quorum_count(q), s->placement, (unsigned long long)down, mode, rule);
}

/* Check one formation against the rules; returns its mask (0: none). */
static uint64_t check_formed(survey *s, const dm_quorum *q, const dm_quorum_hint *hint, uint64_t down,
                             int mode)
{
    uint32_t n = dm_quorum_count(q), out[MAX_ID];
    const uint32_t *ids = dm_quorum_ids(q);
    int rc = dm_quorum_form_at(q, s->placement, hint, out, n);
    if (!s->exists[down]) {
        if (rc != -DM_ENOQUORUM)
            violate(s, q, "formed although exists() says no quorum", down, mode);
        return 0;
    }
    if (rc <= 0) {
        violate(s, q, "no quorum although exists() says one exists", down, mode);
        return 0;
    }
    uint64_t mask = 0;
    for (int k = 0; k < rc; k++) {
        uint32_t pos = n;
        for (uint32_t i = 0; i < n; i++)
            if (ids[i] == out[k])
                pos = i;
        if (pos == n)
            violate(s, q, "returned an id that is not a member", down, mode);
        else if (mask & bit(pos))
            violate(s, q, "returned a member twice", down, mode);
        else if (down & bit(pos))
            violate(s, q, "returned an unusable member", down, mode);
        else
            mask |= bit(pos);
    }
    uint32_t size = (uint32_t)rc;
    if (size < s->min || size > s->max)
        violate(s, q, "size outside size_bounds()", down, mode);
    s->min_seen = size < s->min_seen ? size : s->min_seen;
    s->max_seen = size > s->max_seen ? size : s->max_seen;
    g_array_append_val(s->quorums, mask);
    return mask;
}

/* The hints tried for each pattern: 0 failures only; 1 random preferences
 * in [-10, 10]; 2 one member strongly preferred (a requester being its own
 * arbiter); 3 every member weighted 1 (keep as many as possible). */
enum { MODES = 4 };

static void fill_hint(uint32_t mode, const uint32_t *ids, uint32_t n, uint64_t down, dm_prng *prng,
                      uint8_t *unusable, int32_t *preference)
{
    for (uint32_t i = 0; i < n; i++) {
        unusable[ids[i]] = (down >> i) & 1;
        switch (mode) {
        case 1: preference[ids[i]] = (int32_t)dm_prng_below(prng, 21) - 10; break;
        case 2: preference[ids[i]] = i == down % n ? 1000 : 0; break;
        default: preference[ids[i]] = 1; break;
        }
    }
}

static void survey_run(const dm_quorum_ops *ops, const uint32_t *ids, uint32_t n,
                       uint32_t placement, survey *s)
{
    dm_quorum *q = build(ops, ids, n);
    memset(s, 0, sizeof *s);
    s->placement = placement;
    s->quorums = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    s->exists = g_new(bool, (size_t)1 << n);
    dm_quorum_size_bounds(q, &s->min, &s->max);
    s->min_seen = UINT32_MAX;
    dm_prng prng;
    dm_prng_seed(&prng, 1985);
    uint8_t unusable[MAX_ID] = { 0 };
    int32_t preference[MAX_ID] = { 0 };

    if (s->min > s->max || s->max > n)
        violate(s, q, "size_bounds() inconsistent", 0, -1);
    uint32_t out[MAX_ID];
    if (dm_quorum_form_at(q, placement, NULL, out, n) <= 0 ||
        !dm_quorum_exists_at(q, placement, NULL))
        violate(s, q, "no quorum with every member usable", 0, -1);

    for (uint64_t down = 0; down < (uint64_t)1 << n; down++) {
        fill_hint(0, ids, n, down, &prng, unusable, preference);
        s->exists[down] = dm_quorum_exists_at(q, placement, unusable);
        for (uint32_t mode = 0; mode < MODES; mode++) {
            fill_hint(mode, ids, n, down, &prng, unusable, preference);
            dm_quorum_hint hint = { unusable, mode == 0 ? NULL : preference };
            uint64_t first = check_formed(s, q, &hint, down, (int)mode);
            /* Deterministic: the same hint gives the same quorum. */
            if (check_formed(s, q, &hint, down, (int)mode) != first)
                violate(s, q, "two calls with one hint gave different quorums", down, (int)mode);
        }
    }

    g_array_sort(s->quorums, mask_cmp);
    guint kept = 0;
    for (guint i = 0; i < s->quorums->len; i++) {
        uint64_t m = g_array_index(s->quorums, uint64_t, i);
        if (kept == 0 || g_array_index(s->quorums, uint64_t, kept - 1) != m)
            g_array_index(s->quorums, uint64_t, kept++) = m;
    }
    g_array_set_size(s->quorums, kept);

    /* Every two quorums ever formed, whatever each former believed. */
    const uint64_t *m = (const uint64_t *)s->quorums->data;
    for (guint i = 0; i < kept && !s->violation[0]; i++)
        for (guint j = i + 1; j < kept; j++)
            if (!(m[i] & m[j])) {
                char rule[80];
                snprintf(rule, sizeof rule, "quorums %#llx and %#llx are disjoint",
                         (unsigned long long)m[i], (unsigned long long)m[j]);
                violate(s, q, rule, 0, -1);
                break;
            }
    if (s->min_seen != s->min || s->max_seen != s->max)
        violate(s, q, "size_bounds() not attained by any formed quorum", 0, -1);
    dm_quorum_free(q);
}

static void survey_free(survey *s)
{
    g_array_free(s->quorums, TRUE);
    g_free(s->exists);
}

static void assert_clean(const survey *s)
{
    if (s->violation[0])
        fail_with(s->violation);
}

static void test_formation_exhaustive(void)
{
    for (size_t k = 0; k < dm_quorum_builtin_count(); k++)
        for (uint32_t n = 1; n <= MAX_N; n++) {
            survey s;
            survey_run(dm_quorum_builtin(k), dense_ids, n, 0, &s);
            assert_clean(&s);
            survey_free(&s);
        }
}

/* ---- placements: every placement is the system renamed ---- */

/* The same survey in every placement, over dense and sparse ids. */
static void test_placements_exhaustive(void)
{
    static const uint32_t sparse[] = { 2, 3, 7, 11, 12, 20, 31, 40, 41 };
    for (size_t k = 0; k < dm_quorum_builtin_count(); k++)
        for (uint32_t n = 1; n <= 9; n++)
            for (int dense = 0; dense < 2; dense++) {
                const uint32_t *ids = dense ? dense_ids : sparse;
                dm_quorum *q = build(dm_quorum_builtin(k), ids, n);
                uint32_t placements = dm_quorum_placements(q);
                dm_quorum_free(q);
                CU_ASSERT_EQUAL(placements, n);
                for (uint32_t pl = 0; pl < placements; pl++) {
                    survey s;
                    survey_run(dm_quorum_builtin(k), ids, n, pl, &s);
                    assert_clean(&s);
                    survey_free(&s);
                }
            }
}

/* Placement k is placement 0 with every member moved k places along the
 * list: forming in k under a hint equals forming in 0 under the hint moved
 * back, then moving the result forward. Placement 0 is the system as built. */
static void test_placement_is_rotation(void)
{
    static const uint32_t sparse[] = { 1, 4, 5, 9, 10, 17, 23, 30, 33, 34, 50 };
    dm_prng prng;
    dm_prng_seed(&prng, 7);
    for (size_t k = 0; k < dm_quorum_builtin_count(); k++) {
        const uint32_t n = G_N_ELEMENTS(sparse);
        dm_quorum *q = build(dm_quorum_builtin(k), sparse, n);
        for (uint32_t pl = 0; pl < n; pl++) {
            for (int trial = 0; trial < 50; trial++) {
                uint8_t un[MAX_ID] = { 0 }, back_un[MAX_ID] = { 0 };
                int32_t pref[MAX_ID] = { 0 }, back_pref[MAX_ID] = { 0 };
                for (uint32_t i = 0; i < n; i++) {
                    un[sparse[i]] = dm_prng_below(&prng, 4) == 0;
                    pref[sparse[i]] = (int32_t)dm_prng_below(&prng, 5);
                }
                for (uint32_t i = 0; i < n; i++) {
                    back_un[sparse[i]] = un[sparse[(i + pl) % n]];
                    back_pref[sparse[i]] = pref[sparse[(i + pl) % n]];
                }
                dm_quorum_hint hint = { un, pref }, back = { back_un, back_pref };
                uint32_t got[MAX_ID], base[MAX_ID];
                int a = dm_quorum_form_at(q, pl, &hint, got, n);
                int b = dm_quorum_form(q, &back, base, n);
                CU_ASSERT_EQUAL(a, b);
                CU_ASSERT_EQUAL(dm_quorum_exists_at(q, pl, un), dm_quorum_exists(q, back_un));
                for (int j = 0; j < a && a == b; j++) {
                    uint32_t pos = 0;
                    while (sparse[pos] != base[j])
                        pos++;
                    CU_ASSERT_EQUAL(got[j], sparse[(pos + pl) % n]);
                }
            }
        }
        uint32_t out[MAX_ID];
        CU_ASSERT_EQUAL(dm_quorum_form_at(q, n, NULL, out, n), -DM_EINVAL);
        CU_ASSERT_FALSE(dm_quorum_exists_at(q, n, NULL));
        dm_quorum_free(q);
    }
}

/* What the placements are for: with one placement per member, every member
 * is in exactly as many failure-free quorums as any other (the tree's root
 * in particular is a different member in each), and beyond
 * DM_QUORUM_PLACEMENTS_MAX members the placements stay capped and distinct. */
static void test_placements_spread_load(void)
{
    for (size_t k = 0; k < dm_quorum_builtin_count(); k++)
        for (uint32_t n = 1; n <= 40; n++) {
            dm_quorum *q = build_dense(dm_quorum_builtin(k), n);
            uint32_t *count = g_new0(uint32_t, n), *out = g_new(uint32_t, n);
            for (uint32_t pl = 0; pl < dm_quorum_placements(q); pl++) {
                int size = dm_quorum_form_at(q, pl, NULL, out, n);
                CU_ASSERT_TRUE_FATAL(size > 0);
                for (int j = 0; j < size; j++)
                    count[out[j]]++;
            }
            for (uint32_t i = 1; i < n; i++)
                if (count[i] != count[0]) {
                    fail_with(dm_quorum_name(q));
                    break;
                }
            g_free(count);
            g_free(out);
            dm_quorum_free(q);
        }
    dm_quorum *q = build_dense(&dm_quorum_tree_ops, 200);
    CU_ASSERT_EQUAL(dm_quorum_placements(q), DM_QUORUM_PLACEMENTS_MAX);
    uint32_t out[200], roots[DM_QUORUM_PLACEMENTS_MAX];
    for (uint32_t pl = 0; pl < DM_QUORUM_PLACEMENTS_MAX; pl++) {
        CU_ASSERT_TRUE(dm_quorum_form_at(q, pl, NULL, out, 200) > 0);
        roots[pl] = out[0];
        for (uint32_t j = 0; j < pl; j++)
            CU_ASSERT_NOT_EQUAL(roots[j], roots[pl]);
    }
    /* A name's placement is its key modulo the placements. */
    CU_ASSERT_EQUAL(dm_quorum_placement(q, 130), 130 % DM_QUORUM_PLACEMENTS_MAX);
    dm_quorum_free(q);
}

/* ---- availability ---- */

static double brute_availability(const bool *exists, uint32_t n, double p)
{
    double a = 0;
    for (uint64_t down = 0; down < (uint64_t)1 << n; down++)
        if (exists[down]) {
            int k = popcount(down);
            a += pow(p, (double)(n - (uint32_t)k)) * pow(1 - p, k);
        }
    return a;
}

/* exists() for every pattern of unusable members of a system over 0..n-1
 * (bit i: member i unusable). */
static bool *exists_table(const dm_quorum *q)
{
    uint32_t n = dm_quorum_count(q);
    bool *exists = g_new(bool, (size_t)1 << n);
    uint8_t unusable[MAX_ID];
    for (uint64_t down = 0; down < (uint64_t)1 << n; down++) {
        for (uint32_t i = 0; i < n; i++)
            unusable[i] = (down >> i) & 1;
        exists[down] = dm_quorum_exists(q, unusable);
    }
    return exists;
}

/* exists() is held to form() by the survey for N <= 12; it is cheap enough
 * to take the brute force a little further, past the grid's first short
 * row of a 4-column layout (N = 13) to the 4 x 4 square. */
enum { BRUTE_N = 16 };

static void test_availability_brute_force(void)
{
    static const double ps[] = { 0.3, 0.5, 0.7, 0.9, 0.99 };
    for (size_t k = 0; k < dm_quorum_builtin_count(); k++)
        for (uint32_t n = 1; n <= BRUTE_N; n++) {
            dm_quorum *q = build(dm_quorum_builtin(k), dense_ids, n);
            bool *exists = exists_table(q);
            for (size_t i = 0; i < G_N_ELEMENTS(ps); i++) {
                bool exact;
                double a = dm_quorum_availability(q, ps[i], &exact);
                /* An estimate must still land near the truth. */
                CU_ASSERT_DOUBLE_EQUAL(a, brute_availability(exists, n, ps[i]), exact ? 1e-12 : 0.02);
            }
            g_free(exists);
            dm_quorum_free(q);
        }
}

/* In [0, 1], 0 when every member is down, 1 when every member is up, and
 * never falling as p rises -- beyond the sizes brute force reaches too. */
static void test_availability_monotone(void)
{
    static const uint32_t big[] = { 63, 100, 255 };
    for (size_t k = 0; k < dm_quorum_builtin_count(); k++)
        for (uint32_t n = 1; n <= 40 + G_N_ELEMENTS(big); n++) {
            uint32_t size = n <= 40 ? n : big[n - 41];
            dm_quorum *q = build_dense(dm_quorum_builtin(k), size);
            double prev = 0;
            for (int step = 0; step <= 20; step++) {
                bool exact;
                double a = dm_quorum_availability(q, step / 20.0, &exact);
                CU_ASSERT(a >= 0 && a <= 1);
                CU_ASSERT(a >= prev - 1e-12);
                if (step == 0)
                    CU_ASSERT_DOUBLE_EQUAL(a, 0, 1e-15);
                if (step == 20)
                    CU_ASSERT_DOUBLE_EQUAL(a, 1, 1e-12);
                prev = a;
            }
            dm_quorum_free(q);
        }
}

/* ---- member lists ---- */

static void test_sparse_ids(void)
{
    static const uint32_t three[] = { 3, 8, 20 };
    static const uint32_t seven[] = { 3, 8, 20, 21, 40, 41, 63 };
    for (size_t k = 0; k < dm_quorum_builtin_count(); k++) {
        const dm_quorum_ops *ops = dm_quorum_builtin(k);
        survey s;
        survey_run(ops, three, 3, 0, &s);
        assert_clean(&s);
        survey_free(&s);
        survey_run(ops, seven, 7, 0, &s);
        assert_clean(&s);
        /* Ids are opaque: the availability is that of 0..6. */
        dm_quorum *sparse = build(ops, seven, 7), *dense = build(ops, dense_ids, 7);
        bool e1, e2;
        CU_ASSERT_DOUBLE_EQUAL(dm_quorum_availability(sparse, 0.8, &e1),
                               dm_quorum_availability(dense, 0.8, &e2), 1e-15);
        CU_ASSERT_EQUAL(dm_quorum_max_id(sparse), 63);
        dm_quorum_free(sparse);
        dm_quorum_free(dense);
        survey_free(&s);
    }
}

static void test_bad_lists(void)
{
    for (size_t k = 0; k < dm_quorum_builtin_count(); k++) {
        const dm_quorum_ops *ops = dm_quorum_builtin(k);
        dm_quorum *q = (dm_quorum *)&q;     /* must be left alone */
        CU_ASSERT_EQUAL(dm_quorum_new(ops, (uint32_t[]){ 2, 1, 3 }, 3, &q), -DM_EINVAL);
        CU_ASSERT_EQUAL(dm_quorum_new(ops, (uint32_t[]){ 1, 3, 3 }, 3, &q), -DM_EINVAL);
        CU_ASSERT_EQUAL(dm_quorum_new(ops, (uint32_t[]){ 4, 4 }, 2, &q), -DM_EINVAL);
        CU_ASSERT_EQUAL(dm_quorum_new(ops, dense_ids, 0, &q), -DM_EINVAL);
        CU_ASSERT_EQUAL(dm_quorum_new(ops, NULL, 3, &q), -DM_EINVAL);
        CU_ASSERT_EQUAL(dm_quorum_new(ops, dense_ids, 3, NULL), -DM_EINVAL);
        CU_ASSERT_PTR_EQUAL(q, (dm_quorum *)&q);
    }
}

/* Too small an output array is -DM_EINVAL, no quorum at all -DM_ENOQUORUM
 * whatever the array. */
static void test_output_capacity(void)
{
    for (size_t k = 0; k < dm_quorum_builtin_count(); k++) {
        dm_quorum *q = build(dm_quorum_builtin(k), dense_ids, 7);
        uint32_t out[7];
        int size = dm_quorum_form(q, NULL, out, 7);
        CU_ASSERT_FATAL(size > 0);
        CU_ASSERT_EQUAL(dm_quorum_form(q, NULL, out, (uint32_t)size), size);
        CU_ASSERT_EQUAL(dm_quorum_form(q, NULL, out, (uint32_t)size - 1), -DM_EINVAL);
        CU_ASSERT_EQUAL(dm_quorum_form(q, NULL, NULL, 7), -DM_EINVAL);
        uint8_t all[7] = { 1, 1, 1, 1, 1, 1, 1 };
        dm_quorum_hint hint = { all, NULL };
        CU_ASSERT_EQUAL(dm_quorum_form(q, &hint, out, 7), -DM_ENOQUORUM);
        CU_ASSERT(!dm_quorum_exists(q, all));
        dm_quorum_free(q);
    }
}

/* ---- the registry ---- */

static void test_registry(void)
{
    size_t count = dm_quorum_builtin_count();
    CU_ASSERT_PTR_EQUAL(dm_quorum_builtin(0), &dm_quorum_tree_ops);
    CU_ASSERT_PTR_NULL(dm_quorum_builtin(count));
    CU_ASSERT_PTR_EQUAL(dm_quorum_lookup("majority"), &dm_quorum_majority_ops);
    CU_ASSERT_PTR_EQUAL(dm_quorum_lookup("grid"), &dm_quorum_grid_ops);
    CU_ASSERT_PTR_NULL(dm_quorum_lookup("nope"));
    CU_ASSERT_PTR_NULL(dm_quorum_lookup(NULL));
    for (size_t k = 0; k < count; k++) {
        const dm_quorum_ops *ops = dm_quorum_builtin(k);
        CU_ASSERT_PTR_EQUAL(dm_quorum_lookup(ops->name), ops);
        CU_ASSERT(ops->summary && ops->summary[0]);
        dm_quorum *q = build(ops, dense_ids, 5);
        CU_ASSERT_STRING_EQUAL(dm_quorum_name(q), ops->name);
        CU_ASSERT_PTR_EQUAL(dm_quorum_get_ops(q), ops);
        dm_quorum_free(q);
    }
    dm_quorum *q = build(NULL, dense_ids, 5);
    CU_ASSERT_STRING_EQUAL(dm_quorum_name(q), "tree");
    dm_quorum_free(q);
}

/* ---- known values, system by system ---- */

static double availability_of(const dm_quorum_ops *ops, uint32_t n, double p)
{
    dm_quorum *q = build_dense(ops, n);
    bool exact = false;
    double a = dm_quorum_availability(q, p, &exact);
    CU_ASSERT(exact);
    dm_quorum_free(q);
    return a;
}

static void test_tree_values(void)
{
    for (uint32_t n = 1; n <= 40; n++) {
        dm_quorum *q = build(&dm_quorum_tree_ops, dense_ids, n);
        bool exact;
        for (double p = 0.05; p < 1; p += 0.15)
            CU_ASSERT_DOUBLE_EQUAL(dm_quorum_availability(q, p, &exact),
                                   dm_tree_availability(dm_quorum_state(q), p), 1e-15);
        dm_quorum_free(q);
    }
    /* REFERENCES.md, AE section. */
    CU_ASSERT_DOUBLE_EQUAL(availability_of(&dm_quorum_tree_ops, 15, 0.9), 0.9987235376, 1e-9);
}

/* The quorum formed, compared to a list. */
static void assert_formed(const dm_quorum_ops *ops, uint32_t n, const dm_quorum_hint *hint,
                          const uint32_t *want, int size)
{
    dm_quorum *q = build(ops, dense_ids, n);
    uint32_t out[MAX_ID];
    int rc = dm_quorum_form(q, hint, out, MAX_ID);
    CU_ASSERT_EQUAL(rc, size);
    for (int i = 0; i < size && i < rc; i++)
        CU_ASSERT_EQUAL(out[i], want[i]);
    dm_quorum_free(q);
}

static void assert_bounds(const dm_quorum_ops *ops, uint32_t n, uint32_t min, uint32_t max)
{
    dm_quorum *q = build(ops, dense_ids, n);
    uint32_t lo, hi;
    dm_quorum_size_bounds(q, &lo, &hi);
    CU_ASSERT_EQUAL(lo, min);
    CU_ASSERT_EQUAL(hi, max);
    dm_quorum_free(q);
}

static void test_majority_values(void)
{
    const dm_quorum_ops *ops = &dm_quorum_majority_ops;
    /* N = 5, p = 0.9: P(at least 3 up) = C(5,3) .9^3 .1^2 + C(5,4) .9^4 .1
     * + .9^5 = 0.0729 + 0.32805 + 0.59049 = 0.99144. */
    CU_ASSERT_DOUBLE_EQUAL(availability_of(ops, 5, 0.9), 0.99144, 1e-12);
    /* N = 1, 2: every member; N = 3: 3p^2 - 2p^3. */
    CU_ASSERT_DOUBLE_EQUAL(availability_of(ops, 1, 0.9), 0.9, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(availability_of(ops, 2, 0.9), 0.81, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(availability_of(ops, 3, 0.9), 3 * 0.81 - 2 * 0.729, 1e-15);
    /* Symmetric around 1/2 for odd N, and a big N does not overflow C(n, k):
     * C(2001, 1001) is about 1e601. */
    CU_ASSERT_DOUBLE_EQUAL(availability_of(ops, 9, 0.5), 0.5, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(availability_of(ops, 2001, 0.5), 0.5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(availability_of(ops, 2001, 0.6), 1, 1e-12);
    assert_bounds(ops, 1, 1, 1);
    assert_bounds(ops, 8, 5, 5);
    assert_bounds(ops, 9, 5, 5);

    /* The largest preferences, ties to the lower id, written ascending. */
    assert_formed(ops, 5, NULL, (uint32_t[]){ 0, 1, 2 }, 3);
    int32_t pref[6] = { 0, 0, 0, 0, 7, 7 };
    uint8_t unusable[6] = { 0, 1, 0, 0, 0, 0 };
    dm_quorum_hint hint = { unusable, pref };
    assert_formed(ops, 6, &hint, (uint32_t[]){ 0, 2, 4, 5 }, 4);
    pref[0] = -1;
    assert_formed(ops, 6, &hint, (uint32_t[]){ 2, 3, 4, 5 }, 4);
    unusable[3] = 1;
    assert_formed(ops, 6, &hint, (uint32_t[]){ 0, 2, 4, 5 }, 4);
    unusable[0] = 1;
    assert_formed(ops, 6, &hint, NULL, -DM_ENOQUORUM);

    /* Every majority, and nothing else, is formed. */
    for (uint32_t n = 1; n <= MAX_N; n++) {
        survey s;
        survey_run(ops, dense_ids, n, 0, &s);
        uint64_t want = 1;      /* C(n, k) */
        for (uint32_t i = 0; i < n / 2 + 1; i++)
            want = want * (n - i) / (i + 1);
        CU_ASSERT_EQUAL(s.quorums->len, want);
        guint wrong_size = 0;
        for (guint i = 0; i < s.quorums->len; i++)
            wrong_size += popcount(g_array_index(s.quorums, uint64_t, i)) != (int)(n / 2 + 1);
        CU_ASSERT_EQUAL(wrong_size, 0);
        survey_free(&s);
    }
}

/* Row i plus column j of the row-major layout with c = ceil(sqrt(n))
 * columns, written here from the definition, not from the implementation. */
static uint64_t grid_quorum(uint32_t n, uint32_t c, uint32_t i, uint32_t j)
{
    uint64_t m = 0;
    for (uint32_t k = 0; k < n; k++)
        if (k / c == i || k % c == j)
            m |= bit(k);
    return m;
}

static void test_grid_values(void)
{
    const dm_quorum_ops *ops = &dm_quorum_grid_ops;
    /* N = 4, a 2 x 2 grid: a row plus a column is any 3 of the 4 members,
     * so A = p^4 + 4 p^3 (1-p) = 4p^3 - 3p^4; at p = 0.9, 0.9477. */
    CU_ASSERT_DOUBLE_EQUAL(availability_of(ops, 4, 0.9), 0.9477, 1e-12);
    /* N = 9, a 3 x 3 grid. Inclusion-exclusion over a non-empty set of a
     * rows and b columns all up: they cover 3a + 3b - ab members, so
     *   A = sum over a, b in 1..3 of (-1)^(a+b) C(3,a) C(3,b) p^(3a+3b-ab)
     *     = 9p^5 - 18p^7 + 9p^8 + (3 + 3 - 3 - 3 + 1) p^9
     *     = 9p^5 - 18p^7 + 9p^8 + p^9          (1 at p = 1),
     * at p = 0.9: 5.31441 - 8.6093442 + 3.87420489 + 0.387420489 = 0.966691179. */
    CU_ASSERT_DOUBLE_EQUAL(availability_of(ops, 9, 0.9), 0.966691179, 1e-12);
    double p = 0.99;
    CU_ASSERT_DOUBLE_EQUAL(availability_of(ops, 9, p),
                           9 * pow(p, 5) - 18 * pow(p, 7) + 9 * pow(p, 8) + pow(p, 9), 1e-12);
    /* N = 3 lays out as [0 1] [2]: the quorums {0,1,2}, {0,1}, {0,2}, {1,2}
     * contain every pair, so the grid is the majority of three. */
    CU_ASSERT_DOUBLE_EQUAL(availability_of(ops, 3, 0.9), 3 * 0.81 - 2 * 0.729, 1e-15);

    /* Square: 2 sqrt(N) - 1. N = 7 is [0 1 2] [3 4 5] [6]: a full row with
     * column 0 is 5, the short row {6} with any column 3. N = 10 is
     * [0 1 2 3] [4 5 6 7] [8 9]: 4 + 3 - 1 = 6 down to 2 + 2 = 4. */
    assert_bounds(ops, 1, 1, 1);
    assert_bounds(ops, 9, 5, 5);
    assert_bounds(ops, 16, 7, 7);
    assert_bounds(ops, 7, 3, 5);
    assert_bounds(ops, 10, 4, 6);

    /* No preference: the smallest quorum, then the lowest row and column.
     * A member that prefers itself gets its own row and column (the tie
     * over every quorum holding it goes to the one that crosses at it). */
    assert_formed(ops, 9, NULL, (uint32_t[]){ 0, 1, 2, 3, 6 }, 5);
    assert_formed(ops, 7, NULL, (uint32_t[]){ 0, 3, 6 }, 3);
    int32_t pref[9] = { [4] = 100 };
    uint8_t unusable[9] = { 0 };
    dm_quorum_hint hint = { unusable, pref };
    assert_formed(ops, 9, &hint, (uint32_t[]){ 1, 3, 4, 5, 7 }, 5);
    /* Member 3 unusable: row 1 is out, column 1 still holds member 4; of
     * rows 0 and 2, the lower. */
    unusable[3] = 1;
    assert_formed(ops, 9, &hint, (uint32_t[]){ 0, 1, 2, 4, 7 }, 5);
    /* A whole column down: no column is usable, so no quorum. */
    unusable[3] = 0;
    unusable[1] = unusable[5] = unusable[6] = 1;
    assert_formed(ops, 9, &hint, NULL, -DM_ENOQUORUM);

    /* Exactly the row-plus-column sets are formed, for every N <= 12. */
    for (uint32_t n = 1; n <= MAX_N; n++) {
        uint32_t c = 1;
        while (c * c < n)
            c++;
        GArray *want = g_array_new(FALSE, FALSE, sizeof(uint64_t));
        for (uint32_t i = 0; i * c < n; i++)
            for (uint32_t j = 0; j < c; j++) {
                uint64_t m = grid_quorum(n, c, i, j);
                g_array_append_val(want, m);
            }
        g_array_sort(want, mask_cmp);
        survey s;
        survey_run(ops, dense_ids, n, 0, &s);
        guint kept = 0;
        for (guint i = 0; i < want->len; i++)
            if (kept == 0 || g_array_index(want, uint64_t, kept - 1) != g_array_index(want, uint64_t, i))
                g_array_index(want, uint64_t, kept++) = g_array_index(want, uint64_t, i);
        CU_ASSERT(s.quorums->len == kept && memcmp(s.quorums->data, want->data, kept * sizeof(uint64_t)) == 0);
        survey_free(&s);
        g_array_free(want, TRUE);
    }
}

/* ---- the checker can fail ---- */

/* Two wrong systems, built here: "minority" forms floor(N/2) members (two
 * halves of an even N are disjoint); "leaky" forms a majority but ignores
 * which members are unusable. */
typedef struct toy {
    uint32_t n;
    uint32_t ids[];
} toy;

static int toy_create(const uint32_t *ids, uint32_t count, void **state)
{
    toy *t = g_malloc(sizeof *t + count * sizeof t->ids[0]);
    t->n = count;
    memcpy(t->ids, ids, count * sizeof ids[0]);
    *state = t;
    return 0;
}

static void toy_destroy(void *state)
{
    g_free(state);
}

static uint32_t toy_usable(const toy *t, const uint8_t *unusable)
{
    uint32_t up = 0;
    for (uint32_t i = 0; i < t->n; i++)
        up += !unusable || !unusable[t->ids[i]];
    return up;
}

static int minority_form(const void *state, const dm_quorum_hint *hint, uint32_t *out, uint32_t cap)
{
    const toy *t = state;
    const uint8_t *unusable = hint ? hint->unusable : NULL;
    uint32_t k = t->n / 2 > 0 ? t->n / 2 : 1, len = 0;
    for (uint32_t i = 0; i < t->n && len < k && len < cap; i++)
        if (!unusable || !unusable[t->ids[i]])
            out[len++] = t->ids[i];
    return len == k ? (int)len : -DM_ENOQUORUM;
}

static bool minority_exists(const void *state, const uint8_t *unusable)
{
    const toy *t = state;
    return toy_usable(t, unusable) >= (t->n / 2 > 0 ? t->n / 2 : 1);
}

static int leaky_form(const void *state, const dm_quorum_hint *hint, uint32_t *out, uint32_t cap)
{
    const toy *t = state;
    if (!minority_exists(state, hint ? hint->unusable : NULL) || cap < t->n / 2 + 1)
        return -DM_ENOQUORUM;
    for (uint32_t i = 0; i < t->n / 2 + 1; i++)
        out[i] = t->ids[i];
    return (int)(t->n / 2 + 1);
}

static bool leaky_exists(const void *state, const uint8_t *unusable)
{
    const toy *t = state;
    return toy_usable(t, unusable) >= t->n / 2 + 1;
}

static void test_broken_systems_caught(void)
{
    const dm_quorum_ops minority = {
        .name = "minority", .summary = "wrong on purpose",
        .create = toy_create, .destroy = toy_destroy,
        .form = minority_form, .exists = minority_exists,
    };
    const dm_quorum_ops leaky = {
        .name = "leaky", .summary = "wrong on purpose",
        .create = toy_create, .destroy = toy_destroy,
        .form = leaky_form, .exists = leaky_exists,
    };
    survey s;
    survey_run(&minority, dense_ids, 4, 0, &s);
    CU_ASSERT_PTR_NOT_NULL(strstr(s.violation, "disjoint"));
    survey_free(&s);
    survey_run(&leaky, dense_ids, 5, 0, &s);
    CU_ASSERT_PTR_NOT_NULL(strstr(s.violation, "unusable member"));
    survey_free(&s);
    /* The same checks pass a system that is right. */
    survey_run(&dm_quorum_majority_ops, dense_ids, 4, 0, &s);
    CU_ASSERT_STRING_EQUAL(s.violation, "");
    survey_free(&s);
}

static const CU_TestInfo tests[] = {
    { "registry lists every built-in system", test_registry },
    { "formation and intersection, every system, N = 1..12", test_formation_exhaustive },
    { "formation and intersection in every placement, N = 1..9", test_placements_exhaustive },
    { "a placement is the system rotated", test_placement_is_rotation },
    { "placements spread the load evenly", test_placements_spread_load },
    { "availability equals brute force, N <= 16", test_availability_brute_force },
    { "availability in [0,1] and monotone in p", test_availability_monotone },
    { "member ids other than 0..n-1", test_sparse_ids },
    { "unsorted, duplicate and empty lists rejected", test_bad_lists },
    { "output capacity and no quorum", test_output_capacity },
    { "tree: the interface gives the tree's values", test_tree_values },
    { "majority: known values and choices", test_majority_values },
    { "grid: known values and choices", test_grid_values },
    { "broken systems are caught", test_broken_systems_caught },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return dm_test_run("quorum", tests);
}
