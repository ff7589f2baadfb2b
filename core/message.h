/* dmutex core: the protocol's messages as plain structs.
 *
 * Lock messages follow Maekawa with Sanders' deadlock avoidance (REQUEST,
 * GRANT, RELEASE, INQUIRE, YIELD, FAILED), plus a lease/fence round:
 *   KEEP(grant, fence, round)  holder -> arbiter: "I still hold grant `grant`;
 *                              my fencing token is `fence` (0 while still
 *                              acquiring)" -- extends the arbiter's lease;
 *   KEPT(grant, fence, round)  arbiter -> holder: acknowledgement;
 *   REVOKED(grant)             arbiter -> holder: that grant is not in force.
 * Channels are not FIFO: every message names the request attempt it belongs
 * to (`attempt`) and, where a grant is meant, that grant's id (`grant`, the
 * arbiter's token for it), so stale and duplicated messages are recognised.
 *
 * Which fields a type uses (all others are zero and are not on the wire):
 *   REQUEST  attempt, value = request priority timestamp (Lamport), with
 *            DM_REQUEST_TRY set for a try-lock's request
 *   GRANT    attempt, grant
 *   FAILED   attempt
 *   INQUIRE  attempt, grant, value = DM_INQUIRE_YIELD or DM_INQUIRE_PROBE
 *   YIELD    attempt, grant
 *   RELEASE  attempt
 *   KEEP     attempt, grant, value = fence token, round
 *   KEPT     attempt, grant, value = fence token, round
 *   REVOKED  attempt, grant
 *   RECOVERING attempt, value = microseconds until it may grant at the most:
 *            answers a REQUEST while the arbiter recovers from a start
 *            without persisted state ("go around me")
 *   HELD     attempt, grant = the holder's grant (0: withheld by lock_delay):
 *            answers a try REQUEST when the lock is held by another (its
 *            grantee announced its token) or withheld; not queued
 *   GRANT_RESERVED attempt, grant, value = the arbiter's token counter
 *            after the grant (>= grant): every token up to it is reserved
 *            for this grant's holder; the answer to a REQUEST with
 *            DM_REQUEST_RESERVE, otherwise as GRANT
 * Every lock message carries from, to, the sender's Lamport clock, the
 * lock name and `epoch`, the configuration epoch it was sent in (the epoch
 * policy's; 0 under policies without epochs).
 *
 * Recovery messages (a node that started without persisted state learns a
 * token floor and its attempt epoch from a quorum formed without itself)
 * carry neither a lock name nor updates:
 *   RECOVER  value = recovery round
 *   FLOOR    value = the round answered, grant = the answerer's token
 *            counter, attempt = the highest attempt id it remembers of the
 *            asker, round = 1 when the answerer is recovering too (its
 *            counter proves nothing), ballot2 = (epoch policy) the ballot
 *            with which it accepted a successor of its epoch, 0: none
 * and `epoch` as lock messages do.
 *
 * Reconfiguration messages (the epoch policy's change of configuration,
 * core/reconfig.h; core/reconfig_wire.h maps them to and from these) carry
 * neither a lock name nor updates. `members` is a configuration's member set
 * as a bitmap (bit i: member id i, so ids below 64), `ballot` a Paxos ballot
 * (round << 16 | proposer id); every one carries `epoch` >= 1:
 *   SEAL      epoch, ballot
 *   SEALED    epoch, ballot, ballot2 = the ballot it accepted (0: none),
 *             members = the C_{epoch+1} it accepted (0: none), grant = the
 *             lock layer's token counter, value = its lease report (us)
 *   ACCEPT    epoch, ballot, members = the proposed C_{epoch+1}
 *   ACCEPTED  epoch, ballot, grant = token counter report, value = lease report
 *   REFUSED   epoch, ballot, ballot2 = the higher ballot promised
 *   INSTALL   epoch = the installed configuration's, members, grant = token
 *             floor, value = quiet period (us)
 *   INSTALLED epoch
 *   NEWER     as INSTALL (unacknowledged)
 *   STALE     epoch
 * Where a type carries them, ballot and (ACCEPT, INSTALL, NEWER) members are
 * never 0, and REFUSED's ballot2 neither; the other rules (ballots naming
 * members, REFUSED's promise above its ballot, ...) are dm_reconfig_msg_check's.
 *
 * Membership (SWIM, as in hashicorp/memberlist) messages carry no lock name
 * (name_len == 0) and piggyback up to DM_MSG_MAX_UPDATES member updates:
 *   PING     value = probe sequence, updates
 *   PING_REQ value = probe sequence, target = member to probe for the sender,
 *            updates
 *   ACK      value = probe sequence, target = member that answered the probe
 *            (the recipient of the PING, also when relayed), updates
 *   NACK     value = probe sequence, target = member that did not answer an
 *            indirect probe (Lifeguard: tells the prober its path works)
 *   SYNC     value = DM_SYNC_* flags, updates: one chunk of a full-state
 *            push/pull; a SYNC with DM_SYNC_REPLY asks for the recipient's
 *            state in return
 *   GOSSIP   updates only: the periodic gossip of pending broadcasts
 *            (memberlist's gossip(); nothing answers it)
 * A PING whose value has DM_SEQ_STREAM set is memberlist's TCP fallback
 * ping: drivers carry it, and the ACK echoing its value, over a reliable
 * stream instead of datagrams (dm_msg_is_stream).
 */
