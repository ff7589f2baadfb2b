/* dmutex core: the quorum-system wrapper and the registry of built-in systems
 * (see quorum.h). The wrapper keeps the member list, so that every
 * implementation is handed the same validated input, and it places the
 * members per lock name: an implementation knows one placement only, and
 * the wrapper relabels its inputs and outputs for the others. */
#include "quorum.h"

#include <glib.h>
#include <stddef.h>
#include <string.h>

#include "error.h"
#include "prng.h"
#include "registry.h"

struct dm_quorum {
    const dm_quorum_ops *ops;
    void *state;
    uint32_t count;
    uint32_t placements;
    /* Relabelling scratch, indexed by member id up to the largest: the
     * position of an id in ids[], and the hint as the implementation sees it
     * in a placement. Written by const queries: a dm_quorum serves one
     * thread, as every core object does. */
    uint32_t *pos;
    uint8_t *unusable;
    int32_t *preference;
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

static dm_registry registry = DM_REGISTRY_INIT(builtin);

const dm_quorum_ops *dm_quorum_lookup(const char *name)
{
    return dm_registry_find(&registry, name);
}

int dm_quorum_register(const dm_quorum_ops *ops)
{
    if (!ops || !ops->create || !ops->form || !ops->exists)
        return -DM_EINVAL;
    return dm_registry_add(&registry, ops);
}

size_t dm_quorum_registered_count(void)
{
    return dm_registry_count(&registry);
}

const dm_quorum_ops *dm_quorum_registered(size_t i)
{
    return dm_registry_at(&registry, i);
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
    return dm_registry_list(&registry, sep);
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
    q->placements = MIN(count, DM_QUORUM_PLACEMENTS_MAX);
    memcpy(q->ids, ids, (size_t)count * sizeof q->ids[0]);
    size_t span = (size_t)ids[count - 1] + 1;
    q->pos = g_try_new0(uint32_t, span);
    q->unusable = g_try_new0(uint8_t, span);
    q->preference = g_try_new0(int32_t, span);
    int rc = q->pos && q->unusable && q->preference ? ops->create(q->ids, count, &q->state)
                                                     : -DM_ENOMEM;
    if (rc < 0) {
        g_free(q->pos);
        g_free(q->unusable);
        g_free(q->preference);
        g_free(q);
        return rc;
    }
    for (uint32_t i = 0; i < count; i++)
        q->pos[ids[i]] = i;
    *out = q;
    return 0;
}

void dm_quorum_free(dm_quorum *q)
{
    if (!q)
        return;
    if (q->ops->destroy)
        q->ops->destroy(q->state);
    g_free(q->pos);
    g_free(q->unusable);
    g_free(q->preference);
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

uint32_t dm_quorum_placements(const dm_quorum *q) { return q->placements; }

uint32_t dm_quorum_placement(const dm_quorum *q, uint64_t key)
{
    return (uint32_t)(key % q->placements);
}

/* Placement k shifts every member k * count / placements places along the
 * member list: the implementation's member at position p stands for the
 * member at position p + shift. With one placement per member (up to the
 * cap) every member takes every position once, so the load of a position
 * -- the tree's root above all -- spreads evenly over the members. */
static uint32_t shift_of(const dm_quorum *q, uint32_t placement)
{
    return (uint32_t)((uint64_t)placement * q->count / q->placements);
}

/* The hint as the implementation sees it in a placement. */
static dm_quorum_hint relabel(const dm_quorum *q, uint32_t shift, const dm_quorum_hint *hint)
{
    dm_quorum_hint inner = { NULL, NULL };
    /* Position p reads position p + shift (shift < count), wrapped: two
     * straight runs, p < count - shift and the rest, with no test of the
     * wrap per member (this runs for nearly every formation). */
    const uint32_t *ids = q->ids, split = q->count - shift;
    if (hint && hint->unusable) {
        for (uint32_t p = 0; p < split; p++)
            q->unusable[ids[p]] = hint->unusable[ids[p + shift]];
        for (uint32_t p = split; p < q->count; p++)
            q->unusable[ids[p]] = hint->unusable[ids[p - split]];
        inner.unusable = q->unusable;
    }
    if (hint && hint->preference) {
        for (uint32_t p = 0; p < split; p++)
            q->preference[ids[p]] = hint->preference[ids[p + shift]];
        for (uint32_t p = split; p < q->count; p++)
            q->preference[ids[p]] = hint->preference[ids[p - split]];
        inner.preference = q->preference;
    }
    return inner;
}

int dm_quorum_form_at(const dm_quorum *q, uint32_t placement, const dm_quorum_hint *hint,
                      uint32_t *out, uint32_t cap)
{
    if (placement >= q->placements)
        return -DM_EINVAL;
    uint32_t shift = shift_of(q, placement);
    if (shift == 0)
        return dm_quorum_form(q, hint, out, cap);
    if (!out)
        return -DM_EINVAL;
    dm_quorum_hint inner = relabel(q, shift, hint);
    int size = q->ops->form(q->state, &inner, out, cap);
    for (int i = 0; i < size; i++) {
        uint32_t from = q->pos[out[i]] + shift;
        out[i] = q->ids[from < q->count ? from : from - q->count];
    }
    return size;
}

bool dm_quorum_exists_at(const dm_quorum *q, uint32_t placement, const uint8_t *unusable)
{
    if (placement >= q->placements)
        return false;
    uint32_t shift = shift_of(q, placement);
    if (shift == 0 || !unusable)
        return dm_quorum_exists(q, unusable);
    dm_quorum_hint hint = { unusable, NULL };
    return q->ops->exists(q->state, relabel(q, shift, &hint).unusable);
}
