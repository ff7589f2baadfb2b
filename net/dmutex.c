/* libdmutex: a node on a libuv loop of its own thread; application calls
 * are handed over with uv_async and answered through a GMutex/GCond. */
#include "dmutex.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>

#include <uv.h>

#include "error.h"
#include "transport.h"

G_DEFINE_QUARK(dmutex-error-quark, dmutex_error)

G_STATIC_ASSERT((int)DMUTEX_ERROR_BUSY == (int)DM_EBUSY);
G_STATIC_ASSERT((int)DMUTEX_ERROR_TIMEDOUT == (int)DM_ETIMEDOUT);
G_STATIC_ASSERT((int)DMUTEX_ERROR_PERSIST == (int)DM_EPERSIST);
G_STATIC_ASSERT((int)DMUTEX_ERROR_CANCELED == (int)DM_ECANCELED);
G_STATIC_ASSERT((int)DMUTEX_ERROR_HELD == (int)DM_EHELD);
G_STATIC_ASSERT((int)DMUTEX_MEMBER_LEFT == (int)DM_MEMBER_LEFT);

typedef enum { CALL_LOCK, CALL_UNLOCK, CALL_CANCEL, CALL_TOKEN, CALL_MEMBERS, CALL_STOP } call_kind;

typedef struct call {
    call_kind kind;
    const char *name;
    int rc;
    bool done;
    uint64_t attempt;        /* LOCK: the core attempt its outcome must carry */
    int64_t timeout_us;      /* LOCK */
    bool try_once;           /* LOCK: dmutex_trylock */
    uint64_t token;
    int64_t deadline;        /* LOCK: the lease end granted */
    dmutex_member *members;
    size_t n_members;
} call;

typedef struct subscriber {
    unsigned id;
    dmutex_callback cb;
    void *user;
} subscriber;

struct dmutex {
    dmn_config cfg;
    uv_loop_t loop;
    uv_async_t async;
    dmn_node *node;
    GThread *thread;
    GMutex mu;
    GCond cond;
    GQueue calls;            /* call*, under mu */
    GHashTable *pending;     /* name -> LOCK call waiting for its outcome (loop thread) */
    GArray *subs;            /* subscriber, under mu */
    unsigned next_sub;
    bool stopping;           /* loop thread */
};

static void complete(dmutex *d, call *c, int rc)
{
    g_mutex_lock(&d->mu);
    c->rc = rc;
    c->done = true;
    g_cond_broadcast(&d->cond);
    g_mutex_unlock(&d->mu);
}

static void publish(dmutex *d, const dmutex_event *ev)
{
    g_mutex_lock(&d->mu);
    GArray *subs = g_array_copy(d->subs);
    g_mutex_unlock(&d->mu);
    for (guint i = 0; i < subs->len; i++) {
        subscriber *s = &g_array_index(subs, subscriber, i);
        s->cb(ev, s->user);
    }
    g_array_unref(subs);
}

