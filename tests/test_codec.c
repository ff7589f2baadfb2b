#include <glib.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "error.h"
#include "message.h"
#include "testlib.h"

#define FUZZ_SEED 0x5eedc0dec0ffeeULL
#define FUZZ_ROUNDS 100000
#define NOISE_MAX_LEN 1500

/* splitmix64: a local generator keeps this suite independent of core/prng. */
static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static size_t rnd_below(uint64_t *s, size_t bound)
{
    return (size_t)(rnd(s) % bound);
}

/* A message of `type` with every per-type field set to v (narrowed to its
 * width and range: a required field is at least 1), the clock too, and any
 * member field to `target`; a lock
 * message gets a name of `extent` bytes, a membership message `extent`
 * updates drawn from v (the first at the member edge, with an accuser at one
 * edge or the other, 0 for even v, DM_MAX_MEMBERS - 1 for odd); a recovery
 * message (RECOVER, FLOOR) has neither and ignores extent. */
static dm_msg sample(int type, uint64_t v, size_t extent, uint16_t from, uint16_t to,
                     uint32_t target)
{
    dm_msg m;
    memset(&m, 0, sizeof m);
    m.type = (dm_msg_type)type;
    m.from = from;
    m.to = to;
    m.clock = v;
    unsigned used = dm_msg_fields(type);
    if (used & DM_FIELD_NAME) {
        m.name_len = (uint8_t)extent;
        for (size_t i = 0; i < extent; i++)
            m.name[i] = (char)('a' + i % 26);
    }
    for (size_t i = 0; i < DM_FIELD_COUNT; i++) {
        const dm_msg_field *f = &dm_msg_field_table[i];
        if (used & f->flag)
            dm_msg_field_set(&m, f,
                             f->member ? target
                                       : CLAMP(v, dm_msg_field_min(type, f),
                                               dm_msg_field_max(type, f)));
    }
    if (used & DM_FIELD_UPDATES) {
        /* The first update at the member, accuser and incarnation edges;
         * states cycle, so 64 updates hold each several times. */
        m.n_updates = (uint8_t)extent;
        for (size_t i = 0; i < extent; i++)
            m.updates[i] = (dm_member_update){
                .member = i == 0 ? DM_MAX_MEMBERS - 1 : (uint16_t)((v + 37 * i) % DM_MAX_MEMBERS),
                .accuser = i == 0   ? (v & 1 ? DM_MAX_MEMBERS - 1 : 0)
                           : i == 1 ? (v & 1 ? 0 : DM_MAX_MEMBERS - 1)
                                    : (uint16_t)((v + 53 * i) % DM_MAX_MEMBERS),
                .state = (uint8_t)((v + i) % (DM_MEMBER_STATE_MAX + 1)),
                .incarnation = (uint32_t)v ^ (uint32_t)i,
            };
    }
    return m;
}

static dm_msg random_of_type(uint64_t *s, int type)
{
    dm_msg m;
    memset(&m, 0, sizeof m);
    m.type = (dm_msg_type)type;
    m.from = (uint16_t)rnd_below(s, DM_MAX_MEMBERS);
    m.to = (uint16_t)((m.from + 1 + rnd_below(s, DM_MAX_MEMBERS - 1)) % DM_MAX_MEMBERS);
    m.clock = rnd(s);
    unsigned used = dm_msg_fields((int)m.type);
    if (used & DM_FIELD_NAME) {
        /* Short names most of the time, so mutations hit the header and fields. */
        m.name_len = (uint8_t)(1 + rnd_below(s, rnd_below(s, 4) ? 16 : DM_NAME_MAX));
        for (size_t i = 0; i < m.name_len; i++)
            m.name[i] = (char)(1 + rnd_below(s, 255));
    }
    for (size_t i = 0; i < DM_FIELD_COUNT; i++) {
        const dm_msg_field *f = &dm_msg_field_table[i];
        if (!(used & f->flag))
            continue;
        uint64_t max = dm_msg_field_max((int)m.type, f);
        uint64_t v = rnd(s);
        if (f->member) {
            /* A PING_REQ's target is a third member. */
            do
                v = rnd_below(s, DM_MAX_MEMBERS);
            while (m.type == DM_MSG_PING_REQ && (v == m.from || v == m.to));
        } else if (max != UINT64_MAX) {
            v %= max + 1;
        }
        v = MAX(v, dm_msg_field_min((int)m.type, f));
        dm_msg_field_set(&m, f, v);
    }
    if (used & DM_FIELD_UPDATES) {
        /* Few updates most of the time, for the same reason. */
        m.n_updates = (uint8_t)rnd_below(s, rnd_below(s, 4) ? 4 : DM_MSG_MAX_UPDATES + 1);
        for (size_t i = 0; i < m.n_updates; i++) {
            uint16_t member = (uint16_t)rnd_below(s, DM_MAX_MEMBERS);
            /* The member itself (ALIVE, LEFT) half the time, anyone else
             * (SUSPECT, DEAD) otherwise. */
            uint16_t accuser = rnd_below(s, 2) ? member : (uint16_t)rnd_below(s, DM_MAX_MEMBERS);
            m.updates[i] = (dm_member_update){
                .member = member,
                .accuser = accuser,
                .state = (uint8_t)rnd_below(s, DM_MEMBER_STATE_MAX + 1),
                .incarnation = (uint32_t)rnd(s),
            };
        }
    }
    return m;
}

static dm_msg random_msg(uint64_t *s)
{
    return random_of_type(s, DM_MSG_REQUEST + (int)rnd_below(s, DM_MSG_TYPE_END - DM_MSG_REQUEST));
}

static void assert_msg_equal(const dm_msg *a, const dm_msg *b)
{
    CU_ASSERT_EQUAL(a->type, b->type);
    CU_ASSERT_EQUAL(a->from, b->from);
    CU_ASSERT_EQUAL(a->to, b->to);
    CU_ASSERT_EQUAL(a->clock, b->clock);
    CU_ASSERT_EQUAL(a->attempt, b->attempt);
    CU_ASSERT_EQUAL(a->grant, b->grant);
    CU_ASSERT_EQUAL(a->value, b->value);
    CU_ASSERT_EQUAL(a->round, b->round);
    CU_ASSERT_EQUAL(a->target, b->target);
    CU_ASSERT_EQUAL(a->epoch, b->epoch);
    CU_ASSERT_EQUAL(a->ballot, b->ballot);
    CU_ASSERT_EQUAL(a->ballot2, b->ballot2);
    CU_ASSERT_EQUAL(a->members, b->members);
    CU_ASSERT_EQUAL(a->name_len, b->name_len);
    CU_ASSERT(memcmp(a->name, b->name, a->name_len + 1u) == 0);
    CU_ASSERT_EQUAL_FATAL(a->n_updates, b->n_updates);
    for (size_t i = 0; i < a->n_updates; i++) {
        CU_ASSERT_EQUAL(a->updates[i].member, b->updates[i].member);
        CU_ASSERT_EQUAL(a->updates[i].accuser, b->updates[i].accuser);
        CU_ASSERT_EQUAL(a->updates[i].state, b->updates[i].state);
        CU_ASSERT_EQUAL(a->updates[i].incarnation, b->updates[i].incarnation);
    }
}

/* The edge cases: each type x {0, max, a byte pattern} x {name length 1,
 * 255 | 0, 1, 64 updates | nothing} x the extreme peer ids x, where the type
 * has a target, {0, 1, max - 1, max} (those a PING_REQ may name: 1 and
 * max - 1).
 *   lock (RECOVERING, HELD, GRANT_RESERVED too) 12 * 3 * 2 * 2, PING/SYNC 2 * 3 * 3 * 2,
 *   ACK/NACK 2 * 3 * 3 * 2 * 4, PING_REQ 3 * 3 * 2 * 2, RECOVER/FLOOR 2 * 3 * 2,
 *   SEAL..STALE 9 * 3 * 2, GOSSIP 3 * 3 * 2 */
#define N_SAMPLES                                                                                  \
    (12 * 3 * 2 * 2 + 2 * 3 * 3 * 2 + 2 * 3 * 3 * 2 * 4 + 3 * 3 * 2 * 2 + 2 * 3 * 2 + 9 * 3 * 2 + \
     3 * 3 * 2)
static dm_msg samples[N_SAMPLES];

