/* The store's statements (modules/wcim_store.c). */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include <jansson.h>

#include "unit_tests.h"
#include "../modules/wcim_store.h"

/* WeclubsIMSQL's check, beside the statements it checks. */
void test_sql_check(apr_pool_t *p)
{
    CHECK(wcim_store_sql_check(WCIM_STMT_TOKEN, wcim_store_specs
                               [WCIM_STMT_TOKEN].sql, p) == NULL,
          "the default token query passes");
    CHECK(wcim_store_sql_check(WCIM_STMT_GROUPS_MESSAGES, wcim_store_specs
                               [WCIM_STMT_GROUPS_MESSAGES].sql, p) == NULL,
          "the default groups_messages query passes (subqueries, commas "
          "in parentheses)");
    CHECK(wcim_store_sql_check(WCIM_STMT_TOKEN, "SELECT token FROM t_token "
                               "WHERE uid = %lld AND caller = %s", p) != NULL,
          "one column short is refused");
    CHECK(wcim_store_sql_check(WCIM_STMT_TOKEN, "SELECT * FROM t_token "
                               "WHERE uid = %lld AND caller = %s", p) != NULL,
          "a * is refused");
    CHECK(wcim_store_sql_check(WCIM_STMT_USER, "SELECT a, b, c FROM t WHERE "
                               "x = %lld AND y LIKE '10%%'", p) == NULL,
          "%% is no placeholder");
    CHECK(wcim_store_sql_check(WCIM_STMT_MSG_PRUNE, "DELETE FROM t_im_message",
                               p) != NULL, "a placeholder short is refused");
    {
        int i;

        for (i = 0; i < WCIM_STMT_COUNT; ++i) {
            CHECK(wcim_store_specs[i].name && wcim_store_specs[i].sql
                  && wcim_store_sql_check((wcim_stmt_t)i,
                                          wcim_store_specs[i].sql, p) == NULL,
                  apr_psprintf(p, "statement %d (%s): the default passes its "
                               "own check", i, wcim_store_specs[i].name));
        }
    }
    CHECK(wcim_store_sql_check(WCIM_STMT_RC_TOKEN_GET, "SELECT profile, token "
                               "FROM t_im_rc_token WHERE app_key = %s AND "
                               "user_id = %s", p) != NULL,
          "rc_token_get without secret_tag is refused");
    CHECK(wcim_store_sql_check(WCIM_STMT_RC_TOKEN_ADD, "INSERT INTO "
                               "t_im_rc_token VALUES (%s, %s, %s, %s, %s)", p)
          != NULL, "rc_token_add a placeholder short is refused");
}
