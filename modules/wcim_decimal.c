/* Decimal integers (wcim_decimal.h). */
#include "wcim_decimal.h"

#define INT64_MAX_VALUE APR_INT64_C(9223372036854775807)

apr_status_t wcim_decimal_parse(apr_int64_t *pv, const char *s,
                                apr_size_t len, apr_size_t max_digits)
{
    apr_int64_t v = 0;
    apr_size_t i;

    if (s == NULL || len == 0 || len > max_digits) {
        return APR_EINVAL;
    }
    for (i = 0; i < len; ++i) {
        int d = s[i] - '0';

        if (d < 0 || d > 9 || v > (INT64_MAX_VALUE - d) / 10) {
            return APR_EINVAL;
        }
        v = v * 10 + d;
    }
    *pv = v;
    return APR_SUCCESS;
}
