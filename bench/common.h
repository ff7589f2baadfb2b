/* bench/common: what the benchmarks share -- the bare event-heap loop they
 * measure against, and medians.
 *
 * The bare loop is the classic "hold" model: `pending` events stay queued in core/heap.h;
 * each step pops the earliest and pushes it back at that time plus an
 * exponential delay (a PRNG draw, as the simulator makes for nearly every
 * event it schedules). It is the floor a discrete-event simulator with that
 * many events in flight cannot beat: bench_heap prints it alone, bench_sim
 * divides the simulator's events per second by it. */
#ifndef DMUTEX_BENCH_COMMON_H
#define DMUTEX_BENCH_COMMON_H

#include <stdint.h>

/* Seconds of CPU time this process has used. The benchmarks time with it
 * rather than the wall clock: on a machine shared with other jobs, waiting
 * for a core is not the program's cost, and a ratio of two figures measured
 * minutes apart stays meaningful. */
double dm_bench_cpu_seconds(void);

/* Events per CPU second of `ops` steps at `pending` queued events;
 * negative if the heap misbehaved (a push failed, an event was lost,
 * time did not advance). */
double dm_bench_hold(uint32_t pending, uint64_t ops, uint64_t seed);

/* Sorts v[0..n) and returns its median (the upper one for even n). */
double dm_bench_median(double *v, int n);

#endif
