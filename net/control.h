/* dmutex net: the control protocol of dmutexd, on a Unix stream socket.
 *
 * A line-based text protocol (net/README.md documents it): one command per
 * line, each answered by zero or more data lines and one final line that
 * starts with OK or ERR; lines starting with '!' are notifications (a lock
 * of this session lost or taken away) and may arrive between responses.
 * Locks belong to the session that took them: when it disconnects, they are
 * released (and acquisitions in progress abandoned), like an etcd lease
 * tied to its session. Several sessions of one daemon asking for the same
 * name queue in the daemon, first come first served.
 */
#ifndef DMUTEX_NET_CONTROL_H
#define DMUTEX_NET_CONTROL_H

#include <glib.h>
#include <uv.h>

#include "transport.h"

#define DMN_CONTROL_LINE_MAX 1024
#define DMN_CONTROL_TIMEOUT_MAX_MS (24LL * 3600 * 1000)

typedef struct dmn_control dmn_control;

/* Listen on `path` (a stale socket file there is replaced). */
dmn_control *dmn_control_new(uv_loop_t *loop, dmn_node *node, const char *path, uint32_t max_sessions,
                             GError **err);

/* The control socket of a node that does not exist yet (a joiner waiting
 * for `members add`, net/join.h): the same sessions and line rules, but
 * STATUS and JSON STATUS are answered by `status` (its data lines, with
 * json the JSON document's, each ending in a newline, into out; OK
 * follows) and every other command with `ERR ENOTMEMBER refusal`. */
typedef void (*dmn_control_status_fn)(void *user, gboolean json, GString *out);
dmn_control *dmn_control_new_joining(uv_loop_t *loop, const char *path, uint32_t max_sessions,
                                     dmn_control_status_fn status, void *user, const char *refusal,
                                     GError **err);

/* Listen with `server` (uv_pipe_init'ed by the caller, who closes it on
 * failure) on the Unix socket `path`, mode 0600: a stale socket file there
 * is replaced, one a live daemon answers on is refused. The control socket
 * and a joiner's (net/join.h) both open theirs so. */
gboolean dmn_control_listen(uv_pipe_t *server, const char *path, uv_connection_cb on_connection,
                            GError **err);

/* Route every node event here (dmutexd's event callback). */
void dmn_control_event(dmn_control *c, const dm_event *ev);

/* Stop accepting, close every session (their locks are released), remove the
 * socket file. The loop must then run down the handles before _free. */
void dmn_control_close(dmn_control *c);

/* The METRICS text (Prometheus format): the node's families, then the
 * control socket's (sessions, acquisition latency) when c is not NULL.
 * Shared by METRICS and metrics_listen's GET /metrics. */
void dmn_control_format_metrics(dmn_node *n, dmn_control *c, GString *out);
void dmn_control_free(dmn_control *c);

#endif
