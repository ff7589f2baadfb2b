#include "netconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "error.h"

G_DEFINE_QUARK(dmn-config-error-quark, dmn_config_error)

void dmn_config_init(dmn_config *c)
{
    memset(c, 0, sizeof *c);
    dm_config_defaults(&c->core);
    c->core.seed = (uint64_t)g_random_int() << 32 | g_random_int();
    c->members = g_ptr_array_new_with_free_func(g_free);
    c->auth_max_age_us = 30 * G_USEC_PER_SEC;
    c->max_control = 256;
    c->backoff_min_us = 50 * 1000;
    c->backoff_max_us = 2 * G_USEC_PER_SEC;
    c->out_queue_max = 1 << 20;
    c->lock_timeout_us = 10 * G_USEC_PER_SEC;
}

void dmn_config_clear(dmn_config *c)
{
    g_free(c->self);
    if (c->members)
        g_ptr_array_unref(c->members);
    g_free(c->data_dir);
    g_free(c->control);
    g_free(c->key_file);
    if (c->key)
        g_bytes_unref(c->key);
    g_free(c->log_level);
    memset(c, 0, sizeof *c);
}

gboolean dmn_parse_duration(const char *s, int64_t *out_us)
{
    if (!s)
        return FALSE;
    while (g_ascii_isspace(*s))
        s++;
    char *end = NULL;
    errno = 0;
    double v = g_ascii_strtod(s, &end);
    if (end == s || errno != 0 || !(v >= 0) || v > 1e12)
        return FALSE;
    while (g_ascii_isspace(*end))
        end++;
    double mult;
    if (*end == '\0' || strcmp(end, "ms") == 0)
        mult = 1000;
    else if (strcmp(end, "s") == 0)
        mult = 1e6;
    else if (strcmp(end, "us") == 0)
        mult = 1;
    else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
        mult = 60e6;
    else
        return FALSE;
    *out_us = (int64_t)(v * mult + 0.5);
    return TRUE;
}

gboolean dmn_split_address(const char *addr, char **host, int *port)
{
    if (!addr || !*addr)
        return FALSE;
    const char *colon;
    const char *h0, *h1;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':')
            return FALSE;
        h0 = addr + 1;
        h1 = close;
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon || strchr(addr, ':') != colon)
            return FALSE;
        h0 = addr;
        h1 = colon;
    }
    if (h1 == h0)
        return FALSE;
    char *end = NULL;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || errno != 0 || p < 1 || p > 65535)
        return FALSE;
    for (const char *q = h0; q < h1; q++)
        if (g_ascii_isspace(*q) || *q == ',')
            return FALSE;
    if (host)
        *host = g_strndup(h0, (gsize)(h1 - h0));
    if (port)
        *port = (int)p;
    return TRUE;
}

void dmn_config_set_members(dmn_config *c, const char *const *members, size_t n)
{
    g_ptr_array_set_size(c->members, 0);
    for (size_t i = 0; i < n; i++)
        g_ptr_array_add(c->members, g_strstrip(g_strdup(members[i])));
}

gboolean dmn_config_set_members_csv(dmn_config *c, const char *csv, GError **err)
{
    g_auto(GStrv) parts = g_strsplit(csv, ",", -1);
    g_ptr_array_set_size(c->members, 0);
    for (char **p = parts; *p; p++) {
        char *m = g_strstrip(g_strdup(*p));
        if (!*m) {
            g_free(m);
            continue;
        }
        g_ptr_array_add(c->members, m);
    }
    if (c->members->len == 0) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "the member list is empty");
        return FALSE;
    }
    return TRUE;
}

gboolean dmn_config_set_policy(dmn_config *c, const char *policy, GError **err)
{
    if (dm_policy_parse(policy, &c->core.policy) < 0) {
        g_autofree char *all = dm_policy_names(", ");
        g_set_error(err, DMN_CONFIG_ERROR, 0, "unknown policy '%s' (use one of %s)", policy, all);
        return FALSE;
    }
    return TRUE;
}

gboolean dmn_config_set_quorum(dmn_config *c, const char *name, GError **err)
{
    const dm_quorum_ops *q = dm_quorum_lookup(name);
    if (!q) {
        g_autofree char *all = dm_quorum_names(", ");
        g_set_error(err, DMN_CONFIG_ERROR, 0, "unknown quorum system '%s' (use one of %s)", name, all);
        return FALSE;
    }
    c->core.quorum = q;
    return TRUE;
}

typedef enum { K_STR, K_DURATION, K_UINT, K_BOOL, K_SIZE } key_kind;

typedef struct key_desc {
    const char *name;
    key_kind kind;
    size_t offset;         /* into dmn_config */
} key_desc;

