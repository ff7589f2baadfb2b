#include "control.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "error.h"
#include "json.h"
#include "message.h"
#include "metrics.h"

typedef struct session session;

typedef struct waiter {
    uv_timer_t timer;        /* first: the handle's memory is the waiter's */
    dmn_control *ctl;
    session *s;
    char *name;
    int64_t deadline;        /* node time */
    int64_t asked_at;        /* node time of the LOCK command: acquisition latency */
} waiter;

typedef enum { LE_ACQUIRING, LE_HELD } le_state;

/* A name this daemon holds or is acquiring for a session (owner NULL: the
 * session left while acquiring and the acquisition was cancelled; should it
 * have completed meanwhile, it is released as soon as granted). */
typedef struct lockent {
    char *name;
    session *owner;
    le_state state;
    uint64_t attempt;        /* the core attempt: outcomes are matched by it */
    uint64_t token;
    int64_t asked_at;        /* node time of the owner's LOCK command */
    GQueue waiters;          /* waiter*: local sessions queued for the name */
} lockent;

#define SESSION_OUT_MAX (1u << 20)   /* bytes queued for a client that does not read */

struct session {
    uv_pipe_t pipe;          /* first */
    dmn_control *ctl;
    GList *link;
    bool closing;
    bool doomed;             /* over SESSION_OUT_MAX: closed from the reaper */
    size_t fill;
    char line[DMN_CONTROL_LINE_MAX + 1];
};

struct dmn_control {
    uv_loop_t *loop;
    dmn_node *node;
    uv_pipe_t server;
    uv_idle_t reaper;        /* closes doomed sessions outside any callback chain */
    bool server_open;
    bool closing;
    char *path;
    uint32_t max_sessions;
    GQueue sessions;
    GHashTable *locks;       /* name -> lockent */
    dmn_histogram latency;   /* LOCK command to OK, granted ones */
    session *changer;        /* waits for the outcome of its MEMBERS ADD/REMOVE */
    /* No node yet (dmn_control_new_joining): what answers STATUS, and the
     * refusal of everything else. */
    dmn_control_status_fn joining_status;
    void *joining_user;
    char *refusal;
};

/* Bad input is the node's to count; a joining socket has no node yet. */
#define COUNT_BAD(c, ...)                                   \
    do {                                                    \
        if ((c)->node)                                      \
            dmn_node_count_bad((c)->node, __VA_ARGS__);     \
    } while (0)

typedef struct write_req {
    uv_write_t req;
    size_t len;
    char data[];
} write_req;

/* ------------------------------------------------------------ output */

static void on_written(uv_write_t *req, int status)
{
    (void)status;
    g_free(req);
}

static void session_doom(session *s);

static void session_write(session *s, const char *text, size_t len)
{
    if (s->closing || s->doomed || len == 0)
        return;
    if (uv_stream_get_write_queue_size((uv_stream_t *)&s->pipe) + len > SESSION_OUT_MAX) {
        session_doom(s);
        return;
    }
    uv_buf_t b = uv_buf_init((char *)text, (unsigned)len);
    int w = uv_try_write((uv_stream_t *)&s->pipe, &b, 1);
    if (w == UV_EAGAIN)
        w = 0;
    if (w < 0)
        return;   /* the read side will see the error and close */
    if ((size_t)w == len)
        return;
    write_req *r = g_malloc(sizeof *r + len - (size_t)w);
    r->len = len - (size_t)w;
    memcpy(r->data, text + w, r->len);
    b = uv_buf_init(r->data, (unsigned)r->len);
    if (uv_write(&r->req, (uv_stream_t *)&s->pipe, &b, 1, on_written) < 0)
        g_free(r);
}

static void G_GNUC_PRINTF(2, 3) reply(session *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *line = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    GString *g = g_string_new(line);
    g_free(line);
    g_string_append_c(g, '\n');
    session_write(s, g->str, g->len);
    g_string_free(g, TRUE);
}

