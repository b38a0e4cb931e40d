/* mod_weclubs_im: the weclubs instant-messaging API (/im/get_token and
 * /im/get_group_chat_list) inside httpd.
 *
 * This file is the glue: module record, hooks, and the handler that reads
 * the body, hands it to the core in modules/ and writes the answer. The
 * directives are in mod_weclubs_im_config.c, the cache in
 * mod_weclubs_im_cache.c. The core knows nothing of httpd. */

/* before APR: its ring macros need offsetof from here */
#include <stddef.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_main.h>
#include <http_protocol.h>
#include <http_request.h>
#include <ap_mpm.h>
#include <util_script.h>

#include <apr_dbd.h>
#include <mod_dbd.h>

#include <apr_atomic.h>
#include <apr_hash.h>
#include <apr_shm.h>
#include <apr_optional.h>
#include <apr_strings.h>
#if APR_HAS_THREADS
#include <apr_queue.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include <pthread.h>
#include <signal.h>
#endif

#include "mod_weclubs_im.h"
#include "modules/wcim_api.h"
#include "modules/wcim_buf.h"
#include "modules/wcim_flight.h"
#include "modules/wcim_metrics.h"
#include "modules/wcim_result.h"
#include "modules/wcim_rongcloud.h"

#define WCIM_HANDLER "weclubs-im"
#define WCIM_CALLBACK_HANDLER "weclubs-im-callback"
#define WCIM_STATUS_HANDLER "weclubs-im-status"
#define WCIM_CONTENT_TYPE "application/json;charset=UTF-8"

APLOG_USE_MODULE(weclubs_im);

/* Per child process: reusable RongCloud connections and the getToken
 * calls under way. */
static wcim_rc_client_t *rc_client;
static wcim_flight_t *flight;

/* Shared by all children, made at start-up: the counters of the status
 * handler, then which RongCloud host each URL list uses. */
#define MAX_HOST_LISTS 64
static wcim_metrics_t *metrics;
static char *shared_hosts;
static int shared_hosts_used;

static APR_OPTIONAL_FN_TYPE(ap_dbd_acquire) *dbd_acquire_fn;

/* ------------------------------------------------------------------ */
/* start-up                                                             */

/* The statements a server uses: message routing's only when it is on (its
 * tables may not exist otherwise). */
static int stmt_count(const wcim_srv_conf_t *sc)
{
    return sc->c.messages ? WCIM_STMT_COUNT : WCIM_STMT_CORE_COUNT;
}

/* Checks that must fail `apachectl configtest`, which stops before
 * post_config. */
static int wcim_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp, server_rec *s)
{
    server_rec *sp;

    dbd_acquire_fn = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_acquire);

    for (sp = s; sp; sp = sp->next) {
        wcim_srv_conf_t *sc = ap_get_module_config(sp->module_config,
                                                   &weclubs_im_module);
        wcim_conf_finish(sc, pconf);
        if (!sc->configured) {
            continue;
        }
        if (sc->c.sign_check && sc->c.sign_secret == NULL) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, sp, WCIMLOGNO(0001)
                         "WeclubsIMSignSecret is required while "
                         "WeclubsIMSignCheck is On (server %s:%u)",
                         sp->server_hostname, sp->port);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (dbd_acquire_fn == NULL) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, sp, WCIMLOGNO(0004)
                         "mod_dbd is not loaded: it is required "
                         "(LoadModule dbd_module)");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return OK;
}

/* What an administrator should know of a configuration that works: said
 * at start-up (post_config) and by configtest (test_config). */
static void warn_config(server_rec *s)
{
    server_rec *sp;

    wcim_cache_say_capacity(s);
    for (sp = s; sp; sp = sp->next) {
        wcim_srv_conf_t *sc = ap_get_module_config(sp->module_config,
                                                   &weclubs_im_module);
        if (!sc->configured) {
            continue;
        }
        if (sc->c.messages && wcim_cache_is_none()) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, sp, WCIMLOGNO(0013)
                         "WeclubsIMMessages is On but WeclubsIMCache is "
                         "none (server %s:%u): message routing posts cannot "
                         "be checked for replays within "
                         "WeclubsIMCallbackWindow", sp->server_hostname,
                         sp->port);
        }
        if (sc->replay_window_given) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, sp, WCIMLOGNO(0012)
                         "WeclubsIMReplayWindow is ignored (server %s:%u): "
                         "it was removed, since the signature does not cover "
                         "the request id; see the README's Security section",
                         sp->server_hostname, sp->port);
        }
        if (!sc->c.sign_check) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, sp, WCIMLOGNO(0002)
                         "WeclubsIMSignCheck is Off (server %s:%u): requests "
                         "are not authenticated by signature. Development "
                         "only.", sp->server_hostname, sp->port);
        }
        if (!sc->c.rc.app_key || !sc->c.rc.app_secret) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, sp, WCIMLOGNO(0003)
                         "WeclubsIMRongCloudAppKey/AppSecret not set (server "
                         "%s:%u): get_token will answer 3000",
                         sp->server_hostname, sp->port);
        }
        if (sc->c.messages && sc->sql[WCIM_STMT_GROUPS]
            && !sc->sql[WCIM_STMT_GROUPS_MESSAGES]) {
            /* with routing on, the list comes from groups_messages */
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, sp, WCIMLOGNO(0010)
                         "WeclubsIMSQL groups is set but WeclubsIMMessages "
                         "is On (server %s:%u): the list is read with the "
                         "groups_messages query, whose default lists the "
                         "default groups; set WeclubsIMSQL groups_messages "
                         "to match", sp->server_hostname, sp->port);
        }
    }
}

