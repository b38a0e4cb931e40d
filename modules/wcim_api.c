/* The two IM endpoints: the checks every call goes through, in the old
 * server's order (protocol.md section 5), get_group_chat_list, and the
 * dispatch to get_token (wcim_tokens.c). Group syncs are in
 * wcim_groupsync.c, message routing in wcim_route_apply.c. */
#include <string.h>
#include <apr_strings.h>

#include "wcim_api.h"
#include "wcim_buf.h"
#include "wcim_ctx.h"
#include "wcim_envelope.h"
#include "wcim_json.h"
#include "wcim_result.h"
#include "wcim_sign.h"
#include "wcim_login_token.h"
#include "wcim_tokens.h"

apr_status_t wcim_api_find(wcim_api_t *papi, const char *name)
{
    if (strcmp(name, "get_token") == 0) {
        *papi = WCIM_API_GET_TOKEN;
    }
    else if (strcmp(name, "get_group_chat_list") == 0) {
        *papi = WCIM_API_GROUP_CHAT_LIST;
    }
    else {
        return APR_NOTFOUND;
    }
    return APR_SUCCESS;
}

static int caller_allowed(const wcim_config_t *conf, const char *caller)
{
    int i;

    for (i = 0; caller && i < conf->callers->nelts; ++i) {
        if (strcmp(APR_ARRAY_IDX(conf->callers, i, const char *), caller)
            == 0) {
            return 1;
        }
    }
    return 0;
}

/* What the endpoint needs from the database, read with the token when
 * the configuration has the statement for it (one round trip instead of
 * two). It counts only once the token is proved. */
typedef struct {
    apr_array_header_t *groups;   /* token_groups: the list; else NULL */
    wcim_user_t user;             /* token_user: the student, */
    apr_status_t user_rv;         /* APR_SUCCESS or APR_NOTFOUND */
    int user_read;
} read_ahead_t;

/* A failed statement that answered sooner than this failed for what it
 * reads, not for the database's state (locked, slow, gone). */
#define FAST_FAILURE apr_time_from_msec(100)

