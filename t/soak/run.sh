#!/bin/sh
# t/soak/run.sh: the mod_weclubs_im soak test, in one command.
#
#   t/soak/run.sh [--duration S] [--warmup S] [--connections N] [--threads N]
#                 [--module SO] [--keep] [TREE]
#
# TREE is a built mod_weclubs_im tree (default: the tree this t/soak/ lives
# in); its .libs/mod_weclubs_im.so is used unless --module says otherwise
# (run `make` first). Nothing is built or written inside TREE: everything
# happens in a scratch directory (TMPDIR), removed after a passing run
# unless --keep.
#
# What runs (all on 127.0.0.1): a RongCloud stand-in (t/rongcloud_standin.py),
# and an httpd of its own (event MPM, 2 children x 80 threads, no child
# recycling, hermetic configuration that loads the module copied into the
# scratch directory) serving the SQLite demo data of sql/sqlite (schema and
# demo data, WAL) with WeclubsIMMaxBody 4096. wrk (64 connections, 2
# threads, 60 s by default, after a 10 s warm-up) sends, over and over, a
# rotation of signed and broken requests (t/soak/soak.py, MIX):
#
#   list       get_group_chat_list of user 38, signed        -> 200, 2000
#   token      get_token of user 38 (cached RongCloud token)   -> 200, 2000
#   badsign    a zero signature                               -> 200, 3003
#   badtoken   a valid signature over a wrong token           -> 200, 3010
#   badjson    the envelope cut short                         -> 200, 3001
#   badcaller  caller evil_app                                -> 200, 3004
#   big        a 4.5 KB body over WeclubsIMMaxBody 4096       -> 413, 3001
#   huge       Content-Length 10 MB announced, never sent     -> 413, 3001
#
# Each request carries X-Soak-Kind; the access log records kind, status and
# result_code of every request.
#
# Checks (the run fails when any fails):
#   - before the load, each kind once: status, result_code, the envelope;
#   - wrk: no connect/read/write/timeout error; no 5xx; the only non-2xx
#     answers are the 413s;
#   - wrk's response() hook: every answer has Content-Type
#     application/json;charset=UTF-8 and is the envelope
#     {"result_code":N,"result_msg":"...","sys_time":N,"data":...} with a
#     result_code the mix can produce (2000s: the list or the token);
#     answers per status:result_code match requests sent per kind (to within
#     the requests in flight when wrk stopped);
#   - the access log: every request got exactly its kind's status and code;
#   - RSS of each httpd child (ps) within 5% between after the warm-up and
#     the end, and no child replaced; no crash, no weclubs_im error logged.
#
# Prints a summary. Exit status: 0 passed, 1 a check failed, 2 setup
# failure (the scratch directory is then kept).
#
# Needs: apache2 (apxs for its paths), libaprutil1-dbd-sqlite3, wrk,
# python3 (standard library), procps. As root, httpd and the stand-in run
# as `nobody` (SOAK_RUN_AS=user to change); as a normal user, as that user.
set -eu

SOAK_DIR=$(cd "$(dirname "$0")" && pwd)
DURATION=60 WARMUP=10 CONNECTIONS=64 THREADS=2 MODULE="" KEEP="" TREE=""
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) DURATION=$2; shift ;;
        --warmup) WARMUP=$2; shift ;;
        --connections) CONNECTIONS=$2; shift ;;
        --threads) THREADS=$2; shift ;;
        --module) MODULE=$2; shift ;;
        --keep) KEEP=1 ;;
        -h|--help) sed -n '2,/^set -eu/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 0 ;;
        -*) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) [ -z "$TREE" ] || { echo "run.sh: one TREE only" >&2; exit 2; }
           TREE=$1 ;;
    esac
    shift
done
TREE=$(cd "${TREE:-$SOAK_DIR/../..}" && pwd)
MODULE=${MODULE:-$TREE/.libs/mod_weclubs_im.so}
[ -f "$TREE/mod_weclubs_im.c" ] || { echo "run.sh: $TREE is not a mod_weclubs_im tree" >&2; exit 2; }
[ -f "$MODULE" ] || { echo "run.sh: no $MODULE (run make in $TREE first)" >&2; exit 2; }
for tool in apxs wrk ps; do
    command -v "$tool" >/dev/null 2>&1 || { echo "run.sh: $tool not found" >&2; exit 2; }
done
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=$(command -v python3)

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/wcim-soak.XXXXXX")
chmod 755 "$SCRATCH"
echo "soak: scratch directory $SCRATCH" >&2

status=0
"$PYTHON" "$SOAK_DIR/soak.py" --tree "$TREE" --module "$MODULE" --scratch "$SCRATCH" \
    --httpd "$(apxs -q SBINDIR)/$(apxs -q TARGET)" --moddir "$(apxs -q LIBEXECDIR)" \
    --duration "$DURATION" --warmup "$WARMUP" --connections "$CONNECTIONS" \
    --threads "$THREADS" --run-as "${SOAK_RUN_AS:-nobody}" || status=$?

if [ "$status" -eq 0 ] && [ -z "$KEEP" ]; then
    rm -rf "$SCRATCH"
else
    echo "soak: scratch directory kept: $SCRATCH (logs in $SCRATCH/logs)" >&2
fi
exit "$status"
