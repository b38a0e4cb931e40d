/* RongCloud server API client: user/getToken, user/refresh and
 * group/sync, with host failover (wcim_rongcloud.c), over libcurl with
 * reused connections (wcim_http.c). Knows nothing of httpd. */
#ifndef WCIM_RONGCLOUD_H
#define WCIM_RONGCLOUD_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <jansson.h>

#include "wcim_log.h"
#include "wcim_metrics.h"
#include "wcim_ratelimit.h"

/* RongCloud answers are small; anything longer is refused, not buffered. */
#define WCIM_RC_MAX_ANSWER (64 * 1024)
/* Time limits when none is configured. A whole call gets what the SDKs
 * give one: 10 s (server-sdk-go rongcloud/rongcloud.go DEFAULTTIMEOUT,
 * server-sdk-python rongcloud/module.py socket timeout; Java
 * io/rong/RongCloudConfig.java and PHP RongCloud/Lib/Request.php allow
 * 30 s). Their connection limits are as long (Go 10 s, PHP 20 s, Java
 * 30 s), which makes a dead host cost the whole call; a handshake with
 * RongCloud takes well under 100 ms, so 1 s is plenty and leaves the
 * backup host 9 s. */
#define WCIM_RC_DEFAULT_TIMEOUT apr_time_from_sec(10)
#define WCIM_RC_DEFAULT_CONNECT_TIMEOUT apr_time_from_sec(1)
/* RongCloud asks that kept-alive connections live under 60 s. */
#define WCIM_RC_CONN_MAX_AGE 50

/* A node sends at most its share of RongCloud's rate limit for a call
 * (the limits and their sources: mod_weclubs_im_defaults.h):
 * WCIM_RC_RATE_SHARE of the limit over the nodes, steadily, plus the
 * rest as a burst, so that all nodes together stay within any second. */
#define WCIM_RC_RATE_SHARE 0.9

/* This node's limiters, one per call (wcim_call_t), shared by its
 * children: made at start-up for each App Key. */
typedef struct wcim_rc_limits_t wcim_rc_limits_t;

/* Which of the configured hosts is in use: shared by the threads of a
 * process, changed with atomics. */
typedef struct wcim_rc_hosts_t wcim_rc_hosts_t;

/* Reusable curl handles (and so connections) of one process: the
 * transport's (wcim_http.c). */
typedef struct wcim_rc_client_t wcim_rc_client_t;
struct wcim_http_t;

typedef struct wcim_rc_config_t {
    const char *app_key;
    const char *app_secret;
    const char *secret_tag;        /* a short digest of app_secret, for
                                    * keys that must change with it */
    apr_array_header_t *urls;      /* base URLs, primary first, no '/' end */
    apr_interval_time_t timeout;   /* a whole operation, failover included */
    apr_interval_time_t connect_timeout; /* one connection's set-up */
    const char *ca_file;           /* NULL: the system's CA store */
    wcim_rc_hosts_t *hosts;        /* made at start-up for urls */
    double rate_limit[WCIM_CALL_COUNT]; /* RongCloud's, per App Key, in
                                         * calls a second; 0: none */
    int nodes;                     /* servers sharing the App Key */
    apr_interval_time_t rate_wait; /* longest wait for a turn of the share
                                    * (never past the operation's time) */
    wcim_rc_limits_t *limits;      /* made at start-up for app_key */
} wcim_rc_config_t;

/* One operation's view of the client. */
typedef struct wcim_rc_t {
    wcim_rc_client_t *client;      /* NULL: a fresh handle per call */
    const wcim_rc_config_t *conf;
    const wcim_logger_t *log;
    apr_interval_time_t *spent;    /* time spent upstream is added here */
    struct wcim_metrics_t *metrics;/* calls are counted here (optional) */
    const struct wcim_http_t *http;/* the HTTP transport (wcim_http.h);
                                    * NULL: libcurl's, over client */
} wcim_rc_t;

/* What went wrong with a call, for an administrator's log line. */
typedef struct wcim_rc_error_t {
    const char *url;       /* the URL called */
    const char *request_id;/* the call's X-Request-ID, for RongCloud's
                            * support */
    int curl_code;         /* CURLcode; 0 when the transfer worked */
    const char *curl_msg;  /* curl's error buffer or code description */
    long http_status;      /* 0 when no answer came */
    long rc_code;          /* RongCloud's "code"; 0 when none was read */
    const char *detail;    /* our own summary */
    int retryable;         /* another host might do better */
    int rate_limited;      /* over RongCloud's rate limit (HTTP 429 or
                            * code 1008), or not called: this node's share
                            * had no turn in time. Later may do. */
} wcim_rc_error_t;

