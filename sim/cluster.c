/* dmutex simulator: the cluster fixture for tests (cluster.h).
 *
 * A thin layer over the world's stepping API (world.h): the world keeps the
 * one event loop, the nodes, the network and the checker; the fixture owns
 * every node's tap, through which it logs events, counts messages, checks
 * the core's contract, and plays the application of the locks a test takes
 * by hand -- feeding their holds to the checker exactly as the world's own
 * clients do for the workload's locks -- before handing each message and
 * event on to the test's own tap.
 */
#include "cluster.h"

#include <string.h>

#include "error.h"

typedef struct cl_node {
    dm_cluster *c;
    uint32_t id;
    GArray *events;              /* dm_cluster_event */
    const dm_world_tap *tap;     /* the test's */
    void *tap_user;
} cl_node;

struct dm_cluster {
    dm_sim_config cfg;
    dm_world *w;
    uint32_t n;
    cl_node *nodes;
    uint64_t *sent;              /* [from][to][type] */
    uint64_t contract_errors;
};

static uint64_t *sent_at(const dm_cluster *c, uint32_t from, uint32_t to, int type)
{
    return &c->sent[((size_t)from * c->n + to) * DM_MSG_TYPE_COUNT + (size_t)type];
}

static void contract_error(dm_cluster *c, uint32_t node, const char *what)
{
    c->contract_errors++;
    g_warning("cluster: node %u broke the core's contract: %s", node, what);
}

/* ---------------------------------------------------------------- taps */

static bool tap_send(void *user, uint32_t node, dm_msg *m)
{
    cl_node *cn = user;
    dm_cluster *c = cn->c;
    if (m->from != node)
        contract_error(c, node, "sent a message in another member's name");
    if (m->to < c->n && m->type < DM_MSG_TYPE_COUNT)
        (*sent_at(c, node, m->to, m->type))++;
    return !cn->tap || !cn->tap->send || cn->tap->send(cn->tap_user, node, m);
}

static bool tap_receive(void *user, uint32_t node, dm_msg *m)
{
    cl_node *cn = user;
    return !cn->tap || !cn->tap->receive || cn->tap->receive(cn->tap_user, node, m);
}

/* A lock of the world's workload: its clients play the application. */
static bool workload_lock(const dm_cluster *c, const char *name)
{
    if (c->cfg.interarrival_us <= 0 || strncmp(name, "lock", 4) != 0)
        return false;
    char *end = NULL;
    guint64 l = g_ascii_strtoull(name + 4, &end, 10);
    return end != name + 4 && *end == '\0' && l < c->cfg.locks;
}

/* The application of a lock the test took: the checker hears of its holds. */
static void manual_outcome(dm_cluster *c, uint32_t node, const dm_cluster_event *e)
{
    dm_checker *chk = dm_world_checker(c->w);
    switch (e->type) {
    case DM_EV_GRANTED:
        dm_checker_hold_begin(chk, e->at, node, e->name, e->token, e->lease_until);
        dm_checker_write(chk, e->at, node, e->name, e->token);
        break;
    case DM_EV_RENEWED:
        dm_checker_hold_extend(chk, e->at, node, e->name, e->lease_until);
        break;
    case DM_EV_LOST:
        dm_checker_hold_lost(chk, e->at, node, e->name);
        break;
    default:
        break;
    }
}

