#include "auth.h"
#include "json.h"

#include <glib.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>

#define ENC_KDF_LABEL "dmutex udp aes-256-gcm v1"

typedef struct replay_state {
    bool seen;
    uint64_t highest;
    uint64_t bits[DMN_REPLAY_WINDOW / 64];   /* bit i: highest - i accepted */
} replay_state;

typedef struct ring_key {
    GHmac *keyed;            /* copied per frame: the key schedule is done once */
    gnutls_aead_cipher_hd_t aead;
} ring_key;

struct dmn_auth {
    ring_key keys[DMN_AUTH_MAX_KEYS];   /* keys[0] seals */
    size_t n_keys;
    uint32_t n_members;
    int64_t max_age_us;
    uint64_t next_seq;
    replay_state *peers;
};

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void ring_clear(ring_key *keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        g_hmac_unref(keys[i].keyed);
        if (keys[i].aead)
            gnutls_aead_cipher_deinit(keys[i].aead);
    }
}

/* Build a ring in out[]; false if any key is unusable. */
static bool ring_build(GBytes *const *keys, size_t n_keys, ring_key *out)
{
    if (n_keys == 0 || n_keys > DMN_AUTH_MAX_KEYS)
        return false;
    for (size_t i = 0; i < n_keys; i++)
        if (!keys[i] || g_bytes_get_size(keys[i]) < DMN_AUTH_KEY_MIN)
            return false;
    for (size_t i = 0; i < n_keys; i++) {
        gsize len;
        const guint8 *k = g_bytes_get_data(keys[i], &len);
        out[i].keyed = g_hmac_new(G_CHECKSUM_SHA256, k, len);
        /* The AES key is derived, so any key of 16 bytes or more serves both
         * the MAC and the cipher, and neither key reveals the other. */
        uint8_t aes[32];
        gsize alen = sizeof aes;
        GHmac *kdf = g_hmac_copy(out[i].keyed);
        g_hmac_update(kdf, (const guchar *)ENC_KDF_LABEL, sizeof ENC_KDF_LABEL - 1);
        g_hmac_get_digest(kdf, aes, &alen);
        g_hmac_unref(kdf);
        gnutls_datum_t d = { aes, sizeof aes };
        if (gnutls_aead_cipher_init(&out[i].aead, GNUTLS_CIPHER_AES_256_GCM, &d) < 0)
            out[i].aead = NULL;
        memset(aes, 0, sizeof aes);
        if (!out[i].aead) {
            ring_clear(out, i + 1);
            return false;
        }
    }
    return true;
}

dmn_auth *dmn_auth_new_ring(GBytes *const *keys, size_t n_keys, uint32_t n_members,
                            int64_t max_age_us, int64_t now_real)
{
    if (n_members == 0 || max_age_us <= 0)
        return NULL;
    dmn_auth *a = g_new0(dmn_auth, 1);
    if (!ring_build(keys, n_keys, a->keys)) {
        g_free(a);
        return NULL;
    }
    a->n_keys = n_keys;
    a->n_members = n_members;
    a->max_age_us = max_age_us;
    a->next_seq = now_real > 0 ? (uint64_t)now_real : 1;
    a->peers = g_new0(replay_state, n_members);
    return a;
}

dmn_auth *dmn_auth_new(const void *key, size_t key_len, uint32_t n_members,
                       int64_t max_age_us, int64_t now_real)
{
    if (!key)
        return NULL;
    GBytes *k = g_bytes_new(key, key_len);
    dmn_auth *a = dmn_auth_new_ring(&k, 1, n_members, max_age_us, now_real);
    g_bytes_unref(k);
    return a;
}

bool dmn_auth_set_keys(dmn_auth *a, GBytes *const *keys, size_t n_keys)
{
    ring_key fresh[DMN_AUTH_MAX_KEYS];
    memset(fresh, 0, sizeof fresh);
    if (!ring_build(keys, n_keys, fresh))
        return false;
    ring_clear(a->keys, a->n_keys);
    memcpy(a->keys, fresh, sizeof fresh);
    a->n_keys = n_keys;
    return true;
}

size_t dmn_auth_n_keys(const dmn_auth *a)
{
    return a->n_keys;
}

