/* tcpsim.c - a TCP script run against struct upper_conn through tcp-upper's own drive_wakeup() (drive.h),
 * over simulated sockets and a simulated level-triggered epoll. */
#include "tcpsim.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drive.h"
#include "oracle.h"
#include "script.h"
#include "upper.h"

/* Bounds on loop steps: each round with a ready socket, and each event of a wakeup, must move a byte
 * or change a state that an input byte set up, so more steps than this mean a core that never lets go. */
#define MAX_STEPS(m) (1024u + 8u * ((m)->n + (m)->cap))
#define POISON 0xEE /* written over a buffer returned to the pool: a stale pointer shows as wrong bytes */
#define POISON_LEN 512

/* Under ASan a pooled buffer is poisoned: the core touching a buffer it gave back is reported at once. */
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

enum { EP_IN = 1u, EP_OUT = 2u };
enum { WERR_NONE, WERR_EPIPE, WERR_RESET };

/* One slot: the server's connection, the client, and the socket between them. */
struct sock {
	int open;     /* a connection exists that the server has not closed */
	unsigned gen; /* connection number on this slot */
	struct upper_conn uc;
	unsigned interest;         /* EP_IN | EP_OUT, as tcp-upper registers it */
	unsigned char *sent;       /* bytes the client sent on this connection (capacity: the input size) */
	size_t nsent, nread, ngot; /* sent by the client, read by the server, accepted by the socket */
	int cfin, crst, eof_read, werr, again, stopped, sfin;
	size_t window; /* while stopped: bytes the socket still accepts */
	unsigned shortk, rlimit;
	size_t steps; /* events fed in the current wakeup */
};

