/* One call per key at a time (modules/wcim_flight.c), on one thread: a
 * call's result comes back, calls one after the other each run. The
 * concurrent case is tests/tsan_flight.c, under ThreadSanitizer. */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>

#include "unit_tests.h"
#include "../modules/wcim_flight.h"

static apr_status_t answer_of(const char **presult, void *baton,
                              apr_pool_t *p)
{
    int *runs = baton;

    ++*runs;
    *presult = apr_psprintf(p, "run %d", *runs);
    return *runs == 3 ? APR_EGENERAL : APR_SUCCESS;
}

void test_flight(apr_pool_t *p)
{
    wcim_flight_t *f = NULL;
    const char *result = NULL;
    int shared = -1, runs = 0;
    apr_status_t rv;

    CHECK(wcim_flight_create(&f, p) == APR_SUCCESS && f, "flight created");
    if (f == NULL) {
        return;
    }
    rv = wcim_flight_do(&result, &shared, f, "k", apr_time_now()
                        + apr_time_from_sec(1), answer_of, &runs, p);
    CHECK(rv == APR_SUCCESS && result && strcmp(result, "run 1") == 0
          && shared == 0, "a call runs and gives its result");
    rv = wcim_flight_do(&result, &shared, f, "k", apr_time_now()
                        + apr_time_from_sec(1), answer_of, &runs, p);
    CHECK(rv == APR_SUCCESS && strcmp(result, "run 2") == 0 && !shared,
          "a later call for the same key runs again (nothing is cached)");
    rv = wcim_flight_do(&result, &shared, f, "other", apr_time_now()
                        + apr_time_from_sec(1), answer_of, &runs, p);
    CHECK(rv == APR_EGENERAL, "a call's failure comes back as it is");
}
