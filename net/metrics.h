/* dmutex net: the Prometheus text exposition format (version 0.0.4) for
 * dmutexd's METRICS answer, and the acquisition-latency histogram.
 *
 * Families are written as "# HELP", "# TYPE", then their samples, so a
 * scraper (or tests/net-json.sh's parser) always sees a family's TYPE
 * before its samples. Label values are escaped as the format requires
 * (backslash, quote, newline). net/README.md lists the families.
 */
#ifndef DMUTEX_NET_METRICS_H
#define DMUTEX_NET_METRICS_H

#include <glib.h>
#include <stdint.h>

/* Upper bounds of the latency buckets, in µs (the +Inf bucket follows). */
#define DMN_HIST_BUCKETS 14

typedef struct dmn_histogram {
    uint64_t count[DMN_HIST_BUCKETS + 1];   /* per bucket, not cumulative; last: above every bound */
    uint64_t total;
    uint64_t sum_us;
} dmn_histogram;

void dmn_histogram_observe(dmn_histogram *h, int64_t us);
/* The whole family: HELP, TYPE histogram, cumulative _bucket{le=...} lines
 * ending with le="+Inf", _sum (seconds) and _count. */
void dmn_histogram_write(const dmn_histogram *h, GString *out, const char *name, const char *help);

/* "# HELP name help" and "# TYPE name type" (counter, gauge). */
void dmn_prom_family(GString *out, const char *name, const char *type, const char *help);
/* One sample; `label`/`value` may be NULL (no labels). */
void dmn_prom_sample(GString *out, const char *name, const char *label, const char *value, uint64_t v);
/* A family with one unlabelled sample. */
void dmn_prom_counter(GString *out, const char *name, const char *help, uint64_t v);
void dmn_prom_gauge(GString *out, const char *name, const char *help, uint64_t v);

#endif
