/* mkseeds.c - writes the committed seed corpora corpus/fuzz_tcp and corpus/fuzz_udp from a table of
 * meaningful scenarios, through the encoder of script.h (so the seeds follow the format by
 * construction). Run by `make fuzz-seeds`; the output is committed. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "decode.h"
#include "pcapw.h"
#include "script.h"

/* A scenario step: op, slot, arg, and for SEND a text or a generated payload. A list of steps ends with
 * op SCRIPT_NOPS. */
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

/* clang-format off */
static const struct scenario tcp[] = {
    {.name = "hello", .nconn = 1, .steps = {{.op = SCRIPT_SEND, .text = "hello world\n"},
        {.op = SCRIPT_FIN}, {.op = SCRIPT_NOPS}}},
    {.name = "interactive", .nconn = 1, .steps = {{.op = SCRIPT_SEND, .text = "line one\n"},
        {.op = SCRIPT_SEND, .text = "Line Two, MiXeD 123\n"}, {.op = SCRIPT_SEND, .text = "z"},
        {.op = SCRIPT_FIN}, {.op = SCRIPT_NOPS}}},
    {.name = "all-bytes", .nconn = 1, .steps = {{.op = SCRIPT_SEND, .genlen = 256}, {.op = SCRIPT_FIN},
        {.op = SCRIPT_NOPS}}},
    {.name = "connect-close", .nconn = 1, .steps = {{.op = SCRIPT_FIN}, {.op = SCRIPT_NOPS}}},
    {.name = "reset-before-send", .nconn = 1, .steps = {{.op = SCRIPT_RST}, {.op = SCRIPT_NOPS}}},
    {.name = "reset-mid-stream", .nconn = 1, .steps = {{.op = SCRIPT_STOP, .arg = 4},
        {.op = SCRIPT_SEND, .text = "owed bytes never sent"}, {.op = SCRIPT_RST}, {.op = SCRIPT_NOPS}}},
    {.name = "fin-with-owed-bytes", .nconn = 1, .steps = {{.op = SCRIPT_STOP},
        {.op = SCRIPT_SEND, .genlen = 300}, {.op = SCRIPT_FIN}, {.op = SCRIPT_RESUME},
        {.op = SCRIPT_NOPS}}},
    {.name = "backpressure-cap1", .nconn = 1, .capidx = 1, .steps = {{.op = SCRIPT_STOP, .arg = 3},
        {.op = SCRIPT_SEND, .genlen = 300}, {.op = SCRIPT_TICK}, {.op = SCRIPT_RESUME}, {.op = SCRIPT_FIN},
        {.op = SCRIPT_NOPS}}},
    {.name = "backpressure-cap16", .nconn = 1, .capidx = 4, .steps = {{.op = SCRIPT_HOLD},
        {.op = SCRIPT_SEND, .genlen = 700}, {.op = SCRIPT_STOP, .arg = 20}, {.op = SCRIPT_HOLD},
        {.op = SCRIPT_RESUME}, {.op = SCRIPT_NOPS}}},
    {.name = "short-writes", .nconn = 1, .steps = {{.op = SCRIPT_SHORT, .arg = 1},
        {.op = SCRIPT_SEND, .text = "abcdefghijklmnopqrstuvwxyz"}, {.op = SCRIPT_FIN},
        {.op = SCRIPT_NOPS}}},
    {.name = "short-reads", .nconn = 1, .steps = {{.op = SCRIPT_RLIMIT, .arg = 3},
        {.op = SCRIPT_SEND, .genlen = 200}, {.op = SCRIPT_FIN}, {.op = SCRIPT_NOPS}}},
    {.name = "would-block", .nconn = 1, .steps = {{.op = SCRIPT_AGAIN},
        {.op = SCRIPT_SEND, .text = "blocked once"}, {.op = SCRIPT_FIN}, {.op = SCRIPT_NOPS}}},
    {.name = "write-epipe", .nconn = 1, .steps = {{.op = SCRIPT_WERR}, {.op = SCRIPT_SEND, .text = "lost"},
        {.op = SCRIPT_NOPS}}},
    {.name = "write-econnreset", .nconn = 1, .steps = {{.op = SCRIPT_STOP},
        {.op = SCRIPT_SEND, .text = "x"}, {.op = SCRIPT_WERR, .arg = 1}, {.op = SCRIPT_RESUME},
        {.op = SCRIPT_NOPS}}},
    {.name = "slot-reuse", .nconn = 1, .steps = {{.op = SCRIPT_SEND, .text = "first"}, {.op = SCRIPT_FIN},
        {.op = SCRIPT_SEND, .text = "second"}, {.op = SCRIPT_FIN}, {.op = SCRIPT_NOPS}}},
    {.name = "four-clients", .nconn = 4, .steps = {{.op = SCRIPT_SEND, .text = "alpha"},
        {.op = SCRIPT_SEND, .slot = 1, .text = "bravo"}, {.op = SCRIPT_STOP, .slot = 2},
        {.op = SCRIPT_SEND, .slot = 2, .text = "stalled charlie"},
        {.op = SCRIPT_SEND, .slot = 3, .text = "delta"}, {.op = SCRIPT_RST, .slot = 1}, {.op = SCRIPT_FIN},
        {.op = SCRIPT_FIN, .slot = 3}, {.op = SCRIPT_RESUME, .slot = 2}, {.op = SCRIPT_FIN, .slot = 2},
        {.op = SCRIPT_NOPS}}},
    {.name = "held-burst", .nconn = 2, .capidx = 6, .steps = {{.op = SCRIPT_HOLD},
        {.op = SCRIPT_SEND, .genlen = 2000}, {.op = SCRIPT_SEND, .slot = 1, .genlen = 500},
        {.op = SCRIPT_FIN}, {.op = SCRIPT_RST, .slot = 1}, {.op = SCRIPT_TICK}, {.op = SCRIPT_HOLD},
        {.op = SCRIPT_NOPS}}},
    /* The kernel under tcp-upper's loop: the accept queue, accept's errors, descriptor exhaustion,
     * EINTR, failed allocations and epoll_ctl calls, time passing. */
    {.name = "accept-queue", .nconn = 4, .steps = {{.op = SCRIPT_HOLD}, {.op = SCRIPT_SEND, .text = "one"},
        {.op = SCRIPT_SEND, .slot = 1, .text = "two"}, {.op = SCRIPT_SEND, .slot = 2, .text = "three"},
        {.op = SCRIPT_SEND, .slot = 3, .text = "four"}, {.op = SCRIPT_HOLD}, {.op = SCRIPT_NOPS}}},
    {.name = "accept-errors", .nconn = 4, .steps = {{.op = SCRIPT_ACCEPT},
        {.op = SCRIPT_SEND, .text = "after EINTR"}, {.op = SCRIPT_ACCEPT, .arg = 1},
        {.op = SCRIPT_SEND, .slot = 1, .text = "after ECONNABORTED"}, {.op = SCRIPT_ACCEPT, .arg = 2},
        {.op = SCRIPT_SEND, .slot = 2, .text = "after EPROTO"}, {.op = SCRIPT_ACCEPT, .arg = 3},
        {.op = SCRIPT_SEND, .slot = 3, .text = "after EPERM"}, {.op = SCRIPT_FIN},
        {.op = SCRIPT_ACCEPT, .arg = 6}, {.op = SCRIPT_SEND, .text = "after EAGAIN"}, {.op = SCRIPT_FIN},
        {.op = SCRIPT_ACCEPT, .arg = 7}, {.op = SCRIPT_SEND, .text = "after EINVAL"}, {.op = SCRIPT_NOPS}}},
    {.name = "accept-enobufs-pause", .nconn = 2, .steps = {{.op = SCRIPT_ACCEPT, .arg = 4},
        {.op = SCRIPT_SEND, .text = "waits out the pause"}, {.op = SCRIPT_SLEEP, .arg = 2},
        {.op = SCRIPT_ACCEPT, .arg = 5}, {.op = SCRIPT_SEND, .slot = 1, .text = "after ENOMEM"},
        {.op = SCRIPT_FIN}, {.op = SCRIPT_NOPS}}},
    {.name = "nofile-emfile", .nconn = 2, .steps = {{.op = SCRIPT_SEND, .text = "holds a descriptor"},
        {.op = SCRIPT_NOFILE}, {.op = SCRIPT_SEND, .slot = 1, .text = "waits for a descriptor"},
        {.op = SCRIPT_FIN}, {.op = SCRIPT_FIN, .slot = 1}, {.op = SCRIPT_NOPS}}},
    {.name = "nofile-enfile-timeout", .nconn = 1, .steps = {{.op = SCRIPT_NOFILE, .arg = 1},
        {.op = SCRIPT_SEND, .text = "refused"}, {.op = SCRIPT_SLEEP, .arg = 2},
        {.op = SCRIPT_SLEEP, .arg = 255}, {.op = SCRIPT_NOFILE, .arg = 7}, {.op = SCRIPT_SLEEP, .arg = 255},
        {.op = SCRIPT_NOPS}}},
    /* The operator reads the log (NOFILE bits 6-7): the limit and resume lines are formatted, with the
     * open count known, unknown at EMFILE with the limit known, and unknown. */
    {.name = "nofile-log-lines", .nconn = 2, .steps = {{.op = SCRIPT_SEND, .text = "holds a descriptor"},
        {.op = SCRIPT_NOFILE, .arg = 192 | 1}, {.op = SCRIPT_SEND, .slot = 1, .text = "refused"},
        {.op = SCRIPT_FIN}, {.op = SCRIPT_NOFILE, .arg = 192 | 4}, {.op = SCRIPT_SEND, .text = "refused"},
        {.op = SCRIPT_SLEEP, .arg = 255}, {.op = SCRIPT_FIN, .slot = 1},
        {.op = SCRIPT_NOFILE, .arg = 192 | 7}, {.op = SCRIPT_SEND, .slot = 1, .text = "refused"},
        {.op = SCRIPT_SLEEP, .arg = 255}, {.op = SCRIPT_NOPS}}},
    {.name = "intr-everywhere", .nconn = 1, .steps = {{.op = SCRIPT_INTR, .arg = 3},
        {.op = SCRIPT_SEND, .text = "interrupted calls"}, {.op = SCRIPT_FIN}, {.op = SCRIPT_NOPS}}},
    {.name = "intr-one-each", .nconn = 1, .steps = {{.op = SCRIPT_INTR},
        {.op = SCRIPT_SEND, .text = "wait"}, {.op = SCRIPT_INTR, .arg = 1},
        {.op = SCRIPT_SEND, .text = "send"}, {.op = SCRIPT_INTR, .arg = 2},
        {.op = SCRIPT_SEND, .text = "recv"}, {.op = SCRIPT_NOPS}}},
    {.name = "nomem-accept", .nconn = 1, .steps = {{.op = SCRIPT_NOMEM},
        {.op = SCRIPT_SEND, .text = "lost with its connection"}, {.op = SCRIPT_SEND, .text = "a new one"},
        {.op = SCRIPT_NOPS}}},
    {.name = "nomem-accept-buffer", .nconn = 1, .steps = {{.op = SCRIPT_NOMEM, .arg = 4},
        {.op = SCRIPT_SEND, .text = "its buffer fails"}, {.op = SCRIPT_SEND, .text = "a new one"},
        {.op = SCRIPT_NOPS}}},
    {.name = "nomem-read-buffer", .nconn = 2, .steps = {{.op = SCRIPT_STOP}, {.op = SCRIPT_STOP, .slot = 1},
        {.op = SCRIPT_SEND, .text = "holds the buffer"}, {.op = SCRIPT_NOMEM, .arg = 1},
        {.op = SCRIPT_SEND, .slot = 1, .text = "reads once memory returns"}, {.op = SCRIPT_RESUME},
        {.op = SCRIPT_RESUME, .slot = 1}, {.op = SCRIPT_NOPS}}},
    /* Every allocation fails until time passes (NOMEM bit 4): the starved connection must leave the
     * epoll set rather than wake the loop again and again, and read again when a buffer comes back or
     * the retry comes. */
    {.name = "nomem-starved-buffer-back", .nconn = 2, .steps = {{.op = SCRIPT_STOP},
        {.op = SCRIPT_STOP, .slot = 1}, {.op = SCRIPT_SEND, .text = "holds the buffer"},
        {.op = SCRIPT_NOMEM, .arg = 16},
        {.op = SCRIPT_SEND, .slot = 1, .text = "starves until a buffer comes back"}, {.op = SCRIPT_RESUME},
        {.op = SCRIPT_RESUME, .slot = 1}, {.op = SCRIPT_NOPS}}},
    {.name = "nomem-starved-retry", .nconn = 2, .steps = {{.op = SCRIPT_STOP},
        {.op = SCRIPT_STOP, .slot = 1}, {.op = SCRIPT_SEND, .text = "holds the buffer"},
        {.op = SCRIPT_NOMEM, .arg = 16},
        {.op = SCRIPT_SEND, .slot = 1, .text = "starves until memory returns"},
        {.op = SCRIPT_SLEEP, .arg = 2}, {.op = SCRIPT_RESUME, .slot = 1}, {.op = SCRIPT_RESUME},
        {.op = SCRIPT_NOPS}}},
    {.name = "nomem-starved-ctl-failure", .nconn = 3, .steps = {{.op = SCRIPT_STOP},
        {.op = SCRIPT_STOP, .slot = 1}, {.op = SCRIPT_STOP, .slot = 2},
        {.op = SCRIPT_SEND, .text = "holds the buffer"}, {.op = SCRIPT_NOMEM, .arg = 16},
        {.op = SCRIPT_CTLERR, .slot = 1},
        {.op = SCRIPT_SEND, .slot = 1, .text = "starves, leaving epoll fails"},
        {.op = SCRIPT_SEND, .slot = 2, .text = "starves"}, {.op = SCRIPT_CTLERR, .slot = 2},
        {.op = SCRIPT_SLEEP, .arg = 2}, {.op = SCRIPT_RESUME}, {.op = SCRIPT_NOPS}}},
    /* The listener's epoll_ctl fails (NOFILE bit 3, bits 4-5 how often): at the pause, which must
     * still hold without accept() being retried, and at the resume, which must be retried. */
    {.name = "nofile-pause-ctl-failure", .nconn = 2, .steps = {
        {.op = SCRIPT_SEND, .text = "holds a descriptor"}, {.op = SCRIPT_NOFILE, .arg = 8 | 48},
        {.op = SCRIPT_SEND, .slot = 1, .text = "waits for a descriptor"}, {.op = SCRIPT_FIN},
        {.op = SCRIPT_FIN, .slot = 1}, {.op = SCRIPT_NOPS}}},
    {.name = "nofile-resume-ctl-failure", .nconn = 1, .steps = {{.op = SCRIPT_NOFILE},
        {.op = SCRIPT_SEND, .text = "refused, then accepted after the resume's retry"},
        {.op = SCRIPT_NOFILE, .arg = 8}, {.op = SCRIPT_SLEEP, .arg = 2}, {.op = SCRIPT_SLEEP, .arg = 2},
        {.op = SCRIPT_NOPS}}},
    {.name = "ctl-failure", .nconn = 2, .steps = {{.op = SCRIPT_CTLERR},
        {.op = SCRIPT_SEND, .text = "never registered"}, {.op = SCRIPT_SEND, .slot = 1, .text = "first"},
        {.op = SCRIPT_CTLERR, .slot = 1}, {.op = SCRIPT_STOP, .slot = 1},
        {.op = SCRIPT_SEND, .slot = 1, .text = "blocks, then its epoll_ctl fails"},
        {.op = SCRIPT_SEND, .text = "again"}, {.op = SCRIPT_NOPS}}},
    {.name = "sleep-give-back", .nconn = 4, .steps = {{.op = SCRIPT_SEND, .text = "a"},
        {.op = SCRIPT_SEND, .slot = 1, .text = "b"}, {.op = SCRIPT_SEND, .slot = 2, .text = "c"},
        {.op = SCRIPT_SEND, .slot = 3, .text = "d"}, {.op = SCRIPT_FIN}, {.op = SCRIPT_FIN, .slot = 1},
        {.op = SCRIPT_FIN, .slot = 2}, {.op = SCRIPT_FIN, .slot = 3}, {.op = SCRIPT_SLEEP, .arg = 30},
        {.op = SCRIPT_SEND, .text = "after the quiet period"}, {.op = SCRIPT_NOPS}}},
};
/* clang-format on */

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

