/* test_servers.c - CUnit integration tests: start the real bin/tcp-upper and bin/udp-upper on port 0
 * (lib/child.h reads the port from their "listening on" line), and check the client-observable SPEC
 * rules over loopback with bounded timeouts, the TCP exchanges through lib/exchange.h. Usage:
 * test_servers BINDIR (or UPPER_BIN=BINDIR). */
#include <CUnit/Basic.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../unit/unit.h"
#include "child.h"
#include "exchange.h"
#include "net.h"
#include "oracle.h"
#include "upper.h"
#include "util.h"

static const char *bindir;

/* ---- Servers under test ---- */

#define MS 1000000ull /* nanoseconds in a millisecond, for util_now_ns() arithmetic */

struct server {
	struct child *c;
	pid_t pid;
	unsigned port;
	char addr[NET_ADDRSTRLEN]; /* as its "listening on" line gave it */
};

/* Starts BINDIR/prog with args (NULL-terminated), its output to a log; waits at most 5 s for its
 * "listening on PROTO ADDR:PORT" line. Returns 0, or -1 with a reason printed. */
static int server_start(struct server *s, const char *prog, const char *const *args)
{
	char path[512], err[1024];
	const char *argv[16];
	struct child_options o = {.argv = argv, .start_ms = 5000};
	struct child_addrs a;
	int n = 0;

	memset(s, 0, sizeof *s);
	snprintf(path, sizeof path, "%s/%s", bindir, prog);
	argv[n++] = path;
	while (*args != NULL && n < 15)
		argv[n++] = *args++;
	argv[n] = NULL;
	o.want = strcmp(prog, "udp-upper") == 0 ? CHILD_UDP : CHILD_TCP;
	if (child_start(&o, &s->c, &a, err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	const struct net_addr *bound = o.want == CHILD_UDP ? &a.udp : &a.tcp;
	net_format((const struct sockaddr *)&bound->ss, s->addr, sizeof s->addr);
	s->port = net_port((const struct sockaddr *)&bound->ss);
	s->pid = child_pid(s->c);
	return 0;
}

/* Prints the server's output (after a failure, to show sanitizer reports). */
static void server_dump(const struct server *s)
{
	fprintf(stderr, "---- stderr of the server (%s) ----\n", child_command(s->c));
	child_tail(s->c, stderr, "", 0);
}

/* Sends sig and waits at most wait_ms. Returns the wait status, or -1 if it had to be killed. */
static int server_stop(struct server *s, int sig, int wait_ms, long *took_ms)
{
	struct child_exit e;
	int st;

	if (s->c == NULL)
		return -1;
	child_stop(s->c, sig, wait_ms, &e);
	st = e.end == CHILD_END_KILLED ? -1 : e.status;
	if (took_ms != NULL)
		*took_ms = e.ms;
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		server_dump(s);
	child_free(s->c);
	s->c = NULL;
	s->pid = 0;
	return st;
}

/* ---- Clients ---- */

static int connect_to(const char *host, unsigned port, int type)
{
	char s[128], err[256];
	struct net_addr a;
	snprintf(s, sizeof s, "%s:%u", host, port);
	if (net_parse(s, &a, err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	int fd = net_connect(&a, type, 2000, err, sizeof err);
	if (fd < 0)
		fprintf(stderr, "%s\n", err);
	return fd;
}

/* The reply bytes that came right: up to the first wrong or extra one. */
static size_t right_bytes(const struct xchg_oracle *o)
{
	if (o->verdict == XCHG_WRONG_BYTE || o->verdict == XCHG_EXTRA_BYTES)
		return o->offset;
	return o->got;
}

/* Runs the exchange of c, set up with xchg_conn_init (and options), waiting at most idle_ms without
 * progress; a line saying how it ended goes to why. Returns 0 when it is complete, -1 otherwise. */
static int run_one(struct xchg_conn *c, int idle_ms, char *why, size_t whylen)
{
	struct xchg_limits l = {.idle_ms = idle_ms};
	struct xchg_run_result r;
	char err[256];

	xchg_run(c, 1, &l, &r, err, sizeof err);
	if (r.status == XCHG_RUN_ERROR)
		snprintf(why, whylen, "%s", err);
	else
		xchg_run_describe(c, 1, &r, &l, why, whylen);
	return r.status == XCHG_RUN_DONE && c->oracle.verdict == XCHG_COMPLETE ? 0 : -1;
}

/* Sends out[0..n) on fd while reading, so that neither side blocks the other, and checks the answer
 * against X1 as it comes; with half_close, shuts down the sending side after the last byte and
 * expects every byte, then FIN. Waits at most idle_ms without progress. Fills *c. Returns 0 when the
 * exchange is complete, -1 otherwise with a reason in why. */
static int exchange(int fd, const void *out, size_t n, int half_close, int idle_ms, struct xchg_conn *c,
                    char *why, size_t whylen)
{
	struct xchg_expect e = {.sent = out, .sent_len = n, .half_close = half_close};

	xchg_conn_init(c, fd, 1, &e);
	return run_one(c, idle_ms, why, whylen);
}

/* One request on a fresh TCP connection: send, half-close, expect every byte then EOF. */
static int tcp_roundtrip(const char *host, unsigned port, const unsigned char *msg, size_t n, char *why,
                         size_t whylen)
{
	struct xchg_conn c;
	int fd = connect_to(host, port, SOCK_STREAM), rc;

	if (fd < 0) {
		snprintf(why, whylen, "cannot connect to %s:%u", host, port);
		return -1;
	}
	rc = exchange(fd, msg, n, 1, 5000, &c, why, whylen);
	close(fd);
	return rc;
}

/* Many TCP clients of one server: connection i (fds[i], -1 if it did not open) sends its message
 * msgs[i * stride .. + lens[i]). */
struct client_set {
	int count, opened;
	int *fds;
	unsigned char *msgs;
	size_t stride, *lens;
};

/* Opens count connections to host:port, with room for messages of stride bytes (lens all 0). Returns 0,
 * or -1 when out of memory. */
static int clients_open(struct client_set *cs, const char *host, unsigned port, int count, size_t stride)
{
	cs->count = count;
	cs->opened = 0;
	cs->stride = stride;
	cs->fds = calloc((size_t)count, sizeof *cs->fds);
	cs->msgs = calloc((size_t)count, stride);
	cs->lens = calloc((size_t)count, sizeof *cs->lens);
	if (cs->fds == NULL || cs->msgs == NULL || cs->lens == NULL)
		return -1;
	for (int i = 0; i < count; i++) {
		cs->fds[i] = connect_to(host, port, SOCK_STREAM);
		cs->opened += cs->fds[i] >= 0;
	}
	return 0;
}

/* Sends each open connection its message at once, and waits at most 5 s without progress until each is
 * answered (X1). Returns how many of the open ones were not. */
static int clients_answer(const struct client_set *cs)
{
	struct xchg_conn *c = calloc((size_t)cs->count, sizeof *c);
	struct xchg_limits l = {.idle_ms = 5000, .keep_going = 1};
	struct xchg_run_result r;
	int bad = 0;

	if (c == NULL)
		return cs->count;
	for (int i = 0; i < cs->count; i++) {
		struct xchg_expect e = {.sent = cs->msgs + (size_t)i * cs->stride, .sent_len = cs->lens[i]};
		xchg_conn_init(&c[i], cs->fds[i], (unsigned)i, &e);
	}
	xchg_run(c, (size_t)cs->count, &l, &r, NULL, 0);
	for (int i = 0; i < cs->count; i++)
		bad += cs->fds[i] >= 0 && c[i].oracle.verdict != XCHG_COMPLETE;
	free(c);
	return bad;
}

/* Closes the open connections and frees the set (also one clients_open left half made). */
static void clients_close(struct client_set *cs)
{
	for (int i = 0; cs->fds != NULL && i < cs->count; i++)
		if (cs->fds[i] >= 0)
			close(cs->fds[i]);
	free(cs->fds);
	free(cs->msgs);
	free(cs->lens);
}

/* Sends one datagram on fd and waits at most wait_ms for one reply; checks it with the core's rule.
 * Returns 0 or -1 with a reason. */
static int udp_roundtrip(int fd, const unsigned char *msg, size_t n, int wait_ms, char *why, size_t whylen)
{
	static unsigned char rep[65536 + 16];
	if (send(fd, msg, n, 0) != (ssize_t)n) {
		snprintf(why, whylen, "send of %zu bytes: %s", n, strerror(errno));
		return -1;
	}
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	if (poll(&pf, 1, wait_ms) <= 0) {
		snprintf(why, whylen, "no reply to %zu bytes within %d ms", n, wait_ms);
		return -1;
	}
	ssize_t k = recv(fd, rep, sizeof rep, MSG_TRUNC);
	if (k < 0) {
		snprintf(why, whylen, "recv: %s", strerror(errno));
		return -1;
	}
	if (oracle_udp_check(msg, n, rep, (size_t)k, why, whylen) != ORACLE_UDP_OK)
		return -1;
	return 0;
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (unsigned char)(seed >> 16);
	}
}

/* ---- The shared servers ---- */

static struct server tcp4, udp4;

static int suite_init(void)
{
	static const char *const a[] = {"-l", "127.0.0.1:0", NULL};
	if (server_start(&tcp4, "tcp-upper", a) < 0)
		return -1;
	if (server_start(&udp4, "udp-upper", a) < 0)
		return -1;
	return 0;
}

static int suite_clean(void)
{
	if (tcp4.c != NULL)
		server_stop(&tcp4, SIGKILL, 1000, NULL);
	if (udp4.c != NULL)
		server_stop(&udp4, SIGKILL, 1000, NULL);
	return 0;
}

/* ---- TCP cases ---- */

static void test_first_line(void)
{
	char want[64];
	snprintf(want, sizeof want, "127.0.0.1:%u", tcp4.port);
	CHECK(strcmp(tcp4.addr, want) == 0, "tcp-upper said %s", tcp4.addr);
	snprintf(want, sizeof want, "127.0.0.1:%u", udp4.port);
	CHECK(strcmp(udp4.addr, want) == 0, "udp-upper said %s", udp4.addr);
}

static void test_tcp_all_bytes(void)
{
	unsigned char msg[1024];
	char why[256];
	for (size_t i = 0; i < sizeof msg; i++)
		msg[i] = (unsigned char)i;
	CHECK(tcp_roundtrip("127.0.0.1", tcp4.port, msg, sizeof msg, why, sizeof why) == 0, "X1/T1: %s", why);
}

/* T2: an interactive client gets its answer while the connection stays open. */
static void test_tcp_no_framing(void)
{
	int fd = connect_to("127.0.0.1", tcp4.port, SOCK_STREAM);
	CU_ASSERT_FATAL(fd >= 0);
	static const char *const msgs[] = {"hello", "no newline here", "x", "line\n", "Mixed 123 {}"};
	for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
		struct xchg_conn c;
		char why[256];
		int rc = exchange(fd, msgs[i], strlen(msgs[i]), 0, 2000, &c, why, sizeof why);
		CHECK(rc == 0, "T2: '%s' answered with %zu bytes while the connection is open (%s)", msgs[i],
		      c.oracle.got, why);
	}
	close(fd);
}

/* T4: 1 MiB (many times the server's buffer), SHUT_WR at once; every byte comes back, then EOF. */
static void test_tcp_half_close(void)
{
	size_t n = 1u << 20;
	unsigned char *out = malloc(n);
	struct xchg_conn c;
	char why[256];
	CU_ASSERT_FATAL(out != NULL);
	fill(out, n, 4);
	int fd = connect_to("127.0.0.1", tcp4.port, SOCK_STREAM);
	CU_ASSERT_FATAL(fd >= 0);
	exchange(fd, out, n, 1, 5000, &c, why, sizeof why);
	CHECK(right_bytes(&c.oracle) == n, "T4: got %zu of %zu bytes right (%s)", right_bytes(&c.oracle), n,
	      why);
	CHECK(c.oracle.fin && !c.oracle.rst, "T4: after the bytes, EOF expected; got eof=%d err=%s",
	      c.oracle.fin, strerror(c.error));
	close(fd);
	free(out);
}

/* Waits up to 2 s for the server's descriptor count to come back to base. */
static int fds_back_to(pid_t pid, int base)
{
	int n = -1;
	for (uint64_t end = util_now_ns() + 2000 * MS; util_ms_left(end) > 0; usleep(10000))
		if ((n = util_count_fds(pid)) <= base)
			break;
	return n;
}

/* Sends, without reading, up to limit bytes of the repeating pattern big[0..n) until the server
 * stops taking them for 200 ms (it pushes back, T8), for 3 s at most. Returns the bytes sent. */
static size_t send_until_stalled(struct xchg_conn *c, int fd, const unsigned char *big, size_t n,
                                 size_t limit)
{
	struct xchg_expect e = {.sent = big, .period = n, .endless = 1, .client_resets = 1};
	struct xchg_limits l = {.budget_ms = 3000};
	struct xchg_run_result r;

	xchg_conn_init(c, fd, 1, &e);
	c->send_limit = limit;
	c->stall_ms = 200;
	xchg_run(c, 1, &l, &r, NULL, 0);
	return c->oracle.sent;
}

/* T5, T6: clients that connect and close, or reset before sending, mid-stream, or while output is
 * owed, leave the other clients served and leak no descriptor. */
static void test_tcp_reset_mid_stream(void)
{
	char why[256];
	struct xchg_conn c;
	int other = connect_to("127.0.0.1", tcp4.port, SOCK_STREAM);
	CU_ASSERT_FATAL(other >= 0);
	CU_ASSERT_FATAL(
	    tcp_roundtrip("127.0.0.1", tcp4.port, (const unsigned char *)"warm", 4, why, sizeof why) == 0);
	/* The server closes a connection right after sending its FIN, which the client may see first: the
	 * count would then include the warm connection. An answer on the other connection, from the same
	 * single event loop, comes after that close. */
	CU_ASSERT_FATAL(exchange(other, "sync", 4, 0, 2000, &c, why, sizeof why) == 0);
	int base = util_count_fds(tcp4.pid);

	size_t n = 1u << 20;
	unsigned char *big = malloc(n);
	CU_ASSERT_FATAL(big != NULL);
	fill(big, n, 6);
	long rss0 = util_rss_kib(tcp4.pid);
	for (int round = 0; round < 20; round++) {
		static const struct xchg_expect none;
		int fd = connect_to("127.0.0.1", tcp4.port, SOCK_STREAM);
		CU_ASSERT_FATAL(fd >= 0);
		xchg_conn_init(&c, fd, 1, &none);
		if (round % 4 == 1) {
			send(fd, "abc", 3, 0); /* reset right after sending */
		} else if (round % 4 == 2) {
			/* Mid-stream with output owed: send without reading until the server pushes back. The
			 * kernel buffers of both ends hold about 20 MiB at most on loopback, so a server that
			 * keeps reading (no backpressure) would take all of 64 MiB. */
			size_t limit = round == 2 ? 64u << 20 : 1u << 20;
			size_t s = send_until_stalled(&c, fd, big, n, limit);
			if (round == 2) {
				long grew = util_rss_kib(tcp4.pid) - rss0;
				CHECK(s < limit, "T8: a client that does not read sent all %zu bytes", s);
				CHECK(grew < 8192, "T8: server RSS grew %ld KiB for one stalled client",
				      grew);
			}
		} else if (round % 4 == 3) {
			xchg_conn_close(&c); /* T5: an orderly close without sending */
			continue;
		}
		xchg_conn_reset(&c, 0);
	}
	free(big);
	int left = fds_back_to(tcp4.pid, base);
	CHECK(left == base, "T6: the server has %d descriptors, %d before the resets", left, base);

	/* the connection opened before is still served, and new ones are accepted */
	CHECK(exchange(other, "still", 5, 0, 2000, &c, why, sizeof why) == 0,
	      "T6: an existing client was not served after the resets: %s", why);
	close(other);
	CHECK(tcp_roundtrip("127.0.0.1", tcp4.port, (const unsigned char *)"after", 5, why, sizeof why) == 0,
	      "T6: new client after resets: %s", why);
}

/* T9 (and T7): many connections open at once, each with its own message, all answered. */
static void concurrent_clients(const struct server *s, const char *host, int count)
{
	struct client_set cs;
	CU_ASSERT_FATAL(clients_open(&cs, host, s->port, count, 32) == 0);
	for (int i = 0; i < count; i++)
		cs.lens[i] = (size_t)snprintf((char *)cs.msgs + i * 32, 32, "client %d", i);
	CHECK(cs.opened == count, "T9: %d of %d connections opened", cs.opened, count);
	int bad = clients_answer(&cs);
	CHECK(bad == 0, "T9: %d of %d concurrent clients not answered right", bad, count);
	clients_close(&cs);
}

static void test_tcp_1000_clients(void)
{
	concurrent_clients(&tcp4, "127.0.0.1", 1000);
}

/* The slow reader of test_tcp_slow_reader, as the exchange's hook. */
struct slow_reader {
	int side_fd; /* another client of the same server */
	int reads;
	int side_fail; /* its round trips that were late or wrong */
};

/* After each read, sleeps 500 us (a slow reader); every 64 reads, a 5-byte round trip on the side
 * connection must complete within 1 s (T7). */
static int read_slowly(void *arg, const struct xchg_conn *c, enum xchg_event ev, const unsigned char *p,
                       size_t n)
{
	struct slow_reader *s = arg;
	(void)c;
	(void)p;
	(void)n;
	if (ev != XCHG_EV_RECV)
		return 0;
	usleep(500);
	if (++s->reads % 64 == 0) {
		struct xchg_expect e = {.sent = (const unsigned char *)"side!", .sent_len = 5};
		struct xchg_limits l = {.budget_ms = 1000};
		struct xchg_conn side;
		struct xchg_run_result r;
		xchg_conn_init(&side, s->side_fd, 2, &e);
		if (xchg_run(&side, 1, &l, &r, NULL, 0) != XCHG_RUN_DONE ||
		    side.oracle.verdict != XCHG_COMPLETE)
			s->side_fail++;
	}
	return 0;
}

/* T8, T7: 16 MiB through a client that reads slowly; meanwhile another client is answered. */
static void test_tcp_slow_reader(void)
{
	size_t n = 16u << 20;
	unsigned char *out = malloc(n);
	struct slow_reader slow = {0};
	struct xchg_expect e = {.sent = out, .sent_len = n, .half_close = 1};
	struct xchg_conn c;
	char why[256];
	CU_ASSERT_FATAL(out != NULL);
	fill(out, n, 16);
	int fd = connect_to("127.0.0.1", tcp4.port, SOCK_STREAM);
	slow.side_fd = connect_to("127.0.0.1", tcp4.port, SOCK_STREAM);
	CU_ASSERT_FATAL(fd >= 0 && slow.side_fd >= 0);
	int rcv = 16384; /* a small receive window so the server feels the slowness */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
	xchg_conn_init(&c, fd, 1, &e);
	c.hook = read_slowly;
	c.hook_arg = &slow;
	uint64_t t0 = util_now_ns();
	run_one(&c, 10000, why, sizeof why);
	CHECK(right_bytes(&c.oracle) == n, "T1/T8: %zu of %zu bytes right (%s)", right_bytes(&c.oracle), n,
	      why);
	CHECK(c.oracle.fin && !c.oracle.rst, "T4: eof=%d err=%s after %zu bytes", c.oracle.fin,
	      strerror(c.error), c.oracle.got);
	CHECK(slow.side_fail == 0, "T7: %d round trips of another client were late or wrong", slow.side_fail);
	printf("\n    (16 MiB to a slow reader in %llu ms)  ",
	       (unsigned long long)((util_now_ns() - t0) / MS));
	close(fd);
	close(slow.side_fd);
	free(out);
}

/* -v logs each message escaped, so binary input is safe. */
static void test_tcp_verbose_log(void)
{
	static const char *const a[] = {"-l", "127.0.0.1:0", "-v", NULL};
	struct server s;
	char why[256], buf[4096] = "";
	CU_ASSERT_FATAL(server_start(&s, "tcp-upper", a) == 0);
	CHECK(tcp_roundtrip("127.0.0.1", s.port, (const unsigned char *)"hi\x01\xff\\\n", 6, why,
	                    sizeof why) == 0,
	      "-v round trip: %s", why);
	int fd = open(child_log_path(s.c), O_RDONLY);
	if (fd >= 0) {
		ssize_t k = read(fd, buf, sizeof buf - 1);
		buf[k > 0 ? k : 0] = '\0';
		close(fd);
	}
	CHECK(strstr(buf, ">> hi\\x01\\xff\\\\\\n\n") != NULL, "-v log line missing or not escaped: '%s'",
	      buf);
	CHECK(server_stop(&s, SIGTERM, 3000, NULL) == 0, "-v server did not exit 0");
}

/* ---- UDP cases ---- */

static void test_udp_sizes(void)
{
	static const size_t sizes[] = {0, 1, 1023, 1024, 1025, 8192, 8193, 32768, UPPER_UDP_MAX4};
	unsigned char *msg = malloc(UPPER_UDP_MAX4);
	char why[256];
	CU_ASSERT_FATAL(msg != NULL);
	int fd = connect_to("127.0.0.1", udp4.port, SOCK_DGRAM);
	CU_ASSERT_FATAL(fd >= 0);
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		fill(msg, sizes[i], (unsigned)i);
		CHECK(udp_roundtrip(fd, msg, sizes[i], 2000, why, sizeof why) == 0, "U3/U4: %zu bytes: %s",
		      sizes[i], why);
	}
	close(fd);
	free(msg);
}

/* U1, U2: a burst of datagrams of distinct sizes gets exactly one reply each, boundaries kept. */
static void test_udp_burst(void)
{
	enum { N = 64, STEP = 31 };
	unsigned char msg[N * STEP], rep[65536];
	int seen[N] = {0}, bad = 0, extra = 0;
	int big = 4 << 20;
	fill(msg, sizeof msg, 77);
	int fd = connect_to("127.0.0.1", udp4.port, SOCK_DGRAM);
	CU_ASSERT_FATAL(fd >= 0);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
	for (int i = 0; i < N; i++)
		CU_ASSERT(send(fd, msg, (size_t)i * STEP, 0) == (ssize_t)i * STEP);
	for (int got = 0; got < N + 1;) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		if (poll(&pf, 1, got < N ? 2000 : 200) <= 0)
			break;
		ssize_t k = recv(fd, rep, sizeof rep, MSG_TRUNC);
		if (k < 0)
			break;
		got++;
		if (k % STEP != 0 || k / STEP >= N) {
			bad++;
			continue;
		}
		if (seen[k / STEP]++)
			extra++;
		if (oracle_udp_check(msg, (size_t)k, rep, (size_t)k, NULL, 0) != ORACLE_UDP_OK)
			bad++;
	}
	int missing = 0;
	for (int i = 0; i < N; i++)
		missing += seen[i] == 0;
	CHECK(missing == 0 && extra == 0 && bad == 0, "U1/U2: %d replies missing, %d extra, %d wrong of %d",
	      missing, extra, bad, N);
	close(fd);
}

