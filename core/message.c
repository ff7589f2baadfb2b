#include "message.h"

#include <glib.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

const dm_msg_field dm_msg_field_table[DM_FIELD_COUNT] = {
    {DM_FIELD_ATTEMPT, "attempt", sizeof(uint64_t), offsetof(dm_msg, attempt), true, false, false},
    {DM_FIELD_GRANT, "grant", sizeof(uint64_t), offsetof(dm_msg, grant), false, false, false},
    {DM_FIELD_VALUE, "value", sizeof(uint64_t), offsetof(dm_msg, value), false, false, false},
    {DM_FIELD_ROUND, "round", sizeof(uint32_t), offsetof(dm_msg, round), false, false, false},
    {DM_FIELD_TARGET, "target", sizeof(uint32_t), offsetof(dm_msg, target), false, true, false},
    {DM_FIELD_EPOCH, "epoch", sizeof(uint64_t), offsetof(dm_msg, epoch), false, false, false},
    {DM_FIELD_BALLOT, "ballot", sizeof(uint64_t), offsetof(dm_msg, ballot), true, false, false},
    {DM_FIELD_BALLOT2, "ballot2", sizeof(uint64_t), offsetof(dm_msg, ballot2), true, false, false},
    {DM_FIELD_MEMBERS, "members", sizeof(uint64_t), offsetof(dm_msg, members), true, false, true},
};

#define TABLE_FIELDS ((1u << DM_FIELD_COUNT) - 1)
#define ALL_FIELDS (TABLE_FIELDS | DM_FIELD_NAME | DM_FIELD_UPDATES | DM_FIELD_BIND)

_Static_assert(((DM_FIELD_NAME | DM_FIELD_UPDATES | DM_FIELD_BIND) & TABLE_FIELDS) == 0,
               "NAME and UPDATES must not collide with the table's flags");
/* SYNC's flags are checked as a maximum (dm_msg_field_max), which is the
 * same as "no other bit" only while the flags are the low bits. */
_Static_assert((DM_SYNC_FLAGS & (DM_SYNC_FLAGS + 1)) == 0, "DM_SYNC_FLAGS must be 2^k - 1");

/* LOCK: what every lock message carries; SWIM: every membership message;
 * EPOCH: the configuration epoch, on every lock, recovery and
 * reconfiguration message. */
#define LOCK (DM_FIELD_NAME | DM_FIELD_EPOCH)
#define SWIM DM_FIELD_UPDATES
#define EPOCH DM_FIELD_EPOCH
#define BALLOT DM_FIELD_BALLOT
#define BALLOT2 DM_FIELD_BALLOT2
#define MEMBERS (DM_FIELD_MEMBERS | DM_FIELD_BIND)
#define REPORT (DM_FIELD_GRANT | DM_FIELD_VALUE)   /* token counter or floor, lease or quiet us */

