#include "simconfig.h"

#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "confkeys.h"
#include "fault.h"
#include "prng.h"
#include "simclock.h"

G_DEFINE_QUARK(dm-sim-error-quark, dm_sim_error)

/* With no scenario file: crash whoever holds the lock and bring it back,
 * then split the cluster in two for a while. */
#define DEFAULT_SCHEDULE "at=10 crash=holder for=15; at=30 partition=halves for=10"

#define USEC ((int64_t)G_USEC_PER_SEC)

void dm_sim_config_defaults(dm_sim_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->nodes = 5;
    cfg->seed = 1;
    cfg->duration_us = 60 * USEC;
    cfg->codec = false;

    /* The core's defaults, but for timings scaled to the simulated
     * network's milliseconds, so that faults play out within a run. */
    dm_config_defaults(&cfg->core);
    cfg->core.lease_us = 2 * USEC;
    cfg->core.rpc_timeout_us = 200 * 1000;
    cfg->core.rto_min_us = 5 * 1000;
    cfg->core.suspect_us = 2 * USEC;
    /* SWIM declares a crashed member dead within seconds here: the epoch
     * policy's delays are set to match. */
    cfg->core.reconfig_delay_us = 2 * USEC;
    cfg->core.rejoin_delay_us = 4 * USEC;
    cfg->core.reconfig_interval_us = 2 * USEC;

    cfg->clock_drift_ppm = DM_AUTO;
    cfg->clock_offset_us = 1000 * USEC;

    cfg->net.latency_us = 1000;
    cfg->net.jitter_us = 500;
    cfg->net.jitter_dist = DM_JITTER_EXPONENTIAL;
    cfg->net.jitter_sigma = 1.0;
    cfg->net.link_spread = 0.5;
    cfg->net.loss = DM_AUTO;
    cfg->net.dup = DM_AUTO;
    cfg->net.reorder = DM_AUTO;
    cfg->net.reorder_delay_us = 5000;
    cfg->pause_buffer = 4096;

    cfg->locks = 1;
    cfg->load = 0.5;
    cfg->interarrival_us = DM_AUTO;
    cfg->interarrival_dist = DM_HOLD_EXPONENTIAL;
    cfg->hold_us = DM_AUTO;
    cfg->hold_dist = DM_HOLD_EXPONENTIAL;
    cfg->timeout_us = 5 * USEC;
    cfg->loop = DM_LOOP_CLOSED;
    cfg->queue = 16;

    cfg->mode = DM_FAULTS_SCRIPTED;
    for (int k = 0; k < DM_FAULT_MAX; k++)
        cfg->rate[k] = DM_AUTO;
    cfg->pause_us = DM_AUTO;
    cfg->partition_us = DM_AUTO;
    cfg->wipe_down_us = DM_AUTO;
    cfg->slow_delay_us = DM_AUTO;
    cfg->slow_mean_us = DM_AUTO;
    cfg->wipe_bootstrap = false;
    cfg->max_down = DM_AUTO;
    cfg->schedule = NULL;   /* scripted mode: DEFAULT_SCHEDULE */
    cfg->churn_p = 0.9;
    cfg->churn_up_mean_us = 10 * USEC;
    cfg->liveness_us = DM_AUTO;
    cfg->timeline_interval_us = 100 * 1000;
}

static GArray *array_dup(const GArray *a)
{
    if (!a)
        return NULL;
    guint esize = g_array_get_element_size((GArray *)a);
    GArray *b = g_array_sized_new(FALSE, FALSE, esize, a->len);
    g_array_append_vals(b, a->data, a->len);
    return b;
}

static void array_free(GArray **a)
{
    if (*a)
        g_array_free(*a, TRUE);
    *a = NULL;
}

void dm_sim_config_clear(dm_sim_config *cfg)
{
    array_free(&cfg->clock_rates);
    array_free(&cfg->clients);
    array_free(&cfg->schedule);
}

void dm_sim_config_copy(dm_sim_config *dst, const dm_sim_config *src)
{
    *dst = *src;
    dst->clock_rates = array_dup(src->clock_rates);
    dst->clients = array_dup(src->clients);
    dst->schedule = array_dup(src->schedule);
}

bool dm_sim_config_is_client(const dm_sim_config *cfg, uint32_t id)
{
    if (!cfg->clients)
        return true;
    for (guint i = 0; i < cfg->clients->len; i++)
        if (g_array_index(cfg->clients, uint32_t, i) == id)
            return true;
    return false;
}

/* ---------------------------------------------------------------- names */

