/* test_exchange.c - CUnit tests of a TCP exchange: lib/exchange_oracle.c, the stream oracle, by a table of
 * event scripts (each fed whole and again one byte at a time), and lib/exchange.c, the driver, against
 * small servers in threads of this test over loopback TCP. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "exchange.h"
#include "net.h"
#include "oracle.h"
#include "unit.h"
#include "util.h"

/* ---- The oracle: a table of scripts ---- */

/* A script is a '|'-separated list of events: "sent:N" (N more bytes sent; "sent" alone: all that
 * remain), "recv:BYTES", "shut", "fin", "rst", "finish", "creset:N" (the client resets, N owed). */
struct oracle_case {
	const char *name;
	enum xchg_mode mode;
	const char *sent, *reply;
	int half_close;
	enum xchg_close close;
	int open_end, client_resets;
	const char *script;
	enum xchg_verdict verdict;
	size_t offset; /* checked for failures */
	const char *rule;
};

static const struct oracle_case oracle_cases[] = {
    {"x1 complete", XCHG_MODE_X1, "hello", NULL, 0, 0, 0, 0, "sent|recv:HELLO", XCHG_COMPLETE, 0, NULL},
    {"x1 right so far", XCHG_MODE_X1, "hello", NULL, 0, 0, 0, 0, "sent|recv:HEL", XCHG_RIGHT_SO_FAR, 0, NULL},
    {"x1 nothing yet", XCHG_MODE_X1, "hello", NULL, 0, 0, 0, 0, "sent:2", XCHG_RIGHT_SO_FAR, 0, NULL},
    {"x1 empty stream", XCHG_MODE_X1, "", NULL, 0, 0, 0, 0, "finish", XCHG_COMPLETE, 0, NULL},
    {"x1 non-letters unchanged", XCHG_MODE_X1, "a{z}@[`0\x7f", NULL, 0, 0, 0, 0, "sent|recv:A{Z}@[`0\x7f",
     XCHG_COMPLETE, 0, NULL},
    {"x1 high bytes unchanged", XCHG_MODE_X1, "\xe0\xff\xc3\xa9", NULL, 0, 0, 0, 0,
     "sent|recv:\xe0\xff\xc3\xa9", XCHG_COMPLETE, 0, NULL},
    {"x1 wrong byte", XCHG_MODE_X1, "hello", NULL, 0, 0, 0, 0, "sent|recv:HElLO", XCHG_WRONG_BYTE, 2, "X1"},
    {"x1 high byte changed", XCHG_MODE_X1, "a\xe9", NULL, 0, 0, 0, 0, "sent|recv:A\xc9", XCHG_WRONG_BYTE, 1,
     "X1"},
    {"x1 wrong first byte", XCHG_MODE_X1, "hello", NULL, 0, 0, 0, 0, "sent|recv:hELLO", XCHG_WRONG_BYTE, 0,
     "X1"},
    {"x1 extra byte", XCHG_MODE_X1, "hello", NULL, 0, 0, 0, 0, "sent|recv:HELLO!", XCHG_EXTRA_BYTES, 5, "T1"},
    {"x1 answer before the send", XCHG_MODE_X1, "hello", NULL, 0, 0, 0, 0, "sent:2|recv:HEL",
     XCHG_EXTRA_BYTES, 2, "T1"},
    {"x1 failure sticks", XCHG_MODE_X1, "hello", NULL, 0, 0, 0, 0, "sent|recv:HX|rst|finish", XCHG_WRONG_BYTE,
     1, "X1"},
    {"x1 more sent after complete", XCHG_MODE_X1, "hello", NULL, 0, 0, 0, 0, "sent:2|recv:HE|sent:3",
     XCHG_RIGHT_SO_FAR, 0, NULL},
    {"half-close complete", XCHG_MODE_X1, "hello", NULL, 1, 0, 0, 0, "sent|shut|recv:HELLO|fin",
     XCHG_COMPLETE, 0, NULL},
    {"half-close, bytes without FIN", XCHG_MODE_X1, "hello", NULL, 1, 0, 0, 0, "sent|shut|recv:HELLO",
     XCHG_RIGHT_SO_FAR, 0, NULL},
    {"half-close, no FIN at the end", XCHG_MODE_X1, "hello", NULL, 1, 0, 0, 0, "sent|shut|recv:HELLO|finish",
     XCHG_NO_CLOSE, 5, "T4"},
    {"half-close, FIN too early", XCHG_MODE_X1, "hello", NULL, 1, 0, 0, 0, "sent|shut|recv:HEL|fin",
     XCHG_EARLY_FIN, 3, "T4"},
    {"FIN too early, no half-close", XCHG_MODE_X1, "hello", NULL, 0, 0, 0, 0, "sent|recv:HEL|fin",
     XCHG_EARLY_FIN, 3, "T1"},
    {"FIN before all is sent", XCHG_MODE_X1, "hello", NULL, 1, 0, 0, 0, "sent:2|recv:HE|fin", XCHG_EARLY_FIN,
     2, "T1"},
    {"FIN before the half-close", XCHG_MODE_X1, "hello", NULL, 1, 0, 0, 0, "sent|recv:HELLO|fin",
     XCHG_FIN_BEFORE_SHUT, 5, "T2"},
    {"FIN on an open exchange", XCHG_MODE_X1, "hello", NULL, 0, 0, 0, 0, "sent|recv:HELLO|fin",
     XCHG_FIN_BEFORE_SHUT, 5, "T2"},
    {"FIN allowed by ANY", XCHG_MODE_X1, "hello", NULL, 0, XCHG_CLOSE_ANY, 0, 0, "sent|recv:HELLO|fin",
     XCHG_COMPLETE, 0, NULL},
    {"RST mid-stream", XCHG_MODE_X1, "hello", NULL, 0, 0, 0, 0, "sent|recv:HE|rst", XCHG_RESET, 2, "T1"},
    {"RST after the half-close", XCHG_MODE_X1, "hello", NULL, 1, 0, 0, 0, "sent|shut|recv:HELLO|rst",
     XCHG_RESET, 5, "T4"},
    {"RST on an open exchange", XCHG_MODE_X1, "hello", NULL, 0, 0, 0, 0, "sent|recv:HELLO|rst", XCHG_RESET, 5,
     "T2"},
    {"incomplete at the end", XCHG_MODE_X1, "hello", NULL, 0, 0, 0, 0, "sent|recv:HE|finish", XCHG_INCOMPLETE,
     2, "T1"},
    {"incomplete after half-close", XCHG_MODE_X1, "hello", NULL, 1, 0, 0, 0, "sent|shut|recv:HE|finish",
     XCHG_INCOMPLETE, 2, "T4"},
    {"stopped sending early, all back", XCHG_MODE_X1, "hello", NULL, 0, 0, 0, 0, "sent:3|recv:HEL|finish",
     XCHG_COMPLETE, 0, NULL},
    {"mirror (echo) complete", XCHG_MODE_MIRROR, "abc", "abc", 0, 0, 0, 0, "sent|recv:abc", XCHG_COMPLETE, 0,
     NULL},
    {"mirror wrong byte", XCHG_MODE_MIRROR, "abc", "abc", 0, 0, 0, 0, "sent|recv:aBc", XCHG_WRONG_BYTE, 1,
     "T1"},
    {"mirror extra", XCHG_MODE_MIRROR, "abc", "abc", 0, 0, 0, 0, "sent|recv:abcd", XCHG_EXTRA_BYTES, 3, "T1"},
    {"recorded complete", XCHG_MODE_RECORDED, "hello", "HI THERE", 0, XCHG_CLOSE_FIN, 0, 0,
     "sent|recv:HI THERE|fin", XCHG_COMPLETE, 0, NULL},
    {"recorded, sends do not matter", XCHG_MODE_RECORDED, "hello", "HI", 0, XCHG_CLOSE_ANY, 0, 0, "recv:HI",
     XCHG_COMPLETE, 0, NULL},
    {"recorded differs", XCHG_MODE_RECORDED, "hello", "HI THERE", 0, XCHG_CLOSE_FIN, 0, 0,
     "sent|recv:HI tHERE", XCHG_WRONG_BYTE, 3, NULL},
    {"recorded extra", XCHG_MODE_RECORDED, "hello", "HI", 0, XCHG_CLOSE_ANY, 0, 0, "sent|recv:HI!",
     XCHG_EXTRA_BYTES, 2, NULL},
    {"recorded FIN, got RST", XCHG_MODE_RECORDED, "hello", "HI", 0, XCHG_CLOSE_FIN, 0, 0, "sent|recv:HI|rst",
     XCHG_WRONG_CLOSE, 2, NULL},
    {"recorded RST, got FIN", XCHG_MODE_RECORDED, "hello", "HI", 0, XCHG_CLOSE_RST, 0, 0, "sent|recv:HI|fin",
     XCHG_WRONG_CLOSE, 2, NULL},
    {"recorded RST, got RST", XCHG_MODE_RECORDED, "hello", "HI", 0, XCHG_CLOSE_RST, 0, 0, "sent|recv:HI|rst",
     XCHG_COMPLETE, 0, NULL},
    {"recorded, FIN too early", XCHG_MODE_RECORDED, "hello", "HI THERE", 0, XCHG_CLOSE_FIN, 0, 0,
     "sent|recv:HI|fin", XCHG_EARLY_FIN, 2, NULL},
    {"recorded FIN never came", XCHG_MODE_RECORDED, "hello", "HI", 0, XCHG_CLOSE_FIN, 0, 0,
     "sent|recv:HI|finish", XCHG_NO_CLOSE, 2, NULL},
    {"open end: more than recorded, right", XCHG_MODE_RECORDED, "abcdef", "AB", 0, XCHG_CLOSE_ANY, 1, 0,
     "sent|recv:ABCD|creset:2", XCHG_COMPLETE, 0, NULL},
    {"open end: beyond the recording, wrong", XCHG_MODE_RECORDED, "abcdef", "AB", 0, XCHG_CLOSE_ANY, 1, 0,
     "sent|recv:ABcD", XCHG_WRONG_BYTE, 2, "X1"},
    {"open end: more than was sent", XCHG_MODE_RECORDED, "abcdef", "AB", 0, XCHG_CLOSE_ANY, 1, 0,
     "sent:3|recv:ABCD", XCHG_EXTRA_BYTES, 3, "T1"},
    {"client reset before what was owed", XCHG_MODE_RECORDED, "abcd", "ABCD", 0, XCHG_CLOSE_ANY, 0, 0,
     "sent|recv:AB|creset:4", XCHG_INCOMPLETE, 2, NULL},
    {"length only: counts", XCHG_MODE_LENGTH, "abc", NULL, 0, 0, 0, 0, "sent|recv:xyz", XCHG_COMPLETE, 0,
     NULL},
    {"length only: extra", XCHG_MODE_LENGTH, "abc", NULL, 0, 0, 0, 0, "sent|recv:xyzw", XCHG_EXTRA_BYTES, 3,
     "T1"},
    {"client resets: RST not judged", XCHG_MODE_X1, "hello", NULL, 0, 0, 0, 1, "sent|recv:HE|rst",
     XCHG_RIGHT_SO_FAR, 0, NULL},
    {"client resets: FIN not judged", XCHG_MODE_X1, "hello", NULL, 0, 0, 0, 1, "sent|recv:HE|fin|finish",
     XCHG_COMPLETE, 0, NULL},
    {"client resets: wrong byte still is", XCHG_MODE_X1, "hello", NULL, 0, 0, 0, 1, "sent|recv:HX",
     XCHG_WRONG_BYTE, 1, "X1"},
};