/* Steps 1 to 6 of the check table (protocol.md section 5), in order. */
static apr_status_t check_request(read_ahead_t *ahead, wcim_api_t api,
                                  wcim_ctx_t *ctx, const char *body,
                                  apr_size_t len)
{
    const wcim_config_t *conf = ctx->conf;
    wcim_envelope_t *env;
    wcim_store_t *store;
    wcim_token_row_t row;
    const char *why, *token;
    apr_size_t token_len;
    apr_time_t started;
    apr_status_t rv, uid_rv;

    rv = wcim_envelope_parse(&env, &why, body, len, ctx->pool);
    if (rv != APR_SUCCESS) {
        WCIM_LOG(&ctx->log, WCIM_LOG_INFO, 0, WCIMLOGNO(0102) "3001: %s", why);
        return rv;
    }
    ctx->caller = env->caller;
    if (!caller_allowed(conf, env->caller)) {
        WCIM_LOG(&ctx->log, WCIM_LOG_INFO, 0, WCIMLOGNO(0103)
                 "3004: caller %s is not in WeclubsIMCallers",
                 env->caller ? env->caller : "(missing)");
        return WCIM_STATUS(WCIM_RC_BAD_CALLER);
    }
    if (conf->sign_check) {
        if (conf->sign_secret == NULL) {
            WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0104)
                     "WeclubsIMSignSecret is not set: cannot check "
                     "signatures");
            return APR_EINIT;
        }
        rv = wcim_sign_verify(env->data, env->data_count, env->sign,
                              env->sign_len,
                              conf->sign_secret, conf->sign_secret_len,
                              conf->sign_forms, ctx->pool);
        if (rv != APR_SUCCESS) {
            WCIM_LOG(&ctx->log, WCIM_LOG_INFO, 0, WCIMLOGNO(0105)
                     "3003: %s signature from caller %s",
                     env->sign ? "wrong" : "no", env->caller);
            return rv;
        }
    }
    uid_rv = wcim_envelope_user_id(&ctx->user_id, env, ctx->pool);
    if (uid_rv == WCIM_STATUS(WCIM_RC_NO_USER_ID)) {
        WCIM_LOG(&ctx->log, WCIM_LOG_INFO, 0, WCIMLOGNO(0106) "3005: no user_id");
        return uid_rv;
    }
    rv = wcim_envelope_token(&token, &token_len, env);
    if (rv != APR_SUCCESS) {
        WCIM_LOG(&ctx->log, WCIM_LOG_INFO, 0, WCIMLOGNO(0107) "3006: no token");
        return rv;
    }
    if (uid_rv != APR_SUCCESS) {
        WCIM_LOG(&ctx->log, WCIM_LOG_INFO, 0, WCIMLOGNO(0108)
                 "3001: user_id is not a non-negative integer");
        return uid_rv;
    }

    if ((rv = wcim_ctx_store(&store, ctx)) != APR_SUCCESS) {
        return rv;
    }
    rv = APR_EINIT;
    started = apr_time_now();
    if (api == WCIM_API_GROUP_CHAT_LIST
        && wcim_store_ready(store, WCIM_STMT_TOKEN_GROUPS)) {
        rv = wcim_store_token_groups(&row, &ahead->groups, &why, store,
                                     ctx->user_id, env->caller, ctx->pool);
    }
    else if (api == WCIM_API_GET_TOKEN
             && wcim_store_ready(store, WCIM_STMT_TOKEN_USER)) {
        rv = wcim_store_token_user(&row, &ahead->user, &ahead->user_rv, &why,
                                   store, ctx->user_id, env->caller,
                                   ctx->pool);
        ahead->user_read = (rv == APR_SUCCESS);
    }
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND && rv != APR_EINIT
        && apr_time_now() - started < FAST_FAILURE) {
        /* the joined tables may fail where t_token does not (a table
         * gone, no privilege on it): the token alone keeps the check
         * order, the rest is read as with two statements. Not after a
         * slow failure (a lock, a timeout): that is the database's, and
         * asking again would double the client's wait. */
        wcim_metrics_db_error(ctx->metrics);
        WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0114)
                 "reading the token of user %s with its %s: %s; reading "
                 "them one by one", ctx->user_id,
                 api == WCIM_API_GET_TOKEN ? "student" : "groups", why);
        memset(ahead, 0, sizeof(*ahead));
        rv = APR_EINIT;
    }
    if (rv == APR_EINIT) {
        rv = wcim_store_token_get(&row, &why, store, ctx->user_id,
                                  env->caller, ctx->pool);
    }
    if (rv == APR_NOTFOUND) {
        WCIM_LOG(&ctx->log, WCIM_LOG_INFO, 0, WCIMLOGNO(0109)
                 "3010: no token stored for user %s and caller %s",
                 ctx->user_id, env->caller);
        return WCIM_STATUS(WCIM_RC_TOKEN_INVALID);
    }
    if (rv != APR_SUCCESS) {
        wcim_metrics_db_error(ctx->metrics);
        WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0110)
                 "reading the token of user %s: %s", ctx->user_id, why);
        return rv;
    }
    rv = wcim_token_verify(&why, token, token_len, &row,
                           conf->token_lifetime_ms, ctx->now, ctx->pool);
    if (rv != APR_SUCCESS) {
        WCIM_LOG(&ctx->log, WCIM_LOG_INFO, 0, WCIMLOGNO(0111)
                 "3010: user %s, caller %s: %s", ctx->user_id, env->caller,
                 why);
    }
    ctx->authenticated = rv == APR_SUCCESS;
    return rv;
}

/* One group_chat_list item, keys in the order the old server sent them.
 * Without message routing: no last message (null), nothing unread.
 * Written straight into the answer: with a user in many clubs, building
 * jansson objects for it cost more than all the rest of the request. */
/* append_int relies on apr_off_t holding any 64-bit id */
typedef char wcim_off_t_holds_int64[sizeof(apr_off_t) >= 8 ? 1 : -1];

static void append_int(wcim_buf_t *b, apr_int64_t v)
{
    /* apr_off_t is 64 bits here; apr_off_t_toa is much cheaper than a
     * formatter, which counts with 50 clubs */
    const char *s = apr_off_t_toa(b->pool, (apr_off_t)v);
    wcim_buf_append(b, s, strlen(s));
}

