/* The RongCloud calls (wcim_rongcloud.h): their forms and signed
 * headers, this node's share of the rate limits, host failover (which
 * host is in use: wcim_rc_hosts.c), reading the answers. Each POST goes through an HTTP transport (wcim_http.h:
 * libcurl's, wcim_http.c, unless the caller gives another). */
#include <string.h>
#include <apr_atomic.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <curl/curl.h>

#include "wcim_rongcloud.h"
#include "wcim_http.h"
#include "wcim_rc_hosts.h"
#include "wcim_digest.h"
#include "wcim_utf8.h"
#include "wcim_json.h"
#include "wcim_metrics.h"

#define RC_NONCE_BYTES 8                  /* 16 hex digits; 18 allowed */
#define RC_REQUEST_ID_BYTES 16            /* 32 hex digits, as a UUID */
#define RC_MIN_ATTEMPT apr_time_from_msec(100)

/* ---- rate limits ------------------------------------------------- */

struct wcim_rc_limits_t {
    wcim_ratelimit_t *call[WCIM_CALL_COUNT];
};

apr_status_t wcim_rc_limits_create(wcim_rc_limits_t **plimits,
                                   apr_pool_t *p)
{
    *plimits = wcim_rc_limits_at(apr_palloc(p, wcim_rc_limits_size()));
    return APR_SUCCESS;
}

apr_size_t wcim_rc_limits_size(void)
{
    return APR_ALIGN_DEFAULT(sizeof(wcim_rc_limits_t))
           + WCIM_CALL_COUNT * wcim_ratelimit_size();
}

wcim_rc_limits_t *wcim_rc_limits_at(void *mem)
{
    wcim_rc_limits_t *l = mem;
    char *at = (char *)mem + APR_ALIGN_DEFAULT(sizeof(wcim_rc_limits_t));
    int c;

    /* the pointers are the same in every child: the segment is mapped
     * before they fork */
    for (c = 0; c < WCIM_CALL_COUNT; ++c) {
        l->call[c] = wcim_ratelimit_at(at + c * wcim_ratelimit_size());
    }
    return l;
}

void wcim_rc_rate_share(double *per_sec, int *burst,
                        const wcim_rc_config_t *conf, wcim_call_t call)
{
    double limit = (unsigned)call < WCIM_CALL_COUNT ? conf->rate_limit[call]
                                                    : 0;
    int nodes = conf->nodes > 0 ? conf->nodes : 1;

    *per_sec = 0;
    *burst = 1;
    if (limit > 0) {
        *per_sec = limit * WCIM_RC_RATE_SHARE / nodes;
        *burst = (int)(limit * (1 - WCIM_RC_RATE_SHARE) / nodes);
        if (*burst < 1) {
            *burst = 1;
        }
    }
}

/* Wait for this node's turn at RongCloud's rate limit for a call, at most
 * WeclubsIMRongCloudRateWait and never so long that the call itself would
 * have no time left: past that, the call is not made. *pwaited gets the
 * wait. */
static apr_status_t rate_wait(apr_interval_time_t *pwaited,
                              wcim_rc_error_t *err, const wcim_rc_t *rc,
                              wcim_call_t call, const char *url,
                              apr_interval_time_t left, apr_pool_t *p)
{
    const wcim_rc_config_t *conf = rc->conf;
    apr_interval_time_t wait, max_wait = conf->rate_wait;
    double per_sec;
    int burst;

    *pwaited = 0;
    wcim_rc_rate_share(&per_sec, &burst, conf, call);
    if (per_sec <= 0 || conf->limits == NULL) {
        return APR_SUCCESS;
    }
    if (max_wait > left - RC_MIN_ATTEMPT) {
        max_wait = left - RC_MIN_ATTEMPT;
    }
    if (wcim_ratelimit_reserve(&wait, conf->limits->call[call], per_sec,
                               burst, apr_time_now(), max_wait)
        != APR_SUCCESS) {
        wcim_metrics_rate_refused(rc->metrics, call);
        err->url = url;
        err->detail = apr_psprintf(p, "not called: this node's share of "
                                   "RongCloud's rate limit (%.0f calls/s, "
                                   "WeclubsIMRongCloudRateLimit) would "
                                   "make it wait %.1f s, more than the "
                                   "%.1f s it may (WeclubsIMRongCloud"
                                   "RateWait, the time left)", per_sec,
                                   (double)wait / APR_USEC_PER_SEC,
                                   (double)(max_wait > 0 ? max_wait : 0)
                                   / APR_USEC_PER_SEC);
        err->retryable = 0;
        err->rate_limited = 1;
        return APR_TIMEUP;
    }
    if (wait > 0) {
        wcim_metrics_rate_waiting(rc->metrics, call);
        apr_sleep(wait);
        wcim_metrics_rate_waited(rc->metrics, call, wait);
        *pwaited = wait;
    }
    return APR_SUCCESS;
}