static int init_samples(void)
{
    const uint64_t values[] = {0, UINT64_MAX, 0x0102030405060708ULL};
    const size_t names[] = {1, DM_NAME_MAX};
    const size_t counts[] = {0, 1, DM_MSG_MAX_UPDATES};
    const size_t no_extent[] = {0};
    const uint16_t peers[][2] = {{0, DM_MAX_MEMBERS - 1}, {DM_MAX_MEMBERS - 1, 0}};
    const uint32_t targets[] = {0, 1, DM_MAX_MEMBERS - 2, DM_MAX_MEMBERS - 1};
    size_t n = 0;
    for (int t = DM_MSG_REQUEST; t < DM_MSG_TYPE_END; t++) {
        bool swim = dm_msg_is_membership(t);
        bool named = (dm_msg_fields(t) & DM_FIELD_NAME) != 0;
        const size_t *extents = swim ? counts : named ? names : no_extent;
        size_t n_extents = swim    ? G_N_ELEMENTS(counts)
                           : named ? G_N_ELEMENTS(names)
                                   : G_N_ELEMENTS(no_extent);
        size_t n_targets = (dm_msg_fields(t) & DM_FIELD_TARGET) ? G_N_ELEMENTS(targets) : 1;
        for (size_t v = 0; v < G_N_ELEMENTS(values); v++)
            for (size_t k = 0; k < n_extents; k++)
                for (size_t p = 0; p < G_N_ELEMENTS(peers); p++)
                    for (size_t g = 0; g < n_targets; g++) {
                        dm_msg m = sample(t, values[v], extents[k], peers[p][0], peers[p][1],
                                          targets[g]);
                        if (t == DM_MSG_PING_REQ && (m.target == m.from || m.target == m.to))
                            continue;
                        if (n == N_SAMPLES || dm_msg_validate(&m, DM_MAX_MEMBERS) != 0)
                            return 1;
                        samples[n++] = m;
                    }
    }
    return n == N_SAMPLES ? 0 : 1;
}

static void test_round_trip(void)
{
    int by_type[DM_MSG_TYPE_END] = {0};
    for (size_t i = 0; i < N_SAMPLES; i++) {
        const dm_msg *m = &samples[i];
        CU_ASSERT_EQUAL_FATAL(dm_msg_validate(m, DM_MAX_MEMBERS), 0);
        by_type[m->type]++;
        /* The shortest frame is an empty GOSSIP: the header and the update
         * count; then INSTALLED and STALE: the header and the epoch. */
        int size = dm_codec_size(m);
        CU_ASSERT(size >= DM_FRAME_HEADER + (m->type == DM_MSG_GOSSIP ? 1 : 8) &&
                  size <= DM_FRAME_MAX);

        /* Trailing bytes after the frame belong to the next frame. */
        uint8_t buf[DM_FRAME_MAX + 16];
        memset(buf, 0xee, sizeof buf);
        CU_ASSERT_EQUAL_FATAL(dm_codec_encode(m, buf, sizeof buf), size);
        CU_ASSERT_EQUAL(dm_codec_frame_length(buf, 4), size);

        dm_msg out;
        memset(&out, 0x55, sizeof out);
        CU_ASSERT_EQUAL(dm_codec_decode(buf, sizeof buf, &out), size);
        assert_msg_equal(&out, m);

        memset(&out, 0x55, sizeof out);
        CU_ASSERT_EQUAL(dm_codec_decode(buf, (size_t)size, &out), size);
        assert_msg_equal(&out, m);
    }
    for (int t = DM_MSG_REQUEST; t < DM_MSG_TYPE_END; t++)
        CU_ASSERT(by_type[t] >= 6);
}

/* The longest frame each type can have fits DM_FRAME_MAX; the longest of
 * all is a PING_REQ, ACK or NACK with every update (codec.h's arithmetic). */
static void test_largest_frames(void)
{
    int largest = 0;
    for (int t = DM_MSG_REQUEST; t < DM_MSG_TYPE_END; t++) {
        bool swim = dm_msg_is_membership(t);
        dm_msg m = sample(t, UINT64_MAX, swim ? DM_MSG_MAX_UPDATES : DM_NAME_MAX, 0,
                          DM_MAX_MEMBERS - 1, 1);
        int size = dm_codec_size(&m);
        CU_ASSERT(size > 0 && size <= DM_FRAME_MAX);
        CU_ASSERT(swim ? size >= 661 : size <= 311);    /* 661: GOSSIP, no value */
        largest = MAX(largest, size);
        uint8_t buf[DM_FRAME_MAX];
        CU_ASSERT_EQUAL(dm_codec_encode(&m, buf, sizeof buf), size);
    }
    CU_ASSERT_EQUAL(largest, DM_FRAME_HEADER + 8 + 4 + 1 + 10 * DM_MSG_MAX_UPDATES);
    CU_ASSERT_EQUAL(largest, 673);

    /* The recovery and reconfiguration types have one size each: no name,
     * no updates (codec.h, message.h). */
    dm_msg m = sample(DM_MSG_RECOVER, UINT64_MAX, 0, 0, 1, 0);
    CU_ASSERT_EQUAL(dm_codec_size(&m), DM_FRAME_HEADER + 2 * 8);
    m = sample(DM_MSG_FLOOR, UINT64_MAX, 0, 0, 1, 0);
    CU_ASSERT_EQUAL(dm_codec_size(&m), DM_FRAME_HEADER + 5 * 8 + 4);
    m = sample(DM_MSG_RECOVERING, UINT64_MAX, DM_NAME_MAX, 0, 1, 0);
    CU_ASSERT_EQUAL(dm_codec_size(&m), DM_FRAME_HEADER + DM_NAME_MAX + 3 * 8);
    const struct {
        int type, size;
    } reconfig[] = {
        {DM_MSG_SEAL, 36},     {DM_MSG_SEALED, 68},    {DM_MSG_ACCEPT, 44},
        {DM_MSG_ACCEPTED, 52}, {DM_MSG_REFUSED, 44},   {DM_MSG_INSTALL, 52},
        {DM_MSG_INSTALLED, 28}, {DM_MSG_NEWER, 52},    {DM_MSG_STALE, 28},
    };
    CU_ASSERT_EQUAL(G_N_ELEMENTS(reconfig), DM_MSG_STALE - DM_MSG_SEAL + 1);
    for (size_t i = 0; i < G_N_ELEMENTS(reconfig); i++) {
        m = sample(reconfig[i].type, UINT64_MAX, DM_NAME_MAX, 0, 1, 0);
        CU_ASSERT_EQUAL(dm_codec_size(&m), reconfig[i].size);
    }
}

/* m encodes to exactly `frame`, and `frame` decodes to exactly m. */
static void assert_known_answer(const dm_msg *m, const uint8_t *frame, size_t len)
{
    uint8_t buf[DM_FRAME_MAX];
    CU_ASSERT_EQUAL_FATAL(dm_codec_encode(m, buf, sizeof buf), (int)len);
    CU_ASSERT(memcmp(buf, frame, len) == 0);
    dm_msg out;
    memset(&out, 0x55, sizeof out);
    CU_ASSERT_EQUAL(dm_codec_decode(frame, len, &out), (int)len);
    assert_msg_equal(&out, m);
}

/* Round trips cannot tell a byte order or field order from its mirror
 * image; these frames are written out by hand from codec.h. */
