/* The answer's bytes (modules/wcim_reply.c) and JSON strings written
 * straight into a buffer (modules/wcim_json.c). */
#include <stdio.h>
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
