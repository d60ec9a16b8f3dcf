#!/usr/bin/env python3
"""decoding_upper.py - the port most people write: each message is decoded as UTF-8, uppercased as text
with str.upper(), and encoded again. Everything else is done right (thread per connection, whole
datagrams, backlog 1024, resets handled), so it fails conform only where text is not bytes:

  - SPEC X1 changes only the bytes a-z; str.upper() also changes e-acute to E-acute, sharp s to "SS" (the
    same length in bytes) and the fi ligature to "FI" (a different one), Greek, Cyrillic and dotless i;
  - invalid UTF-8 makes decode() raise: that connection closes unanswered, that datagram gets no reply.

It is an expected-failure example: ci/expected-failures/python-decoding-upper.txt lists the cases it fails.

usage: decoding_upper.py [PORT]   (default $PORT or 8082; 0 picks a free port; binds $HOST or 127.0.0.1)
The first lines printed are "listening on tcp|udp ADDR:PORT".
"""
import os
import socket
import socketserver
import sys
import threading

import corrected  # beside this file: the port argument, as every example server reads it


def upper(data):
    return data.decode("utf-8").upper().encode("utf-8")


class TCPHandler(corrected.TCPHandler):
    transform = staticmethod(upper)


class UDPHandler(corrected.UDPHandler):
    transform = staticmethod(upper)


class Quiet:
    """A handler's exception (UnicodeDecodeError) is one line in the log, not a traceback."""

    allow_reuse_address = True
    daemon_threads = True

    def handle_error(self, request, client_address):
        print("error serving %s: %r" % (client_address, sys.exc_info()[1]), flush=True)


class TCP(Quiet, socketserver.ThreadingTCPServer):
    request_queue_size = 1024


class UDP(Quiet, socketserver.ThreadingUDPServer):
    max_packet_size = 65535

    def server_bind(self):
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        super().server_bind()


def main(args):
    if args[:1] in (["-h"], ["--help"]):
        print(__doc__.strip())
        return 0
    port = corrected.port_from(args, "decoding_upper.py")
    host = os.environ.get("HOST", "127.0.0.1")
    tcp = TCP((host, port), TCPHandler)
    udp = UDP((host, tcp.server_address[1]), UDPHandler)
    for kind, server in (("tcp", tcp), ("udp", udp)):
        print("listening on %s %s:%d" % (kind, *server.server_address), flush=True)
    threading.Thread(target=udp.serve_forever, daemon=True).start()
    tcp.serve_forever()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
