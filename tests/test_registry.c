/* Tests of core/registry and the two registries built on it (quorum
 * systems, policies): lookup by name, the built-in order, the name lists
 * that usage messages show. */
#include <glib.h>
#include <string.h>

#include "error.h"
#include "policy.h"
#include "quorum.h"
#include "registry.h"
#include "testlib.h"

typedef struct thing {
    const char *name;
    int value;
} thing;

static void test_generic_lookup(void)
{
    static const thing a = { "alpha", 1 }, b = { "beta", 2 };
    const void *const table[] = { &a, &b };
    CU_ASSERT_PTR_EQUAL(dm_registry_lookup(table, 2, "beta"), &b);
    CU_ASSERT_PTR_EQUAL(dm_registry_lookup(table, 2, "alpha"), &a);
    CU_ASSERT_PTR_NULL(dm_registry_lookup(table, 2, "gamma"));
    CU_ASSERT_PTR_NULL(dm_registry_lookup(table, 2, "alph"));
    CU_ASSERT_PTR_NULL(dm_registry_lookup(table, 2, NULL));
    CU_ASSERT_PTR_NULL(dm_registry_lookup(table, 0, "alpha"));
    char *names = dm_registry_names(table, 2, " | ");
    CU_ASSERT_STRING_EQUAL(names, "alpha | beta");
    g_free(names);
    names = dm_registry_names(table, 0, ", ");
    CU_ASSERT_STRING_EQUAL(names, "");
    g_free(names);
}

static void test_quorum_registry(void)
{
    CU_ASSERT_PTR_EQUAL(dm_quorum_builtin(0), &dm_quorum_tree_ops);   /* the default first */
    CU_ASSERT_PTR_NULL(dm_quorum_builtin(dm_quorum_builtin_count()));
    for (size_t i = 0; i < dm_quorum_builtin_count(); i++) {
        const dm_quorum_ops *q = dm_quorum_builtin(i);
        CU_ASSERT_PTR_EQUAL(dm_quorum_lookup(q->name), q);
        CU_ASSERT_PTR_NOT_NULL(q->summary);
    }
    CU_ASSERT_PTR_NULL(dm_quorum_lookup("pyramid"));
    char *names = dm_quorum_names(", ");
    CU_ASSERT_PTR_NOT_NULL(strstr(names, "tree"));
    CU_ASSERT_PTR_NOT_NULL(strstr(names, "majority"));
    CU_ASSERT_PTR_NOT_NULL(strstr(names, "grid"));
    g_free(names);
}

static void test_policy_registry(void)
{
    CU_ASSERT_PTR_EQUAL(dm_policy_builtin(0), &dm_policy_ae_ops);
    CU_ASSERT_STRING_EQUAL(dm_policy_name(NULL), "ae");
    CU_ASSERT_STRING_EQUAL(dm_policy_name(&dm_policy_memberlist_ops), "memberlist");
    const dm_policy_ops *p = NULL;
    CU_ASSERT_EQUAL(dm_policy_parse("memberlist", &p), 0);
    CU_ASSERT_PTR_EQUAL(p, &dm_policy_memberlist_ops);
    CU_ASSERT_EQUAL(dm_policy_parse("raft", &p), -DM_EINVAL);
    CU_ASSERT_PTR_EQUAL(p, &dm_policy_memberlist_ops);   /* untouched on failure */
    CU_ASSERT_EQUAL(dm_policy_parse(NULL, &p), -DM_EINVAL);
    CU_ASSERT_FALSE(dm_policy_ae_ops.needs_membership);
    CU_ASSERT_TRUE(dm_policy_memberlist_ops.needs_membership);
    char *names = dm_policy_names(", ");
    CU_ASSERT_STRING_EQUAL(names, "ae, memberlist");
    g_free(names);
}

static const CU_TestInfo tests[] = {
    { "lookup and names over any table", test_generic_lookup },
    { "quorum systems", test_quorum_registry },
    { "policies", test_policy_registry },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return dm_test_run("registry", tests);
}
