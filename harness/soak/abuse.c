/* abuse.c - the TCP abuse cases besides mass backpressure: a reset storm, slow clients, half-open
 * clients, descriptor exhaustion and SIGTERM under load. Each keeps a steady client checking every
 * reply while the abuse goes on, and reports the figures of soak.h. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "soak.h"
#include "util.h"

#define STEADY_ID 0xfffffu
#define STEADY_BYTES 512
#define STEADY_MS 5000 /* a steady reply later than this counts as not served (a loaded host is slow) */

/* A client that keeps one connection and checks each reply while the abuse goes on. */
struct steady {
	int fd;
	uint64_t off;
	long ok, total;
	uint64_t verified;
	char why[200];
};

/* Ends a case that abused the server from start to end (util_now_ns() values): lets it settle (the
 * short version waits less) and records the case's duration. */
static void case_end(const struct soak_server *s, const struct soak_plan *p, struct soak_figures *f,
                     uint64_t start, uint64_t end)
{
	soak_settle(s, f, end, p->small ? 2500 : 5000);
	f->secs = (double)(end - start) / 1e9;
}
static int steady_open(struct steady *st, const struct net_addr *a)
{
	memset(st, 0, sizeof *st);
	st->fd = soak_connect(a, 0, st->why, sizeof st->why);
	return st->fd < 0 ? -1 : 0;
}

/* One exchange: STEADY_BYTES out, the same number back within STEADY_MS, checked. */
static void steady_step(struct steady *st)
{
	unsigned char out[STEADY_BYTES], in[STEADY_BYTES];
	size_t have = 0;
	uint64_t deadline = util_now_ns() + (uint64_t)STEADY_MS * 1000000u;

	st->total++;
	if (st->fd < 0)
		return;
	soak_stream(out, sizeof out, STEADY_ID, st->off);
	if (send(st->fd, out, sizeof out, MSG_NOSIGNAL) != (ssize_t)sizeof out) {
		snprintf(st->why, sizeof st->why, "steady client: send: %s", strerror(errno));
		close(st->fd);
		st->fd = -1;
		return;
	}
	while (have < sizeof in && util_ms_left(deadline) > 0) {
		struct pollfd p = {.fd = st->fd, .events = POLLIN};
		if (poll(&p, 1, util_ms_left(deadline)) <= 0)
			continue;
		ssize_t k = recv(st->fd, in + have, sizeof in - have, MSG_DONTWAIT);
		if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
			break;
		have += k > 0 ? (size_t)k : 0;
	}
	if (have == sizeof in && soak_check(in, have, STEADY_ID, st->off, 0) == have) {
		st->ok++;
		st->verified += have;
		st->off += have;
		return;
	}
	snprintf(st->why, sizeof st->why, "steady client: exchange %ld got %zu of %d bytes%s", st->total,
	         have, STEADY_BYTES, have == sizeof in ? ", wrong ones" : " in time");
	close(st->fd);
	st->fd = -1;
}

static void steady_close(struct steady *st, struct soak_figures *f)
{
	if (st->fd >= 0)
		close(st->fd);
	f->load = st->ok;
	f->offered = st->total;
	f->bytes_verified += st->verified;
	f->ok = st->ok == st->total && st->total > 0;
	if (!f->ok && f->note[0] == '\0')
		snprintf(f->note, sizeof f->note, "%s", st->why[0] ? st->why : "no steady exchange ran");
}

/* Aborts fd with a reset (SO_LINGER 0), as a client that crashes mid-stream. */
static void abort_connection(int fd)
{
	struct linger l = {.l_onoff = 1, .l_linger = 0};

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
	close(fd);
}

