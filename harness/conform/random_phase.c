/* random_phase.c - conform's random phase: a sequence of sends, half-closes, resets and closes over
 * several TCP connections, and datagrams from several UDP senders, generated from a seed, every answer
 * checked by the oracle; a failing sequence is shrunk (operations removed, sends made shorter) to a
 * minimal one. */
#include "random_phase.h"

#include <string.h>
#include <unistd.h>

#include "client.h"
#include "oracle.h"
#include "util.h"

enum operation_kind {
	OPERATION_SEND = 1,
	OPERATION_HALF_CLOSE,
	OPERATION_RESET,
	OPERATION_CLOSE,
	OPERATION_DATAGRAM
};

enum {
	TCP_CONNECTIONS = 3, /* connection slots of a sequence */
	UDP_SENDERS = 2,     /* UDP sockets of a sequence */
	MAX_OPERATIONS = 24,
	MAX_SEND = 3000, /* bytes of one TCP send */
	MAX_DATAGRAM = 2000,
	MAX_SHRINK_RUNS = 80,
	SHRINK_MS = 30000
};

struct operation {
	enum operation_kind kind;
	int slot;      /* which TCP connection or UDP sender */
	size_t length; /* bytes sent */
	uint64_t seed; /* of the bytes sent */
};

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void random_bytes(unsigned char *p, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(splitmix(&seed) >> 56);
}

static size_t generate(uint64_t seed, int tcp, int udp, struct operation *ops)
{
	uint64_t s = seed;
	size_t n = 8 + splitmix(&s) % (MAX_OPERATIONS - 8 + 1);
	for (size_t i = 0; i < n; i++) {
		struct operation *o = &ops[i];
		unsigned r = (unsigned)(splitmix(&s) % 100);
		o->seed = splitmix(&s);
		if (!tcp || (udp && r < 30)) {
			o->kind = OPERATION_DATAGRAM;
			o->slot = (int)(splitmix(&s) % UDP_SENDERS);
			o->length = (size_t)(splitmix(&s) % (MAX_DATAGRAM + 1));
			continue;
		}
		o->slot = (int)(splitmix(&s) % TCP_CONNECTIONS);
		r = (unsigned)(splitmix(&s) % 100);
		o->kind = r < 60   ? OPERATION_SEND
		          : r < 75 ? OPERATION_HALF_CLOSE
		          : r < 90 ? OPERATION_RESET
		                   : OPERATION_CLOSE;
		/* mostly short sends, some long enough to span segments */
		o->length =
		    (size_t)(splitmix(&s) % 4 == 0 ? 1 + splitmix(&s) % MAX_SEND : 1 + splitmix(&s) % 40);
	}
	return n;
}

static void describe(const struct operation *o, char *buf, size_t len)
{
	static const char *const names[] = {"", "send", "half-close", "reset", "close", "datagram"};
	if (o->kind == OPERATION_DATAGRAM)
		snprintf(buf, len, "udp sender %d: datagram of %zu bytes", o->slot, o->length);
	else if (o->kind == OPERATION_SEND)
		snprintf(buf, len, "tcp connection %d: send %zu bytes", o->slot, o->length);
	else
		snprintf(buf, len, "tcp connection %d: %s", o->slot, names[o->kind]);
}

/* The sockets of a sequence being run. */
struct sequence {
	struct case_context *c;
	struct client_connection tcp[TCP_CONNECTIONS];
	int tcp_open[TCP_CONNECTIONS], tcp_half_closed[TCP_CONNECTIONS];
	int udp_fd[UDP_SENDERS];
	unsigned udp_id[UDP_SENDERS];
};

