#include <apr_sha1.h>
#include <apr_md5.h>

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

int wcim_secret_equals(const void *given, apr_size_t given_len,
                       const void *secret, apr_size_t secret_len)
{
    static const unsigned char none = 0;
    const unsigned char *g = given;
    const unsigned char *s = secret_len ? secret : &none;
    apr_size_t i, diff = given_len ^ secret_len;

    /* Every byte given is compared, with the secret's byte at the same
     * place or, past its end, its first, chosen by a mask rather than a
     * branch: the time follows the length given, which the caller knows,
     * never the secret's bytes or length. (Hashing both sides did the
     * same at two SHA-1s, most of a token check.) */
    for (i = 0; i < given_len; ++i) {
        apr_size_t inside = (apr_size_t)0 - (apr_size_t)(i < secret_len);
        diff |= (apr_size_t)(g[i] ^ s[i & inside]);
    }
    return diff == 0;
}
