/* The settings the core reads, resolved from the directives by the glue. */
#ifndef WCIM_CONFIG_H
#define WCIM_CONFIG_H

#include <apr_tables.h>

#include "wcim_rongcloud.h"

typedef struct wcim_config_t {
    const char *sign_secret;
    apr_size_t sign_secret_len;
    int sign_forms;                 /* WCIM_SIGN_FORM_* bits */
    int sign_check;                 /* 0: development only, no signatures */
    apr_array_header_t *callers;    /* allowed client.caller values */
    apr_int64_t token_lifetime_ms;  /* 0: tokens never expire */
    wcim_rc_config_t rc;
    int group_sync;
    apr_size_t max_body;
} wcim_config_t;

/* Log levels, the same numbers as httpd's APLOG_*. */
#define WCIM_LOG_ERR     3
#define WCIM_LOG_WARNING 4
#define WCIM_LOG_INFO    6
#define WCIM_LOG_DEBUG   7

/* Our own log tags, in the manner of httpd's APLOGNO. */
#define WCIMLOGNO(n) "WCIM" #n ": "

#endif
