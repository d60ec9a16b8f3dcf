/* test_fuzz.c - CUnit tests of the fuzz input formats (script.c: round trips, truncation, every short
 * input decodes) and of the TCP simulation (tcpsim.c: wire trace of a known script, breaches it reports)
 * and the UDP one (udpsim.c: udp-upper's batch loop under each kernel event). */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drive.h"
#include "script.h"
#include "tcpkern.h"
#include "tcpsim.h"
#include "udpsim.h"
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
    {"kernel-events",
     4,
     0,
     {{SCRIPT_ACCEPT, 0, 7, NULL, 0},
      {SCRIPT_NOFILE, 0, 1, NULL, 0},
      {SCRIPT_INTR, 2, 3, NULL, 0},
      {SCRIPT_NOMEM, 0, 5, NULL, 0},
      {SCRIPT_CTLERR, 1, 0, NULL, 0},
      {SCRIPT_SLEEP, 0, 200, NULL, 0}},
     6},
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
		struct script_event ev[8];
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
	    /* Both clients wait in the accept queue while held; one round accepts them, the next serves
	     * them in descriptor order. */
	    {"accept-queue",
	     2,
	     0,
	     {{SCRIPT_HOLD, 0, 0, NULL, 0},
	      {SCRIPT_SEND, 0, 0, (const unsigned char *)"a", 1},
	      {SCRIPT_SEND, 1, 0, (const unsigned char *)"b", 1},
	      {SCRIPT_HOLD, 0, 0, NULL, 0}},
	     4,
	     "0.0 CONNECT;0.0 C_DATA a;1.0 CONNECT;1.0 C_DATA b;0.0 S_DATA A;1.0 S_DATA B;0.0 C_FIN;1.0 "
	     "C_FIN;0.0 S_FIN;0.0 S_CLOSE;1.0 S_FIN;1.0 S_CLOSE;"},
	    /* At the descriptor limit the second client waits until the first connection's close. */
	    {"nofile",
	     2,
	     0,
	     {{SCRIPT_SEND, 0, 0, (const unsigned char *)"a", 1},
	      {SCRIPT_NOFILE, 0, 0, NULL, 0},
	      {SCRIPT_SEND, 1, 0, (const unsigned char *)"b", 1},
	      {SCRIPT_FIN, 0, 0, NULL, 0}},
	     4,
	     "0.0 CONNECT;0.0 C_DATA a;0.0 S_DATA A;1.0 CONNECT;1.0 C_DATA b;0.0 C_FIN;0.0 S_FIN;0.0 "
	     "S_CLOSE;1.0 S_DATA B;1.0 C_FIN;1.0 S_FIN;1.0 S_CLOSE;"},
	    /* A failed epoll_ctl at accept, or a failed allocation, drops the new connection. */
	    {"ctl-failure",
	     1,
	     0,
	     {{SCRIPT_CTLERR, 0, 0, NULL, 0}, {SCRIPT_SEND, 0, 0, (const unsigned char *)"x", 1}},
	     2,
	     "0.0 CONNECT;0.0 S_CLOSE;0.1 CONNECT;0.1 C_DATA x;0.1 S_DATA X;0.1 C_FIN;0.1 S_FIN;0.1 "
	     "S_CLOSE;"},
	    /* The injected EPIPE, once send() returns it, is the cause of the close that drops "b". */
	    {"write-error",
	     1,
	     0,
	     {{SCRIPT_WERR, 0, 0, NULL, 0}, {SCRIPT_SEND, 0, 0, (const unsigned char *)"ab", 2}},
	     2,
	     "0.0 CONNECT;0.0 C_DATA ab;0.0 S_CLOSE;"},
	    {"nomem-accept",
	     1,
	     0,
	     {{SCRIPT_NOMEM, 0, 0, NULL, 0}, {SCRIPT_SEND, 0, 0, (const unsigned char *)"x", 1}},
	     2,
	     "0.0 CONNECT;0.0 C_DATA x;0.0 S_CLOSE;"},
	    /* Every allocation fails until time passes: the connection that cannot get a buffer waits
	     * out of the epoll set (a spin otherwise), then reads once the retry comes. */
	    {"nomem-starved",
	     2,
	     0,
	     {{SCRIPT_STOP, 0, 0, NULL, 0},
	      {SCRIPT_STOP, 1, 0, NULL, 0},
	      {SCRIPT_SEND, 0, 0, (const unsigned char *)"a", 1},
	      {SCRIPT_NOMEM, 0, 16, NULL, 0},
	      {SCRIPT_SEND, 1, 0, (const unsigned char *)"b", 1},
	      {SCRIPT_SLEEP, 0, 2, NULL, 0},
	      {SCRIPT_RESUME, 1, 0, NULL, 0},
	      {SCRIPT_RESUME, 0, 0, NULL, 0}},
	     8,
	     "0.0 CONNECT;1.0 CONNECT;0.0 C_DATA a;1.0 C_DATA b;1.0 S_DATA B;0.0 S_DATA A;"
	     "0.0 C_FIN;1.0 C_FIN;0.0 S_FIN;0.0 S_CLOSE;1.0 S_FIN;1.0 S_CLOSE;"},
	    /* The pause's epoll_ctl fails four times at the descriptor limit: no accept until a close. */
	    {"pause-ctl-failure",
	     2,
	     0,
	     {{SCRIPT_SEND, 0, 0, (const unsigned char *)"a", 1},
	      {SCRIPT_NOFILE, 0, 8 | 48, NULL, 0},
	      {SCRIPT_SEND, 1, 0, (const unsigned char *)"b", 1},
	      {SCRIPT_FIN, 0, 0, NULL, 0}},
	     4,
	     "0.0 CONNECT;0.0 C_DATA a;0.0 S_DATA A;1.0 CONNECT;1.0 C_DATA b;0.0 C_FIN;0.0 S_FIN;"
	     "0.0 S_CLOSE;1.0 S_DATA B;1.0 C_FIN;1.0 S_FIN;1.0 S_CLOSE;"},
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

