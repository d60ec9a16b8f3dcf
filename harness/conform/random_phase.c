/* random_phase.c - conform's random phase: runs a sequence (random_sequence.h) live against the target,
 * every TCP connection judged by lib/exchange.h's stream oracle (each byte against X1 of what that
 * connection sent, FIN only after every owed byte, nothing judged after the client's reset), each UDP
 * reply against its own datagram and its source (U1); shrinks a failing sequence (operations removed,
 * sends and bursts made smaller) and writes it as fuzz inputs. */
#include "random_phase.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "exchange.h"
#include "host.h"
#include "oracle.h"
#include "random_sequence.h"
#include "report.h"
#include "resources.h"
#include "script.h"
#include "util.h"

enum {
	MAX_SHRINK_RUNS = 200,
	SHRINK_TIMEOUTS = 15, /* shrinking takes at most this many timeouts */
	MAX_BURST = SEQUENCE_MAX_SENDERS * SEQUENCE_MAX_PER_SENDER
};

/* ---- IPv6 ---- */

/* The target's addresses over IPv6, when reachable there. */
struct addresses {
	struct net_addr tcp6, udp6;
	int has_tcp6, has_udp6;
};

/* The IPv6 address to try for a: a itself when IPv6, else [::1] at its port. */
static int ipv6_candidate(const struct net_addr *a, struct net_addr *out)
{
	char err[128];
	if (a->ss.ss_family == AF_INET6) {
		*out = *a;
		return 0;
	}
	if (net_parse("[::1]:0", out, err, sizeof err) < 0)
		return -1;
	net_set_port(out, net_port((const struct sockaddr *)&a->ss));
	return 0;
}

/* Whether a UDP server answers at a: a probe datagram gets a reply (ICMP port unreachable: no). */
static int udp_answers(const struct net_addr *a, int ms)
{
	char reply[64];
	int fd = socket(a->ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0), yes = 0;
	if (fd >= 0 && connect(fd, (const struct sockaddr *)&a->ss, a->len) == 0 &&
	    send(fd, "conform probe", 13, 0) == 13) {
		struct pollfd p = {fd, POLLIN, 0};
		yes = poll(&p, 1, ms) == 1 && recv(fd, reply, sizeof reply, MSG_DONTWAIT) >= 0;
	}
	if (fd >= 0)
		close(fd);
	return yes;
}

/* Finds the target's IPv6 addresses: the ones the server printed, or the candidates that answer. */
static void find_ipv6(const struct case_context *c, struct addresses *a, char *why, size_t len)
{
	const struct case_target *t = c->target;
	char err[256];
	memset(a, 0, sizeof *a);
	snprintf(why, len, "the target has no IPv6 listener");
	if (!util_have_ipv6_loopback(SOCK_DGRAM)) {
		snprintf(why, len, "this host has no IPv6 loopback");
		return;
	}
	if (t->has_tcp) {
		a->has_tcp6 = t->has_tcp6 || ipv6_candidate(&t->tcp, &a->tcp6) == 0;
		if (t->has_tcp6)
			a->tcp6 = t->tcp6;
		else if (a->has_tcp6 && t->tcp.ss.ss_family != AF_INET6) {
			int fd = net_connect(&a->tcp6, SOCK_STREAM, c->timeout_ms, err, sizeof err);
			a->has_tcp6 = fd >= 0;
			if (fd >= 0)
				close(fd);
		}
	}
	if (t->has_udp) {
		a->has_udp6 = t->has_udp6 || ipv6_candidate(&t->udp, &a->udp6) == 0;
		if (t->has_udp6)
			a->udp6 = t->udp6;
		else if (a->has_udp6 && t->udp.ss.ss_family != AF_INET6)
			a->has_udp6 = udp_answers(&a->udp6, c->timeout_ms);
	}
}

int random_phase_ipv6(const struct case_context *c, char *why, size_t len)
{
	struct addresses a;
	find_ipv6(c, &a, why, len);
	return (!c->target->has_tcp || a.has_tcp6) && (!c->target->has_udp || a.has_udp6);
}

/* ---- the TCP connections of a run ---- */

/* One TCP connection of a sequence: a slot from its first operation until the client's FIN or RST
 * and the server's answer to that. */
struct instance {
	unsigned script, slot;
	size_t opened_at;     /* the operation that connects it */
	unsigned char *bytes; /* everything it sends, length bytes */
	size_t length, filled;
	int half_closes, resets; /* its client half-closes, resets */
	struct xchg_client k;    /* the connection, open, stopped reading, done (reset, or answered in
	                          * full and closed) */
};

/* A sequence being run. */
struct live {
	struct case_context *c;
	const struct sequence *s;
	struct addresses v6;
	struct instance *instances;
	size_t count;
	size_t of[SEQUENCE_MAX_OPERATIONS]; /* the instance of each TCP operation */
	const char *rule;                   /* the SPEC rule a failure breaks */
};

