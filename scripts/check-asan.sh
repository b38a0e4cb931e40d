#!/bin/sh
# The module built with AddressSanitizer + UndefinedBehaviorSanitizer, under
# the real test suite and a leak check. From the top of the tree:
#
#     scripts/check-asan.sh [TEST.PL args...]
#
# 1. build: copies the tree to a scratch folder (nothing is written into
#    this tree), configures it with -fsanitize=address,undefined and builds
#    it; `make`'s own smoke test (httpd -t) runs the sanitized module.
# 2. unit: tests/unit_tests, sanitized, LeakSanitizer on.
# 3. suite: the Apache::Test suite (t/run-suite.sh: as root, as `nobody` in
#    a copy, as `make check` does) against the sanitized module. httpd is
#    not sanitized: t/TEST.PL is given `-httpd <wrapper>`, a script that
#    starts the real httpd with the ASan runtime in LD_PRELOAD and the
#    sanitizer options in its environment (httpd -t of t/11-configtest.t
#    goes through it too). Reports go to t/logs/asan.<pid> of the tree the
#    suite runs in (copied back by t/run-suite.sh as t/logs.<engine>/).
#    While the suite runs, every process started through the wrapper is
#    checked in /proc: the ASan runtime and the module must be mapped.
# 4. leak: the suite's server again, as ONE process (-one-process, i.e.
#    httpd -D ONE_PROCESS), with LeakSanitizer on; a fixed sequence of
#    WCIM_LEAK_REQUESTS (default 2000) mixed requests (get_token from the
#    cache and with RongCloud failing, get_group_chat_list with and without
#    group sync, refused requests of every kind, 404/405/413, and message
#    routing posts and lists with messages when the suite's configuration
#    has a WeclubsIMMessages vhost), then a normal stop, which runs
#    LeakSanitizer. The same is done with a tenth of the requests; a leak
#    that grows with the number of requests is a per-request leak. The process's
#    RSS is sampled as well (at 10, 40, 70 and 100% of the requests) and
#    printed. It is not a verdict here: ASan's own allocator caches and its
#    stack depot (every new allocation stack, kept for reports) move the RSS
#    of a sanitized process by megabytes either way (seen: +20 MB, then -1 MB,
#    then +3 MB over 600 requests each). Memory still referenced but growing
#    (e.g. from a process-lifetime pool) is judged by the soak test
#    (t/soak/run.sh: every child's RSS within 5% over ~900k requests, no
#    sanitizer); set WCIM_RSS_LIMIT (bytes per request over the last 30%)
#    to make it a verdict here too. A canary library leaks one block at start-up, so that a run
#    where LeakSanitizer did not run at exit fails instead of passing.
#
# Fails (exit 1) when the build, the unit tests or the suite fail, when any
# sanitizer report was written, when a wrapper-started httpd lacked the
# runtime, or when a leak grows per request. Prints every report.
#
# Environment:
#   WCIM_ASAN_CC       compiler (default clang; gcc: its libasan is preloaded)
#   WCIM_ENGINES       engines for the suite (t/run-suite.sh; default sqlite)
#   WCIM_ASAN_PHASES   which phases, default "unit suite leak"
#   WCIM_LEAK_REQUESTS requests of the leak check (default 2000)
#   WCIM_ASAN_DIR      scratch folder (default: a new one under /tmp; kept
#                      on failure or when set, removed otherwise)
set -eu

cd "$(dirname "$0")/.."
TOP=$(pwd -P)
CC=${WCIM_ASAN_CC:-clang}
APXS=${APXS:-$(command -v apxs2 || command -v apxs || true)}
[ -n "$APXS" ] || { echo "apxs not found (apt-get install apache2-dev)" >&2; exit 2; }
HTTPD_REAL="$($APXS -q SBINDIR)/$($APXS -q TARGET)"
PHASES=${WCIM_ASAN_PHASES:-unit suite leak}
LEAK_REQUESTS=${WCIM_LEAK_REQUESTS:-2000}
SAN_CFLAGS="-fsanitize=address,undefined -fsanitize-recover=address -fno-omit-frame-pointer -g -O1"
SAN_LDFLAGS="-fsanitize=address,undefined"

