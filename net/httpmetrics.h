/* dmutex net: the optional HTTP endpoint of dmutexd's metrics
 * (`metrics_listen = HOST:PORT`): GET /metrics answers the same text as the
 * control protocol's METRICS, for a Prometheus server to scrape.
 *
 * Deliberately small and bounded, on the daemon's libuv loop: one request
 * per connection (Connection: close), a request head of at most
 * DMN_HTTP_HEAD_MAX bytes that must arrive within DMN_HTTP_TIMEOUT_MS, at
 * most DMN_HTTP_CONNS connections at once; anything else (another method
 * or path, a malformed or oversized request, a slow client, one connection
 * too many) gets a 4xx/5xx status or is closed, and is counted as bad input
 * of kind `http`. No TLS and no authentication: bind it to a trusted
 * address.
 */
#ifndef DMUTEX_NET_HTTPMETRICS_H
#define DMUTEX_NET_HTTPMETRICS_H

#include <glib.h>
#include <uv.h>

#include "control.h"
#include "transport.h"

#define DMN_HTTP_HEAD_MAX 4096
#define DMN_HTTP_TIMEOUT_MS 5000
#define DMN_HTTP_CONNS 16

typedef struct dmn_http dmn_http;

/* Listen on `address` (HOST:PORT, numeric or a name resolved once now).
 * `control` may be NULL (no control socket: the node's families only). */
dmn_http *dmn_http_new(uv_loop_t *loop, dmn_node *node, dmn_control *control, const char *address,
                       GError **err);
/* Stop listening and close every connection; _free once the loop ran down. */
void dmn_http_close(dmn_http *h);
void dmn_http_free(dmn_http *h);

#endif
