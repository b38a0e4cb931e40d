/* The envelope parser of the module before the streaming parser, kept as
 * the reference of fuzz_envelope (see envelope_reference.h). */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "envelope_reference.h"
#include "wcim_decimal.h"
#include "wcim_json.h"
#include "wcim_reals.h"
#include "wcim_result.h"

/* 18 digits always fit a signed 64-bit integer, in every SQL engine. */
#define USER_ID_MAX_DIGITS 18

/* 2^53: every integer below it is exact in a double (2^53 itself may be
 * 2^53 + 1 rounded). */
#define EXACT_DOUBLE_LIMIT 9007199254740992.0

apr_status_t ref_envelope_parse(ref_envelope_t **penv, const char **perr,
                                 const char *body, apr_size_t len,
                                 apr_pool_t *p)
{
    ref_envelope_t *env;
    json_t *root, *client, *data, *v;
    const char *key;
    void *it;
    int ints_are_reals = 0;
    apr_table_t *reals = NULL;
    apr_status_t rv;

    *penv = NULL;
    *perr = NULL;
    rv = wcim_json_parse(&root, perr, body, len, p);
    if (rv == APR_ERANGE) {
        /* An integer beyond 64 bits (a client's numeric request id, say):
         * valid JSON, which jansson reads only as reals. Members outside
         * data are read as strings or not at all; data is put back to
         * integers below. */
        rv = wcim_json_parse_reals(&root, perr, body, len, p);
        ints_are_reals = 1;
        /* what the text writes as a real stays one: the core's own
         * wcim_data_reals (not independent of it; the differential
         * property covers the rest) */
        if (rv == APR_SUCCESS
            && wcim_data_reals(&reals, body, len, p) != APR_SUCCESS) {
            ints_are_reals = 0;
        }
    }
    if (rv != APR_SUCCESS) {
        *perr = apr_pstrcat(p, "body is not JSON: ", *perr, NULL);
        goto refuse;
    }
    if (!json_is_object(root)) {
        *perr = "body is not a JSON object";
        goto refuse;
    }
    client = json_object_get(root, "client");
    data = json_object_get(root, "data");
    if (!json_is_object(client) || !json_is_object(data)) {
        *perr = "client and data must be JSON objects";
        goto refuse;
    }
    for (it = json_object_iter(data); it;
         it = json_object_iter_next(data, it)) {
        key = json_object_iter_key(it);
        v = json_object_iter_value(it);
        if (ints_are_reals && json_is_real(v)
            && !apr_table_get(reals, key)
            && json_real_value(v) > -EXACT_DOUBLE_LIMIT
            && json_real_value(v) < EXACT_DOUBLE_LIMIT
            && json_real_value(v) == (double)(json_int_t)json_real_value(v)) {
            /* was an integer (or an integral real, which this parse cannot
             * tell apart); the signature needs its decimal digits, so only
             * those a double holds exactly are taken */
            json_object_iter_set_new(data, it,
                json_integer((json_int_t)json_real_value(v)));
            continue;
        }
        if (json_is_real(v) || json_is_object(v) || json_is_array(v)) {
            *perr = apr_psprintf(p, "data.%s is not a string, integer "
                                 "(within 64 bits), boolean or null", key);
            goto refuse;
        }
    }

    env = apr_pcalloc(p, sizeof(*env));
    env->root = root;
    env->data = data;
    v = json_object_get(client, "caller");
    env->caller = json_is_string(v) ? json_string_value(v) : NULL;
    v = json_object_get(root, "id");
    env->id = json_is_string(v) ? json_string_value(v) : NULL;
    v = json_object_get(root, "sign");
    if (json_is_string(v)) {
        env->sign = json_string_value(v);
        env->sign_len = json_string_length(v);
    }
    *penv = env;
    return APR_SUCCESS;

refuse:
    return WCIM_STATUS(WCIM_RC_ILLEGAL_PARAM);
}

static int is_canonical_decimal(const char *s, apr_size_t len)
{
    apr_int64_t v;

    return wcim_decimal_parse(&v, s, len, USER_ID_MAX_DIGITS) == APR_SUCCESS
           && !(s[0] == '0' && len > 1);
}

