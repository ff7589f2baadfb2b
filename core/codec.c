#include "codec.h"

#include <stdbool.h>
#include <string.h>

#include "error.h"

/* Byte offsets of the fixed header, as codec.h draws it. */
enum {
    OFF_LENGTH = 0,
    OFF_VERSION = 4,
    OFF_TYPE = 5,
    OFF_FROM = 6,
    OFF_TO = 8,
    OFF_NAME_LEN = 10,
    OFF_FLAGS = 11,
    OFF_CLOCK = 12,
    OFF_NAME = OFF_CLOCK + 8,
};

_Static_assert(OFF_NAME == DM_FRAME_HEADER, "header layout disagrees with DM_FRAME_HEADER");

/* One update of a membership message's tail, as codec.h draws it. */
enum {
    UPD_MEMBER = 0,
    UPD_ACCUSER = 2,
    UPD_STATE = 4,
    UPD_RESERVED = 5,
    UPD_INCARNATION = 6,
    UPD_SIZE = 10,
};

/* The largest frame of any type is below what the longest name, every field
 * at 8 bytes and a full tail of updates (10 bytes each) add up to (no type has them all). */
_Static_assert(DM_FRAME_HEADER + DM_NAME_MAX + DM_FIELD_COUNT * sizeof(uint64_t) + 1 +
                       UPD_SIZE * DM_MSG_MAX_UPDATES <=
                   DM_FRAME_MAX,
               "a message of some type may not fit DM_FRAME_MAX");
_Static_assert(DM_MSG_MAX_UPDATES <= UINT8_MAX, "the update count is one byte on the wire");

