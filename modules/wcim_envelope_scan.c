/* The request envelope's streaming pass (yajl): the plain kind of body
 * clients send, read in one pass at a tenth of jansson's cost, straight
 * into the envelope. Anything it is not sure to read as jansson would is
 * left to jansson (wcim_envelope.c), whose reading is the definition. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <jansson.h>
#include <yajl/yajl_parse.h>

#include "wcim_envelope.h"
#include "wcim_envelope_scan.h"

/* The streaming pass reads envelopes at most this deep, with objects at
 * most this wide, so that its duplicate-key check is a short list; bigger
 * ones (no client sends them) go to jansson. */
#define SCAN_MAX_DEPTH 8
#define SCAN_MAX_KEYS 16

typedef enum {
    SCAN_OTHER, SCAN_ROOT, SCAN_CLIENT, SCAN_DATA
} scan_object_t;

/* An open object or array, with the keys read so far (into the body). */
typedef struct scan_level_t {
    scan_object_t object;
    int is_array;
    int key_count;
    const unsigned char *keys[SCAN_MAX_KEYS];
    size_t key_lens[SCAN_MAX_KEYS];
} scan_level_t;

typedef struct scan_t {
    apr_pool_t *pool;
    yajl_handle handle;
    wcim_envelope_t *env;
    wcim_member_t *members;          /* SCAN_MAX_KEYS of them */
    apr_size_t end;                  /* the offset past the body's '}' */
    int depth;
    int saw_client, saw_data;
    scan_level_t levels[SCAN_MAX_DEPTH];
} scan_t;

/* Whether the streaming pass may read body at all. It leaves to jansson
 * the bodies where yajl is more lenient: escapes (yajl turns a lone
 * surrogate into '?' and lets \u0000 through), \v and \f (blanks to yajl),
 * and invalid UTF-8 (yajl lets overlong forms and surrogates through;
 * json_stringn applies jansson's own check, and a body that is valid
 * UTF-8 as a whole has only valid strings). */
static int scan_may_read(const char *body, apr_size_t len)
{
    apr_uint64_t word, bytes = 0;
    apr_size_t i;
    json_t *text;

    if (memchr(body, '\\', len) || memchr(body, '\v', len)
        || memchr(body, '\f', len)) {
        return 0;
    }
    /* any byte over 0x7f: eight at a time, as a byte loop cost a tenth of
     * the whole pass */
    for (i = 0; i + sizeof(word) <= len; i += sizeof(word)) {
        memcpy(&word, body + i, sizeof(word));
        bytes |= word;
    }
    for (; i < len; ++i) {
        bytes |= (unsigned char)body[i];
    }
    if (bytes & APR_UINT64_C(0x8080808080808080)) {
        text = json_stringn(body, len);
        if (text == NULL) {
            return 0;
        }
        json_decref(text);
    }
    return 1;
}

/* The open object or array the value being read is in; NULL at the top. */
static scan_level_t *scan_container(scan_t *s)
{
    return s->depth ? &s->levels[s->depth - 1] : NULL;
}

/* Whether the value being read is the member `name` of its object. */
static int scan_key_is(const scan_level_t *in, const char *name)
{
    size_t len = strlen(name);

    return !in->is_array && in->key_count > 0
           && in->key_lens[in->key_count - 1] == len
           && memcmp(in->keys[in->key_count - 1], name, len) == 0;
}

/* A string, integer, boolean or null. 0 (stop, leave it to jansson) for a
 * top-level scalar or a scalar client or data: jansson refuses those. */
