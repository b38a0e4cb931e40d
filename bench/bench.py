#!/usr/bin/python3
"""The mod_weclubs_im benchmark driver, started by bench/run.sh (read its
header first: it says what is measured and how to read the numbers).

run.sh builds the module and the constant-answer module, then calls

    bench.py --tree BUILT_TREE --module SO --const-module SO
             --scratch DIR --results FILE --httpd BIN --moddir DIR
             [--quick] [--full]

which, all inside DIR and on 127.0.0.1 only:

 1. builds the SQLite database (schema, demo data, the 50-club user, the
    20,000-student campus) and the signed request bodies, and writes the
    wrk Lua scripts; in the default mode starts MariaDB and PostgreSQL
    (scripts/db-server.sh) and loads the same data;
 2. starts the RongCloud stand-in and httpd (event MPM, hermetic config,
    a virtual host per server engine); captures a real
    get_group_chat_list answer as the static file and the constant
    handler's answer, then restarts httpd with them;
 3. checks every target's answer (result_code 2000 and the expected data,
    token really cached) before timing it; warms the campus (all 20,000
    students' tokens and group syncs, every answer checked) and checks a
    sample on each engine with no RongCloud call; counts the database
    round trips per request on each engine;
 4. RSS: a burst that uses every thread, then a list/token/list-50 mix,
    each child's RSS sampled from the baseline count to the end count;
 5. throughput: wrk per target in alternation for N rounds, median per
    target, with the CPU used by httpd, the database server, wrk and the
    rest of the machine;
 6. callgrind: httpd -X under valgrind, a fixed request sequence, Ir per
    request of the whole request and of the module's handler, and where
    those instructions go;
 7. prints the report (verdicts against const) and writes it to
    --results.

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
import random
import re
import resource
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time

# ----------------------------------------------------------------------
# settings

MODES = {
    # rounds x targets x duration (s) is the throughput phase; rss_burst is
    # the RSS warm-up burst (s), rss_base/rss_end request counts since the
    # server started, rss_time a bound (s); cg_requests per target.
    "quick":   dict(rounds=2, duration=3, warmup=1, rss_burst=2,
                    rss_base=20_000, rss_end=60_000, rss_time=60,
                    cg_requests=50, engines=False),
    "default": dict(rounds=5, duration=6, warmup=2, rss_burst=4,
                    rss_base=40_000, rss_end=200_000, rss_time=240,
                    cg_requests=200, engines=True),
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

# the campus: students CAMPUS_FIRST_USER.., clubs CAMPUS_FIRST_CLUB..;
# how many clubs a student is in, 0..8, by these weights (most in 1-3, a
# tail to 8, some in none); clubs drawn by popularity 1/(rank+10), so a few
# clubs are big and most are small. Deterministic: one seed.
CAMPUS_STUDENTS = 20_000
CAMPUS_CLUBS = 300
CAMPUS_FIRST_USER = 100_000
CAMPUS_FIRST_CLUB = 100_001
CAMPUS_FIRST_REL = 1_000_001
CAMPUS_DATE = 1700000000000
CAMPUS_SEED = 14
CAMPUS_CLUB_COUNT_WEIGHTS = [6, 30, 26, 17, 9, 5, 3, 2, 2]
CAMPUS_LIST_SHARE = 0.7             # the rest is get_token
CAMPUS_SAMPLE = 300                 # students checked on each engine

# the server engines, each in a virtual host of its own on the same httpd
# (one token cache for all, so the campus is warmed once)
ENGINES = ("pgsql", "mysql")
ENGINE_DB = "weclubs_bench"

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
    ("campus", "20,000 students' own signed requests, 70% get_group_chat_list, 30% get_token (cached)"),
]
# run on each server engine as well, as "<target>@<engine>"
ENGINE_TARGETS = ("list-1", "campus")
TARGET_WHAT = dict(TARGETS)
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
    """The data of a get_group_chat_list answer (protocol.md section 7;
    with no clubs the list is null, as the old server sent it)."""
    if not groups:
        return {"group_chat_list": None}
    return {"group_chat_list": [
        {"im_group_id": "im_club_id_%d" % g["club_id"],
         "avatar_url": g["avatar_url"], "last_msg_content": None,
         "club_id": g["club_id"], "fresh_msg_count": 0,
         "club_name": g["club_name"], "last_msg_date": 0} for g in groups]}


def sql_value(v):
    """A literal the three engines read alike (no backslashes in our data)."""
    if v is None:
        return "NULL"
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


def sql_inserts(table, columns, rows, batch=500):
    """Multi-row INSERTs, valid SQL for SQLite, MariaDB and PostgreSQL."""
    out = []
    for i in range(0, len(rows), batch):
        out.append("INSERT INTO %s (%s) VALUES\n%s;" % (
            table, ", ".join(columns), ",\n".join(
                "(" + ", ".join(sql_value(v) for v in r) + ")"
                for r in rows[i:i + batch])))
    return out


def campus_plan():
    """{student id: [club ids, ascending]}, the same on every run."""
    rnd = random.Random(CAMPUS_SEED)
    clubs = [CAMPUS_FIRST_CLUB + i for i in range(CAMPUS_CLUBS)]
    cum, acc = [], 0.0
    for rank in range(CAMPUS_CLUBS):
        acc += 1.0 / (rank + 10)
        cum.append(acc)
    counts = range(len(CAMPUS_CLUB_COUNT_WEIGHTS))
    plan = {}
    for i in range(CAMPUS_STUDENTS):
        k = rnd.choices(counts, CAMPUS_CLUB_COUNT_WEIGHTS)[0]
        mine = set()
        while len(mine) < k:
            mine.add(rnd.choices(clubs, cum_weights=cum)[0])
        plan[CAMPUS_FIRST_USER + i] = sorted(mine)
    return plan


def campus_club(cid):
    return dict(club_id=cid, club_name="校园社团%03d" % (cid - CAMPUS_FIRST_CLUB + 1),
                avatar_url="http://img.example.com/club/%d.png" % cid)


def campus_token(uid):
    return weclubs_token(uid, "pw%d" % uid, CALLER, CAMPUS_DATE)


def bench_data_sql(plan):
    """What the bench adds to schema + demo data, as SQL text for any of
    the engines: the 50-club user, list-1-msg's messages, the campus."""
    L = ["BEGIN;"]
    L += sql_inserts("t_student", ("student_id", "school_id", "mobile",
                                   "nick_name", "real_name", "avatar_url",
                                   "status", "is_del"),
                     [(MANY_USER, 1, "13900090000", "bench", "基准用户",
                       "http://img.example.com/u/90000.png", 1, 0)])
    clubs = many_groups() + [campus_club(CAMPUS_FIRST_CLUB + i)
                             for i in range(CAMPUS_CLUBS)]
    L += sql_inserts("t_club", ("club_id", "school_id", "name",
                                "introduction", "slogan", "avatar_url",
                                "is_auth", "level", "status", "check_count"),
                     [(g["club_id"], 1, g["club_name"], "bench club",
                       "bench", g["avatar_url"], 1, 2, 1, 0) for g in clubs])
    # one current term per club, with the club's id
    L += sql_inserts("t_club_graduate", ("club_graduate_id", "club_id",
                                         "graduate_count", "graduate_name",
                                         "departments", "jobs", "is_current"),
                     [(g["club_id"], g["club_id"], 1,
                       "第一届" + g["club_name"], "1", "{}", 1)
                      for g in clubs])
    rels = [(g["club_id"], g["club_id"], MANY_USER) for g in many_groups()]
    rel_id = CAMPUS_FIRST_REL
    for uid, mine in plan.items():
        for cid in mine:
            rels.append((rel_id, cid, uid))
            rel_id += 1
    L += sql_inserts("t_student_club_graduate_relation",
                     ("stu_clu_gra_rel_id", "graduate_id", "student_id",
                      "status", "department_id", "job_id", "super_admin",
                      "is_del"), [r + (1, 1, 1, 0, 0) for r in rels])
    L += sql_inserts("t_student", ("student_id", "school_id", "mobile",
                                   "nick_name", "real_name", "avatar_url",
                                   "status", "is_del"),
                     [(uid, 1, "139%08d" % uid, "stu%d" % uid,
                       "学生%d" % uid, "http://img.example.com/u/%d.png"
                       % uid, 1, 0) for uid in plan])
    L += sql_inserts("t_token", ("uid", "token", "caller", "create_date"),
                     [(MANY_USER, many_token(), CALLER, MANY_DATE)] +
                     [(uid, campus_token(uid), CALLER, CAMPUS_DATE)
                      for uid in plan])
    # routed messages in club 1 (the list-1 user's club) and his read mark,
    # so that list-1-msg reads a last message and counts unread ones
    L += sql_inserts("t_im_message", ("msg_uid", "club_id", "from_user",
                                      "object_name", "preview", "msg_time"),
                     [("BENCH%d" % i, 1, "im_user_id_%d" % (1 + i % 5),
                       "RC:TxtMsg", "消息 %d" % i, 1700000000000 + i * 1000)
                      for i in range(200)])
    L += sql_inserts("t_im_group_state", ("club_id", "last_msg_uid",
                                          "last_content", "last_date"),
                     [(1, "BENCH199", "消息 199", 1700000000000 + 199 * 1000)])
    L += sql_inserts("t_im_read_mark", ("user_id", "club_id", "read_time"),
                     [("im_user_id_%d" % ONE_USER, 1,
                       1700000000000 + 150 * 1000)])
    L.append("COMMIT;")
    return "\n".join(L) + "\n"


