#include <string.h>
#include <apr_crypto.h>
#include <apr_strings.h>
#include <jansson.h>

#include "wcim_route_parse.h"
#include "wcim_decimal.h"
#include "wcim_digest.h"
#include "wcim_json.h"
#include "wcim_utf8.h"

#define GROUP_PREFIX "im_club_id_"
#define TEXT_TYPE "RC:TxtMsg"
#define READ_SYNC_TYPE "RC:SRSMsg"
#define RECALL_TYPE "RC:RcCmd"
#define MAX_ID_LEN 64

void wcim_routing_default_labels(apr_table_t *labels)
{
    apr_table_setn(labels, "RC:ImgMsg", "[图片]");
    apr_table_setn(labels, "RC:GIFMsg", "[动图]");
    apr_table_setn(labels, "RC:VcMsg", "[语音]");
    apr_table_setn(labels, "RC:HQVCMsg", "[语音]");
    apr_table_setn(labels, "RC:SightMsg", "[视频]");
    apr_table_setn(labels, "RC:FileMsg", "[文件]");
    apr_table_setn(labels, "RC:LBSMsg", "[位置]");
    apr_table_setn(labels, "RC:ImgTextMsg", "[图文]");
    apr_table_setn(labels, "RC:CombineMsg", "[聊天记录]");
    apr_table_setn(labels, "RC:ReferenceMsg", "[引用]");
    /* what a recalled last message shows instead */
    apr_table_setn(labels, RECALL_TYPE, "[消息已撤回]");
}

/* a time in ms, an id: digits only, at most 18 of them */
static int parse_ms(apr_int64_t *pv, const char *s)
{
    return s && wcim_decimal_parse(pv, s, strlen(s), 18) == APR_SUCCESS;
}

apr_status_t wcim_routing_verify(const char **pwhy, const char *app_secret,
                                 const char *nonce, const char *timestamp,
                                 const char *signature, apr_time_t now,
                                 apr_interval_time_t window, apr_pool_t *p)
{
    char expected[WCIM_SHA1_HEX_LEN + 1];
    const char *plain;
    apr_int64_t ts, age;

    *pwhy = NULL;
    if (!app_secret) {
        *pwhy = "WeclubsIMRongCloudAppSecret is not set";
    }
    else if (!nonce || !timestamp || !signature) {
        *pwhy = "nonce, signTimestamp or signature missing";
    }
    else if (!parse_ms(&ts, timestamp) || timestamp[0] == '0') {
        /* canonical digits only: the signature runs nonce and timestamp
         * together, so "8712340" + "T" and "871234" + "0T" sign alike */
        *pwhy = "signTimestamp is not a number without leading zeros";
    }
    else if (strlen(nonce) > WCIM_ROUTING_NONCE_MAX || !*nonce) {
        *pwhy = "nonce empty or too long";
    }
    else if (strlen(signature) != WCIM_SHA1_HEX_LEN) {
        *pwhy = "wrong signature";
    }
    else {
        plain = apr_pstrcat(p, app_secret, nonce, timestamp, NULL);
        wcim_sha1_hex(expected, plain, strlen(plain), 0);
        if (ts < WCIM_ROUTING_SECONDS_BELOW) {
            ts *= 1000;   /* older receivers and docs give seconds */
        }
        age = apr_time_as_msec(now) - ts;
        if (!apr_crypto_equals(expected, signature, WCIM_SHA1_HEX_LEN)) {
            *pwhy = "wrong signature";
        }
        else if (age > apr_time_as_msec(window)
                 || -age > apr_time_as_msec(window)) {
            *pwhy = apr_psprintf(p, "signTimestamp %" APR_INT64_T_FMT
                                 " s away from now", age / 1000);
        }
    }
    return *pwhy ? APR_EACCES : APR_SUCCESS;
}

static const char *const used_fields[] = {
    "fromUserId", "toUserId", "objectName", "content", "channelType",
    "msgTimestamp", "msgUID", "sensitiveType"
};

