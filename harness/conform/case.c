/* case.c - a case's result: failure, timeout and skip reasons, the case's time budget, and the
 * excerpts of a byte comparison from the oracle; and what the cases of both transports share: the text
 * they send, the Unicode hint and a target's IPv6 address. */
#include "case.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "oracle.h"
#include "report.h"
#include "util.h"

void case_result_clear(struct case_result *r)
{
	memset(r, 0, sizeof *r);
	r->offset = -1;
}

int case_wait_ms(const struct case_context *c, int ms)
{
	if (c->deadline_ns == 0)
		return ms;
	int left = util_ms_left(c->deadline_ns);
	return left < ms ? left : ms;
}

static void set_message(struct case_context *c, const char *fmt, va_list ap)
{
	if (c->result->status == CASE_FAIL)
		return; /* the first reason is the one that counts */
	vsnprintf(c->result->message, sizeof c->result->message, fmt, ap);
}

int case_fail(struct case_context *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_message(c, fmt, ap);
	va_end(ap);
	c->result->status = CASE_FAIL;
	return -1;
}

int case_timeout(struct case_context *c, const char *fmt, ...)
{
	va_list ap;
	int first = c->result->status != CASE_FAIL;
	va_start(ap, fmt);
	set_message(c, fmt, ap);
	va_end(ap);
	c->result->status = CASE_FAIL;
	if (first)
		c->result->timed_out = 1;
	return -1;
}

int case_skip(struct case_context *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->result->message, sizeof c->result->message, fmt, ap);
	va_end(ap);
	c->result->status = CASE_SKIP;
	return -1;
}

int case_take_failure(struct case_context *c, char *why, size_t whylen)
{
	int timed_out = c->result->timed_out;
	snprintf(why, whylen, "%s", c->result->message);
	c->result->message[0] = '\0';
	c->result->status = CASE_PASS;
	c->result->timed_out = 0;
	return timed_out;
}

void case_note_difference(struct case_context *c, const unsigned char *sent, size_t sent_len,
                          const unsigned char *got, size_t got_len, size_t base)
{
	size_t mismatch = oracle_mismatch(sent, sent_len, got, got_len);
	size_t from = mismatch > 8 ? mismatch - 8 : 0;
	unsigned char want[32];
	size_t want_len = sent_len > from ? sent_len - from : 0,
	       shown_len = got_len > from ? got_len - from : 0;
	if (want_len > sizeof want)
		want_len = sizeof want;
	if (shown_len > 24)
		shown_len = 24;
	oracle_expect(want, sent + from, want_len);
	if (want_len > 24)
		want_len = 24;
	c->result->offset = (long long)(base + mismatch);
	char expected[CASE_EXCERPT_MAX - 40], actual[CASE_EXCERPT_MAX - 40];
	rep_escape(expected, sizeof expected, want, want_len);
	rep_escape(actual, sizeof actual, got + from, shown_len);
	snprintf(c->result->expected, sizeof c->result->expected, "@%zu \"%s\"%s", base + from, expected,
	         from + want_len >= sent_len ? " <end>" : "");
	snprintf(c->result->actual, sizeof c->result->actual, "@%zu \"%s\"%s", base + from, actual,
	         from + shown_len >= got_len ? " <end>" : "");
}

void case_pattern(unsigned char *p, size_t n, uint32_t seed)
{
	uint32_t x = seed ? seed : 1u;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		unsigned v = (x >> 11) % 96u;
		p[i] = (unsigned char)(v == 95 ? '\n' : 0x20 + v);
	}
}

const unsigned char case_invalid_utf8[] = "bad utf-8: \xff\xfe lone \x80 continuation, overlong \xc0\xaf, "
                                          "surrogate \xed\xa0\x80, cut \xe2\x82 and caf\xc3";
const size_t case_invalid_utf8_len = sizeof case_invalid_utf8 - 1;

/* Text in UTF-8 that Unicode-aware uppercasing changes (SPEC X1 sends it back byte for byte), one kind
 * a line: Latin-1 supplement letters, letters whose uppercase is longer (sharp s to "SS", the fi
 * ligature to "FI"), Greek and Cyrillic, dotless i (and dotted I and the Kelvin sign, which uppercasing
 * keeps). Each line is well under 1024 bytes, so a port that reads 1024 at a time never splits one. */
const char *const case_utf8_letters[] = {
    "Latin-1 supplement: caf\xc3\xa9 ma\xc3\xb1"
    "ana \xc3\xbf"
    "es \xc3\xa0 \xc3\xbe \xc2\xb5\n",
    "longer in uppercase: stra\xc3\x9f"
    "e \xef\xac\x81le \xef\xac\x82ow\n",
    "Greek and Cyrillic: \xce\xb1\xce\xb2\xce\xb3 \xcf\x89\xcf\x83\xcf\x82 \xd0\xb6\xd1\x83\xd0\xba "
    "\xd1\x91\xd0\xb6\n",
    "dotless \xc4\xb1, dotted \xc4\xb0, Kelvin \xe2\x84\xaa, long \xc5\xbf\n",
};
const size_t case_utf8_letters_count = sizeof case_utf8_letters / sizeof case_utf8_letters[0];

/* Latin-1 single bytes, and valid UTF-8 letters mixed with invalid bytes (a port that decodes with
 * errors="surrogateescape" or "replace" still uppercases the valid ones). */
const char *const case_utf8_mixed[] = {
    "Latin-1 bytes: caf\xe9 na\xefve \xff \xe0 la carte\n",
    "valid and invalid: caf\xc3\xa9 \xff ma\xc3\xb1"
    "ana \xc3( stra\xc3\x9f"
    "e \xe2\x82 \xd0\xb6\xd1\x83\xd0\xba\n",
};
const size_t case_utf8_mixed_count = sizeof case_utf8_mixed / sizeof case_utf8_mixed[0];

void case_hint_unicode(struct case_context *c, const void *sent, size_t sent_len, const unsigned char *got,
                       size_t got_len)
{
	char why[CASE_MESSAGE_MAX];
	if (strstr(c->result->message, "; looks like") != NULL)
		return; /* hinted already, from the same bytes */
	if (oracle_unicode_hint(sent, sent_len, got, got_len, why, sizeof why) == ORACLE_HINT_NONE)
		return;
	size_t used = strlen(c->result->message);
	snprintf(c->result->message + used, sizeof c->result->message - used, "; %s", why);
}

int case_v6_of(const struct net_addr *v4, int has6, const struct net_addr *v6, struct net_addr *out)
{
	if (has6) {
		*out = *v6;
		return 0;
	}
	if (v4->ss.ss_family == AF_INET6) {
		*out = *v4;
		return 0;
	}
	const struct sockaddr_in *in = (const struct sockaddr_in *)&v4->ss;
	if (in->sin_addr.s_addr != htonl(INADDR_LOOPBACK))
		return -1;
	char err[128];
	if (net_parse("[::1]:0", out, err, sizeof err) < 0)
		return -1;
	net_set_port(out, net_port((const struct sockaddr *)&v4->ss));
	return 0;
}
