/* Unit tests of the core (modules/), without httpd: the runner. Each
 * tests/test_<file>.c pins down one core file; prints "N passed, N
 * failed". */
#include <stdio.h>
#include <apr_general.h>

#include "unit_tests.h"

int passed, failed;

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_sign(p);
    test_envelope(p);
    test_token(p);
    test_reply(p);
    test_routing(p);
    test_json_string(p);
    test_json_string_jansson(p);
    test_cache_id(p);
    test_label_escape(p);
    test_metrics_render(p);
    test_flight(p);
    test_decimal(p);
    test_ratelimit(p);
    test_sql_check(p);
    test_rc_limits(p);
    test_rc_name_fit(p);
    test_utf8_cut(p);
    test_api(p);
    apr_pool_destroy(p);
    apr_terminate();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
