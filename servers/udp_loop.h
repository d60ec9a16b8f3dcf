/* udp_loop.h - udp-upper's batch loop (SPEC U1-U6): one round waits until the socket is readable,
 * receives a batch of datagrams (recvmmsg), answers each in place through the core's UDP rule and sends
 * the batch back (sendmmsg), each reply to its own datagram's sender, the address and port recvmmsg
 * stored beside it. The loop makes its I/O through a struct udp_loop_io: udp-upper binds it to the
 * socket's syscalls, the fuzz target fuzz_udp to a simulated kernel (harness/fuzz/udpsim.c), so both
 * run this very code. */
#ifndef UDP_LOOP_H
#define UDP_LOOP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define UDP_LOOP_BATCH 32         /* datagrams per recvmmsg and sendmmsg */
#define UDP_LOOP_SLOT 65536u      /* one receive slot: holds the largest payload, 65527 over IPv6 */
#define UDP_LOOP_SEND_WAIT_MS 200 /* how long a full send buffer may delay one reply */

/* What a wait for readability or writability found. */
enum udp_loop_wait {
	UDP_LOOP_WAIT_READY = 0, /* the socket is readable (writable) */
	UDP_LOOP_WAIT_STOP,      /* the server is told to stop */
	UDP_LOOP_WAIT_NONE,      /* neither before the timeout, or the socket reports an error */
	UDP_LOOP_WAIT_FAILED     /* the wait itself failed; errno says why (EINTR: a signal) */
};

/* The loop's I/O, one call per syscall. Each call gets ctx. */
struct udp_loop_io {
	/* Waits, without a timeout, until the socket is readable or the server is told to stop. */
	enum udp_loop_wait (*wait_readable)(void *ctx);
	/* recvmmsg(MSG_DONTWAIT) into msgs[0..vlen): returns the datagrams received (msg_len, msg_flags and
	 * msg_namelen set), or -1 with errno (EAGAIN, EINTR, a pending ICMP error as ECONNREFUSED). */
	int (*receive)(void *ctx, struct mmsghdr *msgs, unsigned vlen);
	/* sendmmsg(MSG_DONTWAIT) of msgs[0..vlen): returns how many were sent, possibly fewer than vlen, or
	 * -1 with errno (EAGAIN, ENOBUFS, EINTR, ECONNREFUSED, ...) when the first was not. */
	int (*send)(void *ctx, struct mmsghdr *msgs, unsigned vlen);
	/* Waits at most timeout_ms until the socket is writable or the server is told to stop. */
	enum udp_loop_wait (*wait_writable)(void *ctx, int timeout_ms);
	/* Logs each datagram received, before its reply is made (udp-upper -v); NULL: no log. */
	void (*log)(void *ctx, const unsigned char *p, size_t n);
	void *ctx;
};

/* The loop's state: the batch's receive slots, message headers and peer addresses. */
struct udp_loop {
	struct udp_loop_io io;
	unsigned char *bufs; /* UDP_LOOP_BATCH slots of UDP_LOOP_SLOT bytes */
	struct mmsghdr msgs[UDP_LOOP_BATCH];
	struct iovec iov[UDP_LOOP_BATCH];
	struct sockaddr_storage peers[UDP_LOOP_BATCH];
	uint64_t dropped; /* datagrams left unanswered: the reply could not be sent (its peer is gone, the
	                   * send buffer stayed full) or the datagram did not fit its slot (MSG_TRUNC) */
};

/* What one round ended with. */
enum udp_loop_step {
	UDP_LOOP_STEP_AGAIN = 0, /* the round is over: call udp_loop_step() again */
	UDP_LOOP_STEP_STOP,      /* the server is told to stop */
	UDP_LOOP_STEP_FAILED     /* the wait for readability failed; errno says why */
};

/* Sets l up with io and allocates its slots. Returns 0, or -1 with a reason in err[0..errlen). */
int udp_loop_init(struct udp_loop *l, const struct udp_loop_io *io, char *err, size_t errlen);

/* Releases the slots (l may have failed udp_loop_init or never run). */
void udp_loop_free(struct udp_loop *l);

/* One round: waits until readable, receives a batch, replies to each datagram in place and sends the
 * replies. A reply that cannot be sent (its peer is gone: ECONNREFUSED, EHOSTUNREACH, ...; or the send
 * buffer stays full for UDP_LOOP_SEND_WAIT_MS) is counted in l->dropped and the others still go (U5). */
enum udp_loop_step udp_loop_step(struct udp_loop *l);

#endif
