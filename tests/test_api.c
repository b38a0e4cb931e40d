/* wcim_api_call end to end, without httpd: a request body through the
 * check order, the store (wcim_store_attach on an in-memory SQLite
 * database, through apr_dbd as the module uses it) and a cache backed by a
 * table, to the answer's bytes. Part of tests/unit_tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_dbd.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <jansson.h>

#include "unit_tests.h"
#include "../modules/wcim_api.h"
#include "../modules/wcim_groupsync.h"
#include "../modules/wcim_route_apply.h"
#include "../modules/wcim_digest.h"
#include "../modules/wcim_result.h"
#include "../modules/wcim_envelope.h"
#include "../modules/wcim_sign.h"
#include "../modules/wcim_route_parse.h"
#include "../modules/wcim_tokens.h"

/* ---- a store on in-memory SQLite ---------------------------------- */

typedef struct {
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
    apr_pool_t *pool;
    const char *sql[WCIM_STMT_COUNT];
    const char *tag;    /* names the statements: another tag, another set */
} test_db_t;

static apr_status_t test_store_open(wcim_store_t **pstore, const char **perr,
                                    void *baton)
{
    test_db_t *db = baton;
    const char *warn;

    return wcim_store_attach(pstore, &warn, perr, db->driver, db->handle,
                             db->pool, db->sql, db->tag ? db->tag : "t",
                             db->pool);
}

/* ---- a cache backed by a table ------------------------------------ */

typedef struct {
    wcim_cache_t base;          /* first: the core holds a wcim_cache_t * */
    apr_hash_t *entries;
    apr_pool_t *pool;
    int gets, hits, puts;
} table_cache_t;

static apr_status_t table_get(wcim_cache_t *c, const char *key,
                              const char **pvalue, apr_pool_t *p)
{
    table_cache_t *t = (table_cache_t *)c;

    ++t->gets;
    *pvalue = apr_hash_get(t->entries, key, APR_HASH_KEY_STRING);
    if (*pvalue == NULL) {
        return APR_NOTFOUND;
    }
    ++t->hits;
    return APR_SUCCESS;
}

static apr_status_t table_put(wcim_cache_t *c, const char *key,
                              const char *value, apr_interval_time_t ttl,
                              apr_pool_t *p)
{
    table_cache_t *t = (table_cache_t *)c;

    ++t->puts;
    apr_hash_set(t->entries, apr_pstrdup(t->pool, key), APR_HASH_KEY_STRING,
                 apr_pstrdup(t->pool, value));
    return APR_SUCCESS;
}

static void quiet_log(void *baton, const char *file, int line, int level,
                      apr_status_t rv, const char *msg)
{
}

#define TOKEN38 SEED_TOKEN

static const char *const schema[] = {
    "CREATE TABLE t_student (student_id INTEGER PRIMARY KEY, mobile TEXT, "
    "nick_name TEXT, real_name TEXT, avatar_url TEXT, status INTEGER, "
    "is_del INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE t_club (club_id INTEGER PRIMARY KEY, school_id INTEGER, "
    "name TEXT NOT NULL, avatar_url TEXT, status INTEGER NOT NULL)",
    "CREATE TABLE t_club_graduate (club_graduate_id INTEGER PRIMARY KEY, "
    "club_id INTEGER NOT NULL, graduate_count INTEGER, is_current INTEGER)",
    "CREATE TABLE t_student_club_graduate_relation (stu_clu_gra_rel_id "
    "INTEGER PRIMARY KEY, graduate_id INTEGER, student_id INTEGER, status "
    "INTEGER, super_admin INTEGER, is_del INTEGER NOT NULL DEFAULT 0)",
    "CREATE INDEX t_scgr_student ON t_student_club_graduate_relation "
    "(student_id)",    /* as sql/sqlite/schema.sql: the join's plan */
    "CREATE TABLE t_token (uid INTEGER, token TEXT, caller TEXT, "
    "create_date INTEGER)",
    "CREATE TABLE t_im_rc_token (app_key TEXT NOT NULL, user_id TEXT NOT "
    "NULL, secret_tag TEXT NOT NULL, profile TEXT NOT NULL, token TEXT NOT "
    "NULL, updated INTEGER NOT NULL, PRIMARY KEY (app_key, user_id))",
    "INSERT INTO t_student VALUES (38, '1', '佐', NULL, "
    "'http://img.example.com/38.png', 1, 0)",
    "INSERT INTO t_club VALUES (1, 1, '社团联合会', 'http://img.example.com/c1.png', 1)",
    "INSERT INTO t_club VALUES (2, 1, 'not approved', NULL, 0)",
    "INSERT INTO t_club_graduate VALUES (1, 1, 1, 1)",
    "INSERT INTO t_club_graduate VALUES (2, 2, 1, 1)",
    "INSERT INTO t_student_club_graduate_relation VALUES (1, 1, 38, 1, 0, 0)",
    "INSERT INTO t_student_club_graduate_relation VALUES (2, 2, 38, 1, 0, 0)",
    "INSERT INTO t_token VALUES (38, '" TOKEN38 "', 'chrome_test', "
    "1491898739098)",
};

