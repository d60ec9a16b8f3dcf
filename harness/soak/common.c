/* common.c - the abuse suite's server handling, /proc figures, probes and client streams (soak.h). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "oracle.h"
#include "soak.h"
#include "util.h"

int soak_server_start(struct soak_server *s, char *err, size_t errlen)
{
	struct child_options o = {0};

	o.command = s->command;
	o.want = s->proto;
	o.nofile = s->nofile;
	o.log_max = 1u << 20;
	return child_start(&o, &s->child, &s->addrs, err, errlen);
}

void soak_server_stop(struct soak_server *s, int wait_ms)
{
	if (s->child == NULL)
		return;
	child_stop(s->child, SIGTERM, wait_ms, NULL);
	child_free(s->child);
	s->child = NULL;
}

int soak_sample(const struct soak_server *s, struct soak_figures *f, int before)
{
	pid_t pid = child_pid(s->child);
	long rss = util_rss_kib(pid), fds = util_count_fds(pid);

	if (rss < 0 || fds < 0)
		return -1;
	if (before) {
		f->rss_before = f->rss_peak = rss;
		f->fds_before = f->fds_peak = fds;
	}
	if (rss > f->rss_peak)
		f->rss_peak = rss;
	if (fds > f->fds_peak)
		f->fds_peak = fds;
	return 0;
}

void soak_settle(const struct soak_server *s, struct soak_figures *f, uint64_t abuse_end_ns, int quiet_ms)
{
	char err[256] = "";
	pid_t pid = child_pid(s->child);
	uint64_t until = util_now_ns() + (uint64_t)quiet_ms * 1000000u;
	int steady = 0;

	f->recover_ms = -1;
	while (f->recover_ms < 0 && util_ms_left(until) > 0) {
		int r = s->proto == CHILD_UDP ? soak_udp_ping(&s->addrs.udp, 500, err, sizeof err)
		                              : soak_tcp_ping(&s->addrs.tcp, 500, err, sizeof err);
		if (r == 0)
			f->recover_ms = (long)((util_now_ns() - abuse_end_ns) / 1000000u);
		else
			util_sleep_ms(50);
	}
	/* Memory: the server may give it back after a quiet period of its own; wait until it has been
	 * steady for a second, or the time is up. */
	long last = util_rss_kib(pid);
	while (util_ms_left(until) > 0 && steady < 10) {
		util_sleep_ms(100);
		long now = util_rss_kib(pid);
		steady = now == last ? steady + 1 : 0;
		last = now;
	}
	f->rss_after = last;
	f->fds_after = util_count_fds(pid);
	if (f->recover_ms < 0 && f->note[0] == '\0')
		snprintf(f->note, sizeof f->note, "not serving %d ms after the abuse: %s", quiet_ms, err);
}

/* Waits for fd to be ready for events within the deadline. Returns 1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = events};
	int r;

	do
		r = poll(&p, 1, util_ms_left(deadline));
	while (r < 0 && errno == EINTR);
	return r;
}

int soak_tcp_ping(const struct net_addr *a, int timeout_ms, char *err, size_t errlen)
{
	static const char msg[] = "soak ping: hello\n";
	unsigned char got[sizeof msg];
	size_t have = 0, n = sizeof msg - 1;
	uint64_t deadline = util_now_ns() + (uint64_t)timeout_ms * 1000000u;
	int fd = net_connect(a, SOCK_STREAM, timeout_ms, err, errlen);

	if (fd < 0)
		return -1;
	if (send(fd, msg, n, MSG_NOSIGNAL) != (ssize_t)n) {
		snprintf(err, errlen, "send: %s", strerror(errno));
		close(fd);
		return -1;
	}
	while (have < n && wait_fd(fd, POLLIN, deadline) > 0) {
		ssize_t k = recv(fd, got + have, n - have, MSG_DONTWAIT);
		if (k <= 0 && !(k < 0 && (errno == EAGAIN || errno == EINTR)))
			break;
		have += k > 0 ? (size_t)k : 0;
	}
	close(fd);
	if (have == n && oracle_mismatch((const unsigned char *)msg, n, got, n) == n)
		return 0;
	snprintf(err, errlen, "a %zu-byte message got %zu bytes back%s", n, have,
	         have == n ? ", wrong ones" : " in time");
	return -1;
}

int soak_udp_ping(const struct net_addr *a, int timeout_ms, char *err, size_t errlen)
{
	static const char msg[] = "soak ping: datagram";
	unsigned char got[64];
	uint64_t deadline = util_now_ns() + (uint64_t)timeout_ms * 1000000u;
	int fd = net_connect(a, SOCK_DGRAM, timeout_ms, err, errlen);
	ssize_t k = -1;

	if (fd < 0)
		return -1;
	if (send(fd, msg, sizeof msg - 1, 0) < 0) {
		snprintf(err, errlen, "send: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (wait_fd(fd, POLLIN, deadline) > 0)
		k = recv(fd, got, sizeof got, MSG_DONTWAIT);
	close(fd);
	if (k > 0 && oracle_udp_check((const unsigned char *)msg, sizeof msg - 1, got, (size_t)k, err,
	                              errlen) == ORACLE_UDP_OK)
		return 0;
	if (k <= 0)
		snprintf(err, errlen, "no reply to a datagram within %d ms", timeout_ms);
	return -1;
}

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15u;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
	return x ^ (x >> 31);
}

void soak_stream(unsigned char *p, size_t n, uint32_t id, uint64_t off)
{
	uint64_t key = (uint64_t)id << 44;
	size_t i = 0;

	while (i < n) {
		uint64_t word = mix64(key ^ ((off + i) >> 3));
		for (unsigned b = (unsigned)((off + i) & 7u); b < 8 && i < n; b++, i++)
			p[i] = (unsigned char)(word >> (8 * b));
	}
}

size_t soak_check(const unsigned char *got, size_t n, uint32_t id, uint64_t off, int identity)
{
	unsigned char sent[16384];
	size_t done = 0;

	while (done < n) {
		size_t k = n - done < sizeof sent ? n - done : sizeof sent;
		soak_stream(sent, k, id, off + done);
		size_t m = 0;
		if (!identity)
			m = oracle_mismatch(sent, k, got + done, k);
		else
			while (m < k && sent[m] == got[done + m])
				m++;
		done += m;
		if (m < k)
			break;
	}
	return done;
}

/* Sends up to n bytes of client id's stream from *off without blocking; advances *off. */
void soak_send_some(int fd, uint32_t id, uint64_t *off, size_t n)
{
	unsigned char buf[16384];

	while (n > 0) {
		size_t k = n < sizeof buf ? n : sizeof buf;
		soak_stream(buf, k, id, *off);
		ssize_t m = send(fd, buf, k, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (m <= 0)
			return;
		*off += (uint64_t)m;
		n -= (size_t)m;
	}
}

/* Reads what is there without blocking and checks it. Returns the bytes verified, or -1 on a wrong
 * byte. */
long soak_read_check(int fd, uint32_t id, uint64_t *got)
{
	unsigned char buf[16384];
	long total = 0;
	ssize_t k;

	while ((k = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
		if (soak_check(buf, (size_t)k, id, *got, 0) != (size_t)k)
			return -1;
		*got += (uint64_t)k;
		total += k;
	}
	return total;
}

int soak_connect(const struct net_addr *a, int buffer, char *err, size_t errlen)
{
	int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (buffer > 0) {
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
	}
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0 || net_nonblock(fd, 1) < 0) {
		snprintf(err, errlen, "connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
