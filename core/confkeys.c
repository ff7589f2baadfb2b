/* dmutex core: the configuration schema (see confkeys.h). The table below
 * is the one list of dm_config keys; ranges are what the node and the
 * membership module accept without overflowing their time arithmetic,
 * tightened where a larger value can only be a mistake. */
#include "confkeys.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "error.h"
#include "message.h"
#include "policy.h"
#include "quorum.h"

#define US_PER_S ((int64_t)1000000)

#define CORE(field) offsetof(dm_config, field)
#define SWIM(field) offsetof(dm_config, swim.field)

static const dm_confkey keys[] = {
    { "core", "policy", DM_CONFKEY_POLICY, CORE(policy), 0, 0, DM_CONFKEY_AGREE,
      "what a view change does to the quorums (core/policy.h)" },
    { "core", "quorum", DM_CONFKEY_QUORUM, CORE(quorum), 0, 0, DM_CONFKEY_AGREE,
      "the quorum system (core/quorum.h)" },
    { "core", "lease", DM_CONFKEY_DURATION, CORE(lease_us), 1, DM_DURATION_MAX_US, DM_CONFKEY_AGREE,
      "arbiter lease" },
    { "core", "rpc_timeout", DM_CONFKEY_DURATION, CORE(rpc_timeout_us), 1, DM_DURATION_MAX_US, 0,
      "initial retransmission timeout, until a round trip to the peer is measured" },
    { "core", "rto_min", DM_CONFKEY_DURATION, CORE(rto_min_us), 1, DM_DURATION_MAX_US, 0,
      "lower clamp of the adaptive timeout (the upper is a third of the lease)" },
    { "core", "suspect", DM_CONFKEY_DURATION, CORE(suspect_us), 0, DM_DURATION_MAX_US, 0,
      "how long an unresponsive arbiter is avoided" },
    { "core", "drift_ppm", DM_CONFKEY_PPM, CORE(drift_ppm), 0, 499999, DM_CONFKEY_AGREE,
      "bound on clock rate error the core assumes" },
    { "core", "lost_margin", DM_CONFKEY_MARGIN, CORE(lost_margin_us), 0, DM_DURATION_MAX_US, 0,
      "the holder reports LOST at least this long before another node can be granted: a duration, or a percentage of the lease (at most half the lease)" },
    { "core", "token_stride", DM_CONFKEY_UINT, CORE(token_stride), 1, UINT32_MAX, 0,
      "fencing tokens reserved per persist" },
    { "core", "spread", DM_CONFKEY_BOOL, CORE(spread), 0, 1, DM_CONFKEY_AGREE,
      "place the quorum system's members per lock name, so that arbiters' load spreads (the same on every member)" },
    { "core", "lock_delay", DM_CONFKEY_DURATION, CORE(lock_delay_us), 0, DM_DURATION_MAX_US, 0,
      "after a holder's grant ended without a release (lease ran out, revoked), no grant of that lock for this long (0: off)" },
    { "core", "grant_cache", DM_CONFKEY_BOOL, CORE(grant_cache), 0, 1, 0,
      "sticky grants: an uncontended unlock keeps the quorum's grants, and a lock of the name soon after re-uses them without a network round (per node)" },
    { "core", "grant_cache_idle", DM_CONFKEY_DURATION, CORE(grant_cache_idle_us), 1, DM_DURATION_MAX_US, 0,
      "grant_cache: how long kept grants wait for a re-use at most (never past the next renewal)" },
    { "core", "reconfig_delay", DM_CONFKEY_DURATION, CORE(reconfig_delay_us), 0, DM_DURATION_MAX_US, 0,
      "epoch policy: a member out of view this long leaves the configuration" },
    { "core", "rejoin_delay", DM_CONFKEY_DURATION, CORE(rejoin_delay_us), 0, DM_DURATION_MAX_US, 0,
      "epoch policy: a member back in view this long rejoins it" },
    { "core", "reconfig_min_size", DM_CONFKEY_UINT, CORE(reconfig_min_size), 1, 64, 0,
      "epoch policy: no change leaves fewer members" },
    { "core", "reconfig_interval", DM_CONFKEY_DURATION, CORE(reconfig_interval_us), 0,
      DM_DURATION_MAX_US, 0, "epoch policy: a node starts at most one change per this" },
    { "core", "reconfig_auto", DM_CONFKEY_BOOL, CORE(reconfig_auto), 0, 1, 0,
      "epoch policy: SWIM's view changes the configuration; false: only operators do" },
    { "core", "bootstrap", DM_CONFKEY_BOOL, CORE(bootstrap), 0, 1, DM_CONFKEY_PER_NODE,
      "this node never ran before (a new cluster's first start): grant at once" },
    { "swim", "enabled", DM_CONFKEY_BOOL, CORE(membership), 0, 1, DM_CONFKEY_AGREE,
      "run SWIM membership (required by policies that rebuild on view changes)" },
    { "swim", "probe_interval", DM_CONFKEY_DURATION, SWIM(probe_interval_us), 1, 3600 * US_PER_S, 0,
      "protocol period: one member probed per period" },
    { "swim", "probe_timeout", DM_CONFKEY_DURATION, SWIM(probe_timeout_us), 1, 3600 * US_PER_S, 0,
      "no ACK within this: indirect probes (below probe_interval)" },
    { "swim", "indirect_checks", DM_CONFKEY_UINT, SWIM(indirect_checks), 0, DM_MAX_MEMBERS - 1, 0,
      "members asked to probe indirectly" },
    { "swim", "suspicion_mult", DM_CONFKEY_UINT, SWIM(suspicion_mult), 1, 1000, 0,
      "suspicion timeout floor, in probe intervals x max(1, log10 n)" },
    { "swim", "suspicion_max_mult", DM_CONFKEY_UINT, SWIM(suspicion_max_mult), 1, 1000, 0,
      "suspicion timeout start, in multiples of the floor" },
    { "swim", "retransmit_mult", DM_CONFKEY_UINT, SWIM(retransmit_mult), 1, 1000, 0,
      "each update is piggybacked this x ceil(log10(n + 1)) times" },
    { "swim", "push_pull_interval", DM_CONFKEY_DURATION, SWIM(push_pull_interval_us), 0,
      1000000 * US_PER_S, 0, "full-state exchange with one random member (0: never)" },
    { "swim", "awareness_max", DM_CONFKEY_UINT, SWIM(awareness_max), 1, 64, 0,
      "Lifeguard local health bound (1: off)" },
    { "swim", "dead_probe_every", DM_CONFKEY_UINT, SWIM(dead_probe_every), 0, 1000000, 0,
      "probe a member believed dead once every this many periods (0: never)" },
    { "swim", "gossip_interval", DM_CONFKEY_DURATION, SWIM(gossip_interval_us), 0,
      3600 * US_PER_S, 0, "gossip pending updates this often (0: no gossip, piggybacking only)" },
    { "swim", "gossip_nodes", DM_CONFKEY_UINT, SWIM(gossip_nodes), 0, DM_MAX_MEMBERS - 1, 0,
      "members each gossip round goes to (0: no gossip)" },
    { "swim", "gossip_to_dead", DM_CONFKEY_DURATION, SWIM(gossip_to_dead_us), 0,
      1000000 * US_PER_S, 0, "a member DEAD this long gets no more gossip" },
    { "swim", "lifeguard", DM_CONFKEY_BOOL, SWIM(lifeguard), 0, 1, 0,
      "Lifeguard: local health, NACKs, dynamic suspicion (false: classic SWIM, fixed timeout)" },
    { "swim", "tcp_fallback", DM_CONFKEY_BOOL, SWIM(tcp_fallback), 0, 1, 0,
      "also ping a member over a stream when its probe goes indirect (memberlist's TCP ping)" },
};