/* U5: a sender that has gone away leaves the server serving the others. */
static void test_udp_sender_gone(void)
{
	char why[256];
	unsigned gone_port[20];
	struct net_addr local;
	for (int i = 0; i < 20; i++) {
		int gone = connect_to("127.0.0.1", udp4.port, SOCK_DGRAM);
		CU_ASSERT_FATAL(gone >= 0);
		CU_ASSERT_FATAL(net_local(gone, &local) == 0);
		gone_port[i] = net_port((const struct sockaddr *)&local.ss);
		send(gone, "bye", 3, 0);
		close(gone); /* the reply goes to a closed port: ICMP unreachable */
	}
	/* The kernel may hand a gone sender's port to a new socket, which then gets that sender's reply:
	 * the survivor takes a port no gone sender had. */
	int fd = -1;
	for (int tries = 0; fd < 0 && tries < 100; tries++) {
		fd = connect_to("127.0.0.1", udp4.port, SOCK_DGRAM);
		CU_ASSERT_FATAL(fd >= 0);
		CU_ASSERT_FATAL(net_local(fd, &local) == 0);
		for (int i = 0; i < 20 && fd >= 0; i++)
			if (gone_port[i] == net_port((const struct sockaddr *)&local.ss)) {
				close(fd);
				fd = -1;
			}
	}
	CU_ASSERT_FATAL(fd >= 0);
	CHECK(udp_roundtrip(fd, (const unsigned char *)"still here", 10, 2000, why, sizeof why) == 0,
	      "U5: %s", why);
	close(fd);
}

