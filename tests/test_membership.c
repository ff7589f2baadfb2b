/* Tests of core/membership: SWIM with Lifeguard.
 *
 * Two harnesses:
 *  - `solo`: one module (member 0) whose sends are collected; the test plays
 *    every other member by handing it crafted messages, and optionally
 *    answers its PINGs with ACKs (then its own probes never fail). Used for
 *    the precedence table, refutation, the suspicion timer and SYNC.
 *  - the simulator's cluster fixture (sim/cluster.h): N nodes running SWIM
 *    (the `ae` policy, no lock traffic) on the world's event loop and
 *    network; crashes, pauses (inbound buffered), partitions, loss, dropped
 *    ACKs (a send tap). Every sent message is checked (datagram budget,
 *    buddy first, unused fields zero); the world's trace hash serves the
 *    determinism test.
 * Every loop is bounded by simulated time.
 */
#include <math.h>
#include <string.h>
#include <glib.h>

#include "testlib.h"
#include "cluster.h"
#include "error.h"
#include "membership.h"
#include "prng.h"
#include "simnet.h"

#define MS 1000
#define SEC 1000000
#define N_EV (DM_MEMBER_EV_LEFT + 1)

static dm_swim_config default_cfg(uint32_t n)
{
    dm_swim_config cfg;
    dm_swim_config_defaults(&cfg);
    cfg.n_members = n;
    return cfg;
}

/* K of membership.h, restated: suspicion_mult - 2, 0 when n - 2 < K or
 * without Lifeguard. */
static uint32_t expected_k(const dm_swim_config *c)
{
    int64_t k = (int64_t)c->suspicion_mult - 2;
    return k < 0 || (int64_t)c->n_members - 2 < k || !c->lifeguard ? 0 : (uint32_t)k;
}

/* The suspicion timeout of membership.h, restated. */
static int64_t expected_timeout(const dm_swim_config *c, uint32_t confirmations)
{
    double min = c->suspicion_mult * fmax(1.0, log10(c->n_members)) * (double)c->probe_interval_us;
    double max = min * c->suspicion_max_mult;
    uint32_t k = expected_k(c);
    if (k == 0)
        return (int64_t)min;
    double t = max - (max - min) * log(MIN(confirmations, k) + 1.0) / log(k + 1.0);
    return (int64_t)floor(fmax(min, t));
}

/* ================================================================= solo */

typedef struct solo {
    dm_membership *m;
    dm_swim_config cfg;
    int64_t now;
    bool answer_pings;       /* play the others as alive */
    GArray *sent;            /* dm_msg */
    GArray *sent_at;         /* int64_t: when each of sent[] left */
    GArray *events;          /* dm_member_event */
    GArray *event_at;        /* int64_t */
    GArray *replies;         /* dm_msg: ACKs to deliver */
} solo;

/* A membership message from `from` to `to` without updates. */
static dm_msg probe_msg(dm_msg_type type, uint32_t from, uint32_t to, uint64_t value,
                        uint32_t target)
{
    dm_msg msg;
    memset(&msg, 0, sizeof msg);
    msg.type = type;
    msg.from = (uint16_t)from;
    msg.to = (uint16_t)to;
    msg.value = value;
    msg.target = target;
    return msg;
}

static void solo_send(void *user, dm_msg *msg)
{
    solo *s = user;
    CU_ASSERT(msg->n_updates <= DM_MSG_MAX_UPDATES);
    g_array_append_val(s->sent, *msg);
    g_array_append_val(s->sent_at, s->now);
    if (s->answer_pings && msg->type == DM_MSG_PING) {
        dm_msg ack = probe_msg(DM_MSG_ACK, msg->to, msg->from, msg->value, msg->to);
        g_array_append_val(s->replies, ack);
    }
}

static void solo_event(void *user, const dm_member_event *ev)
{
    solo *s = user;
    g_array_append_val(s->events, *ev);
    g_array_append_val(s->event_at, s->now);
}

static const dm_membership_driver solo_driver = { solo_send, solo_event };

static void solo_init(solo *s, const dm_swim_config *cfg, bool answer_pings)
{
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    s->now = 10 * SEC;
    s->answer_pings = answer_pings;
    s->sent = g_array_new(FALSE, FALSE, sizeof(dm_msg));
    s->sent_at = g_array_new(FALSE, FALSE, sizeof(int64_t));
    s->events = g_array_new(FALSE, FALSE, sizeof(dm_member_event));
    s->event_at = g_array_new(FALSE, FALSE, sizeof(int64_t));
    s->replies = g_array_new(FALSE, FALSE, sizeof(dm_msg));
    int rc = dm_membership_new(&s->cfg, &solo_driver, s, s->now, &s->m);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
}

static void solo_free(solo *s)
{
    dm_membership_free(s->m);
    g_array_free(s->sent, TRUE);
    g_array_free(s->sent_at, TRUE);
    g_array_free(s->events, TRUE);
    g_array_free(s->event_at, TRUE);
    g_array_free(s->replies, TRUE);
}

static void solo_clear(solo *s)
{
    g_array_set_size(s->sent, 0);
    g_array_set_size(s->sent_at, 0);
    g_array_set_size(s->events, 0);
    g_array_set_size(s->event_at, 0);
}

static void solo_deliver_replies(solo *s)
{
    while (s->replies->len > 0) {
        dm_msg ack = g_array_index(s->replies, dm_msg, 0);
        g_array_remove_index(s->replies, 0);
        CU_ASSERT_EQUAL(dm_membership_receive(s->m, s->now, &ack), 0);
    }
}

/* Tick the module at each of its deadlines up to `until`. */
static void solo_run(solo *s, int64_t until)
{
    for (;;) {
        solo_deliver_replies(s);
        int64_t at = dm_membership_next_deadline(s->m);
        if (at > until)
            break;
        if (at > s->now)
            s->now = at;
        dm_membership_tick(s->m, s->now);
    }
    s->now = until;
}

/* Member `from` sends the module a message of `type` carrying `n` updates. */
static int solo_inject(solo *s, dm_msg_type type, uint32_t from, uint64_t value,
                       const dm_member_update *u, uint32_t n)
{
    dm_msg msg;
    memset(&msg, 0, sizeof msg);
    msg.type = type;
    msg.from = (uint16_t)from;
    msg.to = (uint16_t)s->cfg.self;
    msg.value = value;
    msg.n_updates = (uint8_t)n;
    if (n > 0)
        memcpy(msg.updates, u, n * sizeof *u);
    int rc = dm_membership_receive(s->m, s->now, &msg);
    solo_deliver_replies(s);
    return rc;
}

/* Member `from` relays (state, inc) about `member` as declared by `accuser`. */
static void solo_update_by(solo *s, uint32_t from, uint32_t accuser, uint32_t member,
                           uint8_t state, uint32_t inc)
{
    dm_member_update u = {
        .member = (uint16_t)member, .accuser = (uint16_t)accuser, .state = state,
        .incarnation = inc,
    };
    CU_ASSERT_EQUAL(solo_inject(s, DM_MSG_PING, from, 77, &u, 1), 0);
}

/* Member `from` tells its own news: an accusation it raised (SUSPECT,
 * DEAD), or the member's own ALIVE or LEFT. */
static void solo_update(solo *s, uint32_t from, uint32_t member, uint8_t state, uint32_t inc)
{
    bool own = state == DM_MEMBER_ALIVE || state == DM_MEMBER_LEFT;
    solo_update_by(s, from, own ? member : from, member, state, inc);
}

static uint32_t solo_count_events(const solo *s, dm_member_event_type type, uint32_t member)
{
    uint32_t c = 0;
    for (guint i = 0; i < s->events->len; i++) {
        const dm_member_event *ev = &g_array_index(s->events, dm_member_event, i);
        c += ev->type == type && ev->member == member;
    }
    return c;
}

static bool has_update(const dm_msg *msg, uint32_t member, uint8_t state, uint32_t inc)
{
    for (uint32_t i = 0; i < msg->n_updates; i++)
        if (msg->updates[i].member == member && msg->updates[i].state == state &&
            msg->updates[i].incarnation == inc)
            return true;
    return false;
}

/* Exchange empty PINGs until the module's update queue is empty. */
static void solo_drain(solo *s)
{
    for (int i = 0; i < 64; i++)
        CU_ASSERT_EQUAL(solo_inject(s, DM_MSG_PING, 1, 99, NULL, 0), 0);
}

/* ============================================================== cluster */

/* N nodes with SWIM on the simulator's cluster fixture (sim/cluster.h):
 * the `ae` policy and no lock traffic, so what moves is membership; a
 * network of 200 us plus an exponential jitter of mean 1 ms. A watch on
 * every node checks each message sent, and plays the sabotages a test asks
 * for (a node whose ACKs are all lost) and counts what a test looks at. */

typedef struct watch {
    dm_cluster *c;
    uint32_t n;
    uint32_t drop_acks_of;    /* every ACK this node sends is lost; UINT32_MAX: none */
    uint32_t *buddy_accused;  /* [n] arrivals opening with an accusation of the receiver */
    uint64_t full_messages;   /* messages carrying DM_MSG_MAX_UPDATES updates */
    GArray *first_push;       /* when non-NULL: the SYNCs of the first push/pull */
} watch;

/* What every sent message must satisfy, whatever the scenario. */
static void check_message(const watch *wt, uint32_t from, const dm_msg *msg)
{
    CU_ASSERT(dm_cluster_is_up(wt->c, from) && !dm_world_node_paused(dm_cluster_world(wt->c), from));
    CU_ASSERT_EQUAL(msg->from, from);
    CU_ASSERT(msg->to < wt->n && msg->to != from);
    CU_ASSERT(msg->n_updates <= DM_MSG_MAX_UPDATES);
    CU_ASSERT((msg->type >= DM_MSG_PING && msg->type <= DM_MSG_SYNC) ||
              msg->type == DM_MSG_GOSSIP);
    CU_ASSERT(msg->name_len == 0 && msg->name[0] == 0);
    /* (The node stamps its Lamport clock on every message it sends.) */
    CU_ASSERT(msg->attempt == 0 && msg->grant == 0 && msg->round == 0);
    for (uint32_t i = 0; i < msg->n_updates; i++) {
        /* A member declares its own ALIVE and LEFT, and never accuses
         * itself (SUSPECT, DEAD). */
        const dm_member_update *u = &msg->updates[i];
        CU_ASSERT(u->accuser < wt->n);
        CU_ASSERT_EQUAL(u->accuser == u->member,
                        u->state == DM_MEMBER_ALIVE || u->state == DM_MEMBER_LEFT);
    }
    if (msg->type == DM_MSG_SYNC) {
        CU_ASSERT_EQUAL(msg->value & ~(uint64_t)DM_SYNC_FLAGS, 0);
        return;
    }
    /* The buddy's update, when present, comes first; no member twice. */
    uint32_t buddy = msg->type == DM_MSG_PING_REQ ? msg->target : msg->to;
    guint8 seen[DM_MAX_MEMBERS / 8] = {0};
    for (uint32_t i = 0; i < msg->n_updates; i++) {
        uint32_t id = msg->updates[i].member;
        CU_ASSERT(id < wt->n);
        CU_ASSERT(i == 0 || id != buddy);
        CU_ASSERT_FALSE(seen[id / 8] & (1u << (id % 8)));
        seen[id / 8] |= (guint8)(1u << (id % 8));
    }
}

static bool watch_send(void *user, uint32_t from, dm_msg *msg)
{
    watch *wt = user;
    check_message(wt, from, msg);
    wt->full_messages += msg->n_updates == DM_MSG_MAX_UPDATES;
    if (msg->type == DM_MSG_SYNC && wt->first_push) {
        /* the first push/pull exchange: between the first pair only */
        const dm_msg *p = wt->first_push->len ? &g_array_index(wt->first_push, dm_msg, 0) : NULL;
        if (!p || (msg->from == p->from && msg->to == p->to) ||
            (msg->from == p->to && msg->to == p->from))
            g_array_append_val(wt->first_push, *msg);
    }
    return !(from == wt->drop_acks_of && msg->type == DM_MSG_ACK);
}

