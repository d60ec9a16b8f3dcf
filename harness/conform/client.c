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

#include "exchange.h"
#include "host.h"
#include "oracle.h"
#include "recording.h"
#include "util.h"

static uint64_t ms_from_now(int ms)
{
	return util_now_ns() + (uint64_t)ms * 1000000u;
}

static void record(struct case_context *c, enum recording_event_kind kind, unsigned id, const void *p,
                   size_t n)
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
			                    net_format((const struct sockaddr *)&a->ss, name, sizeof name),
			                    err);
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

/* What the engine's hooks keep of a run: the case (for its recording) and a copy of the last bytes
 * received, in which a wrong byte was found when the run fails on one. */
struct flows_run {
	struct case_context *c;
	const struct xchg_conn *connections;
	size_t last_index;  /* the connection they came on */
	size_t last_offset; /* their offset in its answer */
	size_t last_len;
	unsigned char last[65536];
};

static int flow_event(void *arg, const struct xchg_conn *x, enum xchg_event event, const unsigned char *p,
                      size_t n)
{
	static const enum recording_event_kind kinds[] = {[XCHG_EV_SEND] = RECORDING_TCP_SEND,
	                                                  [XCHG_EV_RECV] = RECORDING_TCP_RECEIVE,
	                                                  [XCHG_EV_SHUT] = RECORDING_TCP_HALF_CLOSE,
	                                                  [XCHG_EV_FIN] = RECORDING_TCP_SERVER_FIN,
	                                                  [XCHG_EV_RST] = RECORDING_TCP_SERVER_RESET};
	struct flows_run *run = arg;
	if (event == XCHG_EV_RECV && n > 0)
		run->c->result->answered++;
	if (event == XCHG_EV_RECV) {
		run->last_index = (size_t)(x - run->connections);
		run->last_offset = x->oracle.got; /* reported before the oracle takes them */
		run->last_len = n < sizeof run->last ? n : sizeof run->last;
		memcpy(run->last, p, run->last_len);
	}
	if (event <= XCHG_EV_RST)
		record(run->c, kinds[event], x->id, p, n);
	return 0;
}

/* A wrong or extra byte in the last bytes received: the excerpts, and the message. Returns -1. */
static int flow_wrong_bytes(struct case_context *c, const struct client_flow *f, const struct flows_run *run)
{
	unsigned id = f->connection->id;
	size_t base = run->last_offset, n = run->last_len;
	size_t owed = f->out_len > base ? f->out_len - base : 0;
	size_t compared = n < owed ? n : owed;
	size_t mismatch = oracle_mismatch(f->out + base, compared, run->last, n);
	case_note_difference(c, f->out + base, compared, run->last, n, base);
	if (mismatch < compared) {
		case_fail(c, "connection %u: wrong byte at offset %zu of the answer", id, base + mismatch);
		if (base == 0) /* the hint names offsets from the start */
			case_hint_unicode(c, f->out, compared, run->last, n);
		return -1;
	}
	return case_fail(c,
	                 "connection %u: %zu bytes more than were sent (%zu sent, answered from offset %zu)",
	                 id, n - compared, f->out_len, base + mismatch);
}

/* The server closed (FIN) or reset the connection too early, or a socket call failed. Returns -1. */
static int flow_closed(struct case_context *c, const struct client_flow *f, const struct xchg_conn *x)
{
	unsigned id = f->connection->id;
	size_t answered = x->oracle.got;
	if (x->oracle.rst && x->reset_on_send)
		return case_fail(
		    c, "connection %u: write after %zu of %zu bytes: %s (the server reset the connection)",
		    id, x->oracle.sent, f->out_len, strerror(x->error));
	if (x->oracle.rst && x->error != ECONNRESET)
		return case_fail(c, "connection %u: read: %s after %zu of %zu bytes answered", id,
		                 strerror(x->error), answered, f->out_len);
	if (x->oracle.rst)
		return case_fail(c,
		                 "connection %u: reset (RST) by the server after %zu of %zu bytes answered%s",
		                 id, answered, f->out_len,
		                 x->shut_done ? ", after our half-close: expected the rest, then FIN" : "");
	if (answered >= f->out_len)
		return case_fail(c, "connection %u: server closed (FIN) before we half-closed", id);
	c->result->offset = (long long)answered;
	if (!x->shut_done)
		return case_fail(c,
		                 "connection %u: server closed (FIN) after answering %zu of %zu bytes, "
		                 "before we half-closed",
		                 id, answered, f->out_len);
	return case_fail(c, "connection %u: FIN after %zu of %zu bytes: %zu bytes never answered", id,
	                 answered, f->out_len, f->out_len - answered);
}