static const char *const mode_names[] = { "none", "scripted", "swarm", "list", NULL };
static const char *const jitter_names[] = { "exponential", "lognormal", NULL };
static const char *const hold_names[] = { "exponential", "fixed", NULL };
static const char *const loop_names[] = { "closed", "open", NULL };
static int name_index(const char *const *names, int count, const char *s)
{
    for (int i = 0; i < count && names[i]; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

static char *join_names(const char *const *names, int count)
{
    GString *s = g_string_new(NULL);
    for (int i = 0; i < count && names[i]; i++)
        g_string_append_printf(s, i ? "|%s" : "%s", names[i]);
    return g_string_free(s, FALSE);
}

static bool fail(GError **err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static bool fail(GError **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(err, DM_SIM_ERROR, DM_SIM_ERROR_CONFIG, msg);
    g_free(msg);
    return false;
}

bool dm_fault_kinds_parse(const char *list, uint32_t *mask, GError **err)
{
    *mask = 0;
    gchar **items = g_strsplit_set(list, ",;", -1);
    bool ok = true;
    for (gchar **it = items; *it && ok; it++) {
        char *name = g_strstrip(*it);
        if (!*name)
            continue;
        int k = dm_fault_lookup(name);
        if (k < 0) {
            char *all = dm_fault_names("|");
            ok = fail(err, "unknown fault kind '%s' (expected a comma list of %s)", name, all);
            g_free(all);
        } else {
            *mask |= 1u << k;
        }
    }
    g_strfreev(items);
    return ok;
}

/* ---------------------------------------------------------------- scalars */

static bool parse_double(const char *s, double *out)
{
    char *end;
    double v = g_ascii_strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(v))
        return false;
    *out = v;
    return true;
}

/* The core's duration syntax: bare seconds, or a unit. */
static bool parse_seconds(const char *s, int64_t *us)
{
    return dm_duration_parse(s, us) == 0;
}

static void format_seconds(GString *out, int64_t us)
{
    g_string_append_printf(out, "%" PRId64, us / USEC);
    int64_t frac = us % USEC;
    if (frac) {
        char digits[8];
        g_snprintf(digits, sizeof digits, "%06" PRId64, frac);
        for (int i = 5; i > 0 && digits[i] == '0'; i--)
            digits[i] = '\0';
        g_string_append_printf(out, ".%s", digits);
    }
}

/* The shortest of %.15g / %.17g that reads back as the same double. */
static void format_double(GString *out, double v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd(buf, sizeof buf, "%.15g", v);
    if (g_ascii_strtod(buf, NULL) != v)
        g_ascii_formatd(buf, sizeof buf, "%.17g", v);
    g_string_append(out, buf);
}

static bool parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    gint64 v;
    if (!g_ascii_string_to_signed(s, 10, min, max, &v, NULL))
        return false;
    *out = v;
    return true;
}

/* ---------------------------------------------------------------- steps */

static bool parse_target(const char *s, int32_t *node)
{
    int64_t v;
    if (strcmp(s, "random") == 0)
        *node = DM_TARGET_RANDOM;
    else if (strcmp(s, "holder") == 0)
        *node = DM_TARGET_HOLDER;
    else if (parse_int(s, 0, DM_MAX_MEMBERS - 1, &v))
        *node = (int32_t)v;
    else
        return false;
    return true;
}

/* A verb's parameter (rate=, delay=): given exactly when the verb takes it. */
static bool param_fits(const char *text, const dm_fault_verb *verb, bool takes, bool given,
                       const char *key, const char *what, GError **err)
{
    if (takes && !given)
        return fail(err, "fault step '%s': %s needs %s=%s", text, verb->name, key, what);
    if (given && !takes)
        return fail(err, "fault step '%s': %s= does not go with %s", text, key, verb->name);
    return true;
}

bool dm_fault_step_parse(const char *text, dm_fault_step *out, GError **err)
{
    memset(out, 0, sizeof *out);
    out->at = -1;
    out->verb = NULL;
    out->node = DM_TARGET_NONE;
    out->shape = -1;
    bool have_rate = false, have_delay = false, ok = true;
    gchar **tokens = g_strsplit_set(text, " \t", -1);
    for (gchar **t = tokens; *t && ok; t++) {
        if (!**t)
            continue;
        char *eq = strchr(*t, '=');
        char *key = *t, *val = eq ? eq + 1 : NULL;
        if (eq)
            *eq = '\0';
        const dm_fault_verb *verb = dm_fault_verb_lookup(key);
        if (strcmp(key, "at") == 0 && val) {
            ok = parse_seconds(val, &out->at);
        } else if (strcmp(key, "for") == 0 && val) {
            ok = parse_seconds(val, &out->dur_us) && out->dur_us > 0;
        } else if (strcmp(key, "node") == 0 && val) {
            ok = parse_target(val, &out->node);
        } else if (strcmp(key, "rate") == 0 && val) {
            ok = parse_double(val, &out->value) && fabs(out->value) < DM_SIMCLOCK_MAX_PPM;
            have_rate = true;
        } else if (strcmp(key, "order") == 0 && val) {
            out->order = g_intern_string(val);
        } else if (strcmp(key, "delay") == 0 && val) {
            ok = parse_seconds(val, &out->delay_us) && out->delay_us > 0;
            have_delay = true;
        } else if (verb) {
            if (out->verb) {
                ok = fail(err, "fault step '%s': more than one action", text);
                break;
            }
            out->verb = verb;
            switch (verb->arg) {
            case DM_VERB_NONE:
                ok = val == NULL;
                break;
            case DM_VERB_SHAPE:
                ok = val && (out->shape = dm_shape_parse(val)) >= 0;
                break;
            case DM_VERB_PROB:
                ok = val && parse_double(val, &out->value) && out->value >= 0 && out->value <= 1;
                break;
            case DM_VERB_NODE:
                ok = val && parse_target(val, &out->node);
                break;
            }
        } else {
            ok = fail(err, "fault step '%s': unknown word '%s'", text, key);
            break;
        }
        if (!ok && (!err || !*err))
            fail(err, "fault step '%s': bad value for '%s'", text, key);
    }
    g_strfreev(tokens);
    if (!ok)
        return false;
    if (out->at < 0)
        return fail(err, "fault step '%s': missing at=SECONDS", text);
    if (!out->verb) {
        char *all = dm_fault_verb_names("|");
        bool r = fail(err, "fault step '%s': missing an action (%s)", text, all);
        g_free(all);
        return r;
    }
    if (!param_fits(text, out->verb, out->verb->rate, have_rate, "rate", "PPM", err) ||
        !param_fits(text, out->verb, out->verb->delay, have_delay, "delay", "SECONDS", err))
        return false;
    if (out->verb->arg == DM_VERB_NODE && out->node == DM_TARGET_NONE)
        return fail(err, "fault step '%s': missing node", text);
    if (out->order && out->verb->arg != DM_VERB_SHAPE)
        return fail(err, "fault step '%s': order= does not go with %s", text, out->verb->name);
    if (out->order && (!*out->order || out->order[strspn(out->order, "0123456789,")]))
        return fail(err, "fault step '%s': order= takes node ids separated by ','", text);
    return true;
}

bool dm_fault_step_order(const dm_fault_step *s, uint32_t n, uint32_t *out)
{
    if (!s->order)
        return false;
    gchar **ids = g_strsplit(s->order, ",", -1);
    bool ok = g_strv_length(ids) == n;
    uint8_t *seen = g_new0(uint8_t, n ? n : 1);
    for (uint32_t i = 0; ok && i < n; i++) {
        guint64 v;
        ok = g_ascii_string_to_unsigned(ids[i], 10, 0, n ? n - 1 : 0, &v, NULL) && !seen[v];
        if (ok) {
            seen[v] = 1;
            if (out)
                out[i] = (uint32_t)v;
        }
    }
    g_free(seen);
    g_strfreev(ids);
    return ok;
}

const char *dm_fault_order_intern(const uint32_t *order, uint32_t n)
{
    GString *t = g_string_new(NULL);
    for (uint32_t i = 0; i < n; i++)
        g_string_append_printf(t, i ? ",%u" : "%u", order[i]);
    const char *r = g_intern_string(t->str);
    g_string_free(t, TRUE);
    return r;
}

static void format_target(GString *out, int32_t node)
{
    if (node == DM_TARGET_RANDOM)
        g_string_append(out, "random");
    else if (node == DM_TARGET_HOLDER)
        g_string_append(out, "holder");
    else
        g_string_append_printf(out, "%d", node);
}

void dm_fault_step_format(const dm_fault_step *s, GString *out)
{
    g_string_append(out, "at=");
    format_seconds(out, s->at);
    g_string_append_printf(out, " %s", s->verb->name);
    switch (s->verb->arg) {
    case DM_VERB_NONE:
        break;
    case DM_VERB_SHAPE:
        g_string_append_printf(out, "=%s", dm_shape_name(s->shape));
        if (s->node != DM_TARGET_NONE) {
            g_string_append(out, " node=");
            format_target(out, s->node);
        }
        if (s->order)
            g_string_append_printf(out, " order=%s", s->order);
        break;
    case DM_VERB_PROB:
        g_string_append_c(out, '=');
        format_double(out, s->value);
        break;
    case DM_VERB_NODE:
        g_string_append_c(out, '=');
        format_target(out, s->node);
        break;
    }
    if (s->verb->rate) {
        g_string_append(out, " rate=");
        format_double(out, s->value);
    }
    if (s->verb->delay) {
        g_string_append(out, " delay=");
        format_seconds(out, s->delay_us);
    }
    if (s->dur_us > 0) {
        g_string_append(out, " for=");
        format_seconds(out, s->dur_us);
    }
}

/* ---------------------------------------------------------------- the key table */

typedef enum key_type {
    K_U32, K_U64, K_BOOL, K_SECONDS, K_DOUBLE, K_PROB, K_PPM, K_I32,
    K_ENUM, K_KINDS, K_NODES, K_RATES, K_SCHEDULE,
    K_CORE_GROUP,               /* where a group of the core's table goes */
} key_type;

typedef struct key_info {
    const char *group;
    const char *key;
    key_type type;
    size_t offset;
    bool autoable;              /* accepts "auto" (the DM_AUTO sentinel) */
    const char *const *names;   /* K_ENUM */
} key_info;

#define F(field) offsetof(dm_sim_config, field)

static const key_info keys[] = {
    { "sim", "nodes", K_U32, F(nodes), false, NULL },
    { "sim", "members", K_U32, F(members), false, NULL },
    { "sim", "seed", K_U64, F(seed), false, NULL },
    { "sim", "duration", K_SECONDS, F(duration_us), false, NULL },
    { "sim", "codec", K_BOOL, F(codec), false, NULL },
    { "core", NULL, K_CORE_GROUP, 0, false, NULL },
    { "swim", NULL, K_CORE_GROUP, 0, false, NULL },
    { "clock", "drift_ppm", K_PPM, F(clock_drift_ppm), true, NULL },
    { "clock", "offset", K_SECONDS, F(clock_offset_us), false, NULL },
    { "clock", "rates_ppm", K_RATES, F(clock_rates), false, NULL },
    { "network", "latency", K_SECONDS, F(net.latency_us), false, NULL },
    { "network", "jitter", K_SECONDS, F(net.jitter_us), false, NULL },
    { "network", "jitter_dist", K_ENUM, F(net.jitter_dist), false, jitter_names },
    { "network", "jitter_sigma", K_DOUBLE, F(net.jitter_sigma), false, NULL },
    { "network", "link_spread", K_PROB, F(net.link_spread), false, NULL },
    { "network", "loss", K_PROB, F(net.loss), true, NULL },
    { "network", "dup", K_PROB, F(net.dup), true, NULL },
    { "network", "reorder", K_PROB, F(net.reorder), true, NULL },
    { "network", "reorder_delay", K_SECONDS, F(net.reorder_delay_us), false, NULL },
    { "network", "pause_buffer", K_U32, F(pause_buffer), false, NULL },
    { "workload", "clients", K_NODES, F(clients), false, NULL },
    { "workload", "locks", K_U32, F(locks), false, NULL },
    { "workload", "load", K_DOUBLE, F(load), false, NULL },
    { "workload", "interarrival", K_SECONDS, F(interarrival_us), true, NULL },
    { "workload", "interarrival_dist", K_ENUM, F(interarrival_dist), false, hold_names },
    { "workload", "hold", K_SECONDS, F(hold_us), true, NULL },
    { "workload", "hold_dist", K_ENUM, F(hold_dist), false, hold_names },
    { "workload", "timeout", K_SECONDS, F(timeout_us), false, NULL },
    { "workload", "loop", K_ENUM, F(loop), false, loop_names },
    { "workload", "queue", K_U32, F(queue), false, NULL },
    { "faults", "mode", K_ENUM, F(mode), false, mode_names },
    { "faults", "kinds", K_KINDS, F(kinds), false, NULL },
    /* Stands for every fault kind's rate key, in kind order (key_list). */
    { "faults", NULL, K_DOUBLE, F(rate), true, NULL },
    { "faults", "pause_mean", K_SECONDS, F(pause_us), true, NULL },
    { "faults", "partition_mean", K_SECONDS, F(partition_us), true, NULL },
    { "faults", "wipe_down", K_SECONDS, F(wipe_down_us), true, NULL },
    { "faults", "slow_delay", K_SECONDS, F(slow_delay_us), true, NULL },
    { "faults", "slow_mean", K_SECONDS, F(slow_mean_us), true, NULL },
    { "faults", "wipe_bootstrap", K_BOOL, F(wipe_bootstrap), false, NULL },
    { "faults", "max_down", K_I32, F(max_down), true, NULL },
    { "faults", "crash_count", K_U32, F(crash_count), false, NULL },
    { "faults", "schedule", K_SCHEDULE, F(schedule), false, NULL },
    { "faults", "churn_p", K_PROB, F(churn_p), false, NULL },
    { "faults", "churn_up_mean", K_SECONDS, F(churn_up_mean_us), false, NULL },
    { "liveness", "bound", K_SECONDS, F(liveness_us), true, NULL },
    { "timeline", "interval", K_SECONDS, F(timeline_interval_us), false, NULL },
    { "measure", "from", K_SECONDS, F(measure_from_us), false, NULL },
};

#undef F

/* Every key in order, each fault kind's rate key where keys[] holds the
 * stand-in; returns the count. */
#define KEYS_MAX (G_N_ELEMENTS(keys) + DM_FAULT_MAX)
static size_t key_list(key_info out[KEYS_MAX])
{
    size_t n = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
        if (keys[i].key || keys[i].type == K_CORE_GROUP) {
            out[n++] = keys[i];
            continue;
        }
        for (int k = 0; k < dm_fault_count(); k++)
            if (dm_fault_get(k)->rate_key) {
                out[n] = keys[i];
                out[n].key = dm_fault_get(k)->rate_key;
                out[n++].offset += (size_t)k * sizeof(double);
            }
    }
    return n;
}

