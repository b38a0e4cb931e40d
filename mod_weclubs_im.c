/* mod_weclubs_im: the weclubs instant-messaging API (/im/get_token and
 * /im/get_group_chat_list) inside httpd.
 *
 * This file: the module record, hook registration, configuration checks
 * and start-up notes, post-config (shared memory) and child init (the
 * process's state). The rest of the glue, one job a file: the directives
 * (_directives.c) and their defaults (_defaults.h), the server
 * configuration (_config.c), the cache (_cache.c), a request as the core
 * sees it (_request.c), the API handler and the error filter (_handler.c),
 * message routing (_callback.c), TRACE under both (_trace.c), the status
 * page (_status.c), the health check (_health.c), work after the answer
 * (_sync.c). The core in modules/ knows nothing of httpd. */

/* before APR: its ring macros need offsetof from here */
#include <stddef.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <ap_mpm.h>

#include <apr_hash.h>
#include <apr_shm.h>
#include <apr_strings.h>

#include <apr_version.h>
#include <apu_version.h>
#include <curl/curl.h>
#include <jansson.h>

#include <mod_status.h>

#include "mod_weclubs_im.h"

APLOG_USE_MODULE(weclubs_im);

wcim_process_t wcim_process;

/* Shared by all children, made at start-up: after the counters, which
 * RongCloud host each URL list uses, then the rate limiters of each App
 * Key. */
#define MAX_HOST_LISTS 64
#define MAX_APP_KEYS 64
static char *shared_hosts;
static int shared_hosts_used;
static char *shared_limits;
static int shared_limits_used;

/* ------------------------------------------------------------------ */
/* start-up                                                             */

/* Checks that must fail `apachectl configtest`, which stops before
 * post_config. */
static int wcim_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp, server_rec *s)
{
    server_rec *sp;

    wcim_process.dbd_acquire = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_acquire);

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
        if (wcim_process.dbd_acquire == NULL) {
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
            /* the database holds the nonces (t_im_nonce); the cache only
             * refuses replays early, before their bodies are read */
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, sp, WCIMLOGNO(0013)
                         "WeclubsIMMessages is On but WeclubsIMCache is "
                         "none (server %s:%u): a replayed message routing "
                         "post is refused by the database (t_im_nonce) "
                         "only after its body was read", sp->server_hostname,
                         sp->port);
        }
        if (sc->replay_window_given) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, sp, WCIMLOGNO(0012)
                         "WeclubsIMReplayWindow is ignored (server %s:%u): "
                         "it was removed, since the signature does not cover "
                         "the request id; see docs/security.md",
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
        if (!sc->c.messages && !wcim_conf_token_groups(sc)) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, sp, WCIMLOGNO(0017)
                         "WeclubsIMSQL %s is set (server %s:%u): "
                         "get_group_chat_list reads the token and the "
                         "groups with two statements, two database round "
                         "trips; WeclubsIMSQL token_groups reads both in "
                         "one", sc->sql[WCIM_STMT_TOKEN]
                                ? (sc->sql[WCIM_STMT_GROUPS] ? "token and groups"
                                                             : "token")
                                : "groups",
                         sp->server_hostname, sp->port);
        }
        if (!wcim_conf_token_user(sc)) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, sp, WCIMLOGNO(0018)
                         "WeclubsIMSQL %s is set (server %s:%u): get_token "
                         "reads the token and the student with two "
                         "statements, two database round trips; "
                         "WeclubsIMSQL token_user reads both in one",
                         sc->sql[WCIM_STMT_TOKEN]
                         ? (sc->sql[WCIM_STMT_USER] ? "token and user" : "token")
                         : "user",
                         sp->server_hostname, sp->port);
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

    wcim_process.metrics = NULL;
    shared_hosts = shared_limits = NULL;
    shared_hosts_used = shared_limits_used = 0;
    rv = apr_shm_create(&shm, msize + MAX_HOST_LISTS * wcim_rc_hosts_size()
                        + MAX_APP_KEYS * wcim_rc_limits_size(), NULL, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, WCIMLOGNO(0007)
                     "no shared memory: counters, RongCloud host choice and "
                     "rate limits are per process");
        return;
    }
    base = apr_shm_baseaddr_get(shm);
    wcim_process.metrics = wcim_metrics_init(base);
    shared_hosts = base + msize;
    shared_limits = shared_hosts + MAX_HOST_LISTS * wcim_rc_hosts_size();
}

