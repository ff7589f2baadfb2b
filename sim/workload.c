/* dmutex simulator: the workload, one client per (node, lock name).
 *
 * A client asks for its lock at exponential (or fixed) intervals, holds it
 * for a drawn time, writes to the fenced resource when granted, before
 * unlocking and after a pause, and matches every outcome the core reports
 * to the attempt it belongs to (sim_client in world_internal.h). In the
 * liveness phase every client asks once more and must be granted.
 *
 * Arrivals never wait for completions. What becomes of one that finds the
 * client's previous request still pending or held is workload.loop: the
 * closed loop calls lock() anyway and the core refuses it (-DM_EBUSY, the
 * request is lost), so latency is that of a client with one request
 * outstanding; the open loop queues it, calls lock() when the client is
 * free with what is left of its timeout, and measures latency from the
 * arrival, time in the queue included.
 */
#include "observer.h"

#include "error.h"
/* ---------------------------------------------------------------- clients */

static sim_client *client_of(dm_world *w, sim_node *nd, const char *name, uint32_t *lock)
{
    gpointer v = g_hash_table_lookup(w->lock_index, name);
    if (!v)
        return NULL;
    *lock = GPOINTER_TO_UINT(v) - 1;
    return &nd->clients[*lock];
}

uint64_t live_id(const dm_world *w, uint32_t node, uint32_t lock)
{
    return (uint64_t)node * w->cfg->locks + lock;
}

static bool open_loop(const dm_world *w)
{
    return w->cfg->loop == DM_LOOP_OPEN;
}

static guint waiting_len(const sim_client *cl)
{
    return cl->waiting ? cl->waiting->len : 0;
}

/* FAILED at the attempt's deadline: the core says ETIMEDOUT, or why it could
 * not form a quorum meanwhile (core/node.c, req_service). */
static bool ran_out(int reason)
{
    return reason == -DM_ETIMEDOUT || reason == -DM_ENOQUORUM;
}

static int64_t sample_hold(dm_world *w)
{
    if (w->phase != PHASE_FAULTS)
        return 0;   /* liveness: let the next node have it at once */
    if (w->cfg->hold_dist == DM_HOLD_FIXED)
        return w->cfg->hold_us;
    return sample_exp(&w->work_prng, w->cfg->hold_us);
}

/* The time from one request of a client to its next. The first request is
 * always drawn exponentially (client_start_arrivals), so that periodic
 * clients do not all ask at once. */
static int64_t next_arrival(dm_world *w)
{
    if (w->cfg->interarrival_dist == DM_HOLD_FIXED)
        return w->cfg->interarrival_us;
    return 1 + sample_exp(&w->work_prng, w->cfg->interarrival_us);
}

void client_write(dm_world *w, sim_node *nd, uint32_t lock, sim_client *cl, const char *why)
{
    bool ok = dm_checker_write(w->checker, w->now, nd->id, w->lock_names[lock], cl->token);
    w->stats.writes++;
    fold(w, 0x5752495445ull ^ (uint64_t)ok << 40 ^ cl->token << 1);
    TRACE(w, nd->id, "write %s token=%" PRIu64 " (%s): %s", w->lock_names[lock], cl->token, why,
          ok ? "accepted" : "REJECTED");
}

void client_action(dm_world *w, sim_client *cl, action_kind what, int64_t at)
{
    cl->action_kind = (uint8_t)what;
    cl->action_deferred = false;
    schedule(w, &cl->action, at);
}

/* The client is idle again: in the liveness phase it asks once more. */
static void client_idle(dm_world *w, sim_client *cl, int64_t retry_after)
{
    cl->state = CL_IDLE;
    cl->attempt = 0;
    cl->live_attempt = false;
    if (cl->live_wanted)
        client_action(w, cl, ACT_REQUEST, w->now + retry_after);
    else if (waiting_len(cl) > 0)
        client_action(w, cl, ACT_REQUEST, w->now);   /* the next queued request, at once */
    else if (cl->action_kind == ACT_RELEASE)
        cancel(w, &cl->action);
}

/* lock() started a new attempt while the client still had one: the core
 * ended that one inside the call (its deadline or its lease ended at this
 * very instant) and owes its outcome, FAILED or LOST, which comes after the
 * call. Keep what the CSV row needs until then. */
