#include "heap.h"

#include <glib.h>

#include "error.h"

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

static bool before(const dm_heap_entry *a, const dm_heap_entry *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void place(dm_heap *h, dm_heap_entry *e, uint32_t i)
{
    h->items[i] = e;
    e->index = i;
}

/* Both sifts carry the moving entry in hand and shift the others over it,
 * one store per level instead of a swap. */
static void sift_up(dm_heap *h, uint32_t i)
{
    dm_heap_entry *e = h->items[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!before(e, h->items[parent]))
            break;
        place(h, h->items[parent], i);
        i = parent;
    }
    place(h, e, i);
}

static void sift_down(dm_heap *h, uint32_t i)
{
    dm_heap_entry *e = h->items[i];
    for (;;) {
        /* 64-bit so that 2 * i + 1 cannot wrap near the top of uint32. */
        uint64_t child = 2 * (uint64_t)i + 1;
        if (child >= h->len)
            break;
        if (child + 1 < h->len && before(h->items[child + 1], h->items[child]))
            child++;
        if (!before(h->items[child], e))
            break;
        place(h, h->items[child], i);
        i = (uint32_t)child;
    }
    place(h, e, i);
}

/* Restore order around position i after its entry changed or was replaced. */
static void fix(dm_heap *h, uint32_t i)
{
    if (i > 0 && before(h->items[i], h->items[(i - 1) / 2]))
        sift_up(h, i);
    else
        sift_down(h, i);
}

static int grow(dm_heap *h)
{
    /* Positions must stay below DM_HEAP_NOT_QUEUED, which also caps cap. */
    if (h->cap == UINT32_MAX)
        return -DM_ENOMEM;
    uint32_t cap = h->cap < 16 ? 16 : h->cap > UINT32_MAX / 2 ? UINT32_MAX : h->cap * 2;
    dm_heap_entry **items = g_try_realloc_n(h->items, cap, sizeof *items);
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
    place(h, e, h->len++);
    sift_up(h, e->index);
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
    e->at = at;
    e->seq = h->next_seq++;
    fix(h, e->index);
    return 0;
}

void dm_heap_remove(dm_heap *h, dm_heap_entry *e)
{
    if (!dm_heap_entry_queued(e))
        return;
    uint32_t i = e->index;
    dm_heap_entry *last = h->items[--h->len];
    e->index = DM_HEAP_NOT_QUEUED;
    if (last != e) {
        place(h, last, i);
        fix(h, i);
    }
}

dm_heap_entry *dm_heap_pop(dm_heap *h)
{
    dm_heap_entry *top = dm_heap_peek(h);
    if (top)
        dm_heap_remove(h, top);
    return top;
}