#define OFF(f) offsetof(dmn_config, f)
static const key_desc keys[] = {
    { "id", K_STR, OFF(self) },
    { "members", K_STR, 0 },           /* special */
    { "policy", K_STR, 0 },            /* special */
    { "quorum", K_STR, 0 },            /* special */
    { "data_dir", K_STR, OFF(data_dir) },
    { "control", K_STR, OFF(control) },
    { "key_file", K_STR, OFF(key_file) },
    { "log_level", K_STR, OFF(log_level) },
    { "lease", K_DURATION, OFF(core.lease_us) },
    { "rpc_timeout", K_DURATION, OFF(core.rpc_timeout_us) },
    { "rto_min", K_DURATION, OFF(core.rto_min_us) },
    { "suspect", K_DURATION, OFF(core.suspect_us) },
    { "drift_ppm", K_UINT, OFF(core.drift_ppm) },
    { "token_stride", K_UINT, OFF(core.token_stride) },
    { "membership", K_BOOL, OFF(core.membership) },
    { "bootstrap", K_BOOL, OFF(core.bootstrap) },
    { "lock_timeout", K_DURATION, OFF(lock_timeout_us) },
    { "auth_max_age", K_DURATION, OFF(auth_max_age_us) },
    { "max_inbound", K_UINT, OFF(max_inbound) },
    { "max_control", K_UINT, OFF(max_control) },
    { "backoff_min", K_DURATION, OFF(backoff_min_us) },
    { "backoff_max", K_DURATION, OFF(backoff_max_us) },
    { "out_queue_max", K_SIZE, OFF(out_queue_max) },
    { "swim.probe_interval", K_DURATION, OFF(core.swim.probe_interval_us) },
    { "swim.probe_timeout", K_DURATION, OFF(core.swim.probe_timeout_us) },
    { "swim.indirect_checks", K_UINT, OFF(core.swim.indirect_checks) },
    { "swim.suspicion_mult", K_UINT, OFF(core.swim.suspicion_mult) },
    { "swim.suspicion_max_mult", K_UINT, OFF(core.swim.suspicion_max_mult) },
    { "swim.retransmit_mult", K_UINT, OFF(core.swim.retransmit_mult) },
    { "swim.push_pull_interval", K_DURATION, OFF(core.swim.push_pull_interval_us) },
    { "swim.awareness_max", K_UINT, OFF(core.swim.awareness_max) },
    { "swim.dead_probe_every", K_UINT, OFF(core.swim.dead_probe_every) },
};

static gboolean bad_value(GError **err, const char *path, const char *key, const char *val,
                          const char *want)
{
    g_set_error(err, DMN_CONFIG_ERROR, 0, "%s: key '%s': bad value '%s' (%s)", path, key, val, want);
    return FALSE;
}

gboolean dmn_config_load_file(dmn_config *c, const char *path, GError **err)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    GError *e = NULL;
    if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &e)) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "cannot read config file %s: %s", path, e->message);
        g_error_free(e);
        return FALSE;
    }
    g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);
    for (char **g = groups; *g; g++)
        if (strcmp(*g, DMN_CONFIG_GROUP) != 0) {
            g_set_error(err, DMN_CONFIG_ERROR, 0, "%s: unknown group [%s] (expected [%s])", path, *g,
                        DMN_CONFIG_GROUP);
            return FALSE;
        }
    if (!g_key_file_has_group(kf, DMN_CONFIG_GROUP))
        return TRUE;
    g_auto(GStrv) names = g_key_file_get_keys(kf, DMN_CONFIG_GROUP, NULL, NULL);
    for (char **k = names; *k; k++) {
        const key_desc *d = NULL;
        for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
            if (strcmp(keys[i].name, *k) == 0)
                d = &keys[i];
        if (!d) {
            g_set_error(err, DMN_CONFIG_ERROR, 0, "%s: unknown key '%s'", path, *k);
            return FALSE;
        }
        g_autofree char *raw = g_key_file_get_string(kf, DMN_CONFIG_GROUP, *k, NULL);
        char *v = g_strstrip(raw);
        char *field = (char *)c + d->offset;
        if (strcmp(d->name, "members") == 0) {
            if (!dmn_config_set_members_csv(c, v, err))
                return FALSE;
            continue;
        }
        if (strcmp(d->name, "policy") == 0) {
            if (!dmn_config_set_policy(c, v, err))
                return FALSE;
            continue;
        }
        if (strcmp(d->name, "quorum") == 0) {
            if (!dmn_config_set_quorum(c, v, err))
                return FALSE;
            continue;
        }
        switch (d->kind) {
        case K_STR:
            g_free(*(char **)field);
            *(char **)field = g_strdup(v);
            break;
        case K_DURATION: {
            int64_t us;
            if (!dmn_parse_duration(v, &us))
                return bad_value(err, path, *k, v, "a duration such as 1s, 250ms or 500us");
            *(int64_t *)field = us;
            break;
        }
        case K_UINT:
        case K_SIZE: {
            char *end = NULL;
            errno = 0;
            unsigned long long u = strtoull(v, &end, 10);
            if (!*v || *end || errno || v[0] == '-' ||
                (d->kind == K_UINT && u > UINT32_MAX))
                return bad_value(err, path, *k, v, "a non-negative integer");
            if (d->kind == K_UINT)
                *(uint32_t *)field = (uint32_t)u;
            else
                *(size_t *)field = (size_t)u;
            break;
        }
        case K_BOOL:
            if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "yes") == 0)
                *(bool *)field = true;
            else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcmp(v, "no") == 0)
                *(bool *)field = false;
            else
                return bad_value(err, path, *k, v, "true or false");
            break;
        }
    }
    return TRUE;
}

