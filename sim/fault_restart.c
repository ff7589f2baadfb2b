/* dmutex simulator, fault kind `restart`: a crashed node comes back.
 *
 * At its rate a random crashed node restarts from what it persisted.
 * Scripted: restart=N|random.
 */
#include "world_internal.h"

static void restart_fire(dm_world *w)
{
    sim_node *nd;
    if ((nd = pick(w, is_down)))
        node_restart(w, nd);
}

static void restart_apply(dm_world *w, const dm_fault_step *s, sim_step *rt, sim_node *nd)
{
    (void)s, (void)rt;
    node_restart(w, nd);
}

static const char *const describe[] = { "faults.restart_rate", NULL };
static const dm_fault_verb verbs[] = {
    { .name = "restart", .arg = DM_VERB_NODE, .eligible = is_down, .apply = restart_apply },
    { 0 },
};

const dm_fault_ops dm_fault_restart_ops = {
    .name = "restart",
    .rate_key = "restart_rate",
    .swarm_round = 1,
    .swarm_rate = { 0.05, 0.5 },
    .describe = describe,
    .fire = restart_fire,
    .verbs = verbs,
};
