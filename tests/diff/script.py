"""The request script of the differential harness, derived from one rewritten config, and its execution.

For every HTTP frontend (at most MAX_HTTP_FRONTENDS per config): GET, HEAD, POST with Content-Length and chunked,
a keep-alive pair on one connection, `Connection: close`, HTTP/1.0 with and without keep-alive (no Host),
two malformed heads, spoofed `X-Forwarded-For`/`X-Real-IP`, an absolute-form target with another Host,
the recorders' special paths (redirect, cookie, chunked, slow), one request per ACL value (paths and Hosts,
`-i` variants in upper case, `src` ACLs from 127.0.0.2, and for each use_backend rule of several ACLs one
request with all of them true at once, negated ones too), every stats URI of the config without, with wrong
and with right Basic credentials, and a slow head when a request timeout of at most 3 s is configured.
For every TCP frontend (at most MAX_TCP_FRONTENDS): an echo session and an HTTP request through the tunnel.
Once per config: a server going down (its recorder, and its check-port recorder, stopped) and up again, with
waits derived from the checks' inter/fastinter/downinter/fall/rise, on the first frontend whose default
backend's first server fits in MAX_DOWNUP_WAIT (else skipped with a note).

Every HTTP request carries `X-Diff-Req: rN`, so what each backend received can be matched to it.
"""

import base64
import time

from cfgrewrite import backend_of, frontends
from httpclient import run_exchange

MAX_HTTP_FRONTENDS = 6
MAX_TCP_FRONTENDS = 12
MAX_ACL_REQUESTS = 24
MAX_DOWNUP_WAIT = 26.0
HOST = "www.example.com"


class Item:
    def __init__(self, label, frontend, port, kind):
        self.label = label
        self.frontend = frontend
        self.port = port
        self.kind = kind  # http | tcp | stats | downup
        self.steps = []
        self.src = "127.0.0.1"
        self.sent = {}  # request id -> headers sent [(name, value)] and body
        self.ids = []
        self.timeout = 8.0
        self.extra = {}


class Script:
    def __init__(self):
        self.items = []
        self.notes = []
        self.counter = 0

    def next_id(self):
        self.counter += 1
        return "r%d" % self.counter


def _request(script, item, method, target, headers, version="HTTP/1.1", body=None, chunked=False, raw_extra=b"",
             trailers=()):
    rid = script.next_id()
    hdrs = list(headers) + [("X-Diff-Req", rid)]
    if body is not None and not chunked:
        hdrs.append(("Content-Length", str(len(body))))
    if chunked:
        hdrs.append(("Transfer-Encoding", "chunked"))
    head = "%s %s %s\r\n" % (method, target, version) + "".join("%s: %s\r\n" % h for h in hdrs)
    data = head.encode("latin-1") + raw_extra + b"\r\n"
    if body is not None:
        if chunked:
            data += b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n" % (3, body[:3], len(body) - 3, body[3:])
            data += b"".join(t + b"\r\n" for t in trailers) + b"\r\n"
        else:
            data += body
    item.sent[rid] = {"headers": hdrs, "body": body or b"", "method": method, "target": target, "version": version}
    item.ids.append(rid)
    return data


def _simple(script, fe, port, label, method, target, headers, version="HTTP/1.1", body=None, chunked=False,
            check_close=None, src="127.0.0.1", timeout=8.0, trailers=()):
    it = Item("%s: %s" % (fe, label), fe, port, "http")
    it.src = src
    it.timeout = timeout
    it.steps.append(("send", _request(script, it, method, target, headers, version, body, chunked,
                                      trailers=trailers)))
    it.steps.append(("response", method == "HEAD"))
    if check_close is not None:
        it.steps.append(("closed", check_close))
    script.items.append(it)
    return it