static void wcim_test_config(apr_pool_t *pconf, server_rec *s)
{
    warn_config(s);
}

/* Anonymous shared memory, inherited by every child: counters and host
 * state live as long as this configuration (a restart starts them anew). */
static void make_shared(apr_pool_t *pconf, server_rec *s)
{
    apr_size_t msize = APR_ALIGN_DEFAULT(wcim_metrics_size());
    apr_shm_t *shm;
    apr_status_t rv;
    char *base;

    metrics = NULL;
    shared_hosts = NULL;
    shared_hosts_used = 0;
    rv = apr_shm_create(&shm, msize + MAX_HOST_LISTS * wcim_rc_hosts_size(),
                        NULL, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, WCIMLOGNO(0007)
                     "no shared memory: counters and RongCloud host choice "
                     "are per process");
        return;
    }
    base = apr_shm_baseaddr_get(shm);
    metrics = wcim_metrics_init(base);
    shared_hosts = base + msize;
}

static int wcim_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s)
{
    apr_hash_t *hosts = apr_hash_make(ptemp);
    const char *urls;
    server_rec *sp;
    int rv;

    if ((rv = wcim_cache_post_config(pconf, plog, ptemp, s)) != OK) {
        return rv;
    }
    make_shared(pconf, s);
    /* said once per start: not on the first of the two start-up passes */
    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        warn_config(s);
    }
    for (sp = s; sp; sp = sp->next) {
        wcim_srv_conf_t *sc = ap_get_module_config(sp->module_config,
                                                   &weclubs_im_module);
        if (!sc->configured) {
            continue;
        }
        /* servers with the same URL list share which host is in use */
        urls = apr_array_pstrcat(ptemp, sc->c.rc.urls, ' ');
        sc->c.rc.hosts = apr_hash_get(hosts, urls, APR_HASH_KEY_STRING);
        if (sc->c.rc.hosts == NULL) {
            if (shared_hosts && shared_hosts_used < MAX_HOST_LISTS) {
                sc->c.rc.hosts = wcim_rc_hosts_at(shared_hosts
                    + wcim_rc_hosts_size() * shared_hosts_used++,
                    sc->c.rc.urls->nelts);
            }
            else {
                wcim_rc_hosts_create(&sc->c.rc.hosts, sc->c.rc.urls->nelts,
                                     pconf);
            }
            apr_hash_set(hosts, urls, APR_HASH_KEY_STRING, sc->c.rc.hosts);
        }
    }
    return OK;
}

/* Group syncs to RongCloud run on two threads of each child, apart from
 * the requests: a slow RongCloud then delays neither an answer nor the
 * next request on its connection. Each thread takes jobs from its own
 * queue, and a user's syncs always go to the same one, so that they reach
 * RongCloud in the order of the lists that found them. Everything here,
 * the job pools included, comes from sync_pool, whose allocator is locked:
 * job pools are made on request threads and destroyed on sync threads. */
#if APR_HAS_THREADS
#define SYNC_THREADS 2
#define SYNC_QUEUE_MAX 128      /* per thread */
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
static volatile apr_uint32_t syncs_dropped;        /* not said yet */
static volatile apr_uint64_t syncs_dropped_said;   /* apr_time_t */

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
        if (apr_hash_get(sync_waiting, ((wcim_ctx_t *)item)->user_id,
                         APR_HASH_KEY_STRING) == item) {
            apr_hash_set(sync_waiting, ((wcim_ctx_t *)item)->user_id,
                         APR_HASH_KEY_STRING, NULL);
        }
        apr_thread_mutex_unlock(sync_waiting_lock);
        wcim_api_group_sync(item);
        apr_pool_destroy(((wcim_ctx_t *)item)->pool);
    }
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}

/* A pre-cleanup of the child's pool, before its subpools go: the syncs
 * under way finish, the queued ones are dropped (later lists retry them),
 * the threads are joined. */
static apr_status_t sync_threads_stop(void *data)
{
    apr_status_t rv;
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
    return APR_SUCCESS;
}

static apr_status_t sync_threads_start(apr_pool_t *pchild)
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

static apr_status_t sync_threads_start(apr_pool_t *pchild)
{
    return APR_ENOTIMPL;
}
#endif

static int mpm_is_threaded(void)
{
    int threaded = AP_MPMQ_NOT_SUPPORTED;

    return ap_mpm_query(AP_MPMQ_IS_THREADED, &threaded) == APR_SUCCESS
           && threaded != AP_MPMQ_NOT_SUPPORTED;
}

