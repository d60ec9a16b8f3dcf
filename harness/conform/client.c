/* client.c - conform's bounded socket exchanges: every wait has a deadline, every byte received is
 * checked against the oracle (oracle_mismatch, oracle_udp_check) as it arrives. */
#include "client.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oracle.h"
#include "recording.h"
#include "util.h"

static uint64_t ms_from_now(int ms)
{
	return util_now_ns() + (uint64_t)ms * 1000000u;
}

static void record(struct case_context *c, enum recording_event_kind kind, unsigned id, const void *p, size_t n)
{
	if (c->recording != NULL)
		recording_add(c->recording, kind, id, p, n, NULL, NULL);
}

/* ---- TCP ---- */

int client_tcp_connect(struct case_context *c, const struct net_addr *a, struct client_connection *k)
{
	char err[256], name[NET_ADDRSTRLEN];
	int one = 1;

	int ms = case_wait_ms(c, c->timeout_ms);
	if (ms == 0) {
		k->fd = -1;
		return case_timeout(c, "the case's time budget is exhausted");
	}
	k->fd = net_connect(a, SOCK_STREAM, ms, err, sizeof err);
	if (k->fd < 0) {
		if (errno == ETIMEDOUT)
			return case_timeout(c, "tcp connect to %s: %s",
					    net_format((const struct sockaddr *)&a->ss, name, sizeof name), err);
		return case_fail(c, "tcp connect: %s", err);
	}
	k->id = ++c->connections;
	setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	net_nonblock(k->fd, 1);
	if (c->recording != NULL) {
		struct net_addr local;
		if (net_local(k->fd, &local) == 0)
			recording_add(c->recording, RECORDING_TCP_OPEN, k->id, NULL, 0, &local, a);
	}
	return 0;
}

void client_tcp_close(struct case_context *c, struct client_connection *k)
{
	if (k->fd < 0)
		return;
	record(c, RECORDING_TCP_HALF_CLOSE, k->id, NULL, 0);
	close(k->fd);
	k->fd = -1;
}

void client_tcp_reset(struct case_context *c, struct client_connection *k)
{
	struct linger lg = {1, 0};
	if (k->fd < 0)
		return;
	setsockopt(k->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	record(c, RECORDING_TCP_RESET, k->id, NULL, 0);
	close(k->fd);
	k->fd = -1;
}

static int flow_done(const struct client_flow *f)
{
	if (f->expect_reset) /* a client that will reset: it stops after its stall phase (it never reads) */
		return f->stall_ms > 0 || f->sent == f->out_len;
	return f->answered == f->out_len && (f->close != CLIENT_HALF_CLOSE || f->server_fin);
}

/* The server's FIN on f. Returns 1 (progress) or -1 (case failed). */
static int flow_server_fin(struct case_context *c, struct client_flow *f)
{
	unsigned id = f->connection->id;
	record(c, RECORDING_TCP_SERVER_FIN, id, NULL, 0);
	f->server_fin = 1;
	if (f->expect_reset)
		return 1;
	if (f->answered < f->out_len) {
		c->result->offset = (long long)f->answered;
		if (!f->half_closed)
			return case_fail(c, "connection %u: server closed (FIN) after answering %zu of %zu bytes, "
					    "before we half-closed", id, f->answered, f->out_len);
		return case_fail(c, "connection %u: FIN after %zu of %zu bytes: %zu bytes never answered", id,
				 f->answered, f->out_len, f->out_len - f->answered);
	}
	if (!f->half_closed)
		return case_fail(c, "connection %u: server closed (FIN) before we half-closed", id);
	return 1;
}

/* Reads once from f. Returns 1 progress, 0 nothing (EAGAIN), -1 failure (case failed). */
static int flow_read(struct case_context *c, struct client_flow *f)
{
	static unsigned char buf[65536];
	unsigned id = f->connection->id;
	size_t want = f->read_chunk > 0 && f->read_chunk < sizeof buf ? f->read_chunk : sizeof buf;
	ssize_t n = read(f->connection->fd, buf, want);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		record(c, RECORDING_TCP_SERVER_RESET, id, NULL, 0);
		if (f->expect_reset)
			return 0;
		if (errno == ECONNRESET)
			return case_fail(c, "connection %u: reset (RST) by the server after %zu of %zu bytes answered%s", id,
					 f->answered, f->out_len,
					 f->half_closed ? ", after our half-close: expected the rest, then FIN" : "");
		return case_fail(c, "connection %u: read: %s after %zu of %zu bytes answered", id, strerror(errno),
				 f->answered, f->out_len);
	}
	if (n == 0)
		return flow_server_fin(c, f);
	record(c, RECORDING_TCP_RECEIVE, id, buf, (size_t)n);
	size_t owed = f->out_len - f->answered;
	size_t compared = (size_t)n < owed ? (size_t)n : owed;
	size_t mismatch = oracle_mismatch(f->out + f->answered, compared, buf, (size_t)n);
	if (mismatch < (size_t)n) {
		case_note_difference(c, f->out + f->answered, compared, buf, (size_t)n, f->answered);
		if (mismatch < compared)
			return case_fail(c, "connection %u: wrong byte at offset %zu of the answer", id,
					 f->answered + mismatch);
		return case_fail(c, "connection %u: %zu bytes more than were sent (%zu sent, answered from offset %zu)",
				 id, (size_t)n - compared, f->out_len, f->answered + mismatch);
	}
	f->answered += (size_t)n;
	return 1;
}

