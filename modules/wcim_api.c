#include <string.h>
#include <apr_atomic.h>
#include <apr_md5.h>
#include <apr_strings.h>

#include "wcim_api.h"
#include "wcim_buf.h"
#include "wcim_digest.h"
#include "wcim_envelope.h"
#include "wcim_json.h"
#include "wcim_result.h"
#include "wcim_routing.h"
#include "wcim_sign.h"
#include "wcim_token.h"

#define RC_USER_PREFIX  "im_user_id_"
#define RC_GROUP_PREFIX "im_club_id_"
#define GET_TOKEN_FAILED_MSG "获取token失败，请检查后重试"

apr_status_t wcim_api_find(wcim_api_t *papi, const char *name)
{
    if (strcmp(name, "get_token") == 0) {
        *papi = WCIM_API_GET_TOKEN;
    }
    else if (strcmp(name, "get_group_chat_list") == 0) {
        *papi = WCIM_API_GROUP_CHAT_LIST;
    }
    else {
        return APR_NOTFOUND;
    }
    return APR_SUCCESS;
}

static int caller_allowed(const wcim_config_t *conf, const char *caller)
{
    int i;

    for (i = 0; caller && i < conf->callers->nelts; ++i) {
        if (strcmp(APR_ARRAY_IDX(conf->callers, i, const char *), caller)
            == 0) {
            return 1;
        }
    }
    return 0;
}

static apr_status_t open_store(wcim_store_t **pstore, wcim_ctx_t *ctx)
{
    const char *err = NULL;
    apr_status_t rv = ctx->store_open(pstore, &err, ctx->store_baton);

    if (rv != APR_SUCCESS) {
        wcim_metrics_db_error(ctx->metrics);
        WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0101)
                 "no database connection: %s", err ? err : "unknown error");
    }
    return rv;
}

static apr_status_t cache_get(const char **pvalue, wcim_ctx_t *ctx,
                              wcim_cache_kind_t kind, const char *key);
static void cache_put_ttl(wcim_ctx_t *ctx, const char *key,
                          const char *value, apr_interval_time_t ttl);

/* Steps 1 to 6 of the check table (protocol.md section 5), in order. */
static apr_status_t check_request(wcim_ctx_t *ctx, const char *body,
                                  apr_size_t len)
{
    const wcim_config_t *conf = ctx->conf;
    wcim_envelope_t *env;
    wcim_store_t *store;
    wcim_token_row_t row;
    const char *why, *token;
    apr_size_t token_len;
    apr_status_t rv, uid_rv;

    rv = wcim_envelope_parse(&env, &why, body, len, ctx->pool);
    if (rv != APR_SUCCESS) {
        WCIM_LOG(&ctx->log, WCIM_LOG_INFO, 0, WCIMLOGNO(0102) "3001: %s", why);
        return rv;
    }
    ctx->caller = env->caller;
    if (!caller_allowed(conf, env->caller)) {
        WCIM_LOG(&ctx->log, WCIM_LOG_INFO, 0, WCIMLOGNO(0103)
                 "3004: caller %s is not in WeclubsIMCallers",
                 env->caller ? env->caller : "(missing)");
        return WCIM_STATUS(WCIM_RC_BAD_CALLER);
    }
    if (conf->sign_check) {
        if (conf->sign_secret == NULL) {
            WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0104)
                     "WeclubsIMSignSecret is not set: cannot check "
                     "signatures");
            return APR_EINIT;
        }
        rv = wcim_sign_verify(env->data, env->sign, env->sign_len,
                              conf->sign_secret, conf->sign_secret_len,
                              conf->sign_forms, ctx->pool);
        if (rv != APR_SUCCESS) {
            WCIM_LOG(&ctx->log, WCIM_LOG_INFO, 0, WCIMLOGNO(0105)
                     "3003: %s signature from caller %s",
                     env->sign ? "wrong" : "no", env->caller);
            return rv;
        }
    }
    uid_rv = wcim_envelope_user_id(&ctx->user_id, env, ctx->pool);
    if (uid_rv == WCIM_STATUS(WCIM_RC_NO_USER_ID)) {
        WCIM_LOG(&ctx->log, WCIM_LOG_INFO, 0, WCIMLOGNO(0106) "3005: no user_id");
        return uid_rv;
    }
    rv = wcim_envelope_token(&token, &token_len, env);
    if (rv != APR_SUCCESS) {
        WCIM_LOG(&ctx->log, WCIM_LOG_INFO, 0, WCIMLOGNO(0107) "3006: no token");
        return rv;
    }
    if (uid_rv != APR_SUCCESS) {
        WCIM_LOG(&ctx->log, WCIM_LOG_INFO, 0, WCIMLOGNO(0108)
                 "3001: user_id is not a non-negative integer");
        return uid_rv;
    }

    if ((rv = open_store(&store, ctx)) != APR_SUCCESS) {
        return rv;
    }
    rv = wcim_store_token_get(&row, &why, store, ctx->user_id, env->caller,
                              ctx->pool);
    if (rv == APR_NOTFOUND) {
        WCIM_LOG(&ctx->log, WCIM_LOG_INFO, 0, WCIMLOGNO(0109)
                 "3010: no token stored for user %s and caller %s",
                 ctx->user_id, env->caller);
        return WCIM_STATUS(WCIM_RC_TOKEN_INVALID);
    }
    if (rv != APR_SUCCESS) {
        wcim_metrics_db_error(ctx->metrics);
        WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0110)
                 "reading the token of user %s: %s", ctx->user_id, why);
        return rv;
    }
    rv = wcim_token_verify(&why, token, token_len, &row,
                           conf->token_lifetime_ms, ctx->now, ctx->pool);
    if (rv != APR_SUCCESS) {
        WCIM_LOG(&ctx->log, WCIM_LOG_INFO, 0, WCIMLOGNO(0111)
                 "3010: user %s, caller %s: %s", ctx->user_id, env->caller,
                 why);
    }
    ctx->authenticated = rv == APR_SUCCESS;
    return rv;
}

