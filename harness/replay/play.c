/* play.c - replays one reassembled flow against a live server and checks the answers (see play.h). */
#include "play.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "exchange.h"
#include "oracle.h"
#include "util.h"

/* Sleeps until t, a CLOCK_MONOTONIC time in nanoseconds (util_now_ns). */
static void sleep_until(uint64_t t)
{
	struct timespec ts = {.tv_sec = (time_t)(t / 1000000000u), .tv_nsec = (long)(t % 1000000000u)};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* Original timing: wait until the capture time of an event, scaled. */
static void pace(const struct play_opts *o, uint64_t ts)
{
	if (o->speed > 0 && ts > o->cap0)
		sleep_until(o->mono0 + (uint64_t)((double)(ts - o->cap0) / o->speed));
}

/* Writes a hexdump of the 16-byte lines of a[0..alen) and b[0..blen) around offset off into out: three
 * lines a side at most, the expected side (a) labelled "expected", the other "got", the line holding
 * off marked "<-", the ASCII column padded to 16 (rep_hexdump's lines carry neither label nor mark). */
static void hexdiff(char *out, size_t outlen, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                    size_t off)
{
	size_t start = off / 16 * 16, used = 0;
	int side;

	start = start >= 16 ? start - 16 : 0;
	if (!outlen)
		return;
	out[0] = 0;
	for (side = 0; side < 2; side++) {
		const uint8_t *p = side ? b : a;
		size_t n = side ? blen : alen, line;
		for (line = start; line < start + 48; line += 16) {
			char hex[16 * 3 + 1], asc[17];
			size_t i;
			if (line >= n && line > start)
				break;
			for (i = 0; i < 16; i++) {
				if (line + i < n) {
					snprintf(hex + i * 3, 4, "%02x ", p[line + i]);
					asc[i] = p[line + i] >= 0x20 && p[line + i] < 0x7f ? (char)p[line + i]
					                                                   : '.';
				} else {
					memcpy(hex + i * 3, "   ", 4);
					asc[i] = ' ';
				}
			}
			asc[16] = 0;
			if (used < outlen) {
				int k = snprintf(out + used, outlen - used, "  %-9s %08zx  %s |%s|%s\n",
				                 line == start ? (side ? "got:" : "expected:") : "", line,
				                 hex, asc, line <= off && off < line + 16 ? " <-" : "");
				used += k > 0 ? (size_t)k : 0;
			}
		}
		if (n <= start && used < outlen) {
			int k = snprintf(out + used, outlen - used, "  %-9s (stream ends at %zu)\n",
			                 side ? "got:" : "expected:", n);
			used += k > 0 ? (size_t)k : 0;
		}
	}
}

/* ---- TCP ------------------------------------------------------------------------------------------- */

/* One TCP flow being replayed: the exchange engine's connection (exchange.h) does the socket I/O and
 * its stream oracle judges each reply byte as it comes; the flow's verdict and messages are made here,
 * from what the oracle saw and what the capture holds. */
struct tcp {
	struct xchg_conn c;
	const uint8_t *stream; /* the client's bytes in the order they are sent (cs->data unless the
	                        * capture has gaps), stream_len of them */
	size_t stream_len;
	uint8_t *own_stream; /* stream, when it had to be put together here */
	uint8_t *got;        /* the reply bytes, as far as a report can need them */
	int open_end;        /* the capture ends with the client's reset while the server owed output
	                      * (SPEC T6): reply bytes past the recorded ones are judged against the
	                      * transform of what was sent */
	int client_rst;      /* the client's reset was played: the socket is closed */
	size_t need_min;     /* reply bytes the capture has before the client's reset */
	char err[256];       /* a local error of the engine */
};

static const char *close_name(int fin, int rst)
{
	return rst ? "RST" : fin ? "FIN" : "no close";
}

/* The reply bytes received so far. */
static size_t tcp_got(const struct tcp *t)
{
	return t->c.oracle.got;
}

/* The reply has departed from the expected stream (a wrong or an extra byte): waiting longer cannot
 * help, and nothing more is read. */
static int tcp_diverged(const struct tcp *t)
{
	return t->c.oracle.verdict == XCHG_WRONG_BYTE || t->c.oracle.verdict == XCHG_EXTRA_BYTES;
}

/* Runs the connection until its goal (until, until_got) or for at most timeout_ms. Returns 0, or -1
 * with a reason in t->err on a local error. */
static int tcp_run(struct tcp *t, enum xchg_until until, size_t until_got, int timeout_ms)
{
	struct xchg_limits l = {.budget_ms = timeout_ms};
	struct xchg_run_result res;

	t->c.until = until;
	t->c.until_got = until_got;
	return xchg_run(&t->c, 1, &l, &res, t->err, sizeof t->err) == XCHG_RUN_ERROR ? -1 : 0;
}

/* The client's bytes in send order: the DATA events' bytes one after the other. Returns 0, or -1 when
 * out of memory. */
static int tcp_stream(struct tcp *t, const struct dec_flow *f)
{
	const struct dec_dir *cs = &f->dir[DEC_C2S];
	size_t i, n = 0, contiguous = 1;

	for (i = 0; i < f->nev; i++)
		if (f->ev[i].dir == DEC_C2S && f->ev[i].kind == DEC_EV_DATA) {
			contiguous &= f->ev[i].off == n;
			n += f->ev[i].len;
		}
	t->stream = cs->data;
	t->stream_len = n;
	if (contiguous)
		return 0;
	/* A gap (--incomplete replay): what is sent is the events' bytes, without the missing ones. */
	t->own_stream = malloc(n ? n : 1);
	if (!t->own_stream)
		return -1;
	for (i = 0, n = 0; i < f->nev; i++)
		if (f->ev[i].dir == DEC_C2S && f->ev[i].kind == DEC_EV_DATA) {
			memcpy(t->own_stream + n, cs->data + f->ev[i].off, f->ev[i].len);
			n += f->ev[i].len;
		}
	t->stream = t->own_stream;
	return 0;
}

/* Connects to target and sets up the exchange: what the client will send and the reply expected (the
 * transform of what is sent, or the recorded server stream). The oracle judges bytes only: the close
 * is judged by tcp_verdict() against the capture. Returns PLAY_OK to go on, or PLAY_ERROR with a
 * reason in r->msg. */
static int tcp_open(struct tcp *t, const struct dec_flow *f, const struct net_addr *target,
                    const struct play_opts *o, struct play_result *r)
{
	const struct dec_dir *cs = &f->dir[DEC_C2S], *sc = &f->dir[DEC_S2C];
	struct xchg_expect e;
	size_t cap;
	int fd;

	if (tcp_stream(t, f) < 0) {
		snprintf(r->msg, sizeof r->msg, "out of memory");
		return PLAY_ERROR;
	}
	/* The reply bytes a report may show: up to the longer of the two streams, and a hexdump's lines. */
	cap = (t->stream_len > sc->len ? t->stream_len : sc->len) + 64;
	t->got = malloc(cap);
	if (!t->got) {
		snprintf(r->msg, sizeof r->msg, "out of memory");
		return PLAY_ERROR;
	}
	memset(&e, 0, sizeof e);
	e.sent = t->stream;
	e.sent_len = t->stream_len;
	e.close = XCHG_CLOSE_ANY;
	e.client_resets = 1; /* the close is not the oracle's to judge (see above) */
	if (o->expect_upper) {
		/* What we send is a prefix of the client stream, so every correct reply is a prefix of its
		 * transform. */
		e.mode = XCHG_MODE_X1;
	} else {
		e.mode = XCHG_MODE_RECORDED;
		e.reply = sc->data;
		e.reply_len = sc->len;
		/* The client reset before the server closed: the capture saw only the output that came before
		 * the reset, and the server may owe more (SPEC T6). A replay that reads everything may get
		 * it. */
		t->open_end = e.open_end = cs->rst && !sc->fin && !sc->rst;
	}
	if (f->nev)
		pace(o, f->ev[0].ts_ns);
	fd = net_connect(target, SOCK_STREAM, o->timeout_ms, t->err, sizeof t->err);
	if (fd < 0) {
		snprintf(r->msg, sizeof r->msg, "%s", t->err);
		return PLAY_ERROR;
	}
	xchg_conn_init(&t->c, fd, 1, &e);
	t->c.send_limit = 0; /* raised one client write at a time */
	/* Like the recorded client, which wrote each action at once: a server that answers before it was
	 * sent anything is then judged the same way whatever the timing. */
	t->c.send_first = 1;
	/* Like the recorded client, read no more than the recorded reply, so the server still owes output
	 * at the reset; the engine drops the hold if the server stops reading too (T8). */
	t->c.hold = t->open_end;
	t->c.store = t->got;
	t->c.store_cap = cap;
	return PLAY_OK;
}

/* Plays the client's reset: takes what has already come (as far as the hold allows), then resets. */
static int tcp_play_reset(struct tcp *t, size_t need_min)
{
	size_t before;

	do {
		before = tcp_got(t);
		if (tcp_run(t, XCHG_UNTIL_GOT, 0, 1) < 0)
			return -1;
	} while (tcp_got(t) > before && !t->c.oracle.fin && !t->c.oracle.rst && !tcp_diverged(t));
	t->need_min = need_min;
	xchg_conn_reset(&t->c, need_min);
	t->client_rst = 1;
	return 0;
}

/* Plays the client's actions in capture order, each after the server bytes that came before it, then
 * waits for the rest of the reply. Returns 0, or -1 with a reason in t->err on a local error. */
static int tcp_play_actions(struct tcp *t, const struct dec_flow *f, const struct play_opts *o,
                            struct play_result *r)
{
	const struct dec_dir *cs = &f->dir[DEC_C2S], *sc = &f->dir[DEC_S2C];
	size_t i;
	int want_close;

	for (i = 0; i < f->nev && !t->client_rst && !tcp_diverged(t); i++) {
		const struct dec_ev *e = &f->ev[i];
		if (e->dir != DEC_C2S)
			continue;
		/* Causality: the server bytes that came before this action in the capture come first. */
		if (tcp_run(t, XCHG_UNTIL_GOT, e->peer_before, o->timeout_ms) < 0)
			return -1;
		/* The bytes that came before this action did not come (under --expect upper, only those a
		 * conforming server owes): the checks below say so, without one more timeout per action. */
		if (tcp_got(t) < (o->expect_upper && r->sent < e->peer_before ? r->sent : e->peer_before))
			break;
		pace(o, e->ts_ns);
		if (e->kind == DEC_EV_DATA) {
			/* Sent while reading whatever the server answers, so its backpressure cannot deadlock
			 * us. */
			t->c.send_limit += e->len;
			if (tcp_run(t, XCHG_UNTIL_SENT, 0, o->timeout_ms) < 0)
				return -1;
			if (t->c.oracle.sent < t->c.send_limit) {
				t->c.send_limit = t->c.oracle.sent;
				break; /* the server reset or stalled: the checks below say so */
			}
			r->sent += e->len;
			r->writes++;
		} else if (e->kind == DEC_EV_FIN) {
			xchg_conn_half_close(&t->c); /* done by the engine at once, in its next run */
		} else if (e->kind == DEC_EV_RST) {
			if (tcp_play_reset(t, e->peer_before) < 0)
				return -1;
		}
	}
	if (t->client_rst || tcp_diverged(t))
		return 0;
	/* The rest of the reply, and the close when the capture has one. */
	want_close = o->expect_upper ? cs->fin : sc->fin || sc->rst;
	return tcp_run(t, XCHG_UNTIL_GOT,
	               want_close        ? SIZE_MAX
	               : o->expect_upper ? r->sent
	                                 : sc->len,
	               o->timeout_ms);
}

static size_t min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;

	return m < c ? m : c;
}

