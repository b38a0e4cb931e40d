/* Reconciliation (wcim_reconcile.h). A pass goes through the token table
 * in pages: with a connection, it reads a page and each student's state
 * and decides what RongCloud must be told; without one, it makes those
 * calls; with one again, it records what was told. So it never holds a
 * connection while it waits for RongCloud. */
#include <string.h>
#include <apr_strings.h>

#include "wcim_reconcile.h"
#include "wcim_groupsync.h"
#include "wcim_ctx.h"
#include "wcim_decimal.h"
#include "wcim_tokens.h"

enum {
    DO_RECORD = 1,      /* RongCloud has the set already (the cache says) */
    DO_SYNC = 2,
    DO_REFRESH = 4,
    DO_BLOCK = 8,
    DO_UNBLOCK = 16
};

typedef struct {
    wcim_told_t *told;
    const char *uid;
    int todo, done, failed;
    apr_array_header_t *groups;      /* wcim_rc_group_t, for DO_SYNC */
    const char *digest;              /* of groups */
    const char *name, *portrait, *profile;
} student_t;

typedef struct {
    wcim_ctx_t *ctx;
    const wcim_reconcile_env_t *env;
    wcim_reconcile_stats_t *stats;
    apr_time_t next[WCIM_CALL_COUNT];   /* the pass's next call, per kind */
    apr_interval_time_t telling;        /* time spent calling RongCloud */
} pass_t;

/* The time between two of the pass's calls of a kind: half the node's
 * share of its rate (the pass and the requests draw on one limiter; this
 * keeps the pass from taking the requests' turns). */
static apr_interval_time_t call_gap(const wcim_config_t *conf, wcim_call_t c)
{
    double per_sec;
    int burst;

    wcim_rc_rate_share(&per_sec, &burst, &conf->rc, c);
    per_sec = per_sec > 0 ? per_sec * WCIM_RECONCILE_SHARE
                          : WCIM_RECONCILE_BLOCK_RATE;
    return (apr_interval_time_t)(APR_USEC_PER_SEC / per_sec);
}

static void pace(pass_t *ps, wcim_call_t c)
{
    apr_time_t now = apr_time_now();

    if (ps->next[c] > now) {
        apr_sleep(ps->next[c] - now);
        now = ps->next[c];
    }
    ps->next[c] = now + call_gap(ps->ctx->conf, c);
}

/* What RongCloud must be told of one student, read with a connection. */
static void decide(pass_t *ps, student_t *su, wcim_store_t *st,
                   apr_time_t now_ms, apr_pool_t *p)
{
    wcim_ctx_t *ctx = ps->ctx;
    wcim_told_t *t = su->told;
    apr_array_header_t *clubs;
    wcim_user_t user;
    const char *why = NULL, *synced;
    apr_int64_t uid;
    int gone = 0, i;
    apr_status_t rv;

    if (wcim_decimal_parse(&uid, su->uid, strlen(su->uid), 19)
        != APR_SUCCESS) {
        return;          /* not one of ours */
    }
    rv = wcim_store_student_state(&user, &gone, &why, st, uid, p);
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
        ps->stats->errors++;
        WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0601)
                 "reconciliation: reading student %s: %s", su->uid, why);
        return;
    }
    if (rv == APR_NOTFOUND || gone) {
        if (t->blocked == 0 || t->blocked - now_ms
                               < apr_time_as_msec(WCIM_RECONCILE_REBLOCK)) {
            su->todo |= DO_BLOCK;
        }
        return;
    }
    if (t->blocked != 0) {
        su->todo |= DO_UNBLOCK;
    }
    su->name = wcim_tokens_display_name(&user);
    su->portrait = user.avatar_url ? user.avatar_url : "";
    su->profile = wcim_tokens_profile(su->name, su->portrait, p);
    if (strcmp(su->profile, t->token.profile) != 0) {
        su->todo |= DO_REFRESH;
    }
    if (!ctx->conf->group_sync) {
        return;
    }
    rv = wcim_store_groups_list(&clubs, &why, st, su->uid, NULL, p);
    if (rv != APR_SUCCESS) {
        /* never an empty set in its place: that would unbind every group */
        ps->stats->errors++;
        WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0602)
                 "reconciliation: reading the groups of student %s: %s",
                 su->uid, why);
        return;
    }
    su->groups = apr_array_make(p, clubs->nelts, sizeof(wcim_rc_group_t));
    for (i = 0; i < clubs->nelts; ++i) {
        const wcim_group_t *g = &APR_ARRAY_IDX(clubs, i, wcim_group_t);
        wcim_rc_group_t *rg = apr_array_push(su->groups);

        rg->id = apr_psprintf(p, WCIM_RC_GROUP_PREFIX "%" APR_INT64_T_FMT,
                              g->club_id);
        rg->name = g->name ? g->name : "";
    }
    su->digest = wcim_group_sync_digest(su->groups, p);
    if (t->group_set && strcmp(t->group_set, su->digest) == 0) {
        return;
    }
    /* a list of his synced it already (the request path keeps its digest
     * in the cache): only recorded */
    if (wcim_ctx_cache_get(&synced, ctx, WCIM_CACHE_SYNC,
                           wcim_ctx_cache_key(ctx, WCIM_GROUPS_KEY_PREFIX))
        == APR_SUCCESS && strcmp(synced, su->digest) == 0) {
        su->todo |= DO_RECORD;
    }
    else {
        su->todo |= DO_SYNC;
    }
}

