/* bench_heap: the event heap under the classic "hold" model (common.h).
 *
 * K events stay pending: each step pops the earliest and pushes it back at
 * that time plus an exponential delay, as a simulator's next-event loop does
 * when every event schedules one more. The figure that matters is events per
 * second at ~1000 pending (REFERENCES.md: a bare binary heap loop does about
 * 1.6e7 on this kind of machine); the PRNG draw is part of each step, as it
 * would be in the simulator.
 *
 * Prints one line per K: pending=K ops=... reps=... median_events_per_s=...
 * (min and max too), per second of CPU time (bench/common.h). Exit status 1
 * if the heap misbehaved. */
#include <glib.h>
#include <stdio.h>

#include "common.h"

enum { OPS = 10000000, REPS = 5 };

int main(void)
{
    static const uint32_t pending[] = { 10, 100, 1000, 10000 };
    for (size_t k = 0; k < G_N_ELEMENTS(pending); k++) {
        double rate[REPS];
        for (int r = 0; r < REPS; r++) {
            rate[r] = dm_bench_hold(pending[k], OPS, (uint64_t)r);
            if (rate[r] < 0) {
                fprintf(stderr, "bench_heap: heap failed at pending=%u\n", pending[k]);
                return 1;
            }
        }
        double median = dm_bench_median(rate, REPS);
        printf("pending=%u ops=%d reps=%d median_events_per_s=%.4g min=%.4g max=%.4g\n",
               pending[k], OPS, REPS, median, rate[0], rate[REPS - 1]);
    }
    return 0;
}
