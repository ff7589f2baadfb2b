/* CUnit suites for the simulator (sim/): its pieces (clock, network shapes,
 * configuration), the determinism of whole runs, every checker fed a
 * violation through a sabotaged node, the swarm sweep that must stay clean
 * under the `ae` policy, and the two scenarios that must not.
 *
 * Every run is bounded in simulated time and takes milliseconds; scenario
 * files are found under $srcdir/sim/scenarios (automake exports srcdir). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>

#include "checker.h"
#include "cluster.h"
#include "error.h"
#include "fault.h"
#include "node.h"
#include "policy.h"
#include "prng.h"
#include "simclock.h"
#include "simconfig.h"
#include "shrink.h"
#include "simnet.h"
#include "testlib.h"
#include "tree.h"
#include "world.h"

/* ---------------------------------------------------------------- helpers */

/* Defaults overlaid with `settings` ("group.key=value"), resolved for seed. */
static void make_config(dm_sim_config *out, uint64_t seed, const char *const *settings)
{
    dm_sim_config base;
    GError *err = NULL;
    dm_sim_config_defaults(&base);
    for (; settings && *settings; settings++) {
        bool ok = dm_sim_config_set(&base, *settings, &err);
        if (!ok)
            fprintf(stderr, "setting %s: %s\n", *settings, err->message);
        CU_ASSERT_TRUE_FATAL(ok);
    }
    bool ok = dm_sim_config_resolve(&base, seed, out, &err);
    if (!ok)
        fprintf(stderr, "resolve: %s\n", err->message);
    CU_ASSERT_TRUE_FATAL(ok);
    dm_sim_config_clear(&base);
}

/* The world of `settings` at `seed`, run to its end; c holds its
 * configuration, which the world points into (end_world frees both). */
static dm_world *run_world(dm_sim_config *c, uint64_t seed, const char *const *settings)
{
    make_config(c, seed, settings);
    dm_world *w = dm_world_new(c);
    dm_world_run(w);
    return w;
}

static void end_world(dm_world *w, dm_sim_config *c)
{
    dm_world_free(w);
    dm_sim_config_clear(c);
}

static char *scenario_path(const char *name)
{
    const char *srcdir = g_getenv("srcdir");
    const char *bases[] = { srcdir ? srcdir : ".", "..", "." };
    for (size_t i = 0; i < G_N_ELEMENTS(bases); i++) {
        char *p = g_build_filename(bases[i], "sim", "scenarios", name, NULL);
        if (g_file_test(p, G_FILE_TEST_EXISTS))
            return p;
        g_free(p);
    }
    return g_build_filename(".", "sim", "scenarios", name, NULL);
}

/* Defaults overlaid with scenario `name`, unresolved. */
static void load_scenario_base(dm_sim_config *base, const char *name)
{
    GError *err = NULL;
    char *path = scenario_path(name);
    dm_sim_config_defaults(base);
    bool ok = dm_sim_config_load(base, path, &err);
    if (!ok)
        fprintf(stderr, "%s: %s\n", path, err->message);
    CU_ASSERT_TRUE_FATAL(ok);
    g_free(path);
}

static void load_scenario(dm_sim_config *out, const char *name)
{
    dm_sim_config base;
    GError *err = NULL;
    load_scenario_base(&base, name);
    bool ok = dm_sim_config_resolve(&base, base.seed, out, &err);
    CU_ASSERT_TRUE_FATAL(ok);
    dm_sim_config_clear(&base);
}

static uint64_t violations_of(dm_world *w, dm_violation_kind kind)
{
    return dm_checker_get_counts(dm_world_checker(w))->violations[kind];
}

static void print_violations(dm_world *w)
{
    dm_checker *c = dm_world_checker(w);
    for (uint32_t i = 0; i < dm_checker_violation_count(c) && i < 5; i++)
        fprintf(stderr, "  violation: %s\n", dm_checker_violation(c, i)->text);
}

/* Reads a whole FILE from its start. */
static char *slurp(FILE *f)
{
    GString *text = g_string_new(NULL);
    char buf[4096];
    size_t got;
    rewind(f);
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        g_string_append_len(text, buf, (gssize)got);
    return g_string_free(text, FALSE);
}

/* ---------------------------------------------------------------- simclock */

static void test_clock_inverse(void)
{
    dm_prng p;
    dm_prng_seed(&p, 7);
    for (int i = 0; i < 2000; i++) {
        dm_simclock c;
        int64_t rate = (int64_t)dm_prng_below(&p, 1600001) - 800000;
        dm_simclock_init(&c, (int64_t)dm_prng_below(&p, 1000000), (int64_t)dm_prng_below(&p, 1u << 30), rate);
        /* Every other one beyond simclock.c's exact span: the walk's side. */
        int64_t g = c.epoch + (int64_t)dm_prng_below(&p, i % 2 ? 100000000 : (uint64_t)1 << 38);
        int64_t local = dm_simclock_local(&c, g);
        /* The first global instant at which the clock reads `local`. */
        int64_t back = dm_simclock_global(&c, local);
        CU_ASSERT_TRUE(back <= g);
        CU_ASSERT_TRUE(dm_simclock_local(&c, back) >= local);
        CU_ASSERT_TRUE(dm_simclock_local(&c, back - 1) < local);
    }
}

static void test_clock_rate_change_is_continuous(void)
{
    dm_simclock c;
    dm_simclock_init(&c, 0, 5000, 10000);   /* 1% fast */
    CU_ASSERT_EQUAL(dm_simclock_local(&c, 1000000), 5000 + 1010000);
    int64_t before = dm_simclock_local(&c, 2000000);
    dm_simclock_set_rate(&c, 2000000, -10000);
    CU_ASSERT_EQUAL(dm_simclock_local(&c, 2000000), before);
    CU_ASSERT_EQUAL(dm_simclock_local(&c, 3000000), before + 990000);
    CU_ASSERT_EQUAL(dm_simclock_global(&c, INT64_MAX), INT64_MAX);
}

/* ---------------------------------------------------------------- simnet */

static dm_simnet *make_net(uint32_t n)
{
    dm_simnet_params p = { .latency_us = 1000, .jitter_us = 500, .link_spread = 0.5,
                           .reorder_delay_us = 5000 };
    dm_prng prng;
    dm_prng_seed(&prng, 1);
    return dm_simnet_new(n, &p, &prng);
}

static bool connected(const dm_simnet *net, uint32_t a, uint32_t b)
{
    return !dm_simnet_is_cut(net, a, b) && !dm_simnet_is_cut(net, b, a);
}

static void test_shapes(void)
{
    dm_prng prng;
    dm_prng_seed(&prng, 3);
    for (uint32_t n = 4; n <= 11; n++) {
        dm_simnet *net = make_net(n);
        uint32_t majority = n / 2 + 1;

        dm_simnet_partition(net, DM_SHAPE_HALVES, DM_SIMNET_ANY, &prng, NULL);
        CU_ASSERT_FALSE(connected(net, 0, n - 1));
        CU_ASSERT_TRUE(connected(net, 0, n / 2 - 1));
        CU_ASSERT_EQUAL(dm_simnet_cut_count(net), 2ull * (n / 2) * (n - n / 2));

        dm_simnet_partition(net, DM_SHAPE_ISOLATE, 2, &prng, NULL);
        for (uint32_t j = 0; j < n; j++)
            CU_ASSERT_EQUAL(connected(net, 2, j), j == 2);
        CU_ASSERT_TRUE(connected(net, 0, 1));

        /* The bridge sees everyone; the two sides do not see each other. */
        dm_simnet_partition(net, DM_SHAPE_BRIDGE, 1, &prng, NULL);
        for (uint32_t j = 0; j < n; j++)
            CU_ASSERT_TRUE(connected(net, 1, j));
        CU_ASSERT_TRUE(dm_simnet_cut_count(net) > 0);

        /* Every node sees a majority (itself included), no two the same. */
        dm_simnet_partition(net, DM_SHAPE_MAJORITIES_RING, DM_SIMNET_ANY, &prng, NULL);
        GHashTable *views = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        for (uint32_t i = 0; i < n; i++) {
            GString *view = g_string_new(NULL);
            uint32_t seen = 0;
            for (uint32_t j = 0; j < n; j++) {
                bool c = i == j || connected(net, i, j);
                seen += c;
                g_string_append_c(view, c ? '1' : '0');
            }
            CU_ASSERT_TRUE(seen >= majority);
            CU_ASSERT_TRUE(seen < n);
            CU_ASSERT_FALSE(g_hash_table_contains(views, view->str));
            g_hash_table_add(views, g_string_free(view, FALSE));
        }
        g_hash_table_destroy(views);

        /* One way: node 0 cannot send, but hears everyone. */
        dm_simnet_partition(net, DM_SHAPE_ONE_WAY, 0, &prng, NULL);
        for (uint32_t j = 1; j < n; j++) {
            CU_ASSERT_TRUE(dm_simnet_is_cut(net, 0, j));
            CU_ASSERT_FALSE(dm_simnet_is_cut(net, j, 0));
        }
        int64_t delay[2];
        CU_ASSERT_EQUAL(dm_simnet_route(net, 0, 1, delay), DM_SIMNET_CUT);
        CU_ASSERT_EQUAL(dm_simnet_route(net, 1, 0, delay), 1);
        CU_ASSERT_TRUE(delay[0] >= 1);

        dm_simnet_heal(net);
        CU_ASSERT_EQUAL(dm_simnet_cut_count(net), 0);
        dm_simnet_free(net);
    }
}

static void test_loss_and_dup_rates(void)
{
    dm_simnet *net = make_net(3);
    dm_simnet_set_rates(net, 0.25, 0.5, 0);
    int lost = 0, twice = 0;
    for (int i = 0; i < 10000; i++) {
        int64_t delay[2];
        int r = dm_simnet_route(net, 0, 1, delay);
        lost += r == DM_SIMNET_LOST;
        twice += r == 2;
    }
    CU_ASSERT_TRUE(lost > 2200 && lost < 2800);
    CU_ASSERT_TRUE(twice > 3400 && twice < 4100);   /* half of the 75% kept */
    dm_simnet_free(net);
}

/* ---------------------------------------------------------------- configuration */

/* Setting `setting` (NULL: none) leaves c unresolvable, with an error that
 * names `needle`. */
static void resolve_fails(dm_sim_config *c, const char *setting, const char *needle)
{
    dm_sim_config r;
    GError *err = NULL;
    if (setting)
        CU_ASSERT_TRUE(dm_sim_config_set(c, setting, NULL));
    CU_ASSERT_FALSE(dm_sim_config_resolve(c, 1, &r, &err));
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err->message, needle));
    g_clear_error(&err);
}

static void resolve_ok(dm_sim_config *c)
{
    dm_sim_config r;
    GError *err = NULL;
    if (dm_sim_config_resolve(c, 1, &r, &err)) {
        dm_sim_config_clear(&r);
    } else {
        CU_FAIL("the configuration should resolve");
        fprintf(stderr, "resolve: %s\n", err ? err->message : "?");
        g_clear_error(&err);
    }
}

static void test_config_errors(void)
{
    dm_sim_config c;
    GError *err = NULL;
    dm_sim_config_defaults(&c);
    CU_ASSERT_FALSE(dm_sim_config_load_data(&c, "[sim]\nnodez = 3\n", "t.ini", &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err->message, "nodez"));
    g_clear_error(&err);
    CU_ASSERT_FALSE(dm_sim_config_load_data(&c, "[simulation]\nnodes = 3\n", "t.ini", &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err->message, "simulation"));
    g_clear_error(&err);
    CU_ASSERT_FALSE(dm_sim_config_load_data(&c, "[network]\nloss = 1.5\n", "t.ini", &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err->message, "loss"));
    g_clear_error(&err);
    CU_ASSERT_FALSE(dm_sim_config_load_data(&c, "[workload]\nloop = sideways\n", "t.ini", &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err->message, "loop"));
    g_clear_error(&err);
    CU_ASSERT_FALSE(dm_sim_config_load_data(&c, "[faults]\nschedule = at=1 explode=2\n", "t.ini", &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err->message, "explode"));
    g_clear_error(&err);
    CU_ASSERT_FALSE(dm_sim_config_load_data(&c, "not a key file", "t.ini", &err));
    g_clear_error(&err);
    CU_ASSERT_FALSE(dm_sim_config_set(&c, "faults.kinds=crash,meteor", &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err->message, "meteor"));
    g_clear_error(&err);

    /* Valid syntax that cannot run: found when resolving. */
    resolve_fails(&c, "faults.schedule=at=1 crash=9", "node 9");
    CU_ASSERT_TRUE(dm_sim_config_set(&c, "faults.schedule=at=1 crash=2", NULL));
    /* memberlist needs membership; ae runs without it */
    CU_ASSERT_TRUE(dm_sim_config_set(&c, "core.policy=memberlist", NULL));
    resolve_fails(&c, "swim.enabled=false", "swim.enabled");
    CU_ASSERT_TRUE(dm_sim_config_set(&c, "core.policy=ae", NULL));
    resolve_ok(&c);
    CU_ASSERT_TRUE(dm_sim_config_set(&c, "swim.enabled=true", NULL));
    resolve_fails(&c, "swim.probe_timeout=1", "probe_timeout");
    CU_ASSERT_TRUE(dm_sim_config_set(&c, "swim.probe_timeout=0.5", NULL));
    /* An epoch configuration is a 64-bit member set: 65 nodes is a
     * configuration error, not a node that fails to start (which crashed
     * the simulator once the workload asked it for a lock). */
    CU_ASSERT_TRUE(dm_sim_config_set(&c, "core.policy=epoch", NULL));
    resolve_fails(&c, "sim.nodes=65", "allows at most 64");
    CU_ASSERT_TRUE(dm_sim_config_set(&c, "sim.nodes=64", NULL));
    resolve_ok(&c);
    CU_ASSERT_TRUE(dm_sim_config_set(&c, "core.policy=ae", NULL));
    CU_ASSERT_TRUE(dm_sim_config_set(&c, "sim.nodes=5", NULL));
    /* a crash count needs crashes */
    resolve_fails(&c, "faults.crash_count=3", "crash_count");
    CU_ASSERT_FALSE(dm_sim_config_set(&c, "swim.probe_intervall=1", &err));
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err->message, "probe_intervall"));
    g_clear_error(&err);
    CU_ASSERT_TRUE(dm_sim_config_set(&c, "faults.crash_count=0", NULL));
    /* churn: p is a probability, periods are > 0; samples need an interval */
    CU_ASSERT_FALSE(dm_sim_config_set(&c, "faults.churn_p=1.5", &err));
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err->message, "churn_p"));
    g_clear_error(&err);
    resolve_fails(&c, "faults.churn_up_mean=0", "churn_up_mean");
    CU_ASSERT_TRUE(dm_sim_config_set(&c, "faults.churn_up_mean=10", NULL));
    resolve_fails(&c, "timeline.interval=0", "[timeline] interval");
    CU_ASSERT_TRUE(dm_sim_config_set(&c, "timeline.interval=0.25", NULL));
    resolve_ok(&c);
    dm_sim_config_clear(&c);
}

