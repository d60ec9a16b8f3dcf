/* test_fuzz.c - CUnit tests of the fuzz input formats (script.c: round trips, truncation, every short
 * input decodes) and of the TCP simulation (tcpsim.c: wire trace of a known script, breaches it reports). */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

#include "script.h"
#include "tcpsim.h"
#include "upper.h"

static unsigned char big[1000];

/* One case: events to encode; each must decode back identically (SEND split into 256-byte chunks). */
static const struct {
	const char *name;
	unsigned nconn, capidx;
	struct script_event ev[6];
	size_t nev;
} round_trips[] = {
    {"send-fin",
     1,
     0,
     {{SCRIPT_SEND, 0, 0, (const unsigned char *)"hello", 5}, {SCRIPT_FIN, 0, 0, NULL, 0}},
     2},
    {"all-args",
     4,
     7,
     {{SCRIPT_SHORT, 3, 255, NULL, 0},
      {SCRIPT_WERR, 1, 1, NULL, 0},
      {SCRIPT_STOP, 2, 0, NULL, 0},
      {SCRIPT_RLIMIT, 0, 7, NULL, 0},
      {SCRIPT_RESUME, 2, 0, NULL, 0},
      {SCRIPT_RST, 3, 0, NULL, 0}},
     6},
    {"global-ops",
     2,
     3,
     {{SCRIPT_HOLD, 0, 0, NULL, 0}, {SCRIPT_AGAIN, 1, 0, NULL, 0}, {SCRIPT_TICK, 0, 0, NULL, 0}},
     3},
    {"send-256", 1, 1, {{SCRIPT_SEND, 0, 0, big, 256}}, 1},
    {"send-1000", 3, 2, {{SCRIPT_SEND, 2, 0, big, 1000}, {SCRIPT_FIN, 2, 0, NULL, 0}}, 2},
};

static void test_round_trip(void)
{
	unsigned char buf[4096];

	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (unsigned char)(i * 7);
	for (size_t c = 0; c < sizeof round_trips / sizeof round_trips[0]; c++) {
		size_t o = script_enc_header(buf, sizeof buf, round_trips[c].nconn, round_trips[c].capidx);
		for (size_t k = 0; k < round_trips[c].nev; k++) {
			size_t need = script_enc_event(NULL, 0, &round_trips[c].ev[k]);
			CU_ASSERT_EQUAL(script_enc_event(buf + o, sizeof buf - o, &round_trips[c].ev[k]),
			                need);
			o += need;
		}
		struct script_dec d;
		struct script_event ev;
		script_dec_init(&d, buf, o);
		CU_ASSERT_EQUAL(d.nconn, round_trips[c].nconn);
		CU_ASSERT_EQUAL(d.cap, script_cap(round_trips[c].capidx));
		for (size_t k = 0; k < round_trips[c].nev; k++) {
			const struct script_event *want = &round_trips[c].ev[k];
			if (want->op == SCRIPT_SEND) {
				size_t got = 0;
				while (got < want->len) {
					CU_ASSERT_FATAL(script_dec_next(&d, &ev) == 1);
					CU_ASSERT_EQUAL(ev.op, SCRIPT_SEND);
					CU_ASSERT_EQUAL(ev.slot, want->slot);
					CU_ASSERT(ev.len <= SCRIPT_MAX_CHUNK && got + ev.len <= want->len);
					CU_ASSERT(memcmp(ev.data, want->data + got, ev.len) == 0);
					got += ev.len;
				}
				continue;
			}
			CU_ASSERT_FATAL(script_dec_next(&d, &ev) == 1);
			CU_ASSERT_EQUAL(ev.op, want->op);
			CU_ASSERT_EQUAL(ev.slot, want->slot);
			CU_ASSERT_EQUAL(ev.arg, want->arg);
		}
		CU_ASSERT_EQUAL(script_dec_next(&d, &ev), 0);
	}
}

