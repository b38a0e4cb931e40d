/* The request signature (modules/wcim_sign.c): the spec's vectors in both
 * forms, and what is refused. */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>

#include "unit_tests.h"
#include "../modules/wcim_envelope.h"
#include "../modules/wcim_result.h"
#include "../modules/wcim_sign.h"

/* data's members as the envelope parser gives them */
static const wcim_envelope_t *data_of(apr_pool_t *p, const char *data)
{
    const char *body = apr_pstrcat(p, "{\"client\":{},\"data\":", data, "}",
                                   NULL);
    wcim_envelope_t *env;
    const char *why;

    CHECK(wcim_envelope_parse(&env, &why, body, strlen(body), p)
          == APR_SUCCESS, data);
    return env;
}

static void check_sign_vector(apr_pool_t *p, const char *data, int form,
                              const char *expected)
{
    const char *sign;
    const wcim_envelope_t *d = data_of(p, data);

    wcim_sign_compute(&sign, form, d->data, d->data_count, SECRET,
                      strlen(SECRET), p);
    CHECK(sign && strcmp(sign, expected) == 0,
          apr_psprintf(p, "sign of %s: %s, expected %s", data, sign,
                       expected));
    CHECK(wcim_sign_verify(d->data, d->data_count, expected, strlen(expected), SECRET,
                           strlen(SECRET), WCIM_SIGN_FORMS_ALL, p)
          == APR_SUCCESS, "vector verifies");
    CHECK(wcim_sign_verify(d->data, d->data_count, expected, strlen(expected), SECRET,
                           strlen(SECRET),
                           WCIM_SIGN_FORMS_ALL & ~form, p)
          == WCIM_STATUS(3003), "form switched off is refused");
}

void test_sign(apr_pool_t *p)
{
    const char *v = "{\"user_id\":\"38\",\"token\":\"" SEED_TOKEN "\"}";
    const wcim_envelope_t *d;
    char upper[41];
    const char *text;
    apr_size_t len;
    int i;

    /* the vectors of protocol.md section 3 */
    check_sign_vector(p, "{\"student_id\":\"2\",\"size\":\"20\",\"type\":\"1\"}",
                      WCIM_SIGN_FORM_SHA1,
                      "59056cc1f4666dfc21e519cf0e74061d4a437550");
    check_sign_vector(p, "{\"student_id\":\"2\",\"size\":\"20\",\"type\":\"1\"}",
                      WCIM_SIGN_FORM_MD5_SHA1,
                      "307abb960a5a54a05abb1da9d491b45a");
    check_sign_vector(p, "{\"user_id\":\"21\",\"token\":\"MzdkYmFiNzkwNWVjNWM4"
                      "MDFkZjU0NWEwMDE4ODlkOWFfZGF0ZT0xNDkwMDg0NzMyMjgw\"}",
                      WCIM_SIGN_FORM_SHA1,
                      "1f793f5ad9f27465e6e3414a3ecb265d0f4de5d8");
    check_sign_vector(p, v, WCIM_SIGN_FORM_MD5_SHA1,
                      "0705b4dc0a406ed0e3bc5013c685943c");
    check_sign_vector(p, v, WCIM_SIGN_FORM_SHA1,
                      "56072054521d911e34d7c0345a54990d4d2e891f");
    /* an integer user_id signs as its decimal text */
    check_sign_vector(p, "{\"user_id\":38,\"token\":\"" SEED_TOKEN "\"}",
                      WCIM_SIGN_FORM_MD5_SHA1,
                      "0705b4dc0a406ed0e3bc5013c685943c");

    d = data_of(p, "{\"b\":true,\"a\":null,\"c\":false,\"d\":-5}");
    wcim_sign_text(&text, &len, d->data, d->data_count, "S", 1, p);
    CHECK(strcmp(text, "SanullbtruecfalsedS") != 0
          && strcmp(text, "Sanullbtruecfalsed-5S") == 0,
          "scalars as the Java server wrote them, keys in byte order");

    d = data_of(p, v);
    strcpy(upper, "0705B4DC0A406ED0E3BC5013C685943C");
    CHECK(wcim_sign_verify(d->data, d->data_count, upper, 32, SECRET, strlen(SECRET),
                           WCIM_SIGN_FORMS_ALL, p) == WCIM_STATUS(3003),
          "upper-case sign refused");
    CHECK(wcim_sign_verify(d->data, d->data_count, NULL, 0, SECRET, strlen(SECRET),
                           WCIM_SIGN_FORMS_ALL, p) == WCIM_STATUS(3003),
          "missing sign refused");
    CHECK(wcim_sign_verify(d->data, d->data_count, "0705b4dc", 8, SECRET, strlen(SECRET),
                           WCIM_SIGN_FORMS_ALL, p) == WCIM_STATUS(3003),
          "short sign refused");
    for (i = 0; i < 32; ++i) {
        char s[33];
        strcpy(s, "0705b4dc0a406ed0e3bc5013c685943c");
        s[i] = s[i] == '0' ? '1' : '0';
        if (wcim_sign_verify(d->data, d->data_count, s, 32, SECRET, strlen(SECRET),
                             WCIM_SIGN_FORMS_ALL, p) != WCIM_STATUS(3003)) {
            break;
        }
    }
    CHECK(i == 32, "every one-digit change of the sign is refused");
}