int wcim_routing_field_used(const char *name)
{
    apr_size_t i;

    for (i = 0; i < sizeof(used_fields) / sizeof(used_fields[0]); ++i) {
        if (strcmp(name, used_fields[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

void wcim_routing_post_from(wcim_routed_post_t *post, apr_table_t *form)
{
    post->from_user_id = apr_table_get(form, "fromUserId");
    post->to_user_id = apr_table_get(form, "toUserId");
    post->object_name = apr_table_get(form, "objectName");
    post->content = apr_table_get(form, "content");
    post->channel_type = apr_table_get(form, "channelType");
    post->msg_timestamp = apr_table_get(form, "msgTimestamp");
    post->msg_uid = apr_table_get(form, "msgUID");
    post->sensitive_type = apr_table_get(form, "sensitiveType");
}

/* A member of the JSON text `content`, or NULL. */
static json_t *content_member(const char *content, const char *name,
                              apr_pool_t *p)
{
    json_t *json;

    if (content == NULL || wcim_json_parse(&json, NULL, content,
                                           strlen(content), p) != APR_SUCCESS
        || !json_is_object(json)) {
        return NULL;
    }
    return json_object_get(json, name);
}

wcim_routed_t wcim_routing_classify(wcim_message_t *msg, const char **pwhy,
                                    const wcim_routed_post_t *post,
                                    apr_table_t *labels, apr_pool_t *p)
{
    const char *group = post->to_user_id, *label;
    apr_int64_t club;
    json_t *v;

    memset(msg, 0, sizeof(*msg));
    *pwhy = NULL;
    if (!post->channel_type || strcmp(post->channel_type, "GROUP") != 0) {
        *pwhy = "not a group message";
    }
    else if (!group || strncmp(group, GROUP_PREFIX, sizeof(GROUP_PREFIX) - 1)
             || !parse_ms(&club, group + sizeof(GROUP_PREFIX) - 1)) {
        *pwhy = "not a club's group";
    }
    else if (!post->from_user_id || !*post->from_user_id
             || strlen(post->from_user_id) > MAX_ID_LEN
             || !post->object_name || !post->msg_uid || !*post->msg_uid
             || strlen(post->msg_uid) > MAX_ID_LEN
             || !parse_ms(&msg->time, post->msg_timestamp)) {
        *pwhy = "fromUserId, objectName, msgUID or msgTimestamp missing or "
                "malformed";
    }
    else if (post->sensitive_type && strcmp(post->sensitive_type, "1") == 0) {
        /* blocked for sensitive words: RongCloud delivered it to nobody,
         * so it is nobody's last message nor unread. 2 (words replaced)
         * was delivered, its content as routed already replaced, and is
         * stored like any other (docs.rongcloud.cn platform-chat-api
         * message/sync; support.rongcloud.cn kb NjQz) */
        *pwhy = "blocked by RongCloud for sensitive words (sensitiveType 1)";
    }
    if (*pwhy) {
        return WCIM_ROUTED_IGNORED;
    }
    msg->club_id = club;
    msg->from_user = post->from_user_id;
    msg->object_name = post->object_name;
    msg->uid = post->msg_uid;

    if (strcmp(post->object_name, READ_SYNC_TYPE) == 0) {
        v = content_member(post->content, "lastMessageSendTime", p);
        if (!json_is_integer(v) || json_integer_value(v) < 0) {
            *pwhy = "read sync without lastMessageSendTime";
            return WCIM_ROUTED_IGNORED;
        }
        msg->time = (apr_int64_t)json_integer_value(v);
        return WCIM_ROUTED_READ_MARK;
    }
    if (strcmp(post->object_name, RECALL_TYPE) == 0) {
        /* the clients' recall names messageUId (RongCloud's Web SDK,
         * RecallCommandMessage); the server SDKs' recall API sends uId
         * (rongcloud/server-sdk-php, Message recall example) */
        v = content_member(post->content, "messageUId", p);
        if (!json_is_string(v)) {
            v = content_member(post->content, "uId", p);
        }
        label = apr_table_get(labels, RECALL_TYPE);
        if (!json_is_string(v) || !*json_string_value(v)
            || strlen(json_string_value(v)) > MAX_ID_LEN || !label) {
            *pwhy = "recall without the recalled message's id";
            return WCIM_ROUTED_IGNORED;
        }
        msg->recalled_uid = apr_pstrdup(p, json_string_value(v));
        msg->preview = label;
        return WCIM_ROUTED_RECALL;
    }
    if (strcmp(post->object_name, TEXT_TYPE) == 0) {
        v = content_member(post->content, "content", p);
        if (!json_is_string(v)) {
            *pwhy = "text message without text";
            return WCIM_ROUTED_IGNORED;
        }
        /* jansson's strings are valid UTF-8: cut on a character */
        msg->preview = wcim_utf8_cut(json_string_value(v),
                                     WCIM_ROUTING_PREVIEW_MAX, WCIM_UTF8_ANY,
                                     p);
        return WCIM_ROUTED_MESSAGE;
    }
    label = apr_table_get(labels, post->object_name);
    if (label == NULL) {
        *pwhy = "a message type that is not shown (no WeclubsIMMessageLabel)";
        return WCIM_ROUTED_IGNORED;
    }
    msg->preview = label;
    return WCIM_ROUTED_MESSAGE;
}
