/* Tests of core/reconfig_wire: the epoch policy's reconfiguration messages
 * mapped to dm_msg and back, through the codec.
 *
 * Hand-written cases pin the mapping (which field goes where, the implied
 * configuration epochs, what cannot be mapped); two bounded fuzz loops check
 * that every valid dm_reconfig_msg survives to_wire -> encode -> decode ->
 * from_wire unchanged, and that mutated frames never crash and come back
 * either refused or as a message dm_reconfig_msg_check accepts.
 */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "error.h"
#include "message.h"
#include "prng.h"
#include "reconfig.h"
#include "reconfig_wire.h"
#include "testlib.h"

#define FUZZ_SEED 0x3ec0f16e0b1e5ULL
#define FUZZ_ROUNDS 20000
#define B(round, id) DM_RECONFIG_BALLOT(round, id)


static dm_reconfig_msg msg(dm_reconfig_msg_type type, uint32_t from, uint32_t to,
                           uint64_t epoch, uint64_t ballot)
{
    dm_reconfig_msg m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.from = from;
    m.to = to;
    m.epoch = epoch;
    m.ballot = ballot;
    return m;
}

static void set_conf(dm_reconfig_msg *m, uint64_t epoch, const uint32_t *ids, uint32_t count)
{
    m->conf.epoch = epoch;
    m->conf.count = count;
    memcpy(m->conf.ids, ids, count * sizeof ids[0]);
}

static void assert_same(const dm_reconfig_msg *a, const dm_reconfig_msg *b)
{
    CU_ASSERT_EQUAL(a->type, b->type);
    CU_ASSERT_EQUAL(a->from, b->from);
    CU_ASSERT_EQUAL(a->to, b->to);
    CU_ASSERT_EQUAL(a->epoch, b->epoch);
    CU_ASSERT_EQUAL(a->ballot, b->ballot);
    CU_ASSERT_EQUAL(a->accepted_ballot, b->accepted_ballot);
    CU_ASSERT_EQUAL(a->promised, b->promised);
    CU_ASSERT_EQUAL(a->tokens, b->tokens);
    CU_ASSERT_EQUAL(a->lease_us, b->lease_us);
    CU_ASSERT(dm_epoch_config_equal(&a->conf, &b->conf));
}

/* to_wire, then the codec both ways, then from_wire: the same message. */
static bool survives(const dm_reconfig_msg *m, uint32_t universe, uint64_t clock)
{
    dm_msg w, back;
    dm_reconfig_msg r;
    uint8_t buf[DM_FRAME_MAX];
    if (dm_reconfig_msg_to_wire(m, &w) != 0)
        return false;
    w.clock = clock;
    int len = dm_codec_encode(&w, buf, sizeof buf);
    if (len <= 0 || dm_codec_decode(buf, (size_t)len, &back) != len)
        return false;
    if (dm_reconfig_msg_from_wire(&back, universe, &r) != 0)
        return false;
    assert_same(&r, m);
    return true;
}

