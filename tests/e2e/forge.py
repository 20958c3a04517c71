"""Hostile datagrams for the end-to-end tests (and scripts/security.sh), sent from inside a namespace.

  forge.py capture IFACE SRC_IP PORT OUT      capture one UDP datagram from SRC_IP to PORT (AF_PACKET), save payload
  forge.py send SRC_IP DST_IP PORT FILE       send FILE's bytes as one datagram from SRC_IP
  forge.py junk SRC_IP DST_IP PORT COUNT      send COUNT random datagrams (some with our magic) from SRC_IP
  forge.py wrongkey SRC_IP DST_IP PORT FILE   send FILE with its last 32 bytes (the tag) replaced

  forge.py capturemany IFACE SRC_IP PORT COUNT OUT
        capture COUNT datagrams from SRC_IP to PORT into OUT.0, OUT.1, ...
  forge.py sendmany SRC_IP DST_IP PORT FILE...
        send each FILE as one datagram (a replay when the files are captured datagrams)
  forge.py sign SRC_IP DST_IP PORT FILE KEYFILE KIND...
        build each KIND from the captured datagram FILE (same sender, boot id and config stamp), with a fresh
        sequence number, sign it with the first key in KEYFILE (docs/protocol.md) and send it. KIND:
        copy (FILE unchanged, re-signed), heartbeat (fresh sequence), claim (role primary, holds-VIP flag,
        term + 100), extreme (a claim with term and config generation 2^64-1), ask:NAME / offer:NAME
        (handoff request), accept (handoff accept), released:NAME, leaving
  forge.py flips SRC_IP DST_IP PORT FILE
        send FILE once per byte with one bit flipped in that byte, once with an all-zero tag and once
        without its tag (unauthenticated)
  forge.py oversized SRC_IP DST_IP PORT SIZE...
        send one datagram of each SIZE bytes, starting with our magic and version

The modes that send several datagrams print how many they sent.
"""
import hashlib
import hmac
import os
import socket
import struct
import sys
import time


def capture(iface, src, port, out):
    captured = capture_many(iface, src, port, 1)
    if not captured:
        sys.exit("no datagram captured")
    open(out, "wb").write(captured[0])


def capture_many(iface, src, port, count, seconds=5):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))
    s.bind((iface, 0))
    s.settimeout(seconds)
    deadline = time.time() + seconds
    captured = []
    while time.time() < deadline and len(captured) < count:
        try:
            frame = s.recv(65535)
        except socket.timeout:
            break
        if len(frame) < 14 + 20 + 8 or frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] != 17 or socket.inet_ntoa(ip[12:16]) != src:
            continue
        udp = ip[ihl:]
        if struct.unpack("!H", udp[2:4])[0] != port:
            continue
        captured.append(bytes(udp[8:]))
    return captured


def sender(src):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    return s


def read_key(path):
    for line in open(path):
        line = "".join(line.split())
        if line and not line.startswith("#"):
            return bytes.fromhex(line)
    sys.exit(f"no key in {path}")


TAG = 32
HEADER = 76


def build(captured, key, kind, fresh):
    """A datagram from the captured one's sender: header fields kept, type/body/fields per KIND, signed."""
    header = bytearray(captured[:HEADER])
    n = captured[34]
    b = captured[35]
    name = captured[HEADER:HEADER + n]
    body = captured[HEADER + n:HEADER + n + b]
    if kind == "copy":
        return captured[:-TAG] + hmac.new(key, captured[:-TAG], hashlib.sha256).digest()
    sequence = struct.unpack("!Q", header[16:24])[0] + fresh
    header[16:24] = struct.pack("!Q", sequence)
    what, _, target = kind.partition(":")
    handoff = os.urandom(8)
    if what == "heartbeat":
        pass
    elif what == "claim":
        header[5] = 1
        header[6:8] = struct.pack("!H", struct.unpack("!H", header[6:8])[0] | 0x4)
        header[24:32] = struct.pack("!Q", struct.unpack("!Q", header[24:32])[0] + 100)
        header[32] = 2
        if captured[5] != 1:
            body = struct.pack("!QQQ", time.monotonic_ns(), 0, 0)
    elif what == "extreme":
        header[5] = 1
        header[6:8] = struct.pack("!H", struct.unpack("!H", header[6:8])[0] | 0x4)
        header[24:32] = b"\xff" * 8
        header[32] = 2
        header[36:44] = b"\xff" * 8
        if captured[5] != 1:
            body = struct.pack("!QQQ", time.monotonic_ns(), 0, 0)
    elif what in ("ask", "offer"):
        header[5] = 2
        body = handoff + bytes([2 if what == "ask" else 1, len(target)]) + target.encode()
    elif what == "accept":
        header[5] = 3
        body = handoff
    elif what == "released":
        header[5] = 5
        body = handoff + bytes([len(target)]) + target.encode()
    elif what == "leaving":
        header[5] = 6
        header[6:8] = struct.pack("!H", struct.unpack("!H", header[6:8])[0] & ~0x4 & 0xFFFF)
        body = b""
    else:
        sys.exit(f"unknown kind {kind}")
    header[35] = len(body)
    signed = bytes(header) + name + body
    return signed + hmac.new(key, signed, hashlib.sha256).digest()


def main():
    mode = sys.argv[1]
    if mode == "capture":
        capture(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    elif mode == "send":
        sender(sys.argv[2]).sendto(open(sys.argv[5], "rb").read(), (sys.argv[3], int(sys.argv[4])))
    elif mode == "wrongkey":
        data = open(sys.argv[5], "rb").read()
        sender(sys.argv[2]).sendto(data[:-32] + os.urandom(32), (sys.argv[3], int(sys.argv[4])))
    elif mode == "junk":
        s = sender(sys.argv[2])
        for i in range(int(sys.argv[5])):
            body = os.urandom(20 + i % 700)
            if i % 2 == 0:
                body = b"FOAG\x01" + body
            s.sendto(body, (sys.argv[3], int(sys.argv[4])))
    elif mode == "capturemany":
        captured = capture_many(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
        if len(captured) < int(sys.argv[5]):
            sys.exit(f"captured {len(captured)} of {sys.argv[5]} datagrams")
        for i, data in enumerate(captured):
            open(f"{sys.argv[6]}.{i}", "wb").write(data)
    elif mode in ("sendmany", "sign", "flips", "oversized"):
        s = sender(sys.argv[2])
        target = (sys.argv[3], int(sys.argv[4]))
        if mode == "sendmany":
            datagrams = [open(path, "rb").read() for path in sys.argv[5:]]
        elif mode == "sign":
            captured = open(sys.argv[5], "rb").read()
            key = read_key(sys.argv[6])
            # Fresh sequence numbers, above the captured one by more than the replay window.
            datagrams = [build(captured, key, kind, 1000 + i) for i, kind in enumerate(sys.argv[7:])]
        elif mode == "flips":
            data = open(sys.argv[5], "rb").read()
            datagrams = []
            for i in range(len(data)):
                flipped = bytearray(data)
                flipped[i] ^= 1 << (i % 8)
                datagrams.append(bytes(flipped))
            datagrams.append(data[:-TAG] + bytes(TAG))
            datagrams.append(data[:-TAG])
        else:
            datagrams = [(b"FOAG\x01" + os.urandom(size))[:size] for size in map(int, sys.argv[5:])]
        # FORGE_INTERVAL: seconds between datagrams (a replay at the pace of the heartbeats it copies).
        interval = float(os.environ.get("FORGE_INTERVAL", "0.001"))
        for data in datagrams:
            s.sendto(data, target)
            time.sleep(interval)
        print(len(datagrams))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
