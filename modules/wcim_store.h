/* Club data, read through apr_dbd prepared statements, which the store
 * prepares once per connection (wcim_store_attach). Knows the columns each
 * query returns, not how the connection was obtained. */
#ifndef WCIM_STORE_H
#define WCIM_STORE_H

#include <apr_pools.h>
#include <apr_hash.h>
#include <apr_tables.h>
#include <apr_dbd.h>

#include "wcim_message.h"
#include "wcim_login_token.h"

/* The module's statements. Placeholders are apr_dbd's driver-neutral ones
 * (%lld for ids, %s for text; values are always passed as text), so the
 * same SQL runs on SQLite, MySQL/MariaDB and PostgreSQL. The defaults are
 * in wcim_store.c; WeclubsIMSQL replaces any of them. */
typedef enum {
    /* token(uid, caller) -> token, create_date */
    WCIM_STMT_TOKEN,
    /* user(student_id) -> real_name, nick_name, avatar_url */
    WCIM_STMT_USER,
    /* groups(student_id) -> club_id, name, avatar_url, in display order */
    WCIM_STMT_GROUPS,
    WCIM_STMT_CORE_COUNT,
    /* The rest are optional: a configuration uses some of them or none
     * (its sql[i] is NULL otherwise), and a use of one that could not be
     * prepared fails on its own, never the endpoint. */
    /* With WeclubsIMMessages On (message routing): */
    /* groups_messages(rc_user, rc_user, student_id) -> club_id, name,
     * avatar_url, last_content, last_date, fresh_count: "groups" with
     * what message routing knows of each (last_content and last_date
     * NULL when the group has no message) */
    WCIM_STMT_GROUPS_MESSAGES = WCIM_STMT_CORE_COUNT,
    WCIM_STMT_MSG_ADD,       /* uid, club, from, type, preview, time */
    WCIM_STMT_MSG_EXISTS,    /* uid -> 1 */
    WCIM_STMT_STATE_UPDATE,  /* uid, content, time, club, time, time, uid */
    WCIM_STMT_STATE_ADD,     /* club, uid, content, time */
    WCIM_STMT_MARK_UPDATE,   /* time, user, club, time */
    WCIM_STMT_MARK_ADD,      /* user, club, time */
    WCIM_STMT_MSG_PRUNE,     /* time */
    WCIM_STMT_MSG_RECALL,    /* uid, club, from */
    WCIM_STMT_STATE_RECALL,  /* label, club, uid */
    /* the routing posts' nonces taken (t_im_nonce, nonces.sql) */
    WCIM_STMT_NONCE_ADD,     /* key, time */
    WCIM_STMT_NONCE_EXISTS,  /* key -> 1 */
    WCIM_STMT_NONCE_DEL,     /* key */
    WCIM_STMT_NONCE_PRUNE,   /* time */
    /* With WeclubsIMTokenStore db (the RongCloud token table): */
    /* rc_token_get(app_key, rc_user) -> secret_tag, profile, token */
    WCIM_STMT_RC_TOKEN_GET,
    WCIM_STMT_RC_TOKEN_FIRST = WCIM_STMT_RC_TOKEN_GET,
    /* secret_tag, profile, token, updated, app_key, rc_user */
    WCIM_STMT_RC_TOKEN_UPDATE,
    /* app_key, rc_user, secret_tag, profile, token, updated */
    WCIM_STMT_RC_TOKEN_ADD,
    /* With reconciliation too (WeclubsIMReconcileInterval): */
    /* rc_known(app_key, after rc_user) -> user_id, secret_tag, profile,
     * token, updated, group_set, blocked: the next students with a token
     * row, by user_id, with what RongCloud was last told of each (NULLs
     * when nothing yet) */
    WCIM_STMT_RC_KNOWN,
    WCIM_STMT_RECONCILE_FIRST = WCIM_STMT_RC_KNOWN,
    /* rc_student(uid) -> real_name, nick_name, avatar_url, status, is_del */
    WCIM_STMT_RC_STUDENT,
    /* group_set, blocked, updated, app_key, rc_user */
    WCIM_STMT_TOLD_UPDATE,
    /* app_key, rc_user, group_set, blocked, updated */
    WCIM_STMT_TOLD_ADD,
    /* holder, until, app_key, now, holder: taken when free, expired or
     * already the holder's */
    WCIM_STMT_LEASE_TAKE,
    /* app_key, holder, until */
    WCIM_STMT_LEASE_ADD,
    /* prefetch_students(after uid) -> student_id, real_name, nick_name,
     * avatar_url: the next students who may ask for a token (neither
     * frozen nor deleted), by student_id (WeclubsIMTokenPrefetch) */
    WCIM_STMT_PREFETCH_STUDENTS,
    /* Without message routing, unless WeclubsIMSQL replaced token or
     * groups (and not this one): */
    /* token_groups(uid, caller) -> token, create_date, club_id, name,
     * avatar_url: "token" and "groups" in one statement, one row per club
     * (club_id NULL for none), so that a list costs one round trip */
    WCIM_STMT_TOKEN_GROUPS,
    /* Unless WeclubsIMSQL replaced token or user (and not this one): */
    /* token_user(uid, caller) -> token, create_date, student_id,
     * real_name, nick_name, avatar_url: "token" and "user" in one
     * statement (student_id NULL when there is no such student), so that
     * get_token costs one round trip */
    WCIM_STMT_TOKEN_USER,
    WCIM_STMT_COUNT
} wcim_stmt_t;

