/* dmutex core: SWIM membership with Lifeguard (see membership.h).
 *
 * Layout: a simulation holds N members in each of N nodes, so what every
 * member costs is what 10,000 nodes cost squared. The hot part -- state,
 * incarnation, accuser, when the state was taken -- is 16 bytes in one
 * array indexed by id (every lookup a message triggers is O(1)); with the
 * probe order, the ALIVE/DEAD sets and a set position (2 bytes each), 22
 * bytes a member.
 * The three per-member activities that need ordering (a suspicion timer, a
 * pending broadcast, a relayed probe) are intrusive entries of three
 * dm_heaps in a cold record that exists only while one of them is running,
 * found by id in a hash table. A heap holds at most one entry per member.
 * Records and heap storage grow with activity; as everywhere in GLib,
 * running out of memory aborts.
 *
 * Decisions the header leaves open, and why:
 *  - Confirmations of a suspicion are counted per distinct *accuser* of a
 *    SUSPECT update at the suspicion's incarnation (our own failed probe
 *    makes us one), as the update names it, never per sender: a relay of
 *    somebody else's suspicion is no independent evidence, and counting
 *    relays shrank the timeout to its minimum at once and gave false DEADs
 *    at 10% loss. As in memberlist, the member whose update started the
 *    timer is not counted, and only K of them are (membership.h); with
 *    K = 0 the timeout is min from the start. A relay keeps the accuser it heard; a new confirmation
 *    is re-broadcast under its own accuser (memberlist does the same), or
 *    no third member would ever learn of it and a real crash would take
 *    nearly the maximal timeout to be declared.
 *  - A DEAD entry of a SYNC is merged as SUSPECT (memberlist's mergeState):
 *    full state carries the sender's old verdicts wholesale, e.g. from the
 *    other side of a healed partition, and a suspicion gives the accused a
 *    suspicion timeout to refute where DEAD would give it none.
 *  - The update about a message's destination goes first ("buddy"); when
 *    none is pending but we hold the destination SUSPECT, DEAD or LEFT, that
 *    state rides along anyway (outside the retransmit budget), so whoever we
 *    talk to learns at once what we believe of it and can refute it. This is
 *    what lets two sides of a healed partition meet again through the
 *    occasional probe of a DEAD member.
 *  - Refutations must beat the suspicion timeout, which confirmations
 *    shrink to its minimum within a few seconds, so their news does not wait
 *    for the next protocol message (up to a period away, more once health
 *    has risen) nor trust the retransmit budget alone (about e^-4 of the
 *    members miss an update sent 4 x log10 n times; seen with 5% loss):
 *     - a member that raises a suspicion also PINGs the accused with it;
 *     - a member that refutes PINGs its ALIVE to indirect_checks + 1 others
 *       at once (as a leave does), and answers every accuser directly: on
 *       the reply to its message, or else on a PING;
 *     - an accusation older than a refutation we know of (we hold the
 *       member ALIVE at a higher incarnation) means its sender missed that
 *       refutation: we queue the ALIVE again (no new incarnation), so that
 *       it rides on our reply. Not for SYNC, whose sender gets our full
 *       state anyway.
 *  - A relay answers NACK after 4/5 of min(probe_timeout, probe_interval -
 *    probe_timeout): the requester's period ends (probe_interval -
 *    probe_timeout) x (health + 1) after its PING_REQ, and a NACK sent only
 *    after the full probe timeout (memberlist) reaches a healthy requester
 *    after that with the defaults (500 ms of 1 s), so it would count as
 *    missed and raise the health score of a member that is fine.
 *  - A SYNC asking for a reply (DM_SYNC_REPLY) is answered on its LAST
 *    chunk only, so that one push of k chunks costs one reply, not k.
 *  - stats.suspicions and stats.deaths count our own verdicts (a failed
 *    probe, an expired suspicion timer); events report every transition.
 *  - The transmit limit and the suspicion timeouts use the configured n, as
 *    membership here is a fixed list.
 *  - The gossip timer is a ticker (a fixed phase, drawn at creation) that
 *    only wakes the owner while a broadcast is pending: memberlist's ticker
 *    fires regardless and returns at once with nothing to send, which costs
 *    nothing on the wire, so sleeping through idle ticks changes nothing
 *    but the simulator's event count.
 *  - A stream (TCP) PING carries no updates, and neither does its ACK, as
 *    memberlist's sendPingAndWaitForAck sends a bare ping over TCP.
 */
#include "membership.h"

#include <glib.h>
#include <math.h>
#include <string.h>

#include "error.h"
#include "heap.h"
#include "prng.h"

#define NONE UINT32_MAX
#define NEVER INT64_MAX

/* Probe sequence numbers say who is waiting for the ACK, so that an ACK is
 * matched in O(1): our own probe (low part 0) or the relay we run for
 * requester r (low part SEQ_RELAY + r). DM_SEQ_STREAM, the top bit, marks
 * the stream ping of our own probe; SEQ_STRIDE divides it, so the low part
 * is the same with or without it. SEQ_RELAY is the power of two that holds
 * every requester id, but at least 4,096 (DM_MAX_MEMBERS until issue 12) so
 * that the numbers of clusters up to that size -- which traces and the
 * golden hashes see -- stay what they were. Only this member reads its own
 * numbers back (an ACK echoes them), so members need not agree on it. Both
 * use `m`, the dm_membership in scope. */
#define SEQ_RELAY ((uint64_t)1 << MAX(12u, g_bit_storage(m->cfg.n_members - 1)))
#define SEQ_STRIDE (2 * SEQ_RELAY)
_Static_assert(DM_SEQ_STREAM % (2 * (uint64_t)DM_MAX_MEMBERS) == 0 &&
                   (DM_MAX_MEMBERS & (DM_MAX_MEMBERS - 1)) == 0,
               "the stream bit must lie above the low part of every stride");

/* memberlist's pushPullScaleThreshold: push/pull slows down beyond it. */
#define PUSH_PULL_SCALE_THRESHOLD 32

/* Pending broadcasts leave the queue by fewest transmissions, then newest
 * first: the heap key is transmits x BCAST_TIER - id (ids stay below 2^52). */
#define BCAST_TIER ((int64_t)1 << 52)

/* The hot part of a member, in one array indexed by id: what every message
 * and every query reads. 16 bytes, so that N members cost 28 bytes with the
 * probe order, the set position and the shared set array below (22 in all). */
typedef struct member {
    int64_t state_since;
    uint32_t incarnation;
    uint16_t accuser;           /* who declared the current state */
    uint8_t state;              /* dm_member_state */
    uint8_t flags;              /* JOINED, COLD */
} member;

#define JOINED 0x1              /* heard from at least once */
#define COLD 0x2                /* has a record in m->cold */

/* A member id in the per-member index arrays: ids are below DM_MAX_MEMBERS,
 * which the wire already caps at 16 bits, so two bytes a slot instead of
 * four: the three arrays cost 6 bytes a member, not 12. */
