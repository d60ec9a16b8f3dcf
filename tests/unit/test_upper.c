/* test_upper.c - CUnit tests of the pure core: transform, oracles, UDP rule, the TCP connection
 * state machine (table-driven; each case fed whole and again one byte at a time) and the per-wakeup
 * drive loop (drive.h) over a fake socket. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drive.h"
#include "oracle.h"
#include "unit.h"
#include "upper.h"

/* The transform written the obvious way, independently of the core. */
static unsigned char ref_upper(unsigned char c)
{
	return (c >= 'a' && c <= 'z') ? (unsigned char)(c - 'a' + 'A') : c;
}

/* ---- Transform ---- */

static void test_byte_all_values(void)
{
	for (unsigned v = 0; v < 256; v++)
		CHECK(upper_byte((unsigned char)v) == ref_upper((unsigned char)v),
		      "upper_byte(0x%02x) = 0x%02x", v, upper_byte((unsigned char)v));
}

static void test_transform_all_values(void)
{
	unsigned char in[256], out[256];

	for (unsigned v = 0; v < 256; v++)
		in[v] = (unsigned char)v;
	upper_transform(out, in, sizeof in);
	for (unsigned v = 0; v < 256; v++)
		CHECK(out[v] == ref_upper((unsigned char)v), "upper_transform of 0x%02x gave 0x%02x", v,
		      out[v]);
	/* in place */
	upper_transform(in, in, sizeof in);
	CHECK(memcmp(in, out, sizeof in) == 0, "in-place transform differs from out-of-place");
}

/* Every length 0..200 at every alignment 0..15 of source and destination, in place and not: the
 * vector paths and their scalar tails must agree with upper_byte and must not touch guard bytes. */
static void test_transform_lengths_alignments(void)
{
	enum { GUARD = 32, MAXLEN = 200, AL = 16 };
	static unsigned char src[GUARD + AL + MAXLEN + GUARD], dst[GUARD + AL + MAXLEN + GUARD];

	for (size_t len = 0; len <= MAXLEN; len++) {
		for (size_t sa = 0; sa < AL; sa++) {
			for (size_t da = 0; da < AL; da++) {
				for (size_t i = 0; i < sizeof src; i++)
					src[i] =
					    (unsigned char)(i * 7 + len + sa); /* every byte value shows up */
				memset(dst, 0xA5, sizeof dst);
				unsigned char *s = src + GUARD + sa, *d = dst + GUARD + da;
				upper_transform(d, s, len);
				size_t bad = (size_t)-1;
				for (size_t i = 0; i < len && bad == (size_t)-1; i++)
					if (d[i] != upper_byte(s[i]))
						bad = i;
				CHECK(bad == (size_t)-1, "len %zu src+%zu dst+%zu: byte %zu wrong", len, sa,
				      da, bad);
				int guard_ok = 1;
				for (size_t i = 0; i < GUARD + da; i++)
					guard_ok &= dst[i] == 0xA5;
				for (size_t i = GUARD + da + len; i < sizeof dst; i++)
					guard_ok &= dst[i] == 0xA5;
				CHECK(guard_ok, "len %zu src+%zu dst+%zu: wrote outside the range", len, sa,
				      da);
			}
			/* in place at this alignment */
			unsigned char *s = src + GUARD + sa;
			unsigned char copy[MAXLEN];
			memcpy(copy, s, len);
			upper_transform(s, s, len);
			int ok = 1;
			for (size_t i = 0; i < len; i++)
				ok &= s[i] == upper_byte(copy[i]);
			CHECK(ok, "in place, len %zu at +%zu: wrong", len, sa);
		}
	}
}

/* ---- oracle_mismatch ---- */

static void test_mismatch_table(void)
{
	static const struct {
		const char *sent;
		size_t slen;
		const char *got;
		size_t glen;
		size_t want;
	} t[] = {
	    {"", 0, "", 0, 0},
	    {"abc", 3, "ABC", 3, 3},
	    {"abc", 3, "AB", 2, 2},        /* correct prefix */
	    {"ab", 2, "ABC", 3, 2},        /* reply longer */
	    {"abc", 3, "AbC", 3, 1},       /* not transformed */
	    {"a\0z", 3, "A\0Z", 3, 3},     /* NUL is a byte like any other */
	    {"a\xe9z", 3, "A\xc9Z", 3, 1}, /* no Latin-1 upper-casing */
	    {"xyz{", 4, "XYZ[", 4, 3},
	    {"@[`{", 4, "@[`{", 4, 4}, /* neighbours of the ranges stay */
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		size_t r = oracle_mismatch((const unsigned char *)t[i].sent, t[i].slen,
		                           (const unsigned char *)t[i].got, t[i].glen);
		CHECK(r == t[i].want, "mismatch row %zu: got %zu, want %zu", i, r, t[i].want);
	}
	/* long inputs: the blockwise compare must find a difference in any block */
	enum { N = 5000 };
	static unsigned char a[N], b[N];
	for (size_t i = 0; i < N; i++)
		a[i] = (unsigned char)(i * 31);
	upper_transform(b, a, N);
	CHECK(oracle_mismatch(a, N, b, N) == N, "long identical");
	for (size_t at = 0; at < N; at += 97) {
		b[at] ^= 1;
		size_t r = oracle_mismatch(a, N, b, N);
		CHECK(r == at, "long, flipped byte %zu: got %zu", at, r);
		b[at] ^= 1;
	}
}

