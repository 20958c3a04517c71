"""Hostile clients of the agent's TCP config-sync server and its control socket (scripts/security.sh).

  hostile.py sync SRC_IP DST_IP PORT KEYFILE OTHER_KEYFILE
        one connection per attack, from SRC_IP (a configured peer address: others are hung up on before a
        byte is read) to the sync server at DST_IP:PORT. Each reads the server's hello, sends its frame(s) and
        waits (at most 3 s) for the server to close. Prints one line per attack:
            NAME EXPECTED_REASON ANSWER_BYTES
        where ANSWER_BYTES counts what the server sent after its hello (0: refused without an answer). The first
        line, "genuine-request none BYTES", is the control: a request made right with the cluster key, answered
        with an authentic header (BYTES > 0; -3 when the answer is missing or not authentic).
  hostile.py connect SRC_IP DST_IP PORT
        one connection that sends an otherwise valid-looking junk request; prints bytes received (hello included)
  hostile.py control SOCKET
        malformed lines on the control socket (docs/control.md). Prints one line per attack:
            NAME EXPECTED_REASON OUTCOME
        where OUTCOME is the reply's error field, "ok" for an accepted request, or "closed" when the agent hung up
        without a reply.

Frames (Sources/FailoverWire/SyncFrame.swift, docs/sync.md):
    length u32 (5 + body + 32) · type u8 · sequence u32 · body · HMAC-SHA256(key, domain · server nonce ·
    client nonce · type · sequence · body)
"""
import hashlib
import hmac
import json
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "e2e"))
from forge import read_key  # noqa: E402  (the key file format, read one way)

DOMAIN = b"failover-agent config sync v1"
NO_NONCE = bytes(16)
HELLO, REQUEST, HEADER = 1, 2, 3


def frame(kind, sequence, body, key, server_nonce, client_nonce=NO_NONCE, tag=None):
    if tag is None:
        covered = DOMAIN + server_nonce + client_nonce + bytes([kind]) + struct.pack("!I", sequence) + body
        tag = hmac.new(key, covered, hashlib.sha256).digest()
    return struct.pack("!IBI", 5 + len(body) + len(tag), kind, sequence) + body + tag


def request_body(name=b"lb2", generation=0):
    return os.urandom(16) + struct.pack("!QB", generation, len(name)) + name


def recv_exactly(s, count):
    data = b""
    while len(data) < count:
        chunk = s.recv(count - len(data))
        if not chunk:
            break
        data += chunk
    return data


def attack_sync(src, dst, port, make):
    """Connects, reads the hello, sends make(server_nonce), returns the bytes answered until the server closes."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((src, 0))
        s.settimeout(3)
        s.connect((dst, port))
        hello = recv_exactly(s, 4 + 5 + 16 + 32)
        if len(hello) < 57 or hello[4] != HELLO:
            return -1
        server_nonce = hello[9:25]
        try:
            s.sendall(make(server_nonce))
        except OSError:
            return 0
        answered = 0
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return -2  # the server neither answered nor closed
            except OSError:
                break
            if not chunk:
                break
            answered += len(chunk)
        return answered


def genuine(src, dst, port, key):
    """The control: a request made right with the cluster key. Returns the bytes of the answer when its first
    frame (header or refusal) is authentic under the key and both nonces, else -3."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((src, 0))
        s.settimeout(3)
        s.connect((dst, port))
        hello = recv_exactly(s, 57)
        server_nonce = hello[9:25]
        body = request_body(b"lb2", 0)
        s.sendall(frame(REQUEST, 0, body, key, server_nonce))
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
    if len(data) < 41:
        return -3
    length, kind, sequence = struct.unpack("!IBI", data[:9])
    first = data[:4 + length]
    expected = frame(kind, sequence, first[9:-32], key, server_nonce, client_nonce=body[:16])
    return len(data) if kind in (HEADER, 6) and expected == first else -3


