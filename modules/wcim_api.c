#include <string.h>
#include <apr_strings.h>

#include "wcim_api.h"
#include "wcim_envelope.h"
#include "wcim_json.h"
#include "wcim_result.h"
#include "wcim_sign.h"
#include "wcim_token.h"

#define RC_USER_PREFIX  "im_user_id_"
#define RC_GROUP_PREFIX "im_club_id_"
#define GET_TOKEN_FAILED_MSG "获取token失败，请检查后重试"

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

static apr_status_t open_store(wcim_store_t **pstore, wcim_ctx_t *ctx)
{
    const char *err = NULL;
    apr_status_t rv = ctx->store_open(pstore, &err, ctx->store_baton);

    if (rv != APR_SUCCESS) {
        WCIM_LOG(ctx, WCIM_LOG_ERR, rv, WCIMLOGNO(0101)
                 "no database connection: %s", err ? err : "unknown error");
    }
    return rv;
}

/* Steps 1 to 6 of the check table (protocol.md section 5), in order. */
static apr_status_t check_request(wcim_ctx_t *ctx, const char *body,
                                  apr_size_t len)
{
    const wcim_config_t *conf = ctx->conf;
    wcim_envelope_t *env;
    wcim_store_t *store;
    wcim_token_row_t row;
    const char *why, *token;
    apr_size_t token_len;
    apr_status_t rv, uid_rv;

    rv = wcim_envelope_parse(&env, &why, body, len, ctx->pool);
    if (rv != APR_SUCCESS) {
        WCIM_LOG(ctx, WCIM_LOG_INFO, 0, WCIMLOGNO(0102) "3001: %s", why);
        return rv;
    }
    ctx->caller = env->caller;
    if (!caller_allowed(conf, env->caller)) {
        WCIM_LOG(ctx, WCIM_LOG_INFO, 0, WCIMLOGNO(0103)
                 "3004: caller %s is not in WeclubsIMCallers",
                 env->caller ? env->caller : "(missing)");
        return WCIM_STATUS(WCIM_RC_BAD_CALLER);
    }
    if (conf->sign_check) {
        if (conf->sign_secret == NULL) {
            WCIM_LOG(ctx, WCIM_LOG_ERR, 0, WCIMLOGNO(0104)
                     "WeclubsIMSignSecret is not set: cannot check "
                     "signatures");
            return APR_EINIT;
        }
        rv = wcim_sign_verify(env->data, env->sign, env->sign_len,
                              conf->sign_secret, conf->sign_secret_len,
                              conf->sign_forms, ctx->pool);
        if (rv != APR_SUCCESS) {
            WCIM_LOG(ctx, WCIM_LOG_INFO, 0, WCIMLOGNO(0105)
                     "3003: %s signature from caller %s",
                     env->sign ? "wrong" : "no", env->caller);
            return rv;
        }
    }
    uid_rv = wcim_envelope_user_id(&ctx->user_id, env, ctx->pool);
    if (uid_rv == WCIM_STATUS(WCIM_RC_NO_USER_ID)) {
        WCIM_LOG(ctx, WCIM_LOG_INFO, 0, WCIMLOGNO(0106) "3005: no user_id");
        return uid_rv;
    }
    rv = wcim_envelope_token(&token, &token_len, env);
    if (rv != APR_SUCCESS) {
        WCIM_LOG(ctx, WCIM_LOG_INFO, 0, WCIMLOGNO(0107) "3006: no token");
        return rv;
    }
    if (uid_rv != APR_SUCCESS) {
        WCIM_LOG(ctx, WCIM_LOG_INFO, 0, WCIMLOGNO(0108)
                 "3001: user_id is not a non-negative integer");
        return uid_rv;
    }

    if ((rv = open_store(&store, ctx)) != APR_SUCCESS) {
        return rv;
    }
    rv = wcim_store_token_get(&row, &why, store, ctx->user_id, env->caller,
                              ctx->pool);
    if (rv == APR_NOTFOUND) {
        WCIM_LOG(ctx, WCIM_LOG_INFO, 0, WCIMLOGNO(0109)
                 "3010: no token stored for user %s and caller %s",
                 ctx->user_id, env->caller);
        return WCIM_STATUS(WCIM_RC_TOKEN_INVALID);
    }
    if (rv != APR_SUCCESS) {
        WCIM_LOG(ctx, WCIM_LOG_ERR, rv, WCIMLOGNO(0110)
                 "reading the token of user %s: %s", ctx->user_id, why);
        return rv;
    }
    rv = wcim_token_verify(&why, token, token_len, &row,
                           conf->token_lifetime_ms, ctx->now, ctx->pool);
    if (rv != APR_SUCCESS) {
        WCIM_LOG(ctx, WCIM_LOG_INFO, 0, WCIMLOGNO(0111)
                 "3010: user %s, caller %s: %s", ctx->user_id, env->caller,
                 why);
    }
    return rv;
}

/* Display name as the old server chose it: real name, else nickname. */
static const char *display_name(const wcim_user_t *u)
{
    if (u->real_name && *u->real_name) {
        return u->real_name;
    }
    return (u->nick_name && *u->nick_name) ? u->nick_name : "";
}