static const char *code_name(int rc)
{
    const char *n = dm_error_name(rc);
    return g_str_has_prefix(n, "DM_") ? n + 3 : n;
}

static void reply_err(session *s, int rc)
{
    reply(s, "ERR %s %s", code_name(rc), dm_strerror(rc));
}

/* ------------------------------------------------------------ locks */

static void lockent_free(gpointer p)
{
    lockent *le = p;
    g_free(le->name);
    g_queue_clear(&le->waiters);
    g_free(le);
}

static void on_waiter_closed(uv_handle_t *h)
{
    waiter *w = (waiter *)h;
    g_free(w->name);
    g_free(w);
}

static void waiter_drop(waiter *w)
{
    uv_close((uv_handle_t *)&w->timer, on_waiter_closed);
}

static lockent *lockent_new(dmn_control *c, session *s, const char *name, int64_t asked_at)
{
    lockent *le = g_new0(lockent, 1);
    le->asked_at = asked_at;
    le->name = g_strdup(name);
    le->owner = s;
    le->state = LE_ACQUIRING;
    g_queue_init(&le->waiters);
    g_hash_table_insert(c->locks, le->name, le);
    return le;
}

/* Start the core's acquisition of `name` for s. The entry exists before the
 * call, since the outcome may be delivered from inside it; the attempt id
 * is stored in it before that. */
static int start_lock(dmn_control *c, session *s, const char *name, int64_t timeout_us, GQueue *waiters,
                      int64_t asked_at, bool try_once)
{
    lockent *le = lockent_new(c, s, name, asked_at);
    if (waiters) {
        le->waiters = *waiters;
        g_queue_init(waiters);
    }
    int rc = try_once ? dmn_node_try_lock(c->node, name, timeout_us, &le->attempt)
                      : dmn_node_lock(c->node, name, timeout_us, &le->attempt);
    if (rc < 0) {
        le = g_hash_table_lookup(c->locks, name);
        if (le && waiters) {
            *waiters = le->waiters;
            g_queue_init(&le->waiters);
        }
        g_hash_table_remove(c->locks, name);
    }
    return rc;
}

/* The name's attempt is over: hand it to the next local waiter. */
static void lockent_finish(dmn_control *c, lockent *le)
{
    GQueue waiters = le->waiters;
    g_queue_init(&le->waiters);
    char *name = g_strdup(le->name);
    g_hash_table_remove(c->locks, name);
    if (c->closing) {
        while (!g_queue_is_empty(&waiters))
            waiter_drop(g_queue_pop_head(&waiters));
        g_free(name);
        return;
    }
    waiter *w;
    while ((w = g_queue_pop_head(&waiters)) != NULL) {
        session *s = w->s;
        int64_t left = w->deadline - dmn_node_now(c->node);
        uv_timer_stop(&w->timer);
        waiter_drop(w);
        if (left <= 0) {
            reply_err(s, -DM_ETIMEDOUT);
            continue;
        }
        int rc = start_lock(c, s, name, left, &waiters, w->asked_at, false);
        if (rc == 0)
            break;
        reply_err(s, rc);
    }
    g_free(name);
}

static void on_waiter_timeout(uv_timer_t *t)
{
    waiter *w = (waiter *)t;
    lockent *le = g_hash_table_lookup(w->ctl->locks, w->name);
    if (le)
        g_queue_remove(&le->waiters, w);
    reply_err(w->s, -DM_ETIMEDOUT);
    waiter_drop(w);
}

