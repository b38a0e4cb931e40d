/* mod_bench_const: the benchmark's "constant answer" handler.
 *
 * The cheapest honest POST endpoint httpd can have: it reads the whole
 * request body (and throws it away), then writes a fixed answer, loaded
 * once at start-up from a file, with the module's Content-Type. Comparing
 * mod_weclubs_im against it shows what the module's own work costs on top
 * of httpd's request handling.
 *
 *   LoadModule bench_const_module .../mod_bench_const.so
 *   BenchConstFile /path/to/answer.json
 *   <Location /const>
 *       SetHandler bench-const
 *   </Location>
 *
 * It also has a handler `bench-mark` that answers 204 and does nothing
 * else: bench.py's callgrind run sends one between request sequences and
 * runs valgrind with --dump-before=bench_mark_handler, so that each
 * sequence lands in a callgrind part of its own.
 *
 * Built by bench/run.sh with `apxs -c`; not part of the product. */

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_protocol.h>
#include <http_request.h>

#include <apr_buckets.h>
#include <apr_file_io.h>
#include <apr_strings.h>

#define BENCH_CONST_TYPE "application/json;charset=UTF-8"

module AP_MODULE_DECLARE_DATA bench_const_module;

/* One answer for the whole server, read at configuration time. */
static const char *answer;
static apr_size_t answer_len;

static const char *set_const_file(cmd_parms *cmd, void *dc, const char *arg)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_size_t n;
    char *buf;
    const char *path = ap_server_root_relative(cmd->pool, arg);

    if (path == NULL
        || apr_file_open(&f, path, APR_FOPEN_READ, 0, cmd->pool) != APR_SUCCESS
        || apr_file_info_get(&fi, APR_FINFO_SIZE, f) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "BenchConstFile: cannot read %s", arg);
    }
    n = (apr_size_t)fi.size;
    buf = apr_palloc(cmd->pool, n + 1);
    if (n && apr_file_read_full(f, buf, n, &n) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "BenchConstFile: cannot read %s", arg);
    }
    buf[n] = '\0';
    apr_file_close(f);
    answer = buf;
    answer_len = n;
    return NULL;
}

static int bench_const_handler(request_rec *r)
{
    apr_bucket_brigade *bb;
    char discard[HUGE_STRING_LEN];
    apr_off_t total = 0;
    long n;
    int rv;

    if (r->handler == NULL || strcmp(r->handler, "bench-const") != 0) {
        return DECLINED;
    }
    if (answer == NULL) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* read the whole body, as any POST endpoint must */
    if ((rv = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK)) != OK) {
        return rv;
    }
    if (ap_should_client_block(r)) {
        while ((n = ap_get_client_block(r, discard, sizeof(discard))) > 0) {
            total += n;
            if (total > 16 * 1024 * 1024) {
                return HTTP_REQUEST_ENTITY_TOO_LARGE;
            }
        }
        if (n < 0) {
            return HTTP_BAD_REQUEST;
        }
    }

    ap_set_content_type(r, BENCH_CONST_TYPE);
    ap_set_content_length(r, answer_len);
    if (r->header_only) {
        return OK;
    }
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_immortal_create(answer, answer_len,
                                                           bb->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
    ap_pass_brigade(r->output_filters, bb);
    return OK;
}

/* Entered only for the marker request, never for another one: callgrind
 * dumps a part each time this function is entered. */
static int __attribute__((noinline)) bench_mark_handler(request_rec *r)
{
    ap_discard_request_body(r);
    return HTTP_NO_CONTENT;
}

static int bench_mark_hook(request_rec *r)
{
    if (r->handler == NULL || strcmp(r->handler, "bench-mark") != 0) {
        return DECLINED;
    }
    return bench_mark_handler(r);
}

static void bench_const_hooks(apr_pool_t *p)
{
    ap_hook_handler(bench_const_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(bench_mark_hook, NULL, NULL, APR_HOOK_FIRST);
}

static const command_rec bench_const_cmds[] = {
    AP_INIT_TAKE1("BenchConstFile", set_const_file, NULL, RSRC_CONF,
                  "the file whose bytes every request gets as its answer"),
    { NULL }
};

module AP_MODULE_DECLARE_DATA bench_const_module = {
    STANDARD20_MODULE_STUFF,
    NULL, NULL, NULL, NULL,
    bench_const_cmds,
    bench_const_hooks
};
