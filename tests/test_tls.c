/* tests/test_tls.c -- CUnit suite for net/tls: two sessions wired back to
 * back through memory (what one writes, the other is fed), with
 * certificates made at test time by the GnuTLS API (nothing is committed):
 * a good pair establishes and carries frames both ways; an untrusted
 * certificate, a certificate naming another member than the one dialled,
 * one naming no member, and a tampered record are refused, each side with
 * its reason; a peer without TLS is refused (no downgrade); a node's own
 * certificate must name it; a reload switches
 * new sessions to the new certificate while an open one goes on; several
 * CAs are trusted at once. */
#include <string.h>
#include <time.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "testlib.h"
#include "tls.h"

static char *dir;
static GPtrArray *members;

/* ------------------------------------------------------------ certificates */

typedef struct issued {
    gnutls_x509_crt_t crt;
    gnutls_x509_privkey_t key;
} issued;

static void write_datum(const char *name, const gnutls_datum_t *d)
{
    char *path = g_build_filename(dir, name, NULL);
    g_assert_true(g_file_set_contents(path, (const char *)d->data, d->size, NULL));
    g_free(path);
}

/* A certificate for `uri` (NULL: a CA) signed by `ca` (NULL: itself),
 * written as NAME.pem and NAME.key in the test directory. Made in the
 * suite's init, outside any test: failures abort (g_assert). */
static issued make_cert(const char *name, const char *uri, const issued *ca)
{
    issued out;
    static unsigned serial = 1;
    g_assert_true(gnutls_x509_privkey_init(&out.key) == 0);
    g_assert_true(gnutls_x509_privkey_generate(out.key, GNUTLS_PK_ECDSA,
                                                 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) == 0);
    g_assert_true(gnutls_x509_crt_init(&out.crt) == 0);
    gnutls_x509_crt_set_version(out.crt, 3);
    unsigned char sn[4] = { 0, 0, (unsigned char)(serial >> 8), (unsigned char)serial };
    serial++;
    gnutls_x509_crt_set_serial(out.crt, sn, sizeof sn);
    time_t now = time(NULL);
    gnutls_x509_crt_set_activation_time(out.crt, now - 60);
    gnutls_x509_crt_set_expiration_time(out.crt, now + 3600);
    gnutls_x509_crt_set_dn_by_oid(out.crt, GNUTLS_OID_X520_COMMON_NAME, 0, name, (unsigned)strlen(name));
    gnutls_x509_crt_set_key(out.crt, out.key);
    if (!uri) {
        gnutls_x509_crt_set_basic_constraints(out.crt, 1, -1);
        gnutls_x509_crt_set_key_usage(out.crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN);
    } else {
        gnutls_x509_crt_set_basic_constraints(out.crt, 0, -1);
        gnutls_x509_crt_set_key_usage(out.crt, GNUTLS_KEY_DIGITAL_SIGNATURE);
        gnutls_x509_crt_set_key_purpose_oid(out.crt, GNUTLS_KP_TLS_WWW_SERVER, 0);
        gnutls_x509_crt_set_key_purpose_oid(out.crt, GNUTLS_KP_TLS_WWW_CLIENT, 0);
        if (*uri)
            g_assert_true(gnutls_x509_crt_set_subject_alt_name(out.crt, GNUTLS_SAN_URI, uri,
                                                                 (unsigned)strlen(uri), GNUTLS_FSAN_SET) == 0);
    }
    int rc = gnutls_x509_crt_sign2(out.crt, ca ? ca->crt : out.crt, ca ? ca->key : out.key,
                                   GNUTLS_DIG_SHA256, 0);
    g_assert_true(rc == 0);
    gnutls_datum_t d;
    char file[64];
    g_assert_true(gnutls_x509_crt_export2(out.crt, GNUTLS_X509_FMT_PEM, &d) == 0);
    g_snprintf(file, sizeof file, "%s.pem", name);
    write_datum(file, &d);
    gnutls_free(d.data);
    g_assert_true(gnutls_x509_privkey_export2(out.key, GNUTLS_X509_FMT_PEM, &d) == 0);
    g_snprintf(file, sizeof file, "%s.key", name);
    write_datum(file, &d);
    gnutls_free(d.data);
    return out;
}