static bool watch_receive(void *user, uint32_t to, dm_msg *msg)
{
    watch *wt = user;
    const dm_member_update *u = &msg->updates[0];
    wt->buddy_accused[to] += msg->n_updates > 0 && u->member == to && u->state != DM_MEMBER_ALIVE;
    return true;
}

static const dm_world_tap watch_tap = { .receive = watch_receive, .send = watch_send };

/* A cluster of n with SWIM timing `swim` (NULL: memberlist's LAN profile). */
static dm_cluster *swim_cluster(uint32_t n, uint64_t seed, const dm_swim_config *swim, watch *wt)
{
    dm_sim_config cfg;
    dm_cluster_config(&cfg, n);
    cfg.seed = seed;
    cfg.core.membership = true;
    if (swim)
        cfg.core.swim = *swim;
    cfg.net.latency_us = 200;
    cfg.net.jitter_us = 1 * MS;
    GError *err = NULL;
    dm_cluster *c = dm_cluster_new(&cfg, &err);
    if (!c)
        g_error("%s", err->message);
    dm_sim_config_clear(&cfg);
    memset(wt, 0, sizeof *wt);
    wt->c = c;
    wt->n = n;
    wt->drop_acks_of = UINT32_MAX;
    wt->buddy_accused = g_new0(uint32_t, n);
    for (uint32_t i = 0; i < n; i++)
        dm_cluster_set_tap(c, i, &watch_tap, wt);
    return c;
}

static void swim_free(dm_cluster *c, watch *wt)
{
    dm_cluster_free(c);
    g_free(wt->buddy_accused);
    if (wt->first_push)
        g_array_free(wt->first_push, TRUE);
}

static const dm_membership *mship(const dm_cluster *c, uint32_t i)
{
    return dm_cluster_membership(c, i);
}

static int64_t now(const dm_cluster *c)
{
    return dm_cluster_now(c);
}

static void run_to(dm_cluster *c, int64_t t)
{
    dm_cluster_run_until(c, t);
}

/* Run until pred holds (checked every `every` simulated µs) or `until`.
 * Returns the time pred first held, or INT64_MAX. */
static int64_t run_until_every(dm_cluster *c, int64_t until, int64_t every,
                               bool (*pred)(const dm_cluster *))
{
    while (now(c) < until) {
        if (pred(c))
            return now(c);
        run_to(c, MIN(until, now(c) + every));
    }
    return pred(c) ? now(c) : INT64_MAX;
}

/* --------------------------------------------------------- checkers */

/* All live members hold the same view. */
static bool agree(const dm_cluster *c)
{
    bool have = false;
    uint64_t h = 0;
    for (uint32_t i = 0; i < dm_cluster_size(c); i++) {
        if (!dm_cluster_is_up(c, i))
            continue;
        uint64_t x = dm_membership_view_hash(mship(c, i));
        if (have && x != h)
            return false;
        h = x;
        have = true;
    }
    return true;
}

/* Every live member holds every live member ALIVE and every crashed one out
 * of its view, and they agree. */
static bool all_alive(const dm_cluster *c)
{
    return dm_cluster_converged(c);
}

static uint32_t events(const dm_cluster *c, dm_member_event_type type, uint32_t about)
{
    return dm_cluster_member_events(c, DM_CLUSTER_ALL, about, type);
}

static uint32_t events_all(const dm_cluster *c, dm_member_event_type type)
{
    return dm_cluster_member_events(c, DM_CLUSTER_ALL, DM_CLUSTER_ALL, type);
}

static int64_t first_event(const dm_cluster *c, dm_member_event_type type, uint32_t about)
{
    return dm_cluster_member_event_first(c, DM_CLUSTER_ALL, about, type);
}

/* ================================================================ tests */

static void test_config(void)
{
    dm_swim_config cfg = default_cfg(4);
    dm_membership *m = NULL;
    CU_ASSERT_EQUAL(dm_membership_new(&cfg, &solo_driver, NULL, 0, NULL), -DM_EINVAL);
    cfg.self = 4;
    CU_ASSERT_EQUAL(dm_membership_new(&cfg, &solo_driver, NULL, 0, &m), -DM_EINVAL);
    cfg = default_cfg(0);
    CU_ASSERT_EQUAL(dm_membership_new(&cfg, &solo_driver, NULL, 0, &m), -DM_EINVAL);
    cfg = default_cfg(DM_MAX_MEMBERS + 1);
    CU_ASSERT_EQUAL(dm_membership_new(&cfg, &solo_driver, NULL, 0, &m), -DM_EINVAL);
    cfg = default_cfg(4);
    cfg.probe_timeout_us = cfg.probe_interval_us;
    CU_ASSERT_EQUAL(dm_membership_new(&cfg, &solo_driver, NULL, 0, &m), -DM_EINVAL);
    cfg = default_cfg(4);
    cfg.awareness_max = 0;
    CU_ASSERT_EQUAL(dm_membership_new(&cfg, &solo_driver, NULL, 0, &m), -DM_EINVAL);
    dm_membership_driver nosend = { NULL, solo_event };
    cfg = default_cfg(4);
    CU_ASSERT_EQUAL(dm_membership_new(&cfg, &nosend, NULL, 0, &m), -DM_EINVAL);
    CU_ASSERT_PTR_NULL(m);

    /* Fresh: everyone ALIVE at 0 (ourselves at the configured number). */
    cfg.incarnation = 9;
    solo s;
    solo_init(&s, &cfg, true);
    CU_ASSERT_EQUAL(dm_membership_view_size(s.m), 4);
    CU_ASSERT_EQUAL(dm_membership_incarnation(s.m), 9);
    for (uint32_t i = 0; i < 4; i++)
        CU_ASSERT(dm_membership_is_alive(s.m, i));
    CU_ASSERT_FALSE(dm_membership_in_view(s.m, 4));
    dm_member_info info;
    dm_membership_info(s.m, 2, &info);
    CU_ASSERT_EQUAL(info.state, DM_MEMBER_ALIVE);
    CU_ASSERT_FALSE(info.joined);
    CU_ASSERT(dm_membership_next_deadline(s.m) < s.now + cfg.probe_interval_us);

    /* Wrong types and malformed messages change nothing. */
    dm_member_update bad = { .member = 4, .accuser = 1, .state = DM_MEMBER_DEAD };
    CU_ASSERT_EQUAL(solo_inject(&s, DM_MSG_REQUEST, 1, 0, NULL, 0), -DM_ETYPE);
    CU_ASSERT_EQUAL(solo_inject(&s, DM_MSG_PING, 1, 0, &bad, 1), -DM_EMALFORMED);
    bad.member = 2;
    bad.state = 9;
    CU_ASSERT_EQUAL(solo_inject(&s, DM_MSG_PING, 1, 0, &bad, 1), -DM_EMALFORMED);
    /* an accuser outside the membership, too (it would be re-broadcast) */
    bad.state = DM_MEMBER_SUSPECT;
    bad.accuser = 4;
    CU_ASSERT_EQUAL(solo_inject(&s, DM_MSG_PING, 1, 0, &bad, 1), -DM_EMALFORMED);
    bad.accuser = UINT16_MAX;
    CU_ASSERT_EQUAL(solo_inject(&s, DM_MSG_PING, 1, 0, &bad, 1), -DM_EMALFORMED);
    CU_ASSERT_EQUAL(solo_inject(&s, DM_MSG_PING, 0, 0, NULL, 0), -DM_EMALFORMED);
    CU_ASSERT_EQUAL(s.sent->len, 0);
    CU_ASSERT_EQUAL(s.events->len, 0);

    /* First word from a member: JOIN, once. */
    dm_membership_heard(s.m, s.now, 3);
    dm_membership_heard(s.m, s.now, 3);
    CU_ASSERT_EQUAL(solo_count_events(&s, DM_MEMBER_EV_JOIN, 3), 1);
    dm_membership_info(s.m, 3, &info);
    CU_ASSERT(info.joined);
    solo_free(&s);
}

static bool overrides_expected(uint8_t s0, uint32_t i0, uint8_t s, uint32_t i)
{
    bool s0_in_view = s0 == DM_MEMBER_ALIVE || s0 == DM_MEMBER_SUSPECT;
    switch (s) {
    case DM_MEMBER_ALIVE:
        return i > i0;
    case DM_MEMBER_SUSPECT:
        return (s0 == DM_MEMBER_ALIVE && i >= i0) || (s0 == DM_MEMBER_SUSPECT && i > i0);
    default:
        return s0_in_view ? i >= i0 : i > i0;
    }
}

static const dm_member_event_type event_for[] = {
    DM_MEMBER_EV_ALIVE, DM_MEMBER_EV_SUSPECT, DM_MEMBER_EV_DEAD, DM_MEMBER_EV_LEFT,
};

/* Every (known state, update) pair at lower, equal and higher incarnation,
 * through messages from member 1 about member 2. */
static void test_precedence(void)
{
    dm_swim_config cfg = default_cfg(3);
    for (uint8_t s0 = 0; s0 <= DM_MEMBER_STATE_MAX; s0++) {
        for (uint8_t st = 0; st <= DM_MEMBER_STATE_MAX; st++) {
            for (uint32_t inc = 4; inc <= 6; inc++) {
                solo s;
                solo_init(&s, &cfg, true);
                solo_update(&s, 1, 2, DM_MEMBER_ALIVE, 5);
                if (s0 != DM_MEMBER_ALIVE)
                    solo_update(&s, 1, 2, s0, 5);
                dm_member_info info;
                dm_membership_info(s.m, 2, &info);
                CU_ASSERT_EQUAL(info.state, s0);
                CU_ASSERT_EQUAL(info.incarnation, 5);
                solo_drain(&s);
                solo_clear(&s);

                solo_update(&s, 1, 2, st, inc);
                bool win = overrides_expected(s0, 5, st, inc);
                dm_membership_info(s.m, 2, &info);
                CU_ASSERT_EQUAL(info.state, win ? st : s0);
                CU_ASSERT_EQUAL(info.incarnation, win ? inc : 5);
                /* One event exactly when the state changed. */
                bool changed = win && st != s0;
                CU_ASSERT_EQUAL(s.events->len, changed ? 1 : 0);
                if (changed && s.events->len == 1) {
                    const dm_member_event *ev = &g_array_index(s.events, dm_member_event, 0);
                    CU_ASSERT_EQUAL(ev->type, event_for[st]);
                    CU_ASSERT_EQUAL(ev->member, 2);
                    CU_ASSERT_EQUAL(ev->incarnation, inc);
                }
                CU_ASSERT_EQUAL(dm_membership_in_view(s.m, 2),
                                info.state == DM_MEMBER_ALIVE || info.state == DM_MEMBER_SUSPECT);
                CU_ASSERT_EQUAL(dm_membership_view_size(s.m),
                                2 + dm_membership_in_view(s.m, 2));
                /* The ACK answering the PING is the only message; when the
                 * update is an accusation older than the ALIVE we know, the
                 * ACK tells its sender of that ALIVE. */
                CU_ASSERT_EQUAL_FATAL(s.sent->len, 1);
                const dm_msg *ack = &g_array_index(s.sent, dm_msg, 0);
                bool missed = s0 == DM_MEMBER_ALIVE && st != DM_MEMBER_ALIVE && inc < 5;
                CU_ASSERT_EQUAL(has_update(ack, 2, DM_MEMBER_ALIVE, 5), missed);
                solo_free(&s);
            }
        }
    }
}

