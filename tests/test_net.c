/* tests/test_net.c -- CUnit suites for net/: frame authentication and the
 * replay window (auth), keyrings, encrypted datagrams, the failure book and
 * key files (keyring), the state file (store), configuration parsing
 * (netconfig), the transport on loopback (three nodes on one libuv loop
 * acquire a lock, and a frame written to a node's TCP port one byte at a
 * time is reassembled by the stream framing while garbage is counted), and
 * the control protocol's matching of outcomes by attempt. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <uv.h>

#include "agree.h"
#include "auth.h"
#include "codec.h"
#include "control.h"
#include "error.h"
#include "join.h"
#include "netconfig.h"
#include "store.h"
#include "testlib.h"
#include "transport.h"

static const char KEY[] = "0123456789abcdef0123456789abcdef";
#define NOW 1700000000000000LL

static size_t sample_frame(uint8_t *buf, uint16_t from, uint16_t to)
{
    dm_msg m;
    memset(&m, 0, sizeof m);
    m.type = DM_MSG_REQUEST;
    m.from = from;
    m.to = to;
    m.clock = 3;
    m.attempt = 0x100000001ull;
    m.value = 4;
    dm_msg_set_name(&m, "lock");
    int len = dm_codec_encode(&m, buf, DM_FRAME_MAX);
    CU_ASSERT_FATAL(len > 0);
    return (size_t)len;
}

/* ------------------------------------------------------------ auth */

static void test_auth_roundtrip(void)
{
    dmn_auth *tx = dmn_auth_new(KEY, 32, 3, 30 * G_USEC_PER_SEC, NOW);
    dmn_auth *rx = dmn_auth_new(KEY, 32, 3, 30 * G_USEC_PER_SEC, NOW);
    uint8_t buf[DM_FRAME_MAX + DMN_AUTH_TRAILER];
    size_t fl = sample_frame(buf, 0, 1);
    size_t total = dmn_auth_seal(tx, buf, fl, NOW);
    CU_ASSERT_EQUAL(total, fl + DMN_AUTH_TRAILER);
    CU_ASSERT_EQUAL(buf[DMN_AUTH_FLAGS_OFFSET], DMN_AUTH_FLAG);
    CU_ASSERT_EQUAL(dmn_auth_open(rx, buf, total, fl, NOW + 1000), DMN_AUTH_OK);
    dm_msg m;
    CU_ASSERT_EQUAL(dm_codec_decode(buf, fl, &m), (int)fl);   /* flag cleared */
    CU_ASSERT_STRING_EQUAL(m.name, "lock");
    dmn_auth_free(tx);
    dmn_auth_free(rx);
    CU_ASSERT_PTR_NULL(dmn_auth_new("short", 5, 3, 1, NOW));
}

static void test_auth_refusals(void)
{
    dmn_auth *tx = dmn_auth_new(KEY, 32, 3, 30 * G_USEC_PER_SEC, NOW);
    dmn_auth *other = dmn_auth_new("another key, also 32 bytes long.", 32, 3, 30 * G_USEC_PER_SEC, NOW);
    dmn_auth *rx = dmn_auth_new(KEY, 32, 3, 30 * G_USEC_PER_SEC, NOW);
    uint8_t buf[DM_FRAME_MAX + DMN_AUTH_TRAILER], copy[sizeof buf];
    size_t fl = sample_frame(buf, 0, 1);

    /* No trailer. */
    CU_ASSERT_EQUAL(dmn_auth_open(rx, buf, fl, fl, NOW), DMN_AUTH_MISSING);
    /* Wrong key. */
    size_t total = dmn_auth_seal(other, buf, fl, NOW);
    CU_ASSERT_EQUAL(dmn_auth_open(rx, buf, total, fl, NOW), DMN_AUTH_BADMAC);
    /* One flipped bit anywhere. */
    fl = sample_frame(buf, 0, 1);
    total = dmn_auth_seal(tx, buf, fl, NOW);
    for (size_t i = 0; i < total; i += 7) {
        memcpy(copy, buf, total);
        copy[i] ^= 0x10;
        CU_ASSERT_NOT_EQUAL(dmn_auth_open(rx, copy, total, fl, NOW), DMN_AUTH_OK);
    }
    /* Replay: accepted once. */
    memcpy(copy, buf, total);
    CU_ASSERT_EQUAL(dmn_auth_open(rx, buf, total, fl, NOW), DMN_AUTH_OK);
    CU_ASSERT_EQUAL(dmn_auth_open(rx, copy, total, fl, NOW), DMN_AUTH_REPLAY);
    /* Stale, and from the future. */
    fl = sample_frame(buf, 0, 1);
    total = dmn_auth_seal(tx, buf, fl, NOW - 31 * G_USEC_PER_SEC);
    CU_ASSERT_EQUAL(dmn_auth_open(rx, buf, total, fl, NOW), DMN_AUTH_STALE);
    fl = sample_frame(buf, 0, 1);
    total = dmn_auth_seal(tx, buf, fl, NOW + 31 * G_USEC_PER_SEC);
    CU_ASSERT_EQUAL(dmn_auth_open(rx, buf, total, fl, NOW), DMN_AUTH_STALE);
    /* A sender outside the membership, correctly MACed. */
    fl = sample_frame(buf, 0, 1);
    buf[7] = 9;   /* from = 9 */
    total = dmn_auth_seal(tx, buf, fl, NOW);
    CU_ASSERT_EQUAL(dmn_auth_open(rx, buf, total, fl, NOW), DMN_AUTH_PEER);
    dmn_auth_free(tx);
    dmn_auth_free(other);
    dmn_auth_free(rx);
}

static void test_auth_window(void)
{
    enum { N = 400 };
    dmn_auth *tx = dmn_auth_new(KEY, 32, 2, 30 * G_USEC_PER_SEC, NOW);
    dmn_auth *rx = dmn_auth_new(KEY, 32, 2, 30 * G_USEC_PER_SEC, NOW);
    static uint8_t frames[N][DM_FRAME_MAX + DMN_AUTH_TRAILER];
    size_t fl = 0, total = 0;
    for (int i = 0; i < N; i++) {
        fl = sample_frame(frames[i], 0, 1);
        total = dmn_auth_seal(tx, frames[i], fl, NOW);
    }
    /* Deliver 300..399 first, then 299 down to 0: the last
     * DMN_REPLAY_WINDOW below the highest are accepted out of order, older
     * ones are not; each is accepted at most once. */
    int accepted = 0;
    for (int i = 300; i < N; i++)
        accepted += dmn_auth_open(rx, frames[i], total, fl, NOW) == DMN_AUTH_OK;
    CU_ASSERT_EQUAL(accepted, 100);
    for (int i = 299; i >= 0; i--) {
        dmn_auth_result r = dmn_auth_open(rx, frames[i], total, fl, NOW);
        if (N - 1 - i < DMN_REPLAY_WINDOW) {
            CU_ASSERT_EQUAL(r, DMN_AUTH_OK);
        } else {
            CU_ASSERT_EQUAL(r, DMN_AUTH_REPLAY);
        }
    }
    dmn_auth_free(tx);
    dmn_auth_free(rx);
}

static const char KEY2[] = "a second key, for the rotations.";

static GBytes *b(const char *k) { return g_bytes_new_static(k, strlen(k)); }

/* A keyring seals with its first key and opens with any: the three steps
 * of a rotation (add, switch, remove) each keep every pair talking. */