/* The reply stream the server should have sent (its length in *elen) and the first offset where the
 * received one departs from it, from the oracle's verdict. Bytes past the recorded stream, owed when
 * the client reset, are judged against the transform of what was sent; *beyond is then their count. */
static size_t tcp_compare(const struct tcp *t, const struct dec_flow *f, const struct play_opts *o,
                          const struct play_result *r, size_t *elen, size_t *beyond)
{
	size_t got = tcp_got(t), bad = tcp_diverged(t) ? t->c.oracle.offset : SIZE_MAX, m;

	*beyond = 0;
	if (o->expect_upper) {
		/* The expected stream is the transform of what this replay sent. */
		*elen = r->sent;
		return min3(bad, *elen, got);
	}
	*elen = f->dir[DEC_S2C].len;
	m = min3(bad, *elen, got);
	if (t->client_rst && t->open_end && m == *elen && got > *elen) {
		/* Output the capture never saw: it must continue the transform of what was sent. */
		*beyond = got - *elen;
		*elen = r->sent;
		m = min3(bad, *elen, got);
	}
	return m;
}

/* Describes a reply stream that departs from the expected one at offset m, with a hexdump. Returns
 * PLAY_MISMATCH, or PLAY_ERROR when out of memory. */
static int tcp_stream_mismatch(const struct tcp *t, const struct dec_flow *f, const struct play_opts *o,
                               size_t m, size_t elen, size_t beyond, struct play_result *r)
{
	const struct dec_dir *sc = &f->dir[DEC_S2C];
	size_t got = tcp_got(t);
	uint8_t *upper = NULL;
	const uint8_t *exp = sc->data;

	r->dir = DEC_S2C;
	r->offset = m;
	if (beyond && m < got)
		snprintf(r->msg, sizeof r->msg,
		         "server->client differs at offset %zu, after the %zu recorded "
		         "bytes, from the transform of the %zu bytes sent (got %zu)",
		         m, sc->len, r->sent, got);
	else if (t->client_rst && got < t->need_min)
		snprintf(r->msg, sizeof r->msg,
		         "server->client ends early at offset %zu: the capture has %zu "
		         "bytes before the client's reset",
		         got, t->need_min);
	else if (m < got && m < elen)
		snprintf(r->msg, sizeof r->msg,
		         "server->client differs at offset %zu (expected %zu bytes, got %zu)", m, elen, got);
	else if (got < elen)
		snprintf(r->msg, sizeof r->msg,
		         "server->client ends early at offset %zu (expected %zu bytes, got %zu%s%s)", m, elen,
		         got,
		         t->c.oracle.rst   ? ", then RST"
		         : t->c.oracle.fin ? ", then FIN"
		                           : ", then silence",
		         t->c.oracle.rst || t->c.oracle.fin ? "" : " until the timeout");
	else
		snprintf(r->msg, sizeof r->msg,
		         "server->client has extra bytes at offset %zu (expected %zu, got %zu)", m, elen,
		         got);
	if (o->expect_upper || beyond) {
		/* The expected side of the hexdump: the transform of what was sent. */
		upper = malloc(elen ? elen : 1);
		if (!upper) {
			snprintf(r->msg, sizeof r->msg, "out of memory");
			return PLAY_ERROR;
		}
		oracle_expect(upper, t->stream, elen);
		exp = upper;
	}
	hexdiff(r->detail, sizeof r->detail, exp, elen, t->got, got, m);
	free(upper);
	return PLAY_MISMATCH;
}

