/* The routing post's form read from one buffer (modules/wcim_form.c):
 * decoded in place, only the fields wanted kept, and the number of
 * fields bounded (issue 23, item 1). */
#include <string.h>
#include <apr_strings.h>

#include "unit_tests.h"
#include "../modules/wcim_form.h"
#include "../modules/wcim_route_parse.h"

static apr_status_t parse(apr_table_t **pform, apr_size_t *pfields,
                          const char *text, apr_size_t max_fields,
                          apr_pool_t *p)
{
    /* the glue's buffer: len + 1 bytes, changed by the parse */
    char *buf = apr_pstrdup(p, text);

    return wcim_form_parse(pform, pfields, buf, strlen(text), max_fields,
                           wcim_routing_field_used, p);
}

void test_form(apr_pool_t *p)
{
    apr_table_t *form;
    apr_size_t fields;
    char *big;
    apr_size_t i;

    CHECK(parse(&form, &fields, "fromUserId=im_user_id_1&content=%7B%22a"
                "%22%3A%22b+c%22%7D&groupUserIds=x&msgUID=A&msgUID=B", 100, p)
          == APR_SUCCESS && fields == 5,
          "form: five fields read");
    CHECK(strcmp(apr_table_get(form, "fromUserId"), "im_user_id_1") == 0
          && strcmp(apr_table_get(form, "content"), "{\"a\":\"b c\"}") == 0,
          "form: %XX and + decoded");
    CHECK(apr_table_get(form, "groupUserIds") == NULL,
          "form: a field the post does not use is not kept");
    CHECK(strcmp(apr_table_get(form, "msgUID"), "B") == 0
          && apr_table_elts(form)->nelts == 3,
          "form: the last of a repeated name, one entry");
    CHECK(parse(&form, &fields, "msgUID=a%zz%4&toUserId&content=x%00y",
                100, p) == APR_SUCCESS
          && strcmp(apr_table_get(form, "msgUID"), "a%zz%4") == 0
          && strcmp(apr_table_get(form, "toUserId"), "") == 0
          && strcmp(apr_table_get(form, "content"), "x") == 0,
          "form: a bad escape kept, a name alone empty, cut at %00");
    CHECK(parse(&form, &fields, "", 0, p) == APR_SUCCESS && fields == 0
          && apr_table_elts(form)->nelts == 0,
          "form: an empty body has no fields");
    /* =&=&...: every empty field counts */
    big = apr_palloc(p, 2 * 1000 + 1);
    for (i = 0; i < 1000; ++i) {
        memcpy(big + 2 * i, "=&", 2);
    }
    big[2000] = '\0';
    CHECK(parse(&form, &fields, big, 1000, p) == APR_SUCCESS
          && fields == 1000,
          "form: 1,000 empty fields within a bound of 1,000");
    CHECK(parse(&form, &fields, big, 999, p) == APR_ENOSPC && form == NULL,
          "form: 1,000 empty fields over a bound of 999: refused");
    /* a 3,000-member group's post (t/20) within the default limit */
    CHECK(WCIM_FORM_MAX_FIELDS(2097152) > 3010,
          "form: the default field bound lets a 3,000-member group through");
}