/* ---- UDP ---- */

static void test_udp_reply(void)
{
	unsigned char in[UPPER_UDP_MAX6], out[UPPER_UDP_MAX6];
	for (size_t i = 0; i < sizeof in; i++)
		in[i] = (unsigned char)i;
	static const size_t lens[] = {0, 1, 255, 256, 1024, 8192, UPPER_UDP_MAX4, UPPER_UDP_MAX6};
	for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
		size_t n = upper_udp_reply(out, in, lens[k]);
		CHECK(n == lens[k], "udp reply of %zu bytes has %zu", lens[k], n);
		CHECK(oracle_mismatch(in, lens[k], out, n) == lens[k], "udp reply of %zu bytes: wrong bytes",
		      lens[k]);
		CHECK(oracle_udp_check(in, lens[k], out, n, NULL, 0) == ORACLE_UDP_OK,
		      "udp check of a right reply");
	}
}

static void test_udp_check_table(void)
{
	static const struct {
		const char *req;
		size_t reqlen;
		const char *rep;
		size_t replen;
		int want;
		const char *why; /* a substring the reason must contain */
	} t[] = {
	    {"", 0, "", 0, ORACLE_UDP_OK, NULL},
	    {"abc", 3, "ABC", 3, ORACLE_UDP_OK, NULL},
	    {"abc", 3, "AB", 2, ORACLE_UDP_TRUNCATED, "U4"},
	    {"abc", 3, "", 0, ORACLE_UDP_TRUNCATED, "U4"},
	    {"abc", 3, "ABCD", 4, ORACLE_UDP_AMPLIFIED, "U6"},
	    {"", 0, "X", 1, ORACLE_UDP_AMPLIFIED, "U6"},
	    {"abc", 3, "aBC", 3, ORACLE_UDP_CONTENT, "byte 0 is 0x61, expected 0x41"},
	    {"abc", 3, "AXCD", 4, ORACLE_UDP_CONTENT, "X1"}, /* content wins over length */
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char why[128] = "";
		int r = oracle_udp_check((const unsigned char *)t[i].req, t[i].reqlen,
		                         (const unsigned char *)t[i].rep, t[i].replen, why, sizeof why);
		CHECK(r == t[i].want, "udp_check row %zu: got %d, want %d", i, r, t[i].want);
		if (t[i].why != NULL)
			CHECK(strstr(why, t[i].why) != NULL, "udp_check row %zu: reason '%s' lacks '%s'", i,
			      why, t[i].why);
	}
	/* a tiny reason buffer is truncated, never overrun */
	char small[4];
	memset(small, 'Z', sizeof small);
	oracle_udp_check((const unsigned char *)"a", 1, (const unsigned char *)"", 0, small, 3);
	CHECK(small[3] == 'Z' && small[2] == '\0', "why buffer overrun");
}

/* What oracle_unicode_hint recognises: each port's mistake, from the bytes it sent back. */
static void test_unicode_hint_table(void)
{
	static const struct {
		const char *sent, *got;
		int want;
		const char *why; /* a substring the reason must contain */
	} t[] = {
	    {"caf\xc3\xa9", "CAF\xc3\x89", ORACLE_HINT_UNICODE, "U+00E9 at byte 3 became U+00C9"},
	    {"\xef\xac\x81x", "FIX", ORACLE_HINT_UNICODE, "U+0046 U+0049, changing the length"},
	    {"a\x80z", "A\xef\xbf\xbdZ", ORACLE_HINT_REPLACEMENT, "byte 0x80 at 1, not UTF-8, became U+FFFD"},
	    {"ma\xc3(", "MA\xef\xbf\xbd(", ORACLE_HINT_REPLACEMENT, "from_utf8_lossy"},
	    {"x\xffy", "X?Y", ORACLE_HINT_REPLACEMENT, "byte 0xff at 1 became '?'"},
	    {"caf\xc3\xa9", "CAF??", ORACLE_HINT_REPLACEMENT, "charset round trip"},
	    {"hi", "H\xc4\xb0", ORACLE_HINT_LOCALE, "'i' at byte 1 became U+0130"},
	    {"caf\xe9", "CAF\xc9", ORACLE_HINT_LATIN1, "byte 0xe9 at 3 became 0xc9"},
	    {"abc", "ABD", ORACLE_HINT_NONE, NULL},
	    {"abc", "ABC", ORACLE_HINT_NONE, NULL},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char why[512] = "";
		int r =
		    oracle_unicode_hint((const unsigned char *)t[i].sent, strlen(t[i].sent),
		                        (const unsigned char *)t[i].got, strlen(t[i].got), why, sizeof why);
		CHECK(r == t[i].want, "unicode_hint row %zu: got %d, want %d (%s)", i, r, t[i].want, why);
		if (t[i].why == NULL) {
			CHECK(why[0] == '\0', "unicode_hint row %zu: a reason without a hint: '%s'", i, why);
			continue;
		}
		CHECK(strstr(why, t[i].why) != NULL, "unicode_hint row %zu: '%s' lacks '%s'", i, why,
		      t[i].why);
		CHECK(strstr(why, "to_ascii_uppercase()") != NULL, "unicode_hint row %zu: no fix in '%s'", i,
		      why);
	}
}