static const struct {
    const char *name;
    unsigned fields;
    unsigned required;  /* of those, the ones that are never 0 (dm_msg_field_min) */
    bool third_party;   /* member fields name neither from nor to */
} types[] = {
    [DM_MSG_REQUEST] = {"REQUEST", LOCK | DM_FIELD_ATTEMPT | DM_FIELD_VALUE, 0, false},
    [DM_MSG_GRANT] = {"GRANT", LOCK | DM_FIELD_ATTEMPT | DM_FIELD_GRANT, 0, false},
    [DM_MSG_FAILED] = {"FAILED", LOCK | DM_FIELD_ATTEMPT, 0, false},
    [DM_MSG_INQUIRE] = {"INQUIRE", LOCK | DM_FIELD_ATTEMPT | DM_FIELD_GRANT | DM_FIELD_VALUE, 0,
                        false},
    [DM_MSG_YIELD] = {"YIELD", LOCK | DM_FIELD_ATTEMPT | DM_FIELD_GRANT, 0, false},
    [DM_MSG_RELEASE] = {"RELEASE", LOCK | DM_FIELD_ATTEMPT, 0, false},
    [DM_MSG_KEEP] = {"KEEP",
                     LOCK | DM_FIELD_ATTEMPT | DM_FIELD_GRANT | DM_FIELD_VALUE | DM_FIELD_ROUND,
                     0, false},
    [DM_MSG_KEPT] = {"KEPT",
                     LOCK | DM_FIELD_ATTEMPT | DM_FIELD_GRANT | DM_FIELD_VALUE | DM_FIELD_ROUND,
                     0, false},
    [DM_MSG_REVOKED] = {"REVOKED", LOCK | DM_FIELD_ATTEMPT | DM_FIELD_GRANT, 0, false},
    [DM_MSG_PING] = {"PING", SWIM | DM_FIELD_VALUE, 0, false},
    [DM_MSG_PING_REQ] = {"PING_REQ", SWIM | DM_FIELD_VALUE | DM_FIELD_TARGET, 0, true},
    [DM_MSG_ACK] = {"ACK", SWIM | DM_FIELD_VALUE | DM_FIELD_TARGET, 0, false},
    [DM_MSG_NACK] = {"NACK", SWIM | DM_FIELD_VALUE | DM_FIELD_TARGET, 0, false},
    [DM_MSG_SYNC] = {"SYNC", SWIM | DM_FIELD_VALUE, 0, false},
    [DM_MSG_RECOVER] = {"RECOVER", EPOCH | DM_FIELD_VALUE, 0, false},
    [DM_MSG_FLOOR] = {"FLOOR",
                      EPOCH | DM_FIELD_ATTEMPT | DM_FIELD_GRANT | DM_FIELD_VALUE | DM_FIELD_ROUND |
                          DM_FIELD_BALLOT2,
                      0, false},
    [DM_MSG_RECOVERING] = {"RECOVERING", LOCK | DM_FIELD_ATTEMPT | DM_FIELD_VALUE, 0, false},
    [DM_MSG_SEAL] = {"SEAL", EPOCH | BALLOT, EPOCH | BALLOT, false},
    [DM_MSG_SEALED] = {"SEALED", EPOCH | BALLOT | BALLOT2 | MEMBERS | REPORT, EPOCH | BALLOT,
                       false},
    [DM_MSG_ACCEPT] = {"ACCEPT", EPOCH | BALLOT | MEMBERS, EPOCH | BALLOT | DM_FIELD_MEMBERS,
                       false},
    [DM_MSG_ACCEPTED] = {"ACCEPTED", EPOCH | BALLOT | DM_FIELD_GRANT | DM_FIELD_VALUE,
                         EPOCH | BALLOT, false},
    [DM_MSG_REFUSED] = {"REFUSED", EPOCH | BALLOT | BALLOT2, EPOCH | BALLOT | BALLOT2, false},
    [DM_MSG_INSTALL] = {"INSTALL", EPOCH | MEMBERS | REPORT, EPOCH | DM_FIELD_MEMBERS, false},
    [DM_MSG_INSTALLED] = {"INSTALLED", EPOCH, EPOCH, false},
    [DM_MSG_NEWER] = {"NEWER", EPOCH | MEMBERS | REPORT, EPOCH | DM_FIELD_MEMBERS, false},
    [DM_MSG_STALE] = {"STALE", EPOCH, EPOCH, false},
    [DM_MSG_GOSSIP] = {"GOSSIP", SWIM, 0, false},
    [DM_MSG_HELD] = {"HELD", LOCK | DM_FIELD_ATTEMPT | DM_FIELD_GRANT, 0, false},
    [DM_MSG_GRANT_RESERVED] = {"GRANT_RESERVED",
                               LOCK | DM_FIELD_ATTEMPT | DM_FIELD_GRANT | DM_FIELD_VALUE, 0, false},
};

_Static_assert(G_N_ELEMENTS(types) == DM_MSG_TYPE_END, "types[] must describe every dm_msg_type");

static const char *const state_names[] = {
    [DM_MEMBER_ALIVE] = "alive",
    [DM_MEMBER_SUSPECT] = "suspect",
    [DM_MEMBER_DEAD] = "dead",
    [DM_MEMBER_LEFT] = "left",
};

_Static_assert(G_N_ELEMENTS(state_names) == DM_MEMBER_STATE_MAX + 1,
               "state_names[] must name every dm_member_state");

const char *dm_msg_type_name(int type)
{
    return dm_msg_type_valid(type) ? types[type].name : "UNKNOWN";
}

unsigned dm_msg_fields(int type)
{
    return dm_msg_type_valid(type) ? types[type].fields : 0;
}

_Static_assert(offsetof(dm_msg, name) < offsetof(dm_msg, n_updates) &&
                   offsetof(dm_msg, n_updates) < offsetof(dm_msg, updates) &&
                   offsetof(dm_msg, updates) + sizeof(((dm_msg *)0)->updates) + 8 > sizeof(dm_msg),
               "dm_msg_copy assumes dm_msg ends with name, n_updates, updates");
_Static_assert(DM_NAME_MAX >= UINT8_MAX, "name_len must not overrun name");

/* A header and a name of up to this many bytes in all are copied as one
 * fixed block -- a few vector moves, no call -- which covers every message
 * with a short name (bytes past the name's NUL are unused anyway). */
#define COPY_BLOCK 128
_Static_assert(COPY_BLOCK > offsetof(dm_msg, name) && COPY_BLOCK <= offsetof(dm_msg, n_updates),
               "the fixed block must hold the header and stay inside the name");