/* Judges what came back: the reply stream, then how the server closed. Returns PLAY_OK, PLAY_MISMATCH,
 * or PLAY_ERROR (out of memory), with r->msg filled. */
static int tcp_verdict(const struct tcp *t, const struct dec_flow *f, const struct play_opts *o,
                       struct play_result *r)
{
	const struct dec_dir *cs = &f->dir[DEC_C2S], *sc = &f->dir[DEC_S2C];
	size_t got = tcp_got(t), elen, beyond, m = tcp_compare(t, f, o, r, &elen, &beyond);
	int ok, fin = t->c.oracle.fin, rst = t->c.oracle.rst;

	r->got = got;
	if (t->client_rst) /* after our reset, a correct prefix is all a server can owe */
		ok = m == got && got >= t->need_min;
	else
		ok = m == got && m == elen;
	if (!ok)
		return tcp_stream_mismatch(t, f, o, m, elen, beyond, r);
	if (!t->client_rst && !o->expect_upper && (sc->fin || sc->rst) && (sc->rst != rst || !(fin || rst))) {
		r->dir = DEC_S2C;
		r->offset = got;
		snprintf(r->msg, sizeof r->msg, "server->client closed with %s at offset %zu, recorded %s",
		         rst || fin ? close_name(fin, rst) : "nothing before the timeout", got,
		         close_name(sc->fin, sc->rst));
		return PLAY_MISMATCH;
	}
	if (!t->client_rst && o->expect_upper && cs->fin && !fin) {
		/* SPEC T4: after our FIN every owed byte, then FIN, not RST. */
		r->dir = DEC_S2C;
		r->offset = got;
		snprintf(r->msg, sizeof r->msg,
		         "server->client closed with %s at offset %zu after the client's FIN, "
		         "expected FIN (T4)",
		         rst ? "RST" : "nothing before the timeout", got);
		return PLAY_MISMATCH;
	}
	snprintf(
	    r->msg, sizeof r->msg, "sent %zu bytes in %zu writes%s, got %zu bytes%s%s", r->sent, r->writes,
	    t->client_rst ? " then RST"
	    : cs->fin     ? " then FIN"
	                  : "",
	    got,
	    t->client_rst ? ""
	    : rst         ? " then RST"
	    : fin         ? " then FIN"
	                  : "",
	    beyond
	        ? ", those past the recorded ones (owed when the client reset) checked against the transform"
	        : "");
	return PLAY_OK;
}