static void test_rule_text(void)
{
	static const char *ids[] = {"X1", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8",
	                            "T9", "U1", "U2", "U3", "U4", "U5", "U6", "B1", "B2"};
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
		CHECK(upper_rule_text(ids[i]) != NULL, "no text for rule %s", ids[i]);
	CHECK(upper_rule_text("T10") == NULL && upper_rule_text("") == NULL,
	      "text for a rule that does not exist");
}

/* ---- TCP state machine ---- */

enum {
	R = UPPER_WANT_READ,
	W = UPPER_WANT_WRITE,
	P = UPPER_WANT_POLLOUT,
	S = UPPER_WANT_SHUTDOWN,
	C = UPPER_WANT_CLOSE,
	BAD = -1,   /* the event is impossible: -1, state unchanged */
	UNINIT = 99 /* pseudo-event: start from a zero struct, no upper_conn_init() */
};

struct step {
	int ev;           /* enum upper_ev, or 0 to end */
	const char *data; /* READ: the bytes */
	size_t n;         /* READ and WROTE: the count */
	int want;         /* the result expected, want bits or BAD */
};

#define RD(s, w)                                                                                             \
	{                                                                                                    \
		UPPER_EV_READ, s, sizeof(s) - 1, w                                                           \
	}
#define WR(k, w)                                                                                             \
	{                                                                                                    \
		UPPER_EV_WROTE, NULL, k, w                                                                   \
	}
#define EV(e, w)                                                                                             \
	{                                                                                                    \
		e, NULL, 0, w                                                                                \
	}
#define EOF_ UPPER_EV_EOF
#define RST UPPER_EV_RESET
#define AGN UPPER_EV_AGAIN
#define WER UPPER_EV_WERROR
#define WBL UPPER_EV_WRITABLE
#define SHU UPPER_EV_SHUTDOWN

struct sm_case {
	const char *name;
	size_t cap;
	struct step steps[14];
	const char *wire; /* every byte the socket accepted, in order */
};

static const struct sm_case sm_cases[] = {
    {"echo", 64, {RD("hello", R | W), WR(5, R)}, "HELLO"},
    {"no framing: answer before newline",
     64,
     {RD("ab", R | W), WR(2, R), RD("c\n", R | W), WR(2, R)},
     "ABC\n"},
    {"all bytes binary", 64, {RD("a\0\xff\x80z", R | W), WR(5, R)}, "A\0\xff\x80Z"},
    {"partial writes",
     64,
     {RD("abcdef", R | W), WR(2, R | W), EV(AGN, R | P), EV(WBL, R | W), WR(3, R | W), WR(1, R)},
     "ABCDEF"},
    {"read while blocked",
     64,
     {RD("abc", R | W), EV(AGN, R | P), RD("def", R | P), EV(WBL, R | W), WR(6, R)},
     "ABCDEF"},
    {"EOF with output pending: FIN only after all",
     64,
     {RD("abc", R | W), EV(EOF_, W), EV(SHU, BAD), WR(1, W), EV(AGN, P), EV(WBL, W), WR(2, S), EV(SHU, C)},
     "ABC"},
    {"EOF with nothing pending",
     64,
     {RD("ab", R | W), WR(2, R), EV(EOF_, S), EV(SHU, C), EV(EOF_, BAD)},
     "AB"},
    {"EOF at once", 64, {EV(EOF_, S), RD("x", BAD), EV(SHU, C)}, ""},
    {"reset with output pending: nothing sent after",
     64,
     {RD("abcdef", R | W), WR(2, R | W), EV(RST, C), WR(1, BAD), EV(SHU, BAD), RD("x", BAD)},
     "AB"},
    {"reset while blocked", 64, {RD("abc", R | W), EV(AGN, R | P), EV(RST, C), EV(WBL, BAD)}, ""},
    {"write error with output pending", 64, {RD("abc", R | W), WR(1, R | W), EV(WER, C), WR(2, BAD)}, "A"},
    {"reset after EOF with output pending", 64, {RD("abc", R | W), EV(EOF_, W), EV(RST, C)}, ""},
    {"full buffer stops reading",
     4,
     {RD("abcd", W), RD("e", BAD), EV(AGN, P), EV(WBL, W), WR(2, R | W), RD("ef", W), WR(4, R),
      RD("gh", R | W), WR(2, R)},
     "ABCDEFGH"},
    {"full buffer, then EOF", 4, {RD("abcd", W), EV(EOF_, W), WR(4, S), EV(SHU, C)}, "ABCD"},
    {"read larger than the space", 4, {RD("abcde", BAD), RD("abcd", W), WR(4, R)}, "ABCD"},
    {"impossible writes",
     64,
     {WR(1, BAD), EV(AGN, BAD), RD("ab", R | W), WR(3, BAD), WR(0, BAD), WR(2, R), EV(AGN, BAD)},
     "AB"},
    {"zero-byte read", 64, {{UPPER_EV_READ, "", 0, BAD}, RD("a", R | W), WR(1, R)}, "A"},
    {"unknown event", 64, {EV(0x7f, BAD), RD("q", R | W), WR(1, R)}, "Q"},
    {"event after close",
     64,
     {EV(EOF_, S), EV(SHU, C), RD("a", BAD), EV(EOF_, BAD), EV(RST, BAD), EV(WBL, BAD)},
     ""},
    {"not initialised", 64, {EV(UNINIT, C), RD("a", BAD), EV(EOF_, BAD), EV(RST, BAD)}, ""},
    {"spurious writable is harmless", 64, {EV(WBL, R), RD("z", R | W), EV(WBL, R | W), WR(1, R)}, "Z"},
};

