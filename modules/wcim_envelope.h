/* The request envelope every weclubs API call carries:
 * {"id":…, "client":{"caller":…}, "encrypt":"md5", "sign":…, "data":{…}} */
#ifndef WCIM_ENVELOPE_H
#define WCIM_ENVELOPE_H

#include <apr_pools.h>

typedef enum {
    WCIM_MEMBER_STRING,
    WCIM_MEMBER_INTEGER,
    WCIM_MEMBER_BOOLEAN,
    WCIM_MEMBER_NULL
} wcim_member_type_t;

/* One member of data, its value as the signature writes it (protocol.md
 * section 3): a string as is, an integer in decimal, true/false, null. */
typedef struct wcim_member_t {
    const char *key;       /* NUL-terminated; holds no NUL */
    apr_size_t key_len;
    const char *text;      /* NUL-terminated; a string holds no NUL */
    apr_size_t text_len;
    wcim_member_type_t type;
} wcim_member_t;

typedef struct wcim_envelope_t {
    const wcim_member_t *data;   /* data's members, keys in byte order */
    apr_size_t data_count;
    const char *caller;    /* NULL when missing or not a string */
    const char *sign;      /* NULL when missing or not a string */
    const char *id;        /* the request id; NULL when missing or not a
                              string */
    apr_size_t sign_len;
} wcim_envelope_t;

/* Parse a body. Anything but a JSON object with an object `client` and an
 * object `data` whose members are strings, integers, booleans or null is
 * refused with WCIM_STATUS(3001); *perr then says why, for the log.
 * JSON as jansson reads it: duplicate keys, \u0000, invalid UTF-8 and
 * trailing bytes are refused; an integer beyond 64 bits is accepted
 * outside data, and inside data only when a double holds it exactly. */
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
