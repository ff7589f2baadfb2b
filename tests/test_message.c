#include <stdio.h>
#include <string.h>
#include <glib.h>

#include "error.h"
#include "message.h"
#include "testlib.h"

/* The type families, restated from message.h rather than derived from the
 * table under test: membership (SWIM) messages are exactly PING..SYNC and
 * GOSSIP and carry updates; recovery messages (RECOVER, FLOOR) and reconfiguration
 * messages (SEAL..STALE) carry neither a name nor updates; every other type,
 * RECOVERING included, is a lock message. */
static bool is_swim(int t)
{
    return (t >= DM_MSG_PING && t <= DM_MSG_SYNC) || t == DM_MSG_GOSSIP;
}

static bool is_recovery(int t)
{
    return t == DM_MSG_RECOVER || t == DM_MSG_FLOOR;
}

static bool is_reconfig(int t)
{
    return t >= DM_MSG_SEAL && t <= DM_MSG_STALE;
}

static bool is_lock(int t)
{
    return dm_msg_type_valid(t) && !is_swim(t) && !is_recovery(t) && !is_reconfig(t);
}

/* A valid message of `type` with every field the type uses set non-zero
 * (members to {0, 2}): a lock message named "alpha", a membership message
 * with two updates (member 2 suspected by member 1 at 4, member 1 alive at
 * 1). */
static dm_msg make(int type)
{
    dm_msg m;
    memset(&m, 0, sizeof m);
    m.type = (dm_msg_type)type;
    m.from = 3;
    m.to = 0;
    m.clock = 12;
    unsigned used = dm_msg_fields(type);
    if (used & DM_FIELD_NAME)
        dm_msg_set_name(&m, "alpha");
    for (size_t i = 0; i < DM_FIELD_COUNT; i++) {
        const dm_msg_field *f = &dm_msg_field_table[i];
        if (used & f->flag)
            dm_msg_field_set(&m, f, f->member       ? 2
                                    : f->member_set ? 0x5
                                                    : MIN(100 + i, dm_msg_field_max(type, f)));
    }
    if (used & DM_FIELD_UPDATES) {
        m.n_updates = 2;
        m.updates[0] = (dm_member_update){
            .member = 2, .accuser = 1, .state = DM_MEMBER_SUSPECT, .incarnation = 4};
        m.updates[1] = (dm_member_update){
            .member = 1, .accuser = 1, .state = DM_MEMBER_ALIVE, .incarnation = 1};
    }
    return m;
}

static void test_type_names(void)
{
    static const char *const want[] = {
        [DM_MSG_REQUEST] = "REQUEST", [DM_MSG_GRANT] = "GRANT",     [DM_MSG_FAILED] = "FAILED",
        [DM_MSG_INQUIRE] = "INQUIRE", [DM_MSG_YIELD] = "YIELD",     [DM_MSG_RELEASE] = "RELEASE",
        [DM_MSG_KEEP] = "KEEP",       [DM_MSG_KEPT] = "KEPT",       [DM_MSG_REVOKED] = "REVOKED",
        [DM_MSG_PING] = "PING",       [DM_MSG_PING_REQ] = "PING_REQ", [DM_MSG_ACK] = "ACK",
        [DM_MSG_NACK] = "NACK",       [DM_MSG_SYNC] = "SYNC",
        [DM_MSG_RECOVER] = "RECOVER", [DM_MSG_FLOOR] = "FLOOR", [DM_MSG_RECOVERING] = "RECOVERING",
        [DM_MSG_SEAL] = "SEAL",       [DM_MSG_SEALED] = "SEALED",   [DM_MSG_ACCEPT] = "ACCEPT",
        [DM_MSG_ACCEPTED] = "ACCEPTED", [DM_MSG_REFUSED] = "REFUSED",
        [DM_MSG_INSTALL] = "INSTALL", [DM_MSG_INSTALLED] = "INSTALLED", [DM_MSG_NEWER] = "NEWER",
        [DM_MSG_STALE] = "STALE",     [DM_MSG_GOSSIP] = "GOSSIP", [DM_MSG_HELD] = "HELD",
        [DM_MSG_GRANT_RESERVED] = "GRANT_RESERVED",
    };
    CU_ASSERT_EQUAL(G_N_ELEMENTS(want), DM_MSG_TYPE_END);
    for (int t = DM_MSG_REQUEST; t < DM_MSG_TYPE_END; t++) {
        CU_ASSERT(dm_msg_type_valid(t));
        CU_ASSERT_STRING_EQUAL(dm_msg_type_name(t), want[t]);
    }
    const int bad[] = {0, -1, DM_MSG_TYPE_END, 200};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT(!dm_msg_type_valid(bad[i]));
        CU_ASSERT_STRING_EQUAL(dm_msg_type_name(bad[i]), "UNKNOWN");
        CU_ASSERT_EQUAL(dm_msg_fields(bad[i]), 0);
    }
}

/* The table of message.h, restated independently: the fields each type
 * uses, and of those the ones it requires non-zero. */