static void test_known_answer(void)
{
    dm_msg m = sample(DM_MSG_REQUEST, 0, 2, 0x0102, 0x0a0b, 0);
    m.clock = 0x1112131415161718ULL;
    m.attempt = 0x2122232425262728ULL;
    m.value = 0x3132333435363738ULL;
    m.epoch = 0x4142434445464748ULL;
    const uint8_t request[] = {
        0x00, 0x00, 0x00, 0x2e, 0x02, 0x01, 0x01, 0x02, 0x0a, 0x0b, 0x02, 0x00, 0x11,
        0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 'a',  'b',  0x21, 0x22, 0x23, 0x24,
        0x25, 0x26, 0x27, 0x28, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x41,
        0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
    };
    assert_known_answer(&m, request, sizeof request);

    m = sample(DM_MSG_KEEP, 0, 1, 1, 0, 0);
    m.clock = 2;
    m.attempt = 3;
    m.grant = 4;
    m.value = 5;
    m.round = 0x01020304;
    m.epoch = 0;   /* as under a policy without epochs */
    const uint8_t keep[] = {
        0x00, 0x00, 0x00, 0x39, 0x02, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0, 0,
        0,    0,    0,    0,    0,    2,    'a',  0,    0,    0,    0,    0,    0, 0,
        3,    0,    0,    0,    0,    0,    0,    0,    4,    0,    0,    0,    0, 0,
        0,    0,    5,    0x01, 0x02, 0x03, 0x04, 0,    0,    0,    0,    0,    0, 0,
        0,
    };
    assert_known_answer(&m, keep, sizeof keep);

    m = sample(DM_MSG_PING, 0, 0, 0x0102, 0x0a0b, 0);
    m.clock = 0x1112131415161718ULL;
    m.value = 0x3132333435363738ULL;
    m.n_updates = 2;
    m.updates[0] = (dm_member_update){
        .member = 0x0203, .accuser = 0x0809, .state = DM_MEMBER_SUSPECT, .incarnation = 0x04050607};
    m.updates[1] = (dm_member_update){
        .member = 0x0fff, .accuser = 0x0fff, .state = DM_MEMBER_LEFT, .incarnation = 0xfffffffe};
    const uint8_t ping[] = {
        0x00, 0x00, 0x00, 0x31,                         /* length 49 */
        0x02, 0x0a,                                     /* version, PING */
        0x01, 0x02, 0x0a, 0x0b,                         /* from, to */
        0x00, 0x00,                                     /* no name, flags */
        0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, /* clock */
        0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, /* value */
        0x02,                                           /* count */
        0x02, 0x03, 0x08, 0x09, 0x01, 0x00,             /* 0x203 by 0x809: suspect */
        0x04, 0x05, 0x06, 0x07,                         /*   @0x4050607 */
        0x0f, 0xff, 0x0f, 0xff, 0x03, 0x00,             /* 4095 by itself: left */
        0xff, 0xff, 0xff, 0xfe,                         /*   @0xfffffffe */
    };
    assert_known_answer(&m, ping, sizeof ping);

    /* The target follows the value; an empty update list is its count. */
    m = sample(DM_MSG_NACK, 0, 0, 1, 2, 0x0abc);
    m.clock = 3;
    m.value = 4;
    const uint8_t nack[] = {
        0x00, 0x00, 0x00, 0x21, 0x02, 0x0d, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00,
        0,    0,    0,    0,    0,    0,    0,    3,    0,    0,    0,    0,
        0,    0,    0,    4,    0x00, 0x00, 0x0a, 0xbc, 0x00,
    };
    assert_known_answer(&m, nack, sizeof nack);
}

/* The recovery messages, written out by hand from codec.h and message.h:
 * RECOVER is the header and its value; FLOOR the header, attempt, grant,
 * value and round, no name and no update count; RECOVERING is laid out as a
 * REQUEST (name, attempt, value). */
static void test_known_answer_recovery(void)
{
    dm_msg m = sample(DM_MSG_RECOVER, 0, 0, 0x0102, 0x0a0b, 0);
    m.clock = 0x1112131415161718ULL;
    m.value = 0x3132333435363738ULL;
    m.epoch = 0x0102;
    const uint8_t recover[] = {
        0x00, 0x00, 0x00, 0x24,                         /* length 36 */
        0x02, 0x0f,                                     /* version, RECOVER */
        0x01, 0x02, 0x0a, 0x0b,                         /* from, to */
        0x00, 0x00,                                     /* no name, flags */
        0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, /* clock */
        0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, /* value: the round */
        0,    0,    0,    0,    0,    0,    0x01, 0x02, /* epoch */
    };
    assert_known_answer(&m, recover, sizeof recover);

    m = sample(DM_MSG_FLOOR, 0, 0, 1, 2, 0);
    m.clock = 3;
    m.attempt = 0x2122232425262728ULL;
    m.grant = 0x4142434445464748ULL;
    m.value = 0x3132333435363738ULL;
    m.round = 1;
    m.epoch = 0;
    m.ballot2 = 0x5152535455565758ULL;
    const uint8_t floor_frame[] = {
        0x00, 0x00, 0x00, 0x40,                         /* length 64 */
        0x02, 0x10,                                     /* version, FLOOR */
        0x00, 0x01, 0x00, 0x02,                         /* from, to */
        0x00, 0x00,                                     /* no name, flags */
        0,    0,    0,    0,    0,    0,    0,    3,    /* clock */
        0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, /* attempt */
        0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, /* grant: token counter */
        0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, /* value: round answered */
        0x00, 0x00, 0x00, 0x01,                         /* round: recovering too */
        0,    0,    0,    0,    0,    0,    0,    0,    /* epoch */
        0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, /* ballot2: accepted a successor */
    };
    assert_known_answer(&m, floor_frame, sizeof floor_frame);

    m = sample(DM_MSG_RECOVERING, 0, 2, 2, 5, 0);
    m.clock = 9;
    m.attempt = 0x300000007ULL;
    m.value = 1500000;
    m.epoch = 7;
    const uint8_t recovering[] = {
        0x00, 0x00, 0x00, 0x2e,                         /* length 46 */
        0x02, 0x11,                                     /* version, RECOVERING */
        0x00, 0x02, 0x00, 0x05,                         /* from, to */
        0x02, 0x00,                                     /* name length, flags */
        0,    0,    0,    0,    0,    0,    0,    9,    /* clock */
        'a',  'b',                                      /* name */
        0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x07, /* attempt */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x16, 0xe3, 0x60, /* value: 1.5 s */
        0,    0,    0,    0,    0,    0,    0,    7,    /* epoch */
    };
    assert_known_answer(&m, recovering, sizeof recovering);
}

/* The reconfiguration messages: no name, no update count; the epoch policy's
 * fields after the older ones, in table order. */
static void test_known_answer_reconfig(void)
{
    dm_msg m = sample(DM_MSG_SEALED, 0, 0, 1, 2, 0);
    m.clock = 3;
    m.grant = 0x4142434445464748ULL;
    m.value = 0x3132333435363738ULL;
    m.epoch = 0x0506;
    m.ballot = 0x20001;
    m.ballot2 = 0x10002;
    m.members = 0x8000000000000007ULL;
    const uint8_t sealed[] = {
        0x00, 0x00, 0x00, 0x44,                         /* length 68 */
        0x02, 0x13,                                     /* version, SEALED */
        0x00, 0x01, 0x00, 0x02,                         /* from, to */
        0x00, 0x00,                                     /* no name, flags */
        0,    0,    0,    0,    0,    0,    0,    3,    /* clock */
        0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, /* grant: token counter */
        0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, /* value: lease report */
        0,    0,    0,    0,    0,    0,    0x05, 0x06, /* epoch */
        0,    0,    0,    0,    0,    0x02, 0x00, 0x01, /* ballot: round 2 of member 1 */
        0,    0,    0,    0,    0,    0x01, 0x00, 0x02, /* ballot2: accepted 1.2 */
        0x80, 0,    0,    0,    0,    0,    0,    0x07, /* members {0, 1, 2, 63} */
    };
    assert_known_answer(&m, sealed, sizeof sealed);

    m = sample(DM_MSG_STALE, 0, 0, 2, 1, 0);
    m.clock = 0;
    m.epoch = 1;
    const uint8_t stale[] = {
        0x00, 0x00, 0x00, 0x1c,                         /* length 28 */
        0x02, 0x1a,                                     /* version, STALE */
        0x00, 0x02, 0x00, 0x01,                         /* from, to */
        0x00, 0x00,                                     /* no name, flags */
        0,    0,    0,    0,    0,    0,    0,    0,    /* clock */
        0,    0,    0,    0,    0,    0,    0,    1,    /* epoch */
    };
    assert_known_answer(&m, stale, sizeof stale);
}

/* Decodes `len` bytes from an allocation of exactly that size, so that the
 * sanitizers and valgrind see any read past the end. */
static int decode_exact(const uint8_t *bytes, size_t len, dm_msg *m)
{
    uint8_t *copy = len ? g_memdup2(bytes, len) : NULL;
    int rc = dm_codec_decode(copy, len, m);
    g_free(copy);
    return rc;
}

static void test_every_truncation(void)
{
    for (size_t i = 0; i < N_SAMPLES; i++) {
        uint8_t buf[DM_FRAME_MAX];
        int size = dm_codec_encode(&samples[i], buf, sizeof buf);
        CU_ASSERT_FATAL(size > 0);
        for (size_t cut = 0; cut < (size_t)size; cut++) {
            dm_msg out;
            CU_ASSERT_EQUAL(decode_exact(buf, cut, &out), -DM_ETRUNC);
            CU_ASSERT_EQUAL(dm_codec_frame_length(buf, cut), cut < 4 ? -DM_ETRUNC : size);
        }
    }
}