static void test_auth_keyring(void)
{
    GBytes *k1 = b(KEY), *k2 = b(KEY2);
    GBytes *old_only[] = { k1 }, *added[] = { k1, k2 }, *switched[] = { k2, k1 }, *new_only[] = { k2 };
    dmn_auth *tx = dmn_auth_new_ring(old_only, 1, 3, 30 * G_USEC_PER_SEC, NOW);
    dmn_auth *rx = dmn_auth_new_ring(added, 2, 3, 30 * G_USEC_PER_SEC, NOW);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tx);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rx);
    CU_ASSERT_EQUAL(dmn_auth_n_keys(rx), 2);
    uint8_t buf[DM_FRAME_MAX + DMN_AUTH_TRAILER];
    size_t fl = sample_frame(buf, 0, 1);
    size_t total = dmn_auth_seal(tx, buf, fl, NOW);
    CU_ASSERT_EQUAL(dmn_auth_open(rx, buf, total, fl, NOW), DMN_AUTH_OK);   /* added: old still opens */
    CU_ASSERT_TRUE(dmn_auth_set_keys(tx, switched, 2));
    fl = sample_frame(buf, 0, 1);
    total = dmn_auth_seal(tx, buf, fl, NOW);
    CU_ASSERT_EQUAL(dmn_auth_open(rx, buf, total, fl, NOW), DMN_AUTH_OK);   /* switched: new opens */
    /* the old-key-only receiver refuses what the switched sender seals */
    dmn_auth *old_rx = dmn_auth_new_ring(old_only, 1, 3, 30 * G_USEC_PER_SEC, NOW);
    fl = sample_frame(buf, 0, 1);
    total = dmn_auth_seal(tx, buf, fl, NOW);
    CU_ASSERT_EQUAL(dmn_auth_open(old_rx, buf, total, fl, NOW), DMN_AUTH_BADMAC);
    /* removed: a node still on the old key is refused */
    CU_ASSERT_TRUE(dmn_auth_set_keys(rx, new_only, 1));
    dmn_auth *stale = dmn_auth_new_ring(old_only, 1, 3, 30 * G_USEC_PER_SEC, NOW + 1);
    fl = sample_frame(buf, 2, 1);
    total = dmn_auth_seal(stale, buf, fl, NOW);
    CU_ASSERT_EQUAL(dmn_auth_open(rx, buf, total, fl, NOW), DMN_AUTH_BADMAC);
    /* a replacement ring keeps the replay state: the frame accepted above
     * (from 0) is still a replay */
    fl = sample_frame(buf, 0, 1);
    total = dmn_auth_seal(tx, buf, fl, NOW);
    uint8_t copy[sizeof buf];
    memcpy(copy, buf, total);
    CU_ASSERT_EQUAL(dmn_auth_open(rx, buf, total, fl, NOW), DMN_AUTH_OK);
    CU_ASSERT_EQUAL(dmn_auth_open(rx, copy, total, fl, NOW), DMN_AUTH_REPLAY);
    /* unusable rings are refused and leave the old one in place */
    GBytes *shortk = b("short"), *bad[] = { k2, shortk };
    CU_ASSERT_FALSE(dmn_auth_set_keys(rx, bad, 2));
    CU_ASSERT_FALSE(dmn_auth_set_keys(rx, new_only, 0));
    CU_ASSERT_EQUAL(dmn_auth_n_keys(rx), 1);
    CU_ASSERT_PTR_NULL(dmn_auth_new_ring(bad, 2, 3, 1, NOW));
    dmn_auth_free(tx);
    dmn_auth_free(rx);
    dmn_auth_free(old_rx);
    dmn_auth_free(stale);
    g_bytes_unref(k1);
    g_bytes_unref(k2);
    g_bytes_unref(shortk);
}

/* AES-256-GCM datagrams: a round trip; every tampered byte, a wrong key, a
 * replay and a stale time refused; the first byte tells the forms apart. */
static void test_auth_encrypted(void)
{
    GBytes *k1 = b(KEY), *k2 = b(KEY2);
    GBytes *one[] = { k1 }, *other[] = { k2 }, *both[] = { k2, k1 };
    dmn_auth *tx = dmn_auth_new_ring(one, 1, 3, 30 * G_USEC_PER_SEC, NOW);
    dmn_auth *rx = dmn_auth_new_ring(both, 2, 3, 30 * G_USEC_PER_SEC, NOW);
    dmn_auth *wrong = dmn_auth_new_ring(other, 1, 3, 30 * G_USEC_PER_SEC, NOW);
    uint8_t frame[DM_FRAME_MAX], plain[DM_FRAME_MAX];
    uint8_t dgram[DM_FRAME_MAX + DMN_AUTH_ENC_OVERHEAD], work[sizeof dgram];
    size_t fl = sample_frame(frame, 0, 1);
    memcpy(plain, frame, fl);
    size_t len = dmn_auth_seal_datagram(tx, frame, fl, dgram, NOW);
    CU_ASSERT_EQUAL_FATAL(len, fl + DMN_AUTH_ENC_OVERHEAD);
    CU_ASSERT_TRUE(dmn_auth_is_encrypted(dgram, len));
    CU_ASSERT_FALSE(dmn_auth_is_encrypted(frame, fl));
    /* the frame is not readable on the wire: its name does not appear */
    CU_ASSERT_PTR_NULL(memmem(dgram, len, "lock", 4));
    /* tamper with every byte in turn: never accepted */
    for (size_t i = 0; i < len; i++) {
        memcpy(work, dgram, len);
        work[i] ^= 0x40;
        size_t out = 0;
        CU_ASSERT_NOT_EQUAL(dmn_auth_open_datagram(rx, work, len, &out, NOW), DMN_AUTH_OK);
    }
    /* truncated */
    memcpy(work, dgram, len);
    size_t out = 0;
    CU_ASSERT_NOT_EQUAL(dmn_auth_open_datagram(rx, work, len - 1, &out, NOW), DMN_AUTH_OK);
    /* wrong key */
    memcpy(work, dgram, len);
    CU_ASSERT_EQUAL(dmn_auth_open_datagram(wrong, work, len, &out, NOW), DMN_AUTH_DECRYPT);
    /* the right key, second in the ring: the frame comes back, flag clear */
    memcpy(work, dgram, len);
    CU_ASSERT_EQUAL(dmn_auth_open_datagram(rx, work, len, &out, NOW), DMN_AUTH_OK);
    CU_ASSERT_EQUAL(out, fl);
    CU_ASSERT_EQUAL(memcmp(work, plain, fl), 0);
    dm_msg m;
    CU_ASSERT_EQUAL(dm_codec_decode(work, out, &m), (int)fl);
    /* replay */
    memcpy(work, dgram, len);
    CU_ASSERT_EQUAL(dmn_auth_open_datagram(rx, work, len, &out, NOW), DMN_AUTH_REPLAY);
    /* stale */
    len = dmn_auth_seal_datagram(tx, frame, fl, dgram, NOW - 31 * G_USEC_PER_SEC);
    CU_ASSERT_EQUAL(dmn_auth_open_datagram(rx, dgram, len, &out, NOW), DMN_AUTH_STALE);
    /* two seals of one frame differ (fresh nonce) */
    uint8_t again[sizeof dgram];
    size_t l1 = dmn_auth_seal_datagram(tx, frame, fl, dgram, NOW);
    size_t l2 = dmn_auth_seal_datagram(tx, frame, fl, again, NOW);
    CU_ASSERT_EQUAL(l1, l2);
    CU_ASSERT_NOT_EQUAL(memcmp(dgram + 1, again + 1, DMN_AUTH_NONCE), 0);
    dmn_auth_free(tx);
    dmn_auth_free(rx);
    dmn_auth_free(wrong);
    g_bytes_unref(k1);
    g_bytes_unref(k2);
}

/* The failure book: the first failure of a peer is logged, then at most
 * one a second, with the count of those not logged. */