enum {
    A = DM_FIELD_ATTEMPT, G = DM_FIELD_GRANT, V = DM_FIELD_VALUE, R = DM_FIELD_ROUND,
    T = DM_FIELD_TARGET, E = DM_FIELD_EPOCH, B = DM_FIELD_BALLOT, B2 = DM_FIELD_BALLOT2,
    M = DM_FIELD_MEMBERS, N = DM_FIELD_NAME, U = DM_FIELD_UPDATES, BI = DM_FIELD_BIND,
};
static const struct {
    unsigned fields, required;
} want_fields[] = {
    [DM_MSG_REQUEST] = {N | A | V | E, 0},
    [DM_MSG_GRANT] = {N | A | G | E, 0},
    [DM_MSG_FAILED] = {N | A | E, 0},
    [DM_MSG_INQUIRE] = {N | A | G | V | E, 0},
    [DM_MSG_YIELD] = {N | A | G | E, 0},
    [DM_MSG_RELEASE] = {N | A | E, 0},
    [DM_MSG_KEEP] = {N | A | G | V | R | E, 0},
    [DM_MSG_KEPT] = {N | A | G | V | R | E, 0},
    [DM_MSG_REVOKED] = {N | A | G | E, 0},
    [DM_MSG_PING] = {V | U, 0},
    [DM_MSG_PING_REQ] = {V | T | U, 0},
    [DM_MSG_ACK] = {V | T | U, 0},
    [DM_MSG_NACK] = {V | T | U, 0},
    [DM_MSG_SYNC] = {V | U, 0},
    [DM_MSG_RECOVER] = {V | E, 0},
    [DM_MSG_FLOOR] = {A | G | V | R | E | B2, 0},
    [DM_MSG_RECOVERING] = {N | A | V | E, 0},
    [DM_MSG_SEAL] = {E | B, E | B},
    [DM_MSG_SEALED] = {E | B | B2 | M | BI | G | V, E | B},
    [DM_MSG_ACCEPT] = {E | B | M | BI, E | B | M},
    [DM_MSG_ACCEPTED] = {E | B | G | V, E | B},
    [DM_MSG_REFUSED] = {E | B | B2, E | B | B2},
    [DM_MSG_INSTALL] = {E | M | BI | G | V, E | M},
    [DM_MSG_INSTALLED] = {E, E},
    [DM_MSG_NEWER] = {E | M | BI | G | V, E | M},
    [DM_MSG_STALE] = {E, E},
    [DM_MSG_GOSSIP] = {U, 0},
    [DM_MSG_HELD] = {N | A | G | E, 0},
    [DM_MSG_GRANT_RESERVED] = {N | A | G | V | E, 0},
};

static void test_field_masks(void)
{
    CU_ASSERT_EQUAL(G_N_ELEMENTS(want_fields), DM_MSG_TYPE_END);
    for (int t = DM_MSG_REQUEST; t < DM_MSG_TYPE_END; t++) {
        CU_ASSERT_EQUAL(dm_msg_fields(t), want_fields[t].fields);
        for (size_t i = 0; i < DM_FIELD_COUNT; i++)
            CU_ASSERT_EQUAL(dm_msg_field_min(t, &dm_msg_field_table[i]),
                            (want_fields[t].required & dm_msg_field_table[i].flag) ? 1 : 0);
    }
    /* An unknown type requires nothing (and uses nothing). */
    for (size_t i = 0; i < DM_FIELD_COUNT; i++) {
        CU_ASSERT_EQUAL(dm_msg_field_min(0, &dm_msg_field_table[i]), 0);
        CU_ASSERT_EQUAL(dm_msg_field_min(DM_MSG_TYPE_END, &dm_msg_field_table[i]), 0);
    }

    /* The field table's accessors reach the struct member they name, in wire
     * order: the epoch policy's fields after the older ones. */
    dm_msg m;
    memset(&m, 0, sizeof m);
    m.attempt = 1;
    m.grant = 2;
    m.value = 3;
    m.round = 4;
    m.target = 5;
    m.epoch = 6;
    m.ballot = 7;
    m.ballot2 = 8;
    m.members = 9;
    const unsigned flags[DM_FIELD_COUNT] = {A, G, V, R, T, E, B, B2, M};
    const size_t widths[DM_FIELD_COUNT] = {8, 8, 8, 4, 4, 8, 8, 8, 8};
    for (size_t i = 0; i < DM_FIELD_COUNT; i++) {
        CU_ASSERT_EQUAL(dm_msg_field_table[i].flag, flags[i]);
        CU_ASSERT_EQUAL(dm_msg_field_table[i].width, widths[i]);
        CU_ASSERT_EQUAL(dm_msg_field_table[i].member, flags[i] == T);
        CU_ASSERT_EQUAL(dm_msg_field_table[i].member_set, flags[i] == M);
        CU_ASSERT_EQUAL(dm_msg_field_get(&m, &dm_msg_field_table[i]), i + 1);
        CU_ASSERT_EQUAL(dm_msg_field_table[i].flag & (N | U), 0);
    }
    dm_msg_field_set(&m, &dm_msg_field_table[3], UINT64_MAX);
    CU_ASSERT_EQUAL(m.round, UINT32_MAX);
    CU_ASSERT_EQUAL(m.value, 3);
    dm_msg_field_set(&m, &dm_msg_field_table[4], 0x1234567890ULL);
    CU_ASSERT_EQUAL(m.target, 0x34567890u);
    CU_ASSERT_EQUAL(m.round, UINT32_MAX);
    dm_msg_field_set(&m, &dm_msg_field_table[8], UINT64_MAX);
    CU_ASSERT_EQUAL(m.members, UINT64_MAX);
    CU_ASSERT_EQUAL(m.ballot2, 8);
}

static void test_is_membership(void)
{
    int lock = 0, swim = 0, recovery = 0, reconfig = 0;
    for (int t = DM_MSG_REQUEST; t < DM_MSG_TYPE_END; t++) {
        bool want = t == DM_MSG_PING || t == DM_MSG_PING_REQ || t == DM_MSG_ACK ||
                    t == DM_MSG_NACK || t == DM_MSG_SYNC || t == DM_MSG_GOSSIP;
        CU_ASSERT_EQUAL(dm_msg_is_membership(t), want);
        CU_ASSERT_EQUAL(is_swim(t), want);
        CU_ASSERT_EQUAL(dm_msg_is_reconfig(t), is_reconfig(t));
        /* A lock message has a name, a membership message updates, a
         * recovery or reconfiguration message neither; none has both. Every
         * message but a membership one carries the epoch. */
        CU_ASSERT_EQUAL((dm_msg_fields(t) & DM_FIELD_NAME) != 0, is_lock(t));
        CU_ASSERT_EQUAL((dm_msg_fields(t) & DM_FIELD_UPDATES) != 0, want);
        CU_ASSERT_EQUAL((dm_msg_fields(t) & DM_FIELD_EPOCH) != 0, !want);
        CU_ASSERT_EQUAL(is_lock(t) + is_swim(t) + is_recovery(t) + is_reconfig(t), 1);
        lock += is_lock(t);
        swim += is_swim(t);
        recovery += is_recovery(t);
        reconfig += is_reconfig(t);
    }
    CU_ASSERT_EQUAL(lock, 12);
    CU_ASSERT_EQUAL(swim, 6);
    CU_ASSERT_EQUAL(recovery, 2);
    CU_ASSERT_EQUAL(reconfig, 9);
    CU_ASSERT(is_lock(DM_MSG_RECOVERING));
    CU_ASSERT(!dm_msg_is_membership(DM_MSG_RECOVER));
    CU_ASSERT(!dm_msg_is_membership(DM_MSG_FLOOR));
    CU_ASSERT(!dm_msg_is_membership(DM_MSG_RECOVERING));
    const int bad[] = {0, -1, DM_MSG_TYPE_END, 200};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        CU_ASSERT(!dm_msg_is_membership(bad[i]));
        CU_ASSERT(!dm_msg_is_reconfig(bad[i]));
    }
}

