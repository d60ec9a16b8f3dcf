/* tcp_loop.c - tcp-upper's event loop over a struct tcp_loop_io (tcp_loop.h): every decision about a
 * connection is drive_wakeup()'s (drive.h); this file accepts, dispatches, follows the wants with the
 * epoll interest, closes, and keeps the buffers. */
#include "tcp_loop.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "drive.h"

static unsigned char *pool_get(struct tcp_loop *l)
{
	if (l->npool > 0)
		return l->pool[--l->npool];
	return l->io->alloc(l->ctx, l->bufsize);
}

static void pool_put(struct tcp_loop *l, unsigned char *b)
{
	if (b == NULL)
		return;
	l->busy = 1;
	if (l->starved > 0)
		l->retry_ns = 0; /* a buffer for a starved connection: retry at the next round */
	if (l->npool < TCP_LOOP_POOL_MAX)
		l->pool[l->npool++] = b;
	else
		l->io->release(l->ctx, b);
}

/* After a quiet period: keeps TCP_LOOP_POOL_IDLE buffers and gives the rest, and the heap's free
 * pages, back to the system, so that a burst of connections does not leave the process at its peak
 * size. */
static void give_back_memory(struct tcp_loop *l)
{
	while (l->npool > TCP_LOOP_POOL_IDLE)
		l->io->release(l->ctx, l->pool[--l->npool]);
	l->io->trim(l->ctx);
	l->busy = 0;
}

/* Milliseconds from now until deadline_ns, rounded up so that a wait of the result does not wake
 * before the deadline; 0 once it has passed. */
static int ms_left(struct tcp_loop *l, uint64_t deadline_ns)
{
	uint64_t now = l->io->now_ns(l->ctx), ms;

	if (now >= deadline_ns)
		return 0;
	ms = (deadline_ns - now) / 1000000u + ((deadline_ns - now) % 1000000u != 0);
	return ms > (uint64_t)INT_MAX ? INT_MAX : (int)ms;
}

/* Writes the process's open descriptors into out as a number, or "unknown" when even they cannot be
 * counted (with EMFILE that means every slot is taken: the limit). */
static void describe_open(struct tcp_loop *l, char *out, size_t len, int err, unsigned long long limit)
{
	int n = l->io->fd_count(l->ctx);

	if (n >= 0)
		snprintf(out, len, "%d", n);
	else if (err == EMFILE && limit != 0)
		snprintf(out, len, "%llu", limit);
	else
		snprintf(out, len, "unknown");
}

/* Whether a line of this kind is to be written: always, unless a checker says nobody reads it. */
static int line_due(struct tcp_loop *l, enum tcp_loop_line what)
{
	return l->io->line_due == NULL || l->io->line_due(l->ctx, what) != 0;
}

/* The descriptor-limit line: the error, the limit, the open count and how many accepts were refused
 * since the last line. */
static void write_limit_line(struct tcp_loop *l, int err)
{
	unsigned long long rl = l->io->fd_limit(l->ctx);
	char open[32], limit[32] = "unlimited", line[512];

	if (rl != 0)
		snprintf(limit, sizeof limit, "%llu", rl);
	describe_open(l, open, sizeof open, err, rl);
	snprintf(line, sizeof line,
	         "tcp-upper: accept: %s (%s; descriptor limit %s, %s open, %lu accept%s refused); "
	         "serving the open connections, accepting again as they close",
	         strerror(err), err == EMFILE ? "this process is at its limit" : "the system is at its limit",
	         limit, open, l->refused, l->refused == 1 ? "" : "s");
	l->io->log(l->ctx, line);
}

/* accept() failed with EMFILE or ENFILE: says so, at most once per TCP_LOOP_LIMIT_LOG_MS. */
static void log_limit(struct tcp_loop *l, int err)
{
	uint64_t now = l->io->now_ns(l->ctx);

	l->refused++;
	if (l->limit_logged_ns != 0 && now - l->limit_logged_ns < (uint64_t)TCP_LOOP_LIMIT_LOG_MS * 1000000u)
		return;
	if (line_due(l, TCP_LOOP_LINE_LIMIT))
		write_limit_line(l, err);
	l->limit_logged_ns = now;
	l->refused = 0;
	l->limit_reported = 1;
}

