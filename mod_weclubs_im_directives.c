/* mod_weclubs_im's directives: each one's parsing and checks (a value
 * that cannot work fails configtest, naming the directive), and the
 * command table. Their defaults, limits and contexts are in
 * mod_weclubs_im_defaults.h. */

#include <stddef.h>
#include <stdlib.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <ap_provider.h>
#include <ap_socache.h>

#include "mod_weclubs_im.h"
#include "mod_weclubs_im_defaults.h"
#include "modules/wcim_sign.h"

APLOG_USE_MODULE(weclubs_im);

static wcim_srv_conf_t *cmd_conf(cmd_parms *cmd)
{
    wcim_srv_conf_t *sc = ap_get_module_config(cmd->server->module_config,
                                               &weclubs_im_module);
    sc->configured = 1;
    return sc;
}

static const char *set_sign_secret(cmd_parms *cmd, void *dc, const char *arg)
{
    wcim_srv_conf_t *sc = cmd_conf(cmd);
    return wcim_conf_parse_secret(&sc->c.sign_secret, &sc->c.sign_secret_len,
                                  cmd, arg);
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

static const char *set_callers(cmd_parms *cmd, void *dc, const char *args)
{
    return wcim_conf_parse_callers(&cmd_conf(cmd)->c.callers, cmd->pool, args);
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
        || secs > WCIM_MAX_TOKEN_LIFETIME) {
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
    return wcim_conf_parse_secret(&cmd_conf(cmd)->c.rc.app_secret, &len,
                                  cmd, arg);
}

static const char *set_rc_urls(cmd_parms *cmd, void *dc, const char *args)
{
    return wcim_conf_parse_urls(&cmd_conf(cmd)->c.rc.urls, cmd->pool, args);
}

/* A positive time in seconds or with a unit, up to `max`. */
static const char *parse_time(apr_interval_time_t *pt, cmd_parms *cmd,
                              const char *arg, apr_interval_time_t max)
{
    apr_interval_time_t t;

    if (ap_timeout_parameter_parse(arg, &t, "s") != APR_SUCCESS || t <= 0
        || t > max) {
        return apr_psprintf(cmd->pool, "%s takes a time up to %"
                            APR_TIME_T_FMT " s, in seconds or with a unit "
                            "(e.g. 5, 1500ms, 30mi, 1h)", cmd->cmd->name,
                            apr_time_sec(max));
    }
    *pt = t;
    return NULL;
}

static const char *set_rc_timeout(cmd_parms *cmd, void *dc, const char *arg)
{
    return parse_time(&cmd_conf(cmd)->c.rc.timeout, cmd, arg,
                      apr_time_from_sec(WCIM_MAX_RC_TIMEOUT));
}

static const char *set_rc_connect_timeout(cmd_parms *cmd, void *dc,
                                          const char *arg)
{
    return parse_time(&cmd_conf(cmd)->c.rc.connect_timeout, cmd, arg,
                      apr_time_from_sec(WCIM_MAX_RC_TIMEOUT));
}

static const char *set_rc_rate_wait(cmd_parms *cmd, void *dc,
                                    const char *arg)
{
    return parse_time(&cmd_conf(cmd)->c.rc.rate_wait, cmd, arg,
                      apr_time_from_sec(WCIM_MAX_RC_TIMEOUT));
}

/* A positive time, or off (0). */
static const char *parse_time_or_off(apr_interval_time_t *pt, cmd_parms *cmd,
                                     const char *arg, apr_interval_time_t max)
{
    if (ap_cstr_casecmp(arg, "off") == 0) {
        *pt = 0;
        return NULL;
    }
    return parse_time(pt, cmd, arg, max)
           ? apr_psprintf(cmd->pool, "%s takes off or a time up to %"
                          APR_TIME_T_FMT " s, in seconds or with a unit "
                          "(e.g. 30, 90mi, 24h)", cmd->cmd->name,
                          apr_time_sec(max))
           : NULL;
}

static const char *set_rc_token_lifetime(cmd_parms *cmd, void *dc,
                                         const char *arg)
{
    return parse_time_or_off(&cmd_conf(cmd)->c.rc_token_lifetime, cmd, arg,
                             apr_time_from_sec(WCIM_MAX_RC_TOKEN_LIFETIME));
}

static const char *set_token_recheck(cmd_parms *cmd, void *dc,
                                     const char *arg)
{
    return parse_time_or_off(&cmd_conf(cmd)->c.token_recheck, cmd, arg,
                             apr_time_from_sec(WCIM_MAX_TOKEN_RECHECK));
}

static const char *set_reconcile_interval(cmd_parms *cmd, void *dc,
                                          const char *arg)
{
    cmd_conf(cmd)->reconcile_given = 1;
    return parse_time_or_off(&cmd_conf(cmd)->c.reconcile_interval, cmd, arg,
                             apr_time_from_sec(WCIM_MAX_RECONCILE_INTERVAL));
}

static const char *set_token_prefetch(cmd_parms *cmd, void *dc,
                                      const char *arg)
{
    double n;
    char *end;

    cmd_conf(cmd)->prefetch_given = 1;
    if (ap_cstr_casecmp(arg, "off") == 0) {
        cmd_conf(cmd)->c.token_prefetch = 0;
        return NULL;
    }
    n = strtod(arg, &end);
    if (end == arg || *end != '\0' || !(n >= WCIM_MIN_TOKEN_PREFETCH
                                         && n <= WCIM_MAX_TOKEN_PREFETCH)) {
        return "WeclubsIMTokenPrefetch takes off or a number of calls a "
               "second, " WCIM_STR(WCIM_MIN_TOKEN_PREFETCH) " to "
               WCIM_STR(WCIM_MAX_TOKEN_PREFETCH);
    }
    cmd_conf(cmd)->c.token_prefetch = n;
    return NULL;
}

/* RongCloud's API names the calls: user/getToken, user/refresh,
 * group/sync, user/block (with user/unblock) (wcim_call_t's order) */
static const char *const rate_calls[WCIM_CALL_COUNT] = {
    "user/getToken", "user/refresh", "group/sync", "user/block"
};

static const char *set_rc_rate_limit(cmd_parms *cmd, void *dc,
                                     const char *call, const char *rate)
{
    char *end;
    double n;
    int i;

    for (i = 0; i < WCIM_CALL_COUNT; ++i) {
        if (ap_cstr_casecmp(call, rate_calls[i]) == 0) {
            break;
        }
    }
    if (i == WCIM_CALL_COUNT) {
        return apr_psprintf(cmd->pool, "WeclubsIMRongCloudRateLimit: %s is "
                            "not user/getToken, user/refresh, group/sync or "
                            "user/block",
                            call);
    }
    if (ap_cstr_casecmp(rate, "off") == 0) {
        cmd_conf(cmd)->c.rc.rate_limit[i] = 0;
        return NULL;
    }
    n = strtod(rate, &end);
    if (end == rate || *end != '\0' || !(n >= WCIM_MIN_RATE_LIMIT
                                          && n <= WCIM_MAX_RATE_LIMIT)) {
        return apr_psprintf(cmd->pool, "WeclubsIMRongCloudRateLimit %s takes "
                            "RongCloud's limit for the App Key in calls a "
                            "second (" WCIM_STR(WCIM_MIN_RATE_LIMIT) " to "
                            WCIM_STR(WCIM_MAX_RATE_LIMIT) "), or off", call);
    }
    cmd_conf(cmd)->c.rc.rate_limit[i] = n;
    return NULL;
}

static const char *set_rc_nodes(cmd_parms *cmd, void *dc, const char *arg)
{
    char *end;
    long n = strtol(arg, &end, 10);

    if (end == arg || *end != '\0' || n < WCIM_MIN_RC_NODES
        || n > WCIM_MAX_RC_NODES) {
        return "WeclubsIMRongCloudNodes takes the number of servers that "
               "share the RongCloud App Key (" WCIM_STR(WCIM_MIN_RC_NODES)
               " to " WCIM_STR(WCIM_MAX_RC_NODES) ")";
    }
    cmd_conf(cmd)->c.rc.nodes = (int)n;
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

static const char *set_messages(cmd_parms *cmd, void *dc, int on)
{
    cmd_conf(cmd)->c.messages = on;
    return NULL;
}

static const char *set_token_store(cmd_parms *cmd, void *dc,
                                   const char *arg)
{
    if (strcasecmp(arg, "cache") == 0 || strcasecmp(arg, "db") == 0) {
        cmd_conf(cmd)->c.token_store_db = strcasecmp(arg, "db") == 0;
        return NULL;
    }
    return apr_psprintf(cmd->pool, "WeclubsIMTokenStore takes cache or db, "
                        "not '%s'", arg);
}

static const char *set_message_label(cmd_parms *cmd, void *dc,
                                     const char *type, const char *label)
{
    wcim_srv_conf_t *sc = cmd_conf(cmd);

    if (strncmp(type, "RC:", 3) != 0 && strchr(type, ':') == NULL) {
        return "WeclubsIMMessageLabel takes a RongCloud message type (such "
               "as RC:ImgMsg) and its preview text";
    }
    if (sc->c.message_labels == NULL) {
        sc->c.message_labels = apr_table_make(cmd->pool, 12);
    }
    apr_table_set(sc->c.message_labels, type, label);
    return NULL;
}

static const char *set_message_max_age(cmd_parms *cmd, void *dc,
                                       const char *arg)
{
    return parse_time(&cmd_conf(cmd)->c.message_max_age, cmd, arg,
                      apr_time_from_sec(WCIM_MAX_MESSAGE_MAX_AGE));
}

static const char *set_callback_window(cmd_parms *cmd, void *dc,
                                       const char *arg)
{
    return parse_time(&cmd_conf(cmd)->c.callback_window, cmd, arg,
                      apr_time_from_sec(WCIM_MAX_CALLBACK_WINDOW));
}

/* Removed: the signature covers only `data`, so a captured request came
 * back with a new id and passed. Accepted (a configuration that has it
 * still starts) and said at start-up (WCIM0012). */
static const char *set_replay_window(cmd_parms *cmd, void *dc,
                                     const char *arg)
{
    cmd_conf(cmd)->replay_window_given = 1;
    return NULL;
}

/* A number of bytes within [min, max], for the directive being read. */
static const char *parse_bytes(apr_size_t *pv, cmd_parms *cmd,
                               const char *arg, apr_int64_t min,
                               apr_int64_t max)
{
    apr_int64_t n;
    char *end;

    n = apr_strtoi64(arg, &end, 10);
    if (*arg == '\0' || *end != '\0' || n < min || n > max) {
        return apr_psprintf(cmd->pool, "%s takes a number of bytes from %"
                            APR_INT64_T_FMT " to %" APR_INT64_T_FMT,
                            cmd->cmd->name, min, max);
    }
    *pv = (apr_size_t)n;
    return NULL;
}

static const char *set_max_body(cmd_parms *cmd, void *dc, const char *arg)
{
    return parse_bytes(&cmd_conf(cmd)->c.max_body, cmd, arg,
                       WCIM_MIN_MAX_BODY, WCIM_MAX_MAX_BODY);
}

static const char *set_callback_max_body(cmd_parms *cmd, void *dc,
                                         const char *arg)
{
    return parse_bytes(&cmd_conf(cmd)->c.callback_max_body, cmd, arg,
                       WCIM_MIN_CALLBACK_MAX_BODY, WCIM_MAX_CALLBACK_MAX_BODY);
}

static const char *set_sql(cmd_parms *cmd, void *dc, const char *which,
                           const char *query)
{
    wcim_srv_conf_t *sc = cmd_conf(cmd);
    const char *err;
    int i;

    for (i = 0; i < WCIM_STMT_COUNT; ++i) {
        if (strcasecmp(which, wcim_store_specs[i].name) == 0) {
            break;
        }
    }
    if (i == WCIM_STMT_COUNT && strcasecmp(which, "messages") == 0) {
        /* the statement of the first message routing code */
        return "WeclubsIMSQL messages was replaced by groups_messages: the "
               "groups columns (club_id, name, avatar_url), then "
               "last_content, last_date and the unread count, from the "
               "user's RongCloud id twice and the student id (see docs/configuration.md)";
    }
    if (i == WCIM_STMT_COUNT) {
        return apr_psprintf(cmd->pool, "WeclubsIMSQL: '%s' is not one of "
                            "the module's statements (token, user, groups, "
                            "token_groups, token_user, groups_messages, "
                            "message_add, ...; see docs/configuration.md)",
                            which);
    }
    if ((err = wcim_store_sql_check((wcim_stmt_t)i, query, cmd->pool))) {
        return apr_pstrcat(cmd->pool, "WeclubsIMSQL ", err, NULL);
    }
    sc->sql[i] = query;
    return NULL;
}

/* The cache is one for the whole server (mod_weclubs_im_cache.c keeps it):
 * provider[:args], or none. */
static const char *set_cache(cmd_parms *cmd, void *dc, const char *arg)
{
    const ap_socache_provider_t *provider = NULL;
    const char *err = wcim_conf_check_context(cmd);
    const char *sep, *name = NULL, *args = NULL;

    if (err) {
        return err;
    }
    if (strcasecmp(arg, "none") != 0) {
        sep = ap_strchr_c(arg, ':');
        name = sep ? apr_pstrmemdup(cmd->pool, arg, sep - arg) : arg;
        args = sep ? sep + 1 : NULL;
        provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name,
                                      AP_SOCACHE_PROVIDER_VERSION);
        if (provider == NULL) {
            return apr_psprintf(cmd->pool, "WeclubsIMCache: unknown cache "
                                "provider '%s' (is mod_socache_%s loaded?)",
                                name, name);
        }
    }
    err = wcim_cache_use(provider, name, args, cmd->pool, cmd->temp_pool);
    return err ? apr_psprintf(cmd->pool, "WeclubsIMCache %s: %s", arg, err)
               : NULL;
}

static const char *set_cache_ttl(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = wcim_conf_check_context(cmd);
    apr_interval_time_t t;

    if (err) {
        return err;
    }
    if (ap_timeout_parameter_parse(arg, &t, "s") != APR_SUCCESS || t <= 0) {
        return "WeclubsIMCacheTTL takes a positive time, in seconds or with "
               "a unit (e.g. 86400, 30m)";
    }
    wcim_cache_set_ttl(t);
    return NULL;
}

const command_rec wcim_cmds[] = {
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
                  RSRC_CONF, "time limit of one RongCloud call (e.g. 10)"),
    AP_INIT_TAKE1("WeclubsIMRongCloudConnectTimeout", set_rc_connect_timeout,
                  NULL, RSRC_CONF, "time limit of setting up a connection to "
                  "RongCloud (e.g. 1)"),
    AP_INIT_TAKE2("WeclubsIMRongCloudRateLimit", set_rc_rate_limit, NULL,
                  RSRC_CONF, "a RongCloud call (user/getToken, user/refresh, "
                  "group/sync, user/block) and RongCloud's limit for the "
                  "App Key in calls a second, or off"),
    AP_INIT_TAKE1("WeclubsIMRongCloudRateWait", set_rc_rate_wait, NULL,
                  RSRC_CONF, "how long a call may wait for a turn of this "
                  "node's share of the rate limit (e.g. 8)"),
    AP_INIT_TAKE1("WeclubsIMRongCloudTokenLifetime", set_rc_token_lifetime,
                  NULL, RSRC_CONF, "the RongCloud token lifetime set in "
                  "RongCloud's console, or off (tokens never expire)"),
    AP_INIT_TAKE1("WeclubsIMTokenRecheck", set_token_recheck, NULL,
                  RSRC_CONF, "a get_token within this time of the "
                  "student's last one gets a fresh RongCloud token, or off"),
    AP_INIT_TAKE1("WeclubsIMReconcileInterval", set_reconcile_interval, NULL,
                  RSRC_CONF, "how often RongCloud is brought in line with "
                  "the weclubs tables in the background (with "
                  "WeclubsIMTokenStore db), or off"),
    AP_INIT_TAKE1("WeclubsIMTokenPrefetch", set_token_prefetch, NULL,
                  RSRC_CONF, "getToken calls a second made ahead for "
                  "students without a RongCloud token (with "
                  "WeclubsIMTokenStore db), or off"),
    AP_INIT_TAKE1("WeclubsIMRongCloudNodes", set_rc_nodes, NULL, RSRC_CONF,
                  "how many servers share the RongCloud App Key (each sends "
                  "its share of the rate limits)"),
    AP_INIT_TAKE1("WeclubsIMRongCloudCAFile", set_rc_ca_file, NULL,
                  RSRC_CONF, "CA certificates to verify RongCloud with"),
    AP_INIT_FLAG("WeclubsIMGroupSync", set_group_sync, NULL, RSRC_CONF,
                 "On to push users' group sets to RongCloud"),
    AP_INIT_TAKE1("WeclubsIMMaxBody", set_max_body, NULL, RSRC_CONF,
                  "largest request body accepted, in bytes"),
    AP_INIT_TAKE1("WeclubsIMCallbackMaxBody", set_callback_max_body, NULL,
                  RSRC_CONF, "largest message routing post accepted, in "
                  "bytes"),
    AP_INIT_FLAG("WeclubsIMMessages", set_messages, NULL, RSRC_CONF,
                 "On to fill last_msg_content, last_msg_date and "
                 "fresh_msg_count from RongCloud message routing"),
    AP_INIT_TAKE2("WeclubsIMMessageLabel", set_message_label, NULL,
                  RSRC_CONF, "a message type and the preview shown for it"),
    AP_INIT_TAKE1("WeclubsIMMessageMaxAge", set_message_max_age, NULL,
                  RSRC_CONF, "how long routed messages are kept"),
    AP_INIT_TAKE1("WeclubsIMCallbackWindow", set_callback_window, NULL,
                  RSRC_CONF, "how far a callback's signTimestamp may be "
                  "from now"),
    AP_INIT_TAKE1("WeclubsIMReplayWindow", set_replay_window, NULL,
                  RSRC_CONF, "removed: ignored, with a warning at start-up"),
    AP_INIT_TAKE2("WeclubsIMSQL", set_sql, NULL, RSRC_CONF,
                  "a statement's name (token, user, groups, groups_messages "
                  "or a message routing write) and the SQL that replaces "
                  "its default"),
    AP_INIT_TAKE1("WeclubsIMTokenStore", set_token_store, NULL, RSRC_CONF,
                  "where RongCloud tokens are kept: cache (the "
                  "WeclubsIMCache only) or db (also the table of "
                  "sql/<engine>/tokens.sql, read when the cache misses)"),
    AP_INIT_TAKE1("WeclubsIMCache", set_cache, NULL, RSRC_CONF,
                  "ap_socache provider[:args] for tokens, or none"),
    AP_INIT_TAKE1("WeclubsIMCacheTTL", set_cache_ttl, NULL, RSRC_CONF,
                  "how long cached tokens and sync digests live"),
    { NULL }
};

