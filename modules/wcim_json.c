#include <string.h>
#include <apr_strings.h>

#include "wcim_buf.h"
#include "wcim_json.h"

static apr_status_t json_release(void *data)
{
    json_decref((json_t *)data);
    return APR_SUCCESS;
}

json_t *wcim_json_own(apr_pool_t *p, json_t *json)
{
    if (json) {
        apr_pool_cleanup_register(p, json, json_release,
                                  apr_pool_cleanup_null);
    }
    return json;
}

static apr_status_t json_parse(json_t **pjson, const char **perr,
                               const char *buf, apr_size_t len, size_t flags,
                               apr_pool_t *p)
{
    json_error_t jerr;
    json_t *json;

    *pjson = NULL;
    json = json_loadb(buf, len, JSON_REJECT_DUPLICATES | flags, &jerr);
    if (!json) {
        if (perr) {
            *perr = apr_psprintf(p, "%s at byte %d", jerr.text,
                                 jerr.position);
        }
#if JANSSON_VERSION_HEX >= 0x020b00
        if (json_error_code(&jerr) == json_error_numeric_overflow) {
            return APR_ERANGE;
        }
#endif
        return APR_EINVAL;
    }
    *pjson = wcim_json_own(p, json);
    return APR_SUCCESS;
}

apr_status_t wcim_json_parse(json_t **pjson, const char **perr,
                             const char *buf, apr_size_t len, apr_pool_t *p)
{
    return json_parse(pjson, perr, buf, len, 0, p);
}

apr_status_t wcim_json_parse_reals(json_t **pjson, const char **perr,
                                   const char *buf, apr_size_t len,
                                   apr_pool_t *p)
{
    return json_parse(pjson, perr, buf, len, JSON_DECODE_INT_AS_REAL, p);
}

static int dump_append(const char *chunk, size_t size, void *baton)
{
    wcim_buf_append(baton, chunk, size);
    return 0;
}

apr_status_t wcim_json_append(wcim_buf_t *buf, const json_t *v)
{
    return json_dump_callback(v, dump_append, buf,
                              JSON_COMPACT | JSON_ENCODE_ANY) == 0
           ? APR_SUCCESS : APR_EGENERAL;
}

/* The length of the UTF-8 sequence at s (its bytes up to a NUL) as
 * jansson accepts it: no overlong forms, no surrogates, nothing past
 * U+10FFFF; 0 when it is not one. */
static apr_size_t utf8_sequence(const unsigned char *s)
{
    apr_size_t n, i;
    apr_uint32_t v;

    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;
        v = s[0] & 0x1f;
    }
    else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        v = s[0] & 0x0f;
    }
    else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        v = s[0] & 0x07;
    }
    else {
        return 0;
    }
    for (i = 1; i < n; ++i) {
        if ((s[i] & 0xc0) != 0x80) {      /* a NUL ends it here too */
            return 0;
        }
        v = (v << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000) || v > 0x10ffff
        || (v >= 0xd800 && v <= 0xdfff)) {
        return 0;
    }
    return n;
}

void wcim_json_append_string(wcim_buf_t *buf, const char *s)
{
    const unsigned char *c = (const unsigned char *)s;
    json_t *str;

    /* what jansson would write unchanged: valid UTF-8 without a control
     * character, quote or backslash (ids, URLs, club names) */
    while (*c) {
        if (*c >= 0x80) {
            apr_size_t n = utf8_sequence(c);
            if (n == 0) {
                break;
            }
            c += n;
        }
        else if (*c < 0x20 || *c == '"' || *c == '\\') {
            break;
        }
        else {
            ++c;
        }
    }
    if (*c == '\0') {
        wcim_buf_append(buf, "\"", 1);
        wcim_buf_append(buf, s, (const char *)c - s);
        wcim_buf_append(buf, "\"", 1);
        return;
    }
    /* escapes, or not UTF-8 (null, as jansson refuses it) */
    str = json_string(s);
    if (str == NULL || wcim_json_append(buf, str) != APR_SUCCESS) {
        wcim_buf_append(buf, "null", 4);
    }
    json_decref(str);
}
