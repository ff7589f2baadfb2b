/* dmutex core: an intrusive binary min-heap ordered by (at, seq).
 *
 * Used for the core's per-lock deadlines and for the simulator's event
 * queue. Items embed a dm_heap_entry; the heap stores pointers to the
 * entries and keeps each entry's position so it can be moved or removed in
 * O(log n). `seq` is assigned at insertion from a counter in the heap, so
 * entries due at the same instant come out in insertion order: the order is
 * a pure function of the calls, never of addresses.
 */
#ifndef DMUTEX_CORE_HEAP_H
#define DMUTEX_CORE_HEAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define DM_HEAP_NOT_QUEUED UINT32_MAX

typedef struct dm_heap_entry {
    int64_t at;
    uint64_t seq;
    uint32_t index;     /* position in the heap or DM_HEAP_NOT_QUEUED */
} dm_heap_entry;

typedef struct dm_heap {
    dm_heap_entry **items;
    uint32_t len;
    uint32_t cap;
    uint64_t next_seq;
} dm_heap;

void dm_heap_init(dm_heap *h);
void dm_heap_clear(dm_heap *h);   /* frees storage; entries are not touched */

static inline void dm_heap_entry_init(dm_heap_entry *e) { e->index = DM_HEAP_NOT_QUEUED; e->at = 0; e->seq = 0; }
static inline bool dm_heap_entry_queued(const dm_heap_entry *e) { return e->index != DM_HEAP_NOT_QUEUED; }

/* Insert e due at `at` (e must not be queued). Returns 0 or -DM_ENOMEM. */
int dm_heap_push(dm_heap *h, dm_heap_entry *e, int64_t at);

/* Move a queued entry to a new time (it gets a fresh seq), or insert it. */
int dm_heap_schedule(dm_heap *h, dm_heap_entry *e, int64_t at);

void dm_heap_remove(dm_heap *h, dm_heap_entry *e);   /* no-op if not queued */

static inline dm_heap_entry *dm_heap_peek(const dm_heap *h) { return h->len ? h->items[0] : NULL; }
dm_heap_entry *dm_heap_pop(dm_heap *h);
static inline uint32_t dm_heap_len(const dm_heap *h) { return h->len; }

#endif