static int play_tcp(const struct dec_flow *f, const struct net_addr *target, const struct play_opts *o,
                    struct play_result *r)
{
	struct tcp t;
	int rc;

	memset(&t, 0, sizeof t);
	t.c.fd = -1;
	rc = tcp_open(&t, f, target, o, r);
	if (rc == PLAY_OK && tcp_play_actions(&t, f, o, r) < 0) {
		snprintf(r->msg, sizeof r->msg, "%s", t.err);
		rc = PLAY_ERROR;
	}
	if (rc == PLAY_OK)
		rc = tcp_verdict(&t, f, o, r);
	if (t.c.fd >= 0)
		close(t.c.fd);
	free(t.got);
	free(t.own_stream);
	return r->status = rc;
}

/* ---- UDP ------------------------------------------------------------------------------------------- */

/* The recorded reply of each client datagram, as indexes into f->ev (SIZE_MAX: the capture has none).
 * When the capture holds as many server datagrams as client ones they pair in order, which also covers a
 * burst of requests answered later; otherwise a request's reply is the first server datagram after it and
 * before the next request. */
static void udp_pair(const struct dec_flow *f, size_t *rep, size_t nreq)
{
	size_t i, k = 0, nc = 0, ns = 0, last = SIZE_MAX;

	for (i = 0; i < nreq; i++)
		rep[i] = SIZE_MAX;
	for (i = 0; i < f->nev; i++)
		if (f->ev[i].kind == DEC_EV_DGRAM && f->ev[i].dir == DEC_C2S)
			nc++;
		else if (f->ev[i].kind == DEC_EV_DGRAM)
			ns++;
	if (nc == ns) {
		for (i = 0; i < f->nev; i++)
			if (f->ev[i].kind == DEC_EV_DGRAM && f->ev[i].dir == DEC_S2C && k < nreq)
				rep[k++] = i;
		return;
	}
	for (i = 0; i < f->nev; i++) {
		if (f->ev[i].kind != DEC_EV_DGRAM)
			continue;
		if (f->ev[i].dir == DEC_C2S)
			last = k < nreq ? k++ : SIZE_MAX;
		else if (last != SIZE_MAX && rep[last] == SIZE_MAX)
			rep[last] = i;
	}
}