/* The rate limiters of a server's App Key, shared by all servers with
 * that key (RongCloud counts per App Key) and by all children. */
static void attach_limits(wcim_srv_conf_t *sc, apr_hash_t *limits,
                          apr_pool_t *pconf, server_rec *sp)
{
    const wcim_rc_config_t *rc = &sc->c.rc;
    /* servers that give the same App Key other limits or node counts
     * keep their own (and so do the tests' virtual hosts) */
    const char *app_key = apr_psprintf(pconf, "%s %g %g %g %d",
                                       rc->app_key ? rc->app_key : "",
                                       rc->rate_limit[0], rc->rate_limit[1],
                                       rc->rate_limit[2], rc->nodes);

    sc->c.rc.limits = apr_hash_get(limits, app_key, APR_HASH_KEY_STRING);
    if (sc->c.rc.limits) {
        return;
    }
    if (shared_limits && shared_limits_used < MAX_APP_KEYS) {
        sc->c.rc.limits = wcim_rc_limits_at(shared_limits
            + wcim_rc_limits_size() * shared_limits_used++);
    }
    else {
        /* each child then keeps the whole share alone: said, not silent */
        if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, sp, WCIMLOGNO(0015)
                         "more than %d RongCloud App Keys (or no shared "
                         "memory): from server %s:%u on, each child keeps "
                         "the node's share of RongCloud's rate limits "
                         "alone", MAX_APP_KEYS, sp->server_hostname,
                         sp->port);
        }
        wcim_rc_limits_create(&sc->c.rc.limits, pconf);
    }
    apr_hash_set(limits, app_key, APR_HASH_KEY_STRING, sc->c.rc.limits);
    if (rc->app_key
        && ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        const char *say[WCIM_CALL_COUNT];
        int c;

        for (c = 0; c < WCIM_CALL_COUNT; ++c) {
            double per_sec;
            int burst;

            wcim_rc_rate_share(&per_sec, &burst, rc, (wcim_call_t)c);
            say[c] = per_sec > 0 ? apr_psprintf(pconf, "%.1f/s (%d at once)",
                                                per_sec, burst)
                                 : "no limit";
        }
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, sp, WCIMLOGNO(0016)
                     "RongCloud App Key %s on this node (1 of %d, "
                     "WeclubsIMRongCloudNodes): user/getToken %s, "
                     "user/refresh %s, group/sync %s, user/block %s",
                     rc->app_key, rc->nodes, say[0], say[1], say[2], say[3]);
    }
}

