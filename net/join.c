/* dmutex net: the JOIN exchange (see join.h): frames, and the joiner's wait. */
#include "join.h"

#include <signal.h>
#include <string.h>

#include "codec.h"
#include "netconfig.h"
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

const char *dmn_join_parse(const uint8_t *buf, size_t len, int *type, dmn_join_entry *e)
{
    if (!dmn_join_is_frame(buf, len))
        return "not a join frame";
    uint32_t flen = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
    if (flen != len)
        return "length prefix differs from the datagram's";
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

/* ------------------------------------------------------------ the joiner */

typedef struct joiner {
    uv_loop_t *loop;
    uv_udp_t udp;
    uv_timer_t timer, deadline;
    uv_signal_t sigint, sigterm;
    const char *self;
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
    uint8_t buf[DMN_JOIN_HEADER];
    size_t len = dmn_join_encode_request(buf);
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
    dmn_join_entry e;
    const char *bad = dmn_join_parse((const uint8_t *)buf->base, (size_t)nread, &type, &e);
    if (bad || type != DMN_JOIN_ENTRY_TYPE) {
        g_info("join: ignored a datagram: %s", bad ? bad : "not an answer");
        return;
    }
    if (j->members && (e.members != j->members || e.max_members != j->max_members)) {
        g_warning("join: peers disagree on the member count or max_members (%u/%u against %u/%u): "
                  "ignored", e.members, e.max_members, j->members, j->max_members);
        return;
    }
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

gboolean dmn_join_run(uv_loop_t *loop, const char *self, const char *peers_csv, int64_t timeout_us,
                      dmn_join_result *out, GError **err)
{
    memset(out, 0, sizeof *out);
    joiner *j = g_new0(joiner, 1);
    j->loop = loop;
    j->self = self;
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
    } else {
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
    uv_close((uv_handle_t *)&j->udp, on_closed);
    uv_close((uv_handle_t *)&j->timer, on_closed);
    uv_close((uv_handle_t *)&j->deadline, on_closed);
    uv_close((uv_handle_t *)&j->sigint, on_closed);
    uv_close((uv_handle_t *)&j->sigterm, on_closed);
    uv_run(loop, UV_RUN_NOWAIT);
    for (uint32_t i = 0; i < DM_MAX_MEMBERS; i++)
        g_free(j->by_id[i]);
    g_free(j->why);
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
