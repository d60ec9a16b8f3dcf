/* gen_pcaps.c - writes the generated captures of pcaps/ (reassembly cases real captures rarely show)
 * and the large benchmark capture, with the pcap writer (pcapw.h). */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "oracle.h"
#include "pcapw.h"
#include "util.h"

#define T0 (1700000000ull * 1000000000ull)
#define MS 1000000ull

static char e[512];

static void usage(FILE *f)
{
	fprintf(
	    f, "usage: gen-pcaps DIR\n"
	       "       gen-pcaps --bench PACKETS FILE\n"
	       "Writes the generated reassembly captures into DIR (gen-*.pcap: out-of-order segments,\n"
	       "retransmissions, capture duplicates, overlaps with conflicting bytes, sequence wraparound,\n"
	       "IPv6 over RAW, gaps and a capture that starts mid-connection, a reused 4-tuple, a UDP reply\n"
	       "missing from the capture), or with\n"
	       "--bench a capture of at least PACKETS packets of many short uppercase conversations.\n"
	       "Exit status: 0 written, 2 usage or write error.\n"
	       "Examples:\n"
	       "  gen-pcaps /tmp/gen-pcaps\n"
	       "  gen-pcaps --bench 100000 /tmp/bench.pcap\n");
}

static struct pcapw *open_w(const char *dir, const char *name, int lt)
{
	char path[1024];
	struct pcapw *w;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	w = pcapw_open(path, lt, 0, e, sizeof e);
	if (!w)
		errx(2, "%s", e);
	return w;
}

static void close_w(struct pcapw *w)
{
	if (pcapw_close(w, e, sizeof e) < 0)
		errx(2, "%s", e);
}

#define CK(x)                                                                                                \
	do {                                                                                                 \
		if ((x) < 0)                                                                                 \
			errx(2, "%s", e);                                                                    \
	} while (0)

/* A raw TCP segment of flow f from dir at stream offset off (relative to the ISN + 1). */
static void seg_at(struct pcapw_tcp *f, int dir, size_t off, unsigned flags, const char *data, size_t len)
{
	CK(pcapw_packet(f->w, &f->ep, dir, 6, f->isn[dir] + 1 + (uint32_t)off, f->nxt[!dir], flags, data, len,
	                f->ts_ns, e, sizeof e));
	f->ts_ns += 10000;
}

/* The server's whole answer to what the client sent, then both FINs. */
static void answer_and_close(struct pcapw_tcp *f, const char *sent, size_t n)
{
	char *up = malloc(n ? n : 1);

	if (!up)
		errx(2, "out of memory");
	oracle_expect((unsigned char *)up, (const unsigned char *)sent, n);
	CK(pcapw_tcp_send(f, PCAPW_S2C, up, n, e, sizeof e));
	CK(pcapw_tcp_fin(f, PCAPW_C2S, e, sizeof e));
	CK(pcapw_tcp_fin(f, PCAPW_S2C, e, sizeof e));
	free(up);
}

/* Prepares flow f on w from 127.0.0.1:cport to 127.0.0.1:8082, its first packet at ts_ns. */
static void tcp_v4(struct pcapw_tcp *f, struct pcapw *w, uint16_t cport, uint64_t ts_ns)
{
	struct pcapw_ep ep;

	pcapw_ep_v4(&ep, 0x7f000001, cport, 0x7f000001, 8082);
	pcapw_tcp_init(f, w, &ep, ts_ns);
}

/* Out of order: the third write is captured before the second. */
static void gen_ooo(struct pcapw *w)
{
	struct pcapw_tcp f;
	const char *msg = "hello world, out of order\n";
	size_t n = strlen(msg);

	tcp_v4(&f, w, 41000, T0);
	CK(pcapw_tcp_connect(&f, e, sizeof e));
	seg_at(&f, PCAPW_C2S, 0, PCAPW_ACK | PCAPW_PSH, msg, 6);
	seg_at(&f, PCAPW_C2S, 12, PCAPW_ACK | PCAPW_PSH, msg + 12, n - 12);
	seg_at(&f, PCAPW_C2S, 6, PCAPW_ACK | PCAPW_PSH, msg + 6, 6);
	f.nxt[PCAPW_C2S] += (uint32_t)n;
	answer_and_close(&f, msg, n);
}

