/* dmutex core: one node of the distributed mutex (requester and arbiter).
 *
 * Structure: every lock name has one lock_state holding this node's arbiter
 * role for that name and, when the application asked for it, the current
 * request attempt. Each lock_state sits in a min-heap keyed by the earliest
 * time it needs service (lease expiry, retransmission, renewal, timeout);
 * the node's next deadline is the top of that heap.
 *
 * Every entry point starts with begin(): it checks the leases of held locks
 * first (so "lost" precedes anything else after a pause), then services what
 * is due. Messages to self are queued and handled in-process after the input
 * that produced them. Events are queued and delivered only by receive() and
 * tick(), so an application call never sees its own outcome re-entrantly.
 */
#include "node.h"

#include <string.h>
#include <glib.h>

#include "error.h"
#include "heap.h"
#include "prng.h"
#include "reconfig.h"
#include "reconfig_wire.h"
#include "peermap.h"
#include "rtt.h"

#define PERSIST_MAGIC_V2 0x444d5032u   /* "DMP2": no flags, read for compatibility */
#define PERSIST_LEN_V2 20
#define PERSIST_MAGIC 0x444d5033u      /* "DMP3" */
#define PERSIST_LEN 24
#define PERSIST_RECOVERING 0x1u        /* the token floor was not yet recovered */
#define PERSIST_MAGIC_EPOCHS 0x444d5034u   /* "DMP4": DMP3, then the epoch policy's state */
#define PERSIST_LEN_EPOCHS (PERSIST_LEN + 4)
#define SELF_PREFERENCE (1 << 20)
/* KEEP transmissions remembered per arbiter: a KEPT answers one of them by
 * its round, which gives both an exact round-trip sample and the lease
 * basis, so a late KEPT still counts (issue: high round trips). */
#define KEEP_HISTORY 8
/* Re-sends of a REQUEST to an arbiter that already answered back off up to
 * this many doublings (the arbiter's INQUIRE probes do the waiting). */
#define REQUEST_BACKOFF_MAX 6
/* A silent arbiter is routed around once this many REQUESTs (or RECOVERs)
 * went unanswered: an adaptive timeout is sometimes too short. */
#define SUSPECT_TRANSMISSIONS 2
/* A fence round unanswered after this many KEEPs routes around the arbiter. */
#define FENCE_TRANSMISSIONS 3
/* A RELEASE of a grant is sent at most this often before the arbiter's
 * INQUIRE probe is left to find out. */
#define RELEASE_TRANSMISSIONS 4
/* Tokens an arbiter reserves per grant for a grant_cache holder's re-uses
 * (at most token_stride: one persist covers a reservation). A holder that
 * used them all releases and acquires anew. */
#define GRANT_REUSES 64

typedef struct request_id {
    uint32_t node;
    uint64_t attempt;
    uint64_t ts;
    bool try_once;        /* a try-lock's: answered HELD once the grantee is fenced */
    bool reserve;         /* DM_REQUEST_RESERVE: reserve tokens for a cached re-use */
} request_id;

typedef struct keep_sent {
    uint32_t round;       /* 0: slot unused */
    uint64_t token;
    int64_t at;
} keep_sent;

/* Requester side: what this attempt knows of one arbiter it contacted.
 * The fields every reschedule reads (req_next_due) come first, in one
 * cache line; the KEEP history and the grant's bookkeeping follow. */
typedef struct arbiter_entry {
    uint32_t node;
    bool in_quorum;       /* false: contacted before a re-formation dropped it */
    bool granted;
    bool heard;           /* any answer from it during this attempt */
    bool keep_pending;    /* a KEEP series awaits its acknowledgement */
    int64_t retry_at;     /* next REQUEST retransmission while not granted */
    int64_t renew_from;   /* schedules the next KEEP (not a safety basis) */
    int64_t keep_last_sent;
    uint32_t requests;    /* REQUESTs sent since it last answered (back-off) */
    uint32_t keep_tx;     /* transmissions in the pending series */
    bool contended;       /* it INQUIREd about the current grant: others wait there */
    uint64_t grant;       /* current grant id when granted */
    uint64_t floor;       /* grants <= floor were yielded or revoked */
    uint64_t inquired;    /* INQUIRE that overtook its GRANT */
    uint64_t acked_token; /* the current token, once this arbiter acknowledged it
                             for the current grant; 0 before */
    uint64_t reserved;    /* GRANT_RESERVED: its counter covers every token up to
                             this for the current grant; 0: no reservation */
    uint64_t reserve_span;   /* ... reserved - grant at the grant: the arbiter keeps
                                its counter that far above every token a KEEP of
                                the grant announces (arb_keep) */
    int64_t basis;        /* send time of the latest acknowledged KEEP of the
                             current grant (DM_NEVER: none): the lease basis */
    keep_sent sent[KEEP_HISTORY];   /* recent KEEP transmissions, by round */
} arbiter_entry;

typedef enum phase {
    PHASE_IDLE = 0,
    PHASE_ACQUIRING,      /* collecting grants from the quorum */
    PHASE_FENCING,        /* all granted; waiting for the quorum to acknowledge the token */
    PHASE_HELD,
    PHASE_CACHED,         /* grant_cache: unlocked, the grants kept for a re-use */
} phase;

typedef struct attempt {
    phase phase;
    uint64_t id;
    uint64_t ts;
    int64_t requested_at;
    int64_t deadline;
    GArray *entries;      /* arbiter_entry */
    uint32_t quorum_size;
    uint64_t token;
    uint32_t next_round;
    int64_t lease_end;
    uint32_t messages;
    int last_error;       /* why quorum formation last failed, for the FAILED reason */
    bool try_once;        /* dm_node_try_lock: REQUESTs say so; HELD ends the attempt */
    /* grant_cache: the id the application knows the hold by (id above is
     * the arbiters'; a re-use of kept grants gets an id of its own, since
     * consumers match outcomes by id), and while PHASE_CACHED the end of
     * the wait for a re-use and the last token the quorum reserved. */
    uint64_t app_id;
    int64_t cache_until;
    uint64_t cache_ceiling;
} attempt;

typedef struct arbiter {
    bool granted;
    request_id grantee;
    uint64_t grant;
    int64_t lease_until;
    bool fenced;          /* grantee announced its token: it will not yield */
    int64_t inquire_at;   /* next INQUIRE, DM_NEVER when nobody waits */
    bool asked_yield;     /* the last INQUIRE asked the grantee to yield */
    uint32_t inquiries;   /* probes sent for this grant (their back-off) */
    uint32_t yield_asks;  /* INQUIREs asking this grant to yield */
    GArray *queue;        /* request_id, highest priority first */
    uint64_t *finished;   /* per requester: highest attempt that ended here */
    int64_t delay_until;  /* lock_delay: no grant before this (0: none) */
    request_id lapsed;    /* ... after this grantee's grant lapsed; its RELEASE ends it */
    uint64_t reserved;    /* the counter reserved for the current grant's re-uses (0: none) */
    uint64_t reserve_span;   /* ... reserved - grant at the grant (arb_keep) */
} arbiter;

/* A RELEASE of a grant, re-sent until the arbiter acknowledges it: a lost
 * RELEASE would otherwise hold the next requester until the arbiter's next
 * INQUIRE, which is about as long as the hold itself. */
typedef struct releasing {
    uint32_t node;
    uint64_t attempt;
    uint32_t tx;
    int64_t retry_at;
} releasing;

/* A lock state's name is allocated with at least this many bytes. */
#define NAME_BLOCK 16

typedef struct lock_state {
    dm_heap_entry due;
    arbiter arb;
    attempt req;
    GArray *releasing;    /* releasing, NULL when none */
    int64_t idle_since;
    int64_t margin_until; /* the lost margin of a hold that ran out: until then
                             nothing tells its arbiters to let it go early */
    int64_t cache_off_until;   /* grant_cache: others wanted the name lately, so
                                  grants are neither reserved nor kept until then */
    /* Last and together: a lookup reads the key, the length and the name
     * from one place rather than chasing a separate string. */
    uint64_t key;         /* dm_hash_str(name): selects the name's placement */
    uint8_t name_len;
    char name[];          /* NUL-terminated, allocated with the state */
} lock_state;

/* What recovery (recovery_run) knows of one member: allocated, for every
 * member, when a node starts without its state, and freed once the token
 * floor is persisted, so that the nodes that are not recovering -- nearly
 * all of them -- hold nothing per member for it. */
typedef struct rec_member {
    int64_t sent_at;      /* first RECOVER to it */
    int64_t last_sent;
    uint32_t tx;
    uint8_t state;        /* REC_* */
} rec_member;

/* The per-peer entries (core/peermap.h: the id first). A peer without an
 * entry has the all-zero value: no sample and no back-off, no PING
 * outstanding, suspected_until = avoid_until = 0. */
typedef struct peer_rtt {
    uint32_t id;
    dm_rtt rtt;
} peer_rtt;

typedef struct peer_ping {
    uint32_t id;
    int64_t at;           /* when our last direct SWIM PING to it left */
    uint64_t seq;         /* its probe sequence, which the ACK echoes */
} peer_ping;

typedef struct peer_suspect {
    uint32_t id;
    int64_t suspected_until;   /* cleared by any message from it */
    int64_t avoid_until;       /* said RECOVERING; not cleared by its traffic */
} peer_suspect;

typedef struct pending_event {
    dm_event ev;
    char name[DM_NAME_MAX + 1];
} pending_event;

/* Laid out by use: what every received message and tick reads comes first,
 * in about four cache lines (then cfg, whose first line holds the ids and
 * timings read as often); recovery, reconfiguration and the rest follow.
 * A simulation switches between many nodes at every event, so each line a
 * message touches is usually a miss. */
struct dm_node {
    /* -- hot: every input */
    dm_driver drv;
    void *user;
    dm_membership *members;     /* NULL without cfg.membership */
    dm_quorum *quorum;          /* over all members (AE) or the view (MEMBERLIST) */
    int64_t now;                /* time of the latest input */
    uint64_t clock;
    dm_heap deadlines;
    GPtrArray *held;            /* lock_state in PHASE_HELD */
    int64_t held_lease_min;     /* no lease in held ends before this (renewals only move
                                   ends later): begin() looks at them only from then on */
    /* Messages addressed to self, handled from local_next up to local_len.
     * Every slot below local_alloc holds an allocated dm_msg, the ones from
     * local_len on being spares for reuse: no malloc and no GLib call per
     * message (a few percent of a simulation went to GPtrArray calls). */
    dm_msg **local;
    uint32_t local_len, local_next, local_alloc, local_cap;
    uint32_t by_key_cap;        /* a power of two, at least twice the locks; 0 before any */
    lock_state **by_key;        /* the locks, open addressing by ls->key: lookups (lock_find) */
    GArray *events;             /* pending_event */
    /* The epoch policy ("epochs" below); rc is NULL under other policies. */
    dm_reconfig *rc;
    int64_t holder_lease;
    int64_t quiet_until;
    int64_t epoch_quiet_until;  /* leases of the previous epoch may be in force until then */
    bool flushing;
    bool floor_pending;         /* recovery after a start without persisted state (recovery_run) */
    bool epoch_dirty;           /* look at the trigger again after this input */
    bool leaving;
    uint32_t attempt_seq;
    /* Per peer, only for the peers this node dealt with (core/peermap.h):
     * a member of a big cluster talks to few of the others in a while. */
    dm_peermap rtt;             /* peer_rtt: measured, or timed out since heard */
    dm_peermap suspects;        /* peer_suspect: timed out, or said RECOVERING */
    dm_rtt rtt_all;             /* every sample: the estimate for paths never measured */
    dm_rtt_limits rtt_limits;
    uint32_t *quorum_buf;       /* a quorum formed, a view's members: scratch */
    int64_t rec_next;           /* next time recovery_run has work */
    /* -- then the configuration, on a line of its own: its first line (ids,
     * lease, timeouts) is hot too */
    _Alignas(64) dm_config cfg;
    /* -- the rest */
    dm_peermap pings;           /* peer_ping: our direct SWIM PINGs not yet answered */
    uint64_t highest_token;
    uint64_t token_ceiling;
    uint32_t epoch;
    uint64_t members_hash;      /* digest of the quorum system's member ids */
    bool view_dirty;            /* a member entered or left the view */
    bool alive_lost;            /* SWIM saw a member stop being ALIVE */
    bool rtt_warned;
    bool floor_warned;
    uint64_t view_reported;     /* membership view hash last reported */
    uint32_t incarnation_persisted;
    dm_prng prng;
    uint64_t rec_round;
    rec_member *rec;            /* per member, only while floor_pending */
    uint32_t *rec_quorum;       /* the same */
    uint32_t rec_size;          /* 0: no quorum formed yet */
    uint64_t rec_floor;
    uint64_t rec_attempt;
    GHashTable *locks;          /* name -> lock_state: owns them, and its order is the order
                                   they are visited in (which the hashes pin) */
    uint8_t *rc_blob;           /* its state as last persisted, persisted with ours */
    size_t rc_len;
    GArray *rc_events;          /* rc_event: reported during a call, handled after it */
    uint8_t *in_view;           /* per member: in SWIM's view (self always) */
    uint8_t *in_conf;           /* per member: in the installed configuration */
    uint8_t *known;             /* per member: in C_1, or in a configuration installed since
                                   the start; the others are spare ids, never added by the
                                   automatic trigger and kept out of SWIM's view */
    int64_t *view_since;        /* per member: since when in_view has its value */
    int64_t epoch_check_at;     /* the next instant a hysteresis delay ripens */
    int64_t next_proposal_at;   /* the rate limit */
    bool op_proposal;           /* the running proposal is an operator's (DM_EV_RECONFIG) */
    bool stayed_out;            /* out of SWIM's view until a configuration holds us
                                   (dm_node_stay_out) */
    uint64_t rec_newest;        /* recovering: the newest epoch an answer named */
    dm_node_stats stats;
};

/* ---------------------------------------------------------------- helpers */

static int prio_cmp(const request_id *a, const request_id *b)
{
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    if (a->node != b->node)
        return a->node < b->node ? -1 : 1;
    return 0;
}

