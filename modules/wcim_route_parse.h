/* RongCloud message routing (全量消息路由): RongCloud posts every message to
 * the app server. This checks the post's signature and turns it into what
 * get_group_chat_list shows: a group's last message and a user's read mark.
 * Knows nothing of httpd or SQL. */
#ifndef WCIM_ROUTE_PARSE_H
#define WCIM_ROUTE_PARSE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "wcim_message.h"

#define WCIM_ROUTING_PREVIEW_MAX 120   /* bytes of a text preview, at most */

#define WCIM_ROUTING_NONCE_MAX 128
/* A signature timestamp below this is in seconds, else in milliseconds. */
#define WCIM_ROUTING_SECONDS_BELOW APR_INT64_C(100000000000)

/* APR_SUCCESS when signature == hex SHA1(app_secret + nonce + timestamp),
 * compared in constant time, and timestamp (ms, or s below 10^11; decimal
 * digits without leading zeros) is within `window` of now, and the nonce
 * has 1 to WCIM_ROUTING_NONCE_MAX bytes. Otherwise APR_EACCES, with the
 * reason in *pwhy (no secrets in it). */
apr_status_t wcim_routing_verify(const char **pwhy, const char *app_secret,
                                 const char *nonce, const char *timestamp,
                                 const char *signature, apr_time_t now,
                                 apr_interval_time_t window, apr_pool_t *p);

typedef enum {
    WCIM_ROUTED_IGNORED,     /* not a group message we show */
    WCIM_ROUTED_MESSAGE,     /* *msg filled */
    WCIM_ROUTED_READ_MARK,   /* *msg: from_user read club_id up to time */
    WCIM_ROUTED_RECALL       /* *msg: recalled_uid in club_id, preview
                                the recall label */
} wcim_routed_t;

/* The routed post's form fields (NULL when absent). */
typedef struct wcim_routed_post_t {
    const char *from_user_id;
    const char *to_user_id;
    const char *object_name;
    const char *content;
    const char *channel_type;
    const char *msg_timestamp;
    const char *msg_uid;
    const char *sensitive_type;   /* "1": RongCloud blocked it */
} wcim_routed_post_t;

/* Whether wcim_routing_post_from reads a form field of this name (the
 * others, groupUserIds above all, need not be kept). */
int wcim_routing_field_used(const char *name);

/* The routed post in a table of decoded form fields (the glue's, the
 * fuzzer's): RongCloud's field names in one place. */
void wcim_routing_post_from(wcim_routed_post_t *post, apr_table_t *form);

/* What a post is. Group messages to "im_club_id_<n>" of a type with a label
 * in `labels` (object name -> preview text, RC:TxtMsg excepted: its own
 * text is the preview) are messages; RC:SRSMsg (read sync) gives a read
 * mark at its content's lastMessageSendTime; RC:RcCmd (a recall) names
 * the recalled message (messageUId, or uId as server SDKs send it), with
 * the RC:RcCmd label as its new preview. A post RongCloud blocked for
 * sensitive words (sensitiveType 1: delivered to nobody) is ignored.
 * *pwhy says why a post was ignored, for the debug log. */
wcim_routed_t wcim_routing_classify(wcim_message_t *msg, const char **pwhy,
                                    const wcim_routed_post_t *post,
                                    apr_table_t *labels, apr_pool_t *p);

/* The default labels of non-text message types. */
void wcim_routing_default_labels(apr_table_t *labels);

#endif