int soak_reset_storm(struct soak_server *s, const struct soak_plan *p, struct soak_figures *f)
{
	int batch = p->small ? 20 : 200;
	uint64_t start = util_now_ns(), deadline = start + (uint64_t)(p->seconds * 1e9);
	int *fds = calloc((size_t)batch, sizeof *fds);
	struct steady st;
	long aborted = 0, wrong = 0;

	if (fds == NULL || soak_sample(s, f, 1) < 0 || steady_open(&st, &s->addrs.tcp) < 0) {
		snprintf(f->note, sizeof f->note, "set-up failed");
		free(fds);
		return -1;
	}
	for (uint32_t round = 0; util_ms_left(deadline) > 0; round++) {
		for (int i = 0; i < batch; i++) {
			uint64_t off = 0;
			fds[i] = soak_connect(&s->addrs.tcp, 0, f->note, sizeof f->note);
			if (fds[i] >= 0)
				soak_send_some(fds[i], round * (uint32_t)batch + (uint32_t)i, &off, 32768);
		}
		steady_step(&st);
		util_sleep_ms(5);
		for (int i = 0; i < batch; i++) {
			uint64_t got = 0;
			if (fds[i] < 0)
				continue;
			long v = soak_read_check(fds[i], round * (uint32_t)batch + (uint32_t)i, &got);
			wrong += v < 0;
			f->bytes_verified += v > 0 ? (uint64_t)v : 0;
			abort_connection(fds[i]);
			aborted++;
		}
		(void)soak_sample(s, f, 0);
	}
	f->note[0] = '\0';
	steady_close(&st, f);
	uint64_t end = util_now_ns();
	if (wrong > 0) {
		f->ok = 0;
		snprintf(f->note, sizeof f->note, "%ld aborted clients read a wrong byte", wrong);
	} else if (f->ok) {
		snprintf(f->note, sizeof f->note, "%ld connections reset mid-stream", aborted);
	}
	case_end(s, p, f, start, end);
	free(fds);
	return 0;
}

/* Slow clients: each sends its stream a few bytes at a time and reads the reply a few bytes at a
 * time; at the end it half-closes and reads the rest, which must be the whole reply. */
struct slow {
	int fd;
	uint64_t sent, got;
	int state; /* 0 running, 1 complete, 2 failed */
};

static int slow_finish(struct slow *c, uint32_t id, uint64_t deadline)
{
	(void)shutdown(c->fd, SHUT_WR);
	while (util_ms_left(deadline) > 0) {
		struct pollfd pf = {.fd = c->fd, .events = POLLIN};
		if (poll(&pf, 1, util_ms_left(deadline)) <= 0)
			continue;
		unsigned char buf[4096];
		ssize_t k = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
		if (k == 0)
			return c->got == c->sent ? 0 : -1;
		if (k < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -1;
		}
		if (soak_check(buf, (size_t)k, id, c->got, 0) != (size_t)k)
			return -1;
		c->got += (uint64_t)k;
	}
	return -1;
}

int soak_slow_clients(struct soak_server *s, const struct soak_plan *p, struct soak_figures *f)
{
	int n = p->small ? 20 : 200;
	struct slow *c = calloc((size_t)n, sizeof *c);
	uint64_t start = util_now_ns(), deadline = start + (uint64_t)(p->seconds * 0.8e9);
	struct steady st;
	long complete = 0;

	if (c == NULL || soak_sample(s, f, 1) < 0 || steady_open(&st, &s->addrs.tcp) < 0) {
		snprintf(f->note, sizeof f->note, "set-up failed");
		free(c);
		return -1;
	}
	for (int i = 0; i < n; i++)
		c[i].fd = soak_connect(&s->addrs.tcp, 4096, f->note, sizeof f->note);
	while (util_ms_left(deadline) > 0) {
		for (int i = 0; i < n; i++) {
			unsigned char one[3];
			if (c[i].fd < 0 || c[i].state != 0)
				continue;
			soak_send_some(c[i].fd, (uint32_t)i, &c[i].sent, 1 + (size_t)(i % 3));
			ssize_t k = recv(c[i].fd, one, sizeof one, MSG_DONTWAIT);
			if (k > 0 && soak_check(one, (size_t)k, (uint32_t)i, c[i].got, 0) != (size_t)k)
				c[i].state = 2;
			c[i].got += k > 0 ? (uint64_t)k : 0;
		}
		steady_step(&st);
		(void)soak_sample(s, f, 0);
		util_sleep_ms(20);
	}
	uint64_t finish = util_now_ns() + (uint64_t)(p->seconds * 0.2e9) + 2000000000u;
	for (int i = 0; i < n; i++) {
		if (c[i].fd >= 0 && c[i].state == 0 && slow_finish(&c[i], (uint32_t)i, finish) == 0) {
			complete++;
			f->bytes_verified += c[i].got;
		}
		if (c[i].fd >= 0)
			close(c[i].fd);
	}
	uint64_t end = util_now_ns();
	f->note[0] = '\0';
	steady_close(&st, f);
	if (complete < n) {
		f->ok = 0;
		snprintf(f->note, sizeof f->note, "%ld of %d slow clients got their whole reply", complete,
		         n);
	} else if (f->ok) {
		snprintf(f->note, sizeof f->note, "%d slow clients, all replies whole", n);
	}
	case_end(s, p, f, start, end);
	free(c);
	return 0;
}
