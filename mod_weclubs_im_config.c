/* mod_weclubs_im's server configuration: its defaults, creating and
 * merging it per server, and finishing it once the configuration is read
 * (defaults filled in, what is derived computed once), and what the
 * setters share: the values several directives take (callers, URLs,
 * secrets) and each directive's context. The setters are in
 * mod_weclubs_im_directives.c, the defaults in mod_weclubs_im_defaults.h. */

#include <stddef.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_uri.h>

#include "mod_weclubs_im.h"
#include "mod_weclubs_im_defaults.h"
#include "modules/wcim_digest.h"
#include "modules/wcim_route_parse.h"
#include "modules/wcim_sign.h"

/* the core keeps its own time limits (its unit tests use them): the same */
typedef char wcim_rc_timeouts_agree[
    (WCIM_RC_DEFAULT_TIMEOUT == apr_time_from_sec(WCIM_DEFAULT_RC_TIMEOUT)
     && WCIM_RC_DEFAULT_CONNECT_TIMEOUT
        == apr_time_from_sec(WCIM_DEFAULT_RC_CONNECT_TIMEOUT)) ? 1 : -1];

#define UNSET              -1

void *wcim_create_srv_conf(apr_pool_t *p, server_rec *s)
{
    wcim_srv_conf_t *sc = apr_pcalloc(p, sizeof(*sc));
    int i;

    sc->c.sign_forms = UNSET;
    sc->c.sign_check = UNSET;
    sc->c.token_lifetime_ms = UNSET;
    sc->c.rc.timeout = UNSET;
    sc->c.rc.connect_timeout = UNSET;
    sc->c.rc.rate_wait = UNSET;
    for (i = 0; i < WCIM_CALL_COUNT; ++i) {
        sc->c.rc.rate_limit[i] = UNSET;
    }
    sc->c.rc.nodes = UNSET;
    sc->c.group_sync = UNSET;
    sc->c.messages = UNSET;
    sc->c.message_max_age = UNSET;
    sc->c.callback_window = UNSET;
    sc->c.token_store_db = UNSET;
    sc->c.rc_token_lifetime = UNSET;
    sc->c.token_recheck = UNSET;
    sc->c.reconcile_interval = UNSET;
    sc->c.token_prefetch = UNSET;
    return sc;
}

#define PICK(field, unset) (add->field != (unset) ? add->field : base->field)

void *wcim_merge_srv_conf(apr_pool_t *p, void *basev, void *addv)
{
    wcim_srv_conf_t *base = basev, *add = addv;
    wcim_srv_conf_t *sc = apr_pcalloc(p, sizeof(*sc));
    int i;

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
    sc->c.rc.connect_timeout = PICK(c.rc.connect_timeout, UNSET);
    sc->c.rc.rate_wait = PICK(c.rc.rate_wait, UNSET);
    sc->c.rc.ca_file = PICK(c.rc.ca_file, NULL);
    for (i = 0; i < WCIM_CALL_COUNT; ++i) {
        sc->c.rc.rate_limit[i] = PICK(c.rc.rate_limit[i], UNSET);
    }
    sc->c.rc.nodes = PICK(c.rc.nodes, UNSET);
    sc->c.group_sync = PICK(c.group_sync, UNSET);
    sc->c.max_body = PICK(c.max_body, 0);
    sc->c.callback_max_body = PICK(c.callback_max_body, 0);
    sc->c.messages = PICK(c.messages, UNSET);
    sc->c.message_max_age = PICK(c.message_max_age, UNSET);
    sc->c.callback_window = PICK(c.callback_window, UNSET);
    sc->c.token_store_db = PICK(c.token_store_db, UNSET);
    sc->c.rc_token_lifetime = PICK(c.rc_token_lifetime, UNSET);
    sc->c.token_recheck = PICK(c.token_recheck, UNSET);
    sc->c.reconcile_interval = PICK(c.reconcile_interval, UNSET);
    sc->c.token_prefetch = PICK(c.token_prefetch, UNSET);
    sc->reconcile_given = add->reconcile_given || base->reconcile_given;
    sc->prefetch_given = add->prefetch_given || base->prefetch_given;
    sc->replay_window_given = add->replay_window_given
                              || base->replay_window_given;
    /* labels add up: a virtual host changes or adds some */
    sc->c.message_labels = (add->c.message_labels && base->c.message_labels)
        ? apr_table_overlay(p, add->c.message_labels, base->c.message_labels)
        : PICK(c.message_labels, NULL);
    for (i = 0; i < WCIM_STMT_COUNT; ++i) {
        sc->sql[i] = add->sql[i] ? add->sql[i] : base->sql[i];
    }
    return sc;
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

const char *wcim_conf_parse_callers(apr_array_header_t **pcallers,
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

const char *wcim_conf_parse_urls(apr_array_header_t **purls, apr_pool_t *p,
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
            || !uri.hostname || !*uri.hostname || uri.query || uri.fragment
            || uri.user || uri.password) {
            return apr_psprintf(p, "WeclubsIMRongCloudURL: '%s' is not an "
                                "http:// or https:// base URL", url);
        }
        APR_ARRAY_IDX(a, i, const char *) = url;
    }
    *purls = a;
    return NULL;
}

