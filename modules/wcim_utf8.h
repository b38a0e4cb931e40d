/* Cutting UTF-8 text to a limit, never inside a character: names for
 * RongCloud (counted as its SDK counts them) and routed message previews
 * (counted in bytes). */
#ifndef WCIM_UTF8_H
#define WCIM_UTF8_H

#include <apr.h>
#include <apr_pools.h>

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
