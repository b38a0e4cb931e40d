#include <string.h>
#include <apr_strings.h>
#include <yajl/yajl_parse.h>

#include "wcim_reals.h"

typedef struct {
    apr_pool_t *pool;
    apr_table_t *reals;
    int depth;          /* 1: in the root object, 2: in one of its members */
    int in_data;        /* the depth-2 object open is root.data */
    int root_key_data;  /* the root's last key was "data" */
    const char *key;    /* data's last key */
} reals_t;

static int on_key(void *ctx, const unsigned char *key, size_t len)
{
    reals_t *s = ctx;

    if (s->depth == 1) {
        s->root_key_data = len == 4 && memcmp(key, "data", 4) == 0;
    }
    else if (s->depth == 2 && s->in_data) {
        s->key = apr_pstrmemdup(s->pool, (const char *)key, len);
    }
    return 1;
}

static int on_open_map(void *ctx)
{
    reals_t *s = ctx;

    if (++s->depth == 2) {
        s->in_data = s->root_key_data;
    }
    return 1;
}

static int on_open_array(void *ctx)
{
    reals_t *s = ctx;

    if (++s->depth == 2) {
        s->in_data = 0;
    }
    return 1;
}

static int on_close(void *ctx)
{
    reals_t *s = ctx;

    if (s->depth-- == 2) {
        s->in_data = 0;
    }
    return 1;
}

static int on_number(void *ctx, const char *num, size_t len)
{
    reals_t *s = ctx;

    if (s->depth == 2 && s->in_data && s->key
        && (memchr(num, '.', len) || memchr(num, 'e', len)
            || memchr(num, 'E', len))) {
        apr_table_setn(s->reals, s->key, "");
    }
    return 1;
}

static const yajl_callbacks callbacks = {
    NULL, NULL, NULL, NULL, on_number, NULL,
    on_open_map, on_key, on_close, on_open_array, on_close
};

apr_status_t wcim_data_reals(apr_table_t **preals, const char *body,
                             apr_size_t len, apr_pool_t *p)
{
    reals_t s = { p, apr_table_make(p, 2), 0, 0, 0, NULL };
    yajl_handle h = yajl_alloc(&callbacks, NULL, &s);
    apr_status_t rv = APR_EGENERAL;

    *preals = s.reals;
    if (h == NULL) {
        return APR_ENOMEM;
    }
    /* jansson allows a body yajl would stop at (NUL bytes after it, say):
     * then no number of data is trusted */
    if (yajl_parse(h, (const unsigned char *)body, len) == yajl_status_ok
        && yajl_complete_parse(h) == yajl_status_ok) {
        rv = APR_SUCCESS;
    }
    yajl_free(h);
    return rv;
}
