/* fuzz_pcap.c - fuzz target: the replayer's pure frame decoder and flow reassembly (lib/decode.h) fed
 * a classic pcap file from memory, with small limits. Checks that nothing crashes and that the output
 * keeps its invariants: reassembled bytes never exceed the input's bytes, every event lies inside its
 * stream, the limits hold. Input: a classic pcap (either byte order, micro- or nanosecond magic); any
 * other bytes end the walk where they stop making sense.
 *
 * Each frame is also judged by the plain rules below (rules[]: one walk of the IP, extension and TCP/UDP
 * headers by their length fields, behind the link header the decoder's table finds): the decoder calls a
 * frame malformed exactly when it breaks a rule (the check names it), skips it exactly when the rules say
 * it carries no TCP/UDP, and otherwise reports the payload at the offset and of the length the rules give.
 * A decoded packet whose payload was captured whole is then re-encoded from what the decoder reported,
 * by the capture writer's frame builder (pcapw_frame()), and that frame must decode to the same report.
 *
 * The record walk below is the input's framing, not a second capture reader: replay reads files with
 * libpcap (lib/pcapin.c). Here each frame is copied into a buffer of exactly its captured length, so a
 * read past it is an ASan report, which a frame inside libpcap's large read buffer would hide; and the
 * target stays free of libpcap (no instrumented libpcap needed by OSS-Fuzz, no per-input open and
 * buffer allocation) and lenient (a header libpcap refuses still feeds the frames to the decoder). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#define FUZZ_TARGET_NAME "fuzz_pcap"
#include "fuzz.h"
#include "pcapw.h"

#define CHECK(cond, ...) FUZZ_ASSERT(cond, "invariant broken", __VA_ARGS__)

/* The rules a well-formed frame keeps (decode.h); breaking one makes it malformed. */
enum rule {
	RULE_NONE,
	RULE_LINK,
	RULE_IP_CUT,
	RULE_VERSION,
	RULE_IHL,
	RULE_TOTLEN,
	RULE_IPOPT_CUT,
	RULE_EXT_CUT,
	RULE_EXT_LEN,
	RULE_L4_SHORT,
	RULE_L4_CUT,
	RULE_DOFF_SMALL,
	RULE_DOFF_BIG,
	RULE_UDP_LEN
};
static const char *const rules[] = {
    [RULE_NONE] = "none",
    [RULE_LINK] = "the link header is captured whole, with at most 8 VLAN tags",
    [RULE_IP_CUT] = "the fixed IP header (IPv4 20 bytes, IPv6 40) is captured whole",
    [RULE_VERSION] = "the IP version is 4 or 6 and the one the link header names",
    [RULE_IHL] = "the IPv4 header length is at least 20",
    [RULE_TOTLEN] = "the IPv4 total length (0: what was captured) is at least the header length",
    [RULE_IPOPT_CUT] = "the IPv4 options are captured whole",
    [RULE_EXT_CUT] = "each IPv6 extension header's first two bytes are captured",
    [RULE_EXT_LEN] = "the IPv6 extension headers fit in the payload length (0: what was captured)",
    [RULE_L4_SHORT] = "the IP payload holds a TCP (20 bytes) or UDP (8 bytes) header",
    [RULE_L4_CUT] = "the TCP header up to its data offset, or the UDP header, is captured",
    [RULE_DOFF_SMALL] = "the TCP data offset is at least 20",
    [RULE_DOFF_BIG] = "the TCP data offset is within the IP payload",
    [RULE_UDP_LEN] = "the UDP length is within 8 and the IP payload",
};

/* What the rules say of a frame: malformed (rule), skipped, or a TCP/UDP packet with its payload. */
struct verdict {
	enum rule rule;
	int skip;
	unsigned proto;
	size_t payload_off, len, caplen;
};

static unsigned be16(const uint8_t *b)
{
	return (unsigned)b[0] << 8 | b[1];
}

