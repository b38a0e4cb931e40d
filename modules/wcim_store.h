/* Club data, read through apr_dbd prepared statements (prepared once per
 * connection by mod_dbd). Knows the columns each query returns, not how the
 * connection was obtained. */
#ifndef WCIM_STORE_H
#define WCIM_STORE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_dbd.h>

#include "wcim_token.h"

/* Default SQL. Placeholders are apr_dbd's driver-neutral ones (%lld for ids,
 * %s for text; the values are always passed as text), so the same
 * text runs on SQLite, MySQL/MariaDB and PostgreSQL. Each query must return
 * the columns named in its comment, in that order. */

/* token(uid, caller) -> token, create_date */
#define WCIM_SQL_TOKEN \
    "SELECT token, create_date FROM t_token WHERE uid = %lld AND caller = %s"
#define WCIM_SQL_TOKEN_COLS 2

/* user(student_id) -> real_name, nick_name, avatar_url */
#define WCIM_SQL_USER \
    "SELECT real_name, nick_name, avatar_url FROM t_student " \
    "WHERE student_id = %lld AND is_del = 0"
#define WCIM_SQL_USER_COLS 3

/* groups(student_id) -> club_id, name, avatar_url, ordered by club_id:
 * approved clubs whose current term lists the user as an active member. */
#define WCIM_SQL_GROUPS \
    "SELECT c.club_id, c.name, c.avatar_url FROM t_club c " \
    "WHERE c.status = 1 AND c.club_id IN (" \
    "SELECT g.club_id FROM t_club_graduate g " \
    "JOIN t_student_club_graduate_relation r " \
    "ON r.graduate_id = g.club_graduate_id " \
    "WHERE g.is_current = 1 AND r.student_id = %lld " \
    "AND r.is_del = 0 AND r.status = 1) " \
    "ORDER BY c.club_id"
#define WCIM_SQL_GROUPS_COLS 3

typedef enum {
    WCIM_STMT_TOKEN,
    WCIM_STMT_USER,
    WCIM_STMT_GROUPS,
    WCIM_STMT_COUNT
} wcim_stmt_t;

/* Name of each statement, as WeclubsIMSQL and the log say it. */
extern const char *const wcim_store_names[WCIM_STMT_COUNT];

typedef struct wcim_store_t {
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
    apr_dbd_prepared_t *stmts[WCIM_STMT_COUNT];
} wcim_store_t;

typedef struct wcim_user_t {
    const char *real_name;    /* NULL when SQL NULL */
    const char *nick_name;
    const char *avatar_url;
} wcim_user_t;

typedef struct wcim_group_t {
    apr_int64_t club_id;
    const char *name;
    const char *avatar_url;   /* NULL when SQL NULL */
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
 * when there are none. */
apr_status_t wcim_store_groups_list(apr_array_header_t **pgroups,
                                    const char **perr, wcim_store_t *st,
                                    const char *user_id, apr_pool_t *p);

#endif
