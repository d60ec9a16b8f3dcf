/* io.c - conform's bounded socket exchanges: every wait has a deadline, every byte received is checked
 * against the core's oracle (oracle_mismatch, oracle_udp_check) as it arrives. */
#include "cf.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "oracle.h"
#include "upper.h"

uint64_t cf_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int cf_ms_left(uint64_t deadline_ns)
{
	uint64_t now = cf_now_ns();
	if (now >= deadline_ns)
		return 0;
	uint64_t ms = (deadline_ns - now + 999999u) / 1000000u;
	return ms > 1000000u ? 1000000 : (int)ms;
}

int cf_wait_ms(const struct cf_ctx *c, int ms)
{
	if (c->deadline_ns == 0)
		return ms;
	int left = cf_ms_left(c->deadline_ns);
	return left < ms ? left : ms;
}

static void vset(struct cf_ctx *c, const char *fmt, va_list ap)
{
	if (c->r->status == CF_FAIL)
		return; /* the first reason is the one that counts */
	vsnprintf(c->r->msg, sizeof c->r->msg, fmt, ap);
}

int cf_fail(struct cf_ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset(c, fmt, ap);
	va_end(ap);
	c->r->status = CF_FAIL;
	return -1;
}

int cf_timeout(struct cf_ctx *c, const char *fmt, ...)
{
	va_list ap;
	int first = c->r->status != CF_FAIL;
	va_start(ap, fmt);
	vset(c, fmt, ap);
	va_end(ap);
	c->r->status = CF_FAIL;
	if (first)
		c->r->timeout = 1;
	return -1;
}

int cf_skip(struct cf_ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->r->msg, sizeof c->r->msg, fmt, ap);
	va_end(ap);
	c->r->status = CF_SKIP;
	return -3;
}

void cf_escape(char *out, size_t outlen, const unsigned char *p, size_t n)
{
	size_t o = 0;
	if (outlen == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		char tmp[8];
		unsigned char b = p[i];
		if (b == '\\')
			snprintf(tmp, sizeof tmp, "\\\\");
		else if (b == '"')
			snprintf(tmp, sizeof tmp, "\\\"");
		else if (b == '\n')
			snprintf(tmp, sizeof tmp, "\\n");
		else if (b >= 0x20 && b < 0x7f)
			snprintf(tmp, sizeof tmp, "%c", b);
		else
			snprintf(tmp, sizeof tmp, "\\x%02x", b);
		size_t tl = strlen(tmp);
		if (o + tl + 4 >= outlen) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(out + o, tmp, tl);
		o += tl;
	}
	out[o] = '\0';
}

void cf_diff(struct cf_ctx *c, const unsigned char *sent, size_t slen, const unsigned char *got, size_t glen,
	     size_t base)
{
	size_t m = oracle_mismatch(sent, slen, got, glen);
	size_t from = m > 8 ? m - 8 : 0;
	unsigned char want[32];
	size_t wn = slen > from ? slen - from : 0, gn = glen > from ? glen - from : 0;
	if (wn > sizeof want)
		wn = sizeof want;
	if (gn > 24)
		gn = 24;
	oracle_expect(want, sent + from, wn);
	if (wn > 24)
		wn = 24;
	c->r->offset = (long long)(base + m);
	char e[CF_EXCERPT - 40], a[CF_EXCERPT - 40];
	cf_escape(e, sizeof e, want, wn);
	cf_escape(a, sizeof a, got + from, gn);
	snprintf(c->r->expected, sizeof c->r->expected, "@%zu \"%s\"%s", base + from, e,
		 from + wn >= slen ? " <end>" : "");
	snprintf(c->r->actual, sizeof c->r->actual, "@%zu \"%s\"%s", base + from, a,
		 from + gn >= glen ? " <end>" : "");
}

/* ---- TCP ---- */

static void rec(struct cf_ctx *c, int kind, unsigned conn, const void *p, size_t n)
{
	if (c->rec != NULL)
		cf_rec_add(c->rec, kind, conn, p, n, NULL, NULL);
}

