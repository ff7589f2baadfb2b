/* dmutex net: the JOIN exchange (see join.h): frames, and the joiner's wait. */
#include "join.h"

#include <signal.h>
#include <string.h>

#include <gnutls/crypto.h>

#include "codec.h"
#include "control.h"
#include "json.h"
#include "netconfig.h"
#include "store.h"
#include "transport.h"

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

bool dmn_join_is_frame(const uint8_t *buf, size_t len)
{
    return len >= DMN_JOIN_HEADER && buf[4] == DM_WIRE_VERSION &&
           (buf[5] == DMN_JOIN_TYPE || buf[5] == DMN_JOIN_ENTRY_TYPE);
}

size_t dmn_join_encode_request(uint8_t *buf)
{
    put_be32(buf, DMN_JOIN_HEADER);
    buf[4] = DM_WIRE_VERSION;
    buf[5] = DMN_JOIN_TYPE;
    return DMN_JOIN_HEADER;
}

size_t dmn_join_encode_entry(uint8_t *buf, uint32_t max_members, uint32_t members, uint32_t id,
                             const char *address)
{
    size_t alen = MIN(strlen(address), sizeof ((dmn_join_entry *)0)->address - 1);
    size_t len = DMN_JOIN_HEADER + 3 + alen;
    put_be32(buf, (uint32_t)len);
    buf[4] = DM_WIRE_VERSION;
    buf[5] = DMN_JOIN_ENTRY_TYPE;
    buf[6] = (uint8_t)max_members;
    buf[7] = (uint8_t)members;
    buf[8] = (uint8_t)id;
    memcpy(buf + 9, address, alen);
    return len;
}

