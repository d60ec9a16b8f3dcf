/* udp_upper.c - the reference UDP uppercase server (SPEC U1-U6, B1, B2): each thread receives a batch
 * of datagrams with recvmmsg, answers each in place through the core's UDP rule and sends the batch back
 * with sendmmsg, one reply per datagram to its sender. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"
#include "serve.h"
#include "upper.h"

#define BATCH 32
#define SLOT 65536u              /* holds the largest payload, 65527 over IPv6 */
#define RCVBUF (4 * 1024 * 1024) /* room for bursts; the kernel may cap it */
#define SEND_WAIT_MS 200         /* how long a full send buffer may delay one reply */

struct uworker {
	struct serve_worker lw; /* first: options, stop eventfd, thread, error (serve_main) */
	int fd;
	unsigned char *bufs; /* BATCH slots of SLOT bytes */
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_storage peers[BATCH];
	uint64_t dropped; /* replies that could not be sent (peer gone, buffer full) */
};

static void reset_batch(struct uworker *w)
{
	for (int i = 0; i < BATCH; i++) {
		w->iov[i].iov_base = w->bufs + (size_t)i * SLOT;
		w->iov[i].iov_len = SLOT;
		memset(&w->msgs[i].msg_hdr, 0, sizeof w->msgs[i].msg_hdr);
		w->msgs[i].msg_hdr.msg_name = &w->peers[i];
		w->msgs[i].msg_hdr.msg_namelen = sizeof w->peers[i];
		w->msgs[i].msg_hdr.msg_iov = &w->iov[i];
		w->msgs[i].msg_hdr.msg_iovlen = 1;
		w->msgs[i].msg_len = 0;
	}
}

/* Sends replies[0..n); a reply that cannot go (its peer is gone: ECONNREFUSED, EHOSTUNREACH, ...; or
 * the send buffer stays full) is skipped, and the others still go (U5). Returns 0, or -1 on stop. */
static int send_batch(struct uworker *w, int n)
{
	int sent = 0;

	while (sent < n) {
		int k = sendmmsg(w->fd, w->msgs + sent, (unsigned)(n - sent), MSG_DONTWAIT);
		if (k > 0) {
			sent += k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
			struct pollfd pf[2] = {{.fd = w->fd, .events = POLLOUT},
			                       {.fd = w->lw.stopfd, .events = POLLIN}};
			int r = poll(pf, 2, SEND_WAIT_MS);
			if (r > 0 && pf[1].revents)
				return -1;
			if (r > 0 && (pf[0].revents & POLLOUT))
				continue;
		}
		/* This reply cannot be sent; it is lost as a datagram may be, and the rest still go. */
		w->dropped++;
		sent++;
	}
	return 0;
}

static void *uworker_run(void *arg)
{
	struct uworker *w = arg;

	for (;;) {
		struct pollfd pf[2] = {{.fd = w->fd, .events = POLLIN},
		                       {.fd = w->lw.stopfd, .events = POLLIN}};
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			serve_worker_fail(&w->lw, "poll");
			break;
		}
		if (pf[1].revents)
			break;
		reset_batch(w);
		int n = recvmmsg(w->fd, w->msgs, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			continue; /* EAGAIN, EINTR, or a pending ICMP error (ECONNREFUSED) reported here */
		for (int i = 0; i < n; i++) {
			unsigned char *p = w->iov[i].iov_base;
			size_t len = w->msgs[i].msg_len;
			if (w->lw.o->verbose)
				(void)serve_log(2, ">> ", p, len);
			w->iov[i].iov_len = upper_udp_reply(p, p, len);
			/* msg_namelen stays as recvmmsg set it: the reply goes to the sender (U1). */
		}
		if (send_batch(w, n) < 0)
			break;
	}
	return NULL;
}

static int uworker_setup(struct serve_worker *lw, const struct net_addr *a, int reuseport,
                         struct net_addr *bound)
{
	struct uworker *w = (struct uworker *)lw;
	int sz = RCVBUF;

	w->bufs = malloc((size_t)BATCH * SLOT);
	if (w->bufs == NULL) {
		w->fd = -1;
		snprintf(w->lw.err, sizeof w->lw.err, "out of memory");
		return -1;
	}
	w->fd = net_listen(a, SOCK_DGRAM, reuseport, 0, bound, w->lw.err, sizeof w->lw.err);
	if (w->fd < 0)
		return -1;
	/* SO_RCVBUFFORCE passes rmem_max when privileged; otherwise SO_RCVBUF gets what the kernel allows. */
	if (setsockopt(w->fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) < 0)
		(void)setsockopt(w->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	if (setsockopt(w->fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) < 0)
		(void)setsockopt(w->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	return 0;
}

static void uworker_cleanup(struct serve_worker *lw)
{
	struct uworker *w = (struct uworker *)lw;

	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	free(w->bufs);
	w->bufs = NULL;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: udp-upper [-l ADDR:PORT] [-t THREADS] [-v]\n"
	    "Reference UDP server of the uppercase protocol: answers each datagram with one datagram, "
	    "'a'-'z'\n"
	    "made 'A'-'Z', to its sender; datagrams up to 65507 (IPv4) / 65527 (IPv6) bytes are answered "
	    "whole\n"
	    "and an empty datagram gets an empty reply (SPEC.md, U1-U6).\n"
	    "  -l ADDR:PORT  listen address (default " SERVE_DEFAULT_ADDR "); [::1]:PORT for IPv6;\n"
	    "                port 0 picks a free port. The first stderr line is 'listening on udp "
	    "ADDR:PORT'.\n"
	    "  -t THREADS    threads, each with its own SO_REUSEPORT socket (default 1)\n"
	    "  -v            log each datagram received on stderr as '>> ' and the bytes, escaped\n"
	    "  --help        this text\n"
	    "SIGINT or SIGTERM stops it; exit status 0 then, 1 on a runtime error, 2 on a usage or set-up\n"
	    "error (bad option, address in use or not local).\n");
}

int main(int argc, char **argv)
{
	static const struct serve_server server = {
	    .prog = "udp-upper",
	    .proto = "udp",
	    .type = SOCK_DGRAM,
	    .usage = usage,
	    .size = sizeof(struct uworker),
	    .setup = uworker_setup,
	    .run = uworker_run,
	    .cleanup = uworker_cleanup,
	};

	return serve_main(&server, argc, argv);
}