/* Display name as the old server chose it: real name, else nickname. */
static const char *display_name(const wcim_user_t *u)
{
    if (u->real_name && *u->real_name) {
        return u->real_name;
    }
    return (u->nick_name && *u->nick_name) ? u->nick_name : "";
}

/* The RongCloud client as this request uses it. */
static wcim_rc_t rc_of(wcim_ctx_t *ctx)
{
    wcim_rc_t rc = { ctx->rc_client, &ctx->conf->rc, &ctx->log,
                     &ctx->rc_time, ctx->metrics };
    return rc;
}

/* A RongCloud token in the cache: "<profile> <token>", where the profile
 * is a digest of the name and portrait RongCloud was last given. */
#define TOKEN_KEY_PREFIX "tok:"
#define GROUPS_KEY_PREFIX "grp:"

static const char *cache_key(const wcim_ctx_t *ctx, const char *prefix)
{
    /* tokens belong to one RongCloud app, and die with its App Secret:
     * a secret refreshed in RongCloud's console invalidates them all */
    return apr_pstrcat(ctx->pool, prefix, ctx->conf->rc.app_key
                       ? ctx->conf->rc.app_key : "-", ":",
                       ctx->conf->rc.secret_tag, ":", ctx->rc_user_id, NULL);
}

static const char *profile_digest(const char *name, const char *portrait,
                                  apr_pool_t *p)
{
    char *hex = apr_palloc(p, WCIM_SHA1_HEX_LEN + 1);
    const char *both = apr_pstrcat(p, name, "\n", portrait, NULL);

    wcim_sha1_hex(hex, both, strlen(both), 0);
    return hex;
}

