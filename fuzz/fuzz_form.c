/* libFuzzer target: the form of a message routing post (modules/
 * wcim_form.c), as the weclubs-im-callback handler reads it: the whole
 * input is the body (at most WeclubsIMCallbackMaxBody bytes there; here
 * the limit is the input's size, at least 64).
 *
 * Properties checked: what the parse allocates stays within the limit
 * plus a constant (the body is decoded in place; a `=&=&...` body once
 * cost a brigade a field), counted by fuzz_common.h's apr_palloc shim;
 * more fields than WCIM_FORM_MAX_FIELDS(limit) is refused, fewer are
 * not; and the fields kept (those wcim_routing_field_used wants, the
 * last of a repeated name) are those of a plain reference decoder: '&'
 * between fields, the first '=' between name and value, '+' a space,
 * %XX a byte, any other '%' kept, cut at a NUL. */
#include "fuzz_common.h"

#include <apr_tables.h>

#include "wcim_form.h"
#include "wcim_route_parse.h"

#ifndef COST_CONSTANT
#define COST_CONSTANT 4096   /* the table and its few entries */
#endif

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static char *ref_decode(const char *s, size_t n)
{
    char *out = malloc(n + 1), *o = out;
    size_t i;

    for (i = 0; i < n; ++i) {
        if (s[i] == '+') {
            *o++ = ' ';
        }
        else if (s[i] == '%' && i + 2 < n
                 && hexval((unsigned char)s[i + 1]) >= 0
                 && hexval((unsigned char)s[i + 2]) >= 0) {
            *o++ = (char)(hexval((unsigned char)s[i + 1]) * 16
                          + hexval((unsigned char)s[i + 2]));
            i += 2;
        }
        else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;   /* a C string: cut at its first NUL */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    apr_table_t *form, *ref = apr_table_make(p, 8);
    const apr_array_header_t *elts;
    apr_size_t limit = size < 64 ? 64 : size, fields = 0, ref_fields = 0;
    apr_size_t before, i, at;
    apr_status_t rv;
    char *buf = apr_palloc(p, size + 1);
    const char *in;

    memcpy(buf, data, size);
    buf[size] = '\0';
    /* the reference, first (on a copy that ends at an inaccessible page):
     * buf is changed by the parse */
    in = fuzz_guarded(data, size);
    for (at = 0; at < size;) {
        const char *f = in + at, *amp, *eq;
        size_t n;
        char *name, *value;

        amp = memchr(f, '&', size - at);
        n = amp ? (size_t)(amp - f) : size - at;
        at += n + 1;
        ++ref_fields;
        eq = memchr(f, '=', n);
        name = ref_decode(f, eq ? (size_t)(eq - f) : n);
        value = eq ? ref_decode(eq + 1, n - (size_t)(eq + 1 - f))
                   : ref_decode("", 0);
        if (wcim_routing_field_used(name)) {
            apr_table_set(ref, name, value);
        }
        free(name);
        free(value);
    }
    before = fuzz_palloc_bytes;
    rv = wcim_form_parse(&form, &fields, buf, size,
                         WCIM_FORM_MAX_FIELDS(limit),
                         wcim_routing_field_used, p);
    FUZZ_CHECK(fuzz_palloc_bytes - before <= limit + COST_CONSTANT);
    if (ref_fields > WCIM_FORM_MAX_FIELDS(limit)) {
        FUZZ_CHECK(rv == APR_ENOSPC && form == NULL);
    }
    else {
        FUZZ_CHECK(rv == APR_SUCCESS && fields == ref_fields);
        elts = apr_table_elts(ref);
        FUZZ_CHECK(apr_table_elts(form)->nelts == elts->nelts);
        for (i = 0; i < (apr_size_t)elts->nelts; ++i) {
            const apr_table_entry_t *e =
                &((const apr_table_entry_t *)elts->elts)[i];
            const char *got = apr_table_get(form, e->key);
            FUZZ_CHECK(got && strcmp(got, e->val) == 0);
        }
    }
    apr_pool_destroy(p);
    return 0;
}
