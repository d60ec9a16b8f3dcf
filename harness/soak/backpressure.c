/* backpressure.c - the mass backpressure case: N clients, each with small socket buffers, send without
 * reading until the server stops taking bytes, then read everything back while sending the rest. A
 * server that holds unread input and unsent output must still make progress whenever the kernel lets
 * it; one that waits for a wakeup that never comes stalls, and the case reports how many clients
 * completed. */
#include <dirent.h>
#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "net.h"
#include "soak.h"
#include "util.h"

#define CHUNK 65536

struct client {
	int fd;
	uint64_t sent, got;
	int state; /* 0 running, 1 complete, 2 failed */
};

struct run {
	struct client *c;
	struct pollfd *pf;
	int n;
	uint64_t bytes;
	uint64_t last_progress_ns;
	int complete, failed;
	int identity;
	uint64_t verified;
	char why[256];
};

static void client_fail(struct run *r, int i, const char *what)
{
	if (r->why[0] == '\0')
		snprintf(r->why, sizeof r->why, "client %d at %llu bytes sent, %llu received: %s", i,
		         (unsigned long long)r->c[i].sent, (unsigned long long)r->c[i].got, what);
	r->c[i].state = 2;
	r->failed++;
	close(r->c[i].fd);
	r->c[i].fd = -1;
}