/* Runs one script; bytewise feeds every recv one byte at a time. */
static void run_script(const struct oracle_case *k, int bytewise, struct xchg_oracle *o)
{
	struct xchg_expect e = {.mode = k->mode,
	                        .sent = (const unsigned char *)k->sent,
	                        .sent_len = strlen(k->sent),
	                        .reply = (const unsigned char *)k->reply,
	                        .reply_len = k->reply ? strlen(k->reply) : 0,
	                        .half_close = k->half_close,
	                        .close = k->close,
	                        .open_end = k->open_end,
	                        .client_resets = k->client_resets};
	char script[256];
	char *save = NULL;

	xchg_oracle_init(o, &e);
	snprintf(script, sizeof script, "%s", k->script);
	for (char *t = strtok_r(script, "|", &save); t != NULL; t = strtok_r(NULL, "|", &save)) {
		if (strcmp(t, "sent") == 0)
			xchg_oracle_sent(o, e.sent_len - o->sent);
		else if (strncmp(t, "sent:", 5) == 0)
			xchg_oracle_sent(o, strtoul(t + 5, NULL, 10));
		else if (strncmp(t, "recv:", 5) == 0 && !bytewise)
			xchg_oracle_recv(o, (const unsigned char *)t + 5, strlen(t + 5));
		else if (strncmp(t, "recv:", 5) == 0)
			for (size_t i = 5; t[i] != '\0'; i++)
				xchg_oracle_recv(o, (const unsigned char *)t + i, 1);
		else if (strcmp(t, "shut") == 0)
			xchg_oracle_shut(o);
		else if (strcmp(t, "fin") == 0)
			xchg_oracle_fin(o);
		else if (strcmp(t, "rst") == 0)
			xchg_oracle_rst(o);
		else if (strcmp(t, "finish") == 0)
			xchg_oracle_finish(o);
		else if (strncmp(t, "creset:", 7) == 0)
			xchg_oracle_client_reset(o, strtoul(t + 7, NULL, 10));
		else
			CHECK(0, "%s: bad script event '%s'", k->name, t);
	}
}

