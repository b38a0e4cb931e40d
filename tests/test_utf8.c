/* Cutting UTF-8 text on a character boundary (modules/wcim_utf8.c). */
#include <string.h>
#include <apr_strings.h>

#include "unit_tests.h"
#include "../modules/wcim_utf8.h"

#define GRIN "\xF0\x9F\x98\x80"         /* U+1F600: 4 bytes, 2 UTF-16 units */

static const char *times(apr_pool_t *p, const char *s, int n)
{
    const char *r = "";

    while (n-- > 0) {
        r = apr_pstrcat(p, r, s, NULL);
    }
    return r;
}

void test_utf8_cut(apr_pool_t *p)
{
    const char *s, *cut;

    /* by bytes (routed message previews) */
    cut = wcim_utf8_cut(apr_pstrcat(p, "ab", times(p, "张", 22), NULL), 64,
                        WCIM_UTF8_ANY, p);
    CHECK(strcmp(cut, apr_pstrcat(p, "ab", times(p, "张", 20), NULL)) == 0,
          apr_psprintf(p, "68 bytes of 张, 64 at most: 62 kept, got %d",
                       (int)strlen(cut)));
    CHECK(strcmp(wcim_utf8_cut("xxx" GRIN, 5, WCIM_UTF8_ANY, p), "xxx") == 0,
          "a 4-byte character across the byte limit: left out");
    s = "xxxx" GRIN;
    CHECK(wcim_utf8_cut(s, 8, WCIM_UTF8_ANY, p) == s, "exactly 8 bytes: s itself");

    /* by UTF-16 units (RongCloud's names) */
    s = "abc";
    CHECK(wcim_utf8_cut(s, WCIM_UTF8_ANY, 64, p) == s, "short ASCII: s itself");
    cut = wcim_utf8_cut(times(p, "a", 70), WCIM_UTF8_ANY, 64, p);
    CHECK(strcmp(cut, times(p, "a", 64)) == 0, "70 ASCII characters: 64 kept");
    s = times(p, "张", 30);
    CHECK(wcim_utf8_cut(s, WCIM_UTF8_ANY, 64, p) == s,
          "30 CJK characters (90 bytes): whole");
    s = times(p, "张", 64);
    CHECK(wcim_utf8_cut(s, WCIM_UTF8_ANY, 64, p) == s,
          "64 CJK characters (192 bytes): whole");
    cut = wcim_utf8_cut(times(p, "张", 65), WCIM_UTF8_ANY, 64, p);
    CHECK(strcmp(cut, times(p, "张", 64)) == 0,
          apr_psprintf(p, "65 CJK characters: 64 kept, got %d bytes",
                       (int)strlen(cut)));
    /* an emoji counts 2, as in Java's String.length() */
    s = apr_pstrcat(p, times(p, "a", 62), GRIN, NULL);
    CHECK(wcim_utf8_cut(s, WCIM_UTF8_ANY, 64, p) == s,
          "62 + an emoji = 64 units: whole");
    cut = wcim_utf8_cut(apr_pstrcat(p, times(p, "a", 63), GRIN, NULL),
                        WCIM_UTF8_ANY, 64, p);
    CHECK(strcmp(cut, times(p, "a", 63)) == 0,
          "63 + an emoji = 65 units: the emoji left out whole");
    cut = wcim_utf8_cut(times(p, GRIN, 40), WCIM_UTF8_ANY, 64, p);
    CHECK(strcmp(cut, times(p, GRIN, 32)) == 0,
          apr_psprintf(p, "40 emoji: 32 kept (64 units), got %d bytes",
                       (int)strlen(cut)));

    /* invalid UTF-8: each stray byte one character, never joined to the
     * next; a broken sequence never swallows what follows it */
    cut = wcim_utf8_cut(apr_pstrcat(p, times(p, "a", 62), "\xFF\xFE" "b",
                                    NULL), WCIM_UTF8_ANY, 64, p);
    CHECK(strcmp(cut, apr_pstrcat(p, times(p, "a", 62), "\xFF\xFE", NULL)) == 0,
          "stray bytes count one each");
    cut = wcim_utf8_cut(apr_pstrcat(p, times(p, "a", 63), "\xE5\xBC" "b",
                                    NULL), WCIM_UTF8_ANY, 64, p);
    CHECK(strcmp(cut, apr_pstrcat(p, times(p, "a", 63), "\xE5", NULL)) == 0,
          "a truncated sequence: its lead byte alone, as one");
    cut = wcim_utf8_cut(apr_pstrcat(p, times(p, "a", 63), "\xC0\xAF", NULL),
                        WCIM_UTF8_ANY, 64, p);
    CHECK(strlen(cut) == 64, "an overlong form is two stray bytes");
    cut = wcim_utf8_cut(apr_pstrcat(p, times(p, "a", 63), "\xED\xA0\x80",
                                    NULL), WCIM_UTF8_ANY, 64, p);
    CHECK(strlen(cut) == 64, "an encoded surrogate is three stray bytes");
    CHECK(strcmp(wcim_utf8_cut("", WCIM_UTF8_ANY, 64, p), "") == 0, "empty");
    CHECK(strcmp(wcim_utf8_cut("ab", 0, WCIM_UTF8_ANY, p), "") == 0,
          "no room: empty");
}
