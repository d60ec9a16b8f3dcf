/* case_resources.c - the resource cases: the server's resident memory, descriptors and threads (from
 * /proc, resources.h) before and after thousands of connections that come and go (SPEC T5), that
 * reset, mid-stream or while output is owed (T6, T8), and of UDP senders that vanish (U5), after a
 * settle. A case fails when the growth per connection passes its bound; the figures go into the note
 * and the result's resources (the JSON and the summary). Needs a server conform started (--exec) or
 * named (--pid): anything else is skipped. */
#include "case.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "resources.h"
#include "util.h"

/* Resident memory a server may keep per connection once it is gone (allocator and cache noise). */
#define BYTES_PER_CONNECTION_BOUND 16384
#define SETTLE_MS 1000
#define BATCH 250

/* Descriptors or threads a server may keep after n connections: a few, never one per connection. */
static long slack(long n)
{
	return 2 + n / 100;
}

struct meter {
	struct resources_scope scope;
	const char *per; /* "connection" or "sender" */
	struct resources_sample before;
	long connections; /* counted so far */
};

/* Which processes serve the transport: the --exec server's group, or --pid's process tree. */
static int meter_start(struct case_context *c, enum case_transport t, struct meter *m)
{
	char err[256];
	memset(m, 0, sizeof *m);
	m->per = t == CASE_UDP ? "sender" : "connection";
	m->scope.group = t == CASE_TCP ? c->tcp_server_group : c->udp_server_group;
	m->scope.root = c->watched_pid;
	if (m->scope.group <= 0 && m->scope.root <= 0)
		return case_skip(c, "needs a server to measure: --exec (conform starts it) or --pid PID");
	if (resources_sample(&m->scope, &m->before, err, sizeof err) < 0)
		return case_fail(c, "could not measure the server: %s", err);
	return 0;
}

/* Whether the growth after n connections already passes its bound: the case fails. */
static int over_bound(const struct meter *m, const struct resources_sample *now, long n, int margin)
{
	long long bytes = now->resident_bytes - m->before.resident_bytes;
	return n > 0 && (bytes > (long long)margin * BYTES_PER_CONNECTION_BOUND * n + (4 << 20) ||
	                 now->descriptors - m->before.descriptors > margin * slack(n) ||
	                 now->threads - m->before.threads > margin * slack(n));
}

/* Checked after each batch: stops a leaking server early, before it holds gigabytes. */
static int meter_over(struct case_context *c, struct meter *m)
{
	struct resources_sample now;
	char err[256];
	if (resources_sample(&m->scope, &now, err, sizeof err) < 0)
		return case_fail(c, "could not measure the server: %s", err);
	return over_bound(m, &now, m->connections, 4);
}

/* Waits (up to SETTLE_MS) until the server is back within bounds or stops shrinking, then judges. */
static int meter_judge(struct case_context *c, struct meter *m, const char *what)
{
	struct resources_sample after, last;
	char err[256];
	int steady = 0;
	util_sleep_ms(50);
	if (resources_sample(&m->scope, &last, err, sizeof err) < 0)
		return case_fail(c, "could not measure the server after %s: %s", what, err);
	for (int waited = 0; waited < SETTLE_MS && over_bound(m, &last, m->connections, 1) && steady < 4;
	     waited += 50) {
		util_sleep_ms(50);
		if (resources_sample(&m->scope, &after, err, sizeof err) < 0)
			return case_fail(c, "could not measure the server after %s: %s", what, err);
		steady = after.descriptors == last.descriptors && after.threads == last.threads &&
		                 after.resident_bytes >= last.resident_bytes
		             ? steady + 1
		             : 0;
		last = after;
	}
	struct case_resources *r = &c->result->resources;
	long n = m->connections > 0 ? m->connections : 1;
	r->measured = 1;
	r->connections = m->connections;
	r->resident_growth = last.resident_bytes - m->before.resident_bytes;
	r->descriptor_growth = last.descriptors - m->before.descriptors;
	r->thread_growth = last.threads - m->before.threads;
	r->processes = last.processes;
	r->threads = last.threads;
	r->per_sender = m->per[0] == 's';
	/* what the server gave back while it settled is noise, not a negative cost */
	r->bytes_per_connection = r->resident_growth > 0 ? (double)r->resident_growth / (double)n : 0.0;
	r->descriptors_per_connection =
	    r->descriptor_growth > 0 ? (double)r->descriptor_growth / (double)n : 0.0;
	snprintf(c->result->note, sizeof c->result->note,
	         "after %ld %s: resident memory %+lld KiB (%.0f bytes per %s, bound %d), "
	         "descriptors %+ld (%.3f per %s, bound %ld in all), threads %+ld (bound %ld); "
	         "%d process(es), %ld descriptors, %ld threads",
	         m->connections, what, r->resident_growth / 1024, r->bytes_per_connection, m->per,
	         BYTES_PER_CONNECTION_BOUND, r->descriptor_growth, r->descriptors_per_connection, m->per,
	         slack(n), r->thread_growth, slack(n), last.processes, last.descriptors, last.threads);
	if (!over_bound(m, &last, m->connections, 1))
		return 0;
	return case_fail(c,
	                 "the server keeps what %ld %s cost it: resident memory %+lld KiB (%.0f bytes per "
	                 "%s, bound %d), descriptors %+ld (bound %ld), threads %+ld (bound %ld)",
	                 m->connections, what, r->resident_growth / 1024, r->bytes_per_connection, m->per,
	                 BYTES_PER_CONNECTION_BOUND, r->descriptor_growth, slack(n), r->thread_growth,
	                 slack(n));
}

