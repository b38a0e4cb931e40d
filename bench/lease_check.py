#!/usr/bin/python3
"""After a graceful restart, when does the next reconciliation pass come?
(bench/README.md#reconciliation, "Which interval".) 2,000 students on
SQLite, WeclubsIMReconcileInterval 5 s: one pass, `httpd -k graceful`,
then the status page's passes and the t_im_rc_lease row every 2 s. Needs
the module built in /tmp/wcim-rbuild (or edit the paths below):

    python3 bench/lease_check.py
"""
import sys, time, os, sqlite3, subprocess, argparse
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reconcile as R, bench as B
S = "/tmp/wcim-lease"
os.makedirs(S, exist_ok=True); os.chmod(S, 0o755)
a = argparse.Namespace(tree="/tmp/wcim-rbuild", module="/tmp/wcim-rbuild/.libs/mod_weclubs_im.so",
    scratch=S, httpd="/usr/sbin/apache2", moddir="/usr/lib/apache2/modules", python="/usr/bin/python3",
    run_as="nobody", results=None, impact_only=False, wrk_seconds=2, wrk_rounds=1)
r = R.Reconcile(a)
try:
    for d in ("run", "logs", "htdocs", "wrk", "conf"):
        os.makedirs(r.path(d), exist_ok=True)
    r.port = r.free_port(); r.start_standin()
    plan, rows, changed = R.campus_rows(2000)
    where = r.load_sqlite(2000, rows)
    r.interval = 5
    r.start_rhttpd("sqlite", where)
    def lease():
        c = sqlite3.connect(where); v = c.execute("SELECT holder, until_ms FROM t_im_rc_lease").fetchall(); c.close(); return v
    def passes():
        return r.metrics().get("passes_total"), r.metrics().get("last_pass_seconds")
    time.sleep(7); print("before restart", time.time(), passes(), lease(), r.children())
    conf = r.path("conf", "httpd.conf")
    r.run([r.httpd, "-f", conf, "-k", "graceful"], 30, as_user=True)
    t0 = time.time()
    for i in range(16):
        time.sleep(2)
        print("+%.0f s" % (time.time() - t0), passes(), lease(), list(r.children()))
finally:
    r.cleanup()