/* A pool of the child's with an allocator of its own, for a structure that
 * allocates only under its own lock: the RongCloud handle list (under the
 * reslist's lock) and the single-flight table (under its mutex) once both
 * took from the child's pool, whose allocator has no lock, from threads
 * holding different locks. */
static apr_status_t private_pool(apr_pool_t **pp, apr_pool_t *pchild,
                                 const char *tag)
{
    apr_allocator_t *allocator = NULL;
    apr_status_t rv;

    *pp = NULL;
    if ((rv = apr_allocator_create(&allocator)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = apr_pool_create_ex(pp, pchild, NULL, allocator))
        != APR_SUCCESS) {
        apr_allocator_destroy(allocator);
        return rv;
    }
    apr_allocator_owner_set(allocator, *pp);
    apr_pool_tag(*pp, tag);
    return APR_SUCCESS;
}

static void wcim_child_init(apr_pool_t *p, server_rec *s)
{
    apr_pool_t *rc_pool, *flight_pool;
    apr_status_t rv;

    wcim_cache_child_init(p, s);
    if (wcim_rc_global_init() != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, WCIMLOGNO(0005)
                     "libcurl could not be initialised: RongCloud calls "
                     "will fail");
    }
    if ((rv = private_pool(&rc_pool, p, "weclubs_im_rc")) != APR_SUCCESS
        || (rv = wcim_rc_client_create(&rc_client, rc_pool)) != APR_SUCCESS
        || (rv = private_pool(&flight_pool, p, "weclubs_im_flight"))
           != APR_SUCCESS
        || (rv = wcim_flight_create(&flight, flight_pool)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, WCIMLOGNO(0006)
                     "no connection reuse for RongCloud in this process");
    }
    /* not under prefork: a child there handles one connection at a time,
     * and its SIGTERM handler destroys the child's pool wherever the
     * request was (a join of sync threads could then wait on a lock the
     * interrupted request holds); syncs stay on the request's thread */
    if (mpm_is_threaded() && (rv = sync_threads_start(p)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, WCIMLOGNO(0008)
                     "no threads for RongCloud group syncs in this process: "
                     "they run after each answer, on the request's thread");
    }
}

/* ------------------------------------------------------------------ */
/* requests                                                             */

static void log_to_request(void *baton, const char *file, int line,
                           int level, apr_status_t rv, const char *msg)
{
    ap_log_rerror_(file, line, APLOG_MODULE_INDEX, level, rv,
                   (request_rec *)baton, "%s", msg);
}

static void log_to_server(void *baton, const char *file, int line,
                          int level, apr_status_t rv, const char *msg)
{
    ap_log_error_(file, line, APLOG_MODULE_INDEX, level, rv,
                  (server_rec *)baton, "%s", msg);
}

/* SQLite outside WAL mode: every writer blocks the module's reads, and
 * apr_dbd's SQLite driver retries a blocked read 16 more times, 100 ms
 * apart, each waiting the busy timeout again (README). Checked on each new
 * connection (virtual hosts may each have a database of their own, and
 * mod_dbd does not say which file a connection has; a PRAGMA costs little
 * beside preparing the statements), said once per process. */
static volatile apr_uint32_t sqlite_journal_said;

static void check_sqlite_journal(ap_dbd_t *dbd, request_rec *r)
{
    apr_dbd_prepared_t *stmt = NULL;
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *mode = NULL;

    if (apr_atomic_read32(&sqlite_journal_said)
        || strcmp(apr_dbd_name(dbd->driver), "sqlite3") != 0) {
        return;
    }
    /* in the connection's pool: the driver keeps its statements until the
     * connection closes */
    if (apr_dbd_prepare(dbd->driver, dbd->pool, dbd->handle,
                        "PRAGMA journal_mode", NULL, &stmt) != 0
        || apr_dbd_pselect(dbd->driver, r->pool, dbd->handle, &res, stmt, 1,
                           0, NULL) != 0) {
        return;
    }
    if (apr_dbd_get_row(dbd->driver, r->pool, res, &row, 1) == 0) {
        mode = apr_dbd_get_entry(dbd->driver, row, 0);
    }
    if (mode && ap_cstr_casecmp(mode, "wal") != 0
        && apr_atomic_cas32(&sqlite_journal_said, 1, 0) == 0) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, WCIMLOGNO(0011)
                      "the SQLite database is in journal mode '%s', not "
                      "WAL: a writer blocks every read, for up to 17 busy "
                      "timeouts + 1.6 s (PRAGMA journal_mode=WAL, once)",
                      mode);
    }
}

/* The store of a request: its server configuration's statements on the
 * mod_dbd connection it gets (wcim_store_attach prepares them on the
 * connection's first use). Not registered with mod_dbd at start-up:
 * mod_dbd prepares what is registered on every connection of a virtual
 * host, and fails the connection when one statement fails, so statements
 * meant for /im could break another module's database in a host that
 * never serves /im. */