/* Accusations of ourselves: refuted at once, on the reply to the accuser. */
static void test_refute(void)
{
    dm_swim_config cfg = default_cfg(3);
    cfg.incarnation = 5;
    for (uint8_t st = DM_MEMBER_SUSPECT; st <= DM_MEMBER_STATE_MAX; st++) {
        for (uint32_t inc = 4; inc <= 6; inc++) {
            solo s;
            solo_init(&s, &cfg, true);
            solo_update(&s, 1, 0, st, inc);
            uint32_t now_inc = inc >= 5 ? inc + 1 : 5;
            CU_ASSERT_EQUAL(dm_membership_incarnation(s.m), now_inc);
            CU_ASSERT_EQUAL(dm_membership_get_stats(s.m)->refutations, inc >= 5 ? 1 : 0);
            CU_ASSERT_EQUAL(dm_membership_health(s.m), inc >= 5 ? 1 : 0);
            CU_ASSERT(dm_membership_is_alive(s.m, 0));
            /* The reply to the accuser carries our ALIVE (also after a
             * stale accusation); a refutation is also PINGed at once to
             * indirect_checks + 1 other members (here: member 2 only). */
            CU_ASSERT_EQUAL_FATAL(s.sent->len, inc >= 5 ? 2 : 1);
            for (guint i = 0; i < s.sent->len; i++) {
                const dm_msg *msg = &g_array_index(s.sent, dm_msg, i);
                CU_ASSERT_EQUAL(msg->type, i == 0 ? DM_MSG_ACK : DM_MSG_PING);
                CU_ASSERT_EQUAL(msg->to, i == 0 ? 1 : 2);
                CU_ASSERT(has_update(msg, 0, DM_MEMBER_ALIVE, now_inc));
            }
            /* JOINs of those who answered, nothing else */
            CU_ASSERT_EQUAL(s.events->len, solo_count_events(&s, DM_MEMBER_EV_JOIN, 1) +
                                               solo_count_events(&s, DM_MEMBER_EV_JOIN, 2));
            solo_free(&s);
        }
    }
    /* An accusation on a message we do not answer (an ACK) gets a PING
     * back with our ALIVE, stale or not. */
    for (uint32_t inc = 4; inc <= 5; inc++) {
        solo s;
        solo_init(&s, &cfg, true);
        dm_member_update u = {
            .member = 0, .accuser = 1, .state = DM_MEMBER_SUSPECT, .incarnation = inc};
        CU_ASSERT_EQUAL(solo_inject(&s, DM_MSG_ACK, 1, 12345, &u, 1), 0);
        CU_ASSERT_EQUAL_FATAL(s.sent->len, inc == 5 ? 2 : 1);
        const dm_msg *ping = &g_array_index(s.sent, dm_msg, 0);
        CU_ASSERT_EQUAL(ping->type, DM_MSG_PING);
        CU_ASSERT_EQUAL(ping->to, 1);
        CU_ASSERT(has_update(ping, 0, DM_MEMBER_ALIVE, inc == 5 ? 6 : 5));
        solo_free(&s);
    }
    /* A later life of ours known to others is adopted, not refuted. */
    solo s;
    solo_init(&s, &cfg, true);
    solo_update(&s, 1, 0, DM_MEMBER_ALIVE, 8);
    CU_ASSERT_EQUAL(dm_membership_incarnation(s.m), 8);
    CU_ASSERT_EQUAL(dm_membership_get_stats(s.m)->refutations, 0);
    solo_update(&s, 1, 0, DM_MEMBER_SUSPECT, 8);
    CU_ASSERT_EQUAL(dm_membership_incarnation(s.m), 9);
    /* A leaving member does not refute. */
    dm_membership_leave(s.m, s.now);
    CU_ASSERT_EQUAL(dm_membership_incarnation(s.m), 10);
    solo_update(&s, 1, 0, DM_MEMBER_DEAD, 12);
    CU_ASSERT_EQUAL(dm_membership_incarnation(s.m), 10);
    CU_ASSERT_FALSE(dm_membership_in_view(s.m, 0));
    solo_free(&s);
}

/* The suspicion timer starts at max and shrinks toward min with distinct
 * confirmations; repeated accusers and the first accuser do not count
 * (each member here tells its own accusation: sender = accuser). */
static void test_suspicion_timer(void)
{
    dm_swim_config cfg = default_cfg(6);
    static const uint32_t confirmers[][4] = {
        {0}, {1, 3}, {2, 3, 4}, {3, 3, 4, 5}, {3, 1, 3, 4},
    };
    static const uint32_t expect_c[] = {0, 1, 2, 3, 2};
    for (size_t k = 0; k < G_N_ELEMENTS(confirmers); k++) {
        solo s;
        solo_init(&s, &cfg, true);
        int64_t t0 = s.now;
        solo_update(&s, 1, 2, DM_MEMBER_SUSPECT, 0);
        CU_ASSERT_EQUAL(solo_count_events(&s, DM_MEMBER_EV_SUSPECT, 2), 1);
        for (uint32_t i = 1; i <= confirmers[k][0]; i++) {
            s.now += 100 * MS;
            solo_update(&s, confirmers[k][i], 2, DM_MEMBER_SUSPECT, 0);
        }
        int64_t due = t0 + expected_timeout(&cfg, expect_c[k]);
        solo_run(&s, due - 1);
        CU_ASSERT_EQUAL(solo_count_events(&s, DM_MEMBER_EV_DEAD, 2), 0);
        solo_run(&s, due + 50 * SEC);
        CU_ASSERT_EQUAL(solo_count_events(&s, DM_MEMBER_EV_DEAD, 2), 1);
        for (guint i = 0; i < s.events->len; i++)
            if (g_array_index(s.events, dm_member_event, i).type == DM_MEMBER_EV_DEAD)
                CU_ASSERT_EQUAL(g_array_index(s.event_at, int64_t, i), due);
        CU_ASSERT_EQUAL(dm_membership_get_stats(s.m)->deaths, 1);
        /* Nobody else was suspected: the module's own probes all succeeded. */
        CU_ASSERT_EQUAL(dm_membership_get_stats(s.m)->suspicions, 0);
        CU_ASSERT_EQUAL(dm_membership_view_size(s.m), 5);
        solo_free(&s);
    }
    /* A refutation in time cancels the timer. */
    solo s;
    solo_init(&s, &cfg, true);
    solo_update(&s, 1, 2, DM_MEMBER_SUSPECT, 0);
    s.now += SEC;
    solo_update(&s, 3, 2, DM_MEMBER_ALIVE, 1);
    solo_run(&s, s.now + expected_timeout(&cfg, 0) * 2);
    CU_ASSERT_EQUAL(solo_count_events(&s, DM_MEMBER_EV_DEAD, 2), 0);
    CU_ASSERT_EQUAL(solo_count_events(&s, DM_MEMBER_EV_ALIVE, 2), 1);
    solo_free(&s);
}

/* The accuser of every update about `member` in the messages sent, which
 * must all be SUSPECT; UINT32_MAX when there is none, UINT32_MAX - 1 when
 * they disagree. Only messages from index `from` on are looked at. */
static uint32_t sent_accuser(const solo *s, guint from, uint32_t member)
{
    uint32_t acc = UINT32_MAX;
    for (guint i = from; i < s->sent->len; i++) {
        const dm_msg *msg = &g_array_index(s->sent, dm_msg, i);
        for (uint32_t k = 0; k < msg->n_updates; k++) {
            const dm_member_update *u = &msg->updates[k];
            if (u->member != member)
                continue;
            CU_ASSERT_EQUAL(u->state, DM_MEMBER_SUSPECT);
            if (acc != UINT32_MAX && acc != u->accuser)
                return UINT32_MAX - 1;
            acc = u->accuser;
        }
    }
    return acc;
}

/* Confirmations are counted per accuser, not per sender. One member's
 * suspicion of x reaching us through every other member, many times, is
 * one accusation: the timer stays at max (x dead at max, not at min). K
 * distinct accusers, each heard only through relays, shrink it per the
 * formula. A relay keeps the original accuser; a new confirmation goes on
 * under its own accuser; our own verdict is ours. */
static void test_confirm_per_accuser(void)
{
    dm_swim_config cfg = default_cfg(6);    /* K = suspicion_mult - 2 = 2 */
    const uint32_t x = 2;
    const int64_t min = 4 * SEC, max = 6 * min;    /* log10(6) < 1 */
    CU_ASSERT_EQUAL(expected_timeout(&cfg, 0), max);
    CU_ASSERT_EQUAL(expected_timeout(&cfg, 2), min);

    /* One accuser (1), first heard through 3, then relayed by 1, 3, 4 and 5
     * in turn, three rounds of it. */
    solo s;
    solo_init(&s, &cfg, true);
    int64_t t0 = s.now;
    solo_update_by(&s, 3, 1, x, DM_MEMBER_SUSPECT, 0);
    CU_ASSERT_EQUAL(solo_count_events(&s, DM_MEMBER_EV_SUSPECT, x), 1);
    const uint32_t relays[] = {1, 3, 4, 5};
    for (int round = 0; round < 3; round++)
        for (size_t r = 0; r < G_N_ELEMENTS(relays); r++) {
            s.now += 100 * MS;
            solo_update_by(&s, relays[r], 1, x, DM_MEMBER_SUSPECT, 0);
        }
    /* All we passed on about x names accuser 1. */
    CU_ASSERT_EQUAL(sent_accuser(&s, 0, x), 1);
    solo_run(&s, t0 + max - 1);
    CU_ASSERT_EQUAL(solo_count_events(&s, DM_MEMBER_EV_DEAD, x), 0);
    CU_ASSERT_EQUAL(sent_accuser(&s, 0, x), 1);
    solo_clear(&s);
    solo_run(&s, t0 + max + SEC);
    CU_ASSERT_EQUAL_FATAL(solo_count_events(&s, DM_MEMBER_EV_DEAD, x), 1);
    for (guint i = 0; i < s.events->len; i++)
        if (g_array_index(s.events, dm_member_event, i).type == DM_MEMBER_EV_DEAD)
            CU_ASSERT_EQUAL(g_array_index(s.event_at, int64_t, i), t0 + max);
    /* The DEAD is our own verdict, and says so (on the gossip after it). */
    bool seen = false;
    for (guint k = 0; k < s.sent->len; k++) {
        const dm_msg *msg = &g_array_index(s.sent, dm_msg, k);
        for (uint32_t i = 0; i < msg->n_updates; i++)
            if (msg->updates[i].member == x && msg->updates[i].state == DM_MEMBER_DEAD) {
                CU_ASSERT_EQUAL(msg->updates[i].accuser, 0);
                seen = true;
            }
    }
    CU_ASSERT(seen);
    solo_free(&s);

    /* k distinct accusers besides the first (1): 3, 4, 5 in that order,
     * each relayed twice by members other than itself; the accusers after
     * K = 2 (5, and our own echo, 0) change nothing. */
    const uint32_t confirmers[] = {3, 4, 5, 0};
    for (uint32_t k = 0; k <= G_N_ELEMENTS(confirmers); k++) {
        solo_init(&s, &cfg, true);
        t0 = s.now;
        solo_update_by(&s, 5, 1, x, DM_MEMBER_SUSPECT, 0);
        for (uint32_t c = 0; c < k; c++) {
            uint32_t a = confirmers[c];
            uint32_t via[2] = {a == 1 ? 3 : 1, a == 4 ? 5 : 4};
            for (int r = 0; r < 2; r++) {
                s.now += 100 * MS;
                guint before = s.sent->len;
                solo_update_by(&s, via[r], a, x, DM_MEMBER_SUSPECT, 0);
                /* a new confirmation rides on our very reply, under its
                 * own accuser (up to K of them) */
                if (r == 0 && c < 2)
                    CU_ASSERT_EQUAL(sent_accuser(&s, before, x), a);
            }
            /* and a relay of the first accusation does not count either */
            s.now += 100 * MS;
            solo_update_by(&s, a == 4 ? 3 : 4, 1, x, DM_MEMBER_SUSPECT, 0);
        }
        int64_t due = t0 + expected_timeout(&cfg, MIN(k, 2));
        solo_run(&s, due - 1);
        CU_ASSERT_EQUAL(solo_count_events(&s, DM_MEMBER_EV_DEAD, x), 0);
        solo_run(&s, due + 50 * SEC);
        CU_ASSERT_EQUAL(solo_count_events(&s, DM_MEMBER_EV_DEAD, x), 1);
        for (guint i = 0; i < s.events->len; i++)
            if (g_array_index(s.events, dm_member_event, i).type == DM_MEMBER_EV_DEAD)
                CU_ASSERT_EQUAL(g_array_index(s.event_at, int64_t, i), due);
        CU_ASSERT_EQUAL(dm_membership_get_stats(s.m)->deaths, 1);
        CU_ASSERT_EQUAL(dm_membership_get_stats(s.m)->suspicions, 0);
        solo_free(&s);
    }
}

