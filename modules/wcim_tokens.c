/* RongCloud tokens for get_token (wcim_tokens.h). */
#include <string.h>
#include <apr_strings.h>

#include "wcim_tokens.h"
#include "wcim_ctx.h"
#include "wcim_digest.h"
#include "wcim_json.h"
#include "wcim_result.h"

#define GET_TOKEN_FAILED_MSG "获取token失败，请检查后重试"

/* Display name as the old server chose it: real name, else nickname. */
const char *wcim_tokens_display_name(const wcim_user_t *u)
{
    if (u->real_name && *u->real_name) {
        return u->real_name;
    }
    return (u->nick_name && *u->nick_name) ? u->nick_name : "";
}

const char *wcim_tokens_profile(const char *name, const char *portrait,
                                apr_pool_t *p)
{
    char *hex = apr_palloc(p, WCIM_SHA1_HEX_LEN + 1);
    const char *both = apr_pstrcat(p, name, "\n", portrait, NULL);

    wcim_sha1_hex(hex, both, strlen(both), 0);
    return hex;
}

wcim_held_t wcim_tokens_held(const wcim_config_t *conf, apr_int64_t issued,
                             apr_int64_t asked, apr_int64_t now)
{
    apr_int64_t lifetime = apr_time_as_msec(conf->rc_token_lifetime);
    apr_int64_t recheck = apr_time_as_msec(conf->token_recheck);

    if (lifetime > 0 && now - issued
        >= lifetime - apr_time_as_msec(WCIM_RC_TOKEN_MARGIN(
                                           conf->rc_token_lifetime))) {
        return WCIM_HELD_TOO_OLD;
    }
    if (recheck > 0 && asked > 0 && now - asked < recheck
        && now - issued >= recheck) {
        return WCIM_HELD_RECHECK;
    }
    return WCIM_HELD_SERVE;
}

typedef struct {
    wcim_ctx_t *ctx;
    wcim_store_t *store;    /* for the token table (WeclubsIMTokenStore db) */
    const char *key, *name, *portrait, *profile;
    apr_int64_t replaced;   /* issue time of a token held that must not be
                             * served; a token is taken only if newer */
} token_fetch_t;

/* A token held: "<profile> <issued ms> <token>" in the cache. */
typedef struct {
    const char *token;
    apr_int64_t issued;     /* 0: unknown (an entry of an older version) */
    int current;            /* RongCloud has the profile given */
} held_t;

const char *wcim_tokens_entry(apr_pool_t *p, const char *profile,
                              apr_int64_t issued, const char *token)
{
    return apr_psprintf(p, "%s %" APR_INT64_T_FMT " %s", profile, issued,
                        token);
}

/* The app whose tokens the table keeps, as the cache key names it. */
static const char *app_key(const wcim_ctx_t *ctx)
{
    return ctx->conf->rc.app_key ? ctx->conf->rc.app_key : "-";
}

/* The user's row of the token table, when it holds a token of the current
 * App Secret; the row goes into the cache, in front of the table.
 * APR_NOTFOUND when there is no usable row, also when the table failed:
 * that is logged and counted, and RongCloud is asked instead. */
static apr_status_t stored_token(held_t *held, token_fetch_t *tf)
{
    wcim_ctx_t *ctx = tf->ctx;
    wcim_rc_token_row_t row;
    const char *why = NULL;
    apr_status_t rv;

    rv = wcim_store_rc_token_get(&row, &why, tf->store, app_key(ctx),
                                 ctx->rc_user_id, ctx->pool);
    if (rv != APR_SUCCESS) {
        if (rv != APR_NOTFOUND) {
            wcim_metrics_db_error(ctx->metrics);
            WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0127)
                     "reading the token table for %s (RongCloud is asked "
                     "instead): %s", ctx->rc_user_id, why);
        }
        return APR_NOTFOUND;
    }
    /* a token of another App Secret is dead; an empty one is no token */
    if (strcmp(row.secret_tag, ctx->conf->rc.secret_tag) != 0
        || *row.token == '\0' || strchr(row.profile, ' ') != NULL
        || strchr(row.token, ' ') != NULL) {
        return APR_NOTFOUND;
    }
    wcim_ctx_cache_put(ctx, tf->key, wcim_tokens_entry(ctx->pool, row.profile,
                                                row.issued, row.token));
    held->token = row.token;
    held->issued = row.issued;
    held->current = strcmp(row.profile, tf->profile) == 0;
    return APR_SUCCESS;
}

