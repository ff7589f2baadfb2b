/* bench_loss: lock throughput and lock traffic under uniform message loss
 * (issue 9: at 10 % loss, throughput at least half the lossless figure and
 * lock messages per grant at most three times the lossless figure).
 *
 * Drives the simulator (sim/world.h) with no faults but loss, one lock, a
 * client on every node that asks again about `interarrival` after its
 * previous attempt ended (so that every client always wants the lock: the
 * lock is saturated) and holds it for a fixed `hold`. For each cluster size
 * and loss it runs `seeds` seeds of `duration` simulated seconds and prints
 * the median and the range over the seeds of
 *   grants/s       GRANTED events per simulated second of the fault phase;
 *   msgs/grant     lock messages sent (the types that carry a lock name:
 *                  REQUEST .. REVOKED and RECOVERING; neither SWIM nor
 *                  RECOVER/FLOOR) per grant;
 * and, per seed against the same seed at the first loss of the list (0 by
 * default), the ratio of each, again as median and range. A second table
 * splits msgs/grant by message type (medians), to show where traffic goes.
 *
 * Loss is applied here, not by the simulated network: a receive tap on
 * every node sees each message once, counts it by type and then drops it
 * with probability `loss` (its own PRNG stream, derived from the seed), so
 * that messages are counted as sent, lost ones included, which the world's
 * statistics do not split by type. Uniform loss at delivery is the same
 * process as the network's uniform loss at send. Only the fault phase is
 * measured; the liveness phase runs loss-free and uncounted.
 *
 * Usage: bench_loss [--duration S] [--seeds K] [--seed FIRST] [--nodes LIST]
 *          [--loss LIST] [--hold S] [--interarrival S] [--set GROUP.KEY=V]...
 * Exit status 1 if a run reported a violation, a liveness failure or an API
 * error (the seed is printed), 2 on bad usage. */
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"
#include "prng.h"
#include "simconfig.h"
#include "world.h"

typedef struct options {
    double duration;
    int seeds;
    gint64 first_seed;
    char *nodes;
    char *losses;
    double hold;
    double interarrival;
    char **set;
} options;

/* What one run measured over its fault phase. */
typedef struct figures {
    double grants_per_s;
    double msgs_per_grant;      /* INFINITY with no grant */
    double by_type[DM_MSG_TYPE_COUNT];   /* per grant */
} figures;

/* The taps' state for one run. */
typedef struct meter {
    dm_world *w;
    double loss;
    dm_prng prng;
    uint64_t grants;
    uint64_t sent[DM_MSG_TYPE_COUNT];
} meter;

static bool in_fault_phase(const meter *m)
{
    return dm_world_get_stats(m->w)->liveness_start_us == 0;
}

static bool is_lock_type(int type)
{
    return (dm_msg_fields(type) & DM_FIELD_NAME) != 0;
}

static bool tap_receive(void *user, uint32_t node, dm_msg *msg)
{
    (void)node;
    meter *m = user;
    if (!in_fault_phase(m))
        return true;
    if (dm_msg_type_valid((int)msg->type))
        m->sent[msg->type]++;
    return !(m->loss > 0 && dm_prng_double(&m->prng) < m->loss);
}

static bool tap_notify(void *user, uint32_t node, dm_event *ev)
{
    (void)node;
    meter *m = user;
    if (ev->type == DM_EV_GRANTED && in_fault_phase(m))
        m->grants++;
    return true;
}

static const dm_world_tap tap = {tap_receive, tap_notify, NULL};

static bool run_once(const dm_sim_config *base, uint64_t seed, double loss, figures *f)
{
    GError *err = NULL;
    dm_sim_config cfg;
    if (!dm_sim_config_resolve(base, seed, &cfg, &err))
        g_error("%s", err->message);
    meter m = {.loss = loss};
    dm_prng_derive(&m.prng, seed, "bench_loss", 0);
    m.w = dm_world_new(&cfg);
    for (uint32_t i = 0; i < cfg.nodes; i++)
        dm_world_set_tap(m.w, i, &tap, &m);
    dm_world_run(m.w);
    bool failed = dm_world_failed(m.w);
    if (failed)
        fprintf(stderr, "bench_loss: nodes=%u loss=%g seed %" G_GUINT64_FORMAT
                        " reported a failure (replay it with dmutex-sim --trace)\n",
                cfg.nodes, loss, seed);

    uint64_t lock_msgs = 0;
    for (int t = DM_MSG_REQUEST; t < DM_MSG_TYPE_END; t++)
        if (is_lock_type(t))
            lock_msgs += m.sent[t];
    f->grants_per_s = (double)m.grants / ((double)cfg.duration_us / 1e6);
    f->msgs_per_grant = m.grants ? (double)lock_msgs / (double)m.grants : INFINITY;
    for (int t = 0; t < DM_MSG_TYPE_COUNT; t++)
        f->by_type[t] = m.grants ? (double)m.sent[t] / (double)m.grants : INFINITY;
    dm_world_free(m.w);
    dm_sim_config_clear(&cfg);
    return !failed;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Width of a "median [min..max]" column. */
#define COL 26

/* Median, min and max of v[0..n), which gets sorted. */
typedef struct spread {
    double median, min, max;
} spread;

static spread spread_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return (spread){median, v[0], v[n - 1]};
}