/* The TCP or UDP header at f[off..n), l4 bytes long by the IP header. */
static void judge_l4(const uint8_t *f, size_t n, size_t off, size_t l4, struct verdict *v)
{
	size_t cap, doff, ulen;

	if (off > n) {
		v->rule = RULE_L4_CUT;
		return;
	}
	cap = n - off < l4 ? n - off : l4;
	if (l4 < (v->proto == 6 ? 20u : 8u)) {
		v->rule = RULE_L4_SHORT;
	} else if (v->proto == 6) {
		doff = cap > 12 ? (size_t)(f[off + 12] >> 4) * 4 : 0;
		if (cap < 16)
			v->rule = RULE_L4_CUT;
		else if (doff < 20)
			v->rule = RULE_DOFF_SMALL;
		else if (doff > l4)
			v->rule = RULE_DOFF_BIG;
		else if (doff > cap)
			v->rule = RULE_L4_CUT;
		v->payload_off = off + doff;
		v->len = l4 - doff;
		v->caplen = cap - doff;
	} else {
		ulen = cap >= 6 ? be16(f + off + 4) : 0;
		if (cap < 6)
			v->rule = RULE_L4_CUT;
		else if (ulen < 8 || ulen > l4)
			v->rule = RULE_UDP_LEN;
		else if (cap < 8)
			v->rule = RULE_L4_CUT;
		v->payload_off = off + 8;
		v->len = ulen - 8;
		v->caplen = cap - 8 < v->len ? cap - 8 : v->len;
	}
}

/* The IPv4 (net 4) or IPv6 packet at f[off..n). */
static void judge_ip(const uint8_t *f, size_t n, size_t off, int net, struct verdict *v)
{
	size_t avail = n - off, ihl, tot, plen, h = 40;

	if (avail < (net == 4 ? 20u : 40u)) {
		v->rule = RULE_IP_CUT;
		return;
	}
	if (f[off] >> 4 != net) {
		v->rule = RULE_VERSION;
		return;
	}
	if (net == 4) {
		ihl = (f[off] & 15u) * 4u;
		tot = be16(f + off + 2) ? be16(f + off + 2) : avail > 65535 ? 65535 : avail;
		v->rule = ihl < 20      ? RULE_IHL
		          : tot < ihl   ? RULE_TOTLEN
		          : ihl > avail ? RULE_IPOPT_CUT
		                        : RULE_NONE;
		v->proto = f[off + 9];
		v->skip = (be16(f + off + 6) & 0x3fffu) || (v->proto != 6 && v->proto != 17);
		if (v->rule == RULE_NONE && !v->skip)
			judge_l4(f, n, off + ihl, tot - ihl, v);
		return;
	}
	plen = be16(f + off + 4) ? be16(f + off + 4) : avail - 40 > 65535 ? 65535 : avail - 40;
	v->proto = f[off + 6];
	for (unsigned k = 0; v->proto != 6 && v->proto != 17; k++) {
		if (k == 8 || (v->proto != 0 && v->proto != 43 && v->proto != 60)) {
			v->skip = 1; /* a fragment, too many headers or another protocol */
			return;
		}
		if (avail < h + 2) {
			v->rule = RULE_EXT_CUT;
			return;
		}
		v->proto = f[off + h];
		h += 8 + 8 * (size_t)f[off + h + 1];
		if (h - 40 > plen) {
			v->rule = RULE_EXT_LEN;
			return;
		}
	}
	judge_l4(f, n, off + h, plen - (h - 40), v);
}

static void judge(int lt, const uint8_t *f, size_t n, struct verdict *v)
{
	const struct dec_link_type *t = dec_link_find(lt);
	size_t off = 0;
	char err[160];
	int net;

	memset(v, 0, sizeof *v);
	net = dec_link_parse(t, f, n, &off, err, sizeof err);
	if (net < 0)
		v->rule = RULE_LINK;
	else if (net == DEC_NET_NONE)
		v->skip = 1;
	else if (net == DEC_NET_BYVERSION && off >= n)
		v->rule = RULE_IP_CUT;
	else if (net == DEC_NET_BYVERSION && f[off] >> 4 != 4 && f[off] >> 4 != 6)
		v->rule = RULE_VERSION;
	else
		judge_ip(f, n, off, net == DEC_NET_BYVERSION ? f[off] >> 4 : net == DEC_NET_V4 ? 4 : 6, v);
}

