/* dmutex core: a small map from member id to per-peer state (see peermap.h). */
#include "peermap.h"

#include <glib.h>
#include <stdbool.h>
#include <string.h>

#define EMPTY UINT32_MAX
#define FIRST_CAP 8u

static uint32_t *id_at(const dm_peermap *m, uint32_t slot)
{
    return (uint32_t *)(void *)(m->slots + (size_t)slot * m->entry_size);
}

static uint32_t home(const dm_peermap *m, uint32_t id)
{
    return m->shift ? (uint32_t)(id * 2654435769u) >> m->shift : id;
}

static uint32_t next_slot(const dm_peermap *m, uint32_t slot)
{
    return slot + 1 == m->cap ? 0 : slot + 1;
}

void dm_peermap_init(dm_peermap *m, size_t entry_size, uint32_t n_ids)
{
    g_return_if_fail(entry_size >= sizeof(uint32_t) && n_ids >= 1 && n_ids < EMPTY);
    *m = (dm_peermap){ .entry_size = entry_size, .n_ids = n_ids };
}

void dm_peermap_clear(dm_peermap *m)
{
    g_clear_pointer(&m->slots, g_free);
    m->cap = m->count = 0;
}

/* The slot holding `id`, or the empty slot where it would go. */
static uint32_t find(const dm_peermap *m, uint32_t id)
{
    uint32_t s = home(m, id);
    while (*id_at(m, s) != EMPTY && *id_at(m, s) != id)
        s = next_slot(m, s);
    return s;
}

void *dm_peermap_find(const dm_peermap *m, uint32_t id)
{
    if (m->count == 0)
        return NULL;
    uint32_t s = find(m, id);
    return *id_at(m, s) == id ? id_at(m, s) : NULL;
}

static void resize(dm_peermap *m, uint32_t want)
{
    dm_peermap old = *m;
    uint32_t cap = FIRST_CAP;
    while (cap < want && cap < m->n_ids)
        cap *= 2;
    if (cap >= m->n_ids) {
        m->cap = m->n_ids;
        m->shift = 0;
    } else {
        m->cap = cap;
        m->shift = (uint8_t)(32 - g_bit_storage(cap - 1));
    }
    m->slots = g_malloc((size_t)m->cap * m->entry_size);
    for (uint32_t s = 0; s < m->cap; s++)
        *id_at(m, s) = EMPTY;
    for (uint32_t s = 0; s < old.cap; s++) {
        uint32_t id = *id_at(&old, s);
        if (id != EMPTY)
            memcpy(id_at(m, find(m, id)), id_at(&old, s), m->entry_size);
    }
    g_free(old.slots);
}

void *dm_peermap_put(dm_peermap *m, uint32_t id)
{
    g_return_val_if_fail(id < m->n_ids, NULL);
    if (m->count > 0) {
        uint32_t s = find(m, id);
        if (*id_at(m, s) == id)
            return id_at(m, s);
    }
    /* Hashed tables stay at most 3/4 full; the direct one cannot overflow. */
    if (m->cap == 0 || (m->shift && (uint64_t)(m->count + 1) * 4 > (uint64_t)m->cap * 3))
        resize(m, m->cap ? m->cap * 2 : FIRST_CAP);
    uint32_t s = find(m, id);
    uint32_t *e = id_at(m, s);
    memset(e, 0, m->entry_size);
    *e = id;
    m->count++;
    return e;
}

void dm_peermap_remove(dm_peermap *m, uint32_t id)
{
    if (m->count == 0)
        return;
    uint32_t hole = find(m, id);
    if (*id_at(m, hole) != id)
        return;
    /* Backward-shift deletion: pull later entries of the probe run into the
     * hole unless that would put them before their home slot. A direct
     * table has no probe runs (and may be full: the loop would not end). */
    for (uint32_t s = next_slot(m, hole); m->shift && *id_at(m, s) != EMPTY; s = next_slot(m, s)) {
        uint32_t h = home(m, *id_at(m, s));
        bool stays = hole <= s ? (hole < h && h <= s) : (hole < h || h <= s);
        if (!stays) {
            memcpy(id_at(m, hole), id_at(m, s), m->entry_size);
            hole = s;
        }
    }
    *id_at(m, hole) = EMPTY;
    m->count--;
}
