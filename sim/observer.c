/* dmutex simulator: the list of observers and the calls that reach them
 * (see observer.h). Order matters only for what observers write: the
 * membership tracker settles the views before the violation context reads
 * whether they agree. */
#include "observer.h"

static const dm_observer *const observers[] = {
    &dm_observe_safety,
    &dm_observe_membership,
    &dm_observe_availability,
    &dm_observe_violations,
    &dm_observe_load,
    &dm_observe_window,
};

#define EACH(cb, ...)                                                \
    do {                                                             \
        for (size_t i_ = 0; i_ < G_N_ELEMENTS(observers); i_++)      \
            if (observers[i_]->cb)                                   \
                observers[i_]->cb(__VA_ARGS__);                      \
    } while (0)

/* The callback that runs for every message reaches only the observers that
 * set it: a list (observer.h), taken from the table above once, before any
 * world runs, so that the other observers cost no load and no test there. */
dm_observe_hot_hooks dm_observe_hot;
G_STATIC_ASSERT(G_N_ELEMENTS(observers) <= G_N_ELEMENTS(dm_observe_hot.deliver));

static void hot_init(void)
{
    static gsize ready;
    if (g_once_init_enter(&ready)) {
        for (size_t i = 0; i < G_N_ELEMENTS(observers); i++)
            if (observers[i]->deliver)
                dm_observe_hot.deliver[dm_observe_hot.n_deliver++] = observers[i]->deliver;
        g_once_init_leave(&ready, 1);
    }
}

void observe_start(dm_world *w)
{
    hot_init();
    EACH(start, w);
}
void observe_grant(dm_world *w, const sim_node *nd, const char *lock, uint64_t token,
                   int64_t lease_end)
{
    EACH(grant, w, nd, lock, token, lease_end);
}
void observe_renew(dm_world *w, const sim_node *nd, const char *lock, int64_t lease_end)
{
    EACH(renew, w, nd, lock, lease_end);
}
void observe_release(dm_world *w, const sim_node *nd, const char *lock, const char *why)
{
    EACH(release, w, nd, lock, why);
}
void observe_crash(dm_world *w, sim_node *nd) { EACH(crash, w, nd); }
void observe_restart(dm_world *w, sim_node *nd) { EACH(restart, w, nd); }
void observe_view(dm_world *w, sim_node *nd) { EACH(view, w, nd); }

void observe_member(dm_world *w, const sim_node *nd, const dm_event *ev) { EACH(member, w, nd, ev); }

/* One bit of w->event_due per entry of observers[]. */
G_STATIC_ASSERT(G_N_ELEMENTS(observers) <= 32);

void observe_due(dm_world *w, const dm_observer *o)
{
    for (size_t i = 0; i < G_N_ELEMENTS(observers); i++)
        if (observers[i] == o)
            w->event_due |= (uint32_t)1 << i;
}

/* A callback may ask for another observer's: a later one in the list still
 * runs now, an earlier one after the next event, as when every callback ran
 * after every event. */
void observe_event_due(dm_world *w)
{
    for (size_t i = 0; i < G_N_ELEMENTS(observers) && w->event_due; i++) {
        uint32_t bit = (uint32_t)1 << i;
        if (!(w->event_due & bit))
            continue;
        w->event_due &= ~bit;
        if (observers[i]->event)
            observers[i]->event(w);
    }
}
void observe_phase_end(dm_world *w, phase p) { EACH(phase_end, w, p); }
void observe_report(dm_world *w) { EACH(report, w); }
