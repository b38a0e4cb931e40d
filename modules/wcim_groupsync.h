/* Group syncs to RongCloud (group/sync) after get_group_chat_list
 * (wcim_groupsync.c): only when the user's set differs from the one last
 * synced, one sync of a set at a time in a process, as a job the glue
 * takes from the request and runs apart from it. */
#ifndef WCIM_GROUPSYNC_H
#define WCIM_GROUPSYNC_H

#include "wcim_api.h"

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

#endif