static void test_name_check(void)
{
    char name[DM_NAME_MAX + 2];
    memset(name, 'n', sizeof name);

    CU_ASSERT_EQUAL(dm_lock_name_check(NULL), -DM_EBADNAME);
    CU_ASSERT_EQUAL(dm_lock_name_check(""), -DM_EBADNAME);
    CU_ASSERT_EQUAL(dm_lock_name_check("a"), 1);
    name[DM_NAME_MAX] = '\0';
    CU_ASSERT_EQUAL(dm_lock_name_check(name), DM_NAME_MAX);
    name[DM_NAME_MAX] = 'n';
    name[DM_NAME_MAX + 1] = '\0';
    CU_ASSERT_EQUAL(dm_lock_name_check(name), -DM_EBADNAME);
    /* As a C string, a name ends at its first NUL. */
    CU_ASSERT_EQUAL(dm_lock_name_check("ab\0cd"), 2);
    CU_ASSERT_EQUAL(dm_lock_name_check("\0cd"), -DM_EBADNAME);
}

static void test_set_name(void)
{
    dm_msg m = make(DM_MSG_GRANT);
    CU_ASSERT_EQUAL(dm_msg_set_name(&m, "x"), 0);
    CU_ASSERT_EQUAL(m.name_len, 1);
    CU_ASSERT_STRING_EQUAL(m.name, "x");
    CU_ASSERT_EQUAL(m.name[2], '\0'); /* the old name's tail is gone */

    char long_name[DM_NAME_MAX + 2];
    memset(long_name, 'L', sizeof long_name - 1);
    long_name[DM_NAME_MAX + 1] = '\0';
    CU_ASSERT_EQUAL(dm_msg_set_name(&m, long_name), -DM_EBADNAME);
    CU_ASSERT_EQUAL(dm_msg_set_name(&m, ""), -DM_EBADNAME);
    CU_ASSERT_EQUAL(dm_msg_set_name(&m, NULL), -DM_EBADNAME);
    CU_ASSERT_STRING_EQUAL(m.name, "x"); /* failures leave the message alone */
    CU_ASSERT_EQUAL(m.name_len, 1);

    long_name[DM_NAME_MAX] = '\0';
    CU_ASSERT_EQUAL(dm_msg_set_name(&m, long_name), 0);
    CU_ASSERT_EQUAL(m.name_len, DM_NAME_MAX);
    CU_ASSERT_EQUAL(m.name[DM_NAME_MAX], '\0');
    CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);
}

static void test_validate_good(void)
{
    for (int t = DM_MSG_REQUEST; t < DM_MSG_TYPE_END; t++) {
        dm_msg m = make(t);
        CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);
        m.from = DM_MAX_MEMBERS - 1;
        CU_ASSERT_EQUAL(dm_msg_validate(&m, DM_MAX_MEMBERS), 0);
    }
    /* Membership messages at their edges. */
    for (int t = DM_MSG_PING; t <= DM_MSG_SYNC; t++) {
        dm_msg m = make(t);
        m.n_updates = 0;
        CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);
        m.n_updates = DM_MSG_MAX_UPDATES;
        for (size_t i = 0; i < DM_MSG_MAX_UPDATES; i++)
            m.updates[i] = (dm_member_update){
                .member = (uint16_t)(DM_MAX_MEMBERS - 1 - i),
                /* accusers at both ends of the range */
                .accuser = (uint16_t)(i % 2 ? DM_MAX_MEMBERS - 1 - i : i),
                .state = (uint8_t)(i % (DM_MEMBER_STATE_MAX + 1)),
                .incarnation = UINT32_MAX - (uint32_t)i,
            };
        CU_ASSERT_EQUAL(dm_msg_validate(&m, DM_MAX_MEMBERS), 0);
        CU_ASSERT_EQUAL(dm_msg_validate(&m, DM_MAX_MEMBERS - 1), -DM_EPEER);
        m.value = dm_msg_field_max(t, &dm_msg_field_table[2]);
        CU_ASSERT_EQUAL(dm_msg_validate(&m, DM_MAX_MEMBERS), 0);
    }
    /* Only the first n_updates entries count: the rest may be garbage. */
    dm_msg m = make(DM_MSG_PING);
    memset(&m.updates[m.n_updates], 0xff, sizeof m.updates - m.n_updates * sizeof m.updates[0]);
    CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);
}

static void test_validate_type(void)
{
    dm_msg m = make(DM_MSG_FAILED);
    m.type = (dm_msg_type)0;
    CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), -DM_ETYPE);
    m.type = DM_MSG_TYPE_END;
    CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), -DM_ETYPE);
    m.type = (dm_msg_type)200;
    CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), -DM_ETYPE);
}