static bool tap_notify(void *user, uint32_t node, dm_event *ev)
{
    cl_node *cn = user;
    dm_cluster *c = cn->c;
    /* An arbiter's account is no application's: it goes on to the world's
     * lock-delay check whatever the lock. */
    bool lock_event = ev->type != DM_EV_MEMBER && ev->type != DM_EV_VIEW && ev->type != DM_EV_EPOCH &&
                      ev->type != DM_EV_RECONFIG && ev->type != DM_EV_ARBITER;
    dm_cluster_event e = {
        .at = dm_world_now(c->w),
        .type = ev->type,
        .name = lock_event && ev->name ? g_intern_string(ev->name) : NULL,
        .attempt = ev->attempt,
        .token = ev->token,
        .lease_until = ev->type == DM_EV_GRANTED || ev->type == DM_EV_RENEWED
                           ? dm_world_global(c->w, node, ev->lease_until) : 0,
        .reason = ev->reason,
        .member = ev->member,
        .member_event = ev->member_event,
    };
    g_array_append_val(cn->events, e);
    dm_node *core = dm_world_node(c->w, node);
    if (ev->type == DM_EV_GRANTED && ev->lease_until <= dm_world_local_now(c->w, node))
        contract_error(c, node, "GRANTED with a lease already over");
    if (ev->type == DM_EV_MEMBER && (ev->member >= c->n || ev->member == node))
        contract_error(c, node, "a member event about itself or a non-member");
    if (ev->type == DM_EV_VIEW && core && dm_node_membership(core) &&
        ev->view_hash != dm_membership_view_hash(dm_node_membership(core)))
        contract_error(c, node, "a view event whose hash is not its view's");
    if (lock_event && !e.name)
        contract_error(c, node, "a lock event without a name");
    bool pass = !cn->tap || !cn->tap->notify || cn->tap->notify(cn->tap_user, node, ev);
    if (!lock_event || !e.name || workload_lock(c, e.name))
        return pass;
    if (pass)
        manual_outcome(c, node, &e);
    return false;   /* the world's clients know nothing of this lock */
}

static const dm_world_tap fixture_tap = { tap_receive, tap_notify, tap_send };

/* ---------------------------------------------------------------- setup */

void dm_cluster_config(dm_sim_config *cfg, uint32_t nodes)
{
    dm_sim_config_defaults(cfg);
    cfg->nodes = nodes;
    cfg->duration_us = INT64_MAX / 4;   /* the fault phase never ends */
    cfg->core.lease_us = 2 * G_USEC_PER_SEC;
    cfg->core.rpc_timeout_us = 200 * 1000;
    cfg->core.suspect_us = 2 * G_USEC_PER_SEC;
    cfg->core.drift_ppm = 10000;
    cfg->core.membership = false;
    cfg->clock_drift_ppm = 0;
    cfg->clock_offset_us = 0;
    cfg->net.latency_us = 1000;
    cfg->net.jitter_us = 0;
    cfg->net.link_spread = 0;
    cfg->net.loss = cfg->net.dup = cfg->net.reorder = 0;
    cfg->load = 0;
    cfg->interarrival_us = 0;
    cfg->mode = DM_FAULTS_NONE;
}

dm_cluster *dm_cluster_new(const dm_sim_config *cfg, GError **err)
{
    if (cfg->mode != DM_FAULTS_NONE) {
        g_set_error(err, DM_SIM_ERROR, DM_SIM_ERROR_CONFIG,
                    "cluster: [faults] mode must be none: the test applies the faults");
        return NULL;
    }
    dm_cluster *c = g_new0(dm_cluster, 1);
    if (!dm_sim_config_resolve(cfg, cfg->seed, &c->cfg, err)) {
        g_prefix_error(err, "cluster: ");
        g_free(c);
        return NULL;
    }
    c->n = c->cfg.nodes;
    c->sent = g_new0(uint64_t, (size_t)c->n * c->n * DM_MSG_TYPE_COUNT);
    c->nodes = g_new0(cl_node, c->n);
    c->w = dm_world_new(&c->cfg);
    for (uint32_t i = 0; i < c->n; i++) {
        cl_node *cn = &c->nodes[i];
        cn->c = c;
        cn->id = i;
        cn->events = g_array_new(FALSE, FALSE, sizeof(dm_cluster_event));
        dm_world_set_tap(c->w, i, &fixture_tap, cn);
    }
    return c;
}

void dm_cluster_free(dm_cluster *c)
{
    if (!c)
        return;
    dm_world_free(c->w);
    for (uint32_t i = 0; i < c->n; i++)
        g_array_free(c->nodes[i].events, TRUE);
    g_free(c->nodes);
    g_free(c->sent);
    dm_sim_config_clear(&c->cfg);
    g_free(c);
}

dm_world *dm_cluster_world(const dm_cluster *c)
{
    return c->w;
}

const dm_sim_config *dm_cluster_cfg(const dm_cluster *c)
{
    return &c->cfg;
}

uint32_t dm_cluster_size(const dm_cluster *c)
{
    return c->n;
}

int64_t dm_cluster_now(const dm_cluster *c)
{
    return dm_world_now(c->w);
}

/* ---------------------------------------------------------------- time */

bool dm_cluster_step(dm_cluster *c)
{
    return dm_world_step(c->w);
}

