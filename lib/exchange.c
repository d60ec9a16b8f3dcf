/* exchange.c - the client side of a TCP exchange: the poll() driver that runs connections and feeds
 * each one's stream oracle (exchange.h, exchange_oracle.h). */
#include "exchange.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"
#include "util.h"

#define XCHG_READ_MAX 65536
#define XCHG_HOLD_MS 250 /* a holding client that cannot send for this long reads on (see hold) */

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

void xchg_conn_init(struct xchg_conn *c, int fd, unsigned id, const struct xchg_expect *e)
{
	memset(c, 0, sizeof *c);
	c->fd = fd;
	c->id = id;
	c->source_fd = -1;
	c->send_limit = e->endless ? SIZE_MAX : e->sent_len;
	xchg_oracle_init(&c->oracle, e);
}

void xchg_conn_half_close(struct xchg_conn *c)
{
	c->oracle.expect.half_close = 1;
}

static int report(struct xchg_conn *c, enum xchg_event ev, const unsigned char *p, size_t n)
{
	if (c->hook == NULL)
		return 0;
	return c->hook(c->hook_arg, c, ev, p, n) < 0 ? -1 : 0;
}

void xchg_conn_close(struct xchg_conn *c)
{
	if (c->fd < 0)
		return;
	report(c, XCHG_EV_CLOSE, NULL, 0);
	close(c->fd);
	c->fd = -1;
}

void xchg_conn_reset(struct xchg_conn *c, size_t owed_min)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	if (c->fd < 0)
		return;
	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	report(c, XCHG_EV_RESET, NULL, 0);
	close(c->fd);
	c->fd = -1;
	xchg_oracle_client_reset(&c->oracle, owed_min);
}

static int conn_failed(const struct xchg_conn *c)
{
	return xchg_failed(c->oracle.verdict);
}

static int has_source(const struct xchg_conn *c)
{
	return c->source_fd >= 0;
}

/* Everything the client means to send in this run has gone out. */
static int sent_all(const struct xchg_conn *c)
{
	if (has_source(c))
		return c->source_eof && c->source_off == c->source_len;
	return c->oracle.sent >= c->send_limit;
}

/* The half-close is asked for and due: everything is sent, to the end of the stream. */
static int shut_due(const struct xchg_conn *c)
{
	const struct xchg_oracle *o = &c->oracle;

	if (!o->expect.half_close || o->rst || !sent_all(c))
		return 0;
	return has_source(c) || o->expect.endless || o->sent >= o->expect.sent_len;
}

static int conn_at_goal(const struct xchg_conn *c)
{
	const struct xchg_oracle *o = &c->oracle;

	if (c->fd < 0 || conn_failed(c) || o->rst)
		return 1;
	switch (c->until) {
	case XCHG_UNTIL_SENT:
		return sent_all(c) && (c->shut_done || !shut_due(c));
	case XCHG_UNTIL_GOT:
		return o->got >= c->until_got || o->fin;
	default:
		if (o->expect.client_resets)
			return (c->stall_ms > 0 && c->stall_done) || sent_all(c);
		return o->verdict == XCHG_COMPLETE;
	}
}

/* The reply bytes a holding connection may still read. */
static size_t hold_room(const struct xchg_conn *c)
{
	size_t owed = xchg_oracle_owed(&c->oracle);

	return c->oracle.got < owed ? owed - c->oracle.got : 0;
}

static int wants_recv(const struct xchg_conn *c)
{
	return !c->oracle.fin && !c->oracle.rst && !(c->hold && hold_room(c) == 0);
}

static int wants_send(const struct xchg_conn *c)
{
	const struct xchg_oracle *o = &c->oracle;

	if (o->rst || c->shut_done || (c->lockstep && o->got < o->sent))
		return 0;
	if (has_source(c))
		return c->source_off < c->source_len;
	return o->sent < c->send_limit;
}