static const char *body_for(apr_pool_t *p, const char *uid, const char *token)
{
    const char *data = apr_psprintf(p, "{\"user_id\":\"%s\",\"token\":\"%s\"}",
                                    uid, token);
    const char *wrapped = apr_pstrcat(p, "{\"client\":{},\"data\":", data,
                                      "}", NULL);
    wcim_envelope_t *env = NULL;
    const char *sign = NULL, *why;

    if (wcim_envelope_parse(&env, &why, wrapped, strlen(wrapped), p)
        == APR_SUCCESS) {
        wcim_sign_compute(&sign, WCIM_SIGN_FORM_MD5_SHA1, env->data,
                          env->data_count, SECRET, strlen(SECRET), p);
    }
    return apr_psprintf(p, "{\"id\":\"1\",\"client\":{\"caller\":"
                        "\"chrome_test\",\"version\":\"v2.1\",\"date\":\"0\","
                        "\"ex\":{}},\"encrypt\":\"md5\",\"sign\":\"%s\","
                        "\"data\":%s}", sign, data);
}

static const char *answer(wcim_reply_t *reply, wcim_ctx_t *ctx,
                          wcim_api_t api, const char *body)
{
    const char *text = NULL;
    apr_size_t len = 0;

    wcim_api_call(reply, ctx, api, body, strlen(body));
    wcim_reply_render(&text, &len, reply, apr_time_from_msec(1000), ctx->pool);
    return text;
}

/* A request of uid with token answers result code `code`. */
static void check_code(wcim_reply_t *reply, wcim_ctx_t *ctx, wcim_api_t api,
                       const char *uid, const char *token, int code,
                       const char *what, apr_pool_t *p)
{
    answer(reply, ctx, api, body_for(p, uid, token));
    CHECK(reply->result_code == code,
          apr_psprintf(p, "%s: %d", what, reply->result_code));
}

/* ---- message routing's nonce, through wcim_api_route ---------------- */

/* A cache whose reads fail (redis down): a miss, never "seen". */
static apr_status_t broken_get(wcim_cache_t *c, const char *key,
                               const char **pvalue, apr_pool_t *p)
{
    *pvalue = NULL;
    return APR_ECONNREFUSED;
}

static apr_status_t broken_put(wcim_cache_t *c, const char *key,
                               const char *value, apr_interval_time_t ttl,
                               apr_pool_t *p)
{
    return APR_ECONNREFUSED;
}

/* A routing post's nonce check then the post, as the glue runs them:
 * the check's status, else the post's. */
static apr_status_t route_post(wcim_ctx_t *ctx, const char *nonce,
                               const char *ts, const char *uid)
{
    wcim_routed_post_t post = { "im_user_id_7", "im_club_id_1", "RC:TxtMsg",
                                "{\"content\":\"hi\"}", "GROUP",
                                "1700000000000", uid, NULL };
    wcim_routed_t kind;
    const char *plain = apr_pstrcat(ctx->pool, ctx->conf->rc.app_secret,
                                    nonce, ts, NULL);
    char sig[WCIM_SHA1_HEX_LEN + 1];
    apr_status_t rv;

    wcim_sha1_hex(sig, plain, strlen(plain), 0);
    if ((rv = wcim_api_route_check(ctx, nonce, ts, sig)) != APR_SUCCESS) {
        return rv;
    }
    return wcim_api_route(&kind, ctx, &post);
}

static int count_rows(test_db_t *db, const char *sql)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *v;

    if (apr_dbd_select(db->driver, db->pool, db->handle, &res, sql, 0) != 0
        || apr_dbd_get_row(db->driver, db->pool, res, &row, -1) != 0
        || (v = apr_dbd_get_entry(db->driver, row, 0)) == NULL) {
        return -1;
    }
    while (apr_dbd_get_row(db->driver, db->pool, res, &row, -1) == 0) {
    }
    return atoi(v);
}

/* The nonce reservation (issue 23, items 2 and 8) as wcim_api_route runs
 * it, on the store of test_api's database: what issue 27's mutation pass
 * found no test for. */
