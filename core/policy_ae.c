/* dmutex core: the `ae` policy -- pure Agrawal-El Abbadi degradation.
 *
 * The quorum system stays over every configured member whatever the view
 * says; members that are not ALIVE are only avoided when a quorum is formed
 * (substitution inside one system), so any two quorums still intersect. */
#include "policy.h"

static uint32_t ae_members(const dm_membership *m, uint32_t n_members, uint32_t *ids)
{
    (void)m;
    (void)n_members;
    (void)ids;
    return 0;   /* never rebuilt */
}

const dm_policy_ops dm_policy_ae_ops = {
    .name = "ae",
    .summary = "the quorum system stays over every member; failures are routed around (safe)",
    .needs_membership = false,
    .members = ae_members,
    .purge_departed = false,
};
