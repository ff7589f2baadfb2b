/* dmutex tests: the shared CUnit runner (see testlib.h). */
#include "testlib.h"

#include <stdio.h>
#include <CUnit/Basic.h>

/* Counts what went wrong in the run that just finished. */
static unsigned run_problems(void)
{
    const CU_RunSummary *s = CU_get_run_summary();
    unsigned n = CU_get_number_of_failures();

    if (s != NULL)
        n += s->nSuitesFailed;
    return n;
}

/* Runs the registered suites (all, or those named in names[0..count)),
 * then tears the registry down. */
static int run_registered(const char *prog, char **names, int count)
{
    unsigned problems = 0;
    int cu_error = 0;

    CU_basic_set_mode(CU_BRM_VERBOSE);
    if (count == 0) {
        if (CU_basic_run_tests() != CUE_SUCCESS)
            cu_error = 1;
        problems += run_problems();
    }
    for (int i = 0; i < count; i++) {
        CU_pSuite suite = CU_get_suite(names[i]);

        if (suite == NULL) {
            fprintf(stderr, "%s: no suite named '%s'\n", prog, names[i]);
            cu_error = 1;
            continue;
        }
        if (CU_basic_run_suite(suite) != CUE_SUCCESS)
            cu_error = 1;
        problems += run_problems();
    }
    if (CU_get_error() != CUE_SUCCESS) {
        fprintf(stderr, "%s: CUnit error: %s\n", prog, CU_get_error_msg());
        cu_error = 1;
    }
    CU_cleanup_registry();
    return (problems > 0 || cu_error) ? 1 : 0;
}

int dm_test_main(int argc, char **argv, CU_SuiteInfo *suites)
{
    const char *prog = (argc > 0 && argv[0] != NULL) ? argv[0] : "test";

    if (CU_initialize_registry() != CUE_SUCCESS) {
        fprintf(stderr, "%s: CUnit: %s\n", prog, CU_get_error_msg());
        return 1;
    }
    if (CU_register_suites(suites) != CUE_SUCCESS) {
        fprintf(stderr, "%s: CUnit: %s\n", prog, CU_get_error_msg());
        CU_cleanup_registry();
        return 1;
    }
    return run_registered(prog, argc > 1 ? argv + 1 : NULL, argc > 1 ? argc - 1 : 0);
}

int dm_test_run(const char *suite_name, const CU_TestInfo *tests)
{
    CU_SuiteInfo suites[] = {
        /* CUnit never writes through pTests; its struct just lacks const. */
        { suite_name, NULL, NULL, NULL, NULL, (CU_TestInfo *)tests },
        CU_SUITE_INFO_NULL,
    };
    char *argv[] = { (char *)suite_name, NULL };

    return dm_test_main(1, argv, suites);
}