typedef struct wcim_rc_group_t {
    const char *id;        /* e.g. im_club_id_1 */
    const char *name;
} wcim_rc_group_t;

/* Process-wide libcurl set-up; call once per process before any call. */
apr_status_t wcim_rc_global_init(void);

apr_status_t wcim_rc_hosts_create(wcim_rc_hosts_t **phosts, apr_pool_t *p);

/* The same in memory the caller provides (wcim_rc_hosts_size() bytes), such
 * as a segment shared by all httpd children, so they agree on the host. */
apr_size_t wcim_rc_hosts_size(void);
wcim_rc_hosts_t *wcim_rc_hosts_at(void *mem);

/* The index of the host in use, for status pages and tests. */
int wcim_rc_hosts_active(const wcim_rc_hosts_t *hosts);

apr_status_t wcim_rc_limits_create(wcim_rc_limits_t **plimits,
                                   apr_pool_t *p);
/* The same in memory the caller provides (wcim_rc_limits_size() bytes),
 * such as a segment shared by all httpd children. */
apr_size_t wcim_rc_limits_size(void);
wcim_rc_limits_t *wcim_rc_limits_at(void *mem);

/* This node's share of RongCloud's limit for a call: *per_sec steadily
 * and *burst at once (0 and 1 without a limit). */
void wcim_rc_rate_share(double *per_sec, int *burst,
                        const wcim_rc_config_t *conf, wcim_call_t call);

apr_status_t wcim_rc_client_create(wcim_rc_client_t **pclient,
                                   apr_pool_t *p);

/* The limits of the next attempt of an operation, with `left` time and
 * `attempts` attempts (this one included) left, over `hosts` URLs: the
 * whole transfer's and the connection set-up's. */
void wcim_rc_attempt_limits(apr_interval_time_t *ptotal,
                            apr_interval_time_t *pconnect,
                            const wcim_rc_config_t *conf,
                            apr_interval_time_t left, int attempts,
                            int hosts);

/* A user's or a group's name as RongCloud takes it: cut to its limit on a
 * character boundary. */
const char *wcim_rc_name_fit(const char *name, apr_pool_t *p);

/* A token for user_id with that display name and portrait. The name and
 * portrait are made to fit RongCloud's limits: no name is sent as user_id,
 * a long one cut at 64 bytes, a portrait over 1024 bytes left out. */
apr_status_t wcim_rc_get_token(const char **ptoken, wcim_rc_error_t *err,
                               const wcim_rc_t *rc, const char *user_id,
                               const char *name, const char *portrait,
                               apr_pool_t *p);

/* Replace RongCloud's copy of a user's name and portrait (fitted to the
 * limits as for wcim_rc_get_token; an over-long portrait stays as it was). */
apr_status_t wcim_rc_refresh_user(wcim_rc_error_t *err, const wcim_rc_t *rc,
                                  const char *user_id, const char *name,
                                  const char *portrait, apr_pool_t *p);

/* Tell RongCloud the user's complete group set (wcim_rc_group_t). */
apr_status_t wcim_rc_group_sync(wcim_rc_error_t *err, const wcim_rc_t *rc,
                                const char *user_id,
                                const apr_array_header_t *groups,
                                apr_pool_t *p);

/* Block a user at RongCloud for `minutes` (1 to 43,200): his connections
 * end and are refused until then, or until wcim_rc_unblock_user. */
#define WCIM_RC_BLOCK_MAX_MINUTES 43200
apr_status_t wcim_rc_block_user(wcim_rc_error_t *err, const wcim_rc_t *rc,
                                const char *user_id, int minutes,
                                apr_pool_t *p);
apr_status_t wcim_rc_unblock_user(wcim_rc_error_t *err, const wcim_rc_t *rc,
                                  const char *user_id, apr_pool_t *p);

/* Read an answer of RongCloud's (err->http_status already set): success
 * is HTTP 200 with a JSON object whose "code" is 200. */
apr_status_t wcim_rc_answer_parse(json_t **pjson, wcim_rc_error_t *err,
                                  const char *buf, apr_size_t len,
                                  apr_pool_t *p);

/* One line describing err, without secrets. */
const char *wcim_rc_error_text(const wcim_rc_error_t *err, apr_pool_t *p);

#endif
