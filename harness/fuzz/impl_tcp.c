/* impl_tcp.c - a fuzz_tcp script (lib/script.h) played by real clients over loopback against a running
 * implementation, every connection judged by exchange.h's stream oracle: each byte against X1 of what
 * that connection sent (T1), the server's FIN only after every owed byte and only after the client's
 * (T4), nothing judged after the client's reset but a right prefix (T6), progress within the bound
 * while other clients stop reading (T7, T8). The ops that only a simulated kernel can do map onto what
 * a client can do (README.md, "Fuzzing your own implementation"). */
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
#include <unistd.h>

#include "exchange.h"
#include "impl.h"
#include "script.h"
#include "util.h"

enum {
	MAX_INSTANCES = 16,          /* connections of one input; events past them are ignored (each costs the
	                              * kernel about 100 us of CPU on both sides: they were most of an input's cost) */
	MAX_TRANSIENT = 4,           /* ACCEPT's connections of one input; more are ignored */
	MAX_BYTES = 8 * 1024 * 1024, /* bytes one input sends in all; sends past them are ignored */
	BUDGET_BYTES_PER_MS = 10000, /* a run's budget: 10 * idle + its bytes at 10 MB/s */
	STOP_RCVBUF = 4096,          /* the receive buffer of a client that will stop reading */
	FLOOD_ARG = 224,             /* a STOP whose argument is at least this floods: */
	FLOOD_BYTES = 6 << 20        /* it sends this much more, enough to fill the server's buffers */
};

/* A SEND's repeat count, by the header's bits 5-7 (reserved in script.h: fuzz_tcp ignores them, and
 * the seeds have them clear, so they run at 1): its chunk goes out that many times, which makes sends of
 * megabytes, and servers that must push back, cheap to express. */
static const unsigned scale_of[8] = {1, 2, 4, 16, 64, 256, 1024, 4096};

/* One client connection: a slot from its first event until its RST, or its FIN and the server's. */
struct instance {
	unsigned slot;
	size_t event;         /* the event that opened it (1-based, for messages) */
	unsigned char *bytes; /* everything it sends */
	size_t length, filled;
	int half_closes, stops;
	int open, stopped, done, reset;
	int was_stopped; /* it stopped reading at some time (STOP) */
	struct xchg_conn x;
};

struct play {
	struct impl_target *t;
	struct instance in[MAX_INSTANCES];
	size_t count;
	int *of;       /* the instance of each event, -1: none */
	size_t *flood; /* the bytes a STOP sends on top (FLOOD_ARG), per event */
	unsigned scale;
	int held, transients;
	size_t total;
	unsigned id;
	struct impl_finding *f;
};

static void feature(struct play *p, size_t index)
{
	if (p->t->features != NULL && p->t->nfeatures > 0) {
		unsigned char *c = &p->t->features[index % p->t->nfeatures];
		*c = (unsigned char)(*c < 255 ? *c + 1 : 255);
	}
}

static int uses_instance(enum script_op op)
{
	switch (op) {
	case SCRIPT_SEND:
	case SCRIPT_FIN:
	case SCRIPT_RST:
	case SCRIPT_WERR:
	case SCRIPT_STOP:
	case SCRIPT_RESUME:
	case SCRIPT_SHORT:
	case SCRIPT_RLIMIT:
		return 1;
	default:
		return 0;
	}
}

