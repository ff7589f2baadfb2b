/* dmutex simulator: the world's core -- the event loop, the nodes and the
 * driver callbacks (world.h describes the world as a whole).
 *
 * Each popped event is folded into the trace hash and handed to handle();
 * nodes start, crash, restart, pause, resume and skew here, for whichever
 * module asks (faults.c, the liveness phase); the driver callbacks count and
 * route messages and pass the core's events on to the workload and metrics.
 */
#include "observer.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "codec.h"
#include "error.h"
#include "heap.h"
#include "prng.h"
#include "tree.h"
#include "simclock.h"
#include "simnet.h"
#include "trace.h"

static const dm_driver driver;

/* ---------------------------------------------------------------- helpers */

char *fmt_time(char *buf, size_t cap, int64_t us)
{
    if (us == INT64_MAX)
        g_strlcpy(buf, "never", cap);
    else
        g_snprintf(buf, cap, "%s%" PRId64 ".%06" PRId64, us < 0 ? "-" : "",
                   (us < 0 ? -us : us) / G_USEC_PER_SEC, (us < 0 ? -us : us) % G_USEC_PER_SEC);
    return buf;
}

static sim_msg *msg_alloc(dm_world *w)
{
    if (!w->free_msgs) {
        sim_msg *slab = g_new(sim_msg, MSG_SLAB);
        g_ptr_array_add(w->slabs, slab);
        for (int i = 0; i < MSG_SLAB; i++) {
            slab[i].next = w->free_msgs;
            w->free_msgs = &slab[i];
        }
    }
    sim_msg *m = w->free_msgs;
    w->free_msgs = m->next;
    m->next = NULL;
    return m;
}

static void msg_free(dm_world *w, sim_msg *m)
{
    m->next = w->free_msgs;
    w->free_msgs = m;
}

static inline void fold_msg(dm_world *w, const dm_msg *m)
{
    fold(w, (uint64_t)m->type | (uint64_t)m->from << 8 | (uint64_t)m->to << 24 |
                (uint64_t)m->n_updates << 40);
    fold(w, m->attempt ^ (uint64_t)m->round << 48 ^ (uint64_t)m->target << 32);
    fold(w, m->grant ^ m->value << 1 ^ m->clock << 3);
}

/* ---------------------------------------------------------------- node clock and deadline */

/* Keep the node's tick event at the global instant its clock reaches the
 * core's next deadline, dl (a running node's). */
static inline G_ALWAYS_INLINE void tick_at(dm_world *w, sim_node *nd, int64_t dl)
{
    if (dl == DM_NEVER) {
        cancel(w, &nd->tick);
        return;
    }
    if (dl == nd->tick_local && dm_heap_entry_queued(&nd->tick.he))
        return;
    int64_t g = dm_simclock_global(&nd->clock, dl);
    nd->tick_local = dl;
    schedule(w, &nd->tick, g < w->now ? w->now : g);
}

void node_sync(dm_world *w, sim_node *nd)
{
    if (nd->state == NODE_UP)
        tick_at(w, nd, dm_node_next_deadline(nd->core));
}

/* ---------------------------------------------------------------- driver callbacks */

/* own: m is as the sending core built it (see sim_msg.own). */
static void route(dm_world *w, sim_node *nd, const dm_msg *m, bool own)
{
    w->stats.messages++;
    if (dm_msg_is_membership((int)m->type)) {
        /* Membership traffic: counted here, then treated like any message. */
        int size = dm_codec_size(m);
        w->stats.member_msgs++;
        w->stats.member_bytes += size > 0 ? (uint64_t)size : 0;
    }
    dm_msg tapped;
    if (nd->tap && nd->tap->send) {
        dm_msg_copy(&tapped, m);
        if (!nd->tap->send(nd->tap_user, nd->id, &tapped)) {
            w->stats.dropped_tap++;
            return;
        }
        m = &tapped;
        own = false;
    }
    if (m->to >= w->n || m->to == nd->id) {
        w->stats.api_errors++;
        TRACE(w, nd->id, "API: send to %u", m->to);
        return;
    }
    int64_t delay[2];
    /* a PING opens a connection: 3 legs; its ACK answers on it: 1 */
    int copies = dm_msg_is_stream(m)
        ? dm_simnet_route_stream(w->net, nd->id, m->to, m->type == DM_MSG_PING ? 3 : 1, delay)
        : dm_simnet_route(w->net, nd->id, m->to, delay);
    if (copies < 0) {
        if (copies == DM_SIMNET_CUT)
            w->stats.dropped_cut++;
        else
            w->stats.dropped_loss++;
        if (tracing(w)) {
            char buf[512];
            dm_msg_format(m, buf, sizeof buf);
            TRACE(w, nd->id, "%s %s", copies == DM_SIMNET_CUT ? "cut" : "loss", buf);
        }
        return;
    }
    dm_msg copy;
    const dm_msg *src = m;
    if (w->cfg->codec) {
        /* What the network driver would put on the wire and read back; a
         * second encoding must give the same bytes. */
        uint8_t wire[DM_FRAME_MAX], again[DM_FRAME_MAX];
        int len = dm_codec_encode(m, wire, sizeof wire);
        int used = len > 0 ? dm_codec_decode(wire, (size_t)len, &copy) : len;
        int len2 = used == len ? dm_codec_encode(&copy, again, sizeof again) : -1;
        if (len <= 0 || used != len || len2 != len || memcmp(wire, again, (size_t)len) != 0) {
            w->stats.codec_errors++;
            TRACE(w, nd->id, "CODEC: round trip failed (encode %d, decode %d)", len, used);
            return;
        }
        src = &copy;
        own = false;   /* what the decoder made is checked as the network's would be */
    }
    for (int i = 0; i < copies; i++) {
        sim_msg *sm = msg_alloc(w);
        event_init(&sm->ev, EV_DELIVER, m->to, i);
        sm->own = own;
        dm_msg_copy(&sm->msg, src);
        schedule(w, &sm->ev, w->now + delay[i]);
    }
}