typedef struct wcim_stmt_spec_t {
    const char *name;   /* as WeclubsIMSQL and the log say it */
    int args;           /* placeholders it takes */
    int cols;           /* columns it returns; 0 for a write */
    const char *sql;    /* the default */
} wcim_stmt_spec_t;

extern const wcim_stmt_spec_t wcim_store_specs[WCIM_STMT_COUNT];

/* Whether SQL can replace a statement (WeclubsIMSQL): the same number of
 * placeholders (apr_dbd's: % and a conversion, not %%) and, for a query,
 * of selected columns. NULL when it can, else why not. */
const char *wcim_store_sql_check(wcim_stmt_t which, const char *sql,
                                 apr_pool_t *p);

/* One connection's statements of one configuration, kept in the
 * connection's pool (wcim_store.c). */
typedef struct wcim_store_conn_t wcim_store_conn_t;

typedef struct wcim_store_t {
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
    apr_pool_t *conn_pool;         /* the connection's: statements live there */
    wcim_store_conn_t *conn;       /* its statements, labels and retry times */
    const char *const *sql;        /* each statement's SQL; NULL: not used */
    int fresh;                     /* the connection was first used now */
} wcim_store_t;

/* The store of one request on a database connection: the statements of a
 * configuration (sql[0..WCIM_STMT_COUNT-1], named after `tag`, which must
 * be unique per configuration) are prepared on the connection's first use
 * and kept in conn_pool; a statement whose sql[i] is NULL is not used by
 * the configuration (message routing off, no token table) and never
 * prepared: its tables need not exist. A statement that failed to prepare
 * (a table missing, a WeclubsIMSQL mistake) is tried again on a later use,
 * at most once a second (a failed try freed with a pool of its own), so
 * a connection recovers once the cause is fixed;
 * one that was prepared is never prepared again on a live connection
 * (MySQL keeps every prepared statement until the connection closes,
 * PostgreSQL refuses the same name twice). The optional ones (past
 * WCIM_STMT_CORE_COUNT) may be missing: *pwarn (else NULL) says which
 * failed in this call, and their uses fail with "not prepared". Without a
 * core statement: APR_EGENERAL and *perr. */
apr_status_t wcim_store_attach(wcim_store_t **pst, const char **pwarn,
                               const char **perr,
                               const apr_dbd_driver_t *driver,
                               apr_dbd_t *handle, apr_pool_t *conn_pool,
                               const char *const *sql, const char *tag,
                               apr_pool_t *p);

typedef struct wcim_user_t {
    const char *real_name;    /* NULL when SQL NULL */
    const char *nick_name;
    const char *avatar_url;
} wcim_user_t;

typedef struct wcim_group_t {
    apr_int64_t club_id;
    const char *name;
    const char *avatar_url;   /* NULL when SQL NULL */
    /* from message routing; NULL/0/0 without it or without messages */
    const char *last_content;
    apr_int64_t last_date;
    apr_int64_t fresh_count;
} wcim_group_t;

