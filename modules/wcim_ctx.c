/* What the core's services share over a request's context (wcim_ctx.h). */
#include <string.h>
#include <apr_strings.h>

#include "wcim_ctx.h"

apr_status_t wcim_ctx_store(wcim_store_t **pstore, wcim_ctx_t *ctx)
{
    const char *err = NULL;
    apr_status_t rv = ctx->store_open(pstore, &err, ctx->store_baton);

    if (rv != APR_SUCCESS) {
        wcim_metrics_db_error(ctx->metrics);
        WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0145)
                 "no database connection: %s", err ? err : "unknown error");
    }
    return rv;
}

/* The RongCloud client as this request uses it. */
wcim_rc_t wcim_ctx_rc(wcim_ctx_t *ctx)
{
    wcim_rc_t rc = { ctx->rc_client, &ctx->conf->rc, &ctx->log,
                     &ctx->rc_time, ctx->metrics };
    return rc;
}

const char *wcim_ctx_cache_key(const wcim_ctx_t *ctx, const char *prefix)
{
    /* tokens belong to one RongCloud app, and die with its App Secret:
     * a secret refreshed in RongCloud's console invalidates them all */
    return apr_pstrcat(ctx->pool, prefix, ctx->conf->rc.app_key
                       ? ctx->conf->rc.app_key : "-", ":",
                       ctx->conf->rc.secret_tag, ":", ctx->rc_user_id, NULL);
}

apr_status_t wcim_ctx_cache_get(const char **pvalue, wcim_ctx_t *ctx,
                                wcim_cache_kind_t kind, const char *key)
{
    apr_status_t rv;

    *pvalue = NULL;
    if (ctx->cache == NULL) {
        return APR_NOTFOUND;
    }
    rv = ctx->cache->get(ctx->cache, key, pvalue, ctx->pool);
    wcim_metrics_cache(ctx->metrics, kind, rv == APR_SUCCESS);
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
        WCIM_LOG(&ctx->log, WCIM_LOG_WARNING, rv, WCIMLOGNO(0140)
                 "cache read failed, treated as a miss");
        rv = APR_NOTFOUND;
    }
    return rv;
}

void wcim_ctx_cache_put_ttl(wcim_ctx_t *ctx, const char *key,
                            const char *value, apr_interval_time_t ttl)
{
    apr_status_t rv;

    if (ctx->cache == NULL) {
        return;
    }
    rv = ctx->cache->put(ctx->cache, key, value, ttl, ctx->pool);
    if (rv != APR_SUCCESS) {
        WCIM_LOG(&ctx->log, WCIM_LOG_WARNING, rv, WCIMLOGNO(0141)
                 "cache write failed");
    }
}

void wcim_ctx_cache_put(wcim_ctx_t *ctx, const char *key, const char *value)
{
    wcim_ctx_cache_put_ttl(ctx, key, value, ctx->conf->cache_ttl);
}

