#include "tls.h"

#include <errno.h>
#include <stdarg.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>

#include "netconfig.h"

/* TLS 1.3 only: nothing older is needed between members of one cluster,
 * and 1.3 alone keeps the handshake (and what can go wrong) small. */
#define PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3"

/* One generation of credentials, shared by the sessions started with it. */
typedef struct creds {
    int refs;
    gnutls_certificate_credentials_t cred;
    char *describe;
} creds;

struct dmn_tls_ctx {
    char **ca_files;
    char *cert_file, *key_file;
    const GPtrArray *members;
    char *self;
    gnutls_priority_t prio;
    creds *cur;
};

struct dmn_tls {
    dmn_tls_ctx *ctx;
    creds *creds;
    gnutls_session_t s;
    bool server, done, failed;
    int expect, peer;
    GByteArray *in, *out, *plain, *pending;
    size_t in_off;
    char err[384];
};

static void creds_unref(creds *c)
{
    if (c && --c->refs == 0) {
        gnutls_certificate_free_credentials(c->cred);
        g_free(c->describe);
        g_free(c);
    }
}

/* The id whose address is addr in the address table (NULL entries: ids
 * with no address yet), or -1. */
static int member_index(const GPtrArray *members, const char *addr)
{
    for (guint i = 0; i < members->len; i++) {
        const char *m = g_ptr_array_index(members, i);
        if (m && strcmp(m, addr) == 0)
            return (int)i;
    }
    return -1;
}

/* The first dmutex:// URI SAN of a certificate, without the scheme. */
static char *crt_member(gnutls_x509_crt_t crt)
{
    for (unsigned i = 0;; i++) {
        char buf[512];
        size_t size = sizeof buf - 1;
        int type = gnutls_x509_crt_get_subject_alt_name(crt, i, buf, &size, NULL);
        if (type == GNUTLS_E_SHORT_MEMORY_BUFFER)
            continue;
        if (type < 0)
            return NULL;
        buf[size] = '\0';
        if (type == GNUTLS_SAN_URI && g_str_has_prefix(buf, DMN_TLS_URI_SCHEME))
            return g_strdup(buf + strlen(DMN_TLS_URI_SCHEME));
    }
}

static char *datum_member(const gnutls_datum_t *d, gnutls_x509_crt_fmt_t fmt, char *why, size_t cap)
{
    gnutls_x509_crt_t crt;
    if (gnutls_x509_crt_init(&crt) < 0) {
        g_strlcpy(why, "out of memory", cap);
        return NULL;
    }
    char *m = NULL;
    int rc = gnutls_x509_crt_import(crt, d, fmt);
    if (rc < 0)
        g_snprintf(why, cap, "not a certificate: %s", gnutls_strerror(rc));
    else if (!(m = crt_member(crt)))
        g_snprintf(why, cap, "it names no member (no %sHOST:PORT URI in its subject alternative names)",
                   DMN_TLS_URI_SCHEME);
    gnutls_x509_crt_deinit(crt);
    return m;
}

char *dmn_tls_cert_file_member(const char *cert_file, GError **err)
{
    gnutls_datum_t d = { NULL, 0 };
    int rc = gnutls_load_file(cert_file, &d);
    if (rc < 0) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "cannot read certificate %s: %s", cert_file,
                    gnutls_strerror(rc));
        return NULL;
    }
    char why[256];
    char *m = datum_member(&d, GNUTLS_X509_FMT_PEM, why, sizeof why);
    gnutls_free(d.data);
    if (!m)
        g_set_error(err, DMN_CONFIG_ERROR, 0, "certificate %s: %s", cert_file, why);
    return m;
}