/* Each returns APR_NOTFOUND when there is no row, and another error with
 * the driver's message in *perr when the database fails. */
apr_status_t wcim_store_token_get(wcim_token_row_t *row, const char **perr,
                                  wcim_store_t *st, const char *user_id,
                                  const char *caller, apr_pool_t *p);

apr_status_t wcim_store_user_get(wcim_user_t *user, const char **perr,
                                 wcim_store_t *st, const char *user_id,
                                 apr_pool_t *p);

/* The user's groups as wcim_group_t, in the query's order; an empty array
 * when there are none. With rc_user (the user's RongCloud id), through
 * groups_messages: each with its last message and unread count; without
 * (NULL), through groups. */
apr_status_t wcim_store_groups_list(apr_array_header_t **pgroups,
                                    const char **perr, wcim_store_t *st,
                                    const char *user_id, const char *rc_user,
                                    apr_pool_t *p);

/* Whether the configuration uses statement `which` and it is prepared on
 * this connection. */
int wcim_store_ready(const wcim_store_t *st, wcim_stmt_t which);

/* The token row of (user_id, caller) and the user's groups (as
 * wcim_store_groups_list without rc_user) in one statement, token_groups;
 * APR_NOTFOUND when there is no token row. Groups that cannot be read (a
 * club_id that is not an integer) leave *pgroups NULL with the token
 * read: the caller lists through "groups", which says why. */
apr_status_t wcim_store_token_groups(wcim_token_row_t *row,
                                     apr_array_header_t **pgroups,
                                     const char **perr, wcim_store_t *st,
                                     const char *user_id, const char *caller,
                                     apr_pool_t *p);

/* The token row of (user_id, caller) and the student (as
 * wcim_store_user_get) in one statement, token_user; APR_NOTFOUND when
 * there is no token row, else *puser_rv says APR_SUCCESS or APR_NOTFOUND
 * (no such student) for *user. */
apr_status_t wcim_store_token_user(wcim_token_row_t *row, wcim_user_t *user,
                                   apr_status_t *puser_rv, const char **perr,
                                   wcim_store_t *st, const char *user_id,
                                   const char *caller, apr_pool_t *p);

/* Store a message once (APR_EEXIST when its uid is stored already) and make
 * it the group's last one unless a later one is. */
apr_status_t wcim_store_message_add(const char **perr, wcim_store_t *st,
                                    const wcim_message_t *msg, apr_pool_t *p);

/* A message recalled by `from_user`: when that user sent it, no longer
 * counted (deleted), and when it is its group's last message, shown as
 * `label` instead. APR_EACCES when a message of that uid is stored but
 * another user sent it (kept); APR_SUCCESS also when there is none. */
apr_status_t wcim_store_message_recall(const char **perr, wcim_store_t *st,
                                       apr_int64_t club_id, const char *uid,
                                       const char *from_user,
                                       const char *label, apr_pool_t *p);

/* Move a user's read mark in a group forward to `time` (never back). */
apr_status_t wcim_store_read_mark(const char **perr, wcim_store_t *st,
                                  const char *rc_user, apr_int64_t club_id,
                                  apr_int64_t time, apr_pool_t *p);

/* Delete messages older than `before` (ms); the groups' last messages stay
 * in their summary. *pdeleted gets the count. */
apr_status_t wcim_store_messages_prune(int *pdeleted, const char **perr,
                                       wcim_store_t *st, apr_int64_t before,
                                       apr_pool_t *p);

/* ---- the routing posts' nonces (t_im_nonce; wcim_nonce.c) ---- */

/* Take a routing post's nonce, by its fixed-size digest `key`, at `now`
 * (ms): APR_SUCCESS when this call took it, APR_EEXIST when it was taken
 * before (the table's primary key refused it: a replay), another error
 * with the database's message in *perr when the table cannot tell. One
 * call wins however many processes and nodes share the database. */
apr_status_t wcim_store_nonce_take(const char **perr, wcim_store_t *st,
                                   const char *key, apr_int64_t now,
                                   apr_pool_t *p);

