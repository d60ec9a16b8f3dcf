/* play_udp.c - replays one UDP flow: each datagram needs one right reply (see play.h). */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "oracle.h"
#include "play.h"
#include "util.h"

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
		snprintf(r->msg, sizeof r->msg,
		         "nothing listens at the target: datagram 1 was refused (%s); to replay only the TCP "
		         "flows, give --only tcp",
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
	play_hexdiff(r->detail, sizeof r->detail, exp, elen, rep, n, m);
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
		play_hexdiff(r->detail, sizeof r->detail, exp, len, rep, n, m);
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

int play_udp(const struct dec_flow *f, const struct net_addr *target, const struct play_opts *o,
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
		play_pace(o, e->ts_ns);
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