static void test_authlog(void)
{
    dmn_authlog *l = dmn_authlog_new();
    uint64_t sup = 99;
    CU_ASSERT_TRUE(dmn_authlog_note(l, "10.0.0.1:7000", NOW, &sup));
    CU_ASSERT_EQUAL(sup, 0);
    CU_ASSERT_FALSE(dmn_authlog_note(l, "10.0.0.1:7000", NOW + 1000, &sup));
    CU_ASSERT_FALSE(dmn_authlog_note(l, "10.0.0.1:7000", NOW + 999999, &sup));
    CU_ASSERT_TRUE(dmn_authlog_note(l, "10.0.0.2:7000", NOW + 2000, &sup));   /* another peer */
    CU_ASSERT_TRUE(dmn_authlog_note(l, "10.0.0.1:7000", NOW + G_USEC_PER_SEC, &sup));
    CU_ASSERT_EQUAL(sup, 2);
    /* forged sources cannot grow the book without bound */
    for (int i = 0; i < 200; i++) {
        char a[32];
        g_snprintf(a, sizeof a, "192.0.2.%d:1", i);
        dmn_authlog_note(l, a, NOW, &sup);
    }
    GString *s = g_string_new(NULL);
    dmn_authlog_format(l, s);
    CU_ASSERT_PTR_NOT_NULL(strstr(s->str, "auth_failures total=205 last=other"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s->str, " 10.0.0.1:7000=4"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s->str, " 10.0.0.2:7000=1"));
    CU_ASSERT(strlen(s->str) < 64 * 40);
    g_string_free(s, TRUE);
    dmn_authlog_free(l);
}

/* Key files: one key per line (comments, blank lines), several files in
 * order, a binary file as one key; short keys and empty files refused. */
static void test_key_files(void)
{
    char *dir = g_dir_make_tmp("dmkeys.XXXXXX", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char *f1 = g_build_filename(dir, "k1", NULL), *f2 = g_build_filename(dir, "k2", NULL);
    char *f3 = g_build_filename(dir, "k3", NULL);
    CU_ASSERT_TRUE(g_file_set_contents(f1, "# ring\n  new key, sixteen+ bytes  \n\nold key, sixteen+ bytes\n", -1, NULL));
    static const char binary[20] = { 1, 2, 3, 0, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, '\n', ' ' };
    CU_ASSERT_TRUE(g_file_set_contents(f2, binary, sizeof binary, NULL));
    char *list = g_strdup_printf("%s, %s", f1, f2);
    GError *err = NULL;
    GPtrArray *keys = dmn_config_read_keys(list, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(keys);
    CU_ASSERT_EQUAL(keys->len, 3);
    gsize n;
    const char *k0 = g_bytes_get_data(g_ptr_array_index(keys, 0), &n);
    CU_ASSERT(n == strlen("new key, sixteen+ bytes") && memcmp(k0, "new key, sixteen+ bytes", n) == 0);
    CU_ASSERT_EQUAL(g_bytes_get_size(g_ptr_array_index(keys, 2)), 18);
    g_ptr_array_unref(keys);
    CU_ASSERT_TRUE(g_file_set_contents(f3, "good key, sixteen+ bytes\ntoo short\n", -1, NULL));
    CU_ASSERT_PTR_NULL(dmn_config_read_keys(f3, &err));
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err->message, "line 2"));
    g_clear_error(&err);
    CU_ASSERT_TRUE(g_file_set_contents(f3, "# nothing\n\n", -1, NULL));
    CU_ASSERT_PTR_NULL(dmn_config_read_keys(f3, &err));
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err->message, "no key"));
    g_clear_error(&err);
    g_unlink(f1);
    g_unlink(f2);
    g_unlink(f3);
    g_rmdir(dir);
    g_free(f1);
    g_free(f2);
    g_free(f3);
    g_free(list);
    g_free(dir);
}

/* ------------------------------------------------------------ store */

/* JOIN frames: an entry round-trips; every malformed shape is named. */
static void test_join_frames(void)
{
    uint8_t buf[DMN_JOIN_ENTRY_MAX];
    int type = 0;
    bool sealed = true;
    dmn_join_entry e;
    size_t len = dmn_join_encode_request(buf);
    CU_ASSERT_PTR_NULL(dmn_join_parse(buf, len, &type, &sealed, &e));
    CU_ASSERT_EQUAL(type, DMN_JOIN_TYPE);
    CU_ASSERT_FALSE(sealed);
    len = dmn_join_encode_entry(buf, 10, 6, 7, "127.0.0.1:7001");
    CU_ASSERT_PTR_NULL(dmn_join_parse(buf, len, &type, &sealed, &e));
    CU_ASSERT_EQUAL(type, DMN_JOIN_ENTRY_TYPE);
    CU_ASSERT_EQUAL(e.max_members, 10);
    CU_ASSERT_EQUAL(e.members, 6);
    CU_ASSERT_EQUAL(e.id, 7);
    CU_ASSERT_STRING_EQUAL(e.address, "127.0.0.1:7001");
    CU_ASSERT_PTR_NOT_NULL(dmn_join_parse(buf, len - 1, &type, &sealed, &e));   /* length prefix */
    buf[8] = 10;                                                          /* id >= max */
    CU_ASSERT_PTR_NOT_NULL(dmn_join_parse(buf, len, &type, &sealed, &e));
    len = dmn_join_encode_entry(buf, 10, 6, 7, "no-port");
    CU_ASSERT_PTR_NOT_NULL(dmn_join_parse(buf, len, &type, &sealed, &e));
    len = dmn_join_encode_entry(buf, 10, 6, 7, "a:1");
    buf[9] = '\0';                                                        /* NUL in the address */
    CU_ASSERT_PTR_NOT_NULL(dmn_join_parse(buf, len, &type, &sealed, &e));
    buf[5] = 0x01;                                                        /* a lock message type */
    CU_ASSERT_FALSE(dmn_join_is_frame(buf, len));
    CU_ASSERT_PTR_NOT_NULL(dmn_join_parse(buf, len, &type, &sealed, &e));
}

/* The address table file (DIR/bindings): a written table reads back; an
 * older file (spare ids only) gives bindings but no member list; every bad
 * shape is refused with an error naming the file. */
static void load_text(const char *dir, const char *text, dmn_join_result *t, GError **err)
{
    CU_ASSERT_TRUE(dmn_store_save_file(dir, DMN_TABLE_FILE, text, strlen(text), NULL));
    gboolean ok = dmn_table_load(dir, "127.0.0.1:7009", t, err);
    CU_ASSERT_EQUAL(ok, *err == NULL);
}

static void test_address_table(void)
{
    char *dir = g_dir_make_tmp("dmtable.XXXXXX", NULL);
    dmn_join_result t;
    GError *err = NULL;
    CU_ASSERT_TRUE(dmn_table_load(dir, "127.0.0.1:7009", &t, &err));
    CU_ASSERT_PTR_NULL(t.members);   /* no file */
    const char *by_id[6] = { "127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003", NULL,
                             "127.0.0.1:7009", NULL };
    char *text = dmn_table_format(3, by_id, 6);
    load_text(dir, text, &t, &err);
    g_free(text);
    CU_ASSERT_PTR_NULL_FATAL(err);
    CU_ASSERT_EQUAL(t.members->len, 3);
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(t.members, 2), "127.0.0.1:7003");
    CU_ASSERT_EQUAL(t.max_members, 6);
    CU_ASSERT_EQUAL(t.self_id, 4);
    CU_ASSERT_EQUAL_FATAL(t.bindings->len, 1);
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(t.bindings, 0), "4=127.0.0.1:7009");
    dmn_join_result_clear(&t);
    load_text(dir, "4=127.0.0.1:7009\n", &t, &err);   /* older: spare ids only */
    CU_ASSERT_PTR_NULL_FATAL(err);
    CU_ASSERT_EQUAL(t.members->len, 0);
    CU_ASSERT_EQUAL(t.max_members, 0);
    CU_ASSERT_EQUAL(t.self_id, 4);
    dmn_join_result_clear(&t);
    const char *bad[] = { "garbage\n", "members=2\n0=127.0.0.1:7001\n",
                          "max_members=2\n5=127.0.0.1:7005\n", "0=127.0.0.1:7001\n0=127.0.0.1:7002\n",
                          "members=0\n", "members=99999999999999999999\n", "x=127.0.0.1:7001\n",
                          "1=no-port\n", "max_members=2\nmembers=3\n0=a:1\n1=b:1\n2=c:1\n" };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        load_text(dir, bad[i], &t, &err);
        CU_ASSERT_PTR_NOT_NULL(err);
        if (err) {
            CU_ASSERT_PTR_NOT_NULL(strstr(err->message, DMN_TABLE_FILE));
            g_clear_error(&err);
        }
        dmn_join_result_clear(&t);
    }
    g_autofree char *file = g_build_filename(dir, DMN_TABLE_FILE, NULL);
    g_unlink(file);
    g_rmdir(dir);
    g_free(dir);
}