static apr_status_t open_request_store(wcim_store_t **pstore,
                                       const char **perr, void *baton)
{
    request_rec *r = baton;
    wcim_srv_conf_t *sc = ap_get_module_config(r->server->module_config,
                                               &weclubs_im_module);
    const char *warn;
    ap_dbd_t *dbd;
    apr_status_t rv;

    *pstore = NULL;
    dbd = dbd_acquire_fn ? dbd_acquire_fn(r) : NULL;
    if (dbd == NULL) {
        *perr = "mod_dbd gave no connection (see DBDriver, DBDParams and "
                "the errors above)";
        return APR_EGENERAL;
    }
    rv = wcim_store_attach(pstore, &warn, perr, dbd->driver, dbd->handle,
                           dbd->pool, sc->stmt_sql, stmt_count(sc),
                           sc->stmt_tag, r->pool);
    if (warn) {
        /* message routing's (a custom query with a mistake, tables not
         * created): the endpoints work on without it; its uses say "not
         * prepared" and fall back (WCIM0133) until it can be prepared */
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, WCIMLOGNO(0114)
                      "%s; message routing goes without it on this "
                      "connection until it can be prepared", warn);
    }
    if (rv == APR_SUCCESS && (*pstore)->fresh) {
        check_sqlite_journal(dbd, r);
    }
    return rv;
}

/* Read the whole body into one buffer, refusing more than max bytes.
 * *ptoo_large is set when the body is over the limit. */
static apr_status_t read_body(char **pbuf, apr_size_t *plen, int *ptoo_large,
                              request_rec *r, apr_size_t max)
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    apr_bucket_brigade *bb;
    wcim_buf_t body;
    apr_size_t hint = 0;
    int seen_eos = 0;
    apr_status_t rv;

    *pbuf = NULL;
    *plen = 0;
    *ptoo_large = 0;
    if (cl) {
        apr_off_t n;
        if (ap_parse_strict_length(&n, cl)) {
            if (n > (apr_off_t)max) {
                *ptoo_large = 1;   /* refused without reading a byte */
                return APR_SUCCESS;
            }
            hint = (apr_size_t)n;
        }
    }
    wcim_buf_init(&body, r->pool, hint);
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    do {
        apr_bucket *b;

        rv = ap_get_brigade(r->input_filters, bb, AP_MODE_READBYTES,
                            APR_BLOCK_READ, HUGE_STRING_LEN);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
             b = APR_BUCKET_NEXT(b)) {
            const char *data;
            apr_size_t n;

            if (APR_BUCKET_IS_EOS(b)) {
                seen_eos = 1;
                break;
            }
            if ((rv = apr_bucket_read(b, &data, &n, APR_BLOCK_READ))
                != APR_SUCCESS) {
                return rv;
            }
            if (body.len + n > max) {
                *ptoo_large = 1;
                apr_brigade_cleanup(bb);
                return APR_SUCCESS;
            }
            wcim_buf_append(&body, data, n);
        }
        apr_brigade_cleanup(bb);
    } while (!seen_eos);

    *pbuf = body.data;
    *plen = body.len;
    return APR_SUCCESS;
}

static int has_body(request_rec *r)
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    return apr_table_get(r->headers_in, "Transfer-Encoding") != NULL
           || (cl && strcmp(cl, "0") != 0);
}

/* Write an answer in one brigade, with our JSON whatever the status. */
static int write_reply(request_rec *r, wcim_endpoint_t ep, int status,
                       const wcim_reply_t *reply, apr_time_t now)
{
    const char *body;
    apr_size_t len;
    apr_bucket_brigade *bb;
    apr_status_t rv;

    if (wcim_reply_render(&body, &len, reply, now, r->pool) != APR_SUCCESS) {
        wcim_reply_t fallback = { WCIM_RC_INTERNAL, NULL, NULL };
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, WCIMLOGNO(0201)
                      "could not serialise the answer");
        wcim_reply_render(&body, &len, &fallback, now, r->pool);
    }
    r->status = status;
    ap_set_content_type(r, WCIM_CONTENT_TYPE);
    ap_set_content_length(r, len);
    apr_table_setn(r->notes, "weclubs-im-result",
                   apr_itoa(r->pool, reply->result_code));
    wcim_metrics_request(metrics, ep, reply->result_code);
    if (r->header_only) {
        return OK;
    }
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_pool_create(body, len, r->pool,
                                                       bb->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
    rv = ap_pass_brigade(r->output_filters, bb);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, r, WCIMLOGNO(0202)
                      "client went away before the answer was sent");
    }
    return OK;
}

static wcim_endpoint_t endpoint_of(wcim_api_t api)
{
    return api == WCIM_API_GET_TOKEN ? WCIM_EP_GET_TOKEN
                                     : WCIM_EP_GROUP_CHAT_LIST;
}

/* An answer the core did not make: 404, 405, 413, unreadable bodies. */
static int refuse(request_rec *r, wcim_endpoint_t ep, int status, int code,
                  apr_time_t now)
{
    wcim_reply_t reply = { code, NULL, NULL };

    if (status != HTTP_OK && has_body(r)) {
        /* leave an unread body unread: close rather than drain it */
        r->connection->keepalive = AP_CONN_CLOSE;
    }
    return write_reply(r, ep, status, &reply, now);
}

