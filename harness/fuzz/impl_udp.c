/* impl_udp.c - a fuzz_udp sequence (lib/script.h) sent by real senders over loopback to a running
 * implementation: sender s is a socket of its own (127.0.0.(1+s) over IPv4, [::1] over IPv6), a
 * datagram with the batch bit waits until every earlier one is answered, the others go back to back
 * (as many as the server's receive buffer surely holds). Every reply is judged against its sender's own
 * datagrams with oracle_udp_check (X1, U2, U3, U4, U6) and its source address (U1: from the address the
 * datagram went to); each datagram must get exactly one reply within the bound (U1, U5), unless the
 * kernel dropped it (the server socket's drop counter in /proc/net/udp rose). A datagram whose event
 * byte names an ICMP error is sent by a sender that goes away at once (its port closed): the server
 * must serve the others (U5). */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "impl.h"
#include "oracle.h"
#include "script.h"
#include "util.h"

enum {
	MAX_DATAGRAMS = 512,
	MAX_BYTES = 16 * 1024 * 1024, /* bytes one input sends in all; datagrams past them are dropped */
	IN_FLIGHT = 160 * 1024, /* the kernel's cost of the datagrams unanswered at once, at most (a receive
	                         * buffer holds 208 KiB by default) */
	OVERHEAD = 1024,        /* the kernel's cost of a datagram is about twice its bytes and this */
	CLIENT_RCVBUF = 1 << 20,
	PORT_FIRST = 10000, /* the senders' ports, below the kernel's ephemeral range (32768-60999) */
	PORTS = 20000,
	DROP_LOOK_MS = 50 /* a wait for replies looks at the kernel's drop count this often */
};

struct datagram {
	unsigned char *data;
	size_t len;
	unsigned sender;
	int family, sock, answered, gone;
};

struct sender {
	int fd;
	size_t generation; /* datagrams sent on this descriptor belong to it */
};

struct play {
	struct impl_target *t;
	struct datagram *d;
	size_t count, outstanding, cost;
	int fd[SCRIPT_UDP_SENDERS][2]; /* per sender and family (0: IPv4, 1: IPv6), -1: none */
	unsigned char *buf;
	struct impl_finding *f;
};

static size_t cost(size_t len)
{
	return 2 * len + OVERHEAD;
}

static void feature(struct play *p, size_t index)
{
	if (p->t->features != NULL && p->t->nfeatures > 0) {
		unsigned char *c = &p->t->features[index % p->t->nfeatures];
		*c = (unsigned char)(*c < 255 ? *c + 1 : 255);
	}
}

/* Drops counted by the kernel for the UDP sockets bound to port: datagrams the server never saw. */
static unsigned long kernel_drops(unsigned port)
{
	long long drops = util_udp_drops(&port, 1);
	return drops > 0 ? (unsigned long)drops : 0;
}

static const struct net_addr *to(const struct play *p, int family)
{
	return family == 6 && p->t->has6 ? &p->t->addr6 : &p->t->addr;
}

/* The socket of sender s for family: bound to 127.0.0.(1+s) or [::1], on the next port of a rotation
 * through PORT_FIRST..PORT_FIRST+PORTS-1 that is free. Not a port the kernel picks: it gives a port that
 * was just closed out again at once, and a sender that went away (its port closed) would then get the
 * late reply to its datagram on its successor's socket, a reply to nobody there. A port comes round
 * again only after 20000 others. */