static void check_case(const struct oracle_case *k, int bytewise)
{
	struct xchg_oracle o;
	char text[256];
	const char *how = bytewise ? "byte at a time" : "whole";

	run_script(k, bytewise, &o);
	xchg_oracle_describe(&o, text, sizeof text);
	CHECK(o.verdict == k->verdict, "%s (%s): verdict '%s', want '%s' [%s]", k->name, how,
	      xchg_verdict_name(o.verdict), xchg_verdict_name(k->verdict), text);
	if (!xchg_failed(k->verdict))
		return;
	CHECK(o.offset == k->offset, "%s (%s): offset %zu, want %zu [%s]", k->name, how, o.offset, k->offset,
	      text);
	CHECK((o.rule == NULL && k->rule == NULL) ||
	          (o.rule != NULL && k->rule != NULL && !strcmp(o.rule, k->rule)),
	      "%s (%s): rule %s, want %s", k->name, how, o.rule ? o.rule : "none",
	      k->rule ? k->rule : "none");
	CHECK(strstr(text, xchg_failed(o.verdict) && o.rule ? o.rule : "") != NULL,
	      "%s: text '%s' names no rule", k->name, text);
	if (k->verdict == XCHG_WRONG_BYTE || k->verdict == XCHG_EXTRA_BYTES) {
		/* the window holds the failing byte at its offset */
		CHECK(o.window_off <= o.offset && o.offset < o.window_off + o.window_len &&
		          o.window[o.offset - o.window_off] == (unsigned char)o.got_byte,
		      "%s (%s): window %zu+%zu does not hold offset %zu", k->name, how, o.window_off,
		      o.window_len, o.offset);
	}
}

