/* The store's statements: their default SQL and what WeclubsIMSQL may
 * replace it with, preparing them on a connection (wcim_store_attach) and
 * preparing one again when its session was lost. */
#include <string.h>
#include <strings.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "wcim_stmt.h"

/* The clubs a student is listed in: approved clubs whose current term
 * lists the student as an active member, by club_id. Joined from the
 * student's relation rows (an index lookup, then two primary keys): an
 * IN (SELECT ...) over the clubs cost SQLite a temporary table per
 * request, twice the instructions of the whole query. A club reached
 * twice (two relation rows, two current terms) comes as adjacent rows,
 * which the store reads as one. The FROM and WHERE of both list
 * queries. */
#define MEMBER_CLUBS_FROM \
    "FROM t_student_club_graduate_relation r " \
    "JOIN t_club_graduate g ON g.club_graduate_id = r.graduate_id " \
    "JOIN t_club c ON c.club_id = g.club_id "
#define MEMBER_CLUBS_WHERE \
    "WHERE r.student_id = %lld AND r.is_del = 0 AND r.status = 1 " \
    "AND g.is_current = 1 AND c.status = 1 ORDER BY c.club_id"

const wcim_stmt_spec_t wcim_store_specs[WCIM_STMT_COUNT] = {
    { "token", 2, 2,
      "SELECT token, create_date FROM t_token WHERE uid = %lld AND caller = %s" },
    { "user", 1, 3,
      "SELECT real_name, nick_name, avatar_url FROM t_student "
      "WHERE student_id = %lld AND is_del = 0" },
    /* approved clubs whose current term lists the user as an active
     * member, each once, by club_id */
    { "groups", 1, 3,
      "SELECT c.club_id, c.name, c.avatar_url "
      MEMBER_CLUBS_FROM MEMBER_CLUBS_WHERE },
    /* groups with what message routing knows of each, in one statement:
     * the same clubs as "groups", plus the last message and the unread
     * count (messages of others after the user's read mark; none without
     * a read mark). One query instead of two per list. */
    { "groups_messages", 3, 6,
      "SELECT c.club_id, c.name, c.avatar_url, s.last_content, s.last_date, "
      "(SELECT COUNT(*) FROM t_im_message m JOIN t_im_read_mark k "
      "ON k.club_id = m.club_id AND k.user_id = %s "
      "WHERE m.club_id = c.club_id AND m.msg_time > k.read_time "
      "AND m.from_user <> %s) "
      MEMBER_CLUBS_FROM
      "LEFT JOIN t_im_group_state s ON s.club_id = c.club_id "
      MEMBER_CLUBS_WHERE },
    { "message_add", 6, 0,
      "INSERT INTO t_im_message (msg_uid, club_id, from_user, object_name, "
      "preview, msg_time) VALUES (%s, %lld, %s, %s, %s, %lld)" },
    { "message_exists", 1, 1,
      "SELECT 1 FROM t_im_message WHERE msg_uid = %s" },
    /* a later message wins; at the same time, the larger uid */
    { "state_update", 7, 0,
      "UPDATE t_im_group_state SET last_msg_uid = %s, last_content = %s, "
      "last_date = %lld WHERE club_id = %lld AND (last_date < %lld OR "
      "(last_date = %lld AND last_msg_uid < %s))" },
    /* when state_update changed nothing: the group's first message, or
     * one that is not the latest. One statement that keeps the newest
     * (an INSERT the key refused let two first messages leave the older
     * last), and an older one is no error: an error here is a write lost.
     * SQLite (3.24+) and PostgreSQL; MariaDB's below. */
    { "state_add", 4, 0,
      "INSERT INTO t_im_group_state (club_id, last_msg_uid, last_content, "
      "last_date) VALUES (%lld, %s, %s, %lld) ON CONFLICT (club_id) DO "
      "UPDATE SET last_msg_uid = excluded.last_msg_uid, "
      "last_content = excluded.last_content, last_date = excluded.last_date "
      "WHERE t_im_group_state.last_date < excluded.last_date OR "
      "(t_im_group_state.last_date = excluded.last_date AND "
      "t_im_group_state.last_msg_uid < excluded.last_msg_uid)" },
    { "mark_update", 4, 0,
      "UPDATE t_im_read_mark SET read_time = %lld WHERE user_id = %s "
      "AND club_id = %lld AND read_time < %lld" },
    /* as state_add: the first mark, or the later of two at once */
    { "mark_add", 3, 0,
      "INSERT INTO t_im_read_mark (user_id, club_id, read_time) "
      "VALUES (%s, %lld, %lld) ON CONFLICT (user_id, club_id) DO UPDATE "
      "SET read_time = excluded.read_time "
      "WHERE t_im_read_mark.read_time < excluded.read_time" },
    { "message_prune", 1, 0,
      "DELETE FROM t_im_message WHERE msg_time < %lld" },
    /* only the sender's own recall deletes: anyone in a group can post
     * an RC:RcCmd naming any message */
    { "message_recall", 3, 0,
      "DELETE FROM t_im_message WHERE msg_uid = %s AND club_id = %lld "
      "AND from_user = %s" },
    { "state_recall", 3, 0,
      "UPDATE t_im_group_state SET last_content = %s WHERE club_id = %lld "
      "AND last_msg_uid = %s" },
    /* the routing posts' nonces: the primary key lets one INSERT of a
     * nonce win (wcim_nonce.c) */
    { "nonce_add", 2, 0,
      "INSERT INTO t_im_nonce (nonce_key, used_at) VALUES (%s, %lld)" },
    { "nonce_exists", 1, 1,
      "SELECT 1 FROM t_im_nonce WHERE nonce_key = %s" },
    { "nonce_release", 1, 0,
      "DELETE FROM t_im_nonce WHERE nonce_key = %s" },
    { "nonce_prune", 1, 0,
      "DELETE FROM t_im_nonce WHERE used_at < %lld" },
    /* the token table: written as UPDATE, then INSERT when no row changed
     * (portable; no engine's own upsert) */
    { "rc_token_get", 2, 4,
      "SELECT secret_tag, profile, token, updated FROM t_im_rc_token "
      "WHERE app_key = %s AND user_id = %s" },
    { "rc_token_update", 6, 0,
      "UPDATE t_im_rc_token SET secret_tag = %s, profile = %s, token = %s, "
      "updated = %lld WHERE app_key = %s AND user_id = %s" },
    { "rc_token_add", 6, 0,
      "INSERT INTO t_im_rc_token (app_key, user_id, secret_tag, profile, "
      "token, updated) VALUES (%s, %s, %s, %s, %s, %lld)" },
    /* reconciliation: a page of known students (the LIMIT is
     * WCIM_TOLD_PAGE) with what RongCloud was last told of each */
    { "rc_known", 2, 7,
      "SELECT k.user_id, k.secret_tag, k.profile, k.token, k.updated, "
      "o.group_set, o.blocked FROM t_im_rc_token k "
      "LEFT JOIN t_im_rc_told o ON o.app_key = k.app_key "
      "AND o.user_id = k.user_id "
      "WHERE k.app_key = %s AND k.user_id > %s ORDER BY k.user_id LIMIT 200" },
    /* a student whatever his state: frozen (status 4) and deleted ones
     * too, whom RongCloud must be told to block */
    { "rc_student", 1, 5,
      "SELECT real_name, nick_name, avatar_url, status, is_del "
      "FROM t_student WHERE student_id = %lld" },
    { "told_update", 5, 0,
      "UPDATE t_im_rc_told SET group_set = %s, blocked = %lld, "
      "updated = %lld WHERE app_key = %s AND user_id = %s" },
    { "told_add", 5, 0,
      "INSERT INTO t_im_rc_told (app_key, user_id, group_set, blocked, "
      "updated) VALUES (%s, %s, %s, %lld, %lld)" },
    { "lease_take", 5, 0,
      "UPDATE t_im_rc_lease SET holder = %s, until_ms = %lld "
      "WHERE app_key = %s AND (until_ms < %lld OR holder = %s)" },
    { "lease_add", 3, 0,
      "INSERT INTO t_im_rc_lease (app_key, holder, until_ms) "
      "VALUES (%s, %s, %lld)" },
    { "prefetch_students", 1, 4,
      "SELECT student_id, real_name, nick_name, avatar_url FROM t_student "
      "WHERE student_id > %lld AND is_del = 0 AND status <> 4 "
      "ORDER BY student_id LIMIT 200" },
    /* "token" and "groups" in one round trip: the token row, then the
     * same clubs as MEMBER_CLUBS, each on a row of its own; one row with
     * club_id NULL for a user in none (or for a relation row that leads
     * to no listed club). The joins are chained, not nested as
     * LEFT JOIN (r JOIN g JOIN c): SQLite read the nested form by
     * materialising the whole relation table. No ORDER BY: the store
     * orders this default's few rows by club_id itself; SQLite's sorter
     * was about 6,000 instructions of a one-club list (a replaced
     * token_groups keeps its own order). */
    { "token_groups", 2, 5,
      "SELECT t.token, t.create_date, c.club_id, c.name, c.avatar_url "
      "FROM t_token t "
      "LEFT JOIN t_student_club_graduate_relation r ON r.student_id = t.uid "
      "AND r.is_del = 0 AND r.status = 1 "
      "LEFT JOIN t_club_graduate g ON g.club_graduate_id = r.graduate_id "
      "AND g.is_current = 1 "
      "LEFT JOIN t_club c ON c.club_id = g.club_id AND c.status = 1 "
      "WHERE t.uid = %lld AND t.caller = %s" },
    /* "token" and "user" in one round trip; student_id NULL: no such
     * student (or one deleted) */
    { "token_user", 2, 6,
      "SELECT t.token, t.create_date, s.student_id, s.real_name, "
      "s.nick_name, s.avatar_url FROM t_token t "
      "LEFT JOIN t_student s ON s.student_id = t.uid AND s.is_del = 0 "
      "WHERE t.uid = %lld AND t.caller = %s" },
};