def sync(src, dst, port, key_file, other_file):
    key = read_key(key_file)
    other = read_key(other_file)
    # Not an attack: shows that the frames below are made the way the server expects them.
    print("genuine-request none", genuine(src, dst, port, key), flush=True)
    attacks = [
        ("junk-http", "malformed", lambda n: b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("length-4GiB", "malformed", lambda n: struct.pack("!I", 0xFFFFFFFF) + os.urandom(64)),
        ("length-below-minimum", "malformed", lambda n: struct.pack("!IBI", 10, REQUEST, 0) + bytes(6)),
        ("unknown-type", "malformed", lambda n: frame(9, 0, request_body(), key, n)),
        ("request-other-key", "bad_tag", lambda n: frame(REQUEST, 0, request_body(), other, n)),
        ("request-zero-tag", "bad_tag", lambda n: frame(REQUEST, 0, request_body(), key, n, tag=bytes(32))),
        ("request-for-another-connection", "bad_tag", lambda n: frame(REQUEST, 0, request_body(), key, os.urandom(16))),
        ("request-tampered", "bad_tag", lambda n: flip(frame(REQUEST, 0, request_body(), key, n), 12)),
        ("header-from-client", "out_of_order", lambda n: frame(HEADER, 0, bytes(43), other, n)),
        ("request-sequence-1", "out_of_order", lambda n: frame(REQUEST, 1, request_body(), other, n)),
    ]
    for name, reason, make in attacks:
        print(name, reason, attack_sync(src, dst, port, make), flush=True)


def flip(data, index):
    data = bytearray(data)
    data[index] ^= 0x01
    return bytes(data)


def connect(src, dst, port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((src, 0))
        s.settimeout(3)
        try:
            s.connect((dst, port))
            s.sendall(b"GET / HTTP/1.1\r\n\r\n")
            received = 0
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                received += len(chunk)
        except OSError:
            received = 0
        print(received)


def open_count(sockets):
    """How many of the sockets the peer has not closed (a closed one reads as end of file at once)."""
    alive = 0
    for s in sockets:
        try:
            s.setblocking(False)
            if s.recv(1) != b"":
                alive += 1
        except BlockingIOError:
            alive += 1
        except OSError:
            pass
    return alive


def hold(target, count, seconds, trickle):
    """Opens `count` connections to TARGET (HOST:PORT, or a Unix socket path) and holds them idle (or sends
    one byte a second with `trickle`) for `seconds`; prints how many the agent let in (still open after 1 s)
    and how many it still keeps at the end."""
    sockets = []
    for _ in range(count):
        try:
            if target.startswith("/"):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(2)
                s.connect(target)
            else:
                host, port = target.rsplit(":", 1)
                s = socket.create_connection((host, int(port)), timeout=2)
            sockets.append(s)
        except OSError:
            break
    time.sleep(1)
    admitted = open_count(sockets)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(1)
        if trickle:
            for s in sockets:
                try:
                    s.send(b"G")
                except OSError:
                    pass
    print(len(sockets), admitted, open_count(sockets))
    for s in sockets:
        s.close()


def control_line(path, payload):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(path)
        try:
            s.sendall(payload)
        except OSError:
            return "closed"
        data = b""
        try:
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
    if not data.strip():
        return "closed"
    try:
        reply = json.loads(data)
    except ValueError:
        return "unreadable"
    return "ok" if reply.get("ok") else (reply.get("error") or "refused")


def control(path):
    pad = "x" * 100_000
    attacks = [
        ("not-json", "bad_request", b"{this is not json\n"),
        ("unknown-command", "bad_request", b'{"command": "rm-rf"}\n'),
        ("binary", "bad_request", bytes(range(1, 10)) + b"\n"),
        ("100k-without-newline", "too_long", b"a" * 100_000),
        ("100k-line-of-a-valid-request", "too_long", ('{"command": "status", "pad": "%s"}\n' % pad).encode()),
        ("1M-line", "too_long", b"b" * 1_000_000 + b"\n"),
    ]
    for name, reason, payload in attacks:
        print(name, reason, control_line(path, payload), flush=True)


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "sync":
        sync(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6])
    elif mode == "connect":
        connect(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif mode == "control":
        control(sys.argv[2])
    elif mode == "hold":
        hold(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), len(sys.argv) > 5 and sys.argv[5] == "trickle")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