#ifndef DMUTEX_CORE_MESSAGE_H
#define DMUTEX_CORE_MESSAGE_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

#define DM_NAME_MAX 255

/* INQUIRE asks either for a YIELD (a request of higher priority waits, the
 * grantee has not finished acquiring: Maekawa), or only whether the grantee
 * is still on it while others wait: a grantee whose attempt is over answers
 * RELEASE, one that is still on it ignores the probe. */
/* A try-lock's REQUEST: the top bit of its priority timestamp (a Lamport
 * clock never reaches it), so the wire keeps its layout. An arbiter that
 * finds the lock held by another answers HELD instead of queuing it; one
 * that predates it reads a very late timestamp and queues it, so the try
 * merely runs to its timeout. */
#define DM_REQUEST_TRY ((uint64_t)1 << 63)
/* A REQUEST of a requester that may keep its grants after an unlock
 * (grant_cache, docs/PROTOCOL.md "Sticky grants"): the next bit of the
 * timestamp, for the same reason. An arbiter that knows it reserves tokens
 * above the grant and answers GRANT_RESERVED; one that predates it answers
 * GRANT, and the requester then never re-uses that grant. */
#define DM_REQUEST_RESERVE ((uint64_t)1 << 62)
#define DM_REQUEST_FLAGS (DM_REQUEST_TRY | DM_REQUEST_RESERVE)
#define DM_INQUIRE_YIELD 0
#define DM_INQUIRE_PROBE 1
/* Member ids travel as 16 bits (from, to, an update's member and accuser), so
 * the wire could carry 65,535 members; 16,384 is what is needed (issue 12)
 * and leaves three quarters of the 16-bit ids out of range, which the
 * codec's tests lean on to draw invalid ids at random. Nothing is sized by
 * it. */
#define DM_MAX_MEMBERS 16384

typedef enum dm_msg_type {
    DM_MSG_REQUEST = 1,
    DM_MSG_GRANT,
    DM_MSG_FAILED,
    DM_MSG_INQUIRE,
    DM_MSG_YIELD,
    DM_MSG_RELEASE,
    DM_MSG_KEEP,
    DM_MSG_KEPT,
    DM_MSG_REVOKED,
    DM_MSG_PING,
    DM_MSG_PING_REQ,
    DM_MSG_ACK,
    DM_MSG_NACK,
    DM_MSG_SYNC,
    DM_MSG_RECOVER,
    DM_MSG_FLOOR,
    DM_MSG_RECOVERING,
    DM_MSG_SEAL,        /* the reconfiguration messages, SEAL..STALE */
    DM_MSG_SEALED,
    DM_MSG_ACCEPT,
    DM_MSG_ACCEPTED,
    DM_MSG_REFUSED,
    DM_MSG_INSTALL,
    DM_MSG_INSTALLED,
    DM_MSG_NEWER,
    DM_MSG_STALE,
    DM_MSG_GOSSIP,      /* membership: after STALE so older wire numbers stay */
    DM_MSG_HELD,        /* a try REQUEST's answer: held by another (after GOSSIP, same reason) */
    DM_MSG_GRANT_RESERVED,   /* GRANT with a token reservation (after HELD, same reason) */
    DM_MSG_TYPE_END     /* one past the last valid type */
} dm_msg_type;

#define DM_MSG_TYPE_COUNT DM_MSG_TYPE_END

/* A member as one SWIM update describes it. Only a member raises its own
 * incarnation; see core/membership.h for the precedence rules. */
typedef enum dm_member_state {
    DM_MEMBER_ALIVE = 0,
    DM_MEMBER_SUSPECT = 1,
    DM_MEMBER_DEAD = 2,
    DM_MEMBER_LEFT = 3,       /* dead by its own graceful leave */
} dm_member_state;
#define DM_MEMBER_STATE_MAX DM_MEMBER_LEFT