/* Sealed JOIN frames (key_file): a frame sealed with a key of the ring
 * opens and gives its nonce back; a wrong key, a flipped bit, an unsealed
 * frame and an old one are refused, each for its reason. */
static void test_join_sealed(void)
{
    const int64_t now = INT64_C(1700000000) * G_USEC_PER_SEC;
    dmn_auth *a = dmn_auth_new("0123456789abcdef-cluster", 24, 1, 30 * G_USEC_PER_SEC, now);
    dmn_auth *other = dmn_auth_new("0123456789abcdef-another", 24, 1, 30 * G_USEC_PER_SEC, now);
    uint8_t buf[DMN_JOIN_ENTRY_MAX], nonce[DMN_JOIN_NONCE], got[DMN_JOIN_NONCE];
    dmn_join_nonce(nonce);
    int type = 0;
    bool sealed = false;
    dmn_join_entry e;
    size_t len = dmn_join_encode_entry(buf, 10, 6, 7, "127.0.0.1:7001");
    CU_ASSERT_EQUAL(dmn_join_open(a, buf, len, now, got), DMN_AUTH_MISSING);
    len = dmn_join_seal(a, buf, len, nonce, now);
    CU_ASSERT_PTR_NULL(dmn_join_parse(buf, len, &type, &sealed, &e));
    CU_ASSERT_TRUE(sealed);
    CU_ASSERT_STRING_EQUAL(e.address, "127.0.0.1:7001");
    CU_ASSERT_EQUAL(dmn_join_open(a, buf, len, now + G_USEC_PER_SEC, got), DMN_AUTH_OK);
    CU_ASSERT_EQUAL(memcmp(got, nonce, DMN_JOIN_NONCE), 0);
    CU_ASSERT_EQUAL(dmn_join_open(a, buf, len, now + 31 * G_USEC_PER_SEC, got), DMN_AUTH_STALE);
    CU_ASSERT_EQUAL(dmn_join_open(other, buf, len, now, got), DMN_AUTH_BADMAC);
    buf[len - DMN_JOIN_TRAILER] ^= 1;   /* the nonce: covered by the MAC */
    CU_ASSERT_EQUAL(dmn_join_open(a, buf, len, now, got), DMN_AUTH_BADMAC);
    len = dmn_join_encode_request(buf);
    len = dmn_join_seal(other, buf, len, nonce, now);
    CU_ASSERT_PTR_NULL(dmn_join_parse(buf, len, &type, &sealed, &e));
    CU_ASSERT_EQUAL(type, DMN_JOIN_TYPE);
    CU_ASSERT_EQUAL(dmn_join_open(a, buf, len, now, got), DMN_AUTH_BADMAC);
    dmn_auth_free(a);
    dmn_auth_free(other);
}

static void test_store(void)
{
    char *dir = g_dir_make_tmp("dmstore.XXXXXX", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char *sub = g_build_filename(dir, "a", "b", NULL);
    GError *err = NULL;
    CU_ASSERT_TRUE(dmn_store_prepare(sub, &err));
    GBytes *b = (GBytes *)1;
    CU_ASSERT_TRUE(dmn_store_load(sub, &b, &err));
    CU_ASSERT_PTR_NULL(b);
    CU_ASSERT_TRUE(dmn_store_save(sub, "hello", 5, &err));
    CU_ASSERT_TRUE(dmn_store_save(sub, "world!", 6, &err));
    CU_ASSERT_TRUE(dmn_store_load(sub, &b, &err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    gsize len;
    const char *data = g_bytes_get_data(b, &len);
    CU_ASSERT_EQUAL(len, 6);
    CU_ASSERT_EQUAL(memcmp(data, "world!", 6), 0);
    g_bytes_unref(b);
    char *tmp = g_build_filename(sub, DMN_STORE_FILE ".tmp", NULL);
    CU_ASSERT_FALSE(g_file_test(tmp, G_FILE_TEST_EXISTS));
    char *state = g_build_filename(sub, DMN_STORE_FILE, NULL);
    g_unlink(state);
    g_rmdir(sub);
    char *a = g_build_filename(dir, "a", NULL);
    g_rmdir(a);
    g_rmdir(dir);
    /* An unwritable place fails with a message. */
    CU_ASSERT_FALSE(dmn_store_save("/nonexistent/dir", "x", 1, &err));
    CU_ASSERT_PTR_NOT_NULL(err);
    g_clear_error(&err);
    g_free(a);
    g_free(state);
    g_free(tmp);
    g_free(sub);
    g_free(dir);
}

/* ------------------------------------------------------------ netconfig */

/* Old daemon spellings still load (with a warning): a bare duration is
 * milliseconds, `membership` is swim.enabled. The syntax itself is
 * tests/test_confkeys' business. */
static void test_legacy_keys(void)
{
    dmn_config c;
    GError *err = NULL;
    dmn_config_init(&c);
    CU_ASSERT_TRUE(dmn_config_set(&c, "lease", "20", "test", &err));
    CU_ASSERT_EQUAL(c.core.lease_us, 20000);
    CU_ASSERT_TRUE(dmn_config_set(&c, "backoff_min", "30", "test", &err));
    CU_ASSERT_EQUAL(c.backoff_min_us, 30000);
    CU_ASSERT_TRUE(dmn_config_set(&c, "lease", "1.5s", "test", &err));
    CU_ASSERT_EQUAL(c.core.lease_us, 1500000);
    CU_ASSERT_TRUE(dmn_config_set(&c, "membership", "false", "test", &err));
    CU_ASSERT_FALSE(c.core.membership);
    CU_ASSERT_TRUE(dmn_config_set(&c, "swim.enabled", "true", "test", &err));
    CU_ASSERT_TRUE(c.core.membership);
    CU_ASSERT_FALSE(dmn_config_set(&c, "swim.probe_interval", "soon", "--set", &err));
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err->message, "swim.probe_interval") &&
                           strstr(err->message, "soon") && strstr(err->message, "--set"));
    g_clear_error(&err);
    dmn_config_clear(&c);
}

/* Too many members for the policy is a configuration error naming both,
 * found by the same rule dm_node_new applies (dm_policy_max_members). */
static void test_member_limit(void)
{
    dmn_config c;
    GError *err = NULL;
    dmn_config_init(&c);
    GString *csv = g_string_new(NULL);
    for (int i = 0; i < 65; i++)
        g_string_append_printf(csv, "%s127.0.0.1:%d", i ? "," : "", 20000 + i);
    CU_ASSERT_TRUE(dmn_config_set_members_csv(&c, csv->str, &err));
    c.self = g_strdup("127.0.0.1:20000");
    CU_ASSERT_TRUE(dmn_config_set(&c, "policy", "epoch", "test", &err));
    CU_ASSERT_FALSE(dmn_config_finish(&c, &err));
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err->message, "65") && strstr(err->message, "epoch") &&
                           strstr(err->message, "at most 64"));
    g_clear_error(&err);
    dmn_config_clear(&c);
    g_string_free(csv, TRUE);
}