/* The instance a TCP operation is about: the slot's current one, or a fresh one (random_sequence.h). */
static struct instance *instance_for(struct live *l, size_t *current, size_t i)
{
	const struct sequence_operation *o = &l->s->operations[i];
	struct instance *in = *current == SIZE_MAX ? NULL : &l->instances[*current];
	int after_fin =
	    in != NULL && in->half_closes && (o->kind == SEQUENCE_SEND || o->kind == SEQUENCE_FIN);
	if (in == NULL || in->resets || after_fin) {
		*current = l->count++;
		in = &l->instances[*current];
		in->script = o->script;
		in->slot = o->slot;
		in->opened_at = i;
		in->k.x.fd = -1;
	}
	l->of[i] = *current;
	return in;
}

/* Maps every TCP operation to its instance and gives each instance its bytes. Returns 0 or -1 (out of
 * memory). */
static int plan_instances(struct live *l)
{
	size_t current[SEQUENCE_MAX_SCRIPTS][SCRIPT_MAX_CONNS];
	const struct sequence *s = l->s;
	memset(current, 0xff, sizeof current);
	for (size_t i = 0; i < s->count; i++) {
		const struct sequence_operation *o = &s->operations[i];
		if (o->kind == SEQUENCE_SYNC || o->kind == SEQUENCE_BURST)
			continue;
		struct instance *in = instance_for(l, &current[o->script][o->slot], i);
		in->length += o->kind == SEQUENCE_SEND ? o->length : 0;
		in->half_closes |= o->kind == SEQUENCE_FIN;
		in->resets |= o->kind == SEQUENCE_RST;
	}
	for (size_t k = 0; k < l->count; k++)
		if (l->instances[k].length > 0 &&
		    (l->instances[k].bytes = malloc(l->instances[k].length)) == NULL)
			return -1;
	for (size_t i = 0; i < s->count; i++) {
		const struct sequence_operation *o = &s->operations[i];
		if (o->kind != SEQUENCE_SEND)
			continue;
		struct instance *in = &l->instances[l->of[i]];
		sequence_bytes(in->bytes + in->filled, o->length, o->seed);
		in->filled += o->length;
	}
	return 0;
}

/* Writes the expected and received bytes around a wrong byte into the result's excerpts. */
static void note_window(struct case_context *c, const struct xchg_oracle *o)
{
	unsigned char want[sizeof o->window];
	size_t n = xchg_oracle_expected(o, o->window_off, want, o->window_len);
	char expected[CASE_EXCERPT_MAX - 40], actual[CASE_EXCERPT_MAX - 40];
	rep_escape(expected, sizeof expected, want, n);
	rep_escape(actual, sizeof actual, o->window, o->window_len);
	snprintf(c->result->expected, sizeof c->result->expected, "@%zu \"%s\"", o->window_off, expected);
	snprintf(c->result->actual, sizeof c->result->actual, "@%zu \"%s\"", o->window_off, actual);
}

/* "connection 7 (tcp 3.1, IPv6, connected at op 12)" */
static void name_instance(const struct live *l, const struct instance *in, char *buf, size_t len)
{
	snprintf(buf, len, "connection %u (tcp %u.%u%s, connected at op %zu)", in->k.x.id, in->script,
	         in->slot, l->s->ipv6[in->script] && l->v6.has_tcp6 ? ", IPv6" : "", in->opened_at + 1);
}

/* The instance's oracle found a failure: the case fails with it. Returns -1. */
static int instance_failed(struct live *l, const struct instance *in)
{
	const struct xchg_oracle *o = &in->k.x.oracle;
	char name[128], what[256];
	name_instance(l, in, name, sizeof name);
	xchg_oracle_describe(o, what, sizeof what);
	l->rule = o->rule != NULL ? o->rule : "T1";
	l->c->result->offset = (long long)o->offset;
	if (o->verdict == XCHG_WRONG_BYTE || o->verdict == XCHG_EXTRA_BYTES)
		note_window(l->c, o);
	return case_fail(l->c, "%s: %s", name, what);
}

static int instance_check(struct live *l, const struct instance *in)
{
	return xchg_failed(in->k.x.oracle.verdict) ? instance_failed(l, in) : 0;
}

static int instance_connect(struct live *l, struct instance *in)
{
	struct client_connection k;
	const struct net_addr *a =
	    l->s->ipv6[in->script] && l->v6.has_tcp6 ? &l->v6.tcp6 : &l->c->target->tcp;
	struct xchg_expect e = {.mode = XCHG_MODE_X1, .sent = in->bytes, .sent_len = in->length};
	if (client_tcp_connect(l->c, a, &k) < 0)
		return -1; /* a server that died is named by conform, which notices it */
	xchg_conn_init(&in->k.x, k.fd, k.id, &e);
	in->k.x.send_limit = 0;
	in->k.open = 1;
	return 0;
}