static void test_steps_roundtrip(void)
{
    const char *steps[] = {
        "at=2 partition=halves", "at=5 heal", "at=3 crash=2", "at=6 restart=2",
        "at=4 pause=1 for=15", "at=1.5 partition=isolate node=holder for=4",
        "at=7 skew=0 rate=-20000 for=2", "at=8 loss=0.25 for=1", "at=9 resume=random",
        "at=3 wipe=1 for=0.5", "at=4 wipe=holder",
        "at=2 partition=majorities-ring order=3,1,0,2,4 for=1",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(steps); i++) {
        dm_fault_step s;
        GError *err = NULL;
        CU_ASSERT_TRUE_FATAL(dm_fault_step_parse(steps[i], &s, &err));
        GString *t = g_string_new(NULL);
        dm_fault_step_format(&s, t);
        CU_ASSERT_STRING_EQUAL(t->str, steps[i]);
        g_string_free(t, TRUE);
    }
    dm_fault_step s;
    CU_ASSERT_FALSE(dm_fault_step_parse("crash=2", &s, NULL));           /* no at= */
    CU_ASSERT_FALSE(dm_fault_step_parse("at=1 skew=2", &s, NULL));       /* no rate */
    CU_ASSERT_FALSE(dm_fault_step_parse("at=1 heal crash=1", &s, NULL)); /* two actions */
    CU_ASSERT_FALSE(dm_fault_step_parse("at=1 partition=triangle", &s, NULL));
    CU_ASSERT_FALSE(dm_fault_step_parse("at=1 wipe", &s, NULL));          /* no node */
    CU_ASSERT_FALSE(dm_fault_step_parse("at=1 crash=1 order=0,1", &s, NULL)); /* not a shape */
    CU_ASSERT_FALSE(dm_fault_step_parse("at=1 partition=bridge order=a,b", &s, NULL));
    /* An order= must name every node once: checked against nodes. */
    const char *bad[] = { "0,1,2,3", "0,1,2,3,3", "0,1,2,3,5", "0,1,2,3,4,5" };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        dm_sim_config c, out;
        GError *err = NULL;
        char *set = g_strdup_printf("faults.schedule=at=1 partition=random-halves order=%s", bad[i]);
        dm_sim_config_defaults(&c);
        CU_ASSERT_TRUE_FATAL(dm_sim_config_set(&c, set, NULL));
        CU_ASSERT_FALSE(dm_sim_config_resolve(&c, 1, &out, &err));
        CU_ASSERT_TRUE(err && strstr(err->message, "order="));
        g_clear_error(&err);
        dm_sim_config_clear(&c);
        g_free(set);
    }
}

/* The fault-kind registry: the built-in enum names its positions, names and
 * rate keys are unique and look up, and every verb's step round-trips. */
