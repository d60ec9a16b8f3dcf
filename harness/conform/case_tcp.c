/* case_tcp.c - the TCP cases but the many-clients ones: the transform, framing, segmentation,
 * backpressure and half-close, disconnects and resets, a stalled client beside others, and IPv6. */
#include "case.h"

#include <errno.h>
#include <linux/sockios.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "host.h"
#include "resources.h"
#include "util.h"

static const struct net_addr *tcp(struct case_context *c)
{
	return &c->target->tcp;
}

/* ---- TCP: transform ---- */

int case_tcp_all_bytes(struct case_context *c)
{
	unsigned char b[1024];
	struct client_connection k;
	for (size_t i = 0; i < sizeof b; i++)
		b[i] = (unsigned char)(i < 512 ? i : 1023 - i);
	if (client_tcp_connect(c, tcp(c), &k) < 0)
		return -1;
	int rc = client_exchange(c, &k, b, sizeof b, CLIENT_HALF_CLOSE);
	client_tcp_close(c, &k);
	return rc;
}

int case_tcp_invalid_utf8(struct case_context *c)
{
	struct client_connection k;
	if (client_tcp_connect(c, tcp(c), &k) < 0)
		return -1;
	int rc = client_exchange(c, &k, case_invalid_utf8, case_invalid_utf8_len, CLIENT_HALF_CLOSE);
	client_tcp_close(c, &k);
	if (rc < 0)
		return rc;
	return client_tcp_still_serves(c, tcp(c), "invalid UTF-8");
}

/* Reads a server's whole answer to msg on a fresh connection (sent, then our FIN) into got: for the
 * hint of a failed transform case, which needs the bytes themselves. Returns 0 or -1 (no answer). */
static int read_whole_answer(struct case_context *c, const char *msg, unsigned char *got, size_t cap,
                             size_t *got_len)
{
	char err[256];
	size_t len = strlen(msg);
	*got_len = 0;
	int fd = net_connect(tcp(c), SOCK_STREAM, case_wait_ms(c, c->timeout_ms), err, sizeof err);
	if (fd < 0)
		return -1;
	if (send(fd, msg, len, MSG_NOSIGNAL) != (ssize_t)len || shutdown(fd, SHUT_WR) < 0) {
		close(fd);
		return -1;
	}
	while (*got_len < cap) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, case_wait_ms(c, c->timeout_ms)) != 1)
			break;
		ssize_t n = recv(fd, got + *got_len, cap - *got_len, 0);
		if (n <= 0)
			break;
		*got_len += (size_t)n;
	}
	close(fd);
	return 0;
}

/* Each line on one open connection, answered before the next; a wrong answer is looked at again on a
 * fresh connection for the hint. */
static int tcp_text_lines(struct case_context *c, const char *const *lines, size_t n)
{
	struct client_connection k;
	int rc = 0;
	size_t i = 0;
	if (client_tcp_connect(c, tcp(c), &k) < 0)
		return -1;
	for (; i < n && rc == 0; i++)
		rc = client_exchange(c, &k, lines[i], strlen(lines[i]), CLIENT_KEEP_OPEN);
	client_tcp_close(c, &k);
	if (rc == 0)
		return client_tcp_still_serves(c, tcp(c), "UTF-8 text");
	if (!c->result->timed_out) {
		unsigned char got[2048];
		size_t got_len;
		if (read_whole_answer(c, lines[i - 1], got, sizeof got, &got_len) == 0)
			case_hint_unicode(c, lines[i - 1], strlen(lines[i - 1]), got, got_len);
	}
	return rc;
}

int case_tcp_utf8_letters(struct case_context *c)
{
	return tcp_text_lines(c, case_utf8_letters, case_utf8_letters_count);
}

int case_tcp_utf8_mixed(struct case_context *c)
{
	return tcp_text_lines(c, case_utf8_mixed, case_utf8_mixed_count);
}

/* ---- TCP: framing ---- */