/* Builds a frame from the decoder's report p with pcapw_frame() and decodes it: the same report. */
static void check_reencode(const struct dec_pkt *p)
{
	static uint8_t buf[PCAPW_FRAME_MAX];
	struct pcapw_ep ep = {.family = p->family, .cport = p->sport, .sport = p->dport};
	struct pcapw_frame_spec spec = {&ep,         PCAPW_C2S, p->proto,   p->seq,    p->ack,
	                                p->tcpflags, p->ipid,   p->payload, p->caplen, NULL};
	struct dec_pkt q;
	size_t n;
	char err[160];
	int r;

	memcpy(ep.caddr, p->src, 16);
	memcpy(ep.saddr, p->dst, 16);
	CHECK(pcapw_frame(buf, sizeof buf, PCAPW_RAW, &spec, &n, err, sizeof err) == 0, "pcapw_frame: %s",
	      err);
	r = dec_frame(dec_link_named("RAW")->number, buf, n, n, p->ts_ns, &q, err, sizeof err);
	CHECK(r == DEC_OK, "the decoded packet, re-encoded, decodes as %d: %s", r, err);
	CHECK(q.family == p->family && q.proto == p->proto && !memcmp(q.src, p->src, 16) &&
	          !memcmp(q.dst, p->dst, 16) && q.sport == p->sport && q.dport == p->dport &&
	          q.seq == p->seq && q.tcpflags == p->tcpflags &&
	          q.ack == (p->tcpflags & DEC_TH_ACK ? p->ack : 0) && (p->family == 6 || q.ipid == p->ipid) &&
	          q.len == p->len && q.caplen == p->caplen && !memcmp(q.payload, p->payload, p->caplen),
	      "re-encoded and decoded again: proto %u ports %u->%u seq %u flags 0x%x, %zu bytes; first: "
	      "proto %u ports %u->%u seq %u flags 0x%x, %zu bytes",
	      q.proto, q.sport, q.dport, q.seq, q.tcpflags, q.len, p->proto, p->sport, p->dport, p->seq,
	      p->tcpflags, p->len);
}

/* A frame the decoder skips may be a capslock note (decode.h): one it reads is printable text that starts
 * with the prefix, and the writer's note frame of that text reads back the same. */
static void check_note(int lt, const uint8_t *frame, size_t caplen)
{
	char text[DEC_NOTE_MAX], again[DEC_NOTE_MAX], err[256];
	uint8_t buf[14 + 20 + DEC_NOTE_MAX];
	size_t n, i;
	int r = dec_note(lt, frame, caplen, text, sizeof text, err, sizeof err);

	CHECK(r == 0 || r == 1 || r == -1, "dec_note returned %d", r);
	if (r != 1)
		return;
	n = strlen(text);
	CHECK(n < DEC_NOTE_MAX && strncmp(text, DEC_NOTE_PREFIX, sizeof DEC_NOTE_PREFIX - 1) == 0,
	      "a note of %zu bytes that does not start with the prefix", n);
	for (i = 0; i < n; i++)
		CHECK(text[i] >= 0x20 && text[i] <= 0x7e, "note byte %zu is 0x%02x", i,
		      (unsigned char)text[i]);
	CHECK(pcapw_note_frame(buf, sizeof buf, PCAPW_RAW, text, &n, err, sizeof err) == 0,
	      "the writer refuses a note the reader read: %s", err);
	CHECK(dec_note(dec_link_named("RAW")->number, buf, n, again, sizeof again, err, sizeof err) == 1 &&
	          strcmp(text, again) == 0,
	      "a note does not read back the same");
}

/* The decoder's answer r (p, err) for frame f[0..n) against the rules. */
static void check_frame(int lt, const uint8_t *f, size_t n, int r, const struct dec_pkt *p, const char *err)
{
	struct verdict v;

	judge(lt, f, n, &v);
	if (v.rule != RULE_NONE) {
		CHECK(r == DEC_EMALFORMED, "a frame breaking the rule \"%s\" decoded as %d", rules[v.rule],
		      r);
		return;
	}
	CHECK(r != DEC_EMALFORMED, "a frame called malformed (%s) breaks no rule", err);
	CHECK(r == (v.skip ? DEC_SKIP : DEC_OK), "decoded as %d, the rules say %s (%s)", r,
	      v.skip ? "skipped" : "a TCP/UDP packet", r ? err : "");
	if (r == DEC_OK)
		CHECK(p->proto == v.proto && p->payload == f + v.payload_off && p->len == v.len &&
		          p->caplen == v.caplen,
		      "proto %u payload at %td, %zu of %zu bytes; the rules say proto %u at %zu, %zu of %zu",
		      p->proto, p->payload - f, p->caplen, p->len, v.proto, v.payload_off, v.caplen, v.len);
	if (r == DEC_OK && p->caplen == p->len)
		check_reencode(p);
}

static uint32_t get32(const uint8_t *p, int swap)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