int cf_tcp_connect(struct cf_ctx *c, const struct net_addr *a, struct cf_conn *k)
{
	char err[256], name[NET_ADDRSTRLEN];
	int one = 1;

	int ms = cf_wait_ms(c, c->timeout_ms);
	if (ms == 0) {
		k->fd = -1;
		return cf_timeout(c, "the case's time budget is exhausted");
	}
	k->fd = net_connect(a, SOCK_STREAM, ms, err, sizeof err);
	if (k->fd < 0) {
		if (errno == ETIMEDOUT)
			return cf_timeout(c, "tcp connect to %s: %s",
					  net_format((const struct sockaddr *)&a->ss, name, sizeof name), err);
		return cf_fail(c, "tcp connect: %s", err);
	}
	k->id = ++c->nconn;
	setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	net_nonblock(k->fd, 1);
	if (c->rec != NULL) {
		struct net_addr l;
		if (net_local(k->fd, &l) == 0)
			cf_rec_add(c->rec, CF_R_OPEN, k->id, NULL, 0, &l, a);
	}
	return 0;
}

void cf_tcp_close(struct cf_ctx *c, struct cf_conn *k)
{
	if (k->fd < 0)
		return;
	rec(c, CF_R_SHUT, k->id, NULL, 0);
	close(k->fd);
	k->fd = -1;
}

void cf_tcp_reset(struct cf_ctx *c, struct cf_conn *k)
{
	struct linger lg = {1, 0};
	if (k->fd < 0)
		return;
	setsockopt(k->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	rec(c, CF_R_RST, k->id, NULL, 0);
	close(k->fd);
	k->fd = -1;
}

static int flow_done(const struct cf_flow *f)
{
	if (f->expect_reset) /* a client that will reset: it stops after its stall phase (it never reads) */
		return f->stall_ms > 0 || f->sent == f->outlen;
	return f->got == f->outlen && (!f->shut || f->eof);
}

/* Reads once from f. Returns 1 progress, 0 nothing (EAGAIN), -1 failure (case failed). */
static int flow_read(struct cf_ctx *c, struct cf_flow *f)
{
	static unsigned char buf[65536];
	size_t want = f->rchunk > 0 && f->rchunk < sizeof buf ? f->rchunk : sizeof buf;
	ssize_t n = read(f->k->fd, buf, want);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		rec(c, CF_R_RSTIN, f->k->id, NULL, 0);
		if (f->expect_reset)
			return 0;
		if (errno == ECONNRESET)
			return cf_fail(c, "connection %u: reset (RST) by the server after %zu of %zu bytes answered%s",
				       f->k->id, f->got, f->outlen,
				       f->shut_done ? ", after our half-close: expected the rest, then FIN" : "");
		return cf_fail(c, "connection %u: read: %s after %zu of %zu bytes answered", f->k->id,
			       strerror(errno), f->got, f->outlen);
	}
	if (n == 0) {
		rec(c, CF_R_FIN, f->k->id, NULL, 0);
		f->eof = 1;
		if (f->expect_reset)
			return 1;
		if (f->got < f->outlen) {
			c->r->offset = (long long)f->got;
			if (!f->shut_done)
				return cf_fail(c, "connection %u: server closed (FIN) after answering %zu of %zu bytes, "
						  "before we half-closed", f->k->id, f->got, f->outlen);
			return cf_fail(c, "connection %u: FIN after %zu of %zu bytes: %zu bytes never answered",
				       f->k->id, f->got, f->outlen, f->outlen - f->got);
		}
		if (!f->shut_done)
			return cf_fail(c, "connection %u: server closed (FIN) before we half-closed", f->k->id);
		return 1;
	}
	rec(c, CF_R_RECV, f->k->id, buf, (size_t)n);
	size_t avail = f->outlen - f->got;
	size_t cmp = (size_t)n < avail ? (size_t)n : avail;
	size_t m = oracle_mismatch(f->out + f->got, cmp, buf, (size_t)n);
	if (m < (size_t)n) {
		cf_diff(c, f->out + f->got, cmp, buf, (size_t)n, f->got);
		if (m < cmp)
			return cf_fail(c, "connection %u: wrong byte at offset %zu of the answer", f->k->id,
				       f->got + m);
		return cf_fail(c, "connection %u: %zu bytes more than were sent (%zu sent, answered from offset "
				  "%zu)", f->k->id, (size_t)n - cmp, f->outlen, f->got + m);
	}
	f->got += (size_t)n;
	return 1;
}