/* MariaDB/MySQL's texts of the defaults that differ (no ON CONFLICT):
 * the same placeholders. The assignments run in order and see the
 * columns already assigned, so the content and uid go first, compared
 * with the row's old values; the date last, which needs only its own
 * comparison (an equal date keeps its value either way). */
static const struct {
    wcim_stmt_t which;
    const char *sql;
} mysql_sql[] = {
    { WCIM_STMT_STATE_ADD,
      "INSERT INTO t_im_group_state (club_id, last_msg_uid, last_content, "
      "last_date) VALUES (%lld, %s, %s, %lld) ON DUPLICATE KEY UPDATE "
      "last_content = IF(VALUES(last_date) > last_date OR "
      "(VALUES(last_date) = last_date AND VALUES(last_msg_uid) > "
      "last_msg_uid), VALUES(last_content), last_content), "
      "last_msg_uid = IF(VALUES(last_date) > last_date OR "
      "(VALUES(last_date) = last_date AND VALUES(last_msg_uid) > "
      "last_msg_uid), VALUES(last_msg_uid), last_msg_uid), "
      "last_date = GREATEST(last_date, VALUES(last_date))" },
    { WCIM_STMT_MARK_ADD,
      "INSERT INTO t_im_read_mark (user_id, club_id, read_time) "
      "VALUES (%s, %lld, %lld) ON DUPLICATE KEY UPDATE "
      "read_time = GREATEST(read_time, VALUES(read_time))" },
};

