#include "transport.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "agree.h"
#include "auth.h"
#include "json.h"
#include "metrics.h"
#include "codec.h"
#include "error.h"
#include "store.h"
#include "tls.h"
#include "join.h"

#define FRAME_CAP (DM_FRAME_MAX + DMN_AUTH_TRAILER)
#define LOG_INTERVAL_US G_USEC_PER_SEC
#define SHUTDOWN_FLUSH_US (G_USEC_PER_SEC)

typedef struct peer peer;

/* One outgoing TCP connection. Freed by its close callback; `peer` is NULL
 * once the connection is detached from its peer (failed or closing). */
typedef struct outconn {
    uv_tcp_t tcp;
    dmn_node *node;
    uv_connect_t connect;
    uv_write_t write;
    peer *peer;
    bool connected;
    bool writing;
    int64_t connected_at;
    GByteArray *inflight;
    dmn_tls *tls;           /* with TLS: the client session */
    size_t fill;            /* the peer's HELLO answer, being read */
    uint8_t acc[FRAME_CAP];
} outconn;

struct peer {
    dmn_node *node;
    uint32_t id;
    const char *address;    /* a --members entry, or `owned` */
    char *owned;            /* a spare id's: its binding's address, or a placeholder */
    bool bound;             /* has an address (a --members entry, or an installed binding) */
    struct sockaddr_storage addr;
    outconn *conn;
    bool backoff;           /* reconnecting later: drop what is sent meanwhile */
    int64_t backoff_us;
    uv_timer_t timer;
    GByteArray *out;        /* queued, not yet handed to libuv */
    bool dirty;
    uint64_t dropped, connects, failures;
};

/* One inbound TCP connection: frames towards us. */
typedef struct inconn {
    uv_tcp_t tcp;
    dmn_node *node;
    GList *link;            /* in node->inbound */
    bool proven;            /* delivered at least one valid frame */
    bool closing;
    dmn_tls *tls;           /* with TLS: the server session */
    char remote[64];        /* IP:PORT of the other end, for the log */
    char remote_host[64];   /* IP alone: failures are counted per host (ports change) */
    bool hello;             /* its HELLO came (nothing else is taken before) */
    bool refused;           /* and said the peer's settings differ: frames dropped */
    char *peer;             /* the address its HELLO names */
    size_t fill;
    uint8_t acc[FRAME_CAP];
} inconn;

typedef struct queued_event {
    dm_event ev;
    char name[DM_NAME_MAX + 1];
    bool has_name;
} queued_event;


/* A lock() the core refused with -DM_ERECOVERING (it has no token floor
 * yet): started once the floor is in, or failed with -DM_ETIMEDOUT at its
 * deadline, so owners never see that transient code. Its id (bit 63 set,
 * unlike any core attempt id) stands for the attempt until then, and for
 * the core attempt afterwards (an alias). */
typedef struct deferred_lock {
    char *name;
    uint64_t id;
    int64_t requested_at;
    int64_t deadline;
    bool try_once;           /* dmn_node_try_lock */
} deferred_lock;

typedef struct lock_alias {
    uint64_t core;       /* the core's attempt id */
    uint64_t shown;      /* the id the owner was given */
} lock_alias;

#define DEFERRED_ID_BASE (UINT64_C(1) << 63)

/* Under the epoch policy the ids past --members are spare. A configuration
 * that adds one for the first time carries its binding (the core's
 * dm_epoch_config.bind, chosen with it): "ID=HOST:PORT". This node keeps
 * its address table -- the --members and the bindings it installed -- in
 * DIR/bindings (net/join.h), so that it can address those members after a
 * restart, and a joined node can restart without --join. */
static void install_binding(dmn_node *n);
static bool bind_id(dmn_node *n, uint32_t id, char *address, GError **err);
static bool save_bindings(dmn_node *n);

struct dmn_node {
    uv_loop_t *loop;
    const dmn_config *cfg;
    dm_node *core;
    dmn_event_fn event_cb;
    void *event_user;
    uv_timer_t timer;
    uv_timer_t shutdown_timer;
    uv_timer_t catch_up_timer;  /* epoch policy: a node that is no member asks for news */
    uv_idle_t flusher;       /* writes the dirty peers' queues; see settle */
    uv_udp_t udp;
    uv_tcp_t listener;
    bool udp_open, listener_open, timers_open;
    peer *peers;
    uint32_t n_peers;
    GQueue inbound;
    dmn_auth *auth;
    GPtrArray *keys;          /* the keyring in use (GBytes*), first sends */
    dmn_tls_ctx *tls;         /* NULL: plain TCP */
    GPtrArray *table;         /* the address table by id (const char*, NULL: unbound), which
                                 TLS checks certificates against; entries point at peers' */
    dmn_authlog *authlog;     /* authentication failures per peer */
    uint8_t join_nonce[DMN_JOIN_NONCE];   /* of this node's JOINs (ask_bindings), under a key */
    dmn_agreebook *agree;     /* peers whose settings differ (net/agree.h) */
    GArray *events;
    GPtrArray *dirty;
    bool settling, resettle, closing;
    GQueue deferred;          /* deferred_lock*, in arrival order */
    GHashTable *aliases;      /* name -> lock_alias, for deferred locks the core took */
    uint64_t next_deferred;
    dm_recovery recovery_seen;
    uint64_t bad[DMN_BAD_COUNT];
    int64_t bad_logged_at[DMN_BAD_COUNT];
    uint64_t bad_suppressed[DMN_BAD_COUNT];
    GBytes *persisted;
    uint64_t udp_sent, udp_dropped, tcp_frames_sent, tcp_dropped, frames_received;
    uint64_t tcp_pings, tcp_acks;   /* stream-marked PINGs and ACKs queued on TCP */
    void (*shutdown_done)(void *);
    void *shutdown_user;
    int64_t shutdown_deadline;
    uint8_t rbuf[65536];
};

static const char *const bad_names[DMN_BAD_COUNT] = {
    "garbage", "truncated", "oversize", "version", "auth", "replay", "rejected", "conn_limit",
    "control", "http", "config_mismatch",
};

const char *dmn_bad_kind_name(dmn_bad_kind k)
{
    return k < DMN_BAD_COUNT ? bad_names[k] : "unknown";
}

const char *dmn_member_state_name(int state)
{
    switch (state) {
    case DM_MEMBER_ALIVE: return "alive";
    case DM_MEMBER_SUSPECT: return "suspect";
    case DM_MEMBER_DEAD: return "dead";
    case DM_MEMBER_LEFT: return "left";
    }
    return "unknown";
}

static int64_t now_us(void)
{
    return (int64_t)(uv_hrtime() / 1000);
}

int64_t dmn_node_now(dmn_node *n)
{
    (void)n;
    return now_us();
}

/* ------------------------------------------------------------ bad input */

static void count_bad_v(dmn_node *n, dmn_bad_kind kind, const char *fmt, va_list ap)
{
    n->bad[kind]++;
    int64_t now = now_us();
    if (n->bad_logged_at[kind] != 0 && now - n->bad_logged_at[kind] < LOG_INTERVAL_US) {
        n->bad_suppressed[kind]++;
        return;
    }
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (n->bad_suppressed[kind])
        g_message("bad input (%s): %s [and %" G_GUINT64_FORMAT " more since the last report]",
                  bad_names[kind], msg, n->bad_suppressed[kind]);
    else
        g_message("bad input (%s): %s", bad_names[kind], msg);
    n->bad_logged_at[kind] = now;
    n->bad_suppressed[kind] = 0;
}

void dmn_node_count_bad(dmn_node *n, dmn_bad_kind kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    count_bad_v(n, kind, fmt, ap);
    va_end(ap);
}

/* Authentication failures (a bad MAC, a datagram no key opens, a refused
 * TLS session, a frame whose sender is not the member its certificate
 * names): counted per peer for STATUS, and said in words an operator can
 * act on, at most once per second per peer (net/auth.h, dmn_authlog). */