/* ---- fuzz_pcap: classic pcap files whose frames reach the decoder's refusals (every malformed header
 * it names), each link type's header, and reassembly's edges (old bytes, conflicts, resets, payloads the
 * capture cut, flows without a SYN, the flow and held-segment limits). Frames are pcapw_frame()'s,
 * edited where a case needs a bad field. ---- */

#define PCAP_SEED_MAX 4096 /* fuzz_pcap's max_len */
#define FULL ((size_t)-1)  /* a frame captured whole */

struct pcap_seed {
	unsigned char buf[PCAP_SEED_MAX];
	size_t n, frames;
	int overflow;
};

static void put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void pcap_seed_start(struct pcap_seed *s, uint32_t linktype)
{
	memset(s, 0, sizeof *s);
	put_le32(s->buf, 0xa1b2c3d4u); /* microsecond timestamps, this file's byte order */
	put_le32(s->buf + 4, 2 | 4u << 16);
	put_le32(s->buf + 16, 65535);
	put_le32(s->buf + 20, linktype);
	s->n = 24;
}

/* Adds a record: the first caplen bytes of frame[0..len) (all of them with FULL), wire length len. */
static void pcap_seed_frame(struct pcap_seed *s, const uint8_t *frame, size_t len, size_t caplen)
{
	if (caplen > len)
		caplen = len;
	if (s->n + 16 + caplen > sizeof s->buf) {
		s->overflow = 1;
		return;
	}
	put_le32(s->buf + s->n, 1700000000u);
	put_le32(s->buf + s->n + 4, (uint32_t)(++s->frames * 1000)); /* 1 ms apart: no capture duplicates */
	put_le32(s->buf + s->n + 8, (uint32_t)caplen);
	put_le32(s->buf + s->n + 12, (uint32_t)len);
	memcpy(s->buf + s->n + 16, frame, caplen);
	s->n += 16 + caplen;
}