void dmn_control_event(dmn_control *c, const dm_event *ev)
{
    if (ev->type == DM_EV_RECONFIG) {
        session *s = c->changer;
        c->changer = NULL;
        if (s && ev->reason == 0)
            reply(s, "OK epoch %" G_GUINT64_FORMAT " members %u", ev->epoch, ev->view_size);
        else if (s && ev->reason == -DM_ETIMEDOUT)
            reply(s, "ERR ETIMEDOUT no quorum of the configuration of epoch %" G_GUINT64_FORMAT
                  " agreed in time (too few of its members reachable)", ev->epoch);
        else if (s && ev->reason == -DM_EBUSY)
            reply(s, "ERR EBUSY another change took epoch %" G_GUINT64_FORMAT
                  " first: look at `members` and ask again", ev->epoch);
        else if (s)
            reply_err(s, ev->reason);
        return;
    }
    if (!ev->name || (ev->type != DM_EV_GRANTED && ev->type != DM_EV_FAILED && ev->type != DM_EV_LOST &&
                      ev->type != DM_EV_RENEWED))
        return;
    /* By attempt, not by name: an earlier attempt's FAILED can be delivered
     * after the name's next attempt started (issue 9). */
    lockent *le = g_hash_table_lookup(c->locks, ev->name);
    if (!le || le->attempt != ev->attempt) {
        if (ev->type == DM_EV_RENEWED)
            return;
        if (ev->type == DM_EV_GRANTED)
            dmn_node_unlock_attempt(c->node, ev->name, ev->attempt);   /* nobody asked for it (any more) */
        else
            g_debug("control: %s of %s (attempt %" G_GINT64_MODIFIER "x) belongs to no current request: ignored",
                    ev->type == DM_EV_FAILED ? "FAILED" : "LOST", ev->name, ev->attempt);
        return;
    }
    switch (ev->type) {
    case DM_EV_GRANTED:
        if (!le->owner || le->owner->closing || c->closing) {
            dmn_node_unlock_attempt(c->node, ev->name, ev->attempt);
            lockent_finish(c, le);
            return;
        }
        le->state = LE_HELD;
        le->token = ev->token;
        dmn_histogram_observe(&c->latency, dmn_node_now(c->node) - le->asked_at);
        /* lease_ms for older clients; deadline_us (CLOCK_MONOTONIC, which
         * the node's clock is) is what a client should enforce: it stays
         * right however late this line is written or read. */
        reply(le->owner, "OK %" G_GUINT64_FORMAT " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT,
              ev->token, MAX(0, (ev->lease_until - dmn_node_now(c->node)) / 1000), ev->lease_until,
              dm_config_lost_margin(dm_node_config(dmn_node_core(c->node))) / 1000);
        return;
    case DM_EV_RENEWED:
        if (le->owner && le->state == LE_HELD)
            reply(le->owner, "! RENEWED %s %" G_GUINT64_FORMAT " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT,
                  ev->name, ev->token, MAX(0, (ev->lease_until - dmn_node_now(c->node)) / 1000),
                  ev->lease_until);
        return;
    case DM_EV_FAILED:
        if (le->owner)
            reply_err(le->owner, ev->reason);
        lockent_finish(c, le);
        return;
    case DM_EV_LOST:
        if (le->owner)
            reply(le->owner, "! LOST %s %" G_GUINT64_FORMAT " %s", ev->name, ev->token, code_name(ev->reason));
        lockent_finish(c, le);
        return;
    default:
        return;
    }
}

/* ------------------------------------------------------------ commands */

static bool parse_timeout(const char *s, int64_t *ms)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v <= 0 || v > DMN_CONTROL_TIMEOUT_MAX_MS)
        return false;
    *ms = v;
    return true;
}

/* LOCK, and TRYLOCK (try_once): the same path but for EHELD, which the core
 * answers when a holder elsewhere has the name, and this function when
 * another session here holds or acquires it. A try does not join the local
 * queue: all it could get there is a wait for that session's whole hold
 * (or its timeout, when a holder elsewhere keeps it waiting). */
