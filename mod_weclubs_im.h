/* Shared by the httpd glue files (mod_weclubs_im*.c); the core in
 * modules/ never includes it. */
#ifndef MOD_WECLUBS_IM_H
#define MOD_WECLUBS_IM_H

#include <httpd.h>
#include <http_config.h>
#include <util_filter.h>
#include <apr_optional.h>
#include <apr_dbd.h>
#include <mod_dbd.h>
#include <ap_socache.h>

#include "modules/wcim_api.h"
#include "modules/wcim_groupsync.h"
#include "modules/wcim_route_apply.h"
#include "modules/wcim_cache.h"
#include "modules/wcim_config.h"
#include "modules/wcim_flight.h"
#include "modules/wcim_metrics.h"
#include "modules/wcim_rongcloud.h"
#include "modules/wcim_store.h"

extern module AP_MODULE_DECLARE_DATA weclubs_im_module;

#define WCIM_HANDLER "weclubs-im"
#define WCIM_CALLBACK_HANDLER "weclubs-im-callback"
#define WCIM_STATUS_HANDLER "weclubs-im-status"
#define WCIM_HEALTH_HANDLER "weclubs-im-health"
#define WCIM_CONTENT_TYPE "application/json;charset=UTF-8"

/* What a child process has, set up by mod_weclubs_im.c (post_config,
 * child_init) and read by the handlers. */
typedef struct wcim_process_t {
    wcim_rc_client_t *rc_client;  /* this child's RongCloud handles */
    wcim_flight_t *flight;        /* this child's getToken calls under way */
    wcim_metrics_t *metrics;      /* counters shared by all children */
    APR_OPTIONAL_FN_TYPE(ap_dbd_acquire) *dbd_acquire;
} wcim_process_t;

extern wcim_process_t wcim_process;

/* Per server. Fields start unset (NULL or -1) so that a virtual host
 * inherits what it does not say; wcim_conf_finish fills in defaults. */
typedef struct wcim_srv_conf_t {
    wcim_config_t c;
    const char *sql[WCIM_STMT_COUNT];   /* WeclubsIMSQL, NULL: default */
    const char *stmt_sql[WCIM_STMT_COUNT];  /* what is prepared: sql or
                                             * the default; NULL when not
                                             * used (conf_finish) */
    const char *stmt_tag;     /* names this configuration's statements */
    int configured;   /* some WeclubsIM directive applies to this server */
    int labels_done;  /* default message labels merged in */
    int replay_window_given;  /* the removed WeclubsIMReplayWindow */
    int reconcile_given;      /* WeclubsIMReconcileInterval was said */
    int prefetch_given;       /* WeclubsIMTokenPrefetch was said */
} wcim_srv_conf_t;

/* mod_weclubs_im_directives.c: the directives */
extern const command_rec wcim_cmds[];

/* mod_weclubs_im_config.c: the server configuration */
void *wcim_create_srv_conf(apr_pool_t *p, server_rec *s);
void *wcim_merge_srv_conf(apr_pool_t *p, void *basev, void *addv);
void wcim_conf_finish(wcim_srv_conf_t *sc, apr_pool_t *p);
const char *wcim_conf_sql(const wcim_srv_conf_t *sc, wcim_stmt_t which);
/* Whether get_group_chat_list reads the token and the groups in one
 * statement (token_groups): without message routing, unless WeclubsIMSQL
 * replaced token or groups but not token_groups. */
int wcim_conf_token_groups(const wcim_srv_conf_t *sc);
/* Whether get_token reads the token and the student in one statement
 * (token_user): unless WeclubsIMSQL replaced token or user but not
 * token_user. */
int wcim_conf_token_user(const wcim_srv_conf_t *sc);
/* A list of caller names, of RongCloud base URLs (checked): NULL, or why
 * not. */
const char *wcim_conf_parse_callers(apr_array_header_t **pcallers,
                                    apr_pool_t *p, const char *args);
const char *wcim_conf_parse_urls(apr_array_header_t **purls, apr_pool_t *p,
                                 const char *args);
/* A secret given inline or as file:<path> (read now, and refused when
 * others can read it): NULL, or why not. */
const char *wcim_conf_parse_secret(const char **psecret, apr_size_t *plen,
                                   cmd_parms *cmd, const char *arg);
/* NULL, or why the directive being read cannot be where it is (its
 * context in mod_weclubs_im_defaults.h). */
const char *wcim_conf_check_context(cmd_parms *cmd);

/* mod_weclubs_im_cache.c: the ap_socache provider behind wcim_cache_t */
/* WeclubsIMCache: this provider (NULL: none), named name, with args;
 * NULL, or the provider's complaint. WeclubsIMCacheTTL: this TTL. */
const char *wcim_cache_use(const ap_socache_provider_t *provider,
                           const char *name, const char *args,
                           apr_pool_t *p, apr_pool_t *ptemp);
void wcim_cache_set_ttl(apr_interval_time_t ttl);
int wcim_cache_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                          apr_pool_t *ptemp);
int wcim_cache_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *s);
void wcim_cache_child_init(apr_pool_t *p, server_rec *s);
/* The cache for one request's use; NULL when none is configured. */
wcim_cache_t *wcim_cache_for(request_rec *r);
apr_interval_time_t wcim_cache_ttl(void);
/* How many users a shmcb cache holds (WCIM0408), or a warning when fewer
 * than a campus (WCIM0407): said with the other start-up notes. */
void wcim_cache_say_capacity(server_rec *s);
/* WeclubsIMCache none was given. */
int wcim_cache_is_none(void);

/* mod_weclubs_im_request.c: a request as the core sees it */
/* The core's view of a request (logging to it, its store and cache). */
wcim_ctx_t *wcim_request_ctx(request_rec *r, wcim_srv_conf_t *sc,
                             apr_time_t now);
/* The core's logger for work apart from requests (baton: server_rec). */
void wcim_log_to_server(void *baton, const char *file, int line, int level,
                        apr_status_t rv, const char *msg);
/* A request's whole body, at most max bytes (*ptoo_large set when more
 * came or were announced). */
apr_status_t wcim_read_body(char **pbuf, apr_size_t *plen, int *ptoo_large,
                            request_rec *r, apr_size_t max);

/* mod_weclubs_im_handler.c: the API handler, the error filter */
int wcim_handler(request_rec *r);
apr_status_t wcim_error_filter(ap_filter_t *f, apr_bucket_brigade *bb);
void wcim_insert_error_filter(request_rec *r);

/* mod_weclubs_im_callback.c: message routing posts */
int wcim_callback_handler(request_rec *r);

/* mod_weclubs_im_trace.c: TRACE under the module's handlers */
int wcim_trace(request_rec *r);

/* mod_weclubs_im_status.c: the status page, and the module's part of
 * mod_status' /server-status */
int wcim_status_handler(request_rec *r);
int wcim_status_hook(request_rec *r, int flags);

/* mod_weclubs_im_health.c: the health check for balancers */
int wcim_health_handler(request_rec *r);

/* mod_weclubs_im_sync.c: the sync threads of a child (APR_ENOTIMPL
 * without threads), and the work after an answer (log_transaction) */
apr_status_t wcim_sync_start(apr_pool_t *pchild, server_rec *s);
int wcim_after_answer(request_rec *r);

/* mod_weclubs_im_reconcile.c: reconciliation passes (mod_watchdog) */
int wcim_reconcile_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                               apr_pool_t *ptemp, server_rec *s);
void wcim_reconcile_child_init(apr_pool_t *p, server_rec *s);

#endif