static int pcap_seed_write(const struct pcap_seed *s, const char *dir, const char *name)
{
	if (s->overflow) {
		fprintf(stderr, "mkseeds: %s/%s would exceed fuzz_pcap's max_len of %d bytes\n", dir, name,
		        PCAP_SEED_MAX);
		return -1;
	}
	return write_file(dir, name, s->buf, s->n);
}

/* The number of the decoder's link type name, or for NULL the first number its table does not read (so
 * that no link-type number is written outside lib/decode.c). */
static uint32_t link_number(const char *name)
{
	int lt = 0;

	if (name != NULL)
		return (uint32_t)dec_link_named(name)->number;
	while (dec_link_supported(lt))
		lt++;
	return (uint32_t)lt;
}

/* The two ends of flow k: 127.0.0.1 or ::1, client port 40000 + k, server port 8080 (one of fuzz_pcap's
 * server ports); for k from 4 to 7 neither is a server port (5000 + k, 6000 + k). */
static void seed_ep(struct pcapw_ep *ep, int family, unsigned k)
{
	int plain = k >= 4 && k < 8;
	uint16_t cport = (uint16_t)(plain ? 5000 + k : 40000 + k),
	         sport = (uint16_t)(plain ? 6000 + k : 8080);

	pcapw_ep_v4(ep, 0x7f000001, cport, 0x7f000001, sport);
	if (family == 6) {
		memset(ep->caddr, 0, 16);
		memset(ep->saddr, 0, 16);
		ep->caddr[15] = ep->saddr[15] = 1;
		ep->family = 6;
	}
}

