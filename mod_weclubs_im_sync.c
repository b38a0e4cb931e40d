/* Work after the answer: group syncs to RongCloud on the sync threads of
 * each child (or, without them, on the request's thread once it answered)
 * and the pruning of old routed messages. The rest of the glue sees
 * wcim_sync_start (child init) and wcim_after_answer (log_transaction). */

/* before APR: its ring macros need offsetof from here */
#include <stddef.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include <apr_atomic.h>
#include <apr_hash.h>
#include <apr_strings.h>
#if APR_HAS_THREADS
#include <apr_queue.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include <pthread.h>
#include <signal.h>
#endif

#include "mod_weclubs_im.h"

APLOG_USE_MODULE(weclubs_im);

/* Group syncs to RongCloud run on two threads of each child, apart from
 * the requests: a slow RongCloud then delays neither an answer nor the
 * next request on its connection. Each thread takes jobs from its own
 * queue, and a user's syncs always go to the same one, so that they reach
 * RongCloud in the order of the lists that found them. A queue holds a
 * campus: when thousands of users open the app at once, RongCloud's rate
 * limit (100 syncs a second per App Key) spaces their syncs over a minute
 * or more, and they wait here, one small job per user (a few hundred
 * bytes), instead of being dropped. The threads work in pools of
 * sync_pool, whose allocator is locked (two threads make and destroy
 * them). */
#if APR_HAS_THREADS
#define SYNC_THREADS 2
#define SYNC_QUEUE_MAX 8192     /* per thread */
#define SYNC_MAX_FREE (512 * 1024)

typedef struct {
    apr_queue_t *queue;
    apr_thread_t *thread;
} sync_thread_t;

static sync_thread_t sync_threads[SYNC_THREADS];
static apr_pool_t *sync_pool;
/* The queued syncs not taken by a thread yet, by user: a later list of the
 * same user updates the set that waits instead of queueing again, so one
 * user's lists cannot fill a queue (one job per user waits, at most). */
static apr_thread_mutex_t *sync_waiting_lock;
static apr_hash_t *sync_waiting;
static volatile apr_uint32_t sync_running;
static server_rec *sync_server;                    /* for the exit's line */
static volatile apr_uint32_t syncs_dropped;        /* not said yet */
static volatile apr_uint64_t syncs_dropped_said;   /* apr_time_t */

/* A job RongCloud's rate limit turned away goes to the back of its queue,
 * after a pause of its thread (RongCloud is not asked again at once),
 * unless a later list of its user queued a newer set meanwhile. 0 when it
 * was not queued (the caller frees it). */
#define SYNC_RATE_PAUSE apr_time_from_msec(250)

static int sync_queue_again(apr_queue_t *queue, wcim_sync_job_t *job)
{
    int queued = 0;

    if (!wcim_group_sync_again(job)) {
        return 0;
    }
    apr_sleep(SYNC_RATE_PAUSE);
    apr_thread_mutex_lock(sync_waiting_lock);
    if (apr_hash_get(sync_waiting, wcim_group_sync_user(job),
                     APR_HASH_KEY_STRING) == NULL) {
        if (apr_queue_trypush(queue, job) == APR_SUCCESS) {
            apr_hash_set(sync_waiting, wcim_group_sync_user(job),
                         APR_HASH_KEY_STRING, job);
            wcim_metrics_sync_queued(wcim_process.metrics, 1);
            queued = 1;
        }
        else {
            wcim_metrics_sync_dropped(wcim_process.metrics);
        }
    }
    apr_thread_mutex_unlock(sync_waiting_lock);
    return queued;
}

static void *APR_THREAD_FUNC sync_thread_main(apr_thread_t *thread,
                                              void *data)
{
    apr_queue_t *queue = data;
    void *item;
    apr_status_t rv;

    for (;;) {
        rv = apr_queue_pop(queue, &item);
        if (rv == APR_EINTR) {
            continue;
        }
        if (rv != APR_SUCCESS) {
            break;   /* APR_EOF: the child is exiting */
        }
        /* taken: a later list of this user queues a job of its own */
        apr_thread_mutex_lock(sync_waiting_lock);
        if (apr_hash_get(sync_waiting, wcim_group_sync_user(item),
                         APR_HASH_KEY_STRING) == item) {
            apr_hash_set(sync_waiting, wcim_group_sync_user(item),
                         APR_HASH_KEY_STRING, NULL);
        }
        apr_thread_mutex_unlock(sync_waiting_lock);
        wcim_metrics_sync_queued(wcim_process.metrics, -1);
        if (wcim_group_sync_run(item, sync_pool) == APR_EAGAIN
            && apr_atomic_read32(&sync_running)
            && sync_queue_again(queue, item)) {
            continue;
        }
        wcim_group_sync_free(item);
    }
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}