static void test_fault_registry(void)
{
    static const struct { int kind; const char *name; } builtin[] = {
        { DM_FAULT_CRASH, "crash" }, { DM_FAULT_RESTART, "restart" }, { DM_FAULT_PAUSE, "pause" },
        { DM_FAULT_PARTITION, "partition" }, { DM_FAULT_LOSS, "loss" }, { DM_FAULT_DUP, "dup" },
        { DM_FAULT_REORDER, "reorder" }, { DM_FAULT_SKEW, "skew" }, { DM_FAULT_CHURN, "churn" },
        { DM_FAULT_WIPE, "wipe" }, { DM_FAULT_SLOW, "slow" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(builtin); i++) {
        CU_ASSERT_STRING_EQUAL(dm_fault_kind_name(builtin[i].kind), builtin[i].name);
        CU_ASSERT_EQUAL(dm_fault_lookup(builtin[i].name), builtin[i].kind);
    }
    CU_ASSERT_TRUE(dm_fault_count() <= DM_FAULT_MAX);
    CU_ASSERT_EQUAL(dm_fault_lookup("nonsense"), -1);
    CU_ASSERT_PTR_NULL(dm_fault_kind_name(dm_fault_count()));
    for (int k = 0; k < dm_fault_count(); k++) {
        const dm_fault_ops *ops = dm_fault_get(k);
        CU_ASSERT_EQUAL(dm_fault_kind_timed(k), ops->rate_key != NULL);
        /* A rate key is a [faults] key: --set takes it. */
        if (ops->rate_key) {
            dm_sim_config c;
            dm_sim_config_defaults(&c);
            char *set = g_strdup_printf("faults.%s=0.5", ops->rate_key);
            CU_ASSERT_TRUE(dm_sim_config_set(&c, set, NULL));
            CU_ASSERT_EQUAL(c.rate[k], 0.5);
            g_free(set);
            dm_sim_config_clear(&c);
        }
        for (int j = 0; j < k; j++)
            CU_ASSERT_STRING_NOT_EQUAL(dm_fault_get(j)->name, ops->name);
        for (const dm_fault_verb *v = ops->verbs; v && v->name; v++) {
            CU_ASSERT_PTR_EQUAL(dm_fault_verb_lookup(v->name), v);
            static const char *const args[] = { "", "=random", "=0.5", "=bridge" };
            char *text = g_strdup_printf("at=1 %s%s%s%s", v->name, args[v->arg],
                                         v->rate ? " rate=5" : "", v->delay ? " delay=1.5" : "");
            dm_fault_step s;
            CU_ASSERT_TRUE(dm_fault_step_parse(text, &s, NULL));
            GString *t = g_string_new(NULL);
            dm_fault_step_format(&s, t);
            CU_ASSERT_STRING_EQUAL(t->str, text);
            g_string_free(t, TRUE);
            g_free(text);
        }
    }
}

/* The derived configuration a failing run prints replays the same run. */
static void test_printed_config_replays(void)
{
    static const char *const settings[] = { "faults.mode=swarm", "sim.duration=10", NULL };
    for (uint64_t seed = 1; seed <= 20; seed++) {
        dm_sim_config a, b, again;
        make_config(&a, seed, settings);
        char *ini = dm_sim_config_to_ini(&a);
        dm_sim_config_defaults(&b);
        GError *err = NULL;
        CU_ASSERT_TRUE_FATAL(dm_sim_config_load_data(&b, ini, "printed", &err));
        CU_ASSERT_TRUE_FATAL(dm_sim_config_resolve(&b, b.seed, &again, &err));
        char *ini2 = dm_sim_config_to_ini(&again);
        CU_ASSERT_STRING_EQUAL(ini, ini2);

        dm_world *w1 = dm_world_new(&a), *w2 = dm_world_new(&again);
        dm_world_run(w1);
        dm_world_run(w2);
        CU_ASSERT_EQUAL(dm_world_hash(w1), dm_world_hash(w2));
        dm_world_free(w1);
        dm_world_free(w2);
        g_free(ini);
        g_free(ini2);
        dm_sim_config_clear(&a);
        dm_sim_config_clear(&b);
        dm_sim_config_clear(&again);
    }
}

/* Every key the table knows appears in default.ini, and that file is the
 * defaults. */
static void test_default_ini_documents_every_key(void)
{
    dm_sim_config d, f, rd, rf;
    char *path = scenario_path("default.ini");
    GError *err = NULL;
    dm_sim_config_defaults(&d);
    dm_sim_config_defaults(&f);
    CU_ASSERT_TRUE_FATAL(dm_sim_config_load(&f, path, &err));
    CU_ASSERT_TRUE_FATAL(dm_sim_config_resolve(&d, 1, &rd, NULL));
    CU_ASSERT_TRUE_FATAL(dm_sim_config_resolve(&f, 1, &rf, NULL));
    char *a = dm_sim_config_to_ini(&rd), *b = dm_sim_config_to_ini(&rf);
    CU_ASSERT_STRING_EQUAL(a, b);
    char *text = NULL;
    CU_ASSERT_TRUE_FATAL(g_file_get_contents(path, &text, NULL, NULL));
    gchar **lines = g_strsplit(a, "\n", -1);
    for (gchar **l = lines; *l; l++) {
        char *eq = strstr(*l, " =");
        if (!eq)
            continue;
        char *key = g_strdup_printf("\n%.*s =", (int)(eq - *l), *l);
        if (!strstr(text, key))
            fprintf(stderr, "default.ini lacks%s\n", key);
        CU_ASSERT_PTR_NOT_NULL(strstr(text, key));
        g_free(key);
    }
    g_strfreev(lines);
    g_free(text);
    g_free(a);
    g_free(b);
    g_free(path);
    dm_sim_config_clear(&d);
    dm_sim_config_clear(&f);
    dm_sim_config_clear(&rd);
    dm_sim_config_clear(&rf);
}

/* ---------------------------------------------------------------- determinism */

static void run_traced(const dm_sim_config *c, uint64_t *hash, char **trace)
{
    dm_world *w = dm_world_new(c);
    if (trace)
        dm_world_set_trace(w, NULL);
    dm_world_run(w);
    *hash = dm_world_hash(w);
    if (trace)
        *trace = g_strdup(dm_world_trace_text(w));
    dm_world_free(w);
}

static void test_same_seed_same_run(void)
{
    static const char *const swarm[] = { "faults.mode=swarm", "sim.duration=15", "sim.codec=true", NULL };
    static const char *const scripted[] = { "sim.duration=40", "sim.nodes=7", NULL };
    const char *const *configs[] = { swarm, scripted };
    const uint64_t seeds[] = { 1, 2, 3, 42, 977, 123456789 };
    for (size_t k = 0; k < G_N_ELEMENTS(configs); k++)
        for (size_t i = 0; i < G_N_ELEMENTS(seeds); i++) {
            dm_sim_config c;
            make_config(&c, seeds[i], configs[k]);
            uint64_t h1, h2, h3;
            char *t1, *t2;
            run_traced(&c, &h1, &t1);
            run_traced(&c, &h2, &t2);
            run_traced(&c, &h3, NULL);   /* the hash does not depend on tracing */
            CU_ASSERT_EQUAL(h1, h2);
            CU_ASSERT_EQUAL(h1, h3);
            CU_ASSERT_STRING_EQUAL(t1, t2);
            CU_ASSERT_TRUE(strlen(t1) > 1000);
            g_free(t1);
            g_free(t2);
            dm_sim_config_clear(&c);
        }
    /* ...and a different seed is a different run. */
    dm_sim_config a, b;
    make_config(&a, 1, swarm);
    make_config(&b, 2, swarm);
    uint64_t ha, hb;
    run_traced(&a, &ha, NULL);
    run_traced(&b, &hb, NULL);
    CU_ASSERT_NOT_EQUAL(ha, hb);
    dm_sim_config_clear(&a);
    dm_sim_config_clear(&b);
}

/* The fault stream is independent of the workload's: changing the offered
 * load changes the run but not when, where and which faults strike. */
static void test_streams_are_independent(void)
{
    static const char *const light[] = { "faults.mode=list", "faults.kinds=crash,restart,pause,partition,skew",
                                         "sim.duration=30", "workload.load=0.2", NULL };
    static const char *const heavy[] = { "faults.mode=list", "faults.kinds=crash,restart,pause,partition,skew",
                                         "sim.duration=30", "workload.load=0.9", NULL };
    static const char *const words[] = { " crash", " restart", " pause for", " partition ", " skew " };
    dm_sim_config a, b;
    make_config(&a, 5, light);
    make_config(&b, 5, heavy);
    uint64_t ha, hb;
    char *ta, *tb;
    run_traced(&a, &ha, &ta);
    run_traced(&b, &hb, &tb);
    CU_ASSERT_NOT_EQUAL(ha, hb);
    GString *fa = g_string_new(NULL), *fb = g_string_new(NULL);
    char *texts[] = { ta, tb };
    GString *faults[] = { fa, fb };
    for (int r = 0; r < 2; r++) {
        gchar **lines = g_strsplit(texts[r], "\n", -1);
        for (gchar **l = lines; *l; l++)
            for (size_t k = 0; k < G_N_ELEMENTS(words); k++)
                if (strstr(*l, words[k]) && !strstr(*l, "recv"))
                    g_string_append_printf(faults[r], "%s\n", *l);
        g_strfreev(lines);
    }
    CU_ASSERT_TRUE(fa->len > 100);
    CU_ASSERT_STRING_EQUAL(fa->str, fb->str);
    g_string_free(fa, TRUE);
    g_string_free(fb, TRUE);
    g_free(ta);
    g_free(tb);
    dm_sim_config_clear(&a);
    dm_sim_config_clear(&b);
}

/* ---------------------------------------------------------------- sabotaged nodes */

/* Reports GRANTED when its attempt actually failed. */
static bool lie_granted(void *user, uint32_t node, dm_event *ev)
{
    (void)node;
    int *lies = user;
    if (ev->type == DM_EV_FAILED) {
        ev->type = DM_EV_GRANTED;
        ev->token = 1000000 + (uint64_t)(*lies)++;   /* plausible, increasing */
        ev->lease_until = ev->requested_at + 10 * G_USEC_PER_SEC;
        ev->reason = 0;
    }
    return true;
}

static void test_sabotage_mutex(void)
{
    /* Everyone contends with long holds and short timeouts, so attempts
     * fail while someone holds: each failure node 1 turns into a grant. */
    static const char *const s[] = { "faults.mode=none", "sim.duration=20", "workload.hold=1",
                                     "workload.hold_dist=fixed", "workload.timeout=0.3",
                                     "workload.load=2", NULL };
    dm_sim_config c;
    make_config(&c, 1, s);
    dm_world *w = dm_world_new(&c);
    int lies = 0;
    static const dm_world_tap tap = { .notify = lie_granted };
    dm_world_set_tap(w, 1, &tap, &lies);
    dm_world_run(w);
    CU_ASSERT_TRUE(lies > 0);
    CU_ASSERT_TRUE(violations_of(w, DM_VIOLATION_MUTEX) >= 1);
    CU_ASSERT_TRUE(dm_world_failed(w));
    bool names_node_1 = false;
    dm_checker *k = dm_world_checker(w);
    for (uint32_t i = 0; i < dm_checker_violation_count(k); i++) {
        const dm_violation *v = dm_checker_violation(k, i);
        names_node_1 |= v->kind == DM_VIOLATION_MUTEX && (v->node == 1 || v->other == 1);
    }
    CU_ASSERT_TRUE(names_node_1);
    end_world(w, &c);
}

/* Reports every grant with the first token it was ever given. */
static bool reuse_token(void *user, uint32_t node, dm_event *ev)
{
    (void)node;
    uint64_t *first = user;
    if (ev->type == DM_EV_GRANTED) {
        if (*first == 0)
            *first = ev->token;
        ev->token = *first;
    }
    return true;
}

static void test_sabotage_token(void)
{
    static const char *const s[] = { "faults.mode=none", "sim.duration=20", "workload.load=0.8", NULL };
    dm_sim_config c;
    make_config(&c, 3, s);
    dm_world *w = dm_world_new(&c);
    uint64_t first = 0;
    static const dm_world_tap tap = { .notify = reuse_token };
    dm_world_set_tap(w, 2, &tap, &first);
    dm_world_run(w);
    CU_ASSERT_TRUE(first > 0);
    CU_ASSERT_TRUE(violations_of(w, DM_VIOLATION_TOKEN) >= 1);
    /* ...and the fenced resource turned the stale token's writes away. */
    CU_ASSERT_TRUE(dm_checker_get_counts(dm_world_checker(w))->writes_rejected >= 1);
    CU_ASSERT_EQUAL(violations_of(w, DM_VIOLATION_MUTEX), 0);
    end_world(w, &c);
}

/* Breaks the lock messages node 0 receives after they left the sender's core:
 * the name loses its terminator, which only dm_msg_validate notices. */
static bool garble_name(void *user, uint32_t node, dm_msg *msg)
{
    (void)node;
    int *garbled = user;
    if (msg->name_len > 0) {
        msg->name[msg->name_len] = 'x';
        (*garbled)++;
    }
    return true;
}

/* The simulator hands its own deliveries to dm_node_receive_own, which does
 * not check fields; what a test injects or a tap changed must still be
 * checked as the network's messages are. */
static void test_foreign_messages_checked(void)
{
    static const char *const s[] = { "faults.mode=none", "sim.duration=5", "sim.nodes=3", NULL };
    dm_sim_config c;
    make_config(&c, 1, s);
    dm_world *w = dm_world_new(&c);
    /* REQUEST has no target: malformed; and a wrong key must not matter. */
    dm_msg bad = { .type = DM_MSG_REQUEST, .from = 1, .to = 2, .attempt = 1, .target = 1,
                   .name_key = 1 };
    CU_ASSERT_EQUAL_FATAL(dm_msg_set_name(&bad, "lock-0"), 0);
    CU_ASSERT_EQUAL(dm_world_send(w, &bad), 0);
    int garbled = 0;
    static const dm_world_tap tap = { .receive = garble_name };
    dm_world_set_tap(w, 0, &tap, &garbled);
    dm_world_run(w);
    const dm_world_stats *st = dm_world_get_stats(w);
    CU_ASSERT_TRUE(garbled > 0);
    CU_ASSERT_EQUAL(st->rejected, (uint64_t)garbled + 1);
    end_world(w, &c);
}

/* Hears nothing at all. */
static bool deaf(void *user, uint32_t node, dm_msg *msg)
{
    (void)user;
    (void)node;
    (void)msg;
    return false;
}

static void test_sabotage_liveness(void)
{
    static const char *const s[] = { "faults.mode=none", "sim.duration=5", NULL };
    dm_sim_config c;
    make_config(&c, 1, s);
    dm_world *w = dm_world_new(&c);
    static const dm_world_tap tap = { .receive = deaf };
    dm_world_set_tap(w, 2, &tap, NULL);
    dm_world_run(w);
    CU_ASSERT_TRUE(violations_of(w, DM_VIOLATION_LIVENESS) >= 1);
    bool names_node_2 = false;
    dm_checker *k = dm_world_checker(w);
    for (uint32_t i = 0; i < dm_checker_violation_count(k); i++) {
        const dm_violation *v = dm_checker_violation(k, i);
        names_node_2 |= v->kind == DM_VIOLATION_LIVENESS && v->node == 2;
    }
    CU_ASSERT_TRUE(names_node_2);
    const dm_world_stats *st = dm_world_get_stats(w);
    CU_ASSERT_TRUE(st->liveness_granted < st->liveness_requests);
    /* The bound is enforced: the run ends when it passes. */
    CU_ASSERT_EQUAL(st->sim_us, st->liveness_start_us + c.liveness_us);
    end_world(w, &c);
}

/* Drops every membership message from node 2: the others never hear its
 * acks or refutations and declare it dead; node 2, whose probes go nowhere,
 * ends up with a view of its own. Lock traffic passes, so every lock
 * request is granted; only the views never agree. */
static bool mute_member_2(void *user, uint32_t node, dm_msg *msg)
{
    (void)node;
    int *dropped = user;
    if (msg->from == 2 && dm_msg_is_membership((int)msg->type)) {
        (*dropped)++;
        return false;
    }
    return true;
}

static void test_sabotage_views(void)
{
    static const char *const s[] = { "faults.mode=none", "sim.duration=30", NULL };
    dm_sim_config c;
    make_config(&c, 1, s);
    dm_world *w = dm_world_new(&c);
    int dropped = 0;
    static const dm_world_tap tap = { .receive = mute_member_2 };
    for (uint32_t i = 0; i < c.nodes; i++)
        if (i != 2)
            dm_world_set_tap(w, i, &tap, &dropped);
    dm_world_run(w);
    const dm_world_stats *st = dm_world_get_stats(w);
    CU_ASSERT_TRUE(dropped > 0);
    CU_ASSERT_EQUAL(st->liveness_granted, st->liveness_requests);
    CU_ASSERT_EQUAL(violations_of(w, DM_VIOLATION_LIVENESS), 1);
    CU_ASSERT_EQUAL(violations_of(w, DM_VIOLATION_MUTEX), 0);
    CU_ASSERT_FALSE(dm_world_views_agree(w));
    CU_ASSERT_EQUAL(st->liveness_view_us, -1);
    CU_ASSERT_TRUE(dm_world_failed(w));
    dm_checker *k = dm_world_checker(w);
    const dm_violation *v = dm_checker_violation_count(k) ? dm_checker_violation(k, 0) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_EQUAL(v->kind, DM_VIOLATION_LIVENESS);
    CU_ASSERT_EQUAL(v->node, 2);   /* the odd one out */
    CU_ASSERT_PTR_NOT_NULL(strstr(v->text, "disagree on the view"));
    CU_ASSERT_PTR_NOT_NULL(strstr(v->text, "(2 distinct views)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(v->text, "{2} see "));
    CU_ASSERT_PTR_NOT_NULL(strstr(v->text, "{0,1,3,4} see 4 members"));
    /* The run went to the bound. */
    CU_ASSERT_EQUAL(st->sim_us, st->liveness_start_us + c.liveness_us);
    end_world(w, &c);
}

/* A resource that accepts any token lets the paused holder's stale write
 * through, and the fence check must say so. */
static void test_broken_resource_fence(void)
{
    dm_sim_config c;
    load_scenario(&c, "pause-past-lease.ini");
    dm_world *w = dm_world_new(&c);
    dm_checker_set_resource_broken(dm_world_checker(w), true);
    dm_world_run(w);
    CU_ASSERT_TRUE(violations_of(w, DM_VIOLATION_FENCE) >= 1);
    end_world(w, &c);
}

/* ---------------------------------------------------------------- starts */

/* The liveness phase queues one request per node on every lock, handed over
 * one at a time: its bound grows with the cluster (dm_sim_liveness_auto).
 * 128 nodes on 100 ms links need about 130 s to serve them all; the bound
 * that ignored the queue gave 34 s, and most requests missed it. */
static void test_liveness_bound_scales_with_queue(void)
{
    const char *const settings[] = { "sim.nodes=128", "sim.duration=5", "swim.enabled=false",
                                     "core.lease=10", "network.latency=0.1", "network.jitter=0.05", NULL };
    dm_sim_config cfg;
    make_config(&cfg, 1, settings);
    int64_t fixed = 3 * cfg.core.lease_us + 10 * cfg.core.rpc_timeout_us + cfg.core.suspect_us;
    CU_ASSERT_EQUAL(cfg.liveness_us, dm_sim_liveness_auto(&cfg));
    CU_ASSERT(cfg.liveness_us >= fixed + 128 * 16 * 150000 - 10 * cfg.core.rpc_timeout_us);
    dm_world *w = dm_world_new(&cfg);
    dm_world_run(w);
    const dm_world_stats *st = dm_world_get_stats(w);
    CU_ASSERT_EQUAL(violations_of(w, DM_VIOLATION_LIVENESS), 0);
    CU_ASSERT_EQUAL(st->liveness_granted, 128);
    /* It needed the queue's allowance: the fixed bound would have failed. */
    CU_ASSERT(st->liveness_max_us > fixed);
    if (dm_world_failed(w))
        print_violations(w);
    dm_world_free(w);
    dm_sim_config_clear(&cfg);
    /* Small clusters keep the bound they had (and so their runs). */
    const char *const small[] = { "sim.nodes=31", "swim.enabled=false", NULL };
    make_config(&cfg, 1, small);
    CU_ASSERT_EQUAL(cfg.liveness_us, 3 * cfg.core.lease_us + 10 * cfg.core.rpc_timeout_us +
                                         cfg.core.suspect_us);
    dm_sim_config_clear(&cfg);
}

/* Which starts vouch that the node never ran (cfg.bootstrap): each node's
 * first, and only that -- under churn too, where a node drawn down at time
 * 0 first starts later. A restart hands back what the node persisted; only
 * a wiped node starts without it and must recover, unless the scenario
 * emulates the old code (faults.wipe_bootstrap). */
static void test_bootstrap_only_first_start(void)
{
    static const char *const churn[] = { "faults.mode=list", "faults.kinds=churn", "faults.churn_p=0.6",
                                         "faults.churn_up_mean=15", "sim.duration=60", NULL };
    static const char *const wipe[] = { "sim.duration=30",
                                        "faults.schedule=at=5 wipe=2 for=1; at=10 crash=3 for=1", NULL };
    static const char *const old[] = { "sim.duration=30", "faults.wipe_bootstrap=true",
                                       "faults.schedule=at=5 wipe=2 for=1; at=10 crash=3 for=1", NULL };
    const char *const *configs[] = { NULL, churn, wipe, old };
    for (size_t k = 0; k < G_N_ELEMENTS(configs); k++) {
        dm_sim_config c;
        make_config(&c, 2, configs[k]);
        dm_world *w = dm_world_new(&c);
        dm_world_set_trace(w, NULL);
        dm_world_run(w);
        const dm_world_stats *st = dm_world_get_stats(w);
        uint64_t wiped = k >= 2 ? 1 : 0;
        CU_ASSERT_EQUAL(st->wipes, wiped);
        CU_ASSERT_EQUAL(st->bootstraps, c.nodes + (k == 3 ? wiped : 0));
        CU_ASSERT_EQUAL(st->recoveries, k == 2 ? wiped : 0);
        CU_ASSERT_EQUAL(st->restarts, st->crashes);
        CU_ASSERT_TRUE(st->crashes >= 1);
        if (k == 1) {
            /* Seed 2 holds someone down from the start: that node's first
             * start is a bootstrap, later than time 0. */
            CU_ASSERT_PTR_NOT_NULL(strstr(dm_world_trace_text(w), "first start"));
        }
        end_world(w, &c);
    }
}

/* ---------------------------------------------------------------- attempts */

/* Issue 9: lock() landing in the very microsecond the previous attempt's
 * deadline passes. The core ends the old attempt inside the call, starts the
 * new one, and delivers the old one's FAILED afterwards; a client matching
 * outcomes by lock name took it for the new attempt's and went idle while
 * the core was still acquiring (replay: dmutex-sim --seed 6610162 --set
 * core.lease=0.3 --set core.rpc_timeout=0.2 --set workload.locks=2 --nodes 7
 * --faults swarm --duration 120, node 0 at 65.42 s). Driven directly here,
 * whatever the core's timing: node 0 is cut off, so each of its attempts
 * runs to its deadline, and it asks strictly every `timeout` on an exact
 * clock, so each request lands on the previous attempt's deadline. Every
 * outcome must reach its own attempt: each CSV row fails exactly one
 * timeout after its request, one row per attempt, and the client never
 * sees a second lock() accepted while it waits (an API error). */
/* Runs `w` writing --csv and returns its attempt rows, each split into its
 * 8 fields (free with g_ptr_array_unref). */
static GPtrArray *run_csv_rows(dm_world *w)
{
    FILE *csv = tmpfile();
    CU_ASSERT_PTR_NOT_NULL_FATAL(csv);
    dm_world_set_csv(w, csv);
    dm_world_run(w);
    dm_world_set_csv(w, NULL);
    char *text = slurp(csv);
    gchar **lines = g_strsplit(text, "\n", -1);
    GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
    for (gchar **l = lines; *l; l++) {
        gchar **f = g_strsplit(*l, ",", -1);
        if (g_strv_length(f) == 8 && strcmp(f[0], "seed") != 0)
            g_ptr_array_add(rows, f);
        else
            g_strfreev(f);
    }
    g_strfreev(lines);
    g_free(text);
    fclose(csv);
    return rows;
}

static void test_outcome_matched_by_attempt(void)
{
    static const char *const s[] = {
        "sim.nodes=5", "sim.duration=20", "swim.enabled=false", "clock.drift_ppm=0",
        "workload.clients=0", "workload.interarrival=1", "workload.interarrival_dist=fixed",
        "workload.timeout=1", "faults.schedule=at=0 partition=isolate node=0", NULL };
    dm_sim_config c;
    make_config(&c, 1, s);
    dm_world *w = dm_world_new(&c);
    GPtrArray *rows = run_csv_rows(w);
    const dm_world_stats *st = dm_world_get_stats(w);
    /* The situation arose, again and again. */
    CU_ASSERT_TRUE(st->superseded >= 10);
    CU_ASSERT_EQUAL(st->api_errors, 0);
    CU_ASSERT_FALSE(dm_world_failed(w));
    uint64_t timeouts = 0, misattributed = 0;
    for (guint i = 0; i < rows->len; i++) {
        gchar **f = g_ptr_array_index(rows, i);
        if (strcmp(f[6], "timeout") == 0) {
            timeouts++;
            double waited = g_ascii_strtod(f[5], NULL) - g_ascii_strtod(f[3], NULL);
            misattributed += fabs(waited - 1.0) > 1e-6;
        }
    }
    CU_ASSERT_TRUE(timeouts >= st->superseded);
    CU_ASSERT_EQUAL(misattributed, 0);
    /* One row per attempt (those still in progress at the end included). */
    CU_ASSERT_EQUAL(rows->len, st->attempts);
    g_ptr_array_unref(rows);
    end_world(w, &c);

    /* The replay from the issue, and its neighbours: whatever the core's
     * timing does to them, no outcome goes astray. (The issue's
     * rpc_timeout, 0.2 s, breaks the rule lease >= 4 x rpc_timeout and is
     * refused now; the core clamped it to a third of the holder's lease,
     * 0.096 s, anyway.) */
    static const char *const r[] = { "faults.mode=swarm", "core.lease=0.3", "core.rpc_timeout=0.075",
                                     "workload.locks=2", "sim.nodes=7", "sim.duration=120", NULL };
    for (uint64_t seed = 6610160; seed < 6610165; seed++) {
        make_config(&c, seed, r);
        w = dm_world_new(&c);
        dm_world_run(w);
        if (dm_world_get_stats(w)->api_errors)
            fprintf(stderr, "\nseed %" G_GUINT64_FORMAT ": API errors\n", seed);
        CU_ASSERT_EQUAL(dm_world_get_stats(w)->api_errors, 0);
        end_world(w, &c);
    }
}

/* ---------------------------------------------------------------- scenarios */

static void test_drift_beyond_bound(void)
{
    dm_sim_config c;
    load_scenario(&c, "drift-beyond-bound.ini");
    dm_world *w = dm_world_new(&c);
    dm_world_run(w);
    CU_ASSERT_TRUE(violations_of(w, DM_VIOLATION_MUTEX) >= 1);
    end_world(w, &c);
}

static void test_pause_past_lease(void)
{
    dm_sim_config c;
    load_scenario(&c, "pause-past-lease.ini");
    dm_world *w = dm_world_new(&c);
    dm_world_set_trace(w, NULL);
    dm_world_run(w);
    const dm_checker_counts *k = dm_checker_get_counts(dm_world_checker(w));
    CU_ASSERT_TRUE(k->writes_rejected >= 1);
    CU_ASSERT_EQUAL(violations_of(w, DM_VIOLATION_MUTEX), 0);
    CU_ASSERT_EQUAL(dm_checker_violation_count(dm_world_checker(w)), 0);
    CU_ASSERT_FALSE(dm_world_failed(w));
    /* The rejected write is the paused holder's, made before the core said LOST. */
    const char *t = dm_world_trace_text(w);
    const char *rej = strstr(t, "(after pause): REJECTED");
    CU_ASSERT_PTR_NOT_NULL(rej);
    end_world(w, &c);
}

static void test_clean_scenarios(void)
{
    const char *names[] = { "default.ini", "partitions.ini", "swarm.ini" };
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        dm_sim_config c;
        load_scenario(&c, names[i]);
        dm_world *w = dm_world_new(&c);
        dm_world_run(w);
        const dm_world_stats *st = dm_world_get_stats(w);
        if (dm_world_failed(w)) {
            fprintf(stderr, "%s failed\n", names[i]);
            print_violations(w);
        }
        CU_ASSERT_FALSE(dm_world_failed(w));
        CU_ASSERT_TRUE(st->acquisitions > 10);
        CU_ASSERT_EQUAL(st->liveness_granted, st->liveness_requests);
        end_world(w, &c);
    }
}

/* A scenario with operator steps, traced and run to its end: the checkers
 * found nothing, every final request was granted, and it did some work. */
static dm_world *run_operator_world(dm_sim_config *c)
{
    dm_world *w = dm_world_new(c);
    dm_world_set_trace(w, NULL);
    dm_world_run(w);
    if (dm_world_failed(w))
        print_violations(w);
    CU_ASSERT_FALSE(dm_world_failed(w));
    const dm_world_stats *st = dm_world_get_stats(w);
    CU_ASSERT_EQUAL(st->liveness_granted, st->liveness_requests);
    CU_ASSERT_TRUE(st->acquisitions > 100);
    return w;
}

/* Every node ends in `epoch` with `count` members, nodes below `members`
 * among them and the others not. */
static void assert_configs(dm_world *w, const dm_sim_config *c, uint64_t epoch, uint32_t count,
                           uint32_t members)
{
    for (uint32_t i = 0; i < c->nodes; i++) {
        const dm_node *n = dm_world_node(w, i);
        uint32_t ids[8];
        CU_ASSERT_EQUAL(dm_node_config_epoch(n), epoch);
        CU_ASSERT_EQUAL(dm_node_config_members(n, ids, 8), count);
        CU_ASSERT_EQUAL(dm_node_is_config_member(n), i < members);
    }
}

/* sim/scenarios/epoch-operator.ini: an operator's removals and additions
 * (the `operator` fault kind, dm_node_change_members, as dmutexctl members
 * add|remove) under load, checked by the checkers; each change is installed
 * within a few round trips, a second change asked while one runs is
 * refused, and every node ends in epoch 11 with all six members. Under
 * `ae` the same steps change nothing (EINVAL). */
static void test_epoch_operator(void)
{
    for (int epoch = 1; epoch >= 0; epoch--) {
        dm_sim_config c;
        load_scenario(&c, "epoch-operator.ini");
        if (!epoch)
            c.core.policy = dm_policy_lookup("ae");
        dm_world *w = run_operator_world(&c);
        const char *t = dm_world_trace_text(w);
        CU_ASSERT_EQUAL(strstr(t, "members remove 3 -> DM_EBUSY") != NULL, epoch);
        CU_ASSERT_EQUAL(strstr(t, "members remove 5 -> DM_EINVAL") != NULL, !epoch);
        assert_configs(w, &c, epoch ? 11u : 0u, epoch ? 6u : 0u, c.nodes);
        end_world(w, &c);
    }
}

/* sim/scenarios/epoch-grow.ini: members beyond C_1 ([sim] members = 5 of 7
 * nodes), added by an operator with a binding agreed in the same change,
 * while a member is removed and taken back, another killed and restarted,
 * a third wiped and a fourth removed by SWIM and added back; checked by the
 * checkers, and every node ends in one epoch with all seven members. */
static void test_epoch_grow(void)
{
    dm_sim_config c;
    load_scenario(&c, "epoch-grow.ini");
    dm_world *w = run_operator_world(&c);
    const char *t = dm_world_trace_text(w);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "members add 5 -> proposed"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "members add 6 -> proposed"));   /* nothing added 6 before */
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "bind=5=sim:5"));
    uint64_t e = dm_node_config_epoch(dm_world_node(w, 0));
    CU_ASSERT_TRUE(e >= 5);
    assert_configs(w, &c, e, 7, c.nodes);
    end_world(w, &c);

    /* Without an operator the spare ids stay out for good, though they run
     * and the automatic trigger is on (a member is killed and restarted
     * meanwhile, which the trigger does act on). */
    const char *const spare[] = { "sim.nodes=7", "sim.members=5", "core.policy=epoch",
                                  "core.reconfig_delay=2s", "core.rejoin_delay=2s",
                                  "core.reconfig_interval=1s", "sim.duration=30",
                                  "faults.mode=scripted",
                                  "faults.schedule=at=1 crash=1; at=10 restart=1", NULL };
    w = run_world(&c, 1, spare);
    CU_ASSERT_FALSE(dm_world_failed(w));
    e = dm_node_config_epoch(dm_world_node(w, 0));
    CU_ASSERT_TRUE(e >= 3);   /* 1 removed, then back */
    assert_configs(w, &c, e, 5, 5);
    end_world(w, &c);

    /* The key's bounds: no more members than nodes, and only under epoch. */
    dm_sim_config base;
    dm_sim_config_defaults(&base);
    CU_ASSERT_TRUE(dm_sim_config_set(&base, "sim.members=3", NULL));
    GError *err = NULL;
    CU_ASSERT_FALSE(dm_sim_config_resolve(&base, 1, &c, &err));
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err->message, "only epoch"));
    g_clear_error(&err);
    CU_ASSERT_TRUE(dm_sim_config_set(&base, "core.policy=epoch", NULL));
    CU_ASSERT_TRUE(dm_sim_config_set(&base, "sim.members=6", NULL));
    CU_ASSERT_FALSE(dm_sim_config_resolve(&base, 1, &c, &err));
    g_clear_error(&err);
    dm_sim_config_clear(&base);
}