/* The core's view of a request. */
static wcim_ctx_t *request_ctx(request_rec *r, wcim_srv_conf_t *sc,
                               apr_time_t now)
{
    wcim_ctx_t *ctx = apr_pcalloc(r->pool, sizeof(*ctx));

    ctx->pool = r->pool;
    ctx->conf = &sc->c;
    ctx->now = now;
    ctx->log.fn = log_to_request;
    ctx->log.baton = r;
    ctx->log.level = ap_get_request_module_loglevel(r, APLOG_MODULE_INDEX);
    ctx->log.pool = r->pool;
    ctx->store_open = open_request_store;
    ctx->store_baton = r;
    ctx->cache = wcim_cache_for(r);
    ctx->rc_client = rc_client;
    ctx->flight = flight;
    ctx->metrics = metrics;
    return ctx;
}

static int wcim_handler(request_rec *r)
{
    wcim_srv_conf_t *sc;
    wcim_ctx_t *ctx;
    wcim_reply_t reply;
    wcim_api_t api;
    const char *name;
    char *body;
    apr_size_t len;
    apr_time_t now = apr_time_now();
    int too_large;
    apr_status_t rv;

    if (r->handler == NULL || strcmp(r->handler, WCIM_HANDLER) != 0) {
        return DECLINED;
    }
    sc = ap_get_module_config(r->server->module_config, &weclubs_im_module);

    name = strrchr(r->uri, '/');
    name = name ? name + 1 : r->uri;
    if (wcim_api_find(&api, name) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, WCIMLOGNO(0203)
                      "3101: no API %s", r->uri);
        return refuse(r, WCIM_EP_UNKNOWN, HTTP_NOT_FOUND, WCIM_RC_NO_SUCH_API,
                      now);
    }
    if (r->method_number != M_POST) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, WCIMLOGNO(0204)
                      "3100: method %s on %s", r->method, r->uri);
        apr_table_setn(r->headers_out, "Allow", "POST");
        return refuse(r, endpoint_of(api), HTTP_METHOD_NOT_ALLOWED,
                      WCIM_RC_BAD_METHOD, now);
    }

    /* if httpd's input filter refuses the body (broken chunked framing,
     * a chunk size too large), its error answer carries our envelope:
     * see wcim_error_filter */
    apr_table_setn(r->notes, "weclubs-im-reading", "1");
    rv = read_body(&body, &len, &too_large, r, sc->c.max_body);
    if (rv != APR_SUCCESS) {
        int status = ap_map_http_request_error(rv, HTTP_BAD_REQUEST);
        if (status == AP_FILTER_ERROR) {
            return status;   /* a filter has answered already */
        }
        ap_log_rerror(APLOG_MARK, APLOG_INFO, rv, r, WCIMLOGNO(0205)
                      "3001: could not read the request body");
        r->connection->keepalive = AP_CONN_CLOSE;
        return refuse(r, endpoint_of(api), status, WCIM_RC_ILLEGAL_PARAM,
                      now);
    }
    if (too_large) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, WCIMLOGNO(0206)
                      "3001: request body over WeclubsIMMaxBody (%"
                      APR_SIZE_T_FMT " bytes)", sc->c.max_body);
        r->connection->keepalive = AP_CONN_CLOSE;
        return refuse(r, endpoint_of(api), HTTP_REQUEST_ENTITY_TOO_LARGE,
                      WCIM_RC_ILLEGAL_PARAM, now);
    }

    ctx = request_ctx(r, sc, now);
    wcim_api_call(&reply, ctx, api, body, len);
    if (ctx->sync_groups) {
        /* after the answer has gone out: see wcim_log_transaction */
        ap_set_module_config(r->request_config, &weclubs_im_module, ctx);
    }
    /* who the request is from, for the access log: only once proved;
     * what an unproved request says stays apart */
    if (ctx->caller) {
        apr_table_set(r->notes, ctx->authenticated ? "weclubs-im-caller"
                      : "weclubs-im-claimed-caller", ctx->caller);
    }
    if (ctx->user_id) {
        apr_table_setn(r->notes, ctx->authenticated ? "weclubs-im-user"
                       : "weclubs-im-claimed-user", ctx->user_id);
    }
    apr_table_setn(r->notes, "weclubs-im-upstream-ms",
                   apr_psprintf(r->pool, "%" APR_TIME_T_FMT,
                                apr_time_as_msec(ctx->rc_time)));
    return write_reply(r, endpoint_of(api), HTTP_OK, &reply, now);
}

/* A short plain-text answer, for RongCloud's callbacks. */
static int callback_answer(request_rec *r, int status, const char *text)
{
    wcim_metrics_callback(metrics, status);
    r->status = status;
    ap_set_content_type(r, "text/plain;charset=UTF-8");
    ap_set_content_length(r, strlen(text));
    if (!r->header_only) {
        ap_rputs(text, r);
    }
    return OK;
}

/* A callback's signature parameter: from the query (RongCloud's routing
 * docs), under either name, else from the header SealTalk reads. */
