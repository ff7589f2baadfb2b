#include "wire.h"

#include <stddef.h>
#include <glib.h>

typedef struct inflight {
    dm_heap_entry due;
    dm_msg msg;
} inflight;

static inflight *inflight_of(dm_heap_entry *e)
{
    return (inflight *)((char *)e - offsetof(inflight, due));
}

void dm_wire_init(dm_wire *w, uint64_t seed, int64_t latency_min, int64_t latency_max)
{
    *w = (dm_wire){ .latency_min = latency_min, .latency_max = latency_max };
    dm_heap_init(&w->heap);
    dm_prng_seed(&w->rng, seed);
}

void dm_wire_clear(dm_wire *w)
{
    dm_heap_entry *e;
    while ((e = dm_heap_pop(&w->heap)) != NULL)
        g_free(inflight_of(e));
    dm_heap_clear(&w->heap);
}

void dm_wire_put(dm_wire *w, int64_t at, const dm_msg *msg)
{
    inflight *f = g_new(inflight, 1);
    dm_heap_entry_init(&f->due);
    f->msg = *msg;
    if (dm_heap_push(&w->heap, &f->due, at) != 0)
        g_error("wire: out of memory");
}

static int64_t latency(dm_wire *w)
{
    uint64_t spread = (uint64_t)(w->latency_max - w->latency_min);
    return w->latency_min + (int64_t)(spread ? dm_prng_below(&w->rng, spread + 1) : 0);
}

void dm_wire_send(dm_wire *w, int64_t now, const dm_msg *msg)
{
    w->sent++;
    if (w->loss > 0 && dm_prng_double(&w->rng) < w->loss) {
        w->lost++;
        return;
    }
    dm_wire_put(w, now + latency(w), msg);
    if (w->dup > 0 && dm_prng_double(&w->rng) < w->dup) {
        w->duplicated++;
        dm_wire_put(w, now + latency(w), msg);
    }
}

int64_t dm_wire_next(const dm_wire *w)
{
    const dm_heap_entry *e = dm_heap_peek(&w->heap);
    return e ? e->at : INT64_MAX;
}

bool dm_wire_take(dm_wire *w, int64_t until, dm_msg *out, int64_t *at)
{
    const dm_heap_entry *top = dm_heap_peek(&w->heap);
    if (!top || top->at > until)
        return false;
    inflight *f = inflight_of(dm_heap_pop(&w->heap));
    *out = f->msg;
    *at = f->due.at;
    g_free(f);
    return true;
}
