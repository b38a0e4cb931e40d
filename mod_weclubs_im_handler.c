/* The API handler (SetHandler weclubs-im): reads the body, hands it to the
 * core, writes the answer; refusals the core does not make (404, 405, 413,
 * unreadable bodies); and the error filter that puts the JSON envelope on
 * httpd's own 400 and 413 answers. */

/* before APR: its ring macros need offsetof from here */
#include <stddef.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>

#include <apr_strings.h>

#include "mod_weclubs_im.h"
#include "modules/wcim_result.h"

APLOG_USE_MODULE(weclubs_im);

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
