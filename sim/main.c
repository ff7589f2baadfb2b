/* dmutex-sim: run the simulator over one seed or a sweep of seeds.
 *
 * The last line of stdout is always a summary of key=value pairs; a few
 * human lines come before it, and, on the first failing seed, the seed, its
 * derived configuration, one command line that replays it and the
 * violations. Exit status: 0 all runs clean, 1 a violation or liveness
 * failure, 2 a usage or configuration error.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "checker.h"
#include "fault.h"
#include "summary.h"
#include "shrink.h"
#include "simconfig.h"
#include "trace.h"
#include "world.h"

#define PROG "dmutex-sim"
/* Violation texts printed for the first failing seed. */
#define MAX_VIOLATIONS_SHOWN 20

typedef struct options {
    char *config, *nodes, *policy, *quorum, *seed, *runs, *faults, *duration, *trace, *csv;
    char *csv_members, *csv_runs, *timeline, *list, *shrink_out, *shrink_trials;
    char **set;
    gboolean shrink;
} options;

static void options_clear(options *o)
{
    char **strings[] = { &o->config, &o->nodes, &o->policy, &o->quorum, &o->seed, &o->runs,
                         &o->faults, &o->duration, &o->trace, &o->csv, &o->csv_members,
                         &o->csv_runs, &o->timeline, &o->list, &o->shrink_out, &o->shrink_trials };
    for (size_t i = 0; i < G_N_ELEMENTS(strings); i++)
        g_clear_pointer(strings[i], g_free);
    g_clear_pointer(&o->set, g_strfreev);
}

/* --list WHAT: a registry's names, one per line, for scripts (the
 * experiments sweep every policy the simulator has; the figures style them
 * in this order). */
static int list_names(const char *what)
{
    char *names = g_strcmp0(what, "policies") == 0 ? dm_policy_names("\n")
                  : g_strcmp0(what, "quorums") == 0 ? dm_quorum_names("\n")
                  : g_strcmp0(what, "faults") == 0  ? dm_fault_names("\n")
                                                    : NULL;
    if (!names) {
        fprintf(stderr, PROG ": --list: '%s' is not one of policies, quorums, faults\n", what);
        return 2;
    }
    printf("%s\n", names);
    g_free(names);
    return 0;
}

static G_GNUC_NORETURN G_GNUC_PRINTF(1, 2) void usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(PROG ": ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry '" PROG " --help'.\n", stderr);
    exit(2);
}

static uint64_t parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max)
{
    guint64 v;
    if (!g_ascii_string_to_unsigned(s, 10, min, max, &v, NULL))
        usage_error("%s: '%s' is not an integer in %" PRIu64 "..%" PRIu64, opt, s, min, max);
    return v;
}

/* The configuration the options describe: defaults, then the file, then
 * --set assignments, then the dedicated options. */
static void build_config(const options *o, dm_sim_config *cfg)
{
    GError *err = NULL;
    dm_sim_config_defaults(cfg);
    if (o->config && !dm_sim_config_load(cfg, o->config, &err))
        usage_error("%s", err->message);
    for (char **s = o->set; s && *s; s++)
        if (!dm_sim_config_set(cfg, *s, &err))
            usage_error("--set %s", err->message);
    if (o->nodes)
        cfg->nodes = (uint32_t)parse_u64("--nodes", o->nodes, 1, DM_MAX_MEMBERS);
    if (o->policy && dm_policy_parse(o->policy, &cfg->core.policy) < 0) {
        char *all = dm_policy_names(", ");
        usage_error("--policy: '%s' is not one of %s", o->policy, all);
    }
    if (o->quorum && !(cfg->core.quorum = dm_quorum_lookup(o->quorum))) {
        char *all = dm_quorum_names(", ");
        usage_error("--quorum: '%s' is not one of %s", o->quorum, all);
    }
    if (o->seed)
        cfg->seed = parse_u64("--seed", o->seed, 0, G_MAXUINT64);
    if (o->duration) {
        char *end;
        double d = g_ascii_strtod(o->duration, &end);
        if (end == o->duration || *end || !(d > 0) || d > 1e9)
            usage_error("--duration: '%s' is not a number of seconds > 0", o->duration);
        cfg->duration_us = (int64_t)(d * 1e6 + 0.5);
    }
    if (o->faults) {
        if (strcmp(o->faults, "none") == 0) {
            cfg->mode = DM_FAULTS_NONE;
        } else if (strcmp(o->faults, "swarm") == 0) {
            cfg->mode = DM_FAULTS_SWARM;
        } else if (strcmp(o->faults, "scripted") == 0) {
            cfg->mode = DM_FAULTS_SCRIPTED;
        } else {
            if (!dm_fault_kinds_parse(o->faults, &cfg->kinds, &err))
                usage_error("--faults: %s (or none, swarm, scripted)", err->message);
            cfg->mode = DM_FAULTS_LIST;
        }
    }
}

