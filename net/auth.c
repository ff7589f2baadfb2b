#include "auth.h"

#include <glib.h>
#include <string.h>

typedef struct replay_state {
    bool seen;
    uint64_t highest;
    uint64_t bits[DMN_REPLAY_WINDOW / 64];   /* bit i: highest - i accepted */
} replay_state;

struct dmn_auth {
    GHmac *keyed;            /* copied per frame: the key schedule is done once */
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

dmn_auth *dmn_auth_new(const void *key, size_t key_len, uint32_t n_members,
                       int64_t max_age_us, int64_t now_real)
{
    if (!key || key_len < DMN_AUTH_KEY_MIN || n_members == 0 || max_age_us <= 0)
        return NULL;
    dmn_auth *a = g_new0(dmn_auth, 1);
    a->keyed = g_hmac_new(G_CHECKSUM_SHA256, key, key_len);
    a->n_members = n_members;
    a->max_age_us = max_age_us;
    a->next_seq = now_real > 0 ? (uint64_t)now_real : 1;
    a->peers = g_new0(replay_state, n_members);
    return a;
}

void dmn_auth_free(dmn_auth *a)
{
    if (!a)
        return;
    g_hmac_unref(a->keyed);
    g_free(a->peers);
    g_free(a);
}

static void compute_mac(dmn_auth *a, const uint8_t *data, size_t len, uint8_t out[DMN_AUTH_MAC])
{
    GHmac *h = g_hmac_copy(a->keyed);
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
    compute_mac(a, buf, frame_len + 16, buf + frame_len + 16);
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

dmn_auth_result dmn_auth_open(dmn_auth *a, uint8_t *buf, size_t len, size_t frame_len,
                              int64_t now_real)
{
    if (frame_len < 12 || len != frame_len + DMN_AUTH_TRAILER ||
        buf[DMN_AUTH_FLAGS_OFFSET] != DMN_AUTH_FLAG)
        return DMN_AUTH_MISSING;
    uint8_t mac[DMN_AUTH_MAC];
    compute_mac(a, buf, frame_len + 16, mac);
    uint8_t diff = 0;
    for (size_t i = 0; i < DMN_AUTH_MAC; i++)
        diff |= mac[i] ^ buf[frame_len + 16 + i];
    if (diff != 0)
        return DMN_AUTH_BADMAC;
    uint32_t from = (uint32_t)buf[6] << 8 | buf[7];
    if (from >= a->n_members)
        return DMN_AUTH_PEER;
    uint64_t seq = get_be64(buf + frame_len);
    int64_t sent = (int64_t)get_be64(buf + frame_len + 8);
    int64_t age = now_real - sent;
    if (age > a->max_age_us || age < -a->max_age_us)
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
    buf[DMN_AUTH_FLAGS_OFFSET] = 0;
    return DMN_AUTH_OK;
}

dmn_auth_result dmn_auth_verify(dmn_auth *a, uint8_t *buf, size_t len, size_t frame_len,
                                int64_t now_real)
{
    if (frame_len < 12 || len != frame_len + DMN_AUTH_TRAILER ||
        buf[DMN_AUTH_FLAGS_OFFSET] != DMN_AUTH_FLAG)
        return DMN_AUTH_MISSING;
    uint8_t mac[DMN_AUTH_MAC];
    compute_mac(a, buf, frame_len + 16, mac);
    uint8_t diff = 0;
    for (size_t i = 0; i < DMN_AUTH_MAC; i++)
        diff |= mac[i] ^ buf[frame_len + 16 + i];
    if (diff != 0)
        return DMN_AUTH_BADMAC;
    int64_t age = now_real - (int64_t)get_be64(buf + frame_len + 8);
    if (age > a->max_age_us || age < -a->max_age_us)
        return DMN_AUTH_STALE;
    buf[DMN_AUTH_FLAGS_OFFSET] = 0;
    return DMN_AUTH_OK;
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
    }
    return "unknown";
}
