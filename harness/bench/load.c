/* load.c - the bench's load engine: stream, ping-pong, accept and idle-RSS runs over epoll (UDP in
 * udpload.c), every byte received verified. */
#include "load.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "exchange_oracle.h"
#include "meter.h"
#include "payload.h"
#include "udpload.h"
#include "util.h"

/* The bytes sent and the replies expected are the payload's (payload.h); UDP runs in udpload.c. */
#define MAXCHUNK PAYLOAD_SPAN /* largest read or check at once */
#define WCHUNK (64u * 1024u)  /* stream write size */
#define CONNECT_MS 3000
#define DRAIN_NS 5000000000ull
#define IDLE_NS 20000000000ull /* IDLE: time allowed to open and check the connections */

static int dial(const struct load_cfg *c, char *err, size_t errlen)
{
	int fd = net_connect(&c->addr, SOCK_STREAM, CONNECT_MS, err, errlen);

	if (fd < 0)
		return -1;
	if (net_nonblock(fd, 1) < 0) {
		snprintf(err, errlen, "non-blocking socket: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Writes all of p[0..n) to the non-blocking fd, waiting at most timeout_ms in total. */
static int write_full(int fd, const unsigned char *p, size_t n, int timeout_ms, char *err, size_t errlen)
{
	uint64_t deadline = util_now_ns() + (uint64_t)timeout_ms * 1000000ull;

	while (n > 0) {
		ssize_t m = write(fd, p, n);
		if (m > 0) {
			p += m;
			n -= (size_t)m;
			continue;
		}
		if (m < 0 && errno != EAGAIN && errno != EINTR) {
			snprintf(err, errlen, "write: %s", strerror(errno));
			return LOAD_ERR;
		}
		int left = util_ms_left(deadline);
		if (left == 0) {
			snprintf(err, errlen, "write: server not reading for %d ms", timeout_ms);
			return LOAD_ERR;
		}
		struct pollfd pf = {.fd = fd, .events = POLLOUT};
		poll(&pf, 1, left);
	}
	return LOAD_OK;
}

/* ---- TCP stream ------------------------------------------------------------------------------------ */

struct sconn {
	int fd;
	int done;
	size_t base;               /* the pattern byte the stream starts with */
	struct xchg_oracle oracle; /* bytes sent and received, and the verdict on them */
};

static int stream_read(struct sconn *s, int i, const struct payload *pt, unsigned char *rbuf, int draining,
                       char *err, size_t errlen)
{
	for (;;) {
		ssize_t m = read(s->fd, rbuf, MAXCHUNK);
		if (m > 0) {
			if (xchg_failed(xchg_oracle_recv(&s->oracle, rbuf, (size_t)m)))
				return payload_stream_wrong(&s->oracle, pt, s->base, i, err, errlen);
			/* A short read means the queue was empty (the next byte brings a new edge), except
			 * that a FIN queued behind the data brings none: when draining, read on to EOF. */
			if ((size_t)m < MAXCHUNK && !draining)
				return LOAD_OK;
			continue;
		}
		if (m == 0) {
			/* complete only after our half-close, with every byte back */
			if (xchg_oracle_fin(&s->oracle) != XCHG_COMPLETE)
				return payload_stream_wrong(&s->oracle, pt, s->base, i, err, errlen);
			s->done = 1;
			return LOAD_OK;
		}
		if (errno == EAGAIN || errno == EINTR)
			return LOAD_OK;
		snprintf(err, errlen, "connection %d: read: %s", i, strerror(errno));
		return LOAD_ERR;
	}
}

static int stream_write(struct sconn *s, int i, const struct payload *pt, char *err, size_t errlen)
{
	for (;;) {
		ssize_t m = write(s->fd, pt->p + (s->base + s->oracle.sent) % PAYLOAD_PERIOD, WCHUNK);
		if (m > 0) {
			xchg_oracle_sent(&s->oracle, (size_t)m);
			if ((size_t)m < WCHUNK)
				return LOAD_OK;
			continue;
		}
		if (m < 0 && (errno == EAGAIN || errno == EINTR))
			return LOAD_OK;
		snprintf(err, errlen, "connection %d: write: %s", i, m < 0 ? strerror(errno) : "wrote 0");
		return LOAD_ERR;
	}
}

/* Returns n zero-filled connections whose descriptors are -1 (none open), or NULL. A cleanup path can
 * then close every fd >= 0 whatever step failed. */
static struct sconn *sconn_new(int n)
{
	struct sconn *s = calloc((size_t)n, sizeof *s);

	if (s != NULL)
		for (int i = 0; i < n; i++)
			s[i].fd = -1;
	return s;
}

/* Closes the connections of s[0..n) (from sconn_new(), NULL allowed) and the epoll descriptor ep
 * (-1: none), and frees s. */
static void sconn_free(struct sconn *s, int n, int ep)
{
	if (s != NULL)
		for (int i = 0; i < n; i++)
			if (s[i].fd >= 0)
				close(s[i].fd);
	if (ep >= 0)
		close(ep);
	free(s);
}

/* Opens n connections into s[0..n) (from sconn_new(); TCP_NODELAY when nodelay) and watches them
 * for events in a new epoll set, tagged with their index. Returns the epoll descriptor, or -1 with a
 * reason in err; the connections already open stay in s for the caller to close. */
static int dial_all(const struct load_cfg *c, struct sconn *s, int n, uint32_t events, int nodelay, char *err,
                    size_t errlen)
{
	int one = 1, ep;

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		snprintf(err, errlen, "epoll_create1: %s", strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		s[i].fd = dial(c, err, errlen);
		if (s[i].fd < 0)
			goto fail;
		if (nodelay)
			(void)setsockopt(s[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct epoll_event ev = {.events = events, .data.u32 = (uint32_t)i};
		if (epoll_ctl(ep, EPOLL_CTL_ADD, s[i].fd, &ev) < 0) {
			snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
			goto fail;
		}
	}
	return ep;
fail:
	close(ep);
	return -1;
}

static int run_stream(const struct load_cfg *c, const struct payload *pt, struct load_result *r, char *err,
                      size_t errlen)
{
	int n = c->conns, ep = -1, rc = LOAD_ERR, open;
	struct sconn *s = sconn_new(n);
	unsigned char *rbuf = malloc(MAXCHUNK);
	struct epoll_event evs[64];
	uint64_t t0, end, tm, deadline;

	if (s == NULL || rbuf == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++)
		payload_stream_oracle(&s[i].oracle, pt, 0, 0, 1);
	ep = dial_all(c, s, n, EPOLLIN | EPOLLOUT | EPOLLET, 0, err, errlen);
	if (ep < 0)
		goto out;
	struct meter m;
	meter_start(&m, c->pid);
	t0 = util_now_ns();
	end = t0 + (uint64_t)(c->seconds * 1e9);
	while ((tm = util_now_ns()) < end) {
		int k = epoll_wait(ep, evs, 64, 20);
		for (int j = 0; j < k; j++) {
			int i = (int)evs[j].data.u32;
			if (evs[j].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
				rc = stream_read(&s[i], i, pt, rbuf, 0, err, errlen);
				if (rc != LOAD_OK)
					goto out;
			}
			if (evs[j].events & EPOLLOUT) {
				rc = stream_write(&s[i], i, pt, err, errlen);
				if (rc != LOAD_OK)
					goto out;
			}
		}
	}
	meter_end(&m, &r->server_cpu_s, &r->client_cpu_s);
	r->seconds = (double)(tm - t0) / 1e9;
	for (int i = 0; i < n; i++)
		r->bytes += s[i].oracle.got;
	/* Half-close and take back every byte still owed, then the server's FIN (T1, T4). */
	for (int i = 0; i < n; i++) {
		shutdown(s[i].fd, SHUT_WR);
		xchg_oracle_shut(&s[i].oracle);
	}
	open = n;
	deadline = util_now_ns() + DRAIN_NS;
	while (open > 0 && util_now_ns() < deadline) {
		int k = epoll_wait(ep, evs, 64, 20);
		for (int j = 0; j < k; j++) {
			int i = (int)evs[j].data.u32;
			if (s[i].done || !(evs[j].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
				continue;
			rc = stream_read(&s[i], i, pt, rbuf, 1, err, errlen);
			if (rc != LOAD_OK)
				goto out;
			if (s[i].done)
				open--;
		}
	}
	if (open > 0) {
		for (int i = 0; i < n; i++)
			if (!s[i].done) {
				snprintf(err, errlen,
				         "connection %d: %llu of %llu bytes back and no FIN within %llu s of "
				         "our FIN (T4)",
				         i, (unsigned long long)s[i].oracle.got,
				         (unsigned long long)s[i].oracle.sent, DRAIN_NS / 1000000000ull);
				break;
			}
		rc = LOAD_ERR;
		goto out;
	}
	r->value = (double)r->bytes / 1e6 / r->seconds;
	r->unit = "MB/s";
	rc = LOAD_OK;
out:
	sconn_free(s, n, ep);
	free(rbuf);
	return rc;
}

/* ---- TCP ping-pong --------------------------------------------------------------------------------- */

struct lat {
	uint32_t *v;
	size_t n, cap;
};

static void lat_add(struct lat *l, uint64_t ns)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 65536;
		uint32_t *v = cap <= (64u << 20) ? realloc(l->v, cap * sizeof *v) : NULL;
		if (v == NULL)
			return; /* keep the samples so far: percentiles stay meaningful */
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static double lat_pct(const struct lat *l, double q)
{
	if (l->n == 0)
		return 0;
	size_t i = (size_t)(q * (double)(l->n - 1) + 0.5);
	return (double)l->v[i] / 1000.0;
}

static int run_pingpong(const struct load_cfg *c, const struct payload *pt, struct load_result *r, char *err,
                        size_t errlen)
{
	int n = c->conns, ep = -1, rc = LOAD_ERR, waiting = 0;
	struct sconn *s = sconn_new(n);
	uint64_t *tsent = calloc((size_t)n, sizeof *tsent);
	unsigned char *rbuf = malloc(MAXCHUNK);
	struct epoll_event evs[64];
	struct lat l = {0};
	uint64_t t0, end, tm, deadline;

	if (s == NULL || tsent == NULL || rbuf == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (c->size == 0 || c->size > MAXCHUNK) {
		snprintf(err, errlen, "message size %zu out of range 1..%u", c->size, MAXCHUNK);
		goto out;
	}
	ep = dial_all(c, s, n, EPOLLIN, 1, err, errlen);
	if (ep < 0)
		goto out;
	struct meter m;
	meter_start(&m, c->pid);
	int ended = 0;
	t0 = util_now_ns();
	end = t0 + (uint64_t)(c->seconds * 1e9);
	/* Each connection's messages start at a different place in the pattern. */
	for (int i = 0; i < n; i++) {
		s[i].base = (size_t)i * 4099u % PAYLOAD_PERIOD;
		payload_stream_oracle(&s[i].oracle, pt, s[i].base, 0, 0);
		tsent[i] = util_now_ns();
		rc = write_full(s[i].fd, pt->p + s[i].base, c->size, CONNECT_MS, err, errlen);
		if (rc != LOAD_OK)
			goto out;
		xchg_oracle_sent(&s[i].oracle, c->size);
		waiting++;
	}
	tm = t0;
	deadline = end + 2000000000ull; /* replies owed at the end get 2 s more, not counted */
	while (waiting > 0 && tm < deadline) {
		int k = epoll_wait(ep, evs, 64, 20);
		tm = util_now_ns();
		if (tm >= end && !ended) {
			meter_end(&m, &r->server_cpu_s, &r->client_cpu_s);
			ended = 1;
		}
		for (int j = 0; j < k; j++) {
			int i = (int)evs[j].data.u32;
			rc = stream_read(&s[i], i, pt, rbuf, 0, err, errlen);
			if (rc != LOAD_OK)
				goto out;
			if (s[i].oracle.got != s[i].oracle.sent)
				continue;
			waiting--;
			if (tm >= end)
				continue;
			lat_add(&l, tm - tsent[i]);
			r->ops++;
			r->bytes += c->size;
			tsent[i] = tm;
			rc = write_full(s[i].fd, pt->p + (s[i].base + s[i].oracle.sent) % PAYLOAD_PERIOD,
			                c->size, CONNECT_MS, err, errlen);
			if (rc != LOAD_OK)
				goto out;
			xchg_oracle_sent(&s[i].oracle, c->size);
			waiting++;
		}
	}
	if (waiting > 0) {
		snprintf(err, errlen, "%d replies still owed 2 s after the end (T1/T2)", waiting);
		rc = LOAD_ERR;
		goto out;
	}
	r->seconds = (double)(end - t0) / 1e9;
	if (l.n > 0)
		qsort(l.v, l.n, sizeof *l.v, cmp_u32);
	r->p50_us = lat_pct(&l, 0.50);
	r->p99_us = lat_pct(&l, 0.99);
	r->value = (double)r->ops / r->seconds;
	r->unit = "rt/s";
	rc = LOAD_OK;
out:
	sconn_free(s, n, ep);
	free(tsent);
	free(rbuf);
	free(l.v);
	return rc;
}

/* ---- accept rate and idle connections ---------------------------------------------------------------- */

enum { DL_IDLE = 0, DL_CONNECTING, DL_REPLY, DL_DONE };

struct dl {
	int fd, state;
	uint64_t t;                /* when the attempt started */
	size_t off;                /* the pattern byte its message starts with */
	struct xchg_oracle oracle; /* its message and the reply */
};

struct dialrun {
	const struct load_cfg *c;
	const struct payload *pt;
	struct load_result *r;
	int ep;
	uint64_t started;
	unsigned char rbuf[4096];
	struct dl *x;  /* the connection slots */
	int nslots;    /* ACCEPT: the concurrency; IDLE: the connections to hold */
	int idle;      /* IDLE: fill each slot once, conc at a time; ACCEPT: reuse every slot */
	int conc;      /* attempts in flight at most */
	int inflight;  /* IDLE: attempts in flight */
	int nextslot;  /* IDLE: the next slot to fill */
	uint64_t done; /* connections that answered */
};

static int dl_start(struct dialrun *d, struct dl *x, uint32_t idx, char *err, size_t errlen)
{
	const struct net_addr *a = &d->c->addr;

	x->fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (x->fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return LOAD_ERR;
	}
	if (connect(x->fd, (const struct sockaddr *)&a->ss, a->len) < 0 && errno != EINPROGRESS) {
		snprintf(err, errlen, "connect: %s", strerror(errno));
		close(x->fd);
		x->fd = -1;
		return LOAD_ERR;
	}
	struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = idx};
	if (epoll_ctl(d->ep, EPOLL_CTL_ADD, x->fd, &ev) < 0) {
		snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
		close(x->fd);
		x->fd = -1;
		return LOAD_ERR;
	}
	x->state = DL_CONNECTING;
	x->off = (size_t)(d->started++ * 31u % PAYLOAD_PERIOD);
	payload_stream_oracle(&x->oracle, d->pt, x->off, d->c->size, 0);
	x->t = util_now_ns();
	return LOAD_OK;
}

static void dl_drop(struct dl *x)
{
	if (x->fd >= 0)
		close(x->fd);
	x->fd = -1;
	x->state = DL_IDLE;
}

/* Advances one dialling connection on an event. Returns LOAD_OK (progress or a failed attempt,
 * counted in *failed), or LOAD_WRONG on a wrong reply. */
static int dl_event(struct dialrun *d, struct dl *x, uint32_t idx, uint64_t *failed, char *err, size_t errlen)
{
	size_t size = d->c->size;

	if (x->state == DL_CONNECTING) {
		int soerr = 0;
		socklen_t sl = sizeof soerr;
		if (getsockopt(x->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0) {
			(*failed)++;
			dl_drop(x);
			return LOAD_OK;
		}
		ssize_t m = write(x->fd, d->pt->p + x->off, size);
		if (m != (ssize_t)size) {
			(*failed)++;
			dl_drop(x);
			return LOAD_OK;
		}
		xchg_oracle_sent(&x->oracle, size);
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = idx};
		epoll_ctl(d->ep, EPOLL_CTL_MOD, x->fd, &ev);
		x->state = DL_REPLY;
		return LOAD_OK;
	}
	if (x->state != DL_REPLY)
		return LOAD_OK;
	ssize_t m = read(x->fd, d->rbuf, sizeof d->rbuf);
	if (m < 0 && (errno == EAGAIN || errno == EINTR))
		return LOAD_OK;
	if (m < 0) {
		(*failed)++;
		dl_drop(x);
		return LOAD_OK;
	}
	/* the server's FIN before the whole reply, a wrong byte, a byte too many */
	enum xchg_verdict v =
	    m == 0 ? xchg_oracle_fin(&x->oracle) : xchg_oracle_recv(&x->oracle, d->rbuf, (size_t)m);
	if (xchg_failed(v))
		return payload_stream_wrong(&x->oracle, d->pt, x->off, (int)idx, err, errlen);
	if (v == XCHG_COMPLETE) {
		epoll_ctl(d->ep, EPOLL_CTL_DEL, x->fd, NULL);
		x->state = DL_DONE;
	}
	return LOAD_OK;
}

/* Keeps conc attempts in flight: ACCEPT starts again every slot that is done or failed (counting the
 * done ones), IDLE fills the next slots. Returns LOAD_OK, or LOAD_ERR with a reason in err. */
static int dial_refill(struct dialrun *d, char *err, size_t errlen)
{
	int rc;

	if (d->idle) {
		while (d->inflight < d->conc && d->nextslot < d->nslots) {
			rc = dl_start(d, &d->x[d->nextslot], (uint32_t)d->nextslot, err, errlen);
			if (rc != LOAD_OK)
				return rc;
			d->nextslot++;
			d->inflight++;
		}
		return LOAD_OK;
	}
	for (int i = 0; i < d->nslots; i++) {
		struct dl *x = &d->x[i];
		if (x->state == DL_DONE) {
			d->done++;
			dl_drop(x);
		}
		if (x->state == DL_IDLE && (rc = dl_start(d, x, (uint32_t)i, err, errlen)) != LOAD_OK)
			return rc;
	}
	return LOAD_OK;
}

/* Advances the connections of k events; IDLE counts those done and tries a failed slot again.
 * Returns LOAD_OK, or LOAD_ERR / LOAD_WRONG with a reason in err. */
static int dial_events(struct dialrun *d, const struct epoll_event *evs, int k, char *err, size_t errlen)
{
	for (int j = 0; j < k; j++) {
		uint32_t i = evs[j].data.u32;
		struct dl *x = &d->x[i];
		int rc = dl_event(d, x, i, &d->r->failed, err, errlen);
		if (rc != LOAD_OK)
			return rc;
		if (d->idle && x->state == DL_DONE) {
			d->done++;
			d->inflight--;
		} else if (d->idle && x->state == DL_IDLE) {
			rc = dl_start(d, x, i, err, errlen); /* failed: try that slot again */
			if (rc != LOAD_OK)
				return rc;
		}
	}
	return LOAD_OK;
}

/* Counts failed, and drops, every attempt stuck for CONNECT_MS at time tm (a SYN dropped by a full
 * backlog, no reply); IDLE tries the slot again. Returns LOAD_OK, or LOAD_ERR with a reason in err. */
static int dial_expire(struct dialrun *d, uint64_t tm, char *err, size_t errlen)
{
	for (int i = 0; i < d->nslots; i++) {
		struct dl *x = &d->x[i];
		if ((x->state != DL_CONNECTING && x->state != DL_REPLY) ||
		    tm - x->t <= CONNECT_MS * 1000000ull)
			continue;
		d->r->failed++;
		dl_drop(x);
		if (d->idle) {
			int rc = dl_start(d, x, (uint32_t)i, err, errlen);
			if (rc != LOAD_OK)
				return rc;
		}
	}
	return LOAD_OK;
}

/* The figure once the dialling is over: connections per second (ACCEPT), or the server's VmRSS growth
 * per connection held (IDLE). Returns LOAD_OK, or LOAD_ERR with a reason in err. */
static int dial_result(struct dialrun *d, char *err, size_t errlen)
{
	const struct load_cfg *c = d->c;
	struct load_result *r = d->r;

	r->ops = d->done;
	if (!d->idle) {
		r->value = (double)d->done / r->seconds;
		r->unit = "conn/s";
		if (d->done == 0) {
			snprintf(err, errlen, "accept: no connection completed (%llu attempts failed)",
			         (unsigned long long)r->failed);
			return LOAD_ERR;
		}
		return LOAD_OK;
	}
	/* A server that cannot take them all in time (a short listen backlog, a thread per connection) is
	 * measured with those it holds: r->ops < cfg->conns says so. */
	if (d->done == 0) {
		snprintf(err, errlen, "idle: no connection answered within %llu s (%llu attempts failed)",
		         IDLE_NS / 1000000000ull, (unsigned long long)r->failed);
		return LOAD_ERR;
	}
	util_sleep_ms(300); /* let the server settle */
	r->rss_after_kb = util_rss_kib(c->pid);
	if (r->rss_after_kb < 0) {
		snprintf(err, errlen, "idle: the server (pid %ld) is gone", (long)c->pid);
		return LOAD_ERR;
	}
	r->value = (double)(r->rss_after_kb - r->rss_before_kb) * 1024.0 / (double)d->done;
	r->unit = "B/conn";
	return LOAD_OK;
}

/* ACCEPT and IDLE: connections dialled, each sends one message and checks its reply. */
static int run_dial(const struct load_cfg *c, const struct payload *pt, struct load_result *r, char *err,
                    size_t errlen)
{
	struct dialrun d = {
	    .c = c, .pt = pt, .r = r, .ep = -1, .idle = c->mode == LOAD_IDLE, .nslots = c->conns};
	struct epoll_event evs[64];
	uint64_t t0, end, tm, lastcheck;
	struct meter m;
	int rc = LOAD_ERR;

	d.conc = d.idle && c->conns > 256 ? 256 : c->conns;
	d.x = calloc((size_t)d.nslots, sizeof *d.x);
	if (d.x == NULL) {
		snprintf(err, errlen, "out of memory");
		return LOAD_ERR;
	}
	for (int i = 0; i < d.nslots; i++)
		d.x[i].fd = -1;
	if (c->size == 0 || c->size > sizeof d.rbuf) {
		snprintf(err, errlen, "message size %zu out of range 1..%zu", c->size, sizeof d.rbuf);
		goto out;
	}
	if (d.idle && (c->pid <= 0 || (r->rss_before_kb = util_rss_kib(c->pid)) < 0)) {
		snprintf(err, errlen, "idle: cannot read VmRSS of the server (pid %ld) in /proc",
		         (long)c->pid);
		goto out;
	}
	d.ep = epoll_create1(EPOLL_CLOEXEC);
	if (d.ep < 0) {
		snprintf(err, errlen, "epoll_create1: %s", strerror(errno));
		goto out;
	}
	meter_start(&m, c->pid);
	t0 = lastcheck = util_now_ns();
	end = t0 + (d.idle ? IDLE_NS : (uint64_t)(c->seconds * 1e9));
	for (;;) {
		tm = util_now_ns();
		if (tm < end && (rc = dial_refill(&d, err, errlen)) != LOAD_OK)
			goto out;
		if ((d.idle && d.done == (uint64_t)d.nslots) || tm >= end)
			break;
		int k = epoll_wait(d.ep, evs, 64, 20);
		if ((rc = dial_events(&d, evs, k, err, errlen)) != LOAD_OK)
			goto out;
		tm = util_now_ns();
		if (tm - lastcheck > 100000000ull) {
			lastcheck = tm;
			if ((rc = dial_expire(&d, tm, err, errlen)) != LOAD_OK)
				goto out;
		}
	}
	meter_end(&m, &r->server_cpu_s, &r->client_cpu_s);
	r->seconds = (double)(tm - t0) / 1e9;
	rc = dial_result(&d, err, errlen);
out:
	for (int i = 0; i < d.nslots; i++)
		if (d.x[i].fd >= 0)
			close(d.x[i].fd);
	if (d.ep >= 0)
		close(d.ep);
	free(d.x);
	return rc;
}

/* ---- entry points ------------------------------------------------------------------------------------ */

static const struct {
	const char *name;
	enum load_mode m;
} mode_names[] = {{"stream", LOAD_STREAM},
                  {"pingpong", LOAD_PINGPONG},
                  {"udp", LOAD_UDP},
                  {"accept", LOAD_ACCEPT},
                  {"idle", LOAD_IDLE}};

enum load_mode load_mode_parse(const char *s)
{
	for (size_t i = 0; i < sizeof mode_names / sizeof mode_names[0]; i++)
		if (strcmp(s, mode_names[i].name) == 0)
			return mode_names[i].m;
	return (enum load_mode)0;
}

const char *load_mode_name(enum load_mode m)
{
	for (size_t i = 0; i < sizeof mode_names / sizeof mode_names[0]; i++)
		if (mode_names[i].m == m)
			return mode_names[i].name;
	return "?";
}

enum load_status load_run(const struct load_cfg *c, struct load_result *r, char *err, size_t errlen)
{
	struct payload pt = {0};
	int rc;

	memset(r, 0, sizeof *r);
	r->rss_before_kb = r->rss_after_kb = -1;
	r->server_cpu_s = r->client_cpu_s = -1;
	if (c->conns < 1 || (c->mode != LOAD_IDLE && !(c->seconds > 0))) {
		snprintf(err, errlen, "need at least 1 connection and a positive duration");
		return LOAD_ERR;
	}
	if (payload_init(&pt, c->expect, c->text) < 0) {
		payload_free(&pt);
		snprintf(err, errlen, "out of memory");
		return LOAD_ERR;
	}
	switch (c->mode) {
	case LOAD_STREAM:
		rc = run_stream(c, &pt, r, err, errlen);
		break;
	case LOAD_PINGPONG:
		rc = run_pingpong(c, &pt, r, err, errlen);
		break;
	case LOAD_UDP:
		rc = udpload_run(c, &pt, r, err, errlen);
		break;
	case LOAD_ACCEPT:
	case LOAD_IDLE:
		rc = run_dial(c, &pt, r, err, errlen);
		break;
	default:
		snprintf(err, errlen, "unknown mode %d", (int)c->mode);
		rc = LOAD_ERR;
	}
	payload_free(&pt);
	return rc;
}
