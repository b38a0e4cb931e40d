#!/usr/bin/python3
"""The mod_weclubs_im benchmark driver, started by bench/run.sh (read its
header first: it says what is measured and how to read the numbers).

run.sh builds the module and the constant-answer module, then calls

    bench.py --tree BUILT_TREE --module SO --const-module SO
             --scratch DIR --results FILE --httpd BIN --moddir DIR
             [--quick] [--full]

which, all inside DIR and on 127.0.0.1 only:

 1. builds the SQLite database (schema, demo data, the 50-club user) and the
    signed request bodies, and writes one wrk Lua script per target;
 2. starts the RongCloud stand-in and httpd (event MPM, hermetic config);
    captures a real get_group_chat_list answer as the static file and the
    constant handler's answer, then restarts httpd with them;
 3. checks every target's answer (result_code 2000 and the expected data,
    token really cached) before timing it;
 4. RSS: a burst that uses every thread, then a list/token/list-50 mix,
    each child's RSS sampled from the baseline count to the end count;
 5. throughput: wrk per target in alternation for N rounds, median per
    target, with the CPU used by httpd, wrk and the rest of the machine;
 6. callgrind: httpd -X under valgrind, a fixed request sequence, Ir per
    request of the whole request and of the module's handler, and where
    those instructions go;
 7. prints the report and writes it to --results.

Python 3 standard library only. Exit status: 0 when the benchmark ran
(whatever the numbers say), 2 for a setup failure.
"""

import argparse
import base64
import datetime
import hashlib
import http.client
import json
import os
import platform
import pwd
import re
import resource
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time

# ----------------------------------------------------------------------
# settings

MODES = {
    # rounds x targets x duration (s) is the throughput phase; rss_burst is
    # the RSS warm-up burst (s), rss_base/rss_end request counts since the
    # server started, rss_time a bound (s); cg_requests per target.
    "quick":   dict(rounds=2, duration=3, warmup=1, rss_burst=2,
                    rss_base=20_000, rss_end=60_000, rss_time=60,
                    cg_requests=50),
    "default": dict(rounds=5, duration=8, warmup=2, rss_burst=4,
                    rss_base=40_000, rss_end=200_000, rss_time=240,
                    cg_requests=200),
}
FULL_RSS = dict(rss_burst=6, rss_base=100_000, rss_end=1_000_000,
                rss_time=900)

CONNECTIONS = 32
RSS_LIMIT_PCT = 5.0

# httpd: two children, no child recycling, so the RSS check follows the
# same processes all along. Each child has more threads than wrk has
# connections: when all of a child's workers are busy, the event MPM closes
# its idle keep-alive connections, and wrk would count the race with its
# next request as a socket error that has nothing to do with the handler.
MPM = dict(StartServers=2, ServerLimit=2, ThreadsPerChild=40,
           MaxRequestWorkers=80, MinSpareThreads=25, MaxSpareThreads=80,
           MaxConnectionsPerChild=0)
DBD_CONNS = MPM["ThreadsPerChild"]          # DBDMin = DBDKeep = DBDMax

SIGN_SECRET = "8924d49e61e1dc9e1618d3bae21ea493"
RC_APP_KEY = "benchappkey"
RC_APP_SECRET = "benchappsecret"
CALLER = "chrome_test"

# user 38 of the demo data: one club (club 1), token of the API document
ONE_USER = 38
ONE_TOKEN = "NmQ1NTY2MjY2MTUxZDM4ZjE0YTM5ZWJhYmE5NTIwMDRfZGF0ZT0xNDkxODk4NzM5MDk4"
ONE_GROUPS = [dict(club_id=1, club_name="社团联合会",
                   avatar_url="http://p2.wmpic.me/article/2015/03/16/"
                              "1426483393_DXGAJIiR.jpeg")]

# the bench's own user, in 50 approved clubs
MANY_USER = 90000
MANY_PASSWORD = "bench-password"
MANY_DATE = 1700000000000
MANY_CLUBS = 50
MANY_FIRST_CLUB = 90001

# protocol.md section 3: the md5-sha1 vector for user 38
SIGN_VECTOR = "0705b4dc0a406ed0e3bc5013c685943c"

# (name, what it measures), in the order of a round
TARGETS = [
    ("static", "GET of a static .json copy of the list-1 answer (default handler)"),
    ("const", "POST to a constant-answer C handler (reads the body, same bytes)"),
    ("list-1", "get_group_chat_list, user in 1 club: signature, token row, group query, JSON"),
    ("token-cached", "get_token, RongCloud token in the shmcb cache"),
    ("list-50", "get_group_chat_list, user in 50 clubs"),
    ("list-1-msg", "list-1 on a server with WeclubsIMMessages On (last message, unread count)"),
]
TARGET_NAMES = [t[0] for t in TARGETS]
RC_APIS = ("/user/getToken.json", "/user/refresh.json", "/group/sync.json")


class SetupError(Exception):
    """Something the benchmark needs did not work: exit status 2."""


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------
# tokens, signatures, request bodies

def md5hex(s):
    return hashlib.md5(s.encode("utf-8")).hexdigest()


def weclubs_token(user_id, password, caller, create_date):
    """protocol.md section 4."""
    inner = md5hex(md5hex(password + str(user_id)) + caller)
    return base64.b64encode(("%s_date=%d" % (inner, create_date))
                            .encode()).decode()


def sign_md5_sha1(data, secret=SIGN_SECRET):
    """protocol.md section 3: md5(UPPER(sha1(secret + k1 v1 k2 v2 .. + secret)))."""
    text = secret + "".join(k + str(data[k]) for k in
                            sorted(data, key=lambda k: k.encode())) + secret
    sha1 = hashlib.sha1(text.encode("utf-8")).hexdigest().upper()
    return hashlib.md5(sha1.encode()).hexdigest()


def signed_body(user_id, token, req_id):
    data = {"user_id": str(user_id), "token": token}
    env = {"id": req_id,
           "client": {"caller": CALLER, "version": "v2.1",
                      "date": "1700000000000", "ex": {}},
           "encrypt": "md5", "sign": sign_md5_sha1(data), "data": data}
    return json.dumps(env, separators=(",", ":")).encode()


def many_token():
    return weclubs_token(MANY_USER, MANY_PASSWORD, CALLER, MANY_DATE)


def many_groups():
    return [dict(club_id=MANY_FIRST_CLUB + i,
                 club_name="基准社团%02d" % (i + 1),
                 avatar_url="http://img.example.com/club/%d.png"
                            % (MANY_FIRST_CLUB + i))
            for i in range(MANY_CLUBS)]


def expected_list(groups):
    """The data of a get_group_chat_list answer (protocol.md section 7)."""
    return {"group_chat_list": [
        {"im_group_id": "im_club_id_%d" % g["club_id"],
         "avatar_url": g["avatar_url"], "last_msg_content": None,
         "club_id": g["club_id"], "fresh_msg_count": 0,
         "club_name": g["club_name"], "last_msg_date": 0} for g in groups]}