typedef uint16_t mid;
G_STATIC_ASSERT(DM_MAX_MEMBERS <= UINT16_MAX + 1);

/* The cold part: what a member needs only while it is suspected, has a
 * pending broadcast, or is the requester of a probe we relay. Allocated when
 * the first of the three starts, freed when the last ends, found through
 * m->cold by id (or from a heap entry, by container). The heaps hold
 * pointers into it, so a record never moves. */
typedef struct cold {
    uint32_t id;
    /* suspicion (queued while SUSPECT) */
    dm_heap_entry suspicion;
    int64_t suspect_start;
    uint32_t confirmations;
    uint32_t n_accusers;        /* entries of accusers[] */
    /* pending broadcast of our (state, incarnation) of this member */
    dm_heap_entry bcast;
    uint64_t bcast_id;
    uint32_t transmits;
    /* the indirect probe we run for this member as requester */
    uint32_t relay_target;
    dm_heap_entry relay;        /* queued until the target answers, or NACK */
    uint64_t relay_their_seq;
    uint64_t relay_our_seq;
    uint16_t accusers[];        /* k_confirm + 1 */
} cold;

typedef enum probe_phase {
    PROBE_IDLE,                 /* probe_at starts the next period */
    PROBE_DIRECT,               /* PING sent; probe_at: go indirect */
    PROBE_INDIRECT,             /* probe_at: the period ends */
} probe_phase;

struct dm_membership {
    dm_swim_config cfg;
    dm_membership_driver drv;
    void *user;
    dm_prng prng;
    member *mem;
    GHashTable *cold;           /* id + 1 -> cold record */
    uint32_t k_confirm;
    int64_t susp_min, susp_max;
    int64_t nack_after;
    uint32_t transmit_limit;

    mid *order;                 /* round-robin probe order, reshuffled per pass */
    uint32_t order_len, order_pos;
    /* Two dense sets for O(1) random picks, sharing one array of n: the
     * others that are ALIVE from the front (sets[k] is the k-th), those that
     * are DEAD from the back (sets[n - 1 - k] is the k-th); set_pos[id] is
     * id's k in its set. */
    mid *sets, *set_pos;
    uint32_t n_alive, n_dead;

    dm_heap suspicions, relays, bcasts;
    uint64_t next_bcast_id;
    uint64_t next_seq;

    struct {
        probe_phase phase;
        bool acked, dead_probe;
        bool stream_acked;      /* the stream (TCP) ping was answered */
        uint32_t target;
        uint64_t seq;
        int64_t start_at, end_at;
        uint32_t n_relays;
        uint32_t *relays;       /* indirect_checks entries */
        bool *nacked;
    } probe;
    uint32_t *announce_to;      /* indirect_checks + 1 entries */
    int64_t probe_at;
    uint64_t periods;
    int64_t push_pull_at;
    int64_t push_pull_every;    /* push_pull_interval x pushPullScale(n) */
    int64_t gossip_at;          /* next gossip tick (due only while a
                                   broadcast is pending) */
    uint32_t *gossip_to;        /* gossip_nodes entries */

    uint32_t health;
    bool leaving;
    uint32_t view_size;
    uint64_t view_hash;         /* sum of view_term() over the view */
    dm_membership_stats stats;
};

void dm_swim_config_defaults(dm_swim_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->probe_interval_us = 1000000;
    cfg->probe_timeout_us = 500000;
    cfg->indirect_checks = 3;
    cfg->suspicion_mult = 4;
    cfg->suspicion_max_mult = 6;
    cfg->retransmit_mult = 4;
    cfg->push_pull_interval_us = 30000000;
    cfg->awareness_max = 8;
    cfg->dead_probe_every = 10;
    cfg->gossip_interval_us = 200000;
    cfg->gossip_nodes = 3;
    cfg->gossip_to_dead_us = 30000000;
    cfg->lifeguard = true;
    cfg->tcp_fallback = true;
}

/* memberlist's pushPullScale: the interval grows with log2 n beyond
 * PUSH_PULL_SCALE_THRESHOLD members, so that full-state exchanges do not
 * grow the per-member load with the cluster. */
int64_t dm_swim_push_pull_interval(const dm_swim_config *cfg)
{
    int64_t iv = cfg->push_pull_interval_us;
    if (cfg->n_members <= PUSH_PULL_SCALE_THRESHOLD)
        return iv;
    double mult = ceil(log2((double)cfg->n_members) - log2(PUSH_PULL_SCALE_THRESHOLD)) + 1;
    return iv * (int64_t)mult;
}

/* ------------------------------------------------------------ helpers */

static bool in_view_state(uint8_t s)
{
    return s == DM_MEMBER_ALIVE || s == DM_MEMBER_SUSPECT;
}

/* The view's digest is a sum of one well-mixed term per member in it, so a
 * change costs O(1) instead of a pass over all n members (n view changes of
 * n members each are 10^8 steps at 10,000 nodes). Sums of distinct members'
 * terms collide only by chance. */
static uint64_t view_term(uint32_t id)
{
    return dm_mix64(DM_FNV_BASIS ^ ((uint64_t)id + 1));
}

#define COLD_OF(entry, field) ((cold *)((char *)(entry) - offsetof(cold, field)))

/* The heaps grow with the cold records they index; like every GLib
 * allocation, running out of memory aborts. */
static void schedule(dm_heap *h, dm_heap_entry *e, int64_t at)
{
    if (dm_heap_schedule(h, e, at) < 0)
        g_error("membership: out of memory for a timer");
}

static gpointer cold_key(uint32_t id)
{
    return GUINT_TO_POINTER(id + 1);
}

/* id's cold record, or NULL when it has none. */
static cold *cold_find(const dm_membership *m, uint32_t id)
{
    if (!(m->mem[id].flags & COLD))
        return NULL;
    return g_hash_table_lookup(m->cold, cold_key(id));
}

/* id's cold record, created (empty, nothing queued) when it has none. */
static cold *cold_get(dm_membership *m, uint32_t id)
{
    cold *c = cold_find(m, id);
    if (c)
        return c;
    c = g_malloc0(sizeof *c + (m->k_confirm + 1) * sizeof c->accusers[0]);
    c->id = id;
    dm_heap_entry_init(&c->suspicion);
    dm_heap_entry_init(&c->bcast);
    dm_heap_entry_init(&c->relay);
    g_hash_table_insert(m->cold, cold_key(id), c);
    m->mem[id].flags |= COLD;
    return c;
}

/* Free c once nothing of it is queued any more. */
static void cold_release(dm_membership *m, cold *c)
{
    if (dm_heap_entry_queued(&c->suspicion) || dm_heap_entry_queued(&c->bcast) ||
        dm_heap_entry_queued(&c->relay))
        return;
    m->mem[c->id].flags &= (uint8_t)~COLD;
    g_hash_table_remove(m->cold, cold_key(c->id));   /* frees c */
}