int case_tcp_interactive(struct case_context *c)
{
	static const char *lines[] = {"hello, world\n", "a second line, on the same connection\n", "x\n"};
	struct client_connection k;
	int rc = 0;
	if (client_tcp_connect(c, tcp(c), &k) < 0)
		return -1;
	for (size_t i = 0; i < sizeof lines / sizeof lines[0] && rc == 0; i++)
		rc = client_exchange(c, &k, lines[i], strlen(lines[i]), CLIENT_KEEP_OPEN);
	client_tcp_close(c, &k);
	return rc;
}

int case_tcp_no_newline(struct case_context *c)
{
	static const char msg[] = "no newline, no EOF: answer me now";
	struct client_connection k;
	if (client_tcp_connect(c, tcp(c), &k) < 0)
		return -1;
	int rc = client_exchange(c, &k, msg, sizeof msg - 1, CLIENT_KEEP_OPEN);
	client_tcp_close(c, &k);
	return rc;
}

/* ---- TCP: segmentation ---- */

int case_tcp_chunks(struct case_context *c)
{
	static const struct {
		size_t length, write_chunk, read_chunk;
	} plan[] = {{65536, 7, 13}, {65536, 1460, 65536}, {16384, 65536, 1}, {200000, 3000, 999}};
	static unsigned char b[200000];
	case_pattern(b, sizeof b, 7);
	for (size_t i = 0; i < sizeof plan / sizeof plan[0]; i++) {
		struct client_connection k;
		struct client_flow f;
		if (client_tcp_connect(c, tcp(c), &k) < 0)
			return -1;
		memset(&f, 0, sizeof f);
		f.connection = &k;
		f.out = b;
		f.out_len = plan[i].length;
		f.write_chunk = plan[i].write_chunk;
		f.read_chunk = plan[i].read_chunk;
		f.close = CLIENT_HALF_CLOSE;
		int rc = client_flows_run(c, &f, 1, 0);
		client_tcp_close(c, &k);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int case_tcp_byte_at_a_time(struct case_context *c)
{
	unsigned char b[300];
	struct client_connection k;
	struct client_flow f;
	case_pattern(b, sizeof b, 11);
	memcpy(b, "one byte at a time, each answered before the next\n", 51);
	if (client_tcp_connect(c, tcp(c), &k) < 0)
		return -1;
	memset(&f, 0, sizeof f);
	f.connection = &k;
	f.out = b;
	f.out_len = sizeof b;
	f.write_chunk = 1;
	f.lockstep = 1;
	f.close = CLIENT_HALF_CLOSE;
	int rc = client_flows_run(c, &f, 1, 0);
	client_tcp_close(c, &k);
	return rc;
}

/* ---- TCP: backpressure and half-close ---- */

/* A flow that first sends without reading until the server has taken nothing for stall_ms (it pushes
 * back), then goes on as close says; one that expects its reset ends after that stall phase. */
struct stalling_flow {
	size_t length;
	uint32_t seed; /* of the text sent (pattern) */
	int stall_ms;
	enum client_close close;
	int expect_reset;
	int budget_ms;
};

/* Runs plan on the connection k; f gets the flow's outcome (f->out is not kept). Returns what
 * client_flows_run() returns. */
static int send_stalling(struct case_context *c, struct client_connection *k,
                         const struct stalling_flow *plan, struct client_flow *f)
{
	unsigned char *b = malloc(plan->length);
	memset(f, 0, sizeof *f);
	if (b == NULL)
		return case_fail(c, "out of memory for %zu bytes", plan->length);
	case_pattern(b, plan->length, plan->seed);
	f->connection = k;
	f->out = b;
	f->out_len = plan->length;
	f->stall_ms = plan->stall_ms;
	f->close = plan->close;
	f->expect_reset = plan->expect_reset;
	int rc = client_flows_run(c, f, 1, plan->budget_ms);
	f->out = NULL;
	free(b);
	return rc;
}

static int big_flow(struct case_context *c, size_t n, int budget_ms)
{
	const struct stalling_flow plan = {
	    .length = n, .seed = 23, .stall_ms = 200, .close = CLIENT_HALF_CLOSE, .budget_ms = budget_ms};
	struct client_connection k;
	struct client_flow f;
	if (client_tcp_connect(c, tcp(c), &k) < 0)
		return -1;
	int rc = send_stalling(c, &k, &plan, &f);
	client_tcp_close(c, &k);
	if (f.stalled)
		snprintf(c->result->note, sizeof c->result->note,
		         "the server stopped taking bytes after %zu of %zu while we did not read",
		         f.stalled_at, n);
	else
		snprintf(c->result->note, sizeof c->result->note,
		         "all %zu bytes were accepted before we read any answer", n);
	return rc;
}

int case_tcp_16mib(struct case_context *c)
{
	int budget = 30 * c->timeout_ms;
	return big_flow(c, 16u << 20, budget < 60000 ? 60000 : budget);
}

/* SPEC T8's bound: what a server may hold of a connection's bytes in its own memory. */
#define T8_SERVER_BUFFER (4ll << 20)
/* What a garbage-collected runtime's resident memory may grow by besides, while a client does not read:
 * Node.js grew by 7 MiB passing 7 MiB through its streams before its first collection. */
#define T8_RUNTIME_SLACK (12ll << 20)

/* Figure `which` (0-based) of /proc/sys/net/PATH, or fallback when it cannot be read. */
static long long sysctl_figure(const char *path, int which, long long fallback)
{
	char file[128];
	long long v[3];
	snprintf(file, sizeof file, "/proc/sys/net/%s", path);
	FILE *f = fopen(file, "r");
	int n = f != NULL ? fscanf(f, "%lld %lld %lld", &v[0], &v[1], &v[2]) : 0;
	if (f != NULL)
		fclose(f);
	return n > which ? v[which] : fallback;
}

static long long larger(long long a, long long b)
{
	return a > b ? a : b;
}

/* The kernel's share of what a connection's bytes may fill while its client does not read: the
 * client's own send and receive buffers (from its socket) and the most the server's can reach
 * (autotuning's tcp_rmem[2] and tcp_wmem[2], or twice rmem_max and wmem_max set by SO_RCVBUF and
 * SO_SNDBUF); the parts are written into what. */
static long long kernel_share(int fd, char *what, size_t len)
{
	int snd = 0, rcv = 0;
	socklen_t l = sizeof snd;
	getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, &l);
	l = sizeof rcv;
	getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, &l);
	long long srv_rcv =
	    larger(sysctl_figure("ipv4/tcp_rmem", 2, 6 << 20), 2 * sysctl_figure("core/rmem_max", 0, 212992));
	long long srv_snd =
	    larger(sysctl_figure("ipv4/tcp_wmem", 2, 4 << 20), 2 * sysctl_figure("core/wmem_max", 0, 212992));
	snprintf(what, len,
	         "our socket's SO_SNDBUF %d and SO_RCVBUF %d, the server's at most %lld and %lld (tcp_rmem, "
	         "tcp_wmem, rmem_max, wmem_max)",
	         snd, rcv, srv_rcv, srv_snd);
	return snd + rcv + srv_rcv + srv_snd;
}

