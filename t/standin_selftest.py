#!/usr/bin/python3
"""Self-test for rongcloud_standin.py: starts it on an ephemeral port, drives
every endpoint and fault mode with urllib, and prints "N passed, M failed".
Exit status 0 only when nothing failed. Standard library only.
"""

import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
STANDIN = os.path.join(HERE, "rongcloud_standin.py")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
KEY, SECRET = "testappkey", "testappsecret"
FORM = "application/x-www-form-urlencoded"

passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL: %s %s" % (name, detail))
    return cond


class Standin:
    """One stand-in process; waits for its port file like a harness would."""

    def __init__(self, tmp, *extra, user=None, name="standin", script=STANDIN):
        self.dir = tmp
        self.port_file = os.path.join(tmp, name + ".port")
        self.log = os.path.join(tmp, name + ".log")
        cmd = [PYTHON, script, "--listen", "127.0.0.1:0", "--port-file", self.port_file]
        cmd += list(extra)
        if user is None:
            cmd += ["--log", self.log]
        else:
            cmd = ["runuser", "-u", user, "--"] + cmd
        self.scheme = "https" if "--tls-cert" in extra else "http"
        self.ctx = None
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                     stderr=None if user is None else subprocess.DEVNULL)
        deadline = time.time() + 10
        while not os.path.exists(self.port_file):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("stand-in did not start: %r" % cmd)
            time.sleep(0.02)
        with open(self.port_file) as f:
            text = f.read()
        assert text.endswith("\n") and text.strip().isdigit(), repr(text)
        self.port = int(text)
        self.base = "%s://127.0.0.1:%d" % (self.scheme, self.port)

    def stop(self, sig=signal.SIGTERM, timeout=5):
        """Returns (exit status, seconds taken) or (None, timeout) if it hung."""
        t0 = time.time()
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None, timeout
        return rc, time.time() - t0

    # -- HTTP helpers -------------------------------------------------------

    def request(self, path, data=None, headers=None, method=None, timeout=10):
        """Returns (status, body bytes, response headers); a dropped connection
        comes back as (None, exception, None)."""
        req = urllib.request.Request(self.base + path, data=data,
                                     headers=headers or {}, method=method)
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=self.ctx) as r:
                return r.status, r.read(), r.headers
        except urllib.error.HTTPError as e:
            return e.code, e.read(), e.headers
        except (OSError, http.client.HTTPException) as e:
            return None, e, None

    def control(self, endpoint, **query):
        q = ("?" + urllib.parse.urlencode(query)) if query else ""
        status, body, _ = self.request("/_control/" + endpoint + q)
        return status, (json.loads(body) if status else body)

    def api(self, path, fields=None, raw=None, ctype=FORM, auth=None, timeout=10):
        """fields: list of pairs, percent-encoded like a correct client would;
        raw: exact body bytes; auth: headers overriding a correct signature."""
        body = raw if raw is not None else urllib.parse.urlencode(fields or []).encode()
        headers = sign() if auth is None else auth
        if ctype is not None:
            headers["Content-Type"] = ctype
        status, data, rh = self.request(path, body, headers, "POST", timeout)
        try:
            obj = json.loads(data) if status else None
        except ValueError:
            obj = None
        return status, obj, data, rh

    def last_call(self):
        return self.control("calls")[1]["calls"][-1]


def sign(key=KEY, secret=SECRET, nonce="n0nce123", ts=None, prefix="", sig=None):
    ts = str(int(time.time())) if ts is None else ts
    sig = hashlib.sha1((secret + nonce + ts).encode()).hexdigest() if sig is None else sig
    return {prefix + "App-Key": key, prefix + "Nonce": nonce,
            prefix + "Timestamp": ts, prefix + "Signature": sig}


def token_fields(user="im_user_id_38", name="张三", portrait=""):
    return [("userId", user), ("name", name), ("portraitUri", portrait)]


# ---------------------------------------------------------------------------

def test_signing(s):
    st, obj, _, _ = s.api("/user/getToken.json", token_fields())
    check("getToken ok", st == 200 and obj["code"] == 200 and obj["userId"] == "im_user_id_38",
          (st, obj))
    tok1 = obj and obj.get("token", "")
    check("token format", tok1.startswith("tok-im_user_id_38-") and tok1.endswith("+/=")
          and len(tok1.encode()) <= 256, tok1)
    st, obj, _, _ = s.api("/user/getToken.json", token_fields(), auth=sign(prefix="RC-"))
    check("RC- header names accepted", st == 200, (st, obj))
    check("tokens distinct per issue", obj and obj["token"] != tok1, (tok1, obj))
    c = s.last_call()
    check("call record", c["auth_ok"] and c["errors"] == [] and c["status"] == 200
          and c["mode"] == "ok" and c["method"] == "POST"
          and c["form"] == [["userId", "im_user_id_38"], ["name", "张三"], ["portraitUri", ""]]
          and c["headers"].get("rc-app-key") == KEY and isinstance(c["time"], float), c)

    now = int(time.time())
    bad = {
        "wrong signature": sign(sig="0" * 40),
        "signed with app key": sign(secret=KEY),
        "uppercase signature": sign(sig=hashlib.sha1(
            (SECRET + "n0nce123" + str(now)).encode()).hexdigest().upper(), ts=str(now)),
        "wrong app key": sign(key="otherkey"),
        "stale timestamp": sign(ts=str(now - 301)),
        "future timestamp": sign(ts=str(now + 400)),
        "millisecond timestamp": sign(ts=str(now * 1000)),
        "non-digit timestamp": sign(ts="12a4"),
        "long nonce": sign(nonce="x" * 19),
        "empty nonce": sign(nonce=""),
        "missing headers": {},
    }
    for name, headers in bad.items():
        st, obj, _, _ = s.api("/user/getToken.json", token_fields(), auth=headers)
        c = s.last_call()
        check("refused: " + name, st == 401 and obj == {"code": 1004, "errorMessage":
                                                        "signature error"}
              and c["auth_ok"] is False and c["status"] == 401 and c["errors"], (st, obj, c))
    st, _, _, _ = s.api("/user/getToken.json", token_fields(), auth=sign(nonce="x" * 18))
    check("18-char nonce accepted", st == 200, st)
    st, _, _, _ = s.api("/user/getToken.json", token_fields(), auth=sign(ts=str(now - 250)))
    check("timestamp inside window accepted", st == 200, st)