static void test_types(void)
{
    static const struct {
        dm_reconfig_msg_type from;
        dm_msg_type wire;
        const char *name;
    } want[] = {
        {DM_RECONFIG_SEAL, DM_MSG_SEAL, "SEAL"},
        {DM_RECONFIG_SEALED, DM_MSG_SEALED, "SEALED"},
        {DM_RECONFIG_ACCEPT, DM_MSG_ACCEPT, "ACCEPT"},
        {DM_RECONFIG_ACCEPTED, DM_MSG_ACCEPTED, "ACCEPTED"},
        {DM_RECONFIG_NACK, DM_MSG_REFUSED, "REFUSED"},
        {DM_RECONFIG_INSTALL, DM_MSG_INSTALL, "INSTALL"},
        {DM_RECONFIG_INSTALLED, DM_MSG_INSTALLED, "INSTALLED"},
        {DM_RECONFIG_NEWER, DM_MSG_NEWER, "NEWER"},
        {DM_RECONFIG_STALE, DM_MSG_STALE, "STALE"},
    };
    CU_ASSERT_EQUAL(G_N_ELEMENTS(want), DM_RECONFIG_TYPE_COUNT - 1);
    const uint32_t ids[] = {0, 1, 2};
    for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
        /* The least of each type: epoch 2 (INSTALL needs it), ballot 1.1. */
        dm_reconfig_msg m = msg(want[i].from, 1, 0, 2, B(1, 1));
        if (want[i].from == DM_RECONFIG_NACK)
            m.promised = B(2, 0);
        if (want[i].from == DM_RECONFIG_ACCEPT)
            set_conf(&m, 3, ids, 3);
        if (want[i].from == DM_RECONFIG_INSTALL || want[i].from == DM_RECONFIG_NEWER) {
            m.ballot = 0;
            set_conf(&m, 2, ids, 3);
        }
        if (want[i].from == DM_RECONFIG_INSTALLED || want[i].from == DM_RECONFIG_STALE)
            m.ballot = 0;
        CU_ASSERT_EQUAL_FATAL(dm_reconfig_msg_check(&m, 3), 0);
        dm_msg w;
        CU_ASSERT_EQUAL(dm_reconfig_msg_to_wire(&m, &w), 0);
        CU_ASSERT_EQUAL(w.type, want[i].wire);
        CU_ASSERT_STRING_EQUAL(dm_msg_type_name(w.type), want[i].name);
        CU_ASSERT(dm_msg_is_reconfig(w.type));
        CU_ASSERT_EQUAL(w.clock, 0);
        CU_ASSERT_EQUAL(w.name_len, 0);
        CU_ASSERT(survives(&m, 3, 7));
    }
    int n = 0;
    for (int t = -1; t <= DM_MSG_TYPE_END; t++)
        n += dm_msg_is_reconfig(t);
    CU_ASSERT_EQUAL(n, (int)G_N_ELEMENTS(want));
}

/* Which field goes where, and the epochs the wire leaves implied. */
static void test_known_mapping(void)
{
    const uint32_t ids[] = {0, 2, 63};
    const uint64_t bits = 1u | 4u | UINT64_C(1) << 63;
    dm_msg w;

    dm_reconfig_msg m = msg(DM_RECONFIG_SEALED, 2, 63, 5, B(7, 1));
    m.accepted_ballot = B(6, 63);
    set_conf(&m, 6, ids, 3);
    m.tokens = 1234;
    m.lease_us = 5678;
    CU_ASSERT_EQUAL_FATAL(dm_reconfig_msg_to_wire(&m, &w), 0);
    CU_ASSERT_EQUAL(w.from, 2);
    CU_ASSERT_EQUAL(w.to, 63);
    CU_ASSERT_EQUAL(w.epoch, 5);
    CU_ASSERT_EQUAL(w.ballot, B(7, 1));
    CU_ASSERT_EQUAL(w.ballot2, B(6, 63));
    CU_ASSERT_EQUAL(w.members, bits);
    CU_ASSERT_EQUAL(w.grant, 1234);
    CU_ASSERT_EQUAL(w.value, 5678);
    CU_ASSERT(survives(&m, 64, 1));
    /* Nothing accepted: no ballot2, no members, and no configuration back. */
    m.accepted_ballot = 0;
    memset(&m.conf, 0, sizeof m.conf);
    CU_ASSERT_EQUAL_FATAL(dm_reconfig_msg_to_wire(&m, &w), 0);
    CU_ASSERT_EQUAL(w.ballot2, 0);
    CU_ASSERT_EQUAL(w.members, 0);
    CU_ASSERT(survives(&m, 64, 1));

    m = msg(DM_RECONFIG_NACK, 0, 1, 9, B(3, 0));
    m.promised = B(4, 1);
    CU_ASSERT_EQUAL_FATAL(dm_reconfig_msg_to_wire(&m, &w), 0);
    CU_ASSERT_EQUAL(w.type, DM_MSG_REFUSED);
    CU_ASSERT_EQUAL(w.ballot2, B(4, 1));
    CU_ASSERT(survives(&m, 2, 0));

    m = msg(DM_RECONFIG_ACCEPT, 1, 0, 9, B(3, 1));
    set_conf(&m, 10, ids, 2);
    CU_ASSERT_EQUAL_FATAL(dm_reconfig_msg_to_wire(&m, &w), 0);
    CU_ASSERT_EQUAL(w.epoch, 9);
    CU_ASSERT_EQUAL(w.members, 5);

    m = msg(DM_RECONFIG_NEWER, 1, 0, 10, 0);
    set_conf(&m, 10, ids, 2);
    m.tokens = UINT64_MAX;
    m.lease_us = 1;
    CU_ASSERT_EQUAL_FATAL(dm_reconfig_msg_to_wire(&m, &w), 0);
    CU_ASSERT_EQUAL(w.epoch, 10);
    CU_ASSERT_EQUAL(w.members, 5);
    CU_ASSERT_EQUAL(w.grant, UINT64_MAX);
    CU_ASSERT_EQUAL(w.value, 1);
    CU_ASSERT(survives(&m, 3, UINT64_MAX));
}

