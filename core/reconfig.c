/* dmutex core: the configuration-change agreement of the `epoch` policy
 * (interface and message table in reconfig.h).
 *
 * One C_{e+1} per C_e. The successor is decided by single-decree Paxos among
 * the members of C_e, with C_e's quorums as Paxos quorums (any two intersect,
 * core/quorum.h). Why two different successors of one epoch can never both
 * be chosen ("chosen": a quorum of C_e accepted it under one ballot):
 *  1. C_e itself is the same on every member, by induction: C_1 is given
 *     alike to all (params.initial), and a member moves to C_{e+1} only by
 *     an INSTALL or NEWER carrying a chosen successor (a proposer sends
 *     INSTALL only after a quorum of C_e accepted; NEWER forwards what its
 *     sender installed). So every member that judges "a quorum of C_e" uses
 *     the same quorum system, and the intersection property applies.
 *  2. A ballot is unique and carries one value: ballots are (round << 16 |
 *     proposer id); a proposer persists its round before the first SEAL of
 *     a ballot leaves, so a restart never reuses one, and it fixes the
 *     ballot's value once, when the SEALED answers reach a quorum.
 *  3. The Paxos invariant: if v is chosen under ballot b (quorum Q accepted
 *     (b, v)), every ballot b' > b that reaches phase 2 proposes v. Its
 *     sealing quorum Q' meets Q at some acceptor a. a cannot have promised b'
 *     before accepting b (it refuses ballots below its promise), so it
 *     accepted (b, v) first and reported an accepted ballot in [b, b') in its
 *     SEALED for b'. By induction over the ballots in [b, b'), every value
 *     accepted there is v, so the highest one reported -- which the proposer
 *     adopts -- is v. Every promise and acceptance is persisted before the
 *     answer that reveals it leaves (the persist callback runs first and a
 *     failure suppresses the answer), so a crash loses none of them.
 *  4. A member that installs C_{e+1} stops answering for e (it answers NEWER):
 *     that only removes acceptors from epoch e, like a crash that lasts.
 *
 * The contract with the lock layer, dm_reconfig_sealed(): a member is sealed
 * in e from the moment it ACCEPTS a ballot in e (persisted) until it installs
 * a later epoch; a promise alone does not seal it. While sealed, the lock
 * layer must grant, renew and acknowledge no token in e, and the reports it
 * hands over through dm_reconfig_driver.report when the member answers
 * ACCEPTED must cover all it did before: its token counter and the largest
 * remaining lease it granted. (SEALED answers carry reports too; the
 * proposer takes the maxima of both phases.) Given that:
 *  - once every member of one C_e quorum Q has accepted, no new C_e lock
 *    quorum can complete: it would meet Q at a sealed member. A chosen
 *    successor implies such a Q (the quorum that accepted the deciding
 *    ballot);
 *  - the INSTALL's token floor, at least the largest counter the ACCEPTED
 *    answers of that ballot reported (and never below the previous floor),
 *    is at least every token acknowledged in e: that token's lock quorum met
 *    the accepting quorum at a member that acknowledged it before accepting;
 *  - its quiet period, at least the largest remaining lease reported with
 *    ACCEPTED, bounds every lease of e counted from when any member installs
 *    C_{e+1} (each install follows the acceptances): a holder's lease never
 *    outlasts the lease of the member where its quorum met the accepting
 *    quorum, and that member renewed nothing after accepting. The lock layer
 *    adds the drift bound.
 * Sealing at the acceptance rather than at the promise keeps a proposal that
 * never reaches phase 2 (its proposer died, or too few members vote) from
 * silencing the members it asked. A member that accepted stays sealed until
 * some proposal completes (any proposer completes it, adopting what was
 * accepted); a proposer that gives up leaves acceptances in place, so the
 * caller must propose again.
 *
 * Not covered here: a member that lost its persisted state (a wiped disk)
 * must not act as an acceptor again with an empty state, or a promise it
 * made before could be broken. dm_reconfig_new without persisted state is
 * for a member that never ran.
 */
#include "reconfig.h"

#include <glib.h>
#include <string.h>

#include "error.h"
#include "prng.h"

enum phase {
    PHASE_IDLE = 0,
    PHASE_WAIT,      /* fallback delay or backoff before the next ballot */
    PHASE_SEAL,
    PHASE_ACCEPT,
    PHASE_INSTALL,   /* chosen: pushing the INSTALL until acknowledged */
};

typedef struct proposal {
    enum phase phase;
    uint64_t epoch;              /* the epoch being replaced */
    dm_epoch_config old;         /* C_epoch, the configuration being replaced */
    dm_epoch_config own;         /* what the caller proposed, as C_{epoch+1} */
    dm_epoch_config value;       /* phase 2 value; PHASE_INSTALL: what is pushed */
    uint64_t ballot;
    uint64_t best_accepted;      /* highest accepted ballot among the SEALED answers */
    dm_epoch_config best;        /* its configuration */
    uint64_t tokens, lease_us;   /* maxima of the SEALED and ACCEPTED reports for `ballot` */
    uint64_t max_round_seen;
    uint32_t retries;
    int64_t start_at, resend_at, deadline;
    /* The phases of this proposal's latest ballots and when each began, so
     * that a late answer to one still measures a round trip. */
    uint64_t sent_ballot[4];
    enum phase sent_phase[4];
    int64_t sent_at[4];
    uint8_t *answered;           /* per id: answered the current phase */
} proposal;

