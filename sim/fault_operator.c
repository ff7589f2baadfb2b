/* dmutex simulator, fault kind `operator`: an operator changes the epoch
 * policy's configuration, as `dmutexctl members add|remove` does on a live
 * cluster, through the same core call (dm_node_change_members).
 *
 * Scripted only (no rate; swarm never draws it): remove=N takes member N
 * out of the installed configuration, add=N puts it in -- back, or for the
 * first time when N is a spare id ([sim] members <= N: a node that runs
 * from the start outside every configuration, as a machine started with
 * `dmutexd --join`). Adding a spare id binds it ("N=sim:N", the stand-in
 * for the address `members add HOST:PORT` binds) in the same agreement
 * (dm_node_change_members_bind), as dmutexd does. The change is
 * asked of the lowest-numbered live node other than N, which proposes it at
 * once; its outcome is traced ("operator: ..." when asked, and the node's
 * epoch when installed). Under other policies the call fails (EINVAL) and
 * nothing changes.
 */
#include "world_internal.h"

#include <string.h>

#include "error.h"

static bool any_node(const sim_node *nd)
{
    (void)nd;
    return true;
}

static void change(dm_world *w, sim_node *target, bool add)
{
    sim_node *at = NULL;
    for (uint32_t i = 0; i < w->n && !at; i++)
        if (node_live(&w->nodes[i]) && w->nodes[i].id != target->id)
            at = &w->nodes[i];
    if (!at) {
        TRACE(w, target->id, "operator: members %s %u: no live node to ask", add ? "add" : "remove",
              target->id);
        return;
    }
    char bind[32] = "";
    if (add && target->id >= w->cfg->members && w->cfg->members)
        g_snprintf(bind, sizeof bind, "%u=sim:%u", target->id, target->id);
    int rc = dm_node_change_members_bind(at->core, local_now(at), target->id, add, bind,
                                         strlen(bind));
    fold(w, (uint64_t)(uint32_t)rc << 8 | target->id);
    TRACE(w, at->id, "operator: members %s %u -> %s", add ? "add" : "remove", target->id,
          rc == 0 ? "proposed" : dm_error_name(rc));
    node_sync(w, at);
}

static void remove_apply(dm_world *w, const dm_fault_step *s, sim_step *rt, sim_node *nd)
{
    (void)s, (void)rt;
    change(w, nd, false);
}

static void add_apply(dm_world *w, const dm_fault_step *s, sim_step *rt, sim_node *nd)
{
    (void)s, (void)rt;
    change(w, nd, true);
}

static const dm_fault_verb verbs[] = {
    { .name = "remove", .arg = DM_VERB_NODE, .eligible = any_node, .apply = remove_apply },
    { .name = "add", .arg = DM_VERB_NODE, .eligible = any_node, .apply = add_apply },
    { 0 },
};

const dm_fault_ops dm_fault_operator_ops = {
    .name = "operator",
    .verbs = verbs,
};
