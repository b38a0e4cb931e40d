/* The weclubs user token (protocol.md section 4):
 *   base64( md5hex(md5hex(password + user_id) + caller) + "_date=" + create_date )
 * issued at login and stored in t_token, one row per (uid, caller). */
#ifndef WCIM_LOGIN_TOKEN_H
#define WCIM_LOGIN_TOKEN_H

#include <apr_pools.h>
#include <apr_time.h>

/* The t_token row of a user and caller. */
typedef struct wcim_token_row_t {
    const char *token;
    const char *create_date;   /* decimal ms since the epoch */
} wcim_token_row_t;

/* APR_SUCCESS when `given` is the user's valid token: it equals the stored
 * token (constant time), it decodes to "<digest>_date=<create_date>" with
 * the row's create_date, and, when lifetime_ms > 0, fewer than lifetime_ms
 * have passed since that date. Otherwise WCIM_STATUS(3010), with the reason
 * in *pwhy for the log (it never quotes a token). */
apr_status_t wcim_token_verify(const char **pwhy, const char *given,
                               apr_size_t given_len,
                               const wcim_token_row_t *row,
                               apr_int64_t lifetime_ms, apr_time_t now,
                               apr_pool_t *p);

/* Split a token into its digest and creation date (ms). APR_EINVAL when it
 * is not base64 of exactly one "<digest>_date=<digits>". */
apr_status_t wcim_token_decode(const char **pdigest, apr_int64_t *pdate,
                               const char *token, apr_size_t len,
                               apr_pool_t *p);

#endif