static void auth_failure(dmn_node *n, const char *peer, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void auth_failure(dmn_node *n, const char *peer, const char *fmt, ...)
{
    uint64_t suppressed = 0;
    if (!dmn_authlog_note(n->authlog, peer, now_us(), &suppressed))
        return;
    char msg[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (suppressed)
        g_warning("%s [and %" G_GUINT64_FORMAT " more from it since the last report]", msg, suppressed);
    else
        g_warning("%s", msg);
}

/* Best effort: put a session's last words (a TLS alert) on the wire
 * before the connection is closed, which would cancel a queued write. */
static void tls_last_words(uv_stream_t *s, dmn_tls *t)
{
    GByteArray *out = dmn_tls_out(t);
    if (out->len == 0)
        return;
    uv_buf_t b = uv_buf_init((char *)out->data, out->len);
    uv_try_write(s, &b, 1);
    g_byte_array_set_size(out, 0);
}

static dmn_bad_kind kind_of_codec_error(int rc)
{
    switch (-rc) {
    case DM_ETRUNC: return DMN_BAD_TRUNCATED;
    case DM_EOVERSIZE: return DMN_BAD_OVERSIZE;
    case DM_EVERSION: return DMN_BAD_VERSION;
    default: return DMN_BAD_GARBAGE;
    }
}

/* "IP:PORT" ("[v6]:PORT") of a socket address, for the log. */
static void sockaddr_text(const struct sockaddr *sa, char *out, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        uv_ip4_name(in, ip, sizeof ip);
        port = ntohs(in->sin_port);
        g_snprintf(out, cap, "%s:%d", ip, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        uv_ip6_name(in6, ip, sizeof ip);
        port = ntohs(in6->sin6_port);
        g_snprintf(out, cap, "[%s]:%d", ip, port);
    } else {
        g_strlcpy(out, "?", cap);
    }
}

/* ------------------------------------------------------------ settling */

static void settle(dmn_node *n);

static void on_timer(uv_timer_t *t)
{
    settle(t->data);
}

static void peer_flush(peer *p);

/* Epoch policy: nobody sends lock traffic to a node outside the installed
 * configuration, so it would never hear of later ones by itself (a removed
 * member, or one restarted into an old configuration): it asks, once a
 * second. Members hear of them from their traffic. */
static void ask_bindings(dmn_node *n);

static void on_catch_up(uv_timer_t *t)
{
    dmn_node *n = t->data;
    if (n->closing)
        return;
    ask_bindings(n);
    if (dm_node_is_config_member(n->core))
        return;
    dm_node_epoch_catch_up(n->core, now_us());
    settle(n);
}

static void deliver_events(dmn_node *n)
{
    while (n->events->len > 0) {
        queued_event qe = g_array_index(n->events, queued_event, 0);
        g_array_remove_index(n->events, 0);
        qe.ev.name = qe.has_name ? qe.name : NULL;
        const dm_event *ev = &qe.ev;
        bool outcome = ev->type == DM_EV_GRANTED || ev->type == DM_EV_FAILED ||
                       ev->type == DM_EV_LOST || ev->type == DM_EV_RENEWED;
        if (ev->name && outcome) {
            lock_alias *al = g_hash_table_lookup(n->aliases, ev->name);
            if (al && al->core == ev->attempt) {
                qe.ev.attempt = al->shown;
                if (ev->type == DM_EV_FAILED || ev->type == DM_EV_LOST)
                    g_hash_table_remove(n->aliases, ev->name);
            }
        }
        switch (ev->type) {
        case DM_EV_GRANTED: {
            g_info("lock %s granted: token %" G_GUINT64_FORMAT ", quorum %u, %u messages, %" G_GINT64_FORMAT " us",
                   ev->name, ev->token, ev->quorum_size, ev->messages, now_us() - ev->requested_at);
            break;
        }
        case DM_EV_RENEWED:
            break;
        case DM_EV_LOST: {
            g_warning("lock %s LOST (token %" G_GUINT64_FORMAT "): %s", ev->name, ev->token,
                      dm_strerror(ev->reason));
            break;
        }
        case DM_EV_FAILED:
            g_info("lock %s failed: %s", ev->name, dm_error_name(ev->reason));
            break;
        case DM_EV_MEMBER: {
            static const char *const names[] = { "?", "join", "alive", "suspect", "dead", "left" };
            g_message("member %s: %s (incarnation %u)", dmn_node_address(n, ev->member),
                      ev->member_event <= DM_MEMBER_EV_LEFT ? names[ev->member_event] : "?",
                      ev->incarnation);
            break;
        }
        case DM_EV_VIEW:
            g_info("view: %u members, hash %016" G_GINT64_MODIFIER "x", ev->view_size, ev->view_hash);
            break;
        case DM_EV_EPOCH:
            install_binding(n);
            g_message("configuration epoch %" G_GUINT64_FORMAT ": %u members", ev->epoch,
                      ev->view_size);
            if (!dm_node_is_config_member(n->core))
                g_warning("not a member of configuration epoch %" G_GUINT64_FORMAT
                          ": granting nothing until a configuration that holds %s is installed",
                          ev->epoch, n->cfg->self);
            break;
        case DM_EV_RECONFIG:
            if (ev->reason == 0)
                g_message("membership change installed: epoch %" G_GUINT64_FORMAT ", %u members",
                          ev->epoch, ev->view_size);
            else
                g_warning("membership change failed in epoch %" G_GUINT64_FORMAT ": %s", ev->epoch,
                          dm_error_name(ev->reason));
            break;
        case DM_EV_ARBITER:
            if (ev->arbiter_action == DM_ARB_LAPSED)
                g_info("lock %s: the grant to %s %s; no grant of it for lock_delay", ev->name,
                       dmn_node_address(n, ev->member),
                       ev->reason == -DM_ELEASE ? "ran out (no release)" : "was revoked");
            break;
        }
        if (n->event_cb)
            n->event_cb(n->event_user, ev);
    }
}

static int64_t deferred_deadline(dmn_node *n)
{
    int64_t dl = DM_NEVER;
    for (GList *l = n->deferred.head; l; l = l->next)
        dl = MIN(dl, ((deferred_lock *)l->data)->deadline);
    return dl;
}

static void arm_timer(dmn_node *n)
{
    if (n->closing)
        return;
    int64_t dl = MIN(dm_node_next_deadline(n->core), deferred_deadline(n));
    if (dl == DM_NEVER) {
        uv_timer_stop(&n->timer);
        return;
    }
    int64_t now = now_us();
    uint64_t ms = dl <= now ? 0 : (uint64_t)((dl - now + 999) / 1000);
    uv_timer_start(&n->timer, on_timer, ms, 0);
}

static void drv_notify(void *user, const dm_event *ev);

static void deferred_free(deferred_lock *d)
{
    g_free(d->name);
    g_free(d);
}

/* End a deferred lock with FAILED(reason), delivered like the core's. */
static void deferred_fail(dmn_node *n, deferred_lock *d, int reason)
{
    dm_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = DM_EV_FAILED;
    ev.name = d->name;
    ev.attempt = d->id;
    ev.reason = reason;
    ev.requested_at = d->requested_at;
    drv_notify(n, &ev);
    if (reason == -DM_ETIMEDOUT)
        g_message("lock %s timed out while this node recovers (no token floor from a quorum yet)", d->name);
    deferred_free(d);
}

/* Start the deferred locks once the core has its token floor; fail those
 * whose deadline passed meanwhile. */
static void run_deferred(dmn_node *n, int64_t now)
{
    bool floor = dm_node_recovery(n->core, NULL) == DM_RECOVERY_FLOOR;
    for (GList *l = n->deferred.head; l;) {
        GList *next = l->next;
        deferred_lock *d = l->data;
        if (d->deadline <= now) {
            g_queue_delete_link(&n->deferred, l);
            deferred_fail(n, d, -DM_ETIMEDOUT);
        } else if (!floor) {
            uint64_t core = 0;
            int rc = d->try_once ? dm_node_try_lock(n->core, now, d->name, d->deadline - now, &core)
                                 : dm_node_lock(n->core, now, d->name, d->deadline - now, &core);
            if (rc == -DM_ERECOVERING) {
                floor = true;
            } else {
                g_queue_delete_link(&n->deferred, l);
                if (rc < 0) {
                    deferred_fail(n, d, rc);
                } else {
                    lock_alias *al = g_new(lock_alias, 1);
                    al->core = core;
                    al->shown = d->id;
                    g_hash_table_replace(n->aliases, g_strdup(d->name), al);
                    deferred_free(d);
                }
            }
        }
        l = next;
    }
}

static deferred_lock *deferred_find(dmn_node *n, const char *name)
{
    for (GList *l = n->deferred.head; l; l = l->next)
        if (strcmp(((deferred_lock *)l->data)->name, name) == 0)
            return l->data;
    return NULL;
}

/* Say when the node moves on in its recovery (status shows it any time). */
static void note_recovery(dmn_node *n, int64_t now)
{
    int64_t until = 0;
    dm_recovery r = dm_node_recovery(n->core, &until);
    if (r == n->recovery_seen)
        return;
    if (r == DM_RECOVERY_QUIET)
        g_message("recovery: %s; quiet for another %" G_GINT64_FORMAT " ms",
                  n->recovery_seen == DM_RECOVERY_FLOOR ? "token floor recovered from a quorum"
                                                        : "waiting out the leases of a previous life",
                  MAX(0, until - now) / 1000);
    else if (r == DM_RECOVERY_NONE)
        g_message("recovery: %sready, granting", n->recovery_seen == DM_RECOVERY_FLOOR
                                                   ? "token floor recovered from a quorum; " : "");
    n->recovery_seen = r;
}

static void on_flush(uv_idle_t *h)
{
    dmn_node *n = h->data;
    uv_idle_stop(h);
    for (guint i = 0; i < n->dirty->len; i++) {
        peer *p = g_ptr_array_index(n->dirty, i);
        p->dirty = false;
        peer_flush(p);
    }
    g_ptr_array_set_size(n->dirty, 0);
}

static void settle(dmn_node *n)
{
    if (n->settling) {
        n->resettle = true;
        return;
    }
    if (n->closing)
        return;
    n->settling = true;
    for (int pass = 0; pass < 16; pass++) {
        n->resettle = false;
        int64_t now = now_us();
        for (int i = 0; i < 64 && dm_node_next_deadline(n->core) <= now; i++)
            dm_node_tick(n->core, now);
        if (n->deferred.length > 0)
            run_deferred(n, now);
        deliver_events(n);
        if (!n->resettle && n->events->len == 0)
            break;
    }
    /* Peer messages go out from the idle phase, which runs before the loop
     * next waits for I/O: a control reply written in this callback (the OK
     * of an UNLOCK whose RELEASEs these are) reaches its client first --
     * each loopback TCP write costs the receiver's whole delivery path --
     * and whatever else this loop iteration queues for a peer joins the
     * same write. */
    if (n->dirty->len > 0 && !uv_is_active((uv_handle_t *)&n->flusher))
        uv_idle_start(&n->flusher, on_flush);
    note_recovery(n, now_us());
    arm_timer(n);
    n->settling = false;
}

/* ------------------------------------------------------------ HELLO */

/* This node's HELLO, sealed when keyed, into buf (FRAME_CAP bytes): its
 * length, 0 if it cannot be made. */
static size_t make_hello(dmn_node *n, bool reply, uint8_t *buf)
{
    int len = dmn_agree_hello(n->cfg, reply, buf, DM_FRAME_MAX);
    if (len < 0) {
        g_warning("cannot encode our HELLO: %s", dm_strerror(len));
        return 0;
    }
    return n->auth ? dmn_auth_seal(n->auth, buf, (size_t)len, g_get_real_time()) : (size_t)len;
}

/* The peer's member address as a socket address, for matching its
 * datagrams: the HELLO's HOST:PORT when HOST is numeric, else the stream's
 * remote IP with that port. */
static void hello_udp_addr(const char *address, const struct sockaddr_storage *remote,
                           struct sockaddr_storage *out)
{
    g_autofree char *host = NULL;
    int port = 0;
    memset(out, 0, sizeof *out);
    if (!dmn_split_address(address, &host, &port))
        return;
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)out) == 0 ||
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)out) == 0)
        return;
    memcpy(out, remote, sizeof *out);
    if (out->ss_family == AF_INET)
        ((struct sockaddr_in *)out)->sin_port = htons((uint16_t)port);
    else if (out->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)out)->sin6_port = htons((uint16_t)port);
}

/* A HELLO that arrived on a stream, in buf[0..len) (plus its trailer when
 * keyed); must_be: the address it must name (the member a TLS certificate
 * names; NULL: any); udp: the peer's member address (NULL: derive it from
 * the HELLO and `remote`). Returns -1 when it is bad input (the stream must
 * be closed), 0 when the peer's settings differ, 1 when they agree. */
static int take_hello(dmn_node *n, uint8_t *buf, size_t len, const char *via, const char *must_be,
                      const struct sockaddr_storage *udp, const struct sockaddr_storage *remote,
                      dm_agree *theirs)
{
    int fl = dm_codec_frame_length(buf, len);
    if (fl < 0 || (size_t)fl > len) {
        dmn_node_count_bad(n, fl < 0 ? kind_of_codec_error(fl) : DMN_BAD_TRUNCATED, "%s: HELLO: %s", via,
                           dm_strerror(fl < 0 ? fl : -DM_ETRUNC));
        return -1;
    }
    if (n->auth) {
        dmn_auth_result r = dmn_auth_verify(n->auth, buf, len, (size_t)fl, g_get_real_time());
        if (r != DMN_AUTH_OK) {
            dmn_node_count_bad(n, r == DMN_AUTH_STALE ? DMN_BAD_REPLAY : DMN_BAD_AUTH,
                               "%s: HELLO refused by authentication: %s", via, dmn_auth_result_name(r));
            return -1;
        }
    } else if ((size_t)fl != len) {
        dmn_node_count_bad(n, DMN_BAD_GARBAGE, "%s: %zu bytes after a HELLO%s", via, len - (size_t)fl,
                           buf[DMN_AUTH_FLAGS_OFFSET] & DMN_AUTH_FLAG ? " (authenticated, but no key here)" : "");
        return -1;
    }
    int rc = dm_agree_decode(buf, (size_t)fl, theirs);
    if (rc < 0) {
        dmn_node_count_bad(n, kind_of_codec_error(rc), "%s: HELLO: %s", via, dm_strerror(rc));
        return -1;
    }
    if (must_be && strcmp(must_be, theirs->address) != 0) {
        dmn_node_count_bad(n, DMN_BAD_AUTH, "%s: a HELLO naming %s on a stream certified for %s", via,
                           theirs->address, must_be);
        auth_failure(n, must_be, "frames from %s fail authentication: its certificate names %s but "
                     "its HELLO names %s", must_be, must_be, theirs->address);
        return -1;
    }
    struct sockaddr_storage derived;
    if (!udp) {
        hello_udp_addr(theirs->address, remote, &derived);
        udp = &derived;
    }
    return dmn_agreebook_hello(n->agree, theirs, (const struct sockaddr *)udp, now_us()) ? 1 : 0;
}

/* ------------------------------------------------------------ outgoing TCP */

static void on_out_closed(uv_handle_t *h)
{
    outconn *c = h->data;
    g_byte_array_unref(c->inflight);
    dmn_tls_free(c->tls);
    g_free(c);
}

static void on_backoff(uv_timer_t *t)
{
    peer *p = t->data;
    p->backoff = false;
}

static void conn_fail(outconn *c, int status)
{
    peer *p = c->peer;
    if (p) {
        dmn_node *n = p->node;
        p->conn = NULL;
        c->peer = NULL;
        p->failures++;
        if (p->out->len > 0) {
            p->dropped++;
            g_byte_array_set_size(p->out, 0);
        }
        if (c->connected)
            g_info("connection to %s lost: %s", p->address, uv_strerror(status));
        else
            g_debug("cannot connect to %s: %s (retry in %" G_GINT64_FORMAT " ms)", p->address,
                    uv_strerror(status), p->backoff_us / 1000);
        /* Back-off restarts from the minimum only after a connection that
         * lived long enough: a peer that accepts and drops at once must not
         * make us reconnect in a tight loop. */
        if (c->connected && now_us() - c->connected_at >= n->cfg->backoff_max_us)
            p->backoff_us = n->cfg->backoff_min_us;
        if (!n->closing) {
            p->backoff = true;
            uv_timer_start(&p->timer, on_backoff, (uint64_t)(p->backoff_us / 1000), 0);
            p->backoff_us = MIN(p->backoff_us * 2, n->cfg->backoff_max_us);
        }
    }
    if (!uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, on_out_closed);
}

static void on_write(uv_write_t *req, int status)
{
    outconn *c = req->data;
    c->writing = false;
    g_byte_array_set_size(c->inflight, 0);
    if (!c->peer)
        return;
    if (status < 0) {
        conn_fail(c, status);
        return;
    }
    peer_flush(c->peer);
}

static void peer_flush(peer *p)
{
    outconn *c = p->conn;
    if (!c || !c->connected || c->writing)
        return;
    /* With TLS, what goes on the wire is the session's ciphertext: the
     * handshake until it is done, then the queued frames as records. */
    GByteArray *src = p->out;
    if (c->tls) {
        if (dmn_tls_established(c->tls) && p->out->len > 0) {
            int rc = dmn_tls_send(c->tls, p->out->data, p->out->len);
            g_byte_array_set_size(p->out, 0);
            if (rc < 0) {
                auth_failure(p->node, p->address, "TLS session with %s failed: %s", p->address,
                             dmn_tls_error(c->tls));
                conn_fail(c, UV_EPROTO);
                return;
            }
        }
        src = dmn_tls_out(c->tls);
    }
    if (src->len == 0)
        return;
    uv_buf_t b = uv_buf_init((char *)src->data, src->len);
    int w = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (w == UV_EAGAIN)
        w = 0;
    if (w < 0) {
        conn_fail(c, w);
        return;
    }
    if ((guint)w == src->len) {
        g_byte_array_set_size(src, 0);
        return;
    }
    g_byte_array_set_size(c->inflight, 0);
    g_byte_array_append(c->inflight, src->data + w, src->len - (guint)w);
    g_byte_array_set_size(src, 0);
    b = uv_buf_init((char *)c->inflight->data, c->inflight->len);
    c->write.data = c;
    int rc = uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (rc < 0) {
        conn_fail(c, rc);
        return;
    }
    c->writing = true;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    dmn_node *n = h->data;
    buf->base = (char *)n->rbuf;
    buf->len = sizeof n->rbuf;
}