struct sim {
	struct sock s[SCRIPT_MAX_CONNS];
	unsigned nconn, conns_on[SCRIPT_MAX_CONNS];
	size_t cap, n;                            /* buffer bound, input size */
	unsigned char *all[SCRIPT_MAX_CONNS + 1]; /* every buffer allocated, to check and free */
	unsigned nall;
	unsigned char *pool[SCRIPT_MAX_CONNS + 1];
	unsigned npool;
	unsigned char *records;
	int hold;
	size_t probes; /* refusal probes done, to rotate through them */
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

static void wire(struct sim *m, struct sock *s, enum tcpsim_wire what, const unsigned char *p, size_t n)
{
	if (m->h != NULL && m->h->wire != NULL)
		m->h->wire(m->h->ctx, (unsigned)(s - m->s), s->gen, what, p, n);
}

static unsigned char *pool_get(struct sim *m)
{
	unsigned char *b;

	if (m->npool > 0) {
		b = m->pool[--m->npool];
		POOL_UNPOISON(b, m->cap);
		return b;
	}
	if (m->nall >= sizeof m->all / sizeof m->all[0])
		return NULL; /* cannot happen: one buffer per connection at most, plus the one accept uses */
	b = malloc(m->cap);
	if (b != NULL)
		m->all[m->nall++] = b;
	return b;
}

static void pool_put(struct sim *m, unsigned char *b)
{
	if (b == NULL)
		return;
	memset(b, POISON, m->cap < POISON_LEN ? m->cap : POISON_LEN);
	POOL_POISON(b, m->cap);
	m->pool[m->npool++] = b;
}

static int owned(const struct sim *m, const unsigned char *b)
{
	for (unsigned i = 0; i < m->nall; i++)
		if (m->all[i] == b)
			return 1;
	return 0;
}

/* Events the loop never sends must be refused with the state unchanged (upper.h's contract), or a
 * buggy loop could push the core past its bounds. Probed on a copy, so the run is not disturbed. */
static int probe_refusals(struct sim *m, const struct sock *s)
{
	const struct upper_conn *c = &s->uc;
	unsigned want = upper_conn_want(c);
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

	/* One probe per event, in rotation: every refusal path is tried, at an eighth of the cost. */
	size_t i = m->probes++ % (sizeof probes / sizeof probes[0]);
	{
		struct upper_conn copy = *c;
		if (!probes[i].illegal)
			return 0;
		int r = upper_conn_event(&copy, probes[i].ev, probes[i].n);
		int same = copy.buf == c->buf && copy.cap == c->cap && copy.off == c->off &&
		           copy.len == c->len && copy.flags == c->flags && copy.bytes_in == c->bytes_in &&
		           copy.bytes_out == c->bytes_out;
		if (r != -1 || !same)
			return fail(m, 1,
			            "core: impossible event %d (n=%zu) returned %d%s (slot %u, flags %#x)",
			            (int)probes[i].ev, probes[i].n, r,
			            r == -1 ? " but changed the state" : "", (unsigned)(s - m->s), c->flags);
	}
	return 0;
}

/* The core's state after every event: SPEC T8 bounds, T6 nothing owed once dead, counters agree. */
static int check_state(struct sim *m, struct sock *s, int ret)
{
	const struct upper_conn *c = &s->uc;
	unsigned slot = (unsigned)(s - m->s);
	unsigned want = upper_conn_want(c);
	const unsigned char *p;
	size_t pend = upper_conn_pending(c, &p);

	if (ret != (int)want)
		return fail(m, 1, "core: event returned %d but upper_conn_want says %u (slot %u)", ret, want,
		            slot);
	if (c->cap != m->cap || c->len > c->cap || (c->buf != NULL && c->off + c->len > c->cap))
		return fail(m, 1,
		            "T8: buffer past its bound: off %zu + len %zu, cap %zu (given %zu), slot %u",
		            c->off, c->len, c->cap, m->cap, slot);
	if (c->buf != NULL && !owned(m, c->buf))
		return fail(m, 1, "T8: the connection points at a buffer the loop never lent (slot %u)",
		            slot);
	if (c->buf == NULL && c->len > 0)
		return fail(m, 1, "T1: %zu bytes pending without a buffer (slot %u)", c->len, slot);
	if (c->flags & UPPER_CF_DEAD) {
		if (want != UPPER_WANT_CLOSE || pend != 0)
			return fail(
			    m, 1,
			    "T6: after a reset the core still wants %#x with %zu bytes pending (slot %u)",
			    want, pend, slot);
		return 0;
	}
	if (c->bytes_in != s->nread || c->bytes_out != s->ngot || c->len != s->nread - s->ngot)
		return fail(m, 1,
		            "T1: core counts in %llu out %llu pending %zu, loop read %zu sent %zu (slot %u)",
		            (unsigned long long)c->bytes_in, (unsigned long long)c->bytes_out, c->len,
		            s->nread, s->ngot, slot);
	if (pend != c->len && !(want & UPPER_WANT_CLOSE))
		return fail(m, 1, "T1: upper_conn_pending gives %zu bytes, %zu are held (slot %u)", pend,
		            c->len, slot);
	return probe_refusals(m, s);
}

/* The server closes the descriptor: only after its FIN or a reset (T4). */
static int sock_close(struct sim *m, struct sock *s)
{
	unsigned slot = (unsigned)(s - m->s);

	if (s->uc.flags & UPPER_CF_DEAD) {
		m->st.resets++;
	} else if (s->uc.flags & UPPER_CF_SHUTDOWN) {
		m->st.fins++;
	} else {
		return fail(m, 1, "T4: the core asks to close without FIN or reset (slot %u, flags %#x)",
		            slot, s->uc.flags);
	}
	if (s->uc.buf != NULL)
		return fail(
		    m, 1, "T8: drive_wakeup closed a connection that still holds its buffer (slot %u)", slot);
	wire(m, s, TCPSIM_S_CLOSE, NULL, 0);
	s->open = 0;
	return 0;
}

/* drive_wakeup()'s callbacks get the slot; the slot finds the run. */
struct io_ctx {
	struct sim *m;
	struct sock *s;
};

/* After every event drive_wakeup() feeds: a refusal is a core bug (tcp-upper aborts on it), the state
 * must hold every invariant, and endless events in one wakeup mean a core that never lets go. */
static int io_fed(void *ctx, enum upper_ev ev, size_t n, int r)
{
	struct io_ctx *x = ctx;
	struct sim *m = x->m;
	struct sock *s = x->s;

	if (m->rc != 0)
		return 1;
	if (r < 0)
		return fail(m, 1, "core refused event %d (n=%zu) that its wants allowed (slot %u, flags %#x)",
		            (int)ev, n, (unsigned)(s - m->s), s->uc.flags);
	if (++s->steps >= MAX_STEPS(m))
		return fail(m, 1, "T7: the connection on slot %u never waits: %zu steps in one wakeup",
		            (unsigned)(s - m->s), s->steps);
	return check_state(m, s, r);
}

/* The socket's send(): a failure, a would-block, or k bytes accepted, checked against what was sent. */
static ssize_t io_send(void *ctx, const unsigned char *p, size_t n)
{
	struct io_ctx *x = ctx;
	struct sim *m = x->m;
	struct sock *s = x->s;
	unsigned slot = (unsigned)(s - m->s);
	size_t k;

	if (m->rc != 0)
		return DRIVE_IO_ERR;
	if (s->sfin) {
		fail(m, 1, "T4: the core asks to write after its FIN (slot %u)", slot);
		return DRIVE_IO_ERR;
	}
	if (n == 0 || p == NULL || !owned(m, s->uc.buf) || p < s->uc.buf || p + n > s->uc.buf + m->cap) {
		fail(m, 1,
		     "T1: the core asks to write but pending gives %zu bytes outside its buffer (slot %u)", n,
		     slot);
		return DRIVE_IO_ERR;
	}
	if (s->crst || s->werr != WERR_NONE) {
		s->werr = WERR_NONE;
		return DRIVE_IO_ERR;
	}
	if (s->again) {
		s->again = 0;
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
		fail(m, 1, "T1: the server sends %zu bytes but was given only %zu (slot %u)", s->ngot + k,
		     s->nread, slot);
		return DRIVE_IO_ERR;
	}
	size_t at = oracle_mismatch(s->sent + s->ngot, k, p, k);
	if (at != k) {
		fail(m, 1, "T1: reply byte %zu is 0x%02x, expected 0x%02x (slot %u)", s->ngot + at, p[at],
		     upper_byte(s->sent[s->ngot + at]), slot);
		return DRIVE_IO_ERR;
	}
	wire(m, s, TCPSIM_S_DATA, p, k);
	s->ngot += k;
	m->st.bytes_out += k;
	if (s->stopped)
		s->window -= k;
	return (ssize_t)k;
}

/* The socket's recv() into the space the core gives: queued bytes, then FIN once, else EAGAIN. */
static ssize_t io_recv(void *ctx, unsigned char *p, size_t n)
{
	struct io_ctx *x = ctx;
	struct sim *m = x->m;
	struct sock *s = x->s;
	size_t k;

	if (m->rc != 0)
		return DRIVE_IO_ERR;
	if (n == 0 || p == NULL || p < s->uc.buf || p + n > s->uc.buf + m->cap) {
		fail(m, 1,
		     "T8: the core wants to read but gives %zu bytes of space outside its buffer (slot %u)",
		     n, (unsigned)(s - m->s));
		return DRIVE_IO_ERR;
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
		s->nread += k;
		m->st.bytes_in += k;
		return (ssize_t)k;
	}
	if (s->cfin && !s->eof_read) {
		s->eof_read = 1;
		return 0;
	}
	return DRIVE_IO_AGAIN;
}

/* shutdown(SHUT_WR): allowed once, and only when every byte the client sent has been returned. */
static void io_shutdown(void *ctx)
{
	struct io_ctx *x = ctx;
	struct sim *m = x->m;
	struct sock *s = x->s;

	if (m->rc != 0)
		return;
	if (!s->cfin || !s->eof_read || s->nread != s->nsent || s->ngot != s->nread) {
		fail(m, 1,
		     "T4: FIN before every owed byte: client sent %zu%s, server read %zu, replied %zu (slot "
		     "%u)",
		     s->nsent, s->cfin ? " and FIN" : "", s->nread, s->ngot, (unsigned)(s - m->s));
		return;
	}
	if (s->sfin) {
		fail(m, 1, "T4: the core asks for a second FIN (slot %u)", (unsigned)(s - m->s));
		return;
	}
	s->sfin = 1;
	wire(m, s, TCPSIM_S_FIN, NULL, 0);
}

static unsigned char *io_buf_get(void *ctx)
{
	struct io_ctx *x = ctx;
	unsigned char *b = pool_get(x->m);

	if (b == NULL)
		fail(x->m, -1, "out of memory for a %zu byte buffer", x->m->cap);
	return b;
}

static void io_buf_put(void *ctx, unsigned char *b)
{
	pool_put(((struct io_ctx *)ctx)->m, b);
}

static const struct drive_io sim_io = {
    .send = io_send,
    .recv = io_recv,
    .shutdown_wr = io_shutdown,
    .buf_get = io_buf_get,
    .buf_put = io_buf_put,
    .fed = io_fed,
};

/* One wakeup of a ready slot, as tcp-upper's conn_event(): drive_wakeup(), then close or new interest. */
static int drive(struct sim *m, struct sock *s, unsigned ready)
{
	struct io_ctx x = {.m = m, .s = s};
	unsigned want;
	int r;

	s->steps = 0;
	r = drive_wakeup(&s->uc, &sim_io, &x, ready, &want);
	if (m->rc != 0)
		return m->rc;
	if (r == DRIVE_CLOSE)
		return sock_close(m, s);
	if (r != DRIVE_WAIT)
		return fail(
		    m, 1,
		    "core: drive_wakeup gave up (%d): the core wants to read but gives no space (slot %u)", r,
		    (unsigned)(s - m->s));
	if (s->uc.buf == NULL && s->uc.len > 0)
		return fail(m, 1, "T1: bytes pending after the buffer was released (slot %u)",
		            (unsigned)(s - m->s));
	if (want & ~(unsigned)(UPPER_WANT_READ | UPPER_WANT_POLLOUT))
		return fail(m, 1, "core: drive_wakeup asks to wait for %#x (slot %u)", want,
		            (unsigned)(s - m->s));
	s->interest = ((want & UPPER_WANT_READ) ? EP_IN : 0u) | ((want & UPPER_WANT_POLLOUT) ? EP_OUT : 0u);
	return 0;
}

/* One epoll_wait() round over every open connection, level-triggered; returns 1 if any was ready. */
static int round_once(struct sim *m)
{
	int any = 0;

	for (unsigned i = 0; i < m->nconn && m->rc == 0; i++) {
		struct sock *s = &m->s[i];
		int in, out, err;

		if (!s->open)
			continue;
		err = s->crst; /* EPOLLERR / EPOLLHUP are reported whatever the interest */
		in = (s->interest & EP_IN) && (s->nsent > s->nread || (s->cfin && !s->eof_read) || s->crst);
		out = (s->interest & EP_OUT) &&
		      (s->crst || s->werr != WERR_NONE || !s->stopped || s->window > 0);
		if (!in && !out && !err)
			continue;
		any = 1;
		drive(m, s, (in || err ? DRIVE_READY_IN : 0u) | (out ? DRIVE_READY_OUT : 0u));
	}
	return any;
}

static int settle(struct sim *m)
{
	for (size_t r = 0; m->rc == 0; r++) {
		if (r >= MAX_STEPS(m))
			return fail(m, 1, "T7: the loop does not settle after %zu rounds", r);
		if (!round_once(m))
			break;
	}
	return m->rc;
}

/* tcp-upper's accept_some(): init with a pool buffer, hand it back until bytes arrive, watch input. */
static int sock_connect(struct sim *m, struct sock *s)
{
	unsigned char *sent = s->sent;
	unsigned char *b = pool_get(m);
	unsigned slot = (unsigned)(s - m->s);

	if (b == NULL)
		return fail(m, -1, "out of memory for a %zu byte buffer", m->cap);
	memset(s, 0, sizeof *s);
	s->sent = sent;
	if (upper_conn_init(&s->uc, b, m->cap) != 0)
		return fail(m, 1, "core: upper_conn_init refused a %zu byte buffer", m->cap);
	pool_put(m, upper_conn_release(&s->uc));
	if (s->uc.buf != NULL)
		return fail(m, 1, "core: a new connection does not release its empty buffer (slot %u)", slot);
	s->open = 1;
	s->gen = m->conns_on[slot]++;
	s->interest = EP_IN;
	m->st.conns++;
	wire(m, s, TCPSIM_CONNECT, NULL, 0);
	return 0;
}

static int apply(struct sim *m, const struct script_event *ev)
{
	struct sock *s = &m->s[ev->slot];

	if (ev->op == SCRIPT_HOLD) {
		m->hold = !m->hold;
		return m->hold ? 0 : settle(m);
	}
	if (ev->op == SCRIPT_TICK) {
		round_once(m);
		return m->rc;
	}
	if (!s->open && sock_connect(m, s) != 0)
		return m->rc;
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
	default:
		break;
	}
	return m->hold ? 0 : settle(m);
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
	script_dec_init(&d, in, n);
	m->nconn = d.nconn;
	m->cap = d.cap;
	m->n = n;
	/* A connection's record never exceeds the input: every byte sent comes from it. */
	m->records = malloc(SCRIPT_MAX_CONNS * (n > 0 ? n : 1));
	if (m->records == NULL) {
		fail(m, -1, "out of memory for %zu bytes of records", SCRIPT_MAX_CONNS * n);
		goto out;
	}
	for (unsigned i = 0; i < SCRIPT_MAX_CONNS; i++)
		m->s[i].sent = m->records + i * (n > 0 ? n : 1);
	while (m->rc == 0 && script_dec_next(&d, &ev)) {
		m->st.events++;
		apply(m, &ev);
	}
	/* The end: every peer reads, every client still open half-closes; each connection must finish. */
	m->hold = 0;
	for (unsigned i = 0; i < m->nconn && m->rc == 0; i++) {
		struct sock *s = &m->s[i];
		if (!s->open)
			continue;
		s->stopped = 0;
		if (!s->cfin && !s->crst) {
			s->cfin = 1;
			wire(m, s, TCPSIM_C_FIN, NULL, 0);
		}
	}
	if (m->rc == 0)
		settle(m);
	for (unsigned i = 0; i < m->nconn && m->rc == 0; i++)
		if (m->s[i].open)
			fail(m, 1,
			     "T4: connection %u on slot %u never finished after the client's FIN (read %zu, "
			     "replied %zu)",
			     m->s[i].gen, i, m->s[i].nread, m->s[i].ngot);
out:
	rc = m->rc;
	if (st != NULL)
		*st = m->st;
	for (unsigned i = 0; i < m->nall; i++) {
		POOL_UNPOISON(m->all[i], m->cap);
		free(m->all[i]);
	}
	free(m->records);
	free(m);
	return rc;
}