/* One TCP operation. Returns 0 or -1 (case failed). */
static int run_tcp_operation(struct sequence *q, const struct operation *o)
{
	static unsigned char out[MAX_SEND];
	struct case_context *c = q->c;
	int w = o->slot;
	switch (o->kind) {
	case OPERATION_SEND:
		if (q->tcp_half_closed[w])
			return 0;
		if (!q->tcp_open[w]) {
			if (client_tcp_connect(c, &c->target->tcp, &q->tcp[w]) < 0)
				return -1;
			q->tcp_open[w] = 1;
		}
		random_bytes(out, o->length, o->seed);
		return client_exchange(c, &q->tcp[w], out, o->length, CLIENT_KEEP_OPEN);
	case OPERATION_HALF_CLOSE: {
		if (!q->tcp_open[w] || q->tcp_half_closed[w])
			return 0;
		q->tcp_half_closed[w] = 1;
		int rc = client_exchange(c, &q->tcp[w], out, 0, CLIENT_HALF_CLOSE);
		client_tcp_close(c, &q->tcp[w]);
		q->tcp_open[w] = 0;
		return rc;
	}
	case OPERATION_RESET:
	case OPERATION_CLOSE:
		if (!q->tcp_open[w])
			return 0;
		if (o->kind == OPERATION_RESET)
			client_tcp_reset(c, &q->tcp[w]);
		else
			client_tcp_close(c, &q->tcp[w]);
		q->tcp_open[w] = 0;
		q->tcp_half_closed[w] = 0; /* a later send opens a new connection in this slot */
		return 0;
	default:
		return 0;
	}
}

/* One datagram and its reply. Returns 0 or -1 (case failed). */
static int run_datagram(struct sequence *q, const struct operation *o)
{
	static unsigned char out[MAX_DATAGRAM], got[65536 + 1];
	struct case_context *c = q->c;
	char why[256];
	size_t got_len;
	int w = o->slot;
	if (q->udp_fd[w] < 0) {
		q->udp_fd[w] = client_udp_socket(c, &c->target->udp);
		if (q->udp_fd[w] < 0)
			return -1;
		q->udp_id[w] = ++c->connections;
	}
	random_bytes(out, o->length, o->seed);
	if (client_udp_send(c, q->udp_fd[w], q->udp_id[w], &c->target->udp, out, o->length) < 0)
		return -1;
	enum client_receive received =
	    client_udp_receive(c, q->udp_fd[w], q->udp_id[w], got, sizeof got, c->timeout_ms, &got_len);
	if (received == CLIENT_NOTHING)
		return case_timeout(c, "no reply to a %zu-byte datagram", o->length);
	if (received == CLIENT_RECEIVE_FAILED)
		return -1;
	if (oracle_udp_check(out, o->length, got, got_len, why, sizeof why) != ORACLE_UDP_OK) {
		case_note_difference(c, out, o->length, got, got_len, 0);
		return case_fail(c, "%s", why);
	}
	return 0;
}

/* Runs ops, then checks that a fresh connection is served. Returns 0, or -1 with the case failed and
 * *at the failing operation's index (n for the final check). */
static int run_sequence(struct case_context *c, const struct operation *ops, size_t n, size_t *at)
{
	struct sequence q;
	int rc = 0;

	memset(&q, 0, sizeof q);
	q.c = c;
	for (int w = 0; w < UDP_SENDERS; w++)
		q.udp_fd[w] = -1;
	case_result_clear(c->result);
	for (size_t i = 0; i < n && rc == 0; i++) {
		*at = i;
		rc = ops[i].kind == OPERATION_DATAGRAM ? run_datagram(&q, &ops[i])
		                                       : run_tcp_operation(&q, &ops[i]);
	}
	for (int w = 0; w < TCP_CONNECTIONS; w++)
		if (q.tcp_open[w])
			client_tcp_close(c, &q.tcp[w]);
	for (int w = 0; w < UDP_SENDERS; w++)
		if (q.udp_fd[w] >= 0)
			close(q.udp_fd[w]);
	if (rc == 0 && c->target->has_tcp) {
		*at = n;
		rc = client_tcp_still_serves(c, &c->target->tcp, "the sequence");
	}
	return rc;
}