static void print_spread(const char *fmt, spread s)
{
    char buf[96], a[32], b[32], c[32];
    g_snprintf(a, sizeof a, fmt, s.median);
    g_snprintf(b, sizeof b, fmt, s.min);
    g_snprintf(c, sizeof c, fmt, s.max);
    g_snprintf(buf, sizeof buf, "%s [%s..%s]", a, b, c);
    printf("  %-*s", COL, buf);
}

static void configure(dm_sim_config *cfg, const options *o, uint32_t nodes)
{
    GError *err = NULL;
    char hold[64], interarrival[64];
    g_snprintf(hold, sizeof hold, "workload.hold=%.6f", o->hold);
    g_snprintf(interarrival, sizeof interarrival, "workload.interarrival=%.6f", o->interarrival);
    const char *const settings[] = {
        "faults.mode=none", "network.loss=0", "network.dup=0", "network.reorder=0",
        "workload.locks=1", "workload.hold_dist=fixed", hold, interarrival,
    };
    dm_sim_config_defaults(cfg);
    for (size_t i = 0; i < G_N_ELEMENTS(settings); i++)
        if (!dm_sim_config_set(cfg, settings[i], &err))
            g_error("%s", err->message);
    for (char **s = o->set; s && *s; s++)
        if (!dm_sim_config_set(cfg, *s, &err)) {
            fprintf(stderr, "bench_loss: --set %s\n", err->message);
            exit(2);
        }
    cfg->nodes = nodes;
    cfg->duration_us = (int64_t)(o->duration * 1e6 + 0.5);
}

/* One cluster size: every loss x every seed. Returns false if a run failed. */
static bool bench(const options *o, uint32_t nodes, const double *loss, int n_loss)
{
    dm_sim_config base;
    configure(&base, o, nodes);
    int k = o->seeds;
    figures *f = g_new0(figures, (size_t)n_loss * (size_t)k);
    bool ok = true;
    for (int l = 0; l < n_loss; l++)
        for (int s = 0; s < k; s++)
            ok &= run_once(&base, (uint64_t)o->first_seed + (uint64_t)s, loss[l], &f[l * k + s]);

    printf("\n# N=%u: median [min..max] over %d seeds; ratios per seed against loss %g\n", nodes,
           k, loss[0]);
    printf("# %-5s  %-*s  %-*s  %-*s  %-*s\n", "loss", COL, "grants/s", COL, "lock msgs/grant",
           COL, "throughput ratio", COL, "msgs/grant ratio");
    double *v = g_new(double, (size_t)k);
    spread at10[2] = {{NAN, NAN, NAN}, {NAN, NAN, NAN}};
    for (int l = 0; l < n_loss; l++) {
        printf("  %-5g", loss[l]);
        for (int s = 0; s < k; s++)
            v[s] = f[l * k + s].grants_per_s;
        print_spread("%.2f", spread_of(v, k));
        for (int s = 0; s < k; s++)
            v[s] = f[l * k + s].msgs_per_grant;
        print_spread("%.1f", spread_of(v, k));
        for (int s = 0; s < k; s++)
            v[s] = f[l * k + s].grants_per_s / f[s].grants_per_s;
        spread tput = spread_of(v, k);
        print_spread("%.3f", tput);
        for (int s = 0; s < k; s++)
            v[s] = f[l * k + s].msgs_per_grant / f[s].msgs_per_grant;
        spread msgs = spread_of(v, k);
        print_spread("%.2f", msgs);
        printf("\n");
        if (loss[0] == 0 && fabs(loss[l] - 0.1) < 1e-9) {
            at10[0] = tput;
            at10[1] = msgs;
        }
    }
    if (!isnan(at10[0].median))
        printf("# issue 9 at loss 0.1: throughput ratio %.3f (target >= 0.5: %s), "
               "msgs/grant ratio %.2f (target <= 3: %s)\n",
               at10[0].median, at10[0].median >= 0.5 ? "met" : "NOT met", at10[1].median,
               at10[1].median <= 3 ? "met" : "NOT met");

    printf("# N=%u: lock messages per grant by type (medians)\n# %-5s", nodes, "loss");
    for (int t = DM_MSG_REQUEST; t < DM_MSG_TYPE_END; t++)
        if (is_lock_type(t))
            printf(" %10s", dm_msg_type_name(t));
    printf("\n");
    for (int l = 0; l < n_loss; l++) {
        printf("  %-5g", loss[l]);
        for (int t = DM_MSG_REQUEST; t < DM_MSG_TYPE_END; t++) {
            if (!is_lock_type(t))
                continue;
            for (int s = 0; s < k; s++)
                v[s] = f[l * k + s].by_type[t];
            printf(" %10.2f", spread_of(v, k).median);
        }
        printf("\n");
    }
    fflush(stdout);
    g_free(v);
    g_free(f);
    dm_sim_config_clear(&base);
    return ok;
}