static void client_send(struct run *r, int i, unsigned char *buf)
{
	struct client *c = &r->c[i];
	size_t n = r->bytes - c->sent < CHUNK ? (size_t)(r->bytes - c->sent) : CHUNK;

	if (n == 0)
		return;
	soak_stream(buf, n, (uint32_t)i, c->sent);
	ssize_t k = send(c->fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (k > 0) {
		c->sent += (uint64_t)k;
		r->last_progress_ns = util_now_ns();
		if (c->sent == r->bytes)
			(void)shutdown(c->fd, SHUT_WR);
	} else if (k < 0 && errno != EAGAIN && errno != EINTR) {
		client_fail(r, i, strerror(errno));
	}
}

static void client_recv(struct run *r, int i, unsigned char *buf)
{
	struct client *c = &r->c[i];
	ssize_t k = recv(c->fd, buf, CHUNK, MSG_DONTWAIT);

	if (k > 0) {
		size_t ok = soak_check(buf, (size_t)k, (uint32_t)i, c->got, r->identity);
		if (ok < (size_t)k || c->got + (uint64_t)k > c->sent) {
			client_fail(r, i, ok < (size_t)k ? "a wrong byte" : "more bytes than were sent");
			return;
		}
		c->got += (uint64_t)k;
		r->verified += (uint64_t)k;
		r->last_progress_ns = util_now_ns();
	} else if (k == 0) {
		if (c->got == r->bytes) {
			c->state = 1;
			r->complete++;
			close(c->fd);
			c->fd = -1;
		} else {
			client_fail(r, i, "the server closed before sending everything back");
		}
	} else if (errno != EAGAIN && errno != EINTR) {
		client_fail(r, i, strerror(errno));
	}
}

/* One poll round over the running clients. reading: also read replies. */
static int round_trip(struct run *r, const struct soak_server *s, struct soak_figures *f, int reading,
                      unsigned char *buf)
{
	int m = 0;

	for (int i = 0; i < r->n; i++) {
		r->pf[i].fd = r->c[i].state == 0 ? r->c[i].fd : -1;
		r->pf[i].events = (short)((r->c[i].sent < r->bytes ? POLLOUT : 0) | (reading ? POLLIN : 0));
		r->pf[i].revents = 0;
		m += r->pf[i].fd >= 0 && r->pf[i].events != 0;
	}
	if (m == 0)
		return 0;
	if (poll(r->pf, (nfds_t)r->n, 100) < 0 && errno != EINTR)
		return -1;
	for (int i = 0; i < r->n; i++) {
		if (r->pf[i].revents & (POLLIN | POLLERR | POLLHUP))
			client_recv(r, i, buf);
		if (r->c[i].state == 0 && (r->pf[i].revents & POLLOUT))
			client_send(r, i, buf);
	}
	(void)soak_sample(s, f, 0);
	return 1;
}

static int open_clients(struct run *r, const struct soak_server *s, int buffer, struct soak_figures *f)
{
	for (int i = 0; i < r->n; i++) {
		char err[256];
		r->c[i].fd = soak_connect(&s->addrs.tcp, buffer, err, sizeof err);
		if (r->c[i].fd < 0) {
			snprintf(f->note, sizeof f->note, "client %d of %d: %s", i, r->n, err);
			for (int j = 0; j < i; j++)
				close(r->c[j].fd);
			return -1;
		}
	}
	return 0;
}

/* Runs the clients: the fill phase, then the drain phase until every client is done, or the run
 * stalls, or its time is up. */
static void run_clients(struct run *r, const struct soak_server *s, const struct soak_plan *p,
                        struct soak_figures *f, unsigned char *buf)
{
	/* The case's bound, but at least twice the stall time: a slow host fails only by stalling. */
	double bound = p->seconds > 2 * p->stall ? p->seconds : 2 * p->stall;
	uint64_t start = util_now_ns(), deadline = start + (uint64_t)(bound * 1e9);
	uint64_t quiet = (uint64_t)(p->fill_quiet * 1e9), stall = (uint64_t)(p->stall * 1e9);

	r->last_progress_ns = start;
	while (util_now_ns() - r->last_progress_ns < quiet && util_ms_left(deadline) > 0)
		if (round_trip(r, s, f, 0, buf) <= 0)
			break;
	r->last_progress_ns = util_now_ns();
	while (r->complete + r->failed < r->n && util_ms_left(deadline) > 0) {
		if (util_now_ns() - r->last_progress_ns >= stall) {
			snprintf(f->note, sizeof f->note,
			         "stalled: %d of %d clients complete, no byte moved for %.0f s", r->complete,
			         r->n, p->stall);
			return;
		}
		if (round_trip(r, s, f, 1, buf) < 0)
			break;
	}
	if (r->complete + r->failed < r->n && f->note[0] == '\0')
		snprintf(f->note, sizeof f->note, "time bound reached: %d of %d clients complete",
		         r->complete, r->n);
}

int soak_backpressure(struct soak_server *s, const struct soak_plan *p, struct soak_figures *f)
{
	struct run r = {.n = p->clients, .bytes = p->bytes, .identity = p->identity};
	unsigned char *buf = malloc(CHUNK);
	uint64_t start = util_now_ns();

	r.c = calloc((size_t)r.n, sizeof *r.c);
	r.pf = calloc((size_t)r.n, sizeof *r.pf);
	if (buf == NULL || r.c == NULL || r.pf == NULL || soak_sample(s, f, 1) < 0 ||
	    open_clients(&r, s, p->socket_buffer, f) < 0) {
		if (f->note[0] == '\0')
			snprintf(f->note, sizeof f->note, "set-up failed (memory, or the server is gone)");
		free(buf);
		free(r.c);
		free(r.pf);
		return -1;
	}
	run_clients(&r, s, p, f, buf);
	for (int i = 0; i < r.n; i++)
		if (r.c[i].fd >= 0)
			close(r.c[i].fd);
	uint64_t end = util_now_ns();
	f->offered = r.n;
	f->load = r.complete;
	f->bytes_verified = r.verified;
	f->ok = r.complete == r.n;
	if (r.why[0] != '\0')
		snprintf(f->note, sizeof f->note, "%s", r.why);
	else if (f->ok && p->socket_buffer == 0)
		snprintf(f->note, sizeof f->note, "%d clients x %llu bytes, default socket buffers, all back",
		         r.n, (unsigned long long)r.bytes);
	else if (f->ok)
		snprintf(f->note, sizeof f->note, "%d clients x %llu bytes, %d-byte socket buffers, all back",
		         r.n, (unsigned long long)r.bytes, p->socket_buffer);
	soak_settle(s, f, end, 5000);
	f->secs = (double)(end - start) / 1e9;
	free(buf);
	free(r.c);
	free(r.pf);
	return 0;
}

/* Duplicates (pidfd_getfd) the server's socket connected to the client at address client. Returns the
 * new descriptor, or -1 (no such socket, or this process may not look into the server's). */
static int server_socket(pid_t pid, const struct net_addr *client)
{
	char path[64];
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0), found = -1;
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
	if (pidfd < 0 || (d = opendir(path)) == NULL) {
		if (pidfd >= 0)
			close(pidfd);
		return -1;
	}
	while (found < 0 && (e = readdir(d)) != NULL) {
		struct net_addr peer = {.len = sizeof peer.ss};
		int fd = e->d_name[0] == '.' ? -1 : (int)syscall(SYS_pidfd_getfd, pidfd, atoi(e->d_name), 0);
		if (fd < 0)
			continue;
		if (getpeername(fd, (struct sockaddr *)&peer.ss, &peer.len) == 0 && peer.len == client->len &&
		    memcmp(&peer.ss, &client->ss, peer.len) == 0)
			found = fd;
		else
			close(fd);
	}
	closedir(d);
	close(pidfd);
	return found;
}