static void test_validate_name(void)
{
    dm_msg m = make(DM_MSG_REQUEST);
    m.name_len = 0;
    CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), -DM_EBADNAME);

    m = make(DM_MSG_REQUEST);
    m.name_len = 4; /* "alph" followed by 'a', not the terminator */
    CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), -DM_EBADNAME);

    m = make(DM_MSG_REQUEST);
    m.name[2] = '\0'; /* embedded NUL */
    CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), -DM_EBADNAME);

    m = make(DM_MSG_REQUEST);
    m.name[0] = '\0';
    CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), -DM_EBADNAME);

    /* A RECOVERING names the lock of the REQUEST it answers. */
    m = make(DM_MSG_RECOVERING);
    CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);
    m.name_len = 0;
    CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), -DM_EBADNAME);
    m = make(DM_MSG_RECOVERING);
    m.name[1] = '\0';
    CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), -DM_EBADNAME);

    /* Membership, recovery and reconfiguration messages carry no name, not
     * even a stray byte of one; those with a configuration may carry its
     * binding there (any bytes but NUL, or none). */
    int nameless = 0;
    for (int t = DM_MSG_REQUEST; t < DM_MSG_TYPE_END; t++) {
        if (is_lock(t))
            continue;
        nameless++;
        m = make(t);
        CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);
        CU_ASSERT_EQUAL(dm_msg_set_name(&m, "alpha"), 0);
        CU_ASSERT_EQUAL(dm_msg_validate(&m, 4),
                        (dm_msg_fields(t) & DM_FIELD_BIND) ? 0 : -DM_EBADNAME);
        m = make(t);
        m.name[0] = 'x';
        CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), -DM_EBADNAME);
        m = make(t);
        m.name_len = 1; /* name[0] is NUL, name[1] too */
        CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), -DM_EBADNAME);
        m = make(t);
        m.name[1] = 'x'; /* past the (empty) name's terminator: not looked at */
        CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);
    }
    CU_ASSERT_EQUAL(nameless, 6 + 2 + 9);
}

static void test_validate_unused_fields(void)
{
    int checked = 0;
    for (int t = DM_MSG_REQUEST; t < DM_MSG_TYPE_END; t++) {
        unsigned used = dm_msg_fields(t);
        for (size_t i = 0; i < DM_FIELD_COUNT; i++) {
            const dm_msg_field *f = &dm_msg_field_table[i];
            if (used & f->flag)
                continue;
            dm_msg m = make(t);
            dm_msg_field_set(&m, f, 1);
            CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), -DM_EMALFORMED);
            checked++;
        }
        if (!(used & DM_FIELD_UPDATES)) {
            dm_msg m = make(t);
            m.n_updates = 1; /* updates[0] itself is a fine update */
            CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), -DM_EMALFORMED);
            checked++;
        }
    }
    /* Each type: the table's fields it does not use (want_fields restates
     * which), and the updates unless it has them. */
    int want = 0;
    for (int t = DM_MSG_REQUEST; t < DM_MSG_TYPE_END; t++)
        want += DM_FIELD_COUNT - __builtin_popcount(want_fields[t].fields & ~(N | U | BI)) +
                !(want_fields[t].fields & U);
    CU_ASSERT_EQUAL(checked, want);
    /* Lock messages: target, ballot, ballot2, members and updates unused by
     * all 12, and REQUEST 2, GRANT/YIELD/REVOKED/HELD 2 each, INQUIRE and
     * GRANT_RESERVED 1 each,
     * FAILED/RELEASE 3 each, RECOVERING 2 (grant, round); membership:
     * attempt, grant, round and the four epoch-policy fields by all 5, target
     * by PING and SYNC; recovery: target, ballot, members and updates by
     * both, RECOVER's attempt, grant, round and ballot2; reconfiguration:
     * attempt, round, target and updates by all 9, and of grant, value,
     * ballot, ballot2 and members SEAL 4, ACCEPTED 2, SEALED 0, ACCEPT 3,
     * REFUSED 3, INSTALL/NEWER 2 each, INSTALLED/STALE 5 each; GOSSIP all 9
     * fixed fields. */
    CU_ASSERT_EQUAL(want, 12 * 5 + 2 + 4 * 2 + 2 * 1 + 2 * 3 + 2 + 5 * 7 + 2 + 2 * 4 + 4 + 9 * 4 +
                              4 + 2 + 0 + 3 + 3 + 2 * 2 + 5 * 2 + 9);
}

/* A used field above what its type allows is as malformed as an unused one
 * that is set: INQUIRE's value says yield (0) or probe (1), nothing else. */
static void test_validate_field_ranges(void)
{
    dm_msg m = make(DM_MSG_INQUIRE);
    m.value = DM_INQUIRE_YIELD;
    CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);
    m.value = DM_INQUIRE_PROBE;
    CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);
    m.value = 2;
    CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), -DM_EMALFORMED);
    m.value = UINT64_MAX;
    CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), -DM_EMALFORMED);

    /* SYNC's value is flags: only the DM_SYNC_ bits. */
    m = make(DM_MSG_SYNC);
    const uint64_t good[] = {0, DM_SYNC_REPLY, DM_SYNC_LAST, DM_SYNC_REPLY | DM_SYNC_LAST};
    for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
        m.value = good[i];
        CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);
    }
    const uint64_t bad[] = {0x4, 0x5, 0x8, 0x80, 1ULL << 63, UINT64_MAX};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        m.value = bad[i];
        CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), -DM_EMALFORMED);
    }
    /* The other membership values are sequence numbers: anything goes. */
    for (int t = DM_MSG_PING; t < DM_MSG_SYNC; t++) {
        m = make(t);
        m.value = UINT64_MAX;
        CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);
    }

    /* FLOOR's round says whether the answerer is recovering itself: 0 or 1.
     * The limit is FLOOR's alone: KEEP and KEPT count rounds. */
    m = make(DM_MSG_FLOOR);
    const uint32_t floor_rounds[] = {0, 1, 2, 3, 0x80, 0x100, 0x10000, UINT32_MAX};
    for (size_t i = 0; i < G_N_ELEMENTS(floor_rounds); i++) {
        m.round = floor_rounds[i];
        CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), floor_rounds[i] <= 1 ? 0 : -DM_EMALFORMED);
    }
    for (int t = DM_MSG_KEEP; t <= DM_MSG_KEPT; t++) {
        m = make(t);
        m.round = UINT32_MAX;
        CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);
    }
    /* Rounds, counters, attempt ids and times: every other value of the
     * recovery types goes, to its width's end. */
    m = make(DM_MSG_FLOOR);
    m.attempt = m.grant = m.value = UINT64_MAX;
    CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);
    m = make(DM_MSG_RECOVER);
    m.value = UINT64_MAX;
    CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);
    m = make(DM_MSG_RECOVERING);
    m.attempt = m.value = UINT64_MAX;
    CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);
    m.value = 0;
    CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);
}

/* RECOVER and FLOOR travel between members like membership messages but
 * carry neither a lock name nor updates; RECOVERING is a lock message. */
