#!/bin/sh
# Runs the Apache::Test suite against the module built in this tree
# (`make check`), once per database engine in WCIM_ENGINES (default
# "sqlite"; CI uses "sqlite mysql pgsql"), then, with WCIM_CLUSTER=1, the
# two-node test. MariaDB, PostgreSQL and redis are private servers started
# on loopback, with their data in a scratch folder, and stopped at the end.
#
# Apache::Test will not start httpd as root (nor will PostgreSQL run as
# root), so as root the built tree is copied to a scratch folder owned by
# `nobody` and everything runs there as that user.
set -eu
cd "$(dirname "$0")/.."
TOP=$(pwd)
APXS="${APXS:-$(command -v apxs2 || command -v apxs)}"
ENGINES="${WCIM_ENGINES:-sqlite}"

selftest_log=$(mktemp /tmp/wcim-standin-selftest.XXXXXX)
/usr/bin/python3 t/standin_selftest.py >"$selftest_log" 2>&1 \
    || { cat "$selftest_log"; echo "RongCloud stand-in self-test failed"; exit 1; }
rm -f "$selftest_log"

SCRATCH=$(mktemp -d /tmp/wcim-suite.XXXXXX)
AS=""
TREE="$TOP"
BUILD="${WCIM_BUILDDIR:-$TOP}"
[ "$(id -u)" -eq 0 ] && AS="runuser -u nobody --"
# A copy to run in: as root (for nobody), or when the build is elsewhere
# (make distcheck: a read-only source tree, the module in the build tree).
if [ -n "$AS" ] || [ "$(cd "$BUILD" && pwd)" != "$TOP" ]; then
    TREE="$SCRATCH/tree"
    cp -a . "$TREE"
    chmod -R u+w "$TREE"
    mkdir -p "$TREE/.libs"
    cp -a "$BUILD/.libs/mod_weclubs_im.so" "$TREE/.libs/"
    [ -z "$AS" ] || chown -R nobody "$SCRATCH"
fi
chmod 755 "$SCRATCH"
DATA="$SCRATCH/servers"
$AS mkdir -p "$DATA"

cleanup() {
    for kind in mysql pgsql; do
        [ -d "$DATA/$kind" ] && $AS "$TREE/scripts/db-server.sh" stop "$kind" "$DATA/$kind"
    done
    rm -rf "$SCRATCH"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

status=0
summary=""
for engine in $ENGINES; do
    dir="" port=""
    case "$engine" in
    sqlite) ;;
    mysql|pgsql)
        dir="$DATA/$engine"
        port=$(free_port)
        $AS "$TREE/scripts/db-server.sh" start "$engine" "$dir" "$port"
        ;;
    *) echo "unknown engine '$engine' in WCIM_ENGINES" >&2; exit 2 ;;
    esac
    echo "=== Apache::Test suite on $engine ==="
    rc=0
    $AS env WCIM_DB_ENGINE="$engine" WCIM_DB_DIR="$dir" WCIM_DB_PORT="$port" \
        sh -c 'cd "$1" && shift && exec perl t/TEST.PL "$@"' sh "$TREE" \
        -apxs "$APXS" "$@" || rc=$?
    [ -z "$dir" ] || $AS "$TREE/scripts/db-server.sh" stop "$engine" "$dir"
    # keep the logs where the caller can read them (not in a read-only tree)
    if [ "$TREE" != "$TOP" ] && [ -w t ]; then
        rm -rf "t/logs.$engine"; cp -a "$TREE/t/logs" "t/logs.$engine" 2>/dev/null || true
    fi
    if [ $rc -eq 0 ]; then summary="$summary $engine:PASS"; else summary="$summary $engine:FAIL"; status=1; fi
done
# Two Apache nodes sharing PostgreSQL and redis (docs/cluster.md, "Running
# several nodes"), and the storm of a flushed redis under RongCloud's rate limits;
# they start their own servers.
if [ -n "${WCIM_CLUSTER:-}" ]; then
    echo "=== two nodes, one PostgreSQL, one redis ==="
    rc=0
    $AS env WCIM_TWO_NODES=1 sh -c 'cd "$1" && exec prove t/cluster/two-nodes.t t/cluster/storm.t t/cluster/sync-once.t t/cluster/reconcile.t' sh "$TREE" || rc=$?
    # the nodes', the stand-in's and the servers' logs (t/lib/WCIM/Cluster.pm)
    if [ "$TREE" != "$TOP" ] && [ -w t ]; then
        rm -rf t/logs.cluster; cp -a "$TREE/t/logs.cluster" t/logs.cluster 2>/dev/null || true
    fi
    if [ $rc -eq 0 ]; then
        summary="$summary two-nodes:PASS"
    else
        summary="$summary two-nodes:FAIL (logs in t/logs.cluster/)"; status=1
    fi
fi
echo "Apache::Test suite:$summary"
exit $status