static void drv_send(void *user, const dm_msg *m)
{
    sim_node *nd = user;
    route(nd->w, nd, m, true);
}

static const char *member_event_name(dm_member_event_type t)
{
    static const char *const names[] = { "?", "join", "alive", "suspect", "dead", "left" };
    return (unsigned)t < G_N_ELEMENTS(names) ? names[t] : "?";
}

/* The arbiter's own account (only with lock_delay on) for the lock-delay
 * check; the delay's end is the configured value on the arbiter's clock,
 * not the core's figure. */
static void observe_arbiter(dm_world *w, sim_node *nd, const dm_event *ev)
{
    int64_t local = local_now(nd);
    switch (ev->arbiter_action) {
    case DM_ARB_LAPSED: {
        int64_t until = dm_simclock_global(&nd->clock, local + dm_node_config(nd->core)->lock_delay_us);
        TRACE(w, nd->id, "LAPSED %s grantee=%u attempt=%" PRIx64 " reason=%s", ev->name, ev->member,
              ev->attempt, dm_error_name(ev->reason));
        dm_checker_arb_lapse(w->checker, w->now, nd->id, ev->name, ev->member, ev->attempt, until);
        return;
    }
    case DM_ARB_RELEASED:
        dm_checker_arb_release(w->checker, w->now, nd->id, ev->name, ev->member, ev->attempt);
        return;
    case DM_ARB_GRANTED:
        dm_checker_arb_grant(w->checker, w->now, nd->id, ev->name, ev->member);
        return;
    }
}

static void drv_notify(void *user, const dm_event *event)
{
    sim_node *nd = user;
    dm_world *w = nd->w;
    dm_event ev = *event;
    /* The core's view moved (a member entered or left it; under memberlist
     * the tree with it), whatever a tap lets the world see. */
    if (ev.type == DM_EV_VIEW || ev.type == DM_EV_EPOCH)
        observe_view(w, nd);
    if (nd->tap && nd->tap->notify && !nd->tap->notify(nd->tap_user, nd->id, &ev))
        return;
    fold(w, (uint64_t)ev.type << 56 ^ (uint64_t)(uint32_t)ev.reason << 24 ^ ev.attempt);
    fold(w, ev.token ^ (uint64_t)ev.lease_until << 7);
    if (ev.type == DM_EV_ARBITER) {
        observe_arbiter(w, nd, &ev);
        return;
    }
    int64_t lease_global = ev.type == DM_EV_GRANTED || ev.type == DM_EV_RENEWED
                               ? dm_simclock_global(&nd->clock, ev.lease_until)
                               : 0;
    if (ev.type == DM_EV_MEMBER || ev.type == DM_EV_VIEW) {
        fold(w, (uint64_t)ev.member << 32 ^ (uint64_t)ev.member_event << 24 ^ ev.incarnation ^
                    ev.view_hash);
        if (ev.type == DM_EV_MEMBER) {
            w->stats.member_events++;
            TRACE(w, nd->id, "MEMBER %u %s incarnation=%u", ev.member,
                  member_event_name(ev.member_event), ev.incarnation);
            observe_member(w, nd, &ev);
        } else {
            w->stats.view_changes++;
            TRACE(w, nd->id, "VIEW size=%u hash=%016" PRIx64, ev.view_size, ev.view_hash);
        }
        return;
    }
    if (ev.type == DM_EV_EPOCH) {
        /* The epoch policy installed a configuration here. */
        fold(w, ev.epoch << 16 ^ ev.view_size ^ ev.view_hash << 1);
        w->stats.epoch_installs++;
        TRACE(w, nd->id, "EPOCH %" PRIu64 " members=%u hash=%016" PRIx64, ev.epoch, ev.view_size,
              ev.view_hash);
        return;
    }
    if (ev.type == DM_EV_RECONFIG) {
        /* An operator's change (the `operator` fault kind) ended here. */
        fold(w, ev.epoch << 16 ^ ev.view_size ^ (uint64_t)(uint32_t)ev.reason << 32);
        TRACE(w, nd->id, "operator: change done epoch=%" PRIu64 " members=%u reason=%s", ev.epoch,
              ev.view_size, ev.reason ? dm_error_name(ev.reason) : "-");
        return;
    }
    if (tracing(w)) {
        static const char *const names[] = { "?", "GRANTED", "FAILED", "LOST", "RENEWED" };
        char t[32];
        TRACE(w, nd->id, "%s %s attempt=%" PRIx64 " token=%" PRIu64 " lease_until=%s reason=%s msgs=%u",
              ev.type <= DM_EV_RENEWED ? names[ev.type] : "?", ev.name, ev.attempt, ev.token,
              fmt_time(t, sizeof t, lease_global), ev.reason ? dm_error_name(ev.reason) : "-",
              ev.messages);
        /* A holder that is an arbiter of its own quorum grants itself with
         * no message, so the trace names that grant here: with the GRANTs
         * and KEPTs it received, a reader (experiments/explain.sh) has the
         * whole quorum. Read-only, and text only: the hash is unchanged. */
        dm_arbiter_info ai;
        if (ev.type == DM_EV_GRANTED && nd->core && dm_node_arbiter_info(nd->core, ev.name, &ai) &&
            ai.granted && ai.grantee == nd->id && ai.grantee_attempt == ev.attempt)
            TRACE(w, nd->id, "SELF-GRANT %s attempt=%" PRIx64 " grant=%" PRIu64, ev.name, ev.attempt,
                  ai.grant);
    }
    client_event(w, nd, &ev, lease_global);
}