/* A valid GRANT frame to corrupt; its name is "ab". */
static int grant_frame(uint8_t *buf, size_t cap)
{
    dm_msg m = sample(DM_MSG_GRANT, 7, 2, 1, 2, 0);
    int size = dm_codec_encode(&m, buf, cap);
    CU_ASSERT_FATAL(size == DM_FRAME_HEADER + 2 + 24);
    return size;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void test_oversize(void)
{
    uint8_t buf[DM_FRAME_MAX + 8];
    dm_msg out;
    const uint32_t lengths[] = {DM_FRAME_MAX + 1, 0x10000, UINT32_MAX};
    for (size_t i = 0; i < G_N_ELEMENTS(lengths); i++) {
        memset(buf, 0, sizeof buf);
        grant_frame(buf, sizeof buf);
        put_u32(buf, lengths[i]);
        CU_ASSERT_EQUAL(dm_codec_frame_length(buf, 4), -DM_EOVERSIZE);
        CU_ASSERT_EQUAL(decode_exact(buf, 4, &out), -DM_EOVERSIZE);
        CU_ASSERT_EQUAL(decode_exact(buf, sizeof buf, &out), -DM_EOVERSIZE);
    }
    /* The largest legal length is only a promise of more bytes. */
    put_u32(buf, DM_FRAME_MAX);
    CU_ASSERT_EQUAL(dm_codec_frame_length(buf, 4), DM_FRAME_MAX);
    CU_ASSERT_EQUAL(decode_exact(buf, DM_FRAME_MAX - 1, &out), -DM_ETRUNC);
}

static void test_bad_version(void)
{
    uint8_t buf[DM_FRAME_MAX];
    dm_msg out;
    const uint8_t versions[] = {0, DM_WIRE_VERSION - 1, DM_WIRE_VERSION + 1, 0xff};
    for (size_t i = 0; i < G_N_ELEMENTS(versions); i++) {
        int size = grant_frame(buf, sizeof buf);
        buf[4] = versions[i];
        CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), -DM_EVERSION);
    }
    /* A peer of version 1 (no epochs): its REQUEST, whole and well formed
     * for its version, is refused as such rather than read as a shorter
     * version 2 frame. */
    const uint8_t v1_request[] = {
        0x00, 0x00, 0x00, 0x26, 0x01, 0x01, 0x01, 0x02, 0x0a, 0x0b, 0x02, 0x00, 0x11,
        0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 'a',  'b',  0x21, 0x22, 0x23, 0x24,
        0x25, 0x26, 0x27, 0x28, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38,
    };
    CU_ASSERT_EQUAL(dm_codec_frame_length(v1_request, sizeof v1_request), (int)sizeof v1_request);
    CU_ASSERT_EQUAL(decode_exact(v1_request, sizeof v1_request, &out), -DM_EVERSION);
}

static void test_bad_type(void)
{
    uint8_t buf[DM_FRAME_MAX];
    dm_msg out;
    const uint8_t types[] = {0, DM_MSG_TYPE_END, 200, 0xff};
    for (size_t i = 0; i < G_N_ELEMENTS(types); i++) {
        int size = grant_frame(buf, sizeof buf);
        buf[5] = types[i];
        CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), -DM_ETYPE);
    }
}

static void test_length_disagrees(void)
{
    uint8_t buf[DM_FRAME_MAX];
    dm_msg out;
    int size;

    /* The same bytes claimed by a type with fewer or more fields. */
    size = grant_frame(buf, sizeof buf);
    buf[5] = DM_MSG_FAILED;
    CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), -DM_EMALFORMED);
    size = grant_frame(buf, sizeof buf);
    buf[5] = DM_MSG_KEEP;
    CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), -DM_EMALFORMED);

    /* A length one byte long or short, with the bytes present. */
    size = grant_frame(buf, sizeof buf);
    put_u32(buf, (uint32_t)size + 1);
    buf[size] = 0;
    CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size + 1, &out), -DM_EMALFORMED);
    size = grant_frame(buf, sizeof buf);
    put_u32(buf, (uint32_t)size - 1);
    CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), -DM_EMALFORMED);

    /* A name_len that moves the fields. */
    size = grant_frame(buf, sizeof buf);
    buf[10] = 3;
    CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), -DM_EMALFORMED);

    /* Shorter than any header. */
    const uint32_t short_lengths[] = {0, 4, DM_FRAME_HEADER - 1};
    for (size_t i = 0; i < G_N_ELEMENTS(short_lengths); i++) {
        size = grant_frame(buf, sizeof buf);
        put_u32(buf, short_lengths[i]);
        CU_ASSERT_EQUAL(dm_codec_frame_length(buf, (size_t)size), -DM_EMALFORMED);
        CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), -DM_EMALFORMED);
    }
}

static void test_bad_flags_name_peers(void)
{
    uint8_t buf[DM_FRAME_MAX];
    dm_msg out;
    int size;

    size = grant_frame(buf, sizeof buf);
    buf[11] = 1;
    CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), -DM_EMALFORMED);

    /* name_len 0 with the length adjusted, so only the name is wrong. */
    size = grant_frame(buf, sizeof buf);
    buf[10] = 0;
    memmove(buf + DM_FRAME_HEADER, buf + DM_FRAME_HEADER + 2, (size_t)size - DM_FRAME_HEADER - 2);
    put_u32(buf, (uint32_t)size - 2);
    CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size - 2, &out), -DM_EBADNAME);

    for (size_t at = 0; at < 2; at++) {
        size = grant_frame(buf, sizeof buf);
        buf[DM_FRAME_HEADER + at] = '\0';
        CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), -DM_EBADNAME);
    }

    const struct {
        size_t offset;
        uint8_t hi, lo;
    } peers[] = {
        {6, DM_MAX_MEMBERS >> 8, DM_MAX_MEMBERS & 0xff}, /* from */
        {8, DM_MAX_MEMBERS >> 8, DM_MAX_MEMBERS & 0xff}, /* to */
        {8, 0xff, 0xff},
        {8, 0, 1}, /* to == from */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(peers); i++) {
        size = grant_frame(buf, sizeof buf);
        buf[peers[i].offset] = peers[i].hi;
        buf[peers[i].offset + 1] = peers[i].lo;
        CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), -DM_EPEER);
    }

    /* The untouched frame still decodes: the failures above are the edits'. */
    size = grant_frame(buf, sizeof buf);
    CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), size);
}

/* The encoder refuses m with dm_msg_validate's verdict, which must be an
 * error, and writes nothing. */
static void assert_encoder_refuses(const dm_msg *m)
{
    int want = dm_msg_validate(m, DM_MAX_MEMBERS);
    CU_ASSERT(want < 0);
    CU_ASSERT_EQUAL(dm_codec_size(m), want);
    uint8_t buf[DM_FRAME_MAX], before[DM_FRAME_MAX];
    memset(buf, 0xaa, sizeof buf);
    memcpy(before, buf, sizeof buf);
    CU_ASSERT_EQUAL(dm_codec_encode(m, buf, sizeof buf), want);
    CU_ASSERT(memcmp(buf, before, sizeof buf) == 0);
}

static void test_encoder_rejects_invalid(void)
{
    const dm_msg good = sample(DM_MSG_REQUEST, 5, 3, 1, 2, 0);
    dm_msg bad[9];
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
        bad[i] = good;
    bad[0].type = (dm_msg_type)0;
    bad[1].type = (dm_msg_type)200;
    bad[2].name_len = 0;
    bad[3].name[1] = '\0';
    bad[4].name_len = 2; /* name[2] is not the terminator */
    bad[5].grant = 1;    /* REQUEST does not carry grant */
    bad[6].from = DM_MAX_MEMBERS;
    bad[7].to = UINT16_MAX;
    bad[8].to = bad[8].from;

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
        assert_encoder_refuses(&bad[i]);

    /* Too small a buffer is refused before anything is written. */
    int size = dm_codec_size(&good);
    CU_ASSERT_FATAL(size > 0);
    uint8_t buf[DM_FRAME_MAX];
    memset(buf, 0xaa, sizeof buf);
    CU_ASSERT_EQUAL(dm_codec_encode(&good, buf, (size_t)size - 1), -DM_EINVAL);
    CU_ASSERT_EQUAL(buf[0], 0xaa);
    CU_ASSERT_EQUAL(dm_codec_encode(&good, NULL, 0), -DM_EINVAL);
    CU_ASSERT_EQUAL(dm_codec_encode(&good, buf, (size_t)size), size);

    const dm_msg ping = sample(DM_MSG_PING_REQ, 5, 2, 1, 2, 3);
    dm_msg swim[12];
    for (size_t i = 0; i < G_N_ELEMENTS(swim); i++)
        swim[i] = ping;
    swim[0].n_updates = DM_MSG_MAX_UPDATES + 1;
    swim[1].n_updates = UINT8_MAX;
    swim[2].updates[1].state = DM_MEMBER_STATE_MAX + 1;
    swim[3].updates[0].member = DM_MAX_MEMBERS;
    swim[10].updates[0].accuser = DM_MAX_MEMBERS;
    swim[11].updates[1].accuser = UINT16_MAX;
    swim[4].name_len = 1;
    swim[4].name[0] = 'x';
    swim[5].target = swim[5].from;
    swim[6].target = DM_MAX_MEMBERS;
    swim[7].type = DM_MSG_SYNC; /* SYNC has no target */
    swim[8] = good;
    swim[8].n_updates = 1; /* lock messages have no updates */
    swim[9] = good;
    swim[9].target = 3;
    for (size_t i = 0; i < G_N_ELEMENTS(swim); i++)
        assert_encoder_refuses(&swim[i]);

    const dm_msg floor_msg = sample(DM_MSG_FLOOR, 5, 0, 1, 2, 0);
    dm_msg recovery[7];
    for (size_t i = 0; i < G_N_ELEMENTS(recovery); i++)
        recovery[i] = floor_msg;
    recovery[0].round = 2;
    recovery[1].n_updates = 1;
    recovery[2].name_len = 1;
    recovery[2].name[0] = 'x';
    recovery[3].target = 3;
    recovery[4].type = DM_MSG_RECOVER; /* RECOVER has no attempt, grant or round */
    recovery[5] = sample(DM_MSG_RECOVERING, 5, 0, 1, 2, 0); /* no name */
    recovery[6] = sample(DM_MSG_RECOVER, 5, 0, 1, 2, 0);
    recovery[6].to = recovery[6].from;
    for (size_t i = 0; i < G_N_ELEMENTS(recovery); i++)
        assert_encoder_refuses(&recovery[i]);
}

