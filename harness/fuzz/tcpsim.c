/* tcpsim.c - a TCP script run against tcp-upper's whole event loop (servers/tcp_loop.c) bound to the
 * simulated kernel (tcpkern.h): each event sets up the kernel or a client, the loop runs until it rests,
 * and at the end every connection must finish and the loop give everything back. */
#include "tcpsim.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script.h"
#include "tcpkern.h"

#define IDLE_ROUNDS 4 /* rounds of a SLEEP */
#define END_ROUNDS 16 /* rounds at the end for the loop to come to rest */

/* ---- running the loop ---- */

/* One round of tcp-upper's loop: tcp_loop_step(). */
static int round_once(struct tcpkern *m)
{
	enum tcp_loop_result r;
	unsigned long before = m->changes;

	for (unsigned i = 0; i < SCRIPT_MAX_CONNS; i++)
		m->s[i].steps = 0;
	m->blocked = 0;
	m->woken = 0;
	tcpkern_pool_poison(m, 0);
	r = tcp_loop_step(&m->loop);
	tcpkern_pool_poison(m, 1);
	if (m->rc != 0 || tcpkern_check_round(m) != 0)
		return m->rc;
	if (r == TCP_LOOP_STOP && !m->stop_ready)
		return tcpkern_fail(m, 1, "T7: the loop stops without being told to");
	if (r == TCP_LOOP_FAILED || r == TCP_LOOP_BROKEN)
		return tcpkern_fail(m, 1, "core: the loop %s: %s", r == TCP_LOOP_FAILED ? "failed" : "broke",
		                    m->loop.err);
	/* A level-triggered loop woken by a descriptor it then leaves as it was is woken again at once. */
	if (m->woken == 0 || m->changes != before)
		m->stalls = 0;
	else if (++m->stalls > TCPKERN_MAX_EMPTY)
		return tcpkern_fail(
		    m, 1,
		    "T7: the loop spins: %u rounds in a row woken by a ready descriptor that they "
		    "leave as it was",
		    m->stalls);
	return 0;
}

/* Runs the loop while a descriptor is ready. A paused listener must be watched again once a connection
 * has closed since the pause (the close freed a descriptor). */
static int settle(struct tcpkern *m)
{
	for (size_t r = 0; m->rc == 0 && tcpkern_ready(m); r++) {
		if (r >= TCPKERN_MAX_STEPS(m))
			return tcpkern_fail(m, 1, "T7: the loop does not settle after %zu rounds", r);
		round_once(m);
	}
	if (m->rc == 0 && m->listen_registered && !(m->listen_reg.events & EPOLLIN) &&
	    m->closes > m->closes_at_pause && m->closes > m->closes_at_listen_fail)
		tcpkern_fail(m, 1, "T9: accepting stays paused after a connection closed");
	return m->rc;
}

/* Time passes: up to rounds rounds in which an empty wait lets its timeout pass, each followed by
 * what became ready; stops when the loop waits without a timeout. */
static int idle(struct tcpkern *m, unsigned rounds)
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
static void sock_connect(struct tcpkern *m, struct tcpkern_sock *s)
{
	unsigned char *sent = s->sent;
	unsigned slot = tcpkern_slot(m, s);

	memset(s, 0, sizeof *s);
	s->sent = sent;
	s->state = TCPKERN_SOCK_QUEUED;
	s->gen = m->conns_on[slot]++;
	m->queue[m->nqueue++] = slot;
	tcpkern_wire(m, s, TCPSIM_CONNECT, NULL, 0);
}

