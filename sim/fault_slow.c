/* dmutex simulator, fault kind `slow`: an overloaded process reads its
 * messages late.
 *
 * Lifeguard's case (Dadgar et al. 2018): the member still runs, but works
 * through a backlog, so every message reaches its core `delay` after it
 * arrived, in arrival order; what it sends in reply leaves when it reads.
 * Its timers are not delayed: in memberlist the probe timeout, the probe
 * ticker and the suspicion timers run in goroutines of their own, woken by
 * the Go runtime's timers, while packets wait in the socket and the
 * packet handler's queue. That is what makes a slow member accuse healthy
 * ones: its probe times out before it reads the ACK that came in time.
 * (Delaying timers and messages alike would only look like a longer link:
 * the ACK, queued before the timeout, would still be read first.) The
 * node's clients are not slowed either; for fencing a slow node is a paused
 * one that keeps running: it acts on old news (a grant read late), which
 * the core must and does judge by its own clock, and the checkers see its
 * grants and writes like any other node's.
 *
 * At its rate a running node that is not slow already becomes slow for
 * 1 ms plus an exponential time of mean [faults] slow_mean, reading late by
 * [faults] slow_delay (swarm: 0.025 to 1 lease late, for 0.5 to 10 leases
 * on average). Scripted: slow=N delay=SECONDS [for=SECONDS] (no for=: until
 * the fault phase ends). When a slow period ends the backlog still drains in
 * order; a crash drops it. Swarm draws it in the round after wipe's.
 */
#include "world_internal.h"

static bool is_slowable(const sim_node *nd)
{
    return nd->state == NODE_UP && nd->slow_us == 0;
}

static void tl_slow_close(dm_world *w, sim_node *nd)
{
    if (nd->tl_slow_at < 0)
        return;
    char d[48];
    g_snprintf(d, sizeof d, "slow %g", (double)nd->slow_us / 1e6);
    tl_interval(w, "fault", nd->tl_slow_at, w->now, (int)nd->id, d);
    nd->tl_slow_at = -1;
}

void node_slow(dm_world *w, sim_node *nd, int64_t delay, int64_t dur)
{
    if (!is_slowable(nd) || delay <= 0)
        return;
    char t1[32], t2[32];
    TRACE(w, nd->id, "slow: reads messages %s s late, for %s s", fmt_time(t1, sizeof t1, delay),
          dur > 0 ? fmt_time(t2, sizeof t2, dur) : "ever");
    w->stats.slows++;
    record_fault(w, "slow", nd, &(dm_fault_step){ .delay_us = delay, .dur_us = dur });
    nd->slow_us = delay;
    if (w->timeline)
        nd->tl_slow_at = w->now;
    if (dur > 0)
        schedule(w, &nd->slow_end, w->now + dur);
}

void node_slow_end(dm_world *w, sim_node *nd)
{
    cancel(w, &nd->slow_end);
    if (nd->slow_us == 0)
        return;
    TRACE(w, nd->id, "slow over (%u messages still to read)", nd->backlog);
    tl_slow_close(w, nd);
    nd->slow_us = 0;
}

/* Read at the same delay after arrival, but never before what arrived
 * earlier: the heap keeps same-instant events in insertion order. */
void slow_enqueue(dm_world *w, sim_node *nd, sim_msg *sm)
{
    int64_t at = MAX(w->now + nd->slow_us, nd->backlog_last);
    nd->backlog_last = at;
    nd->backlog++;
    w->stats.slowed_msgs++;
    event_init(&sm->ev, EV_READ, nd->id, nd->life);
    schedule(w, &sm->ev, at);
}

bool slow_read(dm_world *w, sim_node *nd, sim_msg *sm)
{
    if (sm->ev.arg != nd->life || nd->state == NODE_DOWN) {
        w->stats.dropped_down++;   /* it arrived in a life that crashed */
        return false;
    }
    nd->backlog--;
    if (nd->state == NODE_PAUSED)
        return inbox_push(w, nd, sm);
    deliver_now(w, nd, sm);
    return false;
}

void slow_crash(dm_world *w, sim_node *nd)
{
    if (nd->backlog)
        TRACE(w, nd->id, "%u unread messages lost", nd->backlog);
    nd->life++;
    nd->backlog = 0;
    nd->backlog_last = 0;
    node_slow_end(w, nd);
}

static void slow_fire(dm_world *w)
{
    sim_node *nd;
    if ((nd = pick(w, is_slowable)))
        node_slow(w, nd, w->cfg->slow_delay_us,
                  1000 + sample_exp(&w->fault_prng, w->cfg->slow_mean_us));
}

/* The fault phase is over: every node reads on time again (after its
 * backlog). */
static void slow_stop(dm_world *w)
{
    for (uint32_t i = 0; i < w->n; i++)
        node_slow_end(w, &w->nodes[i]);
}

/* From a fortieth of a lease late (50 ms at the simulator's 2 s) to a whole
 * lease, around SWIM's probe timeout and interval; periods of half a lease
 * to ten leases on average. */
static void slow_draw(dm_prng *p, const dm_sim_config *in, dm_sim_config *drawn, int stage)
{
    if (stage != 2)
        return;
    double lease = (double)in->core.lease_us;
    drawn->slow_delay_us = dm_fault_to_ms(lease * dm_fault_uniform(p, 0.025, 1.0));
    drawn->slow_mean_us = dm_fault_to_ms(lease * dm_fault_uniform(p, 0.5, 10.0));
}

static void slow_resolve(dm_sim_config *out, const dm_sim_config *drawn, bool on)
{
    (void)on;
    if (out->slow_delay_us < 0)
        out->slow_delay_us = drawn->slow_delay_us;
    if (out->slow_mean_us < 0)
        out->slow_mean_us = drawn->slow_mean_us;
}

static void slow_apply(dm_world *w, const dm_fault_step *s, sim_step *rt, sim_node *nd)
{
    (void)rt;
    node_slow(w, nd, s->delay_us, s->dur_us);
}

static const char *const describe[] = { "faults.slow_rate", "faults.slow_delay",
                                        "faults.slow_mean", NULL };
static const dm_fault_verb verbs[] = {
    /* for= is node_slow's own end, as pause's is its resume. */
    { .name = "slow", .arg = DM_VERB_NODE, .delay = true, .eligible = is_slowable,
      .apply = slow_apply },
    { 0 },
};

const dm_fault_ops dm_fault_slow_ops = {
    .name = "slow",
    .rate_key = "slow_rate",
    .swarm_round = 3,   /* after wipe's: no earlier kind's draws move */
    .swarm_rate = { 0.02, 0.2 },
    .draw = slow_draw,
    .resolve = slow_resolve,
    .describe = describe,
    .fire = slow_fire,
    .stop = slow_stop,
    .verbs = verbs,
};
