/* mod_weclubs_im: the weclubs instant-messaging API (/im/get_token and
 * /im/get_group_chat_list) inside httpd.
 *
 * This file is the glue: module record, directives, hooks, and the handler
 * that reads the body, hands it to the core in modules/ and writes the
 * answer. The core knows nothing of httpd. */

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>

#include <apr_dbd.h>
#include <mod_dbd.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_optional.h>
#include <apr_strings.h>
#include <apr_uri.h>

#include "modules/wcim_api.h"
#include "modules/wcim_config.h"
#include "modules/wcim_result.h"
#include "modules/wcim_sign.h"
#include "modules/wcim_store.h"

#define WCIM_HANDLER "weclubs-im"
#define WCIM_CONTENT_TYPE "application/json;charset=UTF-8"

#define DEFAULT_CALLERS    "ios_test weclubs_android chrome_test"
#define DEFAULT_LIFETIME_S 604800
#define DEFAULT_RC_URLS    "https://api.rong-api.com https://api-b.rong-api.com"
#define DEFAULT_RC_TIMEOUT apr_time_from_sec(5)
#define DEFAULT_MAX_BODY   65536
#define MAX_BODY_LIMIT     (16 * 1024 * 1024)
#define MAX_RC_TIMEOUT     apr_time_from_sec(300)
#define UNSET              -1

module AP_MODULE_DECLARE_DATA weclubs_im_module;
APLOG_USE_MODULE(weclubs_im);

/* Per server. Fields start unset (NULL or UNSET) so that a virtual host
 * inherits what it does not say; post_config fills in the defaults. */
typedef struct {
    wcim_config_t c;
    int configured;   /* some WeclubsIM directive applies to this server */
} wcim_srv_conf_t;

static APR_OPTIONAL_FN_TYPE(ap_dbd_prepare) *dbd_prepare_fn;
static APR_OPTIONAL_FN_TYPE(ap_dbd_acquire) *dbd_acquire_fn;

/* ------------------------------------------------------------------ */
/* configuration                                                        */

static void *create_srv_conf(apr_pool_t *p, server_rec *s)
{
    wcim_srv_conf_t *sc = apr_pcalloc(p, sizeof(*sc));

    sc->c.sign_forms = UNSET;
    sc->c.sign_check = UNSET;
    sc->c.token_lifetime_ms = UNSET;
    sc->c.rc.timeout = UNSET;
    sc->c.group_sync = UNSET;
    return sc;
}

#define PICK(field, unset) (add->field != (unset) ? add->field : base->field)

static void *merge_srv_conf(apr_pool_t *p, void *basev, void *addv)
{
    wcim_srv_conf_t *base = basev, *add = addv;
    wcim_srv_conf_t *sc = apr_pcalloc(p, sizeof(*sc));

    sc->configured = add->configured || base->configured;
    sc->c.sign_secret = PICK(c.sign_secret, NULL);
    sc->c.sign_secret_len = add->c.sign_secret ? add->c.sign_secret_len
                                               : base->c.sign_secret_len;
    sc->c.sign_forms = PICK(c.sign_forms, UNSET);
    sc->c.sign_check = PICK(c.sign_check, UNSET);
    sc->c.callers = PICK(c.callers, NULL);
    sc->c.token_lifetime_ms = PICK(c.token_lifetime_ms, UNSET);
    sc->c.rc.app_key = PICK(c.rc.app_key, NULL);
    sc->c.rc.app_secret = PICK(c.rc.app_secret, NULL);
    sc->c.rc.urls = PICK(c.rc.urls, NULL);
    sc->c.rc.timeout = PICK(c.rc.timeout, UNSET);
    sc->c.rc.ca_file = PICK(c.rc.ca_file, NULL);
    sc->c.group_sync = PICK(c.group_sync, UNSET);
    sc->c.max_body = PICK(c.max_body, 0);
    return sc;
}

static wcim_srv_conf_t *cmd_conf(cmd_parms *cmd)
{
    wcim_srv_conf_t *sc = ap_get_module_config(cmd->server->module_config,
                                               &weclubs_im_module);
    sc->configured = 1;
    return sc;
}