/* Every input of 0-2 bytes, and every prefix of a real script, decodes to valid events. */
static void test_every_input_decodes(void)
{
	unsigned char in[2];
	struct script_dec d;
	struct script_event ev;

	script_dec_init(&d, NULL, 0);
	CU_ASSERT_EQUAL(d.nconn, 1);
	CU_ASSERT_EQUAL(script_dec_next(&d, &ev), 0);
	for (unsigned v = 0; v < 65536; v++) {
		in[0] = (unsigned char)(v >> 8);
		in[1] = (unsigned char)v;
		for (size_t n = 1; n <= 2; n++) {
			int count = 0;
			script_dec_init(&d, in, n);
			CU_ASSERT(d.nconn >= 1 && d.nconn <= SCRIPT_MAX_CONNS);
			while (script_dec_next(&d, &ev)) {
				CU_ASSERT((unsigned)ev.op < SCRIPT_NOPS && ev.slot < d.nconn &&
				          ev.arg <= 255);
				CU_ASSERT(ev.op != SCRIPT_SEND ||
				          (ev.len >= 1 && ev.data >= in && ev.data + ev.len <= in + n));
				count++;
			}
			CU_ASSERT(count <= 1);
		}
	}
	unsigned char s[64];
	struct script_event send = {SCRIPT_SEND, 0, 0, (const unsigned char *)"abcdefgh", 8};
	size_t o = script_enc_header(s, sizeof s, 2, 4);
	o += script_enc_event(s + o, sizeof s - o, &send);
	for (size_t n = 0; n <= o; n++) {
		script_dec_init(&d, s, n);
		size_t bytes = 0;
		while (script_dec_next(&d, &ev))
			bytes += ev.len;
		CU_ASSERT_EQUAL(bytes,
		                n > 3 ? n - 3 : 0); /* header, op, length: a cut SEND keeps what remains */
	}
}

static void test_udp(void)
{
	static unsigned char data[SCRIPT_UDP_MAX6], out[SCRIPT_UDP_MAX6], enc[SCRIPT_UDP_MAX6 + 8];
	static const struct {
		size_t len;
		int family, same;
	} cases[] = {{0, 4, 0},
	             {1, 4, 0},
	             {255, 4, 0},
	             {256, 4, 0},
	             {1025, 6, 0},
	             {8193, 4, 1},
	             {SCRIPT_UDP_MAX4, 4, 1},
	             {SCRIPT_UDP_MAX4, 4, 0},
	             {SCRIPT_UDP_MAX6, 6, 1}};
	struct script_udp_dec d;
	size_t len;
	int family;

	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		for (size_t i = 0; i < cases[c].len; i++)
			data[i] = cases[c].same ? 'x' : (unsigned char)(i * 13);
		size_t n = script_udp_enc(enc, sizeof enc, data, cases[c].len, cases[c].family);
		CU_ASSERT_FATAL(n > 0 && n <= sizeof enc);
		CU_ASSERT(!cases[c].same || cases[c].len <= 5 ||
		          n == 5); /* big uniform datagrams are cheap */
		script_udp_init(&d, enc, n);
		CU_ASSERT_FATAL(script_udp_next(&d, out, &len, &family) == 1);
		CU_ASSERT_EQUAL(len, cases[c].len);
		CU_ASSERT_EQUAL(family, cases[c].family);
		CU_ASSERT(memcmp(out, data, len) == 0);
		CU_ASSERT_EQUAL(script_udp_next(&d, out, &len, &family), 0);
	}
	CU_ASSERT_EQUAL(script_udp_enc(enc, sizeof enc, data, SCRIPT_UDP_MAX4 + 1, 4), 0);
	/* A FILL asking for more than the maximum is clamped to it. */
	const unsigned char over[] = {SCRIPT_UDP_FILL, 0xff, 0xff, 0, 'q'};
	script_udp_init(&d, over, sizeof over);
	CU_ASSERT(script_udp_next(&d, out, &len, &family) == 1 && len == SCRIPT_UDP_MAX4);
	/* A SHORT cut by the end of input gives what remains, then the end. */
	const unsigned char cut[] = {SCRIPT_UDP_SHORT, 10, 'a', 'b'};
	script_udp_init(&d, cut, sizeof cut);
	CU_ASSERT(script_udp_next(&d, out, &len, &family) == 1 && len == 2 && memcmp(out, "ab", 2) == 0);
	CU_ASSERT_EQUAL(script_udp_next(&d, out, &len, &family), 0);
}

/* The wire trace of a known script, as the replay tool sees it through the hook. */
struct trace {
	char text[512];
};

static void record(void *ctx, unsigned slot, unsigned gen, enum tcpsim_wire what, const unsigned char *p,
                   size_t n)
{
	static const char *const names[] = {"",      "CONNECT", "C_DATA", "C_FIN",
	                                    "C_RST", "S_DATA",  "S_FIN",  "S_CLOSE"};
	struct trace *t = ctx;
	size_t l = strlen(t->text);

	snprintf(t->text + l, sizeof t->text - l, "%u.%u %s%s%.*s;", slot, gen, names[what], n ? " " : "",
	         (int)n, p ? (const char *)p : "");
}