def test_encoding(s):
    st, obj, _, _ = s.api("/user/getToken.json", token_fields(), ctype=FORM + "; charset=UTF-8")
    check("charset parameter allowed", st == 200, (st, obj))
    for ctype in ("application/json", None):
        if ctype is not None:
            st, obj, _, _ = s.api("/user/getToken.json", token_fields(), ctype=ctype)
        else:   # urllib would add the form type itself; send it raw
            conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=5)
            conn.putrequest("POST", "/user/getToken.json")
            for k, v in sign().items():
                conn.putheader(k, v)
            body = b"userId=u1&name=a"
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            r = conn.getresponse()
            st, obj = r.status, json.loads(r.read())
            conn.close()
        check("wrong content type %r -> 400/1002" % ctype,
              st == 400 and obj["code"] == 1002 and s.last_call()["errors"], (st, obj))

    cases = {
        "bad hex escape": b"userId=u1&name=%G1",
        "truncated escape": b"userId=u1&name=ab%4",
        "lone percent": b"userId=u1&name=50%",
        "raw space": b"userId=u1&name=a b",
        "raw non-ASCII": "userId=u1&name=张三".encode(),
        "invalid UTF-8": b"userId=u1&name=%FF%FE",
        "overlong UTF-8": b"userId=u1&name=%C0%AF",
        "raw & in value": b"userId=u1&name=Tom&Jerry",
        "raw = in value": b"userId=u1&name=a=b",
        "empty field": b"userId=u1&&name=a",
    }
    for name, body in cases.items():
        st, obj, _, _ = s.api("/user/getToken.json", raw=body)
        c = s.last_call()
        check("refused: " + name, st == 400 and obj["code"] == 1002 and c["errors"]
              and c["auth_ok"] is True and c["status"] == 400, (st, obj, c["errors"]))
    st, obj, _, _ = s.api("/user/getToken.json", raw=b"userId=u1&name=Tom+%26+Jerry%3D%2B")
    check("'+' is space, escapes decoded", st == 200 and s.last_call()["form"][1] ==
          ["name", "Tom & Jerry=+"], s.last_call()["form"])

    fields = {
        "missing userId": ([("name", "a")], 1002),
        "empty userId": ([("userId", ""), ("name", "a")], 1002),
        "missing name": ([("userId", "u1")], 1002),
        "bad userId chars": ([("userId", "u/1"), ("name", "a")], 1002),
        "duplicate userId": ([("userId", "u1"), ("userId", "u2"), ("name", "a")], 1002),
        "userId 65 bytes": ([("userId", "u" * 65), ("name", "a")], 1005),
        "empty name": (token_fields("u1", ""), 1002),
        # 64 characters whatever the script, emoji counting 2 (UTF-16
        # units, server-sdk-java CommonUtil.java String.length())
        "name 65 characters": ([("userId", "u1"), ("name", "名" * 65)], 1002),
        "name 63 + an emoji (65 units)": (token_fields("u1", "a" * 63 + "\U0001F600"),
                                          1002),
        "name 33 emoji (66 units)": (token_fields("u1", "\U0001F600" * 33), 1002),
        "portraitUri 1025 bytes": (token_fields("u1", "a", "h" * 1025), 1002),
    }
    for name, (form, code) in fields.items():
        st, obj, _, _ = s.api("/user/getToken.json", form)
        check("refused: %s -> %d" % (name, code), st == 400 and obj["code"] == code
              and s.last_call()["errors"], (st, obj))
    for name, form in {"name 64 characters (192 bytes)": token_fields("u1", "名" * 64),
                       "name 30 characters (90 bytes)": token_fields("u1", "名" * 30),
                       "name 62 + an emoji (64 units)":
                           token_fields("u1", "a" * 62 + "\U0001F600"),
                       "userId 64 bytes +=_-": token_fields("A1+=_-" + "z" * 58, "a"),
                       "portraitUri 1024 bytes": token_fields("u1", "a", "h" * 1024),
                       "no portraitUri": [("userId", "u1"), ("name", "a")]}.items():
        st, obj, _, _ = s.api("/user/getToken.json", form)
        check("accepted: " + name, st == 200 and obj.get("token"), (st, obj))

    st, obj, _, _ = s.api("/user/refresh.json", token_fields("u1", "新名字", "http://x/a.png"))
    check("refresh ok", st == 200 and obj == {"code": 200}, (st, obj))
    st, obj, _, _ = s.api("/user/refresh.json", [("name", "a")])
    check("refresh without userId -> 1002", st == 400 and obj["code"] == 1002, (st, obj))
    for name, form in {"empty name": token_fields("u1", ""),
                       "name 65 characters": token_fields("u1", "a" * 65),
                       "name 65 Chinese characters": token_fields("u1", "名" * 65),
                       "portraitUri 1025 bytes": token_fields("u1", "a", "h" * 1025)}.items():
        st, obj, _, _ = s.api("/user/refresh.json", form)
        check("refresh refused: %s -> 1002" % name, st == 400 and obj["code"] == 1002,
              (st, obj))
    st, obj, _, _ = s.api("/user/refresh.json", [("userId", "u1"), ("portraitUri", "http://x/b.png")])
    check("refresh without name (left as it was)", st == 200 and obj == {"code": 200}, (st, obj))
    st, obj, _, _ = s.api("/user/nosuch.json", token_fields())
    check("unknown path -> 404", st == 404 and obj == {"code": 404, "errorMessage": "not found"},
          (st, obj))
    st, _, _ = s.request("/user/getToken.json")
    check("GET on API path refused", st == 405, st)