static int flow_write(struct cf_ctx *c, struct cf_flow *f)
{
	size_t n = f->outlen - f->sent;
	if (f->wchunk > 0 && n > f->wchunk)
		n = f->wchunk;
	ssize_t w = send(f->k->fd, f->out + f->sent, n, MSG_NOSIGNAL);
	if (w < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		rec(c, CF_R_RSTIN, f->k->id, NULL, 0);
		return cf_fail(c, "connection %u: write after %zu of %zu bytes: %s (the server reset the connection)",
			       f->k->id, f->sent, f->outlen, strerror(errno));
	}
	rec(c, CF_R_SEND, f->k->id, f->out + f->sent, (size_t)w);
	f->sent += (size_t)w;
	return 1;
}

int cf_flows_run(struct cf_ctx *c, struct cf_flow *f, size_t n, int budget_ms)
{
	struct pollfd *pf = calloc(n, sizeof *pf);
	size_t *map = calloc(n, sizeof *map);
	int rc = -1;
	if (pf == NULL || map == NULL) {
		cf_fail(c, "out of memory for %zu connections", n);
		goto out;
	}
	if (budget_ms <= 0)
		budget_ms = 10 * c->timeout_ms;
	budget_ms = cf_wait_ms(c, budget_ms);
	uint64_t end = cf_now_ns() + (uint64_t)budget_ms * 1000000u;
	uint64_t idle_end = cf_now_ns() + (uint64_t)c->timeout_ms * 1000000u;
	for (size_t i = 0; i < n; i++) {
		f[i].sent = f[i].got = 0;
		f[i].shut_done = f[i].eof = f[i].done = f[i].stalled = 0;
		f[i].stalled_at = 0;
	}
	/* stall phase: write without reading until the server stops taking bytes */
	for (size_t i = 0; i < n; i++) {
		if (f[i].stall_ms <= 0)
			continue;
		uint64_t quiet_end = cf_now_ns() + (uint64_t)f[i].stall_ms * 1000000u;
		while (f[i].sent < f[i].outlen && cf_ms_left(end) > 0) {
			struct pollfd p = {f[i].k->fd, POLLOUT, 0};
			int ms = cf_ms_left(quiet_end);
			if (ms == 0)
				break;
			int pr = poll(&p, 1, ms);
			if (pr < 0 && errno != EINTR) {
				cf_fail(c, "poll: %s", strerror(errno));
				goto out;
			}
			if (pr > 0) {
				int w = flow_write(c, &f[i]);
				if (w < 0)
					goto out;
				if (w > 0)
					quiet_end = cf_now_ns() + (uint64_t)f[i].stall_ms * 1000000u;
			}
		}
		f[i].stalled = f[i].sent < f[i].outlen;
		f[i].stalled_at = f[i].sent;
	}
	for (;;) {
		size_t np = 0, left = 0;
		for (size_t i = 0; i < n; i++) {
			struct cf_flow *x = &f[i];
			if (!x->done && flow_done(x))
				x->done = 1;
			if (x->done)
				continue;
			left++;
			if (x->sent == x->outlen && x->shut && !x->shut_done) {
				shutdown(x->k->fd, SHUT_WR);
				rec(c, CF_R_SHUT, x->k->id, NULL, 0);
				x->shut_done = 1;
			}
			short ev = 0;
			if (!x->eof)
				ev |= POLLIN;
			if (x->sent < x->outlen && (!x->lockstep || x->got == x->sent))
				ev |= POLLOUT;
			if (ev == 0)
				continue;
			pf[np].fd = x->k->fd;
			pf[np].events = ev;
			pf[np].revents = 0;
			map[np++] = i;
		}
		if (left == 0) {
			rc = 0;
			break;
		}
		int ms = cf_ms_left(idle_end), tot = cf_ms_left(end);
		if (ms == 0 || tot == 0 || np == 0) {
			size_t worst = 0, done = 0;
			for (size_t i = 0; i < n; i++) {
				if (f[i].done)
					done++;
				else
					worst = i;
			}
			struct cf_flow *x = &f[worst];
			c->r->offset = (long long)x->got;
			cf_timeout(c, "%s: connection %u got %zu of %zu bytes answered (%zu sent%s)%s; %zu of %zu "
				      "connections complete",
				   tot == 0 ? "time budget exhausted" : "no progress for the timeout", x->k->id, x->got,
				   x->outlen, x->sent, x->shut_done ? ", half-closed" : "",
				   x->shut_done && x->got == x->outlen ? ", no FIN" : "", done, n);
			break;
		}
		int pr = poll(pf, (nfds_t)np, ms < tot ? ms : tot);
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			cf_fail(c, "poll: %s", strerror(errno));
			break;
		}
		int progress = 0, bad = 0;
		for (size_t j = 0; j < np && !bad; j++) {
			struct cf_flow *x = &f[map[j]];
			if (pf[j].revents & (POLLIN | POLLHUP | POLLERR)) {
				int r = flow_read(c, x);
				if (r < 0)
					bad = 1;
				else if (r > 0)
					progress = 1;
			}
			if (!bad && (pf[j].revents & POLLOUT) && x->sent < x->outlen && !x->eof) {
				int w = flow_write(c, x);
				if (w < 0)
					bad = 1;
				else if (w > 0)
					progress = 1;
			}
		}
		if (bad)
			break;
		if (progress)
			idle_end = cf_now_ns() + (uint64_t)c->timeout_ms * 1000000u;
	}
