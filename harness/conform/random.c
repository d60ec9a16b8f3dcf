/* random.c - conform's random phase: a sequence of sends, half-closes, resets and closes over several
 * TCP connections, and datagrams from several UDP senders, generated from a seed, every answer checked by
 * the core's oracle; a failing sequence is shrunk (ops removed, sends made shorter) to a minimal one. */
#include "cf.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "oracle.h"
#include "upper.h"

enum { OP_SEND = 1, OP_SHUT, OP_RESET, OP_CLOSE, OP_DGRAM };
enum { NCONN = 3, NSEND = 2, MAXOPS = 24, MAXLEN = 3000 };

struct op {
	int kind;
	int who;
	size_t len;
	uint64_t seed;
};

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void bytes(unsigned char *p, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(splitmix(&seed) >> 56);
}

static size_t generate(uint64_t seed, int tcp, int udp, struct op *ops)
{
	uint64_t s = seed;
	size_t n = 8 + splitmix(&s) % (MAXOPS - 8 + 1);
	for (size_t i = 0; i < n; i++) {
		struct op *o = &ops[i];
		unsigned r = (unsigned)(splitmix(&s) % 100);
		o->seed = splitmix(&s);
		if (!tcp || (udp && r < 30)) {
			o->kind = OP_DGRAM;
			o->who = (int)(splitmix(&s) % NSEND);
			o->len = (size_t)(splitmix(&s) % 2001);
			continue;
		}
		o->who = (int)(splitmix(&s) % NCONN);
		r = (unsigned)(splitmix(&s) % 100);
		o->kind = r < 60 ? OP_SEND : r < 75 ? OP_SHUT : r < 90 ? OP_RESET : OP_CLOSE;
		/* mostly short sends, some long enough to span segments */
		o->len = (size_t)(splitmix(&s) % 4 == 0 ? 1 + splitmix(&s) % MAXLEN : 1 + splitmix(&s) % 40);
	}
	return n;
}

static void describe(const struct op *o, char *buf, size_t len)
{
	static const char *names[] = {"", "send", "half-close", "reset", "close", "datagram"};
	if (o->kind == OP_DGRAM)
		snprintf(buf, len, "udp sender %d: datagram of %zu bytes", o->who, o->len);
	else if (o->kind == OP_SEND)
		snprintf(buf, len, "tcp connection %d: send %zu bytes", o->who, o->len);
	else
		snprintf(buf, len, "tcp connection %d: %s", o->who, names[o->kind]);
}

/* Runs ops; returns 0 or -1 with c->r failed and *at = the failing op's index (n for the final check). */
static int execute(struct cf_ctx *c, const struct op *ops, size_t n, size_t *at)
{
	struct cf_conn k[NCONN];
	int open[NCONN] = {0}, shut[NCONN] = {0};
	int ufd[NSEND] = {-1, -1};
	unsigned uid[NSEND] = {0, 0};
	static unsigned char out[MAXLEN + 1], got[65536 + 1];
	char why[256];
	int rc = 0;

	memset(c->r, 0, sizeof *c->r);
	c->r->offset = -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct op *o = &ops[i];
		*at = i;
		int w = o->who;
		switch (o->kind) {
		case OP_SEND:
			if (shut[w])
				break;
			if (!open[w]) {
				if (cf_tcp_connect(c, &c->t->tcp, &k[w]) < 0) {
					rc = -1;
					break;
				}
				open[w] = 1;
			}
			bytes(out, o->len, o->seed);
			rc = cf_xchg(c, &k[w], out, o->len, 0);
			break;
		case OP_SHUT:
			if (!open[w] || shut[w])
				break;
			shut[w] = 1;
			rc = cf_xchg(c, &k[w], out, 0, 1);
			cf_tcp_close(c, &k[w]);
			open[w] = 0;
			break;
		case OP_RESET:
		case OP_CLOSE:
			if (!open[w])
				break;
			if (o->kind == OP_RESET)
				cf_tcp_reset(c, &k[w]);
			else
				cf_tcp_close(c, &k[w]);
			open[w] = 0;
			shut[w] = 0; /* a later send opens a new connection in this slot */
			break;
		case OP_DGRAM:
			if (ufd[w] < 0) {
				ufd[w] = cf_udp_socket(c, &c->t->udp);
				if (ufd[w] < 0) {
					rc = -1;
					break;
				}
				uid[w] = ++c->nconn;
			}
			bytes(out, o->len, o->seed);
			if (cf_udp_send(c, ufd[w], uid[w], &c->t->udp, out, o->len) < 0) {
				rc = -1;
				break;
			}
			long g = cf_udp_recv(c, ufd[w], uid[w], got, sizeof got, c->timeout_ms);
			if (g == -2) {
				rc = cf_timeout(c, "no reply to a %zu-byte datagram", o->len);
				break;
			}
			if (g < 0) {
				rc = -1;
				break;
			}
			if (oracle_udp_check(out, o->len, got, (size_t)g, why, sizeof why) != ORACLE_UDP_OK) {
				cf_diff(c, out, o->len, got, (size_t)g, 0);
				rc = cf_fail(c, "%s", why);
			}
			break;
		default:
			break;
		}
	}
	for (int w = 0; w < NCONN; w++)
		if (open[w])
			cf_tcp_close(c, &k[w]);
	for (int w = 0; w < NSEND; w++)
		if (ufd[w] >= 0)
			close(ufd[w]);
	if (rc == 0 && c->t->has_tcp) {
		*at = n;
		rc = cf_tcp_alive(c, &c->t->tcp, "the sequence");
	}
	return rc;
}

