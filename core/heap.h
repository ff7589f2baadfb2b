/* dmutex core: an intrusive 4-ary min-heap ordered by (at, seq).
 *
 * Used for the core's per-lock deadlines and for the simulator's event
 * queue. Items embed a dm_heap_entry; the heap keeps each entry's position
 * in the entry so it can be moved or removed in O(log n). `seq` is assigned
 * at insertion from a counter in the heap, so entries due at the same
 * instant come out in insertion order: the order is a pure function of the
 * calls, never of addresses.
 *
 * The array holds each entry's time next to its pointer, so the sifts
 * compare without reading the entries (the simulator's events are scattered
 * over memory, and a comparison through two pointers was its largest single
 * cost) unless two times are equal; entries are otherwise only written, to
 * record where they moved.
 * Four children per node halve the depth, and the four sit side by side.
 * The order is exactly that of a binary heap on the same keys: (at, seq) is
 * a total order, so any correct heap pops the same sequence.
 */
#ifndef DMUTEX_CORE_HEAP_H
#define DMUTEX_CORE_HEAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define DM_HEAP_NOT_QUEUED UINT32_MAX

/* Children of position i are DM_HEAP_ARITY * i + 1 .. DM_HEAP_ARITY * (i + 1). */
#define DM_HEAP_ARITY 4

typedef struct dm_heap_entry {
    int64_t at;
    uint64_t seq;
    uint32_t index;     /* position in the heap or DM_HEAP_NOT_QUEUED */
} dm_heap_entry;

/* One position: a copy of its entry's time, and the entry (whose seq breaks
 * ties, which are rare: one comparison in 200 in the simulator). */
typedef struct dm_heap_slot {
    int64_t at;
    dm_heap_entry *e;
} dm_heap_slot;

typedef struct dm_heap {
    dm_heap_slot *items;
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

static inline dm_heap_entry *dm_heap_peek(const dm_heap *h) { return h->len ? h->items[0].e : NULL; }
dm_heap_entry *dm_heap_pop(dm_heap *h);
static inline uint32_t dm_heap_len(const dm_heap *h) { return h->len; }

#endif