case "$($CC --version 2>/dev/null | head -n 1)" in
*clang*) ASAN_RT=$($CC -print-file-name=libclang_rt.asan-x86_64.so) ;;
*)       ASAN_RT=$($CC -print-file-name=libasan.so) ;;
esac
case "$ASAN_RT" in
/*) [ -f "$ASAN_RT" ] || ASAN_RT="" ;;
*)  ASAN_RT="" ;;
esac
[ -n "$ASAN_RT" ] || { echo "no ASan runtime for $CC (apt-get install libclang-rt-14-dev)" >&2; exit 2; }
ASAN_RT=$(readlink -f "$ASAN_RT")
SYMBOLIZER=$(command -v llvm-symbolizer || command -v llvm-symbolizer-14 || true)

if [ -n "${WCIM_ASAN_DIR:-}" ]; then
    mkdir -p "$WCIM_ASAN_DIR"
    WORK=$(cd "$WCIM_ASAN_DIR" && pwd -P)
    KEEP=1
else
    WORK=$(mktemp -d /tmp/wcim-asan.XXXXXX)
    KEEP=0
fi
case "$WORK/" in
"$TOP"/*) echo "the scratch folder $WORK is inside the source tree" >&2; exit 2 ;;
esac
chmod 755 "$WORK"
TREE="$WORK/tree"
MARK="wcim-asan-$$-$(date +%s)"
AS=""
[ "$(id -u)" -eq 0 ] && AS="runuser -u nobody --"

failures=""
fail() { failures="$failures
  - $*"; }
say() { printf '\n=== %s ===\n' "$*"; }

# ---- the wrapper that starts httpd sanitized -----------------------------
# Where its reports go: <ServerRoot>/logs when started with -d (Apache::Test
# passes -d <tree>/t), else t/logs under the current folder (the top of the
# tree for Apache::Test and its test scripts), else $WORK/stray-logs.
# WCIM_ASAN_LEAKS=1 in its environment turns LeakSanitizer on.
mkdir -p "$WORK/bin" "$WORK/stray-logs"
chmod 755 "$WORK/bin"
chmod 1777 "$WORK/stray-logs"
WRAPPER="$WORK/bin/httpd-asan"
cat >"$WRAPPER" <<EOF
#!/bin/sh
# made by scripts/check-asan.sh: $HTTPD_REAL with the ASan runtime
logs=""
prev=""
for a in "\$@"; do
    [ "\$prev" = "-d" ] && logs="\$a/logs"
    prev=\$a
done
if [ -z "\$logs" ] || [ ! -d "\$logs" ]; then
    if [ -d "\$PWD/t/logs" ]; then logs="\$PWD/t/logs"
    elif [ -d "\$PWD/logs" ] && [ "\${PWD##*/}" = t ]; then logs="\$PWD/logs"
    else logs="$WORK/stray-logs"
    fi
fi
leaks=0
[ "\${WCIM_ASAN_LEAKS:-}" = 1 ] && leaks=1
LD_PRELOAD="$ASAN_RT\${WCIM_ASAN_PRELOAD:+ \$WCIM_ASAN_PRELOAD}\${LD_PRELOAD:+ \$LD_PRELOAD}"
ASAN_OPTIONS="detect_leaks=\$leaks:halt_on_error=0:abort_on_error=0:print_stacktrace=1:log_path=\$logs/asan:symbolize=1:malloc_context_size=30\${WCIM_ASAN_EXTRA:+:\$WCIM_ASAN_EXTRA}"
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=0:log_path=\$logs/asan:symbolize=1"
WCIM_ASAN_MARK="$MARK"
export LD_PRELOAD ASAN_OPTIONS UBSAN_OPTIONS WCIM_ASAN_MARK
[ -z "$SYMBOLIZER" ] || export ASAN_SYMBOLIZER_PATH="$SYMBOLIZER"
exec "$HTTPD_REAL" "\$@"
EOF
chmod 755 "$WRAPPER"

