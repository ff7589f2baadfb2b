/* dmutex net: one core node (core/node.h) driven from a libuv loop.
 *
 *  - `now` is uv_hrtime() in microseconds; ONE uv_timer is re-armed from
 *    dm_node_next_deadline() after every input (a datagram, a stream frame,
 *    a timer expiry, an application call);
 *  - membership probes (PING, PING_REQ, ACK, NACK) travel as UDP datagrams,
 *    one frame each, except SWIM's fallback ping (a PING or ACK marked
 *    DM_SEQ_STREAM, for a member whose UDP path is broken), which goes over
 *    TCP as memberlist's does; lock messages and push/pull (SYNC) over TCP: one
 *    outgoing connection per peer, connected lazily on the first message,
 *    kept open, re-established after a failure with exponential back-off
 *    (backoff_min doubling up to backoff_max; messages to a peer in back-off
 *    are dropped, as the core allows); inbound connections only carry frames
 *    towards us, framed by the codec's own u32 length prefix
 *    (dm_codec_frame_length), plus the auth trailer when a key is set;
 *  - the core's persisted bytes go to DATA_DIR/state (net/store.h); the
 *    node says at start whether it restarts from them, recovers without
 *    them, or was declared new (cfg.core.bootstrap), and a corrupt or empty
 *    state file stops it (net/README.md, "Starting");
 *  - a lock the core refuses with -DM_ERECOVERING (no token floor yet) is
 *    kept and started once the floor is in, or failed with -DM_ETIMEDOUT at
 *    its deadline: owners never see that transient code;
 *  - with tls_cert/tls_key/tls_ca, every TCP connection runs TLS 1.3 with
 *    mutual certificates (net/tls.h): ciphertext goes through the session on
 *    both the outgoing and the inbound path, and an inbound frame is taken
 *    only when its `from` is the member the client's certificate names;
 *    with udp_encrypt, datagrams are AES-GCM encrypted (net/auth.h);
 *    dmn_node_reload re-reads keys and certificates (dmutexd: SIGHUP);
 *  - bad input of any kind is counted (dmn_bad_kind), logged at most once
 *    per second per kind, and dropped; a TCP connection with a framing error
 *    is closed; inbound connections are capped (max_inbound).
 * Core events are queued during a core call and handed to the owner's
 * callback after it, so the callback may call dmn_node_lock/unlock.
 * Everything here runs on the loop's thread.
 */
#ifndef DMUTEX_NET_TRANSPORT_H
#define DMUTEX_NET_TRANSPORT_H

#include <glib.h>
#include <uv.h>

#include "netconfig.h"
#include "node.h"

typedef enum dmn_bad_kind {
    DMN_BAD_GARBAGE = 0,   /* undecodable: bad type, fields, names, members */
    DMN_BAD_TRUNCATED,     /* shorter than its length prefix */
    DMN_BAD_OVERSIZE,      /* length prefix above DM_FRAME_MAX */
    DMN_BAD_VERSION,       /* unknown wire version */
    DMN_BAD_AUTH,          /* missing or invalid HMAC trailer */
    DMN_BAD_REPLAY,        /* replayed or stale (auth) */
    DMN_BAD_REJECTED,      /* well-formed but refused by the core (e.g. not for us) */
    DMN_BAD_CONN_LIMIT,    /* inbound connection refused: too many */
    DMN_BAD_CONTROL,       /* malformed control-protocol command */
    DMN_BAD_HTTP,          /* metrics_listen: bad, oversized, slow or one-too-many request */
    DMN_BAD_CONFIG_MISMATCH, /* from a peer whose settings differ, or a stream without HELLO
                              (net/agree.h) */
    DMN_BAD_COUNT
} dmn_bad_kind;

const char *dmn_bad_kind_name(dmn_bad_kind k);

typedef struct dmn_node dmn_node;

typedef void (*dmn_event_fn)(void *user, const dm_event *ev);

/* Resolve addresses, bind UDP and TCP on cfg->self, read DATA_DIR/state,
 * create the core node. The config must have been finished. */
dmn_node *dmn_node_new(uv_loop_t *loop, const dmn_config *cfg, dmn_event_fn event, void *user,
                       GError **err);