static int scan_scalar(scan_t *s, wcim_member_type_t type, const char *text,
                       size_t len)
{
    scan_level_t *in = scan_container(s);
    wcim_member_t *m;

    if (in == NULL) {
        return 0;
    }
    switch (in->object) {
    case SCAN_DATA:
        m = &s->members[s->env->data_count++];
        m->key = apr_pstrmemdup(s->pool,
                                (const char *)in->keys[in->key_count - 1],
                                in->key_lens[in->key_count - 1]);
        m->key_len = in->key_lens[in->key_count - 1];
        m->text = type == WCIM_MEMBER_STRING || type == WCIM_MEMBER_INTEGER
                  ? apr_pstrmemdup(s->pool, text, len) : text;
        m->text_len = len;
        m->type = type;
        break;
    case SCAN_ROOT:
        if (scan_key_is(in, "client") || scan_key_is(in, "data")) {
            return 0;
        }
        if (type != WCIM_MEMBER_STRING) {
            break;
        }
        if (scan_key_is(in, "id")) {
            s->env->id = apr_pstrmemdup(s->pool, text, len);
        }
        else if (scan_key_is(in, "sign")) {
            s->env->sign = apr_pstrmemdup(s->pool, text, len);
            s->env->sign_len = len;
        }
        break;
    case SCAN_CLIENT:
        if (type == WCIM_MEMBER_STRING && scan_key_is(in, "caller")) {
            s->env->caller = apr_pstrmemdup(s->pool, text, len);
        }
        break;
    case SCAN_OTHER:
        break;
    }
    return 1;
}

static int scan_null(void *ctx)
{
    return scan_scalar(ctx, WCIM_MEMBER_NULL, "null", 4);
}

static int scan_boolean(void *ctx, int b)
{
    return b ? scan_scalar(ctx, WCIM_MEMBER_BOOLEAN, "true", 4)
             : scan_scalar(ctx, WCIM_MEMBER_BOOLEAN, "false", 5);
}

/* yajl hands over the number's JSON text. Reals, and integers beyond 64
 * bits (which jansson reads again as reals), are left to jansson; an
 * integer's JSON text (no '+', no leading zero) is its decimal text,
 * but for -0. */
static int scan_number(void *ctx, const char *num, size_t len)
{
    char digits[24];

    if (len >= sizeof(digits) || memchr(num, '.', len)
        || memchr(num, 'e', len) || memchr(num, 'E', len)) {
        return 0;
    }
    memcpy(digits, num, len);
    digits[len] = '\0';
    errno = 0;
    /* strtoll: jansson's own test of the range */
    (void)strtoll(digits, NULL, 10);
    if (errno == ERANGE) {
        return 0;
    }
    if (len == 2 && num[0] == '-' && num[1] == '0') {
        return scan_scalar(ctx, WCIM_MEMBER_INTEGER, "0", 1);
    }
    return scan_scalar(ctx, WCIM_MEMBER_INTEGER, num, len);
}

static int scan_string(void *ctx, const unsigned char *str, size_t len)
{
    return scan_scalar(ctx, WCIM_MEMBER_STRING, (const char *)str, len);
}

/* 0 for a duplicate key (jansson refuses it) or an object too wide. */
static int scan_key(void *ctx, const unsigned char *key, size_t len)
{
    scan_t *s = ctx;
    scan_level_t *in = scan_container(s);
    int i;

    for (i = 0; i < in->key_count; ++i) {
        if (in->key_lens[i] == len && memcmp(in->keys[i], key, len) == 0) {
            return 0;
        }
    }
    if (in->key_count == SCAN_MAX_KEYS) {
        return 0;
    }
    in->keys[in->key_count] = key;
    in->key_lens[in->key_count] = len;
    ++in->key_count;
    return 1;
}

/* 0 for what jansson or the envelope refuses (an array body, an array
 * client or data, an object or array in data) and for a body too deep. */
