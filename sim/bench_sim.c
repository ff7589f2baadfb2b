/* bench_sim: how fast the simulator runs, end to end.
 *
 * First the speed figure issue 12 asks for: a 15-node cluster with 16 lock
 * names under the busy workload below, against the bare event-heap loop
 * (bench/common.h) run right after each simulation with as many events and
 * as many of them queued as the simulation had on average -- the simulator
 * can never beat that loop, so the ratio says how much of each event's cost
 * is the simulation itself rather than the queue. Each seed's pair runs
 * back to back, so the ratio of a pair is robust to the load of a shared
 * machine; the line gives both medians and the median of the ratios. Both
 * sides are events per CPU second, for the same reason. The same loop on the
 * simulator's own queue (core/heap.h) runs beside it: ratio_same_queue says
 * how far the simulator is from its queue alone, so that a reader can tell
 * what a faster queue bought from what the rest of the simulator did.
 *
 * Then, for a 5-node and a 101-node cluster under a steady lock workload with
 * every kind of fault, runs the simulator five times (seeds 1..5) and prints
 * the median events per wall second and simulated seconds per wall second,
 * plus the heap bytes the world holds per node (glibc's mallinfo2: after
 * setup, and at the end of a run, message pool and core state included).
 * A benchmark, not a test: it prints figures and asserts nothing.
 *
 * Usage: bench_sim [DURATION_SCALE [ratio]]   (default 1.0; 0.1 for a quick look;
 * `ratio`: the first line only)
 */

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <glib.h>

#include "common.h"
#include "simconfig.h"
#include "world.h"

#define RUNS 5

typedef struct figures {
    double events_per_s;
    double events_per_cpu_s;    /* the ratio's figure (bench/common.h says why) */
    double sim_per_wall;
    uint64_t events;
    double mean_queued;         /* heap events queued, on average, after each pop */
    double setup_bytes_per_node;
    double end_bytes_per_node;
} figures;

static size_t heap_in_use(void)
{
    return mallinfo2().uordblks;
}

static void configure(dm_sim_config *cfg, uint32_t nodes, uint32_t locks, double seconds)
{
    static const char *const settings[] = {
        /* Busy, with several names, so that arbiters queue and inquire. */
        "workload.load=0.8", "workload.hold=0.2",
        /* Every fault kind, at fixed rates: the same mix on every seed. */
        "faults.mode=list", "faults.kinds=crash,restart,pause,partition,loss,dup,reorder,skew",
        "faults.crash_rate=0.05", "faults.restart_rate=0.2", "faults.pause_rate=0.1",
        "faults.partition_rate=0.05", "faults.skew_rate=0.2", "faults.pause_mean=1",
        "faults.partition_mean=3", "network.loss=0.01", "network.dup=0.01", "network.reorder=0.02",
    };
    GError *err = NULL;
    dm_sim_config_defaults(cfg);
    for (size_t i = 0; i < G_N_ELEMENTS(settings); i++)
        if (!dm_sim_config_set(cfg, settings[i], &err))
            g_error("%s", err->message);
    cfg->nodes = nodes;
    cfg->locks = locks;
    cfg->duration_us = (int64_t)(seconds * 1e6);
}

static figures run_once(const dm_sim_config *base, uint64_t seed)
{
    figures f = { 0 };
    GError *err = NULL;
    dm_sim_config cfg;
    if (!dm_sim_config_resolve(base, seed, &cfg, &err))
        g_error("%s", err->message);
    size_t before = heap_in_use();
    dm_world *w = dm_world_new(&cfg);
    f.setup_bytes_per_node = (double)(heap_in_use() - before) / cfg.nodes;
    int64_t t0 = g_get_monotonic_time();
    double cpu0 = dm_bench_cpu_seconds();
    dm_world_run(w);
    double cpu = dm_bench_cpu_seconds() - cpu0;
    double wall = (double)(g_get_monotonic_time() - t0) / 1e6;
    f.end_bytes_per_node = (double)(heap_in_use() - before) / cfg.nodes;
    const dm_world_stats *s = dm_world_get_stats(w);
    f.events = s->events;
    f.mean_queued = s->popped ? (double)s->queued_sum / (double)s->popped : 0;
    f.events_per_s = (double)s->events / wall;
    f.events_per_cpu_s = (double)s->events / (cpu > 0 ? cpu : 1e-9);
    f.sim_per_wall = (double)s->sim_us / 1e6 / wall;
    if (dm_world_failed(w))
        fprintf(stderr, "bench_sim: warning: seed %" G_GUINT64_FORMAT " reported a failure\n", seed);
    dm_world_free(w);
    dm_sim_config_clear(&cfg);
    return f;
}

