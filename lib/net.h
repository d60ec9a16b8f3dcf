/* net.h - socket helpers shared by the servers, client, replay, conform, bench and lib/child. They return
 * codes and write a human message into a caller-supplied buffer; they never print or exit. */
#ifndef NET_H
#define NET_H

#include <netinet/tcp.h>
#include <stddef.h>
#include <sys/socket.h>

/* The socket option bounding a TCP connection's retransmission wait (linux/tcp.h since Linux 6.15), for
 * C libraries whose headers lack it; older kernels refuse it (EINVAL / ENOPROTOOPT). */
#ifndef TCP_RTO_MAX_MS
#define TCP_RTO_MAX_MS 44
#endif

/* A parsed socket address. */
struct net_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* Longest string net_format() writes, NUL included: "[" INET6 "]:" port. */
#define NET_ADDRSTRLEN 64

/* Parses "ADDR:PORT", "[V6ADDR]:PORT" or "HOST:PORT" (HOST resolved numerically first, then by
 * getaddrinfo, first result wins). Port 0 is allowed. Returns 0, or -1 with a reason in err. */
int net_parse(const char *s, struct net_addr *a, char *err, size_t errlen);

/* Parses a listening address as the servers' -l takes it, as nc does: "PORT" is that port on the
 * loopback address 127.0.0.1, ":PORT" that port on every IPv4 address (0.0.0.0), anything else as
 * net_parse() ("ADDR:PORT", "[V6ADDR]:PORT"). Returns 0, or -1 with a reason in err. */
int net_parse_listen(const char *s, struct net_addr *a, char *err, size_t errlen);

/* Writes "1.2.3.4:80" or "[::1]:80" into buf (NET_ADDRSTRLEN bytes suffice). Returns buf. */
char *net_format(const struct sockaddr *sa, char *buf, size_t len);

/* Returns the port of an AF_INET/AF_INET6 address, 0 otherwise. */
unsigned net_port(const struct sockaddr *sa);

/* Sets the port of an AF_INET/AF_INET6 address. */
void net_set_port(struct net_addr *a, unsigned port);

/* Makes fd non-blocking (on = 1) or blocking (on = 0). Returns 0 or -1 (errno set). */
int net_nonblock(int fd, int on);

/* Opens a non-blocking, close-on-exec listening socket of type SOCK_STREAM or SOCK_DGRAM bound to a
 * (SO_REUSEADDR for streams, so TIME_WAIT does not block a restart; SO_REUSEPORT when reuseport; IPV6_V6ONLY
 * for IPv6; listen(backlog) for streams). On success returns the descriptor and, when bound is not NULL,
 * stores the address actually bound (port 0 resolved). Returns -1 with a reason naming the address in err. */
int net_listen(const struct net_addr *a, int type, int reuseport, int backlog, struct net_addr *bound,
               char *err, size_t errlen);

/* Tells whether a's port is free for a socket of the given type, by binding a probe socket without
 * SO_REUSEPORT (which would let a second server share a port silently). Port 0 is always free.
 * Returns 0 when free, or -1 with a reason naming the address in err. Call it once, before binding
 * a group of SO_REUSEPORT sockets. */
int net_check_free(const struct net_addr *a, int type, char *err, size_t errlen);

/* Connects a close-on-exec socket of the given type to a, waiting at most timeout_ms. The returned
 * descriptor is blocking. Returns the descriptor or -1 with a reason naming the address in err. */
int net_connect(const struct net_addr *a, int type, int timeout_ms, char *err, size_t errlen);

/* Reads the local address of fd into a. Returns 0 or -1 (errno set). */
int net_local(int fd, struct net_addr *a);

/* A port free for both TCP and UDP on 127.0.0.1 right now (bound, then released), 0 if none was found. */
unsigned net_free_port(void);

/* Tells whether a serves type: for SOCK_STREAM a connection is accepted within timeout_ms; for SOCK_DGRAM
 * a 5-byte datagram "probe" is answered within timeout_ms (a UDP port cannot be checked without sending
 * it something). Returns 0, or -1 with a reason in err. */
int net_probe(const struct net_addr *a, int type, int timeout_ms, char *err, size_t errlen);

/* Is a TCP server listening at a? A connection the kernel completes within timeout_ms means yes, even
 * when the server resets it at once (the reset may come before the connection is seen complete). */
int net_tcp_listening(const struct net_addr *a, int timeout_ms);

/* Is a UDP socket bound at a? Judged by what the transport says, not by an answer: a connected socket
 * hears ICMP port unreachable (ECONNREFUSED) when nothing is bound, and loopback delivers it at once, so
 * an answer or silence for timeout_ms means a socket is there (whether it answers is for the caller to
 * judge). Sends one 5-byte datagram "probe". */
int net_udp_bound(const struct net_addr *a, int timeout_ms);

/* Maps a wildcard address to loopback (0.0.0.0 to 127.0.0.1, :: to ::1). Returns 0 when a is then a
 * loopback address, or -1 with a reason in err ("... is not a loopback address: not probed"). */
int net_loopback(struct net_addr *a, char *err, size_t errlen);

#endif