/* Retransmissions (same bytes, 200 ms later) and capture duplicates (same packet, same instant). */
static void gen_retrans(struct pcapw *w)
{
	struct pcapw_tcp f;

	tcp_v4(&f, w, 41001, T0);
	CK(pcapw_tcp_connect(&f, e, sizeof e));
	seg_at(&f, PCAPW_C2S, 0, PCAPW_ACK | PCAPW_PSH, "first ", 6);
	f.ts_ns -= 10000; /* the duplicate: identical packet, same timestamp */
	CK(pcapw_packet(f.w, &f.ep, PCAPW_C2S, 6, f.isn[0] + 1, f.nxt[1], PCAPW_ACK | PCAPW_PSH, "first ", 6,
	                f.ts_ns, e, sizeof e));
	f.ts_ns += 200 * MS; /* the retransmission: after an RTO */
	seg_at(&f, PCAPW_C2S, 0, PCAPW_ACK | PCAPW_PSH, "first ", 6);
	seg_at(&f, PCAPW_C2S, 6, PCAPW_ACK | PCAPW_PSH, "second\n", 7);
	f.nxt[PCAPW_C2S] += 13;
	answer_and_close(&f, "first second\n", 13);
}

/* Overlaps: partial re-sends, one with different bytes (the first copy wins). */
static void gen_overlap(struct pcapw *w)
{
	struct pcapw_tcp f;
	const char *msg = "overlapping segments!\n"; /* 22 bytes */
	size_t n = strlen(msg);

	tcp_v4(&f, w, 41002, T0);
	CK(pcapw_tcp_connect(&f, e, sizeof e));
	seg_at(&f, PCAPW_C2S, 0, PCAPW_ACK, msg, 8);        /* [0,8)   "overlapp" */
	seg_at(&f, PCAPW_C2S, 4, PCAPW_ACK, "XXXXing ", 8); /* [4,12)  conflicts on [4,8), adds "ing " */
	seg_at(&f, PCAPW_C2S, 16, PCAPW_ACK, msg + 16, 6);  /* [16,22) held: a hole at [12,16) */
	seg_at(&f, PCAPW_C2S, 14, PCAPW_ACK, "ZZnts", 5);   /* [14,19) fills [14,16), [16,19) conflicts */
	seg_at(&f, PCAPW_C2S, 10, PCAPW_ACK | PCAPW_PSH, msg + 10, 6); /* [10,16) fills the hole */
	f.nxt[PCAPW_C2S] += (uint32_t)n;
	/* The stream as reassembled: first copies everywhere. */
	answer_and_close(&f, "overlapping seZZents!\n", n);
}

/* Sequence numbers wrap around 2^32 in both directions. */
static void gen_wrap(struct pcapw *w)
{
	struct pcapw_tcp f;
	const char *msg = "sequence numbers wrap around here\n";
	size_t n = strlen(msg);

	tcp_v4(&f, w, 41003, T0);
	f.isn[0] = f.nxt[0] = 0xfffffff0u;
	f.isn[1] = f.nxt[1] = 0xfffffffau;
	f.mss = 7;
	CK(pcapw_tcp_connect(&f, e, sizeof e));
	CK(pcapw_tcp_send(&f, PCAPW_C2S, msg, n, e, sizeof e));
	answer_and_close(&f, msg, n);
}

/* IPv6 on a RAW link: a TCP flow and UDP datagrams. */
static void gen_ipv6_raw(struct pcapw *w)
{
	struct pcapw_ep ep;
	struct pcapw_tcp f;

	memset(&ep, 0, sizeof ep);
	ep.family = 6;
	ep.caddr[15] = ep.saddr[15] = 1;
	ep.cport = 41004;
	ep.sport = 8082;
	pcapw_tcp_init(&f, w, &ep, T0);
	CK(pcapw_tcp_connect(&f, e, sizeof e));
	CK(pcapw_tcp_send(&f, PCAPW_C2S, "over ipv6\n", 10, e, sizeof e));
	answer_and_close(&f, "over ipv6\n", 10);
	ep.sport = 8080;
	CK(pcapw_udp(w, &ep, PCAPW_C2S, "datagram six", 12, f.ts_ns, e, sizeof e));
	CK(pcapw_udp(w, &ep, PCAPW_S2C, "DATAGRAM SIX", 12, f.ts_ns + 10000, e, sizeof e));
}

