/* tcpsim.c - a TCP script run against tcp-upper's whole event loop (servers/tcp_loop.c) bound to a
 * simulated kernel: a listener with an accept queue, sockets, a level-triggered epoll, a clock, an
 * allocator, and the faults the script injects. */
#include "tcpsim.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../servers/tcp_loop.h"
#include "drive.h"
#include "oracle.h"
#include "script.h"
#include "upper.h"

/* Bounds on loop steps: each round with a ready socket, and each event of a wakeup, must move a byte
 * or change a state that an input byte set up, so more steps than this mean a loop that never lets go. */
#define MAX_STEPS(m) (1024u + 8u * ((m)->n + (m)->cap))
/* Rounds in a row that did nothing (woken by nothing with no timeout to let pass, or woken by a
 * descriptor they left as it was): more is a loop that spins. */
#define MAX_EMPTY 2
#define IDLE_ROUNDS 4 /* rounds of a SLEEP */
#define END_ROUNDS 16 /* rounds at the end for the loop to come to rest */
#define MAX_ALLOCS 64 /* live allocations: more means a leak */
#define POISON 0xEE   /* written over a pooled buffer between rounds: a stale pointer shows as wrong bytes */
#define POISON_LEN 512
#define MS 1000000u /* nanoseconds */

/* Under ASan a pooled buffer is poisoned between rounds: a connection touching a buffer it gave back is
 * reported at once. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TCPSIM_ASAN 1
#endif
#endif
#if !defined(TCPSIM_ASAN) && defined(__SANITIZE_ADDRESS__)
#define TCPSIM_ASAN 1
#endif
#ifdef TCPSIM_ASAN
void __asan_poison_memory_region(void const volatile *addr, size_t size);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#define POOL_POISON(b, n) __asan_poison_memory_region((b), (n))
#define POOL_UNPOISON(b, n) __asan_unpoison_memory_region((b), (n))
#else
#define POOL_POISON(b, n) ((void)(b), (void)(n))
#define POOL_UNPOISON(b, n) ((void)(b), (void)(n))
#endif

/* The simulated process's descriptors: the listener, the stop descriptor, then one per connection
 * (the lowest free number, as the kernel gives). */
enum { FD_LISTEN = 3, FD_STOP = 4, FD_FIRST = 5 };
enum { WERR_NONE, WERR_EPIPE, WERR_RESET };
enum sock_state { SOCK_NONE, SOCK_QUEUED, SOCK_OPEN };

/* One slot: the client, the socket between it and the server, and what the loop registered for it. */
struct sock {
	enum sock_state state; /* NONE: no client; QUEUED: in the accept queue; OPEN: accepted */
	unsigned gen;          /* connection number on this slot */
	int fd;
	const struct upper_conn *uc; /* the loop's core of this connection, as io->fed shows it */
	struct epoll_event reg;      /* what the loop registered (OPEN), */
	int registered;              /* ... once it has */
	unsigned char *sent;         /* bytes the client sent on this connection (capacity: the input size) */
	size_t nsent, nread, ngot;   /* sent by the client, read by the server, accepted by the socket */
	int cfin, crst, eof_read, werr, again, stopped, sfin;
	int intr_send, intr_recv, ctl_fail;
	int fault;     /* a fault the script injected may close this connection without FIN */
	size_t window; /* while stopped: bytes the socket still accepts */
	unsigned shortk, rlimit;
	size_t steps; /* events fed in the current round */
	int last_ret; /* what the last event fed in the round returned (the core's wants) */
};

struct alloc {
	void *p;
	size_t n;
};