/* First pass: every event to its instance, every instance its bytes. Returns 0 or -1 (memory). */
static int plan(struct play *p, const unsigned char *data, size_t n)
{
	struct script_dec d;
	struct script_event ev;
	int current[SCRIPT_MAX_CONNS] = {-1, -1, -1, -1};
	size_t i = 0;

	script_dec_init(&d, data, n);
	p->scale = scale_of[n > 0 ? data[0] >> 5 : 0];
	p->of = malloc((n + 1) * sizeof *p->of);
	p->flood = calloc(n + 1, sizeof *p->flood);
	if (p->of == NULL || p->flood == NULL)
		return -1;
	for (; script_dec_next(&d, &ev); i++) {
		struct instance *in = current[ev.slot] < 0 ? NULL : &p->in[current[ev.slot]];
		p->of[i] = -1;
		if (!uses_instance(ev.op))
			continue;
		if (in == NULL || in->reset ||
		    (in->half_closes && (ev.op == SCRIPT_SEND || ev.op == SCRIPT_FIN))) {
			if (p->count == MAX_INSTANCES)
				continue;
			current[ev.slot] = (int)p->count;
			in = &p->in[p->count++];
			in->slot = ev.slot;
			in->event = i + 1;
			in->x.fd = -1;
		}
		p->of[i] = current[ev.slot];
		if (ev.op == SCRIPT_SEND) {
			size_t add = ev.len * p->scale;
			if (p->total + add > MAX_BYTES) {
				p->of[i] = -1;
				continue;
			}
			p->total += add;
			in->length += add;
		}
		if (ev.op == SCRIPT_STOP && ev.arg >= FLOOD_ARG && !in->half_closes &&
		    p->total + FLOOD_BYTES <= MAX_BYTES) {
			p->flood[i] = FLOOD_BYTES;
			p->total += FLOOD_BYTES;
			in->length += FLOOD_BYTES;
		}
		in->half_closes |= ev.op == SCRIPT_FIN;
		in->stops |= ev.op == SCRIPT_STOP;
		in->reset |= ev.op == SCRIPT_RST || ev.op == SCRIPT_WERR;
	}
	for (size_t k = 0; k < p->count; k++) {
		p->in[k].reset = 0;
		if (p->in[k].length > 0 && (p->in[k].bytes = malloc(p->in[k].length)) == NULL)
			return -1;
	}
	/* the bytes, in a second decode */
	script_dec_init(&d, data, n);
	for (i = 0; script_dec_next(&d, &ev); i++) {
		if (p->of[i] < 0)
			continue;
		struct instance *in = &p->in[p->of[i]];
		for (size_t k = 0; k < p->flood[i]; k++) /* letters and not: X1 has work on both */
			in->bytes[in->filled++] = (unsigned char)("floodFLOOD 0123456789\n"[k % 21]);
		if (ev.op != SCRIPT_SEND)
			continue;
		for (unsigned r = 0; r < p->scale; r++) {
			memcpy(in->bytes + in->filled, ev.data, ev.len);
			in->filled += ev.len;
		}
	}
	return 0;
}

static const char *slug(enum xchg_verdict v)
{
	switch (v) {
	case XCHG_WRONG_BYTE:
		return "wrong-byte";
	case XCHG_EXTRA_BYTES:
		return "extra-bytes";
	case XCHG_EARLY_FIN:
		return "early-fin";
	case XCHG_FIN_BEFORE_SHUT:
		return "fin-before-half-close";
	case XCHG_RESET:
		return "reset";
	case XCHG_WRONG_CLOSE:
		return "wrong-close";
	case XCHG_INCOMPLETE:
		return "incomplete";
	case XCHG_NO_CLOSE:
		return "no-fin";
	default:
		return "unknown";
	}
}

static void name_instance(const struct instance *in, char *buf, size_t len)
{
	snprintf(buf, len, "connection %u (slot %u, opened at event %zu)", in->x.id, in->slot, in->event);
}

static int instance_failed(struct play *p, const struct instance *in)
{
	const struct xchg_oracle *o = &in->x.oracle;
	char name[96], what[512];
	name_instance(in, name, sizeof name);
	xchg_oracle_describe(o, what, sizeof what);
	return impl_found(p->f, o->rule != NULL ? o->rule : "T1", slug(o->verdict), "%s: %s", name, what);
}

static int instance_check(struct play *p, const struct instance *in)
{
	return xchg_failed(in->x.oracle.verdict) ? instance_failed(p, in) : 0;
}

/* A connected socket within the bound; rcvbuf > 0 sets its receive buffer first (so that the window
 * it announces is small: a client that stops reading pushes back soon). Returns it or -1 (err). */
static int connect_to(const struct impl_target *t, int rcvbuf, char *err, size_t errlen)
{
	const struct net_addr *a = &t->addr;
	int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), soerr = 0;
	socklen_t len = sizeof soerr;
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0) {
		struct pollfd pf = {fd, POLLOUT, 0};
		if (errno != EINPROGRESS) {
			soerr = errno;
		} else if (poll(&pf, 1, t->idle_ms) != 1) {
			soerr = ETIMEDOUT;
		} else
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
	}
	if (soerr != 0) {
		snprintf(err, errlen, "connect: %s%s", strerror(soerr),
		         soerr == ETIMEDOUT ? " (not accepted within the bound)" : "");
		close(fd);
		return -1;
	}
	return fd;
}