static int drv_persist(void *user, const void *bytes, size_t len)
{
    sim_node *nd = user;
    g_byte_array_set_size(nd->persisted, 0);
    g_byte_array_append(nd->persisted, bytes, (guint)len);
    return 0;
}

static const dm_driver driver = { drv_send, drv_notify, drv_persist };

/* ---------------------------------------------------------------- processes */

/* deliver_now, inline in the loop's EV_DELIVER. */
static inline G_ALWAYS_INLINE void deliver(dm_world *w, sim_node *nd, sim_msg *sm)
{
    dm_msg *m = &sm->msg;
    bool own = sm->own;
    if (nd->tap && nd->tap->receive) {
        own = false;   /* the tap may change it */
        if (!nd->tap->receive(nd->tap_user, nd->id, m)) {
            w->stats.dropped_tap++;
            return;
        }
    }
    w->stats.delivered++;
    observe_deliver(w, nd, m);
    if (tracing(w)) {
        char buf[512];
        dm_msg_format(m, buf, sizeof buf);
        TRACE(w, nd->id, "recv %s", buf);
    }
    int64_t now = local_now(nd);
    if ((own ? dm_node_receive_own(nd->core, now, m) : dm_node_receive(nd->core, now, m)) < 0)
        w->stats.rejected++;
    node_sync(w, nd);
}

void deliver_now(dm_world *w, sim_node *nd, sim_msg *sm)
{
    deliver(w, nd, sm);
}

bool node_start(dm_world *w, sim_node *nd)
{
    dm_config c = w->cfg->core;
    c.n_members = w->n;
    c.initial_members = w->cfg->members;
    c.self = nd->id;
    c.seed = dm_prng_next(&nd->prng);
    /* Only a node's very first start may vouch that it never ran; after a
     * wipe it must recover, unless the scenario emulates the old code. */
    c.bootstrap = !nd->ran || (nd->wiped && w->cfg->wipe_bootstrap);
    /* The core may persist while it reads what it was handed: give it a copy. */
    GBytes *saved = g_bytes_new(nd->persisted->data, nd->persisted->len);
    gsize len;
    const void *data = g_bytes_get_data(saved, &len);
    int rc = dm_node_new(&c, &driver, nd, local_now(nd), len ? data : NULL, len, &nd->core);
    g_bytes_unref(saved);
    fold(w, 0x5354415254ull ^ (uint64_t)(uint32_t)rc ^ (uint64_t)c.bootstrap << 40);
    TRACE(w, nd->id, "start: %s, %u persisted bytes%s", c.bootstrap ? "bootstrap" : "restart",
          (unsigned)len, !c.bootstrap && !len ? ": recovers" : "");
    if (rc < 0) {
        w->stats.start_failures++;
        TRACE(w, nd->id, "START FAILED: %s", dm_error_name(rc));
        nd->core = NULL;
        return false;
    }
    if (c.bootstrap)
        w->stats.bootstraps++;
    else if (!len)
        w->stats.recoveries++;
    if (nd->tl_crashed_at >= 0) {
        tl_interval(w, "fault", nd->tl_crashed_at, w->now, (int)nd->id, nd->wiped ? "wipe" : "crash");
        nd->tl_crashed_at = -1;
    }
    nd->ran = true;
    nd->wiped = false;
    nd->state = NODE_UP;
    nd->tick_local = DM_NEVER;
    nd->up_since = w->now;
    const dm_membership *mm = dm_node_membership(nd->core);
    nd->life_incarnation = mm ? dm_membership_incarnation(mm) : 0;
    observe_view(w, nd);
    node_sync(w, nd);
    client_start_arrivals(w, nd);
    return true;
}

void node_crash(dm_world *w, sim_node *nd)
{
    if (nd->state == NODE_DOWN)
        return;
    TRACE(w, nd->id, "crash%s", nd->state == NODE_PAUSED ? " (while paused)" : "");
    record_fault(w, "crash", nd, NULL);
    w->stats.crashes++;
    /* A crash before the floor is known keeps the node amnesiac: its
     * persisted state says it still has to recover -- or, under the epoch
     * policy, that it still abstains in its epoch (fault_wipe.c). */
    nd->amnesiac = nd->core && (dm_node_recovery(nd->core, NULL) == DM_RECOVERY_FLOOR ||
                                dm_node_abstaining(nd->core));
    for (uint32_t l = 0; l < w->cfg->locks; l++) {
        sim_client *cl = &nd->clients[l];
        if (cl->state != CL_IDLE)
            csv_row(w, nd, l, cl, w->now, "crashed");
        if (cl->superseded)
            csv_attempt(w, nd, l, cl->superseded_requested_at, cl->superseded_granted_at, w->now,
                        "crashed", cl->superseded_messages);
        cl->state = CL_IDLE;
        cl->attempt = cl->superseded = 0;
        cl->live_attempt = false;
        cl->arrival_deferred = cl->action_deferred = false;
        cancel(w, &cl->arrival);
        cancel(w, &cl->action);
        client_drop_waiting(w, nd, l, cl);
    }
    while (nd->inbox) {
        sim_msg *m = nd->inbox;
        nd->inbox = m->next;
        msg_free(w, m);
        w->stats.dropped_down++;
    }
    nd->inbox_tail = NULL;
    nd->inbox_len = 0;
    slow_crash(w, nd);
    cancel(w, &nd->tick);
    cancel(w, &nd->resume);
    dm_node_free(nd->core);
    nd->core = NULL;
    nd->state = NODE_DOWN;
    w->down++;
    w->stats.node_up_us += w->now - nd->up_since;
    observe_crash(w, nd);
    if (w->timeline) {
        if (nd->tl_paused_at >= 0)
            tl_interval(w, "fault", nd->tl_paused_at, w->now, (int)nd->id, "pause");
        nd->tl_paused_at = -1;
        nd->tl_crashed_at = w->now;
    }
}

