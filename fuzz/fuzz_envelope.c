/* libFuzzer target: a request body through the core's request path, as
 * check_request() in modules/wcim_api.c takes it, without httpd or a
 * database: wcim_envelope_parse, then (when it parses) wcim_sign_verify in
 * both signature forms with a fixed secret, wcim_envelope_user_id,
 * wcim_envelope_token; and wcim_reply_render of a reply carrying the
 * parsed data. Beyond memory errors and undefined behaviour it checks:
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

        rv = wcim_sign_compute(&sign, forms[i], env->data, FUZZ_SECRET,
                               FUZZ_SECRET_LEN, p);
        /* the parser let only scalars into data */
        FUZZ_CHECK(rv == APR_SUCCESS && sign != NULL);
        len = strlen(sign);
        FUZZ_CHECK(len == (forms[i] == WCIM_SIGN_FORM_SHA1
                           ? WCIM_SHA1_HEX_LEN : WCIM_MD5_HEX_LEN));
        FUZZ_CHECK(wcim_sign_verify(env->data, sign, len, FUZZ_SECRET,
                                    FUZZ_SECRET_LEN, WCIM_SIGN_FORMS_ALL, p)
                   == APR_SUCCESS);
        FUZZ_CHECK(wcim_sign_verify(env->data, sign, len, FUZZ_SECRET,
                                    FUZZ_SECRET_LEN, forms[i], p)
                   == APR_SUCCESS);
        FUZZ_CHECK(wcim_sign_verify(env->data, sign, len, FUZZ_SECRET,
                                    FUZZ_SECRET_LEN,
                                    WCIM_SIGN_FORMS_ALL & ~forms[i], p)
                   == WCIM_STATUS(WCIM_RC_BAD_SIGN));
        /* another secret (same length) gives another signature */
        FUZZ_CHECK(wcim_sign_verify(env->data, sign, len,
                                    "8924d49e61e1dc9e1618d3bae21ea494",
                                    FUZZ_SECRET_LEN, WCIM_SIGN_FORMS_ALL, p)
                   == WCIM_STATUS(WCIM_RC_BAD_SIGN));

        /* upper case is refused, as by the old server */
        variant = apr_pstrmemdup(p, sign, len);
        for (j = 0; j < len; ++j) {
            variant[j] = (char)toupper((unsigned char)variant[j]);
        }
        if (strcmp(variant, sign) != 0) {
            FUZZ_CHECK(wcim_sign_verify(env->data, variant, len, FUZZ_SECRET,
                                        FUZZ_SECRET_LEN, WCIM_SIGN_FORMS_ALL,
                                        p)
                       == WCIM_STATUS(WCIM_RC_BAD_SIGN));
        }
        /* a one-digit change is refused */
        variant = apr_pstrmemdup(p, sign, len);
        j = (apr_size_t)(sign[0] + sign[len - 1]) % len;
        variant[j] = variant[j] == '0' ? '1' : '0';
        FUZZ_CHECK(wcim_sign_verify(env->data, variant, len, FUZZ_SECRET,
                                    FUZZ_SECRET_LEN, WCIM_SIGN_FORMS_ALL, p)
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    wcim_envelope_t *env = NULL;
    wcim_reply_t reply;
    const char *why = NULL, *user_id = NULL, *token = NULL;
    apr_size_t token_len = 0;
    apr_status_t rv, sign_rv, uid_rv, tok_rv;

    memset(&reply, 0, sizeof(reply));
    rv = wcim_envelope_parse(&env, &why, fuzz_guarded(data, size), size, p);
    if (rv != APR_SUCCESS) {
        FUZZ_CHECK(rv == WCIM_STATUS(WCIM_RC_ILLEGAL_PARAM));
        FUZZ_CHECK(env == NULL && why != NULL);
        reply.result_code = wcim_result_of(rv);
        check_reply(&reply, p);
        apr_pool_destroy(p);
        return 0;
    }
    FUZZ_CHECK(env != NULL && json_is_object(env->data));
    FUZZ_CHECK(env->sign == NULL || env->sign_len == strlen(env->sign));

    /* the request's own sign, as check_request() verifies it */
    sign_rv = wcim_sign_verify(env->data, env->sign, env->sign_len,
                               FUZZ_SECRET, FUZZ_SECRET_LEN,
                               WCIM_SIGN_FORMS_ALL, p);
    FUZZ_CHECK(sign_rv == APR_SUCCESS
               || sign_rv == WCIM_STATUS(WCIM_RC_BAD_SIGN));
    if (sign_rv == APR_SUCCESS) {
        FUZZ_CHECK(env->sign_len == WCIM_MD5_HEX_LEN
                   || env->sign_len == WCIM_SHA1_HEX_LEN);
    }
    (void)wcim_sign_verify(env->data, env->sign, env->sign_len, FUZZ_SECRET,
                           FUZZ_SECRET_LEN, WCIM_SIGN_FORM_MD5_SHA1, p);
    (void)wcim_sign_verify(env->data, env->sign, env->sign_len, FUZZ_SECRET,
                           FUZZ_SECRET_LEN, WCIM_SIGN_FORM_SHA1, p);
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
                       || !json_is_string(json_object_get(env->data,
                                                          "token"))));
    }
    else {
        FUZZ_CHECK(tok_rv == WCIM_STATUS(WCIM_RC_NO_TOKEN) && token == NULL);
    }

    /* the reply: the first failed check's code, as wcim_api_call() gives
     * it, carrying the request's data (success) or its whole body */
    rv = sign_rv != APR_SUCCESS ? sign_rv
       : uid_rv == WCIM_STATUS(WCIM_RC_NO_USER_ID) ? uid_rv
       : tok_rv != APR_SUCCESS ? tok_rv
       : uid_rv;
    reply.result_code = wcim_result_of(rv);
    reply.data = env->data;
    check_reply(&reply, p);
    reply.data = env->root;
    reply.result_msg = "获取token失败，请检查后重试";
    check_reply(&reply, p);

    apr_pool_destroy(p);
    return 0;
}
