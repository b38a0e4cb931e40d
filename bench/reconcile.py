#!/usr/bin/python3
"""What a reconciliation pass costs (bench/README.md#reconciliation),
started by bench/reconcile.sh (which builds the module first):

    reconcile.py --tree BUILT_TREE --module SO --scratch DIR --httpd BIN
                 --moddir DIR [--sizes 20000,200000] [--engines sqlite,pgsql]
                 [--wrk-seconds 10] [--results FILE]

Reuses bench.py's pieces (the campus plan, the stand-in, db-server.sh,
wrk with bench.py's Lua script, /proc CPU accounting). Per engine and
campus size:

 1. a fresh database: schema, demo data, 300 clubs and N students in 0-8
    clubs each (bench.py's campus plan, same weights and seed), every
    student with a t_im_rc_token row and an up-to-date t_im_rc_told row.
    The told rows are written directly, with the digest the module
    computes (modules/wcim_groupsync.c: MD5 over "im_club_id_<id>" NUL
    name NUL per club, in club order; the token row's profile is
    modules/wcim_tokens.c's SHA-1 of "name\\nportrait"), instead of an
    untimed first pass: that pass would make N group/sync calls at 45 a
    second (more than an hour at 200,000). The first timed pass proves
    them right: it must find 0 changes.
 2. httpd (event MPM, 2 children, as bench.py) with WeclubsIMTokenStore db
    and WeclubsIMReconcileInterval I; passes come by themselves every I
    seconds after the previous one ended (mod_watchdog's step restarts
    when the callback returns), so no restart is needed. Pass 1: no
    change. Right after it, 1% of the students (those with a club; each
    has his first relation row set to status 0) change: pass 2 syncs them.
    Pass 3: no change again.
 3. per pass: the duration gauge; the CPU time (utime+stime, /proc) of
    each httpd child between the last status poll before the pass and the
    first after it (the idle server spends nothing else: the child whose
    CPU moved is the watchdog's, the other one is shown for comparison);
    the database server's CPU (PostgreSQL: postmaster and backends); the
    statements PostgreSQL executed (pg_stat_statements); the stand-in's
    calls; the status page's counters.
 4. at the largest size: wrk on get_group_chat_list of user 38 (bench.py's
    list-1) in windows with no pass running and windows inside a pass,
    alternately, in the same run.
"""

import argparse
import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench as B                                       # noqa: E402

RC_USER = "im_user_id_%d"
RC_GROUP = "im_club_id_%d"
SECRET_TAG = "bench"          # not compared by a pass
NOW_MS = int(time.time() * 1000)


def student_name(uid):
    return "学生%d" % uid


def student_portrait(uid):
    return "http://img.example.com/u/%d.png" % uid


def profile(uid):
    both = student_name(uid) + "\n" + student_portrait(uid)
    return hashlib.sha1(both.encode("utf-8")).hexdigest()


def group_digest(clubs):
    md5 = hashlib.md5()
    for cid in clubs:
        md5.update((RC_GROUP % cid).encode() + b"\0")
        md5.update(B.campus_club(cid)["club_name"].encode("utf-8") + b"\0")
    return md5.hexdigest()


