/* tcp_upper.c - the reference TCP uppercase server (SPEC T1-T9, B1, B2): one event loop per thread,
 * tcp_loop.h's, bound here to the real system calls (epoll, accept4, send and recv with MSG_DONTWAIT,
 * malloc_trim, getrlimit); every decision about a connection is drive_wakeup()'s (drive.h). --inetd
 * serves one connection on stdin/stdout through the same drive_wakeup(). */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdatomic.h>
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
#include "tcp_loop.h"
#include "upper.h"
#include "util.h"

/* Bytes a connection may leave unsent in its socket (TCP_NOTSENT_LOWAT); unbounded, slow readers stall
 * for good under the host's TCP memory pressure: see RELIABILITY.md, 'Mass backpressure'. */
#define UNSENT_MAX (128 * 1024)
/* The longest wait to retransmit (TCP_RTO_MAX_MS) keeps thousands of connections out of the back-off
 * that follows that pressure: see RELIABILITY.md, 'The 2000-client stall'. */
#define RETRANSMIT_WAIT_MAX_MS 1000
#define RETRANSMIT_WAIT_KERNEL_MS 120000 /* the kernel's own bound (TCP_RTO_MAX), given back at close */

/* The kernel memory of the connections' sockets: a budget shared by the open connections
 * (RELIABILITY.md, 'A kernel-memory budget instead of a fixed clamp'). A fixed bound per socket costs
 * throughput when few connections stream, and no fixed bound keeps thousands of them under the host's
 * pressure threshold: what matters is the total. The budget is half the host's pressure threshold
 * (tcp_mem[1] pages, read at start; the other half is left to the rest of the host, on loopback the
 * clients), or --socket-budget. With n connections open, each may hold budget / L, L the power of two
 * at or above n: while that is at least what an autotuned socket can reach (tcp_rmem[2] +
 * tcp_wmem[2]) the socket keeps the kernel's autotuning; below it SO_RCVBUF and SO_SNDBUF are each set
 * to a quarter of the share (the kernel doubles both figures for its bookkeeping), which turns
 * autotuning off for that socket. New connections get the share of the moment, and when the count
 * crosses a power of two upwards the loop that accepts sets the new share on all its connections too:
 * without that, connections arriving one after another would hold budget / 1 + budget / 2 + ..., about
 * ln(n) budgets. Crossing downwards changes nothing until the count falls to a quarter (so a count
 * that swings across a boundary does not walk the connections on every accept): the survivors of a
 * burst keep their smaller bounds, later connections get the larger share. Each thread re-sets only
 * its own connections, when it accepts; SO_REUSEPORT spreads the accepts of a burst over them. Below
 * BUFFER_MIN per buffer (beyond about budget / 64 KiB connections) the total may pass the budget. */
#define BUFFER_MIN (16 * 1024)
#define BUDGET_FALLBACK (512ull * 1024 * 1024)   /* when tcp_mem cannot be read */
#define AUTOTUNED_FALLBACK (10ull * 1024 * 1024) /* the kernel's default tcp_rmem[2] + tcp_wmem[2] */

static struct {
	unsigned long long budget;    /* bytes the connections' socket buffers may hold together */
	unsigned long long autotuned; /* the most one autotuned socket may hold */
	atomic_ulong open;            /* connections open, all threads together */
} kmem;

