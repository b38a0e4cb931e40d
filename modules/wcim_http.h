/* The HTTP transport under the RongCloud calls (wcim_rongcloud.c): one
 * POST to one URL within time limits, the answer capped, behind a table
 * of functions as mod_md's md_http_impl_t is, so that the calls can be
 * driven without a network (tests/test_rc_calls.c). libcurl's
 * (wcim_http.c) is the module's: reused handles and connections, TLS
 * always verified. Knows nothing of httpd. */
#ifndef WCIM_HTTP_H
#define WCIM_HTTP_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

/* The transport's state in a process (libcurl's: reusable handles), as
 * wcim_rongcloud.h names it. */
typedef struct wcim_rc_client_t wcim_rc_client_t;

typedef struct wcim_http_request_t {
    const char *url;
    const apr_array_header_t *headers;  /* "Name: value" (const char *) */
    const char *body;
    apr_size_t body_len;
    apr_interval_time_t limit;          /* the whole transfer */
    apr_interval_time_t connect_limit;  /* the connection's set-up */
    const char *ca_file;                /* NULL: the system's CA store */
    apr_size_t max_answer;              /* a longer answer is refused */
} wcim_http_request_t;

typedef struct wcim_http_answer_t {
    long status;           /* HTTP status; 0 when no answer came */
    const char *body;      /* the answer, when the transfer worked */
    apr_size_t len;
    int error;             /* the transport's code (CURLcode); 0: worked */
    const char *error_msg; /* its description */
    int overflow;          /* refused: longer than max_answer */
} wcim_http_answer_t;

typedef struct wcim_http_t wcim_http_t;
struct wcim_http_t {
    /* POST req: APR_SUCCESS when an answer came whole (whatever its
     * status), APR_TIMEUP when a limit ran out, APR_ENOMEM when the
     * transfer could not be set up, APR_EGENERAL for any other failure
     * (ans->error says which, ans->overflow when the answer was too
     * long). ans->status is set in every case. */
    apr_status_t (*post)(wcim_http_answer_t *ans, const wcim_http_t *http,
                         wcim_rc_client_t *client,
                         const wcim_http_request_t *req, apr_pool_t *p);
    void *baton;           /* the transport's own (a test's fake) */
};

/* libcurl's transport; client NULL: a fresh handle per transfer. */
extern const wcim_http_t wcim_http_curl;

#endif