/* A member an operator removed keeps running: the automatic trigger takes
 * it back after rejoin_delay (5 s), counted from the removal (at 8 s, so
 * that the end at 12 s is before it), at every node --
 * the removed one too (it once proposed itself back after only
 * reconfig_interval, its own view_since never reset). */
static void test_epoch_removed_waits_rejoin_delay(void)
{
    const char *const s[] = { "sim.nodes=5", "core.policy=epoch", "core.rejoin_delay=5s",
                              "core.reconfig_interval=1s", "sim.duration=12",
                              "faults.mode=scripted", "faults.schedule=at=8 remove=4", NULL };
    dm_sim_config c;
    dm_world *w = run_world(&c, 1, s);
    CU_ASSERT_FALSE(dm_world_failed(w));
    for (uint32_t i = 0; i < 5; i++) {
        uint32_t ids[8];
        CU_ASSERT_EQUAL(dm_node_config_members(dm_world_node(w, i), ids, 8), 4);
    }
    end_world(w, &c);
}

/* The default run: a crash of the holder and a partition, recovered from. */
static void test_default_run(void)
{
    dm_sim_config c;
    dm_world *w = run_world(&c, 1, NULL);
    const dm_world_stats *st = dm_world_get_stats(w);
    CU_ASSERT_EQUAL(st->crashes, 1);
    CU_ASSERT_EQUAL(st->restarts, 1);
    CU_ASSERT_EQUAL(st->partitions, 1);
    CU_ASSERT_EQUAL(st->shapes[DM_SHAPE_HALVES], 1);
    CU_ASSERT_TRUE(st->acquisitions > 100);
    CU_ASSERT_EQUAL(st->liveness_requests, 5);
    CU_ASSERT_EQUAL(st->liveness_granted, 5);
    CU_ASSERT_FALSE(dm_world_failed(w));
    end_world(w, &c);
}

/* sim/scenarios/requester-stall.ini: each fault (the root isolated, paused,
 * crashed; a child of the root paused, crashed, isolated) leaves a working
 * quorum, and the others must keep acquiring while it lasts: at least half
 * of the 60-75 grants the workload gets in such a window, in every window
 * of seeds 1-5. The old core granted 0-16 in most of them: a requester
 * queued (FAILED) at the lost arbiter waited for its GRANT until the 3 s
 * lock timeout, holding the others' grants. */
#define STALL_MIN_GRANTS 30
static void test_requester_stall(void)
{
    for (uint64_t seed = 1; seed <= 5; seed++) {
        dm_sim_config base, c;
        GError *err = NULL;
        load_scenario_base(&base, "requester-stall.ini");
        CU_ASSERT_TRUE_FATAL(dm_sim_config_resolve(&base, seed, &c, &err));
        dm_sim_config_clear(&base);
        CU_ASSERT_TRUE_FATAL(c.schedule && c.schedule->len >= 6);
        dm_world *w = dm_world_new(&c);
        GPtrArray *rows = run_csv_rows(w);
        CU_ASSERT_FALSE(dm_world_failed(w));
        for (guint k = 0; k < c.schedule->len; k++) {
            const dm_fault_step *st = &g_array_index(c.schedule, dm_fault_step, k);
            double from = (double)st->at / 1e6, to = (double)(st->at + st->dur_us) / 1e6;
            unsigned grants = 0;
            for (guint i = 0; i < rows->len; i++) {
                gchar **f = g_ptr_array_index(rows, i);
                double at = g_ascii_strtod(f[4], NULL);
                grants += strcmp(f[6], "granted") == 0 && at >= from && at < to;
            }
            if (grants < STALL_MIN_GRANTS)
                fprintf(stderr, "\nrequester-stall.ini seed %" G_GUINT64_FORMAT
                        ": %u grants in [%.1f, %.1f) s\n", seed, grants, from, to);
            CU_ASSERT_TRUE(grants >= STALL_MIN_GRANTS);
        }
        g_ptr_array_unref(rows);
        end_world(w, &c);
    }
}

/* Issue 9's disk loss (sim/scenarios/wipe-arbiter.ini): node 3 holds lock0
 * through {2, 3}; node 2 is wiped and restarts; node 0 asks through
 * {2, 0}. Restarted as if it had never run (the old code), node 2 grants
 * at once: two holders with the same token, and the checkers say so. By
 * default it recovers first and the run is clean. (Needs the core's
 * recovery: before it, the default run breaks in the same way.) */
static void test_wipe_arbiter(void)
{
    for (int old = 1; old >= 0; old--) {
        dm_sim_config c;
        load_scenario(&c, "wipe-arbiter.ini");
        CU_ASSERT_FALSE(c.wipe_bootstrap);
        c.wipe_bootstrap = old;
        dm_world *w = dm_world_new(&c);
        dm_world_run(w);
        const dm_world_stats *st = dm_world_get_stats(w);
        CU_ASSERT_EQUAL(st->wipes, 1);
        CU_ASSERT_EQUAL(st->recoveries, old ? 0 : 1);
        if (old) {
            CU_ASSERT_TRUE(violations_of(w, DM_VIOLATION_MUTEX) >= 1);
            CU_ASSERT_TRUE(violations_of(w, DM_VIOLATION_TOKEN) >= 1);
        } else {
            if (dm_world_failed(w)) {
                fprintf(stderr, "\nwipe-arbiter.ini (default: the wiped node recovers) failed\n");
                print_violations(w);
            }
            CU_ASSERT_FALSE(dm_world_failed(w));
            CU_ASSERT_EQUAL(st->liveness_granted, st->liveness_requests);
            CU_ASSERT_TRUE(st->acquisitions >= 3);
        }
        end_world(w, &c);
    }
}

/* Issue 9: with every timing key at its default (lease 2 s, rpc_timeout
 * 0.2 s), acquisitions must complete at any one-way latency from 50 us up to
 * lease/8 = 250 ms, with no jitter and with the default jitter: no liveness
 * failure, and at least 95 % of the attempts that ended were granted, at
 * load 0.2 without faults -- pooled over six seeds of 120 s (about 700
 * attempts at 250 ms, where queueing behind a 1 s hand-over makes a few
 * time out: one 30 s run of ~35 attempts would judge 95 % by one attempt).
 * Before the adaptive timeouts, 250 ms -- a round trip above 2 x
 * rpc_timeout -- granted nothing. */
#define SWEEP_SEEDS 6   /* 3 judged 95 % by two attempts: with the 10 % lost margin seeds
                           1..3 gave 94.8 % at 250 ms (seeds 4..9: 700 granted with or
                           without the margin), 1..6 give 96.2 % */
static void test_latency_sweep(void)
{
    static const char *const latencies[] = { "0.00005", "0.001", "0.01", "0.05", "0.1", "0.25" };
    static const char *const jitters[] = { "0", NULL };   /* NULL: the default */
    for (size_t l = 0; l < G_N_ELEMENTS(latencies); l++)
        for (size_t j = 0; j < G_N_ELEMENTS(jitters); j++) {
            uint64_t granted = 0, ended = 0, liveness = 0;
            for (uint64_t seed = 1; seed <= SWEEP_SEEDS; seed++) {
                char lat[64], jit[64];
                g_snprintf(lat, sizeof lat, "network.latency=%s", latencies[l]);
                g_snprintf(jit, sizeof jit, "network.jitter=%s", jitters[j] ? jitters[j] : "");
                const char *s[] = { "sim.nodes=5", "faults.mode=none", "workload.load=0.2",
                                    "sim.duration=120", lat, jitters[j] ? jit : NULL, NULL };
                dm_sim_config c;
                dm_world *w = run_world(&c, seed, s);
                const dm_world_stats *st = dm_world_get_stats(w);
                granted += st->acquisitions;
                ended += st->acquisitions + st->failed;
                liveness += violations_of(w, DM_VIOLATION_LIVENESS);
                CU_ASSERT_FALSE(dm_world_failed(w));
                end_world(w, &c);
            }
            bool ok = liveness == 0 && ended > 100 && (double)granted >= 0.95 * (double)ended;
            if (!ok)
                fprintf(stderr, "\nlatency %s s, jitter %s, seeds 1..%d: %" G_GUINT64_FORMAT " of %"
                        G_GUINT64_FORMAT " attempts granted, %" G_GUINT64_FORMAT " liveness failures\n",
                        latencies[l], jitters[j] ? jitters[j] : "(default)", SWEEP_SEEDS, granted,
                        ended, liveness);
            CU_ASSERT_TRUE(ok);
        }
}

/* ---------------------------------------------------------------- membership */

/* Two crashes spread over the run, no workload: each is suspected, dead at
 * every live member and converged on, in that order, within SWIM's bounds;
 * nothing else is suspected. */
