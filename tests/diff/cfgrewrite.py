"""Rewrites an HAProxy configuration for the differential harness, and reads from it what the script needs.

The same rewritten file is run by HAProxy and by the engine:
- every `bind` address (each item of a comma list) and `listen|frontend NAME ADDR:PORT` becomes
  127.0.0.1:<free port>;
- every `server NAME ADDR[:PORT] ...` becomes 127.0.0.1:<port of its own recording backend>, options kept,
  except `port N` (a separate check port: a recording backend of its own, `NAME~check`) and `addr X`
  (127.0.0.1); `default-server ... port N` likewise gets one check recorder per section;
- `peer`, `nameserver` and `mailer` addresses become unused loopback ports (only loopback traffic);
- in `global`: `daemon`, `chroot`, `user`, `group`, `uid`, `gid`, `pidfile`, `stats socket`, `log`,
  `master-worker` are commented out (they need root or files); elsewhere a `log` line to a non-loopback
  address is commented out too; a global `maxconn` above what the hard descriptor limit lets HAProxy start
  with is lowered (with a note). Line numbers and line endings are kept.

`rewrite(text, alloc)` returns a Rewritten: the new text, the number of dropped lines, the proxies (frontends,
backends, listens with their binds, servers, ACLs, stats settings, check timings) and the recorders to start.
"""

import re
import resource
import socket

SECTIONS = {"global", "defaults", "frontend", "backend", "listen", "peers", "resolvers", "userlist", "mailers",
            "cache", "program", "http-errors", "ring", "fcgi-app"}
GLOBAL_DROP = {"daemon", "chroot", "user", "group", "uid", "gid", "pidfile", "log", "master-worker"}
DEFAULT_STATS_URI = "/haproxy?stats"


class PortAllocator:
    """Hands out ports from [base, base+span) that are free on 127.0.0.1 right now."""

    def __init__(self, base, span):
        self.next = base
        self.end = base + span

    def take(self):
        while self.next < self.end:
            p = self.next
            self.next += 1
            s = socket.socket()
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", p))
                return p
            except OSError:
                continue
            finally:
                s.close()
        raise RuntimeError("no free port left in the range")


def max_global_maxconn():
    """The largest global maxconn HAProxy can start with under this process's hard descriptor limit."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY:
        return 1 << 30
    return max(256, (hard - 200) // 2 - 100)


def parse_time_ms(text, default_unit_ms=1):
    m = re.fullmatch(r"(\d+)(us|ms|s|m|h|d)?", text.strip())
    if not m:
        return None
    n = int(m.group(1))
    unit = {"us": 0.001, "ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000}.get(m.group(2), default_unit_ms)
    return n * unit


def tokenize(line):
    """HAProxy's word splitting: whitespace separates, backslash escapes, quotes group, '#' starts a comment."""
    out, cur, have, i, quote = [], "", False, 0, None
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == quote:
                quote = None
            elif ch == "\\" and quote == '"' and i + 1 < len(line):
                i += 1
                cur += line[i]
            else:
                cur += ch
        elif ch == "\\" and i + 1 < len(line):
            i += 1
            cur += line[i]
            have = True
        elif ch in "\"'":
            quote = ch
            have = True
        elif ch == "#":
            break
        elif ch in " \t\r\n":
            if have:
                out.append(cur)
                cur, have = "", False
        else:
            cur += ch
            have = True
        i += 1
    if have:
        out.append(cur)
    return out


class Server:
    def __init__(self, name, backend, port):
        self.name = name
        self.backend = backend
        self.port = port
        self.check = False
        self.check_port = None
        self.inter = self.fall = self.rise = self.fastinter = self.downinter = None
        self.backup = False
        self.disabled = False
        self.rec = "%s/%s" % (backend, name)


