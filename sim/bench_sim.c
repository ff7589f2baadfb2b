/* bench_sim: how fast the simulator runs, end to end.
 *
 * For a 5-node and a 101-node cluster under a steady lock workload with
 * every kind of fault, runs the simulator five times (seeds 1..5) and prints
 * the median events per wall second and simulated seconds per wall second,
 * plus the heap bytes the world holds per node (glibc's mallinfo2: after
 * setup, and at the end of a run, message pool and core state included).
 * A benchmark, not a test: it prints figures and asserts nothing.
 *
 * Usage: bench_sim [DURATION_SCALE]   (default 1.0; 0.1 for a quick look)
 */

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <glib.h>

#include "simconfig.h"
#include "world.h"

#define RUNS 5

typedef struct figures {
    double events_per_s;
    double sim_per_wall;
    uint64_t events;
    double setup_bytes_per_node;
    double end_bytes_per_node;
} figures;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static size_t heap_in_use(void)
{
    return mallinfo2().uordblks;
}

static void configure(dm_sim_config *cfg, uint32_t nodes, double seconds)
{
    static const char *const settings[] = {
        /* Busy, with several names, so that arbiters queue and inquire. */
        "workload.locks=4", "workload.load=0.8", "workload.hold=0.2",
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
    dm_world_run(w);
    double wall = (double)(g_get_monotonic_time() - t0) / 1e6;
    f.end_bytes_per_node = (double)(heap_in_use() - before) / cfg.nodes;
    const dm_world_stats *s = dm_world_get_stats(w);
    f.events = s->events;
    f.events_per_s = (double)s->events / wall;
    f.sim_per_wall = (double)s->sim_us / 1e6 / wall;
    if (dm_world_failed(w))
        fprintf(stderr, "bench_sim: warning: seed %" G_GUINT64_FORMAT " reported a failure\n", seed);
    dm_world_free(w);
    dm_sim_config_clear(&cfg);
    return f;
}

static void bench(uint32_t nodes, double seconds)
{
    dm_sim_config base;
    configure(&base, nodes, seconds);
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
    qsort(eps, RUNS, sizeof eps[0], cmp_double);
    qsort(spw, RUNS, sizeof spw[0], cmp_double);
    qsort(setup, RUNS, sizeof setup[0], cmp_double);
    qsort(end, RUNS, sizeof end[0], cmp_double);
    printf("nodes=%u sim_seconds=%.0f runs=%d events_per_run=%" G_GUINT64_FORMAT
           " events_per_s=%.0f sim_per_wall=%.1f bytes_per_node_setup=%.0f bytes_per_node_end=%.0f\n",
           nodes, seconds, RUNS, events / RUNS, eps[RUNS / 2], spw[RUNS / 2], setup[RUNS / 2],
           end[RUNS / 2]);
    fflush(stdout);
    dm_sim_config_clear(&base);
}

int main(int argc, char **argv)
{
    double scale = argc > 1 ? g_ascii_strtod(argv[1], NULL) : 1.0;
    if (!(scale > 0)) {
        fprintf(stderr, "usage: bench_sim [DURATION_SCALE > 0]\n");
        return 2;
    }
    printf("# median of %d runs; busy workload (4 locks, load 0.8), every fault kind\n", RUNS);
    bench(5, 6000 * scale);
    bench(101, 600 * scale);
    return 0;
}
