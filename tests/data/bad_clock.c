/* Test data for tests/core-symbols-selftest.sh: an object that does what the
 * core must never do -- read a clock, use global randomness, call libuv -- so
 * that the symbol checker is seen to fail. Archived into tests/libbadclock.a,
 * never linked into a program (the two externs below are never resolved). */
#include <time.h>

extern unsigned int g_random_int(void);
extern int uv_loop_alive(const void *loop);

long long dm_bad_now_ns(void);

long long dm_bad_now_ns(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return -1;
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec
           + (long long)g_random_int() + uv_loop_alive(0);
}