/* An IP packet (no link header) of flow k into f: returns its length. The payload is len letters from
 * fill on. */
static size_t seed_packet(uint8_t *f, size_t cap, int family, int proto, unsigned k, int dir, unsigned flags,
                          uint32_t seq, size_t len, char fill)
{
	struct pcapw_ep ep;
	uint8_t payload[256];
	size_t n = 0;
	char err[160];

	seed_ep(&ep, family, k);
	for (size_t i = 0; i < len && i < sizeof payload; i++)
		payload[i] = (uint8_t)(fill + i % 26);
	struct pcapw_frame_spec spec = {.ep = &ep,
	                                .dir = dir,
	                                .proto = proto,
	                                .seq = seq,
	                                .ack = 1,
	                                .flags = flags | PCAPW_ACK,
	                                .data = payload,
	                                .len = len < sizeof payload ? len : sizeof payload};
	if (flags & PCAPW_SYN && dir == PCAPW_C2S)
		spec.flags = flags;
	if (pcapw_frame(f, cap, PCAPW_RAW, &spec, &n, err, sizeof err) != 0) {
		fprintf(stderr, "mkseeds: %s\n", err);
		return 0;
	}
	return n;
}

/* One malformed (or unusual) IP packet: a TCP or UDP packet of len payload bytes with ext 8-byte IPv6
 * extension headers inserted, then up to two bytes set (offsets from the IP header), captured up to
 * caplen bytes. */
struct ip_case {
	int family, proto;
	size_t len;
	unsigned ext;
	int at[2], value[2];
	size_t caplen;
};

static const struct ip_case ipv4_cases[] = {
    {4, 6, 5, 0, {-1, -1}, {0, 0}, 0},       /* empty RAW frame */
    {4, 6, 5, 0, {0, -1}, {0x55, 0}, FULL},  /* IP version 5 */
    {4, 6, 5, 0, {-1, -1}, {0, 0}, 12},      /* IPv4 header cut */
    {4, 6, 5, 0, {0, -1}, {0x44, 0}, FULL},  /* header length 16 */
    {4, 6, 5, 0, {2, 3}, {0, 0}, FULL},      /* total length 0: TSO, the captured length counts */
    {4, 6, 5, 0, {2, 3}, {0, 10}, FULL},     /* total length below the header length */
    {4, 6, 5, 0, {0, 3}, {0x4f, 60}, FULL},  /* options past the captured bytes */
    {4, 6, 5, 0, {6, -1}, {0x20, 0}, FULL},  /* a fragment */
    {4, 6, 5, 0, {9, -1}, {1, 0}, FULL},     /* ICMP */
    {4, 6, 5, 0, {3, -1}, {30, 0}, FULL},    /* IP payload shorter than a TCP header */
    {4, 6, 5, 0, {-1, -1}, {0, 0}, 32},      /* TCP header cut */
    {4, 6, 5, 0, {32, -1}, {0x40, 0}, FULL}, /* TCP data offset 16 */
    {4, 6, 5, 0, {32, -1}, {0xf0, 0}, FULL}, /* TCP data offset past the IP payload */
    {4, 6, 60, 0, {32, -1}, {0xf0, 0}, 50},  /* TCP options past the captured bytes */
    {4, 17, 5, 0, {3, -1}, {26, 0}, FULL},   /* IP payload shorter than a UDP header */
    {4, 17, 5, 0, {-1, -1}, {0, 0}, 24},     /* UDP length cut */
    {4, 17, 5, 0, {24, 25}, {0, 4}, FULL},   /* UDP length 4 */
    {4, 17, 5, 0, {-1, -1}, {0, 0}, 26},     /* UDP header cut after its length */
};

