/* dmutex simulator: the summary line and the --csv-runs rows, from one
 * metrics registry.
 *
 * A dm_summary accumulates runs (dm_summary_add); the summary line prints
 * its metrics as key=value pairs, and a --csv-runs row prints the same
 * registry's columns for a summary of one run. The registry (summary.c)
 * lists every metric once: its summary key and its CSV column (either may
 * be absent), where its value comes from, how runs combine and how it is
 * written. Key order and spelling are stable: experiments/ and analysis/
 * parse them.
 */
#ifndef DMUTEX_SIM_SUMMARY_H
#define DMUTEX_SIM_SUMMARY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <glib.h>
#include "world.h"

typedef struct dm_summary {
    /* what the runs were: the first run's */
    uint32_t nodes;
    const char *policy;
    const char *faults;          /* the --faults label */
    uint64_t seed;
    /* combined over the runs, by the registry's rules */
    uint64_t runs, failed_runs, hash;
    int64_t wall_us;
    bool have_failure;
    uint64_t first_failed_seed;
    dm_world_stats stats;
    dm_checker_counts checks;
    GArray *suspect, *dead, *converge;   /* detection times in seconds (double) */
    GArray *dead_first, *dead_spread;    /* first DEAD anywhere; first-to-last DEAD */
    GArray *latency;                     /* seconds, every granted workload request */
    uint64_t detections;
} dm_summary;

void dm_summary_init(dm_summary *s, const dm_sim_config *first, const char *faults);
void dm_summary_clear(dm_summary *s);
void dm_summary_add(dm_summary *s, dm_world *w, uint64_t seed, int64_t wall_us);

/* The summary line's pairs, " key=value" each, no newline. */
void dm_summary_format(dm_summary *s, GString *out);
/* One --csv-runs row for one finished run, and the header. */
void dm_summary_csv_header(FILE *f);
void dm_summary_csv_row(FILE *f, const dm_sim_config *run, const char *faults, dm_world *w);

#endif