static void issued_free(issued *i)
{
    gnutls_x509_crt_deinit(i->crt);
    gnutls_x509_privkey_deinit(i->key);
}

static char *path(const char *name, const char *ext)
{
    char *file = g_strdup_printf("%s.%s", name, ext);
    char *p = g_build_filename(dir, file, NULL);
    g_free(file);
    return p;
}

/* A context for member `self` using NAME.pem/.key and the CA files. */
static dmn_tls_ctx *ctx_for(const char *name, const char *self, const char *ca1, const char *ca2,
                            GError **err)
{
    char *cert = path(name, "pem"), *key = path(name, "key");
    char *c1 = path(ca1, "pem"), *c2 = ca2 ? path(ca2, "pem") : NULL;
    const char *cas[] = { c1, c2, NULL };
    dmn_tls_ctx *ctx = dmn_tls_ctx_new(cas, cert, key, members, self, err);
    g_free(cert);
    g_free(key);
    g_free(c1);
    g_free(c2);
    return ctx;
}

static int suite_init(void)
{
    dir = g_dir_make_tmp("dmtls.XXXXXX", NULL);
    if (!dir)
        return 1;
    members = g_ptr_array_new();
    g_ptr_array_add(members, "127.0.0.1:7001");
    g_ptr_array_add(members, "127.0.0.1:7002");
    g_ptr_array_add(members, "127.0.0.1:7003");
    issued ca = make_cert("ca", NULL, NULL), ca2 = make_cert("ca2", NULL, NULL);
    issued n1 = make_cert("n1", "dmutex://127.0.0.1:7001", &ca);
    issued n2 = make_cert("n2", "dmutex://127.0.0.1:7002", &ca);
    issued n2b = make_cert("n2b", "dmutex://127.0.0.1:7002", &ca2);    /* rotated: the new CA */
    issued stranger = make_cert("stranger", "dmutex://127.0.0.1:7001", &ca2);
    issued outsider = make_cert("outsider", "dmutex://127.0.0.1:9999", &ca);
    issued nameless = make_cert("nameless", "", &ca);
    issued *all[] = { &ca, &ca2, &n1, &n2, &n2b, &stranger, &outsider, &nameless };
    for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
        issued_free(all[i]);
    return 0;
}

static int suite_cleanup(void)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *f;
    while (d && (f = g_dir_read_name(d)) != NULL) {
        char *p = g_build_filename(dir, f, NULL);
        g_unlink(p);
        g_free(p);
    }
    if (d)
        g_dir_close(d);
    g_rmdir(dir);
    g_free(dir);
    g_ptr_array_unref(members);
    return 0;
}

/* ------------------------------------------------------------ sessions */

/* Hand what `from` wrote to `to`. False if `to` failed on it. */
static bool deliver(dmn_tls *from, dmn_tls *to)
{
    GByteArray *out = dmn_tls_out(from);
    if (out->len == 0)
        return true;
    GByteArray *copy = g_byte_array_new();
    g_byte_array_append(copy, out->data, out->len);
    g_byte_array_set_size(out, 0);
    bool ok = dmn_tls_feed(to, copy->data, copy->len) == 0;
    g_byte_array_unref(copy);
    return ok;
}

/* Move ciphertext between the two until neither has anything to say (a
 * bounded number of rounds). Returns false if a side failed. */
static bool pump(dmn_tls *a, dmn_tls *b)
{
    bool ok = true;
    for (int round = 0; round < 16; round++) {
        if (dmn_tls_out(a)->len == 0 && dmn_tls_out(b)->len == 0)
            break;
        ok = deliver(a, b) && ok;
        ok = deliver(b, a) && ok;
    }
    return ok;
}