void dmn_auth_free(dmn_auth *a)
{
    if (!a)
        return;
    ring_clear(a->keys, a->n_keys);
    g_free(a->peers);
    g_free(a);
}

static void compute_mac(const ring_key *k, const uint8_t *data, size_t len, uint8_t out[DMN_AUTH_MAC])
{
    GHmac *h = g_hmac_copy(k->keyed);
    g_hmac_update(h, data, (gssize)len);
    gsize n = DMN_AUTH_MAC;
    g_hmac_get_digest(h, out, &n);
    g_hmac_unref(h);
}

size_t dmn_auth_seal(dmn_auth *a, uint8_t *buf, size_t frame_len, int64_t now_real)
{
    buf[DMN_AUTH_FLAGS_OFFSET] |= DMN_AUTH_FLAG;
    put_be64(buf + frame_len, a->next_seq++);
    put_be64(buf + frame_len + 8, (uint64_t)now_real);
    compute_mac(&a->keys[0], buf, frame_len + 16, buf + frame_len + 16);
    return frame_len + DMN_AUTH_TRAILER;
}

static bool bit_get(const replay_state *r, uint64_t i) { return r->bits[i / 64] >> (i % 64) & 1; }
static void bit_set(replay_state *r, uint64_t i) { r->bits[i / 64] |= (uint64_t)1 << (i % 64); }

/* Slide the window up so that `seq` becomes the highest. */
static void window_advance(replay_state *r, uint64_t seq)
{
    uint64_t shift = seq - r->highest;
    if (!r->seen || shift >= DMN_REPLAY_WINDOW) {
        memset(r->bits, 0, sizeof r->bits);
    } else {
        for (uint64_t i = DMN_REPLAY_WINDOW; i-- > shift;)
            if (bit_get(r, i - shift))
                bit_set(r, i);
            else
                r->bits[i / 64] &= ~((uint64_t)1 << (i % 64));
        for (uint64_t i = 0; i < shift; i++)
            r->bits[i / 64] &= ~((uint64_t)1 << (i % 64));
    }
    r->highest = seq;
    r->seen = true;
    bit_set(r, 0);
}

/* The checks after the cryptography, common to both forms: sender, age,
 * replay window. frame is the frame with the flag set; seq and time follow
 * it at frame + frame_len. */
static dmn_auth_result accept_seq(dmn_auth *a, uint8_t *frame, size_t frame_len, int64_t now_real)
{
    uint32_t from = (uint32_t)frame[6] << 8 | frame[7];
    if (from >= a->n_members)
        return DMN_AUTH_PEER;
    uint64_t seq = get_be64(frame + frame_len);
    if (!dmn_auth_fresh(a, (int64_t)get_be64(frame + frame_len + 8), now_real))
        return DMN_AUTH_STALE;
    replay_state *r = &a->peers[from];
    if (!r->seen || seq > r->highest) {
        window_advance(r, seq);
    } else {
        uint64_t back = r->highest - seq;
        if (back >= DMN_REPLAY_WINDOW || bit_get(r, back))
            return DMN_AUTH_REPLAY;
        bit_set(r, back);
    }
    frame[DMN_AUTH_FLAGS_OFFSET] = 0;
    return DMN_AUTH_OK;
}

void dmn_auth_mac(dmn_auth *a, const uint8_t *data, size_t len, uint8_t mac[DMN_AUTH_MAC])
{
    compute_mac(&a->keys[0], data, len, mac);
}

bool dmn_auth_mac_verifies(dmn_auth *a, const uint8_t *data, size_t len, const uint8_t mac[DMN_AUTH_MAC])
{
    bool verified = false;
    for (size_t k = 0; k < a->n_keys && !verified; k++) {
        uint8_t want[DMN_AUTH_MAC];
        compute_mac(&a->keys[k], data, len, want);
        uint8_t diff = 0;
        for (size_t i = 0; i < DMN_AUTH_MAC; i++)
            diff |= want[i] ^ mac[i];
        verified = diff == 0;
    }
    return verified;
}

bool dmn_auth_fresh(const dmn_auth *a, int64_t sent_real, int64_t now_real)
{
    int64_t age = now_real - sent_real;
    return age <= a->max_age_us && age >= -a->max_age_us;
}

