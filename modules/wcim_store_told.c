/* The store's part for reconciliation (wcim_store.h): the students
 * RongCloud knows with what it was last told of each, a student whatever
 * his state, and the lease that lets one node of several make the passes. */
#include <string.h>
#include <apr_strings.h>

#include "wcim_store.h"
#include "wcim_stmt.h"
#include "wcim_decimal.h"

/* an integer column: decimal text; NULL or anything else is 0 */
static apr_int64_t int_or_0(const char *s)
{
    apr_int64_t v = 0;

    if (!s || wcim_decimal_parse(&v, s, strlen(s), 19) != APR_SUCCESS) {
        v = 0;
    }
    return v;
}

static void take_told(wcim_store_t *st, apr_dbd_row_t *row, void *baton,
                      apr_pool_t *p)
{
    apr_array_header_t *told = baton;
    wcim_told_t *t;
    const char *user = wcim_stmt_entry(st, row, 0, p);

    if (user == NULL) {
        return;
    }
    t = apr_array_push(told);
    memset(t, 0, sizeof(*t));
    t->rc_user = user;
    t->token.secret_tag = wcim_stmt_entry(st, row, 1, p);
    t->token.profile = wcim_stmt_entry(st, row, 2, p);
    t->token.token = wcim_stmt_entry(st, row, 3, p);
    t->token.issued = int_or_0(wcim_stmt_entry(st, row, 4, p));
    t->group_set = wcim_stmt_entry(st, row, 5, p);
    t->blocked = int_or_0(wcim_stmt_entry(st, row, 6, p));
    if (!t->token.secret_tag) {
        t->token.secret_tag = "";
    }
    if (!t->token.profile) {
        t->token.profile = "";
    }
    if (!t->token.token) {
        t->token.token = "";
    }
}

apr_status_t wcim_store_told_page(apr_array_header_t **ptold,
                                  const char **perr, wcim_store_t *st,
                                  const char *app_key, const char *after,
                                  apr_pool_t *p)
{
    const char *args[] = { app_key, after };

    *ptold = apr_array_make(p, WCIM_TOLD_PAGE, sizeof(wcim_told_t));
    return wcim_stmt_query(perr, st, WCIM_STMT_RC_KNOWN, take_told, *ptold,
                           p, args);
}

typedef struct {
    wcim_user_t *out;
    int found, gone;
} student_read_t;

static void take_student(wcim_store_t *st, apr_dbd_row_t *row, void *baton,
                         apr_pool_t *p)
{
    student_read_t *sr = baton;

    if (sr->found) {
        return;
    }
    sr->found = 1;
    sr->out->real_name = wcim_stmt_entry(st, row, 0, p);
    sr->out->nick_name = wcim_stmt_entry(st, row, 1, p);
    sr->out->avatar_url = wcim_stmt_entry(st, row, 2, p);
    sr->gone = int_or_0(wcim_stmt_entry(st, row, 3, p)) == WCIM_STUDENT_FROZEN
               || int_or_0(wcim_stmt_entry(st, row, 4, p)) != 0;
}

apr_status_t wcim_store_student_state(wcim_user_t *out, int *pgone,
                                      const char **perr, wcim_store_t *st,
                                      apr_int64_t uid, apr_pool_t *p)
{
    student_read_t sr = { out, 0, 0 };
    const char *args[] = { wcim_stmt_i64(uid, p) };
    apr_status_t rv;

    memset(out, 0, sizeof(*out));
    rv = wcim_stmt_query(perr, st, WCIM_STMT_RC_STUDENT, take_student, &sr,
                         p, args);
    *pgone = sr.gone;
    return rv != APR_SUCCESS ? rv : sr.found ? APR_SUCCESS : APR_NOTFOUND;
}

static void take_prefetch(wcim_store_t *st, apr_dbd_row_t *row, void *baton,
                          apr_pool_t *p)
{
    apr_array_header_t *students = baton;
    const char *id = wcim_stmt_entry(st, row, 0, p);
    wcim_prefetch_t *s;
    apr_int64_t uid;

    if (!id || wcim_decimal_parse(&uid, id, strlen(id), 19) != APR_SUCCESS) {
        return;
    }
    s = apr_array_push(students);
    s->uid = uid;
    s->user.real_name = wcim_stmt_entry(st, row, 1, p);
    s->user.nick_name = wcim_stmt_entry(st, row, 2, p);
    s->user.avatar_url = wcim_stmt_entry(st, row, 3, p);
}

apr_status_t wcim_store_prefetch_page(apr_array_header_t **pstudents,
                                      const char **perr, wcim_store_t *st,
                                      apr_int64_t after, apr_pool_t *p)
{
    const char *args[] = { wcim_stmt_i64(after, p) };

    *pstudents = apr_array_make(p, WCIM_TOLD_PAGE, sizeof(wcim_prefetch_t));
    return wcim_stmt_query(perr, st, WCIM_STMT_PREFETCH_STUDENTS,
                           take_prefetch, *pstudents, p, args);
}

apr_status_t wcim_store_told_put(const char **perr, wcim_store_t *st,
                                 const char *app_key, const char *rc_user,
                                 const char *group_set, apr_int64_t blocked,
                                 apr_int64_t now, apr_pool_t *p)
{
    const char *b = wcim_stmt_i64(blocked, p), *why;
    const char *when = wcim_stmt_i64(now, p);
    const char *update[] = { group_set, b, when, app_key, rc_user };
    const char *add[] = { app_key, rc_user, group_set, b, when };
    int nrows = 0;
    apr_status_t rv;

    rv = wcim_stmt_exec(&nrows, perr, st, WCIM_STMT_TOLD_UPDATE, p, update);
    if (rv != APR_SUCCESS || nrows > 0) {
        return rv;
    }
    /* no row yet; an INSERT the key refuses lost a race with another
     * writer, whose row the UPDATE then replaces */
    if (wcim_stmt_exec(NULL, &why, st, WCIM_STMT_TOLD_ADD, p, add)
        == APR_SUCCESS) {
        return APR_SUCCESS;
    }
    return wcim_stmt_exec(NULL, perr, st, WCIM_STMT_TOLD_UPDATE, p, update);
}

apr_status_t wcim_store_lease_take(int *pheld, const char **perr,
                                   wcim_store_t *st, const char *app_key,
                                   const char *holder, apr_int64_t now,
                                   apr_int64_t until, apr_pool_t *p)
{
    const char *u = wcim_stmt_i64(until, p), *why;
    const char *take[] = { holder, u, app_key, wcim_stmt_i64(now, p), holder };
    const char *add[] = { app_key, holder, u };
    int nrows = 0;
    apr_status_t rv;

    *pheld = 0;
    rv = wcim_stmt_exec(&nrows, perr, st, WCIM_STMT_LEASE_TAKE, p, take);
    if (rv != APR_SUCCESS || nrows > 0) {
        *pheld = rv == APR_SUCCESS;
        return rv;
    }
    /* no row, or another's that has not expired: an INSERT tells which
     * (the key refuses it when the row exists) */
    *pheld = wcim_stmt_exec(NULL, &why, st, WCIM_STMT_LEASE_ADD, p, add)
             == APR_SUCCESS;
    return APR_SUCCESS;
}
