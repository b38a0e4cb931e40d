/* The counters and their pages (modules/wcim_metrics.c). */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include <jansson.h>

#include "unit_tests.h"
#include "../modules/wcim_metrics.h"

/* Label values as Prometheus' text format escapes them. */
void test_label_escape(apr_pool_t *p)
{
    CHECK(strcmp(wcim_metrics_label_escape("https://api.rong-api.com", p),
                 "https://api.rong-api.com") == 0, "a plain URL is as is");
    CHECK(strcmp(wcim_metrics_label_escape("a\\b\"c\nd", p),
                 "a\\\\b\\\"c\\nd") == 0,
          "backslash, quote and line feed escaped");
}

/* Counters counted and shown: the Prometheus page and the plain one. */
void test_metrics_render(apr_pool_t *p)
{
    void *mem = apr_pcalloc(p, wcim_metrics_size());
    wcim_metrics_t *m = wcim_metrics_init(mem);
    const char *page;

    wcim_metrics_request(m, WCIM_EP_GET_TOKEN, 2000);
    wcim_metrics_request(m, WCIM_EP_GET_TOKEN, 2000);
    wcim_metrics_request(m, WCIM_EP_GROUP_CHAT_LIST, 3010);
    wcim_metrics_cache(m, WCIM_CACHE_TOKEN, 1);
    wcim_metrics_cache(m, WCIM_CACHE_TOKEN, 0);
    wcim_metrics_cache(m, WCIM_CACHE_NONCE, 1);
    wcim_metrics_rc_call(m, WCIM_CALL_GET_TOKEN, 1, apr_time_from_msec(30));
    wcim_metrics_request(NULL, WCIM_EP_GET_TOKEN, 2000);   /* no-op */
    page = wcim_metrics_render(m, 0, "extra_gauge 1\n", p);
    CHECK(strstr(page, "weclubs_im_requests_total{endpoint=\"get_token\","
                 "result_code=\"2000\"} 2\n") != NULL, "requests counted");
    CHECK(strstr(page, "weclubs_im_requests_total{endpoint="
                 "\"get_group_chat_list\",result_code=\"3010\"} 1\n") != NULL,
          "a refusal counted under its code");
    CHECK(strstr(page, "weclubs_im_cache_requests_total{kind=\"token\","
                 "result=\"hit\"} 1\n") != NULL
          && strstr(page, "weclubs_im_cache_requests_total{kind=\"token\","
                    "result=\"miss\"} 1\n") != NULL
          && strstr(page, "weclubs_im_cache_requests_total{kind=\"nonce\","
                    "result=\"hit\"} 1\n") != NULL,
          "cache lookups by kind and result");
    CHECK(strstr(page, "weclubs_im_rongcloud_calls_total{call=\"getToken\","
                 "outcome=\"ok\"} 1\n") != NULL, "a RongCloud call counted");
    CHECK(strstr(page, "\nextra_gauge 1\n") != NULL, "the glue's gauges follow");
    page = wcim_metrics_render(m, 1, NULL, p);
    CHECK(strstr(page, "token") && strstr(page, "0.500"),
          "the plain page shows the token hit ratio");
}
