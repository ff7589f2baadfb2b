/* dmutex tests: messages in flight between in-process nodes.
 *
 * The network of bench/bench_swim_loss.c (the tests run on the simulator's
 * cluster fixture, sim/cluster.h): a heap of messages ordered by delivery
 * time, each delayed by a latency drawn uniformly from [latency_min,
 * latency_max] (equal bounds: FIFO), lost with probability `loss` and
 * duplicated with probability `dup`. Deterministic for a given seed and
 * sequence of calls. (The simulator, sim/simnet.c, models far more.)
 */
#ifndef DMUTEX_TESTS_WIRE_H
#define DMUTEX_TESTS_WIRE_H

#include <stdbool.h>
#include <stdint.h>

#include "heap.h"
#include "message.h"
#include "prng.h"

typedef struct dm_wire {
    dm_heap heap;
    dm_prng rng;
    int64_t latency_min;
    int64_t latency_max;
    double loss;
    double dup;
    uint64_t sent, lost, duplicated;
} dm_wire;

void dm_wire_init(dm_wire *w, uint64_t seed, int64_t latency_min, int64_t latency_max);
/* Drop everything still in flight and free the heap. */
void dm_wire_clear(dm_wire *w);

/* Send msg at `now`: maybe lost, else delivered after a latency, maybe twice. */
void dm_wire_send(dm_wire *w, int64_t now, const dm_msg *msg);
/* Deliver msg at exactly `at`, bypassing loss and duplication. */
void dm_wire_put(dm_wire *w, int64_t at, const dm_msg *msg);

/* When the next message arrives; INT64_MAX when none is in flight. */
int64_t dm_wire_next(const dm_wire *w);
/* Take the next message if it arrives at or before `until`: copies it to
 * *out, its arrival time to *at, and returns true. */
bool dm_wire_take(dm_wire *w, int64_t until, dm_msg *out, int64_t *at);

#endif