def test_groups(s):
    q = lambda t: urllib.parse.quote(t, safe="")
    raw = ("userId=im_user_id_38&group[im_club_id_1]=%s&group[im_club_id_2]=%s"
           % (q("社团 A&B"), q("读书会"))).encode()
    st, obj, _, _ = s.api("/group/sync.json", raw=raw)
    c = s.last_call()
    check("group sync, raw brackets", st == 200 and obj == {"code": 200} and c["form"] == [
        ["userId", "im_user_id_38"], ["group[im_club_id_1]", "社团 A&B"],
        ["group[im_club_id_2]", "读书会"]] and c["errors"] == [], (st, obj, c["form"]))
    st, obj, _, _ = s.api("/group/sync.json", [("userId", "im_user_id_38"),
                                               ("group[im_club_id_3]", "摄影+爱好者")])
    c = s.last_call()
    check("group sync, encoded brackets", st == 200 and "%5B" in c["raw_body"]
          and c["form"][1] == ["group[im_club_id_3]", "摄影+爱好者"], (st, c))
    st, obj, _, _ = s.api("/group/sync.json", [("userId", "im_user_id_38")])
    check("group sync with no groups", st == 200, (st, obj))
    st, obj, _, _ = s.api("/group/sync.json", [("userId", "u1"), ("group[a]", "x"),
                                               ("group[a]", "y")])
    check("duplicate group refused", st == 400 and obj["code"] == 1002, (st, obj))
    st, obj, _, _ = s.api("/group/sync.json", [("userId", "u1"), ("group[]", "x")])
    check("group[] is not a group (ignored)", st == 200, (st, obj))
    # group/sync has no documented limit on a name's length or the number
    # of groups (docs sync-group; no SDK checks either): both accepted
    st, obj, _, _ = s.api("/group/sync.json", [("userId", "u1"), ("group[a]", "名" * 100)])
    check("group name of 300 bytes accepted", st == 200 and obj == {"code": 200}, (st, obj))
    st, obj, _, _ = s.api("/group/sync.json", [("userId", "u1")] +
                          [("group[g%d]" % i, "x") for i in range(501)])
    check("501 groups accepted", st == 200 and obj == {"code": 200}, (st, obj))
    st, obj, _, _ = s.api("/group/sync.json", [("userId", "u1"), ("group[a/b]", "x")])
    check("bad group id -> 1005", st == 400 and obj["code"] == 1005, (st, obj))


def test_tokens(s):
    """Tokens connect until user/token/expire or a lifetime ends them;
    an earlier token stays valid when a new one is issued."""
    def connects(tok):
        return s.control("connect?token=" + urllib.parse.quote(tok, safe=""))[1]
    st, one, _, _ = s.api("/user/getToken.json", token_fields(user="u_tok"))
    st2, two, _, _ = s.api("/user/getToken.json", token_fields(user="u_tok"))
    check("two tokens, both connect", st == st2 == 200 and one["token"] != two["token"]
          and connects(one["token"])["connects"] and connects(two["token"])["connects"],
          (one, two))
    check("an unknown token does not connect",
          connects("tok-nobody-1")["connects"] is False)
    st, obj, _, _ = s.api("/user/token/expire.json",
                          [("userId", "u_tok"), ("time", str(int(time.time() * 1000) + 1))])
    check("user/token/expire answers 200", st == 200 and obj == {"code": 200}, (st, obj))
    check("tokens issued before it stop connecting",
          not connects(one["token"])["connects"] and not connects(two["token"])["connects"],
          connects(one["token"]))
    time.sleep(0.01)
    st, three, _, _ = s.api("/user/getToken.json", token_fields(user="u_tok"))
    check("a token issued after it connects", connects(three["token"])["connects"], three)
    st, obj, _, _ = s.api("/user/token/expire.json", [("userId", "u_tok")])
    check("expire without time refused (1002)", st == 400 and obj["code"] == 1002, (st, obj))
    st, obj, _, _ = s.api("/user/token/expire.json",
                          [("userId", "u%d" % i) for i in range(21)] + [("time", "1")])
    check("expire of 21 users refused (1002)", st == 400 and obj["code"] == 1002, (st, obj))
    s.control("token_lifetime?seconds=0.2")
    time.sleep(0.3)
    check("past the console's lifetime a token stops connecting",
          connects(three["token"])["why"] == "older than the token lifetime",
          connects(three["token"]))
    s.control("reset")
    check("reset ends the lifetime", connects(three["token"])["connects"])
    s.control("expire?user=all")
    check("expire?user=all ends every token", not connects(three["token"])["connects"])
    time.sleep(0.01)
    st, four, _, _ = s.api("/user/getToken.json", token_fields(user="u_tok"))
    check("and a new one connects", connects(four["token"])["connects"], four)


