/* Group syncs to RongCloud (group/sync) after get_group_chat_list: only
 * when the user's set differs from the one last synced (a digest in the
 * cache), one sync of a set at a time in a process, as a job the glue
 * takes from the request and runs apart from it (wcim_api.h). */
#include <stdlib.h>
#include <string.h>
#include <apr_md5.h>
#include <apr_strings.h>

#include "wcim_api.h"
#include "wcim_groupsync.h"
#include "wcim_ctx.h"
#include "wcim_digest.h"

/* A digest of a group set: ids and names, in order. */
const char *wcim_group_sync_digest(const apr_array_header_t *groups,
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

/* The cache holds, per user, the digest of the set last synced, or "~"
 * and the digest of a set being sent (by any thread, child or node that
 * shares the cache): a list that comes meanwhile counts that set as sent
 * and queues nothing (issue 28). The mark lives as long as the two tries
 * can take, so a process that dies while sending leaves it for no longer.
 * Whether a value says `digest` was sent or is being sent: */
#define SYNC_SENDING '~'

static int sync_covers(const char *value, const char *digest)
{
    return value && (strcmp(value, digest) == 0
                     || (value[0] == SYNC_SENDING
                         && strcmp(value + 1, digest) == 0));
}

/* One call, and once more when it failed in a way that may pass (a 5xx,
 * no answer): the lists that came meanwhile counted the set as sent. Each
 * failure is said (one tag: the line says whether it goes again). */
static apr_status_t group_sync_call(wcim_rc_error_t *err, wcim_ctx_t *ctx,
                                    apr_pool_t *p)
{
    wcim_rc_t rc = wcim_ctx_rc(ctx);
    apr_status_t rv;
    int try, again;

    for (try = 0; ; ++try) {
        rv = wcim_rc_group_sync(err, &rc, ctx->rc_user_id, ctx->sync_groups,
                                p);
        if (rv == APR_SUCCESS || err->rate_limited) {
            break;
        }
        again = try == 0 && (err->retryable || err->http_status == 0);
        WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0131)
                 "RongCloud group sync for %s failed%s: %s", ctx->rc_user_id,
                 again ? ", sending it once more" : "",
                 wcim_rc_error_text(err, p));
        if (!again) {
            break;
        }
    }
    return rv;
}

/* One sync of a user's set at a time in a process: a request that finds a
 * sync of the same set under way waits for it instead of repeating it. */
static apr_status_t group_sync_once(const char **presult, void *baton,
                                    apr_pool_t *p)
{
    group_sync_t *gs = baton;
    wcim_ctx_t *ctx = gs->ctx;
    wcim_rc_error_t err;
    const char *synced = NULL, *after = NULL, *mark;
    apr_status_t rv;

    *presult = NULL;
    if (wcim_ctx_cache_get(&synced, ctx, WCIM_CACHE_SYNC, gs->key) != APR_SUCCESS) {
        synced = NULL;
    }
    if (sync_covers(synced, gs->digest)) {
        return APR_SUCCESS;   /* RongCloud has this set, or is being sent it */
    }
    mark = apr_pstrcat(p, "~", gs->digest, NULL);
    wcim_ctx_cache_put_ttl(ctx, gs->key, mark,
                           2 * ctx->conf->rc.timeout + apr_time_from_sec(1));
    rv = group_sync_call(&err, ctx, p);
    if (wcim_ctx_cache_get(&after, ctx, WCIM_CACHE_SYNC, gs->key) != APR_SUCCESS) {
        after = NULL;
    }
    /* another process (or node) wrote meanwhile: which set RongCloud kept
     * is unknown, so remember one that matches none and the next list
     * syncs again */
    if (after == NULL || strcmp(after, mark) != 0) {
        wcim_ctx_cache_put(ctx, gs->key, "-");
    }
    else if (rv != APR_SUCCESS) {
        /* not sent: what was there before (the next list sends it) */
        wcim_ctx_cache_put(ctx, gs->key,
                           synced && synced[0] != SYNC_SENDING ? synced : "-");
    }
    else {
        wcim_ctx_cache_put(ctx, gs->key, gs->digest);
    }
    if (rv != APR_SUCCESS && err.rate_limited) {
        /* not RongCloud failing: the sync waits and goes again */
        WCIM_LOG(&ctx->log, WCIM_LOG_WARNING, 0, WCIMLOGNO(0133)
                 "RongCloud group sync for %s over the rate limit, to be "
                 "made again: %s", ctx->rc_user_id,
                 wcim_rc_error_text(&err, p));
        return APR_EAGAIN;
    }
    if (rv != APR_SUCCESS) {
        return rv;      /* said by group_sync_call */
    }
    WCIM_LOG(&ctx->log, WCIM_LOG_DEBUG, 0, WCIMLOGNO(0132)
             "synced %d groups of %s to RongCloud", ctx->sync_groups->nelts,
             ctx->rc_user_id);
    return APR_SUCCESS;
}

