/* echo.c - a minimal no-transform echo server (TCP over epoll, UDP over recvmmsg/sendmmsg): the I/O
 * limit of the machine, against which the bench measures the reference servers. Bench-only. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "net.h"
#include "util.h"

#define RBUF (256u * 1024u)
#define UDP_BATCH 64
#define UDP_MAX 65536u

/* Per descriptor: the bytes a short write left over. Nothing is held for an idle connection. */
struct conn {
	unsigned char *pend;
	size_t off, len;
	int eof;
	uint64_t count; /* bytes received, for -F drop */
};

/* -F: deliberate faults, for the bench's own tests that the load generator catches wrong servers. */
enum { F_NONE, F_DROP, F_EXTRA, F_TRUNC, F_DUP, F_LOSE };
static int fault;

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: echo [-u] [-l [ADDR]:PORT|PORT] [-F FAULT]\n"
	        "A minimal echo server that returns every byte unchanged (no transform): the bench's\n"
	        "measure of this machine's I/O limit.\n"
	        "  -l ADDR:PORT  address to listen on (default 127.0.0.1:8082; port 0 picks a free port);\n"
	        "                PORT alone: that port on 127.0.0.1; :PORT: on every IPv4 address\n"
	        "  -u            UDP (each datagram sent back whole) instead of TCP\n"
	        "  -F FAULT      misbehave on purpose, to test the load generator: TCP drop (loses the\n"
	        "                1000th byte of each connection), extra (one byte more before closing);\n"
	        "                UDP trunc (replies cut to 1024 bytes), dup (every reply twice), lose\n"
	        "                (no reply to every 10th datagram)\n"
	        "The first line on stderr is 'listening on tcp|udp ADDR:PORT'. SIGINT/SIGTERM stop it.\n"
	        "Examples:\n"
	        "  build/std/bin/bench/echo -l 0\n"
	        "  build/std/bin/bench/echo -u -l 127.0.0.1:0 -F lose\n");
}

static void conn_close(int ep, struct conn *c, int fd)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	free(c->pend);
	memset(c, 0, sizeof *c);
}

/* Writes p[0..n); keeps what the socket did not take. Returns 0, or -1 if the connection is over. */
static int conn_send(int ep, struct conn *c, int fd, const unsigned char *p, size_t n)
{
	ssize_t m = send(fd, p, n, MSG_NOSIGNAL);

	if (m < 0) {
		if (errno != EAGAIN)
			return -1;
		m = 0;
	}
	if ((size_t)m == n)
		return 0;
	c->pend = malloc(n - (size_t)m);
	if (c->pend == NULL)
		return -1;
	memcpy(c->pend, p + m, n - (size_t)m);
	c->off = 0;
	c->len = n - (size_t)m;
	/* Stop reading until the leftover is written: backpressure. */
	struct epoll_event ev = {.events = EPOLLOUT, .data.fd = fd};
	return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

/* Reads and sends back until the socket is drained, at most 16 buffers per wakeup so that one fast
 * sender does not starve the others (level-triggered epoll reports what is left). */
static void conn_readable(int ep, struct conn *c, int fd, unsigned char *buf, size_t cap)
{
	for (int rounds = 0; rounds < 16; rounds++) {
		ssize_t m = read(fd, buf, cap);
		if (m > 0 && fault == F_DROP && c->count <= 999 && c->count + (uint64_t)m > 999) {
			size_t at = (size_t)(999 - c->count);
			memmove(buf + at, buf + at + 1, (size_t)m - at - 1);
			c->count += (uint64_t)m;
			if (--m == 0)
				continue;
		} else if (m > 0) {
			c->count += (uint64_t)m;
		}
		if (m > 0) {
			if (conn_send(ep, c, fd, buf, (size_t)m) < 0) {
				conn_close(ep, c, fd);
				return;
			}
			if ((size_t)m < cap || c->len > 0)
				return; /* drained, or the socket is full: wait for epoll */
			continue;
		}
		if (m == 0 || (errno != EAGAIN && errno != EINTR)) {
			/* The peer's FIN (everything owed is already written) or an error. */
			if (m == 0 && fault == F_EXTRA)
				send(fd, "!", 1, MSG_NOSIGNAL);
			conn_close(ep, c, fd);
		}
		return;
	}
}

/* Serves TCP on lfd, for descriptors below nconn (the descriptor limit). */
static int serve_tcp(int lfd, size_t nconn)
{
	static unsigned char buf[RBUF];
	struct conn *conns = calloc(nconn, sizeof *conns);
	struct epoll_event evs[128], ev = {.events = EPOLLIN, .data.fd = lfd};
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0 || conns == NULL || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) {
		fprintf(stderr, "echo: epoll set-up: %s\n", strerror(errno));
		return 1;
	}
	for (;;) {
		int k = epoll_wait(ep, evs, 128, -1);
		if (k < 0 && errno != EINTR) {
			fprintf(stderr, "echo: epoll_wait: %s\n", strerror(errno));
			return 1;
		}
		for (int j = 0; j < k; j++) {
			int fd = evs[j].data.fd;
			if (fd == lfd) {
				for (int a = 0; a < 64; a++) {
					int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (cfd < 0)
						break;
					struct epoll_event cev = {.events = EPOLLIN, .data.fd = cfd};
					if ((size_t)cfd >= nconn ||
					    epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &cev) < 0)
						close(cfd);
				}
				continue;
			}
			struct conn *c = &conns[fd];
			if (c->len > 0) {
				ssize_t m = send(fd, c->pend + c->off, c->len, MSG_NOSIGNAL);
				if (m < 0 && errno != EAGAIN) {
					conn_close(ep, c, fd);
					continue;
				}
				if (m > 0) {
					c->off += (size_t)m;
					c->len -= (size_t)m;
				}
				if (c->len > 0)
					continue;
				free(c->pend);
				c->pend = NULL;
				if (c->eof) {
					conn_close(ep, c, fd);
					continue;
				}
				struct epoll_event cev = {.events = EPOLLIN, .data.fd = fd};
				epoll_ctl(ep, EPOLL_CTL_MOD, fd, &cev);
				continue;
			}
			conn_readable(ep, c, fd, buf, sizeof buf);
		}
	}
}