static void append_arg(GString *cmd, const char *opt, const char *value)
{
    /* Quote only what a shell would misread, so the line stays readable. */
    bool plain = *value != '\0';
    for (const char *p = value; *p && plain; p++)
        plain = g_ascii_isalnum(*p) || strchr("_./=,:+-", *p);
    char *q = plain ? g_strdup(value) : g_shell_quote(value);
    g_string_append_printf(cmd, " %s %s", opt, q);
    g_free(q);
}

/* One command line that replays exactly the run of `seed`. */
static char *replay_command(const options *o, const dm_sim_config *cfg, uint64_t seed)
{
    GString *cmd = g_string_new(PROG);
    char buf[64];
    g_snprintf(buf, sizeof buf, "%" PRIu64, seed);
    append_arg(cmd, "--seed", buf);
    if (o->config)
        append_arg(cmd, "--config", o->config);
    for (char **s = o->set; s && *s; s++)
        append_arg(cmd, "--set", *s);
    g_snprintf(buf, sizeof buf, "%u", cfg->nodes);
    append_arg(cmd, "--nodes", buf);
    if (o->policy)
        append_arg(cmd, "--policy", o->policy);
    if (o->quorum)
        append_arg(cmd, "--quorum", o->quorum);
    if (o->faults)
        append_arg(cmd, "--faults", o->faults);
    g_snprintf(buf, sizeof buf, "%.6g", (double)cfg->duration_us / 1e6);
    append_arg(cmd, "--duration", buf);
    return g_string_free(cmd, FALSE);
}

static void print_failure(const options *o, const dm_sim_config *base, const dm_sim_config *run,
                          dm_world *w)
{
    dm_checker *c = dm_world_checker(w);
    const dm_world_stats *st = dm_world_get_stats(w);
    const dm_checker_counts *k = dm_checker_get_counts(c);
    printf("FAILED seed=%" PRIu64 ": %" PRIu64 " mutex, %" PRIu64 " token, %" PRIu64
           " fence, %" PRIu64 " margin violations, %" PRIu64 " liveness failures, %" PRIu64
           " codec errors, %" PRIu64 " API errors, %" PRIu64 " start failures, %" PRIu64 " stuck ticks\n",
           run->seed, k->violations[DM_VIOLATION_MUTEX], k->violations[DM_VIOLATION_TOKEN],
           k->violations[DM_VIOLATION_FENCE], k->violations[DM_VIOLATION_MARGIN],
           k->violations[DM_VIOLATION_LIVENESS],
           st->codec_errors, st->api_errors, st->start_failures, st->stuck_ticks);
    char *cmd = replay_command(o, base, run->seed);
    printf("replay: %s\n", cmd);
    g_free(cmd);
    char *ini = dm_sim_config_to_ini(run);
    printf("derived configuration (a scenario file that replays it with --config):\n");
    gchar **lines = g_strsplit(ini, "\n", -1);
    for (gchar **l = lines; *l; l++)
        if (**l)
            printf("  %s\n", *l);
    g_strfreev(lines);
    g_free(ini);
    uint32_t n = dm_checker_violation_count(c);
    for (uint32_t i = 0; i < n && i < MAX_VIOLATIONS_SHOWN; i++)
        printf("violation: %s\n", dm_checker_violation(c, i)->text);
    if (n > MAX_VIOLATIONS_SHOWN)
        printf("... and %u more violations\n", n - MAX_VIOLATIONS_SHOWN);
}

static FILE *open_output(const char *opt, const char *path)
{
    if (!path)
        return NULL;
    if (strcmp(path, "-") == 0)
        return stdout;
    FILE *f = fopen(path, "w");
    if (!f)
        usage_error("%s: cannot write '%s': %s", opt, path, g_strerror(errno));
    return f;
}

static const char *faults_label(const options *o, const dm_sim_config *cfg)
{
    if (o->faults)
        return o->faults;
    static const char *const modes[] = { "none", "scripted", "swarm", "list" };
    return modes[cfg->mode];
}

