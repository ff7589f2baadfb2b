/* dmutex simulator, fault kind `skew`: a node's clock changes its rate.
 *
 * At its rate a random node's clock takes a new rate drawn within the
 * simulated drift bound ([clock] drift_ppm). Scripted: skew=N rate=PPM
 * [for=S] (any rate below the simulator's limit: a scenario may exceed the
 * bound the core assumes on purpose); for= restores the rate before.
 */
#include "world_internal.h"

static void skew_fire(dm_world *w)
{
    sim_node *nd;
    if ((nd = pick(w, is_any)))
        node_skew(w, nd, drift_draw(w, &w->fault_prng));
}

static void skew_apply(dm_world *w, const dm_fault_step *s, sim_step *rt, sim_node *nd)
{
    rt->saved = (double)nd->clock.rate_ppm;
    node_skew(w, nd, (int64_t)s->value);
}

static void skew_undo(dm_world *w, const dm_fault_step *s, sim_step *rt)
{
    (void)s;
    node_skew(w, &w->nodes[rt->node], (int64_t)rt->saved);
}

static const char *const describe[] = { "faults.skew_rate", NULL };
static const dm_fault_verb verbs[] = {
    /* Its timeline row is node_skew's own instant, not an interval. */
    { .name = "skew", .arg = DM_VERB_NODE, .rate = true, .eligible = is_any, .apply = skew_apply,
      .undo = skew_undo },
    { 0 },
};

const dm_fault_ops dm_fault_skew_ops = {
    .name = "skew",
    .rate_key = "skew_rate",
    .swarm_round = 1,
    .swarm_rate = { 0.05, 0.5 },
    .describe = describe,
    .fire = skew_fire,
    .verbs = verbs,
};
