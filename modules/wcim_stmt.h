/* Internal to the store (wcim_store.c, wcim_stmt.c, wcim_store_messages.c,
 * wcim_nonce.c): a connection's
 * prepared statements, and their repair after a lost session. */
#ifndef WCIM_STMT_H
#define WCIM_STMT_H

#include "wcim_store.h"

struct wcim_store_conn_t {
    apr_dbd_prepared_t *stmts[WCIM_STMT_COUNT];
    const char *labels[WCIM_STMT_COUNT];
    apr_time_t retry_at[WCIM_STMT_COUNT];    /* a failed prepare, again */
    apr_time_t repair_at[WCIM_STMT_COUNT];   /* a lost statement, again */
};

/* The text statement `which` is prepared with on `driver`: `sql` (the
 * configuration's), or when that is the default and the engine needs its
 * own (MariaDB's upserts), the engine's. */
const char *wcim_stmt_sql(const apr_dbd_driver_t *driver, const char *sql,
                          wcim_stmt_t which);

/* After statement `which` failed with `err`: when its server session was
 * lost, reconnect and prepare it again (at most once a second per statement
 * and connection; SQLite: each time). APR_SUCCESS: run the statement once
 * more. */
apr_status_t wcim_stmt_repair(wcim_store_t *st, wcim_stmt_t which, int err,
                              apr_pool_t *p);

/* A prepared write, and whether a prepared query returns a row, for the
 * store's other files (wcim_store.c). */
apr_status_t wcim_stmt_exec(int *pnrows, const char **perr, wcim_store_t *st,
                            wcim_stmt_t which, apr_pool_t *p,
                            const char **args);
apr_status_t wcim_stmt_exists(int *pfound, const char **perr,
                              wcim_store_t *st, wcim_stmt_t which,
                              apr_pool_t *p, const char **args);
/* An integer as a statement's argument (values are passed as text). */
const char *wcim_stmt_i64(apr_int64_t v, apr_pool_t *p);

/* A prepared query, each row given to `take`; a column of a row as text
 * (NULL for SQL NULL): for the store's other files. */
typedef void wcim_row_fn(wcim_store_t *st, apr_dbd_row_t *row, void *baton,
                         apr_pool_t *p);
apr_status_t wcim_stmt_query(const char **perr, wcim_store_t *st,
                             wcim_stmt_t which, wcim_row_fn *take,
                             void *baton, apr_pool_t *p, const char **args);
const char *wcim_stmt_entry(wcim_store_t *st, apr_dbd_row_t *row, int col,
                            apr_pool_t *p);

#endif