# Every process started through the wrapper (it carries WCIM_ASAN_MARK),
# checked while it runs: pid, exe, runtime mapped?, module mapped?
watch_procs() {
    out="$1"
    : >"$out"
    while :; do
        for d in /proc/[0-9]*; do
            pid=${d#/proc/}
            grep -q "^$pid " "$out" 2>/dev/null && continue
            { tr '\0' '\n' <"$d/environ"; } 2>/dev/null | grep -qx "WCIM_ASAN_MARK=$MARK" || continue
            exe=$(readlink "$d/exe" 2>/dev/null || echo '?')
            [ "$exe" = "$HTTPD_REAL" ] || continue
            rt=no mod=no
            # just after exec the loader may not have mapped it yet
            for _ in 1 2 3 4 5; do
                grep -q "libclang_rt.asan\|libasan" "$d/maps" 2>/dev/null && { rt=yes; break; }
                [ -d "$d" ] || break
                sleep 0.1
            done
            [ -d "$d" ] || continue
            grep -q "mod_weclubs_im.so" "$d/maps" 2>/dev/null && mod=yes
            echo "$pid exe=$exe asan_runtime=$rt module=$mod" >>"$out"
        done
        sleep 0.5
    done
}

# Print sanitizer reports found under the given folders; count them. The
# same file can be in several t/logs.<engine> (t/run-suite.sh copies t/logs
# after each engine): each content is shown once.
REPORTS=0
show_reports() {
    seen=""
    for f in $(find "$@" -type f \( -name 'asan.*' -o -name 'ubsan.*' \) \
               -not -path '*/logs.last/*' 2>/dev/null | sort); do
        [ -s "$f" ] || continue
        sum=$(cksum <"$f" | tr ' ' -)
        case " $seen " in *" $sum "*) continue ;; esac
        seen="$seen $sum"
        REPORTS=$((REPORTS + 1))
        echo "----- $f"
        cat "$f"
    done
}

# ---- 1. build ------------------------------------------------------------
say "build (ASan+UBSan) in $TREE"
rm -rf "$TREE"
mkdir -p "$TREE"
# the tree without version control data and without earlier test logs
# the sources: no version control data, earlier test logs or build output
# (an object newer than its source would not be rebuilt sanitized)
(cd "$TOP" && tar cf - --exclude=./.git --exclude='./t/logs' --exclude='./t/logs.*' \
    --exclude='*.o' --exclude='*.lo' --exclude='*.la' --exclude='.libs' \
    --exclude='.deps' --exclude=./Makefile --exclude=./config.status \
    --exclude=./config.log --exclude=./libtool --exclude=./smoke.stamp \
    --exclude=./smoke.d --exclude=./tests/unit_tests --exclude=./stamp-h1 .) \
    | (cd "$TREE" && tar xf -)
BUILD_LOG="$WORK/build.log"
(
    cd "$TREE"
    if command -v autoreconf >/dev/null 2>&1 && [ -x autogen.sh ]; then
        ./autogen.sh
    fi
    ./configure --with-apxs="$APXS" CC="$CC" CFLAGS="$SAN_CFLAGS" LDFLAGS="$SAN_LDFLAGS"
    # make's smoke test (httpd -t) must load the sanitized module too
    make -j2 HTTPD="$WRAPPER"
    make -j2 tests/unit_tests
) >"$BUILD_LOG" 2>&1 || {
    tail -n 40 "$BUILD_LOG"
    echo "build failed; log: $BUILD_LOG" >&2
    exit 2
}
echo "built $TREE/.libs/mod_weclubs_im.so (log: $BUILD_LOG)"
show_reports "$WORK/stray-logs" "$TREE/smoke.d" >"$WORK/build-reports.txt"
if [ "$REPORTS" -gt 0 ]; then
    cat "$WORK/build-reports.txt"
    fail "sanitizer reports during the build's smoke test"
fi