const char *wcim_stmt_sql(const apr_dbd_driver_t *driver, const char *sql,
                          wcim_stmt_t which)
{
    apr_size_t i;

    /* only the default itself (wcim_conf_sql gives its pointer): a
     * WeclubsIMSQL text is the site's, whatever the engine */
    if (sql != wcim_store_specs[which].sql || driver == NULL
        || strcmp(apr_dbd_name(driver), "mysql") != 0) {
        return sql;
    }
    for (i = 0; i < sizeof(mysql_sql) / sizeof(mysql_sql[0]); ++i) {
        if (mysql_sql[i].which == which) {
            return mysql_sql[i].sql;
        }
    }
    return sql;
}

/* apr_dbd placeholders in a query: % and a conversion, not %%. */
static int count_placeholders(const char *q)
{
    int n = 0;

    for (; *q; ++q) {
        if (*q == '%') {
            if (q[1] == '%') {
                ++q;
            }
            else if (q[1] != '\0') {
                ++n;
            }
        }
    }
    return n;
}

/* Columns of the outermost SELECT list: commas at depth 0 between SELECT
 * and FROM, outside quotes. -1 when it cannot tell (no SELECT ... FROM,
 * or a '*'). Good enough to catch a query written for another statement. */
static int count_columns(const char *q)
{
    const char *s;
    int depth = 0, cols = 1, seen_select = 0;
    char quote = 0;

    for (s = q; *s; ++s) {
        char c = *s;
        if (quote) {
            if (c == quote) {
                quote = 0;
            }
            continue;
        }
        if (c == '\'' || c == '"' || c == '`') {
            quote = c;
        }
        else if (c == '(') {
            ++depth;
        }
        else if (c == ')') {
            --depth;
        }
        else if (depth == 0 && apr_isalpha(c)
                 && (s == q || !apr_isalnum(s[-1]) )) {
            if (!seen_select && strncasecmp(s, "select", 6) == 0
                && !apr_isalnum(s[6])) {
                seen_select = 1;
                s += 5;
            }
            else if (seen_select && strncasecmp(s, "from", 4) == 0
                     && !apr_isalnum(s[4])) {
                return cols;
            }
        }
        else if (seen_select && depth == 0) {
            if (c == ',') {
                ++cols;
            }
            else if (c == '*' && cols == 1) {
                return -1;
            }
        }
    }
    return -1;
}