/* Sends what a stopped reader was given, as far as the socket takes it without waiting; reads nothing.
 * Its half-close waits until it reads again (the exchange engine does it). Returns 0 or -1 (case
 * failed). */
static int push_unread(struct live *l, struct instance *in)
{
	xchg_conn_push(&in->k.x);
	return instance_check(l, in);
}

/* The connections of l as a set (lib/exchange.h). */
static struct xchg_set live_set(const struct live *l)
{
	struct xchg_set s = {l->count ? &l->instances[0].k : NULL, l->count, sizeof *l->instances};
	return s;
}

/* Another connection that may hold the server up while in waits, for a timeout's message; NULL when
 * none. */
static const struct instance *holding_up(const struct live *l, const struct instance *in)
{
	struct xchg_set s = live_set(l);
	size_t k = xchg_set_holding_up(&s, (size_t)(in - l->instances));
	return k < l->count ? &l->instances[k] : NULL;
}

/* A run that ended on a bound: names the connection that waited, and one beside it that may have held
 * the server up (then the failure is T7's). Returns -1 (case timed out). */
static int run_timed_out(struct live *l, const struct instance *in, const struct xchg_run_result *r,
                         const struct xchg_limits *limits)
{
	const struct xchg_oracle *o = &in->k.x.oracle;
	const struct instance *other = holding_up(l, in);
	char name[128], beside[256] = "";
	name_instance(l, in, name, sizeof name);
	l->c->result->offset = (long long)o->got;
	l->rule = other != NULL ? "T7" : o->shut ? "T4" : "T1";
	if (other != NULL) {
		char other_name[128];
		name_instance(l, other, other_name, sizeof other_name);
		xchg_client_holding(&other->k, other_name, beside, sizeof beside - 6);
		strcat(beside, " (T7)");
	}
	char timing[128];
	if (r->status == XCHG_RUN_BUDGET)
		snprintf(timing, sizeof timing, "time budget exhausted (the run lasted %d ms, bound %d ms)",
		         r->elapsed_ms, limits->budget_ms);
	else
		snprintf(timing, sizeof timing,
		         "no progress for %d ms (bound; the run lasted %d ms of its %d)", limits->idle_ms,
		         r->elapsed_ms, limits->budget_ms);
	return case_timeout(l->c, "%s: %s: %zu of %zu bytes answered (%zu sent%s)%s%s", timing, name, o->got,
	                    in->k.x.send_limit, o->sent, o->shut ? ", half-closed" : "",
	                    o->shut && o->got == in->k.x.send_limit ? ", no FIN" : "", beside);
}

/* Runs the instances list[0..n) together, each to its `until`. Returns 0 or -1 (case failed). */
static int run_instances(struct live *l, const size_t *list, size_t n)
{
	struct xchg_set s = live_set(l);
	struct xchg_run_result r;
	char err[256];
	int budget = 10 * l->c->timeout_ms;
	struct xchg_limits limits = {.idle_ms = l->c->timeout_ms, .budget_ms = budget};
	switch (xchg_set_run(&s, list, n, &limits, &r, err, sizeof err)) {
	case XCHG_RUN_DONE:
		return 0;
	case XCHG_RUN_FAILED:
		return instance_failed(l, &l->instances[r.conn]);
	case XCHG_RUN_IDLE:
	case XCHG_RUN_BUDGET:
		return run_timed_out(l, &l->instances[r.conn], &r, &limits);
	default:
		return case_fail(l->c, "%s", err);
	}
}

/* After an operation on a connection: a reader sends what it was given (and half-closes when asked),
 * reading all the while; a stopped one sends what the socket takes. Returns 0 or -1. */
static int instance_pump(struct live *l, size_t index)
{
	struct instance *in = &l->instances[index];
	if (in->k.x.fd < 0 || in->k.done)
		return 0;
	if (in->k.stopped)
		return push_unread(l, in);
	in->k.x.until = XCHG_UNTIL_SENT;
	return run_instances(l, &index, 1);
}

/* The client resets: what has come is judged, nothing after. Returns 0 or -1. */
static int instance_reset(struct live *l, struct instance *in)
{
	if (!in->k.stopped)
		xchg_conn_drain(&in->k.x);
	xchg_conn_reset(&in->k.x, 0);
	in->k.done = 1;
	return instance_check(l, in);
}

/* Every reading client waits for the answers to all it has sent; stopped ones wait no more (T7: the
 * readers must not be held up by them). finish: the end of the sequence instead: every client reads,
 * half-closes and waits for every byte and FIN. Returns 0 or -1. */