static void check_flows(const struct dec_ctx *c, const struct dec_limits *lim, size_t size)
{
	size_t total = 0, nev = 0, n = dec_nflows(c);

	CHECK(n <= lim->max_flows, "%zu flows over the limit %zu", n, lim->max_flows);
	for (size_t i = 0; i < n; i++) {
		const struct dec_flow *f = dec_flow(c, i);
		CHECK(f != NULL && (f->proto == 6 || f->proto == 17) && (f->family == 4 || f->family == 6),
		      "flow %zu has proto %u family %d", i, f ? f->proto : 0, f ? f->family : 0);
		for (int d = 0; d < 2; d++) {
			const struct dec_dir *dd = &f->dir[d];
			total += dd->len;
			CHECK(dd->len == 0 || dd->data != NULL, "flow %zu dir %d: %zu bytes, no data", i, d,
			      dd->len);
			CHECK(!dd->fin || dd->fin_off <= dd->len,
			      "flow %zu dir %d: FIN at %zu past %zu bytes", i, d, dd->fin_off, dd->len);
		}
		nev += f->nev;
		for (size_t k = 0; k < f->nev; k++) {
			const struct dec_ev *e = &f->ev[k];
			CHECK(e->dir <= 1 && e->kind >= DEC_EV_DATA && e->kind <= DEC_EV_RST,
			      "flow %zu event %zu: dir %u kind %u", i, k, e->dir, e->kind);
			if (e->kind == DEC_EV_DATA || e->kind == DEC_EV_DGRAM)
				CHECK(e->off + e->len <= f->dir[e->dir].len,
				      "flow %zu event %zu: [%zu,+%zu) past %zu bytes", i, k, e->off, e->len,
				      f->dir[e->dir].len);
			CHECK(e->peer_before <= f->dir[!e->dir].len,
			      "flow %zu event %zu waits for %zu of %zu peer bytes", i, k, e->peer_before,
			      f->dir[!e->dir].len);
		}
	}
	CHECK(total <= size, "%zu reassembled bytes from a %zu byte input", total, size);
	CHECK(total <= lim->max_bytes, "%zu bytes over the limit %zu", total, lim->max_bytes);
	CHECK(nev <= lim->max_events, "%zu events over the limit %zu", nev, lim->max_events);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t ports[] = {8082, 8080};
	struct dec_limits lim;
	struct dec_ctx *c;
	struct dec_pkt p;
	char err[256];
	int swap, nano;

	if (size < 24)
		return 0;
	uint32_t magic;
	memcpy(&magic, data, 4);
	if (magic == 0xa1b2c3d4u || magic == 0xa1b23c4du)
		swap = 0;
	else if (magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u)
		swap = 1;
	else
		return 0;
	nano = magic == 0xa1b23c4du || magic == 0x4d3cb2a1u;
	int lt = (int)(get32(data + 20, swap) & 0xffffu);

	dec_limits_default(&lim);
	lim.max_flows = 16;
	lim.max_bytes = 1u << 20;
	lim.max_events = 4096;
	lim.max_pending = 32;
	lim.server_ports = ports;
	lim.n_server_ports = 2;
	c = dec_new(&lim, err, sizeof err);
	if (c == NULL)
		return -1;
	for (size_t off = 24; off + 16 <= size;) {
		uint64_t ts = (uint64_t)get32(data + off, swap) * 1000000000u +
		              (uint64_t)get32(data + off + 4, swap) * (nano ? 1u : 1000u);
		size_t caplen = get32(data + off + 8, swap), wirelen = get32(data + off + 12, swap);
		off += 16;
		if (caplen > size - off)
			break;
		/* An exact-size copy of the frame: any read past caplen is an ASan report. */
		uint8_t *frame = malloc(caplen ? caplen : 1);
		if (frame == NULL)
			break;
		memcpy(frame, data + off, caplen);
		int r = dec_frame(lt, frame, caplen, wirelen, ts, &p, err, sizeof err);
		CHECK(r == DEC_OK || r == DEC_SKIP || r == DEC_EMALFORMED || r == DEC_ELINK,
		      "dec_frame returned %d", r);
		if (r != DEC_ELINK)
			check_frame(lt, frame, caplen, r, &p, err);
		if (r == DEC_SKIP)
			check_note(lt, frame, caplen);
		if (r == DEC_OK) {
			CHECK(p.payload >= frame && p.payload + p.caplen <= frame + caplen &&
			          p.caplen <= p.len,
			      "payload [%p,+%zu) outside the %zu byte frame", (const void *)p.payload,
			      p.caplen, caplen);
			CHECK(p.proto == 6 || p.proto == 17, "decoded proto %u", p.proto);
			r = dec_add(c, &p, err, sizeof err);
			CHECK(r == DEC_OK || r == DEC_ELIMIT || r == DEC_ENOMEM, "dec_add returned %d", r);
		}
		free(frame);
		off += caplen;
		if (r == DEC_ELINK)
			break;
	}
	dec_finish(c);
	check_flows(c, &lim, size);
	dec_free(c);
	return 0;
}