/* Whether buf[0..len) is a sealed frame of frame_len whose trailer's MAC
 * verifies under one of the ring's keys (constant-time compare per key). */
static dmn_auth_result mac_verifies(dmn_auth *a, const uint8_t *buf, size_t len, size_t frame_len)
{
    if (frame_len < 12 || len != frame_len + DMN_AUTH_TRAILER ||
        buf[DMN_AUTH_FLAGS_OFFSET] != DMN_AUTH_FLAG)
        return DMN_AUTH_MISSING;
    return dmn_auth_mac_verifies(a, buf, frame_len + 16, buf + frame_len + 16) ? DMN_AUTH_OK
                                                                              : DMN_AUTH_BADMAC;
}

dmn_auth_result dmn_auth_open(dmn_auth *a, uint8_t *buf, size_t len, size_t frame_len,
                              int64_t now_real)
{
    dmn_auth_result r = mac_verifies(a, buf, len, frame_len);
    return r == DMN_AUTH_OK ? accept_seq(a, buf, frame_len, now_real) : r;
}

dmn_auth_result dmn_auth_verify(dmn_auth *a, uint8_t *buf, size_t len, size_t frame_len,
                                int64_t now_real)
{
    dmn_auth_result r = mac_verifies(a, buf, len, frame_len);
    if (r != DMN_AUTH_OK)
        return r;
    if (!dmn_auth_fresh(a, (int64_t)get_be64(buf + frame_len + 8), now_real))
        return DMN_AUTH_STALE;
    buf[DMN_AUTH_FLAGS_OFFSET] = 0;
    return DMN_AUTH_OK;
}

size_t dmn_auth_seal_datagram(dmn_auth *a, const uint8_t *buf, size_t frame_len, uint8_t *out,
                              int64_t now_real)
{
    uint8_t plain[DMN_AUTH_PLAIN_MAX];
    if (frame_len < 12 || frame_len + 16 > sizeof plain)
        return 0;
    memcpy(plain, buf, frame_len);
    plain[DMN_AUTH_FLAGS_OFFSET] |= DMN_AUTH_FLAG;
    put_be64(plain + frame_len, a->next_seq++);
    put_be64(plain + frame_len + 8, (uint64_t)now_real);
    out[0] = DMN_AUTH_ENC_MAGIC;
    if (gnutls_rnd(GNUTLS_RND_NONCE, out + 1, DMN_AUTH_NONCE) < 0)
        return 0;
    size_t clen = frame_len + 16 + DMN_AUTH_TAG;
    if (gnutls_aead_cipher_encrypt(a->keys[0].aead, out + 1, DMN_AUTH_NONCE, out, 1, DMN_AUTH_TAG,
                                   plain, frame_len + 16, out + 1 + DMN_AUTH_NONCE, &clen) < 0)
        return 0;
    return 1 + DMN_AUTH_NONCE + clen;
}

bool dmn_auth_is_encrypted(const uint8_t *buf, size_t len)
{
    return len > 0 && buf[0] == DMN_AUTH_ENC_MAGIC;
}

dmn_auth_result dmn_auth_open_datagram(dmn_auth *a, uint8_t *buf, size_t len, size_t *frame_len,
                                       int64_t now_real)
{
    if (len < DMN_AUTH_ENC_OVERHEAD + 12 || len - DMN_AUTH_ENC_OVERHEAD + 16 > DMN_AUTH_PLAIN_MAX ||
        buf[0] != DMN_AUTH_ENC_MAGIC)
        return DMN_AUTH_MISSING;
    uint8_t plain[DMN_AUTH_PLAIN_MAX];
    size_t plen = 0;
    bool opened = false;
    for (size_t k = 0; k < a->n_keys && !opened; k++) {
        plen = sizeof plain;
        opened = gnutls_aead_cipher_decrypt(a->keys[k].aead, buf + 1, DMN_AUTH_NONCE, buf, 1,
                                            DMN_AUTH_TAG, buf + 1 + DMN_AUTH_NONCE,
                                            len - 1 - DMN_AUTH_NONCE, plain, &plen) == 0;
    }
    if (!opened)
        return DMN_AUTH_DECRYPT;
    size_t fl = plen - 16;
    uint32_t prefix = (uint32_t)plain[0] << 24 | (uint32_t)plain[1] << 16 | (uint32_t)plain[2] << 8 | plain[3];
    /* Authentic, so only a sender with a key and a bug gets here. */
    if (plen < 28 || prefix != fl || plain[DMN_AUTH_FLAGS_OFFSET] != DMN_AUTH_FLAG)
        return DMN_AUTH_MISSING;
    dmn_auth_result r = accept_seq(a, plain, fl, now_real);
    if (r == DMN_AUTH_OK) {
        memcpy(buf, plain, fl);
        *frame_len = fl;
    }
    return r;
}