static apr_status_t cache_get(const char **pvalue, wcim_ctx_t *ctx,
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

static void cache_put_ttl(wcim_ctx_t *ctx, const char *key,
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

static void cache_put(wcim_ctx_t *ctx, const char *key, const char *value)
{
    cache_put_ttl(ctx, key, value, ctx->conf->cache_ttl);
}

typedef struct {
    wcim_ctx_t *ctx;
    const char *key, *name, *portrait, *profile;
} token_fetch_t;

/* A cached "<profile> <token>" entry: the token, and whether RongCloud
 * has the profile given. APR_NOTFOUND when there is no usable entry. */
static apr_status_t cached_token(const char **ptoken, int *pcurrent,
                                 wcim_ctx_t *ctx, const char *key,
                                 const char *profile)
{
    const char *cached, *sep;

    if (cache_get(&cached, ctx, WCIM_CACHE_TOKEN, key) != APR_SUCCESS
        || (sep = strchr(cached, ' ')) == NULL || sep[1] == '\0') {
        return APR_NOTFOUND;
    }
    *ptoken = sep + 1;
    *pcurrent = (apr_size_t)(sep - cached) == strlen(profile)
                && memcmp(cached, profile, sep - cached) == 0;
    return APR_SUCCESS;
}

/* The one upstream getToken of a user: other threads asking for the same
 * user meanwhile wait for it (wcim_flight_do). */
static apr_status_t token_fetch(const char **ptoken, void *baton,
                                apr_pool_t *p)
{
    token_fetch_t *tf = baton;
    wcim_ctx_t *ctx = tf->ctx;
    wcim_rc_t rc = rc_of(ctx);
    wcim_rc_error_t err;
    int current;
    apr_status_t rv;

    /* a call that ended between our cache miss and now has cached it */
    if (cached_token(ptoken, &current, ctx, tf->key, tf->profile)
        == APR_SUCCESS && current) {
        return APR_SUCCESS;
    }
    rv = wcim_rc_get_token(ptoken, &err, &rc, ctx->rc_user_id, tf->name,
                           tf->portrait, p);
    if (rv != APR_SUCCESS) {
        WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0122)
                 "RongCloud getToken for %s failed: %s", ctx->rc_user_id,
                 wcim_rc_error_text(&err, p));
        return rv;
    }
    cache_put(ctx, tf->key, apr_pstrcat(p, tf->profile, " ", *ptoken, NULL));
    return APR_SUCCESS;
}

/* The user's RongCloud token: from the cache when RongCloud already has
 * the user's current name and portrait, after a user/refresh when it has
 * old ones, else from one getToken call. */
static apr_status_t rongcloud_token(const char **ptoken, wcim_ctx_t *ctx,
                                    const char *name, const char *portrait)
{
    token_fetch_t tf;
    int shared, current;
    apr_status_t rv;

    tf.ctx = ctx;
    tf.key = cache_key(ctx, TOKEN_KEY_PREFIX);
    tf.name = name;
    tf.portrait = portrait;
    tf.profile = profile_digest(name, portrait, ctx->pool);

    if (cached_token(ptoken, &current, ctx, tf.key, tf.profile)
        == APR_SUCCESS) {
        if (current) {
            WCIM_LOG(&ctx->log, WCIM_LOG_DEBUG, 0, WCIMLOGNO(0123)
                     "RongCloud token of %s from the cache", ctx->rc_user_id);
        }
        else {
            wcim_rc_t rc = rc_of(ctx);
            wcim_rc_error_t err;

            rv = wcim_rc_refresh_user(&err, &rc, ctx->rc_user_id, name,
                                      portrait, ctx->pool);
            if (rv == APR_SUCCESS) {
                WCIM_LOG(&ctx->log, WCIM_LOG_INFO, 0, WCIMLOGNO(0124)
                         "name or portrait of %s pushed to RongCloud",
                         ctx->rc_user_id);
                cache_put(ctx, tf.key, apr_pstrcat(ctx->pool, tf.profile,
                                                   " ", *ptoken, NULL));
            }
            else {
                /* the token stays valid; the refresh is tried again on
                 * the next call since the cache still has the old one */
                WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0125)
                         "RongCloud user refresh for %s failed: %s",
                         ctx->rc_user_id, wcim_rc_error_text(&err,
                                                             ctx->pool));
            }
        }
        return APR_SUCCESS;
    }

    if (ctx->flight == NULL) {
        return token_fetch(ptoken, &tf, ctx->pool);
    }
    /* a waiter outlasts the call it waits for (its deadline + a margin) */
    rv = wcim_flight_do(ptoken, &shared, ctx->flight, tf.key,
                        apr_time_now() + ctx->conf->rc.timeout
                        + apr_time_from_sec(1),
                        token_fetch, &tf, ctx->pool);
    if (shared) {
        WCIM_LOG(&ctx->log, WCIM_LOG_DEBUG, rv, WCIMLOGNO(0126)
                 "shared the getToken call of another request for %s",
                 ctx->rc_user_id);
    }
    return rv;
}

