/* dmutex net: frame authentication (HMAC-SHA256) and replay protection.
 *
 * With a cluster key, every frame a node sends -- UDP datagram or TCP stream
 * frame -- is the codec's frame with bit DMN_AUTH_FLAG set in its flags byte
 * (offset 11, "reserved for authentication trailers" in core/codec.h),
 * followed by a trailer that is NOT counted in the frame's length prefix:
 *
 *   u64 seq        per-sender sequence: the sender's wall clock (us) when it
 *                  started, plus one per frame sent (dense, increasing, and
 *                  larger after a restart)
 *   u64 time_us    the sender's wall clock (us since the epoch) at sending
 *   u8  mac[32]    HMAC-SHA256(key, frame with the flag set || seq || time_us)
 *
 * A receiver holding the key accepts a frame only if the flag is set, the
 * MAC verifies (constant-time compare), |its wall clock - time_us| <= max_age,
 * and seq is either newer than the highest accepted from that sender, or
 * within DMN_REPLAY_WINDOW below it and not accepted before (a sliding
 * bitmap, as IPsec's anti-replay window). The sender is the frame's `from`
 * field, which the MAC covers. Replay state lives in memory only: a
 * receiver that restarts can be fed, once, a frame younger than max_age.
 * The recipient (`to`) is covered too, so a frame cannot be redirected.
 *
 * Keyring: a node holds several keys (DMN_AUTH_MAX_KEYS); it seals with the
 * first and accepts a frame that verifies under any (as memberlist's
 * keyring), so a key rotates without downtime: add the new key everywhere,
 * make it the first everywhere, remove the old one (net/README.md).
 *
 * Encrypted datagrams (udp_encrypt, memberlist's format in spirit): AES-256-
 * GCM over the same plaintext the MAC covers, with a per-key AES key derived
 * as HMAC-SHA256(key, "dmutex udp aes-256-gcm v1"):
 *
 *   u8  DMN_AUTH_ENC_MAGIC   never the first byte of a codec frame (its
 *                            length prefix is below 2^24: byte 0 is 0)
 *   u8  nonce[12]            random per datagram (memberlist's rule: with
 *                            96 random bits a repeat is negligible below
 *                            2^32 datagrams per key)
 *   ciphertext of: frame (flag set) || u64 seq || u64 time_us
 *   u8  tag[16]              GCM tag; the additional data is the magic byte
 *
 * The sequence and time inside go through the same replay checks. Every
 * keyed receiver takes both forms, so encryption is switched on node by
 * node (each sender decides), without downtime.
 *
 * dmn_authlog: the per-peer book of authentication failures behind the log
 * line "frames from PEER fail authentication: check the key file" (at most
 * once per second per peer) and STATUS's auth_failures line.
 */
#ifndef DMUTEX_NET_AUTH_H
#define DMUTEX_NET_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#define DMN_AUTH_FLAG 0x01u
#define DMN_AUTH_FLAGS_OFFSET 11
#define DMN_AUTH_MAC 32
#define DMN_AUTH_TRAILER (8 + 8 + DMN_AUTH_MAC)
#define DMN_REPLAY_WINDOW 256
#define DMN_AUTH_KEY_MIN 16
#define DMN_AUTH_MAX_KEYS 16
#define DMN_AUTH_ENC_MAGIC 0xD1u
#define DMN_AUTH_NONCE 12
#define DMN_AUTH_TAG 16
#define DMN_AUTH_ENC_OVERHEAD (1 + DMN_AUTH_NONCE + 16 + DMN_AUTH_TAG)
#define DMN_AUTH_PLAIN_MAX 2048   /* frame + seq + time, well above DM_FRAME_MAX */

typedef struct dmn_auth dmn_auth;

/* Why dmn_auth_open refused a frame. */
typedef enum dmn_auth_result {
    DMN_AUTH_OK = 0,
    DMN_AUTH_MISSING,   /* no trailer / flag not set / wrong length */
    DMN_AUTH_BADMAC,    /* MAC does not verify: forged, corrupted, wrong key */
    DMN_AUTH_STALE,     /* time_us further than max_age from our clock */
    DMN_AUTH_REPLAY,    /* seq already accepted, or below the window */
    DMN_AUTH_PEER,      /* `from` is not a member */
    DMN_AUTH_DECRYPT,   /* encrypted datagram that no key opens (wrong key, tampered) */
} dmn_auth_result;

