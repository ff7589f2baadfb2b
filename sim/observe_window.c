/* dmutex simulator: steady state after failures, an observer (observer.h).
 *
 * What a policy costs once it has reacted to failures is hidden in whole-run
 * averages, which mix the time before the failures and the reaction itself.
 * So over a window -- from [measure] from to the end of the fault phase --
 * this counts the grants and the lock-protocol messages delivered
 * (window_msgs_per_grant), and at the window's end it takes the size of the
 * quorum every running node would form now (quorum_size_end, placement 0,
 * the core's own rule). It also counts the configuration messages of the
 * epoch policy over the whole run (reconfig_msgs).
 */
#include "observer.h"

static bool in_window(const dm_world *w)
{
    return w->phase == PHASE_FAULTS && w->now >= w->cfg->measure_from_us;
}

static void window_deliver(dm_world *w, const sim_node *to, const dm_msg *m)
{
    (void)to;
    if (dm_msg_is_reconfig((int)m->type))
        w->stats.reconfig_msgs++;
    else if (!dm_msg_is_membership((int)m->type) && in_window(w))
        w->stats.window_lock_msgs++;
}

static void window_grant(dm_world *w, const sim_node *nd, const char *lock, uint64_t token,
                         int64_t lease_end)
{
    (void)nd;
    (void)lock;
    (void)token;
    (void)lease_end;
    if (in_window(w))
        w->stats.window_grants++;
}

static void window_phase_end(dm_world *w, phase p)
{
    if (p != PHASE_FAULTS)
        return;
    double sum = 0;
    uint32_t live = 0;
    uint32_t *q = g_new(uint32_t, w->n);
    for (uint32_t i = 0; i < w->n; i++) {
        const sim_node *nd = &w->nodes[i];
        if (!node_live(nd))
            continue;
        int size = dm_node_current_quorum(nd->core, local_now(nd), NULL, q, w->n);
        if (size > 0) {
            sum += size;
            live++;
        }
    }
    g_free(q);
    w->stats.quorum_size_end = live ? sum / live : 0;
}

const dm_observer dm_observe_window = {
    .name = "window",
    .grant = window_grant,
    .deliver = window_deliver,
    .phase_end = window_phase_end,
};