/* Issue 12's figure: the simulator at N = 15, 16 locks, against the bare
 * heap loop with its event count and mean queue length. */
static void bench_ratio(double seconds)
{
    enum { NODES = 15, LOCKS = 16 };
    dm_sim_config base;
    configure(&base, NODES, LOCKS, seconds);
    double sim[RUNS], bare[RUNS], ratio[RUNS], queued[RUNS], events[RUNS];
    double same[RUNS], ratio_same[RUNS];
    for (int i = 0; i < RUNS; i++) {
        figures f = run_once(&base, (uint64_t)i + 1);
        /* The loop keeps `pending` events: one popped plus those left. */
        uint32_t pending = (uint32_t)(f.mean_queued + 0.5) + 1;
        sim[i] = f.events_per_cpu_s;
        bare[i] = dm_bench_hold(pending, f.events, (uint64_t)i + 1);
        if (bare[i] <= 0)
            g_error("bench_sim: the bare heap loop failed at pending=%u", pending);
        same[i] = dm_bench_hold_queue(pending, f.events, (uint64_t)i + 1);
        if (same[i] <= 0)
            g_error("bench_sim: the loop on the simulator's queue failed at pending=%u", pending);
        ratio[i] = sim[i] / bare[i];
        ratio_same[i] = sim[i] / same[i];
        queued[i] = f.mean_queued;
        events[i] = (double)f.events;
    }
    printf("nodes=%u locks=%u sim_seconds=%.0f runs=%d events_per_run=%.0f mean_queued=%.1f"
           " sim_events_per_cpu_s=%.0f bare_heap_events_per_cpu_s=%.0f ratio=%.3f ratio_of_medians=%.3f"
           " same_queue_events_per_cpu_s=%.0f ratio_same_queue=%.3f\n",
           NODES, LOCKS, seconds, RUNS, dm_bench_median(events, RUNS),
           dm_bench_median(queued, RUNS), dm_bench_median(sim, RUNS), dm_bench_median(bare, RUNS),
           dm_bench_median(ratio, RUNS), dm_bench_median(sim, RUNS) / dm_bench_median(bare, RUNS),
           dm_bench_median(same, RUNS), dm_bench_median(ratio_same, RUNS));
    fflush(stdout);
    dm_sim_config_clear(&base);
}

static void bench(uint32_t nodes, double seconds)
{
    dm_sim_config base;
    configure(&base, nodes, 4, seconds);
    double eps[RUNS], spw[RUNS], setup[RUNS], end[RUNS];
    uint64_t events = 0;
    for (int i = 0; i < RUNS; i++) {
        figures f = run_once(&base, (uint64_t)i + 1);
        eps[i] = f.events_per_s;
        spw[i] = f.sim_per_wall;
        setup[i] = f.setup_bytes_per_node;
        end[i] = f.end_bytes_per_node;
        events += f.events;
    }
    printf("nodes=%u sim_seconds=%.0f runs=%d events_per_run=%" G_GUINT64_FORMAT
           " events_per_s=%.0f sim_per_wall=%.1f bytes_per_node_setup=%.0f bytes_per_node_end=%.0f\n",
           nodes, seconds, RUNS, events / RUNS, dm_bench_median(eps, RUNS),
           dm_bench_median(spw, RUNS), dm_bench_median(setup, RUNS), dm_bench_median(end, RUNS));
    fflush(stdout);
    dm_sim_config_clear(&base);
}

int main(int argc, char **argv)
{
    double scale = argc > 1 ? g_ascii_strtod(argv[1], NULL) : 1.0;
    bool ratio_only = argc > 2 && g_str_equal(argv[2], "ratio");
    if (!(scale > 0) || argc > 3 || (argc > 2 && !ratio_only)) {
        fprintf(stderr, "usage: bench_sim [DURATION_SCALE > 0 [ratio]]\n");
        return 2;
    }
    printf("# median of %d runs; busy workload (load 0.8), every fault kind\n", RUNS);
    printf("# the simulator against the bare binary-heap loop (ratio: median of the per-seed ratios;"
           " ratio_same_queue: against the same loop on the simulator's own queue)\n");
    bench_ratio(600 * scale);
    if (ratio_only)
        return 0;
    printf("# 4 locks\n");
    bench(5, 6000 * scale);
    bench(101, 600 * scale);
    return 0;
}