/* Writes once to f. Returns 1 progress, 0 nothing (the socket is full), -1 failure (case failed). */
static int flow_write(struct case_context *c, struct client_flow *f)
{
	size_t n = f->out_len - f->sent;
	if (f->write_chunk > 0 && n > f->write_chunk)
		n = f->write_chunk;
	ssize_t w = send(f->connection->fd, f->out + f->sent, n, MSG_NOSIGNAL);
	if (w < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		record(c, RECORDING_TCP_SERVER_RESET, f->connection->id, NULL, 0);
		return case_fail(c, "connection %u: write after %zu of %zu bytes: %s (the server reset the connection)",
				 f->connection->id, f->sent, f->out_len, strerror(errno));
	}
	record(c, RECORDING_TCP_SEND, f->connection->id, f->out + f->sent, (size_t)w);
	f->sent += (size_t)w;
	return 1;
}

/* The stall phase of f: write without reading until the server has taken nothing for stall_ms (or all
 * is sent, or the run's deadline passes). Returns 0 or -1 (case failed). */
static int flow_stall(struct case_context *c, struct client_flow *f, uint64_t end)
{
	uint64_t quiet_end = ms_from_now(f->stall_ms);
	while (f->sent < f->out_len && util_ms_left(end) > 0) {
		struct pollfd p = {f->connection->fd, POLLOUT, 0};
		int ms = util_ms_left(quiet_end);
		if (ms == 0)
			break;
		int ready = poll(&p, 1, ms);
		if (ready < 0 && errno != EINTR)
			return case_fail(c, "poll: %s", strerror(errno));
		if (ready > 0) {
			int w = flow_write(c, f);
			if (w < 0)
				return -1;
			if (w > 0)
				quiet_end = ms_from_now(f->stall_ms);
		}
	}
	f->stalled = f->sent < f->out_len;
	f->stalled_at = f->sent;
	return 0;
}

/* Fills pf (and which flow each entry is, in map) with the flows still running; half-closes those that
 * have sent everything. Returns how many entries; *running gets how many flows are not done. */
static size_t flows_poll_set(struct case_context *c, struct client_flow *f, size_t n, struct pollfd *pf,
			     size_t *map, size_t *running)
{
	size_t count = 0;
	*running = 0;
	for (size_t i = 0; i < n; i++) {
		struct client_flow *x = &f[i];
		if (!x->done && flow_done(x))
			x->done = 1;
		if (x->done)
			continue;
		(*running)++;
		if (x->sent == x->out_len && x->close == CLIENT_HALF_CLOSE && !x->half_closed) {
			shutdown(x->connection->fd, SHUT_WR);
			record(c, RECORDING_TCP_HALF_CLOSE, x->connection->id, NULL, 0);
			x->half_closed = 1;
		}
		short events = 0;
		if (!x->server_fin)
			events |= POLLIN;
		if (x->sent < x->out_len && (!x->lockstep || x->answered == x->sent))
			events |= POLLOUT;
		if (events == 0)
			continue;
		pf[count].fd = x->connection->fd;
		pf[count].events = events;
		pf[count].revents = 0;
		map[count++] = i;
	}
	return count;
}

