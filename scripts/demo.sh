#!/bin/sh
# Builds the module and starts it serving the weclubs demo data:
#   scripts/demo.sh          install packages, build, start (port 8080)
#   scripts/demo.sh stop     stop the demo
# WCIM_DEMO_PORT / WCIM_DEMO_RC_PORT choose the ports; WCIM_SKIP_DEPS=1
# skips the package installation.
set -eu
cd "$(dirname "$0")/.."
TOP=$(pwd)
RUN_DIR="$TOP/demo/run"
export WCIM_DEMO_PORT="${WCIM_DEMO_PORT:-8080}"
export WCIM_DEMO_RC_PORT="${WCIM_DEMO_RC_PORT:-8981}"
AS=""
[ "$(id -u)" -eq 0 ] && AS="runuser -u nobody --"

stop() {
    if [ -f "$RUN_DIR/httpd.pid" ]; then
        kill "$(cat "$RUN_DIR/httpd.pid")" 2>/dev/null || true
    fi
    if [ -f "$RUN_DIR/standin.pid" ]; then
        kill "$(cat "$RUN_DIR/standin.pid")" 2>/dev/null || true
    fi
    sleep 1
}

if [ "${1:-}" = "stop" ]; then
    stop
    echo "demo stopped"
    exit 0
fi

[ -n "${WCIM_SKIP_DEPS:-}" ] || scripts/install-deps.sh
[ -x configure ] || ./autogen.sh
[ -f Makefile ] || ./configure
make

stop
rm -rf "$RUN_DIR"
mkdir -p "$RUN_DIR"
{ cat sql/sqlite/schema.sql sql/sqlite/demo-data.sql
  echo "PRAGMA journal_mode=WAL;"; } | sqlite3 "$RUN_DIR/weclubs.sqlite" >/dev/null
[ -z "$AS" ] || chown -R nobody "$RUN_DIR"

# RongCloud is not reachable from here: a stand-in plays it on loopback.
$AS /usr/bin/python3 t/rongcloud_standin.py \
    --listen "127.0.0.1:$WCIM_DEMO_RC_PORT" \
    --port-file "$RUN_DIR/standin.port" \
    --app-key demoappkey --app-secret demoappsecret \
    --log "$RUN_DIR/standin.log" </dev/null >/dev/null 2>&1 &
echo $! > "$RUN_DIR/standin.pid"
for _ in 1 2 3 4 5 6 7 8 9 10; do
    [ -f "$RUN_DIR/standin.port" ] && break
    sleep 0.5
done

$AS "$(apxs -q SBINDIR)/$(apxs -q TARGET)" -f "$TOP/conf/demo.conf" -k start
sleep 1
echo "mod_weclubs_im demo: http://127.0.0.1:$WCIM_DEMO_PORT/im/ (logs in demo/run/)"
echo "A signed get_group_chat_list for user 38, as in the API document:"
echo
tools/weclubs-im-request --secret 8924d49e61e1dc9e1618d3bae21ea493 \
    "http://127.0.0.1:$WCIM_DEMO_PORT/im/get_group_chat_list" \
    38 NmQ1NTY2MjY2MTUxZDM4ZjE0YTM5ZWJhYmE5NTIwMDRfZGF0ZT0xNDkxODk4NzM5MDk4 || true
echo