struct sim {
	struct sock s[SCRIPT_MAX_CONNS];
	unsigned nconn, conns_on[SCRIPT_MAX_CONNS];
	int fdslot[SCRIPT_MAX_CONNS];             /* slot of descriptor FD_FIRST + i, or -1 */
	unsigned queue[SCRIPT_MAX_CONNS], nqueue; /* the accept queue, oldest first */
	size_t cap, n;                            /* buffer bound, input size */
	struct tcp_loop loop;
	int loop_ready;
	struct epoll_event listen_reg, stop_reg;
	int listen_registered, stop_registered, stop_ready;
	/* The kernel's faults and clock. */
	int accept_err; /* the next accept fails with this errno (0: none) */
	int nofile;     /* EMFILE or ENFILE until a descriptor is closed (0: none) */
	unsigned nofile_how;
	int intr_wait;
	unsigned nomem_skip, nomem; /* allocations to let through, then allocations to fail */
	int nomem_long;             /* ... then every allocation fails until time passes */
	unsigned listen_ctl_fail;   /* epoll_ctl calls on the listener to fail */
	size_t closes_at_listen_fail;
	uint64_t now;
	int last_accepted; /* slot of the last accept, for an allocation failure that closes it */
	uint64_t refused_at;
	size_t closes, closes_at_refusal, closes_at_pause;
	int refused;
	uint64_t logged_at;      /* the last limit line (0: none) */
	unsigned lines_read;     /* lines the operator reads: formatted (NOFILE bits 6-7) */
	enum tcp_loop_line line; /* the line due, to be written next (0: none) */
	int may_sleep, blocked;
	unsigned empty; /* rounds in a row with nothing to do */
	struct alloc allocs[MAX_ALLOCS];
	unsigned nallocs;
	int hold;
	size_t probes; /* refusal probes done, to rotate through them */
	/* Every callback that changes what epoll would report (a socket, the listener, a registration, a
	 * fault) counts a change; the ready list is rebuilt only after one, and a round that was woken
	 * and changed nothing is a spin. */
	unsigned long changes, ready_at;
	struct epoll_event ready[2 + SCRIPT_MAX_CONNS];
	int nready;
	int woken;       /* descriptors the round's wait reported */
	unsigned stalls; /* rounds in a row that were woken and changed nothing */
	unsigned char *records;
	const struct tcpsim_hooks *h;
	struct tcpsim_stats st;
	char *why;
	size_t whylen;
	int rc; /* 0, 1 (SPEC breach) or -1 (out of memory) */
};

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int
fail(struct sim *m, int rc, const char *fmt, ...)
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

/* Something epoll could report changed (see struct sim's changes). */
static void changed(struct sim *m)
{
	m->changes++;
}

static unsigned slot_of(const struct sim *m, const struct sock *s)
{
	return (unsigned)(s - m->s);
}

static void wire(struct sim *m, struct sock *s, enum tcpsim_wire what, const unsigned char *p, size_t n)
{
	if (m->h != NULL && m->h->wire != NULL)
		m->h->wire(m->h->ctx, slot_of(m, s), s->gen, what, p, n);
}

/* The open connection on descriptor fd, or NULL (after a failure naming what the loop did) when fd is
 * not one. */
static struct sock *by_fd(struct sim *m, int fd, const char *what)
{
	if (fd >= FD_FIRST && fd < FD_FIRST + (int)SCRIPT_MAX_CONNS && m->fdslot[fd - FD_FIRST] >= 0)
		return &m->s[m->fdslot[fd - FD_FIRST]];
	fail(m, 1, "T6: the loop calls %s on descriptor %d, which is no open connection", what, fd);
	return NULL;
}

/* ---- memory ---- */

static const struct alloc *find_alloc(const struct sim *m, const void *p)
{
	for (unsigned i = 0; i < m->nallocs; i++)
		if (m->allocs[i].p == p)
			return &m->allocs[i];
	return NULL;
}

static void *io_alloc(void *ctx, size_t n)
{
	struct sim *m = ctx;
	void *p;

	if (m->nomem_skip > 0) {
		m->nomem_skip--;
	} else if (m->nomem > 0 || m->nomem_long) {
		m->nomem -= m->nomem > 0;
		if (m->last_accepted >= 0 && !m->s[m->last_accepted].registered)
			m->s[m->last_accepted].fault = 1; /* accept's allocation: the loop may drop it */
		return NULL;
	}
	if (m->nallocs >= MAX_ALLOCS) {
		fail(m, 1, "T5: %u allocations live with %u connections: the loop leaks memory", m->nallocs,
		     m->nconn);
		return NULL;
	}
	p = malloc(n);
	if (p == NULL) {
		fail(m, -1, "out of memory for %zu bytes", n);
		return NULL;
	}
	m->allocs[m->nallocs++] = (struct alloc){p, n};
	return p;
}

static void io_release(void *ctx, void *p)
{
	struct sim *m = ctx;

	for (unsigned i = 0; i < m->nallocs; i++) {
		if (m->allocs[i].p == p) {
			POOL_UNPOISON(p, m->allocs[i].n);
			free(p);
			m->allocs[i] = m->allocs[--m->nallocs];
			return;
		}
	}
	fail(m, 1, "T5: the loop frees memory it never allocated (%p)", p);
}

/* Between rounds the pool's buffers are poisoned; the loop may hand them out again in a round. */
static void pool_poison(struct sim *m, int on)
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
static int probe_refusals(struct sim *m, const struct sock *s, unsigned want)
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
		return fail(m, 1, "core: impossible event %d (n=%zu) returned %d%s (slot %u, flags %#x)",
		            (int)probes[i].ev, probes[i].n, r, r == -1 ? " but changed the state" : "",
		            slot_of(m, s), c->flags);
	return 0;
}

