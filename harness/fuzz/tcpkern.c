/* tcpkern.c - the simulated kernel under tcp-upper's loop (servers/tcp_loop.c): every call the loop
 * makes through its struct tcp_loop_io (sockets, the listener, epoll, the clock, the allocator), answered
 * as the script set the kernel up and checked against SPEC as it is made, and the core's state checked
 * after every event the loop feeds it. */
#include "tcpkern.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drive.h"
#include "oracle.h"
#include "upper.h"

#define POISON 0xEE /* written over a pooled buffer between rounds: a stale pointer shows as wrong bytes */
#define POISON_LEN 512

/* Under ASan a pooled buffer is poisoned between rounds: a connection touching a buffer it gave back is
 * reported at once. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TCPKERN_ASAN 1
#endif
#endif
#if !defined(TCPKERN_ASAN) && defined(__SANITIZE_ADDRESS__)
#define TCPKERN_ASAN 1
#endif
#ifdef TCPKERN_ASAN
void __asan_poison_memory_region(void const volatile *addr, size_t size);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#define POOL_POISON(b, n) __asan_poison_memory_region((b), (n))
#define POOL_UNPOISON(b, n) __asan_unpoison_memory_region((b), (n))
#else
#define POOL_POISON(b, n) ((void)(b), (void)(n))
#define POOL_UNPOISON(b, n) ((void)(b), (void)(n))
#endif

int tcpkern_fail(struct tcpkern *m, int rc, const char *fmt, ...)
{
	va_list ap;

	if (m->rc != 0)
		return m->rc;
	m->rc = rc;
	if (m->why != NULL && m->whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(m->why, m->whylen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

void tcpkern_changed(struct tcpkern *m)
{
	m->changes++;
}

unsigned tcpkern_slot(const struct tcpkern *m, const struct tcpkern_sock *s)
{
	return (unsigned)(s - m->s);
}

void tcpkern_wire(struct tcpkern *m, struct tcpkern_sock *s, enum tcpsim_wire what, const unsigned char *p,
                  size_t n)
{
	if (m->h != NULL && m->h->wire != NULL)
		m->h->wire(m->h->ctx, tcpkern_slot(m, s), s->gen, what, p, n);
}

/* The open connection on descriptor fd, or NULL (after a failure naming what the loop did) when fd is
 * not one. */
static struct tcpkern_sock *by_fd(struct tcpkern *m, int fd, const char *what)
{
	if (fd >= TCPKERN_FD_FIRST && fd < TCPKERN_FD_FIRST + (int)SCRIPT_MAX_CONNS &&
	    m->fdslot[fd - TCPKERN_FD_FIRST] >= 0)
		return &m->s[m->fdslot[fd - TCPKERN_FD_FIRST]];
	tcpkern_fail(m, 1, "T6: the loop calls %s on descriptor %d, which is no open connection", what, fd);
	return NULL;
}

/* ---- memory ---- */

static const struct tcpkern_alloc *find_alloc(const struct tcpkern *m, const void *p)
{
	for (unsigned i = 0; i < m->nallocs; i++)
		if (m->allocs[i].p == p)
			return &m->allocs[i];
	return NULL;
}

static void *io_alloc(void *ctx, size_t n)
{
	struct tcpkern *m = ctx;
	void *p;

	if (m->nomem_skip > 0) {
		m->nomem_skip--;
	} else if (m->nomem > 0 || m->nomem_long) {
		m->nomem -= m->nomem > 0;
		if (m->last_accepted >= 0 && !m->s[m->last_accepted].registered)
			m->s[m->last_accepted].causes |=
			    TCPKERN_BY_FAULT; /* accept's allocation: may drop it */
		return NULL;
	}
	if (m->nallocs >= TCPKERN_MAX_ALLOCS) {
		tcpkern_fail(m, 1, "T5: %u allocations live with %u connections: the loop leaks memory",
		             m->nallocs, m->nconn);
		return NULL;
	}
	p = malloc(n);
	if (p == NULL) {
		tcpkern_fail(m, -1, "out of memory for %zu bytes", n);
		return NULL;
	}
	m->allocs[m->nallocs++] = (struct tcpkern_alloc){p, n};
	return p;
}