def _acl_probes(proxy):
    """(label, path, host, src) for each ACL value of the frontend, exercising every use_backend rule."""
    entries = []
    for name, lst in proxy.acls.items():
        for e in lst:
            entries.append((name, e))
    for e in proxy.inline_acls:
        entries.append(("{}", e))
    probes = []
    for name, (crit, flags, vals) in entries:
        if any(f.startswith("-f") for f in flags):
            continue
        mflag = next((f.split(" ", 1)[1] for f in flags if f.startswith("-m ")), None)
        icase = "-i" in flags
        base = crit.split("(")[0]
        field = crit[len(base):]
        is_host = "host" in field.lower() and base in ("hdr", "req.hdr", "hdr_beg", "hdr_end", "hdr_dom", "hdr_sub",
                                                       "hdr_str", "req.hdr_beg", "req.hdr_end", "hdr_reg")
        kind = None
        if base in ("path", "url", "path_beg", "path_end", "path_sub", "path_dir", "url_beg", "url_end", "url_sub",
                    "path_reg", "url_reg", "base", "base_beg"):
            kind = "path"
        elif is_host:
            kind = "host"
        elif base == "src":
            kind = "src"
        if kind is None:
            continue
        match = mflag
        if match is None:
            for suf in ("_beg", "_end", "_sub", "_dir", "_dom", "_reg", "_str"):
                if base.endswith(suf):
                    match = suf[1:]
            match = match or "str"
        for v in vals[:4]:
            if kind == "src":
                addr = v.split("/")[0]
                if addr.startswith("127."):
                    src = addr if addr not in ("127.0.0.0",) else "127.0.0.2"
                    probes.append(("acl %s src %s" % (name, v), "/acl-src", HOST, src, name, kind))
                continue
            if match == "reg" or match == "found" or match == "len":
                continue
            if kind == "path":
                p = v
                if match == "beg":
                    p = v + ("x" if v.endswith("/") else "/x")
                elif match == "end":
                    p = "/x" + v
                elif match == "sub":
                    p = "/x" + v + "y"
                elif match == "dir":
                    p = v.rstrip("/") + "/x"
                if not p.startswith("/"):
                    p = "/" + p
                probes.append(("acl %s %s %s" % (name, crit, v), p, HOST, "127.0.0.1", name, kind))
                probes.append(("acl %s %s %s (exact)" % (name, crit, v), v if v.startswith("/") else "/" + v, HOST,
                               "127.0.0.1", None, kind))
                if icase:
                    probes.append(("acl %s %s -i %s (upper)" % (name, crit, v), p.upper(), HOST, "127.0.0.1", None,
                                   kind))
            else:
                h = v
                if match == "beg":
                    h = v + "x.example"
                elif match == "end":
                    h = "x" + v
                elif match == "sub":
                    h = "a" + v + "b"
                probes.append(("acl %s %s %s" % (name, crit, v), "/acl-host", h, "127.0.0.1", name, kind))
                if icase:
                    probes.append(("acl %s %s -i %s (upper)" % (name, crit, v), "/acl-host", h.upper(), "127.0.0.1",
                                   None, kind))
    return probes


def _rule_probes(proxy, probes):
    """One request per use_backend rule that satisfies all of its ACLs at once (the first value of each, path,
    Host and source merged): `if A B` and `unless A B` need A and B together, which single-ACL probes miss."""
    first = {}
    for label, path, host, src, name, kind in probes:
        if name is not None:
            first.setdefault(name, {}).setdefault(kind, (path, host, src))
    out = []
    for backend, cond, words in proxy.use_backends:
        alt = []
        for w in words:
            if w in ("or", "||"):
                break
            alt.append(w)
        if "{" in alt:
            continue
        pos = [w for w in alt if w not in ("and", "&&") and not w.startswith("!")]
        neg = [w[1:] for w in alt if w.startswith("!") and len(w) > 1]
        variants = []
        if len(pos) >= 2:
            variants.append(("its ACLs true", pos))
        if neg:
            variants.append(("its ACLs true, negated ones too", pos + neg))
        for what, names in variants:
            if any(n not in first for n in names):
                continue
            path, host, src = "/rule", HOST, "127.0.0.1"
            for n in names:
                for kind, (p, h, s) in first[n].items():
                    if kind == "path":
                        path = p
                    elif kind == "host":
                        host = h
                    elif kind == "src":
                        src = s
            out.append(("rule use_backend %s %s %s (%s)" % (backend, cond, " ".join(words), what), path, host, src,
                        None, None))
    return out


