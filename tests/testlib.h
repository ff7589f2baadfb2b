/* dmutex tests: the one CUnit runner every suite in tests/ uses.
 *
 * Each test program (tests/test_<module>.c) defines its tests and hands them
 * to one of the two entry points below from main(); both register the
 * suite(s), run them with CUnit's basic interface in CU_BRM_VERBOSE mode
 * (every test is named in the log, every failed assertion is shown with
 * file:line), print CUnit's run summary, clean the registry up, and return
 * the process exit status for `make check`:
 *   0  every test ran and passed;
 *   1  an assertion failed, a suite's init/cleanup failed, or CUnit itself
 *      reported an error (registration, memory, ...).
 *
 * One suite per module (DESIGN.md section 7):
 *
 *     #include "testlib.h"
 *
 *     static void test_roundtrip(void) { CU_ASSERT_EQUAL(1 + 1, 2); }
 *
 *     static const CU_TestInfo tests[] = {
 *         { "roundtrip", test_roundtrip },
 *         CU_TEST_INFO_NULL,
 *     };
 *
 *     int main(void) { return dm_test_run("codec", tests); }
 *
 * Several suites, or suites with init/cleanup or setup/teardown functions:
 *
 *     static CU_SuiteInfo suites[] = {
 *         { "codec", NULL, NULL, NULL, NULL, codec_tests },
 *         { "codec-fuzz", fuzz_init, fuzz_cleanup, NULL, NULL, fuzz_tests },
 *         CU_SUITE_INFO_NULL,
 *     };
 *
 *     int main(int argc, char **argv) { return dm_test_main(argc, argv, suites); }
 *
 * `tests/test_codec codec-fuzz` then runs only the named suite(s).
 */
#ifndef DMUTEX_TESTS_TESTLIB_H
#define DMUTEX_TESTS_TESTLIB_H

#include <CUnit/CUnit.h>

/* Run one suite named `suite_name` made of `tests`, an array terminated by
 * CU_TEST_INFO_NULL. Returns the exit status described above. */
int dm_test_run(const char *suite_name, const CU_TestInfo *tests);

/* Run the suites of `suites`, an array terminated by CU_SUITE_INFO_NULL: all
 * of them when argc <= 1, otherwise only those named by argv[1..] (an unknown
 * name is an error). Returns the exit status described above. */
int dm_test_main(int argc, char **argv, CU_SuiteInfo *suites);

#endif
