/* The single-flight table under ThreadSanitizer (make check-tsan): threads
 * ask for overlapping keys at once, each with a pool of its own, as request
 * and sync threads do; the table lives in a pool of its own with its own
 * allocator, as the glue gives it (issue 12, item 11). TSan fails the run
 * on any data race; the program checks every result. Prints "N passed,
 * N failed". */
#include <stdio.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <apr_atomic.h>

#include "../modules/wcim_flight.h"

#define THREADS 8
#define ROUNDS 2000
#define KEYS 50

static wcim_flight_t *flight;
static volatile apr_uint32_t wrong, calls;

static apr_status_t compute(const char **presult, void *baton, apr_pool_t *p)
{
    apr_atomic_inc32(&calls);
    *presult = apr_pstrcat(p, "value of ", (const char *)baton, NULL);
    return APR_SUCCESS;
}

static void *APR_THREAD_FUNC worker(apr_thread_t *t, void *data)
{
    apr_pool_t *p;
    int i;

    apr_pool_create_unmanaged_ex(&p, NULL, NULL);
    for (i = 0; i < ROUNDS; ++i) {
        const char *key = apr_psprintf(p, "k%d", (i * 7 + (int)(apr_uintptr_t)data) % KEYS);
        const char *result = NULL;
        int shared = 0;
        apr_status_t rv = wcim_flight_do(&result, &shared, flight, key,
                                         apr_time_now() + apr_time_from_sec(10),
                                         compute, (void *)key, p);
        if (rv != APR_SUCCESS || !result
            || strcmp(result, apr_pstrcat(p, "value of ", key, NULL)) != 0) {
            apr_atomic_inc32(&wrong);
        }
        if (i % 100 == 99) {
            apr_pool_clear(p);
        }
    }
    apr_pool_destroy(p);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

int main(void)
{
    apr_pool_t *root, *fp;
    apr_allocator_t *a;
    apr_thread_t *threads[THREADS];
    apr_status_t rv;
    int i, passed = 0, failed = 0;

    apr_initialize();
    apr_pool_create(&root, NULL);
    apr_allocator_create(&a);
    apr_pool_create_ex(&fp, root, NULL, a);
    apr_allocator_owner_set(a, fp);
    if (wcim_flight_create(&flight, fp) != APR_SUCCESS) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    for (i = 0; i < THREADS; ++i) {
        apr_thread_create(&threads[i], NULL, worker, (void *)(apr_uintptr_t)i,
                          root);
    }
    for (i = 0; i < THREADS; ++i) {
        apr_thread_join(&rv, threads[i]);
    }
    if (wrong == 0) {
        ++passed;
    }
    else {
        ++failed;
        fprintf(stderr, "FAIL: %u wrong results\n", wrong);
    }
    if (calls >= 1 && calls <= (apr_uint32_t)THREADS * ROUNDS) {
        ++passed;
    }
    else {
        ++failed;
        fprintf(stderr, "FAIL: %u calls\n", calls);
    }
    printf("flight: %u calls for %d requests\n", calls, THREADS * ROUNDS);
    apr_pool_destroy(root);
    apr_terminate();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
