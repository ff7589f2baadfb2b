/* bench/cycles: see cycles.h. */
#include "cycles.h"

#include <stdio.h>

gint dm_cycles_cmp_i64(gconstpointer a, gconstpointer b)
{
    gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
    return x < y ? -1 : x > y;
}

gboolean dm_cycles_report(GArray **lat, int clients, double secs, int failed, const char *lat_file)
{
    GArray *all = g_array_new(FALSE, FALSE, sizeof(gint64));
    for (int i = 0; i < clients; i++) {
        g_array_append_vals(all, lat[i]->data, lat[i]->len);
        g_array_unref(lat[i]);
        lat[i] = NULL;
    }
    g_array_sort(all, dm_cycles_cmp_i64);
    guint n = all->len;
    gboolean ok = TRUE;
    if (lat_file) {
        FILE *f = fopen(lat_file, "w");
        if (f) {
            for (guint i = 0; i < n; i++)
                fprintf(f, "%" G_GINT64_FORMAT "\n", g_array_index(all, gint64, i));
            ok = fclose(f) == 0;
        } else {
            ok = FALSE;
        }
    }
    gint64 p50 = n ? g_array_index(all, gint64, (n - 1) / 2) : 0;
    gint64 p99 = n ? g_array_index(all, gint64, (guint)((n - 1) * 0.99)) : 0;
    printf("cycles=%u failed=%d clients=%d seconds=%.3f cycles_per_s=%.1f p50_us=%" G_GINT64_FORMAT
           " p99_us=%" G_GINT64_FORMAT "\n",
           n, failed, clients, secs, secs > 0 ? n / secs : 0.0, p50, p99);
    fflush(stdout);
    g_array_unref(all);
    return ok;
}

int dm_cycles_run(GThreadFunc fn, void *base, size_t stride, int clients, const gint *failed,
                  const char *lat_file, const char *prog, guint *cycles)
{
    GThread **th = g_new0(GThread *, clients);
    GArray **lat = g_new(GArray *, clients);
    gint64 t0 = g_get_monotonic_time();
    for (int i = 0; i < clients; i++) {
        GArray **slot = (GArray **)((char *)base + (size_t)i * stride);
        *slot = g_array_new(FALSE, FALSE, sizeof(gint64));
        th[i] = g_thread_new("client", fn, slot);
    }
    for (int i = 0; i < clients; i++)
        g_thread_join(th[i]);
    double secs = (double)(g_get_monotonic_time() - t0) / 1e6;
    *cycles = 0;
    for (int i = 0; i < clients; i++) {
        lat[i] = *(GArray **)((char *)base + (size_t)i * stride);
        *cycles += lat[i]->len;
    }
    gboolean written = dm_cycles_report(lat, clients, secs, g_atomic_int_get(failed), lat_file);
    g_free(lat);
    g_free(th);
    if (!written) {
        fprintf(stderr, "%s: cannot write %s\n", prog, lat_file);
        return 2;
    }
    return 0;
}