/* The next bytes to send, *n of them (at most wchunk). */
static const unsigned char *next_bytes(const struct xchg_conn *c, size_t *n)
{
	const struct xchg_expect *e = &c->oracle.expect;
	size_t at = c->oracle.sent, idx = e->period ? at % e->period : at;
	const unsigned char *p;

	if (has_source(c)) {
		p = c->source_buf + c->source_off;
		*n = c->source_len - c->source_off;
	} else {
		p = e->sent + idx;
		*n = c->send_limit - at;
		if (e->period)
			*n = min_size(*n, e->period - idx);
	}
	if (c->wchunk > 0)
		*n = min_size(*n, c->wchunk);
	return p;
}

/* The server reset the connection: the socket failed with err. Returns what report() returns. */
static int server_reset(struct xchg_conn *c, int err, int on_send)
{
	c->error = err;
	c->reset_on_send = on_send;
	xchg_oracle_rst(&c->oracle);
	return report(c, XCHG_EV_RST, NULL, 0);
}

/* One send(). Returns 1 on progress, 0 when the socket is full, -1 when the hook stops the run. */
static int conn_send(struct xchg_conn *c)
{
	size_t n;
	const unsigned char *p = next_bytes(c, &n);
	ssize_t k = send(c->fd, p, n, MSG_NOSIGNAL);

	if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (k <= 0)
		return server_reset(c, k < 0 ? errno : EPIPE, 1) < 0 ? -1 : 1;
	if (has_source(c))
		c->source_off += (size_t)k;
	xchg_oracle_sent(&c->oracle, (size_t)k);
	return report(c, XCHG_EV_SEND, p, (size_t)k) < 0 ? -1 : 1;
}

/* One recv() into buf. Returns 1 on progress, 0 when nothing was there, -1 when the hook stops the
 * run. */
static int conn_recv(struct xchg_conn *c, unsigned char *buf)
{
	size_t room = c->rchunk > 0 && c->rchunk < XCHG_READ_MAX ? c->rchunk : XCHG_READ_MAX;
	ssize_t k;

	if (c->hold)
		room = min_size(room, hold_room(c));
	if (room == 0)
		return 0;
	k = recv(c->fd, buf, room, 0);
	if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (k < 0)
		return server_reset(c, errno, 0) < 0 ? -1 : 1;
	if (k == 0) {
		xchg_oracle_fin(&c->oracle);
		return report(c, XCHG_EV_FIN, NULL, 0) < 0 ? -1 : 1;
	}
	if (c->store != NULL && c->oracle.got < c->store_cap)
		memcpy(c->store + c->oracle.got, buf, min_size((size_t)k, c->store_cap - c->oracle.got));
	if (report(c, XCHG_EV_RECV, buf, (size_t)k) < 0)
		return -1;
	xchg_oracle_recv(&c->oracle, buf, (size_t)k);
	return 1;
}

int xchg_conn_drain(struct xchg_conn *c)
{
	unsigned char *buf;
	int k = 0;

	if (c->fd < 0 || net_nonblock(c->fd, 1) < 0)
		return 0;
	buf = malloc(XCHG_READ_MAX);
	if (buf == NULL)
		return 0;
	while (wants_recv(c) && !conn_failed(c) && (k = conn_recv(c, buf)) > 0)
		;
	free(buf);
	return k < 0 ? -1 : 0;
}

int xchg_conn_push(struct xchg_conn *c)
{
	int k = 1;

	if (c->fd < 0 || net_nonblock(c->fd, 1) < 0)
		return 0;
	while (wants_send(c) && (k = conn_send(c)) > 0)
		;
	return k < 0 ? -1 : k == 0 ? 1 : 0;
}

/* One read() from the source descriptor. Returns 0, or -1 with errno set on a read error. */
static int source_read(struct xchg_conn *c)
{
	ssize_t k = read(c->source_fd, c->source_buf, c->source_cap);

	if (k > 0) {
		c->source_off = 0;
		c->source_len = (size_t)k;
	} else if (k == 0) {
		c->source_eof = 1;
	} else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
		return -1;
	}
	return 0;
}

/* Half-closes c once it has sent everything when asked. Returns 1 when it did, 0 when not due, -1 when
 * the hook stops the run, -2 when shutdown() failed (errno set). */