/* A live connection's core holds exactly the bytes its socket read and did not yet accept back. */
static int check_counters(struct sim *m, const struct sock *s)
{
	const struct upper_conn *c = s->uc;

	if (!(c->flags & UPPER_CF_DEAD) &&
	    (c->bytes_in != s->nread || c->bytes_out != s->ngot || c->len != s->nread - s->ngot))
		return fail(m, 1,
		            "T1: slot %u owes bytes from offset %zu to %zu but its core holds %zu (core "
		            "counts in %llu, out %llu)",
		            slot_of(m, s), s->ngot, s->nread, c->len, (unsigned long long)c->bytes_in,
		            (unsigned long long)c->bytes_out);
	return 0;
}

/* The core's answers against its state: the wants an event returned are upper_conn_want()'s, the
 * bytes upper_conn_pending() offers are the ones held (none once dead), and an impossible event is
 * refused. Run after every event of a dead or closing connection, else once per wakeup, on the state
 * the wakeup left (the events in between are checked by check_state). */
static int check_core(struct sim *m, const struct sock *s, int ret)
{
	const struct upper_conn *c = s->uc;
	unsigned slot = slot_of(m, s);
	unsigned want = upper_conn_want(c);
	const unsigned char *p;
	size_t pend = upper_conn_pending(c, &p);

	if (ret != (int)want)
		return fail(m, 1, "core: event returned %d but upper_conn_want says %u (slot %u)", ret, want,
		            slot);
	if (c->flags & UPPER_CF_DEAD) {
		if (want != UPPER_WANT_CLOSE || pend != 0)
			return fail(
			    m, 1,
			    "T6: after a reset the core still wants %#x with %zu bytes pending (slot %u)",
			    want, pend, slot);
		return 0;
	}
	if (pend != c->len && !(want & UPPER_WANT_CLOSE))
		return fail(m, 1, "T1: upper_conn_pending gives %zu bytes, %zu are held (slot %u)", pend,
		            c->len, slot);
	return probe_refusals(m, s, want);
}

/* SPEC T8 bounds and the core's counters against what the sockets moved, after every event. */
static int check_state(struct sim *m, struct sock *s, int ret)
{
	const struct upper_conn *c = s->uc;
	unsigned slot = slot_of(m, s);
	const struct alloc *a = c->buf != NULL ? find_alloc(m, c->buf) : NULL;

	if (c->cap != m->cap || c->len > c->cap || (c->buf != NULL && c->off + c->len > c->cap))
		return fail(m, 1,
		            "T8: buffer past its bound: off %zu + len %zu, cap %zu (given %zu), slot %u",
		            c->off, c->len, c->cap, m->cap, slot);
	if (c->buf != NULL && (a == NULL || a->n != m->cap))
		return fail(m, 1, "T8: the connection points at a buffer the loop never lent (slot %u)",
		            slot);
	if (c->buf == NULL && c->len > 0)
		return fail(m, 1, "T1: %zu bytes pending without a buffer (slot %u, offset %zu)", c->len,
		            slot, s->ngot);
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
	struct sim *m = ctx;
	struct sock *s = by_fd(m, fd, "drive_wakeup");

	if (s == NULL || m->rc != 0)
		return 1;
	s->uc = c;
	if (r < 0)
		return fail(m, 1, "core refused event %d (n=%zu) that its wants allowed (slot %u, flags %#x)",
		            (int)ev, n, slot_of(m, s), c->flags);
	if (++s->steps >= MAX_STEPS(m))
		return fail(m, 1, "T7: the connection on slot %u never waits: %zu steps in one round",
		            slot_of(m, s), s->steps);
	s->last_ret = r;
	return check_state(m, s, r);
}

/* After a round: the counters (another connection's wakeup may have touched them) and check_core() on
 * every connection fed in it that is still open. */
static int check_round(struct sim *m)
{
	for (unsigned i = 0; i < SCRIPT_MAX_CONNS && m->rc == 0; i++) {
		const struct sock *s = &m->s[i];
		if (s->steps > 0 && s->state == SOCK_OPEN && s->uc != NULL && check_counters(m, s) == 0)
			check_core(m, s, s->last_ret);
	}
	return m->rc;
}

/* ---- the sockets ---- */

/* The socket's send(): a failure, a would-block, or k bytes accepted, checked against what THIS
 * client sent with the plain rule (oracle.h). */