def campus_rows(n):
    """The tables' rows for a campus of n students."""
    B.CAMPUS_STUDENTS = n
    plan = B.campus_plan()
    clubs = [B.campus_club(B.CAMPUS_FIRST_CLUB + i)
             for i in range(B.CAMPUS_CLUBS)]
    rows = {}
    rows["t_club"] = (("club_id", "school_id", "name", "introduction",
                       "slogan", "avatar_url", "is_auth", "level", "status",
                       "check_count"),
                      [(g["club_id"], 1, g["club_name"], "bench club",
                        "bench", g["avatar_url"], 1, 2, 1, 0) for g in clubs])
    rows["t_club_graduate"] = (("club_graduate_id", "club_id",
                                "graduate_count", "graduate_name",
                                "departments", "jobs", "is_current"),
                               [(g["club_id"], g["club_id"], 1,
                                 "第一届" + g["club_name"], "1", "{}", 1)
                                for g in clubs])
    rels, rel_id, first_rel = [], B.CAMPUS_FIRST_REL, {}
    for uid, mine in plan.items():
        for cid in mine:
            if uid not in first_rel:
                first_rel[uid] = rel_id
            rels.append((rel_id, cid, uid, 1, 1, 1, 0, 0))
            rel_id += 1
    rows["t_student_club_graduate_relation"] = (
        ("stu_clu_gra_rel_id", "graduate_id", "student_id", "status",
         "department_id", "job_id", "super_admin", "is_del"), rels)
    rows["t_student"] = (("student_id", "school_id", "mobile", "nick_name",
                          "real_name", "avatar_url", "status", "is_del"),
                         [(uid, 1, "139%08d" % uid, "stu%d" % uid,
                           student_name(uid), student_portrait(uid), 1, 0)
                          for uid in plan])
    rows["t_im_rc_token"] = (("app_key", "user_id", "secret_tag", "profile",
                              "token", "updated"),
                             [(B.RC_APP_KEY, RC_USER % uid, SECRET_TAG,
                               profile(uid), "benchtoken%d" % uid, NOW_MS)
                              for uid in plan])
    rows["t_im_rc_told"] = (("app_key", "user_id", "group_set", "blocked",
                             "updated"),
                            [(B.RC_APP_KEY, RC_USER % uid,
                              group_digest(mine), 0, NOW_MS)
                             for uid, mine in plan.items()])
    # 1% of the students change: every k-th of those in a club quits his
    # first club
    members = sorted(first_rel)
    want = n // 100
    step = len(members) / want
    changed = [first_rel[members[int(i * step)]] for i in range(want)]
    return plan, rows, changed