static void test_api_route(test_db_t *db0, const wcim_ctx_t *base,
                           apr_pool_t *p)
{
    test_db_t db = *db0;
    table_cache_t cache = { { table_get, table_put }, NULL, p, 0, 0, 0 };
    wcim_cache_t broken = { broken_get, broken_put };
    wcim_config_t conf = *base->conf;
    wcim_ctx_t ctx = *base;
    apr_int64_t now = APR_INT64_C(1700000000000), w = 300000;
    static const char *const tables[] = {
        "CREATE TABLE t_im_nonce (nonce_key TEXT PRIMARY KEY, "
        "used_at INTEGER NOT NULL)",
        "CREATE TABLE t_im_message (msg_uid TEXT PRIMARY KEY, club_id "
        "INTEGER NOT NULL, from_user TEXT NOT NULL, object_name TEXT NOT "
        "NULL, preview TEXT NOT NULL, msg_time INTEGER NOT NULL)",
        "CREATE TABLE t_im_group_state (club_id INTEGER PRIMARY KEY, "
        "last_msg_uid TEXT NOT NULL, last_content TEXT NOT NULL, "
        "last_date INTEGER NOT NULL)",
        "CREATE TABLE t_im_read_mark (user_id TEXT NOT NULL, club_id "
        "INTEGER NOT NULL, read_time INTEGER NOT NULL, PRIMARY KEY "
        "(user_id, club_id))",
        /* made before the statements are prepared: a schema change
         * after would make them fail once (SQLITE_SCHEMA) */
        "CREATE TRIGGER t_im_message_fail BEFORE INSERT ON t_im_message "
        "WHEN NEW.msg_uid = 'FAIL' BEGIN SELECT RAISE(ABORT, 'refused by "
        "the test'); END",
    };
    apr_size_t i;
    int n;

    for (i = 0; i < sizeof(tables) / sizeof(tables[0]); ++i) {
        CHECK(apr_dbd_query(db.driver, db.handle, &n, tables[i]) == 0,
              tables[i]);
    }
    for (i = 0; i < WCIM_STMT_COUNT; ++i) {
        db.sql[i] = wcim_store_specs[i].sql;
    }
    db.tag = "route";
    cache.entries = apr_hash_make(p);
    conf.rc.app_secret = "route-secret";
    conf.callback_window = apr_time_from_msec(w);
    conf.message_max_age = apr_time_from_sec(86400);
    conf.message_labels = apr_table_make(p, 4);
    wcim_routing_default_labels(conf.message_labels);
    ctx.conf = &conf;
    ctx.now = apr_time_from_msec(now);
    ctx.store_baton = &db;
    ctx.cache = NULL;    /* the database alone decides */

    CHECK(route_post(&ctx, "n1", "1700000000000", "U1") == APR_SUCCESS,
          "route: a post stored");
    CHECK(route_post(&ctx, "n1", "1700000000000", "U2") == APR_EACCES,
          "route: the same nonce and timestamp again: APR_EACCES (a replay, "
          "401), without a cache");
    CHECK(route_post(&ctx, "n1", "1700000001000", "U3") == APR_SUCCESS,
          "route: the same nonce under another signTimestamp is another "
          "signed query: stored");
    CHECK(count_rows(&db, "SELECT COUNT(*) FROM t_im_message WHERE msg_uid "
                     "IN ('U1', 'U3')") == 2
          && count_rows(&db, "SELECT COUNT(*) FROM t_im_message WHERE "
                        "msg_uid = 'U2'") == 0,
          "route: U1 and U3 stored, not the replay U2");

    /* a post that cannot be stored gives its nonce back, and only its
     * own; the cache does not call it seen */
    ctx.cache = &cache.base;
    n = count_rows(&db, "SELECT COUNT(*) FROM t_im_nonce");
    CHECK(route_post(&ctx, "n2", "1700000000000", "FAIL") == APR_EGENERAL,
          "route: the insert fails: an error (500), not a replay");
    CHECK(count_rows(&db, "SELECT COUNT(*) FROM t_im_nonce") == n,
          "route: the failed post's nonce given back, the others kept");
    CHECK(route_post(&ctx, "n2", "1700000000000", "U4") == APR_SUCCESS,
          "route: RongCloud's retry of the failed post: stored");
    CHECK(route_post(&ctx, "n2", "1700000000000", "U5") == APR_EACCES,
          "route: and then a replay");

    /* a cache that fails proves nothing: the database decides */
    ctx.cache = &broken;
    CHECK(route_post(&ctx, "n3", "1700000000000", "U6") == APR_SUCCESS,
          "route: a failing cache read is not \"seen\"");
    CHECK(route_post(&ctx, "n3", "1700000000000", "U7") == APR_EACCES,
          "route: a replay with the cache failing: refused by the database");
    ctx.cache = NULL;

    /* the nonces older than two windows pruned, the others kept */
    CHECK(apr_dbd_query(db.driver, db.handle, &n, apr_psprintf(p,
          "INSERT INTO t_im_nonce VALUES ('young', %" APR_INT64_T_FMT "), "
          "('old', %" APR_INT64_T_FMT ")", now - 3 * w / 2, now - 5 * w / 2))
          == 0, "two nonces, taken 1.5 and 2.5 windows ago");
    CHECK(wcim_api_prune(&ctx) == APR_SUCCESS, "route: pruned");
    CHECK(count_rows(&db, "SELECT COUNT(*) FROM t_im_nonce WHERE nonce_key "
                     "= 'young'") == 1, "prune: a nonce taken 1.5 windows "
          "ago is kept (its timestamp may be a window ahead)");
    CHECK(count_rows(&db, "SELECT COUNT(*) FROM t_im_nonce WHERE nonce_key "
                     "= 'old'") == 0, "prune: one 2.5 windows old is gone");
    CHECK(count_rows(&db, "SELECT COUNT(*) FROM t_im_nonce") >= 3,
          "prune: the nonces just taken are kept");

    /* nonce_exists not prepared (a replaced statement failing): refused
     * as unchecked (503), nothing stored */
    db.sql[WCIM_STMT_NONCE_EXISTS] = NULL;
    db.tag = "route2";
    CHECK(route_post(&ctx, "n4", "1700000000000", "U8") == APR_EAGAIN,
          "route: nonce_exists not prepared: APR_EAGAIN (503)");
    CHECK(count_rows(&db, "SELECT COUNT(*) FROM t_im_message WHERE msg_uid "
                     "= 'U8'") == 0, "route: and nothing stored");
}