static void cmd_lock(session *s, char **argv, int argc, bool try_once)
{
    dmn_control *c = s->ctl;
    const char *cmd = try_once ? "TRYLOCK" : "LOCK";
    int64_t ms;
    if (argc != 3 || !parse_timeout(argv[2], &ms)) {
        dmn_node_count_bad(c->node, DMN_BAD_CONTROL, "control: bad %s arguments", cmd);
        reply(s, "ERR EPROTO usage: %s name timeout_ms (1..%lld)", cmd, DMN_CONTROL_TIMEOUT_MAX_MS);
        return;
    }
    const char *name = argv[1];
    if (dm_lock_name_check(name) < 0) {
        reply_err(s, -DM_EBADNAME);
        return;
    }
    lockent *le = g_hash_table_lookup(c->locks, name);
    if (le) {
        bool mine = le->owner == s;
        for (GList *l = le->waiters.head; l && !mine; l = l->next)
            mine = ((waiter *)l->data)->s == s;
        if (mine) {
            reply(s, "ERR EBUSY this session already holds or is acquiring %s", name);
            return;
        }
        if (try_once) {
            reply(s, "ERR EHELD %s is %s by another session of this daemon", name,
                  le->state == LE_HELD ? "held" : "being acquired");
            return;
        }
        waiter *w = g_new0(waiter, 1);
        w->ctl = c;
        w->s = s;
        w->name = g_strdup(name);
        w->asked_at = dmn_node_now(c->node);
        w->deadline = w->asked_at + ms * 1000;
        uv_timer_init(c->loop, &w->timer);
        uv_timer_start(&w->timer, on_waiter_timeout, (uint64_t)ms, 0);
        g_queue_push_tail(&le->waiters, w);
        return;
    }
    int rc = start_lock(c, s, name, ms * 1000, NULL, dmn_node_now(c->node), try_once);
    if (rc < 0)
        reply_err(s, rc);
}

static void cmd_unlock(session *s, char **argv, int argc)
{
    dmn_control *c = s->ctl;
    if (argc != 2) {
        dmn_node_count_bad(c->node, DMN_BAD_CONTROL, "control: bad UNLOCK arguments");
        reply(s, "ERR EPROTO usage: UNLOCK name");
        return;
    }
    const char *name = argv[1];
    if (dm_lock_name_check(name) < 0) {
        reply_err(s, -DM_EBADNAME);
        return;
    }
    lockent *le = g_hash_table_lookup(c->locks, name);
    if (!le || le->state != LE_HELD) {
        reply(s, "ERR ENOTHELD %s is not held here%s", name, le ? " (still being acquired)" : "");
        return;
    }
    int rc = dmn_node_unlock_attempt(c->node, name, le->attempt);
    le = g_hash_table_lookup(c->locks, name);   /* the call may have ended it */
    if (le && le->owner && le->owner != s)
        reply(le->owner, "! UNLOCKED %s %" G_GUINT64_FORMAT, name, le->token);
    if (le)
        lockent_finish(c, le);
    if (rc < 0)
        reply_err(s, rc);
    else
        reply(s, "OK");
}

/* Sessions, names and queued waiters of the control socket. */
static void control_counts(dmn_control *c, guint *names, guint *waiting)
{
    *waiting = 0;
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, c->locks);
    while (g_hash_table_iter_next(&it, NULL, &v))
        *waiting += ((lockent *)v)->waiters.length;
    *names = g_hash_table_size(c->locks);
}

/* STATUS [name]: with a name, the `quorum` line is that name's. */
static void cmd_status(session *s, const char *name)
{
    dmn_control *c = s->ctl;
    GString *out = g_string_new(NULL);
    dmn_node_format_status(c->node, name, out);
    guint names, waiting;
    control_counts(c, &names, &waiting);
    g_string_append_printf(out, "control sessions=%u names=%u waiting=%u\nOK\n", c->sessions.length, names,
                           waiting);
    session_write(s, out->str, out->len);
    g_string_free(out, TRUE);
}

/* JSON STATUS [name], JSON MEMBERS: the JSON document's lines, then OK. */
#define JSON_SCHEMA_VERSION 1