static apr_status_t get_token(wcim_reply_t *reply, wcim_ctx_t *ctx)
{
    wcim_store_t *store;
    wcim_user_t user;
    const char *why, *token;
    apr_status_t rv;

    if ((rv = open_store(&store, ctx)) != APR_SUCCESS) {
        return rv;
    }
    rv = wcim_store_user_get(&user, &why, store, ctx->user_id, ctx->pool);
    if (rv == APR_NOTFOUND) {
        WCIM_LOG(&ctx->log, WCIM_LOG_INFO, 0, WCIMLOGNO(0120)
                 "3014: no student %s", ctx->user_id);
        return WCIM_STATUS(WCIM_RC_NO_SUCH_USER);
    }
    if (rv != APR_SUCCESS) {
        wcim_metrics_db_error(ctx->metrics);
        WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0121)
                 "reading student %s: %s", ctx->user_id, why);
        return rv;
    }
    rv = rongcloud_token(&token, ctx, display_name(&user),
                         user.avatar_url ? user.avatar_url : "");
    if (rv != APR_SUCCESS) {
        reply->result_msg = GET_TOKEN_FAILED_MSG;
        return WCIM_STATUS(WCIM_RC_FAILED);
    }
    reply->data = wcim_json_own(ctx->pool,
                                json_pack("{s:s}", "im_token", token));
    return reply->data ? APR_SUCCESS : APR_ENOMEM;
}

/* One group_chat_list item, keys in the order the old server sent them.
 * Without message routing: no last message (null), nothing unread.
 * Written straight into the answer: with a user in many clubs, building
 * jansson objects for it cost more than all the rest of the request. */
/* append_int relies on apr_off_t holding any 64-bit id */
typedef char wcim_off_t_holds_int64[sizeof(apr_off_t) >= 8 ? 1 : -1];

static void append_int(wcim_buf_t *b, apr_int64_t v)
{
    /* apr_off_t is 64 bits here; apr_off_t_toa is much cheaper than a
     * formatter, which counts with 50 clubs */
    const char *s = apr_off_t_toa(b->pool, (apr_off_t)v);
    wcim_buf_append(b, s, strlen(s));
}

static void append_group_item(wcim_buf_t *b, const wcim_group_t *g,
                              const char *im_group_id)
{
#define LIT(s) wcim_buf_append(b, s, sizeof(s) - 1)
    LIT("{\"im_group_id\":");
    wcim_json_append_string(b, im_group_id);
    LIT(",\"avatar_url\":");
    if (g->avatar_url) {
        wcim_json_append_string(b, g->avatar_url);
    }
    else {
        LIT("null");
    }
    LIT(",\"last_msg_content\":");
    if (g->last_content) {
        wcim_json_append_string(b, g->last_content);
    }
    else {
        LIT("null");
    }
    LIT(",\"club_id\":");
    append_int(b, g->club_id);
    LIT(",\"fresh_msg_count\":");
    append_int(b, g->fresh_count);
    LIT(",\"club_name\":");
    wcim_json_append_string(b, g->name);
    LIT(",\"last_msg_date\":");
    append_int(b, g->last_date);
    LIT("}");
#undef LIT
}

