"""Recording backends for the differential harness: one loopback server per `server` line of a config.

Each recorder accepts TCP connections on 127.0.0.1:PORT and looks at the first line. An HTTP request line
makes it an HTTP/1.1 server (keep-alive, Content-Length and chunked request bodies); anything else makes it
an echo server (TCP mode); a PROXY protocol header in front is taken off first and recorded. Every request
(request line, headers in order, decoded body, framing), every echo session and every connection closed
without a byte (a TCP connect check) is appended to `records`.

Answers: 200 with a body naming the server, except on special paths:
  /slow[?ms=N]   sleeps N ms (default 1500) first
  /status        200 only with `Host: www.example.com`, else 404 (a name-based health endpoint)
  /redirect      302 with a Location
  /cookie        200 with a Set-Cookie
  /chunked       a chunked response (to an HTTP/1.0 request: no length, ended by the close)
  /close         answers with `Connection: close` and closes
Every answer carries `X-Diff-Server: NAME` so the harness can tell proxied answers from the proxy's own.
"""

import re
import socket
import threading
import time

REQUEST_LINE = re.compile(rb"^[A-Z][A-Z0-9_-]* \S+ HTTP/\d\.\d\r?$")
MAX_HEAD = 64 * 1024
MAX_BODY = 1024 * 1024
IDLE_SECONDS = 15.0