/* A crash that also loses what the node persisted: it comes back without
 * persisted state, as after a disk replacement. */
void node_wipe(dm_world *w, sim_node *nd)
{
    if (nd->state == NODE_DOWN)
        return;
    node_crash(w, nd);
    record_fault(w, "wipe", nd, NULL);
    TRACE(w, nd->id, "wipe: %u persisted bytes lost", nd->persisted->len);
    w->stats.wipes++;
    g_byte_array_set_size(nd->persisted, 0);
    nd->wiped = true;
    nd->amnesiac = true;
}

void node_restart(dm_world *w, sim_node *nd)
{
    cancel(w, &nd->restart);
    if (nd->state != NODE_DOWN)
        return;
    TRACE(w, nd->id, "%s", nd->ran ? "restart" : "first start");
    record_fault(w, "restart", nd, NULL);
    observe_restart(w, nd);
    if (!node_start(w, nd))
        return;
    w->stats.restarts++;
    w->down--;
}

void node_pause(dm_world *w, sim_node *nd, int64_t dur)
{
    if (nd->state != NODE_UP)
        return;
    char t[32];
    TRACE(w, nd->id, "pause for %s s", dur > 0 ? fmt_time(t, sizeof t, dur) : "ever");
    record_fault(w, "pause", nd, NULL);
    w->stats.pauses++;
    nd->state = NODE_PAUSED;
    if (w->timeline)
        nd->tl_paused_at = w->now;
    cancel(w, &nd->tick);
    if (dur > 0)
        schedule(w, &nd->resume, w->now + dur);
}

void node_resume(dm_world *w, sim_node *nd)
{
    cancel(w, &nd->resume);
    if (nd->state != NODE_PAUSED)
        return;
    TRACE(w, nd->id, "resume (%u buffered messages)", nd->inbox_len);
    record_fault(w, "resume", nd, NULL);
    w->stats.resumes++;
    nd->state = NODE_UP;
    if (nd->tl_paused_at >= 0) {
        tl_interval(w, "fault", nd->tl_paused_at, w->now, (int)nd->id, "pause");
        nd->tl_paused_at = -1;
    }
    /* Kleppmann's pause: the application, unaware it was frozen, finishes
     * the write it was about to make before the core hears of anything. */
    for (uint32_t l = 0; l < w->cfg->locks; l++)
        if (nd->clients[l].state == CL_HOLDING)
            client_write(w, nd, l, &nd->clients[l], "after pause");
    /* Then the socket buffer, in arrival order. */
    sim_msg *m = nd->inbox;
    nd->inbox = nd->inbox_tail = NULL;
    nd->inbox_len = 0;
    while (m) {
        sim_msg *next = m->next;
        w->stats.events++;
        fold_msg(w, &m->msg);
        if (nd->state == NODE_UP)
            deliver_now(w, nd, m);
        msg_free(w, m);
        m = next;
    }
    nd->tick_local = DM_NEVER;
    node_sync(w, nd);
    for (uint32_t l = 0; l < w->cfg->locks; l++) {
        sim_client *cl = &nd->clients[l];
        if (cl->action_deferred)
            schedule(w, &cl->action, w->now);
        if (cl->arrival_deferred)
            schedule(w, &cl->arrival, w->now);
        cl->action_deferred = cl->arrival_deferred = false;
    }
}

void node_skew(dm_world *w, sim_node *nd, int64_t rate_ppm)
{
    TRACE(w, nd->id, "skew %+" PRId64 " ppm (was %+" PRId64 ")", rate_ppm, nd->clock.rate_ppm);
    record_fault(w, "skew", nd, &(dm_fault_step){ .value = (double)rate_ppm });
    w->stats.skews++;
    dm_simclock_set_rate(&nd->clock, w->now, rate_ppm);
    if (w->timeline) {
        char d[64];
        g_snprintf(d, sizeof d, "skew %+" PRId64 " ppm", rate_ppm);
        tl_interval(w, "fault", w->now, w->now, (int)nd->id, d);
    }
    /* Every global instant derived from this clock moves. */
    nd->tick_local = DM_NEVER;
    node_sync(w, nd);
    for (uint32_t l = 0; l < w->cfg->locks; l++) {
        sim_client *cl = &nd->clients[l];
        if (cl->state == CL_HOLDING)
            observe_renew(w, nd, w->lock_names[l], dm_simclock_global(&nd->clock, cl->lease_until));
    }
}

/* ---------------------------------------------------------------- phases */