struct worker {
	struct serve_worker lw; /* first: options, stop eventfd, thread, error (serve_main) */
	int ep, lfd;
	int loop_ready;      /* loop was initialised: cleanup closes its connections */
	unsigned long level; /* the connection count this loop's connections are bounded for (see kmem) */
	struct tcp_loop loop;
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

/* The loop's system calls (tcp_loop.h): each is the one syscall, with errno as a negative result. */
static int sys_accept(void *ctx, int listener)
{
	(void)ctx;
	int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	return fd >= 0 ? fd : -errno;
}

static int sys_wait(void *ctx, struct epoll_event *evs, int max, int timeout_ms)
{
	const struct worker *w = ctx;
	int n = epoll_wait(w->ep, evs, max, timeout_ms);

	return n >= 0 ? n : -errno;
}

static int sys_ctl(void *ctx, int op, int fd, struct epoll_event *ev)
{
	const struct worker *w = ctx;

	return epoll_ctl(w->ep, op, fd, ev) == 0 ? 0 : -errno;
}

static ssize_t sys_send(void *ctx, int fd, const unsigned char *p, size_t n)
{
	(void)ctx;
	return io_result(send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT));
}

static ssize_t sys_recv(void *ctx, int fd, unsigned char *p, size_t n)
{
	const struct worker *w = ctx;
	ssize_t k = recv(fd, p, n, MSG_DONTWAIT);

	if (k > 0 && w->lw.o->verbose)
		(void)serve_log(2, ">> ", p, (size_t)k);
	return io_result(k);
}

static void sys_shutdown(void *ctx, int fd)
{
	(void)ctx;
	(void)shutdown(fd, SHUT_WR);
}

static void sys_close(void *ctx, int fd)
{
	static const int kernel_max = RETRANSMIT_WAIT_KERNEL_MS;
	const struct worker *w = ctx;

	if (w->lw.o->sockbuf == SERVE_SOCKBUF_BUDGET)
		atomic_fetch_sub(&kmem.open, 1);
	/* The kernel gives an orphan that still holds bytes up once its retransmission wait reaches the
	 * socket's bound: a slow reader would lose the rest (see RELIABILITY.md, 'The 2000-client stall'). */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_RTO_MAX_MS, &kernel_max, sizeof kernel_max);
	close(fd);
}

/* The first figure of /proc/sys/net/ipv4/NAME selected by which (0, 1 or 2), or 0. */
static unsigned long long sysctl_figure(const char *name, int which)
{
	char path[128];
	unsigned long long v[3] = {0, 0, 0};

	snprintf(path, sizeof path, "/proc/sys/net/ipv4/%s", name);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	if (fscanf(f, "%llu %llu %llu", &v[0], &v[1], &v[2]) != 3)
		v[which] = 0;
	fclose(f);
	return v[which];
}

/* The budget and the autotuned socket's reach (kmem), once, before the workers start. */
static void kmem_setup(const struct serve_opts *o)
{
	unsigned long long pressure = sysctl_figure("tcp_mem", 1) * (unsigned long long)sysconf(_SC_PAGESIZE);
	unsigned long long rmem = sysctl_figure("tcp_rmem", 2), wmem = sysctl_figure("tcp_wmem", 2);

	kmem.budget = o->sockbudget > 0 ? o->sockbudget : pressure > 0 ? pressure / 2 : BUDGET_FALLBACK;
	kmem.autotuned = rmem > 0 && wmem > 0 ? rmem + wmem : AUTOTUNED_FALLBACK;
}

static unsigned long level_of(unsigned long n)
{
	unsigned long level = 1;

	while (level < n && level < ULONG_MAX / 2)
		level <<= 1;
	return level;
}

/* SO_RCVBUF and SO_SNDBUF for a socket when level connections share the budget; 0: autotuning. */
static int buffer_at(unsigned long level)
{
	unsigned long long share = kmem.budget / level;

	if (share >= kmem.autotuned)
		return 0;
	share /= 4; /* two buffers, each doubled by the kernel */
	return share < BUFFER_MIN ? BUFFER_MIN : share > INT_MAX ? INT_MAX : (int)share;
}

static void set_buffers(int fd, int bytes)
{
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
}

/* A new connection's share of the budget (kmem), and the loop's other connections' when the count has
 * crossed a power of two upwards. */