class Recorder:
    def __init__(self, name, port, backend=""):
        self.name = name
        self.port = port
        self.backend = backend
        self.records = []
        self.lock = threading.Lock()
        self.listener = None
        self.conns = set()
        self.accept_thread = None
        self.running = False
        self.conn_seq = 0

    # ---- lifecycle ------------------------------------------------------------------------------------------------
    def start(self):
        if self.running:
            return
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(128)
        s.settimeout(0.2)
        self.listener = s
        self.running = True
        self.accept_thread = threading.Thread(target=self._accept_loop, args=(s,), daemon=True)
        self.accept_thread.start()

    def stop(self):
        """Close the listener and every open connection: the server is down (connections are refused)."""
        if not self.running:
            return
        self.running = False
        t = self.accept_thread
        if t is not None:
            t.join(timeout=2.0)
        try:
            self.listener.close()
        except OSError:
            pass
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                c.close()
            except OSError:
                pass

    def reset(self):
        with self.lock:
            self.records = []

    def snapshot(self):
        with self.lock:
            return list(self.records)

    def _record(self, rec, t=None):
        """t: when the request (or the first byte of a TCP session) arrived; default now."""
        rec["server"] = self.name
        rec["backend"] = self.backend
        rec["t"] = t if t is not None else time.monotonic()
        with self.lock:
            self.records.append(rec)

    # ---- connections ----------------------------------------------------------------------------------------------
    def _accept_loop(self, listener):
        deadline = time.monotonic() + 3600
        while self.running and time.monotonic() < deadline:
            try:
                c, _ = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            with self.lock:
                self.conns.add(c)
                self.conn_seq += 1
                cid = self.conn_seq
            threading.Thread(target=self._serve, args=(c, cid), daemon=True).start()

    def _serve(self, c, cid):
        try:
            self._serve_one(c, cid)
        except OSError:
            pass  # stopped (the socket was closed under us) or reset by the peer
        finally:
            with self.lock:
                self.conns.discard(c)
            try:
                c.close()
            except OSError:
                pass

    def _serve_one(self, c, cid):
        c.settimeout(IDLE_SECONDS)
        try:
            first = c.recv(65536)
        except (socket.timeout, OSError):
            first = b""
        if not first:
            self._record({"kind": "connect", "conn": cid})
            return
        t_first = time.monotonic()
        buf = first
        proxy_header, buf = _strip_proxy_header(c, buf)
        buf = _until_newline(c, buf)
        line_end = buf.find(b"\n")
        probe = buf[:line_end] if line_end >= 0 else buf
        if line_end >= 0 and REQUEST_LINE.match(probe):
            self._serve_http(c, cid, buf, proxy_header)
        else:
            self._serve_echo(c, cid, buf, t_first, proxy_header)

    def _serve_echo(self, c, cid, buf, t_first, proxy_header):
        received = bytearray(proxy_header + buf)
        try:
            if buf:
                c.sendall(buf)
            for _ in range(10000):
                data = c.recv(65536)
                if not data:
                    break
                received += data
                c.sendall(data)
        except OSError:
            pass
        self._record({"kind": "tcp", "conn": cid, "data": bytes(received)}, t_first)

    def _serve_http(self, c, cid, buf, proxy_header):
        seq = 0
        for _ in range(1000):  # requests per connection, bounded
            head, buf, ok = _read_head(c, buf)
            if not ok:
                return
            seq += 1
            req = _parse_head(head)
            if req is None:
                self._record({"kind": "garbage", "conn": cid, "data": head})
                c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            trailers = []
            body, framing, buf, ok = _read_body(c, buf, req["headers"], trailers)
            req.update({"kind": "http", "conn": cid, "seq": seq, "body": body, "framing": framing,
                        "trailers": trailers, "proxy_header": proxy_header})
            self._record(req)
            if not ok:
                return
            keep = self._answer(c, req)
            if not keep:
                return

    def _answer(self, c, req):
        method, target, version = req["method"], req["target"], req["version"]
        path = target
        if "://" in path:
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        path_only, _, query = path.partition("?")
        conn_tokens = ",".join(v.lower() for n, v in req["headers"] if n.lower() == "connection")
        if version == "HTTP/1.0":
            keep = "keep-alive" in conn_tokens
        else:
            keep = "close" not in conn_tokens
        host = next((v for n, v in req["headers"] if n.lower() == "host"), "")
        tag = next((v for n, v in req["headers"] if n.lower() == "x-diff-req"), "-")
        status, reason, extra = 200, "OK", []
        body = ("server=%s path=%s req=%s\n" % (self.name, path_only, tag)).encode()
        chunked = False
        if path_only == "/slow":
            ms = 1500
            m = re.search(r"ms=(\d+)", query)
            if m:
                ms = min(int(m.group(1)), 10000)
            time.sleep(ms / 1000.0)
        elif path_only == "/status":
            if host.lower() != "www.example.com":
                status, reason = 404, "Not Found"
                body = b"unknown host\n"
        elif path_only == "/redirect":
            status, reason = 302, "Found"
            extra.append(("Location", "http://www.example.com/elsewhere"))
        elif path_only == "/cookie":
            extra.append(("Set-Cookie", "session=abc123; Path=/"))
        elif path_only == "/chunked":
            chunked = version != "HTTP/1.0"  # an HTTP/1.0 peer gets a body delimited by the close
            keep = keep and chunked
        elif path_only == "/close":
            keep = False
        lines = ["%s %d %s" % ("HTTP/1.1", status, reason),
                 "X-Diff-Server: %s" % self.name,
                 "Content-Type: text/plain"]
        lines += ["%s: %s" % kv for kv in extra]
        if chunked:
            lines.append("Transfer-Encoding: chunked")
        elif path_only == "/chunked":
            pass
        else:
            lines.append("Content-Length: %d" % len(body))
        if not keep:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode()
        if method == "HEAD":
            payload = head
        elif chunked:
            half = len(body) // 2
            payload = head + b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (half, body[:half], len(body) - half, body[half:])
        else:
            payload = head + body
        try:
            c.sendall(payload)
        except OSError:
            return False
        return keep


PROXY_V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def _strip_proxy_header(c, buf):
    """A PROXY protocol v1/v2 header (send-proxy, send-proxy-v2) is taken off the front, as a server with
    accept-proxy does, so the rest is sniffed and served as usual. Returns (header bytes, rest)."""
    if buf.startswith(PROXY_V2_SIG[:len(buf)]) and len(buf) < 16:
        buf, _ = _recv_exact(c, buf, 16)
    if buf.startswith(PROXY_V2_SIG) and len(buf) >= 16:
        total = 16 + int.from_bytes(buf[14:16], "big")
        buf, _ = _recv_exact(c, buf, total)
        return buf[:total], buf[total:]
    if buf.startswith(b"PROXY "):
        line, rest, ok = _read_line(c, buf)
        if ok:
            return line + b"\r\n", rest
    return b"", buf