static void io_release(void *ctx, void *p)
{
	struct tcpkern *m = ctx;

	for (unsigned i = 0; i < m->nallocs; i++) {
		if (m->allocs[i].p == p) {
			POOL_UNPOISON(p, m->allocs[i].n);
			free(p);
			m->allocs[i] = m->allocs[--m->nallocs];
			return;
		}
	}
	tcpkern_fail(m, 1, "T5: the loop frees memory it never allocated (%p)", p);
}

void tcpkern_pool_poison(struct tcpkern *m, int on)
{
	for (size_t i = 0; i < m->loop.npool; i++) {
		unsigned char *b = m->loop.pool[i];
		if (on) {
			memset(b, POISON, m->cap < POISON_LEN ? m->cap : POISON_LEN);
			POOL_POISON(b, m->cap);
		} else {
			POOL_UNPOISON(b, m->cap);
		}
	}
}

/* ---- the core's state after every event ---- */

/* Events the loop never sends must be refused with the state unchanged (upper.h's contract), or a
 * buggy loop could push the core past its bounds. Probed on a copy, so the run is not disturbed. */
static int probe_refusals(struct tcpkern *m, const struct tcpkern_sock *s, unsigned want)
{
	const struct upper_conn *c = s->uc;
	struct {
		enum upper_ev ev;
		size_t n;
		int illegal;
	} probes[] = {
	    {UPPER_EV_READ, c->cap + 1, 1},
	    {UPPER_EV_READ, 0, 1},
	    {UPPER_EV_WROTE, c->len + 1, 1},
	    {UPPER_EV_WROTE, 0, 1},
	    {UPPER_EV_AGAIN, 0, c->len == 0},
	    {UPPER_EV_SHUTDOWN, 0, !(want & UPPER_WANT_SHUTDOWN)},
	    {UPPER_EV_EOF, 0, (c->flags & UPPER_CF_EOF) != 0},
	    {(enum upper_ev)0, 0, 1},
	};

	/* One probe per check, in rotation: every refusal path is tried, at an eighth of the cost. */
	size_t i = m->probes++ % (sizeof probes / sizeof probes[0]);
	struct upper_conn copy = *c;
	if (!probes[i].illegal)
		return 0;
	int r = upper_conn_event(&copy, probes[i].ev, probes[i].n);
	int same = copy.buf == c->buf && copy.cap == c->cap && copy.off == c->off && copy.len == c->len &&
	           copy.flags == c->flags && copy.bytes_in == c->bytes_in && copy.bytes_out == c->bytes_out;
	if (r != -1 || !same)
		return tcpkern_fail(m, 1,
		                    "core: impossible event %d (n=%zu) returned %d%s (slot %u, flags %#x)",
		                    (int)probes[i].ev, probes[i].n, r,
		                    r == -1 ? " but changed the state" : "", tcpkern_slot(m, s), c->flags);
	return 0;
}

/* A live connection's core holds exactly the bytes its socket read and did not yet accept back. */
static int check_counters(struct tcpkern *m, const struct tcpkern_sock *s)
{
	const struct upper_conn *c = s->uc;

	if (!(c->flags & UPPER_CF_DEAD) &&
	    (c->bytes_in != s->nread || c->bytes_out != s->ngot || c->len != s->nread - s->ngot))
		return tcpkern_fail(
		    m, 1,
		    "T1: slot %u owes bytes from offset %zu to %zu but its core holds %zu (core "
		    "counts in %llu, out %llu)",
		    tcpkern_slot(m, s), s->ngot, s->nread, c->len, (unsigned long long)c->bytes_in,
		    (unsigned long long)c->bytes_out);
	return 0;
}

/* The core's answers against its state: the wants an event returned are upper_conn_want()'s, the
 * bytes upper_conn_pending() offers are the ones held (none once dead), and an impossible event is
 * refused. Run after every event of a dead or closing connection, else once per wakeup, on the state
 * the wakeup left (the events in between are checked by check_state). */