def test_membership(s):
    """The calls of a semester's changes: their rules, and what RongCloud
    then holds (memberships, names, blocks)."""
    s.control("forget")
    members = lambda g: s.control("members", group=g)[1]["users"]
    groups = lambda u: s.control("groups", user=u)[1]["groups"]
    user = lambda u: s.control("user", user=u)[1]
    group = lambda g: s.control("group", group=g)[1]

    def connects(tok):
        return s.control("connect", token=tok)[1]

    def refused(what, path, form, code=1002):
        st, obj, _, _ = s.api(path, form)
        c = s.last_call()
        check("%s refused -> %d" % (what, code), st == 400 and obj and obj["code"] == code
              and c["errors"], (st, obj))

    def accepted(what, path, form):
        st, obj, _, _ = s.api(path, form)
        check("%s accepted" % what, st == 200 and obj and obj["code"] == 200, (st, obj))
        return obj

    # group/sync sets the user's whole set; quit removes one; sync again
    accepted("sync m1 to g1 g2", "/group/sync.json",
             [("userId", "m1"), ("group[g1]", "读书会"), ("group[g2]", "摄影")])
    accepted("sync m2 to g1", "/group/sync.json", [("userId", "m2"), ("group[g1]", "读书会")])
    check("sync binds: members of g1", members("g1") == ["m1", "m2"], members("g1"))
    check("sync binds: groups of m1 with names",
          groups("m1") == {"g1": "读书会", "g2": "摄影"}, groups("m1"))
    check("reset keeps what RongCloud holds",
          s.control("reset")[0] == 200 and members("g1") == ["m1", "m2"])
    accepted("quit one user", "/group/quit.json", [("userId", "m1"), ("groupId", "g2")])
    check("quit unbinds him from that group only", groups("m1") == {"g1": "读书会"}
          and members("g2") == [], (groups("m1"), members("g2")))
    accepted("sync m1 to g2 g3 (not g1)", "/group/sync.json",
             [("userId", "m1"), ("group[g2]", "摄影社"), ("group[g3]", "棋社")])
    check("sync unbinds a group not listed, binds the new",
          groups("m1") == {"g2": "摄影社", "g3": "棋社"} and members("g1") == ["m2"],
          (groups("m1"), members("g1")))
    check("sync renames a group it lists", group("g2")["name"] == "摄影社", group("g2"))
    accepted("sync with no group", "/group/sync.json", [("userId", "m1")])
    check("sync with no group unbinds all", groups("m1") == {}, groups("m1"))
    accepted("quit of two users", "/group/quit.json",
             [("userId", "m2"), ("userId", "m1"), ("groupId", "g1")])
    check("quit of two users unbinds both", members("g1") == [], members("g1"))
    accepted("quit of a user not in the group", "/group/quit.json",
             [("userId", "nobody"), ("groupId", "g1")])
    accepted("quit of 1000 users", "/group/quit.json",
             [("userId", "q%d" % i) for i in range(1000)] + [("groupId", "g1")])
    refused("quit of 1001 users", "/group/quit.json",
            [("userId", "q%d" % i) for i in range(1001)] + [("groupId", "g1")])
    refused("quit without userId", "/group/quit.json", [("groupId", "g1")])
    refused("quit without groupId", "/group/quit.json", [("userId", "m1")])
    refused("quit with two groupIds", "/group/quit.json",
            [("userId", "m1"), ("groupId", "g1"), ("groupId", "g2")])
    refused("quit with a bad userId", "/group/quit.json", [("userId", "m/1"), ("groupId", "g1")])
    refused("quit with a bad groupId", "/group/quit.json",
            [("userId", "m1"), ("groupId", "g/1")], 1005)

    # dismiss: the group is gone for everyone
    for u in ("m1", "m2", "m3"):
        s.api("/group/sync.json", [("userId", u), ("group[g4]", "乐队"), ("group[g5]", "话剧")])
    accepted("dismiss by any user", "/group/dismiss.json", [("userId", "m3"), ("groupId", "g4")])
    check("dismiss unbinds every member", members("g4") == [] and
          all(groups(u) == {"g5": "话剧"} for u in ("m1", "m2", "m3")),
          (members("g4"), groups("m1")))
    check("dismiss forgets the name", group("g4")["name"] is None, group("g4"))
    check("other groups stay", members("g5") == ["m1", "m2", "m3"], members("g5"))
    refused("dismiss without userId", "/group/dismiss.json", [("groupId", "g5")])
    refused("dismiss without groupId", "/group/dismiss.json", [("userId", "m1")])
    refused("dismiss with two userIds", "/group/dismiss.json",
            [("userId", "m1"), ("userId", "m2"), ("groupId", "g5")])
    check("a refused dismiss changes nothing", members("g5") == ["m1", "m2", "m3"])

    # group/refresh renames
    accepted("group refresh", "/group/refresh.json", [("groupId", "g5"), ("groupName", "话剧社 A&B")])
    check("group refresh renames", group("g5") == {"name": "话剧社 A&B", "members": 3}
          and groups("m1") == {"g5": "话剧社 A&B"}, (group("g5"), groups("m1")))
    accepted("group refresh with a name of 100 characters", "/group/refresh.json",
             [("groupId", "g5"), ("groupName", "名" * 100)])
    refused("group refresh without groupName", "/group/refresh.json", [("groupId", "g5")])
    refused("group refresh with empty groupName", "/group/refresh.json",
            [("groupId", "g5"), ("groupName", "")])
    refused("group refresh without groupId", "/group/refresh.json", [("groupName", "x")])
    refused("group refresh with a bad groupId", "/group/refresh.json",
            [("groupId", "g 5"), ("groupName", "x")], 1005)

    # user names: getToken and refresh set them
    st, tok, _, _ = s.api("/user/getToken.json", token_fields("b1", "张三", "http://x/a.png"))
    check("getToken sets name and portrait",
          user("b1") == {"name": "张三", "portraitUri": "http://x/a.png", "blocked": False,
                         "blockEnd": None}, user("b1"))
    accepted("user refresh of the name", "/user/refresh.json", [("userId", "b1"), ("name", "李四")])
    check("refresh sets the name, leaves the portrait",
          user("b1")["name"] == "李四" and user("b1")["portraitUri"] == "http://x/a.png", user("b1"))
    accepted("user refresh of the portrait", "/user/refresh.json",
             [("userId", "b1"), ("portraitUri", "http://x/b.png")])
    check("refresh sets the portrait, leaves the name",
          user("b1")["name"] == "李四" and user("b1")["portraitUri"] == "http://x/b.png", user("b1"))
    refused("user refresh of a name of 65 characters", "/user/refresh.json",
            [("userId", "b1"), ("name", "名" * 65)])
    check("a refused refresh changes nothing", user("b1")["name"] == "李四")

    # block -> no connection -> unblock -> connects
    tok = tok["token"]
    check("before a block his token connects", connects(tok)["connects"], connects(tok))
    t0 = time.time()
    obj = accepted("block for 10 minutes", "/user/block.json", [("userId", "b1"), ("minute", "10")])
    check("block answers only the code", obj == {"code": 200}, obj)
    check("a blocked user's token does not connect",
          connects(tok) == {"connects": False, "why": "blocked"}, connects(tok))
    info = user("b1")
    check("user shows the block and its end", info["blocked"] is True
          and t0 + 600 - 1 <= info["blockEnd"] <= time.time() + 600 + 1, info)
    st, obj, _, _ = s.api("/user/block/query.json", [])
    check("block/query lists him with his end time",
          st == 200 and obj["code"] == 200 and obj["users"] == [{
              "userId": "b1", "blockEndTime": time.strftime(
                  "%Y-%m-%d %H:%M:%S", time.gmtime(info["blockEnd"]))}], (st, obj))
    st, tok2, _, _ = s.api("/user/getToken.json", token_fields("b1", "李四"))
    check("a token issued during the block does not connect either",
          st == 200 and connects(tok2["token"])["why"] == "blocked", (st, tok2))
    accepted("unblock", "/user/unblock.json", [("userId", "b1")])
    check("after unblock both tokens connect", connects(tok)["connects"]
          and connects(tok2["token"])["connects"], (connects(tok), connects(tok2["token"])))
    check("after unblock user is not blocked", user("b1")["blocked"] is False, user("b1"))
    check("after unblock block/query is empty",
          s.api("/user/block/query.json", [])[1] == {"code": 200, "users": []})

    # a block that runs out
    accepted("block of two users for 1 minute", "/user/block.json",
             [("userId", "b1"), ("userId", "b2"), ("minute", "1")])
    check("both blocked", user("b1")["blocked"] and user("b2")["blocked"])
    check("block_ends control", s.control("block_ends", user="b1", seconds="0.2")[0] == 200)
    st, obj, _, _ = s.api("/user/block/query.json", [])
    check("block/query: the later end first", [u["userId"] for u in obj["users"]] == ["b2", "b1"],
          obj)
    time.sleep(0.3)
    check("a block past its end is gone: connects again", connects(tok)["connects"]
          and user("b1")["blocked"] is False and user("b2")["blocked"] is True,
          (connects(tok), user("b1")))
    check("block_ends of a user not blocked -> 400",
          s.control("block_ends", user="b1", seconds="1")[0] == 400)
    st, obj, _, _ = s.api("/user/block/query.json", [("page", "1"), ("size", "1")])
    check("block/query page 1 size 1", st == 200 and
          [u["userId"] for u in obj["users"]] == ["b2"], (st, obj))
    st, obj, _, _ = s.api("/user/block/query.json", [("page", "2"), ("size", "1")])
    check("block/query page 2 size 1 is empty", st == 200 and obj["users"] == [], (st, obj))
    refused("block/query with page not a number", "/user/block/query.json", [("page", "x")])
    refused("block/query with size 0", "/user/block/query.json", [("page", "1"), ("size", "0")])
    accepted("unblock of two users", "/user/unblock.json", [("userId", "b2"), ("userId", "b1")])
    check("unblock of two: none blocked", not user("b2")["blocked"])

    for minute in ("0", "43201", "-1", "1.5", "x", ""):
        refused("block with minute %r" % minute, "/user/block.json",
                [("userId", "b3"), ("minute", minute)])
    refused("block without minute", "/user/block.json", [("userId", "b3")])
    refused("block with two minutes", "/user/block.json",
            [("userId", "b3"), ("minute", "1"), ("minute", "2")])
    refused("block without userId", "/user/block.json", [("minute", "1")])
    refused("block of 21 users", "/user/block.json",
            [("userId", "u%d" % i) for i in range(21)] + [("minute", "1")])
    refused("block with a userId of 65 bytes", "/user/block.json",
            [("userId", "u" * 65), ("minute", "1")], 1005)
    check("refused blocks block nobody", not user("b3")["blocked"] and
          not user("u0")["blocked"])
    accepted("block for 43200 minutes", "/user/block.json", [("userId", "b3"), ("minute", "43200")])
    accepted("block of 20 users", "/user/block.json",
             [("userId", "u%d" % i) for i in range(20)] + [("minute", "1")])
    refused("unblock without userId", "/user/unblock.json", [])
    refused("unblock of 21 users", "/user/unblock.json", [("userId", "u%d" % i) for i in range(21)])
    accepted("unblock of 20 users", "/user/unblock.json", [("userId", "u%d" % i) for i in range(20)])
    check("unblock of 20: none blocked", not any(user("u%d" % i)["blocked"] for i in range(20)))

    # a call answered by a fault changes nothing
    set_mode(s, set="e500", count=1, path="/group/dismiss.json")
    st, _, _, _ = s.api("/group/dismiss.json", [("userId", "m1"), ("groupId", "g5")])
    check("a dismiss answered 500 leaves the group", st == 500 and len(members("g5")) == 3,
          (st, members("g5")))

    # rate limits of the new calls: 100/s each (docs)
    lim = s.control("limits")[1]["limits"]
    check("new calls limited to 100/s", all(lim.get(p) == 100 for p in (
        "/user/block.json", "/user/unblock.json", "/user/block/query.json",
        "/group/quit.json", "/group/dismiss.json", "/group/refresh.json")), lim)
    for p in ("/user/block.json", "/group/quit.json", "/group/refresh.json"):
        check("mode path accepts %s" % p, s.control("mode", set="ok", path=p)[0] == 200)

    # forget: a clean RongCloud
    check("forget", s.control("forget") == (200, {"ok": True}))
    check("forget clears memberships, names and blocks",
          members("g5") == [] and groups("m1") == {} and group("g5")["name"] is None
          and user("b1")["name"] is None and not user("b3")["blocked"],
          (members("g5"), user("b1"), user("b3")))
    check("forget keeps tokens", connects(tok)["connects"])
    for bad in ("members", "groups", "user", "group"):
        st, obj = s.control(bad)
        check("control %s without argument answers empty" % bad, st == 200, (st, obj))


