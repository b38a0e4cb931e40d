/* A small key/value cache the core reads and writes; the glue backs it
 * with one of httpd's ap_socache providers (shmcb, redis, memcache, …).
 * A cache that fails behaves as a miss: callers never fail a request
 * because of it. */
#ifndef WCIM_CACHE_H
#define WCIM_CACHE_H

#include <apr_pools.h>
#include <apr_time.h>

/* Values are short texts: a token and its profile, a fingerprint. */
#define WCIM_CACHE_MAX_VALUE 1024

typedef struct wcim_cache_t wcim_cache_t;

struct wcim_cache_t {
    /* APR_NOTFOUND on a miss; another error when the cache failed. */
    apr_status_t (*get)(wcim_cache_t *cache, const char *key,
                        const char **pvalue, apr_pool_t *p);
    apr_status_t (*put)(wcim_cache_t *cache, const char *key,
                        const char *value, apr_interval_time_t ttl,
                        apr_pool_t *p);
    void *baton;
};

#endif
