/* RongCloud's message routing posts (SetHandler weclubs-im-callback): the
 * signature checked before any of the body is read, the form read within
 * WeclubsIMCallbackMaxBody, the post stored by the core, a short plain
 * answer; old messages pruned after the answer, at most once a minute. */

/* before APR: its ring macros need offsetof from here */
#include <stddef.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <util_script.h>

#include <apr_atomic.h>
#include <apr_strings.h>

#include "mod_weclubs_im.h"
#include "modules/wcim_form.h"

APLOG_USE_MODULE(weclubs_im);

/* A short plain-text answer, for RongCloud's callbacks. */
static int callback_answer(request_rec *r, int status, const char *text)
{
    wcim_metrics_callback(wcim_process.metrics, status);
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
int wcim_callback_handler(request_rec *r)
{
    wcim_srv_conf_t *sc;
    wcim_ctx_t *ctx;
    wcim_routed_post_t post;
    wcim_routed_t kind;
    apr_table_t *query = NULL, *form;
    apr_size_t len, fields, max_fields;
    apr_status_t rv;
    char *body;
    int too_large;
    apr_time_t now = apr_time_now();
    apr_uint64_t last;
    apr_off_t clen;
    const char *nonce, *ts, *sig, *cl, *app_key;
    int status;

    if (r->handler == NULL || strcmp(r->handler, WCIM_CALLBACK_HANDLER)) {
        return DECLINED;
    }
    sc = ap_get_module_config(r->server->module_config, &weclubs_im_module);
    if (!sc->c.messages) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, WCIMLOGNO(0250)
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
    ctx = wcim_request_ctx(r, sc, now);
    if (wcim_api_route_check(ctx, nonce, ts, sig) != APR_SUCCESS) {
        r->connection->keepalive = AP_CONN_CLOSE;
        return callback_answer(r, HTTP_UNAUTHORIZED, "signature error\n");
    }
    /* newer callbacks name the App Key beside the signature (RongCloud's
     * auth-callback docs; SealTalk's RCSignInterceptor refuses a wrong
     * one): another app's post is refused as its signature would be.
     * Checked after the signature, so only a signed post is logged; with
     * no WeclubsIMRongCloudAppKey set there is nothing to compare. */
    app_key = apr_table_get(query, "appKey");
    if (app_key && sc->c.rc.app_key && strcmp(app_key, sc->c.rc.app_key)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, WCIMLOGNO(0255)
                      "message routing post refused: its appKey is not "
                      "WeclubsIMRongCloudAppKey");
        r->connection->keepalive = AP_CONN_CLOSE;
        return callback_answer(r, HTTP_UNAUTHORIZED, "signature error\n");
    }
    cl = apr_table_get(r->headers_in, "Content-Length");
    if (cl && ap_parse_strict_length(&clen, cl)
        && clen > (apr_off_t)sc->c.callback_max_body) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, WCIMLOGNO(0251)
                      "message routing post of %s bytes refused: over "
                      "WeclubsIMCallbackMaxBody (%" APR_SIZE_T_FMT ")", cl,
                      sc->c.callback_max_body);
        r->connection->keepalive = AP_CONN_CLOSE;
        return callback_answer(r, HTTP_REQUEST_ENTITY_TOO_LARGE,
                               "too large\n");
    }
    /* the body read here, every byte counted (separators, chunked ones),
     * into one buffer; its fields decoded in place (ap_parse_form_data
     * counted only names and values: a brigade per `=&`) */
    rv = wcim_read_body(&body, &len, &too_large, r, sc->c.callback_max_body);
    if (rv != APR_SUCCESS) {
        status = ap_map_http_request_error(rv, HTTP_BAD_REQUEST);
        if (status == AP_FILTER_ERROR) {
            return status;   /* a filter has answered already */
        }
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, WCIMLOGNO(0252)
                      "message routing post refused with HTTP %d: its body "
                      "could not be read", status);
        r->connection->keepalive = AP_CONN_CLOSE;
        return callback_answer(r, status, "bad form\n");
    }
    if (too_large) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, WCIMLOGNO(0253)
                      "message routing post refused: more than %"
                      APR_SIZE_T_FMT " bytes (WeclubsIMCallbackMaxBody)",
                      sc->c.callback_max_body);
        r->connection->keepalive = AP_CONN_CLOSE;
        return callback_answer(r, HTTP_REQUEST_ENTITY_TOO_LARGE,
                               "too large\n");
    }
    max_fields = WCIM_FORM_MAX_FIELDS(sc->c.callback_max_body);
    if (wcim_form_parse(&form, &fields, body, len, max_fields,
                        wcim_routing_field_used, r->pool) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, WCIMLOGNO(0254)
                      "message routing post refused: more than %"
                      APR_SIZE_T_FMT " fields (WeclubsIMCallbackMaxBody / %d)",
                      max_fields, WCIM_FORM_FIELD_BYTES);
        r->connection->keepalive = AP_CONN_CLOSE;
        return callback_answer(r, HTTP_REQUEST_ENTITY_TOO_LARGE,
                               "too many fields\n");
    }
    wcim_routing_post_from(&post, form);

    rv = wcim_api_route(&kind, ctx, &post);
    if (rv == APR_EACCES) {
        /* a replay: another post took its nonce */
        r->connection->keepalive = AP_CONN_CLOSE;
        return callback_answer(r, HTTP_UNAUTHORIZED, "signature error\n");
    }
    if (APR_STATUS_IS_EAGAIN(rv)) {
        /* replay protection cannot be checked: RongCloud tries again */
        return callback_answer(r, HTTP_SERVICE_UNAVAILABLE, "try again\n");
    }
    if (rv != APR_SUCCESS) {
        return callback_answer(r, HTTP_INTERNAL_SERVER_ERROR, "error\n");
    }
    last = apr_atomic_read64(&last_prune);
    if (now - (apr_time_t)last > PRUNE_INTERVAL
        && apr_atomic_cas64(&last_prune, (apr_uint64_t)now, last) == last) {
        /* this request prunes, after its answer: wcim_after_answer */
        ctx->prune_due = 1;
        ap_set_module_config(r->request_config, &weclubs_im_module, ctx);
    }
    return callback_answer(r, HTTP_OK, "ok");
}

