/* The RongCloud calls (modules/wcim_rongcloud.c) over a fake HTTP
 * transport (wcim_http.h): what they send, which answers fail over to the
 * next host, which are refused and how, without a network. */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>

#include "unit_tests.h"
#include "../modules/wcim_rongcloud.h"
#include "../modules/wcim_http.h"
#include "../modules/wcim_digest.h"

#define FAKE_MAX 4
#define A_TOKEN "http://a.example/user/getToken.json"
#define B_TOKEN "http://b.example/user/getToken.json"

/* What the fake answers, call by call, and what it was asked. */
typedef struct {
    apr_status_t rv;        /* the transport's result */
    long status;
    const char *body;
    int error;
} fake_answer_t;

typedef struct {
    fake_answer_t answers[FAKE_MAX];
    int calls;
    wcim_http_request_t asked[FAKE_MAX];
} fake_t;

static apr_status_t fake_post(wcim_http_answer_t *ans,
                              const wcim_http_t *http,
                              wcim_rc_client_t *client,
                              const wcim_http_request_t *req, apr_pool_t *p)
{
    fake_t *f = http->baton;
    const fake_answer_t *a;

    memset(ans, 0, sizeof(*ans));
    if (f->calls >= FAKE_MAX || f->answers[f->calls].body == NULL) {
        /* more calls than the test expected: a refused connection */
        if (f->calls < FAKE_MAX) {
            f->asked[f->calls] = *req;
        }
        ++f->calls;
        ans->error = 7;
        ans->error_msg = "fake: no answer scripted";
        return APR_EGENERAL;
    }
    f->asked[f->calls] = *req;
    a = &f->answers[f->calls++];
    ans->status = a->status;
    if (a->rv != APR_SUCCESS) {
        ans->error = a->error;
        ans->error_msg = "fake transfer failure";
        return a->rv;
    }
    if (strlen(a->body) > req->max_answer) {
        /* as libcurl's: the transfer fails at the cap */
        ans->error = 23;
        ans->error_msg = "Failure writing output to destination";
        ans->overflow = 1;
        return APR_EGENERAL;
    }
    ans->body = a->body;
    ans->len = strlen(a->body);
    return APR_SUCCESS;
}

/* A call's client over the fake, and what the call says went wrong. */
typedef struct {
    wcim_rc_config_t conf;
    wcim_rc_t rc;
    wcim_http_t http;
    fake_t f;
    wcim_rc_error_t err;
} fixture_t;

/* A configuration with `hosts` URLs, no rate limit; rc over the fake. */
static void setup(fixture_t *x, int hosts, apr_pool_t *p)
{
    wcim_rc_config_t *conf = &x->conf;

    memset(x, 0, sizeof(*x));
    conf->app_key = "testkey";
    conf->app_secret = "testsecret";
    conf->urls = apr_array_make(p, 2, sizeof(const char *));
    APR_ARRAY_PUSH(conf->urls, const char *) = "http://a.example";
    if (hosts > 1) {
        APR_ARRAY_PUSH(conf->urls, const char *) = "http://b.example";
    }
    conf->timeout = WCIM_RC_DEFAULT_TIMEOUT;
    conf->connect_timeout = WCIM_RC_DEFAULT_CONNECT_TIMEOUT;
    wcim_rc_hosts_create(&conf->hosts, p);
    x->http.post = fake_post;
    x->http.baton = &x->f;
    x->rc.conf = conf;
    x->rc.http = &x->http;
}

static const char *header(const wcim_http_request_t *req, const char *name)
{
    apr_size_t n = strlen(name);
    int i;

    for (i = 0; req->headers && i < req->headers->nelts; ++i) {
        const char *h = APR_ARRAY_IDX(req->headers, i, const char *);
        if (strncmp(h, name, n) == 0 && h[n] == ':' && h[n + 1] == ' ') {
            return h + n + 2;
        }
    }
    return NULL;
}

static int all_hex(const char *s, apr_size_t len)
{
    return s && strlen(s) == len && strspn(s, "0123456789abcdef") == len;
}