static void print_human(const dm_summary *t, const dm_sim_config *base, const dm_sim_config *first,
                        const options *o, uint64_t seed0)
{
    double wall = (double)t->wall_us / 1e6;
    double sim = (double)t->stats.sim_us / 1e6;
    if (t->runs == 1) {
        printf(PROG ": %u nodes, policy %s, seed %" PRIu64 ", faults %s", first->nodes,
               dm_policy_name(first->core.policy), seed0, faults_label(o, base));
        if (first->mode == DM_FAULTS_SCRIPTED) {
            char *ini = dm_sim_config_to_ini(first);
            char *sched = strstr(ini, "schedule = ");
            if (sched)
                printf(" (%.*s)", (int)strcspn(sched + 11, "\n"), sched + 11);
            g_free(ini);
        }
        printf("\n");
        if (first->kinds) {
            char *drawn = dm_sim_config_describe_faults(first);
            printf("faults in force: %s\n", drawn);
            g_free(drawn);
        }
    } else {
        printf(PROG ": %" PRIu64 " runs (seeds %" PRIu64 "..%" PRIu64 "), %u nodes, policy %s, "
               "faults %s; %" PRIu64 " failed\n",
               t->runs, seed0, seed0 + t->runs - 1, first->nodes, dm_policy_name(first->core.policy),
               faults_label(o, base), t->failed_runs);
    }
    printf("simulated %.1f s in %.2f s of wall time: %.0f events/s, %.0fx real time\n", sim, wall,
           wall > 0 ? (double)t->stats.events / wall : 0, wall > 0 ? sim / wall : 0);
    printf("locks: %" PRIu64 " granted, %" PRIu64 " failed, %" PRIu64 " lost, %" PRIu64
           " renewals, %" PRIu64 " busy; %" PRIu64 " messages (%.1f per grant)\n",
           t->stats.acquisitions, t->stats.failed, t->stats.lost, t->stats.renewals, t->stats.ebusy, t->stats.messages,
           t->stats.acquisitions ? (double)t->stats.messages / (double)t->stats.acquisitions : 0);
    printf("faults: %" PRIu64 " crashes (%" PRIu64 " with the disk wiped), %" PRIu64 " restarts, %"
           PRIu64 " pauses, %" PRIu64 " partitions, %" PRIu64 " clock skews\n",
           t->stats.crashes, t->stats.wipes, t->stats.restarts, t->stats.pauses, t->stats.partitions, t->stats.skews);
    printf("safety: %" PRIu64 " mutex, %" PRIu64 " token, %" PRIu64 " fence violations; writes %"
           PRIu64 " accepted, %" PRIu64 " stale rejected\n",
           t->checks.violations[DM_VIOLATION_MUTEX], t->checks.violations[DM_VIOLATION_TOKEN],
           t->checks.violations[DM_VIOLATION_FENCE], t->checks.writes_accepted, t->checks.writes_rejected);
    printf("liveness: %" PRIu64 "/%" PRIu64 " final requests granted, slowest after %.3f s\n",
           (uint64_t)t->stats.liveness_granted, (uint64_t)t->stats.liveness_requests, (double)t->stats.liveness_max_us / 1e6);
    if (!first->core.membership) {
        printf("membership: off\n");
        return;
    }
    double up = (double)t->stats.node_up_us / 1e6;
    printf("membership: %" PRIu64 " crashes followed, %u converged; %" PRIu64
           " false suspicions, %" PRIu64 " false deaths; %.2f messages, %.0f bytes per member "
           "per second\n",
           t->detections, t->converge->len, t->stats.false_suspicions, t->stats.false_deaths,
           up > 0 ? (double)t->stats.member_msgs / up : 0, up > 0 ? (double)t->stats.member_bytes / up : 0);
}

/* --shrink: the first failing seed's faults as a scenario, minimised
 * (sim/shrink.h); progress on stderr, the scenario to --shrink-out or
 * stdout, then its replay command. */
