/* The store's statements (modules/wcim_store.c). */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_dbd.h>
#include <jansson.h>

#include "unit_tests.h"
#include "../modules/wcim_store.h"
#include "../modules/wcim_stmt.h"

/* WeclubsIMSQL's check, beside the statements it checks. */
void test_sql_check(apr_pool_t *p)
{
    CHECK(wcim_store_sql_check(WCIM_STMT_TOKEN, wcim_store_specs
                               [WCIM_STMT_TOKEN].sql, p) == NULL,
          "the default token query passes");
    CHECK(wcim_store_sql_check(WCIM_STMT_GROUPS_MESSAGES, wcim_store_specs
                               [WCIM_STMT_GROUPS_MESSAGES].sql, p) == NULL,
          "the default groups_messages query passes (subqueries, commas "
          "in parentheses)");
    CHECK(wcim_store_sql_check(WCIM_STMT_TOKEN, "SELECT token FROM t_token "
                               "WHERE uid = %lld AND caller = %s", p) != NULL,
          "one column short is refused");
    CHECK(wcim_store_sql_check(WCIM_STMT_TOKEN, "SELECT * FROM t_token "
                               "WHERE uid = %lld AND caller = %s", p) != NULL,
          "a * is refused");
    CHECK(wcim_store_sql_check(WCIM_STMT_USER, "SELECT a, b, c FROM t WHERE "
                               "x = %lld AND y LIKE '10%%'", p) == NULL,
          "%% is no placeholder");
    CHECK(wcim_store_sql_check(WCIM_STMT_MSG_PRUNE, "DELETE FROM t_im_message",
                               p) != NULL, "a placeholder short is refused");
    {
        int i;

        for (i = 0; i < WCIM_STMT_COUNT; ++i) {
            CHECK(wcim_store_specs[i].name && wcim_store_specs[i].sql
                  && wcim_store_sql_check((wcim_stmt_t)i,
                                          wcim_store_specs[i].sql, p) == NULL,
                  apr_psprintf(p, "statement %d (%s): the default passes its "
                               "own check", i, wcim_store_specs[i].name));
        }
    }
    CHECK(wcim_store_sql_check(WCIM_STMT_RC_TOKEN_GET, "SELECT profile, token "
                               "FROM t_im_rc_token WHERE app_key = %s AND "
                               "user_id = %s", p) != NULL,
          "rc_token_get without secret_tag is refused");
    CHECK(wcim_store_sql_check(WCIM_STMT_RC_TOKEN_ADD, "INSERT INTO "
                               "t_im_rc_token VALUES (%s, %s, %s, %s, %s)", p)
          != NULL, "rc_token_add a placeholder short is refused");
}

/* ---- message routing's writes on in-memory SQLite ----------------- */

static int one_int(const apr_dbd_driver_t *d, apr_dbd_t *h, apr_pool_t *p,
                   const char *sql, apr_int64_t *pv)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *v;

    if (apr_dbd_select(d, p, h, &res, sql, 1) != 0
        || apr_dbd_get_row(d, p, res, &row, 1) != 0
        || (v = apr_dbd_get_entry(d, row, 0)) == NULL) {
        return 0;
    }
    *pv = apr_atoi64(v);
    return 1;
}

static apr_status_t run_stmt(wcim_store_t *st, wcim_stmt_t which,
                             const char **args, apr_pool_t *p)
{
    int nrows = 0;

    return apr_dbd_pquery(st->driver, p, st->handle, &nrows,
                          st->conn->stmts[which], wcim_store_specs[which].args,
                          args) == 0 ? APR_SUCCESS : APR_EGENERAL;
}

