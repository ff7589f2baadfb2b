/* dmutex core: dm_reconfig_msg <-> dm_msg (see reconfig_wire.h).
 *
 * One table says, per reconfiguration type, its wire type, which of the two
 * spare ballots the wire's ballot2 holds, and which epoch its configuration
 * has. from_wire is the mapping; to_wire is its inverse, checked by mapping
 * back and comparing, so that the two cannot drift apart.
 */
#include "reconfig_wire.h"

#include <string.h>

#include <glib.h>

#include "error.h"

/* The epoch of a message's configuration, relative to the message's. */
enum conf_epoch {
    CONF_NONE,   /* the type has no configuration */
    CONF_NEXT,   /* C_{epoch+1}: SEALED (when it accepted one), ACCEPT */
    CONF_SAME,   /* the configuration of `epoch`: INSTALL, NEWER */
};

static const struct {
    dm_msg_type wire;
    bool promised;          /* ballot2 is `promised`, else `accepted_ballot` */
    enum conf_epoch conf;
} map[] = {
    [DM_RECONFIG_SEAL] = {DM_MSG_SEAL, false, CONF_NONE},
    [DM_RECONFIG_SEALED] = {DM_MSG_SEALED, false, CONF_NEXT},
    [DM_RECONFIG_ACCEPT] = {DM_MSG_ACCEPT, false, CONF_NEXT},
    [DM_RECONFIG_ACCEPTED] = {DM_MSG_ACCEPTED, false, CONF_NONE},
    [DM_RECONFIG_NACK] = {DM_MSG_REFUSED, true, CONF_NONE},
    [DM_RECONFIG_INSTALL] = {DM_MSG_INSTALL, false, CONF_SAME},
    [DM_RECONFIG_INSTALLED] = {DM_MSG_INSTALLED, false, CONF_NONE},
    [DM_RECONFIG_NEWER] = {DM_MSG_NEWER, false, CONF_SAME},
    [DM_RECONFIG_STALE] = {DM_MSG_STALE, false, CONF_NONE},
};

_Static_assert(G_N_ELEMENTS(map) == DM_RECONFIG_TYPE_COUNT,
               "map[] must place every dm_reconfig_msg_type");
_Static_assert(DM_MSG_STALE - DM_MSG_SEAL + 1 == DM_RECONFIG_TYPE_COUNT - DM_RECONFIG_SEAL,
               "one wire type per reconfiguration type");
_Static_assert(DM_RECONFIG_BIND_MAX <= DM_NAME_MAX, "a binding must fit the name bytes");
_Static_assert(DM_RECONFIG_WIRE_IDS <= DM_RECONFIG_MAX_MEMBERS,
               "a wire configuration must fit dm_epoch_config");

static bool reconfig_type_valid(int t)
{
    return t >= DM_RECONFIG_SEAL && t < DM_RECONFIG_TYPE_COUNT;
}

/* The reconfiguration type sent as wire type `wire`, or 0. */
static dm_reconfig_msg_type reconfig_type(int wire)
{
    for (int t = DM_RECONFIG_SEAL; t < DM_RECONFIG_TYPE_COUNT; t++)
        if ((int)map[t].wire == wire)
            return (dm_reconfig_msg_type)t;
    return 0;
}

/* The mapping itself: no check beyond what indexing needs. */
static void unpack(const dm_msg *in, dm_reconfig_msg_type type, dm_reconfig_msg *out)
{
    memset(out, 0, sizeof *out);
    out->type = type;
    out->from = in->from;
    out->to = in->to;
    out->epoch = in->epoch;
    out->ballot = in->ballot;
    if (map[type].promised)
        out->promised = in->ballot2;
    else
        out->accepted_ballot = in->ballot2;
    out->tokens = in->grant;
    out->lease_us = in->value;
    if (map[type].conf != CONF_NONE && in->members != 0) {
        out->conf.epoch = in->epoch + (map[type].conf == CONF_NEXT);
        for (uint32_t id = 0; id < DM_RECONFIG_WIRE_IDS; id++)
            if (in->members >> id & 1)
                out->conf.ids[out->conf.count++] = id;
    }
    /* The binding is the name bytes (a configuration-less message with any
     * is caught by dm_reconfig_msg_check: its conf is empty but bound). */
    if (map[type].conf != CONF_NONE) {
        out->conf.bind_len = in->name_len;
        memcpy(out->conf.bind, in->name, in->name_len);
    }
}

static bool same(const dm_reconfig_msg *a, const dm_reconfig_msg *b)
{
    return a->type == b->type && a->from == b->from && a->to == b->to &&
           a->epoch == b->epoch && a->ballot == b->ballot &&
           a->accepted_ballot == b->accepted_ballot && a->promised == b->promised &&
           a->tokens == b->tokens && a->lease_us == b->lease_us &&
           dm_epoch_config_equal(&a->conf, &b->conf);
}

int dm_reconfig_msg_to_wire(const dm_reconfig_msg *in, dm_msg *out)
{
    if (!reconfig_type_valid((int)in->type))
        return -DM_ETYPE;
    if (in->conf.count > DM_RECONFIG_MAX_MEMBERS || in->conf.bind_len > DM_RECONFIG_BIND_MAX ||
        (in->conf.bind_len && (in->conf.count == 0 || memchr(in->conf.bind, '\0', in->conf.bind_len))))
        return -DM_EMALFORMED;
    uint64_t members = 0;
    for (uint32_t i = 0; i < in->conf.count; i++) {
        if (in->conf.ids[i] >= DM_RECONFIG_WIRE_IDS)
            return -DM_EINVAL;
        if (i > 0 && in->conf.ids[i] <= in->conf.ids[i - 1])
            return -DM_EMALFORMED;
        members |= UINT64_C(1) << in->conf.ids[i];
    }
    if (in->from > UINT16_MAX || in->to > UINT16_MAX)
        return -DM_EPEER;

    memset(out, 0, sizeof *out);
    out->type = map[in->type].wire;
    out->from = (uint16_t)in->from;
    out->to = (uint16_t)in->to;
    out->epoch = in->epoch;
    out->ballot = in->ballot;
    out->ballot2 = map[in->type].promised ? in->promised : in->accepted_ballot;
    out->grant = in->tokens;
    out->value = in->lease_us;
    out->members = members;
    out->name_len = (uint8_t)in->conf.bind_len;
    memcpy(out->name, in->conf.bind, in->conf.bind_len);
    out->name[out->name_len] = '\0';
    /* Fields the wire type does not carry must be 0 to come back equal;
     * mapping back (with the wire's own rule of zeroing them) tells. */
    unsigned used = dm_msg_fields((int)out->type);
    for (size_t i = 0; i < DM_FIELD_COUNT; i++)
        if (!(used & dm_msg_field_table[i].flag))
            dm_msg_field_set(out, &dm_msg_field_table[i], 0);
    dm_reconfig_msg back;
    unpack(out, in->type, &back);
    if (!same(&back, in))
        return -DM_EMALFORMED;
    return dm_msg_validate(out, DM_MAX_MEMBERS);
}

int dm_reconfig_msg_from_wire(const dm_msg *in, uint32_t universe, dm_reconfig_msg *out)
{
    dm_reconfig_msg_type type = dm_msg_is_reconfig((int)in->type) ? reconfig_type((int)in->type) : 0;
    if (type == 0)
        return -DM_ETYPE;
    int rc = dm_msg_validate(in, universe);
    if (rc < 0)
        return rc;
    unpack(in, type, out);
    return dm_reconfig_msg_check(out, universe);
}
