/* Club data and the RongCloud token table through the store's prepared
 * statements (wcim_stmt.c): running a query and reading every row,
 * running a write, and what each query's rows mean. Message routing's
 * rows: wcim_store_messages.c. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "wcim_store.h"
#include "wcim_stmt.h"
#include "wcim_decimal.h"

/* What a query's rows are read into. */
typedef wcim_row_fn row_fn;

/* Whether a statement can run; else *perr says why: the configuration
 * does not use it (its SQL is NULL), or it could not be prepared on this
 * connection (tried again later). */
static int stmt_ready(const char **perr, const wcim_store_t *st,
                      wcim_stmt_t which, apr_pool_t *p)
{
    if (st->sql[which] == NULL) {
        *perr = apr_psprintf(p, "statement %s is not used by this "
                             "configuration", wcim_store_specs[which].name);
        return 0;
    }
    if (st->conn->stmts[which] == NULL) {
        *perr = apr_psprintf(p, "statement %s is not prepared",
                             wcim_store_specs[which].name);
        return 0;
    }
    return 1;
}

/* Run a prepared select and hand each row to `take`, always reading to
 * the end so the connection can be reused. The column count is checked
 * on the first row: some drivers only know it once a row was fetched. */
static apr_status_t store_query(const char **perr, wcim_store_t *st,
                                wcim_stmt_t which, row_fn *take, void *baton,
                                apr_pool_t *p, const char **args)
{
    const wcim_stmt_spec_t *spec = &wcim_store_specs[which];
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;   /* drivers reuse a row they were given */
    int err, cols = -1, i, n;

    if (!stmt_ready(perr, st, which, p)) {
        return APR_EGENERAL;
    }
    /* Random access (1): the select reads the whole result, so a query
     * that fails says so here. With sequential access (0) the pgsql
     * driver reads a failed query as "no rows": a database outage gave
     * 3010 (the client logs out), and a failed group query an empty set
     * synced to RongCloud (which unbinds every group). Rows are then asked
     * for by number: the mysql driver has no "next row" in random mode. */
    err = apr_dbd_pselect(st->driver, p, st->handle, &res,
                          st->conn->stmts[which], 1, spec->args, args);
    if (err != 0 && wcim_stmt_repair(st, which, err, p) == APR_SUCCESS) {
        res = NULL;
        err = apr_dbd_pselect(st->driver, p, st->handle, &res,
                              st->conn->stmts[which], 1, spec->args, args);
    }
    if (err != 0) {
        *perr = apr_psprintf(p, "%s: %s", spec->name,
                             apr_dbd_error(st->driver, st->handle, err));
        return APR_EGENERAL;
    }
    n = apr_dbd_num_tuples(st->driver, res);
    for (i = 1; i <= n && apr_dbd_get_row(st->driver, p, res, &row, i) == 0;
         ++i) {
        if (cols < 0) {
            cols = apr_dbd_num_cols(st->driver, res);
        }
        if (cols >= spec->cols) {
            take(st, row, baton, p);
        }
    }
    if (cols >= 0 && cols < spec->cols) {
        *perr = apr_psprintf(p, "%s returns %d columns, %d expected",
                             spec->name, cols, spec->cols);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/* Run a prepared write; *pnrows (optional) gets the rows it changed. */
static apr_status_t store_exec(int *pnrows, const char **perr,
                               wcim_store_t *st, wcim_stmt_t which,
                               apr_pool_t *p, const char **args)
{
    const wcim_stmt_spec_t *spec = &wcim_store_specs[which];
    int err, nrows = 0;

    if (!stmt_ready(perr, st, which, p)) {
        return APR_EGENERAL;
    }
    err = apr_dbd_pquery(st->driver, p, st->handle, &nrows,
                         st->conn->stmts[which], spec->args, args);
    if (err != 0 && wcim_stmt_repair(st, which, err, p) == APR_SUCCESS) {
        err = apr_dbd_pquery(st->driver, p, st->handle, &nrows,
                             st->conn->stmts[which], spec->args, args);
    }
    if (pnrows) {
        *pnrows = nrows;
    }
    if (err != 0) {
        *perr = apr_psprintf(p, "%s: %s", spec->name,
                             apr_dbd_error(st->driver, st->handle, err));
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/* A column as text, NULL for SQL NULL (apr_dbd_get_entry cannot tell: the
 * pgsql driver gives "" for both). */
static const char *entry(wcim_store_t *st, apr_dbd_row_t *row, int col,
                         apr_pool_t *p)
{
    char *v = NULL;

    if (apr_dbd_datum_get(st->driver, row, col, APR_DBD_TYPE_STRING, &v)
        != APR_SUCCESS || v == NULL) {
        return NULL;
    }
    return apr_pstrdup(p, v);
}

typedef struct {
    wcim_token_row_t *out;
    int found;
} token_read_t;

static void take_token(wcim_store_t *st, apr_dbd_row_t *row, void *baton,
                       apr_pool_t *p)
{
    token_read_t *tr = baton;

    if (!tr->found) {
        const char *token = entry(st, row, 0, p);
        const char *date = entry(st, row, 1, p);
        tr->out->token = token ? token : "";
        tr->out->create_date = date ? date : "";
        tr->found = 1;
    }
}

apr_status_t wcim_store_token_get(wcim_token_row_t *out, const char **perr,
                                  wcim_store_t *st, const char *user_id,
                                  const char *caller, apr_pool_t *p)
{
    token_read_t tr = { out, 0 };
    const char *args[] = { user_id, caller };
    apr_status_t rv = store_query(perr, st, WCIM_STMT_TOKEN, take_token, &tr,
                                  p, args);

    return rv != APR_SUCCESS ? rv : tr.found ? APR_SUCCESS : APR_NOTFOUND;
}

typedef struct {
    wcim_user_t *out;
    int first;    /* the column of real_name */
    int found;
} user_read_t;

static void take_user(wcim_store_t *st, apr_dbd_row_t *row, void *baton,
                      apr_pool_t *p)
{
    user_read_t *ur = baton;

    if (!ur->found) {
        ur->out->real_name = entry(st, row, ur->first, p);
        ur->out->nick_name = entry(st, row, ur->first + 1, p);
        ur->out->avatar_url = entry(st, row, ur->first + 2, p);
        ur->found = 1;
    }
}

apr_status_t wcim_store_user_get(wcim_user_t *out, const char **perr,
                                 wcim_store_t *st, const char *user_id,
                                 apr_pool_t *p)
{
    user_read_t ur = { out, 0, 0 };
    const char *args[] = { user_id };
    apr_status_t rv = store_query(perr, st, WCIM_STMT_USER, take_user, &ur,
                                  p, args);

    return rv != APR_SUCCESS ? rv : ur.found ? APR_SUCCESS : APR_NOTFOUND;
}

typedef struct {
    token_read_t token;
    user_read_t user;
    int student;     /* the first row names a student */
} token_user_read_t;

static void take_token_user(wcim_store_t *st, apr_dbd_row_t *row,
                            void *baton, apr_pool_t *p)
{
    token_user_read_t *tu = baton;
    char *id = NULL;

    if (tu->token.found) {
        return;
    }
    take_token(st, row, &tu->token, p);
    tu->student = apr_dbd_datum_get(st->driver, row, 2, APR_DBD_TYPE_STRING,
                                    &id) == APR_SUCCESS && id != NULL;
    if (tu->student) {
        take_user(st, row, &tu->user, p);
    }
}

apr_status_t wcim_store_token_user(wcim_token_row_t *out, wcim_user_t *user,
                                   apr_status_t *puser_rv, const char **perr,
                                   wcim_store_t *st, const char *user_id,
                                   const char *caller, apr_pool_t *p)
{
    token_user_read_t tu = { { out, 0 }, { user, 3, 0 }, 0 };
    const char *args[] = { user_id, caller };
    apr_status_t rv = store_query(perr, st, WCIM_STMT_TOKEN_USER,
                                  take_token_user, &tu, p, args);

    *puser_rv = tu.student ? APR_SUCCESS : APR_NOTFOUND;
    return rv != APR_SUCCESS ? rv : tu.token.found ? APR_SUCCESS
                                                   : APR_NOTFOUND;
}

/* an integer column, as the drivers give it: decimal text */
static int parse_id(apr_int64_t *pid, const char *s)
{
    return s && wcim_decimal_parse(pid, s, strlen(s), 19) == APR_SUCCESS;
}

typedef struct {
    apr_array_header_t *groups;
    int first;            /* the column of club_id */
    int with_messages;    /* the groups_messages columns follow */
    int none_is_null;     /* token_groups: club_id NULL is no club */
    const char *bad;      /* the first value that is not an integer */
} groups_read_t;

static void take_group(wcim_store_t *st, apr_dbd_row_t *row, void *baton,
                       apr_pool_t *p)
{
    groups_read_t *gr = baton;
    wcim_group_t *g;
    const char *id, *date = NULL, *count = NULL;
    apr_int64_t club_id;

    if (gr->bad) {
        return;
    }
    id = entry(st, row, gr->first, p);
    if (id == NULL && gr->none_is_null) {
        return;
    }
    /* a club reached twice comes twice in a row: listed once */
    if (gr->groups->nelts > 0 && parse_id(&club_id, id)
        && APR_ARRAY_IDX(gr->groups, gr->groups->nelts - 1,
                         wcim_group_t).club_id == club_id) {
        return;
    }
    g = apr_array_push(gr->groups);
    memset(g, 0, sizeof(*g));
    if (gr->with_messages) {
        date = entry(st, row, 4, p);
        count = entry(st, row, 5, p);
    }
    /* no group state (SQL NULL): no message yet */
    if (!parse_id(&g->club_id, id)
        || (date && !parse_id(&g->last_date, date))
        || (count && !parse_id(&g->fresh_count, count))) {
        gr->bad = apr_psprintf(p, "club_id '%s'", id ? id : "NULL");
        if (gr->with_messages) {
            gr->bad = apr_psprintf(p, "%s, last_date '%s', count '%s'",
                                   gr->bad, date ? date : "NULL",
                                   count ? count : "NULL");
        }
        return;
    }
    g->name = entry(st, row, gr->first + 1, p);
    g->avatar_url = entry(st, row, gr->first + 2, p);
    if (g->name == NULL) {
        g->name = "";
    }
    if (gr->with_messages && date) {
        g->last_content = entry(st, row, 3, p);
    }
}

apr_status_t wcim_store_groups_list(apr_array_header_t **pgroups,
                                    const char **perr, wcim_store_t *st,
                                    const char *user_id, const char *rc_user,
                                    apr_pool_t *p)
{
    groups_read_t gr = { apr_array_make(p, 4, sizeof(wcim_group_t)), 0,
                         rc_user != NULL, 0, NULL };
    wcim_stmt_t which = rc_user ? WCIM_STMT_GROUPS_MESSAGES : WCIM_STMT_GROUPS;
    const char *plain[] = { user_id };
    const char *with[] = { rc_user, rc_user, user_id };
    apr_status_t rv;

    *pgroups = NULL;
    rv = store_query(perr, st, which, take_group, &gr, p,
                     rc_user ? with : plain);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (gr.bad) {
        *perr = apr_psprintf(p, "%s returned %s, not integers",
                             wcim_store_specs[which].name, gr.bad);
        return APR_EGENERAL;
    }
    *pgroups = gr.groups;
    return APR_SUCCESS;
}

int wcim_store_ready(const wcim_store_t *st, wcim_stmt_t which)
{
    return st->sql[which] != NULL && st->conn->stmts[which] != NULL;
}

typedef struct {
    token_read_t token;
    groups_read_t groups;
} token_groups_read_t;

/* Each row: the token row (the same on every row), then a club. Should a
 * site's t_token hold two rows for the pair (our schema's unique index
 * forbids it), the rows of the first one read are the answer, as with
 * "token". */
static void take_token_group(wcim_store_t *st, apr_dbd_row_t *row,
                             void *baton, apr_pool_t *p)
{
    token_groups_read_t *tg = baton;
    char *token = NULL;

    if (!tg->token.found) {
        take_token(st, row, &tg->token, p);
    }
    /* compared where the driver holds it: a copy per row cost more
     * than the rest of the row with 50 clubs */
    else if (apr_dbd_datum_get(st->driver, row, 0, APR_DBD_TYPE_STRING,
                               &token) != APR_SUCCESS
             || token == NULL || strcmp(token, tg->token.out->token) != 0) {
        return;
    }
    take_group(st, row, &tg->groups, p);
}

static int by_club_id(const void *a, const void *b)
{
    apr_int64_t x = ((const wcim_group_t *)a)->club_id;
    apr_int64_t y = ((const wcim_group_t *)b)->club_id;

    return (x > y) - (x < y);
}

/* Order groups by club_id, each club once. */
static void sort_groups(apr_array_header_t *groups)
{
    wcim_group_t *g = (wcim_group_t *)groups->elts;
    int i, n = 0;

    qsort(g, groups->nelts, sizeof(*g), by_club_id);
    for (i = 0; i < groups->nelts; ++i) {
        if (n == 0 || g[n - 1].club_id != g[i].club_id) {
            g[n++] = g[i];
        }
    }
    groups->nelts = n;
}

apr_status_t wcim_store_token_groups(wcim_token_row_t *out,
                                     apr_array_header_t **pgroups,
                                     const char **perr, wcim_store_t *st,
                                     const char *user_id, const char *caller,
                                     apr_pool_t *p)
{
    token_groups_read_t tg = {
        { out, 0 },
        { apr_array_make(p, 4, sizeof(wcim_group_t)), 2, 0, 1, NULL } };
    const char *args[] = { user_id, caller };
    apr_status_t rv;

    *pgroups = NULL;
    rv = store_query(perr, st, WCIM_STMT_TOKEN_GROUPS, take_token_group, &tg,
                     p, args);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!tg.token.found) {
        return APR_NOTFOUND;
    }
    if (!tg.groups.bad) {
        /* the default leaves the order to us (wcim_stmt.c); its text
         * given again through WeclubsIMSQL is the default too
         * (wcim_conf_sql) */
        if (st->sql[WCIM_STMT_TOKEN_GROUPS]
            == wcim_store_specs[WCIM_STMT_TOKEN_GROUPS].sql) {
            sort_groups(tg.groups.groups);
        }
        *pgroups = tg.groups.groups;
    }
    return APR_SUCCESS;
}

static void take_exists(wcim_store_t *st, apr_dbd_row_t *row, void *baton,
                        apr_pool_t *p)
{
    *(int *)baton = 1;
}

static const char *i64(apr_int64_t v, apr_pool_t *p)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, v);
}

/* ---- the RongCloud token table ------------------------------------ */

typedef struct {
    wcim_rc_token_row_t *out;
    int found;
} rc_token_read_t;

static void take_rc_token(wcim_store_t *st, apr_dbd_row_t *row, void *baton,
                          apr_pool_t *p)
{
    rc_token_read_t *rr = baton;

    if (!rr->found) {
        const char *tag = entry(st, row, 0, p);
        const char *profile = entry(st, row, 1, p);
        const char *token = entry(st, row, 2, p);
        const char *issued = entry(st, row, 3, p);

        rr->out->secret_tag = tag ? tag : "";
        rr->out->profile = profile ? profile : "";
        rr->out->token = token ? token : "";
        /* unreadable: unknown, which a token lifetime treats as too old */
        if (!issued || !parse_id(&rr->out->issued, issued)) {
            rr->out->issued = 0;
        }
        rr->found = 1;
    }
}

apr_status_t wcim_store_rc_token_get(wcim_rc_token_row_t *out,
                                     const char **perr, wcim_store_t *st,
                                     const char *app_key, const char *rc_user,
                                     apr_pool_t *p)
{
    rc_token_read_t rr = { out, 0 };
    const char *args[] = { app_key, rc_user };
    apr_status_t rv = store_query(perr, st, WCIM_STMT_RC_TOKEN_GET,
                                  take_rc_token, &rr, p, args);

    return rv != APR_SUCCESS ? rv : rr.found ? APR_SUCCESS : APR_NOTFOUND;
}

apr_status_t wcim_store_rc_token_put(const char **perr, wcim_store_t *st,
                                     const char *app_key, const char *rc_user,
                                     const wcim_rc_token_row_t *row,
                                     apr_pool_t *p)
{
    const char *when = i64(row->issued, p);
    const char *update[] = { row->secret_tag, row->profile, row->token, when,
                             app_key, rc_user };
    const char *add[] = { app_key, rc_user, row->secret_tag, row->profile,
                          row->token, when };
    const char *why;
    int nrows = 0;
    apr_status_t rv;

    rv = store_exec(&nrows, perr, st, WCIM_STMT_RC_TOKEN_UPDATE, p, update);
    if (rv != APR_SUCCESS || nrows > 0) {
        return rv;
    }
    /* no row yet (or, on MySQL, one with these very values: it counts
     * changed rows); an INSERT that the key refuses lost a race with
     * another process or node, whose row the UPDATE then replaces */
    if (store_exec(NULL, &why, st, WCIM_STMT_RC_TOKEN_ADD, p, add)
        == APR_SUCCESS) {
        return APR_SUCCESS;
    }
    return store_exec(NULL, perr, st, WCIM_STMT_RC_TOKEN_UPDATE, p, update);
}

/* ---- for the store's other files (wcim_stmt.h) -------------------- */

apr_status_t wcim_stmt_exec(int *pnrows, const char **perr, wcim_store_t *st,
                            wcim_stmt_t which, apr_pool_t *p,
                            const char **args)
{
    return store_exec(pnrows, perr, st, which, p, args);
}

apr_status_t wcim_stmt_exists(int *pfound, const char **perr,
                              wcim_store_t *st, wcim_stmt_t which,
                              apr_pool_t *p, const char **args)
{
    *pfound = 0;
    return store_query(perr, st, which, take_exists, pfound, p, args);
}

apr_status_t wcim_stmt_query(const char **perr, wcim_store_t *st,
                             wcim_stmt_t which, wcim_row_fn *take,
                             void *baton, apr_pool_t *p, const char **args)
{
    return store_query(perr, st, which, take, baton, p, args);
}

const char *wcim_stmt_entry(wcim_store_t *st, apr_dbd_row_t *row, int col,
                            apr_pool_t *p)
{
    return entry(st, row, col, p);
}

const char *wcim_stmt_i64(apr_int64_t v, apr_pool_t *p)
{
    return i64(v, p);
}