/* ---- one call ---------------------------------------------------- */

/* Percent-encode a form value (curl leaves only ALPHA DIGIT -._~). */
static const char *form_escape(const char *s, apr_pool_t *p)
{
    char *esc = curl_easy_escape(NULL, s, 0);
    const char *out = apr_pstrdup(p, esc ? esc : "");

    curl_free(esc);
    return out;
}

/* Append "&name=value" with the value percent-encoded ("name=value"
 * first). Made before the push: the two sides of an assignment are
 * evaluated in no set order, and the push counts the part. */
static void form_add(apr_array_header_t *parts, const char *name,
                     const char *value, apr_pool_t *p)
{
    const char *part = apr_pstrcat(p, parts->nelts ? "&" : "", name, "=",
                                   form_escape(value ? value : "", p), NULL);

    APR_ARRAY_PUSH(parts, const char *) = part;
}

/* RongCloud's limits on a name and a portrait. A name: 1 to 64 characters
 * "whatever the script" (docs.rongcloud.cn/platform-chat-api/user/modify:
 * "最大长度 64 个字符(不区分符号、英文字符、中文字符)"), which
 * server-sdk-java checks as String.length() <= 64 before it sends one
 * (src/main/java/io/rong/util/CommonUtil.java, limits in
 * src/main/resources/jsonsource/user/verify.json): UTF-16 units, so an
 * emoji counts 2. Counting as the SDK does is never laxer than the docs;
 * a name over it is refused with code 1002 (user/api.json). The same cut
 * serves group names: a group's name is 64 characters at most in
 * server-sdk-go (sdk/group.go, GroupCreate) and the profile-hosting docs
 * (entrust/group/create), and group/sync refreshes it. portraitUri: at
 * most 1024 bytes (docs user/modify). */
#define RC_NAME_MAX 64
#define RC_PORTRAIT_MAX 1024

const char *wcim_rc_name_fit(const char *name, apr_pool_t *p)
{
    return wcim_utf8_cut(name, WCIM_UTF8_ANY, RC_NAME_MAX, p);
}

/* userId, name and portraitUri, fitted to RongCloud's limits. A student
 * with no name is named by the RongCloud user id: unique, so two such
 * students stay apart in push notifications (the only place RongCloud
 * shows the name), valid by RongCloud's own rules, and nothing clients
 * do not see already (a fixed label would make them all look alike). */
static void user_form(apr_array_header_t *form, const char *user_id,
                      const char *name, const char *portrait, apr_pool_t *p)
{
    const char *fit = name ? wcim_rc_name_fit(name, p) : "";

    form_add(form, "userId", user_id, p);
    form_add(form, "name", *fit ? fit : user_id, p);
    /* a cut URL would point elsewhere: none beats a wrong one */
    if (portrait == NULL || strlen(portrait) <= RC_PORTRAIT_MAX) {
        form_add(form, "portraitUri", portrait, p);
    }
}

/* The four authentication headers RongCloud checks on every call, and a
 * fresh X-Request-ID (*prequest_id): RongCloud's support asks for it, and
 * every SDK sends one (server-sdk-java io/rong/util/HttpUtil.java: a UUID's
 * 32 hex digits; server-sdk-go rongcloud/rongcloud.go fillHeader). */
