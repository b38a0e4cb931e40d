/* RongCloud's message routing posts: their signature and nonce, storing
 * what they say (messages, read marks, recalls) within the times that make
 * sense, and pruning old messages (wcim_api.h). */
#include <string.h>
#include <apr_atomic.h>
#include <apr_strings.h>

#include "wcim_api.h"
#include "wcim_route_apply.h"
#include "wcim_ctx.h"
#include "wcim_digest.h"
#include "wcim_route_parse.h"

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

static const char *nonce_cache_key(wcim_ctx_t *ctx)
{
    return apr_pstrcat(ctx->pool, "cbn:", ctx->route_nonce_key, NULL);
}

apr_status_t wcim_api_route_check(wcim_ctx_t *ctx, const char *nonce,
                                  const char *timestamp,
                                  const char *signature)
{
    char digest[WCIM_SHA1_HEX_LEN + 1];
    const char *why, *seen, *plain;
    apr_status_t rv;

    ctx->route_nonce_key = NULL;
    rv = wcim_routing_verify(&why, ctx->conf->rc.app_secret, nonce, timestamp,
                             signature, ctx->now, ctx->conf->callback_window,
                             ctx->pool);
    if (rv == APR_SUCCESS) {
        /* The signature covers neither the body nor the server: a nonce
         * used once inside the window is all that stops a replay. Known
         * by a digest, of a fixed size whatever the nonce (redis and
         * memcache refuse keys over 250 bytes); the timestamp is digits
         * only, so the last ':' ends the nonce. */
        plain = apr_pstrcat(ctx->pool, nonce, ":", timestamp, NULL);
        wcim_sha1_hex(digest, plain, strlen(plain), 0);
        ctx->route_nonce_key = apr_pstrdup(ctx->pool, digest);
        /* the cache only says early "seen" for a replay of a stored post,
         * before its body is read; a miss or a failing cache proves
         * nothing: the database decides (wcim_api_route) */
        if (wcim_ctx_cache_get(&seen, ctx, WCIM_CACHE_NONCE,
                               nonce_cache_key(ctx)) == APR_SUCCESS) {
            why = "nonce seen before (a replay)";
            rv = APR_EACCES;
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
                                wcim_store_t *store,
                                const wcim_routed_post_t *post)
{
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
    if (*pkind == WCIM_ROUTED_READ_MARK) {
        rv = wcim_store_read_mark(&why, store, msg.from_user, msg.club_id,
                                  msg.time, ctx->pool);
    }
    else if (*pkind == WCIM_ROUTED_RECALL) {
        rv = wcim_store_message_recall(&why, store, msg.club_id,
                                       msg.recalled_uid, msg.from_user,
                                       msg.preview, ctx->pool);
        if (rv == APR_EACCES) {
            /* anyone in the group can post a recall naming any message */
            WCIM_LOG(&ctx->log, WCIM_LOG_INFO, 0, WCIMLOGNO(0168)
                     "recall %s of message %s by %s kept the message: "
                     "another user sent it", msg.uid, msg.recalled_uid,
                     msg.from_user);
            return APR_SUCCESS;
        }
    }
    else {
        /* a repeat (APR_EEXIST) has had its group's state written again:
         * the retry of a post whose state write failed */
        rv = wcim_store_message_add(&why, store, &msg, ctx->pool);
        if (rv == APR_EEXIST) {
            WCIM_LOG(&ctx->log, WCIM_LOG_DEBUG, 0, WCIMLOGNO(0152)
                     "routed message %s seen before (its group's last "
                     "message brought up to date)", msg.uid);
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

/* Take the checked post's nonce in the database before anything is
 * stored: one of the posts of a signed query wins, whatever the cache and
 * however many connections or nodes they reach. APR_EACCES: a replay;
 * APR_EAGAIN: replay protection cannot be checked (logged). */
static apr_status_t route_take_nonce(wcim_ctx_t *ctx, wcim_store_t *store)
{
    const char *why = NULL;
    apr_status_t rv;

    if (!wcim_store_ready(store, WCIM_STMT_NONCE_ADD)
        || !wcim_store_ready(store, WCIM_STMT_NONCE_EXISTS)) {
        WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0166)
                 "message routing post refused (503): its nonce cannot be "
                 "taken, the nonce statements are not prepared; create "
                 "the table t_im_nonce with sql/%s/nonces.sql (see "
                 "WCIM0211 for the database's message)",
                 wcim_store_sql_dir(store));
        return APR_EAGAIN;
    }
    rv = wcim_store_nonce_take(&why, store, ctx->route_nonce_key,
                               apr_time_as_msec(ctx->now), ctx->pool);
    if (rv == APR_EEXIST) {
        route_refusal_said(ctx, "nonce seen before (a replay)");
        return APR_EACCES;
    }
    if (rv != APR_SUCCESS) {
        wcim_metrics_db_error(ctx->metrics);
        WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0165)
                 "message routing post refused (503): its nonce cannot be "
                 "checked for a replay: %s", why ? why : "unknown error");
        return APR_EAGAIN;
    }
    return APR_SUCCESS;
}

apr_status_t wcim_api_route(wcim_routed_t *pkind, wcim_ctx_t *ctx,
                            const wcim_routed_post_t *post)
{
    wcim_store_t *store;
    const char *why = NULL;
    apr_status_t rv;

    *pkind = WCIM_ROUTED_IGNORED;
    if ((rv = wcim_ctx_store(&store, ctx)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = route_take_nonce(ctx, store)) != APR_SUCCESS) {
        return rv;
    }
    rv = route_store(pkind, ctx, store, post);
    if (rv != APR_SUCCESS) {
        /* RongCloud's retry of a post that failed here comes with the
         * same query */
        if (wcim_store_nonce_give_back(&why, store, ctx->route_nonce_key,
                                       ctx->pool) != APR_SUCCESS) {
            WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0167)
                     "a message routing post that could not be stored "
                     "keeps its nonce, so RongCloud's retry of it will be "
                     "refused as a replay: %s", why);
        }
        return rv;
    }
    /* the cache refuses later replays before their bodies are read */
    wcim_ctx_cache_put_ttl(ctx, nonce_cache_key(ctx), "1",
                           2 * ctx->conf->callback_window);
    return APR_SUCCESS;
}

apr_status_t wcim_api_prune(wcim_ctx_t *ctx)
{
    wcim_store_t *store;
    const char *why;
    int deleted = 0;
    apr_status_t rv;

    if ((rv = wcim_ctx_store(&store, ctx)) != APR_SUCCESS) {
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
    /* a nonce is refused by its signature once its timestamp is a window
     * away, and the timestamp may be a window ahead of when it was taken:
     * kept for two windows (without the table, posts say WCIM0166) */
    if (wcim_store_ready(store, WCIM_STMT_NONCE_PRUNE)
        && wcim_store_nonces_prune(&deleted, &why, store,
                                   apr_time_as_msec(ctx->now
                                       - 2 * ctx->conf->callback_window),
                                   ctx->pool) != APR_SUCCESS) {
        wcim_metrics_db_error(ctx->metrics);
        WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0158)
                 "pruning the routing posts' old nonces: %s", why);
        rv = APR_EGENERAL;
    }
    return rv;
}