static apr_status_t get_group_chat_list(wcim_reply_t *reply, wcim_ctx_t *ctx)
{
    wcim_store_t *store;
    apr_array_header_t *groups, *sync;
    wcim_buf_t data;
    const char *why;
    apr_status_t rv;
    int i, listed = 0;

    if ((rv = open_store(&store, ctx)) != APR_SUCCESS) {
        return rv;
    }
    if (ctx->conf->messages) {
        rv = wcim_store_groups_list(&groups, &why, store, ctx->user_id,
                                    ctx->rc_user_id, ctx->pool);
        listed = (rv == APR_SUCCESS);
        if (!listed) {
            /* the list without previews beats no list */
            wcim_metrics_db_error(ctx->metrics);
            WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0133)
                     "reading the groups and messages of user %s: %s; "
                     "listing the groups without them", ctx->user_id, why);
        }
    }
    if (!listed) {
        rv = wcim_store_groups_list(&groups, &why, store, ctx->user_id, NULL,
                                    ctx->pool);
    }
    if (rv != APR_SUCCESS) {
        wcim_metrics_db_error(ctx->metrics);
        WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0130)
                 "reading the groups of user %s: %s", ctx->user_id, why);
        return rv;
    }
    sync = apr_array_make(ctx->pool, groups->nelts, sizeof(wcim_rc_group_t));
    wcim_buf_init(&data, ctx->pool, 64 + 256 * groups->nelts);
    wcim_buf_append(&data, "{\"group_chat_list\":", 19);
    for (i = 0; i < groups->nelts; ++i) {
        const wcim_group_t *g = &APR_ARRAY_IDX(groups, i, wcim_group_t);
        wcim_rc_group_t *rg = apr_array_push(sync);

        rg->id = apr_pstrcat(ctx->pool, RC_GROUP_PREFIX,
                             apr_off_t_toa(ctx->pool, (apr_off_t)g->club_id),
                             NULL);
        rg->name = g->name;
        wcim_buf_append(&data, i ? "," : "[", 1);
        append_group_item(&data, g, rg->id);
    }
    /* the old server sent null, not [], for a user with no group */
    if (groups->nelts) {
        wcim_buf_append(&data, "]}", 2);
    }
    else {
        wcim_buf_append(&data, "null}", 5);
    }
    reply->data_text = data.data;
    if (ctx->conf->group_sync) {
        ctx->sync_groups = sync;
    }
    return APR_SUCCESS;
}

void wcim_api_call(wcim_reply_t *reply, wcim_ctx_t *ctx, wcim_api_t api,
                   const char *body, apr_size_t len)
{
    apr_status_t rv;

    memset(reply, 0, sizeof(*reply));
    rv = check_request(ctx, body, len);
    if (rv == APR_SUCCESS) {
        ctx->rc_user_id = apr_pstrcat(ctx->pool, RC_USER_PREFIX,
                                      ctx->user_id, NULL);
        rv = (api == WCIM_API_GET_TOKEN) ? get_token(reply, ctx)
                                         : get_group_chat_list(reply, ctx);
    }
    reply->result_code = wcim_result_of(rv);
    if (rv != APR_SUCCESS) {
        reply->data = NULL;
        reply->data_text = NULL;
    }
}

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
    wcim_rc_t rc = rc_of(ctx);
    wcim_rc_error_t err;
    const char *synced = NULL, *after = NULL;
    apr_status_t rv;

    *presult = NULL;
    if (cache_get(&synced, ctx, WCIM_CACHE_SYNC, gs->key) == APR_SUCCESS
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
    cache_get(&after, ctx, WCIM_CACHE_SYNC, gs->key);
    if ((synced == NULL) != (after == NULL)
        || (synced && after && strcmp(synced, after) != 0)) {
        cache_put(ctx, gs->key, "-");
        return APR_SUCCESS;
    }
    cache_put(ctx, gs->key, gs->digest);
    WCIM_LOG(&ctx->log, WCIM_LOG_DEBUG, 0, WCIMLOGNO(0132)
             "synced %d groups of %s to RongCloud", ctx->sync_groups->nelts,
             ctx->rc_user_id);
    return APR_SUCCESS;
}

int wcim_api_group_sync_due(wcim_ctx_t *ctx)
{
    const char *synced;

    if (ctx->sync_groups == NULL) {
        return 0;
    }
    /* the usual case, nothing changed: no job, no call */
    if (cache_get(&synced, ctx, WCIM_CACHE_SYNC,
                  cache_key(ctx, GROUPS_KEY_PREFIX))
        == APR_SUCCESS
        && strcmp(synced, groups_digest(ctx->sync_groups, ctx->pool)) == 0) {
        ctx->sync_groups = NULL;
        return 0;
    }
    return 1;
}