/* A valid PING_REQ frame to corrupt: 1 -> 2, target 3, updates
 * {5 suspected by 1 @9, 6 alive @10}; an update is PR_UPDATE_SIZE bytes:
 * member +0, accuser +2, state +4, reserved +5, incarnation +6. */
#define PR_TARGET (DM_FRAME_HEADER + 8)
#define PR_COUNT (PR_TARGET + 4)
#define PR_UPDATE_SIZE 10
#define PR_UPDATE(i) (PR_COUNT + 1 + PR_UPDATE_SIZE * (i))
#define PR_MEMBER 0
#define PR_ACCUSER 2
#define PR_STATE 4
#define PR_RESERVED 5
#define PR_INCARNATION 6
static int ping_req_frame(uint8_t *buf, size_t cap)
{
    dm_msg m = sample(DM_MSG_PING_REQ, 7, 0, 1, 2, 3);
    m.n_updates = 2;
    m.updates[0] =
        (dm_member_update){.member = 5, .accuser = 1, .state = DM_MEMBER_SUSPECT, .incarnation = 9};
    m.updates[1] =
        (dm_member_update){.member = 6, .accuser = 6, .state = DM_MEMBER_ALIVE, .incarnation = 10};
    int size = dm_codec_encode(&m, buf, cap);
    CU_ASSERT_FATAL(size == PR_UPDATE(2));
    return size;
}

static void test_update_count(void)
{
    uint8_t buf[DM_FRAME_MAX + 8];
    dm_msg out;
    int size;

    /* More updates than the bytes present, and fewer. */
    const uint8_t counts[] = {0, 1, 3, DM_MSG_MAX_UPDATES, DM_MSG_MAX_UPDATES + 1, 0xff};
    for (size_t i = 0; i < G_N_ELEMENTS(counts); i++) {
        size = ping_req_frame(buf, sizeof buf);
        buf[PR_COUNT] = counts[i];
        CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), -DM_EMALFORMED);
    }
    /* A length that agrees with a larger count, the bytes not yet there. */
    size = ping_req_frame(buf, sizeof buf);
    buf[PR_COUNT] = 3;
    put_u32(buf, (uint32_t)size + PR_UPDATE_SIZE);
    CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), -DM_ETRUNC);
    memset(buf + size, 0, PR_UPDATE_SIZE); /* and once they are: member 0, alive @0 */
    CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size + PR_UPDATE_SIZE, &out), size + PR_UPDATE_SIZE);
    CU_ASSERT_EQUAL(out.n_updates, 3);
    /* The old 8-byte record does not add up. */
    size = ping_req_frame(buf, sizeof buf);
    put_u32(buf, (uint32_t)(PR_COUNT + 1 + 8 * 2));
    CU_ASSERT_EQUAL(decode_exact(buf, PR_COUNT + 1 + 8 * 2, &out), -DM_EMALFORMED);

    /* A frame that ends before its count. */
    for (uint32_t len = PR_TARGET + 4 - 1; len <= PR_COUNT; len++) {
        size = ping_req_frame(buf, sizeof buf);
        put_u32(buf, len);
        CU_ASSERT_EQUAL(decode_exact(buf, len, &out), -DM_EMALFORMED);
    }

    /* 64 updates is the most; 65 and 100 are refused even with their bytes
     * and a length that agrees (the decoder must not write past updates[]). */
    dm_msg m = sample(DM_MSG_PING_REQ, 7, DM_MSG_MAX_UPDATES, 1, 2, 3);
    size = dm_codec_encode(&m, buf, sizeof buf);
    CU_ASSERT_FATAL(size == PR_UPDATE(DM_MSG_MAX_UPDATES));
    CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), size);
    const size_t too_many[] = {DM_MSG_MAX_UPDATES + 1, 100};
    for (size_t i = 0; i < G_N_ELEMENTS(too_many); i++) {
        uint8_t big[PR_UPDATE(100)];
        size = dm_codec_encode(&m, big, sizeof big);
        for (size_t k = DM_MSG_MAX_UPDATES; k < too_many[i]; k++)
            memcpy(big + PR_UPDATE(k), big + PR_UPDATE(0), PR_UPDATE_SIZE);
        big[PR_COUNT] = (uint8_t)too_many[i];
        put_u32(big, (uint32_t)PR_UPDATE(too_many[i]));
        CU_ASSERT_EQUAL(dm_codec_frame_length(big, 4), (int)PR_UPDATE(too_many[i]));
        CU_ASSERT_EQUAL(decode_exact(big, PR_UPDATE(too_many[i]), &out), -DM_EMALFORMED);
    }
}

static void test_bad_updates(void)
{
    uint8_t buf[DM_FRAME_MAX];
    dm_msg out;
    int size;

    for (size_t u = 0; u < 2; u++) {
        const uint8_t reserved[] = {1, 0x80, 0xff};
        for (size_t i = 0; i < G_N_ELEMENTS(reserved); i++) {
            size = ping_req_frame(buf, sizeof buf);
            buf[PR_UPDATE(u) + PR_RESERVED] = reserved[i];
            CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), -DM_EMALFORMED);
        }
        for (uint8_t state = 0; state <= DM_MEMBER_STATE_MAX; state++) {
            size = ping_req_frame(buf, sizeof buf);
            buf[PR_UPDATE(u) + PR_STATE] = state;
            CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), size);
            CU_ASSERT_EQUAL(out.updates[u].state, state);
        }
        const uint8_t states[] = {DM_MEMBER_STATE_MAX + 1, 0x80, 0xff};
        for (size_t i = 0; i < G_N_ELEMENTS(states); i++) {
            size = ping_req_frame(buf, sizeof buf);
            buf[PR_UPDATE(u) + PR_STATE] = states[i];
            CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), -DM_EMALFORMED);
        }
        const uint16_t members[] = {DM_MAX_MEMBERS, 0x8000, 0xffff};
        for (size_t i = 0; i < G_N_ELEMENTS(members); i++) {
            size = ping_req_frame(buf, sizeof buf);
            buf[PR_UPDATE(u) + PR_MEMBER] = (uint8_t)(members[i] >> 8);
            buf[PR_UPDATE(u) + PR_MEMBER + 1] = (uint8_t)members[i];
            CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), -DM_EPEER);
        }
        /* The accuser is a member like any other, in every state. */
        const uint16_t accusers[] = {DM_MAX_MEMBERS, DM_MAX_MEMBERS + 1, 0x8000, 0xffff};
        for (size_t i = 0; i < G_N_ELEMENTS(accusers); i++) {
            for (uint8_t state = 0; state <= DM_MEMBER_STATE_MAX; state++) {
                size = ping_req_frame(buf, sizeof buf);
                buf[PR_UPDATE(u) + PR_ACCUSER] = (uint8_t)(accusers[i] >> 8);
                buf[PR_UPDATE(u) + PR_ACCUSER + 1] = (uint8_t)accusers[i];
                buf[PR_UPDATE(u) + PR_STATE] = state;
                CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), -DM_EPEER);
            }
        }
        const uint16_t good_accusers[] = {0, 1, 2, 0x0100, DM_MAX_MEMBERS - 1};
        for (size_t i = 0; i < G_N_ELEMENTS(good_accusers); i++) {
            size = ping_req_frame(buf, sizeof buf);
            buf[PR_UPDATE(u) + PR_ACCUSER] = (uint8_t)(good_accusers[i] >> 8);
            buf[PR_UPDATE(u) + PR_ACCUSER + 1] = (uint8_t)good_accusers[i];
            CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), size);
            CU_ASSERT_EQUAL(out.updates[u].accuser, good_accusers[i]);
            /* only the accuser moved */
            CU_ASSERT_EQUAL(out.updates[u].member, u == 0 ? 5 : 6);
            CU_ASSERT_EQUAL(out.updates[u].state, u == 0 ? DM_MEMBER_SUSPECT : DM_MEMBER_ALIVE);
            CU_ASSERT_EQUAL(out.updates[u].incarnation, u == 0 ? 9 : 10);
            CU_ASSERT_EQUAL(out.updates[1 - u].accuser, u == 0 ? 6 : 1);
        }
        size = ping_req_frame(buf, sizeof buf);
        buf[PR_UPDATE(u) + PR_MEMBER] = (DM_MAX_MEMBERS - 1) >> 8;
        buf[PR_UPDATE(u) + PR_MEMBER + 1] = (DM_MAX_MEMBERS - 1) & 0xff;
        buf[PR_UPDATE(u) + PR_ACCUSER] = 0;
        buf[PR_UPDATE(u) + PR_ACCUSER + 1] = 0;
        put_u32(buf + PR_UPDATE(u) + PR_INCARNATION, UINT32_MAX);
        CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), size);
        CU_ASSERT_EQUAL(out.updates[u].member, DM_MAX_MEMBERS - 1);
        CU_ASSERT_EQUAL(out.updates[u].accuser, 0);
        CU_ASSERT_EQUAL(out.updates[u].incarnation, UINT32_MAX);
    }
    size = ping_req_frame(buf, sizeof buf);
    CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), size);
}

