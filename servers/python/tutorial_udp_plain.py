#!/usr/bin/env python3
"""tutorial_udp_plain.py - the tutorial's plain UDP server, FAITHFUL to it, bugs included.

recvfrom(1024), print the message decoded as UTF-8, sendto(data.upper()). Its known bugs (SPEC.md, intro):
datagrams are truncated at 1024 bytes, and invalid UTF-8 raises UnicodeDecodeError, which kills the whole
server. ci/expected-failures/python-tutorial-udp-plain.txt lists the conform cases these bugs fail.

usage: tutorial_udp_plain.py [PORT]   (default $PORT or 8080; 0 picks a free port; binds $HOST or 127.0.0.1)
The first line printed is "listening on udp HOST:PORT".
"""
import os
import socket
import sys

if len(sys.argv) > 1 and sys.argv[1] in ("-h", "--help"):
    print(__doc__.strip())
    sys.exit(0)
try:
    port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PORT", "8080"))
except ValueError:
    sys.exit("tutorial_udp_plain.py: port '%s' is not a number" % sys.argv[1])
host = os.environ.get("HOST", "127.0.0.1")

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((host, port))
print("listening on udp %s:%d" % sock.getsockname(), flush=True)

while True:
    data, addr = sock.recvfrom(1024)
    print("received message: %s" % data.decode())
    sock.sendto(data.upper(), addr)