static void render(const struct operation *ops, size_t n, size_t at, char *buf, size_t len)
{
	size_t l = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && l + 1 < len; i++) {
		char d[96];
		describe(&ops[i], d, sizeof d);
		l += (size_t)snprintf(buf + l, len - l, "%s%zu. %s%s", i ? "; " : "", i + 1, d,
		                      i == at ? " <- fails here" : "");
	}
	if (at == n && l + 1 < len)
		snprintf(buf + l, len - l,
		         "%sthe final check fails (a fresh connection: send, half-close, read to FIN)",
		         n ? "; then " : "no op needed: ");
}

/* The shrinking of a failing sequence. */
struct shrink {
	struct case_context *c;
	int (*restart)(void *);
	void *restart_arg;
	struct operation best[MAX_OPERATIONS]; /* the smallest failing sequence so far */
	size_t count, failing_at;
	struct case_result failure; /* its result */
	int runs;
	uint64_t end_ns;
};

static int shrink_may_run(const struct shrink *s)
{
	return s->runs < MAX_SHRINK_RUNS && util_ms_left(s->end_ns) > 0;
}

/* Runs a trial sequence. Returns 1 when it fails too (it is then the best), 0 when it passes, -1 when
 * the server could not be restarted. */
static int shrink_try(struct shrink *s, const struct operation *trial, size_t n)
{
	size_t at = 0;
	if (s->restart != NULL && s->restart(s->restart_arg) < 0)
		return -1;
	s->runs++;
	if (run_sequence(s->c, trial, n, &at) == 0)
		return 0;
	memmove(s->best, trial, n * sizeof *trial);
	s->count = n;
	s->failing_at = at;
	s->failure = *s->c->result;
	return 1;
}

/* Drops operations that are not needed for a failure, then halves sends, until nothing changes or the
 * bounds on runs and time are reached. */
static void shrink_sequence(struct shrink *s)
{
	struct operation trial[MAX_OPERATIONS];
	for (int changed = 1; changed && shrink_may_run(s);) {
		changed = 0;
		for (size_t drop = s->count; drop-- > 0 && shrink_may_run(s);) {
			size_t n = 0;
			for (size_t i = 0; i < s->count; i++)
				if (i != drop)
					trial[n++] = s->best[i];
			int r = shrink_try(s, trial, n);
			if (r < 0)
				return;
			changed |= r;
		}
		for (size_t i = 0; i < s->count && shrink_may_run(s); i++) {
			if (s->best[i].length <= 1)
				continue;
			memcpy(trial, s->best, s->count * sizeof *trial);
			trial[i].length = s->best[i].length / 2;
			int r = shrink_try(s, trial, s->count);
			if (r < 0)
				return;
			changed |= r;
		}
	}
}

int random_phase_run(struct case_context *c, uint64_t seed, int (*restart)(void *), void *arg)
{
	struct operation ops[MAX_OPERATIONS];
	size_t n = generate(seed, c->target->has_tcp, c->target->has_udp, ops), at = 0;
	char sequence[CASE_MESSAGE_MAX];
	struct shrink s;

	if (run_sequence(c, ops, n, &at) == 0)
		return 0;
	memset(&s, 0, sizeof s);
	s.c = c;
	s.restart = restart;
	s.restart_arg = arg;
	memcpy(s.best, ops, n * sizeof *ops);
	s.count = n;
	s.failing_at = at;
	s.failure = *c->result;
	s.end_ns = util_now_ns() + (uint64_t)SHRINK_MS * 1000000u;
	shrink_sequence(&s);
	if (restart != NULL)
		restart(arg);
	*c->result = s.failure;
	render(s.best, s.count, s.failing_at, sequence, sizeof sequence);
	snprintf(c->result->message, sizeof c->result->message, "seed %llu: %.460s", (unsigned long long)seed,
	         s.failure.message);
	snprintf(c->result->note, sizeof c->result->note,
	         "shrunk from %zu to %zu ops in %d runs (reproduce: --random 1 --seed %llu): %s", n, s.count,
	         s.runs, (unsigned long long)seed, sequence);
	c->result->status = CASE_FAIL;
	return -1;
}