struct sm_run {
	struct upper_conn c;
	unsigned char *buf;
	unsigned char wire[256];
	size_t wlen;
};

/* Feeds one event of a step the way the event loop does: READ places bytes at upper_conn_rspace(),
 * WROTE takes them from upper_conn_pending() onto the wire. Returns upper_conn_event()'s result. */
static int sm_feed(struct sm_run *r, int ev, const char *data, size_t n)
{
	if (ev == UPPER_EV_READ) {
		unsigned char *p;
		size_t room = upper_conn_rspace(&r->c, &p);
		if (n <= room && n > 0)
			memcpy(p, data, n);
		return upper_conn_event(&r->c, UPPER_EV_READ, n);
	}
	if (ev == UPPER_EV_WROTE) {
		const unsigned char *p;
		size_t have = upper_conn_pending(&r->c, &p);
		int rc = upper_conn_event(&r->c, UPPER_EV_WROTE, n);
		if (rc >= 0 && n <= have && r->wlen + n <= sizeof r->wire) {
			memcpy(r->wire + r->wlen, p, n);
			r->wlen += n;
		}
		return rc;
	}
	return upper_conn_event(&r->c, (enum upper_ev)ev, n);
}

static void sm_run_case(const struct sm_case *k, int bytewise)
{
	struct sm_run r;
	const char *mode = bytewise ? "bytewise" : "whole";

	memset(&r, 0, sizeof r);
	r.buf = malloc(k->cap); /* exact size, so ASan sees any access past cap */
	CU_ASSERT_FATAL(r.buf != NULL);
	CHECK(upper_conn_init(&r.c, r.buf, k->cap) == 0, "%s: init", k->name);
	for (size_t i = 0; i < sizeof k->steps / sizeof k->steps[0] && k->steps[i].ev != 0; i++) {
		const struct step *s = &k->steps[i];
		int rc;
		if (s->ev == UNINIT) {
			memset(&r.c, 0, sizeof r.c);
			rc = (int)upper_conn_want(&r.c);
		} else if (s->want == BAD) {
			/* impossible events are fed whole: the state must not change */
			struct upper_conn before = r.c;
			unsigned char *snap = malloc(k->cap);
			CU_ASSERT_FATAL(snap != NULL);
			memcpy(snap, r.buf, k->cap);
			size_t wl = r.wlen;
			rc = sm_feed(&r, s->ev, s->data, s->n);
			CHECK(memcmp(&before, &r.c, sizeof before) == 0 && wl == r.wlen,
			      "%s (%s) step %zu: refused event changed the state", k->name, mode, i);
			if (s->ev !=
			    UPPER_EV_READ) /* a refused READ may have had its bytes placed in free space */
				CHECK(memcmp(snap, r.buf, k->cap) == 0,
				      "%s step %zu: refused event changed the buffer", k->name, i);
			free(snap);
		} else if (bytewise && (s->ev == UPPER_EV_READ || s->ev == UPPER_EV_WROTE) && s->n > 1) {
			rc = 0;
			for (size_t b = 0; b < s->n && rc >= 0; b++)
				rc = sm_feed(&r, s->ev, s->data != NULL ? s->data + b : NULL, 1);
		} else {
			rc = sm_feed(&r, s->ev, s->data, s->n);
		}
		CHECK(rc == s->want, "%s (%s) step %zu: got %d, want %d", k->name, mode, i, rc, s->want);
		if (rc >= 0)
			CHECK((unsigned)rc == upper_conn_want(&r.c),
			      "%s (%s) step %zu: result differs from want()", k->name, mode, i);
		/* Invariants the loop relies on. */
		unsigned w = upper_conn_want(&r.c);
		const unsigned char *pp;
		unsigned char *rp;
		size_t pend = upper_conn_pending(&r.c, &pp);
		size_t room = upper_conn_rspace(&r.c, &rp);
		CHECK(!(w & C) || w == C, "%s step %zu: CLOSE with other bits", k->name, i);
		CHECK(((w & (W | P)) != 0) == (pend > 0), "%s step %zu: WRITE/POLLOUT iff bytes pending",
		      k->name, i);
		CHECK(((w & R) != 0) == (room > 0), "%s step %zu: READ iff room", k->name, i);
		CHECK(!(w & S) || pend == 0, "%s step %zu: SHUTDOWN with bytes pending", k->name, i);
		CHECK(r.c.len <= r.c.cap, "%s step %zu: holds more than cap", k->name, i);
	}
	size_t wl = strlen(k->wire);
	/* wire strings with NUL bytes: the only one is "all bytes binary", 5 bytes */
	if (strcmp(k->name, "all bytes binary") == 0)
		wl = 5;
	CHECK(r.wlen == wl && memcmp(r.wire, k->wire, wl) == 0, "%s (%s): wire has %zu bytes, want %zu",
	      k->name, mode, r.wlen, wl);
	free(r.buf);
}

