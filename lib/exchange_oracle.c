/* exchange_oracle.c - the stream oracle of a TCP exchange (exchange_oracle.h): pure, no I/O. */
#include "exchange_oracle.h"

#include <stdio.h>
#include <string.h>

#include "oracle.h"

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

int xchg_failed(enum xchg_verdict v)
{
	return v != XCHG_RIGHT_SO_FAR && v != XCHG_COMPLETE;
}

static int recorded(const struct xchg_oracle *o)
{
	return o->expect.mode == XCHG_MODE_RECORDED;
}

size_t xchg_oracle_owed(const struct xchg_oracle *o)
{
	return recorded(o) ? o->expect.reply_len : o->sent;
}

size_t xchg_oracle_planned(const struct xchg_oracle *o)
{
	if (recorded(o))
		return o->expect.reply_len;
	return o->expect.endless || o->sent > o->expect.sent_len ? o->sent : o->expect.sent_len;
}

/* The most reply bytes that may have come by now: more are extra. */
static size_t received_limit(const struct xchg_oracle *o)
{
	if (recorded(o) && o->expect.open_end)
		return o->expect.reply_len > o->sent ? o->expect.reply_len : o->sent;
	return xchg_oracle_owed(o);
}

static int finished_sending(const struct xchg_oracle *o)
{
	return o->shut || (!o->expect.endless && o->sent >= o->expect.sent_len);
}

static enum xchg_close wanted_close(const struct xchg_oracle *o)
{
	if (o->expect.close != XCHG_CLOSE_DEFAULT)
		return o->expect.close;
	return o->expect.half_close ? XCHG_CLOSE_FIN : XCHG_CLOSE_NONE;
}

/* The rule a stream that ends short breaks: T4 after the client's half-close, T1 before; none when
 * the expectation is a recording. */
static const char *short_rule(const struct xchg_oracle *o)
{
	if (recorded(o))
		return NULL;
	return o->shut ? "T4" : "T1";
}

static enum xchg_verdict fail(struct xchg_oracle *o, enum xchg_verdict v, size_t offset, const char *rule)
{
	if (xchg_failed(o->verdict))
		return o->verdict;
	o->verdict = v;
	o->offset = offset;
	o->rule = rule;
	return v;
}

/* Recomputes a verdict that is not a failure from the state. */
static enum xchg_verdict settle(struct xchg_oracle *o)
{
	enum xchg_close want = wanted_close(o);
	int closed;

	if (xchg_failed(o->verdict))
		return o->verdict;
	o->verdict = XCHG_RIGHT_SO_FAR;
	if (o->expect.client_resets || o->client_reset)
		return o->verdict;
	if (o->got < xchg_oracle_owed(o) || (!recorded(o) && !finished_sending(o)))
		return o->verdict;
	closed = want == XCHG_CLOSE_FIN ? o->fin : want == XCHG_CLOSE_RST ? o->rst : 1;
	if (closed)
		o->verdict = XCHG_COMPLETE;
	return o->verdict;
}

void xchg_oracle_init(struct xchg_oracle *o, const struct xchg_expect *e)
{
	memset(o, 0, sizeof *o);
	o->expect = *e;
	o->got_byte = o->want_byte = -1;
	settle(o);
}

enum xchg_verdict xchg_oracle_sent(struct xchg_oracle *o, size_t n)
{
	o->sent += n;
	return settle(o);
}

enum xchg_verdict xchg_oracle_shut(struct xchg_oracle *o)
{
	o->shut = 1;
	return settle(o);
}

/* The expected reply byte at stream offset at (at < received_limit()). */
static unsigned char expected_byte(const struct xchg_oracle *o, size_t at)
{
	const struct xchg_expect *e = &o->expect;
	size_t idx = e->period ? at % e->period : at;

	switch (e->mode) {
	case XCHG_MODE_MIRROR:
		return e->reply[idx];
	case XCHG_MODE_RECORDED:
		return at < e->reply_len ? e->reply[at] : oracle_x1(e->sent[at]);
	case XCHG_MODE_LENGTH:
		return 0;
	default:
		return oracle_x1(e->sent[idx]);
	}
}

/* How many leading bytes of p[0..n) (n within received_limit) are right at stream offset off. */
static size_t match_len(const struct xchg_oracle *o, size_t off, const unsigned char *p, size_t n)
{
	const struct xchg_expect *e = &o->expect;
	size_t done = 0;

	if (e->mode == XCHG_MODE_LENGTH)
		return n;
	while (done < n) {
		size_t at = off + done, seg = n - done, m = 0;
		const unsigned char *ref;
		int x1;
		if (e->mode == XCHG_MODE_RECORDED) {
			x1 = at >= e->reply_len;
			ref = x1 ? e->sent + at : e->reply + at;
			if (!x1)
				seg = min_size(seg, e->reply_len - at);
		} else {
			size_t idx = e->period ? at % e->period : at;
			if (e->period)
				seg = min_size(seg, e->period - idx);
			x1 = e->mode == XCHG_MODE_X1;
			ref = (x1 ? e->sent : e->reply) + idx;
		}
		if (x1)
			m = oracle_mismatch(ref, seg, p + done, seg);
		else if (memcmp(ref, p + done, seg) == 0)
			m = seg;
		else
			while (ref[m] == p[done + m])
				m++;
		done += m;
		if (m < seg)
			break;
	}
	return done;
}

