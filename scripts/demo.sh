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

# Every failure says what failed and what to do: `step` names the stage
# under way, `hint` what to try; the EXIT trap prints them (set -e ends
# the script at the failing command, which may have said nothing).
step="starting" hint=""
failed() {
    rc=$?
    [ $rc -ne 0 ] || return 0
    echo "demo.sh: failed while $step (exit status $rc)" >&2
    [ -z "$hint" ] || echo "demo.sh: $hint" >&2
}
trap failed EXIT

step="reading the arguments"
case "${1:-}" in
""|stop) ;;
*) hint="usage: $0 [stop]"; exit 2 ;;
esac

# the packages first: what follows needs Apache (its user, apxs), python3
# and sqlite3
if [ "${1:-}" != "stop" ] && [ -z "${WCIM_SKIP_DEPS:-}" ]; then
    step="installing the demo's packages (scripts/install-deps.sh demo)"
    hint="see the messages above; as a normal user, sudo must be allowed (or run scripts/install-deps.sh demo as root first)"
    scripts/install-deps.sh demo
fi

if [ "$(id -u)" -eq 0 ]; then
    WCIM_DEMO_DIR="${WCIM_DEMO_DIR:-/run/weclubs-im-demo}"
    # Debian's Apache user, as /etc/apache2/envvars names it (read in a
    # shell of its own: the file is not written for "set -u"); www-data
    # when the file is not there
    step="finding Apache's user"
    hint="is apache2 installed? (scripts/install-deps.sh demo)"
    WCIM_DEMO_USER=www-data WCIM_DEMO_GROUP=www-data
    if [ -r /etc/apache2/envvars ]; then
        WCIM_DEMO_USER=$(sh -c '. /etc/apache2/envvars >/dev/null 2>&1; echo "${APACHE_RUN_USER:-www-data}"')
        WCIM_DEMO_GROUP=$(sh -c '. /etc/apache2/envvars >/dev/null 2>&1; echo "${APACHE_RUN_GROUP:-www-data}"')
    fi
    if [ "${1:-}" != "stop" ]; then
        id "$WCIM_DEMO_USER" >/dev/null 2>&1 || { echo "demo.sh: no user $WCIM_DEMO_USER" >&2; exit 1; }
    fi
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
    step="stopping the demo" hint=""
    stop
    echo "demo stopped"
    exit 0
fi

step="building the module (autogen.sh, configure, make)"
hint="see the compiler's or configure's message above (configure names a missing package; scripts/install-deps.sh demo installs them)"
[ -x configure ] || ./autogen.sh
[ -f Makefile ] || ./configure
make
# apxs2 or apxs, as configure finds it
APXS="${APXS:-$(command -v apxs2 || command -v apxs || true)}"
[ -n "$APXS" ] || { hint="apxs not found: install apache2-dev (scripts/install-deps.sh demo)"; exit 1; }

step="loading the demo data into $RUN_DIR" hint="is $RUN_DIR writable, and sqlite3 installed?"
stop
rm -rf "$RUN_DIR"
mkdir -p "$RUN_DIR/db" "$RUN_DIR/standin"
chmod 755 "$RUN_DIR"
{ cat sql/sqlite/schema.sql sql/sqlite/tokens.sql sql/sqlite/reconcile.sql sql/sqlite/demo-data.sql
  echo "PRAGMA journal_mode=WAL;"; } | sqlite3 "$RUN_DIR/db/weclubs.sqlite" >/dev/null
# RongCloud is not reachable from here: a stand-in plays it on loopback,
# run from a copy that its user can read.
cp t/rongcloud_standin.py "$RUN_DIR/standin/"
if [ -n "$AS" ]; then
    chown -R "$WCIM_DEMO_USER:$WCIM_DEMO_GROUP" "$RUN_DIR/db" "$RUN_DIR/standin"
    chmod 750 "$RUN_DIR/db" "$RUN_DIR/standin"
fi

step="starting the RongCloud stand-in on port $WCIM_DEMO_RC_PORT"
hint="is the port free? (WCIM_DEMO_RC_PORT chooses another); see $RUN_DIR/standin/standin.log"
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

step="starting httpd on port $WCIM_DEMO_PORT"
hint="is the port free? (WCIM_DEMO_PORT chooses another); see $RUN_DIR/error_log"
"$("$APXS" -q SBINDIR)/$("$APXS" -q TARGET)" -f "$TOP/conf/demo.conf" -k start
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
step="asking the demo for user 38's group list"
hint="the demo did not answer 2000; see $RUN_DIR/error_log (scripts/demo.sh stop stops it)"
tools/weclubs-im-request --secret "$SECRET" "$URL/im/get_group_chat_list" 38 "$USER38_TOKEN"
step="done" hint=""
cat <<EOF

Try next:
  tools/weclubs-im-request --secret $SECRET \\
      $URL/im/get_token 38 $USER38_TOKEN
  curl $URL/im-status?text         # the module's counters
  tools/weclubs-im-request --help            # every option of the request tool
  scripts/demo.sh stop                       # stop the demo
EOF