def set_mode(s, **kw):
    st, obj = s.control("mode", **kw)
    return check("set mode %r" % kw, st == 200 and obj == {"ok": True}, (st, obj))


def test_faults(s):
    T = "/user/getToken.json"
    s.control("reset")
    simple = {"e500": (500, {"code": 500, "errorMessage": "internal error"}),
              "e503": (503, {"code": 500, "errorMessage": "internal error"}),
              "e401": (401, {"code": 1004, "errorMessage": "signature error"}),
              "rate": (429, {"code": 1008, "errorMessage": "rate limit exceeded"}),
              "code": (200, {"code": 1005, "errorMessage": "error 1005"}),
              "notoken": (200, {"code": 200, "userId": "im_user_id_38"})}
    for mode, (status, body) in simple.items():
        set_mode(s, set=mode)
        for i in range(2):
            st, obj, _, _ = s.api(T, token_fields())
            c = s.last_call()
            check("mode %s (call %d)" % (mode, i + 1), st == status and obj == body
                  and c["mode"] == mode and c["status"] == status and c["auth_ok"], (st, obj, c))
    set_mode(s, set="code", code=2007)
    st, obj, _, _ = s.api(T, token_fields())
    check("mode code=2007", st == 200 and obj == {"code": 2007, "errorMessage": "error 2007"},
          (st, obj))
    set_mode(s, set="e401")
    st, obj, _, _ = s.api(T, token_fields(), auth=sign(sig="bad"))
    check("fault calls still record auth problems", st == 401
          and s.last_call()["auth_ok"] is False, s.last_call())

    set_mode(s, set="garbage")
    st, obj, data, rh = s.api(T, token_fields())
    check("mode garbage", st == 200 and data == b"<html>not json</html>"
          and rh["Content-Type"].startswith("application/json"), (st, data))

    set_mode(s, set="huge")
    st, obj, data, _ = s.api(T, token_fields(), timeout=30)
    check("mode huge", st == 200 and len(data) >= 5 * 1024 * 1024 and obj
          and obj["code"] == 200, (st, len(data) if isinstance(data, bytes) else data))

    set_mode(s, set="slow", delay=0.6)
    t0 = time.time()
    st, obj, _, _ = s.api(T, token_fields())
    dt = time.time() - t0
    check("mode slow", st == 200 and obj.get("token") and 0.6 <= dt < 3, (st, dt))

    set_mode(s, set="close")
    st, err, _, _ = s.api(T, token_fields())
    check("mode close drops connection", st is None and s.last_call()["status"] is None,
          (st, err))

    # hang: the call must be visible in /calls while the handler sleeps
    s.control("reset")
    set_mode(s, set="hang", delay=1.5)
    result = {}
    t0 = time.time()
    th = threading.Thread(target=lambda: result.update(r=s.api(T, token_fields(), timeout=10)))
    th.start()
    seen = None
    while time.time() - t0 < 1.2:
        if s.control("count", path=T)[1]["count"] == 1:
            seen = time.time() - t0
            break
        time.sleep(0.05)
    check("hanging call recorded before it ends", seen is not None and seen < 1.2, seen)
    th.join(15)
    dt = time.time() - t0
    check("mode hang closes without answer", result["r"][0] is None and 1.5 <= dt < 5,
          (result.get("r"), dt))
    st, obj, _, _ = s.api(T, token_fields(), timeout=0.5)
    check("hang stays on for the next call (client times out)", st is None, st)

    set_mode(s, set="hang")
    check("hang without delay uses the default (60 s)", s.control("mode")[1]["delay"] is None)
    set_mode(s, set="ok")
    st, _, _, _ = s.api(T, token_fields())
    check("mode ok restores", st == 200, st)

    # count-limited
    set_mode(s, set="e500", count=2)
    sts = [s.api(T, token_fields())[0] for _ in range(3)]
    check("count=2 then ok", sts == [500, 500, 200], sts)
    check("mode reverted to ok", s.control("mode")[1]["mode"] == "ok")

    # path-limited, and count only consumed by the matching path
    set_mode(s, set="e503", path="/group/sync.json", count=1)
    st1 = s.api(T, token_fields())[0]
    st2 = s.api("/group/sync.json", [("userId", "u1")])[0]
    st3 = s.api("/group/sync.json", [("userId", "u1")])[0]
    check("path-limited e503", (st1, st2, st3) == (200, 503, 200), (st1, st2, st3))
    # a delay for one path alone, every call (t/31-sync-once.t: each
    # group/sync answered after 300 ms, getToken at once)
    set_mode(s, set="slow", path="/group/sync.json", delay=0.3)
    times = []
    for p in ("/group/sync.json", T, "/group/sync.json"):
        t0 = time.time()
        st = s.api(p, [("userId", "u1")] if p != T else token_fields())[0]
        times.append((st, time.time() - t0))
    check("path-limited slow, every call",
          all(st == 200 for st, _ in times) and times[0][1] >= 0.3
          and times[2][1] >= 0.3 and times[1][1] < 0.3, times)
    set_mode(s, set="rate", path=T)
    st1 = s.api("/user/refresh.json", token_fields())[0]
    st2 = s.api(T, token_fields())[0]
    check("path-limited rate", (st1, st2) == (200, 429), (st1, st2))
    st, _, _, _ = s.api("/user/nosuch.json", token_fields())
    check("faults never apply to unknown paths", st == 404, st)
    set_mode(s, set="e500")
    check("faults never apply to /_control", s.control("ping") == (200, {"ok": True}))

    for bad in ({"set": "bogus"}, {"set": "slow", "delay": "x"}, {"set": "e500", "count": "0"},
                {"set": "e500", "path": "/nope"}, {"set": "code", "code": "abc"}):
        st, obj = s.control("mode", **bad)
        check("control mode refuses %r" % bad, st == 400, (st, obj))
    s.control("reset")