struct dm_reconfig {
    dm_reconfig_params p;
    dm_reconfig_driver drv;
    void *user;
    dm_prng prng;
    dm_reconfig_state st;
    dm_quorum *quorum;           /* over st.current */
    uint8_t *unusable;           /* scratch, per id */
    proposal prop;
    GQueue local;                /* messages to self, handled after the call that sent them */
    int64_t rtt_us;              /* the slowest recent answer to a phase of ours: a ballot
                                    takes two of them, and backing off for less only
                                    pre-empts the ballot that would have won */
    dm_reconfig_stats stats;
};

/* ---------------------------------------------------------------- configurations */

int dm_epoch_config_check(const dm_epoch_config *c, uint32_t universe)
{
    if (!c || c->epoch == 0 || c->count == 0 || c->count > DM_RECONFIG_MAX_MEMBERS)
        return -DM_EMALFORMED;
    for (uint32_t i = 0; i < c->count; i++)
        if (c->ids[i] >= universe || (i > 0 && c->ids[i] <= c->ids[i - 1]))
            return -DM_EMALFORMED;
    if (c->bind_len > DM_RECONFIG_BIND_MAX || memchr(c->bind, '\0', c->bind_len))
        return -DM_EMALFORMED;
    return 0;
}

bool dm_epoch_config_equal(const dm_epoch_config *a, const dm_epoch_config *b)
{
    return a->epoch == b->epoch && a->count == b->count &&
           memcmp(a->ids, b->ids, a->count * sizeof a->ids[0]) == 0 &&
           a->bind_len == b->bind_len && memcmp(a->bind, b->bind, a->bind_len) == 0;
}

bool dm_epoch_config_has(const dm_epoch_config *c, uint32_t id)
{
    for (uint32_t i = 0; i < c->count; i++)
        if (c->ids[i] == id)
            return true;
    return false;
}

/* ---------------------------------------------------------------- messages */

static const char *const type_names[DM_RECONFIG_TYPE_COUNT] = {
    [DM_RECONFIG_SEAL] = "SEAL",           [DM_RECONFIG_SEALED] = "SEALED",
    [DM_RECONFIG_ACCEPT] = "ACCEPT",       [DM_RECONFIG_ACCEPTED] = "ACCEPTED",
    [DM_RECONFIG_NACK] = "NACK",           [DM_RECONFIG_INSTALL] = "INSTALL",
    [DM_RECONFIG_INSTALLED] = "INSTALLED", [DM_RECONFIG_NEWER] = "NEWER",
    [DM_RECONFIG_STALE] = "STALE",
};

const char *dm_reconfig_msg_type_name(dm_reconfig_msg_type t)
{
    return (unsigned)t < DM_RECONFIG_TYPE_COUNT && type_names[t] ? type_names[t] : "?";
}

static bool ballot_ok(uint64_t b, uint32_t universe)
{
    return b != 0 && DM_RECONFIG_BALLOT_ROUND(b) != 0 && DM_RECONFIG_BALLOT_ID(b) < universe;
}

int dm_reconfig_msg_check(const dm_reconfig_msg *m, uint32_t universe)
{
    if (!m || m->type < DM_RECONFIG_SEAL || m->type >= DM_RECONFIG_TYPE_COUNT)
        return -DM_ETYPE;
    if (m->from >= universe || m->to >= universe || m->from == m->to)
        return -DM_EPEER;
    switch (m->type) {
    case DM_RECONFIG_SEAL:
    case DM_RECONFIG_ACCEPT:
        /* A proposer only ever sends its own ballots. */
        if (m->epoch == 0 || !ballot_ok(m->ballot, universe) ||
            DM_RECONFIG_BALLOT_ID(m->ballot) != m->from)
            return -DM_EMALFORMED;
        if (m->type == DM_RECONFIG_ACCEPT &&
            (dm_epoch_config_check(&m->conf, universe) < 0 || m->conf.epoch != m->epoch + 1))
            return -DM_EMALFORMED;
        return 0;
    case DM_RECONFIG_SEALED:
        if (m->epoch == 0 || !ballot_ok(m->ballot, universe) || m->accepted_ballot > m->ballot)
            return -DM_EMALFORMED;
        if (m->accepted_ballot == 0)
            return m->conf.count == 0 && m->conf.bind_len == 0 ? 0 : -DM_EMALFORMED;
        if (!ballot_ok(m->accepted_ballot, universe) ||
            dm_epoch_config_check(&m->conf, universe) < 0 || m->conf.epoch != m->epoch + 1)
            return -DM_EMALFORMED;
        return 0;
    case DM_RECONFIG_ACCEPTED:
        return m->epoch && ballot_ok(m->ballot, universe) ? 0 : -DM_EMALFORMED;
    case DM_RECONFIG_NACK:
        return m->epoch && ballot_ok(m->ballot, universe) &&
               ballot_ok(m->promised, universe) && m->promised > m->ballot ? 0 : -DM_EMALFORMED;
    case DM_RECONFIG_INSTALL:
    case DM_RECONFIG_NEWER:
        return dm_epoch_config_check(&m->conf, universe) < 0 || m->conf.epoch < 2
               ? -DM_EMALFORMED : 0;
    case DM_RECONFIG_INSTALLED:
    case DM_RECONFIG_STALE:
        return m->epoch ? 0 : -DM_EMALFORMED;
    default:
        return -DM_ETYPE;
    }
}

/* ---------------------------------------------------------------- persisted state */

