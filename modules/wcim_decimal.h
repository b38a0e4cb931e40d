/* Decimal integers as the protocol, tokens, routing posts and the database
 * write them: the one parser of the core. */
#ifndef WCIM_DECIMAL_H
#define WCIM_DECIMAL_H

#include <apr.h>
#include <apr_errno.h>

/* s[0..len-1] as a non-negative integer: ASCII digits only (no sign, no
 * space), 1 to max_digits of them, no overflow of 64 bits. APR_EINVAL
 * otherwise, *pv then untouched. */
apr_status_t wcim_decimal_parse(apr_int64_t *pv, const char *s,
                                apr_size_t len, apr_size_t max_digits);

#endif