/* What a call sends: the form, RongCloud's signed headers, the limits. */
static void test_rc_sent(apr_pool_t *p)
{
    fixture_t x;
    const wcim_http_request_t *req = &x.f.asked[0];
    const char *token, *nonce, *ts, *sig;
    char expect[WCIM_SHA1_HEX_LEN + 1];
    apr_interval_time_t spent = 0;
    apr_status_t rv;

    setup(&x, 1, p);
    x.rc.spent = &spent;
    x.f.answers[0] = (fake_answer_t){ APR_SUCCESS, 200,
                                      "{\"code\":200,\"token\":\"tok1\"}", 0 };
    rv = wcim_rc_get_token(&token, &x.err, &x.rc, "im_user_id_38", "张 三",
                           "http://x/a.png", p);
    CHECK(rv == APR_SUCCESS && token && strcmp(token, "tok1") == 0,
          "getToken: the answer's token");
    CHECK(x.f.calls == 1, "getToken: one POST");
    CHECK(strcmp(req->url, A_TOKEN) == 0,
          apr_psprintf(p, "getToken: to %s", req->url));
    CHECK(req->body_len == strlen(req->body)
          && strcmp(req->body, "userId=im_user_id_38&name=%E5%BC%A0%20%E4%B8"
                    "%89&portraitUri=http%3A%2F%2Fx%2Fa.png") == 0,
          apr_psprintf(p, "getToken: the form, got %s", req->body));
    nonce = header(req, "Nonce");
    ts = header(req, "Timestamp");
    sig = header(req, "Signature");
    CHECK(header(req, "App-Key") && strcmp(header(req, "App-Key"),
                                           "testkey") == 0, "App-Key");
    CHECK(all_hex(nonce, 16), "Nonce: 16 hex digits");
    CHECK(ts && strspn(ts, "0123456789") == strlen(ts)
          && apr_time_sec(apr_time_now()) - apr_atoi64(ts) < 5,
          "Timestamp: now, in seconds");
    if (nonce && ts) {
        const char *plain = apr_pstrcat(p, "testsecret", nonce, ts, NULL);
        wcim_sha1_hex(expect, plain, strlen(plain), 0);
    }
    CHECK(sig && nonce && ts && strcmp(sig, expect) == 0,
          "Signature: SHA1 of secret, nonce and timestamp");
    CHECK(header(req, "Content-Type") && strcmp(header(req, "Content-Type"),
          "application/x-www-form-urlencoded; charset=UTF-8") == 0,
          "Content-Type: a form");
    CHECK(all_hex(header(req, "X-Request-ID"), 32)
          && strcmp(x.err.request_id, header(req, "X-Request-ID")) == 0,
          "X-Request-ID: 32 hex digits, kept for the error line");
    CHECK(req->headers->nelts == 6, "six headers, nothing else");
    CHECK(req->max_answer == WCIM_RC_MAX_ANSWER, "answers capped at 64 KiB");
    CHECK(req->limit > apr_time_from_sec(9)
          && req->limit <= WCIM_RC_DEFAULT_TIMEOUT
          && req->connect_limit == req->limit,
          "one host: the whole time for the attempt and its connection");
    CHECK(spent >= 0 && x.err.http_status == 200, "time spent counted");

    /* a name left out is the user id; an over-long portrait is left out */
    setup(&x, 1, p);
    x.f.answers[0] = (fake_answer_t){ APR_SUCCESS, 200, "{\"code\":200}", 0 };
    rv = wcim_rc_refresh_user(&x.err, &x.rc, "u1", NULL,
                              apr_pstrcat(p, "http://x/",
                                          apr_psprintf(p, "%01100d", 0),
                                          NULL), p);
    CHECK(rv == APR_SUCCESS && x.f.calls == 1
          && strcmp(req->url, "http://a.example/user/refresh.json") == 0
          && strcmp(req->body, "userId=u1&name=u1") == 0,
          apr_psprintf(p, "refresh: no name, long portrait: %s", req->body));

    setup(&x, 1, p);
    x.f.answers[0] = (fake_answer_t){ APR_SUCCESS, 200, "{\"code\":200}", 0 };
    {
        apr_array_header_t *groups = apr_array_make(p, 2,
                                                    sizeof(wcim_rc_group_t));
        wcim_rc_group_t *g = apr_array_push(groups);
        g->id = "im_club_id_1";
        g->name = "一班";
        g = apr_array_push(groups);
        g->id = "im_club_id_2";
        g->name = "a&b";
        rv = wcim_rc_group_sync(&x.err, &x.rc, "u1", groups, p);
    }
    CHECK(rv == APR_SUCCESS && x.f.calls == 1
          && strcmp(req->url, "http://a.example/group/sync.json") == 0
          && strcmp(req->body, "userId=u1&group[im_club_id_1]=%E4%B8%80%E7"
                    "%8F%AD&group[im_club_id_2]=a%26b") == 0,
          apr_psprintf(p, "group/sync: the form, got %s", req->body));
}

