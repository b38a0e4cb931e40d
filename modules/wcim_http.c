/* libcurl's HTTP transport for the RongCloud calls (wcim_http.h): handles
 * reused from a list per process (and so their connections, within
 * RongCloud's 60 s), the time limits of an attempt, the answer capped,
 * TLS verified. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <string.h>
#include <apr_reslist.h>
#include <apr_strings.h>
#include <curl/curl.h>

#include "wcim_http.h"
#include "wcim_rongcloud.h"
#include "wcim_buf.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif
#define RC_USER_AGENT "mod_weclubs_im/" PACKAGE_VERSION
#define RC_POOL_SOFT_MAX 16               /* idle handles kept */
#define RC_POOL_HARD_MAX 256
#define RC_POOL_IDLE_TTL apr_time_from_sec(WCIM_RC_CONN_MAX_AGE)

apr_status_t wcim_rc_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK
           ? APR_SUCCESS : APR_EGENERAL;
}

/* ---- reusable handles ------------------------------------------ */

struct wcim_rc_client_t {
    apr_reslist_t *handles;
};

static apr_status_t handle_make(void **res, void *params, apr_pool_t *p)
{
    *res = curl_easy_init();
    return *res ? APR_SUCCESS : APR_ENOMEM;
}

static apr_status_t handle_drop(void *res, void *params, apr_pool_t *p)
{
    curl_easy_cleanup((CURL *)res);
    return APR_SUCCESS;
}

apr_status_t wcim_rc_client_create(wcim_rc_client_t **pclient, apr_pool_t *p)
{
    wcim_rc_client_t *c = apr_pcalloc(p, sizeof(*c));
    apr_status_t rv;

    *pclient = NULL;
    rv = apr_reslist_create(&c->handles, 0, RC_POOL_SOFT_MAX,
                            RC_POOL_HARD_MAX, RC_POOL_IDLE_TTL, handle_make,
                            handle_drop, NULL, p);
    if (rv == APR_SUCCESS) {
        /* when all are busy, a fresh handle beats waiting for one */
        apr_reslist_timeout_set(c->handles, apr_time_from_msec(1));
        *pclient = c;
    }
    return rv;
}

static apr_status_t easy_release(void *h)
{
    curl_easy_cleanup((CURL *)h);
    return APR_SUCCESS;
}

/* A handle from the client's list (*pooled) or, failing that, a fresh
 * one owned by the pool. */
static apr_status_t handle_acquire(CURL **ph, int *pooled,
                                   wcim_rc_client_t *c, apr_pool_t *p)
{
    void *res;

    *pooled = 0;
    if (c && apr_reslist_acquire(c->handles, &res) == APR_SUCCESS) {
        *ph = res;
        *pooled = 1;
        curl_easy_reset(*ph);   /* keeps its connection cache */
        return APR_SUCCESS;
    }
    *ph = curl_easy_init();
    if (*ph == NULL) {
        return APR_ENOMEM;
    }
    apr_pool_cleanup_register(p, *ph, easy_release, apr_pool_cleanup_null);
    return APR_SUCCESS;
}

/* A handle whose transfer failed is dropped with its connection. */
static void handle_return(CURL *h, int pooled, int failed,
                          wcim_rc_client_t *c, apr_pool_t *p)
{
    if (!pooled) {
        apr_pool_cleanup_run(p, h, easy_release);
    }
    else if (failed) {
        apr_reslist_invalidate(c->handles, h);
    }
    else {
        apr_reslist_release(c->handles, h);
    }
}
/* ---- one transfer ------------------------------------------------ */

/* The answer body, capped at the request's max_answer. */
typedef struct {
    wcim_buf_t buf;
    apr_size_t max;
    int overflow;
} answer_t;

static size_t answer_write(char *data, size_t size, size_t nmemb, void *baton)
{
    answer_t *a = baton;
    apr_size_t n = size * nmemb;

    if (a->buf.len + n > a->max) {
        a->overflow = 1;
        return 0;   /* curl then fails the transfer with CURLE_WRITE_ERROR */
    }
    wcim_buf_append(&a->buf, data, n);
    return n;
}

/* The request's headers, and none of curl's Expect: 100-continue (a round
 * trip more). NULL when out of memory. */
static struct curl_slist *curl_headers(const apr_array_header_t *headers)
{
    struct curl_slist *l = NULL, *more;
    int i;

    for (i = 0; headers && i < headers->nelts; ++i) {
        if ((more = curl_slist_append(l, APR_ARRAY_IDX(headers, i,
                                                       const char *)))
            == NULL) {
            curl_slist_free_all(l);
            return NULL;
        }
        l = more;
    }
    if ((more = curl_slist_append(l, "Expect:")) == NULL) {
        curl_slist_free_all(l);
    }
    return more;
}

static apr_status_t curl_post(wcim_http_answer_t *ans,
                              const wcim_http_t *http,
                              wcim_rc_client_t *client,
                              const wcim_http_request_t *req, apr_pool_t *p)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    answer_t answer;
    struct curl_slist *headers;
    long limit_ms = (long)apr_time_as_msec(req->limit);
    long connect_ms = (long)apr_time_as_msec(req->connect_limit);
    CURL *h;
    CURLcode cc;
    int pooled;

    memset(ans, 0, sizeof(*ans));
    wcim_buf_init(&answer.buf, p, 1024);
    answer.max = req->max_answer;
    answer.overflow = 0;
    headers = curl_headers(req->headers);
    if (headers == NULL
        || handle_acquire(&h, &pooled, client, p) != APR_SUCCESS) {
        if (headers) {
            curl_slist_free_all(headers);
        }
        return APR_ENOMEM;
    }

    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, limit_ms > 0 ? limit_ms : 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms > 0
                                                   ? connect_ms : 1L);
    curl_easy_setopt(h, CURLOPT_MAXAGE_CONN, (long)WCIM_RC_CONN_MAX_AGE);
    curl_easy_setopt(h, CURLOPT_MAXLIFETIME_CONN, (long)WCIM_RC_CONN_MAX_AGE);
    curl_easy_setopt(h, CURLOPT_USERAGENT, RC_USER_AGENT);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, answer_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (req->ca_file) {
        curl_easy_setopt(h, CURLOPT_CAINFO, req->ca_file);
    }

    cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &ans->status);
    /* nothing of this stack frame may stay in a handle that is reused */
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, NULL);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(headers);
    handle_return(h, pooled, cc != CURLE_OK, client, p);

    if (cc != CURLE_OK) {
        ans->error = (int)cc;
        ans->error_msg = apr_pstrdup(p, errbuf[0] ? errbuf
                                                  : curl_easy_strerror(cc));
        ans->overflow = answer.overflow;
        return cc == CURLE_OPERATION_TIMEDOUT ? APR_TIMEUP : APR_EGENERAL;
    }
    ans->body = answer.buf.data;
    ans->len = answer.buf.len;
    return APR_SUCCESS;
}

const wcim_http_t wcim_http_curl = { curl_post, NULL };