/* "a,b,c" as numbers in [lo, hi] (whole ones if `whole`); exits with status
 * 2 on anything else. */
static double *parse_list(const char *opt, const char *text, double lo, double hi, bool whole,
                          int *n)
{
    char **parts = g_strsplit(text, ",", -1);
    int count = (int)g_strv_length(parts);
    double *v = g_new(double, (size_t)MAX(count, 1));
    for (int i = 0; i < count; i++) {
        char *end;
        v[i] = g_ascii_strtod(parts[i], &end);
        if (end == parts[i] || *end || !(v[i] >= lo && v[i] <= hi) ||
            (whole && v[i] != floor(v[i]))) {
            fprintf(stderr, "bench_loss: %s: '%s' is not a number in [%g, %g]\n", opt, parts[i],
                    lo, hi);
            exit(2);
        }
    }
    g_strfreev(parts);
    if (count == 0) {
        fprintf(stderr, "bench_loss: %s: empty list\n", opt);
        exit(2);
    }
    *n = count;
    return v;
}

int main(int argc, char **argv)
{
    options o = {
        .duration = 300, .seeds = 5, .first_seed = 1, .hold = 0.02, .interarrival = 0.001,
    };
    const GOptionEntry entries[] = {
        {"duration", 'd', 0, G_OPTION_ARG_DOUBLE, &o.duration,
         "Simulated seconds per run (default 300)", "S"},
        {"seeds", 'k', 0, G_OPTION_ARG_INT, &o.seeds, "Seeds per point (default 5)", "K"},
        {"seed", 's', 0, G_OPTION_ARG_INT64, &o.first_seed, "First seed (default 1)", "S"},
        {"nodes", 'n', 0, G_OPTION_ARG_STRING, &o.nodes, "Cluster sizes (default 15,31)", "LIST"},
        {"loss", 'l', 0, G_OPTION_ARG_STRING, &o.losses,
         "Loss probabilities; ratios are against the first (default 0,0.02,0.05,0.1,0.2)",
         "LIST"},
        {"hold", 0, 0, G_OPTION_ARG_DOUBLE, &o.hold, "Fixed hold time (default 0.02)", "S"},
        {"interarrival", 0, 0, G_OPTION_ARG_DOUBLE, &o.interarrival,
         "Mean time before a client asks again (default 0.001: saturation)", "S"},
        {"set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.set,
         "Any simulator key, as dmutex-sim --set (repeatable)", "GROUP.KEY=VALUE"},
        G_OPTION_ENTRY_NULL,
    };
    GError *err = NULL;
    GOptionContext *ctx = g_option_context_new("- lock throughput and traffic under loss");
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err) || argc > 1) {
        fprintf(stderr, "bench_loss: %s\n", err ? err->message : "unexpected argument");
        return 2;
    }
    g_option_context_free(ctx);
    if (!(o.duration > 0 && o.duration <= 1e6) || o.seeds < 1 || o.seeds > 1000 ||
        o.first_seed < 0 || !(o.hold > 0) || !(o.interarrival > 0)) {
        fprintf(stderr, "bench_loss: --duration, --seeds, --hold and --interarrival must be > 0"
                        " (seeds <= 1000, duration <= 1e6), --seed >= 0\n");
        return 2;
    }
    int n_nodes, n_loss;
    double *nodes = parse_list("--nodes", o.nodes ? o.nodes : "15,31", 1, DM_MAX_MEMBERS, true,
                               &n_nodes);
    double *loss = parse_list("--loss", o.losses ? o.losses : "0,0.02,0.05,0.1,0.2", 0, 0.99,
                              false, &n_loss);

    printf("# bench_loss: one lock, a client on every node asking again ~%g ms after each "
           "attempt, fixed holds of %g ms, no faults but uniform loss; %g simulated s per run, "
           "seeds %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT "\n",
           o.interarrival * 1e3, o.hold * 1e3, o.duration, o.first_seed,
           o.first_seed + o.seeds - 1);
    for (char **s = o.set; s && *s; s++)
        printf("# --set %s\n", *s);
    int64_t t0 = g_get_monotonic_time();
    bool ok = true;
    for (int i = 0; i < n_nodes; i++)
        ok &= bench(&o, (uint32_t)nodes[i], loss, n_loss);
    printf("# wall %.1f s\n", (double)(g_get_monotonic_time() - t0) / 1e6);
    g_free(nodes);
    g_free(loss);
    g_free(o.nodes);
    g_free(o.losses);
    g_strfreev(o.set);
    return ok ? 0 : 1;
}