/* The run ended without finishing: names the last unfinished flow. Returns -1 (case timed out). */
static int flows_timed_out(struct case_context *c, const struct client_flow *f, size_t n, int budget_over)
{
	size_t worst = 0, done = 0;
	for (size_t i = 0; i < n; i++) {
		if (f[i].done)
			done++;
		else
			worst = i;
	}
	const struct client_flow *x = &f[worst];
	c->result->offset = (long long)x->answered;
	return case_timeout(c, "%s: connection %u got %zu of %zu bytes answered (%zu sent%s)%s; %zu of %zu "
			       "connections complete",
			    budget_over ? "time budget exhausted" : "no progress for the timeout", x->connection->id,
			    x->answered, x->out_len, x->sent, x->half_closed ? ", half-closed" : "",
			    x->half_closed && x->answered == x->out_len ? ", no FIN" : "", done, n);
}

/* Reads and writes the flows poll() found ready. Returns 1 progress, 0 none, -1 failure (case failed). */
static int flows_serve(struct case_context *c, struct client_flow *f, const struct pollfd *pf, const size_t *map,
		       size_t count)
{
	int progress = 0;
	for (size_t j = 0; j < count; j++) {
		struct client_flow *x = &f[map[j]];
		if (pf[j].revents & (POLLIN | POLLHUP | POLLERR)) {
			int r = flow_read(c, x);
			if (r < 0)
				return -1;
			progress |= r > 0;
		}
		if ((pf[j].revents & POLLOUT) && x->sent < x->out_len && !x->server_fin) {
			int w = flow_write(c, x);
			if (w < 0)
				return -1;
			progress |= w > 0;
		}
	}
	return progress;
}

static int flows_loop(struct case_context *c, struct client_flow *f, size_t n, struct pollfd *pf, size_t *map,
		      uint64_t end)
{
	uint64_t idle_end = ms_from_now(c->timeout_ms);
	for (;;) {
		size_t running;
		size_t count = flows_poll_set(c, f, n, pf, map, &running);
		if (running == 0)
			return 0;
		int idle_ms = util_ms_left(idle_end), total_ms = util_ms_left(end);
		if (idle_ms == 0 || total_ms == 0 || count == 0)
			return flows_timed_out(c, f, n, total_ms == 0);
		int ready = poll(pf, (nfds_t)count, idle_ms < total_ms ? idle_ms : total_ms);
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			return case_fail(c, "poll: %s", strerror(errno));
		}
		int progress = flows_serve(c, f, pf, map, count);
		if (progress < 0)
			return -1;
		if (progress)
			idle_end = ms_from_now(c->timeout_ms);
	}
}

int client_flows_run(struct case_context *c, struct client_flow *f, size_t n, int budget_ms)
{
	struct pollfd *pf = calloc(n, sizeof *pf);
	size_t *map = calloc(n, sizeof *map);
	int rc = -1;
	if (pf == NULL || map == NULL) {
		case_fail(c, "out of memory for %zu connections", n);
		goto out;
	}
	if (budget_ms <= 0)
		budget_ms = 10 * c->timeout_ms;
	uint64_t end = ms_from_now(case_wait_ms(c, budget_ms));
	for (size_t i = 0; i < n; i++) {
		f[i].sent = f[i].answered = 0;
		f[i].half_closed = f[i].server_fin = f[i].done = f[i].stalled = 0;
		f[i].stalled_at = 0;
	}
	for (size_t i = 0; i < n; i++)
		if (f[i].stall_ms > 0 && flow_stall(c, &f[i], end) < 0)
			goto out;
	rc = flows_loop(c, f, n, pf, map, end);
out:
	free(pf);
	free(map);
	return rc;
}

int client_exchange(struct case_context *c, struct client_connection *k, const void *out, size_t out_len,
		    enum client_close close)
{
	struct client_flow f;
	memset(&f, 0, sizeof f);
	f.connection = k;
	f.out = out;
	f.out_len = out_len;
	f.close = close;
	return client_flows_run(c, &f, 1, 0);
}

int client_tcp_still_serves(struct case_context *c, const struct net_addr *a, const char *after)
{
	static const char probe[] = "still serving? the quick brown fox 0123\n";
	struct client_connection k;
	char why[CASE_MESSAGE_MAX];

	if (client_tcp_connect(c, a, &k) == 0) {
		int rc = client_exchange(c, &k, probe, sizeof probe - 1, CLIENT_HALF_CLOSE);
		client_tcp_close(c, &k);
		if (rc == 0)
			return 0;
	}
	if (case_take_failure(c, why, sizeof why))
		return case_timeout(c, "after %s, the server no longer serves: %s", after, why);
	return case_fail(c, "after %s, the server no longer serves: %s", after, why);
}

/* ---- UDP ---- */

