#!/usr/bin/python3
"""Stand-in for the parts of the RongCloud server API that mod_weclubs_im uses.

Serves POST /user/getToken.json, /user/refresh.json, /user/token/expire.json,
/user/block.json, /user/unblock.json, /user/block/query.json,
/group/sync.json, /group/quit.json, /group/dismiss.json and
/group/refresh.json with RongCloud-style signature checks and a deliberately
strict form parser (so the module's encoding bugs show up), keeping what
RongCloud keeps (tokens, group membership, group and user names, blocked
users), plus a control API under /_control for the test suite: fault
injection, a record of every API call received, and what RongCloud holds.

Python 3 standard library only (runs with Debian 12's /usr/bin/python3).

    rongcloud_standin.py --listen 127.0.0.1:0 --port-file PATH
        [--app-key testappkey] [--app-secret testappsecret]
        [--tls-cert CERT --tls-key KEY] [--log FILE]
"""

import argparse
import hashlib
import hmac
import http.server
import json
import os
import re
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.parse

API_PATHS = ("/user/getToken.json", "/user/refresh.json", "/group/sync.json",
             "/user/token/expire.json", "/user/block.json", "/user/unblock.json",
             "/user/block/query.json", "/group/quit.json", "/group/dismiss.json",
             "/group/refresh.json")

MODES = ("ok", "slow", "hang", "e500", "e503", "e401", "rate", "code",
         "garbage", "notoken", "huge", "close")
DEFAULT_DELAY = {"slow": 2.0, "hang": 60.0}

TIMESTAMP_WINDOW = 300          # seconds either side of now
NONCE_MAX = 18
USER_ID_RE = re.compile(r"^[A-Za-z0-9+=_-]{1,64}$")
GROUP_KEY_RE = re.compile(r"^group\[(.+)\]$", re.S)
GROUP_ID_RE = re.compile(r"^[A-Za-z0-9+=_-]{1,64}$")
HEX = frozenset(b"0123456789abcdefABCDEF")
HUGE_SIZE = 5 * 1024 * 1024

MAX_BODY = 16 * 1024 * 1024     # refuse absurd request bodies instead of buffering them

# RongCloud's rate limits, per App Key, in calls a second, as its docs give
# them: user/getToken 200/s (docs.rongcloud.io/server-rtc-api/user/register
# "Rate Limit: 200 requests per second"), user/refresh 100/s
# (docs.rongcloud.cn/platform-chat-api/user/modify "频率限制: 每秒钟限 100
# 次"), group/sync 100/s (docs.rongcloud.cn/platform-chat-api/group/sync-group
# "频率限制: 每秒钟限 100 次"). A call over the limit gets code 1008
# (server-sdk-java src/main/resources/jsonsource/user/api.json and
# group/api.json: "1008": "The call frequency exceeds the limit."). Which
# HTTP status comes with it no source says, and no SDK looks for one:
# server-sdk-go sdk/http.go reads the body whatever the status and
# sdk/rongcloud.go checkStatusCode only switches host on a 5xx;
# server-sdk-java src/main/java/io/rong/util/HttpUtil.java returnResult
# reads the body of any non-200 and counts only 5xx as host errors;
# server-sdk-php RongCloud/Lib/Request.php switches host on a body that is
# not JSON, on a 5xx or on http_code 0, 7, 28. The stand-in answers HTTP 429, its own choice, not RongCloud's
# documented behaviour; code 1008 in a 200 is the "code" mode, and the
# module's tests use both (t/09-rongcloud.t). Modelled as a token bucket
# holding one second's calls.
# The calls for a semester's changes are 100/s each, "Rate Limit: 100
# requests per second" on each one's page: docs.rongcloud.io/platform-chat-
# api/user/block, user/unblock, user/query-blocked-list, group/quit-group,
# group/dismiss-group, group/refresh-group-info (and docs.rongcloud.cn/
# platform-chat-api/group/dismiss-group: "频率限制: 每秒钟限 100 次").
RATE_LIMITS = {"/user/getToken.json": 200, "/user/refresh.json": 100,
               "/group/sync.json": 100, "/user/block.json": 100,
               "/user/unblock.json": 100, "/user/block/query.json": 100,
               "/group/quit.json": 100, "/group/dismiss.json": 100,
               "/group/refresh.json": 100}

# user/block: at most 30 days ("The maximum ban duration is 30 days (43,200
# minutes)", docs.rongcloud.io/platform-chat-api/user/block), at least 1
# (server-sdk-java src/main/resources/jsonsource/user/verify.json
# user.minute size 1..43200; user/block/api.json add 20004: "Incorrect
# minute, minute >= 1 and minute <= 43200"; server-sdk-go master
# sdk/user.go BlockAdd: "1 - 1 * 30 * 24 * 60 minutes"). server-sdk-python
# rongcloud/user.py Block.add lets 0 through ('0~43200'); the docs' smallest
# unit being a minute, 0 is refused here.
BLOCK_MINUTES = (1, 43200)
# userId repeated in one call: block and unblock at most 20 ("Supports
# banning multiple users at once, with a maximum of 20", docs user/block;
# "a maximum of 20 users", docs user/unblock; server-sdk-go branch v4
# rongcloud/user.go UserBlockRequest/UserUnBlockRequest "最多不超过 20
# 个"; server-sdk-python rongcloud/user.py Block.add/remove check
# '1~20'); group/quit at most 1000 ("Multiple user IDs can be submitted,
# with a maximum of 1000", docs group/quit-group; server-sdk-go v4
# rongcloud/group.go GroupQuitRequest "最多不超过 1000 个";
# server-sdk-python rongcloud/group.py quit '1~1000').
MAX_USERS = {"/user/block.json": 20, "/user/unblock.json": 20,
             "/group/quit.json": 1000, "/user/token/expire.json": 20}