/* What the server set on its socket for one connection, and what the socket holds. */
struct server_socket_facts {
	int lowat;      /* TCP_NOTSENT_LOWAT */
	int unsent;     /* bytes not sent yet (SIOCOUTQNSD) */
	int receive;    /* SO_RCVBUF as the kernel reports it (twice the figure set) */
	int send;       /* SO_SNDBUF, likewise */
	int retransmit; /* TCP_RTO_MAX_MS, or -1 when the kernel lacks the option */
	int open;       /* connections the server had open, this one included */
	long share;     /* the most SO_RCVBUF and SO_SNDBUF may report together: the host's pressure
	                 * threshold shared by those connections */
};

enum {
	UNSENT_BOUND = 1024 * 1024,     /* the most a socket may leave unsent */
	RETRANSMIT_BOUND = 5000,        /* the longest retransmission wait, where the kernel has it */
	SHARE_TARGET = 2 * 1024 * 1024, /* idle connections are opened until the share is this small */
	IDLE_MAX = 3000                 /* ... but no more than this many (the server's limit is 4096) */
};

/* The host's TCP memory pressure threshold in bytes (tcp_mem[1] pages), or 0. */
static long pressure_threshold(void)
{
	long pages[3] = {0, 0, 0};
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_mem", "r");

	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld %ld %ld", &pages[0], &pages[1], &pages[2]) != 3)
		pages[1] = 0;
	fclose(f);
	return pages[1] * sysconf(_SC_PAGESIZE);
}

static int read_facts(int sfd, struct server_socket_facts *x)
{
	socklen_t len = sizeof x->lowat;

	if (getsockopt(sfd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &x->lowat, &len) < 0 ||
	    ioctl(sfd, SIOCOUTQNSD, &x->unsent) < 0)
		return -1;
	len = sizeof x->receive;
	if (getsockopt(sfd, SOL_SOCKET, SO_RCVBUF, &x->receive, &len) < 0)
		return -1;
	len = sizeof x->send;
	if (getsockopt(sfd, SOL_SOCKET, SO_SNDBUF, &x->send, &len) < 0)
		return -1;
	len = sizeof x->retransmit;
	if (getsockopt(sfd, IPPROTO_TCP, TCP_RTO_MAX_MS, &x->retransmit, &len) < 0)
		x->retransmit = -1;
	return 0;
}

static int facts_bounded(const struct server_socket_facts *x)
{
	return x->lowat > 0 && x->lowat <= UNSENT_BOUND && x->unsent >= 0 && x->unsent <= x->lowat + CHUNK &&
	       x->receive > 0 && x->send > 0 && (long)x->receive + x->send <= x->share &&
	       x->retransmit <= RETRANSMIT_BOUND;
}

static void describe_facts(char *note, size_t len, const struct server_socket_facts *x, uint64_t got,
                           uint64_t off)
{
	char retransmit[64] = "not available on this kernel";

	if (x == NULL) {
		snprintf(note, len, "the server's socket options could not be read; %llu of %llu bytes back",
		         (unsigned long long)got, (unsigned long long)off);
		return;
	}
	if (x->retransmit >= 0)
		snprintf(retransmit, sizeof retransmit, "%d ms (at most %d allowed)", x->retransmit,
		         RETRANSMIT_BOUND);
	snprintf(note, len,
	         "server socket: unsent bound %d (at most %d allowed), %d bytes unsent with a non-reading "
	         "client; receive and send buffers %d and %d with %d connections open (together at most "
	         "%ld allowed, the pressure threshold's share); longest retransmission wait %s; %llu of "
	         "%llu bytes back",
	         x->lowat, UNSENT_BOUND, x->unsent, x->receive, x->send, x->open, x->share, retransmit,
	         (unsigned long long)got, (unsigned long long)off);
}

