/* Message routing's rows in the store: a routed message and its group's
 * last message, a recall, a student's read mark, pruning old messages;
 * through the store's prepared statements (wcim_stmt.h). */
#include <apr_strings.h>

#include "wcim_store.h"
#include "wcim_stmt.h"

/* The UPDATE of a row that exists, else the insert, which writes the
 * first one or keeps the later of two (wcim_stmt.c): a group's last
 * message, a student's read mark. */
static apr_status_t update_else_add(const char **perr, wcim_store_t *st,
                                    wcim_stmt_t update, const char **uargs,
                                    wcim_stmt_t add, const char **aargs,
                                    apr_pool_t *p)
{
    int nrows = 0;
    apr_status_t rv = wcim_stmt_exec(&nrows, perr, st, update, p, uargs);

    if (rv == APR_SUCCESS && nrows == 0) {
        rv = wcim_stmt_exec(NULL, perr, st, add, p, aargs);
    }
    return rv;
}

/* Make a message its group's last one unless a later one is. */
static apr_status_t state_write(const char **perr, wcim_store_t *st,
                                const wcim_message_t *msg, const char *club,
                                const char *time, apr_pool_t *p)
{
    const char *update[] = { msg->uid, msg->preview, time, club, time, time,
                             msg->uid };
    const char *state[] = { club, msg->uid, msg->preview, time };

    return update_else_add(perr, st, WCIM_STMT_STATE_UPDATE, update,
                           WCIM_STMT_STATE_ADD, state, p);
}

apr_status_t wcim_store_message_add(const char **perr, wcim_store_t *st,
                                    const wcim_message_t *msg, apr_pool_t *p)
{
    const char *club = wcim_stmt_i64(msg->club_id, p), *time = wcim_stmt_i64(msg->time, p);
    const char *add[] = { msg->uid, club, msg->from_user, msg->object_name,
                          msg->preview, time };
    const char *exists[] = { msg->uid };
    const char *why;
    int found = 0;
    apr_status_t rv;

    /* A plain INSERT, which the primary key refuses for a repeat: the only
     * portable "insert once" across the three engines. */
    if (wcim_stmt_exec(NULL, perr, st, WCIM_STMT_MSG_ADD, p, add)
        != APR_SUCCESS) {
        rv = wcim_stmt_exists(&found, &why, st, WCIM_STMT_MSG_EXISTS, p,
                              exists);
        if (rv != APR_SUCCESS || !found) {
            return APR_EGENERAL;
        }
        /* a repeat: RongCloud's retry of a post whose state write failed
         * (answered 500) comes back here, and the state is written now */
        return state_write(perr, st, msg, club, time, p) == APR_SUCCESS
               ? APR_EEXIST : APR_EGENERAL;
    }
    return state_write(perr, st, msg, club, time, p);
}

apr_status_t wcim_store_message_recall(const char **perr, wcim_store_t *st,
                                       apr_int64_t club_id, const char *uid,
                                       const char *from_user,
                                       const char *label, apr_pool_t *p)
{
    const char *club = wcim_stmt_i64(club_id, p);
    const char *del[] = { uid, club, from_user };
    const char *state[] = { label, club, uid };
    const char *exists[] = { uid };
    int nrows = 0, found = 0;
    apr_status_t rv;

    rv = wcim_stmt_exec(&nrows, perr, st, WCIM_STMT_MSG_RECALL, p, del);
    if (rv == APR_SUCCESS && nrows > 0) {
        /* the group's state keeps no sender: changed only once the
         * sender's own message was deleted */
        rv = wcim_stmt_exec(NULL, perr, st, WCIM_STMT_STATE_RECALL, p, state);
    }
    else if (rv == APR_SUCCESS) {
        /* nothing deleted: someone else's message, or none (a failed look
         * is a failure, said as one) */
        rv = wcim_stmt_exists(&found, perr, st, WCIM_STMT_MSG_EXISTS, p,
                              exists);
        if (rv == APR_SUCCESS && found) {
            rv = APR_EACCES;
        }
    }
    return rv;
}

apr_status_t wcim_store_read_mark(const char **perr, wcim_store_t *st,
                                  const char *rc_user, apr_int64_t club_id,
                                  apr_int64_t time, apr_pool_t *p)
{
    const char *club = wcim_stmt_i64(club_id, p), *t = wcim_stmt_i64(time, p);
    const char *update[] = { t, rc_user, club, t };
    const char *add[] = { rc_user, club, t };

    return update_else_add(perr, st, WCIM_STMT_MARK_UPDATE, update,
                           WCIM_STMT_MARK_ADD, add, p);
}

apr_status_t wcim_store_messages_prune(int *pdeleted, const char **perr,
                                       wcim_store_t *st, apr_int64_t before,
                                       apr_pool_t *p)
{
    const char *args[] = { wcim_stmt_i64(before, p) };

    return wcim_stmt_exec(pdeleted, perr, st, WCIM_STMT_MSG_PRUNE, p, args);
}