/* The run ended on a bound: names the last unfinished connection. Returns -1 (case timed out). */
static int flows_timed_out(struct case_context *c, const struct client_flow *f, const struct xchg_conn *x,
                           size_t n, const struct xchg_run_result *r)
{
	const struct client_flow *worst = &f[r->conn];
	const struct xchg_oracle *o = &x[r->conn].oracle;
	int half_closed = x[r->conn].shut_done;
	c->result->offset = (long long)o->got;
	return case_timeout(
	    c,
	    "%s: connection %u got %zu of %zu bytes answered (%zu sent%s)%s; %zu of %zu connections complete",
	    r->status == XCHG_RUN_BUDGET ? "time budget exhausted" : "no progress for the timeout",
	    worst->connection->id, o->got, worst->out_len, o->sent, half_closed ? ", half-closed" : "",
	    half_closed && o->got == worst->out_len ? ", no FIN" : "", r->done, n);
}

/* Turns the engine's outcome into the case's result. Returns 0 or -1 (case failed or timed out). */
static int flows_outcome(struct case_context *c, const struct client_flow *f, const struct xchg_conn *x,
                         size_t n, const struct xchg_run_result *r, const struct flows_run *run,
                         const char *err)
{
	switch (r->status) {
	case XCHG_RUN_DONE:
		return 0;
	case XCHG_RUN_IDLE:
	case XCHG_RUN_BUDGET:
		return flows_timed_out(c, f, x, n, r);
	case XCHG_RUN_FAILED: {
		const struct xchg_conn *failed = &x[r->conn];
		enum xchg_verdict v = failed->oracle.verdict;
		char what[256];
		if ((v == XCHG_WRONG_BYTE || v == XCHG_EXTRA_BYTES) && run->last_index == r->conn)
			return flow_wrong_bytes(c, &f[r->conn], run);
		if (v == XCHG_EARLY_FIN || v == XCHG_FIN_BEFORE_SHUT || v == XCHG_RESET)
			return flow_closed(c, &f[r->conn], failed);
		return case_fail(c, "connection %u: %s", failed->id,
		                 xchg_oracle_describe(&failed->oracle, what, sizeof what));
	}
	default:
		return case_fail(c, "%s", err);
	}
}

