/* Reconciliation passes and token prefetch (modules/wcim_reconcile.c) on
 * mod_watchdog: one singleton watchdog, so one child of the node runs
 * them, each server with WeclubsIMReconcileInterval (or
 * WeclubsIMTokenPrefetch) and the token table on its own interval. Each batch of a pass borrows a connection from mod_dbd
 * (ap_dbd_open) and gives it back before RongCloud is called. */

#include <unistd.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_core.h>
#include <mod_watchdog.h>

#include <apr_atomic.h>
#include <apr_strings.h>

#include "mod_weclubs_im.h"
#include "modules/wcim_reconcile.h"

APLOG_USE_MODULE(weclubs_im);

#define WATCHDOG_NAME "weclubs-im-reconcile"

static APR_OPTIONAL_FN_TYPE(ap_dbd_open) *dbd_open;
static APR_OPTIONAL_FN_TYPE(ap_dbd_close) *dbd_close;
/* set as the child exits, before mod_watchdog waits for its thread (a
 * pre-cleanup of the child's pool runs before its sub-pools go): a pass
 * stops between two calls */
static volatile apr_uint32_t stopping;

typedef struct {
    server_rec *s;
    wcim_srv_conf_t *sc;
    apr_int64_t prefetch_after;     /* where the prefetch scan is */
    apr_time_t prefetch_next;       /* a finished scan starts again then */
} pass_server_t;

/* Prefetch runs in rounds of this long, on a callback of its own. */
#define PREFETCH_ROUND apr_time_from_sec(1)
/* A scan that found every student with a token starts again after this
 * (new students). */
#define PREFETCH_RESCAN apr_time_from_sec(60)

typedef struct {
    server_rec *s;
    wcim_srv_conf_t *sc;
    ap_dbd_t *dbd;
    apr_pool_t *pool;
} pass_store_t;

static apr_status_t open_store(wcim_store_t **pst, const char **perr,
                               void *baton, apr_pool_t *p)
{
    pass_store_t *ps = baton;
    const char *warn = NULL;
    apr_status_t rv;

    *pst = NULL;
    ps->dbd = dbd_open ? dbd_open(ps->pool, ps->s) : NULL;
    if (ps->dbd == NULL) {
        *perr = "mod_dbd gave no connection (see DBDriver, DBDParams and "
                "the errors above)";
        return APR_EGENERAL;
    }
    rv = wcim_store_attach(pst, &warn, perr, ps->dbd->driver,
                           ps->dbd->handle, ps->dbd->pool, ps->sc->stmt_sql,
                           ps->sc->stmt_tag, p);
    if (warn) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, ps->s, WCIMLOGNO(0640)
                     "reconciliation: %s", warn);
    }
    if (rv != APR_SUCCESS) {
        dbd_close(ps->s, ps->dbd);
        ps->dbd = NULL;
    }
    return rv;
}

static void close_store(wcim_store_t *st, void *baton)
{
    pass_store_t *ps = baton;

    (void)st;
    if (ps->dbd) {
        dbd_close(ps->s, ps->dbd);
        ps->dbd = NULL;
    }
}

/* The core's context and environment for work of srv's in `pool`. */
static void pass_setup(wcim_ctx_t *pctx, wcim_reconcile_env_t *penv,
                       pass_store_t *pstore, pass_server_t *srv,
                       apr_pool_t *pool)
{
    server_rec *s = srv->s;
    wcim_srv_conf_t *sc = srv->sc;
    char host[256];

    memset(pctx, 0, sizeof(*pctx));
    pctx->pool = pool;
    pctx->conf = &sc->c;
    pctx->now = apr_time_now();
    pctx->log.fn = wcim_log_to_server;
    pctx->log.baton = s;
    pctx->log.level = ap_get_server_module_loglevel(s, APLOG_MODULE_INDEX);
    pctx->log.pool = pool;
    pctx->cache = wcim_cache_for(NULL);
    pctx->rc_client = wcim_process.rc_client;
    pctx->metrics = wcim_process.metrics;

    pstore->s = s;
    pstore->sc = sc;
    pstore->dbd = NULL;
    pstore->pool = pool;
    if (gethostname(host, sizeof(host)) != 0) {
        apr_cpystrn(host, "?", sizeof(host));
    }
    host[sizeof(host) - 1] = '\0';
    penv->open = open_store;
    penv->close = close_store;
    penv->baton = pstore;
    penv->stop = &stopping;
    penv->interval = sc->c.reconcile_interval > 0 ? sc->c.reconcile_interval
                                                  : PREFETCH_ROUND;
    /* this node's httpd (its parent process, which a graceful restart
     * keeps: the new children take the lease over at once) and server */
    penv->holder = apr_psprintf(pool, "%s:%ld %s:%u", host, (long)getppid(),
                                s->server_hostname ? s->server_hostname
                                                   : "-", (unsigned)s->port);
}

static int not_now(int state)
{
    return state != AP_WATCHDOG_STATE_RUNNING
           || wcim_process.rc_client == NULL
           || apr_atomic_read32(&stopping);
}