static void append_group_item(wcim_buf_t *b, const wcim_group_t *g,
                              const char *im_group_id)
{
#define LIT(s) wcim_buf_append(b, s, sizeof(s) - 1)
    LIT("{\"im_group_id\":");
    wcim_json_append_string(b, im_group_id);
    LIT(",\"avatar_url\":");
    if (g->avatar_url) {
        wcim_json_append_string(b, g->avatar_url);
    }
    else {
        LIT("null");
    }
    LIT(",\"last_msg_content\":");
    if (g->last_content) {
        wcim_json_append_string(b, g->last_content);
    }
    else {
        LIT("null");
    }
    LIT(",\"club_id\":");
    append_int(b, g->club_id);
    LIT(",\"fresh_msg_count\":");
    append_int(b, g->fresh_count);
    LIT(",\"club_name\":");
    wcim_json_append_string(b, g->name);
    LIT(",\"last_msg_date\":");
    append_int(b, g->last_date);
    LIT("}");
#undef LIT
}

/* groups: read with the token already (token_groups), or NULL */
static apr_status_t get_group_chat_list(wcim_reply_t *reply, wcim_ctx_t *ctx,
                                        apr_array_header_t *groups)
{
    wcim_store_t *store;
    apr_array_header_t *sync;
    wcim_buf_t data;
    const char *why;
    apr_status_t rv = APR_SUCCESS;
    int i, listed = (groups != NULL);

    if (!listed && (rv = wcim_ctx_store(&store, ctx)) != APR_SUCCESS) {
        return rv;
    }
    if (!listed && ctx->conf->messages) {
        rv = wcim_store_groups_list(&groups, &why, store, ctx->user_id,
                                    ctx->rc_user_id, ctx->pool);
        listed = (rv == APR_SUCCESS);
        if (!listed) {
            /* the list without previews beats no list */
            wcim_metrics_db_error(ctx->metrics);
            WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0112)
                     "reading the groups and messages of user %s: %s; "
                     "listing the groups without them", ctx->user_id, why);
        }
    }
    if (!listed) {
        rv = wcim_store_groups_list(&groups, &why, store, ctx->user_id, NULL,
                                    ctx->pool);
    }
    if (rv != APR_SUCCESS) {
        wcim_metrics_db_error(ctx->metrics);
        WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0113)
                 "reading the groups of user %s: %s", ctx->user_id, why);
        return rv;
    }
    sync = apr_array_make(ctx->pool, groups->nelts, sizeof(wcim_rc_group_t));
    wcim_buf_init(&data, ctx->pool, 64 + 256 * groups->nelts);
    wcim_buf_append(&data, "{\"group_chat_list\":", 19);
    for (i = 0; i < groups->nelts; ++i) {
        const wcim_group_t *g = &APR_ARRAY_IDX(groups, i, wcim_group_t);
        wcim_rc_group_t *rg = apr_array_push(sync);

        rg->id = apr_pstrcat(ctx->pool, WCIM_RC_GROUP_PREFIX,
                             apr_off_t_toa(ctx->pool, (apr_off_t)g->club_id),
                             NULL);
        rg->name = g->name;
        wcim_buf_append(&data, i ? "," : "[", 1);
        append_group_item(&data, g, rg->id);
    }
    /* the old server sent null, not [], for a user with no group */
    if (groups->nelts) {
        wcim_buf_append(&data, "]}", 2);
    }
    else {
        wcim_buf_append(&data, "null}", 5);
    }
    reply->data_text = data.data;
    if (ctx->conf->group_sync) {
        ctx->sync_groups = sync;
    }
    return APR_SUCCESS;
}

void wcim_api_call(wcim_reply_t *reply, wcim_ctx_t *ctx, wcim_api_t api,
                   const char *body, apr_size_t len)
{
    read_ahead_t ahead;
    apr_status_t rv;

    memset(reply, 0, sizeof(*reply));
    memset(&ahead, 0, sizeof(ahead));
    rv = check_request(&ahead, api, ctx, body, len);
    if (rv == APR_SUCCESS) {
        ctx->rc_user_id = apr_pstrcat(ctx->pool, WCIM_RC_USER_PREFIX,
                                      ctx->user_id, NULL);
        rv = (api == WCIM_API_GET_TOKEN)
             ? wcim_tokens_get(reply, ctx,
                               ahead.user_read ? &ahead.user : NULL,
                               ahead.user_rv)
             : get_group_chat_list(reply, ctx, ahead.groups);
    }
    reply->result_code = wcim_result_of(rv);
    if (rv != APR_SUCCESS) {
        reply->data = NULL;
        reply->data_text = NULL;
    }
}

