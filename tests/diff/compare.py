"""Normalising and comparing two runs (HAProxy, the engine) of one script.

What is normalised (it legitimately differs and is not reported):
- client side: `Date`, `Server`; the proxy's own answers (error pages: no `X-Diff-Server` header) are compared
  by status, `Connection` and whether the connection closed only, not by body, length or content type; the
  stats page by status, whether it was served by the proxy and `WWW-Authenticate` (realm) only;
- backend side: header names are case-insensitive (HAProxy writes them in lower case); repeated field lines
  are combined with ", " (RFC 9110 §5.3: `X-Forwarded-For: a` + `X-Forwarded-For: b` = `a, b`);
  `Connection`/`Keep-Alive` (the proxy-to-server connection is each proxy's own business); the framing
  headers are compared as framing (none, length, chunked) plus the body, not as header text;
- which server of a backend answered: per request only the backend; the servers as a multiset over the run,
  where a count may differ by one (or 10 %): balancing may start at another server, and HAProxy itself moves
  its round-robin position when a first check completes (seen running HAProxy against itself);
- health checks: per recorder, the set of distinct check requests (method, target, version, Host), compared
  when both proxies sent at least one, or when only one did although both runs lasted over two check
  intervals (a shorter run may end before HAProxy's first check); bare TCP connect checks are not seen
  (HAProxy resets them before the recorder can accept them), so "none seen" may mean connect-only checks.

Each difference: (item label, aspect, what HAProxy did, what the engine did).
"""

import re
from collections import Counter

CLIENT_IGNORED = {"date", "server", "x-diff-server", "connection", "keep-alive", "content-length",
                  "transfer-encoding"}
BACKEND_IGNORED = {"connection", "keep-alive", "content-length", "transfer-encoding"}


def _hget(headers, name):
    vals = [v for n, v in headers if n.lower() == name]
    return ", ".join(vals) if vals else None


def _conn_token(headers):
    v = (_hget(headers, "connection") or "").lower()
    if "close" in v:
        return "close"
    if "keep-alive" in v:
        return "keep-alive"
    return "-"


def _body(b):
    text = b.decode("latin-1")
    text = re.sub(r"server=\S+", "server=<server>", text)
    return text if len(text) <= 120 else text[:117] + "..."


def _response_summary(r, is_stats):
    d = {}
    proxied = _hget(r["headers"], "x-diff-server") is not None
    d["status"] = r["status"]
    d["answered by"] = "backend" if proxied else "proxy"
    if proxied:
        d["Content-Type"] = _hget(r["headers"], "content-type")
        d["Location"] = _hget(r["headers"], "location")
        sc = [v.split("=", 1)[0].strip() for n, v in r["headers"] if n.lower() == "set-cookie"]
        d["Set-Cookie names"] = ",".join(sorted(sc)) or None
        d["Cache-Control"] = _hget(r["headers"], "cache-control")
        d["body"] = _body(r["body"])
        names = sorted({n.lower() for n, _ in r["headers"]} - CLIENT_IGNORED)
        d["header names"] = " ".join(names)
        d["framing"] = r["framing"]
    elif is_stats or r["status"] in (401, 407):
        d["WWW-Authenticate"] = _hget(r["headers"], "www-authenticate")
    d["Connection"] = _conn_token(r["headers"])
    if r.get("interim"):
        d["interim"] = ",".join(str(s) for s in r["interim"])
    return d


def client_summary(res, is_stats=False, expected=1):
    d = {}
    rs = res["responses"]
    if expected <= 1:
        if not rs:
            d["response"] = "none (%s)" % (res["error"] or "no reply")
        else:
            d.update(_response_summary(rs[0], is_stats))
    else:
        for i in range(1, expected + 1):
            if i <= len(rs):
                for k, v in _response_summary(rs[i - 1], is_stats).items():
                    d["response %d %s" % (i, k)] = v
            else:
                d["response %d" % i] = "none (%s)" % (res["error"] or "no reply")
    if rs and res["error"] and len(rs) >= expected:
        d["after the response"] = res["error"]
    if res["closed"] is not None and rs:
        d["connection closed after"] = "closed" if res["closed"] else "open"
    return d


def _norm_headers(headers):
    out = {}
    for n, v in headers:
        k = n.lower()
        if k in BACKEND_IGNORED:
            continue
        out[k] = v if k not in out else out[k] + ", " + v
    return out


