/* The health check (SetHandler weclubs-im-health), for a balancer such as
 * mod_proxy_hcheck: 200 when this node can serve (the module's own token
 * statement answers on a mod_dbd connection, through the store as any
 * request has it; the cache, when there is one, answers), 503 with a short
 * JSON reason when not. Never calls RongCloud. */

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
#include "modules/wcim_buf.h"
#include "modules/wcim_json.h"

APLOG_USE_MODULE(weclubs_im);

#define HEALTH_CACHE_KEY "health:probe"

/* NULL when the module's own token statement answers (for a user that
 * does not exist) on a mod_dbd connection of this server: the connection,
 * the tables and the prepared statements are then as a request needs them. */
static const char *database_problem(request_rec *r)
{
    wcim_ctx_t *ctx = wcim_request_ctx(r, ap_get_module_config(
                          r->server->module_config, &weclubs_im_module),
                      apr_time_now());
    wcim_store_t *store;
    wcim_token_row_t row;
    const char *why = NULL;
    apr_status_t rv;

    if (ctx->store_open(&store, &why, ctx->store_baton) != APR_SUCCESS) {
        return why ? why : "no database connection";
    }
    rv = wcim_store_token_get(&row, &why, store, "0", "-", r->pool);
    return rv == APR_SUCCESS || rv == APR_NOTFOUND
           ? NULL : (why ? why : "the token statement failed");
}

/* NULL when the cache takes an entry and gives it back ("none" is fine).
 * A write, not a read: mod_socache_redis answers a read that failed as a
 * miss. */
static const char *cache_problem(request_rec *r)
{
    wcim_cache_t *cache = wcim_cache_for(r);
    const char *value = NULL;

    if (cache == NULL) {
        return NULL;
    }
    if (cache->put(cache, HEALTH_CACHE_KEY, "1", apr_time_from_sec(60),
                   r->pool) != APR_SUCCESS
        || cache->get(cache, HEALTH_CACHE_KEY, &value, r->pool)
           != APR_SUCCESS) {
        return "the cache does not answer";
    }
    return NULL;
}

int wcim_health_handler(request_rec *r)
{
    const char *db, *cache;
    wcim_buf_t b;
    int status;

    if (r->handler == NULL || strcmp(r->handler, WCIM_HEALTH_HANDLER)) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        ap_allow_methods(r, REPLACE_ALLOW, "GET", NULL);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    db = database_problem(r);
    cache = cache_problem(r);
    status = db || cache ? HTTP_SERVICE_UNAVAILABLE : HTTP_OK;
    if (status != HTTP_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, WCIMLOGNO(0500)
                      "health check: unavailable (database: %s; cache: %s)",
                      db ? db : "ok", cache ? cache : "ok");
    }
    wcim_buf_init(&b, r->pool, 128);
    wcim_buf_append(&b, "{\"status\":", 10);
    wcim_json_append_string(&b, status == HTTP_OK ? "ok" : "unavailable");
    wcim_buf_append(&b, ",\"database\":", 12);
    wcim_json_append_string(&b, db ? db : "ok");
    wcim_buf_append(&b, ",\"cache\":", 9);
    wcim_json_append_string(&b, cache ? cache : wcim_cache_for(r) ? "ok"
                                                                 : "none");
    wcim_buf_append(&b, "}\n", 2);
    r->status = status;
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_set_content_type(r, WCIM_CONTENT_TYPE);
    ap_set_content_length(r, b.len);
    if (!r->header_only) {
        ap_rwrite(b.data, (int)b.len, r);
    }
    return OK;
}