class Proxy:
    def __init__(self, kind, name, defaults):
        self.kind = kind
        self.name = name
        self.mode = defaults.get("mode", "tcp")
        self.binds = []
        self.servers = []
        self.default_backend = None
        self.use_backends = []  # (backend, 'if'|'unless', condition words)
        self.acls = {}  # name -> list of (criterion, flags, values)
        self.inline_acls = []  # (criterion, flags, values) from { ... }
        self.stats = dict(defaults["stats"]) if defaults.get("stats") else None
        self.timeouts = dict(defaults.get("timeouts", {}))
        self.default_server = dict(defaults.get("default_server", {}))
        self.httpchk = defaults.get("httpchk")

    def stats_settings(self):
        if self.stats is None:
            return None
        return {"uri": self.stats.get("uri", DEFAULT_STATS_URI), "auths": self.stats.get("auths", []),
                "realm": self.stats.get("realm")}


class Rewritten:
    def __init__(self):
        self.text = ""
        self.dropped = []
        self.proxies = {}  # (kind, name) -> Proxy, in file order
        self.recorders = []  # (name, port, backend)
        self.notes = []
        self.hostnames = []  # server addresses written as host names (before the rewrite)


def _server_params(tokens, into):
    i = 0
    while i < len(tokens):
        t = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if t == "check":
            into["check"] = True
        elif t in ("inter", "fastinter", "downinter") and nxt:
            into[t] = parse_time_ms(nxt)
            i += 1
        elif t in ("fall", "rise") and nxt and nxt.isdigit():
            into[t] = int(nxt)
            i += 1
        elif t == "backup":
            into["backup"] = True
        elif t == "disabled":
            into["disabled"] = True
        elif t in ("port", "addr", "weight", "maxconn", "cookie", "slowstart", "maxqueue", "minconn", "agent-port",
                   "agent-inter", "id", "on-marked-down", "on-marked-up", "error-limit", "observe", "source", "ca-file",
                   "crt", "sni", "resolvers", "init-addr", "resolve-prefer", "check-sni", "alpn", "proto",
                   "pool-max-conn", "pool-purge-delay", "max-reuse", "usesrc", "track", "redir", "namespace",
                   "tcp-ut", "check-proto", "check-alpn", "agent-send", "agent-addr", "ws", "verify", "verifyhost"):
            i += 1
        i += 1


def _acl_entry(words):
    """words after the ACL name (or inside braces): criterion [flags] values."""
    if not words:
        return None
    crit, flags, vals, i = words[0], [], [], 1
    while i < len(words):
        w = words[i]
        if w == "--":
            vals.extend(words[i + 1:])
            break
        if w in ("-i", "-n", "-u"):
            flags.append(w)
        elif w in ("-m", "-f", "-M") and i + 1 < len(words):
            flags.append(w + " " + words[i + 1])
            i += 1
        elif w.startswith("-") and not vals and len(w) > 1 and not w[1].isdigit():
            flags.append(w)
        else:
            vals.append(w)
        i += 1
    return (crit, flags, vals)


def _loopback_log(tokens):
    if len(tokens) < 2 or tokens[1] == "global":
        return True
    target = tokens[1]
    if target.startswith("/") or target in ("stdout", "stderr") or target.startswith(("fd@", "unix@", "ring@")):
        return True
    host = re.sub(r"^(udp|tcp|ipv4|ipv6|udp4|udp6)@", "", target).rsplit(":", 1)[0]
    return host.startswith("127.") or host in ("localhost", "::1", "[::1]")


