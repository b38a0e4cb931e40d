#include <string.h>

#include "wcim_buf.h"

#define MIN_CAP 256

void wcim_buf_init(wcim_buf_t *buf, apr_pool_t *p, apr_size_t hint)
{
    buf->pool = p;
    buf->cap = hint ? hint + 1 : MIN_CAP;
    buf->data = apr_palloc(p, buf->cap);
    buf->data[0] = '\0';
    buf->len = 0;
    buf->most = 0;
}

void wcim_buf_bound(wcim_buf_t *buf, apr_size_t most)
{
    buf->most = most;
}

void wcim_buf_append(wcim_buf_t *buf, const void *bytes, apr_size_t n)
{
    if (buf->len + n + 1 > buf->cap) {
        /* doubling keeps the pool's waste under the final size */
        apr_size_t cap = buf->cap * 2;
        char *data;

        while (cap < buf->len + n + 1) {
            cap *= 2;
        }
        if (buf->most && cap > buf->most + 1 && buf->len + n <= buf->most) {
            cap = buf->most + 1;
        }
        data = apr_palloc(buf->pool, cap);
        memcpy(data, buf->data, buf->len);
        buf->data = data;
        buf->cap = cap;
    }
    memcpy(buf->data + buf->len, bytes, n);
    buf->len += n;
    buf->data[buf->len] = '\0';
}