static void fail(dmn_tls *t, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void fail(dmn_tls *t, const char *fmt, ...)
{
    if (t->err[0])
        return;   /* the first reason is the real one */
    va_list ap;
    va_start(ap, fmt);
    g_vsnprintf(t->err, sizeof t->err, fmt, ap);
    va_end(ap);
}

/* Runs inside the handshake on both sides: chain, then member binding. */
static int verify_cb(gnutls_session_t s)
{
    dmn_tls *t = gnutls_session_get_ptr(s);
    unsigned status = 0;
    int rc = gnutls_certificate_verify_peers2(s, &status);
    if (rc < 0) {
        fail(t, "cannot verify the peer's certificate: %s", gnutls_strerror(rc));
        return -1;
    }
    if (status != 0) {
        gnutls_datum_t txt = { NULL, 0 };
        gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &txt, 0);
        fail(t, "the peer's certificate is not trusted: %s (check tls_ca here and tls_cert there)",
             txt.data ? g_strstrip((char *)txt.data) : "?");
        gnutls_free(txt.data);
        return -1;
    }
    unsigned n = 0;
    const gnutls_datum_t *list = gnutls_certificate_get_peers(s, &n);
    if (!list || n == 0) {
        fail(t, "the peer sent no certificate");
        return -1;
    }
    char why[256];
    char *m = datum_member(&list[0], GNUTLS_X509_FMT_DER, why, sizeof why);
    if (!m) {
        fail(t, "the peer's certificate is refused: %s", why);
        return -1;
    }
    int id = member_index(t->ctx->members, m);
    if (t->server ? id < 0 : id != t->expect) {
        if (t->server)
            fail(t, "the peer's certificate names %s, which is not a member", m);
        else
            fail(t, "the peer's certificate names %s, not %s, the member dialled", m,
                 t->expect >= 0 && (guint)t->expect < t->ctx->members->len &&
                         g_ptr_array_index(t->ctx->members, t->expect)
                     ? (const char *)g_ptr_array_index(t->ctx->members, t->expect)
                     : "(no address)");
        g_free(m);
        return -1;
    }
    g_free(m);
    t->peer = id;
    return 0;
}

static gboolean load_creds(dmn_tls_ctx *ctx, creds **out, GError **err)
{
    gnutls_certificate_credentials_t cred;
    if (gnutls_certificate_allocate_credentials(&cred) < 0) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "tls: out of memory");
        return FALSE;
    }
    int rc;
    for (char **f = ctx->ca_files; *f; f++) {
        rc = gnutls_certificate_set_x509_trust_file(cred, *f, GNUTLS_X509_FMT_PEM);
        if (rc <= 0) {
            g_set_error(err, DMN_CONFIG_ERROR, 0, "tls_ca %s: %s", *f,
                        rc == 0 ? "no certificate in it" : gnutls_strerror(rc));
            goto fail;
        }
    }
    rc = gnutls_certificate_set_x509_key_file(cred, ctx->cert_file, ctx->key_file,
                                              GNUTLS_X509_FMT_PEM);
    if (rc < 0) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "tls_cert %s / tls_key %s: %s", ctx->cert_file,
                    ctx->key_file, gnutls_strerror(rc));
        goto fail;
    }
    char *m = dmn_tls_cert_file_member(ctx->cert_file, err);
    if (!m)
        goto fail;
    if (strcmp(m, ctx->self) != 0) {
        g_set_error(err, DMN_CONFIG_ERROR, 0,
                    "tls_cert %s names member %s, not this node (%s): every peer would refuse it",
                    ctx->cert_file, m, ctx->self);
        g_free(m);
        goto fail;
    }
    gnutls_certificate_set_verify_function(cred, verify_cb);
    creds *c = g_new0(creds, 1);
    c->refs = 1;
    c->cred = cred;
    c->describe = g_strdup_printf("certificate %s (%s%s), %u CA file(s)", ctx->cert_file,
                                  DMN_TLS_URI_SCHEME, m, g_strv_length(ctx->ca_files));
    g_free(m);
    *out = c;
    return TRUE;
fail:
    gnutls_certificate_free_credentials(cred);
    return FALSE;
}