static void test_membership_frames(void)
{
    uint8_t buf[DM_FRAME_MAX];
    dm_msg out;
    int size;

    /* A lock name on a membership frame, the length adjusted to carry it. */
    for (int t = DM_MSG_PING; t <= DM_MSG_SYNC; t++) {
        dm_msg m = sample(t, 1, 2, 1, 2, 3);
        size = dm_codec_encode(&m, buf, sizeof buf);
        CU_ASSERT_FATAL(size > 0);
        memmove(buf + DM_FRAME_HEADER + 2, buf + DM_FRAME_HEADER, (size_t)size - DM_FRAME_HEADER);
        memcpy(buf + DM_FRAME_HEADER, "ab", 2);
        buf[10] = 2;
        put_u32(buf, (uint32_t)size + 2);
        CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size + 2, &out), -DM_EBADNAME);
    }
    /* An update list on a lock frame. */
    size = grant_frame(buf, sizeof buf);
    buf[size] = 0;
    put_u32(buf, (uint32_t)size + 1);
    CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size + 1, &out), -DM_EMALFORMED);

    /* SYNC flags: the DM_SYNC_ bits and no others. */
    for (unsigned flags = 0; flags < 0x100; flags++) {
        dm_msg m = sample(DM_MSG_SYNC, 0, 1, 1, 2, 0);
        size = dm_codec_encode(&m, buf, sizeof buf);
        CU_ASSERT_FATAL(size > 0);
        buf[DM_FRAME_HEADER + 7] = (uint8_t)flags;
        CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out),
                        (flags & ~DM_SYNC_FLAGS) ? -DM_EMALFORMED : size);
    }
    dm_msg m = sample(DM_MSG_SYNC, 0, 1, 1, 2, 0);
    size = dm_codec_encode(&m, buf, sizeof buf);
    buf[DM_FRAME_HEADER] = 0x80; /* a high bit */
    CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), -DM_EMALFORMED);

    /* A PING_REQ's target: a member other than from (1) and to (2). */
    const struct {
        uint32_t target;
        int want;
    } targets[] = {
        {0, 0}, {3, 0}, {DM_MAX_MEMBERS - 1, 0}, {1, -DM_EPEER}, {2, -DM_EPEER},
        {DM_MAX_MEMBERS, -DM_EPEER}, {0x10001, -DM_EPEER}, {UINT32_MAX, -DM_EPEER},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(targets); i++) {
        size = ping_req_frame(buf, sizeof buf);
        put_u32(buf + PR_TARGET, targets[i].target);
        CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out),
                        targets[i].want == 0 ? size : targets[i].want);
    }
    /* ACK and NACK share PING_REQ's layout, but not its rule. */
    for (int t = DM_MSG_ACK; t <= DM_MSG_NACK; t++) {
        size = ping_req_frame(buf, sizeof buf);
        buf[5] = (uint8_t)t;
        put_u32(buf + PR_TARGET, 1);
        CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), size);
        CU_ASSERT_EQUAL(out.target, 1);
    }
    /* PING and SYNC have no target: the same bytes do not add up. */
    const int no_target[] = {DM_MSG_PING, DM_MSG_SYNC};
    for (size_t i = 0; i < G_N_ELEMENTS(no_target); i++) {
        size = ping_req_frame(buf, sizeof buf);
        buf[5] = (uint8_t)no_target[i];
        CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), -DM_EMALFORMED);
    }
}

/* Where a FLOOR frame's round is: after attempt, grant and value. */
#define FLOOR_ROUND (DM_FRAME_HEADER + 3 * 8)

/* A frame of `type` (a message without name and updates) refused when it
 * carries a name or an update list, and taken untouched. */
static void assert_nameless_frames(int type)
{
    uint8_t buf[DM_FRAME_MAX];
    dm_msg out;
    const dm_msg m = sample(type, 1, 0, 1, 2, 0);
    /* A name, the length adjusted to carry it. */
    int size = dm_codec_encode(&m, buf, sizeof buf);
    CU_ASSERT_FATAL(size > 0);
    memmove(buf + DM_FRAME_HEADER + 2, buf + DM_FRAME_HEADER, (size_t)size - DM_FRAME_HEADER);
    memcpy(buf + DM_FRAME_HEADER, "ab", 2);
    buf[10] = 2;
    put_u32(buf, (uint32_t)size + 2);
    CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size + 2, &out), -DM_EBADNAME);
    /* A name length without the name's bytes. */
    size = dm_codec_encode(&m, buf, sizeof buf);
    buf[10] = 1;
    CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), -DM_EMALFORMED);
    /* An update list, the length adjusted to carry it: an empty one (its
     * count), or one update (member 0, alive @0). */
    for (size_t n = 0; n < 2; n++) {
        size = dm_codec_encode(&m, buf, sizeof buf);
        memset(buf + size, 0, 1 + n * PR_UPDATE_SIZE);
        buf[size] = (uint8_t)n;
        size += 1 + (int)(n * PR_UPDATE_SIZE);
        put_u32(buf, (uint32_t)size);
        CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), -DM_EMALFORMED);
    }
    /* The untouched frame decodes. */
    size = dm_codec_encode(&m, buf, sizeof buf);
    CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), size);
}

/* RECOVER and FLOOR: no name, no update list, FLOOR's round 0 or 1; a
 * RECOVERING has a REQUEST's layout and a REQUEST's rules. */