/* Every close needs a cause the simulated kernel can name. A connection whose client sent "abc" and got
 * "A" back is closed through tcpkern_io the way the loop would: after a cause made and consumed it
 * passes; with none, or with an injected fault the loop never met, the close is a breach naming the
 * bytes owed. */
static void test_close_causes(void)
{
	enum { NONE, DEAD, WERR_LEFT, WERR_TAKEN, CTL_LEFT, CTL_TAKEN, RESET, FIN, ALL_OUT };
	static const struct {
		const char *name;
		int how;
		const char *want; /* the reason's start, or NULL: the close is allowed */
	} cases[] = {
	    {"a live core closed, 2 bytes owed", NONE,
	     "T1/T6: the server closes connection 0 on slot 0 owing 2 bytes"},
	    {"a core marked dead by no one", DEAD,
	     "T1/T6: the server resets connection 0 on slot 0 owing 2 bytes"},
	    {"a write error injected, never met", WERR_LEFT, "T1/T6: the server resets"},
	    {"a write error injected and returned", WERR_TAKEN, NULL},
	    {"an epoll_ctl failure injected, never met", CTL_LEFT, "T1/T6: the server closes"},
	    {"an epoll_ctl failure injected and returned", CTL_TAKEN, NULL},
	    {"the client reset", RESET, NULL},
	    {"every byte back, FIN both ways", FIN, NULL},
	    {"every byte back, no FIN", ALL_OUT,
	     "T4/T6: the server closes connection 0 on slot 0 owing 0 bytes"},
	};
	unsigned char sent[3] = "abc", buf[16];
	char why[256];

	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		struct tcpkern *m = calloc(1, sizeof *m);
		struct upper_conn uc = {0};
		struct epoll_event ev = {.events = EPOLLIN};
		CU_ASSERT_FATAL(m != NULL && upper_conn_init(&uc, buf, sizeof buf) == 0);
		struct tcpkern_sock *s = &m->s[0];
		m->why = why;
		m->whylen = sizeof why;
		m->fdslot[1] = m->fdslot[2] = m->fdslot[3] = -1;
		*s = (struct tcpkern_sock){.state = TCPKERN_SOCK_OPEN,
		                           .fd = TCPKERN_FD_FIRST,
		                           .uc = &uc,
		                           .registered = 1,
		                           .sent = sent,
		                           .nsent = 3,
		                           .nread = 3,
		                           .ngot = 1};
		switch (cases[c].how) {
		case DEAD:
			(void)upper_conn_event(&uc, UPPER_EV_WERROR, 0);
			break;
		case WERR_LEFT:
		case WERR_TAKEN:
			s->werr = TCPKERN_WERR_EPIPE;
			if (cases[c].how == WERR_TAKEN)
				CU_ASSERT_EQUAL(tcpkern_io.send(m, s->fd, (const unsigned char *)"BC", 2),
				                DRIVE_IO_ERR);
			(void)upper_conn_event(&uc, UPPER_EV_WERROR, 0);
			break;
		case CTL_LEFT:
		case CTL_TAKEN:
			s->ctl_fail = 1;
			if (cases[c].how == CTL_TAKEN)
				CU_ASSERT_EQUAL(tcpkern_io.ctl(m, EPOLL_CTL_MOD, s->fd, &ev), -ENOMEM);
			break;
		case RESET:
			s->crst = 1;
			s->causes |= TCPKERN_BY_RESET; /* as the script's RST sets it (tcpsim.c) */
			(void)upper_conn_event(&uc, UPPER_EV_RESET, 0);
			break;
		case FIN:
		case ALL_OUT:
			s->ngot = 3;
			s->cfin = s->eof_read = cases[c].how == FIN;
			if (cases[c].how == FIN)
				tcpkern_io.shutdown_wr(m, s->fd);
			break;
		default:
			break;
		}
		CU_ASSERT_EQUAL_FATAL(m->rc, 0);
		tcpkern_io.close(m, s->fd);
		int ok = cases[c].want == NULL
		             ? m->rc == 0
		             : m->rc == 1 && strncmp(why, cases[c].want, strlen(cases[c].want)) == 0;
		if (!ok)
			fprintf(stderr, "\n%s: rc %d: %s\n", cases[c].name, m->rc, m->rc ? why : "(allowed)");
		CU_ASSERT(ok);
		CU_ASSERT(m->rc != 0 || (m->fdslot[0] == -1 && s->state == TCPKERN_SOCK_NONE));
		free(m);
	}
}