/* The core's lock/unlock (same return values), then the node settles.
 * lock() stores the attempt's id in *attempt (may be NULL) before any event
 * is delivered, so an owner can point it into the record it matches
 * outcomes with: every GRANTED, FAILED, LOST and RENEWED event about the
 * attempt carries that id; never match outcomes by name alone. */
int dmn_node_lock(dmn_node *n, const char *name, int64_t timeout_us, uint64_t *attempt);
/* dm_node_try_lock's: fails with -DM_EHELD when another holder has it. */
int dmn_node_try_lock(dmn_node *n, const char *name, int64_t timeout_us, uint64_t *attempt);
int dmn_node_unlock(dmn_node *n, const char *name);
/* Unlock `name` only if `attempt` is what this node holds it by (an owner
 * refusing a grant nobody waits for must not release a newer attempt's).
 * Returns -DM_ENOTHELD otherwise. */
int dmn_node_unlock_attempt(dmn_node *n, const char *name, uint64_t attempt);
/* Abandon an acquisition in progress (dm_node_cancel): its FAILED event
 * (-DM_ECANCELED) follows. */
int dmn_node_cancel(dmn_node *n, const char *name);

/* Re-read the keyring (key_file) and the TLS credentials (tls_ca,
 * tls_cert, tls_key) named at start, without downtime: new keys take
 * effect at once, new credentials for connections made from now on. On an
 * error (logged by the caller) everything in use stays as it was. */
gboolean dmn_node_reload(dmn_node *n, GError **err);

/* Leave gracefully (dm_node_leave), then wait until every queued outgoing
 * byte is written (at most 1 s) and call done. */
void dmn_node_shutdown(dmn_node *n, void (*done)(void *), void *user);

/* Close every handle; once the loop has run them down, dmn_node_free. */
void dmn_node_close(dmn_node *n);
void dmn_node_free(dmn_node *n);

/* Epoch policy: propose the installed configuration with the member at
 * `address` (one of the configured members) added or removed; the outcome
 * is a DM_EV_RECONFIG event. 0, -DM_EPEER (no such member), or the codes
 * of dm_node_change_members. */
int dmn_node_change_members(dmn_node *n, const char *address, bool add);

/* Queries. */
dm_node *dmn_node_core(dmn_node *n);
int64_t dmn_node_now(dmn_node *n);
const char *dmn_node_address(const dmn_node *n, uint32_t id);
/* Whether id has an address (--members, or a binding installed under the
 * epoch policy); a spare id without one is nobody yet. */
bool dmn_node_id_bound(const dmn_node *n, uint32_t id);
uint32_t dmn_node_n_members(const dmn_node *n);
const dmn_config *dmn_node_config(const dmn_node *n);
const uint64_t *dmn_node_bad_counts(const dmn_node *n);   /* DMN_BAD_COUNT entries */
/* Count (and rate-limit-log) bad input seen by an owner (the control socket). */
void dmn_node_count_bad(dmn_node *n, dmn_bad_kind kind, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* The quorum this node would form now for lock `name` (ids, in the system's
 * order); NULL: the quorum system as built, which is every name's without
 * per-name placement (dm_config.spread). Returns its size or a negative code. */
int dmn_node_current_quorum(dmn_node *n, const char *name, uint32_t *out, uint32_t cap);

/* "alive", "suspect", "dead", "left". */
const char *dmn_member_state_name(int state);

/* STATUS and MEMBERS as text lines ("key value ..."), shared by the control
 * protocol and the library. */
void dmn_node_format_status(dmn_node *n, const char *name, GString *out);
void dmn_node_format_members(dmn_node *n, GString *out);

/* The same as JSON members of an open object (STATUS JSON: every line's
 * fact under the line's first word; MEMBERS JSON: "members"), and the
 * node's metric families in the Prometheus text format. */
struct dmn_json;
void dmn_node_status_json(dmn_node *n, const char *name, struct dmn_json *w);
void dmn_node_members_json(dmn_node *n, struct dmn_json *w);
void dmn_node_format_metrics(dmn_node *n, GString *out);

/* Resolve HOST:PORT (blocking, through loop's thread pool) into *out. */
gboolean dmn_resolve(uv_loop_t *loop, const char *address, struct sockaddr_storage *out,
                     GError **err);

#endif