static gint cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static gboolean read_key(dmn_config *c, GError **err)
{
    char *data = NULL;
    gsize len = 0;
    GError *e = NULL;
    if (!g_file_get_contents(c->key_file, &data, &len, &e)) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "cannot read key file: %s", e->message);
        g_error_free(e);
        return FALSE;
    }
    while (len > 0 && g_ascii_isspace(data[len - 1]))
        len--;
    if (len < DMN_AUTH_KEY_MIN) {
        g_free(data);
        g_set_error(err, DMN_CONFIG_ERROR, 0, "key file %s: the key must have at least %d bytes",
                    c->key_file, DMN_AUTH_KEY_MIN);
        return FALSE;
    }
    c->key = g_bytes_new_take(data, len);
    return TRUE;
}

gboolean dmn_config_finish(dmn_config *c, GError **err)
{
    if (!c->self || !*c->self) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "no address for this node (--id HOST:PORT)");
        return FALSE;
    }
    if (!dmn_split_address(c->self, NULL, NULL)) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "bad address '%s' (want HOST:PORT)", c->self);
        return FALSE;
    }
    if (c->members->len == 0) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "no members (--members HOST:PORT,...)");
        return FALSE;
    }
    if (c->members->len > DM_MAX_MEMBERS) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "too many members (at most %d)", DM_MAX_MEMBERS);
        return FALSE;
    }
    g_ptr_array_sort(c->members, cmp_str);
    c->self_id = UINT32_MAX;
    for (guint i = 0; i < c->members->len; i++) {
        const char *m = g_ptr_array_index(c->members, i);
        if (!dmn_split_address(m, NULL, NULL)) {
            g_set_error(err, DMN_CONFIG_ERROR, 0, "bad member address '%s' (want HOST:PORT)", m);
            return FALSE;
        }
        if (i > 0 && strcmp(m, g_ptr_array_index(c->members, i - 1)) == 0) {
            g_set_error(err, DMN_CONFIG_ERROR, 0, "member '%s' is listed twice", m);
            return FALSE;
        }
        if (strcmp(m, c->self) == 0)
            c->self_id = i;
    }
    if (c->self_id == UINT32_MAX) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "this node's address '%s' is not in the member list",
                    c->self);
        return FALSE;
    }
    c->core.n_members = c->members->len;
    c->core.self = c->self_id;
    if (c->core.lease_us <= 0 || c->core.rpc_timeout_us <= 0 || c->core.rto_min_us <= 0 || c->core.drift_ppm >= 500000 ||
        c->core.token_stride == 0 || c->core.swim.probe_interval_us <= 0 ||
        c->core.swim.probe_timeout_us <= 0 || c->core.swim.push_pull_interval_us <= 0) {
        g_set_error(err, DMN_CONFIG_ERROR, 0,
                    "timings out of range (lease, rpc_timeout, rto_min, swim.* must be > 0; drift_ppm < 500000)");
        return FALSE;
    }
    if (c->core.policy && c->core.policy->needs_membership && !c->core.membership) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "policy %s needs membership = true",
                    c->core.policy->name);
        return FALSE;
    }
    if (c->backoff_min_us <= 0 || c->backoff_max_us < c->backoff_min_us || c->auth_max_age_us <= 0 ||
        c->lock_timeout_us <= 0) {
        g_set_error(err, DMN_CONFIG_ERROR, 0,
                    "backoff_min/backoff_max/auth_max_age/lock_timeout out of range");
        return FALSE;
    }
    if (c->max_inbound == 0)
        c->max_inbound = 4 * c->core.n_members + 32;
    if (c->key_file && !c->key && !read_key(c, err))
        return FALSE;
    return TRUE;
}
