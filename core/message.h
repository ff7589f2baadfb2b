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
 *   REQUEST  attempt, value = request priority timestamp (Lamport)
 *   GRANT    attempt, grant
 *   FAILED   attempt
 *   INQUIRE  attempt, grant, value = DM_INQUIRE_YIELD or DM_INQUIRE_PROBE
 *   YIELD    attempt, grant
 *   RELEASE  attempt
 *   KEEP     attempt, grant, value = fence token, round
 *   KEPT     attempt, grant, value = fence token, round
 *   REVOKED  attempt, grant
 * Every message carries from, to, the sender's Lamport clock and the lock name.
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
#define DM_INQUIRE_YIELD 0
#define DM_INQUIRE_PROBE 1
#define DM_MAX_MEMBERS 4096

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
    DM_MSG_TYPE_END     /* one past the last valid type */
} dm_msg_type;

#define DM_MSG_TYPE_COUNT DM_MSG_TYPE_END

typedef struct dm_msg {
    dm_msg_type type;
    uint16_t from;
    uint16_t to;
    uint64_t clock;       /* sender's Lamport clock when sent */
    uint64_t attempt;     /* requester's attempt id (epoch << 32 | sequence) */
    uint64_t grant;       /* arbiter's grant id, which is also its token */
    uint64_t value;       /* REQUEST: priority timestamp; KEEP/KEPT: fence token */
    uint32_t round;       /* KEEP/KEPT: which keep round is acknowledged */
    uint8_t name_len;     /* 1..DM_NAME_MAX */
    char name[DM_NAME_MAX + 1];   /* NUL-terminated copy for convenience */
} dm_msg;

/* The per-type fields as flag bits; dm_msg_fields() gives the mask a type
 * uses, i.e. the table at the top of this file. */
#define DM_FIELD_ATTEMPT 0x1u
#define DM_FIELD_GRANT   0x2u
#define DM_FIELD_VALUE   0x4u
#define DM_FIELD_ROUND   0x8u
#define DM_FIELD_COUNT   4

/* One per-type field. dm_msg_field_table lists them in wire order, and
 * validation, formatting and the codec all walk it, so that which fields
 * exist, how wide they are and where they live is said once. */
typedef struct dm_msg_field {
    unsigned flag;       /* DM_FIELD_... */
    const char *name;    /* key in dm_msg_format's output */
    size_t width;        /* bytes, the same in dm_msg and on the wire: 8 or 4 */
    size_t offset;       /* offsetof(dm_msg, ...) */
    bool hex;            /* dm_msg_format prints it in hex (attempt ids) */
} dm_msg_field;

extern const dm_msg_field dm_msg_field_table[DM_FIELD_COUNT];

/* The DM_FIELD_ mask of the fields `type` uses; 0 for an unknown type. */
unsigned dm_msg_fields(int type);

/* Field f of m, widened to 64 bits / assigned (narrowed to f->width). */
uint64_t dm_msg_field_get(const dm_msg *m, const dm_msg_field *f);
void dm_msg_field_set(dm_msg *m, const dm_msg_field *f, uint64_t v);
/* The largest value field f may hold in a message of `type` (its width's
 * maximum, except where the type gives the field a meaning of its own, like
 * INQUIRE's value). dm_msg_validate rejects anything above it. */
uint64_t dm_msg_field_max(int type, const dm_msg_field *f);

/* "REQUEST", "GRANT", ...; "UNKNOWN" for anything else. */
const char *dm_msg_type_name(int type);

bool dm_msg_type_valid(int type);

/* Validate a lock name: 1..255 bytes, no NUL inside. Returns its length or
 * -DM_EBADNAME. `name` may be NULL (rejected). */
int dm_lock_name_check(const char *name);

/* Fill name/name_len from a checked name. Returns 0, or -DM_EBADNAME with
 * m untouched. */
int dm_msg_set_name(dm_msg *m, const char *name);

/* Structural validation of a message (type known, name well formed, fields
 * unused by the type zero, from/to < n_members and distinct: a node's
 * messages to itself never cross the network). Returns 0 or a negative
 * error (-DM_ETYPE, -DM_EBADNAME, -DM_EMALFORMED, -DM_EPEER). */
int dm_msg_validate(const dm_msg *m, uint32_t n_members);

/* Write a one-line human-readable rendering of the fields the type uses
 * ("GRANT 2->0 clock=7 lock=x attempt=0x100000002 grant=5"; every field for
 * an unknown type; name bytes outside printable ASCII, and backslash, as
 * \xHH) into buf (NUL-terminated when cap > 0). Returns the length it wanted,
 * as snprintf does. */
int dm_msg_format(const dm_msg *m, char *buf, size_t cap);

#endif
