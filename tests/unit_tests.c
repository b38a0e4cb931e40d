/* Unit tests of the core (modules/): the parts with exact answers that are
 * cheaper to pin down here than through httpd. Prints "N passed, N failed". */
#include <stdio.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <jansson.h>

#include "../modules/wcim_api.h"
#include "../modules/wcim_cache.h"
#include "../modules/wcim_envelope.h"
#include "../modules/wcim_buf.h"
#include "../modules/wcim_json.h"
#include "../modules/wcim_result.h"
#include "../modules/wcim_rongcloud.h"
#include "../modules/wcim_routing.h"
#include "../modules/wcim_digest.h"
#include "../modules/wcim_sign.h"
#include "../modules/wcim_token.h"

static int passed, failed;

#define CHECK(cond, what)                                                 \
    do {                                                                  \
        if (cond) { ++passed; }                                           \
        else { ++failed; fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__,   \
                                 __LINE__, what); }                       \
    } while (0)

#define SECRET "8924d49e61e1dc9e1618d3bae21ea493"
#define SEED_TOKEN \
    "NmQ1NTY2MjY2MTUxZDM4ZjE0YTM5ZWJhYmE5NTIwMDRfZGF0ZT0xNDkxODk4NzM5MDk4"

static json_t *data_of(apr_pool_t *p, const char *text)
{
    json_t *j;
    wcim_json_parse(&j, NULL, text, strlen(text), p);
    return j;
}

static void check_sign_vector(apr_pool_t *p, const char *data, int form,
                              const char *expected)
{
    const char *sign;
    json_t *d = data_of(p, data);

    wcim_sign_compute(&sign, form, d, SECRET, strlen(SECRET), p);
    CHECK(sign && strcmp(sign, expected) == 0,
          apr_psprintf(p, "sign of %s: %s, expected %s", data, sign,
                       expected));
    CHECK(wcim_sign_verify(d, expected, strlen(expected), SECRET,
                           strlen(SECRET), WCIM_SIGN_FORMS_ALL, p)
          == APR_SUCCESS, "vector verifies");
    CHECK(wcim_sign_verify(d, expected, strlen(expected), SECRET,
                           strlen(SECRET),
                           WCIM_SIGN_FORMS_ALL & ~form, p)
          == WCIM_STATUS(3003), "form switched off is refused");
}

static void test_sign(apr_pool_t *p)
{
    const char *v = "{\"user_id\":\"38\",\"token\":\"" SEED_TOKEN "\"}";
    json_t *d;
    char upper[41];
    const char *text;
    apr_size_t len;
    int i;

    /* the vectors of protocol.md section 3 */
    check_sign_vector(p, "{\"student_id\":\"2\",\"size\":\"20\",\"type\":\"1\"}",
                      WCIM_SIGN_FORM_SHA1,
                      "59056cc1f4666dfc21e519cf0e74061d4a437550");
    check_sign_vector(p, "{\"student_id\":\"2\",\"size\":\"20\",\"type\":\"1\"}",
                      WCIM_SIGN_FORM_MD5_SHA1,
                      "307abb960a5a54a05abb1da9d491b45a");
    check_sign_vector(p, "{\"user_id\":\"21\",\"token\":\"MzdkYmFiNzkwNWVjNWM4"
                      "MDFkZjU0NWEwMDE4ODlkOWFfZGF0ZT0xNDkwMDg0NzMyMjgw\"}",
                      WCIM_SIGN_FORM_SHA1,
                      "1f793f5ad9f27465e6e3414a3ecb265d0f4de5d8");
    check_sign_vector(p, v, WCIM_SIGN_FORM_MD5_SHA1,
                      "0705b4dc0a406ed0e3bc5013c685943c");
    check_sign_vector(p, v, WCIM_SIGN_FORM_SHA1,
                      "56072054521d911e34d7c0345a54990d4d2e891f");
    /* an integer user_id signs as its decimal text */
    check_sign_vector(p, "{\"user_id\":38,\"token\":\"" SEED_TOKEN "\"}",
                      WCIM_SIGN_FORM_MD5_SHA1,
                      "0705b4dc0a406ed0e3bc5013c685943c");

    d = data_of(p, "{\"b\":true,\"a\":null,\"c\":false,\"d\":-5}");
    wcim_sign_text(&text, &len, d, "S", 1, p);
    CHECK(strcmp(text, "SanullbtruecfalsedS") != 0
          && strcmp(text, "Sanullbtruecfalsed-5S") == 0,
          "scalars as the Java server wrote them, keys in byte order");

    d = data_of(p, v);
    strcpy(upper, "0705B4DC0A406ED0E3BC5013C685943C");
    CHECK(wcim_sign_verify(d, upper, 32, SECRET, strlen(SECRET),
                           WCIM_SIGN_FORMS_ALL, p) == WCIM_STATUS(3003),
          "upper-case sign refused");
    CHECK(wcim_sign_verify(d, NULL, 0, SECRET, strlen(SECRET),
                           WCIM_SIGN_FORMS_ALL, p) == WCIM_STATUS(3003),
          "missing sign refused");
    CHECK(wcim_sign_verify(d, "0705b4dc", 8, SECRET, strlen(SECRET),
                           WCIM_SIGN_FORMS_ALL, p) == WCIM_STATUS(3003),
          "short sign refused");
    for (i = 0; i < 32; ++i) {
        char s[33];
        strcpy(s, "0705b4dc0a406ed0e3bc5013c685943c");
        s[i] = s[i] == '0' ? '1' : '0';
        if (wcim_sign_verify(d, s, 32, SECRET, strlen(SECRET),
                             WCIM_SIGN_FORMS_ALL, p) != WCIM_STATUS(3003)) {
            break;
        }
    }
    CHECK(i == 32, "every one-digit change of the sign is refused");
}