def rewrite(text, alloc, drop_log_lines=False):
    """drop_log_lines: also comment out `log` lines outside `global` (`log global` included), an option for
    running configs whose only obstacle in the engine is logging (both proxies then log nothing)."""
    rw = Rewritten()
    lines = text.splitlines(keepends=True)
    section, proxy = None, None
    defaults = {"mode": "tcp", "timeouts": {}, "stats": None, "default_server": {}, "httpchk": None}
    out = []
    for lineno, raw in enumerate(lines, 1):
        body = raw.rstrip("\r\n")
        ending = raw[len(body):]
        tokens = tokenize(body)
        if not tokens:
            out.append(raw)
            continue
        kw = tokens[0]
        if kw in SECTIONS:
            section = kw
            proxy = None
            if kw == "defaults":
                defaults = {"mode": "tcp", "timeouts": {}, "stats": None, "default_server": {}, "httpchk": None}
            elif kw in ("frontend", "backend", "listen") and len(tokens) > 1:
                proxy = Proxy(kw, tokens[1], defaults)
                rw.proxies[(kw, tokens[1])] = proxy  # a frontend and a backend may share a name
                if kw in ("frontend", "listen") and len(tokens) > 2:
                    m = re.match(r"^(\s*\S+\s+\S+\s+)(\S+)(.*)$", body)
                    if m:
                        new = []
                        for _ in m.group(2).split(","):
                            p = alloc.take()
                            new.append("127.0.0.1:%d" % p)
                            proxy.binds.append(p)
                        body = m.group(1) + ",".join(new) + m.group(3)
            out.append(body + ending)
            continue

        if section == "global" and (kw in GLOBAL_DROP or (kw == "stats" and len(tokens) > 1 and tokens[1] == "socket")):
            rw.dropped.append((lineno, body.strip()))
            out.append("#diff-dropped# " + body + ending)
            continue
        if section != "global" and kw == "log" and (drop_log_lines or not _loopback_log(tokens)):
            rw.dropped.append((lineno, body.strip()))
            out.append("#diff-dropped# " + body + ending)
            continue

        if section == "global" and kw == "maxconn" and len(tokens) > 1 and tokens[1].isdigit() and \
                int(tokens[1]) > max_global_maxconn():
            m = re.match(r"^(\s*maxconn\s+)(\d+)(.*)$", body)
            if m:
                body = m.group(1) + str(max_global_maxconn()) + m.group(3)
                rw.notes.append("line %d: global maxconn %s lowered to %d (HAProxy needs 2 descriptors per connection "
                                "and the hard descriptor limit here is %d)" % (lineno, tokens[1], max_global_maxconn(),
                                                                              resource.getrlimit(
                                                                                  resource.RLIMIT_NOFILE)[1]))
            out.append(body + ending)
            continue

        target = proxy if proxy is not None else (defaults if section == "defaults" else None)

        if kw == "bind" and proxy is not None:
            m = re.match(r"^(\s*bind\s+)(\S+)(.*)$", body)
            if m:
                new = []
                for _ in m.group(2).split(","):
                    p = alloc.take()
                    new.append("127.0.0.1:%d" % p)
                    proxy.binds.append(p)
                body = m.group(1) + ",".join(new) + m.group(3)
        elif kw in ("server", "server-template") and proxy is not None and len(tokens) >= 3:
            is_tpl = kw == "server-template"
            name = tokens[1]
            pattern = (r"^(\s*server-template\s+\S+\s+\S+\s+)(\S+)(.*)$" if is_tpl
                       else r"^(\s*server\s+\S+\s+)(\S+)(.*)$")
            m = re.match(pattern, body)
            if m:
                port = alloc.take()
                srv = Server(name, proxy.name, port)
                addr = m.group(2)
                host = addr.rsplit(":", 1)[0] if addr.count(":") == 1 or not addr.startswith("[") else addr
                host = re.sub(r"^(ipv4|ipv6)@", "", host)
                if not re.fullmatch(r"[\d.]+|\[?[0-9a-fA-F:]*:[0-9a-fA-F:.]*\]?|\*?", host):
                    rw.hostnames.append("%s (line %d)" % (addr, lineno))
                srv.rec = "%s/%s" % (proxy.name, name)  # recorder names are unique: server names need not be
                rw.recorders.append((srv.rec, port, proxy.name))
                rest = m.group(3)
                params = dict(proxy.default_server)
                _server_params(tokens[4 if is_tpl else 3:], params)
                pm = re.search(r"(?<=\s)port\s+(\d+)", rest.split("#")[0])
                if pm:
                    cport = alloc.take()
                    rw.recorders.append((srv.rec + "~check", cport, proxy.name))
                    rest = rest[:pm.start()] + "port %d" % cport + rest[pm.end():]
                    srv.check_port = cport
                rest = re.sub(r"(?<=\s)addr\s+\S+", "addr 127.0.0.1", rest)
                body = m.group(1) + "127.0.0.1:%d" % port + rest
                srv.check = bool(params.get("check"))
                for k in ("inter", "fall", "rise", "fastinter", "downinter"):
                    setattr(srv, k, params.get(k))
                srv.backup = bool(params.get("backup"))
                srv.disabled = bool(params.get("disabled"))
                proxy.servers.append(srv)
        elif kw == "default-server" and target is not None:
            ds = target.default_server if isinstance(target, Proxy) else target["default_server"]
            _server_params(tokens[1:], ds)
            pm = re.search(r"(?<=\s)port\s+(\d+)", body.split("#")[0])
            if pm:
                cport = alloc.take()
                owner = target.name if isinstance(target, Proxy) else "defaults"
                rw.recorders.append(("default-server~check~%d" % lineno, cport, owner))
                body = body[:pm.start()] + "port %d" % cport + body[pm.end():]
                rw.notes.append("line %d: default-server check port -> one shared check recorder" % lineno)
        elif kw in ("peer", "nameserver", "mailer", "server") and section in ("peers", "resolvers", "mailers"):
            m = re.match(r"^(\s*\S+\s+\S+\s+)(\S+)(.*)$", body)
            if m:
                body = m.group(1) + "127.0.0.1:%d" % alloc.take() + m.group(3)
        elif kw == "mode" and len(tokens) > 1 and target is not None:
            if isinstance(target, Proxy):
                target.mode = tokens[1]
            else:
                target["mode"] = tokens[1]
        elif kw == "timeout" and len(tokens) > 2 and target is not None:
            t = parse_time_ms(tokens[2])
            if isinstance(target, Proxy):
                target.timeouts[tokens[1]] = t
            else:
                target["timeouts"][tokens[1]] = t
        elif kw == "contimeout" or kw == "clitimeout" or kw == "srvtimeout":
            pass
        elif kw == "stats" and len(tokens) > 1 and target is not None and section != "global":
            st = target.stats if isinstance(target, Proxy) else target["stats"]
            if st is None:
                st = {"auths": []}
                if isinstance(target, Proxy):
                    target.stats = st
                else:
                    target["stats"] = st
            else:
                st.setdefault("auths", [])
            if tokens[1] == "uri" and len(tokens) > 2:
                st["uri"] = tokens[2]
            elif tokens[1] == "auth" and len(tokens) > 2:
                st["auths"] = st["auths"] + [tokens[2]]
            elif tokens[1] == "realm" and len(tokens) > 2:
                st["realm"] = " ".join(tokens[2:])
        elif kw == "option" and len(tokens) > 1 and tokens[1] == "httpchk" and target is not None:
            if isinstance(target, Proxy):
                target.httpchk = tokens[2:]
            else:
                target["httpchk"] = tokens[2:]
        elif proxy is not None and kw == "default_backend" and len(tokens) > 1:
            proxy.default_backend = tokens[1]
        elif proxy is not None and kw == "acl" and len(tokens) > 2:
            e = _acl_entry(tokens[2:])
            if e:
                proxy.acls.setdefault(tokens[1], []).append(e)
        elif proxy is not None and kw == "use_backend" and len(tokens) > 1:
            cond_kind = tokens[2] if len(tokens) > 2 else ""
            proxy.use_backends.append((tokens[1], cond_kind, tokens[3:]))
        if proxy is not None and "{" in tokens:
            # anonymous ACLs: { criterion [flags] values }
            words, inside = [], False
            for t in tokens:
                if t == "{":
                    inside, words = True, []
                elif t == "}" and inside:
                    inside = False
                    e = _acl_entry(words)
                    if e:
                        proxy.inline_acls.append(e)
                elif inside:
                    words.append(t)
        out.append(body + ending)

    rw.text = "".join(out)
    if rw.hostnames:
        rw.notes.append("%d server addresses were host names, rewritten to loopback like the others (the engine "
                        "takes addresses only): %s" % (len(rw.hostnames), ", ".join(rw.hostnames[:4]) +
                                                       (", ..." if len(rw.hostnames) > 4 else "")))
    return rw


def frontends(rw):
    """Proxies that accept connections (have a bind), in file order."""
    return [p for p in rw.proxies.values() if p.kind in ("frontend", "listen") and p.binds]


def backend_of(rw, proxy):
    """The backend a default request reaches (listen: itself)."""
    if proxy.kind == "listen" and proxy.servers:
        return proxy
    for kind in ("backend", "listen"):
        be = rw.proxies.get((kind, proxy.default_backend))
        if be is not None:
            return be
    return None