#define STATE_MAGIC UINT32_C(0x444d5243)   /* "DMRC" */
#define STATE_VERSION 3u                   /* 2: abstain_upto; 3: bindings */
#define STATE_HEADER 12u                   /* magic, version, body length */

typedef struct writer {
    uint8_t *p;
    size_t len, cap;
} writer;

typedef struct reader {
    const uint8_t *p;
    size_t len, off;
    bool bad;
} reader;

static void put(writer *w, uint64_t v, int bytes)
{
    if (w->len + (size_t)bytes <= w->cap)
        for (int i = bytes - 1; i >= 0; i--)
            w->p[w->len + (size_t)(bytes - 1 - i)] = (uint8_t)(v >> (8 * i));
    w->len += (size_t)bytes;
}

static uint64_t get(reader *r, int bytes)
{
    uint64_t v = 0;
    if (r->off + (size_t)bytes > r->len) {
        r->bad = true;
        return 0;
    }
    for (int i = 0; i < bytes; i++)
        v = v << 8 | r->p[r->off++];
    return v;
}

static void put_config(writer *w, const dm_epoch_config *c)
{
    put(w, c->epoch, 8);
    put(w, c->count, 4);
    for (uint32_t i = 0; i < c->count; i++)
        put(w, c->ids[i], 4);
    put(w, c->bind_len, 2);
    for (uint32_t i = 0; i < c->bind_len; i++)
        put(w, c->bind[i], 1);
}

/* Version 2 states have no binding (every configuration's is empty). */
static void get_config(reader *r, dm_epoch_config *c, uint64_t version)
{
    memset(c, 0, sizeof *c);
    c->epoch = get(r, 8);
    c->count = (uint32_t)get(r, 4);
    if (c->count > DM_RECONFIG_MAX_MEMBERS) {
        r->bad = true;
        return;
    }
    for (uint32_t i = 0; i < c->count; i++)
        c->ids[i] = (uint32_t)get(r, 4);
    if (version < 3)
        return;
    c->bind_len = (uint32_t)get(r, 2);
    if (c->bind_len > DM_RECONFIG_BIND_MAX) {
        r->bad = true;
        return;
    }
    for (uint32_t i = 0; i < c->bind_len; i++)
        c->bind[i] = (uint8_t)get(r, 1);
}

static uint64_t checksum(const uint8_t *p, size_t len)
{
    uint64_t h = DM_FNV_BASIS;
    for (size_t i = 0; i < len; i++)
        h = dm_fnv1a_byte(h, p[i]);
    return dm_mix64(h);
}

int dm_reconfig_state_encode(const dm_reconfig_state *s, uint8_t *buf, size_t cap)
{
    if (!s || !buf || s->current.count > DM_RECONFIG_MAX_MEMBERS ||
        s->accepted.count > DM_RECONFIG_MAX_MEMBERS || s->current.bind_len > DM_RECONFIG_BIND_MAX ||
        s->accepted.bind_len > DM_RECONFIG_BIND_MAX)
        return -DM_EINVAL;
    writer w = { buf, 0, cap };
    put(&w, STATE_MAGIC, 4);
    put(&w, STATE_VERSION, 4);
    put(&w, 0, 4);                          /* body length, below */
    put_config(&w, &s->current);
    put(&w, s->token_floor, 8);
    put(&w, s->quiet_us, 8);
    put(&w, s->promised, 8);
    put(&w, s->accepted_ballot, 8);
    put_config(&w, &s->accepted);
    put(&w, s->round, 8);
    put(&w, s->abstain_upto, 8);
    if (w.len + 8 > cap)
        return -DM_EINVAL;
    size_t body = w.len - STATE_HEADER;
    writer lw = { buf + 8, 0, 4 };
    put(&lw, body, 4);
    put(&w, checksum(buf, w.len), 8);
    return (int)w.len;
}

int dm_reconfig_state_decode(const uint8_t *buf, size_t len, uint32_t universe,
                             dm_reconfig_state *out)
{
    if (!buf || !out || len < STATE_HEADER + 8)
        return -DM_EBADSTATE;
    reader r = { buf, len, 0, false };
    if (get(&r, 4) != STATE_MAGIC)
        return -DM_EBADSTATE;
    uint64_t version = get(&r, 4);
    if (version != STATE_VERSION && version != 2)
        return -DM_EVERSION;
    uint64_t body = get(&r, 4);
    if (body != len - STATE_HEADER - 8)
        return -DM_EBADSTATE;
    r.len = len - 8;   /* the body may not read into the checksum */
    reader cr = { buf + len - 8, 8, 0, false };
    if (get(&cr, 8) != checksum(buf, len - 8))
        return -DM_EBADSTATE;
    dm_reconfig_state s;
    memset(&s, 0, sizeof s);
    get_config(&r, &s.current, version);
    s.token_floor = get(&r, 8);
    s.quiet_us = get(&r, 8);
    s.promised = get(&r, 8);
    s.accepted_ballot = get(&r, 8);
    get_config(&r, &s.accepted, version);
    s.round = get(&r, 8);
    s.abstain_upto = get(&r, 8);
    if (r.bad || r.off != r.len)
        return -DM_EBADSTATE;
    /* The invariants every state written by this module keeps. */
    if (dm_epoch_config_check(&s.current, universe) < 0 || s.promised < s.accepted_ballot ||
        s.round > DM_RECONFIG_ROUND_MAX || (s.promised && !ballot_ok(s.promised, universe)))
        return -DM_EBADSTATE;
    if (s.accepted_ballot == 0 ? s.accepted.count != 0 || s.accepted.epoch != 0
                               : !ballot_ok(s.accepted_ballot, universe) ||
                                 dm_epoch_config_check(&s.accepted, universe) < 0 ||
                                 s.accepted.epoch != s.current.epoch + 1)
        return -DM_EBADSTATE;
    *out = s;
    return 0;
}

