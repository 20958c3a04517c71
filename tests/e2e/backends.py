"""Tiny TCP backends for the engine tests: for each NAME=PORT argument, answer every connection with NAME and
close. Runs for SECONDS (the first argument)."""
import socket
import sys
import threading
import time


def serve(port, name):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(64)
    while True:
        c, _ = s.accept()
        c.sendall(name.encode())
        c.close()


for spec in sys.argv[2:]:
    name, port = spec.split("=")
    threading.Thread(target=serve, args=(int(port), name), daemon=True).start()
time.sleep(float(sys.argv[1]))
