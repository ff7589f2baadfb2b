/* dmutex net: TLS 1.3 with mutual certificates for the stream (TCP) traffic,
 * over GnuTLS, as a buffer-to-buffer module the transport drives from libuv.
 *
 * The transport never hands a socket to GnuTLS: it feeds the ciphertext its
 * reads return (dmn_tls_feed), takes the plaintext out (dmn_tls_plain), hands
 * plaintext frames in (dmn_tls_send) and writes whatever ciphertext the
 * session produced (dmn_tls_out: handshake flights, records, alerts). GnuTLS's
 * push/pull callbacks work on those buffers, so nothing here blocks or
 * touches the loop.
 *
 * Identity: a certificate is bound to a member by a URI subject alternative
 * name `dmutex://HOST:PORT`, spelt exactly as the member in the address
 * table (DMN_TLS_URI_SCHEME): the --members, and under policy epoch the
 * addresses later bound to spare ids by `members add` (net/join.h). A client (our outgoing connection to member P)
 * accepts the server only if its chain verifies against the trusted CAs and
 * it names P; a server accepts a client whose chain verifies and which names
 * some member, and tells the transport which (dmn_tls_peer_member), so that
 * only frames whose `from` is that member are accepted. Both checks run
 * inside the handshake (GnuTLS's verify callback), so the refused side gets
 * an alert and each side logs why.
 *
 * Credentials (dmn_tls_ctx): several CA files are trusted at once (a CA
 * rotation adds the new CA everywhere before any certificate it signed is
 * used); the node's own certificate and key are re-read by dmn_tls_ctx_reload
 * (dmutexd: SIGHUP) and used for new connections, while open connections
 * keep the credentials they started with (reference-counted).
 */
#ifndef DMUTEX_NET_TLS_H
#define DMUTEX_NET_TLS_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DMN_TLS_URI_SCHEME "dmutex://"

typedef struct dmn_tls_ctx dmn_tls_ctx;
typedef struct dmn_tls dmn_tls;

/* ca_files: NULL-terminated, at least one. members: the address table by
 * id (entry i is id i's address; NULL: no address yet), kept by reference:
 * it must outlive the context, and entries the caller fills later (a
 * binding installed) count for the handshakes that follow. self:
 * this node's address; its certificate must name it (else an error: a
 * certificate of another member would make every peer refuse us). */
dmn_tls_ctx *dmn_tls_ctx_new(const char *const *ca_files, const char *cert_file,
                             const char *key_file, const GPtrArray *members, const char *self,
                             GError **err);
/* Re-read CAs, certificate and key; on failure the old ones stay in use. */
gboolean dmn_tls_ctx_reload(dmn_tls_ctx *ctx, GError **err);
void dmn_tls_ctx_free(dmn_tls_ctx *ctx);
/* "subject, member, expires" of the certificate in use, for logs. */
const char *dmn_tls_ctx_describe(const dmn_tls_ctx *ctx);

/* The member address a PEM certificate file names (its first dmutex:// URI
 * SAN), newly allocated, or NULL with err. */
char *dmn_tls_cert_file_member(const char *cert_file, GError **err);

/* A session: server (an inbound connection, any member may connect) or
 * client (expect_member: the member we dial). The handshake starts at once;
 * a client's first flight is in dmn_tls_out. */
dmn_tls *dmn_tls_new(dmn_tls_ctx *ctx, bool server, int expect_member);
void dmn_tls_free(dmn_tls *t);

/* Feed ciphertext read from the socket. Returns 0, or a negative GnuTLS
 * code when the session failed (dmn_tls_error says why, in words fit for
 * the log). Plaintext is appended to dmn_tls_plain. */
int dmn_tls_feed(dmn_tls *t, const uint8_t *data, size_t len);
/* Queue plaintext; it is encrypted once the handshake is done (before,
 * it waits inside). Returns 0 or a negative GnuTLS code. */
int dmn_tls_send(dmn_tls *t, const uint8_t *data, size_t len);
/* Ciphertext to write (the caller takes it and empties the array). */
GByteArray *dmn_tls_out(dmn_tls *t);
/* Plaintext received (the caller consumes it and removes what it used). */
GByteArray *dmn_tls_plain(dmn_tls *t);
bool dmn_tls_established(const dmn_tls *t);
/* After the handshake: the member id the peer's certificate names. */
int dmn_tls_peer_member(const dmn_tls *t);
/* Why the session failed, in words; "" if it has not. */
const char *dmn_tls_error(const dmn_tls *t);

#endif
