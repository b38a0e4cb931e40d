/* The module's cache (RongCloud tokens, group-sync digests) on one of
 * httpd's ap_socache providers, in the manner of mod_authn_socache: one
 * cache for the whole server, chosen by WeclubsIMCache (its setter is in
 * mod_weclubs_im_directives.c), with a global mutex only for providers
 * that need one (shmcb, dbm; not redis or memcache). */

#include <stddef.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_core.h>
#include <ap_provider.h>
#include <ap_socache.h>
#include <util_mutex.h>

#include <apr_global_mutex.h>
#include <apr_strings.h>

#include "mod_weclubs_im.h"
#include "mod_weclubs_im_defaults.h"

APLOG_USE_MODULE(weclubs_im);

#define CACHE_MUTEX_TYPE "weclubs-im-cache"
#define CACHE_CNAME "weclubs-im"

/* shmcb sized for a campus: 16 MiB hold the tokens and sync digests of
 * ~50,000 users (each entry costs its id, its value and shmcb's 24-byte
 * index entry: a token ~220 bytes, a digest ~110, a nonce ~70). shmcb's
 * own default, 512 KB, holds ~1,500. */
#define SHMCB_DEFAULT_SIZE (16 * 1024 * 1024)
#define SHMCB_OWN_SIZE (512 * 1024)
#define SHMCB_INDEX_ENTRY 24
#define CAMPUS_USERS 20000
/* what our entries are like, for shmcb's index sizing */
#define HINT_ID_LEN 48
#define HINT_OBJ_SIZE 112

/* Global, as the cache is one for the whole server; reset before each
 * (re)read of the configuration. */
static const ap_socache_provider_t *provider;
static const char *provider_name;
static ap_socache_instance_t *instance;
static apr_global_mutex_t *mutex;
static int configured;          /* WeclubsIMCache given (incl. none) */
static apr_size_t shmcb_size;   /* bytes of a shmcb cache, 0 otherwise */
static apr_interval_time_t ttl;
static server_rec *main_server;

static apr_status_t cache_get(wcim_cache_t *c, const char *key,
                              const char **pvalue, apr_pool_t *p);
static apr_status_t cache_put(wcim_cache_t *c, const char *key,
                              const char *value, apr_interval_time_t life,
                              apr_pool_t *p);
static wcim_cache_t cache = { cache_get, cache_put };

/* shmcb's arguments: ours (a campus's size) when none are given; and the
 * size they give, for the capacity said at start-up. */
static const char *shmcb_args(apr_size_t *psize, const char *args,
                              apr_pool_t *p)
{
    const char *open;

    if (args == NULL || *args == '\0') {
        *psize = SHMCB_DEFAULT_SIZE;
        /* the path is only used where anonymous shared memory is not */
        return apr_psprintf(p, "%s(%d)",
                            ap_runtime_dir_relative(p, "weclubs-im-cache"),
                            SHMCB_DEFAULT_SIZE);
    }
    open = strrchr(args, '(');
    *psize = open ? (apr_size_t)apr_atoi64(open + 1) : SHMCB_OWN_SIZE;
    return args;
}

void wcim_cache_say_capacity(server_rec *s)
{
    apr_size_t entries, users, size = shmcb_size;

    if (!configured && size == 0
        && ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP,
                              WCIM_DEFAULT_CACHE_PROVIDER,
                              AP_SOCACHE_PROVIDER_VERSION)) {
        size = SHMCB_DEFAULT_SIZE;   /* configtest: before post_config */
    }
    if (size == 0) {
        return;
    }
    /* a token and a sync digest per user, at ~165 bytes an entry */
    entries = size / (HINT_ID_LEN + HINT_OBJ_SIZE + SHMCB_INDEX_ENTRY);
    users = entries / 2;
    if (users < CAMPUS_USERS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, WCIMLOGNO(0407)
                     "WeclubsIMCache shmcb of %" APR_SIZE_T_FMT " bytes "
                     "holds the RongCloud tokens and sync digests of about "
                     "%" APR_SIZE_T_FMT " users; beyond that every get_token "
                     "calls RongCloud. Give it room, e.g. WeclubsIMCache "
                     "shmcb (%d bytes by default) or shmcb:path(bytes)",
                     size, users, SHMCB_DEFAULT_SIZE);
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, WCIMLOGNO(0408)
                     "WeclubsIMCache shmcb of %" APR_SIZE_T_FMT " bytes: "
                     "about %" APR_SIZE_T_FMT " entries, the RongCloud "
                     "tokens and sync digests of about %" APR_SIZE_T_FMT
                     " users", size, entries, users);
    }
}

const char *wcim_cache_use(const ap_socache_provider_t *use,
                           const char *name, const char *args,
                           apr_pool_t *p, apr_pool_t *ptemp)
{
    const char *err;

    configured = 1;
    provider = NULL;
    instance = NULL;
    if (use == NULL) {
        return NULL;   /* none */
    }
    provider = use;
    shmcb_size = 0;
    if (strcmp(name, "shmcb") == 0) {
        args = shmcb_args(&shmcb_size, args, p);
    }
    err = provider->create(&instance, args, ptemp, p);
    if (err) {
        provider = NULL;
        return err;
    }
    provider_name = name;
    return NULL;
}