/* A secret given inline or as file:<path>. The file is read now, must be
 * unreadable by others, and its trailing line break is not part of it. */
static const char *secret_value(const char **psecret, apr_size_t *plen,
                                cmd_parms *cmd, const char *arg)
{
    const char *path;
    apr_finfo_t fi;
    apr_file_t *f;
    apr_size_t len;
    char *buf;
    apr_status_t rv;

    if (strncmp(arg, "file:", 5) != 0) {
        if (*arg == '\0') {
            return apr_pstrcat(cmd->pool, cmd->cmd->name,
                               " needs a non-empty secret", NULL);
        }
        *psecret = arg;
        *plen = strlen(arg);
        return NULL;
    }
    path = ap_server_root_relative(cmd->pool, arg + 5);
    if (path == NULL
        || (rv = apr_stat(&fi, path, APR_FINFO_PROT | APR_FINFO_SIZE,
                          cmd->temp_pool)) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: cannot read secret file %s",
                            cmd->cmd->name, arg + 5);
    }
    if (fi.protection & APR_FPROT_WREAD) {
        return apr_psprintf(cmd->pool, "%s: secret file %s is readable by "
                            "every user; chmod o-r it", cmd->cmd->name, path);
    }
    if (fi.size > 4096) {
        return apr_psprintf(cmd->pool, "%s: secret file %s is larger than "
                            "4096 bytes", cmd->cmd->name, path);
    }
    len = (apr_size_t)fi.size;
    buf = apr_palloc(cmd->pool, len + 1);
    if ((rv = apr_file_open(&f, path, APR_FOPEN_READ, 0, cmd->temp_pool))
            != APR_SUCCESS
        || (len && (rv = apr_file_read_full(f, buf, len, &len))
                   != APR_SUCCESS)) {
        return apr_psprintf(cmd->pool, "%s: cannot read secret file %s",
                            cmd->cmd->name, path);
    }
    apr_file_close(f);
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) {
        --len;
    }
    buf[len] = '\0';
    if (len == 0) {
        return apr_psprintf(cmd->pool, "%s: secret file %s is empty",
                            cmd->cmd->name, path);
    }
    *psecret = buf;
    *plen = len;
    return NULL;
}

static const char *set_sign_secret(cmd_parms *cmd, void *dc, const char *arg)
{
    wcim_srv_conf_t *sc = cmd_conf(cmd);
    return secret_value(&sc->c.sign_secret, &sc->c.sign_secret_len, cmd, arg);
}

static const char *set_sign_forms(cmd_parms *cmd, void *dc, const char *a1,
                                  const char *a2)
{
    wcim_srv_conf_t *sc = cmd_conf(cmd);
    const char *args[2] = { a1, a2 };
    int i;

    sc->c.sign_forms = 0;
    for (i = 0; i < 2 && args[i]; ++i) {
        if (strcasecmp(args[i], "md5-sha1") == 0) {
            sc->c.sign_forms |= WCIM_SIGN_FORM_MD5_SHA1;
        }
        else if (strcasecmp(args[i], "sha1") == 0) {
            sc->c.sign_forms |= WCIM_SIGN_FORM_SHA1;
        }
        else {
            return apr_psprintf(cmd->pool, "WeclubsIMSignForms: '%s' is not "
                                "a signature form (md5-sha1, sha1)", args[i]);
        }
    }
    return NULL;
}

static const char *set_sign_check(cmd_parms *cmd, void *dc, int on)
{
    cmd_conf(cmd)->c.sign_check = on;
    return NULL;
}

static const char *set_group_sync(cmd_parms *cmd, void *dc, int on)
{
    cmd_conf(cmd)->c.group_sync = on;
    return NULL;
}

/* Split a directive's arguments into words. */
static apr_array_header_t *words(apr_pool_t *p, const char *args)
{
    apr_array_header_t *a = apr_array_make(p, 4, sizeof(const char *));
    const char *w;

    while (*(w = ap_getword_conf(p, &args)) != '\0') {
        *(const char **)apr_array_push(a) = w;
    }
    return a;
}