static int wait_for_answers(struct live *l, int finish)
{
	struct xchg_set s = live_set(l);
	size_t *list = malloc((l->count + 1) * sizeof *list);
	if (list == NULL)
		return case_fail(l->c, "out of memory");
	int rc = run_instances(l, list, xchg_set_waiting(&s, finish, list));
	free(list);
	if (rc == 0)
		xchg_set_close_finished(&s);
	return rc;
}

static int run_tcp_operation(struct live *l, size_t i)
{
	const struct sequence_operation *o = &l->s->operations[i];
	struct instance *in = &l->instances[l->of[i]];
	if (!in->k.open && instance_connect(l, in) < 0)
		return -1;
	switch (o->kind) {
	case SEQUENCE_SEND:
		in->k.x.send_limit += o->length;
		break;
	case SEQUENCE_FIN:
		xchg_conn_half_close(&in->k.x);
		break;
	case SEQUENCE_RST:
		return instance_reset(l, in);
	case SEQUENCE_STOP:
		in->k.stopped = 1;
		return 0;
	case SEQUENCE_RESUME:
		in->k.stopped = 0;
		break;
	default:
		return 0;
	}
	return instance_pump(l, l->of[i]);
}

/* ---- UDP bursts ---- */

/* The datagrams of a burst and where they went. */
struct burst {
	const struct sequence_operation *o;
	int fd[SEQUENCE_MAX_SENDERS];
	unsigned id[SEQUENCE_MAX_SENDERS];
	const unsigned char *data[SEQUENCE_MAX_SENDERS][SEQUENCE_MAX_PER_SENDER];
	size_t length[SEQUENCE_MAX_SENDERS][SEQUENCE_MAX_PER_SENDER];
	int answered[SEQUENCE_MAX_SENDERS][SEQUENCE_MAX_PER_SENDER];
	unsigned char *bytes;
};

/* One reply to sender s: it must answer one of that sender's own datagrams not yet answered (U1, U2,
 * X1). Returns 0 or -1 (case failed). */
static int burst_reply(struct live *l, struct burst *b, unsigned s, const unsigned char *got, size_t n)
{
	char why[256];
	unsigned first = SEQUENCE_MAX_PER_SENDER;
	for (unsigned d = 0; d < b->o->per_sender; d++) {
		if (b->answered[s][d])
			continue;
		if (first == SEQUENCE_MAX_PER_SENDER)
			first = d;
		if (b->length[s][d] == n && oracle_mismatch(b->data[s][d], n, got, n) == n) {
			b->answered[s][d] = 1;
			return 0;
		}
	}
	if (first == SEQUENCE_MAX_PER_SENDER) {
		l->rule = "U1";
		return case_fail(
		    l->c, "udp sender %u of the burst: a reply of %zu bytes more than its %u datagrams", s, n,
		    b->o->per_sender);
	}
	int broken = oracle_udp_check(b->data[s][first], b->length[s][first], got, n, why, sizeof why);
	l->rule = broken == ORACLE_UDP_TRUNCATED ? "U4" : broken == ORACLE_UDP_AMPLIFIED ? "U6" : "X1";
	case_note_difference(l->c, b->data[s][first], b->length[s][first], got, n, 0);
	return case_fail(l->c,
	                 "udp sender %u of the burst: a reply of %zu bytes answers none of its datagrams; "
	                 "against its datagram %u (%zu bytes): %s",
	                 s, n, first, b->length[s][first], why);
}

/* Reads what sender s has received, without waiting; *answered counts the replies. Returns 0 or -1
 * (case failed). */
static int burst_drain(struct live *l, struct burst *b, unsigned s, size_t *answered)
{
	static unsigned char got[SCRIPT_UDP_MAX6 + 1];
	for (;;) {
		size_t n;
		enum client_receive r = client_udp_receive(l->c, b->fd[s], b->id[s], got, sizeof got, 0, &n);
		if (r == CLIENT_NOTHING)
			return 0;
		if (r == CLIENT_RECEIVE_FAILED) {
			l->rule = "U1";
			return -1;
		}
		if (burst_reply(l, b, s, got, n) < 0)
			return -1;
		++*answered;
	}
}

/* Reads every sender's replies until each datagram is answered, or until nothing came for the timeout.
 * Over loopback the kernel delivers or drops a datagram within its send, so dropped_at_send (how much its
 * drop counter of the server's socket grew during the burst's sends) tells how many replies can never
 * come: once the others are in, it waits no longer. Datagrams the kernel dropped there (the server's
 * receive buffer full) are the host's loss, counted in the result (a SHOULD finding); the others are the
 * server's (U1). Returns 0 or -1 (case failed). */
