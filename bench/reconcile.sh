#!/bin/sh
# bench/reconcile.sh: what one reconciliation pass costs
# (bench/README.md#reconciliation), in one command.
#
#   bench/reconcile.sh [--module SO] [--keep] [-- reconcile.py options]
#
# Builds the module afresh from a copy of this tree (as run.sh does), or
# takes --module SO as built, then runs bench/reconcile.py (read its
# docstring): SQLite and PostgreSQL (scripts/db-server.sh), 20,000 and
# 200,000 students, a pass with no change and one with 1% changed, and
# wrk on get_group_chat_list with and without a pass running. About 16
# minutes on 2 cores. The table is printed and written to
# bench/reconcile-results.md. Options after -- go to reconcile.py, e.g.
# `-- --sizes 2000 --engines sqlite --intervals 10` for a quick look.
# --keep keeps the scratch directory (logs/error_log, the PostgreSQL data)
# after a good run; it is always kept after a failure.
# Needs what run.sh needs (no valgrind); as root, httpd, the stand-in and
# PostgreSQL run as nobody.
set -eu
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
TREE=$(cd "$BENCH_DIR/.." && pwd)
MODULE="" KEEP=""
while [ $# -gt 0 ]; do
    case "$1" in
        --module) MODULE=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        --) shift; break ;;
        -h|--help) sed -n '2,/^set -eu/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 0 ;;
        *) echo "reconcile.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=$(command -v python3)
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/wcim-rbench.XXXXXX")
chmod 755 "$SCRATCH"
mkdir -p "$SCRATCH/logs"
echo "reconcile: scratch directory $SCRATCH" >&2
mkdir "$SCRATCH/build"
tar -C "$TREE" --exclude=./.git --exclude=./bench --exclude=./demo/run \
    --exclude=./t/logs --exclude=.libs --exclude=.deps --exclude='*.o' \
    --exclude='*.lo' --exclude='*.la' --exclude=./autom4te.cache -cf - . \
    | tar -C "$SCRATCH/build" -xf -
if [ -z "$MODULE" ]; then
    echo "reconcile: building the module in $SCRATCH/build" >&2
    ( cd "$SCRATCH/build" && ./autogen.sh && ./configure && make ) \
        >"$SCRATCH/logs/build.log" 2>&1 \
        || { tail -30 "$SCRATCH/logs/build.log" >&2; exit 2; }
    MODULE="$SCRATCH/build/.libs/mod_weclubs_im.so"
fi
status=0
"$PYTHON" "$BENCH_DIR/reconcile.py" --tree "$SCRATCH/build" \
    --module "$MODULE" --scratch "$SCRATCH" \
    --httpd "$(apxs -q SBINDIR)/$(apxs -q TARGET)" \
    --moddir "$(apxs -q LIBEXECDIR)" --python "$PYTHON" \
    --run-as "${BENCH_RUN_AS:-nobody}" \
    --results "$BENCH_DIR/reconcile-results.md" "$@" || status=$?
if [ "$status" -eq 0 ] && [ -z "$KEEP" ]; then
    rm -rf "$SCRATCH"
else
    echo "reconcile: scratch directory kept: $SCRATCH (logs/error_log)" >&2
fi
exit "$status"
