/* tests: configuration agreement (core/confagree.h) -- which settings are
 * compared, how a difference is named, and the HELLO frame's codec (round
 * trip, every truncation and bad field refused, random noise never read
 * out of bounds). */
#include <glib.h>
#include <string.h>

#include "codec.h"
#include "confagree.h"
#include "confkeys.h"
#include "error.h"
#include "policy.h"
#include "testlib.h"

static const char *const three[] = { "10.0.0.2:7946", "10.0.0.1:7946", "10.0.0.3:7946" };

static void describe(dm_config *c, const char *const *members, uint32_t n, dm_agree *out)
{
    c->n_members = n;
    dm_agree_describe(c, members[0], members, n, out);
}

static const char *value_of(const dm_agree *a, const char *name)
{
    for (uint32_t i = 0; i < a->n_items; i++)
        if (strcmp(a->items[i].name, name) == 0)
            return a->items[i].value;
    return NULL;
}

static void test_settings(void)
{
    dm_config c;
    dm_config_defaults(&c);
    dm_agree a;
    describe(&c, three, 3, &a);
    CU_ASSERT_STRING_EQUAL(a.address, "10.0.0.2:7946");
    CU_ASSERT_STRING_EQUAL(value_of(&a, "lease"), "10s");
    CU_ASSERT_STRING_EQUAL(value_of(&a, "policy"), "ae");
    CU_ASSERT_STRING_EQUAL(value_of(&a, "quorum"), "tree");
    CU_ASSERT_STRING_EQUAL(value_of(&a, "drift_ppm"), "10000");
    CU_ASSERT_STRING_EQUAL(value_of(&a, "spread"), "true");
    CU_ASSERT_STRING_EQUAL(value_of(&a, "swim.enabled"), "true");
    CU_ASSERT_PTR_NOT_NULL(value_of(&a, "members"));
    CU_ASSERT_PTR_NOT_NULL(strstr(value_of(&a, "members"), "3 members, digest "));
    /* Local settings are not compared. */
    CU_ASSERT_PTR_NULL(value_of(&a, "lost_margin"));
    CU_ASSERT_PTR_NULL(value_of(&a, "rpc_timeout"));
    CU_ASSERT_PTR_NULL(value_of(&a, "token_stride"));

    /* The member set: any order, the same digest; another set, another. */
    static const char *const same[] = { "10.0.0.3:7946", "10.0.0.2:7946", "10.0.0.1:7946" };
    static const char *const other[] = { "10.0.0.1:7946", "10.0.0.2:7946", "10.0.0.4:7946" };
    static const char *const four[] = { "10.0.0.1:7946", "10.0.0.2:7946", "10.0.0.3:7946",
                                        "10.0.0.4:7946" };
    dm_agree b;
    describe(&c, same, 3, &b);
    CU_ASSERT_EQUAL(dm_agree_compare(&a, &b, NULL, NULL), 0);
    describe(&c, other, 3, &b);
    GString *names = g_string_new(NULL), *what = g_string_new(NULL);
    CU_ASSERT_EQUAL(dm_agree_compare(&a, &b, what, names), 1);
    CU_ASSERT_STRING_EQUAL(names->str, "members");
    describe(&c, four, 4, &b);
    g_string_truncate(what, 0);
    CU_ASSERT_EQUAL(dm_agree_compare(&a, &b, what, NULL), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(what->str, "members: 4 members, digest "));
    CU_ASSERT_PTR_NOT_NULL(strstr(what->str, " there, 3 members, digest "));

    /* A different lease and drift bound: both named, with both values. */
    dm_config d = c;
    d.lease_us = 5 * G_USEC_PER_SEC;
    d.drift_ppm = 500;
    describe(&d, three, 3, &b);
    g_string_truncate(names, 0);
    g_string_truncate(what, 0);
    CU_ASSERT_EQUAL(dm_agree_compare(&a, &b, what, names), 2);
    CU_ASSERT_STRING_EQUAL(names->str, "lease,drift_ppm");
    CU_ASSERT_STRING_EQUAL(what->str, "lease: 5s there, 10s here; drift_ppm: 500 there, 10000 here");
    /* Local settings may differ. */
    d = c;
    d.rpc_timeout_us = 2000;
    d.lost_margin_us = 0;
    d.token_stride = 7;
    describe(&d, three, 3, &b);
    CU_ASSERT_EQUAL(dm_agree_compare(&a, &b, NULL, NULL), 0);

    /* Under a policy that changes configurations at run time, the member
     * set is the epoch machinery's business: not compared. */
    d = c;
    d.policy = &dm_policy_epoch_ops;
    describe(&d, three, 3, &b);
    CU_ASSERT_PTR_NULL(value_of(&b, "members"));
    dm_agree e;
    describe(&d, four, 4, &e);
    CU_ASSERT_EQUAL(dm_agree_compare(&b, &e, NULL, NULL), 0);
    /* ... and against an ae node both the policy and the member set differ. */
    g_string_truncate(names, 0);
    CU_ASSERT_EQUAL(dm_agree_compare(&a, &b, NULL, names), 2);
    CU_ASSERT_STRING_EQUAL(names->str, "policy,members");
    g_string_free(names, TRUE);
    g_string_free(what, TRUE);
}