static void on_out_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    outconn *c = h->data;
    buf->base = (char *)c->node->rbuf;
    buf->len = sizeof c->node->rbuf;
}

/* Outgoing connections carry nothing towards us but the peer's HELLO, its
 * answer to ours: reading takes that, notices the peer closing (it crashed
 * or restarted), and refuses anything else. */
static bool out_read_hellos(outconn *c, const uint8_t *p, size_t rem)
{
    dmn_node *n = c->node;
    size_t trailer = n->auth ? DMN_AUTH_TRAILER : 0;
    while (rem > 0) {
        /* Length prefix and type first: anything but a HELLO is refused. */
        size_t need = 6;
        if (c->fill >= need) {
            int fl = dm_codec_frame_length(c->acc, c->fill);
            if (fl < 0 || !dm_agree_is_hello(c->acc, c->fill))
                return false;
            need = (size_t)fl + trailer;
        }
        size_t take = MIN(need - c->fill, rem);
        memcpy(c->acc + c->fill, p, take);
        c->fill += take;
        p += take;
        rem -= take;
        if (c->fill < need || need == 6)
            continue;
        c->fill = 0;
        dm_agree theirs;
        g_autofree char *via = g_strdup_printf("tcp to %s", c->peer->address);
        if (take_hello(n, c->acc, need, via, NULL, &c->peer->addr, NULL, &theirs) < 0)
            return false;
    }
    return true;
}

static void on_out_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    outconn *c = s->data;
    if (nread == 0 || !c->peer)
        return;
    if (nread > 0 && c->tls) {
        /* The server's handshake flights and alerts: the session may fail
         * here, or (TLS 1.3) only after our last flight, when the server
         * refuses our certificate. */
        peer *p = c->peer;
        bool was = dmn_tls_established(c->tls);
        if (dmn_tls_feed(c->tls, (const uint8_t *)buf->base, (size_t)nread) < 0) {
            auth_failure(c->node, p->address, "TLS session with %s refused: %s", p->address,
                         dmn_tls_error(c->tls));
            tls_last_words(s, c->tls);
            conn_fail(c, UV_EPROTO);
            return;
        }
        GByteArray *plain = dmn_tls_plain(c->tls);
        if (plain->len == 0) {
            if (!was && dmn_tls_established(c->tls))
                g_debug("TLS session with %s established", p->address);
            peer_flush(p);
            return;
        }
        /* The peer's HELLO answer, in records like the rest. */
        bool hellos = out_read_hellos(c, plain->data, plain->len);
        nread = (ssize_t)plain->len;
        g_byte_array_set_size(plain, 0);
        if (hellos)
            return;
    } else if (nread > 0 && out_read_hellos(c, (const uint8_t *)buf->base, (size_t)nread)) {
        return;
    }
    if (nread > 0) {
        /* A TLS alert record (0x15, version 3.x): the peer wants TLS, we do not speak it. */
        bool alert = !c->tls && nread >= 2 && buf->base[0] == 0x15 && buf->base[1] == 0x03;
        dmn_node_count_bad(c->node, DMN_BAD_GARBAGE, "tcp: %s wrote %zd bytes on our outgoing connection%s",
                           c->peer->address, nread,
                           alert ? " (a TLS alert: TLS is configured there, not here)" : "");
        nread = UV_EPROTO;
    }
    if (c->tls && !dmn_tls_established(c->tls) && nread == UV_EOF)
        auth_failure(c->node, c->peer->address, "TLS session with %s: closed by the peer during "
                     "the handshake (is TLS configured there?)", c->peer->address);
    conn_fail(c, (int)nread);
}

static void on_connect(uv_connect_t *req, int status)
{
    outconn *c = req->data;
    peer *p = c->peer;
    if (!p)
        return;
    if (status < 0) {
        conn_fail(c, status);
        return;
    }
    c->connected = true;
    c->connected_at = now_us();
    uv_tcp_nodelay(&c->tcp, 1);
    if (p->node->tls) {
        c->tls = dmn_tls_new(p->node->tls, false, (int)p->id);
        if (dmn_tls_error(c->tls)[0]) {
            auth_failure(p->node, p->address, "TLS session with %s failed: %s", p->address,
                         dmn_tls_error(c->tls));
            conn_fail(c, UV_EPROTO);
            return;
        }
    }
    uv_read_start((uv_stream_t *)&c->tcp, on_out_alloc, on_out_read);
    g_debug("connected to %s", p->address);
    /* Every stream opens with our HELLO: the peer takes nothing else first. */
    uint8_t hello[FRAME_CAP];
    size_t hl = make_hello(p->node, false, hello);
    g_byte_array_prepend(p->out, hello, (guint)hl);
    peer_flush(p);
}

static void peer_connect(peer *p)
{
    dmn_node *n = p->node;
    outconn *c = g_new0(outconn, 1);
    c->node = n;
    c->peer = p;
    c->inflight = g_byte_array_new();
    uv_tcp_init(n->loop, &c->tcp);
    c->tcp.data = c;
    c->connect.data = c;
    p->connects++;
    p->conn = c;
    int rc = uv_tcp_connect(&c->connect, &c->tcp, (const struct sockaddr *)&p->addr, on_connect);
    if (rc < 0)
        conn_fail(c, rc);
}

/* Queue one frame on p's connection. False: dropped (and counted). */
static bool peer_send(peer *p, const uint8_t *buf, size_t len)
{
    dmn_node *n = p->node;
    if (p->backoff || n->closing) {
        p->dropped++;
        n->tcp_dropped++;
        return false;
    }
    if (!p->conn)
        peer_connect(p);
    if (!p->conn || p->out->len + len > n->cfg->out_queue_max) {
        p->dropped++;
        n->tcp_dropped++;
        return false;
    }
    g_byte_array_append(p->out, buf, (guint)len);
    n->tcp_frames_sent++;
    if (!p->dirty) {
        p->dirty = true;
        g_ptr_array_add(n->dirty, p);
    }
    return true;
}

/* ------------------------------------------------------------ core driver */

/* Probes and gossip are datagrams, as in memberlist (push/pull's SYNC goes
 * over TCP), except SWIM's fallback ping (dm_msg_is_stream,
 * memberlist's sendPingAndWaitForAck): for a member whose UDP path is
 * broken while TCP works, the core also pings it over a stream when a probe
 * goes indirect. Here it goes over the per-peer connection the lock
 * messages use, and the ACK comes back over the answerer's own connection
 * to us, where memberlist dials afresh and reads the ACK on that stream.
 * For the failure it is for (datagrams lost, TCP fine) that is equivalent:
 * the ACK still proves a round trip over TCP in time (the core takes an ACK
 * only for the probe in progress, as memberlist's connection deadline ends
 * with the period), and a member TCP reaches only one way is of no use to
 * the lock protocol anyway. What a fresh dial would add: a ping to a peer in
 * back-off (just restarted or unreachable), which here is dropped like any
 * message in back-off, and a path not queued behind lock traffic. */
static bool over_udp(const dm_msg *msg)
{
    dm_msg_type t = msg->type;
    return (t == DM_MSG_PING || t == DM_MSG_PING_REQ || t == DM_MSG_ACK || t == DM_MSG_NACK ||
            t == DM_MSG_GOSSIP) &&
           !dm_msg_is_stream(msg);
}

static void drv_send(void *user, const dm_msg *msg)
{
    dmn_node *n = user;
    if (msg->to >= n->n_peers || msg->to == n->cfg->self_id || !n->peers[msg->to].bound)
        return;
    uint8_t buf[FRAME_CAP];
    int len = dm_codec_encode(msg, buf, DM_FRAME_MAX);
    if (len < 0) {
        g_warning("cannot encode a %s: %s", dm_msg_type_name((int)msg->type), dm_strerror(len));
        return;
    }
    peer *p = &n->peers[msg->to];
    if (over_udp(msg) && n->auth && n->cfg->udp_encrypt) {
        uint8_t enc[DM_FRAME_MAX + DMN_AUTH_ENC_OVERHEAD];
        size_t elen = dmn_auth_seal_datagram(n->auth, buf, (size_t)len, enc, g_get_real_time());
        uv_buf_t b = uv_buf_init((char *)enc, (unsigned)elen);
        int rc = elen ? uv_udp_try_send(&n->udp, &b, 1, (const struct sockaddr *)&p->addr) : -1;
        if (rc < 0)
            n->udp_dropped++;
        else
            n->udp_sent++;
        return;
    }
    size_t total = (size_t)len;
    if (n->auth)
        total = dmn_auth_seal(n->auth, buf, (size_t)len, g_get_real_time());
    if (over_udp(msg)) {
        uv_buf_t b = uv_buf_init((char *)buf, (unsigned)total);
        int rc = uv_udp_try_send(&n->udp, &b, 1, (const struct sockaddr *)&p->addr);
        if (rc < 0)
            n->udp_dropped++;
        else
            n->udp_sent++;
    } else if (peer_send(p, buf, total) && dm_msg_is_stream(msg)) {
        if (msg->type == DM_MSG_PING)
            n->tcp_pings++;
        else
            n->tcp_acks++;
    }
}

static void drv_notify(void *user, const dm_event *ev)
{
    dmn_node *n = user;
    queued_event qe;
    memset(&qe, 0, sizeof qe);
    qe.ev = *ev;
    if (ev->name) {
        g_strlcpy(qe.name, ev->name, sizeof qe.name);
        qe.has_name = true;
    }
    qe.ev.name = NULL;
    g_array_append_val(n->events, qe);
}

static int drv_persist(void *user, const void *bytes, size_t len)
{
    dmn_node *n = user;
    if (n->cfg->data_dir) {
        GError *err = NULL;
        if (!dmn_store_save(n->cfg->data_dir, bytes, len, &err)) {
            g_warning("persisting state: %s", err->message);
            g_error_free(err);
            return -DM_EPERSIST;
        }
    }
    if (n->persisted)
        g_bytes_unref(n->persisted);
    n->persisted = g_bytes_new(bytes, len);
    return 0;
}

static const dm_driver driver = { drv_send, drv_notify, drv_persist };

/* ------------------------------------------------------------ receiving */

/* Say which peer's frames fail authentication: the member the frame
 * claims to come from when that is a member (what the operator's key
 * files are organised by), else the address it came from. */
static void auth_frame_failure(dmn_node *n, const uint8_t *buf, size_t len, const char *src,
                               dmn_auth_result r)
{
    uint32_t from = len >= 8 && !dmn_auth_is_encrypted(buf, len) ? (uint32_t)buf[6] << 8 | buf[7]
                                                                   : UINT32_MAX;
    const char *peer = from < n->n_peers ? n->peers[from].address : src;
    bool other = strcmp(peer, src) != 0;
    auth_failure(n, peer, "frames from %s fail authentication: check the key file (%s%s%s)", peer,
                 r == DMN_AUTH_MISSING ? "no authentication trailer: no key_file there?"
                 : r == DMN_AUTH_DECRYPT ? "encrypted with no key of ours" : "MAC under no key of ours",
                 other ? ", sent from " : "", other ? src : "");
}

/* Count a frame authentication refused; a failure of the key (not a
 * replay) is also said per peer. Returns false, for process_frame. */
static bool auth_refused(dmn_node *n, dmn_auth_result r, const uint8_t *buf, size_t len,
                         const char *via, const char *src)
{
    dmn_bad_kind k = r == DMN_AUTH_STALE || r == DMN_AUTH_REPLAY ? DMN_BAD_REPLAY
                   : r == DMN_AUTH_PEER ? DMN_BAD_GARBAGE : DMN_BAD_AUTH;
    dmn_node_count_bad(n, k, "%s: frame refused by authentication: %s", via, dmn_auth_result_name(r));
    if (k == DMN_BAD_AUTH)
        auth_frame_failure(n, buf, len, src, r);
    return false;
}

/* buf[0..len) holds exactly one frame, plus its trailer when keyed (or is
 * an encrypted datagram); src is the address it came from. Returns false
 * when the input was bad (a stream carrying it must be closed). */