static void test_pair(void)
{
    GError *err = NULL;
    dmn_tls_ctx *c1 = ctx_for("n1", "127.0.0.1:7001", "ca", NULL, &err);
    dmn_tls_ctx *c2 = ctx_for("n2", "127.0.0.1:7002", "ca", NULL, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c2);
    /* node 1 dials node 2 (member id 1) */
    dmn_tls *cl = dmn_tls_new(c1, false, 1), *sv = dmn_tls_new(c2, true, -1);
    CU_ASSERT_TRUE(dmn_tls_out(cl)->len > 0);   /* the ClientHello, at once */
    /* frames queued before the handshake is done wait inside */
    CU_ASSERT_EQUAL(dmn_tls_send(cl, (const uint8_t *)"early frame", 11), 0);
    CU_ASSERT_TRUE(pump(cl, sv));
    CU_ASSERT_TRUE(dmn_tls_established(cl));
    CU_ASSERT_TRUE(dmn_tls_established(sv));
    CU_ASSERT_EQUAL(dmn_tls_peer_member(sv), 0);
    CU_ASSERT_EQUAL(dmn_tls_peer_member(cl), 1);
    CU_ASSERT_TRUE(pump(cl, sv));
    GByteArray *got = dmn_tls_plain(sv);
    CU_ASSERT_EQUAL(got->len, 11);
    CU_ASSERT_EQUAL(memcmp(got->data, "early frame", 11), 0);
    g_byte_array_set_size(got, 0);
    /* a large write crosses record boundaries intact */
    static uint8_t big[70000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7);
    CU_ASSERT_EQUAL(dmn_tls_send(cl, big, sizeof big), 0);
    CU_ASSERT_FALSE(memmem(dmn_tls_out(cl)->data, dmn_tls_out(cl)->len, big + 1000, 64) != NULL);
    CU_ASSERT_TRUE(pump(cl, sv));
    CU_ASSERT_EQUAL(got->len, sizeof big);
    CU_ASSERT_EQUAL(memcmp(got->data, big, sizeof big), 0);
    /* a tampered record kills the session */
    CU_ASSERT_EQUAL(dmn_tls_send(cl, (const uint8_t *)"frame", 5), 0);
    GByteArray *o = dmn_tls_out(cl);
    o->data[o->len - 3] ^= 1;
    CU_ASSERT_FALSE(pump(cl, sv));
    CU_ASSERT_STRING_NOT_EQUAL(dmn_tls_error(sv), "");
    dmn_tls_free(cl);
    dmn_tls_free(sv);
    dmn_tls_ctx_free(c1);
    dmn_tls_ctx_free(c2);
}

/* Both sides fail with a reason, and the reason on the side that refused
 * contains `why`. */
static void refused(dmn_tls_ctx *client, int dial, dmn_tls_ctx *server, bool server_refuses,
                    const char *why)
{
    dmn_tls *cl = dmn_tls_new(client, false, dial), *sv = dmn_tls_new(server, true, -1);
    CU_ASSERT_EQUAL(dmn_tls_send(cl, (const uint8_t *)"frame", 5), 0);
    CU_ASSERT_FALSE(pump(cl, sv));
    CU_ASSERT_EQUAL(dmn_tls_plain(sv)->len, 0);   /* nothing got through */
    const char *refuser = server_refuses ? dmn_tls_error(sv) : dmn_tls_error(cl);
    const char *refused_side = server_refuses ? dmn_tls_error(cl) : dmn_tls_error(sv);
    CU_ASSERT_PTR_NOT_NULL(strstr(refuser, why));
    if (!strstr(refuser, why))
        fprintf(stderr, "refuser said: %s\n", refuser);
    CU_ASSERT_PTR_NOT_NULL(strstr(refused_side, "the peer refused the TLS session"));
    if (!strstr(refused_side, "the peer refused"))
        fprintf(stderr, "refused side said: %s\n", refused_side);
    dmn_tls_free(cl);
    dmn_tls_free(sv);
}