# ---- 2. unit tests -------------------------------------------------------
case " $PHASES " in *" unit "*)
    say "unit tests (sanitized, leaks checked)"
    mkdir -p "$WORK/unit-logs"
    rc=0
    (cd "$TREE" && ASAN_OPTIONS="detect_leaks=1:halt_on_error=0:log_path=$WORK/unit-logs/asan:print_stacktrace=1" \
        UBSAN_OPTIONS="print_stacktrace=1:log_path=$WORK/unit-logs/asan" \
        env ${SYMBOLIZER:+ASAN_SYMBOLIZER_PATH=$SYMBOLIZER} ./tests/unit_tests) || rc=$?
    REPORTS=0
    show_reports "$WORK/unit-logs"
    [ "$rc" -eq 0 ] || fail "unit tests failed (exit $rc)"
    [ "$REPORTS" -eq 0 ] || fail "$REPORTS sanitizer report(s) from the unit tests"
;; esac

# ---- 3. the Apache::Test suite ------------------------------------------
case " $PHASES " in *" suite "*)
    say "Apache::Test suite against the sanitized module"
    watch_procs "$WORK/suite-procs.txt" &
    watcher=$!
    rc=0
    (cd "$TREE" && APXS="$APXS" sh t/run-suite.sh -httpd "$WRAPPER" "$@") || rc=$?
    kill "$watcher" 2>/dev/null || true
    wait "$watcher" 2>/dev/null || true
    [ "$rc" -eq 0 ] || fail "the test suite failed (exit $rc); logs in $TREE/t/logs*"
    nproc_seen=$(wc -l <"$WORK/suite-procs.txt")
    without=$(grep -c "asan_runtime=no" "$WORK/suite-procs.txt" || true)
    with_mod=$(grep -c "asan_runtime=yes module=yes" "$WORK/suite-procs.txt" || true)
    echo "httpd processes started through the wrapper: $nproc_seen;" \
         "with the ASan runtime and the module mapped: $with_mod; without the runtime: $without"
    [ "$nproc_seen" -gt 0 ] || fail "no httpd process with the sanitizer environment was seen"
    [ "$without" -eq 0 ] || fail "$without httpd process(es) ran without the ASan runtime"
    REPORTS=0
    show_reports "$TREE/t" "$WORK/stray-logs" >"$WORK/suite-reports.txt"
    if [ "$REPORTS" -gt 0 ]; then
        cat "$WORK/suite-reports.txt"
        fail "$REPORTS sanitizer report(s) from the suite (above; also $WORK/suite-reports.txt)"
    else
        echo "no sanitizer report from the suite"
    fi
;; esac

# ---- 4. leak check -------------------------------------------------------
# A small client: the fixed request sequence, signed as the clients do.
cat >"$WORK/bin/leak-load.py" <<'EOF'
#!/usr/bin/python3
"""Fixed request sequence for the leak check:
    leak-load.py TREE PORT RCPORT N MARKS [MESSAGES_PORT]

PORT: the main server; RCPORT: the RongCloud stand-in (its control API);
MESSAGES_PORT: a virtual host with WeclubsIMMessages On (message routing
posts and list calls go there). After each request number in MARKS
(comma-separated) it prints "mark N" and waits for a line on stdin (the
caller samples the server's memory meanwhile)."""
import hashlib, http.client, json, os, sqlite3, sys, time, urllib.parse, urllib.request

tree, port, rc_port, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
marks = set(int(m) for m in sys.argv[5].split(",")) if len(sys.argv) > 5 else set()
msg_port = int(sys.argv[6]) if len(sys.argv) > 6 and sys.argv[6] else None
SECRET = "8924d49e61e1dc9e1618d3bae21ea493"      # WeclubsIMSignSecret (t/conf/extra.conf.in)
RC_SECRET = "testappsecret"                       # WeclubsIMRongCloudAppSecret
SEED = "NmQ1NTY2MjY2MTUxZDM4ZjE0YTM5ZWJhYmE5NTIwMDRfZGF0ZT0xNDkxODk4NzM5MDk4"
db = sqlite3.connect(os.path.join(tree, "t", "db", "weclubs.sqlite"))
tokens = dict(((u, c), t) for u, c, t in db.execute("SELECT uid, caller, token FROM t_token"))
db.close()