/* Keeps the received bytes around the failing byte p[k] (stream offset o->got + k) for reports. */
static void keep_window(struct xchg_oracle *o, const unsigned char *p, size_t n, size_t k)
{
	size_t from_chunk = min_size(k, 16), from_tail = min_size(16 - from_chunk, o->tail_len);
	size_t after = min_size(n - k, sizeof o->window - from_chunk - from_tail);

	memcpy(o->window, o->tail + o->tail_len - from_tail, from_tail);
	memcpy(o->window + from_tail, p + k - from_chunk, from_chunk + after);
	o->window_len = from_tail + from_chunk + after;
	o->window_off = o->got + k - from_chunk - from_tail;
}

static void keep_tail(struct xchg_oracle *o, const unsigned char *p, size_t n)
{
	size_t cap = sizeof o->tail;

	if (n >= cap) {
		memcpy(o->tail, p + n - cap, cap);
		o->tail_len = cap;
		return;
	}
	if (o->tail_len + n > cap) {
		size_t drop = o->tail_len + n - cap;
		memmove(o->tail, o->tail + drop, o->tail_len - drop);
		o->tail_len -= drop;
	}
	memcpy(o->tail + o->tail_len, p, n);
	o->tail_len += n;
}

/* The rule a wrong byte at offset at breaks. */
static const char *wrong_rule(const struct xchg_oracle *o, size_t at)
{
	switch (o->expect.mode) {
	case XCHG_MODE_RECORDED:
		return at < o->expect.reply_len ? NULL : "X1";
	case XCHG_MODE_MIRROR:
		return "T1";
	default:
		return "X1";
	}
}

enum xchg_verdict xchg_oracle_recv(struct xchg_oracle *o, const unsigned char *p, size_t n)
{
	size_t limit = received_limit(o), room, m;

	if (n == 0)
		return o->verdict;
	if (!xchg_failed(o->verdict)) {
		room = o->got < limit ? limit - o->got : 0;
		m = match_len(o, o->got, p, min_size(n, room));
		if (m < min_size(n, room)) {
			keep_window(o, p, n, m);
			fail(o, XCHG_WRONG_BYTE, o->got + m, wrong_rule(o, o->got + m));
			o->got_byte = p[m];
			o->want_byte = expected_byte(o, o->got + m);
		} else if (m < n) {
			keep_window(o, p, n, m);
			fail(o, XCHG_EXTRA_BYTES, o->got + m,
			     recorded(o) && !o->expect.open_end ? NULL : "T1");
			o->got_byte = p[m];
		}
	}
	keep_tail(o, p, n);
	o->got += n;
	return settle(o);
}

/* Whether the server's close (FIN or RST) is judged before its kind matters: the stream has failed
 * already, the client resets it, or it ends before every planned byte (then the failure is early). */
static int close_decided(struct xchg_oracle *o, enum xchg_verdict early)
{
	if (xchg_failed(o->verdict) || o->expect.client_resets || o->client_reset)
		return 1;
	if (o->got < xchg_oracle_planned(o)) {
		fail(o, early, o->got, short_rule(o));
		return 1;
	}
	return 0;
}

enum xchg_verdict xchg_oracle_fin(struct xchg_oracle *o)
{
	enum xchg_close want = wanted_close(o);

	o->fin = 1;
	if (close_decided(o, XCHG_EARLY_FIN))
		return o->verdict;
	if (want == XCHG_CLOSE_RST)
		return fail(o, XCHG_WRONG_CLOSE, o->got, NULL);
	if (want == XCHG_CLOSE_NONE || (o->expect.close == XCHG_CLOSE_DEFAULT && !o->shut))
		return fail(o, XCHG_FIN_BEFORE_SHUT, o->got, recorded(o) ? NULL : "T2");
	return settle(o);
}

enum xchg_verdict xchg_oracle_rst(struct xchg_oracle *o)
{
	enum xchg_close want = wanted_close(o);

	o->rst = 1;
	if (close_decided(o, XCHG_RESET))
		return o->verdict;
	if (want == XCHG_CLOSE_RST || want == XCHG_CLOSE_ANY)
		return settle(o);
	if (want == XCHG_CLOSE_FIN && o->expect.close == XCHG_CLOSE_FIN)
		return fail(o, XCHG_WRONG_CLOSE, o->got, recorded(o) ? NULL : "T4");
	return fail(o, XCHG_RESET, o->got, o->shut ? "T4" : "T2");
}

enum xchg_verdict xchg_oracle_client_reset(struct xchg_oracle *o, size_t owed_min)
{
	o->client_reset = 1;
	o->reset_owed = owed_min;
	if (xchg_failed(o->verdict))
		return o->verdict;
	if (o->got < owed_min)
		return fail(o, XCHG_INCOMPLETE, o->got, recorded(o) ? NULL : "T1");
	o->verdict = XCHG_COMPLETE;
	return o->verdict;
}

