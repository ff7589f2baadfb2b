#include <glib.h>
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

/* Every per-type field set to v (narrowed for round), the clock too. */
static dm_msg sample(int type, uint64_t v, size_t name_len, uint16_t from, uint16_t to)
{
    dm_msg m;
    memset(&m, 0, sizeof m);
    m.type = (dm_msg_type)type;
    m.from = from;
    m.to = to;
    m.clock = v;
    m.name_len = (uint8_t)name_len;
    for (size_t i = 0; i < name_len; i++)
        m.name[i] = (char)('a' + i % 26);
    unsigned used = dm_msg_fields(type);
    for (size_t i = 0; i < DM_FIELD_COUNT; i++)
        if (used & dm_msg_field_table[i].flag)
            dm_msg_field_set(&m, &dm_msg_field_table[i],
                             MIN(v, dm_msg_field_max(type, &dm_msg_field_table[i])));
    return m;
}

static dm_msg random_msg(uint64_t *s)
{
    dm_msg m;
    memset(&m, 0, sizeof m);
    m.type = (dm_msg_type)(DM_MSG_REQUEST + rnd_below(s, DM_MSG_TYPE_END - DM_MSG_REQUEST));
    m.from = (uint16_t)rnd_below(s, DM_MAX_MEMBERS);
    m.to = (uint16_t)((m.from + 1 + rnd_below(s, DM_MAX_MEMBERS - 1)) % DM_MAX_MEMBERS);
    m.clock = rnd(s);
    /* Short names most of the time, so mutations hit the header and fields. */
    m.name_len = (uint8_t)(1 + rnd_below(s, rnd_below(s, 4) ? 16 : DM_NAME_MAX));
    for (size_t i = 0; i < m.name_len; i++)
        m.name[i] = (char)(1 + rnd_below(s, 255));
    unsigned used = dm_msg_fields((int)m.type);
    for (size_t i = 0; i < DM_FIELD_COUNT; i++) {
        if (used & dm_msg_field_table[i].flag) {
            uint64_t max = dm_msg_field_max((int)m.type, &dm_msg_field_table[i]);
            uint64_t v = rnd(s);
            dm_msg_field_set(&m, &dm_msg_field_table[i], max == UINT64_MAX ? v : v % (max + 1));
        }
    }
    return m;
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
    CU_ASSERT_EQUAL(a->name_len, b->name_len);
    CU_ASSERT(memcmp(a->name, b->name, a->name_len + 1u) == 0);
}

/* The edge cases: each type x {0, max, a byte pattern} x name length {1,
 * 255} x the extreme peer ids. */
#define N_SAMPLES ((DM_MSG_TYPE_END - DM_MSG_REQUEST) * 3 * 2 * 2)
static dm_msg samples[N_SAMPLES];

static int init_samples(void)
{
    const uint64_t values[] = {0, UINT64_MAX, 0x0102030405060708ULL};
    const size_t names[] = {1, DM_NAME_MAX};
    const uint16_t peers[][2] = {{0, DM_MAX_MEMBERS - 1}, {DM_MAX_MEMBERS - 1, 0}};
    size_t n = 0;
    for (int t = DM_MSG_REQUEST; t < DM_MSG_TYPE_END; t++)
        for (size_t v = 0; v < G_N_ELEMENTS(values); v++)
            for (size_t k = 0; k < G_N_ELEMENTS(names); k++)
                for (size_t p = 0; p < G_N_ELEMENTS(peers); p++)
                    samples[n++] = sample(t, values[v], names[k], peers[p][0], peers[p][1]);
    return n == N_SAMPLES ? 0 : 1;
}

