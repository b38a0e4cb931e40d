/* A byte buffer that grows in an APR pool: request bodies, RongCloud
 * answers, serialised JSON. */
#ifndef WCIM_BUF_H
#define WCIM_BUF_H

#include <apr_pools.h>

typedef struct wcim_buf_t {
    apr_pool_t *pool;
    char *data;          /* always NUL-terminated once anything was added */
    apr_size_t len;
    apr_size_t cap;
    apr_size_t most;     /* the most it will ever hold (0: no bound) */
} wcim_buf_t;

/* An empty buffer with room for `hint` bytes (0: a small default). */
void wcim_buf_init(wcim_buf_t *buf, apr_pool_t *p, apr_size_t hint);

/* The most bytes the buffer will be asked to hold (a body's limit): it
 * then never grows past that, so a body just under the limit does not
 * end in a buffer of twice its size (pools keep the old ones too). */
void wcim_buf_bound(wcim_buf_t *buf, apr_size_t most);

/* Append n bytes. */
void wcim_buf_append(wcim_buf_t *buf, const void *bytes, apr_size_t n);

#endif
