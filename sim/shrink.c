/* dmutex simulator: shrinking a failing run (see shrink.h).
 *
 * The stages, in order, each keeping a change only when the run still
 * fails the same way: record the run's faults as steps and join each
 * crash/wipe, pause and partition with the restart, resume or heal that
 * ends it into one step with for= (fewer steps for ddmin, and removing a
 * fault removes its end); ddmin over the steps; one node fewer at a time
 * (steps that name it go, higher ids move down), then ddmin again; a
 * shorter fault phase (bisection, to 0.1 s). Trials are whole runs of the
 * same seed: the workload's and the network's draws come from their own
 * streams, so a scripted fault lands where the drawn one did.
 */
#include "shrink.h"

#include <inttypes.h>
#include <string.h>

#include "checker.h"
#include "fault.h"

#define DEFAULT_TRIALS 300
#define DEFAULT_SECONDS 120.0
/* Duration bisection stops when the bracket is this narrow. */
#define DURATION_STEP_US 100000

/* Bits 0-5 are the checker's violation kinds, MUTEX .. DELAY (named by
 * the checker); bits 6-9 the run's contract counters. */
#define N_VIOLATION_KINDS (DM_VIOLATION_DELAY - DM_VIOLATION_MUTEX + 1)
static const char *const counter_names[] = { "codec", "api", "start", "stuck" };
#define N_KINDS (N_VIOLATION_KINDS + (int)G_N_ELEMENTS(counter_names))

const char *dm_shrink_kind_name(int bit)
{
    if (bit >= 0 && bit < N_VIOLATION_KINDS)
        return dm_violation_kind_name(DM_VIOLATION_MUTEX + bit);
    if (bit >= N_VIOLATION_KINDS && bit < N_KINDS)
        return counter_names[bit - N_VIOLATION_KINDS];
    return "unknown";
}

uint32_t dm_shrink_failures(const dm_world *w)
{
    const dm_checker_counts *k = dm_checker_get_counts(dm_world_checker(w));
    const dm_world_stats *st = dm_world_get_stats(w);
    const uint64_t count[] = { k->violations[DM_VIOLATION_MUTEX], k->violations[DM_VIOLATION_TOKEN],
                               k->violations[DM_VIOLATION_FENCE], k->violations[DM_VIOLATION_LIVENESS],
                               k->violations[DM_VIOLATION_MARGIN], k->violations[DM_VIOLATION_DELAY],
                               st->codec_errors, st->api_errors, st->start_failures, st->stuck_ticks };
    G_STATIC_ASSERT(G_N_ELEMENTS(count) == N_KINDS);
    uint32_t mask = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(count); i++)
        mask |= (count[i] > 0) << i;
    return mask;
}

/* What a failing run is known by: its first violation's kind, or else the
 * first contract counter that is not zero. */
static int first_kind(const dm_world *w)
{
    dm_checker *c = dm_world_checker(w);
    if (dm_checker_violation_count(c) > 0)
        return (int)dm_checker_violation(c, 0)->kind - DM_VIOLATION_MUTEX;
    return g_bit_nth_lsf(dm_shrink_failures(w), -1);
}

typedef struct shrinker {
    const dm_shrink_opts *o;
    uint32_t max_trials;
    double max_seconds;
    int64_t t0;
    uint32_t trials;
    bool budget_hit;
    int kind;
} shrinker;

static G_GNUC_PRINTF(2, 3) void progress(const shrinker *s, const char *fmt, ...)
{
    if (!s->o->progress)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(s->o->progress, "shrink: ");
    vfprintf(s->o->progress, fmt, ap);
    fprintf(s->o->progress, " [%u trials, %.1f s]\n", s->trials,
            (double)(g_get_monotonic_time() - s->t0) / 1e6);
    va_end(ap);
}

static bool out_of_budget(shrinker *s)
{
    if (s->trials >= s->max_trials ||
        (double)(g_get_monotonic_time() - s->t0) / 1e6 >= s->max_seconds)
        s->budget_hit = true;
    return s->budget_hit;
}

/* One trial: whether `c` (unresolved) fails with the kind sought. A
 * configuration that does not resolve does not. */