/* A secret given inline or as file:<path>. The file is read now, must be
 * unreadable by others, and its trailing line break is not part of it. */
const char *wcim_conf_parse_secret(const char **psecret, apr_size_t *plen,
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
    /* open first, then look at what was opened: no race with a rename */
    if (path == NULL
        || apr_file_open(&f, path, APR_FOPEN_READ, 0, cmd->temp_pool)
           != APR_SUCCESS
        || apr_file_info_get(&fi, APR_FINFO_TYPE | APR_FINFO_PROT
                                  | APR_FINFO_SIZE, f) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: cannot read secret file %s",
                            cmd->cmd->name, arg + 5);
    }
    if (fi.filetype != APR_REG) {
        return apr_psprintf(cmd->pool, "%s: secret file %s is not a regular "
                            "file", cmd->cmd->name, path);
    }
    if (fi.protection & (APR_FPROT_WREAD | APR_FPROT_WWRITE
                         | APR_FPROT_GWRITE)) {
        return apr_psprintf(cmd->pool, "%s: secret file %s is readable by "
                            "every user, or writable by others; chmod "
                            "o-rw,g-w it", cmd->cmd->name, path);
    }
    if (fi.size > 4096) {
        return apr_psprintf(cmd->pool, "%s: secret file %s is larger than "
                            "4096 bytes", cmd->cmd->name, path);
    }
    len = (apr_size_t)fi.size;
    buf = apr_palloc(cmd->pool, len + 1);
    if (len && (rv = apr_file_read_full(f, buf, len, &len)) != APR_SUCCESS) {
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

/* Each directive's context, from mod_weclubs_im_defaults.h. The default
 * as the docs show it is compiled too: a value that WCIM_ONOFF or WCIM_OFF
 * cannot spell fails the build. */
#define CONTEXT_VHOST 0
#define CONTEXT_GLOBAL GLOBAL_ONLY
#define FACT(name, context, dflt) { #name, CONTEXT_##context, dflt },
static const struct {
    const char *name;
    int forbidden;        /* for ap_check_cmd_context */
    const char *dflt;     /* as docs/directives.md shows it */
} facts[] = { WCIM_DIRECTIVES(FACT) };

const char *wcim_conf_check_context(cmd_parms *cmd)
{
    apr_size_t i;

    for (i = 0; i < sizeof(facts) / sizeof(facts[0]); ++i) {
        if (strcmp(facts[i].name, cmd->cmd->name) == 0) {
            return facts[i].forbidden
                   ? ap_check_cmd_context(cmd, facts[i].forbidden) : NULL;
        }
    }
    return NULL;
}

const char *wcim_conf_sql(const wcim_srv_conf_t *sc, wcim_stmt_t which)
{
    const char *dflt = wcim_store_specs[which].sql;

    /* a default given again is the default (the store tells it by its
     * address: token_groups' rows are then ordered by the store) */
    return sc->sql[which] && strcmp(sc->sql[which], dflt) != 0
           ? sc->sql[which] : dflt;
}

int wcim_conf_token_groups(const wcim_srv_conf_t *sc)
{
    /* a replaced token or groups with the default token_groups would
     * check one query and list from another */
    return !sc->c.messages
           && (sc->sql[WCIM_STMT_TOKEN_GROUPS]
               || (!sc->sql[WCIM_STMT_TOKEN] && !sc->sql[WCIM_STMT_GROUPS]));
}

int wcim_conf_token_user(const wcim_srv_conf_t *sc)
{
    return sc->sql[WCIM_STMT_TOKEN_USER]
           || (!sc->sql[WCIM_STMT_TOKEN] && !sc->sql[WCIM_STMT_USER]);
}

static int take_first_label(void *chosen, const char *type,
                            const char *label)
{
    if (apr_table_get(chosen, type) == NULL) {
        apr_table_setn(chosen, type, label);
    }
    return 1;
}

static int set_label(void *labels, const char *type, const char *label)
{
    apr_table_setn(labels, type, label);
    return 1;
}

/* Fill in what neither the server nor the main server set. */
void wcim_conf_finish(wcim_srv_conf_t *sc, apr_pool_t *p)
{
    wcim_config_t *c = &sc->c;

    if (c->sign_forms == UNSET) {
        c->sign_forms = WCIM_SIGN_FORMS_ALL;
    }
    if (c->sign_check == UNSET) {
        c->sign_check = WCIM_DEFAULT_SIGN_CHECK;
    }
    if (c->callers == NULL) {
        wcim_conf_parse_callers(&c->callers, p, WCIM_DEFAULT_CALLERS);
    }
    if (c->token_lifetime_ms == UNSET) {
        c->token_lifetime_ms = (apr_int64_t)WCIM_DEFAULT_TOKEN_LIFETIME * 1000;
    }
    if (c->rc.urls == NULL) {
        wcim_conf_parse_urls(&c->rc.urls, p, WCIM_DEFAULT_RC_URLS);
    }
    if (c->rc.secret_tag == NULL) {
        char hex[WCIM_SHA1_HEX_LEN + 1];

        /* 8 hex digits: enough to tell secrets apart, useless to guess one */
        if (c->rc.app_secret) {
            wcim_sha1_hex(hex, c->rc.app_secret, strlen(c->rc.app_secret), 0);
        }
        c->rc.secret_tag = c->rc.app_secret ? apr_pstrmemdup(p, hex, 8) : "-";
    }
    if (c->rc.timeout == UNSET) {
        c->rc.timeout = apr_time_from_sec(WCIM_DEFAULT_RC_TIMEOUT);
    }
    if (c->rc.connect_timeout == UNSET) {
        c->rc.connect_timeout =
            apr_time_from_sec(WCIM_DEFAULT_RC_CONNECT_TIMEOUT);
    }
    if (c->rc.rate_wait == UNSET) {
        c->rc.rate_wait = apr_time_from_sec(WCIM_DEFAULT_RC_RATE_WAIT);
    }
    if (c->rc.rate_limit[WCIM_CALL_GET_TOKEN] == UNSET) {
        c->rc.rate_limit[WCIM_CALL_GET_TOKEN] = WCIM_DEFAULT_RATE_GET_TOKEN;
    }
    if (c->rc.rate_limit[WCIM_CALL_REFRESH] == UNSET) {
        c->rc.rate_limit[WCIM_CALL_REFRESH] = WCIM_DEFAULT_RATE_REFRESH;
    }
    if (c->rc.rate_limit[WCIM_CALL_GROUP_SYNC] == UNSET) {
        c->rc.rate_limit[WCIM_CALL_GROUP_SYNC] =
            WCIM_DEFAULT_RATE_GROUP_SYNC;
    }
    if (c->rc.rate_limit[WCIM_CALL_BLOCK] == UNSET) {
        c->rc.rate_limit[WCIM_CALL_BLOCK] = WCIM_DEFAULT_RATE_BLOCK;
    }
    if (c->rc.nodes == UNSET) {
        c->rc.nodes = WCIM_DEFAULT_RC_NODES;
    }
    if (c->group_sync == UNSET) {
        c->group_sync = WCIM_DEFAULT_GROUP_SYNC;
    }
    if (c->max_body == 0) {
        c->max_body = WCIM_DEFAULT_MAX_BODY;
    }
    if (c->callback_max_body == 0) {
        c->callback_max_body = WCIM_DEFAULT_CALLBACK_MAX_BODY;
    }
    if (c->messages == UNSET) {
        c->messages = WCIM_DEFAULT_MESSAGES;
    }
    if (c->message_max_age == UNSET) {
        c->message_max_age = apr_time_from_sec(WCIM_DEFAULT_MESSAGE_MAX_AGE);
    }
    if (c->callback_window == UNSET) {
        c->callback_window = apr_time_from_sec(WCIM_DEFAULT_CALLBACK_WINDOW);
    }
    if (c->token_store_db == UNSET) {
        c->token_store_db =
            strcasecmp(WCIM_DEFAULT_TOKEN_STORE_TEXT, "db") == 0;
    }
    if (c->rc_token_lifetime == UNSET) {
        c->rc_token_lifetime =
            apr_time_from_sec(WCIM_DEFAULT_RC_TOKEN_LIFETIME);
    }
    if (c->token_recheck == UNSET) {
        c->token_recheck = apr_time_from_sec(WCIM_DEFAULT_TOKEN_RECHECK);
    }
    if (c->reconcile_interval == UNSET) {
        c->reconcile_interval =
            apr_time_from_sec(WCIM_DEFAULT_RECONCILE_INTERVAL);
    }
    if (c->token_prefetch == UNSET) {
        c->token_prefetch = WCIM_DEFAULT_TOKEN_PREFETCH;
    }
    if (sc->stmt_tag == NULL) {
        int i;

        /* only the statements this server uses (NULL: never prepared,
         * their tables need not exist) */
        for (i = 0; i < WCIM_STMT_COUNT; ++i) {
            int used = i < WCIM_STMT_CORE_COUNT ? 1
                       : i < WCIM_STMT_RC_TOKEN_FIRST ? c->messages
                       : i < WCIM_STMT_RECONCILE_FIRST ? c->token_store_db
                       : i < WCIM_STMT_TOKEN_GROUPS
                         ? c->token_store_db && (c->reconcile_interval > 0
                                                 || c->token_prefetch > 0)
                       : i == WCIM_STMT_TOKEN_GROUPS ? wcim_conf_token_groups(sc)
                       : wcim_conf_token_user(sc);
            sc->stmt_sql[i] = used ? wcim_conf_sql(sc, (wcim_stmt_t)i) : NULL;
        }
        sc->stmt_tag = apr_psprintf(p, "%lx",
                                    (unsigned long)(apr_uintptr_t)sc);
    }
    if (!sc->labels_done) {
        /* the defaults under whatever the directives said */
        apr_table_t *labels = apr_table_make(p, 16);
        wcim_routing_default_labels(labels);
        if (c->message_labels) {
            apr_table_t *chosen = apr_table_make(p, 16);
            apr_table_do(take_first_label, chosen, c->message_labels, NULL);
            apr_table_do(set_label, labels, chosen, NULL);
        }
        c->message_labels = labels;
        sc->labels_done = 1;
    }
    c->cache_ttl = wcim_cache_ttl();
}