void wcim_cache_set_ttl(apr_interval_time_t t)
{
    ttl = t;
}

int wcim_cache_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                          apr_pool_t *ptemp)
{
    apr_status_t rv;

    provider = NULL;
    provider_name = NULL;
    instance = NULL;
    mutex = NULL;
    configured = 0;
    shmcb_size = 0;
    ttl = apr_time_from_sec(WCIM_DEFAULT_CACHE_TTL);
    rv = ap_mutex_register(pconf, CACHE_MUTEX_TYPE, NULL, APR_LOCK_DEFAULT,
                           0);
    if (rv != APR_SUCCESS) {
        ap_log_perror(APLOG_MARK, APLOG_CRIT, rv, plog, WCIMLOGNO(0401)
                      "could not register the %s mutex", CACHE_MUTEX_TYPE);
        return 500;
    }
    return OK;
}

static apr_status_t cache_destroy(void *data)
{
    if (provider && instance) {
        provider->destroy(instance, (server_rec *)data);
    }
    instance = NULL;
    return APR_SUCCESS;
}

int wcim_cache_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *s)
{
    struct ap_socache_hints hints = { 0 };
    const char *err;
    apr_status_t rv;

    main_server = s;
    if (!configured) {
        /* the default: shared memory of this machine, if available */
        provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP,
                                      WCIM_DEFAULT_CACHE_PROVIDER,
                                      AP_SOCACHE_PROVIDER_VERSION);
        if (provider == NULL) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, WCIMLOGNO(0402)
                         "no WeclubsIMCache and mod_socache_shmcb not "
                         "loaded: RongCloud tokens are not cached");
            return OK;
        }
        err = provider->create(&instance,
                               shmcb_args(&shmcb_size, NULL, pconf),
                               ptemp, pconf);
        if (err) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, WCIMLOGNO(0403)
                         "default cache: %s", err);
            return 500;
        }
        provider_name = WCIM_DEFAULT_CACHE_PROVIDER;
    }
    if (provider == NULL) {
        return OK;   /* WeclubsIMCache none */
    }
    if (provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) {
        rv = ap_global_mutex_create(&mutex, NULL, CACHE_MUTEX_TYPE, NULL, s,
                                    pconf, 0);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, WCIMLOGNO(0404)
                         "could not create the %s mutex", CACHE_MUTEX_TYPE);
            return 500;
        }
    }
    hints.avg_id_len = HINT_ID_LEN;
    hints.avg_obj_size = HINT_OBJ_SIZE;
    hints.expiry_interval = ttl;
    rv = provider->init(instance, CACHE_CNAME, &hints, s, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, WCIMLOGNO(0405)
                     "could not initialise the %s cache", provider_name);
        return 500;
    }
    apr_pool_cleanup_register(pconf, s, cache_destroy,
                              apr_pool_cleanup_null);
    return OK;
}

void wcim_cache_child_init(apr_pool_t *p, server_rec *s)
{
    apr_status_t rv;

    if (mutex == NULL) {
        return;
    }
    rv = apr_global_mutex_child_init(&mutex,
                                     apr_global_mutex_lockfile(mutex), p);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, WCIMLOGNO(0406)
                     "could not attach to the %s mutex; caching is off in "
                     "this process", CACHE_MUTEX_TYPE);
        provider = NULL;
    }
}

static apr_status_t cache_get(wcim_cache_t *c, const char *key,
                              const char **pvalue, apr_pool_t *p)
{
    unsigned char buf[WCIM_CACHE_MAX_VALUE];
    unsigned int len = sizeof(buf);
    unsigned char *id;
    apr_size_t idlen;
    apr_status_t rv;

    *pvalue = NULL;
    wcim_cache_id(&id, &idlen, key, p);
    if (mutex && (rv = apr_global_mutex_lock(mutex)) != APR_SUCCESS) {
        return rv;
    }
    rv = provider->retrieve(instance, main_server, id, (unsigned int)idlen,
                            buf, &len, p);
    if (mutex) {
        apr_global_mutex_unlock(mutex);
    }
    if (rv == APR_SUCCESS) {
        *pvalue = apr_pstrmemdup(p, (const char *)buf, len);
    }
    return rv;
}

static apr_status_t cache_put(wcim_cache_t *c, const char *key,
                              const char *value, apr_interval_time_t life,
                              apr_pool_t *p)
{
    apr_size_t len = strlen(value);
    unsigned char *id;
    apr_size_t idlen;
    apr_status_t rv;

    if (len >= WCIM_CACHE_MAX_VALUE) {
        return APR_ENOSPC;
    }
    wcim_cache_id(&id, &idlen, key, p);
    if (mutex && (rv = apr_global_mutex_lock(mutex)) != APR_SUCCESS) {
        return rv;
    }
    rv = provider->store(instance, main_server, id, (unsigned int)idlen,
                         apr_time_now() + life, (unsigned char *)value,
                         (unsigned int)len, p);
    if (mutex) {
        apr_global_mutex_unlock(mutex);
    }
    return rv;
}

wcim_cache_t *wcim_cache_for(request_rec *r)
{
    return (provider && instance) ? &cache : NULL;
}

int wcim_cache_is_none(void)
{
    return configured && provider == NULL;
}

apr_interval_time_t wcim_cache_ttl(void)
{
    return ttl;
}
