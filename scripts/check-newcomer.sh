#!/bin/sh
# A newcomer's first run, as CI repeats it on every submission (issue 11):
#   1. as root, a clone inside a fresh folder only root may enter (mode 0700,
#      like /root): `scripts/demo.sh` must answer 2000, then stop;
#   2. as a normal user, a clone in that user's own 0700 home:
#      `scripts/demo.sh` (packages are there already, so no sudo is asked
#      for) must answer 2000, then stop.
# It prints the folder of the root clone on its last line, "newcomer:
# CLONE", so that CI can run `scripts/test.sh` from that same clone.
# Run as root from a git checkout; commits only (the clones are git clones).
set -eu
cd "$(dirname "$0")/.."
TOP=$(pwd)
NEWCOMER=wcim-newcomer
PORT="${WCIM_DEMO_PORT:-8080}"

[ "$(id -u)" -eq 0 ] || { echo "check-newcomer: run as root" >&2; exit 2; }

say() { printf '=== newcomer: %s\n' "$*" >&2; }

# the demo's answer is the request tool's; demo.sh fails without a 2000
demo_in() {
    who=$1 dir=$2 port=$3
    t0=$(date +%s)
    if [ "$who" = root ]; then
        (cd "$dir" && WCIM_DEMO_PORT=$port WCIM_DEMO_RC_PORT=$((port + 1)) scripts/demo.sh)
    else
        runuser -u "$who" -- sh -c 'cd "$1" && WCIM_DEMO_PORT=$2 WCIM_DEMO_RC_PORT=$3 scripts/demo.sh' \
            sh "$dir" "$port" "$((port + 1))"
    fi >"$dir.demo.log" 2>&1 || {
        cat "$dir.demo.log" >&2
        echo "check-newcomer: scripts/demo.sh failed as $who in $dir" >&2
        return 1
    }
    grep -q '"result_code": 2000' "$dir.demo.log" || {
        cat "$dir.demo.log" >&2; echo "check-newcomer: no 2000 from the demo" >&2; return 1; }
    grep -q 'scripts/demo.sh stop' "$dir.demo.log" || {
        echo "check-newcomer: the demo did not say what to try next" >&2; return 1; }
    say "demo as $who in $dir: 2000 in $(( $(date +%s) - t0 )) s"
    if [ "$who" = root ]; then
        (cd "$dir" && scripts/demo.sh stop) >/dev/null
    else
        runuser -u "$who" -- sh -c 'cd "$1" && scripts/demo.sh stop' sh "$dir" >/dev/null
    fi
    if python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
            "$port" 2>/dev/null; then
        echo "check-newcomer: scripts/demo.sh stop left httpd running" >&2
        return 1
    fi
}

# 1. root, in a 0700 folder
ROOTDIR=$(mktemp -d /root/wcim-newcomer.XXXXXX 2>/dev/null || mktemp -d)
chmod 700 "$ROOTDIR"
git clone -q "$TOP" "$ROOTDIR/project"
demo_in root "$ROOTDIR/project" "$PORT"

# 2. a normal user, in a 0700 home; the clone comes from a bundle the user
# can read (this tree may itself lie where that user cannot go)
id "$NEWCOMER" >/dev/null 2>&1 || useradd -m -s /bin/sh "$NEWCOMER"
HOMEDIR=$(getent passwd "$NEWCOMER" | cut -d: -f6)
chmod 700 "$HOMEDIR"
BUNDLE=$(mktemp /tmp/wcim-newcomer.XXXXXX.bundle)
git bundle create -q "$BUNDLE" HEAD
chmod 644 "$BUNDLE"
rm -rf "$HOMEDIR/project" "$HOMEDIR/project.demo.log"
runuser -u "$NEWCOMER" -- git -c advice.detachedHead=false clone -q "$BUNDLE" "$HOMEDIR/project"
rm -f "$BUNDLE"
demo_in "$NEWCOMER" "$HOMEDIR/project" "$PORT"
rm -rf "$HOMEDIR/project" "$HOMEDIR/project.demo.log"

echo "newcomer: $ROOTDIR/project"