/* One call of the pass, counted and said. */
static void told(pass_t *ps, student_t *su, int what, apr_status_t rv,
                 const wcim_rc_error_t *err, const char *said, apr_pool_t *p)
{
    wcim_ctx_t *ctx = ps->ctx;

    ps->stats->calls++;
    if (rv == APR_SUCCESS) {
        su->done |= what;
        WCIM_LOG(&ctx->log, WCIM_LOG_INFO, 0, WCIMLOGNO(0603)
                 "reconciliation: %s %s", said, ctx->rc_user_id);
        return;
    }
    su->failed |= what;
    ps->stats->failed++;
    WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0604)
             "reconciliation: RongCloud %s for %s failed (the next pass "
             "tries again): %s", said, ctx->rc_user_id,
             wcim_rc_error_text(err, p));
}

/* Tell RongCloud, without a connection. */
static void tell(pass_t *ps, student_t *su, apr_pool_t *p)
{
    wcim_ctx_t *ctx = ps->ctx;
    wcim_rc_t rc = wcim_ctx_rc(ctx);
    wcim_rc_error_t err;

    if (su->todo & DO_BLOCK) {
        pace(ps, WCIM_CALL_BLOCK);
        told(ps, su, DO_BLOCK,
             wcim_rc_block_user(&err, &rc, ctx->rc_user_id,
                                WCIM_RC_BLOCK_MAX_MINUTES, p),
             &err, "blocked (frozen or deleted)", p);
        return;
    }
    if (su->todo & DO_UNBLOCK) {
        pace(ps, WCIM_CALL_BLOCK);
        told(ps, su, DO_UNBLOCK,
             wcim_rc_unblock_user(&err, &rc, ctx->rc_user_id, p), &err,
             "unblocked", p);
    }
    if (su->todo & DO_REFRESH) {
        pace(ps, WCIM_CALL_REFRESH);
        told(ps, su, DO_REFRESH,
             wcim_rc_refresh_user(&err, &rc, ctx->rc_user_id, su->name,
                                  su->portrait, p), &err,
             "user/refresh (name or portrait changed) of", p);
    }
    if (su->todo & DO_SYNC) {
        pace(ps, WCIM_CALL_GROUP_SYNC);
        told(ps, su, DO_SYNC,
             wcim_rc_group_sync(&err, &rc, ctx->rc_user_id, su->groups, p),
             &err, apr_psprintf(p, "group/sync (%d groups) of",
                                su->groups->nelts), p);
    }
}

/* Record what was told, with a connection again: the told row, the token
 * row and the cache. A record that fails costs the call again next
 * pass. */
