/* Tests of core/confkeys: the one configuration schema. Every key reads
 * back its own default, refuses out-of-range and malformed values with a
 * message naming the key and the value, durations parse in every unit,
 * aliases map to their keys, the cross-key rules hold. The "docs" suite
 * holds the schema against what is written about it: the simulator's
 * sim/scenarios/default.ini ([core] and [swim]: the same keys, the values
 * dmutex-sim defaults to) and net/README.md's generated key list (the same
 * keys, the core's defaults). */
#include <glib.h>
#include <string.h>

#include "confkeys.h"
#include "error.h"
#include "simconfig.h"
#include "testlib.h"

#define SEC ((int64_t)1000000)

static void test_defaults_read_back(void)
{
    dm_config d;
    dm_config_defaults(&d);
    CU_ASSERT_TRUE(dm_confkey_count() > 15);
    CU_ASSERT_PTR_NULL(dm_confkey_at(dm_confkey_count()));
    for (size_t i = 0; i < dm_confkey_count(); i++) {
        const dm_confkey *k = dm_confkey_at(i);
        char *def = dm_confkey_default(k);
        dm_config c;
        memset(&c, 0xa5, sizeof c);   /* every key's field must be overwritten */
        c.policy = NULL;
        c.quorum = NULL;
        char *msg = NULL;
        CU_ASSERT_EQUAL(dm_confkey_set(k, &c, def, &msg), 0);
        CU_ASSERT_PTR_NULL(msg);
        GString *again = g_string_new(NULL);
        dm_confkey_format(k, &c, again);
        CU_ASSERT_STRING_EQUAL(again->str, def);
        g_string_free(again, TRUE);
        CU_ASSERT_TRUE(k->help && *k->help);
        CU_ASSERT_TRUE(strcmp(k->group, "core") == 0 || strcmp(k->group, "swim") == 0);
        /* the key is found under its own spellings */
        char *full = dm_confkey_full_name(k), *flat = dm_confkey_flat_name(k);
        bool dep = true;
        CU_ASSERT_PTR_EQUAL(dm_confkey_lookup(k->group, k->name, &dep), k);
        CU_ASSERT_FALSE(dep);
        CU_ASSERT_PTR_EQUAL(dm_confkey_lookup_flat(full, NULL), k);
        CU_ASSERT_PTR_EQUAL(dm_confkey_lookup_flat(flat, NULL), k);
        g_free(full);
        g_free(flat);
        g_free(def);
    }
    CU_ASSERT_EQUAL(dm_confkeys_check(&d, NULL), 0);
}

/* The value, and the error message (which must name key and value). */
static void expect_bad(const char *key, const char *value)
{
    const dm_confkey *k = dm_confkey_lookup_flat(key, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(k);
    dm_config c, before;
    dm_config_defaults(&c);
    before = c;
    char *msg = NULL;
    CU_ASSERT_EQUAL(dm_confkey_set(k, &c, value, &msg), -DM_EINVAL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
    char *full = dm_confkey_full_name(k), *stripped = g_strstrip(g_strdup(value));
    if (!strstr(msg, full) || !strstr(msg, stripped))
        fprintf(stderr, "message for %s = '%s' does not name both: %s\n", key, value, msg);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, full));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, stripped));
    CU_ASSERT_EQUAL(memcmp(&c, &before, sizeof c), 0);   /* nothing changed */
    g_free(full);
    g_free(stripped);
    g_free(msg);
}

