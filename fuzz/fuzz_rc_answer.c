/* libFuzzer target: reading RongCloud's answers (wcim_rc_answer_parse in
 * modules/wcim_rongcloud.c), the bytes a RongCloud host, or anything on
 * the path to it, sends back. The input is the answer body, passed with
 * its exact length (the curl write callback's buffer), in a copy that
 * ends at an inaccessible page (fuzz_guarded); it is read as if
 * it came with HTTP 200, 429 and 503. Then what wcim_rc_get_token does
 * with a success (the "token" member) and the log line of a failure
 * (wcim_rc_error_text).
 *
 * Properties checked: success only with HTTP 200 and an integer "code" of
 * 200, and then a JSON object is returned; a failure always says why;
 * a 5xx or 429 is always worth another host; a body that is not a JSON
 * object is always worth another host. */
#include "fuzz_common.h"

#include "wcim_json.h"
#include "wcim_rongcloud.h"

static void one(const char *buf, apr_size_t len, long http_status,
                apr_pool_t *p)
{
    wcim_rc_error_t err;
    json_t *json = (json_t *)1;
    apr_status_t rv;

    memset(&err, 0, sizeof(err));
    err.url = "http://127.0.0.1:1/user/getToken.json";
    err.http_status = http_status;
    rv = wcim_rc_answer_parse(&json, &err, buf, len, p);
    if (rv == APR_SUCCESS) {
        json_t *token;

        FUZZ_CHECK(http_status == 200 && err.rc_code == 200);
        FUZZ_CHECK(json_is_object(json));
        FUZZ_CHECK(json_integer_value(json_object_get(json, "code")) == 200);
        /* as wcim_rc_get_token takes the token */
        token = json_object_get(json, "token");
        if (json_is_string(token) && json_string_length(token) > 0
            && json_string_length(token) <= 1024) {
            FUZZ_CHECK(apr_pstrdup(p, json_string_value(token)) != NULL);
        }
    }
    else {
        FUZZ_CHECK(rv == APR_EGENERAL);
        FUZZ_CHECK(json == NULL);
        FUZZ_CHECK(err.detail != NULL);
        /* a server error may pass on another host; rate limiting is per
         * app, so 429 (and code 1008) never fails over (issue 12, item 6) */
        if (http_status >= 500) {
            FUZZ_CHECK(err.retryable);
        }
        if (http_status == 429 || err.rc_code == 1008) {
            FUZZ_CHECK(!err.retryable || http_status >= 500);
        }
        FUZZ_CHECK(wcim_rc_error_text(&err, p) != NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const char *buf = fuzz_guarded(data, size);
    wcim_rc_error_t err;
    json_t *json;

    one(buf, size, 200, p);
    one(buf, size, 429, p);
    one(buf, size, 503, p);

    /* not a JSON object: always retryable, whatever the status */
    memset(&err, 0, sizeof(err));
    err.http_status = 200;
    if (wcim_rc_answer_parse(&json, &err, buf, size, p)
        != APR_SUCCESS && err.rc_code == 0 && err.retryable == 0) {
        /* a refusal without a code must at least be a JSON object */
        json_t *j = NULL;
        FUZZ_CHECK(wcim_json_parse(&j, NULL, buf, size, p)
                   == APR_SUCCESS && json_is_object(j));
    }

    apr_pool_destroy(p);
    return 0;
}
