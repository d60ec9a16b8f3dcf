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

void play_hexdiff(char *out, size_t outlen, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
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
					asc[i] = p[line + i] >= 0x20 && p[line + i] < 0x7f ? (char)p[line + i] : '.';
				} else {
					memcpy(hex + i * 3, "   ", 4);
					asc[i] = ' ';
				}
			}
			asc[16] = 0;
			if (used < outlen) {
				int k = snprintf(out + used, outlen - used, "  %-9s %08zx  %s |%s|%s\n",
						 line == start ? (side ? "got:" : "expected:") : "", line, hex, asc,
						 line <= off && off < line + 16 ? " <-" : "");
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

struct tcp {
	int fd;
	uint8_t *got;
	size_t glen, gcap;
	int eof, rst;
	int rerrno;
	const uint8_t *exp; /* the expected reply stream, elen bytes */
	size_t elen;
	size_t checked;     /* got[0..checked) matches exp */
	int diverged;       /* got is no longer a prefix of exp: waiting longer cannot help */
	int open_end;       /* exp is cut short (the client reset while the server owed output): bytes
			     * after it are checked later against the transform, not counted as divergence */
	size_t most;        /* the most a correct server can send: more is divergence (and bounds memory
			     * against a peer that sends endlessly) */
	int hold;           /* with open_end: like the recorded client, read no more than exp holds, so the
			     * server still owes output at the reset; dropped if the server stops reading */
	uint8_t *upper;     /* the transform of the client stream, when the expectation needs it */
	int client_rst;     /* the client's reset was played: the socket is closed */
	size_t need_min;    /* reply bytes the capture has before the client's reset */
};

/* Advances the prefix check over newly received bytes. */
static void tcp_check(struct tcp *t)
{
	while (t->checked < t->glen && t->checked < t->elen && t->got[t->checked] == t->exp[t->checked])
		t->checked++;
	if (t->checked < t->glen && (t->checked < t->elen || !t->open_end || t->glen > t->most))
		t->diverged = 1;
}

/* Reads what is there (fd is non-blocking), until the reply has diverged. Returns -1 on allocation
 * failure. */
static int tcp_read(struct tcp *t)
{
	while (!t->diverged) {
		size_t room;
		ssize_t n;
		if (t->gcap - t->glen < 65536) {
			size_t cap = t->gcap ? t->gcap * 2 : 131072;
			uint8_t *g = realloc(t->got, cap);
			if (!g)
				return -1;
			t->got = g;
			t->gcap = cap;
		}
		room = t->gcap - t->glen;
		if (t->hold && t->glen >= t->elen)
			return 0;
		if (t->hold && room > t->elen - t->glen)
			room = t->elen - t->glen;
		n = recv(t->fd, t->got + t->glen, room, 0);
		if (n > 0) {
			t->glen += (size_t)n;
			tcp_check(t);
			continue;
		}
		if (n == 0)
			t->eof = 1;
		else if (errno == EINTR)
			continue;
		else if (errno != EAGAIN && errno != EWOULDBLOCK) {
			t->rst = 1;
			t->rerrno = errno;
		}
		return 0;
	}
	return 0;
}

/* Waits until at least need bytes came, the server closed, or the deadline. Returns -1 on allocation
 * failure, 0 otherwise. */
static int tcp_wait(struct tcp *t, size_t need, int want_close, uint64_t deadline)
{
	while (!t->eof && !t->rst && !t->diverged && (t->glen < need || want_close)) {
		struct pollfd p = {.fd = t->fd, .events = POLLIN};
		int n = poll(&p, 1, util_ms_left(deadline));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		if (tcp_read(t) < 0)
			return -1;
	}
	return 0;
}

/* Sends b[0..len) while reading whatever the server answers (so its backpressure cannot deadlock us).
 * Returns 1 when sent, 0 when the server reset or the deadline passed, -1 on allocation failure. */
static int tcp_send(struct tcp *t, const uint8_t *b, size_t len, uint64_t deadline)
{
	while (len) {
		struct pollfd p = {.fd = t->fd, .events = POLLIN | POLLOUT};
		int n, holding = t->hold && t->glen >= t->elen, ms = util_ms_left(deadline);
		if (t->rst || t->diverged)
			return 0;
		if (holding) {
			/* Not reading, as the recorded client did not; but if the server stops reading too
			 * (backpressure, T8), read on rather than deadlock. */
			p.events = POLLOUT;
			ms = ms < 250 ? ms : 250;
		}
		n = poll(&p, 1, ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 && holding) {
			t->hold = 0;
			continue;
		}
		if (n <= 0)
			return 0;
		if ((p.revents & (POLLIN | POLLERR | POLLHUP)) && !t->eof && tcp_read(t) < 0)
			return -1;
		if (p.revents & (POLLOUT | POLLERR)) {
			ssize_t k = send(t->fd, b, len, MSG_NOSIGNAL);
			if (k > 0) {
				b += k;
				len -= (size_t)k;
			} else if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				t->rst = 1;
				t->rerrno = errno;
				return 0;
			}
		}
		if (t->eof && (p.revents & POLLHUP) && !(p.revents & POLLOUT))
			return 0;
	}
	return 1;
}