static const char *callback_param(request_rec *r, apr_table_t *query,
                                  const char *name, const char *alias,
                                  const char *header)
{
    const char *v = apr_table_get(query, name);

    if (v == NULL && alias) {
        v = apr_table_get(query, alias);
    }
    return v ? v : apr_table_get(r->headers_in, header);
}

/* The last time this process pruned old messages (apr_time_t). */
static volatile apr_uint64_t last_prune;
#define PRUNE_INTERVAL apr_time_from_sec(60)

/* RongCloud's message routing posts: SetHandler weclubs-im-callback. */
static int wcim_callback_handler(request_rec *r)
{
    wcim_srv_conf_t *sc;
    wcim_ctx_t *ctx;
    wcim_routed_post_t post;
    wcim_routed_t kind;
    apr_array_header_t *pairs = NULL;
    apr_table_t *query = NULL, *form;
    apr_time_t now = apr_time_now();
    apr_uint64_t last;
    apr_off_t clen;
    const char *nonce, *ts, *sig, *cl;
    int status;

    if (r->handler == NULL || strcmp(r->handler, WCIM_CALLBACK_HANDLER)) {
        return DECLINED;
    }
    sc = ap_get_module_config(r->server->module_config, &weclubs_im_module);
    if (!sc->c.messages) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, WCIMLOGNO(0207)
                      "message routing post, but WeclubsIMMessages is Off "
                      "for this server");
        r->connection->keepalive = AP_CONN_CLOSE;
        return callback_answer(r, HTTP_NOT_FOUND, "message routing is off\n");
    }
    if (r->method_number != M_POST) {
        apr_table_setn(r->headers_out, "Allow", "POST");
        r->connection->keepalive = AP_CONN_CLOSE;
        return callback_answer(r, HTTP_METHOD_NOT_ALLOWED, "POST only\n");
    }
    ap_args_to_table(r, &query);
    nonce = callback_param(r, query, "nonce", NULL, "RC-Nonce");
    ts = callback_param(r, query, "signTimestamp", "timestamp",
                        "RC-Timestamp");
    sig = callback_param(r, query, "signature", NULL, "RC-Signature");
    /* the signature is in the query or the headers: checked before any
     * of the body is read */
    ctx = request_ctx(r, sc, now);
    if (wcim_api_route_check(ctx, nonce, ts, sig) != APR_SUCCESS) {
        r->connection->keepalive = AP_CONN_CLOSE;
        return callback_answer(r, HTTP_UNAUTHORIZED, "signature error\n");
    }
    cl = apr_table_get(r->headers_in, "Content-Length");
    if (cl && ap_parse_strict_length(&clen, cl)
        && clen > (apr_off_t)sc->c.callback_max_body) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, WCIMLOGNO(0212)
                      "message routing post of %s bytes refused: over "
                      "WeclubsIMCallbackMaxBody (%" APR_SIZE_T_FMT ")", cl,
                      sc->c.callback_max_body);
        r->connection->keepalive = AP_CONN_CLOSE;
        return callback_answer(r, HTTP_REQUEST_ENTITY_TOO_LARGE,
                               "too large\n");
    }
    /* any number of fields: a group's post repeats groupUserIds once per
     * member; the size limit bounds them all */
    status = ap_parse_form_data(r, NULL, &pairs, (apr_size_t)-1,
                                sc->c.callback_max_body);
    if (status == AP_FILTER_ERROR) {
        return status;   /* a filter has answered already */
    }
    if (status != OK) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, WCIMLOGNO(0213)
                      "message routing post refused with HTTP %d: its form "
                      "is unreadable or over WeclubsIMCallbackMaxBody", status);
        r->connection->keepalive = AP_CONN_CLOSE;
        return callback_answer(r, status, "bad form\n");
    }
    form = apr_table_make(r->pool, 8);
    while (pairs && pairs->nelts) {
        ap_form_pair_t *pair = apr_array_pop(pairs);
        apr_off_t len;
        apr_size_t size;
        char *value;

        if (!wcim_routing_field_used(pair->name)) {
            continue;
        }
        apr_brigade_length(pair->value, 1, &len);
        size = (apr_size_t)len;
        value = apr_palloc(r->pool, size + 1);
        apr_brigade_flatten(pair->value, value, &size);
        value[size] = '\0';
        apr_table_setn(form, pair->name, value);
    }
    wcim_routing_post_from(&post, form);

    if (wcim_api_route(&kind, ctx, &post) != APR_SUCCESS) {
        return callback_answer(r, HTTP_INTERNAL_SERVER_ERROR, "error\n");
    }
    last = apr_atomic_read64(&last_prune);
    if (now - (apr_time_t)last > PRUNE_INTERVAL
        && apr_atomic_cas64(&last_prune, (apr_uint64_t)now, last) == last) {
        /* this request prunes, after its answer: wcim_log_transaction */
        ctx->prune_due = 1;
        ap_set_module_config(r->request_config, &weclubs_im_module, ctx);
    }
    return callback_answer(r, HTTP_OK, "ok");
}

