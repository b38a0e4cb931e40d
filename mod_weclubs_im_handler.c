/* The API handler (SetHandler weclubs-im): reads the body, hands it to the
 * core, writes the answer; the store of a request on its mod_dbd
 * connection; refusals the core does not make (404, 405, 413, unreadable
 * bodies); TRACE under the module's handlers; and the error filter that
 * puts the JSON envelope on httpd's own 400 and 413 answers. */

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
#include "modules/wcim_result.h"

APLOG_USE_MODULE(weclubs_im);

/* Checks that must fail `apachectl configtest`, which stops before
 * post_config. */
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
    wcim_metrics_request(wcim_process.metrics, ep, reply->result_code);
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

int wcim_handler(request_rec *r)
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
    rv = wcim_read_body(&body, &len, &too_large, r, sc->c.max_body);
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

    ctx = wcim_request_ctx(r, sc, now);
    wcim_api_call(&reply, ctx, api, body, len);
    if (ctx->sync_groups) {
        /* after the answer has gone out: see wcim_after_answer */
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

/* httpd answers TRACE itself, before any handler (http_core's
 * map_to_storage hook echoes the request back, unless TraceEnable off).
 * Under our handlers, TRACE gets the answer of any other method but POST:
 * 405 with the JSON envelope (3100) or RongCloud's plain text. At this
 * point the Locations have not been walked yet, so this walks them (for
 * TRACE only) to see the SetHandler that applies. */
int wcim_trace(request_rec *r)
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

/* httpd's error answer to a body its input filter refused (400, 413):
 * our envelope and Content-Type instead of its HTML page. */
apr_status_t wcim_error_filter(ap_filter_t *f, apr_bucket_brigade *bb)
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

void wcim_insert_error_filter(request_rec *r)
{
    if (apr_table_get(r->notes, "weclubs-im-reading")
        && (r->status == HTTP_BAD_REQUEST
            || r->status == HTTP_REQUEST_ENTITY_TOO_LARGE)) {
        ap_add_output_filter("WECLUBS_IM_ERROR", NULL, r, r->connection);
    }
}