/* Counts a client gone; every fourth is followed by a served exchange (counted too), so that a small
 * listen backlog never overflows (that is tcp/many/burst's business). */
static int counted(struct case_context *c, struct meter *m, const char *after)
{
	if (++m->connections % 4 != 0)
		return 0;
	m->connections++;
	return client_tcp_still_serves(c, &c->target->tcp, after);
}

/* One client that connects and closes (after sending 3 bytes when send_first). */
static int connect_close(struct case_context *c, struct meter *m, int send_first)
{
	struct client_connection k;
	if (client_tcp_connect(c, &c->target->tcp, &k) < 0)
		return -1;
	if (send_first && send(k.fd, "abc", 3, MSG_NOSIGNAL) < 0) {
		/* the server may already have dropped us; that is its right */
	}
	client_tcp_close(c, &k);
	return counted(c, m, "clients that connect and close");
}

/* Runs one(c, m, i) count times in batches, stopping early once the growth is far past its bound. */
static int churn(struct case_context *c, struct meter *m, long count,
                 int (*one)(struct case_context *, struct meter *, long))
{
	for (long i = 0; i < count; i++) {
		if (one(c, m, i) < 0)
			return -1;
		if ((i + 1) % BATCH == 0) {
			int over = meter_over(c, m);
			if (over != 0)
				return over < 0 ? -1 : 1;
		}
	}
	return 0;
}

static int one_connection(struct case_context *c, struct meter *m, long i)
{
	return connect_close(c, m, (int)(i & 1));
}

/* Warm-up (caches, thread pools and allocator arenas fill first), then the measured clients: one(c, m, i)
 * count times, then the judgement after a settle. */
static int measure(struct case_context *c, enum case_transport t, long warm_up, long count,
                   int (*one)(struct case_context *, struct meter *, long), const char *what)
{
	struct meter m;
	memset(&m, 0, sizeof m);
	for (long i = 0; i < warm_up; i++)
		if (one(c, &m, i) < 0)
			return -1;
	if (meter_start(c, t, &m) < 0 || churn(c, &m, count, one) < 0)
		return -1;
	return meter_judge(c, &m, what);
}

int case_resources_connections(struct case_context *c)
{
	return measure(c, CASE_TCP, 100, 2000, one_connection,
	               "connect-and-close clients (half after sending)");
}

/* A client that resets: before sending (i % 8 < 4), mid-stream (i % 8 < 7) or while the server owes it
 * output (it sent 256 KiB without reading). */
static int one_reset(struct case_context *c, struct meter *m, long i)
{
	static unsigned char text[256 << 10];
	struct client_connection k;
	if (text[0] == 0)
		for (size_t j = 0; j < sizeof text; j++)
			text[j] = (unsigned char)(j % 61 == 60 ? '\n' : 'a' + j % 26);
	if (client_tcp_connect(c, &c->target->tcp, &k) < 0)
		return -1;
	size_t want = i % 8 < 4 ? 0 : i % 8 < 7 ? 1000 : sizeof text;
	for (size_t sent = 0; sent < want;) {
		struct pollfd p = {k.fd, POLLOUT, 0};
		if (poll(&p, 1, case_wait_ms(c, 200)) != 1)
			break; /* the server stopped taking bytes: it owes us the rest */
		ssize_t n = send(k.fd, text + sent, want - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			break;
		sent += n > 0 ? (size_t)n : 0;
	}
	client_tcp_reset(c, &k);
	return counted(c, m, "clients that reset");
}

int case_resources_resets(struct case_context *c)
{
	return measure(c, CASE_TCP, 40, 800, one_reset,
	               "clients that reset (before sending, mid-stream, while owed output)");
}

/* A UDP sender that sends and is gone before the reply; every fiftieth one waits for its answer. */
static int one_sender(struct case_context *c, struct meter *m, long i)
{
	static const char text[] = "a sender that will not wait for its answer";
	m->connections++;
	if (i % 50 == 49)
		return client_udp_roundtrip(c, &c->target->udp, text, sizeof text - 1, 0);
	int fd = client_udp_socket(c, &c->target->udp);
	if (fd < 0)
		return -1;
	int rc = client_udp_send(c, fd, ++c->connections, &c->target->udp, text, sizeof text - 1);
	close(fd);
	return rc;
}

int case_resources_senders(struct case_context *c)
{
	return measure(c, CASE_UDP, 100, 2000, one_sender, "UDP senders gone before their reply");
}