static void test_codec(void)
{
    dm_config c;
    dm_config_defaults(&c);
    dm_agree a, b;
    describe(&c, three, 3, &a);
    a.reply = true;
    uint8_t buf[DM_FRAME_MAX];
    int len = dm_agree_encode(&a, 2, buf, sizeof buf);
    CU_ASSERT_FATAL(len > DM_FRAME_HEADER);
    CU_ASSERT_EQUAL(dm_codec_frame_length(buf, (size_t)len), len);
    CU_ASSERT_TRUE(dm_agree_is_hello(buf, (size_t)len));
    CU_ASSERT_EQUAL(dm_agree_decode(buf, (size_t)len, &b), len);
    CU_ASSERT_STRING_EQUAL(b.address, a.address);
    CU_ASSERT_TRUE(b.reply);
    CU_ASSERT_EQUAL(b.n_items, a.n_items);
    CU_ASSERT_EQUAL(dm_agree_compare(&a, &b, NULL, NULL), 0);
    /* No dm_msg decoder takes it for a message. */
    dm_msg m;
    CU_ASSERT_EQUAL(dm_codec_decode(buf, (size_t)len, &m), -DM_ETYPE);

    /* Every truncation is refused, never read past. */
    for (int cut = 0; cut < len; cut++)
        CU_ASSERT_TRUE(dm_agree_decode(buf, (size_t)cut, &b) < 0);
    /* Bad fields. */
    uint8_t bad[DM_FRAME_MAX];
    memcpy(bad, buf, (size_t)len);
    bad[4] = 1;
    CU_ASSERT_EQUAL(dm_agree_decode(bad, (size_t)len, &b), -DM_EVERSION);
    memcpy(bad, buf, (size_t)len);
    bad[5] = 1;
    CU_ASSERT_EQUAL(dm_agree_decode(bad, (size_t)len, &b), -DM_ETYPE);
    memcpy(bad, buf, (size_t)len);
    bad[DM_FRAME_HEADER] = 9;                 /* hello version */
    CU_ASSERT_EQUAL(dm_agree_decode(bad, (size_t)len, &b), -DM_EMALFORMED);
    memcpy(bad, buf, (size_t)len);
    bad[DM_FRAME_HEADER + 2] = 0;             /* empty address */
    CU_ASSERT_EQUAL(dm_agree_decode(bad, (size_t)len, &b), -DM_EMALFORMED);
    memcpy(bad, buf, (size_t)len);
    bad[3] = (uint8_t)(len - 1);              /* length prefix one short */
    CU_ASSERT_EQUAL(dm_agree_decode(bad, (size_t)len, &b), -DM_EMALFORMED);
    /* Bytes after the frame are the caller's. */
    memcpy(bad, buf, (size_t)len);
    bad[len] = 0xff;
    CU_ASSERT_EQUAL(dm_agree_decode(bad, (size_t)len + 1, &b), len);

    /* Too long to encode. */
    dm_agree big = a;
    memset(big.address, 'x', DM_AGREE_ADDR_MAX);
    big.address[DM_AGREE_ADDR_MAX] = '\0';
    CU_ASSERT_TRUE(dm_agree_encode(&big, 0, buf, sizeof buf) > 0);
    CU_ASSERT_EQUAL(dm_agree_encode(&big, 0, buf, 100), -DM_EINVAL);

    /* Noise: bounded, never crashes (ASan would say). */
    GRand *r = g_rand_new_with_seed(15);
    for (int i = 0; i < 20000; i++) {
        memcpy(bad, buf, (size_t)len);
        int flips = g_rand_int_range(r, 1, 6);
        for (int f = 0; f < flips; f++)
            bad[g_rand_int_range(r, 0, len)] ^= (uint8_t)(1u << g_rand_int_range(r, 0, 8));
        int rc = dm_agree_decode(bad, (size_t)g_rand_int_range(r, 0, len + 1), &b);
        CU_ASSERT_TRUE(rc < 0 || rc <= len);
    }
    g_rand_free(r);
}

static CU_TestInfo tests[] = {
    { "settings compared, differences named", test_settings },
    { "HELLO codec", test_codec },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return dm_test_run("confagree", tests);
}
