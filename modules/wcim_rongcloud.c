#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <string.h>
#include <apr_strings.h>
#include <apr_general.h>
#include <curl/curl.h>

#include "wcim_rongcloud.h"
#include "wcim_digest.h"
#include "wcim_json.h"

#define RC_USER_AGENT "mod_weclubs_im/" PACKAGE_VERSION
#define RC_NONCE_BYTES 8   /* 16 hex characters; RongCloud allows 18 */

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

apr_status_t wcim_rc_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK
           ? APR_SUCCESS : APR_EGENERAL;
}

static apr_status_t easy_release(void *h)
{
    curl_easy_cleanup((CURL *)h);
    return APR_SUCCESS;
}

static apr_status_t slist_release(void *l)
{
    curl_slist_free_all((struct curl_slist *)l);
    return APR_SUCCESS;
}

/* The answer body, capped at WCIM_RC_MAX_ANSWER. */
typedef struct {
    apr_pool_t *pool;
    char *buf;
    apr_size_t len, cap;
    int overflow;
} answer_t;

static size_t answer_write(char *data, size_t size, size_t nmemb, void *baton)
{
    answer_t *a = baton;
    apr_size_t n = size * nmemb;

    if (a->len + n > WCIM_RC_MAX_ANSWER) {
        a->overflow = 1;
        return 0;   /* makes curl fail the transfer with CURLE_WRITE_ERROR */
    }
    if (a->len + n + 1 > a->cap) {
        apr_size_t cap = a->cap ? a->cap : 1024;
        char *nbuf;
        while (cap < a->len + n + 1) {
            cap *= 2;
        }
        nbuf = apr_palloc(a->pool, cap);
        if (a->len) {
            memcpy(nbuf, a->buf, a->len);
        }
        a->buf = nbuf;
        a->cap = cap;
    }
    memcpy(a->buf + a->len, data, n);
    a->len += n;
    return n;
}

/* Append "&name=value" (percent-encoded value) to a form. */
static void form_add(apr_array_header_t *parts, CURL *h, const char *name,
                     const char *value, apr_pool_t *p)
{
    char *esc = curl_easy_escape(h, value ? value : "", 0);

    *(const char **)apr_array_push(parts) =
        apr_pstrcat(p, parts->nelts ? "&" : "", name, "=", esc ? esc : "",
                    NULL);
    curl_free(esc);
}

/* The four authentication headers RongCloud checks on every call. */
static struct curl_slist *auth_headers(const wcim_rc_config_t *conf,
                                       apr_pool_t *p)
{
    unsigned char rnd[RC_NONCE_BYTES];
    char nonce[2 * RC_NONCE_BYTES + 1], sig[WCIM_SHA1_HEX_LEN + 1];
    const char *ts, *plain;
    struct curl_slist *l = NULL;
    int i;

    if (apr_generate_random_bytes(rnd, sizeof(rnd)) != APR_SUCCESS) {
        return NULL;
    }
    for (i = 0; i < RC_NONCE_BYTES; ++i) {
        apr_snprintf(nonce + 2 * i, 3, "%02x", rnd[i]);
    }
    ts = apr_psprintf(p, "%" APR_TIME_T_FMT, apr_time_sec(apr_time_now()));
    plain = apr_pstrcat(p, conf->app_secret, nonce, ts, NULL);
    wcim_sha1_hex(sig, plain, strlen(plain), 0);

    l = curl_slist_append(l, apr_pstrcat(p, "App-Key: ", conf->app_key, NULL));
    l = curl_slist_append(l, apr_pstrcat(p, "Nonce: ", nonce, NULL));
    l = curl_slist_append(l, apr_pstrcat(p, "Timestamp: ", ts, NULL));
    l = curl_slist_append(l, apr_pstrcat(p, "Signature: ", sig, NULL));
    l = curl_slist_append(l, "Content-Type: application/x-www-form-urlencoded;"
                             " charset=UTF-8");
    l = curl_slist_append(l, "Expect:");   /* no 100-continue round trip */
    return l;
}

/* POST a form to one API path; on success *pjson is RongCloud's answer
 * with "code" 200. */