/* UDP tags with senders, batch bits and events round-trip; tags with bits 3-7 clear (the old format)
 * are sender 0 without events; FILL repeats a pattern of several bytes exactly. */
static void test_udp_meta(void)
{
	static unsigned char out[SCRIPT_UDP_MAX6 + 1]; /* a byte past the largest datagram stays 0 */
	unsigned char enc[600];
	struct script_udp_dec d;
	struct script_udp_meta m, got;
	size_t len, n = 0;

	for (unsigned i = 0; i < 64; i++) {
		m = (struct script_udp_meta){.family = i % 2 ? 6 : 4,
		                             .sender = i % SCRIPT_UDP_SENDERS,
		                             .batch = (i / 8) % 2,
		                             .recv = (enum script_udp_recv_event)(i % 8),
		                             .send = (enum script_udp_send_event)((i / 8) % 8)};
		n = script_udp_enc_meta(enc, sizeof enc, (const unsigned char *)"payload", i % 8, &m);
		CU_ASSERT_FATAL(n > 0 && n <= sizeof enc);
		script_udp_init(&d, enc, n);
		CU_ASSERT_FATAL(script_udp_read(&d, out, &len, &got) == 1);
		CU_ASSERT(len == i % 8 && memcmp(out, "payload", len) == 0);
		CU_ASSERT(got.family == m.family && got.sender == m.sender && got.batch == m.batch &&
		          got.recv == m.recv && got.send == m.send);
		CU_ASSERT_EQUAL(script_udp_read(&d, out, &len, &got), 0);
	}
	const unsigned char old[] = {SCRIPT_UDP_SHORT | 4u, 2, 'h', 'i', SCRIPT_UDP_EMPTY};
	script_udp_init(&d, old, sizeof old);
	CU_ASSERT(script_udp_read(&d, out, &len, &got) == 1 && len == 2 && got.family == 6 &&
	          got.sender == 0 && got.batch == 0 && got.recv == SCRIPT_UDP_RECV_NONE &&
	          got.send == SCRIPT_UDP_SEND_NONE);
	CU_ASSERT(script_udp_read(&d, NULL, &len, &got) == 1 && len == 0 && got.family == 4);
	const unsigned char pattern[] = {SCRIPT_UDP_FILL, 0, 10, 2, 'a', 'b', 'c'};
	script_udp_init(&d, pattern, sizeof pattern);
	CU_ASSERT(script_udp_read(&d, out, &len, &got) == 1 && len == 10 &&
	          memcmp(out, "abcabcabca", 10) == 0);
	memset(out, 0, sizeof out);
	const unsigned char huge[] = {SCRIPT_UDP_FILL | 4u, 0xff, 0xff, 2, 'x', 'y', 'z'};
	script_udp_init(&d, huge, sizeof huge);
	CU_ASSERT_FATAL(script_udp_read(&d, out, &len, &got) == 1 && len == SCRIPT_UDP_MAX6);
	int same = 1;
	for (size_t i = 0; i < len; i++)
		same &= out[i] == "xyz"[i % 3];
	CU_ASSERT(same && out[len] == 0);
}