static void test_crash_detection(void)
{
    static const char *const s[] = { "faults.mode=list", "faults.kinds=crash", "faults.crash_count=2",
                                     "sim.duration=90", "workload.interarrival=0", NULL };
    dm_sim_config c;
    make_config(&c, 3, s);
    CU_ASSERT_EQUAL(c.rate[DM_FAULT_CRASH], 0);
    CU_ASSERT_EQUAL(c.max_down, 2);
    dm_world *w = dm_world_new(&c);
    dm_world_run(w);
    const dm_world_stats *st = dm_world_get_stats(w);
    CU_ASSERT_FALSE(dm_world_failed(w));
    CU_ASSERT_EQUAL(st->crashes, 2);
    CU_ASSERT_EQUAL_FATAL(dm_world_detection_count(w), 2);
    for (uint32_t i = 0; i < 2; i++) {
        const dm_world_detection *d = dm_world_detection_get(w, i);
        CU_ASSERT_EQUAL(d->crashed_at, 30 * G_USEC_PER_SEC * (int64_t)(i + 1));
        CU_ASSERT_FALSE(d->open);
        /* Suspected within a few protocol periods; dead after the suspicion
         * timeout (4 s at least for 5 nodes, 24 s at most). */
        CU_ASSERT_TRUE(d->first_suspect_us > 0 && d->first_suspect_us < 8 * G_USEC_PER_SEC);
        CU_ASSERT_TRUE(d->dead_all_us >= d->first_suspect_us + 4 * G_USEC_PER_SEC);
        CU_ASSERT_TRUE(d->dead_all_us < 30 * G_USEC_PER_SEC);
        CU_ASSERT_TRUE(d->converge_us >= d->dead_all_us);
        /* Somebody declared it dead first, the last live member later. */
        CU_ASSERT_TRUE(d->first_dead_us > d->first_suspect_us);
        CU_ASSERT_TRUE(d->first_dead_us <= d->dead_all_us);
    }
    CU_ASSERT_EQUAL(st->false_suspicions, 0);
    CU_ASSERT_EQUAL(st->false_deaths, 0);
    /* About two messages (probe and ack) per member per period. */
    double per_s = (double)st->member_msgs / ((double)st->node_up_us / 1e6);
    CU_ASSERT_TRUE(per_s > 1.0 && per_s < 4.0);
    CU_ASSERT_TRUE(st->member_bytes > 20 * st->member_msgs);
    /* The crashed nodes were up until they crashed, then down until the
     * liveness phase restarted them. */
    CU_ASSERT_TRUE(st->node_up_us < 5 * st->sim_us && st->node_up_us > 4 * st->sim_us);
    end_world(w, &c);
}

/* A pause outlives the suspicion timeout: the paused node is declared dead
 * while its process runs -- false deaths by definition, but not
 * "connected" ones -- and refutes once it resumes. */
static void test_false_deaths_of_paused_node(void)
{
    static const char *const s[] = { "faults.schedule=at=5 pause=3 for=20", "sim.duration=40",
                                     "workload.interarrival=0", NULL };
    dm_sim_config c;
    dm_world *w = run_world(&c, 1, s);
    const dm_world_stats *st = dm_world_get_stats(w);
    CU_ASSERT_FALSE(dm_world_failed(w));
    CU_ASSERT_EQUAL(dm_world_detection_count(w), 0);   /* no crash */
    CU_ASSERT_TRUE(st->false_suspicions >= 4);           /* every other member */
    CU_ASSERT_TRUE(st->false_deaths >= 4);
    CU_ASSERT_EQUAL(st->false_suspicions_connected, 0);
    CU_ASSERT_EQUAL(st->false_deaths_connected, 0);
    CU_ASSERT_TRUE(dm_world_views_agree(w));
    end_world(w, &c);
}

/* ---------------------------------------------------------------- slow */

/* What node 0 was sent (by sender, in order) and how late it read it. */
typedef struct slow_probe {
    dm_world *w;
    GArray *sent[3];          /* slow_sent, per sender */
    guint head[3];
    int64_t base;             /* the network's delay, measured before the slow period */
    uint32_t before, late, draining, after, wrong, out_of_order;
} slow_probe;

typedef struct slow_sent {
    int64_t at;
    dm_msg_type type;
    uint64_t clock;
} slow_sent;

#define SLOW_FROM 2000000     /* at=2 */
#define SLOW_DELAY 1500000    /* delay=1.5 */
#define SLOW_UNTIL 6000000    /* for=4 */

static bool slow_probe_send(void *user, uint32_t node, dm_msg *msg)
{
    slow_probe *p = user;
    slow_sent e = { dm_world_now(p->w), msg->type, msg->clock };
    if (msg->to == 0 && node < 3)
        g_array_append_val(p->sent[node], e);
    return true;
}

/* Every message reaches node 0 after the network's delay, plus exactly the
 * slow delay when it arrived during the slow period; after it, the backlog
 * drains in order, then on time again. */
static bool slow_probe_receive(void *user, uint32_t node, dm_msg *msg)
{
    slow_probe *p = user;
    if (node != 0)
        return true;
    GArray *q = p->sent[msg->from];
    if (p->head[msg->from] >= q->len) {
        p->out_of_order++;
        return true;
    }
    const slow_sent *e = &g_array_index(q, slow_sent, p->head[msg->from]++);
    if (e->type != msg->type || e->clock != msg->clock)
        p->out_of_order++;
    int64_t late = dm_world_now(p->w) - e->at;
    if (p->base < 0)
        p->base = late;
    int64_t arrived = e->at + p->base;
    if (arrived < SLOW_FROM) {
        p->before++;
        p->wrong += late != p->base;
    } else if (arrived < SLOW_UNTIL) {
        p->late++;
        p->wrong += late != p->base + SLOW_DELAY;
    } else if (arrived < SLOW_UNTIL + SLOW_DELAY) {
        p->draining++;
        p->wrong += late < p->base || late > p->base + SLOW_DELAY;
    } else {
        p->after++;
        p->wrong += late != p->base;
    }
    return true;
}

/* Scripted slow=0 delay=1.5 for=4: node 0 reads every message 1.5 s late,
 * in the order it came, from 2 s to 6 s; its timers stay on time, so its
 * probes time out and it accuses healthy members, which the healthy
 * counters count, while the others' accusations of node 0 they do not. */
static void test_slow_delays_reads(void)
{
    static const char *const s[] = { "sim.nodes=3", "sim.duration=12", "workload.interarrival=0",
                                     "network.jitter=0", "network.link_spread=0",
                                     /* one latency for every message: the
                                      * fallback ping's stream takes more legs */
                                     "swim.tcp_fallback=false",
                                     "faults.schedule=at=2 slow=0 delay=1.5 for=4", NULL };
    dm_sim_config c;
    make_config(&c, 1, s);
    dm_world *w = dm_world_new(&c);
    slow_probe p = { .w = w, .base = -1 };
    static const dm_world_tap tap = { .receive = slow_probe_receive, .send = slow_probe_send };
    for (uint32_t i = 0; i < 3; i++) {
        p.sent[i] = g_array_new(FALSE, FALSE, sizeof(slow_sent));
        dm_world_set_tap(w, i, &tap, &p);
    }
    dm_world_set_trace(w, NULL);
    dm_world_run(w);
    const dm_world_stats *st = dm_world_get_stats(w);
    CU_ASSERT_FALSE(dm_world_failed(w));
    CU_ASSERT_EQUAL(p.wrong, 0);
    CU_ASSERT_EQUAL(p.out_of_order, 0);
    CU_ASSERT_TRUE(p.before >= 3 && p.late > 5 && p.after > 5);
    CU_ASSERT_EQUAL(st->slows, 1);
    CU_ASSERT_TRUE(st->slowed_msgs >= p.late);
    CU_ASSERT_TRUE(st->false_suspicions_healthy > 0);
    CU_ASSERT_TRUE(st->false_suspicions > st->false_suspicions_healthy);
    const char *t = dm_world_trace_text(w);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "n0 slow: reads messages 1.500000 s late, for 4.000000 s"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "6.000000 n0 slow over"));
    for (uint32_t i = 0; i < 3; i++)
        g_array_free(p.sent[i], TRUE);
    end_world(w, &c);
}

/* A member 8 s slow past a fixed 4 s suspicion timeout declares healthy
 * members dead before it reads their refutations: false deaths of healthy
 * members, although each refuted (an incarnation of their running life: not
 * old news). With the timeout starting at six times that for a lone accuser
 * (Lifeguard's dynamic suspicion) none. Both with the dynamic timeout alone
 * (local health off) and with the whole switch (swim.lifeguard: classic SWIM
 * against Lifeguard). */
static void test_slow_false_deaths_of_healthy(void)
{
    static const char *const cases[][2][2] = {
        /* { off, on }, each two settings */
        { { "swim.awareness_max=1", "swim.suspicion_max_mult=1" },
          { "swim.awareness_max=1", "swim.suspicion_max_mult=6" } },
        { { "swim.lifeguard=false", "swim.lifeguard=false" },
          { "swim.lifeguard=true", "swim.lifeguard=true" } },
    };
    for (size_t k = 0; k < G_N_ELEMENTS(cases); k++) {
        uint64_t deaths[2];
        for (int lifeguard = 0; lifeguard < 2; lifeguard++) {
            const char *s[] = { "sim.nodes=5", "sim.duration=20", "workload.interarrival=0",
                                "faults.schedule=at=2 slow=0 delay=8", cases[k][lifeguard][0],
                                cases[k][lifeguard][1], NULL };
            dm_sim_config c;
            dm_world *w = run_world(&c, 1, s);
            const dm_world_stats *st = dm_world_get_stats(w);
            CU_ASSERT_FALSE(dm_world_failed(w));
            CU_ASSERT_TRUE(st->false_suspicions_healthy > 0);
            deaths[lifeguard] = st->false_deaths_healthy;
            end_world(w, &c);
        }
        CU_ASSERT_TRUE(deaths[0] > 0);
        CU_ASSERT_EQUAL(deaths[1], 0);
    }
}

/* Swarm with slow in every seed's mix: ae stays safe and live. */
static void test_swarm_slow_ae(void)
{
    static const char *const s[] = { "faults.mode=swarm", "faults.kinds=slow", "sim.duration=20",
                                     "workload.load=1", "workload.locks=2", NULL };
    uint64_t slows = 0, slowed = 0, healthy = 0;
    for (uint64_t seed = 1; seed <= 150; seed++) {
        dm_sim_config c;
        dm_world *w = run_world(&c, seed, s);
        if (dm_world_failed(w)) {
            fprintf(stderr, "\nseed %" G_GUINT64_FORMAT " failed\n", seed);
            print_violations(w);
        }
        CU_ASSERT_FALSE(dm_world_failed(w));
        const dm_world_stats *st = dm_world_get_stats(w);
        slows += st->slows;
        slowed += st->slowed_msgs;
        healthy += st->false_suspicions_healthy;
        end_world(w, &c);
    }
    CU_ASSERT_TRUE(slows > 150);
    CU_ASSERT_TRUE(slowed > 1000);
    CU_ASSERT_TRUE(healthy > 0);
}

/* [swim] enabled = false: no membership traffic, no records, ae still safe
 * and live. */
static void test_membership_off(void)
{
    static const char *const s[] = { "swim.enabled=false", NULL };
    dm_sim_config c;
    dm_world *w = run_world(&c, 1, s);
    const dm_world_stats *st = dm_world_get_stats(w);
    CU_ASSERT_FALSE(dm_world_failed(w));
    CU_ASSERT_EQUAL(st->member_msgs, 0);
    CU_ASSERT_EQUAL(st->member_events, 0);
    CU_ASSERT_EQUAL(dm_world_detection_count(w), 0);
    CU_ASSERT_TRUE(st->acquisitions > 100);
    end_world(w, &c);
}

/* Without faults, memberlist is as safe and live as ae. */
static void test_memberlist_without_faults(void)
{
    for (uint64_t seed = 1; seed <= 10; seed++) {
        static const char *const s[] = { "core.policy=memberlist", "faults.mode=none",
                                         "sim.duration=20", "workload.load=1", NULL };
        dm_sim_config c;
        dm_world *w = run_world(&c, seed, s);
        if (dm_world_failed(w))
            print_violations(w);
        CU_ASSERT_FALSE(dm_world_failed(w));
        CU_ASSERT_TRUE(dm_world_get_stats(w)->acquisitions > 50);
        end_world(w, &c);
    }
}

/* A policy of the test's own, handed to the simulator through the public
 * interface (core/policy.h) without a line changed under core/ or sim/. It
 * "rebuilds" at every view change over every member -- as safe as ae --
 * which is enough to show it is called, named and run where memberlist
 * breaks. */
typedef struct toy_seen {
    uint32_t calls;
} toy_seen;
static toy_seen toy;

static uint32_t toy_members(const dm_membership *m, uint32_t n_members, uint32_t *ids)
{
    (void)m;
    toy.calls++;
    for (uint32_t i = 0; i < n_members; i++)
        ids[i] = i;   /* every member, always: as safe as ae */
    return n_members;
}

static const dm_policy_ops toy_policy = {
    .name = "toy",
    .summary = "a test's own policy",
    .needs_membership = true,
    .members = toy_members,
    .purge_departed = false,
};

static void test_users_own_policy(void)
{
    /* Registered through the public registry, the toy is a policy like the
     * built-ins: the config's policy key and the name lists offer it. */
    CU_ASSERT_PTR_NULL(dm_policy_lookup("toy"));
    CU_ASSERT_EQUAL(dm_policy_register(&toy_policy), 0);
    CU_ASSERT_EQUAL(dm_policy_register(&toy_policy), -DM_EEXIST);
    CU_ASSERT_PTR_EQUAL(dm_policy_lookup("toy"), &toy_policy);
    char *names = dm_policy_names(" ");
    CU_ASSERT_PTR_NOT_NULL(strstr(names, "toy"));
    g_free(names);
    toy.calls = 0;
    dm_sim_config c;
    load_scenario(&c, "memberlist-hazard.ini");   /* views change: a crash outlives detection */
    GError *err = NULL;
    CU_ASSERT_TRUE(dm_sim_config_set(&c, "core.policy=toy", &err));
    g_clear_error(&err);
    CU_ASSERT_PTR_EQUAL(c.core.policy, &toy_policy);
    dm_world *w = dm_world_new(&c);
    dm_world_run(w);
    CU_ASSERT_FALSE(dm_world_failed(w));
    CU_ASSERT(toy.calls > 0);                       /* view changes reached it */
    CU_ASSERT(dm_world_get_stats(w)->acquisitions > 0);
    CU_ASSERT_STRING_EQUAL(dm_policy_name(c.core.policy), "toy");
    end_world(w, &c);
    /* A policy that needs SWIM is refused without it. */
    dm_config core;
    dm_config_defaults(&core);
    core.n_members = 3;
    core.policy = &toy_policy;
    core.membership = false;
    dm_node *n = NULL;
    static const dm_driver none = { 0 };
    CU_ASSERT_EQUAL(dm_node_new(&core, &none, NULL, 0, NULL, 0, &n), -DM_EINVAL);
}

