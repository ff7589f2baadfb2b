/* bench_swim_loss: false suspicions and false deaths of SWIM/Lifeguard
 * (core/membership) under uniform message loss, and how fast a real crash is
 * still detected at that loss.
 *
 * A small deterministic simulator, like tests/test_membership.c's `net`:
 * n modules, one global clock, a heap of in-flight messages with a latency
 * of 0.2..2.2 ms, each message lost with probability `loss`. Every message
 * crosses the wire codec (dm_codec_encode, then dm_codec_decode and
 * dm_msg_validate with n members), as with a real transport.
 *
 * Loss runs: every member stays up for `hours` independent runs of one
 * simulated hour each (seeds 1..hours), so every suspicion and every death
 * is false. Prints
 *   loss=L n=N hours=H false_suspicions=S false_deaths=D dead_events=E
 *     suspect_events=SE refutations=R
 * where false_suspicions and false_deaths are the members' own verdicts
 * (stats.suspicions: a probe failed; stats.deaths: a suspicion timer
 * expired) and dead_events / suspect_events count the DEAD / SUSPECT events
 * at all members (a verdict heard by 7 others is 7 events).
 *
 * Crash runs: after 20 s, one random member crashes; time until every
 * survivor holds it DEAD. Prints
 *   crash loss=L n=N runs=R dead_everywhere_mean_s=M worst_s=W
 *     timeout_min_s=A timeout_max_s=B other_deaths=O
 *
 * Usage: bench_swim_loss [hours] (default 100 at n=8, 30 at n=32; one value
 * sets both). Exit status 1 if a message failed the codec round trip. */
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "error.h"
#include "heap.h"
#include "membership.h"
#include "message.h"
#include "prng.h"
#include "wire.h"

#define MS 1000
#define SEC 1000000

typedef struct sim sim;

typedef struct member_node {
    sim *w;
    uint32_t id;
    dm_membership *m;
    dm_heap_entry timer;
    bool up;
} member_node;

struct sim {
    uint32_t n;
    member_node *nd;
    dm_wire wire;
    dm_heap timers;
    int64_t now;
    uint64_t suspect_events, dead_events;
    uint32_t victim;            /* the crashed member, or UINT32_MAX */
    uint64_t other_dead_events; /* DEAD events about anyone but the victim */
    uint64_t *dead_at;          /* [observer * n + member]: first DEAD, or 0 */
    int codec_failures;
};

static void reschedule(sim *w, member_node *nd)
{
    if (!nd->up) {
        dm_heap_remove(&w->timers, &nd->timer);
        return;
    }
    if (dm_heap_schedule(&w->timers, &nd->timer, dm_membership_next_deadline(nd->m)) != 0)
        abort();
}

static void on_send(void *user, dm_msg *msg)
{
    member_node *nd = user;
    sim *w = nd->w;
    /* What crosses the wire is what the codec makes of the message. */
    uint8_t frame[DM_FRAME_MAX];
    dm_msg decoded;
    int len = dm_codec_encode(msg, frame, sizeof frame);
    if (len < 0 || dm_codec_decode(frame, (size_t)len, &decoded) != len ||
        dm_msg_validate(&decoded, w->n) != 0) {
        w->codec_failures++;
        return;
    }
    dm_wire_send(&w->wire, w->now, &decoded);
}

static void on_event(void *user, const dm_member_event *ev)
{
    member_node *nd = user;
    sim *w = nd->w;
    if (ev->type == DM_MEMBER_EV_SUSPECT)
        w->suspect_events++;
    if (ev->type == DM_MEMBER_EV_DEAD) {
        w->dead_events++;
        w->other_dead_events += ev->member != w->victim;
        uint64_t *at = &w->dead_at[(size_t)nd->id * w->n + ev->member];
        if (*at == 0)
            *at = (uint64_t)w->now;
    }
}

static const dm_membership_driver driver = {on_send, on_event};

static void sim_init(sim *w, uint32_t n, uint64_t seed, double loss)
{
    memset(w, 0, sizeof *w);
    w->n = n;
    w->victim = UINT32_MAX;
    w->now = 1 * SEC;
    w->nd = g_new0(member_node, n);
    w->dead_at = g_new0(uint64_t, (size_t)n * n);
    dm_prng net;
    dm_prng_derive(&net, seed, "bench-swim-network", 0);
    dm_wire_init(&w->wire, dm_prng_next(&net), 200, 200 + 2 * MS);
    w->wire.loss = loss;
    dm_heap_init(&w->timers);
    for (uint32_t i = 0; i < n; i++) {
        member_node *nd = &w->nd[i];
        nd->w = w;
        nd->id = i;
        nd->up = true;
        dm_heap_entry_init(&nd->timer);
        dm_swim_config cfg;
        dm_swim_config_defaults(&cfg);
        cfg.n_members = n;
        cfg.self = i;
        dm_prng p;
        dm_prng_derive(&p, seed, "bench-swim-node", i);
        cfg.seed = dm_prng_next(&p);
        if (dm_membership_new(&cfg, &driver, nd, w->now, &nd->m) != 0)
            abort();
        reschedule(w, nd);
    }
}

static void sim_free(sim *w)
{
    dm_wire_clear(&w->wire);
    dm_heap_clear(&w->timers);
    for (uint32_t i = 0; i < w->n; i++)
        dm_membership_free(w->nd[i].m);
    g_free(w->nd);
    g_free(w->dead_at);
}