int64_t dm_cluster_step_until(dm_cluster *c, dm_cluster_pred pred, void *user, int64_t max_time,
                              uint64_t max_events)
{
    for (uint64_t k = 0;; k++) {
        if (pred && pred(c, user))
            return dm_world_now(c->w);
        if ((max_events && k >= max_events) || dm_world_next_at(c->w) > max_time ||
            !dm_world_step(c->w))
            return -1;
    }
}

void dm_cluster_run_until(dm_cluster *c, int64_t t)
{
    while (dm_world_next_at(c->w) <= t && dm_world_step(c->w))
        ;
    /* Stand at t: the world's clock moves with its events, so an empty
     * stretch is crossed by an event of its own. */
    if (dm_world_now(c->w) < t)
        dm_world_advance(c->w, t);
}

void dm_cluster_run_for(dm_cluster *c, int64_t dt)
{
    dm_cluster_run_until(c, dm_world_now(c->w) + dt);
}

/* ---------------------------------------------------------------- nodes */

dm_node *dm_cluster_node(const dm_cluster *c, uint32_t i)
{
    return dm_world_node(c->w, i);
}

const dm_membership *dm_cluster_membership(const dm_cluster *c, uint32_t i)
{
    dm_node *nd = dm_world_node(c->w, i);
    return nd ? dm_node_membership(nd) : NULL;
}

int64_t dm_cluster_local_now(const dm_cluster *c, uint32_t i)
{
    return dm_world_local_now(c->w, i);
}

bool dm_cluster_is_up(const dm_cluster *c, uint32_t i)
{
    return dm_world_node(c->w, i) != NULL;
}

/* Node i's core when the application can call it: running, not paused. */
static dm_node *app_core(const dm_cluster *c, uint32_t i)
{
    return dm_world_node_paused(c->w, i) ? NULL : dm_world_node(c->w, i);
}

static int app_lock(dm_cluster *c, uint32_t i, const char *name, int64_t timeout_us, bool try_once,
                    uint64_t *attempt)
{
    dm_node *core = app_core(c, i);
    if (!core || (name && workload_lock(c, name)))
        return -DM_EINVAL;
    int64_t now = dm_world_local_now(c->w, i);
    int rc = try_once ? dm_node_try_lock(core, now, name, timeout_us, attempt)
                      : dm_node_lock(core, now, name, timeout_us, attempt);
    dm_world_sync(c->w, i);
    return rc;
}

int dm_cluster_lock(dm_cluster *c, uint32_t i, const char *name, int64_t timeout_us,
                    uint64_t *attempt)
{
    return app_lock(c, i, name, timeout_us, false, attempt);
}

int dm_cluster_try_lock(dm_cluster *c, uint32_t i, const char *name, int64_t timeout_us,
                        uint64_t *attempt)
{
    return app_lock(c, i, name, timeout_us, true, attempt);
}

int dm_cluster_unlock(dm_cluster *c, uint32_t i, const char *name)
{
    dm_node *core = app_core(c, i);
    if (!core || (name && workload_lock(c, name)))
        return -DM_EINVAL;
    /* The critical section ends before the core is told. */
    if (name)
        dm_checker_hold_end(dm_world_checker(c->w), dm_world_now(c->w), i, name, "unlock");
    int rc = dm_node_unlock(core, dm_world_local_now(c->w, i), name);
    dm_world_sync(c->w, i);
    return rc;
}

int dm_cluster_cancel(dm_cluster *c, uint32_t i, const char *name)
{
    dm_node *core = app_core(c, i);
    if (!core || (name && workload_lock(c, name)))
        return -DM_EINVAL;
    int rc = dm_node_cancel(core, dm_world_local_now(c->w, i), name);
    dm_world_sync(c->w, i);
    return rc;
}

bool dm_cluster_holds(const dm_cluster *c, uint32_t i, const char *name)
{
    dm_node *core = dm_world_node(c->w, i);
    return core && dm_node_holds(core, name);
}

typedef struct hold_want {
    uint32_t node;
    const char *name;
} hold_want;

static bool pred_holds(dm_cluster *c, void *user)
{
    const hold_want *h = user;
    return dm_cluster_holds(c, h->node, h->name);
}

