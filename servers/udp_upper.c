/* udp_upper.c - the reference UDP uppercase server (SPEC U1-U6, B1, B2): each thread runs the batch loop
 * of udp_loop.c (recvmmsg a batch, answer each datagram in place through the core's UDP rule, sendmmsg the
 * replies, one per datagram to its sender) over the shims below, which bind it to its socket's syscalls. */
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"
#include "serve.h"
#include "udp_loop.h"

#define RCVBUF (4 * 1024 * 1024) /* room for bursts; the kernel may cap it */

struct uworker {
	struct serve_worker lw; /* first: options, stop eventfd, thread, error (serve_main) */
	int fd;
	struct udp_loop loop; /* the batch loop (udp_loop.c), over the shims below */
};

/* ---- the loop's I/O, bound to the socket and the stop eventfd ---- */

/* poll() on the socket and the stop eventfd. Without a timeout (-1) any wakeup but the stop counts as
 * ready, as the receive that follows finds out what there is. */
static enum udp_loop_wait wait_for(const struct uworker *w, short events, int timeout_ms)
{
	struct pollfd pf[2] = {{.fd = w->fd, .events = events}, {.fd = w->lw.stopfd, .events = POLLIN}};
	int r = poll(pf, 2, timeout_ms);

	if (r < 0)
		return UDP_LOOP_WAIT_FAILED;
	if (r > 0 && pf[1].revents)
		return UDP_LOOP_WAIT_STOP;
	if (r > 0 && (timeout_ms < 0 || (pf[0].revents & events)))
		return UDP_LOOP_WAIT_READY;
	return UDP_LOOP_WAIT_NONE;
}

static enum udp_loop_wait io_wait_readable(void *ctx)
{
	return wait_for(ctx, POLLIN, -1);
}

static enum udp_loop_wait io_wait_writable(void *ctx, int timeout_ms)
{
	return wait_for(ctx, POLLOUT, timeout_ms);
}

static int io_receive(void *ctx, struct mmsghdr *msgs, unsigned vlen)
{
	const struct uworker *w = ctx;

	return recvmmsg(w->fd, msgs, vlen, MSG_DONTWAIT, NULL);
}

static int io_send(void *ctx, struct mmsghdr *msgs, unsigned vlen)
{
	const struct uworker *w = ctx;

	return sendmmsg(w->fd, msgs, vlen, MSG_DONTWAIT);
}

static void io_log(void *ctx, const unsigned char *p, size_t n)
{
	(void)ctx;
	(void)serve_log(2, ">> ", p, n);
}

static void *uworker_run(void *arg)
{
	struct uworker *w = arg;
	enum udp_loop_step s;

	while ((s = udp_loop_step(&w->loop)) == UDP_LOOP_STEP_AGAIN)
		;
	if (s == UDP_LOOP_STEP_FAILED)
		serve_worker_fail(&w->lw, "poll");
	return NULL;
}

static int uworker_setup(struct serve_worker *lw, const struct net_addr *a, int reuseport,
                         struct net_addr *bound)
{
	struct uworker *w = (struct uworker *)lw;
	const struct udp_loop_io io = {
	    .wait_readable = io_wait_readable,
	    .receive = io_receive,
	    .send = io_send,
	    .wait_writable = io_wait_writable,
	    .log = w->lw.o->verbose ? io_log : NULL,
	    .ctx = w,
	};
	int sz = RCVBUF;

	w->fd = -1;
	if (udp_loop_init(&w->loop, &io, w->lw.err, sizeof w->lw.err) < 0)
		return -1;
	w->fd = net_listen(a, SOCK_DGRAM, reuseport, 0, bound, w->lw.err, sizeof w->lw.err);
	if (w->fd < 0)
		return -1;
	/* SO_RCVBUFFORCE passes rmem_max when privileged; otherwise SO_RCVBUF gets what the kernel allows. */
	if (setsockopt(w->fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) < 0)
		(void)setsockopt(w->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	if (setsockopt(w->fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) < 0)
		(void)setsockopt(w->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	return 0;
}

static void uworker_cleanup(struct serve_worker *lw)
{
	struct uworker *w = (struct uworker *)lw;

	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	udp_loop_free(&w->loop);
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: udp-upper [-l [ADDR]:PORT|PORT] [-t THREADS] [-v]\n"
	    "Reference UDP server of the uppercase protocol: answers each datagram with one datagram, "
	    "'a'-'z'\n"
	    "made 'A'-'Z', to its sender; datagrams up to 65507 (IPv4) / 65527 (IPv6) bytes are answered "
	    "whole\n"
	    "and an empty datagram gets an empty reply (SPEC.md, U1-U6).\n"
	    "  -l ADDR:PORT  listen address (default " SERVE_DEFAULT_ADDR "); [::1]:PORT for IPv6;\n"
	    "                PORT alone is that port on 127.0.0.1, :PORT that port on every IPv4 address\n"
	    "                (it listens beyond loopback only when asked); port 0 picks a free port.\n"
	    "                The first stderr line is 'listening on udp ADDR:PORT'.\n"
	    "  -t THREADS    threads, each with its own SO_REUSEPORT socket (default 1)\n"
	    "  -v            log each datagram received on stderr as '>> ' and the bytes, escaped\n"
	    "  --help        this text;  --version  the version\n"
	    "SIGINT or SIGTERM stops it; exit status 0 then, 1 on a runtime error, 2 on a usage or set-up\n"
	    "error (bad option, address in use or not local).\n"
	    "Examples:\n"
	    "  udp-upper -l 8082                  port 8082 on 127.0.0.1\n"
	    "  udp-upper -l 127.0.0.1:0 -t 2      a free port, 2 threads\n");
}

int main(int argc, char **argv)
{
	static const struct serve_server server = {
	    .prog = "udp-upper",
	    .proto = "udp",
	    .type = SOCK_DGRAM,
	    .usage = usage,
	    .size = sizeof(struct uworker),
	    .setup = uworker_setup,
	    .run = uworker_run,
	    .cleanup = uworker_cleanup,
	};

	return serve_main(&server, argc, argv);
}