static void test_rejects(void)
{
    for (size_t i = 0; i < dm_confkey_count(); i++) {
        const dm_confkey *k = dm_confkey_at(i);
        char *full = dm_confkey_full_name(k);
        static const char *const junk[] = { "", "soon", "-1", "1x", "0x10", "nan", "inf", "1 2" };
        for (size_t j = 0; j < G_N_ELEMENTS(junk); j++)
            expect_bad(full, junk[j]);
        if (k->type == DM_CONFKEY_DURATION || k->type == DM_CONFKEY_UINT ||
            k->type == DM_CONFKEY_PPM) {
            GString *v = g_string_new(NULL);
            if (k->max < INT64_MAX) {
                if (k->type == DM_CONFKEY_DURATION)
                    g_string_printf(v, "%" G_GINT64_FORMAT "us", k->max + 1);
                else
                    g_string_printf(v, "%" G_GINT64_FORMAT, k->max + 1);
                expect_bad(full, v->str);
            }
            if (k->min > 0) {
                g_string_printf(v, k->type == DM_CONFKEY_DURATION ? "%" G_GINT64_FORMAT "us"
                                                                   : "%" G_GINT64_FORMAT,
                                k->min - 1);
                expect_bad(full, v->str);
            }
            g_string_free(v, TRUE);
        }
        g_free(full);
    }
    expect_bad("policy", "raft");
    expect_bad("quorum", "pyramid");
    expect_bad("swim.enabled", "maybe");
    expect_bad("drift_ppm", "500000");
    expect_bad("lease", "2 parsecs");
}

static void test_durations(void)
{
    static const struct {
        const char *text;
        int64_t us;
    } ok[] = {
        { "10s", 10 * SEC }, { "250ms", 250000 }, { "1.5s", 1500000 }, { "500us", 500 },
        { "2", 2 * SEC },    { "0.2", 200000 },   { "0.005", 5000 },   { "2m", 120 * SEC },
        { "1min", 60 * SEC }, { "1h", 3600 * SEC }, { " 3 ms ", 3000 }, { ".5s", 500000 },
        { "0", 0 },          { "1e3ms", SEC },    { "1000000000", 1000000000 * SEC },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
        int64_t us = -1;
        CU_ASSERT_EQUAL(dm_duration_parse(ok[i].text, &us), 0);
        CU_ASSERT_EQUAL(us, ok[i].us);
    }
    static const char *const bad[] = {
        "", "s", "soon", "-1s", "+1s", "3 parsecs", "1sec", "1 s s", "inf", "nan", "0x10s",
        "1000000001", "1e30", NULL,
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        int64_t us = 42;
        CU_ASSERT_EQUAL(dm_duration_parse(bad[i], &us), -DM_EINVAL);
        CU_ASSERT_EQUAL(us, 42);
    }
    CU_ASSERT_TRUE(dm_duration_is_bare("20"));
    CU_ASSERT_TRUE(dm_duration_is_bare(" 1.5 "));
    CU_ASSERT_FALSE(dm_duration_is_bare("20ms"));
    CU_ASSERT_FALSE(dm_duration_is_bare("soon"));
    static const struct {
        int64_t us;
        const char *text;
    } fmt[] = { { 0, "0s" }, { 2 * SEC, "2s" }, { 200000, "200ms" }, { 1500000, "1500ms" },
                { 500, "500us" }, { 1000001, "1000001us" } };
    for (size_t i = 0; i < G_N_ELEMENTS(fmt); i++) {
        GString *s = g_string_new(NULL);
        dm_duration_format(fmt[i].us, s);
        CU_ASSERT_STRING_EQUAL(s->str, fmt[i].text);
        int64_t back;
        CU_ASSERT_EQUAL(dm_duration_parse(s->str, &back), 0);
        CU_ASSERT_EQUAL(back, fmt[i].us);
        g_string_free(s, TRUE);
    }
}

