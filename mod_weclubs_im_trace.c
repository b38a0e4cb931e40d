/* TRACE under the module's handlers: answered as any other method but
 * POST is (405 with the JSON envelope, or the callback's plain text),
 * not echoed by httpd. */

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

APLOG_USE_MODULE(weclubs_im);

/* httpd answers TRACE itself, before any handler (http_core's
 * map_to_storage hook echoes the request back, unless TraceEnable off).
 * Under our handlers, TRACE gets the answer of any other method but POST:
 * 405 with the JSON envelope (3100) or RongCloud's plain text. No section
 * has been walked yet, so the handler is the one httpd resolves for the
 * URI in a lookup (every section: <Location>, <Directory>, <Files>, <If>;
 * AddHandler; other modules' fixups), made for TRACE only and never run.
 * A lookup refused (access control) has no handler: left to httpd. */
int wcim_trace(request_rec *r)
{
    const char *uri, *handler;
    request_rec *sub;
    int rc;

    if (r->method_number != M_TRACE || r->proxyreq) {
        return DECLINED;
    }
    /* a GET lookup (no TRACE of its own), of the URI as the request has
     * it: escaped again, as the lookup decodes it */
    uri = ap_escape_uri(r->pool, r->uri);
    if (r->args) {
        uri = apr_pstrcat(r->pool, uri, "?", r->args, NULL);
    }
    sub = ap_sub_req_lookup_uri(uri, r, NULL);
    if (sub->status == HTTP_OK && sub->handler
        && strcmp(sub->handler, WCIM_HANDLER) == 0) {
        handler = WCIM_HANDLER;
    }
    else if (sub->status == HTTP_OK && sub->handler
             && strcmp(sub->handler, WCIM_CALLBACK_HANDLER) == 0) {
        handler = WCIM_CALLBACK_HANDLER;
    }
    else {
        /* not ours: leave the request as httpd had it */
        ap_destroy_sub_req(sub);
        return DECLINED;
    }
    /* the request's sections as the lookup found them (its pool lives
     * as long as the request's) */
    r->per_dir_config = sub->per_dir_config;
    r->handler = handler;
    rc = strcmp(handler, WCIM_HANDLER) == 0 ? wcim_handler(r)
                                            : wcim_callback_handler(r);
    /* answered: the rest of the request cycle is skipped, as after
     * core's own TRACE answer */
    return rc == OK ? DONE : rc;
}