def _dedupe(probes):
    seen, out = set(), []
    for p in probes:
        key = (p[1], p[2], p[3])
        if key in seen:
            continue
        seen.add(key)
        out.append(p)
    return out


def _stats_settings(rw):
    found = []
    for p in rw.proxies.values():
        st = p.stats_settings()
        if st and st not in found:
            found.append(st)
    return found


def _http_items(script, rw, fe, first):
    port = fe.binds[0]
    n = fe.name
    h = [("Host", HOST)]
    _simple(script, n, port, "GET /", "GET", "/", h, check_close=None)
    _simple(script, n, port, "HEAD /", "HEAD", "/", h)
    _simple(script, n, port, "POST /post (Content-Length)", "POST", "/post", h + [("Content-Type", "text/plain")],
            body=b"a=1&b=2&c=3")
    _simple(script, n, port, "POST /post (chunked)", "POST", "/post", h + [("Content-Type", "text/plain")],
            body=b"hello chunked world", chunked=True)
    # Trailers are header fields (RFC 9112 §7.1.2): forwarded when well formed, 400 before any server otherwise.
    for label, trailer in (("a trailer", b"X-Checksum:  42 "), ("a trailer without a colon", b"NoColon"),
                           ("a space in a trailer name", b"Bad Name: v"), ("a folded trailer", b" folded")):
        _simple(script, n, port, "POST /post (chunked, %s)" % label, "POST", "/post-trailer",
                h + [("Content-Type", "text/plain")], body=b"trailers follow", chunked=True, trailers=(trailer,),
                check_close=1.5 if label != "a trailer" else None)
    it = Item("%s: keep-alive pair GET /ka1, GET /ka2" % n, n, port, "http")
    it.steps += [("send", _request(script, it, "GET", "/ka1", h)), ("response", False),
                 ("send", _request(script, it, "GET", "/ka2", h)), ("response", False), ("closed", 0.3)]
    script.items.append(it)
    _simple(script, n, port, "GET / (Connection: close)", "GET", "/close-req", h + [("Connection", "close")],
            check_close=1.5)
    _simple(script, n, port, "GET / HTTP/1.0 without Host", "GET", "/http10", [], version="HTTP/1.0",
            check_close=1.5)
    _simple(script, n, port, "GET / HTTP/1.0 keep-alive without Host", "GET", "/http10ka",
            [("Connection", "keep-alive")], version="HTTP/1.0", check_close=0.3)
    _simple(script, n, port, "malformed: space in a header name", "GET", "/bad1", h + [("Bad Header", "1")],
            check_close=1.5)
    _simple(script, n, port, "malformed: space before the colon", "GET", "/bad2", h + [("X-Bad ", "1")],
            check_close=1.5)
    _simple(script, n, port, "spoofed X-Forwarded-For and X-Real-IP", "GET", "/spoof",
            h + [("X-Forwarded-For", "6.6.6.6"), ("X-Real-IP", "6.6.6.6")])
    _simple(script, n, port, "absolute-form GET http://other.example/abs with Host www.example.com", "GET",
            "http://other.example/abs", h)
    _simple(script, n, port, "absolute-form GET http://www.example.com/abs2 with the same Host", "GET",
            "http://www.example.com/abs2", h)
    _simple(script, n, port, "GET /redirect", "GET", "/redirect", h)
    _simple(script, n, port, "GET /cookie", "GET", "/cookie", h)
    _simple(script, n, port, "GET /chunked", "GET", "/chunked", h)
    _simple(script, n, port, "GET /chunked HTTP/1.0", "GET", "/chunked", h, version="HTTP/1.0", check_close=1.5)
    _simple(script, n, port, "GET / from 127.0.0.2", "GET", "/from2", h + [("X-Forwarded-For", "6.6.6.6")],
            src="127.0.0.2")
    if first:
        _simple(script, n, port, "GET /slow (1.5 s)", "GET", "/slow?ms=1500", h, timeout=12.0)
    probes = _acl_probes(fe)
    for label, path, host, src, _, _ in _dedupe(_rule_probes(fe, probes) + probes)[:MAX_ACL_REQUESTS]:
        _simple(script, n, port, "%s -> GET %s Host %s%s" % (label, path, host, "" if src == "127.0.0.1" else
                                                              " from " + src),
                "GET", path, [("Host", host)], src=src)
    for st in _stats_settings(rw):
        uri = st["uri"]
        for variant, auth in (("no credentials", None), ("wrong credentials", "admin:wrong-password"),
                              ("right credentials", st["auths"][0] if st["auths"] else None)):
            if variant == "right credentials" and auth is None:
                continue
            hdrs = list(h)
            if auth is not None:
                hdrs.append(("Authorization", "Basic " + base64.b64encode(auth.encode()).decode()))
            it = _simple(script, n, port, "stats %s (%s)" % (uri, variant), "GET", uri, hdrs)
            it.kind = "stats"
    limit = fe.timeouts.get("http-request") or fe.timeouts.get("client")
    if limit is not None and limit <= 3000:
        it = Item("%s: slow head (nothing after the request line for %.1f s)" % (n, limit / 1000.0 + 1.5), n, port,
                  "http")
        rid = script.next_id()
        it.ids.append(rid)
        it.sent[rid] = {"headers": [], "body": b"", "method": "GET", "target": "/slowhead", "version": "HTTP/1.1"}
        it.steps += [("send", b"GET /slowhead HTTP/1.1\r\nHost: www.example.com\r\n"), ("response", False),
                     ("closed", 1.0)]
        it.timeout = limit / 1000.0 + 1.5
        script.items.append(it)