/* Every case fed whole, then one byte at a time. */
static void test_conn_table(void)
{
	for (int bytewise = 0; bytewise <= 1; bytewise++)
		for (size_t i = 0; i < sizeof sm_cases / sizeof sm_cases[0]; i++)
			sm_run_case(&sm_cases[i], bytewise);
}

static void test_conn_init(void)
{
	struct upper_conn c;
	unsigned char b[1];
	memset(&c, 0, sizeof c);
	CHECK(upper_conn_init(&c, NULL, 10) == -1, "init with NULL buffer");
	CHECK(upper_conn_init(&c, b, 0) == -1, "init with cap 0");
	CHECK(upper_conn_init(&c, b, 1) == 0, "init with cap 1");
	CHECK(upper_conn_want(&c) == R, "fresh connection wants only READ");
}

/* Space stays contiguous: with pending bytes at the end of the buffer, the core slides them down
 * so a read can use the freed front. */
static void test_conn_compaction(void)
{
	struct upper_conn c;
	unsigned char b[8], *p;
	const unsigned char *q;
	upper_conn_init(&c, b, sizeof b);
	CHECK(upper_conn_rspace(&c, &p) == 8, "room 8");
	memcpy(p, "abcdefgh", 8);
	CHECK(upper_conn_event(&c, UPPER_EV_READ, 8) == W, "full");
	CHECK(upper_conn_event(&c, UPPER_EV_WROTE, 6) == (R | W), "6 written");
	CHECK(upper_conn_rspace(&c, &p) == 6, "room after sliding");
	memcpy(p, "ijklmn", 6);
	CHECK(upper_conn_event(&c, UPPER_EV_READ, 6) == W, "full again");
	CHECK(upper_conn_pending(&c, &q) == 8 && memcmp(q, "GHIJKLMN", 8) == 0,
	      "order kept across the slide");
	CHECK(c.bytes_in == 14 && c.bytes_out == 6, "byte counters");
}

/* Buffer lending: a connection may hold its buffer only while bytes are pending. */
static void test_conn_lending(void)
{
	struct upper_conn c;
	unsigned char b1[16], b2[16], *p;
	const unsigned char *q;

	upper_conn_init(&c, b1, sizeof b1);
	CHECK(upper_conn_release(&c) == b1, "release of an idle connection returns its buffer");
	CHECK(upper_conn_release(&c) == NULL, "second release returns nothing");
	CHECK(upper_conn_want(&c) == R, "detached connection still wants to read");
	CHECK(upper_conn_rspace(&c, &p) == 0 && p == NULL, "no room while detached");
	CHECK(upper_conn_event(&c, UPPER_EV_READ, 1) == -1, "READ while detached is refused");
	CHECK(upper_conn_lend(&c, NULL) == -1, "lend NULL");
	CHECK(upper_conn_lend(&c, b2) == 0, "lend");
	CHECK(upper_conn_lend(&c, b1) == -1, "lend twice");
	CHECK(upper_conn_rspace(&c, &p) == 16 && p == b2, "room in the lent buffer");
	memcpy(p, "abc", 3);
	CHECK(upper_conn_event(&c, UPPER_EV_READ, 3) == (R | W), "read into lent buffer");
	CHECK(upper_conn_release(&c) == NULL, "release refused while bytes are pending");
	CHECK(upper_conn_event(&c, UPPER_EV_WROTE, 1) == (R | W), "partial write");
	CHECK(upper_conn_release(&c) == NULL, "release refused while 2 bytes are pending");
	CHECK(upper_conn_pending(&c, &q) == 2 && memcmp(q, "BC", 2) == 0, "pending BC");
	CHECK(upper_conn_event(&c, UPPER_EV_WROTE, 2) == R, "all written");
	CHECK(upper_conn_release(&c) == b2, "release after draining");
	CHECK(upper_conn_event(&c, UPPER_EV_EOF, 0) == S, "EOF while detached");
	CHECK(upper_conn_event(&c, UPPER_EV_SHUTDOWN, 0) == C, "shutdown while detached");
}