static const char *parse_callers(apr_array_header_t **pcallers,
                                 apr_pool_t *p, const char *args)
{
    apr_array_header_t *a = words(p, args);
    int i;

    if (a->nelts == 0) {
        return "WeclubsIMCallers needs at least one caller name";
    }
    for (i = 0; i < a->nelts; ++i) {
        const char *c;
        for (c = APR_ARRAY_IDX(a, i, const char *); *c; ++c) {
            if (!apr_isgraph(*c)) {
                return "WeclubsIMCallers: caller names are printable ASCII";
            }
        }
    }
    *pcallers = a;
    return NULL;
}

static const char *set_callers(cmd_parms *cmd, void *dc, const char *args)
{
    return parse_callers(&cmd_conf(cmd)->c.callers, cmd->pool, args);
}

static const char *set_token_lifetime(cmd_parms *cmd, void *dc,
                                      const char *arg)
{
    wcim_srv_conf_t *sc = cmd_conf(cmd);
    apr_int64_t secs;
    char *end;

    if (strcasecmp(arg, "off") == 0) {
        sc->c.token_lifetime_ms = 0;
        return NULL;
    }
    secs = apr_strtoi64(arg, &end, 10);
    if (*arg == '\0' || *end != '\0' || secs <= 0
        || secs > APR_INT64_C(100) * 365 * 86400) {
        return "WeclubsIMTokenLifetime takes a number of seconds or 'off'";
    }
    sc->c.token_lifetime_ms = secs * 1000;
    return NULL;
}

static const char *set_rc_app_key(cmd_parms *cmd, void *dc, const char *arg)
{
    if (*arg == '\0') {
        return "WeclubsIMRongCloudAppKey needs a non-empty key";
    }
    cmd_conf(cmd)->c.rc.app_key = arg;
    return NULL;
}

static const char *set_rc_app_secret(cmd_parms *cmd, void *dc,
                                     const char *arg)
{
    apr_size_t len;
    return secret_value(&cmd_conf(cmd)->c.rc.app_secret, &len, cmd, arg);
}

static const char *parse_urls(apr_array_header_t **purls, apr_pool_t *p,
                              const char *args)
{
    apr_array_header_t *a = words(p, args);
    int i;

    if (a->nelts == 0) {
        return "WeclubsIMRongCloudURL needs at least one URL";
    }
    for (i = 0; i < a->nelts; ++i) {
        char *url = apr_pstrdup(p, APR_ARRAY_IDX(a, i, const char *));
        apr_size_t n = strlen(url);
        apr_uri_t uri;

        while (n > 0 && url[n - 1] == '/') {
            url[--n] = '\0';
        }
        if (apr_uri_parse(p, url, &uri) != APR_SUCCESS || !uri.scheme
            || (strcasecmp(uri.scheme, "http") && strcasecmp(uri.scheme,
                                                             "https"))
            || !uri.hostname || !*uri.hostname || uri.query || uri.fragment) {
            return apr_psprintf(p, "WeclubsIMRongCloudURL: '%s' is not an "
                                "http:// or https:// base URL", url);
        }
        APR_ARRAY_IDX(a, i, const char *) = url;
    }
    *purls = a;
    return NULL;
}

static const char *set_rc_urls(cmd_parms *cmd, void *dc, const char *args)
{
    return parse_urls(&cmd_conf(cmd)->c.rc.urls, cmd->pool, args);
}

static const char *set_rc_timeout(cmd_parms *cmd, void *dc, const char *arg)
{
    wcim_srv_conf_t *sc = cmd_conf(cmd);
    apr_interval_time_t t;

    if (ap_timeout_parameter_parse(arg, &t, "s") != APR_SUCCESS || t <= 0
        || t > MAX_RC_TIMEOUT) {
        return "WeclubsIMRongCloudTimeout takes a time up to 300 s, in "
               "seconds or with a unit (e.g. 5, 1500ms)";
    }
    sc->c.rc.timeout = t;
    return NULL;
}

