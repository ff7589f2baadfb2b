/* dmutex core: quorum systems behind one interface.
 *
 * A quorum system decides, over a set of member ids, which sets of members
 * form a quorum; the lock protocol relies on one property only: any two
 * quorums of one system intersect, whatever each former believed had
 * failed. Everything else -- the shape, the sizes, the availability -- is
 * the system's own, so the lock protocol (core/node.c) talks to it through
 * this vtable alone, in the manner of ngtcp2's congestion controllers: a
 * small table of functions over an opaque state, one implementation per file
 * (quorum_tree.c, quorum_majority.c, quorum_grid.c), found by name through
 * dm_quorum_lookup().
 *
 * Member ids are opaque uint32 values, strictly ascending in the list a
 * system is built over (the core uses indices into the sorted configured
 * member list, or a subset of them when a policy rebuilds over a view).
 * Arrays in a dm_quorum_hint are indexed by member id and must cover the
 * largest id.
 */
#ifndef DMUTEX_CORE_QUORUM_H
#define DMUTEX_CORE_QUORUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How the caller steers formation. Both arrays are indexed by member id and
 * may be NULL (nothing unusable / no preference).
 *  - unusable[id] != 0: never put id in the quorum.
 *  - preference[id]: among the quorums a system could form, prefer those
 *    whose members have the larger preference sum (the caller gives itself a
 *    large weight to be its own arbiter, and the members that already granted
 *    a small one to keep them). A system follows it as far as its shape
 *    allows, deterministically. */
typedef struct dm_quorum_hint {
    const uint8_t *unusable;
    const int32_t *preference;
} dm_quorum_hint;

typedef struct dm_quorum_ops {
    const char *name;        /* "tree": the key of --quorum and of the config */
    const char *summary;     /* one line for --help */
    /* Build over `count` >= 1 strictly ascending ids. 0 or -DM_EINVAL/-DM_ENOMEM.
     * The wrapper keeps `ids` valid and unchanged until destroy: a state may
     * point at it rather than copy it. */
    int (*create)(const uint32_t *ids, uint32_t count, void **state);
    void (*destroy)(void *state);
    /* Form a quorum that avoids every unusable member: write its ids to out
     * (cap >= count always suffices) and return its size, or -DM_ENOQUORUM
     * when none exists, or -DM_EINVAL (cap too small). Deterministic. */
    int (*form)(const void *state, const dm_quorum_hint *hint, uint32_t *out, uint32_t cap);
    /* True when some quorum avoids every unusable member (NULL: none is). */
    bool (*exists)(const void *state, const uint8_t *unusable);
    /* Smallest and largest size of a quorum form() can return. */
    void (*size_bounds)(const void *state, uint32_t *min, uint32_t *max);
    /* Probability that a quorum exists when every member is up independently
     * with probability p. *exact says whether the value is exact or an
     * approximation the implementation documents. */
    double (*availability)(const void *state, double p, bool *exact);
} dm_quorum_ops;

/* A quorum system built over a member list. */
typedef struct dm_quorum dm_quorum;

/* `ops` NULL means the default system (tree). */
int dm_quorum_new(const dm_quorum_ops *ops, const uint32_t *ids, uint32_t count, dm_quorum **out);
void dm_quorum_free(dm_quorum *q);

const dm_quorum_ops *dm_quorum_get_ops(const dm_quorum *q);
const char *dm_quorum_name(const dm_quorum *q);
uint32_t dm_quorum_count(const dm_quorum *q);             /* members */
const uint32_t *dm_quorum_ids(const dm_quorum *q);        /* ascending */
uint32_t dm_quorum_max_id(const dm_quorum *q);
int dm_quorum_form(const dm_quorum *q, const dm_quorum_hint *hint, uint32_t *out, uint32_t cap);
bool dm_quorum_exists(const dm_quorum *q, const uint8_t *unusable);
void dm_quorum_size_bounds(const dm_quorum *q, uint32_t *min, uint32_t *max);
double dm_quorum_availability(const dm_quorum *q, double p, bool *exact);
/* Placements: where the members sit may differ per lock name. Placement k
 * relabels the system's members by a rotation of the member list, so its
 * quorums are the system's quorums renamed: any two quorums of ONE placement
 * still intersect, and quorums of one lock name always come from the one
 * placement its name selects. Different names then have different roots
 * (the tree) or rows (the grid), which spreads the arbiters' load; the
 * system's availability and sizes do not change. There are
 * min(count, DM_QUORUM_PLACEMENTS_MAX) placements, rotated evenly round the
 * list; placement 0 is the identity (the system exactly as built). */
#define DM_QUORUM_PLACEMENTS_MAX 64u
uint32_t dm_quorum_placements(const dm_quorum *q);
/* The placement of a lock name whose key is dm_hash_str(name) (core/prng.h):
 * the same on every node and in every version. */
uint32_t dm_quorum_placement(const dm_quorum *q, uint64_t key);
/* dm_quorum_form / dm_quorum_exists in a placement (>= placements: -DM_EINVAL / false).
 * `out` receives member ids, as dm_quorum_form. */
int dm_quorum_form_at(const dm_quorum *q, uint32_t placement, const dm_quorum_hint *hint,
                      uint32_t *out, uint32_t cap);
bool dm_quorum_exists_at(const dm_quorum *q, uint32_t placement, const uint8_t *unusable);

/* The implementation's state (for a system's own queries, e.g. the tree's
 * shape through core/tree.h when dm_quorum_name() is "tree"). */
const void *dm_quorum_state(const dm_quorum *q);

/* The registry: the systems that ship with dmutex, in a fixed order (the
 * default first), then those a program registered (core/registry.h), which
 * --quorum, the config files and --help then offer like the built-ins. A
 * program may also hand its own ops to dm_config.quorum unregistered. */
const dm_quorum_ops *dm_quorum_lookup(const char *name);   /* NULL: unknown */
/* 0, -DM_EINVAL (no table, create/form/exists missing, or a name unfit for
 * a command line), -DM_EEXIST (the name is taken). `ops` must stay valid. */
int dm_quorum_register(const dm_quorum_ops *ops);
size_t dm_quorum_registered_count(void);                   /* built-in and registered */
const dm_quorum_ops *dm_quorum_registered(size_t i);       /* NULL past the end */
size_t dm_quorum_builtin_count(void);
const dm_quorum_ops *dm_quorum_builtin(size_t i);          /* NULL past the end */
/* Every registered name joined by `sep` ("tree, majority, grid"), newly
 * allocated (g_free), for usage and error messages. */
char *dm_quorum_names(const char *sep);

/* The implementations (one file each). */
extern const dm_quorum_ops dm_quorum_tree_ops;
extern const dm_quorum_ops dm_quorum_majority_ops;
extern const dm_quorum_ops dm_quorum_grid_ops;

#endif