static int wcim_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s)
{
    apr_hash_t *hosts = apr_hash_make(ptemp);
    apr_hash_t *limits = apr_hash_make(ptemp);
    const char *urls;
    server_rec *sp;
    int rv;

    if ((rv = wcim_cache_post_config(pconf, plog, ptemp, s)) != OK) {
        return rv;
    }
    make_shared(pconf, s);
    /* said once per start: not on the first of the two start-up passes */
    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        /* which build a log was written by, and what it runs on */
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, WCIMLOGNO(0009)
                     "mod_weclubs_im %s (APR %s, APR-util %s, jansson %s, "
                     "libcurl %s), starting", WCIM_VERSION,
                     apr_version_string(), apu_version_string(),
                     jansson_version_str(),
                     curl_version_info(CURLVERSION_NOW)->version);
        warn_config(s);
    }
    for (sp = s; sp; sp = sp->next) {
        wcim_srv_conf_t *sc = ap_get_module_config(sp->module_config,
                                                   &weclubs_im_module);
        if (!sc->configured) {
            continue;
        }
        attach_limits(sc, limits, pconf, sp);
        /* servers with the same URL list share which host is in use */
        urls = apr_array_pstrcat(ptemp, sc->c.rc.urls, ' ');
        sc->c.rc.hosts = apr_hash_get(hosts, urls, APR_HASH_KEY_STRING);
        if (sc->c.rc.hosts == NULL) {
            if (shared_hosts && shared_hosts_used < MAX_HOST_LISTS) {
                sc->c.rc.hosts = wcim_rc_hosts_at(shared_hosts
                    + wcim_rc_hosts_size() * shared_hosts_used++);
            }
            else {
                /* past MAX_HOST_LISTS (or without shared memory) each
                 * child chooses its host alone: said, not silent */
                if (shared_hosts && shared_hosts_used++ == MAX_HOST_LISTS
                    && ap_state_query(AP_SQ_MAIN_STATE)
                       != AP_SQ_MS_CREATE_PRE_CONFIG) {
                    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, sp,
                                 WCIMLOGNO(0014) "more than %d different "
                                 "WeclubsIMRongCloudURL lists: from this "
                                 "server on, each child chooses its "
                                 "RongCloud host alone", MAX_HOST_LISTS);
                }
                wcim_rc_hosts_create(&sc->c.rc.hosts, pconf);
            }
            apr_hash_set(hosts, urls, APR_HASH_KEY_STRING, sc->c.rc.hosts);
        }
    }
    return OK;
}

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
    /* each failure says what this process then does without */
    if ((rv = private_pool(&rc_pool, p, "weclubs_im_rc")) != APR_SUCCESS
        || (rv = wcim_rc_client_create(&wcim_process.rc_client, rc_pool))
           != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, WCIMLOGNO(0006)
                     "no connection reuse for RongCloud in this process: "
                     "each call opens its own connection");
    }
    if ((rv = private_pool(&flight_pool, p, "weclubs_im_flight"))
           != APR_SUCCESS
        || (rv = wcim_flight_create(&wcim_process.flight, flight_pool))
           != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, WCIMLOGNO(0011)
                     "no table of calls in flight in this process: "
                     "concurrent get_token of one student each call "
                     "RongCloud");
    }
    /* not under prefork: a child there handles one connection at a time,
     * and its SIGTERM handler destroys the child's pool wherever the
     * request was (a join of sync threads could then wait on a lock the
     * interrupted request holds); syncs stay on the request's thread */
    if (mpm_is_threaded() && (rv = wcim_sync_start(p, s)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, WCIMLOGNO(0008)
                     "no threads for RongCloud group syncs in this process: "
                     "they run after each answer, on the request's thread");
    }
}

static void wcim_register_hooks(apr_pool_t *p)
{

    ap_hook_pre_config(wcim_cache_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(wcim_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_test_config(wcim_test_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(wcim_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(wcim_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    {
        /* before mod_watchdog's post_config: it starts only the
         * instances that have callbacks by then */
        static const char *const watchdog[] = { "mod_watchdog.c", NULL };

        ap_hook_post_config(wcim_reconcile_post_config, NULL, watchdog,
                            APR_HOOK_LAST);
        ap_hook_child_init(wcim_reconcile_child_init, NULL, NULL,
                           APR_HOOK_MIDDLE);
    }
    ap_hook_handler(wcim_handler, NULL, NULL, APR_HOOK_MIDDLE);
    /* before http_core's TRACE answer (APR_HOOK_MIDDLE) */
    ap_hook_map_to_storage(wcim_trace, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_insert_error_filter(wcim_insert_error_filter, NULL, NULL,
                                APR_HOOK_MIDDLE);
    ap_register_output_filter("WECLUBS_IM_ERROR", wcim_error_filter, NULL,
                              AP_FTYPE_CONTENT_SET);
    ap_hook_handler(wcim_callback_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(wcim_status_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(wcim_health_handler, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, wcim_status_hook, NULL, NULL,
                      APR_HOOK_MIDDLE);
    ap_hook_log_transaction(wcim_after_answer, NULL, NULL,
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
