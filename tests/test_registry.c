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
    CU_ASSERT_STRING_EQUAL(names, "ae, memberlist, epoch");
    g_free(names);
}

/* Run-time registration: entries join after the built-ins, in order, and
 * are found, listed and counted like them; bad names and taken names are
 * refused and change nothing. */
static void test_registration(void)
{
    static const thing a = { "alpha", 1 }, b = { "beta", 2 };
    static const thing c = { "gamma-2_x", 3 }, dup = { "beta", 9 }, dup2 = { "gamma-2_x", 9 };
    static const thing empty = { "", 0 }, spaced = { "has space", 0 }, eq = { "a=b", 0 },
                       nul = { NULL, 0 };
    static const void *const table[] = { &a, &b };
    dm_registry r = DM_REGISTRY_INIT(table);
    CU_ASSERT_EQUAL(dm_registry_count(&r), 2);
    CU_ASSERT_EQUAL(dm_registry_add(&r, &c), 0);
    CU_ASSERT_EQUAL(dm_registry_add(&r, &dup), -DM_EEXIST);    /* a built-in's name */
    CU_ASSERT_EQUAL(dm_registry_add(&r, &dup2), -DM_EEXIST);   /* a registered one's */
    CU_ASSERT_EQUAL(dm_registry_add(&r, &empty), -DM_EINVAL);
    CU_ASSERT_EQUAL(dm_registry_add(&r, &spaced), -DM_EINVAL);
    CU_ASSERT_EQUAL(dm_registry_add(&r, &eq), -DM_EINVAL);
    CU_ASSERT_EQUAL(dm_registry_add(&r, &nul), -DM_EINVAL);
    CU_ASSERT_EQUAL(dm_registry_add(&r, NULL), -DM_EINVAL);
    CU_ASSERT_EQUAL(dm_registry_count(&r), 3);
    CU_ASSERT_PTR_EQUAL(dm_registry_at(&r, 0), &a);
    CU_ASSERT_PTR_EQUAL(dm_registry_at(&r, 2), &c);
    CU_ASSERT_PTR_NULL(dm_registry_at(&r, 3));
    CU_ASSERT_PTR_EQUAL(dm_registry_find(&r, "gamma-2_x"), &c);
    CU_ASSERT_PTR_EQUAL(dm_registry_find(&r, "beta"), &b);
    CU_ASSERT_PTR_NULL(dm_registry_find(&r, "delta"));
    char *names = dm_registry_list(&r, ",");
    CU_ASSERT_STRING_EQUAL(names, "alpha,beta,gamma-2_x");
    g_free(names);
    g_ptr_array_free(r.added, TRUE);
}

static int one_form(const void *state, const dm_quorum_hint *hint, uint32_t *out, uint32_t cap)
{
    (void)state;
    (void)hint;
    if (cap < 1)
        return -DM_EINVAL;
    out[0] = 0;
    return 1;
}

static bool one_exists(const void *state, const uint8_t *unusable)
{
    (void)state;
    return !unusable || !unusable[0];
}

static int one_create(const uint32_t *ids, uint32_t count, void **state)
{
    (void)ids;
    (void)count;
    *state = NULL;
    return 0;
}

/* The quorum registry takes a user's system: --quorum and config files then
 * find it by name, and name lists show it. */
static void test_quorum_registration(void)
{
    static const dm_quorum_ops dictator = {
        .name = "dictator", .summary = "member 0 alone", .create = one_create,
        .form = one_form, .exists = one_exists,
    };
    static const dm_quorum_ops incomplete = { .name = "incomplete", .create = one_create };
    size_t before = dm_quorum_registered_count();
    CU_ASSERT_EQUAL(dm_quorum_register(&incomplete), -DM_EINVAL);
    CU_ASSERT_EQUAL(dm_quorum_register(&dictator), 0);
    CU_ASSERT_EQUAL(dm_quorum_register(&dm_quorum_tree_ops), -DM_EEXIST);
    CU_ASSERT_EQUAL(dm_quorum_registered_count(), before + 1);
    CU_ASSERT_PTR_EQUAL(dm_quorum_registered(before), &dictator);
    CU_ASSERT_PTR_EQUAL(dm_quorum_lookup("dictator"), &dictator);
    CU_ASSERT_EQUAL(dm_quorum_builtin_count(), before);   /* built-ins stay built-ins */
    char *names = dm_quorum_names(" ");
    CU_ASSERT_STRING_EQUAL(names, "tree majority grid dictator");
    g_free(names);
    static const dm_policy_ops nomembers = { .name = "nomembers" };
    CU_ASSERT_EQUAL(dm_policy_register(&nomembers), -DM_EINVAL);
    CU_ASSERT_EQUAL(dm_policy_register(&dm_policy_ae_ops), -DM_EEXIST);
}

static const CU_TestInfo tests[] = {
    { "lookup and names over any table", test_generic_lookup },
    { "run-time registration", test_registration },
    { "a user's quorum system registered", test_quorum_registration },
    { "quorum systems", test_quorum_registry },
    { "policies", test_policy_registry },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return dm_test_run("registry", tests);
}