static bool process_frame(dmn_node *n, uint8_t *buf, size_t len, const char *via, const char *src)
{
    bool opened = false;
    if (n->auth && dmn_auth_is_encrypted(buf, len)) {
        size_t plain = 0;
        dmn_auth_result r = dmn_auth_open_datagram(n->auth, buf, len, &plain, g_get_real_time());
        if (r != DMN_AUTH_OK)
            return auth_refused(n, r, buf, len, via, src);
        len = plain;
        opened = true;
    } else if (!n->auth && dmn_auth_is_encrypted(buf, len)) {
        dmn_node_count_bad(n, DMN_BAD_GARBAGE, "%s: an encrypted datagram from %s, but no key_file here",
                           via, src);
        return false;
    }
    int fl = dm_codec_frame_length(buf, len);
    if (fl < 0) {
        dmn_node_count_bad(n, kind_of_codec_error(fl), "%s: %s", via, dm_strerror(fl));
        return false;
    }
    if ((size_t)fl > len) {
        dmn_node_count_bad(n, DMN_BAD_TRUNCATED, "%s: %zu bytes of a %d-byte frame", via, len, fl);
        return false;
    }
    if (n->auth && !opened) {
        dmn_auth_result r = dmn_auth_open(n->auth, buf, len, (size_t)fl, g_get_real_time());
        if (r != DMN_AUTH_OK)
            return auth_refused(n, r, buf, len, via, src);
    } else if ((size_t)fl != len) {
        dmn_node_count_bad(n, DMN_BAD_GARBAGE, "%s: %zu bytes after a %d-byte frame%s", via,
                           len - (size_t)fl, fl,
                           buf[DMN_AUTH_FLAGS_OFFSET] & DMN_AUTH_FLAG ? " (authenticated frame, but no key here)" : "");
        return false;
    }
    dm_msg msg;
    int rc = dm_codec_decode(buf, (size_t)fl, &msg);
    if (rc < 0) {
        dmn_node_count_bad(n, kind_of_codec_error(rc), "%s: %s", via, dm_strerror(rc));
        return false;
    }
    n->frames_received++;
    rc = dm_node_receive(n->core, now_us(), &msg);
    if (rc < 0) {
        dmn_node_count_bad(n, DMN_BAD_REJECTED, "%s: %s from %u refused: %s", via,
                           dm_msg_type_name((int)msg.type), msg.from, dm_strerror(rc));
        return true;
    }
    return true;
}

/* The installed configuration holds an id this node has no address for (it
 * skipped the epoch that bound it): ask the members it can address. */
static void ask_bindings(dmn_node *n)
{
    if (!dmn_config_epochs(n->cfg))
        return;
    uint32_t ids[DM_MAX_MEMBERS];
    uint32_t k = dm_node_config_members(n->core, ids, DM_MAX_MEMBERS);
    bool missing = false;
    for (uint32_t i = 0; i < k; i++)
        missing = missing || (ids[i] < n->n_peers && !n->peers[ids[i]].bound);
    if (!missing)
        return;
    uint8_t buf[DMN_JOIN_HEADER + DMN_JOIN_TRAILER];
    size_t len = dmn_join_encode_request(buf);
    if (n->auth)
        len = dmn_join_seal(n->auth, buf, len, n->join_nonce, g_get_real_time());
    for (uint32_t i = 0; i < n->n_peers; i++) {
        if (!n->peers[i].bound || i == n->cfg->self_id)
            continue;
        uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
        if (uv_udp_try_send(&n->udp, &b, 1, (const struct sockaddr *)&n->peers[i].addr) < 0)
            n->udp_dropped++;
        else
            n->udp_sent++;
    }
}

/* A JOIN (answered with this node's table, one entry per addressable id)
 * or an entry answering this node's own JOIN (taken for a spare id of the
 * installed configuration that has no address yet). With key_file both are
 * sealed (net/join.h): a JOIN that fails authentication is counted and
 * logged as any frame that does; an answer echoes the JOIN's nonce, and an
 * entry is taken only if it echoes this node's. */
static void handle_join(dmn_node *n, const uint8_t *buf, size_t len, const struct sockaddr *addr,
                        const char *src)
{
    int type = 0;
    bool sealed = false;
    dmn_join_entry e;
    const char *bad = dmn_join_parse(buf, len, &type, &sealed, &e);
    if (bad) {
        dmn_node_count_bad(n, DMN_BAD_GARBAGE, "udp: %s from %s", bad, src);
        return;
    }
    if (!dmn_config_epochs(n->cfg) || (sealed && !n->auth)) {
        dmn_node_count_bad(n, DMN_BAD_REJECTED, "udp: a join frame from %s refused (%s)", src,
                           sealed ? "it is sealed, but no key_file is set here"
                                  : "the policy is not epoch");
        return;
    }
    uint8_t nonce[DMN_JOIN_NONCE];
    if (n->auth) {
        dmn_auth_result r = dmn_join_open(n->auth, buf, len, g_get_real_time(), nonce);
        if (r != DMN_AUTH_OK) {
            dmn_node_count_bad(n, r == DMN_AUTH_STALE ? DMN_BAD_REPLAY : DMN_BAD_AUTH,
                               "udp: a join frame from %s refused by authentication: %s", src,
                               dmn_auth_result_name(r));
            if (r != DMN_AUTH_STALE)
                auth_failure(n, src, "frames from %s fail authentication: check the key file (%s)",
                             src, r == DMN_AUTH_MISSING ? "an unsealed join frame: no key_file there?"
                                                        : "a join frame with a MAC under no key of ours");
            return;
        }
        if (type == DMN_JOIN_ENTRY_TYPE && memcmp(nonce, n->join_nonce, DMN_JOIN_NONCE) != 0) {
            dmn_node_count_bad(n, DMN_BAD_REPLAY, "udp: a join entry from %s answers no JOIN of "
                               "ours (a replay, or a late answer)", src);
            return;
        }
    }
    n->frames_received++;
    if (type == DMN_JOIN_TYPE) {
        for (uint32_t i = 0; i < n->n_peers; i++) {
            if (!n->peers[i].bound)
                continue;
            uint8_t out[DMN_JOIN_ENTRY_MAX];
            size_t olen = dmn_join_encode_entry(out, n->n_peers, n->cfg->members->len, i,
                                                n->peers[i].address);
            if (n->auth)
                olen = dmn_join_seal(n->auth, out, olen, nonce, g_get_real_time());
            uv_buf_t b = uv_buf_init((char *)out, (unsigned)olen);
            if (uv_udp_try_send(&n->udp, &b, 1, addr) < 0)
                n->udp_dropped++;
            else
                n->udp_sent++;
        }
        return;
    }
    if (e.max_members != n->n_peers || e.members != n->cfg->members->len) {
        dmn_node_count_bad(n, DMN_BAD_REJECTED, "udp: a join entry from %s for %u ids of which %u "
                           "--members; here %u and %u", src, e.max_members, e.members, n->n_peers,
                           n->cfg->members->len);
        return;
    }
    uint32_t ids[DM_MAX_MEMBERS];
    uint32_t k = dm_node_config_members(n->core, ids, DM_MAX_MEMBERS);
    bool wanted = false;
    for (uint32_t i = 0; i < k; i++)
        wanted = wanted || ids[i] == e.id;
    if (!wanted || n->peers[e.id].bound)
        return;
    GError *err = NULL;
    if (!bind_id(n, e.id, g_strdup(e.address), &err)) {
        dmn_node_count_bad(n, DMN_BAD_REJECTED, "udp: join entry from %s: %s", src, err->message);
        g_error_free(err);
        return;
    }
    g_message("learnt from %s: id %u is %s", src, e.id, e.address);
    save_bindings(n);
}

static void on_udp(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                   unsigned flags)
{
    dmn_node *n = h->data;
    if (nread < 0) {
        g_debug("udp receive: %s", uv_strerror((int)nread));
        return;
    }
    if (nread == 0 || !addr || n->closing)
        return;
    if (flags & UV_UDP_PARTIAL) {
        dmn_node_count_bad(n, DMN_BAD_OVERSIZE, "udp: datagram larger than %zu bytes", sizeof n->rbuf);
        return;
    }
    const char *refused = dmn_agreebook_refused(n->agree, addr);
    if (refused) {
        dmn_node_count_bad(n, DMN_BAD_CONFIG_MISMATCH, "udp from %s: its settings differ from ours", refused);
        return;
    }
    char src[64];
    sockaddr_text(addr, src, sizeof src);
    if (dmn_join_is_frame((const uint8_t *)buf->base, (size_t)nread))
        handle_join(n, (const uint8_t *)buf->base, (size_t)nread, addr, src);
    else
        process_frame(n, (uint8_t *)buf->base, (size_t)nread, "udp", src);
    settle(n);
}

/* ------------------------------------------------------------ inbound TCP */

static void on_in_closed(uv_handle_t *h)
{
    inconn *c = h->data;
    dmn_tls_free(c->tls);
    g_free(c->peer);
    g_free(c);
}

typedef struct in_write {
    uv_write_t req;
    uint8_t data[];
} in_write;

static void on_in_written(uv_write_t *req, int status)
{
    (void)status;
    g_free(req->data);
}

/* Write data[0..len) on an inbound connection: at once as far as the
 * socket takes it, the rest queued. */
static void in_write_bytes(inconn *c, const uint8_t *data, size_t len)
{
    if (len == 0)
        return;
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    int w = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (w == UV_EAGAIN)
        w = 0;
    if (w >= 0 && (size_t)w < len) {
        in_write *wr = g_malloc(sizeof *wr + len - (size_t)w);
        memcpy(wr->data, data + w, len - (size_t)w);
        wr->req.data = wr;
        b = uv_buf_init((char *)wr->data, (unsigned)(len - (size_t)w));
        if (uv_write(&wr->req, (uv_stream_t *)&c->tcp, &b, 1, on_in_written) < 0)
            g_free(wr);
    }
}

static void in_write_tls(inconn *c)
{
    GByteArray *out = dmn_tls_out(c->tls);
    in_write_bytes(c, out->data, out->len);
    g_byte_array_set_size(out, 0);
}

/* With TLS, a frame is taken only from the member the peer's certificate
 * names: that is what makes a frame prove its sender. */
static bool in_sender_ok(inconn *c, const uint8_t *frame)
{
    int member = dmn_tls_peer_member(c->tls);
    uint32_t from = (uint32_t)frame[6] << 8 | frame[7];
    if (member >= 0 && from == (uint32_t)member)
        return true;
    dmn_node *n = c->node;
    const char *cert = member >= 0 ? n->peers[member].address : "?";
    dmn_node_count_bad(n, DMN_BAD_AUTH, "tcp from %s: a frame from member %u on a connection "
                       "certified for %s", c->remote, from, cert);
    auth_failure(n, cert, "frames from %s fail authentication: its certificate names %s but its "
                 "frames claim to come from %s (sent from %s)", cert, cert,
                 from < n->n_peers ? n->peers[from].address : "no member", c->remote);
    return false;
}

/* Our HELLO, the answer to the peer's: the one thing an inbound stream
 * carries towards the peer. */
static void in_answer_hello(inconn *c)
{
    uint8_t hello[FRAME_CAP];
    size_t len = make_hello(c->node, true, hello);
    if (!c->tls) {
        in_write_bytes(c, hello, len);
    } else if (dmn_tls_send(c->tls, hello, len) == 0) {
        in_write_tls(c);
    }
}

/* The HELLO gate of an inbound stream, for the frame in c->acc[0..len):
 * the first must be a HELLO (answered with ours), and the frames of a
 * peer whose settings differ are dropped. False: close the stream. True:
 * the frame was taken here (*taken) or is for process_frame. */
static bool in_gate(inconn *c, size_t len, bool *taken)
{
    dmn_node *n = c->node;
    *taken = true;
    if (c->hello && !c->refused) {
        *taken = false;
        return true;
    }
    if (c->hello) {
        dmn_node_count_bad(n, DMN_BAD_CONFIG_MISMATCH, "tcp from %s: its settings differ from ours",
                           c->peer);
        return true;
    }
    struct sockaddr_storage remote;
    int rlen = sizeof remote;
    memset(&remote, 0, sizeof remote);
    uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&remote, &rlen);
    if (!dm_agree_is_hello(c->acc, len)) {
        dmn_node_count_bad(n, DMN_BAD_CONFIG_MISMATCH, "tcp from %s: a stream that does not open "
                           "with a HELLO (a peer of an older version?)", c->remote);
        return false;
    }
    dm_agree theirs;
    /* With TLS the HELLO must name the member the certificate names (its
     * `from` is in the sender's numbering, so in_sender_ok does not apply). */
    int member = c->tls ? dmn_tls_peer_member(c->tls) : -1;
    const char *certified = c->tls ? (member >= 0 ? n->peers[member].address : "?") : NULL;
    int rc = take_hello(n, c->acc, len, "tcp", certified, NULL, &remote, &theirs);
    if (rc < 0)
        return false;
    c->hello = true;
    c->refused = rc == 0;
    c->peer = g_strdup(theirs.address);
    in_answer_hello(c);
    return true;
}

static void in_close(inconn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    g_queue_delete_link(&c->node->inbound, c->link);
    c->link = NULL;
    uv_close((uv_handle_t *)&c->tcp, on_in_closed);
}