/* An accept succeeded: after a limit line, says once that accepting has resumed. */
static void log_resumed(struct tcp_loop *l)
{
	char open[32], line[128];

	if (!l->limit_reported)
		return;
	l->limit_reported = 0;
	if (!line_due(l, TCP_LOOP_LINE_RESUMED))
		return;
	describe_open(l, open, sizeof open, 0, 0);
	snprintf(line, sizeof line, "tcp-upper: accepting again (%s descriptors open)", open);
	l->io->log(l->ctx, line);
}

/* Watches the listener again; when that fails, tries again after another pause. */
static void resume_accept(struct tcp_loop *l)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &l->listen_mark};

	if (l->pause_owed || l->io->ctl(l->ctx, EPOLL_CTL_MOD, l->listener, &ev) == 0) {
		l->paused = 0;
		l->pause_owed = 0;
	} else {
		l->resume_ns = l->io->now_ns(l->ctx) + (uint64_t)TCP_LOOP_PAUSE_MS * 1000000u;
	}
}

/* Stops watching the listener. Accepting is paused even when the epoll_ctl fails: the listener's
 * events are then ignored until the pause ends and the epoll_ctl is retried every round, so the loop
 * does not call accept() at the limit again and again. */
static int register_pause(struct tcp_loop *l)
{
	struct epoll_event ev = {.events = 0, .data.ptr = &l->listen_mark};

	return l->io->ctl(l->ctx, EPOLL_CTL_MOD, l->listener, &ev);
}

static void pause_accept(struct tcp_loop *l)
{
	l->paused = 1;
	l->pause_owed = register_pause(l) != 0;
	l->resume_ns = l->io->now_ns(l->ctx) + (uint64_t)TCP_LOOP_PAUSE_MS * 1000000u;
}

static uint32_t interest_of(unsigned want)
{
	return ((want & UPPER_WANT_READ) ? EPOLLIN : 0u) | ((want & UPPER_WANT_POLLOUT) ? EPOLLOUT : 0u);
}

static void conn_close(struct tcp_loop *l, struct tcp_loop_conn *c)
{
	/* close() removes the descriptor from the epoll set. */
	l->io->close(l->ctx, c->fd);
	if (c->uc.buf != NULL)
		pool_put(l, c->uc.buf);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		l->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (c->starved)
		l->starved--;
	l->io->release(l->ctx, c);
	if (l->paused)
		resume_accept(l);
}

/* drive_wakeup()'s side of one wakeup of one connection: the loop's I/O on its descriptor. */
struct wakeup {
	struct tcp_loop *l;
	struct tcp_loop_conn *c;
	int starved; /* a buffer was wanted and none could be had */
};

static ssize_t wakeup_send(void *ctx, const unsigned char *p, size_t n)
{
	const struct wakeup *x = ctx;

	return x->l->io->send(x->l->ctx, x->c->fd, p, n);
}

static ssize_t wakeup_recv(void *ctx, unsigned char *p, size_t n)
{
	const struct wakeup *x = ctx;

	return x->l->io->recv(x->l->ctx, x->c->fd, p, n);
}

static void wakeup_shutdown(void *ctx)
{
	const struct wakeup *x = ctx;

	x->l->io->shutdown_wr(x->l->ctx, x->c->fd);
}

static unsigned char *wakeup_buf_get(void *ctx)
{
	struct wakeup *x = ctx;
	unsigned char *b = pool_get(x->l);

	x->starved = b == NULL;
	return b;
}

static void wakeup_buf_put(void *ctx, unsigned char *b)
{
	pool_put(((const struct wakeup *)ctx)->l, b);
}

static int wakeup_fed(void *ctx, enum upper_ev ev, size_t n, int result)
{
	const struct wakeup *x = ctx;

	return x->l->io->fed(x->l->ctx, x->c->fd, &x->c->uc, ev, n, result);
}

static const struct drive_io wakeup_io = {
    .send = wakeup_send,
    .recv = wakeup_recv,
    .shutdown_wr = wakeup_shutdown,
    .buf_get = wakeup_buf_get,
    .buf_put = wakeup_buf_put,
};