int64_t dm_cluster_step_until_holds(dm_cluster *c, uint32_t i, const char *name, int64_t until)
{
    hold_want h = { i, name };
    return dm_cluster_step_until(c, pred_holds, &h, until, 0);
}

bool dm_cluster_acquire(dm_cluster *c, uint32_t i, const char *name, int64_t timeout_us,
                        int64_t within)
{
    if (dm_cluster_lock(c, i, name, timeout_us, NULL) != 0)
        return false;
    return dm_cluster_step_until_holds(c, i, name, dm_world_now(c->w) + within) >= 0;
}

int dm_cluster_leave(dm_cluster *c, uint32_t i)
{
    dm_node *core = app_core(c, i);
    if (!core)
        return -DM_EINVAL;
    dm_checker_node_down(dm_world_checker(c->w), dm_world_now(c->w), i, "leave");
    dm_node_leave(core, dm_world_local_now(c->w, i));
    return dm_world_sync(c->w, i);
}

int dm_cluster_inject(dm_cluster *c, uint32_t i, const dm_msg *m)
{
    dm_node *core = app_core(c, i);
    if (!core || !m)
        return -DM_EINVAL;
    int rc = dm_node_receive(core, dm_world_local_now(c->w, i), m);
    dm_world_sync(c->w, i);
    return rc;
}

int dm_cluster_send(dm_cluster *c, const dm_msg *m)
{
    return dm_world_send(c->w, m);
}

/* ---------------------------------------------------------------- faults */

int dm_cluster_crash(dm_cluster *c, uint32_t i)
{
    return dm_world_crash(c->w, i);
}

int dm_cluster_restart(dm_cluster *c, uint32_t i)
{
    if (dm_world_node(c->w, i))
        dm_world_crash(c->w, i);
    return dm_world_restart(c->w, i);
}

int dm_cluster_wipe(dm_cluster *c, uint32_t i)
{
    return dm_world_wipe(c->w, i);
}

int dm_cluster_pause(dm_cluster *c, uint32_t i)
{
    return dm_world_pause(c->w, i);
}

int dm_cluster_resume(dm_cluster *c, uint32_t i)
{
    return dm_world_resume(c->w, i);
}

int dm_cluster_isolate(dm_cluster *c, uint32_t i)
{
    return dm_world_isolate(c->w, i);
}

int dm_cluster_cut(dm_cluster *c, uint32_t a, uint32_t b)
{
    int rc = dm_world_cut(c->w, a, b, true);
    return rc < 0 ? rc : dm_world_cut(c->w, b, a, true);
}

int dm_cluster_partition(dm_cluster *c, const int *side)
{
    if (!side)
        return -DM_EINVAL;
    for (uint32_t a = 0; a < c->n; a++)
        for (uint32_t b = 0; b < c->n; b++)
            if (side[a] != side[b])
                dm_world_cut(c->w, a, b, true);
    return 0;
}

void dm_cluster_heal(dm_cluster *c)
{
    dm_world_heal(c->w);
}

int dm_cluster_set_rates(dm_cluster *c, double loss, double dup, double reorder)
{
    return dm_world_set_rates(c->w, loss, dup, reorder);
}

void dm_cluster_set_tap(dm_cluster *c, uint32_t i, const dm_world_tap *tap, void *user)
{
    g_return_if_fail(i < c->n);
    c->nodes[i].tap = tap;
    c->nodes[i].tap_user = user;
}

/* ---------------------------------------------------------------- what happened */

uint64_t dm_cluster_sent(const dm_cluster *c, uint32_t from, uint32_t to, dm_msg_type type)
{
    if ((unsigned)type >= DM_MSG_TYPE_COUNT)
        return 0;
    uint64_t sum = 0;
    for (uint32_t a = 0; a < c->n; a++)
        for (uint32_t b = 0; b < c->n; b++)
            if ((from == DM_CLUSTER_ALL || from == a) && (to == DM_CLUSTER_ALL || to == b))
                sum += *sent_at(c, a, b, type);
    return sum;
}

uint64_t dm_cluster_sent_all(const dm_cluster *c)
{
    uint64_t sum = 0;
    for (size_t k = 0; k < (size_t)c->n * c->n * DM_MSG_TYPE_COUNT; k++)
        sum += c->sent[k];
    return sum;
}