static void deliver(sim *w, const dm_msg *msg)
{
    member_node *to = &w->nd[msg->to];
    if (!to->up || !w->nd[msg->from].up)
        return;
    if (dm_membership_receive(to->m, w->now, msg) != 0) {
        w->codec_failures++;
        return;
    }
    reschedule(w, to);
}

static void sim_run(sim *w, int64_t until)
{
    for (;;) {
        dm_heap_entry *t = dm_heap_peek(&w->timers);
        int64_t arrival = dm_wire_next(&w->wire);
        bool wire_first = arrival != INT64_MAX && (!t || arrival <= t->at);
        int64_t at = wire_first ? arrival : t ? t->at : INT64_MAX;
        if (at > until)
            break;
        if (at > w->now)
            w->now = at;
        if (wire_first) {
            dm_msg msg;
            dm_wire_take(&w->wire, at, &msg, &at);
            deliver(w, &msg);
        } else {
            member_node *nd = (member_node *)((char *)t - offsetof(member_node, timer));
            dm_membership_tick(nd->m, w->now);
            reschedule(w, nd);
        }
    }
    w->now = until;
}

static int loss_runs(uint32_t n, double loss, int hours)
{
    uint64_t own_susp = 0, own_deaths = 0, refutations = 0, dead_ev = 0, susp_ev = 0;
    int failures = 0;
    for (int h = 0; h < hours; h++) {
        sim w;
        sim_init(&w, n, 1 + (uint64_t)h + 1000 * (uint64_t)n, loss);
        sim_run(&w, w.now + 3600 * (int64_t)SEC);
        for (uint32_t i = 0; i < n; i++) {
            const dm_membership_stats *st = dm_membership_get_stats(w.nd[i].m);
            own_susp += st->suspicions;
            own_deaths += st->deaths;
            refutations += st->refutations;
        }
        dead_ev += w.dead_events;
        susp_ev += w.suspect_events;
        failures += w.codec_failures;
        sim_free(&w);
    }
    printf("loss=%.2f n=%u hours=%d false_suspicions=%" G_GUINT64_FORMAT
           " false_deaths=%" G_GUINT64_FORMAT " dead_events=%" G_GUINT64_FORMAT
           " suspect_events=%" G_GUINT64_FORMAT " refutations=%" G_GUINT64_FORMAT "\n",
           loss, n, hours, own_susp, own_deaths, dead_ev, susp_ev, refutations);
    fflush(stdout);
    return failures;
}

static int crash_runs(uint32_t n, double loss, int runs)
{
    double sum = 0, worst = 0;
    uint64_t other_deaths = 0;
    int failures = 0, undetected = 0;
    for (int r = 0; r < runs; r++) {
        sim w;
        sim_init(&w, n, 77 + (uint64_t)r + 1000 * (uint64_t)n, loss);
        sim_run(&w, w.now + 20 * (int64_t)SEC);
        uint32_t victim = (uint32_t)dm_prng_below(&w.wire.rng, n);
        memset(w.dead_at, 0, (size_t)n * n * sizeof *w.dead_at);
        w.victim = victim;
        int64_t t0 = w.now;
        w.nd[victim].up = false;
        reschedule(&w, &w.nd[victim]);
        sim_run(&w, t0 + 180 * (int64_t)SEC);
        int64_t last = 0;
        for (uint32_t i = 0; i < n; i++) {
            if (i == victim)
                continue;
            uint64_t at = w.dead_at[(size_t)i * n + victim];
            if (at == 0)
                undetected++;
            else
                last = MAX(last, (int64_t)at);
        }
        double s = (double)(last - t0) / SEC;
        sum += s;
        worst = fmax(worst, s);
        other_deaths += w.other_dead_events;
        failures += w.codec_failures;
        sim_free(&w);
    }
    dm_swim_config cfg;
    dm_swim_config_defaults(&cfg);
    double min = cfg.suspicion_mult * fmax(1.0, log10(n)) * (double)cfg.probe_interval_us / SEC;
    printf("crash loss=%.2f n=%u runs=%d dead_everywhere_mean_s=%.1f worst_s=%.1f "
           "timeout_min_s=%.1f timeout_max_s=%.1f other_deaths=%" G_GUINT64_FORMAT
           " undetected=%d\n",
           loss, n, runs, sum / runs, worst, min, min * cfg.suspicion_max_mult, other_deaths,
           undetected);
    fflush(stdout);
    return failures;
}

int main(int argc, char **argv)
{
    int hours8 = 100, hours32 = 30;
    if (argc > 1) {
        hours8 = hours32 = atoi(argv[1]);
        if (hours8 <= 0) {
            fprintf(stderr, "usage: %s [hours]\n", argv[0]);
            return 2;
        }
    }
    static const double losses[] = {0.05, 0.10, 0.20};
    static const uint32_t sizes[] = {8, 32};
    int failures = 0;
    for (size_t k = 0; k < G_N_ELEMENTS(sizes); k++)
        for (size_t l = 0; l < G_N_ELEMENTS(losses); l++)
            failures += loss_runs(sizes[k], losses[l], sizes[k] == 8 ? hours8 : hours32);
    for (size_t k = 0; k < G_N_ELEMENTS(sizes); k++)
        for (size_t l = 0; l < G_N_ELEMENTS(losses); l++)
            failures += crash_runs(sizes[k], losses[l], 20);
    failures += crash_runs(32, 0.0, 20);
    if (failures) {
        fprintf(stderr, "%d messages failed the codec round trip\n", failures);
        return 1;
    }
    return 0;
}