/* The deterministic small version of the mass backpressure case. Idle connections are opened first,
 * enough that the host's TCP pressure threshold shared by them comes to about 2 MiB each (on a host
 * whose threshold is 1.5 GB: 750); then one client with 128 KiB buffers sends without reading until the
 * server stops taking bytes. The server's socket for it must bound the bytes left unsent in the kernel
 * (TCP_NOTSENT_LOWAT) and hold no more than that, keep its kernel buffers (SO_RCVBUF plus SO_SNDBUF)
 * within its share of the threshold and, where the kernel has the option, bound the longest
 * retransmission wait (TCP_RTO_MAX_MS): unbounded, thousands of such connections stall under the
 * host's TCP memory pressure (see RELIABILITY.md, 'Mass backpressure', 'The 2000-client stall' and 'A
 * kernel-memory budget instead of a fixed clamp'). The client then reads everything back. */
int soak_unsent_bound(struct soak_server *s, const struct soak_plan *p, struct soak_figures *f)
{
	struct net_addr local = {.len = sizeof local.ss};
	char err[256] = "";
	long pressure = pressure_threshold();
	int want =
	    pressure > 0 && pressure / SHARE_TARGET < IDLE_MAX ? (int)(pressure / SHARE_TARGET) : IDLE_MAX;
	int *idle = calloc((size_t)want, sizeof *idle), nidle = 0;

	if (idle == NULL) {
		snprintf(f->note, sizeof f->note, "set-up failed: out of memory");
		return -1;
	}
	while (nidle < want && (idle[nidle] = soak_connect(&s->addrs.tcp, 0, err, sizeof err)) >= 0)
		nidle++;
	int fd = nidle > 0 ? soak_connect(&s->addrs.tcp, 128 * 1024, err, sizeof err) : -1;

	if (fd < 0 || net_local(fd, &local) < 0 || soak_sample(s, f, 1) < 0) {
		snprintf(f->note, sizeof f->note, "set-up failed after %d idle connections: %s", nidle, err);
		if (fd >= 0)
			close(fd);
		while (nidle > 0)
			close(idle[--nidle]);
		free(idle);
		return -1;
	}
	uint64_t off = 0, got = 0, last = util_now_ns();
	while (util_now_ns() - last < (uint64_t)(p->fill_quiet * 1e9) && off < (64u << 20)) {
		struct pollfd pf = {.fd = fd, .events = POLLOUT};
		uint64_t before = off;
		if (poll(&pf, 1, 100) > 0)
			soak_send_some(fd, 0, &off, CHUNK);
		if (off > before)
			last = util_now_ns();
	}
	struct server_socket_facts facts;
	int sfd = server_socket(child_pid(s->child), &local);
	int seen = sfd >= 0 && read_facts(sfd, &facts) == 0;
	if (sfd >= 0)
		close(sfd);
	facts.open = nidle + 1;
	facts.share = (pressure > 0 ? pressure : 1024L * 1024 * 1024) / facts.open;
	while (nidle > 0)
		close(idle[--nidle]);
	free(idle);
	(void)shutdown(fd, SHUT_WR);
	uint64_t deadline = util_now_ns() + (uint64_t)(p->stall * 1e9);
	while (util_ms_left(deadline) > 0 && got < off) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		if (poll(&pf, 1, 100) > 0 && soak_read_check(fd, 0, &got) < 0)
			break;
	}
	close(fd);
	f->offered = 1;
	f->load = got == off;
	f->bytes_verified = got;
	f->ok = f->load && (sfd < 0 || (seen && facts_bounded(&facts)));
	if (sfd < 0)
		snprintf(f->note, sizeof f->note,
		         "the server's socket could not be inspected (pidfd_getfd); "
		         "%llu of %llu bytes back",
		         (unsigned long long)got, (unsigned long long)off);
	else
		describe_facts(f->note, sizeof f->note, seen ? &facts : NULL, got, off);
	soak_settle(s, f, util_now_ns(), p->small ? 2500 : 5000);
	return 0;
}
