/* dmutex net: configuration agreement with each peer -- the HELLO every
 * stream opens with, and the book of peers whose settings differ.
 *
 * Every outgoing stream starts with this node's HELLO (core/confagree.h:
 * the settings every member must share); the acceptor takes nothing else
 * first, compares, and answers on the same stream with its own HELLO, so
 * each side learns the other's settings whichever dials. A peer whose
 * settings differ goes into the book under the address its HELLO names,
 * with what differs; from then on its frames are not acted on -- the rest
 * of that stream, and its datagrams (matched by source address: a node's
 * UDP and TCP endpoint is its member address) -- and each is counted as
 * bad input `config_mismatch`. A HELLO that agrees takes the peer out of
 * the book (a peer restarted with the right settings is taken back).
 *
 * The log says, for each peer, once when it is first seen to differ (and
 * again at most every DMN_AGREE_LOG_US while it keeps trying), "configuration
 * differs from PEER's: SETTING: VALUE there, VALUE here; ...". STATUS has
 * a line "config_mismatch PEER=SETTING,SETTING ..." (or "none").
 */
#ifndef DMUTEX_NET_AGREE_H
#define DMUTEX_NET_AGREE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "confagree.h"
#include "netconfig.h"

#define DMN_AGREE_LOG_US (10 * G_USEC_PER_SEC)
#define DMN_AGREE_MAX_PEERS 64      /* book entries; the oldest is dropped past this */

/* This node's HELLO (reply: the answer to a peer's) into buf, which holds
 * DM_FRAME_MAX bytes; its length, or a negative error. */
int dmn_agree_hello(const dmn_config *cfg, bool reply, uint8_t *buf, size_t cap);

typedef struct dmn_agreebook dmn_agreebook;

dmn_agreebook *dmn_agreebook_new(const dmn_config *cfg);
void dmn_agreebook_free(dmn_agreebook *b);

/* A peer's HELLO, which came from `udp` (its member address as a socket
 * address) at now: true when its settings agree with ours. Logs a
 * difference as above, and an agreement that ends one. */
bool dmn_agreebook_hello(dmn_agreebook *b, const dm_agree *theirs, const struct sockaddr *udp,
                         int64_t now);

/* The peer the book refuses datagrams from at `addr`, or NULL. */
const char *dmn_agreebook_refused(const dmn_agreebook *b, const struct sockaddr *addr);

/* "config_mismatch PEER=SETTING,... PEER=..." or "config_mismatch none" (no
 * newline). */
void dmn_agreebook_format(const dmn_agreebook *b, GString *out);
/* The same as the JSON member "config_mismatch" (STATUS JSON): an object
 * PEER -> "SETTING,SETTING", empty when none. */
struct dmn_json;
void dmn_agreebook_json(const dmn_agreebook *b, struct dmn_json *w);

#endif
