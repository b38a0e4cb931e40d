/* The two IM endpoints: the checks every call goes through, in the old
 * server's order, and each endpoint's work. Talks to httpd only through
 * the callbacks in wcim_ctx_t. */
#ifndef WCIM_API_H
#define WCIM_API_H

#include <apr_pools.h>
#include <apr_time.h>
#include <jansson.h>

#include "wcim_cache.h"
#include "wcim_config.h"
#include "wcim_flight.h"
#include "wcim_log.h"
#include "wcim_metrics.h"
#include "wcim_route_parse.h"
#include "wcim_reply.h"
#include "wcim_store.h"

typedef enum {
    WCIM_API_GET_TOKEN,
    WCIM_API_GROUP_CHAT_LIST
} wcim_api_t;

typedef apr_status_t wcim_store_open_fn(wcim_store_t **pstore,
                                        const char **perr, void *baton);

typedef struct wcim_ctx_t {
    apr_pool_t *pool;
    const wcim_config_t *conf;
    apr_time_t now;
    wcim_logger_t log;
    wcim_store_open_fn *store_open;
    void *store_baton;
    wcim_cache_t *cache;            /* NULL: no cache configured */
    wcim_rc_client_t *rc_client;    /* this process's RongCloud handles */
    wcim_flight_t *flight;          /* this process's calls under way */
    wcim_metrics_t *metrics;        /* shared counters; NULL: none */
    /* filled in as the call proceeds */
    const char *caller;
    const char *user_id;
    int authenticated;              /* signature and token checked */
    const char *rc_user_id;         /* im_user_id_<user_id> */
    apr_array_header_t *sync_groups;/* wcim_rc_group_t; set when a group
                                       sync is due after the answer */
    int prune_due;                  /* prune old messages after it */
    const char *route_nonce_key;    /* a checked callback's nonce digest,
                                       taken before its post is stored */
    apr_interval_time_t rc_time;    /* time spent waiting for RongCloud */
} wcim_ctx_t;


/* The endpoint named by the last path segment; APR_NOTFOUND if none. */
apr_status_t wcim_api_find(wcim_api_t *papi, const char *name);

/* Check a request body and do the endpoint's work. Always fills *reply. */
void wcim_api_call(wcim_reply_t *reply, wcim_ctx_t *ctx, wcim_api_t api,
                   const char *body, apr_size_t len);

#endif
