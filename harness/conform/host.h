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

/* The kernel's drop counters around a UDP exchange: at the server's sockets (host_udp_drops(), -1
 * unknown), and in the host's backlog of received packets (/proc/net/softnet_stat, every CPU: a
 * loopback datagram dropped there when net.core.netdev_max_backlog packets wait, host-wide, -1 unknown). */
struct host_drops {
	long long socket, backlog;
};

/* Reads both counters into d. */
void host_drops_read(const struct case_target *t, struct host_drops *d);

/* How much the drops at the server's sockets grew since before (-1 unknown). Over loopback the kernel
 * delivers or drops a datagram within its send, so what grew during a send was dropped then (the
 * host's backlog is not counted here: other programs' packets are dropped there too). */
long long host_drops_since(const struct case_target *t, const struct host_drops *before);

/* A UDP exchange lost `missing` datagrams (no reply within the bound); before is what
 * host_drops_read() said before it. When the kernel's drops at the server's sockets and in the host's
 * backlog grew by at least missing meanwhile, the loss is the host's, not the server's: the case's
 * result counts the drops at the server's socket (kernel_drops, reported as the SHOULD finding
 * udp/buffer/drops: its receive buffer was full), its note says what was dropped where, and it returns
 * 1. Else it returns 0 and writes what the counters said into why, for the U1 failure's message. what
 * names the exchange. */
int host_excuse_loss(struct case_context *c, const struct host_drops *before, size_t missing,
                     const char *what, char *why, size_t len);

/* The kernel's queues of the server's end of a TCP connection, from /proc/net/tcp and tcp6: the socket
 * bound to server's port whose peer is at client_port. *send gets the bytes written but not yet
 * acknowledged by the client (tx_queue), *receive those received but not yet read (rx_queue). Returns
 * 0, or -1 when no such socket is found. */
int host_tcp_queues(const struct net_addr *server, unsigned client_port, long long *send, long long *receive);

/* "load 1.52 0.98 0.40 on 2 CPUs" into buf (or "load unknown"). Returns buf. */
char *host_load(char *buf, size_t len);

#endif