static void test_aliases(void)
{
    bool dep = false;
    CU_ASSERT_PTR_EQUAL(dm_confkey_lookup_flat("membership", &dep),
                        dm_confkey_lookup("swim", "enabled", NULL));
    CU_ASSERT_TRUE(dep);
    CU_ASSERT_PTR_EQUAL(dm_confkey_lookup("sim", "policy", &dep), dm_confkey_lookup_flat("policy", NULL));
    CU_ASSERT_TRUE(dep);
    CU_ASSERT_PTR_EQUAL(dm_confkey_lookup("sim", "quorum", &dep), dm_confkey_lookup_flat("quorum", NULL));
    CU_ASSERT_TRUE(dep);
    size_t n = 0;
    const char *g, *name;
    const dm_confkey *to;
    for (size_t i = 0; i < 64 && dm_confkey_alias_at(i, &g, &name, &to); i++, n++) {
        CU_ASSERT_PTR_NOT_NULL(to);
        CU_ASSERT_PTR_EQUAL(dm_confkey_lookup(g, name, &dep), to);
        CU_ASSERT_TRUE(dep);
        CU_ASSERT_TRUE(dm_confkey_group_known(g));
    }
    CU_ASSERT_EQUAL(n, 3);
    /* an alias sets the key it stands for */
    dm_config c;
    dm_config_defaults(&c);
    CU_ASSERT_EQUAL(dm_confkey_set(dm_confkey_lookup_flat("membership", NULL), &c, "no", NULL), 0);
    CU_ASSERT_FALSE(c.membership);
    CU_ASSERT_PTR_NULL(dm_confkey_lookup_flat("swim.membership", NULL));
    CU_ASSERT_PTR_NULL(dm_confkey_lookup_flat("leese", NULL));
    CU_ASSERT_PTR_NULL(dm_confkey_lookup_flat("swim.", NULL));
    CU_ASSERT_PTR_NULL(dm_confkey_lookup_flat(NULL, NULL));
    CU_ASSERT_PTR_NULL(dm_confkey_lookup("core", "seed", NULL));   /* the driver's */
    CU_ASSERT_FALSE(dm_confkey_group_known("faults"));
}

static void test_values(void)
{
    dm_config c;
    dm_config_defaults(&c);
    CU_ASSERT_EQUAL(dm_confkey_set(dm_confkey_lookup_flat("policy", NULL), &c, "memberlist", NULL), 0);
    CU_ASSERT_PTR_EQUAL(c.policy, &dm_policy_memberlist_ops);
    CU_ASSERT_EQUAL(dm_confkey_set(dm_confkey_lookup_flat("quorum", NULL), &c, "grid", NULL), 0);
    CU_ASSERT_PTR_EQUAL(c.quorum, &dm_quorum_grid_ops);
    CU_ASSERT_EQUAL(dm_confkey_set(dm_confkey_lookup_flat("swim.probe_interval", NULL), &c, "300ms", NULL), 0);
    CU_ASSERT_EQUAL(c.swim.probe_interval_us, 300000);
    CU_ASSERT_EQUAL(dm_confkey_set(dm_confkey_lookup_flat("drift_ppm", NULL), &c, "500", NULL), 0);
    CU_ASSERT_EQUAL(c.drift_ppm, 500);
    CU_ASSERT_EQUAL(dm_confkey_set(dm_confkey_lookup_flat("bootstrap", NULL), &c, "yes", NULL), 0);
    CU_ASSERT_TRUE(c.bootstrap);
    CU_ASSERT_TRUE(dm_confkey_lookup_flat("bootstrap", NULL)->flags & DM_CONFKEY_PER_NODE);
    const dm_confkey *m = dm_confkey_lookup_flat("lost_margin", NULL);
    c.lease_us = 10 * G_USEC_PER_SEC;
    CU_ASSERT_EQUAL(dm_confkey_set(m, &c, "10%", NULL), 0);
    CU_ASSERT_EQUAL(c.lost_margin_us, DM_LOST_MARGIN_RELATIVE);
    CU_ASSERT_EQUAL(dm_config_lost_margin(&c), G_USEC_PER_SEC);
    c.lease_us = 3 * G_USEC_PER_SEC;           /* the share follows the lease */
    CU_ASSERT_EQUAL(dm_config_lost_margin(&c), 300000);
    GString *f = g_string_new(NULL);
    dm_confkey_format(m, &c, f);
    CU_ASSERT_STRING_EQUAL(f->str, "10%");
    CU_ASSERT_EQUAL(dm_confkey_set(m, &c, " 2.5 % ", NULL), 0);
    CU_ASSERT_EQUAL(dm_config_lost_margin(&c), 75000);
    CU_ASSERT_EQUAL(dm_confkey_set(m, &c, "750ms", NULL), 0);
    CU_ASSERT_EQUAL(dm_config_lost_margin(&c), 750000);
    g_string_truncate(f, 0);
    dm_confkey_format(m, &c, f);
    CU_ASSERT_STRING_EQUAL(f->str, "750ms");
    g_string_free(f, TRUE);
    char *bad = NULL;
    CU_ASSERT_EQUAL(dm_confkey_set(m, &c, "51%", &bad), -DM_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(bad ? strstr(bad, "percentage of the lease") : NULL);
    g_free(bad);
    CU_ASSERT_EQUAL(dm_confkey_set(m, &c, "-1%", NULL), -DM_EINVAL);
    CU_ASSERT_EQUAL(dm_confkey_set(m, &c, "%", NULL), -DM_EINVAL);
    CU_ASSERT_EQUAL(dm_config_lost_margin(&c), 750000);
    char *e = dm_confkey_expected(dm_confkey_lookup_flat("policy", NULL));
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "ae, memberlist"));
    g_free(e);
}