static int burst_collect(struct live *l, struct burst *b, const struct host_drops *drops,
                         long long dropped_at_send)
{
	size_t total = (size_t)b->o->senders * b->o->per_sender, answered = 0;
	size_t can_come = dropped_at_send > 0 && (size_t)dropped_at_send < total
	                      ? total - (size_t)dropped_at_send
	                  : dropped_at_send > 0 ? 0
	                                        : total;
	struct pollfd p[SEQUENCE_MAX_SENDERS];
	uint64_t start = util_now_ns();
	int waited_ms = 0;
	while (answered < total) {
		int wait = answered >= can_come ? 10 : case_wait_ms(l->c, l->c->timeout_ms);
		for (unsigned s = 0; s < b->o->senders; s++)
			p[s] = (struct pollfd){b->fd[s], POLLIN, 0};
		uint64_t before = util_now_ns();
		int ready = poll(p, b->o->senders, wait);
		if (ready <= 0) {
			waited_ms = (int)((util_now_ns() - before) / 1000000u);
			break;
		}
		for (unsigned s = 0; s < b->o->senders; s++)
			if (p[s].revents != 0 && burst_drain(l, b, s, &answered) < 0)
				return -1;
	}
	if (answered >= total)
		return 0;
	unsigned first = 0, first_answered = 0; /* the first sender with a datagram unanswered */
	for (unsigned s = 0; s < b->o->senders; s++) {
		unsigned k = 0;
		for (unsigned d = 0; d < b->o->per_sender; d++)
			k += (unsigned)b->answered[s][d];
		if (k < b->o->per_sender) {
			first = s;
			first_answered = k;
			break;
		}
	}
	char counter[256], what[96];
	snprintf(what, sizeof what, "a burst of %u senders x %u datagrams", b->o->senders, b->o->per_sender);
	if (host_excuse_loss(l->c, drops, total - answered, what, counter, sizeof counter))
		return 0;
	l->rule = "U1";
	return case_timeout(
	    l->c,
	    "udp sender %u of the burst: %u of its %u datagrams answered, then nothing for %d ms "
	    "(bound %d ms; %zu of the burst's %zu datagrams unanswered after %.2f s)%s (U1, U5)",
	    first, first_answered, b->o->per_sender, waited_ms, l->c->timeout_ms, total - answered, total,
	    (double)(util_now_ns() - start) / 1e9, counter);
}

/* A burst: every sender sends all its datagrams at once, then each reply is checked. Returns 0 or -1. */
static int run_burst(struct live *l, const struct sequence_operation *o)
{
	struct case_context *c = l->c;
	const struct net_addr *a = o->ipv6 && l->v6.has_udp6 ? &l->v6.udp6 : &c->target->udp;
	struct burst *b = calloc(1, sizeof *b);
	size_t total = 0;
	int rc = -1;
	if (b == NULL || (b->bytes = malloc((size_t)MAX_BURST * (o->length + 1))) == NULL) {
		free(b);
		return case_fail(c, "out of memory for a burst");
	}
	b->o = o;
	for (unsigned s = 0; s < o->senders; s++) {
		b->fd[s] = -1;
		for (unsigned d = 0; d < o->per_sender; d++) {
			unsigned char *p = b->bytes + total;
			b->length[s][d] = sequence_datagram_length(o, s, d);
			sequence_bytes(p, b->length[s][d], sequence_datagram_seed(o, s, d));
			b->data[s][d] = p;
			total += b->length[s][d];
		}
	}
	unsigned s = 0;
	struct host_drops drops;
	host_drops_read(c->target, &drops);
	for (; s < o->senders; s++) {
		if ((b->fd[s] = client_udp_socket(c, a)) < 0)
			break;
		b->id[s] = ++c->connections;
		if (client_udp_send_burst(c, b->fd[s], b->id[s], a, b->data[s], b->length[s], o->per_sender) <
		    0)
			break;
	}
	long long at_send = host_drops_since(c->target, &drops);
	rc = s == o->senders ? burst_collect(l, b, &drops, at_send > 0 ? at_send : 0) : -1;
	for (s = 0; s < o->senders; s++)
		if (b->fd[s] >= 0)
			close(b->fd[s]);
	free(b->bytes);
	free(b);
	return rc;
}

/* ---- a whole sequence ---- */

static int uses_ipv6(const struct sequence *s)
{
	for (size_t i = 0; i < s->count; i++) {
		const struct sequence_operation *o = &s->operations[i];
		if (o->kind == SEQUENCE_BURST ? o->ipv6 : s->ipv6[o->script])
			return 1;
	}
	return 0;
}

/* Whether a client of s resets. */
static int resets(const struct sequence *s)
{
	for (size_t i = 0; i < s->count; i++)
		if (s->operations[i].kind == SEQUENCE_RST)
			return 1;
	return 0;
}

static void live_free(struct live *l)
{
	for (size_t k = 0; k < l->count; k++) {
		if (l->instances[k].k.x.fd >= 0 && l->instances[k].k.open)
			close(l->instances[k].k.x.fd);
		free(l->instances[k].bytes);
	}
	free(l->instances);
}

