/* udpsim.h - runs a UDP datagram sequence (script.h) through udp-upper's own batch loop (udp_loop_step()
 * in servers/udp_loop.c) over a simulated kernel: datagrams from many senders (IPv4 and IPv6 addresses,
 * distinct ports) arrive together or batch by batch; waits and receives fail EINTR or EAGAIN, a pending
 * ICMP error comes back as ECONNREFUSED, a datagram comes truncated (MSG_TRUNC), sendmmsg sends fewer
 * than asked or fails EAGAIN, ENOBUFS, EINTR, EHOSTUNREACH, and a full send buffer stays full past the
 * wait. Each reply is checked against its own datagram with SPEC X1's plain rule (oracle_udp_check) and
 * against its sender's address and port (U1); a datagram gets at most one reply, and none only when the
 * simulated kernel refused it and the loop counted it. No syscalls; memory is allocated once by
 * udpsim_new() (and grown for an input with more datagrams than any before). */
#ifndef UDPSIM_H
#define UDPSIM_H

#include <stddef.h>

/* The simulated senders' addresses: sender s is 127.0.0.(1+s) over IPv4 and ::1 over IPv6, from port
 * UDPSIM_PORT0 + s. */
#define UDPSIM_PORT0 40000u

/* Run statistics. */
struct udpsim_stats {
	size_t datagrams; /* datagrams in the input */
	size_t received;  /* datagrams the loop received */
	size_t replies;   /* replies the simulated kernel accepted */
	size_t dropped;   /* datagrams the loop left unanswered, as the simulated kernel allowed */
	size_t rounds;    /* udp_loop_step() calls */
	size_t events;    /* kernel events that happened (failed calls, partial sends, truncations) */
};

/* udpsim_run()'s outcome. */
enum udpsim_result {
	UDPSIM_ERROR = -1, /* out of memory (why says so) */
	UDPSIM_OK = 0,     /* every check held */
	UDPSIM_BREACH = 1  /* a check failed: why names the rule and the datagram */
};

struct udpsim;

/* Allocates a simulator with its loop. Returns NULL with a reason in err[0..errlen) when memory runs out. */
struct udpsim *udpsim_new(char *err, size_t errlen);

void udpsim_free(struct udpsim *s);

/* Runs the datagram sequence in[0..n) until every datagram is received and answered (or the input stops
 * the loop). st may be NULL. */
enum udpsim_result udpsim_run(struct udpsim *s, const unsigned char *in, size_t n, struct udpsim_stats *st,
                              char *why, size_t whylen);

#endif
