/* Between the two readers of the request envelope (wcim_envelope.c):
 * the streaming pass (wcim_envelope_scan.c) and what they share. */
#ifndef WCIM_ENVELOPE_SCAN_H
#define WCIM_ENVELOPE_SCAN_H

#include <apr_pools.h>

#include "wcim_envelope.h"

/* APR_SUCCESS with *env filled in when the streaming pass read the body;
 * APR_EINCOMPLETE when it leaves the body to jansson (env may then hold
 * part of it). */
apr_status_t wcim_envelope_scan(wcim_envelope_t *env, const char *body,
                                apr_size_t len, apr_pool_t *p);

/* qsort's order of data's members: by key, in byte order. */
int wcim_member_cmp(const void *a, const void *b);

#endif
