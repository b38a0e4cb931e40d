/* A node's share of a rate limit (modules/wcim_ratelimit.c). */
#include <apr_strings.h>

#include "unit_tests.h"
#include "../modules/wcim_ratelimit.h"

/* Calls reserved at `rate`/s with a burst of `burst`, all asking at
 * `now`: how many may go within the first second. */
static int calls_in_first_second(wcim_ratelimit_t *rl, double rate,
                                 int burst, apr_time_t now, int asked)
{
    apr_interval_time_t wait;
    int i, n = 0;

    for (i = 0; i < asked; ++i) {
        if (wcim_ratelimit_reserve(&wait, rl, rate, burst, now,
                                   apr_time_from_sec(60)) == APR_SUCCESS
            && wait < apr_time_from_sec(1)) {
            ++n;
        }
    }
    return n;
}

void test_ratelimit(apr_pool_t *p)
{
    apr_time_t now = apr_time_from_sec(1700000000);
    apr_interval_time_t wait, last = -1;
    wcim_ratelimit_t *rl = wcim_ratelimit_create(p);
    apr_status_t rv;
    int i, spaced = 1;

    /* 90/s with a burst of 10: 10 at once, then one each 1/90 s */
    for (i = 0; i < 10; ++i) {
        rv = wcim_ratelimit_reserve(&wait, rl, 90, 10, now, 0);
        CHECK(rv == APR_SUCCESS && wait == 0, "the burst goes at once");
    }
    rv = wcim_ratelimit_reserve(&wait, rl, 90, 10, now, 0);
    CHECK(rv == APR_TIMEUP && wait > 0 && wait <= 11112,
          apr_psprintf(p, "the 11th waits one interval, refused without "
                       "a wait allowed (%" APR_INT64_T_FMT " us)", wait));
    for (i = 0; i < 200; ++i) {
        rv = wcim_ratelimit_reserve(&wait, rl, 90, 10, now,
                                    apr_time_from_sec(5));
        if (rv != APR_SUCCESS || (last >= 0 && wait - last < 11110)) {
            spaced = 0;
        }
        last = wait;
    }
    CHECK(spaced, "later calls are spaced by the interval");
    CHECK(last > apr_time_from_sec(2) && last < apr_time_from_sec(3),
          apr_psprintf(p, "the 210th call of a burst of 10 at 90/s waits "
                       "~2.2 s (%" APR_INT64_T_FMT " us)", last));
    rv = wcim_ratelimit_reserve(&wait, rl, 90, 10, now,
                                apr_time_from_sec(1));
    CHECK(rv == APR_TIMEUP, "a wait past max_wait reserves nothing");
    rv = wcim_ratelimit_reserve(&wait, rl, 90, 10, now + apr_time_from_sec(10),
                                0);
    CHECK(rv == APR_SUCCESS && wait == 0, "an idle limiter lets a call go");

    /* within any one second: the rate plus the burst, never more */
    CHECK(calls_in_first_second(wcim_ratelimit_create(p), 180, 20, now, 1000)
          <= 200, "at 180/s + 20 at once, at most 200 within a second");
    CHECK(calls_in_first_second(wcim_ratelimit_create(p), 180, 20, now, 1000)
          >= 199, "... and the limiter lets that many through");
    rv = wcim_ratelimit_reserve(&wait, rl, 0, 1, now, 0);
    CHECK(rv == APR_SUCCESS && wait == 0, "rate 0: no limit");

    /* a clock set back by a year does not stop every call for a year */
    rl = wcim_ratelimit_create(p);
    wcim_ratelimit_reserve(&wait, rl, 1, 1, now, 0);
    rv = wcim_ratelimit_reserve(&wait, rl, 1, 1,
                                now - apr_time_from_sec(365 * 86400), 0);
    CHECK(rv == APR_SUCCESS && wait == 0, "a clock set back");
}