static apr_array_header_t *auth_headers(const char **prequest_id,
                                        const wcim_rc_config_t *conf,
                                        apr_pool_t *p)
{
    unsigned char rnd[RC_NONCE_BYTES], rid[RC_REQUEST_ID_BYTES];
    char nonce[2 * RC_NONCE_BYTES + 1], sig[WCIM_SHA1_HEX_LEN + 1];
    char *request_id = apr_palloc(p, 2 * RC_REQUEST_ID_BYTES + 1);
    const char *ts, *plain;
    apr_array_header_t *l = apr_array_make(p, 6, sizeof(const char *));

    *prequest_id = NULL;
    if (apr_generate_random_bytes(rnd, sizeof(rnd)) != APR_SUCCESS
        || apr_generate_random_bytes(rid, sizeof(rid)) != APR_SUCCESS) {
        return NULL;
    }
    wcim_hex_encode(nonce, rnd, sizeof(rnd), 0);
    wcim_hex_encode(request_id, rid, sizeof(rid), 0);
    *prequest_id = request_id;
    ts = apr_psprintf(p, "%" APR_TIME_T_FMT, apr_time_sec(apr_time_now()));
    plain = apr_pstrcat(p, conf->app_secret, nonce, ts, NULL);
    wcim_sha1_hex(sig, plain, strlen(plain), 0);

    APR_ARRAY_PUSH(l, const char *) = apr_pstrcat(p, "App-Key: ",
                                                  conf->app_key, NULL);
    APR_ARRAY_PUSH(l, const char *) = apr_pstrcat(p, "Nonce: ", nonce, NULL);
    APR_ARRAY_PUSH(l, const char *) = apr_pstrcat(p, "Timestamp: ", ts, NULL);
    APR_ARRAY_PUSH(l, const char *) = apr_pstrcat(p, "Signature: ", sig,
                                                  NULL);
    APR_ARRAY_PUSH(l, const char *) =
        "Content-Type: application/x-www-form-urlencoded; charset=UTF-8";
    APR_ARRAY_PUSH(l, const char *) = apr_pstrcat(p, "X-Request-ID: ",
                                                  request_id, NULL);
    return l;
}

void wcim_rc_attempt_limits(apr_interval_time_t *ptotal,
                            apr_interval_time_t *pconnect,
                            const wcim_rc_config_t *conf,
                            apr_interval_time_t left, int attempts,
                            int hosts)
{
    /* a host that answers slowly gets an even share, so the backup still
     * has time after it; one that cannot even connect costs only the
     * connection limit, and the backup gets the rest. With one URL there
     * is no backup: the connection may take the whole attempt (a SYN lost
     * once is sent again after a second) */
    *ptotal = left / (attempts > 0 ? attempts : 1);
    *pconnect = conf->connect_timeout > 0 ? conf->connect_timeout
                                          : WCIM_RC_DEFAULT_CONNECT_TIMEOUT;
    if (*pconnect > *ptotal || hosts < 2) {
        *pconnect = *ptotal;
    }
}

/* One POST to one host, within `limit` (its connection set-up within
 * `connect_limit`), through rc's transport. */
static apr_status_t rc_attempt(json_t **pjson, wcim_rc_error_t *err,
                               const wcim_rc_t *rc, const char *url,
                               const char *form, apr_interval_time_t limit,
                               apr_interval_time_t connect_limit,
                               apr_pool_t *p)
{
    const wcim_http_t *http = rc->http ? rc->http : &wcim_http_curl;
    wcim_http_request_t req;
    wcim_http_answer_t ans;
    apr_status_t rv;

    *pjson = NULL;
    memset(err, 0, sizeof(*err));
    err->url = url;
    memset(&req, 0, sizeof(req));
    req.url = url;
    req.headers = auth_headers(&err->request_id, rc->conf, p);
    req.body = form;
    req.body_len = strlen(form);
    req.limit = limit;
    req.connect_limit = connect_limit;
    req.ca_file = rc->conf->ca_file;
    req.max_answer = WCIM_RC_MAX_ANSWER;
    rv = req.headers ? http->post(&ans, http, rc->client, &req, p)
                     : APR_ENOMEM;
    if (rv == APR_ENOMEM) {
        err->detail = "out of memory or randomness";
        return rv;
    }
    err->http_status = ans.status;
    if (rv != APR_SUCCESS) {
        err->curl_code = ans.error;
        err->curl_msg = ans.error_msg;
        err->detail = ans.overflow
            ? apr_psprintf(p, "answer larger than %d bytes",
                           WCIM_RC_MAX_ANSWER)
            : "transfer failed";
        /* an oversized answer is RongCloud's, whichever host: no failover */
        err->retryable = !ans.overflow;
        return rv;
    }
    return wcim_rc_answer_parse(pjson, err, ans.body, ans.len, p);
}