/* Silent members: our own probes fail, go indirect, and end in suspicion
 * and, with nobody confirming, death after the maximal timeout. */
/* A forgotten id (a spare id with nobody behind it) is out of the view,
 * never probed, gossiped to or announced, and silently so; a member running
 * behind it comes in by refuting the LEFT it hears. */
static void test_forget(void)
{
    dm_swim_config cfg = default_cfg(4);
    solo s;
    solo_init(&s, &cfg, true);
    dm_membership_forget(s.m, s.now, 3);
    dm_membership_forget(s.m, s.now, 0);   /* self: no effect */
    CU_ASSERT_EQUAL(s.sent->len, 0);
    CU_ASSERT_EQUAL(dm_membership_view_size(s.m), 3);
    CU_ASSERT_FALSE(dm_membership_in_view(s.m, 3));
    solo_run(&s, s.now + 60 * SEC);
    for (guint i = 0; i < s.sent->len; i++)
        CU_ASSERT_NOT_EQUAL(g_array_index(s.sent, dm_msg, i).to, 3);
    CU_ASSERT_EQUAL(dm_membership_get_stats(s.m)->suspicions, 0);
    /* Its own ALIVE at the same incarnation does not override LEFT; the
     * refutation at the next one does. */
    solo_update(&s, 3, 3, DM_MEMBER_ALIVE, 0);
    CU_ASSERT_FALSE(dm_membership_in_view(s.m, 3));
    solo_update(&s, 3, 3, DM_MEMBER_ALIVE, 1);
    CU_ASSERT_TRUE(dm_membership_in_view(s.m, 3));
    solo_free(&s);
}

static void test_own_probe(void)
{
    dm_swim_config cfg = default_cfg(5);
    solo s;
    solo_init(&s, &cfg, false);
    solo_run(&s, s.now + 2 * cfg.probe_interval_us);
    const dm_membership_stats *st = dm_membership_get_stats(s.m);
    CU_ASSERT(st->sent[DM_MSG_PING] >= 1);
    /* relays are ALIVE members: fewer once some are suspected */
    CU_ASSERT(st->sent[DM_MSG_PING_REQ] <= 3 * st->indirect_probes);
    CU_ASSERT(st->sent[DM_MSG_PING_REQ] >= 3);
    CU_ASSERT(st->suspicions >= 1);
    /* + the missing NACKs per failed probe (3 on the first), capped at
     * awareness_max - 1. */
    CU_ASSERT(dm_membership_health(s.m) >= 3);
    CU_ASSERT(dm_membership_health(s.m) <= cfg.awareness_max - 1);
    /* The next PING to a suspect carries its suspicion first. */
    solo_run(&s, s.now + 40 * SEC);
    bool buddy_seen = false;
    for (guint i = 0; i < s.sent->len; i++) {
        const dm_msg *msg = &g_array_index(s.sent, dm_msg, i);
        if (msg->type == DM_MSG_PING && msg->n_updates > 0 && msg->updates[0].member == msg->to &&
            msg->updates[0].state == DM_MEMBER_SUSPECT)
            buddy_seen = true;
    }
    CU_ASSERT(buddy_seen);
    solo_run(&s, s.now + 200 * SEC);
    CU_ASSERT_EQUAL(dm_membership_view_size(s.m), 1);
    CU_ASSERT_EQUAL(st->deaths, 4);
    /* An ACK from a relay clears the probe; a NACK is counted; a stale one
     * is ignored. Relay side: a PING_REQ makes us PING the target and
     * forward its ACK with the requester's sequence number. */
    solo_clear(&s);
    CU_ASSERT_EQUAL(solo_inject(&s, DM_MSG_PING_REQ, 1, 4242, NULL, 0), 0);
    CU_ASSERT_EQUAL(s.sent->len, 0);    /* target 0 is ourselves: nothing to do */
    dm_msg req = probe_msg(DM_MSG_PING_REQ, 1, 0, 4242, 2);
    CU_ASSERT_EQUAL(dm_membership_receive(s.m, s.now, &req), 0);
    CU_ASSERT_EQUAL_FATAL(s.sent->len, 1);
    dm_msg ping = g_array_index(s.sent, dm_msg, 0);
    CU_ASSERT_EQUAL(ping.type, DM_MSG_PING);
    CU_ASSERT_EQUAL(ping.to, 2);
    dm_msg ack = probe_msg(DM_MSG_ACK, 2, 0, ping.value, 2);
    CU_ASSERT_EQUAL(dm_membership_receive(s.m, s.now, &ack), 0);
    CU_ASSERT_EQUAL_FATAL(s.sent->len, 2);
    dm_msg fwd = g_array_index(s.sent, dm_msg, 1);
    CU_ASSERT_EQUAL(fwd.type, DM_MSG_ACK);
    CU_ASSERT_EQUAL(fwd.to, 1);
    CU_ASSERT_EQUAL(fwd.value, 4242);
    CU_ASSERT_EQUAL(fwd.target, 2);
    /* A second ACK for the same relay is not forwarded again. */
    CU_ASSERT_EQUAL(dm_membership_receive(s.m, s.now, &ack), 0);
    CU_ASSERT_EQUAL(s.sent->len, 2);
    /* No answer: NACK before the requester's period could end. */
    req.value = 4343;
    CU_ASSERT_EQUAL(dm_membership_receive(s.m, s.now, &req), 0);
    int64_t asked = s.now;
    solo_clear(&s);
    solo_run(&s, asked + cfg.probe_interval_us - cfg.probe_timeout_us);
    bool nacked = false;
    for (guint i = 0; i < s.sent->len; i++) {
        const dm_msg *msg = &g_array_index(s.sent, dm_msg, i);
        if (msg->type == DM_MSG_NACK) {
            CU_ASSERT_EQUAL(msg->to, 1);
            CU_ASSERT_EQUAL(msg->value, 4343);
            CU_ASSERT_EQUAL(msg->target, 2);
            nacked = true;
        }
    }
    CU_ASSERT(nacked);
    solo_free(&s);
}

static void test_sync(void)
{
    dm_swim_config cfg = default_cfg(200);
    solo s;
    solo_init(&s, &cfg, true);
    /* A full state: DEAD entries are merged as suspicions; entries that
     * change nothing are not re-broadcast; no reply before LAST. */
    dm_member_update u[3] = {
        {.member = 5, .accuser = 1, .state = DM_MEMBER_DEAD},
        {.member = 6, .accuser = 6, .state = DM_MEMBER_ALIVE},
        {.member = 7, .accuser = 7, .state = DM_MEMBER_LEFT},
    };
    CU_ASSERT_EQUAL(solo_inject(&s, DM_MSG_SYNC, 1, DM_SYNC_REPLY, u, 3), 0);
    dm_member_info info;
    dm_membership_info(s.m, 5, &info);
    CU_ASSERT_EQUAL(info.state, DM_MEMBER_SUSPECT);
    dm_membership_info(s.m, 7, &info);
    CU_ASSERT_EQUAL(info.state, DM_MEMBER_LEFT);
    CU_ASSERT_EQUAL(s.sent->len, 0);
    CU_ASSERT_EQUAL(solo_inject(&s, DM_MSG_SYNC, 1, DM_SYNC_REPLY | DM_SYNC_LAST, NULL, 0), 0);
    /* The reply: our state in ceil(200 / 64) = 4 chunks, LAST on the last. */
    CU_ASSERT_EQUAL_FATAL(s.sent->len, 4);
    uint32_t next = 0;
    for (guint i = 0; i < 4; i++) {
        const dm_msg *msg = &g_array_index(s.sent, dm_msg, i);
        CU_ASSERT_EQUAL(msg->type, DM_MSG_SYNC);
        CU_ASSERT_EQUAL(msg->to, 1);
        CU_ASSERT_EQUAL(msg->value, i == 3 ? DM_SYNC_LAST : 0);
        for (uint32_t k = 0; k < msg->n_updates; k++)
            CU_ASSERT_EQUAL(msg->updates[k].member, next++);
    }
    CU_ASSERT_EQUAL(next, 200);
    /* The pending broadcasts: 5 (SUSPECT) and 7 (LEFT), not 6. */
    solo_clear(&s);
    CU_ASSERT_EQUAL(solo_inject(&s, DM_MSG_PING, 9, 1, NULL, 0), 0);
    const dm_msg *ack = &g_array_index(s.sent, dm_msg, 0);
    CU_ASSERT_EQUAL(ack->n_updates, 2);
    CU_ASSERT(has_update(ack, 5, DM_MEMBER_SUSPECT, 0));
    /* the DEAD merged as SUSPECT is still the declarer's accusation */
    for (uint32_t i = 0; i < ack->n_updates; i++)
        if (ack->updates[i].member == 5)
            CU_ASSERT_EQUAL(ack->updates[i].accuser, 1);
    CU_ASSERT(has_update(ack, 7, DM_MEMBER_LEFT, 0));
    /* A reply (no REPLY flag) is merged without an answer. */
    solo_clear(&s);
    CU_ASSERT_EQUAL(solo_inject(&s, DM_MSG_SYNC, 1, DM_SYNC_LAST, NULL, 0), 0);
    CU_ASSERT_EQUAL(s.sent->len, 0);
    solo_free(&s);
}

/* The transmit-limited queue: the buddy first, then fewest transmissions
 * and newest; retired after retransmit_mult x ceil(log10(n + 1)) sends. */