static void budget_share(struct worker *w, int fd)
{
	unsigned long level = level_of(atomic_fetch_add(&kmem.open, 1) + 1);

	if (level > w->level) {
		int bytes = buffer_at(level);
		for (const struct tcp_loop_conn *c = w->loop.conns; bytes > 0 && c != NULL; c = c->next)
			set_buffers(c->fd, bytes);
		w->level = level;
	} else if (level * 4 <= w->level) {
		w->level = level;
	}
	int bytes = buffer_at(w->level);
	if (bytes > 0)
		set_buffers(fd, bytes);
}

static void sys_tune(void *ctx, int fd)
{
	static const int one = 1, unsent_max = UNSENT_MAX, retransmit_wait_max = RETRANSMIT_WAIT_MAX_MS;
	struct worker *w = ctx;
	size_t fixed = w->lw.o->sockbuf;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &unsent_max, sizeof unsent_max);
	if (fixed == SERVE_SOCKBUF_BUDGET)
		budget_share(w, fd);
	else if (fixed > 0)
		set_buffers(fd, (int)fixed);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_RTO_MAX_MS, &retransmit_wait_max, sizeof retransmit_wait_max);
}

static uint64_t sys_now(void *ctx)
{
	(void)ctx;
	return util_now_ns();
}

static unsigned long long sys_fd_limit(void *ctx)
{
	struct rlimit rl = {.rlim_cur = RLIM_INFINITY};

	(void)ctx;
	(void)getrlimit(RLIMIT_NOFILE, &rl);
	return rl.rlim_cur != RLIM_INFINITY ? (unsigned long long)rl.rlim_cur : 0;
}

/* This process's open descriptors, from /proc/self/fd, which cannot be opened when every slot is
 * taken (EMFILE): -1 then. */
static int sys_fd_count(void *ctx)
{
	int n = util_count_fds(getpid());

	(void)ctx;
	return n > 0 ? n - 1 : -1; /* not the descriptor that listed them */
}

static void sys_log(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "%s\n", line);
}

static void sys_trim(void *ctx)
{
	(void)ctx;
	(void)malloc_trim(0);
}

static void *sys_alloc(void *ctx, size_t n)
{
	(void)ctx;
	return malloc(n);
}