static void on_in_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    inconn *c = s->data;
    dmn_node *n = c->node;
    if (c->closing)
        return;
    if (nread < 0) {
        if (c->fill > 0)
            dmn_node_count_bad(n, DMN_BAD_TRUNCATED, "tcp: connection ended inside a frame (%zu bytes)",
                               c->fill);
        in_close(c);
        return;
    }
    const uint8_t *p = (const uint8_t *)buf->base;
    size_t rem = (size_t)nread;
    if (c->tls) {
        int rc = dmn_tls_feed(c->tls, p, rem);
        in_write_tls(c);
        if (rc < 0) {
            auth_failure(n, c->remote_host, "TLS session with %s refused: %s", c->remote,
                         dmn_tls_error(c->tls));
            in_close(c);
            return;
        }
        /* Consumed below into c->acc, and emptied at the end. */
        GByteArray *plain = dmn_tls_plain(c->tls);
        p = plain->data;
        rem = plain->len;
    }
    size_t trailer = n->auth ? DMN_AUTH_TRAILER : 0;
    bool any = false;
    while (rem > 0) {
        if (c->fill < 4) {
            size_t take = MIN(4 - c->fill, rem);
            memcpy(c->acc + c->fill, p, take);
            c->fill += take;
            p += take;
            rem -= take;
            if (c->fill < 4)
                break;
        }
        int fl = dm_codec_frame_length(c->acc, c->fill);
        if (fl < 0) {
            /* A TLS record header (handshake, version 3.x) from a member
             * configured with TLS while this node is not: say so. */
            bool tls_hello = !c->tls && !c->proven && c->acc[0] == 0x16 && c->acc[1] == 0x03;
            dmn_node_count_bad(n, kind_of_codec_error(fl), "tcp: bad length prefix: %s%s%s%s",
                               dm_strerror(fl), tls_hello ? " (a TLS handshake from " : "",
                               tls_hello ? c->remote : "",
                               tls_hello ? ": TLS is configured there, not here)" : "");
            in_close(c);
            goto out;
        }
        size_t need = (size_t)fl + trailer;
        size_t take = MIN(need - c->fill, rem);
        memcpy(c->acc + c->fill, p, take);
        c->fill += take;
        p += take;
        rem -= take;
        if (c->fill < need)
            break;
        c->fill = 0;
        any = true;
        /* With TLS the certificate is checked first, for every frame but
         * the HELLO (whose `from` is in the sender's numbering). */
        bool taken, hello = !c->hello && dm_agree_is_hello(c->acc, need);
        if ((c->tls && !hello && !in_sender_ok(c, c->acc)) || !in_gate(c, need, &taken)) {
            in_close(c);
            goto out;
        }
        if (taken) {
            c->proven = true;
            continue;
        }
        if (!process_frame(n, c->acc, need, "tcp", c->remote)) {
            in_close(c);
            goto out;
        }
        c->proven = true;
    }
out:
    if (c->tls)
        g_byte_array_set_size(dmn_tls_plain(c->tls), 0);
    if (any)
        settle(n);
}

static void on_in_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    inconn *c = h->data;
    buf->base = (char *)c->node->rbuf;
    buf->len = sizeof c->node->rbuf;
}

static void on_connection(uv_stream_t *server, int status)
{
    dmn_node *n = server->data;
    if (status < 0) {
        g_debug("accept: %s", uv_strerror(status));
        return;
    }
    inconn *c = g_new0(inconn, 1);
    c->node = n;
    uv_tcp_init(n->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
        c->closing = true;
        uv_close((uv_handle_t *)&c->tcp, on_in_closed);
        return;
    }
    if (n->closing) {
        c->closing = true;
        uv_close((uv_handle_t *)&c->tcp, on_in_closed);
        return;
    }
    if (n->inbound.length >= n->cfg->max_inbound) {
        /* Make room by dropping the oldest connection that never delivered a
         * valid frame; refuse the new one if all are proven. */
        inconn *victim = NULL;
        for (GList *l = n->inbound.head; l; l = l->next)
            if (!((inconn *)l->data)->proven) {
                victim = l->data;
                break;
            }
        dmn_node_count_bad(n, DMN_BAD_CONN_LIMIT, "tcp: %u inbound connections: %s",
                           n->inbound.length, victim ? "dropping the oldest idle one" : "refusing a new one");
        if (!victim) {
            c->closing = true;
            uv_close((uv_handle_t *)&c->tcp, on_in_closed);
            return;
        }
        in_close(victim);
    }
    g_queue_push_tail(&n->inbound, c);
    c->link = n->inbound.tail;
    uv_tcp_nodelay(&c->tcp, 1);
    struct sockaddr_storage ss;
    int sslen = sizeof ss;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sslen) == 0)
        sockaddr_text((const struct sockaddr *)&ss, c->remote, sizeof c->remote);
    else
        g_strlcpy(c->remote, "?", sizeof c->remote);
    g_strlcpy(c->remote_host, c->remote, sizeof c->remote_host);
    char *colon = strrchr(c->remote_host, ':');
    if (colon)
        *colon = '\0';
    if (n->tls)
        c->tls = dmn_tls_new(n->tls, true, -1);
    uv_read_start((uv_stream_t *)&c->tcp, on_in_alloc, on_in_read);
}

/* ------------------------------------------------------------ setup */

gboolean dmn_resolve(uv_loop_t *loop, const char *address, struct sockaddr_storage *out,
                     GError **err)
{
    char *host = NULL;
    int port = 0;
    if (!dmn_split_address(address, &host, &port)) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "bad address '%s'", address);
        return FALSE;
    }
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    uv_getaddrinfo_t req;
    int rc = uv_getaddrinfo(loop, &req, NULL, host, portstr, &hints);
    g_free(host);
    if (rc < 0 || !req.addrinfo) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "cannot resolve '%s': %s", address,
                    rc < 0 ? uv_strerror(rc) : "no address");
        return FALSE;
    }
    memset(out, 0, sizeof *out);
    memcpy(out, req.addrinfo->ai_addr, MIN(sizeof *out, (size_t)req.addrinfo->ai_addrlen));
    uv_freeaddrinfo(req.addrinfo);
    return TRUE;
}

/* Say which start this is and what it means for granting (issue 9): an
 * operator must be able to tell a restart, a start that recovers from the
 * cluster and a declared first start apart from the log alone. */
static void log_start(dmn_node *n, bool had_state)
{
    const dmn_config *cfg = n->cfg;
    int64_t now = now_us(), until = now;
    dm_recovery r = dm_node_recovery(n->core, &until);
    n->recovery_seen = r;
    int64_t quiet_ms = MAX(0, until - now) / 1000;
    g_autofree char *path = cfg->data_dir ? g_build_filename(cfg->data_dir, DMN_STORE_FILE, NULL) : NULL;
    if (had_state) {
        g_message("persisted state read from %s: grants nothing for %" G_GINT64_FORMAT " ms (leases "
                  "its previous life may have granted)%s%s", path, quiet_ms,
                  r == DM_RECOVERY_FLOOR ? " and until a token floor is recovered from a quorum of "
                                           "the other members (its previous life had not finished "
                                           "recovering)" : "",
                  cfg->core.bootstrap ? "; --bootstrap ignored: this member ran before" : "");
        return;
    }
    if (!cfg->data_dir)
        g_message("no data directory: the node's state lives in memory only, so every start is a "
                  "start without persisted state; give it one (--data-dir) anywhere a lock "
                  "protects something");
    if (r == DM_RECOVERY_NONE) {
        g_message("no persisted state, --bootstrap: taken for a member of a new cluster that never "
                  "ran before, granting at once. Never restart a member that ran before with "
                  "--bootstrap: having lost its state, it may grant a lock that another holder "
                  "still has, with a token already used");
        if (!cfg->data_dir)
            g_warning("--bootstrap without --data-dir: every restart of this process is a first "
                      "start again, with the danger above");
        return;
    }
    g_message("no persisted state (%s%s): grants nothing for %" G_GINT64_FORMAT " ms and until a "
              "token floor is recovered from a quorum of the other members (%s)",
              path ? path : "no --data-dir", path ? " did not exist: a new or wiped data directory" : "",
              quiet_ms, "a brand-new cluster skips this with --bootstrap on its first start");
}

/* A key's public name: the first 8 hex digits of its SHA-256, so that an
 * operator can tell which key a node sends with without printing it. */
static char *key_id(GBytes *key)
{
    char *sum = g_compute_checksum_for_bytes(G_CHECKSUM_SHA256, key);
    sum[8] = '\0';
    return sum;
}

gboolean dmn_node_reload(dmn_node *n, GError **err)
{
    const dmn_config *cfg = n->cfg;
    GPtrArray *keys = NULL;
    if (n->auth) {
        keys = dmn_config_read_keys(cfg->key_file, err);
        if (!keys)
            return FALSE;
    }
    /* TLS first: if it fails, nothing has changed. */
    if (n->tls && !dmn_tls_ctx_reload(n->tls, err)) {
        if (keys)
            g_ptr_array_unref(keys);
        return FALSE;
    }
    if (keys) {
        if (!dmn_auth_set_keys(n->auth, (GBytes *const *)keys->pdata, keys->len)) {
            g_set_error(err, DMN_CONFIG_ERROR, 0, "key_file %s: unusable keys", cfg->key_file);
            g_ptr_array_unref(keys);
            return FALSE;
        }
        g_ptr_array_unref(n->keys);
        n->keys = keys;
        g_autofree char *id = key_id(g_ptr_array_index(keys, 0));
        g_message("reloaded key_file: %u key(s) accepted, sending with %s", keys->len, id);
    }
    if (n->tls)
        g_message("reloaded TLS credentials for new connections: %s", dmn_tls_ctx_describe(n->tls));
    if (!n->auth && !n->tls)
        g_message("reload: no key_file and no TLS: nothing to re-read");
    return TRUE;
}

/* Give spare id `id` the address `address` (taken). False, with a
 * message, when it cannot: no spare id, bound to something else already,
 * an address another id has, or one that does not resolve. */
static bool bind_id(dmn_node *n, uint32_t id, char *address, GError **err)
{
    if (id < n->cfg->members->len || id >= n->n_peers) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "binding %u=%s: id %u is no spare id (%u..%u)", id,
                    address, id, n->cfg->members->len, n->n_peers - 1);
        g_free(address);
        return false;
    }
    peer *p = &n->peers[id];
    if (p->bound) {
        bool same = strcmp(p->address, address) == 0;
        if (!same)
            g_set_error(err, DMN_CONFIG_ERROR, 0, "binding %u=%s: id %u is bound to %s already", id,
                        address, id, p->address);
        g_free(address);
        return same;
    }
    for (uint32_t i = 0; i < n->n_peers; i++)
        if (n->peers[i].bound && strcmp(n->peers[i].address, address) == 0) {
            g_set_error(err, DMN_CONFIG_ERROR, 0, "binding %u=%s: id %u has that address", id,
                        address, i);
            g_free(address);
            return false;
        }
    if (!dmn_resolve(n->loop, address, &p->addr, err)) {
        g_free(address);
        return false;
    }
    g_free(p->owned);
    p->owned = address;
    p->address = address;
    p->bound = true;
    g_ptr_array_index(n->table, id) = address;
    return true;
}

static bool save_bindings(dmn_node *n)
{
    if (!n->cfg->data_dir)
        return true;
    const char **by_id = g_new0(const char *, n->n_peers);
    for (uint32_t i = 0; i < n->n_peers; i++)
        if (n->peers[i].bound)
            by_id[i] = n->peers[i].address;
    g_autofree char *text = dmn_table_format(n->cfg->members->len, by_id, n->n_peers);
    g_free(by_id);
    GError *err = NULL;
    bool ok = dmn_store_save_file(n->cfg->data_dir, DMN_TABLE_FILE, text, strlen(text), &err);
    if (!ok) {
        g_warning("persisting the address table (%s): %s", DMN_TABLE_FILE, err->message);
        g_error_free(err);
    }
    return ok;
}

/* DIR/bindings, then what --join learnt (the joiner's own id among it).
 * The file's member list must be --members: ids are indices into it, so
 * another list would renumber the members under the configurations this
 * node installed. */
static gboolean load_bindings(dmn_node *n, GError **err)
{
    dmn_join_result t = { 0 };
    if (n->cfg->data_dir && !dmn_table_load(n->cfg->data_dir, NULL, &t, err))
        return FALSE;
    gboolean ok = TRUE;
    const GPtrArray *m = n->cfg->members;
    for (guint i = 0; t.members && t.members->len && i < MAX(m->len, t.members->len) && ok; i++) {
        const char *was = i < t.members->len ? g_ptr_array_index(t.members, i) : "(none)";
        const char *now = i < m->len ? g_ptr_array_index(m, i) : "(none)";
        if (strcmp(was, now) != 0) {
            g_set_error(err, DMN_CONFIG_ERROR, 0, "%s/%s: member id %u was %s, --members makes it %s: "
                        "ids are indices into --members, so another list renumbers the members; give "
                        "the list this node ran with (%u members), or no --members to take the file's",
                        n->cfg->data_dir, DMN_TABLE_FILE, i, was, now, t.members->len);
            ok = FALSE;
        }
    }
    /* A file without the member list (older), or none: write the table. */
    bool save = n->cfg->data_dir && (!t.members || !t.members->len);
    g_autoptr(GPtrArray) lines = g_ptr_array_new();
    guint from_file = t.bindings ? t.bindings->len : 0;
    for (guint i = 0; i < from_file; i++)
        g_ptr_array_add(lines, g_ptr_array_index(t.bindings, i));
    for (guint i = 0; n->cfg->bindings && i < n->cfg->bindings->len; i++)
        g_ptr_array_add(lines, g_ptr_array_index(n->cfg->bindings, i));
    for (guint i = 0; i < lines->len && ok; i++) {
        const char *line = g_ptr_array_index(lines, i);
        const char *origin = i < from_file ? DMN_TABLE_FILE : "--join";
        uint32_t id;
        char *address;
        if (!dmn_table_parse_binding(line, strlen(line), &id, &address)) {
            g_set_error(err, DMN_CONFIG_ERROR, 0, "%s: bad binding '%s' (want ID=HOST:PORT)", origin,
                        line);
            ok = FALSE;
        } else if (!bind_id(n, id, address, err)) {
            g_prefix_error(err, "%s: ", origin);
            ok = FALSE;
        }
    }
    dmn_join_result_clear(&t);
    if (ok && (save || (n->cfg->bindings && n->cfg->bindings->len)))
        save_bindings(n);
    return ok;
}