static lock_state *lock_of_entry(dm_heap_entry *e)
{
    return (lock_state *)((char *)e - offsetof(lock_state, due));
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

static int64_t scale_duration(int64_t d, uint64_t num, uint64_t den, bool round_up)
{
    /* d * num / den without overflow for any lease a driver would configure */
    __int128 p = (__int128)d * num;
    __int128 q = p / den;
    if (round_up && q * den != p)
        q++;
    return (int64_t)q;
}

/* Held leases are renewed every third of what a holder trusts. */
static int64_t renew_interval(const dm_node *n) { return n->holder_lease / 3; }

/* The retransmission timeout towards `peer`. */
static int64_t rto_of(const dm_node *n, uint32_t peer)
{
    static const dm_rtt unmeasured;
    const peer_rtt *p = dm_peermap_get(&n->rtt, peer);
    return dm_rtt_rto_or(p ? &p->rtt : &unmeasured, &n->rtt_all, &n->rtt_limits);
}

/* A retransmission to `peer` timed out: its RTO doubles. */
static void rtt_timeout(dm_node *n, uint32_t peer)
{
    peer_rtt *p = dm_peermap_put(&n->rtt, peer);
    dm_rtt_timeout(&p->rtt);
}

/* `peer` was heard from: its back-off ends, and a peer never measured is
 * then back to the value it has without an entry. */
static void rtt_heard(dm_node *n, uint32_t peer)
{
    peer_rtt *p = dm_peermap_get(&n->rtt, peer);
    if (!p)
        return;
    dm_rtt_heard(&p->rtt);
    if (!dm_rtt_measured(&p->rtt))
        dm_peermap_remove(&n->rtt, peer);
}

/* A round trip measured against the exact transmission it answers. A round
 * trip this long leaves too little of the lease to acquire and renew in:
 * say so once rather than fail without a word. */
static void rtt_sample(dm_node *n, uint32_t peer, int64_t rtt)
{
    dm_rtt *r = &((peer_rtt *)dm_peermap_put(&n->rtt, peer))->rtt;
    dm_rtt_sample(r, &n->rtt_limits, rtt);
    dm_rtt_sample(&n->rtt_all, &n->rtt_limits, rtt);
    n->stats.rtt_samples++;
    /* Judged on the smoothed value over a few samples: one slow answer is
     * more often a pause than a path. */
    if (r->samples >= 4 && r->srtt > n->holder_lease / 4 && !n->rtt_warned) {
        n->rtt_warned = true;
        g_warning("node %u: round trip to member %u is %" G_GINT64_FORMAT
                  " us (smoothed), more than a quarter of the %" G_GINT64_FORMAT
                  " us a holder trusts its lease: acquisitions may fail; raise the lease",
                  n->cfg.self, peer, (gint64)r->srtt, n->holder_lease);
    }
}

/* The lease the holder may count on by its own clock: its clock may run
 * fast and the arbiters' slow, each by the drift bound. */
static int64_t drift_lease(const dm_config *cfg)
{
    return scale_duration(cfg->lease_us, 1000000 - cfg->drift_ppm, 1000000 + cfg->drift_ppm, false);
}

int64_t dm_config_lost_margin_max(const dm_config *cfg)
{
    /* Half the lease is left to renew in: a larger margin leaves the holder
     * too little of its lease to renew before it gives up. */
    return cfg->lease_us > 0 && cfg->drift_ppm < 500000 ? drift_lease(cfg) / 2 : 0;
}

int64_t dm_config_lost_margin(const dm_config *cfg)
{
    if (cfg->lost_margin_us != DM_LOST_MARGIN_RELATIVE)
        return cfg->lost_margin_us;
    return scale_duration(cfg->lease_us, cfg->lost_margin_ppm, 1000000, false);
}

void dm_config_defaults(dm_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->membership = true;
    dm_swim_config_defaults(&cfg->swim);
    cfg->policy = &dm_policy_ae_ops;
    cfg->lease_us = 10 * G_USEC_PER_SEC;
    cfg->drift_ppm = 10000;
    cfg->rpc_timeout_us = G_USEC_PER_SEC;
    cfg->rto_min_us = 5000;
    cfg->suspect_us = 10 * G_USEC_PER_SEC;
    cfg->token_stride = 1024;
    /* A share of the lease, so that it scales with it: with the drift
     * bound alone, LOST comes only about 2 drift bounds of the lease before
     * another node can be granted, too late for anything to stop. */
    cfg->lost_margin_us = DM_LOST_MARGIN_RELATIVE;
    cfg->lost_margin_ppm = 100000;
    cfg->spread = true;
    cfg->grant_cache_idle_us = 100 * 1000;
    cfg->reconfig_delay_us = 10 * G_USEC_PER_SEC;
    cfg->rejoin_delay_us = 30 * G_USEC_PER_SEC;
    cfg->reconfig_min_size = 3;
    cfg->reconfig_interval_us = 5 * G_USEC_PER_SEC;
    cfg->reconfig_auto = true;
}

/* ---------------------------------------------------------------- output */

static dm_event *new_event(dm_node *n, dm_event_type type, const char *name)
{
    g_array_set_size(n->events, n->events->len + 1);
    pending_event *pe = &g_array_index(n->events, pending_event, n->events->len - 1);
    memset(pe, 0, sizeof *pe);
    if (name)
        g_strlcpy(pe->name, name, sizeof pe->name);
    pe->ev.type = type;
    return &pe->ev;
}

static void queue_event(dm_node *n, dm_event_type type, const lock_state *ls, int reason)
{
    dm_event *ev = new_event(n, type, ls->name);
    ev->attempt = ls->req.app_id;
    ev->token = ls->req.token;
    ev->lease_until = ls->req.lease_end;
    ev->reason = reason;
    ev->requested_at = ls->req.requested_at;
    ev->messages = ls->req.messages;
    ev->quorum_size = ls->req.quorum_size;
}

static void flush_events(dm_node *n)
{
    /* Nearly every input has none: that answer stays inline. */
    if (n->flushing || n->events->len == 0)
        return;
    n->flushing = true;
    /* notify() may call lock()/unlock(), which append: pop from the front. */
    while (n->events->len > 0) {
        pending_event pe = g_array_index(n->events, pending_event, 0);
        g_array_remove_index(n->events, 0);
        pe.ev.name = pe.name[0] ? pe.name : NULL;
        if (n->drv.notify)
            n->drv.notify(n->user, &pe.ev);
    }
    n->flushing = false;
}

/* Messages a requester sends; the others are an arbiter's answers, whose
 * attempt ids belong to other nodes. */
static bool requester_type(dm_msg_type t)
{
    return t == DM_MSG_REQUEST || t == DM_MSG_YIELD || t == DM_MSG_RELEASE || t == DM_MSG_KEEP;
}

/* The fields every message of the core carries; the name stays empty. */
/* The epoch policy's side of the protocol ("epochs" below). */
static uint64_t config_epoch(const dm_node *n);
static bool sealed(const dm_node *n);
static bool in_config(const dm_node *n);
static bool epoch_admit(dm_node *n, const dm_msg *m);
static void epoch_send_newer(dm_node *n, uint32_t to);
static void epoch_send_stale(dm_node *n, uint32_t to);

/* msg_init sets every field before the name; a field added there must be
 * added to it (this fails when one is, or when padding appears). */
_Static_assert(offsetof(dm_msg, name) == sizeof(dm_msg_type) + 2 * sizeof(uint16_t) +
                                             9 * sizeof(uint64_t) + 2 * sizeof(uint32_t) + 1,
               "msg_init does not know every header field of dm_msg");

static void msg_init(dm_node *n, dm_msg *m, dm_msg_type type, uint32_t to, uint64_t attempt,
                     uint64_t grant, uint64_t value, uint32_t round)
{
    /* Field by field rather than a memset of the header: a rep stos of 90
     * bytes costs more than the stores, on the path of every message. */
    m->type = type;
    m->from = (uint16_t)n->cfg.self;
    m->to = (uint16_t)to;
    m->clock = ++n->clock;
    m->attempt = attempt;
    m->grant = grant;
    m->value = value;
    m->round = round;
    m->target = 0;
    m->epoch = config_epoch(n);
    m->ballot = m->ballot2 = m->members = 0;
    m->name_key = 0;
    m->name_len = 0;
    m->name[0] = '\0';
    m->n_updates = 0;
}

/* The slot the next message to self goes to (local_len), allocated if new. */
static dm_msg *local_slot(dm_node *n)
{
    if (n->local_len == n->local_alloc) {
        if (n->local_alloc == n->local_cap) {
            n->local_cap = n->local_cap ? 2 * n->local_cap : 4;
            n->local = g_renew(dm_msg *, n->local, n->local_cap);
        }
        n->local[n->local_alloc++] = g_new(dm_msg, 1);
    }
    return n->local[n->local_len];
}

static void send_msg(dm_node *n, lock_state *ls, dm_msg_type type, uint32_t to,
                     uint64_t attempt, uint64_t grant, uint64_t value, uint32_t round)
{
    /* One to self is built in its queue slot: no copy. */
    dm_msg out;
    bool self = to == n->cfg.self;
    dm_msg *m = self ? local_slot(n) : &out;
    msg_init(n, m, type, to, attempt, grant, value, round);
    m->name_len = ls->name_len;
    if (m->name_len < NAME_BLOCK)   /* one fixed copy, name and NUL (lock_new pads) */
        memcpy(m->name, ls->name, NAME_BLOCK);
    else
        memcpy(m->name, ls->name, (size_t)m->name_len + 1);
    m->name_key = ls->key;
    if (self) {
        n->stats.local++;
        n->local_len++;
        return;
    }
    n->stats.sent[type]++;
    if (requester_type(type) && ls->req.phase != PHASE_IDLE && attempt == ls->req.id)
        ls->req.messages++;
    n->drv.send(n->user, m);
}

/* ---------------------------------------------------------------- persistence */

static void put_be32(uint8_t *p, uint32_t v) { for (int i = 3; i >= 0; i--) { p[i] = (uint8_t)v; v >>= 8; } }
static void put_be64(uint8_t *p, uint64_t v) { for (int i = 7; i >= 0; i--) { p[i] = (uint8_t)v; v >>= 8; } }
static uint32_t get_be32(const uint8_t *p) { uint32_t v = 0; for (int i = 0; i < 4; i++) v = v << 8 | p[i]; return v; }
static uint64_t get_be64(const uint8_t *p) { uint64_t v = 0; for (int i = 0; i < 8; i++) v = v << 8 | p[i]; return v; }

static uint32_t current_incarnation(const dm_node *n)
{
    return n->members ? dm_membership_incarnation(n->members) : n->incarnation_persisted;
}

static int persist_state(dm_node *n, uint64_t ceiling)
{
    uint8_t fixed[PERSIST_LEN_EPOCHS];
    uint8_t *buf = fixed;
    size_t len = PERSIST_LEN;
    if (n->rc_blob) {
        /* One write: the configuration and the counters change together. */
        len = PERSIST_LEN_EPOCHS + n->rc_len;
        buf = g_malloc(len);
        put_be32(buf + PERSIST_LEN, (uint32_t)n->rc_len);
        memcpy(buf + PERSIST_LEN_EPOCHS, n->rc_blob, n->rc_len);
    }
    uint32_t incarnation = current_incarnation(n);
    put_be32(buf, n->rc_blob ? PERSIST_MAGIC_EPOCHS : PERSIST_MAGIC);
    put_be32(buf + 4, n->epoch);
    put_be64(buf + 8, ceiling);
    put_be32(buf + 16, incarnation);
    /* A crash before the floor is known must not look like a restart whose
     * counter can be trusted. */
    put_be32(buf + 20, n->floor_pending ? PERSIST_RECOVERING : 0);
    int rc = n->drv.persist ? n->drv.persist(n->user, buf, len) : 0;
    if (buf != fixed)
        g_free(buf);
    if (rc < 0) {
        g_warning("node %u: persisting state failed: %s", n->cfg.self, dm_strerror(rc));
        return -DM_EPERSIST;
    }
    n->token_ceiling = ceiling;
    n->incarnation_persisted = incarnation;
    n->stats.persists++;
    return 0;
}

/* Make every token up to `t` safe to hand out or acknowledge: no restart may
 * ever issue a token <= t again. */
static int reserve_tokens(dm_node *n, uint64_t t)
{
    if (t <= n->token_ceiling)
        return 0;
    return persist_state(n, t + n->cfg.token_stride);
}

static int next_token(dm_node *n, uint64_t *out)
{
    int rc = reserve_tokens(n, n->highest_token + 1);
    if (rc < 0)
        return rc;
    *out = ++n->highest_token;
    return 0;
}

static int absorb_token(dm_node *n, uint64_t t)
{
    int rc = reserve_tokens(n, t);
    if (rc < 0)
        return rc;
    if (t > n->highest_token)
        n->highest_token = t;
    return 0;
}

/* ---------------------------------------------------------------- lock state */

/* memcmp(a, b, len) == 0 inline: names are short (a few bytes), where the
 * library call's entry cost more than the comparison. Words that overlap
 * rather than a tail of bytes: 8-byte words, the last one ending at len;
 * a name of 4 to 7 bytes as its first and its last 4; a shorter one by
 * bytes. */
static bool name_equal(const char *a, const char *b, size_t len)
{
    if (len >= 8) {
        uint64_t x, y;
        for (size_t i = 0;; i += 8) {
            size_t at = i + 8 < len ? i : len - 8;
            memcpy(&x, a + at, 8);
            memcpy(&y, b + at, 8);
            if (x != y || at == len - 8)
                return x == y;
        }
    }
    if (len >= 4) {
        uint32_t u[2], v[2];
        memcpy(&u[0], a, 4);
        memcpy(&u[1], a + len - 4, 4);
        memcpy(&v[0], b, 4);
        memcpy(&v[1], b + len - 4, 4);
        return u[0] == v[0] && u[1] == v[1];
    }
    for (size_t i = 0; i < len; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

/* Lookups hash a name once (dm_hash_str, which also places the name) and
 * find it in by_key, open addressing with linear probing: no hash-table
 * callbacks and one string comparison per hit. Forced inline: every lock
 * message looks its name up, and the call's entry and exit were a third of
 * the lookup. */
static G_ALWAYS_INLINE inline lock_state *lock_find_key(const dm_node *n, const char *name,
                                                        size_t len, uint64_t key)
{
    if (n->by_key_cap == 0)
        return NULL;
    uint32_t mask = n->by_key_cap - 1;
    for (uint32_t i = (uint32_t)key & mask;; i = (i + 1) & mask) {
        lock_state *ls = n->by_key[i];
        if (!ls || (ls->key == key && ls->name_len == len && name_equal(ls->name, name, len)))
            return ls;
    }
}

static lock_state *lock_find(const dm_node *n, const char *name)
{
    return lock_find_key(n, name, strlen(name), dm_hash_str(name));
}

static void by_key_put(lock_state **slots, uint32_t cap, lock_state *ls)
{
    uint32_t i = (uint32_t)ls->key & (cap - 1);
    while (slots[i])
        i = (i + 1) & (cap - 1);
    slots[i] = ls;
}

static void by_key_insert(dm_node *n, lock_state *ls)
{
    uint32_t count = g_hash_table_size(n->locks);   /* ls included */
    if (2 * count > n->by_key_cap) {
        uint32_t cap = n->by_key_cap ? 2 * n->by_key_cap : 16;
        lock_state **slots = g_new0(lock_state *, cap);
        for (uint32_t i = 0; i < n->by_key_cap; i++)
            if (n->by_key[i])
                by_key_put(slots, cap, n->by_key[i]);
        g_free(n->by_key);
        n->by_key = slots;
        n->by_key_cap = cap;
    }
    by_key_put(n->by_key, n->by_key_cap, ls);
}

/* Backward-shift deletion: the entries after the hole that probed past it
 * move up, so that no lookup stops early. */
static void by_key_remove(dm_node *n, const lock_state *ls)
{
    uint32_t mask = n->by_key_cap - 1;
    uint32_t hole = (uint32_t)ls->key & mask;
    while (n->by_key[hole] != ls)
        hole = (hole + 1) & mask;
    for (uint32_t i = (hole + 1) & mask; n->by_key[i]; i = (i + 1) & mask) {
        uint32_t home = (uint32_t)n->by_key[i]->key & mask;
        /* Movable when its home is not within (hole, i], cyclically. */
        if (((i - home) & mask) >= ((i - hole) & mask)) {
            n->by_key[hole] = n->by_key[i];
            hole = i;
        }
    }
    n->by_key[hole] = NULL;
}

/* A new name's state (which lock_find_key did not find). */
static lock_state *lock_new(dm_node *n, const char *name, size_t len, uint64_t key)
{
    /* At least NAME_BLOCK bytes of name, zero past the NUL: send_msg copies
     * a short name as one fixed block. */
    lock_state *ls = g_malloc0(sizeof *ls + MAX(len + 1, NAME_BLOCK));
    dm_heap_entry_init(&ls->due);
    memcpy(ls->name, name, len);
    ls->name_len = (uint8_t)len;
    ls->key = key;
    ls->arb.queue = g_array_new(FALSE, FALSE, sizeof(request_id));
    ls->arb.inquire_at = DM_NEVER;
    ls->idle_since = DM_NEVER;
    g_hash_table_insert(n->locks, ls->name, ls);
    by_key_insert(n, ls);
    return ls;
}

static void lock_remove(dm_node *n, lock_state *ls)
{
    by_key_remove(n, ls);
    g_hash_table_remove(n->locks, ls->name);
}

static void attempt_clear(attempt *a)
{
    if (a->entries)
        g_array_free(a->entries, TRUE);
    memset(a, 0, sizeof *a);
}

static void lock_free(gpointer p)
{
    lock_state *ls = p;
    attempt_clear(&ls->req);
    if (ls->releasing)
        g_array_free(ls->releasing, TRUE);
    g_array_free(ls->arb.queue, TRUE);
    g_free(ls->arb.finished);
    g_free(ls);
}

static bool lock_idle(const lock_state *ls)
{
    return ls->req.phase == PHASE_IDLE && !ls->arb.granted && ls->arb.queue->len == 0 &&
           !ls->releasing && ls->arb.delay_until == 0;
}

static uint64_t finished_get(const lock_state *ls, uint32_t node)
{
    return ls->arb.finished ? ls->arb.finished[node] : 0;
}

static void finished_set(dm_node *n, lock_state *ls, uint32_t node, uint64_t attempt)
{
    if (!ls->arb.finished)
        ls->arb.finished = g_new0(uint64_t, n->cfg.n_members);
    if (attempt > ls->arb.finished[node])
        ls->arb.finished[node] = attempt;
}

static arbiter_entry *entry_find(attempt *a, uint32_t node)
{
    if (!a->entries)
        return NULL;
    for (guint i = 0; i < a->entries->len; i++) {
        arbiter_entry *e = &g_array_index(a->entries, arbiter_entry, i);
        if (e->node == node)
            return e;
    }
    return NULL;
}

/* ---------------------------------------------------------------- arbiter role */

static int queue_find(const arbiter *a, uint32_t node)
{
    for (guint i = 0; i < a->queue->len; i++)
        if (g_array_index(a->queue, request_id, i).node == node)
            return (int)i;
    return -1;
}

static void queue_insert(arbiter *a, const request_id *r)
{
    /* Grown by one, then the lower priorities shift up a place as the
     * insertion point is searched from the end (g_array_insert_val's
     * general path cost more than the whole short queue). */
    guint i = a->queue->len;
    g_array_set_size(a->queue, i + 1);
    request_id *q = (request_id *)(void *)a->queue->data;
    for (; i > 0 && prio_cmp(&q[i - 1], r) >= 0; i--)
        q[i] = q[i - 1];
    q[i] = *r;
}

static void arbiter_event(dm_node *n, const lock_state *ls, dm_arbiter_action action,
                          const request_id *who, int reason)
{
    dm_event *ev = new_event(n, DM_EV_ARBITER, ls->name);
    ev->arbiter_action = action;
    ev->member = who->node;
    ev->attempt = who->attempt;
    ev->token = ls->arb.grant;
    ev->reason = reason;
    ev->lease_until = ls->arb.delay_until;
}

static void end_grant(lock_state *ls);

/* A grant that ended without a release (its lease ran out, or it was
 * revoked) may have a holder that is still acting on it -- paused, cut
 * off, unaware -- and a resource that does not check fencing tokens cannot
 * tell. With lock_delay (Chubby's lock-delay) the name is then granted to
 * nobody here for that long; the grantee's RELEASE, which says it is done,
 * ends the wait. Any quorum meets the lapsed holder's at some arbiter that
 * saw the same lapse, so the wait holds cluster-wide. */
static void lapse_grant(dm_node *n, lock_state *ls, int64_t now, int reason)
{
    if (n->cfg.lock_delay_us > 0) {
        ls->arb.delay_until = now + n->cfg.lock_delay_us;
        ls->arb.lapsed = ls->arb.grantee;
        arbiter_event(n, ls, DM_ARB_LAPSED, &ls->arb.lapsed, reason);
    }
    end_grant(ls);
}

static void end_grant(lock_state *ls)
{
    ls->arb.granted = false;
    ls->arb.reserved = 0;
    ls->arb.fenced = false;
    ls->arb.inquire_at = DM_NEVER;
    ls->arb.asked_yield = false;
    ls->arb.inquiries = 0;
    ls->arb.yield_asks = 0;
}

/* While others wait, the grantee is inquired (inquire_interval): to yield
 * when a request of higher priority waits and the grantee has not announced
 * its token (Maekawa), otherwise only probed -- it ignores the probe while it
 * is on it and answers RELEASE once its attempt is over, so a lost RELEASE or
 * a GRANT to an abandoned attempt costs a timeout, not a lease. */
static bool queue_has_try(const arbiter *a)
{
    for (guint i = 0; i < a->queue->len; i++)
        if (g_array_index(a->queue, request_id, i).try_once)
            return true;
    return false;
}

/* A try-lock waiting behind a grantee that has not announced a token asks
 * it to yield too: one still acquiring gives the grant back, and a holder
 * the fence round skipped (its grant id is the token) answers with a KEEP,
 * after which the try is answered HELD (arb_keep). */
static bool yield_wanted(const arbiter *a)
{
    return !a->fenced &&
           (prio_cmp(&g_array_index(a->queue, request_id, 0), &a->grantee) < 0 || queue_has_try(a));
}

/* The grantee announced its token: every try-lock queued behind it is
 * answered at once, as one that arrived now would be. */
static void answer_tries(dm_node *n, lock_state *ls)
{
    arbiter *a = &ls->arb;
    for (guint i = 0; i < a->queue->len;) {
        request_id *r = &g_array_index(a->queue, request_id, i);
        if (!r->try_once) {
            i++;
            continue;
        }
        send_msg(n, ls, DM_MSG_HELD, r->node, r->attempt, a->grant, 0, 0);
        g_array_remove_index(a->queue, i);
    }
}

/* Grants are held for any length of time, so probing backs off: from two
 * retransmission timeouts (a lost GRANT or RELEASE is found quickly) up to
 * the renew interval (a long hold costs a few INQUIREs, not one per RTO). */
static int64_t inquire_interval(const dm_node *n, const arbiter *a, bool yield)
{
    int64_t rto = rto_of(n, a->grantee.node);
    int64_t cap = MAX(n->holder_lease / 3, rto);
    int64_t v = yield ? rto : 2 * rto;
    /* A request to yield resolves a deadlock (Maekawa): it is re-sent like
     * any message on the critical path, with the timeout's own back-off. */
    uint32_t k = yield ? MIN(a->yield_asks, 3) : a->inquiries;
    for (uint32_t i = 0; i < k && v < cap; i++)
        v *= 2;
    return MIN(v, cap);
}

static void send_inquire(dm_node *n, lock_state *ls, int64_t now)
{
    arbiter *a = &ls->arb;
    a->asked_yield = yield_wanted(a);
    a->inquire_at = now + inquire_interval(n, a, a->asked_yield);
    if (a->asked_yield)
        a->yield_asks++;
    else
        a->inquiries++;
    send_msg(n, ls, DM_MSG_INQUIRE, a->grantee.node, a->grantee.attempt, a->grant,
             a->asked_yield ? DM_INQUIRE_YIELD : DM_INQUIRE_PROBE, 0);
}

static void inquire_if_wanted(dm_node *n, lock_state *ls, int64_t now)
{
    arbiter *a = &ls->arb;
    if (!a->granted || a->queue->len == 0)
        a->inquire_at = DM_NEVER;
    else if (yield_wanted(a) && (a->inquire_at == DM_NEVER || !a->asked_yield))
        send_inquire(n, ls, now);
    else if (a->reserved && a->inquiries == 0)
        /* A grantee that reserved tokens may keep its grants after its
         * unlock (grant_cache): asked at once, it gives them back at once
         * if so, and a holder learns that others wait, and so releases at
         * its unlock, for the cost of one message. */
        send_inquire(n, ls, now);
    else if (a->inquire_at == DM_NEVER)
        a->inquire_at = now + inquire_interval(n, a, false);   /* the grantee usually finishes soon */
}

/* A node grants nothing while leases of an earlier life may be in force, nor
 * before it knows a token floor above every token acknowledged before. */
static bool may_grant(const dm_node *n, int64_t now)
{
    return now >= n->quiet_until && !n->floor_pending && now >= n->epoch_quiet_until &&
           !sealed(n) && in_config(n);
}

/* How long, at most, before this node may grant again (for RECOVERING). */
static int64_t grant_wait(const dm_node *n, int64_t now)
{
    int64_t until = MAX(n->quiet_until, n->epoch_quiet_until);
    int64_t quiet = until > now ? until - now : 0;
    return n->floor_pending || sealed(n) ? MAX(quiet, n->cfg.rpc_timeout_us) : quiet;
}

/* Sticky grants (docs/PROTOCOL.md): the grantee of `token` asked for
 * tokens to re-use its grants with. Raise the counter -- persisted first,
 * as for any token -- so far that every one of them lies below any grant
 * id this node hands out later; the GRANT_RESERVED says how far. 0 (no
 * reservation, a plain GRANT) when nothing could be reserved. */
static uint64_t reserve_reuses(dm_node *n, uint64_t token)
{
    uint64_t ceiling = token + MIN(n->cfg.token_stride, GRANT_REUSES) - 1;
    return ceiling > token && absorb_token(n, ceiling) == 0 ? ceiling : 0;
}

static void send_grant(dm_node *n, lock_state *ls)
{
    const arbiter *a = &ls->arb;
    if (a->reserved)
        send_msg(n, ls, DM_MSG_GRANT_RESERVED, a->grantee.node, a->grantee.attempt, a->grant,
                 a->reserved, 0);
    else
        send_msg(n, ls, DM_MSG_GRANT, a->grantee.node, a->grantee.attempt, a->grant, 0, 0);
}

static void grant_next(dm_node *n, lock_state *ls, int64_t now)
{
    arbiter *a = &ls->arb;
    if (a->granted || a->queue->len == 0 || !may_grant(n, now) || now < a->delay_until)
        return;
    uint64_t token;
    if (next_token(n, &token) < 0)
        return;   /* retried when the lock is next serviced */
    a->grantee = g_array_index(a->queue, request_id, 0);
    g_array_remove_index(a->queue, 0);
    a->granted = true;
    a->grant = token;
    a->reserved = a->grantee.reserve ? reserve_reuses(n, token) : 0;
    a->reserve_span = a->reserved ? a->reserved - token : 0;
    a->lease_until = now + n->cfg.lease_us;
    a->fenced = false;
    a->inquire_at = DM_NEVER;
    a->inquiries = 0;
    a->yield_asks = 0;
    n->stats.grants++;
    if (n->cfg.lock_delay_us > 0)
        arbiter_event(n, ls, DM_ARB_GRANTED, &a->grantee, 0);
    send_grant(n, ls);
    inquire_if_wanted(n, ls, now);
}

/* A requester that starts a new attempt has abandoned its older one. */
static void drop_superseded(dm_node *n, lock_state *ls, uint32_t node, uint64_t attempt)
{
    arbiter *a = &ls->arb;
    if (a->granted && a->grantee.node == node && a->grantee.attempt < attempt) {
        finished_set(n, ls, node, a->grantee.attempt);
        end_grant(ls);
    }
    int qi = queue_find(a, node);
    if (qi >= 0 && g_array_index(a->queue, request_id, qi).attempt < attempt) {
        finished_set(n, ls, node, g_array_index(a->queue, request_id, qi).attempt);
        g_array_remove_index(a->queue, (guint)qi);
    }
}

static void arb_request(dm_node *n, lock_state *ls, const dm_msg *m, int64_t now)
{
    arbiter *a = &ls->arb;
    request_id r = { m->from, m->attempt, m->value & ~DM_REQUEST_FLAGS,
                     (m->value & DM_REQUEST_TRY) != 0, (m->value & DM_REQUEST_RESERVE) != 0 };
    uint64_t finished = finished_get(ls, m->from);
    if (m->attempt <= finished) {
        n->stats.stale++;
        /* From an epoch older than one that already finished here: the
         * requester may have restarted without its state and reused old
         * attempt ids. Telling it the id we remember lets it move past. */
        if (m->attempt >> 32 < finished >> 32)
            send_msg(n, ls, DM_MSG_FAILED, m->from, finished, 0, 0, 0);
        return;
    }
    if (a->granted && a->grantee.node == m->from && a->grantee.attempt == m->attempt) {
        /* The GRANT may have been lost: repeat it (the lease is not extended). */
        send_grant(n, ls);
        return;
    }
    int qi = queue_find(a, m->from);
    if (qi >= 0 && g_array_index(a->queue, request_id, qi).attempt >= m->attempt) {
        n->stats.stale++;
        return;
    }
    if (a->granted && a->grantee.node == m->from && a->grantee.attempt > m->attempt) {
        n->stats.stale++;
        return;
    }
    /* A try-lock's request: held by another (its grantee announced its
     * token: it holds, or is about to) or withheld is the answer at once,
     * and it is not queued. Otherwise it is queued, and the grantee is
     * asked to yield (yield_wanted): one still acquiring gives the grant
     * back (contention, which the try goes through like any request), a
     * holder the fence round skipped announces its token and the try is
     * answered HELD then (answer_tries). */
    if ((m->value & DM_REQUEST_TRY) &&
        ((a->granted && a->grantee.node != m->from && a->fenced) || now < a->delay_until)) {
        send_msg(n, ls, DM_MSG_HELD, m->from, m->attempt, a->granted ? a->grant : 0, 0, 0);
        /* A grantee that may only be keeping its grants (grant_cache)
         * gives them back when asked, and the try's next round finds the
         * lock free. */
        if (a->granted && a->fenced && a->reserved && a->inquiries == 0)
            send_inquire(n, ls, now);
        return;
    }
    drop_superseded(n, ls, m->from, m->attempt);
    queue_insert(a, &r);
    if (!may_grant(n, now)) {
        /* Queued, but the requester had better go around us meanwhile. */
        send_msg(n, ls, DM_MSG_RECOVERING, m->from, m->attempt, 0, (uint64_t)grant_wait(n, now), 0);
        return;
    }
    if (!a->granted && now >= a->delay_until) {
        grant_next(n, ls, now);
        return;
    }
    /* Queued: say so, also to a request that outranks the grantee (which
     * is asked to yield meanwhile). Silence would read as a dead arbiter
     * once the timeout adapts to the round trip, and the requester would
     * route around a healthy one. */
    send_msg(n, ls, DM_MSG_FAILED, m->from, m->attempt, 0, 0, 0);
    inquire_if_wanted(n, ls, now);
}

static bool is_grantee(const arbiter *a, const dm_msg *m)
{
    return a->granted && a->grantee.node == m->from && a->grantee.attempt == m->attempt;
}

static void arb_release(dm_node *n, lock_state *ls, const dm_msg *m, int64_t now)
{
    arbiter *a = &ls->arb;
    /* Where others wait, acknowledge the release of a grant (REVOKED: it is
     * not in force here), and a repeated one, whose first acknowledgement
     * was lost. Uncontended, a lost RELEASE costs nothing but the grant's
     * lease, and the next request's INQUIRE finds out within one timeout. */
    bool again = m->attempt <= finished_get(ls, m->from);
    finished_set(n, ls, m->from, m->attempt);
    if (a->delay_until > now && a->lapsed.node == m->from && a->lapsed.attempt == m->attempt) {
        a->delay_until = 0;
        arbiter_event(n, ls, DM_ARB_RELEASED, &a->lapsed, 0);
        grant_next(n, ls, now);
    }
    if ((is_grantee(a, m) && a->queue->len > 0) || again)
        send_msg(n, ls, DM_MSG_REVOKED, m->from, m->attempt, is_grantee(a, m) ? a->grant : 0, 0, 0);
    if (is_grantee(a, m)) {
        end_grant(ls);
        grant_next(n, ls, now);
        return;
    }
    int qi = queue_find(a, m->from);
    if (qi >= 0 && g_array_index(a->queue, request_id, qi).attempt <= m->attempt)
        g_array_remove_index(a->queue, (guint)qi);
}

static void arb_yield(dm_node *n, lock_state *ls, const dm_msg *m, int64_t now)
{
    arbiter *a = &ls->arb;
    if (!is_grantee(a, m) || a->grant != m->grant || a->fenced) {
        n->stats.stale++;
        return;
    }
    request_id back = a->grantee;
    end_grant(ls);
    queue_insert(a, &back);
    grant_next(n, ls, now);
}

static void arb_keep(dm_node *n, lock_state *ls, const dm_msg *m, int64_t now)
{
    arbiter *a = &ls->arb;
    if (sealed(n) && is_grantee(a, m)) {
        /* Sealed: nothing renews in this epoch, so its holders' leases run
         * out within one lease of the seal; tell this one at once. */
        send_msg(n, ls, DM_MSG_REVOKED, m->from, m->attempt, m->grant, 0, 0);
        lapse_grant(n, ls, now, -DM_EREVOKED);
        return;
    }
    if (!is_grantee(a, m) || a->grant != m->grant) {
        if (m->attempt > finished_get(ls, m->from))
            send_msg(n, ls, DM_MSG_REVOKED, m->from, m->attempt, m->grant, 0, 0);
        else
            n->stats.stale++;
        return;
    }
    /* A grant with a reservation keeps it above every token announced for
     * it (sticky grants): the holder infers the new ceiling from the KEPT
     * by the same rule, as only an arbiter that sent GRANT_RESERVED keeps it. */
    uint64_t upto = m->value;
    if (m->value != 0 && a->reserved && m->value <= UINT64_MAX - a->reserve_span)
        upto = m->value + a->reserve_span;
    if (m->value != 0 && absorb_token(n, upto) < 0)
        return;   /* not acknowledged: the holder retransmits */
    if (a->reserved && upto > a->reserved)
        a->reserved = upto;
    int64_t until = now + n->cfg.lease_us;
    if (until > a->lease_until)
        a->lease_until = until;
    /* Not sticky: a requester that fell back to acquiring keeps its grants
     * alive with token 0 and must then yield when asked. */
    a->fenced = m->value != 0;
    send_msg(n, ls, DM_MSG_KEPT, m->from, m->attempt, m->grant, m->value, m->round);
    if (a->fenced)
        answer_tries(n, ls);
    inquire_if_wanted(n, ls, now);
}

static void arb_service(dm_node *n, lock_state *ls, int64_t now)
{
    arbiter *a = &ls->arb;
    if (a->granted && a->lease_until <= now) {
        n->stats.lease_expiries++;
        lapse_grant(n, ls, now, -DM_ELEASE);
    }
    if (a->delay_until != 0 && a->delay_until <= now)
        a->delay_until = 0;   /* over: the name may be forgotten when idle */
    grant_next(n, ls, now);
    if (a->granted && a->inquire_at <= now) {
        if (a->queue->len > 0)
            send_inquire(n, ls, now);
        else
            a->inquire_at = DM_NEVER;
    }
}

/* ---------------------------------------------------------------- requester role */

/* Timed out, or said RECOVERING: what this node's own traffic found. */
static bool peer_suspected(const dm_node *n, uint32_t i, int64_t now)
{
    const peer_suspect *p = dm_peermap_get(&n->suspects, i);
    return p && (p->suspected_until > now || p->avoid_until > now);
}

static bool suspected(const dm_node *n, uint32_t i, int64_t now)
{
    return peer_suspected(n, i, now) || (n->members && !dm_membership_is_alive(n->members, i));
}

/* How many placements of the quorum system are in use (core/quorum.h), and
 * the one a lock name's quorums come from: always the same for one name on
 * every member, which is what keeps them intersecting. */
static uint32_t placements_in_use(const dm_node *n)
{
    return n->cfg.spread ? dm_quorum_placements(n->quorum) : 1;
}

static uint32_t placement_of(const dm_node *n, uint64_t key)
{
    return n->cfg.spread ? dm_quorum_placement(n->quorum, key) : 0;
}

/* The hint of one quorum formation. It lives for the formation only: kept
 * per node it would be 5 bytes per member, 5 N^2 across a simulated
 * cluster, for something a node needs now and then for microseconds. Up to
 * HINT_ON_STACK members it lives on the stack (no malloc per formation). */
#define HINT_ON_STACK 256
/* int32_t words of the caller's stack buffer: preferences, then the flags */
#define HINT_STACK_WORDS (HINT_ON_STACK + (HINT_ON_STACK + 3) / 4)
typedef struct hint_buf {
    int32_t *preference;
    uint8_t *unusable;
    int32_t *heap;        /* the block when allocated, else NULL */
} hint_buf;

static hint_buf hint_new(uint32_t N, int32_t *stack)
{
    int32_t *block = N <= HINT_ON_STACK ? stack : g_malloc((size_t)N * (sizeof(int32_t) + 1));
    return (hint_buf){ block, (uint8_t *)(block + N), block != stack ? block : NULL };
}

static void hint_free(hint_buf *h)
{
    g_free(h->heap);
}

/* Form a quorum that avoids every suspected member (timeouts, SWIM suspicion
 * or death, arbiters that said RECOVERING) and this node itself while it may
 * not grant; when none exists, settle for one that avoids only the members
 * SWIM declared dead or left, trying suspects last: a suspicion is a hint,
 * and refusing to ask a falsely suspected member would make a lock
 * unavailable for nothing. Any quorum of the tree is safe. */
static int form_quorum(dm_node *n, uint32_t placement, attempt *a, int64_t now)
{
    uint32_t N = n->cfg.n_members;
    int32_t stack[HINT_STACK_WORDS];
    hint_buf h = hint_new(N, stack);
    /* suspected(), for every member at once */
    if (n->members)
        dm_membership_not_alive(n->members, h.unusable);
    else
        memset(h.unusable, 0, N);
    for (uint32_t i = 0; i < N; i++) {
        if (!h.unusable[i])
            h.unusable[i] = peer_suspected(n, i, now);
        h.preference[i] = 0;
    }
    h.unusable[n->cfg.self] = !may_grant(n, now);
    h.preference[n->cfg.self] = SELF_PREFERENCE;
    if (a->entries) {
        for (guint i = 0; i < a->entries->len; i++) {
            arbiter_entry *e = &g_array_index(a->entries, arbiter_entry, i);
            if (e->granted)
                h.preference[e->node] += 1;
        }
    }
    dm_quorum_hint hint = { h.unusable, h.preference };
    int size = dm_quorum_form_at(n->quorum, placement, &hint, n->quorum_buf, N);
    if (size != -DM_ENOQUORUM) {
        hint_free(&h);
        return size;
    }
    for (uint32_t i = 0; i < N; i++) {
        if (!h.unusable[i])
            continue;
        h.unusable[i] = n->members && !dm_membership_in_view(n->members, i);
        h.preference[i] -= 1;
    }
    size = dm_quorum_form_at(n->quorum, placement, &hint, n->quorum_buf, N);
    hint_free(&h);
    return size;
}

/* A silent arbiter is asked again after one timeout. One that answered has
 * us queued and will INQUIRE or GRANT by itself: it is asked again only in
 * case that answer was lost, backing off exponentially. The jitter keeps
 * requesters that started together from retrying in step. */
static void schedule_retry(dm_node *n, arbiter_entry *e, int64_t now)
{
    int64_t interval = rto_of(n, e->node);
    if (e->heard) {
        uint32_t k = MIN(e->requests, REQUEST_BACKOFF_MAX);
        interval = MAX(interval, renew_interval(n) / 2);
        interval = MIN(interval << k, MAX(n->cfg.lease_us, interval));
    }
    e->retry_at = now + interval + (int64_t)dm_prng_below(&n->prng, (uint64_t)interval / 4 + 1);
}

static void send_request(dm_node *n, lock_state *ls, arbiter_entry *e, int64_t now)
{
    e->requests++;
    schedule_retry(n, e, now);
    uint64_t flags = ls->req.try_once                                  ? DM_REQUEST_TRY
                     : n->cfg.grant_cache && now >= ls->cache_off_until ? DM_REQUEST_RESERVE
                                                                       : 0;
    send_msg(n, ls, DM_MSG_REQUEST, e->node, ls->req.id, 0, ls->req.ts | flags, 0);
}

/* Adopt a freshly formed quorum: keep what was collected, contact the new
 * members, and keep dropped members as extras until the attempt ends (their
 * grants are harmless and released with the rest). */
static void adopt_quorum(dm_node *n, lock_state *ls, uint32_t size, int64_t now)
{
    attempt *a = &ls->req;
    for (guint i = 0; i < a->entries->len; i++)
        g_array_index(a->entries, arbiter_entry, i).in_quorum = false;
    for (uint32_t q = 0; q < size; q++) {
        uint32_t id = n->quorum_buf[q];
        arbiter_entry *e = entry_find(a, id);
        if (!e) {
            /* Built in place: an entry is large. */
            g_array_set_size(a->entries, a->entries->len + 1);
            e = &g_array_index(a->entries, arbiter_entry, a->entries->len - 1);
            *e = (arbiter_entry){ .node = id, .in_quorum = true, .basis = DM_NEVER };
            send_request(n, ls, e, now);
        } else {
            e->in_quorum = true;
        }
    }
    a->quorum_size = size;
}

/* Every KEEP transmission gets a round of its own and is remembered, so that
 * its KEPT -- however late -- names exactly what it acknowledges. */
static void send_keep(dm_node *n, lock_state *ls, arbiter_entry *e, int64_t now)
{
    attempt *a = &ls->req;
    uint32_t round = ++a->next_round;
    keep_sent *slot = &e->sent[round % KEEP_HISTORY];
    slot->round = round;
    slot->token = a->token;
    slot->at = now;
    if (!e->keep_pending) {
        e->keep_pending = true;
        e->keep_tx = 0;
    }
    e->keep_tx++;
    e->keep_last_sent = now;
    send_msg(n, ls, DM_MSG_KEEP, e->node, a->id, e->grant, a->token, round);
}

/* The arbiter's grant to this attempt is gone or being given up: nothing it
 * acknowledged for it counts any more. */
static void entry_ungrant(arbiter_entry *e)
{
    e->granted = false;
    e->floor = e->grant;
    e->inquired = 0;
    e->contended = false;
    e->keep_pending = false;
    e->acked_token = 0;
    e->reserved = 0;
    e->basis = DM_NEVER;
    memset(e->sent, 0, sizeof e->sent);
}

static void yield_entry(dm_node *n, lock_state *ls, arbiter_entry *e, int64_t now)
{
    send_msg(n, ls, DM_MSG_YIELD, e->node, ls->req.id, e->grant, 0, 0);
    entry_ungrant(e);
    e->requests = 0;
    schedule_retry(n, e, now);
}

/* During the lost margin of a hold that ran out its arbiters must keep the
 * grant to the end of their own leases: a RELEASE now would let another
 * node in while the application may still be stopping. */
static bool in_lost_margin(const dm_node *n, const lock_state *ls)
{
    return n->now < ls->margin_until;
}

static void release_all(dm_node *n, lock_state *ls)
{
    attempt *a = &ls->req;
    if (in_lost_margin(n, ls))
        return;
    for (guint i = 0; i < a->entries->len; i++) {
        const arbiter_entry *e = &g_array_index(a->entries, arbiter_entry, i);
        send_msg(n, ls, DM_MSG_RELEASE, e->node, a->id, 0, 0, 0);
        /* Only where others wait (the arbiter INQUIREd us) is a lost RELEASE
         * costly, and only there does the arbiter acknowledge one. */
        if (!e->granted || !e->contended || e->node == n->cfg.self)
            continue;
        if (!ls->releasing)   /* sized once: growing it realloc'd at every append */
            ls->releasing = g_array_sized_new(FALSE, FALSE, sizeof(releasing), a->entries->len);
        releasing r = { e->node, a->id, 1, n->now + rto_of(n, e->node) };
        g_array_append_val(ls->releasing, r);
    }
}

/* The last one gone, the array goes too: every reschedule asks whether the
 * name has any, and a NULL answers without a read of the array. */
static void release_drop(lock_state *ls, guint i)
{
    g_array_remove_index_fast(ls->releasing, i);
    if (ls->releasing->len == 0) {
        g_array_free(ls->releasing, TRUE);
        ls->releasing = NULL;
    }
}

/* The arbiter acknowledged a RELEASE (with REVOKED). */
static bool release_acked(lock_state *ls, const dm_msg *m)
{
    for (guint i = 0; ls->releasing && i < ls->releasing->len; i++) {
        const releasing *r = &g_array_index(ls->releasing, releasing, i);
        if (r->node == m->from && r->attempt == m->attempt) {
            release_drop(ls, i);
            return true;
        }
    }
    return false;
}

static void release_service(dm_node *n, lock_state *ls, int64_t now)
{
    for (guint i = ls->releasing ? ls->releasing->len : 0; i-- > 0;) {
        releasing *r = &g_array_index(ls->releasing, releasing, i);
        if (r->retry_at > now)
            continue;
        if (r->tx >= RELEASE_TRANSMISSIONS) {
            release_drop(ls, i);
            continue;
        }
        rtt_timeout(n, r->node);
        r->tx++;
        r->retry_at = now + rto_of(n, r->node);
        n->stats.retransmits++;
        send_msg(n, ls, DM_MSG_RELEASE, r->node, r->attempt, 0, 0, 0);
    }
}

static int64_t release_next_due(const lock_state *ls)
{
    int64_t due = DM_NEVER;
    for (guint i = 0; ls->releasing && i < ls->releasing->len; i++)
        due = min64(due, g_array_index(ls->releasing, releasing, i).retry_at);
    return due;
}

/* A hold starts (or starts again from kept grants): begin() watches its
 * lease from now on. */
static void held_add(dm_node *n, lock_state *ls)
{
    g_ptr_array_add(n->held, ls);
    n->held_lease_min = min64(n->held_lease_min, ls->req.lease_end);
}

static void held_remove(dm_node *n, lock_state *ls)
{
    g_ptr_array_remove_fast(n->held, ls);
}

static void finish_attempt(dm_node *n, lock_state *ls, dm_event_type ev, int reason)
{
    if (ev == DM_EV_FAILED)
        n->stats.failed++;
    else if (ev == DM_EV_LOST)
        n->stats.lost++;
    if (ls->req.phase == PHASE_HELD)
        held_remove(n, ls);
    queue_event(n, ev, ls, reason);
    release_all(n, ls);
    attempt_clear(&ls->req);
}

/* ---- sticky grants (grant_cache; docs/PROTOCOL.md "Sticky grants") */

/* Kept grants are given up: the RELEASE an unlock would have sent. */
static void cache_end(dm_node *n, lock_state *ls)
{
    n->stats.cache_releases++;
    release_all(n, ls);
    attempt_clear(&ls->req);
}

/* Others want the name: keeping grants would cost them a round trip per
 * hand-over (INQUIRE, RELEASE), and the keeper gains nothing, so the name
 * is acquired as without the cache for a while (ten idle waits). */
static void cache_contended(dm_node *n, lock_state *ls, int64_t now)
{
    ls->cache_off_until = now + 10 * n->cfg.grant_cache_idle_us;
}

/* A quorum member is suspected (timeouts, SWIM, RECOVERING): its grant
 * may be gone for good, so the grants are not kept or re-used. */
static bool cache_doubted(const dm_node *n, const attempt *a, int64_t now)
{
    for (guint i = 0; i < a->entries->len; i++) {
        const arbiter_entry *e = &g_array_index(a->entries, arbiter_entry, i);
        if (e->node != n->cfg.self && suspected(n, e->node, now))
            return true;
    }
    return false;
}

/* At an unlock: keep the grants (PHASE_CACHED) instead of releasing them,
 * if the hold saw nobody else want the name, every quorum member reserved
 * tokens beyond the current one, and no renewal is due before the wait
 * would end (nothing is renewed while kept: a re-use starts with the
 * lease that is left). False: release as usual. */
static bool cache_keep(dm_node *n, lock_state *ls, int64_t now)
{
    attempt *a = &ls->req;
    if (!n->cfg.grant_cache || a->try_once || n->leaving || sealed(n) || cache_doubted(n, a, now))
        return false;
    uint64_t ceiling = UINT64_MAX;
    int64_t until = min64(now + n->cfg.grant_cache_idle_us, a->lease_end);
    for (guint i = 0; i < a->entries->len; i++) {
        const arbiter_entry *e = &g_array_index(a->entries, arbiter_entry, i);
        if (e->contended) {
            cache_contended(n, ls, now);
            return false;
        }
        if (!e->in_quorum || !e->granted || e->keep_pending || e->reserved == 0)
            return false;
        ceiling = MIN(ceiling, e->reserved);
        until = min64(until, e->renew_from + renew_interval(n));
    }
    if (ceiling <= a->token || until <= now)
        return false;
    a->phase = PHASE_CACHED;
    a->cache_until = until;
    a->cache_ceiling = ceiling;
    return true;
}

static int next_attempt_id(dm_node *n, uint64_t *id);

/* lock() of a name whose grants are kept: hold again at once with the next
 * reserved token, under a new attempt id for the application (the
 * arbiters keep knowing the grants by the old one). 1: not re-usable (the
 * grants were released; acquire as usual). */
static int cache_reuse(dm_node *n, lock_state *ls, int64_t now, uint64_t *attempt_out)
{
    attempt *a = &ls->req;
    if (a->token >= a->cache_ceiling || a->cache_until <= now || a->lease_end <= now ||
        sealed(n) || cache_doubted(n, a, now)) {
        cache_end(n, ls);
        return 1;
    }
    uint64_t id;
    int rc = next_attempt_id(n, &id);
    if (rc < 0)
        return rc;
    a->app_id = id;
    a->token++;
    /* Every member's counter already covers it (reserved at the grant):
     * all its acknowledgement of a KEEP would give (the token order). */
    for (guint i = 0; i < a->entries->len; i++)
        g_array_index(a->entries, arbiter_entry, i).acked_token = a->token;
    a->phase = PHASE_HELD;
    a->requested_at = now;
    a->messages = 0;
    n->stats.acquired++;
    n->stats.cache_reuses++;
    held_add(n, ls);
    queue_event(n, DM_EV_GRANTED, ls, 0);
    if (attempt_out)
        *attempt_out = id;
    return 0;
}

static bool quorum_granted(const attempt *a)
{
    for (guint i = 0; i < a->entries->len; i++) {
        const arbiter_entry *e = &g_array_index(a->entries, arbiter_entry, i);
        if (e->in_quorum && !e->granted)
            return false;
    }
    return true;
}

/* The earliest lease end the quorum vouches for; false while some member
 * has not acknowledged the current token for its current grant. The token
 * must have been acknowledged by every member (the token-order argument);
 * the lease may rest on any acknowledged KEEP of the grant, since each one
 * extended the arbiter's lease from when it arrived, after it was sent. */
static bool quorum_lease(const dm_node *n, const attempt *a, int64_t *lease_end)
{
    int64_t end = DM_NEVER;
    for (guint i = 0; i < a->entries->len; i++) {
        const arbiter_entry *e = &g_array_index(a->entries, arbiter_entry, i);
        if (!e->in_quorum)
            continue;
        if (!e->granted || e->acked_token != a->token || e->basis == DM_NEVER)
            return false;
        end = min64(end, e->basis + n->holder_lease);
    }
    *lease_end = end;
    return true;
}

/* Renew the acknowledgements that are too old to vouch for a lease now and
 * are not being renewed already. */
static void fence_renew_stale(dm_node *n, lock_state *ls, int64_t now)
{
    attempt *a = &ls->req;
    for (guint i = 0; i < a->entries->len; i++) {
        arbiter_entry *e = &g_array_index(a->entries, arbiter_entry, i);
        if (e->in_quorum && !e->keep_pending && e->basis + n->holder_lease <= now)
            send_keep(n, ls, e, now);
    }
}

/* Fencing ends when every quorum member acknowledged the token. */
static void fence_check(dm_node *n, lock_state *ls, int64_t now)
{
    attempt *a = &ls->req;
    int64_t end;
    if (a->phase != PHASE_FENCING || !quorum_lease(n, a, &end))
        return;
    if (end <= now) {
        /* The acknowledgements are older than the lease they vouch for (a
         * pause, say): renew them all; arbiters that let the grant go
         * answer REVOKED. */
        fence_renew_stale(n, ls, now);
        return;
    }
    a->phase = PHASE_HELD;
    a->lease_end = end;
    n->stats.acquired++;
    held_add(n, ls);
    queue_event(n, DM_EV_GRANTED, ls, 0);
}

static void start_fence(dm_node *n, lock_state *ls, int64_t now)
{
    attempt *a = &ls->req;
    uint64_t token = 0;
    for (guint i = 0; i < a->entries->len; i++) {
        const arbiter_entry *e = &g_array_index(a->entries, arbiter_entry, i);
        if (e->in_quorum && e->grant > token)
            token = e->grant;
    }
    a->token = token;
    a->phase = PHASE_FENCING;
    /* Members that already acknowledged this very token for their current
     * grant (before a re-formation, say) need not be asked again, nor need
     * the member whose own grant id is the token: it issued that id from its
     * counter, so the counter is already that high, which is all a KEEP's
     * acknowledgement of the token would make it (docs/PROTOCOL.md, "Fencing
     * tokens"). Its grant's lease then rests on the attempt's start: the
     * arbiter granted after a REQUEST of this attempt arrived, so after that.
     * Only while that basis leaves most of a lease (the usual fast grant);
     * a grant that came late is fenced with a KEEP as before. */
    for (guint i = 0; i < a->entries->len; i++) {
        arbiter_entry *e = &g_array_index(a->entries, arbiter_entry, i);
        if (!e->in_quorum || e->acked_token == token)
            continue;
        if (e->grant == token && a->requested_at + renew_interval(n) > now) {
            e->acked_token = token;
            e->keep_pending = false;
            if (e->basis == DM_NEVER || e->basis < a->requested_at)
                e->basis = a->requested_at;
            e->renew_from = MIN(e->renew_from, e->basis);
            continue;
        }
        send_keep(n, ls, e, now);
    }
    fence_check(n, ls, now);
}

static bool suspect(dm_node *n, uint32_t node, int64_t now)
{
    if (node == n->cfg.self)
        return false;
    peer_suspect *p = dm_peermap_put(&n->suspects, node);
    p->suspected_until = now + n->cfg.suspect_us;
    return true;
}

static void back_to_acquiring(attempt *a)
{
    a->phase = PHASE_ACQUIRING;
    a->token = 0;   /* renewals must not claim a token that is not fenced */
}

static void reform_quorum(dm_node *n, lock_state *ls, int64_t now)
{
    attempt *a = &ls->req;
    int size = form_quorum(n, placement_of(n, ls->key), a, now);
    if (size < 0) {
        a->last_error = size;
        return;
    }
    a->last_error = 0;
    adopt_quorum(n, ls, (uint32_t)size, now);
    if (quorum_granted(a))
        start_fence(n, ls, now);
    else if (a->phase == PHASE_FENCING)
        back_to_acquiring(a);
}

static void lose(dm_node *n, lock_state *ls, int reason)
{
    g_debug("node %u: lost %s (token %" G_GUINT64_FORMAT "): %s", n->cfg.self, ls->name,
            ls->req.token, dm_strerror(reason));
    /* Run out by our own clock, the arbiters still hold the grant for at
     * least the margin, which is the application's time to stop; where one
     * arbiter revoked it (a restart, say), the others still do. */
    if (dm_config_lost_margin(&n->cfg) > 0)
        ls->margin_until = n->now + dm_config_lost_margin(&n->cfg);
    finish_attempt(n, ls, DM_EV_LOST, reason);
}

static void req_grant(dm_node *n, lock_state *ls, arbiter_entry *e, const dm_msg *m, int64_t now)
{
    attempt *a = &ls->req;
    if (m->grant <= e->floor || (e->granted && m->grant <= e->grant)) {
        n->stats.stale++;
        return;
    }
    if (e->granted && a->phase == PHASE_HELD && e->in_quorum) {
        /* The arbiter let our grant go and issued another: the lease it
         * vouched for is gone, whatever we believe. */
        lose(n, ls, -DM_EREVOKED);
        return;
    }
    bool replaced = e->granted;
    if (replaced)
        entry_ungrant(e);
    e->granted = true;
    e->heard = true;
    e->grant = m->grant;
    e->reserved = m->type == DM_MSG_GRANT_RESERVED && m->value > m->grant ? m->value : 0;
    e->reserve_span = e->reserved ? e->reserved - m->grant : 0;
    e->renew_from = now;
    if (replaced && a->phase == PHASE_FENCING)
        back_to_acquiring(a);   /* the token may change: fence again */
    if (a->phase == PHASE_ACQUIRING && quorum_granted(a)) {
        start_fence(n, ls, now);
        return;
    }
    if (e->inquired == m->grant && (a->phase == PHASE_ACQUIRING || !e->in_quorum))
        yield_entry(n, ls, e, now);
}

static void req_inquire(dm_node *n, lock_state *ls, arbiter_entry *e, const dm_msg *m, int64_t now)
{
    bool probe = m->value == DM_INQUIRE_PROBE;
    if (e->granted && e->grant == m->grant) {
        e->contended = true;
        if (!probe && (ls->req.phase == PHASE_ACQUIRING || !e->in_quorum))
            yield_entry(n, ls, e, now);
        else if (!probe && ls->req.token != 0 && !e->keep_pending)
            /* Asked to yield a grant we will not give back: its arbiter
             * has not heard the token (the fence round skips the member
             * whose grant id is the token). A KEEP tells it, so it probes
             * from now on instead of asking again. */
            send_keep(n, ls, e, now);
    } else if (!e->granted && m->grant > e->floor) {
        /* An INQUIRE names the grant it concerns: the arbiter granted this
         * attempt, and the GRANT was lost or is late. Take the grant from
         * it (yielding it at once if asked to), rather than wait for a
         * re-sent REQUEST to bring the GRANT again. */
        dm_msg grant = *m;
        grant.type = DM_MSG_GRANT;
        if (!probe)
            e->inquired = m->grant;
        req_grant(n, ls, e, &grant, now);
        if (e->granted && e->grant == m->grant)
            e->contended = true;
    } else if (!e->granted && m->grant == e->floor) {
        /* Asked again about a grant we gave back: the YIELD was lost. */
        send_msg(n, ls, DM_MSG_YIELD, e->node, ls->req.id, m->grant, 0, 0);
    } else {
        n->stats.stale++;
    }
}

/* A KEPT names the KEEP transmission it answers by its round. It counts if
 * that transmission was for the current grant -- however old it is, which
 * keeps high round trips from starving the fence -- and it acknowledges the
 * token only if the transmission announced the current token: a round that
 * announced another must not count, or tokens could go backwards. */
static void req_kept(dm_node *n, lock_state *ls, arbiter_entry *e, const dm_msg *m, int64_t now)
{
    attempt *a = &ls->req;
    const keep_sent *k = &e->sent[m->round % KEEP_HISTORY];
    if (!e->granted || e->grant != m->grant || m->round == 0 || k->round != m->round ||
        k->token != m->value) {
        n->stats.stale++;
        return;
    }
    if (e->node != n->cfg.self)   /* an in-process round trip says nothing of the network */
        rtt_sample(n, e->node, now - k->at);
    if (e->basis == DM_NEVER || k->at > e->basis) {
        e->basis = k->at;
        e->renew_from = k->at;
    }
    if (m->value == a->token) {
        e->acked_token = m->value;
        e->keep_pending = false;
    }
    if (e->reserved && m->value != 0 && m->value <= UINT64_MAX - e->reserve_span)
        e->reserved = MAX(e->reserved, m->value + e->reserve_span);   /* arb_keep's rule */
    int64_t end;
    if (a->phase == PHASE_FENCING) {
        fence_check(n, ls, now);
    } else if (a->phase == PHASE_HELD && quorum_lease(n, a, &end) && end > a->lease_end) {
        a->lease_end = end;
        queue_event(n, DM_EV_RENEWED, ls, 0);
    }
    /* While acquiring, a KEEP only keeps the grant alive: no lease yet. */
}

static void req_revoked(dm_node *n, lock_state *ls, arbiter_entry *e, const dm_msg *m, int64_t now)
{
    attempt *a = &ls->req;
    if (!e->granted || e->grant != m->grant) {
        n->stats.stale++;
        return;
    }
    if (a->phase == PHASE_HELD && e->in_quorum) {
        lose(n, ls, -DM_EREVOKED);
        return;
    }
    entry_ungrant(e);
    e->floor = m->grant;
    e->requests = 0;
    if (a->phase == PHASE_FENCING && e->in_quorum)
        back_to_acquiring(a);
    if (e->in_quorum)
        send_request(n, ls, e, now);
}

/* The arbiter cannot grant for a while (it is recovering from a start): go
 * around it if another quorum exists. It keeps our request queued, so when
 * none does we still get its grant once it may give one. */
static void req_recovering(dm_node *n, lock_state *ls, arbiter_entry *e, const dm_msg *m,
                           int64_t now)
{
    int64_t wait = (int64_t)MIN(m->value, (uint64_t)n->cfg.lease_us * 2);
    if (e->node == n->cfg.self || e->granted)
        return;
    peer_suspect *p = dm_peermap_put(&n->suspects, e->node);
    p->avoid_until = now + wait;
    if (ls->req.phase == PHASE_ACQUIRING && e->in_quorum)
        reform_quorum(n, ls, now);
}

/* Someone remembers an attempt id of ours that this life never issued: an
 * earlier life (whose state was lost) got further. Move the epoch past it,
 * so that arbiters that remember it do not take our attempts for stale
 * ones. True when the epoch moved (the caller persists it). */
static bool epoch_past(dm_node *n, uint64_t attempt)
{
    uint64_t issued = (uint64_t)n->epoch << 32 | n->attempt_seq;
    uint32_t epoch = (uint32_t)(attempt >> 32);
    if (attempt <= issued || epoch >= UINT32_MAX - 1)
        return false;
    n->epoch = epoch + 1;
    n->attempt_seq = 0;
    return true;
}

/* An arbiter's answer names an attempt id of ours beyond what we issued. */
static void learn_epoch(dm_node *n, uint64_t attempt)
{
    if (!epoch_past(n, attempt))
        return;
    g_info("node %u: an earlier life used attempt epochs up to %u; moving to %u", n->cfg.self,
           n->epoch - 1, n->epoch);
    persist_state(n, n->token_ceiling);
}

static void req_message(dm_node *n, lock_state *ls, const dm_msg *m, int64_t now)
{
    attempt *a = &ls->req;
    bool current = a->phase != PHASE_IDLE && a->id == m->attempt;
    if (m->type == DM_MSG_REVOKED && release_acked(ls, m))
        return;
    if (!current) {
        /* An arbiter holds a grant for an attempt of ours that is over. */
        if ((m->type == DM_MSG_GRANT || m->type == DM_MSG_GRANT_RESERVED ||
             m->type == DM_MSG_INQUIRE) && !in_lost_margin(n, ls))
            send_msg(n, ls, DM_MSG_RELEASE, m->from, m->attempt, 0, 0, 0);
        n->stats.stale++;
        return;
    }
    arbiter_entry *e = entry_find(a, m->from);
    if (!e) {
        if (m->type == DM_MSG_GRANT || m->type == DM_MSG_GRANT_RESERVED ||
            m->type == DM_MSG_INQUIRE)
            send_msg(n, ls, DM_MSG_RELEASE, m->from, m->attempt, 0, 0, 0);
        n->stats.stale++;
        return;
    }
    if (a->phase == PHASE_CACHED && m->type != DM_MSG_KEPT && m->type != DM_MSG_FAILED) {
        /* Kept grants are given up at the first sign that anything is
         * not as it was: others wait (INQUIRE), a grant is not in force
         * (REVOKED) or was replaced (GRANT). */
        bool grant = m->type == DM_MSG_GRANT || m->type == DM_MSG_GRANT_RESERVED;
        if (grant && e->granted && m->grant <= e->grant) {
            n->stats.stale++;   /* a duplicate of a kept grant */
            return;
        }
        if (m->type == DM_MSG_INQUIRE && e->granted && e->grant == m->grant) {
            e->contended = true;   /* others wait: the RELEASE is re-sent until acknowledged */
            cache_contended(n, ls, now);
        }
        cache_end(n, ls);
        return;
    }
    if (m->from != n->cfg.self)
        a->messages++;
    if (!e->heard) {
        /* It answered: from now on it is asked again only in case that
         * answer was lost (schedule_retry). */
        e->heard = true;
        e->requests = 0;
        if (!e->granted)
            schedule_retry(n, e, now);
    }
    switch (m->type) {
    case DM_MSG_GRANT:
    case DM_MSG_GRANT_RESERVED: req_grant(n, ls, e, m, now); break;
    case DM_MSG_FAILED:     break;   /* queued behind a higher priority: it is alive */
    case DM_MSG_INQUIRE:    req_inquire(n, ls, e, m, now); break;
    case DM_MSG_KEPT:       req_kept(n, ls, e, m, now); break;
    case DM_MSG_REVOKED:    req_revoked(n, ls, e, m, now); break;
    case DM_MSG_RECOVERING: req_recovering(n, ls, e, m, now); break;
    case DM_MSG_HELD:
        /* Ends at the next tick (never from inside lock()), within the
         * acquisition only: a try that got every grant holds. */
        if (a->try_once && a->phase == PHASE_ACQUIRING) {
            a->last_error = -DM_EHELD;
            a->deadline = now;
        }
        break;
    default: break;
    }
}


static void req_service(dm_node *n, lock_state *ls, int64_t now)
{
    attempt *a = &ls->req;
    if (a->phase == PHASE_IDLE)
        return;
    if (a->phase == PHASE_CACHED) {
        if (a->cache_until <= now)
            cache_end(n, ls);
        return;
    }
    if (a->phase == PHASE_HELD) {
        if (a->lease_end <= now) {
            lose(n, ls, -DM_ELEASE);
            return;
        }
    } else if (a->deadline <= now) {
        int reason = a->last_error ? a->last_error : -DM_ETIMEDOUT;
        finish_attempt(n, ls, DM_EV_FAILED, reason);
        return;
    }
    bool reform = false;
    /* Nothing in the loop changes the phase or the entries array (a
     * re-formation, which would, comes after it): read them once. */
    const bool acquiring = a->phase == PHASE_ACQUIRING;
    const int64_t renew = renew_interval(n);
    arbiter_entry *e = (arbiter_entry *)(void *)a->entries->data;
    for (arbiter_entry *end = e + a->entries->len; e < end; e++) {
        if (!e->in_quorum)
            continue;
        if (!e->granted) {
            if (!acquiring || e->retry_at > now)
                continue;
            if (!e->heard) {
                /* One timeout may be a slow path; a second is suspicious
                 * enough to route around it. */
                rtt_timeout(n, e->node);
                if (e->requests >= SUSPECT_TRANSMISSIONS)
                    reform |= suspect(n, e->node, now);
            } else if (suspected(n, e->node, now)) {
                /* It queued us and went quiet since: its GRANT may never
                 * come, and what we collected waits with us. */
                reform = true;
            }
            n->stats.retransmits++;
            send_request(n, ls, e, now);
        } else if (e->keep_pending) {
            if (e->keep_last_sent + rto_of(n, e->node) > now)
                continue;
            rtt_timeout(n, e->node);
            /* A granted arbiter that stops answering while we fence would
             * stall the attempt until its timeout: route around it. */
            if (a->phase == PHASE_FENCING && e->keep_tx >= FENCE_TRANSMISSIONS)
                reform |= suspect(n, e->node, now);
            n->stats.retransmits++;
            send_keep(n, ls, e, now);
        } else if (e->renew_from + renew <= now) {
            send_keep(n, ls, e, now);
        }
    }
    if (reform)
        reform_quorum(n, ls, now);
}

/* True when an attempt waits for the grant of an arbiter now suspected.
 * Only formation avoids suspects; one that answered (queued us) and is then
 * lost would otherwise be waited for until the attempt's deadline, holding
 * every grant collected meanwhile, and an attempt that outranks all others
 * is never asked to yield them. */
static bool waits_on_suspect(const dm_node *n, const attempt *a, int64_t now)
{
    if (a->phase != PHASE_ACQUIRING)
        return false;
    for (guint i = 0; i < a->entries->len; i++) {
        const arbiter_entry *e = &g_array_index(a->entries, arbiter_entry, i);
        if (e->in_quorum && !e->granted && e->node != n->cfg.self && suspected(n, e->node, now))
            return true;
    }
    return false;
}

static int64_t req_next_due(const dm_node *n, const attempt *a)
{
    if (a->phase == PHASE_IDLE)
        return DM_NEVER;
    if (a->phase == PHASE_CACHED)
        return a->cache_until;
    int64_t due = a->phase == PHASE_HELD ? a->lease_end : a->deadline;
    /* Every reschedule runs this: the loop's invariants are read once. */
    const bool acquiring = a->phase == PHASE_ACQUIRING;
    const int64_t renew = renew_interval(n);
    const arbiter_entry *e = (const arbiter_entry *)(const void *)a->entries->data;
    for (const arbiter_entry *end = e + a->entries->len; e < end; e++) {
        if (!e->in_quorum)
            continue;
        if (!e->granted) {
            if (acquiring)
                due = min64(due, e->retry_at);
        } else if (e->keep_pending) {
            due = min64(due, e->keep_last_sent + rto_of(n, e->node));
        } else {
            due = min64(due, e->renew_from + renew);
        }
    }
    return due;
}

static int64_t arb_next_due(const dm_node *n, const arbiter *a, int64_t now)
{
    if (a->granted)
        return min64(a->lease_until, a->inquire_at);
    /* Waiting out recovery (grant_waiting() serves the queue the moment
     * the floor is known; this is the fallback), or a failed persist. Never
     * DM_NEVER: reschedule() would take a name with waiters for idle. */
    if (a->queue->len > 0 && a->delay_until > now)
        return MAX(a->delay_until, n->quiet_until);
    if (a->queue->len > 0)
        return n->quiet_until > now ? n->quiet_until : now + n->cfg.rpc_timeout_us;
    if (a->delay_until != 0)
        return a->delay_until;   /* to end it (lock_idle) */
    return DM_NEVER;
}

/* ---------------------------------------------------------------- recovery */

/* A node started without persisted state may, in an earlier life, have
 * granted leases that are still in force and acknowledged tokens that
 * holders rely on. The quiet period covers the leases. For the tokens it
 * asks a quorum formed with ITSELF marked unusable for their counters: such
 * a quorum meets every quorum -- also those that contain this node -- at
 * some other member, which acknowledged every token a holder of that
 * quorum was fenced with, so the maximum covers every token acknowledged
 * anywhere. The same answers name the highest attempt id each member
 * remembers of us, so that our attempt ids do not repeat an earlier life's.
 * A member that is itself recovering proves nothing and is routed around.
 * A wiped node does not know which lock names exist, so with members placed
 * per name it asks one such quorum of EVERY placement: their union meets
 * every quorum of every name. */

enum { REC_NONE = 0, REC_ASKED, REC_USABLE, REC_UNUSABLE };

static void send_node_msg(dm_node *n, dm_msg_type type, uint32_t to, uint64_t attempt,
                          uint64_t grant, uint64_t value, uint32_t round)
{
    dm_msg m;
    msg_init(n, &m, type, to, attempt, grant, value, round);
    n->stats.sent[type]++;
    n->drv.send(n->user, &m);
}

/* Form one placement's recovery quorum into n->quorum_buf: never this node,
 * nor members that said they are recovering; suspects only when nothing else
 * is left. Members already asked for another placement are preferred, so
 * the union stays small. Returns its size, or -DM_ENOQUORUM. */
static int rec_form_at(dm_node *n, uint32_t placement, const uint8_t *chosen, int64_t now)
{
    uint32_t N = n->cfg.n_members;
    int32_t stack[HINT_STACK_WORDS];
    hint_buf h = hint_new(N, stack);
    int size = -DM_ENOQUORUM;
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t i = 0; i < N; i++) {
            bool out = i == n->cfg.self || n->rec[i].state == REC_UNUSABLE;
            if (!out)
                out = pass == 0 ? suspected(n, i, now)
                                : n->members && !dm_membership_in_view(n->members, i);
            h.unusable[i] = out;
            h.preference[i] = (n->rec[i].state == REC_USABLE ? 1 : 0) + chosen[i];
        }
        dm_quorum_hint hint = { h.unusable, h.preference };
        size = dm_quorum_form_at(n->quorum, placement, &hint, n->quorum_buf, N);
        if (size != -DM_ENOQUORUM)
            break;
    }
    hint_free(&h);
    return size;
}

/* The recovery set: the union of one recovery quorum per placement, into
 * n->rec_quorum. Returns its size, or -DM_ENOQUORUM when some placement has
 * none. */
static int rec_form(dm_node *n, int64_t now)
{
    uint32_t N = n->cfg.n_members, size = 0;
    uint8_t *chosen = g_new0(uint8_t, N);
    int rc = 0;
    for (uint32_t k = 0; k < placements_in_use(n) && rc >= 0; k++) {
        rc = rec_form_at(n, k, chosen, now);
        for (int q = 0; q < rc; q++) {
            uint32_t id = n->quorum_buf[q];
            if (!chosen[id]) {
                chosen[id] = 1;
                n->rec_quorum[size++] = id;
            }
        }
    }
    g_free(chosen);
    return rc < 0 ? rc : (int)size;
}

static void rec_ask(dm_node *n, uint32_t member, int64_t now)
{
    if (n->rec[member].state == REC_NONE) {
        n->rec[member].state = REC_ASKED;
        n->rec[member].sent_at = now;
    }
    n->rec[member].tx++;
    n->rec[member].last_sent = now;
    send_node_msg(n, DM_MSG_RECOVER, member, 0, 0, n->rec_round, 0);
}

static void grant_waiting(dm_node *n, int64_t now);

static void rec_end(dm_node *n)
{
    g_clear_pointer(&n->rec, g_free);
    g_clear_pointer(&n->rec_quorum, g_free);
}

static void rec_complete(dm_node *n, int64_t now)
{
    if (n->rc) {
        if (n->rec_newest > config_epoch(n)) {
            n->rec_next = now + n->cfg.rpc_timeout_us;   /* wait for the newer configuration */
            return;
        }
        /* We may have promised or accepted in this epoch before our disk
         * was lost: we never vote in it; we propose its successor (the same
         * members will do) so that we can vote again in the next. */
        if (dm_reconfig_abstain(n->rc, config_epoch(n)) < 0) {
            n->rec_next = now + n->cfg.rpc_timeout_us;
            return;
        }
        n->epoch_dirty = true;
    }
    epoch_past(n, n->rec_attempt);   /* persisted with the floor below */
    uint64_t floor = MAX(n->rec_floor, n->highest_token);
    n->floor_pending = false;
    if (persist_state(n, floor + n->cfg.token_stride) < 0) {
        n->floor_pending = true;   /* tried again at the next input */
        n->rec_next = now + n->cfg.rpc_timeout_us;
        return;
    }
    n->highest_token = floor;
    rec_end(n);
    g_info("node %u: recovered token floor %" G_GUINT64_FORMAT " and attempt epoch %u from %u "
           "members", n->cfg.self, floor, n->epoch, n->rec_size);
    grant_waiting(n, now);
}

static void recovery_run(dm_node *n, int64_t now)
{
    if (!n->floor_pending || now < n->rec_next)
        return;
    /* Ask again whoever did not answer in time; route around members that
     * stay silent or are recovering themselves. */
    bool reform = n->rec_size == 0;
    for (uint32_t q = 0; q < n->rec_size; q++) {
        uint32_t id = n->rec_quorum[q];
        if (n->rec[id].state == REC_UNUSABLE) {
            reform = true;
        } else if (n->rec[id].state == REC_ASKED && n->rec[id].last_sent + rto_of(n, id) <= now) {
            rtt_timeout(n, id);
            if (n->rec[id].tx >= SUSPECT_TRANSMISSIONS)
                reform |= suspect(n, id, now);
            n->stats.retransmits++;
            rec_ask(n, id, now);
        }
    }
    if (reform) {
        int size = rec_form(n, now);
        if (size < 0) {
            n->rec_size = 0;
            /* Ask the recovering ones again later: they may be done then,
             * or restarted with their disk back. */
            for (uint32_t i = 0; i < n->cfg.n_members; i++) {
                if (n->rec[i].state == REC_UNUSABLE) {
                    n->rec[i].state = REC_NONE;
                    n->rec[i].tx = 0;
                }
            }
            if (!n->floor_warned) {
                n->floor_warned = true;
                g_warning("node %u: started without persisted state, and no quorum without it "
                          "can be reached: it grants nothing until one can (or restore its "
                          "data, or start a member that never ran with bootstrap)",
                          n->cfg.self);
            }
            n->rec_next = now + n->cfg.rpc_timeout_us;
            return;
        }
        n->rec_size = (uint32_t)size;
    }
    bool done = true;
    int64_t next = DM_NEVER;
    for (uint32_t q = 0; q < n->rec_size; q++) {
        uint32_t id = n->rec_quorum[q];
        if (n->rec[id].state == REC_USABLE)
            continue;
        done = false;
        /* New to the quorum, or back in it after an earlier timeout. */
        if (n->rec[id].state == REC_NONE || n->rec[id].last_sent + rto_of(n, id) <= now)
            rec_ask(n, id, now);
        next = min64(next, n->rec[id].last_sent + rto_of(n, id));
    }
    if (done) {
        rec_complete(n, now);
        return;
    }
    n->rec_next = next;
}

/* The highest attempt id of `member` that this node remembers anywhere. */
static uint64_t remembered_attempt(const dm_node *n, uint32_t member)
{
    uint64_t best = 0;
    GHashTableIter it;
    gpointer p;
    g_hash_table_iter_init(&it, n->locks);
    while (g_hash_table_iter_next(&it, NULL, &p)) {
        const lock_state *ls = p;
        best = MAX(best, finished_get(ls, member));
        if (ls->arb.granted && ls->arb.grantee.node == member)
            best = MAX(best, ls->arb.grantee.attempt);
        for (guint i = 0; i < ls->arb.queue->len; i++) {
            const request_id *r = &g_array_index(ls->arb.queue, request_id, i);
            if (r->node == member)
                best = MAX(best, r->attempt);
        }
    }
    return best;
}

static void handle_recover(dm_node *n, const dm_msg *m)
{
    dm_msg f;
    msg_init(n, &f, DM_MSG_FLOOR, m->from, remembered_attempt(n, m->from), n->highest_token,
             m->value, n->floor_pending ? 1 : 0);
    /* Epoch policy: a successor of our epoch accepted here may have been
     * chosen; the asker must not take our epoch for the latest yet. */
    if (n->rc)
        f.ballot2 = dm_reconfig_get_state(n->rc)->accepted_ballot;
    n->stats.sent[DM_MSG_FLOOR]++;
    n->drv.send(n->user, &f);
}

/* Epoch policy: whether an answer settles which configuration is current.
 * A member in a newer epoch makes us ask for it (and recovery starts over
 * in it when it is installed); one that accepted a successor of our epoch
 * is asked again later. Either way its counter is a safe lower bound. */
static bool floor_settles_epoch(dm_node *n, const dm_msg *m, int64_t now)
{
    uint64_t e = config_epoch(n);
    if (!n->rc)
        return true;
    if (m->epoch < e)
        epoch_send_newer(n, m->from);   /* behind: it acknowledged nothing of ours */
    if (m->epoch <= e && m->ballot2 == 0)
        return true;
    if (m->epoch > e) {
        n->rec_newest = MAX(n->rec_newest, m->epoch);
        epoch_send_stale(n, m->from);
    }
    n->rec_floor = MAX(n->rec_floor, m->grant);
    n->rec[m->from].tx = 0;
    n->rec[m->from].last_sent = now;
    return false;
}

static void handle_floor(dm_node *n, const dm_msg *m, int64_t now)
{
    uint32_t id = m->from;
    if (!n->floor_pending || m->value != n->rec_round || n->rec[id].state != REC_ASKED) {
        n->stats.stale++;
        return;
    }
    if (n->rec[id].tx == 1)
        rtt_sample(n, id, now - n->rec[id].sent_at);   /* unambiguous: asked once */
    if (!m->round && !floor_settles_epoch(n, m, now)) {
        n->rec_next = now;
        recovery_run(n, now);
        return;
    }
    if (m->round) {
        n->rec[id].state = REC_UNUSABLE;
    } else {
        n->rec[id].state = REC_USABLE;
        n->rec_floor = MAX(n->rec_floor, m->grant);
        n->rec_attempt = MAX(n->rec_attempt, m->attempt);
    }
    n->rec_next = now;
    recovery_run(n, now);
}

/* ---------------------------------------------------------------- scheduling */

static void reschedule(dm_node *n, lock_state *ls, int64_t now)
{
    int64_t due = min64(arb_next_due(n, &ls->arb, now), req_next_due(n, &ls->req));
    due = min64(due, release_next_due(ls));
    if (due == DM_NEVER && !lock_idle(ls)) {
        /* State without a deadline would never be served again, and the idle
         * deadline below may lie in the past (a loop): look again later. */
        due = now + n->cfg.rpc_timeout_us;
        ls->idle_since = DM_NEVER;
    } else if (due == DM_NEVER) {
        /* Nothing pending: forget the name after a while so that unused names
         * cost nothing; until then its finished-attempt marks absorb late
         * duplicates. */
        if (ls->idle_since == DM_NEVER)
            ls->idle_since = now;
        due = ls->idle_since + 2 * n->cfg.lease_us;
    } else {
        ls->idle_since = DM_NEVER;
    }
    dm_heap_schedule(&n->deadlines, &ls->due, due);
}

static void service(dm_node *n, lock_state *ls, int64_t now)
{
    req_service(n, ls, now);
    release_service(n, ls, now);
    arb_service(n, ls, now);
    if (lock_idle(ls) && ls->idle_since != DM_NEVER && ls->idle_since + 2 * n->cfg.lease_us <= now) {
        dm_heap_remove(&n->deadlines, &ls->due);
        lock_remove(n, ls);
        return;
    }
    reschedule(n, ls, now);
}

/* Recovery ended: serve the requests queued meanwhile. */
static void grant_waiting(dm_node *n, int64_t now)
{
    GHashTableIter it;
    gpointer p;
    g_hash_table_iter_init(&it, n->locks);
    while (g_hash_table_iter_next(&it, NULL, &p)) {
        lock_state *ls = p;
        if (ls->arb.queue->len > 0) {
            grant_next(n, ls, now);
            reschedule(n, ls, now);
        }
    }
}

/* own: m was built by a core (this one, or via dm_node_receive_own), so its
 * name_key, when set, is the name's hash. */
static void handle_message(dm_node *n, const dm_msg *m, int64_t now, bool own)
{
    if (m->clock > n->clock)
        n->clock = m->clock;
    n->clock++;
    if (m->type != DM_MSG_RECOVER && m->type != DM_MSG_FLOOR && !epoch_admit(n, m))
        return;
    if (m->type == DM_MSG_RECOVER) {
        handle_recover(n, m);
        return;
    }
    if (m->type == DM_MSG_FLOOR) {
        handle_floor(n, m, now);
        return;
    }
    if (!requester_type(m->type))
        learn_epoch(n, m->attempt);
    /* Only a REQUEST creates arbiter state; a stray GRANT, INQUIRE or KEEP
     * creates it just long enough to be answered, then is collected. */
    bool answers = m->type == DM_MSG_REQUEST || m->type == DM_MSG_GRANT ||
                   m->type == DM_MSG_INQUIRE || m->type == DM_MSG_KEEP ||
                   m->type == DM_MSG_GRANT_RESERVED;
    uint64_t key = own && m->name_key ? m->name_key : dm_hash_str(m->name);
    lock_state *ls = lock_find_key(n, m->name, m->name_len, key);
    if (!ls && answers)
        ls = lock_new(n, m->name, m->name_len, key);
    if (!ls) {
        n->stats.stale++;
        return;
    }
    switch (m->type) {
    case DM_MSG_REQUEST: arb_request(n, ls, m, now); break;
    case DM_MSG_RELEASE: arb_release(n, ls, m, now); break;
    case DM_MSG_YIELD:   arb_yield(n, ls, m, now); break;
    case DM_MSG_KEEP:    arb_keep(n, ls, m, now); break;
    default:             req_message(n, ls, m, now); break;
    }
    reschedule(n, ls, now);
}

static void drain_local_all(dm_node *n, int64_t now)
{
    /* Handling one may queue more, behind it. A message stays in its slot
     * while handled: what it queues goes to slots after it, and the array
     * may move but the messages do not. */
    while (n->local_next < n->local_len)
        handle_message(n, n->local[n->local_next++], now, true);
    n->local_len = 0;
    n->local_next = 0;
}

/* Called after every input and every serviced lock, and usually with
 * nothing queued: the test stays inline. */
static inline void drain_local(dm_node *n, int64_t now)
{
    if (n->local_len > 0)
        drain_local_all(n, now);
}

static void run_due_all(dm_node *n, int64_t now)
{
    dm_heap_entry *top;
    /* The entry stays queued while its lock is served: service() ends by
     * rescheduling it (or collecting it), one sift instead of two. */
    while ((top = dm_heap_peek(&n->deadlines)) != NULL && top->at <= now) {
        service(n, lock_of_entry(top), now);
        drain_local(n, now);
    }
}

/* Every input asks, and most find nothing due: that answer stays inline,
 * without the entry of the service loop (which saves many registers). */
static inline void run_due(dm_node *n, int64_t now)
{
    const dm_heap_entry *top = dm_heap_peek(&n->deadlines);
    if (top && top->at <= now)
        run_due_all(n, now);
}

/* The held leases that ran out are lost, before anything else happens. */
static void lose_run_out(dm_node *n, int64_t now)
{
    int64_t min = DM_NEVER;
    /* Removing entry i moves the last one, already seen, into it. */
    for (guint i = n->held->len; i-- > 0;) {
        lock_state *ls = g_ptr_array_index(n->held, i);
        if (ls->req.lease_end <= now) {
            lose(n, ls, -DM_ELEASE);
            reschedule(n, ls, now);
        } else {
            min = min64(min, ls->req.lease_end);
        }
    }
    n->held_lease_min = min;
}

/* Every input starts here: leases first, then whatever fell due. Each
 * step is usually a test that finds nothing, so the tests are inlined into
 * the entry points and the work is called. */
static G_ALWAYS_INLINE inline void begin(dm_node *n, int64_t now)
{
    n->now = now;
    if (now >= n->held_lease_min)
        lose_run_out(n, now);
    run_due(n, now);
    if (n->floor_pending)
        recovery_run(n, now);
}

/* ---------------------------------------------------------------- epochs */

/* The epoch policy (dm_policy_ops.epochs). The quorum system is the one of
 * the installed configuration C_e (core/reconfig.h): every lock and
 * recovery message carries e, and only messages of e count. A member that
 * sees an older epoch answers with its configuration (NEWER); one that sees
 * a newer epoch asks for it (STALE). A change to C_{e+1} is agreed inside
 * C_e; a member sealed for it grants, renews and acknowledges nothing more
 * in e, so once a quorum of C_e is sealed no e-quorum completes, and every
 * e-holder's lease runs out within one lease of the seal. C_{e+1} grants
 * nothing until the longest lease the sealed members reported may have
 * ended (scaled for drift), and starts its tokens above the largest counter
 * they reported: every holder's quorum met the sealed quorum at a member
 * that had acknowledged its token. At the install every e-grant here is
 * void, every e-hold is lost and every acquisition starts over in e+1.
 * PROTOCOL.md ("The epoch policy") has the argument in full. */

typedef struct rc_event {
    dm_reconfig_event ev;
    dm_epoch_config conf;
} rc_event;

static uint64_t config_epoch(const dm_node *n)
{
    return n->rc ? dm_reconfig_current(n->rc)->epoch : 0;
}

static bool sealed(const dm_node *n)
{
    return n->rc && dm_reconfig_sealed(n->rc);
}

static bool in_config(const dm_node *n)
{
    return !n->rc || dm_epoch_config_has(dm_reconfig_current(n->rc), n->cfg.self);
}

static void rc_send(void *user, const dm_reconfig_msg *rm)
{
    dm_node *n = user;
    dm_msg m;
    if (dm_reconfig_msg_to_wire(rm, &m) < 0) {
        g_warning("node %u: cannot put %s on the wire", n->cfg.self,
                  dm_reconfig_msg_type_name(rm->type));
        return;
    }
    m.clock = ++n->clock;
    n->stats.sent[m.type]++;
    n->drv.send(n->user, &m);
}

static int rc_persist(void *user, const void *bytes, size_t len)
{
    dm_node *n = user;
    uint8_t *keep = g_memdup2(bytes, len);
    uint8_t *old = n->rc_blob;
    size_t old_len = n->rc_len;
    n->rc_blob = keep;
    n->rc_len = len;
    int rc = persist_state(n, n->token_ceiling);
    if (rc < 0) {   /* the module keeps its old state: so do we */
        n->rc_blob = old;
        n->rc_len = old_len;
        g_free(keep);
        return rc;
    }
    g_free(old);
    return 0;
}

static void rc_event_cb(void *user, const dm_reconfig_event *ev)
{
    dm_node *n = user;
    rc_event e = { .ev = *ev };
    if (ev->conf) {
        e.conf = *ev->conf;
        e.ev.conf = NULL;
    }
    g_array_append_val(n->rc_events, e);
}

/* What this member tells a proposer when it seals: its token counter, and
 * the longest lease it granted that may still be in force. */
static void rc_report(void *user, uint64_t *tokens, uint64_t *lease_us)
{
    dm_node *n = user;
    int64_t longest = 0;
    GHashTableIter it;
    gpointer p;
    g_hash_table_iter_init(&it, n->locks);
    while (g_hash_table_iter_next(&it, NULL, &p)) {
        const arbiter *a = &((lock_state *)p)->arb;
        if (a->granted && a->lease_until - n->now > longest)
            longest = a->lease_until - n->now;
    }
    *tokens = n->highest_token;
    *lease_us = (uint64_t)longest;
}

static const dm_reconfig_driver rc_driver = { rc_persist, rc_send, rc_event_cb, rc_report };

static void epoch_send_newer(dm_node *n, uint32_t to)
{
    const dm_reconfig_state *st = dm_reconfig_get_state(n->rc);
    dm_reconfig_msg rm = { .type = DM_RECONFIG_NEWER, .from = n->cfg.self, .to = to,
                           .epoch = st->current.epoch, .conf = st->current,
                           .tokens = st->token_floor, .lease_us = st->quiet_us };
    rc_send(n, &rm);
}

/* Ask `to` for its newer configuration (its module answers NEWER). */
static void epoch_send_stale(dm_node *n, uint32_t to)
{
    dm_reconfig_msg rm = { .type = DM_RECONFIG_STALE, .from = n->cfg.self, .to = to,
                           .epoch = config_epoch(n) };
    rc_send(n, &rm);
}

/* A lock or recovery message of another epoch: not ours to act on. The
 * older side learns the newer configuration. */
static bool epoch_admit(dm_node *n, const dm_msg *m)
{
    if (!n->rc)
        return true;
    uint64_t e = config_epoch(n);
    if (m->epoch == e)
        return true;
    n->stats.epoch_stale++;
    if (m->epoch < e)
        epoch_send_newer(n, m->from);
    else
        epoch_send_stale(n, m->from);
    return false;
}

static int set_quorum(dm_node *n, const uint32_t *ids, uint32_t count);

/* An operator's change may go against the view (a running member removed,
 * one that does not run yet added). The hysteresis of the automatic changes
 * then counts from the install, at every member alike, so that the change
 * is not undone at once: a removed member that keeps running is taken back
 * after rejoin_delay, an added one that does not come up is removed after
 * reconfig_delay. Automatic changes never go against the view as it was
 * tracked. */
static void epoch_mark_config(dm_node *n, const dm_epoch_config *c, int64_t now)
{
    for (uint32_t i = 0; i < n->cfg.n_members; i++) {
        uint8_t m = dm_epoch_config_has(c, i);
        /* Self too: removed while running, it counts rejoin_delay from
         * here, as its peers do, not from its start. */
        if (m != n->in_conf[i] && m != n->in_view[i])
            n->view_since[i] = now;
        n->in_conf[i] = m;
        n->known[i] |= m;
    }
}

/* C_{e+1} is in force here. */
static void epoch_installed(dm_node *n, const rc_event *e, int64_t now)
{
    const dm_epoch_config *c = &e->conf;
    if (set_quorum(n, c->ids, c->count) < 0) {
        g_warning("node %u: cannot build the quorum system of epoch %" G_GUINT64_FORMAT,
                  n->cfg.self, c->epoch);
        return;
    }
    n->stats.epochs++;
    epoch_mark_config(n, c, now);
    if (n->stayed_out && dm_epoch_config_has(c, n->cfg.self)) {
        n->stayed_out = false;   /* taken back by an operator: back in the view */
        dm_membership_rejoin(n->members, now);
    }
    if (e->ev.token_floor > n->highest_token && absorb_token(n, e->ev.token_floor) < 0)
        g_warning("node %u: cannot persist the token floor of epoch %" G_GUINT64_FORMAT,
                  n->cfg.self, c->epoch);
    int64_t quiet = scale_duration((int64_t)MIN(e->ev.quiet_us, (uint64_t)INT64_MAX / 4),
                                   1000000 + n->cfg.drift_ppm, 1000000 - n->cfg.drift_ppm, true);
    n->epoch_quiet_until = MAX(n->epoch_quiet_until, now + quiet);
    GHashTableIter it;
    gpointer p;
    g_hash_table_iter_init(&it, n->locks);
    while (g_hash_table_iter_next(&it, NULL, &p)) {
        lock_state *ls = p;
        /* Grants and queued requests of the old epoch are void here. */
        if (ls->arb.granted)
            lapse_grant(n, ls, now, -DM_EREVOKED);
        g_array_set_size(ls->arb.queue, 0);
        attempt *a = &ls->req;
        if (a->phase == PHASE_HELD) {
            lose(n, ls, -DM_EREVOKED);
        } else if (a->phase == PHASE_CACHED) {
            /* Void with the epoch, like the grants they were. */
            n->stats.cache_releases++;
            attempt_clear(a);
        } else if (a->phase == PHASE_ACQUIRING || a->phase == PHASE_FENCING) {
            /* Start over in the new epoch under the same attempt id: no
             * RELEASE (an arbiter of the new epoch would take it for the
             * end of this attempt), the old grants die with the epoch. */
            g_array_set_size(a->entries, 0);
            a->phase = PHASE_ACQUIRING;
            a->token = 0;
            reform_quorum(n, ls, now);
        }
        reschedule(n, ls, now);
    }
    dm_event *ev = new_event(n, DM_EV_EPOCH, NULL);
    ev->epoch = c->epoch;
    ev->view_size = c->count;
    ev->view_hash = n->members_hash;
    if (n->floor_pending) {
        /* Recovering: the set to ask is the new configuration's. */
        n->rec_size = 0;
        n->rec_next = now;
    }
    n->epoch_dirty = true;
}

/* An operator's change ended: say how. Another configuration winning the
 * epoch is "busy": the operator looks at it and asks again. */
static void epoch_operator_done(dm_node *n, const rc_event *e)
{
    n->op_proposal = false;
    dm_event *ev = new_event(n, DM_EV_RECONFIG, NULL);
    ev->reason = e->ev.reason < 0 ? e->ev.reason : e->ev.own ? 0 : -DM_EBUSY;
    ev->epoch = e->ev.reason == 0 ? e->conf.epoch : config_epoch(n);
    ev->view_size = e->ev.reason == 0 ? e->conf.count : dm_reconfig_current(n->rc)->count;
}

static void epoch_events(dm_node *n, int64_t now)
{
    for (guint i = 0; i < n->rc_events->len; i++) {
        const rc_event *e = &g_array_index(n->rc_events, rc_event, i);
        if (e->ev.type == DM_RECONFIG_EV_INSTALLED)
            epoch_installed(n, e, now);
        else if (e->ev.type == DM_RECONFIG_EV_DONE || e->ev.type == DM_RECONFIG_EV_SEALED)
            n->epoch_dirty = true;
        if (e->ev.type == DM_RECONFIG_EV_DONE && n->op_proposal)
            epoch_operator_done(n, e);
    }
    g_array_set_size(n->rc_events, 0);
}

/* SWIM's view with hysteresis: when each member last entered or left it. */
static void epoch_track_view(dm_node *n, int64_t now)
{
    for (uint32_t i = 0; i < n->cfg.n_members; i++) {
        uint8_t in = i == n->cfg.self || dm_membership_in_view(n->members, i);
        if (in != n->in_view[i]) {
            n->in_view[i] = in;
            n->view_since[i] = now;
        }
    }
}

/* The configuration SWIM's view asks for: members out of view for
 * reconfig_delay leave, members in view for rejoin_delay join, never below
 * the minimum size. Writes the ids, returns the count, and sets *ripe_at to
 * the next instant a pending delay ripens (DM_NEVER: none). */
static uint32_t epoch_desired(dm_node *n, int64_t now, uint32_t *ids, int64_t *ripe_at)
{
    const dm_epoch_config *c = dm_reconfig_current(n->rc);
    uint32_t count = 0;
    *ripe_at = DM_NEVER;
    if (!n->cfg.reconfig_auto) {   /* operators only: the view asks for nothing */
        memcpy(ids, c->ids, c->count * sizeof *ids);
        return c->count;
    }
    for (uint32_t i = 0; i < n->cfg.n_members && count < DM_RECONFIG_MAX_MEMBERS; i++) {
        bool member = dm_epoch_config_has(c, i);
        int64_t delay = member ? n->cfg.reconfig_delay_us : n->cfg.rejoin_delay_us;
        bool wants_change = member ? !n->in_view[i] : n->in_view[i] && n->known[i];
        bool ripe = wants_change && now - n->view_since[i] >= delay;
        if (wants_change && !ripe)
            *ripe_at = min64(*ripe_at, n->view_since[i] + delay);
        if (member != ripe)
            ids[count++] = i;
    }
    if (count < MIN(n->cfg.reconfig_min_size, c->count)) {
        memcpy(ids, c->ids, c->count * sizeof *ids);
        count = c->count;
    }
    return count;
}

/* Propose the first `count` ids of quorum_buf as the next configuration;
 * `alive` as dm_reconfig_propose's. */
static int epoch_propose(dm_node *n, int64_t now, uint32_t count, const void *bind,
                         size_t bind_len, const uint8_t *alive)
{
    /* Time for a few ballots and the backoffs between them, even when a
     * slow member makes each take seconds. */
    int64_t deadline = now + MAX(MAX(n->cfg.lease_us, 10 * n->cfg.rpc_timeout_us),
                                 16 * dm_reconfig_round_trip(n->rc));
    int rc = dm_reconfig_propose_bound(n->rc, now, n->quorum_buf, count, bind, bind_len, alive,
                                       deadline);
    if (rc == 0) {
        n->stats.proposals++;
        n->next_proposal_at = now + n->cfg.reconfig_interval_us;
    }
    return rc;
}

/* Start a change when the view asks for one (or when this member is sealed
 * and nobody is finishing the change), at most once per reconfig_interval. */
static void epoch_consider(dm_node *n, int64_t now)
{
    n->epoch_dirty = false;
    n->epoch_check_at = DM_NEVER;   /* a proposal's end or recovery's marks us dirty again */
    if (!n->rc || !n->members || n->floor_pending || n->leaving || n->stayed_out ||
        dm_reconfig_proposing(n->rc))
        return;
    epoch_track_view(n, now);
    int64_t ripe_at;
    uint32_t count = epoch_desired(n, now, n->quorum_buf, &ripe_at);
    n->epoch_check_at = ripe_at;
    const dm_epoch_config *c = dm_reconfig_current(n->rc);
    bool same = count == c->count && memcmp(n->quorum_buf, c->ids, count * sizeof *c->ids) == 0;
    if (same && !sealed(n) && !dm_reconfig_abstaining(n->rc))
        return;
    if (now < n->next_proposal_at) {
        n->epoch_check_at = min64(n->epoch_check_at, n->next_proposal_at);
        return;
    }
    epoch_propose(n, now, count, NULL, 0, n->in_view);
}

/* After any input: handle what the module reported, then the trigger. */
static void epoch_after_run(dm_node *n, int64_t now)
{
    epoch_events(n, now);
    if (n->epoch_dirty || now >= n->epoch_check_at) {
        epoch_consider(n, now);
        epoch_events(n, now);
    }
}

/* Other policies have nothing to do here: a test inline, not a call. */
static inline void epoch_after(dm_node *n, int64_t now)
{
    if (n->rc)
        epoch_after_run(n, now);
}

/* The epoch policy's state at start: what was persisted with ours, or the
 * first configuration (every configured member, epoch 1). */
static int epoch_start(dm_node *n, int64_t now, const uint8_t *blob, size_t len)
{
    uint32_t N = n->cfg.n_members;
    dm_reconfig_params p;
    dm_reconfig_params_defaults(&p);
    p.universe = N;
    p.self = n->cfg.self;
    p.quorum = n->cfg.quorum;
    p.spread = n->cfg.spread;
    p.seed = n->cfg.seed ^ 0x45504f4348454e43ull;   /* a stream of its own */
    p.initial.epoch = 1;
    p.initial.count = n->cfg.initial_members ? n->cfg.initial_members : N;
    for (uint32_t i = 0; i < p.initial.count; i++)
        p.initial.ids[i] = i;
    p.rto_us = n->cfg.rpc_timeout_us;
    n->rc_events = g_array_new(FALSE, FALSE, sizeof(rc_event));
    n->in_view = g_new(uint8_t, N);
    n->in_conf = g_new0(uint8_t, N);
    n->known = g_new0(uint8_t, N);
    for (uint32_t i = 0; i < p.initial.count; i++)
        n->known[i] = 1;
    memset(n->in_view, 1, N);
    n->view_since = g_new0(int64_t, N);
    for (uint32_t i = 0; i < N; i++)
        n->view_since[i] = now;
    n->epoch_check_at = DM_NEVER;
    if (blob) {
        n->rc_blob = g_memdup2(blob, len);
        n->rc_len = len;
    }
    int rc = dm_reconfig_new(&p, &rc_driver, n, now, blob, len, &n->rc);
    if (rc < 0)
        return rc;
    g_array_set_size(n->rc_events, 0);
    /* Look at the trigger once at start: a member restarted sealed (it had
     * accepted a change that has not completed) must propose again, and
     * nothing else may wake it (members joining its view are no change). */
    n->epoch_dirty = true;
    const dm_epoch_config *c = dm_reconfig_current(n->rc);
    for (uint32_t i = 0; i < c->count; i++)
        n->in_conf[c->ids[i]] = n->known[c->ids[i]] = 1;
    return set_quorum(n, c->ids, c->count);
}

/* A configuration message from the network. A node that lost its disk
 * votes in no epoch before it knows which one is current, and then abstains
 * in that one (dm_reconfig_abstain, at the end of its recovery). */
static void epoch_receive(dm_node *n, const dm_msg *m, int64_t now)
{
    dm_reconfig_msg rm;
    int rc = dm_reconfig_msg_from_wire(m, n->cfg.n_members, &rm);
    if (rc < 0) {
        n->stats.rejected++;
        return;
    }
    bool vote = rm.type == DM_RECONFIG_SEAL || rm.type == DM_RECONFIG_ACCEPT;
    if (vote && n->floor_pending) {
        n->stats.stale++;
        return;
    }
    dm_reconfig_receive(n->rc, now, &rm);
}

/* ---------------------------------------------------------------- membership */

static void member_send(void *user, dm_msg *msg)
{
    dm_node *n = user;
    /* A direct PING and its ACK are a round trip the lock protocol can use:
     * an arbiter measures nothing of its own, and SWIM pings every member.
     * Not the stream (TCP) ping: its round trip includes a handshake. */
    if (msg->type == DM_MSG_PING && !dm_msg_is_stream(msg)) {
        peer_ping *p = dm_peermap_put(&n->pings, msg->to);
        p->at = n->now;
        p->seq = msg->value;
    }
    msg->from = (uint16_t)n->cfg.self;
    msg->clock = ++n->clock;
    n->stats.sent[msg->type]++;
    n->drv.send(n->user, msg);
}

static void member_event(void *user, const dm_member_event *mev)
{
    dm_node *n = user;
    dm_event *ev = new_event(n, DM_EV_MEMBER, NULL);
    ev->member = mev->member;
    ev->member_event = mev->type;
    ev->incarnation = mev->incarnation;
    if (mev->type != DM_MEMBER_EV_JOIN)
        n->view_dirty = true;
    if (mev->type != DM_MEMBER_EV_JOIN && mev->type != DM_MEMBER_EV_ALIVE)
        n->alive_lost = true;
}

static uint64_t hash_ids(const uint32_t *ids, uint32_t count)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint32_t i = 0; i < count; i++) {
        h ^= ids[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* (Re)build the quorum system over `ids` (ascending). */
static int set_quorum(dm_node *n, const uint32_t *ids, uint32_t count)
{
    dm_quorum *t;
    int rc = dm_quorum_new(n->cfg.quorum, ids, count, &t);
    if (rc < 0)
        return rc;
    dm_quorum_free(n->quorum);
    n->quorum = t;
    n->members_hash = hash_ids(ids, count);
    return 0;
}

/* The original dmutex's reaction to a view change: purge what members that
 * left the view had queued or been granted, and re-form quorums over the new
 * tree. A purged grantee may well be alive and holding: this is exactly the
 * hazard the simulator measures. */
static void purge_departed(dm_node *n, lock_state *ls, int64_t now)
{
    arbiter *a = &ls->arb;
    for (guint i = a->queue->len; i-- > 0;)
        if (!dm_membership_in_view(n->members, g_array_index(a->queue, request_id, i).node))
            g_array_remove_index(a->queue, i);
    if (a->granted && !dm_membership_in_view(n->members, a->grantee.node))
        lapse_grant(n, ls, now, -DM_EREVOKED);
    grant_next(n, ls, now);
}

static void view_changed(dm_node *n, int64_t now)
{
    n->view_dirty = false;
    uint64_t hash = dm_membership_view_hash(n->members);
    if (hash == n->view_reported)
        return;
    n->view_reported = hash;
    dm_event *ev = new_event(n, DM_EV_VIEW, NULL);
    ev->view_size = dm_membership_view_size(n->members);
    ev->view_hash = hash;
    uint32_t count = n->cfg.policy->members(n->members, n->cfg.n_members, n->quorum_buf);
    if (count == 0)
        return;   /* the policy keeps the system as it is */
    uint32_t *ids = g_memdup2(n->quorum_buf, count * sizeof *ids);
    int rc = set_quorum(n, ids, count);
    g_free(ids);
    if (rc < 0) {
        g_warning("node %u: cannot rebuild the tree: %s", n->cfg.self, dm_strerror(rc));
        return;
    }
    GHashTableIter it;
    gpointer ls;
    g_hash_table_iter_init(&it, n->locks);
    while (g_hash_table_iter_next(&it, NULL, &ls)) {
        lock_state *l = ls;
        if (n->cfg.policy->purge_departed)
            purge_departed(n, l, now);
        /* Quorums of the old system are no longer the node's to form. */
        if (l->req.phase == PHASE_ACQUIRING || l->req.phase == PHASE_FENCING)
            reform_quorum(n, l, now);
        else if (l->req.phase == PHASE_CACHED)
            cache_end(n, l);
        reschedule(n, l, now);
    }
}

/* After the membership module ran: react to view changes, and keep a raised
 * incarnation durable so that a restart refutes with a higher one. A view
 * change re-forms quorums, which can make lock deadlines due at once: serve
 * them now, or the node would return with its next deadline already past. */
static void after_membership(dm_node *n, int64_t now)
{
    if (n->view_dirty && n->rc) {
        /* The epoch policy never follows a node's own view: it proposes. */
        n->view_dirty = false;
        n->epoch_dirty = true;
        uint64_t hash = dm_membership_view_hash(n->members);
        if (hash != n->view_reported) {
            n->view_reported = hash;
            dm_event *ev = new_event(n, DM_EV_VIEW, NULL);
            ev->view_size = dm_membership_view_size(n->members);
            ev->view_hash = hash;
        }
    }
    if (n->view_dirty) {
        view_changed(n, now);
        drain_local(n, now);
        run_due(n, now);
    }
    if (n->alive_lost) {
        /* Route attempts in flight around a member SWIM no longer sees
         * ALIVE now, under every policy: waiting for the back-off's next
         * retry can take up to a lease. Any quorum of the system in use is
         * safe, so substituting members keeps quorums intersecting. */
        n->alive_lost = false;
        bool rerouted = false;
        GHashTableIter it;
        gpointer p;
        g_hash_table_iter_init(&it, n->locks);
        while (g_hash_table_iter_next(&it, NULL, &p)) {
            lock_state *ls = p;
            if (waits_on_suspect(n, &ls->req, now)) {
                reform_quorum(n, ls, now);
                reschedule(n, ls, now);
                rerouted = true;
            } else if (ls->req.phase == PHASE_CACHED && cache_doubted(n, &ls->req, now)) {
                cache_end(n, ls);
                reschedule(n, ls, now);
                rerouted = true;
            }
        }
        if (rerouted) {
            drain_local(n, now);
            run_due(n, now);
        }
    }
    if (current_incarnation(n) > n->incarnation_persisted)
        persist_state(n, n->token_ceiling);
}

/* ---------------------------------------------------------------- public API */

int dm_node_new(const dm_config *cfg, const dm_driver *driver, void *user,
                int64_t now, const void *persisted, size_t persisted_len, dm_node **out)
{
    if (!cfg || !driver || !driver->send || !out)
        return -DM_EINVAL;
    if (cfg->n_members == 0 || cfg->n_members > DM_MAX_MEMBERS || cfg->self >= cfg->n_members ||
        cfg->lease_us <= 0 || cfg->rpc_timeout_us <= 0 || cfg->rto_min_us <= 0 ||
        cfg->suspect_us < 0 || cfg->lock_delay_us < 0 ||
        cfg->drift_ppm >= 500000 || cfg->token_stride == 0 ||
        dm_config_lost_margin(cfg) < 0 || dm_config_lost_margin(cfg) > dm_config_lost_margin_max(cfg) ||
        (cfg->policy && (!cfg->policy->members || !cfg->policy->name)) ||
        (cfg->policy && cfg->policy->needs_membership && !cfg->membership) ||
        cfg->n_members > dm_policy_max_members(cfg->policy) ||
        cfg->initial_members > cfg->n_members)
        return -DM_EINVAL;
    uint32_t epoch = 0, incarnation = 0, flags = 0;
    uint64_t ceiling = 0;
    const uint8_t *rc_blob = NULL;
    size_t rc_len = 0;
    bool stateless = !persisted || !persisted_len;
    if (!stateless) {
        const uint8_t *p = persisted;
        bool v4 = persisted_len >= PERSIST_LEN_EPOCHS && get_be32(p) == PERSIST_MAGIC_EPOCHS;
        bool v3 = v4 || (persisted_len == PERSIST_LEN && get_be32(p) == PERSIST_MAGIC);
        bool v2 = persisted_len == PERSIST_LEN_V2 && get_be32(p) == PERSIST_MAGIC_V2;
        if (!v3 && !v2)
            return -DM_EBADSTATE;
        if (v4) {
            rc_len = get_be32(p + PERSIST_LEN);
            rc_blob = p + PERSIST_LEN_EPOCHS;
            if (rc_len != persisted_len - PERSIST_LEN_EPOCHS)
                return -DM_EBADSTATE;
        }
        epoch = get_be32(p + 4);
        ceiling = get_be64(p + 8);
        incarnation = get_be32(p + 16) + 1;   /* outbid whatever our last life said */
        flags = v3 ? get_be32(p + 20) : 0;
        if (flags & ~PERSIST_RECOVERING)
            return -DM_EBADSTATE;
    }
    /* Aligned, so that the hot fields above take as few lines as they can. */
    dm_node *n = g_aligned_alloc0(1, sizeof *n, _Alignof(dm_node));
    n->cfg = *cfg;
    if (!n->cfg.policy)
        n->cfg.policy = &dm_policy_ae_ops;
    n->drv = *driver;
    n->user = user;
    uint32_t *ids = g_new(uint32_t, cfg->n_members);
    for (uint32_t i = 0; i < cfg->n_members; i++)
        ids[i] = i;
    int rc = set_quorum(n, ids, cfg->n_members);
    g_free(ids);
    if (rc < 0) {
        g_aligned_free(n);
        return rc;
    }
    dm_prng_seed(&n->prng, cfg->seed);
    n->locks = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, lock_free);
    n->held = g_ptr_array_new();
    n->held_lease_min = DM_NEVER;
    dm_heap_init(&n->deadlines);
    n->events = g_array_new(FALSE, FALSE, sizeof(pending_event));
    n->quorum_buf = g_new0(uint32_t, cfg->n_members);
    /* The margin comes off the holder's side only: arbiters keep granting
     * for the whole lease, so LOST falls that much before anyone else can
     * be granted, and renewals (a third of this) come that much sooner. */
    n->holder_lease = drift_lease(cfg) - dm_config_lost_margin(cfg);
    /* No slower retransmission could renew a lease in time. */
    int64_t rto_max = MAX(renew_interval(n), cfg->rto_min_us);
    dm_rtt_limits_init(&n->rtt_limits, cfg->rpc_timeout_us, cfg->rto_min_us, rto_max);
    dm_rtt_init(&n->rtt_all);
    dm_peermap_init(&n->rtt, sizeof(peer_rtt), cfg->n_members);
    dm_peermap_init(&n->pings, sizeof(peer_ping), cfg->n_members);
    dm_peermap_init(&n->suspects, sizeof(peer_suspect), cfg->n_members);
    /* A previous life may have granted leases we no longer remember: wait
     * until every one of them has expired, measured by our own clock. Only
     * the caller's word that there was no previous life skips this. */
    bool first_life = stateless && cfg->bootstrap;
    n->quiet_until = first_life ? now
                                : now + scale_duration(cfg->lease_us, 1000000 + cfg->drift_ppm,
                                                       1000000 - cfg->drift_ppm, true) +
                                      cfg->lock_delay_us;   /* and any lapse it forgot */
    n->floor_pending = (stateless && !cfg->bootstrap) || (flags & PERSIST_RECOVERING);
    if (n->floor_pending) {
        n->rec = g_new0(rec_member, cfg->n_members);
        n->rec_quorum = g_new0(uint32_t, cfg->n_members);
        n->rec_round = dm_prng_next(&n->prng) | 1;
    }
    n->rec_next = now;
    n->now = now;
    n->epoch = epoch + 1;
    n->highest_token = ceiling;
    n->token_ceiling = 0;
    n->incarnation_persisted = incarnation;
    if (n->cfg.policy->epochs) {
        rc = epoch_start(n, now, rc_blob, rc_len);
        if (rc < 0) {
            dm_node_free(n);
            return rc;
        }
    }
    if (cfg->membership) {
        dm_swim_config swim = cfg->swim;
        swim.n_members = cfg->n_members;
        swim.self = cfg->self;
        swim.seed = cfg->seed ^ 0x5357494d5357494dull;   /* a stream of its own */
        swim.incarnation = incarnation;
        static const dm_membership_driver member_driver = { member_send, member_event };
        rc = dm_membership_new(&swim, &member_driver, n, now, &n->members);
        if (rc < 0) {
            dm_node_free(n);
            return rc;
        }
        for (uint32_t i = 0; n->known && i < cfg->n_members; i++)
            if (!n->known[i])
                dm_membership_forget(n->members, now, i);
        n->view_reported = dm_membership_view_hash(n->members);
    }
    rc = persist_state(n, ceiling + cfg->token_stride);
    if (rc < 0) {
        dm_node_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

void dm_node_free(dm_node *n)
{
    if (!n)
        return;
    dm_heap_clear(&n->deadlines);
    g_hash_table_destroy(n->locks);
    g_free(n->by_key);
    g_ptr_array_free(n->held, TRUE);
    for (uint32_t i = 0; i < n->local_alloc; i++)
        g_free(n->local[i]);
    g_free(n->local);
    g_array_free(n->events, TRUE);
    dm_quorum_free(n->quorum);
    dm_membership_free(n->members);
    g_free(n->quorum_buf);
    dm_peermap_clear(&n->rtt);
    dm_peermap_clear(&n->pings);
    dm_peermap_clear(&n->suspects);
    rec_end(n);
    dm_reconfig_free(n->rc);
    g_free(n->rc_blob);
    if (n->rc_events)
        g_array_free(n->rc_events, TRUE);
    g_free(n->in_view);
    g_free(n->in_conf);
    g_free(n->known);
    g_free(n->view_since);
    g_aligned_free(n);
}

static int next_attempt_id(dm_node *n, uint64_t *id)
{
    if (++n->attempt_seq == 0) {
        /* Attempt ids must keep increasing: move to a new epoch. */
        n->epoch++;
        n->attempt_seq = 1;
        if (persist_state(n, n->token_ceiling) < 0)
            return -DM_EPERSIST;
    }
    *id = (uint64_t)n->epoch << 32 | n->attempt_seq;
    return 0;
}

static int lock_start(dm_node *n, int64_t now, const char *name, int64_t timeout_us,
                      bool try_once, uint64_t *attempt_out)
{
    int len = dm_lock_name_check(name);
    if (len < 0)
        return len;
    if (timeout_us <= 0)
        return -DM_EINVAL;
    if (n->leaving)
        return -DM_ESHUTDOWN;
    begin(n, now);
    uint64_t key = dm_hash_str(name);
    lock_state *ls = lock_find_key(n, name, (size_t)len, key);
    if (ls && ls->req.phase == PHASE_CACHED) {
        int rc = cache_reuse(n, ls, now, attempt_out);
        if (rc <= 0) {
            reschedule(n, ls, now);
            return rc;
        }
    }
    if (ls && ls->req.phase != PHASE_IDLE)
        return -DM_EBUSY;
    /* A new attempt's REQUEST would supersede the lost grant at its
     * arbiters, and they could hand it to another node within the margin. */
    if (ls && in_lost_margin(n, ls))
        return -DM_EBUSY;
    if (n->floor_pending)
        return -DM_ERECOVERING;   /* the attempt epoch is not known yet */
    ls = ls ? ls : lock_new(n, name, (size_t)len, key);
    attempt *a = &ls->req;
    int size = form_quorum(n, placement_of(n, ls->key), a, now);
    /* Sized for the quorum: arbiter entries are large, and growing the
     * array one doubling at a time copied them over and over. */
    a->entries = g_array_sized_new(FALSE, FALSE, sizeof(arbiter_entry), size > 0 ? (guint)size : 0);
    if (size < 0) {
        attempt_clear(a);
        reschedule(n, ls, now);
        return size;
    }
    if (next_attempt_id(n, &a->id) < 0) {
        attempt_clear(a);
        reschedule(n, ls, now);
        return -DM_EPERSIST;
    }
    a->phase = PHASE_ACQUIRING;
    a->app_id = a->id;
    a->ts = ++n->clock;
    a->requested_at = now;
    a->deadline = now + timeout_us;
    a->try_once = try_once;
    adopt_quorum(n, ls, (uint32_t)size, now);
    if (attempt_out)
        *attempt_out = a->id;
    drain_local(n, now);
    reschedule(n, ls, now);
    return 0;
}

int dm_node_lock(dm_node *n, int64_t now, const char *name, int64_t timeout_us,
                 uint64_t *attempt_out)
{
    return lock_start(n, now, name, timeout_us, false, attempt_out);
}

int dm_node_try_lock(dm_node *n, int64_t now, const char *name, int64_t timeout_us,
                     uint64_t *attempt_out)
{
    return lock_start(n, now, name, timeout_us, true, attempt_out);
}

/* The application ended `attempt`: a renewal that ran in this very call (or
 * earlier in the same input) and still waits to be reported concerns a
 * lease it gave up, and is not reported. */
static void drop_pending_renewals(dm_node *n, uint64_t attempt)
{
    for (guint i = n->events->len; i-- > 0;) {
        const dm_event *ev = &g_array_index(n->events, pending_event, i).ev;
        if (ev->type == DM_EV_RENEWED && ev->attempt == attempt)
            g_array_remove_index(n->events, i);
    }
}

int dm_node_unlock(dm_node *n, int64_t now, const char *name)
{
    int len = dm_lock_name_check(name);
    if (len < 0)
        return len;
    begin(n, now);
    lock_state *ls = lock_find(n, name);
    if (!ls || ls->req.phase != PHASE_HELD)
        return -DM_ENOTHELD;
    drop_pending_renewals(n, ls->req.app_id);
    held_remove(n, ls);
    if (!cache_keep(n, ls, now)) {
        release_all(n, ls);
        attempt_clear(&ls->req);
    }
    drain_local(n, now);
    reschedule(n, ls, now);
    return 0;
}

int dm_node_cancel(dm_node *n, int64_t now, const char *name)
{
    int len = dm_lock_name_check(name);
    if (len < 0)
        return len;
    begin(n, now);
    lock_state *ls = lock_find(n, name);
    if (!ls || ls->req.phase == PHASE_IDLE || ls->req.phase == PHASE_CACHED)
        return -DM_ENOTHELD;
    if (ls->req.phase == PHASE_HELD)
        return -DM_EBUSY;
    finish_attempt(n, ls, DM_EV_FAILED, -DM_ECANCELED);
    drain_local(n, now);
    reschedule(n, ls, now);
    return 0;
}

static int receive(dm_node *n, int64_t now, const dm_msg *msg, bool own)
{
    int rc = own ? 0 : dm_msg_validate(msg, n->cfg.n_members);
    if (rc == 0 && msg->to != n->cfg.self)
        rc = -DM_EPEER;
    if (rc < 0) {
        n->stats.rejected++;
        g_debug("node %u: rejected message: %s", n->cfg.self, dm_strerror(rc));
        return rc;
    }
    bool membership = dm_msg_is_membership((int)msg->type);
    bool reconfig = dm_msg_is_reconfig((int)msg->type);
    if ((membership && !n->members) || (reconfig && !n->rc) ||
        (!membership && !reconfig && (msg->epoch != 0) != (n->rc != NULL))) {
        /* Another protocol's message, or a peer under another policy. */
        n->stats.rejected++;
        return -DM_ETYPE;
    }
    begin(n, now);
    n->stats.received[msg->type]++;
    peer_suspect *sp = dm_peermap_get(&n->suspects, msg->from);
    if (sp) {
        sp->suspected_until = 0;
        if (sp->avoid_until == 0)
            dm_peermap_remove(&n->suspects, msg->from);
    }
    /* Back-off is for a path that may be dead; this one is not. Without
     * this a peer's timeout stayed doubled up to its cap until the next
     * KEEP round trip, and every loss towards it then cost the cap. */
    rtt_heard(n, msg->from);
    if (membership) {
        if (msg->clock > n->clock)
            n->clock = msg->clock;
        n->clock++;
        const peer_ping *p = msg->type == DM_MSG_ACK && msg->target == msg->from
                                 ? dm_peermap_get(&n->pings, msg->from)
                                 : NULL;
        if (p && p->at && p->seq == msg->value) {
            int64_t at = p->at;
            dm_peermap_remove(&n->pings, msg->from);
            rtt_sample(n, msg->from, now - at);
        }
        dm_membership_receive(n->members, now, msg);
        after_membership(n, now);
    } else if (reconfig) {
        epoch_receive(n, msg, now);
    } else {
        if (n->members)
            dm_membership_heard(n->members, now, msg->from);
        handle_message(n, msg, now, own);
    }
    epoch_after(n, now);
    drain_local(n, now);
    flush_events(n);
    return 0;
}

int dm_node_receive(dm_node *n, int64_t now, const dm_msg *msg)
{
    return receive(n, now, msg, false);
}

int dm_node_receive_own(dm_node *n, int64_t now, const dm_msg *msg)
{
    return receive(n, now, msg, true);
}

void dm_node_tick(dm_node *n, int64_t now)
{
    begin(n, now);
    if (n->members) {
        dm_membership_tick(n->members, now);
        after_membership(n, now);
    }
    if (n->rc) {
        dm_reconfig_tick(n->rc, now);
        epoch_after(n, now);
    }
    drain_local(n, now);
    flush_events(n);
}

void dm_node_leave(dm_node *n, int64_t now)
{
    if (n->leaving)
        return;
    begin(n, now);
    n->leaving = true;
    GHashTableIter it;
    gpointer p;
    g_hash_table_iter_init(&it, n->locks);
    while (g_hash_table_iter_next(&it, NULL, &p)) {
        lock_state *ls = p;
        if (ls->req.phase == PHASE_HELD) {
            held_remove(n, ls);
            release_all(n, ls);
            attempt_clear(&ls->req);
        } else if (ls->req.phase == PHASE_CACHED) {
            cache_end(n, ls);
        } else if (ls->req.phase != PHASE_IDLE) {
            finish_attempt(n, ls, DM_EV_FAILED, -DM_ESHUTDOWN);
        }
        reschedule(n, ls, now);
    }
    if (n->members)
        dm_membership_leave(n->members, now);
    drain_local(n, now);
}

int64_t dm_node_next_deadline(const dm_node *n)
{
    if (n->events->len > 0 || n->local_len > n->local_next)
        return n->now;   /* events wait for the next tick */
    const dm_heap_entry *top = dm_heap_peek(&n->deadlines);
    int64_t due = top ? top->at : DM_NEVER;
    if (n->floor_pending)
        due = min64(due, n->rec_next);
    if (n->rc) {
        int64_t r = dm_reconfig_next_deadline(n->rc);
        due = min64(due, min64(r == INT64_MAX ? DM_NEVER : r, n->epoch_check_at));
    }
    return n->members ? min64(due, dm_membership_next_deadline(n->members)) : due;
}

const dm_node_stats *dm_node_get_stats(const dm_node *n) { return &n->stats; }
uint32_t dm_node_self(const dm_node *n) { return n->cfg.self; }
uint32_t dm_node_members(const dm_node *n) { return n->cfg.n_members; }
const dm_config *dm_node_config(const dm_node *n) { return &n->cfg; }
const dm_quorum *dm_node_quorum_system(const dm_node *n) { return n->quorum; }
uint64_t dm_node_config_epoch(const dm_node *n) { return config_epoch(n); }
uint32_t dm_node_config_members(const dm_node *n, uint32_t *out, uint32_t cap)
{
    if (!n->rc)
        return 0;
    const dm_epoch_config *c = dm_reconfig_current(n->rc);
    uint32_t k = MIN(cap, c->count);
    memcpy(out, c->ids, k * sizeof *out);
    return k;
}

bool dm_node_is_config_member(const dm_node *n)
{
    return in_config(n);
}

int dm_node_change_members(dm_node *n, int64_t now, uint32_t member, bool add)
{
    return dm_node_change_members_bind(n, now, member, add, NULL, 0);
}

const uint8_t *dm_node_config_bind(const dm_node *n, size_t *len)
{
    *len = 0;
    if (!n->rc)
        return NULL;
    const dm_epoch_config *c = dm_reconfig_current(n->rc);
    *len = c->bind_len;
    return c->bind;
}

int dm_node_change_members_bind(dm_node *n, int64_t now, uint32_t member, bool add,
                                const void *bind, size_t bind_len)
{
    if (!n->rc || member >= n->cfg.n_members || bind_len > DM_RECONFIG_BIND_MAX ||
        (bind_len && (!bind || memchr(bind, '\0', bind_len))))
        return -DM_EINVAL;
    if (n->leaving)
        return -DM_ESHUTDOWN;
    if (n->floor_pending)
        return -DM_ERECOVERING;
    const dm_epoch_config *c = dm_reconfig_current(n->rc);
    if (dm_epoch_config_has(c, member) == add)
        return -DM_EINVAL;
    if (dm_reconfig_proposing(n->rc) || sealed(n))
        return -DM_EBUSY;
    if (!add && c->count - 1 < n->cfg.reconfig_min_size)
        return -DM_ETOOFEW;
    begin(n, now);
    uint32_t count = 0;
    for (uint32_t i = 0; i < c->count; i++) {
        if (add && member < c->ids[i] && (i == 0 || member > c->ids[i - 1]))
            n->quorum_buf[count++] = member;
        if (add || c->ids[i] != member)
            n->quorum_buf[count++] = c->ids[i];
    }
    if (add && member > c->ids[c->count - 1])
        n->quorum_buf[count++] = member;
    epoch_track_view(n, now);   /* the view epoch_mark_config compares with at the install */
    /* The operator asked here: this node proposes at once rather than wait
     * for the preferred proposer, which has nothing to propose. To the
     * module, nobody else counts as alive. */
    uint8_t *nobody = g_new0(uint8_t, n->cfg.n_members);
    int rc = epoch_propose(n, now, count, bind, bind_len, nobody);
    g_free(nobody);
    if (rc == 0)
        n->op_proposal = true;
    epoch_after(n, now);
    drain_local(n, now);
    flush_events(n);
    return rc;
}

int dm_node_epoch_catch_up(dm_node *n, int64_t now)
{
    if (!n->rc)
        return -DM_EINVAL;
    begin(n, now);
    const dm_epoch_config *c = dm_reconfig_current(n->rc);
    int asked = 0;
    for (uint32_t i = 0; i < c->count; i++)
        if (c->ids[i] != n->cfg.self) {
            epoch_send_stale(n, c->ids[i]);
            asked++;
        }
    drain_local(n, now);
    flush_events(n);
    return asked;
}

int dm_node_stay_out(dm_node *n, int64_t now)
{
    if (!n->rc || !n->members || in_config(n))
        return -DM_EINVAL;
    begin(n, now);
    n->stayed_out = true;
    dm_membership_leave(n->members, now);
    after_membership(n, now);
    drain_local(n, now);
    flush_events(n);
    return 0;
}

bool dm_node_abstaining(const dm_node *n) { return n->rc && dm_reconfig_abstaining(n->rc); }
bool dm_node_sealed(const dm_node *n) { return sealed(n); }

int dm_node_current_quorum(dm_node *n, int64_t now, const char *name, uint32_t *out,
                           uint32_t cap)
{
    if (!out || cap < n->cfg.n_members)
        return -DM_EINVAL;
    attempt none = { 0 };
    int size = form_quorum(n, name ? placement_of(n, dm_hash_str(name)) : 0, &none, now);
    if (size > 0)
        memcpy(out, n->quorum_buf, (size_t)size * sizeof *out);
    return size;
}
const dm_membership *dm_node_membership(const dm_node *n) { return n->members; }
uint64_t dm_node_view_hash(const dm_node *n) { return n->members_hash; }
int64_t dm_node_holder_lease(const dm_node *n) { return n->holder_lease; }

int64_t dm_node_srtt(const dm_node *n, uint32_t member)
{
    const peer_rtt *p = member < n->cfg.n_members ? dm_peermap_get(&n->rtt, member) : NULL;
    return p ? p->rtt.srtt : 0;
}

int64_t dm_node_rto(const dm_node *n, uint32_t member)
{
    return member < n->cfg.n_members ? rto_of(n, member) : 0;
}

dm_recovery dm_node_recovery(const dm_node *n, int64_t *until)
{
    if (until)
        *until = n->quiet_until;
    if (n->floor_pending)
        return DM_RECOVERY_FLOOR;
    return n->now < n->quiet_until ? DM_RECOVERY_QUIET : DM_RECOVERY_NONE;
}

const char *dm_recovery_name(dm_recovery r)
{
    switch (r) {
    case DM_RECOVERY_NONE:  return "none";
    case DM_RECOVERY_FLOOR: return "floor";
    case DM_RECOVERY_QUIET: return "quiet";
    }
    return "?";
}
uint32_t dm_node_lock_count(const dm_node *n) { return g_hash_table_size(n->locks); }

bool dm_node_holds(const dm_node *n, const char *name)
{
    if (dm_lock_name_check(name) < 0)
        return false;
    const lock_state *ls = lock_find(n, name);
    return ls && ls->req.phase == PHASE_HELD;
}

uint64_t dm_node_token(const dm_node *n, const char *name)
{
    return dm_node_holds(n, name) ? (lock_find(n, name))->req.token : 0;
}

int dm_node_foreach_held(const dm_node *n, int (*fn)(const dm_held_lock *lock, void *user),
                         void *user)
{
    for (guint i = 0; i < n->held->len; i++) {
        const lock_state *ls = g_ptr_array_index(n->held, i);
        dm_held_lock h = { ls->name, ls->req.app_id, ls->req.token, ls->req.lease_end };
        int rc = fn(&h, user);
        if (rc != 0)
            return rc;
    }
    return 0;
}

uint64_t dm_node_held_attempt(const dm_node *n, const char *name)
{
    return dm_node_holds(n, name) ? (lock_find(n, name))->req.app_id : 0;
}

bool dm_node_arbiter_info(const dm_node *n, const char *name, dm_arbiter_info *out)
{
    memset(out, 0, sizeof *out);
    if (dm_lock_name_check(name) < 0)
        return false;
    const lock_state *ls = lock_find(n, name);
    if (!ls)
        return false;
    out->granted = ls->arb.granted;
    out->grantee = ls->arb.granted ? ls->arb.grantee.node : UINT32_MAX;
    out->grantee_attempt = ls->arb.granted ? ls->arb.grantee.attempt : 0;
    out->grant = ls->arb.granted ? ls->arb.grant : 0;
    out->lease_until = ls->arb.granted ? ls->arb.lease_until : 0;
    out->waiting = ls->arb.queue->len;
    return true;
}