/* ---- drive_wakeup (drive.h): one wakeup over a fake socket ---- */

/* The fake socket plays scripts of results: recv tokens "5" (5 bytes, or the space if smaller), "0"
 * (EOF), "A" (EAGAIN), "I" (EINTR), "E" (ECONNRESET), and AGAIN once the script is out; send tokens
 * "2" (2 bytes accepted, or all if fewer), "*" (all), "A", "I", "E", and "all" once the script is out.
 * Every call is traced: "g" buf_get, "p" buf_put, "r5"/"rA"/..., "w2"/"wA"/..., "F" shutdown. */
struct fake {
	const char *rs, *ws;    /* the scripts still to play */
	unsigned char *pool[2]; /* free buffers */
	int npool, nobuf;       /* nobuf: buf_get fails */
	int outstanding;        /* buffers lent and not given back */
	char trace[512];
	size_t nin, nwire; /* bytes read from the input, bytes the socket accepted */
	unsigned char wire[512];
	int fins, nrecv;
	size_t wire_at_fin; /* wire bytes when shutdown came */
	int recv_failed, sent_after_fail;
	int bad_fed; /* an event refused, or a result not upper_conn_want() */
	const struct upper_conn *c;
};

static const char drive_input[] = "the quick brown fox jumps over the lazy dog, then again and again: "
                                  "pack my box with five dozen liquor jugs!";

static void fake_trace(struct fake *f, const char *tok)
{
	size_t l = strlen(f->trace);
	snprintf(f->trace + l, sizeof f->trace - l, "%s%s", l > 0 ? " " : "", tok);
}

/* Takes the next token of *script into tok; returns 0 when the script is out. */
static int fake_next(const char **script, char *tok, size_t toklen)
{
	const char *s = *script;
	size_t i = 0;
	while (*s == ' ')
		s++;
	if (*s == '\0')
		return 0;
	while (*s != '\0' && *s != ' ' && i + 1 < toklen)
		tok[i++] = *s++;
	tok[i] = '\0';
	*script = s;
	return 1;
}

static ssize_t fake_code(struct fake *f, char kind, const char *tok)
{
	char t[24];
	snprintf(t, sizeof t, "%c%s", kind, tok);
	fake_trace(f, t);
	return tok[0] == 'A' ? DRIVE_IO_AGAIN : tok[0] == 'I' ? DRIVE_IO_INTR : DRIVE_IO_ERR;
}

static ssize_t fake_send(void *ctx, const unsigned char *p, size_t n)
{
	struct fake *f = ctx;
	char tok[16], t[24];
	size_t k = n;

	if (f->recv_failed)
		f->sent_after_fail = 1;
	if (fake_next(&f->ws, tok, sizeof tok) && tok[0] != '*') {
		if (tok[0] < '0' || tok[0] > '9')
			return fake_code(f, 'w', tok);
		k = strtoul(tok, NULL, 10);
		if (k > n)
			k = n;
	}
	if (f->nwire + k <= sizeof f->wire)
		memcpy(f->wire + f->nwire, p, k);
	f->nwire += k;
	snprintf(t, sizeof t, "w%zu", k);
	fake_trace(f, t);
	return (ssize_t)k;
}

static ssize_t fake_recv(void *ctx, unsigned char *p, size_t n)
{
	struct fake *f = ctx;
	char tok[16], t[24];
	size_t k;

	f->nrecv++;
	if (!fake_next(&f->rs, tok, sizeof tok))
		snprintf(tok, sizeof tok, "A");
	if (tok[0] < '0' || tok[0] > '9') {
		if (tok[0] == 'E')
			f->recv_failed = 1;
		return fake_code(f, 'r', tok);
	}
	k = strtoul(tok, NULL, 10);
	if (k > n)
		k = n;
	if (f->nin + k > sizeof drive_input - 1)
		k = sizeof drive_input - 1 - f->nin;
	memcpy(p, drive_input + f->nin, k);
	f->nin += k;
	snprintf(t, sizeof t, "r%zu", k);
	fake_trace(f, t);
	return (ssize_t)k;
}