class Reconcile(B.Bench):
    def __init__(self, args):
        args.quick, args.full = True, False
        args.const_module = None
        super().__init__(args)
        self.table = []
        self.impact = []
        self.interval = None

    # -- data ------------------------------------------------------------

    def schema_files(self, eng):
        sql = os.path.join(self.tree, "sql")
        return [os.path.join(sql, eng, f) for f in
                ("schema.sql", "messages.sql", "nonces.sql", "tokens.sql",
                 "reconcile.sql")] + [os.path.join(sql, "sqlite",
                                                   "demo-data.sql")]

    def load_sqlite(self, n, rows):
        path = self.path("run", "r%d.sqlite" % n)
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.unlink(path + suffix)
        db = sqlite3.connect(path, isolation_level=None)
        for f in self.schema_files("sqlite"):
            with open(f, encoding="utf-8") as fh:
                db.executescript(fh.read())
        db.execute("BEGIN")
        for table, (cols, data) in rows.items():
            db.executemany("INSERT INTO %s (%s) VALUES (%s)" % (
                table, ", ".join(cols), ", ".join("?" * len(cols))), data)
        db.execute("COMMIT")
        db.execute("ANALYZE")
        if db.execute("PRAGMA journal_mode=WAL").fetchone()[0] != "wal":
            raise B.SetupError("SQLite refused WAL mode")
        db.close()
        return path

    def start_pgsql(self):
        d = self.path("db", "pgsql")
        os.makedirs(d, exist_ok=True)
        self.chown_scratch()
        self.engines["pgsql"] = dict(dir=d, port=self.free_port(),
                                     http_port=self.port)
        self.db_server("start", "pgsql")
        self.db_sql("pgsql", "ALTER SYSTEM SET shared_preload_libraries = "
                             "'pg_stat_statements'")
        self.db_server("stop", "pgsql")
        self.db_server("start", "pgsql")
        self.db_sql("pgsql", "CREATE EXTENSION pg_stat_statements")

    def load_pgsql(self, n, rows):
        db = "weclubs_r%d" % n
        self.db_sql("pgsql", "CREATE DATABASE %s ENCODING 'UTF8' "
                             "TEMPLATE template0" % db)
        for f in self.schema_files("pgsql"):
            self.run(self.db_client("pgsql", db) + ["-f", f], 300,
                     as_user=True)
        for table, (cols, data) in rows.items():
            tsv = self.path("run", "%s.tsv" % table)
            with open(tsv, "w", encoding="utf-8") as fh:
                for r in data:
                    fh.write("\t".join(str(v) for v in r) + "\n")
            self.chown_scratch()
            self.run(self.db_client("pgsql", db) +
                     ["-c", "\\copy %s (%s) FROM '%s'"
                      % (table, ", ".join(cols), tsv)], 600, as_user=True)
            os.unlink(tsv)
        self.db_sql("pgsql", "ANALYZE", db)
        return db

    # -- httpd -----------------------------------------------------------

    def write_rconf(self, eng, where):
        m = self.moddir
        mpm = "\n".join("%s %d" % kv for kv in B.MPM.items())
        if eng == "pgsql":
            dbd = ('DBDriver pgsql\nDBDParams "host=127.0.0.1 port=%d '
                   'user=postgres dbname=%s"\nDBDInitSQL "SET '
                   'client_encoding = UTF8"'
                   % (self.engines["pgsql"]["port"], where))
        else:
            dbd = ('DBDriver sqlite3\nDBDParams "%s"\n'
                   'DBDInitSQL "PRAGMA busy_timeout=5000"' % where)
        conf = f"""# Generated by bench/reconcile.py
ServerRoot "{self.scratch}"
ServerName 127.0.0.1
Listen 127.0.0.1:{self.port}
PidFile "{self.httpd_pidfile}"
DefaultRuntimeDir "{self.path('run')}"
ErrorLog "{self.path('logs', 'error_log')}"
LogLevel warn weclubs_im:info
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
<IfModule !watchdog_module>
  LoadModule watchdog_module {m}/mod_watchdog.so
</IfModule>
LoadModule weclubs_im_module "{self.args.module}"
{mpm}
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 5
Timeout 30
DocumentRoot "{self.path('htdocs')}"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory "{self.path('htdocs')}">
    Require all granted
</Directory>
{dbd}
DBDPersist On
DBDMin {B.DBD_CONNS}
DBDKeep {B.DBD_CONNS}
DBDMax {B.DBD_CONNS}
WeclubsIMSignSecret {B.SIGN_SECRET}
WeclubsIMSignForms md5-sha1 sha1
WeclubsIMTokenLifetime off
WeclubsIMRongCloudAppKey {B.RC_APP_KEY}
WeclubsIMRongCloudAppSecret {B.RC_APP_SECRET}
WeclubsIMRongCloudURL http://127.0.0.1:{self.rc_port}
WeclubsIMGroupSync On
WeclubsIMTokenStore db
# the default rate limits: a pass's group/sync is paced at half the node's
# share of 100/s
WeclubsIMReconcileInterval {self.interval}
<Location /im>
    SetHandler weclubs-im
</Location>
<Location /im-status>
    SetHandler weclubs-im-status
</Location>
"""
        with open(self.path("conf", "httpd.conf"), "w") as f:
            f.write(conf)
        return self.path("conf", "httpd.conf")

    def start_rhttpd(self, eng, where):
        conf = self.write_rconf(eng, where)
        self.chown_scratch()
        self.run([self.httpd, "-t", "-f", conf], 30, as_user=True)
        if os.path.exists(self.httpd_pidfile):
            os.unlink(self.httpd_pidfile)
        self.run([self.httpd, "-f", conf, "-k", "start"], 30, as_user=True)
        if not self.wait_port(self.port, 20):
            raise B.SetupError("httpd did not listen (see logs/error_log)")
        deadline = time.time() + 10
        while time.time() < deadline and not os.path.exists(
                self.httpd_pidfile):
            time.sleep(0.1)
        with open(self.httpd_pidfile) as f:
            self.httpd_pid = int(f.read().strip())
        while len(self.children()) < B.MPM["StartServers"]:
            time.sleep(0.1)
        self.t_start = time.time()

    def metrics(self):
        st, _, data = self.request("GET", "/im-status")
        if st != 200:
            raise B.SetupError("status page: HTTP %d" % st)
        out = {}
        for line in data.decode().split("\n"):
            m = re.match(r'^weclubs_im_reconcile_(\w+?)(?:\{what="(\w+)"\})?'
                         r' ([0-9.e+-]+)$', line)
            if m:
                out[m.group(2) or m.group(1)] = float(m.group(3))
        return out

    def child_cpu(self):
        return {pid: self.proc_cpu([pid]) for pid in self.children()}

    def rc_total(self):
        return {api: self.rc_count(api) for api in
                ("/group/sync.json", "/user/refresh.json",
                 "/user/block.json", "/user/unblock.json",
                 "/user/getToken.json")}

    def pg_statements(self, db):
        if "pgsql" not in self.engines:
            return None
        out = self.db_sql("pgsql", "SELECT coalesce(sum(s.calls), 0) FROM "
                          "pg_stat_statements s JOIN pg_database d ON "
                          "d.oid = s.dbid WHERE d.datname = '%s'" % db)
        return int(out.strip())

    def snapshot(self, db):
        return dict(t=time.time(), cpu=self.child_cpu(),
                    dbcpu=self.proc_cpu(self.engine_pids()),
                    rc=self.rc_total(), stmts=self.pg_statements(db),
                    m=self.metrics())

    def wait_pass(self, k, db, bound):
        """Wait for pass k to end; the snapshots just before it began
        (the last one with k-1 passes and the gauge unmoved) and after."""
        before = self.snapshot(db)
        deadline = time.time() + bound
        while True:
            time.sleep(0.3)
            m = self.metrics()
            if m.get("passes_total", 0) >= k:
                break
            if time.time() > deadline:
                raise B.SetupError("pass %d did not end within %d s"
                                   % (k, bound))
            # the last snapshot taken before the pass began: the pass
            # begins `interval` after the last one ended
            last_end = m.get("last_pass_seconds", 0) or self.t_start
            if last_end + self.interval - 3.0 < time.time() \
                    < last_end + self.interval - 1.0:
                before = self.snapshot(db)
        after = self.snapshot(db)
        if after["m"]["passes_total"] != k:
            raise B.SetupError("pass %d: %s passes counted" %
                               (k, after["m"]["passes_total"]))
        return before, after

    def record(self, eng, n, label, before, after):
        d = {k: after["m"].get(k, 0) - before["m"].get(k, 0)
             for k in ("students", "changes", "calls", "failed", "synced",
                       "renamed", "blocked", "unblocked")}
        cpu = sorted(((after["cpu"].get(p, 0) - before["cpu"].get(p, 0), p)
                      for p in after["cpu"]), reverse=True)
        rc = {k: after["rc"][k] - before["rc"][k] for k in after["rc"]}
        row = dict(engine=eng, students=n, case=label,
                   wall=after["m"]["last_pass_duration_seconds"],
                   cpu=cpu[0][0], cpu_pid=cpu[0][1],
                   cpu_other=sum(c for c, _ in cpu[1:]),
                   dbcpu=after["dbcpu"] - before["dbcpu"],
                   window=after["t"] - before["t"],
                   stmts=(after["stmts"] - before["stmts"]
                          if after["stmts"] is not None else None),
                   rc=rc, m=d)
        B.log("%s %d %s: %s" % (eng, n, label, json.dumps(row)))
        self.table.append(row)
        return row

    # -- the run ---------------------------------------------------------

    def case(self, eng, n, interval, wrk):
        self.interval = interval
        t0 = time.time()
        plan, rows, changed = campus_rows(n)
        rels = len(rows["t_student_club_graduate_relation"][1])
        if eng == "sqlite":
            where = self.load_sqlite(n, rows)
            db = None
        else:
            where = db = self.load_pgsql(n, rows)
        del rows
        B.log("%s %d: %d students, %d relation rows, loaded in %.0f s"
              % (eng, n, len(plan), rels, time.time() - t0))
        self.start_rhttpd(eng, where)
        try:
            bound = 3600
            b, a = self.wait_pass(1, db, self.interval + bound)
            r = self.record(eng, n, "no change", b, a)
            if r["m"]["changes"] or r["m"]["calls"]:
                B.log("pass 1 found changes: the told rows are not what "
                      "the module computes")
            if self.args.impact_only and wrk:
                self.request_path(eng, n, db)
                return
            # 1% of the students quit a club, before pass 2 begins
            ids = ",".join(str(i) for i in changed)
            sql = ("UPDATE t_student_club_graduate_relation SET status = 0 "
                   "WHERE stu_clu_gra_rel_id IN (%s)" % ids)
            if eng == "sqlite":
                c = sqlite3.connect(where, timeout=30)
                c.execute(sql)
                c.commit()
                c.close()
            else:
                self.db_sql("pgsql", sql, db)
            b, a = self.wait_pass(2, db, self.interval + bound)
            self.record(eng, n, "1%% changed (%d students)" % len(changed),
                        b, a)
            b, a = self.wait_pass(3, db, self.interval + bound)
            self.record(eng, n, "no change (again)", b, a)
            if wrk:
                self.request_path(eng, n, db)
        finally:
            self.stop_httpd()
            if eng == "sqlite":
                for suffix in ("", "-wal", "-shm"):
                    try:
                        os.unlink(where + suffix)
                    except OSError:
                        pass

    def request_path(self, eng, n, db):
        """wrk on list-1 for `rounds` pairs of windows: one with no pass
        running (just after a pass ended), one inside the next pass."""
        # windows no longer than the pass minus its first 2 s and a margin
        # (the pass measured with no load; under wrk it takes longer)
        secs = max(2, min(self.args.wrk_seconds,
                          int(self.table[-1]["wall"]) - 3))
        body = B.signed_body(B.ONE_USER, B.ONE_TOKEN, "bench-list-1")
        with open(self.path("wrk", "list-1.lua"), "w") as f:
            f.write(B.lua_single("list-1 during reconciliation", "POST",
                                 "/im/get_group_chat_list", body))
        st, _, data = self.request("POST", "/im/get_group_chat_list", body)
        if st != 200 or json.loads(data).get("result_code") != 2000:
            raise B.SetupError("list-1: HTTP %d %r" % (st, data[:200]))
        k = int(self.metrics()["passes_total"])
        for rnd in range(self.args.wrk_rounds):
            # just after pass k ended: the next begins `interval` later
            end = self.metrics()["last_pass_seconds"]
            idle_start = time.time()
            if idle_start + secs + 2 > end + self.interval:
                raise B.SetupError("interval too short for a quiet window")
            m0 = self.metrics()["passes_total"]
            quiet = self.wrk("list-1", secs)
            if self.metrics()["passes_total"] != m0 or \
                    time.time() > end + self.interval:
                raise B.SetupError("a pass ran in the quiet window")
            # 2 s into pass k+1
            time.sleep(max(0, end + self.interval + 2 - time.time()))
            busy = self.wrk("list-1", secs)
            m1 = self.metrics()
            inside = m1["passes_total"] == k and \
                m1["last_pass_seconds"] == end
            while self.metrics()["passes_total"] < k + 1:
                time.sleep(0.2)
            loaded_wall = self.metrics()["last_pass_duration_seconds"]
            row = dict(engine=eng, students=n, round=rnd + 1, secs=secs,
                       pass_wall=loaded_wall,
                       quiet=quiet["rps"], busy=busy["rps"],
                       ratio=busy["rps"] / quiet["rps"],
                       inside=inside, errors=quiet["errors"] + busy["errors"],
                       quiet_p99=quiet["p99_us"], busy_p99=busy["p99_us"],
                       other=(quiet["other_cores"], busy["other_cores"]),
                       busy_httpd_cores=busy["httpd_cores"],
                       quiet_httpd_cores=quiet["httpd_cores"])
            B.log("request path: %s" % json.dumps(row))
            self.impact.append(row)
            k += 1

    def main(self):
        for d in ("run", "logs", "htdocs", "wrk", "conf"):
            os.makedirs(self.path(d), exist_ok=True)
        self.port = self.free_port()
        self.start_standin()
        sizes = [int(s) for s in self.args.sizes.split(",")]
        intervals = [int(s) for s in self.args.intervals.split(",")]
        engines = self.args.engines.split(",")
        for eng in engines:
            if eng == "pgsql":
                self.start_pgsql()
            for n, iv in zip(sizes, intervals):
                self.case(eng, n, iv, wrk=(n == max(sizes)
                                       and eng in self.args.wrk_engines))
            if eng == "pgsql":
                self.stop_engine("pgsql")
        text = self.report()
        print(text, flush=True)
        if self.args.results:
            with open(self.args.results, "w") as f:
                f.write(text)

    def report(self):
        L = ["| engine | students | pass | wall (s) | httpd child CPU (s) "
             "| other child CPU (s) | DB server CPU (s) | statements (pg) "
             "| students read | changes | RongCloud calls |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in self.table:
            calls = sum(r["rc"].values())
            L.append("| %s | %d | %s | %.2f | %.2f | %.2f | %s | %s | %d | %d "
                     "| %d (%s) |" % (
                         r["engine"], r["students"], r["case"], r["wall"],
                         r["cpu"], r["cpu_other"],
                         "%.2f" % r["dbcpu"] if r["engine"] == "pgsql"
                         else "-",
                         "-" if r["stmts"] is None else str(r["stmts"]),
                         r["m"]["students"], r["m"]["changes"], calls,
                         ", ".join("%s %d" % (k.strip("/").replace(
                             ".json", ""), v) for k, v in r["rc"].items()
                             if v) or "none"))
        if self.impact:
            L += ["", "| engine | students | round | req/s, no pass "
                  "| req/s, during a pass | ratio | inside the pass "
                  "| window (s) | that pass's wall (s) "
                  "| other cores, no pass / pass |",
                  "|---|---:|---:|---:|---:|---:|---|---:|---:|---|"]
            for r in self.impact:
                L.append("| %s | %d | %d | %.0f | %.0f | %.3f | %s | %d "
                         "| %.1f | %.2f / %.2f |" % (
                             r["engine"], r["students"], r["round"],
                             r["quiet"], r["busy"], r["ratio"],
                             "yes" if r["inside"] else "NO", r["secs"],
                             r["pass_wall"], r["other"][0], r["other"][1]))
        return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tree", required=True)
    ap.add_argument("--module", required=True)
    ap.add_argument("--scratch", required=True)
    ap.add_argument("--httpd", required=True)
    ap.add_argument("--moddir", required=True)
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--run-as", default="nobody")
    ap.add_argument("--sizes", default="20000,200000")
    ap.add_argument("--engines", default="sqlite,pgsql")
    ap.add_argument("--wrk-engines", default="sqlite,pgsql")
    ap.add_argument("--intervals", default="15,30",
                    help="WeclubsIMReconcileInterval (s) per size")
    ap.add_argument("--wrk-seconds", type=int, default=10)
    ap.add_argument("--wrk-rounds", type=int, default=2)
    ap.add_argument("--results", default=None)
    ap.add_argument("--impact-only", action="store_true",
                    help="at the largest size, one pass then wrk only")
    args = ap.parse_args()
    r = Reconcile(args)
    status = 0
    try:
        r.main()
    except B.SetupError as exc:
        B.log("setup failure: %s" % exc)
        status = 2
    except KeyboardInterrupt:
        status = 130
    finally:
        r.cleanup()
    return status


if __name__ == "__main__":
    sys.exit(main())