static void expect_check(void (*change)(dm_config *), const char *words)
{
    dm_config c;
    dm_config_defaults(&c);
    change(&c);
    char *msg = NULL;
    CU_ASSERT_EQUAL(dm_confkeys_check(&c, &msg), -DM_EINVAL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, words));
    g_free(msg);
}

static void slow_probe(dm_config *c) { c->swim.probe_timeout_us = c->swim.probe_interval_us; }
static void lonely_memberlist(dm_config *c) { c->policy = &dm_policy_memberlist_ops; c->membership = false; }
static void no_lease(dm_config *c) { c->lease_us = 0; }
static void deaf(dm_config *c) { c->swim.awareness_max = 65; }
/* 10 s shortened by 1 % drift each way leaves 9.802 s; half of it is the most. */
static void late_warning(dm_config *c) { c->lost_margin_us = 4901 * 1000; }
static void early_enough(dm_config *c) { c->lost_margin_us = 4900 * 1000; }

static void slow_rpc(dm_config *c) { c->lease_us = 100000; c->rpc_timeout_us = 5000000; }
static void rpc_just_over(dm_config *c) { c->rpc_timeout_us = c->lease_us / 4 + 1; }
static void slow_rto(dm_config *c) { c->lease_us = 400000; c->rpc_timeout_us = 100000; c->rto_min_us = 100001; }
static void big_share(dm_config *c) { c->lost_margin_us = DM_LOST_MARGIN_RELATIVE; c->lost_margin_ppm = 499000; }

static void test_check(void)
{
    expect_check(slow_probe, "swim.probe_timeout");
    expect_check(slow_probe, "(rule 'probe_timeout < probe_interval')");
    expect_check(lonely_memberlist, "swim.enabled");
    expect_check(lonely_memberlist, "(rule 'policy needs swim')");
    expect_check(slow_rpc, "core.lease (100ms) is too short for core.rpc_timeout (5s)");
    expect_check(slow_rpc, "(rule 'lease >= 4 x rpc_timeout')");
    expect_check(rpc_just_over, "(rule 'lease >= 4 x rpc_timeout')");
    expect_check(slow_rto, "(rule 'lease >= 4 x rto_min')");
    expect_check(big_share, "(rule 'lost_margin <= lease/2')");
    /* Every rule has a name, and the README says each. */
    char *path = g_build_filename(DM_TOP_SRCDIR, "net/README.md", NULL), *readme = NULL;
    CU_ASSERT_TRUE(g_file_get_contents(path, &readme, NULL, NULL));
    for (size_t i = 0; dm_confrule_at(i); i++) {
        g_autofree char *quoted = g_strdup_printf("`%s`", dm_confrule_at(i)->name);
        if (readme && !strstr(readme, quoted))
            fprintf(stderr, "net/README.md does not name the rule %s\n", quoted);
        CU_ASSERT_PTR_NOT_NULL(readme ? strstr(readme, quoted) : NULL);
    }
    g_free(readme);
    g_free(path);
    expect_check(no_lease, "core.lease: bad value '0s'");
    expect_check(deaf, "swim.awareness_max: bad value '65'");
    expect_check(late_warning, "core.lost_margin (4901ms) must be at most half");
    dm_config c;
    dm_config_defaults(&c);
    early_enough(&c);
    CU_ASSERT_EQUAL(dm_confkeys_check(&c, NULL), 0);
}