static const struct ip_case ipv6_cases[] = {
    {6, 6, 5, 0, {-1, -1}, {0, 0}, 30},     /* IPv6 header cut */
    {6, 6, 5, 0, {4, 5}, {0, 0}, FULL},     /* payload length 0: jumbogram or TSO */
    {6, 6, 5, 0, {6, -1}, {44, 0}, FULL},   /* a fragment header */
    {6, 6, 5, 0, {6, -1}, {58, 0}, FULL},   /* ICMPv6 */
    {6, 6, 5, 0, {6, -1}, {0, 0}, 40},      /* an extension header past the captured bytes */
    {6, 6, 5, 1, {-1, -1}, {0, 0}, FULL},   /* hop-by-hop, then TCP */
    {6, 17, 5, 2, {-1, -1}, {0, 0}, FULL},  /* hop-by-hop, destination options, then UDP */
    {6, 6, 5, 9, {-1, -1}, {0, 0}, FULL},   /* nine extension headers */
    {6, 6, 5, 1, {4, 5}, {0, 4}, FULL},     /* extension headers longer than the payload */
    {6, 6, 5, 1, {41, -1}, {1, 0}, 48},     /* TCP would start past the captured bytes */
    {6, 6, 40, 0, {52, -1}, {0xf0, 0}, 70}, /* TCP options past the captured bytes */
};

/* Builds an ip_case into f; returns its length (0 on error). */
static size_t ip_case_build(uint8_t *f, size_t cap, const struct ip_case *c)
{
	size_t n = seed_packet(f, cap, c->family, c->proto, 0, PCAPW_C2S, PCAPW_PSH, 101, c->len, 'a');
	size_t ext = 8 * (size_t)c->ext;

	if (n == 0 || n + ext > cap)
		return 0;
	if (ext > 0) {
		memmove(f + 40 + ext, f + 40, n - 40);
		memset(f + 40, 0, ext);
		for (unsigned i = 0; i < c->ext; i++)
			f[40 + 8 * i] = i + 1 < c->ext ? 60 : (uint8_t)c->proto; /* next header */
		f[6] = 0;                                                        /* hop-by-hop first */
		unsigned plen = (unsigned)(n - 40 + ext);
		f[4] = (uint8_t)(plen >> 8);
		f[5] = (uint8_t)plen;
		n += ext;
	}
	for (int i = 0; i < 2; i++)
		if (c->at[i] >= 0 && (size_t)c->at[i] < n)
			f[c->at[i]] = (uint8_t)c->value[i];
	return n;
}

static int seed_ip_cases(const char *dir, const char *name, const struct ip_case *cases, size_t ncases)
{
	static struct pcap_seed s;
	uint8_t f[512];

	pcap_seed_start(&s, link_number("RAW"));
	for (size_t i = 0; i < ncases; i++) {
		size_t n = ip_case_build(f, sizeof f, &cases[i]);
		if (n == 0)
			return -1;
		pcap_seed_frame(&s, f, n, cases[i].caplen);
	}
	return pcap_seed_write(&s, dir, name);
}

/* Link headers: a frame is the header (header_len bytes, zero bytes included), then an IPv4 or IPv6 TCP
 * packet, captured up to caplen bytes. A list of cases ends with a NULL header. */
struct link_case {
	const char *header;
	size_t header_len;
	int family;
	size_t caplen;
};

#define MACS "\x02\0\0\0\0\x02\x02\0\0\0\0\x01"
#define VLAN "\x81\x00\x00\x01"
#define SLL "\0\0\0\x01\0\x06\x02\0\0\0\0\x01\0\0\x08\x00"
#define SLL2 "\x86\xdd\0\0\0\0\0\x01\0\x01\x04\x06\x02\0\0\0\0\x01\0\0"

static const struct {
	const char *file;
	const char *link; /* the row of the decoder's link-type table (dec_link_named); NULL: a link type
	                   * it does not read */
	struct link_case cases[7];
} link_seeds[] = {
    {.file = "seed-link-null.pcap",
     .link = "NULL",
     .cases =
         {/* AF_INET, little-endian host */
          {.header = "\x02\0\0\0", .header_len = 4, .family = 4, .caplen = FULL},
          /* AF_INET, big-endian host */
          {.header = "\0\0\0\x02", .header_len = 4, .family = 4, .caplen = FULL},
          /* AF_INET6 of macOS */
          {.header = "\x1e\0\0\0", .header_len = 4, .family = 6, .caplen = FULL},
          /* not IP */
          {.header = "\x63\0\0\0", .header_len = 4, .family = 4, .caplen = FULL},
          /* header cut */
          {.header = "\x02\0\0\0", .header_len = 4, .family = 4, .caplen = 2}}},
    {.file = "seed-link-loop.pcap",
     .link = "LOOP",
     .cases = {{.header = "\0\0\0\x02", .header_len = 4, .family = 4, .caplen = FULL},
               {.header = "\0\0\0\x18", .header_len = 4, .family = 6, .caplen = FULL},
               {.header = "\0\0\0\x02", .header_len = 4, .family = 4, .caplen = 3}}},
    {.file = "seed-link-ethernet.pcap",
     .link = "EN10MB",
     .cases =
         {/* header cut */
          {.header = MACS "\x08\x00", .header_len = 14, .family = 4, .caplen = 10},
          /* ARP */
          {.header = MACS "\x08\x06", .header_len = 14, .family = 4, .caplen = FULL},
          /* nine tags */
          {.header = MACS VLAN VLAN VLAN VLAN VLAN VLAN VLAN VLAN VLAN "\x08\x00",
           .header_len = 50,
           .family = 4,
           .caplen = FULL},
          /* tag cut */
          {.header = MACS VLAN "\x08\x00", .header_len = 18, .family = 4, .caplen = 16},
          /* IPv6 type, IPv4 header */
          {.header = MACS "\x86\xdd", .header_len = 14, .family = 4, .caplen = FULL},
          /* 802.1ad + 802.1Q */
          {.header = MACS "\x88\xa8\x00\x01" VLAN "\x86\xdd",
           .header_len = 22,
           .family = 6,
           .caplen = FULL}}},
    {.file = "seed-link-sll.pcap",
     .link = "LINUX_SLL",
     .cases = {{.header = SLL, .header_len = 16, .family = 4, .caplen = FULL},
               {.header = SLL, .header_len = 16, .family = 4, .caplen = 10}}},
    {.file = "seed-link-sll2.pcap",
     .link = "LINUX_SLL2",
     .cases = {{.header = SLL2, .header_len = 20, .family = 6, .caplen = FULL},
               {.header = SLL2, .header_len = 20, .family = 6, .caplen = 1},
               {.header = SLL2, .header_len = 20, .family = 6, .caplen = 18}}},
    {.file = "seed-link-ipv4.pcap",
     .link = "IPV4",
     .cases = {{.header = "", .family = 4, .caplen = FULL}, {.header = "", .family = 6, .caplen = FULL}}},
    {.file = "seed-link-ipv6.pcap",
     .link = "IPV6",
     .cases = {{.header = "", .family = 6, .caplen = FULL}, {.header = "", .family = 4, .caplen = FULL}}},
    {.file = "seed-link-unsupported.pcap",
     .link = NULL,
     .cases = {{.header = "", .family = 4, .caplen = FULL}}},
};