static int64_t scaled(const dm_membership *m, int64_t us)
{
    return us * (int64_t)(m->health + 1);
}

/* memberlist's awareness.ApplyDelta: clamped to [0, awareness_max - 1];
 * classic SWIM (lifeguard off) has no local health. */
static void health_add(dm_membership *m, int32_t delta)
{
    if (!m->cfg.lifeguard)
        return;
    int64_t h = (int64_t)m->health + delta, top = m->cfg.awareness_max - 1;
    m->health = (uint32_t)(h < 0 ? 0 : h > top ? top : h);
}

static uint64_t new_seq(dm_membership *m, uint32_t relay_for)
{
    uint64_t seq = ++m->next_seq * SEQ_STRIDE;
    return relay_for == NONE ? seq : seq + SEQ_RELAY + relay_for;
}

/* The k-th member of the ALIVE set, or of the DEAD set. */
static mid *alive_at(const dm_membership *m, uint32_t k)
{
    return &m->sets[k];
}

static mid *dead_at(const dm_membership *m, uint32_t k)
{
    return &m->sets[m->cfg.n_members - 1 - k];
}

static void set_add(dm_membership *m, bool dead, uint32_t id)
{
    uint32_t *len = dead ? &m->n_dead : &m->n_alive;
    m->set_pos[id] = (mid)*len;
    *(dead ? dead_at(m, *len) : alive_at(m, *len)) = (mid)id;
    ++*len;
}

static void set_remove(dm_membership *m, bool dead, uint32_t id)
{
    uint32_t *len = dead ? &m->n_dead : &m->n_alive;
    uint32_t pos = m->set_pos[id];
    --*len;
    uint32_t last = *(dead ? dead_at(m, *len) : alive_at(m, *len));
    *(dead ? dead_at(m, pos) : alive_at(m, pos)) = (mid)last;
    m->set_pos[last] = (mid)pos;
}

static void alive_swap(dm_membership *m, uint32_t i, uint32_t j)
{
    mid a = *alive_at(m, i), b = *alive_at(m, j);
    *alive_at(m, i) = b;
    *alive_at(m, j) = a;
    m->set_pos[b] = (mid)i;
    m->set_pos[a] = (mid)j;
}

/* Move up to `want` random members of the ALIVE set other than `skip` to its
 * front (a partial Fisher-Yates, O(want)) and copy them to out. */
static uint32_t pick_alive(dm_membership *m, uint32_t want, uint32_t skip, uint32_t *out)
{
    uint32_t got = 0;
    for (uint32_t i = 0; i < m->n_alive && got < want; i++) {
        uint32_t j = i + (uint32_t)dm_prng_below(&m->prng, m->n_alive - i);
        alive_swap(m, i, j);
        if (*alive_at(m, i) != skip)
            out[got++] = *alive_at(m, i);
    }
    return got;
}

static void emit(dm_membership *m, dm_member_event_type type, uint32_t id)
{
    dm_member_event ev = { type, id, m->mem[id].incarnation };
    m->drv.event(m->user, &ev);
}

/* --------------------------------------------------- broadcast queue */

static int64_t bcast_key(uint32_t transmits, uint64_t id)
{
    return (int64_t)transmits * BCAST_TIER - (int64_t)id;
}

/* The gossip ticker's next tick after now (it keeps its phase). */
static void gossip_arm(dm_membership *m, int64_t now)
{
    int64_t iv = m->cfg.gossip_interval_us;
    if (m->gossip_at != NEVER && m->gossip_at <= now)
        m->gossip_at += ((now - m->gossip_at) / iv + 1) * iv;
}

/* (Re)queue our current view of member id: one pending broadcast per
 * member, so a newer update replaces the older with a fresh budget. The
 * first pending broadcast wakes the gossip ticker. */
static void broadcast(dm_membership *m, int64_t now, uint32_t id)
{
    if (dm_heap_peek(&m->bcasts) == NULL)
        gossip_arm(m, now);
    cold *c = cold_get(m, id);
    c->transmits = 0;
    c->bcast_id = ++m->next_bcast_id;
    schedule(&m->bcasts, &c->bcast, bcast_key(0, c->bcast_id));
}

static void add_update(dm_membership *m, dm_msg *msg, uint32_t id)
{
    dm_member_update *u = &msg->updates[msg->n_updates++];
    u->member = (uint16_t)id;
    u->accuser = m->mem[id].accuser;
    u->state = m->mem[id].state;
    u->incarnation = m->mem[id].incarnation;
}

/* Piggyback as many pending updates as fit: the buddy's first, then by
 * fewest transmissions and newest. Each taken update is requeued one tier
 * down, or retired once it has been sent transmit_limit times. */
static void fill_updates(dm_membership *m, dm_msg *msg, uint32_t buddy)
{
    cold *taken[DM_MSG_MAX_UPDATES];
    uint32_t n_taken = 0;
    if (buddy != NONE) {
        cold *b = cold_find(m, buddy);
        if (b && dm_heap_entry_queued(&b->bcast)) {
            dm_heap_remove(&m->bcasts, &b->bcast);
            taken[n_taken++] = b;
            add_update(m, msg, buddy);
        } else if (m->mem[buddy].state != DM_MEMBER_ALIVE) {
            add_update(m, msg, buddy);
        }
    }
    dm_heap_entry *e;
    while (msg->n_updates < DM_MSG_MAX_UPDATES && (e = dm_heap_pop(&m->bcasts)) != NULL) {
        cold *c = COLD_OF(e, bcast);
        taken[n_taken++] = c;
        add_update(m, msg, c->id);
    }
    for (uint32_t i = 0; i < n_taken; i++) {
        cold *c = taken[i];
        if (++c->transmits < m->transmit_limit)
            schedule(&m->bcasts, &c->bcast, bcast_key(c->transmits, c->bcast_id));
        else
            cold_release(m, c);
    }
    m->stats.updates_sent += msg->n_updates;
}

/* ------------------------------------------------------------ sending */

static void msg_init(const dm_membership *m, dm_msg *msg, dm_msg_type type, uint32_t to,
                     uint64_t value, uint32_t target)
{
    memset(msg, 0, sizeof *msg);
    msg->type = type;
    msg->from = (uint16_t)m->cfg.self;
    msg->to = (uint16_t)to;
    msg->value = value;
    msg->target = target;
}

static void transmit(dm_membership *m, dm_msg *msg)
{
    m->stats.sent[msg->type]++;
    m->drv.send(m->user, msg);
}

/* A PING, PING_REQ, ACK or NACK with piggybacked updates; `buddy` is the
 * member whose update goes first (the destination, or a PING_REQ's target). */
