#!/bin/sh
# Builds the module and starts it serving the weclubs demo data:
#   scripts/demo.sh          install packages, build, start (port 8080)
#   scripts/demo.sh stop     stop the demo
# WCIM_DEMO_PORT / WCIM_DEMO_RC_PORT choose the ports; WCIM_SKIP_DEPS=1
# skips the package installation.
#
# httpd is started the way it is in production: as root, the parent reads
# the configuration and the module from this clone and opens the logs, and
# its children run as Apache's user (www-data); as a normal user, everything
# runs as that user. The run folder holds what the children use (the SQLite
# database, the stand-in) in a part of its own that only they may write:
#   as root:        /run/weclubs-im-demo   (the clone may be in /root, 0700)
#   as a user:      demo/run in the clone
set -eu
cd "$(dirname "$0")/.."
TOP=$(pwd)
export WCIM_DEMO_PORT="${WCIM_DEMO_PORT:-8080}"
export WCIM_DEMO_RC_PORT="${WCIM_DEMO_RC_PORT:-8981}"
if [ "$(id -u)" -eq 0 ]; then
    WCIM_DEMO_DIR="${WCIM_DEMO_DIR:-/run/weclubs-im-demo}"
    # Debian's Apache user, as /etc/apache2/envvars names it
    # (read in a shell of its own: the file is not written for "set -u")
    WCIM_DEMO_USER=$(sh -c '. /etc/apache2/envvars; echo "${APACHE_RUN_USER:-www-data}"' 2>/dev/null)
    WCIM_DEMO_GROUP=$(sh -c '. /etc/apache2/envvars; echo "${APACHE_RUN_GROUP:-www-data}"' 2>/dev/null)
    AS="runuser -u $WCIM_DEMO_USER --"
else
    WCIM_DEMO_DIR="${WCIM_DEMO_DIR:-$TOP/demo/run}"
    WCIM_DEMO_USER=$(id -un)
    WCIM_DEMO_GROUP=$(id -gn)
    AS=""
fi
export WCIM_DEMO_DIR WCIM_DEMO_USER WCIM_DEMO_GROUP
RUN_DIR="$WCIM_DEMO_DIR"
URL="http://127.0.0.1:$WCIM_DEMO_PORT"
# the API document's example: user 38 and its token, signed with the weclubs
# secret of conf/demo.conf
SECRET=8924d49e61e1dc9e1618d3bae21ea493
USER38_TOKEN=NmQ1NTY2MjY2MTUxZDM4ZjE0YTM5ZWJhYmE5NTIwMDRfZGF0ZT0xNDkxODk4NzM5MDk4

stop() {
    for pidfile in "$RUN_DIR/httpd.pid" "$RUN_DIR/standin/standin.pid"; do
        [ -f "$pidfile" ] || continue
        pid=$(cat "$pidfile")
        kill "$pid" 2>/dev/null || continue
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
            sleep 0.1; i=$((i + 1))
        done
    done
}

if [ "${1:-}" = "stop" ]; then
    stop
    echo "demo stopped"
    exit 0
fi

[ -n "${WCIM_SKIP_DEPS:-}" ] || scripts/install-deps.sh demo
[ -x configure ] || ./autogen.sh
[ -f Makefile ] || ./configure
make

stop
rm -rf "$RUN_DIR"
mkdir -p "$RUN_DIR/db" "$RUN_DIR/standin"
chmod 755 "$RUN_DIR"
{ cat sql/sqlite/schema.sql sql/sqlite/tokens.sql sql/sqlite/demo-data.sql
  echo "PRAGMA journal_mode=WAL;"; } | sqlite3 "$RUN_DIR/db/weclubs.sqlite" >/dev/null
# RongCloud is not reachable from here: a stand-in plays it on loopback,
# run from a copy that its user can read.
cp t/rongcloud_standin.py "$RUN_DIR/standin/"
if [ -n "$AS" ]; then
    chown -R "$WCIM_DEMO_USER:$WCIM_DEMO_GROUP" "$RUN_DIR/db" "$RUN_DIR/standin"
    chmod 750 "$RUN_DIR/db" "$RUN_DIR/standin"
fi

$AS /usr/bin/python3 "$RUN_DIR/standin/rongcloud_standin.py" \
    --listen "127.0.0.1:$WCIM_DEMO_RC_PORT" \
    --port-file "$RUN_DIR/standin/standin.port" \
    --app-key demoappkey --app-secret demoappsecret \
    --log "$RUN_DIR/standin/standin.log" </dev/null >/dev/null 2>&1 &
echo $! > "$RUN_DIR/standin/standin.pid"
i=0
until [ -f "$RUN_DIR/standin/standin.port" ]; do
    i=$((i + 1))
    [ $i -le 50 ] || { echo "the RongCloud stand-in did not start" >&2; exit 1; }
    sleep 0.1
done

"$(apxs -q SBINDIR)/$(apxs -q TARGET)" -f "$TOP/conf/demo.conf" -k start
i=0
until python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
        "$WCIM_DEMO_PORT" 2>/dev/null; do
    i=$((i + 1))
    [ $i -le 50 ] || { cat "$RUN_DIR/error_log" >&2; echo "httpd did not start" >&2; exit 1; }
    sleep 0.1
done

echo
echo "mod_weclubs_im demo: $URL/im/ (children run as $WCIM_DEMO_USER; logs in $RUN_DIR)"
echo "A signed get_group_chat_list for user 38, as in the API document:"
echo
tools/weclubs-im-request --secret "$SECRET" "$URL/im/get_group_chat_list" 38 "$USER38_TOKEN" || {
    echo "the demo did not answer 2000; see $RUN_DIR/error_log" >&2
    exit 1
}
cat <<EOF

Try next:
  tools/weclubs-im-request --secret $SECRET \\
      $URL/im/get_token 38 $USER38_TOKEN
  curl $URL/im-status?text         # the module's counters
  tools/weclubs-im-request --help            # every option of the request tool
  scripts/demo.sh stop                       # stop the demo
EOF