/* Persist `next` and make it the state; on failure nothing changes and the
 * caller must not send what depended on it. */
static int commit(dm_reconfig *r, const dm_reconfig_state *next)
{
    uint8_t buf[DM_RECONFIG_STATE_MAX];
    int len = dm_reconfig_state_encode(next, buf, sizeof buf);
    g_assert(len > 0);
    int rc = r->drv.persist ? r->drv.persist(r->user, buf, (size_t)len) : 0;
    if (rc < 0) {
        r->stats.persist_failures++;
        g_warning("reconfig %u: persisting state failed: %s", r->p.self, dm_strerror(rc));
        return -DM_EPERSIST;
    }
    r->stats.persists++;
    r->st = *next;
    return 0;
}

/* ---------------------------------------------------------------- sending */

static void msg_init(const dm_reconfig *r, dm_reconfig_msg *m, dm_reconfig_msg_type type,
                     uint32_t to, uint64_t epoch, uint64_t ballot)
{
    memset(m, 0, sizeof *m);
    m->type = type;
    m->from = r->p.self;
    m->to = to;
    m->epoch = epoch;
    m->ballot = ballot;
}

static void send_msg(dm_reconfig *r, const dm_reconfig_msg *m)
{
    if (m->to == r->p.self) {
        g_queue_push_tail(&r->local, g_memdup2(m, sizeof *m));
        return;
    }
    r->stats.sent[m->type]++;
    r->drv.send(r->user, m);
}

/* The current configuration with its floor and quiet period, to a member
 * that showed it is behind. */
static void send_newer(dm_reconfig *r, uint32_t to)
{
    dm_reconfig_msg m;
    msg_init(r, &m, DM_RECONFIG_NEWER, to, r->st.current.epoch, 0);
    m.conf = r->st.current;
    m.tokens = r->st.token_floor;
    m.lease_us = r->st.quiet_us;
    send_msg(r, &m);
}

static void emit(dm_reconfig *r, const dm_reconfig_event *ev)
{
    if (r->drv.event)
        r->drv.event(r->user, ev);
}

/* ---------------------------------------------------------------- proposer */

/* The proposal ends: DONE with `conf` the successor (reason 0) and the phase
 * it leaves (IDLE, or INSTALL to keep pushing a successor it chose). */
static void proposal_done(dm_reconfig *r, int reason, const dm_epoch_config *conf,
                          enum phase then)
{
    proposal *pr = &r->prop;
    pr->phase = then;
    dm_reconfig_event ev = { .type = DM_RECONFIG_EV_DONE, .epoch = pr->epoch,
                             .ballot = pr->ballot, .reason = reason };
    if (reason == 0) {
        bool installed = dm_epoch_config_equal(conf, &r->st.current);
        ev.conf = conf;
        ev.token_floor = installed ? r->st.token_floor : pr->tokens;
        ev.quiet_us = installed ? r->st.quiet_us : pr->lease_us;
        ev.own = dm_epoch_config_equal(conf, &pr->own);
    }
    emit(r, &ev);
}

/* Does the set of members with answered[id] contain a quorum of C_e? */
/* The answers form a Paxos quorum: a quorum of C_e -- of every placement
 * of it, when the lock layer places members per lock name (params.spread):
 * the accepting set must meet every lock quorum of every name, and two such
 * sets still meet (each holds a quorum of placement 0). */
static bool answered_quorum(dm_reconfig *r)
{
    const dm_epoch_config *c = &r->prop.old;
    for (uint32_t i = 0; i < c->count; i++)
        r->unusable[c->ids[i]] = !r->prop.answered[c->ids[i]];
    uint32_t placements = r->p.spread ? dm_quorum_placements(r->quorum) : 1;
    for (uint32_t k = 0; k < placements; k++)
        if (!dm_quorum_exists_at(r->quorum, k, r->unusable))
            return false;
    return true;
}

static void send_to(dm_reconfig *r, uint32_t id)
{
    proposal *pr = &r->prop;
    dm_reconfig_msg m;
    switch (pr->phase) {
    case PHASE_SEAL:
        msg_init(r, &m, DM_RECONFIG_SEAL, id, pr->epoch, pr->ballot);
        break;
    case PHASE_ACCEPT:
        msg_init(r, &m, DM_RECONFIG_ACCEPT, id, pr->epoch, pr->ballot);
        m.conf = pr->value;
        break;
    case PHASE_INSTALL:
        msg_init(r, &m, DM_RECONFIG_INSTALL, id, pr->value.epoch, 0);
        m.conf = pr->value;
        m.tokens = pr->tokens;
        m.lease_us = pr->lease_us;
        break;
    default:
        return;
    }
    send_msg(r, &m);
}

/* The current phase's message to every member that has not answered it:
 * C_e's members, and for INSTALL also C_{e+1}'s. */