/* Which failures go to the next host, and what the caller is told. */
static void test_rc_failover(apr_pool_t *p)
{
    fixture_t x;
    const char *token;
    apr_status_t rv;

    /* a 5xx: the second host answers, and stays in use */
    setup(&x, 2, p);
    x.f.answers[0] = (fake_answer_t){ APR_SUCCESS, 503,
        "{\"code\":500,\"errorMessage\":\"x\"}", 0 };
    x.f.answers[1] = (fake_answer_t){ APR_SUCCESS, 200,
                                      "{\"code\":200,\"token\":\"tokB\"}", 0 };
    rv = wcim_rc_get_token(&token, &x.err, &x.rc, "u1", "n", NULL, p);
    CHECK(rv == APR_SUCCESS && token && strcmp(token, "tokB") == 0
          && x.f.calls == 2
          && strcmp(x.f.asked[0].url, A_TOKEN) == 0
          && strcmp(x.f.asked[1].url, B_TOKEN) == 0,
          "HTTP 503 on the first host: the second's token");
    CHECK(x.f.asked[0].connect_limit == WCIM_RC_DEFAULT_CONNECT_TIMEOUT
          && x.f.asked[0].limit <= WCIM_RC_DEFAULT_TIMEOUT / 2,
          "two hosts: the first attempt gets half the time, 1 s to connect");
    CHECK(wcim_rc_hosts_active(x.conf.hosts) == 1, "the second host in use");
    x.f.calls = 0;
    x.f.answers[0] = x.f.answers[1];
    rv = wcim_rc_get_token(&token, &x.err, &x.rc, "u1", "n", NULL, p);
    CHECK(rv == APR_SUCCESS && x.f.calls == 1
          && strcmp(x.f.asked[0].url, B_TOKEN) == 0,
          "the next call goes to the host in use");

    /* a transfer that failed (connection refused): the next host */
    setup(&x, 2, p);
    x.f.answers[0] = (fake_answer_t){ APR_EGENERAL, 0, "", 7 };
    x.f.answers[1] = (fake_answer_t){ APR_SUCCESS, 200, "{\"code\":200}", 0 };
    rv = wcim_rc_refresh_user(&x.err, &x.rc, "u1", "n", NULL, p);
    CHECK(rv == APR_SUCCESS && x.f.calls == 2,
          "a failed transfer: the second host");

    /* both time out: APR_TIMEUP, curl's code kept */
    setup(&x, 2, p);
    x.f.answers[0] = (fake_answer_t){ APR_TIMEUP, 0, "", 28 };
    x.f.answers[1] = (fake_answer_t){ APR_TIMEUP, 0, "", 28 };
    rv = wcim_rc_refresh_user(&x.err, &x.rc, "u1", "n", NULL, p);
    CHECK(rv == APR_TIMEUP && x.f.calls == 2 && x.err.curl_code == 28
          && x.err.http_status == 0 && x.err.retryable
          && strcmp(x.err.url, "http://b.example/user/refresh.json") == 0
          && strcmp(x.err.detail, "transfer failed") == 0,
          apr_psprintf(p, "both hosts time out: %s",
                       wcim_rc_error_text(&x.err, p)));

    /* code 1008 (RongCloud's rate limit): the app's on every host, no
     * failover; marked rate_limited */
    setup(&x, 2, p);
    x.f.answers[0] = (fake_answer_t){ APR_SUCCESS, 200,
        "{\"code\":1008,\"errorMessage\":\"too many\"}", 0 };
    rv = wcim_rc_get_token(&token, &x.err, &x.rc, "u1", "n", NULL, p);
    CHECK(rv == APR_EGENERAL && x.f.calls == 1 && x.err.rate_limited
          && !x.err.retryable && x.err.rc_code == 1008
          && strcmp(x.err.detail, "RongCloud refused: too many") == 0
          && wcim_rc_hosts_active(x.conf.hosts) == 0,
          apr_psprintf(p, "code 1008: no failover, rate_limited: %s",
                       wcim_rc_error_text(&x.err, p)));

    /* HTTP 429 with a gateway's page: rate_limited, no failover */
    setup(&x, 2, p);
    x.f.answers[0] = (fake_answer_t){ APR_SUCCESS, 429, "<html>", 0 };
    rv = wcim_rc_get_token(&token, &x.err, &x.rc, "u1", "n", NULL, p);
    CHECK(rv == APR_EGENERAL && x.f.calls == 1 && x.err.rate_limited
          && !x.err.retryable
          && strcmp(x.err.detail, "answer is not a JSON object") == 0,
          "HTTP 429, not JSON: no failover, rate_limited");

    /* a refusal of the request itself (4xx, code 1002): no failover */
    setup(&x, 2, p);
    x.f.answers[0] = (fake_answer_t){ APR_SUCCESS, 400,
                                      "{\"code\":1002}", 0 };
    rv = wcim_rc_get_token(&token, &x.err, &x.rc, "u1", "n", NULL, p);
    CHECK(rv == APR_EGENERAL && x.f.calls == 1 && !x.err.retryable
          && !x.err.rate_limited && x.err.rc_code == 1002
          && strcmp(x.err.detail, "RongCloud refused the call") == 0,
          "HTTP 400, code 1002: no failover");

    /* an answer over 64 KiB: refused, and no failover (it is RongCloud's
     * whichever host) */
    setup(&x, 2, p);
    {
        const char *json = "{\"code\":200,\"token\":\"t\"}";
        char *big = apr_palloc(p, WCIM_RC_MAX_ANSWER + 2);

        memset(big, ' ', WCIM_RC_MAX_ANSWER + 1);
        memcpy(big, json, strlen(json));   /* then spaces */
        big[WCIM_RC_MAX_ANSWER + 1] = '\0';
        x.f.answers[0] = (fake_answer_t){ APR_SUCCESS, 200, big, 0 };
    }
    rv = wcim_rc_get_token(&token, &x.err, &x.rc, "u1", "n", NULL, p);
    CHECK(rv == APR_EGENERAL && x.f.calls == 1 && !x.err.retryable
          && token == NULL && x.err.curl_code == 23
          && strcmp(x.err.detail, "answer larger than 65536 bytes") == 0,
          apr_psprintf(p, "an over-long answer: refused, no failover: %s",
                       wcim_rc_error_text(&x.err, p)));

    /* a 200 without a token */
    setup(&x, 1, p);
    x.f.answers[0] = (fake_answer_t){ APR_SUCCESS, 200, "{\"code\":200}", 0 };
    rv = wcim_rc_get_token(&token, &x.err, &x.rc, "u1", "n", NULL, p);
    CHECK(rv == APR_EGENERAL && token == NULL
          && strcmp(x.err.detail, "answer has no usable token") == 0,
          "code 200 without a token: a failure");

    /* one host, a 5xx: nothing to fail over to */
    setup(&x, 1, p);
    x.f.answers[0] = (fake_answer_t){ APR_SUCCESS, 502, "{\"code\":500}", 0 };
    rv = wcim_rc_get_token(&token, &x.err, &x.rc, "u1", "n", NULL, p);
    CHECK(rv == APR_EGENERAL && x.f.calls == 1 && x.err.retryable
          && x.err.http_status == 502, "one host, HTTP 502: one attempt");
}