static void test_queue(void)
{
    dm_swim_config cfg = default_cfg(100);    /* limit 4 x 3 = 12 */
    solo s;
    solo_init(&s, &cfg, true);
    dm_member_update u[DM_MSG_MAX_UPDATES + 6];
    for (uint32_t i = 0; i < G_N_ELEMENTS(u); i++)
        u[i] = (dm_member_update){ .member = (uint16_t)(10 + i), .accuser = (uint16_t)(10 + i),
                                   .state = DM_MEMBER_ALIVE, .incarnation = 1 };
    /* 70 fresh updates: more than one message holds. */
    CU_ASSERT_EQUAL(solo_inject(&s, DM_MSG_SYNC, 1, 0, u, DM_MSG_MAX_UPDATES), 0);
    CU_ASSERT_EQUAL(solo_inject(&s, DM_MSG_SYNC, 1, 0, u + DM_MSG_MAX_UPDATES, 6), 0);
    solo_clear(&s);
    /* A PING from 50 (which has a pending update): 50 first, then the
     * newest: 75..79, then the rest from the newest down. */
    CU_ASSERT_EQUAL(solo_inject(&s, DM_MSG_PING, 50, 1, NULL, 0), 0);
    const dm_msg *a = &g_array_index(s.sent, dm_msg, 0);
    CU_ASSERT_EQUAL_FATAL(a->n_updates, DM_MSG_MAX_UPDATES);
    CU_ASSERT_EQUAL(a->updates[0].member, 50);
    CU_ASSERT_EQUAL(a->updates[1].member, 79);
    CU_ASSERT_EQUAL(a->updates[2].member, 78);
    /* The 6 left out (10..15, never sent) come first next time. */
    solo_clear(&s);
    CU_ASSERT_EQUAL(solo_inject(&s, DM_MSG_PING, 2, 2, NULL, 0), 0);
    const dm_msg *b = &g_array_index(s.sent, dm_msg, 0);
    CU_ASSERT_EQUAL_FATAL(b->n_updates, DM_MSG_MAX_UPDATES);
    for (uint32_t i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(b->updates[i].member, 15 - i);
    /* Everything is eventually sent exactly `limit` times, then retired. */
    uint32_t sends[100] = {0};
    for (guint r = 0; r < 40; r++) {
        solo_clear(&s);
        CU_ASSERT_EQUAL(solo_inject(&s, DM_MSG_PING, 3, 3, NULL, 0), 0);
        const dm_msg *c = &g_array_index(s.sent, dm_msg, 0);
        for (uint32_t i = 0; i < c->n_updates; i++)
            sends[c->updates[i].member]++;
    }
    /* 12 minus the 1 or 2 sends above */
    for (uint32_t i = 10; i < 80; i++)
        CU_ASSERT(sends[i] >= 10 && sends[i] <= 11);
    CU_ASSERT_EQUAL(dm_membership_get_stats(s.m)->updates_dropped, 0);
    solo_free(&s);
}

/* ------------------------------------------------------------ cluster tests */

static void check_quiet(uint32_t n, uint64_t seed)
{
    watch wt;
    dm_cluster *c = swim_cluster(n, seed, NULL, &wt);
    run_to(c, now(c) + 600 * (int64_t)SEC);
    CU_ASSERT_EQUAL(events_all(c, DM_MEMBER_EV_SUSPECT), 0);
    CU_ASSERT_EQUAL(events_all(c, DM_MEMBER_EV_DEAD), 0);
    CU_ASSERT_EQUAL(events_all(c, DM_MEMBER_EV_ALIVE), 0);
    for (uint32_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(dm_membership_get_stats(mship(c, i))->suspicions, 0);
        CU_ASSERT_EQUAL(dm_membership_health(mship(c, i)), 0);
        for (uint32_t j = 0; j < n; j++)
            CU_ASSERT_EQUAL(dm_cluster_member_events(c, i, j, DM_MEMBER_EV_JOIN), i != j);
    }
    CU_ASSERT(all_alive(c));
    CU_ASSERT(dm_cluster_ok(c));
    swim_free(c, &wt);
}

static void test_quiet(void)
{
    check_quiet(5, 1);
    check_quiet(32, 2);
}

/* Crash one member of 32: time to the first suspicion, to DEAD everywhere,
 * then agreement, over 20 seeds. */
static void test_crash(void)
{
    const uint32_t n = 32;
    double sum_first = 0, sum_dead = 0, worst_dead = 0;
    const int seeds = 20;
    dm_swim_config cfg = default_cfg(n);
    for (int seed = 0; seed < seeds; seed++) {
        watch wt;
        dm_cluster *c = swim_cluster(n, 100 + (uint64_t)seed, NULL, &wt);
        run_to(c, now(c) + 20 * (int64_t)SEC);
        dm_prng rng;
        dm_prng_derive(&rng, 100 + (uint64_t)seed, "victim", 0);
        uint32_t victim = (uint32_t)dm_prng_below(&rng, n);
        int64_t t0 = now(c), period = cfg.probe_interval_us;
        dm_cluster_crash(c, victim);
        int64_t done = run_until_every(c, t0 + 120 * (int64_t)SEC, 100 * MS, all_alive);
        CU_ASSERT(done != INT64_MAX);
        int64_t first = first_event(c, DM_MEMBER_EV_SUSPECT, victim);
        CU_ASSERT(first != INT64_MAX);
        int64_t all_dead = 0;
        for (uint32_t i = 0; i < n; i++)
            if (i != victim)
                all_dead = MAX(all_dead, dm_cluster_member_event_first(c, i, victim, DM_MEMBER_EV_DEAD));
        /* Dead everywhere within the longest suspicion timeout (plus a few
         * periods for the word to spread) after the first suspicion. */
        CU_ASSERT(all_dead <= first + expected_timeout(&cfg, 0) + 5 * period);
        CU_ASSERT_EQUAL(events(c, DM_MEMBER_EV_DEAD, victim), n - 1);
        CU_ASSERT_EQUAL(events_all(c, DM_MEMBER_EV_DEAD), n - 1);
        /* nobody else was ever suspected */
        CU_ASSERT_EQUAL(events_all(c, DM_MEMBER_EV_SUSPECT), events(c, DM_MEMBER_EV_SUSPECT, victim));
        CU_ASSERT(agree(c));
        for (uint32_t i = 0; i < n; i++)
            if (i != victim)
                CU_ASSERT_EQUAL(dm_membership_view_size(mship(c, i)), n - 1);
        sum_first += (double)(first - t0) / (double)period;
        sum_dead += (double)(all_dead - t0) / SEC;
        worst_dead = fmax(worst_dead, (double)(all_dead - t0) / SEC);
        swim_free(c, &wt);
    }
    double mean_first = sum_first / seeds;
    g_printerr("\n    crash n=32, %d seeds: first suspicion after %.2f periods (mean; "
               "SWIM e/(e-1) = 1.58 for synchronised rounds), DEAD everywhere after "
               "%.1f s (mean), %.1f s (worst); suspicion timeout %.1f..%.1f s\n",
               seeds, mean_first, sum_dead / seeds, worst_dead,
               (double)expected_timeout(&cfg, cfg.indirect_checks) / SEC,
               (double)expected_timeout(&cfg, 0) / SEC);
    CU_ASSERT(mean_first >= 1.0 && mean_first <= 3.0);
    /* Members that probe the crashed one confirm each other's suspicion
     * (distinct accusers, each re-broadcast), so on average it is dead
     * everywhere well before the timeout of one confirmation (21 s here;
     * about 19 s when confirmations did not spread, 10 s when they do). */
    int64_t bound = expected_timeout(&cfg, 2) + 3 * cfg.probe_interval_us;
    CU_ASSERT(sum_dead / seeds <= (double)bound / SEC);
}

/* A member paused (or losing its ACKs) for less than the suspicion timeout
 * is suspected, learns it from the piggybacked buddy update, refutes, and is
 * never declared dead. */
static void check_false_suspicion(uint64_t seed, bool pause, uint32_t *refuted)
{
    const uint32_t n = 8, victim = 5;
    watch wt;
    dm_cluster *c = swim_cluster(n, seed, NULL, &wt);
    run_to(c, now(c) + 10 * (int64_t)SEC);
    if (pause)
        dm_cluster_pause(c, victim);
    else
        wt.drop_acks_of = victim;
    run_to(c, now(c) + 3 * (int64_t)SEC);
    if (pause)
        dm_cluster_resume(c, victim);
    else
        wt.drop_acks_of = UINT32_MAX;
    run_to(c, now(c) + 60 * (int64_t)SEC);
    CU_ASSERT_EQUAL(events_all(c, DM_MEMBER_EV_DEAD), 0);
    const dm_membership_stats *st = dm_membership_get_stats(mship(c, victim));
    if (events(c, DM_MEMBER_EV_SUSPECT, victim) > 0) {
        CU_ASSERT(wt.buddy_accused[victim] >= 1);
        CU_ASSERT(st->refutations >= 1);
        CU_ASSERT(dm_membership_incarnation(mship(c, victim)) >= 1);
        CU_ASSERT_EQUAL(events(c, DM_MEMBER_EV_ALIVE, victim),
                        events(c, DM_MEMBER_EV_SUSPECT, victim));
        (*refuted)++;
    }
    for (uint32_t i = 0; i < n; i++) {
        dm_member_info info;
        dm_membership_info(mship(c, i), victim, &info);
        CU_ASSERT_EQUAL(info.state, DM_MEMBER_ALIVE);
        CU_ASSERT_EQUAL(info.incarnation, dm_membership_incarnation(mship(c, victim)));
    }
    CU_ASSERT(all_alive(c));
    swim_free(c, &wt);
}

static void test_false_suspicion(void)
{
    uint32_t refuted_pause = 0, refuted_drop = 0;
    for (uint64_t seed = 0; seed < 8; seed++) {
        check_false_suspicion(300 + seed, true, &refuted_pause);
        check_false_suspicion(400 + seed, false, &refuted_drop);
    }
    g_printerr("\n    false suspicion refuted in %u/8 pauses and %u/8 ACK blackouts of 3 s\n",
               refuted_pause, refuted_drop);
    /* Most runs must actually exercise the refutation. */
    CU_ASSERT(refuted_pause >= 4);
    CU_ASSERT(refuted_drop >= 4);
}

static bool halves_dead(const dm_cluster *c, const int *side)
{
    for (uint32_t i = 0; i < dm_cluster_size(c); i++)
        for (uint32_t j = 0; j < dm_cluster_size(c); j++)
            if (dm_membership_is_alive(mship(c, i), j) != (side[i] == side[j]))
                return false;
    return true;
}

/* Halves of 8 apart for longer than the suspicion timeout: each declares the
 * other dead; healed, they merge again by themselves in bounded time. */
static void test_partition(void)
{
    const uint32_t n = 8;
    double worst = 0;
    const int seeds = 20;
    const dm_swim_config cfg = default_cfg(n);
    for (uint64_t seed = 0; seed < seeds; seed++) {
        watch wt;
        dm_cluster *c = swim_cluster(n, 500 + seed, NULL, &wt);
        run_to(c, now(c) + 10 * (int64_t)SEC);
        int side[8] = { 0, 0, 0, 0, 1, 1, 1, 1 };
        dm_cluster_partition(c, side);
        run_to(c, now(c) + 60 * (int64_t)SEC);
        CU_ASSERT(halves_dead(c, side));
        for (uint32_t i = 0; i < n; i++)
            CU_ASSERT_EQUAL(dm_membership_view_size(mship(c, i)), n / 2);
        dm_cluster_heal(c);
        int64_t healed = now(c);
        int64_t bound = 2 * cfg.push_pull_interval_us + 10 * cfg.probe_interval_us;
        int64_t merged = run_until_every(c, healed + bound, 100 * MS, all_alive);
        CU_ASSERT(merged != INT64_MAX);
        if (merged != INT64_MAX)
            worst = fmax(worst, (double)(merged - healed) / SEC);
        /* and it stays merged */
        run_to(c, now(c) + 30 * (int64_t)SEC);
        CU_ASSERT(all_alive(c));
        swim_free(c, &wt);
    }
    g_printerr("\n    partition 4|4 for 60 s, healed: all 8 agree, all ALIVE after %.1f s "
               "(worst of %d seeds; bound 70 s)\n", worst, seeds);
}

/* Uniform loss for `hours` runs of an hour each: no member is ever declared
 * dead; the false suspicions are all refuted. At 10% this failed while
 * relays counted as confirmations (about 14 false DEADs per 100 h at n=8);
 * bench/bench_swim_loss measures longer spans and 20% loss. */
static void check_loss(uint32_t n, double loss, int hours, uint64_t seed0)
{
    uint64_t own = 0, refutations = 0, suspicions = 0, deaths = 0;
    for (int seed = 0; seed < hours; seed++) {
        watch wt;
        dm_cluster *c = swim_cluster(n, seed0 + (uint64_t)seed, NULL, &wt);
        dm_cluster_set_rates(c, loss, 0, 0);
        run_to(c, now(c) + 3600 * (int64_t)SEC);
        suspicions += events_all(c, DM_MEMBER_EV_SUSPECT);
        deaths += events_all(c, DM_MEMBER_EV_DEAD);
        CU_ASSERT_EQUAL(events_all(c, DM_MEMBER_EV_DEAD), 0);
        for (uint32_t i = 0; i < n; i++) {
            own += dm_membership_get_stats(mship(c, i))->suspicions;
            refutations += dm_membership_get_stats(mship(c, i))->refutations;
        }
        dm_cluster_set_rates(c, 0, 0, 0);
        run_to(c, now(c) + 30 * (int64_t)SEC);
        CU_ASSERT(all_alive(c));
        swim_free(c, &wt);
    }
    g_printerr("\n    %.0f%% loss, n=%u, %d x 1 h: %" G_GUINT64_FORMAT " false suspicions raised "
               "(%" G_GUINT64_FORMAT " SUSPECT events), %" G_GUINT64_FORMAT " refutations, %"
               G_GUINT64_FORMAT " DEAD", loss * 100, n, hours, own, suspicions, refutations, deaths);
}

static void test_loss(void)
{
    check_loss(8, 0.05, 10, 600);
    check_loss(8, 0.10, 30, 610);
    check_loss(32, 0.10, 5, 640);
    g_printerr("\n");
}

/* A crashed member restarted (the core comes back with the incarnation it
 * persisted, plus one) is ALIVE everywhere again soon, without any JOIN
 * twice. */
static void test_restart(void)
{
    const uint32_t n = 8, victim = 2;
    watch wt;
    dm_cluster *c = swim_cluster(n, 650, NULL, &wt);
    run_to(c, now(c) + 10 * (int64_t)SEC);
    uint32_t inc = dm_membership_incarnation(mship(c, victim));
    dm_cluster_crash(c, victim);
    CU_ASSERT(run_until_every(c, now(c) + 60 * (int64_t)SEC, 100 * MS, all_alive) != INT64_MAX);
    dm_cluster_restart(c, victim);
    CU_ASSERT(dm_membership_incarnation(mship(c, victim)) > inc);
    int64_t t0 = now(c);
    int64_t back = run_until_every(c, t0 + 30 * (int64_t)SEC, 100 * MS, all_alive);
    CU_ASSERT(back != INT64_MAX);
    CU_ASSERT_EQUAL(events(c, DM_MEMBER_EV_ALIVE, victim), n - 1);
    CU_ASSERT_EQUAL(events(c, DM_MEMBER_EV_JOIN, victim), n - 1);
    g_printerr("\n    restart, n=8: ALIVE everywhere again after %.2f s\n",
               back == INT64_MAX ? -1.0 : (double)(back - t0) / SEC);
    swim_free(c, &wt);
}

/* Restarted faster than anyone noticed: nobody suspected it, so nothing
 * would make it refute; it announces its new incarnation itself. Push/pull
 * is off, so that the announcement is the only way the news can spread. */
static void test_quick_restart_announces(void)
{
    const uint32_t n = 8, victim = 5;
    dm_swim_config cfg = default_cfg(n);
    cfg.push_pull_interval_us = 0;
    watch wt;
    dm_cluster *c = swim_cluster(n, 660, &cfg, &wt);
    run_to(c, now(c) + 10 * (int64_t)SEC);
    dm_cluster_crash(c, victim);
    run_to(c, now(c) + 200 * MS);
    dm_cluster_restart(c, victim);
    uint32_t inc = dm_membership_incarnation(mship(c, victim));
    int64_t t0 = now(c);
    int64_t learned = INT64_MAX;
    while (now(c) < t0 + 10 * (int64_t)SEC) {
        run_to(c, now(c) + 100 * MS);
        bool all = true;
        for (uint32_t i = 0; i < n && all; i++) {
            dm_member_info info;
            dm_membership_info(mship(c, i), victim, &info);
            all = info.state == DM_MEMBER_ALIVE && info.incarnation == inc;
        }
        if (all) {
            learned = now(c);
            break;
        }
    }
    CU_ASSERT(learned != INT64_MAX);
    CU_ASSERT_EQUAL(events(c, DM_MEMBER_EV_SUSPECT, victim), 0);
    g_printerr("\n    quick restart, n=8: new incarnation everywhere after %.2f s\n",
               learned == INT64_MAX ? -1.0 : (double)(learned - t0) / SEC);
    swim_free(c, &wt);
}

/* A leaving member is LEFT everywhere soon, reported as LEFT, never DEAD. */
static void test_leave(void)
{
    const uint32_t n = 8, leaver = 3;
    const dm_swim_config cfg = default_cfg(n);
    watch wt;
    dm_cluster *c = swim_cluster(n, 700, NULL, &wt);
    run_to(c, now(c) + 10 * (int64_t)SEC);
    uint64_t pings = dm_membership_get_stats(mship(c, leaver))->sent[DM_MSG_PING];
    uint32_t inc = dm_membership_incarnation(mship(c, leaver));
    int64_t t0 = now(c);
    CU_ASSERT_EQUAL(dm_cluster_leave(c, leaver), 0);
    CU_ASSERT_EQUAL(dm_membership_get_stats(mship(c, leaver))->sent[DM_MSG_PING],
                    pings + cfg.indirect_checks + 1);
    CU_ASSERT_EQUAL(dm_membership_incarnation(mship(c, leaver)), inc + 1);
    /* Still answering for 3 s, then gone. */
    run_to(c, now(c) + 3 * (int64_t)SEC);
    CU_ASSERT_EQUAL(dm_membership_get_stats(mship(c, leaver))->sent[DM_MSG_PING],
                    pings + cfg.indirect_checks + 1);
    dm_cluster_crash(c, leaver);
    run_to(c, now(c) + 60 * (int64_t)SEC);
    int64_t last = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i == leaver)
            continue;
        dm_member_info info;
        dm_membership_info(mship(c, i), leaver, &info);
        CU_ASSERT_EQUAL(info.state, DM_MEMBER_LEFT);
        CU_ASSERT_EQUAL(info.incarnation, inc + 1);
        CU_ASSERT_EQUAL(dm_cluster_member_events(c, i, leaver, DM_MEMBER_EV_LEFT), 1);
        last = MAX(last, dm_cluster_member_event_first(c, i, leaver, DM_MEMBER_EV_LEFT));
    }
    CU_ASSERT_EQUAL(events(c, DM_MEMBER_EV_DEAD, leaver), 0);
    CU_ASSERT_EQUAL(events(c, DM_MEMBER_EV_SUSPECT, leaver), 0);
    CU_ASSERT(last - t0 <= 3 * SEC);
    CU_ASSERT(all_alive(c));
    g_printerr("\n    leave, n=8: LEFT everywhere after %.2f s\n", (double)(last - t0) / SEC);
    swim_free(c, &wt);
}