static int serve_udp(int fd)
{
	static unsigned char buf[UDP_BATCH][UDP_MAX];
	static struct sockaddr_storage from[UDP_BATCH];
	struct mmsghdr m[UDP_BATCH], out[2 * UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	uint64_t lose_count = 0;

	if (net_nonblock(fd, 0) < 0) {
		fprintf(stderr, "echo: blocking UDP socket: %s\n", strerror(errno));
		return 1;
	}
	for (;;) {
		memset(m, 0, sizeof m);
		for (int i = 0; i < UDP_BATCH; i++) {
			iov[i].iov_base = buf[i];
			iov[i].iov_len = UDP_MAX;
			m[i].msg_hdr.msg_iov = &iov[i];
			m[i].msg_hdr.msg_iovlen = 1;
			m[i].msg_hdr.msg_name = &from[i];
			m[i].msg_hdr.msg_namelen = sizeof from[i];
		}
		int n = recvmmsg(fd, m, UDP_BATCH, MSG_WAITFORONE, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "echo: recvmmsg: %s\n", strerror(errno));
			return 1;
		}
		int k = 0;
		for (int i = 0; i < n; i++) {
			iov[i].iov_len = m[i].msg_len;
			if (fault == F_TRUNC && iov[i].iov_len > 1024)
				iov[i].iov_len = 1024;
			if (fault == F_LOSE && ++lose_count % 10 == 0)
				continue;
			out[k++] = m[i];
			if (fault == F_DUP)
				out[k++] = m[i];
		}
		n = k;
		/* A sender that has gone away (ECONNREFUSED) or a full buffer loses its reply only. */
		for (int i = 0; i < n;) {
			int s = sendmmsg(fd, out + i, (unsigned)(n - i), 0);
			i += s > 0 ? s : 1;
		}
	}
}

/* -F FAULT */
static int take_fault(const char *name, const char *arg, void *dest, char *err, size_t errlen)
{
	static const char *const faults[] = {"", "drop", "extra", "trunc", "dup", "lose"};
	int *f = dest;

	for (*f = F_DROP; *f <= F_LOSE && strcmp(arg, faults[*f]) != 0; (*f)++)
		;
	if (*f <= F_LOSE)
		return 0;
	snprintf(err, errlen, "%s %s: unknown fault (drop, extra, trunc, dup, lose)", name, arg);
	return -1;
}

/* Parses the options into fault, *addrstr and *udp. Returns -1 to go on, else the exit status (after
 * --help, or a usage error printed). */
static int parse_args(int argc, char **argv, const char **addrstr, int *udp)
{
	const struct cli_option options[] = {{NULL, 'l', CLI_STRING, .dest = addrstr},
	                                     {NULL, 'u', CLI_FLAG, CLI_INTEGER(*udp)},
	                                     {NULL, 'F', CLI_CUSTOM, .dest = &fault, .custom = take_fault},
	                                     {"help", 'h', CLI_HELP, .dest = NULL},
	                                     CLI_TABLE_END};
	char err[256];

	switch (cli_outcome(cli_parse(options, argc, argv, err, sizeof err), "echo", err, usage, stdout,
	                    stderr)) {
	case CLI_OUTCOME_GO_ON:
		break;
	case CLI_OUTCOME_HELP:
		return 0;
	case CLI_OUTCOME_BAD:
		return 2;
	}
	if (optind != argc) {
		cli_usage_errorf(stderr, "echo", "unexpected argument '%s'", argv[optind]);
		return 2;
	}
	if (fault != F_NONE && (fault >= F_TRUNC) != (*udp != 0)) {
		cli_usage_errorf(stderr, "echo", "-F %s is a %s fault: it contradicts %s",
		                 fault == F_DROP    ? "drop"
		                 : fault == F_EXTRA ? "extra"
		                 : fault == F_TRUNC ? "trunc"
		                 : fault == F_DUP   ? "dup"
		                                    : "lose",
		                 fault >= F_TRUNC ? "UDP" : "TCP", *udp ? "-u" : "TCP (give -u)");
		return 2;
	}
	return -1;
}

int main(int argc, char **argv)
{
	const char *addrstr = "127.0.0.1:8082";
	struct net_addr a, bound;
	char err[256], name[NET_ADDRSTRLEN];
	int udp = 0, fd, rc;
	long nofile;

	rc = parse_args(argc, argv, &addrstr, &udp);
	if (rc >= 0)
		return rc;
	if (net_parse_listen(addrstr, &a, err, sizeof err) < 0) {
		cli_usage_errorf(stderr, "echo", "-l %s: %s", addrstr, err);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	nofile = util_raise_nofile(LONG_MAX); /* as many connections as the hard limit allows */
	fd = net_listen(&a, udp ? SOCK_DGRAM : SOCK_STREAM, 0, 4096, &bound, err, sizeof err);
	if (fd < 0) {
		fprintf(stderr, "echo: %s\n", err);
		return 1;
	}
	fprintf(stderr, "listening on %s %s\n", udp ? "udp" : "tcp",
	        net_format((const struct sockaddr *)&bound.ss, name, sizeof name));
	return udp ? serve_udp(fd) : serve_tcp(fd, nofile > 0 && nofile < LONG_MAX ? (size_t)nofile : 65536);
}
