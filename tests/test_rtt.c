/* Tests of core/rtt: the adaptive retransmission timeout. */
#include <glib.h>

#include "rtt.h"
#include "testlib.h"

#define MS 1000

static void test_initial_until_sampled(void)
{
    dm_rtt_limits l;
    dm_rtt r;
    dm_rtt_limits_init(&l, 200 * MS, 2 * MS, 600 * MS);
    dm_rtt_init(&r);
    CU_ASSERT_FALSE(dm_rtt_measured(&r));
    CU_ASSERT_EQUAL(dm_rtt_rto(&r, &l), 200 * MS);
    /* The initial value is clamped like any other. */
    dm_rtt_limits_init(&l, 10, 2 * MS, 600 * MS);
    dm_rtt_init(&r);
    CU_ASSERT_EQUAL(dm_rtt_rto(&r, &l), 2 * MS);
    dm_rtt_limits_init(&l, 10 * 1000 * MS, 2 * MS, 600 * MS);
    dm_rtt_init(&r);
    CU_ASSERT_EQUAL(dm_rtt_rto(&r, &l), 600 * MS);
}

static void test_first_sample(void)
{
    dm_rtt_limits l;
    dm_rtt r;
    dm_rtt_limits_init(&l, 200 * MS, 1, 10 * 1000 * MS);
    dm_rtt_init(&r);
    dm_rtt_sample(&r, &l, 40 * MS);
    CU_ASSERT(dm_rtt_measured(&r));
    /* RFC 6298: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4 RTTVAR = 3R. */
    CU_ASSERT_EQUAL(r.srtt, 40 * MS);
    CU_ASSERT_EQUAL(r.rttvar, 20 * MS);
    CU_ASSERT_EQUAL(dm_rtt_rto(&r, &l), 120 * MS);
}

static void test_converges_to_steady_round_trip(void)
{
    dm_rtt_limits l;
    dm_rtt r;
    dm_rtt_limits_init(&l, 1000 * MS, 1, 10 * 1000 * MS);
    dm_rtt_init(&r);
    dm_rtt_sample(&r, &l, 900 * MS);    /* a first, misleading sample */
    for (int i = 0; i < 200; i++)
        dm_rtt_sample(&r, &l, 10 * MS);
    CU_ASSERT(r.srtt >= 10 * MS && r.srtt <= 11 * MS);
    CU_ASSERT(dm_rtt_rto(&r, &l) <= 12 * MS);
    CU_ASSERT(dm_rtt_rto(&r, &l) >= 10 * MS);
}

static void test_lan_and_wan(void)
{
    /* One configuration: the timeout follows the path, 100 µs or 400 ms. */
    dm_rtt_limits l;
    dm_rtt lan, wan;
    dm_rtt_limits_init(&l, 200 * MS, 2 * MS, 650 * MS);
    dm_rtt_init(&lan);
    dm_rtt_limits_init(&l, 200 * MS, 2 * MS, 650 * MS);
    dm_rtt_init(&wan);
    for (int i = 0; i < 50; i++) {
        dm_rtt_sample(&lan, &l, 100 + (i % 3) * 20);
        dm_rtt_sample(&wan, &l, 400 * MS + (i % 3) * 5 * MS);
    }
    CU_ASSERT_EQUAL(dm_rtt_rto(&lan, &l), 2 * MS);          /* clamped below */
    CU_ASSERT(dm_rtt_rto(&wan, &l) > 400 * MS);             /* above the round trip */
    CU_ASSERT(dm_rtt_rto(&wan, &l) <= 650 * MS);
}

static void test_backoff_doubles_and_sample_clears(void)
{
    dm_rtt_limits l;
    dm_rtt r;
    dm_rtt_limits_init(&l, 100 * MS, 1 * MS, 1000 * MS);
    dm_rtt_init(&r);
    dm_rtt_timeout(&r);
    CU_ASSERT_EQUAL(dm_rtt_rto(&r, &l), 200 * MS);
    dm_rtt_timeout(&r);
    CU_ASSERT_EQUAL(dm_rtt_rto(&r, &l), 400 * MS);
    dm_rtt_timeout(&r);
    dm_rtt_timeout(&r);
    CU_ASSERT_EQUAL(dm_rtt_rto(&r, &l), 1000 * MS);         /* clamped above */
    for (int i = 0; i < 100; i++)
        dm_rtt_timeout(&r);                             /* no overflow */
    CU_ASSERT_EQUAL(dm_rtt_rto(&r, &l), 1000 * MS);
    dm_rtt_sample(&r, &l, 10 * MS);
    CU_ASSERT_EQUAL(r.backoff, 0);
    CU_ASSERT_EQUAL(dm_rtt_rto(&r, &l), 30 * MS);
}