static void send_probe_msg(dm_membership *m, dm_msg_type type, uint32_t to, uint64_t value,
                           uint32_t target, uint32_t buddy)
{
    dm_msg msg;
    msg_init(m, &msg, type, to, value, target);
    fill_updates(m, &msg, buddy);
    transmit(m, &msg);
}

/* Our full state, DM_MSG_MAX_UPDATES members per SYNC chunk. */
static void send_state(dm_membership *m, uint32_t to, uint64_t flags)
{
    uint32_t n = m->cfg.n_members;
    for (uint32_t first = 0; first < n; first += DM_MSG_MAX_UPDATES) {
        bool last = n - first <= DM_MSG_MAX_UPDATES;
        dm_msg msg;
        msg_init(m, &msg, DM_MSG_SYNC, to, flags | (last ? DM_SYNC_LAST : 0), 0);
        for (uint32_t id = first; id < n && msg.n_updates < DM_MSG_MAX_UPDATES; id++)
            add_update(m, &msg, id);
        transmit(m, &msg);
    }
    m->stats.syncs++;
}

/* PING our pending news (a leave, a refutation) to indirect_checks + 1
 * random ALIVE members other than `skip` now, instead of waiting for our
 * next messages. */
static void announce(dm_membership *m, uint32_t skip)
{
    uint32_t got = pick_alive(m, m->cfg.indirect_checks + 1, skip, m->announce_to);
    for (uint32_t i = 0; i < got; i++)
        send_probe_msg(m, DM_MSG_PING, m->announce_to[i], new_seq(m, NONE), 0,
                       m->announce_to[i]);
}

/* ------------------------------------------------------ state changes */

static int64_t suspicion_timeout(const dm_membership *m, uint32_t confirmations)
{
    /* memberlist's newSuspicion: nobody is expected to confirm, so the
     * timeout is the floor */
    if (m->k_confirm == 0)
        return m->susp_min;
    double frac = log(confirmations + 1.0) / log(m->k_confirm + 1.0);
    double span = (double)(m->susp_max - m->susp_min);
    int64_t t = (int64_t)floor((double)m->susp_max - frac * span);
    return t < m->susp_min ? m->susp_min : t;
}

static void start_suspicion(dm_membership *m, int64_t now, uint32_t id, uint32_t accuser)
{
    cold *c = cold_get(m, id);
    c->suspect_start = now;
    c->confirmations = 0;
    c->n_accusers = 1;
    c->accusers[0] = (uint16_t)accuser;
    schedule(&m->suspicions, &c->suspicion, now + suspicion_timeout(m, 0));
}

/* Another member (or our own failed probe) suspects id at the same
 * incarnation: each distinct one shortens the timeout, up to K of them. */
static void confirm(dm_membership *m, int64_t now, uint32_t id, uint32_t accuser)
{
    cold *c = cold_find(m, id);   /* SUSPECT: its suspicion is queued */
    if (c->confirmations >= m->k_confirm)
        return;
    for (uint32_t i = 0; i < c->n_accusers; i++)
        if (c->accusers[i] == accuser)
            return;
    c->accusers[c->n_accusers++] = (uint16_t)accuser;
    c->confirmations++;
    schedule(&m->suspicions, &c->suspicion,
             c->suspect_start + suspicion_timeout(m, c->confirmations));
    /* spread this independent accusation: it confirms for others too */
    m->mem[id].accuser = (uint16_t)accuser;
    broadcast(m, now, id);
}

/* Take (state, incarnation) for id, keeping the sets, the view size and the
 * suspicion timer in step. Returns the previous state. */
static uint8_t set_state(dm_membership *m, int64_t now, uint32_t id, uint8_t state, uint32_t inc)
{
    member *mb = &m->mem[id];
    uint8_t old = mb->state;
    mb->incarnation = inc;
    if (old == state)
        return old;
    mb->state = state;
    mb->state_since = now;
    cold *c = old == DM_MEMBER_SUSPECT ? cold_find(m, id) : NULL;
    if (c) {
        dm_heap_remove(&m->suspicions, &c->suspicion);
        cold_release(m, c);
    }
    if (id != m->cfg.self) {
        if (old == DM_MEMBER_ALIVE || old == DM_MEMBER_DEAD)
            set_remove(m, old == DM_MEMBER_DEAD, id);
        if (state == DM_MEMBER_ALIVE || state == DM_MEMBER_DEAD)
            set_add(m, state == DM_MEMBER_DEAD, id);
    }
    if (in_view_state(state) != in_view_state(old)) {
        bool joins = in_view_state(state);
        m->view_size += joins ? 1 : -1u;
        m->view_hash += joins ? view_term(id) : -view_term(id);
    }
    return old;
}

/* The precedence rules of membership.h: does (s, i) override (s0, i0)? */
static bool overrides(uint8_t s0, uint32_t i0, uint8_t s, uint32_t i)
{
    switch (s) {
    case DM_MEMBER_ALIVE:
        return i > i0;
    case DM_MEMBER_SUSPECT:
        return (s0 == DM_MEMBER_ALIVE && i >= i0) || (s0 == DM_MEMBER_SUSPECT && i > i0);
    default:    /* DEAD, LEFT */
        return in_view_state(s0) ? i >= i0 : i > i0;
    }
}

/* An update about ourselves: refute any accusation at our incarnation or
 * above (only we raise it), unless we are leaving; queue our ALIVE again
 * for an older one. Returns true when it was an accusation to answer. */
static bool about_self(dm_membership *m, int64_t now, uint8_t state, uint32_t inc)
{
    member *me = &m->mem[m->cfg.self];
    if (m->leaving)
        return false;
    if (state == DM_MEMBER_ALIVE) {
        /* Others know a later life of ours (we restarted with too low a
         * number): adopt it, so our next refutation outbids it. */
        if (inc > me->incarnation)
            me->incarnation = inc;
        return false;
    }
    if (inc >= me->incarnation) {
        me->incarnation = inc + 1;
        health_add(m, 1);
        m->stats.refutations++;
    }
    broadcast(m, now, m->cfg.self);
    return true;
}

/* Does the update accuse a member of whom we know a later refutation? */
static bool missed_refutation(const member *mb, uint8_t state, uint32_t inc)
{
    return mb->state == DM_MEMBER_ALIVE && state != DM_MEMBER_ALIVE && inc < mb->incarnation;
}

static const dm_member_event_type event_of[] = {
    [DM_MEMBER_ALIVE] = DM_MEMBER_EV_ALIVE,
    [DM_MEMBER_SUSPECT] = DM_MEMBER_EV_SUSPECT,
    [DM_MEMBER_DEAD] = DM_MEMBER_EV_DEAD,
    [DM_MEMBER_LEFT] = DM_MEMBER_EV_LEFT,
};

/* Apply update (state, inc) about another member id, declared by `accuser`
 * (self for our own verdicts) -- not by whoever relayed it, or every relay
 * would count as an independent confirmation and shrink the suspicion
 * timeout to its minimum at once. Returns true when it changed our view. */