int client_udp_socket(struct case_context *c, const struct net_addr *a)
{
	int fd = socket(a->ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return case_fail(c, "udp socket: %s", strerror(errno));
	int size = 8 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
	net_nonblock(fd, 1);
	return fd;
}

int client_udp_send(struct case_context *c, int fd, unsigned id, const struct net_addr *a, const void *p,
		    size_t n)
{
	char name[NET_ADDRSTRLEN];
	uint64_t end = ms_from_now(c->timeout_ms);
	for (;;) {
		ssize_t w = sendto(fd, p, n, 0, (const struct sockaddr *)&a->ss, a->len);
		if (w == (ssize_t)n)
			break;
		if (w >= 0)
			return case_fail(c, "udp sendto %s: sent %zd of %zu bytes",
					 net_format((const struct sockaddr *)&a->ss, name, sizeof name), w, n);
		if (errno == EAGAIN || errno == ENOBUFS || errno == EINTR) {
			struct pollfd pf = {fd, POLLOUT, 0};
			if (util_ms_left(end) == 0)
				return case_timeout(c, "udp sendto: socket stayed full");
			poll(&pf, 1, 5);
			continue;
		}
		if (errno == ECONNREFUSED)
			continue; /* an ICMP error from an earlier datagram: not this one's */
		return case_fail(c, "udp sendto %s: %s", net_format((const struct sockaddr *)&a->ss, name, sizeof name),
				 strerror(errno));
	}
	if (c->recording != NULL) {
		struct net_addr local;
		if (net_local(fd, &local) == 0)
			recording_add(c->recording, RECORDING_UDP_SEND, id, p, n, &local, a);
	}
	return 0;
}

enum client_receive client_udp_receive(struct case_context *c, int fd, unsigned id, unsigned char *buf,
				       size_t cap, int ms, size_t *len)
{
	uint64_t end = ms_from_now(case_wait_ms(c, ms));
	for (;;) {
		struct net_addr from;
		from.len = sizeof from.ss;
		ssize_t n = recvfrom(fd, buf, cap, MSG_TRUNC, (struct sockaddr *)&from.ss, &from.len);
		if (n >= 0) {
			if ((size_t)n > cap) {
				case_fail(c, "udp reply of %zd bytes is larger than the %zu expected at most", n, cap);
				return CLIENT_RECEIVE_FAILED;
			}
			if (c->recording != NULL) {
				struct net_addr local;
				if (net_local(fd, &local) == 0)
					recording_add(c->recording, RECORDING_UDP_RECEIVE, id, buf, (size_t)n, &local, &from);
			}
			*len = (size_t)n;
			return CLIENT_RECEIVED;
		}
		if (errno == ECONNREFUSED)
			continue; /* ICMP port unreachable for an earlier datagram: keep waiting */
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			case_fail(c, "udp recvfrom: %s", strerror(errno));
			return CLIENT_RECEIVE_FAILED;
		}
		int left = util_ms_left(end);
		if (left == 0)
			return CLIENT_NOTHING;
		struct pollfd pf = {fd, POLLIN, 0};
		poll(&pf, 1, left);
	}
}

int client_udp_roundtrip(struct case_context *c, const struct net_addr *a, const void *request, size_t n,
			 int quiet_ms)
{
	static unsigned char buf[65536 + 1];
	char why[256];
	size_t got;
	int fd = client_udp_socket(c, a);
	if (fd < 0)
		return -1;
	unsigned id = ++c->connections;
	int rc = -1;
	if (client_udp_send(c, fd, id, a, request, n) < 0)
		goto out;
	enum client_receive received = client_udp_receive(c, fd, id, buf, sizeof buf, c->timeout_ms, &got);
	if (received == CLIENT_NOTHING) {
		case_timeout(c, "no reply to a %zu-byte datagram within %d ms", n, c->timeout_ms);
		goto out;
	}
	if (received == CLIENT_RECEIVE_FAILED)
		goto out;
	if (oracle_udp_check(request, n, buf, got, why, sizeof why) != ORACLE_UDP_OK) {
		case_note_difference(c, request, n, buf, got, 0);
		case_fail(c, "reply to a %zu-byte datagram: %s", n, why);
		goto out;
	}
	if (quiet_ms > 0) {
		size_t again;
		received = client_udp_receive(c, fd, id, buf, sizeof buf, quiet_ms, &again);
		if (received == CLIENT_RECEIVED) {
			case_fail(c, "a second reply (%zu bytes) to one %zu-byte datagram: U1 wants exactly one", again, n);
			goto out;
		}
		if (received == CLIENT_RECEIVE_FAILED)
			goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}