static void send_phase(dm_reconfig *r, bool resend)
{
    proposal *pr = &r->prop;
    bool install = pr->phase == PHASE_INSTALL;
    uint32_t unanswered = 0;
    for (int pass = 0; pass < (install ? 2 : 1); pass++) {
        const dm_epoch_config *c = pass ? &pr->value : &pr->old;
        for (uint32_t i = 0; i < c->count; i++) {
            uint32_t id = c->ids[i];
            if (pr->answered[id] || (pass && dm_epoch_config_has(&pr->old, id)))
                continue;
            unanswered++;
            send_to(r, id);
            if (resend)
                r->stats.retransmits++;
        }
    }
    if (install && unanswered == 0)
        pr->phase = PHASE_IDLE;
}

static void enter(dm_reconfig *r, int64_t now, enum phase phase)
{
    proposal *pr = &r->prop;
    pr->phase = phase;
    pr->resend_at = now + r->p.rto_us;
    memset(pr->answered, 0, r->p.universe);
    if (phase == PHASE_SEAL || phase == PHASE_ACCEPT) {
        size_t k = (size_t)(DM_RECONFIG_BALLOT_ROUND(pr->ballot) % G_N_ELEMENTS(pr->sent_at));
        pr->sent_ballot[k] = pr->ballot;
        pr->sent_phase[k] = phase;
        pr->sent_at[k] = now;
    }
}

/* An answer (SEALED, ACCEPTED or NACK) to a phase of one of our recent
 * ballots, current or not: how long it took. The estimate follows a slower
 * answer at once and a faster one by an eighth of the difference, so one
 * slow member sets the pace of backing off while it lasts. */
static void measure(dm_reconfig *r, int64_t now, const dm_reconfig_msg *m, enum phase phase)
{
    proposal *pr = &r->prop;
    size_t k = (size_t)(DM_RECONFIG_BALLOT_ROUND(m->ballot) % G_N_ELEMENTS(pr->sent_at));
    if (m->from == r->p.self || DM_RECONFIG_BALLOT_ID(m->ballot) != r->p.self ||
        pr->sent_ballot[k] != m->ballot ||
        (phase != PHASE_IDLE && pr->sent_phase[k] != phase) || m->epoch != pr->epoch)
        return;
    int64_t sample = now - pr->sent_at[k];
    r->rtt_us = sample >= r->rtt_us ? sample : r->rtt_us - (r->rtt_us - sample) / 8;
}

/* A new ballot above everything seen, persisted before its SEALs leave. */
static void start_ballot(dm_reconfig *r, int64_t now)
{
    proposal *pr = &r->prop;
    uint64_t round = MAX(r->st.round, DM_RECONFIG_BALLOT_ROUND(r->st.promised));
    round = MAX(round, pr->max_round_seen) + 1;
    if (round > DM_RECONFIG_ROUND_MAX) {
        proposal_done(r, -DM_EINVAL, NULL, PHASE_IDLE);
        return;
    }
    dm_reconfig_state next = r->st;
    next.round = round;
    if (commit(r, &next) < 0) {
        pr->start_at = now + r->p.rto_us;   /* try again later */
        return;
    }
    pr->ballot = DM_RECONFIG_BALLOT(round, r->p.self);
    pr->best_accepted = 0;
    memset(&pr->best, 0, sizeof pr->best);
    pr->tokens = r->st.token_floor;
    pr->lease_us = 0;
    r->stats.rounds++;
    enter(r, now, PHASE_SEAL);
    send_phase(r, false);
}

static void back_off(dm_reconfig *r, int64_t now)
{
    proposal *pr = &r->prop;
    uint32_t shift = MIN(pr->retries, 3u);
    pr->retries++;
    pr->phase = PHASE_WAIT;
    uint64_t base = (uint64_t)MAX(r->p.backoff_us, 2 * r->rtt_us);
    pr->start_at = now + 1 + (int64_t)dm_prng_below(&r->prng, base << shift);
}

/* An answer to the current ballot's current phase, from a member not yet
 * counted: counts it. Anything else is stale. */
static bool fresh_answer(dm_reconfig *r, const dm_reconfig_msg *m, enum phase phase)
{
    proposal *pr = &r->prop;
    if (pr->phase != phase || m->epoch != pr->epoch || m->ballot != pr->ballot ||
        pr->answered[m->from]) {
        r->stats.stale++;
        return false;
    }
    pr->answered[m->from] = 1;
    return true;
}

static void on_sealed(dm_reconfig *r, int64_t now, const dm_reconfig_msg *m)
{
    proposal *pr = &r->prop;
    measure(r, now, m, PHASE_SEAL);
    if (!fresh_answer(r, m, PHASE_SEAL))
        return;
    pr->tokens = MAX(pr->tokens, m->tokens);
    pr->lease_us = MAX(pr->lease_us, m->lease_us);
    if (m->accepted_ballot > pr->best_accepted) {
        pr->best_accepted = m->accepted_ballot;
        pr->best = m->conf;
    }
    if (!answered_quorum(r))
        return;
    bool adopt = pr->best_accepted && r->p.mutation != DM_RECONFIG_MUTATION_IGNORE_ACCEPTED;
    pr->value = adopt ? pr->best : pr->own;
    enter(r, now, PHASE_ACCEPT);
    send_phase(r, false);
}

static void install(dm_reconfig *r, int64_t now, const dm_epoch_config *c, uint64_t floor,
                    uint64_t quiet);