/* n = 256: push/pull goes in chunks, and with 100 members crashed (far more
 * pending updates than a message holds) every message stays within the
 * budget and nothing is lost: the 156 survivors converge. */
static void test_budget(void)
{
    const uint32_t n = 256;
    watch wt;
    dm_cluster *c = swim_cluster(n, 800, NULL, &wt);
    wt.first_push = g_array_new(FALSE, FALSE, sizeof(dm_msg));
    run_to(c, now(c) + 5 * (int64_t)SEC);
    /* The first push (4 chunks, REPLY on each, LAST on the last) and its
     * reply (4 chunks, LAST on the last), in that order. */
    CU_ASSERT_FATAL(wt.first_push->len >= 8);
    const dm_msg *p0 = &g_array_index(wt.first_push, dm_msg, 0);
    uint32_t pusher = p0->from, partner = p0->to;
    for (guint i = 0; i < 8; i++) {
        const dm_msg *msg = &g_array_index(wt.first_push, dm_msg, i);
        bool push = i < 4;
        CU_ASSERT_EQUAL(msg->from, push ? pusher : partner);
        CU_ASSERT_EQUAL(msg->to, push ? partner : pusher);
        CU_ASSERT_EQUAL(msg->n_updates, DM_MSG_MAX_UPDATES);
        CU_ASSERT_EQUAL(msg->updates[0].member, (i % 4) * DM_MSG_MAX_UPDATES);
        CU_ASSERT_EQUAL(msg->value, (push ? DM_SYNC_REPLY : 0u) | (i % 4 == 3 ? DM_SYNC_LAST : 0u));
    }
    for (uint32_t i = 0; i < 100; i++)
        dm_cluster_crash(c, 2 * i + 1);
    int64_t t0 = now(c);
    int64_t done = run_until_every(c, t0 + 180 * (int64_t)SEC, SEC, all_alive);
    CU_ASSERT(done != INT64_MAX);
    CU_ASSERT(wt.full_messages > 0);
    uint64_t dropped = 0;
    for (uint32_t i = 0; i < n; i++)
        if (mship(c, i))
            dropped += dm_membership_get_stats(mship(c, i))->updates_dropped;
    CU_ASSERT_EQUAL(dropped, 0);
    g_printerr("\n    n=256, 100 crashed: survivors agree after %.1f s; %" G_GUINT64_FORMAT
               " of %" G_GUINT64_FORMAT " messages were full (64 updates)\n",
               done == INT64_MAX ? -1.0 : (double)(done - t0) / SEC, wt.full_messages,
               dm_cluster_sent_all(c));
    swim_free(c, &wt);
}

/* The world's trace hash folds every event: same seed, same run. */
static uint64_t trace_of(uint64_t seed, uint64_t *msgs)
{
    watch wt;
    dm_cluster *c = swim_cluster(8, seed, NULL, &wt);
    dm_cluster_set_rates(c, 0.05, 0, 0);
    run_to(c, now(c) + 20 * (int64_t)SEC);
    dm_cluster_crash(c, 2);
    dm_cluster_isolate(c, 6);
    run_to(c, now(c) + 40 * (int64_t)SEC);
    dm_cluster_heal(c);
    run_to(c, now(c) + 40 * (int64_t)SEC);
    uint64_t h = dm_world_hash(dm_cluster_world(c));
    *msgs = dm_cluster_sent_all(c);
    swim_free(c, &wt);
    return h;
}

static void test_determinism(void)
{
    uint64_t m1, m2, m3;
    uint64_t a = trace_of(900, &m1), b = trace_of(900, &m2), c = trace_of(901, &m3);
    CU_ASSERT_EQUAL(a, b);
    CU_ASSERT_EQUAL(m1, m2);
    CU_ASSERT_NOT_EQUAL(a, c);
    CU_ASSERT(m1 > 1000);
}

/* The checkers above can fail: a known disagreement is reported. */
static void test_checkers(void)
{
    watch wt;
    dm_cluster *c = swim_cluster(3, 1000, NULL, &wt);
    CU_ASSERT(agree(c));
    CU_ASSERT(all_alive(c));
    /* Member 1 alone hears that 2 is dead. */
    dm_msg msg;
    memset(&msg, 0, sizeof msg);
    msg.type = DM_MSG_PING;
    msg.from = 0;
    msg.to = 1;
    msg.n_updates = 1;
    msg.updates[0] = (dm_member_update){ .member = 2, .accuser = 0, .state = DM_MEMBER_DEAD };
    CU_ASSERT_EQUAL(dm_cluster_inject(c, 1, &msg), 0);
    CU_ASSERT_FALSE(agree(c));
    CU_ASSERT_FALSE(all_alive(c));
    CU_ASSERT_EQUAL(events(c, DM_MEMBER_EV_DEAD, 2), 1);
    /* The view hash tells views apart, and only views. */
    CU_ASSERT_NOT_EQUAL(dm_membership_view_hash(mship(c, 0)), dm_membership_view_hash(mship(c, 1)));
    CU_ASSERT_EQUAL(dm_membership_view_hash(mship(c, 0)), dm_membership_view_hash(mship(c, 2)));
    swim_free(c, &wt);
    /* ... and a crashed member still in a view fails all_alive. */
    c = swim_cluster(3, 1001, NULL, &wt);
    dm_cluster_crash(c, 0);
    CU_ASSERT(agree(c));
    CU_ASSERT_FALSE(all_alive(c));
    swim_free(c, &wt);
}

/* Messages per member per second: SWIM's load is constant in n. */
static void test_load(void)
{
    static const uint32_t sizes[] = {8, 32, 128};
    double rate[G_N_ELEMENTS(sizes)];
    g_printerr("\n");
    for (size_t k = 0; k < G_N_ELEMENTS(sizes); k++) {
        watch wt;
        dm_cluster *c = swim_cluster(sizes[k], 1100 + k, NULL, &wt);
        run_to(c, now(c) + 10 * (int64_t)SEC);
        uint64_t before = dm_cluster_sent_all(c);
        const int64_t span = 120 * (int64_t)SEC;
        run_to(c, now(c) + span);
        rate[k] = (double)(dm_cluster_sent_all(c) - before) / sizes[k] / ((double)span / SEC);
        g_printerr("    load n=%u: %.2f messages per member per second\n", sizes[k], rate[k]);
        swim_free(c, &wt);
    }
    for (size_t k = 0; k < G_N_ELEMENTS(sizes); k++)
        CU_ASSERT(rate[k] >= 1.5 && rate[k] <= 3.0);
    CU_ASSERT(rate[2] / rate[0] < 1.3);
}

/* ======================================================== memberlist rules */

/* The index of the first message of `type` (to `to`, unless UINT32_MAX)
 * sent at or after index `from`; UINT_MAX when none. */
static guint solo_find(const solo *s, guint from, dm_msg_type type, uint32_t to)
{
    for (guint i = from; i < s->sent->len; i++) {
        const dm_msg *msg = &g_array_index(s->sent, dm_msg, i);
        if (msg->type == type && (to == UINT32_MAX || msg->to == to))
            return i;
    }
    return UINT_MAX;
}

static int64_t solo_sent_at(const solo *s, guint i)
{
    return g_array_index(s->sent_at, int64_t, i);
}

/* Tick deadline by deadline (at most `until`) until a message of `type`
 * has been sent at index >= from; returns its index or UINT_MAX. */