/* A job: what the sync reads, copied out of the request into one block
 * (the job, then its user ids), and its group set in another, as id and
 * name pairs of NUL-terminated strings, so a later list can replace it. */
struct wcim_sync_job_t {
    const wcim_config_t *conf;
    wcim_cache_t *cache;
    wcim_rc_client_t *rc_client;
    wcim_flight_t *flight;
    wcim_metrics_t *metrics;
    wcim_logger_t log;
    apr_time_t now;
    const char *user_id, *rc_user_id;   /* in the job's block */
    char *groups;                       /* malloc'd; NULL: nothing to do */
    int ngroups;
    int tries;                          /* runs over the rate limit */
};

/* A group set as one block of id and name pairs. */
static char *groups_pack(const apr_array_header_t *from)
{
    apr_size_t len = 1;
    char *block, *at;
    int i;

    for (i = 0; i < from->nelts; ++i) {
        const wcim_rc_group_t *g = &APR_ARRAY_IDX(from, i, wcim_rc_group_t);
        len += strlen(g->id) + strlen(g->name) + 2;
    }
    if ((block = malloc(len)) == NULL) {
        return NULL;
    }
    for (at = block, i = 0; i < from->nelts; ++i) {
        const wcim_rc_group_t *g = &APR_ARRAY_IDX(from, i, wcim_rc_group_t);
        apr_size_t n = strlen(g->id) + 1, m = strlen(g->name) + 1;

        memcpy(at, g->id, n);
        memcpy(at + n, g->name, m);
        at += n + m;
    }
    *at = '\0';
    return block;
}

/* ... back as an array of wcim_rc_group_t pointing into the block. */
static apr_array_header_t *groups_unpack(const char *block, int n,
                                         apr_pool_t *p)
{
    apr_array_header_t *groups = apr_array_make(p, n, sizeof(wcim_rc_group_t));
    const char *at = block;
    int i;

    for (i = 0; i < n; ++i) {
        wcim_rc_group_t *g = apr_array_push(groups);

        g->id = at;
        at += strlen(at) + 1;
        g->name = at;
        at += strlen(at) + 1;
    }
    return groups;
}

/* Whether RongCloud needs the request's group set: it is neither the set
 * last synced successfully nor one being sent (remembered in the cache). */
static int sync_due(wcim_ctx_t *ctx)
{
    const char *synced;

    if (ctx->sync_groups == NULL) {
        return 0;
    }
    /* the usual case, nothing changed: no job, no call */
    if (wcim_ctx_cache_get(&synced, ctx, WCIM_CACHE_SYNC,
                  wcim_ctx_cache_key(ctx, WCIM_GROUPS_KEY_PREFIX)) == APR_SUCCESS
        && sync_covers(synced, wcim_group_sync_digest(ctx->sync_groups, ctx->pool))) {
        ctx->sync_groups = NULL;
        return 0;
    }
    return 1;
}