static size_t build(unsigned char *buf, size_t cap, unsigned nconn, unsigned capidx,
                    const struct script_event *ev, size_t nev)
{
	size_t o = script_enc_header(buf, cap, nconn, capidx);
	for (size_t i = 0; i < nev; i++)
		o += script_enc_event(buf + o, cap - o, &ev[i]);
	return o;
}

static void test_tcpsim_traces(void)
{
	static const struct {
		const char *name;
		unsigned nconn, capidx;
		struct script_event ev[5];
		size_t nev;
		const char *want;
	} cases[] = {
	    {"hello",
	     1,
	     0,
	     {{SCRIPT_SEND, 0, 0, (const unsigned char *)"hi there", 8}, {SCRIPT_FIN, 0, 0, NULL, 0}},
	     2,
	     "0.0 CONNECT;0.0 C_DATA hi there;0.0 S_DATA HI THERE;0.0 C_FIN;0.0 S_FIN;0.0 S_CLOSE;"},
	    {"short-writes",
	     1,
	     0,
	     {{SCRIPT_SHORT, 0, 2, NULL, 0}, {SCRIPT_SEND, 0, 0, (const unsigned char *)"abcde", 5}},
	     2,
	     "0.0 CONNECT;0.0 C_DATA abcde;0.0 S_DATA AB;0.0 S_DATA CD;0.0 S_DATA E;0.0 C_FIN;0.0 S_FIN;0.0 "
	     "S_CLOSE;"},
	    {"reset-while-owed",
	     1,
	     0,
	     {{SCRIPT_STOP, 0, 1, NULL, 0},
	      {SCRIPT_SEND, 0, 0, (const unsigned char *)"xyz", 3},
	      {SCRIPT_RST, 0, 0, NULL, 0}},
	     3,
	     "0.0 CONNECT;0.0 C_DATA xyz;0.0 S_DATA X;0.0 C_RST;0.0 S_CLOSE;"},
	    {"slot-reuse",
	     2,
	     0,
	     {{SCRIPT_FIN, 1, 0, NULL, 0}, {SCRIPT_SEND, 1, 0, (const unsigned char *)"q", 1}},
	     2,
	     "1.0 CONNECT;1.0 C_FIN;1.0 S_FIN;1.0 S_CLOSE;1.1 CONNECT;1.1 C_DATA q;1.1 S_DATA Q;1.1 "
	     "C_FIN;1.1 S_FIN;"
	     "1.1 S_CLOSE;"},
	    {"backpressure-cap1",
	     1,
	     1,
	     {{SCRIPT_STOP, 0, 0, NULL, 0},
	      {SCRIPT_SEND, 0, 0, (const unsigned char *)"ab", 2},
	      {SCRIPT_RESUME, 0, 0, NULL, 0}},
	     3,
	     "0.0 CONNECT;0.0 C_DATA ab;0.0 S_DATA A;0.0 S_DATA B;0.0 C_FIN;0.0 S_FIN;0.0 S_CLOSE;"},
	};
	unsigned char buf[256];
	char why[256];

	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		struct trace t = {{0}};
		struct tcpsim_hooks h = {record, &t};
		struct tcpsim_stats st;
		size_t n = build(buf, sizeof buf, cases[c].nconn, cases[c].capidx, cases[c].ev, cases[c].nev);
		int rc = tcpsim_run(buf, n, &h, &st, why, sizeof why);
		CU_ASSERT_EQUAL(rc, 0);
		if (strcmp(t.text, cases[c].want) != 0)
			fprintf(stderr, "\n%s: got  %s\n%s: want %s\n", cases[c].name, t.text, cases[c].name,
			        cases[c].want);
		CU_ASSERT_STRING_EQUAL(t.text, cases[c].want);
	}
}

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	CU_pSuite s = CU_add_suite("fuzz formats and TCP simulation", NULL, NULL);
	if (s == NULL || !CU_add_test(s, "script round trips", test_round_trip) ||
	    !CU_add_test(s, "every short input and prefix decodes", test_every_input_decodes) ||
	    !CU_add_test(s, "UDP datagrams: sizes 0 to max, clamping, cuts", test_udp) ||
	    !CU_add_test(s, "tcpsim wire traces", test_tcpsim_traces)) {
		CU_cleanup_registry();
		return 2;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