static void client_supersede(dm_world *w, sim_node *nd, sim_client *cl, const char *name)
{
    if (cl->superseded) {
        /* Only one outcome can be owed: lock() is refused while the
         * attempt it started is in progress. */
        w->stats.api_errors++;
        TRACE(w, nd->id, "API: %s: the outcome of attempt %" PRIx64 " never came", name,
              cl->superseded);
    }
    w->stats.superseded++;
    TRACE(w, nd->id, "%s: attempt %" PRIx64 " ended inside lock(); its outcome is still due", name,
          cl->attempt);
    cl->superseded = cl->attempt;
    cl->superseded_requested_at = cl->requested_at;
    cl->superseded_granted_at = cl->state == CL_HOLDING ? cl->granted_at : -1;
    cl->superseded_messages = cl->messages;
    if (cl->action_kind == ACT_RELEASE)
        cancel(w, &cl->action);   /* that hold is over */
}

/* A request that arrived at `arrived` (global) asks the core, with what is
 * left of its timeout (> 0). */
static void client_lock(dm_world *w, sim_node *nd, uint32_t lock, sim_client *cl, bool live,
                        int64_t arrived)
{
    const char *name = w->lock_names[lock];
    uint64_t attempt = 0;
    int64_t timeout = w->cfg->timeout_us - (w->now - arrived);
    int rc = dm_node_lock(nd->core, local_now(nd), name, timeout, &attempt);
    fold(w, (uint64_t)(uint32_t)rc << 8 | lock);
    if (tracing(w)) {
        char started[48];
        g_snprintf(started, sizeof started, "started attempt=%" PRIx64, attempt);
        TRACE(w, nd->id, "lock %s%s -> %s", name, live ? " (liveness)" : "",
              rc == 0 ? started : dm_error_name(rc));
    }
    if (rc == 0) {
        if (attempt == 0 || attempt == cl->attempt || attempt == cl->superseded) {
            w->stats.api_errors++;
            TRACE(w, nd->id, "API: lock %s started attempt %" PRIx64 ", not a new id", name, attempt);
        }
        if (cl->state != CL_IDLE)
            client_supersede(w, nd, cl, name);
        w->stats.attempts++;
        cl->attempt = attempt;
        cl->state = CL_PENDING;
        cl->live_attempt = live;
        cl->requested_at = arrived;
        cl->messages = 0;
    } else if (rc == -DM_EBUSY) {
        w->stats.ebusy++;
        if (live)
            client_action(w, cl, ACT_REQUEST, w->now + w->cfg->core.rpc_timeout_us);
    } else {
        w->stats.failed++;
        cl->requested_at = arrived;
        cl->messages = 0;
        csv_row(w, nd, lock, cl, w->now, reason_name(rc));
        if (live)
            client_action(w, cl, ACT_REQUEST, w->now + w->cfg->core.rpc_timeout_us);
    }
    node_sync(w, nd);
}

static void client_release(dm_world *w, sim_node *nd, uint32_t lock, sim_client *cl)
{
    if (cl->state != CL_HOLDING)
        return;
    const char *name = w->lock_names[lock];
    /* The last write of the critical section, then the unlock. */
    client_write(w, nd, lock, cl, "before unlock");
    int rc = dm_node_unlock(nd->core, local_now(nd), name);
    fold(w, 0x554e4c4f434bull ^ (uint64_t)(uint32_t)rc);
    TRACE(w, nd->id, "unlock %s -> %s", name, rc == 0 ? "ok" : dm_error_name(rc));
    if (rc == -DM_ENOTHELD)
        w->stats.unlock_notheld++;   /* its LOST is on the way, or it lied */
    observe_release(w, nd, name, "unlock");
    csv_row(w, nd, lock, cl, -1, "granted");
    client_idle(w, cl, 0);
    node_sync(w, nd);
}

