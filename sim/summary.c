/* dmutex simulator: the metrics registry behind the summary line and the
 * --csv-runs rows (see summary.h).
 *
 * metrics[] is in summary-line order; `csv` gives a metric's place among the
 * CSV columns (0: not a column), since the two orders have long differed
 * and scripts read both. A metric read from dm_world_stats or the checker's
 * counts names its field, how runs combine (the first run's value is
 * taken as it is) and how it is written; anything else is a small function.
 * Adding a metric is one line here, plus the counter in dm_world_stats when
 * it is a new one. Fields no key prints but a computed metric needs are
 * listed too (no key, no column), so that they are combined.
 */
#include "summary.h"

#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#include "trace.h"

typedef enum source { NONE, STATS, CHECKS } source;
typedef enum vtype { U64, I64, U32, INT, BOOL, DOUBLE } vtype;
typedef enum combine { SUM, MAX } combine;
typedef enum format { INTEGER, SECONDS, SECONDS_POSITIVE } format;

typedef struct metric {
    const char *key;             /* summary key; NULL: not in the summary line */
    int csv;                     /* place among the --csv-runs columns, from 1; 0: none */
    const char *column;          /* the column's name when it is not the key */
    source from;
    size_t offset;
    vtype type;
    combine how;
    format fmt;
    /* Computed metrics: append the value (csv: for a --csv-runs row). */
    void (*put)(GString *out, dm_summary *s, bool csv);
} metric;

#define STAT(f, t, h, fm) .from = STATS, .offset = offsetof(dm_world_stats, f), .type = t, .how = h, .fmt = fm
#define CHECK(f) .from = CHECKS, .offset = offsetof(dm_checker_counts, f), .type = U64, .how = SUM
#define COUNT(f) STAT(f, U64, SUM, INTEGER)

static double seconds_of(int64_t us)
{
    return (double)us / 1e6;
}

static double wall_s(const dm_summary *s)
{
    return seconds_of(s->wall_us);
}

