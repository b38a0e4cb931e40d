/* jansson values owned by APR pools. */
#ifndef WCIM_JSON_H
#define WCIM_JSON_H

#include <apr_pools.h>
#include <jansson.h>

/* Hand a reference to the pool: it is released when the pool is cleared. */
json_t *wcim_json_own(apr_pool_t *p, json_t *json);

/* Parse a complete JSON object or array from a buffer; duplicate keys and
 * trailing bytes are errors. *perr (optional) gets jansson's message.
 * APR_ERANGE: the text may be JSON, but holds a number jansson cannot
 * represent (an integer beyond 64 bits, a real beyond a double's range);
 * APR_EINVAL: it is not JSON. */
apr_status_t wcim_json_parse(json_t **pjson, const char **perr,
                             const char *buf, apr_size_t len, apr_pool_t *p);

/* The same, with every number read as a real (jansson's
 * JSON_DECODE_INT_AS_REAL): for text that wcim_json_parse found to hold an
 * integer beyond 64 bits. */
apr_status_t wcim_json_parse_reals(json_t **pjson, const char **perr,
                                   const char *buf, apr_size_t len,
                                   apr_pool_t *p);

/* Append s to buf as a JSON string: jansson's escaping (UTF-8 kept raw,
 * '/' not escaped), with a direct copy for plain printable ASCII. Text that
 * is not valid UTF-8 becomes null. */
struct wcim_buf_t;
void wcim_json_append_string(struct wcim_buf_t *buf, const char *s);

/* v's compact JSON text appended to buf. */
apr_status_t wcim_json_append(struct wcim_buf_t *buf, const json_t *v);

#endif