static guint solo_run_until_sent(solo *s, guint from, dm_msg_type type, int64_t until)
{
    for (int steps = 0; steps < 10000; steps++) {
        guint i = solo_find(s, from, type, UINT32_MAX);
        if (i != UINT_MAX)
            return i;
        int64_t at = dm_membership_next_deadline(s->m);
        if (at > until)
            return UINT_MAX;
        s->now = MAX(s->now, at);
        dm_membership_tick(s->m, s->now);
        solo_deliver_replies(s);
    }
    return UINT_MAX;
}

/* A module of n members (self 0) whose others stay silent, run to its first
 * probe's PING: returns that PING's index in s->sent (never UINT_MAX). */
static guint solo_first_probe(solo *s, const dm_swim_config *cfg)
{
    solo_init(s, cfg, false);
    guint ping = solo_run_until_sent(s, 0, DM_MSG_PING, s->now + 2 * cfg->probe_interval_us);
    CU_ASSERT_FATAL(ping != UINT_MAX);
    return ping;
}

/* The time a silent member is declared DEAD after we suspect it, as a
 * function of n: K = suspicion_mult - 2 = 2 expected confirmations, none
 * when n - 2 < K, and then the timeout is min (4 s), not max (24 s). At
 * n = 2 a crash is DEAD about 4 s after the suspicion (it was 24 s). */
static void test_k_and_two_members(void)
{
    static const struct {
        uint32_t n;
        int64_t timeout;
    } cases[] = { {2, 4 * SEC}, {3, 4 * SEC}, {4, 24 * SEC}, {12, 24 * (int64_t)(1.0791812 * SEC)} };
    for (size_t k = 0; k < G_N_ELEMENTS(cases); k++) {
        dm_swim_config cfg = default_cfg(cases[k].n);
        CU_ASSERT_EQUAL(expected_k(&cfg), cases[k].n >= 4 ? 2 : 0);
        solo s;
        solo_init(&s, &cfg, true);
        int64_t t0 = s.now;
        solo_update(&s, 1, cases[k].n - 1, DM_MEMBER_SUSPECT, 0);
        solo_run(&s, t0 + cases[k].timeout - 1);
        CU_ASSERT_EQUAL(solo_count_events(&s, DM_MEMBER_EV_DEAD, cases[k].n - 1), 0);
        solo_run(&s, t0 + cases[k].timeout + 1);
        CU_ASSERT_EQUAL(solo_count_events(&s, DM_MEMBER_EV_DEAD, cases[k].n - 1), 1);
        solo_free(&s);
    }
    /* n = 2, the other member silent from the start: DEAD within a period
     * or two of probing plus 4 s. */
    dm_swim_config cfg = default_cfg(2);
    solo s;
    solo_init(&s, &cfg, false);
    int64_t t0 = s.now;
    solo_run(&s, t0 + 30 * SEC);
    CU_ASSERT_EQUAL_FATAL(solo_count_events(&s, DM_MEMBER_EV_DEAD, 1), 1);
    int64_t suspect = 0, dead = 0;
    for (guint i = 0; i < s.events->len; i++) {
        dm_member_event_type t = g_array_index(s.events, dm_member_event, i).type;
        if (t == DM_MEMBER_EV_SUSPECT)
            suspect = g_array_index(s.event_at, int64_t, i);
        if (t == DM_MEMBER_EV_DEAD)
            dead = g_array_index(s.event_at, int64_t, i);
    }
    CU_ASSERT_EQUAL(dead - suspect, 4 * SEC);
    CU_ASSERT(dead - t0 <= 6 * SEC);
    solo_free(&s);
}

/* Run one probe of a silent target among n = 5 to its end: the relays NACK
 * `nacks` of the 3 PING_REQs. Returns the health afterwards. */
static uint32_t health_after_failed_probe(uint32_t nacks, bool lifeguard)
{
    dm_swim_config cfg = default_cfg(5);
    cfg.lifeguard = lifeguard;
    solo s;
    guint ping = solo_first_probe(&s, &cfg);
    const dm_msg probe = g_array_index(s.sent, dm_msg, ping);
    int64_t start = solo_sent_at(&s, ping);
    guint req = solo_run_until_sent(&s, ping, DM_MSG_PING_REQ, start + SEC);
    CU_ASSERT_FATAL(req != UINT_MAX);
    CU_ASSERT_EQUAL(solo_sent_at(&s, req), start + cfg.probe_timeout_us);
    uint32_t asked = 0;
    for (guint i = req; i < s.sent->len; i++) {
        const dm_msg *r = &g_array_index(s.sent, dm_msg, i);
        if (r->type != DM_MSG_PING_REQ)
            continue;
        if (asked++ >= nacks)
            continue;
        dm_msg nack = probe_msg(DM_MSG_NACK, r->to, 0, probe.value, probe.to);
        CU_ASSERT_EQUAL(dm_membership_receive(s.m, s.now, &nack), 0);
    }
    CU_ASSERT_EQUAL(asked, 3);
    solo_run(&s, start + cfg.probe_interval_us);
    CU_ASSERT_EQUAL(dm_membership_get_stats(s.m)->suspicions, 1);
    uint32_t h = dm_membership_health(s.m);
    solo_free(&s);
    return h;
}

/* Lifeguard's health deltas as memberlist's probeNode: a failed probe adds
 * the NACKs that did not come (not 1 + them), or 1 with no relay; a
 * successful probe takes 1 off. */
static void test_health_deltas(void)
{
    CU_ASSERT_EQUAL(health_after_failed_probe(0, true), 3);
    CU_ASSERT_EQUAL(health_after_failed_probe(1, true), 2);
    CU_ASSERT_EQUAL(health_after_failed_probe(3, true), 0);
    /* no relay (n = 2): 1 per failed probe; then answered probes: -1 each */
    dm_swim_config cfg = default_cfg(2);
    solo s;
    guint ping = solo_first_probe(&s, &cfg);
    solo_run(&s, solo_sent_at(&s, ping) + cfg.probe_interval_us);
    CU_ASSERT_EQUAL(dm_membership_health(s.m), 1);
    solo_run(&s, s.now + 2 * cfg.probe_interval_us);
    CU_ASSERT_EQUAL(dm_membership_health(s.m), 2);
    /* it refutes (which answers the probe running: 1), then answers */
    s.answer_pings = true;
    solo_update(&s, 1, 1, DM_MEMBER_ALIVE, 1);
    CU_ASSERT_EQUAL(dm_membership_health(s.m), 1);
    solo_run(&s, s.now + 2 * cfg.probe_interval_us);
    CU_ASSERT_EQUAL(dm_membership_health(s.m), 0);
    solo_free(&s);
}

/* Health scales the probe period, not the probe timeout: with health h, the
 * indirect phase (here the stream ping, n = 2 has no relay) still starts
 * probe_timeout after the PING, and a failed probe's period is (h + 1) x
 * probe_interval; an answered probe ends at once, and the next one starts
 * one unscaled interval after the last started. */
static void test_interval_scaling(void)
{
    dm_swim_config cfg = default_cfg(2);
    solo s;
    /* three failed probes: health 1, 2, 3 */
    guint first = solo_first_probe(&s, &cfg);
    solo_run(&s, solo_sent_at(&s, first) + (1 + 2 + 3) * cfg.probe_interval_us - 1);
    CU_ASSERT_EQUAL(dm_membership_health(s.m), 2);
    /* the probe running now started at +3 s, with health 2: the stream
     * ping left 500 ms later, and the period lasts 3 s */
    int64_t start = solo_sent_at(&s, first) + 3 * cfg.probe_interval_us;
    guint stream = UINT_MAX;
    for (guint i = first; i < s.sent->len; i++) {
        const dm_msg *msg = &g_array_index(s.sent, dm_msg, i);
        if (msg->type == DM_MSG_PING && dm_msg_is_stream(msg))
            stream = i;
    }
    CU_ASSERT_FATAL(stream != UINT_MAX);
    CU_ASSERT_EQUAL(solo_sent_at(&s, stream), start + cfg.probe_timeout_us);
    solo_run(&s, start + 3 * cfg.probe_interval_us);
    CU_ASSERT_EQUAL(dm_membership_health(s.m), 3);
    /* It refutes (it was DEAD by then, and nobody is probed): then one
     * answered probe per unscaled interval while health goes 3 -> 0. */
    s.answer_pings = true;
    solo_update(&s, 1, 1, DM_MEMBER_ALIVE, 1);
    CU_ASSERT_EQUAL(dm_membership_health(s.m), 3);
    solo_clear(&s);
    solo_run(&s, s.now + 4 * cfg.probe_interval_us + 1);
    uint32_t probes = 0;
    int64_t last = 0;
    for (guint i = 0; i < s.sent->len; i++) {
        const dm_msg *msg = &g_array_index(s.sent, dm_msg, i);
        if (msg->type != DM_MSG_PING || dm_msg_is_stream(msg))
            continue;
        if (probes++ > 0)
            CU_ASSERT_EQUAL(solo_sent_at(&s, i) - last, cfg.probe_interval_us);
        last = solo_sent_at(&s, i);
    }
    CU_ASSERT(probes >= 4);
    CU_ASSERT_EQUAL(dm_membership_health(s.m), 0);
    solo_free(&s);
}

/* Classic SWIM (lifeguard = false): no health, no NACK from a relay, and a
 * fixed suspicion timeout of min whatever n. */
static void test_lifeguard_off(void)
{
    CU_ASSERT_EQUAL(health_after_failed_probe(0, false), 0);
    dm_swim_config cfg = default_cfg(6);
    cfg.lifeguard = false;
    CU_ASSERT_EQUAL(expected_k(&cfg), 0);
    solo s;
    solo_init(&s, &cfg, true);
    int64_t t0 = s.now;
    solo_update(&s, 1, 2, DM_MEMBER_SUSPECT, 0);
    solo_run(&s, t0 + 4 * SEC - 1);
    CU_ASSERT_EQUAL(solo_count_events(&s, DM_MEMBER_EV_DEAD, 2), 0);
    solo_run(&s, t0 + 4 * SEC);
    CU_ASSERT_EQUAL(solo_count_events(&s, DM_MEMBER_EV_DEAD, 2), 1);
    /* refuting raises no health either */
    solo_update(&s, 1, 0, DM_MEMBER_SUSPECT, 0);
    CU_ASSERT_EQUAL(dm_membership_get_stats(s.m)->refutations, 1);
    CU_ASSERT_EQUAL(dm_membership_health(s.m), 0);
    /* a relay that gets no ACK stays silent */
    dm_msg req = probe_msg(DM_MSG_PING_REQ, 1, 0, 4242, 3);
    s.answer_pings = false;
    solo_clear(&s);
    CU_ASSERT_EQUAL(dm_membership_receive(s.m, s.now, &req), 0);
    solo_run(&s, s.now + 2 * SEC);
    CU_ASSERT_EQUAL(solo_find(&s, 0, DM_MSG_NACK, UINT32_MAX), UINT_MAX);
    solo_free(&s);
}

/* The gossip loop: while a broadcast is pending, every gossip_interval a
 * GOSSIP to at most gossip_nodes distinct members; none once the queue is
 * empty (an idle cluster sends no gossip). */
