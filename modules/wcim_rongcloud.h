/* RongCloud server API client (libcurl): user/getToken and group/sync.
 * Knows nothing of httpd; every curl object is owned by the call's pool. */
#ifndef WCIM_RONGCLOUD_H
#define WCIM_RONGCLOUD_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

/* RongCloud answers are small; anything longer is refused, not buffered. */
#define WCIM_RC_MAX_ANSWER (64 * 1024)

typedef struct wcim_rc_config_t {
    const char *app_key;
    const char *app_secret;
    apr_array_header_t *urls;      /* base URLs, no trailing '/' */
    apr_interval_time_t timeout;   /* whole call, connect included */
    const char *ca_file;           /* NULL: the system's CA store */
} wcim_rc_config_t;

/* What went wrong with a call, for an administrator's log line. */
typedef struct wcim_rc_error_t {
    const char *url;       /* the URL called */
    int curl_code;         /* CURLcode; 0 when the transfer worked */
    const char *curl_msg;  /* curl's error buffer or code description */
    long http_status;      /* 0 when no answer came */
    long rc_code;          /* RongCloud's "code"; 0 when none was read */
    const char *detail;    /* our own summary */
} wcim_rc_error_t;

typedef struct wcim_rc_group_t {
    const char *id;        /* e.g. im_club_id_1 */
    const char *name;
} wcim_rc_group_t;

/* Process-wide libcurl set-up; call once per process before any call. */
apr_status_t wcim_rc_global_init(void);

/* A token for user_id with that display name and portrait. Any failure
 * returns an error status and fills *err. */
apr_status_t wcim_rc_get_token(const char **ptoken, wcim_rc_error_t *err,
                               const wcim_rc_config_t *conf,
                               const char *user_id, const char *name,
                               const char *portrait, apr_pool_t *p);

/* Tell RongCloud the user's complete group set (wcim_rc_group_t). */
apr_status_t wcim_rc_group_sync(wcim_rc_error_t *err,
                                const wcim_rc_config_t *conf,
                                const char *user_id,
                                const apr_array_header_t *groups,
                                apr_pool_t *p);

/* One line describing err, without secrets. */
const char *wcim_rc_error_text(const wcim_rc_error_t *err, apr_pool_t *p);

#endif