static int maybe_shut(struct xchg_conn *c)
{
	if (c->shut_done || !shut_due(c))
		return 0;
	if (shutdown(c->fd, SHUT_WR) < 0)
		return errno == ENOTCONN ? 0 : -2; /* ENOTCONN: the server reset it, which recv() reports */
	c->shut_done = 1;
	xchg_oracle_shut(&c->oracle);
	return report(c, XCHG_EV_SHUT, NULL, 0) < 0 ? -1 : 1;
}

/* A run's working state. */
struct run {
	struct xchg_conn *c;
	size_t n;
	const struct xchg_limits *l;
	struct xchg_run_result *r;
	char *err;
	size_t errlen;
	struct pollfd *pf;
	size_t *map; /* pf[j] belongs to c[map[j]]; a source descriptor's entry follows its socket's */
	unsigned char *buf;
	uint64_t end_ns, idle_ns;
	int holding;  /* a connection holds its reads while it has bytes to send */
	int progress; /* something happened in this pass */
};

static enum xchg_run_status run_error(struct run *u, size_t i, int e, const char *what)
{
	u->r->status = XCHG_RUN_ERROR;
	u->r->conn = i;
	u->r->error = e;
	if (u->err != NULL && u->errlen > 0)
		snprintf(u->err, u->errlen, "%s: %s", what, strerror(e));
	return XCHG_RUN_ERROR;
}

static enum xchg_run_status run_stop(struct run *u, size_t i, enum xchg_run_status st)
{
	u->r->status = st;
	u->r->conn = i;
	return st;
}

/* The stall phase of c[i]: send without reading until the server has taken nothing for stall_ms. */
static enum xchg_run_status stall_phase(struct run *u, size_t i)
{
	struct xchg_conn *c = &u->c[i];
	uint64_t quiet_ns = util_now_ns() + (uint64_t)c->stall_ms * 1000000u;

	while (wants_send(c) && !c->oracle.rst && (u->end_ns == 0 || util_ms_left(u->end_ns) > 0)) {
		struct pollfd p = {.fd = c->fd, .events = POLLOUT};
		int ms = util_ms_left(quiet_ns), pr, w;
		if (ms == 0)
			break;
		if (u->end_ns != 0 && util_ms_left(u->end_ns) < ms)
			ms = util_ms_left(u->end_ns);
		pr = poll(&p, 1, ms);
		if (pr < 0 && errno != EINTR)
			return run_error(u, i, errno, "poll");
		if (pr <= 0)
			continue;
		w = conn_send(c);
		if (w < 0)
			return run_stop(u, i, XCHG_RUN_HOOK);
		if (w > 0)
			quiet_ns = util_now_ns() + (uint64_t)c->stall_ms * 1000000u;
	}
	c->stall_done = 1;
	c->stalled = !sent_all(c);
	c->stalled_at = c->oracle.sent;
	return XCHG_RUN_DONE;
}

/* Half-closes c[i] when due and adds its descriptors to the poll set while it has work. Returns 1
 * when it has, 0 when not, -1 when the run ends (its status set). */
static int plan_conn(struct run *u, size_t i, size_t *np)
{
	struct xchg_conn *c = &u->c[i];
	short ev = 0;
	int s;

	if (conn_failed(c) || conn_at_goal(c))
		return 0;
	s = maybe_shut(c);
	if (s == -2) {
		run_error(u, i, errno, "shutdown");
		return -1;
	}
	if (s == -1) {
		run_stop(u, i, XCHG_RUN_HOOK);
		return -1;
	}
	if (wants_recv(c))
		ev |= POLLIN;
	if (wants_send(c))
		ev |= POLLOUT;
	if (c->hold && hold_room(c) == 0 && (ev & POLLOUT))
		u->holding = 1;
	if (c->fd >= 0 && ev != 0) {
		u->pf[*np] = (struct pollfd){.fd = c->fd, .events = ev};
		u->map[(*np)++] = i;
	}
	if (has_source(c) && !c->source_eof && c->source_off == c->source_len && !c->oracle.rst) {
		u->pf[*np] = (struct pollfd){.fd = c->source_fd, .events = POLLIN};
		u->map[(*np)++] = i;
	}
	if (has_source(c) && !c->source_eof)
		u->idle_ns = 0; /* waiting for input is not the server's doing */
	return 1;
}

