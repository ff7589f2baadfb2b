/* dmutex core: the Agrawal-El Abbadi tree as a quorum system (quorum.h).
 *
 * The tree itself lives in core/tree.c, which also offers what only a tree
 * has (its shape, quorum enumeration); this file is the adapter that lets the
 * lock protocol use it like any other system. Sizes: the failure-free
 * quorum is a root-to-leaf path, about log2(N+1); the largest is what the
 * recursion gives when roots keep failing, toward (N+1)/2. Availability is
 * the exact recurrence of DESIGN.md section 3.
 */
#include "quorum.h"
#include "tree.h"

static int tree_create(const uint32_t *ids, uint32_t count, void **state)
{
    dm_tree *t;
    int rc = dm_tree_new(ids, count, &t);
    if (rc < 0)
        return rc;
    *state = t;
    return 0;
}

static void tree_destroy(void *state)
{
    dm_tree_free(state);
}

static int tree_form(const void *state, const dm_quorum_hint *hint, uint32_t *out, uint32_t cap)
{
    return dm_tree_form_quorum(state, hint, out, cap);
}

static bool tree_exists(const void *state, const uint8_t *unusable)
{
    return dm_tree_quorum_exists(state, unusable);
}

/* The largest quorum under root `id`: through a usable root one subtree's
 * largest plus the root, around an unusable one both subtrees' (each must be
 * non-empty). */
static uint32_t largest(const dm_tree *t, uint32_t id)
{
    if (id == DM_TREE_NONE)
        return 0;
    uint32_t l = largest(t, dm_tree_left(t, id)), r = largest(t, dm_tree_right(t, id));
    uint32_t through = 1 + (l > r ? l : r);
    uint32_t around = l > 0 && r > 0 ? l + r : 0;
    return through > around ? through : around;
}

static void tree_size_bounds(const void *state, uint32_t *min, uint32_t *max)
{
    const dm_tree *t = state;
    *min = dm_tree_min_quorum_size(t);
    *max = largest(t, dm_tree_root(t));
}

static double tree_availability(const void *state, double p, bool *exact)
{
    *exact = true;
    return dm_tree_availability(state, p);
}

const dm_quorum_ops dm_quorum_tree_ops = {
    .name = "tree",
    .summary = "Agrawal-El Abbadi tree: a root-to-leaf path, about log2(N+1) members",
    .create = tree_create,
    .destroy = tree_destroy,
    .form = tree_form,
    .exists = tree_exists,
    .size_bounds = tree_size_bounds,
    .availability = tree_availability,
};
