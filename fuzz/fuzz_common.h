/* Shared by the libFuzzer targets of fuzz/ (built by fuzz/run.sh):
 *  - APR set-up once per process, a pool per input (fuzz_pool);
 *  - FUZZ_CHECK, which aborts (so libFuzzer keeps the input) when a
 *    property of the core does not hold;
 *  - apr_palloc replaced, so that ASan sees overflows of pool allocations;
 *  - fuzz_guarded, a copy of the input that ends at an inaccessible page,
 *    so that reads past it by APR, apr-util or jansson (not instrumented)
 *    fault. */
#ifndef WCIM_FUZZ_COMMON_H
#define WCIM_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_time.h>

/* The weclubs secret of protocol.md section 3, so that the spec's vectors
 * (and seeds built from them) pass the signature check. */
#define FUZZ_SECRET "8924d49e61e1dc9e1618d3bae21ea493"
#define FUZZ_SECRET_LEN (sizeof(FUZZ_SECRET) - 1)

/* The seed's token of user 38, caller chrome_test (demo-data.sql). */
#define FUZZ_SEED_TOKEN \
    "NmQ1NTY2MjY2MTUxZDM4ZjE0YTM5ZWJhYmE5NTIwMDRfZGF0ZT0xNDkxODk4NzM5MDk4"
#define FUZZ_SEED_DATE "1491898739098"

/* A fixed "now" (2017-04-12, a day after the seed token was issued), so
 * that a run is deterministic. */
#define FUZZ_NOW apr_time_from_msec(APR_INT64_C(1491985139098))

#define FUZZ_CHECK(cond)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__,      \
                    __LINE__, #cond);                                      \
            abort();                                                       \
        }                                                                  \
    } while (0)

/* Set once APR is initialised: the pool shim below leaves APR's own
 * start-up allocations (on its global pool, which LeakSanitizer does not
 * see through) alone. */
static int fuzz_shim_on;

static void fuzz_apr_terminate(void)
{
    apr_terminate();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (apr_initialize() != APR_SUCCESS) {
        fprintf(stderr, "apr_initialize failed\n");
        abort();
    }
    atexit(fuzz_apr_terminate);
    fuzz_shim_on = 1;
    return 0;
}

/* A pool for one input, destroyed at its end: whatever the core keeps
 * outside the pool (a jansson value not handed to wcim_json_own, say) is
 * then a leak that libFuzzer's LeakSanitizer check reports. */
static apr_pool_t *fuzz_pool(void)
{
    apr_pool_t *p = NULL;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        abort();
    }
    return p;
}

/* ASan sees overflows of malloc'd blocks only, and an APR pool carves
 * its allocations out of 8 KB blocks: a write past an apr_palloc'd
 * buffer lands in the pool's next allocation, unseen. Here apr_palloc
 * (and so apr_pcalloc, a macro over it, and APR's own apr_pstrmemdup,
 * apr_pmemdup, ..., which call it through the PLT) is replaced by a
 * malloc of exactly the size asked, freed by a cleanup of the pool: each
 * pool allocation gets ASan's red zones. -DFUZZ_NO_POOL_SHIM turns it
 * off. apr_psprintf and apr_pstrcat do not go through apr_palloc. */
#ifndef FUZZ_NO_POOL_SHIM
static apr_status_t fuzz_shim_free(void *m)
{
    free(m);
    return APR_SUCCESS;
}

/* bytes the shim has handed out (a target's bound on what a parse costs) */
static apr_size_t fuzz_palloc_bytes;

void *apr_palloc(apr_pool_t *p, apr_size_t size)
{
    static void *(*real_palloc)(apr_pool_t *, apr_size_t);
    static __thread int inside;
    void *m;

    if (real_palloc == NULL) {
        real_palloc = (void *(*)(apr_pool_t *, apr_size_t))
                      dlsym(RTLD_NEXT, "apr_palloc");
        if (real_palloc == NULL) {
            abort();
        }
    }
    if (inside || !fuzz_shim_on) {   /* APR's own bookkeeping, e.g. the
                                      * cleanup below, and its start-up */
        return real_palloc(p, size);
    }
    inside = 1;
    fuzz_palloc_bytes += size;
    m = malloc(size ? size : 1);
    if (m == NULL) {
        abort();
    }
    apr_pool_cleanup_register(p, m, fuzz_shim_free, apr_pool_cleanup_null);
    inside = 0;
    return m;
}
#endif

/* A copy of the input that ends right before an inaccessible page.
 *
 * ASan sees reads past a heap buffer only from instrumented code; the
 * core hands its buffers to APR, apr-util and jansson, which are not
 * instrumented (apr_base64_decode_len, for one, is a plain loop). A read
 * past the end of this copy faults whatever code does it, and libFuzzer
 * reports the SEGV with its stack. One mapping per process, grown as
 * needed; valid until the next call. */
static const char *fuzz_guarded(const uint8_t *data, size_t size)
{
    static char *map;
    static size_t map_len, page;
    size_t need;
    char *start;

    if (page == 0) {
        page = (size_t)sysconf(_SC_PAGESIZE);
    }
    need = ((size + page - 1) / page + 1) * page;   /* data pages + guard */
    if (need > map_len) {
        if (map) {
            munmap(map, map_len);
        }
        map = mmap(NULL, need, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (map == MAP_FAILED
            || mprotect(map + need - page, page, PROT_NONE) != 0) {
            perror("fuzz_guarded: mmap");
            abort();
        }
        map_len = need;
    }
    start = map + map_len - page - size;
    if (size) {
        memcpy(start, data, size);
    }
    return start;
}

#endif