/* The server's resident memory (under --exec or --pid), or -1 when not known. */
static long long server_resident(struct case_context *c)
{
	struct resources_scope scope = {c->tcp_server_group, c->watched_pid};
	struct resources_sample s;
	char err[128];
	if ((scope.group <= 0 && scope.root <= 0) || resources_sample(&scope, &s, err, sizeof err) < 0)
		return -1;
	return s.resident_bytes;
}

int case_tcp_backpressure_bound(struct case_context *c)
{
	static unsigned char b[65536];
	char kernel[256];
	struct client_connection k;
	long long taken = 0, limit, bound, rss_before = server_resident(c), rss_during = -1;
	int stalled = 0, stall_ms = 200;
	case_pattern(b, sizeof b, 53);
	if (client_tcp_connect(c, tcp(c), &k) < 0)
		return -1;
	bound = kernel_share(k.fd, kernel, sizeof kernel) + T8_SERVER_BUFFER;
	bound += bound / 8;
	limit = bound + (4ll << 20); /* what we offer: past the bound, so that an unbounded server shows */
	uint64_t start = util_now_ns();
	while (taken < limit) {
		struct pollfd p = {k.fd, POLLOUT, 0};
		int ms = case_wait_ms(c, stall_ms);
		if (ms == 0)
			break;
		if (poll(&p, 1, ms) == 0) {
			stalled = ms == stall_ms;
			break;
		}
		ssize_t n = send(k.fd, b, sizeof b, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			int e = errno;
			client_tcp_reset(c, &k);
			return case_fail(
			    c,
			    "the server reset the connection after taking %lld bytes we did not "
			    "read the answers of (%s): T8 wants it to stop reading, not to reset",
			    taken, strerror(e));
		}
		taken += n > 0 ? n : 0;
	}
	double seconds = (double)(util_now_ns() - start) / 1e9;
	/* where the bytes taken are now: our socket's queues (ioctl) and the server's (/proc/net/tcp);
	 * the rest is in the server's own memory */
	int our_send = 0, our_receive = 0;
	long long its_send = 0, its_receive = 0, held = -1;
	struct net_addr local;
	if (ioctl(k.fd, SIOCOUTQ, &our_send) == 0 && ioctl(k.fd, SIOCINQ, &our_receive) == 0 &&
	    net_local(k.fd, &local) == 0 &&
	    host_tcp_queues(tcp(c), net_port((const struct sockaddr *)&local.ss), &its_send, &its_receive) ==
	        0)
		held = taken - our_send - our_receive - its_send - its_receive;
	/* the kernel's share again, now that autotuning had its chance to grow our buffers */
	bound = kernel_share(k.fd, kernel, sizeof kernel) + T8_SERVER_BUFFER;
	bound += bound / 8;
	if (rss_before >= 0)
		rss_during = server_resident(c);
	client_tcp_reset(c, &k);
	long long grown = rss_before >= 0 && rss_during >= 0 ? rss_during - rss_before : -1;
	char memory[128] = "", where[256] = "";
	if (grown >= 0)
		snprintf(memory, sizeof memory, "; its resident memory grew by %lld KiB meanwhile",
		         grown / 1024);
	if (held >= 0)
		snprintf(
		    where, sizeof where,
		    "; %d in our send queue, %lld in the server's receive queue, %lld in its send queue, %d "
		    "in our receive queue: %lld in the server's own memory",
		    our_send, its_receive, its_send, our_receive, held);
	snprintf(c->result->note, sizeof c->result->note,
	         "the server took %lld bytes in %.2f s while we read nothing%s%s%s; bound %lld: %s, its own "
	         "%lld (SPEC T8), and an eighth for margin",
	         taken, seconds, stalled ? ", then stopped" : "", where, memory, bound, kernel,
	         T8_SERVER_BUFFER);
	if (!stalled && taken < limit)
		return case_timeout(c, "the case's time ran out after the server took %lld bytes", taken);
	/* every bound it broke, each in its own words */
	char broken[CASE_MESSAGE_MAX] = "";
	size_t used = 0;
	if (held > T8_SERVER_BUFFER + (1ll << 20) && used + 1 < sizeof broken)
		used += (size_t)snprintf(
		    broken + used, sizeof broken - used,
		    "; it holds %lld bytes of answers itself (what it took less the kernel's "
		    "queues on both sides), more than its %lld MiB and 1 MiB of margin",
		    held, T8_SERVER_BUFFER >> 20);
	if ((!stalled || taken > bound) && used + 1 < sizeof broken)
		used += (size_t)snprintf(
		    broken + used, sizeof broken - used,
		    "; it took %lld bytes%s, past the bound of %lld (the kernel's buffers on "
		    "both sides, its own %lld MiB and an eighth)",
		    taken, stalled ? "" : " and still took more", bound, T8_SERVER_BUFFER >> 20);
	if (grown > T8_SERVER_BUFFER + T8_RUNTIME_SLACK && used + 1 < sizeof broken)
		used += (size_t)snprintf(
		    broken + used, sizeof broken - used,
		    "; its resident memory grew by %lld KiB, more than its %lld MiB and %lld MiB "
		    "for a runtime's garbage",
		    grown / 1024, T8_SERVER_BUFFER >> 20, T8_RUNTIME_SLACK >> 20);
	if (used > 0)
		return case_fail(
		    c, "the server buffers without bound while we read none of its answers (SPEC T8)%s",
		    broken);
	return 0;
}