/* Only accusations of the incarnation that runs are false positives: after
 * a crash and restart, members that had not yet heard of the new life report
 * the old one SUSPECT or DEAD. Those used to be counted as false (183
 * suspicions and 10 deaths over dmutex-sim --nodes 32 --policy memberlist
 * --faults crash --seed 31337 --runs 20 --duration 300, every one of them
 * old news). */
static void test_stale_accusations_are_not_false(void)
{
    /* lost_margin 0: the trajectories the threshold below was measured on.
     * Any margin (1 ms will do) moves the lock traffic and so SWIM's draws,
     * and these seeds then see 0..4 accusations of old news, too few to
     * test anything. */
    static const char *const s[] = { "faults.mode=list", "faults.kinds=crash", "sim.nodes=32",
                                     "sim.duration=300", "core.policy=memberlist",
                                     "core.lost_margin=0s", NULL };
    uint64_t stale = 0, false_pos = 0;
    /* Thirty seeds: old news needs a restart while some member still holds
     * the old life accused, which only a few seeds' trajectories produce
     * (one of the first ten did until the fence round's shortcut moved
     * them; seeds 31347..31366 have five such). */
    for (uint64_t seed = 31337; seed < 31337 + 30; seed++) {
        dm_sim_config c;
        dm_world *w = run_world(&c, seed, s);
        const dm_world_stats *st = dm_world_get_stats(w);
        stale += st->stale_accusations;
        false_pos += st->false_suspicions + st->false_deaths;
        end_world(w, &c);
    }
    /* Old news is common here (the liveness phase restarts every crashed
     * node while others still hold its last life SUSPECT or DEAD); the few
     * accusations of a running life that remain are SWIM's own. */
    CU_ASSERT_TRUE(stale >= 20);    /* 85 with the fence round's shortcut */
    CU_ASSERT_TRUE(false_pos <= stale / 10);
}

/* Epoch policy, swarm seed 20973 at N = 5: a member accepts a change, crashes
 * before it completes, and restarts with its state; it is sealed, and a
 * wiped member's recovery waits for that change. Nothing but the restarted
 * member's own trigger can finish it, and that trigger used to wait for a
 * view change that never came (members joining at start are none): a
 * request stayed unserved in the liveness phase. */
static void test_epoch_restarted_sealed_member_proposes(void)
{
    static const char *const s[] = { "faults.mode=swarm", "sim.nodes=5", "core.policy=epoch",
                                     NULL };
    dm_sim_config c;
    dm_world *w = run_world(&c, 20973, s);
    const dm_world_stats *st = dm_world_get_stats(w);
    CU_ASSERT_TRUE(st->wipes > 0);
    CU_ASSERT_TRUE(st->epoch_installs > 0);
    CU_ASSERT_EQUAL(violations_of(w, DM_VIOLATION_LIVENESS), 0);
    CU_ASSERT_FALSE(dm_world_failed(w));
    end_world(w, &c);
}

static bool abstains_1(dm_cluster *c, void *user)
{
    (void)user;
    dm_node *n = dm_cluster_node(c, 1);
    return n && dm_node_abstaining(n);
}

static uint64_t wipes_of(const dm_cluster *c)
{
    return dm_world_get_stats(dm_cluster_world(c))->wipes;
}

/* Drawn wipes replace one disk at a time (fault_wipe.c). Under the epoch
 * policy a member that recovered from a wipe abstains in its epoch until a
 * successor is installed; a second member without its state meanwhile can
 * leave too few voters for any Paxos quorum, and the sealed epoch then
 * never changes again (swarm seed 61 at N = 5: the abstaining member had
 * crashed, and the rule only asked the running ones). Here node 1 is wiped,
 * recovers, and crashes while it abstains: no wipe may be drawn until it is
 * back and the change it proposed is installed. */
