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

/* A group sync to RongCloud, apart from the request that found it due:
 * one hand-off from the request (take), one run wherever the glue likes
 * (run). */
typedef struct wcim_sync_job_t wcim_sync_job_t;

/* The digest the cache keeps of a group set (wcim_rc_group_t) synced. */
const char *wcim_group_sync_digest(const apr_array_header_t *groups,
                                   apr_pool_t *p);

/* After get_group_chat_list: the sync of the user's group set as a job,
 * when RongCloud needs the set, i.e. it is not the set last synced
 * successfully (remembered in the cache); NULL otherwise (or out of
 * memory). A job is one small block of its own, not a pool: a queue may
 * hold thousands of them while RongCloud's rate limit spaces the syncs.
 * It logs through `log` (else the request's logger, whose baton must then
 * outlive it). The caller frees it (wcim_group_sync_free). */
wcim_sync_job_t *wcim_group_sync_take(wcim_ctx_t *ctx,
                                      const wcim_logger_t *log);

/* A later job of the same user while `waiting` has not run yet: the
 * waiting job takes the later set, and `later` is left empty, to be
 * freed. */
void wcim_group_sync_merge(wcim_sync_job_t *waiting, wcim_sync_job_t *later);

/* The job's user (student id). */
const char *wcim_group_sync_user(const wcim_sync_job_t *job);

/* Push the job's group set to RongCloud (one sync of a set at a time in a
 * process), working in a subpool of `parent` destroyed before it returns.
 * A failure is logged, never reaches a client, and is retried by a later
 * list. APR_EAGAIN: over RongCloud's rate limit (refused, or this node's
 * share had no turn in time); the job may run again later. */
apr_status_t wcim_group_sync_run(wcim_sync_job_t *job, apr_pool_t *parent);

/* After APR_EAGAIN: whether the job may be queued again, at most
 * WCIM_SYNC_TRIES times (counted here). */
#define WCIM_SYNC_TRIES 10
int wcim_group_sync_again(wcim_sync_job_t *job);

void wcim_group_sync_free(wcim_sync_job_t *job);

/* A message routing post's nonce, timestamp and signature: APR_EACCES
 * when the signature is wrong or stale, or the cache remembers the nonce
 * of a post that was stored. Else ctx->route_nonce_key is the nonce's
 * digest, for wcim_api_route. */
apr_status_t wcim_api_route_check(wcim_ctx_t *ctx, const char *nonce,
                                  const char *timestamp,
                                  const char *signature);

/* Store what a checked post says; *pkind tells what it was. The nonce is
 * taken first, in the database (t_im_nonce): APR_EACCES when it was taken
 * before (a replay: one of the posts of a signed query wins), APR_EAGAIN
 * when it cannot be taken (the table missing or failing: logged, nothing
 * stored). Messages and read marks whose time lies outside [now -
 * WeclubsIMMessageMaxAge, now + WeclubsIMCallbackWindow] are logged and
 * ignored. Another error: the database failed, and the nonce was given
 * back for RongCloud's retry. */
apr_status_t wcim_api_route(wcim_routed_t *pkind, wcim_ctx_t *ctx,
                            const wcim_routed_post_t *post);

/* Delete routed messages older than WeclubsIMMessageMaxAge, and nonces
 * taken more than twice WeclubsIMCallbackWindow ago. */
apr_status_t wcim_api_prune(wcim_ctx_t *ctx);



#endif