static int scan_open(scan_t *s, int is_array)
{
    scan_level_t *in = scan_container(s), *level;
    scan_object_t object = SCAN_OTHER;

    if (s->depth == SCAN_MAX_DEPTH) {
        return 0;
    }
    if (in == NULL) {
        if (is_array) {
            return 0;
        }
        object = SCAN_ROOT;
    }
    else if (in->object == SCAN_DATA) {
        return 0;
    }
    else if (in->object == SCAN_ROOT && scan_key_is(in, "client")) {
        if (is_array) {
            return 0;
        }
        object = SCAN_CLIENT;
        s->saw_client = 1;
    }
    else if (in->object == SCAN_ROOT && scan_key_is(in, "data")) {
        if (is_array) {
            return 0;
        }
        object = SCAN_DATA;
        s->saw_data = 1;
    }
    level = &s->levels[s->depth++];
    level->object = object;
    level->is_array = is_array;
    level->key_count = 0;
    return 1;
}

static int scan_start_map(void *ctx)
{
    return scan_open(ctx, 0);
}

static int scan_start_array(void *ctx)
{
    return scan_open(ctx, 1);
}

static int scan_close(void *ctx)
{
    scan_t *s = ctx;

    if (--s->depth == 0) {
        s->end = yajl_get_bytes_consumed(s->handle);
    }
    return 1;
}

static const yajl_callbacks scan_callbacks = {
    scan_null, scan_boolean, NULL, NULL, scan_number, scan_string,
    scan_start_map, scan_key, scan_close, scan_start_array, scan_close
};

/* yajl's memory comes from the pool (a parse then costs no malloc, and
 * the pool frees it all); each block keeps its size for yajl's realloc. */
#define BLOCK_HEADER (2 * sizeof(apr_size_t))   /* keeps APR's alignment */

static void *pool_malloc(void *pool, size_t size)
{
    apr_size_t *block = apr_palloc(pool, BLOCK_HEADER + size);

    block[0] = size;
    return (char *)block + BLOCK_HEADER;
}

static void *pool_realloc(void *pool, void *ptr, size_t size)
{
    apr_size_t old;
    void *grown;

    if (ptr == NULL) {
        return pool_malloc(pool, size);
    }
    old = *(apr_size_t *)((char *)ptr - BLOCK_HEADER);
    if (size <= old) {
        return ptr;
    }
    grown = pool_malloc(pool, size);
    memcpy(grown, ptr, old);
    return grown;
}

static void pool_free(void *pool, void *ptr)
{
    (void)pool;
    (void)ptr;
}

apr_status_t wcim_envelope_scan(wcim_envelope_t *env, const char *body,
                                apr_size_t len, apr_pool_t *p)
{
    scan_t s;
    yajl_handle handle;
    yajl_alloc_funcs alloc;

    if (!scan_may_read(body, len)) {
        return APR_EINCOMPLETE;
    }
    s.pool = p;
    s.env = env;
    s.members = apr_palloc(p, SCAN_MAX_KEYS * sizeof(wcim_member_t));
    s.depth = 0;
    s.saw_client = s.saw_data = 0;
    s.end = 0;
    alloc.malloc = pool_malloc;
    alloc.realloc = pool_realloc;
    alloc.free = pool_free;
    alloc.ctx = p;
    /* no yajl_free: the handle is pool memory only */
    s.handle = handle = yajl_alloc(&scan_callbacks, &alloc, &s);
    if (handle == NULL) {
        return APR_ENOMEM;
    }
    if (yajl_parse(handle, (const unsigned char *)body, len)
        != yajl_status_ok
        || yajl_complete_parse(handle) != yajl_status_ok
        || !s.saw_client || !s.saw_data) {
        return APR_EINCOMPLETE;
    }
    /* yajl takes a token cut short by the end of the body, after the
     * object, for the end (`{…} "`); jansson allows blanks only */
    for (; s.end < len; ++s.end) {
        if (!strchr(" \t\n\r", body[s.end]) || body[s.end] == '\0') {
            return APR_EINCOMPLETE;
        }
    }
    qsort(s.members, env->data_count, sizeof(wcim_member_t), wcim_member_cmp);
    env->data = s.members;
    return APR_SUCCESS;
}
