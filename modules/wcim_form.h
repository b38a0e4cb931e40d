/* The form of a message routing post (application/x-www-form-urlencoded),
 * read from one buffer within bounds: RongCloud's signature covers no byte
 * of the body, so a post is hostile until its fields are read. Knows
 * nothing of httpd. */
#ifndef WCIM_FORM_H
#define WCIM_FORM_H

#include <apr_pools.h>
#include <apr_tables.h>

/* The most fields a post of max_body bytes may have: a real field is at
 * least "groupUserIds=im_user_id_1&" (26 bytes), so a real post of the
 * limit has fewer than max_body / 16 (a 3,000-member group's post has
 * 3,010); `=&=&...` of the limit has eight times as many. */
#define WCIM_FORM_FIELD_BYTES 16
#define WCIM_FORM_MAX_FIELDS(max_body) ((max_body) / WCIM_FORM_FIELD_BYTES)

/* Split buf[0..len) on '&' and '=' and decode each name and value in
 * place ('+' is a space, %XX a byte; a malformed escape stays as it is,
 * as httpd's form parser leaves it), keeping in *pform (made in p) only
 * the fields want(name) accepts, the last of a repeated name. buf is
 * changed; *pform's strings point into it, so it costs no more than buf
 * and one table entry per kept name. APR_ENOSPC when buf has more than
 * max_fields fields (empty ones between '&'s count too), *pform then
 * NULL. buf must have len + 1 bytes (the last one becomes a NUL).
 * *pfields: how many fields were seen. */
apr_status_t wcim_form_parse(apr_table_t **pform, apr_size_t *pfields,
                             char *buf, apr_size_t len,
                             apr_size_t max_fields,
                             int (*want)(const char *name), apr_pool_t *p);

#endif