def records_by_id(records):
    by = {}
    for r in records:
        if r["kind"] == "http":
            rid = next((v for n, v in r["headers"] if n.lower() == "x-diff-req"), None)
            if rid is not None:
                for one in rid.split(","):
                    by.setdefault(one.strip(), []).append(r)
        elif r["kind"] == "tcp":
            for m in re.finditer(rb"(r\d+)\n", r["data"]):
                by.setdefault(m.group(1).decode(), []).append(r)
            for m in re.finditer(rb"X-Diff-Req: (r\d+)", r["data"]):
                by.setdefault(m.group(1).decode(), []).append(r)
    return by


def backend_summary(recs, sent):
    d = {}
    if not recs:
        d["reached"] = "no backend"
        return d
    if len(recs) > 1:
        d["times received"] = len(recs)
    r = recs[-1]
    d["backend"] = r["backend"]
    if r["kind"] == "tcp":
        hdr, data = split_proxy_header(r["data"])
        want = sent.get("data")
        if want is not None:
            d["bytes"] = "as sent" if data == want else repr(data[:80])
        else:
            d["bytes"] = "as sent" if b"X-Forwarded-For: 6.6.6.6\r\n" in data else repr(data[:120])
        if hdr:
            d["bytes"] = hdr + " + " + d["bytes"]
        return d
    d["request line"] = "%s %s %s" % (r["method"], r["target"], r["version"])
    if r.get("proxy_header"):
        d["PROXY header"] = split_proxy_header(r["proxy_header"])[0]
    got = _norm_headers(r["headers"])
    want = _norm_headers(sent.get("headers", []))
    added = ["%s: %s" % (k, v) for k, v in got.items() if k not in want]
    changed = ["%s: %s -> %s" % (k, want[k], v) for k, v in got.items() if k in want and want[k] != v]
    removed = [k for k in want if k not in got]
    d["headers added"] = "; ".join(sorted(added)) or "-"
    d["headers changed"] = "; ".join(sorted(changed)) or "-"
    d["headers removed"] = " ".join(sorted(removed)) or "-"
    d["body"] = "as sent" if r["body"] == sent.get("body", b"") else repr(r["body"][:80])
    d["framing"] = r["framing"]
    if r.get("trailers") or sent.get("trailers"):
        d["trailers"] = "; ".join("%s: %s" % t for t in r.get("trailers", [])) or "-"
    return d


CLIENT_SHAPE = ("response", "status", "answered by", "Connection", "connection closed after", "after the response")


def _compact_client(d):
    if "response" in d:
        parts = ["no response" + d["response"][4:] if d["response"].startswith("none (") else d["response"]]
    else:
        parts = ["%s from the %s" % (d.get("status"), d.get("answered by"))]
    if d.get("Connection") not in (None, "-"):
        parts.append("Connection: " + d["Connection"])
    if "connection closed after" in d:
        parts.append("then " + d["connection closed after"])
    if "after the response" in d:
        parts.append("then " + d["after the response"])
    return ", ".join(parts)


def _compact_backend(d):
    if "reached" in d:
        return d["reached"]
    s = "backend %s" % d.get("backend")
    if "request line" in d:
        s += ": " + d["request line"]
    if d.get("times received"):
        s += " (received %d times)" % d["times received"]
    return s


def _sub(d, prefix):
    return {k[len(prefix):]: v for k, v in d.items() if k.startswith(prefix)}


def _diff_client(label, a, b, out, expected=1):
    """One line when the shape differs (no answer, or the proxy answered instead of a server), else per aspect."""
    if a == b:
        return
    if expected <= 1:
        if "response" in a or "response" in b or a.get("answered by") != b.get("answered by"):
            ca, cb = _compact_client(a), _compact_client(b)
            out.append((label, "response", ca, cb) if ca != cb else (label, "response", repr(a), repr(b)))
        else:
            _diff_dicts(label, "", a, b, out)
        return
    for i in range(1, expected + 1):
        key = "response %d" % i
        sa, sb = _sub(a, key + " "), _sub(b, key + " ")
        if key in a:
            sa = {"response": a[key]}
        if key in b:
            sb = {"response": b[key]}
        if "response" in sa or "response" in sb or sa.get("answered by") != sb.get("answered by"):
            if sa != sb:
                out.append((label, key, _compact_client(sa), _compact_client(sb)))
        else:
            _diff_dicts(label, key + " ", sa, sb, out)
    rest_a = {k: v for k, v in a.items() if not k.startswith("response ")}
    rest_b = {k: v for k, v in b.items() if not k.startswith("response ")}
    _diff_dicts(label, "", rest_a, rest_b, out)