static void test_validate_recovery(void)
{
    const int types[] = {DM_MSG_RECOVER, DM_MSG_FLOOR};
    for (size_t i = 0; i < G_N_ELEMENTS(types); i++) {
        dm_msg m = make(types[i]);
        CU_ASSERT_EQUAL(m.name_len, 0);
        CU_ASSERT_EQUAL(m.n_updates, 0);
        CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);
        CU_ASSERT_EQUAL(dm_msg_set_name(&m, "alpha"), 0);
        CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), -DM_EBADNAME);

        /* Any number of updates, however good each one is. */
        const uint8_t counts[] = {1, 2, DM_MSG_MAX_UPDATES, DM_MSG_MAX_UPDATES + 1, UINT8_MAX};
        for (size_t k = 0; k < G_N_ELEMENTS(counts); k++) {
            m = make(types[i]);
            m.n_updates = counts[k];
            for (size_t u = 0; u < MIN(counts[k], DM_MSG_MAX_UPDATES); u++)
                m.updates[u] = (dm_member_update){.member = 1, .accuser = 1};
            CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), -DM_EMALFORMED);
        }
        /* Their (unused) update array is not looked at. */
        m = make(types[i]);
        m.updates[0] = (dm_member_update){.member = UINT16_MAX, .accuser = UINT16_MAX, .state = 0xff};
        CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);

        /* Peers as for every message: members, and not to itself. */
        m = make(types[i]);
        m.to = m.from;
        CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), -DM_EPEER);
        m = make(types[i]);
        m.to = 4;
        CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), -DM_EPEER);
    }
    /* RECOVERING carries no updates either, as no lock message does. */
    dm_msg m = make(DM_MSG_RECOVERING);
    m.n_updates = 1;
    CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), -DM_EMALFORMED);
}

/* Reconfiguration messages: the fields a type requires are never 0, the
 * others it carries may be; a member set names members only. Lock and
 * recovery messages carry any epoch, 0 included. */
static void test_validate_reconfig(void)
{
    int required = 0;
    for (int t = DM_MSG_SEAL; t <= DM_MSG_STALE; t++) {
        dm_msg m = make(t);
        CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);
        CU_ASSERT_EQUAL(m.name_len, 0);
        for (size_t i = 0; i < DM_FIELD_COUNT; i++) {
            const dm_msg_field *f = &dm_msg_field_table[i];
            if (!(dm_msg_fields(t) & f->flag))
                continue;
            m = make(t);
            dm_msg_field_set(&m, f, 0);
            bool req = (want_fields[t].required & f->flag) != 0;
            CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), req ? -DM_EMALFORMED : 0);
            required += req;
            dm_msg_field_set(&m, f, f->member_set ? 1 : UINT64_MAX);
            CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);
        }
        if (dm_msg_fields(t) & DM_FIELD_MEMBERS) {
            m = make(t);
            m.members = 0xf;   /* ids 0..3 */
            CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);
            m.members = 0x1f;  /* id 4 */
            CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), -DM_EPEER);
            CU_ASSERT_EQUAL(dm_msg_validate(&m, 5), 0);
            m.members = UINT64_C(1) << 63;
            CU_ASSERT_EQUAL(dm_msg_validate(&m, 63), -DM_EPEER);
            CU_ASSERT_EQUAL(dm_msg_validate(&m, 64), 0);
            m.members = UINT64_MAX;
            CU_ASSERT_EQUAL(dm_msg_validate(&m, 64), 0);
            CU_ASSERT_EQUAL(dm_msg_validate(&m, DM_MAX_MEMBERS), 0);
        }
    }
    /* SEAL 2, SEALED 2, ACCEPT 3, ACCEPTED 2, REFUSED 3, INSTALL/NEWER 2
     * each, INSTALLED/STALE 1 each. */
    CU_ASSERT_EQUAL(required, 2 + 2 + 3 + 2 + 3 + 2 * 2 + 2);
    for (int t = DM_MSG_REQUEST; t < DM_MSG_SEAL; t++) {
        if (!(dm_msg_fields(t) & DM_FIELD_EPOCH))
            continue;
        dm_msg m = make(t);
        m.epoch = 0;
        CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);
        m.epoch = UINT64_MAX;
        CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);
    }
}

static void test_validate_updates(void)
{
    for (int t = DM_MSG_PING; t <= DM_MSG_SYNC; t++) {
        dm_msg m = make(t);
        m.n_updates = DM_MSG_MAX_UPDATES + 1;
        CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), -DM_EMALFORMED);
        m.n_updates = UINT8_MAX;
        CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), -DM_EMALFORMED);

        for (int state = 0; state <= DM_MEMBER_STATE_MAX; state++) {
            m = make(t);
            m.updates[1].state = (uint8_t)state;
            CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);
        }
        const uint8_t bad_states[] = {DM_MEMBER_STATE_MAX + 1, 0x80, 0xff};
        for (size_t i = 0; i < G_N_ELEMENTS(bad_states); i++) {
            m = make(t);
            m.updates[1].state = bad_states[i];
            CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), -DM_EMALFORMED);
            m.n_updates = 1; /* the bad one is no longer among them */
            CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);
        }

        /* An update names a member like from and to do; itself included. */
        m = make(t);
        m.updates[1].member = 3;
        CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);
        m.updates[1].member = 4;
        CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), -DM_EPEER);
        CU_ASSERT_EQUAL(dm_msg_validate(&m, 5), 0);
        m.updates[0].member = UINT16_MAX;
        CU_ASSERT_EQUAL(dm_msg_validate(&m, DM_MAX_MEMBERS), -DM_EPEER);

        m = make(t);
        m.updates[0].incarnation = UINT32_MAX;
        CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);
    }
}

/* An update's accuser names a member too, checked like the member itself,
 * whichever update it is in and whatever the state. */
