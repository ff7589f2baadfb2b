/* dmutex core: the quorum-system wrapper and the registry of built-in systems
 * (see quorum.h). The wrapper keeps the member list, so that every
 * implementation is handed the same validated input. */
#include "quorum.h"

#include <glib.h>
#include <stddef.h>
#include <string.h>

#include "error.h"
#include "registry.h"

struct dm_quorum {
    const dm_quorum_ops *ops;
    void *state;
    uint32_t count;
    uint32_t ids[];
};

/* The systems dmutex ships with; the first is the default. Adding one is
 * its file plus one line here. */
static const dm_quorum_ops *const builtin[] = {
    &dm_quorum_tree_ops,
    &dm_quorum_majority_ops,
    &dm_quorum_grid_ops,
};

/* registry.c reads `name`, the first member, from every entry. */
_Static_assert(offsetof(dm_quorum_ops, name) == 0, "dm_quorum_ops must start with its name");

const dm_quorum_ops *dm_quorum_lookup(const char *name)
{
    return dm_registry_lookup((const void *const *)builtin, G_N_ELEMENTS(builtin), name);
}

size_t dm_quorum_builtin_count(void)
{
    return G_N_ELEMENTS(builtin);
}

const dm_quorum_ops *dm_quorum_builtin(size_t i)
{
    return i < G_N_ELEMENTS(builtin) ? builtin[i] : NULL;
}

char *dm_quorum_names(const char *sep)
{
    return dm_registry_names((const void *const *)builtin, G_N_ELEMENTS(builtin), sep);
}

int dm_quorum_new(const dm_quorum_ops *ops, const uint32_t *ids, uint32_t count, dm_quorum **out)
{
    if (!ops)
        ops = builtin[0];
    if (!ids || count == 0 || !out || !ops->create || !ops->form || !ops->exists)
        return -DM_EINVAL;
    for (uint32_t i = 1; i < count; i++)
        if (ids[i - 1] >= ids[i])
            return -DM_EINVAL;
    dm_quorum *q = g_try_malloc(sizeof *q + (size_t)count * sizeof q->ids[0]);
    if (!q)
        return -DM_ENOMEM;
    q->ops = ops;
    q->count = count;
    memcpy(q->ids, ids, (size_t)count * sizeof q->ids[0]);
    int rc = ops->create(q->ids, count, &q->state);
    if (rc < 0) {
        g_free(q);
        return rc;
    }
    *out = q;
    return 0;
}

void dm_quorum_free(dm_quorum *q)
{
    if (!q)
        return;
    if (q->ops->destroy)
        q->ops->destroy(q->state);
    g_free(q);
}

const dm_quorum_ops *dm_quorum_get_ops(const dm_quorum *q) { return q->ops; }
const char *dm_quorum_name(const dm_quorum *q) { return q->ops->name; }
uint32_t dm_quorum_count(const dm_quorum *q) { return q->count; }
const uint32_t *dm_quorum_ids(const dm_quorum *q) { return q->ids; }
uint32_t dm_quorum_max_id(const dm_quorum *q) { return q->ids[q->count - 1]; }
const void *dm_quorum_state(const dm_quorum *q) { return q->state; }

int dm_quorum_form(const dm_quorum *q, const dm_quorum_hint *hint, uint32_t *out, uint32_t cap)
{
    if (!out)
        return -DM_EINVAL;
    return q->ops->form(q->state, hint, out, cap);
}

bool dm_quorum_exists(const dm_quorum *q, const uint8_t *unusable)
{
    return q->ops->exists(q->state, unusable);
}

void dm_quorum_size_bounds(const dm_quorum *q, uint32_t *min, uint32_t *max)
{
    uint32_t lo = 1, hi = q->count;
    if (q->ops->size_bounds)
        q->ops->size_bounds(q->state, &lo, &hi);
    if (min)
        *min = lo;
    if (max)
        *max = hi;
}

double dm_quorum_availability(const dm_quorum *q, double p, bool *exact)
{
    bool ex = false;
    double a = q->ops->availability ? q->ops->availability(q->state, p, &ex) : -1.0;
    if (exact)
        *exact = ex;
    return a;
}