static void start_liveness(dm_world *w)
{
    const dm_sim_config *c = w->cfg;
    observe_phase_end(w, PHASE_FAULTS);
    w->phase = PHASE_LIVENESS;
    w->stats.liveness_start_us = w->now;
    w->live_deadline = w->now + c->liveness_us;
    TRACE(w, -1, "liveness phase: faults stop, network heals, everyone restarts and asks");
    faults_stop(w);
    heal(w);
    set_rates(w, 0, 0, 0);
    if (w->timeline)
        for (guint i = 0; i < c->schedule->len; i++)
            tl_step_close(w, i);
    w->stats.liveness_view_us = w->views_agree ? 0 : -1;
    for (uint32_t i = 0; i < w->n; i++) {
        sim_node *nd = &w->nodes[i];
        node_restart(w, nd);
        node_resume(w, nd);
    }
    for (uint32_t i = 0; i < w->n; i++) {
        sim_node *nd = &w->nodes[i];
        for (uint32_t l = 0; l < c->locks; l++) {
            sim_client *cl = &nd->clients[l];
            cancel(w, &cl->arrival);
            client_drop_waiting(w, nd, l, cl);
            cl->live_wanted = true;
            dm_checker_expect(w->checker, live_id(w, i, l), i, w->lock_names[l], w->live_deadline);
            w->stats.liveness_requests++;
            if (cl->state == CL_HOLDING)
                client_action(w, cl, ACT_RELEASE, w->now);
            else if (cl->state == CL_IDLE)
                client_action(w, cl, ACT_REQUEST, w->now);
        }
    }
    schedule(w, &w->phase_ev, w->live_deadline);
}

/* ---------------------------------------------------------------- the loop */

bool inbox_push(dm_world *w, sim_node *nd, sim_msg *sm)
{
    if (nd->inbox_len >= w->cfg->pause_buffer) {
        w->stats.dropped_overflow++;
        return false;
    }
    if (nd->inbox_tail)
        nd->inbox_tail->next = sm;
    else
        nd->inbox = sm;
    nd->inbox_tail = sm;
    sm->next = NULL;
    nd->inbox_len++;
    return true;
}

/* A message reaches its destination (EV_DELIVER). */
static G_GNUC_NO_INLINE void ev_deliver(dm_world *w, sim_msg *sm)
{
    sim_node *nd = &w->nodes[sm->ev.node];
    fold_msg(w, &sm->msg);
    if (nd->state == NODE_DOWN) {
        w->stats.dropped_down++;
    } else if (dm_simnet_is_cut(w->net, sm->msg.from, sm->msg.to)) {
        /* It was in flight when the cut came. */
        w->stats.dropped_cut++;
    } else if (is_slow(nd)) {
        slow_enqueue(w, nd, sm);   /* read later, after what arrived before it */
        return;
    } else if (nd->state == NODE_PAUSED) {
        if (inbox_push(w, nd, sm))
            return;
    } else {
        deliver(w, nd, sm);
    }
    msg_free(w, sm);
}

/* A node's deadline (EV_TICK). */
static G_GNUC_NO_INLINE void ev_tick(dm_world *w, sim_node *nd)
{
    int64_t now = local_now(nd);
    dm_node_tick(nd->core, now);
    int64_t dl = dm_node_next_deadline(nd->core);
    if (dl <= now) {
        /* Everything due by `now` was just handled: a deadline still
         * due is a core that would spin. Count it and move on. */
        w->stats.stuck_ticks++;
        TRACE(w, nd->id, "API: deadline still due after a tick");
        schedule(w, &nd->tick, dm_simclock_global(&nd->clock, now + 1));
        nd->tick_local = now + 1;
        return;
    }
    if (nd->state == NODE_UP)   /* as node_sync: a tap may have paused it */
        tick_at(w, nd, dl);
}

/* Every kind but the two that make up nearly every run (handle). */
static G_GNUC_NO_INLINE void handle_rest(dm_world *w, sim_event *ev)
{
    sim_node *nd = ev->node < w->n ? &w->nodes[ev->node] : NULL;
    switch ((ev_kind)ev->kind) {
    case EV_DELIVER:
        ev_deliver(w, (sim_msg *)ev);
        return;
    case EV_TICK:
        ev_tick(w, nd);
        return;
    case EV_ARRIVAL:
    case EV_ACTION:
        client_timer(w, nd, ev->arg, &nd->clients[ev->arg], ev->kind == EV_ARRIVAL);
        return;
    case EV_RESUME:
        node_resume(w, nd);
        return;
    case EV_RESTART:
        node_restart(w, nd);
        return;
    case EV_GEN:
        faults_fire(w, (int)ev->arg);
        gen_next(w, (int)ev->arg);
        return;
    case EV_STEP:
        run_step(w, ev->arg);
        return;
    case EV_UNDO:
        undo_step(w, ev->arg);
        return;
    case EV_HEAL:
        heal(w);
        return;
    case EV_PHASE:
        if (w->phase == PHASE_FAULTS) {
            start_liveness(w);
        } else {
            dm_checker_check_deadlines(w->checker, w->now);
            observe_phase_end(w, PHASE_LIVENESS);
            w->phase = PHASE_DONE;
        }
        return;
    case EV_CRASH_COUNT:
        crash_count_fire(w);
        return;
    case EV_CHURN:
        churn_flip(w, nd);
        return;
    case EV_READ:
        if (!slow_read(w, nd, (sim_msg *)ev))
            msg_free(w, (sim_msg *)ev);
        return;
    case EV_SLOW_END:
        node_slow_end(w, nd);
        return;
    }
}

/* Messages and timers first: each is one jump from here, without the
 * frame that the other kinds' calls need. */
void handle(dm_world *w, sim_event *ev)
{
    if (ev->kind == EV_DELIVER)
        ev_deliver(w, (sim_msg *)ev);
    else if (ev->kind == EV_TICK)
        ev_tick(w, &w->nodes[ev->node]);
    else
        handle_rest(w, ev);
}

/* One popped event, and what follows every event: the observers, the
 * liveness phase's end. dm_world_run and dm_world_step share it. */
