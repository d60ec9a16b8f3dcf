/* mkseeds.c - writes the committed seed corpora corpus/fuzz_tcp and corpus/fuzz_udp from a table of
 * meaningful scenarios, through the encoder of script.h (so the seeds follow the format by
 * construction). Run by `make fuzz-seeds`; the output is committed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script.h"

/* A scenario step: op, slot, arg, and for SEND a text or a generated payload. */
struct step {
	enum script_op op;
	unsigned slot, arg;
	const char *text; /* SEND: these bytes, or NULL for gen */
	size_t genlen;    /* SEND with text NULL: genlen bytes of 0x00..0xff then 'a'..'z' cycling */
};

struct scenario {
	const char *name;
	unsigned nconn, capidx;
	struct step steps[16];
};

#define S(t)                                                                                                 \
	{                                                                                                    \
		SCRIPT_SEND, 0, 0, t, 0                                                                      \
	}
#define SS(slot, t)                                                                                          \
	{                                                                                                    \
		SCRIPT_SEND, slot, 0, t, 0                                                                   \
	}
#define G(slot, n)                                                                                           \
	{                                                                                                    \
		SCRIPT_SEND, slot, 0, NULL, n                                                                \
	}
#define E(op, slot, arg)                                                                                     \
	{                                                                                                    \
		op, slot, arg, NULL, 0                                                                       \
	}
#define END                                                                                                  \
	{                                                                                                    \
		SCRIPT_NOPS, 0, 0, NULL, 0                                                                   \
	}

static const struct scenario tcp[] = {
    {"hello", 1, 0, {S("hello world\n"), E(SCRIPT_FIN, 0, 0), END}},
    {"interactive", 1, 0, {S("line one\n"), S("Line Two, MiXeD 123\n"), S("z"), E(SCRIPT_FIN, 0, 0), END}},
    {"all-bytes", 1, 0, {G(0, 256), E(SCRIPT_FIN, 0, 0), END}},
    {"connect-close", 1, 0, {E(SCRIPT_FIN, 0, 0), END}},
    {"reset-before-send", 1, 0, {E(SCRIPT_RST, 0, 0), END}},
    {"reset-mid-stream", 1, 0, {E(SCRIPT_STOP, 0, 4), S("owed bytes never sent"), E(SCRIPT_RST, 0, 0), END}},
    {"fin-with-owed-bytes",
     1,
     0,
     {E(SCRIPT_STOP, 0, 0), G(0, 300), E(SCRIPT_FIN, 0, 0), E(SCRIPT_RESUME, 0, 0), END}},
    {"backpressure-cap1",
     1,
     1,
     {E(SCRIPT_STOP, 0, 3), G(0, 300), E(SCRIPT_TICK, 0, 0), E(SCRIPT_RESUME, 0, 0), E(SCRIPT_FIN, 0, 0),
      END}},
    {"backpressure-cap16",
     1,
     4,
     {E(SCRIPT_HOLD, 0, 0), G(0, 700), E(SCRIPT_STOP, 0, 20), E(SCRIPT_HOLD, 0, 0), E(SCRIPT_RESUME, 0, 0),
      END}},
    {"short-writes",
     1,
     0,
     {E(SCRIPT_SHORT, 0, 1), S("abcdefghijklmnopqrstuvwxyz"), E(SCRIPT_FIN, 0, 0), END}},
    {"short-reads", 1, 0, {E(SCRIPT_RLIMIT, 0, 3), G(0, 200), E(SCRIPT_FIN, 0, 0), END}},
    {"would-block", 1, 0, {E(SCRIPT_AGAIN, 0, 0), S("blocked once"), E(SCRIPT_FIN, 0, 0), END}},
    {"write-epipe", 1, 0, {E(SCRIPT_WERR, 0, 0), S("lost"), END}},
    {"write-econnreset",
     1,
     0,
     {E(SCRIPT_STOP, 0, 0), S("x"), E(SCRIPT_WERR, 0, 1), E(SCRIPT_RESUME, 0, 0), END}},
    {"slot-reuse", 1, 0, {S("first"), E(SCRIPT_FIN, 0, 0), S("second"), E(SCRIPT_FIN, 0, 0), END}},
    {"four-clients",
     4,
     0,
     {SS(0, "alpha"), SS(1, "bravo"), E(SCRIPT_STOP, 2, 0), SS(2, "stalled charlie"), SS(3, "delta"),
      E(SCRIPT_RST, 1, 0), E(SCRIPT_FIN, 0, 0), E(SCRIPT_FIN, 3, 0), E(SCRIPT_RESUME, 2, 0),
      E(SCRIPT_FIN, 2, 0), END}},
    {"held-burst",
     2,
     6,
     {E(SCRIPT_HOLD, 0, 0), G(0, 2000), G(1, 500), E(SCRIPT_FIN, 0, 0), E(SCRIPT_RST, 1, 0),
      E(SCRIPT_TICK, 0, 0), E(SCRIPT_HOLD, 0, 0), END}},
};

