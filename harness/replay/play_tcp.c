/* play_tcp.c - replays one TCP flow and judges the reply stream and the close (see play.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "exchange.h"
#include "oracle.h"
#include "play.h"

/* One TCP flow being replayed: the exchange engine's connection (exchange.h) does the socket I/O and
 * its stream oracle judges each reply byte as it comes; the flow's verdict and messages are made here,
 * from what the oracle saw and what the capture holds. */
struct tcp {
	struct xchg_conn c;
	const uint8_t *stream; /* the client's bytes in the order they are sent (cs->data unless the
	                        * capture has gaps), stream_len of them */
	size_t stream_len;
	uint8_t *own_stream; /* stream, when it had to be put together here */
	uint8_t *own_reply;  /* --expect upper, a client reset while output was owed: the transform of the
	                      * bytes the recorded client read before it */
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
	if (o->expect_upper && cs->rst && !sc->fin && !sc->rst) {
		/* The client reset while the server owed output (SPEC T6): read no more than the recorded
		 * client did, as below, so the server still owes output at the reset, but judge those bytes,
		 * and any past them, by the transform of what was sent. */
		size_t n = sc->len < t->stream_len ? sc->len : t->stream_len;
		t->own_reply = malloc(n ? n : 1);
		if (!t->own_reply) {
			snprintf(r->msg, sizeof r->msg, "out of memory");
			return PLAY_ERROR;
		}
		oracle_expect(t->own_reply, t->stream, n);
		e.mode = XCHG_MODE_RECORDED;
		e.reply = t->own_reply;
		e.reply_len = n;
		t->open_end = e.open_end = 1;
	} else if (o->expect_upper) {
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
		play_pace(o, f->ev[0].ts_ns);
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
		/* Causality: the server bytes that came before this action in the capture come first; under
		 * --expect upper only as many as a conforming server owes by then (a recorded server that
		 * sent more, garbage say, must not cost a correct one a timeout per action). */
		size_t need = o->expect_upper && r->sent < e->peer_before ? r->sent : e->peer_before;
		if (tcp_run(t, XCHG_UNTIL_GOT, need, o->timeout_ms) < 0)
			return -1;
		/* The bytes that came before this action did not come: the checks below say so, without one
		 * more timeout per action. */
		if (tcp_got(t) < need)
			break;
		play_pace(o, e->ts_ns);
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
			/* Under --expect upper a correct server owes no more than the transform of what was
			 * sent, whatever the recorded one sent. */
			if (tcp_play_reset(t, o->expect_upper && r->sent < e->peer_before
			                          ? r->sent
			                          : e->peer_before) < 0)
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
	play_hexdiff(r->detail, sizeof r->detail, exp, elen, t->got, got, m);
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

int play_tcp(const struct dec_flow *f, const struct net_addr *target, const struct play_opts *o,
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
	free(t.own_reply);
	return r->status = rc;
}