static void test_round_trip(void)
{
    for (size_t i = 0; i < N_SAMPLES; i++) {
        const dm_msg *m = &samples[i];
        CU_ASSERT_EQUAL_FATAL(dm_msg_validate(m, DM_MAX_MEMBERS), 0);
        int size = dm_codec_size(m);
        CU_ASSERT(size >= DM_FRAME_HEADER + 1 + 8 && size <= DM_FRAME_MAX);

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
}

/* Round trips cannot tell a byte order or field order from its mirror
 * image; these frames are written out by hand from codec.h. */
static void test_known_answer(void)
{
    dm_msg m = sample(DM_MSG_REQUEST, 0, 2, 0x0102, 0x0a0b);
    m.clock = 0x1112131415161718ULL;
    m.attempt = 0x2122232425262728ULL;
    m.value = 0x3132333435363738ULL;
    const uint8_t request[] = {
        0x00, 0x00, 0x00, 0x26, 0x01, 0x01, 0x01, 0x02, 0x0a, 0x0b, 0x02, 0x00, 0x11,
        0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 'a',  'b',  0x21, 0x22, 0x23, 0x24,
        0x25, 0x26, 0x27, 0x28, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38,
    };
    uint8_t buf[DM_FRAME_MAX];
    CU_ASSERT_EQUAL_FATAL(dm_codec_encode(&m, buf, sizeof buf), (int)sizeof request);
    CU_ASSERT(memcmp(buf, request, sizeof request) == 0);

    m = sample(DM_MSG_KEEP, 0, 1, 1, 0);
    m.clock = 2;
    m.attempt = 3;
    m.grant = 4;
    m.value = 5;
    m.round = 0x01020304;
    const uint8_t keep[] = {
        0x00, 0x00, 0x00, 0x31, 0x01, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0, 0,
        0,    0,    0,    0,    0,    2,    'a',  0,    0,    0,    0,    0,    0, 0,
        3,    0,    0,    0,    0,    0,    0,    0,    4,    0,    0,    0,    0, 0,
        0,    0,    5,    0x01, 0x02, 0x03, 0x04,
    };
    CU_ASSERT_EQUAL_FATAL(dm_codec_encode(&m, buf, sizeof buf), (int)sizeof keep);
    CU_ASSERT(memcmp(buf, keep, sizeof keep) == 0);
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
    dm_msg m = sample(DM_MSG_GRANT, 7, 2, 1, 2);
    int size = dm_codec_encode(&m, buf, cap);
    CU_ASSERT_FATAL(size == DM_FRAME_HEADER + 2 + 16);
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
    const uint8_t versions[] = {0, 2, 0xff};
    for (size_t i = 0; i < G_N_ELEMENTS(versions); i++) {
        int size = grant_frame(buf, sizeof buf);
        buf[4] = versions[i];
        CU_ASSERT_EQUAL(decode_exact(buf, (size_t)size, &out), -DM_EVERSION);
    }
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

static void test_encoder_rejects_invalid(void)
{
    const dm_msg good = sample(DM_MSG_REQUEST, 5, 3, 1, 2);
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

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        int want = dm_msg_validate(&bad[i], DM_MAX_MEMBERS);
        CU_ASSERT(want < 0);
        CU_ASSERT_EQUAL(dm_codec_size(&bad[i]), want);
        uint8_t buf[DM_FRAME_MAX], before[DM_FRAME_MAX];
        memset(buf, 0xaa, sizeof buf);
        memcpy(before, buf, sizeof buf);
        CU_ASSERT_EQUAL(dm_codec_encode(&bad[i], buf, sizeof buf), want);
        CU_ASSERT(memcmp(buf, before, sizeof buf) == 0);
    }

    /* Too small a buffer is refused before anything is written. */
    int size = dm_codec_size(&good);
    CU_ASSERT_FATAL(size > 0);
    uint8_t buf[DM_FRAME_MAX];
    memset(buf, 0xaa, sizeof buf);
    CU_ASSERT_EQUAL(dm_codec_encode(&good, buf, (size_t)size - 1), -DM_EINVAL);
    CU_ASSERT_EQUAL(buf[0], 0xaa);
    CU_ASSERT_EQUAL(dm_codec_encode(&good, NULL, 0), -DM_EINVAL);
    CU_ASSERT_EQUAL(dm_codec_encode(&good, buf, (size_t)size), size);
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
        } else {
            seen[-rc]++;
        }
    }
    CU_ASSERT_EQUAL(broken, 0);
    /* Evidence that the mutations reach every check, not just the first. */
    CU_ASSERT(decoded > FUZZ_ROUNDS / 10);
    const int deep[] = {DM_ETRUNC,     DM_EOVERSIZE, DM_EVERSION, DM_ETYPE,
                        DM_EMALFORMED, DM_EBADNAME,  DM_EPEER};
    for (size_t i = 0; i < G_N_ELEMENTS(deep); i++)
        CU_ASSERT(seen[deep[i]] > 0);
}

static CU_TestInfo codec_tests[] = {
    {"round trip of every type at the edges", test_round_trip},
    {"known-answer frames", test_known_answer},
    {"every truncation is rejected", test_every_truncation},
    {"oversize length prefix", test_oversize},
    {"bad version", test_bad_version},
    {"bad type", test_bad_type},
    {"length disagrees with the type", test_length_disagrees},
    {"bad flags, name and peers", test_bad_flags_name_peers},
    {"encoder rejects invalid messages", test_encoder_rejects_invalid},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo fuzz_tests[] = {
    {"random noise", test_fuzz_noise},
    {"mutated frames", test_fuzz_mutations},
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