apr_status_t wcim_rc_answer_parse(json_t **pjson, wcim_rc_error_t *err,
                                  const char *buf, apr_size_t len,
                                  apr_pool_t *p)
{
    json_t *json, *code;

    *pjson = NULL;
    if (len == 0 || wcim_json_parse(&json, NULL, buf, len, p) != APR_SUCCESS
        || !json_is_object(json)) {
        err->detail = "answer is not a JSON object";
        /* another host may answer properly; but a 429 (a gateway's page,
         * say) is the app's rate limit, whatever its body */
        err->retryable = err->http_status != 429;
        err->rate_limited = err->http_status == 429;
        return APR_EGENERAL;
    }
    code = json_object_get(json, "code");
    err->rc_code = json_is_integer(code) ? (long)json_integer_value(code) : 0;
    if (err->http_status != 200 || err->rc_code != 200) {
        json_t *msg = json_object_get(json, "errorMessage");
        err->detail = json_is_string(msg)
            ? apr_pstrcat(p, "RongCloud refused: ", json_string_value(msg),
                          NULL)
            : "RongCloud refused the call";
        /* a server error may pass on another host. The rate limit is the
         * app's, whichever host (HTTP 429 or code 1008): like every SDK
         * (server-sdk-go rongcloud/http.go, server-sdk-java
         * io/rong/util/HttpUtil.java, server-sdk-php RongCloud/Lib/
         * Request.php switch on network errors and 5xx only), no failover;
         * nor for a refusal of the request itself */
        err->retryable = err->http_status >= 500 && err->http_status < 600;
        err->rate_limited = err->http_status == 429 || err->rc_code == 1008;
        return APR_EGENERAL;
    }
    *pjson = json;
    return APR_SUCCESS;
}

/* POST a form to an API path: the host in use first, then once on the
 * next host if the failure might pass there and time is left. The whole
 * operation stays within the configured time-out. */
/* *pwaited: the time spent waiting for the rate limit, -1 when the
 * operation made no call at all for it */
static apr_status_t rc_attempts(json_t **pjson,
                                apr_interval_time_t *pwaited,
                                wcim_rc_error_t *err, const wcim_rc_t *rc,
                                wcim_call_t call, const char *path,
                                const char *form, int n, int attempts,
                                apr_time_t deadline, apr_pool_t *p);

static apr_status_t rc_post(json_t **pjson, wcim_rc_error_t *err,
                            const wcim_rc_t *rc, wcim_call_t call,
                            const char *path, const char *form,
                            apr_pool_t *p)
{
    const wcim_rc_config_t *conf = rc->conf;
    apr_time_t now = apr_time_now(), deadline = now + conf->timeout;
    apr_interval_time_t waited = 0;
    int n, attempts;
    apr_status_t rv;

    *pjson = NULL;
    memset(err, 0, sizeof(*err));
    if (conf->urls == NULL || conf->urls->nelts == 0 || !conf->app_key
        || !conf->app_secret) {
        err->detail = "RongCloud app key, secret or URL not configured";
        return APR_EINIT;
    }
    n = conf->urls->nelts;
    attempts = n > 1 ? 2 : 1;
    rv = rc_attempts(pjson, &waited, err, rc, call, path, form, n, attempts,
                     deadline, p);
    if (rc->spent) {
        *rc->spent += apr_time_now() - now;
    }
    /* RongCloud's time, not our wait for the rate limit; an operation
     * that never called (the rate limit's wait too long) is not counted */
    if (waited >= 0) {
        wcim_metrics_rc_call(rc->metrics, call, rv == APR_SUCCESS,
                             apr_time_now() - now - waited);
    }
    return rv;
}

/* rc_post's attempts: the host in use, then maybe the next one. */
static apr_status_t rc_attempts(json_t **pjson,
                                apr_interval_time_t *pwaited,
                                wcim_rc_error_t *err, const wcim_rc_t *rc,
                                wcim_call_t call, const char *path,
                                const char *form, int n, int attempts,
                                apr_time_t deadline, apr_pool_t *p)
{
    const wcim_rc_config_t *conf = rc->conf;
    apr_status_t rv = APR_EGENERAL;
    apr_interval_time_t waited;
    int idx, attempt;

    idx = wcim_rc_hosts_pick(conf->hosts, n);
    for (attempt = 0; attempt < attempts; ++attempt) {
        const char *url = apr_pstrcat(p, APR_ARRAY_IDX(conf->urls, idx,
                                                       const char *),
                                      path, NULL);
        apr_interval_time_t left = deadline - apr_time_now(), limit, connect;

        if (attempt > 0 && left < RC_MIN_ATTEMPT) {
            break;
        }
        /* every attempt counts against the app's limit, failover too */
        if ((rv = rate_wait(&waited, err, rc, call, url, left, p))
            != APR_SUCCESS) {
            if (attempt == 0) {
                *pwaited = -1;      /* nothing was called */
            }
            break;
        }
        *pwaited += waited;
        left = deadline - apr_time_now();
        wcim_rc_attempt_limits(&limit, &connect, conf, left,
                               attempts - attempt, n);
        rv = rc_attempt(pjson, err, rc, url, form, limit, connect, p);
        if (rv == APR_SUCCESS) {
            return rv;
        }
        if (!err->retryable || n < 2) {
            break;
        }
        wcim_rc_hosts_failed(conf->hosts, idx, n);
        WCIM_LOG(rc->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0301)
                 "RongCloud host failed, switching to %s: %s",
                 APR_ARRAY_IDX(conf->urls, (idx + 1) % n, const char *),
                 wcim_rc_error_text(err, p));
        idx = (idx + 1) % n;
        wcim_metrics_failover(rc->metrics);
    }
    return rv;
}

