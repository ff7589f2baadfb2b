/* dmutex core: the `memberlist` policy -- the original Go dmutex's design.
 *
 * Every view change rebuilds the quorum system over the members in view
 * (ALIVE or SUSPECT) and drops what departed members had queued or been
 * granted. Nodes with different views build different systems whose quorums
 * need not intersect: it exists to be measured, not recommended. */
#include "policy.h"

static uint32_t memberlist_members(const dm_membership *m, uint32_t n_members, uint32_t *ids)
{
    uint32_t count = 0;
    for (uint32_t i = 0; i < n_members; i++)
        if (dm_membership_in_view(m, i))
            ids[count++] = i;
    return count;
}

const dm_policy_ops dm_policy_memberlist_ops = {
    .name = "memberlist",
    .summary = "rebuild the quorum system over the SWIM view at every change (unsafe; measured)",
    .needs_membership = true,
    .members = memberlist_members,
    .purge_departed = true,
};