/* ---------------------------------------------------------------- docs */

static char *read_source(const char *rel)
{
    char *path = g_build_filename(DM_TOP_SRCDIR, rel, NULL), *data = NULL;
    if (!g_file_get_contents(path, &data, NULL, NULL))
        fprintf(stderr, "cannot read %s\n", path);
    g_free(path);
    return data;
}

/* default.ini's [core] and [swim] hold every key dmutex-sim offers, spelt
 * as the table spells it, each with the simulator's default. */
static void test_default_ini(void)
{
    char *data = read_source("sim/scenarios/default.ini");
    CU_ASSERT_PTR_NOT_NULL_FATAL(data);
    GKeyFile *kf = g_key_file_new();
    CU_ASSERT_TRUE_FATAL(g_key_file_load_from_data(kf, data, (gsize)-1, G_KEY_FILE_NONE, NULL));
    dm_sim_config sim;
    dm_sim_config_defaults(&sim);
    size_t listed = 0;
    for (size_t i = 0; i < dm_confkey_count(); i++) {
        const dm_confkey *k = dm_confkey_at(i);
        char *v = g_key_file_get_string(kf, k->group, k->name, NULL);
        if (k->flags & DM_CONFKEY_PER_NODE) {
            CU_ASSERT_PTR_NULL(v);
            g_free(v);
            continue;
        }
        if (!v) {
            fprintf(stderr, "default.ini: [%s] %s is missing\n", k->group, k->name);
            CU_FAIL("a key of the table is missing from default.ini");
            continue;
        }
        listed++;
        dm_config written = sim.core;
        CU_ASSERT_EQUAL(dm_confkey_set(k, &written, v, NULL), 0);
        GString *want = g_string_new(NULL), *got = g_string_new(NULL);
        dm_confkey_format(k, &sim.core, want);
        dm_confkey_format(k, &written, got);
        if (strcmp(want->str, got->str) != 0)
            fprintf(stderr, "default.ini: [%s] %s = %s, but dmutex-sim's default is %s\n", k->group,
                    k->name, v, want->str);
        CU_ASSERT_STRING_EQUAL(got->str, want->str);
        g_string_free(want, TRUE);
        g_string_free(got, TRUE);
        g_free(v);
    }
    /* ...and nothing else there */
    static const char *const groups[] = { "core", "swim" };
    size_t present = 0;
    for (size_t g = 0; g < G_N_ELEMENTS(groups); g++) {
        gchar **names = g_key_file_get_keys(kf, groups[g], NULL, NULL);
        for (gchar **n = names; n && *n; n++, present++) {
            bool dep = true;
            const dm_confkey *k = dm_confkey_lookup(groups[g], *n, &dep);
            if (!k || dep)
                fprintf(stderr, "default.ini: [%s] %s is not a key of the table\n", groups[g], *n);
            CU_ASSERT_TRUE(k && !dep);
        }
        g_strfreev(names);
    }
    CU_ASSERT_EQUAL(present, listed);
    dm_sim_config_clear(&sim);
    g_key_file_free(kf);
    g_free(data);
}

/* net/README.md's list between the confkeys markers (dmutexd
 * --print-config-keys writes it): one row per key, `flat name` first and
 * the `default` third. */