static void test_validate_accuser(void)
{
    for (int t = DM_MSG_PING; t <= DM_MSG_SYNC; t++) {
        for (size_t u = 0; u < 2; u++) {
            dm_msg m = make(t);
            m.updates[u].accuser = 0;
            CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);
            m.updates[u].accuser = 3;
            CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);
            m.updates[u].accuser = 4;
            CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), -DM_EPEER);
            CU_ASSERT_EQUAL(dm_msg_validate(&m, 5), 0);
            m.updates[u].accuser = DM_MAX_MEMBERS - 1;
            CU_ASSERT_EQUAL(dm_msg_validate(&m, DM_MAX_MEMBERS), 0);
            CU_ASSERT_EQUAL(dm_msg_validate(&m, DM_MAX_MEMBERS - 1), -DM_EPEER);
            const uint16_t bad[] = {DM_MAX_MEMBERS, 0x8000, UINT16_MAX};
            for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                m.updates[u].accuser = bad[i];
                CU_ASSERT_EQUAL(dm_msg_validate(&m, DM_MAX_MEMBERS), -DM_EPEER);
                /* the same verdict in every state */
                for (uint8_t st = 0; st <= DM_MEMBER_STATE_MAX; st++) {
                    m.updates[u].state = st;
                    CU_ASSERT_EQUAL(dm_msg_validate(&m, DM_MAX_MEMBERS), -DM_EPEER);
                }
            }
            /* Past n_updates the accuser is not looked at. */
            if (u == 1) {
                m.n_updates = 1;
                CU_ASSERT_EQUAL(dm_msg_validate(&m, DM_MAX_MEMBERS), 0);
            }
            /* A malformed state is reported before a bad accuser. */
            m = make(t);
            m.updates[u].accuser = 4;
            m.updates[u].state = DM_MEMBER_STATE_MAX + 1;
            CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), -DM_EMALFORMED);
        }
    }
    /* A lock message's (unused) updates are not looked at. */
    dm_msg m = make(DM_MSG_GRANT);
    m.updates[0].accuser = UINT16_MAX;
    CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);
}

static void test_validate_target(void)
{
    for (int t = DM_MSG_PING_REQ; t <= DM_MSG_NACK; t++) {
        dm_msg m = make(t); /* 3 -> 0, target 2 */
        CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);
        m.target = 1;
        CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);
        m.target = 4;
        CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), -DM_EPEER);
        CU_ASSERT_EQUAL(dm_msg_validate(&m, 5), 0);
        m.target = DM_MAX_MEMBERS - 1;
        CU_ASSERT_EQUAL(dm_msg_validate(&m, DM_MAX_MEMBERS), 0);
        m.target = DM_MAX_MEMBERS;
        CU_ASSERT_EQUAL(dm_msg_validate(&m, DM_MAX_MEMBERS), -DM_EPEER);
        m.target = 0x10000; /* would pass as a u16 */
        CU_ASSERT_EQUAL(dm_msg_validate(&m, DM_MAX_MEMBERS), -DM_EPEER);
        m.target = UINT32_MAX;
        CU_ASSERT_EQUAL(dm_msg_validate(&m, UINT32_MAX), -DM_EPEER);

        /* A PING_REQ asks a third member to probe another: the target is
         * neither the sender nor the relay. An ACK's target may be its
         * sender (a direct answer) and, like a NACK's, is not restricted. */
        int want = t == DM_MSG_PING_REQ ? -DM_EPEER : 0;
        m = make(t);
        m.target = m.from;
        CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), want);
        m.target = m.to;
        CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), want);
    }
}

static void test_validate_peers(void)
{
    dm_msg m = make(DM_MSG_RELEASE);
    m.from = 4;
    CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), -DM_EPEER);
    m.from = 3;
    m.to = 4;
    CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), -DM_EPEER);
    m.to = 3;
    CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), -DM_EPEER); /* from == to */
    m.to = 0;
    CU_ASSERT_EQUAL(dm_msg_validate(&m, 4), 0);
    CU_ASSERT_EQUAL(dm_msg_validate(&m, 3), -DM_EPEER);
    CU_ASSERT_EQUAL(dm_msg_validate(&m, 0), -DM_EPEER);
}

/* m formats as exactly `want`, and says so in its return value. */
static void assert_formats(const dm_msg *m, const char *want)
{
    char buf[256];
    CU_ASSERT_EQUAL(dm_msg_format(m, buf, sizeof buf), (int)strlen(want));
    CU_ASSERT_STRING_EQUAL(buf, want);
}

static void test_format(void)
{
    dm_msg m = make(DM_MSG_REQUEST);
    m.attempt = 0x100000002;
    m.value = 11;
    m.epoch = 0;
    char buf[256];
    assert_formats(&m, "REQUEST 3->0 clock=12 lock=alpha attempt=0x100000002 value=11 epoch=0");

    m = make(DM_MSG_KEPT);
    m.from = 1;
    m.to = 2;
    m.attempt = 0xab;
    m.grant = 7;
    m.value = UINT64_MAX;
    m.round = 9;
    m.epoch = 3;
    assert_formats(&m, "KEPT 1->2 clock=12 lock=alpha attempt=0xab grant=7 "
                       "value=18446744073709551615 round=9 epoch=3");

    /* Only the fields the type uses appear. */
    m = make(DM_MSG_FAILED);
    dm_msg_format(&m, buf, sizeof buf);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "FAILED 3->0"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, " attempt=0x"));
    CU_ASSERT_PTR_NULL(strstr(buf, "grant="));
    CU_ASSERT_PTR_NULL(strstr(buf, "value="));
    CU_ASSERT_PTR_NULL(strstr(buf, "round="));
    CU_ASSERT_PTR_NULL(strstr(buf, "target="));
    CU_ASSERT_PTR_NULL(strstr(buf, "updates="));
}

/* The recovery messages show their fields and nothing else: no lock, no
 * update list for RECOVER and FLOOR; RECOVERING as a lock message. */