static void on_event(void *user, const dm_event *ev)
{
    dmutex *d = user;
    dmutex_event out;
    memset(&out, 0, sizeof out);
    switch (ev->type) {
    case DM_EV_GRANTED:
    case DM_EV_FAILED: {
        /* By attempt: an earlier attempt's FAILED may come after the next
         * attempt of the name started. */
        call *c = g_hash_table_lookup(d->pending, ev->name);
        if (!c || c->attempt != ev->attempt) {
            if (ev->type == DM_EV_GRANTED)
                dmn_node_unlock_attempt(d->node, ev->name, ev->attempt);
            return;
        }
        g_hash_table_remove(d->pending, ev->name);
        c->token = ev->token;
        c->deadline = ev->lease_until;   /* the node's clock is CLOCK_MONOTONIC, in us */
        complete(d, c, ev->type == DM_EV_GRANTED ? 0 : ev->reason);
        return;
    }
    case DM_EV_RENEWED:
        out.type = DMUTEX_EVENT_RENEWED;
        out.lock_name = ev->name;
        out.token = ev->token;
        out.deadline_us = ev->lease_until;
        publish(d, &out);
        return;
    case DM_EV_LOST:
        out.type = DMUTEX_EVENT_LOST;
        out.lock_name = ev->name;
        out.token = ev->token;
        publish(d, &out);
        return;
    case DM_EV_MEMBER: {
        dm_member_info info;
        memset(&info, 0, sizeof info);
        const dm_membership *m = dm_node_membership(dmn_node_core(d->node));
        if (m)
            dm_membership_info(m, ev->member, &info);
        out.type = DMUTEX_EVENT_MEMBER;
        out.address = dmn_node_address(d->node, ev->member);
        out.state = (dmutex_member_state)info.state;
        out.incarnation = ev->incarnation;
        out.joined = ev->member_event == DM_MEMBER_EV_JOIN;
        publish(d, &out);
        return;
    }
    case DM_EV_VIEW:
        out.type = DMUTEX_EVENT_VIEW;
        out.view_size = ev->view_size;
        publish(d, &out);
        return;
    default:
        return;
    }
}

static dmutex_member *list_members(dmutex *d, size_t *n)
{
    dm_node *core = dmn_node_core(d->node);
    const dm_membership *m = dm_node_membership(core);
    uint32_t count = dmn_node_n_members(d->node);
    dmutex_member *out = g_new0(dmutex_member, count);
    size_t k = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (!dmn_node_id_bound(d->node, i))   /* a spare id nobody was added under */
            continue;
        dm_member_info info;
        memset(&info, 0, sizeof info);
        if (m)
            dm_membership_info(m, i, &info);
        out[k].address = g_strdup(dmn_node_address(d->node, i));
        out[k].state = (dmutex_member_state)info.state;
        out[k].incarnation = i == dm_node_self(core) && m ? dm_membership_incarnation(m) : info.incarnation;
        out[k].self = i == dm_node_self(core);
        k++;
    }
    *n = k;
    return out;
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

static void on_left(void *user)
{
    dmutex *d = user;
    dmn_node_close(d->node);
    uv_close((uv_handle_t *)&d->async, on_closed);
}

static void on_async(uv_async_t *a)
{
    dmutex *d = a->data;
    for (;;) {
        g_mutex_lock(&d->mu);
        call *c = g_queue_pop_head(&d->calls);
        g_mutex_unlock(&d->mu);
        if (!c)
            return;
        if (d->stopping) {
            complete(d, c, -DM_ESHUTDOWN);
            continue;
        }
        switch (c->kind) {
        case CALL_LOCK: {
            if (g_hash_table_contains(d->pending, c->name)) {
                complete(d, c, -DM_EBUSY);
                break;
            }
            /* Registered first: the outcome may come from inside the call
             * (the attempt id is stored before it is delivered). */
            g_hash_table_insert(d->pending, (char *)c->name, c);
            int rc = c->try_once ? dmn_node_try_lock(d->node, c->name, c->timeout_us, &c->attempt)
                                 : dmn_node_lock(d->node, c->name, c->timeout_us, &c->attempt);
            if (rc < 0 && g_hash_table_lookup(d->pending, c->name) == c) {
                g_hash_table_remove(d->pending, c->name);
                complete(d, c, rc);
            }
            break;
        }
        case CALL_UNLOCK:
            complete(d, c, dmn_node_unlock(d->node, c->name));
            break;
        case CALL_CANCEL:
            complete(d, c, dmn_node_cancel(d->node, c->name));
            break;
        case CALL_TOKEN:
            c->token = dm_node_token(dmn_node_core(d->node), c->name);
            complete(d, c, 0);
            break;
        case CALL_MEMBERS:
            c->members = list_members(d, &c->n_members);
            complete(d, c, 0);
            break;
        case CALL_STOP:
            d->stopping = true;
            complete(d, c, 0);
            dmn_node_shutdown(d->node, on_left, d);
            break;
        }
    }
}