static const char *set_rc_ca_file(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *path = ap_server_root_relative(cmd->pool, arg);
    apr_finfo_t fi;

    if (path == NULL
        || apr_stat(&fi, path, APR_FINFO_TYPE, cmd->temp_pool) != APR_SUCCESS
        || fi.filetype != APR_REG) {
        return apr_psprintf(cmd->pool, "WeclubsIMRongCloudCAFile: %s is not "
                            "a readable file", arg);
    }
    cmd_conf(cmd)->c.rc.ca_file = path;
    return NULL;
}

static const char *set_max_body(cmd_parms *cmd, void *dc, const char *arg)
{
    apr_int64_t n;
    char *end;

    n = apr_strtoi64(arg, &end, 10);
    if (*arg == '\0' || *end != '\0' || n < 256 || n > MAX_BODY_LIMIT) {
        return apr_psprintf(cmd->pool, "WeclubsIMMaxBody takes a number of "
                            "bytes from 256 to %d", MAX_BODY_LIMIT);
    }
    cmd_conf(cmd)->c.max_body = (apr_size_t)n;
    return NULL;
}

static const command_rec wcim_cmds[] = {
    AP_INIT_TAKE1("WeclubsIMSignSecret", set_sign_secret, NULL, RSRC_CONF,
                  "the shared request-signing secret, or file:<path>"),
    AP_INIT_TAKE12("WeclubsIMSignForms", set_sign_forms, NULL, RSRC_CONF,
                   "accepted signature forms: md5-sha1 and/or sha1"),
    AP_INIT_FLAG("WeclubsIMSignCheck", set_sign_check, NULL, RSRC_CONF,
                 "On to check request signatures (Off is for development)"),
    AP_INIT_RAW_ARGS("WeclubsIMCallers", set_callers, NULL, RSRC_CONF,
                     "the client.caller values allowed"),
    AP_INIT_TAKE1("WeclubsIMTokenLifetime", set_token_lifetime, NULL,
                  RSRC_CONF, "user token lifetime in seconds, or off"),
    AP_INIT_TAKE1("WeclubsIMRongCloudAppKey", set_rc_app_key, NULL,
                  RSRC_CONF, "the RongCloud App Key"),
    AP_INIT_TAKE1("WeclubsIMRongCloudAppSecret", set_rc_app_secret, NULL,
                  RSRC_CONF, "the RongCloud App Secret, or file:<path>"),
    AP_INIT_RAW_ARGS("WeclubsIMRongCloudURL", set_rc_urls, NULL, RSRC_CONF,
                     "RongCloud API base URLs, primary first"),
    AP_INIT_TAKE1("WeclubsIMRongCloudTimeout", set_rc_timeout, NULL,
                  RSRC_CONF, "time limit of one RongCloud call (e.g. 5)"),
    AP_INIT_TAKE1("WeclubsIMRongCloudCAFile", set_rc_ca_file, NULL,
                  RSRC_CONF, "CA certificates to verify RongCloud with"),
    AP_INIT_FLAG("WeclubsIMGroupSync", set_group_sync, NULL, RSRC_CONF,
                 "On to push users' group sets to RongCloud"),
    AP_INIT_TAKE1("WeclubsIMMaxBody", set_max_body, NULL, RSRC_CONF,
                  "largest request body accepted, in bytes"),
    { NULL }
};

/* ------------------------------------------------------------------ */
/* start-up                                                             */

/* Fill in what neither the server nor the main server set. */
static void apply_defaults(wcim_srv_conf_t *sc, apr_pool_t *p)
{
    wcim_config_t *c = &sc->c;

    if (c->sign_forms == UNSET) {
        c->sign_forms = WCIM_SIGN_FORMS_ALL;
    }
    if (c->sign_check == UNSET) {
        c->sign_check = 1;
    }
    if (c->callers == NULL) {
        parse_callers(&c->callers, p, DEFAULT_CALLERS);
    }
    if (c->token_lifetime_ms == UNSET) {
        c->token_lifetime_ms = (apr_int64_t)DEFAULT_LIFETIME_S * 1000;
    }
    if (c->rc.urls == NULL) {
        parse_urls(&c->rc.urls, p, DEFAULT_RC_URLS);
    }
    if (c->rc.timeout == UNSET) {
        c->rc.timeout = DEFAULT_RC_TIMEOUT;
    }
    if (c->group_sync == UNSET) {
        c->group_sync = 1;
    }
    if (c->max_body == 0) {
        c->max_body = DEFAULT_MAX_BODY;
    }
}