def build_database(path, sql_dir):
    """schema + demo data + the 50-club user, in WAL mode."""
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.unlink(path + suffix)
    db = sqlite3.connect(path)
    for name in ("schema.sql", "messages.sql", "demo-data.sql"):
        with open(os.path.join(sql_dir, name), encoding="utf-8") as f:
            db.executescript(f.read())
    cur = db.cursor()
    cur.execute("INSERT INTO t_student (student_id, school_id, mobile, "
                "nick_name, real_name, avatar_url, status, is_del) "
                "VALUES (?, 1, '13900090000', 'bench', '基准用户', "
                "'http://img.example.com/u/90000.png', 1, 0)", (MANY_USER,))
    for i, g in enumerate(many_groups()):
        cid = g["club_id"]
        cur.execute("INSERT INTO t_club (club_id, school_id, name, "
                    "introduction, slogan, avatar_url, is_auth, level, "
                    "status, check_count) VALUES (?, 1, ?, 'bench club', "
                    "'bench', ?, 1, 2, 1, 0)",
                    (cid, g["club_name"], g["avatar_url"]))
        cur.execute("INSERT INTO t_club_graduate (club_graduate_id, club_id, "
                    "graduate_count, graduate_name, departments, jobs, "
                    "is_current) VALUES (?, ?, 1, ?, '1', '{}', 1)",
                    (cid, cid, "第一届" + g["club_name"]))
        cur.execute("INSERT INTO t_student_club_graduate_relation "
                    "(stu_clu_gra_rel_id, graduate_id, student_id, status, "
                    "department_id, job_id, super_admin, is_del) "
                    "VALUES (?, ?, ?, 1, 1, 1, 0, 0)",
                    (cid, cid, MANY_USER))
    cur.execute("INSERT INTO t_token (uid, token, caller, create_date) "
                "VALUES (?, ?, ?, ?)",
                (MANY_USER, many_token(), CALLER, MANY_DATE))
    # routed messages in club 1 (the list-1 user's club) and his read mark,
    # so that list-1-msg reads a last message and counts unread ones
    for i in range(200):
        cur.execute("INSERT INTO t_im_message (msg_uid, club_id, from_user, "
                    "object_name, preview, msg_time) VALUES (?, 1, ?, "
                    "'RC:TxtMsg', ?, ?)", ("BENCH%d" % i, "im_user_id_%d" % (1 + i % 5),
                                           "消息 %d" % i, 1700000000000 + i * 1000))
    cur.execute("INSERT INTO t_im_group_state (club_id, last_msg_uid, "
                "last_content, last_date) VALUES (1, 'BENCH199', '消息 199', ?)",
                (1700000000000 + 199 * 1000,))
    cur.execute("INSERT INTO t_im_read_mark (user_id, club_id, read_time) "
                "VALUES ('im_user_id_%d', 1, ?)" % ONE_USER,
                (1700000000000 + 150 * 1000,))
    db.commit()
    mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    db.close()
    if mode.lower() != "wal":
        raise SetupError("SQLite refused WAL mode (%s)" % mode)


# ----------------------------------------------------------------------
# wrk scripts

def lua_str(b):
    """A Lua string literal with exactly these bytes."""
    out = []
    for c in b:
        if c in (0x22, 0x5c) or c < 0x20 or c > 0x7e:
            out.append("\\%03d" % c)
        else:
            out.append(chr(c))
    return '"' + "".join(out) + '"'


# done() prints one machine-readable line; response() is deliberately not
# defined (it would make wrk parse every answer and slow the client).
LUA_DONE = r'''
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCHJSON {\"requests\":%d,\"duration_us\":%d,\"bytes\":%d," ..
    "\"connect\":%d,\"read\":%d,\"write\":%d,\"status\":%d,\"timeout\":%d," ..
    "\"p50_us\":%d,\"p99_us\":%d,\"max_us\":%d}\n",
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50.0), latency:percentile(99.0), latency.max))
end
'''


def lua_single(comment, method, path, body):
    lines = ["-- " + comment, 'wrk.method = "%s"' % method,
             'wrk.path = "%s"' % path]
    if body is not None:
        lines += ['wrk.headers["Content-Type"] = "application/json"',
                  "wrk.body = " + lua_str(body)]
    return "\n".join(lines) + "\n" + LUA_DONE


def lua_mix(comment, reqs):
    lines = ["-- " + comment, "local bodies = {"]
    for path, body in reqs:
        lines.append('  {"%s", %s},' % (path, lua_str(body)))
    lines += ["}", "local reqs = {}", "local n = 0",
              "init = function(args)",
              "  for i, pb in ipairs(bodies) do",
              '    reqs[i] = wrk.format("POST", pb[1], '
              '{["Content-Type"] = "application/json"}, pb[2])',
              "  end", "end",
              "request = function()",
              "  n = n % #reqs + 1", "  return reqs[n]", "end"]
    return "\n".join(lines) + "\n" + LUA_DONE


# ----------------------------------------------------------------------
# processes

