/* Message routing posts (modules/wcim_route_parse.c): the signature and what
 * a post is. */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include <jansson.h>

#include "unit_tests.h"
#include "../modules/wcim_digest.h"
#include "../modules/wcim_route_parse.h"

void test_routing(apr_pool_t *p)
{
    apr_table_t *labels = apr_table_make(p, 4);
    wcim_routed_post_t post = { "im_user_id_7", "im_club_id_12", "RC:TxtMsg",
                                "{\"content\":\"hi\"}", "GROUP",
                                "1700000000000", "UID1" };
    wcim_message_t msg;
    const char *why;
    apr_time_t now = apr_time_from_msec(APR_INT64_C(1700000000000));
    char sig[41], long_text[300];
    const char *plain = "sec" "n1" "1700000000000";
    int i;

    wcim_sha1_hex(sig, plain, strlen(plain), 0);
    CHECK(wcim_routing_verify(&why, "sec", "n1", "1700000000000", sig, now,
                              apr_time_from_sec(300), p) == APR_SUCCESS,
          "callback signature accepted");
    CHECK(wcim_routing_verify(&why, "other", "n1", "1700000000000", sig, now,
                              apr_time_from_sec(300), p) == APR_EACCES,
          "callback signed with another secret refused");
    CHECK(wcim_routing_verify(&why, "sec", "n1", "1700000000000", sig,
                              now + apr_time_from_sec(301),
                              apr_time_from_sec(300), p) == APR_EACCES,
          "stale callback refused");
    CHECK(wcim_routing_verify(&why, "sec", NULL, "1700000000000", sig, now,
                              apr_time_from_sec(300), p) == APR_EACCES,
          "callback without nonce refused");

    wcim_routing_default_labels(labels);
    CHECK(wcim_routing_classify(&msg, &why, &post, labels, p)
          == WCIM_ROUTED_MESSAGE && msg.club_id == 12
          && strcmp(msg.preview, "hi") == 0
          && msg.time == APR_INT64_C(1700000000000), "text message");
    post.object_name = "RC:ImgMsg";
    CHECK(wcim_routing_classify(&msg, &why, &post, labels, p)
          == WCIM_ROUTED_MESSAGE && strcmp(msg.preview, "[图片]") == 0,
          "image label");
    post.object_name = "RC:TypSts";
    CHECK(wcim_routing_classify(&msg, &why, &post, labels, p)
          == WCIM_ROUTED_IGNORED, "typing status ignored");
    post.object_name = "RC:SRSMsg";
    post.content = "{\"lastMessageSendTime\":1699999999000}";
    CHECK(wcim_routing_classify(&msg, &why, &post, labels, p)
          == WCIM_ROUTED_READ_MARK
          && msg.time == APR_INT64_C(1699999999000), "read sync");
    post.object_name = "RC:TxtMsg";
    post.to_user_id = "im_club_id_x";
    CHECK(wcim_routing_classify(&msg, &why, &post, labels, p)
          == WCIM_ROUTED_IGNORED, "not a club group");
    post.to_user_id = "im_club_id_12";
    post.channel_type = "PERSON";
    CHECK(wcim_routing_classify(&msg, &why, &post, labels, p)
          == WCIM_ROUTED_IGNORED, "private message ignored");
    post.channel_type = "GROUP";
    strcpy(long_text, "{\"content\":\"");
    for (i = 0; i < 50; ++i) {
        strcat(long_text, "长");   /* 3 bytes each */
    }
    strcat(long_text, "\"}");
    post.content = long_text;
    CHECK(wcim_routing_classify(&msg, &why, &post, labels, p)
          == WCIM_ROUTED_MESSAGE && strlen(msg.preview) == 120,
          "long text cut at a character boundary");
    strcpy(long_text, "{\"content\":\"a");
    for (i = 0; i < 50; ++i) {
        strcat(long_text, "长");
    }
    strcat(long_text, "\"}");
    CHECK(wcim_routing_classify(&msg, &why, &post, labels, p)
          == WCIM_ROUTED_MESSAGE && strlen(msg.preview) == 118,
          "a cut never splits a character");
    post.content = "{\"content\":\"hi\"}";
    post.sensitive_type = "1";
    CHECK(wcim_routing_classify(&msg, &why, &post, labels, p)
          == WCIM_ROUTED_IGNORED, "blocked for sensitive words: ignored");
    post.sensitive_type = "2";
    CHECK(wcim_routing_classify(&msg, &why, &post, labels, p)
          == WCIM_ROUTED_MESSAGE, "sensitive words replaced: a message");
    post.sensitive_type = "0";
    CHECK(wcim_routing_classify(&msg, &why, &post, labels, p)
          == WCIM_ROUTED_MESSAGE, "sensitiveType 0: a message");
    /* only 1 is "blocked": a value that merely begins with 1 is not */
    post.sensitive_type = "10";
    CHECK(wcim_routing_classify(&msg, &why, &post, labels, p)
          == WCIM_ROUTED_MESSAGE, "sensitiveType 10 is not 1: a message");
    post.sensitive_type = "";
    CHECK(wcim_routing_classify(&msg, &why, &post, labels, p)
          == WCIM_ROUTED_MESSAGE, "sensitiveType empty: a message");
    post.sensitive_type = NULL;
    CHECK(wcim_routing_field_used("sensitiveType"), "sensitiveType is read");
}
