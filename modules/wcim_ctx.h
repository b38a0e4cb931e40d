/* What the core's services share over a request's context: its store,
 * its cache (counted per kind of entry; a failing cache is a miss), cache
 * keys, and the RongCloud client as the request uses it. Internal to the
 * core (modules/). */
#ifndef WCIM_CTX_H
#define WCIM_CTX_H

#include "wcim_api.h"
#include "wcim_rongcloud.h"

#define WCIM_RC_USER_PREFIX  "im_user_id_"
#define WCIM_RC_GROUP_PREFIX "im_club_id_"
/* cache keys: a user's RongCloud token ("<profile> <issued ms> <token>",
 * the profile a digest of the name and portrait RongCloud was last given),
 * when he last asked for it (ms), and the digest of the user's group set
 * last synced */
#define WCIM_TOKEN_KEY_PREFIX "tok:"
#define WCIM_ASKED_KEY_PREFIX "ask:"
#define WCIM_GROUPS_KEY_PREFIX "grp:"

/* The request's store; a failure is logged (WCIM0145) and counted. */
apr_status_t wcim_ctx_store(wcim_store_t **pstore, wcim_ctx_t *ctx);

/* APR_NOTFOUND on a miss, also when the cache failed (logged) or there is
 * none. */
apr_status_t wcim_ctx_cache_get(const char **pvalue, wcim_ctx_t *ctx,
                                wcim_cache_kind_t kind, const char *key);
void wcim_ctx_cache_put_ttl(wcim_ctx_t *ctx, const char *key,
                            const char *value, apr_interval_time_t ttl);
/* ... for WeclubsIMCacheTTL */
void wcim_ctx_cache_put(wcim_ctx_t *ctx, const char *key, const char *value);

/* prefix + the RongCloud app (App Key and a digest of the App Secret) +
 * the request's RongCloud user */
const char *wcim_ctx_cache_key(const wcim_ctx_t *ctx, const char *prefix);

/* The RongCloud client as this request uses it. */
wcim_rc_t wcim_ctx_rc(wcim_ctx_t *ctx);

#endif
