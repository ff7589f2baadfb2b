#include "netconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "confkeys.h"
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
    g_free(c->metrics_listen);
    g_free(c->key_file);
    if (c->key)
        g_bytes_unref(c->key);
    if (c->keys)
        g_ptr_array_unref(c->keys);
    g_free(c->tls_ca);
    g_free(c->tls_cert);
    g_free(c->tls_key);
    g_free(c->log_level);
    if (c->bindings)
        g_ptr_array_unref(c->bindings);
    memset(c, 0, sizeof *c);
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

/* The daemon's own keys; every other key is the core's (core/confkeys.h). */
typedef enum { K_STR, K_DURATION, K_UINT, K_SIZE, K_MEMBERS, K_BOOL } key_kind;

typedef struct key_desc {
    const char *name;
    key_kind kind;
    size_t offset;         /* into dmn_config */
} key_desc;

#define OFF(f) offsetof(dmn_config, f)
static const key_desc keys[] = {
    { "id", K_STR, OFF(self) },
    { "members", K_MEMBERS, 0 },
    { "data_dir", K_STR, OFF(data_dir) },
    { "control", K_STR, OFF(control) },
    { "metrics_listen", K_STR, OFF(metrics_listen) },
    { "key_file", K_STR, OFF(key_file) },
    { "log_level", K_STR, OFF(log_level) },
    { "lock_timeout", K_DURATION, OFF(lock_timeout_us) },
    { "auth_max_age", K_DURATION, OFF(auth_max_age_us) },
    { "max_inbound", K_UINT, OFF(max_inbound) },
    { "max_control", K_UINT, OFF(max_control) },
    { "backoff_min", K_DURATION, OFF(backoff_min_us) },
    { "backoff_max", K_DURATION, OFF(backoff_max_us) },
    { "out_queue_max", K_SIZE, OFF(out_queue_max) },
    { "udp_encrypt", K_BOOL, OFF(udp_encrypt) },
    { "tls_ca", K_STR, OFF(tls_ca) },
    { "tls_cert", K_STR, OFF(tls_cert) },
    { "tls_key", K_STR, OFF(tls_key) },
    { "max_members", K_UINT, OFF(max_members) },
};
#undef OFF

static gboolean bad_value(GError **err, const char *origin, const char *key, const char *val,
                          const char *want)
{
    g_set_error(err, DMN_CONFIG_ERROR, 0, "%s: key '%s': bad value '%s' (%s)", origin, key, val, want);
    return FALSE;
}

/* dmutexd read a bare duration as milliseconds before the core's schema
 * made bare numbers seconds: keep that reading for old files, loudly. */
static char *legacy_duration(const char *origin, const char *key, const char *value)
{
    if (!dm_duration_is_bare(value))
        return g_strdup(value);
    char *ms = g_strdup_printf("%sms", value);
    g_warning("%s: %s = %s: a bare number here means milliseconds, which is deprecated "
              "(write %s = %s)", origin, key, value, key, ms);
    return ms;
}

gboolean dmn_config_set(dmn_config *c, const char *key, const char *value, const char *origin,
                        GError **err)
{
    const key_desc *d = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
        if (strcmp(keys[i].name, key) == 0)
            d = &keys[i];
    g_autofree char *v = g_strstrip(g_strdup(value));
    if (!d) {
        bool deprecated;
        const dm_confkey *k = dm_confkey_lookup_flat(key, &deprecated);
        if (!k) {
            g_set_error(err, DMN_CONFIG_ERROR, 0, "%s: unknown key '%s'", origin, key);
            return FALSE;
        }
        g_autofree char *flat = dm_confkey_flat_name(k);
        if (deprecated)
            g_warning("%s: key '%s' is deprecated: write '%s'", origin, key, flat);
        bool dur = k->type == DM_CONFKEY_DURATION || k->type == DM_CONFKEY_MARGIN;
        g_autofree char *text = dur ? legacy_duration(origin, key, v) : g_strdup(v);
        g_autofree char *msg = NULL;
        if (dm_confkey_set(k, &c->core, text, &msg) < 0) {
            g_set_error(err, DMN_CONFIG_ERROR, 0, "%s: %s", origin, msg);
            return FALSE;
        }
        return TRUE;
    }
    char *field = (char *)c + d->offset;
    switch (d->kind) {
    case K_MEMBERS: {
        GError *e = NULL;
        if (!dmn_config_set_members_csv(c, v, &e)) {
            g_set_error(err, DMN_CONFIG_ERROR, 0, "%s: %s", origin, e->message);
            g_error_free(e);
            return FALSE;
        }
        break;
    }
    case K_STR:
        g_free(*(char **)field);
        *(char **)field = g_strdup(v);
        break;
    case K_DURATION: {
        g_autofree char *text = legacy_duration(origin, key, v);
        int64_t us;
        if (dm_duration_parse(text, &us) < 0)
            return bad_value(err, origin, key, v, "a duration such as 1s, 250ms or 500us");
        *(int64_t *)field = us;
        break;
    }
    case K_BOOL: {
        bool b;
        if (g_ascii_strcasecmp(v, "true") == 0 || g_ascii_strcasecmp(v, "yes") == 0 || strcmp(v, "1") == 0)
            b = true;
        else if (g_ascii_strcasecmp(v, "false") == 0 || g_ascii_strcasecmp(v, "no") == 0 || strcmp(v, "0") == 0)
            b = false;
        else
            return bad_value(err, origin, key, v, "true or false");
        *(bool *)field = b;
        break;
    }
    case K_UINT:
    case K_SIZE: {
        guint64 u;
        if (!g_ascii_string_to_unsigned(v, 10, 0, d->kind == K_UINT ? UINT32_MAX : SIZE_MAX, &u,
                                        NULL))
            return bad_value(err, origin, key, v, "a non-negative integer");
        if (d->kind == K_UINT)
            *(uint32_t *)field = (uint32_t)u;
        else
            *(size_t *)field = (size_t)u;
        break;
    }
    }
    return TRUE;
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
        g_autofree char *raw = g_key_file_get_string(kf, DMN_CONFIG_GROUP, *k, NULL);
        if (!dmn_config_set(c, *k, raw ? raw : "", path, err))
            return FALSE;
    }
    return TRUE;
}