def build_database(path, sql_dir, data_sql):
    """SQLite: schema + demo data + the bench's data, in WAL mode."""
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.unlink(path + suffix)
    db = sqlite3.connect(path, isolation_level=None)
    for name in ("schema.sql", "messages.sql", "nonces.sql", "demo-data.sql"):
        with open(os.path.join(sql_dir, name), encoding="utf-8") as f:
            db.executescript(f.read())
    db.executescript(data_sql)
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


def body_template():
    """signed_body's bytes with %s where the sign, user id and token go
    (in that order), for the Lua side to fill in."""
    t = signed_body(0, "TOKEN", "campus").decode()
    t = t.replace(sign_md5_sha1({"user_id": "0", "token": "TOKEN"}), "%s", 1)
    return t.replace('"user_id":"0"', '"user_id":"%s"').replace(
        '"token":"TOKEN"', '"token":"%s"')


def lua_campus_users(plan):
    """The campus's students for the wrk script: {user id, token, sign};
    about 150 bytes each, so the file stays a few MB."""
    lines = ["-- the campus students: user id, token, md5-sha1 sign",
             "return {"]
    for uid in plan:
        tok = campus_token(uid)
        lines.append('{"%d","%s","%s"},' % (uid, tok, sign_md5_sha1(
            {"user_id": str(uid), "token": tok})))
    lines.append("}")
    return "\n".join(lines) + "\n"