/* Whether a and b are the same address and port (compared as net_format() writes them). */
static int same_endpoint(const struct net_addr *a, const struct net_addr *b)
{
	char x[NET_ADDRSTRLEN], y[NET_ADDRSTRLEN];
	return strcmp(net_format((const struct sockaddr *)&a->ss, x, sizeof x),
	              net_format((const struct sockaddr *)&b->ss, y, sizeof y)) == 0;
}

/* After no reply on the connected socket, which hears only the target: sends datagram k again from an
 * unconnected socket. Returns 1 with r->msg filled when that one is answered from another address or
 * port (SPEC U1: a reply must come from where the datagram went), 0 otherwise. */
static int udp_answered_elsewhere(const struct net_addr *target, const uint8_t *req, size_t len, size_t k,
                                  const struct play_opts *o, struct play_result *r)
{
	char want[NET_ADDRSTRLEN], got[NET_ADDRSTRLEN];
	uint8_t buf[64];
	struct net_addr from;
	int found = 0, fd = socket(target->ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct pollfd p = {.fd = fd, .events = POLLIN};

	if (fd < 0)
		return 0;
	from.len = sizeof from.ss;
	if (sendto(fd, req, len, 0, (const struct sockaddr *)&target->ss, target->len) == (ssize_t)len &&
	    poll(&p, 1, o->timeout_ms) == 1 &&
	    recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)&from.ss, &from.len) >=
	        0 &&
	    !same_endpoint(&from, target)) {
		snprintf(
		    r->msg, sizeof r->msg,
		    "no reply to datagram %zu (%zu bytes) from the target %s: sent again, it was answered "
		    "from %s (U1: a reply must come from the address and port the datagram was sent to)",
		    k, len, net_format((const struct sockaddr *)&target->ss, want, sizeof want),
		    net_format((const struct sockaddr *)&from.ss, got, sizeof got));
		found = 1;
	}
	close(fd);
	return found;
}