static int check_core(struct tcpkern *m, const struct tcpkern_sock *s, int ret)
{
	const struct upper_conn *c = s->uc;
	unsigned slot = tcpkern_slot(m, s);
	unsigned want = upper_conn_want(c);
	const unsigned char *p;
	size_t pend = upper_conn_pending(c, &p);

	if (ret != (int)want)
		return tcpkern_fail(m, 1, "core: event returned %d but upper_conn_want says %u (slot %u)",
		                    ret, want, slot);
	if (c->flags & UPPER_CF_DEAD) {
		if (want != UPPER_WANT_CLOSE || pend != 0)
			return tcpkern_fail(
			    m, 1,
			    "T6: after a reset the core still wants %#x with %zu bytes pending (slot %u)",
			    want, pend, slot);
		return 0;
	}
	if (pend != c->len && !(want & UPPER_WANT_CLOSE))
		return tcpkern_fail(m, 1, "T1: upper_conn_pending gives %zu bytes, %zu are held (slot %u)",
		                    pend, c->len, slot);
	return probe_refusals(m, s, want);
}

/* SPEC T8 bounds and the core's counters against what the sockets moved, after every event. */
static int check_state(struct tcpkern *m, struct tcpkern_sock *s, int ret)
{
	const struct upper_conn *c = s->uc;
	unsigned slot = tcpkern_slot(m, s);
	const struct tcpkern_alloc *a = c->buf != NULL ? find_alloc(m, c->buf) : NULL;

	if (c->cap != m->cap || c->len > c->cap || (c->buf != NULL && c->off + c->len > c->cap))
		return tcpkern_fail(
		    m, 1, "T8: buffer past its bound: off %zu + len %zu, cap %zu (given %zu), slot %u",
		    c->off, c->len, c->cap, m->cap, slot);
	if (c->buf != NULL && (a == NULL || a->n != m->cap))
		return tcpkern_fail(
		    m, 1, "T8: the connection points at a buffer the loop never lent (slot %u)", slot);
	if (c->buf == NULL && c->len > 0)
		return tcpkern_fail(m, 1, "T1: %zu bytes pending without a buffer (slot %u, offset %zu)",
		                    c->len, slot, s->ngot);
	if (check_counters(m, s) != 0)
		return m->rc;
	if ((c->flags & UPPER_CF_DEAD) || ((unsigned)ret & UPPER_WANT_CLOSE))
		return check_core(m, s, ret); /* the wakeup ends with a close: check now */
	return 0;
}

/* After every event drive_wakeup() feeds: a refusal is a core bug (tcp-upper aborts on it), the state
 * must hold every invariant, and endless events in one round mean a core that never lets go. */
static int io_fed(void *ctx, int fd, const struct upper_conn *c, enum upper_ev ev, size_t n, int r)
{
	struct tcpkern *m = ctx;
	struct tcpkern_sock *s = by_fd(m, fd, "drive_wakeup");

	if (s == NULL || m->rc != 0)
		return 1;
	s->uc = c;
	if (r < 0)
		return tcpkern_fail(
		    m, 1, "core refused event %d (n=%zu) that its wants allowed (slot %u, flags %#x)",
		    (int)ev, n, tcpkern_slot(m, s), c->flags);
	if (++s->steps >= TCPKERN_MAX_STEPS(m))
		return tcpkern_fail(m, 1, "T7: the connection on slot %u never waits: %zu steps in one round",
		                    tcpkern_slot(m, s), s->steps);
	s->last_ret = r;
	return check_state(m, s, r);
}

int tcpkern_check_round(struct tcpkern *m)
{
	for (unsigned i = 0; i < SCRIPT_MAX_CONNS && m->rc == 0; i++) {
		const struct tcpkern_sock *s = &m->s[i];
		if (s->steps > 0 && s->state == TCPKERN_SOCK_OPEN && s->uc != NULL &&
		    check_counters(m, s) == 0)
			check_core(m, s, s->last_ret);
	}
	return m->rc;
}

/* ---- the sockets ---- */

/* The socket's send(): a failure, a would-block, or k bytes accepted, checked against what THIS
 * client sent with the plain rule (oracle.h). */