dmn_tls_ctx *dmn_tls_ctx_new(const char *const *ca_files, const char *cert_file,
                             const char *key_file, const GPtrArray *members, const char *self,
                             GError **err)
{
    if (!ca_files || !ca_files[0] || !cert_file || !key_file) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "tls needs tls_ca, tls_cert and tls_key");
        return NULL;
    }
    dmn_tls_ctx *ctx = g_new0(dmn_tls_ctx, 1);
    ctx->ca_files = g_strdupv((char **)ca_files);
    ctx->cert_file = g_strdup(cert_file);
    ctx->key_file = g_strdup(key_file);
    ctx->members = members;
    ctx->self = g_strdup(self);
    const char *pos = NULL;
    int rc = gnutls_priority_init(&ctx->prio, PRIORITY, &pos);
    if (rc < 0) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "tls priority %s: %s", PRIORITY, gnutls_strerror(rc));
        ctx->prio = NULL;
        dmn_tls_ctx_free(ctx);
        return NULL;
    }
    if (!load_creds(ctx, &ctx->cur, err)) {
        dmn_tls_ctx_free(ctx);
        return NULL;
    }
    return ctx;
}

gboolean dmn_tls_ctx_reload(dmn_tls_ctx *ctx, GError **err)
{
    creds *c = NULL;
    if (!load_creds(ctx, &c, err))
        return FALSE;
    creds_unref(ctx->cur);
    ctx->cur = c;
    return TRUE;
}

void dmn_tls_ctx_free(dmn_tls_ctx *ctx)
{
    if (!ctx)
        return;
    creds_unref(ctx->cur);
    if (ctx->prio)
        gnutls_priority_deinit(ctx->prio);
    g_strfreev(ctx->ca_files);
    g_free(ctx->cert_file);
    g_free(ctx->key_file);
    g_free(ctx->self);
    g_free(ctx);
}

const char *dmn_tls_ctx_describe(const dmn_tls_ctx *ctx)
{
    return ctx->cur->describe;
}

/* ------------------------------------------------------------ sessions */

static ssize_t push_cb(gnutls_transport_ptr_t p, const void *data, size_t len)
{
    dmn_tls *t = p;
    g_byte_array_append(t->out, data, (guint)len);
    return (ssize_t)len;
}

static ssize_t pull_cb(gnutls_transport_ptr_t p, void *data, size_t len)
{
    dmn_tls *t = p;
    size_t avail = t->in->len - t->in_off;
    if (avail == 0) {
        gnutls_transport_set_errno(t->s, EAGAIN);
        return -1;
    }
    size_t n = MIN(avail, len);
    memcpy(data, t->in->data + t->in_off, n);
    t->in_off += n;
    return (ssize_t)n;
}

static int pull_timeout_cb(gnutls_transport_ptr_t p, unsigned ms)
{
    (void)ms;
    dmn_tls *t = p;
    return t->in->len > t->in_off ? 1 : 0;
}

/* Put the failure in words an operator can act on. */
static int session_failed(dmn_tls *t, int rc)
{
    t->failed = true;
    switch (rc) {
    case GNUTLS_E_FATAL_ALERT_RECEIVED:
        fail(t, "the peer refused the TLS session (alert: %s): it does not trust our "
             "certificate, or ours names another member (check tls_cert here and tls_ca there)",
             gnutls_alert_get_name(gnutls_alert_get(t->s)));
        break;
    case GNUTLS_E_NO_CERTIFICATE_FOUND:
    case GNUTLS_E_CERTIFICATE_REQUIRED:
        fail(t, "the peer sent no certificate (is tls_cert set there?)");
        break;
    case GNUTLS_E_UNEXPECTED_PACKET_LENGTH:
    case GNUTLS_E_UNEXPECTED_PACKET:
    case GNUTLS_E_UNSUPPORTED_VERSION_PACKET:
    case GNUTLS_E_DECRYPTION_FAILED:
        fail(t, "the peer does not speak TLS 1.3 (%s): is TLS configured there?", gnutls_strerror(rc));
        break;
    default:
        fail(t, "TLS: %s", gnutls_strerror(rc));
    }
    if (rc != GNUTLS_E_FATAL_ALERT_RECEIVED)
        gnutls_alert_send_appropriate(t->s, rc);
    return rc;
}

static int flush_pending(dmn_tls *t)
{
    size_t off = 0;
    while (off < t->pending->len) {
        ssize_t w = gnutls_record_send(t->s, t->pending->data + off, t->pending->len - off);
        if (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED)
            continue;
        if (w < 0)
            return session_failed(t, (int)w);
        off += (size_t)w;
    }
    g_byte_array_set_size(t->pending, 0);
    return 0;
}