enum xchg_verdict xchg_oracle_finish(struct xchg_oracle *o)
{
	enum xchg_close want = wanted_close(o);

	if (settle(o) != XCHG_RIGHT_SO_FAR)
		return o->verdict;
	if (o->expect.client_resets || o->client_reset) {
		o->verdict = XCHG_COMPLETE;
		return o->verdict;
	}
	if (o->got < xchg_oracle_owed(o))
		return fail(o, XCHG_INCOMPLETE, o->got, short_rule(o));
	if ((want == XCHG_CLOSE_FIN && !o->fin) || (want == XCHG_CLOSE_RST && !o->rst))
		return fail(o, XCHG_NO_CLOSE, o->got, recorded(o) ? NULL : "T4");
	o->verdict = XCHG_COMPLETE;
	return o->verdict;
}

size_t xchg_oracle_expected(const struct xchg_oracle *o, size_t off, unsigned char *dst, size_t n)
{
	size_t limit = received_limit(o), i;

	if (o->expect.mode == XCHG_MODE_LENGTH || off >= limit)
		return 0;
	n = min_size(n, limit - off);
	for (i = 0; i < n; i++)
		dst[i] = expected_byte(o, off + i);
	return n;
}

const char *xchg_verdict_name(enum xchg_verdict v)
{
	static const char *const names[] = {
	    [XCHG_RIGHT_SO_FAR] = "right so far",
	    [XCHG_COMPLETE] = "complete",
	    [XCHG_WRONG_BYTE] = "wrong byte",
	    [XCHG_EXTRA_BYTES] = "extra bytes",
	    [XCHG_EARLY_FIN] = "FIN too early",
	    [XCHG_FIN_BEFORE_SHUT] = "FIN before the half-close",
	    [XCHG_RESET] = "reset",
	    [XCHG_WRONG_CLOSE] = "wrong close",
	    [XCHG_INCOMPLETE] = "incomplete",
	    [XCHG_NO_CLOSE] = "no close",
	};

	if ((size_t)v >= sizeof names / sizeof names[0] || names[v] == NULL)
		return "unknown verdict";
	return names[v];
}

static const char *close_seen(const struct xchg_oracle *o)
{
	return o->rst ? ", then RST" : o->fin ? ", then FIN" : "";
}

/* The text of a failure, without the rule. */
static void describe_failure(const struct xchg_oracle *o, char *buf, size_t len)
{
	size_t plan = xchg_oracle_planned(o);
	const char *after_shut = o->shut ? " after the client's half-close" : "";

	switch (o->verdict) {
	case XCHG_WRONG_BYTE:
		snprintf(buf, len, "wrong byte at offset %zu: got 0x%02x, expected 0x%02x%s", o->offset,
		         (unsigned)o->got_byte, (unsigned)o->want_byte,
		         recorded(o) && o->offset < o->expect.reply_len ? " (the recorded stream's)" : "");
		break;
	case XCHG_EXTRA_BYTES:
		snprintf(buf, len, "extra bytes from offset %zu: %zu received, %zu owed", o->offset, o->got,
		         received_limit(o));
		break;
	case XCHG_EARLY_FIN:
		snprintf(buf, len, "FIN after %zu of %zu bytes%s", o->got, plan, after_shut);
		break;
	case XCHG_FIN_BEFORE_SHUT:
		snprintf(buf, len, "FIN after %zu of %zu bytes, before the client half-closed", o->got, plan);
		break;
	case XCHG_RESET:
		snprintf(buf, len, "reset (RST) after %zu of %zu bytes%s", o->got, plan, after_shut);
		break;
	case XCHG_WRONG_CLOSE:
		snprintf(buf, len, "closed with %s after %zu bytes, expected %s", o->rst ? "RST" : "FIN",
		         o->got, wanted_close(o) == XCHG_CLOSE_RST ? "RST" : "FIN");
		break;
	case XCHG_INCOMPLETE:
		if (o->client_reset)
			snprintf(buf, len, "%zu bytes back before the client's reset, %zu expected before it",
			         o->got, o->reset_owed);
		else
			snprintf(buf, len, "%zu of %zu bytes back%s, then nothing", o->got,
			         xchg_oracle_owed(o), after_shut);
		break;
	default:
		snprintf(buf, len, "all %zu bytes back%s but no %s", o->got, after_shut,
		         wanted_close(o) == XCHG_CLOSE_RST ? "RST" : "FIN");
		break;
	}
}

char *xchg_oracle_describe(const struct xchg_oracle *o, char *buf, size_t len)
{
	size_t used;

	if (len == 0)
		return buf;
	if (!xchg_failed(o->verdict)) {
		snprintf(buf, len, "%zu of %zu bytes back%s%s%s", o->got, xchg_oracle_planned(o),
		         o->shut ? " (half-closed)" : "", close_seen(o),
		         o->verdict == XCHG_COMPLETE ? ": complete" : " so far");
		return buf;
	}
	describe_failure(o, buf, len);
	used = strlen(buf);
	if (o->rule != NULL && used < len)
		snprintf(buf + used, len - used, " (%s)", o->rule);
	return buf;
}