class Bench:
    def __init__(self, args):
        self.args = args
        self.mode = "quick" if args.quick else "default"
        self.s = dict(MODES[self.mode])
        if args.full:
            self.s.update(FULL_RSS)
        self.scratch = os.path.abspath(args.scratch)
        self.tree = os.path.abspath(args.tree)
        self.cores = os.cpu_count() or 1
        self.wrk_threads = max(1, min(self.cores, 4))
        self.httpd = args.httpd
        self.moddir = args.moddir
        self.procs = []            # Popen objects we started, for cleanup
        self.httpd_pidfile = os.path.join(self.scratch, "run", "httpd.pid")
        self.port = None
        self.rc_port = None
        self.as_user = {}
        if os.geteuid() == 0:
            pw = pwd.getpwnam(args.run_as)
            self.as_user = dict(user=pw.pw_uid, group=pw.pw_gid,
                                extra_groups=[])
        self.results = {}          # target -> list of per-round dicts
        self.failed = {}           # target -> reason
        self.notes = []
        self.t0 = time.time()

    # -- helpers -------------------------------------------------------

    def path(self, *parts):
        return os.path.join(self.scratch, *parts)

    def popen(self, cmd, log_name, as_user=True):
        logf = open(self.path("logs", log_name), "ab")
        env = dict(os.environ)
        env["HOME"] = self.scratch
        p = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=env,
                             cwd=self.scratch, start_new_session=True,
                             **(self.as_user if as_user else {}))
        logf.close()
        self.procs.append(p)
        return p

    def run(self, cmd, timeout, as_user=False, check=True):
        kw = self.as_user if as_user else {}
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=timeout,
                               stdin=subprocess.DEVNULL, cwd=self.scratch,
                               **kw)
        except subprocess.TimeoutExpired:
            raise SetupError("%s did not finish within %d s"
                             % (cmd[0], timeout))
        out = p.stdout.decode("utf-8", "replace")
        if check and p.returncode != 0:
            raise SetupError("%s failed (exit %d):\n%s"
                             % (" ".join(cmd), p.returncode, out[-3000:]))
        return out

    def chown_scratch(self):
        if not self.as_user:
            return
        for root, dirs, files in os.walk(self.scratch):
            for n in [root] + [os.path.join(root, f) for f in files]:
                try:
                    os.lchown(n, self.as_user["user"], self.as_user["group"])
                except OSError:
                    pass

    @staticmethod
    def free_port():
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        return port

    def wait_port(self, port, seconds, proc=None):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if proc is not None and proc.poll() is not None:
                return False
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                return True
            except OSError:
                time.sleep(0.1)
        return False

    # -- HTTP ----------------------------------------------------------

    def request(self, method, path, body=None, port=None, conn=None):
        own = conn is None
        if own:
            conn = http.client.HTTPConnection("127.0.0.1", port or self.port,
                                              timeout=30)
        headers = {"Content-Type": "application/json"} if body else {}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        ctype = resp.getheader("Content-Type")
        if own:
            conn.close()
        return resp.status, ctype, data

    def standin(self, what):
        st, _, data = self.request("GET", "/_control/" + what,
                                   port=self.rc_port)
        if st != 200:
            raise SetupError("stand-in /_control/%s: HTTP %d" % (what, st))
        return json.loads(data)

    def rc_count(self, api):
        return self.standin("count?path=" + api)["count"]

    # -- setup ---------------------------------------------------------

    def prepare(self):
        for d in ("run", "logs", "htdocs", "wrk", "cg", "conf"):
            os.makedirs(self.path(d), exist_ok=True)
        got = sign_md5_sha1({"user_id": "38", "token": ONE_TOKEN})
        if got != SIGN_VECTOR:
            raise SetupError("signature self-test: %s, protocol.md says %s"
                             % (got, SIGN_VECTOR))
        build_database(self.path("run", "weclubs.sqlite"),
                       os.path.join(self.tree, "sql", "sqlite"))
        self.bodies = {
            "list-1": ("/im/get_group_chat_list",
                       signed_body(ONE_USER, ONE_TOKEN, "bench-list-1")),
            "token-cached": ("/im/get_token",
                             signed_body(ONE_USER, ONE_TOKEN, "bench-token")),
            "list-50": ("/im/get_group_chat_list",
                        signed_body(MANY_USER, many_token(), "bench-list-50")),
        }
        self.bodies["list-1-msg"] = ("/im/get_group_chat_list",
                                     signed_body(ONE_USER, ONE_TOKEN,
                                                 "bench-list-1-msg"))
        self.bodies["const"] = ("/const", self.bodies["list-1"][1])
        self.bodies["static"] = ("/static/list-1.json", None)
        for name, what in TARGETS:
            p, body = self.bodies[name]
            with open(self.path("wrk", name + ".lua"), "w") as f:
                f.write(lua_single("%s: %s" % (name, what),
                                   "GET" if body is None else "POST", p, body))
        with open(self.path("wrk", "mix.lua"), "w") as f:
            f.write(lua_mix("RSS phase: list-1, token-cached, list-50 in turn",
                            [self.bodies[n] for n in
                             ("list-1", "token-cached", "list-50")]))
        # placeholders until the real answer is captured
        for f in ("htdocs/static/list-1.json", "run/const.json"):
            os.makedirs(os.path.dirname(self.path(f)), exist_ok=True)
            with open(self.path(f), "wb") as fh:
                fh.write(b"{}")
        self.port = self.free_port()
        self.msg_port = self.free_port()

    def target_port(self, name):
        """list-1-msg is served by a virtual host of its own."""
        return self.msg_port if name == "list-1-msg" else self.port

    def start_standin(self):
        script = os.path.join(self.tree, "t", "rongcloud_standin.py")
        portfile = self.path("run", "standin.port")
        self.chown_scratch()
        self.standin_proc = self.popen(
            [self.args.python, script, "--listen", "127.0.0.1:0",
             "--port-file", portfile, "--app-key", RC_APP_KEY,
             "--app-secret", RC_APP_SECRET,
             "--log", self.path("logs", "standin.log")], "standin.out")
        deadline = time.time() + 15
        while time.time() < deadline and not os.path.exists(portfile):
            if self.standin_proc.poll() is not None:
                break
            time.sleep(0.1)
        if not os.path.exists(portfile):
            raise SetupError("the RongCloud stand-in did not start (see %s)"
                             % self.path("logs", "standin.out"))
        with open(portfile) as f:
            self.rc_port = int(f.read().strip())

    def write_conf(self, name="httpd.conf"):
        m = self.moddir
        mpm = "\n".join("%s %d" % kv for kv in MPM.items())
        conf = f"""# Generated by bench/bench.py: the benchmark's hermetic httpd.
ServerRoot "{self.scratch}"
ServerName 127.0.0.1
Listen 127.0.0.1:{self.port}
Listen 127.0.0.1:{self.msg_port}
PidFile "{self.httpd_pidfile}"
DefaultRuntimeDir "{self.path('run')}"
ErrorLog "{self.path('logs', 'error_log')}"
LogLevel warn
<IfModule !mpm_event_module>
  LoadModule mpm_event_module {m}/mod_mpm_event.so
</IfModule>
<IfModule !authz_core_module>
  LoadModule authz_core_module {m}/mod_authz_core.so
</IfModule>
<IfModule !unixd_module>
  LoadModule unixd_module {m}/mod_unixd.so
</IfModule>
<IfModule !socache_shmcb_module>
  LoadModule socache_shmcb_module {m}/mod_socache_shmcb.so
</IfModule>
<IfModule !dbd_module>
  LoadModule dbd_module {m}/mod_dbd.so
</IfModule>
LoadModule weclubs_im_module "{self.args.module}"
LoadModule bench_const_module "{self.args.const_module}"

{mpm}
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 5
Timeout 30
# no access log: the same for every target, and no disk writes

DocumentRoot "{self.path('htdocs')}"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory "{self.path('htdocs')}">
    Require all granted
</Directory>
<Location /static>
    ForceType "application/json;charset=UTF-8"
</Location>

DBDriver sqlite3
DBDParams "{self.path('run', 'weclubs.sqlite')}"
DBDInitSQL "PRAGMA busy_timeout=5000"
DBDPersist On
DBDMin {DBD_CONNS}
DBDKeep {DBD_CONNS}
DBDMax {DBD_CONNS}

WeclubsIMSignSecret {SIGN_SECRET}
WeclubsIMSignForms md5-sha1 sha1
WeclubsIMTokenLifetime off
WeclubsIMRongCloudAppKey {RC_APP_KEY}
WeclubsIMRongCloudAppSecret {RC_APP_SECRET}
WeclubsIMRongCloudURL http://127.0.0.1:{self.rc_port}
WeclubsIMGroupSync On
<Location /im>
    SetHandler weclubs-im
</Location>
# list-1-msg: the same, with message routing's last message and unread count
<VirtualHost 127.0.0.1:{self.msg_port}>
    WeclubsIMMessages On
</VirtualHost>

BenchConstFile "{self.path('run', 'const.json')}"
<Location /const>
    SetHandler bench-const
</Location>
# the callgrind run's part separator (answers 204)
<Location /bench-mark>
    SetHandler bench-mark
</Location>
"""
        with open(self.path("conf", name), "w") as f:
            f.write(conf)
        return self.path("conf", name)

    def start_httpd(self):
        conf = self.write_conf()
        self.chown_scratch()
        self.run([self.httpd, "-t", "-f", conf], 30, as_user=True)
        if os.path.exists(self.httpd_pidfile):
            os.unlink(self.httpd_pidfile)
        self.run([self.httpd, "-f", conf, "-k", "start"], 30, as_user=True)
        if not self.wait_port(self.port, 20):
            raise SetupError("httpd did not listen on port %d (see %s)"
                             % (self.port, self.path("logs", "error_log")))
        deadline = time.time() + 10
        while time.time() < deadline and not os.path.exists(self.httpd_pidfile):
            time.sleep(0.1)
        with open(self.httpd_pidfile) as f:
            self.httpd_pid = int(f.read().strip())
        # every child up before anything is measured
        deadline = time.time() + 10
        while time.time() < deadline and \
                len(self.children()) < MPM["StartServers"]:
            time.sleep(0.1)

    def stop_httpd(self):
        pid = getattr(self, "httpd_pid", None)
        if not pid:
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            log("httpd %d did not stop in 20 s: SIGKILL" % pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.httpd_pid = None
        # the port must be free again for the next server
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                time.sleep(0.1)
            except OSError:
                break

    def children(self):
        out = subprocess.run(["ps", "-o", "pid=,rss=", "--ppid",
                              str(self.httpd_pid)], stdout=subprocess.PIPE,
                             timeout=10).stdout.decode()
        kids = {}
        for line in out.split("\n"):
            parts = line.split()
            if len(parts) == 2:
                kids[int(parts[0])] = int(parts[1])
        return kids

    def cleanup(self):
        try:
            self.stop_httpd()
        except Exception as exc:       # cleanup must go on
            log("stopping httpd: %s" % exc)
        for p in self.procs:
            if p.poll() is None:
                try:
                    p.terminate()
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
                except ProcessLookupError:
                    pass

    # -- answers -------------------------------------------------------

    def module_answer(self, name, conn=None):
        p, body = self.bodies[name]
        st, ctype, data = self.request("POST", p, body,
                                       port=self.target_port(name), conn=conn)
        if st != 200:
            raise ValueError("HTTP %d: %r" % (st, data[:200]))
        if ctype != "application/json;charset=UTF-8":
            raise ValueError("Content-Type %r" % ctype)
        doc = json.loads(data)
        if doc.get("result_code") != 2000:
            raise ValueError("result_code %r (%s)" % (doc.get("result_code"),
                                                       doc.get("result_msg")))
        if doc.get("result_msg") != "请求成功":
            raise ValueError("result_msg %r" % doc.get("result_msg"))
        if not isinstance(doc.get("sys_time"), int):
            raise ValueError("no sys_time")
        return data, doc

    def capture_answer(self):
        """Phase A: the real list-1 answer becomes the static file and the
        constant handler's answer."""
        data, doc = self.module_answer("list-1")
        if doc["data"] != expected_list(ONE_GROUPS):
            raise SetupError("list-1 answer is not the expected one: %s"
                             % data.decode("utf-8", "replace"))
        self.answer = data
        for f in ("htdocs/static/list-1.json", "run/const.json"):
            with open(self.path(f), "wb") as fh:
                fh.write(data)

    @staticmethod
    def without_time(b):
        return re.sub(rb'"sys_time":\d+', b'"sys_time":0', b)

    def check_targets(self):
        """Each target's answer before timing it; a wrong one is failed."""
        def fail(name, why):
            self.failed[name] = why
            log("check %s: FAILED: %s" % (name, why))

        syncs0 = self.rc_count("/group/sync.json")

        st, ctype, data = self.request("GET", "/static/list-1.json")
        if st != 200 or data != self.answer:
            fail("static", "HTTP %d, %d bytes, not the captured answer"
                 % (st, len(data)))
        elif (ctype or "").lower() != "application/json;charset=utf-8":
            # ForceType lower-cases the value; the type is the same
            fail("static", "Content-Type %r" % ctype)
        st, ctype, data = self.request("POST", "/const",
                                       self.bodies["const"][1])
        if st != 200 or data != self.answer:
            fail("const", "HTTP %d, %d bytes, not the captured answer"
                 % (st, len(data)))
        try:
            data, doc = self.module_answer("list-1")
            if doc["data"] != expected_list(ONE_GROUPS):
                raise ValueError("data %s" % json.dumps(doc["data"]))
            if self.without_time(data) != self.without_time(self.answer):
                raise ValueError("bytes differ from the captured answer")
        except (ValueError, OSError, http.client.HTTPException) as exc:
            fail("list-1", str(exc))
        try:
            data, doc = self.module_answer("list-50")
            if doc["data"] != expected_list(many_groups()):
                raise ValueError("data is not the expected 50 groups: %s"
                                 % data[:300].decode("utf-8", "replace"))
        except (ValueError, OSError, http.client.HTTPException) as exc:
            fail("list-50", str(exc))
        try:
            data, doc = self.module_answer("list-1-msg")
            item = doc["data"]["group_chat_list"][0]
            if (item.get("last_msg_content") != "消息 199"
                    or item.get("fresh_msg_count") != 49
                    or item.get("last_msg_date") != 1700000199000):
                raise ValueError("no last message / unread count: %s"
                                 % json.dumps(item, ensure_ascii=False))
        except (ValueError, KeyError, IndexError, TypeError, OSError,
                http.client.HTTPException) as exc:
            fail("list-1-msg", str(exc))
        # token: the first call asks RongCloud, the next ones must not
        try:
            before = self.rc_count("/user/getToken.json")
            _, doc = self.module_answer("token-cached")
            token = doc["data"]["im_token"]
            for _ in range(3):
                _, doc2 = self.module_answer("token-cached")
                if doc2["data"] != {"im_token": token}:
                    raise ValueError("token changed: %r then %r"
                                     % (token, doc2["data"]))
            calls = self.rc_count("/user/getToken.json") - before
            if calls > 1:
                raise ValueError("%d RongCloud getToken calls for 4 requests:"
                                 " the token is not cached" % calls)
            if not token.startswith("tok-im_user_id_%d-" % ONE_USER):
                raise ValueError("im_token %r is not the stand-in's" % token)
            self.im_token = token
        except (ValueError, KeyError, TypeError, OSError,
                http.client.HTTPException) as exc:
            fail("token-cached", str(exc))
        # the group syncs of both users happen after their first answers:
        # let them finish, so that no later request finds them missing
        deadline = time.time() + 10
        while time.time() < deadline and \
                self.rc_count("/group/sync.json") < syncs0 + 2:
            time.sleep(0.1)
        time.sleep(0.2)

    # -- CPU accounting --------------------------------------------------

    @staticmethod
    def machine_busy():
        """Seconds of CPU time the whole machine has been busy."""
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + (v[4] if len(v) > 4 else 0)
        return (sum(v[:8]) - idle) / os.sysconf("SC_CLK_TCK")

    def httpd_cpu(self):
        """Seconds of CPU time used by httpd (parent and children)."""
        total = 0.0
        pids = [self.httpd_pid] + list(self.children())
        for pid in pids:
            try:
                with open("/proc/%d/stat" % pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            except (OSError, IndexError, ValueError):
                pass
        return total / os.sysconf("SC_CLK_TCK")

    # -- wrk -----------------------------------------------------------

    def wrk(self, script, seconds, connections=CONNECTIONS):
        cmd = ["wrk", "-t", str(self.wrk_threads), "-c", str(connections),
               "-d", "%ds" % seconds, "--timeout", "5s", "-s",
               self.path("wrk", script), "http://127.0.0.1:%d"
               % self.target_port(script[:-4])]
        busy0, httpd0 = self.machine_busy(), self.httpd_cpu()
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.time()
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=seconds + 60,
                               cwd=self.scratch)
        except subprocess.TimeoutExpired:
            raise SetupError("wrk did not finish within %d s" % (seconds + 60))
        elapsed = time.time() - t0
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy = self.machine_busy() - busy0
        httpd = self.httpd_cpu() - httpd0
        wrk_cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
        out = p.stdout.decode("utf-8", "replace")
        m = re.search(r"^BENCHJSON (\{.*\})$", out, re.M)
        if p.returncode != 0 or not m:
            raise SetupError("wrk failed (exit %d):\n%s" % (p.returncode, out))
        r = json.loads(m.group(1))
        r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
        r["errors"] = sum(r[k] for k in ("connect", "read", "write",
                                         "status", "timeout"))
        # cores kept busy by httpd, by wrk, and by anything else
        r["httpd_cores"] = httpd / elapsed
        r["wrk_cores"] = wrk_cpu / elapsed
        r["other_cores"] = max(0.0, busy - httpd - wrk_cpu) / elapsed
        return r

    @staticmethod
    def error_text(r):
        return ", ".join("%s %d" % (k, r[k]) for k in
                         ("status", "connect", "read", "write", "timeout")
                         if r[k]) + (" (status = non-2xx/3xx answers)"
                                     if r["status"] else "")

    def throughput(self):
        s = self.s
        rc0 = self.rc_calls()
        live = [n for n in TARGET_NAMES if n not in self.failed]
        log("warm-up: %d s per target" % s["warmup"])
        for name in live:
            r = self.wrk(name + ".lua", s["warmup"])
            if r["errors"]:
                self.failed[name] = "warm-up: " + self.error_text(r)
        for rnd in range(s["rounds"]):
            order = TARGET_NAMES[rnd % len(TARGET_NAMES):] + \
                TARGET_NAMES[:rnd % len(TARGET_NAMES)]
            for name in order:
                if name in self.failed:
                    continue
                r = self.wrk(name + ".lua", s["duration"])
                if r["errors"]:
                    self.failed[name] = "round %d: %s" % (rnd + 1,
                                                          self.error_text(r))
                    continue
                self.results.setdefault(name, []).append(r)
            log("round %d/%d: %s" % (rnd + 1, s["rounds"], "  ".join(
                "%s %.0f" % (n, self.results[n][-1]["rps"])
                for n in TARGET_NAMES if n in self.results
                and n not in self.failed)))
        rc1 = self.rc_calls()
        self.rc_rounds = {k: rc1[k] - rc0[k] for k in RC_APIS}

    # -- RSS -----------------------------------------------------------

    def rc_calls(self):
        return {api: self.rc_count(api) for api in RC_APIS}

    def rss_phase(self):
        """A short burst with more connections than httpd has threads, so
        that every worker thread and every DB connection has been used
        (their caches and pools reach their high-water marks: that is
        warm-up, not a leak); then the mix at the benchmark's 32
        connections, RSS sampled at the baseline count and at four more
        points up to the end count."""
        s = self.s
        rc0 = self.rc_calls()
        burst_c = MPM["MaxRequestWorkers"] + 16
        self.rss = dict(base_at=s["rss_base"], end_at=s["rss_end"],
                        errors=0, done=0, base=None, end=None, trace=[])
        deadline = time.time() + s["rss_time"]
        total, rate = 0, None

        def drive(upto):
            nonlocal total, rate
            while total < upto and time.time() < deadline:
                left = upto - total
                secs = 2 if rate is None else \
                    max(1, min(10, int(left / rate + 0.999)))
                secs = max(1, min(secs, int(deadline - time.time())))
                r = self.wrk("mix.lua", secs)
                total += r["requests"]
                rate = r["rps"]
                self.rss["errors"] += r["errors"]
            return total >= upto

        log("RSS: %d s burst at %d connections, then the list-1/token-cached/"
            "list-50 mix at %d up to %d requests, RSS sampled from %d on"
            % (s["rss_burst"], burst_c, CONNECTIONS, s["rss_end"],
               s["rss_base"]))
        r = self.wrk("mix.lua", s["rss_burst"], connections=burst_c)
        total += r["requests"]
        # with more connections than threads the event MPM closes idle
        # keep-alive connections, so socket errors are expected here; a
        # non-2xx answer is not
        self.rss["burst"] = dict(connections=burst_c, requests=r["requests"],
                                 seconds=s["rss_burst"], status=r["status"],
                                 socket=r["errors"] - r["status"])
        self.rss["errors"] += r["status"]
        if drive(max(s["rss_base"], total + 1)):
            self.rss["base"] = self.children()
            self.rss["base_count"] = total
            self.rss["trace"].append((total, self.rss["base"]))
            base = total
            for k in range(1, 5):
                if not drive(base + (s["rss_end"] - base) * k // 4):
                    break
                self.rss["trace"].append((total, self.children()))
            else:
                self.rss["end"] = self.rss["trace"][-1][1]
        self.rss["done"] = total
        self.rss["rate"] = rate
        rc1 = self.rc_calls()
        self.rss["rc"] = {k: rc1[k] - rc0[k] for k in RC_APIS}

    # -- callgrind -----------------------------------------------------

    def callgrind(self):
        """httpd -X under callgrind, everything collected; a request to the
        marker handler before each sequence makes callgrind dump a part,
        so part k+1 holds exactly the k-th target's N requests."""
        n = self.s["cg_requests"]
        cgdir = self.path("cg")
        out = os.path.join(cgdir, "callgrind.out")
        conf = self.path("conf", "httpd.conf")
        cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
               "--dump-before=bench_mark_handler", "--dump-instr=no",
               self.httpd, "-X", "-f", conf]
        log("callgrind: httpd -X under valgrind, %d requests per target" % n)
        self.chown_scratch()
        p = self.popen(cmd, "valgrind.log")
        if not self.wait_port(self.port, 120, p):
            raise SetupError("httpd under valgrind did not start (see %s)"
                             % self.path("logs", "valgrind.log"))
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        msg_conn = http.client.HTTPConnection("127.0.0.1", self.msg_port,
                                              timeout=60)

        def send(name):
            path, body = self.bodies[name]
            if body is None:
                st, _, data = self.request("GET", path, conn=conn)
                if st != 200:
                    raise SetupError("callgrind run: %s answered %d"
                                     % (name, st))
            elif name == "const":
                st, _, data = self.request("POST", path, body, conn=conn)
                if st != 200 or data != self.answer:
                    raise SetupError("callgrind run: const answered %d" % st)
            else:
                try:
                    self.module_answer(name, conn=msg_conn
                                       if name == "list-1-msg" else conn)
                except ValueError as exc:
                    raise SetupError("callgrind run: %s: %s" % (name, exc))

        def marker():
            st, _, _ = self.request("GET", "/bench-mark", conn=conn)
            if st != 204:
                raise SetupError("marker request answered %d" % st)

        try:
            # warm-up: connections, prepared statements, token cache, syncs
            for name in TARGET_NAMES:
                for _ in range(3):
                    send(name)
            for name in TARGET_NAMES:
                marker()              # dumps the previous part
                for _ in range(n):
                    send(name)
            marker()
        finally:
            conn.close()
            msg_conn.close()
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)
        parts = {}
        for f in os.listdir(cgdir):
            full = os.path.join(cgdir, f)
            with open(full, errors="replace") as fh:
                head = fh.read(4096)
            m = re.search(r"^part: (\d+)", head, re.M)
            if m:
                parts[int(m.group(1))] = full
        self.cg = {}
        for i, name in enumerate(TARGET_NAMES, start=2):
            if i not in parts:
                raise SetupError("callgrind part %d missing in %s" % (i, cgdir))
            self.cg[name] = self.annotate(parts[i], n)

    def annotate(self, path, n):
        """Per-request figures of one callgrind part: everything httpd
        executed, the handler's inclusive Ir, the module's functions
        (inclusive), the hottest functions (self), self cost by library."""
        incl, objs, total = self.parse_annotate(self.run(
            ["callgrind_annotate", "--inclusive=yes", "--auto=no",
             "--threshold=100", path], 120), max)
        excl, objs2, _ = self.parse_annotate(self.run(
            ["callgrind_annotate", "--inclusive=no", "--auto=no",
             "--threshold=100", path], 120), lambda a, b: a + b)
        for k, v in objs2.items():
            objs.setdefault(k, v)
        # callgrind_annotate charges the whole part, as self cost, to the
        # frames that were on the stack when the part was dumped (thread
        # start, the MPM's worker loop): an artifact of --dump-before.
        excl = {f: v for f, v in excl.items() if v < 0.99 * total}
        groups = {}
        for f, v in excl.items():
            g = self.object_group(objs.get(f, ""))
            groups[g] = groups.get(g, 0) + v
        own = {f: v for f, v in incl.items()
               if objs.get(f) == "mod_weclubs_im.so"}
        return dict(n=n, total=total / n,
                    handler=incl.get("wcim_handler", 0) / n,
                    log_tx=incl.get("wcim_after_answer", 0) / n,
                    own={f: v / n for f, v in own.items()},
                    top_excl=[(f, objs.get(f, ""), v / n) for f, v in
                              sorted(excl.items(), key=lambda kv: -kv[1])[:12]],
                    groups={g: v / n for g, v in groups.items()})

    @staticmethod
    def parse_annotate(text, merge):
        """callgrind_annotate's function table: {function: Ir}, with the
        entries of code inlined from other files merged by `merge`,
        {function: object}, and the program total."""
        rows, objs, total, in_table = {}, {}, 0, False
        for line in text.split("\n"):
            m = re.match(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S.*?)\s*$",
                         line)
            if not m:
                if in_table and not line.strip():
                    break               # the table ends with a blank line
                continue
            ir = int(m.group(1).replace(",", ""))
            rest = m.group(2)
            if rest == "PROGRAM TOTALS":
                total = ir
                continue
            in_table = True
            om = re.match(r"^(.*?)(?: \[(.*)\])?$", rest)
            fn, obj = om.group(1), om.group(2) or ""
            fn = fn.split(":", 1)[1] if ":" in fn else fn
            rows[fn] = merge(rows[fn], ir) if fn in rows else ir
            if obj:
                objs.setdefault(fn, os.path.basename(obj))
        return rows, objs, total

    @staticmethod
    def object_group(obj):
        for pat, name in (("mod_weclubs_im", "mod_weclubs_im.so"),
                          ("sqlite", "SQLite"), ("jansson", "jansson"),
                          ("aprutil", "apr-util (+apr_dbd)"),
                          ("apr_dbd", "apr-util (+apr_dbd)"),
                          ("libapr-", "APR"), ("libc.", "libc"),
                          ("libc-", "libc"), ("ld-linux", "ld.so"),
                          ("apache2", "httpd"), ("mod_", "httpd modules"),
                          ("curl", "libcurl")):
            if pat in obj:
                return name
        return obj or "?"

    # -- report --------------------------------------------------------

    def machine(self):
        model = "?"
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith("model name"):
                        model = line.split(":", 1)[1].strip()
                        break
        except OSError:
            pass
        try:
            with open("/proc/meminfo") as f:
                mem = int(f.readline().split()[1]) // 1024
        except (OSError, ValueError, IndexError):
            mem = 0
        ver = self.run([self.httpd, "-v"], 10, check=False).split("\n")[0]
        ver = ver.replace("Server version: ", "")
        wrkv = self.run(["wrk", "-v"], 10, check=False).split("\n")[0]
        wrkv = wrkv.split(" Copyright")[0]
        return dict(cores=self.cores, model=model, mem_mb=mem,
                    kernel=platform.release(), httpd=ver, wrk=wrkv,
                    valgrind=self.run(["valgrind", "--version"], 10,
                                      check=False).strip())

    @staticmethod
    def med(rs, key):
        return statistics.median(r[key] for r in rs)

    def report(self):
        s, L = self.s, []
        mach = self.machine()
        now = datetime.datetime.now().astimezone()
        L.append("# mod_weclubs_im benchmark")
        L.append("")
        L.append("- date: %s" % now.strftime("%Y-%m-%d %H:%M:%S %z"))
        L.append("- module: %s" % self.args.module_desc)
        L.append("- machine: %d cores (%s), %d MiB, Linux %s"
                 % (mach["cores"], mach["model"], mach["mem_mb"],
                    mach["kernel"]))
        L.append("- software: %s, %s, %s" % (mach["httpd"], mach["wrk"],
                                             mach["valgrind"]))
        L.append("- mode: %s%s; wrk -t%d -c%d, %d s per run, %d round(s) in "
                 "alternation (order rotated each round), %d s warm-up per "
                 "target; median per target"
                 % (self.mode, " --full" if self.args.full else "",
                    self.wrk_threads, CONNECTIONS, s["duration"], s["rounds"],
                    s["warmup"]))
        L.append("- httpd: event MPM, %s; KeepAlive On, "
                 "MaxKeepAliveRequests 0, no access log; client and server "
                 "share the machine's cores over 127.0.0.1"
                 % ", ".join("%s %d" % kv for kv in MPM.items()))
        L.append("- module: SQLite (WAL) via mod_dbd, DBDPersist On, "
                 "DBDMin/Keep/Max %d, busy_timeout 5000; "
                 "WeclubsIMTokenLifetime off; WeclubsIMGroupSync On; token "
                 "cache on shmcb (default); RongCloud stand-in on loopback"
                 % DBD_CONNS)
        L.append("- data: list-1 = user %d (1 club), token-cached = user %d "
                 "(token warmed before timing), list-50 = user %d (%d "
                 "approved clubs); answers %d bytes (list-1), %d bytes "
                 "(list-50)" % (ONE_USER, ONE_USER, MANY_USER, MANY_CLUBS,
                                len(self.answer), self.list50_len))
        L.append("")
        L.append("## Throughput")
        L.append("")
        L.append("| target | req/s | p50 ms | p99 ms | httpd cores | "
                 "wrk cores | other cores | runs | status |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|---|")
        med, other = {}, 0.0
        for name in TARGET_NAMES:
            rs = self.results.get(name, [])
            if name in self.failed or not rs:
                L.append("| %s | – | – | – | – | – | – | %d | FAILED: %s |"
                         % (name, len(rs),
                            self.failed.get(name, "no result")))
                continue
            med[name] = self.med(rs, "rps")
            L.append("| %s | %.0f | %.2f | %.2f | %.2f | %.2f | %.2f | %d | ok |"
                     % (name, med[name], self.med(rs, "p50_us") / 1000,
                        self.med(rs, "p99_us") / 1000,
                        self.med(rs, "httpd_cores"), self.med(rs, "wrk_cores"),
                        self.med(rs, "other_cores"), len(rs)))
            other = max(other, max(r["other_cores"] for r in rs))
        L.append("")
        L.append("Medians over the rounds. Cores: CPU time over wall time "
                 "during the runs, of httpd, of wrk, and of everything else "
                 "on the machine (%d cores in all)." % self.cores)
        if other > 0.15:
            L.append("")
            L.append("**The machine was not idle**: other processes used up "
                     "to %.2f cores during a run; req/s and ratios are less "
                     "reliable, see the per-round table (callgrind counts "
                     "are not affected)." % other)
        L.append("")
        L.append("| ratio | value | target | verdict |")
        L.append("|---|---:|---:|---|")
        for a, b, goal in (("list-1", "static", 1.0),
                           ("token-cached", "static", 1.0),
                           ("list-50", "list-1", 0.8),
                           ("list-1-msg", "list-1", 0.8),
                           ("list-1", "const", None),
                           ("token-cached", "const", None),
                           ("static", "const", None)):
            if a in med and b in med:
                v = med[a] / med[b]
                verdict = "info" if goal is None else \
                    ("PASS" if v >= goal else "FAIL")
                L.append("| %s / %s | %.2fx | %s | %s |"
                         % (a, b, v, "–" if goal is None else
                            ">= %.1fx" % goal, verdict))
            else:
                L.append("| %s / %s | – | %s | FAILED (no figure) |"
                         % (a, b, "–" if goal is None else ">= %.1fx" % goal))
        L.append("")
        L.append("Per round, req/s (each round starts one target later than "
                 "the one before):")
        L.append("")
        L.append("| round | " + " | ".join(TARGET_NAMES) + " |")
        L.append("|---|" + "---:|" * len(TARGET_NAMES))
        for i in range(s["rounds"]):
            cells = []
            for n in TARGET_NAMES:
                rs = self.results.get(n, [])
                cells.append("%.0f" % rs[i]["rps"] if i < len(rs) else "–")
            L.append("| %d | %s |" % (i + 1, " | ".join(cells)))
        L.append("")
        L.append("RongCloud stand-in calls (getToken, user/refresh, "
                 "group/sync; 0 expected, the data does not change): %s "
                 "during the timed rounds, %s during the RSS run."
                 % ("/".join(str(self.rc_rounds[k]) for k in RC_APIS),
                    "/".join(str(self.rss["rc"][k]) for k in RC_APIS)))
        L.append("")

        L.append("## Instructions per request (callgrind)")
        L.append("")
        cg = self.cg
        mods = ("list-1", "token-cached", "list-50")
        L.append("instructions per request: %s" % ", ".join(
            "%s=%d" % (k.replace("token-cached", "token"), cg[k]["handler"])
            for k in mods))
        L.append("")
        L.append("That is the inclusive Ir of `wcim_handler` (body read, "
                 "checks, SQL, JSON, the answer written down httpd's output "
                 "filters), averaged over %d requests of each target after a "
                 "warm-up, httpd -X under callgrind, one keep-alive "
                 "connection. \"whole request\" is everything httpd executed "
                 "per request in user space (request parsing, hooks, "
                 "filters, the event loop; not the kernel)."
                 % cg["list-1"]["n"])
        L.append("")
        L.append("| | " + " | ".join(TARGET_NAMES) + " |")
        L.append("|---|" + "---:|" * len(TARGET_NAMES))
        L.append("| whole request, Ir | %s |" % " | ".join(
            "%d" % cg[k]["total"] for k in TARGET_NAMES))
        L.append("| wcim_handler, Ir | %s |" % " | ".join(
            "%d" % cg[k]["handler"] if k in mods else "–"
            for k in TARGET_NAMES))
        L.append("| wcim_after_answer, Ir | %s |" % " | ".join(
            "%d" % cg[k]["log_tx"] if k in mods else "–"
            for k in TARGET_NAMES))
        L.append("| whole request / const | %s |" % " | ".join(
            "%.2fx" % (cg[k]["total"] / cg["const"]["total"])
            for k in TARGET_NAMES))
        L.append("")
        L.append("Self cost by library, Ir per request:")
        L.append("")
        libs = sorted({g for k in TARGET_NAMES for g in cg[k]["groups"]},
                      key=lambda g: -cg["list-1"]["groups"].get(g, 0))
        L.append("| library | " + " | ".join(TARGET_NAMES) + " |")
        L.append("|---|" + "---:|" * len(TARGET_NAMES))
        for g in libs:
            if max(cg[k]["groups"].get(g, 0) for k in TARGET_NAMES) < 50:
                continue
            L.append("| %s | %s |" % (g, " | ".join(
                "%d" % cg[k]["groups"].get(g, 0) for k in TARGET_NAMES)))
        L.append("")
        L.append("The module's functions, inclusive Ir per request (those "
                 "over 1000):")
        L.append("")
        names = sorted({f for k in mods for f, v in cg[k]["own"].items()
                        if v >= 1000},
                       key=lambda f: -max(cg[k]["own"].get(f, 0)
                                          for k in mods))
        L.append("| function | list-1 | token-cached | list-50 |")
        L.append("|---|---:|---:|---:|")
        for f in names:
            L.append("| %s | %s |" % (f, " | ".join(
                "%d" % cg[k]["own"][f] if f in cg[k]["own"] else "–"
                for k in mods)))
        for k in mods:
            L.append("")
            L.append("Hottest functions (self Ir per request), %s:" % k)
            L.append("")
            L.append("| self | function | library |")
            L.append("|---:|---|---|")
            for f, obj, v in cg[k]["top_excl"]:
                L.append("| %d | %s | %s |" % (v, f, obj or "?"))
        L.append("")

        L.append("## Memory (RSS of each httpd child)")
        L.append("")
        rss = self.rss
        verdict = "FAIL"
        bu = rss["burst"]
        L.append("Warm-up: %d s at %d connections (more than httpd's %d "
                 "threads, so every thread and DB connection is used once; "
                 "%d requests, %d non-2xx, %d socket errors, expected at "
                 "that concurrency). Then the list-1/token-cached/list-50 "
                 "mix at %d connections; RSS (ps -o rss) in KiB at the "
                 "request counts since the server started; limit %.0f%% "
                 "from the first sample to the last."
                 % (bu["seconds"], bu["connections"],
                    MPM["MaxRequestWorkers"], bu["requests"], bu["status"],
                    bu["socket"], CONNECTIONS, RSS_LIMIT_PCT))
        L.append("")
        if rss["trace"]:
            pids = sorted({p for _, kids in rss["trace"] for p in kids})
            L.append("| child pid | " + " | ".join(
                "%dk" % (n // 1000) for n, _ in rss["trace"]) + " | change |")
            L.append("|---:|" + "---:|" * (len(rss["trace"]) + 1))
            ok = rss["end"] is not None
            for pid in pids:
                vals = [kids.get(pid) for _, kids in rss["trace"]]
                b, e = vals[0], vals[-1]
                if b is None or e is None:
                    ok = False
                    change = "child %s" % ("appeared" if b is None else "gone")
                else:
                    pct = 100.0 * (e - b) / b
                    ok = ok and abs(pct) <= RSS_LIMIT_PCT
                    change = "%+.1f%%" % pct
                L.append("| %d | %s | %s |" % (pid, " | ".join(
                    "%d" % v if v is not None else "–" for v in vals), change))
            if rss["errors"]:
                ok = False
                L.append("")
                L.append("wrk reported %d errors during the RSS run."
                         % rss["errors"])
            verdict = "PASS" if ok else "FAIL"
        if rss["end"] is None:
            L.append("")
            L.append("RSS run incomplete: %d of %d requests within %d s."
                     % (rss["done"], rss["end_at"], s["rss_time"]))
            verdict = "FAIL"
        L.append("")
        L.append("RSS check: %s" % verdict)
        self.rss_verdict = verdict
        L.append("")
        errs = self.error_log_summary()
        L.append("httpd error_log: %s" % errs)
        L.append("")
        L.append("Run took %.0f s (bench.py part)." % (time.time() - self.t0))
        return "\n".join(L) + "\n"

    def error_log_summary(self):
        """Lines of error level or worse in httpd's error_log, by module."""
        try:
            with open(self.path("logs", "error_log"), errors="replace") as f:
                lines = f.read().split("\n")
        except OSError:
            return "not found"
        by, first = {}, {}
        for ln in lines:
            m = re.search(r"\[(\w+):(error|crit|alert|emerg)\]", ln)
            if m:
                by[m.group(1)] = by.get(m.group(1), 0) + 1
                first.setdefault(m.group(1), ln[:240])
        if not by:
            return "no error-level lines"
        out = ["%d error-level lines from %s, e.g. `%s`" % (n, mod, first[mod])
               for mod, n in sorted(by.items())]
        if "mpm_event" in by:
            out.append("(mpm_event's complaints about busy workers come from "
                       "the RSS warm-up burst, which uses more connections "
                       "than there are threads on purpose)")
        return "; ".join(out)

    # -- main ----------------------------------------------------------

    def main(self):
        log("scratch %s, mode %s, %d cores" % (self.scratch, self.mode,
                                               self.cores))
        self.prepare()
        self.start_standin()
        log("phase A: capture a real list-1 answer")
        self.start_httpd()
        try:
            self.capture_answer()
        except (ValueError, OSError, http.client.HTTPException) as exc:
            raise SetupError("list-1 capture: %s" % exc)
        self.stop_httpd()
        log("phase B: httpd with the static copy and the constant handler")
        self.start_httpd()
        self.check_targets()
        try:
            self.list50_len = len(self.module_answer("list-50")[0])
        except (ValueError, OSError, http.client.HTTPException):
            self.list50_len = 0
        self.rss_phase()
        self.throughput()
        self.stop_httpd()
        self.callgrind()
        text = self.report()
        print(text, flush=True)
        with open(self.args.results, "w") as f:
            f.write(text)
        log("written to %s" % self.args.results)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tree", required=True)
    ap.add_argument("--module", required=True)
    ap.add_argument("--module-desc", default="")
    ap.add_argument("--const-module", required=True)
    ap.add_argument("--scratch", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--httpd", required=True)
    ap.add_argument("--moddir", required=True)
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--run-as", default="nobody")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--full", action="store_true")
    args = ap.parse_args()
    b = Bench(args)
    status = 0

    def on_term(signum, frame):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_term)
    try:
        b.main()
    except SetupError as exc:
        log("setup failure: %s" % exc)
        status = 2
    except KeyboardInterrupt:
        log("interrupted")
        status = 130
    finally:
        b.cleanup()
    return status


if __name__ == "__main__":
    sys.exit(main())