static inline void process(dm_world *w, dm_heap_entry *e)
{
    sim_event *ev = (sim_event *)e;
    if (w->tl_next < e->at)
        tl_until(w, e->at, false);   /* never when there is no timeline */
    w->now = e->at;
    w->stats.events++;
    w->stats.popped++;
    w->stats.queued_sum += dm_heap_len(&w->heap);
    fold(w, (uint64_t)w->now);
    fold(w, (uint64_t)ev->kind | (uint64_t)ev->node << 8 | (uint64_t)ev->arg << 40);
    handle(w, ev);
    observe_event(w);
    if (w->phase == PHASE_LIVENESS) {
        dm_checker_check_deadlines(w->checker, w->now);
        if (dm_checker_pending(w->checker) == 0 && w->views_agree) {
            TRACE(w, -1, "liveness: every request granted, views agree");
            w->phase = PHASE_DONE;
        }
    }
}

void dm_world_run(dm_world *w)
{
    if (w->phase == PHASE_DONE)
        return;
    dm_heap_entry *e;
    while (w->phase != PHASE_DONE && (e = dm_heap_pop(&w->heap)) != NULL)
        process(w, e);
    w->phase = PHASE_DONE;
    observe_report(w);
    if (w->timeline)
        tl_finish(w);
    w->stats.sim_us = w->now;
    for (uint32_t i = 0; i < w->n; i++)
        if (w->nodes[i].state != NODE_DOWN)
            w->stats.node_up_us += w->now - w->nodes[i].up_since;
    const dm_simnet_stats *ns = dm_simnet_get_stats(w->net);
    w->stats.duplicated = ns->duplicated;
    w->stats.reordered = ns->reordered;
    /* Attempts the run ended in the middle of. */
    for (uint32_t i = 0; i < w->n; i++)
        for (uint32_t l = 0; l < w->cfg->locks; l++) {
            sim_client *cl = &w->nodes[i].clients[l];
            if (cl->state != CL_IDLE)
                csv_row(w, &w->nodes[i], l, cl, -1, cl->state == CL_HOLDING ? "granted" : "pending");
        }
    dm_trace_flush(&w->trace);
    if (w->csv)
        fflush(w->csv);
    if (w->csv_members)
        fflush(w->csv_members);
}

/* ---------------------------------------------------------------- setup */

dm_world *dm_world_new(const dm_sim_config *cfg)
{
    dm_world *w = g_new0(dm_world, 1);
    w->cfg = cfg;
    w->n = cfg->nodes;
    dm_heap_init(&w->heap);
    dm_trace_init(&w->trace);
    w->slabs = g_ptr_array_new_with_free_func(g_free);
    w->checker = dm_checker_new(w->n);
    dm_checker_set_margin(w->checker, dm_config_lost_margin(&cfg->core));
    w->detections = g_array_new(FALSE, FALSE, sizeof(dm_world_detection));
    w->latencies = g_array_new(FALSE, FALSE, sizeof(double));
    w->census = g_array_new(FALSE, FALSE, sizeof(view_count));
    w->dirty = g_new(uint32_t, cfg->nodes);
    w->cur_shape = -1;
    w->views_agree = true;
    w->stats.violation_at = -1;
    w->stats.violation_shape = -1;
    w->stats.violation_holder_in_view = -1;
    w->stats.liveness_view_us = -1;
    w->tl_next = INT64_MAX;
    w->tl_part_at = -1;
    uint32_t *ids = g_new(uint32_t, w->n);
    for (uint32_t i = 0; i < w->n; i++)
        ids[i] = i;
    if (dm_quorum_new(cfg->core.quorum, ids, w->n, &w->full_quorum) < 0)
        g_error("simulator: cannot build the tree over %u members", w->n);
    g_free(ids);
    w->down_mask = g_new0(uint8_t, w->n);

    dm_prng p;
    dm_prng_derive(&p, cfg->seed, "network", 0);
    w->net = dm_simnet_new(w->n, &cfg->net, &p);
    set_rates(w, cfg->net.loss, cfg->net.dup, cfg->net.reorder);
    dm_prng_derive(&w->fault_prng, cfg->seed, "faults", 0);
    dm_prng_derive(&w->work_prng, cfg->seed, "workload", 0);

    w->lock_names = g_new0(char *, cfg->locks + 1);
    w->lock_index = g_hash_table_new(g_str_hash, g_str_equal);
    for (uint32_t l = 0; l < cfg->locks; l++) {
        w->lock_names[l] = g_strdup_printf("lock%u", l);
        g_hash_table_insert(w->lock_index, w->lock_names[l], GUINT_TO_POINTER(l + 1));
    }

    w->nodes = g_new0(sim_node, w->n);
    /* A wiped node recovers from one quorum without it in every placement
     * its cluster uses (core/node.c, recovery). */
    uint32_t placements = cfg->core.spread ? dm_quorum_placements(w->full_quorum) : 1;
    for (uint32_t i = 0; i < w->n; i++) {
        w->down_mask[i] = 1;
        w->nodes[i].recoverable = true;
        for (uint32_t k = 0; k < placements; k++)
            w->nodes[i].recoverable &= dm_quorum_exists_at(w->full_quorum, k, w->down_mask);
        w->down_mask[i] = 0;
    }
    w->clients = g_new0(sim_client, (gsize)w->n * cfg->locks);
    for (uint32_t i = 0; i < w->n; i++) {
        sim_node *nd = &w->nodes[i];
        nd->w = w;
        nd->id = i;
        event_init(&nd->tick, EV_TICK, i, 0);
        event_init(&nd->resume, EV_RESUME, i, 0);
        event_init(&nd->restart, EV_RESTART, i, 0);
        event_init(&nd->churn, EV_CHURN, i, 0);
        event_init(&nd->slow_end, EV_SLOW_END, i, 0);
        nd->tl_crashed_at = nd->tl_paused_at = nd->tl_slow_at = -1;
        dm_prng_derive(&nd->prng, cfg->seed, "node", i);
        dm_prng_derive(&nd->churn_prng, cfg->seed, "churn", i);
        /* The node's own stream also sets its clock, so that the cluster
         * size changes no existing node's clock. */
        int64_t offset = (int64_t)dm_prng_below(&nd->prng, (uint64_t)cfg->clock_offset_us + 1);
        int64_t rate = drift_draw(w, &nd->prng);
        if (cfg->clock_rates && i < cfg->clock_rates->len)
            rate = g_array_index(cfg->clock_rates, int64_t, i);
        dm_simclock_init(&nd->clock, 0, offset, rate);
        nd->persisted = g_byte_array_new();
        nd->clients = &w->clients[(gsize)i * cfg->locks];
        for (uint32_t l = 0; l < cfg->locks; l++) {
            event_init(&nd->clients[l].arrival, EV_ARRIVAL, i, l);
            event_init(&nd->clients[l].action, EV_ACTION, i, l);
        }
    }
    for (int k = 0; k < DM_FAULT_MAX; k++)
        event_init(&w->gen[k], EV_GEN, UINT32_MAX, (uint32_t)k);
    w->steps = g_new0(sim_step, cfg->schedule->len);
    for (guint i = 0; i < cfg->schedule->len; i++) {
        event_init(&w->steps[i].ev, EV_STEP, UINT32_MAX, i);
        event_init(&w->steps[i].undo, EV_UNDO, UINT32_MAX, i);
        w->steps[i].tl_from = -1;
    }
    event_init(&w->heal, EV_HEAL, UINT32_MAX, 0);
    event_init(&w->phase_ev, EV_PHASE, UINT32_MAX, 0);
    event_init(&w->crash_ev, EV_CRASH_COUNT, UINT32_MAX, 0);

    /* Time 0: every node starts -- as a bootstrap: none ran before -- except
     * those churn holds down; the first faults and arrivals are drawn. */
    faults_start(w);
    for (uint32_t i = 0; i < w->n; i++)
        if (w->nodes[i].state != NODE_DOWN)
            node_start(w, &w->nodes[i]);
    observe_start(w);
    faults_arm(w);
    schedule(w, &w->phase_ev, cfg->duration_us);
    return w;
}