static uint32_t frame_len(const uint8_t *buf)
{
    return (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
}

const char *dmn_join_parse(const uint8_t *buf, size_t len, int *type, bool *sealed,
                           dmn_join_entry *e)
{
    if (!dmn_join_is_frame(buf, len))
        return "not a join frame";
    uint32_t flen = frame_len(buf);
    *sealed = len > DMN_JOIN_TRAILER && flen == len - DMN_JOIN_TRAILER;
    if (flen != len && !*sealed)
        return "length prefix differs from the datagram's (with or without a seal)";
    len = flen;
    *type = buf[5];
    if (*type == DMN_JOIN_TYPE)
        return len == DMN_JOIN_HEADER ? NULL : "JOIN with a body";
    if (len < DMN_JOIN_HEADER + 4 || len >= DMN_JOIN_HEADER + 3 + sizeof e->address)
        return "JOIN_ENTRY of a bad length";
    e->max_members = buf[6];
    e->members = buf[7];
    e->id = buf[8];
    memcpy(e->address, buf + 9, len - 9);
    e->address[len - 9] = '\0';
    if (e->max_members == 0 || e->max_members > DM_MAX_MEMBERS || e->members == 0 ||
        e->members > e->max_members || e->id >= e->max_members)
        return "JOIN_ENTRY with ids out of range";
    if (memchr(e->address, '\0', len - 9) || !dmn_split_address(e->address, NULL, NULL))
        return "JOIN_ENTRY with a bad address";
    return NULL;
}

size_t dmn_join_seal(dmn_auth *a, uint8_t *buf, size_t len, const uint8_t nonce[DMN_JOIN_NONCE],
                     int64_t now_real)
{
    memcpy(buf + len, nonce, DMN_JOIN_NONCE);
    put_be32(buf + len + DMN_JOIN_NONCE, (uint32_t)((uint64_t)now_real >> 32));
    put_be32(buf + len + DMN_JOIN_NONCE + 4, (uint32_t)now_real);
    dmn_auth_mac(a, buf, len + DMN_JOIN_NONCE + 8, buf + len + DMN_JOIN_NONCE + 8);
    return len + DMN_JOIN_TRAILER;
}

dmn_auth_result dmn_join_open(dmn_auth *a, const uint8_t *buf, size_t len, int64_t now_real,
                              uint8_t nonce[DMN_JOIN_NONCE])
{
    if (len < DMN_JOIN_HEADER + DMN_JOIN_TRAILER || frame_len(buf) != len - DMN_JOIN_TRAILER)
        return DMN_AUTH_MISSING;
    size_t body = len - DMN_JOIN_TRAILER;
    if (!dmn_auth_mac_verifies(a, buf, body + DMN_JOIN_NONCE + 8, buf + body + DMN_JOIN_NONCE + 8))
        return DMN_AUTH_BADMAC;
    int64_t sent = (int64_t)((uint64_t)frame_len(buf + body + DMN_JOIN_NONCE) << 32 |
                             frame_len(buf + body + DMN_JOIN_NONCE + 4));
    if (!dmn_auth_fresh(a, sent, now_real))
        return DMN_AUTH_STALE;
    memcpy(nonce, buf + body, DMN_JOIN_NONCE);
    return DMN_AUTH_OK;
}

void dmn_join_nonce(uint8_t nonce[DMN_JOIN_NONCE])
{
    /* Unpredictable is not needed (the MAC makes answers unforgeable), only
     * distinct across runs and nodes: the random source does that. */
    if (gnutls_rnd(GNUTLS_RND_NONCE, nonce, DMN_JOIN_NONCE) < 0)
        for (int i = 0; i < DMN_JOIN_NONCE; i += 4) {
            uint32_t r = g_random_int();
            memcpy(nonce + i, &r, 4);
        }
}

/* ------------------------------------------------------------ the joiner */

typedef struct joiner {
    uv_loop_t *loop;
    uv_udp_t udp;
    uv_timer_t timer, deadline;
    uv_signal_t sigint, sigterm;
    const char *self, *peers_csv;
    dmn_auth *auth;            /* NULL: no key_file */
    unsigned auth_failures;    /* answers that failed authentication */
    dmn_control *ctl;          /* the control socket while joining (STATUS only), or NULL */
    uint8_t nonce[DMN_JOIN_NONCE];
    bool told_auth;            /* said once that answers fail authentication */
    unsigned rounds, answers;  /* JOIN rounds sent, answers taken (to say when none come) */
    GPtrArray *peers;          /* struct sockaddr_storage* */
    uint32_t max_members, members;
    char *by_id[DM_MAX_MEMBERS];
    bool done, failed;
    char *why;
    uint8_t rbuf[2048];
} joiner;

static void send_requests(uv_timer_t *t)
{
    joiner *j = t->data;
    uint8_t buf[DMN_JOIN_HEADER + DMN_JOIN_TRAILER];
    size_t len = dmn_join_encode_request(buf);
    if (j->auth)
        len = dmn_join_seal(j->auth, buf, len, j->nonce, g_get_real_time());
    /* Members answer even before the joiner's address is added; silence
     * after 5 s means they are down or refuse its JOINs (with key_file: a
     * wrong key, which they log as an authentication failure). */
    if (++j->rounds == 10 && !j->answers)
        g_warning("join: no member has answered in 5 s: are the members given up%s?",
                  j->auth ? ", and is this node's key_file the cluster's" : "");
    for (guint i = 0; i < j->peers->len; i++) {
        uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
        uv_udp_try_send(&j->udp, &b, 1, g_ptr_array_index(j->peers, i));
    }
}

/* Done once self has an id and ids 0..members-1 all have addresses. */
static void check_done(joiner *j)
{
    if (!j->members)
        return;
    bool self = false;
    for (uint32_t i = 0; i < j->max_members; i++) {
        if (i < j->members && !j->by_id[i])
            return;
        self = self || (j->by_id[i] && strcmp(j->by_id[i], j->self) == 0);
    }
    if (self)
        j->done = true;
}

static void stop_all(joiner *j)
{
    uv_udp_recv_stop(&j->udp);
    uv_timer_stop(&j->timer);
    uv_timer_stop(&j->deadline);
    uv_signal_stop(&j->sigint);
    uv_signal_stop(&j->sigterm);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    joiner *j = h->data;
    *buf = uv_buf_init((char *)j->rbuf, sizeof j->rbuf);
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                    unsigned flags)
{
    joiner *j = h->data;
    (void)flags;
    if (nread <= 0 || !addr)
        return;
    int type = 0;
    bool sealed = false;
    dmn_join_entry e;
    const char *bad = dmn_join_parse((const uint8_t *)buf->base, (size_t)nread, &type, &sealed, &e);
    if (bad || type != DMN_JOIN_ENTRY_TYPE) {
        g_info("join: ignored a datagram: %s", bad ? bad : "not an answer");
        return;
    }
    if (j->auth) {
        uint8_t nonce[DMN_JOIN_NONCE];
        dmn_auth_result r = dmn_join_open(j->auth, (const uint8_t *)buf->base, (size_t)nread,
                                          g_get_real_time(), nonce);
        if (r == DMN_AUTH_OK && memcmp(nonce, j->nonce, DMN_JOIN_NONCE) != 0) {
            g_info("join: ignored an answer to another JOIN (a replay, or a late one)");
            return;
        }
        if (r != DMN_AUTH_OK) {
            j->auth_failures++;
            if (!j->told_auth)
                g_warning("join: answers fail authentication (%s): check the key file",
                          dmn_auth_result_name(r));
            j->told_auth = true;
            return;
        }
    } else if (sealed) {
        g_info("join: ignored a sealed answer (no key_file here)");
        return;
    }
    if (j->members && (e.members != j->members || e.max_members != j->max_members)) {
        g_warning("join: peers disagree on the member count or max_members (%u/%u against %u/%u): "
                  "ignored", e.members, e.max_members, j->members, j->max_members);
        return;
    }
    j->answers++;
    j->members = e.members;
    j->max_members = e.max_members;
    if (!j->by_id[e.id])
        j->by_id[e.id] = g_strdup(e.address);
    check_done(j);
    if (j->done)
        stop_all(j);
}

static void on_deadline(uv_timer_t *t)
{
    joiner *j = t->data;
    j->failed = true;
    j->why = g_strdup_printf("no configuration binding %s was learnt in time (run `dmutexctl "
                             "members add %s` at a member)", j->self, j->self);
    stop_all(j);
}

static void on_signal(uv_signal_t *s, int signum)
{
    joiner *j = s->data;
    j->failed = true;
    j->why = g_strdup_printf("stopped by signal %d while joining", signum);
    stop_all(j);
}

static void on_closed(uv_handle_t *h) { (void)h; }

/* ------------------------------------------ the control socket meanwhile
 *
 * A joiner has no node yet, but an operator, or a health check, asks
 * `dmutexctl status` what it is doing. Until it starts, its control socket
 * (net/control.h's joining form: the daemon's sessions and line rules)
 * answers STATUS and JSON STATUS with the join's state and every other
 * command ERR ENOTMEMBER; dmutexd's own control socket takes the path over
 * once the node starts. */

#define JOIN_SESSIONS_MAX 16

static const char *join_state(const joiner *j)
{
    return j->answers ? "waiting-for-add" : "unanswered";
}

static char *join_hint(const joiner *j)
{
    if (j->answers)
        return g_strdup_printf("run `dmutexctl members add %s` at a member: this node starts once "
                               "a configuration binding it is installed", j->self);
    return g_strdup_printf("no member has answered yet: are %s up%s?", j->peers_csv,
                           j->auth ? ", and is this node's key_file the cluster's" : "");
}

static void status_text(const joiner *j, GString *out)
{
    g_autofree char *hint = join_hint(j);
    g_string_append_printf(out, "joining %s state=%s asking=%s rounds=%u entries=%u "
                           "auth_failures=%u\nhint %s\n", j->self, join_state(j), j->peers_csv,
                           j->rounds, j->answers, j->auth_failures, hint);
}

static void status_json(const joiner *j, GString *out)
{
    g_autofree char *hint = join_hint(j);
    dmn_json w;
    dmn_json_init(&w, out);
    dmn_json_begin_object(&w, NULL);
    dmn_json_uint(&w, "schema_version", 1);
    dmn_json_begin_object(&w, "joining");
    dmn_json_string(&w, "address", j->self);
    dmn_json_string(&w, "state", join_state(j));
    g_auto(GStrv) peers = g_strsplit(j->peers_csv, ",", -1);
    dmn_json_begin_array(&w, "asking");
    for (char **p = peers; *p; p++)
        if (*g_strstrip(*p))
            dmn_json_string(&w, NULL, *p);
    dmn_json_end_array(&w);
    dmn_json_uint(&w, "rounds", j->rounds);
    dmn_json_uint(&w, "entries", j->answers);
    dmn_json_uint(&w, "auth_failures", j->auth_failures);
    dmn_json_string(&w, "hint", hint);
    dmn_json_end_object(&w);
    dmn_json_end_object(&w);
    g_string_append_c(out, '\n');
}

/* dmn_control_status_fn of the joining control socket. */
static void join_status(void *user, gboolean json, GString *out)
{
    if (json)
        status_json(user, out);
    else
        status_text(user, out);
}



static dmn_control *joining_control(joiner *j, const char *path, GError **err)
{
    g_autofree char *refusal = g_strdup_printf(
        "%s is not a member yet: it is joining, and waits until an operator runs `dmutexctl members "
        "add %s` at a member (STATUS says more)", j->self, j->self);
    return dmn_control_new_joining(j->loop, path, JOIN_SESSIONS_MAX, join_status, j, refusal, err);
}

gboolean dmn_join_run(uv_loop_t *loop, const char *self, const char *peers_csv, int64_t timeout_us,
                      dmn_auth *auth, const char *control, dmn_join_result *out, GError **err)
{
    memset(out, 0, sizeof *out);
    joiner *j = g_new0(joiner, 1);
    j->loop = loop;
    j->self = self;
    j->peers_csv = peers_csv;
    j->auth = auth;
    dmn_join_nonce(j->nonce);
    j->peers = g_ptr_array_new_with_free_func(g_free);
    gboolean ok = TRUE;
    g_auto(GStrv) parts = g_strsplit(peers_csv, ",", -1);
    for (char **p = parts; *p && ok; p++) {
        g_strstrip(*p);
        if (!**p)
            continue;
        struct sockaddr_storage *ss = g_new0(struct sockaddr_storage, 1);
        g_ptr_array_add(j->peers, ss);
        ok = dmn_resolve(loop, *p, ss, err);
    }
    struct sockaddr_storage me;
    if (ok && j->peers->len == 0) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "--join names no peer");
        ok = FALSE;
    }
    if (ok)
        ok = dmn_resolve(loop, self, &me, err);
    if (!ok) {
        g_ptr_array_unref(j->peers);
        g_free(j);
        return FALSE;
    }
    uv_udp_init(loop, &j->udp);
    j->udp.data = j;
    uv_timer_init(loop, &j->timer);
    j->timer.data = j;
    uv_timer_init(loop, &j->deadline);
    j->deadline.data = j;
    uv_signal_init(loop, &j->sigint);
    j->sigint.data = j;
    uv_signal_init(loop, &j->sigterm);
    j->sigterm.data = j;
    int rc = uv_udp_bind(&j->udp, (const struct sockaddr *)&me, 0);
    if (rc < 0) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "cannot listen on %s: %s", self, uv_strerror(rc));
        ok = FALSE;
    } else if (control && !(j->ctl = joining_control(j, control, err))) {
        ok = FALSE;
    } else {
        if (control)
            g_message("control socket %s (while joining: STATUS only)", control);
        g_message("joining: asking %s for the configuration, waiting until it binds %s (an "
                  "operator runs `dmutexctl members add %s` at a member)", peers_csv, self, self);
        uv_udp_recv_start(&j->udp, on_alloc, on_recv);
        uv_timer_start(&j->timer, send_requests, 0, 500);
        if (timeout_us > 0)
            uv_timer_start(&j->deadline, on_deadline, (uint64_t)(timeout_us / 1000), 0);
        uv_signal_start(&j->sigint, on_signal, SIGINT);
        uv_signal_start(&j->sigterm, on_signal, SIGTERM);
        while (!j->done && !j->failed && uv_run(loop, UV_RUN_ONCE))
            ;
        stop_all(j);
        if (j->done) {
            out->members = g_ptr_array_new_with_free_func(g_free);
            out->bindings = g_ptr_array_new_with_free_func(g_free);
            out->max_members = j->max_members;
            for (uint32_t i = 0; i < j->max_members; i++) {
                if (!j->by_id[i])
                    continue;
                if (i < j->members)
                    g_ptr_array_add(out->members, g_strdup(j->by_id[i]));
                else
                    g_ptr_array_add(out->bindings, g_strdup_printf("%u=%s", i, j->by_id[i]));
                if (strcmp(j->by_id[i], self) == 0)
                    out->self_id = i;
            }
            g_message("joined: %s is id %u of %u (%u --members)", self, out->self_id,
                      j->max_members, j->members);
        } else {
            g_set_error(err, DMN_CONFIG_ERROR, 0, "%s", j->why ? j->why : "join failed");
            ok = FALSE;
        }
    }
    if (j->ctl)
        dmn_control_close(j->ctl);
    uv_close((uv_handle_t *)&j->udp, on_closed);
    uv_close((uv_handle_t *)&j->timer, on_closed);
    uv_close((uv_handle_t *)&j->deadline, on_closed);
    uv_close((uv_handle_t *)&j->sigint, on_closed);
    uv_close((uv_handle_t *)&j->sigterm, on_closed);
    uv_run(loop, UV_RUN_NOWAIT);
    for (uint32_t i = 0; i < DM_MAX_MEMBERS; i++)
        g_free(j->by_id[i]);
    g_free(j->why);
    dmn_control_free(j->ctl);
    g_ptr_array_unref(j->peers);
    g_free(j);
    return ok;
}

