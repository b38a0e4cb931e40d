/* The unit tests' runner (tests/unit_tests.c) and the files of tests it
 * runs: one CHECK, one count. */
#ifndef WCIM_UNIT_TESTS_H
#define WCIM_UNIT_TESTS_H

#include <stdio.h>
#include <apr_pools.h>

extern int passed, failed;

#define CHECK(cond, what)                                                 \
    do {                                                                  \
        if (cond) { ++passed; }                                           \
        else { ++failed; fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__,   \
                                 __LINE__, what); }                       \
    } while (0)

/* tests/test_api.c: wcim_api_call end to end on in-memory SQLite */
void test_api(apr_pool_t *p);

#endif