static bool apply(dm_membership *m, int64_t now, uint32_t accuser, uint32_t id, uint8_t state,
                  uint32_t inc)
{
    member *mb = &m->mem[id];
    if (!overrides(mb->state, mb->incarnation, state, inc)) {
        if (state == DM_MEMBER_SUSPECT && mb->state == DM_MEMBER_SUSPECT && inc == mb->incarnation)
            confirm(m, now, id, accuser);
        return false;
    }
    uint8_t old = set_state(m, now, id, state, inc);
    mb->accuser = (uint16_t)accuser;
    if (state == DM_MEMBER_SUSPECT)
        start_suspicion(m, now, id, accuser);
    broadcast(m, now, id);
    if (old != state)
        emit(m, event_of[state], id);
    return true;
}

/* ------------------------------------------------------------ probing */

/* Our probe's target answered: the probe is over (memberlist's probeNode
 * returns), and the next one starts when the unscaled ticker next fires,
 * so health only slows down probes that fail. A DEAD member's probe is no
 * check of our own health (memberlist never sends it). */
static void probe_success(dm_membership *m, int64_t now)
{
    m->probe.acked = true;
    if (!m->probe.dead_probe)
        health_add(m, -1);
    m->probe.phase = PROBE_IDLE;
    m->probe_at = MAX(now, m->probe.start_at + m->cfg.probe_interval_us);
}

/* The member to probe this period: every dead_probe_every periods a random
 * DEAD one (so healed partitions meet again), otherwise the next one in
 * view on the shuffled round-robin list. NONE when there is nobody. */
static uint32_t next_target(dm_membership *m, bool *dead_probe)
{
    m->periods++;
    *dead_probe = m->cfg.dead_probe_every && m->periods % m->cfg.dead_probe_every == 0 &&
                  m->n_dead > 0;
    if (*dead_probe)
        return *dead_at(m, (uint32_t)dm_prng_below(&m->prng, m->n_dead));
    for (uint32_t scanned = 0; scanned < m->order_len; scanned++) {
        if (m->order_pos == m->order_len) {
            dm_prng_shuffle_u16(&m->prng, m->order, m->order_len);
            m->order_pos = 0;
        }
        uint32_t id = m->order[m->order_pos++];
        if (in_view_state(m->mem[id].state))
            return id;
    }
    return NONE;
}

/* The period is probe_interval scaled by health (memberlist's probeNode
 * waits for relayed ACKs until then); the direct PING's timeout is not
 * scaled: waiting longer does not get a datagram through. */
static void probe_start(dm_membership *m, int64_t now)
{
    bool dead_probe;
    uint32_t target = next_target(m, &dead_probe);
    m->probe.start_at = now;
    m->probe.end_at = now + scaled(m, m->cfg.probe_interval_us);
    if (target == NONE) {
        m->probe.phase = PROBE_IDLE;
        m->probe_at = now + m->cfg.probe_interval_us;
        return;
    }
    m->probe.phase = PROBE_DIRECT;
    m->probe.acked = false;
    m->probe.stream_acked = false;
    m->probe.dead_probe = dead_probe;
    m->probe.target = target;
    m->probe.seq = new_seq(m, NONE);
    m->probe.n_relays = 0;
    m->probe_at = now + m->cfg.probe_timeout_us;
    m->stats.probes++;
    send_probe_msg(m, DM_MSG_PING, target, m->probe.seq, 0, target);
}

/* No ACK within the probe timeout: ask K random ALIVE members to try, and
 * (memberlist's TCP fallback) PING the target over a stream, answered by
 * the end of the period or not at all. A DEAD member's probe stays direct:
 * it is a chance to meet, not a check. */
static void probe_indirect(dm_membership *m)
{
    m->probe.phase = PROBE_INDIRECT;
    m->probe_at = m->probe.end_at;
    if (m->probe.dead_probe)
        return;
    m->probe.n_relays = pick_alive(m, m->cfg.indirect_checks, m->probe.target, m->probe.relays);
    if (m->probe.n_relays > 0)
        m->stats.indirect_probes++;
    for (uint32_t i = 0; i < m->probe.n_relays; i++) {
        m->probe.nacked[i] = false;
        send_probe_msg(m, DM_MSG_PING_REQ, m->probe.relays[i], m->probe.seq, m->probe.target,
                       m->probe.target);
    }
    if (m->cfg.tcp_fallback) {
        dm_msg msg;
        msg_init(m, &msg, DM_MSG_PING, m->probe.target, m->probe.seq | DM_SEQ_STREAM, 0);
        m->stats.stream_pings++;
        transmit(m, &msg);
    }
}

/* The period is over without an ACK. A stream ACK saves the target (and
 * counts as a successful probe); otherwise it is SUSPECT, and our health
 * takes the NACKs that did not come, or 1 when no relay was asked
 * (Lifeguard: relays that cannot even NACK point at us). */
static void probe_finish(dm_membership *m, int64_t now)
{
    if (m->probe.acked || m->probe.dead_probe)
        return;
    if (m->probe.stream_acked) {
        m->stats.stream_saves++;
        health_add(m, -1);
        return;
    }
    int32_t missed = 0;
    for (uint32_t i = 0; i < m->probe.n_relays; i++)
        missed += !m->probe.nacked[i];
    health_add(m, m->probe.n_relays > 0 ? missed : 1);
    m->stats.probes_failed++;
    uint32_t target = m->probe.target;
    if (in_view_state(m->mem[target].state) &&
        apply(m, now, m->cfg.self, target, DM_MEMBER_SUSPECT, m->mem[target].incarnation)) {
        m->stats.suspicions++;
        /* tell the accused (its update goes first), so it can refute */
        send_probe_msg(m, DM_MSG_PING, target, new_seq(m, NONE), 0, target);
    }
}

static void probe_timer(dm_membership *m, int64_t now)
{
    switch (m->probe.phase) {
    case PROBE_DIRECT:
        probe_indirect(m);
        return;
    case PROBE_INDIRECT:
        probe_finish(m, now);
        /* The next period starts as this one ends (memberlist's ticker
         * has a tick buffered by then). */
        break;
    case PROBE_IDLE:
        break;
    }
    probe_start(m, now);
}

static bool probe_waiting_for(const dm_membership *m, uint32_t target)
{
    return m->probe.phase != PROBE_IDLE && !m->probe.acked && m->probe.target == target;
}

/* ------------------------------------------------------------ gossip */

/* memberlist's gossip targets: ALIVE, SUSPECT, or DEAD for at most
 * gossip_to_dead (so the news of its death may still reach a member that
 * is only cut off). */
static bool gossip_ok(const dm_membership *m, int64_t now, uint32_t id)
{
    const member *mb = &m->mem[id];
    if (id == m->cfg.self)
        return false;
    if (mb->state == DM_MEMBER_DEAD)
        return now - mb->state_since <= m->cfg.gossip_to_dead_us;
    return in_view_state(mb->state);
}

