/* RongCloud tokens for get_token: from the cache when RongCloud has the
 * user's current name and portrait, after a user/refresh when it has old
 * ones, else from one getToken call per user at a time in a process. */
#ifndef WCIM_TOKENS_H
#define WCIM_TOKENS_H

#include "wcim_api.h"

/* The get_token endpoint, for a checked request. user: the student as
 * read with the token (token_user), with user_rv APR_SUCCESS or
 * APR_NOTFOUND; NULL when it is still to be read. */
apr_status_t wcim_tokens_get(wcim_reply_t *reply, wcim_ctx_t *ctx,
                             const wcim_user_t *user, apr_status_t user_rv);

#endif
