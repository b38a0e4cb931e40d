#include <string.h>
#include <apr_strings.h>

#include "wcim_api.h"
#include "wcim_json.h"
#include "wcim_result.h"

apr_status_t wcim_reply_render(const char **pbody, apr_size_t *plen,
                               const wcim_reply_t *reply, apr_time_t now,
                               apr_pool_t *p)
{
    const char *data = "null";
    apr_status_t rv;
    char *body;

    if (reply->data) {
        rv = wcim_json_dump(&data, NULL, reply->data, p);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    /* The envelope is fixed text around constant messages (wcim_result.c
     * and the endpoints' own), which need no escaping; data is jansson's. */
    body = apr_psprintf(p, "{\"result_code\":%d,\"result_msg\":\"%s\","
                        "\"sys_time\":%" APR_INT64_T_FMT ",\"data\":%s}",
                        reply->result_code,
                        reply->result_msg ? reply->result_msg
                                          : wcim_result_msg(reply->result_code),
                        (apr_int64_t)apr_time_as_msec(now), data);
    *pbody = body;
    *plen = strlen(body);
    return APR_SUCCESS;
}