apr_status_t wcim_rc_get_token(const char **ptoken, wcim_rc_error_t *err,
                               const wcim_rc_t *rc, const char *user_id,
                               const char *name, const char *portrait,
                               apr_pool_t *p)
{
    apr_array_header_t *form = apr_array_make(p, 3, sizeof(const char *));
    json_t *answer, *token;
    apr_status_t rv;

    *ptoken = NULL;
    user_form(form, user_id, name, portrait, p);
    rv = rc_post(&answer, err, rc, WCIM_CALL_GET_TOKEN, "/user/getToken.json",
                 apr_array_pstrcat(p, form, 0), p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    token = json_object_get(answer, "token");
    if (!json_is_string(token) || json_string_length(token) == 0
        || json_string_length(token) > 1024) {
        err->detail = "answer has no usable token";
        return APR_EGENERAL;
    }
    *ptoken = apr_pstrdup(p, json_string_value(token));
    return APR_SUCCESS;
}

apr_status_t wcim_rc_refresh_user(wcim_rc_error_t *err, const wcim_rc_t *rc,
                                  const char *user_id, const char *name,
                                  const char *portrait, apr_pool_t *p)
{
    apr_array_header_t *form = apr_array_make(p, 3, sizeof(const char *));
    json_t *answer;

    user_form(form, user_id, name, portrait, p);
    return rc_post(&answer, err, rc, WCIM_CALL_REFRESH, "/user/refresh.json",
                   apr_array_pstrcat(p, form, 0), p);
}

apr_status_t wcim_rc_group_sync(wcim_rc_error_t *err, const wcim_rc_t *rc,
                                const char *user_id,
                                const apr_array_header_t *groups,
                                apr_pool_t *p)
{
    apr_array_header_t *form;
    json_t *answer;
    int i;

    form = apr_array_make(p, groups->nelts + 1, sizeof(const char *));
    form_add(form, "userId", user_id, p);
    for (i = 0; i < groups->nelts; ++i) {
        const wcim_rc_group_t *g = &APR_ARRAY_IDX(groups, i, wcim_rc_group_t);
        form_add(form, apr_pstrcat(p, "group[", form_escape(g->id, p), "]",
                                   NULL), wcim_rc_name_fit(g->name, p), p);
    }
    return rc_post(&answer, err, rc, WCIM_CALL_GROUP_SYNC, "/group/sync.json",
                   apr_array_pstrcat(p, form, 0), p);
}

const char *wcim_rc_error_text(const wcim_rc_error_t *err, apr_pool_t *p)
{
    return apr_psprintf(p, "%s: %s (curl %d: %s; HTTP %ld; RongCloud code "
                        "%ld; X-Request-ID %s)", err->url ? err->url : "-",
                        err->detail ? err->detail : "failed",
                        err->curl_code,
                        err->curl_msg ? err->curl_msg : "none",
                        err->http_status, err->rc_code,
                        err->request_id ? err->request_id : "-");
}

apr_status_t wcim_rc_block_user(wcim_rc_error_t *err, const wcim_rc_t *rc,
                                const char *user_id, int minutes,
                                apr_pool_t *p)
{
    apr_array_header_t *form = apr_array_make(p, 2, sizeof(const char *));
    json_t *answer;

    form_add(form, "userId", user_id, p);
    form_add(form, "minute", apr_itoa(p, minutes), p);
    return rc_post(&answer, err, rc, WCIM_CALL_BLOCK, "/user/block.json",
                   apr_array_pstrcat(p, form, 0), p);
}

apr_status_t wcim_rc_unblock_user(wcim_rc_error_t *err, const wcim_rc_t *rc,
                                  const char *user_id, apr_pool_t *p)
{
    apr_array_header_t *form = apr_array_make(p, 1, sizeof(const char *));
    json_t *answer;

    form_add(form, "userId", user_id, p);
    return rc_post(&answer, err, rc, WCIM_CALL_BLOCK, "/user/unblock.json",
                   apr_array_pstrcat(p, form, 0), p);
}
