/* An answer of the API: its result code, message and data, and its bytes
 * on the wire (protocol.md section 1). */
#ifndef WCIM_REPLY_H
#define WCIM_REPLY_H

#include <apr_pools.h>
#include <apr_time.h>
#include <jansson.h>

typedef struct wcim_reply_t {
    int result_code;
    const char *result_msg;         /* NULL: the code's standard message */
    json_t *data;                   /* NULL: JSON null */
    const char *data_text;          /* or the data member's JSON text */
} wcim_reply_t;

/* The answer's bytes: {"result_code":…,"result_msg":…,"sys_time":…,"data":…} */
apr_status_t wcim_reply_render(const char **pbody, apr_size_t *plen,
                               const wcim_reply_t *reply, apr_time_t now,
                               apr_pool_t *p);

#endif