def test_rate_limits(s):
    """RongCloud's per-app limits: a bucket of one second's calls, refused
    with 429/1008 beyond it, per path."""
    s.control("reset")
    T = "/user/getToken.json"
    check("default limits are RongCloud's", s.control("limits")[1]["limits"] ==
          {T: 200, "/user/refresh.json": 100, "/group/sync.json": 100,
           "/user/block.json": 100, "/user/unblock.json": 100,
           "/user/block/query.json": 100, "/group/quit.json": 100,
           "/group/dismiss.json": 100, "/group/refresh.json": 100})
    s.control("limits", path=T, rate="5")
    sts = [s.api(T, token_fields())[:2] for _ in range(8)]
    codes = [st for st, _ in sts]
    check("over the bucket: 429 with code 1008", codes[:5] == [200] * 5 and
          all(st == 429 and obj == {"code": 1008, "errorMessage": "rate limit exceeded"}
              for st, obj in sts[5:]), codes)
    st = s.api("/group/sync.json", [("userId", "u1")])[0]
    check("limits are per path", st == 200, st)
    check("a refused call is recorded as limited",
          s.last_call()["path"] == "/group/sync.json" and
          s.control("calls", path=T)[1]["calls"][-1]["limited"] is True)
    time.sleep(0.45)
    check("the bucket refills at the rate", s.api(T, token_fields())[0] == 200)
    st, obj = s.control("busiest", path=T)
    check("busiest second counts every call, refused ones apart",
          st == 200 and obj == {"calls": 9, "refused": 3}, obj)
    for bad in ({"path": "/nope", "rate": "1"}, {"path": T, "rate": "-1"}):
        st, obj = s.control("limits", **bad)
        check("control limits refuses %r" % bad, st == 400, (st, obj))
    s.control("limits", path=T, rate="0")
    check("rate 0: no limit", all(s.api(T, token_fields())[0] == 200 for _ in range(10)))
    s.control("reset")
    check("reset restores RongCloud's limits", s.control("limits")[1]["limits"][T] == 200)


