#include <string.h>
#include <apr_strings.h>
#include <apr_crypto.h>

#include "wcim_sign.h"
#include "wcim_digest.h"
#include "wcim_result.h"

/* Append n bytes to a buffer that was sized in advance. */
#define PUT(dst, src, n) (memcpy((dst), (src), (n)), (dst) += (n))

apr_status_t wcim_sign_text(const char **ptext, apr_size_t *plen,
                            const wcim_member_t *data, apr_size_t count,
                            const char *secret,
                            apr_size_t secret_len, apr_pool_t *p)
{
    apr_size_t i, total = 2 * secret_len;
    char *text, *out;

    for (i = 0; i < count; ++i) {
        total += data[i].key_len + data[i].text_len;
    }
    out = text = apr_palloc(p, total + 1);
    PUT(out, secret, secret_len);
    for (i = 0; i < count; ++i) {
        PUT(out, data[i].key, data[i].key_len);
        PUT(out, data[i].text, data[i].text_len);
    }
    PUT(out, secret, secret_len);
    *out = '\0';
    *ptext = text;
    *plen = total;
    return APR_SUCCESS;
}

apr_status_t wcim_sign_compute(const char **psign, int form,
                               const wcim_member_t *data, apr_size_t count,
                               const char *secret,
                               apr_size_t secret_len, apr_pool_t *p)
{
    const char *text;
    apr_size_t len;
    char *out;
    char sha1[WCIM_SHA1_HEX_LEN + 1];
    apr_status_t rv;

    *psign = NULL;
    rv = wcim_sign_text(&text, &len, data, count, secret, secret_len, p);
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

apr_status_t wcim_sign_verify(const wcim_member_t *data, apr_size_t count,
                              const char *sign,
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
        || wcim_sign_compute(&expected, form, data, count, secret,
                             secret_len, p)
           != APR_SUCCESS
        /* same length by construction, so compare the bytes directly */
        || !apr_crypto_equals(expected, sign, sign_len)) {
        return WCIM_STATUS(WCIM_RC_BAD_SIGN);
    }
    return APR_SUCCESS;
}
