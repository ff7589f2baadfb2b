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
 */
#ifndef DMUTEX_NET_AUTH_H
#define DMUTEX_NET_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DMN_AUTH_FLAG 0x01u
#define DMN_AUTH_FLAGS_OFFSET 11
#define DMN_AUTH_MAC 32
#define DMN_AUTH_TRAILER (8 + 8 + DMN_AUTH_MAC)
#define DMN_REPLAY_WINDOW 256
#define DMN_AUTH_KEY_MIN 16

typedef struct dmn_auth dmn_auth;

/* Why dmn_auth_open refused a frame. */
typedef enum dmn_auth_result {
    DMN_AUTH_OK = 0,
    DMN_AUTH_MISSING,   /* no trailer / flag not set / wrong length */
    DMN_AUTH_BADMAC,    /* MAC does not verify: forged, corrupted, wrong key */
    DMN_AUTH_STALE,     /* time_us further than max_age from our clock */
    DMN_AUTH_REPLAY,    /* seq already accepted, or below the window */
    DMN_AUTH_PEER,      /* `from` is not a member */
} dmn_auth_result;

/* key: at least DMN_AUTH_KEY_MIN bytes. now_real: wall clock, us. */
dmn_auth *dmn_auth_new(const void *key, size_t key_len, uint32_t n_members,
                       int64_t max_age_us, int64_t now_real);
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

const char *dmn_auth_result_name(dmn_auth_result r);

#endif