def test_control(s):
    check("ping", s.control("ping") == (200, {"ok": True}))
    st, obj = s.control("reset")
    check("reset", st == 200 and obj == {"ok": True})
    check("reset clears calls", s.control("calls")[1] == {"total": 0, "calls": []})
    tok = []
    for i in range(2):
        tok.append(s.api("/user/getToken.json", token_fields())[1]["token"])
    s.api("/group/sync.json", [("userId", "u1")])
    check("count", s.control("count")[1] == {"count": 3})
    check("count by path", s.control("count", path="/group/sync.json")[1] == {"count": 1})
    st, obj = s.control("calls", path="/user/getToken.json")
    check("calls by path", st == 200 and obj["total"] == 2 and
          all(c["path"] == "/user/getToken.json" for c in obj["calls"]), obj)
    keys = {"seq", "path", "method", "headers", "raw_body", "form", "auth_ok", "errors",
            "status", "mode", "time"}
    check("call record keys", obj["calls"] and keys <= set(obj["calls"][0]), obj["calls"][:1])
    seqs = [c["seq"] for c in s.control("calls")[1]["calls"]]
    check("seq increasing", seqs == sorted(seqs) and len(set(seqs)) == 3, seqs)
    check("calls since", s.control("calls", since=seqs[1])[1]["total"] == 1)
    st, _, _ = s.request("/_control/reset", data=b"", method="POST")
    check("POST reset", st == 200 and s.control("count")[1] == {"count": 0})
    tok.append(s.api("/user/getToken.json", token_fields())[1]["token"])
    nums = [int(t.split("-")[-1].rstrip("+/=")) for t in tok]
    check("token counter survives reset", nums[0] < nums[1] < nums[2], tok)
    st, _ = s.control("nosuch")
    check("unknown control endpoint 404", st == 404)

    # keep-alive: two API calls and a control call over one connection
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=5)
    socks = []
    for path in ("/user/getToken.json", "/group/sync.json"):
        body = urllib.parse.urlencode(token_fields()).encode()
        conn.request("POST", path, body, dict(sign(), **{"Content-Type": FORM}))
        r = conn.getresponse()
        r.read()
        socks.append((r.status, r.getheader("Content-Length") is not None, conn.sock))
    conn.request("GET", "/_control/ping")
    r = conn.getresponse()
    socks.append((r.status, json.loads(r.read()) == {"ok": True}, conn.sock))
    conn.close()
    check("keep-alive reuses the connection", all(a == 200 and b for a, b, _ in socks)
          and socks[0][2] is not None and socks[0][2] is socks[1][2] is socks[2][2], socks)

    # chunked request body
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=5)
    parts = [b"userId=u1", b"&name=%E5%BC%A0", b"&portraitUri="]
    conn.request("POST", "/user/getToken.json", iter(parts),
                 dict(sign(), **{"Content-Type": FORM}), encode_chunked=True)
    r = conn.getresponse()
    r.read()
    conn.close()
    check("chunked request body", r.status == 200 and s.last_call()["form"] ==
          [["userId", "u1"], ["name", "张"], ["portraitUri", ""]], s.last_call())

    # Expect: 100-continue (libcurl sends it for large bodies)
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=5)
    body = urllib.parse.urlencode(token_fields("u1", "a", "h" * 1000)).encode()
    conn.putrequest("POST", "/user/refresh.json")
    for k, v in dict(sign(), **{"Content-Type": FORM, "Expect": "100-continue",
                                "Content-Length": str(len(body))}).items():
        conn.putheader(k, v)
    conn.endheaders()
    conn.sock.settimeout(5)
    interim = conn.sock.recv(100)
    conn.send(body)
    r = conn.getresponse()
    check("Expect: 100-continue", interim.startswith(b"HTTP/1.1 100") and r.status == 200,
          (interim, r.status))
    conn.close()