static int seed_links(const char *dir)
{
	static struct pcap_seed s;
	uint8_t f[512];

	for (size_t i = 0; i < sizeof link_seeds / sizeof link_seeds[0]; i++) {
		pcap_seed_start(&s, link_number(link_seeds[i].link));
		for (const struct link_case *c = link_seeds[i].cases; c->header != NULL; c++) {
			memcpy(f, c->header, c->header_len);
			size_t n = seed_packet(f + c->header_len, sizeof f - c->header_len, c->family, 6, 0,
			                       PCAPW_C2S, PCAPW_SYN, 100, 0, 'a');
			if (n == 0)
				return -1;
			pcap_seed_frame(&s, f, c->header_len + n, c->caplen);
		}
		if (pcap_seed_write(&s, dir, link_seeds[i].file) != 0)
			return -1;
	}
	return 0;
}

/* Packets of flows for reassembly: flow k's packet in direction dir, captured up to caplen bytes. */
struct flow_packet {
	unsigned k;
	int proto, dir;
	unsigned flags;
	uint32_t seq;
	size_t len;
	char fill;
	size_t caplen;
};

static const struct flow_packet edges[] = {
    {0, 6, PCAPW_C2S, PCAPW_SYN, 100, 0, 'a', FULL},
    {0, 6, PCAPW_S2C, PCAPW_SYN, 500, 0, 'a', FULL},
    {0, 6, PCAPW_C2S, PCAPW_PSH, 101, 10, 'a', FULL},
    {0, 6, PCAPW_C2S, PCAPW_PSH, 101, 10, 'b', FULL},  /* resent with other bytes */
    {0, 6, PCAPW_C2S, PCAPW_PSH, 106, 10, 'c', FULL},  /* overlaps with other bytes */
    {0, 6, PCAPW_C2S, PCAPW_PSH, 130, 4, 'd', FULL},   /* held: a gap before it */
    {0, 6, PCAPW_C2S, PCAPW_PSH, 128, 8, 'e', FULL},   /* overlaps the held segment */
    {0, 6, PCAPW_S2C, PCAPW_PSH, 501, 40, 'A', 50},    /* payload cut by the capture */
    {0, 6, PCAPW_C2S, PCAPW_RST, 116, 0, 'a', FULL},   /* reset */
    {1, 6, PCAPW_S2C, PCAPW_PSH, 1000, 10, 'f', FULL}, /* no SYN; the server port speaks first */
    {1, 6, PCAPW_S2C, PCAPW_PSH, 990, 20, 'g', FULL},  /* starts before the first byte seen */
    {1, 6, PCAPW_S2C, PCAPW_PSH, 980, 5, 'h', FULL},   /* wholly before it */
    {1, 6, PCAPW_S2C, PCAPW_PSH, 995, 25, 'i', FULL},  /* old bytes, then new ones */
    {1, 6, PCAPW_C2S, PCAPW_FIN, 7000, 3, 'j', FULL},
    {4, 6, PCAPW_C2S, PCAPW_PSH, 1, 4, 'k', FULL},   /* no SYN, no server port: a guess */
    {5, 6, PCAPW_S2C, PCAPW_PSH, 1, 4, 'l', FULL},   /* the same, the other way round */
    {2, 17, PCAPW_S2C, 0, 0, 6, 'm', FULL},          /* UDP: the server port speaks first */
    {2, 17, PCAPW_C2S, 0, 0, 30, 'n', 40},           /* a datagram cut by the capture */
    {6, 17, PCAPW_C2S, 0, 0, 6, 'o', FULL},          /* UDP, no server port */
    {3, 6, PCAPW_S2C, PCAPW_SYN, 700, 0, 'a', FULL}, /* a SYN-ACK before any SYN */
};

static int seed_flow_packets(struct pcap_seed *s, const struct flow_packet *p, size_t n)
{
	uint8_t f[512];

	for (size_t i = 0; i < n; i++) {
		size_t len = seed_packet(f, sizeof f, 4, p[i].proto, p[i].k, p[i].dir, p[i].flags, p[i].seq,
		                         p[i].len, p[i].fill);
		if (len == 0)
			return -1;
		pcap_seed_frame(s, f, len, p[i].caplen);
	}
	return 0;
}