/* One datagram of a udpsim case. */
struct udp_case_dgram {
	const char *body;
	unsigned sender, batch, family;
	enum script_udp_recv_event recv;
	enum script_udp_send_event send;
};

/* Encodes dg[0..n) into enc (room for them); returns the length. */
static size_t encode_udp_case(const struct udp_case_dgram *dg, size_t n, unsigned char *enc, size_t room)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		const struct script_udp_meta m = {.family = dg[i].family == 6 ? 6 : 4,
		                                  .sender = dg[i].sender,
		                                  .batch = dg[i].batch,
		                                  .recv = dg[i].recv,
		                                  .send = dg[i].send};
		o += script_udp_enc_meta(enc + o, room - o, (const unsigned char *)dg[i].body,
		                         strlen(dg[i].body), &m);
	}
	CU_ASSERT_FATAL(o <= room);
	return o;
}

/* udp-upper's loop under each kernel event: what it received, answered and left unanswered. */
static void test_udpsim_events(void)
{
	/* clang-format off */
	static const struct {
		const char *name;
		struct udp_case_dgram dg[6];
		size_t n, received, replies, dropped, events;
	} cases[] = {
	    {"senders of both families", {{"a", 1, 0, 4, 0, 0}, {"b", 2, 0, 6, 0, 0}, {"c", 3, 0, 4, 0, 0}, {"", 7, 0, 6, 0, 0}}, 4, 4, 4, 0, 0},
	    {"wait and receive interrupted",
	     {{"a", 0, 0, 4, SCRIPT_UDP_WAIT_EINTR, 0}, {"b", 1, 1, 4, SCRIPT_UDP_RECV_EAGAIN, 0},
	      {"c", 2, 1, 6, SCRIPT_UDP_RECV_EINTR, 0}},
	     3, 3, 3, 0, 3},
	    {"pending ICMP error at the receive", {{"a", 0, 0, 4, SCRIPT_UDP_ICMP_RECV, 0}, {"b", 1, 0, 4, 0, 0}}, 2, 2, 2, 0, 1},
	    {"ICMP error at the send: the batch's first reply is lost",
	     {{"a", 0, 0, 4, 0, 0}, {"b", 1, 0, 4, SCRIPT_UDP_ICMP_SEND, 0}, {"c", 2, 0, 4, 0, 0}},
	     3, 3, 2, 1, 1},
	    {"truncated datagram", {{"a", 0, 0, 4, 0, 0}, {"b", 1, 0, 4, SCRIPT_UDP_TRUNC, 0}, {"c", 2, 0, 6, 0, 0}}, 3, 3, 2, 1, 1},
	    {"EAGAIN, ENOBUFS, EINTR, partial: every reply goes",
	     {{"a", 0, 0, 4, 0, 0}, {"b", 1, 0, 4, 0, SCRIPT_UDP_SEND_EAGAIN}, {"c", 2, 0, 4, 0, SCRIPT_UDP_SEND_ENOBUFS},
	      {"d", 3, 0, 4, 0, SCRIPT_UDP_SEND_EINTR}, {"e", 4, 0, 4, 0, SCRIPT_UDP_SEND_PARTIAL}, {"f", 5, 0, 6, 0, 0}},
	     6, 6, 6, 0, 4},
	    {"full buffer past the wait, unreachable sender: lost, the others go",
	     {{"a", 0, 0, 4, 0, SCRIPT_UDP_SEND_FULL}, {"b", 1, 0, 4, 0, 0}, {"c", 2, 0, 4, 0, SCRIPT_UDP_SEND_UNREACH},
	      {"d", 3, 0, 6, 0, 0}},
	     4, 4, 2, 2, 2},
	    {"stop while waiting to send", {{"a", 0, 0, 4, 0, 0}, {"b", 1, 0, 4, 0, SCRIPT_UDP_SEND_STOP}, {"c", 2, 1, 4, 0, 0}}, 3, 2, 1, 0, 1},
	    {"the wait fails", {{"a", 0, 0, 4, 0, 0}, {"b", 1, 1, 4, SCRIPT_UDP_WAIT_FAIL, 0}}, 2, 1, 1, 0, 1},
	};
	/* clang-format on */
	unsigned char enc[256];
	char why[320];
	struct udpsim_stats st;
	struct udpsim *sim = udpsim_new(why, sizeof why);

	CU_ASSERT_FATAL(sim != NULL);
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		size_t n = encode_udp_case(cases[c].dg, cases[c].n, enc, sizeof enc);
		enum udpsim_result r = udpsim_run(sim, enc, n, &st, why, sizeof why);
		if (r != UDPSIM_OK)
			fprintf(stderr, "\n%s: %s\n", cases[c].name, why);
		CU_ASSERT_EQUAL(r, UDPSIM_OK);
		if (st.received != cases[c].received || st.replies != cases[c].replies ||
		    st.dropped != cases[c].dropped || st.events != cases[c].events)
			fprintf(stderr, "\n%s: received %zu replies %zu dropped %zu events %zu\n",
			        cases[c].name, st.received, st.replies, st.dropped, st.events);
		CU_ASSERT_EQUAL(st.datagrams, cases[c].n);
		CU_ASSERT_EQUAL(st.received, cases[c].received);
		CU_ASSERT_EQUAL(st.replies, cases[c].replies);
		CU_ASSERT_EQUAL(st.dropped, cases[c].dropped);
		CU_ASSERT_EQUAL(st.events, cases[c].events);
	}
	/* Datagrams that arrive together are received a batch at a time: 100 take four rounds and the stop.
	 */
	size_t o = 0;
	for (unsigned i = 0; i < 100; i++)
		o += script_udp_enc(enc + o, sizeof enc - o, NULL, 0, i % 2 ? 6 : 4);
	CU_ASSERT_EQUAL(udpsim_run(sim, enc, o, &st, why, sizeof why), UDPSIM_OK);
	CU_ASSERT(st.replies == 100 && st.rounds == 5);
	udpsim_free(sim);
}

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	CU_pSuite s = CU_add_suite("fuzz formats and TCP simulation", NULL, NULL);
	if (s == NULL || !CU_add_test(s, "script round trips", test_round_trip) ||
	    !CU_add_test(s, "every short input and prefix decodes", test_every_input_decodes) ||
	    !CU_add_test(s, "UDP datagrams: sizes 0 to max, clamping, cuts", test_udp) ||
	    !CU_add_test(s, "tcpsim wire traces", test_tcpsim_traces) ||
	    !CU_add_test(s, "tcpkern: every close has a cause", test_close_causes) ||
	    !CU_add_test(s, "UDP senders, batches and kernel events", test_udp_meta) ||
	    !CU_add_test(s, "udpsim: udp-upper's loop under each kernel event", test_udpsim_events)) {
		CU_cleanup_registry();
		return 2;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