/* Incomplete flows: a lost segment (gap), and a capture that starts mid-connection (no SYN); plus one
 * complete flow, so the file replays something. */
static void gen_incomplete(struct pcapw *w)
{
	struct pcapw_tcp f;

	tcp_v4(&f, w, 41005, T0);
	CK(pcapw_tcp_connect(&f, e, sizeof e));
	seg_at(&f, PCAPW_C2S, 0, PCAPW_ACK, "lost ", 5);
	seg_at(&f, PCAPW_C2S, 10, PCAPW_ACK | PCAPW_PSH, "gap\n", 4); /* [5,10) never captured */
	f.nxt[PCAPW_C2S] += 14;
	answer_and_close(&f, "lost XXXXXgap\n", 14);
	tcp_v4(&f, w, 41006, f.ts_ns);
	f.nxt[0] += 1000; /* mid-connection: no handshake in the capture */
	f.nxt[1] += 2000;
	CK(pcapw_tcp_send(&f, PCAPW_C2S, "midstream\n", 10, e, sizeof e));
	answer_and_close(&f, "midstream\n", 10);
	tcp_v4(&f, w, 41007, f.ts_ns);
	CK(pcapw_tcp_connect(&f, e, sizeof e));
	CK(pcapw_tcp_send(&f, PCAPW_C2S, "complete\n", 9, e, sizeof e));
	answer_and_close(&f, "complete\n", 9);
}

/* UDP where the capture lost one reply: recorded mode checks that datagram's reply by the rule and the
 * others against their recorded replies. */
static void gen_udp_noreply(struct pcapw *w)
{
	struct pcapw_ep ep;

	pcapw_ep_v4(&ep, 0x7f000001, 41010, 0x7f000001, 8080);
	CK(pcapw_udp(w, &ep, PCAPW_C2S, "one", 3, T0, e, sizeof e));
	CK(pcapw_udp(w, &ep, PCAPW_S2C, "ONE", 3, T0 + 1 * MS, e, sizeof e));
	CK(pcapw_udp(w, &ep, PCAPW_C2S, "reply not captured", 18, T0 + 2 * MS, e, sizeof e));
	CK(pcapw_udp(w, &ep, PCAPW_C2S, "three", 5, T0 + 4 * MS, e, sizeof e));
	CK(pcapw_udp(w, &ep, PCAPW_S2C, "THREE", 5, T0 + 5 * MS, e, sizeof e));
}

/* The same 4-tuple used by two connections one after the other. */
static void gen_reuse(struct pcapw *w)
{
	struct pcapw_ep ep;
	struct pcapw_tcp f;

	tcp_v4(&f, w, 41008, T0);
	CK(pcapw_tcp_connect(&f, e, sizeof e));
	CK(pcapw_tcp_send(&f, PCAPW_C2S, "first connection\n", 17, e, sizeof e));
	answer_and_close(&f, "first connection\n", 17);
	pcapw_tcp_init(&f, w, &ep, f.ts_ns + 1000 * MS);
	f.isn[0] = f.nxt[0] = 0x50000000u;
	f.isn[1] = f.nxt[1] = 0x60000000u;
	CK(pcapw_tcp_connect(&f, e, sizeof e));
	CK(pcapw_tcp_send(&f, PCAPW_C2S, "second one\n", 11, e, sizeof e));
	answer_and_close(&f, "second one\n", 11);
}