static void put_be(uint8_t *p, uint64_t v, size_t width)
{
    for (size_t i = width; i-- > 0; v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *p, size_t width)
{
    uint64_t v = 0;
    for (size_t i = 0; i < width; i++)
        v = v << 8 | p[i];
    return v;
}

/* Bytes from the start of the frame to the end of the fixed fields, where a
 * membership message's update count is. */
static size_t fixed_size(int type, size_t name_len)
{
    size_t w = DM_FRAME_HEADER + name_len;
    unsigned used = dm_msg_fields(type);
    for (size_t i = 0; i < DM_FIELD_COUNT; i++)
        if (used & dm_msg_field_table[i].flag)
            w += dm_msg_field_table[i].width;
    return w;
}

static size_t frame_size(int type, size_t name_len, size_t n_updates)
{
    size_t w = fixed_size(type, name_len);
    if (dm_msg_fields(type) & DM_FIELD_UPDATES)
        w += 1 + UPD_SIZE * n_updates;
    return w;
}

void dm_codec_put_header(uint8_t *buf, uint8_t type, uint16_t from, uint16_t to, uint32_t length)
{
    memset(buf, 0, DM_FRAME_HEADER);
    put_be(buf + OFF_LENGTH, length, 4);
    buf[OFF_VERSION] = DM_WIRE_VERSION;
    buf[OFF_TYPE] = type;
    put_be(buf + OFF_FROM, from, 2);
    put_be(buf + OFF_TO, to, 2);
}

int dm_codec_frame_type(const uint8_t *buf, size_t len)
{
    return len > OFF_TYPE ? buf[OFF_TYPE] : -1;
}

int dm_codec_size(const dm_msg *m)
{
    int rc = dm_msg_validate(m, DM_MAX_MEMBERS);
    if (rc < 0)
        return rc;
    return (int)frame_size((int)m->type, m->name_len, m->n_updates);
}

int dm_codec_encode(const dm_msg *m, uint8_t *buf, size_t cap)
{
    int size = dm_codec_size(m);
    if (size < 0)
        return size;
    if (cap < (size_t)size)
        return -DM_EINVAL;

    put_be(buf + OFF_LENGTH, (uint64_t)size, 4);
    buf[OFF_VERSION] = DM_WIRE_VERSION;
    buf[OFF_TYPE] = (uint8_t)m->type;
    put_be(buf + OFF_FROM, m->from, 2);
    put_be(buf + OFF_TO, m->to, 2);
    buf[OFF_NAME_LEN] = m->name_len;
    buf[OFF_FLAGS] = 0;
    put_be(buf + OFF_CLOCK, m->clock, 8);
    memcpy(buf + OFF_NAME, m->name, m->name_len);

    uint8_t *p = buf + OFF_NAME + m->name_len;
    unsigned used = dm_msg_fields((int)m->type);
    for (size_t i = 0; i < DM_FIELD_COUNT; i++) {
        const dm_msg_field *f = &dm_msg_field_table[i];
        if (used & f->flag) {
            put_be(p, dm_msg_field_get(m, f), f->width);
            p += f->width;
        }
    }
    if (used & DM_FIELD_UPDATES) {
        *p++ = m->n_updates;
        for (size_t i = 0; i < m->n_updates; i++, p += UPD_SIZE) {
            const dm_member_update *u = &m->updates[i];
            put_be(p + UPD_MEMBER, u->member, 2);
            put_be(p + UPD_ACCUSER, u->accuser, 2);
            p[UPD_STATE] = u->state;
            p[UPD_RESERVED] = 0;
            put_be(p + UPD_INCARNATION, u->incarnation, 4);
        }
    }
    return size;
}

int dm_codec_frame_length(const uint8_t *buf, size_t len)
{
    if (len < 4)
        return -DM_ETRUNC;
    uint64_t length = get_be(buf + OFF_LENGTH, 4);
    if (length > DM_FRAME_MAX)
        return -DM_EOVERSIZE;
    if (length < DM_FRAME_HEADER)
        return -DM_EMALFORMED;
    return (int)length;
}

int dm_codec_decode(const uint8_t *buf, size_t len, dm_msg *m)
{
    int length = dm_codec_frame_length(buf, len);
    if (length < 0)
        return length;
    /* Everything below reads inside buf[0..length), and length <= len. */
    if (len < (size_t)length)
        return -DM_ETRUNC;
    if (buf[OFF_VERSION] != DM_WIRE_VERSION)
        return -DM_EVERSION;
    int type = buf[OFF_TYPE];
    if (!dm_msg_type_valid(type))
        return -DM_ETYPE;
    if (buf[OFF_FLAGS] != 0)
        return -DM_EMALFORMED;
    size_t name_len = buf[OFF_NAME_LEN];
    size_t fixed = fixed_size(type, name_len);
    bool has_updates = (dm_msg_fields(type) & DM_FIELD_UPDATES) != 0;
    size_t n_updates = 0;
    if (has_updates) {
        /* The count must lie inside the frame, and must not overrun the
         * message's array before the lengths are compared. */
        if ((size_t)length <= fixed)
            return -DM_EMALFORMED;
        n_updates = buf[fixed];
        if (n_updates > DM_MSG_MAX_UPDATES)
            return -DM_EMALFORMED;
    }
    if ((size_t)length != frame_size(type, name_len, n_updates))
        return -DM_EMALFORMED;

    /* Zeroing first leaves the fields the type does not carry at zero, as
     * dm_msg_validate requires, and terminates the name. */
    memset(m, 0, sizeof *m);
    m->type = (dm_msg_type)type;
    m->from = (uint16_t)get_be(buf + OFF_FROM, 2);
    m->to = (uint16_t)get_be(buf + OFF_TO, 2);
    m->name_len = (uint8_t)name_len;
    m->clock = get_be(buf + OFF_CLOCK, 8);
    memcpy(m->name, buf + OFF_NAME, name_len);

    const uint8_t *p = buf + OFF_NAME + name_len;
    unsigned used = dm_msg_fields(type);
    for (size_t i = 0; i < DM_FIELD_COUNT; i++) {
        const dm_msg_field *f = &dm_msg_field_table[i];
        if (used & f->flag) {
            dm_msg_field_set(m, f, get_be(p, f->width));
            p += f->width;
        }
    }
    if (has_updates) {
        m->n_updates = *p++;
        for (size_t i = 0; i < n_updates; i++, p += UPD_SIZE) {
            if (p[UPD_RESERVED] != 0)
                return -DM_EMALFORMED;
            dm_member_update *u = &m->updates[i];
            u->member = (uint16_t)get_be(p + UPD_MEMBER, 2);
            u->accuser = (uint16_t)get_be(p + UPD_ACCUSER, 2);
            u->state = p[UPD_STATE];
            u->incarnation = (uint32_t)get_be(p + UPD_INCARNATION, 4);
        }
    }

    /* The remaining rules (a lock name neither empty nor holding a NUL, a
     * membership message's name empty, field ranges, update states, from,
     * to, target and updated members being members, ...) are the struct's
     * own; checking them with the same function is what guarantees that a
     * decoded message is valid. */
    int rc = dm_msg_validate(m, DM_MAX_MEMBERS);
    return rc < 0 ? rc : length;
}