static void test_envelope(apr_pool_t *p)
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
              && wcim_sign_text(&t1, &l1, env->data, "s", 1, p)
                 == APR_SUCCESS
              && wcim_sign_text(&t2, &l2, env2->data, "s", 1, p)
                 == APR_SUCCESS
              && l1 == l2 && strcmp(t1, t2) == 0,
              "an id beyond 64 bits: the signature text is unchanged");
        /* 2^53 + 1 cannot be told from 2^53 once read as a real: refused
         * rather than signed with the wrong digits */
        CHECK(wcim_envelope_parse(&env, &why, past, strlen(past), p)
              == WCIM_STATUS(3001),
              "an id beyond 64 bits: an integer past 2^53 in data is refused");
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

static void test_token(apr_pool_t *p)
{
    wcim_token_row_t row = { SEED_TOKEN, "1491898739098" };
    apr_time_t created = apr_time_from_msec(APR_INT64_C(1491898739098));
    const char *why, *digest;
    apr_int64_t date;
    const char *forged;

    CHECK(wcim_token_decode(&digest, &date, SEED_TOKEN, strlen(SEED_TOKEN), p)
          == APR_SUCCESS && date == APR_INT64_C(1491898739098)
          && strcmp(digest, "6d5566266151d38f14a39ebaba952004") == 0,
          "seed token decodes");
    CHECK(wcim_token_verify(&why, SEED_TOKEN, strlen(SEED_TOKEN), &row, 0,
                            apr_time_now(), p) == APR_SUCCESS,
          "seed token valid with lifetime off");
    CHECK(wcim_token_verify(&why, SEED_TOKEN, strlen(SEED_TOKEN), &row,
                            APR_INT64_C(604800000), apr_time_now(), p)
          == WCIM_STATUS(3010), "seed token expired with a 7-day lifetime");
    CHECK(wcim_token_verify(&why, SEED_TOKEN, strlen(SEED_TOKEN), &row,
                            APR_INT64_C(604800000),
                            created + apr_time_from_sec(604799), p)
          == APR_SUCCESS, "valid one second before the lifetime ends");
    CHECK(wcim_token_verify(&why, SEED_TOKEN, strlen(SEED_TOKEN), &row,
                            APR_INT64_C(604800000),
                            created + apr_time_from_sec(604800), p)
          == WCIM_STATUS(3010), "expired when the lifetime ends");

    /* same date, another digest: the old server's forgery */
    forged = "MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDBfZGF0ZT0xNDkxODk4NzM5MDk4";
    CHECK(wcim_token_decode(&digest, &date, forged, strlen(forged), p)
          == APR_SUCCESS && date == APR_INT64_C(1491898739098),
          "forged token has the right date");
    CHECK(wcim_token_verify(&why, forged, strlen(forged), &row, 0,
                            apr_time_now(), p) == WCIM_STATUS(3010),
          "forged token refused");
    CHECK(wcim_token_decode(&digest, &date, "bm8gZGF0ZSBoZXJl", 16, p)
          == APR_EINVAL, "no _date= refused");
    CHECK(wcim_token_decode(&digest, &date, "not base64!", 11, p)
          == APR_EINVAL, "not base64 refused");
    {
        wcim_token_row_t bad = { "bm8gZGF0ZSBoZXJl", "1" };
        CHECK(wcim_token_verify(&why, "bm8gZGF0ZSBoZXJl", 16, &bad, 0,
                                apr_time_now(), p) == WCIM_STATUS(3010),
              "a stored token without a date is refused too");
    }
}