/* Waits at most wait_ms for a command child_spawn() started to end; kills its group if it has not.
 * Returns its wait status, or -1 when it had to be killed. */
static int wait_or_kill(pid_t pid, int wait_ms)
{
	int st;
	return child_finish(pid, wait_ms, &st) == CHILD_RUN_ENDED ? st : -1;
}

/* BINDIR/prog and args (NULL-terminated, at most 14) as an argv of 16 in argv, the path in path[512]. */
static void prog_argv(const char *prog, const char *const *args, const char **argv, char *path)
{
	int n = 0;
	snprintf(path, 512, "%s/%s", bindir, prog);
	argv[n++] = path;
	while (*args != NULL && n < 15)
		argv[n++] = *args++;
	argv[n] = NULL;
}

/* Starts BINDIR/prog with args on the descriptors fd[] (-1: /dev/null) through child_spawn(), to be
 * talked to while it runs and ended by wait_or_kill(). Returns its pid, or -1 with the reason printed. */
static pid_t spawn_prog(const char *prog, const char *const *args, const int fd[3])
{
	char path[512], err[512];
	const char *argv[16];
	struct child_options o = {.argv = argv};

	prog_argv(prog, args, argv, path);
	pid_t pid = child_spawn(&o, fd, err, sizeof err);
	if (pid < 0)
		fprintf(stderr, "%s\n", err);
	return pid;
}

