/* A node's share of a rate limit (wcim_ratelimit.h). */
#include <apr_atomic.h>
#include <string.h>

#include "wcim_ratelimit.h"

/* The theoretical arrival time: when the call after the last one reserved
 * may go at the rate, in microseconds of apr_time_t. A call may go
 * (burst - 1) intervals before it, which lets a burst through at once and
 * then spaces calls by the interval. */
struct wcim_ratelimit_t {
    volatile apr_uint64_t tat;
};

#define CLOCK_STEP apr_time_from_sec(86400)

apr_size_t wcim_ratelimit_size(void)
{
    return APR_ALIGN_DEFAULT(sizeof(wcim_ratelimit_t));
}

wcim_ratelimit_t *wcim_ratelimit_at(void *mem)
{
    memset(mem, 0, sizeof(wcim_ratelimit_t));
    return mem;
}

wcim_ratelimit_t *wcim_ratelimit_create(apr_pool_t *p)
{
    return wcim_ratelimit_at(apr_palloc(p, sizeof(wcim_ratelimit_t)));
}

apr_status_t wcim_ratelimit_reserve(apr_interval_time_t *pwait,
                                    wcim_ratelimit_t *rl, double per_sec,
                                    int burst, apr_time_t now,
                                    apr_interval_time_t max_wait)
{
    apr_uint64_t seen, tat, next;
    apr_int64_t interval, tolerance, at;

    *pwait = 0;
    if (per_sec <= 0) {
        return APR_SUCCESS;
    }
    interval = (apr_int64_t)(1e6 / per_sec);
    if (interval < 1) {
        interval = 1;
    }
    tolerance = interval * (burst > 1 ? burst - 1 : 0);
    for (;;) {
        tat = seen = apr_atomic_read64(&rl->tat);
        /* the earliest this call conforms, not before now; a moment more
         * than a day ahead is a clock set back, not a queue */
        at = (apr_int64_t)tat - tolerance;
        if (at - now > CLOCK_STEP) {
            at = now;
            tat = (apr_uint64_t)now;
        }
        if (at < now) {
            at = now;
        }
        if (at - now > max_wait) {
            *pwait = at - now;
            return APR_TIMEUP;
        }
        next = (apr_uint64_t)(((apr_int64_t)tat > at ? (apr_int64_t)tat : at)
                              + interval);
        if (apr_atomic_cas64(&rl->tat, next, seen) == seen) {
            *pwait = at - now;
            return APR_SUCCESS;
        }
    }
}