static void fake_shutdown(void *ctx)
{
	struct fake *f = ctx;
	f->fins++;
	f->wire_at_fin = f->nwire;
	fake_trace(f, "F");
}

static unsigned char *fake_get(void *ctx)
{
	struct fake *f = ctx;
	fake_trace(f, "g");
	if (f->nobuf || f->npool == 0)
		return NULL;
	f->outstanding++;
	return f->pool[--f->npool];
}

static void fake_put(void *ctx, unsigned char *b)
{
	struct fake *f = ctx;
	fake_trace(f, "p");
	f->outstanding--;
	f->pool[f->npool++] = b;
}

static int fake_fed(void *ctx, enum upper_ev ev, size_t n, int r)
{
	struct fake *f = ctx;
	(void)ev;
	(void)n;
	if (r < 0 || (unsigned)r != upper_conn_want(f->c))
		f->bad_fed = 1;
	return 0;
}

static const struct drive_io fake_io = {fake_send, fake_recv, fake_shutdown, fake_get, fake_put, fake_fed};

enum { IN = DRIVE_READY_IN, OUT = DRIVE_READY_OUT, D_WAIT = DRIVE_WAIT, D_CLOSE = DRIVE_CLOSE };

struct drive_case {
	const char *name;
	size_t cap;
	const char *recvs, *sends;
	int nobuf;
	struct {
		unsigned ready; /* 0 ends the wakeups */
		int ret;
		unsigned interest;
	} wakeups[4];
	const char *trace; /* every call, wakeups separated by "|" */
	int held;          /* the connection holds a buffer at the end */
};

#define R16 "4 4 4 4 4 4 4 4 4 4 4 4 4 4 4 4 4 4 4 4"
static const struct drive_case drive_cases[] = {
    {"echo, drained buffer goes back to the pool", 64, "5", "", 0, {{IN, D_WAIT, R}}, "g r5 w5 p", 0},
    {"partial write then EAGAIN: wait for POLLOUT, keep the buffer",
     64,
     "5",
     "2 A",
     0,
     {{IN, D_WAIT, R | P}, {OUT, D_WAIT, R}},
     "g r5 w2 wA | w3 p",
     0},
    {"writable without POLLOUT wanted is ignored",
     64,
     "3",
     "A",
     0,
     {{IN, D_WAIT, R | P}, {IN, D_WAIT, R | P}},
     "g r3 wA | rA",
     1},
    {"EOF with output pending: FIN only after every byte",
     64,
     "3 0",
     "A",
     0,
     {{IN, D_WAIT, R | P}, {IN, D_WAIT, P}, {OUT, D_CLOSE, 0}},
     "g r3 wA | r0 | w3 F p",
     0},
    {"EOF with output pending, short writes",
     64,
     "6 0",
     "1 A 2 A",
     0,
     {{IN, D_WAIT, R | P}, {IN, D_WAIT, P}, {OUT, D_WAIT, P}, {OUT, D_CLOSE, 0}},
     "g r6 w1 wA | r0 | w2 wA | w3 F p",
     0},
    {"EOF and writable together",
     64,
     "3 0",
     "A",
     0,
     {{IN, D_WAIT, R | P}, {IN | OUT, D_CLOSE, 0}},
     "g r3 wA | w3 r0 F p",
     0},
    {"EOF at once", 64, "0", "", 0, {{IN, D_CLOSE, 0}}, "g r0 F p", 0},
    {"recv error: close, nothing sent after",
     64,
     "3 E",
     "A",
     0,
     {{IN, D_WAIT, R | P}, {IN, D_CLOSE, 0}},
     "g r3 wA | rE p",
     0},
    {"recv error on a full read: close in the same wakeup",
     3,
     "3 E",
     "A",
     0,
     {{IN, D_WAIT, P}, {IN | OUT, D_CLOSE, 0}},
     "g r3 wA | w3 rE p",
     0},
    {"write error: close", 64, "3", "1 E", 0, {{IN, D_CLOSE, 0}}, "g r3 w1 wE p", 0},
    {"EINTR is retried", 64, "I 3", "I *", 0, {{IN, D_WAIT, R}}, "g rI r3 wI w3 p", 0},
    {"nothing to read: EAGAIN", 64, "A", "", 0, {{IN, D_WAIT, R}}, "g rA p", 0},
    {"not readable: no recv, no buffer", 64, "3", "", 0, {{OUT, D_WAIT, R}}, "", 0},
    {"no buffer to lend: wait for the next wakeup", 64, "3", "", 1, {{IN, D_WAIT, R}}, "g", 0},
    {"reads per wakeup are bounded",
     4,
     R16,
     "",
     0,
     {{IN, D_WAIT, R}, {IN, D_WAIT, R}},
     "g r4 w4 r4 w4 r4 w4 r4 w4 r4 w4 r4 w4 r4 w4 r4 w4 r4 w4 r4 w4 r4 w4 r4 w4 r4 w4 r4 w4 r4 w4 r4 w4 p"
     " | g r4 w4 r4 w4 r4 w4 r4 w4 rA p",
     0},
    {"full buffer stops reading until written",
     4,
     "4 4",
     "A",
     0,
     {{IN, D_WAIT, P}, {OUT, D_WAIT, R}, {IN, D_WAIT, R}},
     "g r4 wA | w4 p | g r4 w4 rA p",
     0},
};

