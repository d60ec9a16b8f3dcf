/* tcp_upper.c - the reference TCP uppercase server (SPEC T1-T9, B1, B2): an epoll loop per thread that
 * hands each ready connection to drive_wakeup() (drive.h) with callbacks doing send/recv/shutdown on the
 * descriptor and lending buffers from the thread's pool; every decision about a connection is there. */
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drive.h"
#include "net.h"
#include "serve.h"
#include "upper.h"
#include "util.h"

#define MAX_EVENTS 256
#define ACCEPTS_PER_WAKEUP 128
#define POOL_MAX 64         /* free buffers kept per thread while busy */
#define POOL_IDLE 4         /* ... and after a quiet period */
#define QUIET_MS 1000       /* a thread with no event for this long gives memory back to the system */
#define LIMIT_LOG_MS 10000  /* at most one "descriptor limit" line per thread this often */
#define ACCEPT_PAUSE_MS 100 /* after EMFILE: wait this long, or for a close, before accepting again */
/* Bytes a connection may leave unsent in its socket (TCP_NOTSENT_LOWAT). Without a bound the kernel
 * grows each send buffer to megabytes; hundreds of connections whose peers read slowly then hold the
 * host's TCP memory above its pressure threshold, where receivers advertise zero windows and nothing
 * drains: every connection stalls for good. With it the owed bytes wait in the connection's own buffer
 * and the socket reports writable again as soon as it has sent what it held. */
#define UNSENT_MAX (128 * 1024)

struct conn {
	struct upper_conn uc;
	int fd;
	uint32_t interest; /* the epoll events registered now */
	struct conn *prev, *next;
};

struct worker {
	struct serve_worker lw; /* first: options, stop eventfd, thread, error (serve_main) */
	int ep, lfd;
	int paused;           /* accepting is paused after EMFILE/ENFILE */
	uint64_t resume_ns;   /* until then (util_now_ns()), unless a connection closes first */
	struct conn *conns;   /* every open connection, for the cleanup at stop */
	unsigned char **pool; /* free buffers of o->bufsize bytes, lent to connections with bytes */
	size_t npool;
	int busy;                 /* memory was freed since the last trim: trim after QUIET_MS */
	uint64_t limit_logged_ns; /* when the last descriptor-limit line was written (0: never) */
	unsigned long refused;    /* accepts refused at the limit since that line */
	int limit_reported;       /* a limit line was written and accepting has not resumed since */
};

/* Markers told apart from connections in epoll_event.data.ptr. */
static char mark_listen, mark_stop;

static unsigned char *pool_get(struct worker *w)
{
	if (w->npool > 0)
		return w->pool[--w->npool];
	return malloc(w->lw.o->bufsize);
}

static void pool_put(struct worker *w, unsigned char *b)
{
	if (b == NULL)
		return;
	w->busy = 1;
	if (w->npool < POOL_MAX)
		w->pool[w->npool++] = b;
	else
		free(b);
}

/* After a quiet period: keeps POOL_IDLE buffers and gives the rest, and the heap's free pages, back
 * to the system, so that a burst of connections does not leave the process at its peak size. */
static void give_back_memory(struct worker *w)
{
	while (w->npool > POOL_IDLE)
		free(w->pool[--w->npool]);
	(void)malloc_trim(0);
	w->busy = 0;
}

/* Writes this process's open descriptors into out as a number, or "unknown" when even
 * /proc/self/fd cannot be opened (with EMFILE that means every slot is taken: the limit). */
static void describe_open(char *out, size_t len, int err, const struct rlimit *rl)
{
	int n = util_count_fds(getpid());

	if (n > 0)
		snprintf(out, len, "%d", n - 1); /* not the descriptor that listed them */
	else if (err == EMFILE && rl->rlim_cur != RLIM_INFINITY)
		snprintf(out, len, "%llu", (unsigned long long)rl->rlim_cur);
	else
		snprintf(out, len, "unknown");
}

/* accept() failed with EMFILE or ENFILE: says so on stderr, at most once per LIMIT_LOG_MS, with the
 * limit, the open count and how many accepts were refused since the last line. */
static void log_limit(struct worker *w, int err)
{
	uint64_t now = util_now_ns();
	struct rlimit rl = {.rlim_cur = RLIM_INFINITY};
	char open[32], limit[32] = "unlimited";

	w->refused++;
	if (w->limit_logged_ns != 0 && now - w->limit_logged_ns < (uint64_t)LIMIT_LOG_MS * 1000000u)
		return;
	(void)getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur != RLIM_INFINITY)
		snprintf(limit, sizeof limit, "%llu", (unsigned long long)rl.rlim_cur);
	describe_open(open, sizeof open, err, &rl);
	fprintf(stderr,
	        "tcp-upper: accept: %s (%s; descriptor limit %s, %s open, %lu accept%s refused); "
	        "serving the open connections, accepting again as they close\n",
	        strerror(err), err == EMFILE ? "this process is at its limit" : "the system is at its limit",
	        limit, open, w->refused, w->refused == 1 ? "" : "s");
	w->limit_logged_ns = now;
	w->refused = 0;
	w->limit_reported = 1;
}