wcim_sync_job_t *wcim_group_sync_take(wcim_ctx_t *ctx,
                                      const wcim_logger_t *log)
{
    apr_size_t ulen, rlen;
    wcim_sync_job_t *job;
    char *ids;

    if (!sync_due(ctx)) {
        return NULL;
    }
    ulen = strlen(ctx->user_id) + 1;
    rlen = strlen(ctx->rc_user_id) + 1;
    if ((job = malloc(sizeof(*job) + ulen + rlen)) == NULL) {
        return NULL;
    }
    /* the shared parts (configuration, cache, RongCloud handles) live as
     * long as the process */
    job->conf = ctx->conf;
    job->cache = ctx->cache;
    job->rc_client = ctx->rc_client;
    job->flight = ctx->flight;
    job->metrics = ctx->metrics;
    job->log = log ? *log : ctx->log;
    job->log.pool = NULL;       /* the run's */
    job->now = ctx->now;
    ids = (char *)(job + 1);
    memcpy(ids, ctx->user_id, ulen);
    memcpy(ids + ulen, ctx->rc_user_id, rlen);
    job->user_id = ids;
    job->rc_user_id = ids + ulen;
    job->ngroups = ctx->sync_groups->nelts;
    job->tries = 0;
    job->groups = groups_pack(ctx->sync_groups);
    ctx->sync_groups = NULL;
    if (job->groups == NULL) {
        free(job);
        return NULL;
    }
    return job;
}

void wcim_group_sync_merge(wcim_sync_job_t *waiting, wcim_sync_job_t *later)
{
    if (later->groups) {
        free(waiting->groups);
        waiting->groups = later->groups;
        waiting->ngroups = later->ngroups;
        waiting->now = later->now;
        later->groups = NULL;
    }
}

int wcim_group_sync_again(wcim_sync_job_t *job)
{
    return job->groups != NULL && ++job->tries <= WCIM_SYNC_TRIES;
}

void wcim_group_sync_free(wcim_sync_job_t *job)
{
    if (job) {
        free(job->groups);
        free(job);
    }
}

const char *wcim_group_sync_user(const wcim_sync_job_t *job)
{
    return job->user_id;
}

/* A job runs as a context of its own for the sync alone. It has no store
 * (a sync needs none): one that tried would be told so, not crash. */
static apr_status_t no_store(wcim_store_t **pstore, const char **perr,
                             void *baton)
{
    *pstore = NULL;
    *perr = "a group sync job has no database connection";
    return APR_EGENERAL;
}

apr_status_t wcim_group_sync_run(wcim_sync_job_t *job, apr_pool_t *parent)
{
    wcim_ctx_t jc;
    group_sync_t gs;
    const char *result;
    apr_pool_t *p;
    int shared;
    apr_status_t rv;

    if (job->groups == NULL) {
        return APR_SUCCESS;
    }
    if ((rv = apr_pool_create(&p, parent)) != APR_SUCCESS) {
        return rv;
    }
    memset(&jc, 0, sizeof(jc));
    jc.pool = p;
    jc.conf = job->conf;
    jc.now = job->now;
    jc.log = job->log;
    jc.log.pool = p;
    jc.store_open = no_store;
    jc.cache = job->cache;
    jc.rc_client = job->rc_client;
    jc.flight = job->flight;
    jc.metrics = job->metrics;
    jc.user_id = job->user_id;
    jc.rc_user_id = job->rc_user_id;
    jc.sync_groups = groups_unpack(job->groups, job->ngroups, p);
    gs.ctx = &jc;
    gs.key = wcim_ctx_cache_key(&jc, WCIM_GROUPS_KEY_PREFIX);
    gs.digest = wcim_group_sync_digest(jc.sync_groups, p);
    rv = jc.flight
        ? wcim_flight_do(&result, &shared, jc.flight,
                         apr_pstrcat(p, gs.key, " ", gs.digest, NULL),
                         apr_time_now() + 2 * jc.conf->rc.timeout
                         + apr_time_from_sec(1),
                         group_sync_once, &gs, p)
        : group_sync_once(&result, &gs, p);
    apr_pool_destroy(p);
    return rv;
}
