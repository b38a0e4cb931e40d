#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_crypto.h>

#include "wcim_sign.h"
#include "wcim_digest.h"
#include "wcim_result.h"

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Append n bytes to a buffer that was sized in advance. */
#define PUT(dst, src, n) (memcpy((dst), (src), (n)), (dst) += (n))

apr_status_t wcim_sign_text(const char **ptext, apr_size_t *plen,
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

apr_status_t wcim_sign_compute(const char **psign, int form,
                               const json_t *data, const char *secret,
                               apr_size_t secret_len, apr_pool_t *p)
{
    const char *text;
    apr_size_t len;
    char *out;
    char sha1[WCIM_SHA1_HEX_LEN + 1];
    apr_status_t rv;

    *psign = NULL;
    rv = wcim_sign_text(&text, &len, data, secret, secret_len, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (form == WCIM_SIGN_FORM_SHA1) {
        out = apr_palloc(p, WCIM_SHA1_HEX_LEN + 1);
        wcim_sha1_hex(out, text, len, 0);
    }
    else {
        out = apr_palloc(p, WCIM_MD5_HEX_LEN + 1);
        wcim_sha1_hex(sha1, text, len, 1);
        wcim_md5_hex(out, sha1, WCIM_SHA1_HEX_LEN);
    }
    *psign = out;
    return APR_SUCCESS;
}

apr_status_t wcim_sign_verify(const json_t *data, const char *sign,
                              apr_size_t sign_len, const char *secret,
                              apr_size_t secret_len, int forms,
                              apr_pool_t *p)
{
    const char *expected;
    int form;

    if (sign == NULL) {
        return WCIM_STATUS(WCIM_RC_BAD_SIGN);
    }
    if (sign_len == WCIM_SHA1_HEX_LEN) {
        form = WCIM_SIGN_FORM_SHA1;
    }
    else if (sign_len == WCIM_MD5_HEX_LEN) {
        form = WCIM_SIGN_FORM_MD5_SHA1;
    }
    else {
        return WCIM_STATUS(WCIM_RC_BAD_SIGN);
    }
    if (!(forms & form)
        || wcim_sign_compute(&expected, form, data, secret, secret_len, p)
           != APR_SUCCESS
        /* same length by construction, so compare the bytes directly */
        || !apr_crypto_equals(expected, sign, sign_len)) {
        return WCIM_STATUS(WCIM_RC_BAD_SIGN);
    }
    return APR_SUCCESS;
}