/* The key group.key into *out; false if there is none. */
static bool key_find(const char *group, const char *key, key_info *out)
{
    key_info all[KEYS_MAX];
    size_t n = key_list(all);
    for (size_t i = 0; i < n; i++)
        if (all[i].key && strcmp(all[i].group, group) == 0 && strcmp(all[i].key, key) == 0) {
            *out = all[i];
            return true;
        }
    return false;
}

/* A key of the core's table, as the simulator offers it: not the keys the
 * simulator sets per node. An old spelling is taken with a warning. */
static const dm_confkey *core_key_find(const char *group, const char *key, const char *origin)
{
    bool deprecated;
    const dm_confkey *k = dm_confkey_lookup(group, key, &deprecated);
    if (!k || (k->flags & DM_CONFKEY_PER_NODE))
        return NULL;
    if (deprecated)
        g_warning("%s: [%s] %s is deprecated: write [%s] %s", origin, group, key, k->group, k->name);
    return k;
}

static bool core_set(dm_sim_config *cfg, const dm_confkey *k, const char *value, GError **err)
{
    char *msg = NULL;
    if (dm_confkey_set(k, &cfg->core, value, &msg) == 0)
        return true;
    bool r = fail(err, "%s", msg);
    g_free(msg);
    return r;
}

static bool group_known(const char *group)
{
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
        if (strcmp(keys[i].group, group) == 0)
            return true;
    return dm_confkey_group_known(group);
}