class State:
    """Everything shared between handler threads, behind one lock."""

    def __init__(self, app_key, app_secret, log):
        self.app_key = app_key
        self.app_secret = app_secret
        self.log_file = log
        self.lock = threading.Lock()
        self.calls = []
        self.seq = 0            # monotonic across resets, like the token counter
        self.tokens_issued = 0  # never reset: tokens stay distinct over a whole run
        self.limits = dict(RATE_LIMITS)
        self.buckets = {}       # path -> [tokens left, time of the last refill]
        # Tokens and what makes them stop connecting. A token is issued
        # anew by every getToken and the earlier ones stay valid ("Token
        # 可以获取多次，但之前的仍然可用": server-sdk-python
        # rongcloud/user.py, class User); they never expire unless the
        # app's console sets a lifetime ("在融云开发者平台设置 Token 有效期，
        # 默认永久有效", the same) or user/token/expire ends those of a
        # user issued before a time (see expire_tokens). Kept over resets,
        # as RongCloud keeps them; the lifetime is a test's setting.
        self.tokens = {}        # token -> (userId, issued ms)
        self.expired_before = {}  # userId -> ms ("*": every user)
        self.token_lifetime = None  # seconds; None: tokens never expire
        # What RongCloud holds of users and groups, kept over resets as
        # RongCloud keeps it (/_control/forget clears it): see apply().
        self.members = {}       # groupId -> set of userIds bound to it
        self.joined = {}        # userId -> set of groupIds (the same, by user)
        self.group_names = {}   # groupId -> name
        self.users = {}         # userId -> {"name": .., "portraitUri": ..}
        self.blocks = {}        # userId -> block end, seconds since the epoch
        self._set_ok()

    def set_limits(self, limits):
        with self.lock:
            self.limits.update(limits)
            self.buckets = {}

    def over_limit(self, path, now):
        """Take one call from path's bucket: True when it is empty (the call
        is refused, as RongCloud refuses it)."""
        with self.lock:
            rate = self.limits.get(path)
            if not rate:
                return False
            bucket = self.buckets.setdefault(path, [float(rate), now])
            bucket[0] = min(float(rate), bucket[0] + (now - bucket[1]) * rate)
            bucket[1] = now
            if bucket[0] < 1.0:
                return True
            bucket[0] -= 1.0
            return False

    def busiest_second(self, path):
        """The most calls to path that arrived within any one second, and
        how many of them all were refused for the rate limit."""
        with self.lock:
            times = sorted(c["time"] for c in self.calls if c["path"] == path)
            refused = sum(1 for c in self.calls
                          if c["path"] == path and c.get("limited"))
        most, first = 0, 0
        for last, t in enumerate(times):
            while t - times[first] >= 1.0:
                first += 1
            most = max(most, last - first + 1)
        return most, refused

    def _set_ok(self):
        self.mode = "ok"
        self.delay = None
        self.count = None       # None = unlimited
        self.code = 1005
        self.mode_path = None

    def set_mode(self, mode, delay, count, code, path):
        with self.lock:
            self._set_ok()
            self.mode = mode
            self.delay = delay
            self.count = count
            self.code = code
            self.mode_path = path

    def mode_info(self):
        with self.lock:
            return {"mode": self.mode, "delay": self.delay, "count": self.count,
                    "code": self.code, "path": self.mode_path}

    def take_fault(self, path):
        """Return (mode, delay, code) applying to this API call; consumes one
        unit of a count-limited mode."""
        with self.lock:
            if self.mode == "ok" or (self.mode_path and self.mode_path != path):
                return "ok", None, None
            mode, delay, code = self.mode, self.delay, self.code
            if self.count is not None:
                self.count -= 1
                if self.count <= 0:
                    self._set_ok()
            if delay is None:
                delay = DEFAULT_DELAY.get(mode, 0.0)
            return mode, delay, code

    def next_token_number(self):
        with self.lock:
            self.tokens_issued += 1
            return self.tokens_issued

    def issue_token(self, user_id, token):
        with self.lock:
            self.tokens[token] = (user_id, int(time.time() * 1000))

    def expire_tokens(self, user_ids, before_ms):
        with self.lock:
            for uid in user_ids:
                self.expired_before[uid] = max(before_ms,
                                               self.expired_before.get(uid, 0))

    def set_token_lifetime(self, seconds):
        with self.lock:
            self.token_lifetime = seconds

    def token_connects(self, token):
        """(connects, why): whether a client would connect with token."""
        with self.lock:
            if token not in self.tokens:
                return False, "unknown token"
            user_id, issued = self.tokens[token]
            # "用户在封禁期间不能连接融云服务器，封禁期满后将自动解除封禁"
            # (server-sdk-python rongcloud/user.py, class Block; docs
            # platform-chat-api/user/block: "The banned user cannot
            # establish an IM connection"); his tokens stay good for after
            # ("After the ban is lifted, the user can normally connect",
            # the same page)
            if self._blocked_until(user_id) is not None:
                return False, "blocked"
            before = max(self.expired_before.get(user_id, 0),
                         self.expired_before.get("*", 0))
            if issued < before:
                return False, "expired by user/token/expire"
            if (self.token_lifetime is not None
                    and time.time() * 1000 - issued >= self.token_lifetime * 1000):
                return False, "older than the token lifetime"
            return True, "ok"

    def _blocked_until(self, user_id):
        """The end of user_id's block, or None; a block past its end is
        gone ("封禁期满后将自动解除封禁", server-sdk-python rongcloud/user.py
        class Block). Called with the lock held."""
        end = self.blocks.get(user_id)
        if end is not None and end <= time.time():
            del self.blocks[user_id]
            end = None
        return end

    def apply(self, path, form):
        """The effect of an accepted call on what RongCloud holds; returns
        the answer's extra fields."""
        one = dict(form)
        users = [v for k, v in form if k == "userId"]
        with self.lock:
            if path in ("/user/getToken.json", "/user/refresh.json"):
                # getToken takes name and portraitUri (server-sdk-go v4
                # rongcloud/user.go UserGetTokenRequest); refresh changes
                # what it is given: name "不提供则不进行刷新" (the same,
                # UserRefreshRequest). A portraitUri left out is left as it
                # was by both: the stand-in's choice, no source says.
                info = self.users.setdefault(one["userId"],
                                             {"name": None, "portraitUri": None})
                for key in ("name", "portraitUri"):
                    if key in one:
                        info[key] = one[key]
            elif path == "/group/sync.json":
                # The user's whole set: "When the group[id]=name parameter
                # is not submitted, it means that the binding relationship
                # of the userId with the corresponding group is removed",
                # and "If the group ID already exists, the corresponding
                # group name will also be updated" (docs.rongcloud.io
                # platform-chat-api/group/sync-group; server-sdk-go v4
                # rongcloud/group.go GroupSyncRequest "如群组 ID 已经存在，则
                # 同时刷新对应群组名称". server-sdk-python rongcloud/group.py
                # sync, of 2020, says the name is not refreshed: the docs
                # and the newer SDK are followed.)
                user = one["userId"]
                wanted = {}
                for key, value in form:
                    m = GROUP_KEY_RE.match(key)
                    if m:
                        wanted[m.group(1)] = value
                for group in self.joined.get(user, set()) - set(wanted):
                    self._unbind(user, group)
                for group, name in wanted.items():
                    self.members.setdefault(group, set()).add(user)
                    self.joined.setdefault(user, set()).add(group)
                    self.group_names[group] = name
            elif path == "/group/quit.json":
                # "Remove a user from a group so that they no longer receive
                # messages from that group" (docs group/quit-group)
                for uid in users:
                    self._unbind(uid, one["groupId"])
            elif path == "/group/dismiss.json":
                # "Dismissing a group means that all users will no longer
                # receive messages from that group"; any user may do it (docs
                # group/dismiss-group). Its name goes too: the stand-in's
                # choice (a group of that id made again starts afresh).
                for uid in list(self.members.get(one["groupId"], ())):
                    self._unbind(uid, one["groupId"])
                self.group_names.pop(one["groupId"], None)
            elif path == "/group/refresh.json":
                # "call this API to refresh the group name information
                # stored on the IM server" (docs group/refresh-group-info)
                self.group_names[one["groupId"]] = one["groupName"]
            elif path == "/user/block.json":
                # from now for minute minutes (docs user/block: "The ban
                # takes effect immediately"). Blocking a blocked user again
                # sets the new end: the stand-in's choice, no source says.
                end = time.time() + int(one["minute"]) * 60
                for uid in users:
                    self.blocks[uid] = end
            elif path == "/user/unblock.json":
                for uid in users:
                    self.blocks.pop(uid, None)
            elif path == "/user/block/query.json":
                return {"users": self._block_list(one)}
        return {}

    def _unbind(self, user, group):
        """Lock held."""
        for index, key, value in ((self.members, group, user),
                                  (self.joined, user, group)):
            entries = index.get(key)
            if entries is not None:
                entries.discard(value)
                if not entries:
                    del index[key]

    def _block_list(self, form):
        """user/block/query's users: [{"userId", "blockEndTime"}] (docs
        platform-chat-api/user/query-blocked-list; server-sdk-python
        rongcloud/user.py Block.query: {"code":200,"users":[{"userId":
        "jlk456j5","blockEndTime":"2015-01-11 01:28:20"}]}; server-sdk-go
        v4 rongcloud/user.go UserBlockQueryUser, master sdk/user.go
        BlockListResult). Without page (or 0): the first 1000, "sorted by
        the ban end time in descending order"; with page, size a page
        (default 50) (docs, the same). Which time zone blockEndTime is in
        the page does not say; the stand-in writes UTC. Lock held."""
        for uid in list(self.blocks):
            self._blocked_until(uid)
        ordered = sorted(self.blocks.items(), key=lambda kv: (-kv[1], kv[0]))
        page = int(form.get("page") or 0)
        size = int(form.get("size") or 50)
        if page > 0:
            ordered = ordered[(page - 1) * size:page * size]
        else:
            ordered = ordered[:1000]
        return [{"userId": uid,
                 "blockEndTime": time.strftime("%Y-%m-%d %H:%M:%S",
                                               time.gmtime(end))}
                for uid, end in ordered]

    def members_of(self, group):
        with self.lock:
            return sorted(self.members.get(group, ()))

    def groups_of(self, user):
        with self.lock:
            return {g: self.group_names.get(g)
                    for g in sorted(self.joined.get(user, ()))}

    def group_info(self, group):
        with self.lock:
            return {"name": self.group_names.get(group),
                    "members": len(self.members.get(group, ()))}

    def user_info(self, user):
        with self.lock:
            info = self.users.get(user, {})
            end = self._blocked_until(user)
            return {"name": info.get("name"),
                    "portraitUri": info.get("portraitUri"),
                    "blocked": end is not None,
                    "blockEnd": end}

    def end_block_in(self, user, seconds):
        """Bring the end of user's block to now + seconds (for tests that
        watch a block run out); False if he is not blocked."""
        with self.lock:
            if self._blocked_until(user) is None:
                return False
            self.blocks[user] = time.time() + seconds
            return True

    def forget(self):
        """A clean RongCloud: no memberships, names or blocks (tokens stay)."""
        with self.lock:
            self.members = {}
            self.joined = {}
            self.group_names = {}
            self.users = {}
            self.blocks = {}

    def record(self, call):
        with self.lock:
            self.seq += 1
            call["seq"] = self.seq
            self.calls.append(call)

    def select(self, path=None, since=0):
        with self.lock:
            return [c for c in self.calls
                    if (path is None or c["path"] == path) and c["seq"] > since]

    def reset(self):
        with self.lock:
            self.calls = []
            self.limits = dict(RATE_LIMITS)
            self.buckets = {}
            self.token_lifetime = None
            self._set_ok()

    def log(self, line):
        # One line per API call; the app secret never goes into it.
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        with self.lock:
            try:
                self.log_file.write("%s rongcloud-standin: %s\n" % (stamp, line))
                self.log_file.flush()
            except (OSError, ValueError):
                pass