static int shrink(const options *o, const dm_sim_config *base, uint64_t seed0, uint64_t runs)
{
    dm_shrink_opts so = { .progress = stderr };
    if (o->shrink_trials)
        so.max_trials = (uint32_t)parse_u64("--shrink-trials", o->shrink_trials, 1, 1000000);
    dm_shrink_result r;
    GError *err = NULL;
    if (!dm_shrink(base, seed0, runs, &so, &r, &err)) {
        fprintf(stderr, PROG ": %s\n", err->message);
        g_error_free(err);
        return 2;
    }
    FILE *f = o->shrink_out ? open_output("--shrink-out", o->shrink_out) : stdout;
    char *ini = dm_shrink_to_ini(&r, f == stdout ? NULL : o->shrink_out);
    fputs(ini, f);
    g_free(ini);
    if (f != stdout)
        fclose(f);
    printf("shrunk: seed %" PRIu64 ", %s violation: %u -> %u steps, %u -> %u nodes, %u trials%s\n",
           r.seed, r.kind, r.steps_recorded, r.steps, r.nodes_before, r.nodes, r.trials,
           r.budget_hit ? " (budget reached)" : "");
    GString *cmd = g_string_new(PROG);
    append_arg(cmd, "--config", f == stdout ? "FILE" : o->shrink_out);
    printf("replay: %s\n", cmd->str);
    g_string_free(cmd, TRUE);
    dm_shrink_result_clear(&r);
    return 0;
}

/* The last line: every summary key of the metrics registry (summary.c). */
static void print_summary(dm_summary *t)
{
    GString *line = g_string_new(NULL);
    dm_summary_format(t, line);
    printf("%s\n", line->str);
    g_string_free(line, TRUE);
}

