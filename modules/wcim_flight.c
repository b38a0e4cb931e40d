#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>

#include "wcim_flight.h"

#if APR_HAS_THREADS

/* A call under way. It has a pool of its own, destroyed by whichever of
 * the caller and its waiters leaves last. */
typedef struct {
    apr_pool_t *pool;
    apr_thread_cond_t *done_cond;
    int done;
    int waiters;
    apr_status_t rv;
    const char *result;
} flight_call_t;

struct wcim_flight_t {
    apr_thread_mutex_t *mutex;
    apr_hash_t *calls;    /* key -> flight_call_t, only while under way */
};

apr_status_t wcim_flight_create(wcim_flight_t **pflight, apr_pool_t *p)
{
    wcim_flight_t *f = apr_pcalloc(p, sizeof(*f));
    apr_status_t rv;

    *pflight = NULL;
    rv = apr_thread_mutex_create(&f->mutex, APR_THREAD_MUTEX_DEFAULT, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    f->calls = apr_hash_make(p);
    *pflight = f;
    return APR_SUCCESS;
}

static void call_leave(flight_call_t *c)
{
    if (c->done && c->waiters == 0) {
        apr_pool_destroy(c->pool);
    }
}

static apr_status_t wait_for(const char **presult, flight_call_t *c,
                             wcim_flight_t *f, apr_time_t deadline,
                             apr_pool_t *p)
{
    apr_status_t rv;

    ++c->waiters;
    while (!c->done) {
        apr_interval_time_t left = deadline - apr_time_now();
        if (left <= 0) {
            break;
        }
        apr_thread_cond_timedwait(c->done_cond, f->mutex, left);
    }
    --c->waiters;
    if (c->done) {
        rv = c->rv;
        *presult = c->result ? apr_pstrdup(p, c->result) : NULL;
    }
    else {
        rv = APR_TIMEUP;
    }
    call_leave(c);
    return rv;
}

apr_status_t wcim_flight_do(const char **presult, int *pshared,
                            wcim_flight_t *flight, const char *key,
                            apr_time_t deadline, wcim_flight_fn *fn,
                            void *baton, apr_pool_t *p)
{
    flight_call_t *c;
    apr_pool_t *cp;
    const char *result = NULL;
    apr_status_t rv;

    *presult = NULL;
    *pshared = 0;
    apr_thread_mutex_lock(flight->mutex);
    c = apr_hash_get(flight->calls, key, APR_HASH_KEY_STRING);
    if (c) {
        *pshared = 1;
        rv = wait_for(presult, c, flight, deadline, p);
        apr_thread_mutex_unlock(flight->mutex);
        return rv;
    }
    /* unmanaged: its own allocator, no lock on a shared parent pool */
    rv = apr_pool_create_unmanaged_ex(&cp, NULL, NULL);
    if (rv == APR_SUCCESS) {
        c = apr_pcalloc(cp, sizeof(*c));
        c->pool = cp;
        rv = apr_thread_cond_create(&c->done_cond, cp);
        if (rv != APR_SUCCESS) {
            apr_pool_destroy(cp);
        }
    }
    if (rv != APR_SUCCESS) {
        apr_thread_mutex_unlock(flight->mutex);
        return fn(presult, baton, p);   /* no sharing, still a result */
    }
    key = apr_pstrdup(cp, key);
    apr_hash_set(flight->calls, key, APR_HASH_KEY_STRING, c);
    apr_thread_mutex_unlock(flight->mutex);

    rv = fn(&result, baton, p);

    apr_thread_mutex_lock(flight->mutex);
    apr_hash_set(flight->calls, key, APR_HASH_KEY_STRING, NULL);
    c->rv = rv;
    c->result = result ? apr_pstrdup(cp, result) : NULL;
    c->done = 1;
    apr_thread_cond_broadcast(c->done_cond);
    call_leave(c);
    apr_thread_mutex_unlock(flight->mutex);
    *presult = result;
    return rv;
}

#else /* !APR_HAS_THREADS: one request at a time, nothing to share */

struct wcim_flight_t { int unused; };

apr_status_t wcim_flight_create(wcim_flight_t **pflight, apr_pool_t *p)
{
    *pflight = apr_pcalloc(p, sizeof(**pflight));
    return APR_SUCCESS;
}

apr_status_t wcim_flight_do(const char **presult, int *pshared,
                            wcim_flight_t *flight, const char *key,
                            apr_time_t deadline, wcim_flight_fn *fn,
                            void *baton, apr_pool_t *p)
{
    *pshared = 0;
    return fn(presult, baton, p);
}

#endif
