/* libFuzzer target: the user token check (modules/wcim_login_token.c).
 *
 *  1. wcim_token_decode on the input, with its exact length, in a copy
 *     that ends at an inaccessible page (fuzz_guarded): the header
 *     promises (token, len), so nothing past len may be read.
 *     Built with -DFUZZ_TOKEN_NUL_TERMINATED, the input is NUL-terminated
 *     instead, as the module's own callers pass it (a jansson string):
 *     a stop-gap to fuzz the rest while a read past len is not fixed.
 *  2. wcim_token_verify with the input as the given token against a fixed
 *     stored row (the seed's token of user 38), lifetime off and 7 days.
 *  3. wcim_token_verify with the input as the stored row's token (and,
 *     separately, as its create_date), the seed token given: what a
 *     corrupt or hostile t_token row does.
 *  4. wcim_token_verify with the input as both the given and the stored
 *     token, so that the decode and date checks behind the equality check
 *     are reached; with the row's date taken from the decode.
 *
 * Properties checked: a decode that succeeds gives a date of at most 18
 * digits and a digest without "_date="; verify succeeds only when given
 * and stored tokens are equal, and then exactly when decode succeeds with
 * the row's date (and the token is younger than the lifetime). */
#include "fuzz_common.h"

#include "wcim_result.h"
#include "wcim_login_token.h"

#define LIFETIME_7D APR_INT64_C(604800000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    /* the same bytes NUL-terminated, for the row (a database string) */
    const char *in_z = apr_pstrmemdup(p, (const char *)data, size);
#ifdef FUZZ_TOKEN_NUL_TERMINATED
    const char *in = in_z;
#else
    const char *in = fuzz_guarded(data, size);
#endif
    int has_nul = memchr(in, '\0', size) != NULL;
    wcim_token_row_t seed_row = { FUZZ_SEED_TOKEN, FUZZ_SEED_DATE };
    wcim_token_row_t row;
    const char *digest = NULL, *why = NULL;
    apr_int64_t date = -1;
    apr_status_t dec_rv, rv;

    /* 1 */
    dec_rv = wcim_token_decode(&digest, &date, in, size, p);
    if (dec_rv == APR_SUCCESS) {
        FUZZ_CHECK(digest != NULL);
        FUZZ_CHECK(date >= 0 && date <= APR_INT64_C(999999999999999999));
        FUZZ_CHECK(strstr(digest, "_date=") == NULL);
        FUZZ_CHECK(!has_nul);
    }
    else {
        FUZZ_CHECK(dec_rv == APR_EINVAL);
    }

    /* 2 */
    rv = wcim_token_verify(&why, in, size, &seed_row, 0, FUZZ_NOW, p);
    if (size == sizeof(FUZZ_SEED_TOKEN) - 1
        && memcmp(in, FUZZ_SEED_TOKEN, size) == 0) {
        FUZZ_CHECK(rv == APR_SUCCESS);
    }
    else {
        FUZZ_CHECK(rv == WCIM_STATUS(WCIM_RC_TOKEN_INVALID) && why != NULL);
    }
    rv = wcim_token_verify(&why, in, size, &seed_row, LIFETIME_7D, FUZZ_NOW,
                           p);
    FUZZ_CHECK(rv == APR_SUCCESS
               || (rv == WCIM_STATUS(WCIM_RC_TOKEN_INVALID) && why != NULL));

    /* 3 */
    row.token = in_z;
    row.create_date = FUZZ_SEED_DATE;
    rv = wcim_token_verify(&why, FUZZ_SEED_TOKEN, sizeof(FUZZ_SEED_TOKEN) - 1,
                           &row, LIFETIME_7D, FUZZ_NOW, p);
    FUZZ_CHECK(rv == APR_SUCCESS || rv == WCIM_STATUS(WCIM_RC_TOKEN_INVALID));
    if (strcmp(in_z, FUZZ_SEED_TOKEN) != 0) {
        FUZZ_CHECK(rv != APR_SUCCESS);
    }
    row.token = FUZZ_SEED_TOKEN;
    row.create_date = in_z;
    rv = wcim_token_verify(&why, FUZZ_SEED_TOKEN, sizeof(FUZZ_SEED_TOKEN) - 1,
                           &row, 0, FUZZ_NOW, p);
    if (strcmp(in_z, FUZZ_SEED_DATE) == 0) {
        FUZZ_CHECK(rv == APR_SUCCESS);
    }
    else if (rv == APR_SUCCESS) {
        /* only the same number may pass, e.g. with leading zeros */
        FUZZ_CHECK(apr_atoi64(in_z) == APR_INT64_C(1491898739098));
    }

    /* 4 */
    row.token = in_z;
    row.create_date = dec_rv == APR_SUCCESS
        ? apr_psprintf(p, "%" APR_INT64_T_FMT, date) : FUZZ_SEED_DATE;
    rv = wcim_token_verify(&why, in_z, strlen(in_z), &row, 0, FUZZ_NOW, p);
    if (!has_nul) {
        FUZZ_CHECK((rv == APR_SUCCESS) == (dec_rv == APR_SUCCESS));
    }
    rv = wcim_token_verify(&why, in_z, strlen(in_z), &row, LIFETIME_7D,
                           FUZZ_NOW, p);
    if (!has_nul && dec_rv == APR_SUCCESS) {
        apr_int64_t age = apr_time_as_msec(FUZZ_NOW) - date;
        FUZZ_CHECK((rv == APR_SUCCESS) == (age < LIFETIME_7D));
    }
    /* a lifetime far larger than any date: no overflow */
    (void)wcim_token_verify(&why, in_z, strlen(in_z), &row,
                            APR_INT64_C(0x7fffffffffffffff), FUZZ_NOW, p);

    apr_pool_destroy(p);
    return 0;
}