static bool fails(shrinker *s, const dm_sim_config *c, uint64_t *hash)
{
    if (out_of_budget(s))
        return false;
    s->trials++;
    dm_sim_config run;
    if (!dm_sim_config_resolve(c, c->seed, &run, NULL))
        return false;
    dm_world *w = dm_world_new(&run);
    dm_world_run(w);
    bool r = (dm_shrink_failures(w) >> s->kind) & 1;
    if (hash)
        *hash = dm_world_hash(w);
    dm_world_free(w);
    dm_sim_config_clear(&run);
    return r;
}

/* `c` with its schedule replaced by steps[from, to) of `steps` and, when
 * skip_to > skip_from, without steps[skip_from, skip_to). */
static bool fails_with(shrinker *s, const dm_sim_config *c, const GArray *steps, guint from,
                       guint to, guint skip_from, guint skip_to)
{
    dm_sim_config t;
    dm_sim_config_copy(&t, c);
    g_array_set_size(t.schedule, 0);
    for (guint i = from; i < to; i++)
        if (i < skip_from || i >= skip_to)
            g_array_append_val(t.schedule, g_array_index(steps, dm_fault_step, i));
    bool r = fails(s, &t, NULL);
    dm_sim_config_clear(&t);
    return r;
}

static void keep_steps(GArray *steps, guint from, guint to, guint skip_from, guint skip_to)
{
    guint k = 0;
    for (guint i = from; i < to; i++)
        if (i < skip_from || i >= skip_to)
            g_array_index(steps, dm_fault_step, k++) = g_array_index(steps, dm_fault_step, i);
    g_array_set_size(steps, k);
}

/* Zeller's ddmin over c->schedule (in place): the schedule split into n
 * chunks; keep a chunk that fails alone, else a complement that fails,
 * else split finer; done when single steps cannot go. The empty schedule
 * is tried first (some failures need no fault). */
static void ddmin(shrinker *s, dm_sim_config *c)
{
    GArray *steps = c->schedule;
    if (steps->len == 0)
        return;
    if (fails_with(s, c, steps, 0, 0, 0, 0)) {
        g_array_set_size(steps, 0);
        return;
    }
    guint n = 2;
    while (steps->len >= 2 && !out_of_budget(s)) {
        guint len = steps->len;
        bool reduced = false;
        for (guint i = 0; i < n && !reduced; i++) {
            guint a = i * len / n, b = (i + 1) * len / n;
            if (fails_with(s, c, steps, a, b, 0, 0)) {
                keep_steps(steps, a, b, 0, 0);
                n = 2;
                reduced = true;
            }
        }
        /* With two chunks each complement is the other chunk, tried above. */
        for (guint i = 0; i < n && n > 2 && !reduced; i++) {
            guint a = i * len / n, b = (i + 1) * len / n;
            if (fails_with(s, c, steps, 0, len, a, b)) {
                keep_steps(steps, 0, len, a, b);
                n = MAX(n - 1, 2);
                reduced = true;
            }
        }
        if (reduced)
            continue;
        if (n >= len)
            break;
        n = MIN(2 * n, len);
    }
}

/* Join each crash or wipe with the restart that ends it, each pause with
 * its resume and each partition with its heal, into one step with for=. */
static void join_ends(GArray *steps)
{
    static const char *const pairs[][2] = {
        { "crash", "restart" }, { "wipe", "restart" }, { "pause", "resume" }, { "partition", "heal" },
    };
    for (guint i = 0; i < steps->len; i++) {
        dm_fault_step *a = &g_array_index(steps, dm_fault_step, i);
        const char *end = NULL;
        for (size_t p = 0; p < G_N_ELEMENTS(pairs); p++)
            if (strcmp(a->verb->name, pairs[p][0]) == 0)
                end = pairs[p][1];
        if (!end || a->dur_us > 0)
            continue;
        bool shape = a->verb->arg == DM_VERB_SHAPE;
        for (guint j = i + 1; j < steps->len; j++) {
            const dm_fault_step *b = &g_array_index(steps, dm_fault_step, j);
            /* A new partition replaces the one in force: nothing to join. */
            if (shape && strcmp(b->verb->name, "partition") == 0)
                break;
            if (strcmp(b->verb->name, end) != 0 || (!shape && b->node != a->node))
                continue;
            if (b->at > a->at) {
                a->dur_us = b->at - a->at;
                g_array_remove_index(steps, j);
            }
            break;
        }
    }
}

/* `c` without node k: the steps that name it go, it leaves partition
 * orders, higher ids (in steps, orders, clients and clock rates) move down. False when no client would be left. */
