/* The settings the core reads, resolved from the directives by the glue. */
#ifndef WCIM_CONFIG_H
#define WCIM_CONFIG_H

#include <apr_tables.h>

#include "wcim_log.h"
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
    apr_size_t callback_max_body;   /* a message routing post, at most */
    apr_interval_time_t cache_ttl;  /* how long cached entries live */
    int messages;                   /* message routing fills the list */
    apr_table_t *message_labels;    /* object name -> preview label */
    apr_interval_time_t message_max_age;  /* stored messages are pruned */
    apr_interval_time_t callback_window;  /* accepted clock difference */
    int token_store_db;             /* RongCloud tokens kept in a table too */
    apr_interval_time_t rc_token_lifetime; /* RongCloud tokens older (less
                                    * a margin) are never served; 0: off */
    apr_interval_time_t token_recheck;     /* a get_token this soon after
                                    * the last gets a fresh token; 0: off */
    apr_interval_time_t reconcile_interval; /* between reconciliation
                                    * passes (with token_store_db); 0: off */
    double token_prefetch;          /* tokens fetched a second ahead of
                                    * students' first get_token; 0: off */
} wcim_config_t;

#endif