/* A configuration was installed: take the binding it carries. */
static void install_binding(dmn_node *n)
{
    size_t len = 0;
    const uint8_t *bind = dm_node_config_bind(n->core, &len);
    if (!bind || len == 0)
        return;
    uint32_t id;
    char *address;
    if (!dmn_table_parse_binding((const char *)bind, len, &id, &address)) {
        g_warning("configuration epoch %" G_GUINT64_FORMAT " carries a binding that is not "
                  "ID=HOST:PORT: ignored", dm_node_config_epoch(n->core));
        return;
    }
    if (id < n->n_peers && n->peers[id].bound && strcmp(n->peers[id].address, address) == 0) {
        g_free(address);
        return;
    }
    GError *err = NULL;
    if (!bind_id(n, id, address, &err)) {
        g_warning("configuration epoch %" G_GUINT64_FORMAT ": %s", dm_node_config_epoch(n->core),
                  err->message);
        g_error_free(err);
        return;
    }
    g_message("configuration epoch %" G_GUINT64_FORMAT ": id %u is %s", dm_node_config_epoch(n->core),
              id, n->peers[id].address);
    save_bindings(n);
}

dmn_node *dmn_node_new(uv_loop_t *loop, const dmn_config *cfg, dmn_event_fn event, void *user,
                       GError **err)
{
    dmn_node *n = g_new0(dmn_node, 1);
    n->loop = loop;
    n->cfg = cfg;
    n->event_cb = event;
    n->event_user = user;
    n->n_peers = cfg->core.n_members;
    n->peers = g_new0(peer, n->n_peers);
    n->table = g_ptr_array_new();
    g_ptr_array_set_size(n->table, n->n_peers);
    n->events = g_array_new(FALSE, FALSE, sizeof(queued_event));
    n->dirty = g_ptr_array_new();
    n->aliases = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_queue_init(&n->deferred);
    n->next_deferred = DEFERRED_ID_BASE;
    g_queue_init(&n->inbound);
    for (uint32_t i = 0; i < n->n_peers; i++) {
        peer *p = &n->peers[i];
        p->node = n;
        p->id = i;
        p->out = g_byte_array_new();
        p->backoff_us = cfg->backoff_min_us;
        if (i >= cfg->members->len) {
            p->owned = g_strdup_printf("(spare id %u)", i);
            p->address = p->owned;
            continue;
        }
        p->address = g_ptr_array_index(cfg->members, i);
        p->bound = true;
        g_ptr_array_index(n->table, i) = (gpointer)p->address;
        if (!dmn_resolve(loop, p->address, &p->addr, err))
            goto fail;
    }
    n->authlog = dmn_authlog_new();
    if (cfg->keys) {
        n->keys = g_ptr_array_ref(cfg->keys);
    } else if (cfg->key) {
        n->keys = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
        g_ptr_array_add(n->keys, g_bytes_ref(cfg->key));
    }
    if (n->keys) {
        n->auth = dmn_auth_new_ring((GBytes *const *)n->keys->pdata, n->keys->len, n->n_peers,
                                    cfg->auth_max_age_us, g_get_real_time());
        if (!n->auth) {
            g_set_error(err, DMN_CONFIG_ERROR, 0, "bad authentication key");
            goto fail;
        }
        dmn_join_nonce(n->join_nonce);
    }
    if (cfg->tls_cert) {
        g_auto(GStrv) cas = g_strsplit(cfg->tls_ca, ",", -1);
        for (char **c = cas; *c; c++)
            g_strstrip(*c);
        n->tls = dmn_tls_ctx_new((const char *const *)cas, cfg->tls_cert, cfg->tls_key, n->table,
                                 cfg->self, err);
        if (!n->tls)
            goto fail;
        g_message("TLS 1.3 on every stream: %s", dmn_tls_ctx_describe(n->tls));
        if (!n->auth)
            g_warning("TLS without key_file: membership datagrams (UDP) are not authenticated");
    }

    n->agree = dmn_agreebook_new(cfg);

    GBytes *state = NULL;
    if ((cfg->data_dir &&
         (!dmn_store_prepare(cfg->data_dir, err) || !dmn_store_load(cfg->data_dir, &state, err))) ||
        !load_bindings(n, err)) {
        if (state)
            g_bytes_unref(state);
        goto fail;
    }

    const struct sockaddr *self = (const struct sockaddr *)&n->peers[cfg->self_id].addr;
    uv_timer_init(loop, &n->timer);
    n->timer.data = n;
    uv_timer_init(loop, &n->shutdown_timer);
    n->shutdown_timer.data = n;
    uv_timer_init(loop, &n->catch_up_timer);
    n->catch_up_timer.data = n;
    uv_idle_init(loop, &n->flusher);
    n->flusher.data = n;
    for (uint32_t i = 0; i < n->n_peers; i++) {
        uv_timer_init(loop, &n->peers[i].timer);
        n->peers[i].timer.data = &n->peers[i];
    }
    n->timers_open = true;
    uv_udp_init(loop, &n->udp);
    n->udp.data = n;
    n->udp_open = true;
    uv_tcp_init(loop, &n->listener);
    n->listener.data = n;
    n->listener_open = true;
    int rc = uv_udp_bind(&n->udp, self, 0);
    if (rc == 0)
        rc = uv_tcp_bind(&n->listener, self, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&n->listener, 128, on_connection);
    if (rc < 0) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "cannot listen on %s: %s", cfg->self, uv_strerror(rc));
        if (state)
            g_bytes_unref(state);
        goto fail_handles;
    }
    uv_udp_recv_start(&n->udp, on_alloc, on_udp);

    gsize slen = 0;
    const void *sdata = state ? g_bytes_get_data(state, &slen) : NULL;
    /* The store never writes an empty file: one is as corrupt as garbage
     * (the core would take it for no state at all). */
    rc = state && slen == 0 ? -DM_EBADSTATE
                            : dm_node_new(&cfg->core, &driver, n, now_us(), sdata, slen, &n->core);
    if (state)
        g_bytes_unref(state);
    if (rc == -DM_EBADSTATE) {
        g_autofree char *path = g_build_filename(cfg->data_dir, DMN_STORE_FILE, NULL);
        g_set_error(err, DMN_CONFIG_ERROR, 0,
                    "cannot start the node: its state file %s is corrupt (%s). Deleting it makes "
                    "this node start without persisted state: it then recovers from the cluster "
                    "(grants nothing until it has learnt a token floor from a quorum of the other "
                    "members and waited out one lease); do not start it with --bootstrap then",
                    path, slen == 0 ? "empty" : "not a state file this version wrote");
        goto fail_handles;
    }
    if (rc < 0) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "cannot start the node: %s", dm_strerror(rc));
        goto fail_handles;
    }
    g_message("node %s (id %u of %u, policy %s) listening on tcp+udp %s%s%s", cfg->self, cfg->self_id,
              n->n_peers, dm_policy_name(cfg->core.policy), cfg->self,
              slen ? ", restarted from saved state" : "", n->auth ? ", frames authenticated" : "");
    log_start(n, slen > 0);
    /* Removed, and started again with its data: an operator's add takes
     * it back, SWIM's view does not. */
    if (slen > 0 && dm_node_stay_out(n->core, now_us()) == 0)
        g_warning("not a member of configuration epoch %" G_GUINT64_FORMAT " (removed): staying "
                  "out of the cluster's view until an operator adds %s back (dmutexctl members add)",
                  dm_node_config_epoch(n->core), cfg->self);
    if (dmn_config_epochs(cfg))
        uv_timer_start(&n->catch_up_timer, on_catch_up, 100, 1000);
    /* Dial every member now, so that each learns at once whether our
     * settings agree (every stream opens with a HELLO), not at the first
     * lock message. */
    for (uint32_t i = 0; i < n->n_peers; i++)
        if (i != cfg->self_id && !n->peers[i].conn)
            peer_connect(&n->peers[i]);
    settle(n);
    return n;

fail_handles:
    dmn_node_close(n);
    uv_run(loop, UV_RUN_NOWAIT);
    uv_run(loop, UV_RUN_NOWAIT);
    dmn_node_free(n);
    return NULL;
fail:
    n->timers_open = false;
    dmn_node_free(n);
    return NULL;
}

static int lock_start(dmn_node *n, const char *name, int64_t timeout_us, bool try_once,
                      uint64_t *attempt)
{
    if (n->closing)
        return -DM_ESHUTDOWN;
    if (deferred_find(n, name))
        return -DM_EBUSY;
    /* *attempt is stored before settle() delivers any event. */
    int64_t now = now_us();
    int rc = try_once ? dm_node_try_lock(n->core, now, name, timeout_us, attempt)
                      : dm_node_lock(n->core, now, name, timeout_us, attempt);
    if (rc == -DM_ERECOVERING && timeout_us > 0) {
        deferred_lock *d = g_new0(deferred_lock, 1);
        d->name = g_strdup(name);
        d->id = ++n->next_deferred;
        d->requested_at = now;
        d->deadline = now + timeout_us;
        d->try_once = try_once;
        g_queue_push_tail(&n->deferred, d);
        if (attempt)
            *attempt = d->id;
        g_info("lock %s waits until this node has recovered its token floor", name);
        rc = 0;
    }
    settle(n);
    return rc;
}

int dmn_node_lock(dmn_node *n, const char *name, int64_t timeout_us, uint64_t *attempt)
{
    return lock_start(n, name, timeout_us, false, attempt);
}

int dmn_node_try_lock(dmn_node *n, const char *name, int64_t timeout_us, uint64_t *attempt)
{
    return lock_start(n, name, timeout_us, true, attempt);
}

int dmn_node_unlock(dmn_node *n, const char *name)
{
    if (n->closing)
        return -DM_ENOTHELD;
    int rc = dm_node_unlock(n->core, now_us(), name);
    if (rc == 0)
        g_hash_table_remove(n->aliases, name);
    settle(n);
    return rc;
}

int dmn_node_change_members(dmn_node *n, const char *address, bool add)
{
    if (n->closing)
        return -DM_ESHUTDOWN;
    uint32_t top = 0;
    for (uint32_t i = 0; i < n->n_peers; i++) {
        if (!n->peers[i].bound)
            continue;
        top = i;
        if (strcmp(n->peers[i].address, address) == 0) {
            int rc = dm_node_change_members(n->core, now_us(), i, add);
            settle(n);
            return rc;
        }
    }
    /* A new address gets the id above the highest bound one, never a
     * retired id (a stale message from that is no new member's). */
    if (!add || !dmn_config_epochs(n->cfg) ||
        !dmn_split_address(address, NULL, NULL))
        return -DM_EPEER;
    if (top + 1 >= n->n_peers)
        return -DM_ENOMEM;
    g_autofree char *bind = g_strdup_printf("%u=%s", top + 1, address);
    int rc = dm_node_change_members_bind(n->core, now_us(), top + 1, true, bind, strlen(bind));
    settle(n);
    return rc;
}

int dmn_node_unlock_attempt(dmn_node *n, const char *name, uint64_t attempt)
{
    /* The core's own record (an event about this attempt may still be on
     * its way to the caller), under the core's id for a deferred lock. */
    const lock_alias *al = g_hash_table_lookup(n->aliases, name);
    uint64_t core_attempt = al && al->shown == attempt ? al->core : attempt;
    if (dm_node_held_attempt(n->core, name) != core_attempt)
        return -DM_ENOTHELD;
    return dmn_node_unlock(n, name);
}

int dmn_node_cancel(dmn_node *n, const char *name)
{
    if (n->closing)
        return -DM_ENOTHELD;
    deferred_lock *d = deferred_find(n, name);
    if (d) {
        g_queue_remove(&n->deferred, d);
        deferred_fail(n, d, -DM_ECANCELED);
        settle(n);
        return 0;
    }
    int rc = dm_node_cancel(n->core, now_us(), name);
    settle(n);
    return rc;
}

static bool pending_output(dmn_node *n)
{
    for (uint32_t i = 0; i < n->n_peers; i++) {
        peer *p = &n->peers[i];
        if (p->conn && (p->out->len > 0 || p->conn->writing))
            return true;
    }
    return false;
}