static ssize_t io_send(void *ctx, int fd, const unsigned char *p, size_t n)
{
	struct sim *m = ctx;
	struct sock *s = by_fd(m, fd, "send");
	size_t k;

	if (s == NULL || m->rc != 0)
		return DRIVE_IO_ERR;
	unsigned slot = slot_of(m, s);
	if (s->sfin) {
		fail(m, 1, "T4: the server writes after its FIN (slot %u, offset %zu)", slot, s->ngot);
		return DRIVE_IO_ERR;
	}
	if (n == 0 || p == NULL) {
		fail(m, 1, "T1: the server sends %zu bytes from %p (slot %u)", n, (const void *)p, slot);
		return DRIVE_IO_ERR;
	}
	if (s->intr_send) {
		s->intr_send = 0;
		changed(m);
		return DRIVE_IO_INTR;
	}
	if (s->crst || s->werr != WERR_NONE) {
		s->werr = WERR_NONE;
		changed(m);
		return DRIVE_IO_ERR;
	}
	if (s->again) {
		s->again = 0;
		changed(m);
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
		fail(m, 1, "T1: the server sends slot %u bytes up to offset %zu but read only %zu", slot,
		     s->ngot + k, s->nread);
		return DRIVE_IO_ERR;
	}
	size_t at = oracle_mismatch(s->sent + s->ngot, k, p, k);
	if (at != k) {
		fail(m, 1, "T1: slot %u receives byte 0x%02x at offset %zu, expected 0x%02x", slot, p[at],
		     s->ngot + at, oracle_x1(s->sent[s->ngot + at]));
		return DRIVE_IO_ERR;
	}
	wire(m, s, TCPSIM_S_DATA, p, k);
	changed(m);
	s->ngot += k;
	m->st.bytes_out += k;
	if (s->stopped)
		s->window -= k;
	return (ssize_t)k;
}

/* The socket's recv(): queued bytes, then FIN once, else EAGAIN. */
static ssize_t io_recv(void *ctx, int fd, unsigned char *p, size_t n)
{
	struct sim *m = ctx;
	struct sock *s = by_fd(m, fd, "recv");
	size_t k;

	if (s == NULL || m->rc != 0)
		return DRIVE_IO_ERR;
	if (n == 0 || p == NULL) {
		fail(m, 1, "T8: the server reads %zu bytes into %p (slot %u)", n, (void *)p, slot_of(m, s));
		return DRIVE_IO_ERR;
	}
	if (s->intr_recv) {
		s->intr_recv = 0;
		changed(m);
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
		changed(m);
		s->nread += k;
		m->st.bytes_in += k;
		return (ssize_t)k;
	}
	if (s->cfin && !s->eof_read) {
		s->eof_read = 1;
		changed(m);
		return 0;
	}
	return DRIVE_IO_AGAIN;
}

/* shutdown(SHUT_WR): allowed once, and only when every byte the client sent has been returned. */
static void io_shutdown(void *ctx, int fd)
{
	struct sim *m = ctx;
	struct sock *s = by_fd(m, fd, "shutdown");

	if (s == NULL || m->rc != 0)
		return;
	if (!s->cfin || !s->eof_read || s->nread != s->nsent || s->ngot != s->nread) {
		fail(m, 1,
		     "T4: FIN before every owed byte: slot %u's client sent %zu%s, the server read %zu and "
		     "replied up to offset %zu",
		     slot_of(m, s), s->nsent, s->cfin ? " and FIN" : "", s->nread, s->ngot);
		return;
	}
	if (s->sfin) {
		fail(m, 1, "T4: the server sends a second FIN (slot %u)", slot_of(m, s));
		return;
	}
	s->sfin = 1;
	changed(m);
	wire(m, s, TCPSIM_S_FIN, NULL, 0);
}

/* close(): only after the server's FIN, a reset, or a fault the script injected (T4); it frees the
 * descriptor, which ends a descriptor exhaustion. */