static bool parse_list(const char *value, GArray *into, int64_t min, int64_t max, size_t width)
{
    gchar **items = g_strsplit_set(value, ",;", -1);
    bool ok = true;
    for (gchar **it = items; *it && ok; it++) {
        char *s = g_strstrip(*it);
        int64_t v;
        if (!*s)
            continue;
        ok = parse_int(s, min, max, &v);
        if (!ok)
            break;
        if (width == sizeof(uint32_t)) {
            uint32_t u = (uint32_t)v;
            g_array_append_val(into, u);
        } else {
            g_array_append_val(into, v);
        }
    }
    g_strfreev(items);
    return ok;
}

static bool parse_schedule(const char *value, GArray *into, GError **err)
{
    gchar **items = g_strsplit(value, ";", -1);
    bool ok = true;
    for (gchar **it = items; *it && ok; it++) {
        char *s = g_strstrip(*it);
        dm_fault_step step;
        if (!*s)
            continue;
        ok = dm_fault_step_parse(s, &step, err);
        if (ok)
            g_array_append_val(into, step);
    }
    g_strfreev(items);
    return ok;
}

/* What each type expects, for error messages. */
static char *expected(const key_info *k)
{
    const char *a = k->autoable ? " or auto" : "";
    switch (k->type) {
    case K_U32: case K_U64: return g_strdup("a non-negative integer");
    case K_BOOL: return g_strdup("true or false");
    case K_SECONDS: return g_strdup_printf("seconds >= 0%s", a);
    case K_DOUBLE: return g_strdup_printf("a number >= 0%s", a);
    case K_PROB: return g_strdup_printf("a probability in [0, 1]%s", a);
    case K_PPM: return g_strdup_printf("parts per million%s", a);
    case K_I32: return g_strdup_printf("a non-negative integer%s", a);
    case K_ENUM: { char *all = join_names(k->names, 16); char *s = g_strdup_printf("one of %s", all); g_free(all); return s; }
    case K_KINDS: return g_strdup("a comma list of fault kinds");
    case K_NODES: return g_strdup("'all' or a comma list of node ids");
    case K_RATES: return g_strdup("a comma list of clock rates in ppm");
    case K_SCHEDULE: return g_strdup("fault steps separated by ';'");
    case K_CORE_GROUP: break;
    }
    return g_strdup("?");
}