/* This node's share of the rate limit spent, with no wait allowed: the
 * call is not made at all; nor without a key, a secret or a URL. */
static void test_rc_not_called(apr_pool_t *p)
{
    fixture_t x;
    const char *token;
    apr_status_t rv;

    setup(&x, 2, p);
    wcim_rc_limits_create(&x.conf.limits, p);
    x.conf.rate_limit[WCIM_CALL_GET_TOKEN] = 1;   /* 0.9/s, a burst of 1 */
    x.conf.nodes = 1;
    x.conf.rate_wait = 0;
    x.f.answers[0] = (fake_answer_t){ APR_SUCCESS, 200,
                                      "{\"code\":200,\"token\":\"t\"}", 0 };
    rv = wcim_rc_get_token(&token, &x.err, &x.rc, "u1", "n", NULL, p);
    CHECK(rv == APR_SUCCESS && x.f.calls == 1, "the share's first call goes");
    rv = wcim_rc_get_token(&token, &x.err, &x.rc, "u1", "n", NULL, p);
    CHECK(rv == APR_TIMEUP && x.f.calls == 1 && x.err.rate_limited
          && !x.err.retryable && x.err.http_status == 0
          && strncmp(x.err.detail, "not called: ", 12) == 0
          && strcmp(x.err.url, A_TOKEN) == 0,
          apr_psprintf(p, "the next, at once: not called (%s)",
                       wcim_rc_error_text(&x.err, p)));

    setup(&x, 1, p);
    x.conf.app_secret = NULL;
    rv = wcim_rc_get_token(&token, &x.err, &x.rc, "u1", "n", NULL, p);
    CHECK(rv == APR_EINIT && x.f.calls == 0,
          "no app secret: APR_EINIT, not called");
}

void test_rc_calls(apr_pool_t *p)
{
    test_rc_sent(p);
    test_rc_failover(p);
    test_rc_not_called(p);
}