char *dmn_config_key_names(const char *sep)
{
    GString *s = g_string_new(NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
        g_string_append_printf(s, "%s%s", i ? sep : "", keys[i].name);
    for (size_t i = 0; i < dm_confkey_count(); i++) {
        g_autofree char *flat = dm_confkey_flat_name(dm_confkey_at(i));
        g_string_append_printf(s, "%s%s", sep, flat);
    }
    return g_string_free(s, FALSE);
}

char *dmn_config_keys_doc(void)
{
    GString *s = g_string_new("| key | type | default | range | what |\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < dm_confkey_count(); i++) {
        const dm_confkey *k = dm_confkey_at(i);
        g_autofree char *flat = dm_confkey_flat_name(k), *def = dm_confkey_default(k);
        g_string_append_printf(s, "| `%s` | %s | `%s` | ", flat, dm_confkey_type_name(k->type), def);
        if (k->type == DM_CONFKEY_DURATION) {
            dm_duration_format(k->min, s);
            g_string_append(s, "..");
            dm_duration_format(k->max, s);
        } else if (k->type == DM_CONFKEY_MARGIN) {
            g_string_append(s, "0%..50%, or ");
            dm_duration_format(k->min, s);
            g_string_append(s, "..");
            dm_duration_format(k->max, s);
        } else if (k->type == DM_CONFKEY_UINT || k->type == DM_CONFKEY_PPM) {
            g_string_append_printf(s, "%" G_GINT64_FORMAT "..%" G_GINT64_FORMAT, k->min, k->max);
        } else if (k->type == DM_CONFKEY_BOOL) {
            g_string_append(s, "true, false");
        } else {
            g_autofree char *all = k->type == DM_CONFKEY_POLICY ? dm_policy_names(", ")
                                                                : dm_quorum_names(", ");
            g_string_append(s, all);
        }
        g_string_append_printf(s, " | %s |\n", k->help);
    }
    g_string_append(s, "\nDeprecated spellings, still read (with a warning):");
    const char *group, *name;
    const dm_confkey *to;
    for (size_t i = 0; dm_confkey_alias_at(i, &group, &name, &to); i++) {
        if (strcmp(group, "core") != 0)
            continue;   /* the simulator's, not a spelling of this file */
        g_autofree char *flat = dm_confkey_flat_name(to);
        g_string_append_printf(s, " `%s` (now `%s`)", name, flat);
    }
    g_string_append(s, "; a bare number for a duration, read as milliseconds.\n");
    return g_string_free(s, FALSE);
}

static gint cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One key file's keys appended to out. */
static gboolean read_key_file(const char *path, GPtrArray *out, GError **err)
{
    char *data = NULL;
    gsize len = 0;
    GError *e = NULL;
    if (!g_file_get_contents(path, &data, &len, &e)) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "cannot read key file: %s", e->message);
        g_error_free(e);
        return FALSE;
    }
    bool text = true;
    for (gsize i = 0; i < len && text; i++)
        text = g_ascii_isprint(data[i]) || g_ascii_isspace(data[i]);
    guint before = out->len;
    if (text) {
        g_auto(GStrv) lines = g_strsplit(data, "\n", -1);
        for (char **l = lines; *l; l++) {
            char *k = g_strstrip(*l);
            if (!*k || *k == '#')
                continue;
            if (strlen(k) < DMN_AUTH_KEY_MIN) {
                g_set_error(err, DMN_CONFIG_ERROR, 0,
                            "key file %s, line %d: a key must have at least %d bytes", path,
                            (int)(l - lines) + 1, DMN_AUTH_KEY_MIN);
                g_free(data);
                return FALSE;
            }
            g_ptr_array_add(out, g_bytes_new(k, strlen(k)));
        }
    } else {
        /* A binary key, as older versions read every key file. */
        while (len > 0 && g_ascii_isspace(data[len - 1]))
            len--;
        if (len >= DMN_AUTH_KEY_MIN)
            g_ptr_array_add(out, g_bytes_new(data, len));
    }
    g_free(data);
    if (out->len == before) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "key file %s: no key (a key must have at least %d bytes)",
                    path, DMN_AUTH_KEY_MIN);
        return FALSE;
    }
    return TRUE;
}

