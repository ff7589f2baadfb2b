#include "heap.h"

#include <glib.h>

#include "error.h"

_Static_assert(DM_HEAP_ARITY == 4, "sift_down's tournament compares four children");

void dm_heap_init(dm_heap *h)
{
    h->items = NULL;
    h->len = 0;
    h->cap = 0;
    h->next_seq = 0;
}

void dm_heap_clear(dm_heap *h)
{
    g_free(h->items);
    dm_heap_init(h);
}

/* seq is unique within a heap, so no two slots are ever equal: which of
 * two candidates a sift picks never depends on how it breaks a tie. */
static inline bool before(const dm_heap_slot *a, const dm_heap_slot *b)
{
    return a->at < b->at || (a->at == b->at && a->e->seq < b->e->seq);
}

static inline void place(dm_heap_slot *items, uint32_t i, dm_heap_slot s)
{
    items[i] = s;
    s.e->index = i;
}

/* Both sifts carry the moving slot in hand and shift the others over the
 * hole, one store per level instead of a swap. */
static G_ALWAYS_INLINE inline void sift_up(dm_heap *h, uint32_t i, dm_heap_slot s)
{
    dm_heap_slot *items = h->items;
    while (i > 0) {
        uint32_t parent = (i - 1) / DM_HEAP_ARITY;
        if (!before(&s, &items[parent]))
            break;
        place(items, i, items[parent]);
        i = parent;
    }
    place(items, i, s);
}

static void sift_down(dm_heap *h, uint32_t i, dm_heap_slot s)
{
    dm_heap_slot *items = h->items;
    uint64_t len = h->len;
    /* While i has all four children (64-bit: 4 * i + 4 cannot wrap). */
    while (DM_HEAP_ARITY * (uint64_t)i + DM_HEAP_ARITY < len) {
        /* A two-round tournament, the first round's comparisons independent. */
        const dm_heap_slot *c = &items[DM_HEAP_ARITY * (uint64_t)i + 1];
        const dm_heap_slot *a = before(&c[1], &c[0]) ? &c[1] : &c[0];
        const dm_heap_slot *b = before(&c[3], &c[2]) ? &c[3] : &c[2];
        const dm_heap_slot *m = before(b, a) ? b : a;
        if (!before(m, &s))
            goto done;
        place(items, i, *m);
        i = (uint32_t)(m - items);
    }
    /* One to three children: i is the last parent, and they are leaves. */
    uint64_t first = DM_HEAP_ARITY * (uint64_t)i + 1;
    if (first < len) {
        const dm_heap_slot *m = &items[first];
        for (uint64_t k = first + 1; k < len; k++)
            if (before(&items[k], m))
                m = &items[k];
        if (before(m, &s)) {
            place(items, i, *m);
            i = (uint32_t)(m - items);
        }
    }
done:
    place(items, i, s);
}

/* Put s at position i, whose entry was taken out, and restore the order. */
static void refill(dm_heap *h, uint32_t i, dm_heap_slot s)
{
    if (i > 0 && before(&s, &h->items[(i - 1) / DM_HEAP_ARITY]))
        sift_up(h, i, s);
    else
        sift_down(h, i, s);
}

static int grow(dm_heap *h)
{
    /* Positions must stay below DM_HEAP_NOT_QUEUED, which also caps cap. */
    if (h->cap == UINT32_MAX)
        return -DM_ENOMEM;
    uint32_t cap = h->cap < 16 ? 16 : h->cap > UINT32_MAX / 2 ? UINT32_MAX : h->cap * 2;
    dm_heap_slot *items = g_try_realloc_n(h->items, cap, sizeof *items);
    if (!items)
        return -DM_ENOMEM;
    h->items = items;
    h->cap = cap;
    return 0;
}

int dm_heap_push(dm_heap *h, dm_heap_entry *e, int64_t at)
{
    g_return_val_if_fail(!dm_heap_entry_queued(e), -DM_EINVAL);
    /* Grow before touching e, so a failed push leaves it as it was. */
    if (h->len == h->cap) {
        int rc = grow(h);
        if (rc < 0)
            return rc;
    }
    e->at = at;
    e->seq = h->next_seq++;
    sift_up(h, h->len++, (dm_heap_slot){ at, e });
    return 0;
}

int dm_heap_schedule(dm_heap *h, dm_heap_entry *e, int64_t at)
{
    if (!dm_heap_entry_queued(e))
        return dm_heap_push(h, e, at);
    /* Already the newest entry, due at the same time: a fresh seq would
     * leave it exactly where it is, after everything else due then. (The
     * core re-arms a lock's deadline after every message, mostly unchanged.) */
    if (e->at == at && e->seq + 1 == h->next_seq)
        return 0;
    /* The fresh seq is above every other, so the new key is after the old
     * one exactly when the time did not move earlier: then the entry can
     * only sink, otherwise only rise. */
    bool later = at >= e->at;
    e->at = at;
    e->seq = h->next_seq++;
    uint32_t i = e->index;
    if (later && DM_HEAP_ARITY * (uint64_t)i + 1 >= h->len) {
        /* A leaf has nothing to sink below: most of a small heap's entries
         * (the core's deadlines, one per lock name) are leaves. */
        h->items[i].at = at;
        return 0;
    }
    dm_heap_slot s = { at, e };
    if (later)
        sift_down(h, i, s);
    else
        sift_up(h, i, s);
    return 0;
}

void dm_heap_remove(dm_heap *h, dm_heap_entry *e)
{
    if (!dm_heap_entry_queued(e))
        return;
    uint32_t i = e->index;
    e->index = DM_HEAP_NOT_QUEUED;
    if (i != --h->len)
        refill(h, i, h->items[h->len]);
}

dm_heap_entry *dm_heap_pop(dm_heap *h)
{
    if (h->len == 0)
        return NULL;
    dm_heap_entry *top = h->items[0].e;
    top->index = DM_HEAP_NOT_QUEUED;
    if (--h->len > 0)
        sift_down(h, 0, h->items[h->len]);
    return top;
}
