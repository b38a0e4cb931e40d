/* Reconciliation: a pass over the students RongCloud knows (those with a
 * row in the token table) that compares what the weclubs tables say now
 * with what RongCloud was last told, and sends only the differences: a
 * changed group set (group/sync: quits, removals, clubs closed or renamed),
 * a renamed student (user/refresh), a frozen or deleted one (user/block,
 * his token dropped), a thawed one (user/unblock). Of several nodes the
 * one holding the App Key's lease makes the passes. Knows nothing of
 * httpd: the glue runs it (mod_watchdog) and gives it its database
 * connections one batch at a time. */
#ifndef WCIM_RECONCILE_H
#define WCIM_RECONCILE_H

#include "wcim_api.h"

/* The pass's calls take at most this part of the node's share of each
 * call's rate: the rest is the requests'. */
#define WCIM_RECONCILE_SHARE 0.5
/* user/block has no documented limit: the pass sends at most this many a
 * second. */
#define WCIM_RECONCILE_BLOCK_RATE 10.0
/* After each page the pass rests this many times as long as it spent
 * reading it: at most a quarter of a core for the pass. */
#define WCIM_RECONCILE_REST 3
/* A block lasts RongCloud's longest (30 days) and is renewed when less
 * than this is left. */
#define WCIM_RECONCILE_REBLOCK apr_time_from_sec(86400)

typedef struct wcim_reconcile_stats_t {
    int held;               /* this node held the lease: it passed */
    apr_uint32_t students;  /* looked at */
    apr_uint32_t changes;   /* differences found */
    apr_uint32_t calls;     /* RongCloud calls made */
    apr_uint32_t failed;    /* of them failed (made again next pass) */
    apr_uint32_t synced, renamed, blocked, unblocked;
    apr_uint32_t errors;    /* database errors (the student is skipped) */
    apr_uint32_t prefetched;/* tokens fetched ahead (WeclubsIMTokenPrefetch) */
} wcim_reconcile_stats_t;

typedef struct wcim_reconcile_env_t {
    /* a store for one batch, given back before RongCloud is called */
    apr_status_t (*open)(wcim_store_t **pst, const char **perr, void *baton,
                         apr_pool_t *p);
    void (*close)(wcim_store_t *st, void *baton);
    void *baton;
    volatile apr_uint32_t *stop;   /* non-zero: the process is stopping */
    const char *holder;            /* this node (and server), for the lease */
    apr_interval_time_t interval;  /* between passes */
} wcim_reconcile_env_t;

/* One pass. ctx gives the configuration, log, cache, RongCloud client and
 * metrics; its pool the memory (each batch in a pool of its own). */
apr_status_t wcim_reconcile_pass(wcim_reconcile_stats_t *stats,
                                 wcim_ctx_t *ctx,
                                 const wcim_reconcile_env_t *env);

/* For the pass and the prefetch (wcim_prefetch.c): a connection for a
 * batch, NULL when there is none (said); a lease `key` taken or kept for
 * this node (0: another node holds it). */
wcim_store_t *wcim_reconcile_open(wcim_ctx_t *ctx,
                                  const wcim_reconcile_env_t *env,
                                  apr_pool_t *p);
int wcim_reconcile_lease(wcim_ctx_t *ctx, const wcim_reconcile_env_t *env,
                         const char *key, apr_pool_t *p);

/* Prefetch (WeclubsIMTokenPrefetch, wcim_prefetch.c): for about `span`, students who have
 * no RongCloud token get one, at the configured rate (at most half the
 * node's getToken share), scanning t_student from uid *pafter on. At the
 * end of the students *pafter is set back to 0 and *pend to 1. Of several
 * nodes the one holding the App Key's prefetch lease does it. */
apr_status_t wcim_reconcile_prefetch(wcim_reconcile_stats_t *stats,
                                     apr_int64_t *pafter, int *pend,
                                     wcim_ctx_t *ctx,
                                     const wcim_reconcile_env_t *env,
                                     apr_interval_time_t span);

#endif