/* Open loop: a request arrives while the client is busy (or others wait). */
static void client_enqueue(dm_world *w, sim_node *nd, uint32_t lock, sim_client *cl)
{
    if (waiting_len(cl) >= w->cfg->queue) {
        w->stats.queue_dropped++;
        TRACE(w, nd->id, "request for %s dropped: %u waiting", w->lock_names[lock], waiting_len(cl));
        return;
    }
    if (!cl->waiting)
        cl->waiting = g_array_sized_new(FALSE, FALSE, sizeof(int64_t), MIN(w->cfg->queue, 16));
    g_array_append_val(cl->waiting, w->now);
}

/* A queued request that waited its whole timeout: it ends without asking. */
static void client_expire(dm_world *w, sim_node *nd, uint32_t lock, int64_t arrived)
{
    w->stats.timeouts++;
    TRACE(w, nd->id, "request for %s timed out in the queue", w->lock_names[lock]);
    csv_attempt(w, nd, lock, arrived, -1, w->now, reason_name(-DM_ETIMEDOUT), 0);
}

/* The client is free: the oldest queued request still within its timeout
 * asks; those past it time out. A lock() that fails at once leaves the
 * client free for the next. */
static void client_dequeue(dm_world *w, sim_node *nd, uint32_t lock, sim_client *cl)
{
    while (cl->state == CL_IDLE && waiting_len(cl) > 0) {
        int64_t arrived = g_array_index(cl->waiting, int64_t, 0);
        g_array_remove_index(cl->waiting, 0);
        if (w->now - arrived >= w->cfg->timeout_us)
            client_expire(w, nd, lock, arrived);
        else
            client_lock(w, nd, lock, cl, false, arrived);
    }
}

void client_drop_waiting(dm_world *w, sim_node *nd, uint32_t lock, sim_client *cl)
{
    for (guint i = 0; i < waiting_len(cl); i++) {
        int64_t arrived = g_array_index(cl->waiting, int64_t, i);
        if (w->now - arrived >= w->cfg->timeout_us)
            client_expire(w, nd, lock, arrived);
        else
            w->stats.queue_abandoned++;
    }
    if (cl->waiting)
        g_array_set_size(cl->waiting, 0);
}

void client_timer(dm_world *w, sim_node *nd, uint32_t lock, sim_client *cl, bool arrival)
{
    /* A node whose start failed has no core to ask; the failure is counted
     * (start_failures) and fails the run, the world goes on without it. */
    if (!nd->core)
        return;
    if (nd->state == NODE_PAUSED) {
        /* The application is frozen with its process: it acts on resume. */
        if (arrival)
            cl->arrival_deferred = true;
        else
            cl->action_deferred = true;
        return;
    }
    if (arrival) {
        if (w->phase != PHASE_FAULTS)
            return;
        w->stats.arrivals++;
        if (open_loop(w) && (cl->state != CL_IDLE || waiting_len(cl) > 0))
            client_enqueue(w, nd, lock, cl);
        else
            client_lock(w, nd, lock, cl, false, w->now);
        if (w->cfg->interarrival_us > 0)
            schedule(w, &cl->arrival, w->now + next_arrival(w));
    } else if (cl->action_kind == ACT_RELEASE) {
        client_release(w, nd, lock, cl);
    } else if (cl->state == CL_IDLE && cl->live_wanted) {
        client_lock(w, nd, lock, cl, true, w->now);
    } else if (w->phase == PHASE_FAULTS) {
        client_dequeue(w, nd, lock, cl);
    }
}

void client_start_arrivals(dm_world *w, sim_node *nd)
{
    if (w->phase != PHASE_FAULTS || w->cfg->interarrival_us <= 0 ||
        !dm_sim_config_is_client(w->cfg, nd->id))
        return;
    for (uint32_t l = 0; l < w->cfg->locks; l++)
        schedule(w, &nd->clients[l].arrival,
                 w->now + 1 + sample_exp(&w->work_prng, w->cfg->interarrival_us));
}

/* The core reported an outcome to the application on node `nd`: match it
 * to the attempt it concerns and move the client on. */
