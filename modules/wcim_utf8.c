/* Cutting UTF-8 text on a character boundary (wcim_utf8.h). */
#include <string.h>
#include <apr_strings.h>

#include "wcim_utf8.h"

const char *wcim_utf8_cut(const char *s, apr_size_t max_bytes,
                          apr_size_t max_units, apr_pool_t *p)
{
    const unsigned char *u = (const unsigned char *)s;
    apr_size_t at = 0, units = 0;

    while (u[at]) {
        apr_size_t n = wcim_utf8_sequence(u + at);
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