/* Up to gossip_nodes distinct random gossip targets into m->gossip_to, as
 * kRandomNodes picks them: random tries (at most 3n) in a large cluster, an
 * exhaustive draw (reservoir sampling, O(n)) when n < 3k, where random tries
 * easily miss the few that qualify. */
static uint32_t pick_gossip(dm_membership *m, int64_t now)
{
    uint32_t n = m->cfg.n_members, k = MIN(m->cfg.gossip_nodes, n), got = 0, seen = 0;
    uint32_t *out = m->gossip_to;
    if (n < 3 * (uint64_t)k) {
        for (uint32_t id = 0; id < n; id++) {
            if (!gossip_ok(m, now, id))
                continue;
            seen++;
            if (got < k) {
                out[got++] = id;
            } else {
                uint64_t j = dm_prng_below(&m->prng, seen);
                if (j < k)
                    out[j] = id;
            }
        }
        return got;
    }
    for (uint64_t tries = 0; tries < 3 * (uint64_t)n && got < k; tries++) {
        uint32_t id = (uint32_t)dm_prng_below(&m->prng, n);
        bool dup = false;
        for (uint32_t i = 0; i < got && !dup; i++)
            dup = out[i] == id;
        if (!dup && gossip_ok(m, now, id))
            out[got++] = id;
    }
    return got;
}

/* A gossip tick with broadcasts pending: one GOSSIP to each target, as
 * long as any broadcast is left (memberlist stops the round there). */
static void gossip(dm_membership *m, int64_t now)
{
    uint32_t got = pick_gossip(m, now);
    for (uint32_t i = 0; i < got && dm_heap_peek(&m->bcasts); i++) {
        dm_msg msg;
        msg_init(m, &msg, DM_MSG_GOSSIP, m->gossip_to[i], 0, 0);
        fill_updates(m, &msg, m->gossip_to[i]);
        transmit(m, &msg);
    }
}

/* --------------------------------------------------------- push/pull */

/* An ALIVE partner, as memberlist; but one time in four a DEAD one when
 * there is any (and a DEAD one when none is ALIVE), so that two sides of a
 * healed partition, each holding the other DEAD, merge again. */
static void push_pull(dm_membership *m, int64_t now)
{
    m->push_pull_at = now + m->push_pull_every;
    bool dead = m->n_dead > 0 && (m->n_alive == 0 || dm_prng_below(&m->prng, 4) == 0);
    if (dead)
        send_state(m, *dead_at(m, (uint32_t)dm_prng_below(&m->prng, m->n_dead)), DM_SYNC_REPLY);
    else if (m->n_alive > 0)
        send_state(m, *alive_at(m, (uint32_t)dm_prng_below(&m->prng, m->n_alive)), DM_SYNC_REPLY);
}

/* -------------------------------------------------------------- API */

static bool config_valid(const dm_swim_config *c)
{
    return c->n_members >= 1 && c->n_members <= DM_MAX_MEMBERS && c->self < c->n_members &&
           c->probe_timeout_us > 0 && c->probe_interval_us > c->probe_timeout_us &&
           c->indirect_checks < DM_MAX_MEMBERS && c->suspicion_mult >= 1 &&
           c->suspicion_max_mult >= 1 && c->retransmit_mult >= 1 &&
           c->push_pull_interval_us >= 0 && c->awareness_max >= 1 &&
           c->gossip_interval_us >= 0 && c->gossip_to_dead_us >= 0 &&
           /* health scaling and the suspicion timeouts (log10 n < 4) must
            * not overflow the time arithmetic */
           c->probe_interval_us <= INT64_MAX / 4 / c->awareness_max &&
           4.0 * c->suspicion_mult * c->suspicion_max_mult * (double)c->probe_interval_us <
               0x1p61 &&
           /* pushPullScale multiplies by at most 1 + log2(DM_MAX_MEMBERS) */
           c->push_pull_interval_us <= INT64_MAX / 64;
}

void dm_membership_free(dm_membership *m)
{
    if (!m)
        return;
    dm_heap_clear(&m->suspicions);
    dm_heap_clear(&m->relays);
    dm_heap_clear(&m->bcasts);
    if (m->cold)
        g_hash_table_destroy(m->cold);
    g_free(m->mem);
    g_free(m->order);
    g_free(m->sets);
    g_free(m->set_pos);
    g_free(m->probe.relays);
    g_free(m->probe.nacked);
    g_free(m->announce_to);
    g_free(m->gossip_to);
    g_free(m);
}

int dm_membership_new(const dm_swim_config *cfg, const dm_membership_driver *drv, void *user,
                      int64_t now, dm_membership **out)
{
    if (!cfg || !drv || !drv->send || !drv->event || !out || !config_valid(cfg))
        return -DM_EINVAL;
    dm_membership *m = g_try_new0(dm_membership, 1);
    if (!m)
        return -DM_ENOMEM;
    uint32_t n = cfg->n_members;
    m->cfg = *cfg;
    m->drv = *drv;
    m->user = user;
    dm_prng_seed(&m->prng, cfg->seed);
    dm_heap_init(&m->suspicions);
    dm_heap_init(&m->relays);
    dm_heap_init(&m->bcasts);
    /* memberlist's suspectNode: K = SuspicionMult - 2, none when fewer than
     * K members besides the accused and ourselves could confirm; classic
     * SWIM has a fixed timeout */
    m->k_confirm = cfg->suspicion_mult > 2 ? cfg->suspicion_mult - 2 : 0;
    if (n < m->k_confirm + 2 || !cfg->lifeguard)
        m->k_confirm = 0;
    /* The relays of one probe, or the members we announce news to: at most
     * the n - 1 others, and at least one slot so the arrays exist. */
    uint32_t relay_cap = MAX(1u, MIN(cfg->indirect_checks + 1, n));
    m->mem = g_try_new0(member, n);
    m->cold = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    m->order = g_try_new(mid, n);
    m->sets = g_try_new(mid, n);
    m->set_pos = g_try_new(mid, n);
    m->probe.relays = g_try_new(uint32_t, relay_cap);
    m->probe.nacked = g_try_new(bool, relay_cap);
    m->announce_to = g_try_new(uint32_t, relay_cap);
    m->gossip_to = g_try_new(uint32_t, MAX(1u, MIN(cfg->gossip_nodes, n)));
    if (!m->mem || !m->order || !m->sets || !m->set_pos ||
        !m->probe.relays || !m->probe.nacked || !m->announce_to || !m->gossip_to) {
        dm_membership_free(m);
        return -DM_ENOMEM;
    }
    for (uint32_t id = 0; id < n; id++) {
        member *mb = &m->mem[id];
        mb->state = DM_MEMBER_ALIVE;
        mb->accuser = (uint16_t)id;
        mb->state_since = now;
        if (id == cfg->self) {
            mb->incarnation = cfg->incarnation;
            mb->flags = JOINED;
            continue;
        }
        m->order[m->order_len++] = (mid)id;
        set_add(m, false, id);
    }
    m->view_size = n;
    for (uint32_t id = 0; id < n; id++)
        m->view_hash += view_term(id);

    double scale = MAX(1.0, log10((double)n));
    m->susp_min = (int64_t)((double)cfg->suspicion_mult * scale * (double)cfg->probe_interval_us);
    m->susp_max = m->susp_min * (int64_t)cfg->suspicion_max_mult;
    m->nack_after = MIN(cfg->probe_timeout_us, cfg->probe_interval_us - cfg->probe_timeout_us) *
                    4 / 5;
    m->transmit_limit = cfg->retransmit_mult * (uint32_t)ceil(log10((double)n + 1));

    /* Random phases, so that members do not probe and push in lockstep. */
    dm_prng_shuffle_u16(&m->prng, m->order, m->order_len);
    m->probe.phase = PROBE_IDLE;
    m->probe_at = now + (int64_t)dm_prng_below(&m->prng, (uint64_t)cfg->probe_interval_us);
    m->push_pull_every = dm_swim_push_pull_interval(cfg);
    m->push_pull_at = cfg->push_pull_interval_us > 0
        ? now + (int64_t)dm_prng_below(&m->prng, (uint64_t)cfg->push_pull_interval_us)
        : NEVER;
    m->gossip_at = cfg->gossip_interval_us > 0 && cfg->gossip_nodes > 0
        ? now + (int64_t)dm_prng_below(&m->prng, (uint64_t)cfg->gossip_interval_us)
        : NEVER;
    /* A restarted member announces its new life: members that never noticed
     * the restart still hold its old incarnation, and would otherwise learn
     * the new one only at a push/pull or by suspecting it. */
    if (cfg->incarnation > 0)
        broadcast(m, now, cfg->self);
    *out = m;
    return 0;
}