static void on_accepted(dm_reconfig *r, int64_t now, const dm_reconfig_msg *m)
{
    proposal *pr = &r->prop;
    measure(r, now, m, PHASE_ACCEPT);
    if (!fresh_answer(r, m, PHASE_ACCEPT))
        return;
    pr->tokens = MAX(pr->tokens, m->tokens);
    pr->lease_us = MAX(pr->lease_us, m->lease_us);
    if (!answered_quorum(r))
        return;
    /* Chosen. Push the INSTALL to everyone but ourselves, who installs at
     * once (if that cannot be persisted, an acceptor's NEWER brings it back). */
    enter(r, now, PHASE_INSTALL);
    pr->answered[r->p.self] = 1;
    send_phase(r, false);
    install(r, now, &pr->value, pr->tokens, pr->lease_us);
    proposal_done(r, 0, &pr->value, pr->phase);
}

static void on_nack(dm_reconfig *r, int64_t now, const dm_reconfig_msg *m)
{
    proposal *pr = &r->prop;
    measure(r, now, m, PHASE_IDLE);   /* either phase */
    if (pr->phase != PHASE_SEAL && pr->phase != PHASE_ACCEPT) {
        r->stats.stale++;
        return;
    }
    pr->max_round_seen = MAX(pr->max_round_seen, DM_RECONFIG_BALLOT_ROUND(m->promised));
    if (m->epoch != pr->epoch || m->ballot != pr->ballot) {
        r->stats.stale++;
        return;
    }
    back_off(r, now);
}

static void on_installed(dm_reconfig *r, const dm_reconfig_msg *m)
{
    proposal *pr = &r->prop;
    if (pr->phase != PHASE_INSTALL || m->epoch < pr->value.epoch) {
        r->stats.stale++;
        return;
    }
    pr->answered[m->from] = 1;
}

/* ---------------------------------------------------------------- acceptor, learner */

static void install(dm_reconfig *r, int64_t now, const dm_epoch_config *c, uint64_t floor,
                    uint64_t quiet)
{
    if (c->epoch == r->st.current.epoch && !dm_epoch_config_equal(c, &r->st.current)) {
        r->stats.conflicts++;
        g_warning("reconfig %u: two configurations offered for epoch %" G_GUINT64_FORMAT,
                  r->p.self, c->epoch);
    }
    if (c->epoch <= r->st.current.epoch)
        return;
    dm_quorum *q = NULL;
    if (dm_quorum_new(r->p.quorum, c->ids, c->count, &q) < 0)
        return;
    dm_reconfig_state next = r->st;
    next.current = *c;
    next.token_floor = MAX(floor, r->st.token_floor);
    next.quiet_us = quiet;
    next.promised = next.accepted_ballot = 0;
    memset(&next.accepted, 0, sizeof next.accepted);
    if (commit(r, &next) < 0) {
        dm_quorum_free(q);
        return;
    }
    dm_quorum_free(r->quorum);
    r->quorum = q;
    dm_reconfig_event ev = { .type = DM_RECONFIG_EV_INSTALLED, .epoch = c->epoch,
                             .conf = &r->st.current, .token_floor = r->st.token_floor,
                             .quiet_us = r->st.quiet_us };
    emit(r, &ev);
    /* A proposal for an epoch now past has its answer. If it is the very
     * successor, push it on as if we had chosen it: whoever did may have
     * given up or crashed before every member of both configurations had it. */
    proposal *pr = &r->prop;
    if ((pr->phase != PHASE_WAIT && pr->phase != PHASE_SEAL && pr->phase != PHASE_ACCEPT) ||
        r->st.current.epoch <= pr->epoch)
        return;
    if (r->st.current.epoch > pr->epoch + 1) {
        proposal_done(r, 0, &r->st.current, PHASE_IDLE);
        return;
    }
    pr->value = r->st.current;
    pr->tokens = r->st.token_floor;
    pr->lease_us = r->st.quiet_us;
    enter(r, now, PHASE_INSTALL);
    pr->answered[r->p.self] = 1;
    send_phase(r, false);
    proposal_done(r, 0, &pr->value, pr->phase);
}

/* A message for an epoch other than ours: catch whichever side is behind up.
 * True when it was handled so. */
static bool epoch_mismatch(dm_reconfig *r, const dm_reconfig_msg *m)
{
    if (m->epoch < r->st.current.epoch) {
        send_newer(r, m->from);
        return true;
    }
    if (m->epoch > r->st.current.epoch) {
        dm_reconfig_msg a;
        msg_init(r, &a, DM_RECONFIG_STALE, m->from, r->st.current.epoch, 0);
        send_msg(r, &a);
        return true;
    }
    if (!dm_epoch_config_has(&r->st.current, r->p.self)) {
        r->stats.stale++;   /* not an acceptor of this epoch: the sender is confused */
        return true;
    }
    return false;
}

static void nack(dm_reconfig *r, const dm_reconfig_msg *m)
{
    dm_reconfig_msg a;
    msg_init(r, &a, DM_RECONFIG_NACK, m->from, m->epoch, m->ballot);
    a.promised = r->st.promised;
    send_msg(r, &a);
}

/* Promise (and with `value`, accept) ballot b: persisted before the caller answers. */
static int promise(dm_reconfig *r, uint64_t b, const dm_epoch_config *value)
{
    bool was_sealed = r->st.accepted_ballot != 0;
    dm_reconfig_state next = r->st;
    next.promised = MAX(next.promised, b);
    if (value) {
        next.accepted_ballot = b;
        next.accepted = *value;
    }
    if (next.promised != r->st.promised || next.accepted_ballot != r->st.accepted_ballot ||
        (value && !dm_epoch_config_equal(value, &r->st.accepted))) {
        int rc = commit(r, &next);
        if (rc < 0)
            return rc;
    }
    if (!was_sealed && value) {
        dm_reconfig_event ev = { .type = DM_RECONFIG_EV_SEALED, .epoch = r->st.current.epoch,
                                 .ballot = b };
        emit(r, &ev);
    }
    return 0;
}