int main(int argc, char **argv)
{
    options o = { 0 };
    char *kinds = dm_fault_names(",");
    char *faults_help = g_strdup_printf("none, swarm, scripted, or a comma list of %s", kinds);
    g_free(kinds);
    /* The choices --help shows come from the registries. */
    char *policies = dm_policy_names("|"), *quorums = dm_quorum_names("|");
    GOptionEntry entries[] = {
        { "config", 'c', 0, G_OPTION_ARG_FILENAME, &o.config, "Scenario file (GLib key file; see sim/scenarios/default.ini)", "FILE" },
        { "nodes", 'n', 0, G_OPTION_ARG_STRING, &o.nodes, "Cluster size (default 5)", "N" },
        { "policy", 'p', 0, G_OPTION_ARG_STRING, &o.policy, "Reconfiguration policy (default ae)", policies },
        { "quorum", 'q', 0, G_OPTION_ARG_STRING, &o.quorum, "Quorum system (default tree)", quorums },
        { "seed", 's', 0, G_OPTION_ARG_STRING, &o.seed, "Master seed (default 1)", "S" },
        { "runs", 'r', 0, G_OPTION_ARG_STRING, &o.runs, "Run seeds S..S+K-1 (default 1)", "K" },
        { "faults", 'f', 0, G_OPTION_ARG_STRING, &o.faults, faults_help, "MODE" },
        { "duration", 'd', 0, G_OPTION_ARG_STRING, &o.duration, "Fault phase length in simulated seconds (default 60)", "SECONDS" },
        { "trace", 't', 0, G_OPTION_ARG_FILENAME, &o.trace, "Write one line per event to FILE ('-': stdout)", "FILE" },
        { "csv", 0, 0, G_OPTION_ARG_FILENAME, &o.csv, "Write one row per acquisition attempt to FILE", "FILE" },
        { "csv-members", 0, 0, G_OPTION_ARG_FILENAME, &o.csv_members, "Write one row per crash detection (SWIM) to FILE", "FILE" },
        { "csv-runs", 0, 0, G_OPTION_ARG_FILENAME, &o.csv_runs, "Write one row per run (its summary keys) to FILE", "FILE" },
        { "timeline", 0, 0, G_OPTION_ARG_FILENAME, &o.timeline,
          "Write every node's state every [timeline] interval, and the fault intervals, to FILE", "FILE" },
        { "set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.set, "Set any scenario key, e.g. --set network.loss=0.1 (repeatable)", "GROUP.KEY=VALUE" },
        { "shrink", 0, 0, G_OPTION_ARG_NONE, &o.shrink,
          "Shrink the first failing run to a small scenario that fails the same checker (sim/README.md)", NULL },
        { "shrink-out", 0, 0, G_OPTION_ARG_FILENAME, &o.shrink_out, "--shrink: write the scenario to FILE (default stdout)", "FILE" },
        { "shrink-trials", 0, 0, G_OPTION_ARG_STRING, &o.shrink_trials, "--shrink: at most N simulator runs (default 300)", "N" },
        { "list", 0, 0, G_OPTION_ARG_STRING, &o.list, "Print the names of the policies, quorum systems or fault kinds, one per line", "policies|quorums|faults" },
        G_OPTION_ENTRY_NULL
    };
    GOptionContext *ctx = g_option_context_new("- deterministic simulation of the dmutex protocol");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(ctx,
        "Runs a cluster of dmutex nodes in one process under injected faults and checks\n"
        "mutual exclusion, fencing and liveness after every event. The last line of\n"
        "output is a key=value summary. Exit status: 0 clean, 1 violation or liveness\n"
        "failure, 2 usage or configuration error.\n");
    GError *err = NULL;
    gboolean parsed = g_option_context_parse(ctx, &argc, &argv, &err);
    g_option_context_free(ctx);
    g_free(policies);
    g_free(quorums);
    if (!parsed)
        usage_error("%s", err->message);
    if (argc > 1)
        usage_error("unexpected argument '%s'", argv[1]);
    if (o.list) {
        g_free(faults_help);
        int rc = list_names(o.list);
        options_clear(&o);
        return rc;
    }

    dm_sim_config base;
    build_config(&o, &base);
    uint64_t runs = o.runs ? parse_u64("--runs", o.runs, 1, G_MAXUINT32) : 1;
    uint64_t seed0 = base.seed;
    if (runs - 1 > G_MAXUINT64 - seed0)
        usage_error("--runs: seeds %" PRIu64 "..+%" PRIu64 " overflow", seed0, runs);

    /* A configuration that cannot run is a usage error, found before any run. */
    dm_sim_config first;
    if (!dm_sim_config_resolve(&base, seed0, &first, &err))
        usage_error("%s", err->message);

    if (o.shrink) {
        dm_sim_config_clear(&first);
        int rc = shrink(&o, &base, seed0, runs);
        dm_sim_config_clear(&base);
        options_clear(&o);
        g_free(faults_help);
        return rc;
    }

    FILE *trace = open_output("--trace", o.trace);
    FILE *csv = open_output("--csv", o.csv);
    if (csv)
        dm_world_csv_header(csv);
    FILE *csv_members = open_output("--csv-members", o.csv_members);
    if (csv_members)
        dm_world_csv_members_header(csv_members);
    FILE *csv_runs = open_output("--csv-runs", o.csv_runs);
    if (csv_runs)
        dm_summary_csv_header(csv_runs);
    FILE *timeline = open_output("--timeline", o.timeline);
    if (timeline)
        dm_world_timeline_header(timeline);

    dm_summary t;
    dm_summary_init(&t, &first, faults_label(&o, &base));
    for (uint64_t i = 0; i < runs; i++) {
        dm_sim_config run;
        if (!dm_sim_config_resolve(&base, seed0 + i, &run, &err))
            usage_error("%s", err->message);
        dm_world *w = dm_world_new(&run);
        if (trace) {
            fprintf(trace, "# seed %" PRIu64 "\n", run.seed);
            dm_world_set_trace(w, trace);
        }
        if (csv)
            dm_world_set_csv(w, csv);
        if (csv_members)
            dm_world_set_csv_members(w, csv_members);
        if (timeline)
            dm_world_set_timeline(w, timeline);
        int64_t t0 = g_get_monotonic_time();
        dm_world_run(w);
        int64_t wall = g_get_monotonic_time() - t0;
        bool first_failure = dm_world_failed(w) && !t.have_failure;
        dm_summary_add(&t, w, run.seed, wall);
        if (csv_runs)
            dm_summary_csv_row(csv_runs, &run, faults_label(&o, &base), w);
        if (first_failure)
            print_failure(&o, &base, &run, w);
        dm_world_free(w);
        dm_sim_config_clear(&run);
    }
    if (trace && trace != stdout)
        fclose(trace);
    if (csv && csv != stdout)
        fclose(csv);
    if (csv_members && csv_members != stdout)
        fclose(csv_members);
    if (csv_runs && csv_runs != stdout)
        fclose(csv_runs);
    if (timeline && timeline != stdout)
        fclose(timeline);

    print_human(&t, &base, &first, &o, seed0);
    print_summary(&t);
    fflush(stdout);

    int status = t.failed_runs > 0 ? 1 : 0;
    dm_summary_clear(&t);
    dm_sim_config_clear(&first);
    dm_sim_config_clear(&base);
    options_clear(&o);
    g_free(faults_help);
    return status;
}