static ssize_t io_send(void *ctx, int fd, const unsigned char *p, size_t n)
{
	struct tcpkern *m = ctx;
	struct tcpkern_sock *s = by_fd(m, fd, "send");
	size_t k;

	if (s == NULL || m->rc != 0)
		return DRIVE_IO_ERR;
	unsigned slot = tcpkern_slot(m, s);
	if (s->sfin) {
		tcpkern_fail(m, 1, "T4: the server writes after its FIN (slot %u, offset %zu)", slot,
		             s->ngot);
		return DRIVE_IO_ERR;
	}
	if (n == 0 || p == NULL) {
		tcpkern_fail(m, 1, "T1: the server sends %zu bytes from %p (slot %u)", n, (const void *)p,
		             slot);
		return DRIVE_IO_ERR;
	}
	if (s->intr_send) {
		s->intr_send = 0;
		tcpkern_changed(m);
		return DRIVE_IO_INTR;
	}
	if (s->crst || s->werr != TCPKERN_WERR_NONE) {
		if (s->werr != TCPKERN_WERR_NONE)
			s->causes |= TCPKERN_BY_ERROR; /* the injected error is consumed: a cause */
		s->werr = TCPKERN_WERR_NONE;
		tcpkern_changed(m);
		return DRIVE_IO_ERR;
	}
	if (s->again) {
		s->again = 0;
		tcpkern_changed(m);
		return DRIVE_IO_AGAIN;
	}
	k = n;
	if (s->shortk != 0 && k > s->shortk)
		k = s->shortk;
	if (s->stopped && k > s->window)
		k = s->window;
	if (k == 0)
		return DRIVE_IO_AGAIN;
	if (s->ngot + k > s->nread) {
		tcpkern_fail(m, 1, "T1: the server sends slot %u bytes up to offset %zu but read only %zu",
		             slot, s->ngot + k, s->nread);
		return DRIVE_IO_ERR;
	}
	size_t at = oracle_mismatch(s->sent + s->ngot, k, p, k);
	if (at != k) {
		tcpkern_fail(m, 1, "T1: slot %u receives byte 0x%02x at offset %zu, expected 0x%02x", slot,
		             p[at], s->ngot + at, oracle_x1(s->sent[s->ngot + at]));
		return DRIVE_IO_ERR;
	}
	tcpkern_wire(m, s, TCPSIM_S_DATA, p, k);
	tcpkern_changed(m);
	s->ngot += k;
	m->st.bytes_out += k;
	if (s->stopped)
		s->window -= k;
	return (ssize_t)k;
}

/* The socket's recv(): queued bytes, then FIN once, else EAGAIN. */
static ssize_t io_recv(void *ctx, int fd, unsigned char *p, size_t n)
{
	struct tcpkern *m = ctx;
	struct tcpkern_sock *s = by_fd(m, fd, "recv");
	size_t k;

	if (s == NULL || m->rc != 0)
		return DRIVE_IO_ERR;
	if (n == 0 || p == NULL) {
		tcpkern_fail(m, 1, "T8: the server reads %zu bytes into %p (slot %u)", n, (void *)p,
		             tcpkern_slot(m, s));
		return DRIVE_IO_ERR;
	}
	if (s->intr_recv) {
		s->intr_recv = 0;
		tcpkern_changed(m);
		return DRIVE_IO_INTR;
	}
	if (s->crst)
		return DRIVE_IO_ERR;
	if (s->nsent > s->nread) {
		k = s->nsent - s->nread;
		if (k > n)
			k = n;
		if (s->rlimit != 0 && k > s->rlimit)
			k = s->rlimit;
		memcpy(p, s->sent + s->nread, k);
		tcpkern_changed(m);
		s->nread += k;
		m->st.bytes_in += k;
		return (ssize_t)k;
	}
	if (s->cfin && !s->eof_read) {
		s->eof_read = 1;
		tcpkern_changed(m);
		return 0;
	}
	return DRIVE_IO_AGAIN;
}

/* shutdown(SHUT_WR): allowed once, and only when every byte the client sent has been returned. */
static void io_shutdown(void *ctx, int fd)
{
	struct tcpkern *m = ctx;
	struct tcpkern_sock *s = by_fd(m, fd, "shutdown");

	if (s == NULL || m->rc != 0)
		return;
	if (!s->cfin || !s->eof_read || s->nread != s->nsent || s->ngot != s->nread) {
		tcpkern_fail(
		    m, 1,
		    "T4: FIN before every owed byte: slot %u's client sent %zu%s, the server read %zu and "
		    "replied up to offset %zu",
		    tcpkern_slot(m, s), s->nsent, s->cfin ? " and FIN" : "", s->nread, s->ngot);
		return;
	}
	if (s->sfin) {
		tcpkern_fail(m, 1, "T4: the server sends a second FIN (slot %u)", tcpkern_slot(m, s));
		return;
	}
	s->sfin = 1;
	tcpkern_changed(m);
	tcpkern_wire(m, s, TCPSIM_S_FIN, NULL, 0);
}