/* A message from member_id; as_ack: it also answers a probe of it. */
static void heard(dm_membership *m, int64_t now, uint32_t member_id, bool as_ack)
{
    if (member_id >= m->cfg.n_members || member_id == m->cfg.self)
        return;
    member *mb = &m->mem[member_id];
    if (!(mb->flags & JOINED)) {
        mb->flags |= JOINED;
        emit(m, DM_MEMBER_EV_JOIN, member_id);
    }
    if (as_ack && probe_waiting_for(m, member_id))
        probe_success(m, now);
}

void dm_membership_heard(dm_membership *m, int64_t now, uint32_t member_id)
{
    /* Every lock message lands here, and nearly always from a member that
     * joined long ago and is not being probed: that answer without a call
     * or a register spill. */
    if (member_id < m->cfg.n_members && member_id != m->cfg.self &&
        (m->mem[member_id].flags & JOINED) && !probe_waiting_for(m, member_id))
        return;
    heard(m, now, member_id, true);
}

/* The checks memory safety needs, on top of dm_msg_validate. */
static bool well_formed(const dm_membership *m, const dm_msg *msg)
{
    uint32_t n = m->cfg.n_members;
    if (msg->from >= n || msg->from == m->cfg.self || msg->n_updates > DM_MSG_MAX_UPDATES)
        return false;
    if (msg->type != DM_MSG_PING && msg->type != DM_MSG_SYNC && msg->type != DM_MSG_GOSSIP &&
        msg->target >= n)
        return false;
    /* An accuser outside the membership would be stored and re-broadcast,
     * and every message carrying it would then fail dm_msg_validate. */
    for (uint32_t i = 0; i < msg->n_updates; i++)
        if (msg->updates[i].member >= n || msg->updates[i].accuser >= n ||
            msg->updates[i].state > DM_MEMBER_STATE_MAX)
            return false;
    return true;
}

static void on_ping_req(dm_membership *m, int64_t now, const dm_msg *msg)
{
    uint32_t requester = msg->from, target = msg->target;
    if (target == m->cfg.self || target == requester)
        return;
    /* One relay per requester: a newer request means its older probe is
     * over, so it replaces the older relay. */
    cold *r = cold_get(m, requester);
    r->relay_their_seq = msg->value;
    r->relay_target = target;
    r->relay_our_seq = new_seq(m, requester);
    schedule(&m->relays, &r->relay, now + m->nack_after);
    send_probe_msg(m, DM_MSG_PING, target, r->relay_our_seq, 0, target);
}

/* The relay we ran for r's requester is over: pass on the target's ACK,
 * or NACK at the deadline (classic SWIM has no NACK: then nothing). */
static void end_relay(dm_membership *m, cold *r, dm_msg_type answer)
{
    uint32_t requester = r->id, target = r->relay_target;
    uint64_t their_seq = r->relay_their_seq;
    dm_heap_remove(&m->relays, &r->relay);
    cold_release(m, r);
    if (answer == DM_MSG_ACK || m->cfg.lifeguard)
        send_probe_msg(m, answer, requester, their_seq, target, requester);
}

static void on_ack(dm_membership *m, int64_t now, const dm_msg *msg)
{
    uint64_t seq = msg->value & ~DM_SEQ_STREAM, low = seq % SEQ_STRIDE;
    if (low >= SEQ_RELAY) {
        uint32_t requester = (uint32_t)(low - SEQ_RELAY);
        if (requester >= m->cfg.n_members)
            return;
        cold *r = cold_find(m, requester);
        if (!r || !dm_heap_entry_queued(&r->relay) || r->relay_our_seq != msg->value)
            return;
        end_relay(m, r, DM_MSG_ACK);
        return;
    }
    if (seq != m->probe.seq || !probe_waiting_for(m, msg->target))
        return;
    /* memberlist looks at the TCP ping's answer only once the period is
     * over, after the datagram ACKs had their chance */
    if (dm_msg_is_stream(msg))
        m->probe.stream_acked = true;
    else
        probe_success(m, now);
}

static void on_nack(dm_membership *m, const dm_msg *msg)
{
    if (msg->value != m->probe.seq || !probe_waiting_for(m, msg->target))
        return;
    for (uint32_t i = 0; i < m->probe.n_relays; i++)
        if (m->probe.relays[i] == msg->from)
            m->probe.nacked[i] = true;
}