#undef CORE
#undef SWIM

/* Older spellings: the simulator's [sim] policy/quorum, dmutexd's
 * `membership`. */
static const struct alias {
    const char *group, *name;
    const char *to_group, *to_name;
} aliases[] = {
    { "sim", "policy", "core", "policy" },
    { "sim", "quorum", "core", "quorum" },
    { "core", "membership", "swim", "enabled" },
};

size_t dm_confkey_count(void)
{
    return G_N_ELEMENTS(keys);
}

const dm_confkey *dm_confkey_at(size_t i)
{
    return i < G_N_ELEMENTS(keys) ? &keys[i] : NULL;
}

static const dm_confkey *find(const char *group, const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
        if (strcmp(keys[i].group, group) == 0 && strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

const dm_confkey *dm_confkey_lookup(const char *group, const char *name, bool *deprecated)
{
    if (deprecated)
        *deprecated = false;
    if (!group || !name)
        return NULL;
    const dm_confkey *k = find(group, name);
    if (k)
        return k;
    for (size_t i = 0; i < G_N_ELEMENTS(aliases); i++)
        if (strcmp(aliases[i].group, group) == 0 && strcmp(aliases[i].name, name) == 0) {
            if (deprecated)
                *deprecated = true;
            return find(aliases[i].to_group, aliases[i].to_name);
        }
    return NULL;
}

const dm_confkey *dm_confkey_lookup_flat(const char *key, bool *deprecated)
{
    if (deprecated)
        *deprecated = false;
    if (!key)
        return NULL;
    const char *dot = strchr(key, '.');
    if (!dot)
        return dm_confkey_lookup("core", key, deprecated);
    char *group = g_strndup(key, (gsize)(dot - key));
    const dm_confkey *k = dm_confkey_lookup(group, dot + 1, deprecated);
    g_free(group);
    return k;
}

bool dm_confkey_group_known(const char *group)
{
    for (size_t i = 0; group && i < G_N_ELEMENTS(keys); i++)
        if (strcmp(keys[i].group, group) == 0)
            return true;
    for (size_t i = 0; group && i < G_N_ELEMENTS(aliases); i++)
        if (strcmp(aliases[i].group, group) == 0)
            return true;
    return false;
}

bool dm_confkey_alias_at(size_t i, const char **group, const char **name, const dm_confkey **to)
{
    if (i >= G_N_ELEMENTS(aliases))
        return false;
    *group = aliases[i].group;
    *name = aliases[i].name;
    *to = find(aliases[i].to_group, aliases[i].to_name);
    return true;
}

char *dm_confkey_full_name(const dm_confkey *k)
{
    return g_strdup_printf("%s.%s", k->group, k->name);
}

char *dm_confkey_flat_name(const dm_confkey *k)
{
    return strcmp(k->group, "core") == 0 ? g_strdup(k->name) : dm_confkey_full_name(k);
}

const char *dm_confkey_type_name(dm_confkey_type t)
{
    static const char *const names[] = { "duration", "uint", "ppm", "bool", "policy", "quorum",
                                         "margin" };
    return (size_t)t < G_N_ELEMENTS(names) ? names[t] : "?";
}

/* ---------------------------------------------------------------- durations */

static const struct unit {
    const char *name;
    double us;
} units[] = {
    { "us", 1 }, { "ms", 1e3 }, { "s", 1e6 }, { "m", 60e6 }, { "min", 60e6 }, { "h", 3600e6 },
};

/* The end of the plain decimal `s` starts with (digits, a fraction, an
 * exponent), its value in *v; NULL when there is none. Scanned by hand
 * because g_ascii_strtod also takes signs, hex, inf and nan. */
static const char *number_end(const char *s, double *v)
{
    const char *p = s;
    while (g_ascii_isdigit(*p))
        p++;
    if (*p == '.')
        for (p++; g_ascii_isdigit(*p);)
            p++;
    if (p == s || (p == s + 1 && *s == '.'))
        return NULL;
    if (*p == 'e' || *p == 'E') {
        const char *q = p + 1 + (p[1] == '+' || p[1] == '-');
        if (g_ascii_isdigit(*q)) {
            while (g_ascii_isdigit(*q))
                q++;
            p = q;
        }
    }
    char *num = g_strndup(s, (gsize)(p - s));
    *v = g_ascii_strtod(num, NULL);
    g_free(num);
    return isfinite(*v) ? p : NULL;
}

bool dm_duration_is_bare(const char *text)
{
    double v;
    while (text && g_ascii_isspace(*text))
        text++;
    const char *end = text ? number_end(text, &v) : NULL;
    while (end && g_ascii_isspace(*end))
        end++;
    return end && *end == '\0';
}

int dm_duration_parse(const char *text, int64_t *us)
{
    if (!text)
        return -DM_EINVAL;
    while (g_ascii_isspace(*text))
        text++;
    double v;
    const char *end = number_end(text, &v);
    if (!end)
        return -DM_EINVAL;
    while (g_ascii_isspace(*end))
        end++;
    size_t len = strlen(end);
    while (len > 0 && g_ascii_isspace(end[len - 1]))
        len--;
    double mult = len == 0 ? 1e6 : 0;
    for (size_t i = 0; i < G_N_ELEMENTS(units) && mult == 0; i++)
        if (strlen(units[i].name) == len && strncmp(end, units[i].name, len) == 0)
            mult = units[i].us;
    if (mult == 0 || v * mult > (double)DM_DURATION_MAX_US)
        return -DM_EINVAL;
    *us = llround(v * mult);
    return 0;
}

void dm_duration_format(int64_t us, GString *out)
{
    if (us % US_PER_S == 0)
        g_string_append_printf(out, "%" PRId64 "s", us / US_PER_S);
    else if (us % 1000 == 0)
        g_string_append_printf(out, "%" PRId64 "ms", us / 1000);
    else
        g_string_append_printf(out, "%" PRId64 "us", us);
}

/* ---------------------------------------------------------------- values */

static void *field(const dm_confkey *k, dm_config *cfg)
{
    return (char *)cfg + k->offset;
}

static const void *cfield(const dm_confkey *k, const dm_config *cfg)
{
    return (const char *)cfg + k->offset;
}

static void format_number(const dm_confkey *k, int64_t v, GString *out)
{
    if (k->type == DM_CONFKEY_DURATION || k->type == DM_CONFKEY_MARGIN)
        dm_duration_format(v, out);
    else
        g_string_append_printf(out, "%" PRId64, v);
}

char *dm_confkey_expected(const dm_confkey *k)
{
    GString *s = g_string_new(NULL);
    switch (k->type) {
    case DM_CONFKEY_DURATION:
        g_string_append(s, "a duration such as 10s, 250ms or 500us (bare: seconds) in ");
        break;
    case DM_CONFKEY_MARGIN:
        g_string_append(s, "a percentage of the lease (0%..50%) or a duration in ");
        break;
    case DM_CONFKEY_UINT:
        g_string_append(s, "an integer in ");
        break;
    case DM_CONFKEY_PPM:
        g_string_append(s, "parts per million in ");
        break;
    case DM_CONFKEY_BOOL:
        g_string_append(s, "true or false");
        return g_string_free(s, FALSE);
    case DM_CONFKEY_POLICY:
    case DM_CONFKEY_QUORUM: {
        char *all = k->type == DM_CONFKEY_POLICY ? dm_policy_names(", ") : dm_quorum_names(", ");
        g_string_append_printf(s, "one of %s", all);
        g_free(all);
        return g_string_free(s, FALSE);
    }
    }
    format_number(k, k->min, s);
    g_string_append(s, "..");
    format_number(k, k->max, s);
    return g_string_free(s, FALSE);
}

static int bad_value(const dm_confkey *k, const char *text, char **msg)
{
    if (msg) {
        char *exp = dm_confkey_expected(k);
        *msg = g_strdup_printf("%s.%s: bad value '%s' (expected %s)", k->group, k->name, text, exp);
        g_free(exp);
    }
    return -DM_EINVAL;
}

static int64_t get_number(const dm_confkey *k, const dm_config *cfg)
{
    const void *p = cfield(k, cfg);
    if (k->type == DM_CONFKEY_MARGIN)
        return dm_config_lost_margin(cfg);
    return k->type == DM_CONFKEY_DURATION ? *(const int64_t *)p : (int64_t) * (const uint32_t *)p;
}

int dm_confkey_set(const dm_confkey *k, dm_config *cfg, const char *text, char **msg)
{
    char *s = g_strstrip(g_strdup(text ? text : ""));
    int rc = 0;
    int64_t v = 0;
    guint64 u;
    size_t len = strlen(s);
    switch (k->type) {
    case DM_CONFKEY_MARGIN:
        if (len > 0 && s[len - 1] == '%') {
            /* A share of the lease, kept as such: it follows the lease
             * wherever that is set. */
            double pct;
            s[len - 1] = '\0';
            const char *end = number_end(g_strchomp(s), &pct);
            bool number = end && *end == '\0';
            s[len - 1] = '%';
            if (!number || pct > 50) {
                rc = -DM_EINVAL;
                break;
            }
            cfg->lost_margin_us = DM_LOST_MARGIN_RELATIVE;
            cfg->lost_margin_ppm = (uint32_t)llround(pct * 1e4);
            g_free(s);
            return 0;
        }
        rc = dm_duration_parse(s, &v);
        break;
    case DM_CONFKEY_DURATION:
        rc = dm_duration_parse(s, &v);
        break;
    case DM_CONFKEY_UINT:
    case DM_CONFKEY_PPM:
        if (g_ascii_string_to_unsigned(s, 10, 0, UINT32_MAX, &u, NULL))
            v = (int64_t)u;
        else
            rc = -DM_EINVAL;
        break;
    case DM_CONFKEY_BOOL: {
        static const char *const yes[] = { "true", "yes", "1" }, *const no[] = { "false", "no", "0" };
        rc = -DM_EINVAL;
        for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
            if (strcmp(s, yes[i]) == 0)
                v = 1, rc = 0;
            if (strcmp(s, no[i]) == 0)
                v = 0, rc = 0;
        }
        break;
    }
    case DM_CONFKEY_POLICY: {
        const dm_policy_ops *p;
        if ((rc = dm_policy_parse(s, &p)) == 0)
            *(const dm_policy_ops **)field(k, cfg) = p;
        break;
    }
    case DM_CONFKEY_QUORUM: {
        const dm_quorum_ops *q = dm_quorum_lookup(s);
        if (q)
            *(const dm_quorum_ops **)field(k, cfg) = q;
        else
            rc = -DM_EINVAL;
        break;
    }
    }
    if (rc == 0 && k->type != DM_CONFKEY_POLICY && k->type != DM_CONFKEY_QUORUM) {
        if (v < k->min || v > k->max)
            rc = -DM_EINVAL;
        else if (k->type == DM_CONFKEY_DURATION || k->type == DM_CONFKEY_MARGIN)
            *(int64_t *)field(k, cfg) = v;
        else if (k->type == DM_CONFKEY_BOOL)
            *(bool *)field(k, cfg) = v != 0;
        else
            *(uint32_t *)field(k, cfg) = (uint32_t)v;
    }
    if (rc < 0)
        bad_value(k, s, msg);
    g_free(s);
    return rc;
}

void dm_confkey_format(const dm_confkey *k, const dm_config *cfg, GString *out)
{
    const void *p = cfield(k, cfg);
    switch (k->type) {
    case DM_CONFKEY_MARGIN:
        if (cfg->lost_margin_us == DM_LOST_MARGIN_RELATIVE) {
            char num[G_ASCII_DTOSTR_BUF_SIZE];
            g_ascii_formatd(num, sizeof num, "%g", cfg->lost_margin_ppm / 1e4);
            g_string_append_printf(out, "%s%%", num);
            return;
        }
        format_number(k, cfg->lost_margin_us, out);
        return;
    case DM_CONFKEY_DURATION:
    case DM_CONFKEY_UINT:
    case DM_CONFKEY_PPM:
        format_number(k, get_number(k, cfg), out);
        return;
    case DM_CONFKEY_BOOL:
        g_string_append(out, *(const bool *)p ? "true" : "false");
        return;
    case DM_CONFKEY_POLICY:
        g_string_append(out, dm_policy_name(*(const dm_policy_ops *const *)p));
        return;
    case DM_CONFKEY_QUORUM: {
        const dm_quorum_ops *q = *(const dm_quorum_ops *const *)p;
        g_string_append(out, q ? q->name : dm_quorum_builtin(0)->name);
        return;
    }
    }
}

char *dm_confkey_default(const dm_confkey *k)
{
    dm_config d;
    dm_config_defaults(&d);
    GString *s = g_string_new(NULL);
    dm_confkey_format(k, &d, s);
    return g_string_free(s, FALSE);
}

/* ---------------------------------------------------------------- rules */

static char *dur(int64_t us)
{
    GString *s = g_string_new(NULL);
    dm_duration_format(us, s);
    return g_string_free(s, FALSE);
}

/* Each rule returns NULL when cfg keeps it, else what is wrong (newly
 * allocated), which dm_confkeys_check follows with the rule's name. */
static char *rule_probe(const dm_config *cfg)
{
    const dm_swim_config *sw = &cfg->swim;
    if (sw->probe_timeout_us < sw->probe_interval_us)
        return NULL;
    g_autofree char *t = dur(sw->probe_timeout_us), *p = dur(sw->probe_interval_us);
    return g_strdup_printf("swim.probe_timeout (%s) must be below swim.probe_interval (%s)", t, p);
}

static char *rule_margin(const dm_config *cfg)
{
    if (dm_config_lost_margin(cfg) <= dm_config_lost_margin_max(cfg))
        return NULL;
    g_autofree char *m = dur(dm_config_lost_margin(cfg)), *l = dur(cfg->lease_us),
                    *x = dur(dm_config_lost_margin_max(cfg));
    return g_strdup_printf("core.lost_margin (%s) must be at most half the lease the holder trusts "
                           "(core.lease %s shortened by core.drift_ppm): at most %s", m, l, x);
}

static char *rule_rpc(const dm_config *cfg)
{
    if (cfg->rpc_timeout_us <= cfg->lease_us / 4)
        return NULL;
    g_autofree char *l = dur(cfg->lease_us), *r = dur(cfg->rpc_timeout_us);
    return g_strdup_printf("core.lease (%s) is too short for core.rpc_timeout (%s): a holder renews "
                           "every third of its lease and re-sends a lost renewal after rpc_timeout",
                           l, r);
}

static char *rule_rto_min(const dm_config *cfg)
{
    if (cfg->rto_min_us <= cfg->lease_us / 4)
        return NULL;
    g_autofree char *l = dur(cfg->lease_us), *r = dur(cfg->rto_min_us);
    return g_strdup_printf("core.lease (%s) is too short for core.rto_min (%s): no retransmission "
                           "could renew a lease in time", l, r);
}

static char *rule_membership(const dm_config *cfg)
{
    if (!cfg->policy || !cfg->policy->needs_membership || cfg->membership)
        return NULL;
    return g_strdup_printf("core.policy = %s needs swim.enabled = true (membership)", cfg->policy->name);
}

static const dm_confrule rules[] = {
    { "probe_timeout < probe_interval", rule_probe },
    { "lost_margin <= lease/2", rule_margin },
    { "lease >= 4 x rpc_timeout", rule_rpc },
    { "lease >= 4 x rto_min", rule_rto_min },
    { "policy needs swim", rule_membership },
};

const dm_confrule *dm_confrule_at(size_t i)
{
    return i < G_N_ELEMENTS(rules) ? &rules[i] : NULL;
}

int dm_confkeys_check(const dm_config *cfg, char **msg)
{
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
        const dm_confkey *k = &keys[i];
        if (k->type == DM_CONFKEY_BOOL || k->type == DM_CONFKEY_POLICY ||
            k->type == DM_CONFKEY_QUORUM)
            continue;
        int64_t v = get_number(k, cfg);
        if (v < k->min || v > k->max) {
            GString *s = g_string_new(NULL);
            format_number(k, v, s);
            int rc = bad_value(k, s->str, msg);
            g_string_free(s, TRUE);
            return rc;
        }
    }
    for (size_t i = 0; i < G_N_ELEMENTS(rules); i++) {
        char *why = rules[i].check(cfg);
        if (!why)
            continue;
        if (msg)
            *msg = g_strdup_printf("%s (rule '%s')", why, rules[i].name);
        g_free(why);
        return -DM_EINVAL;
    }
    return 0;
}
