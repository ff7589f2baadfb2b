/* dmutex simulator, fault kind `churn`: every node alternates up and down.
 *
 * Each node's up and down periods are exponential, from its own stream
 * ("churn", i), independent of the protocol: up with mean [faults]
 * churn_up_mean, down with mean up_mean (1 - p) / p, p = churn_p, so that
 * a node is up with probability p at any instant. A measurement mode (the
 * availability integrals, world.h): swarm never draws it, and it has no
 * rate and no scripted step.
 */
#include "world_internal.h"

#include <math.h>

/* Node `nd`'s next period ends after an exponential time (p = 1: it never
 * goes down; p = 0: never comes up). Only within the fault phase. */
static void churn_next(dm_world *w, sim_node *nd)
{
    double p = w->cfg->churn_p, up = (double)w->cfg->churn_up_mean_us;
    if (nd->churn_up ? p >= 1 : p <= 0)
        return;
    double mean = nd->churn_up ? up : up * (1 - p) / p;
    int64_t at = w->now + llround(dm_prng_exponential(&nd->churn_prng, mean));
    if (at < w->cfg->duration_us)
        schedule(w, &nd->churn, at);
}

/* Time 0, before any node starts: each node is up with probability p, so
 * the alternating process is stationary from the start (its periods are
 * memoryless). A node drawn down never ran: it is counted as crashed at 0,
 * and its first start, when churn brings it up, is a bootstrap. */
static void churn_start(dm_world *w)
{
    for (uint32_t i = 0; i < w->n; i++) {
        sim_node *nd = &w->nodes[i];
        nd->churn_up = dm_prng_double(&nd->churn_prng) < w->cfg->churn_p;
        if (!nd->churn_up) {
            TRACE(w, nd->id, "churn: starts down");
            node_crash(w, nd);
        }
        churn_next(w, nd);
    }
}

void churn_flip(dm_world *w, sim_node *nd)
{
    nd->churn_up = !nd->churn_up;
    TRACE(w, nd->id, "churn: %s", nd->churn_up ? "up" : "down");
    if (nd->churn_up)
        node_restart(w, nd);
    else
        node_crash(w, nd);
    churn_next(w, nd);
}

static void churn_stop(dm_world *w)
{
    for (uint32_t i = 0; i < w->n; i++)
        cancel(w, &w->nodes[i].churn);
}

static const char *const describe[] = { "faults.churn_p", "faults.churn_up_mean", NULL };

const dm_fault_ops dm_fault_churn_ops = {
    .name = "churn",
    .describe = describe,
    .start = churn_start,
    .stop = churn_stop,
};
