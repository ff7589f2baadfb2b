/* dmutex core: configuration agreement -- the settings every member must
 * share, and the HELLO frame that carries them between two members.
 *
 * A node given another member list, lease, drift bound, quorum system,
 * placement or policy than its peers is not a member of their cluster:
 * its quorums need not intersect theirs, its leases are not what their
 * arbiters grant. Drivers exchange a HELLO at the start of every stream
 * (net/transport.c: the dialer sends its own, the acceptor answers with
 * its own) and refuse the frames of a peer whose settings differ, naming
 * the peer and each setting that differs.
 *
 * What must agree: every core key flagged DM_CONFKEY_AGREE in
 * core/confkeys.c (policy, quorum, lease, drift_ppm, spread,
 * swim.enabled), and the member set -- unless the policy changes
 * configurations at run time (dm_policy_ops.epochs), under which members
 * legitimately differ while a change is under way, so the epoch machinery,
 * not this, keeps them apart. Values travel as text, so that a log line can
 * say "lease: 5s there, 10s here"; the member set as its size and a 64-bit
 * digest of the sorted list. The key is not among them: a frame under
 * another key fails authentication, which says so.
 *
 * The frame is a codec frame (core/codec.h's 20-byte header, so stream
 * framing, length checks and authentication trailers apply unchanged) of
 * type DM_AGREE_WIRE_TYPE, which is no dm_msg type (dm_codec_decode
 * refuses it with -DM_ETYPE); name_len 0, clock 0, `from` the sender's id
 * in its own list, `to` 0xffff. After the header:
 *
 *   u8  hello_version   DM_AGREE_VERSION
 *   u8  flags           bit 0: this HELLO answers one
 *   u8  addr_len        1..255, then the sender's own address (HOST:PORT)
 *   u8  count           0..DM_AGREE_MAX_ITEMS, then per item:
 *     u8 name_len (1..DM_AGREE_NAME_MAX), name, u8 value_len (0..DM_AGREE_VALUE_MAX), value
 *
 * Nothing here does I/O.
 */
#ifndef DMUTEX_CORE_CONFAGREE_H
#define DMUTEX_CORE_CONFAGREE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node.h"

#define DM_AGREE_WIRE_TYPE 0xF0u
#define DM_AGREE_VERSION 1
#define DM_AGREE_MAX_ITEMS 16
#define DM_AGREE_NAME_MAX 31
#define DM_AGREE_VALUE_MAX 63
#define DM_AGREE_ADDR_MAX 255

typedef struct dm_agree_item {
    char name[DM_AGREE_NAME_MAX + 1];
    char value[DM_AGREE_VALUE_MAX + 1];
} dm_agree_item;

typedef struct dm_agree {
    char address[DM_AGREE_ADDR_MAX + 1];   /* the sender's own address */
    bool reply;
    uint32_t n_items;
    dm_agree_item items[DM_AGREE_MAX_ITEMS];
} dm_agree;

/* This node's settings that must agree. members: every member's address,
 * n_members of them, in any order (the digest sorts them). */
void dm_agree_describe(const dm_config *cfg, const char *self, const char *const *members,
                       uint32_t n_members, dm_agree *out);

/* Encode a as a HELLO from member `from` into buf. Returns the frame's
 * length, or -DM_EINVAL (cap too small, fields too long). */
int dm_agree_encode(const dm_agree *a, uint32_t from, uint8_t *buf, size_t cap);

/* Whether the frame at buf (its header at least) is a HELLO. */
bool dm_agree_is_hello(const uint8_t *buf, size_t len);

/* Decode exactly one HELLO frame (flags byte not looked at: the caller has
 * verified and cleared any authentication). Returns its length, or
 * -DM_ETRUNC, -DM_EVERSION, -DM_ETYPE, -DM_EMALFORMED. */
int dm_agree_decode(const uint8_t *buf, size_t len, dm_agree *out);

/* Compare theirs with mine: the number of settings that differ (an item
 * only one side sends differs too); when what is not NULL, each is
 * appended as "lease: 5s there, 10s here" (separated by "; "), and when
 * names is not NULL its name ("lease", comma-separated). */
int dm_agree_compare(const dm_agree *mine, const dm_agree *theirs, GString *what, GString *names);

#endif
