/* dmutex core: the configuration-change agreement of the `epoch` policy.
 *
 * A configuration C_e is (epoch e >= 1, a set of member ids, the quorum
 * system over them). The successor C_{e+1} is decided by single-decree Paxos
 * run inside C_e with C_e's quorums as Paxos quorums: SEAL/SEALED (phase 1),
 * ACCEPT/ACCEPTED (phase 2), then INSTALL to the members of both
 * configurations. One dm_reconfig per member plays acceptor, learner and
 * (when asked with dm_reconfig_propose) proposer. It is sans-I/O like
 * core/node.h: explicit `now`, a driver vtable, a PRNG seeded by the caller,
 * no clock, socket or global state. The safety argument and the contract
 * with the lock layer (dm_reconfig_sealed) open core/reconfig.c.
 *
 * Member ids are stable across configurations: indices into a fixed
 * universe 0..universe-1 (at most 65536, the ballot's low 16 bits).
 * Configurations carry their members as an ascending id list of at most
 * DM_RECONFIG_MAX_MEMBERS ids.
 */
#ifndef DMUTEX_CORE_RECONFIG_H
#define DMUTEX_CORE_RECONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quorum.h"

#define DM_RECONFIG_MAX_MEMBERS 64u
#define DM_RECONFIG_MAX_UNIVERSE 65536u
/* A configuration's binding: opaque driver bytes (no NUL) chosen with it. */
#define DM_RECONFIG_BIND_MAX 255u

/* Ballots are (round << 16 | proposer id): totally ordered, unique per
 * proposer, 0 means "none". */
#define DM_RECONFIG_BALLOT(round, id) ((uint64_t)(round) << 16 | (uint64_t)(id))
#define DM_RECONFIG_BALLOT_ROUND(b) ((b) >> 16)
#define DM_RECONFIG_BALLOT_ID(b) ((uint32_t)((b) & 0xffffu))
#define DM_RECONFIG_ROUND_MAX ((UINT64_C(1) << 48) - 1)

typedef struct dm_epoch_config {
    uint64_t epoch;                          /* >= 1 */
    uint32_t count;                          /* 0: no configuration */
    uint32_t ids[DM_RECONFIG_MAX_MEMBERS];   /* strictly ascending, < universe */
    /* What the driver binds to the ids this configuration adds for the first
     * time (the net driver: their addresses), opaque to the core: part of the
     * Paxos value, so that two proposers can never bind one id two ways;
     * persisted and replicated with the configuration. 0..DM_RECONFIG_BIND_MAX
     * bytes, none of them NUL (they travel as the wire's name bytes). */
    uint32_t bind_len;
    uint8_t bind[DM_RECONFIG_BIND_MAX];
} dm_epoch_config;

/* 0, or -DM_EMALFORMED when epoch is 0, the set is empty or too large, the
 * ids are not strictly ascending below `universe`, or the binding is too long
 * or holds a NUL. */
int dm_epoch_config_check(const dm_epoch_config *c, uint32_t universe);
/* Same epoch, same members and same binding (ids past count and bytes past
 * bind_len are not looked at). */
bool dm_epoch_config_equal(const dm_epoch_config *a, const dm_epoch_config *b);
bool dm_epoch_config_has(const dm_epoch_config *c, uint32_t id);

typedef enum dm_reconfig_msg_type {
    DM_RECONFIG_SEAL = 1,    /* epoch, ballot */
    DM_RECONFIG_SEALED,      /* epoch, ballot, accepted_ballot (0: none) and conf (its
                                accepted C_{e+1}, count 0 when none), tokens and lease_us
                                (the lock layer's reports at sealing) */
    DM_RECONFIG_ACCEPT,      /* epoch, ballot, conf = the proposed C_{e+1} */
    DM_RECONFIG_ACCEPTED,    /* epoch, ballot, tokens and lease_us (the lock layer's reports
                                at accepting, when it seals) */
    DM_RECONFIG_NACK,        /* epoch, ballot (refused), promised (> ballot) */
    DM_RECONFIG_INSTALL,     /* conf (epoch = conf.epoch), tokens = token floor,
                                lease_us = quiet period; answered with INSTALLED */
    DM_RECONFIG_INSTALLED,   /* epoch = the answerer's installed epoch */
    DM_RECONFIG_NEWER,       /* as INSTALL, unacknowledged: the answer of a member that
                                knows a later epoch than the message it answers */
    DM_RECONFIG_STALE,       /* epoch = the answerer's installed epoch, older than the
                                message's: "send me your configuration" */
    DM_RECONFIG_TYPE_COUNT
} dm_reconfig_msg_type;

/* Which fields a type uses is listed above; all others are zero. */
typedef struct dm_reconfig_msg {
    dm_reconfig_msg_type type;
    uint32_t from, to;
    uint64_t epoch;
    uint64_t ballot;
    uint64_t accepted_ballot;
    uint64_t promised;
    uint64_t tokens;
    uint64_t lease_us;
    dm_epoch_config conf;
} dm_reconfig_msg;