/* Handles the events of pf[j]. Returns 0, or -1 with the run's status set. */
/* Sends what the connection may send now, when the socket is writable. Returns 0, or -1 when a hook
 * stopped the run. */
static int handle_send(struct run *u, size_t j, short re)
{
	struct xchg_conn *c = &u->c[u->map[j]];
	int k;

	if ((re & (POLLOUT | POLLERR)) && wants_send(c) && !conn_failed(c)) {
		k = conn_send(c);
		if (k < 0) {
			run_stop(u, u->map[j], XCHG_RUN_HOOK);
			return -1;
		}
		u->progress |= k;
	}
	return 0;
}

static int handle(struct run *u, size_t j)
{
	struct xchg_conn *c = &u->c[u->map[j]];
	short re = u->pf[j].revents;
	int k;

	if (re == 0)
		return 0;
	if (u->pf[j].fd == c->source_fd && has_source(c)) {
		if (source_read(c) < 0) {
			run_error(u, u->map[j], errno, "source");
			return -1;
		}
		return 0;
	}
	if ((re & (POLLERR | POLLHUP)) && !wants_recv(c) && !c->oracle.fin && !c->oracle.rst)
		c->hold = 0; /* the connection broke: what is left to read is all there is */
	if (c->send_first && handle_send(u, j, re) < 0)
		return -1;
	if (re & (POLLIN | POLLERR | POLLHUP)) {
		k = wants_recv(c) ? conn_recv(c, u->buf) : 0;
		if (k < 0) {
			run_stop(u, u->map[j], XCHG_RUN_HOOK);
			return -1;
		}
		u->progress |= k;
	}
	if (!c->send_first && handle_send(u, j, re) < 0)
		return -1;
	return 0;
}

/* After a wait that timed out with a holding connection: the server stopped reading too, so read on. */
static void release_holds(struct run *u)
{
	for (size_t i = 0; i < u->n; i++)
		if (u->c[i].hold && hold_room(&u->c[i]) == 0 && wants_send(&u->c[i]))
			u->c[i].hold = 0;
}

/* Counts the failed connections into the result (conn: the first). Returns 1 when the run is to stop
 * for them (status XCHG_RUN_FAILED set): there is one and keep_going is not asked. */
static int count_failures(struct run *u)
{
	size_t first = SIZE_MAX;

	u->r->failed = 0;
	for (size_t i = 0; i < u->n; i++)
		if (conn_failed(&u->c[i]) && u->r->failed++ == 0)
			first = i;
	if (u->r->failed == 0 || u->l->keep_going)
		return 0;
	u->r->conn = first;
	u->r->status = XCHG_RUN_FAILED;
	return 1;
}

/* Stores the poll timeout of the next wait in *ms (-1: no bound). Returns 0, or -1 when a bound has
 * passed or nothing is left to wait for (a wait could only time out). */
static int next_wait(struct run *u, size_t np, int *ms)
{
	*ms = -1;
	if (np == 0)
		return -1;
	if (u->l->idle_ms > 0 && u->idle_ns != 0) {
		*ms = util_ms_left(u->idle_ns);
		if (*ms == 0)
			return -1;
	}
	if (u->end_ns != 0) {
		int left = util_ms_left(u->end_ns);
		if (left == 0)
			return -1;
		*ms = *ms < 0 || left < *ms ? left : *ms;
	}
	if (u->holding && (*ms < 0 || *ms > XCHG_HOLD_MS))
		*ms = XCHG_HOLD_MS;
	return 0;
}

static void timed_out(struct run *u)
{
	size_t last = 0;

	for (size_t i = 0; i < u->n; i++)
		if (!conn_at_goal(&u->c[i]))
			last = i;
	u->r->conn = last;
	u->r->status = u->end_ns != 0 && util_ms_left(u->end_ns) == 0 ? XCHG_RUN_BUDGET : XCHG_RUN_IDLE;
}