static bool without_node(const dm_sim_config *c, uint32_t k, bool auto_liveness, dm_sim_config *out)
{
    dm_sim_config_copy(out, c);
    out->nodes--;
    if (auto_liveness)
        out->liveness_us = DM_AUTO;
    GArray *st = out->schedule;
    for (guint i = st->len; i-- > 0;) {
        dm_fault_step *s = &g_array_index(st, dm_fault_step, i);
        if (s->node == (int32_t)k) {
            g_array_remove_index(st, i);
            continue;
        }
        if (s->node > (int32_t)k)
            s->node--;
        uint32_t *order = s->order ? g_new(uint32_t, c->nodes) : NULL;
        if (order && dm_fault_step_order(s, c->nodes, order)) {
            uint32_t m = 0;
            for (uint32_t j = 0; j < c->nodes; j++)
                if (order[j] != k)
                    order[m++] = order[j] - (order[j] > k);
            s->order = dm_fault_order_intern(order, m);
        }
        g_free(order);
    }
    if (out->clock_rates && k < out->clock_rates->len)
        g_array_remove_index(out->clock_rates, k);
    if (out->clients) {
        for (guint i = out->clients->len; i-- > 0;) {
            uint32_t *id = &g_array_index(out->clients, uint32_t, i);
            if (*id == k)
                g_array_remove_index(out->clients, i);
            else if (*id > k)
                (*id)--;
        }
        if (out->clients->len == 0) {
            dm_sim_config_clear(out);
            return false;
        }
    }
    return true;
}

/* One node fewer while the failure survives, trying the highest id first. */
static void fewer_nodes(shrinker *s, dm_sim_config *c, bool auto_liveness)
{
    for (uint32_t k = c->nodes; k-- > 0 && c->nodes > 2 && !out_of_budget(s);) {
        dm_sim_config t;
        if (!without_node(c, k, auto_liveness, &t))
            continue;
        if (fails(s, &t, NULL)) {
            dm_sim_config_clear(c);
            *c = t;
            progress(s, "without node %u: %u nodes, %u steps", k, c->nodes, c->schedule->len);
            k = c->nodes;   /* the ids moved: start again from the top */
        } else {
            dm_sim_config_clear(&t);
        }
    }
}

/* The shortest fault phase, to DURATION_STEP_US, that still fails, no
 * shorter than the last step (bisection: a guess, failures need not be
 * monotone in the duration, but every value kept was tried). */
static void shorter(shrinker *s, dm_sim_config *c)
{
    int64_t lo = 0;
    for (guint i = 0; i < c->schedule->len; i++)
        lo = MAX(lo, g_array_index(c->schedule, dm_fault_step, i).at + 1);
    int64_t hi = c->duration_us;
    while (hi - lo > DURATION_STEP_US && !out_of_budget(s)) {
        int64_t mid = (lo + hi) / 2 / DURATION_STEP_US * DURATION_STEP_US;
        if (mid <= lo)
            mid = lo + DURATION_STEP_US;
        if (mid >= hi)
            break;
        int64_t keep = c->duration_us;
        c->duration_us = mid;
        if (fails(s, c, NULL)) {
            hi = mid;
        } else {
            lo = mid;
            c->duration_us = keep;
        }
    }
}

/* The first failing seed, its faults recorded. */
static bool find_failure(shrinker *s, const dm_sim_config *base, uint64_t seed0, uint64_t runs,
                         dm_sim_config *run, GArray *recorded, uint64_t *hash, GError **err)
{
    for (uint64_t i = 0; i < runs && !out_of_budget(s); i++) {
        if (!dm_sim_config_resolve(base, seed0 + i, run, err))
            return false;
        g_array_set_size(recorded, 0);
        dm_world *w = dm_world_new(run);
        dm_world_record_faults(w, recorded);
        dm_world_run(w);
        s->trials++;
        bool failed = dm_world_failed(w);
        if (failed) {
            s->kind = first_kind(w);
            *hash = dm_world_hash(w);
        }
        dm_world_free(w);
        if (failed)
            return true;
        dm_sim_config_clear(run);
    }
    g_set_error(err, DM_SIM_ERROR, DM_SIM_ERROR_CONFIG,
                "--shrink: no failing run among seeds %" PRIu64 "..%" PRIu64 "%s", seed0,
                seed0 + runs - 1, s->budget_hit ? " (the trial budget ran out)" : "");
    return false;
}