void test_api(apr_pool_t *p)
{
    test_db_t db = { 0 };
    table_cache_t cache = { { table_get, table_put }, NULL, p, 0, 0, 0 };
    wcim_config_t conf = { 0 };
    wcim_ctx_t ctx = { 0 };
    wcim_reply_t reply;
    const char *text, *err = NULL;
    apr_size_t i;
    int n;

    apr_dbd_init(p);
    if (apr_dbd_get_driver(p, "sqlite3", &db.driver) != APR_SUCCESS
        || apr_dbd_open_ex(db.driver, p, ":memory:", &db.handle, &err)
           != APR_SUCCESS) {
        CHECK(0, apr_psprintf(p, "SQLite through apr_dbd: %s", err ? err
                              : "no sqlite3 driver"));
        return;
    }
    for (i = 0; i < sizeof(schema) / sizeof(schema[0]); ++i) {
        CHECK(apr_dbd_query(db.driver, db.handle, &n, schema[i]) == 0,
              schema[i]);
    }
    db.pool = p;
    /* message routing off (no tables): its statements unused */
    for (i = 0; i < WCIM_STMT_COUNT; ++i) {
        db.sql[i] = i < WCIM_STMT_CORE_COUNT ? wcim_store_specs[i].sql : NULL;
    }
    cache.entries = apr_hash_make(p);

    conf.sign_secret = SECRET;
    conf.sign_secret_len = strlen(SECRET);
    conf.sign_forms = WCIM_SIGN_FORMS_ALL;
    conf.sign_check = 1;
    conf.callers = apr_array_make(p, 1, sizeof(const char *));
    *(const char **)apr_array_push(conf.callers) = "chrome_test";
    conf.token_lifetime_ms = 0;
    conf.rc.app_key = "k";
    conf.rc.app_secret = "s";
    conf.rc.secret_tag = "tag";
    conf.rc.urls = apr_array_make(p, 1, sizeof(const char *));
    *(const char **)apr_array_push(conf.rc.urls) = "http://127.0.0.1:1";
    conf.rc.timeout = apr_time_from_msec(200);
    conf.group_sync = 1;
    conf.cache_ttl = apr_time_from_sec(60);

    ctx.pool = p;
    ctx.conf = &conf;
    ctx.now = apr_time_from_msec(1000);
    ctx.log.fn = quiet_log;
    ctx.log.level = 7;
    ctx.log.pool = p;
    ctx.store_open = test_store_open;
    ctx.store_baton = &db;
    ctx.cache = &cache.base;

    /* the list: the approved club only, its members' set due for a sync */
    text = answer(&reply, &ctx, WCIM_API_GROUP_CHAT_LIST,
                  body_for(p, "38", TOKEN38));
    CHECK(reply.result_code == 2000, apr_psprintf(p, "list: %d", reply.result_code));
    CHECK(text && strcmp(text, "{\"result_code\":2000,\"result_msg\":\"请求成功\","
                         "\"sys_time\":1000,\"data\":{\"group_chat_list\":[{"
                         "\"im_group_id\":\"im_club_id_1\",\"avatar_url\":"
                         "\"http://img.example.com/c1.png\",\"last_msg_content\":"
                         "null,\"club_id\":1,\"fresh_msg_count\":0,\"club_name\":"
                         "\"社团联合会\",\"last_msg_date\":0}]}}") == 0,
          apr_psprintf(p, "list answer: %s", text));
    CHECK(ctx.sync_groups && ctx.sync_groups->nelts == 1,
          "list: the user's one group is due for a sync");

    /* token_groups (one statement, as without message routing): the same
     * answer; a user in no club gets null; a token row twice (no unique
     * index here) lists each club once. Its own statement set, whose
     * "groups" lists nothing: an answer with clubs came from token_groups */
    {
        wcim_ctx_t c6 = ctx;
        test_db_t db6 = db;
        const char *one = apr_pstrdup(p, text), *none, *two;
        static const char *const clubs[] = {
            /* clubs 3, 4, 5 approved, 6 not; user 38 joined 5, 3, 4, 3
             * again (two relation rows), 6 */
            "INSERT INTO t_club VALUES (3, 1, 'c3', NULL, 1)",
            "INSERT INTO t_club VALUES (4, 1, 'c4', NULL, 1)",
            "INSERT INTO t_club VALUES (5, 1, 'c5', NULL, 1)",
            "INSERT INTO t_club VALUES (6, 1, 'c6', NULL, 0)",
            "INSERT INTO t_club_graduate VALUES (3, 3, 1, 1)",
            "INSERT INTO t_club_graduate VALUES (4, 4, 1, 1)",
            "INSERT INTO t_club_graduate VALUES (5, 5, 1, 1)",
            "INSERT INTO t_club_graduate VALUES (6, 6, 1, 1)",
            "INSERT INTO t_student_club_graduate_relation VALUES (10, 5, 38, 1, 0, 0)",
            "INSERT INTO t_student_club_graduate_relation VALUES (11, 3, 38, 1, 0, 0)",
            "INSERT INTO t_student_club_graduate_relation VALUES (12, 4, 38, 1, 0, 0)",
            "INSERT INTO t_student_club_graduate_relation VALUES (13, 3, 38, 1, 0, 0)",
            "INSERT INTO t_student_club_graduate_relation VALUES (14, 6, 38, 1, 0, 0)",
        };

        db6.sql[WCIM_STMT_GROUPS] = "SELECT club_id, name, avatar_url FROM "
                                    "t_club WHERE club_id = -1 AND "
                                    "club_id = %lld";
        db6.sql[WCIM_STMT_TOKEN_GROUPS] =
            wcim_store_specs[WCIM_STMT_TOKEN_GROUPS].sql;
        db6.tag = "t6";
        c6.store_baton = &db6;
        c6.sync_groups = NULL;
        text = answer(&reply, &c6, WCIM_API_GROUP_CHAT_LIST,
                      body_for(p, "38", TOKEN38));
        CHECK(text && strcmp(text, one) == 0,
              apr_psprintf(p, "token_groups: %s", text));
        CHECK(apr_dbd_query(db.driver, db.handle, &n, "INSERT INTO t_token "
                            "SELECT * FROM t_token WHERE uid = 38") == 0,
              "a second token row");
        text = answer(&reply, &c6, WCIM_API_GROUP_CHAT_LIST,
                      body_for(p, "38", TOKEN38));
        CHECK(text && strcmp(text, one) == 0,
              apr_psprintf(p, "token_groups, token row twice: %s", text));
        CHECK(apr_dbd_query(db.driver, db.handle, &n, "DELETE FROM t_token "
                            "WHERE rowid = (SELECT max(rowid) FROM t_token)")
              == 0, "the second token row gone");
        /* base64 of "d_date=5", made on 5 */
        CHECK(apr_dbd_query(db.driver, db.handle, &n, "INSERT INTO t_token "
                            "VALUES (39, 'ZF9kYXRlPTU=', 'chrome_test', 5)")
              == 0, "a user in no club");
        none = answer(&reply, &c6, WCIM_API_GROUP_CHAT_LIST,
                      body_for(p, "39", "ZF9kYXRlPTU="));
        CHECK(none && strstr(none, "\"data\":{\"group_chat_list\":null}}"),
              apr_psprintf(p, "token_groups, no club: %s", none));
        check_code(&reply, &c6, WCIM_API_GROUP_CHAT_LIST, "39",
                   "ZF9kYXRlPTY=", 3010, "token_groups, wrong token", p);
        check_code(&reply, &c6, WCIM_API_GROUP_CHAT_LIST, "40",
                   "ZF9kYXRlPTU=", 3010, "token_groups, no token row", p);
        /* clubs joined in another order, one twice, one not approved:
         * ordered by club_id, each once, as the two statements list them */
        for (i = 0; i < sizeof(clubs) / sizeof(clubs[0]); ++i) {
            CHECK(apr_dbd_query(db.driver, db.handle, &n, clubs[i]) == 0,
                  clubs[i]);
        }
        two = answer(&reply, &ctx, WCIM_API_GROUP_CHAT_LIST,
                     body_for(p, "38", TOKEN38));
        text = answer(&reply, &c6, WCIM_API_GROUP_CHAT_LIST,
                      body_for(p, "38", TOKEN38));
        CHECK(two && strstr(two, "\"club_id\":1,") && strstr(two, "\"club_id\":5,")
              && !strstr(two, "\"club_id\":6,"), apr_psprintf(p, "two "
              "statements, clubs 1, 3, 4, 5: %s", two ? two : "(none)"));
        CHECK(text && two && strcmp(text, two) == 0,
              apr_psprintf(p, "token_groups, clubs joined out of order: "
                           "%s", text));
        CHECK(apr_dbd_query(db.driver, db.handle, &n, "DELETE FROM "
                            "t_student_club_graduate_relation WHERE "
                            "stu_clu_gra_rel_id >= 10") == 0,
              "the extra memberships gone");
        text = one;
    }

    /* a wrong token: 3010, nothing more */
    {
        wcim_ctx_t c2 = ctx;

        c2.sync_groups = NULL;
        answer(&reply, &c2, WCIM_API_GROUP_CHAT_LIST,
               body_for(p, "38", "bm90IGEgdG9rZW4="));
        CHECK(reply.result_code == 3010, apr_psprintf(p, "wrong token: %d",
                                                      reply.result_code));
        CHECK(c2.sync_groups == NULL, "wrong token: no sync");
    }

    /* get_token from the cache: the entry as the core writes it (profile
     * digest of name "佐" and the portrait, then the token); no RongCloud
     * call is made (its URL refuses connections) */
    {
        wcim_ctx_t c3 = ctx;
        char hex[WCIM_SHA1_HEX_LEN + 1];
        const char *profile = "佐\nhttp://img.example.com/38.png";

        wcim_sha1_hex(hex, profile, strlen(profile), 0);
        apr_hash_set(cache.entries, "tok:k:tag:im_user_id_38",
                     APR_HASH_KEY_STRING, apr_pstrcat(p, hex, " cached-token",
                                                      NULL));
        c3.sync_groups = NULL;
        text = answer(&reply, &c3, WCIM_API_GET_TOKEN,
                      body_for(p, "38", TOKEN38));
        CHECK(reply.result_code == 2000, apr_psprintf(p, "get_token: %d",
                                                      reply.result_code));
        CHECK(text && strstr(text, ",\"data\":{\"im_token\":\"cached-token\"}}"),
              apr_psprintf(p, "get_token answer: %s", text));
        CHECK(c3.rc_time == 0, "get_token: no time spent on RongCloud");
        CHECK(cache.hits >= 1, "get_token: a cache hit");

        /* token_user (the token and the student in one statement): the
         * same answer; a token whose student is missing: 3014 */
        {
            const char *two = apr_pstrdup(p, text);

            db.sql[WCIM_STMT_TOKEN_USER] =
                wcim_store_specs[WCIM_STMT_TOKEN_USER].sql;
            text = answer(&reply, &c3, WCIM_API_GET_TOKEN,
                          body_for(p, "38", TOKEN38));
            CHECK(text && strcmp(text, two) == 0,
                  apr_psprintf(p, "token_user: %s", text));
            check_code(&reply, &c3, WCIM_API_GET_TOKEN, "39",
                       "ZF9kYXRlPTU=", 3014, "token_user, no student", p);
            check_code(&reply, &c3, WCIM_API_GET_TOKEN, "38",
                       "ZF9kYXRlPTU=", 3010, "token_user, wrong token", p);
            db.sql[WCIM_STMT_TOKEN_USER] = NULL;
        }
    }

    /* WeclubsIMTokenStore db: with the cache empty, the token comes from
     * the user's row of the token table, without a RongCloud call, and
     * goes into the cache; a row of another App Secret is not used */
    {
        wcim_ctx_t c5 = ctx;
        wcim_config_t conf5 = conf;
        char hex[WCIM_SHA1_HEX_LEN + 1];
        const char *profile = "佐\nhttp://img.example.com/38.png";
        const char *key = "tok:k:tag:im_user_id_38", *cached;

        wcim_sha1_hex(hex, profile, strlen(profile), 0);
        conf5.token_store_db = 1;
        c5.conf = &conf5;
        c5.sync_groups = NULL;
        for (i = WCIM_STMT_RC_TOKEN_FIRST; i < WCIM_STMT_COUNT; ++i) {
            db.sql[i] = wcim_store_specs[i].sql;
        }
        CHECK(apr_dbd_query(db.driver, db.handle, &n, apr_pstrcat(p,
              "INSERT INTO t_im_rc_token VALUES ('k', 'im_user_id_38', "
              "'tag', '", hex, "', 'stored-token', 1)", NULL)) == 0,
              "a row in the token table");
        apr_hash_set(cache.entries, key, APR_HASH_KEY_STRING, NULL);
        text = answer(&reply, &c5, WCIM_API_GET_TOKEN,
                      body_for(p, "38", TOKEN38));
        CHECK(reply.result_code == 2000, apr_psprintf(p, "token table: %d",
                                                      reply.result_code));
        CHECK(text && strstr(text, "\"im_token\":\"stored-token\""),
              apr_psprintf(p, "token table answer: %s", text));
        CHECK(c5.rc_time == 0, "token table: no time spent on RongCloud");
        cached = apr_hash_get(cache.entries, key, APR_HASH_KEY_STRING);
        CHECK(cached && strcmp(cached, apr_pstrcat(p, hex, " 1 stored-token",
                                                   NULL)) == 0,
              apr_psprintf(p, "token table: the row is put in the cache "
                           "with the token's issue time: %s", cached));

        /* WeclubsIMRongCloudTokenLifetime: the row's token was issued in
         * 1970, far past a day's lifetime: not served from the table nor
         * from the cache it was just put in (RongCloud is asked, and
         * fails here); one issued now is */
        conf5.rc_token_lifetime = apr_time_from_sec(86400);
        apr_hash_set(cache.entries, key, APR_HASH_KEY_STRING, NULL);
        answer(&reply, &c5, WCIM_API_GET_TOKEN, body_for(p, "38", TOKEN38));
        CHECK(reply.result_code != 2000, "a token older than the lifetime "
              "is not served from the table");
        answer(&reply, &c5, WCIM_API_GET_TOKEN, body_for(p, "38", TOKEN38));
        CHECK(reply.result_code != 2000, "nor from the cache");
        apr_hash_set(cache.entries, key, APR_HASH_KEY_STRING, NULL);
        apr_dbd_query(db.driver, db.handle, &n, apr_psprintf(p,
                      "UPDATE t_im_rc_token SET updated = %" APR_INT64_T_FMT,
                      apr_time_as_msec(apr_time_now()) - 3600 * 1000));
        text = answer(&reply, &c5, WCIM_API_GET_TOKEN,
                      body_for(p, "38", TOKEN38));
        CHECK(reply.result_code == 2000
              && strstr(text, "\"im_token\":\"stored-token\""),
              apr_psprintf(p, "an hour-old token within a day's lifetime is "
                           "served: %s", text));
        conf5.rc_token_lifetime = 0;
        apr_dbd_query(db.driver, db.handle, &n,
                      "UPDATE t_im_rc_token SET updated = 1");

        /* the row of another App Secret: RongCloud is asked (and fails
         * here, its URL refuses connections) */
        apr_hash_set(cache.entries, key, APR_HASH_KEY_STRING, NULL);
        apr_dbd_query(db.driver, db.handle, &n, "UPDATE t_im_rc_token SET "
                      "secret_tag = 'oldtag'");
        c5.rc_time = 0;
        answer(&reply, &c5, WCIM_API_GET_TOKEN, body_for(p, "38", TOKEN38));
        CHECK(reply.result_code != 2000, "a row of another App Secret is "
              "not used");

        /* WeclubsIMTokenStore cache: the table is never read */
        apr_dbd_query(db.driver, db.handle, &n, "UPDATE t_im_rc_token SET "
                      "secret_tag = 'tag'");
        c5.conf = &conf;
        answer(&reply, &c5, WCIM_API_GET_TOKEN, body_for(p, "38", TOKEN38));
        CHECK(reply.result_code != 2000, "WeclubsIMTokenStore cache: the "
              "table is not read");
        for (i = WCIM_STMT_RC_TOKEN_FIRST; i < WCIM_STMT_COUNT; ++i) {
            db.sql[i] = NULL;
        }
    }

    /* WeclubsIMTokenRecheck: a second ask within it gets a new token
     * (RongCloud is asked: it fails here), unless the token held is
     * itself that recent; a first ask is served and noted */
    {
        wcim_ctx_t c6 = ctx;
        wcim_config_t conf6 = conf;
        char hex[WCIM_SHA1_HEX_LEN + 1];
        const char *profile = "佐\nhttp://img.example.com/38.png";
        const char *key = "tok:k:tag:im_user_id_38";
        const char *ask = "ask:k:tag:im_user_id_38", *noted;
        apr_int64_t now = apr_time_as_msec(apr_time_now());

        wcim_sha1_hex(hex, profile, strlen(profile), 0);
        conf6.token_recheck = apr_time_from_sec(30);
        c6.conf = &conf6;
        c6.sync_groups = NULL;
        apr_hash_set(cache.entries, key, APR_HASH_KEY_STRING,
                     apr_psprintf(p, "%s %" APR_INT64_T_FMT " held-token",
                                  hex, now - 3600 * 1000));
        apr_hash_set(cache.entries, ask, APR_HASH_KEY_STRING, NULL);
        text = answer(&reply, &c6, WCIM_API_GET_TOKEN,
                      body_for(p, "38", TOKEN38));
        CHECK(reply.result_code == 2000 && strstr(text, "held-token"),
              apr_psprintf(p, "recheck: a first ask is served: %s", text));
        noted = apr_hash_get(cache.entries, ask, APR_HASH_KEY_STRING);
        CHECK(noted && apr_atoi64(noted) >= now, "recheck: the ask is noted");
        answer(&reply, &c6, WCIM_API_GET_TOKEN, body_for(p, "38", TOKEN38));
        CHECK(reply.result_code != 2000, "recheck: a second ask within 30 s "
              "does not get the hour-old token");
        apr_hash_set(cache.entries, key, APR_HASH_KEY_STRING,
                     apr_psprintf(p, "%s %" APR_INT64_T_FMT " new-token",
                                  hex, now - 5 * 1000));
        text = answer(&reply, &c6, WCIM_API_GET_TOKEN,
                      body_for(p, "38", TOKEN38));
        CHECK(reply.result_code == 2000 && strstr(text, "new-token"),
              apr_psprintf(p, "recheck: a token fetched 5 s ago is served "
                           "to a third ask: %s", text));
        apr_hash_set(cache.entries, ask, APR_HASH_KEY_STRING, NULL);
        apr_hash_set(cache.entries, key, APR_HASH_KEY_STRING, NULL);
    }

    /* the rule alone (ms) */
    {
        wcim_config_t c = { 0 };
        apr_int64_t day = 86400 * 1000;

        CHECK(wcim_tokens_held(&c, 1, 2, 3) == WCIM_HELD_SERVE,
              "both off: served");
        c.rc_token_lifetime = apr_time_from_sec(3600);
        CHECK(wcim_tokens_held(&c, 0, 0, day) == WCIM_HELD_TOO_OLD
              && wcim_tokens_held(&c, day, 0, day + 3240 * 1000 - 1)
                 == WCIM_HELD_SERVE
              && wcim_tokens_held(&c, day, 0, day + 3240 * 1000)
                 == WCIM_HELD_TOO_OLD,
              "an hour's lifetime: served until 6 min (the margin, a "
              "tenth) before; a token of unknown age is too old");
        c.rc_token_lifetime = apr_time_from_sec(30 * 86400);
        CHECK(wcim_tokens_held(&c, day, 0, day + 30 * day - 3600 * 1000 - 1)
              == WCIM_HELD_SERVE
              && wcim_tokens_held(&c, day, 0, day + 30 * day - 3600 * 1000)
                 == WCIM_HELD_TOO_OLD, "the margin is at most an hour");
        c.rc_token_lifetime = 0;
        c.token_recheck = apr_time_from_sec(30);
        CHECK(wcim_tokens_held(&c, day, 0, 2 * day) == WCIM_HELD_SERVE,
              "recheck: no ask before: served");
        CHECK(wcim_tokens_held(&c, day, 2 * day - 29999, 2 * day)
              == WCIM_HELD_RECHECK, "recheck: asked 29.999 s ago: new");
        CHECK(wcim_tokens_held(&c, day, 2 * day - 30000, 2 * day)
              == WCIM_HELD_SERVE, "recheck: asked 30 s ago: served");
        CHECK(wcim_tokens_held(&c, 2 * day - 29999, 2 * day - 1000, 2 * day)
              == WCIM_HELD_SERVE, "recheck: the token held is that recent: "
              "served");
    }

    /* get_token for a student without a row: 3014 */
    {
        wcim_ctx_t c4 = ctx;

        apr_dbd_query(db.driver, db.handle, &n,
                      "INSERT INTO t_token VALUES (77, 'MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWZfZGF0ZT0x', 'chrome_test', 1)");
        answer(&reply, &c4, WCIM_API_GET_TOKEN, body_for(p, "77", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWZfZGF0ZT0x"));
        CHECK(reply.result_code == 3014, apr_psprintf(p, "no student: %d",
                                                      reply.result_code));
    }

    /* the routing nonces' table: one take wins, a give-back frees it */
    {
        wcim_store_t *st = NULL;
        const char *why = NULL, *key = "0123456789abcdef0123456789abcdef01234567";
        int deleted = 0;

        CHECK(apr_dbd_query(db.driver, db.handle, &n, "CREATE TABLE "
                            "t_im_nonce (nonce_key TEXT PRIMARY KEY, "
                            "used_at INTEGER NOT NULL)") == 0,
              "t_im_nonce created");
        for (i = WCIM_STMT_NONCE_ADD; i <= WCIM_STMT_NONCE_PRUNE; ++i) {
            db.sql[i] = wcim_store_specs[i].sql;
        }
        db.tag = "nonce";
        CHECK(test_store_open(&st, &why, &db) == APR_SUCCESS
              && wcim_store_ready(st, WCIM_STMT_NONCE_ADD), "nonce store");
        if (st) {
            CHECK(wcim_store_nonce_take(&why, st, key, 1000, p) == APR_SUCCESS,
                  "a nonce taken");
            CHECK(wcim_store_nonce_take(&why, st, key, 1001, p) == APR_EEXIST,
                  "taken again: APR_EEXIST (a replay)");
            CHECK(wcim_store_nonce_give_back(&why, st, key, p) == APR_SUCCESS
                  && wcim_store_nonce_take(&why, st, key, 1002, p)
                     == APR_SUCCESS, "given back, it can be taken again");
            CHECK(wcim_store_nonces_prune(&deleted, &why, st, 1002, p)
                  == APR_SUCCESS && deleted == 0, "a nonce not old enough "
                  "is kept");
            CHECK(wcim_store_nonces_prune(&deleted, &why, st, 1003, p)
                  == APR_SUCCESS && deleted == 1, "an old nonce is pruned");
            apr_dbd_query(db.driver, db.handle, &n, "DROP TABLE t_im_nonce");
            why = NULL;
            CHECK(wcim_store_nonce_take(&why, st, key, 1004, p) != APR_SUCCESS
                  && wcim_store_nonce_take(&why, st, key, 1004, p)
                     != APR_EEXIST && why != NULL,
                  "the table gone: an error with its message, not a replay");
            CHECK(strcmp(wcim_store_sql_dir(st), "sqlite") == 0,
                  "sql/sqlite holds SQLite's files");
        }
    }
    test_api_route(&db, &ctx, p);
    apr_dbd_close(db.driver, db.handle);
}
