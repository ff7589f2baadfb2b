/* bench_heap: the event heap under the classic "hold" model.
 *
 * K events stay pending: each step pops the earliest and pushes it back at
 * that time plus an exponential delay, as a simulator's next-event loop does
 * when every event schedules one more. The figure that matters is events per
 * second at ~1000 pending (REFERENCES.md: a bare binary heap loop does about
 * 1.6e7 on this kind of machine); the PRNG draw is part of each step, as it
 * would be in the simulator.
 *
 * Prints one line per K: pending=K ops=... reps=... median_events_per_s=...
 * (min and max too). Exit status 1 if the heap misbehaved. */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

#include "heap.h"
#include "prng.h"

enum { OPS = 10000000, REPS = 5 };

static const double MEAN_DELAY_US = 1000.0;

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One timed run; returns events per second, or a negative value if a push
 * failed, the heap lost an event or simulated time did not advance. */
static double hold(uint32_t pending, uint64_t seed)
{
    dm_heap_entry *events = g_new(dm_heap_entry, pending);
    dm_heap h;
    dm_heap_init(&h);
    dm_prng p;
    dm_prng_derive(&p, seed, "bench-heap", pending);
    int failed = 0;
    for (uint32_t i = 0; i < pending; i++) {
        dm_heap_entry_init(&events[i]);
        failed |= dm_heap_push(&h, &events[i], (int64_t)dm_prng_exponential(&p, MEAN_DELAY_US));
    }

    int64_t now = 0;
    int64_t start = g_get_monotonic_time();
    for (uint32_t i = 0; i < OPS; i++) {
        dm_heap_entry *e = dm_heap_pop(&h);
        now = e->at;
        failed |= dm_heap_push(&h, e, now + (int64_t)dm_prng_exponential(&p, MEAN_DELAY_US));
    }
    int64_t elapsed = g_get_monotonic_time() - start;

    failed |= dm_heap_len(&h) != pending || now <= 0;
    dm_heap_clear(&h);
    g_free(events);
    return failed ? -1 : OPS / (elapsed > 0 ? elapsed * 1e-6 : 1e-6);
}

int main(void)
{
    static const uint32_t pending[] = { 10, 100, 1000, 10000 };
    for (size_t k = 0; k < G_N_ELEMENTS(pending); k++) {
        double rate[REPS];
        for (int r = 0; r < REPS; r++) {
            rate[r] = hold(pending[k], (uint64_t)r);
            if (rate[r] < 0) {
                fprintf(stderr, "bench_heap: heap failed at pending=%u\n", pending[k]);
                return 1;
            }
        }
        qsort(rate, REPS, sizeof rate[0], compare_double);
        printf("pending=%u ops=%d reps=%d median_events_per_s=%.4g min=%.4g max=%.4g\n",
               pending[k], OPS, REPS, rate[REPS / 2], rate[0], rate[REPS - 1]);
    }
    return 0;
}