apr_status_t wcim_api_group_sync_job(wcim_ctx_t **pjob, wcim_ctx_t *ctx,
                                     apr_pool_t *p)
{
    apr_array_header_t *groups;
    wcim_ctx_t *job;
    int i;

    *pjob = NULL;
    if (ctx->sync_groups == NULL) {
        return APR_SUCCESS;
    }
    /* everything the sync reads, copied out of the request; the shared
     * parts (configuration, cache, RongCloud handles) live as long as the
     * process */
    job = apr_pcalloc(p, sizeof(*job));
    job->pool = p;
    job->conf = ctx->conf;
    job->now = ctx->now;
    job->cache = ctx->cache;
    job->rc_client = ctx->rc_client;
    job->flight = ctx->flight;
    job->metrics = ctx->metrics;
    job->user_id = apr_pstrdup(p, ctx->user_id);
    job->rc_user_id = apr_pstrdup(p, ctx->rc_user_id);
    groups = apr_array_make(p, ctx->sync_groups->nelts,
                            sizeof(wcim_rc_group_t));
    for (i = 0; i < ctx->sync_groups->nelts; ++i) {
        const wcim_rc_group_t *g = &APR_ARRAY_IDX(ctx->sync_groups, i,
                                                  wcim_rc_group_t);
        wcim_rc_group_t *copy = apr_array_push(groups);
        copy->id = apr_pstrdup(p, g->id);
        copy->name = apr_pstrdup(p, g->name);
    }
    job->sync_groups = groups;
    ctx->sync_groups = NULL;
    *pjob = job;
    return APR_SUCCESS;
}

apr_status_t wcim_api_group_sync(wcim_ctx_t *job)
{
    group_sync_t gs;
    const char *result;
    int shared;
    apr_status_t rv;

    if (job->sync_groups == NULL) {
        return APR_SUCCESS;
    }
    gs.ctx = job;
    gs.key = cache_key(job, GROUPS_KEY_PREFIX);
    gs.digest = groups_digest(job->sync_groups, job->pool);
    rv = job->flight
        ? wcim_flight_do(&result, &shared, job->flight,
                         apr_pstrcat(job->pool, gs.key, " ", gs.digest, NULL),
                         apr_time_now() + job->conf->rc.timeout
                         + apr_time_from_sec(1),
                         group_sync_once, &gs, job->pool)
        : group_sync_once(&result, &gs, job->pool);
    job->sync_groups = NULL;
    return rv;
}

/* Refused callbacks are said at most every 10 s, with how many there
 * were: anyone can post to the routing address, and a flood of forgeries
 * must not flood the log (the rest go to the debug level). */
static volatile apr_uint32_t route_refused;       /* not said yet */
static volatile apr_uint64_t route_refused_said;  /* apr_time_t */

static void route_refusal_said(wcim_ctx_t *ctx, const char *why)
{
    apr_uint64_t last = apr_atomic_read64(&route_refused_said);
    apr_time_t now = apr_time_now();

    apr_atomic_inc32(&route_refused);
    if ((now < (apr_time_t)last
         || now - (apr_time_t)last > apr_time_from_sec(10))
        && apr_atomic_cas64(&route_refused_said, (apr_uint64_t)now, last)
           == last) {
        WCIM_LOG(&ctx->log, WCIM_LOG_WARNING, 0, WCIMLOGNO(0150)
                 "message routing post refused: %s (%u refused in this "
                 "process since the last such line)", why,
                 apr_atomic_xchg32(&route_refused, 0));
    }
    else {
        WCIM_LOG(&ctx->log, WCIM_LOG_DEBUG, 0, WCIMLOGNO(0157)
                 "message routing post refused: %s", why);
    }
}

apr_status_t wcim_api_route_check(wcim_ctx_t *ctx, const char *nonce,
                                  const char *timestamp,
                                  const char *signature)
{
    const char *why, *seen, *key;
    apr_status_t rv;

    ctx->route_nonce_key = NULL;
    rv = wcim_routing_verify(&why, ctx->conf->rc.app_secret, nonce, timestamp,
                             signature, ctx->now, ctx->conf->callback_window,
                             ctx->pool);
    if (rv == APR_SUCCESS) {
        /* The signature covers neither the body nor the server: a nonce
         * used once inside the window is all that stops a replay. The
         * timestamp is digits only, so the last ':' ends the nonce. */
        key = apr_pstrcat(ctx->pool, "cbn:", nonce, ":", timestamp, NULL);
        if (cache_get(&seen, ctx, WCIM_CACHE_NONCE, key) == APR_SUCCESS) {
            why = "nonce seen before (a replay)";
            rv = APR_EACCES;
        }
        else {
            /* marked used only once the post is stored: RongCloud's retry
             * of a post that failed here comes with the same query */
            ctx->route_nonce_key = key;
        }
    }
    if (rv != APR_SUCCESS) {
        route_refusal_said(ctx, why);
    }
    return rv;
}

