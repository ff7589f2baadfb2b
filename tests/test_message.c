#include <string.h>
#include <glib.h>

#include "error.h"
#include "message.h"
#include "testlib.h"

/* A valid message of `type` with every field the type uses set non-zero. */
static dm_msg make(int type)
{
    dm_msg m;
    memset(&m, 0, sizeof m);
    m.type = (dm_msg_type)type;
    m.from = 3;
    m.to = 0;
    m.clock = 12;
    dm_msg_set_name(&m, "alpha");
    unsigned used = dm_msg_fields(type);
    for (size_t i = 0; i < DM_FIELD_COUNT; i++)
        if (used & dm_msg_field_table[i].flag)
            dm_msg_field_set(&m, &dm_msg_field_table[i],
                             MIN(100 + i, dm_msg_field_max(type, &dm_msg_field_table[i])));
    return m;
}

static void test_type_names(void)
{
    static const char *const want[] = {
        [DM_MSG_REQUEST] = "REQUEST", [DM_MSG_GRANT] = "GRANT",     [DM_MSG_FAILED] = "FAILED",
        [DM_MSG_INQUIRE] = "INQUIRE", [DM_MSG_YIELD] = "YIELD",     [DM_MSG_RELEASE] = "RELEASE",
        [DM_MSG_KEEP] = "KEEP",       [DM_MSG_KEPT] = "KEPT",       [DM_MSG_REVOKED] = "REVOKED",
    };
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

/* The table of message.h, restated independently. */
static void test_field_masks(void)
{
    const unsigned A = DM_FIELD_ATTEMPT, G = DM_FIELD_GRANT, V = DM_FIELD_VALUE,
                   R = DM_FIELD_ROUND;
    CU_ASSERT_EQUAL(dm_msg_fields(DM_MSG_REQUEST), A | V);
    CU_ASSERT_EQUAL(dm_msg_fields(DM_MSG_GRANT), A | G);
    CU_ASSERT_EQUAL(dm_msg_fields(DM_MSG_FAILED), A);
    CU_ASSERT_EQUAL(dm_msg_fields(DM_MSG_INQUIRE), A | G | V);
    CU_ASSERT_EQUAL(dm_msg_fields(DM_MSG_YIELD), A | G);
    CU_ASSERT_EQUAL(dm_msg_fields(DM_MSG_RELEASE), A);
    CU_ASSERT_EQUAL(dm_msg_fields(DM_MSG_KEEP), A | G | V | R);
    CU_ASSERT_EQUAL(dm_msg_fields(DM_MSG_KEPT), A | G | V | R);
    CU_ASSERT_EQUAL(dm_msg_fields(DM_MSG_REVOKED), A | G);

    /* The field table's accessors reach the struct member they name. */
    dm_msg m;
    memset(&m, 0, sizeof m);
    m.attempt = 1;
    m.grant = 2;
    m.value = 3;
    m.round = 4;
    const unsigned flags[DM_FIELD_COUNT] = {A, G, V, R};
    for (size_t i = 0; i < DM_FIELD_COUNT; i++) {
        CU_ASSERT_EQUAL(dm_msg_field_table[i].flag, flags[i]);
        CU_ASSERT_EQUAL(dm_msg_field_get(&m, &dm_msg_field_table[i]), i + 1);
    }
    dm_msg_field_set(&m, &dm_msg_field_table[3], UINT64_MAX);
    CU_ASSERT_EQUAL(m.round, UINT32_MAX);
    CU_ASSERT_EQUAL(m.value, 3);
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
    }
    /* REQUEST 2, GRANT/YIELD/REVOKED 2 each, INQUIRE 1, FAILED/RELEASE 3 each */
    CU_ASSERT_EQUAL(checked, 2 + 3 * 2 + 1 + 2 * 3);
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

static void test_format(void)
{
    dm_msg m = make(DM_MSG_REQUEST);
    m.attempt = 0x100000002;
    m.value = 11;
    char buf[256];
    const char *want = "REQUEST 3->0 clock=12 lock=alpha attempt=0x100000002 value=11";
    CU_ASSERT_EQUAL(dm_msg_format(&m, buf, sizeof buf), (int)strlen(want));
    CU_ASSERT_STRING_EQUAL(buf, want);

    m = make(DM_MSG_KEPT);
    m.from = 1;
    m.to = 2;
    m.attempt = 0xab;
    m.grant = 7;
    m.value = UINT64_MAX;
    m.round = 9;
    dm_msg_format(&m, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "KEPT 1->2 clock=12 lock=alpha attempt=0xab grant=7 "
                                "value=18446744073709551615 round=9");

    /* Only the fields the type uses appear. */
    m = make(DM_MSG_FAILED);
    dm_msg_format(&m, buf, sizeof buf);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "FAILED 3->0"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, " attempt=0x"));
    CU_ASSERT_PTR_NULL(strstr(buf, "grant="));
    CU_ASSERT_PTR_NULL(strstr(buf, "value="));
    CU_ASSERT_PTR_NULL(strstr(buf, "round="));
}

static void test_format_escapes_and_truncates(void)
{
    dm_msg m = make(DM_MSG_RELEASE);
    dm_msg_set_name(&m, "a b\n\\c=");
    char buf[256];
    int n = dm_msg_format(&m, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "RELEASE 3->0 clock=12 lock=a\\x20b\\x0a\\x5cc= attempt=0x64");
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
}

static const CU_TestInfo tests[] = {
    {"type names", test_type_names},
    {"field masks", test_field_masks},
    {"name check", test_name_check},
    {"set name", test_set_name},
    {"validate accepts good messages", test_validate_good},
    {"validate rejects unknown types", test_validate_type},
    {"validate rejects bad names", test_validate_name},
    {"validate rejects unused fields", test_validate_unused_fields},
    {"validate checks field ranges", test_validate_field_ranges},
    {"validate rejects bad peers", test_validate_peers},
    {"format", test_format},
    {"format escapes and truncates", test_format_escapes_and_truncates},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return dm_test_run("message", tests);
}
