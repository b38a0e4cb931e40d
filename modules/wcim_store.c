#include <errno.h>
#include <apr_strings.h>

#include "wcim_store.h"

const char *const wcim_store_labels[WCIM_STMT_COUNT] = {
    "weclubs_im_token", "weclubs_im_user", "weclubs_im_groups"
};

static const int stmt_cols[WCIM_STMT_COUNT] = {
    WCIM_SQL_TOKEN_COLS, WCIM_SQL_USER_COLS, WCIM_SQL_GROUPS_COLS
};

/* Run a prepared select; the caller reads the rows, always to the end. */
static apr_status_t store_select(apr_dbd_results_t **pres, const char **perr,
                                 wcim_store_t *st, wcim_stmt_t which,
                                 apr_pool_t *p, const char *arg1,
                                 const char *arg2)
{
    apr_dbd_results_t *res = NULL;
    int err;

    *pres = NULL;
    if (st->stmts[which] == NULL) {
        *perr = apr_psprintf(p, "statement %s is not prepared",
                             wcim_store_labels[which]);
        return APR_EGENERAL;
    }
    err = apr_dbd_pvselect(st->driver, p, st->handle, &res, st->stmts[which],
                           0, arg1, arg2, NULL);
    if (err != 0) {
        *perr = apr_psprintf(p, "%s: %s", wcim_store_labels[which],
                             apr_dbd_error(st->driver, st->handle, err));
        return APR_EGENERAL;
    }
    if (apr_dbd_num_cols(st->driver, res) < stmt_cols[which]) {
        apr_dbd_row_t *row;
        while (apr_dbd_get_row(st->driver, p, res, &row, -1) == 0) {
            /* drain, so the connection stays usable */
        }
        *perr = apr_psprintf(p, "%s returns %d columns, %d expected",
                             wcim_store_labels[which],
                             apr_dbd_num_cols(st->driver, res),
                             stmt_cols[which]);
        return APR_EGENERAL;
    }
    *pres = res;
    return APR_SUCCESS;
}

static const char *entry(wcim_store_t *st, apr_dbd_row_t *row, int col,
                         apr_pool_t *p)
{
    const char *v = apr_dbd_get_entry(st->driver, row, col);
    return v ? apr_pstrdup(p, v) : NULL;
}

apr_status_t wcim_store_token_get(wcim_token_row_t *out, const char **perr,
                                  wcim_store_t *st, const char *user_id,
                                  const char *caller, apr_pool_t *p)
{
    apr_dbd_results_t *res;
    apr_dbd_row_t *row;
    apr_status_t rv;
    int found = 0;

    rv = store_select(&res, perr, st, WCIM_STMT_TOKEN, p, user_id, caller);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    while (apr_dbd_get_row(st->driver, p, res, &row, -1) == 0) {
        if (!found) {
            const char *token = entry(st, row, 0, p);
            const char *date = entry(st, row, 1, p);
            out->token = token ? token : "";
            out->create_date = date ? date : "";
            found = 1;
        }
    }
    return found ? APR_SUCCESS : APR_NOTFOUND;
}

apr_status_t wcim_store_user_get(wcim_user_t *out, const char **perr,
                                 wcim_store_t *st, const char *user_id,
                                 apr_pool_t *p)
{
    apr_dbd_results_t *res;
    apr_dbd_row_t *row;
    apr_status_t rv;
    int found = 0;

    rv = store_select(&res, perr, st, WCIM_STMT_USER, p, user_id, NULL);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    while (apr_dbd_get_row(st->driver, p, res, &row, -1) == 0) {
        if (!found) {
            out->real_name = entry(st, row, 0, p);
            out->nick_name = entry(st, row, 1, p);
            out->avatar_url = entry(st, row, 2, p);
            found = 1;
        }
    }
    return found ? APR_SUCCESS : APR_NOTFOUND;
}

static int parse_id(apr_int64_t *pid, const char *s)
{
    char *end;

    if (s == NULL || *s == '\0') {
        return 0;
    }
    *pid = apr_strtoi64(s, &end, 10);
    return *end == '\0' && errno == 0;
}

apr_status_t wcim_store_groups_list(apr_array_header_t **pgroups,
                                    const char **perr, wcim_store_t *st,
                                    const char *user_id, apr_pool_t *p)
{
    apr_array_header_t *groups = apr_array_make(p, 4, sizeof(wcim_group_t));
    apr_dbd_results_t *res;
    apr_dbd_row_t *row;
    apr_status_t rv;
    const char *bad = NULL;

    *pgroups = NULL;
    rv = store_select(&res, perr, st, WCIM_STMT_GROUPS, p, user_id, NULL);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    while (apr_dbd_get_row(st->driver, p, res, &row, -1) == 0) {
        wcim_group_t g;
        const char *id = apr_dbd_get_entry(st->driver, row, 0);

        errno = 0;
        if (bad || !parse_id(&g.club_id, id)) {
            if (!bad) {
                bad = apr_pstrdup(p, id ? id : "NULL");
            }
            continue;   /* keep reading to the end */
        }
        g.name = entry(st, row, 1, p);
        g.avatar_url = entry(st, row, 2, p);
        if (g.name == NULL) {
            g.name = "";
        }
        *(wcim_group_t *)apr_array_push(groups) = g;
    }
    if (bad) {
        *perr = apr_psprintf(p, "%s returned club_id '%s', not an integer",
                             wcim_store_labels[WCIM_STMT_GROUPS], bad);
        return APR_EGENERAL;
    }
    *pgroups = groups;
    return APR_SUCCESS;
}
