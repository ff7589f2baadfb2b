/* dmutex simulator: the safety checker (checker.h) as an observer.
 *
 * Mutual exclusion and token order per lock name: every hold the
 * application is granted, renewed, released or loses by a crash reaches
 * the checker here, in global time. checker.c itself knows nothing of the
 * world (tests/test_checker.c drives it directly).
 */
#include "observer.h"

#include <string.h>

static void safety_grant(dm_world *w, const sim_node *nd, const char *lock, uint64_t token,
                         int64_t lease_end)
{
    dm_checker_hold_begin(w->checker, w->now, nd->id, lock, token, lease_end);
}

static void safety_renew(dm_world *w, const sim_node *nd, const char *lock, int64_t lease_end)
{
    dm_checker_hold_extend(w->checker, w->now, nd->id, lock, lease_end);
}

static void safety_release(dm_world *w, const sim_node *nd, const char *lock, const char *why)
{
    /* A hold that ran out is held to the lost margin; a release is not. */
    if (strcmp(why, "lost") == 0)
        dm_checker_hold_lost(w->checker, w->now, nd->id, lock);
    else
        dm_checker_hold_end(w->checker, w->now, nd->id, lock, why);
}

static void safety_crash(dm_world *w, sim_node *nd)
{
    dm_checker_node_down(w->checker, w->now, nd->id, "crash");
}

const dm_observer dm_observe_safety = {
    .name = "safety",
    .grant = safety_grant,
    .renew = safety_renew,
    .release = safety_release,
    .crash = safety_crash,
};