static const char *close_name(int fin, int rst)
{
	return rst ? "RST" : fin ? "FIN" : "no close";
}

/* Connects to target and sets up the expected reply stream. Returns PLAY_OK to go on, or PLAY_ERROR with
 * a reason in r->msg. */
static int tcp_open(struct tcp *t, const struct dec_flow *f, const struct net_addr *target,
		    const struct play_opts *o, struct play_result *r)
{
	const struct dec_dir *cs = &f->dir[DEC_C2S], *sc = &f->dir[DEC_S2C];
	char err[256];

	if (f->nev)
		pace(o, f->ev[0].ts_ns);
	t->fd = net_connect(target, SOCK_STREAM, o->timeout_ms, err, sizeof err);
	if (t->fd < 0) {
		snprintf(r->msg, sizeof r->msg, "%s", err);
		return PLAY_ERROR;
	}
	if (net_nonblock(t->fd, 1) < 0) {
		snprintf(r->msg, sizeof r->msg, "non-blocking socket: %s", strerror(errno));
		return PLAY_ERROR;
	}
	if (o->expect_upper) {
		/* What we send is a prefix of the recorded client stream, so every correct reply is a
		 * prefix of its transform. */
		t->upper = malloc(cs->len ? cs->len : 1);
		if (!t->upper) {
			snprintf(r->msg, sizeof r->msg, "out of memory");
			return PLAY_ERROR;
		}
		oracle_expect(t->upper, cs->data, cs->len);
		t->exp = t->upper;
		t->elen = cs->len;
	} else {
		t->exp = sc->data;
		t->elen = sc->len;
		/* The client reset before the server closed: the capture saw only the output that came before
		 * the reset, and the server may owe more (SPEC T6). A replay that reads everything may get it. */
		t->open_end = cs->rst && !sc->fin && !sc->rst;
		t->hold = t->open_end;
		t->most = cs->len > sc->len ? cs->len : sc->len;
	}
	return PLAY_OK;
}

/* Plays the client's actions in capture order, each after the server bytes that came before it, then
 * waits for the rest of the reply. Returns 0, or -1 when out of memory. */
static int tcp_play_actions(struct tcp *t, const struct dec_flow *f, const struct play_opts *o,
			    struct play_result *r)
{
	const struct dec_dir *cs = &f->dir[DEC_C2S], *sc = &f->dir[DEC_S2C];
	uint64_t deadline;
	size_t i;