static void test_to_wire_refuses(void)
{
    const uint32_t ids[] = {1, 2, 64};
    dm_msg w;
    dm_reconfig_msg good = msg(DM_RECONFIG_ACCEPT, 1, 0, 4, B(1, 1));
    set_conf(&good, 5, ids, 2);
    CU_ASSERT_EQUAL(dm_reconfig_msg_to_wire(&good, &w), 0);

    const struct {
        dm_reconfig_msg m;
        int want;
    } cases[] = {
        {msg(0, 1, 0, 4, B(1, 1)), -DM_ETYPE},
        {msg(DM_RECONFIG_TYPE_COUNT, 1, 0, 4, B(1, 1)), -DM_ETYPE},
        {msg(DM_RECONFIG_SEAL, 70000, 0, 4, B(1, 1)), -DM_EPEER},
        {msg(DM_RECONFIG_SEAL, 1, 65536, 4, B(1, 1)), -DM_EPEER},
        {msg(DM_RECONFIG_SEAL, DM_MAX_MEMBERS, 0, 4, B(1, 1)), -DM_EPEER},
        {msg(DM_RECONFIG_SEAL, 1, 1, 4, B(1, 1)), -DM_EPEER},
        {msg(DM_RECONFIG_SEAL, 1, 0, 0, B(1, 1)), -DM_EMALFORMED}, /* epoch 0 */
        {msg(DM_RECONFIG_SEAL, 1, 0, 4, 0), -DM_EMALFORMED},       /* ballot 0 */
        {msg(DM_RECONFIG_STALE, 1, 0, 4, B(1, 1)), -DM_EMALFORMED}, /* STALE has no ballot */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
        CU_ASSERT_EQUAL(dm_reconfig_msg_to_wire(&cases[i].m, &w), cases[i].want);

    dm_reconfig_msg m = good;
    m.conf.ids[2] = 64; /* beyond the bitmap */
    m.conf.count = 3;
    CU_ASSERT_EQUAL(dm_reconfig_msg_to_wire(&m, &w), -DM_EINVAL);
    m = good;
    m.conf.ids[1] = 1; /* not strictly ascending */
    CU_ASSERT_EQUAL(dm_reconfig_msg_to_wire(&m, &w), -DM_EMALFORMED);
    m = good;
    m.conf.count = DM_RECONFIG_MAX_MEMBERS + 1;
    CU_ASSERT_EQUAL(dm_reconfig_msg_to_wire(&m, &w), -DM_EMALFORMED);
    m = good;
    m.conf.epoch = 4; /* ACCEPT's is epoch + 1 */
    CU_ASSERT_EQUAL(dm_reconfig_msg_to_wire(&m, &w), -DM_EMALFORMED);
    m = good;
    m.conf.count = 0; /* ACCEPT needs a configuration */
    CU_ASSERT_EQUAL(dm_reconfig_msg_to_wire(&m, &w), -DM_EMALFORMED);
    m = good;
    m.conf.epoch = 0;
    m.conf.count = 0;
    CU_ASSERT_EQUAL(dm_reconfig_msg_to_wire(&m, &w), -DM_EMALFORMED);
    /* Fields ACCEPT does not carry would be lost. */
    uint64_t *stray[] = {&m.accepted_ballot, &m.promised, &m.tokens, &m.lease_us};
    for (size_t i = 0; i < G_N_ELEMENTS(stray); i++) {
        m = good;
        *stray[i] = 1;
        CU_ASSERT_EQUAL(dm_reconfig_msg_to_wire(&m, &w), -DM_EMALFORMED);
    }
    /* SEALED carries one spare ballot (accepted), REFUSED the other. */
    m = msg(DM_RECONFIG_SEALED, 1, 0, 4, B(2, 0));
    CU_ASSERT_EQUAL(dm_reconfig_msg_to_wire(&m, &w), 0);
    m.promised = B(1, 1);
    CU_ASSERT_EQUAL(dm_reconfig_msg_to_wire(&m, &w), -DM_EMALFORMED);
    m = msg(DM_RECONFIG_NACK, 1, 0, 4, B(2, 0));
    m.promised = B(3, 0);
    CU_ASSERT_EQUAL(dm_reconfig_msg_to_wire(&m, &w), 0);
    m.accepted_ballot = B(1, 1);
    CU_ASSERT_EQUAL(dm_reconfig_msg_to_wire(&m, &w), -DM_EMALFORMED);
    /* A configuration on a type without one, or an INSTALL whose epoch is
     * not its configuration's. */
    m = msg(DM_RECONFIG_INSTALLED, 1, 0, 4, 0);
    set_conf(&m, 4, ids, 1);
    CU_ASSERT_EQUAL(dm_reconfig_msg_to_wire(&m, &w), -DM_EMALFORMED);
    m = msg(DM_RECONFIG_INSTALL, 1, 0, 4, 0);
    set_conf(&m, 5, ids, 1);
    CU_ASSERT_EQUAL(dm_reconfig_msg_to_wire(&m, &w), -DM_EMALFORMED);
    m.conf.epoch = 4;
    CU_ASSERT_EQUAL(dm_reconfig_msg_to_wire(&m, &w), 0);
}

static dm_msg wire_of(const dm_reconfig_msg *m)
{
    dm_msg w;
    CU_ASSERT_EQUAL_FATAL(dm_reconfig_msg_to_wire(m, &w), 0);
    return w;
}

static void test_from_wire_refuses(void)
{
    dm_reconfig_msg out;
    const uint32_t ids[] = {0, 1, 2};

    /* Not a reconfiguration type. */
    dm_msg w;
    memset(&w, 0, sizeof w);
    w.type = DM_MSG_REQUEST;
    w.from = 1;
    dm_msg_set_name(&w, "x");
    CU_ASSERT_EQUAL(dm_msg_validate(&w, 3), 0);
    CU_ASSERT_EQUAL(dm_reconfig_msg_from_wire(&w, 3, &out), -DM_ETYPE);
    w.type = (dm_msg_type)DM_MSG_TYPE_END;
    CU_ASSERT_EQUAL(dm_reconfig_msg_from_wire(&w, 3, &out), -DM_ETYPE);

    dm_reconfig_msg acc = msg(DM_RECONFIG_ACCEPT, 1, 0, 4, B(1, 1));
    set_conf(&acc, 5, ids, 3);
    const dm_msg good = wire_of(&acc);
    CU_ASSERT_EQUAL(dm_reconfig_msg_from_wire(&good, 3, &out), 0);
    /* A member beyond the universe: in the set, or as a peer. */
    CU_ASSERT_EQUAL(dm_reconfig_msg_from_wire(&good, 2, &out), -DM_EPEER);
    w = good;
    w.members = UINT64_C(1) << 63;
    CU_ASSERT_EQUAL(dm_reconfig_msg_from_wire(&w, 63, &out), -DM_EPEER);
    CU_ASSERT_EQUAL(dm_reconfig_msg_from_wire(&w, 64, &out), 0);
    CU_ASSERT_EQUAL(out.conf.count, 1);
    CU_ASSERT_EQUAL(out.conf.ids[0], 63);
    /* What the message check says: a ballot not the sender's. */
    w = good;
    w.ballot = B(1, 2);
    CU_ASSERT_EQUAL(dm_reconfig_msg_from_wire(&w, 3, &out), -DM_EMALFORMED);
    /* Structure: a stray field, an empty configuration. */
    w = good;
    w.grant = 1;
    CU_ASSERT_EQUAL(dm_reconfig_msg_from_wire(&w, 3, &out), -DM_EMALFORMED);
    w = good;
    w.members = 0;
    CU_ASSERT_EQUAL(dm_reconfig_msg_from_wire(&w, 3, &out), -DM_EMALFORMED);

    /* SEALED: an accepted ballot without its configuration, or the reverse. */
    dm_reconfig_msg sealed = msg(DM_RECONFIG_SEALED, 1, 0, 4, B(2, 0));
    w = wire_of(&sealed);
    CU_ASSERT_EQUAL(dm_reconfig_msg_from_wire(&w, 3, &out), 0);
    w.ballot2 = B(1, 0);
    CU_ASSERT_EQUAL(dm_reconfig_msg_from_wire(&w, 3, &out), -DM_EMALFORMED);
    w.members = 1;
    CU_ASSERT_EQUAL(dm_reconfig_msg_from_wire(&w, 3, &out), 0);
    CU_ASSERT_EQUAL(out.conf.epoch, 5);
    w.ballot2 = 0;
    CU_ASSERT_EQUAL(dm_reconfig_msg_from_wire(&w, 3, &out), -DM_EMALFORMED);

    /* REFUSED names a promise above the refused ballot. */
    dm_reconfig_msg nack = msg(DM_RECONFIG_NACK, 1, 0, 4, B(2, 0));
    nack.promised = B(2, 1);
    w = wire_of(&nack);
    CU_ASSERT_EQUAL(dm_reconfig_msg_from_wire(&w, 3, &out), 0);
    w.ballot2 = B(2, 0);
    CU_ASSERT_EQUAL(dm_reconfig_msg_from_wire(&w, 3, &out), -DM_EMALFORMED);

    /* A binding rides the name bytes of the types with a configuration, and
     * nowhere else. */
    dm_reconfig_msg bound = msg(DM_RECONFIG_INSTALL, 1, 0, 2, 0);
    set_conf(&bound, 2, ids, 2);
    bound.conf.bind_len = 11;
    memcpy(bound.conf.bind, "5=h.b:7946,", 11);
    w = wire_of(&bound);
    CU_ASSERT_EQUAL(w.name_len, 11);
    CU_ASSERT_EQUAL(dm_reconfig_msg_from_wire(&w, 3, &out), 0);
    assert_same(&out, &bound);
    CU_ASSERT_TRUE(survives(&bound, 3, 9));
    dm_msg dummy;
    dm_reconfig_msg unbound = sealed;    /* accepted nothing: a binding has no place */
    unbound.conf.bind_len = 1;
    unbound.conf.bind[0] = 'x';
    CU_ASSERT_EQUAL(dm_reconfig_msg_to_wire(&unbound, &dummy), -DM_EMALFORMED);
    w = wire_of(&sealed);
    dm_msg_set_name(&w, "x");
    CU_ASSERT_EQUAL(dm_reconfig_msg_from_wire(&w, 3, &out), -DM_EMALFORMED);
    dm_reconfig_msg stale = msg(DM_RECONFIG_STALE, 1, 0, 2, 0);
    w = wire_of(&stale);
    dm_msg_set_name(&w, "x");
    CU_ASSERT_EQUAL(dm_reconfig_msg_from_wire(&w, 3, &out), -DM_EBADNAME);
    bound.conf.bind[3] = '\0';
    CU_ASSERT_EQUAL(dm_reconfig_msg_to_wire(&bound, &dummy), -DM_EMALFORMED);

    /* INSTALL of epoch 1: C_1 is never installed by a message. */
    dm_reconfig_msg inst = msg(DM_RECONFIG_INSTALL, 1, 0, 2, 0);
    set_conf(&inst, 2, ids, 2);
    w = wire_of(&inst);
    CU_ASSERT_EQUAL(dm_reconfig_msg_from_wire(&w, 3, &out), 0);
    w.epoch = 1;
    CU_ASSERT_EQUAL(dm_reconfig_msg_from_wire(&w, 3, &out), -DM_EMALFORMED);
}

/* A random valid ballot of `universe`, optionally of proposer `id`. */
static uint64_t random_ballot(dm_prng *s, uint32_t universe, int64_t id)
{
    uint64_t round = dm_prng_below(s, 4) ? 1 + dm_prng_below(s, 8) : 1 + dm_prng_below(s, DM_RECONFIG_ROUND_MAX);
    return B(round, id >= 0 ? (uint64_t)id : dm_prng_below(s, universe));
}

static void random_conf(dm_prng *s, uint32_t universe, uint64_t epoch, dm_epoch_config *c)
{
    memset(c, 0, sizeof *c);
    c->epoch = epoch;
    uint64_t bits = dm_prng_next(s) & (universe == 64 ? UINT64_MAX : (UINT64_C(1) << universe) - 1);
    if (bits == 0)
        bits = UINT64_C(1) << dm_prng_below(s, universe);
    for (uint32_t id = 0; id < universe; id++)
        if (bits >> id & 1)
            c->ids[c->count++] = id;
}

/* A random message of `type` that dm_reconfig_msg_check accepts, with its
 * values at their edges now and then. */
static dm_reconfig_msg random_msg(dm_prng *s, uint32_t universe, dm_reconfig_msg_type type)
{
    uint32_t from = (uint32_t)dm_prng_below(s, universe);
    uint32_t to = (from + 1 + (uint32_t)dm_prng_below(s, universe - 1)) % universe;
    static const uint64_t epochs[] = {1, 2, 3, UINT64_MAX - 1};
    uint64_t epoch = dm_prng_below(s, 2) ? epochs[dm_prng_below(s, G_N_ELEMENTS(epochs))]
                                     : 1 + dm_prng_below(s, UINT64_MAX - 1);
    if (type == DM_RECONFIG_INSTALL || type == DM_RECONFIG_NEWER)
        epoch += epoch == 1;
    dm_reconfig_msg m = msg(type, from, to, epoch, 0);
    uint64_t b1 = random_ballot(s, universe, -1), b2 = random_ballot(s, universe, -1);
    switch (type) {
    case DM_RECONFIG_SEAL:
    case DM_RECONFIG_ACCEPT:
        m.ballot = random_ballot(s, universe, from);
        if (type == DM_RECONFIG_ACCEPT)
            random_conf(s, universe, epoch + 1, &m.conf);
        break;
    case DM_RECONFIG_SEALED:
        m.ballot = MAX(b1, b2);
        if (dm_prng_below(s, 3)) {
            m.accepted_ballot = MIN(b1, b2);
            random_conf(s, universe, epoch + 1, &m.conf);
        }
        m.tokens = dm_prng_next(s);
        m.lease_us = dm_prng_next(s);
        break;
    case DM_RECONFIG_NACK:
        if (b1 == b2) /* another round, so another ballot */
            b2 = B(DM_RECONFIG_BALLOT_ROUND(b1) % DM_RECONFIG_ROUND_MAX + 1,
                   DM_RECONFIG_BALLOT_ID(b1));
        m.ballot = MIN(b1, b2);
        m.promised = MAX(b1, b2);
        break;
    case DM_RECONFIG_ACCEPTED:
        m.ballot = b1;
        m.tokens = dm_prng_next(s);
        m.lease_us = dm_prng_next(s);
        break;
    case DM_RECONFIG_INSTALL:
    case DM_RECONFIG_NEWER:
        random_conf(s, universe, epoch, &m.conf);
        m.tokens = dm_prng_next(s);
        m.lease_us = dm_prng_next(s);
        break;
    default:
        break;
    }
    return m;
}

static void test_fuzz_round_trip(void)
{
    dm_prng s;
    dm_prng_seed(&s, FUZZ_SEED);
    int bad = 0, by_type[DM_RECONFIG_TYPE_COUNT] = {0};
    for (int i = 0; i < FUZZ_ROUNDS; i++) {
        uint32_t universe = dm_prng_below(&s, 4) ? 2 + (uint32_t)dm_prng_below(&s, 63) : 64;
        dm_reconfig_msg_type type =
            (dm_reconfig_msg_type)(DM_RECONFIG_SEAL + dm_prng_below(&s, DM_RECONFIG_TYPE_COUNT - 1));
        dm_reconfig_msg m = random_msg(&s, universe, type);
        CU_ASSERT_EQUAL_FATAL(dm_reconfig_msg_check(&m, universe), 0);
        if (!survives(&m, universe, dm_prng_next(&s)) && bad++ == 0)
            fprintf(stderr, "\nround trip %d (seed %#llx) failed\n", i,
                    (unsigned long long)FUZZ_SEED);
        by_type[type]++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    for (int t = DM_RECONFIG_SEAL; t < DM_RECONFIG_TYPE_COUNT; t++)
        CU_ASSERT(by_type[t] > FUZZ_ROUNDS / 20);
}

/* Frames of valid messages with a few bytes changed, and frames of random
 * bytes under a valid header: decoding and mapping never crash; whatever
 * maps passes dm_reconfig_msg_check and maps back to the same dm_msg. */
static void test_fuzz_mutations(void)
{
    dm_prng s;
    dm_prng_derive(&s, FUZZ_SEED, "mutations", 0);
    int broken = 0, mapped = 0, refused = 0;
    for (int i = 0; i < FUZZ_ROUNDS; i++) {
        uint32_t universe = 2 + (uint32_t)dm_prng_below(&s, 63);
        dm_reconfig_msg_type type =
            (dm_reconfig_msg_type)(DM_RECONFIG_SEAL + dm_prng_below(&s, DM_RECONFIG_TYPE_COUNT - 1));
        dm_reconfig_msg m = random_msg(&s, universe, type);
        dm_msg w;
        uint8_t buf[DM_FRAME_MAX];
        CU_ASSERT_EQUAL_FATAL(dm_reconfig_msg_to_wire(&m, &w), 0);
        int len = dm_codec_encode(&w, buf, sizeof buf);
        CU_ASSERT_FATAL(len > 0);
        if (dm_prng_below(&s, 4) == 0) {
            /* Noise after the header, the type kept or another reconfiguration type. */
            for (int k = DM_FRAME_HEADER; k < len; k++)
                buf[k] = (uint8_t)dm_prng_next(&s);
            if (dm_prng_below(&s, 2))
                buf[5] = (uint8_t)(DM_MSG_SEAL + dm_prng_below(&s, DM_MSG_STALE - DM_MSG_SEAL + 1));
        } else {
            /* One to four bytes, mostly in the fields, to 0, 1, 0xff or noise. */
            for (size_t n = 1 + dm_prng_below(&s, 4); n > 0; n--) {
                size_t at = dm_prng_below(&s, 8) ? DM_FRAME_HEADER + dm_prng_below(&s, (uint64_t)len - DM_FRAME_HEADER)
                                             : dm_prng_below(&s, (uint64_t)len);
                static const uint8_t vals[] = {0, 1, 0xff};
                buf[at] = dm_prng_below(&s, 2) ? vals[dm_prng_below(&s, 3)] : (uint8_t)dm_prng_next(&s);
            }
        }
        dm_msg back;
        dm_reconfig_msg r;
        if (dm_codec_decode(buf, (size_t)len, &back) < 0 || !dm_msg_is_reconfig(back.type)) {
            refused++;
            continue;
        }
        int rc = dm_reconfig_msg_from_wire(&back, universe, &r);
        if (rc < 0) {
            refused++;
            continue;
        }
        mapped++;
        dm_msg again;
        bool ok = dm_reconfig_msg_check(&r, universe) == 0 &&
                  dm_reconfig_msg_to_wire(&r, &again) == 0;
        again.clock = back.clock;
        if (ok) {
            uint8_t b1[DM_FRAME_MAX], b2[DM_FRAME_MAX];
            int l1 = dm_codec_encode(&back, b1, sizeof b1), l2 = dm_codec_encode(&again, b2, sizeof b2);
            ok = l1 > 0 && l1 == l2 && memcmp(b1, b2, (size_t)l1) == 0;
        }
        if (!ok && broken++ == 0)
            fprintf(stderr, "\nmutation %d (seed %#llx) mapped to something else\n", i,
                    (unsigned long long)FUZZ_SEED);
    }
    CU_ASSERT_EQUAL(broken, 0);
    CU_ASSERT(mapped > FUZZ_ROUNDS / 10);
    CU_ASSERT(refused > FUZZ_ROUNDS / 10);
}

static const CU_TestInfo tests[] = {
    {"types and names", test_types},
    {"known mapping", test_known_mapping},
    {"to_wire refuses what it cannot map", test_to_wire_refuses},
    {"from_wire refuses what does not map", test_from_wire_refuses},
    {"fuzz: valid messages round-trip", test_fuzz_round_trip},
    {"fuzz: mutated frames", test_fuzz_mutations},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return dm_test_run("reconfig_wire", tests);
}
