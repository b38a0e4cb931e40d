/* The request envelope (modules/wcim_envelope.c): what parses, what is
 * refused with 3001, user_id and token as the checks take them. */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include <jansson.h>

#include "unit_tests.h"
#include "../modules/wcim_envelope.h"
#include "../modules/wcim_json.h"
#include "../modules/wcim_result.h"
#include "../modules/wcim_sign.h"

void test_envelope(apr_pool_t *p)
{
    static const struct { const char *body; int code; } cases[] = {
        { "", 3001 },
        { "[]", 3001 },
        { "{\"client\":{},\"data\":{}} x", 3001 },
        { "{\"client\":\"a\",\"data\":{}}", 3001 },
        { "{\"client\":{},\"data\":[]}", 3001 },
        { "{\"client\":{},\"data\":{\"a\":1.5}}", 3001 },
        { "{\"client\":{},\"data\":{\"a\":{}}}", 3001 },
        { "{\"client\":{},\"data\":{\"a\":[]}}", 3001 },
        { "{\"client\":{},\"data\":{\"a\":1,\"a\":2}}", 3001 },
        { "{\"client\":{},\"data\":{\"a\":\"x\\u0000y\"}}", 3001 },
        { "{\"client\":{},\"data\":{\"a\":1,\"b\":null,\"c\":true}}", 0 },
        /* an integer beyond 64 bits is JSON: fine outside data, refused
         * inside it */
        { "{\"id\":123456789012345678901234,\"client\":{},\"data\":{}}", 0 },
        { "{\"client\":{\"v\":-99999999999999999999},\"data\":{\"a\":1}}", 0 },
        { "{\"client\":{},\"data\":{\"a\":123456789012345678901234}}", 3001 },
        { "{\"id\":1e999999,\"client\":{},\"data\":{}}", 3001 },
        /* where yajl (the streaming pass) is more lenient than jansson:
         * the same verdict either way */
        { "{\"client\":{},\"data\":{}} \"", 3001 },
        { "{\"client\":{},\"data\":{}} 1", 3001 },
        { "{\"client\":{},\"data\":{}} tru", 3001 },
        { "{\"client\":{},\"data\":{}}\n\t\r ", 0 },
        { "\v{\"client\":{},\"data\":{}}", 3001 },
        { "{\"client\":{},\f\"data\":{}}", 3001 },
        { "{\"client\":{},\"data\":{\"a\":\"\xc0\xaf\"}}", 3001 },
        { "{\"client\":{},\"data\":{\"a\":\"\xed\xa0\x80\"}}", 3001 },
        { "{\"client\":{},\"data\":{\"a\":\"\xe7\xa4\xbe\"}}", 0 },
        { "{\"client\":{},\"data\":{\"a\":\"\\ud800\"}}", 3001 },
        { "{\"client\":{},\"data\":{\"a\":\"\\ud83d\\ude00\"}}", 0 },
        { "{\"client\":{\"ex\":{\"sc\":1,\"sc\":2}},\"data\":{}}", 3001 },
        { "{\"client\":{},\"client\":{},\"data\":{}}", 3001 },
        { "{\"client\":{},\"data\":{},\"data\":{}}", 3001 },
        { "{\"client\":{\"x\":[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]},"
          "\"data\":{}}", 0 },
        { "{\"client\":{},\"data\":{\"a\":1,\"b\":2,\"c\":3,\"d\":4,"
          "\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9,\"j\":10,\"k\":11,"
          "\"l\":12,\"m\":13,\"n\":14,\"o\":15,\"p\":16,\"q\":17}}", 0 },
        { "{\"client\":{},\"data\":{\"a\":9223372036854775807,"
          "\"b\":-9223372036854775808}}", 0 },
        { "{\"client\":{},\"data\":{\"a\":9223372036854775808}}", 3001 },
        { "{\"client\":{},\"data\":{\"a\":1e2}}", 3001 },
        { "{\"client\":{\"date\":1.5},\"data\":{}}", 0 },
        { "{\"client\":[],\"data\":{}}", 3001 },
        { "{\"client\":{},\"data\":5}", 3001 },
        { "{\"client\":{}}", 3001 },
        { "{\"client\":{},\"data\":{}}{}", 3001 },
        { "{\"client\":{},\"data\":{\"a\":01}}", 3001 },
    };
    wcim_envelope_t *env;
    const char *why, *uid, *tok;
    apr_size_t tlen;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        apr_status_t rv = wcim_envelope_parse(&env, &why, cases[i].body,
                                              strlen(cases[i].body), p);
        CHECK(wcim_result_of(rv) == (cases[i].code ? cases[i].code : 2000),
              apr_psprintf(p, "envelope %s", cases[i].body));
    }