static void drive_run_case(const struct drive_case *k)
{
	struct upper_conn c;
	struct fake f;
	unsigned char *b0 = malloc(k->cap), *b1 = malloc(k->cap); /* exact size: ASan sees overruns */

	CU_ASSERT_FATAL(b0 != NULL && b1 != NULL);
	memset(&f, 0, sizeof f);
	f.rs = k->recvs;
	f.ws = k->sends;
	f.nobuf = k->nobuf;
	f.c = &c;
	f.pool[f.npool++] = b1;
	/* As tcp-upper accepts: init with a pool buffer, hand it back until bytes arrive. */
	CHECK(upper_conn_init(&c, b0, k->cap) == 0, "%s: init", k->name);
	f.pool[f.npool++] = upper_conn_release(&c);
	for (size_t i = 0; i < sizeof k->wakeups / sizeof k->wakeups[0] && k->wakeups[i].ready != 0; i++) {
		unsigned interest = 99;
		if (i > 0)
			fake_trace(&f, "|");
		int rc = drive_wakeup(&c, &fake_io, &f, k->wakeups[i].ready, &interest);
		CHECK(rc == k->wakeups[i].ret, "%s: wakeup %zu returned %d, want %d", k->name, i, rc,
		      k->wakeups[i].ret);
		if (rc == D_WAIT)
			CHECK(interest == k->wakeups[i].interest, "%s: wakeup %zu interest %#x, want %#x",
			      k->name, i, interest, k->wakeups[i].interest);
		CHECK(f.outstanding == (c.buf != NULL),
		      "%s: wakeup %zu: %d buffers lent, connection holds %s", k->name, i, f.outstanding,
		      c.buf != NULL ? "one" : "none");
		if (rc == D_CLOSE) {
			CHECK(c.buf == NULL, "%s: closed with a buffer", k->name);
			CHECK(drive_wakeup(&c, &fake_io, &f, IN | OUT, &interest) == D_CLOSE,
			      "%s: drive after close", k->name);
		}
	}
	CHECK(strcmp(f.trace, k->trace) == 0, "%s: trace \"%s\", want \"%s\"", k->name, f.trace, k->trace);
	CHECK((c.buf != NULL) == k->held, "%s: holds a buffer: %d, want %d", k->name, c.buf != NULL, k->held);
	CHECK(!f.bad_fed, "%s: an event was refused or returned other than upper_conn_want()", k->name);
	CHECK(!f.sent_after_fail, "%s: sent after the recv error", k->name);
	CHECK(f.nwire <= f.nin &&
	          oracle_mismatch((const unsigned char *)drive_input, f.nwire, f.wire, f.nwire) == f.nwire,
	      "%s: the wire is not the transform of what was read", k->name);
	CHECK(f.fins <= 1, "%s: %d FINs", k->name, f.fins);
	if (f.fins == 1)
		CHECK(f.wire_at_fin == f.nin, "%s: FIN after %zu of %zu bytes", k->name, f.wire_at_fin,
		      f.nin);
	CHECK(f.nrecv <= DRIVE_READS * 3, "%s: %d recv calls", k->name, f.nrecv);
	free(b0);
	free(b1);
}

static void test_drive_table(void)
{
	for (size_t i = 0; i < sizeof drive_cases / sizeof drive_cases[0]; i++)
		drive_run_case(&drive_cases[i]);
}

int main(void)
{
	static const struct unit_test tests[] = {
	    {"upper_byte over all 256 values", test_byte_all_values},
	    {"upper_transform over all 256 values", test_transform_all_values},
	    {"upper_transform lengths 0..200 at all alignments", test_transform_lengths_alignments},
	    {"oracle_mismatch table", test_mismatch_table},
	    {"upper_udp_reply sizes", test_udp_reply},
	    {"oracle_udp_check table", test_udp_check_table},
	    {"oracle_unicode_hint table", test_unicode_hint_table},
	    {"upper_rule_text", test_rule_text},
	    {"conn init", test_conn_init},
	    {"conn table, events whole and one byte at a time", test_conn_table},
	    {"conn buffer compaction", test_conn_compaction},
	    {"conn buffer lending", test_conn_lending},
	    {"drive_wakeup table, fake socket", test_drive_table},
	};

	return unit_run("core", tests, sizeof tests / sizeof tests[0]);
}