static void render(const struct op *ops, size_t n, size_t at, char *buf, size_t len)
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
		snprintf(buf + l, len - l, "%sthe final check fails (a fresh connection: send, half-close, read to FIN)",
			 n ? "; then " : "no op needed: ");
}

int cf_random_run(struct cf_ctx *c, uint64_t seed, int (*restart)(void *), void *arg)
{
	struct op ops[MAXOPS], best[MAXOPS], trial[MAXOPS];
	size_t n = generate(seed, c->t->has_tcp, c->t->has_udp, ops), at = 0;
	char msg[CF_MSG], seq[CF_MSG];

	if (execute(c, ops, n, &at) == 0)
		return 0;
	snprintf(msg, sizeof msg, "%s", c->r->msg);
	struct cf_result first = *c->r;

	/* shrink: drop ops that are not needed for a failure, then make sends shorter; bounded in runs/time */
	memcpy(best, ops, n * sizeof *ops);
	size_t bn = n, bat = at;
	uint64_t end = cf_now_ns() + 30000000000ull;
	int runs = 0;
	for (int changed = 1; changed && runs < 80 && cf_ms_left(end) > 0;) {
		changed = 0;
		for (size_t drop = bn; drop-- > 0 && runs < 80 && cf_ms_left(end) > 0;) {
			size_t tn = 0;
			for (size_t i = 0; i < bn; i++)
				if (i != drop)
					trial[tn++] = best[i];
			if (restart != NULL && restart(arg) < 0)
				goto done;
			runs++;
			if (execute(c, trial, tn, &at) < 0) {
				memcpy(best, trial, tn * sizeof *trial);
				bn = tn;
				bat = at;
				snprintf(msg, sizeof msg, "%s", c->r->msg);
				first = *c->r;
				changed = 1;
			}
		}
		for (size_t i = 0; i < bn && runs < 80 && cf_ms_left(end) > 0; i++) {
			if (best[i].len <= 1)
				continue;
			memcpy(trial, best, bn * sizeof *best);
			trial[i].len = best[i].len / 2;
			if (restart != NULL && restart(arg) < 0)
				goto done;
			runs++;
			if (execute(c, trial, bn, &at) < 0) {
				best[i].len = trial[i].len;
				bat = at;
				snprintf(msg, sizeof msg, "%s", c->r->msg);
				first = *c->r;
				changed = 1;
			}
		}
	}
done:
	if (restart != NULL)
		restart(arg);
	*c->r = first;
	render(best, bn, bat, seq, sizeof seq);
	snprintf(c->r->msg, sizeof c->r->msg, "seed %llu: %.460s", (unsigned long long)seed, msg);
	snprintf(c->r->note, sizeof c->r->note, "shrunk from %zu to %zu ops in %d runs (reproduce: --random 1 --seed "
						 "%llu): %s", n, bn, runs, (unsigned long long)seed, seq);
	c->r->status = CF_FAIL;
	return -1;
}