/* Every case fed whole, then one byte at a time. */
static void test_oracle_table(void)
{
	for (int bytewise = 0; bytewise <= 1; bytewise++)
		for (size_t i = 0; i < sizeof oracle_cases / sizeof oracle_cases[0]; i++)
			check_case(&oracle_cases[i], bytewise);
}

/* An endless repeating stream, split at every chunk size, against X1 and an explicit mirror. */
static void test_oracle_period(void)
{
	static const unsigned char pat[] = "abcXYZ{}\x01\xff";
	unsigned char up[sizeof pat - 1], stream[1000];
	const size_t period = sizeof pat - 1;

	oracle_expect(up, pat, period);
	for (size_t i = 0; i < sizeof stream; i++)
		stream[i] = up[i % period];
	for (int mode = 0; mode < 2; mode++)
		for (size_t chunk = 1; chunk <= 23; chunk++) {
			struct xchg_expect e = {.mode = mode ? XCHG_MODE_MIRROR : XCHG_MODE_X1,
			                        .sent = pat,
			                        .period = period,
			                        .endless = 1,
			                        .reply = up,
			                        .half_close = 1};
			struct xchg_oracle o;
			xchg_oracle_init(&o, &e);
			xchg_oracle_sent(&o, sizeof stream);
			for (size_t off = 0; off < sizeof stream; off += chunk)
				xchg_oracle_recv(&o, stream + off,
				                 off + chunk <= sizeof stream ? chunk : sizeof stream - off);
			CHECK(o.verdict == XCHG_RIGHT_SO_FAR, "period, mode %d chunk %zu: %s", mode, chunk,
			      xchg_verdict_name(o.verdict));
			xchg_oracle_shut(&o);
			xchg_oracle_fin(&o);
			CHECK(o.verdict == XCHG_COMPLETE, "period, mode %d chunk %zu after FIN: %s", mode,
			      chunk, xchg_verdict_name(o.verdict));
		}
	/* a wrong byte deep in the stream is found at its offset */
	struct xchg_expect e = {.mode = XCHG_MODE_X1, .sent = pat, .period = period, .endless = 1};
	struct xchg_oracle o;
	stream[777] ^= 0x20;
	xchg_oracle_init(&o, &e);
	xchg_oracle_sent(&o, sizeof stream);
	xchg_oracle_recv(&o, stream, sizeof stream);
	CHECK(o.verdict == XCHG_WRONG_BYTE && o.offset == 777, "period: wrong byte at %zu (%s)", o.offset,
	      xchg_verdict_name(o.verdict));
}

/* The expected bytes for reports, and the description texts. */
static void test_oracle_expected_and_text(void)
{
	struct xchg_expect e = {.mode = XCHG_MODE_X1, .sent = (const unsigned char *)"hello", .sent_len = 5};
	struct xchg_oracle o;
	unsigned char exp[8];
	char text[200];

	xchg_oracle_init(&o, &e);
	xchg_oracle_sent(&o, 5);
	CHECK(xchg_oracle_expected(&o, 1, exp, sizeof exp) == 4 && memcmp(exp, "ELLO", 4) == 0,
	      "expected bytes from offset 1");
	CHECK(xchg_oracle_expected(&o, 5, exp, sizeof exp) == 0, "nothing expected past the end");
	xchg_oracle_recv(&o, (const unsigned char *)"HEL", 3);
	xchg_oracle_describe(&o, text, sizeof text);
	CHECK(strcmp(text, "3 of 5 bytes back so far") == 0, "text '%s'", text);
	xchg_oracle_recv(&o, (const unsigned char *)"lO", 2);
	xchg_oracle_describe(&o, text, sizeof text);
	CHECK(strcmp(text, "wrong byte at offset 3: got 0x6c, expected 0x4c (X1)") == 0, "text '%s'", text);
	CHECK(strcmp(xchg_verdict_name(XCHG_EARLY_FIN), "FIN too early") == 0, "verdict name");
	CHECK(!xchg_failed(XCHG_COMPLETE) && !xchg_failed(XCHG_RIGHT_SO_FAR) && xchg_failed(XCHG_RESET),
	      "failed()");
	xchg_oracle_describe(&o, text, 10);
	CHECK(strlen(text) == 9, "text cut to its buffer: '%s'", text);
}

/* ---- The driver against servers in threads ---- */

enum behaviour {
	SERVE_UPPER,     /* answers X1, then FIN after the client's */
	SERVE_FLIP,      /* as UPPER, with one byte's case flipped at FLIP_AT */
	SERVE_EXTRA,     /* as UPPER, and one byte more before its FIN */
	SERVE_EARLY_FIN, /* answers the first half, then FIN */
	SERVE_RESET,     /* reads a little, then RST */
	SERVE_SILENT,    /* reads everything, answers nothing */
	SERVE_NOT_READ   /* reads nothing for a second, then answers like UPPER */
};

#define FLIP_AT 1000

struct server {
	int lfd;
	int count; /* connections to accept */
	enum behaviour how;
	pthread_t thread;
};

struct session {
	int fd;
	enum behaviour how;
};