static void test_wipe_waits_for_crashed_abstainer(void)
{
    dm_sim_config cfg;
    dm_cluster_config(&cfg, 5);
    cfg.seed = 61;
    cfg.max_down = 2;
    cfg.core.membership = true;
    cfg.core.policy = &dm_policy_epoch_ops;
    cfg.core.swim.probe_interval_us = 200000;
    cfg.core.swim.probe_timeout_us = 100000;
    GError *err = NULL;
    dm_cluster *c = dm_cluster_new(&cfg, &err);
    dm_sim_config_clear(&cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    dm_cluster_run_for(c, 1000000);
    CU_ASSERT_EQUAL(dm_cluster_wipe(c, 1), 0);
    CU_ASSERT_EQUAL(dm_cluster_restart(c, 1), 0);
    /* Recovery takes a lease plus drift; the successor it proposes comes a
     * fall-back delay later (node 0 is the preferred proposer). */
    int64_t t = dm_cluster_step_until(c, abstains_1, NULL, dm_cluster_now(c) + 10000000, 0);
    CU_ASSERT_FATAL(t >= 0);
    CU_ASSERT_EQUAL(dm_cluster_crash(c, 1), 0);
    uint64_t before = wipes_of(c);
    dm_fault_wipe_ops.fire(dm_cluster_world(c));
    CU_ASSERT_EQUAL(wipes_of(c), before);
    /* Back with its state, it proposes at once; once the successor is in,
     * it votes again and the next disk may go. */
    CU_ASSERT_EQUAL(dm_cluster_restart(c, 1), 0);
    dm_cluster_run_for(c, 5000000);
    CU_ASSERT_FALSE(dm_node_abstaining(dm_cluster_node(c, 1)));
    dm_fault_wipe_ops.fire(dm_cluster_world(c));
    CU_ASSERT_EQUAL(wipes_of(c), before + 1);
    CU_ASSERT_TRUE(dm_cluster_ok(c));
    dm_cluster_free(c);
}

/* The pinned hazard: memberlist breaks mutual exclusion, ae does not. */
static void test_memberlist_hazard(void)
{
    for (size_t k = 0; k < dm_policy_builtin_count(); k++) {
        const dm_policy_ops *policy = dm_policy_builtin(k);
        dm_sim_config c;
        load_scenario(&c, "memberlist-hazard.ini");
        CU_ASSERT_PTR_EQUAL(c.core.policy, &dm_policy_memberlist_ops);
        c.core.policy = policy;
        dm_world *w = dm_world_new(&c);
        dm_world_run(w);
        const dm_world_stats *st = dm_world_get_stats(w);
        if (policy != &dm_policy_memberlist_ops) {
            /* ae never rebuilds; epoch rebuilds only through agreed
             * configurations: both hold. */
            CU_ASSERT_FALSE(dm_world_failed(w));
            CU_ASSERT_EQUAL(violations_of(w, DM_VIOLATION_MUTEX), 0);
        } else {
            CU_ASSERT_TRUE(violations_of(w, DM_VIOLATION_MUTEX) >= 1);
            /* The holder (node 1) was in the new holder's view: the grant
             * was purged by an arbiter that declared it dead. */
            CU_ASSERT_EQUAL(st->violation_kind, DM_VIOLATION_MUTEX);
            CU_ASSERT_EQUAL(st->violation_holder_in_view, 1);
            CU_ASSERT_FALSE(st->violation_views_agree);
            CU_ASSERT_EQUAL(st->violation_shape, DM_SHAPE_ISOLATE);
        }
        CU_ASSERT_EQUAL(violations_of(w, DM_VIOLATION_LIVENESS), 0);
        CU_ASSERT_EQUAL(st->liveness_granted, st->liveness_requests);
        end_world(w, &c);
    }
}

/* ---------------------------------------------------------------- churn and availability */

static double fraction(int64_t part, int64_t whole)
{
    return whole > 0 ? (double)part / (double)whole : NAN;
}

/* Churn, N = 7, p = 0.8: every node up with probability 0.8, independently
 * (up periods of mean 10 s, down periods of mean 2.5 s). The time during
 * which the full tree has a quorum among the running members must match
 * the exact A(T) = 0.9519104 of the tree within 4 standard errors of the
 * mean over 8 seeds of 1500 s. Deterministic seeds: it cannot flake
 * (measured: mean 0.95331, SE 0.0023, z = +0.62). Under ae every node's
 * tree is the full tree, so the views' availability is the same number;
 * the churn schedule depends on the seed alone, so memberlist sees the same
 * ground truth. */
#define CHURN_SEEDS 8
static void test_churn_availability(void)
{
    static const char *const ae[] = { "faults.mode=list", "faults.kinds=churn", "faults.churn_p=0.8",
                                      "faults.churn_up_mean=10", "sim.nodes=7", "sim.duration=1500",
                                      NULL };
    uint32_t ids[7] = { 0, 1, 2, 3, 4, 5, 6 };
    dm_tree *t;
    CU_ASSERT_EQUAL_FATAL(dm_tree_new(ids, 7, &t), 0);
    double exact = dm_tree_availability(t, 0.8);
    dm_tree_free(t);
    CU_ASSERT_DOUBLE_EQUAL(exact, 0.9519104, 1e-9);
    double a[CHURN_SEEDS], sum = 0, ss = 0;
    uint64_t crashes = 0;
    for (uint64_t seed = 1; seed <= CHURN_SEEDS; seed++) {
        dm_sim_config c;
        make_config(&c, seed, ae);
        CU_ASSERT_TRUE(c.kinds == 1u << DM_FAULT_CHURN);
        dm_world *w = dm_world_new(&c);
        dm_world_run(w);
        const dm_world_stats *st = dm_world_get_stats(w);
        if (dm_world_failed(w))
            print_violations(w);
        CU_ASSERT_FALSE(dm_world_failed(w));
        CU_ASSERT_EQUAL(st->fault_us, c.duration_us);
        CU_ASSERT_EQUAL(st->quorum_views_us, st->quorum_us);
        CU_ASSERT_EQUAL(st->crashes, st->restarts);   /* the liveness phase restarts the rest */
        crashes += st->crashes;
        a[seed - 1] = fraction(st->quorum_us, st->fault_us);
        sum += a[seed - 1];
        dm_world_free(w);

        /* memberlist: the same up/down schedule, so the same ground truth */
        if (seed <= 2) {
            c.core.policy = &dm_policy_memberlist_ops;
            dm_world *m = dm_world_new(&c);
            dm_world_run(m);
            const dm_world_stats *ms = dm_world_get_stats(m);
            CU_ASSERT_EQUAL(ms->quorum_us, (int64_t)llround(a[seed - 1] * (double)c.duration_us));
            CU_ASSERT_TRUE(ms->quorum_views_us > c.duration_us / 2);
            dm_world_free(m);
        }
        dm_sim_config_clear(&c);
    }
    double mean = sum / CHURN_SEEDS;
    for (int i = 0; i < CHURN_SEEDS; i++)
        ss += (a[i] - mean) * (a[i] - mean);
    double se = sqrt(ss / (CHURN_SEEDS - 1)) / sqrt(CHURN_SEEDS);
    if (fabs(mean - exact) >= 4 * se)
        fprintf(stderr, "\nchurn: mean %.6f, SE %.6f, exact %.7f (z = %.2f)\n", mean, se, exact,
                (mean - exact) / se);
    CU_ASSERT_TRUE(se > 0 && se < 0.01);
    CU_ASSERT_TRUE(fabs(mean - exact) < 4 * se);
    /* About 1500 / (10 + 2.5) periods per node and seed. */
    CU_ASSERT_TRUE(crashes > CHURN_SEEDS * 7 * 100 && crashes < CHURN_SEEDS * 7 * 140);
}

/* p = 1: nobody ever goes down; p = 0: nobody is ever up. */
static void test_churn_extremes(void)
{
    for (int k = 0; k < 2; k++) {
        const char *s[] = { "faults.mode=list", "faults.kinds=churn", k ? "faults.churn_p=0" : "faults.churn_p=1",
                            "sim.duration=30", NULL };
        dm_sim_config c;
        dm_world *w = run_world(&c, 1, s);
        const dm_world_stats *st = dm_world_get_stats(w);
        CU_ASSERT_EQUAL(st->crashes, k ? c.nodes : 0);
        CU_ASSERT_EQUAL(st->quorum_us, k ? 0 : c.duration_us);
        CU_ASSERT_EQUAL(st->quorum_views_us, st->quorum_us);
        CU_ASSERT_FALSE(dm_world_failed(w));   /* everyone restarts for the liveness phase */
        end_world(w, &c);
    }
}

/* ---------------------------------------------------------------- timeline */

/* A world run with a timeline into memory; its hash and trace. */
static char *run_timeline(const dm_sim_config *c, bool with, uint64_t *hash, char **trace)
{
    FILE *f = with ? tmpfile() : NULL;
    if (with)
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    dm_world *w = dm_world_new(c);
    dm_world_set_trace(w, NULL);
    if (f) {
        dm_world_timeline_header(f);
        dm_world_set_timeline(w, f);
    }
    dm_world_run(w);
    *hash = dm_world_hash(w);
    *trace = g_strdup(dm_world_trace_text(w));
    dm_world_free(w);
    if (!f)
        return NULL;
    char *text = slurp(f);
    fclose(f);
    return text;
}

#define TL_HEADER "seed,kind,t_start,t_end,node,state,view_size,view_hash,tree_size,quorum_size,detail,holds,epoch"

typedef struct tl_interval_row {
    double from, to;
    int node;
} tl_interval_row;

/* Checks every row's shape; returns the rows split into fields (NULL-
 * terminated array of string arrays), without the header. */
static gchar ***tl_rows(const char *text, guint *count)
{
    gchar **lines = g_strsplit(text, "\n", -1);
    CU_ASSERT_STRING_EQUAL(lines[0], TL_HEADER);
    guint n = g_strv_length(lines);
    gchar ***rows = g_new0(gchar **, n);
    guint k = 0;
    for (guint i = 1; i < n; i++) {
        if (!*lines[i])
            continue;
        rows[k] = g_strsplit(lines[i], ",", -1);
        CU_ASSERT_EQUAL(g_strv_length(rows[k]), 13);
        k++;
    }
    g_strfreev(lines);
    *count = k;
    return rows;
}

static void tl_rows_free(gchar ***rows)
{
    for (guint i = 0; rows[i]; i++)
        g_strfreev(rows[i]);
    g_free(rows);
}

/* The crash of node 3 from 10 s to 30 s, a pause, a partition: every node
 * sampled every 0.1 s, one row per fault interval and the liveness phase;
 * the timeline changes neither the hash nor the trace. */
static void test_timeline_rows(void)
{
    static const char *const s[] = {
        "sim.nodes=7", "sim.duration=45", "timeline.interval=0.1",
        "faults.schedule=at=10 crash=3 for=20; at=20 pause=1 for=2; at=35 partition=isolate node=5 for=3",
        NULL };
    dm_sim_config c;
    make_config(&c, 1, s);
    uint64_t h0, h1;
    char *t0, *t1;
    CU_ASSERT_PTR_NULL(run_timeline(&c, false, &h0, &t0));
    char *text = run_timeline(&c, true, &h1, &t1);
    CU_ASSERT_EQUAL(h0, h1);
    CU_ASSERT_STRING_EQUAL(t0, t1);
    guint count;
    gchar ***rows = tl_rows(text, &count);
    guint samples = 0, crashed = 0, faults = 0, phases = 0;
    double last = 0;
    for (guint i = 0; i < count; i++) {
        gchar **r = rows[i];
        CU_ASSERT_STRING_EQUAL(r[0], "1");
        double t = g_ascii_strtod(r[2], NULL);
        if (strcmp(r[1], "sample") == 0) {
            samples++;
            CU_ASSERT_STRING_EQUAL(r[3], "");
            CU_ASSERT_TRUE(t >= last);
            last = t;
            int node = atoi(r[4]);
            bool down = node == 3 && t >= 10 - 1e-9 && t < 30 - 1e-9;
            CU_ASSERT_STRING_EQUAL(r[5], down ? "crashed" : node == 1 && t >= 20 - 1e-9 && t < 22 - 1e-9 ? "paused" : "up");
            crashed += down;
            if (down)
                continue;
            int vs = atoi(r[6]), ts = atoi(r[8]), qs = atoi(r[9]);
            CU_ASSERT_TRUE(vs >= 6 && vs <= 7);
            CU_ASSERT_EQUAL(ts, 7);              /* ae: the fixed tree */
            CU_ASSERT_EQUAL(strlen(r[7]), 16);
            CU_ASSERT_TRUE(qs >= 2 && qs <= 4);
            if (t < 10)
                CU_ASSERT_EQUAL(qs, 3);          /* failure-free: root, child, leaf */
            CU_ASSERT_TRUE(strcmp(r[11], "0") == 0 || strcmp(r[11], "1") == 0);
        } else if (strcmp(r[1], "fault") == 0) {
            faults++;
            double to = g_ascii_strtod(r[3], NULL);
            if (strcmp(r[10], "crash") == 0) {
                CU_ASSERT_STRING_EQUAL(r[4], "3");
                CU_ASSERT_DOUBLE_EQUAL(t, 10, 1e-9);
                CU_ASSERT_DOUBLE_EQUAL(to, 30, 1e-9);
            } else if (strcmp(r[10], "pause") == 0) {
                CU_ASSERT_STRING_EQUAL(r[4], "1");
                CU_ASSERT_DOUBLE_EQUAL(t, 20, 1e-9);
                CU_ASSERT_DOUBLE_EQUAL(to, 22, 1e-9);
            } else {
                CU_ASSERT_STRING_EQUAL(r[10], "partition isolate {5} | {0 1 2 3 4 6}");
                CU_ASSERT_DOUBLE_EQUAL(t, 35, 1e-9);
                CU_ASSERT_DOUBLE_EQUAL(to, 38, 1e-9);
            }
        } else {
            CU_ASSERT_STRING_EQUAL(r[1], "phase");
            CU_ASSERT_STRING_EQUAL(r[10], "liveness");
            CU_ASSERT_DOUBLE_EQUAL(t, 45, 1e-9);
            phases++;
        }
    }
    /* Samples at 0, 0.1, ..., up to the end of the run, for all 7 nodes. */
    CU_ASSERT_EQUAL(samples % 7, 0);
    CU_ASSERT_EQUAL(samples / 7, (guint)floor(last * 10 + 1e-6) + 1);
    CU_ASSERT_TRUE(last >= 45);
    CU_ASSERT_EQUAL(crashed, 200);
    CU_ASSERT_EQUAL(faults, 3);
    CU_ASSERT_EQUAL(phases, 1);
    tl_rows_free(rows);
    g_free(text);
    g_free(t0);
    g_free(t1);
    dm_sim_config_clear(&c);
}

/* Under churn and memberlist, with nodes that start down: same hash with
 * and without the timeline, and a sample says "crashed" exactly when it
 * lies in a crash interval of that node. */
static void test_timeline_churn(void)
{
    static const char *const s[] = { "core.policy=memberlist", "faults.mode=list", "faults.kinds=churn",
                                     "faults.churn_p=0.6", "faults.churn_up_mean=15", "sim.nodes=5",
                                     "sim.duration=90", "timeline.interval=0.05", NULL };
    dm_sim_config c;
    make_config(&c, 2, s);
    uint64_t h0, h1;
    char *t0, *t1;
    run_timeline(&c, false, &h0, &t0);
    char *text = run_timeline(&c, true, &h1, &t1);
    CU_ASSERT_EQUAL(h0, h1);
    CU_ASSERT_STRING_EQUAL(t0, t1);
    guint count;
    gchar ***rows = tl_rows(text, &count);
    GArray *crashes = g_array_new(FALSE, FALSE, sizeof(tl_interval_row));
    bool from_zero = false;
    for (guint i = 0; i < count; i++)
        if (strcmp(rows[i][1], "fault") == 0) {
            CU_ASSERT_STRING_EQUAL(rows[i][10], "crash");
            tl_interval_row iv = { g_ascii_strtod(rows[i][2], NULL), g_ascii_strtod(rows[i][3], NULL),
                                   atoi(rows[i][4]) };
            CU_ASSERT_TRUE(iv.from <= iv.to);
            from_zero |= iv.from == 0;
            g_array_append_val(crashes, iv);
        }
    CU_ASSERT_TRUE(from_zero);          /* seed 2 starts someone down */
    CU_ASSERT_TRUE(crashes->len > 10);
    guint samples = 0, down = 0, no_quorum = 0, small_tree = 0;
    for (guint i = 0; i < count; i++) {
        gchar **r = rows[i];
        if (strcmp(r[1], "sample") != 0)
            continue;
        samples++;
        double t = g_ascii_strtod(r[2], NULL);
        int node = atoi(r[4]);
        bool in = false;
        for (guint k = 0; k < crashes->len && !in; k++) {
            tl_interval_row *iv = &g_array_index(crashes, tl_interval_row, k);
            in = iv->node == node && iv->from <= t && t < iv->to;
        }
        CU_ASSERT_EQUAL(in, strcmp(r[5], "crashed") == 0);
        down += in;
        if (!in) {
            no_quorum += strcmp(r[9], "-1") == 0;
            small_tree += atoi(r[8]) < 5;
            CU_ASSERT_TRUE(atoi(r[8]) >= 1 && atoi(r[8]) <= 5);
        }
    }
    CU_ASSERT_TRUE(samples > 5 * 600);
    CU_ASSERT_TRUE(down > 0 && down < samples);
    CU_ASSERT_TRUE(small_tree > 0);     /* memberlist rebuilt trees over smaller views */
    (void)no_quorum;
    g_array_free(crashes, TRUE);
    tl_rows_free(rows);
    g_free(text);
    g_free(t0);
    g_free(t1);
    dm_sim_config_clear(&c);
}

/* ---------------------------------------------------------------- the swarm */

#define SWARM_SEEDS 1000

/* Short runs, each with its own fault mix; a busier workload than the
 * default and holds up to 1.5 leases (renewals); `policy` a core.policy=
 * setting. */
static void swarm_sweep(const char *policy)
{
    const char *const s[] = { "faults.mode=swarm", "sim.duration=20", "workload.load=1",
                              "workload.locks=2", policy, NULL };
    bool epochs = strstr(policy, "epoch") != NULL;
    uint64_t installs = 0;
    uint64_t kinds_seen = 0, shapes[DM_SHAPE_COUNT] = { 0 };
    uint64_t renewals = 0, lost = 0, rejected = 0, grants = 0, resumes = 0, dups = 0, reorders = 0;
    uint64_t cut = 0, loss = 0, member_msgs = 0, member_events = 0, view_waits = 0;
    uint64_t wipes = 0, recoveries = 0, slowed = 0;
    int failures = 0;
    for (uint64_t seed = 1; seed <= SWARM_SEEDS; seed++) {
        dm_sim_config c;
        make_config(&c, seed, s);
        kinds_seen |= c.kinds;
        dm_world *w = dm_world_new(&c);
        dm_world_run(w);
        const dm_world_stats *st = dm_world_get_stats(w);
        if (dm_world_failed(w) && failures++ < 3) {
            fprintf(stderr, "\nswarm seed %" G_GUINT64_FORMAT " failed: replay with "
                    "dmutex-sim --seed %" G_GUINT64_FORMAT " --faults swarm --duration 20 "
                    "--set workload.load=1 --set workload.locks=2 --set %s\n", seed, seed, policy);
            print_violations(w);
        }
        installs += st->epoch_installs;
        CU_ASSERT_EQUAL(violations_of(w, DM_VIOLATION_MUTEX), 0);
        CU_ASSERT_EQUAL(violations_of(w, DM_VIOLATION_TOKEN), 0);
        CU_ASSERT_EQUAL(violations_of(w, DM_VIOLATION_FENCE), 0);
        CU_ASSERT_EQUAL(violations_of(w, DM_VIOLATION_LIVENESS), 0);
        CU_ASSERT_FALSE(dm_world_failed(w));
        slowed += st->slowed_msgs;
        for (int k = 0; k < DM_SHAPE_COUNT; k++)
            shapes[k] += st->shapes[k];
        renewals += st->renewals;
        lost += st->lost;
        wipes += st->wipes;
        recoveries += st->recoveries;
        /* Only the first start of each node vouches that it never ran. */
        CU_ASSERT_EQUAL(st->bootstraps, c.nodes);
        grants += st->acquisitions;
        resumes += st->resumes;
        dups += st->duplicated;
        reorders += st->reordered;
        cut += st->dropped_cut;
        loss += st->dropped_loss;
        member_msgs += st->member_msgs;
        member_events += st->member_events;
        view_waits += st->liveness_view_us > 0;
        rejected += dm_checker_get_counts(dm_world_checker(w))->writes_rejected;
        end_world(w, &c);
    }
    /* The sweep covered what it claims to: every fault kind, every
     * partition shape, clock skew within the bound, renewals, lost leases and
     * stale writes turned away, wiped nodes that came back and recovered. */
    CU_ASSERT_EQUAL(kinds_seen, DM_FAULT_SWARM_MASK);   /* churn is never drawn */
    CU_ASSERT_TRUE(kinds_seen & (1u << DM_FAULT_WIPE));
    CU_ASSERT_TRUE(wipes > 0);
    CU_ASSERT_EQUAL(recoveries, wipes);   /* every wiped node came back (liveness phase) */
    for (int k = 0; k < DM_SHAPE_COUNT; k++)
        CU_ASSERT_TRUE(shapes[k] > 0);
    CU_ASSERT_TRUE(grants > 1000 * SWARM_SEEDS / 100);
    CU_ASSERT_TRUE(renewals > 0);
    CU_ASSERT_TRUE(lost > 0);
    CU_ASSERT_TRUE(resumes > 0);
    CU_ASSERT_TRUE(slowed > 0);   /* slow members read late */
    CU_ASSERT_TRUE(dups > 0 && reorders > 0 && cut > 0 && loss > 0);
    CU_ASSERT_TRUE(rejected > 0);
    /* SWIM ran alongside (its traffic under the same faults), and the
     * liveness phase had to wait for views to agree again now and then. */
    CU_ASSERT_TRUE(member_msgs > 100 * SWARM_SEEDS);
    CU_ASSERT_TRUE(member_events > 0);
    CU_ASSERT_TRUE(view_waits > 0);
    /* epoch: configurations were changed under those faults, not merely
     * kept; the other policies have none. */
    if (epochs) {
        CU_ASSERT_TRUE(installs > SWARM_SEEDS);
    } else {
        CU_ASSERT_EQUAL(installs, 0);
    }
}

static void test_swarm_ae_is_safe_and_live(void)
{
    swarm_sweep("core.policy=ae");
}

static void test_swarm_epoch_is_safe_and_live(void)
{
    swarm_sweep("core.policy=epoch");
}

/* Other cluster sizes, the wire codec in the loop. */
static void test_swarm_sizes(void)
{
    for (uint64_t seed = 1; seed <= 60; seed++) {
        char nodes[32];
        g_snprintf(nodes, sizeof nodes, "sim.nodes=%u", (unsigned)(1 + seed % 12));
        const char *s[] = { "faults.mode=swarm", "sim.duration=15", "sim.codec=true", nodes, NULL };
        dm_sim_config c;
        dm_world *w = run_world(&c, seed, s);
        if (dm_world_failed(w)) {
            fprintf(stderr, "\nseed %" G_GUINT64_FORMAT " %s failed\n", seed, nodes);
            print_violations(w);
        }
        CU_ASSERT_FALSE(dm_world_failed(w));
        CU_ASSERT_EQUAL(dm_world_get_stats(w)->codec_errors, 0);
        end_world(w, &c);
    }
}

/* ---------------------------------------------------------------- open loop */

typedef struct loop_run {
    dm_world_stats st;
    uint64_t rows;          /* --csv rows of requests that arrived in the fault phase */
    bool failed;
    double latency_p50;     /* seconds; the lower median */
    double latency_max;
} loop_run;

static int cmp_seconds(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One run of `settings` plus workload.loop=`loop`, seed 1, with what the
 * open-loop tests read from it. */
static loop_run run_loop(const char *const *settings, const char *loop)
{
    const char *all[24];
    size_t n = 0;
    for (; settings[n] && n < G_N_ELEMENTS(all) - 2; n++)
        all[n] = settings[n];
    char *set = g_strdup_printf("workload.loop=%s", loop);
    all[n++] = set;
    all[n] = NULL;
    dm_sim_config c;
    make_config(&c, 1, all);
    dm_world *w = dm_world_new(&c);
    GPtrArray *rows = run_csv_rows(w);
    loop_run r = { .st = *dm_world_get_stats(w), .failed = dm_world_failed(w) };
    double fault_end = (double)c.duration_us / 1e6;
    for (guint i = 0; i < rows->len; i++)
        r.rows += g_ascii_strtod(((gchar **)g_ptr_array_index(rows, i))[3], NULL) < fault_end;
    g_ptr_array_unref(rows);
    uint32_t count;
    const double *lat = dm_world_latencies(w, &count);
    double *sorted = g_memdup2(lat, count * sizeof *lat);
    qsort(sorted, count, sizeof *sorted, cmp_seconds);
    r.latency_p50 = count ? sorted[(count - 1) / 2] : -1;
    r.latency_max = count ? sorted[count - 1] : -1;
    g_free(sorted);
    end_world(w, &c);
    g_free(set);
    return r;
}

/* Every arrival is accounted for exactly once: refused by the core, dropped
 * at a full queue, abandoned in it, or a --csv row (an attempt, a lock()
 * refused outright, or a request that expired in the queue). */
static void check_accounting(const loop_run *r)
{
    CU_ASSERT_EQUAL(r->st.arrivals, r->st.ebusy + r->st.queue_dropped + r->st.queue_abandoned + r->rows);
    CU_ASSERT_EQUAL(r->st.api_errors, 0);
    CU_ASSERT_FALSE(r->failed);
}

/* Two clients (nodes 1 and 2) asking every 0.1 s for a lock held 100 s at a
 * time; the holder's node pauses from 5 s to 10 s, and its lease runs out
 * meanwhile, so the other client gets the lock and keeps it. Arrivals do
 * not depend on completions, so both loops see the same ones: 200 from the
 * running client, 150 from the paused one (its application is frozen too). */
static void test_open_loop_holder_blocks(void)
{
    static const char *const s[] = {
        "sim.nodes=3", "sim.duration=20", "swim.enabled=false", "clock.drift_ppm=0",
        "workload.clients=1,2", "workload.interarrival=0.1", "workload.interarrival_dist=fixed",
        "workload.hold=100", "workload.hold_dist=fixed", "workload.timeout=1", "workload.queue=4",
        "faults.schedule=at=5 pause=holder for=5",
        /* no lost margin: after its LOST the paused node would refuse
         * (EBUSY) a new lock of the name for the margin, which is not the
         * queueing this test counts */
        "core.lost_margin=0s", NULL };
    loop_run closed = run_loop(s, "closed"), open = run_loop(s, "open");
    CU_ASSERT_EQUAL(closed.st.pauses, 1);
    CU_ASSERT_EQUAL(open.st.arrivals, closed.st.arrivals);
    CU_ASSERT_TRUE(open.st.arrivals >= 345 && open.st.arrivals <= 351);
    check_accounting(&closed);
    check_accounting(&open);
    /* closed: the blocked client's extra arrivals are refused by the core */
    CU_ASSERT_TRUE(closed.st.ebusy >= 250);
    CU_ASSERT_EQUAL(closed.st.queue_dropped + closed.st.queue_abandoned, 0);
    /* open: they wait (4 at most), the rest are dropped, the waiting time out */
    CU_ASSERT_EQUAL(open.st.ebusy, 0);
    CU_ASSERT_TRUE(open.st.queue_dropped >= 200);
    CU_ASSERT_TRUE(open.st.timeouts >= 15);
    CU_ASSERT_TRUE(open.st.timeouts > closed.st.timeouts);
    /* A request asks with what is left of its timeout: none is granted later. */
    CU_ASSERT_TRUE(open.latency_max > 0.5 && open.latency_max <= 1.0);
}

/* One client asking every 0.1 s for a lock it holds 0.25 s: offered 2.5
 * times what it can be served. Closed, latency is the uncontended
 * acquisition; open, it includes the time in the queue, up to the 2 s
 * timeout, and the overflow is dropped. */
static void test_open_loop_latency_from_arrival(void)
{
    static const char *const s[] = {
        "sim.nodes=3", "sim.duration=20", "swim.enabled=false", "clock.drift_ppm=0",
        "faults.mode=none", "workload.clients=1", "workload.interarrival=0.1",
        "workload.interarrival_dist=fixed", "workload.hold=0.25", "workload.hold_dist=fixed",
        "workload.timeout=2", NULL };
    loop_run closed = run_loop(s, "closed"), open = run_loop(s, "open");
    check_accounting(&closed);
    check_accounting(&open);
    CU_ASSERT_EQUAL(open.st.arrivals, closed.st.arrivals);
    CU_ASSERT_TRUE(closed.latency_p50 >= 0 && closed.latency_p50 < 0.05);
    CU_ASSERT_TRUE(open.latency_p50 > 1.0 && open.latency_max <= 2.0);
    CU_ASSERT_EQUAL(closed.st.timeouts, 0);
    CU_ASSERT_TRUE(open.st.timeouts > 0 && open.st.queue_dropped > 0);
    /* More requests served than one at a time allows (0.25 s apiece)? No:
     * the same lock, the same holds -- the open loop only queues them. */
    CU_ASSERT_TRUE(open.st.acquisitions <= 20 / 0.25 + 3 + 1);
}


/* ---------------------------------------------------------------- shrinking */

/* The failure kinds (dm_shrink_failures) of the scenario a shrink wrote,
 * read back from its key file as `dmutex-sim --config FILE` would. */
static uint32_t replay_shrunk(const dm_shrink_result *r)
{
    char *ini = dm_shrink_to_ini(r, "shrunk.ini");
    dm_sim_config base, run;
    GError *err = NULL;
    dm_sim_config_defaults(&base);
    bool ok = dm_sim_config_load_data(&base, ini, "shrunk.ini", &err);
    if (!ok)
        fprintf(stderr, "shrunk.ini: %s\n%s", err->message, ini);
    CU_ASSERT_TRUE_FATAL(ok);
    CU_ASSERT_EQUAL(base.mode, DM_FAULTS_SCRIPTED);
    CU_ASSERT_TRUE_FATAL(dm_sim_config_resolve(&base, base.seed, &run, NULL));
    dm_world *w = dm_world_new(&run);
    dm_world_run(w);
    uint32_t failures = dm_shrink_failures(w);
    dm_world_free(w);
    dm_sim_config_clear(&run);
    dm_sim_config_clear(&base);
    g_free(ini);
    return failures;
}

/* The scripted hazard: its one step (the holder isolated) survives, the
 * cluster and the fault phase shrink, and the file replays to a mutex
 * violation. */
static void test_shrink_memberlist_hazard(void)
{
    dm_sim_config base;
    load_scenario_base(&base, "memberlist-hazard.ini");
    dm_shrink_opts o = { .max_trials = 100 };
    dm_shrink_result r;
    GError *err = NULL;
    bool ok = dm_shrink(&base, base.seed, 1, &o, &r, &err);
    CU_ASSERT_TRUE_FATAL(ok);
    CU_ASSERT_STRING_EQUAL(r.kind, "mutex");
    CU_ASSERT_TRUE(r.replay_same_hash);   /* already scripted: only node=holder became a number */
    CU_ASSERT_EQUAL(r.steps, 1);
    CU_ASSERT(r.nodes < 5);
    CU_ASSERT(r.config.duration_us < base.duration_us);
    CU_ASSERT(r.trials <= 100);
    CU_ASSERT_TRUE(replay_shrunk(&r) & 1u << 0);   /* mutex */
    dm_shrink_result_clear(&r);
    dm_sim_config_clear(&base);
}

/* Drawn faults: seed 11 of memberlist under crashes and partitions breaks
 * token order with 14 faults drawn; the recorded schedule replays to the
 * same kind, and a handful of steps remain that still do. */
static void test_shrink_drawn_faults(void)
{
    dm_sim_config base;
    GError *err = NULL;
    dm_sim_config_defaults(&base);
    CU_ASSERT_TRUE_FATAL(dm_sim_config_set(&base, "core.policy=memberlist", &err));
    CU_ASSERT_TRUE_FATAL(dm_sim_config_set(&base, "faults.mode=list", &err));
    CU_ASSERT_TRUE_FATAL(dm_sim_config_set(&base, "faults.kinds=crash,partition", &err));
    dm_shrink_opts o = { .max_trials = 100 };
    dm_shrink_result r;
    bool ok = dm_shrink(&base, 11, 1, &o, &r, &err);
    if (!ok)
        fprintf(stderr, "%s\n", err->message);
    CU_ASSERT_TRUE_FATAL(ok);
    CU_ASSERT_STRING_EQUAL(r.kind, "token");
    CU_ASSERT(r.steps_recorded > 5);
    CU_ASSERT(r.steps >= 1 && r.steps <= 5);
    CU_ASSERT_TRUE(replay_shrunk(&r) & 1u << 1);   /* token */
    dm_shrink_result_clear(&r);
    dm_sim_config_clear(&base);
}

/* A partition struck with the order another one used (order=) cuts the
 * same links, for every shape and pivot, whatever the stream would draw. */
static void test_partition_order_replays_sides(void)
{
    dm_prng a, b;
    dm_prng_seed(&a, 5);
    dm_prng_seed(&b, 6);
    for (uint32_t n = 3; n <= 9; n++)
        for (int shape = 0; shape < DM_SHAPE_COUNT; shape++)
            for (uint32_t pivot = 0; pivot <= n; pivot++) {
                uint32_t p = pivot == n ? DM_SIMNET_ANY : pivot;
                dm_simnet *drawn = make_net(n), *given = make_net(n);
                uint32_t *order = g_new(uint32_t, n);
                dm_simnet_partition_order(drawn, shape, p, NULL, &a, NULL, order);
                dm_simnet_partition_order(given, shape, p, order, &b, NULL, NULL);
                for (uint32_t i = 0; i < n; i++)
                    for (uint32_t j = 0; j < n; j++)
                        CU_ASSERT_EQUAL(dm_simnet_is_cut(drawn, i, j), dm_simnet_is_cut(given, i, j));
                g_free(order);
                dm_simnet_free(drawn);
                dm_simnet_free(given);
            }
}

/* A run that does not fail has nothing to shrink: an error, no result. */
static void test_shrink_clean_run(void)
{
    dm_sim_config base;
    dm_sim_config_defaults(&base);
    dm_shrink_opts o = { .max_trials = 10 };
    dm_shrink_result r;
    GError *err = NULL;
    CU_ASSERT_FALSE(dm_shrink(&base, 1, 2, &o, &r, &err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err->message, "no failing run"));
    g_error_free(err);
    dm_sim_config_clear(&base);
}

static CU_TestInfo shrink_tests[] = {
    { "shrink: memberlist hazard -> 1 step, fewer nodes, mutex", test_shrink_memberlist_hazard },
    { "shrink: drawn crashes and partitions -> <= 5 steps, token", test_shrink_drawn_faults },
    { "shrink: a clean run is an error", test_shrink_clean_run },
    { "partition order= strikes the same sides", test_partition_order_replays_sides },
    CU_TEST_INFO_NULL,
};

/* ---------------------------------------------------------------- main */

static CU_TestInfo unit_tests[] = {
    { "clock inverse", test_clock_inverse },
    { "clock rate change is continuous", test_clock_rate_change_is_continuous },
    { "partition shapes", test_shapes },
    { "loss and duplication rates", test_loss_and_dup_rates },
    { "config errors name the problem", test_config_errors },
    { "fault steps round-trip", test_steps_roundtrip },
    { "fault-kind registry", test_fault_registry },
    { "printed config replays the run", test_printed_config_replays },
    { "default.ini documents every key", test_default_ini_documents_every_key },
    CU_TEST_INFO_NULL,
};

static CU_TestInfo run_tests[] = {
    { "same seed, same trace and hash", test_same_seed_same_run },
    { "fault stream independent of workload", test_streams_are_independent },
    { "default run", test_default_run },
    { "outcomes matched by attempt (issue 9)", test_outcome_matched_by_attempt },
    { "latency 50 us .. lease/8, default timing (issue 9)", test_latency_sweep },
    { "bootstrap: first starts only; wipes recover", test_bootstrap_only_first_start },
    { "liveness bound scales with the queue (issue 12)", test_liveness_bound_scales_with_queue },
    { "open loop: arrivals keep their rate while the holder blocks", test_open_loop_holder_blocks },
    { "open loop: latency from arrival, timeouts and drops counted", test_open_loop_latency_from_arrival },
    { "clean scenarios", test_clean_scenarios },
    { "epoch: an operator's removals and additions (epoch-operator.ini)", test_epoch_operator },
    { "epoch: members beyond C_1, bound when added (epoch-grow.ini)", test_epoch_grow },
    { "epoch: a removed member that keeps running waits rejoin_delay", test_epoch_removed_waits_rejoin_delay },
    CU_TEST_INFO_NULL,
};

/* core.lost_margin under the swarm: no hold that ran out ends within the
 * margin of another node's grant. Seed 11 at 500 ms and seed 50 at 900 ms
 * failed while a holder released its arbiters as it reported LOST (a
 * RELEASE, then a REVOKED arbiter's): odd seeds run at 500 ms, even at 900. */
static void test_lost_margin_kept(void)
{
    static const char *const m500[] = { "faults.mode=swarm", "sim.duration=30", "core.lost_margin=500ms", NULL };
    static const char *const m900[] = { "faults.mode=swarm", "sim.duration=30", "core.lost_margin=900ms", NULL };
    uint64_t lost = 0, margin = 0;
    for (uint64_t seed = 1; seed <= 60; seed++) {
        dm_sim_config c;
        dm_world *w = run_world(&c, seed, seed % 2 ? m500 : m900);
        lost += dm_world_get_stats(w)->lost;
        margin += dm_checker_get_counts(dm_world_checker(w))->violations[DM_VIOLATION_MARGIN];
        end_world(w, &c);
    }
    CU_ASSERT_EQUAL(margin, 0);
    CU_ASSERT_TRUE(lost > 0);
}

static CU_TestInfo checker_tests[] = {
    { "lost margin kept under the swarm", test_lost_margin_kept },
    { "sabotage: GRANTED while not holding -> mutex", test_sabotage_mutex },
    { "injected and tapped messages are still checked", test_foreign_messages_checked },
    { "sabotage: old token reused -> token", test_sabotage_token },
    { "sabotage: deaf node -> liveness", test_sabotage_liveness },
    { "broken resource accepts stale write -> fence", test_broken_resource_fence },
    { "sabotage: member muted -> views disagree -> liveness", test_sabotage_views },
    { "drift beyond bound -> mutex", test_drift_beyond_bound },
    { "pause past lease -> stale write rejected", test_pause_past_lease },
    { "wiped arbiter: old bootstrap breaks, recovery holds", test_wipe_arbiter },
    { "requester-stall.ini: a lost arbiter stalls nobody", test_requester_stall },
    CU_TEST_INFO_NULL,
};

static CU_TestInfo membership_tests[] = {
    { "crash detection: suspect, dead, converge", test_crash_detection },
    { "paused node: false deaths, not connected", test_false_deaths_of_paused_node },
    { "membership off", test_membership_off },
    { "memberlist without faults is clean", test_memberlist_without_faults },
    { "memberlist hazard: memberlist breaks, ae and epoch hold", test_memberlist_hazard },
    { "a user's own policy runs in the simulator", test_users_own_policy },
    { "epoch: a member restarted sealed proposes again", test_epoch_restarted_sealed_member_proposes },
    { "epoch: drawn wipes wait for a crashed member that abstains", test_wipe_waits_for_crashed_abstainer },
    { "old news is not a false positive", test_stale_accusations_are_not_false },
    { "slow: reads late by the delay, in order, until for=", test_slow_delays_reads },
    { "slow: healthy members declared dead past a fixed timeout", test_slow_false_deaths_of_healthy },
    CU_TEST_INFO_NULL,
};

static CU_TestInfo churn_tests[] = {
    { "churn: ae availability = exact A(T), N = 7, p = 0.8", test_churn_availability },
    { "churn: p = 1 and p = 0", test_churn_extremes },
    { "timeline: rows, intervals, hash unchanged", test_timeline_rows },
    { "timeline: churn under memberlist, hash unchanged", test_timeline_churn },
    CU_TEST_INFO_NULL,
};

static CU_TestInfo swarm_tests[] = {
    { "ae: 1000 swarm seeds safe and live", test_swarm_ae_is_safe_and_live },
    { "epoch: 1000 swarm seeds safe and live", test_swarm_epoch_is_safe_and_live },
    { "ae: swarm over cluster sizes, codec on", test_swarm_sizes },
    { "ae: swarm with slow in every mix", test_swarm_slow_ae },
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    { "sim-units", NULL, NULL, NULL, NULL, unit_tests },
    { "sim-runs", NULL, NULL, NULL, NULL, run_tests },
    { "sim-checkers", NULL, NULL, NULL, NULL, checker_tests },
    { "sim-membership", NULL, NULL, NULL, NULL, membership_tests },
    { "sim-churn-timeline", NULL, NULL, NULL, NULL, churn_tests },
    { "sim-swarm", NULL, NULL, NULL, NULL, swarm_tests },
    { "sim-shrink", NULL, NULL, NULL, NULL, shrink_tests },
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return dm_test_main(argc, argv, suites);
}