void dm_world_free(dm_world *w)
{
    if (!w)
        return;
    for (uint32_t i = 0; i < w->n; i++) {
        dm_node_free(w->nodes[i].core);
        g_byte_array_unref(w->nodes[i].persisted);
    }
    g_free(w->nodes);
    for (gsize i = 0; i < (gsize)w->n * w->cfg->locks; i++)
        if (w->clients[i].waiting)
            g_array_free(w->clients[i].waiting, TRUE);
    g_free(w->clients);
    g_free(w->steps);
    g_hash_table_destroy(w->lock_index);
    g_strfreev(w->lock_names);
    dm_checker_free(w->checker);
    g_array_free(w->detections, TRUE);
    g_array_free(w->latencies, TRUE);
    g_array_free(w->census, TRUE);
    g_free(w->dirty);
    dm_quorum_free(w->full_quorum);
    g_free(w->down_mask);
    if (w->tl_row)
        g_string_free(w->tl_row, TRUE);
    if (w->tl_part)
        g_string_free(w->tl_part, TRUE);
    g_free(w->tl_quorum);
    dm_simnet_free(w->net);
    dm_trace_clear(&w->trace);
    g_ptr_array_free(w->slabs, TRUE);
    dm_heap_clear(&w->heap);
    g_free(w);
}

void dm_world_set_trace(dm_world *w, FILE *out)
{
    dm_trace_enable(&w->trace, out);
}

const char *dm_world_trace_text(const dm_world *w)
{
    return dm_trace_text(&w->trace);
}

void dm_world_set_csv(dm_world *w, FILE *out)
{
    w->csv = out;
}

void dm_world_set_csv_members(dm_world *w, FILE *out)
{
    w->csv_members = out;
}

uint32_t dm_world_detection_count(const dm_world *w)
{
    return w->detections->len;
}

const dm_world_detection *dm_world_detection_get(const dm_world *w, uint32_t i)
{
    g_return_val_if_fail(i < w->detections->len, NULL);
    return &g_array_index(w->detections, dm_world_detection, i);
}

const double *dm_world_latencies(const dm_world *w, uint32_t *count)
{
    *count = w->latencies->len;
    return (const double *)(void *)w->latencies->data;
}

bool dm_world_views_agree(const dm_world *w)
{
    return w->views_agree;
}

void dm_world_set_tap(dm_world *w, uint32_t node, const dm_world_tap *tap, void *user)
{
    g_return_if_fail(node < w->n);
    w->nodes[node].tap = tap;
    w->nodes[node].tap_user = user;
}

void dm_world_record_faults(dm_world *w, GArray *steps)
{
    w->record = steps;
}

uint64_t dm_world_hash(const dm_world *w)
{
    return w->trace.hash;
}

const dm_world_stats *dm_world_get_stats(const dm_world *w)
{
    return &w->stats;
}

dm_checker *dm_world_checker(const dm_world *w)
{
    return w->checker;
}

bool dm_world_failed(const dm_world *w)
{
    return dm_checker_violation_count(w->checker) > 0 || w->stats.codec_errors > 0 ||
           w->stats.api_errors > 0 || w->stats.start_failures > 0 || w->stats.stuck_ticks > 0;
}

