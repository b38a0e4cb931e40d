/* The request envelope, read in one streaming pass (yajl) when it is the
 * plain kind clients send, and by jansson otherwise: jansson's reading is
 * the definition (fuzz/envelope_reference.c; fuzz_envelope compares). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <jansson.h>
#include <yajl/yajl_parse.h>

#include "wcim_envelope.h"
#include "wcim_reals.h"
#include "wcim_decimal.h"
#include "wcim_json.h"
#include "wcim_result.h"

/* 18 digits always fit a signed 64-bit integer, in every SQL engine. */
#define USER_ID_MAX_DIGITS 18

/* 2^53: every integer below it is exact in a double (2^53 itself may be
 * 2^53 + 1 rounded). */
#define EXACT_DOUBLE_LIMIT 9007199254740992.0

/* The streaming pass reads envelopes at most this deep, with objects at
 * most this wide, so that its duplicate-key check is a short list; bigger
 * ones (no client sends them) go to jansson. */
#define SCAN_MAX_DEPTH 8
#define SCAN_MAX_KEYS 16

static int member_cmp(const void *a, const void *b)
{
    return strcmp(((const wcim_member_t *)a)->key,
                  ((const wcim_member_t *)b)->key);
}

/* ---- the streaming pass ------------------------------------------------ */

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

/* APR_SUCCESS with *env filled in when the streaming pass read the body;
 * APR_EINCOMPLETE when it leaves the body to jansson. */
static apr_status_t scan_envelope(wcim_envelope_t *env, const char *body,
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
    qsort(s.members, env->data_count, sizeof(wcim_member_t), member_cmp);
    env->data = s.members;
    return APR_SUCCESS;
}

/* ---- jansson, for every other body ------------------------------------ */

/* data's members, from jansson's reading of data (scalars only). */
static void members_of(wcim_envelope_t *env, json_t *data, apr_pool_t *p)
{
    apr_size_t n = json_object_size(data);
    wcim_member_t *members = apr_palloc(p, (n ? n : 1) * sizeof(*members));
    wcim_member_t *m = members;
    const char *key;
    json_t *v;

    json_object_foreach(data, key, v) {
        m->key = key;
        m->key_len = strlen(key);
        switch (json_typeof(v)) {
        case JSON_STRING:
            m->type = WCIM_MEMBER_STRING;
            m->text = json_string_value(v);
            m->text_len = json_string_length(v);
            break;
        case JSON_INTEGER:
            m->type = WCIM_MEMBER_INTEGER;
            m->text = apr_psprintf(p, "%" APR_INT64_T_FMT,
                                   (apr_int64_t)json_integer_value(v));
            m->text_len = strlen(m->text);
            break;
        case JSON_TRUE:
        case JSON_FALSE:
            m->type = WCIM_MEMBER_BOOLEAN;
            m->text = json_is_true(v) ? "true" : "false";
            m->text_len = strlen(m->text);
            break;
        default:
            /* the caller let only scalars through */
            m->type = WCIM_MEMBER_NULL;
            m->text = "null";
            m->text_len = 4;
            break;
        }
        ++m;
    }
    qsort(members, n, sizeof(*members), member_cmp);
    env->data = members;
    env->data_count = n;
}