void dm_msg_copy(dm_msg *dst, const dm_msg *src)
{
    if (offsetof(dm_msg, name) + src->name_len < COPY_BLOCK)
        memcpy(dst, src, COPY_BLOCK);
    else
        memcpy(dst, src, offsetof(dm_msg, name) + src->name_len);
    dst->name[src->name_len] = '\0';
    uint8_t n = src->n_updates <= DM_MSG_MAX_UPDATES ? src->n_updates : DM_MSG_MAX_UPDATES;
    dst->n_updates = src->n_updates;
    if (n > 0)   /* lock messages carry none: no call for nothing */
        memcpy(dst->updates, src->updates, n * sizeof src->updates[0]);
}

/* memcpy rather than a cast keeps one code path for both widths without
 * type-punning the struct. */
static inline uint64_t field_get(const dm_msg *m, const dm_msg_field *f)
{
    const char *p = (const char *)m + f->offset;
    if (f->width == sizeof(uint32_t)) {
        uint32_t v;
        memcpy(&v, p, sizeof v);
        return v;
    }
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

uint64_t dm_msg_field_get(const dm_msg *m, const dm_msg_field *f)
{
    return field_get(m, f);
}

void dm_msg_field_set(dm_msg *m, const dm_msg_field *f, uint64_t v)
{
    char *p = (char *)m + f->offset;
    if (f->width == sizeof(uint32_t)) {
        uint32_t v32 = (uint32_t)v;
        memcpy(p, &v32, sizeof v32);
        return;
    }
    memcpy(p, &v, sizeof v);
}

/* The fields whose maximum is below their width's: one (type, field) each. */
static const struct {
    dm_msg_type type;
    unsigned flag;
    uint64_t max;
} caps[] = {
    {DM_MSG_INQUIRE, DM_FIELD_VALUE, DM_INQUIRE_PROBE},
    {DM_MSG_SYNC, DM_FIELD_VALUE, DM_SYNC_FLAGS},
    {DM_MSG_FLOOR, DM_FIELD_ROUND, 1},
};

static const dm_msg_field *field_of(unsigned flag)
{
    for (size_t i = 0; i < DM_FIELD_COUNT; i++)
        if (dm_msg_field_table[i].flag == flag)
            return &dm_msg_field_table[i];
    g_assert_not_reached();
}

uint64_t dm_msg_field_max(int type, const dm_msg_field *f)
{
    for (size_t i = 0; i < G_N_ELEMENTS(caps); i++)
        if (type == (int)caps[i].type && f->flag == caps[i].flag)
            return caps[i].max;
    return f->width == sizeof(uint32_t) ? UINT32_MAX : UINT64_MAX;
}

uint64_t dm_msg_field_min(int type, const dm_msg_field *f)
{
    return dm_msg_type_valid(type) && (types[type].required & f->flag) ? 1 : 0;
}

int dm_lock_name_check(const char *name)
{
    if (name == NULL)
        return -DM_EBADNAME;
    /* C11 memchr stops at the first match, so a short string is never read
     * past its terminator. */
    const char *nul = memchr(name, '\0', DM_NAME_MAX + 1);
    if (nul == NULL || nul == name)
        return -DM_EBADNAME;
    return (int)(nul - name);
}

int dm_msg_set_name(dm_msg *m, const char *name)
{
    int len = dm_lock_name_check(name);
    if (len < 0)
        return len;
    /* Zero the tail too, so that equal messages are equal bytes. */
    memset(m->name, 0, sizeof m->name);
    memcpy(m->name, name, (size_t)len);
    m->name_len = (uint8_t)len;
    return 0;
}

/* Every message the core receives passes here, so it reads each field once:
 * a mask of the fields that are not 0 settles "unused fields are 0" and
 * "required fields are not" in one test each (the minimum is 0 or 1), the
 * few capped fields are looked up by type, and the member checks run only
 * for the types that carry a member field. */
int dm_msg_validate(const dm_msg *m, uint32_t n_members)
{
    if (!dm_msg_type_valid((int)m->type))
        return -DM_ETYPE;
    unsigned used = types[m->type].fields;
    if (used & DM_FIELD_NAME) {
        if (m->name_len == 0 || m->name[m->name_len] != '\0' ||
            memchr(m->name, '\0', m->name_len) != NULL)
            return -DM_EBADNAME;
    } else if (used & DM_FIELD_BIND) {
        if (m->name[m->name_len] != '\0' || memchr(m->name, '\0', m->name_len) != NULL)
            return -DM_EBADNAME;
    } else if (m->name_len != 0 || m->name[0] != '\0') {
        return -DM_EBADNAME;
    }
    unsigned nonzero = 0, peer_fields = 0;
    /* Unrolled, the table's widths and offsets are constants. */
#pragma GCC unroll 16
    for (size_t i = 0; i < DM_FIELD_COUNT; i++) {
        const dm_msg_field *f = &dm_msg_field_table[i];
        if (field_get(m, f) != 0)
            nonzero |= f->flag;
        if (f->member || f->member_set)
            peer_fields |= f->flag;
    }
    if ((nonzero & ~used) != 0 || (types[m->type].required & ~nonzero) != 0)
        return -DM_EMALFORMED;
    for (size_t i = 0; i < G_N_ELEMENTS(caps); i++)
        if (m->type == caps[i].type && (used & caps[i].flag) &&
            field_get(m, field_of(caps[i].flag)) > caps[i].max)
            return -DM_EMALFORMED;
    if (m->n_updates > ((used & DM_FIELD_UPDATES) ? DM_MSG_MAX_UPDATES : 0))
        return -DM_EMALFORMED;
    for (size_t i = 0; i < m->n_updates; i++)
        if (m->updates[i].state > DM_MEMBER_STATE_MAX)
            return -DM_EMALFORMED;

    if (m->from >= n_members || m->to >= n_members || m->from == m->to)
        return -DM_EPEER;
    for (size_t i = 0; (used & peer_fields) && i < DM_FIELD_COUNT; i++) {
        const dm_msg_field *f = &dm_msg_field_table[i];
        if (!(used & f->flag) || !(f->member || f->member_set))
            continue;
        uint64_t v = field_get(m, f);
        if (f->member_set ? n_members < 64 && v >> n_members != 0
                          : v >= n_members ||
                                (types[m->type].third_party && (v == m->from || v == m->to)))
            return -DM_EPEER;
    }
    for (size_t i = 0; i < m->n_updates; i++)
        if (m->updates[i].member >= n_members || m->updates[i].accuser >= n_members)
            return -DM_EPEER;
    return 0;
}

/* snprintf-style appender: keeps counting past the end of buf so that the
 * caller learns the length it would have needed. */
typedef struct out {
    char *buf;
    size_t cap;
    size_t len;
} out;

G_GNUC_PRINTF(2, 3)
static void out_printf(out *o, const char *fmt, ...)
{
    bool room = o->len < o->cap;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(room ? o->buf + o->len : NULL, room ? o->cap - o->len : 0, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

static void out_name(out *o, const dm_msg *m, const char *key)
{
    out_printf(o, " %s=", key);
    /* Names are arbitrary bytes; escaping keeps the line one line and its
     * space-separated tokens unambiguous. */
    for (size_t i = 0; i < m->name_len; i++) {
        unsigned char c = (unsigned char)m->name[i];
        if (c > ' ' && c < 0x7f && c != '\\')
            out_printf(o, "%c", c);
        else
            out_printf(o, "\\x%02x", c);
    }
}

static void out_updates(out *o, const dm_msg *m)
{
    /* An invalid message may claim more updates than the array holds. */
    size_t n = MIN(m->n_updates, DM_MSG_MAX_UPDATES);
    if (m->n_updates > DM_MSG_MAX_UPDATES)
        out_printf(o, " n_updates=%u", (unsigned)m->n_updates);
    out_printf(o, " updates=[");
    for (size_t i = 0; i < n; i++) {
        const dm_member_update *u = &m->updates[i];
        out_printf(o, "%s%u:", i ? " " : "", (unsigned)u->member);
        if (u->state <= DM_MEMBER_STATE_MAX)
            out_printf(o, "%s", state_names[u->state]);
        else
            out_printf(o, "%u", (unsigned)u->state);
        out_printf(o, "@%" PRIu32, u->incarnation);
        if (u->accuser != u->member)
            out_printf(o, "<%u", (unsigned)u->accuser);
    }
    out_printf(o, "]");
}

int dm_msg_format(const dm_msg *m, char *buf, size_t cap)
{
    out o = {buf, cap, 0};
    /* A rejected message is logged whole: its stray fields are the news. */
    unsigned used = dm_msg_type_valid((int)m->type) ? dm_msg_fields((int)m->type) : ALL_FIELDS;
    out_printf(&o, "%s %u->%u clock=%" PRIu64, dm_msg_type_name((int)m->type), (unsigned)m->from,
               (unsigned)m->to, m->clock);
    if (used & DM_FIELD_NAME)
        out_name(&o, m, "lock");
    else if ((used & DM_FIELD_BIND) && m->name_len)
        out_name(&o, m, "bind");
    for (size_t i = 0; i < DM_FIELD_COUNT; i++) {
        const dm_msg_field *f = &dm_msg_field_table[i];
        if (used & f->flag)
            out_printf(&o, f->hex ? " %s=0x%" PRIx64 : " %s=%" PRIu64, f->name,
                       dm_msg_field_get(m, f));
    }
    if (used & DM_FIELD_UPDATES)
        out_updates(&o, m);
    return (int)o.len;
}
