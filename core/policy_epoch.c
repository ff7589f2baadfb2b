/* dmutex core: the `epoch` policy -- quorums re-computed after failures,
 * safely.
 *
 * Like memberlist it wants the quorum system over the members SWIM holds in
 * view, but it never rebuilds on a node's own view: a change is agreed by
 * the current configuration (core/reconfig.h, single-decree Paxos with the
 * configuration's own quorums), sealed configurations stop granting, and
 * the next one starts after a quiet period with a token floor. The node
 * (core/node.c, "epochs") drives that; this table only says what the next
 * configuration should hold. */
#include "policy.h"

const dm_policy_ops dm_policy_epoch_ops = {
    .name = "epoch",
    .summary = "re-compute the quorum system after failures through agreed, epoch-numbered "
               "configurations (safe)",
    .needs_membership = true,
    .members = dm_policy_members_in_view,
    .purge_departed = false,
    .epochs = true,
};