/* The same with a checker's io->fed after every event. */
static const struct drive_io wakeup_io_fed = {
    .send = wakeup_send,
    .recv = wakeup_recv,
    .shutdown_wr = wakeup_shutdown,
    .buf_get = wakeup_buf_get,
    .buf_put = wakeup_buf_put,
    .fed = wakeup_fed,
};

/* Out of memory for a buffer: the connection, readable and wanting to read, would wake a
 * level-triggered loop at once again. It leaves the epoll set (a socket's error or hang-up is reported
 * whatever its interest) until TCP_LOOP_RETRY_MS pass or a buffer comes back. */
static void conn_starve(struct tcp_loop *l, struct tcp_loop_conn *c)
{
	struct epoll_event ev = {.events = 0, .data.ptr = c};

	if (l->io->ctl(l->ctx, EPOLL_CTL_DEL, c->fd, &ev) < 0) {
		conn_close(l, c);
		return;
	}
	c->starved = 1;
	c->interest = 0;
	if (l->starved++ == 0)
		l->retry_ns = l->io->now_ns(l->ctx) + (uint64_t)TCP_LOOP_RETRY_MS * 1000000u;
}

/* The retry: every starved connection is watched again for what it wants. */
static void retry_starved(struct tcp_loop *l)
{
	struct tcp_loop_conn *c = l->conns, *next;

	for (; c != NULL && l->starved > 0; c = next) {
		next = c->next;
		if (!c->starved)
			continue;
		struct epoll_event ev = {.events = interest_of(upper_conn_want(&c->uc)), .data.ptr = c};
		c->starved = 0;
		l->starved--;
		if (l->io->ctl(l->ctx, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
			conn_close(l, c);
			continue;
		}
		c->interest = ev.events;
	}
}

/* One wakeup: drive_wakeup() does what the connection wants until it must wait; then the epoll
 * interest follows what it waits for. Returns TCP_LOOP_GO_ON, or TCP_LOOP_BROKEN. */
static enum tcp_loop_result conn_event(struct tcp_loop *l, struct tcp_loop_conn *c, uint32_t events)
{
	struct wakeup x = {.l = l, .c = c};
	unsigned ready = ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) ? DRIVE_READY_IN : 0u) |
	                 ((events & EPOLLOUT) ? DRIVE_READY_OUT : 0u);
	unsigned want;
	int r = drive_wakeup(&c->uc, l->io->fed != NULL ? &wakeup_io_fed : &wakeup_io, &x, ready, &want);

	if (r == DRIVE_CLOSE) {
		conn_close(l, c);
		return TCP_LOOP_GO_ON;
	}
	if (r != DRIVE_WAIT) {
		/* The core refused what its own wants allowed: a bug in this program, not in the peer. */
		snprintf(l->err, sizeof l->err, "the core broke its contract on fd %d (flags %#x)", c->fd,
		         c->uc.flags);
		return TCP_LOOP_BROKEN;
	}
	if (x.starved) {
		conn_starve(l, c);
		return TCP_LOOP_GO_ON;
	}
	uint32_t interest = interest_of(want);
	if (interest != c->interest) {
		struct epoll_event ev = {.events = interest, .data.ptr = c};
		if (l->io->ctl(l->ctx, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
			conn_close(l, c);
			return TCP_LOOP_GO_ON;
		}
		c->interest = interest;
	}
	return TCP_LOOP_GO_ON;
}

/* A new descriptor: a connection with a buffer from the pool, handed back until bytes arrive, watched
 * for input. Returns 0, or -1 when memory ran out (fd is closed then). */
static int conn_open(struct tcp_loop *l, int fd)
{
	/* Tuned first, so that every descriptor given to io->close was given to io->tune: tcp-upper
	 * counts its open connections there. */
	l->io->tune(l->ctx, fd);
	struct tcp_loop_conn *c = l->io->alloc(l->ctx, sizeof *c);
	unsigned char *b = c != NULL ? pool_get(l) : NULL;

	if (b == NULL) {
		if (c != NULL)
			l->io->release(l->ctx, c);
		l->io->close(l->ctx, fd);
		return -1;
	}
	memset(c, 0, sizeof *c);
	upper_conn_init(&c->uc, b, l->bufsize);
	pool_put(l, upper_conn_release(&c->uc));
	c->fd = fd;
	c->interest = EPOLLIN;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	if (l->io->ctl(l->ctx, EPOLL_CTL_ADD, fd, &ev) < 0) {
		l->io->close(l->ctx, fd);
		l->io->release(l->ctx, c);
		return 0;
	}
	c->next = l->conns;
	if (l->conns != NULL)
		l->conns->prev = c;
	l->conns = c;
	return 0;
}