/* A vote this member may not cast: it lost a state that may have held one. */
static bool abstains(dm_reconfig *r, const dm_reconfig_msg *m)
{
    if (m->epoch > r->st.abstain_upto)
        return false;
    r->stats.stale++;
    return true;
}

static void on_seal(dm_reconfig *r, const dm_reconfig_msg *m)
{
    if (epoch_mismatch(r, m) || abstains(r, m))
        return;
    if (m->ballot < r->st.promised) {
        nack(r, m);
        return;
    }
    if (promise(r, m->ballot, NULL) < 0)
        return;
    dm_reconfig_msg a;
    msg_init(r, &a, DM_RECONFIG_SEALED, m->from, m->epoch, m->ballot);
    a.accepted_ballot = r->st.accepted_ballot;
    if (a.accepted_ballot)
        a.conf = r->st.accepted;
    if (r->drv.report)
        r->drv.report(r->user, &a.tokens, &a.lease_us);
    send_msg(r, &a);
}

static void on_accept(dm_reconfig *r, const dm_reconfig_msg *m)
{
    if (epoch_mismatch(r, m) || abstains(r, m))
        return;
    if (m->ballot < r->st.promised && r->p.mutation != DM_RECONFIG_MUTATION_ACCEPT_LOWER) {
        nack(r, m);
        return;
    }
    if (promise(r, m->ballot, &m->conf) < 0)
        return;
    dm_reconfig_msg a;
    msg_init(r, &a, DM_RECONFIG_ACCEPTED, m->from, m->epoch, m->ballot);
    /* Sealed from now on: what the lock layer did until here. */
    if (r->drv.report)
        r->drv.report(r->user, &a.tokens, &a.lease_us);
    send_msg(r, &a);
}

static void on_config(dm_reconfig *r, int64_t now, const dm_reconfig_msg *m)
{
    install(r, now, &m->conf, m->tokens, m->lease_us);
    if (m->type == DM_RECONFIG_INSTALL && r->st.current.epoch >= m->conf.epoch) {
        dm_reconfig_msg a;
        msg_init(r, &a, DM_RECONFIG_INSTALLED, m->from, r->st.current.epoch, 0);
        send_msg(r, &a);
    }
    if (m->conf.epoch < r->st.current.epoch)
        send_newer(r, m->from);
}

static void handle(dm_reconfig *r, int64_t now, const dm_reconfig_msg *m)
{
    r->stats.received[m->type]++;
    switch (m->type) {
    case DM_RECONFIG_SEAL:      on_seal(r, m); break;
    case DM_RECONFIG_ACCEPT:    on_accept(r, m); break;
    case DM_RECONFIG_SEALED:    on_sealed(r, now, m); break;
    case DM_RECONFIG_ACCEPTED:  on_accepted(r, now, m); break;
    case DM_RECONFIG_NACK:      on_nack(r, now, m); break;
    case DM_RECONFIG_INSTALL:
    case DM_RECONFIG_NEWER:     on_config(r, now, m); break;
    case DM_RECONFIG_INSTALLED: on_installed(r, m); break;
    case DM_RECONFIG_STALE:
        if (m->epoch < r->st.current.epoch)
            send_newer(r, m->from);
        else
            r->stats.stale++;
        break;
    default:
        break;
    }
}

static void drain_local(dm_reconfig *r, int64_t now)
{
    dm_reconfig_msg *m;
    while ((m = g_queue_pop_head(&r->local))) {
        handle(r, now, m);
        g_free(m);
    }
}

/* ---------------------------------------------------------------- public */

void dm_reconfig_params_defaults(dm_reconfig_params *p)
{
    memset(p, 0, sizeof *p);
    p->rto_us = 200000;
    p->backoff_us = 100000;
    p->fallback_us = 1000000;
}

int dm_reconfig_new(const dm_reconfig_params *p, const dm_reconfig_driver *drv, void *user,
                    int64_t now, const void *persisted, size_t persisted_len,
                    dm_reconfig **out)
{
    (void)now;
    if (!p || !drv || !drv->send || !out || p->universe == 0 ||
        p->universe > DM_RECONFIG_MAX_UNIVERSE || p->self >= p->universe || p->rto_us <= 0 ||
        p->backoff_us <= 0 || p->fallback_us < 0 || p->initial.epoch != 1 ||
        dm_epoch_config_check(&p->initial, p->universe) < 0)
        return -DM_EINVAL;
    dm_reconfig_state st = { .current = p->initial };
    if (persisted && persisted_len) {
        int rc = dm_reconfig_state_decode(persisted, persisted_len, p->universe, &st);
        if (rc < 0)
            return rc;
    }
    dm_quorum *q = NULL;
    int rc = dm_quorum_new(p->quorum, st.current.ids, st.current.count, &q);
    if (rc < 0)
        return rc;
    dm_reconfig *r = g_new0(dm_reconfig, 1);
    r->p = *p;
    r->drv = *drv;
    r->user = user;
    r->st = st;
    r->quorum = q;
    r->unusable = g_new0(uint8_t, p->universe);
    r->prop.answered = g_new0(uint8_t, p->universe);
    dm_prng_seed(&r->prng, p->seed);
    g_queue_init(&r->local);
    *out = r;
    return 0;
}

