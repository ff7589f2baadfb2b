#include "message.h"

#include <glib.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

const dm_msg_field dm_msg_field_table[DM_FIELD_COUNT] = {
    {DM_FIELD_ATTEMPT, "attempt", sizeof(uint64_t), offsetof(dm_msg, attempt), true},
    {DM_FIELD_GRANT, "grant", sizeof(uint64_t), offsetof(dm_msg, grant), false},
    {DM_FIELD_VALUE, "value", sizeof(uint64_t), offsetof(dm_msg, value), false},
    {DM_FIELD_ROUND, "round", sizeof(uint32_t), offsetof(dm_msg, round), false},
};

#define ALL_FIELDS ((1u << DM_FIELD_COUNT) - 1)

static const struct {
    const char *name;
    unsigned fields;
} types[] = {
    [DM_MSG_REQUEST] = {"REQUEST", DM_FIELD_ATTEMPT | DM_FIELD_VALUE},
    [DM_MSG_GRANT] = {"GRANT", DM_FIELD_ATTEMPT | DM_FIELD_GRANT},
    [DM_MSG_FAILED] = {"FAILED", DM_FIELD_ATTEMPT},
    [DM_MSG_INQUIRE] = {"INQUIRE", DM_FIELD_ATTEMPT | DM_FIELD_GRANT | DM_FIELD_VALUE},
    [DM_MSG_YIELD] = {"YIELD", DM_FIELD_ATTEMPT | DM_FIELD_GRANT},
    [DM_MSG_RELEASE] = {"RELEASE", DM_FIELD_ATTEMPT},
    [DM_MSG_KEEP] = {"KEEP", ALL_FIELDS},
    [DM_MSG_KEPT] = {"KEPT", ALL_FIELDS},
    [DM_MSG_REVOKED] = {"REVOKED", DM_FIELD_ATTEMPT | DM_FIELD_GRANT},
};

_Static_assert(G_N_ELEMENTS(types) == DM_MSG_TYPE_END, "types[] must describe every dm_msg_type");

bool dm_msg_type_valid(int type)
{
    return type >= DM_MSG_REQUEST && type < DM_MSG_TYPE_END;
}

const char *dm_msg_type_name(int type)
{
    return dm_msg_type_valid(type) ? types[type].name : "UNKNOWN";
}

unsigned dm_msg_fields(int type)
{
    return dm_msg_type_valid(type) ? types[type].fields : 0;
}

/* memcpy rather than a cast keeps one code path for both widths without
 * type-punning the struct. */
uint64_t dm_msg_field_get(const dm_msg *m, const dm_msg_field *f)
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

uint64_t dm_msg_field_max(int type, const dm_msg_field *f)
{
    if (type == DM_MSG_INQUIRE && f->flag == DM_FIELD_VALUE)
        return DM_INQUIRE_PROBE;
    return f->width == sizeof(uint32_t) ? UINT32_MAX : UINT64_MAX;
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

int dm_msg_validate(const dm_msg *m, uint32_t n_members)
{
    if (!dm_msg_type_valid((int)m->type))
        return -DM_ETYPE;
    if (m->name_len == 0 || m->name[m->name_len] != '\0' ||
        memchr(m->name, '\0', m->name_len) != NULL)
        return -DM_EBADNAME;
    unsigned used = dm_msg_fields((int)m->type);
    for (size_t i = 0; i < DM_FIELD_COUNT; i++) {
        const dm_msg_field *f = &dm_msg_field_table[i];
        uint64_t v = dm_msg_field_get(m, f);
        if (!(used & f->flag) ? v != 0 : v > dm_msg_field_max((int)m->type, f))
            return -DM_EMALFORMED;
    }
    if (m->from >= n_members || m->to >= n_members || m->from == m->to)
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

int dm_msg_format(const dm_msg *m, char *buf, size_t cap)
{
    out o = {buf, cap, 0};
    out_printf(&o, "%s %u->%u clock=%" PRIu64 " lock=", dm_msg_type_name((int)m->type),
               (unsigned)m->from, (unsigned)m->to, m->clock);
    /* Names are arbitrary bytes; escaping keeps the line one line and its
     * space-separated tokens unambiguous. */
    for (size_t i = 0; i < m->name_len; i++) {
        unsigned char c = (unsigned char)m->name[i];
        if (c > ' ' && c < 0x7f && c != '\\')
            out_printf(&o, "%c", c);
        else
            out_printf(&o, "\\x%02x", c);
    }
    /* A rejected message is logged whole: its stray fields are the news. */
    unsigned used = dm_msg_type_valid((int)m->type) ? dm_msg_fields((int)m->type) : ALL_FIELDS;
    for (size_t i = 0; i < DM_FIELD_COUNT; i++) {
        const dm_msg_field *f = &dm_msg_field_table[i];
        if (used & f->flag)
            out_printf(&o, f->hex ? " %s=0x%" PRIx64 : " %s=%" PRIu64, f->name,
                       dm_msg_field_get(m, f));
    }
    return (int)o.len;
}
