/* dmutex simulator: shrinking a failing run (dmutex-sim --shrink).
 *
 * A failing run's faults -- drawn at their rates, churned, counted or
 * scripted -- are recorded as a scripted schedule (dm_world_record_faults),
 * so that the run becomes a scenario file with faults.mode = scripted. That
 * schedule is then minimised with delta debugging (Zeller's ddmin) over its
 * steps, then the cluster is made smaller one node at a time, then the
 * fault phase shorter, keeping every change after which the run still
 * fails the same way: the same checker (mutex, token, fence, liveness) or
 * contract counter (codec, api, start, stuck) as the original's first
 * failure. Every trial is one whole simulator run; the trials and the wall
 * time are bounded. The network's background (network.loss ...) and the
 * workload stay as the original run resolved them.
 */
#ifndef DMUTEX_SIM_SHRINK_H
#define DMUTEX_SIM_SHRINK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <glib.h>
#include "simconfig.h"
#include "world.h"

typedef struct dm_shrink_opts {
    uint32_t max_trials;     /* simulator runs at most (0: 300) */
    double max_seconds;      /* wall time, checked between trials (0: 120) */
    FILE *progress;          /* one line per stage; NULL: quiet */
} dm_shrink_opts;

typedef struct dm_shrink_result {
    uint64_t seed;           /* the failing run shrunk */
    const char *kind;        /* its failure kind: "mutex", "token", ... */
    dm_sim_config config;    /* the shrunk scenario, unresolved (as written) */
    guint steps_recorded, steps;     /* schedule length before and after */
    uint32_t nodes_before, nodes;
    int64_t duration_before_us;
    bool replay_same_hash;   /* the recorded schedule replayed byte-identically */
    uint32_t trials;
    bool budget_hit;         /* stopped by max_trials or max_seconds */
} dm_shrink_result;

/* Shrink the first failing run among seeds seed0 .. seed0 + runs - 1 of
 * `base` (unresolved, as built from the options). False with `err` when no
 * seed fails, the configuration does not resolve, or the recorded schedule
 * does not fail the same way when replayed (then nothing can be shrunk). */
bool dm_shrink(const dm_sim_config *base, uint64_t seed0, uint64_t runs, const dm_shrink_opts *opts,
               dm_shrink_result *out, GError **err);
void dm_shrink_result_clear(dm_shrink_result *r);

/* The failure kinds of a finished run (bit i: dm_shrink_kind_name(i)). */
uint32_t dm_shrink_failures(const dm_world *w);
const char *dm_shrink_kind_name(int bit);

/* The shrunk scenario as a key file, opened by a comment that says what it
 * is and how to replay it from `path` (g_free). */
char *dm_shrink_to_ini(const dm_shrink_result *r, const char *path);

#endif
