/* Cutting UTF-8 text to a limit, never inside a character: names for
 * RongCloud (counted as its SDK counts them) and routed message previews
 * (counted in bytes). */
#ifndef WCIM_UTF8_H
#define WCIM_UTF8_H

#include <apr.h>
#include <apr_pools.h>

/* The length of the well-formed UTF-8 sequence at s (RFC 3629: no
 * overlong form, no surrogate, nothing past U+10FFFF; what jansson
 * accepts), 1 for ASCII, 0 when there is none; a NUL ends a sequence as
 * any other non-continuation byte. Inline: the JSON writer runs it on
 * every non-ASCII byte of an answer. */
static APR_INLINE apr_size_t wcim_utf8_sequence(const unsigned char *s)
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

/* No limit on that count. */
#define WCIM_UTF8_ANY ((apr_size_t)-1)

/* The longest prefix of s with at most max_bytes bytes and at most
 * max_units UTF-16 code units (Java's String.length(): 1 for a character
 * of the BMP, 2 for one beyond it, such as most emoji), cut on a character
 * boundary. A byte that does not start a well-formed UTF-8 sequence (RFC
 * 3629: no overlong form, no surrogate, nothing past U+10FFFF) counts as
 * one character of one byte and one unit, as a decoder would replace it
 * with U+FFFD. s itself when it fits, else a copy in p. */
const char *wcim_utf8_cut(const char *s, apr_size_t max_bytes,
                          apr_size_t max_units, apr_pool_t *p);

#endif