static int instance_connect(struct play *p, struct instance *in)
{
	struct xchg_expect e = {.mode = XCHG_MODE_X1, .sent = in->bytes, .sent_len = in->length};
	char err[256];
	int one = 1;
	int fd = connect_to(p->t, in->stops ? STOP_RCVBUF : 0, err, sizeof err);
	if (fd < 0)
		return impl_found(p->f, "T9", "connect",
		                  "connection %u (slot %u, event %zu) not accepted: %s", p->id + 1, in->slot,
		                  in->event, err);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	p->t->connections++;
	xchg_conn_init(&in->x, fd, ++p->id, &e);
	in->x.send_limit = 0;
	in->open = 1;
	return 0;
}

/* A stopped reader sends what the socket takes without waiting, and reads nothing. */
static int push_unread(struct play *p, struct instance *in)
{
	struct xchg_conn *x = &in->x;
	while (x->oracle.sent < x->send_limit && !x->oracle.rst) {
		size_t want = x->send_limit - x->oracle.sent;
		if (x->wchunk > 0 && want > x->wchunk)
			want = x->wchunk;
		ssize_t k = send(x->fd, in->bytes + x->oracle.sent, want, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k > 0) {
			xchg_oracle_sent(&x->oracle, (size_t)k);
			continue;
		}
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			feature(p, 300);
			break;
		}
		xchg_oracle_rst(&x->oracle);
	}
	return instance_check(p, in);
}

/* Another connection that may hold the server up: a stopped reader owed bytes, else any open one. */
static const struct instance *holding_up(const struct play *p, const struct instance *besides)
{
	const struct instance *open = NULL;
	for (size_t k = 0; k < p->count; k++) {
		const struct instance *in = &p->in[k];
		if (in == besides || !in->open || in->done || in->x.fd < 0 ||
		    in->x.oracle.verdict == XCHG_COMPLETE)
			continue;
		if (in->stopped && in->x.oracle.sent > in->x.oracle.got)
			return in;
		if (open == NULL)
			open = in;
	}
	return open;
}

static int timed_out(struct play *p, const struct instance *in, const struct xchg_run_result *r)
{
	const struct xchg_oracle *o = &in->x.oracle;
	const struct instance *other = holding_up(p, in);
	char name[96], beside[256] = "";
	name_instance(in, name, sizeof name);
	/* T7 when another client's stop held it up; when it had stopped reading itself and reads again
	 * (a server that forgets a connection whose write blocked); else T4 after its half-close, T1 */
	int by_other = other != NULL && other->stopped;
	const char *rule = by_other || in->was_stopped ? "T7" : o->shut ? "T4" : "T1";
	const char *where = by_other          ? "stalled-by-other"
	                    : in->was_stopped ? "resumed-no-progress"
	                                      : "no-progress";
	if (other != NULL) {
		char other_name[96];
		name_instance(other, other_name, sizeof other_name);
		if (other->stopped && other->x.oracle.sent > other->x.oracle.got)
			snprintf(beside, sizeof beside, " while %s stopped reading, owed %zu bytes",
			         other_name, other->x.oracle.sent - other->x.oracle.got);
		else
			snprintf(beside, sizeof beside, " while %s stayed open", other_name);
	}
	return impl_found(p->f, rule, where, "%s%s: %s: %zu of %zu bytes answered (%zu sent%s)%s%s", name,
	                  in->was_stopped ? ", which had stopped reading and read again" : "",
	                  r->status == XCHG_RUN_BUDGET ? "time budget exhausted" : "no progress", o->got,
	                  in->x.send_limit, o->sent, o->shut ? ", half-closed" : "",
	                  o->shut && o->got >= in->x.send_limit ? ", no FIN" : "", beside);
}

/* Runs the instances list[0..n) together, each to its `until`. Returns 0, 1 (finding) or -1. */
static int run_instances(struct play *p, const size_t *list, size_t n)
{
	struct xchg_conn x[MAX_INSTANCES];
	struct xchg_run_result r;
	char err[256];
	size_t bytes = 0;
	if (n == 0)
		return 0;
	size_t calls = 0; /* sends and receives the chunk limits make */
	for (size_t k = 0; k < n; k++) {
		x[k] = p->in[list[k]].x;
		bytes += x[k].send_limit;
		calls += x[k].send_limit / (x[k].wchunk ? x[k].wchunk : 65536) +
		         x[k].send_limit / (x[k].rchunk ? x[k].rchunk : 65536);
	}
	/* the bound on the whole run: 10 idle bounds, the bytes at 10 MB/s and 50 us a call */
	int budget = 10 * p->t->idle_ms + (int)(bytes / BUDGET_BYTES_PER_MS) + (int)(calls / 20);
	struct xchg_limits limits = {.idle_ms = p->t->idle_ms, .budget_ms = budget};
	xchg_run(x, n, &limits, &r, err, sizeof err);
	for (size_t k = 0; k < n; k++)
		p->in[list[k]].x = x[k];
	switch (r.status) {
	case XCHG_RUN_DONE:
		return 0;
	case XCHG_RUN_FAILED:
		return instance_failed(p, &p->in[list[r.conn]]);
	case XCHG_RUN_IDLE:
	case XCHG_RUN_BUDGET:
		return timed_out(p, &p->in[list[r.conn]], &r);
	default:
		snprintf(p->f->what, sizeof p->f->what, "%s", err);
		return -1;
	}
}