int case_tcp_halfclose(struct case_context *c)
{
	return big_flow(c, 256u << 10, 0);
}

/* ---- TCP: disconnects and resets ---- */

int case_tcp_connect_close(struct case_context *c)
{
	for (int i = 0; i < 50; i++) {
		struct client_connection k;
		if (client_tcp_connect(c, tcp(c), &k) < 0)
			return -1;
		if (i >= 25 && send(k.fd, "abc", 3, MSG_NOSIGNAL) < 0) {
			/* the server may already have dropped us; that is its right */
		}
		client_tcp_close(c, &k);
		/* every 4 clients, one served exchange: the server has accepted them all, so a small listen
		 * backlog never overflows here (that is tcp/many/burst's business, not this case's) */
		if (i % 4 == 3 && client_tcp_still_serves(c, tcp(c), "connect-then-close clients") < 0)
			return -1;
	}
	return client_tcp_still_serves(c, tcp(c),
	                               "50 connect-then-close clients (25 of them after sending 3 bytes)");
}

int case_tcp_reset_before(struct case_context *c)
{
	for (int i = 0; i < 20; i++) {
		struct client_connection k;
		if (client_tcp_connect(c, tcp(c), &k) < 0)
			return -1;
		client_tcp_reset(c, &k);
		if (i % 4 == 3 && client_tcp_still_serves(c, tcp(c), "clients that reset before sending") < 0)
			return -1; /* paced, as in tcp/disconnect/connect-close */
	}
	return client_tcp_still_serves(c, tcp(c), "20 clients that reset before sending");
}