static apr_status_t parse_by_jansson(wcim_envelope_t *env, const char **perr,
                                     const char *body, apr_size_t len,
                                     apr_pool_t *p)
{
    json_t *root, *client, *data, *v;
    const char *key;
    void *it;
    int ints_are_reals = 0;
    apr_table_t *reals = NULL;
    apr_status_t rv;

    rv = wcim_json_parse(&root, perr, body, len, p);
    if (rv == APR_ERANGE) {
        /* An integer beyond 64 bits (a client's numeric request id, say):
         * valid JSON, which jansson reads only as reals. Members outside
         * data are read as strings or not at all; data is put back to
         * integers below. */
        rv = wcim_json_parse_reals(&root, perr, body, len, p);
        ints_are_reals = 1;
        /* and what was written as a real stays one (3.8e1 is no user
         * 38): told apart by the text; unreadable to yajl, none is
         * taken */
        if (rv == APR_SUCCESS
            && wcim_data_reals(&reals, body, len, p) != APR_SUCCESS) {
            ints_are_reals = 0;
        }
    }
    if (rv != APR_SUCCESS) {
        *perr = apr_pstrcat(p, "body is not JSON: ", *perr, NULL);
        goto refuse;
    }
    if (!json_is_object(root)) {
        *perr = "body is not a JSON object";
        goto refuse;
    }
    client = json_object_get(root, "client");
    data = json_object_get(root, "data");
    if (!json_is_object(client) || !json_is_object(data)) {
        *perr = "client and data must be JSON objects";
        goto refuse;
    }
    for (it = json_object_iter(data); it;
         it = json_object_iter_next(data, it)) {
        key = json_object_iter_key(it);
        v = json_object_iter_value(it);
        if (ints_are_reals && json_is_real(v)
            && !apr_table_get(reals, key)
            && json_real_value(v) > -EXACT_DOUBLE_LIMIT
            && json_real_value(v) < EXACT_DOUBLE_LIMIT
            && json_real_value(v) == (double)(json_int_t)json_real_value(v)) {
            /* was an integer (or an integral real, which this parse cannot
             * tell apart); the signature needs its decimal digits, so only
             * those a double holds exactly are taken */
            json_object_iter_set_new(data, it,
                json_integer((json_int_t)json_real_value(v)));
            continue;
        }
        if (json_is_real(v) || json_is_object(v) || json_is_array(v)) {
            *perr = apr_psprintf(p, "data.%s is not a string, integer "
                                 "(within 64 bits), boolean or null", key);
            goto refuse;
        }
    }

    members_of(env, data, p);
    v = json_object_get(client, "caller");
    env->caller = json_is_string(v) ? json_string_value(v) : NULL;
    v = json_object_get(root, "id");
    env->id = json_is_string(v) ? json_string_value(v) : NULL;
    v = json_object_get(root, "sign");
    if (json_is_string(v)) {
        env->sign = json_string_value(v);
        env->sign_len = json_string_length(v);
    }
    return APR_SUCCESS;

refuse:
    return WCIM_STATUS(WCIM_RC_ILLEGAL_PARAM);
}

apr_status_t wcim_envelope_parse(wcim_envelope_t **penv, const char **perr,
                                 const char *body, apr_size_t len,
                                 apr_pool_t *p)
{
    wcim_envelope_t *env = apr_pcalloc(p, sizeof(*env));
    apr_status_t rv;

    *penv = NULL;
    *perr = NULL;
    /* jansson costs ~190 instructions a byte, the streaming pass a tenth:
     * it takes the common body, jansson everything else (refusals too) */
    rv = scan_envelope(env, body, len, p);
    if (rv == APR_EINCOMPLETE) {
        memset(env, 0, sizeof(*env));
        rv = parse_by_jansson(env, perr, body, len, p);
    }
    if (rv == APR_SUCCESS) {
        *penv = env;
    }
    return rv;
}

/* ---- data's members ----------------------------------------------------- */

static const wcim_member_t *member_get(const wcim_envelope_t *env,
                                       const char *key)
{
    apr_size_t i;

    for (i = 0; i < env->data_count; ++i) {
        if (strcmp(env->data[i].key, key) == 0) {
            return &env->data[i];
        }
    }
    return NULL;
}

static int is_canonical_decimal(const char *s, apr_size_t len)
{
    apr_int64_t v;

    return wcim_decimal_parse(&v, s, len, USER_ID_MAX_DIGITS) == APR_SUCCESS
           && !(s[0] == '0' && len > 1);
}

apr_status_t wcim_envelope_user_id(const char **puser_id,
                                   const wcim_envelope_t *env, apr_pool_t *p)
{
    const wcim_member_t *m = member_get(env, "user_id");

    *puser_id = NULL;
    if (m == NULL || m->type == WCIM_MEMBER_NULL) {
        return WCIM_STATUS(WCIM_RC_NO_USER_ID);
    }
    /* an integer's text is canonical decimal already, with its '-' */
    if ((m->type == WCIM_MEMBER_STRING || m->type == WCIM_MEMBER_INTEGER)
        && is_canonical_decimal(m->text, m->text_len)) {
        *puser_id = m->text;
        return APR_SUCCESS;
    }
    return WCIM_STATUS(WCIM_RC_ILLEGAL_PARAM);
}

apr_status_t wcim_envelope_token(const char **ptoken, apr_size_t *plen,
                                 const wcim_envelope_t *env)
{
    const wcim_member_t *m = member_get(env, "token");

    *ptoken = NULL;
    *plen = 0;
    if (m == NULL || m->type == WCIM_MEMBER_NULL
        || (m->type == WCIM_MEMBER_STRING && m->text_len == 0)) {
        return WCIM_STATUS(WCIM_RC_NO_TOKEN);
    }
    if (m->type != WCIM_MEMBER_STRING) {
        /* present but not a token (a number, a boolean): it can match no
         * stored token, so the token check answers it (3010) */
        *ptoken = "";
        return APR_SUCCESS;
    }
    *ptoken = m->text;
    *plen = m->text_len;
    return APR_SUCCESS;
}