	for (i = 0; i < f->nev && !t->client_rst && !t->diverged; i++) {
		const struct dec_ev *e = &f->ev[i];
		if (e->dir != DEC_C2S)
			continue;
		/* Causality: the server bytes that came before this action in the capture come first. */
		deadline = util_now_ns() + (uint64_t)o->timeout_ms * 1000000u;
		if (tcp_wait(t, e->peer_before, 0, deadline) < 0)
			return -1;
		/* The bytes that came before this action did not come (under --expect upper, only those a
		 * conforming server owes): the checks below say so, without one more timeout per action. */
		if (t->glen < (o->expect_upper && r->sent < e->peer_before ? r->sent : e->peer_before))
			break;
		pace(o, e->ts_ns);
		deadline = util_now_ns() + (uint64_t)o->timeout_ms * 1000000u;
		if (e->kind == DEC_EV_DATA) {
			int k = tcp_send(t, cs->data + e->off, e->len, deadline);
			if (k < 0)
				return -1;
			if (k == 0)
				break; /* the server reset or stalled: the checks below say so */
			r->sent += e->len;
			r->writes++;
		} else if (e->kind == DEC_EV_FIN) {
			shutdown(t->fd, SHUT_WR);
		} else if (e->kind == DEC_EV_RST) {
			struct linger lg = {.l_onoff = 1, .l_linger = 0};
			if (tcp_read(t) < 0)
				return -1;
			t->need_min = e->peer_before;
			setsockopt(t->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
			close(t->fd);
			t->fd = -1;
			t->client_rst = 1;
		}
	}
	if (t->client_rst || t->diverged)
		return 0;
	/* The rest of the reply, and the close when the capture has one. */
	deadline = util_now_ns() + (uint64_t)o->timeout_ms * 1000000u;
	return tcp_wait(t, o->expect_upper ? r->sent : sc->len, o->expect_upper ? cs->fin : sc->fin || sc->rst,
			deadline);
}

/* The reply stream the server should have sent (exp[0..elen)) and the first offset where the received
 * one departs from it. Bytes past the recorded stream, owed when the client reset, are checked against
 * the transform of what was sent; *beyond is then their count. Returns 0, or -1 when out of memory. */
static int tcp_compare(struct tcp *t, const struct dec_flow *f, const struct play_opts *o,
		       struct play_result *r, size_t *m, size_t *beyond)
{
	const struct dec_dir *cs = &f->dir[DEC_C2S], *sc = &f->dir[DEC_S2C];

	*beyond = 0;
	if (o->expect_upper) {
		/* The expected stream is the transform of what this replay sent. */
		*m = oracle_mismatch(cs->data, r->sent, t->got, t->glen);
		t->exp = t->upper;
		t->elen = r->sent;
		return 0;
	}
	t->exp = sc->data;
	t->elen = sc->len;
	for (*m = 0; *m < t->elen && *m < t->glen && t->exp[*m] == t->got[*m]; (*m)++)
		;
	if (t->client_rst && t->open_end && *m == t->elen && t->glen > t->elen) {
		/* Output the capture never saw: it must continue the transform of what was sent. */
		t->upper = malloc(r->sent ? r->sent : 1);
		if (!t->upper)
			return -1;
		oracle_expect(t->upper, cs->data, r->sent);
		*m = oracle_mismatch(cs->data, r->sent, t->got, t->glen);
		t->exp = t->upper;
		t->elen = r->sent;
		*beyond = t->glen - sc->len;
	}
	return 0;
}

/* Describes a reply stream that departs from the expected one at offset m, with a hexdump. */
static void tcp_stream_mismatch(const struct tcp *t, const struct dec_flow *f, size_t m, size_t beyond,
				struct play_result *r)
{
	const struct dec_dir *sc = &f->dir[DEC_S2C];