static int wcim_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s)
{
    server_rec *sp;
    int i;

    dbd_prepare_fn = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_prepare);
    dbd_acquire_fn = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_acquire);

    for (sp = s; sp; sp = sp->next) {
        wcim_srv_conf_t *sc = ap_get_module_config(sp->module_config,
                                                   &weclubs_im_module);
        apply_defaults(sc, pconf);
        if (!sc->configured) {
            continue;
        }
        if (sc->c.sign_check && sc->c.sign_secret == NULL) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, sp, WCIMLOGNO(0001)
                         "WeclubsIMSignSecret is required while "
                         "WeclubsIMSignCheck is On (server %s:%u)",
                         sp->server_hostname, sp->port);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (!sc->c.sign_check) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, sp, WCIMLOGNO(0002)
                         "WeclubsIMSignCheck is Off (server %s:%u): requests "
                         "are not authenticated by signature. Development "
                         "only.", sp->server_hostname, sp->port);
        }
        if (!sc->c.rc.app_key || !sc->c.rc.app_secret) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, sp, WCIMLOGNO(0003)
                         "WeclubsIMRongCloudAppKey/AppSecret not set (server "
                         "%s:%u): get_token will answer 3000",
                         sp->server_hostname, sp->port);
        }
        if (dbd_prepare_fn == NULL || dbd_acquire_fn == NULL) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, sp, WCIMLOGNO(0004)
                         "mod_dbd is not loaded: it is required "
                         "(LoadModule dbd_module)");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        for (i = 0; i < WCIM_STMT_COUNT; ++i) {
            static const char *const sql[WCIM_STMT_COUNT] = {
                WCIM_SQL_TOKEN, WCIM_SQL_USER, WCIM_SQL_GROUPS
            };
            dbd_prepare_fn(sp, sql[i], wcim_store_labels[i]);
        }
    }
    return OK;
}

static void wcim_child_init(apr_pool_t *p, server_rec *s)
{
    if (wcim_rc_global_init() != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, WCIMLOGNO(0005)
                     "libcurl could not be initialised: RongCloud calls "
                     "will fail");
    }
}

/* ------------------------------------------------------------------ */
/* requests                                                             */

static void log_to_request(void *baton, const char *file, int line,
                           int level, apr_status_t rv, const char *msg)
{
    ap_log_rerror_(file, line, APLOG_MODULE_INDEX, level, rv,
                   (request_rec *)baton, "%s", msg);
}

static apr_status_t open_request_store(wcim_store_t **pstore,
                                       const char **perr, void *baton)
{
    request_rec *r = baton;
    ap_dbd_t *dbd;
    wcim_store_t *st;
    int i;

    *pstore = NULL;
    dbd = dbd_acquire_fn ? dbd_acquire_fn(r) : NULL;
    if (dbd == NULL) {
        *perr = "mod_dbd gave no connection (see DBDriver, DBDParams and "
                "the errors above)";
        return APR_EGENERAL;
    }
    st = apr_pcalloc(r->pool, sizeof(*st));
    st->driver = dbd->driver;
    st->handle = dbd->handle;
    for (i = 0; i < WCIM_STMT_COUNT; ++i) {
        st->stmts[i] = apr_hash_get(dbd->prepared, wcim_store_labels[i],
                                    APR_HASH_KEY_STRING);
        if (st->stmts[i] == NULL) {
            *perr = apr_psprintf(r->pool, "statement %s was not prepared",
                                 wcim_store_labels[i]);
            return APR_EGENERAL;
        }
    }
    *pstore = st;
    return APR_SUCCESS;
}

/* Read the whole body into one buffer, refusing more than max bytes.
 * *ptoo_large is set when the body is over the limit. */