static void send_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k <= 0)
			return;
		p += k;
		n -= (size_t)k;
	}
}

static void *serve_one(void *arg)
{
	struct session *s = arg;
	unsigned char buf[8192];
	size_t total = 0;
	ssize_t k;

	if (s->how == SERVE_NOT_READ)
		util_sleep_ms(1000);
	while ((k = recv(s->fd, buf, sizeof buf, 0)) > 0) {
		if (s->how == SERVE_RESET && total + (size_t)k >= 100) {
			struct linger lg = {.l_onoff = 1, .l_linger = 0};
			setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
			break;
		}
		oracle_expect(buf, buf, (size_t)k);
		if (s->how == SERVE_FLIP && total <= FLIP_AT && FLIP_AT < total + (size_t)k)
			buf[FLIP_AT - total] ^= 0x20;
		if (s->how == SERVE_EARLY_FIN) {
			/* half an answer, then FIN; reading on, so that the close is not a reset */
			send_all(s->fd, buf, (size_t)k / 2);
			shutdown(s->fd, SHUT_WR);
			while (recv(s->fd, buf, sizeof buf, 0) > 0)
				;
			break;
		}
		if (s->how != SERVE_SILENT)
			send_all(s->fd, buf, (size_t)k);
		total += (size_t)k;
	}
	if (s->how == SERVE_EXTRA)
		send_all(s->fd, (const unsigned char *)"!", 1);
	close(s->fd);
	free(s);
	return NULL;
}

static void *serve(void *arg)
{
	struct server *sv = arg;
	pthread_t *t = calloc((size_t)sv->count, sizeof *t);
	int n = 0;

	net_nonblock(sv->lfd, 0);
	for (; t != NULL && n < sv->count; n++) {
		struct session *s = malloc(sizeof *s);
		int fd = accept(sv->lfd, NULL, NULL);
		if (fd < 0 || s == NULL) {
			free(s);
			break;
		}
		s->fd = fd;
		s->how = sv->how;
		pthread_create(&t[n], NULL, serve_one, s);
	}
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	free(t);
	return NULL;
}

static struct net_addr server_addr;

/* Starts a server thread that takes count connections; returns the listening descriptor's owner. */
static void server_start(struct server *sv, enum behaviour how, int count)
{
	struct net_addr a;
	char err[256];

	CU_ASSERT_FATAL(net_parse("127.0.0.1:0", &a, err, sizeof err) == 0);
	sv->lfd = net_listen(&a, SOCK_STREAM, 0, 128, &server_addr, err, sizeof err);
	CU_ASSERT_FATAL(sv->lfd >= 0);
	sv->count = count;
	sv->how = how;
	CU_ASSERT_FATAL(pthread_create(&sv->thread, NULL, serve, sv) == 0);
}

static void server_join(struct server *sv)
{
	pthread_join(sv->thread, NULL);
	close(sv->lfd);
}

static int dial(void)
{
	char err[256];
	int fd = net_connect(&server_addr, SOCK_STREAM, 2000, err, sizeof err);

	CHECK(fd >= 0, "connect: %s", err);
	return fd;
}

static unsigned char *pattern(size_t n, unsigned seed)
{
	unsigned char *p = malloc(n);

	for (size_t i = 0; p != NULL && i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (unsigned char)(seed >> 16);
	}
	return p;
}

static const struct xchg_limits limits = {.idle_ms = 5000, .budget_ms = 30000};

/* One connection through a server of the given behaviour: its run's status and verdict. */
struct one {
	size_t n, wchunk, rchunk;
	int lockstep, half_close;
	enum behaviour how;
	enum xchg_run_status status;
	enum xchg_verdict verdict;
	size_t offset;
};

static const struct one one_cases[] = {
    {1u << 20, 0, 0, 0, 1, SERVE_UPPER, XCHG_RUN_DONE, XCHG_COMPLETE, 0},
    {65536, 7, 13, 0, 1, SERVE_UPPER, XCHG_RUN_DONE, XCHG_COMPLETE, 0},
    {16384, 65536, 1, 0, 1, SERVE_UPPER, XCHG_RUN_DONE, XCHG_COMPLETE, 0},
    {300, 1, 0, 1, 1, SERVE_UPPER, XCHG_RUN_DONE, XCHG_COMPLETE, 0},
    {5000, 0, 0, 0, 0, SERVE_UPPER, XCHG_RUN_DONE, XCHG_COMPLETE, 0},
    {5000, 0, 0, 0, 1, SERVE_FLIP, XCHG_RUN_FAILED, XCHG_WRONG_BYTE, FLIP_AT},
    {5000, 0, 0, 0, 1, SERVE_EXTRA, XCHG_RUN_FAILED, XCHG_EXTRA_BYTES, 5000},
    {5000, 0, 0, 0, 1, SERVE_EARLY_FIN, XCHG_RUN_FAILED, XCHG_EARLY_FIN, SIZE_MAX},
    {1u << 20, 0, 0, 0, 1, SERVE_RESET, XCHG_RUN_FAILED, XCHG_RESET, SIZE_MAX},
    {4u << 20, 0, 0, 0, 1, SERVE_NOT_READ, XCHG_RUN_DONE, XCHG_COMPLETE, 0},
};