/* The main loop of xchg_run(). */
static void run_loop(struct run *u)
{
	for (;;) {
		size_t np = 0, live = 0;
		int ms, pr;
		u->holding = 0;
		for (size_t i = 0; i < u->n; i++) {
			int p = plan_conn(u, i, &np);
			if (p < 0)
				return;
			live += (size_t)p;
		}
		if (live == 0)
			return;
		if (next_wait(u, np, &ms) < 0) {
			timed_out(u);
			return;
		}
		pr = poll(u->pf, (nfds_t)np, ms);
		if (pr < 0 && errno != EINTR) {
			run_error(u, 0, errno, "poll");
			return;
		}
		if (pr == 0 && u->holding)
			release_holds(u);
		u->progress = 0;
		for (size_t j = 0; pr > 0 && j < np; j++)
			if (handle(u, j) < 0)
				return;
		if (count_failures(u))
			return;
		if (u->progress || u->idle_ns == 0)
			u->idle_ns = util_now_ns() + (uint64_t)u->l->idle_ms * 1000000u;
	}
}

enum xchg_run_status xchg_run(struct xchg_conn *c, size_t n, const struct xchg_limits *l,
                              struct xchg_run_result *r, char *err, size_t errlen)
{
	static const struct xchg_limits none;
	uint64_t t0 = util_now_ns();
	struct run u = {.c = c, .n = n, .l = l != NULL ? l : &none, .r = r, .err = err, .errlen = errlen};

	memset(r, 0, sizeof *r);
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	u.pf = calloc(2 * n + 1, sizeof *u.pf);
	u.map = calloc(2 * n + 1, sizeof *u.map);
	u.buf = malloc(XCHG_READ_MAX);
	if (u.pf == NULL || u.map == NULL || u.buf == NULL) {
		run_error(&u, 0, ENOMEM, "memory");
		goto out;
	}
	if (u.l->budget_ms > 0)
		u.end_ns = t0 + (uint64_t)u.l->budget_ms * 1000000u;
	u.idle_ns = t0 + (uint64_t)u.l->idle_ms * 1000000u;
	for (size_t i = 0; i < n; i++)
		if (c[i].fd >= 0 && net_nonblock(c[i].fd, 1) < 0) {
			run_error(&u, i, errno, "non-blocking socket");
			goto out;
		}
	for (size_t i = 0; i < n; i++)
		if (c[i].stall_ms > 0 && !c[i].stall_done && c[i].fd >= 0 &&
		    stall_phase(&u, i) != XCHG_RUN_DONE)
			goto out;
	if (!count_failures(&u))
		run_loop(&u);
out:
	if (r->status == XCHG_RUN_DONE && !count_failures(&u) && r->failed > 0) {
		r->status = XCHG_RUN_FAILED; /* keep_going: the run went on past its failures */
		for (r->conn = 0; !conn_failed(&c[r->conn]); r->conn++)
			;
	}
	for (size_t i = 0; i < n; i++)
		r->done += conn_at_goal(&c[i]) && !conn_failed(&c[i]);
	if (r->status == XCHG_RUN_DONE)
		r->conn = 0;
	r->elapsed_ms = (int)((util_now_ns() - t0) / 1000000u);
	free(u.pf);
	free(u.map);
	free(u.buf);
	return r->status;
}

char *xchg_run_describe(const struct xchg_conn *c, size_t n, const struct xchg_run_result *r,
                        const struct xchg_limits *l, char *buf, size_t len)
{
	const struct xchg_conn *x = r->conn < n ? &c[r->conn] : NULL;
	char what[256];

	if (len == 0)
		return buf;
	if (x != NULL)
		xchg_oracle_describe(&x->oracle, what, sizeof what);
	switch (r->status) {
	case XCHG_RUN_DONE:
		snprintf(buf, len, "%zu connection%s complete", r->done, r->done == 1 ? "" : "s");
		break;
	case XCHG_RUN_FAILED:
		snprintf(buf, len, "connection %u: %s", x ? x->id : 0, what);
		if (n > 1 && strlen(buf) + 1 < len)
			snprintf(buf + strlen(buf), len - strlen(buf), "; %zu of %zu connections failed",
			         r->failed, n);
		break;
	case XCHG_RUN_IDLE:
	case XCHG_RUN_BUDGET:
		if (r->status == XCHG_RUN_IDLE)
			snprintf(what, sizeof what, "no progress for %d ms", l ? l->idle_ms : 0);
		else
			snprintf(what, sizeof what, "time budget of %d ms exhausted", l ? l->budget_ms : 0);
		snprintf(buf, len,
		         "%s: connection %u got %zu of %zu bytes answered (%zu sent%s)%s; %zu of %zu "
		         "connections complete",
		         what, x ? x->id : 0, x ? x->oracle.got : 0, x ? xchg_oracle_planned(&x->oracle) : 0,
		         x ? x->oracle.sent : 0, x && x->shut_done ? ", half-closed" : "",
		         x && x->shut_done && x->oracle.got >= xchg_oracle_owed(&x->oracle) ? ", no FIN" : "",
		         r->done, n);
		break;
	case XCHG_RUN_HOOK:
		snprintf(buf, len, "connection %u: stopped by its hook after %zu bytes sent, %zu received",
		         x ? x->id : 0, x ? x->oracle.sent : 0, x ? x->oracle.got : 0);
		break;
	default:
		snprintf(buf, len, "local error: %s", strerror(r->error));
		break;
	}
	return buf;
}