static void test_format_recovery(void)
{
    dm_msg m = make(DM_MSG_RECOVER);
    m.value = 5;
    m.epoch = 0;
    assert_formats(&m, "RECOVER 3->0 clock=12 value=5 epoch=0");

    m = make(DM_MSG_FLOOR);
    m.from = 1;
    m.to = 2;
    m.attempt = 0x300000007;
    m.grant = 2048;
    m.value = 5;
    m.round = 1;
    m.epoch = 4;
    m.ballot2 = 0;
    assert_formats(&m, "FLOOR 1->2 clock=12 attempt=0x300000007 grant=2048 value=5 round=1 "
                       "epoch=4 ballot2=0x0");
    m.round = 0;
    m.grant = UINT64_MAX;
    m.ballot2 = 0x30002;
    assert_formats(&m, "FLOOR 1->2 clock=12 attempt=0x300000007 "
                       "grant=18446744073709551615 value=5 round=0 epoch=4 ballot2=0x30002");

    m = make(DM_MSG_RECOVERING);
    m.to = 2;
    m.attempt = 0xab;
    m.value = 1500000;
    m.epoch = 0;
    assert_formats(&m, "RECOVERING 3->2 clock=12 lock=alpha attempt=0xab value=1500000 epoch=0");

    /* A stray name or updates on a recovery message stay out of the line:
     * the type says what is shown (validation is what rejects them). */
    m = make(DM_MSG_FLOOR);
    dm_msg_set_name(&m, "alpha");
    m.n_updates = 1;
    assert_formats(&m, "FLOOR 3->0 clock=12 attempt=0x64 grant=101 value=102 round=1 epoch=105 "
                       "ballot2=0x6b");
}

/* The reconfiguration messages: their fields in table order, ballots and
 * member sets in hex (a ballot reads as round, then the proposer's 4 hex
 * digits); no lock, no updates. */
static void test_format_reconfig(void)
{
    dm_msg m = make(DM_MSG_SEALED);
    m.from = 1;
    m.to = 2;
    m.epoch = 4;
    m.ballot = 0x20001;
    m.ballot2 = 0x10003;
    m.members = 0xf;
    m.grant = 99;
    m.value = 1500000;
    assert_formats(&m, "SEALED 1->2 clock=12 grant=99 value=1500000 epoch=4 ballot=0x20001 "
                       "ballot2=0x10003 members=0xf");
    m = make(DM_MSG_SEAL);
    m.ballot = 0x10003;
    m.epoch = 1;
    assert_formats(&m, "SEAL 3->0 clock=12 epoch=1 ballot=0x10003");
    m = make(DM_MSG_INSTALL);
    m.epoch = 2;
    m.members = 0x8000000000000001ULL;
    m.grant = 0;
    m.value = 0;
    assert_formats(&m, "INSTALL 3->0 clock=12 grant=0 value=0 epoch=2 members=0x8000000000000001");
    m = make(DM_MSG_STALE);
    m.epoch = UINT64_MAX;
    dm_msg_set_name(&m, "alpha"); /* stray, and not shown */
    assert_formats(&m, "STALE 3->0 clock=12 epoch=18446744073709551615");
}

static void test_format_membership(void)
{
    char buf[2048];
    dm_msg m = make(DM_MSG_PING);
    m.value = 7;
    m.updates[0].accuser = 2;
    m.updates[1].member = 5;
    m.updates[1].accuser = 5;
    const char *want = "PING 3->0 clock=12 value=7 updates=[2:suspect@4 5:alive@1]";
    CU_ASSERT_EQUAL(dm_msg_format(&m, buf, sizeof buf), (int)strlen(want));
    CU_ASSERT_STRING_EQUAL(buf, want);

    m = make(DM_MSG_PING_REQ);
    m.n_updates = 0;
    dm_msg_format(&m, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "PING_REQ 3->0 clock=12 value=102 target=2 updates=[]");

    m = make(DM_MSG_ACK);
    m.n_updates = 4;
    m.updates[0] = (dm_member_update){.member = 0, .accuser = 0, .state = DM_MEMBER_ALIVE};
    m.updates[1] = (dm_member_update){
        .member = 1, .accuser = 1, .state = DM_MEMBER_SUSPECT, .incarnation = 1};
    m.updates[2] = (dm_member_update){
        .member = 2, .accuser = 2, .state = DM_MEMBER_DEAD, .incarnation = 2};
    m.updates[3] = (dm_member_update){.member = DM_MAX_MEMBERS - 1,
                                      .accuser = DM_MAX_MEMBERS - 1,
                                      .state = DM_MEMBER_LEFT,
                                      .incarnation = UINT32_MAX};
    dm_msg_format(&m, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "ACK 3->0 clock=12 value=102 target=2 "
                                "updates=[0:alive@0 1:suspect@1 2:dead@2 16383:left@4294967295]");

    m = make(DM_MSG_SYNC);
    m.value = DM_SYNC_REPLY | DM_SYNC_LAST;
    m.n_updates = 1;
    m.updates[0].state = 9; /* invalid, shown as its number */
    dm_msg_format(&m, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "SYNC 3->0 clock=12 value=3 updates=[2:9@4<1]");

    /* All updates appear, however many. */
    m = make(DM_MSG_NACK);
    m.n_updates = DM_MSG_MAX_UPDATES;
    for (size_t i = 0; i < DM_MSG_MAX_UPDATES; i++)
        m.updates[i] = (dm_member_update){.member = (uint16_t)i,
                                          .accuser = (uint16_t)i,
                                          .state = DM_MEMBER_DEAD,
                                          .incarnation = 1};
    int n = dm_msg_format(&m, buf, sizeof buf);
    CU_ASSERT_EQUAL(n, (int)strlen(buf));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "updates=[0:dead@1 1:dead@1 "));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, " 63:dead@1]"));
    CU_ASSERT_PTR_NULL(strstr(buf, "n_updates"));
    CU_ASSERT_PTR_NULL(strstr(buf, " lock="));

    /* A count beyond the array is reported, not followed. */
    m.n_updates = 200;
    dm_msg_format(&m, buf, sizeof buf);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, " n_updates=200 updates=[0:dead@1 "));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, " 63:dead@1]"));
}

/* "<accuser" follows an update exactly when someone other than the member
 * itself declared the state. */
