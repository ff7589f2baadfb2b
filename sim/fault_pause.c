/* dmutex simulator, fault kind `pause`: a process stops, its clock runs on.
 *
 * At its rate a random running node pauses for 1 ms plus an exponential
 * time of mean [faults] pause_mean (swarm: a tenth of a lease to two
 * leases, so some outlive the lease). Scripted: pause=N [for=S] (no for=:
 * until resume=N or the liveness phase), resume=N.
 */
#include "world_internal.h"

static void pause_fire(dm_world *w)
{
    sim_node *nd;
    if ((nd = pick(w, is_up)))
        node_pause(w, nd, 1000 + sample_exp(&w->fault_prng, w->cfg->pause_us));
}

static void pause_draw(dm_prng *p, const dm_sim_config *in, dm_sim_config *drawn, int stage)
{
    if (stage == 2)
        drawn->pause_us = dm_fault_to_ms((double)in->core.lease_us * dm_fault_uniform(p, 0.1, 2.0));
}

static void pause_resolve(dm_sim_config *out, const dm_sim_config *drawn, bool on)
{
    (void)on;
    if (out->pause_us < 0)
        out->pause_us = drawn->pause_us;
}

static void pause_apply(dm_world *w, const dm_fault_step *s, sim_step *rt, sim_node *nd)
{
    (void)rt;
    node_pause(w, nd, s->dur_us);
}

static void resume_apply(dm_world *w, const dm_fault_step *s, sim_step *rt, sim_node *nd)
{
    (void)s, (void)rt;
    node_resume(w, nd);
}

static const char *const describe[] = { "faults.pause_rate", "faults.pause_mean", NULL };
static const dm_fault_verb verbs[] = {
    { .name = "pause", .arg = DM_VERB_NODE, .eligible = is_up, .apply = pause_apply },
    { .name = "resume", .arg = DM_VERB_NODE, .eligible = is_paused, .apply = resume_apply },
    { 0 },
};

const dm_fault_ops dm_fault_pause_ops = {
    .name = "pause",
    .rate_key = "pause_rate",
    .swarm_round = 1,
    .swarm_rate = { 0.02, 0.3 },
    .draw = pause_draw,
    .resolve = pause_resolve,
    .describe = describe,
    .fire = pause_fire,
    .verbs = verbs,
};