/* Runs s, then checks that a fresh connection is served. Returns 0, or -1 with the case failed, *at
 * the operation it failed at (s->count: at the end) and *rule the rule it broke. */
static int run_sequence(struct case_context *c, const struct sequence *s, size_t *at, const char **rule)
{
	struct live l;
	char why[128];
	int rc = 0;
	memset(&l, 0, sizeof l);
	l.c = c;
	l.s = s;
	l.rule = "T1";
	case_result_clear(c->result);
	if (uses_ipv6(s))
		find_ipv6(c, &l.v6, why, sizeof why);
	l.instances = calloc(SEQUENCE_MAX_OPERATIONS, sizeof *l.instances);
	if (l.instances == NULL || plan_instances(&l) < 0) {
		live_free(&l);
		return case_fail(c, "out of memory for a sequence");
	}
	for (size_t i = 0; i < s->count && rc == 0; i++) {
		const struct sequence_operation *o = &s->operations[i];
		*at = i;
		rc = o->kind == SEQUENCE_BURST  ? run_burst(&l, o)
		     : o->kind == SEQUENCE_SYNC ? wait_for_answers(&l, 0)
		                                : run_tcp_operation(&l, i);
	}
	if (rc == 0) {
		*at = s->count;
		rc = wait_for_answers(&l, 1);
	}
	live_free(&l);
	if (rc == 0 && c->target->has_tcp &&
	    (rc = client_tcp_still_serves(c, &c->target->tcp, "the sequence")) < 0)
		l.rule = resets(s) ? "T6" : "T1";
	*rule = l.rule;
	return rc;
}

/* ---- shrinking ---- */

struct shrink {
	struct case_context *c;
	const struct random_phase_options *o;
	struct sequence best; /* the smallest failing sequence so far */
	size_t failing_at;
	const char *rule;
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
static int shrink_try(struct shrink *s, const struct sequence *trial)
{
	size_t at = 0;
	const char *rule = NULL;
	if (s->o->restart != NULL && s->o->restart(s->o->restart_arg) < 0)
		return -1;
	s->runs++;
	if (run_sequence(s->c, trial, &at, &rule) == 0)
		return 0;
	s->best = *trial;
	s->failing_at = at;
	s->rule = rule;
	s->failure = *s->c->result;
	return 1;
}

/* Tries the best sequence without operations [from, from + n). */
static int shrink_drop(struct shrink *s, size_t from, size_t n)
{
	static struct sequence trial;
	trial = s->best;
	memmove(&trial.operations[from], &trial.operations[from + n],
	        (trial.count - from - n) * sizeof trial.operations[0]);
	trial.count -= n;
	return shrink_try(s, &trial);
}

/* Tries operation i made smaller: a send or the datagrams of a burst half as long, a burst with half
 * the senders or datagrams. Returns 1 when one of them still fails, 0 when none, -1 as shrink_try. */
static int shrink_operation(struct shrink *s, size_t i)
{
	static struct sequence trial;
	int changed = 0;
	for (int way = 0; way < 3 && shrink_may_run(s); way++) {
		struct sequence_operation *o = &trial.operations[i];
		trial = s->best;
		if (way == 0 && o->length > (o->kind == SEQUENCE_SEND ? 1u : 0u))
			o->length /= 2;
		else if (way == 1 && o->senders > 1)
			o->senders /= 2;
		else if (way == 2 && o->per_sender > 1)
			o->per_sender /= 2;
		else
			continue;
		if (o->kind == SEQUENCE_SEND && o->length == 0)
			o->length = 1;
		int r = shrink_try(s, &trial);
		if (r < 0)
			return -1;
		changed |= r;
	}
	return changed;
}

/* Drops blocks of operations that are not needed for a failure (halves, then quarters, ... then
 * single ones), then makes operations smaller, until nothing changes or the bounds on runs and time
 * are reached. */
static void shrink_sequence(struct shrink *s)
{
	for (int changed = 1; changed && shrink_may_run(s);) {
		changed = 0;
		for (size_t block = s->best.count / 2 ? s->best.count / 2 : 1; block > 0 && shrink_may_run(s);
		     block /= 2)
			for (size_t from = 0; from + block <= s->best.count && shrink_may_run(s);) {
				int r = shrink_drop(s, from, block);
				if (r < 0)
					return;
				changed |= r;
				from += r ? 0 : block;
			}
		for (size_t i = 0; i < s->best.count && shrink_may_run(s); i++) {
			int r = shrink_operation(s, i);
			if (r < 0)
				return;
			changed |= r;
		}
	}
}

/* ---- the failure's report ---- */

/* Writes one seed file DIR/random_seed-S.SUFFIX. Returns 0 or -1 (reason in err). */
static int write_seed(const char *path, const unsigned char *p, size_t n, char *err, size_t errlen)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		snprintf(err, errlen, "%.300s: %s", path, strerror(errno));
		if (f != NULL)
			fclose(f);
		return -1;
	}
	return 0;
}