bool dm_shrink(const dm_sim_config *base, uint64_t seed0, uint64_t runs, const dm_shrink_opts *opts,
               dm_shrink_result *out, GError **err)
{
    memset(out, 0, sizeof *out);
    shrinker s = {
        .o = opts,
        .max_trials = opts->max_trials ? opts->max_trials : DEFAULT_TRIALS,
        .max_seconds = opts->max_seconds > 0 ? opts->max_seconds : DEFAULT_SECONDS,
        .t0 = g_get_monotonic_time(),
    };
    dm_sim_config run;
    GArray *recorded = g_array_new(FALSE, FALSE, sizeof(dm_fault_step));
    uint64_t hash = 0;
    if (!find_failure(&s, base, seed0, runs, &run, recorded, &hash, err)) {
        g_array_free(recorded, TRUE);
        return false;
    }
    out->seed = run.seed;
    out->kind = dm_shrink_kind_name(s.kind);
    out->steps_recorded = recorded->len;
    out->nodes_before = run.nodes;
    out->duration_before_us = run.duration_us;
    progress(&s, "seed %" PRIu64 " fails the %s checker; %u faults recorded", run.seed, out->kind,
             recorded->len);

    /* The run as a scripted scenario: no kind strikes at a rate any more. */
    dm_sim_config *c = &out->config;
    dm_sim_config_copy(c, &run);
    dm_sim_config_clear(&run);
    c->mode = DM_FAULTS_SCRIPTED;
    c->kinds = 0;
    c->crash_count = 0;
    for (int k = 0; k < DM_FAULT_MAX; k++)
        c->rate[k] = 0;
    bool auto_liveness = base->liveness_us < 0;
    if (auto_liveness)
        c->liveness_us = DM_AUTO;
    join_ends(recorded);
    g_array_free(c->schedule, TRUE);
    c->schedule = recorded;

    uint64_t replay_hash = 0;
    if (!fails(&s, c, &replay_hash)) {
        g_set_error(err, DM_SIM_ERROR, DM_SIM_ERROR_UNSUPPORTED,
                    "--shrink: seed %" PRIu64 "'s %u recorded faults, replayed as a schedule, do not "
                    "fail the %s checker%s; nothing to shrink", out->seed, recorded->len, out->kind,
                    s.budget_hit ? " (the trial budget ran out)" : "");
        dm_shrink_result_clear(out);
        return false;
    }
    out->replay_same_hash = replay_hash == hash;
    progress(&s, "the recorded schedule (%u steps) replays to a %s failure (%s trace hash)",
             c->schedule->len, out->kind, out->replay_same_hash ? "the same" : "another");

    ddmin(&s, c);
    progress(&s, "ddmin: %u steps", c->schedule->len);
    uint32_t n = c->nodes;
    fewer_nodes(&s, c, auto_liveness);
    if (c->nodes < n) {
        ddmin(&s, c);
        progress(&s, "ddmin with %u nodes: %u steps", c->nodes, c->schedule->len);
    }
    shorter(&s, c);
    progress(&s, "fault phase %.1f s (was %.1f s)", (double)c->duration_us / 1e6,
             (double)out->duration_before_us / 1e6);
    out->steps = c->schedule->len;
    out->nodes = c->nodes;
    out->trials = s.trials;
    out->budget_hit = s.budget_hit;
    if (s.budget_hit)
        progress(&s, "stopped by the budget (%u trials, %.0f s): the result is smaller, maybe not minimal",
                 s.max_trials, s.max_seconds);
    return true;
}

void dm_shrink_result_clear(dm_shrink_result *r)
{
    dm_sim_config_clear(&r->config);
}

char *dm_shrink_to_ini(const dm_shrink_result *r, const char *path)
{
    GString *out = g_string_new(NULL);
    g_string_append_printf(out,
                           "# dmutex-sim scenario, shrunk by dmutex-sim --shrink from seed %" PRIu64
                           " (%u nodes, %u recorded fault steps, %.6g s of faults):\n"
                           "# %u nodes and %u steps that still fail the %s checker.\n"
                           "#\n#   dmutex-sim --config %s\n\n",
                           r->seed, r->nodes_before, r->steps_recorded,
                           (double)r->duration_before_us / 1e6, r->nodes, r->steps, r->kind,
                           path ? path : "FILE");
    char *ini = dm_sim_config_to_ini(&r->config);
    g_string_append(out, ini);
    g_free(ini);
    return g_string_free(out, FALSE);
}