static int sender_socket(struct play *p, unsigned s, int family, char *err, size_t errlen)
{
	static unsigned next;
	int v6 = family == 6 && p->t->has6;
	if (next == 0) /* parallel jobs start at other places of the rotation */
		next = (unsigned)getpid() * 7919u % PORTS + 1;
	if (p->fd[s][v6] >= 0)
		return p->fd[s][v6];
	struct net_addr a;
	char text[64];
	snprintf(text, sizeof text, v6 ? "[::1]:0" : "127.0.0.%u:0", 1 + s);
	if (net_parse(text, &a, err, errlen) < 0)
		return -1;
	int fd = socket(a.ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0), bound = -1;
	for (int tries = 0; fd >= 0 && bound < 0 && tries < 64; tries++) {
		net_set_port(&a, PORT_FIRST + next++ % PORTS);
		bound = bind(fd, (struct sockaddr *)&a.ss, a.len);
	}
	if (fd < 0 || bound < 0) {
		snprintf(err, errlen, "udp sender %s: %s", text, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int rcvbuf = CLIENT_RCVBUF;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	p->fd[s][v6] = fd;
	return fd;
}

static int same_address(const struct sockaddr_storage *a, const struct net_addr *b)
{
	if (a->ss_family != b->ss.ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)&b->ss;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)&b->ss;
	int same = x->sin6_port == y->sin6_port;
	for (size_t i = 0; i < sizeof x->sin6_addr.s6_addr;
	     i++) /* no memcmp: libFuzzer would take it as a hint */
		same &= x->sin6_addr.s6_addr[i] == y->sin6_addr.s6_addr[i];
	return same;
}

/* A reply of n bytes from `from` on socket fd: it must answer one of that socket's datagrams still
 * unanswered, and come from the address they went to. */
static int reply(struct play *p, int fd, const struct sockaddr_storage *from, size_t n)
{
	char why[256], src[NET_ADDRSTRLEN], want[NET_ADDRSTRLEN];
	size_t first = SIZE_MAX;
	for (size_t k = 0; k < p->count; k++) {
		struct datagram *d = &p->d[k];
		if (d->sock != fd || d->answered || d->gone)
			continue;
		if (!same_address(from, to(p, d->family)))
			return impl_found(
			    p->f, "U1", "other-address",
			    "the reply to datagram #%zu (%zu bytes from sender %u) came from %s, not %s "
			    "where it was sent",
			    k + 1, d->len, d->sender,
			    net_format((const struct sockaddr *)from, src, sizeof src),
			    net_format((const struct sockaddr *)&to(p, d->family)->ss, want, sizeof want));
		if (first == SIZE_MAX)
			first = k;
		if (d->len == n && oracle_mismatch(d->data, n, p->buf, n) == n) {
			d->answered = 1;
			p->outstanding--;
			p->cost -= cost(d->len);
			return 0;
		}
	}
	if (first == SIZE_MAX)
		return impl_found(p->f, "U1", "extra-reply",
		                  "a reply of %zu bytes from %s to a sender with no datagram left unanswered "
		                  "(a second reply, or one to another sender)",
		                  n, net_format((const struct sockaddr *)from, src, sizeof src));
	struct datagram *d = &p->d[first];
	int broken = oracle_udp_check(d->data, d->len, p->buf, n, why, sizeof why);
	const char *rule = broken == ORACLE_UDP_TRUNCATED   ? "U4"
	                   : broken == ORACLE_UDP_AMPLIFIED ? "U6"
	                   : n != d->len                    ? "U2"
	                                                    : "X1";
	const char *where = broken == ORACLE_UDP_TRUNCATED   ? "truncated"
	                    : broken == ORACLE_UDP_AMPLIFIED ? "longer"
	                    : n != d->len                    ? "length"
	                                                     : "wrong-byte";
	return impl_found(p->f, rule, where,
	                  "a reply of %zu bytes answers none of sender %u's datagrams; against datagram #%zu "
	                  "(%zu bytes): %s",
	                  n, d->sender, first + 1, d->len, why);
}

/* Reads every reply waiting on the senders' sockets; waits up to ms for the first. Returns 0 (*got:
 * replies read), 1 (finding) or -1. */
static int receive(struct play *p, int ms, size_t *got)
{
	struct pollfd pf[SCRIPT_UDP_SENDERS * 2];
	size_t np = 0;
	*got = 0;
	for (unsigned s = 0; s < SCRIPT_UDP_SENDERS; s++)
		for (int v = 0; v < 2; v++)
			if (p->fd[s][v] >= 0)
				pf[np++] = (struct pollfd){.fd = p->fd[s][v], .events = POLLIN};
	if (np == 0)
		return 0;
	int r = poll(pf, np, ms);
	if (r < 0 && errno != EINTR) {
		snprintf(p->f->what, sizeof p->f->what, "poll: %s", strerror(errno));
		return -1;
	}
	for (size_t j = 0; r > 0 && j < np; j++) {
		if (pf[j].revents == 0)
			continue;
		for (;;) {
			struct sockaddr_storage from;
			socklen_t flen = sizeof from;
			ssize_t k = recvfrom(pf[j].fd, p->buf, SCRIPT_UDP_MAX6 + 1, MSG_DONTWAIT,
			                     (struct sockaddr *)&from, &flen);
			if (k < 0)
				break; /* EAGAIN; ECONNREFUSED cannot come: the sockets are not connected */
			(*got)++;
			int rc = reply(p, pf[j].fd, &from, (size_t)k);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

/* The datagrams still waiting for their reply: how many, and the first. */
static size_t missing(const struct play *p, size_t *first)
{
	size_t n = 0;
	*first = SIZE_MAX;
	for (size_t k = 0; k < p->count; k++)
		if (!p->d[k].answered && !p->d[k].gone && p->d[k].sock >= 0) {
			n++;
			*first = *first == SIZE_MAX ? k : *first;
		}
	return n;
}

/* Waits, reading replies, until at most `left` of cost is unanswered. No reply for idle_ms is a
 * finding, unless the kernel dropped the missing datagrams (the server's drop count, looked at while
 * waiting, rose by as many): then they are no longer waited for. */
static int wait_until(struct play *p, size_t left, unsigned long drops0)
{
	uint64_t idle = util_now_ns() + (uint64_t)p->t->idle_ms * 1000000u;
	unsigned port = net_port((const struct sockaddr *)&p->t->addr.ss);
	while (p->outstanding > 0 && p->cost > left) {
		size_t got, first;
		int ms = util_ms_left(idle);
		int rc = receive(p, ms < DROP_LOOK_MS ? ms : DROP_LOOK_MS, &got);
		if (rc != 0)
			return rc;
		if (got > 0) {
			idle = util_now_ns() + (uint64_t)p->t->idle_ms * 1000000u;
			continue;
		}
		size_t n = missing(p, &first);
		if (n == 0) { /* the counts say otherwise: trust the datagrams */
			p->outstanding = 0;
			p->cost = 0;
			return 0;
		}
		if (kernel_drops(port) >= drops0 + n) {
			feature(p, 999);
			for (size_t k = 0; k < p->count; k++)
				if (!p->d[k].answered)
					p->d[k].gone =
					    1; /* the kernel dropped them: not the server's doing */
			p->outstanding = 0;
			p->cost = 0;
			return 0;
		}
		if (util_ms_left(idle) > 0)
			continue;
		const struct datagram *d = &p->d[first];
		return impl_found(
		    p->f, "U1", "no-reply",
		    "datagram #%zu (%zu bytes from sender %u over IPv%d) got no reply within %d ms; "
		    "%zu of %zu datagrams unanswered",
		    first + 1, d->len, d->sender, d->family == 6 && p->t->has6 ? 6 : 4, p->t->idle_ms, n,
		    p->count);
	}
	return 0;
}

/* A sender that goes away: its socket closed, its unanswered datagrams no longer expected. */
static void sender_gone(struct play *p, unsigned s, int v6)
{
	int fd = p->fd[s][v6];
	for (size_t k = 0; k < p->count; k++)
		if (p->d[k].sock == fd && !p->d[k].answered && !p->d[k].gone) {
			p->d[k].gone = 1;
			p->outstanding--;
			p->cost -= cost(p->d[k].len);
		}
	close(fd);
	p->fd[s][v6] = -1;
}

static int send_one(struct play *p, struct datagram *d, const struct script_udp_meta *m)
{
	char err[256];
	int v6 = d->family == 6 && p->t->has6;
	int fd = sender_socket(p, d->sender, d->family, err, sizeof err);
	if (fd < 0) {
		snprintf(p->f->what, sizeof p->f->what, "%s", err);
		return -1;
	}
	const struct net_addr *a = to(p, d->family);
	if (d->len > SCRIPT_UDP_MAX4 && !v6)
		d->len = SCRIPT_UDP_MAX4;
	if (sendto(fd, d->data, d->len, 0, (const struct sockaddr *)&a->ss, a->len) < 0) {
		snprintf(p->f->what, sizeof p->f->what, "udp send of %zu bytes: %s", d->len, strerror(errno));
		return -1;
	}
	p->t->connections++;
	d->sock = fd;
	p->outstanding++;
	p->cost += cost(d->len);
	if (m->recv == SCRIPT_UDP_ICMP_RECV || m->recv == SCRIPT_UDP_ICMP_SEND ||
	    m->send == SCRIPT_UDP_SEND_UNREACH)
		sender_gone(p, d->sender, v6);
	return 0;
}

static void play_free(struct play *p)
{
	for (unsigned s = 0; s < SCRIPT_UDP_SENDERS; s++)
		for (int v = 0; v < 2; v++)
			if (p->fd[s][v] >= 0)
				close(p->fd[s][v]);
	for (size_t k = 0; k < p->count; k++)
		free(p->d[k].data);
	free(p->d);
}

int impl_udp_run(struct impl_target *t, const unsigned char *data, size_t n, struct impl_finding *f)
{
	static unsigned char *buf;
	static unsigned char *body;
	struct play p;
	struct script_udp_dec dec;
	struct script_udp_meta m;
	size_t len, total = 0;
	int rc = 0;

	if (buf == NULL &&
	    ((buf = malloc(SCRIPT_UDP_MAX6 + 1)) == NULL || (body = malloc(SCRIPT_UDP_MAX6)) == NULL)) {
		snprintf(f->what, sizeof f->what, "out of memory");
		return -1;
	}
	memset(&p, 0, sizeof p);
	memset(p.fd, 0xff, sizeof p.fd);
	p.t = t;
	p.f = f;
	p.buf = buf;
	p.d = calloc(MAX_DATAGRAMS, sizeof *p.d);
	if (p.d == NULL) {
		snprintf(f->what, sizeof f->what, "out of memory");
		return -1;
	}
	unsigned long drops0 = kernel_drops(net_port((const struct sockaddr *)&t->addr.ss));
	script_udp_init(&dec, data, n);
	while (rc == 0 && p.count < MAX_DATAGRAMS && script_udp_read(&dec, body, &len, &m)) {
		if (total + len > MAX_BYTES)
			break;
		struct datagram *d = &p.d[p.count];
		d->data = malloc(len > 0 ? len : 1);
		if (d->data == NULL) {
			snprintf(f->what, sizeof f->what, "out of memory");
			rc = -1;
			break;
		}
		memcpy(d->data, body, len);
		d->len = len;
		d->sender = m.sender;
		d->family = m.family;
		d->sock = -1;
		p.count++;
		total += len;
		feature(&p, 600 +
		                (len == 0      ? 0
		                 : len < 256   ? 1
		                 : len < 1500  ? 2
		                 : len < 65507 ? 3
		                               : 4) *
		                    4 +
		                (m.family == 6) * 2 + m.batch);
		feature(&p, 640 + m.sender * 8 + (m.recv != 0) * 2 + (m.send != 0));
		size_t room = IN_FLIGHT - (cost(len) < IN_FLIGHT ? cost(len) : IN_FLIGHT);
		rc = wait_until(&p, m.batch ? 0 : room, drops0);
		if (rc == 0)
			rc = send_one(&p, d, &m);
		if (rc == 0) {
			size_t got;
			rc = receive(&p, 0, &got);
		}
	}
	if (rc == 0)
		rc = wait_until(&p, 0, drops0);
	if (rc == 0) { /* a reply that came on top of the last ones */
		size_t got;
		rc = receive(&p, 0, &got);
	}
	play_free(&p);
	return rc;
}
