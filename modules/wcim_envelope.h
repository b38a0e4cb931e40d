/* The request envelope every weclubs API call carries:
 * {"id":…, "client":{"caller":…}, "encrypt":"md5", "sign":…, "data":{…}} */
#ifndef WCIM_ENVELOPE_H
#define WCIM_ENVELOPE_H

#include <apr_pools.h>
#include <jansson.h>

typedef struct wcim_envelope_t {
    json_t *root;
    json_t *data;          /* an object whose members are all scalars */
    const char *caller;    /* NULL when missing or not a string */
    const char *sign;      /* NULL when missing or not a string */
    const char *id;        /* the request id; NULL when missing or not a
                              string */
    apr_size_t sign_len;
} wcim_envelope_t;

/* Parse a body. Anything but a JSON object with an object `client` and an
 * object `data` whose members are strings, integers, booleans or null is
 * refused with WCIM_STATUS(3001); *perr then says why, for the log. */
apr_status_t wcim_envelope_parse(wcim_envelope_t **penv, const char **perr,
                                 const char *body, apr_size_t len,
                                 apr_pool_t *p);

/* data.user_id as canonical decimal text. WCIM_STATUS(3005) when absent
 * (or null), WCIM_STATUS(3001) when not a non-negative integer (a JSON
 * integer or a string of digits without leading zeros, at most 18 digits). */
apr_status_t wcim_envelope_user_id(const char **puser_id,
                                   const wcim_envelope_t *env, apr_pool_t *p);

/* data.token: WCIM_STATUS(3006) when missing, null or empty; a value of
 * another type is given as "" (which no stored token equals). */
apr_status_t wcim_envelope_token(const char **ptoken, apr_size_t *plen,
                                 const wcim_envelope_t *env);

#endif