/* After an event: a reader sends what it was given (and half-closes when asked), reading all the
 * while; a stopped one sends what the socket takes. */
static int pump(struct play *p, size_t index)
{
	struct instance *in = &p->in[index];
	if (!in->open || in->x.fd < 0 || in->done)
		return 0;
	int rc = push_unread(p, in); /* first without waiting: most sends go out at once */
	if (rc != 0 || in->stopped)
		return rc;
	if (in->x.oracle.sent == in->x.send_limit && !(in->x.oracle.expect.half_close && !in->x.shut_done))
		return 0;
	in->x.until = XCHG_UNTIL_SENT; /* the rest reading all the while, and the half-close */
	return run_instances(p, &index, 1);
}

static int pump_all(struct play *p)
{
	int rc = 0;
	for (size_t k = 0; k < p->count && rc == 0; k++)
		rc = pump(p, k);
	return rc;
}

/* Every reading client waits for the answers to all it has sent (stopped ones do not hold them up:
 * T7); finish: every client reads again, half-closes and waits for every byte and the FIN (T4). */
static int wait_for_answers(struct play *p, int finish)
{
	size_t list[MAX_INSTANCES], n = 0;
	for (size_t k = 0; k < p->count; k++) {
		struct instance *in = &p->in[k];
		if (!in->open || in->done || in->x.fd < 0 || (in->stopped && !finish) ||
		    (!finish && in->x.oracle.got >= in->x.send_limit))
			continue;
		if (finish) {
			in->stopped = 0;
			xchg_conn_half_close(&in->x);
		}
		in->x.until = finish ? XCHG_UNTIL_END : XCHG_UNTIL_GOT;
		in->x.until_got = in->x.send_limit;
		list[n++] = k;
	}
	int rc = run_instances(p, list, n);
	for (size_t k = 0; rc == 0 && k < p->count; k++) {
		struct instance *in = &p->in[k];
		if (in->x.fd >= 0 && in->x.oracle.fin && in->x.oracle.verdict == XCHG_COMPLETE) {
			xchg_conn_close(&in->x);
			in->done = 1;
		}
	}
	return rc;
}

/* SLEEP t: time passes for the clients that stopped reading: they push what their sockets take until
 * their traffic comes to rest (their send and receive queues unchanged for two 1 ms looks, or eight
 * while bytes wait in a send queue: the server has filled its buffers and stopped reading from them, or
 * is only slow to read), at most (t + 1) * 4 ms. */
static int settle(struct play *p, unsigned t)
{
	int out[MAX_INSTANCES], inq[MAX_INSTANCES], quiet = 0;
	uint64_t end = util_now_ns() + (uint64_t)(t + 1) * 4000000u;
	memset(out, 0xff, sizeof out);
	memset(inq, 0xff, sizeof inq);
	while (util_ms_left(end) > 0) {
		int changed = 0, stopped = 0, queued = 0;
		for (size_t k = 0; k < p->count; k++) {
			struct instance *in = &p->in[k];
			int o = 0, i = 0;
			if (!in->open || in->done || in->x.fd < 0 || !in->stopped)
				continue;
			stopped++;
			int rc = push_unread(p, in);
			if (rc != 0)
				return rc;
			ioctl(in->x.fd, SIOCOUTQ, &o);
			ioctl(in->x.fd, SIOCINQ, &i);
			changed |= o != out[k] || i != inq[k];
			queued |= o > 0;
			out[k] = o;
			inq[k] = i;
		}
		if (stopped == 0 || (quiet = changed ? 0 : quiet + 1) >= (queued ? 8 : 2))
			return 0;
		util_sleep_ms(1);
	}
	return 0;
}

