/* dmutex core: majority quorums (quorum.h), the system a reader compares the
 * others against.
 *
 * A quorum is any k = floor(n/2) + 1 of the n members: two sets of k members
 * of n cannot be disjoint, since 2k > n. Every quorum has exactly k members,
 * and a quorum exists while at least k members are usable, so it tolerates
 * n - k failures, the most any quorum system can -- at the price of asking
 * about half the cluster for every acquisition. Availability is the exact
 * binomial tail P(X >= k), X ~ Binomial(n, p).
 */
#include "quorum.h"

#include <glib.h>

#include "error.h"

typedef struct majority {
    uint32_t n;
    const uint32_t *ids;    /* the wrapper's (quorum.h) */
} majority;

static uint32_t quorum_size(const majority *m)
{
    return m->n / 2 + 1;
}

static int majority_create(const uint32_t *ids, uint32_t count, void **state)
{
    if (!ids || count == 0 || !state)
        return -DM_EINVAL;
    majority *m = g_try_new(majority, 1);
    if (!m)
        return -DM_ENOMEM;
    m->n = count;
    m->ids = ids;
    *state = m;
    return 0;
}

static void majority_destroy(void *state)
{
    g_free(state);
}

static bool usable(const uint8_t *unusable, uint32_t id)
{
    return !unusable || !unusable[id];
}

static int32_t weight(const int32_t *preference, uint32_t id)
{
    return preference ? preference[id] : 0;
}

/* The k usable members of largest preference (ties: lower id first) are
 * those that fewer than k usable members beat. Counting, for each member,
 * the members that beat it costs n^2 comparisons for a cluster of tens of
 * members, needs no scratch memory, and writes the quorum in ascending id
 * order. Picking the k largest weights maximises the quorum's preference
 * sum, which is what the hint asks. */
static int majority_form(const void *state, const dm_quorum_hint *hint, uint32_t *out, uint32_t cap)
{
    const majority *m = state;
    const uint8_t *unusable = hint ? hint->unusable : NULL;
    const int32_t *preference = hint ? hint->preference : NULL;
    uint32_t k = quorum_size(m), len = 0;
    if (!out && cap > 0)
        return -DM_EINVAL;
    for (uint32_t i = 0; i < m->n; i++) {
        uint32_t id = m->ids[i];
        if (!usable(unusable, id))
            continue;
        int32_t w = weight(preference, id);
        uint32_t beaten_by = 0;
        for (uint32_t j = 0; j < m->n && beaten_by < k; j++) {
            uint32_t other = m->ids[j];
            int32_t v = weight(preference, other);
            if (usable(unusable, other) && (v > w || (v == w && j < i)))
                beaten_by++;
        }
        if (beaten_by >= k)
            continue;
        if (len < cap)
            out[len] = id;
        len++;
    }
    if (len < k)
        return -DM_ENOQUORUM;
    return len > cap ? -DM_EINVAL : (int)len;
}

static bool majority_exists(const void *state, const uint8_t *unusable)
{
    const majority *m = state;
    uint32_t up = 0;
    for (uint32_t i = 0; i < m->n; i++)
        up += usable(unusable, m->ids[i]);
    return up >= quorum_size(m);
}

static void majority_size_bounds(const void *state, uint32_t *min, uint32_t *max)
{
    *min = *max = quorum_size(state);
}

/* C(n, j) p^j (1-p)^(n-j) as a product of j ratios (n-j+i)/i >= 1 and n
 * factors p or 1-p <= 1. Taking a ratio while the product is below 1 and a
 * small factor otherwise keeps the running product within [smallest factor,
 * n] until only small factors remain, so no step overflows, and none
 * underflows before the term itself would: the sum below stays exact to a
 * few ulps for any n, where C(n, j) alone overflows a double past n = 1029. */
static double binomial_term(uint32_t n, uint32_t j, double p)
{
    double x = 1.0;
    uint32_t ratios = 0, ps = 0, qs = 0;
    while (ratios < j || ps < j || qs < n - j) {
        bool small_left = ps < j || qs < n - j;
        if (ratios < j && (x < 1.0 || !small_left)) {
            ratios++;
            x *= (double)(n - j + ratios) / ratios;
        } else if (ps < j) {
            ps++;
            x *= p;
        } else {
            qs++;
            x *= 1.0 - p;
        }
    }
    return x;
}

/* Exact: the binomial tail, n - k + 1 terms of O(n) factors each. */
static double majority_availability(const void *state, double p, bool *exact)
{
    const majority *m = state;
    double a = 0.0;
    for (uint32_t j = quorum_size(m); j <= m->n; j++)
        a += binomial_term(m->n, j, p);
    *exact = true;
    return a > 1.0 ? 1.0 : a;
}

const dm_quorum_ops dm_quorum_majority_ops = {
    .name = "majority",
    .summary = "majority: any floor(N/2)+1 members, the most failures tolerated",
    .create = majority_create,
    .destroy = majority_destroy,
    .form = majority_form,
    .exists = majority_exists,
    .size_bounds = majority_size_bounds,
    .availability = majority_availability,
};
