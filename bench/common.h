/* bench/common: what the benchmarks share -- the bare event-heap loop they
 * measure against, and medians.
 *
 * The bare loop is the classic "hold" model: `pending` events stay queued;
 * each step pops the earliest and pushes it back at that time plus an
 * exponential delay (a PRNG draw, as the simulator makes for nearly every
 * event it schedules). It is the floor a discrete-event simulator with that
 * many events in flight cannot beat: bench_heap prints it, bench_sim divides
 * the simulator's events per second by it.
 *
 * Its queue is a classic binary heap of pointers to the entries, compared
 * through them, kept here in bench/common.c. That is what issue 12's figure
 * ("a bare binary-heap loop") is measured against, and what core/heap.c was
 * until it became a 4-ary heap with the keys in its array: had the baseline
 * kept using core/heap.h, speeding up the simulator's queue would have sped
 * up the yardstick with it and the ratio would have hidden the gain. The same
 * loop on core/heap.h (dm_bench_hold_queue) is printed beside it, so that a
 * reader sees how much of the simulator's ratio came from its queue and how
 * much from the rest. */
#ifndef DMUTEX_BENCH_COMMON_H
#define DMUTEX_BENCH_COMMON_H

#include <stdint.h>

/* Seconds of CPU time this process has used. The benchmarks time with it
 * rather than the wall clock: on a machine shared with other jobs, waiting
 * for a core is not the program's cost, and a ratio of two figures measured
 * minutes apart stays meaningful. */
double dm_bench_cpu_seconds(void);

/* Events per CPU second of `ops` steps at `pending` queued events on the
 * classic binary heap (the baseline); negative if the heap misbehaved (a push failed, an event was lost,
 * time did not advance). */
double dm_bench_hold(uint32_t pending, uint64_t ops, uint64_t seed);

/* The same loop, events and draws on the simulator's queue, core/heap.h. */
double dm_bench_hold_queue(uint32_t pending, uint64_t ops, uint64_t seed);

/* Sorts v[0..n) and returns its median (the upper one for even n). */
double dm_bench_median(double *v, int n);

#endif
