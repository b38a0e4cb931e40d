/* The request envelope, read in one streaming pass (yajl) when it is the
 * plain kind clients send, and by jansson otherwise: jansson's reading is
 * the definition (fuzz/envelope_reference.c; fuzz_envelope compares). */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <jansson.h>

#include "wcim_envelope.h"
#include "wcim_envelope_scan.h"
#include "wcim_reals.h"
#include "wcim_decimal.h"
#include "wcim_json.h"
#include "wcim_result.h"

/* 18 digits always fit a signed 64-bit integer, in every SQL engine. */
#define USER_ID_MAX_DIGITS 18

/* 2^53: every integer below it is exact in a double (2^53 itself may be
 * 2^53 + 1 rounded). */
#define EXACT_DOUBLE_LIMIT 9007199254740992.0

int wcim_member_cmp(const void *a, const void *b)
{
    return strcmp(((const wcim_member_t *)a)->key,
                  ((const wcim_member_t *)b)->key);
}

/* ---- jansson, for every body the streaming pass leaves ------------------ */

/* data's members, from jansson's reading of data (scalars only). */
static void members_of(wcim_envelope_t *env, json_t *data, apr_pool_t *p)
{
    apr_size_t n = json_object_size(data);
    wcim_member_t *members = apr_palloc(p, (n ? n : 1) * sizeof(*members));
    wcim_member_t *m = members;
    const char *key;
    json_t *v;

    json_object_foreach(data, key, v) {
        m->key = key;
        m->key_len = strlen(key);
        switch (json_typeof(v)) {
        case JSON_STRING:
            m->type = WCIM_MEMBER_STRING;
            m->text = json_string_value(v);
            m->text_len = json_string_length(v);
            break;
        case JSON_INTEGER:
            m->type = WCIM_MEMBER_INTEGER;
            m->text = apr_psprintf(p, "%" APR_INT64_T_FMT,
                                   (apr_int64_t)json_integer_value(v));
            m->text_len = strlen(m->text);
            break;
        case JSON_TRUE:
        case JSON_FALSE:
            m->type = WCIM_MEMBER_BOOLEAN;
            m->text = json_is_true(v) ? "true" : "false";
            m->text_len = strlen(m->text);
            break;
        default:
            /* the caller let only scalars through */
            m->type = WCIM_MEMBER_NULL;
            m->text = "null";
            m->text_len = 4;
            break;
        }
        ++m;
    }
    qsort(members, n, sizeof(*members), wcim_member_cmp);
    env->data = members;
    env->data_count = n;
}

static apr_status_t parse_by_jansson(wcim_envelope_t *env, const char **perr,
                                     const char *body, apr_size_t len,
                                     apr_pool_t *p)
{
    json_t *root, *client, *data, *v;
    const char *key;
    void *it;
    int ints_are_reals = 0;
    apr_table_t *reals = NULL;
    apr_status_t rv;

    rv = wcim_json_parse(&root, perr, body, len, p);
    if (rv == APR_ERANGE) {
        /* An integer beyond 64 bits (a client's numeric request id, say):
         * valid JSON, which jansson reads only as reals. Members outside
         * data are read as strings or not at all; data is put back to
         * integers below. */
        rv = wcim_json_parse_reals(&root, perr, body, len, p);
        ints_are_reals = 1;
        /* and what was written as a real stays one (3.8e1 is no user
         * 38): told apart by the text; unreadable to yajl, none is
         * taken */
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

    members_of(env, data, p);
    v = json_object_get(client, "caller");
    env->caller = json_is_string(v) ? json_string_value(v) : NULL;
    v = json_object_get(root, "id");
    env->id = json_is_string(v) ? json_string_value(v) : NULL;
    v = json_object_get(root, "sign");
    if (json_is_string(v)) {
        env->sign = json_string_value(v);
        env->sign_len = json_string_length(v);
    }
    return APR_SUCCESS;

refuse:
    return WCIM_STATUS(WCIM_RC_ILLEGAL_PARAM);
}

apr_status_t wcim_envelope_parse(wcim_envelope_t **penv, const char **perr,
                                 const char *body, apr_size_t len,
                                 apr_pool_t *p)
{
    wcim_envelope_t *env = apr_pcalloc(p, sizeof(*env));
    apr_status_t rv;

    *penv = NULL;
    *perr = NULL;
    /* jansson costs ~190 instructions a byte, the streaming pass a tenth:
     * it takes the common body, jansson everything else (refusals too) */
    rv = wcim_envelope_scan(env, body, len, p);
    if (rv == APR_EINCOMPLETE) {
        memset(env, 0, sizeof(*env));
        rv = parse_by_jansson(env, perr, body, len, p);
    }
    if (rv == APR_SUCCESS) {
        *penv = env;
    }
    return rv;
}

/* ---- data's members ----------------------------------------------------- */

static const wcim_member_t *member_get(const wcim_envelope_t *env,
                                       const char *key)
{
    apr_size_t i;

    for (i = 0; i < env->data_count; ++i) {
        if (strcmp(env->data[i].key, key) == 0) {
            return &env->data[i];
        }
    }
    return NULL;
}

static int is_canonical_decimal(const char *s, apr_size_t len)
{
    apr_int64_t v;

    return wcim_decimal_parse(&v, s, len, USER_ID_MAX_DIGITS) == APR_SUCCESS
           && !(s[0] == '0' && len > 1);
}

apr_status_t wcim_envelope_user_id(const char **puser_id,
                                   const wcim_envelope_t *env, apr_pool_t *p)
{
    const wcim_member_t *m = member_get(env, "user_id");

    *puser_id = NULL;
    if (m == NULL || m->type == WCIM_MEMBER_NULL) {
        return WCIM_STATUS(WCIM_RC_NO_USER_ID);
    }
    /* an integer's text is canonical decimal already, with its '-' */
    if ((m->type == WCIM_MEMBER_STRING || m->type == WCIM_MEMBER_INTEGER)
        && is_canonical_decimal(m->text, m->text_len)) {
        *puser_id = m->text;
        return APR_SUCCESS;
    }
    return WCIM_STATUS(WCIM_RC_ILLEGAL_PARAM);
}

apr_status_t wcim_envelope_token(const char **ptoken, apr_size_t *plen,
                                 const wcim_envelope_t *env)
{
    const wcim_member_t *m = member_get(env, "token");

    *ptoken = NULL;
    *plen = 0;
    if (m == NULL || m->type == WCIM_MEMBER_NULL
        || (m->type == WCIM_MEMBER_STRING && m->text_len == 0)) {
        return WCIM_STATUS(WCIM_RC_NO_TOKEN);
    }
    if (m->type != WCIM_MEMBER_STRING) {
        /* present but not a token (a number, a boolean): it can match no
         * stored token, so the token check answers it (3010) */
        *ptoken = "";
        return APR_SUCCESS;
    }
    *ptoken = m->text;
    *plen = m->text_len;
    return APR_SUCCESS;
}