def _tcp_items(script, fe):
    port = fe.binds[0]
    n = fe.name
    it = Item("%s: tcp echo" % n, n, port, "tcp")
    rid = script.next_id()
    payload = ("hello differential %s\n" % rid).encode()
    it.ids.append(rid)
    it.sent[rid] = {"data": payload}
    it.steps += [("send", payload), ("echo", len(payload), 3.0), ("shut_wr",), ("closed", 2.0)]
    script.items.append(it)
    it = Item("%s: HTTP request through tcp mode" % n, n, port, "http")
    it.steps += [("send", _request(script, it, "GET", "/through-tcp",
                                   [("Host", HOST), ("X-Forwarded-For", "6.6.6.6"), ("Connection", "close")])),
                 ("response", False)]
    script.items.append(it)


def _check_timing(servers):
    """Seconds to wait for a stopped checked server to be seen down, and for it to be seen up again."""
    down = up = 0.3
    for s in servers:
        if not s.check:
            continue
        inter = (s.inter or 2000) / 1000.0
        fast = (s.fastinter or s.inter or 2000) / 1000.0
        downi = (s.downinter or s.inter or 2000) / 1000.0
        fall = s.fall or 3
        rise = s.rise or 2
        # HAProxy: the next check within `inter`, then fall-1 more every `fastinter` (down); rise checks every
        # `downinter` (up); plus a quarter interval and half a second of slack
        down = max(down, inter + (fall - 1) * fast + 0.25 * fast + 0.5)
        up = max(up, downi * rise + 0.25 * downi + 0.5)
    return down, up