static void test_refusals(void)
{
    GError *err = NULL;
    dmn_tls_ctx *c1 = ctx_for("n1", "127.0.0.1:7001", "ca", NULL, &err);
    dmn_tls_ctx *c2 = ctx_for("n2", "127.0.0.1:7002", "ca", NULL, &err);
    /* a node whose CA node 2 does not trust (it trusts both) */
    dmn_tls_ctx *st = ctx_for("stranger", "127.0.0.1:7001", "ca", "ca2", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    refused(st, 1, c2, true, "not trusted");
    /* node 1 dials member 3 (id 2) but reaches node 2's certificate */
    refused(c1, 2, c2, false, "names 127.0.0.1:7002, not 127.0.0.1:7003");
    /* an outsider's certificate (trusted CA, no member) */
    char *cert = path("outsider", "pem"), *key = path("outsider", "key"), *ca = path("ca", "pem");
    const char *cas[] = { ca, NULL };
    GPtrArray *wide = g_ptr_array_new();
    g_ptr_array_add(wide, "127.0.0.1:7001");
    g_ptr_array_add(wide, "127.0.0.1:7002");
    g_ptr_array_add(wide, "127.0.0.1:9999");
    dmn_tls_ctx *out = dmn_tls_ctx_new(cas, cert, key, wide, "127.0.0.1:9999", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    refused(out, 1, c2, true, "127.0.0.1:9999, which is not a member");
    dmn_tls_ctx_free(out);
    g_ptr_array_unref(wide);
    /* a plain (non-TLS) peer: no silent downgrade, and a reason that says so */
    dmn_tls *sv = dmn_tls_new(c2, true, -1);
    static const uint8_t plain_frame[28] = { 0, 0, 0, 28, 2, 1, 0, 0, 0, 1 };
    CU_ASSERT(dmn_tls_feed(sv, plain_frame, sizeof plain_frame) < 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(dmn_tls_error(sv), "is TLS configured there?"));
    if (!strstr(dmn_tls_error(sv), "is TLS configured"))
        fprintf(stderr, "plain peer: %s\n", dmn_tls_error(sv));
    CU_ASSERT_EQUAL(dmn_tls_plain(sv)->len, 0);
    dmn_tls_free(sv);
    g_free(cert);
    g_free(key);
    g_free(ca);
    dmn_tls_ctx_free(c1);
    dmn_tls_ctx_free(c2);
    dmn_tls_ctx_free(st);
}

static void test_own_certificate(void)
{
    GError *err = NULL;
    /* node 1 given node 2's certificate: refused at start */
    CU_ASSERT_PTR_NULL(ctx_for("n2", "127.0.0.1:7001", "ca", NULL, &err));
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err->message, "names member 127.0.0.1:7002, not this node"));
    g_clear_error(&err);
    CU_ASSERT_PTR_NULL(ctx_for("nameless", "127.0.0.1:7001", "ca", NULL, &err));
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err->message, "names no member"));
    g_clear_error(&err);
    /* a key that is not the certificate's */
    char *cert = path("n1", "pem"), *key = path("n2", "key"), *ca = path("ca", "pem");
    const char *cas[] = { ca, NULL };
    CU_ASSERT_PTR_NULL(dmn_tls_ctx_new(cas, cert, key, members, "127.0.0.1:7001", &err));
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err->message, "tls_key"));
    g_clear_error(&err);
    const char *none[] = { NULL };
    CU_ASSERT_PTR_NULL(dmn_tls_ctx_new(none, cert, key, members, "127.0.0.1:7001", &err));
    g_clear_error(&err);
    char *member = dmn_tls_cert_file_member(cert, &err);
    CU_ASSERT_STRING_EQUAL(member, "127.0.0.1:7001");
    g_free(member);
    g_free(cert);
    g_free(key);
    g_free(ca);
}

/* A certificate rotation to a new CA: every node trusts both CAs, node 2
 * re-reads its certificate (now from the new CA); new sessions use it, an
 * open session goes on; a reload that fails keeps the old one. */