/* The generated captures, in the order they are written. */
static const struct {
	const char *name;
	int linktype;
	void (*write)(struct pcapw *w);
} captures[] = {
    {"gen-ooo.pcap", PCAPW_EN10MB, gen_ooo},
    {"gen-retrans.pcap", PCAPW_EN10MB, gen_retrans},
    {"gen-overlap.pcap", PCAPW_EN10MB, gen_overlap},
    {"gen-wrap.pcap", PCAPW_EN10MB, gen_wrap},
    {"gen-ipv6-raw.pcap", PCAPW_RAW, gen_ipv6_raw},
    {"gen-incomplete.pcap", PCAPW_EN10MB, gen_incomplete},
    {"gen-udp-noreply.pcap", PCAPW_EN10MB, gen_udp_noreply},
    {"gen-reuse.pcap", PCAPW_EN10MB, gen_reuse},
};

static void gen_reassembly(const char *dir)
{
	size_t i;

	for (i = 0; i < sizeof captures / sizeof captures[0]; i++) {
		struct pcapw *w = open_w(dir, captures[i].name, captures[i].linktype);
		captures[i].write(w);
		close_w(w);
	}
}

/* At least npk packets: conversations of a few lines each, 64 at a time interleaved. */
static void gen_bench(uint64_t npk, const char *path)
{
	struct pcapw *w = pcapw_open(path, PCAPW_EN10MB, 0, e, sizeof e);
	struct pcapw_tcp fl[64];
	struct pcapw_ep ep;
	static const char line[] = "the quick brown fox jumps over the lazy dog 0123456789\n";
	char up[sizeof line];
	uint64_t ts = T0;
	unsigned long long conv = 0;
	int i, r;

	if (!w)
		errx(2, "%s", e);
	oracle_expect((unsigned char *)up, (const unsigned char *)line, sizeof line - 1);
	while (pcapw_count(w) < npk) {
		for (i = 0; i < 64; i++) {
			pcapw_ep_v4(&ep, 0x7f000001, (uint16_t)(1024 + (conv + (unsigned)i) % 60000),
			            0x7f000001, 8082);
			pcapw_tcp_init(&fl[i], w, &ep, ts);
			fl[i].isn[0] = fl[i].nxt[0] = (uint32_t)((conv + (unsigned)i) * 2654435761u);
			CK(pcapw_tcp_connect(&fl[i], e, sizeof e));
		}
		for (r = 0; r < 4; r++)
			for (i = 0; i < 64; i++) {
				CK(pcapw_tcp_send(&fl[i], PCAPW_C2S, line, sizeof line - 1, e, sizeof e));
				CK(pcapw_tcp_send(&fl[i], PCAPW_S2C, up, sizeof line - 1, e, sizeof e));
			}
		for (i = 0; i < 64; i++) {
			CK(pcapw_tcp_fin(&fl[i], PCAPW_C2S, e, sizeof e));
			CK(pcapw_tcp_fin(&fl[i], PCAPW_S2C, e, sizeof e));
			if (fl[i].ts_ns > ts)
				ts = fl[i].ts_ns;
		}
		conv += 64;
		ts += MS;
	}
	printf("%s: %llu packets, %llu connections\n", path, (unsigned long long)pcapw_count(w), conv);
	close_w(w);
}

int main(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		cli_print_version(stdout, "gen-pcaps");
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--bench")) {
		uint64_t n;
		if (argc != 4) {
			cli_usage_error(stderr, "gen-pcaps",
			                "--bench: missing argument (--bench PACKETS FILE)");
			return 2;
		}
		if (util_parse_u64(argv[2], 1, UINT64_MAX, 0, &n, e, sizeof e) < 0) {
			cli_usage_errorf(stderr, "gen-pcaps", "--bench '%s': expected a packet count",
			                 argv[2]);
			return 2;
		}
		gen_bench(n, argv[3]);
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-') {
		if (argc > 1 && argv[1][0] == '-')
			cli_usage_errorf(stderr, "gen-pcaps", "%s: unknown option", argv[1]);
		else
			cli_usage_error(stderr, "gen-pcaps", "expected one DIR, or --bench N FILE");
		return 2;
	}
	gen_reassembly(argv[1]);
	return 0;
}
