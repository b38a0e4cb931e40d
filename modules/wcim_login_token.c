#include <string.h>
#include <apr_base64.h>
#include <apr_strings.h>

#include "wcim_login_token.h"
#include "wcim_decimal.h"
#include "wcim_digest.h"
#include "wcim_result.h"

#define DATE_SEP     "_date="
#define DATE_SEP_LEN (sizeof(DATE_SEP) - 1)
#define DATE_MAX_DIGITS 18

static int is_base64(const char *s, apr_size_t len)
{
    apr_size_t i, pad = 0;

    if (len == 0 || len % 4 != 0) {
        return 0;
    }
    for (i = 0; i < len; ++i) {
        char c = s[i];
        if (c == '=') {
            if (++pad > 2) {
                return 0;
            }
        }
        else if (pad || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
                          || (c >= '0' && c <= '9') || c == '+' || c == '/')) {
            return 0;
        }
    }
    return 1;
}

apr_status_t wcim_token_decode(const char **pdigest, apr_int64_t *pdate,
                               const char *token, apr_size_t len,
                               apr_pool_t *p)
{
    char *plain;
    const char *sep, *date;
    int plain_len;

    if (!is_base64(token, len)) {
        return APR_EINVAL;
    }
    /* apr_base64_decode reads up to a terminator, not len bytes */
    token = apr_pstrmemdup(p, token, len);
    plain = apr_palloc(p, apr_base64_decode_len(token));
    plain_len = apr_base64_decode(plain, token);
    /* exactly one separator, as Java's split("_date=") into two parts */
    sep = memchr(plain, '\0', plain_len) ? NULL : strstr(plain, DATE_SEP);
    if (sep == NULL || strstr(sep + DATE_SEP_LEN, DATE_SEP) != NULL) {
        return APR_EINVAL;
    }
    date = sep + DATE_SEP_LEN;
    if (wcim_decimal_parse(pdate, date, plain_len - (date - plain),
                           DATE_MAX_DIGITS) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    *pdigest = apr_pstrmemdup(p, plain, sep - plain);
    return APR_SUCCESS;
}

apr_status_t wcim_token_verify(const char **pwhy, const char *given,
                               apr_size_t given_len,
                               const wcim_token_row_t *row,
                               apr_int64_t lifetime_ms, apr_time_t now,
                               apr_pool_t *p)
{
    const char *digest;
    apr_int64_t date, stored_date, now_ms = apr_time_as_msec(now);

    *pwhy = NULL;
    if (!wcim_secret_equals(given, given_len, row->token, strlen(row->token))) {
        *pwhy = "token differs from the stored one";
    }
    else if (wcim_token_decode(&digest, &date, given, given_len, p)
             != APR_SUCCESS) {
        *pwhy = "stored token is not base64 of <digest>_date=<ms>";
    }
    else if (wcim_decimal_parse(&stored_date, row->create_date,
                                strlen(row->create_date), DATE_MAX_DIGITS)
             != APR_SUCCESS
             || date != stored_date) {
        *pwhy = "token date differs from the row's create_date";
    }
    else if (lifetime_ms > 0 && now_ms - date >= lifetime_ms) {
        *pwhy = apr_psprintf(p, "token expired %" APR_INT64_T_FMT
                             " s ago", (now_ms - date - lifetime_ms) / 1000);
    }
    return *pwhy ? WCIM_STATUS(WCIM_RC_TOKEN_INVALID) : APR_SUCCESS;
}