static void io_close(void *ctx, int fd)
{
	struct sim *m = ctx;
	struct sock *s = by_fd(m, fd, "close");

	if (s == NULL || m->rc != 0)
		return;
	int dead = s->uc != NULL && (s->uc->flags & UPPER_CF_DEAD);
	if (s->sfin && !dead) {
		m->st.fins++;
	} else if (dead || s->fault) {
		m->st.resets++;
	} else {
		fail(m, 1,
		     "T4: the server closes slot %u without FIN or reset (read %zu, replied up to offset "
		     "%zu)",
		     slot_of(m, s), s->nread, s->ngot);
		return;
	}
	wire(m, s, TCPSIM_S_CLOSE, NULL, 0);
	changed(m);
	m->fdslot[fd - FD_FIRST] = -1;
	s->state = SOCK_NONE;
	s->uc = NULL;
	if (m->last_accepted == (int)slot_of(m, s))
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
	struct sim *m = ctx;
	int e;

	if (listener != FD_LISTEN) {
		fail(m, 1, "T9: the loop accepts on descriptor %d, not its listener", listener);
		return -EBADF;
	}
	if (m->nofile != 0) {
		if (m->refused && m->closes == m->closes_at_refusal &&
		    m->now - m->refused_at < TCP_LOOP_PAUSE_MS * MS)
			fail(m, 1, "T9: the loop retries accept at the descriptor limit without a pause");
		m->refused = 1;
		m->refused_at = m->now;
		m->closes_at_refusal = m->closes;
		return -m->nofile;
	}
	if (m->accept_err != 0) {
		e = m->accept_err;
		m->accept_err = 0;
		changed(m);
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
	struct sock *s = &m->s[slot];
	s->state = SOCK_OPEN;
	s->fd = FD_FIRST + (int)i;
	s->registered = 0;
	m->last_accepted = (int)slot;
	m->st.conns++;
	changed(m);
	return s->fd;
}

static unsigned long long io_fd_limit(void *ctx)
{
	const struct sim *m = ctx;

	return (m->nofile_how & 2u) ? 0 : (unsigned long long)(FD_FIRST + SCRIPT_MAX_CONNS);
}

static int io_fd_count(void *ctx)
{
	const struct sim *m = ctx;
	int n = FD_FIRST;

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
	struct sim *m = ctx;

	if (what == TCP_LOOP_LINE_LIMIT) {
		if (m->logged_at != 0 && m->now - m->logged_at < (uint64_t)TCP_LOOP_LIMIT_LOG_MS * MS)
			fail(m, 1, "T9: two descriptor-limit lines %llu ms apart",
			     (unsigned long long)((m->now - m->logged_at) / MS));
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
	struct sim *m = ctx;
	const char *want = m->line == TCP_LOOP_LINE_LIMIT     ? "tcp-upper: accept: "
	                   : m->line == TCP_LOOP_LINE_RESUMED ? "tcp-upper: accepting again ("
	                                                      : NULL;

	if (want == NULL || strncmp(line, want, strlen(want)) != 0)
		fail(m, 1, "T9: the loop writes a line other than the one it announced (%d): %s",
		     (int)m->line, line);
	m->line = 0;
}

static void io_trim(void *ctx)
{
	const struct sim *m = ctx;

	if (m->loop.npool > TCP_LOOP_POOL_IDLE)
		fail((struct sim *)ctx, 1, "T5: the quiet-period give-back keeps %zu buffers", m->loop.npool);
}

static uint64_t io_now(void *ctx)
{
	return ((const struct sim *)ctx)->now;
}

/* ---- epoll ---- */

static int io_ctl(void *ctx, int op, int fd, struct epoll_event *ev)
{
	struct sim *m = ctx;

	if (fd == FD_LISTEN || fd == FD_STOP) {
		int *registered = fd == FD_LISTEN ? &m->listen_registered : &m->stop_registered;
		if ((op == EPOLL_CTL_ADD) == (*registered != 0) || op == EPOLL_CTL_DEL)
			return -(op == EPOLL_CTL_ADD ? EEXIST : ENOENT);
		if (fd == FD_LISTEN && m->listen_ctl_fail > 0) {
			m->listen_ctl_fail--;
			m->closes_at_listen_fail = m->closes;
			changed(m);
			return -ENOMEM;
		}
		*(fd == FD_LISTEN ? &m->listen_reg : &m->stop_reg) = *ev;
		*registered = 1;
		changed(m);
		if (fd == FD_LISTEN && !(ev->events & EPOLLIN))
			m->closes_at_pause = m->closes;
		return 0;
	}
	struct sock *s = by_fd(m, fd, "epoll_ctl");
	if (s == NULL)
		return -EBADF;
	if ((op == EPOLL_CTL_ADD) == (s->registered != 0)) {
		fail(m, 1, "T6: epoll_ctl %d on slot %u's connection, registered %d", op, slot_of(m, s),
		     s->registered);
		return -EINVAL;
	}
	if (op != EPOLL_CTL_DEL && (ev->events & ~(uint32_t)(EPOLLIN | EPOLLOUT))) {
		fail(m, 1, "T6: the loop waits for events %#x on slot %u", ev->events, slot_of(m, s));
		return -EINVAL;
	}
	changed(m);
	if (s->ctl_fail) {
		s->ctl_fail = 0;
		s->fault = 1;
		return -ENOMEM;
	}
	if (op == EPOLL_CTL_DEL) {
		s->registered = 0;
		return 0;
	}
	s->reg = *ev;
	s->registered = 1;
	if (m->last_accepted == (int)slot_of(m, s))
		m->last_accepted = -1;
	return 0;
}

/* What epoll would report for slot s now (level-triggered; errors whatever the interest). */
static uint32_t sock_events(const struct sock *s)
{
	uint32_t in, out, err;

	if (s->state != SOCK_OPEN || !s->registered)
		return 0;
	err = s->crst ? (uint32_t)(EPOLLERR | EPOLLHUP) : 0u;
	in = ((s->reg.events & EPOLLIN) && (s->nsent > s->nread || (s->cfin && !s->eof_read) || s->crst))
	         ? (uint32_t)EPOLLIN
	         : 0u;
	out =
	    ((s->reg.events & EPOLLOUT) && (s->crst || s->werr != WERR_NONE || !s->stopped || s->window > 0))
	        ? (uint32_t)EPOLLOUT
	        : 0u;
	return in | out | err;
}

static int listener_ready(const struct sim *m)
{
	return m->listen_registered && (m->listen_reg.events & EPOLLIN) &&
	       (m->nqueue > 0 || m->accept_err != 0);
}

/* Rebuilds the list of what is ready, unless nothing changed since it was built; returns its
 * length. */
static int ready_events(struct sim *m)
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
		const struct sock *s = &m->s[m->fdslot[i]];
		uint32_t e = sock_events(s);
		if (e != 0)
			m->ready[n++] = (struct epoll_event){.events = e, .data = s->reg.data};
	}
	m->nready = n;
	m->ready_at = m->changes;
	return n;
}