def sign(data):
    text = SECRET + "".join(k + (v if isinstance(v, str) else json.dumps(v))
                            for k, v in sorted(data.items())) + SECRET
    return hashlib.md5(hashlib.sha1(text.encode()).hexdigest().upper().encode()).hexdigest()


def body(uid, caller="chrome_test", token=None, sig=None, data=None):
    d = data if data is not None else {
        "user_id": str(uid),
        "token": token if token is not None else tokens.get((uid, caller), "x")}
    return json.dumps({"id": "leak", "client": {"caller": caller, "version": "v2.1", "date": "0",
                                                "ex": {}},
                       "encrypt": "md5", "sign": sig if sig is not None else sign(d), "data": d},
                      ensure_ascii=False).encode()


def control(mode):
    urllib.request.urlopen("http://127.0.0.1:%d/_control/mode?set=%s" % (rc_port, mode),
                           timeout=5).read()


requests = [  # (port, method, path, body)
    (port, "POST", "/im/get_token", body(38, token=SEED)),             # cached after the first
    (port, "POST", "/im/get_group_chat_list", body(38, token=SEED)),   # group sync digest cached
    (port, "POST", "/im/get_group_chat_list", body(102)),              # three clubs
    (port, "POST", "/im/get_group_chat_list", body(100)),              # null list
    (port, "POST", "/im/get_token", body(130)),
    (port, "POST", "/im/get_token", body(135)),                        # deleted student: 3014
    (port, "POST", "/im/get_token", body(38, token=SEED, sig="0" * 32)),  # 3003
    (port, "POST", "/im/get_token", body(38, caller="nobody_app")),    # 3004
    (port, "POST", "/im/get_token", body(38, data={"token": SEED})),   # 3005
    (port, "POST", "/im/get_token", body(38, data={"user_id": "38"})),  # 3006
    (port, "POST", "/im/get_token", body(38, token=SEED[:-4] + "AAAA")),  # 3010
    (port, "POST", "/im/get_token", body(163)),                # 3010: stored token not <digest>_date=<ms>
    (port, "POST", "/im/get_token", b'{"client":{},"data":{"a":1.5}}'),  # 3001
    (port, "POST", "/im/get_token", b'not json at all'),               # 3001
    (port, "POST", "/im/get_token", body(0, data={"user_id": "038", "token": "x"})),  # 3001
    (port, "GET", "/im/get_token", None),                              # 405
    (port, "POST", "/im/no_such_api", body(38, token=SEED)),           # 404
    (port, "POST", "/im/get_token", b"{" + b" " * 70000 + b"}"),      # 413
]
failing = [  # with RongCloud failing: no cache entry, so each goes upstream
    (port, "POST", "/im/get_token", body(131)),
    (port, "POST", "/im/get_group_chat_list", body(101)),
]

seq = [0]


def routed(kind):
    """A message routing post for club 102 (users 240 and 241)."""
    seq[0] += 1
    now = int(time.time() * 1000)
    nonce = str(seq[0])
    sig = hashlib.sha1((RC_SECRET + nonce + str(now)).encode()).hexdigest()
    if kind == "badsig":
        sig = "0" * 40
    form = {"fromUserId": "im_user_id_241", "toUserId": "im_club_id_102", "channelType": "GROUP",
            "msgTimestamp": str(now), "msgUID": "LEAK-%d-%d" % (os.getpid(), seq[0])}
    if kind == "read":
        form.update(objectName="RC:SRSMsg", content=json.dumps({"lastMessageSendTime": now}))
    else:
        form.update(objectName="RC:TxtMsg",
                    content=json.dumps({"content": "消息 %d" % seq[0]}, ensure_ascii=False))
    q = urllib.parse.urlencode({"nonce": nonce, "signTimestamp": now, "signature": sig})
    return (msg_port, "POST", "/im/rongcloud?" + q, urllib.parse.urlencode(form).encode())


conns = {}