class FormError(Exception):
    pass


def parse_form(body):
    """Strict application/x-www-form-urlencoded parser.

    Returns (pairs, errors). Anything a correct percent-encoder would never
    produce is an error, so that a module which forgets to encode a value is
    caught even where a lenient server would have guessed right.
    """
    pairs, errors = [], []
    if body == b"":
        return pairs, errors
    for index, part in enumerate(body.split(b"&"), 1):
        if b"=" not in part:
            errors.append("field %d has no '=' (unencoded '&' in a value?)" % index)
            continue
        raw_key, raw_value = part.split(b"=", 1)
        try:
            key = _decode_component(raw_key, "name of field %d" % index)
            if b"=" in raw_value:
                raise FormError("value of field %d (%s) contains a raw '='" % (index, key))
            value = _decode_component(raw_value, "value of field %d (%s)" % (index, key))
        except FormError as exc:
            errors.append(str(exc))
            continue
        if key == "":
            errors.append("field %d has an empty name" % index)
            continue
        pairs.append([key, value])
    return pairs, errors


def _decode_component(raw, what):
    out = bytearray()
    i, n = 0, len(raw)
    while i < n:
        b = raw[i]
        if b == 0x25:  # '%'
            if i + 2 >= n:
                raise FormError("truncated percent-escape in %s" % what)
            if raw[i + 1] not in HEX or raw[i + 2] not in HEX:
                raise FormError("bad percent-escape %r in %s"
                                % (raw[i:i + 3].decode("latin-1"), what))
            out.append(int(raw[i + 1:i + 3], 16))
            i += 3
            continue
        if b == 0x2B:  # '+'
            out.append(0x20)
        elif b == 0x20:
            raise FormError("raw space in %s" % what)
        elif b >= 0x80:
            raise FormError("raw non-ASCII byte 0x%02X in %s" % (b, what))
        elif b < 0x20 or b == 0x7F:
            raise FormError("raw control byte 0x%02X in %s" % (b, what))
        else:
            out.append(b)
        i += 1
    try:
        return out.decode("utf-8", "strict")
    except UnicodeDecodeError:
        raise FormError("invalid UTF-8 in %s" % what) from None