static void cmd_json(session *s, char **argv, int argc)
{
    dmn_control *c = s->ctl;
    char *what = argc >= 2 ? g_ascii_strup(argv[1], -1) : g_strdup("");
    bool status = strcmp(what, "STATUS") == 0 && argc <= 3;
    bool members = strcmp(what, "MEMBERS") == 0 && argc == 2;
    g_free(what);
    if (!status && !members) {
        dmn_node_count_bad(c->node, DMN_BAD_CONTROL, "control: bad JSON arguments");
        reply(s, "ERR EPROTO usage: JSON STATUS [name] | JSON MEMBERS");
        return;
    }
    GString *out = g_string_new(NULL);
    dmn_json w;
    dmn_json_init(&w, out);
    dmn_json_begin_object(&w, NULL);
    dmn_json_uint(&w, "schema_version", JSON_SCHEMA_VERSION);
    if (status) {
        dmn_node_status_json(c->node, argv[2], &w);
        guint names, waiting;
        control_counts(c, &names, &waiting);
        dmn_json_begin_object(&w, "control");
        dmn_json_uint(&w, "sessions", c->sessions.length);
        dmn_json_uint(&w, "names", names);
        dmn_json_uint(&w, "waiting", waiting);
        dmn_json_end_object(&w);
    } else {
        dmn_node_members_json(c->node, &w);
    }
    dmn_json_end_object(&w);
    g_string_append(out, "\nOK\n");
    session_write(s, out->str, out->len);
    g_string_free(out, TRUE);
}

void dmn_control_format_metrics(dmn_node *n, dmn_control *c, GString *out)
{
    dmn_node_format_metrics(n, out);
    if (!c)
        return;
    guint names, waiting;
    control_counts(c, &names, &waiting);
    dmn_prom_gauge(out, "dmutex_control_sessions", "Control sessions open.", c->sessions.length);
    dmn_prom_gauge(out, "dmutex_control_names", "Lock names held or being acquired through the control socket.", names);
    dmn_prom_gauge(out, "dmutex_control_waiting", "Control sessions queued behind another session of this daemon.",
                   waiting);
    dmn_histogram_write(&c->latency, out, "dmutex_lock_acquire_seconds",
                        "Time from a LOCK or TRYLOCK command to its grant (granted requests only).");
}

/* METRICS: the Prometheus text format's lines, then OK. */
static void cmd_metrics(session *s)
{
    GString *out = g_string_new(NULL);
    dmn_control_format_metrics(s->ctl->node, s->ctl, out);
    g_string_append(out, "OK\n");
    session_write(s, out->str, out->len);
    g_string_free(out, TRUE);
}

/* MEMBERS ADD|REMOVE HOST:PORT: answered when the change ends. */
static void cmd_change_members(session *s, const char *op, const char *address)
{
    dmn_control *c = s->ctl;
    bool add = g_ascii_strcasecmp(op, "ADD") == 0;
    if (!add && g_ascii_strcasecmp(op, "REMOVE") != 0) {
        reply(s, "ERR EPROTO MEMBERS takes ADD or REMOVE, not %s", op);
        return;
    }
    if (c->changer) {
        reply(s, "ERR EBUSY a change asked for here is in progress");
        return;
    }
    int rc = dmn_node_change_members(c->node, address, add);
    switch (-rc) {
    case 0:
        c->changer = s;
        break;
    case DM_EPEER:
        reply(s, "ERR EPEER %s is no member this node knows (--members or added); only policy "
              "epoch adds new addresses", address);
        break;
    case DM_EINVAL:
        reply(s, "ERR EINVAL %s %s in the configuration, or the policy is not epoch", address,
              add ? "is already" : "is not");
        break;
    case DM_EBUSY:
        reply(s, "ERR EBUSY a change of configuration is in progress: try again shortly");
        break;
    case DM_ETOOFEW:
        reply(s, "ERR ETOOFEW removing %s would leave fewer than reconfig_min_size members",
              address);
        break;
    case DM_ENOMEM:
        reply(s, "ERR ENOMEM no spare member id is left for %s (max_members)", address);
        break;
    default:
        reply_err(s, rc);
    }
}