static apr_status_t get_token(wcim_reply_t *reply, wcim_ctx_t *ctx)
{
    wcim_store_t *store;
    wcim_user_t user;
    wcim_rc_error_t err;
    const char *why, *token;
    apr_status_t rv;

    if ((rv = open_store(&store, ctx)) != APR_SUCCESS) {
        return rv;
    }
    rv = wcim_store_user_get(&user, &why, store, ctx->user_id, ctx->pool);
    if (rv == APR_NOTFOUND) {
        WCIM_LOG(ctx, WCIM_LOG_INFO, 0, WCIMLOGNO(0120)
                 "3014: no student %s", ctx->user_id);
        return WCIM_STATUS(WCIM_RC_NO_SUCH_USER);
    }
    if (rv != APR_SUCCESS) {
        WCIM_LOG(ctx, WCIM_LOG_ERR, rv, WCIMLOGNO(0121)
                 "reading student %s: %s", ctx->user_id, why);
        return rv;
    }
    rv = wcim_rc_get_token(&token, &err, &ctx->conf->rc, ctx->rc_user_id,
                           display_name(&user),
                           user.avatar_url ? user.avatar_url : "", ctx->pool);
    if (rv != APR_SUCCESS) {
        WCIM_LOG(ctx, WCIM_LOG_ERR, rv, WCIMLOGNO(0122)
                 "RongCloud getToken for %s failed: %s", ctx->rc_user_id,
                 wcim_rc_error_text(&err, ctx->pool));
        reply->result_msg = GET_TOKEN_FAILED_MSG;
        return WCIM_STATUS(WCIM_RC_FAILED);
    }
    reply->data = wcim_json_own(ctx->pool,
                                json_pack("{s:s}", "im_token", token));
    return reply->data ? APR_SUCCESS : APR_ENOMEM;
}

/* One group_chat_list item, keys in the order the old server sent them. */
static json_t *group_item(const wcim_group_t *g, const char *im_group_id)
{
    json_t *item = json_object();

    json_object_set_new(item, "im_group_id", json_string(im_group_id));
    json_object_set_new(item, "avatar_url", g->avatar_url
                        ? json_string(g->avatar_url) : json_null());
    json_object_set_new(item, "last_msg_content", json_null());
    json_object_set_new(item, "club_id", json_integer(g->club_id));
    json_object_set_new(item, "fresh_msg_count", json_integer(0));
    json_object_set_new(item, "club_name", json_string(g->name));
    json_object_set_new(item, "last_msg_date", json_integer(0));
    return item;
}

static apr_status_t get_group_chat_list(wcim_reply_t *reply, wcim_ctx_t *ctx)
{
    wcim_store_t *store;
    apr_array_header_t *groups, *sync;
    json_t *list;
    const char *why;
    apr_status_t rv;
    int i;

    if ((rv = open_store(&store, ctx)) != APR_SUCCESS) {
        return rv;
    }
    rv = wcim_store_groups_list(&groups, &why, store, ctx->user_id,
                                ctx->pool);
    if (rv != APR_SUCCESS) {
        WCIM_LOG(ctx, WCIM_LOG_ERR, rv, WCIMLOGNO(0130)
                 "reading the groups of user %s: %s", ctx->user_id, why);
        return rv;
    }

    sync = apr_array_make(ctx->pool, groups->nelts, sizeof(wcim_rc_group_t));
    /* the old server sent null, not [], for a user with no group */
    list = groups->nelts ? wcim_json_own(ctx->pool, json_array()) : NULL;
    for (i = 0; i < groups->nelts; ++i) {
        const wcim_group_t *g = &APR_ARRAY_IDX(groups, i, wcim_group_t);
        wcim_rc_group_t *rg = apr_array_push(sync);

        rg->id = apr_psprintf(ctx->pool, RC_GROUP_PREFIX "%" APR_INT64_T_FMT,
                              g->club_id);
        rg->name = g->name;
        if (json_array_append_new(list, group_item(g, rg->id)) != 0) {
            return APR_ENOMEM;
        }
    }
    reply->data = wcim_json_own(ctx->pool, json_object());
    json_object_set(reply->data, "group_chat_list", list ? list : json_null());
    if (ctx->conf->group_sync) {
        ctx->sync_groups = sync;
    }
    return APR_SUCCESS;
}

void wcim_api_call(wcim_reply_t *reply, wcim_ctx_t *ctx, wcim_api_t api,
                   const char *body, apr_size_t len)
{
    apr_status_t rv;

    memset(reply, 0, sizeof(*reply));
    rv = check_request(ctx, body, len);
    if (rv == APR_SUCCESS) {
        ctx->rc_user_id = apr_pstrcat(ctx->pool, RC_USER_PREFIX,
                                      ctx->user_id, NULL);
        rv = (api == WCIM_API_GET_TOKEN) ? get_token(reply, ctx)
                                         : get_group_chat_list(reply, ctx);
    }
    reply->result_code = wcim_result_of(rv);
    if (rv != APR_SUCCESS) {
        reply->data = NULL;
    }
}

apr_status_t wcim_api_group_sync(wcim_ctx_t *ctx)
{
    wcim_rc_error_t err;
    apr_status_t rv;

    if (ctx->sync_groups == NULL) {
        return APR_SUCCESS;
    }
    rv = wcim_rc_group_sync(&err, &ctx->conf->rc, ctx->rc_user_id,
                            ctx->sync_groups, ctx->pool);
    if (rv != APR_SUCCESS) {
        WCIM_LOG(ctx, WCIM_LOG_ERR, rv, WCIMLOGNO(0131)
                 "RongCloud group sync for %s failed: %s", ctx->rc_user_id,
                 wcim_rc_error_text(&err, ctx->pool));
    }
    else {
        WCIM_LOG(ctx, WCIM_LOG_DEBUG, 0, WCIMLOGNO(0132)
                 "synced %d groups of %s to RongCloud",
                 ctx->sync_groups->nelts, ctx->rc_user_id);
    }
    ctx->sync_groups = NULL;
    return rv;
}
