/* Hex digests and constant-time comparison, on APR's own SHA1 and MD5. */
#ifndef WCIM_DIGEST_H
#define WCIM_DIGEST_H

#include <apr.h>

#define WCIM_SHA1_HEX_LEN 40
#define WCIM_MD5_HEX_LEN  32

/* n bytes as 2n hex digits and a NUL. */
void wcim_hex_encode(char *out, const unsigned char *bin, apr_size_t n,
                     int upper);

/* Lowercase (or uppercase) hex SHA1 of buf, NUL-terminated. */
void wcim_sha1_hex(char out[WCIM_SHA1_HEX_LEN + 1], const void *buf,
                   apr_size_t len, int upper);

/* Lowercase hex MD5 of buf, NUL-terminated. */
void wcim_md5_hex(char out[WCIM_MD5_HEX_LEN + 1], const void *buf,
                  apr_size_t len);

/* 1 when `given` (a value a client sent) holds the bytes of `secret`. The
 * time taken follows given_len, not the secret's bytes nor where the two
 * differ. */
int wcim_secret_equals(const void *given, apr_size_t given_len,
                       const void *secret, apr_size_t secret_len);

#endif
