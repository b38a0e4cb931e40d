/* A request as the core sees it: its context (wcim_ctx_t: the logger,
 * the store on the request's mod_dbd connection, the cache, the process's
 * RongCloud client), the core's loggers, and reading a request's whole
 * body within a limit. Used by every handler (_handler.c, _callback.c,
 * _health.c); it uses none of them. */

/* before APR: its ring macros need offsetof from here */
#include <stddef.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>

#include <apr_atomic.h>
#include <apr_strings.h>
#include <apr_dbd.h>
#include <mod_dbd.h>

#include "mod_weclubs_im.h"
#include "modules/wcim_buf.h"

APLOG_USE_MODULE(weclubs_im);

/* The core's logger for a request (baton: request_rec). */
static void log_to_request(void *baton, const char *file, int line,
                           int level, apr_status_t rv, const char *msg)
{
    ap_log_rerror_(file, line, APLOG_MODULE_INDEX, level, rv,
                   (request_rec *)baton, "%s", msg);
}

void wcim_log_to_server(void *baton, const char *file, int line,
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
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, WCIMLOGNO(0210)
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
    dbd = wcim_process.dbd_acquire ? wcim_process.dbd_acquire(r) : NULL;
    if (dbd == NULL) {
        *perr = "mod_dbd gave no connection (see DBDriver, DBDParams and "
                "the errors above)";
        return APR_EGENERAL;
    }
    rv = wcim_store_attach(pstore, &warn, perr, dbd->driver, dbd->handle,
                           dbd->pool, sc->stmt_sql, sc->stmt_tag, r->pool);
    if (warn) {
        /* an optional statement (message routing's, the token table's,
         * a one-statement read: a custom query with a mistake, tables not
         * created): the endpoints work on without it; its uses say "not
         * prepared" and fall back (WCIM0112, WCIM0127, two statements)
         * until it can be prepared */
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, WCIMLOGNO(0211)
                      "%s; its feature (message routing, the token table, "
                      "or one statement per request) goes without it on "
                      "this connection until it can be prepared", warn);
    }
    if (rv == APR_SUCCESS && (*pstore)->fresh) {
        check_sqlite_journal(dbd, r);
    }
    return rv;
}

#define READ_HINT_MAX 16384

/* Read the whole body into one buffer, refusing more than max bytes (every
 * byte the input filters give, so a chunked body too). *ptoo_large is set
 * when the body is over the limit. The buffer grows as the body comes:
 * a Content-Length alone, the body stalled, pins no more than
 * READ_HINT_MAX (headers announcing 16 MiB held 16 MiB a connection). */
apr_status_t wcim_read_body(char **pbuf, apr_size_t *plen, int *ptoo_large,
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
            hint = (apr_size_t)n < READ_HINT_MAX ? (apr_size_t)n
                                                 : READ_HINT_MAX;
        }
    }
    wcim_buf_init(&body, r->pool, hint);
    wcim_buf_bound(&body, max);
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

/* The core's view of a request. */
wcim_ctx_t *wcim_request_ctx(request_rec *r, wcim_srv_conf_t *sc,
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
    ctx->rc_client = wcim_process.rc_client;
    ctx->flight = wcim_process.flight;
    ctx->metrics = wcim_process.metrics;
    return ctx;
}