/* httpd answers TRACE itself, before any handler (http_core's
 * map_to_storage hook echoes the request back, unless TraceEnable off).
 * Under our handlers, TRACE gets the answer of any other method but POST:
 * 405 with the JSON envelope (3100) or RongCloud's plain text. At this
 * point the Locations have not been walked yet, so this walks them (for
 * TRACE only) to see the SetHandler that applies. */
static int wcim_trace(request_rec *r)
{
    ap_conf_vector_t *before = r->per_dir_config;
    core_dir_config *d;
    const char *handler = NULL, *err = NULL;
    int rc;

    if (r->method_number != M_TRACE || r->proxyreq) {
        return DECLINED;
    }
    if (ap_location_walk(r) == OK) {
        d = ap_get_core_module_config(r->per_dir_config);
        if (d && d->expr_handler) {
            handler = ap_expr_str_exec(r, d->expr_handler, &err);
        }
    }
    if (err == NULL && handler && strcmp(handler, WCIM_HANDLER) == 0) {
        r->handler = handler;
        rc = wcim_handler(r);
    }
    else if (err == NULL && handler
             && strcmp(handler, WCIM_CALLBACK_HANDLER) == 0) {
        r->handler = handler;
        rc = wcim_callback_handler(r);
    }
    else {
        /* not ours: leave the request as httpd had it */
        r->per_dir_config = before;
        return DECLINED;
    }
    /* answered: the rest of the request cycle is skipped, as after
     * core's own TRACE answer */
    return rc == OK ? DONE : rc;
}

/* Counters for monitoring: SetHandler weclubs-im-status. Prometheus' text
 * format, or a plain page with ?text. */
static int wcim_status_handler(request_rec *r)
{
    apr_array_header_t *gauges;
    apr_hash_t *seen;
    int human = r->args && strstr(r->args, "text") != NULL;
    server_rec *sp;
    const char *body;

    if (r->handler == NULL || strcmp(r->handler, WCIM_STATUS_HANDLER)) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        ap_allow_methods(r, REPLACE_ALLOW, "GET", NULL);  /* for Allow */
        return HTTP_METHOD_NOT_ALLOWED;
    }
    gauges = apr_array_make(r->pool, 8, sizeof(const char *));
    seen = apr_hash_make(r->pool);
    if (metrics == NULL) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    *(const char **)apr_array_push(gauges) = human
        ? "RongCloud hosts in use:\n"
        : "# HELP weclubs_im_rongcloud_host_in_use 1 for the host each URL "
          "list uses now.\n# TYPE weclubs_im_rongcloud_host_in_use gauge\n";
    for (sp = ap_server_conf; sp; sp = sp->next) {
        wcim_srv_conf_t *sc = ap_get_module_config(sp->module_config,
                                                   &weclubs_im_module);
        int i, active;

        if (!sc->configured || sc->c.rc.hosts == NULL
            || apr_hash_get(seen, &sc->c.rc.hosts, sizeof(void *))) {
            continue;
        }
        apr_hash_set(seen, &sc->c.rc.hosts, sizeof(void *), sc);
        active = wcim_rc_hosts_active(sc->c.rc.hosts);
        for (i = 0; i < sc->c.rc.urls->nelts; ++i) {
            const char *url = APR_ARRAY_IDX(sc->c.rc.urls, i, const char *);
            *(const char **)apr_array_push(gauges) = human
                ? apr_psprintf(r->pool, "  %s %s\n", url,
                               i == active ? "in use" : "standby")
                : apr_psprintf(r->pool, "weclubs_im_rongcloud_host_in_use"
                               "{url=\"%s\"} %d\n",
                               wcim_metrics_label_escape(url, r->pool),
                               i == active);
        }
    }
    body = wcim_metrics_render(metrics, human,
                               apr_array_pstrcat(r->pool, gauges, 0),
                               r->pool);
    ap_set_content_type(r, human ? "text/plain;charset=UTF-8"
                                 : "text/plain; version=0.0.4; charset=utf-8");
    ap_set_content_length(r, strlen(body));
    if (!r->header_only) {
        ap_rputs(body, r);
    }
    return OK;
}

/* httpd's error answer to a body its input filter refused (400, 413):
 * our envelope and Content-Type instead of its HTML page. */
static apr_status_t wcim_error_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    wcim_reply_t reply = { WCIM_RC_ILLEGAL_PARAM, NULL, NULL };
    const char *body;
    apr_size_t len;
    apr_bucket *e, *next;

    for (e = APR_BRIGADE_FIRST(bb); e != APR_BRIGADE_SENTINEL(bb); e = next) {
        next = APR_BUCKET_NEXT(e);
        if (APR_BUCKET_IS_EOS(e)) {
            break;
        }
        if (!APR_BUCKET_IS_METADATA(e)) {
            apr_bucket_delete(e);       /* httpd's HTML page */
        }
    }
    if (f->ctx == NULL && wcim_reply_render(&body, &len, &reply,
                                            apr_time_now(), r->pool)
                          == APR_SUCCESS) {
        f->ctx = r;     /* once */
        ap_set_content_type(r, WCIM_CONTENT_TYPE);
        ap_set_content_length(r, len);
        apr_table_setn(r->notes, "weclubs-im-result", "3001");
        APR_BRIGADE_INSERT_HEAD(bb, apr_bucket_pool_create(body, len, r->pool,
                                                           bb->bucket_alloc));
    }
    return ap_pass_brigade(f->next, bb);
}