void dmn_join_result_clear(dmn_join_result *r)
{
    if (r->members)
        g_ptr_array_unref(r->members);
    if (r->bindings)
        g_ptr_array_unref(r->bindings);
    memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------ the address table */

bool dmn_table_parse_binding(const char *text, size_t len, uint32_t *id, char **address)
{
    g_autofree char *s = g_strndup(text, len);
    char *eq = strchr(s, '=');
    if (!eq || eq == s)
        return false;
    *eq = '\0';
    char *end = NULL;
    guint64 v = g_ascii_strtoull(s, &end, 10);
    if (*end != '\0' || !g_ascii_isdigit(s[0]) || v >= DM_MAX_MEMBERS ||
        !dmn_split_address(eq + 1, NULL, NULL))
        return false;
    *id = (uint32_t)v;
    *address = g_strdup(eq + 1);
    return true;
}

char *dmn_table_format(uint32_t members, const char *const *by_id, uint32_t n_ids)
{
    GString *out = g_string_new(NULL);
    g_string_append_printf(out, "max_members=%u\nmembers=%u\n", n_ids, members);
    for (uint32_t i = 0; i < n_ids; i++)
        if (by_id[i])
            g_string_append_printf(out, "%u=%s\n", i, by_id[i]);
    return g_string_free(out, FALSE);
}

/* "KEY=N" with KEY one of the header words: *v, true. */
static bool header_value(const char *line, const char *key, uint32_t *v)
{
    size_t kl = strlen(key);
    if (strncmp(line, key, kl) != 0 || line[kl] != '=' || !g_ascii_isdigit(line[kl + 1]))
        return false;
    char *end = NULL;
    guint64 x = g_ascii_strtoull(line + kl + 1, &end, 10);
    if (*end != '\0' || x == 0 || x > DM_MAX_MEMBERS)
        return false;
    *v = (uint32_t)x;
    return true;
}

gboolean dmn_table_load(const char *data_dir, const char *self, dmn_join_result *out, GError **err)
{
    memset(out, 0, sizeof *out);
    out->self_id = UINT32_MAX;
    GBytes *b = NULL;
    if (!dmn_store_load_file(data_dir, DMN_TABLE_FILE, &b, err))
        return FALSE;
    if (!b)
        return TRUE;
    gsize len = 0;
    const char *data = g_bytes_get_data(b, &len);
    g_autofree char *text = g_strndup(data, len);
    g_bytes_unref(b);
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    char *by_id[DM_MAX_MEMBERS] = { 0 };
    uint32_t members = 0;
    const char *bad = NULL, *bad_line = NULL;
    for (char **l = lines; *l && !bad; l++) {
        uint32_t id = 0;
        char *address = NULL;
        if (!**l || header_value(*l, "max_members", &out->max_members) ||
            header_value(*l, "members", &members))
            continue;
        if (!dmn_table_parse_binding(*l, strlen(*l), &id, &address))
            bad = "want ID=HOST:PORT, members=K or max_members=M";
        else if (by_id[id] && strcmp(by_id[id], address) != 0)
            bad = "a second address for an id";
        else if (out->max_members && id >= out->max_members)
            bad = "an id past max_members";
        if (bad) {
            bad_line = *l;
            g_free(address);
        } else if (!by_id[id]) {
            by_id[id] = address;
        } else {
            g_free(address);
        }
    }
    for (uint32_t i = 0; i < members && !bad; i++)
        if (!by_id[i])
            bad = "members=K but an id below K has no address";
    if (!bad && out->max_members && members > out->max_members)
        bad = "members=K past max_members";
    if (!bad) {
        out->members = g_ptr_array_new_with_free_func(g_free);
        out->bindings = g_ptr_array_new_with_free_func(g_free);
        for (uint32_t i = 0; i < DM_MAX_MEMBERS; i++) {
            if (!by_id[i])
                continue;
            if (i < members)
                g_ptr_array_add(out->members, g_strdup(by_id[i]));
            else
                g_ptr_array_add(out->bindings, g_strdup_printf("%u=%s", i, by_id[i]));
            if (self && strcmp(by_id[i], self) == 0)
                out->self_id = i;
        }
    }
    for (uint32_t i = 0; i < DM_MAX_MEMBERS; i++)
        g_free(by_id[i]);
    if (bad) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "%s/%s%s%s%s: %s", data_dir, DMN_TABLE_FILE,
                    bad_line ? ": line '" : "", bad_line ? bad_line : "", bad_line ? "'" : "", bad);
        return FALSE;
    }
    return TRUE;
}