const char *dmn_auth_result_name(dmn_auth_result r)
{
    switch (r) {
    case DMN_AUTH_OK: return "ok";
    case DMN_AUTH_MISSING: return "missing";
    case DMN_AUTH_BADMAC: return "bad-mac";
    case DMN_AUTH_STALE: return "stale";
    case DMN_AUTH_REPLAY: return "replay";
    case DMN_AUTH_PEER: return "peer";
    case DMN_AUTH_DECRYPT: return "decrypt";
    }
    return "unknown";
}

/* ------------------------------------------------------------ failure book */

#define AUTHLOG_PEERS 64
#define AUTHLOG_OTHER "other"

typedef struct authlog_entry {
    uint64_t count, suppressed;
    int64_t logged_at;
} authlog_entry;

struct dmn_authlog {
    GHashTable *peers;   /* address -> authlog_entry */
    uint64_t total;
    char *last;
};

dmn_authlog *dmn_authlog_new(void)
{
    dmn_authlog *l = g_new0(dmn_authlog, 1);
    l->peers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    return l;
}

void dmn_authlog_free(dmn_authlog *l)
{
    if (!l)
        return;
    g_hash_table_destroy(l->peers);
    g_free(l->last);
    g_free(l);
}

bool dmn_authlog_note(dmn_authlog *l, const char *peer, int64_t now_us, uint64_t *suppressed)
{
    authlog_entry *e = g_hash_table_lookup(l->peers, peer);
    if (!e) {
        if (g_hash_table_size(l->peers) >= AUTHLOG_PEERS)
            peer = AUTHLOG_OTHER;
        e = g_hash_table_lookup(l->peers, peer);
        if (!e) {
            e = g_new0(authlog_entry, 1);
            g_hash_table_insert(l->peers, g_strdup(peer), e);
        }
    }
    l->total++;
    e->count++;
    g_free(l->last);
    l->last = g_strdup(peer);
    if (e->logged_at != 0 && now_us - e->logged_at < G_USEC_PER_SEC) {
        e->suppressed++;
        return false;
    }
    *suppressed = e->suppressed;
    e->suppressed = 0;
    e->logged_at = now_us;
    return true;
}

uint64_t dmn_authlog_total(const dmn_authlog *l)
{
    return l->total;
}

void dmn_authlog_json(const dmn_authlog *l, dmn_json *w)
{
    dmn_json_begin_object(w, "auth_failures");
    dmn_json_uint(w, "total", l->total);
    dmn_json_string(w, "last", l->last);
    dmn_json_begin_object(w, "peers");
    GList *keys = g_list_sort(g_hash_table_get_keys(l->peers), (GCompareFunc)strcmp);
    for (GList *k = keys; k; k = k->next) {
        const authlog_entry *e = g_hash_table_lookup(l->peers, k->data);
        dmn_json_uint(w, k->data, e->count);
    }
    g_list_free(keys);
    dmn_json_end_object(w);
    dmn_json_end_object(w);
}

void dmn_authlog_format(const dmn_authlog *l, GString *out)
{
    g_string_append_printf(out, "auth_failures total=%" G_GUINT64_FORMAT " last=%s", l->total,
                           l->last ? l->last : "none");
    GList *keys = g_list_sort(g_hash_table_get_keys(l->peers), (GCompareFunc)strcmp);
    for (GList *k = keys; k; k = k->next) {
        const authlog_entry *e = g_hash_table_lookup(l->peers, k->data);
        g_string_append_printf(out, " %s=%" G_GUINT64_FORMAT, (const char *)k->data, e->count);
    }
    g_list_free(keys);
}