static void cmd_members(session *s)
{
    GString *out = g_string_new(NULL);
    dmn_node_format_members(s->ctl->node, out);
    g_string_append(out, "OK\n");
    session_write(s, out->str, out->len);
    g_string_free(out, TRUE);
}

/* A joining socket's commands: STATUS, JSON STATUS [name]; nothing else. */
static void joining_command(session *s, const char *cmd, char **argv, int argc)
{
    dmn_control *c = s->ctl;
    gboolean json = strcmp(cmd, "JSON") == 0 && argc >= 2 && argc <= 3 &&
                    g_ascii_strcasecmp(argv[1], "STATUS") == 0;
    if (!json && !(strcmp(cmd, "STATUS") == 0 && argc <= 2)) {
        reply(s, "ERR ENOTMEMBER %s", c->refusal);
        return;
    }
    GString *out = g_string_new(NULL);
    c->joining_status(c->joining_user, json, out);
    g_string_append(out, "OK\n");
    session_write(s, out->str, out->len);
    g_string_free(out, TRUE);
}

static void handle_line(session *s, char *line)
{
    dmn_control *c = s->ctl;
    size_t len = strlen(line);
    if (len > 0 && line[len - 1] == '\r')
        line[--len] = '\0';
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)line[i] < 0x20 && line[i] != '\t') {
            COUNT_BAD(c, DMN_BAD_CONTROL, "control: control characters in a command");
            reply(s, "ERR EPROTO control characters in the command");
            return;
        }
    char **argv = g_strsplit_set(line, " \t", -1);
    int argc = 0;
    for (char **p = argv; *p; p++)
        if (**p)
            argv[argc++] = *p;
        else
            g_free(*p);
    argv[argc] = NULL;
    if (argc == 0) {
        g_free(argv);
        return;
    }
    char *cmd = g_ascii_strup(argv[0], -1);
    if (!c->node)
        joining_command(s, cmd, argv, argc);
    else if (strcmp(cmd, "LOCK") == 0)
        cmd_lock(s, argv, argc, false);
    else if (strcmp(cmd, "TRYLOCK") == 0)
        cmd_lock(s, argv, argc, true);
    else if (strcmp(cmd, "UNLOCK") == 0)
        cmd_unlock(s, argv, argc);
    else if (strcmp(cmd, "STATUS") == 0 && argc <= 2)
        cmd_status(s, argv[1]);
    else if (strcmp(cmd, "MEMBERS") == 0 && argc == 1)
        cmd_members(s);
    else if (strcmp(cmd, "MEMBERS") == 0 && argc == 3)
        cmd_change_members(s, argv[1], argv[2]);
    else if (strcmp(cmd, "JSON") == 0)
        cmd_json(s, argv, argc);
    else if (strcmp(cmd, "METRICS") == 0 && argc == 1)
        cmd_metrics(s);
    else {
        dmn_node_count_bad(c->node, DMN_BAD_CONTROL, "control: unknown command");
        reply(s, "ERR EPROTO unknown command (LOCK name timeout_ms | TRYLOCK name timeout_ms | UNLOCK name | STATUS [name] | "
                 "MEMBERS [ADD|REMOVE HOST:PORT] | JSON STATUS [name] | JSON MEMBERS | METRICS)");
    }
    g_free(cmd);
    g_strfreev(argv);
}

/* ------------------------------------------------------------ sessions */

static void on_session_closed(uv_handle_t *h)
{
    g_free(h->data);
}

