/* dmutex simulator, fault kind `wipe`: a crash that also loses the disk.
 *
 * The node comes back without persisted state and must recover (no grant
 * for a lease plus drift, a token floor from a quorum formed without it).
 * At its rate a live node is wiped and restarts after 1 ms plus an
 * exponential downtime of mean [faults] wipe_down. Scripted: wipe=N
 * [for=S], which is crash=N plus the loss. Added after the other kinds, so
 * swarm draws it in a second round (fault.h).
 */
#include "world_internal.h"

/* Some node lost its persisted state and has not yet learnt its token floor:
 * down since a wipe (or a crash during recovery), or up and recovering; or,
 * under the epoch policy, it did and still abstains in its epoch (it may
 * not vote there until a successor is installed), up or down (node_crash
 * records it: a second non-voter can leave a sealed epoch without a Paxos
 * quorum for good, docs/PROTOCOL.md). */
static bool amnesiac_node(const dm_world *w)
{
    for (uint32_t i = 0; i < w->n; i++) {
        const sim_node *nd = &w->nodes[i];
        if (nd->state == NODE_DOWN ? nd->amnesiac
                                   : nd->core && (dm_node_recovery(nd->core, NULL) == DM_RECOVERY_FLOOR ||
                                                  dm_node_abstaining(nd->core)))
            return true;
    }
    return false;
}

static bool is_wipeable(const sim_node *nd)
{
    return nd->state != NODE_DOWN && nd->recoverable;
}

/* Operators replace one disk at a time: two members without their state at
 * once can leave no quorum without one of them, and then no token floor can
 * ever be recovered (the lock stays unavailable, safely; docs/PROTOCOL.md).
 * Drawn wipes wait for the last one to recover, and spare a node without
 * which no quorum exists (it could never recover); scripted ones do as
 * they are told. */
static void wipe_fire(dm_world *w)
{
    const dm_sim_config *c = w->cfg;
    sim_node *nd;
    if (w->down < (uint32_t)c->max_down && !amnesiac_node(w) && (nd = pick(w, is_wipeable))) {
        node_wipe(w, nd);
        schedule(w, &nd->restart, w->now + 1000 + sample_exp(&w->fault_prng, c->wipe_down_us));
    }
}

/* A wiped node stays down from a twentieth of a lease to two leases: often
 * less than a lease, while leases it granted are still in force. */
static void wipe_draw(dm_prng *p, const dm_sim_config *in, dm_sim_config *drawn, int stage)
{
    if (stage == 2)
        drawn->wipe_down_us = dm_fault_to_ms((double)in->core.lease_us * dm_fault_uniform(p, 0.05, 2.0));
}

static void wipe_resolve(dm_sim_config *out, const dm_sim_config *drawn, bool on)
{
    (void)on;
    if (out->wipe_down_us < 0)
        out->wipe_down_us = drawn->wipe_down_us;
}

static void wipe_apply(dm_world *w, const dm_fault_step *s, sim_step *rt, sim_node *nd)
{
    (void)rt;
    node_wipe(w, nd);
    restart_after(w, nd, s->dur_us);
}

static const char *const describe[] = { "faults.wipe_rate", "faults.wipe_down",
                                        "faults.wipe_bootstrap", NULL };
static const dm_fault_verb verbs[] = {
    { .name = "wipe", .arg = DM_VERB_NODE, .eligible = is_not_down, .apply = wipe_apply },
    { 0 },
};

const dm_fault_ops dm_fault_wipe_ops = {
    .name = "wipe",
    .rate_key = "wipe_rate",
    .swarm_round = 2,   /* rarer than crashes */
    .swarm_rate = { 0.01, 0.1 },
    .draw = wipe_draw,
    .resolve = wipe_resolve,
    .describe = describe,
    .fire = wipe_fire,
    .verbs = verbs,
};
