"""A notify socket the test owns: binds a Unix datagram socket at PATH and appends every message it receives
(one per line, newlines inside a message shown as '|') to OUT, with a monotonic timestamp, for SECONDS."""
import os
import socket
import sys
import time

path, out, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(0.2)
end = time.monotonic() + seconds
with open(out, "a") as log:
    while time.monotonic() < end:
        try:
            data = s.recv(4096)
        except socket.timeout:
            continue
        log.write(f"{time.monotonic():.3f} {data.decode(errors='replace').strip().replace(chr(10), '|')}\n")
        log.flush()