/* Sends datagram k (req[0..len)) to target on fd (connected to it) and waits for its reply into rep
 * (65536 bytes). Returns PLAY_OK and the reply's length in *n, or PLAY_ERROR / PLAY_MISMATCH with r->msg
 * filled. */
static int udp_send_recv(int fd, const struct net_addr *target, const uint8_t *req, size_t len, size_t k,
                         const struct play_opts *o, uint8_t *rep, size_t *n, struct play_result *r)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	uint64_t deadline;
	ssize_t got;
	int pr;

	if (send(fd, req, len, 0) < 0) {
		snprintf(r->msg, sizeof r->msg, "send of datagram %zu (%zu bytes): %s", k, len,
		         strerror(errno));
		return PLAY_ERROR;
	}
	r->writes++;
	r->sent += len;
	deadline = util_now_ns() + (uint64_t)o->timeout_ms * 1000000u;
	do
		pr = poll(&p, 1, util_ms_left(deadline));
	while (pr < 0 && errno == EINTR);
	got = pr > 0 ? recv(fd, rep, 65536, MSG_DONTWAIT) : -1;
	if (got < 0 && pr > 0 && k == 1 && errno == ECONNREFUSED) {
		/* ICMP port unreachable before any reply: nothing listens there, a setup error. */
		snprintf(r->msg, sizeof r->msg, "nothing listens at the target: datagram 1 was refused (%s)",
		         strerror(errno));
		return PLAY_ERROR;
	}
	if (got < 0) {
		r->dir = DEC_S2C;
		r->offset = k;
		if (pr == 0 && udp_answered_elsewhere(target, req, len, k, o, r))
			return PLAY_MISMATCH;
		snprintf(r->msg, sizeof r->msg, "no reply to datagram %zu (%zu bytes)%s%s (U1)", k, len,
		         pr > 0 ? ": " : " before the timeout", pr > 0 ? strerror(errno) : "");
		return PLAY_MISMATCH;
	}
	r->got += (size_t)got;
	*n = (size_t)got;
	return PLAY_OK;
}

/* Recorded mode: reply rep[0..n) to datagram k must be the recorded reply exp[0..elen), byte for byte.
 * Returns PLAY_OK, or PLAY_MISMATCH with r->msg and r->detail filled. */
static int udp_judge_recorded(const uint8_t *exp, size_t elen, size_t k, const uint8_t *rep, size_t n,
                              struct play_result *r)
{
	size_t m;

	for (m = 0; m < elen && m < n && exp[m] == rep[m]; m++)
		;
	if (m == elen && m == n)
		return PLAY_OK;
	r->dir = DEC_S2C;
	r->offset = k;
	if (m < elen && m < n)
		snprintf(r->msg, sizeof r->msg,
		         "reply to datagram %zu differs from the recorded reply at "
		         "offset %zu (expected %zu bytes, got %zu)",
		         k, m, elen, n);
	else
		snprintf(r->msg, sizeof r->msg,
		         "reply to datagram %zu is %s than the recorded reply "
		         "(expected %zu bytes, got %zu; first %zu agree)",
		         k, n < elen ? "shorter" : "longer", elen, n, m);
	hexdiff(r->detail, sizeof r->detail, exp, elen, rep, n, m);
	return PLAY_MISMATCH;
}

/* Reply rep[0..n) to datagram k (req[0..len)) must follow the rule (oracle_udp_check). Returns PLAY_OK,
 * or PLAY_MISMATCH with r->msg and r->detail filled. */