def check_auth(headers, app_key, app_secret):
    """RongCloud's header signature check; returns a list of problems."""
    def get(name):
        value = headers.get(name)
        if value is None:
            value = headers.get("RC-" + name)
        return value

    key, nonce, stamp, sig = get("App-Key"), get("Nonce"), get("Timestamp"), get("Signature")
    problems = []
    if key is None or nonce is None or stamp is None or sig is None:
        missing = [n for n, v in (("App-Key", key), ("Nonce", nonce),
                                  ("Timestamp", stamp), ("Signature", sig)) if v is None]
        return ["auth: missing header(s) %s" % ", ".join(missing)]
    if key != app_key:
        problems.append("auth: wrong App-Key")
    if nonce == "" or len(nonce) > NONCE_MAX:
        problems.append("auth: Nonce must be 1..%d characters" % NONCE_MAX)
    if not stamp.isascii() or not stamp.isdigit():
        problems.append("auth: Timestamp is not decimal Unix seconds")
    elif abs(int(stamp) - time.time()) > TIMESTAMP_WINDOW:
        problems.append("auth: Timestamp more than %d s from now" % TIMESTAMP_WINDOW)
    expected = hashlib.sha1((app_secret + nonce + stamp).encode("utf-8")).hexdigest()
    if not hmac.compare_digest(sig.encode("utf-8", "replace"), expected.encode("ascii")):
        problems.append("auth: Signature is not lowercase hex SHA1(secret+nonce+timestamp)")
    return problems


