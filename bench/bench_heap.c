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
 * (min and max too) for the classic binary heap that is bench_sim's
 * baseline, and queue_median_events_per_s=... for the simulator's own queue
 * (core/heap.h) beside it, each rep running both back to back; per second
 * of CPU time (bench/common.h says why two queues). Exit status 1 if a heap
 * misbehaved. */
#include <glib.h>
#include <stdio.h>

#include "common.h"

enum { OPS = 10000000, REPS = 5 };

int main(void)
{
    static const uint32_t pending[] = { 10, 100, 1000, 10000 };
    for (size_t k = 0; k < G_N_ELEMENTS(pending); k++) {
        double rate[REPS], queue[REPS];
        for (int r = 0; r < REPS; r++) {
            rate[r] = dm_bench_hold(pending[k], OPS, (uint64_t)r);
            queue[r] = dm_bench_hold_queue(pending[k], OPS, (uint64_t)r);
            if (rate[r] < 0 || queue[r] < 0) {
                fprintf(stderr, "bench_heap: %s heap failed at pending=%u\n",
                        rate[r] < 0 ? "the bare" : "the simulator's", pending[k]);
                return 1;
            }
        }
        double median = dm_bench_median(rate, REPS), queue_median = dm_bench_median(queue, REPS);
        printf("pending=%u ops=%d reps=%d median_events_per_s=%.4g min=%.4g max=%.4g"
               " queue_median_events_per_s=%.4g queue_min=%.4g queue_max=%.4g\n",
               pending[k], OPS, REPS, median, rate[0], rate[REPS - 1], queue_median, queue[0],
               queue[REPS - 1]);
    }
    return 0;
}