static void sys_release(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

static const struct tcp_loop_io sys_io = {
    .accept = sys_accept,
    .wait = sys_wait,
    .ctl = sys_ctl,
    .send = sys_send,
    .recv = sys_recv,
    .shutdown_wr = sys_shutdown,
    .close = sys_close,
    .tune = sys_tune,
    .now_ns = sys_now,
    .fd_limit = sys_fd_limit,
    .fd_count = sys_fd_count,
    .log = sys_log,
    .trim = sys_trim,
    .alloc = sys_alloc,
    .release = sys_release,
};

static void worker_cleanup(struct serve_worker *lw)
{
	struct worker *w = (struct worker *)lw;

	if (w->loop_ready)
		tcp_loop_cleanup(&w->loop);
	w->loop_ready = 0;
	if (w->ep >= 0)
		close(w->ep);
	if (w->lfd >= 0)
		close(w->lfd);
	w->ep = w->lfd = -1;
}

/* The per-thread loop: tcp_loop_step() until the stop descriptor or an error. */
static void *worker_run(void *arg)
{
	struct worker *w = arg;

	for (;;) {
		enum tcp_loop_result r = tcp_loop_step(&w->loop);
		if (r == TCP_LOOP_STOP)
			break;
		if (r == TCP_LOOP_FAILED) {
			serve_worker_fail(&w->lw, "epoll_wait");
			break;
		}
		if (r == TCP_LOOP_BROKEN) {
			fprintf(stderr, "tcp-upper: bug: %s\n", w->loop.err);
			abort();
		}
	}
	return NULL;
}

static int worker_setup(struct serve_worker *lw, const struct net_addr *a, int reuseport,
                        struct net_addr *bound)
{
	struct worker *w = (struct worker *)lw;

	w->ep = w->lfd = -1;
	w->level = 0;
	if (kmem.budget == 0)
		kmem_setup(w->lw.o); /* the workers are set up one after another, before any runs */
	w->lfd = net_listen(a, SOCK_STREAM, reuseport, SOMAXCONN, bound, w->lw.err, sizeof w->lw.err);
	if (w->lfd < 0)
		return -1;
	w->ep = epoll_create1(EPOLL_CLOEXEC);
	if (w->ep < 0) {
		snprintf(w->lw.err, sizeof w->lw.err, "epoll_create1: %s", strerror(errno));
		return -1;
	}
	if (tcp_loop_init(&w->loop, &sys_io, w, w->lfd, w->lw.stopfd, w->lw.o->bufsize, w->lw.err,
	                  sizeof w->lw.err) != 0)
		return -1;
	w->loop_ready = 1;
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
	    "usage: tcp-upper [-l [ADDR]:PORT|PORT] [-t THREADS] [-b BYTES] [--socket-budget BYTES]\n"
	    "                 [--socket-buffer BYTES] [-v] [--inetd]\n"
	    "Reference TCP server of the uppercase protocol: returns every byte received, 'a'-'z' made\n"
	    "'A'-'Z', on the same connection (SPEC.md, T1-T9).\n"
	    "  -l ADDR:PORT  listen address (default " SERVE_DEFAULT_ADDR "); [::1]:PORT for IPv6;\n"
	    "                PORT alone is that port on 127.0.0.1, :PORT that port on every IPv4 address\n"
	    "                (it listens beyond loopback only when asked); port 0 picks a free port.\n"
	    "                The first stderr line is 'listening on tcp ADDR:PORT'.\n"
	    "  -t THREADS    threads, each with its own SO_REUSEPORT listener and epoll loop (default 1)\n"
	    "  -b BYTES      per-connection buffer bound, suffix k, m or g allowed (default %uk); a "
	    "connection\n"
	    "                holds a buffer only while it has bytes to send back\n"
	    "  --socket-budget BYTES  the kernel memory the connections' sockets may hold together\n"
	    "                (default: half the host's TCP pressure threshold, tcp_mem[1]): few connections\n"
	    "                keep the kernel's autotuning, many share the budget through SO_RCVBUF and\n"
	    "                SO_SNDBUF; suffix k, m or g allowed\n"
	    "  --socket-buffer BYTES  instead of the budget, this SO_RCVBUF and SO_SNDBUF for every\n"
	    "                connection; 0 leaves the kernel's autotuning to all (unbounded)\n"
	    "  -v            log each message received on stderr as '>> ' and the bytes, escaped\n"
	    "  --inetd       serve one connection on stdin/stdout, then exit\n"
	    "  --help        this text;  --version  the version\n"
	    "SIGINT or SIGTERM stops it; exit status 0 then, 1 on a runtime error, 2 on a usage or set-up\n"
	    "error (bad option, address in use or not local).\n"
	    "Examples:\n"
	    "  tcp-upper -l 8082                  port 8082 on 127.0.0.1 (nc's -l 8082 listens everywhere)\n"
	    "  tcp-upper -l '[::1]:0' -t 2 -v     IPv6 loopback, a free port, 2 threads\n"
	    "  printf 'hi\\n' | tcp-upper --inetd  one connection on stdin/stdout\n",
	    SERVE_DEFAULT_BUF / 1024u);
}

int main(int argc, char **argv)
{
	static const struct serve_server server = {
	    .prog = "tcp-upper",
	    .proto = "tcp",
	    .type = SOCK_STREAM,
	    .options = SERVE_OPT_INETD | SERVE_OPT_BUF | SERVE_OPT_SOCKBUF,
	    .usage = usage,
	    .size = sizeof(struct worker),
	    .setup = worker_setup,
	    .run = worker_run,
	    .cleanup = worker_cleanup,
	    .inetd = inetd_run,
	};

	return serve_main(&server, argc, argv);
}
