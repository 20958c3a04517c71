"""Client-side prober: one HTTP GET over a new TCP connection every INTERVAL ms to HOST:PORT, bounded by
DURATION seconds. Prints one line per probe: milliseconds, ok (1/0), and the answer's body (the node name)
or the error. Runs until DURATION, SIGTERM, or until STOPFILE exists.

    probe.py HOST PORT INTERVAL_MS TIMEOUT_MS DURATION_S [CLOCK [STOPFILE]]

CLOCK: `monotonic` (the default) or `epoch` (wall-clock milliseconds, to compare with `ip -ts monitor`)."""
import os
import socket
import sys
import time

host, port, interval_ms, timeout_ms, duration_s = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
clock = time.time if len(sys.argv) > 6 and sys.argv[6] == "epoch" else time.monotonic
stop = sys.argv[7] if len(sys.argv) > 7 else None
end = time.monotonic() + duration_s
out = sys.stdout
family = socket.AF_INET6 if ":" in host else socket.AF_INET
while time.monotonic() < end and not (stop and os.path.exists(stop)):
    started = time.monotonic()
    stamp = clock()
    answer = "-"
    ok = 0
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(timeout_ms / 1000)
            s.connect((host, port))
            s.sendall(b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            body = data.split(b"\r\n\r\n", 1)[-1].strip().decode(errors="replace")
            if data.startswith(b"HTTP/1.") and b" 200 " in data.split(b"\r\n", 1)[0]:
                ok, answer = 1, body or "?"
            else:
                answer = "bad-response"
    except OSError as error:
        answer = type(error).__name__
    out.write(f"{stamp * 1000:.3f} {ok} {answer}\n")
    out.flush()
    rest = interval_ms / 1000 - (time.monotonic() - started)
    if rest > 0:
        time.sleep(rest)
