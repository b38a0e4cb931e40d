#include <string.h>
#include <apr_strings.h>

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

apr_status_t wcim_json_parse(json_t **pjson, const char **perr,
                             const char *buf, apr_size_t len, apr_pool_t *p)
{
    json_error_t jerr;
    json_t *json;

    *pjson = NULL;
    json = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json) {
        if (perr) {
            *perr = apr_psprintf(p, "%s at byte %d", jerr.text,
                                 jerr.position);
        }
        return APR_EINVAL;
    }
    *pjson = wcim_json_own(p, json);
    return APR_SUCCESS;
}

typedef struct {
    apr_pool_t *pool;
    char *buf;
    apr_size_t len, cap;
} dump_buf_t;

static int dump_append(const char *chunk, size_t size, void *baton)
{
    dump_buf_t *db = baton;

    if (db->len + size + 1 > db->cap) {
        apr_size_t cap = db->cap ? db->cap * 2 : 256;
        char *nbuf;

        while (cap < db->len + size + 1) {
            cap *= 2;
        }
        nbuf = apr_palloc(db->pool, cap);
        if (db->len) {
            memcpy(nbuf, db->buf, db->len);
        }
        db->buf = nbuf;
        db->cap = cap;
    }
    memcpy(db->buf + db->len, chunk, size);
    db->len += size;
    return 0;
}

apr_status_t wcim_json_dump(const char **ptext, apr_size_t *plen,
                            const json_t *json, apr_pool_t *p)
{
    dump_buf_t db = { p, NULL, 0, 0 };

    if (json_dump_callback(json, dump_append, &db,
                           JSON_COMPACT | JSON_ENCODE_ANY) != 0) {
        return APR_EGENERAL;
    }
    dump_append("", 0, &db);
    db.buf[db.len] = '\0';
    *ptext = db.buf;
    if (plen) {
        *plen = db.len;
    }
    return APR_SUCCESS;
}