typedef struct dm_member_update {
    uint16_t member;
    uint16_t accuser;         /* who declared this state: the member itself
                                 for ALIVE and LEFT, the suspecting member
                                 for SUSPECT, the declaring one for DEAD;
                                 Lifeguard counts distinct accusers as
                                 independent confirmations */
    uint8_t state;            /* dm_member_state */
    uint32_t incarnation;
} dm_member_update;

#define DM_MSG_MAX_UPDATES 64
/* The top bit of a PING's (and so its ACK's) probe sequence: send it over a
 * stream (TCP), not as a datagram. Sequences never reach it otherwise. */
#define DM_SEQ_STREAM ((uint64_t)1 << 63)
#define DM_SYNC_REPLY 0x1u    /* answer with your own state */
#define DM_SYNC_LAST  0x2u    /* last chunk of this push/pull */
#define DM_SYNC_FLAGS (DM_SYNC_REPLY | DM_SYNC_LAST)

typedef struct dm_msg {
    dm_msg_type type;
    uint16_t from;
    uint16_t to;
    uint64_t clock;       /* sender's Lamport clock when sent */
    uint64_t attempt;     /* requester's attempt id (epoch << 32 | sequence) */
    uint64_t grant;       /* arbiter's grant id, which is also its token */
    uint64_t value;       /* REQUEST: priority timestamp; KEEP/KEPT: fence token */
    uint32_t round;       /* KEEP/KEPT: which keep round is acknowledged */
    uint32_t target;      /* PING_REQ/ACK/NACK: the member probed */
    uint64_t epoch;       /* configuration epoch (not the attempt id's restart epoch) */
    uint64_t ballot;      /* reconfiguration: the ballot */
    uint64_t ballot2;     /* SEALED: the accepted ballot; REFUSED: the promised one */
    uint64_t members;     /* reconfiguration: a member set, bit i = member id i */
    uint64_t name_key;    /* in-process only, never on the wire: dm_hash_str(name) as the
                             sending core set it (0: none); only dm_node_receive_own reads it */
    uint8_t name_len;     /* lock messages 1..DM_NAME_MAX; membership 0 */
    char name[DM_NAME_MAX + 1];   /* NUL-terminated copy for convenience */
    uint8_t n_updates;    /* membership messages: 0..DM_MSG_MAX_UPDATES */
    dm_member_update updates[DM_MSG_MAX_UPDATES];
} dm_msg;

/* The type tests below run on every message's path (send, receive, the
 * simulator's observers), so they are inline; test_message holds them to
 * the type table of message.c (the fields each type carries). */

/* True for PING, PING_REQ, ACK, NACK, SYNC and GOSSIP. */
static inline bool dm_msg_is_membership(int type)
{
    return (type >= DM_MSG_PING && type <= DM_MSG_SYNC) || type == DM_MSG_GOSSIP;
}
/* A PING or ACK of the TCP fallback ping: goes over a reliable stream. */
static inline bool dm_msg_is_stream(const dm_msg *m)
{
    return (m->type == DM_MSG_PING || m->type == DM_MSG_ACK) && (m->value & DM_SEQ_STREAM);
}
/* Copy the used part of src (the fixed fields, the name and the updates it
 * carries; a whole dm_msg is over a kilobyte, mostly unused) into dst, whose
 * unused bytes are undefined (a short name is copied with a few bytes past
 * it). Safe for any src: the update count is clamped to the array. */
void dm_msg_copy(dm_msg *dst, const dm_msg *src);
/* True for SEAL .. STALE (the epoch policy's reconfiguration messages). */
static inline bool dm_msg_is_reconfig(int type)
{
    return type >= DM_MSG_SEAL && type <= DM_MSG_STALE;
}
/* True for the lock messages a requester sends an arbiter (REQUEST, YIELD,
 * RELEASE, KEEP): what an arbiter's load is counted in. */
static inline bool dm_msg_to_arbiter(int type)
{
    return type == DM_MSG_REQUEST || type == DM_MSG_YIELD || type == DM_MSG_RELEASE ||
           type == DM_MSG_KEEP;
}

/* The per-type fields as flag bits; dm_msg_fields() gives the mask a type
 * uses, i.e. the table at the top of this file. The first DM_FIELD_COUNT
 * are the fixed-width fields of dm_msg_field_table; NAME (the lock name,
 * which every lock message has and no membership message) and UPDATES
 * (n_updates/updates, which every membership message has) are not. */