/* 0, or -DM_ETYPE, -DM_EPEER (from/to outside the universe, or equal) or
 * -DM_EMALFORMED (epoch 0, a ballot that is 0 or names a proposer outside
 * the universe, a SEAL/ACCEPT ballot not the sender's, a bad or misplaced
 * configuration, a NACK that does not name a higher promise, ...). */
int dm_reconfig_msg_check(const dm_reconfig_msg *m, uint32_t universe);
const char *dm_reconfig_msg_type_name(dm_reconfig_msg_type t);

/* What must survive a crash: written through dm_reconfig_driver.persist
 * before any answer that depends on it leaves. */
typedef struct dm_reconfig_state {
    dm_epoch_config current;     /* the installed configuration */
    uint64_t token_floor;        /* carried into `current` by its INSTALL */
    uint64_t quiet_us;           /* likewise: the longest lease of the previous epoch */
    uint64_t promised;           /* highest ballot promised in current.epoch, 0: none */
    uint64_t accepted_ballot;    /* 0: nothing accepted in current.epoch */
    dm_epoch_config accepted;    /* C_{e+1} accepted with accepted_ballot */
    uint64_t round;              /* highest round this member used as proposer */
    uint64_t abstain_upto;       /* never promise or accept in an epoch <= this: the member
                                  lost its state and may have voted there (dm_reconfig_abstain) */
} dm_reconfig_state;

/* Versioned, length-checked, checksummed. encode returns the length written
 * or -DM_EINVAL (cap too small: DM_RECONFIG_STATE_MAX always suffices);
 * decode returns 0, -DM_EVERSION, or -DM_EBADSTATE (truncated, trailing
 * bytes, checksum, or contents that break an invariant). */
#define DM_RECONFIG_STATE_MAX \
    (4 + 4 + 4 + 8 * 8 + 4 * 2 + 8 * DM_RECONFIG_MAX_MEMBERS + 2 * (2 + DM_RECONFIG_BIND_MAX) + 8)
int dm_reconfig_state_encode(const dm_reconfig_state *s, uint8_t *buf, size_t cap);
int dm_reconfig_state_decode(const uint8_t *buf, size_t len, uint32_t universe,
                             dm_reconfig_state *out);

typedef enum dm_reconfig_event_type {
    DM_RECONFIG_EV_SEALED = 1,   /* this member is now sealed in `epoch` (ballot) */
    DM_RECONFIG_EV_INSTALLED,    /* conf installed, with token_floor and quiet_us */
    DM_RECONFIG_EV_DONE,         /* the proposal ended: reason 0 with conf = the successor
                                    (own: it is the proposed one), or -DM_ETIMEDOUT,
                                    -DM_ECANCELED */
} dm_reconfig_event_type;

typedef struct dm_reconfig_event {
    dm_reconfig_event_type type;
    uint64_t epoch;
    uint64_t ballot;
    const dm_epoch_config *conf;  /* valid during the callback */
    uint64_t token_floor;
    uint64_t quiet_us;
    int reason;
    bool own;
} dm_reconfig_event;

/* No callback may call into the module (it is in the middle of a change). */
typedef struct dm_reconfig_driver {
    /* Store the bytes durably (replacing what was there) before returning;
     * handed back to dm_reconfig_new after a restart. Called before every
     * send that depends on them. A negative return: nothing is sent and the
     * state stays as it was. */
    int (*persist)(void *user, const void *bytes, size_t len);
    /* Best effort: may be lost, duplicated, reordered. `to` != self. */
    void (*send)(void *user, const dm_reconfig_msg *msg);
    void (*event)(void *user, const dm_reconfig_event *ev);
    /* The lock layer's reports, read when this member answers a SEAL or an
     * ACCEPT (when it seals): its token counter and the largest lease it
     * granted that may still be in force, in microseconds from now. May be
     * NULL (both 0). */
    void (*report)(void *user, uint64_t *tokens, uint64_t *lease_us);
} dm_reconfig_driver;

typedef struct dm_reconfig_params {
    uint32_t universe;           /* member ids are 0..universe-1 */
    uint32_t self;
    const dm_quorum_ops *quorum; /* NULL: the default; must be the same on every member */
    bool spread;                 /* the lock layer places members per lock name
                                    (dm_config.spread): a Paxos quorum must then hold a
                                    quorum of every placement, so that it meets every lock
                                    quorum; the same on every member */
    uint64_t seed;
    dm_epoch_config initial;     /* C_1, the same on every member; used when nothing was
                                    persisted (a member that never ran) */
    int64_t rto_us;              /* retransmission of unanswered messages; default 200 ms */
    int64_t backoff_us;          /* after a NACK, retry after a uniform delay below
                                    max(backoff_us, 2 x dm_reconfig_round_trip) x
                                    2^min(retries, 3); default 100 ms */
    int64_t fallback_us;         /* a proposer that is not the preferred one starts this
                                    much later; default 1 s */
    uint32_t mutation;           /* DM_RECONFIG_MUTATION_*: tests of the model checker only */
} dm_reconfig_params;