static apr_status_t prefetch_callback(int state, void *data,
                                      apr_pool_t *pool)
{
    pass_server_t *srv = data;
    wcim_reconcile_stats_t stats;
    wcim_reconcile_env_t env;
    pass_store_t store;
    wcim_ctx_t ctx;
    int end = 0;

    if (not_now(state) || apr_time_now() < srv->prefetch_next) {
        return APR_SUCCESS;
    }
    pass_setup(&ctx, &env, &store, srv, pool);
    wcim_reconcile_prefetch(&stats, &srv->prefetch_after, &end, &ctx, &env,
                            PREFETCH_ROUND);
    if (end) {
        srv->prefetch_next = apr_time_now() + PREFETCH_RESCAN;
    }
    if (stats.held && stats.calls) {
        apr_uint32_t counts[WCIM_RECONCILE_COUNTS] = { 0 };

        counts[2] = stats.calls;
        counts[3] = stats.failed;
        counts[8] = stats.prefetched;
        wcim_metrics_reconcile(wcim_process.metrics, counts, 0, 0);
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, srv->s, WCIMLOGNO(0647)
                     "token prefetch of App Key %s: %u tokens fetched ahead "
                     "(%u calls failed)%s", srv->sc->c.rc.app_key,
                     stats.prefetched, stats.failed,
                     end ? "; every student has one" : "");
    }
    return APR_SUCCESS;
}

static apr_status_t pass_callback(int state, void *data, apr_pool_t *pool)
{
    pass_server_t *srv = data;
    server_rec *s = srv->s;
    wcim_srv_conf_t *sc = srv->sc;
    wcim_reconcile_stats_t stats;
    wcim_reconcile_env_t env;
    pass_store_t store;
    wcim_ctx_t ctx;
    apr_time_t began = apr_time_now();
    apr_status_t rv;

    if (not_now(state)) {
        return APR_SUCCESS;
    }
    pass_setup(&ctx, &env, &store, srv, pool);
    rv = wcim_reconcile_pass(&stats, &ctx, &env);
    if (stats.held) {
        apr_uint32_t counts[WCIM_RECONCILE_COUNTS] = {
            stats.students, stats.changes, stats.calls, stats.failed,
            stats.synced, stats.renamed, stats.blocked, stats.unblocked, 0
        };
        apr_interval_time_t took = apr_time_now() - began;

        wcim_metrics_reconcile(wcim_process.metrics, counts, apr_time_now(),
                               took);
        ap_log_error(APLOG_MARK, stats.changes ? APLOG_INFO : APLOG_DEBUG,
                     rv, s, WCIMLOGNO(0641)
                     "reconciliation pass of App Key %s: %u students, %u "
                     "changes, %u calls (%u failed), %u database errors, "
                     "%.3f s", sc->c.rc.app_key, stats.students,
                     stats.changes, stats.calls, stats.failed, stats.errors,
                     (double)took / APR_USEC_PER_SEC);
    }
    return APR_SUCCESS;     /* keep being called */
}

int wcim_reconcile_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                               apr_pool_t *ptemp, server_rec *s)
{
    APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *get_instance;
    APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *register_callback;
    ap_watchdog_t *wd = NULL;
    server_rec *sp;

    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    dbd_open = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_open);
    dbd_close = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_close);
    get_instance = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    register_callback = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    for (sp = s; sp; sp = sp->next) {
        wcim_srv_conf_t *sc = ap_get_module_config(sp->module_config,
                                                   &weclubs_im_module);
        pass_server_t *srv;
        apr_status_t rv;

        if (!sc->configured || (sc->c.reconcile_interval <= 0
                                && sc->c.token_prefetch <= 0)) {
            continue;
        }
        if (!sc->c.token_store_db || !sc->c.rc.app_key
            || !sc->c.rc.app_secret) {
            if (sc->reconcile_given || sc->prefetch_given) {
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, sp,
                             WCIMLOGNO(0642) "WeclubsIMReconcileInterval, "
                             "WeclubsIMTokenPrefetch: nothing done for this "
                             "server: they need WeclubsIMTokenStore db (the "
                             "students RongCloud knows) and the RongCloud "
                             "App Key and Secret");
            }
            continue;
        }
        if (!get_instance || !register_callback || !dbd_open || !dbd_close) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, sp, WCIMLOGNO(0643)
                         "WeclubsIMReconcileInterval: no passes: they need "
                         "mod_watchdog and mod_dbd");
            return OK;
        }
        if (wd == NULL && (rv = get_instance(&wd, WATCHDOG_NAME, 0, 1, pconf))
                          != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, sp, WCIMLOGNO(0644)
                         "WeclubsIMReconcileInterval: no watchdog: no "
                         "passes");
            return OK;
        }
        srv = apr_pcalloc(pconf, sizeof(*srv));
        srv->s = sp;
        srv->sc = sc;
        if (sc->c.reconcile_interval > 0
            && (rv = register_callback(wd, sc->c.reconcile_interval, srv,
                                       pass_callback)) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, sp, WCIMLOGNO(0645)
                         "WeclubsIMReconcileInterval: the pass could not be "
                         "scheduled");
            continue;
        }
        if (sc->c.token_prefetch > 0
            && (rv = register_callback(wd, PREFETCH_ROUND, srv,
                                       prefetch_callback)) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, sp, WCIMLOGNO(0648)
                         "WeclubsIMTokenPrefetch: could not be scheduled");
            continue;
        }
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, sp, WCIMLOGNO(0646)
                     "App Key %s: reconciliation every %.1f s (0: off), "
                     "token prefetch %.0f a second (0: off)",
                     sc->c.rc.app_key,
                     (double)sc->c.reconcile_interval / APR_USEC_PER_SEC,
                     sc->c.token_prefetch);
    }
    return OK;
}

static apr_status_t note_stopping(void *data)
{
    (void)data;
    apr_atomic_set32(&stopping, 1);
    return APR_SUCCESS;
}

void wcim_reconcile_child_init(apr_pool_t *p, server_rec *s)
{
    (void)s;
    apr_atomic_set32(&stopping, 0);
    apr_pool_pre_cleanup_register(p, NULL, note_stopping);
}