#define UID(json, expect_rv, expect_uid)                                    \
    do {                                                                    \
        const char *b = "{\"client\":{},\"data\":" json "}";                \
        apr_status_t rv;                                                    \
        wcim_envelope_parse(&env, &why, b, strlen(b), p);                   \
        rv = wcim_envelope_user_id(&uid, env, p);                           \
        CHECK(rv == (expect_rv) && (!(expect_uid) ||                        \
              strcmp(uid, (expect_uid) ? (expect_uid) : "") == 0), json);   \
    } while (0)

    UID("{}", WCIM_STATUS(3005), NULL);
    UID("{\"user_id\":null}", WCIM_STATUS(3005), NULL);
    UID("{\"user_id\":\"38\"}", APR_SUCCESS, "38");
    UID("{\"user_id\":38}", APR_SUCCESS, "38");
    UID("{\"user_id\":0}", APR_SUCCESS, "0");
    UID("{\"user_id\":-1}", WCIM_STATUS(3001), NULL);
    UID("{\"user_id\":\"038\"}", WCIM_STATUS(3001), NULL);
    UID("{\"user_id\":\" 38\"}", WCIM_STATUS(3001), NULL);
    UID("{\"user_id\":\"38a\"}", WCIM_STATUS(3001), NULL);
    UID("{\"user_id\":\"\"}", WCIM_STATUS(3001), NULL);
    UID("{\"user_id\":\"1234567890123456789\"}", WCIM_STATUS(3001), NULL);
    UID("{\"user_id\":true}", WCIM_STATUS(3001), NULL);
    UID("{\"user_id\":-0}", APR_SUCCESS, "0");
    UID("{\"user_id\":999999999999999999}", APR_SUCCESS,
        "999999999999999999");
    UID("{\"user_id\":1000000000000000000}", WCIM_STATUS(3001), NULL);
    UID("{\"user_id\":\"3\\u0038\"}", APR_SUCCESS, "38");