def send(p, method, path, payload):
    for attempt in (1, 2):
        conn = conns.get(p) or http.client.HTTPConnection("127.0.0.1", p, timeout=30)
        conns[p] = conn
        try:
            headers = {}
            if payload is not None:
                headers["Content-Type"] = ("application/x-www-form-urlencoded"
                                           if "rongcloud" in path else "application/json")
            conn.request(method, path, body=payload, headers=headers)
            r = conn.getresponse()
            data = r.read()
            if r.getheader("Connection", "").lower() == "close" or r.status in (404, 405, 413):
                conn.close()
                conns.pop(p, None)
            return r.status, data
        except (ConnectionError, http.client.HTTPException):
            conn.close()
            conns.pop(p, None)
            if attempt == 2:
                raise


status = {}
n = 0


def one(req):
    global n
    st, data = send(*req)
    try:
        code = json.loads(data).get("result_code")
    except ValueError:
        code = data.decode("utf-8", "replace").strip()[:20]   # the callback's plain text
    status[(st, code)] = status.get((st, code), 0) + 1
    n += 1
    if n in marks:
        sys.stdout.write("mark %d\n" % n)
        sys.stdout.flush()
        sys.stdin.readline()


# One cycle: every kind of request, message routing posts and a list with
# messages, then RongCloud failing two ways.
while n < total:
    control("ok")
    cycle = list(requests)
    if msg_port:
        cycle += [routed("text"), routed("read"), routed("badsig"),
                  (msg_port, "POST", "/im/get_group_chat_list", body(240))]
    for req in cycle:
        if n < total:
            one(req)
    for mode in ("e503", "garbage"):
        control(mode)
        for req in failing:
            if n < total:
                one(req)
control("ok")
print("requests: %d; (HTTP status, result): %s" % (n, ", ".join(
    "%s/%s x%d" % (k[0], k[1], v) for k, v in sorted(status.items(), key=str))))
EOF
chmod 755 "$WORK/bin/leak-load.py"