static void on_shutdown_check(uv_timer_t *t)
{
    dmn_node *n = t->data;
    if (pending_output(n) && now_us() < n->shutdown_deadline)
        return;
    uv_timer_stop(t);
    if (n->shutdown_done) {
        void (*done)(void *) = n->shutdown_done;
        n->shutdown_done = NULL;
        done(n->shutdown_user);
    }
}

void dmn_node_shutdown(dmn_node *n, void (*done)(void *), void *user)
{
    g_message("leaving the cluster");
    dm_node_leave(n->core, now_us());
    deferred_lock *d;
    while ((d = g_queue_pop_head(&n->deferred)) != NULL)
        deferred_fail(n, d, -DM_ESHUTDOWN);
    settle(n);
    n->shutdown_done = done;
    n->shutdown_user = user;
    n->shutdown_deadline = now_us() + SHUTDOWN_FLUSH_US;
    uv_timer_start(&n->shutdown_timer, on_shutdown_check, 0, 10);
}

static void on_closed_nop(uv_handle_t *h)
{
    (void)h;
}

void dmn_node_close(dmn_node *n)
{
    if (n->closing)
        return;
    n->closing = true;
    if (n->timers_open) {
        uv_close((uv_handle_t *)&n->timer, on_closed_nop);
        uv_close((uv_handle_t *)&n->shutdown_timer, on_closed_nop);
        uv_close((uv_handle_t *)&n->catch_up_timer, on_closed_nop);
        uv_close((uv_handle_t *)&n->flusher, on_closed_nop);
        for (uint32_t i = 0; i < n->n_peers; i++)
            uv_close((uv_handle_t *)&n->peers[i].timer, on_closed_nop);
    }
    if (n->udp_open)
        uv_close((uv_handle_t *)&n->udp, on_closed_nop);
    if (n->listener_open)
        uv_close((uv_handle_t *)&n->listener, on_closed_nop);
    for (uint32_t i = 0; i < n->n_peers; i++)
        if (n->peers[i].conn)
            conn_fail(n->peers[i].conn, UV_ECANCELED);
    while (n->inbound.head)
        in_close(n->inbound.head->data);
}

void dmn_node_free(dmn_node *n)
{
    if (!n)
        return;
    dm_node_free(n->core);
    for (uint32_t i = 0; i < n->n_peers; i++) {
        if (n->peers[i].out)
            g_byte_array_unref(n->peers[i].out);
        g_free(n->peers[i].owned);
    }
    g_free(n->peers);
    dmn_auth_free(n->auth);
    if (n->keys)
        g_ptr_array_unref(n->keys);
    dmn_tls_ctx_free(n->tls);
    g_ptr_array_unref(n->table);
    dmn_authlog_free(n->authlog);
    dmn_agreebook_free(n->agree);
    g_array_unref(n->events);
    g_ptr_array_unref(n->dirty);
    g_hash_table_destroy(n->aliases);
    g_queue_clear_full(&n->deferred, (GDestroyNotify)deferred_free);
    if (n->persisted)
        g_bytes_unref(n->persisted);
    g_free(n);
}

/* ------------------------------------------------------------ queries */

dm_node *dmn_node_core(dmn_node *n) { return n->core; }
uint32_t dmn_node_n_members(const dmn_node *n) { return n->n_peers; }
const dmn_config *dmn_node_config(const dmn_node *n) { return n->cfg; }
const uint64_t *dmn_node_bad_counts(const dmn_node *n) { return n->bad; }

const char *dmn_node_address(const dmn_node *n, uint32_t id)
{
    return id < n->n_peers ? n->peers[id].address : "?";
}

bool dmn_node_id_bound(const dmn_node *n, uint32_t id)
{
    return id < n->n_peers && n->peers[id].bound;
}

/* The core's own rule (with its fall-back), so that status shows the quorum
 * the node would really use. */
int dmn_node_current_quorum(dmn_node *n, const char *name, uint32_t *out, uint32_t cap)
{
    return dm_node_current_quorum(n->core, now_us(), name, out, cap);
}

typedef struct held_status {
    GString *out;
    int64_t now;
} held_status;

static int append_held(const dm_held_lock *h, void *user)
{
    held_status *st = user;
    g_string_append_printf(st->out, "held %s token %" G_GUINT64_FORMAT " lease_ms %" G_GINT64_FORMAT "\n",
                           h->name, h->token, MAX(0, (h->lease_until - st->now) / 1000));
    return 0;
}

/* "configuration A B C": the installed configuration's member addresses. */
static void append_config(dmn_node *n, GString *out)
{
    uint32_t *ids = g_new(uint32_t, n->n_peers);
    uint32_t k = dm_node_config_members(n->core, ids, n->n_peers);
    g_string_append(out, "configuration");
    for (uint32_t i = 0; i < k; i++)
        g_string_append_printf(out, " %s", n->peers[ids[i]].address);
    g_string_append_c(out, '\n');
    g_free(ids);
}

void dmn_node_format_status(dmn_node *n, const char *name, GString *out)
{
    const dmn_config *cfg = n->cfg;
    const dm_membership *m = dm_node_membership(n->core);
    int64_t now = now_us();
    g_string_append_printf(out, "policy %s quorum_system %s spread %s\n",
                           dm_policy_name(cfg->core.policy),
                           dm_quorum_name(dm_node_quorum_system(n->core)),
                           cfg->core.spread ? "on" : "off");
    if (dmn_config_epochs(cfg)) {
        g_string_append_printf(out, "epoch %" G_GUINT64_FORMAT " members %u%s%s%s\n",
                               dm_node_config_epoch(n->core),
                               dm_quorum_count(dm_node_quorum_system(n->core)),
                               dm_node_sealed(n->core) ? " sealed" : "",
                               dm_node_abstaining(n->core) ? " abstaining" : "",
                               dm_node_is_config_member(n->core) ? "" : " not-a-member");
        append_config(n, out);
    }
    g_string_append_printf(out, "self %s id %u members %u incarnation %u health %u\n", cfg->self,
                           cfg->self_id, n->n_peers, m ? dm_membership_incarnation(m) : 0,
                           m ? dm_membership_health(m) : 0);
    g_string_append_printf(out, "view size %u hash %016" G_GINT64_MODIFIER "x\n",
                           m ? dm_membership_view_size(m) : n->n_peers, dm_node_view_hash(n->core));
    uint32_t *q = g_new0(uint32_t, n->n_peers);
    int qs = dmn_node_current_quorum(n, name, q, n->n_peers);
    g_string_append(out, "quorum");
    if (qs < 0)
        g_string_append(out, " none");
    for (int i = 0; i < qs; i++)
        g_string_append_printf(out, " %s", n->peers[q[i]].address);
    g_string_append_c(out, '\n');
    g_free(q);
    int64_t until = now;
    dm_recovery r = dm_node_recovery(n->core, &until);
    /* The core moves out of QUIET at its next input; say what is true now. */
    if (r == DM_RECOVERY_NONE || (r == DM_RECOVERY_QUIET && until <= now))
        g_string_append(out, "recovery ready\n");
    else
        g_string_append_printf(out, "recovery recovering stage=%s quiet_left_ms=%" G_GINT64_FORMAT
                               " deferred_locks=%u\n", dm_recovery_name(r), MAX(0, until - now) / 1000,
                               n->deferred.length);
    held_status hs = { out, now };
    dm_node_foreach_held(n->core, append_held, &hs);
    if (n->auth || n->tls) {
        g_string_append(out, "auth");
        if (n->auth) {
            g_autofree char *id = key_id(g_ptr_array_index(n->keys, 0));
            g_string_append_printf(out, " keys %u sending %s udp %s", n->keys->len, id,
                                   n->cfg->udp_encrypt ? "encrypted" : "authenticated");
        }
        g_string_append_printf(out, " tls %s\n", n->tls ? "on" : "off");
    }
    dmn_authlog_format(n->authlog, out);
    g_string_append_c(out, '\n');
    dmn_agreebook_format(n->agree, out);
    g_string_append_c(out, '\n');
    g_string_append(out, "counters");
    for (int i = 0; i < DMN_BAD_COUNT; i++)
        g_string_append_printf(out, " %s=%" G_GUINT64_FORMAT, bad_names[i], n->bad[i]);
    g_string_append_c(out, '\n');
    const dm_node_stats *st = dm_node_get_stats(n->core);
    uint64_t sent = 0, recv = 0;
    for (int i = 0; i < DM_MSG_TYPE_COUNT; i++) {
        sent += st->sent[i];
        recv += st->received[i];
    }
    g_string_append_printf(out,
                           "traffic sent=%" G_GUINT64_FORMAT " received=%" G_GUINT64_FORMAT
                           " frames_in=%" G_GUINT64_FORMAT " udp_sent=%" G_GUINT64_FORMAT
                           " udp_dropped=%" G_GUINT64_FORMAT " tcp_sent=%" G_GUINT64_FORMAT
                           " tcp_dropped=%" G_GUINT64_FORMAT " tcp_pings=%" G_GUINT64_FORMAT
                           " tcp_acks=%" G_GUINT64_FORMAT " inbound=%u\n",
                           sent, recv, n->frames_received, n->udp_sent, n->udp_dropped,
                           n->tcp_frames_sent, n->tcp_dropped, n->tcp_pings, n->tcp_acks,
                           n->inbound.length);
    g_string_append_printf(out,
                           "locks acquired=%" G_GUINT64_FORMAT " failed=%" G_GUINT64_FORMAT
                           " lost=%" G_GUINT64_FORMAT " grants=%" G_GUINT64_FORMAT
                           " lease_expiries=%" G_GUINT64_FORMAT " core_rejected=%" G_GUINT64_FORMAT
                           " stale=%" G_GUINT64_FORMAT " persists=%" G_GUINT64_FORMAT "\n",
                           st->acquired, st->failed, st->lost, st->grants, st->lease_expiries,
                           st->rejected, st->stale, st->persists);
}

/* What MEMBERS shows of one address, in the text and the JSON form alike. */
typedef struct member_row {
    const char *address;
    uint32_t id;
    dm_member_info info;
    bool in_config;       /* meaningful under the epoch policy only */
} member_row;

/* Calls fn for every bound address, in id order; the one walk behind both
 * forms of MEMBERS, so that they cannot disagree. */
static void foreach_member_row(dmn_node *n, void (*fn)(const member_row *row, void *user), void *user)
{
    const dm_membership *m = dm_node_membership(n->core);
    uint32_t *ids = g_new0(uint32_t, n->n_peers);
    uint32_t k = dm_node_config_members(n->core, ids, n->n_peers);
    for (uint32_t i = 0; i < n->n_peers; i++) {
        if (!n->peers[i].bound)
            continue;
        member_row row = { .address = n->peers[i].address, .id = i };
        if (m)
            dm_membership_info(m, i, &row.info);
        for (uint32_t j = 0; j < k; j++)
            row.in_config = row.in_config || ids[j] == i;
        fn(&row, user);
    }
    g_free(ids);
}

typedef struct text_rows {
    GString *out;
    bool epochs;
} text_rows;

static void member_line(const member_row *row, void *user)
{
    text_rows *t = user;
    g_string_append_printf(t->out, "%s %s %u%s\n", row->address, dmn_member_state_name((int)row->info.state),
                           row->info.incarnation,
                           !t->epochs ? "" : row->in_config ? " in-config" : " out-of-config");
}

/* One line per address: SWIM state and incarnation; under the epoch policy
 * also whether the installed configuration holds it ("in-config" or
 * "out-of-config"), after an "epoch E quorum_system Q" line. */
void dmn_node_format_members(dmn_node *n, GString *out)
{
    text_rows t = { out, dmn_config_epochs(n->cfg) };
    if (t.epochs)
        g_string_append_printf(out, "epoch %" G_GUINT64_FORMAT " quorum_system %s\n",
                               dm_node_config_epoch(n->core),
                               dm_quorum_name(dm_node_quorum_system(n->core)));
    foreach_member_row(n, member_line, &t);
}

/* ------------------------------------------------------------ JSON and metrics */

/* STATUS as JSON (net/README.md, "STATUS JSON"): the members of the open
 * top-level object, the same facts as dmn_node_format_status's lines, one
 * object per line there (keyed by the line's first word). tests/net-json.sh
 * checks that every text line has its member here. */
static int json_held(const dm_held_lock *h, void *user)
{
    void **a = user;
    dmn_json *w = a[0];
    int64_t now = *(int64_t *)a[1];
    dmn_json_begin_object(w, NULL);
    dmn_json_string(w, "name", h->name);
    dmn_json_uint(w, "token", h->token);
    dmn_json_int(w, "lease_ms", MAX(0, (h->lease_until - now) / 1000));
    dmn_json_end_object(w);
    return 0;
}

