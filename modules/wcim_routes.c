/* RongCloud's message routing posts: their signature and nonce, storing
 * what they say (messages, read marks, recalls) within the times that make
 * sense, and pruning old messages (wcim_api.h). */
#include <string.h>
#include <apr_atomic.h>
#include <apr_strings.h>

#include "wcim_api.h"
#include "wcim_ctx.h"
#include "wcim_routing.h"

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
        if (wcim_ctx_cache_get(&seen, ctx, WCIM_CACHE_NONCE, key) == APR_SUCCESS) {
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
    if ((rv = wcim_ctx_store(&store, ctx)) != APR_SUCCESS) {
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

apr_status_t wcim_api_route(wcim_routed_t *pkind, wcim_ctx_t *ctx,
                            const wcim_routed_post_t *post)
{
    apr_status_t rv = route_store(pkind, ctx, post);

    if (rv == APR_SUCCESS && ctx->route_nonce_key) {
        wcim_ctx_cache_put_ttl(ctx, ctx->route_nonce_key, "1",
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
    return rv;
}