static void test_addresses(void)
{
    char *h = NULL;
    int p = 0;
    CU_ASSERT_TRUE(dmn_split_address("127.0.0.1:7001", &h, &p));
    CU_ASSERT_STRING_EQUAL(h, "127.0.0.1");
    CU_ASSERT_EQUAL(p, 7001);
    g_free(h);
    CU_ASSERT_TRUE(dmn_split_address("[::1]:80", &h, &p));
    CU_ASSERT_STRING_EQUAL(h, "::1");
    g_free(h);
    CU_ASSERT_FALSE(dmn_split_address("127.0.0.1", NULL, NULL));
    CU_ASSERT_FALSE(dmn_split_address(":80", NULL, NULL));
    CU_ASSERT_FALSE(dmn_split_address("h:0", NULL, NULL));
    CU_ASSERT_FALSE(dmn_split_address("h:65536", NULL, NULL));
    CU_ASSERT_FALSE(dmn_split_address("h:8x", NULL, NULL));
    CU_ASSERT_FALSE(dmn_split_address("::1:80", NULL, NULL));
}

static char *write_tmp(const char *contents)
{
    char *path = NULL;
    int fd = g_file_open_tmp("dmconf.XXXXXX", &path, NULL);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    g_file_set_contents(path, contents, -1, NULL);
    return path;
}

static void test_config(void)
{
    dmn_config c;
    GError *err = NULL;
    char *key = write_tmp("a cluster key of enough bytes\n");
    char *conf = g_strdup_printf("[dmutex]\nmembers = b:2, a:1 ,c:3\nid = c:3\npolicy = memberlist\n"
                                 "lease = 2s\nrpc_timeout = 250ms\nswim.probe_interval = 300ms\nswim.probe_timeout = 100ms\n"
                                 "swim.indirect_checks = 2\n"
                                 "drift_ppm = 500\nkey_file = %s\nswim.enabled = true\nbootstrap = yes\n"
                                 "rto_min = 2ms\nquorum = tree\n", key);
    char *path = write_tmp(conf);
    dmn_config_init(&c);
    CU_ASSERT_TRUE(dmn_config_load_file(&c, path, &err));
    CU_ASSERT_TRUE(dmn_config_finish(&c, &err));
    CU_ASSERT_EQUAL(c.core.n_members, 3);
    CU_ASSERT_EQUAL(c.self_id, 2);   /* a:1, b:2, c:3 */
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(c.members, 0), "a:1");
    CU_ASSERT_PTR_EQUAL(c.core.policy, &dm_policy_memberlist_ops);
    CU_ASSERT_EQUAL(c.core.lease_us, 2000000);
    CU_ASSERT_EQUAL(c.core.swim.probe_interval_us, 300000);
    CU_ASSERT_EQUAL(c.core.swim.indirect_checks, 2);
    CU_ASSERT_EQUAL(c.core.drift_ppm, 500);
    CU_ASSERT_EQUAL(c.core.rto_min_us, 2000);
    CU_ASSERT_PTR_EQUAL(c.core.quorum, &dm_quorum_tree_ops);
    CU_ASSERT_TRUE(c.core.bootstrap);
    CU_ASSERT_PTR_NOT_NULL(c.key);
    CU_ASSERT_EQUAL(g_bytes_get_size(c.key), strlen("a cluster key of enough bytes"));
    CU_ASSERT_EQUAL(c.max_inbound, 4 * 3 + 32);
    dmn_config_clear(&c);

    static const char *const bad[] = {
        "[dmutex]\nleese = 1s\n",                  /* unknown key */
        "[other]\nlease = 1s\n",                   /* unknown group */
        "[dmutex]\nlease = soon\n",
        "[dmutex]\ndrift_ppm = -3\n",
        "[dmutex]\nmembership = maybe\n",
        "[dmutex]\nswim.enabled = maybe\n",
        "[dmutex]\npolicy = raft\n",
        "[dmutex]\nquorum = pyramid\n",
        "not a key file",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        char *p = write_tmp(bad[i]);
        dmn_config_init(&c);
        CU_ASSERT_FALSE(dmn_config_load_file(&c, p, &err));
        CU_ASSERT_PTR_NOT_NULL(err);
        g_clear_error(&err);
        dmn_config_clear(&c);
        g_unlink(p);
        g_free(p);
    }
    /* finish() refusals. */
    static const char *const members_bad[][2] = {
        { "a:1,b:2", "c:3" },        /* self not a member */
        { "a:1,a:1", "a:1" },        /* duplicate */
        { "a:1,b", "a:1" },          /* bad member */
        { "a:1", "" },               /* no self */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(members_bad); i++) {
        dmn_config_init(&c);
        CU_ASSERT_TRUE(dmn_config_set_members_csv(&c, members_bad[i][0], NULL));
        c.self = g_strdup(members_bad[i][1]);
        CU_ASSERT_FALSE(dmn_config_finish(&c, &err));
        CU_ASSERT_PTR_NOT_NULL(err);
        g_clear_error(&err);
        dmn_config_clear(&c);
    }
    g_unlink(path);
    g_unlink(key);
    g_free(path);
    g_free(key);
    g_free(conf);
}

/* ------------------------------------------------------------ transport */

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    return sa;
}

