/* dmutex net: how a new member learns the cluster it joins (policy epoch).
 *
 * A node started with --join HOST:PORT,... instead of --members sends JOIN
 * datagrams to those peers; a member answers with one JOIN_ENTRY datagram
 * per id it can address: the --members (ids below the count they give) and
 * the spare ids bound by installed configurations (chosen values, so every
 * member answers alike). The joiner waits until an entry binds its own
 * address, then starts with that id and no state, as a wiped member does.
 * A member whose installed configuration holds an id it has no address for
 * (it skipped the epoch that added it) asks the same way.
 *
 * Frames: u32 length (all of it), u8 DM_WIRE_VERSION, u8 type, then for
 * JOIN_ENTRY u8 max_members, u8 members, u8 id, the address (the rest).
 * They are not lock messages and never reach the core.
 *
 * With key_file, every join frame is sealed with a trailer the length
 * prefix does not count:
 *
 *   u8  nonce[16]   JOIN: fresh random per joiner run (per daemon run for a
 *                   member asking for a binding it lacks);
 *                   JOIN_ENTRY: the nonce of the JOIN it answers
 *   u64 time_us     the sender's wall clock (us since the epoch)
 *   u8  mac[32]     HMAC-SHA256(key, frame || nonce || time_us), the
 *                   cluster keyring's (net/auth.h): first key seals, any opens
 *
 * A keyed node refuses an unsealed join frame, one whose MAC no key
 * verifies, and one older than auth_max_age; the joiner takes only entries
 * echoing its own nonce. There is no per-sender replay window (a joiner
 * has no id yet): a JOIN replayed within auth_max_age is answered again,
 * with the same entries, to the replayer's address -- what any key holder
 * may ask, so nothing is learnt or changed (net/README.md).
 */
#ifndef DMUTEX_NET_JOIN_H
#define DMUTEX_NET_JOIN_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "auth.h"

#define DMN_JOIN_TYPE 0xd0
#define DMN_JOIN_ENTRY_TYPE 0xd1
#define DMN_JOIN_HEADER 6
#define DMN_JOIN_NONCE 16
#define DMN_JOIN_TRAILER (DMN_JOIN_NONCE + 8 + DMN_AUTH_MAC)
#define DMN_JOIN_ENTRY_MAX (DMN_JOIN_HEADER + 3 + 300 + DMN_JOIN_TRAILER)

typedef struct dmn_join_entry {
    uint32_t max_members;   /* the sender's ids in all (max_members) */
    uint32_t members;       /* its --members count: ids below are those */
    uint32_t id;
    char address[300];
} dmn_join_entry;

/* Whether buf looks like a join frame (version and type); it may still be
 * malformed. */
bool dmn_join_is_frame(const uint8_t *buf, size_t len);
/* A JOIN request into buf (DMN_JOIN_HEADER + DMN_JOIN_TRAILER bytes, for
 * a seal); returns its length. */
size_t dmn_join_encode_request(uint8_t *buf);
/* One entry into buf (DMN_JOIN_ENTRY_MAX bytes); returns its length. */
size_t dmn_join_encode_entry(uint8_t *buf, uint32_t max_members, uint32_t members, uint32_t id,
                             const char *address);
/* Parse a join frame: its type, whether it is sealed, and for an entry *e.
 * NULL, or what is wrong with it. */
const char *dmn_join_parse(const uint8_t *buf, size_t len, int *type, bool *sealed,
                           dmn_join_entry *e);
/* Seal the frame buf[0..len) (room for DMN_JOIN_TRAILER more) with nonce;
 * returns the sealed length. */
size_t dmn_join_seal(dmn_auth *a, uint8_t *buf, size_t len, const uint8_t nonce[DMN_JOIN_NONCE],
                     int64_t now_real);
/* Authenticate a parsed join frame: DMN_AUTH_MISSING (not sealed),
 * DMN_AUTH_BADMAC, DMN_AUTH_STALE (beyond auth_max_age) or DMN_AUTH_OK with
 * its nonce copied out. */
dmn_auth_result dmn_join_open(dmn_auth *a, const uint8_t *buf, size_t len, int64_t now_real,
                              uint8_t nonce[DMN_JOIN_NONCE]);
/* A fresh random nonce. */
void dmn_join_nonce(uint8_t nonce[DMN_JOIN_NONCE]);

/* What a joiner learnt: the --members (ids 0..k-1, sorted), max_members,
 * and the bindings "ID=HOST:PORT" of the spare ids, its own among them. */
typedef struct dmn_join_result {
    GPtrArray *members;     /* char* */
    uint32_t max_members;
    uint32_t self_id;
    GPtrArray *bindings;    /* char* "ID=HOST:PORT" */
} dmn_join_result;

/* Ask the peers of peers_csv from self's address, every 500 ms, until an
 * answer binds self (true, *out filled) or timeout_us passes, or SIGINT or
 * SIGTERM arrives (false, *err says which); timeout_us <= 0: no deadline.
 * auth: the cluster keyring (frames sealed and checked), or NULL. control:
 * a control socket path, or NULL; meanwhile it answers STATUS and JSON
 * STATUS with the join's state (`joining ADDRESS state=...`) and any other
 * command ERR ENOTMEMBER, and it is removed before this returns. Runs loop
 * meanwhile. */
gboolean dmn_join_run(uv_loop_t *loop, const char *self, const char *peers_csv, int64_t timeout_us,
                      dmn_auth *auth, const char *control, dmn_join_result *out, GError **err);
void dmn_join_result_clear(dmn_join_result *r);

/* ------------------------------------------------ the address table
 *
 * DATA_DIR/bindings: who is who, as this node last knew it, rewritten
 * (atomically, net/store.h) whenever it changes, so that a restart needs
 * neither --members nor --join -- a joined node's service unit may drop
 * --join after the first start:
 *
 *   max_members=M
 *   members=K          ids 0..K-1 are the --members
 *   ID=HOST:PORT       one line per addressable id: the --members, then the
 *                      spare ids bound by installed configurations
 *
 * A file written before the member list was kept there holds only spare
 * ids' lines: it still gives their bindings, but no member list. */
#define DMN_TABLE_FILE "bindings"

/* Parse "ID=HOST:PORT" (len bytes, no NUL needed) into *id and a new
 * string; false for anything else (the core's configuration bindings are
 * spelt the same). */
bool dmn_table_parse_binding(const char *text, size_t len, uint32_t *id, char **address);
/* The file's text for ids 0..n_ids-1 (by_id[i] NULL: unbound), the first
 * `members` of them the --members. */
char *dmn_table_format(uint32_t members, const char *const *by_id, uint32_t n_ids);
/* Read DIR/bindings into *out: members (empty for an older file),
 * max_members (0: not said), bindings (the spare ids'), self_id (self's id,
 * UINT32_MAX when no line names self). No file: TRUE with out->members
 * NULL. FALSE, with err naming the line, for a bad file. */
gboolean dmn_table_load(const char *data_dir, const char *self, dmn_join_result *out, GError **err);

#endif