/* Creates dir and its parent when missing. */
static void make_directory(const char *dir)
{
	char parent[4096];
	snprintf(parent, sizeof parent, "%s", dir);
	char *slash = strrchr(parent, '/');
	if (slash != NULL && slash != parent) {
		*slash = '\0';
		mkdir(parent, 0777);
	}
	mkdir(dir, 0777);
}

/* The path of a seed file: DIR/random_seed-S.tcp-K for script k < SEQUENCE_MAX_SCRIPTS, else
 * DIR/random_seed-S.udp. */
static void seed_path(char *path, size_t len, const char *dir, uint64_t seed, unsigned k)
{
	if (k < SEQUENCE_MAX_SCRIPTS)
		snprintf(path, len, "%s/random_seed-%llu.tcp-%u", dir, (unsigned long long)seed, k);
	else
		snprintf(path, len, "%s/random_seed-%llu.udp", dir, (unsigned long long)seed);
}

/* Writes the shrunk sequence's fuzz inputs (and removes those of an earlier failure of the same seed
 * that this one has not), and names them with the commands that use them in text[0..len). */
static void write_seeds(const struct sequence *s, uint64_t seed, const char *dir, char *text, size_t len)
{
	char path[4096], err[512] = "";
	size_t used = 0;
	make_directory(dir);
	for (unsigned k = 0; k <= SEQUENCE_MAX_SCRIPTS; k++) {
		unsigned char *p = NULL;
		size_t n = 0;
		int rc = k >= SEQUENCE_MAX_SCRIPTS ? sequence_encode_datagrams(s, &p, &n)
		         : k < s->scripts          ? sequence_encode_script(s, k, &p, &n)
		                                   : 1;
		seed_path(path, sizeof path, dir, seed, k);
		if (rc > 0)
			unlink(path);
		else if (rc < 0)
			snprintf(err, sizeof err, "out of memory");
		else if (write_seed(path, p, n, err, sizeof err) == 0 && used + 1 < len)
			used += (size_t)snprintf(text + used, len - used, "%s%s", used ? " " : "", path);
		free(p);
	}
	if (err[0] != '\0' && used + 1 < len)
		used += (size_t)snprintf(text + used, len - used, "%sseed files not written: %s",
		                         used ? "; " : "", err);
	if (used + 1 < len)
		snprintf(text + used, len - used,
		         "; each as a pcap: replay --from-fuzz-input FILE --fuzz-format tcp|udp --write-pcap "
		         "FILE.pcap; through the simulator: fuzz_tcp-standalone FILE (fuzz_udp for .udp)");
}

static void render(const struct sequence *s, size_t at, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < s->count && used + 1 < len; i++) {
		char d[128];
		sequence_describe(s, &s->operations[i], d, sizeof d);
		used += (size_t)snprintf(buf + used, len - used, "%s%zu. %s%s", i ? "; " : "", i + 1, d,
		                         i == at ? " <- fails here" : "");
	}
	if (at == s->count && used + 1 < len)
		snprintf(buf + used, len - used,
		         "%sat the end (every client reads, half-closes, waits for FIN)",
		         s->count ? "; then " : "");
}

/* What a sequence did, for a passing one's note. */
static void summarize(const struct sequence *s, char *buf, size_t len)
{
	size_t bytes = 0, datagrams = 0, counts[SEQUENCE_BURST + 1] = {0};
	for (size_t i = 0; i < s->count; i++) {
		const struct sequence_operation *o = &s->operations[i];
		counts[o->kind]++;
		bytes += o->kind == SEQUENCE_SEND ? o->length : 0;
		datagrams += o->kind == SEQUENCE_BURST ? (size_t)o->senders * o->per_sender : 0;
	}
	unsigned slots = 0;
	for (unsigned k = 0; k < s->scripts; k++)
		slots += s->slots[k];
	snprintf(
	    buf, len,
	    "%zu ops over %u scripts (%u slots): %zu sends (%zu bytes), %zu half-closes, %zu resets, %zu "
	    "stops, %zu syncs; %zu bursts (%zu datagrams)",
	    s->count, s->scripts, slots, counts[SEQUENCE_SEND], bytes, counts[SEQUENCE_FIN],
	    counts[SEQUENCE_RST], counts[SEQUENCE_STOP], counts[SEQUENCE_SYNC], counts[SEQUENCE_BURST],
	    datagrams);
}

/* ---- the host's conditions: to tell the host's trouble from the server's ---- */

/* What the host and the server were doing when a sequence started. */
struct conditions {
	uint64_t start_ns;
	long long drops; /* the kernel's drop counter of the server's UDP sockets, -1 unknown */
	struct resources_cpu cpu;
	int has_cpu;
};