out:
	free(pf);
	free(map);
	return rc;
}

int cf_xchg(struct cf_ctx *c, struct cf_conn *k, const void *out, size_t outlen, int shut)
{
	struct cf_flow f;
	memset(&f, 0, sizeof f);
	f.k = k;
	f.out = out;
	f.outlen = outlen;
	f.shut = shut;
	return cf_flows_run(c, &f, 1, 0);
}

int cf_tcp_alive(struct cf_ctx *c, const struct net_addr *a, const char *after)
{
	static const char probe[] = "still serving? the quick brown fox 0123\n";
	struct cf_conn k;
	char why[CF_MSG];

	if (cf_tcp_connect(c, a, &k) < 0)
		goto bad;
	int rc = cf_xchg(c, &k, probe, sizeof probe - 1, 1);
	cf_tcp_close(c, &k);
	if (rc == 0)
		return 0;
bad:
	snprintf(why, sizeof why, "%s", c->r->msg);
	c->r->msg[0] = '\0';
	c->r->status = CF_PASS;
	if (c->r->timeout) {
		c->r->timeout = 0;
		return cf_timeout(c, "after %s, the server no longer serves: %s", after, why);
	}
	return cf_fail(c, "after %s, the server no longer serves: %s", after, why);
}

/* ---- UDP ---- */