/* A pre-cleanup of the child's pool, before its subpools go: the syncs
 * under way finish, the queued ones are dropped (later lists retry them),
 * said and counted, the threads are joined. */
static apr_status_t sync_threads_stop(void *data)
{
    apr_hash_index_t *hi;
    apr_status_t rv;
    unsigned dropped = 0;
    int i;

    apr_atomic_set32(&sync_running, 0);
    for (i = 0; i < SYNC_THREADS; ++i) {
        if (sync_threads[i].queue) {
            apr_queue_term(sync_threads[i].queue);
        }
    }
    for (i = 0; i < SYNC_THREADS; ++i) {
        if (sync_threads[i].thread) {
            apr_thread_join(&rv, sync_threads[i].thread);
        }
        /* the queues stay: a push on a terminated one says APR_EOF, and
         * they live until sync_pool goes, after every pre-cleanup */
        sync_threads[i].thread = NULL;
    }
    /* what no thread took is still listed by user: the jobs are freed
     * once the table no longer holds their keys */
    if (sync_waiting) {
        apr_array_header_t *jobs = apr_array_make(sync_pool, 16,
                                                  sizeof(void *));

        apr_thread_mutex_lock(sync_waiting_lock);
        for (hi = apr_hash_first(NULL, sync_waiting); hi;
             hi = apr_hash_next(hi)) {
            apr_hash_this(hi, NULL, NULL, (void **)apr_array_push(jobs));
        }
        apr_hash_clear(sync_waiting);
        apr_thread_mutex_unlock(sync_waiting_lock);
        for (i = 0; i < jobs->nelts; ++i) {
            wcim_group_sync_free(APR_ARRAY_IDX(jobs, i, wcim_sync_job_t *));
            wcim_metrics_sync_queued(wcim_process.metrics, -1);
            wcim_metrics_sync_dropped(wcim_process.metrics);
            ++dropped;
        }
    }
    if (dropped && sync_server) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, sync_server,
                     WCIMLOGNO(0281) "%u queued RongCloud group syncs "
                     "dropped as this process exits; the users' next lists "
                     "retry them", dropped);
    }
    return APR_SUCCESS;
}

apr_status_t wcim_sync_start(apr_pool_t *pchild, server_rec *s)
{
    apr_allocator_t *allocator = NULL;
    apr_thread_mutex_t *mutex;
    sigset_t all, before;
    apr_status_t rv;
    int i;

    if ((rv = apr_allocator_create(&allocator)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = apr_pool_create_ex(&sync_pool, pchild, NULL, allocator))
        != APR_SUCCESS) {
        apr_allocator_destroy(allocator);
        return rv;
    }
    apr_allocator_owner_set(allocator, sync_pool);
    /* what a burst of queued syncs took goes back after it */
    apr_allocator_max_free_set(allocator, SYNC_MAX_FREE);
    if ((rv = apr_thread_mutex_create(&mutex, APR_THREAD_MUTEX_DEFAULT,
                                      sync_pool)) != APR_SUCCESS) {
        return rv;
    }
    apr_allocator_mutex_set(allocator, mutex);
    apr_pool_tag(sync_pool, "weclubs_im_sync");
    if ((rv = apr_thread_mutex_create(&sync_waiting_lock,
                                      APR_THREAD_MUTEX_DEFAULT, sync_pool))
        != APR_SUCCESS) {
        return rv;
    }
    sync_waiting = apr_hash_make(sync_pool);
    sync_server = s;
    apr_pool_pre_cleanup_register(pchild, NULL, sync_threads_stop);
    /* the threads must never take the child's signals (the MPM's handlers
     * would then run on them): they are born with those blocked, all but
     * the ones a crash raises, so that httpd's and the sanitizers' crash
     * reports still run */
    sigfillset(&all);
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGBUS);
    sigdelset(&all, SIGILL);
    sigdelset(&all, SIGFPE);
    sigdelset(&all, SIGTRAP);
    sigdelset(&all, SIGSYS);
    sigdelset(&all, SIGABRT);
    pthread_sigmask(SIG_BLOCK, &all, &before);
    for (i = 0; i < SYNC_THREADS && rv == APR_SUCCESS; ++i) {
        rv = apr_queue_create(&sync_threads[i].queue, SYNC_QUEUE_MAX,
                              sync_pool);
        if (rv == APR_SUCCESS) {
            rv = apr_thread_create(&sync_threads[i].thread, NULL,
                                   sync_thread_main, sync_threads[i].queue,
                                   sync_pool);
            if (rv != APR_SUCCESS) {
                sync_threads[i].thread = NULL;
            }
        }
    }
    pthread_sigmask(SIG_SETMASK, &before, NULL);
    if (rv != APR_SUCCESS) {
        sync_threads_stop(NULL);
        return rv;
    }
    apr_atomic_set32(&sync_running, 1);
    return APR_SUCCESS;
}
#else /* !APR_HAS_THREADS: syncs run after the answer, on the request's */
static volatile apr_uint32_t sync_running;

