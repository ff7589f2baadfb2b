/* bench/common: the bare event-heap loop and medians (common.h). */
#include "common.h"

#include <glib.h>
#include <stdlib.h>
#include <time.h>

#include "heap.h"
#include "prng.h"

static const double MEAN_DELAY_US = 1000.0;

double dm_bench_cpu_seconds(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
        return (double)g_get_monotonic_time() / 1e6;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double dm_bench_hold(uint32_t pending, uint64_t ops, uint64_t seed)
{
    if (pending == 0)
        return -1;
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
    double start = dm_bench_cpu_seconds();
    for (uint64_t i = 0; i < ops; i++) {
        dm_heap_entry *e = dm_heap_pop(&h);
        now = e->at;
        failed |= dm_heap_push(&h, e, now + (int64_t)dm_prng_exponential(&p, MEAN_DELAY_US));
    }
    double elapsed = dm_bench_cpu_seconds() - start;

    failed |= dm_heap_len(&h) != pending || now <= 0;
    dm_heap_clear(&h);
    g_free(events);
    return failed ? -1 : (double)ops / (elapsed > 0 ? elapsed : 1e-9);
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double dm_bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], compare_double);
    return v[n / 2];
}