static void test_driver_one(void)
{
	for (size_t i = 0; i < sizeof one_cases / sizeof one_cases[0]; i++) {
		const struct one *k = &one_cases[i];
		struct server sv;
		struct xchg_conn c;
		struct xchg_run_result r;
		char err[256], text[300];
		unsigned char *out = pattern(k->n, (unsigned)i), *in = malloc(k->n), *want = malloc(k->n);
		struct xchg_expect e = {.sent = out, .sent_len = k->n, .half_close = k->half_close};

		CU_ASSERT_FATAL(out != NULL && in != NULL && want != NULL);
		server_start(&sv, k->how, 1);
		xchg_conn_init(&c, dial(), (unsigned)i + 1, &e);
		c.wchunk = k->wchunk;
		c.rchunk = k->rchunk;
		c.lockstep = k->lockstep;
		c.store = in;
		c.store_cap = k->n;
		xchg_run(&c, 1, &limits, &r, err, sizeof err);
		xchg_run_describe(&c, 1, &r, &limits, text, sizeof text);
		CHECK(r.status == k->status && c.oracle.verdict == k->verdict &&
		          (k->offset == SIZE_MAX || !xchg_failed(k->verdict) || c.oracle.offset == k->offset),
		      "case %zu: status %d verdict '%s' offset %zu: %s", i, r.status,
		      xchg_verdict_name(c.oracle.verdict), c.oracle.offset, text);
		oracle_expect(want, out, k->n);
		if (k->status == XCHG_RUN_DONE)
			CHECK(c.oracle.got == k->n && memcmp(in, want, k->n) == 0, "case %zu: store", i);
		if (k->status == XCHG_RUN_FAILED)
			CHECK(strstr(text, "connection ") == text, "case %zu: text '%s'", i, text);
		xchg_conn_close(&c);
		server_join(&sv);
		free(out);
		free(in);
		free(want);
	}
}

/* Many connections at once, each its own message, all answered; with keep_going one bad one does not
 * stop the others. */
static void test_driver_many(void)
{
	enum { N = 60 };
	static struct xchg_conn c[N];
	unsigned char *b = pattern(N * 100, 5);
	struct server sv;
	struct xchg_run_result r;
	char err[256];

	CU_ASSERT_FATAL(b != NULL);
	server_start(&sv, SERVE_UPPER, N);
	for (int i = 0; i < N; i++) {
		struct xchg_expect e = {.sent = b + i * 100, .sent_len = 100, .half_close = 1};
		xchg_conn_init(&c[i], dial(), (unsigned)i + 1, &e);
	}
	xchg_run(c, N, &limits, &r, err, sizeof err);
	CHECK(r.status == XCHG_RUN_DONE && r.done == N && r.failed == 0, "status %d, %zu done", r.status,
	      r.done);
	for (int i = 0; i < N; i++)
		xchg_conn_close(&c[i]);
	server_join(&sv);

	/* one connection expects what it will not get: the others still complete */
	server_start(&sv, SERVE_UPPER, 3);
	for (int i = 0; i < 3; i++) {
		struct xchg_expect e = {.sent = b + i * 100, .sent_len = 100, .half_close = 1};
		if (i == 1) {
			e.mode = XCHG_MODE_MIRROR;
			e.reply = b; /* not what an uppercase server sends */
		}
		xchg_conn_init(&c[i], dial(), (unsigned)i + 1, &e);
	}
	struct xchg_limits kl = limits;
	kl.keep_going = 1;
	xchg_run(c, 3, &kl, &r, err, sizeof err);
	CHECK(r.status == XCHG_RUN_FAILED && r.conn == 1 && r.failed == 1 && r.done == 2 &&
	          c[0].oracle.verdict == XCHG_COMPLETE && c[2].oracle.verdict == XCHG_COMPLETE,
	      "keep_going: status %d conn %zu failed %zu done %zu", r.status, r.conn, r.failed, r.done);
	for (int i = 0; i < 3; i++)
		xchg_conn_close(&c[i]);
	server_join(&sv);
	free(b);
}

/* Idle and budget bounds against a server that never answers. */
static void test_driver_timeouts(void)
{
	static const unsigned char msg[] = "anyone there?";
	struct xchg_expect e = {.sent = msg, .sent_len = sizeof msg - 1};
	struct xchg_limits idle = {.idle_ms = 200}, budget = {.budget_ms = 300};
	struct server sv;
	struct xchg_conn c;
	struct xchg_run_result r;
	char err[256], text[300];

	server_start(&sv, SERVE_SILENT, 1);
	xchg_conn_init(&c, dial(), 7, &e);
	xchg_run(&c, 1, &idle, &r, err, sizeof err);
	xchg_run_describe(&c, 1, &r, &idle, text, sizeof text);
	CHECK(r.status == XCHG_RUN_IDLE && r.elapsed_ms >= 190 && r.elapsed_ms < 3000,
	      "idle: status %d in %d ms: %s", r.status, r.elapsed_ms, text);
	CHECK(strstr(text, "no progress for 200 ms: connection 7 got 0 of 13") != NULL, "idle text '%s'",
	      text);
	xchg_run(&c, 1, &budget, &r, err, sizeof err);
	CHECK(r.status == XCHG_RUN_BUDGET && r.elapsed_ms >= 290 && r.elapsed_ms < 3000,
	      "budget: status %d in %d ms", r.status, r.elapsed_ms);
	CHECK(xchg_oracle_finish(&c.oracle) == XCHG_INCOMPLETE, "finish: %s",
	      xchg_verdict_name(c.oracle.verdict));
	xchg_conn_close(&c);
	server_join(&sv);
}