/* ---------------------------------------------------------------- stepping
 *
 * The world driven by hand (world.h, "stepping"; sim/cluster.c builds the
 * test fixture on it): the same loop body as dm_world_run, one event at a
 * time, and the fault actions of the scripted steps as calls. */

int64_t dm_world_now(const dm_world *w)
{
    return w->now;
}

int64_t dm_world_next_at(const dm_world *w)
{
    const dm_heap_entry *e = dm_heap_peek(&w->heap);
    return e ? e->at : INT64_MAX;
}

bool dm_world_step(dm_world *w)
{
    dm_heap_entry *e = dm_heap_pop(&w->heap);
    if (!e)
        return false;
    process(w, e);
    return true;
}

int dm_world_advance(dm_world *w, int64_t t)
{
    if (t < w->now || dm_world_next_at(w) < t)
        return -DM_EINVAL;
    if (w->tl_next < t)
        tl_until(w, t, false);
    w->now = t;
    return 0;
}

static sim_node *node_at(const dm_world *w, uint32_t i)
{
    return i < w->n ? &w->nodes[i] : NULL;
}

dm_node *dm_world_node(const dm_world *w, uint32_t i)
{
    const sim_node *nd = node_at(w, i);
    return nd && nd->state != NODE_DOWN ? nd->core : NULL;
}

bool dm_world_node_paused(const dm_world *w, uint32_t i)
{
    const sim_node *nd = node_at(w, i);
    return nd && nd->state == NODE_PAUSED;
}

int64_t dm_world_local_now(const dm_world *w, uint32_t i)
{
    const sim_node *nd = node_at(w, i);
    return nd ? local_now(nd) : w->now;
}

int64_t dm_world_global(const dm_world *w, uint32_t i, int64_t local)
{
    const sim_node *nd = node_at(w, i);
    return nd ? dm_simclock_global(&nd->clock, local) : local;
}

int dm_world_sync(dm_world *w, uint32_t i)
{
    sim_node *nd = node_at(w, i);
    if (!nd || !node_live(nd))
        return -DM_EINVAL;
    observe_view(w, nd);
    node_sync(w, nd);
    observe_event(w);
    return 0;
}

/* Apply one process fault to node i if it is in `state` (or, with `not`,
 * in any other state); the world's bookkeeping follows as for a scripted
 * step. */
static int node_fault(dm_world *w, uint32_t i, bool not, node_state state,
                      void (*apply)(dm_world *, sim_node *))
{
    sim_node *nd = node_at(w, i);
    if (!nd || (nd->state == state) == not)
        return -DM_EINVAL;
    apply(w, nd);
    observe_event(w);
    return 0;
}

static void pause_forever(dm_world *w, sim_node *nd)
{
    node_pause(w, nd, 0);
}

int dm_world_crash(dm_world *w, uint32_t i)
{
    return node_fault(w, i, true, NODE_DOWN, node_crash);
}

int dm_world_wipe(dm_world *w, uint32_t i)
{
    return node_fault(w, i, true, NODE_DOWN, node_wipe);
}

int dm_world_restart(dm_world *w, uint32_t i)
{
    int rc = node_fault(w, i, false, NODE_DOWN, node_restart);
    return rc < 0 ? rc : w->nodes[i].state == NODE_DOWN ? -DM_EINVAL : 0;
}

int dm_world_pause(dm_world *w, uint32_t i)
{
    return node_fault(w, i, false, NODE_UP, pause_forever);
}

int dm_world_resume(dm_world *w, uint32_t i)
{
    return node_fault(w, i, false, NODE_PAUSED, node_resume);
}

const uint8_t *dm_world_persisted(const dm_world *w, uint32_t i, size_t *len)
{
    const sim_node *nd = node_at(w, i);
    *len = nd ? nd->persisted->len : 0;
    return nd ? nd->persisted->data : NULL;
}

int dm_world_set_persisted(dm_world *w, uint32_t i, const void *bytes, size_t len)
{
    sim_node *nd = node_at(w, i);
    if (!nd || nd->state != NODE_DOWN || (len > 0 && !bytes) || len > G_MAXUINT)
        return -DM_EINVAL;
    g_byte_array_set_size(nd->persisted, 0);
    g_byte_array_append(nd->persisted, bytes, (guint)len);
    nd->wiped = false;
    return 0;
}

int dm_world_isolate(dm_world *w, uint32_t i)
{
    if (i >= w->n)
        return -DM_EINVAL;
    partition(w, DM_SHAPE_ISOLATE, i, NULL, 0);
    return 0;
}

int dm_world_cut(dm_world *w, uint32_t from, uint32_t to, bool cut)
{
    if (from >= w->n || to >= w->n || from == to)
        return -DM_EINVAL;
    dm_simnet_set_cut(w->net, from, to, cut);
    return 0;
}

void dm_world_heal(dm_world *w)
{
    heal(w);
}

int dm_world_set_rates(dm_world *w, double loss, double dup, double reorder)
{
    if (!(loss >= 0 && loss <= 1 && dup >= 0 && dup <= 1 && reorder >= 0 && reorder <= 1))
        return -DM_EINVAL;
    set_rates(w, loss, dup, reorder);
    return 0;
}

int dm_world_send(dm_world *w, const dm_msg *m)
{
    if (!m || m->from >= w->n || m->to >= w->n || m->from == m->to)
        return -DM_EINVAL;
    route(w, &w->nodes[m->from], m, false);   /* a test's message: checked on arrival */
    return 0;
}