def lua_campus(users_file):
    """Every request a random student's own: the list with probability
    CAMPUS_LIST_SHARE, else the token; each wrk thread its own seed."""
    return "\n".join([
        "-- campus: " + TARGET_WHAT["campus"],
        "local users = dofile(%s)" % lua_str(users_file.encode()),
        "local template = %s" % lua_str(body_template().encode()),
        "local lists, tokens = {}, {}",
        "local threads = 0",
        "setup = function(thread)",
        "  threads = threads + 1",
        '  thread:set("thread_no", threads)',
        "end",
        "init = function(args)",
        '  local h = {["Content-Type"] = "application/json"}',
        "  for i, u in ipairs(users) do",
        "    local body = string.format(template, u[3], u[1], u[2])",
        '    lists[i] = wrk.format("POST", "/im/get_group_chat_list", h, body)',
        '    tokens[i] = wrk.format("POST", "/im/get_token", h, body)',
        "  end",
        "  math.randomseed(%d + thread_no)" % CAMPUS_SEED,
        "end",
        "request = function()",
        "  local i = math.random(#lists)",
        "  if math.random() < %s then return lists[i] end" % CAMPUS_LIST_SHARE,
        "  return tokens[i]",
        "end"]) + "\n" + LUA_DONE


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
        self.engines = {}          # engine -> its server (started ones)
        self.targets = [t[0] for t in TARGETS]     # + those on engines
        self.round_trips = {}      # engine -> endpoint -> figures
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
        self.plan = campus_plan()
        self.data_sql = bench_data_sql(self.plan)
        with open(self.path("run", "bench-data.sql"), "w",
                  encoding="utf-8") as f:
            f.write(self.data_sql)
        build_database(self.path("run", "weclubs.sqlite"),
                       os.path.join(self.tree, "sql", "sqlite"),
                       self.data_sql)
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
            if name == "campus":
                continue
            p, body = self.bodies[name]
            with open(self.path("wrk", name + ".lua"), "w") as f:
                f.write(lua_single("%s: %s" % (name, what),
                                   "GET" if body is None else "POST", p, body))
        users = self.path("wrk", "campus-users.lua")
        with open(users, "w") as f:
            f.write(lua_campus_users(self.plan))
        with open(self.path("wrk", "campus.lua"), "w") as f:
            f.write(lua_campus(users))
        with open(self.path("wrk", "mix.lua"), "w") as f:
            f.write(lua_mix("RSS phase: list-1, token-cached, list-50 in turn",
                            [self.bodies[n] for n in
                             ("list-1", "token-cached", "list-50")]))
        # a fixed campus sequence for callgrind (and its warm-up)
        rnd = random.Random(CAMPUS_SEED)
        uids = list(self.plan)
        self.campus_seq = []
        for i in range(self.s["cg_requests"]):
            uid = rnd.choice(uids)
            ep = "list" if rnd.random() < CAMPUS_LIST_SHARE else "token"
            self.campus_seq.append((uid, ep))
        # placeholders until the real answer is captured
        for f in ("htdocs/static/list-1.json", "run/const.json"):
            os.makedirs(os.path.dirname(self.path(f)), exist_ok=True)
            with open(self.path(f), "wb") as fh:
                fh.write(b"{}")
        self.port = self.free_port()
        self.msg_port = self.free_port()

    @staticmethod
    def base(name):
        """The target a name runs: list-1@pgsql runs list-1."""
        return name.split("@")[0]

    def target_port(self, name):
        """list-1-msg and each engine are served by virtual hosts of their
        own."""
        if "@" in name:
            return self.engines[name.split("@")[1]]["http_port"]
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
# the campus warm-up asks RongCloud for 20,000 tokens and group syncs; no
# RongCloud call happens while anything is timed (checked), so its rate
# limits would only make the warm-up minutes long
WeclubsIMRongCloudRateLimit user/getToken off
WeclubsIMRongCloudRateLimit group/sync off
# the stand-in is one Python process: in the warm-up's bursts its listen
# queue can overflow, and a dropped SYN is retried after 1 s
WeclubsIMRongCloudConnectTimeout 5
<Location /im>
    SetHandler weclubs-im
</Location>
# list-1-msg: the same, with message routing's last message and unread count
<VirtualHost 127.0.0.1:{self.msg_port}>
    WeclubsIMMessages On
</VirtualHost>