static void test_net_readme(void)
{
    char *data = read_source("net/README.md");
    CU_ASSERT_PTR_NOT_NULL_FATAL(data);
    const char *begin = strstr(data, "<!-- confkeys begin -->");
    const char *end = begin ? strstr(begin, "<!-- confkeys end -->") : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(end);
    char *block = g_strndup(begin, (gsize)(end - begin));
    gchar **lines = g_strsplit(block, "\n", -1);
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    for (gchar **l = lines; *l; l++) {
        if (!g_str_has_prefix(*l, "| `"))
            continue;
        gchar **cells = g_strsplit(*l, "|", -1);
        CU_ASSERT_TRUE_FATAL(g_strv_length(cells) >= 5);
        char *name = g_strstrip(cells[1]), *def = g_strstrip(cells[3]);
        size_t nl = strlen(name), dl = strlen(def);
        if (nl > 2 && dl >= 2 && name[nl - 1] == '`' && def[0] == '`' && def[dl - 1] == '`')
            g_hash_table_insert(seen, g_strndup(name + 1, nl - 2), g_strndup(def + 1, dl - 2));
        else
            CU_FAIL("a row of the key list is not | `key` | type | `default` | ...");
        g_strfreev(cells);
    }
    for (size_t i = 0; i < dm_confkey_count(); i++) {
        const dm_confkey *k = dm_confkey_at(i);
        char *flat = dm_confkey_flat_name(k), *def = dm_confkey_default(k);
        const char *doc = g_hash_table_lookup(seen, flat);
        if (!doc || strcmp(doc, def) != 0)
            fprintf(stderr, "net/README.md: key %s: documented %s, the table says default %s\n", flat,
                    doc ? doc : "(missing)", def);
        CU_ASSERT_TRUE(doc && strcmp(doc, def) == 0);
        g_hash_table_remove(seen, flat);
        g_free(flat);
        g_free(def);
    }
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, seen);
    while (g_hash_table_iter_next(&it, &key, NULL))
        fprintf(stderr, "net/README.md: documents %s, which is not in the table\n", (char *)key);
    CU_ASSERT_EQUAL(g_hash_table_size(seen), 0);
    g_hash_table_destroy(seen);
    g_strfreev(lines);
    g_free(block);
    g_free(data);
}

/* The whole list between the markers, not only the defaults: it is
 * `dmutexd --print-config-keys`, byte for byte (ranges, types and help
 * drifted once while the defaults agreed). */
static void test_net_readme_whole(void)
{
    char *data = read_source("net/README.md");
    CU_ASSERT_PTR_NOT_NULL_FATAL(data);
    const char *begin = strstr(data, "<!-- confkeys begin -->\n");
    const char *end = begin ? strstr(begin, "<!-- confkeys end -->") : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(end);
    begin += strlen("<!-- confkeys begin -->\n");
    char *doc = g_strndup(begin, (gsize)(end - begin));
    char *argv[] = { DM_TOP_BUILDDIR "/dmutexd", "--print-config-keys", NULL };
    char *out = NULL;
    gint status = -1;
    GError *err = NULL;
    if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL, &status, &err)) {
        fprintf(stderr, "cannot run %s: %s\n", argv[0], err->message);
        g_error_free(err);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT_TRUE(g_spawn_check_wait_status(status, NULL));
    if (strcmp(out, doc) != 0) {
        gchar **want = g_strsplit(out, "\n", -1), **have = g_strsplit(doc, "\n", -1);
        for (guint i = 0; want[i] || have[i]; i++) {
            if (want[i] && have[i] && strcmp(want[i], have[i]) == 0)
                continue;
            fprintf(stderr, "net/README.md's key list line %u:\n  is:        %s\n  generated: %s\n", i + 1,
                    have[i] ? have[i] : "(none)", want[i] ? want[i] : "(none)");
            if (!want[i] || !have[i])
                break;
        }
        fprintf(stderr, "replace the lines between the confkeys markers in net/README.md with the output of "
                        "./dmutexd --print-config-keys\n");
        g_strfreev(want);
        g_strfreev(have);
    }
    CU_ASSERT_STRING_EQUAL(out, doc);
    g_free(out);
    g_free(doc);
    g_free(data);
}

static CU_TestInfo schema_tests[] = {
    { "defaults read back", test_defaults_read_back },
    { "bad values name the key", test_rejects },
    { "durations", test_durations },
    { "aliases", test_aliases },
    { "values", test_values },
    { "cross-key check", test_check },
    CU_TEST_INFO_NULL,
};

static CU_TestInfo doc_tests[] = {
    { "default.ini [core] [swim]", test_default_ini },
    { "net/README.md key list", test_net_readme },
    { "net/README.md key list, whole (dmutexd --print-config-keys)", test_net_readme_whole },
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    { "confkeys", NULL, NULL, NULL, NULL, schema_tests },
    { "confkeys-docs", NULL, NULL, NULL, NULL, doc_tests },
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return dm_test_main(argc, argv, suites);
}