/* A client that connects and goes away at once, reset (e even) or closed: it costs the server nothing
 * (T5, T6); what it did to the server shows in the rest of the input and in its resources. */
static int transient(struct play *p, unsigned e)
{
	char err[256];
	if (p->transients++ >= MAX_TRANSIENT)
		return 0;
	int fd = connect_to(p->t, 0, err, sizeof err);
	if (fd < 0)
		return impl_found(p->f, "T9", "connect", "a connection (event ACCEPT) not accepted: %s", err);
	p->t->connections++;
	if (e % 2 == 0) {
		struct linger lg = {1, 0};
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	}
	close(fd);
	return 0;
}

static int event(struct play *p, const struct script_event *ev, int of, size_t of_event)
{
	struct instance *in = of >= 0 ? &p->in[of] : NULL;
	int state = in == NULL ? 0
	                       : (in->stopped | p->held << 1 | (in->x.oracle.sent > in->x.oracle.got) << 2 |
	                          (in->x.oracle.shut << 3));
	feature(p, (size_t)ev->op * 16 + (size_t)state);
	switch (ev->op) {
	case SCRIPT_HOLD:
		p->held = !p->held;
		return p->held ? 0 : pump_all(p);
	case SCRIPT_TICK:
		return wait_for_answers(p, 0);
	case SCRIPT_SLEEP: {
		int rc = wait_for_answers(p, 0);
		return rc != 0 ? rc : settle(p, ev->arg);
	}
	case SCRIPT_ACCEPT:
		return transient(p, ev->arg);
	default:
		break;
	}
	if (in == NULL || in->done)
		return 0;
	if (!in->open) {
		int rc = instance_connect(p, in);
		if (rc != 0)
			return rc;
		size_t open = 0;
		for (size_t k = 0; k < p->count; k++)
			open += p->in[k].open && !p->in[k].done;
		feature(p, 400 + open);
	}
	switch (ev->op) {
	case SCRIPT_SEND:
		in->x.send_limit += ev->len * p->scale;
		break;
	case SCRIPT_FIN:
		xchg_conn_half_close(&in->x);
		break;
	case SCRIPT_RST:
	case SCRIPT_WERR:
		/* RST: what came is judged, then the reset; WERR: the reset without reading first, while
		 * the answer is still on its way */
		if (!in->stopped && ev->op == SCRIPT_RST)
			xchg_conn_drain(&in->x);
		xchg_conn_reset(&in->x, 0);
		in->done = 1;
		return instance_check(p, in);
	case SCRIPT_STOP:
		in->stopped = in->was_stopped = 1;
		in->x.send_limit += p->flood[of_event];
		return p->flood[of_event] > 0 ? push_unread(p, in) : 0;
	case SCRIPT_RESUME:
		in->stopped = 0;
		break;
	case SCRIPT_SHORT: /* at least 1/1024 of the stream per call: megabytes never take a million */
		in->x.rchunk = ev->arg == 0 ? 0 : ev->arg > in->length / 1024 ? ev->arg : in->length / 1024;
		break;
	case SCRIPT_RLIMIT:
		in->x.wchunk = ev->arg == 0 ? 0 : ev->arg > in->length / 1024 ? ev->arg : in->length / 1024;
		break;
	default:
		return 0;
	}
	return p->held ? 0 : pump(p, (size_t)of);
}

static void play_free(struct play *p)
{
	for (size_t k = 0; k < p->count; k++) {
		if (p->in[k].x.fd >= 0 && p->in[k].open)
			close(p->in[k].x.fd);
		free(p->in[k].bytes);
	}
	free(p->of);
	free(p->flood);
}

int impl_tcp_run(struct impl_target *t, const unsigned char *data, size_t n, struct impl_finding *f)
{
	static struct play p;
	struct script_dec d;
	struct script_event ev;
	int rc = 0;

	memset(&p, 0, sizeof p);
	p.t = t;
	p.f = f;
	if (plan(&p, data, n) < 0) {
		play_free(&p);
		snprintf(f->what, sizeof f->what, "out of memory for a script of %zu bytes", n);
		return -1;
	}
	script_dec_init(&d, data, n);
	for (size_t i = 0; rc == 0 && script_dec_next(&d, &ev); i++)
		rc = event(&p, &ev, p.of[i], i);
	if (rc == 0)
		rc = wait_for_answers(&p, 1);
	play_free(&p);
	return rc;
}
