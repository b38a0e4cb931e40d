#include <string.h>
#include <apr_strings.h>

#include "wcim_buf.h"
#include "wcim_json.h"
#include "wcim_utf8.h"

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

void wcim_json_append_string(wcim_buf_t *buf, const char *s)
{
    const unsigned char *c = (const unsigned char *)s;
    json_t *str;

    /* what jansson would write unchanged: valid UTF-8 without a control
     * character, quote or backslash (ids, URLs, club names) */
    while (*c) {
        if (*c >= 0x80) {
            apr_size_t n = wcim_utf8_sequence(c);
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
