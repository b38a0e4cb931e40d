/* Logging from the core, through a function the glue provides (httpd's
 * error log, with the request's context). */
#ifndef WCIM_LOG_H
#define WCIM_LOG_H

#include <apr_pools.h>
#include <apr_strings.h>

/* Levels: the same numbers as httpd's APLOG_*. */
#define WCIM_LOG_ERR     3
#define WCIM_LOG_WARNING 4
#define WCIM_LOG_NOTICE  5
#define WCIM_LOG_INFO    6
#define WCIM_LOG_DEBUG   7

/* Our own log tags, in the manner of httpd's APLOGNO. */
#define WCIMLOGNO(n) "WCIM" #n ": "

typedef void wcim_log_fn(void *baton, const char *file, int line, int level,
                         apr_status_t rv, const char *msg);

typedef struct wcim_logger_t {
    wcim_log_fn *fn;
    void *baton;
    int level;          /* the highest level that is written */
    apr_pool_t *pool;   /* where messages are formatted */
} wcim_logger_t;

/* Formats only when the level is on. */
#define WCIM_LOG(lg, lvl, rv, ...)                                          \
    do {                                                                    \
        if ((lg) && (lvl) <= (lg)->level) {                                 \
            (lg)->fn((lg)->baton, __FILE__, __LINE__, (lvl), (rv),          \
                     apr_psprintf((lg)->pool, __VA_ARGS__));                \
        }                                                                   \
    } while (0)

#endif