int case_tcp_reset_mid(struct case_context *c)
{
	unsigned char b[10000];
	case_pattern(b, sizeof b, 5);
	for (int i = 0; i < 10; i++) {
		struct client_connection k;
		if (client_tcp_connect(c, tcp(c), &k) < 0)
			return -1;
		if (client_exchange(c, &k, b, 5000, CLIENT_KEEP_OPEN) < 0) {
			client_tcp_close(c, &k);
			return -1;
		}
		if (send(k.fd, b + 5000, 5000, MSG_NOSIGNAL) < 0) {
			/* a reset here is the server's; the check below tells */
		}
		client_tcp_reset(c, &k);
	}
	return client_tcp_still_serves(c, tcp(c), "10 clients that reset mid-stream");
}

/* Sends n bytes without reading until the server stops taking them (it owes us output), then resets. */
static int owe_and_reset(struct case_context *c, size_t n)
{
	const struct stalling_flow plan = {
	    .length = n, .seed = 29, .stall_ms = 100, .expect_reset = 1, .budget_ms = 3 * c->timeout_ms};
	struct client_connection k;
	struct client_flow f;
	char ignored[CASE_MESSAGE_MAX];
	if (client_tcp_connect(c, tcp(c), &k) < 0)
		return -1;
	/* the stall phase sends until the server stops reading; the rest is not needed */
	if (send_stalling(c, &k, &plan, &f) < 0)
		case_take_failure(c, ignored, sizeof ignored);
	client_tcp_reset(c, &k);
	return 0;
}

int case_tcp_reset_owed(struct case_context *c)
{
	for (int i = 0; i < 3; i++) {
		if (owe_and_reset(c, 8u << 20) < 0)
			return -1;
		util_sleep_ms(50); /* let the server try to write to the reset connection */
	}
	return client_tcp_still_serves(c, tcp(c), "3 clients that reset while the server owed them output");
}

