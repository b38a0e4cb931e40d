/* The unit tests' runner (tests/unit_tests.c) and the files of tests it
 * runs: one CHECK, one count. */
#ifndef WCIM_UNIT_TESTS_H
#define WCIM_UNIT_TESTS_H

#include <stdio.h>
#include <apr_pools.h>

/* Every check goes through unit_check, which alone counts (its counters
 * are the runner's, not visible here): a test cannot shadow or forget
 * them. A test must not print "FAIL " lines of its own except through it;
 * the runner fails on any it reads anyway. */
void unit_check(int ok, const char *file, int line, const char *what);

/* the condition first: a message may read what it set (arguments of one
 * call are evaluated in no set order) */
#define CHECK(cond, what) do {                                        \
        int check_ok_ = (cond) ? 1 : 0;                               \
        unit_check(check_ok_, __FILE__, __LINE__, (what));            \
    } while (0)

/* the weclubs secret of protocol.md section 3, and the seed's token of
 * user 38 (caller chrome_test) */
#define SECRET "8924d49e61e1dc9e1618d3bae21ea493"
#define SEED_TOKEN \
    "NmQ1NTY2MjY2MTUxZDM4ZjE0YTM5ZWJhYmE5NTIwMDRfZGF0ZT0xNDkxODk4NzM5MDk4"

/* one file of tests per core file */
void test_sign(apr_pool_t *p);          /* test_sign.c */
void test_envelope(apr_pool_t *p);      /* test_envelope.c */
void test_token(apr_pool_t *p);         /* test_token.c */
void test_reply(apr_pool_t *p);         /* test_reply.c */
void test_json_string(apr_pool_t *p);   /* test_reply.c */
void test_json_string_jansson(apr_pool_t *p);   /* test_reply.c */
void test_buf_bound(apr_pool_t *p);     /* test_reply.c */
void test_routing(apr_pool_t *p);       /* test_routing.c */
void test_form(apr_pool_t *p);          /* test_form.c */
void test_cache_id(apr_pool_t *p);      /* test_cache.c */
void test_label_escape(apr_pool_t *p);  /* test_metrics.c */
void test_metrics_render(apr_pool_t *p);
void test_flight(apr_pool_t *p);        /* test_flight.c */
void test_decimal(apr_pool_t *p);       /* test_decimal.c */
void test_sql_check(apr_pool_t *p);     /* test_store.c */
void test_store_writes(apr_pool_t *p);  /* test_store.c: routing writes */
void test_ratelimit(apr_pool_t *p);     /* test_ratelimit.c */
void test_rc_limits(apr_pool_t *p);     /* test_rongcloud.c */
void test_rc_name_fit(apr_pool_t *p);   /* test_rongcloud.c */
/* test_rc_calls.c: the calls over a fake HTTP transport */
void test_rc_calls(apr_pool_t *p);
void test_utf8_cut(apr_pool_t *p);      /* test_utf8.c */
/* test_api.c: wcim_api_call end to end on in-memory SQLite */
void test_api(apr_pool_t *p);

#endif