/* A TCP connection to a member's "127.0.0.1:PORT" (blocking). */
static int connect_member(const char *addr)
{
    int port = 0;
    dmn_split_address(addr, NULL, &port);
    struct sockaddr_in sa = loopback(port);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CU_ASSERT_EQUAL_FATAL(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

static int free_port(void)
{
    for (int tries = 0; tries < 100; tries++) {
        int t = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = loopback(0);
        socklen_t len = sizeof sa;
        if (bind(t, (struct sockaddr *)&sa, sizeof sa) < 0 || getsockname(t, (struct sockaddr *)&sa, &len) < 0) {
            close(t);
            continue;
        }
        int u = socket(AF_INET, SOCK_DGRAM, 0);
        int ok = bind(u, (struct sockaddr *)&sa, sizeof sa) == 0;
        close(u);
        close(t);
        if (ok)
            return ntohs(sa.sin_port);
    }
    return -1;
}

typedef struct cluster {
    uv_loop_t loop;
    char addr[3][32];
    dmn_config cfg[3];
    dmn_node *node[3];
    int granted;
    uint64_t token;
    uint64_t granted_attempt;
    int failed;
    uint64_t failed_attempt;
    int failed_reason;
    uv_timer_t guard;
    bool timed_out;
} cluster;

static void on_event(void *user, const dm_event *ev)
{
    cluster *c = user;
    if (ev->type == DM_EV_GRANTED) {
        c->granted++;
        c->token = ev->token;
        c->granted_attempt = ev->attempt;
    } else if (ev->type == DM_EV_FAILED) {
        c->failed++;
        c->failed_attempt = ev->attempt;
        c->failed_reason = ev->reason;
    }
}

static void on_guard(uv_timer_t *t)
{
    cluster *c = t->data;
    c->timed_out = true;
    uv_stop(&c->loop);
}

/* Run the loop until cond() holds or `ms` pass. */
static bool run_until(cluster *c, bool (*cond)(cluster *), uint64_t ms)
{
    c->timed_out = false;
    uv_timer_start(&c->guard, on_guard, ms, 0);
    while (!cond(c) && !c->timed_out)
        uv_run(&c->loop, UV_RUN_ONCE);
    uv_timer_stop(&c->guard);
    return cond(c);
}

static bool is_granted(cluster *c) { return c->granted > 0; }
static bool has_failed(cluster *c) { return c->failed > 0; }

static int raw_fd = -1;
static size_t raw_sent;
static uint8_t raw_frame[2 * DM_FRAME_MAX];
static size_t raw_len;

static bool raw_received(cluster *c)
{
    /* Feed one more byte per loop turn; done when node 0 has counted it. */
    if (raw_sent < raw_len) {
        if (send(raw_fd, raw_frame + raw_sent, 1, MSG_NOSIGNAL) == 1)
            raw_sent++;
        g_usleep(200);
    }
    const dm_node_stats *st = dm_node_get_stats(dmn_node_core(c->node[0]));
    return raw_sent == raw_len && st->received[DM_MSG_REQUEST] + st->rejected > 0 &&
           dmn_node_bad_counts(c->node[0])[DMN_BAD_OVERSIZE] > 0;
}

static void on_any_timer(uv_timer_t *t) { (void)t; }

/* A loop with its guard timer, and three free loopback addresses. */
static void cluster_begin(cluster *c)
{
    memset(c, 0, sizeof *c);
    uv_loop_init(&c->loop);
    uv_timer_init(&c->loop, &c->guard);
    c->guard.data = c;
    for (int i = 0; i < 3; i++) {
        int p = free_port();
        CU_ASSERT_FATAL(p > 0);
        snprintf(c->addr[i], sizeof c->addr[i], "127.0.0.1:%d", p);
    }
}

/* Node i's configuration, before dmn_config_finish. */
static dmn_config *cluster_config(cluster *c, int i)
{
    const char *members[3] = { c->addr[0], c->addr[1], c->addr[2] };
    dmn_config_init(&c->cfg[i]);
    dmn_config_set_members(&c->cfg[i], members, 3);
    c->cfg[i].self = g_strdup(c->addr[i]);
    return &c->cfg[i];
}

/* Close the nodes that were created, run the loop down, free them. */
static void cluster_end(cluster *c)
{
    for (int i = 0; i < 3; i++)
        if (c->node[i])
            dmn_node_close(c->node[i]);
    uv_close((uv_handle_t *)&c->guard, NULL);
    for (int i = 0; i < 100 && uv_run(&c->loop, UV_RUN_NOWAIT); i++)
        ;
    CU_ASSERT_EQUAL(uv_loop_close(&c->loop), 0);
    for (int i = 0; i < 3; i++) {
        dmn_node_free(c->node[i]);
        dmn_config_clear(&c->cfg[i]);
    }
}

static bool status_has(dmn_node *n, const char *text)
{
    GString *st = g_string_new(NULL);
    dmn_node_format_status(n, NULL, st);
    bool has = strstr(st->str, text) != NULL;
    if (!has)
        fprintf(stderr, "\nSTATUS lacks '%s':\n%s", text, st->str);
    g_string_free(st, TRUE);
    return has;
}

static void test_transport_cluster(void)
{
    cluster c;
    cluster_begin(&c);
    for (int i = 0; i < 3; i++) {
        cluster_config(&c, i);
        c.cfg[i].core.lease_us = G_USEC_PER_SEC;
        c.cfg[i].core.rpc_timeout_us = 100000;
        c.cfg[i].core.swim.probe_interval_us = 200000;
        c.cfg[i].core.swim.probe_timeout_us = 100000;
        /* A new cluster; node 2 joins it as a member that lost its state. */
        c.cfg[i].core.bootstrap = i < 2;
        GError *err = NULL;
        CU_ASSERT_TRUE_FATAL(dmn_config_finish(&c.cfg[i], &err));
        c.node[i] = dmn_node_new(&c.loop, &c.cfg[i], on_event, &c, &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c.node[i]);
    }
    /* Binding a taken address fails cleanly. */
    GError *err = NULL;
    CU_ASSERT_PTR_NULL(dmn_node_new(&c.loop, &c.cfg[0], on_event, &c, &err));
    CU_ASSERT_PTR_NOT_NULL(err);
    g_clear_error(&err);

    /* Node 2 recovers; a lock there meanwhile is not refused with
     * -DM_ERECOVERING: the transport starts it once the token floor is in,
     * and its outcome carries the id lock() gave. */
    CU_ASSERT_TRUE(status_has(c.node[0], "\nrecovery ready\n"));
    CU_ASSERT_TRUE(status_has(c.node[2], "\nrecovery recovering stage=floor "));
    uint64_t early = 0;
    CU_ASSERT_EQUAL(dmn_node_lock(c.node[2], "w", G_USEC_PER_SEC * 5, &early), 0);
    CU_ASSERT_TRUE(status_has(c.node[2], " deferred_locks=1\n"));
    CU_ASSERT_TRUE(run_until(&c, is_granted, 5000));
    CU_ASSERT_EQUAL(c.granted_attempt, early);
    CU_ASSERT_TRUE(dm_node_holds(dmn_node_core(c.node[2]), "w"));
    CU_ASSERT_EQUAL(dmn_node_unlock_attempt(c.node[2], "w", early), 0);
    c.granted = 0;

    /* Node 0 locks: every node is one loop's business. */
    uint64_t attempt = 0;
    CU_ASSERT_EQUAL(dmn_node_lock(c.node[0], "x", G_USEC_PER_SEC * 5, &attempt), 0);
    CU_ASSERT_NOT_EQUAL(attempt, 0);
    CU_ASSERT_EQUAL(dmn_node_lock(c.node[0], "x", G_USEC_PER_SEC * 5, NULL), -DM_EBUSY);
    CU_ASSERT_TRUE(run_until(&c, is_granted, 5000));
    CU_ASSERT_TRUE(dm_node_holds(dmn_node_core(c.node[0]), "x"));
    CU_ASSERT_TRUE(c.token > 0);
    CU_ASSERT_EQUAL(c.granted_attempt, attempt);
    /* Only the attempt that holds the name can be unlocked by its id. */
    CU_ASSERT_EQUAL(dmn_node_unlock_attempt(c.node[0], "x", attempt + 1), -DM_ENOTHELD);
    CU_ASSERT_TRUE(dm_node_holds(dmn_node_core(c.node[0]), "x"));
    GString *s = g_string_new(NULL);
    dmn_node_format_status(c.node[0], NULL, s);
    CU_ASSERT_PTR_NOT_NULL(strstr(s->str, "held x token "));
    CU_ASSERT_PTR_NOT_NULL(strstr(s->str, "policy ae quorum_system tree spread on\n"));
    g_string_truncate(s, 0);
    dmn_node_format_members(c.node[0], s);
    CU_ASSERT_PTR_NOT_NULL(strstr(s->str, c.addr[2]));
    g_string_free(s, TRUE);
    CU_ASSERT_EQUAL(dmn_node_unlock(c.node[0], "x"), 0);
    CU_ASSERT_EQUAL(dmn_node_unlock(c.node[0], "x"), -DM_ENOTHELD);

    /* A frame dribbled into node 0's TCP port one byte at a time is
     * reassembled; then an oversized length prefix is counted. */
    uint32_t self0 = c.cfg[0].self_id;
    /* A stream opens with a HELLO with the node's settings (net/agree.h). */
    int hl = dmn_agree_hello(&c.cfg[1], false, raw_frame, sizeof raw_frame);
    CU_ASSERT_FATAL(hl > 0);
    raw_len = (size_t)hl;
    raw_len += sample_frame(raw_frame + raw_len, (uint16_t)((self0 + 1) % 3), (uint16_t)self0);
    static const uint8_t oversize[] = { 0x00, 0x10, 0x00, 0x00 };
    memcpy(raw_frame + raw_len, oversize, sizeof oversize);
    raw_len += sizeof oversize;
    raw_fd = connect_member(c.addr[0]);
    /* Keep the loop turning while bytes are fed. */
    uv_timer_t tick;
    uv_timer_init(&c.loop, &tick);
    uv_timer_start(&tick, on_any_timer, 1, 1);
    CU_ASSERT_TRUE(run_until(&c, raw_received, 5000));
    uv_close((uv_handle_t *)&tick, NULL);
    close(raw_fd);

    /* Graceful shutdown of every node, then the loop runs down. */
    cluster_end(&c);
}

/* A fake member for the stream-ping test: the test itself listens on a
 * member's address (UDP and TCP) and reads what the node sends it. */
static struct {
    int udp, listener, conns[4], n_conns;
    uint8_t acc[4][DM_FRAME_MAX];
    size_t fill[4];
    uint64_t want;              /* the ACK value waited for */
    int acks_tcp, acks_udp;     /* ACKs carrying `want`, by path */
} fake;

/* ACK frames in buf[0..*fill) carrying fake.want are counted into *acks;
 * the rest of a partial frame stays in buf. */
static void fake_frames(uint8_t *buf, size_t *fill, int *acks)
{
    for (;;) {
        int fl = dm_codec_frame_length(buf, *fill);
        if (fl <= 0 || (size_t)fl > *fill)
            return;
        dm_msg m;
        if (dm_codec_decode(buf, (size_t)fl, &m) == fl && m.type == DM_MSG_ACK && m.value == fake.want)
            (*acks)++;
        memmove(buf, buf + fl, *fill - (size_t)fl);
        *fill -= (size_t)fl;
    }
}

static bool fake_acked(cluster *c)
{
    (void)c;
    int fd = accept(fake.listener, NULL, NULL);
    if (fd >= 0 && fake.n_conns < 4) {
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        fake.conns[fake.n_conns++] = fd;
    } else if (fd >= 0) {
        close(fd);
    }
    for (int i = 0; i < fake.n_conns; i++) {
        ssize_t got = recv(fake.conns[i], fake.acc[i] + fake.fill[i], sizeof fake.acc[i] - fake.fill[i], 0);
        if (got > 0) {
            fake.fill[i] += (size_t)got;
            fake_frames(fake.acc[i], &fake.fill[i], &fake.acks_tcp);
        }
    }
    uint8_t dgram[DM_FRAME_MAX];
    ssize_t got;
    while ((got = recv(fake.udp, dgram, sizeof dgram, 0)) > 0) {
        size_t fill = (size_t)got;
        fake_frames(dgram, &fill, &fake.acks_udp);
    }
    return fake.acks_tcp + fake.acks_udp > 0;
}

static int fake_socket(int type, int port)
{
    int fd = socket(AF_INET, type | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = loopback(port);
    CU_ASSERT_EQUAL_FATAL(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    if (type == SOCK_STREAM)
        CU_ASSERT_EQUAL_FATAL(listen(fd, 4), 0);
    return fd;
}

/* SWIM's fallback ping (issue 12): a PING whose value carries DM_SEQ_STREAM
 * and its ACK travel over TCP, not UDP, and are counted (tcp_acks); a PING
 * that arrives over TCP is answered like one over UDP, and a plain one's ACK
 * still goes by UDP. The test plays member addr[0] to see which path each
 * ACK takes. */
static void test_transport_stream_ping(void)
{
    cluster c;
    cluster_begin(&c);
    cluster_config(&c, 1)->core.bootstrap = true;
    GError *err = NULL;
    CU_ASSERT_TRUE_FATAL(dmn_config_finish(&c.cfg[1], &err));
    /* The fake listens before the node starts: the node dials every member
     * at start, and a refused dial would put addr[0] in back-off. */
    memset(&fake, 0, sizeof fake);
    int port0 = 0;
    dmn_split_address(c.addr[0], NULL, &port0);
    fake.udp = fake_socket(SOCK_DGRAM, port0);
    fake.listener = fake_socket(SOCK_STREAM, port0);
    c.node[1] = dmn_node_new(&c.loop, &c.cfg[1], on_event, &c, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.node[1]);
    uint32_t self = c.cfg[1].self_id, fake_id = 0;
    while (fake_id < 3 && strcmp(dmn_node_address(c.node[1], fake_id), c.addr[0]) != 0)
        fake_id++;
    CU_ASSERT_FATAL(fake_id < 3);
    int out = connect_member(c.addr[1]);
    /* The stream opens with a HELLO with node 1's settings (net/agree.h). */
    uint8_t hello[DM_FRAME_MAX];
    int hl = dmn_agree_hello(&c.cfg[1], false, hello, sizeof hello);
    CU_ASSERT_FATAL(hl > 0);
    CU_ASSERT_EQUAL(send(out, hello, (size_t)hl, MSG_NOSIGNAL), hl);
    uv_timer_t tick;
    uv_timer_init(&c.loop, &tick);
    uv_timer_start(&tick, on_any_timer, 1, 1);

    static const uint64_t values[2] = { DM_SEQ_STREAM | 77, 78 };
    for (int k = 0; k < 2; k++) {
        dm_msg ping;
        memset(&ping, 0, sizeof ping);
        ping.type = DM_MSG_PING;
        ping.from = (uint16_t)fake_id;
        ping.to = (uint16_t)self;
        ping.clock = 1;
        ping.value = values[k];
        CU_ASSERT_EQUAL(dm_msg_is_stream(&ping), k == 0);
        uint8_t frame[DM_FRAME_MAX];
        int len = dm_codec_encode(&ping, frame, sizeof frame);
        CU_ASSERT_FATAL(len > 0);
        CU_ASSERT_EQUAL(send(out, frame, (size_t)len, MSG_NOSIGNAL), len);
        fake.want = values[k];
        fake.acks_tcp = fake.acks_udp = 0;
        CU_ASSERT_TRUE(run_until(&c, fake_acked, 5000));
        CU_ASSERT_EQUAL(fake.acks_tcp, k == 0 ? 1 : 0);
        CU_ASSERT_EQUAL(fake.acks_udp, k == 0 ? 0 : 1);
    }
    CU_ASSERT_TRUE(status_has(c.node[1], " tcp_acks=1 "));

    uv_close((uv_handle_t *)&tick, NULL);
    close(out);
    for (int i = 0; i < fake.n_conns; i++)
        close(fake.conns[i]);
    close(fake.listener);
    close(fake.udp);
    cluster_end(&c);
}

/* ------------------------------------------------------------ control */

typedef struct ctl_rig {
    uv_loop_t loop;
    dmn_config cfg;
    dmn_node *node;
    dmn_control *ctl;
    uv_timer_t guard, tick;
    bool timed_out;
    int fd;                  /* a control client, non-blocking */
    GString *in;             /* what it has read */
} ctl_rig;

static void ctl_rig_event(void *user, const dm_event *ev)
{
    ctl_rig *r = user;
    if (r->ctl)
        dmn_control_event(r->ctl, ev);
}

static void ctl_rig_guard(uv_timer_t *t)
{
    ctl_rig *r = t->data;
    r->timed_out = true;
    uv_stop(&r->loop);
}

/* Run the loop (at most 5 s) until the client has read a whole line, and
 * return it (without '\n'), or NULL. */
static char *ctl_rig_line(ctl_rig *r)
{
    r->timed_out = false;
    uv_timer_start(&r->guard, ctl_rig_guard, 5000, 0);
    char *nl;
    while (!(nl = memchr(r->in->str, '\n', r->in->len)) && !r->timed_out) {
        uv_run(&r->loop, UV_RUN_ONCE);
        char buf[512];
        ssize_t got = recv(r->fd, buf, sizeof buf, 0);
        if (got > 0)
            g_string_append_len(r->in, buf, got);
    }
    uv_timer_stop(&r->guard);
    if (!nl)
        return NULL;
    char *line = g_strndup(r->in->str, (gsize)(nl - r->in->str));
    g_string_erase(r->in, 0, nl - r->in->str + 1);
    return line;
}

static void ctl_rig_send(ctl_rig *r, const char *text)
{
    CU_ASSERT_EQUAL(send(r->fd, text, strlen(text), MSG_NOSIGNAL), (ssize_t)strlen(text));
}

static void ctl_rig_expect(ctl_rig *r, const char *prefix)
{
    char *line = ctl_rig_line(r);
    CU_ASSERT_PTR_NOT_NULL(line);
    if (line && !g_str_has_prefix(line, prefix))
        fprintf(stderr, "\ncontrol answered '%s', want '%s...'\n", line, prefix);
    CU_ASSERT_TRUE(line && g_str_has_prefix(line, prefix));
    g_free(line);
}

/* An outcome that carries another attempt's id (a late FAILED or LOST of an
 * earlier attempt of the name, issue 9) must not end, answer or release the
 * session's current one; matching by name alone did all three. */
static void test_control_attempts(void)
{
    ctl_rig r;
    memset(&r, 0, sizeof r);
    uv_loop_init(&r.loop);
    uv_timer_init(&r.loop, &r.guard);
    r.guard.data = &r;
    uv_timer_init(&r.loop, &r.tick);
    r.in = g_string_new(NULL);
    char addr[32];
    int port = free_port();
    CU_ASSERT_FATAL(port > 0);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    const char *members[1] = { addr };
    dmn_config_init(&r.cfg);
    dmn_config_set_members(&r.cfg, members, 1);
    r.cfg.self = g_strdup(addr);
    r.cfg.core.bootstrap = true;    /* one member: no quorum without itself to recover from */
    GError *err = NULL;
    CU_ASSERT_TRUE_FATAL(dmn_config_finish(&r.cfg, &err));
    r.node = dmn_node_new(&r.loop, &r.cfg, ctl_rig_event, &r, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.node);
    char *dir = g_dir_make_tmp("dmctl.XXXXXX", NULL);
    char *path = g_build_filename(dir, "c.sock", NULL);
    r.ctl = dmn_control_new(&r.loop, r.node, path, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.ctl);
    r.fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    g_strlcpy(sa.sun_path, path, sizeof sa.sun_path);
    CU_ASSERT_EQUAL_FATAL(connect(r.fd, (struct sockaddr *)&sa, sizeof sa), 0);
    fcntl(r.fd, F_SETFL, fcntl(r.fd, F_GETFL) | O_NONBLOCK);
    /* Keep the loop turning while the client polls its socket. */
    uv_timer_start(&r.tick, on_any_timer, 1, 1);

    ctl_rig_send(&r, "LOCK x 5000\n");
    ctl_rig_expect(&r, "OK ");
    uint64_t token = dm_node_token(dmn_node_core(r.node), "x");
    CU_ASSERT_NOT_EQUAL_FATAL(token, 0);
    dm_event ev;
    memset(&ev, 0, sizeof ev);
    ev.name = "x";
    ev.attempt = 0x7000000000000001ull;   /* no attempt of this node */
    ev.token = token - 1;
    ev.type = DM_EV_FAILED;
    ev.reason = -DM_ETIMEDOUT;
    dmn_control_event(r.ctl, &ev);
    ev.type = DM_EV_LOST;
    ev.reason = -DM_ELEASE;
    dmn_control_event(r.ctl, &ev);
    ev.type = DM_EV_GRANTED;
    dmn_control_event(r.ctl, &ev);
    CU_ASSERT_TRUE(dm_node_holds(dmn_node_core(r.node), "x"));
    /* The session still holds x: its next line answers UNLOCK. */
    ctl_rig_send(&r, "UNLOCK x\n");
    ctl_rig_expect(&r, "OK");
    CU_ASSERT_FALSE(dm_node_holds(dmn_node_core(r.node), "x"));

    close(r.fd);
    dmn_control_close(r.ctl);
    dmn_node_close(r.node);
    uv_close((uv_handle_t *)&r.guard, NULL);
    uv_close((uv_handle_t *)&r.tick, NULL);
    for (int i = 0; i < 100 && uv_run(&r.loop, UV_RUN_NOWAIT); i++)
        ;
    CU_ASSERT_EQUAL(uv_loop_close(&r.loop), 0);
    dmn_control_free(r.ctl);
    dmn_node_free(r.node);
    dmn_config_clear(&r.cfg);
    g_string_free(r.in, TRUE);
    g_rmdir(dir);
    g_free(path);
    g_free(dir);
}

/* A node that cannot recover (no other member answers): its locks wait
 * for the token floor within their timeout, end with FAILED(-DM_ETIMEDOUT)
 * or FAILED(-DM_ECANCELED) under the id lock() gave, and never return
 * -DM_ERECOVERING to the owner. */
static void test_transport_recovering(void)
{
    cluster c;
    cluster_begin(&c);
    cluster_config(&c, 0)->core.rpc_timeout_us = 50000;
    GError *err = NULL;
    CU_ASSERT_TRUE_FATAL(dmn_config_finish(&c.cfg[0], &err));
    c.node[0] = dmn_node_new(&c.loop, &c.cfg[0], on_event, &c, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.node[0]);
    CU_ASSERT_EQUAL(dm_node_recovery(dmn_node_core(c.node[0]), NULL), DM_RECOVERY_FLOOR);

    uint64_t a = 0, b = 0;
    CU_ASSERT_EQUAL(dmn_node_lock(c.node[0], "x", 200000, &a), 0);
    CU_ASSERT_EQUAL(dmn_node_lock(c.node[0], "x", 200000, NULL), -DM_EBUSY);
    CU_ASSERT_EQUAL(dmn_node_lock(c.node[0], "y", 5 * G_USEC_PER_SEC, &b), 0);
    CU_ASSERT_NOT_EQUAL(a, 0);
    CU_ASSERT_NOT_EQUAL(a, b);
    CU_ASSERT_TRUE(status_has(c.node[0], "\nrecovery recovering stage=floor "));
    CU_ASSERT_TRUE(status_has(c.node[0], " deferred_locks=2\n"));
    CU_ASSERT_TRUE(run_until(&c, has_failed, 5000));
    CU_ASSERT_EQUAL(c.failed, 1);
    CU_ASSERT_EQUAL(c.failed_attempt, a);
    CU_ASSERT_EQUAL(c.failed_reason, -DM_ETIMEDOUT);
    c.failed = 0;
    CU_ASSERT_EQUAL(dmn_node_cancel(c.node[0], "y"), 0);
    CU_ASSERT_TRUE(run_until(&c, has_failed, 1000));
    CU_ASSERT_EQUAL(c.failed_attempt, b);
    CU_ASSERT_EQUAL(c.failed_reason, -DM_ECANCELED);
    CU_ASSERT_EQUAL(dmn_node_cancel(c.node[0], "y"), -DM_ENOTHELD);
    CU_ASSERT_EQUAL(c.granted, 0);
    cluster_end(&c);
}

static CU_TestInfo auth_tests[] = {
    { "roundtrip", test_auth_roundtrip },
    { "refusals", test_auth_refusals },
    { "replay window", test_auth_window },
    CU_TEST_INFO_NULL,
};
static CU_TestInfo keyring_tests[] = {
    { "keyring rotation", test_auth_keyring },
    { "encrypted datagrams", test_auth_encrypted },
    { "failure book", test_authlog },
    { "key files", test_key_files },
    CU_TEST_INFO_NULL,
};
static CU_TestInfo store_tests[] = {
    { "save and load", test_store },
    { "join frames", test_join_frames },
    { "join frames sealed", test_join_sealed },
    { "address table file", test_address_table },
    CU_TEST_INFO_NULL,
};
static CU_TestInfo config_tests[] = {
    { "legacy keys", test_legacy_keys },
    { "too many members for the policy", test_member_limit },
    { "addresses", test_addresses },
    { "key file", test_config },
    CU_TEST_INFO_NULL,
};
static CU_TestInfo transport_tests[] = {
    { "three nodes on one loop", test_transport_cluster },
    { "locks wait for the recovery", test_transport_recovering },
    { "stream pings go over TCP", test_transport_stream_ping },
    CU_TEST_INFO_NULL,
};
static CU_TestInfo control_tests[] = {
    { "outcomes matched by attempt", test_control_attempts },
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    { "net-auth", NULL, NULL, NULL, NULL, auth_tests },
    { "net-keyring", NULL, NULL, NULL, NULL, keyring_tests },
    { "net-store", NULL, NULL, NULL, NULL, store_tests },
    { "net-config", NULL, NULL, NULL, NULL, config_tests },
    { "net-transport", NULL, NULL, NULL, NULL, transport_tests },
    { "net-control", NULL, NULL, NULL, NULL, control_tests },
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    g_log_set_default_handler(g_log_default_handler, NULL);
    return dm_test_main(argc, argv, suites);
}