/* Runs BINDIR/prog with args on the descriptors fd[] through child_run(), killed after wait_ms. Returns
 * the exit status, or -1 (the reason printed) when it could not be started, had to be killed or did not
 * exit normally. */
static int run_to_end(const char *prog, const char *const *args, const int fd[3], int wait_ms)
{
	char path[512], err[512];
	const char *argv[16];
	struct child_options o = {.argv = argv};
	int st;

	prog_argv(prog, args, argv, path);
	if (child_run(&o, fd, wait_ms, &st, err, sizeof err) != CHILD_RUN_ENDED) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A descriptor to read in[0..n) from, then end of file: a pipe holding them all, or a memory file when
 * they do not fit in one. -1 on failure. */
static int input_fd(const void *in, size_t n)
{
	int p[2];
	if (pipe(p) == 0) {
		if (n > 65536)
			(void)fcntl(p[1], F_SETPIPE_SZ, (int)n);
		net_nonblock(p[1], 1); /* a write that does not fit fails instead of waiting for a reader */
		ssize_t w = write(p[1], in, n);
		close(p[1]);
		if (w == (ssize_t)n)
			return p[0];
		close(p[0]);
	}
	int fd = memfd_create("test-servers-in", MFD_CLOEXEC);
	if (fd >= 0 && (write(fd, in, n) != (ssize_t)n || lseek(fd, 0, SEEK_SET) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Runs BINDIR/upper-client with args, not on a terminal: feeds in[0..n) and collects stdout into out (cap
 * bytes) within 5 s. Returns the exit status (-1 on timeout) and sets *olen. */
static int run_client(const char *const *args, const void *in, size_t n, unsigned char *out, size_t cap,
                      size_t *olen)
{
	int fd[3] = {input_fd(in, n), memfd_create("test-servers-out", MFD_CLOEXEC), 2}, rc = -1;

	*olen = 0;
	if (fd[0] >= 0 && fd[1] >= 0) {
		rc = run_to_end("upper-client", args, fd, 5000);
		ssize_t r = pread(fd[1], out, cap, 0);
		*olen = r > 0 ? (size_t)r : 0;
	}
	for (int i = 0; i < 2; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	return rc;
}

/* upper-client on a pipe: TCP is byte-transparent (newlines, binary, more than the server buffer);
 * UDP sends one datagram per non-empty line and prints each reply on its own line. */
static void test_client_pipe(void)
{
	char port[64];
	size_t n = 500000, olen;
	unsigned char *in = malloc(n), *out = malloc(n + 16);
	CU_ASSERT_FATAL(in != NULL && out != NULL);
	fill(in, n, 3);
	memcpy(in, "hello\n\nworld\n", 13);
	snprintf(port, sizeof port, "127.0.0.1:%u", tcp4.port);
	const char *const ta[] = {port, NULL};
	int rc = run_client(ta, in, n, out, n + 16, &olen);
	CHECK(rc == 0 && olen == n && oracle_mismatch(in, n, out, olen) == n,
	      "upper-client tcp: exit %d, %zu of %zu bytes, first wrong at %zu", rc, olen, n,
	      oracle_mismatch(in, n, out, olen));
	rc = run_client(ta, "", 0, out, 16, &olen);
	CHECK(rc == 0 && olen == 0, "upper-client tcp, empty input: exit %d, %zu bytes", rc, olen);

	static const char lines[] = "hello\n\nworld 42\nlast line without newline";
	static const char want[] = "HELLO\nWORLD 42\nLAST LINE WITHOUT NEWLINE\n";
	snprintf(port, sizeof port, "127.0.0.1:%u", udp4.port);
	const char *const ua[] = {"-u", port, NULL};
	rc = run_client(ua, lines, sizeof lines - 1, out, n, &olen);
	CHECK(rc == 0 && olen == sizeof want - 1 && memcmp(out, want, olen) == 0,
	      "upper-client -u: exit %d, output '%.*s'", rc, (int)olen, (const char *)out);
	free(in);
	free(out);
}

/* ---- Whole-program cases ---- */

/* B1: the same over IPv6, with the largest IPv6 datagram. */
static void test_ipv6(void)
{
	static const char *const a[] = {"-l", "[::1]:0", NULL};
	struct server t, u;
	char why[256];
	if (!util_have_ipv6_loopback(SOCK_STREAM)) {
		printf("\n    (skipped: no IPv6 loopback [::1] on this host)  ");
		return;
	}
	CU_ASSERT_FATAL(server_start(&t, "tcp-upper", a) == 0);
	CHECK(strncmp(t.addr, "[::1]:", 6) == 0, "tcp-upper over IPv6 said %s", t.addr);
	unsigned char msg[UPPER_UDP_MAX6];
	fill(msg, sizeof msg, 6);
	CHECK(tcp_roundtrip("[::1]", t.port, msg, sizeof msg, why, sizeof why) == 0, "B1 tcp: %s", why);
	CHECK(server_stop(&t, SIGTERM, 3000, NULL) == 0, "B2: tcp-upper over IPv6 did not exit 0");
	CU_ASSERT_FATAL(server_start(&u, "udp-upper", a) == 0);
	int fd = connect_to("[::1]", u.port, SOCK_DGRAM);
	CU_ASSERT_FATAL(fd >= 0);
	CHECK(udp_roundtrip(fd, msg, UPPER_UDP_MAX6, 2000, why, sizeof why) == 0, "B1/U4 udp 65527: %s", why);
	CHECK(udp_roundtrip(fd, msg, 0, 2000, why, sizeof why) == 0, "B1/U3 udp 0: %s", why);
	close(fd);
	CHECK(server_stop(&u, SIGTERM, 3000, NULL) == 0, "B2: udp-upper over IPv6 did not exit 0");
}

/* -t 2: two threads with SO_REUSEPORT on one port. */
static void test_threads(void)
{
	static const char *const a[] = {"-l", "127.0.0.1:0", "-t", "2", NULL};
	struct server t, u;
	char why[256];
	CU_ASSERT_FATAL(server_start(&t, "tcp-upper", a) == 0);
	concurrent_clients(&t, "127.0.0.1", 100);
	CHECK(server_stop(&t, SIGTERM, 3000, NULL) == 0, "B2: tcp-upper -t 2 did not exit 0");
	CU_ASSERT_FATAL(server_start(&u, "udp-upper", a) == 0);
	int bad = 0;
	for (int i = 0; i < 50; i++) { /* distinct source ports spread over both sockets */
		int fd = connect_to("127.0.0.1", u.port, SOCK_DGRAM);
		if (fd < 0 ||
		    udp_roundtrip(fd, (const unsigned char *)"threads", 7, 2000, why, sizeof why) != 0)
			bad++;
		if (fd >= 0)
			close(fd);
	}
	CHECK(bad == 0, "udp-upper -t 2: %d of 50 clients not answered (%s)", bad, why);
	CHECK(server_stop(&u, SIGTERM, 3000, NULL) == 0, "B2: udp-upper -t 2 did not exit 0");
}

/* --inetd: one connection on stdin/stdout, through the same core; here a socketpair. */
static void test_inetd(void)
{
	static const char *const a[] = {"--inetd", NULL};
	int sv[2];
	size_t n = 300000; /* more than the buffer: backpressure through the pair */
	unsigned char *out = malloc(n);
	struct xchg_conn c;
	char why[256];
	CU_ASSERT_FATAL(out != NULL);
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	const int fd[3] = {sv[1], sv[1], 2};
	pid_t pid = spawn_prog("tcp-upper", a, fd);
	close(sv[1]);
	CU_ASSERT_FATAL(pid > 0);
	fill(out, n, 9);
	for (size_t i = 0; i < 256; i++)
		out[i] = (unsigned char)i;
	exchange(sv[0], out, n, 1, 5000, &c, why, sizeof why);
	CHECK(right_bytes(&c.oracle) == n, "--inetd: %zu of %zu bytes right (%s)", right_bytes(&c.oracle), n,
	      why);
	CHECK(c.oracle.fin, "--inetd: no EOF after the reply (%s)", why);
	close(sv[0]);
	int st = wait_or_kill(pid, 3000);
	CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "--inetd: exit status 0x%x", st);
	free(out);
}

/* T9: 10,000 idle connections held, each answering; reports the RSS each costs the server. */
static void test_tcp_10k_idle(void)
{
	enum { N = 10000 };
	static const char *const a[] = {"-l", "127.0.0.1:0", NULL};
	struct server s;
	char why[256];

	/* as far as the hard limit allows: the server started below inherits it */
	long limit = util_raise_nofile(LONG_MAX);
	if (limit >= 0 && limit < N + 200) {
		printf("\n    (skipped: RLIMIT_NOFILE hard limit %ld < %d; run with ulimit -Hn >= 20000)  ",
		       limit, N + 200);
		return;
	}
	CU_ASSERT_FATAL(server_start(&s, "tcp-upper", a) == 0);
	CU_ASSERT(tcp_roundtrip("127.0.0.1", s.port, (const unsigned char *)"warm", 4, why, sizeof why) == 0);
	usleep(50000);
	long r0 = util_rss_kib(s.pid);
	struct client_set cs;
	CU_ASSERT_FATAL(clients_open(&cs, "127.0.0.1", s.port, N, 2) == 0);
	for (int i = 0; i < N; i++) {
		cs.msgs[2 * i] = (unsigned char)('a' + i % 26);
		cs.msgs[2 * i + 1] = (unsigned char)('a' + (i / 26) % 26);
		cs.lens[i] = 2;
	}
	int bad = clients_answer(&cs);
	usleep(50000);
	long r1 = util_rss_kib(s.pid);
	int held = util_count_fds(s.pid);
	CHECK(cs.opened == N && bad == 0, "T9: %d of %d connections opened, %d not answered", cs.opened, N,
	      bad);
	CHECK(held >= N, "T9: the server holds %d descriptors for %d connections", held, N);
	printf(
	    "\n    (server RSS %ld KiB idle, %ld KiB with %d answered idle connections: %.0f bytes each)  ",
	    r0, r1, N, (double)(r1 - r0) * 1024.0 / N);
	clients_close(&cs);
	CHECK(server_stop(&s, SIGTERM, 5000, NULL) == 0,
	      "B2: server holding 10,000 connections did not exit 0");
}

/* B2: SIGTERM and SIGINT stop the servers promptly with status 0, even with clients connected. */
static void test_stop_signals(void)
{
	long took;
	int idle = connect_to("127.0.0.1", tcp4.port, SOCK_STREAM);
	int busy = connect_to("127.0.0.1", tcp4.port, SOCK_STREAM);
	CU_ASSERT(idle >= 0 && busy >= 0);
	if (busy >= 0) {
		net_nonblock(busy, 1);
		static unsigned char junk[1 << 16];
		for (int i = 0; i < 64 && send(busy, junk, sizeof junk, MSG_NOSIGNAL) > 0; i++)
			;
	}
	int st = server_stop(&tcp4, SIGTERM, 2000, &took);
	CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "B2: tcp-upper after SIGTERM: status 0x%x",
	      st);
	CHECK(took < 1000, "B2: tcp-upper took %ld ms to stop", took);
	st = server_stop(&udp4, SIGINT, 2000, &took);
	CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "B2: udp-upper after SIGINT: status 0x%x",
	      st);
	CHECK(took < 1000, "B2: udp-upper took %ld ms to stop", took);
	if (idle >= 0)
		close(idle);
	if (busy >= 0)
		close(busy);
}

/* ---- Bad input: options, set-up errors, hostile peers, unwritable output ---- */

/* Standard input for run_prog(): text fed on a pipe, or NULL for /dev/null. */
static const char *prog_input;

/* Runs BINDIR/prog with args (NULL-terminated): stdin prog_input, stdout to out_path (NULL: /dev/null),
 * stderr into err (errlen bytes, NUL-terminated). Killed after wait_ms. Returns the exit status, or -1
 * when it had to be killed or did not exit normally. */
static int run_prog(const char *prog, const char *const *args, const char *out_path, int wait_ms, char *err,
                    size_t errlen)
{
	int fd[3] = {prog_input != NULL ? input_fd(prog_input, strlen(prog_input)) : -1,
	             out_path != NULL ? open(out_path, O_WRONLY | O_CLOEXEC) : -1,
	             memfd_create("test-servers-err", MFD_CLOEXEC)},
	    rc = -1;

	err[0] = '\0';
	if ((prog_input == NULL || fd[0] >= 0) && (out_path == NULL || fd[1] >= 0) && fd[2] >= 0) {
		rc = run_to_end(prog, args, fd, wait_ms);
		ssize_t k = pread(fd[2], err, errlen - 1, 0);
		err[k > 0 ? k : 0] = '\0';
	}
	for (int i = 0; i < 3; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	return rc;
}

/* Every wrong option or argument: exit 2 at once, and stderr names the option or value at fault. */
static void test_bad_options(void)
{
	static const struct {
		const char *prog, *args[5], *out, *want;
		int rc;
	} cases[] = {
	    {"tcp-upper", {"-t", "0"}, NULL, "-t '0'", 2},
	    {"udp-upper", {"-t", "65"}, NULL, "-t '65'", 2},
	    {"tcp-upper", {"-t", "99999999999999999999"}, NULL, "-t '99999999999999999999'", 2},
	    {"udp-upper", {"-t", "abc"}, NULL, "-t 'abc'", 2},
	    {"tcp-upper", {"-t"}, NULL, "tcp-upper: -t: missing argument\nTry 'tcp-upper --help'", 2},
	    {"tcp-upper", {"-b", "0"}, NULL, "-b '0'", 2},
	    {"tcp-upper",
	     {"-b", "18014398509481985k"},
	     NULL,
	     "-b '18014398509481985k'",
	     2}, /* wrapped to 1 KiB */
	    {"tcp-upper", {"-b", "2g"}, NULL, "-b '2g'", 2},
	    {"tcp-upper", {"-b", "-5"}, NULL, "-b '-5'", 2},
	    {"udp-upper", {"-b", "1k"}, NULL, "not an option of this program", 2},
	    {"tcp-upper", {"--socket-budget", "1k"}, NULL, "--socket-budget '1k'", 2},
	    {"tcp-upper", {"--socket-budget", "2048g"}, NULL, "--socket-budget '2048g'", 2},
	    {"udp-upper", {"--socket-budget", "1g"}, NULL, "not an option of this program", 2},
	    {"udp-upper", {"--inetd"}, NULL, "--inetd: not an option", 2},
	    {"tcp-upper", {"-x"}, NULL, "tcp-upper: -x: unknown option\nTry 'tcp-upper --help'", 2},
	    {"udp-upper", {"--bogus"}, NULL, "udp-upper: --bogus: unknown option\nTry 'udp-upper --help'", 2},
	    {"udp-upper", {"-l", "99999"}, NULL, "-l 99999: '127.0.0.1:99999': port '99999'", 2},
	    {"tcp-upper", {"-l", ":x"}, NULL, "-l :x:", 2},
	    {"tcp-upper", {"-l", "bad"}, NULL, "'bad': expected ADDR:PORT", 2},
	    {"udp-upper", {"-l", "127.0.0.1:99999"}, NULL, "port '99999'", 2},
	    {"udp-upper", {"-l", "[::1"}, NULL, "'[::1'", 2},
	    {"tcp-upper", {"-l", "127.0.0.1:0", "stray"}, NULL, "unexpected argument 'stray'", 2},
	    {"udp-upper", {"--help"}, "/dev/full", "stdout", 2},
	    {"upper-client", {NULL}, NULL, "expected one HOST:PORT", 2},
	    {"upper-client", {"-w", "0", "127.0.0.1:1"}, NULL, "-w: '0' is not a duration", 2},
	    {"upper-client", {"-w", "2000", "127.0.0.1:1"}, NULL, "-w: '2000' is not a duration", 2},
	    {"upper-client",
	     {"-w"},
	     NULL,
	     "upper-client: -w: missing argument\nTry 'upper-client --help'",
	     2},
	    {"upper-client", {"bad"}, NULL, "'bad'", 2},
	    {"upper-client", {"127.0.0.1:1"}, NULL, "connect to 127.0.0.1:1", 2},
	    {"upper-client", {"--help"}, "/dev/full", "stdout", 2},
	};
	char err[4096];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint64_t t0 = util_now_ns();
		int rc = run_prog(cases[i].prog, cases[i].args, cases[i].out, 3000, err, sizeof err);
		CHECK(rc == cases[i].rc && strstr(err, cases[i].want) != NULL &&
		          (long)((util_now_ns() - t0) / MS) < 2000,
		      "%s %s %s: exit %d (want %d) in %ld ms, stderr '%.200s' (want '%s')", cases[i].prog,
		      cases[i].args[0] ? cases[i].args[0] : "", cases[i].args[1] ? cases[i].args[1] : "", rc,
		      cases[i].rc, (long)((util_now_ns() - t0) / MS), err, cases[i].want);
	}

	/* UDP to a closed port: the ICMP port unreachable is a set-up error, named at once. */
	static const char *const u[] = {"-u", "127.0.0.1:1", NULL};
	prog_input = "abc\n";
	int rc = run_prog("upper-client", u, NULL, 3000, err, sizeof err);
	prog_input = NULL;
	CHECK(rc == 2 && strstr(err, "nothing is listening") != NULL,
	      "upper-client -u 127.0.0.1:1: exit %d, '%.200s'", rc, err);
}

/* A port in use is a set-up error (exit 2), also where SO_REUSEPORT (threads) or SO_REUSEADDR (UDP) would
 * let a second server share the port silently. */
static void test_port_in_use(void)
{
	static const char *const l0[] = {"-l", "127.0.0.1:0", NULL};
	static const char *const lt[] = {"-l", "127.0.0.1:0", "-t", "2", NULL};
	struct server ts, us;
	char a[64], err[4096];
	/* The TCP server runs SO_REUSEPORT threads, which a second -t 2 server could otherwise join. */
	CU_ASSERT_FATAL(server_start(&ts, "tcp-upper", lt) == 0);
	if (server_start(&us, "udp-upper", l0) != 0) {
		server_stop(&ts, SIGKILL, 1000, NULL);
		CU_FAIL_FATAL("udp-upper did not start");
	}
	snprintf(a, sizeof a, "127.0.0.1:%u", us.port);
	const char *const u1[] = {"-l", a, NULL}, *const u2[] = {"-l", a, "-t", "2", NULL};
	int rc = run_prog("udp-upper", u1, NULL, 3000, err, sizeof err);
	CHECK(rc == 2 && strstr(err, "Address already in use") != NULL,
	      "udp-upper -l %s (in use): exit %d, '%.200s'", a, rc, err);
	rc = run_prog("udp-upper", u2, NULL, 3000, err, sizeof err);
	CHECK(rc == 2 && strstr(err, "Address already in use") != NULL,
	      "udp-upper -t 2 -l %s (in use): exit %d, '%.200s'", a, rc, err);
	snprintf(a, sizeof a, "127.0.0.1:%u", ts.port);
	const char *const t1[] = {"-l", a, NULL}, *const t2[] = {"-l", a, "-t", "2", NULL};
	rc = run_prog("tcp-upper", t1, NULL, 3000, err, sizeof err);
	CHECK(rc == 2 && strstr(err, "Address already in use") != NULL,
	      "tcp-upper -l %s (in use): exit %d, '%.200s'", a, rc, err);
	rc = run_prog("tcp-upper", t2, NULL, 3000, err, sizeof err);
	CHECK(rc == 2 && strstr(err, "Address already in use") != NULL,
	      "tcp-upper -t 2 -l %s (in use): exit %d, '%.200s'", a, rc, err);
	server_stop(&ts, SIGTERM, 2000, NULL);
	server_stop(&us, SIGTERM, 2000, NULL);
}

/* A flooding server for upper-client, in a thread of the test: accepts one connection on the listening
 * socket lfd within 5 s, then sends without end until the client is gone. */
static void *flood(void *arg)
{
	static char blk[65536];
	int lfd = *(const int *)arg;
	struct pollfd pf = {.fd = lfd, .events = POLLIN};
	memset(blk, 'A', sizeof blk);
	int c = poll(&pf, 1, 5000) == 1 ? accept(lfd, NULL, NULL) : -1;
	while (c >= 0 && send(c, blk, sizeof blk, MSG_NOSIGNAL) > 0)
		;
	if (c >= 0)
		close(c);
	return NULL;
}

/* upper-client: stdout on a full disk, and a server that sends more than it was sent (a flood), are
 * errors, reported at once. */
static void test_client_bad_output(void)
{
	static const char *const l0[] = {"-l", "127.0.0.1:0", NULL};
	struct server ts;
	char a[64], err[4096];
	CU_ASSERT_FATAL(server_start(&ts, "tcp-upper", l0) == 0);
	snprintf(a, sizeof a, "127.0.0.1:%u", ts.port);
	const char *const ta[] = {a, NULL};
	prog_input = "x\n"; /* stdin must carry bytes */
	int rc = run_prog("upper-client", ta, "/dev/full", 5000, err, sizeof err);
	prog_input = NULL;
	CHECK(rc == 1, "upper-client > /dev/full: exit %d, want exit 1", rc);
	server_stop(&ts, SIGTERM, 2000, NULL);

	/* a flooding server: accepts, then sends without end */
	struct net_addr la, bound;
	char e2[256];
	pthread_t fl;
	CU_ASSERT_FATAL(net_parse("127.0.0.1:0", &la, e2, sizeof e2) == 0);
	int lfd = net_listen(&la, SOCK_STREAM, 0, 4, &bound, e2, sizeof e2);
	CU_ASSERT_FATAL(lfd >= 0);
	CU_ASSERT_FATAL(pthread_create(&fl, NULL, flood, &lfd) == 0);
	snprintf(a, sizeof a, "127.0.0.1:%u", net_port((struct sockaddr *)&bound.ss));
	const char *const fa[] = {a, NULL};
	uint64_t t0 = util_now_ns();
	rc = run_prog("upper-client", fa, NULL, 5000, err, sizeof err);
	CHECK(rc == 1 && strstr(err, "bytes for the") != NULL && (long)((util_now_ns() - t0) / MS) < 3000,
	      "upper-client vs a flooding server: exit %d in %ld ms, '%.200s'", rc,
	      (long)((util_now_ns() - t0) / MS), err);
	shutdown(lfd, SHUT_RDWR); /* ends a wait for a client that never came */
	pthread_join(fl, NULL);
	close(lfd);
}

/* -v: a message log nobody reads (a full pipe) or that cannot be written (/dev/full) neither stalls
 * nor kills the server; it keeps answering and stops on SIGTERM. */
static void test_verbose_unwritable(void)
{
	static const char *const progs[2] = {"tcp-upper", "udp-upper"};
	unsigned char *msg = malloc(200000);
	char why[256];
	CU_ASSERT_FATAL(msg != NULL);
	fill(msg, 200000, 9);
	for (int full = 0; full < 2; full++)
		for (int p = 0; p < 2; p++) {
			static const char *const a[] = {"-v", "-l", "127.0.0.1:0", NULL};
			int pe[2];
			char line[256] = "";
			CU_ASSERT_FATAL(pipe(pe) == 0);
			const int std[3] = {-1, -1, pe[1]};
			pid_t pid = spawn_prog(progs[p], a, std);
			close(pe[1]);
			CU_ASSERT_FATAL(pid > 0);
			/* the first line is read; then the pipe stays open unread until it fills (round 0),
			 * or is closed so that every log write fails with EPIPE (round 1) */
			size_t got = 0;
			for (uint64_t end = util_now_ns() + 5000 * MS;
			     util_ms_left(end) > 0 && strchr(line, '\n') == NULL;) {
				struct pollfd pf = {.fd = pe[0], .events = POLLIN};
				if (poll(&pf, 1, 100) == 1) {
					ssize_t k = read(pe[0], line + got, 1);
					if (k <= 0)
						break;
					got += (size_t)k;
				}
			}
			if (full)
				close(pe[0]);
			const char *colon = strrchr(line, ':');
			unsigned port = colon ? (unsigned)atoi(colon + 1) : 0;
			CHECK(port > 0, "%s -v: first line '%s'", progs[p], line);
			int ok = 1;
			for (int i = 0; port > 0 && i < 3 && ok; i++) {
				if (p == 0) {
					ok = tcp_roundtrip("127.0.0.1", port, msg, 200000, why, sizeof why) ==
					     0;
				} else {
					int fd = connect_to("127.0.0.1", port, SOCK_DGRAM);
					ok = fd >= 0 &&
					     udp_roundtrip(fd, msg, 60000, 2000, why, sizeof why) == 0;
					if (fd >= 0)
						close(fd);
				}
			}
			CHECK(ok, "%s -v with stderr %s: round trip: %s", progs[p],
			      full ? "a closed pipe" : "a pipe nobody reads", why);
			kill(pid, SIGTERM);
			int st = wait_or_kill(pid, 2000);
			CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
			      "%s -v with stderr %s: status 0x%x after SIGTERM", progs[p],
			      full ? "a closed pipe" : "a pipe nobody reads", st);
			if (!full)
				close(pe[0]);
		}
	free(msg);
}

int main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
	    {"first stderr line names the bound port", test_first_line},
	    {"X1/T1 tcp: all 256 byte values round trip", test_tcp_all_bytes},
	    {"T2 tcp: answers without framing, connection open", test_tcp_no_framing},
	    {"T4 tcp: half-close gets every byte, then EOF", test_tcp_half_close},
	    {"T5/T6/T8 tcp: resets and closes leave others served, no leak", test_tcp_reset_mid_stream},
	    {"T9 tcp: 1000 concurrent clients", test_tcp_1000_clients},
	    {"T7/T8 tcp: 16 MiB through a slow reader", test_tcp_slow_reader},
	    {"tcp -v: escaped message log", test_tcp_verbose_log},
	    {"U3/U4 udp: datagrams of 0 .. 65507 bytes", test_udp_sizes},
	    {"U1/U2 udp: burst of distinct sizes, one reply each", test_udp_burst},
	    {"U5 udp: a sender gone leaves others served", test_udp_sender_gone},
	    {"upper-client on a pipe, TCP and UDP", test_client_pipe},
	    {"B1: IPv6 [::1]", test_ipv6},
	    {"-t 2: SO_REUSEPORT threads", test_threads},
	    {"--inetd on a socketpair", test_inetd},
	    {"T9 tcp: 10,000 idle connections, each answering", test_tcp_10k_idle},
	    {"B2: SIGTERM/SIGINT stop promptly, exit 0", test_stop_signals},
	    {"bad options: exit 2 at once, naming the option", test_bad_options},
	    {"a port in use: exit 2, TCP and UDP", test_port_in_use},
	    {"upper-client: stdout on /dev/full, a flooding server", test_client_bad_output},
	    {"-v: a log nobody reads neither stalls nor kills", test_verbose_unwritable},
	};

	bindir = unit_bindir("test_servers", argc, argv);
	if (bindir == NULL)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	return unit_run_fixture("servers", suite_init, suite_clean, tests, sizeof tests / sizeof tests[0]);
}
