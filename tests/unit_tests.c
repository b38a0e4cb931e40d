/* Unit tests of the core (modules/), without httpd: the runner. Each
 * tests/test_<file>.c pins down one core file; prints "N passed, N
 * failed".
 *
 * The runner alone decides the exit status. The checks count in this
 * file only (unit_check: no test can shadow or forget a counter), and the
 * tests run in a child whose stderr the runner reads: every line starting
 * "FAIL " there fails the run, whatever the counters say, and so does a
 * child that crashed or exited non-zero. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <apr_general.h>

#include "unit_tests.h"

static int passed, failed;

void unit_check(int ok, const char *file, int line, const char *what)
{
    if (ok) {
        ++passed;
    }
    else {
        ++failed;
        fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what);
        fflush(stderr);
    }
}

static int run_tests(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_sign(p);
    test_envelope(p);
    test_token(p);
    test_reply(p);
    test_buf_bound(p);
    test_routing(p);
    test_form(p);
    test_json_string(p);
    test_json_string_jansson(p);
    test_cache_id(p);
    test_label_escape(p);
    test_metrics_render(p);
    test_flight(p);
    test_decimal(p);
    test_ratelimit(p);
    test_sql_check(p);
    test_store_writes(p);
    test_rc_limits(p);
    test_rc_name_fit(p);
    test_rc_calls(p);
    test_utf8_cut(p);
    test_api(p);
    apr_pool_destroy(p);
    apr_terminate();
    printf("%d passed, %d failed\n", passed, failed);
    fflush(stdout);
    return failed ? 1 : 0;
}

int main(void)
{
    char line[4096];
    unsigned long fails = 0;
    int fds[2], status = 0, at_start = 1;
    pid_t pid;
    FILE *in;

    fflush(stdout);
    if (pipe(fds) != 0 || (pid = fork()) < 0) {
        perror("unit_tests: pipe/fork");
        return 2;
    }
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], STDERR_FILENO);
        close(fds[1]);
        _exit(run_tests());
    }
    close(fds[1]);
    in = fdopen(fds[0], "r");
    /* lines longer than the buffer come in pieces: only a line's first
     * piece may start a FAIL */
    while (in && fgets(line, sizeof(line), in)) {
        if (at_start && strncmp(line, "FAIL ", 5) == 0) {
            ++fails;
        }
        at_start = strchr(line, '\n') != NULL;
        fputs(line, stderr);
    }
    if (in) {
        fclose(in);
    }
    if (waitpid(pid, &status, 0) != pid) {
        perror("unit_tests: waitpid");
        return 2;
    }
    if (!WIFEXITED(status)) {
        fprintf(stderr, "unit_tests: the tests died (signal %d)\n",
                WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        return 1;
    }
    if (fails) {
        fprintf(stderr, "unit_tests: %lu FAIL lines: the run fails\n", fails);
        return 1;
    }
    return WEXITSTATUS(status) ? 1 : 0;
}
