/* dmutex core: the `memberlist` policy -- the original Go dmutex's design.
 *
 * Every view change rebuilds the quorum system over the members in view
 * (ALIVE or SUSPECT) and drops what departed members had queued or been
 * granted. Nodes with different views build different systems whose quorums
 * need not intersect: it exists to be measured, not recommended. */
#include "policy.h"

const dm_policy_ops dm_policy_memberlist_ops = {
    .name = "memberlist",
    .summary = "rebuild the quorum system over the SWIM view at every change (unsafe; measured)",
    .needs_membership = true,
    .members = dm_policy_members_in_view,
    .purge_departed = true,
};
