#!/usr/bin/env python3
"""corrected.py - the tutorial's socketserver servers with their bugs fixed; conform must pass it.

Same design as tutorial_socketserver.py (ThreadingTCPServer + ThreadingUDPServer on one port, one handler
per connection or datagram, data.upper() - which is exactly SPEC X1 on bytes), with these corrections:
  - messages are printed as repr(), never decoded, so invalid UTF-8 is just bytes (X1);
  - UDP reads whole datagrams (max_packet_size 65535) (U4);
  - the TCP listen backlog is 1024, not 5 (T9); daemon threads; SO_REUSEADDR;
  - a reset or broken pipe ends that connection's handler quietly (T6);
  - the TCP handler reads 64 KiB at a time and blocks in sendall() while the client does not read, so a
    connection holds at most one buffer (T8); after EOF socketserver sends FIN (T4);
  - IPv6: the same servers on [::1] too when the host has it (B1).

usage: corrected.py [PORT]   (default $PORT or 8082; 0 picks a free port; binds $HOST or 127.0.0.1)
The first lines printed are "listening on tcp|udp ADDR:PORT" (IPv4, then IPv6 when available).
"""
import os
import socket
import socketserver
import sys
import threading


class TCPHandler(socketserver.BaseRequestHandler):
    transform = staticmethod(bytes.upper)  # the example servers beside this file put theirs here

    def handle(self):
        try:
            while True:
                data = self.request.recv(65536)
                if not data:
                    return
                print("%s wrote %d bytes: %r" % (self.client_address[0], len(data), data[:40]))
                self.request.sendall(self.transform(data))
        except OSError:
            return  # reset or broken pipe: that connection only


class UDPHandler(socketserver.BaseRequestHandler):
    transform = staticmethod(bytes.upper)

    def handle(self):
        data, sock = self.request
        print("%s sent %d bytes: %r" % (self.client_address[0], len(data), data[:40]))
        try:
            sock.sendto(self.transform(data), self.client_address)
        except OSError:
            pass  # the sender went away


class TCP(socketserver.ThreadingTCPServer):
    request_queue_size = 1024
    allow_reuse_address = True
    daemon_threads = True

    def handle_error(self, request, client_address):
        print("error serving %s: %r" % (client_address, sys.exc_info()[1]))


class UDP(socketserver.ThreadingUDPServer):
    max_packet_size = 65535
    allow_reuse_address = True
    daemon_threads = True

    def server_bind(self):
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        super().server_bind()


class TCP6(TCP):
    address_family = socket.AF_INET6


class UDP6(UDP):
    address_family = socket.AF_INET6


def port_from(args, prog="corrected.py"):
    """The port: the argument, else $PORT, else 8082; exits with a message naming prog when it is not a
    number. The other example servers beside this file use it too."""
    text = args[0] if args else os.environ.get("PORT", "8082")
    try:
        return int(text)
    except ValueError:
        sys.exit("%s: port '%s' is not a number" % (prog, text))


def bind_servers(host, port):
    """TCP and UDP on host:port (port 0: the one the TCP server got), then on [::1] when the host has it."""
    servers = [TCP((host, port), TCPHandler)]
    port = servers[0].server_address[1]
    servers.append(UDP((host, port), UDPHandler))
    if socket.has_ipv6:
        try:
            servers.append(TCP6(("::1", port), TCPHandler))
            servers.append(UDP6(("::1", port), UDPHandler))
        except OSError:
            servers = servers[:2]  # no IPv6 loopback here
    return servers


def announce(server):
    kind = "tcp" if server.socket_type == socket.SOCK_STREAM else "udp"
    a = server.server_address
    name = "[%s]:%d" % (a[0], a[1]) if server.address_family == socket.AF_INET6 else "%s:%d" % (a[0], a[1])
    print("listening on %s %s" % (kind, name), flush=True)


def main(args):
    if args[:1] in (["-h"], ["--help"]):
        print(__doc__.strip())
        return 0
    servers = bind_servers(os.environ.get("HOST", "127.0.0.1"), port_from(args))
    for s in servers:
        announce(s)
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    servers[0].serve_forever()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