static void test_reply(apr_pool_t *p)
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

static void test_routing(apr_pool_t *p)
{
    apr_table_t *labels = apr_table_make(p, 4);
    wcim_routed_post_t post = { "im_user_id_7", "im_club_id_12", "RC:TxtMsg",
                                "{\"content\":\"hi\"}", "GROUP",
                                "1700000000000", "UID1" };
    wcim_message_t msg;
    const char *why;
    apr_time_t now = apr_time_from_msec(APR_INT64_C(1700000000000));
    char sig[41], long_text[300];
    const char *plain = "sec" "n1" "1700000000000";
    int i;

    wcim_sha1_hex(sig, plain, strlen(plain), 0);
    CHECK(wcim_routing_verify(&why, "sec", "n1", "1700000000000", sig, now,
                              apr_time_from_sec(300), p) == APR_SUCCESS,
          "callback signature accepted");
    CHECK(wcim_routing_verify(&why, "other", "n1", "1700000000000", sig, now,
                              apr_time_from_sec(300), p) == APR_EACCES,
          "callback signed with another secret refused");
    CHECK(wcim_routing_verify(&why, "sec", "n1", "1700000000000", sig,
                              now + apr_time_from_sec(301),
                              apr_time_from_sec(300), p) == APR_EACCES,
          "stale callback refused");
    CHECK(wcim_routing_verify(&why, "sec", NULL, "1700000000000", sig, now,
                              apr_time_from_sec(300), p) == APR_EACCES,
          "callback without nonce refused");

    wcim_routing_default_labels(labels);
    CHECK(wcim_routing_classify(&msg, &why, &post, labels, p)
          == WCIM_ROUTED_MESSAGE && msg.club_id == 12
          && strcmp(msg.preview, "hi") == 0
          && msg.time == APR_INT64_C(1700000000000), "text message");
    post.object_name = "RC:ImgMsg";
    CHECK(wcim_routing_classify(&msg, &why, &post, labels, p)
          == WCIM_ROUTED_MESSAGE && strcmp(msg.preview, "[图片]") == 0,
          "image label");
    post.object_name = "RC:TypSts";
    CHECK(wcim_routing_classify(&msg, &why, &post, labels, p)
          == WCIM_ROUTED_IGNORED, "typing status ignored");
    post.object_name = "RC:SRSMsg";
    post.content = "{\"lastMessageSendTime\":1699999999000}";
    CHECK(wcim_routing_classify(&msg, &why, &post, labels, p)
          == WCIM_ROUTED_READ_MARK
          && msg.time == APR_INT64_C(1699999999000), "read sync");
    post.object_name = "RC:TxtMsg";
    post.to_user_id = "im_club_id_x";
    CHECK(wcim_routing_classify(&msg, &why, &post, labels, p)
          == WCIM_ROUTED_IGNORED, "not a club group");
    post.to_user_id = "im_club_id_12";
    post.channel_type = "PERSON";
    CHECK(wcim_routing_classify(&msg, &why, &post, labels, p)
          == WCIM_ROUTED_IGNORED, "private message ignored");
    post.channel_type = "GROUP";
    strcpy(long_text, "{\"content\":\"");
    for (i = 0; i < 50; ++i) {
        strcat(long_text, "长");   /* 3 bytes each */
    }
    strcat(long_text, "\"}");
    post.content = long_text;
    CHECK(wcim_routing_classify(&msg, &why, &post, labels, p)
          == WCIM_ROUTED_MESSAGE && strlen(msg.preview) == 120,
          "long text cut at a character boundary");
    strcpy(long_text, "{\"content\":\"a");
    for (i = 0; i < 50; ++i) {
        strcat(long_text, "长");
    }
    strcat(long_text, "\"}");
    CHECK(wcim_routing_classify(&msg, &why, &post, labels, p)
          == WCIM_ROUTED_MESSAGE && strlen(msg.preview) == 118,
          "a cut never splits a character");
}

static void test_json_string(apr_pool_t *p)
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

/* Cache ids spread over all of shmcb's subcaches (it files an entry under
 * its id's first byte), though the keys share their prefixes. */