/* Release what the session holds, abandon what it acquires, drop its waits. */
static void session_release(session *s)
{
    dmn_control *c = s->ctl;
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, c->locks);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        lockent *le = v;
        for (GList *l = le->waiters.head; l;) {
            GList *next = l->next;
            waiter *w = l->data;
            if (w->s == s) {
                g_queue_delete_link(&le->waiters, l);
                uv_timer_stop(&w->timer);
                waiter_drop(w);
            }
            l = next;
        }
        if (le->owner == s)
            g_ptr_array_add(names, g_strdup(le->name));
    }
    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        lockent *le = g_hash_table_lookup(c->locks, name);
        if (!le || le->owner != s)
            continue;
        if (le->state == LE_HELD) {
            g_info("control: session ended: releasing %s", name);
            dmn_node_unlock_attempt(c->node, name, le->attempt);
            le = g_hash_table_lookup(c->locks, name);
            if (le)
                lockent_finish(c, le);
        } else {
            /* Nobody wants it any more: abandon the acquisition, so that its
             * FAILED hands the name to the next local waiter at once. If it
             * completed meanwhile, the GRANTED finds no owner and releases. */
            g_info("control: session ended: abandoning the acquisition of %s", name);
            le->owner = NULL;
            dmn_node_cancel(c->node, name);
        }
    }
    g_ptr_array_unref(names);
}

static void session_close(session *s)
{
    if (s->closing)
        return;
    session_release(s);
    if (s->ctl->changer == s)
        s->ctl->changer = NULL;   /* the change goes on; nobody waits for its outcome */
    s->closing = true;
    g_queue_delete_link(&s->ctl->sessions, s->link);
    uv_close((uv_handle_t *)&s->pipe, on_session_closed);
}

static void on_reap(uv_idle_t *idle)
{
    dmn_control *c = idle->data;
    uv_idle_stop(idle);
    for (GList *l = c->sessions.head; l;) {
        GList *next = l->next;
        session *s = l->data;
        if (s->doomed)
            session_close(s);
        l = next;
    }
}

/* A client that does not read its answers: drop it soon (its locks are
 * released like any session's). */
static void session_doom(session *s)
{
    dmn_control *c = s->ctl;
    s->doomed = true;
    COUNT_BAD(c, DMN_BAD_CONTROL, "control: a client does not read its answers; closing it");
    if (!c->closing)
        uv_idle_start(&c->reaper, on_reap);
}

static void on_session_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    session *s = h->data;
    buf->base = s->line + s->fill;
    buf->len = DMN_CONTROL_LINE_MAX - s->fill;
}

static void on_session_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    session *s = st->data;
    if (s->closing || s->doomed)
        return;
    if (nread < 0) {
        session_close(s);
        return;
    }
    s->fill += (size_t)nread;
    size_t start = 0;
    for (size_t i = 0; i < s->fill && !s->closing; i++) {
        if (s->line[i] != '\n')
            continue;
        s->line[i] = '\0';
        handle_line(s, s->line + start);
        start = i + 1;
    }
    if (s->closing)
        return;
    memmove(s->line, s->line + start, s->fill - start);
    s->fill -= start;
    if (s->fill >= DMN_CONTROL_LINE_MAX) {
        COUNT_BAD(s->ctl, DMN_BAD_CONTROL, "control: command line too long");
        reply(s, "ERR EPROTO line longer than %d bytes", DMN_CONTROL_LINE_MAX);
        session_close(s);
    }
}

static void on_control_connection(uv_stream_t *server, int status)
{
    dmn_control *c = server->data;
    if (status < 0)
        return;
    session *s = g_new0(session, 1);
    s->ctl = c;
    uv_pipe_init(c->loop, &s->pipe, 0);
    s->pipe.data = s;
    if (uv_accept(server, (uv_stream_t *)&s->pipe) < 0 || c->closing) {
        s->closing = true;
        uv_close((uv_handle_t *)&s->pipe, on_session_closed);
        return;
    }
    if (c->sessions.length >= c->max_sessions) {
        COUNT_BAD(c, DMN_BAD_CONN_LIMIT, "control: %u sessions, refusing another", c->sessions.length);
        s->closing = true;
        uv_close((uv_handle_t *)&s->pipe, on_session_closed);
        return;
    }
    g_queue_push_tail(&c->sessions, s);
    s->link = c->sessions.tail;
    uv_read_start((uv_stream_t *)&s->pipe, on_session_alloc, on_session_read);
}