static double per(double x, double whole)
{
    return whole > 0 ? x / whole : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef enum stat_kind { STAT_MEAN, STAT_P50, STAT_P99, STAT_MAX } stat_kind;

/* Seconds with 3 decimals, or "na" without samples. Percentiles are nearest
 * rank: the median is the lower one for an even count, the 99th the
 * ceil(0.99 n)-th smallest. */
static void put_stat(GString *out, GArray *a, stat_kind kind)
{
    if (a->len == 0) {
        g_string_append(out, "na");
        return;
    }
    double v = 0;
    if (kind == STAT_MEAN) {
        for (guint i = 0; i < a->len; i++)
            v += g_array_index(a, double, i);
        v /= a->len;
    } else {
        g_array_sort(a, cmp_double);
        guint rank = kind == STAT_MAX   ? a->len - 1
                     : kind == STAT_P99 ? (guint)(((guint64)a->len * 99 + 99) / 100) - 1
                                        : (a->len - 1) / 2;
        v = g_array_index(a, double, rank);
    }
    g_string_append_printf(out, "%.3f", v);
}

static void put_fraction(GString *out, int64_t part, int64_t whole)
{
    if (whole > 0)
        g_string_append_printf(out, "%.6f", (double)part / (double)whole);
    else
        g_string_append(out, "na");
}

#define PUT(name) static void name(GString *out, dm_summary *s, bool csv)
#define UNUSED_CSV (void)csv

PUT(put_runs) { UNUSED_CSV; g_string_append_printf(out, "%" PRIu64, s->runs); }
PUT(put_violations)
{
    UNUSED_CSV;
    const uint64_t *v = s->checks.violations;
    g_string_append_printf(out, "%" PRIu64,
                           v[DM_VIOLATION_MUTEX] + v[DM_VIOLATION_TOKEN] + v[DM_VIOLATION_FENCE]);
}
PUT(put_events_per_s) { UNUSED_CSV; g_string_append_printf(out, "%.0f", per((double)s->stats.events, wall_s(s))); }
PUT(put_hash) { UNUSED_CSV; g_string_append_printf(out, "%016" PRIx64, s->hash); }
PUT(put_failed_runs)
{
    /* A run's row says whether it failed (0/1); the summary counts them. */
    if (csv)
        g_string_append_printf(out, "%d", s->failed_runs ? 1 : 0);
    else
        g_string_append_printf(out, "%" PRIu64, s->failed_runs);
}
PUT(put_nodes) { UNUSED_CSV; g_string_append_printf(out, "%u", s->nodes); }
PUT(put_policy) { UNUSED_CSV; g_string_append(out, s->policy); }
PUT(put_seed) { UNUSED_CSV; g_string_append_printf(out, "%" PRIu64, s->seed); }
PUT(put_faults)
{
    /* A kind list is "crash+partition" in a CSV field: no comma inside. */
    gsize at = out->len;
    g_string_append(out, s->faults);
    if (csv)
        g_strdelimit(out->str + at, ",", '+');
}
PUT(put_wall) { UNUSED_CSV; g_string_append_printf(out, "%.3f", wall_s(s)); }
PUT(put_sim_per_wall) { UNUSED_CSV; g_string_append_printf(out, "%.1f", per(seconds_of(s->stats.sim_us), wall_s(s))); }
PUT(put_suspect_mean) { UNUSED_CSV; put_stat(out, s->suspect, STAT_MEAN); }
PUT(put_dead_p50) { UNUSED_CSV; put_stat(out, s->dead, STAT_P50); }
PUT(put_dead_max) { UNUSED_CSV; put_stat(out, s->dead, STAT_MAX); }
PUT(put_converge_p50) { UNUSED_CSV; put_stat(out, s->converge, STAT_P50); }
PUT(put_converge_max) { UNUSED_CSV; put_stat(out, s->converge, STAT_MAX); }
PUT(put_dead_first_mean) { UNUSED_CSV; put_stat(out, s->dead_first, STAT_MEAN); }
PUT(put_dead_spread_p50) { UNUSED_CSV; put_stat(out, s->dead_spread, STAT_P50); }
PUT(put_latency_p50) { UNUSED_CSV; put_stat(out, s->latency, STAT_P50); }
PUT(put_latency_p99) { UNUSED_CSV; put_stat(out, s->latency, STAT_P99); }
/* Per member per second of process uptime. */
PUT(put_member_msgs_per_s)
{
    UNUSED_CSV;
    g_string_append_printf(out, "%.3f", per((double)s->stats.member_msgs, seconds_of(s->stats.node_up_us)));
}
PUT(put_member_bytes_per_s)
{
    UNUSED_CSV;
    g_string_append_printf(out, "%.1f", per((double)s->stats.member_bytes, seconds_of(s->stats.node_up_us)));
}
PUT(put_detections) { UNUSED_CSV; g_string_append_printf(out, "%" PRIu64, s->detections); }
PUT(put_detections_converged) { UNUSED_CSV; g_string_append_printf(out, "%u", s->converge->len); }
PUT(put_lock_messages) { UNUSED_CSV; g_string_append_printf(out, "%" PRIu64, s->stats.messages - s->stats.member_msgs); }
PUT(put_window_msgs_per_grant)
{
    UNUSED_CSV;
    if (s->stats.window_grants)
        g_string_append_printf(out, "%.3f", (double)s->stats.window_lock_msgs /
                                                (double)s->stats.window_grants);
    else
        g_string_append(out, "na");
}
PUT(put_quorum_available) { UNUSED_CSV; put_fraction(out, s->stats.quorum_us, s->stats.fault_us); }
PUT(put_quorum_available_views) { UNUSED_CSV; put_fraction(out, s->stats.quorum_views_us, s->stats.fault_us); }
PUT(put_first_failed_seed)
{
    UNUSED_CSV;
    if (s->have_failure)
        g_string_append_printf(out, "%" PRIu64, s->first_failed_seed);
}
PUT(put_liveness_view)
{
    UNUSED_CSV;
    if (s->stats.liveness_view_us >= 0)
        g_string_append_printf(out, "%.3f", seconds_of(s->stats.liveness_view_us));
}
/* The context of the first safety violation: empty fields without one. */
static bool violated(const dm_summary *s)
{
    return s->stats.violation_at >= 0;
}
PUT(put_violation_at) { UNUSED_CSV; if (violated(s)) g_string_append_printf(out, "%.6f", seconds_of(s->stats.violation_at)); }
PUT(put_violation_kind)
{
    UNUSED_CSV;
    if (violated(s))
        g_string_append(out, dm_violation_kind_name(s->stats.violation_kind));
}
PUT(put_violation_shape)
{
    UNUSED_CSV;
    if (violated(s))
        g_string_append(out, s->stats.violation_shape >= 0 ? dm_shape_name(s->stats.violation_shape)
                                                           : "none");
}
PUT(put_violation_down) { UNUSED_CSV; if (violated(s)) g_string_append_printf(out, "%u", s->stats.violation_down); }
PUT(put_violation_paused) { UNUSED_CSV; if (violated(s)) g_string_append_printf(out, "%u", s->stats.violation_paused); }
PUT(put_violation_views_agree) { UNUSED_CSV; if (violated(s)) g_string_append_printf(out, "%d", s->stats.violation_views_agree ? 1 : 0); }
PUT(put_violation_holder_in_view) { UNUSED_CSV; if (violated(s)) g_string_append_printf(out, "%d", s->stats.violation_holder_in_view); }

static const metric metrics[] = {
    { "runs", .put = put_runs },
    { "violations", .put = put_violations },
    { "liveness_failures", 9, CHECK(violations[DM_VIOLATION_LIVENESS]) },
    { "acquisitions", 19, COUNT(acquisitions) },
    { "failed_acquisitions", STAT(failed, U64, SUM, INTEGER) },
    { "messages", COUNT(messages) },
    { "events", COUNT(events) },
    { "events_per_s", .put = put_events_per_s },
    { "sim_seconds", 20, STAT(sim_us, I64, SUM, SECONDS) },
    { "hash", 46, .put = put_hash },
    { "mutex_violations", 6, CHECK(violations[DM_VIOLATION_MUTEX]) },
    { "token_violations", 7, CHECK(violations[DM_VIOLATION_TOKEN]) },
    { "fence_violations", 8, CHECK(violations[DM_VIOLATION_FENCE]) },
    { "stale_writes_rejected", CHECK(writes_rejected) },
    { "stale_writes_accepted", CHECK(stale_writes_accepted) },
    { "writes_accepted", CHECK(writes_accepted) },
    { "lost", COUNT(lost) },
    { "renewals", COUNT(renewals) },
    { "attempts", COUNT(attempts) },
    { "ebusy", 62, COUNT(ebusy) },   /* a column since the open loop (issue 13) */
    { "crashes", 14, COUNT(crashes) },
    { "restarts", 15, COUNT(restarts) },
    { "wipes", 16, COUNT(wipes) },
    { "pauses", 17, COUNT(pauses) },
    { "partitions", 18, COUNT(partitions) },
    { "skews", COUNT(skews) },
    { "codec_errors", 10, COUNT(codec_errors) },
    { "api_errors", 11, COUNT(api_errors) },
    { "liveness_max_seconds", STAT(liveness_max_us, I64, MAX, SECONDS) },
    { "failed_runs", 5, "failed", .put = put_failed_runs },
    { "nodes", 2, .put = put_nodes },
    { "policy", 3, .put = put_policy },
    { "seed", 1, .put = put_seed },
    { "faults", 4, .put = put_faults },
    { "wall_seconds", .put = put_wall },
    { "sim_per_wall", .put = put_sim_per_wall },
    /* Membership (sim/README.md's table), in both, in this order. */
    { "suspect_s_mean", 21, .put = put_suspect_mean },
    { "dead_s_p50", 22, .put = put_dead_p50 },
    { "dead_s_max", 23, .put = put_dead_max },
    { "converge_s_p50", 24, .put = put_converge_p50 },
    { "converge_s_max", 25, .put = put_converge_max },
    { "false_suspicions", 26, COUNT(false_suspicions) },
    { "false_deaths", 27, COUNT(false_deaths) },
    { "member_msgs_per_s", 28, .put = put_member_msgs_per_s },
    { "member_bytes_per_s", 29, .put = put_member_bytes_per_s },
    { "detections", 30, .put = put_detections },
    { "detections_converged", 31, .put = put_detections_converged },
    { "false_suspicions_connected", 32, COUNT(false_suspicions_connected) },
    { "false_deaths_connected", 33, COUNT(false_deaths_connected) },
    { "member_msgs", 34, COUNT(member_msgs) },
    { "member_bytes", 35, COUNT(member_bytes) },
    { "liveness_view_max_seconds", STAT(liveness_view_us, I64, MAX, SECONDS_POSITIVE) },
    { "lock_messages", .put = put_lock_messages },
    { "quorum_available", 44, .put = put_quorum_available },
    { "quorum_available_views", 45, .put = put_quorum_available_views },
    /* The largest over the runs (observe_load.c). */
    { "arbiter_load_ratio", 47, STAT(arbiter_load_ratio, DOUBLE, MAX, INTEGER) },
    /* The [measure] window (observe_window.c). */
    { "window_msgs_per_grant", 48, .put = put_window_msgs_per_grant },
    { "quorum_size_end", 49, STAT(quorum_size_end, DOUBLE, MAX, INTEGER) },
    { "reconfig_msgs", 50, COUNT(reconfig_msgs) },
    /* Dissemination: how fast a death spreads once somebody declares it. */
    { "dead_first_s_mean", 51, .put = put_dead_first_mean },
    { "dead_spread_s_p50", 52, .put = put_dead_spread_p50 },
    /* The slow kind, and accusations of members neither crashed, paused, cut
     * off nor slow (Lifeguard's false positives). */
    { "slows", 53, COUNT(slows) },
    { "false_suspicions_healthy", 54, COUNT(false_suspicions_healthy) },
    { "false_deaths_healthy", 55, COUNT(false_deaths_healthy) },
    { "first_failed_seed", .put = put_first_failed_seed },
    /* The workload's requests (sim/README.md, Clients): arrivals, and how
     * those not granted ended besides ebusy and failed_acquisitions; the
     * latency of those granted, from arrival (closed loop: from lock()). */
    { "arrivals", 56, COUNT(arrivals) },
    { "timeouts", 57, COUNT(timeouts) },
    { "queue_dropped", 58, COUNT(queue_dropped) },
    { "queue_abandoned", 59, COUNT(queue_abandoned) },
    { "latency_s_p50", 60, .put = put_latency_p50 },
    { "latency_s_p99", 61, .put = put_latency_p99 },
    /* core.grant_cache: holds that re-used kept grants. */
    { "cache_reuses", COUNT(cache_reuses) },
    /* --csv-runs only. */
    { NULL, 12, "start_failures", COUNT(start_failures) },
    { NULL, 13, "stuck_ticks", COUNT(stuck_ticks) },
    { NULL, 36, "violation_at", .put = put_violation_at },
    { NULL, 37, "violation_kind", .put = put_violation_kind },
    { NULL, 38, "violation_shape", .put = put_violation_shape },
    { NULL, 39, "violation_down", .put = put_violation_down },
    { NULL, 40, "violation_paused", .put = put_violation_paused },
    { NULL, 41, "violation_views_agree", .put = put_violation_views_agree },
    { NULL, 42, "violation_holder_in_view", .put = put_violation_holder_in_view },
    { NULL, 43, "liveness_view_seconds", .put = put_liveness_view },
    /* Combined for the metrics above that are computed from them. */
    { NULL, STAT(node_up_us, I64, SUM, INTEGER) },
    { NULL, STAT(fault_us, I64, SUM, INTEGER) },
    { NULL, STAT(quorum_us, I64, SUM, INTEGER) },
    { NULL, STAT(quorum_views_us, I64, SUM, INTEGER) },
    { NULL, STAT(liveness_requests, U32, SUM, INTEGER) },
    { NULL, STAT(liveness_granted, U32, SUM, INTEGER) },
    { NULL, STAT(window_grants, U64, SUM, INTEGER) },
    { NULL, STAT(window_lock_msgs, U64, SUM, INTEGER) },
};

static void *field(dm_summary *s, const metric *m)
{
    char *base = m->from == STATS ? (char *)&s->stats : (char *)&s->checks;
    return base + m->offset;
}

/* Combine one run's value into the summary's. */
static void combine_field(dm_summary *s, const metric *m, const dm_world_stats *st,
                          const dm_checker_counts *k)
{
    void *to = field(s, m);
    const void *from = (m->from == STATS ? (const char *)st : (const char *)k) + m->offset;
#define COMBINE(T)                                          \
    do {                                                    \
        T a = *(T *)to, b = *(const T *)from;               \
        *(T *)to = m->how == SUM ? a + b : MAX(a, b);       \
    } while (0)
    switch (m->type) {
    case U64: COMBINE(uint64_t); break;
    case I64: COMBINE(int64_t); break;
    case U32: COMBINE(uint32_t); break;
    case DOUBLE: COMBINE(double); break;
    default: g_assert_not_reached();   /* only counters and times combine */
    }
#undef COMBINE
}

static void put_value(GString *out, dm_summary *s, const metric *m, bool csv)
{
    if (m->put) {
        m->put(out, s, csv);
        return;
    }
    const void *v = field(s, m);
    switch (m->type) {
    case U64: g_string_append_printf(out, "%" PRIu64, *(const uint64_t *)v); return;
    case U32: g_string_append_printf(out, "%u", *(const uint32_t *)v); return;
    case INT: g_string_append_printf(out, "%d", *(const int *)v); return;
    case BOOL: g_string_append_printf(out, "%d", *(const bool *)v ? 1 : 0); return;
    case DOUBLE: g_string_append_printf(out, "%.3f", *(const double *)v); return;
    case I64: {
        int64_t us = *(const int64_t *)v;
        if (m->fmt == SECONDS_POSITIVE && us < 0)
            us = 0;   /* a maximum over runs that starts at 0 */
        if (m->fmt == INTEGER)
            g_string_append_printf(out, "%" PRId64, us);
        else
            g_string_append_printf(out, "%.3f", seconds_of(us));
        return;
    }
    }
}

void dm_summary_init(dm_summary *s, const dm_sim_config *first, const char *faults)
{
    memset(s, 0, sizeof *s);
    s->nodes = first->nodes;
    s->policy = dm_policy_name(first->core.policy);
    s->faults = faults;
    s->seed = first->seed;
    s->suspect = g_array_new(FALSE, FALSE, sizeof(double));
    s->dead = g_array_new(FALSE, FALSE, sizeof(double));
    s->converge = g_array_new(FALSE, FALSE, sizeof(double));
    s->dead_first = g_array_new(FALSE, FALSE, sizeof(double));
    s->dead_spread = g_array_new(FALSE, FALSE, sizeof(double));
    s->latency = g_array_new(FALSE, FALSE, sizeof(double));
}

void dm_summary_clear(dm_summary *s)
{
    g_array_free(s->suspect, TRUE);
    g_array_free(s->dead, TRUE);
    g_array_free(s->converge, TRUE);
    g_array_free(s->dead_first, TRUE);
    g_array_free(s->dead_spread, TRUE);
    g_array_free(s->latency, TRUE);
}

static void sample_add(GArray *a, int64_t us)
{
    if (us < 0)
        return;
    double v = seconds_of(us);
    g_array_append_val(a, v);
}

void dm_summary_add(dm_summary *s, dm_world *w, uint64_t seed, int64_t wall_us)
{
    const dm_world_stats *st = dm_world_get_stats(w);
    const dm_checker_counts *k = dm_checker_get_counts(dm_world_checker(w));
    if (s->runs == 0) {
        /* The first run as it is: a one-run summary is that run. */
        s->stats = *st;
        s->checks = *k;
    } else {
        for (size_t i = 0; i < G_N_ELEMENTS(metrics); i++)
            if (metrics[i].from != NONE)
                combine_field(s, &metrics[i], st, k);
    }
    s->runs++;
    s->wall_us += wall_us;
    for (uint32_t i = 0; i < dm_world_detection_count(w); i++) {
        const dm_world_detection *d = dm_world_detection_get(w, i);
        s->detections++;
        sample_add(s->suspect, d->first_suspect_us);
        sample_add(s->dead, d->dead_all_us);
        sample_add(s->dead_first, d->first_dead_us);
        if (d->first_dead_us >= 0 && d->dead_all_us >= 0)
            sample_add(s->dead_spread, d->dead_all_us - d->first_dead_us);
        sample_add(s->converge, d->converge_us);
    }
    uint32_t nlat;
    const double *lat = dm_world_latencies(w, &nlat);
    g_array_append_vals(s->latency, lat, nlat);
    s->hash = s->runs == 1 ? dm_world_hash(w) : dm_trace_combine(s->hash, dm_world_hash(w));
    if (dm_world_failed(w)) {
        s->failed_runs++;
        if (!s->have_failure) {
            s->have_failure = true;
            s->first_failed_seed = seed;
        }
    }
}

void dm_summary_format(dm_summary *s, GString *out)
{
    for (size_t i = 0; i < G_N_ELEMENTS(metrics); i++) {
        if (!metrics[i].key)
            continue;
        gsize at = out->len;
        g_string_append_printf(out, "%s%s=", out->len ? " " : "", metrics[i].key);
        gsize value = out->len;
        put_value(out, s, &metrics[i], false);
        if (out->len == value)
            g_string_truncate(out, at);   /* nothing to say (first_failed_seed) */
    }
}

/* The CSV columns in order: metrics[] indexes. */
static size_t csv_columns(size_t cols[G_N_ELEMENTS(metrics)])
{
    size_t n = 0;
    for (int place = 1; n < G_N_ELEMENTS(metrics); place++) {
        size_t found = n;
        for (size_t i = 0; i < G_N_ELEMENTS(metrics); i++)
            if (metrics[i].csv == place)
                cols[n++] = i;
        if (found == n)
            break;
    }
    return n;
}

void dm_summary_csv_header(FILE *f)
{
    size_t cols[G_N_ELEMENTS(metrics)];
    size_t n = csv_columns(cols);
    for (size_t c = 0; c < n; c++) {
        const metric *m = &metrics[cols[c]];
        fprintf(f, "%s%s", c ? "," : "", m->column ? m->column : m->key);
    }
    fputc('\n', f);
}

void dm_summary_csv_row(FILE *f, const dm_sim_config *run, const char *faults, dm_world *w)
{
    dm_summary one;
    dm_summary_init(&one, run, faults);
    dm_summary_add(&one, w, run->seed, 0);
    size_t cols[G_N_ELEMENTS(metrics)];
    size_t n = csv_columns(cols);
    GString *row = g_string_new(NULL);
    for (size_t c = 0; c < n; c++) {
        if (c)
            g_string_append_c(row, ',');
        put_value(row, &one, &metrics[cols[c]], true);
    }
    g_string_append_c(row, '\n');
    fwrite(row->str, 1, row->len, f);
    g_string_free(row, TRUE);
    dm_summary_clear(&one);
}