static void test_gossip(void)
{
    dm_swim_config cfg = default_cfg(20);
    cfg.probe_interval_us = 1000 * SEC;     /* keep probes out of the way */
    cfg.probe_timeout_us = SEC;
    cfg.push_pull_interval_us = 0;
    solo s;
    solo_init(&s, &cfg, true);
    solo_run(&s, s.now + 5 * SEC);
    CU_ASSERT_EQUAL(solo_find(&s, 0, DM_MSG_GOSSIP, UINT32_MAX), UINT_MAX);
    solo_update(&s, 1, 7, DM_MEMBER_SUSPECT, 0);
    solo_clear(&s);
    solo_run(&s, s.now + 10 * SEC);
    /* grouped by tick: at most 3, to distinct members, ticks 200 ms apart */
    guint n_gossip = 0, n_ticks = 0;
    int64_t tick = -1, first_tick = 0;
    uint32_t to[3];
    guint in_tick = 0;
    for (guint i = 0; i < s.sent->len; i++) {
        const dm_msg *msg = &g_array_index(s.sent, dm_msg, i);
        if (msg->type != DM_MSG_GOSSIP)
            continue;
        n_gossip++;
        CU_ASSERT(msg->to != 0 && msg->n_updates >= 1);
        CU_ASSERT(has_update(msg, 7, DM_MEMBER_SUSPECT, 0));
        int64_t at = solo_sent_at(&s, i);
        if (at != tick) {
            if (n_ticks++ == 0)
                first_tick = at;
            CU_ASSERT_EQUAL((at - first_tick) % cfg.gossip_interval_us, 0);
            tick = at;
            in_tick = 0;
        }
        CU_ASSERT_FATAL(in_tick < 3);
        for (guint k = 0; k < in_tick; k++)
            CU_ASSERT(to[k] != msg->to);
        to[in_tick++] = msg->to;
    }
    /* the update is sent retransmit_mult x ceil(log10 21) = 8 times: once
     * on our ACK to the PING that brought it, then 7 gossips: three ticks,
     * the last cut short when the queue empties */
    CU_ASSERT_EQUAL(n_gossip, 7);
    CU_ASSERT_EQUAL(n_ticks, 3);
    CU_ASSERT(first_tick - s.now + 10 * SEC <= cfg.gossip_interval_us);
    /* idle again: nothing more */
    solo_clear(&s);
    solo_run(&s, s.now + 10 * SEC);
    CU_ASSERT_EQUAL(solo_find(&s, 0, DM_MSG_GOSSIP, UINT32_MAX), UINT_MAX);
    solo_free(&s);
}

/* Gossip goes to members DEAD for at most gossip_to_dead, not after. */
static void test_gossip_to_dead(void)
{
    dm_swim_config cfg = default_cfg(4);    /* n < 3 x 3: every target, each tick */
    cfg.probe_interval_us = 1000 * SEC;
    cfg.probe_timeout_us = SEC;
    cfg.push_pull_interval_us = 0;
    cfg.gossip_to_dead_us = 5 * SEC;
    solo s;
    solo_init(&s, &cfg, true);
    solo_update(&s, 1, 2, DM_MEMBER_DEAD, 0);
    solo_clear(&s);
    solo_run(&s, s.now + 2 * SEC);
    CU_ASSERT(solo_find(&s, 0, DM_MSG_GOSSIP, 2) != UINT_MAX);
    solo_run(&s, s.now + 5 * SEC);
    /* 7 s after the death: news (3 refutes nothing, it is just newer) */
    solo_clear(&s);
    solo_update(&s, 1, 3, DM_MEMBER_ALIVE, 1);
    solo_run(&s, s.now + 5 * SEC);
    CU_ASSERT(solo_find(&s, 0, DM_MSG_GOSSIP, 1) != UINT_MAX);
    CU_ASSERT(solo_find(&s, 0, DM_MSG_GOSSIP, 3) != UINT_MAX);
    CU_ASSERT_EQUAL(solo_find(&s, 0, DM_MSG_GOSSIP, 2), UINT_MAX);
    solo_free(&s);
}

/* memberlist's pushPullScale, and the push/pull partner: ALIVE, or now
 * and then a DEAD one, never a SUSPECT or LEFT one. */
static void test_push_pull_scale(void)
{
    static const struct {
        uint32_t n;
        int64_t every;
    } cases[] = { {8, 30}, {32, 30}, {33, 60}, {64, 60}, {65, 90}, {1024, 180}, {4096, 240} };
    for (size_t k = 0; k < G_N_ELEMENTS(cases); k++) {
        dm_swim_config cfg = default_cfg(cases[k].n);
        CU_ASSERT_EQUAL(dm_swim_push_pull_interval(&cfg), cases[k].every * SEC);
    }
    dm_swim_config cfg = default_cfg(64);
    cfg.probe_interval_us = 1000 * SEC;
    cfg.probe_timeout_us = SEC;
    solo s;
    solo_init(&s, &cfg, true);
    for (uint32_t id = 10; id < 20; id++)
        solo_update(&s, 1, id, DM_MEMBER_DEAD, 0);
    for (uint32_t id = 20; id < 25; id++)
        solo_update(&s, 1, id, DM_MEMBER_SUSPECT, 0);
    for (uint32_t id = 25; id < 30; id++)
        solo_update(&s, id, id, DM_MEMBER_LEFT, 1);
    solo_clear(&s);
    int64_t t0 = s.now;
    solo_run(&s, t0 + 3600 * (int64_t)SEC);
    uint32_t pushes = 0, to_dead = 0;
    int64_t last = 0;
    for (guint i = 0; i < s.sent->len; i++) {
        const dm_msg *msg = &g_array_index(s.sent, dm_msg, i);
        if (msg->type != DM_MSG_SYNC || !(msg->value & DM_SYNC_LAST))
            continue;
        CU_ASSERT(msg->to < 20 || msg->to >= 30);
        to_dead += msg->to >= 10 && msg->to < 20;
        if (pushes++ > 0)
            CU_ASSERT_EQUAL(solo_sent_at(&s, i) - last, 60 * SEC);
        last = solo_sent_at(&s, i);
    }
    CU_ASSERT(pushes >= 59 && pushes <= 61);
    CU_ASSERT(to_dead >= 5 && to_dead <= 30);    /* 1 in 4 on average: 15 */
    solo_free(&s);
}

/* The TCP fallback: when the probe goes indirect, the target also gets a
 * PING with DM_SEQ_STREAM on the probe's sequence (no updates); its ACK
 * echoes the bit, and by the end of the period it saves the target from
 * suspicion (a success for health). A stream PING is answered with a bare
 * ACK. swim.tcp_fallback = false sends none. */
static void test_stream_ping(void)
{
    for (int answer = 0; answer <= 2; answer++) {
        dm_swim_config cfg = default_cfg(5);
        cfg.tcp_fallback = answer < 2;
        solo s;
        guint ping = solo_first_probe(&s, &cfg);
        const dm_msg probe = g_array_index(s.sent, dm_msg, ping);
        int64_t start = solo_sent_at(&s, ping);
        CU_ASSERT_FALSE(dm_msg_is_stream(&probe));
        CU_ASSERT_EQUAL(probe.value & DM_SEQ_STREAM, 0);
        solo_run(&s, start + cfg.probe_timeout_us);
        guint stream = UINT_MAX;
        for (guint i = ping + 1; i < s.sent->len; i++)
            if (dm_msg_is_stream(&g_array_index(s.sent, dm_msg, i)))
                stream = i;
        if (answer == 2) {
            CU_ASSERT_EQUAL(stream, UINT_MAX);
            solo_free(&s);
            continue;
        }
        CU_ASSERT_FATAL(stream != UINT_MAX);
        const dm_msg *sp = &g_array_index(s.sent, dm_msg, stream);
        CU_ASSERT_EQUAL(sp->type, DM_MSG_PING);
        CU_ASSERT_EQUAL(sp->to, probe.to);
        CU_ASSERT_EQUAL(sp->value, probe.value | DM_SEQ_STREAM);
        CU_ASSERT_EQUAL(sp->n_updates, 0);
        CU_ASSERT_EQUAL(solo_sent_at(&s, stream), start + cfg.probe_timeout_us);
        CU_ASSERT_EQUAL(dm_membership_get_stats(s.m)->stream_pings, 1);
        if (answer == 1) {
            dm_msg ack = probe_msg(DM_MSG_ACK, probe.to, 0, sp->value, probe.to);
            CU_ASSERT(dm_msg_is_stream(&ack));
            s.now += 100 * MS;
            CU_ASSERT_EQUAL(dm_membership_receive(s.m, s.now, &ack), 0);
        }
        solo_run(&s, start + cfg.probe_interval_us);
        const dm_membership_stats *st = dm_membership_get_stats(s.m);
        CU_ASSERT_EQUAL(st->suspicions, answer == 1 ? 0 : 1);
        CU_ASSERT_EQUAL(st->stream_saves, answer == 1 ? 1 : 0);
        /* saved: a success (0 stays 0), not 3 missed NACKs */
        CU_ASSERT_EQUAL(dm_membership_health(s.m), answer == 1 ? 0 : 3);
        solo_free(&s);
    }
    /* The receiving side: a bare ACK with the bit, even with news pending. */
    dm_swim_config cfg = default_cfg(5);
    solo s;
    solo_init(&s, &cfg, false);
    solo_update(&s, 1, 3, DM_MEMBER_SUSPECT, 0);
    solo_clear(&s);
    CU_ASSERT_EQUAL(solo_inject(&s, DM_MSG_PING, 2, 77 * 8192 | DM_SEQ_STREAM, NULL, 0), 0);
    CU_ASSERT_EQUAL_FATAL(s.sent->len, 1);
    const dm_msg *ack = &g_array_index(s.sent, dm_msg, 0);
    CU_ASSERT_EQUAL(ack->type, DM_MSG_ACK);
    CU_ASSERT_EQUAL(ack->value, 77 * 8192 | DM_SEQ_STREAM);
    CU_ASSERT(dm_msg_is_stream(ack));
    CU_ASSERT_EQUAL(ack->n_updates, 0);
    solo_free(&s);
}

/* The simulator's stream: never lost (loss 1), cut when either direction
 * is, and a connection's first message takes three legs. */
static void test_stream_route(void)
{
    dm_simnet_params p = { .latency_us = 1000, .loss = 1.0, .dup = 1.0, .reorder = 1.0,
                           .reorder_delay_us = 1000000 };
    dm_prng prng;
    dm_prng_seed(&prng, 5);
    dm_simnet *net = dm_simnet_new(3, &p, &prng);
    int64_t d[2];
    for (int i = 0; i < 100; i++) {
        CU_ASSERT_EQUAL(dm_simnet_route_stream(net, 0, 1, 3, d), 1);
        CU_ASSERT_EQUAL(d[0], 3000);
        CU_ASSERT_EQUAL(dm_simnet_route_stream(net, 1, 0, 1, d), 1);
        CU_ASSERT_EQUAL(d[0], 1000);
        CU_ASSERT_EQUAL(dm_simnet_route(net, 0, 1, d), DM_SIMNET_LOST);
    }
    dm_simnet_set_cut(net, 2, 0, true);
    CU_ASSERT_EQUAL(dm_simnet_route_stream(net, 0, 2, 3, d), DM_SIMNET_CUT);
    CU_ASSERT_EQUAL(dm_simnet_route_stream(net, 2, 0, 1, d), DM_SIMNET_CUT);
    CU_ASSERT_EQUAL(dm_simnet_route_stream(net, 0, 1, 3, d), 1);
    dm_simnet_free(net);
}

static const CU_TestInfo tests[] = {
    { "config and queries", test_config },
    { "precedence table", test_precedence },
    { "refutation", test_refute },
    { "suspicion timer", test_suspicion_timer },
    { "confirmations count accusers, not relays", test_confirm_per_accuser },
    { "own probe, indirect probe, relay", test_own_probe },
    { "a forgotten id is out of the view, silently", test_forget },
    { "push/pull merge and reply", test_sync },
    { "transmit-limited queue", test_queue },
    { "all alive: no suspicion, JOIN for all", test_quiet },
    { "crash detection", test_crash },
    { "false suspicion refuted", test_false_suspicion },
    { "partition heals", test_partition },
    { "5% and 10% loss for hours", test_loss },
    { "restart", test_restart },
    { "quick restart announces its incarnation", test_quick_restart_announces },
    { "leave", test_leave },
    { "datagram budget n=256", test_budget },
    { "determinism", test_determinism },
    { "checkers can fail", test_checkers },
    { "load per member", test_load },
    { "K = suspicion_mult - 2; n = 2 DEAD after min", test_k_and_two_members },
    { "health deltas as memberlist", test_health_deltas },
    { "health scales the period, not the timeout", test_interval_scaling },
    { "lifeguard = false: classic SWIM", test_lifeguard_off },
    { "gossip loop, idle when nothing is pending", test_gossip },
    { "gossip to the recently dead only", test_gossip_to_dead },
    { "push/pull scale and partner", test_push_pull_scale },
    { "stream (TCP fallback) ping", test_stream_ping },
    { "simulator routes stream messages", test_stream_route },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return dm_test_run("membership", tests);
}
