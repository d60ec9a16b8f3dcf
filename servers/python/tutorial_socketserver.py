#!/usr/bin/env python3
"""tutorial_socketserver.py - the tutorial's socketserver servers, FAITHFUL to it, bugs included.

A ThreadingTCPServer and a ThreadingUDPServer on the same port (the tutorial's 8082): each handler
receives (TCP: recv(1024) in a loop until EOF; UDP: one datagram), prints the message decoded as UTF-8,
and sends data.upper(). socketserver defaults are kept. Known bugs (SPEC.md, intro): invalid UTF-8 raises
UnicodeDecodeError in the handler, so that TCP connection is closed unanswered and that datagram gets no
reply; UDP datagrams are truncated at max_packet_size 8192; the TCP listen backlog is
request_queue_size 5. ci/expected-failures/python-tutorial-socketserver.txt lists the conform cases these
bugs fail.

usage: tutorial_socketserver.py [PORT]   (default $PORT or 8082; 0 picks a free port; binds $HOST or
127.0.0.1). The first lines printed are "listening on tcp HOST:PORT" and "listening on udp HOST:PORT".
"""
import os
import socketserver
import sys
import threading


class TCPHandler(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            data = self.request.recv(1024)
            if not data:
                break
            print("{} wrote: {}".format(self.client_address[0], data.decode()))
            self.request.sendall(data.upper())


class UDPHandler(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        print("{} wrote: {}".format(self.client_address[0], data.decode()))
        sock.sendto(data.upper(), self.client_address)


def main():
    if len(sys.argv) > 1 and sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    try:
        port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PORT", "8082"))
    except ValueError:
        sys.exit("tutorial_socketserver.py: port '%s' is not a number" % sys.argv[1])
    host = os.environ.get("HOST", "127.0.0.1")
    tcp = socketserver.ThreadingTCPServer((host, port), TCPHandler)
    udp = socketserver.ThreadingUDPServer((host, tcp.server_address[1]), UDPHandler)
    print("listening on tcp %s:%d" % tcp.server_address, flush=True)
    print("listening on udp %s:%d" % udp.server_address, flush=True)
    threading.Thread(target=udp.serve_forever, daemon=True).start()
    tcp.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