static apr_status_t read_body(char **pbuf, apr_size_t *plen, int *ptoo_large,
                              request_rec *r, apr_size_t max)
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    apr_bucket_brigade *bb;
    apr_size_t len = 0, cap;
    char *buf;
    int seen_eos = 0;
    apr_status_t rv;

    *pbuf = NULL;
    *plen = 0;
    *ptoo_large = 0;
    cap = 1024;
    if (cl) {
        apr_off_t n;
        if (ap_parse_strict_length(&n, cl)) {
            if (n > (apr_off_t)max) {
                *ptoo_large = 1;   /* refused without reading a byte */
                return APR_SUCCESS;
            }
            cap = (apr_size_t)n + 1;
        }
    }
    buf = apr_palloc(r->pool, cap);
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    do {
        apr_bucket *b;

        rv = ap_get_brigade(r->input_filters, bb, AP_MODE_READBYTES,
                            APR_BLOCK_READ, HUGE_STRING_LEN);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
             b = APR_BUCKET_NEXT(b)) {
            const char *data;
            apr_size_t n;

            if (APR_BUCKET_IS_EOS(b)) {
                seen_eos = 1;
                break;
            }
            if ((rv = apr_bucket_read(b, &data, &n, APR_BLOCK_READ))
                != APR_SUCCESS) {
                return rv;
            }
            if (len + n > max) {
                *ptoo_large = 1;
                apr_brigade_cleanup(bb);
                return APR_SUCCESS;
            }
            if (len + n + 1 > cap) {
                char *nbuf;
                while (cap < len + n + 1) {
                    cap *= 2;
                }
                nbuf = apr_palloc(r->pool, cap);
                memcpy(nbuf, buf, len);
                buf = nbuf;
            }
            memcpy(buf + len, data, n);
            len += n;
        }
        apr_brigade_cleanup(bb);
    } while (!seen_eos);

    buf[len] = '\0';
    *pbuf = buf;
    *plen = len;
    return APR_SUCCESS;
}

static int has_body(request_rec *r)
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    return apr_table_get(r->headers_in, "Transfer-Encoding") != NULL
           || (cl && strcmp(cl, "0") != 0);
}

/* Write an answer in one brigade, with our JSON whatever the status. */
static int write_reply(request_rec *r, int status, const wcim_reply_t *reply,
                       apr_time_t now)
{
    const char *body;
    apr_size_t len;
    apr_bucket_brigade *bb;
    apr_status_t rv;

    if (wcim_reply_render(&body, &len, reply, now, r->pool) != APR_SUCCESS) {
        wcim_reply_t fallback = { WCIM_RC_INTERNAL, NULL, NULL };
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, WCIMLOGNO(0201)
                      "could not serialise the answer");
        wcim_reply_render(&body, &len, &fallback, now, r->pool);
    }
    r->status = status;
    ap_set_content_type(r, WCIM_CONTENT_TYPE);
    ap_set_content_length(r, len);
    apr_table_setn(r->notes, "weclubs-im-result",
                   apr_itoa(r->pool, reply->result_code));
    if (r->header_only) {
        return OK;
    }
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_pool_create(body, len, r->pool,
                                                       bb->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
    rv = ap_pass_brigade(r->output_filters, bb);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, r, WCIMLOGNO(0202)
                      "client went away before the answer was sent");
    }
    return OK;
}

/* An answer the core did not make: 404, 405, 413, unreadable bodies. */
static int refuse(request_rec *r, int status, int code, apr_time_t now)
{
    wcim_reply_t reply = { code, NULL, NULL };

    if (status != HTTP_OK && has_body(r)) {
        /* leave an unread body unread: close rather than drain it */
        r->connection->keepalive = AP_CONN_CLOSE;
    }
    return write_reply(r, status, &reply, now);
}