static void record(pass_t *ps, student_t *su, wcim_store_t *st,
                   apr_time_t now_ms, apr_pool_t *p)
{
    wcim_ctx_t *ctx = ps->ctx;
    wcim_told_t *t = su->told;
    const char *app_key = ctx->conf->rc.app_key, *why = NULL;
    const char *group_set = t->group_set ? t->group_set : "";
    apr_int64_t blocked = t->blocked;
    wcim_rc_token_row_t row = t->token;
    int token_changed = 0;

    if (su->done & (DO_SYNC | DO_RECORD)) {
        group_set = su->digest;
    }
    if (su->todo & DO_RECORD) {
        su->done |= DO_RECORD;
        group_set = su->digest;
    }
    if (su->done & DO_SYNC) {
        wcim_ctx_cache_put(ctx, wcim_ctx_cache_key(ctx, WCIM_GROUPS_KEY_PREFIX),
                           su->digest);
        ps->stats->synced++;
    }
    if (su->done & DO_BLOCK) {
        blocked = now_ms + (apr_int64_t)WCIM_RC_BLOCK_MAX_MINUTES * 60000;
        /* his token is dropped: after a thaw he gets a new one */
        row.token = "";
        token_changed = 1;
        wcim_ctx_cache_put(ctx, wcim_ctx_cache_key(ctx, WCIM_TOKEN_KEY_PREFIX),
                           "-");
        ps->stats->blocked++;
    }
    if (su->done & DO_UNBLOCK) {
        blocked = 0;
        ps->stats->unblocked++;
    }
    if (su->done & DO_REFRESH) {
        row.profile = su->profile;
        token_changed = 1;
        if (*row.token) {
            wcim_ctx_cache_put(ctx, wcim_ctx_cache_key(ctx,
                                                       WCIM_TOKEN_KEY_PREFIX),
                               wcim_tokens_entry(p, row.profile, row.issued,
                                                 row.token));
        }
        ps->stats->renamed++;
    }
    if (token_changed
        && wcim_store_rc_token_put(&why, st, app_key, t->rc_user, &row, p)
           != APR_SUCCESS) {
        ps->stats->errors++;
        WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0605)
                 "reconciliation: writing the token row of %s: %s",
                 t->rc_user, why);
    }
    if ((su->done || t->group_set == NULL)
        && wcim_store_told_put(&why, st, app_key, t->rc_user, group_set,
                               blocked, now_ms, p) != APR_SUCCESS) {
        ps->stats->errors++;
        WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0606)
                 "reconciliation: recording what RongCloud was told of %s: "
                 "%s", t->rc_user, why);
    }
}

wcim_store_t *wcim_reconcile_open(wcim_ctx_t *ctx,
                                  const wcim_reconcile_env_t *env,
                                  apr_pool_t *p)
{
    wcim_store_t *st = NULL;
    const char *why = NULL;

    if (env->open(&st, &why, env->baton, p) != APR_SUCCESS) {
        WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0607)
                 "reconciliation: no database connection: %s",
                 why ? why : "unknown error");
        return NULL;
    }
    return st;
}

static wcim_store_t *batch_open(pass_t *ps, apr_pool_t *p)
{
    return wcim_reconcile_open(ps->ctx, ps->env, p);
}

/* Take or keep a lease (the App Key's, or another of its) for two
 * intervals and 10 s; 0 when another node holds it. */
int wcim_reconcile_lease(wcim_ctx_t *ctx, const wcim_reconcile_env_t *env,
                         const char *key, apr_pool_t *p)
{
    apr_int64_t now = apr_time_as_msec(apr_time_now());
    wcim_store_t *st;
    const char *why = NULL;
    int held = 0;

    if ((st = wcim_reconcile_open(ctx, env, p)) == NULL) {
        return 0;
    }
    if (wcim_store_lease_take(&held, &why, st, key, env->holder, now,
                              now + 2 * apr_time_as_msec(env->interval)
                              + 10000, p) != APR_SUCCESS) {
        held = 0;
        WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0608)
                 "reconciliation: taking the lease %s "
                 "(sql/<engine>/reconcile.sql loaded?): %s", key, why);
    }
    env->close(st, env->baton);
    return held;
}

static int lease(pass_t *ps, apr_pool_t *p)
{
    return wcim_reconcile_lease(ps->ctx, ps->env, ps->ctx->conf->rc.app_key,
                                p);
}

/* One page: decide, tell, record. *pafter moves to its last student;
 * the number of students read, or -1 when the database failed. */
