/* dmutex core: the quorum-system wrapper and the registry of built-in systems
 * (see quorum.h). The wrapper keeps the member list, so that every
 * implementation is handed the same validated input. */
#include "quorum.h"

#include <glib.h>
#include <string.h>

#include "error.h"

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

const dm_quorum_ops *dm_quorum_lookup(const char *name)
{
    for (size_t i = 0; name && i < G_N_ELEMENTS(builtin); i++)
        if (strcmp(builtin[i]->name, name) == 0)
            return builtin[i];
    return NULL;
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
    const char *names[G_N_ELEMENTS(builtin) + 1];
    for (size_t i = 0; i < G_N_ELEMENTS(builtin); i++)
        names[i] = builtin[i]->name;
    names[G_N_ELEMENTS(builtin)] = NULL;
    return g_strjoinv(sep, (char **)names);
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