uint32_t dm_cluster_event_count(const dm_cluster *c, uint32_t i)
{
    return i < c->n ? c->nodes[i].events->len : 0;
}

const dm_cluster_event *dm_cluster_event_get(const dm_cluster *c, uint32_t i, uint32_t k)
{
    if (i >= c->n || k >= c->nodes[i].events->len)
        return NULL;
    return &g_array_index(c->nodes[i].events, dm_cluster_event, k);
}

/* Walks the logged events of one node, or of every node, in each node's
 * order: start with an iterator of zeros. */
typedef struct ev_iter {
    uint32_t node;
    guint k;
} ev_iter;

static const dm_cluster_event *next_event(const dm_cluster *c, uint32_t sel, ev_iter *it)
{
    if (sel != DM_CLUSTER_ALL && it->node < sel)
        it->node = sel;
    while (it->node < c->n && (sel == DM_CLUSTER_ALL || it->node == sel)) {
        const GArray *log = c->nodes[it->node].events;
        if (it->k < log->len)
            return &g_array_index(log, dm_cluster_event, it->k++);
        it->node++;
        it->k = 0;
    }
    return NULL;
}

uint64_t dm_cluster_count(const dm_cluster *c, uint32_t i, dm_event_type type)
{
    uint64_t n = 0;
    ev_iter it = { 0 };
    for (const dm_cluster_event *e; (e = next_event(c, i, &it));)
        n += e->type == type;
    return n;
}

dm_event_type dm_cluster_outcome(const dm_cluster *c, uint32_t i, uint64_t attempt)
{
    dm_event_type last = 0;
    ev_iter it = { 0 };
    for (const dm_cluster_event *e; (e = next_event(c, i, &it));)
        if (e->type >= DM_EV_GRANTED && e->type <= DM_EV_RENEWED && e->attempt == attempt)
            last = e->type;
    return last;
}

static bool member_event_is(const dm_cluster_event *e, uint32_t about, dm_member_event_type type)
{
    return e->type == DM_EV_MEMBER && e->member_event == type &&
           (about == DM_CLUSTER_ALL || e->member == about);
}

uint32_t dm_cluster_member_events(const dm_cluster *c, uint32_t observer, uint32_t about,
                                  dm_member_event_type type)
{
    uint32_t n = 0;
    ev_iter it = { 0 };
    for (const dm_cluster_event *e; (e = next_event(c, observer, &it));)
        n += member_event_is(e, about, type);
    return n;
}

int64_t dm_cluster_member_event_first(const dm_cluster *c, uint32_t observer, uint32_t about,
                                      dm_member_event_type type)
{
    int64_t first = INT64_MAX;
    ev_iter it = { 0 };
    for (const dm_cluster_event *e; (e = next_event(c, observer, &it));)
        if (member_event_is(e, about, type) && e->at < first)
            first = e->at;
    return first;
}

dm_checker *dm_cluster_checker(const dm_cluster *c)
{
    return dm_world_checker(c->w);
}

uint64_t dm_cluster_violations(const dm_cluster *c, dm_violation_kind kind)
{
    if ((unsigned)kind >= G_N_ELEMENTS(dm_checker_get_counts(dm_world_checker(c->w))->violations))
        return 0;
    return dm_checker_get_counts(dm_world_checker(c->w))->violations[kind];
}

uint64_t dm_cluster_contract_errors(const dm_cluster *c)
{
    return c->contract_errors;
}

bool dm_cluster_ok(const dm_cluster *c)
{
    return c->contract_errors == 0 && !dm_world_failed(c->w);
}

bool dm_cluster_converged(const dm_cluster *c)
{
    bool have = false;
    uint64_t view = 0;
    for (uint32_t i = 0; i < c->n; i++) {
        const dm_membership *m = dm_cluster_membership(c, i);
        if (!dm_cluster_is_up(c, i))
            continue;
        if (!m)
            return false;
        uint64_t h = dm_membership_view_hash(m);
        if (have && h != view)
            return false;
        view = h;
        have = true;
        for (uint32_t j = 0; j < c->n; j++)
            if (dm_cluster_is_up(c, j) ? !dm_membership_is_alive(m, j) : dm_membership_in_view(m, j))
                return false;
    }
    return true;
}

bool dm_cluster_pred_converged(dm_cluster *c, void *user)
{
    (void)user;
    return dm_cluster_converged(c);
}