/* An accept succeeded: after a limit line, says once that accepting has resumed. */
static void log_resumed(struct worker *w)
{
	struct rlimit rl = {.rlim_cur = RLIM_INFINITY};
	char open[32];

	if (!w->limit_reported)
		return;
	describe_open(open, sizeof open, 0, &rl);
	fprintf(stderr, "tcp-upper: accepting again (%s descriptors open)\n", open);
	w->limit_reported = 0;
}

static void conn_close(struct worker *w, struct conn *c)
{
	/* close() removes the descriptor from the epoll set. */
	close(c->fd);
	if (c->uc.buf != NULL)
		pool_put(w, c->uc.buf);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	free(c);
	if (w->paused) {
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &mark_listen};
		if (epoll_ctl(w->ep, EPOLL_CTL_MOD, w->lfd, &ev) == 0)
			w->paused = 0;
	}
}

/* The socket side of drive_wakeup(), for one wakeup of one connection. */
struct sock_ctx {
	struct worker *w;
	int fd;
};

static ssize_t io_result(ssize_t k)
{
	if (k >= 0)
		return k;
	if (errno == EINTR)
		return DRIVE_IO_INTR;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return DRIVE_IO_AGAIN;
	return DRIVE_IO_ERR;
}

static ssize_t sock_send(void *ctx, const unsigned char *p, size_t n)
{
	const struct sock_ctx *x = ctx;
	ssize_t k = send(x->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

	return io_result(k);
}

static ssize_t sock_recv(void *ctx, unsigned char *p, size_t n)
{
	const struct sock_ctx *x = ctx;
	ssize_t k = recv(x->fd, p, n, MSG_DONTWAIT);

	if (k > 0 && x->w->lw.o->verbose)
		(void)serve_log(2, ">> ", p, (size_t)k);
	return io_result(k);
}

static void sock_shutdown(void *ctx)
{
	const struct sock_ctx *x = ctx;

	(void)shutdown(x->fd, SHUT_WR);
}

static unsigned char *sock_buf_get(void *ctx)
{
	return pool_get(((const struct sock_ctx *)ctx)->w);
}

static void sock_buf_put(void *ctx, unsigned char *b)
{
	pool_put(((const struct sock_ctx *)ctx)->w, b);
}

static const struct drive_io sock_io = {
    .send = sock_send,
    .recv = sock_recv,
    .shutdown_wr = sock_shutdown,
    .buf_get = sock_buf_get,
    .buf_put = sock_buf_put,
};

/* One wakeup: drive_wakeup() does what the connection wants until it must wait; then the epoll
 * interest follows what it waits for. */
static void conn_event(struct worker *w, struct conn *c, uint32_t events)
{
	struct sock_ctx x = {.w = w, .fd = c->fd};
	unsigned ready = ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) ? DRIVE_READY_IN : 0u) |
	                 ((events & EPOLLOUT) ? DRIVE_READY_OUT : 0u);
	unsigned want;
	int r = drive_wakeup(&c->uc, &sock_io, &x, ready, &want);

	if (r == DRIVE_CLOSE) {
		conn_close(w, c);
		return;
	}
	if (r != DRIVE_WAIT) {
		/* The core refused what its own wants allowed: a bug in this program, not in the peer. */
		fprintf(stderr, "tcp-upper: bug: the core broke its contract on fd %d (flags %#x)\n", c->fd,
		        c->uc.flags);
		abort();
	}
	uint32_t interest =
	    ((want & UPPER_WANT_READ) ? EPOLLIN : 0u) | ((want & UPPER_WANT_POLLOUT) ? EPOLLOUT : 0u);
	if (interest != c->interest) {
		struct epoll_event ev = {.events = interest, .data.ptr = c};
		if (epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
			conn_close(w, c);
			return;
		}
		c->interest = interest;
	}
}

static void pause_accept(struct worker *w)
{
	struct epoll_event ev = {.events = 0, .data.ptr = &mark_listen};
	if (epoll_ctl(w->ep, EPOLL_CTL_MOD, w->lfd, &ev) == 0) {
		w->paused = 1;
		w->resume_ns = util_now_ns() + (uint64_t)ACCEPT_PAUSE_MS * 1000000u;
	}
}

