"""A client of the shared IP for chaos runs: one HTTP request every INTERVAL seconds to ADDR:PORT (a new
connection each time, TIMEOUT each), one line per request: `EPOCH ok NODE` or `EPOCH fail REASON`, until
SECONDS have passed (bounded) or the stop file exists.

    vipclient.py ADDR PORT SECONDS STOPFILE [INTERVAL] [TIMEOUT] > LOG

`vipclient.py --summary LOG FROM TO` prints `total ok longest_outage_ms` for the requests started in
[FROM, TO]: an outage runs from the first failed request's start to the next success."""
import os
import socket
import sys
import time


def run(addr, port, seconds, stop, interval=0.01, timeout=0.2):
    end = time.time() + seconds
    request = f"GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n".encode()
    while time.time() < end and not os.path.exists(stop):
        started = time.time()
        try:
            with socket.create_connection((addr, port), timeout=timeout) as s:
                s.settimeout(timeout)
                s.sendall(request)
                answer = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    answer += chunk
            head, _, body = answer.partition(b"\r\n\r\n")
            if head.startswith(b"HTTP/1.1 200") or head.startswith(b"HTTP/1.0 200"):
                line = f"{started:.6f} ok {body.decode(errors='replace').strip() or '?'}"
            else:
                line = f"{started:.6f} fail status:{head[:12].decode(errors='replace')}"
        except OSError as error:
            line = f"{started:.6f} fail {type(error).__name__}"
        print(line, flush=True)
        time.sleep(max(0.0, interval - (time.time() - started)))


def summary(path, start, end):
    total = ok = 0
    outage = 0.0
    since = None
    for line in open(path):
        parts = line.split()
        if len(parts) < 2:
            continue
        stamp = float(parts[0])
        if not start <= stamp <= end:
            continue
        total += 1
        if parts[1] == "ok":
            ok += 1
            if since is not None:
                outage = max(outage, stamp - since)
                since = None
        elif since is None:
            since = stamp
    if since is not None:
        outage = max(outage, end - since)
    print(f"{total} {ok} {outage * 1000:.0f}")


if __name__ == "__main__":
    if sys.argv[1] == "--summary":
        summary(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]))
    else:
        args = sys.argv[1:]
        run(args[0], int(args[1]), float(args[2]), args[3],
            *(float(a) for a in args[4:6]))
