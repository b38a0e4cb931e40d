/* The routing posts' nonces in the database (t_im_nonce, nonces.sql):
 * RongCloud's signature covers secret + nonce + signTimestamp, not the
 * body, so the nonce is all that ties a body to a signature. The socache
 * API has no atomic insert-if-absent, and a cache is per node anyway: the
 * table's primary key is the one place where one of several posts of a
 * nonce wins, whatever the cache and however many nodes. */
#include <string.h>
#include <apr_strings.h>

#include "wcim_store.h"
#include "wcim_stmt.h"

apr_status_t wcim_store_nonce_take(const char **perr, wcim_store_t *st,
                                   const char *key, apr_int64_t now,
                                   apr_pool_t *p)
{
    const char *add[] = { key, apr_psprintf(p, "%" APR_INT64_T_FMT, now) };
    const char *exists[] = { key };
    const char *why;
    int found = 0;

    if (wcim_stmt_exec(NULL, perr, st, WCIM_STMT_NONCE_ADD, p, add)
        == APR_SUCCESS) {
        return APR_SUCCESS;
    }
    /* a plain INSERT, as for messages: the only portable insert-once. A
     * refusal is a replay only when the row is there; otherwise the
     * insert's own error stands (a row given back meanwhile too: the
     * post is refused as unchecked, and RongCloud tries again) */
    if (wcim_stmt_exists(&found, &why, st, WCIM_STMT_NONCE_EXISTS, p, exists)
        == APR_SUCCESS && found) {
        return APR_EEXIST;
    }
    return APR_EGENERAL;
}

apr_status_t wcim_store_nonce_give_back(const char **perr, wcim_store_t *st,
                                        const char *key, apr_pool_t *p)
{
    const char *args[] = { key };

    return wcim_stmt_exec(NULL, perr, st, WCIM_STMT_NONCE_DEL, p, args);
}

apr_status_t wcim_store_nonces_prune(int *pdeleted, const char **perr,
                                     wcim_store_t *st, apr_int64_t before,
                                     apr_pool_t *p)
{
    const char *args[] = { apr_psprintf(p, "%" APR_INT64_T_FMT, before) };

    return wcim_stmt_exec(pdeleted, perr, st, WCIM_STMT_NONCE_PRUNE, p, args);
}

const char *wcim_store_sql_dir(const wcim_store_t *st)
{
    const char *name = apr_dbd_name(st->driver);

    return strcmp(name, "sqlite3") == 0 ? "sqlite" : name;
}