/* fuzz_pcap's limits: 16 flows, 32 held segments per direction. */
static int seed_limits(const char *dir)
{
	static struct pcap_seed s;
	struct flow_packet p = {0, 6, PCAPW_C2S, PCAPW_SYN, 100, 0, 'a', FULL};

	pcap_seed_start(&s, link_number("RAW"));
	for (p.k = 0; p.k < 17; p.k++)
		if (seed_flow_packets(&s, &p, 1) != 0)
			return -1;
	if (pcap_seed_write(&s, dir, "seed-limit-flows.pcap") != 0)
		return -1;
	pcap_seed_start(&s, link_number("RAW"));
	p = (struct flow_packet){0, 6, PCAPW_C2S, PCAPW_SYN, 100, 0, 'a', FULL};
	if (seed_flow_packets(&s, &p, 1) != 0)
		return -1;
	p.flags = PCAPW_PSH;
	p.len = 1;
	for (unsigned i = 0; i < 34; i++) {
		p.seq = 103 + 2 * i; /* every other byte: each one held apart */
		if (seed_flow_packets(&s, &p, 1) != 0)
			return -1;
	}
	return pcap_seed_write(&s, dir, "seed-limit-held.pcap");
}

/* seed-options.pcap: a TCP flow over IPv4 and one over IPv6 whose packets carry every option and extension
 * header pcapw_frame() builds (TCP options as a stack sends them, data on the SYN), then a UDP datagram
 * behind a long hop-by-hop header and a first fragment of each family. */
static int seed_options(const char *dir)
{
	static struct pcap_seed s;
	static const unsigned flags[] = {PCAPW_SYN, PCAPW_SYN | PCAPW_ACK, PCAPW_ACK | PCAPW_PSH,
	                                 PCAPW_ACK | PCAPW_FIN};
	struct pcapw_frame_opts o;
	struct pcapw_ep ep;
	uint8_t f[512];
	size_t n;
	char err[160];

	pcap_seed_start(&s, link_number("RAW"));
	for (int family = 4; family <= 6; family += 2) {
		seed_ep(&ep, family, 2);
		for (unsigned i = 0; i < 7; i++) {
			unsigned fl = flags[i % 4];
			struct pcapw_frame_spec spec = {
			    &ep, (int)(i & 1), i < 6 ? 6 : 17,    1000u * (i + 1), 77,
			    fl,  (uint16_t)i,  "syn data or not", 5 + i,           &o};
			memset(&o, 0, sizeof o);
			o.ipopt = i < 4 ? 7u - i : 0;
			o.more_frags = i == 5;
			o.ext[0].type = PCAPW_EXT_HOP;
			o.ext[0].len8 = (uint8_t)(i + 1);
			o.ext[1].type = PCAPW_EXT_ROUTING;
			o.ext[1].len8 = 2;
			o.ext[2].type = i == 5 ? PCAPW_EXT_FRAG : PCAPW_EXT_DSTOPT;
			o.next = i == 6 ? 1 : 3 - i % 3;
			o.tcpopt = fl & PCAPW_SYN ? 15 : 24;
			o.mss = 1460;
			o.wscale = 7;
			o.tsval = 100 + i;
			if (pcapw_frame(f, sizeof f, PCAPW_RAW, &spec, &n, err, sizeof err) != 0) {
				fprintf(stderr, "mkseeds: %s\n", err);
				return -1;
			}
			pcap_seed_frame(&s, f, n, n);
		}
	}
	return pcap_seed_write(&s, dir, "seed-options.pcap");
}

/* Writes fuzz_pcap's seeds of the decoder's edges into dir. */
static int write_pcap_seeds(const char *dir)
{
	static struct pcap_seed s;

	if (seed_ip_cases(dir, "seed-bad-ipv4.pcap", ipv4_cases, sizeof ipv4_cases / sizeof ipv4_cases[0]) ||
	    seed_ip_cases(dir, "seed-bad-ipv6.pcap", ipv6_cases, sizeof ipv6_cases / sizeof ipv6_cases[0]) ||
	    seed_links(dir) != 0 || seed_limits(dir) != 0 || seed_options(dir) != 0)
		return -1;
	pcap_seed_start(&s, link_number("RAW"));
	if (seed_flow_packets(&s, edges, sizeof edges / sizeof edges[0]) != 0)
		return -1;
	return pcap_seed_write(&s, dir, "seed-reassembly-edges.pcap");
}

/* A datagram of a UDP event seed: text ("" is empty; "#N" is N bytes of 'q'), sender, family, batch bit and
 * events (script.h). */
struct udp_seed_dgram {
	const char *text;
	unsigned sender, family, batch;
	enum script_udp_recv_event recv;
	enum script_udp_send_event send;
};

/* clang-format off */
/* fuzz_udp seeds through udp-upper's batch loop: many senders, batches, and each kernel event, on a
 * datagram among others from other senders so each event meets the address check. */