/* The stall phase finds where the server stops taking bytes; a client that then resets is done. */
static void test_driver_stall(void)
{
	size_t n = 64u << 20;
	unsigned char *b = pattern(n, 9);
	struct xchg_expect e = {.sent = b, .sent_len = n, .client_resets = 1};
	struct server sv;
	struct xchg_conn c;
	struct xchg_run_result r;
	char err[256];

	CU_ASSERT_FATAL(b != NULL);
	server_start(&sv, SERVE_NOT_READ, 1);
	xchg_conn_init(&c, dial(), 1, &e);
	c.stall_ms = 100;
	xchg_run(&c, 1, &limits, &r, err, sizeof err);
	CHECK(r.status == XCHG_RUN_DONE && c.stall_done && c.stalled && c.stalled_at < n && c.stalled_at > 0,
	      "stall: status %d stalled %d at %zu of %zu", r.status, c.stalled, c.stalled_at, n);
	xchg_conn_reset(&c, 0);
	CHECK(c.fd == -1 && c.oracle.verdict == XCHG_COMPLETE, "after the reset: %s",
	      xchg_verdict_name(c.oracle.verdict));
	server_join(&sv);
	free(b);
}

/* Every event reaches the hook, and a hook can stop the run. */
struct tally {
	size_t sent, got;
	int shut, fin, stop_at_recv;
};

static int count_events(void *arg, const struct xchg_conn *c, enum xchg_event ev, const unsigned char *p,
                        size_t n)
{
	struct tally *t = arg;

	(void)c;
	(void)p;
	if (ev == XCHG_EV_SEND)
		t->sent += n;
	else if (ev == XCHG_EV_RECV)
		t->got += n;
	else if (ev == XCHG_EV_SHUT)
		t->shut++;
	else if (ev == XCHG_EV_FIN)
		t->fin++;
	return ev == XCHG_EV_RECV && t->stop_at_recv ? -1 : 0;
}

static void test_driver_hooks(void)
{
	size_t n = 200000;
	unsigned char *b = pattern(n, 3);
	struct xchg_expect e = {.sent = b, .sent_len = n, .half_close = 1};
	struct server sv;
	struct xchg_conn c;
	struct xchg_run_result r;
	struct tally t = {0};
	char err[256];

	CU_ASSERT_FATAL(b != NULL);
	server_start(&sv, SERVE_UPPER, 2);
	xchg_conn_init(&c, dial(), 1, &e);
	c.hook = count_events;
	c.hook_arg = &t;
	xchg_run(&c, 1, &limits, &r, err, sizeof err);
	CHECK(r.status == XCHG_RUN_DONE && t.sent == n && t.got == n && t.shut == 1 && t.fin == 1,
	      "hook saw %zu sent, %zu got, %d shut, %d fin", t.sent, t.got, t.shut, t.fin);
	xchg_conn_close(&c);
	memset(&t, 0, sizeof t);
	t.stop_at_recv = 1;
	xchg_conn_init(&c, dial(), 2, &e);
	c.hook = count_events;
	c.hook_arg = &t;
	xchg_run(&c, 1, &limits, &r, err, sizeof err);
	CHECK(r.status == XCHG_RUN_HOOK && r.conn == 0, "a hook's -1 stops the run: status %d", r.status);
	xchg_conn_close(&c);
	server_join(&sv);
	free(b);
}

/* A step at a time, as the replayer plays a capture: wait for bytes, send more, half-close. */
static void test_driver_steps(void)
{
	static const unsigned char msg[] = "first part, second part";
	struct xchg_expect e = {.sent = msg, .sent_len = sizeof msg - 1};
	struct server sv;
	struct xchg_conn c;
	struct xchg_run_result r;
	char err[256];

	server_start(&sv, SERVE_UPPER, 1);
	xchg_conn_init(&c, dial(), 1, &e);
	c.send_limit = 11;
	c.until = XCHG_UNTIL_SENT;
	xchg_run(&c, 1, &limits, &r, err, sizeof err);
	CHECK(r.status == XCHG_RUN_DONE && c.oracle.sent == 11, "step 1: status %d, %zu sent", r.status,
	      c.oracle.sent);
	util_sleep_ms(100); /* the answer is there by now: drain takes it without waiting */
	CHECK(xchg_conn_drain(&c) == 0 && c.oracle.got == 11, "drain: %zu got", c.oracle.got);
	c.until = XCHG_UNTIL_GOT;
	c.until_got = 11;
	xchg_run(&c, 1, &limits, &r, err, sizeof err);
	CHECK(r.status == XCHG_RUN_DONE && c.oracle.got == 11, "step 2: %zu got", c.oracle.got);
	c.send_limit = e.sent_len;
	xchg_conn_half_close(&c);
	c.until = XCHG_UNTIL_END;
	xchg_run(&c, 1, &limits, &r, err, sizeof err);
	CHECK(r.status == XCHG_RUN_DONE && c.oracle.verdict == XCHG_COMPLETE && c.shut_done && c.oracle.fin,
	      "step 3: status %d, %s", r.status, xchg_verdict_name(c.oracle.verdict));
	xchg_conn_close(&c);
	server_join(&sv);
}