void dmn_node_status_json(dmn_node *n, const char *name, dmn_json *w)
{
    const dmn_config *cfg = n->cfg;
    const dm_membership *m = dm_node_membership(n->core);
    int64_t now = now_us();
    dmn_json_begin_object(w, "policy");
    dmn_json_string(w, "policy", dm_policy_name(cfg->core.policy));
    dmn_json_string(w, "quorum_system", dm_quorum_name(dm_node_quorum_system(n->core)));
    dmn_json_bool(w, "spread", cfg->core.spread);
    dmn_json_end_object(w);
    if (dmn_config_epochs(cfg)) {
        dmn_json_begin_object(w, "epoch");
        dmn_json_uint(w, "epoch", dm_node_config_epoch(n->core));
        dmn_json_uint(w, "members", dm_quorum_count(dm_node_quorum_system(n->core)));
        dmn_json_bool(w, "sealed", dm_node_sealed(n->core));
        dmn_json_bool(w, "abstaining", dm_node_abstaining(n->core));
        dmn_json_bool(w, "member", dm_node_is_config_member(n->core));
        dmn_json_end_object(w);
        uint32_t *ids = g_new(uint32_t, n->n_peers);
        uint32_t k = dm_node_config_members(n->core, ids, n->n_peers);
        dmn_json_begin_array(w, "configuration");
        for (uint32_t i = 0; i < k; i++)
            dmn_json_string(w, NULL, n->peers[ids[i]].address);
        dmn_json_end_array(w);
        g_free(ids);
    } else {
        dmn_json_null(w, "epoch");
        dmn_json_null(w, "configuration");
    }
    dmn_json_begin_object(w, "self");
    dmn_json_string(w, "address", cfg->self);
    dmn_json_uint(w, "id", cfg->self_id);
    dmn_json_uint(w, "members", n->n_peers);
    dmn_json_uint(w, "incarnation", m ? dm_membership_incarnation(m) : 0);
    dmn_json_uint(w, "health", m ? dm_membership_health(m) : 0);
    dmn_json_end_object(w);
    dmn_json_begin_object(w, "view");
    dmn_json_uint(w, "size", m ? dm_membership_view_size(m) : n->n_peers);
    char hash[17];
    g_snprintf(hash, sizeof hash, "%016" G_GINT64_MODIFIER "x", dm_node_view_hash(n->core));
    dmn_json_string(w, "hash", hash);
    dmn_json_end_object(w);
    dmn_json_begin_object(w, "quorum");
    dmn_json_string(w, "name", name);
    uint32_t *q = g_new0(uint32_t, n->n_peers);
    int qs = dmn_node_current_quorum(n, name, q, n->n_peers);
    if (qs < 0) {
        dmn_json_null(w, "members");
    } else {
        dmn_json_begin_array(w, "members");
        for (int i = 0; i < qs; i++)
            dmn_json_string(w, NULL, n->peers[q[i]].address);
        dmn_json_end_array(w);
    }
    g_free(q);
    dmn_json_end_object(w);
    int64_t until = now;
    dm_recovery r = dm_node_recovery(n->core, &until);
    bool ready = r == DM_RECOVERY_NONE || (r == DM_RECOVERY_QUIET && until <= now);
    dmn_json_begin_object(w, "recovery");
    dmn_json_bool(w, "ready", ready);
    dmn_json_string(w, "stage", ready ? NULL : dm_recovery_name(r));
    dmn_json_int(w, "quiet_left_ms", ready ? 0 : MAX(0, until - now) / 1000);
    dmn_json_uint(w, "deferred_locks", n->deferred.length);
    dmn_json_end_object(w);
    dmn_json_begin_array(w, "held");
    void *hs[2] = { w, &now };
    dm_node_foreach_held(n->core, json_held, hs);
    dmn_json_end_array(w);
    if (n->auth || n->tls) {
        dmn_json_begin_object(w, "auth");
        if (n->auth) {
            g_autofree char *id = key_id(g_ptr_array_index(n->keys, 0));
            dmn_json_uint(w, "keys", n->keys->len);
            dmn_json_string(w, "sending", id);
            dmn_json_string(w, "udp", n->cfg->udp_encrypt ? "encrypted" : "authenticated");
        } else {
            dmn_json_uint(w, "keys", 0);
            dmn_json_null(w, "sending");
            dmn_json_null(w, "udp");
        }
        dmn_json_bool(w, "tls", n->tls != NULL);
        dmn_json_end_object(w);
    } else {
        dmn_json_null(w, "auth");
    }
    dmn_authlog_json(n->authlog, w);
    dmn_agreebook_json(n->agree, w);
    dmn_json_begin_object(w, "counters");
    for (int i = 0; i < DMN_BAD_COUNT; i++)
        dmn_json_uint(w, bad_names[i], n->bad[i]);
    dmn_json_end_object(w);
    const dm_node_stats *st = dm_node_get_stats(n->core);
    uint64_t sent = 0, recv = 0;
    for (int i = 0; i < DM_MSG_TYPE_COUNT; i++) {
        sent += st->sent[i];
        recv += st->received[i];
    }
    dmn_json_begin_object(w, "traffic");
    dmn_json_uint(w, "sent", sent);
    dmn_json_uint(w, "received", recv);
    dmn_json_uint(w, "frames_in", n->frames_received);
    dmn_json_uint(w, "udp_sent", n->udp_sent);
    dmn_json_uint(w, "udp_dropped", n->udp_dropped);
    dmn_json_uint(w, "tcp_sent", n->tcp_frames_sent);
    dmn_json_uint(w, "tcp_dropped", n->tcp_dropped);
    dmn_json_uint(w, "tcp_pings", n->tcp_pings);
    dmn_json_uint(w, "tcp_acks", n->tcp_acks);
    dmn_json_uint(w, "inbound", n->inbound.length);
    dmn_json_end_object(w);
    dmn_json_begin_object(w, "locks");
    dmn_json_uint(w, "acquired", st->acquired);
    dmn_json_uint(w, "failed", st->failed);
    dmn_json_uint(w, "lost", st->lost);
    dmn_json_uint(w, "grants", st->grants);
    dmn_json_uint(w, "lease_expiries", st->lease_expiries);
    dmn_json_uint(w, "core_rejected", st->rejected);
    dmn_json_uint(w, "stale", st->stale);
    dmn_json_uint(w, "persists", st->persists);
    dmn_json_end_object(w);
}

typedef struct json_rows {
    dmn_json *w;
    bool epochs;
    uint32_t self;
} json_rows;

static void member_object(const member_row *row, void *user)
{
    json_rows *j = user;
    dmn_json_begin_object(j->w, NULL);
    dmn_json_string(j->w, "address", row->address);
    dmn_json_uint(j->w, "id", row->id);
    dmn_json_string(j->w, "state", dmn_member_state_name((int)row->info.state));
    dmn_json_uint(j->w, "incarnation", row->info.incarnation);
    dmn_json_bool(j->w, "self", row->id == j->self);
    if (j->epochs)
        dmn_json_bool(j->w, "in_config", row->in_config);
    else
        dmn_json_null(j->w, "in_config");
    dmn_json_end_object(j->w);
}

void dmn_node_members_json(dmn_node *n, dmn_json *w)
{
    json_rows j = { w, dmn_config_epochs(n->cfg), n->cfg->self_id };
    if (j.epochs) {
        dmn_json_begin_object(w, "epoch");
        dmn_json_uint(w, "epoch", dm_node_config_epoch(n->core));
        dmn_json_string(w, "quorum_system", dm_quorum_name(dm_node_quorum_system(n->core)));
        dmn_json_end_object(w);
    } else {
        dmn_json_null(w, "epoch");
    }
    dmn_json_begin_array(w, "members");
    foreach_member_row(n, member_object, &j);
    dmn_json_end_array(w);
}

/* The node's metric families (net/README.md, "Metrics"); the control
 * socket adds its own (sessions, acquisition latency). */
static int count_held(const dm_held_lock *h, void *user)
{
    (void)h;
    (*(guint *)user)++;
    return 0;
}

void dmn_node_format_metrics(dmn_node *n, GString *out)
{
    const dmn_config *cfg = n->cfg;
    const dm_membership *m = dm_node_membership(n->core);
    const dm_node_stats *st = dm_node_get_stats(n->core);
    dmn_prom_counter(out, "dmutex_locks_acquired_total", "Locks this node acquired for its clients.", st->acquired);
    dmn_prom_counter(out, "dmutex_locks_failed_total", "Lock attempts of this node that failed (timeout, no quorum, cancelled, held: a try-lock).",
                     st->failed);
    dmn_prom_counter(out, "dmutex_locks_lost_total", "Locks of this node lost while held (lease ran out, revoked, shutdown).",
                     st->lost);
    dmn_prom_counter(out, "dmutex_grants_total", "Grants this node gave as an arbiter.", st->grants);
    dmn_prom_counter(out, "dmutex_lease_expiries_total", "Arbiter leases of this node that ran out unreleased.",
                     st->lease_expiries);
    dmn_prom_counter(out, "dmutex_core_rejected_total", "Messages the core refused.", st->rejected);
    dmn_prom_counter(out, "dmutex_stale_total", "Stale lock messages the core ignored (an earlier attempt's).", st->stale);
    dmn_prom_counter(out, "dmutex_persists_total", "Writes of the persisted state.", st->persists);
    int64_t until = now_us(), now = until;
    dm_recovery r = dm_node_recovery(n->core, &until);
    bool ready = r == DM_RECOVERY_NONE || (r == DM_RECOVERY_QUIET && until <= now);
    dmn_prom_gauge(out, "dmutex_recovering", "1 while the node grants nothing after a start (recovery), else 0.", !ready);
    dmn_prom_gauge(out, "dmutex_deferred_locks", "Local lock requests waiting for the token floor.", n->deferred.length);
    guint held = 0;
    dm_node_foreach_held(n->core, count_held, &held);
    dmn_prom_gauge(out, "dmutex_held_locks", "Locks this node holds now.", held);

    uint64_t by_state[DM_MEMBER_STATE_MAX + 1] = { 0 };
    for (uint32_t i = 0; i < n->n_peers; i++) {
        dm_member_info info;
        memset(&info, 0, sizeof info);
        if (!n->peers[i].bound)
            continue;
        if (m)
            dm_membership_info(m, i, &info);
        if ((unsigned)info.state <= DM_MEMBER_STATE_MAX)
            by_state[info.state]++;
    }
    dmn_prom_family(out, "dmutex_members", "gauge", "Configured members by the state this node sees them in.");
    for (int s = 0; s <= DM_MEMBER_STATE_MAX; s++)
        dmn_prom_sample(out, "dmutex_members", "state", dmn_member_state_name(s), by_state[s]);
    dmn_prom_gauge(out, "dmutex_view_size", "Members in this node's view.", m ? dm_membership_view_size(m) : n->n_peers);
    dmn_prom_gauge(out, "dmutex_incarnation", "This node's SWIM incarnation.", m ? dm_membership_incarnation(m) : 0);
    dmn_prom_gauge(out, "dmutex_health", "Lifeguard local health (awareness; 0 is healthy).", m ? dm_membership_health(m) : 0);
    if (dmn_config_epochs(cfg)) {
        dmn_prom_gauge(out, "dmutex_config_epoch", "Configuration epoch (policy epoch).", dm_node_config_epoch(n->core));
        dmn_prom_gauge(out, "dmutex_config_members", "Members of the current configuration (policy epoch).",
                       dm_quorum_count(dm_node_quorum_system(n->core)));
    }

    dmn_prom_family(out, "dmutex_bad_input_total", "counter",
                    "Bad input dropped, by kind (auth and replay: authentication failures).");
    for (int i = 0; i < DMN_BAD_COUNT; i++)
        dmn_prom_sample(out, "dmutex_bad_input_total", "kind", bad_names[i], n->bad[i]);
    dmn_prom_gauge(out, "dmutex_auth_enabled", "1 when frames are authenticated with a cluster key.", n->auth != NULL);
    dmn_prom_gauge(out, "dmutex_tls_enabled", "1 when member streams use TLS.", n->tls != NULL);
    dmn_prom_counter(out, "dmutex_auth_failures_total",
                     "Authentication failures: frames failing the key (MAC, decryption) and refused TLS sessions "
                     "(STATUS auth_failures total).",
                     dmn_authlog_total(n->authlog));

    uint64_t sent = 0, recv = 0;
    for (int i = 0; i < DM_MSG_TYPE_COUNT; i++) {
        sent += st->sent[i];
        recv += st->received[i];
    }
    dmn_prom_counter(out, "dmutex_messages_sent_total", "Core messages sent.", sent);
    dmn_prom_counter(out, "dmutex_messages_received_total", "Core messages received.", recv);
    dmn_prom_counter(out, "dmutex_frames_received_total", "Frames received (UDP and TCP).", n->frames_received);
    dmn_prom_counter(out, "dmutex_udp_sent_total", "Datagrams sent.", n->udp_sent);
    dmn_prom_counter(out, "dmutex_udp_dropped_total", "Datagrams that could not be sent.", n->udp_dropped);
    dmn_prom_counter(out, "dmutex_tcp_sent_total", "Frames written on TCP.", n->tcp_frames_sent);
    dmn_prom_counter(out, "dmutex_tcp_dropped_total", "Frames dropped for a peer in back-off or a failed connection.",
                     n->tcp_dropped);
    dmn_prom_counter(out, "dmutex_tcp_pings_total", "SWIM fallback pings and acks sent over TCP.", n->tcp_pings + n->tcp_acks);
    dmn_prom_gauge(out, "dmutex_inbound_connections", "Inbound TCP connections open.", n->inbound.length);
}
