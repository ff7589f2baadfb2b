#include <limits.h>
#include <string.h>

#include "error.h"
#include "testlib.h"

static void test_every_code_described(void)
{
    for (int c = 0; c < DM_ERROR_COUNT; c++) {
        const char *name = dm_error_name(c);
        const char *text = dm_strerror(c);
        CU_ASSERT_PTR_NOT_NULL_FATAL(name);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        CU_ASSERT(strncmp(name, "DM_", 3) == 0 && strlen(name) > 3);
        CU_ASSERT(strlen(text) > 0);
        CU_ASSERT_STRING_NOT_EQUAL(name, "DM_E?");
        CU_ASSERT_STRING_NOT_EQUAL(text, "unknown error");
    }
}

static void test_codes_distinct(void)
{
    for (int a = 0; a < DM_ERROR_COUNT; a++)
        for (int b = a + 1; b < DM_ERROR_COUNT; b++) {
            CU_ASSERT_STRING_NOT_EQUAL(dm_error_name(a), dm_error_name(b));
            CU_ASSERT_STRING_NOT_EQUAL(dm_strerror(a), dm_strerror(b));
        }
}

static void test_sign_agnostic(void)
{
    for (int c = 0; c < DM_ERROR_COUNT; c++) {
        CU_ASSERT_STRING_EQUAL(dm_error_name(-c), dm_error_name(c));
        CU_ASSERT_STRING_EQUAL(dm_strerror(-c), dm_strerror(c));
    }
    CU_ASSERT_STRING_EQUAL(dm_error_name(-DM_ETIMEDOUT), "DM_ETIMEDOUT");
    CU_ASSERT_STRING_EQUAL(dm_error_name(DM_EPEER), "DM_EPEER");
    CU_ASSERT_STRING_EQUAL(dm_error_name(0), "DM_OK");
}

static void test_out_of_range(void)
{
    const int bad[] = {DM_ERROR_COUNT, -DM_ERROR_COUNT, 1000, -1000, INT_MAX, INT_MIN};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_STRING_EQUAL(dm_error_name(bad[i]), "DM_E?");
        CU_ASSERT_STRING_EQUAL(dm_strerror(bad[i]), "unknown error");
    }
}

static const CU_TestInfo tests[] = {
    {"every code described", test_every_code_described},
    {"codes distinct", test_codes_distinct},
    {"sign agnostic", test_sign_agnostic},
    {"out of range", test_out_of_range},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return dm_test_run("error", tests);
}