static void test_zero_and_negative_samples(void)
{
    dm_rtt_limits l;
    dm_rtt r;
    dm_rtt_limits_init(&l, 100 * MS, 1 * MS, 1000 * MS);
    dm_rtt_init(&r);
    dm_rtt_sample(&r, &l, 0);
    CU_ASSERT(dm_rtt_measured(&r));
    CU_ASSERT_EQUAL(dm_rtt_rto(&r, &l), 1 * MS);
    dm_rtt_sample(&r, &l, -5);
    CU_ASSERT(dm_rtt_measured(&r));
    CU_ASSERT(dm_rtt_rto(&r, &l) >= 1 * MS);
}

static void test_jitter_raises_rto(void)
{
    /* Same mean, more deviation: a larger timeout. */
    dm_rtt_limits l;
    dm_rtt steady, jumpy;
    dm_rtt_limits_init(&l, 100 * MS, 1, 10 * 1000 * MS);
    dm_rtt_init(&steady);
    dm_rtt_limits_init(&l, 100 * MS, 1, 10 * 1000 * MS);
    dm_rtt_init(&jumpy);
    for (int i = 0; i < 100; i++) {
        dm_rtt_sample(&steady, &l, 50 * MS);
        dm_rtt_sample(&jumpy, &l, i % 2 ? 20 * MS : 80 * MS);
    }
    CU_ASSERT(dm_rtt_rto(&jumpy, &l) > dm_rtt_rto(&steady, &l) + 50 * MS);
}

static void test_outlier_is_clamped(void)
{
    /* A paused process answering 3 s late must not make the path look like
     * a 3 s one: the sample counts as the cap. */
    dm_rtt_limits l;
    dm_rtt r;
    dm_rtt_limits_init(&l, 100 * MS, 1 * MS, 600 * MS);
    dm_rtt_init(&r);
    for (int i = 0; i < 10; i++)
        dm_rtt_sample(&r, &l, 10 * MS);
    dm_rtt_sample(&r, &l, 3000 * MS);
    CU_ASSERT(r.srtt < 10 * MS + 600 * MS / 8 + 1);
    CU_ASSERT_EQUAL(r.samples, 11);
}

/* The estimates are 32-bit: limits beyond INT32_MAX microseconds are cut to
 * it, and samples at the cap keep SRTT + 4 RTTVAR exact (no wrap). */
static void test_limits_fit_32_bits(void)
{
    dm_rtt_limits l;
    dm_rtt r;
    dm_rtt_limits_init(&l, (int64_t)1 << 40, 1, (int64_t)1 << 40);
    CU_ASSERT_EQUAL(l.max, INT32_MAX);
    CU_ASSERT_EQUAL(l.initial, INT32_MAX);
    dm_rtt_init(&r);
    CU_ASSERT_EQUAL(dm_rtt_rto(&r, &l), INT32_MAX);
    for (int i = 0; i < 300; i++)
        dm_rtt_sample(&r, &l, i % 2 ? 0 : (int64_t)1 << 40);
    CU_ASSERT(r.srtt > 0 && r.rttvar > 0);
    CU_ASSERT_EQUAL(r.samples, UINT8_MAX);              /* saturates */
    CU_ASSERT_EQUAL(dm_rtt_rto(&r, &l), INT32_MAX);
    dm_rtt_limits_init(&l, 5, (int64_t)1 << 40, 7);
    CU_ASSERT_EQUAL(l.min, INT32_MAX);
    CU_ASSERT_EQUAL(l.max, INT32_MAX);
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
    { "limits and estimates fit 32 bits", test_limits_fit_32_bits },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return dm_test_run("rtt", tests);
}