static bool set_value(dm_sim_config *cfg, const key_info *k, const char *value, GError **err)
{
    char *base = (char *)cfg + k->offset;
    int64_t i64;
    double d;
    bool ok;
    GError *inner = NULL;

    if (k->autoable && strcmp(value, "auto") == 0) {
        switch (k->type) {
        case K_SECONDS: case K_PPM: *(int64_t *)base = DM_AUTO; break;
        case K_DOUBLE: case K_PROB: *(double *)base = DM_AUTO; break;
        case K_I32: *(int32_t *)base = DM_AUTO; break;
        default: g_assert_not_reached();
        }
        return true;
    }
    switch (k->type) {
    case K_U32:
        if ((ok = parse_int(value, 0, UINT32_MAX, &i64)))
            *(uint32_t *)base = (uint32_t)i64;
        break;
    case K_U64: {
        guint64 u;
        if ((ok = g_ascii_string_to_unsigned(value, 10, 0, G_MAXUINT64, &u, NULL)))
            *(uint64_t *)base = u;
        break;
    }
    case K_I32:
        if ((ok = parse_int(value, 0, INT32_MAX, &i64)))
            *(int32_t *)base = (int32_t)i64;
        break;
    case K_PPM:
        if ((ok = parse_int(value, 0, DM_SIMCLOCK_MAX_PPM - 1, &i64)))
            *(int64_t *)base = i64;
        break;
    case K_BOOL:
        ok = strcmp(value, "true") == 0 || strcmp(value, "false") == 0;
        if (ok)
            *(bool *)base = value[0] == 't';
        break;
    case K_SECONDS:
        ok = parse_seconds(value, &i64);
        if (ok)
            *(int64_t *)base = i64;
        break;
    case K_DOUBLE:
    case K_PROB:
        ok = parse_double(value, &d) && d >= 0 && (k->type == K_DOUBLE || d <= 1);
        if (ok)
            *(double *)base = d;
        break;
    case K_ENUM: {
        int e = name_index(k->names, 16, value);
        if ((ok = e >= 0))
            *(int *)base = e;
        break;
    }
    case K_KINDS:
        ok = dm_fault_kinds_parse(value, (uint32_t *)base, &inner);
        break;
    case K_NODES: {
        GArray **arr = (GArray **)base;
        array_free(arr);
        if (strcmp(value, "all") == 0)
            return true;
        *arr = g_array_new(FALSE, FALSE, sizeof(uint32_t));
        ok = parse_list(value, *arr, 0, DM_MAX_MEMBERS - 1, sizeof(uint32_t));
        break;
    }
    case K_RATES: {
        GArray **arr = (GArray **)base;
        array_free(arr);
        *arr = g_array_new(FALSE, FALSE, sizeof(int64_t));
        ok = parse_list(value, *arr, -(DM_SIMCLOCK_MAX_PPM - 1), DM_SIMCLOCK_MAX_PPM - 1,
                        sizeof(int64_t));
        break;
    }
    case K_SCHEDULE: {
        GArray *steps = g_array_new(FALSE, FALSE, sizeof(dm_fault_step));
        ok = parse_schedule(value, steps, &inner);
        if (ok) {
            array_free((GArray **)base);
            *(GArray **)base = steps;
        } else {
            g_array_free(steps, TRUE);
        }
        break;
    }
    default:
        ok = false;
    }
    if (!ok) {
        if (inner) {
            g_set_error(err, DM_SIM_ERROR, DM_SIM_ERROR_CONFIG, "[%s] %s: %s", k->group, k->key,
                        inner->message);
            g_error_free(inner);
        } else {
            char *exp = expected(k);
            g_set_error(err, DM_SIM_ERROR, DM_SIM_ERROR_CONFIG, "[%s] %s: bad value '%s' (expected %s)",
                        k->group, k->key, value, exp);
            g_free(exp);
        }
    }
    return ok;
}