def test_tls(tmp):
    if not shutil.which("openssl"):
        print("SKIP: HTTPS test (openssl not found)")
        return
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-days", "2", "-keyout", key, "-out", cert],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if not check("openssl made a certificate", r.returncode == 0, r.stderr):
        return
    s = Standin(tmp, "--tls-cert", cert, "--tls-key", key, "--app-key", "k2",
                "--app-secret", "s2", name="tls")
    try:
        # A client that trusts nothing must fail; one that trusts the cert works.
        s.ctx = ssl.create_default_context()
        st, err, _, _ = s.api("/user/getToken.json", token_fields(), auth=sign("k2", "s2"))
        check("HTTPS: untrusted cert refused by client", st is None, (st, err))
        s.ctx = ssl.create_default_context(cafile=cert)
        st, obj, _, _ = s.api("/user/getToken.json", token_fields(), auth=sign("k2", "s2"))
        check("HTTPS getToken with --app-key/--app-secret", st == 200 and obj.get("token"),
              (st, obj))
        st, obj, _, _ = s.api("/user/getToken.json", token_fields())
        check("HTTPS: default key refused when others configured", st == 401, st)
        check("HTTPS control", s.control("count")[1]["count"] == 2)
        # a client that connects and never handshakes must not block others
        idle = socket.create_connection(("127.0.0.1", s.port), timeout=3)
        st, _ = s.control("ping")
        idle.close()
        check("HTTPS: a silent client does not block the accept loop", st == 200, st)
        # plain HTTP against the TLS port must not hurt the server
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=3)
        try:
            conn.request("GET", "/_control/ping")
            conn.getresponse()
        except (OSError, http.client.HTTPException):
            pass
        conn.close()
        check("HTTPS still serves after a plain-HTTP probe", s.control("ping")[0] == 200)
    finally:
        rc, dt = s.stop()
        check("HTTPS stand-in exits on SIGTERM", rc == 0, rc)


def test_exit_while_hanging(tmp):
    s = Standin(tmp, name="hang")
    set_mode(s, set="hang", delay=60)
    th = threading.Thread(target=s.api, args=("/user/getToken.json", token_fields()),
                          kwargs={"timeout": 30}, daemon=True)
    th.start()
    t0 = time.time()
    while s.control("count")[1]["count"] < 1 and time.time() - t0 < 5:
        time.sleep(0.05)
    rc, dt = s.stop(signal.SIGTERM)
    check("SIGTERM exits promptly despite a hanging handler", rc == 0 and dt < 3, (rc, dt))
    check("port file removed on exit", not os.path.exists(s.port_file))
    s = Standin(tmp, name="int")
    rc, dt = s.stop(signal.SIGINT)
    check("SIGINT exits cleanly", rc == 0 and dt < 3, (rc, dt))


def test_blackhole(tmp):
    s = Standin(tmp, "--blackhole", name="blackhole")
    t0 = time.time()
    try:
        socket.create_connection(("127.0.0.1", s.port), timeout=0.5).close()
        outcome = "connected"
    except socket.timeout:
        outcome = "timed out"
    except OSError as exc:
        outcome = "refused: %s" % exc
    check("blackhole: a connection is never set up (times out, not refused)",
          outcome == "timed out" and time.time() - t0 >= 0.45, outcome)
    rc, dt = s.stop()
    check("blackhole: exits 0 on SIGTERM, port file removed",
          rc == 0 and dt < 3 and not os.path.exists(s.port_file), (rc, dt))


def test_nobody():
    if os.geteuid() != 0 or not shutil.which("runuser"):
        print("SKIP: run-as-nobody test (needs root and runuser)")
        return
    tmp = tempfile.mkdtemp(prefix="standin-nobody-")
    os.chmod(tmp, 0o1777)
    # nobody runs a copy, as the suite does: the clone itself may lie in a
    # folder only root can enter (/root is 0700)
    script = os.path.join(tmp, "rongcloud_standin.py")
    shutil.copy(STANDIN, script)
    os.chmod(script, 0o644)
    try:
        s = Standin(tmp, user="nobody", name="nobody", script=script)
        try:
            st, obj, _, _ = s.api("/user/getToken.json", token_fields())
            check("runs as nobody", st == 200 and obj.get("token"), (st, obj))
            check("port file owned by nobody",
                  os.stat(s.port_file).st_uid == 65534 or
                  os.stat(s.port_file).st_uid == int(subprocess.check_output(
                      ["id", "-u", "nobody"]).strip()))
        finally:
            rc, dt = s.stop()
            check("nobody stand-in stops on SIGTERM to runuser", rc is not None, (rc, dt))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    tmp = tempfile.mkdtemp(prefix="standin-selftest-")
    try:
        s = Standin(tmp)
        try:
            for test in (test_signing, test_encoding, test_groups, test_faults,
                         test_rate_limits, test_control, test_tokens, test_membership):
                try:
                    test(s)
                except Exception as exc:   # a crash counts as a failure, keep going
                    check("%s raised" % test.__name__, False, repr(exc))
        finally:
            rc, dt = s.stop()
            check("main stand-in exits 0 on SIGTERM", rc == 0 and dt < 3, (rc, dt))
        with open(s.log, encoding="utf-8") as f:
            log = f.read()
        check("log has one line per API call", "/user/getToken.json status=200 mode=ok" in log
              and "mode=hang" in log, log[-500:])
        check("log never holds the app secret", SECRET not in log)
        for test in (test_tls, test_exit_while_hanging, test_blackhole):
            try:
                test(tmp)
            except Exception as exc:
                check("%s raised" % test.__name__, False, repr(exc))
        try:
            test_nobody()
        except Exception as exc:
            check("test_nobody raised", False, repr(exc))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
