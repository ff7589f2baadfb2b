/* dmutex net: GET /metrics over HTTP (httpmetrics.h). */
#include "httpmetrics.h"

#include <string.h>

#include "netconfig.h"

typedef struct hconn {
    uv_tcp_t tcp;            /* first: the handle's memory is the connection's */
    uv_timer_t timer;
    dmn_http *http;
    GList *link;
    int open_handles;
    bool answered;
    size_t fill;
    char head[DMN_HTTP_HEAD_MAX];
} hconn;

struct dmn_http {
    dmn_node *node;
    dmn_control *control;
    uv_loop_t *loop;
    uv_tcp_t server;
    GQueue conns;
    bool closing;
};

typedef struct hwrite {
    uv_write_t req;
    hconn *c;
    GString *text;
} hwrite;

static void on_handle_closed(uv_handle_t *h)
{
    hconn *c = h->data;
    if (--c->open_handles == 0)
        g_free(c);
}

static void hconn_close(hconn *c)
{
    if (c->open_handles < 2 || uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    g_queue_delete_link(&c->http->conns, c->link);
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

static void on_written(uv_write_t *req, int status)
{
    (void)status;
    hwrite *w = (hwrite *)req;
    g_string_free(w->text, TRUE);
    hconn_close(w->c);
    g_free(w);
}

/* The one response of the connection; the connection closes after it. */
static void respond(hconn *c, const char *status, const char *body)
{
    c->answered = true;
    uv_read_stop((uv_stream_t *)&c->tcp);
    hwrite *w = g_new0(hwrite, 1);
    w->c = c;
    w->text = g_string_new(NULL);
    g_string_append_printf(w->text,
                           "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                           status, g_str_has_prefix(status, "200") ? "text/plain; version=0.0.4; charset=utf-8"
                                                                   : "text/plain; charset=utf-8",
                           strlen(body), body);
    uv_buf_t b = uv_buf_init(w->text->str, (unsigned)w->text->len);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0) {
        g_string_free(w->text, TRUE);
        g_free(w);
        hconn_close(c);
    }
}

static void refuse(hconn *c, const char *status, const char *why)
{
    dmn_node_count_bad(c->http->node, DMN_BAD_HTTP, "metrics http: %s", why);
    g_autofree char *body = g_strdup_printf("%s\n", why);
    respond(c, status, body);
}

/* A complete request head is in c->head: answer it. */
static void handle_request(hconn *c, size_t head_len)
{
    g_autofree char *head = g_strndup(c->head, head_len);
    char *eol = strpbrk(head, "\r\n");
    if (eol)
        *eol = '\0';
    g_auto(GStrv) w = g_strsplit(head, " ", 4);
    if (g_strv_length(w) != 3 || !g_str_has_prefix(w[2], "HTTP/1.")) {
        refuse(c, "400 Bad Request", "not an HTTP/1.x request line");
        return;
    }
    if (strcmp(w[0], "GET") != 0 && strcmp(w[0], "HEAD") != 0) {
        refuse(c, "405 Method Not Allowed", "only GET /metrics is served");
        return;
    }
    size_t plen = strcspn(w[1], "?");
    if (plen != strlen("/metrics") || strncmp(w[1], "/metrics", plen) != 0) {
        refuse(c, "404 Not Found", "only GET /metrics is served");
        return;
    }
    GString *out = g_string_new(NULL);
    dmn_control_format_metrics(c->http->node, c->http->control, out);
    respond(c, "200 OK", out->str);
    g_string_free(out, TRUE);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    hconn *c = h->data;
    buf->base = c->head + c->fill;
    buf->len = sizeof c->head - c->fill;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    hconn *c = st->data;
    if (c->answered)
        return;
    if (nread < 0) {
        hconn_close(c);
        return;
    }
    c->fill += (size_t)nread;
    /* The head ends at an empty line; a body (which GET has not) is ignored. */
    for (size_t i = 0; i + 1 < c->fill; i++) {
        if (c->head[i] == '\n' && (c->head[i + 1] == '\n' ||
                                   (c->head[i + 1] == '\r' && i + 2 < c->fill && c->head[i + 2] == '\n'))) {
            handle_request(c, i);
            return;
        }
    }
    if (c->fill == sizeof c->head)
        refuse(c, "431 Request Header Fields Too Large", "request head over 4096 bytes");
}

static void on_timeout(uv_timer_t *t)
{
    hconn *c = t->data;
    if (c->answered)
        return;
    dmn_node_count_bad(c->http->node, DMN_BAD_HTTP, "metrics http: no complete request within %d ms",
                       DMN_HTTP_TIMEOUT_MS);
    hconn_close(c);
}

static void on_connection(uv_stream_t *server, int status)
{
    dmn_http *h = server->data;
    if (status < 0)
        return;
    hconn *c = g_new0(hconn, 1);
    c->http = h;
    uv_tcp_init(h->loop, &c->tcp);
    uv_timer_init(h->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->open_handles = 2;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0 || h->closing || h->conns.length >= DMN_HTTP_CONNS) {
        if (!h->closing && h->conns.length >= DMN_HTTP_CONNS)
            dmn_node_count_bad(h->node, DMN_BAD_HTTP, "metrics http: %u connections open, refusing another",
                               h->conns.length);
        uv_close((uv_handle_t *)&c->timer, on_handle_closed);
        uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
        return;
    }
    g_queue_push_tail(&h->conns, c);
    c->link = h->conns.tail;
    uv_timer_start(&c->timer, on_timeout, DMN_HTTP_TIMEOUT_MS, 0);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_failed_server_closed(uv_handle_t *handle)
{
    dmn_http_free(handle->data);
}

dmn_http *dmn_http_new(uv_loop_t *loop, dmn_node *node, dmn_control *control, const char *address,
                       GError **err)
{
    char *host = NULL;
    int port = 0;
    if (!dmn_split_address(address, &host, &port)) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "metrics_listen: not HOST:PORT: %s", address);
        return NULL;
    }
    g_autofree char *port_s = g_strdup_printf("%d", port);
    uv_getaddrinfo_t req;
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    int rc = uv_getaddrinfo(loop, &req, NULL, host, port_s, &hints);   /* synchronous: at start only */
    g_free(host);
    if (rc < 0) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "metrics_listen %s: %s", address, uv_strerror(rc));
        return NULL;
    }
    dmn_http *h = g_new0(dmn_http, 1);
    h->loop = loop;
    h->node = node;
    h->control = control;
    g_queue_init(&h->conns);
    uv_tcp_init(loop, &h->server);
    h->server.data = h;
    rc = uv_tcp_bind(&h->server, req.addrinfo->ai_addr, 0);
    uv_freeaddrinfo(req.addrinfo);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&h->server, 16, on_connection);
    if (rc < 0) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "cannot listen on metrics_listen %s: %s", address, uv_strerror(rc));
        h->closing = true;
        uv_close((uv_handle_t *)&h->server, on_failed_server_closed);
        return NULL;
    }
    return h;
}

void dmn_http_close(dmn_http *h)
{
    if (!h || h->closing)
        return;
    h->closing = true;
    while (h->conns.head)
        hconn_close(h->conns.head->data);
    uv_close((uv_handle_t *)&h->server, NULL);
}

void dmn_http_free(dmn_http *h)
{
    g_free(h);
}
