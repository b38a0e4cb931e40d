/* libFuzzer target: a request body through the core's request path, as
 * check_request() in modules/wcim_api.c takes it, without httpd or a
 * database: wcim_envelope_parse, then (when it parses) wcim_sign_verify in
 * both signature forms with a fixed secret, wcim_envelope_user_id,
 * wcim_envelope_token; and wcim_reply_render of a reply carrying the
 * parsed data. Differential: every body is also parsed by the jansson
 * parser the core used before its streaming pass (envelope_reference.c),
 * and the two must agree exactly:
 *
 *  - accepted or refused, with the same status (so result_code);
 *  - caller, id, sign (bytes and length) the same, or both missing;
 *  - data: the same members, each of the same JSON type, and the same
 *    signed text (secret + key/value pairs + secret), byte for byte;
 *  - user_id and token: the same status and the same bytes.
 *
 * Beyond memory errors and undefined behaviour it also checks:
 *
 *  - a refused body is WCIM_STATUS(3001) with a reason;
 *  - the signature the core computes for data verifies, in each form,
 *    and only when that form is accepted; its upper-case variant and a
 *    one-digit change never verify;
 *  - user_id, when accepted, is canonical decimal text of 1-19 digits;
 *    token, when accepted, is a non-empty string of the stated length,
 *    or "" for a token that is not a JSON string;
 *  - the rendered reply is one valid JSON object.
 *
 * The body is passed with its exact length, as the glue passes it, in a
 * copy that ends at an inaccessible page (fuzz_guarded). */
#include "fuzz_common.h"

#include <ctype.h>

#include "wcim_api.h"
#include "wcim_digest.h"
#include "wcim_envelope.h"
#include "wcim_json.h"
#include "wcim_result.h"
#include "wcim_sign.h"
#include "envelope_reference.h"

static void check_sign_forms(const wcim_envelope_t *env, apr_pool_t *p)
{
    static const int forms[] = { WCIM_SIGN_FORM_MD5_SHA1,
                                 WCIM_SIGN_FORM_SHA1 };
    size_t i;

    for (i = 0; i < sizeof(forms) / sizeof(forms[0]); ++i) {
        const char *sign = NULL;
        char *variant;
        apr_size_t len, j;
        apr_status_t rv;

        rv = wcim_sign_compute(&sign, forms[i], env->data, env->data_count,
                               FUZZ_SECRET, FUZZ_SECRET_LEN, p);
        /* the parser let only scalars into data */
        FUZZ_CHECK(rv == APR_SUCCESS && sign != NULL);
        len = strlen(sign);
        FUZZ_CHECK(len == (forms[i] == WCIM_SIGN_FORM_SHA1
                           ? WCIM_SHA1_HEX_LEN : WCIM_MD5_HEX_LEN));
        FUZZ_CHECK(wcim_sign_verify(env->data, env->data_count, sign, len,
                                    FUZZ_SECRET, FUZZ_SECRET_LEN,
                                    WCIM_SIGN_FORMS_ALL, p)
                   == APR_SUCCESS);
        FUZZ_CHECK(wcim_sign_verify(env->data, env->data_count, sign, len,
                                    FUZZ_SECRET, FUZZ_SECRET_LEN, forms[i], p)
                   == APR_SUCCESS);
        FUZZ_CHECK(wcim_sign_verify(env->data, env->data_count, sign, len,
                                    FUZZ_SECRET, FUZZ_SECRET_LEN,
                                    WCIM_SIGN_FORMS_ALL & ~forms[i], p)
                   == WCIM_STATUS(WCIM_RC_BAD_SIGN));
        /* another secret (same length) gives another signature */
        FUZZ_CHECK(wcim_sign_verify(env->data, env->data_count, sign, len,
                                    "8924d49e61e1dc9e1618d3bae21ea494",
                                    FUZZ_SECRET_LEN, WCIM_SIGN_FORMS_ALL, p)
                   == WCIM_STATUS(WCIM_RC_BAD_SIGN));

        /* upper case is refused, as by the old server */
        variant = apr_pstrmemdup(p, sign, len);
        for (j = 0; j < len; ++j) {
            variant[j] = (char)toupper((unsigned char)variant[j]);
        }
        if (strcmp(variant, sign) != 0) {
            FUZZ_CHECK(wcim_sign_verify(env->data, env->data_count, variant,
                                        len, FUZZ_SECRET, FUZZ_SECRET_LEN,
                                        WCIM_SIGN_FORMS_ALL, p)
                       == WCIM_STATUS(WCIM_RC_BAD_SIGN));
        }
        /* a one-digit change is refused */
        variant = apr_pstrmemdup(p, sign, len);
        j = (apr_size_t)(sign[0] + sign[len - 1]) % len;
        variant[j] = variant[j] == '0' ? '1' : '0';
        FUZZ_CHECK(wcim_sign_verify(env->data, env->data_count, variant,
                                    len, FUZZ_SECRET, FUZZ_SECRET_LEN,
                                    WCIM_SIGN_FORMS_ALL, p)
                   == WCIM_STATUS(WCIM_RC_BAD_SIGN));
    }
}

