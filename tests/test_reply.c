/* The answer's bytes (modules/wcim_reply.c) and JSON strings written
 * straight into a buffer (modules/wcim_json.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <jansson.h>

#include "unit_tests.h"
#include "../modules/wcim_buf.h"
#include "../modules/wcim_json.h"
#include "../modules/wcim_reply.h"
#include "../modules/wcim_result.h"

void test_reply(apr_pool_t *p)
{
    wcim_reply_t reply = { 3003, NULL, NULL };
    const char *body;
    apr_size_t len;
    json_t *d;

    wcim_reply_render(&body, &len, &reply, apr_time_from_msec(1234), p);
    CHECK(strcmp(body, "{\"result_code\":3003,\"result_msg\":\"签名违法\","
                 "\"sys_time\":1234,\"data\":null}") == 0, body);

    d = wcim_json_own(p, json_pack("{s:s}", "im_token", "a+/=\"b"));
    reply.result_code = 2000;
    reply.data = d;
    wcim_reply_render(&body, &len, &reply, apr_time_from_msec(5), p);
    CHECK(strcmp(body, "{\"result_code\":2000,\"result_msg\":\"请求成功\","
                 "\"sys_time\":5,\"data\":{\"im_token\":\"a+/=\\\"b\"}}")
          == 0 && len == strlen(body), body);

    CHECK(strcmp(wcim_result_msg(3010), "token失效") == 0
          && strcmp(wcim_result_msg(3101), "不存在该请求方法") == 0
          && strcmp(wcim_result_msg(4242), "程序出错") == 0, "messages");
    CHECK(wcim_result_of(WCIM_STATUS(3014)) == 3014
          && wcim_result_of(APR_EGENERAL) == 5000
          && wcim_result_of(APR_SUCCESS) == 2000, "status to result_code");
}

void test_json_string(apr_pool_t *p)
{
    static const struct { const char *in, *out; } cases[] = {
        { "http://a.example/x.png?s=1&t=2", "\"http://a.example/x.png?s=1&t=2\"" },
        { "社团联合会", "\"社团联合会\"" },
        { "a\"b\\c\n", "\"a\\\"b\\\\c\\n\"" },
        { "", "\"\"" },
        { "\xff\xfe", "null" },                  /* not UTF-8 */
        { "😀 <&>", "\"😀 <&>\"" },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        wcim_buf_t b;
        wcim_buf_init(&b, p, 0);
        wcim_json_append_string(&b, cases[i].in);
        CHECK(strcmp(b.data, cases[i].out) == 0,
              apr_psprintf(p, "JSON string of %s: %s", cases[i].in, b.data));
    }
}

/* What jansson writes for s (json_string, then a compact dump), or null
 * when it refuses s. */
static const char *jansson_string(const char *s, apr_pool_t *p)
{
    json_t *str = json_string(s);
    char *text = str ? json_dumps(str, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    const char *out = text ? apr_pstrdup(p, text) : "null";

    free(text);
    json_decref(str);
    return out;
}

/* The fast path of wcim_json_append_string against jansson itself: every
 * sequence at the edges of UTF-8 (overlong forms, surrogates, U+10FFFF and
 * past it, cut sequences, stray continuation bytes, 0x7f) and 200,000
 * random strings biased toward those bytes. */
void test_json_string_jansson(apr_pool_t *p)
{
    static const char *const edges[] = {
        "\x7f", "\xc2\x80", "\xc1\xbf", "\xc0\x80", "\xdf\xbf", "\xe0\xa0\x80",
        "\xe0\x9f\xbf", "\xed\x9f\xbf", "\xed\xa0\x80", "\xed\xbf\xbf",
        "\xee\x80\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf0\x8f\xbf\xbf",
        "\xf4\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff",
        "\x80", "\xbf", "\xe4\xb8", "\xe4", "a\xe4\xb8\xad" "b", "\xf0\x9f\x98",
        "\xe4\xb8\xad\x80", "\xc2", "\xc2\xc2\x80", "/", "\x1f", " ~",
    };
    static const unsigned char bytes[] = {
        'a', ' ', '"', '\\', '/', 0x01, 0x1f, 0x7f, 0x80, 0x8f, 0x90, 0x9f,
        0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe4, 0xed, 0xef, 0xf0,
        0xf4, 0xf5, 0xff,
    };
    apr_uint32_t seed = 14;
    size_t i, j, differ = 0;
    char s[9];

    for (i = 0; i < sizeof(edges) / sizeof(edges[0]) + 200000; ++i) {
        wcim_buf_t b;
        const char *in = s, *want;

        if (i < sizeof(edges) / sizeof(edges[0])) {
            in = edges[i];
        }
        else {
            size_t n = 1 + (seed >> 8) % 8;
            for (j = 0; j < n; ++j) {
                seed = seed * 1103515245 + 12345;
                s[j] = (char)bytes[(seed >> 16) % sizeof(bytes)];
            }
            s[n] = '\0';
        }
        wcim_buf_init(&b, p, 0);
        wcim_json_append_string(&b, in);
        want = jansson_string(in, p);
        if (strcmp(b.data, want) != 0 && differ++ < 5) {
            CHECK(0, apr_psprintf(p, "string %lu: %s, jansson %s",
                                  (unsigned long)i, b.data, want));
        }
    }
    CHECK(differ == 0, apr_psprintf(p, "%lu strings differ from jansson",
                                    (unsigned long)differ));
}

/* A bounded buffer (a request body under its limit) never grows past the
 * bound, and keeps every byte; an unbounded one doubles as before. */
void test_buf_bound(apr_pool_t *p)
{
    static const char chunk[100] = { 'x' };
    wcim_buf_t b, free_b;
    int i;

    wcim_buf_init(&b, p, 0);
    wcim_buf_bound(&b, 1000);
    wcim_buf_init(&free_b, p, 0);
    for (i = 0; i < 10; ++i) {
        wcim_buf_append(&b, chunk, sizeof(chunk));
        wcim_buf_append(&free_b, chunk, sizeof(chunk));
    }
    CHECK(b.len == 1000 && b.data[1000] == '\0'
          && b.data[0] == 'x' && b.data[900] == 'x',
          "bounded buffer: all 1000 bytes kept, NUL after them");
    CHECK(b.cap <= 1001,
          apr_psprintf(p, "bounded buffer: room for the bound only, not %"
                       APR_SIZE_T_FMT, b.cap));
    CHECK(free_b.len == 1000 && free_b.cap >= 1024,
          "unbounded buffer: doubles");
}