/* ---- a set of client connections ---- */

struct xchg_client *xchg_set_at(const struct xchg_set *s, size_t k)
{
	return (struct xchg_client *)((char *)s->first + k * s->stride);
}

size_t xchg_set_holding_up(const struct xchg_set *s, size_t besides)
{
	size_t open = s->count;

	for (size_t k = 0; k < s->count; k++) {
		const struct xchg_client *c = xchg_set_at(s, k);
		const struct xchg_oracle *o = &c->x.oracle;
		if (k == besides || !c->open || c->done || c->x.fd < 0)
			continue;
		if (c->stopped && o->sent > o->got)
			return k;
		if (open == s->count)
			open = k;
	}
	return open;
}

void xchg_client_holding(const struct xchg_client *c, const char *name, char *buf, size_t len)
{
	const struct xchg_oracle *o = &c->x.oracle;

	if (c->stopped && o->sent > o->got)
		snprintf(buf, len, " while %s stopped reading, owed %zu bytes", name, o->sent - o->got);
	else
		snprintf(buf, len, " while %s stayed open", name);
}

size_t xchg_set_waiting(const struct xchg_set *s, int finish, size_t *list)
{
	size_t n = 0;

	for (size_t k = 0; k < s->count; k++) {
		struct xchg_client *c = xchg_set_at(s, k);
		if (!c->open || c->done || c->x.fd < 0 || (c->stopped && !finish) ||
		    (!finish && c->x.oracle.got >= c->x.send_limit))
			continue;
		if (finish) {
			c->stopped = 0;
			xchg_conn_half_close(&c->x);
		}
		c->x.until = finish ? XCHG_UNTIL_END : XCHG_UNTIL_GOT;
		c->x.until_got = c->x.send_limit;
		list[n++] = k;
	}
	return n;
}

enum xchg_run_status xchg_set_run(const struct xchg_set *s, const size_t *list, size_t n,
                                  const struct xchg_limits *l, struct xchg_run_result *r, char *err,
                                  size_t errlen)
{
	struct xchg_conn *x;

	memset(r, 0, sizeof *r);
	if (n == 0)
		return r->status = XCHG_RUN_DONE;
	x = calloc(n, sizeof *x);
	if (x == NULL) {
		if (err != NULL)
			snprintf(err, errlen, "out of memory for %zu connections", n);
		return r->status = XCHG_RUN_ERROR;
	}
	for (size_t k = 0; k < n; k++)
		x[k] = xchg_set_at(s, list[k])->x;
	xchg_run(x, n, l, r, err, errlen);
	for (size_t k = 0; k < n; k++)
		xchg_set_at(s, list[k])->x = x[k];
	if (r->conn < n)
		r->conn = list[r->conn];
	free(x);
	return r->status;
}

void xchg_set_close_finished(const struct xchg_set *s)
{
	for (size_t k = 0; k < s->count; k++) {
		struct xchg_client *c = xchg_set_at(s, k);
		if (c->x.fd >= 0 && c->x.oracle.fin && c->x.oracle.verdict == XCHG_COMPLETE) {
			xchg_conn_close(&c->x);
			c->done = 1;
		}
	}
}
