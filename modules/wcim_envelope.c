#include <string.h>
#include <apr_strings.h>

#include "wcim_envelope.h"
#include "wcim_json.h"
#include "wcim_result.h"

/* 18 digits always fit a signed 64-bit integer, in every SQL engine. */
#define USER_ID_MAX_DIGITS 18

apr_status_t wcim_envelope_parse(wcim_envelope_t **penv, const char **perr,
                                 const char *body, apr_size_t len,
                                 apr_pool_t *p)
{
    wcim_envelope_t *env;
    json_t *root, *client, *data, *v;
    const char *key;
    apr_status_t rv;

    *penv = NULL;
    *perr = NULL;
    if ((rv = wcim_json_parse(&root, perr, body, len, p)) != APR_SUCCESS) {
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
    json_object_foreach(data, key, v) {
        if (json_is_real(v) || json_is_object(v) || json_is_array(v)) {
            *perr = apr_psprintf(p, "data.%s is not a string, integer, "
                                 "boolean or null", key);
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
    apr_size_t i;

    if (len == 0 || len > USER_ID_MAX_DIGITS || (s[0] == '0' && len > 1)) {
        return 0;
    }
    for (i = 0; i < len; ++i) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return 1;
}

apr_status_t wcim_envelope_user_id(const char **puser_id,
                                   const wcim_envelope_t *env, apr_pool_t *p)
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

apr_status_t wcim_envelope_token(const char **ptoken, apr_size_t *plen,
                                 const wcim_envelope_t *env)
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
