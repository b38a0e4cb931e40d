/* Which of an envelope's data members are reals in its JSON text: once an
 * integer beyond 64 bits sends the body to jansson's reals-only reading,
 * `3.8e1` and `38` look alike there; the text still tells them apart.
 * Knows nothing of httpd. */
#ifndef WCIM_REALS_H
#define WCIM_REALS_H

#include <apr_pools.h>
#include <apr_tables.h>

/* *preals (made in p): the keys of body's root.data members whose value is
 * a number written with '.', 'e' or 'E'. APR_EGENERAL when yajl cannot
 * read the body (jansson could: the caller then trusts no number). */
apr_status_t wcim_data_reals(apr_table_t **preals, const char *body,
                             apr_size_t len, apr_pool_t *p);

#endif