GPtrArray *dmn_config_read_keys(const char *key_file, GError **err)
{
    GPtrArray *keys = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    g_auto(GStrv) files = g_strsplit(key_file, ",", -1);
    for (char **f = files; *f; f++) {
        char *path = g_strstrip(*f);
        if (*path && !read_key_file(path, keys, err)) {
            g_ptr_array_unref(keys);
            return NULL;
        }
    }
    if (keys->len == 0 || keys->len > DMN_AUTH_MAX_KEYS) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "key_file %s: %u keys (want 1 to %d)", key_file,
                    keys->len, DMN_AUTH_MAX_KEYS);
        g_ptr_array_unref(keys);
        return NULL;
    }
    return keys;
}

static gboolean read_key(dmn_config *c, GError **err)
{
    c->keys = dmn_config_read_keys(c->key_file, err);
    if (!c->keys)
        return FALSE;
    c->key = g_bytes_ref(g_ptr_array_index(c->keys, 0));
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
    if (c->members->len > dm_policy_max_members(c->core.policy)) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "too many members: %u, policy %s allows at most %u",
                    c->members->len, dm_policy_name(c->core.policy),
                    dm_policy_max_members(c->core.policy));
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
    /* A joiner's id is the spare id its binding names. */
    for (guint i = 0; c->self_id == UINT32_MAX && c->bindings && i < c->bindings->len; i++) {
        const char *b = g_ptr_array_index(c->bindings, i), *eq = strchr(b, '=');
        if (eq && strcmp(eq + 1, c->self) == 0)
            c->self_id = (uint32_t)g_ascii_strtoull(b, NULL, 10);
    }
    if (c->self_id == UINT32_MAX) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "this node's address '%s' is not in the member list",
                    c->self);
        return FALSE;
    }
    c->core.n_members = MAX(c->members->len, c->self_id + 1);
    c->core.self = c->self_id;
    /* Under epoch, ids past --members are spare: `members add` binds them
     * to new addresses. Few by default, since SWIM scales its suspicion
     * timeout and retransmissions with log10 of the ids. */
    bool epochs = dmn_config_epochs(c);
    if (epochs) {
        uint32_t want = c->max_members ? c->max_members
                                       : MIN(c->members->len + 4, dm_policy_max_members(c->core.policy));
        if (want < c->members->len || want > dm_policy_max_members(c->core.policy)) {
            g_set_error(err, DMN_CONFIG_ERROR, 0, "max_members %u: want %u..%u (the --members count "
                        "up to what policy %s allows)", want, c->members->len,
                        dm_policy_max_members(c->core.policy), dm_policy_name(c->core.policy));
            return FALSE;
        }
        c->core.n_members = want;
        c->core.initial_members = want > c->members->len ? c->members->len : 0;
        if (c->self_id >= want) {
            g_set_error(err, DMN_CONFIG_ERROR, 0, "this node's id %u is past max_members %u",
                        c->self_id, want);
            return FALSE;
        }
    } else if (c->self_id >= c->members->len) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "a joined node (--join) needs policy epoch");
        return FALSE;
    } else if (c->max_members && c->max_members != c->members->len) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "max_members is for policy epoch only "
                    "(other policies have exactly the --members)");
        return FALSE;
    }
    g_autofree char *msg = NULL;
    if (dm_confkeys_check(&c->core, &msg) < 0) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "%s", msg);
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
    if (c->udp_encrypt && !c->key_file) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "udp_encrypt needs key_file (the keys it encrypts with)");
        return FALSE;
    }
    /* TLS is all or nothing: a half-configured node must not quietly fall
     * back to plain TCP. */
    if ((c->tls_ca || c->tls_cert || c->tls_key) && !(c->tls_ca && c->tls_cert && c->tls_key)) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "TLS needs all of tls_ca, tls_cert and tls_key "
                    "(given:%s%s%s)", c->tls_ca ? " tls_ca" : "", c->tls_cert ? " tls_cert" : "",
                    c->tls_key ? " tls_key" : "");
        return FALSE;
    }
    return TRUE;
}

bool dmn_config_epochs(const dmn_config *c)
{
    return c->core.policy && c->core.policy->epochs;
}