/* A routed time RongCloud could have sent now: not older than what is
 * kept, not later than the clock difference callbacks may have. */
static const char *routed_time_refusal(const wcim_ctx_t *ctx, apr_int64_t t)
{
    apr_int64_t now = apr_time_as_msec(ctx->now);

    if (t < now - apr_time_as_msec(ctx->conf->message_max_age)) {
        return "older than WeclubsIMMessageMaxAge";
    }
    if (t > now + apr_time_as_msec(ctx->conf->callback_window)) {
        return "in the future (beyond WeclubsIMCallbackWindow)";
    }
    return NULL;
}

static apr_status_t route_store(wcim_routed_t *pkind, wcim_ctx_t *ctx,
                                const wcim_routed_post_t *post)
{
    wcim_store_t *store;
    wcim_message_t msg;
    const char *why;
    apr_status_t rv;

    *pkind = wcim_routing_classify(&msg, &why, post,
                                   ctx->conf->message_labels, ctx->pool);
    if (*pkind == WCIM_ROUTED_IGNORED) {
        WCIM_LOG(&ctx->log, WCIM_LOG_DEBUG, 0, WCIMLOGNO(0151)
                 "routed message %s not stored: %s",
                 post->msg_uid ? post->msg_uid : "-", why);
        return APR_SUCCESS;
    }
    if ((why = routed_time_refusal(ctx, msg.time)) != NULL) {
        WCIM_LOG(&ctx->log, WCIM_LOG_INFO, 0, WCIMLOGNO(0156)
                 "routed message %s from %s not stored: its time %"
                 APR_INT64_T_FMT " is %s", msg.uid, msg.from_user, msg.time,
                 why);
        *pkind = WCIM_ROUTED_IGNORED;
        return APR_SUCCESS;
    }
    if ((rv = open_store(&store, ctx)) != APR_SUCCESS) {
        return rv;
    }
    if (*pkind == WCIM_ROUTED_READ_MARK) {
        rv = wcim_store_read_mark(&why, store, msg.from_user, msg.club_id,
                                  msg.time, ctx->pool);
    }
    else if (*pkind == WCIM_ROUTED_RECALL) {
        rv = wcim_store_message_recall(&why, store, msg.club_id,
                                       msg.recalled_uid, msg.preview,
                                       ctx->pool);
    }
    else {
        rv = wcim_store_message_add(&why, store, &msg, ctx->pool);
        if (rv == APR_EEXIST) {
            WCIM_LOG(&ctx->log, WCIM_LOG_DEBUG, 0, WCIMLOGNO(0152)
                     "routed message %s seen before", msg.uid);
            return APR_SUCCESS;
        }
    }
    if (rv != APR_SUCCESS) {
        wcim_metrics_db_error(ctx->metrics);
        WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0153)
                 "storing routed message %s: %s", msg.uid, why);
    }
    return rv;
}

apr_status_t wcim_api_route(wcim_routed_t *pkind, wcim_ctx_t *ctx,
                            const wcim_routed_post_t *post)
{
    apr_status_t rv = route_store(pkind, ctx, post);

    if (rv == APR_SUCCESS && ctx->route_nonce_key) {
        cache_put_ttl(ctx, ctx->route_nonce_key, "1",
                      2 * ctx->conf->callback_window);
    }
    return rv;
}

apr_status_t wcim_api_prune(wcim_ctx_t *ctx)
{
    wcim_store_t *store;
    const char *why;
    int deleted = 0;
    apr_status_t rv;

    if ((rv = open_store(&store, ctx)) != APR_SUCCESS) {
        return rv;
    }
    rv = wcim_store_messages_prune(&deleted, &why, store,
                                   apr_time_as_msec(ctx->now
                                       - ctx->conf->message_max_age),
                                   ctx->pool);
    if (rv != APR_SUCCESS) {
        wcim_metrics_db_error(ctx->metrics);
        WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0154)
                 "pruning old messages: %s", why);
    }
    else if (deleted) {
        WCIM_LOG(&ctx->log, WCIM_LOG_INFO, 0, WCIMLOGNO(0155)
                 "pruned %d messages older than WeclubsIMMessageMaxAge",
                 deleted);
    }
    return rv;
}
