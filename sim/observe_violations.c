/* dmutex simulator: the context of the first safety violation, an observer
 * (observer.h).
 *
 * Every violation the checker found is traced once; for the first safety
 * violation of a run the world's fault picture then (partition shape, nodes
 * down and paused, whether views agreed, whether the earlier holder was in
 * the new holder's view) goes to dm_world_stats for --csv-runs.
 */
#include "observer.h"

/* New violations after an event: trace them, and keep the context of the
 * first safety violation (what the fault picture was when it happened). */
static void note_violations(dm_world *w)
{
    uint32_t count = dm_checker_violation_count(w->checker);
    for (uint32_t i = w->violations_seen; i < count; i++) {
        const dm_violation *v = dm_checker_violation(w->checker, i);
        TRACE(w, v->node, "VIOLATION %s", v->text);
        dm_world_stats *s = &w->stats;
        const sim_node *nd = v->node < w->n ? &w->nodes[v->node] : NULL;
        if (v->kind == DM_VIOLATION_MUTEX && s->violation_holder_in_view < 0 && v->other < w->n &&
            nd && node_live(nd) && dm_node_membership(nd->core))
            s->violation_holder_in_view =
                dm_membership_in_view(dm_node_membership(nd->core), v->other) ? 1 : 0;
        if (v->kind == DM_VIOLATION_LIVENESS || s->violation_at >= 0)
            continue;
        s->violation_at = w->now;
        s->violation_kind = v->kind;
        s->violation_shape = dm_simnet_cut_count(w->net) > 0 ? w->cur_shape : -1;
        s->violation_down = w->down;
        s->violation_paused = 0;
        for (uint32_t k = 0; k < w->n; k++)
            s->violation_paused += w->nodes[k].state == NODE_PAUSED;
        s->violation_views_agree = w->views_agree;
    }
    w->violations_seen = count;
}

static void violations_event(dm_world *w)
{
    if (dm_checker_violation_count(w->checker) != w->violations_seen)
        note_violations(w);
}

/* The checker says when it found one, so that the loop need not ask after
 * every event. */
static void violation_found(void *user)
{
    observe_due(user, &dm_observe_violations);
}

static void violations_start(dm_world *w)
{
    dm_checker_on_violation(w->checker, violation_found, w);
    if (dm_checker_violation_count(w->checker) != w->violations_seen)
        observe_due(w, &dm_observe_violations);
}

const dm_observer dm_observe_violations = {
    .name = "violations",
    .start = violations_start,
    .event = violations_event,
};