#define DM_FIELD_ATTEMPT 0x1u
#define DM_FIELD_GRANT   0x2u
#define DM_FIELD_VALUE   0x4u
#define DM_FIELD_ROUND   0x8u
#define DM_FIELD_TARGET  0x10u
#define DM_FIELD_EPOCH   0x20u
#define DM_FIELD_BALLOT  0x40u
#define DM_FIELD_BALLOT2 0x80u
#define DM_FIELD_MEMBERS 0x100u
#define DM_FIELD_COUNT   9
#define DM_FIELD_NAME    0x200u
#define DM_FIELD_UPDATES 0x400u
/* The configuration's binding (dm_epoch_config.bind) of the reconfiguration
 * messages that carry a configuration, in the name bytes: 0..DM_NAME_MAX
 * bytes, no NUL, empty when nothing is bound (so such messages are as they
 * were before bindings existed). */
#define DM_FIELD_BIND    0x800u

/* One per-type field. dm_msg_field_table lists them in wire order, and
 * validation, formatting and the codec all walk it, so that which fields
 * exist, how wide they are and where they live is said once. */
typedef struct dm_msg_field {
    unsigned flag;       /* DM_FIELD_... */
    const char *name;    /* key in dm_msg_format's output */
    size_t width;        /* bytes, the same in dm_msg and on the wire: 8 or 4 */
    size_t offset;       /* offsetof(dm_msg, ...) */
    bool hex;            /* dm_msg_format prints it in hex (attempt ids, ballots, sets) */
    bool member;         /* names a member: dm_msg_validate wants < n_members */
    bool member_set;     /* a bitmap of member ids: dm_msg_validate wants no bit at
                            or above n_members */
} dm_msg_field;

extern const dm_msg_field dm_msg_field_table[DM_FIELD_COUNT];

/* The DM_FIELD_ mask of the fields `type` uses; 0 for an unknown type. */
unsigned dm_msg_fields(int type);

/* Field f of m, widened to 64 bits / assigned (narrowed to f->width). */
uint64_t dm_msg_field_get(const dm_msg *m, const dm_msg_field *f);
void dm_msg_field_set(dm_msg *m, const dm_msg_field *f, uint64_t v);
/* The largest value field f may hold in a message of `type` (its width's
 * maximum, except where the type gives the field a meaning of its own, like
 * INQUIRE's value or SYNC's flags). dm_msg_validate rejects anything above
 * it. */
uint64_t dm_msg_field_max(int type, const dm_msg_field *f);
/* The smallest value field f may hold in a message of `type`: 0, or 1 where
 * the type requires it (a reconfiguration message's epoch, ballots and
 * configurations: see the table at the top of this file). dm_msg_validate
 * rejects anything below it. */
uint64_t dm_msg_field_min(int type, const dm_msg_field *f);

/* "REQUEST", "GRANT", ...; "UNKNOWN" for anything else. */
const char *dm_msg_type_name(int type);

static inline bool dm_msg_type_valid(int type)
{
    return type >= DM_MSG_REQUEST && type < DM_MSG_TYPE_END;
}

/* Validate a lock name: 1..255 bytes, no NUL inside. Returns its length or
 * -DM_EBADNAME. `name` may be NULL (rejected). */
int dm_lock_name_check(const char *name);

/* Fill name/name_len from a checked name. Returns 0, or -DM_EBADNAME with
 * m untouched. */
int dm_msg_set_name(dm_msg *m, const char *name);

/* Structural validation of a message: type known (-DM_ETYPE); a lock
 * message's name well formed, a membership message's empty (name_len 0,
 * name[0] NUL) (-DM_EBADNAME); fields unused by the type zero, n_updates
 * included, used ones within dm_msg_field_min..dm_msg_field_max, n_updates <=
 * DM_MSG_MAX_UPDATES and every update's state <= DM_MEMBER_STATE_MAX
 * (-DM_EMALFORMED); from, to, target (where used) and every update's member
 * and accuser < n_members, no bit of members (where used) at or above
 * n_members, from != to (a node's messages to itself never cross the
 * network), and a PING_REQ's target neither from nor to (-DM_EPEER).
 * updates[n_updates..] are not looked at. Returns 0 or the first error. */
int dm_msg_validate(const dm_msg *m, uint32_t n_members);

/* Write a one-line human-readable rendering of the fields the type uses
 * ("GRANT 2->0 clock=7 lock=x attempt=0x100000002 grant=5",
 * "PING 3->0 clock=12 value=7 updates=[2:suspect@4<3 5:alive@1]", an update
 * being member:state@incarnation, followed by <accuser when someone other
 * than the member declared it, an unknown state as its number; every
 * field for an unknown type; name bytes outside printable ASCII, and
 * backslash, as \xHH; an n_updates above DM_MSG_MAX_UPDATES as
 * "n_updates=N" before the first DM_MSG_MAX_UPDATES updates) into buf
 * (NUL-terminated when cap > 0). Returns the length it wanted, as snprintf
 * does. */
int dm_msg_format(const dm_msg *m, char *buf, size_t cap);

#endif
