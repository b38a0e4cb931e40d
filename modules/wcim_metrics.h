/* Counters of what the module did, in memory shared by all httpd children
 * (the glue hands in the shared segment), read by the status handler in
 * Prometheus' text format. Updated with atomics: no lock. */
#ifndef WCIM_METRICS_H
#define WCIM_METRICS_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "wcim_cache.h"

typedef enum {
    WCIM_EP_GET_TOKEN,
    WCIM_EP_GROUP_CHAT_LIST,
    WCIM_EP_UNKNOWN,          /* 404s under the API's location */
    WCIM_EP_COUNT
} wcim_endpoint_t;

typedef enum {
    WCIM_CALL_GET_TOKEN,
    WCIM_CALL_REFRESH,
    WCIM_CALL_GROUP_SYNC,
    WCIM_CALL_BLOCK,          /* user/block and user/unblock */
    WCIM_CALL_COUNT
} wcim_call_t;

typedef struct wcim_metrics_t wcim_metrics_t;

/* Bytes of shared memory the counters need. */
apr_size_t wcim_metrics_size(void);

/* Counters at zero in `mem` (wcim_metrics_size() bytes). */
wcim_metrics_t *wcim_metrics_init(void *mem);

/* All of these accept a NULL wcim_metrics_t and then do nothing. */
void wcim_metrics_request(wcim_metrics_t *m, wcim_endpoint_t ep,
                          int result_code);
void wcim_metrics_callback(wcim_metrics_t *m, int http_status);
void wcim_metrics_rc_call(wcim_metrics_t *m, wcim_call_t call, int ok,
                          apr_interval_time_t elapsed);
void wcim_metrics_failover(wcim_metrics_t *m);
void wcim_metrics_cache(wcim_metrics_t *m, wcim_cache_kind_t kind, int hit);
void wcim_metrics_db_error(wcim_metrics_t *m);
void wcim_metrics_sync_dropped(wcim_metrics_t *m);
/* Group syncs waiting in a queue: +1 when one is queued, -1 when a thread
 * takes it (or it is dropped at exit). */
void wcim_metrics_sync_queued(wcim_metrics_t *m, int delta);
/* A call that waits for the node's share of RongCloud's rate limit: +1
 * as it starts waiting, then wcim_metrics_rate_waited once it goes. */
void wcim_metrics_rate_waiting(wcim_metrics_t *m, wcim_call_t call);
void wcim_metrics_rate_waited(wcim_metrics_t *m, wcim_call_t call,
                              apr_interval_time_t waited);
/* A RongCloud token held that was not served but replaced: too old for
 * the token lifetime (too_old), or asked for again within the recheck
 * time. */
void wcim_metrics_token_replaced(wcim_metrics_t *m, int too_old);
/* A reconciliation pass that ended at `ended` after `took`, with what it
 * found and did (wcim_reconcile_stats_t's counts, in its order:
 * students, changes, calls, failed, synced, renamed, blocked,
 * unblocked, prefetched); ended 0: a prefetch round, not a pass. */
#define WCIM_RECONCILE_COUNTS 9
void wcim_metrics_reconcile(wcim_metrics_t *m,
                            const apr_uint32_t counts[WCIM_RECONCILE_COUNTS],
                            apr_time_t ended, apr_interval_time_t took);
/* A call not made: it would have waited too long for the rate limit. */
void wcim_metrics_rate_refused(wcim_metrics_t *m, wcim_call_t call);

/* A label value as Prometheus' text format writes it: backslash, double
 * quote and line feed escaped. */
const char *wcim_metrics_label_escape(const char *value, apr_pool_t *p);

/* The counters as Prometheus' text exposition format, or (human != 0) as a
 * plain page. `extra` is appended as is (gauges the glue knows). */
const char *wcim_metrics_render(const wcim_metrics_t *m, int human,
                                const char *extra, apr_pool_t *p);

/* The totals as mod_status' ?auto lines ("Key: value"), for the glue's
 * server-status hook. */
const char *wcim_metrics_auto(const wcim_metrics_t *m, apr_pool_t *p);

#endif