/* close(): after FIN both ways (io_shutdown allowed the server's only once every owed byte was
 * returned), or with a cause the script made (s->causes); it frees the descriptor, which ends a
 * descriptor exhaustion. A core marked dead is no cause: the loop could have killed it on its own, and
 * the client would lose what it is owed (T1) to another connection's trouble (T6). */
static void io_close(void *ctx, int fd)
{
	struct tcpkern *m = ctx;
	struct tcpkern_sock *s = by_fd(m, fd, "close");

	if (s == NULL || m->rc != 0)
		return;
	int dead = s->uc != NULL && (s->uc->flags & UPPER_CF_DEAD);
	if (s->sfin && !dead) {
		m->st.fins++;
	} else if (s->causes != 0) {
		m->st.resets++;
	} else {
		size_t owed = s->nsent - s->ngot;
		tcpkern_fail(
		    m, 1,
		    "%s: the server %s connection %u on slot %u owing %zu bytes (the client sent "
		    "%zu%s, the server read %zu and returned %zu) with no cause: no client reset, no "
		    "injected error or fault reached it, no FIN both ways",
		    owed > 0 ? "T1/T6" : "T4/T6", dead ? "resets" : "closes", s->gen, tcpkern_slot(m, s),
		    owed, s->nsent, s->cfin ? " and FIN" : "", s->nread, s->ngot);
		return;
	}
	tcpkern_wire(m, s, TCPSIM_S_CLOSE, NULL, 0);
	tcpkern_changed(m);
	m->fdslot[fd - TCPKERN_FD_FIRST] = -1;
	s->state = TCPKERN_SOCK_NONE;
	s->uc = NULL;
	if (m->last_accepted == (int)tcpkern_slot(m, s))
		m->last_accepted = -1;
	m->closes++;
	m->nofile = 0;
}

static void io_tune(void *ctx, int fd)
{
	(void)by_fd(ctx, fd, "setsockopt");
}

/* ---- the listener ---- */

static int io_accept(void *ctx, int listener)
{
	struct tcpkern *m = ctx;
	int e;

	if (listener != TCPKERN_FD_LISTEN) {
		tcpkern_fail(m, 1, "T9: the loop accepts on descriptor %d, not its listener", listener);
		return -EBADF;
	}
	if (m->nofile != 0) {
		if (m->refused && m->closes == m->closes_at_refusal &&
		    m->now - m->refused_at < TCP_LOOP_PAUSE_MS * TCPKERN_MS)
			tcpkern_fail(m, 1,
			             "T9: the loop retries accept at the descriptor limit without a pause");
		m->refused = 1;
		m->refused_at = m->now;
		m->closes_at_refusal = m->closes;
		return -m->nofile;
	}
	if (m->accept_err != 0) {
		e = m->accept_err;
		m->accept_err = 0;
		tcpkern_changed(m);
		return -e;
	}
	if (m->nqueue == 0)
		return -EAGAIN;
	unsigned slot = m->queue[0];
	memmove(m->queue, m->queue + 1, --m->nqueue * sizeof m->queue[0]);
	unsigned i = 0;
	while (m->fdslot[i] >= 0)
		i++; /* a free one exists: one descriptor per slot */
	m->fdslot[i] = (int)slot;
	struct tcpkern_sock *s = &m->s[slot];
	s->state = TCPKERN_SOCK_OPEN;
	s->fd = TCPKERN_FD_FIRST + (int)i;
	s->registered = 0;
	m->last_accepted = (int)slot;
	m->st.conns++;
	tcpkern_changed(m);
	return s->fd;
}

static unsigned long long io_fd_limit(void *ctx)
{
	const struct tcpkern *m = ctx;

	return (m->nofile_how & 2u) ? 0 : (unsigned long long)(TCPKERN_FD_FIRST + SCRIPT_MAX_CONNS);
}

static int io_fd_count(void *ctx)
{
	const struct tcpkern *m = ctx;
	int n = TCPKERN_FD_FIRST;

	if (m->nofile == EMFILE || (m->nofile_how & 4u))
		return -1; /* every descriptor is taken: not even /proc/self/fd opens */
	for (unsigned i = 0; i < SCRIPT_MAX_CONNS; i++)
		n += m->fdslot[i] >= 0;
	return n;
}

