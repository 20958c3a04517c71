"""Hostile datagrams for the end-to-end tests, sent from inside a namespace.

  forge.py capture IFACE SRC_IP PORT OUT      capture one UDP datagram from SRC_IP to PORT (AF_PACKET), save payload
  forge.py send SRC_IP DST_IP PORT FILE       send FILE's bytes as one datagram from SRC_IP
  forge.py junk SRC_IP DST_IP PORT COUNT      send COUNT random datagrams (some with our magic) from SRC_IP
  forge.py wrongkey SRC_IP DST_IP PORT FILE   send FILE with its last 32 bytes (the tag) replaced
"""
import os
import socket
import struct
import sys
import time


def capture(iface, src, port, out):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))
    s.bind((iface, 0))
    s.settimeout(5)
    deadline = time.time() + 5
    while time.time() < deadline:
        frame = s.recv(65535)
        if len(frame) < 14 + 20 + 8 or frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] != 17 or socket.inet_ntoa(ip[12:16]) != src:
            continue
        udp = ip[ihl:]
        if struct.unpack("!H", udp[2:4])[0] != port:
            continue
        open(out, "wb").write(udp[8:])
        return
    sys.exit("no datagram captured")


def sender(src):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    return s


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
    else:
        sys.exit(__doc__)


main()
