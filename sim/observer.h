/* dmutex simulator: what checkers and metrics see of a run, behind one
 * interface.
 *
 * An observer is a dm_observer table in its own file (sim/observe_NAME.c)
 * listed once in observer.c. The world calls every observer, in list order,
 * at each thing that happens; every callback may be NULL. Observers read the
 * world and may keep state in it, record violations with the checker, write
 * trace lines and output rows; they never schedule an event or fold into
 * the trace hash, so adding one changes no run. The fenced resource
 * (dm_checker_write: its verdict is part of the run) and the liveness
 * phase's bookkeeping (dm_checker_expect/resolve/check_deadlines) are the
 * world's, not an observer's.
 */
#ifndef DMUTEX_SIM_OBSERVER_H
#define DMUTEX_SIM_OBSERVER_H

#include "world_internal.h"

typedef struct dm_observer {
    const char *name;
    /* The run begins: every node that starts at time 0 runs. */
    void (*start)(dm_world *w);
    /* A lock hold: granted (lease end in global time), renewed or moved
     * (a clock skew), released ("unlock" or "lost"). */
    void (*grant)(dm_world *w, const sim_node *nd, const char *lock, uint64_t token,
                  int64_t lease_end);
    void (*renew)(dm_world *w, const sim_node *nd, const char *lock, int64_t lease_end);
    void (*release)(dm_world *w, const sim_node *nd, const char *lock, const char *why);
    /* A node crashed (it is down now); a crashed node is about to restart. */
    void (*crash)(dm_world *w, sim_node *nd);
    void (*restart)(dm_world *w, sim_node *nd);
    /* Node nd's view may have moved, or it started. */
    void (*view)(dm_world *w, sim_node *nd);
    /* A message is about to reach node `to` (it passed the tap). */
    void (*deliver)(dm_world *w, const sim_node *to, const dm_msg *m);
    /* Node nd reported a SWIM member event. */
    void (*member)(dm_world *w, const sim_node *nd, const dm_event *ev);
    /* After an event during which the observer asked for it (observe_due):
     * most events change nothing an observer tracks, and then the loop
     * pays one test rather than a call to every observer. */
    void (*event)(dm_world *w);
    /* A phase ended: PHASE_FAULTS (the liveness phase begins) or
     * PHASE_LIVENESS (its bound passed). */
    void (*phase_end)(dm_world *w, phase p);
    /* The run is over: close what is open. */
    void (*report)(dm_world *w);
} dm_observer;

extern const dm_observer dm_observe_safety, dm_observe_membership, dm_observe_availability,
    dm_observe_violations, dm_observe_load, dm_observe_window;

/* Call every observer's callback of that name. */
void observe_start(dm_world *w);
void observe_grant(dm_world *w, const sim_node *nd, const char *lock, uint64_t token,
                   int64_t lease_end);
void observe_renew(dm_world *w, const sim_node *nd, const char *lock, int64_t lease_end);
void observe_release(dm_world *w, const sim_node *nd, const char *lock, const char *why);
void observe_crash(dm_world *w, sim_node *nd);
void observe_restart(dm_world *w, sim_node *nd);
void observe_view(dm_world *w, sim_node *nd);
/* Inline, as it runs for every message: the deliver callbacks, in list
 * order (observer.c fills the list in the first observe_start). */
typedef struct dm_observe_hot_hooks {
    void (*deliver[32])(dm_world *w, const sim_node *to, const dm_msg *m);
    size_t n_deliver;
} dm_observe_hot_hooks;
extern dm_observe_hot_hooks dm_observe_hot;
static inline void observe_deliver(dm_world *w, const sim_node *to, const dm_msg *m)
{
    for (size_t i = 0; i < dm_observe_hot.n_deliver; i++)
        dm_observe_hot.deliver[i](w, to, m);
}
void observe_member(dm_world *w, const sim_node *nd, const dm_event *ev);
/* After an event: the event callbacks asked for during it, in list order. */
void observe_event_due(dm_world *w);
static inline void observe_event(dm_world *w)
{
    if (w->event_due)
        observe_event_due(w);
}
/* Ask for o's event callback after the current event. */
void observe_due(dm_world *w, const dm_observer *o);
void observe_phase_end(dm_world *w, phase p);
void observe_report(dm_world *w);

#endif
