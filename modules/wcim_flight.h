/* One call at a time per key within a process: while a call for a key is
 * under way, other threads asking for the same key wait for its result
 * instead of making the same call again. */
#ifndef WCIM_FLIGHT_H
#define WCIM_FLIGHT_H

#include <apr_pools.h>
#include <apr_time.h>

typedef struct wcim_flight_t wcim_flight_t;

/* The call: on success *presult is a string in p. */
typedef apr_status_t wcim_flight_fn(const char **presult, void *baton,
                                    apr_pool_t *p);

apr_status_t wcim_flight_create(wcim_flight_t **pflight, apr_pool_t *p);

/* Run fn for key, or wait (until deadline) for the run already under way
 * and share its status and result. *pshared tells which happened. A waiter
 * whose deadline passes gets APR_TIMEUP. */
apr_status_t wcim_flight_do(const char **presult, int *pshared,
                            wcim_flight_t *flight, const char *key,
                            apr_time_t deadline, wcim_flight_fn *fn,
                            void *baton, apr_pool_t *p);

#endif
