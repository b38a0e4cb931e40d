/* RongCloud tokens for get_token: from the cache when RongCloud has the
 * user's current name and portrait, after a user/refresh when it has old
 * ones, else from one getToken call per user at a time in a process. A
 * token held is not served when it is older than the lifetime RongCloud
 * gives tokens, or when the student asks again soon after his last ask
 * (his token most likely stopped working) and it is not itself fresh. */
#ifndef WCIM_TOKENS_H
#define WCIM_TOKENS_H

#include "wcim_api.h"
#include "wcim_config.h"

/* What becomes of a token held (cache or table) for a get_token. */
typedef enum {
    WCIM_HELD_SERVE,          /* served */
    WCIM_HELD_TOO_OLD,        /* past WeclubsIMRongCloudTokenLifetime, less
                               * the margin: a new one is fetched */
    WCIM_HELD_RECHECK         /* asked again within WeclubsIMTokenRecheck
                               * and not fetched within it: a new one */
} wcim_held_t;

/* A token's lifetime less this is the most it is served: a token given
 * out just before RongCloud ends it would fail the student at once. */
#define WCIM_RC_TOKEN_MARGIN(lifetime) \
    ((lifetime) / 10 < apr_time_from_sec(3600) ? (lifetime) / 10 \
                                               : apr_time_from_sec(3600))

/* The fate of a token issued at `issued` (ms; 0: unknown), for a student
 * whose previous get_token was at `asked` (ms; 0: none known), now. */
wcim_held_t wcim_tokens_held(const wcim_config_t *conf, apr_int64_t issued,
                             apr_int64_t asked, apr_int64_t now);

/* The get_token endpoint, for a checked request. user: the student as
 * read with the token (token_user), with user_rv APR_SUCCESS or
 * APR_NOTFOUND; NULL when it is still to be read. */
apr_status_t wcim_tokens_get(wcim_reply_t *reply, wcim_ctx_t *ctx,
                             const wcim_user_t *user, apr_status_t user_rv);

/* What RongCloud is given of a student: his display name (the real name,
 * else the nickname), a digest of it with his portrait (the "profile"
 * the cache and the token table keep), and the cache's entry of a token
 * held ("<profile> <issued ms> <token>"). */
const char *wcim_tokens_display_name(const wcim_user_t *u);
const char *wcim_tokens_profile(const char *name, const char *portrait,
                                apr_pool_t *p);
const char *wcim_tokens_entry(apr_pool_t *p, const char *profile,
                              apr_int64_t issued, const char *token);

#endif
