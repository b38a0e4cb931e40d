/* The status page (SetHandler weclubs-im-status): the module's counters,
 * shared by every child, in Prometheus' text format or as a plain page,
 * with which RongCloud host each URL list uses. */

/* before APR: its ring macros need offsetof from here */
#include <stddef.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_main.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_script.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include <mod_status.h>

#include "mod_weclubs_im.h"

APLOG_USE_MODULE(weclubs_im);

/* Counters for monitoring: SetHandler weclubs-im-status. Prometheus' text
 * format, or a plain page with ?text. */
int wcim_status_handler(request_rec *r)
{
    apr_array_header_t *gauges;
    apr_hash_t *seen;
    apr_table_t *query = NULL;
    int human;
    server_rec *sp;
    const char *body;

    if (r->handler == NULL || strcmp(r->handler, WCIM_STATUS_HANDLER)) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        ap_allow_methods(r, REPLACE_ALLOW, "GET", NULL);  /* for Allow */
        return HTTP_METHOD_NOT_ALLOWED;
    }
    /* a key of the query ("?text", "?a=1&text"), not any query that
     * merely contains the word */
    ap_args_to_table(r, &query);
    human = apr_table_get(query, "text") != NULL;
    gauges = apr_array_make(r->pool, 8, sizeof(const char *));
    seen = apr_hash_make(r->pool);
    if (wcim_process.metrics == NULL) {
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
    body = wcim_metrics_render(wcim_process.metrics, human,
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

/* The module's totals in httpd's own /server-status (mod_status), as
 * mod_ssl and mod_md add theirs: "Key: value" lines in its ?auto form, a
 * section of the plain page otherwise. */
int wcim_status_hook(request_rec *r, int flags)
{
    if (wcim_process.metrics == NULL) {
        return OK;
    }
    if (flags & AP_STATUS_SHORT) {
        ap_rputs(wcim_metrics_auto(wcim_process.metrics, r->pool), r);
        return OK;
    }
    ap_rputs("<hr>\n<h2>mod_weclubs_im</h2>\n<pre>", r);
    ap_rputs(ap_escape_html(r->pool, wcim_metrics_render(
                 wcim_process.metrics, 1, NULL, r->pool)), r);
    ap_rputs("</pre>\n", r);
    return OK;
}