void client_event(dm_world *w, sim_node *nd, const dm_event *ev, int64_t lease_global)
{
    uint32_t lock;
    sim_client *cl = client_of(w, nd, ev->name, &lock);
    if (!cl) {
        w->stats.api_errors++;
        TRACE(w, nd->id, "API: event for unknown lock %s", ev->name);
        return;
    }
    /* Match the outcome to the attempt it concerns (sim_client). */
    bool current = cl->state != CL_IDLE && ev->attempt == cl->attempt;
    bool owed = !current && cl->superseded != 0 && ev->attempt == cl->superseded;
    if (current)
        cl->messages = ev->messages;
    switch (ev->type) {
    case DM_EV_GRANTED:
        w->stats.acquisitions++;
        if (!current || cl->state != CL_PENDING) {
            /* Granted an attempt the application is not waiting for: a
             * broken contract, and a lock nobody will use or unlock. */
            w->stats.api_errors++;
            TRACE(w, nd->id, "API: GRANTED attempt %" PRIx64 ", but the client %s", ev->attempt,
                  cl->state == CL_PENDING ? "waits for another" : "is not waiting");
            break;
        }
        cl->state = CL_HOLDING;
        if (ev->messages == 0 && ev->quorum_size > 1)
            w->stats.cache_reuses++;   /* a fresh acquisition asks the other members */
        cl->token = ev->token;
        cl->lease_until = ev->lease_until;
        cl->granted_at = w->now;
        if (!cl->live_attempt) {
            double waited = (double)(w->now - cl->requested_at) / 1e6;
            g_array_append_val(w->latencies, waited);
        }
        observe_grant(w, nd, ev->name, ev->token, lease_global);
        client_write(w, nd, lock, cl, "granted");
        if (cl->live_attempt) {
            dm_checker_resolve(w->checker, live_id(w, nd->id, lock));
            cl->live_wanted = false;
            w->stats.liveness_granted++;
            int64_t waited = w->now - w->stats.liveness_start_us;
            if (waited > w->stats.liveness_max_us)
                w->stats.liveness_max_us = waited;
        }
        client_action(w, cl, ACT_RELEASE, w->now + sample_hold(w));
        break;
    case DM_EV_RENEWED:
        w->stats.renewals++;
        if (!current || cl->state != CL_HOLDING) {
            /* Events are delivered before the next application call, so a
             * renewal always concerns the hold in force. */
            w->stats.api_errors++;
            TRACE(w, nd->id, "API: RENEWED attempt %" PRIx64 ", which does not hold", ev->attempt);
            break;
        }
        cl->lease_until = ev->lease_until;
        observe_renew(w, nd, ev->name, lease_global);
        break;
    case DM_EV_FAILED:
        w->stats.failed++;
        if (ran_out(ev->reason) && ((current && !cl->live_attempt) || owed))
            w->stats.timeouts++;
        if (current && cl->state == CL_PENDING) {
            csv_row(w, nd, lock, cl, w->now, reason_name(ev->reason));
            client_idle(w, cl, w->cfg->core.rpc_timeout_us);
        } else if (owed && cl->superseded_granted_at < 0) {
            csv_attempt(w, nd, lock, cl->superseded_requested_at, -1, w->now,
                        reason_name(ev->reason), ev->messages);
            cl->superseded = 0;
        } else {
            w->stats.api_errors++;
            TRACE(w, nd->id, "API: FAILED attempt %" PRIx64 ", which was not acquiring", ev->attempt);
        }
        break;
    case DM_EV_MEMBER:
    case DM_EV_VIEW:
    case DM_EV_EPOCH:
    case DM_EV_RECONFIG:   /* the simulator makes no operator changes */
    case DM_EV_ARBITER:
        break;   /* handled above */
    case DM_EV_LOST:
        w->stats.lost++;
        if (current && cl->state == CL_HOLDING) {
            observe_release(w, nd, ev->name, "lost");
            csv_row(w, nd, lock, cl, w->now, "lost");
            client_idle(w, cl, 0);
        } else if (owed && cl->superseded_granted_at >= 0) {
            observe_release(w, nd, ev->name, "lost");
            csv_attempt(w, nd, lock, cl->superseded_requested_at, cl->superseded_granted_at,
                        w->now, "lost", ev->messages);
            cl->superseded = 0;
        }
        /* Otherwise the client already let go: unlock() found the lease
         * gone (-DM_ENOTHELD) and this is the news of it. */
        break;
    }
}
