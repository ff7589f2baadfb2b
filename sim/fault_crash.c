/* dmutex simulator, fault kind `crash`: a node loses its volatile state.
 *
 * At its rate a random live node crashes (while fewer than max_down are
 * down); it stays down until a restart (the `restart` kind, a scripted
 * restart=, for=, or the liveness phase). [faults] crash_count = N replaces
 * the rate by exactly N crashes at duration x k / (N + 1), k = 1..N.
 * Scripted: crash=N|random|holder [for=S].
 */
#include "world_internal.h"

static void crash_fire(dm_world *w)
{
    sim_node *nd;
    if (w->down < (uint32_t)w->cfg->max_down && (nd = pick(w, is_not_down)))
        node_crash(w, nd);
}

/* crash_count: crash k (from 0) of `count` strikes at
 * duration x (k + 1) / (count + 1). */
static void crash_count_next(dm_world *w)
{
    uint32_t count = w->cfg->crash_count;
    if (w->crashes_done >= count)
        return;
    int64_t at = w->cfg->duration_us / (count + 1) * (int64_t)(w->crashes_done + 1);
    if (at < w->cfg->duration_us)
        schedule(w, &w->crash_ev, at < w->now ? w->now : at);
}

void crash_count_fire(dm_world *w)
{
    crash_fire(w);
    w->crashes_done++;
    crash_count_next(w);
}

static void crash_stop(dm_world *w)
{
    cancel(w, &w->crash_ev);
}

static void crash_apply(dm_world *w, const dm_fault_step *s, sim_step *rt, sim_node *nd)
{
    (void)rt;
    node_crash(w, nd);
    restart_after(w, nd, s->dur_us);
}

static const char *const describe[] = { "faults.crash_rate", NULL };
static const dm_fault_verb verbs[] = {
    { .name = "crash", .arg = DM_VERB_NODE, .eligible = is_not_down, .apply = crash_apply },
    { 0 },
};

const dm_fault_ops dm_fault_crash_ops = {
    .name = "crash",
    .rate_key = "crash_rate",
    .swarm_round = 1,
    .swarm_rate = { 0.02, 0.2 },
    .describe = describe,
    .arm = crash_count_next,
    .fire = crash_fire,
    .stop = crash_stop,
    .verbs = verbs,
};