	r->dir = DEC_S2C;
	r->offset = m;
	if (beyond && m < t->glen)
		snprintf(r->msg, sizeof r->msg,
			 "server->client differs at offset %zu, after the %zu recorded "
			 "bytes, from the transform of the %zu bytes sent (got %zu)",
			 m, sc->len, r->sent, t->glen);
	else if (t->client_rst && t->glen < t->need_min)
		snprintf(r->msg, sizeof r->msg,
			 "server->client ends early at offset %zu: the capture has %zu "
			 "bytes before the client's reset",
			 t->glen, t->need_min);
	else if (m < t->glen && m < t->elen)
		snprintf(r->msg, sizeof r->msg, "server->client differs at offset %zu (expected %zu bytes, got %zu)",
			 m, t->elen, t->glen);
	else if (t->glen < t->elen)
		snprintf(r->msg, sizeof r->msg,
			 "server->client ends early at offset %zu (expected %zu bytes, got %zu%s%s)", m, t->elen,
			 t->glen, t->rst ? ", then RST" : t->eof ? ", then FIN" : ", then silence",
			 t->rst || t->eof ? "" : " until the timeout");
	else
		snprintf(r->msg, sizeof r->msg, "server->client has extra bytes at offset %zu (expected %zu, got %zu)",
			 m, t->elen, t->glen);
	play_hexdiff(r->detail, sizeof r->detail, t->exp, t->elen, t->got, t->glen, m);
}

/* Judges what came back: the reply stream, then how the server closed. Returns PLAY_OK, PLAY_MISMATCH,
 * or PLAY_ERROR (out of memory), with r->msg filled. */
static int tcp_verdict(struct tcp *t, const struct dec_flow *f, const struct play_opts *o, struct play_result *r)
{
	const struct dec_dir *cs = &f->dir[DEC_C2S], *sc = &f->dir[DEC_S2C];
	size_t m, beyond;
	int ok;

	r->got = t->glen;
	if (tcp_compare(t, f, o, r, &m, &beyond) < 0) {
		snprintf(r->msg, sizeof r->msg, "out of memory");
		return PLAY_ERROR;
	}
	if (t->client_rst) /* after our reset, a correct prefix is all a server can owe */
		ok = m == t->glen && t->glen >= t->need_min;
	else
		ok = m == t->glen && m == t->elen;
	if (!ok) {
		tcp_stream_mismatch(t, f, m, beyond, r);
		return PLAY_MISMATCH;
	}
	if (!t->client_rst && !o->expect_upper && (sc->fin || sc->rst) && (sc->rst != t->rst || !(t->eof || t->rst))) {
		r->dir = DEC_S2C;
		r->offset = t->glen;
		snprintf(r->msg, sizeof r->msg, "server->client closed with %s at offset %zu, recorded %s",
			 t->rst || t->eof ? close_name(t->eof, t->rst) : "nothing before the timeout", t->glen,
			 close_name(sc->fin, sc->rst));
		return PLAY_MISMATCH;
	}
	if (!t->client_rst && o->expect_upper && cs->fin && !t->eof) {
		/* SPEC T4: after our FIN every owed byte, then FIN, not RST. */
		r->dir = DEC_S2C;
		r->offset = t->glen;
		snprintf(r->msg, sizeof r->msg,
			 "server->client closed with %s at offset %zu after the client's FIN, "
			 "expected FIN (T4)",
			 t->rst ? "RST" : "nothing before the timeout", t->glen);
		return PLAY_MISMATCH;
	}
	snprintf(r->msg, sizeof r->msg, "sent %zu bytes in %zu writes%s, got %zu bytes%s%s", r->sent, r->writes,
		 t->client_rst ? " then RST" : cs->fin ? " then FIN" : "", t->glen,
		 t->client_rst ? "" : t->rst ? " then RST" : t->eof ? " then FIN" : "",
		 beyond ? ", those past the recorded ones (owed when the client reset) checked against the transform"
			: "");
	return PLAY_OK;
}

static int play_tcp(const struct dec_flow *f, const struct net_addr *target, const struct play_opts *o,
		    struct play_result *r)
{
	struct tcp t;
	int rc;