int case_tcp_reset_repeated(struct case_context *c)
{
	static const char msg[] = "reset after this\n";
	int n = c->resets > 0 ? c->resets : (c->server_nofile > 0 ? 2 * c->server_nofile + 50 : 600);
	for (int i = 0; i < n; i++) {
		struct client_connection k;
		if (client_tcp_connect(c, tcp(c), &k) < 0) {
			char why[CASE_MESSAGE_MAX];
			if (case_take_failure(c, why, sizeof why))
				return case_timeout(c, "connection %d of %d (after %d resets): %s", i + 1, n,
				                    i, why);
			return case_fail(c, "connection %d of %d (after %d resets): %s", i + 1, n, i, why);
		}
		if (send(k.fd, msg, sizeof msg - 1, MSG_NOSIGNAL) < 0) {
			/* checked by the final exchange */
		}
		if (i % 2 == 0) {
			/* every other one waits for its answer: the server has accepted and read it */
			struct pollfd p = {k.fd, POLLIN, 0};
			int ms = case_wait_ms(c, c->timeout_ms);
			if (poll(&p, 1, ms) == 0) {
				client_tcp_reset(c, &k);
				return case_timeout(
				    c, "connection %d of %d (after %d resets): no answer within %d ms", i + 1,
				    n, i, ms);
			}
		}
		client_tcp_reset(c, &k);
	}
	char after[96];
	snprintf(after, sizeof after, "%d resets%s", n,
	         c->server_nofile > 0 ? " (more than the server's descriptor limit)" : "");
	return client_tcp_still_serves(c, tcp(c), after);
}

int case_tcp_stalled(struct case_context *c)
{
	static const char msg[] = "are you there while the others stall?\n";
	const struct stalling_flow plan = {.length = 8u << 20,
	                                   .seed = 41,
	                                   .stall_ms = 150,
	                                   .expect_reset = 1,
	                                   .budget_ms = 3 * c->timeout_ms};
	struct client_connection a = {-1, 0}, idle = {-1, 0}, k = {-1, 0};
	struct client_flow f;
	char why[CASE_MESSAGE_MAX];
	int rc = -1;
	if (client_tcp_connect(c, tcp(c), &idle) < 0 || client_tcp_connect(c, tcp(c), &a) < 0)
		goto out;
	if (send_stalling(c, &a, &plan, &f) < 0) /* a client that sends and never reads */
		case_take_failure(c, why, sizeof why);
	if (client_tcp_connect(c, tcp(c), &k) < 0)
		goto out;
	rc = client_exchange(c, &k, msg, sizeof msg - 1, CLIENT_KEEP_OPEN);
	if (rc < 0) {
		if (case_take_failure(c, why, sizeof why))
			rc = case_fail(c,
			               "a client was delayed while another one stalled (sent %zu bytes "
			               "without reading) and a third stayed idle: %s",
			               f.sent, why);
		else
			rc = case_fail(c, "%s", why);
	}
out:
	client_tcp_close(c, &k);
	client_tcp_close(c, &idle);
	client_tcp_reset(c, &a);
	return rc;
}

int case_tcp_ipv6(struct case_context *c)
{
	struct net_addr a;
	struct client_connection k;
	char err[256], name[NET_ADDRSTRLEN];
	if (!util_have_ipv6_loopback(SOCK_DGRAM))
		return case_skip(c, "this host has no IPv6 loopback");
	if (case_v6_of(&c->target->tcp, c->target->has_tcp6, &c->target->tcp6, &a) < 0)
		return case_skip(c, "no IPv6 address known for the target (give --tcp [::1]:PORT)");
	if (!c->target->has_tcp6 && c->target->tcp.ss.ss_family != AF_INET6) {
		/* a guessed address: the target may simply not have IPv6 */
		int fd = net_connect(&a, SOCK_STREAM, c->timeout_ms, err, sizeof err);
		if (fd < 0 && errno == ECONNREFUSED)
			return case_skip(
			    c, "the target has no IPv6 listener at %s (give --tcp [::1]:PORT to test it)",
			    net_format((const struct sockaddr *)&a.ss, name, sizeof name));
		if (fd >= 0)
			close(fd);
	}
	if (client_tcp_connect(c, &a, &k) < 0)
		return -1;
	int rc = client_exchange(c, &k, "ipv6 works too: abcxyz\n", 23, CLIENT_HALF_CLOSE);
	client_tcp_close(c, &k);
	return rc;
}
