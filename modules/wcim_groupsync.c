/* Group syncs to RongCloud (group/sync) after get_group_chat_list: only
 * when the user's set differs from the one last synced (a digest in the
 * cache), one sync of a set at a time in a process, as a job the glue
 * takes from the request and runs apart from it (wcim_api.h). */
#include <string.h>
#include <apr_md5.h>
#include <apr_strings.h>

#include "wcim_api.h"
#include "wcim_ctx.h"
#include "wcim_digest.h"

/* A digest of a group set: ids and names, in order. */
static const char *groups_digest(const apr_array_header_t *groups,
                                 apr_pool_t *p)
{
    unsigned char digest[APR_MD5_DIGESTSIZE];
    char *hex = apr_palloc(p, 2 * APR_MD5_DIGESTSIZE + 1);
    apr_md5_ctx_t md5;
    int i;

    /* only told apart from the last synced set: MD5 is plenty, and half
     * the price of SHA1 on a long club list */
    apr_md5_init(&md5);
    for (i = 0; i < groups->nelts; ++i) {
        const wcim_rc_group_t *g = &APR_ARRAY_IDX(groups, i, wcim_rc_group_t);
        apr_md5_update(&md5, g->id, strlen(g->id) + 1);      /* with NUL */
        apr_md5_update(&md5, g->name, strlen(g->name) + 1);
    }
    apr_md5_final(digest, &md5);
    wcim_hex_encode(hex, digest, sizeof(digest), 0);
    return hex;
}

typedef struct {
    wcim_ctx_t *ctx;
    const char *key, *digest;
} group_sync_t;

/* One sync of a user's set at a time in a process: a request that finds a
 * sync of the same set under way waits for it instead of repeating it. */
static apr_status_t group_sync_once(const char **presult, void *baton,
                                    apr_pool_t *p)
{
    group_sync_t *gs = baton;
    wcim_ctx_t *ctx = gs->ctx;
    wcim_rc_t rc = wcim_ctx_rc(ctx);
    wcim_rc_error_t err;
    const char *synced = NULL, *after = NULL;
    apr_status_t rv;

    *presult = NULL;
    if (wcim_ctx_cache_get(&synced, ctx, WCIM_CACHE_SYNC, gs->key) == APR_SUCCESS
        && strcmp(synced, gs->digest) == 0) {
        return APR_SUCCESS;   /* RongCloud has this set already */
    }
    rv = wcim_rc_group_sync(&err, &rc, ctx->rc_user_id, ctx->sync_groups, p);
    if (rv != APR_SUCCESS) {
        WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0131)
                 "RongCloud group sync for %s failed: %s", ctx->rc_user_id,
                 wcim_rc_error_text(&err, p));
        return rv;
    }
    /* Another process (or node) synced a set of this user meanwhile: which
     * set RongCloud kept is unknown, so remember one that matches none and
     * the next list syncs again. */
    wcim_ctx_cache_get(&after, ctx, WCIM_CACHE_SYNC, gs->key);
    if ((synced == NULL) != (after == NULL)
        || (synced && after && strcmp(synced, after) != 0)) {
        wcim_ctx_cache_put(ctx, gs->key, "-");
        return APR_SUCCESS;
    }
    wcim_ctx_cache_put(ctx, gs->key, gs->digest);
    WCIM_LOG(&ctx->log, WCIM_LOG_DEBUG, 0, WCIMLOGNO(0132)
             "synced %d groups of %s to RongCloud", ctx->sync_groups->nelts,
             ctx->rc_user_id);
    return APR_SUCCESS;
}

/* A job is a context of its own for the sync alone: what the sync reads,
 * copied out of the request. It has no store (a sync needs none): one that
 * tried would be told so, not crash. */
struct wcim_sync_job_t {
    wcim_ctx_t ctx;
};

static apr_status_t no_store(wcim_store_t **pstore, const char **perr,
                             void *baton)
{
    *pstore = NULL;
    *perr = "a group sync job has no database connection";
    return APR_EGENERAL;
}

