#!/usr/bin/env python3
"""thread_per_connection.py - a correct uppercase server written without socketserver: one thread per
TCP connection on plain sockets, one UDP socket answered in place. A checker must pass it: it is the
second correct design (besides the event loops of the reference servers) that proves conform's cases
have no false positives (tests/mutants/run.sh).

  - bytes.upper() is exactly SPEC X1 on bytes (never decoded);
  - a connection's thread reads 64 KiB at a time and blocks in sendall() while the client does not
    read (T8); after the client's FIN it shuts down its side (T4); a reset ends that thread only (T6);
  - whole datagrams (65535 bytes), each answered from the socket it came to (U1, U4).

usage: thread_per_connection.py [PORT]   (default $PORT or 8082; 0 picks a free port; binds $HOST or
127.0.0.1). The first lines printed are "listening on tcp|udp ADDR:PORT".
"""
import os
import socket
import sys
import threading

import corrected  # beside this file: the port argument, as every example server reads it


def serve_connection(conn):
    with conn:
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    conn.shutdown(socket.SHUT_WR)
                    return
                conn.sendall(data.upper())
        except OSError:
            return  # reset or broken pipe: that connection only


def serve_tcp(listener):
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            continue  # out of descriptors for a moment, or an aborted connection
        threading.Thread(target=serve_connection, args=(conn,), daemon=True).start()


def serve_udp(sock):
    while True:
        data, sender = sock.recvfrom(65535)
        try:
            sock.sendto(data.upper(), sender)
        except OSError:
            pass  # the sender went away


def main(args):
    if args[:1] in (["-h"], ["--help"]):
        print(__doc__.strip())
        return 0
    port = corrected.port_from(args, "thread_per_connection.py")
    host = os.environ.get("HOST", "127.0.0.1")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(1024)
    port = listener.getsockname()[1]
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    udp.bind((host, port))
    print("listening on tcp %s:%d" % (host, port), flush=True)
    print("listening on udp %s:%d" % (host, port), flush=True)
    threading.Thread(target=serve_udp, args=(udp,), daemon=True).start()
    serve_tcp(listener)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