apr_status_t wcim_sync_start(apr_pool_t *pchild, server_rec *s)
{
    return APR_ENOTIMPL;
}
#endif

/* Runs once the answer has been written to the client, so the group sync
 * to RongCloud never delays it. */
/* A group sync that is due goes to its user's sync thread; without the
 * threads it runs here, after the answer. */
static void group_sync_after(request_rec *r, wcim_ctx_t *ctx)
{
    wcim_sync_job_t *job;

    if (ctx->sync_groups == NULL) {
        return;
    }
    if (!apr_atomic_read32(&sync_running)) {
        if ((job = wcim_group_sync_take(ctx, NULL)) != NULL) {
            wcim_group_sync_run(job, r->pool);
            wcim_group_sync_free(job);
        }
        return;
    }
#if APR_HAS_THREADS
    {
        apr_ssize_t klen = APR_HASH_KEY_STRING;
        sync_thread_t *st = &sync_threads[apr_hashfunc_default(ctx->user_id,
                                                               &klen)
                                          % SYNC_THREADS];
        wcim_logger_t log;
        wcim_sync_job_t *waiting;
        apr_status_t rv;

        log.fn = wcim_log_to_server;
        log.baton = r->server;
        log.level = ap_get_server_module_loglevel(r->server,
                                                  APLOG_MODULE_INDEX);
        log.pool = NULL;   /* the run's */
        if ((job = wcim_group_sync_take(ctx, &log)) == NULL) {
            return;     /* RongCloud has the set already */
        }
        apr_thread_mutex_lock(sync_waiting_lock);
        waiting = apr_hash_get(sync_waiting, wcim_group_sync_user(job),
                               APR_HASH_KEY_STRING);
        if (waiting) {
            /* the user's sync waits: it takes this list's set (it is
             * ours until a thread takes it, under the same lock) */
            wcim_group_sync_merge(waiting, job);
            apr_thread_mutex_unlock(sync_waiting_lock);
            wcim_group_sync_free(job);
            return;
        }
        rv = apr_queue_trypush(st->queue, job);
        if (rv == APR_SUCCESS) {
            apr_hash_set(sync_waiting, wcim_group_sync_user(job),
                         APR_HASH_KEY_STRING, job);
            wcim_metrics_sync_queued(wcim_process.metrics, 1);
        }
        apr_thread_mutex_unlock(sync_waiting_lock);
        if (rv != APR_SUCCESS) {
            /* not queued (full, or the child is exiting): a later list of
             * this user retries it. Said at most every 10 s, with how
             * many were dropped: a RongCloud that is down would otherwise
             * flood the log. */
            apr_uint64_t last;
            apr_time_t now = apr_time_now();

            apr_atomic_inc32(&syncs_dropped);
            wcim_metrics_sync_dropped(wcim_process.metrics);
            last = apr_atomic_read64(&syncs_dropped_said);
            if ((now < (apr_time_t)last
                 || now - (apr_time_t)last > apr_time_from_sec(10))
                && apr_atomic_cas64(&syncs_dropped_said, (apr_uint64_t)now,
                                    last) == last) {
                apr_uint32_t dropped = apr_atomic_xchg32(&syncs_dropped, 0);
                ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r,
                              WCIMLOGNO(0280) "RongCloud group syncs "
                              "dropped: %u in this process since the last "
                              "such line (user %s the last; %d waiting on "
                              "its thread); later lists retry them",
                              dropped, ctx->user_id,
                              (int)apr_queue_size(st->queue));
            }
            wcim_group_sync_free(job);
        }
    }
#endif
}

int wcim_after_answer(request_rec *r)
{
    wcim_ctx_t *ctx = ap_get_module_config(r->request_config,
                                           &weclubs_im_module);
    if (ctx) {
        group_sync_after(r, ctx);
        if (ctx->prune_due) {
            wcim_api_prune(ctx);
        }
    }
    return DECLINED;
}