static int write_file(const char *dir, const char *name, const unsigned char *p, size_t n)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		fprintf(stderr, "mkseeds: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static size_t encode_tcp(const struct scenario *s, unsigned char *out, size_t cap)
{
	size_t o = script_enc_header(out, cap, s->nconn, s->capidx);
	unsigned char gen[4096];

	for (const struct step *st = s->steps; st->op != SCRIPT_NOPS; st++) {
		struct script_event ev = {.op = st->op, .slot = st->slot, .arg = st->arg};
		if (st->op == SCRIPT_SEND) {
			if (st->text != NULL) {
				ev.data = (const unsigned char *)st->text;
				ev.len = strlen(st->text);
			} else {
				for (size_t i = 0; i < st->genlen && i < sizeof gen; i++)
					gen[i] = (unsigned char)(i < 256 ? i : 'a' + i % 26);
				ev.data = gen;
				ev.len = st->genlen < sizeof gen ? st->genlen : sizeof gen;
			}
		}
		o += script_enc_event(out + o, cap - o, &ev);
	}
	return o;
}

int main(int argc, char **argv)
{
	static unsigned char buf[1 << 17], dg[SCRIPT_UDP_MAX6];
	char name[128];
	size_t o;

	if (argc != 3 || strcmp(argv[1], "--help") == 0) {
		printf("usage: %s TCPDIR UDPDIR\nWrites the seed corpora of fuzz_tcp and fuzz_udp (existing "
		       "files of\n"
		       "the same names are replaced).\n",
		       argv[0]);
		return argc == 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
	}
	for (size_t i = 0; i < sizeof tcp / sizeof tcp[0]; i++) {
		o = encode_tcp(&tcp[i], buf, sizeof buf);
		snprintf(name, sizeof name, "seed-%s", tcp[i].name);
		if (o > sizeof buf || write_file(argv[1], name, buf, o) != 0)
			return 1;
	}
	/* UDP: single-datagram seeds for each boundary, and one sequence. */
	static const struct {
		const char *name;
		size_t len;
		int family, fill;
	} udp[] = {
	    {"empty", 0, 4, 0},
	    {"one-byte", 1, 4, 0},
	    {"hello", 5, 4, 0},
	    {"all-bytes", 256, 4, 0},
	    {"tutorial-1024", 1025, 4, 0},
	    {"tutorial-8192", 8193, 4, 1},
	    {"max-ipv4", SCRIPT_UDP_MAX4, 4, 1},
	    {"max-ipv6", SCRIPT_UDP_MAX6, 6, 1},
	};
	for (size_t i = 0; i < sizeof udp / sizeof udp[0]; i++) {
		for (size_t k = 0; k < udp[i].len; k++)
			dg[k] = udp[i].fill       ? (unsigned char)'q'
			        : udp[i].len == 5 ? (unsigned char)"hello"[k]
			                          : (unsigned char)k;
		o = script_udp_enc(buf, sizeof buf, dg, udp[i].len, udp[i].family);
		snprintf(name, sizeof name, "seed-%s", udp[i].name);
		if (o == 0 || o > sizeof buf || write_file(argv[2], name, buf, o) != 0)
			return 1;
	}
	o = 0;
	o += script_udp_enc(buf + o, sizeof buf - o, (const unsigned char *)"line one\n", 9, 4);
	o += script_udp_enc(buf + o, sizeof buf - o, dg, 0, 4);
	o += script_udp_enc(buf + o, sizeof buf - o, (const unsigned char *)"Mixed Case zZ", 13, 6);
	if (write_file(argv[2], "seed-sequence", buf, o) != 0)
		return 1;
	return 0;
}