static void test_reload(void)
{
    GError *err = NULL;
    dmn_tls_ctx *c1 = ctx_for("n1", "127.0.0.1:7001", "ca", "ca2", &err);
    /* node 2's files: a copy we overwrite, as an operator would */
    char *live_pem = path("live", "pem"), *live_key = path("live", "key");
    char *n2_pem = path("n2", "pem"), *n2_key = path("n2", "key");
    char *n2b_pem = path("n2b", "pem"), *n2b_key = path("n2b", "key");
    char *data;
    gsize len;
    CU_ASSERT_TRUE(g_file_get_contents(n2_pem, &data, &len, NULL) && g_file_set_contents(live_pem, data, (gssize)len, NULL));
    g_free(data);
    CU_ASSERT_TRUE(g_file_get_contents(n2_key, &data, &len, NULL) && g_file_set_contents(live_key, data, (gssize)len, NULL));
    g_free(data);
    dmn_tls_ctx *c2 = ctx_for("live", "127.0.0.1:7002", "ca", "ca2", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c2);
    dmn_tls *old_cl = dmn_tls_new(c1, false, 1), *old_sv = dmn_tls_new(c2, true, -1);
    CU_ASSERT_TRUE(pump(old_cl, old_sv));
    CU_ASSERT_TRUE(dmn_tls_established(old_cl));

    CU_ASSERT_TRUE(g_file_get_contents(n2b_pem, &data, &len, NULL) && g_file_set_contents(live_pem, data, (gssize)len, NULL));
    g_free(data);
    CU_ASSERT_TRUE(g_file_get_contents(n2b_key, &data, &len, NULL) && g_file_set_contents(live_key, data, (gssize)len, NULL));
    g_free(data);
    CU_ASSERT_TRUE(dmn_tls_ctx_reload(c2, &err));
    dmn_tls *cl = dmn_tls_new(c1, false, 1), *sv = dmn_tls_new(c2, true, -1);
    CU_ASSERT_TRUE(pump(cl, sv));
    CU_ASSERT_TRUE(dmn_tls_established(cl));
    /* the new certificate is in use: a node trusting only the old CA refuses it */
    dmn_tls_ctx *only_old = ctx_for("n1", "127.0.0.1:7001", "ca", NULL, &err);
    refused(only_old, 1, c2, false, "not trusted");
    /* the open session still carries frames */
    CU_ASSERT_EQUAL(dmn_tls_send(old_cl, (const uint8_t *)"still", 5), 0);
    CU_ASSERT_TRUE(pump(old_cl, old_sv));
    CU_ASSERT_EQUAL(dmn_tls_plain(old_sv)->len, 5);
    /* a broken file: the reload fails, the certificate in use stays */
    CU_ASSERT_TRUE(g_file_set_contents(live_pem, "not a certificate", -1, NULL));
    CU_ASSERT_FALSE(dmn_tls_ctx_reload(c2, &err));
    g_clear_error(&err);
    dmn_tls *cl3 = dmn_tls_new(c1, false, 1), *sv3 = dmn_tls_new(c2, true, -1);
    CU_ASSERT_TRUE(pump(cl3, sv3));
    CU_ASSERT_TRUE(dmn_tls_established(cl3));
    dmn_tls *all[] = { old_cl, old_sv, cl, sv, cl3, sv3 };
    for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
        dmn_tls_free(all[i]);
    dmn_tls_ctx_free(c1);
    dmn_tls_ctx_free(c2);
    dmn_tls_ctx_free(only_old);
    char *paths[] = { live_pem, live_key, n2_pem, n2_key, n2b_pem, n2b_key };
    for (size_t i = 0; i < G_N_ELEMENTS(paths); i++)
        g_free(paths[i]);
}

static CU_TestInfo tls_tests[] = {
    { "a good pair", test_pair },
    { "refusals", test_refusals },
    { "own certificate", test_own_certificate },
    { "reload", test_reload },
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    { "tls", suite_init, suite_cleanup, NULL, NULL, tls_tests },
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return dm_test_main(argc, argv, suites);
}