static int drive(dmn_tls *t)
{
    if (t->failed)
        return GNUTLS_E_INTERNAL_ERROR;
    if (!t->done) {
        int rc = gnutls_handshake(t->s);
        if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED)
            return 0;
        if (rc < 0)
            return session_failed(t, rc);
        t->done = true;
        rc = flush_pending(t);
        if (rc < 0)
            return rc;
    }
    for (;;) {
        uint8_t buf[16384];
        ssize_t r = gnutls_record_recv(t->s, buf, sizeof buf);
        if (r > 0) {
            g_byte_array_append(t->plain, buf, (guint)r);
            continue;
        }
        if (r == 0 || r == GNUTLS_E_AGAIN)
            return 0;
        if (r == GNUTLS_E_INTERRUPTED || r == GNUTLS_E_REHANDSHAKE)
            continue;
        return session_failed(t, (int)r);
    }
}

dmn_tls *dmn_tls_new(dmn_tls_ctx *ctx, bool server, int expect_member)
{
    dmn_tls *t = g_new0(dmn_tls, 1);
    t->ctx = ctx;
    t->creds = ctx->cur;
    t->creds->refs++;
    t->server = server;
    t->expect = expect_member;
    t->peer = -1;
    t->in = g_byte_array_new();
    t->out = g_byte_array_new();
    t->plain = g_byte_array_new();
    t->pending = g_byte_array_new();
    int rc = gnutls_init(&t->s, (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NONBLOCK |
                                    GNUTLS_NO_TICKETS);
    if (rc < 0) {
        t->s = NULL;
        t->failed = true;
        fail(t, "TLS: %s", gnutls_strerror(rc));
        return t;
    }
    gnutls_session_set_ptr(t->s, t);
    gnutls_priority_set(t->s, ctx->prio);
    gnutls_credentials_set(t->s, GNUTLS_CRD_CERTIFICATE, t->creds->cred);
    if (server) {
        gnutls_certificate_server_set_request(t->s, GNUTLS_CERT_REQUIRE);
        /* Without the list of our CAs in the request, a client sends its
         * certificate even when we do not trust its issuer, so we can say
         * "not trusted" rather than "no certificate". */
        gnutls_certificate_send_x509_rdn_sequence(t->s, 1);
    }
    gnutls_transport_set_ptr(t->s, t);
    gnutls_transport_set_push_function(t->s, push_cb);
    gnutls_transport_set_pull_function(t->s, pull_cb);
    gnutls_transport_set_pull_timeout_function(t->s, pull_timeout_cb);
    gnutls_handshake_set_timeout(t->s, 0);
    if (!server)
        drive(t);
    return t;
}

void dmn_tls_free(dmn_tls *t)
{
    if (!t)
        return;
    if (t->s)
        gnutls_deinit(t->s);
    creds_unref(t->creds);
    g_byte_array_unref(t->in);
    g_byte_array_unref(t->out);
    g_byte_array_unref(t->plain);
    g_byte_array_unref(t->pending);
    g_free(t);
}

int dmn_tls_feed(dmn_tls *t, const uint8_t *data, size_t len)
{
    if (t->failed)
        return GNUTLS_E_INTERNAL_ERROR;
    g_byte_array_append(t->in, data, (guint)len);
    int rc = drive(t);
    g_byte_array_remove_range(t->in, 0, (guint)t->in_off);
    t->in_off = 0;
    return rc;
}

int dmn_tls_send(dmn_tls *t, const uint8_t *data, size_t len)
{
    if (t->failed)
        return GNUTLS_E_INTERNAL_ERROR;
    g_byte_array_append(t->pending, data, (guint)len);
    return t->done ? flush_pending(t) : 0;
}

GByteArray *dmn_tls_out(dmn_tls *t) { return t->out; }
GByteArray *dmn_tls_plain(dmn_tls *t) { return t->plain; }
bool dmn_tls_established(const dmn_tls *t) { return t->done && !t->failed; }
int dmn_tls_peer_member(const dmn_tls *t) { return t->done ? t->peer : -1; }
const char *dmn_tls_error(const dmn_tls *t) { return t->err; }
