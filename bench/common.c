/* bench/common: the bare event-heap loop and medians (common.h). */
#include "common.h"

#include <glib.h>
#include <stdlib.h>
#include <time.h>

#include "heap.h"
#include "prng.h"

static const double MEAN_DELAY_US = 1000.0;

double dm_bench_cpu_seconds(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
        return (double)g_get_monotonic_time() / 1e6;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------- the classic binary heap */

/* The baseline's queue (common.h says why it is not core/heap.h): a binary
 * heap of pointers to the entries, compared through them, each entry told
 * its position -- core/heap.c as it was up to b6cb3e0, statement for
 * statement (error codes aside), so that the yardstick measures what it
 * always did. It reuses dm_heap_entry's fields only. */
typedef struct bare_heap {
    dm_heap_entry **items;
    uint32_t len;
    uint32_t cap;
    uint64_t next_seq;
} bare_heap;

static bool bare_before(const dm_heap_entry *a, const dm_heap_entry *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void bare_place(bare_heap *h, dm_heap_entry *e, uint32_t i)
{
    h->items[i] = e;
    e->index = i;
}

static void bare_sift_up(bare_heap *h, uint32_t i)
{
    dm_heap_entry *e = h->items[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!bare_before(e, h->items[parent]))
            break;
        bare_place(h, h->items[parent], i);
        i = parent;
    }
    bare_place(h, e, i);
}

static void bare_sift_down(bare_heap *h, uint32_t i)
{
    dm_heap_entry *e = h->items[i];
    for (;;) {
        uint64_t child = 2 * (uint64_t)i + 1;
        if (child >= h->len)
            break;
        if (child + 1 < h->len && bare_before(h->items[child + 1], h->items[child]))
            child++;
        if (!bare_before(h->items[child], e))
            break;
        bare_place(h, h->items[child], i);
        i = (uint32_t)child;
    }
    bare_place(h, e, i);
}

static void bare_fix(bare_heap *h, uint32_t i)
{
    if (i > 0 && bare_before(h->items[i], h->items[(i - 1) / 2]))
        bare_sift_up(h, i);
    else
        bare_sift_down(h, i);
}

static int bare_grow(bare_heap *h)
{
    if (h->cap == UINT32_MAX)
        return -1;
    uint32_t cap = h->cap < 16 ? 16 : h->cap > UINT32_MAX / 2 ? UINT32_MAX : h->cap * 2;
    dm_heap_entry **items = g_try_realloc_n(h->items, cap, sizeof *items);
    if (!items)
        return -1;
    h->items = items;
    h->cap = cap;
    return 0;
}

/* Out of line, as core/heap.c's functions are for their callers, so the
 * loop pays a call per operation as it always did. */
static G_GNUC_NO_INLINE int bare_push(bare_heap *h, dm_heap_entry *e, int64_t at)
{
    g_return_val_if_fail(!dm_heap_entry_queued(e), -1);
    if (h->len == h->cap) {
        int rc = bare_grow(h);
        if (rc < 0)
            return rc;
    }
    e->at = at;
    e->seq = h->next_seq++;
    bare_place(h, e, h->len++);
    bare_sift_up(h, e->index);
    return 0;
}

static G_GNUC_NO_INLINE void bare_remove(bare_heap *h, dm_heap_entry *e)
{
    if (!dm_heap_entry_queued(e))
        return;
    uint32_t i = e->index;
    dm_heap_entry *last = h->items[--h->len];
    e->index = DM_HEAP_NOT_QUEUED;
    if (last != e) {
        bare_place(h, last, i);
        bare_fix(h, i);
    }
}

static G_GNUC_NO_INLINE dm_heap_entry *bare_pop(bare_heap *h)
{
    dm_heap_entry *top = h->len ? h->items[0] : NULL;
    if (top)
        bare_remove(h, top);
    return top;
}

/* --------------------------------------------------------- the hold loop */

/* The loop, once for both queues: inlined into each caller with its
 * queue's functions, so each calls its queue directly. Returns events per
 * CPU second, or -1 if a push failed or time did not advance; the caller
 * checks that no event was lost. */
static G_ALWAYS_INLINE inline double hold(void *q, int (*push)(void *, dm_heap_entry *, int64_t),
                                          dm_heap_entry *(*pop)(void *), dm_heap_entry *events,
                                          uint32_t pending, uint64_t ops, uint64_t seed)
{
    dm_prng p;
    dm_prng_derive(&p, seed, "bench-heap", pending);
    int failed = 0;
    for (uint32_t i = 0; i < pending; i++) {
        dm_heap_entry_init(&events[i]);
        failed |= push(q, &events[i], (int64_t)dm_prng_exponential(&p, MEAN_DELAY_US));
    }

    int64_t now = 0;
    double start = dm_bench_cpu_seconds();
    for (uint64_t i = 0; i < ops; i++) {
        dm_heap_entry *e = pop(q);
        now = e->at;
        failed |= push(q, e, now + (int64_t)dm_prng_exponential(&p, MEAN_DELAY_US));
    }
    double elapsed = dm_bench_cpu_seconds() - start;

    failed |= now <= 0;
    return failed ? -1 : (double)ops / (elapsed > 0 ? elapsed : 1e-9);
}

static int bare_push_any(void *q, dm_heap_entry *e, int64_t at) { return bare_push(q, e, at); }
static dm_heap_entry *bare_pop_any(void *q) { return bare_pop(q); }
static int queue_push_any(void *q, dm_heap_entry *e, int64_t at) { return dm_heap_push(q, e, at); }
static dm_heap_entry *queue_pop_any(void *q) { return dm_heap_pop(q); }

double dm_bench_hold(uint32_t pending, uint64_t ops, uint64_t seed)
{
    if (pending == 0)
        return -1;
    dm_heap_entry *events = g_new(dm_heap_entry, pending);
    bare_heap h = { NULL, 0, 0, 0 };
    double rate = hold(&h, bare_push_any, bare_pop_any, events, pending, ops, seed);
    if (h.len != pending)
        rate = -1;
    g_free(h.items);
    g_free(events);
    return rate;
}

double dm_bench_hold_queue(uint32_t pending, uint64_t ops, uint64_t seed)
{
    if (pending == 0)
        return -1;
    dm_heap_entry *events = g_new(dm_heap_entry, pending);
    dm_heap h;
    dm_heap_init(&h);
    double rate = hold(&h, queue_push_any, queue_pop_any, events, pending, ops, seed);
    if (dm_heap_len(&h) != pending)
        rate = -1;
    dm_heap_clear(&h);
    g_free(events);
    return rate;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double dm_bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], compare_double);
    return v[n / 2];
}