/* Deliberate bugs, so that the model checker can show it catches them. */
enum {
    DM_RECONFIG_MUTATION_NONE = 0,
    DM_RECONFIG_MUTATION_ACCEPT_LOWER,     /* acceptors accept ballots below their promise */
    DM_RECONFIG_MUTATION_IGNORE_ACCEPTED,  /* proposers never adopt an accepted config */
};

void dm_reconfig_params_defaults(dm_reconfig_params *p);

typedef struct dm_reconfig_stats {
    uint64_t sent[DM_RECONFIG_TYPE_COUNT];
    uint64_t received[DM_RECONFIG_TYPE_COUNT];
    uint64_t rejected;           /* failed dm_reconfig_msg_check */
    uint64_t stale;              /* valid but not for us now (old ballot, not a member, ...) */
    uint64_t conflicts;          /* a different config for our epoch was offered: never
                                    happens unless safety is broken */
    uint64_t persists, persist_failures;
    uint64_t rounds;             /* ballots started as proposer */
    uint64_t retransmits;
} dm_reconfig_stats;

typedef struct dm_reconfig dm_reconfig;

/* `persisted` is what the member last handed to persist (NULL/0: never ran;
 * it starts from params.initial). Returns 0, -DM_EINVAL (params),
 * -DM_EVERSION / -DM_EBADSTATE (persisted bytes), -DM_ENOMEM. */
int dm_reconfig_new(const dm_reconfig_params *p, const dm_reconfig_driver *drv, void *user,
                    int64_t now, const void *persisted, size_t persisted_len,
                    dm_reconfig **out);
void dm_reconfig_free(dm_reconfig *r);

/* A message from the network. 0, or the negative code of
 * dm_reconfig_msg_check / -DM_EPEER when it is not addressed to this member
 * (counted in stats.rejected, nothing changes). */
int dm_reconfig_receive(dm_reconfig *r, int64_t now, const dm_reconfig_msg *m);
void dm_reconfig_tick(dm_reconfig *r, int64_t now);
int64_t dm_reconfig_next_deadline(const dm_reconfig *r);   /* INT64_MAX: nothing due */

/* Propose `ids` (ascending, may equal the current set) as the successor of
 * the current configuration, giving up at `deadline`. `alive` (indexed by id,
 * may be NULL: everyone) says which members the caller believes alive: the
 * lowest alive member of the current configuration (this member always
 * counts as alive) is the preferred proposer and starts at once, any other
 * after params.fallback_us. Returns 0 (the outcome is a DONE event, never
 * from inside this call), -DM_EBUSY (a proposal is running),
 * -DM_EMALFORMED (bad set), -DM_EINVAL (deadline <= now). */
int dm_reconfig_propose(dm_reconfig *r, int64_t now, const uint32_t *ids, uint32_t count,
                        const uint8_t *alive, int64_t deadline);
/* The same, the successor carrying `bind` (bind_len bytes, see
 * dm_epoch_config; NULL/0: none). -DM_EMALFORMED also for a bad binding. */
int dm_reconfig_propose_bound(dm_reconfig *r, int64_t now, const uint32_t *ids, uint32_t count,
                              const void *bind, size_t bind_len, const uint8_t *alive,
                              int64_t deadline);
/* A member that lost its persisted state may have promised or accepted in
 * epochs up to `upto` before: it must never vote there again (an acceptor
 * that forgets a promise can let two configurations be chosen). From now on
 * it answers no SEAL or ACCEPT of such an epoch -- its own proposals'
 * included -- though it may still propose, and installs later epochs as
 * usual. Persisted; never lowered. 0 or the persist error. */
int dm_reconfig_abstain(dm_reconfig *r, uint64_t upto);
/* Whether this member abstains in its current epoch. */
bool dm_reconfig_abstaining(const dm_reconfig *r);

/* Abandon the running proposal (DONE with -DM_ECANCELED). 0 or -DM_ENOTHELD. */
int dm_reconfig_cancel(dm_reconfig *r, int64_t now);

/* True from the moment this member accepted a ballot in its current epoch
 * until it installs a later one (persisted: a restart does not unseal); a
 * promise alone does not seal. While true, the lock layer must grant, renew
 * and acknowledge nothing in the current epoch. */
bool dm_reconfig_sealed(const dm_reconfig *r);
bool dm_reconfig_proposing(const dm_reconfig *r);
/* The slowest recent answer to a phase this member proposed (0: none yet):
 * a ballot takes two; callers size a proposal's deadline by it. */
int64_t dm_reconfig_round_trip(const dm_reconfig *r);
const dm_epoch_config *dm_reconfig_current(const dm_reconfig *r);
const dm_reconfig_state *dm_reconfig_get_state(const dm_reconfig *r);
const dm_reconfig_stats *dm_reconfig_get_stats(const dm_reconfig *r);

#endif
