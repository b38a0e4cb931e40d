#include <errno.h>
#include <apr_strings.h>

#include "wcim_store.h"

const char *const wcim_store_names[WCIM_STMT_COUNT] = {
    "token", "user", "groups"
};

static const int stmt_cols[WCIM_STMT_COUNT] = {
    WCIM_SQL_TOKEN_COLS, WCIM_SQL_USER_COLS, WCIM_SQL_GROUPS_COLS
};

/* What a query's rows are read into. */
typedef void row_fn(wcim_store_t *st, apr_dbd_row_t *row, void *baton,
                    apr_pool_t *p);

/* Run a prepared select and hand each row to `take`, always reading to
 * the end so the connection can be reused. The column count is checked
 * on the first row: some drivers only know it once a row was fetched. */
static apr_status_t store_query(const char **perr, wcim_store_t *st,
                                wcim_stmt_t which, row_fn *take, void *baton,
                                apr_pool_t *p, const char *arg1,
                                const char *arg2)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;   /* drivers reuse a row they were given */
    int err, cols = -1;

    if (st->stmts[which] == NULL) {
        *perr = apr_psprintf(p, "statement %s is not prepared",
                             wcim_store_names[which]);
        return APR_EGENERAL;
    }
    err = apr_dbd_pvselect(st->driver, p, st->handle, &res, st->stmts[which],
                           0, arg1, arg2, NULL);
    if (err != 0) {
        *perr = apr_psprintf(p, "%s: %s", wcim_store_names[which],
                             apr_dbd_error(st->driver, st->handle, err));
        return APR_EGENERAL;
    }
    while (apr_dbd_get_row(st->driver, p, res, &row, -1) == 0) {
        if (cols < 0) {
            cols = apr_dbd_num_cols(st->driver, res);
        }
        if (cols >= stmt_cols[which]) {
            take(st, row, baton, p);
        }
    }
    if (cols >= 0 && cols < stmt_cols[which]) {
        *perr = apr_psprintf(p, "%s returns %d columns, %d expected",
                             wcim_store_names[which], cols,
                             stmt_cols[which]);
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
    apr_status_t rv = store_query(perr, st, WCIM_STMT_TOKEN, take_token, &tr,
                                  p, user_id, caller);

    return rv != APR_SUCCESS ? rv : tr.found ? APR_SUCCESS : APR_NOTFOUND;
}

typedef struct {
    wcim_user_t *out;
    int found;
} user_read_t;

static void take_user(wcim_store_t *st, apr_dbd_row_t *row, void *baton,
                      apr_pool_t *p)
{
    user_read_t *ur = baton;

    if (!ur->found) {
        ur->out->real_name = entry(st, row, 0, p);
        ur->out->nick_name = entry(st, row, 1, p);
        ur->out->avatar_url = entry(st, row, 2, p);
        ur->found = 1;
    }
}

apr_status_t wcim_store_user_get(wcim_user_t *out, const char **perr,
                                 wcim_store_t *st, const char *user_id,
                                 apr_pool_t *p)
{
    user_read_t ur = { out, 0 };
    apr_status_t rv = store_query(perr, st, WCIM_STMT_USER, take_user, &ur,
                                  p, user_id, NULL);

    return rv != APR_SUCCESS ? rv : ur.found ? APR_SUCCESS : APR_NOTFOUND;
}

static int parse_id(apr_int64_t *pid, const char *s)
{
    char *end;

    if (s == NULL || *s == '\0') {
        return 0;
    }
    errno = 0;
    *pid = apr_strtoi64(s, &end, 10);
    return *end == '\0' && errno == 0;
}

typedef struct {
    apr_array_header_t *groups;
    const char *bad_id;   /* the first club_id that is not an integer */
} groups_read_t;

static void take_group(wcim_store_t *st, apr_dbd_row_t *row, void *baton,
                       apr_pool_t *p)
{
    groups_read_t *gr = baton;
    const char *id = entry(st, row, 0, p);
    wcim_group_t g;

    if (gr->bad_id) {
        return;
    }
    if (!parse_id(&g.club_id, id)) {
        gr->bad_id = apr_pstrdup(p, id ? id : "NULL");
        return;
    }
    g.name = entry(st, row, 1, p);
    g.avatar_url = entry(st, row, 2, p);
    if (g.name == NULL) {
        g.name = "";
    }
    *(wcim_group_t *)apr_array_push(gr->groups) = g;
}

apr_status_t wcim_store_groups_list(apr_array_header_t **pgroups,
                                    const char **perr, wcim_store_t *st,
                                    const char *user_id, apr_pool_t *p)
{
    groups_read_t gr = { apr_array_make(p, 4, sizeof(wcim_group_t)), NULL };
    apr_status_t rv;

    *pgroups = NULL;
    rv = store_query(perr, st, WCIM_STMT_GROUPS, take_group, &gr, p, user_id,
                     NULL);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (gr.bad_id) {
        *perr = apr_psprintf(p, "%s returned club_id '%s', not an integer",
                             wcim_store_names[WCIM_STMT_GROUPS], gr.bad_id);
        return APR_EGENERAL;
    }
    *pgroups = gr.groups;
    return APR_SUCCESS;
}
