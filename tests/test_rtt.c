/* Tests of core/rtt: the adaptive retransmission timeout. */
#include <glib.h>

#include "rtt.h"
#include "testlib.h"

#define MS 1000

static void test_initial_until_sampled(void)
{
    dm_rtt r;
    dm_rtt_init(&r, 200 * MS, 2 * MS, 600 * MS);
    CU_ASSERT_FALSE(dm_rtt_measured(&r));
    CU_ASSERT_EQUAL(dm_rtt_rto(&r), 200 * MS);
    /* The initial value is clamped like any other. */
    dm_rtt_init(&r, 10, 2 * MS, 600 * MS);
    CU_ASSERT_EQUAL(dm_rtt_rto(&r), 2 * MS);
    dm_rtt_init(&r, 10 * 1000 * MS, 2 * MS, 600 * MS);
    CU_ASSERT_EQUAL(dm_rtt_rto(&r), 600 * MS);
}

static void test_first_sample(void)
{
    dm_rtt r;
    dm_rtt_init(&r, 200 * MS, 1, 10 * 1000 * MS);
    dm_rtt_sample(&r, 40 * MS);
    CU_ASSERT(dm_rtt_measured(&r));
    /* RFC 6298: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4 RTTVAR = 3R. */
    CU_ASSERT_EQUAL(r.srtt, 40 * MS);
    CU_ASSERT_EQUAL(r.rttvar, 20 * MS);
    CU_ASSERT_EQUAL(dm_rtt_rto(&r), 120 * MS);
}

static void test_converges_to_steady_round_trip(void)
{
    dm_rtt r;
    dm_rtt_init(&r, 1000 * MS, 1, 10 * 1000 * MS);
    dm_rtt_sample(&r, 900 * MS);    /* a first, misleading sample */
    for (int i = 0; i < 200; i++)
        dm_rtt_sample(&r, 10 * MS);
    CU_ASSERT(r.srtt >= 10 * MS && r.srtt <= 11 * MS);
    CU_ASSERT(dm_rtt_rto(&r) <= 12 * MS);
    CU_ASSERT(dm_rtt_rto(&r) >= 10 * MS);
}

static void test_lan_and_wan(void)
{
    /* One configuration: the timeout follows the path, 100 µs or 400 ms. */
    dm_rtt lan, wan;
    dm_rtt_init(&lan, 200 * MS, 2 * MS, 650 * MS);
    dm_rtt_init(&wan, 200 * MS, 2 * MS, 650 * MS);
    for (int i = 0; i < 50; i++) {
        dm_rtt_sample(&lan, 100 + (i % 3) * 20);
        dm_rtt_sample(&wan, 400 * MS + (i % 3) * 5 * MS);
    }
    CU_ASSERT_EQUAL(dm_rtt_rto(&lan), 2 * MS);          /* clamped below */
    CU_ASSERT(dm_rtt_rto(&wan) > 400 * MS);             /* above the round trip */
    CU_ASSERT(dm_rtt_rto(&wan) <= 650 * MS);
}

static void test_backoff_doubles_and_sample_clears(void)
{
    dm_rtt r;
    dm_rtt_init(&r, 100 * MS, 1 * MS, 1000 * MS);
    dm_rtt_timeout(&r);
    CU_ASSERT_EQUAL(dm_rtt_rto(&r), 200 * MS);
    dm_rtt_timeout(&r);
    CU_ASSERT_EQUAL(dm_rtt_rto(&r), 400 * MS);
    dm_rtt_timeout(&r);
    dm_rtt_timeout(&r);
    CU_ASSERT_EQUAL(dm_rtt_rto(&r), 1000 * MS);         /* clamped above */
    for (int i = 0; i < 100; i++)
        dm_rtt_timeout(&r);                             /* no overflow */
    CU_ASSERT_EQUAL(dm_rtt_rto(&r), 1000 * MS);
    dm_rtt_sample(&r, 10 * MS);
    CU_ASSERT_EQUAL(r.backoff, 0);
    CU_ASSERT_EQUAL(dm_rtt_rto(&r), 30 * MS);
}

static void test_zero_and_negative_samples(void)
{
    dm_rtt r;
    dm_rtt_init(&r, 100 * MS, 1 * MS, 1000 * MS);
    dm_rtt_sample(&r, 0);
    CU_ASSERT(dm_rtt_measured(&r));
    CU_ASSERT_EQUAL(dm_rtt_rto(&r), 1 * MS);
    dm_rtt_sample(&r, -5);
    CU_ASSERT(dm_rtt_measured(&r));
    CU_ASSERT(dm_rtt_rto(&r) >= 1 * MS);
}

static void test_jitter_raises_rto(void)
{
    /* Same mean, more deviation: a larger timeout. */
    dm_rtt steady, jumpy;
    dm_rtt_init(&steady, 100 * MS, 1, 10 * 1000 * MS);
    dm_rtt_init(&jumpy, 100 * MS, 1, 10 * 1000 * MS);
    for (int i = 0; i < 100; i++) {
        dm_rtt_sample(&steady, 50 * MS);
        dm_rtt_sample(&jumpy, i % 2 ? 20 * MS : 80 * MS);
    }
    CU_ASSERT(dm_rtt_rto(&jumpy) > dm_rtt_rto(&steady) + 50 * MS);
}

static void test_outlier_is_clamped(void)
{
    /* A paused process answering 3 s late must not make the path look like
     * a 3 s one: the sample counts as the cap. */
    dm_rtt r;
    dm_rtt_init(&r, 100 * MS, 1 * MS, 600 * MS);
    for (int i = 0; i < 10; i++)
        dm_rtt_sample(&r, 10 * MS);
    dm_rtt_sample(&r, 3000 * MS);
    CU_ASSERT(r.srtt < 10 * MS + 600 * MS / 8 + 1);
    CU_ASSERT_EQUAL(r.samples, 11);
}

static const CU_TestInfo tests[] = {
    { "the initial value until a sample", test_initial_until_sampled },
    { "the first sample (RFC 6298)", test_first_sample },
    { "converges to a steady round trip", test_converges_to_steady_round_trip },
    { "one configuration for a LAN and a WAN", test_lan_and_wan },
    { "back-off doubles, a sample clears it", test_backoff_doubles_and_sample_clears },
    { "zero and negative samples", test_zero_and_negative_samples },
    { "jitter raises the timeout", test_jitter_raises_rto },
    { "an outlier counts as the cap", test_outlier_is_clamped },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return dm_test_run("rtt", tests);
}