static apr_status_t rc_post(json_t **pjson, wcim_rc_error_t *err,
                            const wcim_rc_config_t *conf, CURL *h,
                            const char *path, const char *form,
                            apr_pool_t *p)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    answer_t answer = { p, NULL, 0, 0, 0 };
    struct curl_slist *headers;
    json_t *json, *code;
    long timeout_ms = (long)apr_time_as_msec(conf->timeout);
    CURLcode cc;

    *pjson = NULL;
    memset(err, 0, sizeof(*err));
    if (conf->urls == NULL || conf->urls->nelts == 0 || !conf->app_key
        || !conf->app_secret) {
        err->detail = "RongCloud app key, secret or URL not configured";
        return APR_EINIT;
    }
    err->url = apr_pstrcat(p, APR_ARRAY_IDX(conf->urls, 0, const char *),
                           path, NULL);
    headers = auth_headers(conf, p);
    if (headers == NULL) {
        err->detail = "could not make the request headers";
        return APR_ENOMEM;
    }
    apr_pool_cleanup_register(p, headers, slist_release,
                              apr_pool_cleanup_null);

    curl_easy_setopt(h, CURLOPT_URL, err->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     timeout_ms > 0 ? timeout_ms : 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, RC_USER_AGENT);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, form);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(form));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, answer_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (conf->ca_file) {
        curl_easy_setopt(h, CURLOPT_CAINFO, conf->ca_file);
    }

    cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &err->http_status);
    /* the error buffer lives on this stack frame: detach it */
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    if (cc != CURLE_OK) {
        err->curl_code = (int)cc;
        err->curl_msg = apr_pstrdup(p, errbuf[0] ? errbuf
                                                 : curl_easy_strerror(cc));
        err->detail = answer.overflow
            ? apr_psprintf(p, "answer larger than %d bytes",
                           WCIM_RC_MAX_ANSWER)
            : "transfer failed";
        return cc == CURLE_OPERATION_TIMEDOUT ? APR_TIMEUP : APR_EGENERAL;
    }
    if (answer.len == 0
        || wcim_json_parse(&json, NULL, answer.buf, answer.len, p)
           != APR_SUCCESS
        || !json_is_object(json)) {
        err->detail = "answer is not a JSON object";
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
        return APR_EGENERAL;
    }
    *pjson = json;
    return APR_SUCCESS;
}

static apr_status_t rc_handle(CURL **ph, wcim_rc_error_t *err, apr_pool_t *p)
{
    *ph = curl_easy_init();
    if (*ph == NULL) {
        memset(err, 0, sizeof(*err));
        err->detail = "curl_easy_init failed";
        return APR_ENOMEM;
    }
    apr_pool_cleanup_register(p, *ph, easy_release, apr_pool_cleanup_null);
    return APR_SUCCESS;
}

apr_status_t wcim_rc_get_token(const char **ptoken, wcim_rc_error_t *err,
                               const wcim_rc_config_t *conf,
                               const char *user_id, const char *name,
                               const char *portrait, apr_pool_t *p)
{
    apr_array_header_t *form = apr_array_make(p, 3, sizeof(const char *));
    json_t *answer, *token;
    CURL *h;
    apr_status_t rv;

    *ptoken = NULL;
    if ((rv = rc_handle(&h, err, p)) != APR_SUCCESS) {
        return rv;
    }
    form_add(form, h, "userId", user_id, p);
    form_add(form, h, "name", name, p);
    form_add(form, h, "portraitUri", portrait, p);
    rv = rc_post(&answer, err, conf, h, "/user/getToken.json",
                 apr_array_pstrcat(p, form, 0), p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    token = json_object_get(answer, "token");
    if (!json_is_string(token) || json_string_length(token) == 0) {
        err->detail = "answer has no token";
        return APR_EGENERAL;
    }
    *ptoken = apr_pstrdup(p, json_string_value(token));
    return APR_SUCCESS;
}

apr_status_t wcim_rc_group_sync(wcim_rc_error_t *err,
                                const wcim_rc_config_t *conf,
                                const char *user_id,
                                const apr_array_header_t *groups,
                                apr_pool_t *p)
{
    apr_array_header_t *form;
    json_t *answer;
    CURL *h;
    apr_status_t rv;
    int i;

    if ((rv = rc_handle(&h, err, p)) != APR_SUCCESS) {
        return rv;
    }
    form = apr_array_make(p, groups->nelts + 1, sizeof(const char *));
    form_add(form, h, "userId", user_id, p);
    for (i = 0; i < groups->nelts; ++i) {
        const wcim_rc_group_t *g = &APR_ARRAY_IDX(groups, i, wcim_rc_group_t);
        char *id = curl_easy_escape(h, g->id, 0);
        form_add(form, h, apr_pstrcat(p, "group[", id ? id : "", "]", NULL),
                 g->name, p);
        curl_free(id);
    }
    return rc_post(&answer, err, conf, h, "/group/sync.json",
                   apr_array_pstrcat(p, form, 0), p);
}

const char *wcim_rc_error_text(const wcim_rc_error_t *err, apr_pool_t *p)
{
    return apr_psprintf(p, "%s: %s (curl %d: %s; HTTP %ld; RongCloud code "
                        "%ld)", err->url ? err->url : "-",
                        err->detail ? err->detail : "failed",
                        err->curl_code,
                        err->curl_msg ? err->curl_msg : "none",
                        err->http_status, err->rc_code);
}