int dm_membership_receive(dm_membership *m, int64_t now, const dm_msg *msg)
{
    switch (msg->type) {
    case DM_MSG_PING: case DM_MSG_PING_REQ: case DM_MSG_ACK: case DM_MSG_NACK: case DM_MSG_SYNC:
    case DM_MSG_GOSSIP:
        break;
    default:
        return -DM_ETYPE;
    }
    if (!well_formed(m, msg))
        return -DM_EMALFORMED;
    uint32_t from = msg->from, self = m->cfg.self;
    uint64_t refutations = m->stats.refutations;
    bool accused = false;
    m->stats.received[msg->type]++;
    /* a stream ACK counts through on_ack, at the end of the period */
    heard(m, now, from, !dm_msg_is_stream(msg));
    bool sync = msg->type == DM_MSG_SYNC;
    for (uint32_t i = 0; i < msg->n_updates; i++) {
        const dm_member_update *u = &msg->updates[i];
        uint8_t state = sync && u->state == DM_MEMBER_DEAD ? DM_MEMBER_SUSPECT : u->state;
        if (u->member == self)
            accused |= about_self(m, now, state, u->incarnation);
        else if (!sync && missed_refutation(&m->mem[u->member], state, u->incarnation))
            broadcast(m, now, u->member);
        else
            apply(m, now, u->accuser, u->member, state, u->incarnation);
    }
    /* the sender will hear from us anyway: an ACK, or our state once its
     * push (every chunk says REPLY) is complete */
    bool answered = msg->type == DM_MSG_PING || (sync && (msg->value & DM_SYNC_REPLY));
    /* Replies go out after the updates are applied, so that a refutation
     * they provoked rides on the reply to whoever accused us. */
    switch (msg->type) {
    case DM_MSG_PING:
        if (dm_msg_is_stream(msg)) {
            dm_msg ack;
            msg_init(m, &ack, DM_MSG_ACK, from, msg->value, self);
            transmit(m, &ack);
        } else {
            send_probe_msg(m, DM_MSG_ACK, from, msg->value, self, from);
        }
        break;
    case DM_MSG_PING_REQ:
        on_ping_req(m, now, msg);
        break;
    case DM_MSG_ACK:
        on_ack(m, now, msg);
        break;
    case DM_MSG_NACK:
        on_nack(m, msg);
        break;
    case DM_MSG_GOSSIP:
        break;
    default:    /* SYNC */
        if (answered && (msg->value & DM_SYNC_LAST))
            send_state(m, from, 0);
        break;
    }
    if (accused && !answered)
        send_probe_msg(m, DM_MSG_PING, from, new_seq(m, NONE), 0, from);
    if (m->stats.refutations != refutations)
        announce(m, from);
    return 0;
}

int64_t dm_membership_next_deadline(const dm_membership *m)
{
    int64_t at = MIN(m->probe_at, m->push_pull_at);
    if (dm_heap_peek(&m->bcasts) && m->gossip_at < at)
        at = m->gossip_at;
    const dm_heap_entry *s = dm_heap_peek(&m->suspicions), *r = dm_heap_peek(&m->relays);
    if (s && s->at < at)
        at = s->at;
    if (r && r->at < at)
        at = r->at;
    return at;
}

void dm_membership_tick(dm_membership *m, int64_t now)
{
    /* One due timer at a time, earliest first (ties: suspicions, relays,
     * probe, push/pull, gossip), since each may change what the others do. Each
     * step retires its timer or moves it past now, so the loop ends. */
    for (;;) {
        dm_heap_entry *s = dm_heap_peek(&m->suspicions), *r = dm_heap_peek(&m->relays);
        int64_t at = dm_membership_next_deadline(m);
        if (at > now)
            return;
        if (s && s->at == at) {
            uint32_t id = COLD_OF(dm_heap_pop(&m->suspicions), suspicion)->id;
            /* DEAD overrides SUSPECT at the same incarnation; leaving
             * SUSPECT releases the record. */
            if (apply(m, now, m->cfg.self, id, DM_MEMBER_DEAD, m->mem[id].incarnation))
                m->stats.deaths++;
        } else if (r && r->at == at) {
            end_relay(m, COLD_OF(r, relay), DM_MSG_NACK);
        } else if (m->probe_at == at) {
            probe_timer(m, now);
        } else if (m->push_pull_at == at) {
            push_pull(m, now);
        } else {
            gossip(m, now);
            gossip_arm(m, now);
        }
    }
}

void dm_membership_leave(dm_membership *m, int64_t now)
{
    if (m->leaving)
        return;
    uint32_t self = m->cfg.self;
    set_state(m, now, self, DM_MEMBER_LEFT, m->mem[self].incarnation + 1);
    m->leaving = true;
    broadcast(m, now, self);
    m->probe.phase = PROBE_IDLE;
    m->probe_at = NEVER;
    m->push_pull_at = NEVER;
    /* the queued LEFT rides on these PINGs, and on our ACKs afterwards */
    announce(m, NONE);
}

void dm_membership_rejoin(dm_membership *m, int64_t now)
{
    if (!m->leaving)
        return;
    uint32_t self = m->cfg.self;
    m->leaving = false;
    set_state(m, now, self, DM_MEMBER_ALIVE, m->mem[self].incarnation + 1);
    broadcast(m, now, self);
    m->probe.phase = PROBE_IDLE;
    m->probe_at = now;
    /* What changed while we were away comes with a push/pull, now. */
    m->push_pull_at = m->cfg.push_pull_interval_us > 0 ? now : NEVER;
    announce(m, NONE);
}

void dm_membership_forget(dm_membership *m, int64_t now, uint32_t member_id)
{
    if (member_id >= m->cfg.n_members || member_id == m->cfg.self)
        return;
    set_state(m, now, member_id, DM_MEMBER_LEFT, m->mem[member_id].incarnation);
}

void dm_membership_info(const dm_membership *m, uint32_t member_id, dm_member_info *out)
{
    memset(out, 0, sizeof *out);
    if (member_id >= m->cfg.n_members) {
        out->state = DM_MEMBER_DEAD;    /* not a member: never in anyone's view */
        return;
    }
    const member *mb = &m->mem[member_id];
    out->state = mb->state;
    out->incarnation = mb->incarnation;
    out->joined = mb->flags & JOINED;
    out->state_since = mb->state_since;
}

bool dm_membership_is_alive(const dm_membership *m, uint32_t member_id)
{
    return member_id < m->cfg.n_members && m->mem[member_id].state == DM_MEMBER_ALIVE;
}

void dm_membership_not_alive(const dm_membership *m, uint8_t *out)
{
    for (uint32_t i = 0; i < m->cfg.n_members; i++)
        out[i] = m->mem[i].state != DM_MEMBER_ALIVE;
}

bool dm_membership_in_view(const dm_membership *m, uint32_t member_id)
{
    return member_id < m->cfg.n_members && in_view_state(m->mem[member_id].state);
}

uint32_t dm_membership_view_size(const dm_membership *m)
{
    return m->view_size;
}

uint64_t dm_membership_view_hash(const dm_membership *m)
{
    return m->view_hash;
}

uint32_t dm_membership_incarnation(const dm_membership *m)
{
    return m->mem[m->cfg.self].incarnation;
}

uint32_t dm_membership_health(const dm_membership *m)
{
    return m->health;
}

const dm_membership_stats *dm_membership_get_stats(const dm_membership *m)
{
    return &m->stats;
}