	memset(&t, 0, sizeof t);
	t.fd = -1;
	rc = tcp_open(&t, f, target, o, r);
	if (rc == PLAY_OK && tcp_play_actions(&t, f, o, r) < 0) {
		snprintf(r->msg, sizeof r->msg, "out of memory");
		rc = PLAY_ERROR;
	}
	if (rc == PLAY_OK)
		rc = tcp_verdict(&t, f, o, r);
	if (t.fd >= 0)
		close(t.fd);
	free(t.got);
	free(t.upper);
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

static int play_udp(const struct dec_flow *f, const struct net_addr *target, const struct play_opts *o,
		    struct play_result *r)
{
	const struct dec_dir *cs = &f->dir[DEC_C2S], *sc = &f->dir[DEC_S2C];
	char err[256], why[256];
	uint8_t *rep = NULL;
	size_t *recrep = NULL;
	size_t i, k = 0, nreq = 0, byrule = 0;
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
	for (i = 0; i < f->nev; i++) {
		const struct dec_ev *e = &f->ev[i];
		const uint8_t *req = cs->data + e->off;
		const struct dec_ev *re;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		uint64_t deadline;
		ssize_t n;
		size_t m;
		int pr, c;
		if (e->dir != DEC_C2S || e->kind != DEC_EV_DGRAM)
			continue;
		re = !o->expect_upper && recrep[k] != SIZE_MAX ? &f->ev[recrep[k]] : NULL;
		k++;
		pace(o, e->ts_ns);
		if (send(fd, req, e->len, 0) < 0) {
			snprintf(r->msg, sizeof r->msg, "send of datagram %zu (%zu bytes): %s", k, e->len, strerror(errno));
			goto out;
		}
		r->writes++;
		r->sent += e->len;
		deadline = util_now_ns() + (uint64_t)o->timeout_ms * 1000000u;
		do
			pr = poll(&p, 1, util_ms_left(deadline));
		while (pr < 0 && errno == EINTR);
		n = pr > 0 ? recv(fd, rep, 65536, MSG_DONTWAIT) : -1;
		if (n < 0 && pr > 0 && k == 1 && errno == ECONNREFUSED) {
			/* ICMP port unreachable before any reply: nothing listens there, a setup error. */
			snprintf(r->msg, sizeof r->msg, "nothing listens at the target: datagram 1 was refused (%s)",
				 strerror(errno));
			goto out;
		}
		if (n < 0) {
			r->dir = DEC_S2C;
			r->offset = k;
			snprintf(r->msg, sizeof r->msg, "no reply to datagram %zu (%zu bytes)%s%s (U1)", k, e->len,
				 pr > 0 ? ": " : " before the timeout", pr > 0 ? strerror(errno) : "");
			rc = PLAY_MISMATCH;
			goto out;
		}
		r->got += (size_t)n;
		if (re) {
			/* Recorded mode: the reply must be the recorded reply datagram, byte for byte. */
			const uint8_t *exp = sc->data + re->off;
			for (m = 0; m < re->len && m < (size_t)n && exp[m] == rep[m]; m++)
				;
			if (m == re->len && m == (size_t)n)
				continue;
			r->dir = DEC_S2C;
			r->offset = k;
			if (m < re->len && m < (size_t)n)
				snprintf(r->msg, sizeof r->msg, "reply to datagram %zu differs from the recorded reply at "
					 "offset %zu (expected %zu bytes, got %zd)", k, m, re->len, n);
			else
				snprintf(r->msg, sizeof r->msg, "reply to datagram %zu is %s than the recorded reply "
					 "(expected %zu bytes, got %zd; first %zu agree)", k,
					 (size_t)n < re->len ? "shorter" : "longer", re->len, n, m);
			play_hexdiff(r->detail, sizeof r->detail, exp, re->len, rep, (size_t)n, m);
			rc = PLAY_MISMATCH;
			goto out;
		}
		byrule += !o->expect_upper;
		c = oracle_udp_check(req, e->len, rep, (size_t)n, why, sizeof why);
		if (c != ORACLE_UDP_OK) {
			uint8_t *exp = malloc(e->len ? e->len : 1);
			m = oracle_mismatch(req, e->len, rep, (size_t)n);
			r->dir = DEC_S2C;
			r->offset = k;
			snprintf(r->msg, sizeof r->msg, "reply to datagram %zu differs at offset %zu: %s%s", k, m, why,
				 o->expect_upper ? "" : " (no recorded reply: checked by the rule)");
			if (exp) {
				oracle_expect(exp, req, e->len);
				play_hexdiff(r->detail, sizeof r->detail, exp, e->len, rep, (size_t)n, m);
				free(exp);
			}
			rc = PLAY_MISMATCH;
			goto out;
		}
	}
	if (o->expect_upper)
		snprintf(r->msg, sizeof r->msg, "sent %zu datagrams (%zu bytes), got %zu right replies (%zu bytes)",
			 r->writes, r->sent, r->writes, r->got);
	else if (!byrule)
		snprintf(r->msg, sizeof r->msg, "sent %zu datagrams (%zu bytes), got %zu replies equal to the "
			 "recorded ones (%zu bytes)", r->writes, r->sent, r->writes, r->got);
	else
		snprintf(r->msg, sizeof r->msg, "sent %zu datagrams (%zu bytes), got %zu right replies (%zu bytes): "
			 "%zu equal to the recorded ones, %zu with no recorded reply checked by the rule (U1-U6)",
			 r->writes, r->sent, r->writes, r->got, r->writes - byrule, byrule);
	rc = PLAY_OK;
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
