/* RongCloud's message routing posts as the core applies them
 * (wcim_route_apply.c): their signature and nonce, storing what they say,
 * pruning old messages. */
#ifndef WCIM_ROUTE_APPLY_H
#define WCIM_ROUTE_APPLY_H

#include "wcim_api.h"

/* A message routing post's nonce, timestamp and signature: APR_EACCES
 * when the signature is wrong or stale, or the cache remembers the nonce
 * of a post that was stored. Else ctx->route_nonce_key is the nonce's
 * digest, for wcim_api_route. */
apr_status_t wcim_api_route_check(wcim_ctx_t *ctx, const char *nonce,
                                  const char *timestamp,
                                  const char *signature);

/* Store what a checked post says; *pkind tells what it was. The nonce is
 * taken first, in the database (t_im_nonce): APR_EACCES when it was taken
 * before (a replay: one of the posts of a signed query wins), APR_EAGAIN
 * when it cannot be taken (the table missing or failing: logged, nothing
 * stored). Messages and read marks whose time lies outside [now -
 * WeclubsIMMessageMaxAge, now + WeclubsIMCallbackWindow] are logged and
 * ignored. Another error: the database failed, and the nonce was given
 * back for RongCloud's retry. */
apr_status_t wcim_api_route(wcim_routed_t *pkind, wcim_ctx_t *ctx,
                            const wcim_routed_post_t *post);

/* Delete routed messages older than WeclubsIMMessageMaxAge, and nonces
 * taken more than twice WeclubsIMCallbackWindow ago. */
apr_status_t wcim_api_prune(wcim_ctx_t *ctx);

#endif