apr_status_t ref_envelope_user_id(const char **puser_id,
                                   const ref_envelope_t *env, apr_pool_t *p)
{
    json_t *v = json_object_get(env->data, "user_id");

    *puser_id = NULL;
    if (v == NULL || json_is_null(v)) {
        return WCIM_STATUS(WCIM_RC_NO_USER_ID);
    }
    if (json_is_integer(v) && json_integer_value(v) >= 0
        && json_integer_value(v) <= APR_INT64_C(999999999999999999)) {
        *puser_id = apr_psprintf(p, "%" APR_INT64_T_FMT,
                                 (apr_int64_t)json_integer_value(v));
        return APR_SUCCESS;
    }
    if (json_is_string(v)
        && is_canonical_decimal(json_string_value(v), json_string_length(v))) {
        *puser_id = json_string_value(v);
        return APR_SUCCESS;
    }
    return WCIM_STATUS(WCIM_RC_ILLEGAL_PARAM);
}

apr_status_t ref_envelope_token(const char **ptoken, apr_size_t *plen,
                                 const ref_envelope_t *env)
{
    json_t *v = json_object_get(env->data, "token");

    *ptoken = NULL;
    *plen = 0;
    if (v == NULL || json_is_null(v)
        || (json_is_string(v) && json_string_length(v) == 0)) {
        return WCIM_STATUS(WCIM_RC_NO_TOKEN);
    }
    if (!json_is_string(v)) {
        /* present but not a token (a number, a boolean): it can match no
         * stored token, so the token check answers it (3010) */
        *ptoken = "";
        return APR_SUCCESS;
    }
    *ptoken = json_string_value(v);
    *plen = json_string_length(v);
    return APR_SUCCESS;
}

/* wcim_sign_text over a json_t data, as it was */
static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Append n bytes to a buffer that was sized in advance. */
#define PUT(dst, src, n) (memcpy((dst), (src), (n)), (dst) += (n))

apr_status_t ref_sign_text(const char **ptext, apr_size_t *plen,
                            const json_t *data, const char *secret,
                            apr_size_t secret_len, apr_pool_t *p)
{
    apr_size_t nkeys = json_object_size(data), i = 0, total = 2 * secret_len;
    const char **keys = apr_palloc(p, (nkeys ? nkeys : 1) * sizeof(char *));
    const char **vals = apr_palloc(p, (nkeys ? nkeys : 1) * sizeof(char *));
    apr_size_t *vlens = apr_palloc(p, (nkeys ? nkeys : 1) * sizeof(apr_size_t));
    const char *key;
    json_t *v;
    char *text, *out;

    json_object_foreach((json_t *)data, key, v) {
        keys[i++] = key;
    }
    qsort(keys, nkeys, sizeof(char *), key_cmp);

    for (i = 0; i < nkeys; ++i) {
        v = json_object_get(data, keys[i]);
        switch (json_typeof(v)) {
        case JSON_STRING:
            vals[i] = json_string_value(v);
            vlens[i] = json_string_length(v);
            break;
        case JSON_INTEGER:
            vals[i] = apr_psprintf(p, "%" APR_INT64_T_FMT,
                                   (apr_int64_t)json_integer_value(v));
            vlens[i] = strlen(vals[i]);
            break;
        case JSON_TRUE:  vals[i] = "true";  vlens[i] = 4; break;
        case JSON_FALSE: vals[i] = "false"; vlens[i] = 5; break;
        case JSON_NULL:  vals[i] = "null";  vlens[i] = 4; break;
        default:
            /* the envelope parser refuses these before we get here */
            return WCIM_STATUS(WCIM_RC_ILLEGAL_PARAM);
        }
        total += strlen(keys[i]) + vlens[i];
    }

    out = text = apr_palloc(p, total + 1);
    PUT(out, secret, secret_len);
    for (i = 0; i < nkeys; ++i) {
        PUT(out, keys[i], strlen(keys[i]));
        PUT(out, vals[i], vlens[i]);
    }
    PUT(out, secret, secret_len);
    *out = '\0';
    *ptext = text;
    *plen = total;
    return APR_SUCCESS;
}
