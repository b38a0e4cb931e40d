/* Decimal integers (modules/wcim_decimal.c). */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include <jansson.h>

#include "unit_tests.h"
#include "../modules/wcim_decimal.h"

/* The core's one parser of decimal integers. */
void test_decimal(apr_pool_t *p)
{
    static const struct { const char *in; apr_size_t max; int ok;
                          apr_int64_t v; } cases[] = {
        { "0", 18, 1, 0 },
        { "1491898739098", 18, 1, APR_INT64_C(1491898739098) },
        { "9223372036854775807", 19, 1, APR_INT64_C(9223372036854775807) },
        { "9223372036854775808", 19, 0, 0 },          /* over 64 bits */
        { "99999999999999999999", 20, 0, 0 },
        { "1234", 3, 0, 0 },                          /* too many digits */
        { "", 18, 0, 0 },
        { "+1", 18, 0, 0 }, { "-1", 18, 0, 0 }, { " 1", 18, 0, 0 },
        { "1a", 18, 0, 0 }, { "1.0", 18, 0, 0 },
    };
    apr_size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        apr_int64_t v = -1;
        apr_status_t rv = wcim_decimal_parse(&v, cases[i].in,
                                             strlen(cases[i].in),
                                             cases[i].max);
        CHECK((rv == APR_SUCCESS) == cases[i].ok
              && (!cases[i].ok || v == cases[i].v),
              apr_psprintf(p, "decimal \"%s\" (max %d)", cases[i].in,
                           (int)cases[i].max));
    }
}