static int udp_judge_rule(const uint8_t *req, size_t len, size_t k, const uint8_t *rep, size_t n,
                          const struct play_opts *o, struct play_result *r)
{
	char why[256];
	uint8_t *exp;
	size_t m;

	if (oracle_udp_check(req, len, rep, n, why, sizeof why) == ORACLE_UDP_OK)
		return PLAY_OK;
	m = oracle_mismatch(req, len, rep, n);
	r->dir = DEC_S2C;
	r->offset = k;
	snprintf(r->msg, sizeof r->msg, "reply to datagram %zu differs at offset %zu: %s%s", k, m, why,
	         o->expect_upper ? "" : " (no recorded reply: checked by the rule)");
	exp = malloc(len ? len : 1);
	if (exp) {
		oracle_expect(exp, req, len);
		hexdiff(r->detail, sizeof r->detail, exp, len, rep, n, m);
		free(exp);
	}
	return PLAY_MISMATCH;
}

static void udp_summary(const struct play_opts *o, size_t byrule, struct play_result *r)
{
	if (o->expect_upper)
		snprintf(r->msg, sizeof r->msg,
		         "sent %zu datagrams (%zu bytes), got %zu right replies (%zu bytes)", r->writes,
		         r->sent, r->writes, r->got);
	else if (!byrule)
		snprintf(r->msg, sizeof r->msg,
		         "sent %zu datagrams (%zu bytes), got %zu replies equal to the "
		         "recorded ones (%zu bytes)",
		         r->writes, r->sent, r->writes, r->got);
	else
		snprintf(
		    r->msg, sizeof r->msg,
		    "sent %zu datagrams (%zu bytes), got %zu right replies (%zu bytes): "
		    "%zu equal to the recorded ones, %zu with no recorded reply checked by the rule (U1-U6)",
		    r->writes, r->sent, r->writes, r->got, r->writes - byrule, byrule);
}

static int play_udp(const struct dec_flow *f, const struct net_addr *target, const struct play_opts *o,
                    struct play_result *r)
{
	const struct dec_dir *cs = &f->dir[DEC_C2S], *sc = &f->dir[DEC_S2C];
	char err[256];
	uint8_t *rep = NULL;
	size_t *recrep = NULL;
	size_t i, k = 0, nreq = 0, byrule = 0, n;
	int fd, rc = PLAY_ERROR;

	fd = net_connect(target, SOCK_DGRAM, o->timeout_ms, err, sizeof err);
	if (fd < 0) {
		snprintf(r->msg, sizeof r->msg, "%s", err);
		return r->status = PLAY_ERROR;
	}
	for (i = 0; i < f->nev; i++)
		nreq += f->ev[i].dir == DEC_C2S && f->ev[i].kind == DEC_EV_DGRAM;
	rep = malloc(65536);
	recrep = malloc((nreq ? nreq : 1) * sizeof *recrep);
	if (!rep || !recrep) {
		snprintf(r->msg, sizeof r->msg, "out of memory");
		goto out;
	}
	udp_pair(f, recrep, nreq);
	for (i = 0, rc = PLAY_OK; i < f->nev && rc == PLAY_OK; i++) {
		const struct dec_ev *e = &f->ev[i], *re;
		const uint8_t *req = cs->data + e->off;
		if (e->dir != DEC_C2S || e->kind != DEC_EV_DGRAM)
			continue;
		re = !o->expect_upper && recrep[k] != SIZE_MAX ? &f->ev[recrep[k]] : NULL;
		k++;
		pace(o, e->ts_ns);
		rc = udp_send_recv(fd, target, req, e->len, k, o, rep, &n, r);
		if (rc != PLAY_OK)
			break;
		if (re) {
			rc = udp_judge_recorded(sc->data + re->off, re->len, k, rep, n, r);
			continue;
		}
		byrule += !o->expect_upper;
		rc = udp_judge_rule(req, e->len, k, rep, n, o, r);
	}
	if (rc == PLAY_OK)
		udp_summary(o, byrule, r);
out:
	close(fd);
	free(rep);
	free(recrep);
	return r->status = rc;
}

int play_flow(const struct dec_flow *f, const struct net_addr *target, const struct play_opts *o,
              struct play_result *r)
{
	memset(r, 0, sizeof *r);
	return f->proto == 6 ? play_tcp(f, target, o, r) : play_udp(f, target, o, r);
}
