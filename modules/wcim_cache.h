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

/* What an entry is for: counted apart, so that a hit ratio says which
 * kind the cache fails to keep. */
typedef enum {
    WCIM_CACHE_TOKEN,        /* a user's RongCloud token and profile */
    WCIM_CACHE_SYNC,         /* a user's group set as last synced */
    WCIM_CACHE_NONCE,        /* a routing callback's nonce */
    WCIM_CACHE_KINDS
} wcim_cache_kind_t;

typedef struct wcim_cache_t wcim_cache_t;

struct wcim_cache_t {
    /* APR_NOTFOUND on a miss; another error when the cache failed. */
    apr_status_t (*get)(wcim_cache_t *cache, const char *key,
                        const char **pvalue, apr_pool_t *p);
    apr_status_t (*put)(wcim_cache_t *cache, const char *key,
                        const char *value, apr_interval_time_t ttl,
                        apr_pool_t *p);
};

/* The id a provider stores `key` under: one byte of the key's MD5, then
 * the key (shmcb picks the subcache from an id's first byte). */
apr_status_t wcim_cache_id(unsigned char **pid, apr_size_t *plen,
                           const char *key, apr_pool_t *p);

#endif
