#!/bin/sh
# bench/run.sh: the mod_weclubs_im benchmark, in one command.
#
#   bench/run.sh [--quick] [--full] [--keep] [TREE]
#
# TREE is a mod_weclubs_im source tree (default: the tree this bench/ lives
# in). It is never built in place: run.sh copies it (sources only) into a
# scratch directory, builds it there (./autogen.sh && ./configure && make),
# and benchmarks that fresh .libs/mod_weclubs_im.so.
#
#   (no option)  about 10 minutes: 5 rounds of 6 s per target (with
#                MariaDB and PostgreSQL), RSS check from 40k to 200k
#                requests, callgrind over 200 requests of each target.
#   --quick      about 2 minutes: SQLite only, 2 rounds of 3 s, RSS
#                20k -> 60k, callgrind over 50 requests. For a quick look,
#                not for deciding anything.
#   --full       the RSS check at full scale, 100k -> 1M requests (adds
#                about 3 minutes); combines with --quick.
#   --keep       keep the scratch directory (logs, config, database,
#                callgrind files) instead of deleting it after a good run.
#
# Needs: apache2 + apache2-dev (apxs), the module's build dependencies,
# libaprutil1-dbd-sqlite3 (-pgsql, -mysql), wrk, valgrind, python3
# (/usr/bin/python3, standard library only), procps; for the server
# engines mariadb-server and postgresql (scripts/install-deps.sh all). An
# engine that cannot be started is left out, with a note in the report.
# Works as root (httpd, the RongCloud stand-in, the database servers and
# valgrind then run as `nobody`; override with BENCH_RUN_AS=user) and as a
# normal user. Nothing leaves 127.0.0.1. TMPDIR chooses where the scratch
# directory goes.
#
# What runs
# ---------
# One httpd (event MPM, 2 children x 40 threads, no child recycling,
# KeepAlive without a request limit, no access log), generated into the
# scratch directory (conf/httpd.conf), serving these targets:
#
#   static        GET /static/list-1.json: the exact bytes of a real
#                 get_group_chat_list answer, served by httpd's default
#                 handler. For information only.
#   const         POST /const: bench/mod_bench_const.c, a tiny C handler
#                 that reads the body and writes the same bytes. The
#                 yardstick: every ratio is against const in the same run.
#   list-1        POST /im/get_group_chat_list for user 38 (one club):
#                 signature, token row, group query, JSON, all checks on.
#   token-cached  POST /im/get_token for user 38 whose RongCloud token is in
#                 the shmcb cache (warmed, and checked to stay cached).
#   list-50       get_group_chat_list for a generated user in 50 clubs.
#   list-1-msg    list-1 with WeclubsIMMessages On (a virtual host).
#   campus        20,000 students, 300 clubs, each student in 0-8 clubs
#                 (most in 1-3, a tail to 8, ~6% in none; seeded); every
#                 request a random student's own signed request with his
#                 own token: 70% get_group_chat_list, 30% get_token. All
#                 20,000 tokens and group syncs are warmed first (every
#                 answer checked); RongCloud must see no call while it is
#                 timed (a getToken fails the target).
#   list-1@pgsql, campus@pgsql, list-1@mysql, campus@mysql
#                 the same on PostgreSQL and MariaDB: private servers on
#                 loopback started with scripts/db-server.sh (as the tests
#                 do), loaded with the same data, each behind a virtual host
#                 of its own (DBDriver pgsql / mysql) in the same httpd, so
#                 the one token cache serves all engines.
#
# Data: SQLite (WAL) built from sql/sqlite/schema.sql + demo-data.sql plus
# the bench's own rows (the 50-club user, list-1-msg's messages, the
# campus), written once as portable SQL (scratch/run/bench-data.sql) and
# loaded into every engine. Requests are the signed md5-sha1 envelopes of
# protocol.md sections 2-4, precomputed into wrk Lua scripts
# (scratch/wrk/*.lua; the campus script fills a body template from a table
# of 20,000 students, about 3 MB). RongCloud is played by
# t/rongcloud_standin.py on loopback. No cache of authentication results or
# of group lists exists, in the module or in the bench.
#
# Before anything is timed, every target's answer is checked (HTTP 200,
# result_code 2000, the expected group list or token; the token must not
# cause a second RongCloud call; campus: all 20,000 students while
# warming, then a sample of 300 on each engine with no RongCloud call at
# all). A target that answers wrongly, or for which wrk reports any
# non-2xx answer or socket error, is reported as FAILED instead of timed.
#
# Reading the output
# ------------------
# The report is printed and written to bench/results.md.
#
# Verdict: const is the yardstick (the cheapest honest POST handler in
# this httpd, measured in the same run), with the targets of issue 14:
#   list-1 / const, req/s                          >= 0.75x
#   list-1 whole request, instructions / const     <= 2.5x
#   token-cached / const, req/s                    >= 0.75x
#   list-50 / list-1, req/s                        >= 0.8x
#   campus mix / const (SQLite), req/s             >= 0.65x
#
# Throughput: wrk (32 connections, one thread per core) runs each target in
# turn, round after round (the starting target rotates), and the table
# shows the median req/s (and its ratio to const) and median p50/p99
# latency over the rounds, how many cores httpd, the database server, wrk
# and everything else on the machine kept busy meanwhile (from /proc: CPU
# time over wall time), and httpd's and the database server's CPU time per
# request. wrk and httpd share the machine's cores, so absolute req/s
# depend on the machine and on wrk itself; compare ratios, and absolute
# numbers only between runs on the same machine. The per-round table shows
# the spread: if rounds of one target differ by more than the gaps between
# targets, or the "other cores" column is not near 0 (the report says so
# in bold), the machine was busy; run again, or trust the callgrind counts.
#
# Round trips: for each server engine, the statements the server executed
# per get_group_chat_list and per get_token (50 sequential requests;
# PostgreSQL: pg_stat_statements, enabled with ALTER SYSTEM and a restart;
# MariaDB: Questions and Com_admin_commands, where apr_dbd_mysql's
# COM_PING connection checks land). A table then puts together, per
# engine, req/s, httpd's instructions and CPU, the server's CPU, and the
# round trips: where the time goes.
#
# Instructions per request: httpd -X under valgrind --tool=callgrind, a
# fixed sequence over one keep-alive connection per port: a warm-up, then
# N requests of each target (campus: a seeded sequence of students and
# endpoints, the same on each engine), each sequence preceded by a request to a marker
# handler (bench-mark, in mod_bench_const.c) that makes callgrind dump a
# part. The line "instructions per request: list-1=..., token=...,
# list-50=..." is the inclusive Ir of wcim_handler per request: body read,
# checks, SQL, JSON, and writing the answer down httpd's output filters.
# "whole request" is everything httpd executed per request in user space
# (not the database server's work), for every target, so the module's
# cost reads against the constant handler's ("above const": the
# difference). Counts repeat to within about 2% (jansson seeds its hash
# tables randomly in each process) and do not depend on the
# machine's load, so a regression shows up as a number even on a busy
# machine. The tables under it split the cost by library and by the
# module's functions, and list the hottest functions, to see where a
# change went.
#
# Memory: after a short burst with more connections than httpd has threads
# (so that every worker thread and every SQLite connection has been used
# once: their caches reaching a high-water mark is warm-up, not a leak), a
# mix of list-1, token-cached and list-50 at 32 connections; each child's
# RSS (ps -o rss) is sampled at the baseline count (requests since the
# server started) and at four more points up to the end count. PASS when
# every child changed by at most 5% from the first sample to the last and
# no child was replaced. The samples in between tell a step (a cache
# filling up) from a slope (a leak).
#
# Files: bench/run.sh (this: build, then hand over), bench/bench.py (data,
# signed bodies, wrk scripts, httpd config, checks, measurements, report),
# bench/mod_bench_const.c (the constant handler and the callgrind marker),
# bench/results.md (the last report). With --keep, the scratch directory
# holds conf/httpd.conf, wrk/*.lua, run/weclubs.sqlite, cg/callgrind.out.*
# (open them with callgrind_annotate or kcachegrind) and logs/.
#
# Exit status: 0 when the benchmark ran, whatever the numbers say (read
# the verdicts); 2 when something could not be set up (build, httpd, the
# stand-in, a tool missing); the scratch directory is then kept.
set -eu

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
QUICK="" FULL="" KEEP="" TREE=""
for arg in "$@"; do
    case "$arg" in
        --quick) QUICK=--quick ;;
        --full) FULL=--full ;;
        --keep) KEEP=1 ;;
        -h|--help) sed -n '2,/^set -eu/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 0 ;;
        -*) echo "run.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
        *) [ -z "$TREE" ] || { echo "run.sh: one TREE only" >&2; exit 2; }
           TREE=$arg ;;
    esac