static void format_value(const dm_sim_config *cfg, const key_info *k, GString *out)
{
    const char *base = (const char *)cfg + k->offset;
    switch (k->type) {
    case K_U32: g_string_append_printf(out, "%" PRIu32, *(const uint32_t *)base); return;
    case K_U64: g_string_append_printf(out, "%" PRIu64, *(const uint64_t *)base); return;
    case K_BOOL: g_string_append(out, *(const bool *)base ? "true" : "false"); return;
    case K_ENUM: g_string_append(out, k->names[*(const int *)base]); return;
    case K_CORE_GROUP: return;
    case K_I32:
        if (*(const int32_t *)base < 0)
            g_string_append(out, "auto");
        else
            g_string_append_printf(out, "%" PRId32, *(const int32_t *)base);
        return;
    case K_PPM:
    case K_SECONDS: {
        int64_t v = *(const int64_t *)base;
        if (k->autoable && v < 0)
            g_string_append(out, "auto");
        else if (k->type == K_PPM)
            g_string_append_printf(out, "%" PRId64, v);
        else
            format_seconds(out, v);
        return;
    }
    case K_DOUBLE:
    case K_PROB: {
        double v = *(const double *)base;
        if (k->autoable && v < 0)
            g_string_append(out, "auto");
        else
            format_double(out, v);
        return;
    }
    case K_KINDS: {
        uint32_t mask = *(const uint32_t *)base;
        bool first = true;
        for (int i = 0; i < dm_fault_count(); i++)
            if (mask & (1u << i)) {
                g_string_append_printf(out, first ? "%s" : ",%s", dm_fault_kind_name(i));
                first = false;
            }
        return;
    }
    case K_NODES:
    case K_RATES: {
        const GArray *a = *(GArray *const *)base;
        if (!a) {
            g_string_append(out, k->type == K_NODES ? "all" : "");
            return;
        }
        for (guint i = 0; i < a->len; i++) {
            if (i)
                g_string_append_c(out, ',');
            if (k->type == K_NODES)
                g_string_append_printf(out, "%" PRIu32, g_array_index(a, uint32_t, i));
            else
                g_string_append_printf(out, "%" PRId64, g_array_index(a, int64_t, i));
        }
        return;
    }
    case K_SCHEDULE: {
        const GArray *a = *(GArray *const *)base;
        for (guint i = 0; a && i < a->len; i++) {
            if (i)
                g_string_append(out, "; ");
            dm_fault_step_format(&g_array_index(a, dm_fault_step, i), out);
        }
        return;
    }
    }
}

/* ---------------------------------------------------------------- loading */

bool dm_sim_config_load_data(dm_sim_config *cfg, const char *data, const char *origin, GError **err)
{
    GKeyFile *kf = g_key_file_new();
    GError *inner = NULL;
    bool ok = g_key_file_load_from_data(kf, data, (gsize)-1, G_KEY_FILE_NONE, &inner);
    if (!ok) {
        g_set_error(err, DM_SIM_ERROR, DM_SIM_ERROR_CONFIG, "%s: %s", origin, inner->message);
        g_error_free(inner);
        g_key_file_free(kf);
        return false;
    }
    gchar **groups = g_key_file_get_groups(kf, NULL);
    for (gchar **g = groups; *g && ok; g++) {
        if (!group_known(*g)) {
            g_set_error(err, DM_SIM_ERROR, DM_SIM_ERROR_CONFIG, "%s: unknown group [%s]", origin, *g);
            ok = false;
            break;
        }
        gchar **names = g_key_file_get_keys(kf, *g, NULL, NULL);
        for (gchar **key = names; *key && ok; key++) {
            key_info found;
            const key_info *k = key_find(*g, *key, &found) ? &found : NULL;
            const dm_confkey *ck = k ? NULL : core_key_find(*g, *key, origin);
            char *value = g_key_file_get_string(kf, *g, *key, &inner);
            if (ck && value) {
                if (!core_set(cfg, ck, value, &inner)) {
                    g_set_error(err, DM_SIM_ERROR, DM_SIM_ERROR_CONFIG, "%s: %s", origin,
                                inner->message);
                    ok = false;
                }
            } else if (!k && !ck) {
                g_set_error(err, DM_SIM_ERROR, DM_SIM_ERROR_CONFIG, "%s: unknown key '%s' in [%s]",
                            origin, *key, *g);
                ok = false;
            } else if (!value) {
                g_set_error(err, DM_SIM_ERROR, DM_SIM_ERROR_CONFIG, "%s: [%s] %s: %s", origin, *g,
                            *key, inner->message);
                ok = false;
            } else if (!set_value(cfg, k, g_strstrip(value), &inner)) {
                g_set_error(err, DM_SIM_ERROR, DM_SIM_ERROR_CONFIG, "%s: %s", origin, inner->message);
                ok = false;
            }
            g_clear_error(&inner);
            g_free(value);
        }
        g_strfreev(names);
    }
    g_strfreev(groups);
    g_key_file_free(kf);
    return ok;
}

bool dm_sim_config_load(dm_sim_config *cfg, const char *path, GError **err)
{
    char *data = NULL;
    GError *inner = NULL;
    if (!g_file_get_contents(path, &data, NULL, &inner)) {
        g_set_error(err, DM_SIM_ERROR, DM_SIM_ERROR_CONFIG, "%s", inner->message);
        g_error_free(inner);
        return false;
    }
    bool ok = dm_sim_config_load_data(cfg, data, path, err);
    g_free(data);
    return ok;
}

bool dm_sim_config_set(dm_sim_config *cfg, const char *assignment, GError **err)
{
    const char *eq = strchr(assignment, '=');
    const char *dot = eq ? memchr(assignment, '.', (size_t)(eq - assignment)) : NULL;
    if (!dot)
        return fail(err, "'%s': expected GROUP.KEY=VALUE", assignment);
    char *group = g_strndup(assignment, (size_t)(dot - assignment));
    char *key = g_strndup(dot + 1, (size_t)(eq - dot - 1));
    char *value = g_strstrip(g_strdup(eq + 1));
    key_info found;
    const key_info *k = key_find(group, key, &found) ? &found : NULL;
    const dm_confkey *ck = k ? NULL : core_key_find(group, key, "--set");
    bool ok = k    ? set_value(cfg, k, value, err)
              : ck ? core_set(cfg, ck, value, err)
                   : fail(err, "'%s': unknown key '%s' in [%s]", assignment, key, group);
    g_free(group);
    g_free(key);
    g_free(value);
    return ok;
}