static void test_recovery_frames(void)
{
    uint8_t buf[DM_FRAME_MAX];
    dm_msg out;
    int size;
    const int nameless[] = {DM_MSG_RECOVER, DM_MSG_FLOOR};
    for (size_t i = 0; i < G_N_ELEMENTS(nameless); i++)
        assert_nameless_frames(nameless[i]);

    /* Each recovery type's bytes claimed by the other do not add up, nor do
     * a REQUEST's claimed by either. */
    for (size_t i = 0; i < G_N_ELEMENTS(nameless); i++) {
        dm_msg m = sample(nameless[i], 1, 0, 1, 2, 0);
        size = dm_codec_encode(&m, buf, sizeof buf);
        buf[5] = (uint8_t)nameless[1 - i];
        CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), -DM_EMALFORMED);
        m = sample(DM_MSG_REQUEST, 1, 2, 1, 2, 0);
        size = dm_codec_encode(&m, buf, sizeof buf);
        buf[5] = (uint8_t)nameless[i];
        CU_ASSERT(decode_exact(buf, (size_t)size, &out) < 0);
    }

    /* FLOOR's round: a u32 before the epoch, 0 or 1. */
    const struct {
        uint32_t round;
        int ok;
    } rounds[] = {
        {0, 1}, {1, 1}, {2, 0}, {3, 0}, {0xff, 0}, {0x100, 0}, {0x101, 0}, {0x01000000, 0},
        {0x80000001, 0}, {UINT32_MAX, 0},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(rounds); i++) {
        dm_msg m = sample(DM_MSG_FLOOR, 7, 0, 1, 2, 0);
        size = dm_codec_encode(&m, buf, sizeof buf);
        CU_ASSERT_FATAL(size == DM_FRAME_HEADER + 44);
        put_u32(buf + FLOOR_ROUND, rounds[i].round);
        CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), rounds[i].ok ? size : -DM_EMALFORMED);
        if (rounds[i].ok)
            CU_ASSERT_EQUAL(out.round, rounds[i].round);
    }

    /* A REQUEST relabelled RECOVERING decodes with the same fields; without
     * its name it is refused, as a REQUEST would be. */
    dm_msg req = sample(DM_MSG_REQUEST, 0x0102030405060708ULL, 3, 1, 2, 0);
    size = dm_codec_encode(&req, buf, sizeof buf);
    buf[5] = DM_MSG_RECOVERING;
    CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), size);
    CU_ASSERT_EQUAL(out.type, DM_MSG_RECOVERING);
    req.type = DM_MSG_RECOVERING;
    assert_msg_equal(&out, &req);
    buf[10] = 0;
    memmove(buf + DM_FRAME_HEADER, buf + DM_FRAME_HEADER + 3, (size_t)size - DM_FRAME_HEADER - 3);
    put_u32(buf, (uint32_t)size - 3);
    CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size - 3, &out), -DM_EBADNAME);
}

/* Big-endian u64 at p. */
static void put_u64(uint8_t *p, uint64_t v)
{
    put_u32(p, (uint32_t)(v >> 32));
    put_u32(p + 4, (uint32_t)v);
}

/* A frame of a type that carries a configuration's binding in its name
 * bytes: taken with one, and refused when it holds a NUL. */
static void assert_bound_frames(int type)
{
    uint8_t buf[DM_FRAME_MAX];
    dm_msg out;
    dm_msg m = sample(type, 1, 0, 1, 2, 0);
    memcpy(m.name, "10.0.0.9:7946", 13);
    m.name_len = 13;
    m.name[13] = '\0';
    int size = dm_codec_encode(&m, buf, sizeof buf);
    CU_ASSERT_EQUAL_FATAL(size, dm_codec_size(&m));
    CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), size);
    CU_ASSERT_EQUAL(out.name_len, 13);
    CU_ASSERT_EQUAL(memcmp(out.name, "10.0.0.9:7946", 13), 0);
    buf[DM_FRAME_HEADER + 4] = '\0';
    CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), -DM_EBADNAME);
}

/* SEAL..STALE: no name and no update list, as RECOVER and FLOOR; a field the
 * type requires written 0 is refused, an optional one taken; a member set
 * may name any wire member (the universe is the reconfiguration module's to
 * check). */
static void test_reconfig_frames(void)
{
    uint8_t buf[DM_FRAME_MAX];
    dm_msg out;
    int size, zeroed = 0, optional = 0;
    for (int t = DM_MSG_SEAL; t <= DM_MSG_STALE; t++) {
        if (dm_msg_fields(t) & DM_FIELD_BIND)
            assert_bound_frames(t);
        else
            assert_nameless_frames(t);
        const dm_msg m = sample(t, 0x0102030405060708ULL, 0, 1, 2, 0);
        size = dm_codec_size(&m);
        /* Each field in turn written 0 (all are 8 bytes wide here). */
        size_t at = DM_FRAME_HEADER;
        for (size_t i = 0; i < DM_FIELD_COUNT; i++) {
            const dm_msg_field *f = &dm_msg_field_table[i];
            if (!(dm_msg_fields(t) & f->flag))
                continue;
            CU_ASSERT_EQUAL_FATAL(f->width, 8);
            CU_ASSERT_EQUAL_FATAL(dm_codec_encode(&m, buf, sizeof buf), size);
            put_u64(buf + at, 0);
            bool required = dm_msg_field_min(t, f) > 0;
            CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), required ? -DM_EMALFORMED : size);
            zeroed += required;
            optional += !required;
            put_u64(buf + at, UINT64_MAX);
            CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), size);
            CU_ASSERT_EQUAL(dm_msg_field_get(&out, f), UINT64_MAX);
            at += f->width;
        }
        CU_ASSERT_EQUAL(at, (size_t)size);
    }
    /* SEAL 2, SEALED 2 (+4 optional), ACCEPT 3, ACCEPTED 2 (+2), REFUSED 3,
     * INSTALL/NEWER 2 (+2) each, INSTALLED/STALE 1 each. */
    CU_ASSERT_EQUAL(zeroed, 2 + 2 + 3 + 2 + 3 + 2 * 2 + 2);
    CU_ASSERT_EQUAL(optional, 4 + 2 + 2 * 2);

    /* The encoder refuses the same. */
    dm_msg bad = sample(DM_MSG_ACCEPT, 5, 0, 1, 2, 0);
    bad.members = 0;
    assert_encoder_refuses(&bad);
    bad = sample(DM_MSG_SEAL, 5, 0, 1, 2, 0);
    bad.grant = 1;
    assert_encoder_refuses(&bad);
    bad = sample(DM_MSG_STALE, 5, 0, 1, 2, 0);
    bad.epoch = 0;
    assert_encoder_refuses(&bad);
    /* Lock messages carry the epoch now; membership messages do not. */
    bad = sample(DM_MSG_PING, 5, 0, 1, 2, 0);
    bad.epoch = 1;
    assert_encoder_refuses(&bad);
}

static bool is_decode_error(int rc)
{
    switch (rc) {
    case -DM_ETRUNC:
    case -DM_EOVERSIZE:
    case -DM_EVERSION:
    case -DM_ETYPE:
    case -DM_EMALFORMED:
    case -DM_EBADNAME:
    case -DM_EPEER:
        return true;
    default:
        return false;
    }
}

/* Decodes arbitrary bytes; returns the decoder's result, or INT32_MIN when
 * the decoder broke its contract: an undocumented error, or a success that
 * is invalid or does not re-encode to the very bytes it came from. */
static int decode_checked(const uint8_t *bytes, size_t len)
{
    dm_msg m;
    int rc = decode_exact(bytes, len, &m);
    if (rc < 0)
        return is_decode_error(rc) ? rc : INT32_MIN;
    if ((size_t)rc > len || dm_msg_validate(&m, DM_MAX_MEMBERS) != 0)
        return INT32_MIN;
    uint8_t again[DM_FRAME_MAX];
    if (dm_codec_encode(&m, again, sizeof again) != rc || memcmp(again, bytes, (size_t)rc) != 0)
        return INT32_MIN;
    return rc;
}

static void test_fuzz_noise(void)
{
    uint64_t s = FUZZ_SEED;
    int broken = 0;
    for (int i = 0; i < FUZZ_ROUNDS; i++) {
        uint8_t bytes[NOISE_MAX_LEN];
        size_t len = rnd_below(&s, NOISE_MAX_LEN + 1);
        for (size_t k = 0; k < len; k++)
            bytes[k] = (uint8_t)rnd(&s);
        if (decode_checked(bytes, len) == INT32_MIN && broken++ == 0)
            fprintf(stderr, "\nnoise round %d (seed %#llx) broke the decoder\n", i,
                    (unsigned long long)FUZZ_SEED);
    }
    CU_ASSERT_EQUAL(broken, 0);
}

static void mutate(uint64_t *s, uint8_t *bytes, size_t len)
{
    static const uint8_t interesting[] = {0, 1, 2, 0x7f, 0x80, 0xfe, 0xff};
    size_t n = 1 + rnd_below(s, 4);
    for (size_t k = 0; k < n; k++) {
        size_t at = rnd_below(s, len);
        switch (rnd_below(s, 3)) {
        case 0:
            bytes[at] ^= (uint8_t)(1u << rnd_below(s, 8));
            break;
        case 1:
            bytes[at] = (uint8_t)rnd(s);
            break;
        default:
            bytes[at] = interesting[rnd_below(s, sizeof interesting)];
            break;
        }
    }
}