/* epoll_wait(): what is ready; with nothing ready, a SLEEP lets the timeout pass, and a wait without
 * a timeout means the loop rests. */
static int io_wait(void *ctx, struct epoll_event *evs, int max, int timeout_ms)
{
	struct sim *m = ctx;
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
		fail(m, 1, "T9: the loop waits without a timeout while accepting is paused");
	if (timeout_ms < 0) {
		m->blocked = 1;
		return 0;
	}
	if (m->may_sleep && timeout_ms > 0) {
		m->now += (uint64_t)timeout_ms * MS;
		m->empty = 0;
		return 0;
	}
	if (++m->empty > MAX_EMPTY)
		fail(m, 1, "T7: the loop spins: %u rounds in a row with nothing to do (timeout %d ms)",
		     m->empty, timeout_ms);
	return 0;
}

static const struct tcp_loop_io sim_io = {
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

/* ---- running the loop ---- */

/* One round of tcp-upper's loop: tcp_loop_step(). */
static int round_once(struct sim *m)
{
	enum tcp_loop_result r;
	unsigned long before = m->changes;

	for (unsigned i = 0; i < SCRIPT_MAX_CONNS; i++)
		m->s[i].steps = 0;
	m->blocked = 0;
	m->woken = 0;
	pool_poison(m, 0);
	r = tcp_loop_step(&m->loop);
	pool_poison(m, 1);
	if (m->rc != 0 || check_round(m) != 0)
		return m->rc;
	if (r == TCP_LOOP_STOP && !m->stop_ready)
		return fail(m, 1, "T7: the loop stops without being told to");
	if (r == TCP_LOOP_FAILED || r == TCP_LOOP_BROKEN)
		return fail(m, 1, "core: the loop %s: %s", r == TCP_LOOP_FAILED ? "failed" : "broke",
		            m->loop.err);
	/* A level-triggered loop woken by a descriptor it then leaves as it was is woken again at once. */
	if (m->woken == 0 || m->changes != before)
		m->stalls = 0;
	else if (++m->stalls > MAX_EMPTY)
		return fail(m, 1,
		            "T7: the loop spins: %u rounds in a row woken by a ready descriptor that they "
		            "leave as it was",
		            m->stalls);
	return 0;
}

static int anything_ready(struct sim *m)
{
	return m->intr_wait || ready_events(m) > 0;
}

/* Runs the loop while a descriptor is ready. A paused listener must be watched again once a connection
 * has closed since the pause (the close freed a descriptor). */
static int settle(struct sim *m)
{
	for (size_t r = 0; m->rc == 0 && anything_ready(m); r++) {
		if (r >= MAX_STEPS(m))
			return fail(m, 1, "T7: the loop does not settle after %zu rounds", r);
		round_once(m);
	}
	if (m->rc == 0 && m->listen_registered && !(m->listen_reg.events & EPOLLIN) &&
	    m->closes > m->closes_at_pause && m->closes > m->closes_at_listen_fail)
		fail(m, 1, "T9: accepting stays paused after a connection closed");
	return m->rc;
}

/* Time passes: up to rounds rounds in which an empty wait lets its timeout pass, each followed by
 * what became ready; stops when the loop waits without a timeout. */
static int idle(struct sim *m, unsigned rounds)
{
	for (unsigned k = 0; k < rounds && m->rc == 0; k++) {
		m->may_sleep = 1;
		round_once(m);
		m->may_sleep = 0;
		if (m->blocked)
			break;
		if (!m->hold)
			settle(m);
	}
	return m->rc;
}

/* A client connects on slot s: it waits in the accept queue until the loop accepts it. */
static void sock_connect(struct sim *m, struct sock *s)
{
	unsigned char *sent = s->sent;
	unsigned slot = slot_of(m, s);

	memset(s, 0, sizeof *s);
	s->sent = sent;
	s->state = SOCK_QUEUED;
	s->gen = m->conns_on[slot]++;
	m->queue[m->nqueue++] = slot;
	wire(m, s, TCPSIM_CONNECT, NULL, 0);
}

/* The events about one client. */
static void apply_client(struct sim *m, struct sock *s, const struct script_event *ev)
{
	switch (ev->op) {
	case SCRIPT_SEND:
		if (s->cfin || s->crst)
			break;
		memcpy(s->sent + s->nsent, ev->data, ev->len);
		s->nsent += ev->len;
		wire(m, s, TCPSIM_C_DATA, ev->data, ev->len);
		break;
	case SCRIPT_FIN:
		if (s->cfin || s->crst)
			break;
		s->cfin = 1;
		wire(m, s, TCPSIM_C_FIN, NULL, 0);
		break;
	case SCRIPT_RST:
		if (s->crst)
			break;
		s->crst = 1;
		s->nsent = s->nread; /* the kernel discards what the server has not read */
		wire(m, s, TCPSIM_C_RST, NULL, 0);
		break;
	case SCRIPT_SHORT:
		s->shortk = ev->arg;
		break;
	case SCRIPT_AGAIN:
		s->again = 1;
		break;
	case SCRIPT_WERR:
		s->werr = (ev->arg & 1u) ? WERR_RESET : WERR_EPIPE;
		break;
	case SCRIPT_STOP:
		s->stopped = 1;
		s->window = ev->arg;
		break;
	case SCRIPT_RESUME:
		s->stopped = 0;
		s->window = 0;
		break;
	case SCRIPT_RLIMIT:
		s->rlimit = ev->arg;
		break;
	case SCRIPT_INTR:
		m->intr_wait |= (ev->arg & 3u) == 0 || (ev->arg & 3u) == 3;
		s->intr_send = (ev->arg & 3u) == 1 || (ev->arg & 3u) == 3;
		s->intr_recv = (ev->arg & 3u) >= 2;
		break;
	case SCRIPT_CTLERR:
		s->ctl_fail = 1;
		break;
	default:
		break;
	}
}

/* The kernel events about no client; returns 1 when ev was one. */
static int apply_kernel(struct sim *m, const struct script_event *ev)
{
	static const int accept_errs[8] = {EINTR,   ECONNABORTED, EPROTO, EPERM,
	                                   ENOBUFS, ENOMEM,       EAGAIN, EINVAL};

	switch (ev->op) {
	case SCRIPT_ACCEPT:
		m->accept_err = accept_errs[ev->arg % 8u];
		return 1;
	case SCRIPT_NOFILE:
		m->nofile = (ev->arg & 1u) ? ENFILE : EMFILE;
		m->nofile_how = ev->arg;
		m->refused = 0;
		if ((ev->arg & 0xc0u) == 0xc0u) /* the operator reads the next limit line and resume line */
			m->lines_read = 2;
		if (ev->arg & 8u) /* the pause's epoll_ctl (or the resume's) fails, 1 to 4 times */
			m->listen_ctl_fail = 1u + ((ev->arg >> 4) & 3u);
		return 1;
	case SCRIPT_NOMEM:
		m->nomem_skip = (ev->arg >> 2) % 4u;
		m->nomem = (ev->arg % 4u) + 1u;
		m->nomem_long = (ev->arg & 16u) != 0; /* ... and every one after, until a SLEEP */
		return 1;
	default:
		return 0;
	}
}

static int apply(struct sim *m, const struct script_event *ev)
{
	struct sock *s = &m->s[ev->slot];

	changed(m);
	if (ev->op == SCRIPT_HOLD) {
		m->hold = !m->hold;
		return m->hold ? 0 : settle(m);
	}
	if (ev->op == SCRIPT_TICK) {
		if (anything_ready(m))
			round_once(m);
		return m->rc;
	}
	if (ev->op == SCRIPT_SLEEP) {
		m->nomem_long = 0;
		m->now += (uint64_t)ev->arg * 50u * MS;
		return idle(m, IDLE_ROUNDS);
	}
	if (!apply_kernel(m, ev)) {
		if (s->state == SOCK_NONE)
			sock_connect(m, s);
		apply_client(m, s, ev);
	}
	return m->hold ? 0 : settle(m);
}

/* The end: the faults end, every peer reads, every client still open half-closes, time passes; every
 * connection must be accepted and finish, and the loop must rest holding no connection and no more
 * memory than its idle pool; then it must stop when told and give everything back. */
static void finish(struct sim *m)
{
	changed(m);
	m->hold = 0;
	m->nofile = 0;
	m->nomem = 0;
	m->nomem_long = 0;
	m->listen_ctl_fail = 0;
	m->accept_err = 0;
	for (unsigned i = 0; i < m->nconn; i++) {
		struct sock *s = &m->s[i];
		if (s->state == SOCK_NONE)
			continue;
		s->stopped = 0;
		s->ctl_fail = 0;
		if (!s->cfin && !s->crst) {
			s->cfin = 1;
			wire(m, s, TCPSIM_C_FIN, NULL, 0);
		}
	}
	settle(m);
	idle(m, END_ROUNDS);
	if (m->rc == 0 && !m->blocked)
		fail(m, 1, "T7: the loop never rests: %d rounds after the last event", END_ROUNDS);
	for (unsigned i = 0; i < m->nconn && m->rc == 0; i++) {
		const struct sock *s = &m->s[i];
		if (s->state == SOCK_QUEUED)
			fail(m, 1, "T9: client %u on slot %u is never accepted", s->gen, i);
		else if (s->state == SOCK_OPEN)
			fail(m, 1,
			     "T4: connection %u on slot %u never finished after the client's FIN (read %zu, "
			     "replied up to offset %zu)",
			     s->gen, i, s->nread, s->ngot);
	}
	if (m->rc == 0 && (m->loop.conns != NULL || m->nallocs != m->loop.npool))
		fail(m, 1,
		     "T5: with every connection closed the loop holds %u allocations, %zu of them pooled",
		     m->nallocs, m->loop.npool);
	if (m->rc == 0) {
		m->stop_ready = 1;
		changed(m);
		pool_poison(m, 0);
		if (tcp_loop_step(&m->loop) != TCP_LOOP_STOP)
			fail(m, 1, "B2: the loop does not stop when told");
	}
}

/* Sets the run up: records for each slot, the listener and stop descriptor registered. */
static int start(struct sim *m, const unsigned char *in, size_t n, struct script_dec *d)
{
	char err[256];

	script_dec_init(d, in, n);
	m->nconn = d->nconn;
	m->cap = d->cap;
	m->n = n;
	m->now = 1000 * MS; /* a monotonic clock is never 0, which the loop reads as "never" */
	m->last_accepted = -1;
	for (unsigned i = 0; i < SCRIPT_MAX_CONNS; i++)
		m->fdslot[i] = -1;
	/* A connection's record never exceeds the input: every byte sent comes from it. */
	m->records = malloc(SCRIPT_MAX_CONNS * (n > 0 ? n : 1));
	if (m->records == NULL)
		return fail(m, -1, "out of memory for %zu bytes of records", SCRIPT_MAX_CONNS * n);
	for (unsigned i = 0; i < SCRIPT_MAX_CONNS; i++)
		m->s[i].sent = m->records + i * (n > 0 ? n : 1);
	if (tcp_loop_init(&m->loop, &sim_io, m, FD_LISTEN, FD_STOP, m->cap, err, sizeof err) != 0)
		return fail(m, 1, "the loop does not start: %s", err);
	m->loop_ready = 1;
	return 0;
}

int tcpsim_run(const unsigned char *in, size_t n, const struct tcpsim_hooks *hooks, struct tcpsim_stats *st,
               char *why, size_t whylen)
{
	struct sim *m = calloc(1, sizeof *m);
	struct script_dec d;
	struct script_event ev;
	int rc;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (m == NULL) {
		if (why != NULL)
			snprintf(why, whylen, "out of memory");
		return -1;
	}
	m->h = hooks;
	m->why = why;
	m->whylen = whylen;
	if (start(m, in, n, &d) == 0) {
		while (m->rc == 0 && script_dec_next(&d, &ev)) {
			m->st.events++;
			apply(m, &ev);
		}
		if (m->rc == 0)
			finish(m);
	}
	if (m->loop_ready) {
		int before = m->rc;
		pool_poison(m, 0);
		tcp_loop_cleanup(&m->loop);
		if (before == 0 && m->rc == 0 && m->nallocs != 0)
			fail(m, 1, "T5: the loop leaks %u allocations after its cleanup", m->nallocs);
	}
	rc = m->rc;
	if (st != NULL)
		*st = m->st;
	for (unsigned i = 0; i < m->nallocs; i++) {
		POOL_UNPOISON(m->allocs[i].p, m->allocs[i].n);
		free(m->allocs[i].p);
	}
	free(m->records);
	free(m);
	return rc;
}