done
TREE=$(cd "${TREE:-$BENCH_DIR/..}" && pwd)
[ -f "$TREE/mod_weclubs_im.c" ] || {
    echo "run.sh: $TREE is not a mod_weclubs_im tree" >&2; exit 2; }

for tool in apxs wrk valgrind callgrind_annotate ps tar make; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "run.sh: $tool not found (see the header of $0)" >&2; exit 2; }
done
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=$(command -v python3)

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/wcim-bench.XXXXXX")
chmod 755 "$SCRATCH"
mkdir -p "$SCRATCH/logs"
echo "bench: scratch directory $SCRATCH" >&2

fail() {
    echo "bench: setup failure: $*" >&2
    echo "bench: logs kept in $SCRATCH/logs" >&2
    exit 2
}

# 1. a fresh build of the module, from a copy of the tree's sources
echo "bench: building $TREE in $SCRATCH/build" >&2
mkdir "$SCRATCH/build"
tar -C "$TREE" --exclude=./.git --exclude=./bench --exclude=./demo/run \
    --exclude=./t/logs --exclude=.libs --exclude=.deps --exclude='*.o' \
    --exclude='*.lo' --exclude='*.la' --exclude=./smoke.stamp \
    --exclude=./smoke.d --exclude=./autom4te.cache -cf - . \
    | tar -C "$SCRATCH/build" -xf - || fail "cannot copy $TREE"
