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
}
