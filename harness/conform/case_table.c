/* case_table.c - conform's case table: one line per case (id, SPEC rule, MUST/SHOULD, transport,
 * description, function); every answer is judged by the oracle through client.c. */
#include "case.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "oracle.h"
#include "recording.h"
#include "resources.h"
#include "upper.h"
#include "util.h"

/* Fills p[0..n) with printable ASCII and newlines (a-z included), reproducibly from seed (xorshift).
 * Text, not every byte value: each case tests one rule, and byte values are the transform cases' job
 * (the tcp/transform and udp/transform cases), so a server that chokes on non-UTF-8 fails those, not every
 * case. */
static void pattern(unsigned char *p, size_t n, uint32_t seed)
{
	uint32_t x = seed ? seed : 1u;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		unsigned v = (x >> 11) % 96u;
		p[i] = (unsigned char)(v == 95 ? '\n' : 0x20 + v);
	}
}

static const struct net_addr *tcp(struct case_context *c)
{
	return &c->target->tcp;
}

static const struct net_addr *udp(struct case_context *c)
{
	return &c->target->udp;
}

/* ---- TCP: transform ---- */

static int tcp_all_bytes(struct case_context *c)
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

static const unsigned char invalid_utf8[] = "bad utf-8: \xff\xfe lone \x80 continuation, overlong \xc0\xaf, "
                                            "surrogate \xed\xa0\x80, cut \xe2\x82 and caf\xc3";

static int tcp_invalid_utf8(struct case_context *c)
{
	struct client_connection k;
	if (client_tcp_connect(c, tcp(c), &k) < 0)
		return -1;
	int rc = client_exchange(c, &k, invalid_utf8, sizeof invalid_utf8 - 1, CLIENT_HALF_CLOSE);
	client_tcp_close(c, &k);
	if (rc < 0)
		return rc;
	return client_tcp_still_serves(c, tcp(c), "invalid UTF-8");
}

/* Text in UTF-8 that Unicode-aware uppercasing changes (SPEC X1 sends it back byte for byte), one kind
 * a line: Latin-1 supplement letters, letters whose uppercase is longer (sharp s to "SS", the fi
 * ligature to "FI"), Greek and Cyrillic, dotless i (and dotted I and the Kelvin sign, which uppercasing
 * keeps). Each line is well under 1024 bytes, so a port that reads 1024 at a time never splits one. */
static const char *const utf8_letters[] = {
    "Latin-1 supplement: caf\xc3\xa9 ma\xc3\xb1"
    "ana \xc3\xbf"
    "es \xc3\xa0 \xc3\xbe \xc2\xb5\n",
    "longer in uppercase: stra\xc3\x9f"
    "e \xef\xac\x81le \xef\xac\x82ow\n",
    "Greek and Cyrillic: \xce\xb1\xce\xb2\xce\xb3 \xcf\x89\xcf\x83\xcf\x82 \xd0\xb6\xd1\x83\xd0\xba "
    "\xd1\x91\xd0\xb6\n",
    "dotless \xc4\xb1, dotted \xc4\xb0, Kelvin \xe2\x84\xaa, long \xc5\xbf\n",
};

/* Latin-1 single bytes, and valid UTF-8 letters mixed with invalid bytes (a port that decodes with
 * errors="surrogateescape" or "replace" still uppercases the valid ones). */
static const char *const utf8_mixed[] = {
    "Latin-1 bytes: caf\xe9 na\xefve \xff \xe0 la carte\n",
    "valid and invalid: caf\xc3\xa9 \xff ma\xc3\xb1"
    "ana \xc3( stra\xc3\x9f"
    "e \xe2\x82 \xd0\xb6\xd1\x83\xd0\xba\n",
};

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

/* Adds oracle_unicode_hint()'s words to the failure's reason when got looks uppercased as text. */
static void hint_unicode(struct case_context *c, const char *msg, const unsigned char *got, size_t got_len)
{
	char why[CASE_MESSAGE_MAX];
	if (oracle_unicode_hint((const unsigned char *)msg, strlen(msg), got, got_len, why, sizeof why) ==
	    ORACLE_HINT_NONE)
		return;
	size_t used = strlen(c->result->message);
	snprintf(c->result->message + used, sizeof c->result->message - used, "; %s", why);
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
			hint_unicode(c, lines[i - 1], got, got_len);
	}
	return rc;
}

