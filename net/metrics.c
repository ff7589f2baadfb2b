/* dmutex net: Prometheus text format and the latency histogram (metrics.h). */
#include "metrics.h"

/* From a local round trip (about a millisecond) to the longest timeouts:
 * roughly 1-2.5-5 per decade, as Prometheus' default buckets. */
static const int64_t bucket_us[DMN_HIST_BUCKETS] = {
    500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
    1000000, 2500000, 10000000, 30000000,
};

void dmn_histogram_observe(dmn_histogram *h, int64_t us)
{
    if (us < 0)
        us = 0;
    int i = 0;
    while (i < DMN_HIST_BUCKETS && us > bucket_us[i])
        i++;
    h->count[i]++;
    h->total++;
    h->sum_us += (uint64_t)us;
}

static void append_label_value(GString *out, const char *v)
{
    for (const char *p = v; *p; p++) {
        if (*p == '\\' || *p == '"')
            g_string_append_c(out, '\\');
        if (*p == '\n')
            g_string_append(out, "\\n");
        else
            g_string_append_c(out, *p);
    }
}

void dmn_prom_family(GString *out, const char *name, const char *type, const char *help)
{
    g_string_append_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void dmn_prom_sample(GString *out, const char *name, const char *label, const char *value, uint64_t v)
{
    g_string_append(out, name);
    if (label && value) {
        g_string_append_printf(out, "{%s=\"", label);
        append_label_value(out, value);
        g_string_append(out, "\"}");
    }
    g_string_append_printf(out, " %" G_GUINT64_FORMAT "\n", v);
}

void dmn_prom_counter(GString *out, const char *name, const char *help, uint64_t v)
{
    dmn_prom_family(out, name, "counter", help);
    dmn_prom_sample(out, name, NULL, NULL, v);
}

void dmn_prom_gauge(GString *out, const char *name, const char *help, uint64_t v)
{
    dmn_prom_family(out, name, "gauge", help);
    dmn_prom_sample(out, name, NULL, NULL, v);
}

void dmn_histogram_write(const dmn_histogram *h, GString *out, const char *name, const char *help)
{
    dmn_prom_family(out, name, "histogram", help);
    uint64_t cum = 0;
    for (int i = 0; i < DMN_HIST_BUCKETS; i++) {
        cum += h->count[i];
        char le[G_ASCII_DTOSTR_BUF_SIZE];   /* "0.0005", never a locale's comma */
        g_ascii_formatd(le, sizeof le, "%g", (double)bucket_us[i] / 1e6);
        g_string_append_printf(out, "%s_bucket{le=\"%s\"} %" G_GUINT64_FORMAT "\n", name, le, cum);
    }
    cum += h->count[DMN_HIST_BUCKETS];
    g_string_append_printf(out, "%s_bucket{le=\"+Inf\"} %" G_GUINT64_FORMAT "\n", name, cum);
    char sum[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd(sum, sizeof sum, "%.6f", (double)h->sum_us / 1e6);
    g_string_append_printf(out, "%s_sum %s\n%s_count %" G_GUINT64_FORMAT "\n", name, sum, name, h->total);
}