static void test_format_accuser(void)
{
    char buf[512];
    dm_msg m = make(DM_MSG_PING);
    m.value = 7;
    const struct {
        dm_member_update u;
        const char *want;
    } cases[] = {
        {{.member = 2, .accuser = 2, .state = DM_MEMBER_ALIVE, .incarnation = 3}, "2:alive@3"},
        {{.member = 2, .accuser = 4, .state = DM_MEMBER_SUSPECT, .incarnation = 3},
         "2:suspect@3<4"},
        {{.member = 2, .accuser = 0, .state = DM_MEMBER_DEAD, .incarnation = 0}, "2:dead@0<0"},
        {{.member = 0, .accuser = 0, .state = DM_MEMBER_SUSPECT, .incarnation = 0},
         "0:suspect@0"},
        {{.member = 0, .accuser = DM_MAX_MEMBERS - 1, .state = DM_MEMBER_SUSPECT, .incarnation = 1},
         "0:suspect@1<16383"},
        {{.member = DM_MAX_MEMBERS - 1, .accuser = DM_MAX_MEMBERS - 1, .state = DM_MEMBER_LEFT,
          .incarnation = 9},
         "16383:left@9"},
        /* an accuser out of range (an invalid message) is shown as it is */
        {{.member = 1, .accuser = UINT16_MAX, .state = DM_MEMBER_SUSPECT, .incarnation = 2},
         "1:suspect@2<65535"},
        /* an ALIVE declared by another is shown as such, too */
        {{.member = 1, .accuser = 3, .state = DM_MEMBER_ALIVE, .incarnation = 2}, "1:alive@2<3"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        m.n_updates = 1;
        m.updates[0] = cases[i].u;
        char want[128];
        snprintf(want, sizeof want, "PING 3->0 clock=12 value=7 updates=[%s]", cases[i].want);
        CU_ASSERT_EQUAL(dm_msg_format(&m, buf, sizeof buf), (int)strlen(want));
        CU_ASSERT_STRING_EQUAL(buf, want);
    }
    /* Several updates: each gets its own suffix or none. */
    m.n_updates = 3;
    m.updates[0] = cases[0].u;
    m.updates[1] = cases[1].u;
    m.updates[2] = cases[5].u;
    dm_msg_format(&m, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "PING 3->0 clock=12 value=7 "
                                "updates=[2:alive@3 2:suspect@3<4 16383:left@9]");
    /* The longest update there is fits the snprintf contract. */
    m = make(DM_MSG_NACK);
    m.n_updates = DM_MSG_MAX_UPDATES;
    for (size_t i = 0; i < DM_MSG_MAX_UPDATES; i++)
        m.updates[i] = (dm_member_update){.member = DM_MAX_MEMBERS - 1,
                                          .accuser = DM_MAX_MEMBERS - 2,
                                          .state = DM_MEMBER_SUSPECT,
                                          .incarnation = UINT32_MAX};
    int n = dm_msg_format(&m, NULL, 0);
    char *big = g_malloc((size_t)n + 1);
    CU_ASSERT_EQUAL(dm_msg_format(&m, big, (size_t)n + 1), n);
    CU_ASSERT_EQUAL(strlen(big), (size_t)n);
    CU_ASSERT_PTR_NOT_NULL(strstr(big, "updates=[16383:suspect@4294967295<16382 "));
    CU_ASSERT_PTR_NOT_NULL(strstr(big, " 16383:suspect@4294967295<16382]"));
    g_free(big);
}

static void test_format_escapes_and_truncates(void)
{
    dm_msg m = make(DM_MSG_RELEASE);
    dm_msg_set_name(&m, "a b\n\\c=");
    char buf[256];
    int n = dm_msg_format(&m, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "RELEASE 3->0 clock=12 lock=a\\x20b\\x0a\\x5cc= attempt=0x64 "
                                "epoch=105");
    CU_ASSERT_EQUAL(n, (int)strlen(buf));

    /* snprintf contract: the wanted length whatever cap, always terminated. */
    for (size_t cap = 1; cap <= (size_t)n + 1; cap++) {
        char small[256];
        memset(small, 'Z', sizeof small);
        CU_ASSERT_EQUAL(dm_msg_format(&m, small, cap), n);
        CU_ASSERT_EQUAL(strlen(small), cap - 1);
        CU_ASSERT(strncmp(small, buf, cap - 1) == 0);
        CU_ASSERT_EQUAL(small[cap], 'Z');
    }
    CU_ASSERT_EQUAL(dm_msg_format(&m, NULL, 0), n);

    /* An invalid message is shown whole, stray fields and odd name included. */
    m.type = (dm_msg_type)77;
    m.round = 5;
    m.name[1] = '\0';
    dm_msg_format(&m, buf, sizeof buf);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "UNKNOWN 3->0"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\\x00"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, " round=5"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, " target=0"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, " updates=[]"));
    m.n_updates = UINT8_MAX;
    for (size_t i = 0; i < DM_MSG_MAX_UPDATES; i++)
        m.updates[i] =
            (dm_member_update){.member = (uint16_t)i, .accuser = (uint16_t)i, .state = 0xee};
    n = dm_msg_format(&m, NULL, 0);
    char *big = g_malloc((size_t)n + 1);
    CU_ASSERT_EQUAL(dm_msg_format(&m, big, (size_t)n + 1), n);
    CU_ASSERT_PTR_NOT_NULL(strstr(big, " n_updates=255 updates=[0:238@0 "));
    CU_ASSERT_PTR_NOT_NULL(strstr(big, " 63:238@0]"));
    g_free(big);
}

static const CU_TestInfo tests[] = {
    {"type names", test_type_names},
    {"field masks", test_field_masks},
    {"membership types", test_is_membership},
    {"name check", test_name_check},
    {"set name", test_set_name},
    {"validate accepts good messages", test_validate_good},
    {"validate rejects unknown types", test_validate_type},
    {"validate rejects bad names", test_validate_name},
    {"validate rejects unused fields", test_validate_unused_fields},
    {"validate checks field ranges", test_validate_field_ranges},
    {"validate checks recovery messages", test_validate_recovery},
    {"validate checks reconfiguration messages", test_validate_reconfig},
    {"validate checks updates", test_validate_updates},
    {"validate checks accusers", test_validate_accuser},
    {"validate checks targets", test_validate_target},
    {"validate rejects bad peers", test_validate_peers},
    {"format", test_format},
    {"format recovery messages", test_format_recovery},
    {"format reconfiguration messages", test_format_reconfig},
    {"format membership messages", test_format_membership},
    {"format shows accusers", test_format_accuser},
    {"format escapes and truncates", test_format_escapes_and_truncates},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return dm_test_run("message", tests);
}