static void test_cache_id(apr_pool_t *p)
{
    enum { USERS = 20000, SUBCACHES = 256 };
    unsigned counts[SUBCACHES] = { 0 };
    unsigned i, lo = USERS, hi = 0;
    unsigned char *id;
    apr_size_t len;
    const char *key = "tok:testappkey:1a2b3c4d:im_user_id_38";

    wcim_cache_id(&id, &len, key, p);
    CHECK(len == strlen(key) + 1 && memcmp(id + 1, key, len - 1) == 0,
          "the readable key follows the spread byte");
    for (i = 0; i < USERS; ++i) {
        wcim_cache_id(&id, &len, apr_psprintf(p, "tok:testappkey:1a2b3c4d:"
                                              "im_user_id_%u", 700000 + i),
                      p);
        counts[id[0] % SUBCACHES]++;
    }
    for (i = 0; i < SUBCACHES; ++i) {
        lo = counts[i] < lo ? counts[i] : lo;
        hi = counts[i] > hi ? counts[i] : hi;
    }
    /* ~78 a subcache; a prefix-filed key would put all 20,000 in one */
    CHECK(lo >= 40 && hi <= 120,
          apr_psprintf(p, "20,000 token keys over 256 subcaches: %u to %u "
                       "each", lo, hi));
}

/* RongCloud's time limits at their defaults, with a backup host: an answer
 * that takes 3 s still fits the first attempt, and a host that never
 * completes a connection costs about a second before the backup is asked,
 * which then has the rest. */
static void test_rc_limits(apr_pool_t *p)
{
    wcim_rc_config_t conf;
    apr_interval_time_t total, connect;

    memset(&conf, 0, sizeof(conf));
    conf.timeout = WCIM_RC_DEFAULT_TIMEOUT;
    conf.connect_timeout = WCIM_RC_DEFAULT_CONNECT_TIMEOUT;
    wcim_rc_attempt_limits(&total, &connect, &conf, conf.timeout, 2);
    CHECK(total > apr_time_from_sec(3),
          apr_psprintf(p, "first of two attempts at the defaults: %" APR_TIME_T_FMT
                       " ms for a 3 s answer", apr_time_as_msec(total)));
    CHECK(connect <= apr_time_from_sec(1),
          apr_psprintf(p, "first of two attempts at the defaults: connection "
                       "set-up within %" APR_TIME_T_FMT " ms, not 1 s",
                       apr_time_as_msec(connect)));
    wcim_rc_attempt_limits(&total, &connect, &conf,
                           conf.timeout - apr_time_from_sec(1), 1);
    CHECK(total == conf.timeout - apr_time_from_sec(1)
          && connect == conf.connect_timeout,
          "the backup after a dead host: all the time left, 1 s to connect");
    /* a connection limit never outlasts the attempt */
    wcim_rc_attempt_limits(&total, &connect, &conf, apr_time_from_msec(300),
                           1);
    CHECK(total == apr_time_from_msec(300) && connect == total,
          "300 ms left: connection set-up within them");
}

/* Names cut for RongCloud's 64 bytes: never inside a UTF-8 character. */
static void test_rc_utf8_cut(apr_pool_t *p)
{
    const char *zhang22 = apr_pstrcat(p, "ab", "张张张张张张张张张张张张张张张张张张张张张张",
                                      NULL);   /* 2 + 22 x 3 = 68 bytes */
    const char *cut = wcim_rc_utf8_cut(zhang22, 64, p);

    CHECK(strcmp(cut, "ab张张张张张张张张张张张张张张张张张张张张") == 0,
          apr_psprintf(p, "68 bytes of 张: cut to 62, got %d bytes",
                       (int)strlen(cut)));
    CHECK(strcmp(wcim_rc_utf8_cut("abc", 64, p), "abc") == 0, "short: kept");
    cut = wcim_rc_utf8_cut(apr_pstrcat(p, "xxx", "\xF0\x9F\x98\x80", NULL),
                           5, p);
    CHECK(strcmp(cut, "xxx") == 0, "a 4-byte character across the cut: left out");
    cut = wcim_rc_utf8_cut(apr_pstrcat(p, "xxxx", "\xF0\x9F\x98\x80", NULL),
                           8, p);
    CHECK(strlen(cut) == 8, "exactly 8 bytes: kept whole");
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_sign(p);
    test_envelope(p);
    test_token(p);
    test_reply(p);
    test_routing(p);
    test_json_string(p);
    test_cache_id(p);
    test_rc_limits(p);
    test_rc_utf8_cut(p);
    apr_pool_destroy(p);
    apr_terminate();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