void test_store_writes(apr_pool_t *p)
{
    static const char *const schema[] = {
        "CREATE TABLE t_im_message (msg_uid TEXT PRIMARY KEY, club_id "
        "INTEGER NOT NULL, from_user TEXT NOT NULL, object_name TEXT NOT "
        "NULL, preview TEXT NOT NULL, msg_time INTEGER NOT NULL)",
        "CREATE TABLE t_im_group_state (club_id INTEGER PRIMARY KEY, "
        "last_msg_uid TEXT NOT NULL, last_content TEXT NOT NULL, last_date "
        "INTEGER NOT NULL)",
        "CREATE TABLE t_im_read_mark (user_id TEXT NOT NULL, club_id INTEGER "
        "NOT NULL, read_time INTEGER NOT NULL, PRIMARY KEY (user_id, "
        "club_id))",
        "CREATE TABLE t_im_nonce (nonce_key TEXT PRIMARY KEY, used_at "
        "INTEGER NOT NULL)",
        "CREATE TRIGGER refuse_state BEFORE INSERT ON t_im_group_state "
        "BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END",
        "CREATE TRIGGER refuse_mark BEFORE INSERT ON t_im_read_mark "
        "BEGIN SELECT RAISE(ABORT, 'mark refused by a trigger'); END",
    };
    const apr_dbd_driver_t *driver = NULL;
    apr_dbd_t *handle = NULL;
    const char *sql[WCIM_STMT_COUNT] = { 0 };
    const char *warn, *err = NULL;
    wcim_store_t *st = NULL;
    wcim_message_t msg = { 0 };
    apr_int64_t v = 0;
    apr_size_t i;
    int n;

    apr_dbd_init(p);
    if (apr_dbd_get_driver(p, "sqlite3", &driver) != APR_SUCCESS
        || apr_dbd_open_ex(driver, p, ":memory:", &handle, &err)
           != APR_SUCCESS) {
        CHECK(0, "SQLite through apr_dbd");
        return;
    }
    for (i = 0; i < sizeof(schema) / sizeof(schema[0]); ++i) {
        CHECK(apr_dbd_query(driver, handle, &n, schema[i]) == 0, schema[i]);
    }
    /* the routing writes; the core statements on these tables (whose
     * own are not here) */
    for (i = WCIM_STMT_MSG_ADD; i < WCIM_STMT_RC_TOKEN_FIRST; ++i) {
        sql[i] = wcim_store_specs[i].sql;
    }
    sql[WCIM_STMT_TOKEN] = "SELECT msg_uid, preview FROM t_im_message "
                           "WHERE club_id = %lld AND from_user = %s";
    sql[WCIM_STMT_USER] = sql[WCIM_STMT_GROUPS] = "SELECT msg_uid, preview, "
        "from_user FROM t_im_message WHERE club_id = %lld";
    CHECK(wcim_store_attach(&st, &warn, &err, driver, handle, p, sql, "w", p)
          == APR_SUCCESS && warn == NULL,
          apr_psprintf(p, "the routing statements prepare: %s",
                       warn ? warn : err ? err : "ok"));
    if (st == NULL) {
        return;
    }

    /* item 3: a state write that fails is an error, with the database's
     * message; the retry, once the cause is gone, writes it */
    msg.uid = "U1";
    msg.club_id = 7;
    msg.from_user = "im_user_id_1";
    msg.object_name = "RC:TxtMsg";
    msg.preview = "hi";
    msg.time = 1000;
    err = NULL;
    CHECK(wcim_store_message_add(&err, st, &msg, p) == APR_EGENERAL
          && err && strstr(err, "refused by a trigger"),
          apr_psprintf(p, "a refused state insert is an error, said: %s",
                       err ? err : "(nothing)"));
    err = NULL;
    CHECK(wcim_store_read_mark(&err, st, "im_user_id_2", 7, 1000, p)
          == APR_EGENERAL && err && strstr(err, "mark refused"),
          apr_psprintf(p, "a refused mark insert is an error, said: %s",
                       err ? err : "(nothing)"));
    CHECK(apr_dbd_query(driver, handle, &n, "DROP TRIGGER refuse_state") == 0
          && apr_dbd_query(driver, handle, &n, "DROP TRIGGER refuse_mark")
             == 0, "triggers dropped");
    CHECK(wcim_store_message_add(&err, st, &msg, p) == APR_EEXIST,
          "the retry: the message was stored before (APR_EEXIST)");
    CHECK(one_int(driver, handle, p, "SELECT last_date FROM t_im_group_state "
                  "WHERE club_id = 7 AND last_msg_uid = 'U1'", &v) && v == 1000,
          "and the retry wrote the group's state");
    CHECK(wcim_store_read_mark(&err, st, "im_user_id_2", 7, 1000, p)
          == APR_SUCCESS
          && one_int(driver, handle, p, "SELECT read_time FROM t_im_read_mark "
                     "WHERE user_id = 'im_user_id_2' AND club_id = 7", &v)
          && v == 1000, "the mark's retry writes it");

    /* item 4: the inserts that follow an UPDATE that found no row keep
     * the newest, whichever comes first; an older one is no error */
    {
        const char *older[] = { "8", "A", "older", "2000" };
        const char *newer[] = { "8", "B", "newer", "3000" };
        const char *same_time[] = { "8", "C", "same time, larger uid", "3000" };
        const char *m_old[] = { "u", "8", "2000" };
        const char *m_new[] = { "u", "8", "3000" };

        CHECK(run_stmt(st, WCIM_STMT_STATE_ADD, older, p) == APR_SUCCESS
              && run_stmt(st, WCIM_STMT_STATE_ADD, newer, p) == APR_SUCCESS
              && run_stmt(st, WCIM_STMT_STATE_ADD, older, p) == APR_SUCCESS,
              "state_add: older, newer, older again: no error");
        CHECK(one_int(driver, handle, p, "SELECT last_date FROM "
                      "t_im_group_state WHERE club_id = 8 AND last_msg_uid "
                      "= 'B' AND last_content = 'newer'", &v) && v == 3000,
              "the newer is last");
        CHECK(run_stmt(st, WCIM_STMT_STATE_ADD, same_time, p) == APR_SUCCESS
              && one_int(driver, handle, p, "SELECT last_date FROM "
                         "t_im_group_state WHERE club_id = 8 AND "
                         "last_msg_uid = 'C'", &v) && v == 3000,
              "at the same time, the larger uid");
        CHECK(run_stmt(st, WCIM_STMT_MARK_ADD, m_old, p) == APR_SUCCESS
              && run_stmt(st, WCIM_STMT_MARK_ADD, m_new, p) == APR_SUCCESS
              && run_stmt(st, WCIM_STMT_MARK_ADD, m_old, p) == APR_SUCCESS
              && one_int(driver, handle, p, "SELECT read_time FROM "
                         "t_im_read_mark WHERE user_id = 'u' AND club_id = 8",
                         &v) && v == 3000,
              "mark_add: older, newer, older: the newer stays, no error");
    }
    CHECK(strstr(wcim_stmt_sql(NULL, wcim_store_specs[WCIM_STMT_STATE_ADD]
                               .sql, WCIM_STMT_STATE_ADD), "ON CONFLICT")
          != NULL, "state_add keeps the newest in one statement");
    apr_dbd_close(driver, handle);
}