static void check_reply(const wcim_reply_t *reply, apr_pool_t *p)
{
    const char *body = NULL;
    apr_size_t len = 0;
    json_t *parsed;
    apr_status_t rv;

    rv = wcim_reply_render(&body, &len, reply, FUZZ_NOW, p);
    FUZZ_CHECK(rv == APR_SUCCESS && body != NULL);
    FUZZ_CHECK(len == strlen(body));
    FUZZ_CHECK(wcim_json_parse(&parsed, NULL, body, len, p) == APR_SUCCESS);
    FUZZ_CHECK(json_is_object(parsed));
    FUZZ_CHECK(json_integer_value(json_object_get(parsed, "result_code"))
               == reply->result_code);
}

static int same_string(const char *a, const char *b)
{
    return (a == NULL && b == NULL)
           || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static wcim_member_type_t member_type_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:  return WCIM_MEMBER_STRING;
    case JSON_INTEGER: return WCIM_MEMBER_INTEGER;
    case JSON_TRUE:
    case JSON_FALSE:   return WCIM_MEMBER_BOOLEAN;
    case JSON_NULL:    return WCIM_MEMBER_NULL;
    default:           FUZZ_CHECK(!"the reference let a non-scalar into data");
    }
    return WCIM_MEMBER_NULL;
}

/* The core's reading of an accepted body is the reference's. */
static void check_same_as_reference(const wcim_envelope_t *env,
                                    const ref_envelope_t *ref, apr_pool_t *p)
{
    const char *text = NULL, *ref_text = NULL, *uid = NULL, *ref_uid = NULL,
               *tok = NULL, *ref_tok = NULL;
    apr_size_t len = 0, ref_len = 0, tok_len = 0, ref_tok_len = 0, i;

    FUZZ_CHECK(same_string(env->caller, ref->caller));
    FUZZ_CHECK(same_string(env->id, ref->id));
    FUZZ_CHECK(same_string(env->sign, ref->sign));
    FUZZ_CHECK(env->sign_len == ref->sign_len);

    FUZZ_CHECK(env->data_count == json_object_size(ref->data));
    for (i = 0; i < env->data_count; ++i) {
        const wcim_member_t *m = &env->data[i];
        const json_t *v = json_object_get(ref->data, m->key);

        FUZZ_CHECK(v != NULL && m->key_len == strlen(m->key));
        FUZZ_CHECK(m->type == member_type_of(v));
        FUZZ_CHECK(m->text_len == strlen(m->text));
        FUZZ_CHECK(i == 0 || strcmp(env->data[i - 1].key, m->key) < 0);
    }
    FUZZ_CHECK(wcim_sign_text(&text, &len, env->data, env->data_count,
                              FUZZ_SECRET, FUZZ_SECRET_LEN, p)
               == APR_SUCCESS);
    FUZZ_CHECK(ref_sign_text(&ref_text, &ref_len, ref->data, FUZZ_SECRET,
                             FUZZ_SECRET_LEN, p) == APR_SUCCESS);
    FUZZ_CHECK(len == ref_len && memcmp(text, ref_text, len) == 0);

    FUZZ_CHECK(wcim_envelope_user_id(&uid, env, p)
               == ref_envelope_user_id(&ref_uid, ref, p));
    FUZZ_CHECK(same_string(uid, ref_uid));
    FUZZ_CHECK(wcim_envelope_token(&tok, &tok_len, env)
               == ref_envelope_token(&ref_tok, &ref_tok_len, ref));
    FUZZ_CHECK(same_string(tok, ref_tok) && tok_len == ref_tok_len);
}

/* The request's own sign against the reference's signed text: the same
 * verdict as the core's. */
