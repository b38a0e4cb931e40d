#include <string.h>
#include <apr_escape.h>

#include "wcim_form.h"

/* Decode s[0..n) in place, NUL-terminated; s[n] (a separator already
 * passed, or the spare byte after the buffer) is overwritten. A malformed escape (APR_EINVAL) leaves its '%' as it is, as
 * ap_parse_form_data did; a decoded %00 ends the string. */
static char *decode(char *s, apr_size_t n)
{
    s[n] = '\0';
    (void)apr_unescape_url(s, s, (apr_ssize_t)n, NULL, NULL, 1, NULL);
    return s;
}

apr_status_t wcim_form_parse(apr_table_t **pform, apr_size_t *pfields,
                             char *buf, apr_size_t len,
                             apr_size_t max_fields,
                             int (*want)(const char *name), apr_pool_t *p)
{
    apr_table_t *form = apr_table_make(p, 8);
    apr_size_t at = 0, fields = 0;
    apr_status_t rv = APR_SUCCESS;

    while (at < len) {
        char *field = buf + at, *amp, *eq, *name, *value;
        apr_size_t n;

        amp = memchr(field, '&', len - at);
        n = amp ? (apr_size_t)(amp - field) : len - at;
        at += n + 1;
        if (++fields > max_fields) {
            rv = APR_ENOSPC;
            break;
        }
        eq = memchr(field, '=', n);
        /* a field without '=' is a name with an empty value */
        name = decode(field, eq ? (apr_size_t)(eq - field) : n);
        if (!want(name)) {
            continue;
        }
        value = eq ? decode(eq + 1, n - (apr_size_t)(eq + 1 - field)) : "";
        apr_table_setn(form, name, value);
    }
    *pfields = fields;
    *pform = rv == APR_SUCCESS ? form : NULL;
    return rv;
}
