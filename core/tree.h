/* dmutex core: Agrawal-El Abbadi tree quorums (TOCS 1991).
 *
 * The tree is the balanced binary search tree over a sorted list of member
 * ids with the root of every range [lo, hi] at index (lo + hi) / 2 -- the
 * shape the original Go dmutex builds. A quorum is formed recursively: if
 * the root is usable, the root plus a quorum of one subtree (an empty subtree
 * gives the empty set); if not, non-empty quorums of BOTH subtrees. Any two
 * quorums of one tree intersect, whatever each former believed had failed.
 *
 * Member ids are opaque uint32 values (the core uses indices into the sorted
 * configured member list); `unusable` and `preference` arrays are indexed by
 * member id and must cover the largest id in the tree.
 */
#ifndef DMUTEX_CORE_TREE_H
#define DMUTEX_CORE_TREE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "quorum.h"

typedef struct dm_tree dm_tree;

#define DM_TREE_NONE UINT32_MAX

/* Build the tree over `members` (n >= 1 ids, strictly ascending).
 * Returns 0 and sets *out, or -DM_EINVAL / -DM_ENOMEM. */
int dm_tree_new(const uint32_t *members, uint32_t n, dm_tree **out);
void dm_tree_free(dm_tree *t);

uint32_t dm_tree_size(const dm_tree *t);
uint32_t dm_tree_max_id(const dm_tree *t);          /* largest member id */
uint32_t dm_tree_root(const dm_tree *t);            /* member id */
/* Children by member id; DM_TREE_NONE when absent or id not in the tree. */
uint32_t dm_tree_left(const dm_tree *t, uint32_t id);
uint32_t dm_tree_right(const dm_tree *t, uint32_t id);
uint32_t dm_tree_height(const dm_tree *t);          /* a single node has height 0 */
bool dm_tree_contains(const dm_tree *t, uint32_t id);

/* Formation is steered by a dm_quorum_hint (core/quorum.h): unusable
 * members are never put in the quorum (AE substitution instead); when the
 * root is usable, the subtree whose usable members have the larger
 * preference sum is tried first; ties go to the subtree with fewer unusable
 * members, then to the left one. */

/* Form a quorum. Writes at most `cap` member ids to `out` (cap >= tree size
 * always suffices), in root-first (pre-order) order. Returns the quorum size,
 * -DM_ENOQUORUM when none exists under `hint`, or -DM_EINVAL. */
int dm_tree_form_quorum(const dm_tree *t, const dm_quorum_hint *hint, uint32_t *out, uint32_t cap);

/* True when some quorum avoids every unusable member. */
bool dm_tree_quorum_exists(const dm_tree *t, const uint8_t *unusable);

/* Every quorum the formation rule can produce under some failure pattern
 * (minimal and non-minimal as the recursion yields them, without duplicates).
 * Calls fn once per quorum with ids in pre-order; stops early and returns
 * fn's value when fn returns non-zero. Returns 0 when all were visited
 * (or -DM_EINVAL / -DM_ENOMEM before visiting any).
 * The count grows fast (N = 15: 255; N = 31: 65 535): meant for tests and
 * small experiments. */
typedef int (*dm_quorum_visit_fn)(const uint32_t *ids, uint32_t n, void *user);
int dm_tree_enumerate_quorums(const dm_tree *t, dm_quorum_visit_fn fn, void *user);

/* Exact probability that a quorum exists when every member is up
 * independently with probability p (DESIGN.md section 3 recurrence). */
double dm_tree_availability(const dm_tree *t, double p);

/* Size of the quorum formed when nothing is unusable and the left subtree
 * is always preferred (the failure-free, best-case size ~ log2(N+1)). */
uint32_t dm_tree_min_quorum_size(const dm_tree *t);

#endif
