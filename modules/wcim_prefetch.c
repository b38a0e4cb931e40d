/* Token prefetch (wcim_reconcile.h, WeclubsIMTokenPrefetch): rounds that
 * give students without a RongCloud token one ahead of their first
 * get_token, so that a launch day finds them ready. Like a pass, a round
 * reads with a connection, calls RongCloud without one, and writes with
 * one again. */
#include <string.h>
#include <apr_strings.h>

#include "wcim_reconcile.h"
#include "wcim_ctx.h"
#include "wcim_tokens.h"

typedef struct {
    apr_int64_t uid;
    const char *rc_user, *name, *portrait, *profile, *token;
    apr_int64_t issued;
} ahead_t;

apr_status_t wcim_reconcile_prefetch(wcim_reconcile_stats_t *stats,
                                     apr_int64_t *pafter, int *pend,
                                     wcim_ctx_t *ctx,
                                     const wcim_reconcile_env_t *env,
                                     apr_interval_time_t span)
{
    const wcim_config_t *conf = ctx->conf;
    apr_time_t until = apr_time_now() + span;
    apr_interval_time_t gap;
    apr_array_header_t *students, *todo;
    apr_pool_t *p;
    apr_time_t next_call = 0;
    wcim_store_t *st;
    const char *why = NULL;
    double per_sec;
    int burst, i;
    apr_status_t rv = APR_SUCCESS;

    memset(stats, 0, sizeof(*stats));
    *pend = 0;
    if (!conf->rc.app_key || !conf->rc.app_secret || conf->token_prefetch <= 0) {
        return APR_EINIT;
    }
    /* the configured rate, within half the node's getToken share */
    wcim_rc_rate_share(&per_sec, &burst, &conf->rc, WCIM_CALL_GET_TOKEN);
    per_sec = per_sec > 0 ? per_sec * WCIM_RECONCILE_SHARE : conf->token_prefetch;
    if (per_sec > conf->token_prefetch) {
        per_sec = conf->token_prefetch;
    }
    gap = (apr_interval_time_t)(APR_USEC_PER_SEC / per_sec);
    if ((rv = apr_pool_create(&p, ctx->pool)) != APR_SUCCESS) {
        return rv;
    }
    stats->held = wcim_reconcile_lease(ctx, env, apr_pstrcat(p,
                                       conf->rc.app_key, " prefetch", NULL), p);
    while (stats->held && !*env->stop && apr_time_now() < until) {
        apr_int64_t after = *pafter;
        int budget = (int)((until - apr_time_now()) / gap) + 1;

        apr_pool_clear(p);
        /* with a connection: the students without a token row */
        if ((st = wcim_reconcile_open(ctx, env, p)) == NULL) {
            rv = APR_EGENERAL;
            break;
        }
        todo = apr_array_make(p, 16, sizeof(ahead_t));
        rv = wcim_store_prefetch_page(&students, &why, st, after, p);
        for (i = 0; rv == APR_SUCCESS && i < students->nelts
                    && todo->nelts < budget; ++i) {
            const wcim_prefetch_t *s = &APR_ARRAY_IDX(students, i,
                                                      wcim_prefetch_t);
            const char *rc_user = apr_psprintf(p, WCIM_RC_USER_PREFIX "%"
                                               APR_INT64_T_FMT, s->uid);
            wcim_rc_token_row_t row;
            const char *err2 = NULL;
            apr_status_t got;

            after = s->uid;
            got = wcim_store_rc_token_get(&row, &err2, st, conf->rc.app_key,
                                          rc_user, p);
            if (got == APR_SUCCESS
                && strcmp(row.secret_tag, conf->rc.secret_tag) == 0
                && *row.token) {
                continue;       /* he has one */
            }
            if (got != APR_SUCCESS && got != APR_NOTFOUND) {
                stats->errors++;
                continue;
            }
            {
                ahead_t *a = apr_array_push(todo);

                memset(a, 0, sizeof(*a));
                a->uid = s->uid;
                a->rc_user = rc_user;
                a->name = wcim_tokens_display_name(&s->user);
                a->portrait = s->user.avatar_url ? s->user.avatar_url : "";
                a->profile = wcim_tokens_profile(a->name, a->portrait, p);
            }
        }
        env->close(st, env->baton);
        if (rv != APR_SUCCESS) {
            stats->errors++;
            WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0660)
                     "token prefetch: reading the students: %s", why);
            break;
        }
        /* without one: RongCloud */
        for (i = 0; i < todo->nelts && !*env->stop; ++i) {
            ahead_t *a = &APR_ARRAY_IDX(todo, i, ahead_t);
            wcim_rc_t rc = wcim_ctx_rc(ctx);
            wcim_rc_error_t err;
            apr_time_t now = apr_time_now();

            if (next_call > now) {
                apr_sleep(next_call - now);
            }
            next_call = apr_time_now() + gap;
            stats->calls++;
            if (wcim_rc_get_token(&a->token, &err, &rc, a->rc_user, a->name,
                                  a->portrait, p) != APR_SUCCESS) {
                a->token = NULL;
                stats->failed++;
                WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0661)
                         "token prefetch: RongCloud getToken for %s failed "
                         "(tried again later): %s", a->rc_user,
                         wcim_rc_error_text(&err, p));
                continue;
            }
            a->issued = apr_time_as_msec(apr_time_now());
        }
        /* with a connection again: the rows, and the cache */
        if (todo->nelts && (st = wcim_reconcile_open(ctx, env, p)) != NULL) {
            for (i = 0; i < todo->nelts; ++i) {
                ahead_t *a = &APR_ARRAY_IDX(todo, i, ahead_t);
                wcim_rc_token_row_t row;

                if (a->token == NULL) {
                    continue;
                }
                row.secret_tag = conf->rc.secret_tag;
                row.profile = a->profile;
                row.token = a->token;
                row.issued = a->issued;
                ctx->rc_user_id = a->rc_user;
                if (wcim_store_rc_token_put(&why, st, conf->rc.app_key,
                                            a->rc_user, &row, p)
                    != APR_SUCCESS) {
                    stats->errors++;
                    WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0662)
                             "token prefetch: writing the token row of %s: "
                             "%s", a->rc_user, why);
                    continue;
                }
                wcim_ctx_cache_put(ctx, wcim_ctx_cache_key(ctx,
                                                   WCIM_TOKEN_KEY_PREFIX),
                                   wcim_tokens_entry(p, a->profile,
                                                     a->issued, a->token));
                stats->prefetched++;
            }
            env->close(st, env->baton);
        }
        if (i < todo->nelts) {
            break;              /* stopping */
        }
        /* the students not looked at yet stay after the cursor */
        *pafter = after;
        if (students->nelts < WCIM_TOLD_PAGE && i == todo->nelts
            && (todo->nelts < budget || students->nelts == 0)) {
            *pafter = 0;
            *pend = 1;
            break;
        }
    }
    apr_pool_destroy(p);
    return rv;
}