/* The request's group set, copied into p. */
static apr_array_header_t *groups_copy(const apr_array_header_t *from,
                                       apr_pool_t *p)
{
    apr_array_header_t *groups = apr_array_make(p, from->nelts,
                                                sizeof(wcim_rc_group_t));
    int i;

    for (i = 0; i < from->nelts; ++i) {
        const wcim_rc_group_t *g = &APR_ARRAY_IDX(from, i, wcim_rc_group_t);
        wcim_rc_group_t *copy = apr_array_push(groups);

        copy->id = apr_pstrdup(p, g->id);
        copy->name = apr_pstrdup(p, g->name);
    }
    return groups;
}

/* Whether RongCloud needs the request's group set: it is not the set
 * last synced successfully (remembered in the cache). */
static int sync_due(wcim_ctx_t *ctx)
{
    const char *synced;

    if (ctx->sync_groups == NULL) {
        return 0;
    }
    /* the usual case, nothing changed: no job, no call */
    if (wcim_ctx_cache_get(&synced, ctx, WCIM_CACHE_SYNC,
                  wcim_ctx_cache_key(ctx, WCIM_GROUPS_KEY_PREFIX)) == APR_SUCCESS
        && strcmp(synced, groups_digest(ctx->sync_groups, ctx->pool)) == 0) {
        ctx->sync_groups = NULL;
        return 0;
    }
    return 1;
}

wcim_sync_job_t *wcim_group_sync_take(wcim_ctx_t *ctx, apr_pool_t *parent,
                                      const wcim_logger_t *log)
{
    wcim_sync_job_t *job;
    wcim_ctx_t *jc;
    apr_pool_t *p = ctx->pool;

    /* most lists find nothing due: they pay no pool */
    if (!sync_due(ctx)
        || (parent && apr_pool_create(&p, parent) != APR_SUCCESS)) {
        return NULL;
    }
    /* the shared parts (configuration, cache, RongCloud handles) live as
     * long as the process */
    job = apr_pcalloc(p, sizeof(*job));
    jc = &job->ctx;
    jc->pool = p;
    jc->conf = ctx->conf;
    jc->now = ctx->now;
    jc->log = log ? *log : ctx->log;
    jc->log.pool = p;
    jc->store_open = no_store;
    jc->cache = ctx->cache;
    jc->rc_client = ctx->rc_client;
    jc->flight = ctx->flight;
    jc->metrics = ctx->metrics;
    jc->user_id = apr_pstrdup(p, ctx->user_id);
    jc->rc_user_id = apr_pstrdup(p, ctx->rc_user_id);
    jc->sync_groups = groups_copy(ctx->sync_groups, p);
    ctx->sync_groups = NULL;
    return job;
}

void wcim_group_sync_merge(wcim_sync_job_t *waiting,
                           const wcim_sync_job_t *later)
{
    if (later->ctx.sync_groups) {
        waiting->ctx.sync_groups = groups_copy(later->ctx.sync_groups,
                                               waiting->ctx.pool);
        waiting->ctx.now = later->ctx.now;
    }
}

const char *wcim_group_sync_user(const wcim_sync_job_t *job)
{
    return job->ctx.user_id;
}

apr_pool_t *wcim_group_sync_pool(const wcim_sync_job_t *job)
{
    return job->ctx.pool;
}

apr_status_t wcim_group_sync_run(wcim_sync_job_t *job)
{
    wcim_ctx_t *jc = &job->ctx;
    group_sync_t gs;
    const char *result;
    int shared;
    apr_status_t rv;

    if (jc->sync_groups == NULL) {
        return APR_SUCCESS;
    }
    gs.ctx = jc;
    gs.key = wcim_ctx_cache_key(jc, WCIM_GROUPS_KEY_PREFIX);
    gs.digest = groups_digest(jc->sync_groups, jc->pool);
    rv = jc->flight
        ? wcim_flight_do(&result, &shared, jc->flight,
                         apr_pstrcat(jc->pool, gs.key, " ", gs.digest, NULL),
                         apr_time_now() + jc->conf->rc.timeout
                         + apr_time_from_sec(1),
                         group_sync_once, &gs, jc->pool)
        : group_sync_once(&result, &gs, jc->pool);
    jc->sync_groups = NULL;
    return rv;
}