def _downup_item(script, rw):
    """On the first frontend whose default backend's first server can be seen down and up in time."""
    skipped = []
    for fe in _exercised(rw):
        be = backend_of(rw, fe)
        if be is None:
            continue
        cands = [s for s in be.servers if not s.backup and not s.disabled]
        if not cands:
            continue
        victim = cands[0]
        down, up = _check_timing([victim])
        if down + up > MAX_DOWNUP_WAIT:
            skipped.append("%s/%s (%.0f s)" % (be.name, victim.name, down + up))
            continue
        # 2 requests per server left (while down) and per server (once up): with a strict round robin each
        # server gets two, wherever the rotation starts
        ks = {"down": max(2, min(8, 2 * (len(cands) - 1))), "up": max(2, min(8, 2 * len(cands)))}
        it = Item("%s: server %s/%s down (wait %.1f s, %d requests) and up (wait %.1f s, %d requests)" %
                  (fe.name, be.name, victim.name, down, ks["down"], up, ks["up"]), fe.name, fe.binds[0], "downup")
        it.extra = {"victim": victim.rec, "checks": [victim.rec + "~check"], "down": down, "up": up,
                    "mode": fe.mode, "backend": be.name}
        for phase in ("down", "up"):
            subs = []
            for _ in range(ks[phase]):
                sub = Item(it.label, fe.name, fe.binds[0], "http" if fe.mode == "http" else "tcp")
                if fe.mode == "http":
                    sub.steps += [("send", _request(script, sub, "GET", "/" + phase, [("Host", HOST)])),
                                  ("response", False)]
                else:
                    rid = script.next_id()
                    payload = ("hello %s %s\n" % (phase, rid)).encode()
                    sub.ids.append(rid)
                    sub.sent[rid] = {"data": payload}
                    sub.steps += [("send", payload), ("echo", len(payload), 2.0)]
                subs.append(sub)
            it.extra["phase_" + phase] = subs
            for sub in subs:
                it.ids.extend(sub.ids)
                it.sent.update(sub.sent)
        script.items.append(it)
        return
    if skipped:
        script.notes.append("down/up skipped: the checks would need more than %.0f s: %s" % (
            MAX_DOWNUP_WAIT, ", ".join(skipped)))


def _exercised(rw):
    fes = frontends(rw)
    http = [fe for fe in fes if fe.mode == "http"][:MAX_HTTP_FRONTENDS]
    tcp = [fe for fe in fes if fe.mode != "http"][:MAX_TCP_FRONTENDS]
    return [fe for fe in fes if fe in http or fe in tcp]


def build(rw):
    script = Script()
    fes = frontends(rw)
    chosen = _exercised(rw)
    if len(chosen) < len(fes):
        script.notes.append("only %d of %d frontends exercised (at most %d http, %d tcp)" % (
            len(chosen), len(fes), MAX_HTTP_FRONTENDS, MAX_TCP_FRONTENDS))
    first_http = True
    for fe in chosen:
        if fe.mode == "http":
            _http_items(script, rw, fe, first_http)
            first_http = False
        else:
            _tcp_items(script, fe)
    _downup_item(script, rw)
    return script


def count_requests(script):
    return sum(len(it.ids) for it in script.items)


def execute(script, recorders):
    """Runs every item in order. recorders: name -> Recorder. Returns label -> result."""
    results = {}
    for it in script.items:
        if it.kind == "downup":
            res = {"down": [], "up": []}
            stopped = [recorders[n] for n in [it.extra["victim"]] + it.extra["checks"] if n in recorders]
            for r in stopped:
                r.stop()
            time.sleep(it.extra["down"])
            for sub in _phase(it, "down"):
                res["down"].append(run_exchange(sub.port, sub.steps, sub.src, sub.timeout))
            res["down_end"] = time.monotonic()
            for r in stopped:
                r.start()
            time.sleep(it.extra["up"])
            for sub in _phase(it, "up"):
                res["up"].append(run_exchange(sub.port, sub.steps, sub.src, sub.timeout))
            res["up_end"] = time.monotonic() + 0.2
            results[it.label] = res
        else:
            results[it.label] = run_exchange(it.port, it.steps, it.src, it.timeout)
    return results


def _phase(it, phase):
    return it.extra.get("phase_" + phase, [])