def _until_newline(c, buf, wait=1.0):
    """Reads on (up to `wait` seconds) until the first line is complete, so a request line split over two
    segments (a PROXY header in the first one, say) is still recognised."""
    deadline = time.monotonic() + wait
    for _ in range(1000):
        if b"\n" in buf or len(buf) > 8192:
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        c.settimeout(remaining)
        try:
            data = c.recv(65536)
        except (socket.timeout, OSError):
            break
        if not data:
            break
        buf += data
    c.settimeout(IDLE_SECONDS)
    return buf


def _read_head(c, buf):
    for _ in range(10000):
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            return buf[:end + 2], buf[end + 4:], True
        lf = buf.find(b"\n\n")
        if lf >= 0:
            return buf[:lf + 1], buf[lf + 2:], True
        if len(buf) > MAX_HEAD:
            return b"", b"", False
        try:
            data = c.recv(65536)
        except OSError:
            return b"", b"", False
        if not data:
            return b"", b"", False
        buf += data
    return b"", b"", False


def _parse_head(head):
    lines = head.replace(b"\r\n", b"\n").split(b"\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3:
        return None
    headers = []
    for raw in lines[1:]:
        if not raw:
            continue
        name, sep, value = raw.partition(b":")
        if not sep:
            return None
        headers.append((name.decode("latin-1"), value.strip().decode("latin-1")))
    return {"method": parts[0].decode("latin-1"), "target": parts[1].decode("latin-1"),
            "version": parts[2].decode("latin-1"), "headers": headers}


def _recv_exact(c, buf, n):
    for _ in range(100000):
        if len(buf) >= n:
            return buf, True
        try:
            data = c.recv(65536)
        except OSError:
            return buf, False
        if not data:
            return buf, False
        buf += data
    return buf, False


def _read_line(c, buf):
    for _ in range(10000):
        i = buf.find(b"\r\n")
        if i >= 0:
            return buf[:i], buf[i + 2:], True
        if len(buf) > 8192:
            return b"", b"", False
        try:
            data = c.recv(65536)
        except OSError:
            return b"", b"", False
        if not data:
            return b"", b"", False
        buf += data
    return b"", b"", False


def _read_body(c, buf, headers, trailers=None):
    """Returns (body, framing, rest, ok). framing: 'none', 'length', 'chunked'. The trailer lines of a chunked
    body go to `trailers` (as (name, value) pairs, the name lower-cased and the value stripped)."""
    te = ",".join(v.lower() for n, v in headers if n.lower() == "transfer-encoding")
    cl = [v for n, v in headers if n.lower() == "content-length"]
    if "chunked" in te:
        body = b""
        for _ in range(10000):
            line, buf, ok = _read_line(c, buf)
            if not ok:
                return body, "chunked", b"", False
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                return body, "chunked", b"", False
            if size == 0:
                for _ in range(200):  # trailers
                    line, buf, ok = _read_line(c, buf)
                    if not ok or line == b"":
                        return body, "chunked", buf, ok
                    if trailers is not None:
                        name, _, value = line.decode("latin-1").partition(":")
                        trailers.append((name.lower(), value.strip()))
                return body, "chunked", buf, False
            buf, ok = _recv_exact(c, buf, size + 2)
            if not ok:
                return body, "chunked", b"", False
            body += buf[:size]
            buf = buf[size + 2:]
            if len(body) > MAX_BODY:
                return body, "chunked", b"", False
        return body, "chunked", b"", False
    if cl:
        try:
            n = int(cl[0].split(",")[0].strip())
        except ValueError:
            return b"", "length", b"", False
        n = min(n, MAX_BODY)
        buf, ok = _recv_exact(c, buf, n)
        return buf[:n], "length", buf[n:], ok
    return b"", "none", buf, True
