/* bench_memory: heap bytes per node pair of a simulated cluster (issue 12).
 *
 * A simulation of N nodes holds state that grows as N^2: every node keeps
 * something per member. For each N this builds the world of
 * `dmutex-sim --nodes N --faults crash` (SWIM on, the default lock
 * workload), runs it for a few simulated seconds (the fault phase only: the
 * liveness phase is not reached), and prints glibc's heap in use
 * (mallinfo2's uordblks + hblkhd) divided by N^2, at setup and at the end.
 *
 * The membership module's share is measured as a difference: the same
 * world with `swim.enabled=false` (which the ae policy allows) holds no
 * dm_membership at all but every other structure, core and simulator, is
 * the same size -- the per-member arrays of core/node.c, the quorum
 * system, the simulator's nodes, clients, network and checker. So
 * `other` is the SWIM-off world and `membership` = SWIM-on - SWIM-off.
 * What the two runs do differs (no SWIM messages in flight, no suspicions),
 * but that is O(N) state, nothing per pair.
 *
 * A benchmark, not a test: it prints figures and asserts nothing.
 *
 * Usage: bench_memory [N...]   (default 256 1024 4096; e.g. 10000 on request)
 */

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <glib.h>

#include "simconfig.h"
#include "world.h"

/* Simulated seconds of the fault phase to run: long enough for every node
 * to have probed, been probed, and taken and granted locks a few times. */
#define RUN_SECONDS 3

typedef struct figures {
    double setup, end;          /* heap bytes */
    uint64_t events;
    double wall;
} figures;

/* Large blocks (above glibc's mmap threshold, 128 KiB to 32 MiB) are mapped
 * apart and counted in hblkhd, not uordblks: a per-member array of a
 * 10,000-member node is one of them. */
static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static figures measure(uint32_t nodes, bool swim)
{
    GError *err = NULL;
    dm_sim_config base, cfg;
    dm_sim_config_defaults(&base);
    const char *settings[] = { "faults.mode=list", "faults.kinds=crash",
                               swim ? "swim.enabled=true" : "swim.enabled=false" };
    for (size_t i = 0; i < G_N_ELEMENTS(settings); i++)
        if (!dm_sim_config_set(&base, settings[i], &err))
            g_error("%s", err->message);
    base.nodes = nodes;
    base.duration_us = 600 * G_USEC_PER_SEC;
    if (!dm_sim_config_resolve(&base, 1, &cfg, &err))
        g_error("%s", err->message);
    figures f = { 0 };
    malloc_trim(0);
    size_t before = heap_in_use();
    int64_t t0 = g_get_monotonic_time();
    dm_world *w = dm_world_new(&cfg);
    f.setup = (double)(heap_in_use() - before);
    int64_t until = dm_world_now(w) + RUN_SECONDS * G_USEC_PER_SEC;
    while (dm_world_next_at(w) <= until && dm_world_step(w))
        ;
    f.end = (double)(heap_in_use() - before);
    f.wall = (double)(g_get_monotonic_time() - t0) / 1e6;
    f.events = dm_world_get_stats(w)->events;
    dm_world_free(w);
    dm_sim_config_clear(&cfg);
    dm_sim_config_clear(&base);
    return f;
}

static void bench(uint32_t n)
{
    figures on = measure(n, true);
    figures off = measure(n, false);
    double pairs = (double)n * n;
    printf("nodes=%u sim_seconds=%d events=%" G_GUINT64_FORMAT " wall_s=%.1f"
           " total_B_per_pair=%.1f membership_B_per_pair=%.1f other_B_per_pair=%.1f"
           " setup_total_B_per_pair=%.1f setup_other_B_per_pair=%.1f total_MiB=%.0f\n",
           n, RUN_SECONDS, on.events, on.wall + off.wall, on.end / pairs, (on.end - off.end) / pairs,
           off.end / pairs, on.setup / pairs, off.setup / pairs, on.end / 1048576.0);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    static const uint32_t defaults[] = { 256, 1024, 4096 };
    printf("# heap bytes per node pair (mallinfo2 uordblks+hblkhd), after %d simulated seconds of"
           " --faults crash; membership = SWIM on - SWIM off\n", RUN_SECONDS);
    if (argc < 2) {
        for (size_t i = 0; i < G_N_ELEMENTS(defaults); i++)
            bench(defaults[i]);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        char *end;
        guint64 n = g_ascii_strtoull(argv[i], &end, 10);
        if (*end || n < 2 || n > DM_MAX_MEMBERS) {
            fprintf(stderr, "usage: bench_memory [N...]  (2 <= N <= %u)\n", DM_MAX_MEMBERS);
            return 2;
        }
        bench((uint32_t)n);
    }
    return 0;
}
