#include <string.h>
#include <apr_strings.h>

#include "wcim_reply.h"
#include "wcim_buf.h"
#include "wcim_json.h"
#include "wcim_result.h"

apr_status_t wcim_reply_render(const char **pbody, apr_size_t *plen,
                               const wcim_reply_t *reply, apr_time_t now,
                               apr_pool_t *p)
{
    wcim_buf_t body;
    char head[160];
    int n;

    /* The envelope is fixed text around constant messages (wcim_result.c
     * and the endpoints' own), which need no escaping; data is jansson's,
     * serialised straight into the same buffer. */
    n = apr_snprintf(head, sizeof(head), "{\"result_code\":%d,\"result_msg\":"
                     "\"%s\",\"sys_time\":%" APR_INT64_T_FMT ",\"data\":",
                     reply->result_code,
                     reply->result_msg ? reply->result_msg
                                       : wcim_result_msg(reply->result_code),
                     (apr_int64_t)apr_time_as_msec(now));
    wcim_buf_init(&body, p, 512);
    wcim_buf_append(&body, head, (apr_size_t)n);
    if (reply->data_text) {
        wcim_buf_append(&body, reply->data_text, strlen(reply->data_text));
    }
    else if (reply->data == NULL) {
        wcim_buf_append(&body, "null", 4);
    }
    else if (wcim_json_append(&body, reply->data) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    wcim_buf_append(&body, "}", 1);
    *pbody = body.data;
    *plen = body.len;
    return APR_SUCCESS;
}
