/* limits.c - the cases at the server's limits: half-open clients, descriptor exhaustion (the server
 * runs under a small RLIMIT_NOFILE) and SIGTERM under load. */
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

/* Reads client fd's reply until its end of input (want 0) or until want bytes, within the deadline.
 * Returns the bytes read (checked against client id's stream), or -1 on a wrong byte, a reset or the
 * time running out. */
static long read_reply(int fd, uint32_t id, uint64_t want, uint64_t deadline)
{
	unsigned char buf[16384];
	uint64_t got = 0;

	while (util_ms_left(deadline) > 0) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		if (want > 0 && got == want)
			return (long)got;
		if (poll(&pf, 1, util_ms_left(deadline)) <= 0)
			continue;
		ssize_t k = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (k == 0)
			return (long)got;
		if (k < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -1;
		}
		if (soak_check(buf, (size_t)k, id, got, 0) != (size_t)k)
			return -1;
		got += (uint64_t)k;
	}
	return -1;
}

/* The set-up every client-holding case shares: the "before" figures, then n clients connected, of
 * which those with i % every == 0 at once send bytes of their stream. Returns their descriptors (-1
 * for one that could not connect), or NULL with the reason in f->note. */
static int *clients_open(const struct soak_server *s, int n, int every, size_t bytes, struct soak_figures *f)
{
	int *fds = calloc((size_t)n, sizeof *fds);
	char err[256];

	if (fds == NULL || soak_sample(s, f, 1) < 0) {
		snprintf(f->note, sizeof f->note, "set-up failed (memory, or the server is gone)");
		free(fds);
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		uint64_t off = 0;
		fds[i] = soak_connect(&s->addrs.tcp, 0, err, sizeof err);
		if (fds[i] >= 0 && i % every == 0)
			soak_send_some(fds[i], (uint32_t)i, &off, bytes);
	}
	return fds;
}

/* Half-open clients: a third send 64 KiB, half-close and never read, a third connect and say nothing,
 * a third half-close at once (and must get the server's FIN). A fresh client is served meanwhile, and
 * every descriptor comes back once they are gone. */
int soak_half_open(struct soak_server *s, const struct soak_plan *p, struct soak_figures *f)
{
	int n = p->small ? 30 : 300, served = 0, fins = 0, tries = 0;
	uint64_t start = util_now_ns(), hold = start + (uint64_t)(p->seconds * 0.6e9);
	int *fds = clients_open(s, n, 3, 65536, f);
	char err[256];

	if (fds == NULL)
		return -1;
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0 && i % 3 != 1)
			(void)shutdown(fds[i], SHUT_WR);
	while (util_ms_left(hold) > 0) {
		tries++;
		if (soak_tcp_ping(&s->addrs.tcp, 5000, err, sizeof err) == 0)
			served++;
		(void)soak_sample(s, f, 0);
		util_sleep_ms(100);
	}
	uint64_t fin_deadline = util_now_ns() + 3000000000u;
	for (int i = 2; i < n; i += 3)
		fins += fds[i] >= 0 && read_reply(fds[i], (uint32_t)i, 0, fin_deadline) == 0;
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	uint64_t end = util_now_ns();
	f->load = served;
	f->offered = tries;
	f->bytes_verified = (uint64_t)served * 17u;
	soak_settle(s, f, end, p->small ? 2500 : 5000);
	f->ok = served == tries && fins == n / 3 && f->fds_after <= f->fds_before;
	snprintf(f->note, sizeof f->note, "%d half-open clients; %d of %d early half-closers got the FIN%s",
	         n, fins, n / 3, f->fds_after > f->fds_before ? "; descriptors not all returned" : "");
	f->secs = (double)(end - start) / 1e9;
	free(fds);
	return 0;
}

/* Does the server's log hold both descriptor-limit lines? */
static int log_has_limit_lines(const struct soak_server *s)
{
	FILE *lf = fopen(child_log_path(s->child), "r");
	char line[512];
	int limit = 0, resumed = 0;

	if (lf == NULL)
		return 0;
	while (fgets(line, sizeof line, lf) != NULL) {
		limit |= strstr(line, "descriptor limit") != NULL;
		resumed |= strstr(line, "accepting again") != NULL;
	}
	fclose(lf);
	return limit && resumed;
}

/* Descriptor exhaustion: the server runs with 64 descriptors (struct soak_server.nofile); many more
 * clients than that connect at once, each sends a message and keeps its connection until it has read
 * the reply, one client after the other. Every one must be served as slots free up, and the server must
 * say that it reached its limit and that it accepts again. */