{self.engine_vhosts()}
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

    def engine_vhosts(self):
        """A virtual host per started server engine: the same module
        configuration, its own database."""
        out = []
        for eng, e in self.engines.items():
            if eng == "pgsql":
                params = ("host=127.0.0.1 port=%d user=postgres dbname=%s"
                          % (e["port"], ENGINE_DB))
                init = "SET client_encoding = UTF8"
            else:
                params = ("host=127.0.0.1 port=%d user=weclubs pass=weclubs "
                          "dbname=%s" % (e["port"], ENGINE_DB))
                init = "SET NAMES utf8mb4"
            out.append(f"""# list-1@{eng}, campus@{eng}
Listen 127.0.0.1:{e['http_port']}
<VirtualHost 127.0.0.1:{e['http_port']}>
    DBDriver {eng}
    DBDParams "{params}"
    DBDInitSQL "{init}"
    DBDPersist On
    DBDMin {DBD_CONNS}
    DBDKeep {DBD_CONNS}
    DBDMax {DBD_CONNS}
</VirtualHost>""")
        return "\n".join(out)

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

    def children(self, parent=None):
        out = subprocess.run(["ps", "-o", "pid=,rss=", "--ppid",
                              str(parent or self.httpd_pid)],
                             stdout=subprocess.PIPE,
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
        for eng in list(self.engines):
            self.stop_engine(eng)
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

    # -- database servers ------------------------------------------------

    def db_client(self, eng, db=None):
        e = self.engines[eng]
        if eng == "pgsql":
            return ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
                    "-h", e["dir"], "-p", str(e["port"]), "-U", "postgres",
                    "-d", db or "postgres"]
        return ["mariadb", "--no-defaults", "-S",
                os.path.join(e["dir"], "mysqld.sock"), "-uroot",
                "--default-character-set=utf8mb4", "-N", "-B"] + \
            ([db] if db else [])

    def db_sql(self, eng, sql, db=None, timeout=120):
        return self.run(self.db_client(eng, db) +
                        ["-c" if eng == "pgsql" else "-e", sql], timeout,
                        as_user=True)

    def db_server(self, action, eng):
        e = self.engines[eng]
        cmd = [os.path.join(self.tree, "scripts", "db-server.sh"), action,
               eng, e["dir"]] + ([str(e["port"])] if action == "start" else [])
        self.run(cmd, 180, as_user=True)

    def start_engines(self):
        """MariaDB and PostgreSQL on loopback (scripts/db-server.sh, as the
        tests start them), each loaded with the same data as SQLite; an
        engine that cannot be set up is left out, with a note."""
        for eng in ENGINES:
            t0 = time.time()
            try:
                self.start_engine(eng)
            except SetupError as exc:
                why = str(exc).strip().split("\n")
                self.notes.append("%s was not benchmarked: %s"
                                  % (eng, " / ".join(why[:3])[:400]))
                log("%s: left out: %s" % (eng, why[0]))
                self.stop_engine(eng)
                continue
            log("%s: started and loaded in %.0f s" % (eng, time.time() - t0))
        for eng in self.engines:
            self.targets += ["%s@%s" % (t, eng) for t in ENGINE_TARGETS]

    def start_engine(self, eng):
        d = self.path("db", eng)
        os.makedirs(d, exist_ok=True)
        self.chown_scratch()
        self.engines[eng] = dict(dir=d, port=self.free_port(),
                                 http_port=self.free_port())
        self.db_server("start", eng)
        if eng == "pgsql":
            # pg_stat_statements counts the statements the module sends;
            # db-server.sh takes no server options, so ALTER SYSTEM and a
            # restart
            self.db_sql(eng, "ALTER SYSTEM SET shared_preload_libraries = "
                             "'pg_stat_statements'")
            self.db_server("stop", eng)
            self.db_server("start", eng)
            self.db_sql(eng, "CREATE EXTENSION pg_stat_statements")
            self.db_sql(eng, "CREATE DATABASE %s ENCODING 'UTF8' "
                             "TEMPLATE template0" % ENGINE_DB)
        else:
            self.db_sql(eng, "CREATE DATABASE %s CHARACTER SET utf8mb4; "
                             "CREATE USER 'weclubs'@'127.0.0.1' IDENTIFIED BY "
                             "'weclubs'; GRANT ALL ON %s.* TO "
                             "'weclubs'@'127.0.0.1'" % (ENGINE_DB, ENGINE_DB))
        sql = os.path.join(self.tree, "sql")
        for f in (os.path.join(sql, eng, "schema.sql"),
                  os.path.join(sql, eng, "messages.sql"),
                  os.path.join(sql, eng, "nonces.sql"),
                  os.path.join(sql, "sqlite", "demo-data.sql"),
                  self.path("run", "bench-data.sql")):
            if eng == "pgsql":
                self.run(self.db_client(eng, ENGINE_DB) + ["-f", f], 300,
                         as_user=True)
            else:
                self.db_sql(eng, "source " + f, ENGINE_DB, 300)
        self.db_sql(eng, "ANALYZE" if eng == "pgsql" else
                    "ANALYZE TABLE t_student, t_club, t_club_graduate, "
                    "t_student_club_graduate_relation, t_token", ENGINE_DB)

    def stop_engine(self, eng):
        if eng in self.engines:
            try:
                self.db_server("stop", eng)
            except SetupError as exc:
                log("stopping %s: %s" % (eng, exc))
            del self.engines[eng]

    def engine_pids(self):
        """The server processes of the engines (PostgreSQL: the postmaster
        and its backends)."""
        pids = []
        for eng, e in self.engines.items():
            f = os.path.join(e["dir"], "data", "postmaster.pid") \
                if eng == "pgsql" else os.path.join(e["dir"], "mysqld.pid")
            try:
                with open(f) as fh:
                    pid = int(fh.readline().strip())
            except (OSError, ValueError):
                continue
            pids.append(pid)
            if eng == "pgsql":
                pids += list(self.children(pid))
        return pids

    def db_counters(self, eng):
        """Statements the server has executed for the bench database so far
        (PostgreSQL: pg_stat_statements; MariaDB: Questions, which counts
        COM_STMT_EXECUTE too, and Com_admin_commands, where COM_PING is
        counted: apr_dbd_mysql pings on each connection check)."""
        if eng == "pgsql":
            out = self.db_sql(eng, "SELECT coalesce(sum(s.calls), 0) FROM "
                                   "pg_stat_statements s JOIN pg_database d "
                                   "ON d.oid = s.dbid WHERE d.datname = '%s'"
                                   % ENGINE_DB)
            return dict(statements=int(out.strip()), pings=0)
        out = self.db_sql(eng, "SHOW GLOBAL STATUS WHERE Variable_name IN "
                               "('Questions', 'Com_admin_commands')")
        v = dict(line.split("\t") for line in out.strip().split("\n"))
        return dict(statements=int(v["Questions"]),
                    pings=int(v["Com_admin_commands"]))

    def measure_round_trips(self, n=50):
        """Per engine and endpoint, the statements (and pings) the server
        saw per request, over n sequential requests; what reading the
        counters costs by itself (an idle interval) is taken off."""
        for eng in self.engines:
            try:
                c0 = self.db_counters(eng)
                c1 = self.db_counters(eng)
                idle = {k: c1[k] - c0[k] for k in c0}
                res = {}
                for label, target in (("get_group_chat_list", "list-1"),
                                      ("get_token", "token-cached")):
                    name = "%s@%s" % (target, eng)
                    self.module_answer(name)
                    time.sleep(0.5)
                    a = self.db_counters(eng)
                    conn = http.client.HTTPConnection(
                        "127.0.0.1", self.target_port(name), timeout=30)
                    for _ in range(n):
                        self.module_answer(name, conn=conn)
                    conn.close()
                    time.sleep(0.5)     # work after the answer is done
                    b = self.db_counters(eng)
                    res[label] = {k: (b[k] - a[k] - idle[k]) / n for k in a}
                self.round_trips[eng] = res
            except (SetupError, ValueError, OSError, KeyError,
                    http.client.HTTPException) as exc:
                self.notes.append("round trips on %s not measured: %s"
                                  % (eng, str(exc)[:300]))

    # -- the campus ------------------------------------------------------

    def campus_body(self, uid):
        return signed_body(uid, campus_token(uid), "campus")

    def campus_check(self, uid, conn, ep="both"):
        """One student's own requests: the token is the stand-in's for this
        user, the list exactly his clubs. An error text, or None."""
        body = self.campus_body(uid)
        for path in ("/im/get_token", "/im/get_group_chat_list"):
            if ep != "both" and not path.endswith(ep):
                continue
            st, ctype, data = self.request("POST", path, body, conn=conn)
            try:
                doc = json.loads(data)
            except ValueError:
                return "user %d %s: HTTP %d, not JSON" % (uid, path, st)
            if st != 200 or doc.get("result_code") != 2000:
                return "user %d %s: HTTP %d, result_code %r" % (
                    uid, path, st, doc.get("result_code"))
            if path == "/im/get_token":
                tok = (doc.get("data") or {}).get("im_token", "")
                if not tok.startswith("tok-im_user_id_%d-" % uid):
                    return "user %d: im_token %r" % (uid, tok)
            elif doc["data"] != expected_list(
                    [campus_club(c) for c in self.plan[uid]]):
                return "user %d: list %s" % (
                    uid, json.dumps(doc["data"], ensure_ascii=False)[:200])
        return None

    def campus_walk(self, uids, port, workers=8, retry=False):
        """campus_check for each of uids, over `workers` keep-alive
        connections; the errors (at most 20)."""
        errors = []
        lock = threading.Lock()

        def work(k):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            try:
                for uid in uids[k::workers]:
                    if len(errors) >= 20:
                        return
                    err = self.campus_check(uid, conn)
                    if err and retry:
                        # a RongCloud hiccup while warming is the stand-in's;
                        # the checks after the warm-up allow none
                        time.sleep(0.5)
                        err = self.campus_check(uid, conn)
                    if err:
                        with lock:
                            errors.append(err)
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    errors.append("connection: %s" % exc)
            finally:
                conn.close()

        threads = [threading.Thread(target=work, args=(k,))
                   for k in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return errors

    def wait_syncs_settled(self, quiet=1.5, bound=180):
        """Until the stand-in has seen no group/sync for `quiet` seconds."""
        deadline = time.time() + bound
        last, since = self.rc_count("/group/sync.json"), time.time()
        while time.time() < deadline and time.time() - since < quiet:
            time.sleep(0.3)
            n = self.rc_count("/group/sync.json")
            if n != last:
                last, since = n, time.time()

    def campus_prepare(self):
        """Warm the token cache and the group-sync digests for all 20,000
        students (every answer checked), then check a sample on each engine
        without a single RongCloud call."""
        names = ["campus"] + ["campus@" + e for e in self.engines]
        want = body_template() % (sign_md5_sha1(
            {"user_id": str(CAMPUS_FIRST_USER),
             "token": campus_token(CAMPUS_FIRST_USER)}),
            CAMPUS_FIRST_USER, campus_token(CAMPUS_FIRST_USER))
        if want.encode() != self.campus_body(CAMPUS_FIRST_USER):
            for n in names:
                self.failed[n] = "the Lua body template is not signed_body's"
            return
        for api in ("/user/getToken.json", "/group/sync.json"):
            self.standin("limits?path=%s&rate=0" % api)
        t0 = time.time()
        tok0 = self.rc_count("/user/getToken.json")
        uids = list(self.plan)
        errors = self.campus_walk(uids, self.port, retry=True)
        self.wait_syncs_settled()
        self.campus_warm = dict(seconds=time.time() - t0,
                                get_token=self.rc_count("/user/getToken.json")
                                - tok0, sync=self.rc_count("/group/sync.json"))
        log("campus: %d students warmed in %.0f s (%d getToken calls)"
            % (len(uids), self.campus_warm["seconds"],
               self.campus_warm["get_token"]))
        if errors:
            for n in names:
                self.failed[n] = "warm-up: " + "; ".join(errors[:3])
            log("campus: FAILED: %s" % self.failed["campus"])
            return
        sample = random.Random(CAMPUS_SEED + 1).sample(uids, CAMPUS_SAMPLE)
        for name in names:
            rc0 = self.rc_calls()
            errors = self.campus_walk(sample, self.target_port(name), 4)
            time.sleep(0.3)
            rc1 = self.rc_calls()
            calls = {k: rc1[k] - rc0[k] for k in RC_APIS}
            if errors:
                self.failed[name] = "check: " + "; ".join(errors[:3])
            elif any(calls.values()):
                self.failed[name] = ("check: %s RongCloud calls (getToken, "
                                     "refresh, sync) for %d warmed students"
                                     % ("/".join(str(calls[k]) for k in
                                                 RC_APIS), CAMPUS_SAMPLE))
            if name in self.failed:
                log("check %s: FAILED: %s" % (name, self.failed[name]))

    # -- answers -------------------------------------------------------

    def module_answer(self, name, conn=None):
        p, body = self.bodies[self.base(name)]
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
        for eng in self.engines:
            name = "list-1@" + eng
            try:
                data, doc = self.module_answer(name)
                if doc["data"] != expected_list(ONE_GROUPS):
                    raise ValueError("data %s" % json.dumps(doc["data"]))
                if self.without_time(data) != self.without_time(self.answer):
                    raise ValueError("bytes differ from SQLite's answer")
            except (ValueError, OSError, http.client.HTTPException) as exc:
                fail(name, str(exc))
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
        return self.proc_cpu([self.httpd_pid] + list(self.children()))

    # -- wrk -----------------------------------------------------------

    def proc_cpu(self, pids):
        """Seconds of CPU time used by these processes."""
        total = 0
        for pid in pids:
            try:
                with open("/proc/%d/stat" % pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            except (OSError, IndexError, ValueError):
                pass
        return total / os.sysconf("SC_CLK_TCK")

    def wrk(self, target, seconds, connections=CONNECTIONS, script=None):
        """wrk on a target (its script, its port); req/s, latency, and the
        CPU httpd, wrk, the database servers and the rest used."""
        cmd = ["wrk", "-t", str(self.wrk_threads), "-c", str(connections),
               "-d", "%ds" % seconds, "--timeout", "5s", "-s",
               self.path("wrk", script or self.base(target) + ".lua"),
               "http://127.0.0.1:%d" % self.target_port(target)]
        db_pids = self.engine_pids()
        db0 = self.proc_cpu(db_pids)
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
        db = self.proc_cpu(db_pids) - db0
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
        r["db_cores"] = db / elapsed
        r["other_cores"] = max(0.0, busy - httpd - wrk_cpu - db) / elapsed
        # CPU time per request: where a request's time goes
        r["httpd_us"] = httpd / max(1, r["requests"]) * 1e6
        r["db_us"] = db / max(1, r["requests"]) * 1e6
        return r

    @staticmethod
    def error_text(r):
        return ", ".join("%s %d" % (k, r[k]) for k in
                         ("status", "connect", "read", "write", "timeout")
                         if r[k]) + (" (status = non-2xx/3xx answers)"
                                     if r["status"] else "")

    def throughput(self):
        s, names = self.s, self.targets
        rc0 = self.rc_calls()
        log("warm-up: %d s per target" % s["warmup"])
        for name in names:
            if name in self.failed:
                continue
            r = self.wrk(name, s["warmup"])
            if r["errors"]:
                self.failed[name] = "warm-up: " + self.error_text(r)
        self.rc_by_target = {}
        for rnd in range(s["rounds"]):
            order = names[rnd % len(names):] + names[:rnd % len(names)]
            for name in order:
                if name in self.failed:
                    continue
                before = self.rc_calls()
                r = self.wrk(name, s["duration"])
                after = self.rc_calls()
                calls = self.rc_by_target.setdefault(
                    name, dict.fromkeys(RC_APIS, 0))
                for k in RC_APIS:
                    calls[k] += after[k] - before[k]
                if r["errors"]:
                    self.failed[name] = "round %d: %s" % (rnd + 1,
                                                          self.error_text(r))
                    continue
                # the campus's tokens are all cached: a getToken while it
                # is timed means they were not, and the figure is not the
                # campus's
                if name.startswith("campus") and \
                        after["/user/getToken.json"] != \
                        before["/user/getToken.json"]:
                    self.failed[name] = ("round %d: %d RongCloud getToken "
                                         "calls while timed" % (
                                             rnd + 1,
                                             after["/user/getToken.json"] -
                                             before["/user/getToken.json"]))
                    continue
                self.results.setdefault(name, []).append(r)
            log("round %d/%d: %s" % (rnd + 1, s["rounds"], "  ".join(
                "%s %.0f" % (n, self.results[n][-1]["rps"])
                for n in names if n in self.results
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
                r = self.wrk("list-1", secs, script="mix.lua")
                total += r["requests"]
                rate = r["rps"]
                self.rss["errors"] += r["errors"]
            return total >= upto

        log("RSS: %d s burst at %d connections, then the list-1/token-cached/"
            "list-50 mix at %d up to %d requests, RSS sampled from %d on"
            % (s["rss_burst"], burst_c, CONNECTIONS, s["rss_end"],
               s["rss_base"]))
        r = self.wrk("list-1", s["rss_burst"], connections=burst_c,
                     script="mix.lua")
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
        conns = {}

        def conn_for(name):
            port = self.target_port(name)
            if port not in conns:
                conns[port] = http.client.HTTPConnection("127.0.0.1", port,
                                                         timeout=60)
            return conns[port]

        def send(name, i=0):
            # httpd closes a connection idle for KeepAliveTimeout, which
            # one port's connection is while the others' targets run:
            # open it again (once per part at most, a negligible cost)
            try:
                send_once(name, i)
            except (OSError, http.client.HTTPException):
                conns.pop(self.target_port(name)).close()
                send_once(name, i)

        def send_once(name, i):
            conn = conn_for(name)
            path, body = self.bodies.get(self.base(name), (None, None))
            if self.base(name) == "campus":
                uid, ep = self.campus_seq[i % len(self.campus_seq)]
                err = self.campus_check(uid, conn, ep)
                if err:
                    raise SetupError("callgrind run: %s: %s" % (name, err))
            elif body is None:
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
                    self.module_answer(name, conn=conn)
                except ValueError as exc:
                    raise SetupError("callgrind run: %s: %s" % (name, exc))

        def marker():
            try:
                st, _, _ = self.request("GET", "/bench-mark",
                                        conn=conn_for("static"))
            except (OSError, http.client.HTTPException):
                conns.pop(self.port).close()
                st, _, _ = self.request("GET", "/bench-mark",
                                        conn=conn_for("static"))
            if st != 204:
                raise SetupError("marker request answered %d" % st)

        try:
            # warm-up: connections, prepared statements, token cache, syncs
            # (this process's cache is new: the campus sequence's students
            # are warmed here, then no RongCloud call happens in the parts)
            for name in self.targets:
                for i in range(len(self.campus_seq) if
                               self.base(name) == "campus" else 3):
                    send(name, i)
            self.wait_syncs_settled()
            rc0 = self.rc_calls()
            for name in self.targets:
                marker()              # dumps the previous part
                for i in range(n):
                    send(name, i)
            marker()
            rc1 = self.rc_calls()
            self.cg_rc = {k: rc1[k] - rc0[k] for k in RC_APIS}
        finally:
            for c in conns.values():
                c.close()
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
        for i, name in enumerate(self.targets, start=2):
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
                          ("curl", "libcurl"), ("libpq", "libpq"),
                          ("mariadb", "libmariadb"), ("mysql", "libmariadb"),
                          ("ssl", "OpenSSL"), ("crypto", "OpenSSL")):
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
        counts = [len(c) for c in self.plan.values()]
        spread = ", ".join("%d: %d" % (k, counts.count(k))
                           for k in range(len(CAMPUS_CLUB_COUNT_WEIGHTS)))
        L.append("- campus: %d students, %d clubs (seed %d), %d memberships; "
                 "students by number of clubs: %s; every request a random "
                 "student's own signed request with his own token, %.0f%% "
                 "get_group_chat_list, %.0f%% get_token; all %d students' "
                 "RongCloud tokens and group syncs warmed first (%.0f s, "
                 "every answer checked); RongCloud rate limits off in the "
                 "module and the stand-in for that warm-up only matter"
                 % (CAMPUS_STUDENTS, CAMPUS_CLUBS, CAMPUS_SEED, sum(counts),
                    spread, 100 * CAMPUS_LIST_SHARE,
                    100 * (1 - CAMPUS_LIST_SHARE), CAMPUS_STUDENTS,
                    getattr(self, "campus_warm", {}).get("seconds", 0)))
        L.append("- server engines: %s" % (", ".join(
            "%s (scripts/db-server.sh on loopback, same data, DBDriver %s, "
            "DBDMin/Keep/Max %d, a virtual host of its own)"
            % (e, e, DBD_CONNS) for e in self.engines) or "none"))
        for n in self.notes:
            L.append("- note: %s" % n)
        L.append("- no cache of authentication results or group lists: every "
                 "request checks signature and token against the database "
                 "and reads the group list")

        cg = getattr(self, "cg", {})
        med = {}
        for name in self.targets:
            rs = self.results.get(name, [])
            if rs and name not in self.failed:
                med[name] = self.med(rs, "rps")

        def ratio(a, b):
            return med[a] / med[b] if a in med and b in med else None

        def ir_ratio(a, b):
            return cg[a]["total"] / cg[b]["total"] \
                if a in cg and b in cg else None

        L.append("")
        L.append("## Verdict")
        L.append("")
        L.append("The yardstick is `const` (bench/mod_bench_const.c: reads "
                 "the body, writes the list-1 answer's bytes), measured in "
                 "the same run: req/s ratios from the throughput rounds, "
                 "instruction ratios from callgrind.")
        L.append("")
        L.append("| ratio | value | target | verdict |")
        L.append("|---|---:|---:|---|")
        verdicts = []
        for label, v, goal, op in (
                ("list-1 / const, req/s", ratio("list-1", "const"),
                 0.75, ">="),
                ("list-1 whole request, instructions / const",
                 ir_ratio("list-1", "const"), 2.5, "<="),
                ("token-cached / const, req/s",
                 ratio("token-cached", "const"), 0.75, ">="),
                ("list-50 / list-1, req/s", ratio("list-50", "list-1"),
                 0.8, ">="),
                ("campus mix / const (SQLite), req/s",
                 ratio("campus", "const"), 0.65, ">=")):
            if v is None:
                verdicts.append(False)
                L.append("| %s | – | %s %.2fx | FAILED (no figure) |"
                         % (label, op, goal))
                continue
            ok = v >= goal if op == ">=" else v <= goal
            verdicts.append(ok)
            L.append("| %s | %.2fx | %s %.2fx | %s |"
                     % (label, v, op, goal, "PASS" if ok else "FAIL"))
        L.append("")
        L.append("%d of %d targets met." % (sum(verdicts), len(verdicts)))

        L.append("")
        L.append("## Throughput")
        L.append("")
        L.append("| target | req/s | / const | p50 ms | p99 ms | httpd cores "
                 "| db cores | wrk cores | other cores | httpd CPU µs/req | "
                 "db CPU µs/req | runs | status |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
                 "---:|---|")
        other = 0.0
        for name in self.targets:
            rs = self.results.get(name, [])
            if name in self.failed or not rs:
                L.append("| %s | – | – | – | – | – | – | – | – | – | – | %d "
                         "| FAILED: %s |" % (name, len(rs),
                                             self.failed.get(name,
                                                             "no result")))
                continue
            r = ratio(name, "const")
            L.append("| %s | %.0f | %s | %.2f | %.2f | %.2f | %.2f | %.2f | "
                     "%.2f | %.0f | %.0f | %d | ok |"
                     % (name, med[name], "%.2fx" % r if r else "–",
                        self.med(rs, "p50_us") / 1000,
                        self.med(rs, "p99_us") / 1000,
                        self.med(rs, "httpd_cores"), self.med(rs, "db_cores"),
                        self.med(rs, "wrk_cores"), self.med(rs, "other_cores"),
                        self.med(rs, "httpd_us"), self.med(rs, "db_us"),
                        len(rs)))
            other = max(other, max(r["other_cores"] for r in rs))
        L.append("")
        L.append("Medians over the rounds. Cores: CPU time over wall time "
                 "during the runs, of httpd, of the database server (MariaDB "
                 "or PostgreSQL, for the @ targets), of wrk, and of "
                 "everything else on the machine (%d cores in all). CPU "
                 "µs/req: httpd's and the database server's CPU time per "
                 "request." % self.cores)
        if other > 0.15:
            L.append("")
            L.append("**The machine was not idle**: other processes used up "
                     "to %.2f cores during a run; req/s and ratios are less "
                     "reliable, see the per-round table (callgrind counts "
                     "are not affected)." % other)
        L.append("")
        L.append("For information (not targets):")
        L.append("")
        L.append("| ratio | value |")
        L.append("|---|---:|")
        info = [("static", "const"), ("list-1-msg", "list-1"),
                ("campus", "list-1")]
        for eng in self.engines:
            info += [("list-1@" + eng, "const"), ("campus@" + eng, "const"),
                     ("list-1@" + eng, "list-1"), ("campus@" + eng, "campus")]
        for a, b in info:
            v = ratio(a, b)
            L.append("| %s / %s, req/s | %s |"
                     % (a, b, "%.2fx" % v if v else "–"))
        L.append("")
        L.append("Per round, req/s (each round starts one target later than "
                 "the one before):")
        L.append("")
        L.append("| round | " + " | ".join(self.targets) + " |")
        L.append("|---|" + "---:|" * len(self.targets))
        for i in range(s["rounds"]):
            cells = []
            for n in self.targets:
                rs = self.results.get(n, [])
                cells.append("%.0f" % rs[i]["rps"] if i < len(rs) else "–")
            L.append("| %d | %s |" % (i + 1, " | ".join(cells)))
        L.append("")
        L.append("RongCloud stand-in calls (getToken, user/refresh, "
                 "group/sync; 0 expected, the data does not change): %s "
                 "during the timed rounds (%s), %s during the RSS run."
                 % ("/".join(str(self.rc_rounds[k]) for k in RC_APIS),
                    ", ".join("%s %s" % (n, "/".join(
                        str(c[k]) for k in RC_APIS))
                        for n, c in getattr(self, "rc_by_target",
                                            {}).items()
                        if n.startswith("campus")),
                    "/".join(str(self.rss["rc"][k]) for k in RC_APIS)))
        L.append("")

        L.append("## Database round trips per request")
        L.append("")
        if self.round_trips:
            L.append("Counted on the server over 50 sequential requests of "
                     "user %d (PostgreSQL: pg_stat_statements calls in the "
                     "bench database; MariaDB: Questions, which counts each "
                     "prepared statement's execution, plus "
                     "Com_admin_commands, where the connection checks' "
                     "COM_PING are counted). SQLite runs in httpd's "
                     "process: no round trips." % ONE_USER)
            L.append("")
            L.append("| engine | endpoint | statements | pings | round "
                     "trips |")
            L.append("|---|---|---:|---:|---:|")
            for eng, res in self.round_trips.items():
                for ep, v in res.items():
                    L.append("| %s | %s | %.2f | %.2f | %.2f |"
                             % (eng, ep, v["statements"], v["pings"],
                                v["statements"] + v["pings"]))
        else:
            L.append("Not measured (no server engine in this run).")
        L.append("")
        if self.engines and cg:
            L.append("Where the time goes, per request (httpd Ir from "
                     "callgrind; CPU µs from the throughput rounds):")
            L.append("")
            L.append("| target | req/s | httpd Ir | Ir / same on SQLite | "
                     "httpd CPU µs | db server CPU µs | round trips |")
            L.append("|---|---:|---:|---:|---:|---:|---:|")
            for name in self.targets:
                if self.base(name) not in ENGINE_TARGETS:
                    continue
                eng = name.split("@")[1] if "@" in name else None
                rs = self.results.get(name, [])
                rt = "–"
                if eng in self.round_trips:
                    rtd = self.round_trips[eng]
                    lst = rtd["get_group_chat_list"]
                    tok = rtd["get_token"]
                    one = lambda v: v["statements"] + v["pings"]
                    rt = "%.2f" % (one(lst) if self.base(name) == "list-1"
                                   else CAMPUS_LIST_SHARE * one(lst) +
                                   (1 - CAMPUS_LIST_SHARE) * one(tok))
                elif eng is None:
                    rt = "0"
                L.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                    name, "%.0f" % med[name] if name in med else "–",
                    "%d" % cg[name]["total"] if name in cg else "–",
                    "%.2fx" % (cg[name]["total"] /
                               cg[self.base(name)]["total"])
                    if name in cg and self.base(name) in cg else "–",
                    "%.0f" % self.med(rs, "httpd_us") if rs else "–",
                    "%.0f" % self.med(rs, "db_us") if rs else "–", rt))
            L.append("")

        L.append("## Instructions per request (callgrind)")
        L.append("")
        names = [n for n in self.targets if n in cg]
        mods = [n for n in names if n not in ("static", "const")]
        L.append("instructions per request: %s" % ", ".join(
            "%s=%d" % (k.replace("token-cached", "token"), cg[k]["handler"])
            for k in mods))
        L.append("")
        L.append("That is the inclusive Ir of `wcim_handler` (body read, "
                 "checks, SQL, JSON, the answer written down httpd's output "
                 "filters), averaged over %d requests of each target after a "
                 "warm-up, httpd -X under callgrind, one keep-alive "
                 "connection (campus: the same seeded sequence of students "
                 "and endpoints on each engine). \"whole request\" is "
                 "everything httpd executed per request in user space "
                 "(request parsing, hooks, filters, the event loop; not the "
                 "kernel, and not the database server's own work). "
                 "\"above const\" is what a target costs beyond the "
                 "constant handler's whole request. RongCloud calls during the counted parts "
                 "(getToken/refresh/sync): %s."
                 % (s["cg_requests"], "/".join(
                     str(getattr(self, "cg_rc", {}).get(k, "?"))
                     for k in RC_APIS)))
        L.append("")
        L.append("| | " + " | ".join(names) + " |")
        L.append("|---|" + "---:|" * len(names))
        L.append("| whole request, Ir | %s |" % " | ".join(
            "%d" % cg[k]["total"] for k in names))
        L.append("| whole request / const | %s |" % " | ".join(
            "%.2fx" % (cg[k]["total"] / cg["const"]["total"])
            for k in names))
        L.append("| wcim_handler, Ir | %s |" % " | ".join(
            "%d" % cg[k]["handler"] if k in mods else "–"
            for k in names))
        L.append("| above const, Ir | %s |" % " | ".join(
            "%d" % (cg[k]["total"] - cg["const"]["total"]) for k in names))
        L.append("| wcim_after_answer, Ir | %s |" % " | ".join(
            "%d" % cg[k]["log_tx"] if k in mods else "–"
            for k in names))
        L.append("")
        L.append("Self cost by library, Ir per request:")
        L.append("")
        libs = sorted({g for k in names for g in cg[k]["groups"]},
                      key=lambda g: -cg["list-1"]["groups"].get(g, 0))
        L.append("| library | " + " | ".join(names) + " |")
        L.append("|---|" + "---:|" * len(names))
        for g in libs:
            if max(cg[k]["groups"].get(g, 0) for k in names) < 50:
                continue
            L.append("| %s | %s |" % (g, " | ".join(
                "%d" % cg[k]["groups"].get(g, 0) for k in names)))
        L.append("")
        L.append("The module's functions, inclusive Ir per request (those "
                 "over 1000):")
        L.append("")
        fnames = sorted({f for k in mods for f, v in cg[k]["own"].items()
                         if v >= 1000},
                        key=lambda f: -max(cg[k]["own"].get(f, 0)
                                           for k in mods))
        L.append("| function | " + " | ".join(mods) + " |")
        L.append("|---|" + "---:|" * len(mods))
        for f in fnames:
            L.append("| %s | %s |" % (f, " | ".join(
                "%d" % cg[k]["own"][f] if f in cg[k]["own"] else "–"
                for k in mods)))
        for k in [n for n in ("list-1", "token-cached", "list-50", "campus",
                              "list-1@pgsql", "list-1@mysql") if n in cg]:
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
        if self.s["engines"]:
            self.start_engines()
        else:
            self.notes.append("--quick: MariaDB and PostgreSQL left out")
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
        self.campus_prepare()
        self.measure_round_trips()
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