def _diff_backend(label, prefix, a, b, out):
    if ("reached" in a) != ("reached" in b) or a.get("backend") != b.get("backend"):
        out.append((label, prefix.strip(), _compact_backend(a), _compact_backend(b)))
        return
    _diff_dicts(label, prefix, a, b, out)


def _diff_dicts(label, prefix, a, b, out):
    for k in list(dict.fromkeys(list(a) + list(b))):
        va, vb = a.get(k, "(none)"), b.get(k, "(none)")
        if va != vb:
            out.append((label, prefix + k, str(va), str(vb)))


def _servers_of(by, rids):
    return [by[r][-1]["server"] if r in by else None for r in rids]


def _phase_summary(results, subs, by, until):
    """Statuses (or echoes) and the servers that received each request before the phase ended: a proxy that
    still retries a request of the down phase once the server is back is not counted as reaching it."""
    by = {rid: [r for r in recs if r["t"] <= until] for rid, recs in by.items()}
    by = {rid: recs for rid, recs in by.items() if recs}
    c = Counter()
    for res, sub in zip(results, subs):
        rs = res["responses"]
        if sub.kind == "tcp":
            want = sub.sent[sub.ids[0]]["data"]
            what = "echo ok" if res["echo"] == want else "no echo (%s)" % (res["error"] or "closed")
        else:
            what = str(rs[0]["status"]) if rs else "none (%s)" % res["error"]
        srv = [by[r][-1]["server"] for r in sub.ids if r in by]
        c[what + (" via " + srv[-1] if srv else "")] += 1
    return ", ".join("%s x%d" % (k, v) for k, v in sorted(c.items()))


PROXY_V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def split_proxy_header(data):
    """(description, rest) when data starts with a PROXY protocol header, else (None, data). The source port
    changes every time, so only the version, command and addresses are described."""
    if data.startswith(PROXY_V2_SIG) and len(data) >= 16:
        n = int.from_bytes(data[14:16], "big")
        cmd = "LOCAL" if data[12] & 0x0F == 0 else "PROXY"
        body = data[16:16 + n]
        addrs = ""
        if data[13] >> 4 == 1 and len(body) >= 12:
            addrs = " %s -> %s" % (".".join(str(b) for b in body[0:4]), ".".join(str(b) for b in body[4:8]))
        return "PROXY v2 %s%s" % (cmd, addrs), data[16 + n:]
    if data.startswith(b"PROXY "):
        end = data.find(b"\r\n")
        words = data[:end].decode("latin-1").split() if end >= 0 else []
        desc = "PROXY v1 " + " ".join(words[1:4]) if len(words) >= 4 else "PROXY v1"
        return desc, (data[end + 2:] if end >= 0 else b"")
    return None, data


def _data_kind(data):
    """What a non-HTTP check sent, without the bytes that change every time (ports, TLS randoms)."""
    hdr, rest = split_proxy_header(data)
    if hdr:
        return hdr + (" + " + _data_kind(rest) if rest else "")
    if data[:1] == b"\x16" and data[1:2] == b"\x03":
        return "TLS ClientHello"
    return repr(data[:40])


def check_forms(records):
    """recorder name -> sorted list of distinct health-check forms seen."""
    forms = {}
    for r in records:
        if r["kind"] == "http":
            if any(n.lower() == "x-diff-req" for n, _ in r["headers"]):
                continue
            host = _hget(r["headers"], "host")
            f = "%s %s %s%s" % (r["method"], r["target"], r["version"], " Host: " + host if host else " (no Host)")
        elif r["kind"] == "connect":
            continue  # a bare TCP connect check: HAProxy resets it before it can be accepted, so not comparable
        elif r["kind"] == "tcp":
            if re.search(rb"r\d+", r["data"]):
                continue
            f = "TCP data " + _data_kind(r["data"])
        else:
            f = "garbage %r" % r.get("data", b"")[:40]
        forms.setdefault(r["server"], set()).add(f)
    return {k: sorted(v) for k, v in forms.items()}