/* A limit line at most once per TCP_LOOP_LIMIT_LOG_MS: a refused accept must not flood the log. A line
 * is formatted only when the script says the operator reads it, which keeps snprintf and strerror out
 * of most runs. */
static int io_line_due(void *ctx, enum tcp_loop_line what)
{
	struct tcpkern *m = ctx;

	if (what == TCP_LOOP_LINE_LIMIT) {
		if (m->logged_at != 0 && m->now - m->logged_at < (uint64_t)TCP_LOOP_LIMIT_LOG_MS * TCPKERN_MS)
			tcpkern_fail(m, 1, "T9: two descriptor-limit lines %llu ms apart",
			             (unsigned long long)((m->now - m->logged_at) / TCPKERN_MS));
		m->logged_at = m->now;
	}
	m->line = what;
	if (m->lines_read == 0)
		return 0;
	m->lines_read--;
	return 1;
}

/* The line written is the one announced. */
static void io_log(void *ctx, const char *line)
{
	struct tcpkern *m = ctx;
	const char *want = m->line == TCP_LOOP_LINE_LIMIT     ? "tcp-upper: accept: "
	                   : m->line == TCP_LOOP_LINE_RESUMED ? "tcp-upper: accepting again ("
	                                                      : NULL;

	if (want == NULL || strncmp(line, want, strlen(want)) != 0)
		tcpkern_fail(m, 1, "T9: the loop writes a line other than the one it announced (%d): %s",
		             (int)m->line, line);
	m->line = 0;
}

static void io_trim(void *ctx)
{
	const struct tcpkern *m = ctx;

	if (m->loop.npool > TCP_LOOP_POOL_IDLE)
		tcpkern_fail((struct tcpkern *)ctx, 1, "T5: the quiet-period give-back keeps %zu buffers",
		             m->loop.npool);
}

static uint64_t io_now(void *ctx)
{
	return ((const struct tcpkern *)ctx)->now;
}

/* ---- epoll ---- */

static int io_ctl(void *ctx, int op, int fd, struct epoll_event *ev)
{
	struct tcpkern *m = ctx;

	if (fd == TCPKERN_FD_LISTEN || fd == TCPKERN_FD_STOP) {
		int *registered = fd == TCPKERN_FD_LISTEN ? &m->listen_registered : &m->stop_registered;
		if ((op == EPOLL_CTL_ADD) == (*registered != 0) || op == EPOLL_CTL_DEL)
			return -(op == EPOLL_CTL_ADD ? EEXIST : ENOENT);
		if (fd == TCPKERN_FD_LISTEN && m->listen_ctl_fail > 0) {
			m->listen_ctl_fail--;
			m->closes_at_listen_fail = m->closes;
			tcpkern_changed(m);
			return -ENOMEM;
		}
		*(fd == TCPKERN_FD_LISTEN ? &m->listen_reg : &m->stop_reg) = *ev;
		*registered = 1;
		tcpkern_changed(m);
		if (fd == TCPKERN_FD_LISTEN && !(ev->events & EPOLLIN))
			m->closes_at_pause = m->closes;
		return 0;
	}
	struct tcpkern_sock *s = by_fd(m, fd, "epoll_ctl");
	if (s == NULL)
		return -EBADF;
	if ((op == EPOLL_CTL_ADD) == (s->registered != 0)) {
		tcpkern_fail(m, 1, "T6: epoll_ctl %d on slot %u's connection, registered %d", op,
		             tcpkern_slot(m, s), s->registered);
		return -EINVAL;
	}
	if (op != EPOLL_CTL_DEL && (ev->events & ~(uint32_t)(EPOLLIN | EPOLLOUT))) {
		tcpkern_fail(m, 1, "T6: the loop waits for events %#x on slot %u", ev->events,
		             tcpkern_slot(m, s));
		return -EINVAL;
	}
	tcpkern_changed(m);
	if (s->ctl_fail) {
		s->ctl_fail = 0;
		s->causes |= TCPKERN_BY_FAULT;
		return -ENOMEM;
	}
	if (op == EPOLL_CTL_DEL) {
		s->registered = 0;
		return 0;
	}
	s->reg = *ev;
	s->registered = 1;
	if (m->last_accepted == (int)tcpkern_slot(m, s))
		m->last_accepted = -1;
	return 0;
}