static int reference_verifies(const ref_envelope_t *ref, apr_pool_t *p)
{
    const char *text;
    apr_size_t len;
    char sha1[WCIM_SHA1_HEX_LEN + 1], md5[WCIM_MD5_HEX_LEN + 1];

    if (ref->sign == NULL
        || ref_sign_text(&text, &len, ref->data, FUZZ_SECRET,
                         FUZZ_SECRET_LEN, p) != APR_SUCCESS) {
        return 0;
    }
    if (ref->sign_len == WCIM_SHA1_HEX_LEN) {
        wcim_sha1_hex(sha1, text, len, 0);
        return memcmp(sha1, ref->sign, WCIM_SHA1_HEX_LEN) == 0;
    }
    if (ref->sign_len == WCIM_MD5_HEX_LEN) {
        wcim_sha1_hex(sha1, text, len, 1);
        wcim_md5_hex(md5, sha1, WCIM_SHA1_HEX_LEN);
        return memcmp(md5, ref->sign, WCIM_MD5_HEX_LEN) == 0;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    wcim_envelope_t *env = NULL;
    ref_envelope_t *ref = NULL;
    wcim_reply_t reply;
    const char *body, *why = NULL, *ref_why = NULL, *user_id = NULL,
               *token = NULL;
    apr_size_t token_len = 0;
    apr_status_t rv, ref_rv, sign_rv, uid_rv, tok_rv;

    memset(&reply, 0, sizeof(reply));
    body = fuzz_guarded(data, size);
    rv = wcim_envelope_parse(&env, &why, body, size, p);
    ref_rv = ref_envelope_parse(&ref, &ref_why, body, size, p);
    FUZZ_CHECK(rv == ref_rv);
    if (rv != APR_SUCCESS) {
        FUZZ_CHECK(rv == WCIM_STATUS(WCIM_RC_ILLEGAL_PARAM));
        FUZZ_CHECK(env == NULL && why != NULL);
        reply.result_code = wcim_result_of(rv);
        check_reply(&reply, p);
        apr_pool_destroy(p);
        return 0;
    }
    FUZZ_CHECK(env != NULL && ref != NULL);
    FUZZ_CHECK(env->sign == NULL || env->sign_len == strlen(env->sign));
    check_same_as_reference(env, ref, p);

    /* the request's own sign, as check_request() verifies it */
    sign_rv = wcim_sign_verify(env->data, env->data_count, env->sign,
                               env->sign_len, FUZZ_SECRET, FUZZ_SECRET_LEN,
                               WCIM_SIGN_FORMS_ALL, p);
    FUZZ_CHECK(sign_rv == APR_SUCCESS
               || sign_rv == WCIM_STATUS(WCIM_RC_BAD_SIGN));
    FUZZ_CHECK((sign_rv == APR_SUCCESS) == reference_verifies(ref, p));
    if (sign_rv == APR_SUCCESS) {
        FUZZ_CHECK(env->sign_len == WCIM_MD5_HEX_LEN
                   || env->sign_len == WCIM_SHA1_HEX_LEN);
    }
    (void)wcim_sign_verify(env->data, env->data_count, env->sign,
                           env->sign_len, FUZZ_SECRET, FUZZ_SECRET_LEN,
                           WCIM_SIGN_FORM_MD5_SHA1, p);
    (void)wcim_sign_verify(env->data, env->data_count, env->sign,
                           env->sign_len, FUZZ_SECRET, FUZZ_SECRET_LEN,
                           WCIM_SIGN_FORM_SHA1, p);
    check_sign_forms(env, p);

    uid_rv = wcim_envelope_user_id(&user_id, env, p);
    if (uid_rv == APR_SUCCESS) {
        apr_size_t i, n = strlen(user_id);

        FUZZ_CHECK(n >= 1 && n <= 19);
        FUZZ_CHECK(user_id[0] != '0' || n == 1);
        for (i = 0; i < n; ++i) {
            FUZZ_CHECK(user_id[i] >= '0' && user_id[i] <= '9');
        }
    }
    else {
        FUZZ_CHECK(uid_rv == WCIM_STATUS(WCIM_RC_NO_USER_ID)
                   || uid_rv == WCIM_STATUS(WCIM_RC_ILLEGAL_PARAM));
        FUZZ_CHECK(user_id == NULL);
    }

    tok_rv = wcim_envelope_token(&token, &token_len, env);
    if (tok_rv == APR_SUCCESS) {
        /* a non-empty string, or "" for a token of another type (a
         * number, a boolean), which the token check then refuses */
        FUZZ_CHECK(token != NULL && strlen(token) == token_len
                   && (token_len > 0
                       || !json_is_string(json_object_get(ref->data,
                                                          "token"))));
    }
    else {
        FUZZ_CHECK(tok_rv == WCIM_STATUS(WCIM_RC_NO_TOKEN) && token == NULL);
    }

    /* the reply: the first failed check's code, as wcim_api_call() gives
     * it, carrying the request's data (success) or its whole body, as
     * jansson read them */
    rv = sign_rv != APR_SUCCESS ? sign_rv
       : uid_rv == WCIM_STATUS(WCIM_RC_NO_USER_ID) ? uid_rv
       : tok_rv != APR_SUCCESS ? tok_rv
       : uid_rv;
    reply.result_code = wcim_result_of(rv);
    reply.data = ref->data;
    check_reply(&reply, p);
    reply.data = ref->root;
    reply.result_msg = "获取token失败，请检查后重试";
    check_reply(&reply, p);

    apr_pool_destroy(p);
    return 0;
}