const char *wcim_store_sql_check(wcim_stmt_t which, const char *sql,
                                 apr_pool_t *p)
{
    const wcim_stmt_spec_t *spec = &wcim_store_specs[which];
    int n;

    if ((n = count_placeholders(sql)) != spec->args) {
        return apr_psprintf(p, "%s: the query has %d placeholders, it must "
                            "have %d (%%s)", spec->name, n, spec->args);
    }
    n = spec->cols ? count_columns(sql) : 0;
    if (n < 0) {
        return apr_psprintf(p, "%s: name the %d selected columns (SELECT a, "
                            "b FROM ...; no *)", spec->name, spec->cols);
    }
    if (n != spec->cols) {
        return apr_psprintf(p, "%s: the query selects %d columns, it must "
                            "select %d", spec->name, n, spec->cols);
    }
    return NULL;
}

#define RETRY_INTERVAL apr_time_from_sec(1)
/* Prepare statement i in `pool`, the connection's or one of its own. */
static int prepare_in(wcim_store_t *st, int i, apr_pool_t *pool,
                      apr_dbd_prepared_t **pstmt, apr_pool_t *p)
{
    const char *sql = wcim_stmt_sql(st->driver, st->sql[i], (wcim_stmt_t)i);
    int err;

    *pstmt = NULL;
    err = apr_dbd_prepare(st->driver, pool, st->handle, sql,
                          st->conn->labels[i], pstmt);
    if (err != 0 && strcmp(apr_dbd_name(st->driver), "sqlite3") != 0
        && apr_dbd_check_conn(st->driver, p, st->handle) == APR_SUCCESS) {
        /* the server dropped the connection (a restart) and the driver
         * has just made a new one: once more */
        *pstmt = NULL;
        err = apr_dbd_prepare(st->driver, pool, st->handle, sql,
                              st->conn->labels[i], pstmt);
    }
    if (err == 0 && *pstmt == NULL) {
        err = -1;
    }
    return err;
}

