/* case.c - a case's result: failure, timeout and skip reasons, the case's time budget, and the
 * excerpts of a byte comparison from the oracle. */
#include "case.h"

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