def compare(script, run_a, run_b, check_inter=None):
    """run_x: {"results": label -> result, "records": [...], "duration": s}.
    Returns (differences, notes, summaries: label -> side -> what was compared)."""
    diffs, notes, summaries = [], [], {}
    by_a, by_b = records_by_id(run_a["records"]), records_by_id(run_b["records"])
    order_notes = []
    servers_a, servers_b = Counter(), Counter()
    for it in script.items:
        ra, rb = run_a["results"].get(it.label), run_b["results"].get(it.label)
        if ra is None or rb is None:
            diffs.append((it.label, "run", "ran" if ra else "not run", "ran" if rb else "not run"))
            continue
        if it.kind == "downup":
            for phase in ("down", "up"):
                subs = it.extra["phase_" + phase]
                sa = _phase_summary(ra[phase], subs, by_a, ra[phase + "_end"])
                sb = _phase_summary(rb[phase], subs, by_b, rb[phase + "_end"])
                if sa != sb:
                    diffs.append((it.label, "while " + phase, sa, sb))
            continue
        if it.kind == "tcp":
            want = it.sent[it.ids[0]]["data"]
            ca = {"echo": "ok" if ra["echo"] == want else repr(ra["echo"][:60]),
                  "closed after our half-close": ra["closed"]}
            cb = {"echo": "ok" if rb["echo"] == want else repr(rb["echo"][:60]),
                  "closed after our half-close": rb["closed"]}
        else:
            expected = sum(1 for st in it.steps if st[0] == "response")
            ca = client_summary(ra, it.kind == "stats", expected)
            cb = client_summary(rb, it.kind == "stats", expected)
        _diff_client(it.label, ca, cb, diffs, expected if it.kind != "tcp" else 1)
        summaries[it.label] = {"haproxy": {"client": ca}, "engine": {"client": cb}}
        for rid in it.ids:
            sent = it.sent[rid]
            ba = backend_summary(by_a.get(rid, []), sent)
            bb = backend_summary(by_b.get(rid, []), sent)
            pre = "backend " if len(it.ids) == 1 else "backend (%s) " % rid
            _diff_backend(it.label, pre, ba, bb, diffs)
            summaries[it.label]["haproxy"][rid] = ba
            summaries[it.label]["engine"][rid] = bb
        sa, sb = _servers_of(by_a, it.ids), _servers_of(by_b, it.ids)
        for x, y in zip(sa, sb):
            if x and y:  # only requests that reached a server under both (the others are reported above)
                servers_a[x] += 1
                servers_b[y] += 1
        if sa != sb:
            order_notes.append(it.label)
    fa = ", ".join("%s x%d" % kv for kv in sorted(servers_a.items()))
    fb = ", ".join("%s x%d" % kv for kv in sorted(servers_b.items()))
    off = [s for s in set(servers_a) | set(servers_b)
           if abs(servers_a[s] - servers_b[s]) > max(1, 0.1 * max(servers_a[s], servers_b[s]))]
    if off:
        diffs.append(("(whole script)", "servers that answered (multiset)", fa, fb))
    elif servers_a != servers_b:
        notes.append("servers that answered differ by at most one request each (balancing start point): "
                     "%s | %s" % (fa, fb))
    elif order_notes:
        notes.append("server order differs in %d requests, same multiset of servers" % len(order_notes))
    fa, fb = check_forms(run_a["records"]), check_forms(run_b["records"])
    summaries["(health checks)"] = {"haproxy": fa, "engine": fb}
    for name in sorted(set(fa) | set(fb)):
        a, b = fa.get(name), fb.get(name)
        if a and b and a != b:
            diffs.append(("health checks", "to " + name, " + ".join(a), " + ".join(b)))
        elif bool(a) != bool(b):
            inter = (check_inter or {}).get(name)
            long_enough = inter is not None and min(run_a["duration"], run_b["duration"]) > 2 * inter / 1000.0 + 1
            if long_enough:  # both runs lasted long enough for several checks
                diffs.append(("health checks", "to " + name, " + ".join(a) if a else "none seen",
                              " + ".join(b) if b else "none seen"))
            else:
                notes.append("health checks to %s seen only under %s: %s" % (
                    name, "haproxy" if a else "the engine", " + ".join(a or b)))
    return diffs, notes, summaries