/* Keep the user's token, when RongCloud issued it and the profile
 * RongCloud has in the token table (WeclubsIMTokenStore db). A failure is
 * logged and counted, and costs only a later getToken: the cache has the
 * token meanwhile. */
static void save_token(token_fetch_t *tf, const char *token,
                       apr_int64_t issued, apr_pool_t *p)
{
    wcim_ctx_t *ctx = tf->ctx;
    wcim_rc_token_row_t row;
    const char *why = NULL;

    if (tf->store == NULL) {
        return;
    }
    row.secret_tag = ctx->conf->rc.secret_tag;
    row.profile = tf->profile;
    row.token = token;
    row.issued = issued;
    if (wcim_store_rc_token_put(&why, tf->store, app_key(ctx),
                                ctx->rc_user_id, &row, p) != APR_SUCCESS) {
        wcim_metrics_db_error(ctx->metrics);
        WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0128)
                 "writing the token table for %s: %s", ctx->rc_user_id,
                 why);
    }
}

/* A cached entry: the token, when it was issued, and whether RongCloud
 * has the profile given. APR_NOTFOUND when there is no usable entry. An
 * entry without the time ("<profile> <token>", before tokens' ages were
 * kept) is a token of unknown age. */
static apr_status_t cached_token(held_t *held, wcim_ctx_t *ctx,
                                 const char *key, const char *profile)
{
    const char *cached, *sep, *rest, *sp;
    char *end;

    if (wcim_ctx_cache_get(&cached, ctx, WCIM_CACHE_TOKEN, key) != APR_SUCCESS
        || (sep = strchr(cached, ' ')) == NULL || sep[1] == '\0') {
        return APR_NOTFOUND;
    }
    rest = sep + 1;
    held->issued = 0;
    if ((sp = strchr(rest, ' ')) != NULL) {
        held->issued = apr_strtoi64(rest, &end, 10);
        if (end != sp || held->issued < 0 || sp[1] == '\0') {
            return APR_NOTFOUND;
        }
        rest = sp + 1;
    }
    held->token = rest;
    held->current = (apr_size_t)(sep - cached) == strlen(profile)
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
    wcim_rc_t rc = wcim_ctx_rc(ctx);
    wcim_rc_error_t err;
    held_t held;
    apr_int64_t issued;
    apr_status_t rv;

    /* a call that ended between our cache miss and now has cached it */
    if (cached_token(&held, ctx, tf->key, tf->profile) == APR_SUCCESS
        && held.current && held.issued > tf->replaced
        && wcim_tokens_held(ctx->conf, held.issued, 0,
                            apr_time_as_msec(apr_time_now()))
           == WCIM_HELD_SERVE) {
        *ptoken = held.token;
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
    issued = apr_time_as_msec(apr_time_now());
    save_token(tf, *ptoken, issued, p);
    wcim_ctx_cache_put(ctx, tf->key, wcim_tokens_entry(p, tf->profile, issued,
                                                *ptoken));
    return APR_SUCCESS;
}

#define ASKED_RESOLUTION_MS 1000

/* When the student last asked for his token (ms), 0 when not within
 * WeclubsIMTokenRecheck as far as the cache knows; then now is noted. */
static apr_int64_t asked_before(wcim_ctx_t *ctx, apr_int64_t now)
{
    const char *key, *value;
    apr_int64_t asked = 0;
    char *end;

    if (ctx->conf->token_recheck <= 0 || ctx->cache == NULL) {
        return 0;
    }
    key = wcim_ctx_cache_key(ctx, WCIM_ASKED_KEY_PREFIX);
    if (wcim_ctx_cache_get(&value, ctx, WCIM_CACHE_TOKEN, key)
        == APR_SUCCESS) {
        asked = apr_strtoi64(value, &end, 10);
        if (*end != '\0' || asked < 0) {
            asked = 0;
        }
    }
    /* noted to the second: a student asking many times a second costs one
     * cache write a second, not one each (shmcb writes each entry anew
     * into its ring; a TTL one second more than the window: providers
     * count TTLs in seconds) */
    if (asked == 0 || now - asked >= ASKED_RESOLUTION_MS) {
        wcim_ctx_cache_put_ttl(ctx, key, apr_psprintf(ctx->pool, "%"
                                                      APR_INT64_T_FMT, now),
                               ctx->conf->token_recheck
                               + apr_time_from_sec(1));
    }
    return asked;
}

/* The user's RongCloud token: from the cache (or, with the token table,
 * from its row) when RongCloud already has the user's current name and
 * portrait, after a user/refresh when it has old ones, else (also when
 * the token held is too old or most likely stopped working) from one
 * getToken call. */
static apr_status_t rongcloud_token(const char **ptoken, wcim_ctx_t *ctx,
                                    wcim_store_t *store, const char *name,
                                    const char *portrait)
{
    token_fetch_t tf;
    const char *from = "cache";
    apr_int64_t now = apr_time_as_msec(apr_time_now()), asked;
    held_t held;
    int shared;
    apr_status_t rv;

    tf.ctx = ctx;
    tf.store = ctx->conf->token_store_db ? store : NULL;
    tf.key = wcim_ctx_cache_key(ctx, WCIM_TOKEN_KEY_PREFIX);
    tf.name = name;
    tf.portrait = portrait;
    tf.profile = wcim_tokens_profile(name, portrait, ctx->pool);
    tf.replaced = 0;

    asked = asked_before(ctx, now);
    rv = cached_token(&held, ctx, tf.key, tf.profile);
    if (rv != APR_SUCCESS && tf.store) {
        rv = stored_token(&held, &tf);
        from = "token table";
    }
    if (rv == APR_SUCCESS) {
        wcim_held_t fate = wcim_tokens_held(ctx->conf, held.issued, asked,
                                            now);
        if (fate != WCIM_HELD_SERVE) {
            /* a token issued no later than this one is not taken, even
             * from a call that ends meanwhile */
            tf.replaced = held.issued > 0 ? held.issued : 1;
            wcim_metrics_token_replaced(ctx->metrics,
                                        fate == WCIM_HELD_TOO_OLD);
            WCIM_LOG(&ctx->log, WCIM_LOG_INFO, 0, WCIMLOGNO(0129)
                     "RongCloud token of %s replaced: %s", ctx->rc_user_id,
                     fate == WCIM_HELD_TOO_OLD
                     ? "older than WeclubsIMRongCloudTokenLifetime allows"
                     : "asked again within WeclubsIMTokenRecheck (the one "
                       "held most likely stopped working)");
        }
        else if (held.current) {
            WCIM_LOG(&ctx->log, WCIM_LOG_DEBUG, 0, WCIMLOGNO(0123)
                     "RongCloud token of %s from the %s", ctx->rc_user_id,
                     from);
            *ptoken = held.token;
            return APR_SUCCESS;
        }
        else {
            wcim_rc_t rc = wcim_ctx_rc(ctx);
            wcim_rc_error_t err;

            *ptoken = held.token;
            rv = wcim_rc_refresh_user(&err, &rc, ctx->rc_user_id, name,
                                      portrait, ctx->pool);
            if (rv == APR_SUCCESS) {
                WCIM_LOG(&ctx->log, WCIM_LOG_INFO, 0, WCIMLOGNO(0124)
                         "name or portrait of %s pushed to RongCloud",
                         ctx->rc_user_id);
                /* the token's age is RongCloud's, not the refresh's */
                save_token(&tf, held.token, held.issued, ctx->pool);
                wcim_ctx_cache_put(ctx, tf.key,
                                   wcim_tokens_entry(ctx->pool, tf.profile,
                                              held.issued, held.token));
            }
            else {
                /* the token stays valid; the refresh is tried again on
                 * the next call since the cache (and the table) still
                 * have the old one */
                WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0125)
                         "RongCloud user refresh for %s failed: %s",
                         ctx->rc_user_id, wcim_rc_error_text(&err,
                                                             ctx->pool));
            }
            return APR_SUCCESS;
        }
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

apr_status_t wcim_tokens_get(wcim_reply_t *reply, wcim_ctx_t *ctx,
                             const wcim_user_t *user, apr_status_t user_rv)
{
    wcim_store_t *store;
    wcim_user_t read;
    const char *why = NULL, *token;
    apr_status_t rv;

    if ((rv = wcim_ctx_store(&store, ctx)) != APR_SUCCESS) {
        return rv;
    }
    if (user) {
        rv = user_rv;
    }
    else {
        rv = wcim_store_user_get(&read, &why, store, ctx->user_id, ctx->pool);
        user = &read;
    }
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
    rv = rongcloud_token(&token, ctx, store, wcim_tokens_display_name(user),
                         user->avatar_url ? user->avatar_url : "");
    if (rv != APR_SUCCESS) {
        reply->result_msg = GET_TOKEN_FAILED_MSG;
        return WCIM_STATUS(WCIM_RC_FAILED);
    }
    reply->data = wcim_json_own(ctx->pool,
                                json_pack("{s:s}", "im_token", token));
    return reply->data ? APR_SUCCESS : APR_ENOMEM;
}