static void accept_some(struct tcp_loop *l)
{
	for (int i = 0; i < TCP_LOOP_ACCEPTS; i++) {
		int fd = l->io->accept(l->ctx, l->listener);
		if (fd == -EAGAIN)
			return; /* the queue is empty: the common end, tested first */
		if (fd < 0) {
			int err = -fd;
			if (err == EINTR || err == ECONNABORTED || err == EPROTO || err == EPERM)
				continue;
			if (err == EMFILE || err == ENFILE)
				log_limit(l, err);
			if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM)
				pause_accept(l); /* no spinning: wait for a close or TCP_LOOP_PAUSE_MS */
			return;
		}
		log_resumed(l);
		if (conn_open(l, fd) != 0) {
			pause_accept(l);
			return;
		}
	}
}

int tcp_loop_init(struct tcp_loop *l, const struct tcp_loop_io *io, void *ctx, int listener, int stopfd,
                  size_t bufsize, char *err, size_t errlen)
{
	struct epoll_event ev;
	int r;

	memset(l, 0, sizeof *l);
	l->io = io;
	l->ctx = ctx;
	l->listener = listener;
	l->bufsize = bufsize;
	ev = (struct epoll_event){.events = EPOLLIN, .data.ptr = &l->listen_mark};
	r = io->ctl(ctx, EPOLL_CTL_ADD, listener, &ev);
	if (r == 0 && stopfd >= 0) {
		ev = (struct epoll_event){.events = EPOLLIN, .data.ptr = &l->stop_mark};
		r = io->ctl(ctx, EPOLL_CTL_ADD, stopfd, &ev);
	}
	if (r != 0) {
		snprintf(err, errlen, "epoll_ctl: %s", strerror(-r));
		return -1;
	}
	return 0;
}

enum tcp_loop_result tcp_loop_step(struct tcp_loop *l)
{
	struct epoll_event evs[TCP_LOOP_MAX_EVENTS];
	int timeout = l->busy ? TCP_LOOP_QUIET_MS : -1;
	enum tcp_loop_result rc = TCP_LOOP_GO_ON;
	int stop = 0;

	if (l->paused && ms_left(l, l->resume_ns) == 0)
		resume_accept(l);
	if (l->paused) { /* still, or again after a failed resume */
		int left = ms_left(l, l->resume_ns);
		if (timeout < 0 || left < timeout)
			timeout = left;
		if (l->pause_owed)
			l->pause_owed = register_pause(l) != 0;
	}
	if (l->starved > 0) {
		int left = ms_left(l, l->retry_ns);
		if (left == 0)
			retry_starved(l);
		else if (timeout < 0 || left < timeout)
			timeout = left;
	}
	int n = l->io->wait(l->ctx, evs, TCP_LOOP_MAX_EVENTS, timeout);
	if (n < 0) {
		if (n == -EINTR)
			return TCP_LOOP_GO_ON;
		snprintf(l->err, sizeof l->err, "epoll_wait: %s", strerror(-n));
		errno = -n;
		return TCP_LOOP_FAILED;
	}
	if (n == 0 && l->busy)
		give_back_memory(l);
	for (int i = 0; i < n && rc == TCP_LOOP_GO_ON; i++) {
		void *p = evs[i].data.ptr;
		if (p == &l->stop_mark)
			stop = 1; /* after the other events of this round */
		else if (p == &l->listen_mark) {
			if (!l->paused) /* a pause whose epoll_ctl failed leaves the listener watched */
				accept_some(l);
		} else
			rc = conn_event(l, p, evs[i].events);
	}
	return rc == TCP_LOOP_GO_ON && stop ? TCP_LOOP_STOP : rc;
}

void tcp_loop_cleanup(struct tcp_loop *l)
{
	while (l->conns != NULL)
		conn_close(l, l->conns);
	while (l->npool > 0)
		l->io->release(l->ctx, l->pool[--l->npool]);
}