static void accept_some(struct worker *w)
{
	static const int one = 1, unsent_max = UNSENT_MAX;

	for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
		int fd = accept4(w->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			int err = errno;
			if (err == EINTR || err == ECONNABORTED || err == EPROTO || err == EPERM)
				continue;
			if (err == EMFILE || err == ENFILE)
				log_limit(w, err);
			if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM)
				pause_accept(w); /* no spinning: wait for a close or ACCEPT_PAUSE_MS */
			return;
		}
		log_resumed(w);
		struct conn *c = calloc(1, sizeof *c);
		unsigned char *b = c != NULL ? pool_get(w) : NULL;
		if (b == NULL) {
			free(c);
			close(fd);
			pause_accept(w);
			return;
		}
		upper_conn_init(&c->uc, b, w->lw.o->bufsize);
		pool_put(w, upper_conn_release(&c->uc));
		c->fd = fd;
		c->interest = EPOLLIN;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &unsent_max, sizeof unsent_max);
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
		if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = w->conns;
		if (w->conns != NULL)
			w->conns->prev = c;
		w->conns = c;
	}
}

static void worker_cleanup(struct serve_worker *lw)
{
	struct worker *w = (struct worker *)lw;

	while (w->conns != NULL)
		conn_close(w, w->conns);
	while (w->npool > 0)
		free(w->pool[--w->npool]);
	free(w->pool);
	w->pool = NULL;
	if (w->ep >= 0)
		close(w->ep);
	if (w->lfd >= 0)
		close(w->lfd);
	w->ep = w->lfd = -1;
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[MAX_EVENTS];

	for (;;) {
		int timeout = w->busy ? QUIET_MS : -1;
		if (w->paused) {
			int left = util_ms_left(w->resume_ns);
			if (left == 0) {
				struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &mark_listen};
				if (epoll_ctl(w->ep, EPOLL_CTL_MOD, w->lfd, &ev) == 0)
					w->paused = 0;
			} else if (timeout < 0 || left < timeout) {
				timeout = left;
			}
		}
		int n = epoll_wait(w->ep, evs, MAX_EVENTS, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			serve_worker_fail(&w->lw, "epoll_wait");
			break;
		}
		if (n == 0 && w->busy)
			give_back_memory(w);
		int stop = 0;
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p == &mark_stop)
				stop = 1;
			else if (p == &mark_listen)
				accept_some(w);
			else
				conn_event(w, p, evs[i].events);
		}
		if (stop)
			break;
	}
	return NULL;
}

static int worker_setup(struct serve_worker *lw, const struct net_addr *a, int reuseport,
                        struct net_addr *bound)
{
	struct worker *w = (struct worker *)lw;
	struct epoll_event ev;

