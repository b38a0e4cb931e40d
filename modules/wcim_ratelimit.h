/* A node's share of a rate limit, kept by every httpd child together in
 * memory they share: each call reserves the next free moment at the rate
 * (the generic cell rate algorithm, one 64-bit word changed with
 * compare-and-swap) and waits until then. Knows nothing of httpd. */
#ifndef WCIM_RATELIMIT_H
#define WCIM_RATELIMIT_H

#include <apr_pools.h>
#include <apr_time.h>

typedef struct wcim_ratelimit_t wcim_ratelimit_t;

/* Bytes one limiter takes in memory the caller provides. */
apr_size_t wcim_ratelimit_size(void);

/* A limiter with nothing reserved, in `mem` (wcim_ratelimit_size() bytes,
 * such as a segment shared by all children), or in p. */
wcim_ratelimit_t *wcim_ratelimit_at(void *mem);
wcim_ratelimit_t *wcim_ratelimit_create(apr_pool_t *p);

/* Reserve a moment for one call at `per_sec` calls a second, `burst` of
 * them at once at most, at the earliest `now`: *pwait is how long the
 * caller waits before calling. APR_TIMEUP, with nothing reserved, when
 * that wait would be longer than max_wait; *pwait then says how long it
 * would have been. per_sec <= 0: no limit (*pwait 0). */
apr_status_t wcim_ratelimit_reserve(apr_interval_time_t *pwait,
                                    wcim_ratelimit_t *rl, double per_sec,
                                    int burst, apr_time_t now,
                                    apr_interval_time_t max_wait);

#endif