/* Give a taken nonce back (its post could not be stored). */
apr_status_t wcim_store_nonce_give_back(const char **perr, wcim_store_t *st,
                                        const char *key, apr_pool_t *p);

/* Forget nonces taken before `before` (ms); *pdeleted gets the count. */
apr_status_t wcim_store_nonces_prune(int *pdeleted, const char **perr,
                                     wcim_store_t *st, apr_int64_t before,
                                     apr_pool_t *p);

/* The folder of sql/ that holds the database's engine's files: sqlite,
 * mysql or pgsql (else the driver's name). */
const char *wcim_store_sql_dir(const wcim_store_t *st);

/* ---- the RongCloud token table (WeclubsIMTokenStore db) ---- */

/* A user's RongCloud token as the table keeps it. */
typedef struct wcim_rc_token_row_t {
    const char *secret_tag;   /* the App Secret that issued it (its tag) */
    const char *profile;      /* digest of the name and portrait RongCloud
                               * was given */
    const char *token;
    apr_int64_t issued;       /* when RongCloud issued the token, ms (its
                               * lifetime counts from then); 0: unknown */
} wcim_rc_token_row_t;

/* The row of RongCloud user rc_user of app app_key; APR_NOTFOUND when
 * there is none. */
apr_status_t wcim_store_rc_token_get(wcim_rc_token_row_t *row,
                                     const char **perr, wcim_store_t *st,
                                     const char *app_key, const char *rc_user,
                                     apr_pool_t *p);

/* Write the row of rc_user (made or replaced). */
apr_status_t wcim_store_rc_token_put(const char **perr, wcim_store_t *st,
                                     const char *app_key, const char *rc_user,
                                     const wcim_rc_token_row_t *row,
                                     apr_pool_t *p);

/* ---- reconciliation (wcim_store_told.c) ---- */

/* A student RongCloud knows (a token row) and what it was last told. */
typedef struct wcim_told_t {
    const char *rc_user;
    wcim_rc_token_row_t token;
    const char *group_set;    /* digest of the set last synced; NULL: none
                               * recorded yet */
    apr_int64_t blocked;      /* 0, or until when RongCloud blocks him, ms */
} wcim_told_t;

/* The next students of app_key after rc_user `after` ("" first), at most
 * WCIM_TOLD_PAGE, in user_id order, as wcim_told_t in *ptold. */
#define WCIM_TOLD_PAGE 200
apr_status_t wcim_store_told_page(apr_array_header_t **ptold,
                                  const char **perr, wcim_store_t *st,
                                  const char *app_key, const char *after,
                                  apr_pool_t *p);

/* A student as the reconciliation sees him: APR_NOTFOUND when there is no
 * row; *pgone when he is deleted (is_del 1) or frozen (status 4). */
#define WCIM_STUDENT_FROZEN 4
apr_status_t wcim_store_student_state(wcim_user_t *out, int *pgone,
                                      const char **perr, wcim_store_t *st,
                                      apr_int64_t uid, apr_pool_t *p);

/* The next students after uid `after` who may ask for a token, at most
 * WCIM_TOLD_PAGE, as wcim_prefetch_t in *pstudents. */
typedef struct wcim_prefetch_t {
    apr_int64_t uid;
    wcim_user_t user;
} wcim_prefetch_t;
apr_status_t wcim_store_prefetch_page(apr_array_header_t **pstudents,
                                      const char **perr, wcim_store_t *st,
                                      apr_int64_t after, apr_pool_t *p);

/* Record what RongCloud was told of rc_user. */
apr_status_t wcim_store_told_put(const char **perr, wcim_store_t *st,
                                 const char *app_key, const char *rc_user,
                                 const char *group_set, apr_int64_t blocked,
                                 apr_int64_t now, apr_pool_t *p);

/* Take (or keep) app_key's lease for `holder` until `until` (ms): *pheld
 * says whether it is ours now. */
apr_status_t wcim_store_lease_take(int *pheld, const char **perr,
                                   wcim_store_t *st, const char *app_key,
                                   const char *holder, apr_int64_t now,
                                   apr_int64_t until, apr_pool_t *p);

#endif