/* The events about one client. */
static void apply_client(struct tcpkern *m, struct tcpkern_sock *s, const struct script_event *ev)
{
	switch (ev->op) {
	case SCRIPT_SEND:
		if (s->cfin || s->crst)
			break;
		memcpy(s->sent + s->nsent, ev->data, ev->len);
		s->nsent += ev->len;
		tcpkern_wire(m, s, TCPSIM_C_DATA, ev->data, ev->len);
		break;
	case SCRIPT_FIN:
		if (s->cfin || s->crst)
			break;
		s->cfin = 1;
		tcpkern_wire(m, s, TCPSIM_C_FIN, NULL, 0);
		break;
	case SCRIPT_RST:
		if (s->crst)
			break;
		s->crst = 1;
		s->causes |= TCPKERN_BY_RESET;
		s->nsent = s->nread; /* the kernel discards what the server has not read */
		tcpkern_wire(m, s, TCPSIM_C_RST, NULL, 0);
		break;
	case SCRIPT_SHORT:
		s->shortk = ev->arg;
		break;
	case SCRIPT_AGAIN:
		s->again = 1;
		break;
	case SCRIPT_WERR:
		s->werr = (ev->arg & 1u) ? TCPKERN_WERR_RESET : TCPKERN_WERR_EPIPE;
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
static int apply_kernel(struct tcpkern *m, const struct script_event *ev)
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

static int apply(struct tcpkern *m, const struct script_event *ev)
{
	struct tcpkern_sock *s = &m->s[ev->slot];

	tcpkern_changed(m);
	if (ev->op == SCRIPT_HOLD) {
		m->hold = !m->hold;
		return m->hold ? 0 : settle(m);
	}
	if (ev->op == SCRIPT_TICK) {
		if (tcpkern_ready(m))
			round_once(m);
		return m->rc;
	}
	if (ev->op == SCRIPT_SLEEP) {
		m->nomem_long = 0;
		m->now += (uint64_t)ev->arg * 50u * TCPKERN_MS;
		return idle(m, IDLE_ROUNDS);
	}
	if (!apply_kernel(m, ev)) {
		if (s->state == TCPKERN_SOCK_NONE)
			sock_connect(m, s);
		apply_client(m, s, ev);
	}
	return m->hold ? 0 : settle(m);
}

/* The end: the faults end, every peer reads, every client still open half-closes, time passes; every
 * connection must be accepted and finish, and the loop must rest holding no connection and no more
 * memory than its idle pool; then it must stop when told and give everything back. */
static void finish(struct tcpkern *m)
{
	tcpkern_changed(m);
	m->hold = 0;
	m->nofile = 0;
	m->nomem = 0;
	m->nomem_long = 0;
	m->listen_ctl_fail = 0;
	m->accept_err = 0;
	for (unsigned i = 0; i < m->nconn; i++) {
		struct tcpkern_sock *s = &m->s[i];
		if (s->state == TCPKERN_SOCK_NONE)
			continue;
		s->stopped = 0;
		s->ctl_fail = 0;
		if (!s->cfin && !s->crst) {
			s->cfin = 1;
			tcpkern_wire(m, s, TCPSIM_C_FIN, NULL, 0);
		}
	}
	settle(m);
	idle(m, END_ROUNDS);
	if (m->rc == 0 && !m->blocked)
		tcpkern_fail(m, 1, "T7: the loop never rests: %d rounds after the last event", END_ROUNDS);
	for (unsigned i = 0; i < m->nconn && m->rc == 0; i++) {
		const struct tcpkern_sock *s = &m->s[i];
		if (s->state == TCPKERN_SOCK_QUEUED)
			tcpkern_fail(m, 1, "T9: client %u on slot %u is never accepted", s->gen, i);
		else if (s->state == TCPKERN_SOCK_OPEN)
			tcpkern_fail(
			    m, 1,
			    "T4: connection %u on slot %u never finished after the client's FIN (read %zu, "
			    "replied up to offset %zu)",
			    s->gen, i, s->nread, s->ngot);
	}
	if (m->rc == 0 && (m->loop.conns != NULL || m->nallocs != m->loop.npool))
		tcpkern_fail(
		    m, 1,
		    "T5: with every connection closed the loop holds %u allocations, %zu of them pooled",
		    m->nallocs, m->loop.npool);
	if (m->rc == 0) {
		m->stop_ready = 1;
		tcpkern_changed(m);
		tcpkern_pool_poison(m, 0);
		if (tcp_loop_step(&m->loop) != TCP_LOOP_STOP)
			tcpkern_fail(m, 1, "B2: the loop does not stop when told");
	}
}

/* Sets the run up: records for each slot, the listener and stop descriptor registered. */
static int start(struct tcpkern *m, const unsigned char *in, size_t n, struct script_dec *d)
{
	char err[256];

	script_dec_init(d, in, n);
	m->nconn = d->nconn;
	m->cap = d->cap;
	m->n = n;
	m->now = 1000 * TCPKERN_MS; /* a monotonic clock is never 0, which the loop reads as "never" */
	m->last_accepted = -1;
	for (unsigned i = 0; i < SCRIPT_MAX_CONNS; i++)
		m->fdslot[i] = -1;
	/* A connection's record never exceeds the input: every byte sent comes from it. */
	m->records = malloc(SCRIPT_MAX_CONNS * (n > 0 ? n : 1));
	if (m->records == NULL)
		return tcpkern_fail(m, -1, "out of memory for %zu bytes of records", SCRIPT_MAX_CONNS * n);
	for (unsigned i = 0; i < SCRIPT_MAX_CONNS; i++)
		m->s[i].sent = m->records + i * (n > 0 ? n : 1);
	if (tcp_loop_init(&m->loop, &tcpkern_io, m, TCPKERN_FD_LISTEN, TCPKERN_FD_STOP, m->cap, err,
	                  sizeof err) != 0)
		return tcpkern_fail(m, 1, "the loop does not start: %s", err);
	m->loop_ready = 1;
	return 0;
}

int tcpsim_run(const unsigned char *in, size_t n, const struct tcpsim_hooks *hooks, struct tcpsim_stats *st,
               char *why, size_t whylen)
{
	struct tcpkern *m = calloc(1, sizeof *m);
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
		tcpkern_pool_poison(m, 0);
		tcp_loop_cleanup(&m->loop);
		if (before == 0 && m->rc == 0 && m->nallocs != 0)
			tcpkern_fail(m, 1, "T5: the loop leaks %u allocations after its cleanup", m->nallocs);
	}
	rc = m->rc;
	if (st != NULL)
		*st = m->st;
	tcpkern_free_all(m);
	free(m->records);
	free(m);
	return rc;
}