static void wcim_insert_error_filter(request_rec *r)
{
    if (apr_table_get(r->notes, "weclubs-im-reading")
        && (r->status == HTTP_BAD_REQUEST
            || r->status == HTTP_REQUEST_ENTITY_TOO_LARGE)) {
        ap_add_output_filter("WECLUBS_IM_ERROR", NULL, r, r->connection);
    }
}

/* Runs once the answer has been written to the client, so the group sync
 * to RongCloud never delays it. */
/* A group sync that is due goes to its user's sync thread; without the
 * threads it runs here, after the answer. */
static void group_sync_after(request_rec *r, wcim_ctx_t *ctx)
{
    wcim_ctx_t *job = NULL;

    if (!wcim_api_group_sync_due(ctx)) {
        return;
    }
    if (!apr_atomic_read32(&sync_running)) {
        if (wcim_api_group_sync_job(&job, ctx, r->pool) == APR_SUCCESS
            && job) {
            job->log = ctx->log;
            wcim_api_group_sync(job);
        }
        return;
    }
#if APR_HAS_THREADS
    {
        apr_ssize_t klen = APR_HASH_KEY_STRING;
        sync_thread_t *st = &sync_threads[apr_hashfunc_default(ctx->user_id,
                                                               &klen)
                                          % SYNC_THREADS];
        apr_pool_t *p = NULL;
        wcim_ctx_t *waiting, *fresh = NULL;
        apr_status_t rv;

        apr_thread_mutex_lock(sync_waiting_lock);
        waiting = apr_hash_get(sync_waiting, ctx->user_id,
                               APR_HASH_KEY_STRING);
        if (waiting) {
            /* the user's sync waits: it takes this list's set (its pool is
             * ours until a thread takes it, under the same lock) */
            if (wcim_api_group_sync_job(&fresh, ctx, waiting->pool)
                == APR_SUCCESS && fresh) {
                waiting->sync_groups = fresh->sync_groups;
            }
            apr_thread_mutex_unlock(sync_waiting_lock);
            return;
        }
        if (apr_pool_create(&p, sync_pool) != APR_SUCCESS
            || wcim_api_group_sync_job(&job, ctx, p) != APR_SUCCESS || !job) {
            apr_thread_mutex_unlock(sync_waiting_lock);
            if (p) {
                apr_pool_destroy(p);
            }
            return;
        }
        job->log.fn = log_to_server;
        job->log.baton = r->server;
        job->log.level = ap_get_server_module_loglevel(r->server,
                                                       APLOG_MODULE_INDEX);
        job->log.pool = p;
        rv = apr_queue_trypush(st->queue, job);
        if (rv == APR_SUCCESS) {
            apr_hash_set(sync_waiting, job->user_id, APR_HASH_KEY_STRING,
                         job);
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
            last = apr_atomic_read64(&syncs_dropped_said);
            if ((now < (apr_time_t)last
                 || now - (apr_time_t)last > apr_time_from_sec(10))
                && apr_atomic_cas64(&syncs_dropped_said, (apr_uint64_t)now,
                                    last) == last) {
                apr_uint32_t dropped = apr_atomic_xchg32(&syncs_dropped, 0);
                ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r,
                              WCIMLOGNO(0209) "RongCloud group syncs "
                              "dropped: %u in this process since the last "
                              "such line (user %s the last; %d waiting on "
                              "its thread); later lists retry them",
                              dropped, ctx->user_id,
                              (int)apr_queue_size(st->queue));
            }
            apr_pool_destroy(p);
        }
    }
#endif
}

static int wcim_log_transaction(request_rec *r)
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

static void wcim_register_hooks(apr_pool_t *p)
{

    ap_hook_pre_config(wcim_cache_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(wcim_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_test_config(wcim_test_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(wcim_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(wcim_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(wcim_handler, NULL, NULL, APR_HOOK_MIDDLE);
    /* before http_core's TRACE answer (APR_HOOK_MIDDLE) */
    ap_hook_map_to_storage(wcim_trace, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_insert_error_filter(wcim_insert_error_filter, NULL, NULL,
                                APR_HOOK_MIDDLE);
    ap_register_output_filter("WECLUBS_IM_ERROR", wcim_error_filter, NULL,
                              AP_FTYPE_CONTENT_SET);
    ap_hook_handler(wcim_callback_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(wcim_status_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_log_transaction(wcim_log_transaction, NULL, NULL,
                            APR_HOOK_MIDDLE);
}

module AP_MODULE_DECLARE_DATA weclubs_im_module = {
    STANDARD20_MODULE_STUFF,
    NULL,
    NULL,
    wcim_create_srv_conf,
    wcim_merge_srv_conf,
    wcim_cmds,
    wcim_register_hooks
};