static const struct {
	const char *name;
	struct udp_seed_dgram dg[5];
} udp_events[] = {
    {"senders", {{"one", 0, 4, 0, 0, 0}, {"two", 1, 6, 0, 0, 0}, {"three", 2, 4, 0, 0, 0}, {"", 7, 6, 0, 0, 0},
                 {"#300", 5, 4, 0, 0, 0}}},
    {"batches", {{"first", 1, 4, 0, 0, 0}, {"second", 2, 4, 1, 0, 0}, {"third", 3, 6, 1, 0, 0}, {"fourth", 3, 6, 0, 0, 0}}},
    {"wait-eintr", {{"a", 1, 4, 0, 0, 0}, {"b", 2, 4, 1, SCRIPT_UDP_WAIT_EINTR, 0}, {"c", 3, 6, 0, 0, 0}}},
    {"recv-eagain", {{"a", 1, 4, 0, 0, 0}, {"b", 2, 4, 1, SCRIPT_UDP_RECV_EAGAIN, 0}, {"c", 3, 6, 0, 0, 0}}},
    {"recv-eintr", {{"a", 1, 4, 0, 0, 0}, {"b", 2, 6, 1, SCRIPT_UDP_RECV_EINTR, 0}, {"c", 3, 4, 0, 0, 0}}},
    {"icmp-recv", {{"a", 1, 4, 0, 0, 0}, {"b", 2, 4, 1, SCRIPT_UDP_ICMP_RECV, 0}, {"c", 3, 6, 0, 0, 0}}},
    {"icmp-send", {{"a", 1, 4, 0, 0, 0}, {"b", 2, 4, 0, SCRIPT_UDP_ICMP_SEND, 0}, {"c", 3, 6, 0, 0, 0}}},
    {"trunc", {{"a", 1, 4, 0, 0, 0}, {"#2000", 2, 4, 0, SCRIPT_UDP_TRUNC, 0}, {"c", 3, 6, 0, 0, 0}, {"d", 4, 4, 0, 0, 0}}},
    {"wait-fail", {{"a", 1, 4, 0, 0, 0}, {"b", 2, 4, 1, SCRIPT_UDP_WAIT_FAIL, 0}, {"c", 3, 6, 0, 0, 0}}},
    {"send-eagain", {{"a", 1, 4, 0, 0, 0}, {"b", 2, 6, 0, 0, SCRIPT_UDP_SEND_EAGAIN}, {"c", 3, 4, 0, 0, 0}}},
    {"send-enobufs", {{"a", 1, 4, 0, 0, 0}, {"b", 2, 4, 0, 0, SCRIPT_UDP_SEND_ENOBUFS}, {"c", 3, 6, 0, 0, 0}}},
    {"send-eintr", {{"a", 1, 4, 0, 0, 0}, {"b", 2, 4, 0, 0, SCRIPT_UDP_SEND_EINTR}, {"c", 3, 6, 0, 0, 0}}},
    {"send-partial", {{"a", 1, 4, 0, 0, SCRIPT_UDP_SEND_PARTIAL}, {"b", 2, 6, 0, 0, SCRIPT_UDP_SEND_PARTIAL}, {"c", 3, 4, 0, 0, 0}}},
    {"send-full", {{"a", 1, 4, 0, 0, 0}, {"b", 2, 4, 0, 0, SCRIPT_UDP_SEND_FULL}, {"c", 3, 6, 0, 0, SCRIPT_UDP_SEND_EAGAIN}}},
    {"send-unreach", {{"a", 1, 4, 0, 0, SCRIPT_UDP_SEND_UNREACH}, {"b", 2, 4, 0, 0, 0}, {"c", 3, 6, 0, 0, 0}}},
    {"send-stop", {{"a", 1, 4, 0, 0, 0}, {"b", 2, 4, 0, 0, SCRIPT_UDP_SEND_STOP}, {"c", 3, 6, 1, 0, 0}}},
    {"max-both-families", {{"#65507", 1, 4, 0, 0, SCRIPT_UDP_SEND_PARTIAL}, {"#65527", 2, 6, 0, 0, 0}, {"x", 3, 4, 0, 0, 0}}},
};
/* clang-format on */

/* Writes the UDP event seeds and seed-many-senders (40 datagrams arriving together: more than one
 * receive batch) into dir. Returns 0 or -1. */
static int write_udp_event_seeds(const char *dir, unsigned char *buf, size_t room, unsigned char *dg)
{
	char name[128];
	size_t o;

	for (size_t i = 0; i < sizeof udp_events / sizeof udp_events[0]; i++) {
		o = 0;
		for (size_t k = 0; k < 5 && udp_events[i].dg[k].text != NULL; k++) {
			const struct udp_seed_dgram *g = &udp_events[i].dg[k];
			const struct script_udp_meta m = {.family = (int)g->family,
			                                  .sender = g->sender,
			                                  .batch = g->batch,
			                                  .recv = g->recv,
			                                  .send = g->send};
			size_t len = strlen(g->text);
			if (g->text[0] == '#') {
				len = strtoul(g->text + 1, NULL, 10);
				memset(dg, 'q', len);
			} else {
				memcpy(dg, g->text, len);
			}
			o += script_udp_enc_meta(buf + o, room - o, dg, len, &m);
		}
		snprintf(name, sizeof name, "seed-%s", udp_events[i].name);
		if (o > room || write_file(dir, name, buf, o) != 0)
			return -1;
	}
	o = 0;
	for (unsigned k = 0; k < 40; k++) {
		const struct script_udp_meta m = {.family = k % 3 ? 4 : 6, .sender = k % SCRIPT_UDP_SENDERS};
		dg[0] = (unsigned char)('a' + k % 26);
		o += script_udp_enc_meta(buf + o, room - o, dg, 1 + k % 2, &m);
	}
	return o > room || write_file(dir, "seed-many-senders", buf, o) != 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	static unsigned char buf[1 << 17], dg[SCRIPT_UDP_MAX6];
	char name[128];
	size_t o;

	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		cli_print_version(stdout, "fuzz-mkseeds");
		return 0;
	}
	if ((argc != 3 && argc != 4 && argc != 2) || (argc == 2 && strcmp(argv[1], "--help") != 0)) {
		if (argc == 2 && argv[1][0] == '-')
			cli_usage_errorf(stderr, "fuzz-mkseeds", "%s: unknown option", argv[1]);
		else
			cli_usage_error(stderr, "fuzz-mkseeds", "expected TCPDIR UDPDIR [PCAPDIR]");
		return 2;
	}
	if (argc == 2) {
		printf("usage: %s TCPDIR UDPDIR [PCAPDIR]\nWrites the seed corpora of fuzz_tcp and fuzz_udp, "
		       "and "
		       "fuzz_pcap's seeds of\nthe decoder's edges into PCAPDIR (existing files of the same "
		       "names are replaced).\n"
		       "Examples:\n"
		       "  fuzz-mkseeds corpus/fuzz_tcp corpus/fuzz_udp corpus/fuzz_pcap   (make fuzz-seeds)\n"
		       "  fuzz-mkseeds /tmp/tcp /tmp/udp\n",
		       argv[0]);
		return 0;
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
	if (write_udp_event_seeds(argv[2], buf, sizeof buf, dg) != 0)
		return 1;
	if (argc == 4 && write_pcap_seeds(argv[3]) != 0)
		return 1;
	return 0;
}
