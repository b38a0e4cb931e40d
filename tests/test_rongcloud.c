/* The RongCloud client (modules/wcim_rongcloud.c): its time limits and
 * names cut to what RongCloud accepts. */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>

#include "unit_tests.h"
#include "../modules/wcim_rongcloud.h"

/* RongCloud's time limits at their defaults, with a backup host: an answer
 * that takes 3 s still fits the first attempt, and a host that never
 * completes a connection costs about a second before the backup is asked,
 * which then has the rest. */
void test_rc_limits(apr_pool_t *p)
{
    wcim_rc_config_t conf;
    apr_interval_time_t total, connect;

    memset(&conf, 0, sizeof(conf));
    conf.timeout = WCIM_RC_DEFAULT_TIMEOUT;
    conf.connect_timeout = WCIM_RC_DEFAULT_CONNECT_TIMEOUT;
    wcim_rc_attempt_limits(&total, &connect, &conf, conf.timeout, 2, 2);
    CHECK(total > apr_time_from_sec(3),
          apr_psprintf(p, "first of two attempts at the defaults: %" APR_TIME_T_FMT
                       " ms for a 3 s answer", apr_time_as_msec(total)));
    CHECK(connect <= apr_time_from_sec(1),
          apr_psprintf(p, "first of two attempts at the defaults: connection "
                       "set-up within %" APR_TIME_T_FMT " ms, not 1 s",
                       apr_time_as_msec(connect)));
    wcim_rc_attempt_limits(&total, &connect, &conf,
                           conf.timeout - apr_time_from_sec(1), 1, 2);
    CHECK(total == conf.timeout - apr_time_from_sec(1)
          && connect == conf.connect_timeout,
          "the backup after a dead host: all the time left, 1 s to connect");
    /* a connection limit never outlasts the attempt */
    wcim_rc_attempt_limits(&total, &connect, &conf, apr_time_from_msec(300),
                           1, 2);
    CHECK(total == apr_time_from_msec(300) && connect == total,
          "300 ms left: connection set-up within them");
    /* one URL: no host to fail over to, so the connection may take the
     * attempt's time; a SYN lost once (a full listen queue) is sent again
     * after Linux's 1 s, which a 1 s limit never waits for (issue 22: the
     * storm's "curl 28: Failed to connect ... after 1001 ms", 3000) */
    conf.timeout = apr_time_from_sec(2);
    wcim_rc_attempt_limits(&total, &connect, &conf, conf.timeout, 1, 1);
    CHECK(total == conf.timeout && connect == total,
          apr_psprintf(p, "one host, 2 s: connection set-up within the 2 s, "
                       "not %" APR_TIME_T_FMT " ms",
                       apr_time_as_msec(connect)));
}

/* Names cut for RongCloud's 64 bytes: never inside a UTF-8 character. */
void test_rc_utf8_cut(apr_pool_t *p)
{
    const char *zhang22 = apr_pstrcat(p, "ab", "张张张张张张张张张张张张张张张张张张张张张张",
                                      NULL);   /* 2 + 22 x 3 = 68 bytes */
    const char *cut = wcim_rc_utf8_cut(zhang22, 64, p);

    CHECK(strcmp(cut, "ab张张张张张张张张张张张张张张张张张张张张") == 0,
          apr_psprintf(p, "68 bytes of 张: cut to 62, got %d bytes",
                       (int)strlen(cut)));
    CHECK(strcmp(wcim_rc_utf8_cut("abc", 64, p), "abc") == 0, "short: kept");
    cut = wcim_rc_utf8_cut(apr_pstrcat(p, "xxx", "\xF0\x9F\x98\x80", NULL),
                           5, p);
    CHECK(strcmp(cut, "xxx") == 0, "a 4-byte character across the cut: left out");
    cut = wcim_rc_utf8_cut(apr_pstrcat(p, "xxxx", "\xF0\x9F\x98\x80", NULL),
                           8, p);
    CHECK(strlen(cut) == 8, "exactly 8 bytes: kept whole");
}

