#include <apr_sha1.h>
#include <apr_md5.h>
#include <apr_crypto.h>

#include "wcim_digest.h"

void wcim_hex_encode(char *out, const unsigned char *bin, apr_size_t n,
                     int upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    apr_size_t i;

    for (i = 0; i < n; ++i) {
        out[2 * i]     = digits[bin[i] >> 4];
        out[2 * i + 1] = digits[bin[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

void wcim_sha1_hex(char out[WCIM_SHA1_HEX_LEN + 1], const void *buf,
                   apr_size_t len, int upper)
{
    apr_sha1_ctx_t ctx;
    unsigned char digest[APR_SHA1_DIGESTSIZE];

    apr_sha1_init(&ctx);
    apr_sha1_update_binary(&ctx, buf, (unsigned int)len);
    apr_sha1_final(digest, &ctx);
    wcim_hex_encode(out, digest, sizeof(digest), upper);
}

void wcim_md5_hex(char out[WCIM_MD5_HEX_LEN + 1], const void *buf,
                  apr_size_t len)
{
    unsigned char digest[APR_MD5_DIGESTSIZE];

    apr_md5(digest, buf, len);
    wcim_hex_encode(out, digest, sizeof(digest), 0);
}

int wcim_secret_equals(const void *a, apr_size_t alen,
                       const void *b, apr_size_t blen)
{
    apr_sha1_ctx_t ctx;
    unsigned char da[APR_SHA1_DIGESTSIZE], db[APR_SHA1_DIGESTSIZE];

    apr_sha1_init(&ctx);
    apr_sha1_update_binary(&ctx, a, (unsigned int)alen);
    apr_sha1_final(da, &ctx);
    apr_sha1_init(&ctx);
    apr_sha1_update_binary(&ctx, b, (unsigned int)blen);
    apr_sha1_final(db, &ctx);
    /* Equal digests of unequal lengths would need a SHA1 collision. */
    return apr_crypto_equals(da, db, sizeof(da)) && alen == blen;
}