/* key: at least DMN_AUTH_KEY_MIN bytes. now_real: wall clock, us. */
dmn_auth *dmn_auth_new(const void *key, size_t key_len, uint32_t n_members,
                       int64_t max_age_us, int64_t now_real);
/* A keyring: keys[0] seals, every one opens. NULL if a key is too short or
 * there are none or more than DMN_AUTH_MAX_KEYS. */
dmn_auth *dmn_auth_new_ring(GBytes *const *keys, size_t n_keys, uint32_t n_members,
                            int64_t max_age_us, int64_t now_real);
/* Replace the keyring (a reload), keeping the replay state. False (and the
 * old ring kept) on the same conditions as dmn_auth_new_ring. */
bool dmn_auth_set_keys(dmn_auth *a, GBytes *const *keys, size_t n_keys);
size_t dmn_auth_n_keys(const dmn_auth *a);
void dmn_auth_free(dmn_auth *a);

/* Seal the frame in buf[0..frame_len): sets the flag and appends the
 * trailer; buf must hold frame_len + DMN_AUTH_TRAILER bytes. Returns the
 * total length. */
size_t dmn_auth_seal(dmn_auth *a, uint8_t *buf, size_t frame_len, int64_t now_real);

/* Verify buf[0..len), a frame of length frame_len (its length prefix,
 * already checked by the caller) plus what follows. On DMN_AUTH_OK the flag
 * has been cleared in buf, so buf[0..frame_len) decodes with the codec. */
dmn_auth_result dmn_auth_open(dmn_auth *a, uint8_t *buf, size_t len, size_t frame_len,
                              int64_t now_real);

/* As dmn_auth_open, but without the replay window: for a HELLO
 * (net/agree.h), whose `from` is the sender's id in its own member list,
 * which need not be ours -- taking it into the window of the member that
 * has that id here would refuse that member's own frames as replays. A
 * replayed HELLO only restates a peer's settings. */
dmn_auth_result dmn_auth_verify(dmn_auth *a, uint8_t *buf, size_t len, size_t frame_len,
                                int64_t now_real);

/* For frames of another layout (net/join.h's JOIN exchange): the MAC of
 * data under the sealing key; whether mac verifies under any key of the
 * ring (constant-time per key); whether a time stamped sent_real is within
 * max_age of now_real. */
void dmn_auth_mac(dmn_auth *a, const uint8_t *data, size_t len, uint8_t mac[DMN_AUTH_MAC]);
bool dmn_auth_mac_verifies(dmn_auth *a, const uint8_t *data, size_t len,
                           const uint8_t mac[DMN_AUTH_MAC]);
bool dmn_auth_fresh(const dmn_auth *a, int64_t sent_real, int64_t now_real);

/* Encrypt the frame buf[0..frame_len) (flag set, seq and time appended
 * inside) into out, which must hold frame_len + DMN_AUTH_ENC_OVERHEAD
 * bytes, with the first key. Returns the datagram's length, 0 on failure. */
size_t dmn_auth_seal_datagram(dmn_auth *a, const uint8_t *buf, size_t frame_len, uint8_t *out,
                              int64_t now_real);
/* Is buf an encrypted datagram (by its first byte)? */
bool dmn_auth_is_encrypted(const uint8_t *buf, size_t len);
/* Decrypt an encrypted datagram in place and run the replay checks. On
 * DMN_AUTH_OK buf[0..*frame_len) is the codec frame, flag cleared. */
dmn_auth_result dmn_auth_open_datagram(dmn_auth *a, uint8_t *buf, size_t len, size_t *frame_len,
                                       int64_t now_real);

const char *dmn_auth_result_name(dmn_auth_result r);

typedef struct dmn_authlog dmn_authlog;
dmn_authlog *dmn_authlog_new(void);
void dmn_authlog_free(dmn_authlog *l);
/* Count a failure of frames from `peer` (an address, as it should be
 * logged). True when the caller should log it now: the first time, then at
 * most once per second per peer; *suppressed is how many were not logged
 * since. Peers beyond a bound share one entry, so forged sources cannot
 * grow the book. */
bool dmn_authlog_note(dmn_authlog *l, const char *peer, int64_t now_us, uint64_t *suppressed);
/* "auth_failures total=N last=PEER PEER=N ..." (no newline). */
void dmn_authlog_format(const dmn_authlog *l, GString *out);
/* The same as the JSON member "auth_failures" (STATUS JSON), and the total. */
struct dmn_json;
void dmn_authlog_json(const dmn_authlog *l, struct dmn_json *w);
uint64_t dmn_authlog_total(const dmn_authlog *l);

#endif