( cd "$SCRATCH/build" && ./autogen.sh && ./configure && make ) \
    >"$SCRATCH/logs/build.log" 2>&1 \
    || { tail -30 "$SCRATCH/logs/build.log" >&2; fail "module build failed"; }
MODULE="$SCRATCH/build/.libs/mod_weclubs_im.so"
[ -f "$MODULE" ] || fail "no $MODULE after make"

# 2. the constant-answer handler
mkdir "$SCRATCH/const"
cp "$BENCH_DIR/mod_bench_const.c" "$SCRATCH/const/"
( cd "$SCRATCH/const" && apxs -c mod_bench_const.c ) \
    >"$SCRATCH/logs/const-build.log" 2>&1 \
    || { cat "$SCRATCH/logs/const-build.log" >&2; fail "apxs -c failed"; }
CONST="$SCRATCH/const/.libs/mod_bench_const.so"

DESC="$TREE"
if REV=$(git -C "$TREE" rev-parse --short HEAD 2>/dev/null); then
    DIRTY=$(git -C "$TREE" status --porcelain --untracked-files=no 2>/dev/null \
            | grep -vc '^.. bench/' || true)
    DESC="$TREE at $REV$( [ "$DIRTY" = 0 ] || echo " + uncommitted changes"), \
built fresh in the scratch directory"
fi

# 3. the run itself
status=0
"$PYTHON" "$BENCH_DIR/bench.py" --tree "$SCRATCH/build" --module "$MODULE" \
    --module-desc "$DESC" --const-module "$CONST" --scratch "$SCRATCH" \
    --results "$BENCH_DIR/results.md" \
    --httpd "$(apxs -q SBINDIR)/$(apxs -q TARGET)" \
    --moddir "$(apxs -q LIBEXECDIR)" --python "$PYTHON" \
    --run-as "${BENCH_RUN_AS:-nobody}" $QUICK $FULL || status=$?

if [ "$status" -eq 0 ] && [ -z "$KEEP" ]; then
    rm -rf "$SCRATCH"
else
    echo "bench: scratch directory kept: $SCRATCH" >&2
fi
exit "$status"