int client_flows_run(struct case_context *c, struct client_flow *f, size_t n, int budget_ms)
{
	struct xchg_conn *x = calloc(n + 1, sizeof *x);
	struct flows_run *run = malloc(sizeof *run);
	struct xchg_run_result r;
	char err[256];
	int rc = -1;
	if (x == NULL || run == NULL) {
		case_fail(c, "out of memory for %zu connections", n);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct xchg_expect e = {.mode = XCHG_MODE_X1,
		                        .sent = f[i].out,
		                        .sent_len = f[i].out_len,
		                        .half_close = f[i].close == CLIENT_HALF_CLOSE,
		                        .client_resets = f[i].expect_reset};
		xchg_conn_init(&x[i], f[i].connection->fd, f[i].connection->id, &e);
		x[i].wchunk = f[i].write_chunk;
		x[i].rchunk = f[i].read_chunk;
		x[i].lockstep = f[i].lockstep;
		x[i].stall_ms = f[i].stall_ms;
		x[i].hook = flow_event;
		x[i].hook_arg = run;
	}
	run->c = c;
	run->connections = x;
	run->last_index = SIZE_MAX;
	/* a case whose budget is used up waits no more (0 would mean no bound to the engine) */
	int budget = case_wait_ms(c, budget_ms > 0 ? budget_ms : 10 * c->timeout_ms);
	struct xchg_limits limits = {.idle_ms = c->timeout_ms, .budget_ms = budget > 0 ? budget : 1};
	xchg_run(x, n, &limits, &r, err, sizeof err);
	for (size_t i = 0; i < n; i++) {
		f[i].sent = x[i].oracle.sent;
		f[i].answered = x[i].oracle.got;
		f[i].stalled = x[i].stalled;
		f[i].stalled_at = x[i].stalled_at;
	}
	rc = flows_outcome(c, f, x, n, &r, run, err);
out:
	free(x);
	free(run);
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

/* After CALL (sendto or sendmmsg) failed with errno: 0 to send again (the socket was full and time is
 * left, after a short wait for room; or the error is an ICMP error from an earlier datagram), else the
 * case's failure or timeout. */
static int udp_send_again(struct case_context *c, int fd, uint64_t end, const char *call,
                          const struct net_addr *a)
{
	char name[NET_ADDRSTRLEN];

	if (errno == EAGAIN || errno == ENOBUFS || errno == EINTR) {
		struct pollfd pf = {fd, POLLOUT, 0};
		if (util_ms_left(end) == 0)
			return case_timeout(c, "udp %s: socket stayed full", call);
		poll(&pf, 1, 5);
		return 0;
	}
	if (errno == ECONNREFUSED)
		return 0; /* an ICMP error from an earlier datagram: not this one's */
	return case_fail(c, "udp %s %s: %s", call,
	                 net_format((const struct sockaddr *)&a->ss, name, sizeof name), strerror(errno));
}

/* Remembers where the datagrams went (their replies must come from there, U1) and records the n
 * datagrams sent from fd to a when the case records. */
static void udp_record_sent(struct case_context *c, int fd, unsigned id, const struct net_addr *a,
                            const unsigned char *const *p, const size_t *len, size_t n)
{
	struct net_addr local;

	c->udp_sent_to = *a;
	c->has_udp_sent_to = 1;
	if (c->recording != NULL && net_local(fd, &local) == 0)
		for (size_t i = 0; i < n; i++)
			recording_add(c->recording, RECORDING_UDP_SEND, id, p[i], len[i], &local, a);
}

int client_udp_send_burst(struct case_context *c, int fd, unsigned id, const struct net_addr *a,
                          const unsigned char *const *p, const size_t *len, size_t n)
{
	enum { MAX_BURST = 256 };
	struct mmsghdr m[MAX_BURST];
	struct iovec v[MAX_BURST];
	char name[NET_ADDRSTRLEN];
	uint64_t end = ms_from_now(c->timeout_ms);
	size_t done = 0;

	if (n > MAX_BURST)
		return case_fail(c, "a burst of %zu datagrams: at most %d", n, MAX_BURST);
	memset(m, 0, sizeof m);
	for (size_t i = 0; i < n; i++) {
		v[i].iov_base = (void *)p[i];
		v[i].iov_len = len[i];
		m[i].msg_hdr.msg_name = (void *)&a->ss;
		m[i].msg_hdr.msg_namelen = a->len;
		m[i].msg_hdr.msg_iov = &v[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	while (done < n) {
		int k = sendmmsg(fd, m + done, (unsigned)(n - done), 0);
		if (k > 0) {
			for (size_t i = done; i < done + (size_t)k; i++)
				if (m[i].msg_len != len[i])
					return case_fail(
					    c, "udp sendmmsg %s: sent %u of %zu bytes",
					    net_format((const struct sockaddr *)&a->ss, name, sizeof name),
					    m[i].msg_len, len[i]);
			done += (size_t)k;
			continue;
		}
		int rc = udp_send_again(c, fd, end, "sendmmsg", a);
		if (rc < 0)
			return rc;
	}
	udp_record_sent(c, fd, id, a, p, len, n);
	return 0;
}

int client_udp_send(struct case_context *c, int fd, unsigned id, const struct net_addr *a, const void *p,
                    size_t n)
{
	const unsigned char *bytes = p;
	char name[NET_ADDRSTRLEN];
	uint64_t end = ms_from_now(c->timeout_ms);
	for (;;) {
		ssize_t w = sendto(fd, p, n, 0, (const struct sockaddr *)&a->ss, a->len);
		if (w == (ssize_t)n)
			break;
		if (w >= 0)
			return case_fail(c, "udp sendto %s: sent %zd of %zu bytes",
			                 net_format((const struct sockaddr *)&a->ss, name, sizeof name), w,
			                 n);
		int rc = udp_send_again(c, fd, end, "sendto", a);
		if (rc < 0)
			return rc;
	}
	udp_record_sent(c, fd, id, a, &bytes, &n, 1);
	return 0;
}

/* Whether a reply from `from` comes from where the case's datagrams went (SPEC U1): the same address
 * and port, compared as net_format() writes them. */
static int udp_from_destination(const struct case_context *c, const struct net_addr *from)
{
	char want[NET_ADDRSTRLEN], got[NET_ADDRSTRLEN];
	return !c->has_udp_sent_to ||
	       strcmp(net_format((const struct sockaddr *)&c->udp_sent_to.ss, want, sizeof want),
	              net_format((const struct sockaddr *)&from->ss, got, sizeof got)) == 0;
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
			c->result->answered++;
			if ((size_t)n > cap) {
				case_fail(c, "udp reply of %zd bytes is larger than the %zu expected at most",
				          n, cap);
				return CLIENT_RECEIVE_FAILED;
			}
			if (c->recording != NULL) {
				struct net_addr local;
				if (net_local(fd, &local) == 0)
					recording_add(c->recording, RECORDING_UDP_RECEIVE, id, buf, (size_t)n,
					              &local, &from);
			}
			if (!udp_from_destination(c, &from)) {
				char got[NET_ADDRSTRLEN], want[NET_ADDRSTRLEN];
				case_fail(
				    c,
				    "U1: a reply of %zd bytes came from %s, not from %s where the datagram "
				    "was "
				    "sent (a reply from another socket is no answer: a connected client, a "
				    "firewall or NAT drops it)",
				    n, net_format((const struct sockaddr *)&from.ss, got, sizeof got),
				    net_format((const struct sockaddr *)&c->udp_sent_to.ss, want,
				               sizeof want));
				return CLIENT_RECEIVE_FAILED;
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
	struct host_drops drops;
	host_drops_read(c->target, &drops);
	if (client_udp_send(c, fd, id, a, request, n) < 0)
		goto out;
	/* over loopback the kernel delivers (or drops) a datagram within the send: a drop counted by now
	 * is this one's, and there is no reply to wait for */
	long long now = host_drops_since(c->target, &drops);
	enum client_receive received =
	    now > 0 ? CLIENT_NOTHING : client_udp_receive(c, fd, id, buf, sizeof buf, c->timeout_ms, &got);
	if (received == CLIENT_NOTHING) {
		char counter[256];
		if (host_excuse_loss(c, &drops, 1, "a round trip", counter, sizeof counter))
			rc = 0;
		else
			case_timeout(c, "no reply to a %zu-byte datagram within %d ms%s", n, c->timeout_ms,
			             counter);
		goto out;
	}
	if (received == CLIENT_RECEIVE_FAILED)
		goto out;
	if (oracle_udp_check(request, n, buf, got, why, sizeof why) != ORACLE_UDP_OK) {
		case_note_difference(c, request, n, buf, got, 0);
		case_fail(c, "reply to a %zu-byte datagram: %s", n, why);
		case_hint_unicode(c, request, n, buf, got);
		goto out;
	}
	if (quiet_ms > 0) {
		size_t again;
		received = client_udp_receive(c, fd, id, buf, sizeof buf, quiet_ms, &again);
		if (received == CLIENT_RECEIVED) {
			case_fail(c,
			          "a second reply (%zu bytes) to one %zu-byte datagram: U1 wants exactly one",
			          again, n);
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