/* Prepare statement i. The driver keeps a statement in the pool it was
 * prepared in as long as that lives: the connection's. A first prepare
 * goes there; a retry (a table missing, a lost session) goes into a pool
 * of its own, freed when it fails, so that failing once a second for the
 * connection's life costs it nothing. */
static int prepare(wcim_store_t *st, int i, int retry, apr_pool_t *p)
{
    wcim_store_conn_t *c = st->conn;
    apr_dbd_prepared_t *fresh = NULL;
    apr_pool_t *pool = st->conn_pool;
    int err;

    if (retry && apr_pool_create(&pool, st->conn_pool) != APR_SUCCESS) {
        return -1;
    }
    err = prepare_in(st, i, pool, &fresh, p);
    if (err == 0) {
        c->stmts[i] = fresh;
    }
    else if (retry) {
        apr_pool_destroy(pool);
    }
    return err;
}

apr_status_t wcim_store_attach(wcim_store_t **pst, const char **pwarn,
                               const char **perr,
                               const apr_dbd_driver_t *driver,
                               apr_dbd_t *handle, apr_pool_t *conn_pool,
                               const char *const *sql, const char *tag,
                               apr_pool_t *p)
{
    const char *key = apr_pstrcat(p, "weclubs_im:", tag, NULL);
    wcim_store_t *st = apr_pcalloc(p, sizeof(*st));
    wcim_store_conn_t *c = NULL;
    apr_time_t now = apr_time_now();
    int i, err;

    *pst = NULL;
    *pwarn = NULL;
    *perr = NULL;
    st->driver = driver;
    st->handle = handle;
    st->conn_pool = conn_pool;
    st->sql = sql;
    apr_pool_userdata_get((void **)&c, key, conn_pool);
    if (c == NULL) {
        c = apr_pcalloc(conn_pool, sizeof(*c));
        for (i = 0; i < WCIM_STMT_COUNT; ++i) {
            /* a name unique on the connection (PostgreSQL keeps it) */
            c->labels[i] = apr_psprintf(conn_pool, "wcim_%s_%d", tag, i);
        }
        apr_pool_userdata_setn(c, apr_pstrdup(conn_pool, key), NULL,
                               conn_pool);
        st->fresh = 1;
    }
    st->conn = c;
    for (i = 0; i < WCIM_STMT_COUNT; ++i) {
        if (sql[i] == NULL || c->stmts[i] != NULL || now < c->retry_at[i]) {
            continue;
        }
        if ((err = prepare(st, i, c->retry_at[i] != 0, p)) == 0) {
            continue;
        }
        c->retry_at[i] = now + RETRY_INTERVAL;
        if (i < WCIM_STMT_CORE_COUNT) {
            *perr = apr_psprintf(p, "preparing statement %s: %s",
                                 wcim_store_specs[i].name,
                                 apr_dbd_error(driver, handle, err));
        }
        else if (*pwarn == NULL) {
            *pwarn = apr_psprintf(p, "preparing statement %s: %s",
                                  wcim_store_specs[i].name,
                                  apr_dbd_error(driver, handle, err));
        }
    }
    for (i = 0; i < WCIM_STMT_CORE_COUNT; ++i) {
        if (c->stmts[i] == NULL) {
            if (*perr == NULL) {
                *perr = apr_psprintf(p, "statement %s could not be prepared "
                                     "on this connection (tried again "
                                     "shortly)", wcim_store_specs[i].name);
            }
            return APR_EGENERAL;
        }
    }
    *pst = st;
    return APR_SUCCESS;
}

/* Whether an error message names statement `label` ("wcim_t_1", quoted:
 * not "wcim_t_10"). */
