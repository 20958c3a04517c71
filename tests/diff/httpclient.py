"""A raw-socket client for the differential harness: sends exactly the bytes given and reads what comes back.

`run_exchange(port, steps, ...)` runs one connection through a list of steps:
  ("send", bytes)                       write the bytes
  ("response", is_head)                 read one HTTP response (interim 1xx are kept apart)
  ("sleep", seconds)
  ("closed", seconds)                   wait up to `seconds` for the peer to close; records True/False
  ("echo", n_bytes, seconds)            read until n_bytes arrived or the time is up (TCP mode)
  ("shut_wr",)                          half-close our side
and returns a dict: responses (parsed), closed (bool or None), echo (bytes), error (str or None).
Every wait is bounded by a deadline.
"""

import socket
import time


class ConnectionEnded(Exception):
    pass


class Reader:
    def __init__(self, sock, deadline):
        self.sock = sock
        self.buf = b""
        self.deadline = deadline
        self.eof = False

    def _fill(self):
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("deadline")
        self.sock.settimeout(remaining)
        data = self.sock.recv(65536)
        if not data:
            self.eof = True
            raise ConnectionEnded()
        self.buf += data

    def until(self, marker, limit=256 * 1024):
        for _ in range(100000):
            i = self.buf.find(marker)
            if i >= 0:
                out, self.buf = self.buf[:i], self.buf[i + len(marker):]
                return out
            if len(self.buf) > limit:
                raise ValueError("line too long")
            self._fill()
        raise ValueError("too many reads")

    def exactly(self, n):
        for _ in range(100000):
            if len(self.buf) >= n:
                out, self.buf = self.buf[:n], self.buf[n:]
                return out
            self._fill()
        raise ValueError("too many reads")

    def rest(self):
        for _ in range(100000):
            try:
                self._fill()
            except ConnectionEnded:
                out, self.buf = self.buf, b""
                return out
        raise ValueError("too many reads")


def parse_response(reader, is_head):
    """Reads one final response (skipping and noting 1xx). Returns a dict."""
    interim = []
    for _ in range(10):
        head = reader.until(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status_line = lines[0].decode("latin-1")
        parts = status_line.split(" ", 2)
        version = parts[0]
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else -1
        reason = parts[2] if len(parts) > 2 else ""
        headers = []
        for raw in lines[1:]:
            name, _, value = raw.partition(b":")
            headers.append((name.decode("latin-1"), value.strip().decode("latin-1")))
        if 100 <= status < 200:
            interim.append(status)
            continue
        body = b""
        te = ",".join(v.lower() for n, v in headers if n.lower() == "transfer-encoding")
        cl = [v for n, v in headers if n.lower() == "content-length"]
        framing = "none"
        if is_head or status in (204, 304):
            pass
        elif "chunked" in te:
            framing = "chunked"
            for _ in range(10000):
                size_line = reader.until(b"\r\n")
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    for _ in range(100):
                        if reader.until(b"\r\n") == b"":
                            break
                    break
                body += reader.exactly(size)
                reader.until(b"\r\n")
        elif cl:
            framing = "length"
            body = reader.exactly(int(cl[0].split(",")[0].strip()))
        else:
            framing = "close"
            body = reader.rest()
        return {"version": version, "status": status, "reason": reason, "headers": headers,
                "body": body, "framing": framing, "interim": interim}
    raise ValueError("too many interim responses")


def run_exchange(port, steps, src="127.0.0.1", timeout=8.0):
    out = {"responses": [], "closed": None, "echo": b"", "error": None}
    started = time.monotonic()
    deadline = started + timeout
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if src != "127.0.0.1":
            s.bind((src, 0))
        s.settimeout(min(3.0, timeout))
        try:
            s.connect(("127.0.0.1", port))
        except OSError as e:
            out["error"] = "connect: %s" % type(e).__name__
            return out
        reader = Reader(s, deadline)
        for step in steps:
            kind = step[0]
            try:
                if kind == "send":
                    s.settimeout(max(0.1, deadline - time.monotonic()))
                    s.sendall(step[1])
                elif kind == "response":
                    out["responses"].append(parse_response(reader, step[1]))
                elif kind == "sleep":
                    time.sleep(step[1])
                elif kind == "shut_wr":
                    s.shutdown(socket.SHUT_WR)
                elif kind == "closed":
                    sub = Reader(s, min(deadline, time.monotonic() + step[1]))
                    sub.buf = reader.buf
                    try:
                        sub._fill()
                        out["closed"] = False  # more bytes arrived: not closed
                    except ConnectionEnded:
                        out["closed"] = True
                    except socket.timeout:
                        out["closed"] = False
                    except OSError:  # a reset also ends the connection
                        out["closed"] = True
                elif kind == "echo":
                    want, secs = step[1], step[2]
                    sub = Reader(s, min(deadline, time.monotonic() + secs))
                    sub.buf = reader.buf
                    try:
                        out["echo"] = sub.exactly(want)
                    except (ConnectionEnded, socket.timeout, OSError):
                        out["echo"] = sub.buf
                        sub.buf = b""
                    reader.buf = sub.buf
            except ConnectionEnded:
                out["error"] = "closed before a complete response" if kind == "response" else "closed"
                out["closed"] = True
                break
            except socket.timeout:
                out["error"] = "timeout"
                break
            except ConnectionResetError:
                out["error"] = "reset"
                out["closed"] = True
                break
            except (OSError, ValueError) as e:
                out["error"] = "%s: %s" % (type(e).__name__, e)
                break
    finally:
        try:
            s.close()
        except OSError:
            pass
        out["elapsed"] = round(time.monotonic() - started, 3)
    return out