/* ------------------------------------------------------------ lifecycle */

/* Is a daemon answering on path already? */
static bool socket_in_use(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    g_strlcpy(sa.sun_path, path, sizeof sa.sun_path);
    bool used = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return used;
}

void dmn_control_free(dmn_control *c);

static void on_failed_server_closed(uv_handle_t *h)
{
    dmn_control_free(h->data);
}

gboolean dmn_control_listen(uv_pipe_t *server, const char *path, uv_connection_cb on_connection,
                            GError **err)
{
    struct sockaddr_un sa;
    if (strlen(path) >= sizeof sa.sun_path) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "control socket path too long (at most %zu bytes): %s",
                    sizeof sa.sun_path - 1, path);
        return FALSE;
    }
    struct stat st;
    if (stat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            g_set_error(err, DMN_CONFIG_ERROR, 0, "%s exists and is not a socket", path);
            return FALSE;
        }
        if (socket_in_use(path)) {
            g_set_error(err, DMN_CONFIG_ERROR, 0, "%s: another daemon is listening there", path);
            return FALSE;
        }
        unlink(path);
    }
    mode_t old = umask(0077);
    int rc = uv_pipe_bind(server, path);
    umask(old);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)server, 64, on_connection);
    if (rc < 0) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "cannot listen on control socket %s: %s", path, uv_strerror(rc));
        return FALSE;
    }
    return TRUE;
}

dmn_control *dmn_control_new(uv_loop_t *loop, dmn_node *node, const char *path, uint32_t max_sessions,
                             GError **err)
{
    dmn_control *c = g_new0(dmn_control, 1);
    c->loop = loop;
    c->node = node;
    c->path = g_strdup(path);
    c->max_sessions = max_sessions ? max_sessions : 256;
    g_queue_init(&c->sessions);
    c->locks = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, lockent_free);
    uv_pipe_init(loop, &c->server, 0);
    c->server.data = c;
    c->server_open = true;
    uv_idle_init(loop, &c->reaper);
    c->reaper.data = c;
    if (!dmn_control_listen(&c->server, path, on_control_connection, err)) {
        /* Not ours to remove: another daemon's, or nothing we bound. */
        c->path[0] = '\0';
        c->closing = true;
        uv_close((uv_handle_t *)&c->reaper, NULL);
        uv_close((uv_handle_t *)&c->server, on_failed_server_closed);
        return NULL;
    }
    return c;
}

dmn_control *dmn_control_new_joining(uv_loop_t *loop, const char *path, uint32_t max_sessions,
                                     dmn_control_status_fn status, void *user, const char *refusal,
                                     GError **err)
{
    dmn_control *c = dmn_control_new(loop, NULL, path, max_sessions, err);
    if (c) {
        c->joining_status = status;
        c->joining_user = user;
        c->refusal = g_strdup(refusal);
    }
    return c;
}

static void on_server_closed(uv_handle_t *h)
{
    (void)h;
}

void dmn_control_close(dmn_control *c)
{
    if (c->closing)
        return;
    c->closing = true;
    /* Tell every holder before its session goes. */
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, c->locks);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        lockent *le = v;
        if (le->owner && le->state == LE_HELD)
            reply(le->owner, "! LOST %s %" G_GUINT64_FORMAT " ESHUTDOWN", le->name, le->token);
    }
    while (c->sessions.head)
        session_close(c->sessions.head->data);
    uv_close((uv_handle_t *)&c->reaper, NULL);
    if (c->server_open)
        uv_close((uv_handle_t *)&c->server, on_server_closed);
    if (c->path[0])
        unlink(c->path);
}

void dmn_control_free(dmn_control *c)
{
    if (!c)
        return;
    g_hash_table_destroy(c->locks);
    g_free(c->refusal);
    g_free(c->path);
    g_free(c);
}