static int names(const char *msg, const char *label)
{
    apr_size_t n = strlen(label);
    const char *at;

    for (at = strstr(msg, label); at; at = strstr(at + 1, label)) {
        if (at > msg && at[-1] == '"' && at[n] == '"') {
            return 1;
        }
    }
    return 0;
}

/* Whether a statement that failed was lost with its server session, so
 * that preparing it again is the cure; an error of the statement itself
 * (a repeated message refused by the key, a trigger's error) is not, on
 * any engine: preparing again there only fails, and costs the
 * connection's pool what it allocates. MySQL keeps every statement
 * prepared on a connection until it closes: only the client's
 * lost-session errors and the server's "unknown statement" count there.
 * PostgreSQL's driver gives one code for every failure, and libpq's text:
 * an error of a live session is "ERROR:  ...", which names our statement
 * when the session does not know it (a new one after a restart); a lost
 * connection says otherwise ("server closed the connection", "FATAL:",
 * "no connection to the server"). A server that speaks another language
 * makes every failure a lost session, as it was before: costly, not
 * wrong. SQLite has no session to lose, but apr_dbd's driver prepares
 * with the legacy sqlite3_prepare, whose statements fail with
 * SQLITE_SCHEMA once anyone changed the schema (a table or view
 * created): only a new prepare cures that. */
static int session_lost(const wcim_store_t *st, wcim_stmt_t which, int err)
{
    const char *name = apr_dbd_name(st->driver);
    const char *msg;

    if (strcmp(name, "mysql") == 0) {
        /* CR_SERVER_GONE_ERROR, CR_SERVER_LOST, CR_NO_PREPARE_STMT,
         * CR_SERVER_LOST_EXTENDED, ER_UNKNOWN_STMT_HANDLER */
        return err == 2006 || err == 2013 || err == 2030 || err == 2055
               || err == 1243;
    }
    msg = apr_dbd_error(st->driver, st->handle, err);
    if (strcmp(name, "sqlite3") == 0) {
        /* the driver answers SQLITE_ERROR; SQLITE_SCHEMA's own text says
         * which error it was. A statement of a schema changed more than
         * once since (a table renamed away and back) fails with no text
         * at all ("not an error"), and only a new prepare cures it too. */
        return msg && (strcmp(msg, "database schema has changed") == 0
                       || strcmp(msg, "not an error") == 0);
    }
    if (strcmp(name, "pgsql") == 0 && msg
        && strncmp(msg, "ERROR:", 6) == 0) {
        return names(msg, st->conn->labels[which]);
    }
    return 1;
}

/* After a statement failed with its session lost: reconnect a connection
 * the server dropped (apr_dbd_check_conn: PQreset for pgsql, ping with the
 * driver's reconnect for mysql) and prepare the statement again, since a
 * new server session has none; at most once a second per statement and
 * connection (SQLite: each time). APR_SUCCESS: run the statement once
 * more. */
apr_status_t wcim_stmt_repair(wcim_store_t *st, wcim_stmt_t which, int err,
                              apr_pool_t *p)
{
    wcim_store_conn_t *c = st->conn;
    apr_time_t now = apr_time_now();

    /* SQLite's schema errors are certain, and there a prepare costs no
     * round trip: cured each time (a statement of a schema changed twice
     * within a second, two triggers dropped, failed every write of it for
     * that second: t/30) */
    if (c == NULL || st->sql[which] == NULL || !session_lost(st, which, err)
        || (now < c->repair_at[which]
            && strcmp(apr_dbd_name(st->driver), "sqlite3") != 0)) {
        return APR_EGENERAL;
    }
    c->repair_at[which] = now + RETRY_INTERVAL;
    apr_dbd_check_conn(st->driver, p, st->handle);
    /* the old statement stays when this fails (pgsql: it still exists) */
    return prepare(st, which, 1, p) == 0 ? APR_SUCCESS : APR_EGENERAL;
}
