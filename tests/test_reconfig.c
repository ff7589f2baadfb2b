/* Tests of core/reconfig: the configuration-change agreement of `epoch`.
 *
 * Two suites:
 *  - `reconfig`: one module driven by hand (the `solo` harness records every
 *    persist, send and event in order), for the acceptor's rules, the
 *    proposer's adoption of accepted configurations, persistence before
 *    answers, the state codec and message validation;
 *  - `reconfig-model`: a bounded randomized model checker. N modules over a
 *    network that delays, reorders, duplicates and drops, with crashes that
 *    restart from the last persisted bytes, failed persists, 2..3 proposers
 *    of different successors, chained changes, and a toy lock layer that
 *    acknowledges tokens and leases through quorums of its epoch while
 *    dm_reconfig_sealed() allows. An oracle watches every acceptor's state
 *    and checks: one configuration chosen (and installed) per epoch, one
 *    configuration per ballot, nothing installed that was not chosen,
 *    installed epochs only increase per member, every token acknowledged in
 *    e is at most every token floor of e+1 and every lease of e ends within
 *    every install of e+1 plus its quiet period; then, on a quiet network,
 *    that a live preferred proposer completes a change that every member
 *    installs (liveness), and that duelling proposers converge. Two
 *    deliberately broken variants must be caught ("two configs chosen").
 * Every loop is bounded by a count or by simulated time.
 */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "heap.h"
#include "prng.h"
#include "quorum.h"
#include "reconfig.h"
#include "testlib.h"

#define MS 1000
#define B(round, id) DM_RECONFIG_BALLOT(round, id)

static dm_epoch_config conf_of(uint64_t epoch, const uint32_t *ids, uint32_t count)
{
    dm_epoch_config c;
    memset(&c, 0, sizeof c);
    c.epoch = epoch;
    c.count = count;
    memcpy(c.ids, ids, count * sizeof ids[0]);
    return c;
}

/* ====================================================================== solo */

enum { LOG_PERSIST = 1, LOG_SEND, LOG_EVENT };

typedef struct logent {
    int kind;
    dm_reconfig_msg msg;          /* LOG_SEND */
    dm_reconfig_event ev;         /* LOG_EVENT (conf copied below) */
    dm_epoch_config ev_conf;
} logent;

typedef struct solo {
    dm_reconfig *r;
    GArray *log;
    uint8_t disk[DM_RECONFIG_STATE_MAX];
    size_t disk_len;
    int persist_rc;               /* what persist answers */
    uint64_t tokens, lease_us;    /* the lock layer's reports */
    dm_reconfig_params p;
} solo;

static int solo_persist(void *user, const void *bytes, size_t len)
{
    solo *s = user;
    logent e = { .kind = LOG_PERSIST };
    g_array_append_val(s->log, e);
    if (s->persist_rc < 0)
        return s->persist_rc;
    CU_ASSERT_FATAL(len <= sizeof s->disk);
    memcpy(s->disk, bytes, len);
    s->disk_len = len;
    return 0;
}

static void solo_send(void *user, const dm_reconfig_msg *m)
{
    solo *s = user;
    logent e = { .kind = LOG_SEND, .msg = *m };
    g_array_append_val(s->log, e);
}

static void solo_event(void *user, const dm_reconfig_event *ev)
{
    solo *s = user;
    logent e = { .kind = LOG_EVENT, .ev = *ev };
    if (ev->conf)
        e.ev_conf = *ev->conf;
    g_array_append_val(s->log, e);
}

static void solo_report(void *user, uint64_t *tokens, uint64_t *lease_us)
{
    solo *s = user;
    *tokens = s->tokens;
    *lease_us = s->lease_us;
}

static const dm_reconfig_driver solo_driver = {
    solo_persist, solo_send, solo_event, solo_report,
};

/* Member `self` of a universe of `universe`, C_1 = {0..n-1}, majority quorums. */
static void solo_start(solo *s, uint32_t universe, uint32_t n, uint32_t self)
{
    memset(s, 0, sizeof *s);
    s->log = g_array_new(FALSE, TRUE, sizeof(logent));
    dm_reconfig_params_defaults(&s->p);
    s->p.universe = universe;
    s->p.self = self;
    s->p.quorum = dm_quorum_lookup("majority");
    s->p.seed = 7;
    s->p.initial.epoch = 1;
    s->p.initial.count = n;
    for (uint32_t i = 0; i < n; i++)
        s->p.initial.ids[i] = i;
    CU_ASSERT_EQUAL_FATAL(dm_reconfig_new(&s->p, &solo_driver, s, 0, NULL, 0, &s->r), 0);
}

static void solo_restart(solo *s)
{
    dm_reconfig_free(s->r);
    s->r = NULL;
    CU_ASSERT_EQUAL_FATAL(
        dm_reconfig_new(&s->p, &solo_driver, s, 0, s->disk, s->disk_len, &s->r), 0);
}

static void solo_stop(solo *s)
{
    dm_reconfig_free(s->r);
    g_array_free(s->log, TRUE);
}

static logent *at(solo *s, guint i)
{
    CU_ASSERT_FATAL(i < s->log->len);
    return &g_array_index(s->log, logent, i);
}

/* The only message sent since the log was last cleared, NULL if not exactly one. */
static const dm_reconfig_msg *only_send(solo *s)
{
    const dm_reconfig_msg *found = NULL;
    for (guint i = 0; i < s->log->len; i++)
        if (at(s, i)->kind == LOG_SEND) {
            if (found)
                return NULL;
            found = &at(s, i)->msg;
        }
    return found;
}

static guint count_kind(solo *s, int kind)
{
    guint k = 0;
    for (guint i = 0; i < s->log->len; i++)
        k += at(s, i)->kind == kind;
    return k;
}

static int feed(solo *s, int64_t now, dm_reconfig_msg_type type, uint32_t from, uint64_t epoch,
                uint64_t ballot)
{
    dm_reconfig_msg m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.from = from;
    m.to = s->p.self;
    m.epoch = epoch;
    m.ballot = ballot;
    g_array_set_size(s->log, 0);
    return dm_reconfig_receive(s->r, now, &m);
}

static int feed_msg(solo *s, int64_t now, dm_reconfig_msg m)
{
    m.to = s->p.self;
    g_array_set_size(s->log, 0);
    return dm_reconfig_receive(s->r, now, &m);
}

static const uint32_t ids012[] = { 0, 1, 2 };
static const uint32_t ids01[] = { 0, 1 };
static const uint32_t ids123[] = { 1, 2, 3 };