def check_user_id(user_id):
    """(code, message) when user_id is not one RongCloud takes, else None."""
    if user_id is None or user_id == "":
        return 1002, "userId is required"
    if len(user_id.encode()) > 64:
        return 1005, "userId longer than 64 bytes"
    if not USER_ID_RE.match(user_id):
        return 1002, "userId has characters outside [A-Za-z0-9+=_-]"
    return None


def check_fields(path, form):
    """Field rules per endpoint. Returns (rongcloud_code, message) or None.
    The HTTP status of a refusal no source gives: 400 throughout."""
    if path == "/user/token/expire.json":
        # userId (repeated, at most 20) and time, ms: "该时间戳前用户获取的
        # Token 全部失效" (server-sdk-go branch v4 rongcloud/user.go
        # UserTokenExpireRequest, both [必传]; the 20 is its comment's
        # "最多不超过 20 个"; server-sdk-python rongcloud/user.py expire).
        # A refusal is 1002 like the other fields' (the code is the stand-
        # in's choice here: no source gives expire's).
        users = [v for k, v in form if k == "userId"]
        if not users or len(users) > 20:
            return 1002, "userId: 1 to 20 of them"
        for uid in users:
            if not USER_ID_RE.match(uid):
                return 1002, "bad userId %r" % uid
        times = [v for k, v in form if k == "time"]
        when = times[0] if len(times) == 1 else ""
        if not when.isdigit():
            return 1002, "time (ms) is required"
        return None
    # Every field once, but userId where it may be repeated (MAX_USERS).
    fields = {}
    for key, value in form:
        if key in fields and not (key == "userId" and path in MAX_USERS):
            return 1002, "duplicate field %s" % key
        fields[key] = value

    if path in MAX_USERS:
        # A missing userId or too many are 1002 (server-sdk-java
        # jsonsource/user/block/api.json 20005 "{{name}} parameter is
        # required" and group/api.json quit 20002 "quantity exceeds
        # limit": both reported as code 1002; server-sdk-python
        # rongcloud/module.py _check_param: code 1002).
        users = [v for k, v in form if k == "userId"]
        if not users:
            return 1002, "userId is required"
        if len(users) > MAX_USERS[path]:
            return 1002, "userId: at most %d of them" % MAX_USERS[path]
    elif path in ("/group/refresh.json", "/user/block/query.json"):
        users = []              # these take no userId
    else:
        # one userId, required: getToken, refresh, group/sync and
        # group/dismiss (its operator, "可以为任何用户 ID": server-sdk-go v4
        # rongcloud/group.go GroupDismissRequest, UserId *string [必传])
        users = [fields.get("userId") or ""]
    for user_id in users:
        problem = check_user_id(user_id)
        if problem:
            return problem

    if path in ("/group/quit.json", "/group/dismiss.json", "/group/refresh.json"):
        # groupId: required ([必传], server-sdk-go v4 rongcloud/group.go
        # GroupQuitRequest, GroupDismissRequest, GroupRefreshRequest;
        # missing: 1002, server-sdk-java jsonsource/group/api.json 20005
        # and server-sdk-php RongCloud/Lib/Group/verify.json group.id
        # require 1002), 1 to 64 like every id (server-sdk-php
        # Lib/Group/verify.json group.id length 1..64, refused as 1005, as
        # group/sync's ids are refused here).
        group_id = fields.get("groupId")
        if not group_id:
            return 1002, "groupId is required"
        if not GROUP_ID_RE.match(group_id):
            return 1005, "bad groupId %r" % group_id
    if path == "/group/refresh.json":
        # groupName required (docs group/refresh-group-info: "groupName
        # String Yes"; server-sdk-java group/api.json update 20005 ->
        # 1002). Its length: the docs give no limit and the SDKs' checks
        # before sending disagree (server-sdk-python rongcloud/group.py
        # update len() 1~64; server-sdk-php Lib/Group/verify.json group.name
        # 1..64; server-sdk-java jsonsource/group/verify.json group.name
        # 1..255 String.length()), so none is refused here, as in
        # group/sync.
        if not fields.get("groupName"):
            return 1002, "groupName is required"
    elif path == "/user/block.json":
        # minute: required, a whole number 1..43200 (BLOCK_MINUTES). A
        # refusal is 1002: server-sdk-java user/block/api.json maps its
        # 20004 (out of range), 20001 (not a number) and 20005 (missing)
        # all to code 1002. (server-sdk-php Lib/User/Block/api.json calls
        # the range 1502 and the type 1501, server-sdk-go master
        # sdk/user.go BlockAdd 20004: codes of the SDKs' own checks, before
        # sending; what RongCloud itself answers no source shows.)
        minute = fields.get("minute")
        if minute is None or minute == "":
            return 1002, "minute is required"
        if not minute.isascii() or not minute.isdigit():
            return 1002, "minute is not a whole number"
        if not BLOCK_MINUTES[0] <= int(minute) <= BLOCK_MINUTES[1]:
            return 1002, "minute must be %d to %d" % BLOCK_MINUTES
    elif path == "/user/block/query.json":
        # page and size, both optional numbers (docs user/query-blocked-
        # list). Neither's refusal has a source: 1002, the stand-in's
        # choice, like the other fields'.
        for key in ("page", "size"):
            value = fields.get(key)
            if value is not None and not (value.isascii() and value.isdigit()):
                return 1002, "%s is not a whole number" % key
        if fields.get("size") == "0":
            return 1002, "size must be at least 1"

    if path in ("/user/getToken.json", "/user/refresh.json"):
        # name: required by getToken; refresh may leave it out (then it is
        # not changed) but not send it empty. At most 64 characters
        # whatever the script (docs.rongcloud.cn/platform-chat-api/user/
        # modify: "最大长度 64 个字符(不区分符号、英文字符、中文字符,统一
        # 限制最多 64 个字符)"), counted as server-sdk-java counts them
        # before sending: String.length(), UTF-16 units, so an emoji is 2
        # (src/main/java/io/rong/util/CommonUtil.java checkFiled/checkParam
        # against src/main/resources/jsonsource/user/verify.json, name
        # length 1..64). Of these two rules the SDK's is the stricter, and
        # the module cuts by it (modules/wcim_utf8.c). (server-sdk-php
        # checks strlen(), bytes: RongCloud/Lib/User/verify.json and
        # Lib/Utils.php isLength; against the docs, so not followed here.)
        # portraitUri: at
        # most 1024 bytes (docs user/modify). A refusal is code 1002
        # (server-sdk-java user/api.json, register and update: a missing
        # or over-long field -> 1002); its HTTP status is undocumented,
        # the stand-in answers 400.
        name = fields.get("name")
        if name is None:
            if path == "/user/getToken.json":
                return 1002, "name is required"
        elif not 1 <= len(name.encode("utf-16-le")) // 2 <= 64:
            return 1002, "name must be 1 to 64 characters (UTF-16 units)"
        if len(fields.get("portraitUri", "").encode()) > 1024:
            return 1002, "portraitUri longer than 1024 bytes"
    elif path == "/group/sync.json":
        # group[<id>]=<name>, any number of them, names of any length: the
        # docs (docs.rongcloud.cn/platform-chat-api/group/sync-group) give
        # no limit on either, and of the SDKs only server-sdk-python checks
        # names before sending (rongcloud/group.py sync: len() 1~64); the
        # others check neither (server-sdk-go sdk/group.go GroupSync;
        # server-sdk-java methods/group/Group.java sync, whose verify.json
        # "user" rule checks only the userId and that groups is an array;
        # server-sdk-php Lib/Group/Group.php sync, the same). The docs' group/create
        # says a user may join any number of groups ("每个用户加入和创建的
        # 群组数量没有限制"). Only the group id is checked, as ids are.
        for key, _ in form:
            m = GROUP_KEY_RE.match(key)
            if m and not GROUP_ID_RE.match(m.group(1)):
                return 1005, "bad groupId %r" % m.group(1)
    return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # libcurl reuses connections
    # headers and body leave in two writes: without TCP_NODELAY, Nagle and
    # the client's delayed ACK hold every answer on a reused connection for
    # ~40 ms, which caps a test at a campus's scale at ~25 calls/s a thread
    disable_nagle_algorithm = True
    server_version = "RongCloudStandin/1.0"
    timeout = 120                   # drop idle keep-alive connections eventually

    def setup(self):
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            # The listening socket defers the handshake so a slow client cannot
            # stall the accept loop; do it here, in this connection's thread.
            self.connection.do_handshake()

    def log_message(self, fmt, *args):
        pass  # API calls get their own log line; control calls are noise

    # --- plumbing -------------------------------------------------------

    @property
    def state(self):
        return self.server.state

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks, total = [], 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    raise ValueError("request body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        length = int(length)
        if length < 0 or length > MAX_BODY:
            raise ValueError("bad Content-Length")
        return self.rfile.read(length)

    def send_json(self, status, obj, content_type="application/json; charset=utf-8"):
        body = obj if isinstance(obj, bytes) else json.dumps(
            obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def drop_connection(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def dispatch(self):
        path = urllib.parse.urlsplit(self.path).path
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            self.send_json(400, {"code": 1002, "errorMessage": "unreadable request body"})
            return
        if path == "/_control" or path.startswith("/_control/"):
            self.control(path)
        else:
            self.api(path, body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = dispatch

    # --- RongCloud API --------------------------------------------------

    def api(self, path, body):
        st = self.state
        arrived = time.time()
        headers = {}
        for name, value in self.headers.items():
            name = name.lower()
            headers[name] = headers[name] + ", " + value if name in headers else value

        # Validation always runs so the record shows auth/encoding problems
        # even for calls answered by a fault mode.
        auth_errors = check_auth(self.headers, st.app_key, st.app_secret)
        errors = list(auth_errors)
        ctype = self.headers.get("Content-Type", "")
        ctype_error = None
        if ctype.split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
            ctype_error = "Content-Type is %r, not application/x-www-form-urlencoded" % ctype
            errors.append(ctype_error)
        form, form_errors = parse_form(body)
        errors.extend(form_errors)

        known = path in API_PATHS
        # a call refused for the rate limit is refused before anything else
        # (and takes no unit of a count-limited fault)
        limited = known and st.over_limit(path, arrived)
        mode, delay, code = (st.take_fault(path) if known and not limited
                             else ("ok", None, None))
        user_id = next((v for k, v in form if k == "userId"), "")

        status, reply, reply_type = None, None, None
        if limited:
            status, reply = 429, {"code": 1008, "errorMessage": "rate limit exceeded"}
        elif mode in ("ok", "slow"):
            status, reply = self.normal_reply(path, known, auth_errors, ctype_error,
                                              form, form_errors, errors)
        elif mode == "e500":
            status, reply = 500, {"code": 500, "errorMessage": "internal error"}
        elif mode == "e503":
            status, reply = 503, {"code": 500, "errorMessage": "internal error"}
        elif mode == "e401":
            status, reply = 401, {"code": 1004, "errorMessage": "signature error"}
        elif mode == "rate":
            status, reply = 429, {"code": 1008, "errorMessage": "rate limit exceeded"}
        elif mode == "code":
            status, reply = 200, {"code": code, "errorMessage": "error %d" % code}
        elif mode == "garbage":
            status, reply, reply_type = 200, b"<html>not json</html>", "application/json"
        elif mode == "notoken":
            status, reply = 200, {"code": 200, "userId": user_id}
        elif mode == "huge":
            # Looks like a success, so only a response size cap stops a client.
            status, reply = 200, {"code": 200, "userId": user_id,
                                  "token": "huge-" + user_id, "padding": "x" * HUGE_SIZE}
        # hang and close: status stays None (no answer is sent)

        call = {"path": path, "method": self.command, "headers": headers,
                "raw_body": body.decode("utf-8", "backslashreplace"),
                "form": form, "auth_ok": not auth_errors, "errors": errors,
                "status": status, "mode": mode, "time": arrived,
                "limited": limited}
        st.record(call)   # before any sleep, so tests can see a hanging call
        st.log("seq=%d %s %s status=%s mode=%s auth_ok=%s errors=%d"
               % (call["seq"], self.command, path, status if status else "-",
                  mode, call["auth_ok"], len(errors)))

        if mode in ("slow", "hang") and delay:
            time.sleep(delay)
        if mode in ("hang", "close"):
            self.drop_connection()
            return
        if reply_type:
            self.send_json(status, reply, reply_type)
        else:
            self.send_json(status, reply)

    def normal_reply(self, path, known, auth_errors, ctype_error, form, form_errors, errors):
        if not known:
            return 404, {"code": 404, "errorMessage": "not found"}
        if self.command != "POST":
            return 405, {"code": 405, "errorMessage": "method not allowed"}
        if auth_errors:
            return 401, {"code": 1004, "errorMessage": "signature error"}
        if ctype_error:
            return 400, {"code": 1002, "errorMessage": ctype_error}
        if form_errors:
            return 400, {"code": 1002, "errorMessage": "; ".join(form_errors)}
        problem = check_fields(path, form)
        if problem:
            errors.append(problem[1])
            return 400, {"code": problem[0], "errorMessage": problem[1]}
        if path == "/user/getToken.json":
            user_id = dict(form)["userId"]
            # The '+/=' suffix makes JSON/escaping bugs in the client visible.
            token = "tok-%s-%d+/=" % (user_id, self.state.next_token_number())
            self.state.issue_token(user_id, token)
            self.state.apply(path, form)
            return 200, {"code": 200, "userId": user_id, "token": token}
        if path == "/user/token/expire.json":
            self.state.expire_tokens([v for k, v in form if k == "userId"],
                                     int(dict(form)["time"]))
        reply = {"code": 200}
        reply.update(self.state.apply(path, form))
        return 200, reply

    # --- control API ----------------------------------------------------

    def control(self, path):
        st = self.state
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query,
                                      keep_blank_values=True)

        def arg(name, default=None):
            return query[name][0] if name in query else default

        try:
            if path == "/_control/ping":
                return self.send_json(200, {"ok": True})
            if path == "/_control/reset":
                st.reset()
                return self.send_json(200, {"ok": True})
            if path == "/_control/mode":
                mode = arg("set")
                if mode is None:
                    return self.send_json(200, st.mode_info())
                if mode not in MODES:
                    return self.send_json(400, {"ok": False, "error": "unknown mode %r" % mode})
                delay = float(arg("delay")) if arg("delay") not in (None, "") else None
                count = int(arg("count")) if arg("count") not in (None, "") else None
                code = int(arg("code")) if arg("code") not in (None, "") else 1005
                mpath = arg("path") or None
                if delay is not None and not 0 <= delay <= 3600:
                    raise ValueError("delay out of range")
                if count is not None and count < 1:
                    raise ValueError("count must be >= 1")
                if mpath is not None and mpath not in API_PATHS:
                    raise ValueError("path must be one of %s" % ", ".join(API_PATHS))
                st.set_mode(mode, delay, count, code, mpath)
                return self.send_json(200, {"ok": True})
            if path == "/_control/calls":
                calls = st.select(arg("path"), int(arg("since", "0")))
                return self.send_json(200, {"total": len(calls), "calls": calls})
            if path == "/_control/limits":
                # limits?path=/user/getToken.json&rate=50 (0: none); no
                # arguments: the limits in force
                if arg("path") is not None:
                    if arg("path") not in API_PATHS:
                        raise ValueError("path must be one of %s" % ", ".join(API_PATHS))
                    rate = float(arg("rate", "0"))
                    if rate < 0:
                        raise ValueError("rate must be >= 0")
                    st.set_limits({arg("path"): rate})
                return self.send_json(200, {"limits": st.limits})
            if path == "/_control/busiest":
                most, refused = st.busiest_second(arg("path", API_PATHS[0]))
                return self.send_json(200, {"calls": most, "refused": refused})
            if path == "/_control/connect":
                # connect?token=T: would a client connect with T now
                ok, why = st.token_connects(arg("token", ""))
                return self.send_json(200, {"connects": ok, "why": why})
            if path == "/_control/expire":
                # expire?user=U (or all): as user/token/expire with time
                # now, for U or every user: tokens issued before stop
                user = arg("user", "")
                if user != "all" and not USER_ID_RE.match(user):
                    raise ValueError("user must be a userId or all")
                st.expire_tokens(["*" if user == "all" else user],
                                 int(time.time() * 1000) + 1)
                return self.send_json(200, {"ok": True})
            if path == "/_control/token_lifetime":
                # token_lifetime?seconds=N (off: none), as the console sets it
                secs = arg("seconds", "off")
                st.set_token_lifetime(None if secs == "off" else float(secs))
                return self.send_json(200, {"ok": True})
            # What RongCloud holds (kept over reset; forget clears it)
            if path == "/_control/members":
                return self.send_json(200, {"users": st.members_of(arg("group", ""))})
            if path == "/_control/groups":
                return self.send_json(200, {"groups": st.groups_of(arg("user", ""))})
            if path == "/_control/user":
                return self.send_json(200, st.user_info(arg("user", "")))
            if path == "/_control/group":
                return self.send_json(200, st.group_info(arg("group", "")))
            if path == "/_control/block_ends":
                # block_ends?user=U&seconds=S: U's block runs out S s from now
                secs = float(arg("seconds", "0"))
                if not 0 <= secs <= 3600:
                    raise ValueError("seconds must be 0..3600")
                if not st.end_block_in(arg("user", ""), secs):
                    raise ValueError("user is not blocked")
                return self.send_json(200, {"ok": True})
            if path == "/_control/forget":
                st.forget()
                return self.send_json(200, {"ok": True})
            if path == "/_control/count":
                return self.send_json(200, {"count": len(st.select(arg("path")))})
        except ValueError as exc:
            return self.send_json(400, {"ok": False, "error": str(exc)})
        return self.send_json(404, {"ok": False, "error": "no such control endpoint"})


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True       # a handler asleep in "hang" must not block exit
    block_on_close = False
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # Clients dropping connections (the module's time-outs, TLS probes)
        # are routine here: one line, not a traceback.
        exc = sys.exc_info()[1]
        if isinstance(exc, (OSError, ssl.SSLError, ValueError)):
            self.state.log("connection from %s:%s ended: %s"
                           % (client_address[0], client_address[1], exc))
        else:
            super().handle_error(request, client_address)


def parse_listen(text):
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError("--listen wants HOST:PORT, e.g. 127.0.0.1:0")
    return host.strip("[]") or "127.0.0.1", int(port)


def blackhole(host, port, port_file, log):
    """A port where connections are never set up: a host that is down or
    behind a firewall dropping packets, whose SYNs go unanswered (not
    refused), so only a client's connect time limit ends the wait. Linux
    drops a SYN while the listen queue is full; a backlog of 0 and one
    connection of our own that is never accepted fill it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.bind((host, port))
    sock.listen(0)
    filler = socket.create_connection(sock.getsockname()[:2], timeout=5)
    actual_port = sock.getsockname()[1]
    tmp = "%s.tmp.%d" % (port_file, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % actual_port)
    os.replace(tmp, port_file)
    log.write("rongcloud-standin: blackhole on %s:%d\n" % (host, actual_port))
    log.flush()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: done.set())
    signal.signal(signal.SIGINT, lambda signum, frame: done.set())
    while not done.wait(0.5):
        pass
    filler.close()
    sock.close()
    try:
        os.unlink(port_file)
    except OSError:
        pass
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description="RongCloud server-API stand-in for tests")
    ap.add_argument("--listen", type=parse_listen, required=True, metavar="HOST:PORT")
    ap.add_argument("--port-file", required=True, metavar="PATH")
    ap.add_argument("--app-key", default="testappkey")
    ap.add_argument("--app-secret", default="testappsecret")
    ap.add_argument("--tls-cert", metavar="CERT")
    ap.add_argument("--tls-key", metavar="KEY")
    ap.add_argument("--log", metavar="FILE")
    ap.add_argument("--blackhole", action="store_true",
                    help="accept no connection at all: a dead or firewalled host")
    args = ap.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        ap.error("--tls-cert and --tls-key go together")

    log = open(args.log, "a", encoding="utf-8") if args.log else sys.stderr
    host, port = args.listen
    if args.blackhole:
        return blackhole(host, port, args.port_file, log)
    Server.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
    server = Server((host, port), Handler)
    server.state = State(args.app_key, args.app_secret, log)
    scheme = "http"
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
        scheme = "https"

    # Stop from another thread: serve_forever then returns on its own, and a
    # signal arriving at any moment (even a second one) raises nothing.
    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    actual_port = server.server_address[1]
    tmp = "%s.tmp.%d" % (args.port_file, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % actual_port)
    os.replace(tmp, args.port_file)   # atomic: a poller never sees a partial file
    server.state.log("listening on %s://%s:%d" % (scheme, host, actual_port))

    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.state.log("stopping")
        server.server_close()
        try:
            os.unlink(args.port_file)
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
