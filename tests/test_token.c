/* User tokens (modules/wcim_login_token.c): decoding and the check against the
 * stored row. */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include <jansson.h>

#include "unit_tests.h"
#include "../modules/wcim_result.h"
#include "../modules/wcim_login_token.h"
#include "../modules/wcim_digest.h"

/* The comparison of a given token with the stored one. */
static void test_secret_equals(apr_pool_t *pool)
{
    static const struct {
        const char *given, *secret;
        int equal;
    } cases[] = {
        { "abc", "abc", 1 },
        { "", "", 1 },
        { "abd", "abc", 0 },
        { "xbc", "abc", 0 },
        { "ab", "abc", 0 },            /* a prefix of the secret */
        { "abca", "abc", 0 },          /* the secret and one more byte */
        { "abcabc", "abc", 0 },
        { "aaaa", "a", 0 },            /* past the end: the first byte */
        { "", "abc", 0 },
        { "a", "", 0 },
        { SEED_TOKEN, SEED_TOKEN, 1 },
        /* longer than 16 bytes, differing only past the 16th (issue 27:
         * a comparison that stopped at 16 bytes let these through) */
        { "0123456789abcdefX", "0123456789abcdefY", 0 },
        { "0123456789abcdef0123456789abcdeF", "0123456789abcdef0123456789abcdef", 0 },
    };
    char secret[] = "8924d49e61e1dc9e1618d3bae21ea493_date=1491898739098";
    apr_size_t i, n = strlen(secret), missed = 0;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        CHECK(wcim_secret_equals(cases[i].given, strlen(cases[i].given),
                                 cases[i].secret, strlen(cases[i].secret))
              == cases[i].equal, cases[i].given);
    }
    /* one byte changed, at every place of a 51-byte secret, is told */
    for (i = 0; i < n; ++i) {
        char given[sizeof(secret)];

        memcpy(given, secret, sizeof(secret));
        given[i] ^= 0x01;
        if (wcim_secret_equals(given, n, secret, n)) {
            CHECK(0, apr_psprintf(pool, "byte %lu changed, still equal",
                                  (unsigned long)i));
            ++missed;
        }
    }
    CHECK(missed == 0 && wcim_secret_equals(secret, n, secret, n),
          "a change at any byte of a long secret is told");
    /* a NUL byte given against an empty secret (read as its one 0 byte) */
    CHECK(!wcim_secret_equals("", 1, "", 0), "a NUL byte is not empty");
}

void test_token(apr_pool_t *p)
{
    wcim_token_row_t row = { SEED_TOKEN, "1491898739098" };
    apr_time_t created = apr_time_from_msec(APR_INT64_C(1491898739098));
    const char *why, *digest;
    apr_int64_t date;
    const char *forged;

    test_secret_equals(p);

    CHECK(wcim_token_decode(&digest, &date, SEED_TOKEN, strlen(SEED_TOKEN), p)
          == APR_SUCCESS && date == APR_INT64_C(1491898739098)
          && strcmp(digest, "6d5566266151d38f14a39ebaba952004") == 0,
          "seed token decodes");
    CHECK(wcim_token_verify(&why, SEED_TOKEN, strlen(SEED_TOKEN), &row, 0,
                            apr_time_now(), p) == APR_SUCCESS,
          "seed token valid with lifetime off");
    CHECK(wcim_token_verify(&why, SEED_TOKEN, strlen(SEED_TOKEN), &row,
                            APR_INT64_C(604800000), apr_time_now(), p)
          == WCIM_STATUS(3010), "seed token expired with a 7-day lifetime");
    CHECK(wcim_token_verify(&why, SEED_TOKEN, strlen(SEED_TOKEN), &row,
                            APR_INT64_C(604800000),
                            created + apr_time_from_sec(604799), p)
          == APR_SUCCESS, "valid one second before the lifetime ends");
    CHECK(wcim_token_verify(&why, SEED_TOKEN, strlen(SEED_TOKEN), &row,
                            APR_INT64_C(604800000),
                            created + apr_time_from_sec(604800), p)
          == WCIM_STATUS(3010), "expired when the lifetime ends");

    /* same date, another digest: the old server's forgery */
    forged = "MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDBfZGF0ZT0xNDkxODk4NzM5MDk4";
    CHECK(wcim_token_decode(&digest, &date, forged, strlen(forged), p)
          == APR_SUCCESS && date == APR_INT64_C(1491898739098),
          "forged token has the right date");
    CHECK(wcim_token_verify(&why, forged, strlen(forged), &row, 0,
                            apr_time_now(), p) == WCIM_STATUS(3010),
          "forged token refused");
    CHECK(wcim_token_decode(&digest, &date, "bm8gZGF0ZSBoZXJl", 16, p)
          == APR_EINVAL, "no _date= refused");
    CHECK(wcim_token_decode(&digest, &date, "not base64!", 11, p)
          == APR_EINVAL, "not base64 refused");
    {
        wcim_token_row_t bad = { "bm8gZGF0ZSBoZXJl", "1" };
        CHECK(wcim_token_verify(&why, "bm8gZGF0ZSBoZXJl", 16, &bad, 0,
                                apr_time_now(), p) == WCIM_STATUS(3010),
              "a stored token without a date is refused too");
    }
}
