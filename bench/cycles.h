/* bench/cycles: the report every lock+unlock cycle benchmark prints
 * (dmutex-bench, redlock-bench), so that experiments/lock-bench.sh reads one
 * format and the percentiles are computed one way. */
#ifndef DMUTEX_BENCH_CYCLES_H
#define DMUTEX_BENCH_CYCLES_H

#include <glib.h>

/* Orders gint64s, for g_array_sort. */
gint dm_cycles_cmp_i64(gconstpointer a, gconstpointer b);

/* Merges the per-client latencies (gint64 us each; the arrays are freed),
 * writes them to `lat_file` when given (one per line, sorted), and prints
 *   cycles=... failed=... clients=... seconds=... cycles_per_s=... p50_us=... p99_us=...
 * Returns false if `lat_file` cannot be written. */
gboolean dm_cycles_report(GArray **lat, int clients, double seconds, int failed, const char *lat_file);

/* Runs `fn` on `clients` threads, thread i given base + i * stride: a
 * struct whose first member is a GArray * of gint64 latencies (us), which
 * this creates. After all joined, reports as dm_cycles_report, with
 * *failed read then. Returns 0, or 2 (said on stderr, as `prog`) when
 * `lat_file` cannot be written; *cycles is the number of cycles reported. */
int dm_cycles_run(GThreadFunc fn, void *base, size_t stride, int clients, const gint *failed,
                  const char *lat_file, const char *prog, guint *cycles);

#endif