char *dm_sim_config_to_ini(const dm_sim_config *cfg)
{
    GString *out = g_string_new(NULL);
    const char *group = NULL;
    key_info all[KEYS_MAX];
    size_t n = key_list(all);
    for (size_t i = 0; i < n; i++) {
        if (!group || strcmp(group, all[i].group) != 0) {
            group = all[i].group;
            g_string_append_printf(out, "%s[%s]\n", i ? "\n" : "", group);
        }
        if (all[i].type == K_CORE_GROUP) {
            for (size_t j = 0; j < dm_confkey_count(); j++) {
                const dm_confkey *ck = dm_confkey_at(j);
                if (strcmp(ck->group, group) != 0 || (ck->flags & DM_CONFKEY_PER_NODE))
                    continue;
                g_string_append_printf(out, "%s = ", ck->name);
                dm_confkey_format(ck, &cfg->core, out);
                g_string_append_c(out, '\n');
            }
            continue;
        }
        g_string_append_printf(out, "%s =", all[i].key);
        gsize at = out->len;
        format_value(cfg, &all[i], out);
        if (out->len > at)
            g_string_insert_c(out, (gssize)at, ' ');
        g_string_append_c(out, '\n');
    }
    return g_string_free(out, FALSE);
}

/* "key=value", from a "group.key" name. */
static void describe_key(const dm_sim_config *cfg, const char *name, GString *out)
{
    char *group = g_strdup(name), *dot = strchr(group, '.');
    key_info k;
    if (dot)
        *dot = '\0';
    if (!dot || !key_find(group, dot + 1, &k))
        g_error("simconfig: no key %s", name);
    g_string_append_printf(out, "%s%s=", out->len ? " " : "", k.key);
    format_value(cfg, &k, out);
    g_free(group);
}

char *dm_sim_config_describe_faults(const dm_sim_config *cfg)
{
    static const char *const common[] = { "faults.max_down", "faults.crash_count",
                                          "workload.hold" };
    GString *out = g_string_new(NULL);
    describe_key(cfg, "faults.kinds", out);
    for (int k = 0; k < dm_fault_count(); k++)
        for (const char *const *d = dm_fault_get(k)->describe; d && *d && (cfg->kinds & (1u << k)); d++)
            describe_key(cfg, *d, out);
    for (size_t i = 0; i < G_N_ELEMENTS(common); i++)
        describe_key(cfg, common[i], out);
    return g_string_free(out, FALSE);
}

/* ---------------------------------------------------------------- resolving */

static bool validate(const dm_sim_config *c, GError **err)
{
    char *msg = NULL;
    if (dm_confkeys_check(&c->core, &msg) < 0) {
        bool r = fail(err, "%s", msg);
        g_free(msg);
        return r;
    }
    if (c->nodes < 1 || c->nodes > DM_MAX_MEMBERS)
        return fail(err, "[sim] nodes: %u is out of range 1..%u", c->nodes, DM_MAX_MEMBERS);
    if (c->nodes > dm_policy_max_members(c->core.policy))
        return fail(err, "[sim] nodes: %u, but policy %s allows at most %u members", c->nodes,
                    dm_policy_name(c->core.policy), dm_policy_max_members(c->core.policy));
    if (c->members > c->nodes)
        return fail(err, "[sim] members: %u, but there are only %u nodes", c->members, c->nodes);
    if (c->members && !(c->core.policy && c->core.policy->epochs))
        return fail(err, "[sim] members: policy %s has no configurations (only epoch has)",
                    dm_policy_name(c->core.policy));
    if (c->duration_us <= 0)
        return fail(err, "[sim] duration: must be > 0");
    if (c->clock_rates && c->clock_rates->len > c->nodes)
        return fail(err, "[clock] rates_ppm: %u rates for %u nodes", c->clock_rates->len, c->nodes);
    for (guint i = 0; c->clients && i < c->clients->len; i++)
        if (g_array_index(c->clients, uint32_t, i) >= c->nodes)
            return fail(err, "[workload] clients: node %u does not exist (nodes = %u)",
                        g_array_index(c->clients, uint32_t, i), c->nodes);
    if (c->locks < 1 || c->locks > 100000)
        return fail(err, "[workload] locks: %u is out of range 1..100000", c->locks);
    if (c->timeout_us <= 0)
        return fail(err, "[workload] timeout: must be > 0");
    if (c->queue > 100000)
        return fail(err, "[workload] queue: %u is above 100000", c->queue);
    if (c->mode == DM_FAULTS_LIST && c->kinds == 0)
        return fail(err, "[faults] mode = list needs kinds");
    if (c->crash_count > 0 && c->mode != DM_FAULTS_SWARM &&
        !(c->mode == DM_FAULTS_LIST && (c->kinds & (1u << DM_FAULT_CRASH))))
        return fail(err, "[faults] crash_count needs the crash fault kind (--faults crash,...)");
    if (c->crash_count > 100000)
        return fail(err, "[faults] crash_count: %u is above 100000", c->crash_count);
    if (c->slow_delay_us == 0)
        return fail(err, "[faults] slow_delay: must be > 0");
    if (c->churn_up_mean_us <= 0)
        return fail(err, "[faults] churn_up_mean: must be > 0");
    if (c->timeline_interval_us <= 0)
        return fail(err, "[timeline] interval: must be > 0");
    for (guint i = 0; c->schedule && i < c->schedule->len; i++) {
        const dm_fault_step *s = &g_array_index(c->schedule, dm_fault_step, i);
        char *why = s->node >= 0 && (uint32_t)s->node >= c->nodes
                        ? g_strdup_printf("names node %d, but nodes = %u", s->node, c->nodes)
                    : s->order && !dm_fault_step_order(s, c->nodes, NULL)
                        ? g_strdup_printf("has an order= that is not one of the %u nodes", c->nodes)
                        : NULL;
        if (why) {
            GString *t = g_string_new(NULL);
            dm_fault_step_format(s, t);
            bool r = fail(err, "[faults] schedule: '%s' %s", t->str, why);
            g_string_free(t, TRUE);
            g_free(why);
            return r;
        }
    }
    return true;
}