static int tcp_utf8_letters(struct case_context *c)
{
	return tcp_text_lines(c, utf8_letters, sizeof utf8_letters / sizeof utf8_letters[0]);
}

static int tcp_utf8_mixed(struct case_context *c)
{
	return tcp_text_lines(c, utf8_mixed, sizeof utf8_mixed / sizeof utf8_mixed[0]);
}

/* ---- TCP: framing ---- */

static int tcp_interactive(struct case_context *c)
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

static int tcp_no_newline(struct case_context *c)
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

static int tcp_chunks(struct case_context *c)
{
	static const struct {
		size_t length, write_chunk, read_chunk;
	} plan[] = {{65536, 7, 13}, {65536, 1460, 65536}, {16384, 65536, 1}, {200000, 3000, 999}};
	static unsigned char b[200000];
	pattern(b, sizeof b, 7);
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

static int tcp_byte_at_a_time(struct case_context *c)
{
	unsigned char b[300];
	struct client_connection k;
	struct client_flow f;
	pattern(b, sizeof b, 11);
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
	pattern(b, plan->length, plan->seed);
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

static int tcp_16mib(struct case_context *c)
{
	int budget = 30 * c->timeout_ms;
	return big_flow(c, 16u << 20, budget < 60000 ? 60000 : budget);
}

static int tcp_halfclose(struct case_context *c)
{
	return big_flow(c, 256u << 10, 0);
}

/* ---- TCP: disconnects and resets ---- */

static int tcp_connect_close(struct case_context *c)
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

static int tcp_reset_before(struct case_context *c)
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

static int tcp_reset_mid(struct case_context *c)
{
	unsigned char b[10000];
	pattern(b, sizeof b, 5);
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

static int tcp_reset_owed(struct case_context *c)
{
	for (int i = 0; i < 3; i++) {
		if (owe_and_reset(c, 8u << 20) < 0)
			return -1;
		util_sleep_ms(50); /* let the server try to write to the reset connection */
	}
	return client_tcp_still_serves(c, tcp(c), "3 clients that reset while the server owed them output");
}

static int tcp_reset_repeated(struct case_context *c)
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

/* ---- TCP: many clients ---- */

static int many(struct case_context *c, size_t n, size_t len)
{
	struct client_connection *k = calloc(n, sizeof *k);
	struct client_flow *f = calloc(n, sizeof *f);
	unsigned char *b = malloc(n * len);
	size_t opened = 0;
	int rc = -1;
	if (k == NULL || f == NULL || b == NULL) {
		case_fail(c, "out of memory for %zu connections", n);
		goto out;
	}
	pattern(b, n * len, 31);
	for (; opened < n; opened++) {
		if (client_tcp_connect(c, tcp(c), &k[opened]) < 0)
			goto out;
		int h = snprintf((char *)b + opened * len, len, "client %zu of %zu: ", opened + 1, n);
		b[opened * len + (size_t)h] = 'z';
		/* its first byte is answered before the next client connects: all are open at once, but this
		 * is not a burst of connection attempts (that is tcp/many/burst, where the backlog shows) */
		if (client_exchange(c, &k[opened], b + opened * len, 1, CLIENT_KEEP_OPEN) < 0) {
			char why[CASE_MESSAGE_MAX];
			int timed_out = case_take_failure(c, why, sizeof why);
			const char *fmt = "with %zu connections open, client %zu of %zu was not served: %s";
			if (timed_out)
				case_timeout(c, fmt, opened, opened + 1, n, why);
			else
				case_fail(c, fmt, opened, opened + 1, n, why);
			opened++;
			goto out;
		}
		f[opened].connection = &k[opened];
		f[opened].out = b + opened * len + 1;
		f[opened].out_len = len - 1;
		f[opened].close = CLIENT_HALF_CLOSE;
	}
	rc = client_flows_run(c, f, n, 0);
out:
	for (size_t i = 0; i < opened; i++)
		client_tcp_close(c, &k[i]);
	free(k);
	free(f);
	free(b);
	return rc;
}

static int tcp_concurrent(struct case_context *c)
{
	return many(c, 100, 2000);
}

/* Lowers the server's soft descriptor limit to --nofile again once it has closed the many connections
 * (a poll() server given more descriptors than its limit fails with EINVAL); left raised when it still
 * holds them after 3 s. */
static void lower_again(struct case_context *c, const struct resources_scope *scope, long raised)
{
	struct resources_sample now;
	char err[256];
	int lowered = 0;
	for (int waited = 0; waited < 3000; waited += 20) {
		if (resources_sample(scope, &now, err, sizeof err) < 0)
			break;
		if (now.descriptors + 16 < c->server_nofile) {
			lowered = resources_set_nofile(scope, c->server_nofile, err, sizeof err) > 0;
			break;
		}
		util_sleep_ms(20);
	}
	snprintf(c->result->note, sizeof c->result->note,
	         "the server's soft descriptor limit was %ld during this case (%s)", raised,
	         lowered ? "then --nofile again" : "left so: it still held its connections 3 s after");
}

/* 2000 connections open at once (SPEC T9). A server conform started has its soft descriptor limit raised
 * to its hard one (--nofile-many) for this case and lowered again after it; the case skips only when
 * conform itself cannot hold the connections. */
static int tcp_many_2000(struct case_context *c)
{
	enum { N = 2000 };
	const long need = N + 64;
	struct rlimit rl;
	char err[256];
	if (util_raise_nofile(need) < need && getrlimit(RLIMIT_NOFILE, &rl) == 0)
		return case_skip(
		    c,
		    "conform's own descriptor limit (%llu, hard %llu) is below the %ld it needs for "
		    "%d connections (raise ulimit -n)",
		    (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max, need, N);
	const struct resources_scope scope = {c->tcp_server_group, 0};
	long raised = 0;
	if (scope.group > 0 && c->server_many_nofile > 0 &&
	    (raised = resources_set_nofile(&scope, c->server_many_nofile, err, sizeof err)) < 0)
		return case_fail(c, "could not raise the server's descriptor limit: %s", err);
	int rc = many(c, N, 200);
	if (raised > 0)
		lower_again(c, &scope, raised);
	return rc;
}

/* All connection attempts at once: each must be accepted well before a dropped SYN is sent again (1 s),
 * which is what a listen backlog smaller than the burst does. */
static int tcp_burst(struct case_context *c)
{
	enum { N = 128, LEN = 64 };
	const int connect_ms = 900;
	struct client_connection k[N];
	struct client_flow f[N];
	unsigned char b[N * LEN];
	struct pollfd pf[N];
	size_t opened = 0, connected = 0;
	int rc = -1;
	char name[NET_ADDRSTRLEN];

	memset(f, 0, sizeof f);
	pattern(b, sizeof b, 37);
	uint64_t end = util_now_ns() + (uint64_t)connect_ms * 1000000u;
	for (; opened < N; opened++) {
		int fd = socket(tcp(c)->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			case_fail(c, "socket: %s", strerror(errno));
			goto out;
		}
		k[opened].fd = fd;
		k[opened].id = ++c->connections;
		if (connect(fd, (const struct sockaddr *)&tcp(c)->ss, tcp(c)->len) < 0 &&
		    errno != EINPROGRESS) {
			case_fail(c, "connection attempt %zu of %d to %s: %s", opened + 1, N,
			          net_format((const struct sockaddr *)&tcp(c)->ss, name, sizeof name),
			          strerror(errno));
			opened++;
			goto out;
		}
		pf[opened].fd = fd;
		pf[opened].events = POLLOUT;
	}
	while (connected < N) {
		int ms = util_ms_left(end);
		if (ms == 0) {
			case_fail(
			    c,
			    "%zu of %d simultaneous connection attempts were not accepted within %d ms (a "
			    "dropped SYN is sent again after 1 s: listen backlog smaller than the burst?)",
			    N - connected, N, connect_ms);
			goto out;
		}
		int pr = poll(pf, N, ms);
		if (pr < 0 && errno != EINTR) {
			case_fail(c, "poll: %s", strerror(errno));
			goto out;
		}
		for (size_t i = 0; i < N; i++) {
			if (pf[i].fd < 0 || pf[i].revents == 0)
				continue;
			int soerr = 0;
			socklen_t sl = sizeof soerr;
			getsockopt(pf[i].fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
			if (soerr != 0) {
				case_fail(c, "connection attempt %zu of %d: %s", i + 1, N, strerror(soerr));
				goto out;
			}
			pf[i].fd = -1;
			connected++;
		}
	}
	if (c->recording != NULL)
		for (size_t i = 0; i < N; i++) {
			struct net_addr l;
			if (net_local(k[i].fd, &l) == 0)
				recording_add(c->recording, RECORDING_TCP_OPEN, k[i].id, NULL, 0, &l, tcp(c));
		}
	for (size_t i = 0; i < N; i++) {
		f[i].connection = &k[i];
		f[i].out = b + i * LEN;
		f[i].out_len = LEN;
		f[i].close = CLIENT_HALF_CLOSE;
	}
	rc = client_flows_run(c, f, N, 0);
out:
	for (size_t i = 0; i < opened; i++)
		client_tcp_close(c, &k[i]);
	return rc;
}

static int tcp_stalled(struct case_context *c)
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

/* The IPv6 address of a target: the one the server printed, or [::1] when it is on 127.0.0.1. */
static int v6_of(const struct net_addr *v4, int has6, const struct net_addr *v6, struct net_addr *out)
{
	if (has6) {
		*out = *v6;
		return 0;
	}
	if (v4->ss.ss_family == AF_INET6) {
		*out = *v4;
		return 0;
	}
	const struct sockaddr_in *in = (const struct sockaddr_in *)&v4->ss;
	if (in->sin_addr.s_addr != htonl(INADDR_LOOPBACK))
		return -1;
	char err[128];
	if (net_parse("[::1]:0", out, err, sizeof err) < 0)
		return -1;
	net_set_port(out, net_port((const struct sockaddr *)&v4->ss));
	return 0;
}

static int tcp_ipv6(struct case_context *c)
{
	struct net_addr a;
	struct client_connection k;
	char err[256], name[NET_ADDRSTRLEN];
	if (!util_have_ipv6_loopback(SOCK_DGRAM))
		return case_skip(c, "this host has no IPv6 loopback");
	if (v6_of(&c->target->tcp, c->target->has_tcp6, &c->target->tcp6, &a) < 0)
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

/* ---- UDP ---- */

static int udp_all_bytes(struct case_context *c)
{
	unsigned char b[256];
	for (int i = 0; i < 256; i++)
		b[i] = (unsigned char)i;
	return client_udp_roundtrip(c, udp(c), b, sizeof b, 30);
}

static int udp_invalid_utf8(struct case_context *c)
{
	if (client_udp_roundtrip(c, udp(c), invalid_utf8, sizeof invalid_utf8 - 1, 30) < 0)
		return -1;
	if (client_udp_roundtrip(c, udp(c), "\xff", 1, 0) < 0)
		return -1;
	return client_udp_roundtrip(c, udp(c), "still there after invalid UTF-8?", 32, 0);
}

/* Each line as one datagram; a wrong reply is named by the oracle, with the hint when it looks like
 * text uppercased as Unicode. */
static int udp_text_lines(struct case_context *c, const char *const *lines, size_t n)
{
	unsigned char got[2048];
	char why[256];
	int rc = 0;
	int fd = client_udp_socket(c, udp(c));
	if (fd < 0)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const unsigned char *line = (const unsigned char *)lines[i];
		size_t len = strlen(lines[i]), got_len;
		unsigned id = ++c->connections;
		if (client_udp_send(c, fd, id, udp(c), line, len) < 0) {
			rc = -1;
			break;
		}
		enum client_receive received =
		    client_udp_receive(c, fd, id, got, sizeof got, c->timeout_ms, &got_len);
		if (received == CLIENT_RECEIVE_FAILED)
			rc = -1;
		else if (received == CLIENT_NOTHING)
			rc = case_timeout(c, "no reply within %d ms to a datagram of %zu bytes of UTF-8 text",
			                  c->timeout_ms, len);
		else if (oracle_udp_check(line, len, got, got_len, why, sizeof why) != ORACLE_UDP_OK) {
			case_note_difference(c, line, len, got, got_len, 0);
			rc = case_fail(c, "%s", why);
			hint_unicode(c, lines[i], got, got_len);
		}
	}
	close(fd);
	return rc;
}

static int udp_utf8_letters(struct case_context *c)
{
	return udp_text_lines(c, utf8_letters, sizeof utf8_letters / sizeof utf8_letters[0]);
}

static int udp_utf8_mixed(struct case_context *c)
{
	return udp_text_lines(c, utf8_mixed, sizeof utf8_mixed / sizeof utf8_mixed[0]);
}

static int udp_size(struct case_context *c, size_t n)
{
	static unsigned char b[65536];
	pattern(b, sizeof b, (uint32_t)n + 3u);
	return client_udp_roundtrip(c, udp(c), b, n, 50);
}

static int udp_size_0(struct case_context *c)
{
	return udp_size(c, 0);
}
static int udp_size_1(struct case_context *c)
{
	return udp_size(c, 1);
}
static int udp_size_512(struct case_context *c)
{
	return udp_size(c, 512);
}
static int udp_size_1472(struct case_context *c)
{
	return udp_size(c, 1472);
}
static int udp_size_8193(struct case_context *c)
{
	return udp_size(c, 8193);
}
static int udp_size_max(struct case_context *c)
{
	return udp_size(c, udp(c)->ss.ss_family == AF_INET6 ? UPPER_UDP_MAX6 : UPPER_UDP_MAX4);
}

/* Sends n datagrams of distinct lengths back to back from one socket; each reply must be exactly one
 * request's answer (lengths identify them). */
static int udp_burst_n(struct case_context *c, size_t n, size_t step, int check_amplify_only)
{
	static unsigned char b[65536], got[65536 + 1];
	char why[256];
	unsigned char answered[256] = {0};
	size_t replies = 0, reply_bytes = 0, sent_bytes = 0;
	int rc = -1;
	pattern(b, sizeof b, 43);
	int fd = client_udp_socket(c, udp(c));
	if (fd < 0)
		return -1;
	unsigned id = ++c->connections;
	const unsigned char *datagram[256];
	size_t datagram_len[256];
	for (size_t i = 0; i < n; i++) {
		datagram[i] = b;
		datagram_len[i] = i * step + (step > 1 ? 1 : 0);
		sent_bytes += datagram_len[i];
	}
	/* In one burst, and with a server conform started paused meanwhile (SIGSTOP), so that the
	 * datagrams are queued at the server whatever the scheduler does: a server that merges what is
	 * queued (a stream-minded port) is then caught every time. */
	if (c->udp_server_group > 0)
		kill(-c->udp_server_group, SIGSTOP);
	int sent = client_udp_send_burst(c, fd, id, udp(c), datagram, datagram_len, n);
	if (c->udp_server_group > 0)
		kill(-c->udp_server_group, SIGCONT);
	if (sent < 0)
		goto out;
	for (;;) {
		size_t len;
		enum client_receive received =
		    client_udp_receive(c, fd, id, got, sizeof got, replies < n ? c->timeout_ms : 100, &len);
		if (received == CLIENT_RECEIVE_FAILED)
			goto out;
		if (received == CLIENT_NOTHING)
			break;
		replies++;
		reply_bytes += len;
		if (check_amplify_only)
			continue;
		size_t i = step > 1 ? (len >= 1 && (len - 1) % step == 0 ? (len - 1) / step : n) : len;
		if (i >= n) {
			case_fail(c,
			          "a reply of %zu bytes matches no request (lengths sent: %zu distinct, step "
			          "%zu): datagrams merged or split",
			          len, n, step);
			goto out;
		}
		if (answered[i]) {
			case_fail(c, "a second reply of %zu bytes: the %zu-byte request was answered twice",
			          len, len);
			goto out;
		}
		answered[i] = 1;
		if (oracle_udp_check(b, len, got, len, why, sizeof why) != ORACLE_UDP_OK) {
			case_note_difference(c, b, len, got, len, 0);
			case_fail(c, "reply to the %zu-byte request: %s", len, why);
			goto out;
		}
	}
	if (check_amplify_only) {
		if (replies > n || reply_bytes > sent_bytes)
			case_fail(
			    c, "%zu requests of %zu bytes in all got %zu replies of %zu bytes: amplification",
			    n, sent_bytes, replies, reply_bytes);
		else if (replies == 0)
			case_timeout(c, "no reply to any of %zu datagrams", n);
		else
			rc = 0;
		goto out;
	}
	if (replies < n) {
		size_t miss = 0;
		while (miss < n && answered[miss])
			miss++;
		case_timeout(c,
		             "%zu of %zu datagrams sent back to back got no reply within %d ms (first: the "
		             "%zu-byte one)",
		             n - replies, n, c->timeout_ms, miss * step + (step > 1 ? 1 : 0));
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

static int udp_burst(struct case_context *c)
{
	return udp_burst_n(c, 40, 37, 0);
}

static int udp_amplification(struct case_context *c)
{
	return udp_burst_n(c, 16, 1, 1);
}

static int udp_many_senders(struct case_context *c)
{
	enum { N = 64 };
	int fd[N];
	unsigned id[N];
	unsigned char req[N][80], got[128];
	size_t len[N];
	char why[256];
	int rc = -1;
	size_t opened = 0;
	for (; opened < N; opened++) {
		fd[opened] = client_udp_socket(c, udp(c));
		if (fd[opened] < 0)
			goto out;
		id[opened] = ++c->connections;
		len[opened] = (size_t)snprintf((char *)req[opened], sizeof req[opened],
		                               "sender %zu of %d, my own words: %.*s", opened + 1, N,
		                               (int)(opened % 20), "abcdefghijklmnopqrstuvwxyz");
	}
	for (size_t i = 0; i < N; i++)
		if (client_udp_send(c, fd[i], id[i], udp(c), req[i], len[i]) < 0)
			goto out;
	for (size_t i = 0; i < N; i++) {
		size_t got_len;
		enum client_receive received =
		    client_udp_receive(c, fd[i], id[i], got, sizeof got, c->timeout_ms, &got_len);
		if (received == CLIENT_RECEIVE_FAILED)
			goto out;
		if (received == CLIENT_NOTHING) {
			case_timeout(c, "sender %zu of %d got no reply", i + 1, N);
			goto out;
		}
		if (oracle_udp_check(req[i], len[i], got, got_len, why, sizeof why) != ORACLE_UDP_OK) {
			case_note_difference(c, req[i], len[i], got, got_len, 0);
			case_fail(
			    c, "sender %zu of %d got a reply that is not the answer to its own datagram: %s",
			    i + 1, N, why);
			goto out;
		}
	}
	rc = 0;
out:
	for (size_t i = 0; i < opened; i++)
		close(fd[i]);
	return rc;
}

static int udp_gone(struct case_context *c)
{
	static unsigned char b[4000];
	pattern(b, sizeof b, 47);
	for (int i = 0; i < 20; i++) {
		int fd = client_udp_socket(c, udp(c));
		if (fd < 0)
			return -1;
		if (client_udp_send(c, fd, ++c->connections, udp(c), b, (size_t)(100 + 190 * i)) < 0) {
			close(fd);
			return -1;
		}
		close(fd); /* gone before the reply: the server gets ICMP port unreachable */
	}
	util_sleep_ms(50);
	if (client_udp_roundtrip(c, udp(c), "are you still there after 20 senders left?", 42, 0) < 0)
		return -1;
	return 0;
}

static int udp_ipv6(struct case_context *c)
{
	struct net_addr a;
	char name[NET_ADDRSTRLEN];
	if (!util_have_ipv6_loopback(SOCK_DGRAM))
		return case_skip(c, "this host has no IPv6 loopback");
	if (v6_of(&c->target->udp, c->target->has_udp6, &c->target->udp6, &a) < 0)
		return case_skip(c, "no IPv6 address known for the target (give --udp [::1]:PORT)");
	if (!c->target->has_udp6 && c->target->udp.ss.ss_family != AF_INET6) {
		/* a guessed address: a connected socket hears ICMP port unreachable when nothing is there */
		int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0), none = 0;
		if (fd >= 0 && connect(fd, (const struct sockaddr *)&a.ss, a.len) == 0 &&
		    send(fd, "conform probe", 13, 0) == 13) {
			struct pollfd p = {fd, POLLIN, 0};
			char b[64];
			if (poll(&p, 1, c->timeout_ms) == 1 && recv(fd, b, sizeof b, MSG_DONTWAIT) < 0 &&
			    errno == ECONNREFUSED)
				none = 1;
		}
		if (fd >= 0)
			close(fd);
		if (none)
			return case_skip(
			    c, "the target has no IPv6 listener at %s (give --udp [::1]:PORT to test it)",
			    net_format((const struct sockaddr *)&a.ss, name, sizeof name));
	}
	return client_udp_roundtrip(c, &a, "ipv6 works too: abcxyz", 22, 30);
}

/* clang-format off */
const struct case_definition case_table[] = {
	{"tcp/transform/all-bytes", "X1", CASE_MUST, CASE_TCP, "every byte value 0x00-0xff, both orders: only a-z change", tcp_all_bytes},
	{"tcp/transform/invalid-utf8", "X1", CASE_MUST, CASE_TCP, "invalid UTF-8 is transformed like any bytes, then the server still serves", tcp_invalid_utf8},
	{"tcp/transform/utf8-letters", "X1", CASE_MUST, CASE_TCP, "UTF-8 letters that Unicode uppercasing changes (e-acute, sharp s, fi ligature, Greek, Cyrillic, dotless i) come back byte for byte", tcp_utf8_letters},
	{"tcp/transform/utf8-mixed", "X1", CASE_MUST, CASE_TCP, "Latin-1 single bytes, and valid UTF-8 letters mixed with invalid bytes, come back byte for byte", tcp_utf8_mixed},
	{"tcp/framing/interactive", "T2", CASE_MUST, CASE_TCP, "three lines on one open connection, each answered before the next, no EOF", tcp_interactive},
	{"tcp/framing/no-newline", "T2", CASE_MUST, CASE_TCP, "bytes without a newline are answered without EOF", tcp_no_newline},
	{"tcp/segmentation/chunks", "T3", CASE_MUST, CASE_TCP, "the same stream in writes of 7, 1460, 64 KiB and 3000 bytes, read in 13, 64 KiB, 1 and 999", tcp_chunks},
	{"tcp/segmentation/byte-at-a-time", "T2", CASE_MUST, CASE_TCP, "300 bytes sent one per segment, each answered before the next", tcp_byte_at_a_time},
	{"tcp/backpressure/16mib", "T8", CASE_MUST, CASE_TCP, "16 MiB sent without reading until the server stops taking bytes, then all read back", tcp_16mib},
	{"tcp/halfclose/fin", "T4", CASE_MUST, CASE_TCP, "256 KiB then our FIN: every byte comes back, then FIN, not RST", tcp_halfclose},
	{"tcp/disconnect/connect-close", "T5", CASE_MUST, CASE_TCP, "50 clients connect and close (25 after sending), then the server still serves", tcp_connect_close},
	{"tcp/reset/before-data", "T6", CASE_MUST, CASE_TCP, "20 clients reset before sending, then the server still serves", tcp_reset_before},
	{"tcp/reset/mid-stream", "T6", CASE_MUST, CASE_TCP, "10 clients reset in the middle of a stream, then the server still serves", tcp_reset_mid},
	{"tcp/reset/owed", "T6", CASE_MUST, CASE_TCP, "3 clients reset while the server owes them output (no SIGPIPE death), then it still serves", tcp_reset_owed},
	{"tcp/reset/repeated", "T6", CASE_MUST, CASE_TCP, "more resets than the server's descriptor limit (no descriptor leak), then it still serves", tcp_reset_repeated},
	{"tcp/many/concurrent", "T9", CASE_MUST, CASE_TCP, "100 clients open at once (each connects once the previous one is answered), 2000 bytes each", tcp_concurrent},
	{"tcp/many/burst", "T9", CASE_MUST, CASE_TCP, "128 connection attempts at once, all accepted within 900 ms (listen backlog)", tcp_burst},
	{"tcp/many/2000", "T9", CASE_MUST, CASE_TCP, "2000 clients open at once (each connects once the previous one is answered), 200 bytes each", tcp_many_2000},
	{"tcp/resources/connections", "T5", CASE_MUST, CASE_TCP, "2000 clients connect and close (--exec or --pid): the server's memory, descriptors and threads do not grow with them", case_resources_connections},
	{"tcp/resources/resets", "T6", CASE_MUST, CASE_TCP, "800 clients reset, before sending, mid-stream or owed 256 KiB (--exec or --pid): no growth per connection", case_resources_resets},
	{"tcp/concurrency/stalled", "T7", CASE_MUST, CASE_TCP, "a client that sends without reading and an idle one do not delay a third", tcp_stalled},
	{"tcp/ipv6/transform", "B1", CASE_SHOULD, CASE_TCP, "a stream over IPv6 ([::1])", tcp_ipv6},
	{"udp/transform/all-bytes", "X1", CASE_MUST, CASE_UDP, "one datagram of every byte value 0x00-0xff: only a-z change", udp_all_bytes},
	{"udp/transform/invalid-utf8", "X1", CASE_MUST, CASE_UDP, "datagrams of invalid UTF-8 are answered, then the server still serves", udp_invalid_utf8},
	{"udp/transform/utf8-letters", "X1", CASE_MUST, CASE_UDP, "datagrams of UTF-8 letters that Unicode uppercasing changes come back byte for byte", udp_utf8_letters},
	{"udp/transform/utf8-mixed", "X1", CASE_MUST, CASE_UDP, "datagrams of Latin-1 bytes, and of valid UTF-8 mixed with invalid bytes, come back byte for byte", udp_utf8_mixed},
	{"udp/size/0", "U3", CASE_MUST, CASE_UDP, "an empty datagram gets one empty reply", udp_size_0},
	{"udp/size/1", "U1", CASE_MUST, CASE_UDP, "a 1-byte datagram gets exactly one reply", udp_size_1},
	{"udp/size/512", "U1", CASE_MUST, CASE_UDP, "a 512-byte datagram gets exactly one reply", udp_size_512},
	{"udp/size/1472", "U4", CASE_MUST, CASE_UDP, "a 1472-byte datagram (Ethernet MTU) is answered whole", udp_size_1472},
	{"udp/size/8193", "U4", CASE_MUST, CASE_UDP, "an 8193-byte datagram (past 8192) is answered whole", udp_size_8193},
	{"udp/size/65507", "U4", CASE_MUST, CASE_UDP, "the largest datagram (65507 bytes, 65527 over IPv6) is answered whole", udp_size_max},
	{"udp/boundary/burst", "U2", CASE_MUST, CASE_UDP, "40 datagrams of distinct sizes back to back: replies never merged or split", udp_burst},
	{"udp/senders/many", "U1", CASE_MUST, CASE_UDP, "64 senders at once, each gets the answer to its own datagram", udp_many_senders},
	{"udp/senders/gone", "U5", CASE_MUST, CASE_UDP, "20 senders close before their reply, then the server still serves", udp_gone},
	{"udp/resources/senders", "U5", CASE_MUST, CASE_UDP, "2000 UDP senders gone before their reply (--exec or --pid): no growth per sender", case_resources_senders},
	{"udp/amplification/none", "U6", CASE_MUST, CASE_UDP, "16 tiny datagrams (0-15 bytes) get no more replies or bytes than sent", udp_amplification},
	{"udp/ipv6/transform", "B1", CASE_SHOULD, CASE_UDP, "a datagram over IPv6 ([::1])", udp_ipv6},
};
/* clang-format on */

const size_t case_table_count = sizeof case_table / sizeof case_table[0];