static void test_fuzz_mutations(void)
{
    uint64_t s = FUZZ_SEED ^ 0xa5a5a5a5a5a5a5a5ULL;
    int broken = 0, decoded = 0;
    int seen[DM_ERROR_COUNT] = {0};
    int decoded_by_type[DM_MSG_TYPE_END] = {0}, rejected_by_type[DM_MSG_TYPE_END] = {0};
    for (int i = 0; i < FUZZ_ROUNDS; i++) {
        dm_msg m = random_msg(&s);
        uint8_t bytes[DM_FRAME_MAX + 32];
        int size = dm_codec_encode(&m, bytes, sizeof bytes);
        CU_ASSERT_FATAL(size > 0);
        /* A few bytes of a following frame, for lengths that grow. */
        size_t len = (size_t)size + rnd_below(&s, 32);
        for (size_t k = (size_t)size; k < len; k++)
            bytes[k] = (uint8_t)rnd(&s);
        mutate(&s, bytes, len);
        if (rnd_below(&s, 8) == 0)
            len = rnd_below(&s, len + 1);

        int rc = decode_checked(bytes, len);
        if (rc == INT32_MIN) {
            if (broken++ == 0)
                fprintf(stderr, "\nmutation round %d (seed %#llx) broke the decoder\n", i,
                        (unsigned long long)FUZZ_SEED);
        } else if (rc >= 0) {
            decoded++;
            decoded_by_type[m.type]++;
        } else {
            seen[-rc]++;
            rejected_by_type[m.type]++;
        }
    }
    CU_ASSERT_EQUAL(broken, 0);
    /* Evidence that the mutations reach every check, not just the first. */
    CU_ASSERT(decoded > FUZZ_ROUNDS / 10);
    const int deep[] = {DM_ETRUNC,     DM_EOVERSIZE, DM_EVERSION, DM_ETYPE,
                        DM_EMALFORMED, DM_EBADNAME,  DM_EPEER};
    for (size_t i = 0; i < G_N_ELEMENTS(deep); i++)
        CU_ASSERT(seen[deep[i]] > 0);
    /* Every type, the recovery ones included, both survives mutations
     * (those of its values) and is refused after them. */
    for (int t = DM_MSG_REQUEST; t < DM_MSG_TYPE_END; t++) {
        CU_ASSERT(decoded_by_type[t] > FUZZ_ROUNDS / 100);
        CU_ASSERT(rejected_by_type[t] > FUZZ_ROUNDS / 100);
    }
}

/* What a loop that writes one field of valid frames saw: frames taken,
 * frames refused, and frames on which the decoder's verdict was wrong. */
typedef struct tally {
    int taken, rejected, broken;
} tally;

/* Counts one round; `accept`: the value was valid. The first wrong verdict
 * is described on stderr, as "<what> round <i> (<value>): <rc>". */
static void tally_round(tally *t, bool accept, bool ok, const char *what, int i, uint64_t value,
                        int rc)
{
    if (accept)
        t->taken++;
    else
        t->rejected++;
    if (!ok && t->broken++ == 0)
        fprintf(stderr, "\n%s round %d (%" PRIu64 ") broke the decoder: %d\n", what, i, value,
                rc);
}

/* Random accusers, in range and out of it, written into random updates of
 * random membership frames: the decoder takes exactly those below
 * DM_MAX_MEMBERS, whatever the state and place of the update, and rejects
 * the others with -DM_EPEER. */
static void test_fuzz_accusers(void)
{
    uint64_t s = FUZZ_SEED ^ 0x0acc05e40acc05e4ULL;
    tally t = {0};
    int edges = 0;
    for (int i = 0; i < FUZZ_ROUNDS / 10; i++) {
        dm_msg m;
        do
            m = random_msg(&s);
        while (!dm_msg_is_membership((int)m.type) || m.n_updates == 0);
        uint8_t bytes[DM_FRAME_MAX];
        int size = dm_codec_encode(&m, bytes, sizeof bytes);
        CU_ASSERT_FATAL(size > 0);
        size_t k = rnd_below(&s, m.n_updates);
        uint16_t accuser;
        switch (rnd_below(&s, 4)) {
        case 0:
            accuser = (uint16_t)rnd(&s);
            break;
        case 1:
            accuser = (uint16_t)(DM_MAX_MEMBERS + rnd_below(&s, 2)) - 1; /* the last id, the first beyond */
            break;
        case 2:
            accuser = (uint16_t)rnd_below(&s, 2); /* 0, 1 */
            break;
        default:
            accuser = (uint16_t)rnd_below(&s, DM_MAX_MEMBERS);
            break;
        }
        /* The updates close the frame, 10 bytes each; the accuser is at +2. */
        uint8_t *p = bytes + size - 10 * (int)(m.n_updates - k) + 2;
        p[0] = (uint8_t)(accuser >> 8);
        p[1] = (uint8_t)accuser;
        dm_msg out;
        int rc = decode_exact(bytes, (size_t)size, &out);
        bool accept = accuser < DM_MAX_MEMBERS;
        bool ok = accept ? rc == size && out.updates[k].accuser == accuser &&
                               out.updates[k].member == m.updates[k].member &&
                               out.updates[k].state == m.updates[k].state &&
                               out.updates[k].incarnation == m.updates[k].incarnation &&
                               decode_checked(bytes, (size_t)size) == size
                         : rc == -DM_EPEER;
        edges += accept && (accuser == 0 || accuser == DM_MAX_MEMBERS - 1);
        tally_round(&t, accept, ok, "accuser", i, accuser, rc);
    }
    CU_ASSERT_EQUAL(t.broken, 0);
    CU_ASSERT(t.taken > FUZZ_ROUNDS / 40);
    CU_ASSERT(t.rejected > FUZZ_ROUNDS / 40);
    CU_ASSERT(edges > FUZZ_ROUNDS / 200);
}

/* Random rounds written into random FLOOR frames: the decoder takes 0 and 1
 * (and the frame re-encodes to the same bytes) and refuses anything else
 * with -DM_EMALFORMED, whatever the other fields hold. */
static void test_fuzz_floor_rounds(void)
{
    uint64_t s = FUZZ_SEED ^ 0xf1008f1008f1008fULL;
    tally t = {0};
    for (int i = 0; i < FUZZ_ROUNDS / 10; i++) {
        dm_msg m = random_of_type(&s, DM_MSG_FLOOR);
        uint8_t bytes[DM_FRAME_MAX];
        int size = dm_codec_encode(&m, bytes, sizeof bytes);
        CU_ASSERT_FATAL(size == DM_FRAME_HEADER + 44);
        uint32_t round;
        switch (rnd_below(&s, 3)) {
        case 0:
            round = (uint32_t)rnd(&s);
            break;
        case 1:
            round = (uint32_t)rnd_below(&s, 4); /* 0..3 */
            break;
        default:
            round = (uint32_t)1 << rnd_below(&s, 32);
            break;
        }
        put_u32(bytes + FLOOR_ROUND, round);
        dm_msg out;
        int rc = decode_exact(bytes, (size_t)size, &out);
        bool accept = round <= 1;
        bool ok = accept ? rc == size && out.round == round && out.grant == m.grant &&
                               out.attempt == m.attempt && out.value == m.value &&
                               decode_checked(bytes, (size_t)size) == size
                         : rc == -DM_EMALFORMED;
        tally_round(&t, accept, ok, "FLOOR round", i, round, rc);
    }
    CU_ASSERT_EQUAL(t.broken, 0);
    CU_ASSERT(t.taken > FUZZ_ROUNDS / 100);
    CU_ASSERT(t.rejected > FUZZ_ROUNDS / 100);
}

static CU_TestInfo codec_tests[] = {
    {"round trip of every type at the edges", test_round_trip},
    {"largest frame of every type", test_largest_frames},
    {"known-answer frames", test_known_answer},
    {"known-answer recovery frames", test_known_answer_recovery},
    {"known-answer reconfiguration frames", test_known_answer_reconfig},
    {"every truncation is rejected", test_every_truncation},
    {"oversize length prefix", test_oversize},
    {"bad version", test_bad_version},
    {"bad type", test_bad_type},
    {"length disagrees with the type", test_length_disagrees},
    {"bad flags, name and peers", test_bad_flags_name_peers},
    {"encoder rejects invalid messages", test_encoder_rejects_invalid},
    {"update count disagrees", test_update_count},
    {"bad updates", test_bad_updates},
    {"membership frames: name, flags, target", test_membership_frames},
    {"recovery frames: name, updates, round", test_recovery_frames},
    {"reconfiguration frames: name, updates, required fields", test_reconfig_frames},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo fuzz_tests[] = {
    {"random noise", test_fuzz_noise},
    {"mutated frames", test_fuzz_mutations},
    {"mutated accusers", test_fuzz_accusers},
    {"mutated FLOOR rounds", test_fuzz_floor_rounds},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"codec", init_samples, NULL, NULL, NULL, codec_tests},
    {"codec-fuzz", NULL, NULL, NULL, NULL, fuzz_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return dm_test_main(argc, argv, suites);
}