#undef UID

    /* beside an id beyond 64 bits, data's integers stay integers: the
     * user id and the signature read the same as without it */
    {
        static const char big[] = "{\"id\":99999999999999999999999,"
            "\"client\":{},\"data\":{\"user_id\":38,\"n\":-7,"
            "\"big\":9007199254740991,\"t\":\"x\"}}";
        static const char small[] = "{\"id\":1,"
            "\"client\":{},\"data\":{\"user_id\":38,\"n\":-7,"
            "\"big\":9007199254740991,\"t\":\"x\"}}";
        static const char past[] = "{\"id\":99999999999999999999999,"
            "\"client\":{},\"data\":{\"user_id\":9007199254740993}}";
        const char *t1 = NULL, *t2 = NULL;
        apr_size_t l1 = 0, l2 = 0;
        wcim_envelope_t *env2;

        CHECK(wcim_envelope_parse(&env, &why, big, strlen(big), p)
              == APR_SUCCESS
              && wcim_envelope_user_id(&uid, env, p) == APR_SUCCESS
              && strcmp(uid, "38") == 0,
              "an id beyond 64 bits: user_id 38 read as 38");
        CHECK(wcim_envelope_parse(&env2, &why, small, strlen(small), p)
              == APR_SUCCESS
              && wcim_sign_text(&t1, &l1, env->data, env->data_count,
                                "s", 1, p)
                 == APR_SUCCESS
              && wcim_sign_text(&t2, &l2, env2->data, env2->data_count,
                                "s", 1, p)
                 == APR_SUCCESS
              && l1 == l2 && strcmp(t1, t2) == 0,
              "an id beyond 64 bits: the signature text is unchanged");
        /* 2^53 + 1 cannot be told from 2^53 once read as a real: refused
         * rather than signed with the wrong digits */
        CHECK(wcim_envelope_parse(&env, &why, past, strlen(past), p)
              == WCIM_STATUS(3001),
              "an id beyond 64 bits: an integer past 2^53 in data is refused");
    }
    /* beside an integer beyond 64 bits, a real in data is still a real
     * (issue 23, item 9): 3.8e1 was taken as user 38 */
    {
        static const char *const reals[] = {
            "{\"id\":99999999999999999999999,\"client\":{},"
            "\"data\":{\"user_id\":3.8e1}}",
            "{\"client\":{},\"data\":{\"user_id\":38.0,"
            "\"x\":[99999999999999999999999]}}",
            "{\"client\":{\"n\":-99999999999999999999999},"
            "\"data\":{\"token\":\"t\",\"user_id\":380E-1}}",
        };
        apr_size_t i;

        for (i = 0; i < sizeof(reals) / sizeof(reals[0]); ++i) {
            CHECK(wcim_envelope_parse(&env, &why, reals[i],
                                      strlen(reals[i]), p)
                  == WCIM_STATUS(3001),
                  "an integer beyond 64 bits: a real in data is refused");
        }
    }

    /* members and the signed text, read by the streaming pass and (with an
     * escape) by jansson: the same */
    {
        static const char plain[] = "{\"id\":\"r\",\"sign\":\"s\","
            "\"client\":{\"caller\":\"chrome_test\",\"ex\":{\"caller\":\"x\"}},"
            "\"data\":{\"token\":\"T=\",\"n\":-0,\"b\":false,\"a\":null,"
            "\"\xe5\x90\x8d\":\"\xe7\xa4\xbe\"}}";
        static const char escaped[] = "{\"id\":\"r\",\"sign\":\"s\","
            "\"client\":{\"caller\":\"chrome_test\",\"ex\":{\"caller\":\"x\"}},"
            "\"data\":{\"token\":\"T\\u003d\",\"n\":-0,\"b\":false,"
            "\"a\":null,\"\\u540d\":\"\xe7\xa4\xbe\"}}";
        const char *t1 = NULL, *t2 = NULL;
        apr_size_t l1 = 0, l2 = 0;
        wcim_envelope_t *env2 = NULL;

        CHECK(wcim_envelope_parse(&env, &why, plain, strlen(plain), p)
              == APR_SUCCESS
              && wcim_envelope_parse(&env2, &why, escaped, strlen(escaped),
                                     p) == APR_SUCCESS,
              "plain and escaped envelopes parse");
        CHECK(env && env2 && strcmp(env->caller, "chrome_test") == 0
              && strcmp(env2->caller, "chrome_test") == 0
              && strcmp(env->id, "r") == 0 && strcmp(env2->id, "r") == 0
              && env->sign_len == 1 && env2->sign_len == 1
              && env->data_count == 5 && env2->data_count == 5,
              "caller (not client.ex.caller), id, sign, five members");
        CHECK(env && env2
              && wcim_sign_text(&t1, &l1, env->data, env->data_count,
                                "S", 1, p) == APR_SUCCESS
              && wcim_sign_text(&t2, &l2, env2->data, env2->data_count,
                                "S", 1, p) == APR_SUCCESS
              && l1 == l2 && strcmp(t1, t2) == 0
              && strcmp(t1, "Sanullbfalsen0tokenT=\xe5\x90\x8d\xe7\xa4\xbeS")
                 == 0,
              "signed text: keys in byte order, -0 as 0, the escape read");
    }

    wcim_envelope_parse(&env, &why, "{\"client\":{},\"data\":{\"token\":\"\"}}",
                        33, p);
    CHECK(wcim_envelope_token(&tok, &tlen, env) == WCIM_STATUS(3006),
          "empty token is no token");
    wcim_envelope_parse(&env, &why, "{\"client\":{},\"data\":{\"token\":5}}",
                        32, p);
    CHECK(wcim_envelope_token(&tok, &tlen, env) == APR_SUCCESS
          && tlen == 0, "a number is a token that matches nothing");
}