static int page(pass_t *ps, const char **pafter, apr_pool_t *p)
{
    wcim_ctx_t *ctx = ps->ctx;
    const wcim_reconcile_env_t *env = ps->env;
    apr_array_header_t *rows;
    student_t *su;
    wcim_store_t *st;
    const char *why = NULL;
    apr_time_t now_ms = apr_time_as_msec(apr_time_now());
    int i, n, calls = 0;
    size_t plen = strlen(WCIM_RC_USER_PREFIX);

    if ((st = batch_open(ps, p)) == NULL) {
        return -1;
    }
    if (wcim_store_told_page(&rows, &why, st, ctx->conf->rc.app_key, *pafter,
                             p) != APR_SUCCESS) {
        env->close(st, env->baton);
        ps->stats->errors++;
        WCIM_LOG(&ctx->log, WCIM_LOG_ERR, 0, WCIMLOGNO(0609)
                 "reconciliation: reading the students RongCloud knows "
                 "(sql/<engine>/reconcile.sql loaded?): %s", why);
        return -1;
    }
    n = rows->nelts;
    su = apr_pcalloc(p, (n ? n : 1) * sizeof(*su));
    for (i = 0; i < n; ++i) {
        su[i].told = &APR_ARRAY_IDX(rows, i, wcim_told_t);
        if (strncmp(su[i].told->rc_user, WCIM_RC_USER_PREFIX, plen) != 0) {
            continue;
        }
        su[i].uid = su[i].told->rc_user + plen;
        ctx->rc_user_id = su[i].told->rc_user;
        decide(ps, &su[i], st, now_ms, p);
        ps->stats->students++;
        if (su[i].todo & ~DO_RECORD) {
            ps->stats->changes++;
            calls = 1;
        }
    }
    if (n > 0) {
        *pafter = apr_pstrdup(ctx->pool, su[n - 1].told->rc_user);
    }
    if (calls) {
        apr_time_t told_from = apr_time_now();

        env->close(st, env->baton);
        for (i = 0; i < n && !*env->stop; ++i) {
            if (su[i].todo & ~DO_RECORD) {
                ctx->rc_user_id = su[i].told->rc_user;
                tell(ps, &su[i], p);
            }
        }
        ps->telling += apr_time_now() - told_from;
        if ((st = batch_open(ps, p)) == NULL) {
            return -1;
        }
    }
    for (i = 0; i < n; ++i) {
        if (su[i].uid && (su[i].todo || su[i].told->group_set == NULL)) {
            ctx->rc_user_id = su[i].told->rc_user;
            record(ps, &su[i], st, now_ms, p);
        }
    }
    env->close(st, env->baton);
    return n;
}

apr_status_t wcim_reconcile_pass(wcim_reconcile_stats_t *stats,
                                 wcim_ctx_t *ctx,
                                 const wcim_reconcile_env_t *env)
{
    pass_t ps;
    const char *after = "";
    apr_pool_t *p;
    apr_status_t rv = APR_SUCCESS;
    int n;

    memset(stats, 0, sizeof(*stats));
    memset(&ps, 0, sizeof(ps));
    ps.ctx = ctx;
    ps.env = env;
    ps.stats = stats;
    if (!ctx->conf->rc.app_key || !ctx->conf->rc.app_secret) {
        return APR_EINIT;
    }
    if ((rv = apr_pool_create(&p, ctx->pool)) != APR_SUCCESS) {
        return rv;
    }
    stats->held = lease(&ps, p);
    while (stats->held && !*env->stop) {
        apr_time_t began = apr_time_now();
        apr_interval_time_t rest;

        apr_pool_clear(p);
        ps.telling = 0;
        n = page(&ps, &after, p);
        /* the pass reads flat out: it then rests WCIM_RECONCILE_REST
         * times as long as it read (not as long as it waited for
         * RongCloud, which is paced already), so that it takes at most a
         * quarter of a core from the requests (bench/README.md) */
        rest = (apr_time_now() - began - ps.telling) * WCIM_RECONCILE_REST;
        while (rest > 0 && !*env->stop) {
            apr_interval_time_t nap = rest < apr_time_from_msec(250)
                                      ? rest : apr_time_from_msec(250);

            apr_sleep(nap);
            rest -= nap;
        }
        if (n < 0) {
            rv = APR_EGENERAL;
            break;
        }
        if (n < WCIM_TOLD_PAGE) {
            break;
        }
        /* a long pass keeps its lease */
        apr_pool_clear(p);
        stats->held = lease(&ps, p);
    }
    apr_pool_destroy(p);
    return rv;
}
