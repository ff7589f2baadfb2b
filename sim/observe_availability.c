/* dmutex simulator: availability over the fault phase, an observer
 * (observer.h).
 *
 * Integrates exactly, since state only changes at events, the time during
 * which a quorum of the full system over all members exists among the
 * running members (quorum_us, the ground truth) and the time during which
 * some running node's own quorum system has one (quorum_views_us); world.h
 * and sim/README.md say more.
 */
#include "observer.h"

/* Account the time since the last update under the states then in force,
 * and evaluate them anew: a quorum of the full tree among the running
 * members, and of some running node's own tree. Called whenever a node
 * starts, crashes or changes its view, so the integral is exact. */
static void avail_update(dm_world *w)
{
    int64_t dt = w->now - w->avail_at;
    if (w->avail_truth)
        w->stats.quorum_us += dt;
    if (w->avail_views)
        w->stats.quorum_views_us += dt;
    w->avail_at = w->now;
    for (uint32_t i = 0; i < w->n; i++)
        w->down_mask[i] = !node_live(&w->nodes[i]);
    w->avail_truth = dm_quorum_exists(w->full_quorum, w->down_mask);
    bool views = false;
    for (uint32_t i = 0; i < w->n && !views; i++)
        if (node_live(&w->nodes[i]))
            views = dm_quorum_exists(dm_node_quorum_system(w->nodes[i].core), w->down_mask);
    w->avail_views = views;
}

/* The fault phase ends: close the integral. */
static void avail_close(dm_world *w)
{
    if (!w->avail_open)
        return;
    avail_update(w);
    w->avail_open = false;
    w->stats.fault_us = w->now;
}

/* A node started, crashed or its view moved: re-evaluate after the event. */
static void avail_touch(dm_world *w, sim_node *nd)
{
    (void)nd;
    w->avail_dirty = true;
    observe_due(w, &dm_observe_availability);
}

static void avail_start(dm_world *w)
{
    w->avail_open = true;
    avail_update(w);
    w->avail_dirty = false;
}

static void avail_event(dm_world *w)
{
    if (w->avail_dirty && w->avail_open)
        avail_update(w);
    w->avail_dirty = false;
}

static void avail_phase_end(dm_world *w, phase p)
{
    if (p == PHASE_FAULTS)
        avail_close(w);
}

const dm_observer dm_observe_availability = {
    .name = "availability",
    .start = avail_start,
    .crash = avail_touch,
    .view = avail_touch,
    .event = avail_event,
    .phase_end = avail_phase_end,
    .report = avail_close,   /* a run cut short in the fault phase */
};