	w->ep = w->lfd = -1;
	w->pool = calloc(POOL_MAX, sizeof *w->pool);
	if (w->pool == NULL) {
		snprintf(w->lw.err, sizeof w->lw.err, "out of memory");
		return -1;
	}
	w->lfd = net_listen(a, SOCK_STREAM, reuseport, SOMAXCONN, bound, w->lw.err, sizeof w->lw.err);
	if (w->lfd < 0)
		return -1;
	w->ep = epoll_create1(EPOLL_CLOEXEC);
	if (w->ep < 0) {
		snprintf(w->lw.err, sizeof w->lw.err, "epoll_create1: %s", strerror(errno));
		return -1;
	}
	ev = (struct epoll_event){.events = EPOLLIN, .data.ptr = &mark_listen};
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, w->lfd, &ev) < 0) {
		snprintf(w->lw.err, sizeof w->lw.err, "epoll_ctl: %s", strerror(errno));
		return -1;
	}
	ev = (struct epoll_event){.events = EPOLLIN, .data.ptr = &mark_stop};
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, w->lw.stopfd, &ev) < 0) {
		snprintf(w->lw.err, sizeof w->lw.err, "epoll_ctl: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* --inetd: one connection on stdin (input) and stdout (output), through the same drive_wakeup(). The
 * descriptors stay as given (blocking): they may be a socket, pipes or a file (AFL++ feeds a file on
 * stdin). So every read and write first asks poll() whether it would block, and the loop waits in
 * poll() with the signalfd, so that SIGINT/SIGTERM still stop it promptly. */
struct inetd_ctx {
	unsigned char *spare; /* the one buffer, while the connection has given it back */
	int verbose;
};

static int inetd_ready(int fd, short events)
{
	struct pollfd pf = {.fd = fd, .events = events};

	return poll(&pf, 1, 0) != 0; /* an error counts as ready: the read or write reports it */
}

static ssize_t inetd_send(void *ctx, const unsigned char *p, size_t n)
{
	(void)ctx;
	if (!inetd_ready(1, POLLOUT))
		return DRIVE_IO_AGAIN;
	return io_result(write(1, p, n));
}

static ssize_t inetd_recv(void *ctx, unsigned char *p, size_t n)
{
	const struct inetd_ctx *x = ctx;

	if (!inetd_ready(0, POLLIN))
		return DRIVE_IO_AGAIN;
	ssize_t k = read(0, p, n);
	if (k > 0 && x->verbose)
		(void)serve_log(2, ">> ", p, (size_t)k);
	return io_result(k);
}

static void inetd_shutdown(void *ctx)
{
	(void)ctx;
	/* stdout may be a pipe or file (ENOTSOCK): then closing it at exit is the FIN. */
	(void)shutdown(1, SHUT_WR);
}

static unsigned char *inetd_buf_get(void *ctx)
{
	struct inetd_ctx *x = ctx;
	unsigned char *b = x->spare;

	x->spare = NULL;
	return b;
}

static void inetd_buf_put(void *ctx, unsigned char *b)
{
	((struct inetd_ctx *)ctx)->spare = b;
}

static const struct drive_io inetd_io = {
    .send = inetd_send,
    .recv = inetd_recv,
    .shutdown_wr = inetd_shutdown,
    .buf_get = inetd_buf_get,
    .buf_put = inetd_buf_put,
};

static int inetd_run(const struct serve_opts *o, int sigfd)
{
	struct upper_conn uc;
	struct inetd_ctx x = {.spare = NULL, .verbose = o->verbose};
	unsigned char *buf = malloc(o->bufsize);
	unsigned ready = 0, want;
	int rc = 0;

	if (buf == NULL) {
		fprintf(stderr, "tcp-upper: --inetd: out of memory for a %zu byte buffer\n", o->bufsize);
		return 1;
	}
	upper_conn_init(&uc, buf, o->bufsize);
	for (;;) {
		int r = drive_wakeup(&uc, &inetd_io, &x, ready, &want);
		if (r == DRIVE_CLOSE)
			break;
		if (r != DRIVE_WAIT) {
			fprintf(stderr, "tcp-upper: bug: --inetd: the core broke its contract (flags %#x)\n",
			        uc.flags);
			abort();
		}
		/* A negative fd is ignored by poll(): wait only for what the connection waits for. */
		struct pollfd pf[3] = {{.fd = sigfd, .events = POLLIN},
		                       {.fd = (want & UPPER_WANT_READ) ? 0 : -1, .events = POLLIN},
		                       {.fd = (want & UPPER_WANT_POLLOUT) ? 1 : -1, .events = POLLOUT}};
		ready = 0;
		if (poll(pf, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "tcp-upper: --inetd: poll: %s\n", strerror(errno));
			rc = 1;
			break;
		}
		if (pf[0].revents)
			break; /* SIGINT/SIGTERM: stop */
		ready = (pf[1].revents ? DRIVE_READY_IN : 0u) | (pf[2].revents ? DRIVE_READY_OUT : 0u);
	}
	free(uc.buf != NULL ? uc.buf : x.spare);
	return rc;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: tcp-upper [-l ADDR:PORT] [-t THREADS] [-b BYTES] [-v] [--inetd]\n"
	    "Reference TCP server of the uppercase protocol: returns every byte received, 'a'-'z' made\n"
	    "'A'-'Z', on the same connection (SPEC.md, T1-T9).\n"
	    "  -l ADDR:PORT  listen address (default " SERVE_DEFAULT_ADDR "); [::1]:PORT for IPv6;\n"
	    "                port 0 picks a free port. The first stderr line is 'listening on tcp "
	    "ADDR:PORT'.\n"
	    "  -t THREADS    threads, each with its own SO_REUSEPORT listener and epoll loop (default 1)\n"
	    "  -b BYTES      per-connection buffer bound, suffix k, m or g allowed (default %uk); a "
	    "connection\n"
	    "                holds a buffer only while it has bytes to send back\n"
	    "  -v            log each message received on stderr as '>> ' and the bytes, escaped\n"
	    "  --inetd       serve one connection on stdin/stdout, then exit\n"
	    "  --help        this text\n"
	    "SIGINT or SIGTERM stops it; exit status 0 then, 1 on a runtime error, 2 on a usage or set-up\n"
	    "error (bad option, address in use or not local).\n",
	    SERVE_DEFAULT_BUF / 1024u);
}

int main(int argc, char **argv)
{
	static const struct serve_server server = {
	    .prog = "tcp-upper",
	    .proto = "tcp",
	    .type = SOCK_STREAM,
	    .options = SERVE_OPT_INETD | SERVE_OPT_BUF,
	    .usage = usage,
	    .size = sizeof(struct worker),
	    .setup = worker_setup,
	    .run = worker_run,
	    .cleanup = worker_cleanup,
	    .inetd = inetd_run,
	};

	return serve_main(&server, argc, argv);
}