# One leak run: N requests against httpd -D ONE_PROCESS with LSan on.
# Sets LEAK_BYTES, LEAK_ALLOCS (LSan's summary for the server process, 0
# when none), OTHER (other sanitizer reports), RSS_MARKS ("n:kB ..." at 10,
# 40, 70 and 100% of the requests) and writes the reports to
# $WORK/leak-N.txt (the server) and $WORK/leak-N-all.txt (every process).
leak_run() {
    n=$1
    trap '' PIPE
    dir="$WORK/leak-$n"
    rm -rf "$dir"
    mkdir -p "$dir"
    (cd "$TREE" && tar cf - --exclude='./t/logs' --exclude='./t/logs.*' .) | (cd "$dir" && tar xf -)
    [ -n "$AS" ] && chown -R nobody "$dir"
    logs="$dir/t/logs"
    # httpd unloads its modules (apr_terminate, an atexit handler) before
    # LeakSanitizer runs, which would leave the module's frames in a leak's
    # stack unnamed (and crash the slow unwinder, which the stacks need to
    # see through jansson and APR): nodlclose.so makes dlclose() a no-op,
    # and is harmless in the processes httpd starts. The canary leaks
    # one block of 4242 bytes at start-up: its report proves that
    # LeakSanitizer did run when the server stopped.
    $AS env WCIM_ASAN_LEAKS=1 WCIM_ASAN_PRELOAD="$WORK/bin/nodlclose.so $WORK/bin/lsan-canary.so" \
        WCIM_ASAN_EXTRA="quarantine_size_mb=0:fast_unwind_on_malloc=0" \
        sh -c 'cd "$1" && shift && exec perl t/TEST.PL "$@"' sh "$dir" \
        -apxs "$APXS" -httpd "$WRAPPER" -one-process -start-httpd \
        >"$dir/start.log" 2>&1 || { cat "$dir/start.log"; return 1; }
    port=$(sed -n 's/^Listen[[:space:]]*\(.*:\)\{0,1\}\([0-9][0-9]*\)$/\2/p' "$dir/t/conf/httpd.conf" | head -n 1)
    rcport=$(cat "$logs/standin.port")
    pid=$(cat "$logs/httpd.pid")
    # the virtual host with WeclubsIMMessages On, if the suite has one
    msgport=$(awk '/^<VirtualHost/ { v = $0; sub(/.*:/, "", v); sub(/>.*/, "", v); vport = v }
                   /^<\/VirtualHost/ { vport = "" }
                   /^[[:space:]]*WeclubsIMMessages[[:space:]]+On/ && vport { print vport; exit }' \
              "$dir/t/conf/extra.conf" 2>/dev/null || true)
    marks="$((n / 10)) $((n * 4 / 10)) $((n * 7 / 10)) $n"
    RSS_MARKS=""
    mkfifo "$dir/marks.in"
    chmod 666 "$dir/marks.in"
    $AS /usr/bin/python3 "$WORK/bin/leak-load.py" "$dir" "$port" "$rcport" "$n" \
        "$(echo $marks | tr ' ' ,)" "$msgport" <"$dir/marks.in" >"$dir/load.log" 2>&1 &
    loader=$!
    exec 9>"$dir/marks.in"
    for m in $marks; do
        while ! grep -q "^mark $m\$" "$dir/load.log" 2>/dev/null; do
            kill -0 "$loader" 2>/dev/null || break
            sleep 0.2
        done
        rss=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$pid/status" 2>/dev/null)
        RSS_MARKS="$RSS_MARKS $m:${rss:-0}"
        kill -0 "$loader" 2>/dev/null && echo >&9
    done
    exec 9>&-
    lrc=0
    wait "$loader" || lrc=$?
    [ "$lrc" -eq 0 ] || { cat "$dir/load.log"; echo "the request sequence failed" >&2; }
    tail -n 1 "$dir/load.log"
    $AS sh -c 'cd "$1" && exec perl t/TEST.PL -stop-httpd' sh "$dir" >"$dir/stop.log" 2>&1 || true
    # LeakSanitizer runs at exit; wait for the process to be gone
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.2; i=$((i + 1)); done
    REPORTS=0
    show_reports "$logs" >"$WORK/leak-$n-all.txt"
    # the numbers: the report of the server process only (the httpd -V and
    # -t runs of Apache::Test leave reports of their own)
    cat "$logs/asan.$pid" >"$WORK/leak-$n.txt" 2>/dev/null || : >"$WORK/leak-$n.txt"
    LEAK_BYTES=$(sed -n 's/.*SUMMARY: AddressSanitizer: \([0-9]*\) byte(s) leaked in \([0-9]*\) allocation.*/\1/p' "$WORK/leak-$n.txt" | awk '{s+=$1} END {print s+0}')
    LEAK_ALLOCS=$(sed -n 's/.*SUMMARY: AddressSanitizer: \([0-9]*\) byte(s) leaked in \([0-9]*\) allocation.*/\2/p' "$WORK/leak-$n.txt" | awk '{s+=$1} END {print s+0}')
    OTHER=$(grep -c "ERROR: AddressSanitizer\|runtime error" "$WORK/leak-$n-all.txt" || true)
    if grep -q "leak of 4242 byte(s) in 1 object(s)" "$WORK/leak-$n.txt"; then
        LEAK_BYTES=$((LEAK_BYTES - 4242)) LEAK_ALLOCS=$((LEAK_ALLOCS - 1))
    else
        echo "LeakSanitizer did not report the canary: it did not run at the server's exit" \
             "(process $pid; see $dir/stop.log, $logs/error_log)" >&2
        return 1
    fi
    echo "$n requests: LeakSanitizer: $LEAK_BYTES bytes in $LEAK_ALLOCS allocations;" \
         "other sanitizer reports: $OTHER; RSS (request:kB):$RSS_MARKS"
    [ "$lrc" -eq 0 ]
}

case " $PHASES " in *" leak "*)
    say "leak check: httpd -D ONE_PROCESS, LeakSanitizer, $LEAK_REQUESTS requests"
    printf '%s\n' '#include <stdlib.h>' '#include <string.h>' \
        'static void *volatile canary;' \
        '__attribute__((constructor)) static void leak(void)' \
        '{ canary = malloc(4242); memset(canary, 1, 4242); canary = 0; }' \
        >"$WORK/bin/lsan-canary.c"
    $CC -shared -fPIC -o "$WORK/bin/lsan-canary.so" "$WORK/bin/lsan-canary.c"
    printf '%s\n' 'int dlclose(void *handle);' \
        'int dlclose(void *handle) { (void)handle; return 0; }' >"$WORK/bin/nodlclose.c"
    $CC -shared -fPIC -o "$WORK/bin/nodlclose.so" "$WORK/bin/nodlclose.c"
    chmod 755 "$WORK/bin/lsan-canary.so" "$WORK/bin/nodlclose.so"
    small=$((LEAK_REQUESTS / 10))
    if leak_run "$small"; then
        small_allocs=$LEAK_ALLOCS small_other=$OTHER
        if leak_run "$LEAK_REQUESTS"; then
            echo "leaked allocations at exit: $small_allocs after $small requests," \
                 "$LEAK_ALLOCS after $LEAK_REQUESTS"
            # per request: what the long run leaked beyond the short one
            extra=$((LEAK_ALLOCS - small_allocs))
            if [ "$extra" -gt $((LEAK_REQUESTS / 100)) ]; then
                cat "$WORK/leak-$LEAK_REQUESTS.txt"
                fail "memory leaks per request: $extra more leaked allocations after $LEAK_REQUESTS requests than after $small (reports: $WORK/leak-$LEAK_REQUESTS.txt)"
            elif [ "$LEAK_ALLOCS" -gt 0 ]; then
                echo "leaks at exit that do not grow with the requests (process globals): $WORK/leak-$LEAK_REQUESTS.txt"
            else
                echo "no leak"
            fi
            if [ "$small_other" -gt 0 ] || [ "$OTHER" -gt 0 ]; then
                for f in $(grep -l "ERROR: AddressSanitizer\|runtime error" \
                           "$WORK/leak-$small"/t/logs/asan.* "$WORK/leak-$LEAK_REQUESTS"/t/logs/asan.*); do
                    echo "----- $f"
                    cat "$f"
                done
                fail "sanitizer reports other than leaks during the leak check (above)"
            fi
            # RSS over the last 30%, once every worker thread, connection
            # and allocator has had its share: memory LeakSanitizer cannot
            # see (still referenced, e.g. from a process-lifetime pool)
            set -- $RSS_MARKS
            r70=${3#*:} r100=${4#*:}
            if [ "${r70:-0}" -gt 0 ] && [ "${r100:-0}" -gt 0 ]; then
                per=$(( (r100 - r70) * 1024 / (LEAK_REQUESTS - LEAK_REQUESTS * 7 / 10) ))
                echo "RSS from request $((LEAK_REQUESTS * 7 / 10)) to $LEAK_REQUESTS:" \
                     "$r70 -> $r100 kB, $per bytes per request"
                if [ -n "${WCIM_RSS_LIMIT:-}" ] && [ "$per" -gt "$WCIM_RSS_LIMIT" ]; then
                    fail "the server's memory grows by $per bytes per request (limit $WCIM_RSS_LIMIT: WCIM_RSS_LIMIT)"
                elif [ -z "${WCIM_RSS_LIMIT:-}" ]; then
                    echo "(for information: a sanitized process's RSS is no leak verdict; the soak test judges RSS)"
                fi
            fi
        else
            fail "leak check run of $LEAK_REQUESTS requests failed"
        fi
    else
        fail "leak check run of $small requests failed"
    fi
;; esac

# ---- summary -------------------------------------------------------------
if [ -n "$failures" ]; then
    say "check-asan: FAILED"
    echo "$failures"
    echo "scratch folder kept: $WORK"
    exit 1
fi
say "check-asan: OK"
if [ "$KEEP" -eq 0 ]; then
    rm -rf "$WORK"
else
    echo "scratch folder: $WORK"
fi
exit 0
