/* host.h - what the host says about a test's losses and load, to tell the host's trouble from the
 * server's: the kernel's drop counter of the server's UDP sockets (/proc/net/udp and /proc/net/udp6, the
 * "drops" column of every socket bound to the target's UDP port), and the host's load (/proc/loadavg and
 * the number of CPUs). */
#ifndef HOST_H
#define HOST_H

#include <stddef.h>

#include "case.h"

/* Sums the "drops" column of every UDP socket (IPv4 and IPv6) bound to the port of the target's UDP
 * address (or of its IPv6 one): datagrams the kernel dropped at the server's socket, mostly because its
 * receive buffer was full. Returns the sum, or -1 when no such socket is found or /proc cannot be read
 * (a target in another network namespace). */
long long host_udp_drops(const struct case_target *t);

/* A UDP exchange lost `missing` datagrams (no reply within the bound); drops_before is what
 * host_udp_drops() said before it. When the kernel's drop counter of the server's sockets grew by at
 * least missing meanwhile, the loss is the host's (the server's receive buffer was full), not the
 * server's: the case's result counts the drops (kernel_drops, reported as the SHOULD finding
 * udp/buffer/drops), its note says so, and it returns 1. Else it returns 0 and writes what the counter
 * said into why ("" when nothing), for the U1 failure's message. what names the exchange. */
int host_excuse_loss(struct case_context *c, long long drops_before, size_t missing, const char *what,
                     char *why, size_t len);

/* The kernel's queues of the server's end of a TCP connection, from /proc/net/tcp and tcp6: the socket
 * bound to server's port whose peer is at client_port. *send gets the bytes written but not yet
 * acknowledged by the client (tx_queue), *receive those received but not yet read (rx_queue). Returns
 * 0, or -1 when no such socket is found. */
int host_tcp_queues(const struct net_addr *server, unsigned client_port, long long *send, long long *receive);

/* "load 1.52 0.98 0.40 on 2 CPUs" into buf (or "load unknown"). Returns buf. */
char *host_load(char *buf, size_t len);

#endif
