/* Cutting UTF-8 text on a character boundary (wcim_utf8.h). */
#include <string.h>
#include <apr_strings.h>

#include "wcim_utf8.h"

/* The length of the well-formed UTF-8 sequence at s (RFC 3629), 0 when
 * there is none; a NUL ends a sequence as any other non-continuation. */
static apr_size_t sequence(const unsigned char *s)
{
    apr_size_t n, i;
    apr_uint32_t v;

    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;
        v = s[0] & 0x1f;
    }
    else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        v = s[0] & 0x0f;
    }
    else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        v = s[0] & 0x07;
    }
    else {
        return 0;
    }
    for (i = 1; i < n; ++i) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        v = (v << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000) || v > 0x10ffff
        || (v >= 0xd800 && v <= 0xdfff)) {
        return 0;
    }
    return n;
}

const char *wcim_utf8_cut(const char *s, apr_size_t max_bytes,
                          apr_size_t max_units, apr_pool_t *p)
{
    const unsigned char *u = (const unsigned char *)s;
    apr_size_t at = 0, units = 0;

    while (u[at]) {
        apr_size_t n = sequence(u + at);
        /* beyond the BMP: a surrogate pair in UTF-16 */
        apr_size_t w = n == 4 ? 2 : 1;

        if (n == 0) {
            n = 1;    /* a stray byte: one character, as U+FFFD would be */
        }
        if (n > max_bytes - at || w > max_units - units) {
            return apr_pstrmemdup(p, s, at);
        }
        at += n;
        units += w;
    }
    return s;
}