static int step_cmp(gconstpointer a, gconstpointer b)
{
    const dm_fault_step *x = a, *y = b;
    return x->at < y->at ? -1 : x->at > y->at;
}

int64_t dm_sim_liveness_auto(const dm_sim_config *c)
{
    int64_t bound = 3 * c->core.lease_us + 10 * c->core.rpc_timeout_us + c->core.suspect_us;
    /* Views must agree too: a member some still believe dead is looked
     * at again after dead_probe_every periods, or by a push/pull. */
    if (c->core.membership)
        bound += MAX(c->core.swim.push_pull_interval_us,
                     (int64_t)c->core.swim.dead_probe_every * c->core.swim.probe_interval_us);
    /* Every node asks for every lock at once, and a lock is handed over
     * one requester at a time (the locks in parallel): N requests take N
     * handovers, each a few one-way delays (RELEASE, GRANT, the INQUIRE and
     * YIELD of arbiters whose queues disagree; about 5 at the defaults,
     * 7 with 100 ms links, where requests also time out and come back).
     * Allow 16 each, beyond the 10 RPC timeouts above, which cover small
     * clusters -- so their bound, and their runs, stay what they were. */
    int64_t handovers = (int64_t)c->nodes * 16 * (c->net.latency_us + c->net.jitter_us);
    bound += MAX(0, handovers - 10 * c->core.rpc_timeout_us);
    return bound;
}

bool dm_sim_config_resolve(const dm_sim_config *in, uint64_t seed, dm_sim_config *out, GError **err)
{
    if (!validate(in, err))
        return false;
    dm_sim_config_copy(out, in);
    out->seed = seed;
    dm_sim_config d;
    dm_fault_draw(in, seed, &d);
    bool random_faults = in->mode == DM_FAULTS_SWARM || in->mode == DM_FAULTS_LIST;
    /* In swarm mode, [faults] kinds are kinds every seed has besides what
     * it draws (say, wipe in every seed of a sweep). */
    out->kinds = in->mode == DM_FAULTS_SWARM ? d.kinds | in->kinds
                 : in->mode == DM_FAULTS_LIST ? in->kinds : 0;
    for (int k = 0; k < dm_fault_count(); k++) {
        const dm_fault_ops *kind = dm_fault_get(k);
        bool on = (out->kinds & (1u << k)) != 0;
        out->rate[k] = !on || !kind->rate_key ? 0 : in->rate[k] >= 0 ? in->rate[k] : d.rate[k];
        if (kind->resolve)
            kind->resolve(out, &d, on);
    }
    /* A crash count replaces the crash rate; without the crash kind in
     * force (a swarm draw without it) there is nothing to count. */
    bool crashes_on = (out->kinds & (1u << DM_FAULT_CRASH)) != 0;
    if (!crashes_on)
        out->crash_count = 0;
    if (out->crash_count > 0)
        out->rate[DM_FAULT_CRASH] = 0;
    if (out->max_down < 0)
        out->max_down = out->crash_count == 0 ? d.max_down
                        : (int32_t)MIN(out->crash_count, out->nodes > 1 ? out->nodes - 1 : 1);
    if (out->hold_us < 0)
        out->hold_us = random_faults ? d.hold_us : 100 * 1000;
    if (out->clock_drift_ppm < 0)
        out->clock_drift_ppm = in->core.drift_ppm;
    if (out->interarrival_us < 0) {
        /* Each of the c clients asks with mean period T and holds for h: the
         * lock is wanted about c * h / T of the time. */
        uint32_t c = out->clients ? out->clients->len : out->nodes;
        out->interarrival_us = out->load > 0 ? (int64_t)((double)c * (double)out->hold_us / out->load)
                                             : 0;
    }
    if (out->liveness_us < 0)
        out->liveness_us = dm_sim_liveness_auto(out);
    if (!out->schedule) {
        out->schedule = g_array_new(FALSE, FALSE, sizeof(dm_fault_step));
        if (in->mode == DM_FAULTS_SCRIPTED && !parse_schedule(DEFAULT_SCHEDULE, out->schedule, NULL))
            g_error("the default schedule does not parse");
    }
    if (in->mode == DM_FAULTS_NONE)
        g_array_set_size(out->schedule, 0);
    g_array_sort(out->schedule, step_cmp);   /* stable: same-instant steps keep their order */
    /* Spell the drawn mix out, so that the printed configuration replays
     * as it stands. */
    out->mode = out->kinds ? DM_FAULTS_LIST : out->schedule->len ? DM_FAULTS_SCRIPTED : DM_FAULTS_NONE;
    return true;
}