void dm_reconfig_free(dm_reconfig *r)
{
    if (!r)
        return;
    g_queue_clear_full(&r->local, g_free);
    dm_quorum_free(r->quorum);
    g_free(r->unusable);
    g_free(r->prop.answered);
    g_free(r);
}

int dm_reconfig_receive(dm_reconfig *r, int64_t now, const dm_reconfig_msg *m)
{
    int rc = dm_reconfig_msg_check(m, r->p.universe);
    if (rc == 0 && m->to != r->p.self)
        rc = -DM_EPEER;
    if (rc < 0) {
        r->stats.rejected++;
        return rc;
    }
    handle(r, now, m);
    drain_local(r, now);
    return 0;
}

void dm_reconfig_tick(dm_reconfig *r, int64_t now)
{
    proposal *pr = &r->prop;
    if (pr->phase != PHASE_IDLE && pr->phase != PHASE_INSTALL && now >= pr->deadline) {
        proposal_done(r, -DM_ETIMEDOUT, NULL, PHASE_IDLE);
    } else if (pr->phase == PHASE_INSTALL && now >= pr->deadline) {
        pr->phase = PHASE_IDLE;
    } else if (pr->phase == PHASE_WAIT && now >= pr->start_at) {
        start_ballot(r, now);
    } else if (pr->phase >= PHASE_SEAL && now >= pr->resend_at) {
        pr->resend_at = now + r->p.rto_us;
        send_phase(r, true);
    }
    drain_local(r, now);
}

int64_t dm_reconfig_next_deadline(const dm_reconfig *r)
{
    const proposal *pr = &r->prop;
    switch (pr->phase) {
    case PHASE_WAIT:
        return MIN(pr->start_at, pr->deadline);
    case PHASE_SEAL:
    case PHASE_ACCEPT:
    case PHASE_INSTALL:
        return MIN(pr->resend_at, pr->deadline);
    default:
        return INT64_MAX;
    }
}

int dm_reconfig_propose(dm_reconfig *r, int64_t now, const uint32_t *ids, uint32_t count,
                        const uint8_t *alive, int64_t deadline)
{
    return dm_reconfig_propose_bound(r, now, ids, count, NULL, 0, alive, deadline);
}

int dm_reconfig_propose_bound(dm_reconfig *r, int64_t now, const uint32_t *ids, uint32_t count,
                              const void *bind, size_t bind_len, const uint8_t *alive,
                              int64_t deadline)
{
    proposal *pr = &r->prop;
    if (pr->phase != PHASE_IDLE && pr->phase != PHASE_INSTALL)
        return -DM_EBUSY;
    if (!ids || count == 0 || count > DM_RECONFIG_MAX_MEMBERS || bind_len > DM_RECONFIG_BIND_MAX ||
        (bind_len && !bind))
        return -DM_EMALFORMED;
    dm_epoch_config own = { .epoch = r->st.current.epoch + 1, .count = count };
    memcpy(own.ids, ids, count * sizeof ids[0]);
    own.bind_len = (uint32_t)bind_len;
    if (bind_len)
        memcpy(own.bind, bind, bind_len);
    if (dm_epoch_config_check(&own, r->p.universe) < 0)
        return -DM_EMALFORMED;
    if (deadline <= now)
        return -DM_EINVAL;
    uint32_t preferred = r->p.self;
    const dm_epoch_config *c = &r->st.current;
    for (uint32_t i = 0; i < c->count; i++)
        if (c->ids[i] == r->p.self || !alive || alive[c->ids[i]]) {
            preferred = c->ids[i];
            break;
        }
    pr->phase = PHASE_WAIT;
    pr->epoch = c->epoch;
    pr->old = *c;
    pr->own = own;
    pr->ballot = 0;
    pr->retries = 0;
    pr->max_round_seen = 0;
    pr->deadline = deadline;
    pr->start_at = preferred == r->p.self ? now : now + r->p.fallback_us;
    dm_reconfig_tick(r, now);
    return 0;
}

int dm_reconfig_cancel(dm_reconfig *r, int64_t now)
{
    (void)now;
    proposal *pr = &r->prop;
    if (pr->phase == PHASE_IDLE || pr->phase == PHASE_INSTALL)
        return -DM_ENOTHELD;
    proposal_done(r, -DM_ECANCELED, NULL, PHASE_IDLE);
    return 0;
}

int dm_reconfig_abstain(dm_reconfig *r, uint64_t upto)
{
    if (upto <= r->st.abstain_upto)
        return 0;
    dm_reconfig_state next = r->st;
    next.abstain_upto = upto;
    return commit(r, &next);
}

bool dm_reconfig_abstaining(const dm_reconfig *r)
{
    return r->st.current.epoch <= r->st.abstain_upto;
}

bool dm_reconfig_sealed(const dm_reconfig *r)
{
    return r->st.accepted_ballot != 0;
}

bool dm_reconfig_proposing(const dm_reconfig *r)
{
    return r->prop.phase != PHASE_IDLE && r->prop.phase != PHASE_INSTALL;
}

int64_t dm_reconfig_round_trip(const dm_reconfig *r)
{
    return r->rtt_us;
}

const dm_epoch_config *dm_reconfig_current(const dm_reconfig *r)
{
    return &r->st.current;
}

const dm_reconfig_state *dm_reconfig_get_state(const dm_reconfig *r)
{
    return &r->st;
}

const dm_reconfig_stats *dm_reconfig_get_stats(const dm_reconfig *r)
{
    return &r->stats;
}