/* What epoll would report for slot s now (level-triggered; errors whatever the interest). */
static uint32_t sock_events(const struct tcpkern_sock *s)
{
	uint32_t in, out, err;

	if (s->state != TCPKERN_SOCK_OPEN || !s->registered)
		return 0;
	err = s->crst ? (uint32_t)(EPOLLERR | EPOLLHUP) : 0u;
	in = ((s->reg.events & EPOLLIN) && (s->nsent > s->nread || (s->cfin && !s->eof_read) || s->crst))
	         ? (uint32_t)EPOLLIN
	         : 0u;
	out = ((s->reg.events & EPOLLOUT) &&
	       (s->crst || s->werr != TCPKERN_WERR_NONE || !s->stopped || s->window > 0))
	          ? (uint32_t)EPOLLOUT
	          : 0u;
	return in | out | err;
}

static int listener_ready(const struct tcpkern *m)
{
	return m->listen_registered && (m->listen_reg.events & EPOLLIN) &&
	       (m->nqueue > 0 || m->accept_err != 0);
}

/* Rebuilds the list of what is ready, unless nothing changed since it was built; returns its
 * length. */
static int ready_events(struct tcpkern *m)
{
	int n = 0;

	if (m->ready_at == m->changes)
		return m->nready;
	if (listener_ready(m))
		m->ready[n++] = (struct epoll_event){.events = EPOLLIN, .data = m->listen_reg.data};
	if (m->stop_registered && m->stop_ready)
		m->ready[n++] = (struct epoll_event){.events = EPOLLIN, .data = m->stop_reg.data};
	for (unsigned i = 0; i < SCRIPT_MAX_CONNS; i++) {
		if (m->fdslot[i] < 0)
			continue;
		const struct tcpkern_sock *s = &m->s[m->fdslot[i]];
		uint32_t e = sock_events(s);
		if (e != 0)
			m->ready[n++] = (struct epoll_event){.events = e, .data = s->reg.data};
	}
	m->nready = n;
	m->ready_at = m->changes;
	return n;
}

int tcpkern_ready(struct tcpkern *m)
{
	return m->intr_wait || ready_events(m) > 0;
}

/* epoll_wait(): what is ready; with nothing ready, a SLEEP lets the timeout pass, and a wait without
 * a timeout means the loop rests. */
static int io_wait(void *ctx, struct epoll_event *evs, int max, int timeout_ms)
{
	struct tcpkern *m = ctx;
	int n;

	if (m->intr_wait) {
		m->intr_wait = 0;
		return -EINTR;
	}
	n = ready_events(m);
	if (n > max)
		n = max;
	if (n > 0) {
		memcpy(evs, m->ready, (size_t)n * sizeof evs[0]);
		m->empty = 0;
		m->woken = n;
		return n;
	}
	if (timeout_ms < 0 && m->listen_registered && !(m->listen_reg.events & EPOLLIN))
		tcpkern_fail(m, 1, "T9: the loop waits without a timeout while accepting is paused");
	if (timeout_ms < 0) {
		m->blocked = 1;
		return 0;
	}
	if (m->may_sleep && timeout_ms > 0) {
		m->now += (uint64_t)timeout_ms * TCPKERN_MS;
		m->empty = 0;
		return 0;
	}
	if (++m->empty > TCPKERN_MAX_EMPTY)
		tcpkern_fail(m, 1,
		             "T7: the loop spins: %u rounds in a row with nothing to do (timeout %d ms)",
		             m->empty, timeout_ms);
	return 0;
}

const struct tcp_loop_io tcpkern_io = {
    .accept = io_accept,
    .wait = io_wait,
    .ctl = io_ctl,
    .send = io_send,
    .recv = io_recv,
    .shutdown_wr = io_shutdown,
    .close = io_close,
    .tune = io_tune,
    .now_ns = io_now,
    .fd_limit = io_fd_limit,
    .fd_count = io_fd_count,
    .log = io_log,
    .line_due = io_line_due,
    .trim = io_trim,
    .alloc = io_alloc,
    .release = io_release,
    .fed = io_fed,
};

void tcpkern_free_all(struct tcpkern *m)
{
	for (unsigned i = 0; i < m->nallocs; i++) {
		POOL_UNPOISON(m->allocs[i].p, m->allocs[i].n);
		free(m->allocs[i].p);
	}
	m->nallocs = 0;
}