int soak_descriptors(struct soak_server *s, const struct soak_plan *p, struct soak_figures *f)
{
	int n = p->small ? 100 : 200, done = 0;
	uint64_t start = util_now_ns(), deadline = start + (uint64_t)(p->seconds * 1e9) + 5000000000u;
	int *fds = clients_open(s, n, 1, 1024, f);

	if (fds == NULL)
		return -1;
	for (int i = 0; i < n; i++) {
		(void)soak_sample(s, f, 0);
		long got = fds[i] >= 0 ? read_reply(fds[i], (uint32_t)i, 1024, deadline) : -1;
		if (got == 1024) {
			done++;
			f->bytes_verified += 1024;
		}
		if (fds[i] >= 0)
			close(fds[i]);
	}
	uint64_t end = util_now_ns();
	f->load = done;
	f->offered = n;
	soak_settle(s, f, end, p->small ? 2500 : 5000);
	int logged = log_has_limit_lines(s);
	f->ok = done == n && (logged || strcmp(s->name, "tcp-upper") != 0);
	snprintf(f->note, sizeof f->note, "descriptor limit %ld; %d of %d clients served; limit %s logged",
	         s->nofile, done, n, logged ? "and resumption" : "NOT");
	f->secs = (double)(end - start) / 1e9;
	free(fds);
	return 0;
}

/* Load while the server is told to stop: TCP clients streaming (their replies checked), or a UDP
 * flood. Returns the number of clients that read a wrong byte. */
static int stop_under_load(struct soak_server *s, const struct soak_plan *p, struct soak_figures *f,
                           struct child_exit *e)
{
	enum { CLIENTS = 100 };
	int n = p->small ? 20 : CLIENTS, fds[CLIENTS], wrong = 0;
	uint64_t sent[CLIENTS] = {0}, got[CLIENTS] = {0};
	char err[256];

	for (int i = 0; i < n; i++)
		fds[i] = s->proto == CHILD_UDP ? net_connect(&s->addrs.udp, SOCK_DGRAM, 1000, err, sizeof err)
		                               : soak_connect(&s->addrs.tcp, 0, err, sizeof err);
	uint64_t until = util_now_ns() + (uint64_t)(p->seconds * 0.5e9);
	while (util_ms_left(until) > 0) {
		for (int i = 0; i < n; i++) {
			if (fds[i] < 0)
				continue;
			if (s->proto == CHILD_UDP) {
				unsigned char buf[2048];
				ssize_t k;
				sent[i] = 0;
				soak_send_some(fds[i], (uint32_t)i, &sent[i], 1000);
				while ((k = recv(fds[i], buf, sizeof buf, MSG_DONTWAIT)) > 0)
					wrong += soak_check(buf, (size_t)k, (uint32_t)i, 0, 0) != (size_t)k;
				continue;
			}
			soak_send_some(fds[i], (uint32_t)i, &sent[i], 65536);
			long v = soak_read_check(fds[i], (uint32_t)i, &got[i]);
			wrong += v < 0;
			f->bytes_verified += v > 0 ? (uint64_t)v : 0;
		}
		(void)soak_sample(s, f, 0);
	}
	child_stop(s->child, SIGTERM, 5000, e);
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return wrong;
}

/* SIGTERM under load: the server must end by itself, promptly, with status 0. */
int soak_sigterm(struct soak_server *s, const struct soak_plan *p, struct soak_figures *f)
{
	struct child_exit e;
	uint64_t start = util_now_ns();

	if (soak_sample(s, f, 1) < 0) {
		snprintf(f->note, sizeof f->note, "set-up failed");
		return -1;
	}
	int wrong = stop_under_load(s, p, f, &e);
	f->offered = 1;
	f->load = e.end == CHILD_END_SIGNAL && WIFEXITED(e.status) && WEXITSTATUS(e.status) == 0;
	f->ok = f->load && wrong == 0;
	f->recover_ms = e.ms;
	f->rss_after = f->fds_after = 0;
	snprintf(f->note, sizeof f->note, "SIGTERM under load: %s after %ld ms%s%s", e.why, e.ms,
	         e.end == CHILD_END_KILLED ? " (did not end: killed)" : "",
	         wrong ? "; a client read a wrong byte" : "");
	f->secs = (double)(util_now_ns() - start) / 1e9;
	return 0;
}