static struct resources_scope server_scope(const struct case_context *c)
{
	struct resources_scope scope = {c->tcp_server_group > 0 ? c->tcp_server_group : c->udp_server_group,
	                                c->watched_pid};
	return scope;
}

static void conditions_read(const struct case_context *c, struct conditions *k)
{
	struct resources_scope scope = server_scope(c);
	char err[128];
	memset(k, 0, sizeof *k);
	k->start_ns = util_now_ns();
	k->drops = c->target->has_udp ? host_udp_drops(c->target) : -1;
	k->has_cpu =
	    (scope.group > 0 || scope.root > 0) && resources_cpu(&scope, &k->cpu, err, sizeof err) == 0;
}

/* After a failing sequence that started at k: how long it ran, the kernel's drops at the server's UDP
 * socket meanwhile, the server's CPU state and use meanwhile, the host's load. */
static void conditions_describe(const struct case_context *c, const struct conditions *k, char *buf,
                                size_t len)
{
	struct resources_scope scope = server_scope(c);
	char load[96], cpu[320] = "server CPU state unknown (neither --exec nor --pid)", drops[128] = "";
	struct resources_cpu now;
	double seconds = (double)(util_now_ns() - k->start_ns) / 1e9;
	if (k->drops >= 0) {
		long long after = host_udp_drops(c->target);
		snprintf(drops, sizeof drops,
		         "; the kernel dropped %lld datagrams at the server's UDP socket meanwhile",
		         after >= k->drops ? after - k->drops : 0);
	}
	if (scope.group > 0 || scope.root > 0) {
		resources_describe_cpu(&scope, cpu, sizeof cpu);
		if (k->has_cpu && resources_cpu(&scope, &now, load, sizeof load) == 0) {
			size_t used = strlen(cpu);
			snprintf(cpu + used, sizeof cpu - used, ", %.2f s of CPU during the %.2f s",
			         now.user_s + now.system_s - k->cpu.user_s - k->cpu.system_s, seconds);
		}
	}
	snprintf(buf, len, "host: the failing run took %.2f s (timeout %d ms)%s; %s; %s", seconds,
	         c->timeout_ms, drops, cpu, host_load(load, sizeof load));
}

int random_phase_run(struct case_context *c, uint64_t seed, const struct random_phase_options *o,
                     const char **rule)
{
	static struct shrink s;
	struct sequence generated;
	char seeds[700], sequence[CASE_MESSAGE_MAX * 2];
	size_t at = 0;
	const char *broken = NULL;

	sequence_generate(seed, c->target->has_tcp, c->target->has_udp, &generated);
	struct conditions before;
	conditions_read(c, &before);
	if (run_sequence(c, &generated, &at, &broken) == 0) {
		char what[CASE_MESSAGE_MAX], *note = c->result->note;
		summarize(&generated, what, sizeof what);
		size_t used = strlen(note);
		snprintf(note + used, sizeof c->result->note - used, "%s%s", used ? "; " : "", what);
		return 0;
	}
	char host[CASE_MESSAGE_MAX];
	conditions_describe(c, &before, host, sizeof host);
	memset(&s, 0, sizeof s);
	s.c = c;
	s.o = o;
	s.best = generated;
	s.failing_at = at;
	s.rule = broken;
	s.failure = *c->result;
	s.end_ns = util_now_ns() + (uint64_t)SHRINK_TIMEOUTS * (uint64_t)c->timeout_ms * 1000000u;
	shrink_sequence(&s);
	if (o->restart != NULL)
		o->restart(o->restart_arg);
	*c->result = s.failure;
	if (rule != NULL)
		*rule = s.rule;
	write_seeds(&s.best, seed, o->seeds_dir, seeds, sizeof seeds);
	render(&s.best, s.failing_at, sequence, sizeof sequence);
	char where[64];
	if (s.failing_at < s.best.count)
		snprintf(where, sizeof where, "op %zu of %zu", s.failing_at + 1, s.best.count);
	else
		snprintf(where, sizeof where, "the end of %zu ops", s.best.count);
	snprintf(c->result->message, sizeof c->result->message, "seed %llu, %s: %.400s",
	         (unsigned long long)seed, where, s.failure.message);
	char *note = c->result->note;
	size_t used = (size_t)snprintf(
	    note, sizeof c->result->note,
	    "%.360s; shrunk from %zu to %zu ops in %d runs (reproduce: --random 1 --seed %llu)", host,
	    generated.count, s.best.count, s.runs, (unsigned long long)seed);
	if (used + 1 < sizeof c->result->note)
		snprintf(note + used, sizeof c->result->note - used, "; fuzz inputs: %s; sequence: %s", seeds,
		         sequence);
	c->result->status = CASE_FAIL;
	return -1;
}
