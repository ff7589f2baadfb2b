/* dmutex core: a small map from member id to per-peer state, for state a node
 * keeps only about the peers it actually dealt with.
 *
 * A node of N members that kept a dense array per member for every such
 * thing would hold O(N) each, O(N^2) across a simulated cluster, while most
 * entries stay at their "nothing known" value. This keeps caller-defined
 * entries (a struct whose first member is the uint32_t id) in one open-
 * addressing table with linear probing: a power-of-two table hashed by
 * Fibonacci multiplication while it is small, and, once it would grow to
 * N slots or more, a table of exactly N slots where id i lives in slot i
 * (no collisions, no load limit). So it costs about 1.3-2.7 entries per
 * entry held while sparse, and never more than one entry per member.
 *
 * Pointers returned by dm_peermap_get/_put stay valid until the next
 * _put of a new id or _remove. Iteration order is not offered: callers
 * that need determinism look ids up.
 */
#ifndef DMUTEX_CORE_PEERMAP_H
#define DMUTEX_CORE_PEERMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct dm_peermap {
    uint8_t *slots;       /* cap entries of entry_size bytes; id UINT32_MAX = empty */
    size_t entry_size;
    uint32_t cap, count;
    uint32_t n_ids;       /* ids are 0..n_ids-1 */
    uint8_t shift;        /* 32 - log2(cap) while hashed; 0 once direct (cap == n_ids) */
} dm_peermap;

/* An empty map for ids below n_ids (>= 1, < UINT32_MAX) of entries of
 * entry_size bytes (>= sizeof(uint32_t)) whose first member is the id. */
void dm_peermap_init(dm_peermap *m, size_t entry_size, uint32_t n_ids);
void dm_peermap_clear(dm_peermap *m);
/* The entry of `id`, or NULL. Inline for the two cases every message meets
 * (an empty map, a direct table: one load and one compare); a hashed table
 * probes out of line. */
void *dm_peermap_find(const dm_peermap *m, uint32_t id);
static inline void *dm_peermap_get(const dm_peermap *m, uint32_t id)
{
    if (m->count == 0)
        return NULL;
    if (m->shift == 0) {
        if (id >= m->cap)
            return NULL;
        uint32_t *e = (uint32_t *)(void *)(m->slots + (size_t)id * m->entry_size);
        return *e == id ? e : NULL;
    }
    return dm_peermap_find(m, id);
}
/* The entry of `id`, created zero-filled (but for its id) when absent.
 * Requires id < n_ids. */
void *dm_peermap_put(dm_peermap *m, uint32_t id);
/* Forget `id`'s entry, if any. */
void dm_peermap_remove(dm_peermap *m, uint32_t id);
static inline uint32_t dm_peermap_count(const dm_peermap *m) { return m->count; }
/* Bytes held by the table. */
static inline size_t dm_peermap_bytes(const dm_peermap *m) { return (size_t)m->cap * m->entry_size; }

#endif