static int wcim_handler(request_rec *r)
{
    wcim_srv_conf_t *sc;
    wcim_ctx_t *ctx;
    wcim_reply_t reply;
    wcim_api_t api;
    const char *name;
    char *body;
    apr_size_t len;
    apr_time_t now = apr_time_now();
    int too_large;
    apr_status_t rv;

    if (r->handler == NULL || strcmp(r->handler, WCIM_HANDLER) != 0) {
        return DECLINED;
    }
    sc = ap_get_module_config(r->server->module_config, &weclubs_im_module);

    name = strrchr(r->uri, '/');
    name = name ? name + 1 : r->uri;
    if (wcim_api_find(&api, name) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, WCIMLOGNO(0203)
                      "3101: no API %s", r->uri);
        return refuse(r, HTTP_NOT_FOUND, WCIM_RC_NO_SUCH_API, now);
    }
    if (r->method_number != M_POST) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, WCIMLOGNO(0204)
                      "3100: method %s on %s", r->method, r->uri);
        apr_table_setn(r->headers_out, "Allow", "POST");
        return refuse(r, HTTP_METHOD_NOT_ALLOWED, WCIM_RC_BAD_METHOD, now);
    }

    rv = read_body(&body, &len, &too_large, r, sc->c.max_body);
    if (rv != APR_SUCCESS) {
        int status = ap_map_http_request_error(rv, HTTP_BAD_REQUEST);
        if (status == AP_FILTER_ERROR) {
            return status;   /* a filter has answered already */
        }
        ap_log_rerror(APLOG_MARK, APLOG_INFO, rv, r, WCIMLOGNO(0205)
                      "3001: could not read the request body");
        r->connection->keepalive = AP_CONN_CLOSE;
        return refuse(r, status, WCIM_RC_ILLEGAL_PARAM, now);
    }
    if (too_large) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, WCIMLOGNO(0206)
                      "3001: request body over WeclubsIMMaxBody (%"
                      APR_SIZE_T_FMT " bytes)", sc->c.max_body);
        r->connection->keepalive = AP_CONN_CLOSE;
        return refuse(r, HTTP_REQUEST_ENTITY_TOO_LARGE,
                      WCIM_RC_ILLEGAL_PARAM, now);
    }

    ctx = apr_pcalloc(r->pool, sizeof(*ctx));
    ctx->pool = r->pool;
    ctx->conf = &sc->c;
    ctx->now = now;
    ctx->log_level = ap_get_request_module_loglevel(r, APLOG_MODULE_INDEX);
    ctx->log = log_to_request;
    ctx->log_baton = r;
    ctx->store_open = open_request_store;
    ctx->store_baton = r;

    wcim_api_call(&reply, ctx, api, body, len);
    if (ctx->sync_groups) {
        /* after the answer has gone out: see wcim_log_transaction */
        ap_set_module_config(r->request_config, &weclubs_im_module, ctx);
    }
    if (ctx->caller) {
        apr_table_set(r->notes, "weclubs-im-caller", ctx->caller);
    }
    if (ctx->user_id) {
        apr_table_setn(r->notes, "weclubs-im-user", ctx->user_id);
    }
    return write_reply(r, HTTP_OK, &reply, now);
}

/* Runs once the answer has been written to the client, so the group sync
 * to RongCloud never delays it. */
static int wcim_log_transaction(request_rec *r)
{
    wcim_ctx_t *ctx = ap_get_module_config(r->request_config,
                                           &weclubs_im_module);
    if (ctx) {
        wcim_api_group_sync(ctx);
    }
    return DECLINED;
}

static void wcim_register_hooks(apr_pool_t *p)
{
    /* our statements must be registered before mod_dbd prepares them */
    static const char *const before_dbd[] = { "mod_dbd.c", NULL };

    ap_hook_post_config(wcim_post_config, NULL, before_dbd, APR_HOOK_MIDDLE);
    ap_hook_child_init(wcim_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(wcim_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_log_transaction(wcim_log_transaction, NULL, NULL,
                            APR_HOOK_MIDDLE);
}

module AP_MODULE_DECLARE_DATA weclubs_im_module = {
    STANDARD20_MODULE_STUFF,
    NULL,               /* per-directory config */
    NULL,               /* merge per-directory */
    create_srv_conf,    /* per-server config */
    merge_srv_conf,     /* merge per-server */
    wcim_cmds,
    wcim_register_hooks
};