static gpointer loop_thread(gpointer user)
{
    dmutex *d = user;
    /* A write to a closed socket raises SIGPIPE in the writing thread: keep
     * it pending here (the write fails with EPIPE) instead of killing the
     * application. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    uv_run(&d->loop, UV_RUN_DEFAULT);
    return NULL;
}

static gboolean in_loop_thread(dmutex *d, GError **err)
{
    if (g_thread_self() != d->thread)
        return FALSE;
    g_set_error(err, DMUTEX_ERROR, DMUTEX_ERROR_WOULDBLOCK, "dmutex: blocking call from a dmutex callback");
    return TRUE;
}

static void run_call(dmutex *d, call *c)
{
    g_mutex_lock(&d->mu);
    g_queue_push_tail(&d->calls, c);
    g_mutex_unlock(&d->mu);
    uv_async_send(&d->async);
    g_mutex_lock(&d->mu);
    while (!c->done)
        g_cond_wait(&d->cond, &d->mu);
    g_mutex_unlock(&d->mu);
}

static gboolean set_core_error(GError **err, int rc)
{
    g_set_error(err, DMUTEX_ERROR, rc < 0 ? -rc : rc, "%s", dm_strerror(rc));
    return FALSE;
}

/* What dmutex_new_full builds around the node; the loop must have stopped. */
static void handle_free(dmutex *d)
{
    uv_loop_close(&d->loop);
    g_hash_table_destroy(d->pending);
    g_array_unref(d->subs);
    g_mutex_clear(&d->mu);
    g_cond_clear(&d->cond);
    dmn_config_clear(&d->cfg);
    g_free(d);
}

static dmutex *new_handle(const char *self_addr, const char *const *members, size_t n_members,
                          unsigned timeout_ms, const char *config_file, const char *data_dir,
                          GError **err)
{
    dmutex *d = g_new0(dmutex, 1);
    dmn_config_init(&d->cfg);
    GError *e = NULL;
    gboolean ok = !config_file || dmn_config_load_file(&d->cfg, config_file, &e);
    if (ok) {
        if (self_addr) {
            g_free(d->cfg.self);
            d->cfg.self = g_strdup(self_addr);
        }
        if (members && n_members > 0)
            dmn_config_set_members(&d->cfg, members, n_members);
        if (data_dir) {
            g_free(d->cfg.data_dir);
            d->cfg.data_dir = g_strdup(data_dir);
        }
        if (timeout_ms > 0)
            d->cfg.lock_timeout_us = (int64_t)timeout_ms * 1000;
        ok = dmn_config_finish(&d->cfg, &e);
    }
    if (ok && !d->cfg.data_dir)
        g_warning("dmutex: no data directory: this member keeps its state in memory only, so every "
                  "start is a start without persisted state (it grants nothing for a lease and until "
                  "it has recovered a token floor from the others; a member no quorum can do "
                  "without never grants again). Use dmutex_new_with_dir or data_dir in the key file");
    if (ok && uv_loop_init(&d->loop) < 0) {
        g_set_error(&e, DMUTEX_ERROR, DMUTEX_ERROR_SETUP, "cannot create an event loop");
        ok = FALSE;
    }
    if (!ok) {
        g_set_error(err, DMUTEX_ERROR, DMUTEX_ERROR_SETUP, "dmutex: %s", e->message);
        g_error_free(e);
        dmn_config_clear(&d->cfg);
        g_free(d);
        return NULL;
    }
    g_mutex_init(&d->mu);
    g_cond_init(&d->cond);
    g_queue_init(&d->calls);
    d->pending = g_hash_table_new(g_str_hash, g_str_equal);
    d->subs = g_array_new(FALSE, FALSE, sizeof(subscriber));
    d->node = dmn_node_new(&d->loop, &d->cfg, on_event, d, &e);
    if (!d->node) {
        g_set_error(err, DMUTEX_ERROR, DMUTEX_ERROR_SETUP, "dmutex: %s", e->message);
        g_error_free(e);
        uv_run(&d->loop, UV_RUN_DEFAULT);
        handle_free(d);
        return NULL;
    }
    uv_async_init(&d->loop, &d->async, on_async);
    d->async.data = d;
    d->thread = g_thread_new("dmutex", loop_thread, d);
    return d;
}

dmutex *dmutex_new_full(const char *self_addr, const char *const *members, size_t n_members,
                        unsigned timeout_ms, const char *config_file, GError **err)
{
    return new_handle(self_addr, members, n_members, timeout_ms, config_file, NULL, err);
}

dmutex *dmutex_new(const char *self_addr, const char *const *members, size_t n_members,
                   unsigned timeout_ms, GError **err)
{
    if (!self_addr || !members || n_members == 0) {
        g_set_error(err, DMUTEX_ERROR, DMUTEX_ERROR_SETUP, "dmutex: an address and a member list are needed");
        return NULL;
    }
    return dmutex_new_full(self_addr, members, n_members, timeout_ms, NULL, err);
}

dmutex *dmutex_new_with_dir(const char *self_addr, const char *const *members, size_t n_members,
                            unsigned timeout_ms, const char *data_dir, GError **err)
{
    if (!self_addr || !members || n_members == 0 || !data_dir || !*data_dir) {
        g_set_error(err, DMUTEX_ERROR, DMUTEX_ERROR_SETUP,
                    "dmutex: an address, a member list and a data directory are needed");
        return NULL;
    }
    return new_handle(self_addr, members, n_members, timeout_ms, NULL, data_dir, err);
}

static gboolean lock_for(dmutex *d, const char *name, int64_t timeout_us, bool try_once, uint64_t *token,
                         int64_t *deadline_us, GError **err)
{
    if (in_loop_thread(d, err))
        return FALSE;
    if (dm_lock_name_check(name) < 0)
        return set_core_error(err, -DM_EBADNAME);
    call c = { .kind = CALL_LOCK, .name = name, .timeout_us = timeout_us, .try_once = try_once };
    run_call(d, &c);
    if (c.rc < 0)
        return set_core_error(err, c.rc);
    if (token)
        *token = c.token;
    if (deadline_us)
        *deadline_us = c.deadline;
    return TRUE;
}

gboolean dmutex_lock(dmutex *d, const char *name, uint64_t *token, GError **err)
{
    return lock_for(d, name, d->cfg.lock_timeout_us, false, token, NULL, err);
}

gboolean dmutex_lock_lease(dmutex *d, const char *name, uint64_t *token, int64_t *deadline_us,
                           GError **err)
{
    return lock_for(d, name, d->cfg.lock_timeout_us, false, token, deadline_us, err);
}

gboolean dmutex_trylock(dmutex *d, const char *name, unsigned timeout_ms, uint64_t *token,
                        GError **err)
{
    int64_t timeout_us = timeout_ms > 0 ? (int64_t)timeout_ms * 1000 : d->cfg.lock_timeout_us;
    return lock_for(d, name, timeout_us, true, token, NULL, err);
}

gboolean dmutex_lock_timeout(dmutex *d, const char *name, unsigned timeout_ms, uint64_t *token,
                             GError **err)
{
    if (timeout_ms == 0)
        return set_core_error(err, -DM_EINVAL);
    return lock_for(d, name, (int64_t)timeout_ms * 1000, false, token, NULL, err);
}

gboolean dmutex_cancel(dmutex *d, const char *name, GError **err)
{
    if (dm_lock_name_check(name) < 0)
        return set_core_error(err, -DM_EBADNAME);
    if (g_thread_self() == d->thread) {
        /* Allowed from a callback: nothing waits for the loop, which is
         * this thread; the pending lock's FAILED comes after the callback. */
        int rc = dmn_node_cancel(d->node, name);
        return rc < 0 ? set_core_error(err, rc) : TRUE;
    }
    call c = { .kind = CALL_CANCEL, .name = name };
    run_call(d, &c);
    return c.rc < 0 ? set_core_error(err, c.rc) : TRUE;
}

gboolean dmutex_unlock(dmutex *d, const char *name, GError **err)
{
    if (in_loop_thread(d, err))
        return FALSE;
    if (dm_lock_name_check(name) < 0)
        return set_core_error(err, -DM_EBADNAME);
    call c = { .kind = CALL_UNLOCK, .name = name };
    run_call(d, &c);
    return c.rc < 0 ? set_core_error(err, c.rc) : TRUE;
}

uint64_t dmutex_token(dmutex *d, const char *name)
{
    if (in_loop_thread(d, NULL) || dm_lock_name_check(name) < 0)
        return 0;
    call c = { .kind = CALL_TOKEN, .name = name };
    run_call(d, &c);
    return c.token;
}

dmutex_member *dmutex_members(dmutex *d, size_t *n)
{
    *n = 0;
    if (in_loop_thread(d, NULL))
        return NULL;
    call c = { .kind = CALL_MEMBERS };
    run_call(d, &c);
    *n = c.n_members;
    return c.members;
}

void dmutex_members_free(dmutex_member *members, size_t n)
{
    for (size_t i = 0; members && i < n; i++)
        g_free(members[i].address);
    g_free(members);
}

unsigned dmutex_subscribe(dmutex *d, dmutex_callback cb, void *user)
{
    g_mutex_lock(&d->mu);
    subscriber s = { ++d->next_sub, cb, user };
    g_array_append_val(d->subs, s);
    g_mutex_unlock(&d->mu);
    return s.id;
}

void dmutex_unsubscribe(dmutex *d, unsigned id)
{
    g_mutex_lock(&d->mu);
    for (guint i = 0; i < d->subs->len; i++)
        if (g_array_index(d->subs, subscriber, i).id == id) {
            g_array_remove_index(d->subs, i);
            break;
        }
    g_mutex_unlock(&d->mu);
}

/* The log hook: one GLib handler per library domain, installed at the
 * first call, dispatching to whatever was set last. */
static GMutex log_mu;
static dmutex_log_func log_fn;
static void *log_user;
static GLogLevelFlags log_level = G_LOG_LEVEL_DEBUG;

static void log_dispatch(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer unused)
{
    (void)unused;
    g_mutex_lock(&log_mu);
    dmutex_log_func fn = log_fn;
    void *user = log_user;
    GLogLevelFlags max = log_level;
    g_mutex_unlock(&log_mu);
    /* GLib's levels: a lower bit is more severe. */
    if ((level & G_LOG_LEVEL_MASK) > max && !(level & G_LOG_FLAG_FATAL))
        return;
    if (fn)
        fn(level, domain, message, user);
    else
        g_log_default_handler(domain, level, message, NULL);
}

void dmutex_set_log_handler(dmutex_log_func fn, GLogLevelFlags level, void *user)
{
    static gsize installed;
    g_mutex_lock(&log_mu);
    log_fn = fn;
    log_user = user;
    GLogLevelFlags l = level & G_LOG_LEVEL_MASK;
    /* The most severe bit named, so that a mask (ERROR|WARNING) reads as its worst level. */
    log_level = l ? (GLogLevelFlags)(l & -l) : G_LOG_LEVEL_DEBUG;
    g_mutex_unlock(&log_mu);
    if (g_once_init_enter(&installed)) {
        GLogLevelFlags all = G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION;
        g_log_set_handler("dmutex-net", all, log_dispatch, NULL);
        g_log_set_handler("dmutex-core", all, log_dispatch, NULL);
        g_once_init_leave(&installed, 1);
    }
}

void dmutex_free(dmutex *d)
{
    if (!d)
        return;
    if (g_thread_self() == d->thread) {
        g_critical("dmutex_free called from a dmutex callback: ignored");
        return;
    }
    call c = { .kind = CALL_STOP };
    run_call(d, &c);
    g_thread_join(d->thread);
    dmn_node_free(d->node);
    handle_free(d);
}
