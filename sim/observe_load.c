/* dmutex simulator: how evenly the arbiters' work spreads, an observer
 * (observer.h).
 *
 * Counts, per node and over all its lives, the lock messages delivered to
 * it as arbiter (REQUEST, YIELD, RELEASE, KEEP: dm_msg_to_arbiter), and
 * reports arbiter_load_ratio = max / mean over all configured nodes. With
 * one tree for every lock name the root receives a share of every
 * acquisition; per-name placement (dm_config.spread) exists to bring this
 * towards 1.
 */
#include "observer.h"

static void load_deliver(dm_world *w, const sim_node *to, const dm_msg *m)
{
    if (dm_msg_to_arbiter(m->type))
        w->nodes[to->id].arbiter_msgs++;
}

static void load_report(dm_world *w)
{
    uint64_t sum = 0, max = 0;
    for (uint32_t i = 0; i < w->n; i++) {
        sum += w->nodes[i].arbiter_msgs;
        max = MAX(max, w->nodes[i].arbiter_msgs);
    }
    w->stats.arbiter_load_ratio = sum ? (double)max * w->n / (double)sum : 0;
}

const dm_observer dm_observe_load = {
    .name = "load",
    .deliver = load_deliver,
    .report = load_report,
};