int cf_udp_socket(struct cf_ctx *c, const struct net_addr *a)
{
	int fam = a->ss.ss_family;
	int fd = socket(fam, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return cf_fail(c, "udp socket: %s", strerror(errno));
	int sz = 8 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	net_nonblock(fd, 1);
	return fd;
}

int cf_udp_send(struct cf_ctx *c, int fd, unsigned conn, const struct net_addr *a, const void *p, size_t n)
{
	char name[NET_ADDRSTRLEN];
	uint64_t end = cf_now_ns() + (uint64_t)c->timeout_ms * 1000000u;
	for (;;) {
		ssize_t w = sendto(fd, p, n, 0, (const struct sockaddr *)&a->ss, a->len);
		if (w == (ssize_t)n)
			break;
		if (w >= 0)
			return cf_fail(c, "udp sendto %s: sent %zd of %zu bytes",
				       net_format((const struct sockaddr *)&a->ss, name, sizeof name), w, n);
		if (errno == EAGAIN || errno == ENOBUFS || errno == EINTR) {
			struct pollfd pf = {fd, POLLOUT, 0};
			if (cf_ms_left(end) == 0)
				return cf_timeout(c, "udp sendto: socket stayed full");
			poll(&pf, 1, 5);
			continue;
		}
		if (errno == ECONNREFUSED)
			continue; /* an ICMP error from an earlier datagram: not this one's */
		return cf_fail(c, "udp sendto %s: %s", net_format((const struct sockaddr *)&a->ss, name, sizeof name),
			       strerror(errno));
	}
	if (c->rec != NULL) {
		struct net_addr l;
		if (net_local(fd, &l) == 0)
			cf_rec_add(c->rec, CF_R_DOUT, conn, p, n, &l, a);
	}
	return 0;
}

long cf_udp_recv(struct cf_ctx *c, int fd, unsigned conn, unsigned char *buf, size_t cap, int ms)
{
	ms = cf_wait_ms(c, ms);
	uint64_t end = cf_now_ns() + (uint64_t)ms * 1000000u;
	for (;;) {
		struct net_addr from;
		from.len = sizeof from.ss;
		ssize_t n = recvfrom(fd, buf, cap, MSG_TRUNC, (struct sockaddr *)&from.ss, &from.len);
		if (n >= 0) {
			if ((size_t)n > cap)
				return cf_fail(c, "udp reply of %zd bytes is larger than the %zu expected at most", n, cap);
			if (c->rec != NULL) {
				struct net_addr l;
				if (net_local(fd, &l) == 0)
					cf_rec_add(c->rec, CF_R_DIN, conn, buf, (size_t)n, &l, &from);
			}
			return (long)n;
		}
		if (errno == ECONNREFUSED)
			continue; /* ICMP port unreachable for an earlier datagram: keep waiting */
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return cf_fail(c, "udp recvfrom: %s", strerror(errno));
		int left = cf_ms_left(end);
		if (left == 0)
			return -2;
		struct pollfd pf = {fd, POLLIN, 0};
		poll(&pf, 1, left);
	}
}

int cf_udp_roundtrip(struct cf_ctx *c, const struct net_addr *a, const void *req, size_t n, int quiet_ms)
{
	static unsigned char buf[65536 + 1];
	char why[256];
	int fd = cf_udp_socket(c, a);
	if (fd < 0)
		return -1;
	unsigned id = ++c->nconn;
	int rc = -1;
	if (cf_udp_send(c, fd, id, a, req, n) < 0)
		goto out;
	long got = cf_udp_recv(c, fd, id, buf, sizeof buf, c->timeout_ms);
	if (got == -2) {
		cf_timeout(c, "no reply to a %zu-byte datagram within %d ms", n, c->timeout_ms);
		goto out;
	}
	if (got < 0)
		goto out;
	if (oracle_udp_check(req, n, buf, (size_t)got, why, sizeof why) != ORACLE_UDP_OK) {
		cf_diff(c, req, n, buf, (size_t)got, 0);
		cf_fail(c, "reply to a %zu-byte datagram: %s", n, why);
		goto out;
	}
	if (quiet_ms > 0) {
		long again = cf_udp_recv(c, fd, id, buf, sizeof buf, quiet_ms);
		if (again >= 0) {
			cf_fail(c, "a second reply (%ld bytes) to one %zu-byte datagram: U1 wants exactly one", again, n);
			goto out;
		}
		if (again == -1)
			goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}