static void test_promise_and_persist_order(void)
{
    solo s;
    solo_start(&s, 4, 3, 0);
    s.tokens = 41;
    s.lease_us = 900;
    CU_ASSERT_FALSE(dm_reconfig_sealed(s.r));
    CU_ASSERT_EQUAL(feed(&s, 10, DM_RECONFIG_SEAL, 1, 1, B(1, 1)), 0);
    /* persist, then the answer; a promise does not seal the lock layer */
    CU_ASSERT_EQUAL_FATAL(s.log->len, 2);
    CU_ASSERT_EQUAL(at(&s, 0)->kind, LOG_PERSIST);
    CU_ASSERT_EQUAL(at(&s, 1)->kind, LOG_SEND);
    const dm_reconfig_msg *a = &at(&s, 1)->msg;
    CU_ASSERT_EQUAL(a->type, DM_RECONFIG_SEALED);
    CU_ASSERT_EQUAL(a->to, 1);
    CU_ASSERT_EQUAL(a->ballot, B(1, 1));
    CU_ASSERT_EQUAL(a->accepted_ballot, 0);
    CU_ASSERT_EQUAL(a->conf.count, 0);
    CU_ASSERT_EQUAL(a->tokens, 41);
    CU_ASSERT_EQUAL(a->lease_us, 900);
    CU_ASSERT_EQUAL(dm_reconfig_msg_check(a, 4), 0);
    CU_ASSERT_FALSE(dm_reconfig_sealed(s.r));
    /* a duplicate is answered again without a new persist */
    CU_ASSERT_EQUAL(feed(&s, 11, DM_RECONFIG_SEAL, 1, 1, B(1, 1)), 0);
    CU_ASSERT_EQUAL(count_kind(&s, LOG_PERSIST), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(only_send(&s));
    CU_ASSERT_EQUAL(only_send(&s)->type, DM_RECONFIG_SEALED);
    /* accepting seals: persist, the SEALED event, then ACCEPTED with the
     * lock layer's reports as they are now */
    s.tokens = 43;
    s.lease_us = 700;
    dm_reconfig_msg acc = { .type = DM_RECONFIG_ACCEPT, .from = 1, .epoch = 1, .ballot = B(1, 1),
                            .conf = { .epoch = 2, .count = 2, .ids = { 0, 1 } } };
    CU_ASSERT_EQUAL(feed_msg(&s, 12, acc), 0);
    CU_ASSERT_EQUAL_FATAL(s.log->len, 3);
    CU_ASSERT_EQUAL(at(&s, 0)->kind, LOG_PERSIST);
    CU_ASSERT_EQUAL(at(&s, 1)->kind, LOG_EVENT);
    CU_ASSERT_EQUAL(at(&s, 1)->ev.type, DM_RECONFIG_EV_SEALED);
    CU_ASSERT_EQUAL(at(&s, 2)->kind, LOG_SEND);
    a = &at(&s, 2)->msg;
    CU_ASSERT_EQUAL(a->type, DM_RECONFIG_ACCEPTED);
    CU_ASSERT_EQUAL(a->tokens, 43);
    CU_ASSERT_EQUAL(a->lease_us, 700);
    CU_ASSERT_TRUE(dm_reconfig_sealed(s.r));
    /* sealing survives a restart */
    solo_restart(&s);
    CU_ASSERT_TRUE(dm_reconfig_sealed(s.r));
    CU_ASSERT_EQUAL(dm_reconfig_get_state(s.r)->promised, B(1, 1));
    solo_stop(&s);
}

static void test_reject_lower_ballot(void)
{
    solo s;
    solo_start(&s, 4, 3, 0);
    CU_ASSERT_EQUAL(feed(&s, 0, DM_RECONFIG_SEAL, 2, 1, B(5, 2)), 0);
    CU_ASSERT_EQUAL(feed(&s, 0, DM_RECONFIG_SEAL, 1, 1, B(4, 1)), 0);
    CU_ASSERT_EQUAL(count_kind(&s, LOG_PERSIST), 0);
    const dm_reconfig_msg *a = only_send(&s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(a->type, DM_RECONFIG_NACK);
    CU_ASSERT_EQUAL(a->ballot, B(4, 1));
    CU_ASSERT_EQUAL(a->promised, B(5, 2));
    /* an ACCEPT below the promise is refused too */
    dm_reconfig_msg m = { .type = DM_RECONFIG_ACCEPT, .from = 1, .epoch = 1, .ballot = B(4, 1),
                          .conf = conf_of(2, ids01, 2) };
    CU_ASSERT_EQUAL(feed_msg(&s, 0, m), 0);
    a = only_send(&s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(a->type, DM_RECONFIG_NACK);
    CU_ASSERT_EQUAL(dm_reconfig_get_state(s.r)->accepted_ballot, 0);
    /* the broken variant accepts it: the model checker's target */
    solo_stop(&s);
    solo_start(&s, 4, 3, 0);
    dm_reconfig_free(s.r);
    s.p.mutation = DM_RECONFIG_MUTATION_ACCEPT_LOWER;
    CU_ASSERT_EQUAL_FATAL(dm_reconfig_new(&s.p, &solo_driver, &s, 0, NULL, 0, &s.r), 0);
    CU_ASSERT_EQUAL(feed(&s, 0, DM_RECONFIG_SEAL, 2, 1, B(5, 2)), 0);
    CU_ASSERT_EQUAL(feed_msg(&s, 0, m), 0);
    CU_ASSERT_EQUAL(dm_reconfig_get_state(s.r)->accepted_ballot, B(4, 1));
    solo_stop(&s);
}

static void test_accept_then_report(void)
{
    solo s;
    solo_start(&s, 4, 3, 0);
    dm_reconfig_msg m = { .type = DM_RECONFIG_ACCEPT, .from = 2, .epoch = 1, .ballot = B(3, 2),
                          .conf = conf_of(2, ids01, 2) };
    CU_ASSERT_EQUAL(feed_msg(&s, 0, m), 0);
    /* accepting without a prior promise seals too; persisted first */
    CU_ASSERT_EQUAL(at(&s, 0)->kind, LOG_PERSIST);
    CU_ASSERT_EQUAL(at(&s, s.log->len - 1)->kind, LOG_SEND);
    CU_ASSERT_EQUAL(at(&s, s.log->len - 1)->msg.type, DM_RECONFIG_ACCEPTED);
    CU_ASSERT_TRUE(dm_reconfig_sealed(s.r));
    /* a later SEAL learns what was accepted */
    CU_ASSERT_EQUAL(feed(&s, 0, DM_RECONFIG_SEAL, 1, 1, B(4, 1)), 0);
    const dm_reconfig_msg *a = only_send(&s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(a->type, DM_RECONFIG_SEALED);
    CU_ASSERT_EQUAL(a->accepted_ballot, B(3, 2));
    CU_ASSERT_TRUE(dm_epoch_config_equal(&a->conf, &m.conf));
    /* ... and survives a restart */
    solo_restart(&s);
    CU_ASSERT_EQUAL(feed(&s, 0, DM_RECONFIG_SEAL, 1, 1, B(4, 1)), 0);
    a = only_send(&s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(a->accepted_ballot, B(3, 2));
    solo_stop(&s);
}

static void test_failed_persist_sends_nothing(void)
{
    solo s;
    solo_start(&s, 4, 3, 0);
    s.persist_rc = -DM_EPERSIST;
    CU_ASSERT_EQUAL(feed(&s, 0, DM_RECONFIG_SEAL, 1, 1, B(1, 1)), 0);
    CU_ASSERT_EQUAL(count_kind(&s, LOG_PERSIST), 1);
    CU_ASSERT_EQUAL(count_kind(&s, LOG_SEND), 0);
    CU_ASSERT_EQUAL(count_kind(&s, LOG_EVENT), 0);
    CU_ASSERT_FALSE(dm_reconfig_sealed(s.r));
    CU_ASSERT_EQUAL(dm_reconfig_get_stats(s.r)->persist_failures, 1);
    s.persist_rc = 0;
    CU_ASSERT_EQUAL(feed(&s, 0, DM_RECONFIG_SEAL, 1, 1, B(1, 1)), 0);
    CU_ASSERT_EQUAL(count_kind(&s, LOG_SEND), 1);
    solo_stop(&s);
}

static const dm_reconfig_msg *sent_to(solo *s, dm_reconfig_msg_type type, uint32_t to);

/* A member that lost its state abstains in the epochs it may have voted
 * in: no answer to SEAL or ACCEPT there, its own proposals included, across
 * restarts; it votes again once a later epoch is installed. */
static void test_abstain(void)
{
    solo s;
    solo_start(&s, 4, 3, 0);
    CU_ASSERT_FALSE(dm_reconfig_abstaining(s.r));
    g_array_set_size(s.log, 0);
    CU_ASSERT_EQUAL(dm_reconfig_abstain(s.r, 1), 0);
    CU_ASSERT_EQUAL(count_kind(&s, LOG_PERSIST), 1);
    CU_ASSERT_TRUE(dm_reconfig_abstaining(s.r));
    CU_ASSERT_EQUAL(dm_reconfig_abstain(s.r, 0), 0);   /* never lowered */
    CU_ASSERT_EQUAL(dm_reconfig_get_state(s.r)->abstain_upto, 1);
    CU_ASSERT_EQUAL(feed(&s, 0, DM_RECONFIG_SEAL, 1, 1, B(1, 1)), 0);
    CU_ASSERT_EQUAL(s.log->len, 0);
    dm_reconfig_msg acc = { .type = DM_RECONFIG_ACCEPT, .from = 1, .epoch = 1, .ballot = B(2, 1),
                            .conf = conf_of(2, ids01, 2) };
    CU_ASSERT_EQUAL(feed_msg(&s, 0, acc), 0);
    CU_ASSERT_EQUAL(s.log->len, 0);
    CU_ASSERT_FALSE(dm_reconfig_sealed(s.r));
    /* its own proposal goes out, but without its own vote */
    uint8_t alive[4] = { 1, 1, 1, 1 };
    CU_ASSERT_EQUAL(dm_reconfig_propose(s.r, 0, ids012, 3, alive, 10000 * MS), 0);
    dm_reconfig_tick(s.r, s.p.fallback_us);
    CU_ASSERT_EQUAL(dm_reconfig_get_state(s.r)->promised, 0);
    solo_restart(&s);
    CU_ASSERT_TRUE(dm_reconfig_abstaining(s.r));
    /* a later epoch: votes again */
    dm_reconfig_msg in = { .type = DM_RECONFIG_INSTALL, .from = 1, .epoch = 2,
                           .conf = conf_of(2, ids012, 3) };
    CU_ASSERT_EQUAL(feed_msg(&s, 0, in), 0);
    CU_ASSERT_FALSE(dm_reconfig_abstaining(s.r));
    CU_ASSERT_EQUAL(feed(&s, 0, DM_RECONFIG_SEAL, 2, 2, B(3, 2)), 0);
    CU_ASSERT_PTR_NOT_NULL(sent_to(&s, DM_RECONFIG_SEALED, 2));
    solo_stop(&s);
}

static void test_install_newer_only(void)
{
    solo s;
    solo_start(&s, 4, 3, 0);
    CU_ASSERT_EQUAL(feed(&s, 0, DM_RECONFIG_SEAL, 1, 1, B(1, 1)), 0);
    dm_reconfig_msg in = { .type = DM_RECONFIG_INSTALL, .from = 1, .epoch = 3,
                           .conf = conf_of(3, ids01, 2), .tokens = 500, .lease_us = 77 };
    CU_ASSERT_EQUAL(feed_msg(&s, 0, in), 0);
    CU_ASSERT_EQUAL(at(&s, 0)->kind, LOG_PERSIST);
    CU_ASSERT_EQUAL(at(&s, 1)->kind, LOG_EVENT);
    CU_ASSERT_EQUAL(at(&s, 1)->ev.type, DM_RECONFIG_EV_INSTALLED);
    CU_ASSERT_EQUAL(at(&s, 1)->ev.token_floor, 500);
    CU_ASSERT_EQUAL(at(&s, 1)->ev.quiet_us, 77);
    CU_ASSERT_EQUAL(at(&s, 2)->msg.type, DM_RECONFIG_INSTALLED);
    CU_ASSERT_EQUAL(at(&s, 2)->msg.epoch, 3);
    CU_ASSERT_EQUAL(dm_reconfig_current(s.r)->epoch, 3);
    CU_ASSERT_FALSE(dm_reconfig_sealed(s.r));   /* a new epoch starts unsealed */
    /* an older configuration changes nothing and is answered with ours */
    dm_reconfig_msg old = { .type = DM_RECONFIG_NEWER, .from = 2, .epoch = 2,
                            .conf = conf_of(2, ids123, 3), .tokens = 9 };
    CU_ASSERT_EQUAL(feed_msg(&s, 0, old), 0);
    CU_ASSERT_EQUAL(count_kind(&s, LOG_PERSIST), 0);
    CU_ASSERT_EQUAL(dm_reconfig_current(s.r)->epoch, 3);
    const dm_reconfig_msg *a = only_send(&s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(a->type, DM_RECONFIG_NEWER);
    CU_ASSERT_EQUAL(a->conf.epoch, 3);
    CU_ASSERT_EQUAL(a->tokens, 500);
    /* the token floor never goes down, even if an install says so */
    dm_reconfig_msg next = { .type = DM_RECONFIG_NEWER, .from = 1, .epoch = 4,
                             .conf = conf_of(4, ids01, 2), .tokens = 3 };
    CU_ASSERT_EQUAL(feed_msg(&s, 0, next), 0);
    CU_ASSERT_EQUAL(dm_reconfig_get_state(s.r)->token_floor, 500);
    /* a SEAL of an old epoch learns the new one; of a future one, that we are behind */
    CU_ASSERT_EQUAL(feed(&s, 0, DM_RECONFIG_SEAL, 1, 1, B(9, 1)), 0);
    a = only_send(&s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(a->type, DM_RECONFIG_NEWER);
    CU_ASSERT_EQUAL(feed(&s, 0, DM_RECONFIG_SEAL, 1, 6, B(9, 1)), 0);
    a = only_send(&s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(a->type, DM_RECONFIG_STALE);
    CU_ASSERT_EQUAL(a->epoch, 4);
    CU_ASSERT_FALSE(dm_reconfig_sealed(s.r));
    /* a member that learns we are behind sends its configuration */
    CU_ASSERT_EQUAL(feed(&s, 0, DM_RECONFIG_STALE, 1, 2, 0), 0);
    a = only_send(&s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(a->type, DM_RECONFIG_NEWER);
    CU_ASSERT_EQUAL(a->conf.epoch, 4);
    solo_stop(&s);
}

/* The answers a proposer sent since the log was cleared, by type and target. */
static const dm_reconfig_msg *sent_to(solo *s, dm_reconfig_msg_type type, uint32_t to)
{
    for (guint i = 0; i < s->log->len; i++)
        if (at(s, i)->kind == LOG_SEND && at(s, i)->msg.type == type && at(s, i)->msg.to == to)
            return &at(s, i)->msg;
    return NULL;
}

static void test_proposer_adopts_highest(void)
{
    /* Proposer 3 outside C_1 = {0,1,2} (majority), so every answer is ours to give. */
    solo s;
    solo_start(&s, 4, 3, 3);
    g_array_set_size(s.log, 0);
    const uint8_t nobody[4] = { 0 };   /* so it is preferred and starts at once */
    CU_ASSERT_EQUAL(dm_reconfig_propose(s.r, 0, ids123, 3, nobody, 10 * 1000 * MS), 0);
    CU_ASSERT_EQUAL_FATAL(count_kind(&s, LOG_PERSIST), 1);   /* the round, before any SEAL */
    CU_ASSERT_EQUAL(at(&s, 0)->kind, LOG_PERSIST);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sent_to(&s, DM_RECONFIG_SEAL, 0));
    uint64_t b1 = sent_to(&s, DM_RECONFIG_SEAL, 0)->ballot;
    CU_ASSERT_EQUAL(b1, B(1, 3));
    /* a NACK with a higher promise: back off, then a higher round */
    dm_reconfig_msg nack = { .type = DM_RECONFIG_NACK, .from = 0, .epoch = 1, .ballot = b1,
                             .promised = B(7, 2) };
    CU_ASSERT_EQUAL(feed_msg(&s, 1, nack), 0);
    int64_t t = dm_reconfig_next_deadline(s.r);
    CU_ASSERT_TRUE(t > 1 && t <= 1 + s.p.backoff_us);
    g_array_set_size(s.log, 0);
    dm_reconfig_tick(s.r, t);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sent_to(&s, DM_RECONFIG_SEAL, 1));
    uint64_t b2 = sent_to(&s, DM_RECONFIG_SEAL, 1)->ballot;
    CU_ASSERT_EQUAL(b2, B(8, 3));
    /* two SEALED answers (a majority) carrying different accepted configs */
    dm_epoch_config lo = conf_of(2, ids01, 2), hi = conf_of(2, ids012, 3);
    dm_reconfig_msg s0 = { .type = DM_RECONFIG_SEALED, .from = 0, .epoch = 1, .ballot = b2,
                           .accepted_ballot = B(6, 2), .conf = hi, .tokens = 10, .lease_us = 5 };
    dm_reconfig_msg s1 = { .type = DM_RECONFIG_SEALED, .from = 1, .epoch = 1, .ballot = b2,
                           .accepted_ballot = B(2, 1), .conf = lo, .tokens = 30, .lease_us = 2 };
    CU_ASSERT_EQUAL(feed_msg(&s, t, s1), 0);
    CU_ASSERT_EQUAL(count_kind(&s, LOG_SEND), 0);
    CU_ASSERT_EQUAL(feed_msg(&s, t, s0), 0);
    const dm_reconfig_msg *acc = sent_to(&s, DM_RECONFIG_ACCEPT, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(acc);
    CU_ASSERT_TRUE(dm_epoch_config_equal(&acc->conf, &hi));   /* adopted, not its own */
    CU_ASSERT_EQUAL(acc->ballot, b2);
    /* a majority of ACCEPTED: chosen, installed here, pushed to C_1 and C_2 */
    CU_ASSERT_EQUAL(feed(&s, t, DM_RECONFIG_ACCEPTED, 2, 1, b2), 0);
    CU_ASSERT_EQUAL(feed(&s, t, DM_RECONFIG_ACCEPTED, 0, 1, b2), 0);
    CU_ASSERT_EQUAL(dm_reconfig_current(s.r)->epoch, 2);
    CU_ASSERT_TRUE(dm_epoch_config_equal(dm_reconfig_current(s.r), &hi));
    for (uint32_t id = 0; id < 3; id++) {
        const dm_reconfig_msg *in = sent_to(&s, DM_RECONFIG_INSTALL, id);
        CU_ASSERT_PTR_NOT_NULL_FATAL(in);
        CU_ASSERT_EQUAL(in->tokens, 30);   /* the largest counter reported */
        CU_ASSERT_EQUAL(in->lease_us, 5);  /* the largest lease reported */
    }
    bool done = false;
    for (guint i = 0; i < s.log->len; i++)
        if (at(&s, i)->kind == LOG_EVENT && at(&s, i)->ev.type == DM_RECONFIG_EV_DONE) {
            done = true;
            CU_ASSERT_EQUAL(at(&s, i)->ev.reason, 0);
            CU_ASSERT_FALSE(at(&s, i)->ev.own);
        }
    CU_ASSERT_TRUE(done);
    CU_ASSERT_FALSE(dm_reconfig_proposing(s.r));
    /* unacknowledged INSTALLs are pushed again after the RTO */
    CU_ASSERT_EQUAL(feed(&s, t, DM_RECONFIG_INSTALLED, 0, 2, 0), 0);
    g_array_set_size(s.log, 0);
    dm_reconfig_tick(s.r, t + s.p.rto_us);
    CU_ASSERT_PTR_NULL(sent_to(&s, DM_RECONFIG_INSTALL, 0));
    CU_ASSERT_PTR_NOT_NULL(sent_to(&s, DM_RECONFIG_INSTALL, 1));
    /* after a restart the proposer never reuses a round */
    solo_restart(&s);
    CU_ASSERT_EQUAL(dm_reconfig_get_state(s.r)->round, 8);
    solo_stop(&s);
}

/* The binding is part of the value: a proposer adopts an accepted
 * configuration's binding with its ids (the same ids bound otherwise are
 * another value, not its own), installs and persists it. */
static void test_binding_is_the_value(void)
{
    solo s;
    solo_start(&s, 5, 3, 3);
    g_array_set_size(s.log, 0);
    const uint8_t nobody[5] = { 0 };
    const uint32_t ids0123[] = { 0, 1, 2, 3 };
    CU_ASSERT_EQUAL(dm_reconfig_propose_bound(s.r, 0, ids0123, 4, "3=a:1", 6, nobody, 10 * 1000 * MS),
                    -DM_EMALFORMED);   /* holds a NUL */
    CU_ASSERT_EQUAL(dm_reconfig_propose_bound(s.r, 0, ids0123, 4, "3=a:1", 5, nobody, 10 * 1000 * MS),
                    0);
    uint64_t b = sent_to(&s, DM_RECONFIG_SEAL, 0)->ballot;
    dm_epoch_config other = conf_of(2, ids0123, 4);
    other.bind_len = 5;
    memcpy(other.bind, "3=b:2", 5);
    dm_reconfig_msg s0 = { .type = DM_RECONFIG_SEALED, .from = 0, .epoch = 1, .ballot = b,
                           .accepted_ballot = B(1, 2), .conf = other };
    dm_reconfig_msg s1 = { .type = DM_RECONFIG_SEALED, .from = 1, .epoch = 1, .ballot = b };
    CU_ASSERT_EQUAL(feed_msg(&s, 1, s0), 0);
    CU_ASSERT_EQUAL(feed_msg(&s, 1, s1), 0);
    const dm_reconfig_msg *acc = sent_to(&s, DM_RECONFIG_ACCEPT, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(acc);
    CU_ASSERT_TRUE(dm_epoch_config_equal(&acc->conf, &other));
    CU_ASSERT_EQUAL(feed(&s, 1, DM_RECONFIG_ACCEPTED, 0, 1, b), 0);
    CU_ASSERT_EQUAL(feed(&s, 1, DM_RECONFIG_ACCEPTED, 1, 1, b), 0);
    CU_ASSERT_TRUE(dm_epoch_config_equal(dm_reconfig_current(s.r), &other));
    const dm_reconfig_msg *in = sent_to(&s, DM_RECONFIG_INSTALL, 3 - 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(in);
    CU_ASSERT_EQUAL(in->conf.bind_len, 5);
    for (guint i = 0; i < s.log->len; i++)
        if (at(&s, i)->kind == LOG_EVENT && at(&s, i)->ev.type == DM_RECONFIG_EV_DONE)
            CU_ASSERT_FALSE(at(&s, i)->ev.own);   /* same ids, another binding */
    solo_restart(&s);
    CU_ASSERT_TRUE(dm_epoch_config_equal(dm_reconfig_current(s.r), &other));
    solo_stop(&s);
}

static void test_preferred_and_deadline(void)
{
    solo s;
    solo_start(&s, 4, 3, 1);
    /* member 0 is alive and lower: 1 waits for the fall-back delay */
    uint8_t alive[4] = { 1, 1, 1, 1 };
    g_array_set_size(s.log, 0);
    CU_ASSERT_EQUAL(dm_reconfig_propose(s.r, 0, ids01, 2, alive, 5 * s.p.fallback_us), 0);
    CU_ASSERT_EQUAL(count_kind(&s, LOG_SEND), 0);
    CU_ASSERT_EQUAL(dm_reconfig_next_deadline(s.r), s.p.fallback_us);
    CU_ASSERT_EQUAL(dm_reconfig_propose(s.r, 0, ids01, 2, alive, 1000), -DM_EBUSY);
    dm_reconfig_tick(s.r, s.p.fallback_us);
    CU_ASSERT_PTR_NOT_NULL(sent_to(&s, DM_RECONFIG_SEAL, 0));
    /* nobody answers: DONE with -DM_ETIMEDOUT at the deadline, and the
     * promise this member gave its own ballot stays (without sealing it) */
    for (int i = 0; i < 100 && dm_reconfig_proposing(s.r); i++)
        dm_reconfig_tick(s.r, dm_reconfig_next_deadline(s.r));
    CU_ASSERT_FALSE(dm_reconfig_proposing(s.r));
    const logent *last = at(&s, s.log->len - 1);
    CU_ASSERT_EQUAL(last->kind, LOG_EVENT);
    CU_ASSERT_EQUAL(last->ev.type, DM_RECONFIG_EV_DONE);
    CU_ASSERT_EQUAL(last->ev.reason, -DM_ETIMEDOUT);
    CU_ASSERT_FALSE(dm_reconfig_sealed(s.r));
    CU_ASSERT_NOT_EQUAL(dm_reconfig_get_state(s.r)->promised, 0);
    CU_ASSERT_TRUE(dm_reconfig_get_stats(s.r)->retransmits > 0);
    CU_ASSERT_EQUAL(dm_reconfig_next_deadline(s.r), INT64_MAX);
    solo_stop(&s);
    /* 0 believed dead: 1 is preferred and starts at once */
    solo_start(&s, 4, 3, 1);
    alive[0] = 0;
    g_array_set_size(s.log, 0);
    CU_ASSERT_EQUAL(dm_reconfig_propose(s.r, 0, ids01, 2, alive, 1000 * MS), 0);
    CU_ASSERT_PTR_NOT_NULL(sent_to(&s, DM_RECONFIG_SEAL, 2));
    CU_ASSERT_EQUAL(dm_reconfig_cancel(s.r, 1), 0);
    CU_ASSERT_EQUAL(dm_reconfig_cancel(s.r, 1), -DM_ENOTHELD);
    /* bad proposals */
    const uint32_t unsorted[] = { 1, 0 }, outside[] = { 0, 4 };
    CU_ASSERT_EQUAL(dm_reconfig_propose(s.r, 0, unsorted, 2, NULL, 10), -DM_EMALFORMED);
    CU_ASSERT_EQUAL(dm_reconfig_propose(s.r, 0, outside, 2, NULL, 10), -DM_EMALFORMED);
    CU_ASSERT_EQUAL(dm_reconfig_propose(s.r, 0, ids01, 0, NULL, 10), -DM_EMALFORMED);
    CU_ASSERT_EQUAL(dm_reconfig_propose(s.r, 5, ids01, 2, NULL, 5), -DM_EINVAL);
    solo_stop(&s);
}

/* The backoff after a NACK covers a ballot's two round trips as this
 * proposer measured them, however slow: backing off for less only
 * pre-empts the ballot that would have won. */
static void test_backoff_follows_round_trip(void)
{
    solo s;
    solo_start(&s, 5, 4, 0);   /* a quorum is 3 of 4: one SEALED is not enough */
    CU_ASSERT_EQUAL(dm_reconfig_round_trip(s.r), 0);
    g_array_set_size(s.log, 0);
    CU_ASSERT_EQUAL(dm_reconfig_propose(s.r, 0, ids01, 2, NULL, 60 * s.p.fallback_us), 0);
    const dm_reconfig_msg *seal = sent_to(&s, DM_RECONFIG_SEAL, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(seal);
    uint64_t b = seal->ballot;
    /* member 1 answers after 600 ms, member 2 refuses after 700 ms */
    dm_reconfig_msg m;
    memset(&m, 0, sizeof m);
    m.type = DM_RECONFIG_SEALED;
    m.from = 1;
    m.epoch = 1;
    m.ballot = b;
    CU_ASSERT_EQUAL(feed_msg(&s, 600 * MS, m), 0);
    CU_ASSERT_EQUAL(dm_reconfig_round_trip(s.r), 600 * MS);
    m.type = DM_RECONFIG_NACK;
    m.from = 2;
    m.promised = DM_RECONFIG_BALLOT(DM_RECONFIG_BALLOT_ROUND(b) + 1, 4);
    CU_ASSERT_EQUAL(feed_msg(&s, 700 * MS, m), 0);
    CU_ASSERT_EQUAL(dm_reconfig_round_trip(s.r), 700 * MS);
    /* The next ballot waits a uniform draw below 2 x 700 ms (the model's
     * slow duels below show what that buys). */
    int64_t next = dm_reconfig_next_deadline(s.r);
    CU_ASSERT_TRUE(next > 700 * MS && next <= 700 * MS + 1 + 1400 * MS);
    /* A faster answer later lowers the estimate by an eighth of the gap. */
    dm_reconfig_tick(s.r, next);
    seal = sent_to(&s, DM_RECONFIG_SEAL, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(seal);
    m.type = DM_RECONFIG_SEALED;
    m.from = 1;
    m.ballot = seal->ballot;
    m.promised = 0;
    CU_ASSERT_EQUAL(feed_msg(&s, next + 100 * MS, m), 0);
    CU_ASSERT_EQUAL(dm_reconfig_round_trip(s.r), 700 * MS - 600 * MS / 8);
    solo_stop(&s);
}

static void test_bad_messages(void)
{
    solo s;
    solo_start(&s, 4, 3, 0);
    const dm_reconfig_msg good = { .type = DM_RECONFIG_ACCEPT, .from = 1, .to = 0, .epoch = 1,
                                   .ballot = B(2, 1), .conf = conf_of(2, ids01, 2) };
    CU_ASSERT_EQUAL(dm_reconfig_msg_check(&good, 4), 0);
    dm_reconfig_msg bad[16];
    int n = 0;
    for (int i = 0; i < 16; i++)
        bad[i] = good;
    bad[n++].type = 0;
    bad[n++].type = DM_RECONFIG_TYPE_COUNT;
    bad[n++].from = 4;                        /* outside the universe */
    bad[n++].from = 0;                        /* from == to */
    bad[n++].epoch = 0;
    bad[n++].ballot = B(2, 2);                /* not the sender's ballot */
    bad[n++].ballot = 0;
    bad[n].conf.epoch = 3; n++;               /* successor must be epoch + 1 */
    bad[n].conf.count = 0; n++;               /* empty member set */
    bad[n].conf.ids[1] = 0; n++;              /* not ascending */
    bad[n].conf.ids[1] = 9; n++;              /* outside the universe */
    bad[n].conf.count = DM_RECONFIG_MAX_MEMBERS + 1; n++;
    bad[n] = (dm_reconfig_msg){ .type = DM_RECONFIG_NACK, .from = 1, .to = 0, .epoch = 1,
                                .ballot = B(3, 0), .promised = B(2, 1) }; n++;   /* not higher */
    bad[n] = (dm_reconfig_msg){ .type = DM_RECONFIG_SEALED, .from = 1, .to = 0, .epoch = 1,
                                .ballot = B(3, 0), .accepted_ballot = B(4, 1),
                                .conf = conf_of(2, ids01, 2) }; n++;             /* accepted > ballot */
    bad[n] = (dm_reconfig_msg){ .type = DM_RECONFIG_INSTALL, .from = 1, .to = 0,
                                .conf = conf_of(1, ids01, 2) }; n++;             /* epoch 1 is given */
    for (int i = 0; i < n; i++) {
        CU_ASSERT_TRUE(dm_reconfig_msg_check(&bad[i], 4) < 0);
        g_array_set_size(s.log, 0);
        CU_ASSERT_TRUE(dm_reconfig_receive(s.r, 0, &bad[i]) < 0);
        CU_ASSERT_EQUAL(s.log->len, 0);
    }
    CU_ASSERT_EQUAL(dm_reconfig_get_stats(s.r)->rejected, (uint64_t)n);
    dm_reconfig_msg other = good;
    other.to = 2;                              /* valid, but not for us */
    CU_ASSERT_EQUAL(dm_reconfig_receive(s.r, 0, &other), -DM_EPEER);
    CU_ASSERT_FALSE(dm_reconfig_sealed(s.r));
    /* random garbage never crashes; what fails the check is counted */
    dm_prng prng;
    dm_prng_seed(&prng, 99);
    uint64_t rejected = 0;
    for (int i = 0; i < 20000; i++) {
        dm_reconfig_msg m;
        uint8_t *raw = (uint8_t *)&m;
        for (size_t k = 0; k < sizeof m; k++)
            raw[k] = (uint8_t)dm_prng_next(&prng);
        m.type = (dm_reconfig_msg_type)dm_prng_below(&prng, DM_RECONFIG_TYPE_COUNT + 1);
        m.from = (uint32_t)dm_prng_below(&prng, 5);
        m.to = 0;
        m.epoch = dm_prng_below(&prng, 4);
        m.conf.count = (uint32_t)dm_prng_below(&prng, 4);
        rejected += dm_reconfig_msg_check(&m, 4) < 0;
        dm_reconfig_receive(s.r, i, &m);
    }
    CU_ASSERT_TRUE(rejected > 0);
    CU_ASSERT_EQUAL(dm_reconfig_get_stats(s.r)->rejected, (uint64_t)n + 1 + rejected);
    solo_stop(&s);
}

static void test_state_codec(void)
{
    dm_reconfig_state st = { .current = conf_of(4, ids123, 3), .token_floor = 12345,
                             .quiet_us = 678, .promised = B(9, 2), .accepted_ballot = B(8, 1),
                             .accepted = conf_of(5, ids01, 2), .round = 3 };
    uint8_t buf[DM_RECONFIG_STATE_MAX];
    int len = dm_reconfig_state_encode(&st, buf, sizeof buf);
    CU_ASSERT_TRUE_FATAL(len > 0);
    CU_ASSERT_EQUAL(dm_reconfig_state_encode(&st, buf, (size_t)len - 1), -DM_EINVAL);
    len = dm_reconfig_state_encode(&st, buf, sizeof buf);
    dm_reconfig_state out;
    CU_ASSERT_EQUAL(dm_reconfig_state_decode(buf, (size_t)len, 4, &out), 0);
    CU_ASSERT_TRUE(dm_epoch_config_equal(&out.current, &st.current));
    CU_ASSERT_TRUE(dm_epoch_config_equal(&out.accepted, &st.accepted));
    CU_ASSERT_EQUAL(out.token_floor, 12345);
    CU_ASSERT_EQUAL(out.quiet_us, 678);
    CU_ASSERT_EQUAL(out.promised, B(9, 2));
    CU_ASSERT_EQUAL(out.accepted_ballot, B(8, 1));
    CU_ASSERT_EQUAL(out.round, 3);
    /* the largest state fits the advertised bound */
    dm_reconfig_state big = { .current = { .epoch = 1, .count = DM_RECONFIG_MAX_MEMBERS },
                              .promised = B(1, 0), .accepted_ballot = B(1, 0),
                              .accepted = { .epoch = 2, .count = DM_RECONFIG_MAX_MEMBERS } };
    for (uint32_t i = 0; i < DM_RECONFIG_MAX_MEMBERS; i++)
        big.current.ids[i] = big.accepted.ids[i] = i;
    big.current.bind_len = big.accepted.bind_len = DM_RECONFIG_BIND_MAX;
    memset(big.current.bind, 'a', DM_RECONFIG_BIND_MAX);
    memset(big.accepted.bind, 'b', DM_RECONFIG_BIND_MAX);
    CU_ASSERT_EQUAL(dm_reconfig_state_encode(&big, buf, sizeof buf), (int)DM_RECONFIG_STATE_MAX);
    CU_ASSERT_EQUAL(dm_reconfig_state_decode(buf, DM_RECONFIG_STATE_MAX, 64, &out), 0);
    CU_ASSERT_TRUE(dm_epoch_config_equal(&out.current, &big.current));
    CU_ASSERT_TRUE(dm_epoch_config_equal(&out.accepted, &big.accepted));
    CU_ASSERT_EQUAL(dm_reconfig_state_decode(buf, DM_RECONFIG_STATE_MAX, 63, &out), -DM_EBADSTATE);
    /* every truncation, every extension and every flipped byte is refused */
    len = dm_reconfig_state_encode(&st, buf, sizeof buf);
    for (int k = 0; k < len; k++)
        CU_ASSERT_TRUE(dm_reconfig_state_decode(buf, (size_t)k, 4, &out) < 0);
    CU_ASSERT_TRUE(dm_reconfig_state_decode(buf, (size_t)len + 1, 4, &out) < 0);
    for (int k = 0; k < len; k++) {
        buf[k] ^= 0x5a;
        CU_ASSERT_TRUE(dm_reconfig_state_decode(buf, (size_t)len, 4, &out) < 0);
        buf[k] ^= 0x5a;
    }
    CU_ASSERT_EQUAL(dm_reconfig_state_decode(buf, (size_t)len, 4, &out), 0);
    /* A version 2 state (written before bindings existed) is read, unbound:
     * the same bytes without the two bind lengths (both configurations are
     * unbound in st), with its version, length and checksum. */
    uint8_t v2[DM_RECONFIG_STATE_MAX];
    size_t cur_end = 12 + 8 + 4 + 4 * st.current.count;
    size_t acc_end = cur_end + 2 + 4 * 8 + 8 + 4 + 4 * st.accepted.count;
    size_t v2len = 0;
    memcpy(v2, buf, cur_end);
    v2len = cur_end;
    memcpy(v2 + v2len, buf + cur_end + 2, acc_end - cur_end - 2);
    v2len += acc_end - cur_end - 2;
    memcpy(v2 + v2len, buf + acc_end + 2, (size_t)len - 8 - acc_end - 2);
    v2len += (size_t)len - 8 - acc_end - 2;
    v2[7] = 2;
    v2[11] = (uint8_t)(v2len - 12);
    uint64_t h = DM_FNV_BASIS;
    for (size_t k = 0; k < v2len; k++)
        h = dm_fnv1a_byte(h, v2[k]);
    h = dm_mix64(h);
    for (int k = 0; k < 8; k++)
        v2[v2len + (size_t)k] = (uint8_t)(h >> (56 - 8 * k));
    v2len += 8;
    CU_ASSERT_EQUAL(dm_reconfig_state_decode(v2, v2len, 4, &out), 0);
    CU_ASSERT_TRUE(dm_epoch_config_equal(&out.current, &st.current));
    CU_ASSERT_TRUE(dm_epoch_config_equal(&out.accepted, &st.accepted));
    CU_ASSERT_EQUAL(out.abstain_upto, st.abstain_upto);
    buf[7] = 4;   /* a version from the future */
    CU_ASSERT_EQUAL(dm_reconfig_state_decode(buf, (size_t)len, 4, &out), -DM_EVERSION);
    /* well-formed bytes holding a state this module never writes */
    dm_reconfig_state broken[4] = { st, st, st, st };
    broken[0].promised = B(7, 1);            /* below what was accepted */
    broken[1].accepted.epoch = 7;            /* not the successor */
    broken[2].accepted_ballot = 0;           /* a config without its ballot */
    broken[3].current.count = 0;
    for (int i = 0; i < 4; i++) {
        len = dm_reconfig_state_encode(&broken[i], buf, sizeof buf);
        CU_ASSERT_TRUE_FATAL(len > 0);
        CU_ASSERT_EQUAL(dm_reconfig_state_decode(buf, (size_t)len, 4, &out), -DM_EBADSTATE);
    }
    /* and dm_reconfig_new refuses them */
    solo s;
    solo_start(&s, 4, 3, 0);
    dm_reconfig *r = NULL;
    CU_ASSERT_EQUAL(dm_reconfig_new(&s.p, &solo_driver, &s, 0, buf, (size_t)len, &r),
                    -DM_EBADSTATE);
    CU_ASSERT_PTR_NULL(r);
    solo_stop(&s);
}

static const CU_TestInfo unit_tests[] = {
    { "promise, persisted before the answer", test_promise_and_persist_order },
    { "lower ballots refused", test_reject_lower_ballot },
    { "accepted config reported to later ballots", test_accept_then_report },
    { "failed persist: no answer, no change", test_failed_persist_sends_nothing },
    { "newer configurations only", test_install_newer_only },
    { "proposer adopts the highest accepted", test_proposer_adopts_highest },
    { "a binding is part of the value", test_binding_is_the_value },
    { "preferred proposer, fall-back, deadline", test_preferred_and_deadline },
    { "backoff follows the measured round trip", test_backoff_follows_round_trip },
    { "bad messages counted and ignored", test_bad_messages },
    { "state codec", test_state_codec },
    { "a member that lost its state abstains", test_abstain },
    CU_TEST_INFO_NULL,
};

/* ============================================================ model checker */

enum { MAXU = 9, MAXE = 24, LEASE = 150 * MS };

typedef enum wkind { EV_DELIVER = 1, EV_CRASH, EV_RESTART, EV_LOCK, EV_ACK, EV_PROPOSE } wkind;

typedef struct wevent {
    dm_heap_entry e;
    wkind kind;
    uint32_t node;
    uint32_t op;                 /* EV_ACK */
    dm_reconfig_msg msg;         /* EV_DELIVER */
} wevent;

typedef struct world world;

typedef struct wnode {
    world *w;
    uint32_t id;
    dm_reconfig *r;              /* NULL while crashed */
    uint8_t disk[DM_RECONFIG_STATE_MAX];
    size_t disk_len;
    uint64_t tokens;             /* the toy lock layer's counter (survives crashes) */
    int64_t lease_end;           /* the latest lease it granted */
    uint64_t last_epoch;         /* highest epoch installed, as seen by the oracle */
    uint64_t seen_acc_epoch, seen_acc_ballot;
    bool proposer;
    bool propose_pending;
    uint32_t crashes;
} wnode;

typedef struct lockop {
    uint64_t epoch, token;
    int64_t start;
    uint32_t need, got;
} lockop;

typedef struct accrec {
    uint64_t epoch, ballot;      /* epoch: the one being replaced */
    dm_epoch_config conf;
    uint32_t mask;
} accrec;

typedef struct wparams {
    uint32_t n;                  /* members of C_1 (0..n-1); universe n + 2 */
    uint32_t proposers;
    double drop, dup;
    int64_t lat_max;
    bool crashes, locks, chain, persist_faults;
    bool duel;                   /* every proposer believes itself preferred */
    bool quiet_from_start;       /* no loss, duplication, crashes or persist faults at all */
    int64_t quiet_lat;           /* latency bound once quiet (0: 10 ms) */
    uint32_t mutation;
    const dm_quorum_ops *quorum;
    int64_t chaos_end;           /* then: quiet network, everyone up, liveness */
    int64_t end;
} wparams;

enum { V_TWO_CHOSEN, V_TWO_INSTALLED, V_BALLOT_TWO_VALUES, V_INSTALL_UNCHOSEN, V_EPOCH_BACK,
       V_FLOOR, V_QUIET, V_RESTART, V_REJECTED, V_LIVENESS, V_COUNT };
static const char *const vnames[V_COUNT] = {
    "two configs chosen", "two configs installed", "one ballot, two configs",
    "installed but never chosen", "installed epoch went back", "token floor below an acknowledged token",
    "quiet period shorter than a lease", "restart from persisted state failed",
    "a correct message was rejected", "liveness",
};

struct world {
    wparams p;
    dm_prng rng;
    int64_t now;
    dm_heap heap;
    uint32_t universe;
    wnode nodes[MAXU];
    dm_reconfig_params rp;
    GArray *ops;                 /* lockop */
    GArray *accs;                /* accrec */
    dm_epoch_config chosen[MAXE], installed[MAXE];
    dm_quorum *q[MAXE];          /* over installed[e] */
    uint64_t done_token[MAXE];   /* largest token acknowledged in e */
    int64_t done_lease[MAXE];    /* latest lease end of a holder of e */
    uint64_t min_floor[MAXE];    /* smallest floor any member installed e with */
    int64_t min_quiet_end[MAXE]; /* earliest install time + quiet of e */
    bool quiet;
    uint32_t live_node;          /* liveness: the preferred proposer (UINT32_MAX before) */
    uint32_t live_attempts;
    uint64_t live_epoch;         /* its own change completed at this epoch, 0: not yet */
    uint32_t done_ok, done_failed;
    uint32_t violations[V_COUNT];
    uint64_t token_seq;
    int64_t first_chosen_at;     /* when C_2 was chosen */
    uint32_t locks_done;         /* lock ops acknowledged by their whole quorum */
    uint64_t max_epoch;
};

static void violate(world *w, int v)
{
    w->violations[v]++;
}

static wevent *ev_new(world *w, wkind kind, uint32_t node, int64_t at_time)
{
    wevent *e = g_new0(wevent, 1);
    dm_heap_entry_init(&e->e);
    e->kind = kind;
    e->node = node;
    dm_heap_push(&w->heap, &e->e, at_time);
    return e;
}

static int64_t latency(world *w)
{
    int64_t max = w->quiet ? (w->p.quiet_lat ? w->p.quiet_lat : 10 * MS) : w->p.lat_max;
    return 1 + (int64_t)dm_prng_below(&w->rng, (uint64_t)max);
}

static dm_epoch_config random_members(world *w)
{
    dm_epoch_config c;
    memset(&c, 0, sizeof c);
    for (int tries = 0; tries < 16 && c.count < 2; tries++) {
        c.count = 0;
        for (uint32_t id = 0; id < w->universe; id++)
            if (dm_prng_below(&w->rng, 3) != 0)
                c.ids[c.count++] = id;
    }
    if (c.count < 2) {
        c.count = 2;
        c.ids[0] = 0;
        c.ids[1] = 1;
    }
    return c;
}

static dm_quorum *quorum_of(world *w, uint64_t e)
{
    if (e >= MAXE || !w->installed[e].count)
        return NULL;
    if (!w->q[e])
        dm_quorum_new(w->p.quorum, w->installed[e].ids, w->installed[e].count, &w->q[e]);
    return w->q[e];
}

static bool mask_has_quorum(world *w, uint64_t e, uint32_t mask)
{
    dm_quorum *q = quorum_of(w, e);
    uint8_t unusable[MAXU];
    for (uint32_t id = 0; id < MAXU; id++)
        unusable[id] = !(mask >> id & 1);
    return q && dm_quorum_exists(q, unusable);
}

/* The floor and quiet period of every install of e+1 against what e acknowledged. */
static void check_handover(world *w, uint64_t e)
{
    if (e + 1 >= MAXE || !w->installed[e + 1].count)
        return;
    if (w->done_token[e] > w->min_floor[e + 1])
        violate(w, V_FLOOR);
    if (w->done_lease[e] > w->min_quiet_end[e + 1])
        violate(w, V_QUIET);
}

static void record_install(world *w, uint32_t node, const dm_epoch_config *c, uint64_t floor,
                           uint64_t quiet)
{
    uint64_t e = c->epoch;
    wnode *nd = &w->nodes[node];
    if (e <= nd->last_epoch)
        violate(w, V_EPOCH_BACK);
    nd->last_epoch = e;
    w->max_epoch = MAX(w->max_epoch, e);
    if (e >= MAXE)
        return;
    if (!w->installed[e].count) {
        w->installed[e] = *c;
        w->min_floor[e] = floor;
        w->min_quiet_end[e] = w->now + (int64_t)quiet;
    } else if (!dm_epoch_config_equal(&w->installed[e], c)) {
        violate(w, V_TWO_INSTALLED);
    }
    if (!w->chosen[e - 1].count && e - 1 >= 1)
        violate(w, V_INSTALL_UNCHOSEN);
    w->min_floor[e] = MIN(w->min_floor[e], floor);
    w->min_quiet_end[e] = MIN(w->min_quiet_end[e], w->now + (int64_t)quiet);
    check_handover(w, e - 1);
}

/* The oracle, fed every state a member persists (an acceptance counts from
 * its persist, before any answer reveals it): when a quorum of C_e has
 * accepted one (ballot, config), that config is chosen as C_{e+1}. */
static void observe(world *w, uint32_t node, const dm_reconfig_state *st)
{
    wnode *nd = &w->nodes[node];
    if (!st->accepted_ballot || (st->current.epoch == nd->seen_acc_epoch &&
                                 st->accepted_ballot == nd->seen_acc_ballot))
        return;
    nd->seen_acc_epoch = st->current.epoch;
    nd->seen_acc_ballot = st->accepted_ballot;
    accrec *rec = NULL;
    for (guint i = 0; i < w->accs->len && !rec; i++) {
        accrec *a = &g_array_index(w->accs, accrec, i);
        if (a->epoch == st->current.epoch && a->ballot == st->accepted_ballot)
            rec = a;
    }
    if (!rec) {
        accrec a = { .epoch = st->current.epoch, .ballot = st->accepted_ballot,
                     .conf = st->accepted };
        g_array_append_val(w->accs, a);
        rec = &g_array_index(w->accs, accrec, w->accs->len - 1);
    } else if (!dm_epoch_config_equal(&rec->conf, &st->accepted)) {
        violate(w, V_BALLOT_TWO_VALUES);
    }
    rec->mask |= 1u << node;
    uint64_t e = rec->epoch;
    if (e < MAXE && mask_has_quorum(w, e, rec->mask)) {
        if (!w->chosen[e].count && e == 1)
            w->first_chosen_at = w->now;
        if (!w->chosen[e].count)
            w->chosen[e] = rec->conf;
        else if (!dm_epoch_config_equal(&w->chosen[e], &rec->conf))
            violate(w, V_TWO_CHOSEN);
    }
}

static int w_persist(void *user, const void *bytes, size_t len)
{
    wnode *nd = user;
    world *w = nd->w;
    if (w->p.persist_faults && !w->quiet && dm_prng_below(&w->rng, 50) == 0)
        return -DM_EPERSIST;
    memcpy(nd->disk, bytes, len);
    nd->disk_len = len;
    dm_reconfig_state st;
    if (dm_reconfig_state_decode(bytes, len, w->universe, &st) < 0)
        violate(w, V_RESTART);
    else
        observe(w, nd->id, &st);
    return 0;
}

static void w_send(void *user, const dm_reconfig_msg *m)
{
    wnode *nd = user;
    world *w = nd->w;
    int copies = 1;
    if (!w->quiet && dm_prng_double(&w->rng) < w->p.drop)
        copies = 0;
    else if (!w->quiet && dm_prng_double(&w->rng) < w->p.dup)
        copies = 2;
    for (int i = 0; i < copies; i++)
        ev_new(w, EV_DELIVER, m->to, w->now + latency(w))->msg = *m;
}

static void w_event(void *user, const dm_reconfig_event *ev)
{
    wnode *nd = user;
    world *w = nd->w;
    switch (ev->type) {
    case DM_RECONFIG_EV_INSTALLED:
        record_install(w, nd->id, ev->conf, ev->token_floor, ev->quiet_us);
        break;
    case DM_RECONFIG_EV_DONE:
        if (ev->reason == 0)
            w->done_ok++;
        else
            w->done_failed++;
        if (nd->id == w->live_node) {
            if (ev->reason == 0 && ev->own && !w->live_epoch)
                w->live_epoch = ev->conf->epoch;
            else if (ev->reason == 0 && ++w->live_attempts < 12)
                nd->propose_pending = true;     /* it only caught up: again */
            else
                violate(w, V_LIVENESS);
        } else if (w->now < w->p.chaos_end && w->p.chain && dm_prng_below(&w->rng, 2) == 0) {
            nd->propose_pending = true;
        }
        break;
    default:
        break;
    }
}

static void w_report(void *user, uint64_t *tokens, uint64_t *lease_us)
{
    wnode *nd = user;
    *tokens = nd->tokens;
    *lease_us = nd->lease_end > nd->w->now ? (uint64_t)(nd->lease_end - nd->w->now) : 0;
}

static const dm_reconfig_driver w_driver = { w_persist, w_send, w_event, w_report };

static void node_start(world *w, uint32_t id)
{
    wnode *nd = &w->nodes[id];
    dm_reconfig_params rp = w->rp;
    rp.self = id;
    rp.seed = dm_prng_next(&w->rng);
    int rc = dm_reconfig_new(&rp, &w_driver, nd, w->now, nd->disk_len ? nd->disk : NULL,
                             nd->disk_len, &nd->r);
    if (rc < 0) {
        violate(w, V_RESTART);
        nd->r = NULL;
        return;
    }
    if (dm_reconfig_current(nd->r)->epoch < nd->last_epoch)
        violate(w, V_EPOCH_BACK);
}

static void propose(world *w, uint32_t id)
{
    wnode *nd = &w->nodes[id];
    nd->propose_pending = false;
    if (!nd->r)
        return;
    dm_epoch_config c = random_members(w);
    uint8_t alive[MAXU];
    for (uint32_t i = 0; i < MAXU; i++)
        alive[i] = w->p.duel ? i >= id : dm_prng_below(&w->rng, 4) != 0;
    int64_t deadline = w->quiet ? w->p.end : w->p.chaos_end;
    if (dm_reconfig_current(nd->r)->epoch >= MAXE - 2 || deadline <= w->now)
        return;
    int rc = dm_reconfig_propose(nd->r, w->now, c.ids, c.count, w->quiet ? NULL : alive, deadline);
    CU_ASSERT(rc == 0 || rc == -DM_EBUSY);
}

static void lock_op(world *w)
{
    uint32_t req = (uint32_t)dm_prng_below(&w->rng, w->universe);
    wnode *nd = &w->nodes[req];
    if (!nd->r)
        return;
    const dm_epoch_config *c = dm_reconfig_current(nd->r);
    dm_quorum *q = quorum_of(w, c->epoch);
    if (!q)
        return;
    uint8_t unusable[MAXU] = { 0 };
    for (uint32_t i = 0; i < c->count; i++)
        unusable[c->ids[i]] = dm_prng_below(&w->rng, 4) == 0;
    uint32_t members[MAXU];
    int k = dm_quorum_form(q, &(dm_quorum_hint){ unusable, NULL }, members, MAXU);
    if (k <= 0)
        return;
    static const lockop zero;
    lockop op = zero;
    op.epoch = c->epoch;
    op.token = ++w->token_seq;   /* any strictly increasing number serves */
    op.start = w->now;
    op.need = (uint32_t)k;
    g_array_append_val(w->ops, op);
    for (int i = 0; i < k; i++)
        ev_new(w, EV_ACK, members[i], w->now + latency(w))->op = w->ops->len - 1;
}

/* A member acknowledges a lock op's token and lease: only while it is up,
 * in the op's epoch and not sealed (the contract of dm_reconfig_sealed). */
static void lock_ack(world *w, uint32_t id, uint32_t opi)
{
    wnode *nd = &w->nodes[id];
    lockop *op = &g_array_index(w->ops, lockop, opi);
    if (!nd->r || dm_reconfig_current(nd->r)->epoch != op->epoch || dm_reconfig_sealed(nd->r))
        return;
    nd->tokens = MAX(nd->tokens, op->token);
    nd->lease_end = MAX(nd->lease_end, w->now + LEASE);
    if (++op->got < op->need || op->epoch >= MAXE)
        return;
    /* acknowledged by its whole quorum: the holder's lease counts from the start */
    w->locks_done++;
    w->done_token[op->epoch] = MAX(w->done_token[op->epoch], op->token);
    w->done_lease[op->epoch] = MAX(w->done_lease[op->epoch], op->start + LEASE);
    check_handover(w, op->epoch);
}

static void go_quiet(world *w)
{
    w->quiet = true;
    for (uint32_t id = 0; id < w->universe; id++)
        if (!w->nodes[id].r)
            node_start(w, id);
    /* The preferred proposer of the newest configuration anyone installed. */
    uint64_t e = MIN(w->max_epoch, (uint64_t)MAXE - 1);
    w->live_node = w->installed[e].ids[0];
    w->nodes[w->live_node].propose_pending = true;
}

static void step(world *w, wevent *ev)
{
    if (ev->node == UINT32_MAX) {
        go_quiet(w);
        return;
    }
    wnode *nd = &w->nodes[ev->node];
    switch (ev->kind) {
    case EV_DELIVER:
        if (nd->r && dm_reconfig_receive(nd->r, w->now, &ev->msg) < 0)
            violate(w, V_REJECTED);
        break;
    case EV_CRASH:
        if (nd->r && !w->quiet) {
            dm_reconfig_free(nd->r);
            nd->r = NULL;
            ev_new(w, EV_RESTART, ev->node,
                   w->now + 1 + (int64_t)dm_prng_below(&w->rng, 300 * MS));
        }
        break;
    case EV_RESTART:
        if (!nd->r) {
            node_start(w, ev->node);
            if (nd->proposer && w->p.chain)
                nd->propose_pending = true;
        }
        break;
    case EV_LOCK:
        lock_op(w);
        if (w->now < w->p.end)
            ev_new(w, EV_LOCK, 0, w->now + 1 + (int64_t)dm_prng_below(&w->rng, 20 * MS));
        break;
    case EV_ACK:
        lock_ack(w, ev->node, ev->op);
        break;
    case EV_PROPOSE:
        propose(w, ev->node);
        break;
    }
}

static void world_init(world *w, const wparams *p, uint64_t seed)
{
    memset(w, 0, sizeof *w);
    w->p = *p;
    dm_prng_seed(&w->rng, seed);
    dm_heap_init(&w->heap);
    w->universe = p->n + 2;
    w->quiet = p->quiet_from_start;
    w->live_node = UINT32_MAX;   /* chosen when the liveness phase starts */
    w->ops = g_array_new(FALSE, TRUE, sizeof(lockop));
    w->accs = g_array_new(FALSE, TRUE, sizeof(accrec));
    dm_reconfig_params_defaults(&w->rp);
    w->rp.universe = w->universe;
    w->rp.quorum = p->quorum;
    w->rp.rto_us = 40 * MS;
    w->rp.backoff_us = 20 * MS;
    w->rp.fallback_us = 100 * MS;
    w->rp.mutation = p->mutation;
    w->rp.initial.epoch = 1;
    w->rp.initial.count = p->n;
    for (uint32_t i = 0; i < p->n; i++)
        w->rp.initial.ids[i] = i;
    w->installed[1] = w->rp.initial;
    w->min_floor[1] = 0;
    for (uint32_t id = 0; id < w->universe; id++) {
        w->nodes[id].w = w;
        w->nodes[id].id = id;
        node_start(w, id);
        w->nodes[id].last_epoch = 1;
    }
    /* distinct proposers among C_1, each proposing at a random early time */
    uint32_t order[MAXU];
    for (uint32_t i = 0; i < p->n; i++)
        order[i] = i;
    dm_prng_shuffle_u32(&w->rng, order, p->n);
    for (uint32_t i = 0; i < p->proposers && i < p->n; i++) {
        w->nodes[order[i]].proposer = true;
        ev_new(w, EV_PROPOSE, order[i],
               p->duel ? 0 : (int64_t)dm_prng_below(&w->rng, 50 * MS));
    }
    if (p->crashes)
        for (uint32_t id = 0; id < w->universe; id++)
            for (int k = 0; k < 2; k++)
                if (dm_prng_below(&w->rng, 3) == 0)
                    ev_new(w, EV_CRASH, id,
                           (int64_t)dm_prng_below(&w->rng, (uint64_t)p->chaos_end));
    if (p->locks)
        ev_new(w, EV_LOCK, 0, 1);
    ev_new(w, EV_PROPOSE, UINT32_MAX, p->chaos_end);
}

static uint64_t world_nacks(const world *w)
{
    uint64_t k = 0;
    for (uint32_t id = 0; id < w->universe; id++)
        if (w->nodes[id].r)
            k += dm_reconfig_get_stats(w->nodes[id].r)->received[DM_RECONFIG_NACK];
    return k;
}

static void world_free(world *w)
{
    dm_heap_entry *e;
    while ((e = dm_heap_pop(&w->heap)))
        g_free(e);
    dm_heap_clear(&w->heap);
    for (uint32_t id = 0; id < w->universe; id++)
        dm_reconfig_free(w->nodes[id].r);
    for (int e2 = 0; e2 < MAXE; e2++)
        dm_quorum_free(w->q[e2]);
    g_array_free(w->ops, TRUE);
    g_array_free(w->accs, TRUE);
}

/* Run one schedule to p->end; returns the number of steps. */
static uint64_t world_run(world *w)
{
    uint64_t steps = 0;
    for (; steps < 2000000; steps++) {
        int64_t t_node = INT64_MAX;
        uint32_t who = 0;
        for (uint32_t id = 0; id < w->universe; id++) {
            wnode *nd = &w->nodes[id];
            if (nd->propose_pending && nd->r)
                propose(w, id);
            if (nd->r && dm_reconfig_next_deadline(nd->r) < t_node) {
                t_node = dm_reconfig_next_deadline(nd->r);
                who = id;
            }
        }
        dm_heap_entry *top = dm_heap_peek(&w->heap);
        int64_t t_ev = top ? top->at : INT64_MAX;
        int64_t t = MIN(t_node, t_ev);
        if (t > w->p.end)
            break;
        w->now = MAX(w->now, t);
        if (t_node <= t_ev) {
            dm_reconfig_tick(w->nodes[who].r, w->now);
        } else {
            wevent *ev = (wevent *)dm_heap_pop(&w->heap);
            step(w, ev);
            g_free(ev);
        }
    }
    /* Liveness: the preferred proposer's own change completed, and every
     * member of both configurations installed it. */
    if (!w->live_epoch) {
        violate(w, V_LIVENESS);
    } else if (w->live_epoch < MAXE) {
        for (uint32_t id = 0; id < w->universe; id++)
            if ((dm_epoch_config_has(&w->installed[w->live_epoch], id) ||
                 dm_epoch_config_has(&w->installed[w->live_epoch - 1], id)) &&
                (!w->nodes[id].r || dm_reconfig_current(w->nodes[id].r)->epoch < w->live_epoch))
                violate(w, V_LIVENESS);
    }
    return steps;
}

static void random_params(dm_prng *rng, wparams *p, uint32_t mutation)
{
    memset(p, 0, sizeof *p);
    p->n = 3 + (uint32_t)dm_prng_below(rng, 5);
    p->proposers = 2 + (uint32_t)dm_prng_below(rng, 2);
    p->drop = dm_prng_double(rng) * 0.3;
    p->dup = dm_prng_double(rng) * 0.2;
    p->lat_max = (1 + (int64_t)dm_prng_below(rng, 40)) * MS;
    p->crashes = dm_prng_below(rng, 4) != 0;
    p->persist_faults = dm_prng_below(rng, 4) == 0;
    p->locks = true;
    p->chain = dm_prng_below(rng, 2) == 0;
    p->duel = dm_prng_below(rng, 3) == 0;
    p->mutation = mutation;
    p->quorum = dm_quorum_builtin(dm_prng_below(rng, dm_quorum_builtin_count()));
    p->chaos_end = (200 + (int64_t)dm_prng_below(rng, 800)) * MS;
    p->end = p->chaos_end + 3000 * MS;
}

typedef struct sweep {
    uint32_t schedules;
    uint64_t steps;
    uint32_t violations[V_COUNT];
    uint64_t first_seed[V_COUNT];
    uint32_t max_epoch, changes;
    uint32_t duels, crashy;
    uint64_t locks_done;
    uint32_t failed_proposals;
    uint64_t nacks;              /* NACKs received by proposers */
    int64_t slowest_choice;      /* quiet duels: latest first choice of C_2 */
} sweep;

/* Run schedules for seeds base..base+count-1; stop early at the first
 * schedule showing `stop_at` (V_COUNT: never). */
static void run_sweep(uint64_t base, uint32_t count, uint32_t mutation, int stop_at,
                      bool quiet_duel, int64_t quiet_lat, sweep *out)
{
    memset(out, 0, sizeof *out);
    for (uint32_t i = 0; i < count; i++) {
        uint64_t seed = base + i;
        dm_prng rng;
        dm_prng_seed(&rng, seed);
        wparams p;
        random_params(&rng, &p, mutation);
        if (quiet_duel) {
            p.quiet_from_start = p.duel = true;
            p.quiet_lat = quiet_lat;
            p.crashes = p.chain = false;
            p.chaos_end = 2000 * MS;   /* the liveness proposal then finds the duel over */
            p.end = 5000 * MS;
        }
        world w;
        world_init(&w, &p, seed ^ 0x5eed);
        out->steps += world_run(&w);
        out->schedules++;
        out->max_epoch = MAX(out->max_epoch, (uint32_t)w.max_epoch);
        out->changes += (uint32_t)w.max_epoch - 1;
        out->duels += p.duel;
        out->crashy += p.crashes;
        out->locks_done += w.locks_done;
        out->failed_proposals += w.done_failed;
        out->nacks += world_nacks(&w);
        out->slowest_choice = MAX(out->slowest_choice, w.first_chosen_at);
        for (int v = 0; v < V_COUNT; v++)
            if (w.violations[v]) {
                if (!out->violations[v])
                    out->first_seed[v] = seed;
                out->violations[v]++;
            }
        world_free(&w);
        if (stop_at < V_COUNT && out->violations[stop_at])
            break;
    }
}

static void print_sweep(const char *what, const sweep *s, double seconds)
{
    printf("\n  %s: %u schedules (%u with crashes, %u duelling), %" G_GUINT64_FORMAT " steps, "
           "%u epoch changes (max epoch %u), %" G_GUINT64_FORMAT " locks acknowledged, %.2f s",
           what, s->schedules, s->crashy, s->duels, s->steps, s->changes, s->max_epoch,
           s->locks_done, seconds);
    for (int v = 0; v < V_COUNT; v++)
        if (s->violations[v])
            printf("\n    %s: %u schedules (first seed %" G_GUINT64_FORMAT ")", vnames[v],
                   s->violations[v], s->first_seed[v]);
}

enum { MODEL_SCHEDULES = 6000 };

/* Persist failures are injected on purpose; the module's warnings about
 * them would drown the log. */
static void quiet_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer user)
{
    (void)domain, (void)level, (void)msg;
    (*(uint64_t *)user)++;
}

static uint64_t core_warnings;

static int model_init(void)
{
    g_log_set_handler("dmutex-core", G_LOG_LEVEL_WARNING, quiet_log, &core_warnings);
    return 0;
}

static void test_model_safe(void)
{
    sweep s;
    gint64 t0 = g_get_monotonic_time();
    run_sweep(1, MODEL_SCHEDULES, DM_RECONFIG_MUTATION_NONE, V_COUNT, false, 0, &s);
    print_sweep("correct", &s, (double)(g_get_monotonic_time() - t0) / 1e6);
    CU_ASSERT_EQUAL(s.schedules, MODEL_SCHEDULES);
    for (int v = 0; v < V_COUNT; v++)
        CU_ASSERT_EQUAL(s.violations[v], 0);
    CU_ASSERT_TRUE(s.max_epoch >= 4);   /* chains and liveness changes did happen */
}

/* 2..3 proposers of different successors, each believing itself the
 * preferred one, start together on a quiet network: the backoff must make
 * them converge, none may give up, and C_2 is chosen well within a second. */
static void test_model_duel(void)
{
    sweep s;
    gint64 t0 = g_get_monotonic_time();
    run_sweep(100001, 2000, DM_RECONFIG_MUTATION_NONE, V_COUNT, true, 0, &s);
    print_sweep("quiet duels", &s, (double)(g_get_monotonic_time() - t0) / 1e6);
    printf("\n    slowest first choice of C_2: %.0f ms; %" G_GUINT64_FORMAT " NACKs",
           (double)s.slowest_choice / MS, s.nacks);
    for (int v = 0; v < V_COUNT; v++)
        CU_ASSERT_EQUAL(s.violations[v], 0);
    CU_ASSERT_EQUAL(s.duels, s.schedules);
    CU_ASSERT_EQUAL(s.failed_proposals, 0);
    CU_ASSERT_TRUE(s.nacks > s.schedules);   /* they did duel */
    CU_ASSERT_TRUE(s.slowest_choice > 0 && s.slowest_choice < 1000 * MS);
}

/* The same duels on a slow network: a ballot needs two round trips of up
 * to 300 ms, far beyond the backoff (20 ms, at most 160 ms): the proposers
 * must still converge, well before the end (epoch swarm seed 61: four
 * proposers and a member reading 0.6 s late duelled for 12 s with a 100 ms
 * backoff). */
static void test_model_slow_duel(void)
{
    sweep s;
    gint64 t0 = g_get_monotonic_time();
    run_sweep(200001, 300, DM_RECONFIG_MUTATION_NONE, V_COUNT, true, 300 * MS, &s);
    print_sweep("slow duels", &s, (double)(g_get_monotonic_time() - t0) / 1e6);
    printf("\n    slowest first choice of C_2: %.0f ms; %" G_GUINT64_FORMAT " NACKs",
           (double)s.slowest_choice / MS, s.nacks);
    for (int v = 0; v < V_COUNT; v++)
        CU_ASSERT_EQUAL(s.violations[v], 0);
    CU_ASSERT_EQUAL(s.failed_proposals, 0);
    CU_ASSERT_TRUE(s.slowest_choice > 0 && s.slowest_choice < 2000 * MS);
}

static void test_model_catches_accept_lower(void)
{
    sweep s;
    gint64 t0 = g_get_monotonic_time();
    run_sweep(1, MODEL_SCHEDULES, DM_RECONFIG_MUTATION_ACCEPT_LOWER, V_TWO_CHOSEN, false, 0, &s);
    print_sweep("mutation accept-lower", &s, (double)(g_get_monotonic_time() - t0) / 1e6);
    CU_ASSERT_TRUE(s.violations[V_TWO_CHOSEN] > 0);
}

static void test_model_catches_ignore_accepted(void)
{
    sweep s;
    gint64 t0 = g_get_monotonic_time();
    run_sweep(1, MODEL_SCHEDULES, DM_RECONFIG_MUTATION_IGNORE_ACCEPTED, V_TWO_CHOSEN, false, 0,
              &s);
    print_sweep("mutation ignore-accepted", &s, (double)(g_get_monotonic_time() - t0) / 1e6);
    CU_ASSERT_TRUE(s.violations[V_TWO_CHOSEN] > 0);
}

static const CU_TestInfo model_tests[] = {
    { "randomized schedules: safe and live", test_model_safe },
    { "duelling proposers converge", test_model_duel },
    { "duelling proposers converge on a slow network", test_model_slow_duel },
    { "catches an acceptor taking lower ballots", test_model_catches_accept_lower },
    { "catches a proposer ignoring accepted configs", test_model_catches_ignore_accepted },
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    { "reconfig", NULL, NULL, NULL, NULL, (CU_TestInfo *)unit_tests },
    { "reconfig-model", model_init, NULL, NULL, NULL, (CU_TestInfo *)model_tests },
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return dm_test_main(argc, argv, suites);
}