/* A holding client reads no more than the recorded answer, until the server stops reading too. */
static void test_driver_hold(void)
{
	size_t n = 64u << 20, recorded = 50; /* more than the kernel buffers of both ends hold */
	unsigned char *b = pattern(n, 13), *up = malloc(recorded);
	struct xchg_expect e = {.mode = XCHG_MODE_RECORDED,
	                        .sent = b,
	                        .sent_len = n,
	                        .reply = up,
	                        .reply_len = recorded,
	                        .close = XCHG_CLOSE_ANY,
	                        .open_end = 1};
	struct server sv;
	struct xchg_conn c;
	struct xchg_run_result r;
	char err[256];

	CU_ASSERT_FATAL(b != NULL && up != NULL);
	oracle_expect(up, b, recorded);
	server_start(&sv, SERVE_UPPER, 2);
	/* a little sent: the answer owed beyond the recording stays in the socket */
	xchg_conn_init(&c, dial(), 1, &e);
	c.hold = 1;
	c.send_limit = 100;
	c.until = XCHG_UNTIL_SENT;
	xchg_run(&c, 1, &limits, &r, err, sizeof err);
	util_sleep_ms(100);
	xchg_conn_drain(&c);
	CHECK(r.status == XCHG_RUN_DONE && c.oracle.got == recorded && c.hold, "hold: status %d, %zu got",
	      r.status, c.oracle.got);
	xchg_conn_close(&c);
	/* much more than the buffers hold: the server stops reading, so the hold is dropped */
	xchg_conn_init(&c, dial(), 2, &e);
	c.hold = 1;
	c.until = XCHG_UNTIL_SENT;
	xchg_run(&c, 1, &limits, &r, err, sizeof err);
	CHECK(r.status == XCHG_RUN_DONE && c.oracle.sent == n && !c.hold && c.oracle.got > recorded &&
	          !xchg_failed(c.oracle.verdict),
	      "hold dropped: status %d, %zu sent, %zu got, hold %d, %s", r.status, c.oracle.sent,
	      c.oracle.got, c.hold, xchg_verdict_name(c.oracle.verdict));
	xchg_conn_drain(&c);
	xchg_conn_reset(&c, recorded);
	CHECK(c.oracle.verdict == XCHG_COMPLETE, "after the reset: %s", xchg_verdict_name(c.oracle.verdict));
	server_join(&sv);
	free(b);
	free(up);
}

/* Bytes to send read from a pipe as they come, counted only. */
static void test_driver_source(void)
{
	int p[2];
	unsigned char buf[4096];
	struct xchg_expect e = {.mode = XCHG_MODE_LENGTH, .endless = 1, .half_close = 1};
	struct server sv;
	struct xchg_conn c;
	struct xchg_run_result r;
	char err[256];

	CU_ASSERT_FATAL(pipe(p) == 0);
	CU_ASSERT_FATAL(write(p[1], "from a pipe\n", 12) == 12);
	close(p[1]);
	server_start(&sv, SERVE_UPPER, 1);
	xchg_conn_init(&c, dial(), 1, &e);
	c.source_fd = p[0];
	c.source_buf = buf;
	c.source_cap = sizeof buf;
	xchg_run(&c, 1, NULL, &r, err, sizeof err); /* no bounds */
	CHECK(r.status == XCHG_RUN_DONE && c.oracle.verdict == XCHG_COMPLETE && c.oracle.sent == 12 &&
	          c.oracle.got == 12 && c.source_eof,
	      "source: status %d, %s, %zu sent, %zu got", r.status, xchg_verdict_name(c.oracle.verdict),
	      c.oracle.sent, c.oracle.got);
	close(p[0]);
	xchg_conn_close(&c);
	server_join(&sv);
}

int main(void)
{
	static const struct unit_test tests[] = {
	    {"oracle table, fed whole and one byte at a time", test_oracle_table},
	    {"oracle: endless repeating stream at every split", test_oracle_period},
	    {"oracle: expected bytes and descriptions", test_oracle_expected_and_text},
	    {"driver: one connection per server behaviour", test_driver_one},
	    {"driver: many connections, keep_going", test_driver_many},
	    {"driver: idle and budget bounds", test_driver_timeouts},
	    {"driver: stall phase, then the client's reset", test_driver_stall},
	    {"driver: hooks see every event and can stop", test_driver_hooks},
	    {"driver: step by step", test_driver_steps},
	    {"driver: hold, and its release", test_driver_hold},
	    {"driver: bytes from a source descriptor", test_driver_source},
	};

	return unit_run("exchange", tests, sizeof tests / sizeof tests[0]);
}
