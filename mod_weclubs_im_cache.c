/* The module's cache (RongCloud tokens, group-sync digests) on one of
 * httpd's ap_socache providers, in the manner of mod_authn_socache: one
 * cache for the whole server, chosen by WeclubsIMCache, with a global
 * mutex only for providers that need one (shmcb, dbm; not redis or
 * memcache). */

#include <stddef.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <ap_provider.h>
#include <ap_socache.h>
#include <util_mutex.h>

#include <apr_global_mutex.h>
#include <apr_strings.h>

#include "mod_weclubs_im.h"

APLOG_USE_MODULE(weclubs_im);

#define CACHE_MUTEX_TYPE "weclubs-im-cache"
#define CACHE_CNAME "weclubs-im"
#define DEFAULT_PROVIDER "shmcb"
#define DEFAULT_TTL apr_time_from_sec(7 * 86400)

/* Global, as the cache is one for the whole server; reset before each
 * (re)read of the configuration. */
static const ap_socache_provider_t *provider;
static const char *provider_name;
static ap_socache_instance_t *instance;
static apr_global_mutex_t *mutex;
static int configured;          /* WeclubsIMCache given (incl. none) */
static apr_interval_time_t ttl;
static server_rec *main_server;

static apr_status_t cache_get(wcim_cache_t *c, const char *key,
                              const char **pvalue, apr_pool_t *p);
static apr_status_t cache_put(wcim_cache_t *c, const char *key,
                              const char *value, apr_interval_time_t life,
                              apr_pool_t *p);
static wcim_cache_t cache = { cache_get, cache_put, NULL };

const char *wcim_cache_cmd(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    const char *sep, *name, *args = NULL;

    if (err) {
        return err;
    }
    configured = 1;
    provider = NULL;
    instance = NULL;
    if (strcasecmp(arg, "none") == 0) {
        return NULL;
    }
    sep = ap_strchr_c(arg, ':');
    name = sep ? apr_pstrmemdup(cmd->pool, arg, sep - arg) : arg;
    args = sep ? sep + 1 : NULL;
    provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name,
                                  AP_SOCACHE_PROVIDER_VERSION);
    if (provider == NULL) {
        return apr_psprintf(cmd->pool, "WeclubsIMCache: unknown cache "
                            "provider '%s' (is mod_socache_%s loaded?)",
                            name, name);
    }
    err = provider->create(&instance, args, cmd->temp_pool, cmd->pool);
    if (err) {
        provider = NULL;
        return apr_psprintf(cmd->pool, "WeclubsIMCache %s: %s", arg, err);
    }
    provider_name = name;
    return NULL;
}

const char *wcim_cache_ttl_cmd(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    apr_interval_time_t t;

    if (err) {
        return err;
    }
    if (ap_timeout_parameter_parse(arg, &t, "s") != APR_SUCCESS || t <= 0) {
        return "WeclubsIMCacheTTL takes a positive time, in seconds or with "
               "a unit (e.g. 86400, 30m)";
    }
    ttl = t;
    return NULL;
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
    ttl = DEFAULT_TTL;
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
                                      DEFAULT_PROVIDER,
                                      AP_SOCACHE_PROVIDER_VERSION);
        if (provider == NULL) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, WCIMLOGNO(0402)
                         "no WeclubsIMCache and mod_socache_shmcb not "
                         "loaded: RongCloud tokens are not cached");
            return OK;
        }
        err = provider->create(&instance, NULL, ptemp, pconf);
        if (err) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, WCIMLOGNO(0403)
                         "default cache: %s", err);
            return 500;
        }
        provider_name = DEFAULT_PROVIDER;
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
    hints.avg_id_len = 48;
    hints.avg_obj_size = 200;
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
    apr_status_t rv;

    *pvalue = NULL;
    if (mutex && (rv = apr_global_mutex_lock(mutex)) != APR_SUCCESS) {
        return rv;
    }
    rv = provider->retrieve(instance, main_server,
                            (const unsigned char *)key,
                            (unsigned int)strlen(key), buf, &len, p);
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
    apr_status_t rv;

    if (len >= WCIM_CACHE_MAX_VALUE) {
        return APR_ENOSPC;
    }
    if (mutex && (rv = apr_global_mutex_lock(mutex)) != APR_SUCCESS) {
        return rv;
    }
    rv = provider->store(instance, main_server, (const unsigned char *)key,
                         (unsigned int)strlen(key), apr_time_now() + life,
                         (unsigned char *)value, (unsigned int)len, p);
    if (mutex) {
        apr_global_mutex_unlock(mutex);
    }
    return rv;
}

wcim_cache_t *wcim_cache_for(request_rec *r)
{
    return (provider && instance) ? &cache : NULL;
}

apr_interval_time_t wcim_cache_ttl(void)
{
    return ttl;
}
