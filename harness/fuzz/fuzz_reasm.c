/* fuzz_reasm.c - fuzz target: TCP reassembly (lib/decode.h) checked against ground truth.
 *
 * The input describes TCP connections and how a capture saw them: which segments were sent, in which
 * order, which were held back and released later (reordering), resent (equal bytes) or resent with
 * different bytes, duplicated by the capture, cut by the snaplen or lost; with sequence numbers near the
 * 32-bit wrap, IPv4 or IPv6, and every form of every link type in the decoder's table (decode.h:
 * dec_link_types[], through dec_link_build(); Ethernet with 0, 1 or 2 VLAN tags). The IP packets are built by
 * the project's pcap writer (pcapw_frame(), the bytes bin/replay --write-pcap stores), behind the row's
 * link header, decoded one by one with dec_feed(),
 * and the result is compared with a model kept here from the input alone:
 *   - each stream byte is the first copy the capture carried (decode.h: "first copy kept"); the
 *     reassembled stream is exactly the bytes before the first byte never captured;
 *   - gap_bytes is exactly the number of never-captured bytes between that point and the last captured
 *     byte, and DEC_F_GAP / DEC_F_INCOMPLETE are set exactly when bytes are missing, a FIN is not
 *     reached, or a payload was cut;
 *   - FIN is delivered exactly when the whole stream was captured and the FIN was; conflicts are counted
 *     exactly when a later copy differed;
 *   - each frame, decoded alone (dec_frame()), reports the payload at the offset, of the length, and with the
 *     sequence number, flags and ports it was built with, whatever option and extension headers precede it
 *     (IPv4 options, IPv6 hop-by-hop, routing and destination options chains, TCP options, data on SYN);
 *     a first fragment is skipped.
 *
 * Input (see harness/fuzz/README.md): 4 header bytes, then operations of 3 bytes each.
 *   header[0] link type (the n-th form of a row of dec_link_types[], counting every row's forms;
 *   a form that cannot carry the family gives way to the next that can), header[1] bit 0 IPv6, bits 1-2
 * number of connections - 1 (1 to 3), bit 3 FINs are written before the held segments are released, bit 4
 * FINs are lost, bit 5 two more header bytes follow; header[2], header[3] client and server initial sequence
 * numbers (bit 7 set: just below the 32-bit wrap).
 *   header[4] (with bit 5): IPv4: bits 0-2 options (router alert, record route, timestamp); IPv6: four 2-bit
 *   slots from bit 0, an extension header chain up to the first 0 (1 hop-by-hop, 2 routing, 3 destination
 *   options). header[5]: bits 0-4 TCP options (MSS, SACK-permitted and window scale on SYNs, timestamps on
 *   every segment, a SACK block on the others), bit 5 data on the SYNs, bits 6-7 the extension headers'
 *   length (slot i: that + i in 8-byte units after the first). With bit 5 a lost segment (OP_LOSE) whose
 *   argument is odd is sent as a first fragment, which the decoder skips.
 *   operation: byte 0 bits 0-2 kind, bit 3 direction (0 client to server), bits 4-5 connection, bits 6-7
 *   length bits 8-9; byte 1 length bits 0-7; byte 2 argument.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#define FUZZ_TARGET_NAME "fuzz_reasm"
#include "fuzz.h"
#include "pcapw.h"

#define REASM_STREAMS 3
#define REASM_CAP 16384 /* stream bytes per direction */
#define REASM_HELD 16   /* segments held back per direction */
#define REASM_FRAME 4096

#define TRUTH_CHECK(cond, ...) FUZZ_ASSERT(cond, "truth breach", __VA_ARGS__)

enum reasm_op { OP_SEND, OP_HOLD, OP_RELEASE, OP_LOSE, OP_RESEND, OP_CONFLICT, OP_DUP, OP_CUT };

struct held {
	size_t off, len, cut;
	int conflict;
};

/* The model of one direction: what the capture carried, byte by byte, first copy kept. */
struct model_dir {
	uint32_t isn; /* sequence number of the SYN */
	size_t cur;   /* bytes the sender has produced */
	size_t hi;    /* bytes of val/known in use */
	uint8_t val[REASM_CAP];
	uint8_t known[REASM_CAP];
	int conflict; /* a later copy differed from the first */
	size_t cuts;  /* segments the capture cut */
	int fin_written;
	struct held held[REASM_HELD];
	size_t nheld;
};

struct reasm {
	int family, nstreams;
	const struct dec_link_type *link; /* the link type of every frame */
	uint8_t l2[DEC_LINK_HDR_MAX];     /* its header (l2len bytes), in front of each IP packet */
	size_t l2len;
	struct pcapw_ep ep[REASM_STREAMS];
	struct model_dir dir[REASM_STREAMS][2];
	struct dec_ctx *dec;
	uint16_t ipid;
	uint64_t ts;
	uint8_t last[DEC_LINK_HDR_MAX + REASM_FRAME];
	size_t last_caplen, last_wirelen;
	int last_rc;                 /* what the decoder returns for last: DEC_OK, or DEC_SKIP (a fragment) */
	struct pcapw_frame_opts opt; /* the option and extension headers of every frame */
	int opt_on;                  /* header bytes 4 and 5 are present */
	int syn_data;                /* the SYNs carry data */
	int fragment;                /* the next frame is a first fragment */
};

static struct reasm R;

static uint8_t truth_byte(int stream, int d, size_t k)
{
	return (uint8_t)(k * 7u + (k >> 8) * 13u + (unsigned)stream * 31u + (unsigned)d * 101u + 0x20u);
}

/* Hands one frame to the decoder through an exact-size copy (a read past caplen is an ASan report). */
static void feed(const uint8_t *frame, size_t caplen, size_t wirelen, int expect)
{
	char err[256];
	uint8_t *copy = malloc(caplen);
	int r;

	TRUTH_CHECK(copy != NULL, "out of memory");
	memcpy(copy, frame, caplen);
	r = dec_feed(R.dec, R.link->number, copy, caplen, wirelen, R.ts, err, sizeof err);
	free(copy);
	TRUTH_CHECK(r == expect, "a frame pcapw built decoded as %d, not %d: %s", r, expect, r ? err : "");
	memcpy(R.last, frame, caplen);
	R.last_caplen = caplen;
	R.last_wirelen = wirelen;
	R.last_rc = expect;
	R.ts += 10000;
}

/* Decodes the whole frame f (n bytes) alone: its payload, sequence number, flags and ports are those of
 * sp, at the frame's end, or it is skipped when it is a fragment. */
static void check_frame(const uint8_t *f, size_t n, const struct pcapw_frame_spec *sp)
{
	struct dec_pkt p;
	char err[160];
	int r = dec_frame(R.link->number, f, n, n, R.ts, &p, err, sizeof err);
	unsigned sport = sp->dir == PCAPW_C2S ? sp->ep->cport : sp->ep->sport;

	if (R.fragment) {
		TRUTH_CHECK(r == DEC_SKIP, "a first fragment decoded as %d, not skipped", r);
		return;
	}
	TRUTH_CHECK(r == DEC_OK, "a frame pcapw built decoded as %d: %s", r, err);
	TRUTH_CHECK(p.payload == f + n - sp->len && p.len == sp->len && p.caplen == sp->len,
	            "payload of %zu bytes at frame offset %td, built: %zu at %zu", p.len, p.payload - f,
	            sp->len, n - sp->len);
	TRUTH_CHECK(p.proto == 6 && p.seq == sp->seq && p.tcpflags == sp->flags && p.sport == sport &&
	                p.ack == (sp->flags & PCAPW_ACK ? sp->ack : 0),
	            "proto %u seq %u ack %u flags 0x%x port %u, built: seq %u flags 0x%x port %u", p.proto,
	            p.seq, p.ack, p.tcpflags, p.sport, sp->seq, sp->flags, sport);
}

/* Writes one TCP packet of stream s, direction d: payload [off, off+len) of the stream (conflict: other
 * bytes), cut bytes short in the capture; records it in the model. */
static void emit(int s, int d, unsigned flags, uint32_t seq, size_t off, size_t len, int conflict, size_t cut)
{
	static uint8_t buf[DEC_LINK_HDR_MAX + REASM_FRAME];
	uint8_t payload[1024];
	struct model_dir *m = &R.dir[s][d];
	struct pcapw_frame_opts opt = R.opt;
	struct pcapw_frame_spec spec = {&R.ep[s], d, 6, seq, 0, flags, R.ipid, payload, len, &opt};
	size_t n;
	char err[160];

	/* as a real stack sends them: MSS, SACK-permitted and window scale on SYNs only, SACK blocks never */
	opt.tcpopt &= flags & PCAPW_SYN
	                  ? ~(unsigned)PCAPW_TCPOPT_SACK
	                  : ~(unsigned)(PCAPW_TCPOPT_MSS | PCAPW_TCPOPT_SACKOK | PCAPW_TCPOPT_WSCALE);
	opt.tsval = (uint32_t)(R.ts / 1000000);
	opt.tsecr = opt.tsval - 1;
	if (R.fragment) {
		if (R.family == 4)
			opt.more_frags = 1;
		else
			opt.ext[opt.next++].type = PCAPW_EXT_FRAG;
	}

	for (size_t k = 0; k < len; k++)
		payload[k] = (uint8_t)(truth_byte(s, d, off + k) ^ (conflict ? 0x5a : 0));
	spec.ack = R.dir[s][!d].isn + 1 + (uint32_t)R.dir[s][!d].cur;
	TRUTH_CHECK(pcapw_frame(buf + R.l2len, REASM_FRAME, PCAPW_RAW, &spec, &n, err, sizeof err) == 0,
	            "pcapw_frame: %s", err);
	R.ipid++;
	memcpy(buf, R.l2, R.l2len);
	check_frame(buf, R.l2len + n, &spec);
	feed(buf, R.l2len + n - cut, R.l2len + n, R.fragment ? DEC_SKIP : DEC_OK);
	if (R.fragment)
		return;
	if (cut) {
		m->cuts++;
		return;
	}
	for (size_t k = 0; k < len; k++) {
		if (!m->known[off + k]) {
			m->known[off + k] = 1;
			m->val[off + k] = payload[k];
		} else if (m->val[off + k] != payload[k]) {
			m->conflict = 1;
		}
	}
}

static void emit_data(int s, int d, size_t off, size_t len, int conflict, size_t cut)
{
	struct model_dir *m = &R.dir[s][d];
	emit(s, d, PCAPW_ACK | PCAPW_PSH, m->isn + 1 + (uint32_t)off, off, len, conflict, cut);
}

/* A new segment of up to len bytes at the sender's position; returns its length. */
static size_t produce(struct model_dir *m, size_t len)
{
	if (len > REASM_CAP - m->cur)
		len = REASM_CAP - m->cur;
	m->cur += len;
	if (m->cur > m->hi)
		m->hi = m->cur;
	return len;
}

static void operation(const uint8_t *op)
{
	int kind = op[0] & 7, d = op[0] >> 3 & 1, s = (op[0] >> 4 & 3) % R.nstreams;
	size_t len = (size_t)(op[0] >> 6) << 8 | op[1], arg = op[2];
	struct model_dir *m = &R.dir[s][d];
	size_t off = m->cur, back;

	switch (kind) {
	case OP_SEND:
		emit_data(s, d, off, produce(m, len), 0, 0);
		break;
	case OP_HOLD:
		len = produce(m, len);
		if (m->nheld == REASM_HELD)
			emit_data(s, d, off, len, 0, 0);
		else
			m->held[m->nheld++] = (struct held){off, len, arg & 2 && len ? 1 : 0, arg & 1};
		break;
	case OP_RELEASE:
		if (m->nheld) {
			size_t i = arg % m->nheld;
			struct held h = m->held[i];
			memmove(&m->held[i], &m->held[i + 1], (m->nheld - i - 1) * sizeof h);
			m->nheld--;
			emit_data(s, d, h.off, h.len, h.conflict, h.cut);
		}
		break;
	case OP_LOSE:
		len = produce(m, len);
		if (R.opt_on && arg & 1) {
			R.fragment = 1;
			emit_data(s, d, off, len, 0, 0);
			R.fragment = 0;
		}
		break;
	case OP_RESEND:
	case OP_CONFLICT:
		/* Mostly a few bytes back (overlaps of 1 byte are common), sometimes far back. */
		back = arg < 0x80 ? arg & 15 : (arg & 0x7f) * 4;
		off = back < m->cur ? m->cur - back : 0;
		if (len > REASM_CAP - off)
			len = REASM_CAP - off;
		if (off + len > m->cur)
			produce(m, off + len - m->cur);
		emit_data(s, d, off, len, kind == OP_CONFLICT, 0);
		break;
	case OP_DUP:
		if (R.last_caplen)
			feed(R.last, R.last_caplen, R.last_wirelen, R.last_rc);
		break;
	default: /* OP_CUT */
		len = produce(m, len);
		emit_data(s, d, off, len, 0, len ? 1 + arg % len : 0);
		break;
	}
}

static void finish_streams(int fin_first, int fin_lost)
{
	for (int s = 0; s < R.nstreams; s++)
		for (int d = 0; d < 2; d++) {
			struct model_dir *m = &R.dir[s][d];
			if (fin_first && !fin_lost) {
				emit(s, d, PCAPW_FIN | PCAPW_ACK, m->isn + 1 + (uint32_t)m->cur, m->cur, 0, 0,
				     0);
				m->fin_written = 1;
			}
			for (size_t i = 0; i < m->nheld; i++)
				emit_data(s, d, m->held[i].off, m->held[i].len, m->held[i].conflict,
				          m->held[i].cut);
			m->nheld = 0;
			if (!fin_first && !fin_lost) {
				emit(s, d, PCAPW_FIN | PCAPW_ACK, m->isn + 1 + (uint32_t)m->cur, m->cur, 0, 0,
				     0);
				m->fin_written = 1;
			}
		}
}

/* Compares direction d of flow f with the model; returns whether it lacks bytes (the flow's gap). */
static int check_dir(const struct dec_flow *f, int s, int d)
{
	const struct model_dir *m = &R.dir[s][d];
	const struct dec_dir *dd = &f->dir[d];
	size_t expect_len = 0, gap = 0, last = 0, at = 0;
	int expect_fin, held;

	while (expect_len < m->hi && m->known[expect_len])
		expect_len++;
	for (size_t k = expect_len; k < m->hi; k++)
		if (m->known[k])
			last = k + 1;
	for (size_t k = expect_len; k < last; k++)
		gap += !m->known[k];
	held = last > expect_len;
	expect_fin = m->fin_written && expect_len == m->cur;
	TRUTH_CHECK(dd->len == expect_len, "stream %d dir %d: %zu bytes reassembled, %zu captured in order",
	            s, d, dd->len, expect_len);
	for (size_t k = 0; k < expect_len; k++)
		TRUTH_CHECK(dd->data[k] == m->val[k],
		            "stream %d dir %d: byte %zu is 0x%02x, the first copy captured was 0x%02x", s, d,
		            k, dd->data[k], m->val[k]);
	TRUTH_CHECK(dd->gap_bytes == gap, "stream %d dir %d: %llu gap bytes reported, %zu lost", s, d,
	            (unsigned long long)dd->gap_bytes, gap);
	TRUTH_CHECK(dd->fin == expect_fin && (!expect_fin || dd->fin_off == m->cur),
	            "stream %d dir %d: fin %d at %zu, expected fin %d at %zu", s, d, dd->fin, dd->fin_off,
	            expect_fin, m->cur);
	TRUTH_CHECK(!dd->rst, "stream %d dir %d: a reset no packet carried", s, d);
	TRUTH_CHECK((dd->conflicts > 0) == (m->conflict != 0),
	            "stream %d dir %d: %llu conflicts, expected %s", s, d, (unsigned long long)dd->conflicts,
	            m->conflict ? "some" : "none");
	TRUTH_CHECK((dd->truncated > 0) == (m->cuts > 0), "stream %d dir %d: %llu cut segments, %zu written",
	            s, d, (unsigned long long)dd->truncated, m->cuts);
	for (size_t i = 0; i < f->nev; i++) {
		const struct dec_ev *e = &f->ev[i];
		if (e->dir != d || e->kind != DEC_EV_DATA)
			continue;
		TRUTH_CHECK(e->off == at && e->len > 0,
		            "stream %d dir %d: data event [%zu,+%zu) after %zu bytes", s, d, e->off, e->len,
		            at);
		at += e->len;
	}
	TRUTH_CHECK(at == dd->len, "stream %d dir %d: events carry %zu of %zu bytes", s, d, at, dd->len);
	return held || (m->fin_written && expect_len < m->cur);
}

static void check(void)
{
	TRUTH_CHECK(dec_nflows(R.dec) == (size_t)R.nstreams, "%zu flows for %d connections",
	            dec_nflows(R.dec), R.nstreams);
	for (int s = 0; s < R.nstreams; s++) {
		const struct dec_flow *f = dec_flow(R.dec, (size_t)s);
		int gap, cut = R.dir[s][0].cuts || R.dir[s][1].cuts;
		TRUTH_CHECK(f->proto == 6 && f->family == R.family && f->cport == R.ep[s].cport &&
		                f->sport == R.ep[s].sport,
		            "flow %d: proto %u family %d ports %u->%u", s, f->proto, f->family, f->cport,
		            f->sport);
		TRUTH_CHECK((f->flags & (DEC_F_SYN | DEC_F_SYNACK | DEC_F_GUESSED)) ==
		                (DEC_F_SYN | DEC_F_SYNACK),
		            "flow %d: flags 0x%x", s, f->flags);
		gap = check_dir(f, s, DEC_C2S);
		gap |= check_dir(f, s, DEC_S2C);
		TRUTH_CHECK(!(f->flags & DEC_F_GAP) == !gap, "flow %d: gap flag %d, bytes missing %d", s,
		            !!(f->flags & DEC_F_GAP), gap);
		TRUTH_CHECK(!(f->flags & DEC_F_INCOMPLETE) == !(gap || cut),
		            "flow %d: incomplete flag %d, expected %d", s, !!(f->flags & DEC_F_INCOMPLETE),
		            gap || cut);
	}
}

static uint32_t initial_seq(uint8_t b, int s)
{
	if (b & 0x80)
		return 0xffffffffu - (uint32_t)(b & 0x7f) * 8u - (uint32_t)s * 3u;
	return (uint32_t)b * 0x01000193u + (uint32_t)s * 0x10000u;
}

/* Sets R.link and its header: form k (counted over every row's forms, round and round) of the decoder's
 * link types, or the next form that carries R.family. */
static void pick_link(unsigned k)
{
	size_t forms = 0, i;
	int n = -1;

	for (i = 0; i < dec_link_ntypes; i++)
		forms += 1 + dec_link_types[i].variants;
	k %= (unsigned)forms;
	for (size_t tries = 0; n < 0; tries++, k = (k + 1) % (unsigned)forms) {
		unsigned v = k;
		TRUTH_CHECK(tries < forms, "no link type carries IPv%d", R.family);
		for (i = 0; v > dec_link_types[i].variants; i++)
			v -= 1 + dec_link_types[i].variants;
		R.link = &dec_link_types[i];
		n = dec_link_build(R.link, R.l2, R.family, v);
	}
	R.l2len = (size_t)n;
}

/* The option and extension headers of header bytes 4 and 5 (see the top of the file). */
static void setup_options(const uint8_t *h)
{
	static const uint8_t ext_type[4] = {0, PCAPW_EXT_HOP, PCAPW_EXT_ROUTING, PCAPW_EXT_DSTOPT};

	R.opt.ipopt = R.family == 4 ? h[4] & 7u : 0;
	for (unsigned i = 0; R.family == 6 && i < 4 && (h[4] >> 2 * i & 3); i++) {
		R.opt.ext[i].type = ext_type[h[4] >> 2 * i & 3];
		R.opt.ext[i].len8 = (uint8_t)((h[5] >> 6) + i);
		R.opt.next = i + 1;
	}
	R.opt.tcpopt = h[5] & 31u;
	R.opt.mss = 1460;
	R.opt.wscale = 7;
	R.syn_data = h[5] >> 5 & 1;
}

/* Reads the header (h[0..size)); returns its length. */
static size_t setup(const uint8_t *h, size_t size)
{
	static const uint8_t v6c[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	static const uint8_t v6s[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

	R.family = h[1] & 1 ? 6 : 4;
	pick_link(h[0]);
	R.nstreams = (h[1] >> 1 & 3) % REASM_STREAMS + 1;
	R.ipid = 1;
	R.ts = 1700000000ull * 1000000000ull;
	R.last_caplen = 0;
	memset(&R.opt, 0, sizeof R.opt);
	R.opt_on = h[1] >> 5 & 1 && size >= 6;
	R.syn_data = R.fragment = 0;
	if (R.opt_on)
		setup_options(h);
	for (int s = 0; s < R.nstreams; s++) {
		pcapw_ep_v4(&R.ep[s], 0x0a000001, (uint16_t)(40000 + s), 0x0a000002, 8082);
		if (R.family == 6) {
			R.ep[s].family = 6;
			memcpy(R.ep[s].caddr, v6c, 16);
			memcpy(R.ep[s].saddr, v6s, 16);
		}
		for (int d = 0; d < 2; d++) {
			struct model_dir *m = &R.dir[s][d];
			memset(m->known, 0, m->hi);
			m->isn = initial_seq(h[2 + d], s);
			m->cur = m->hi = m->cuts = m->nheld = 0;
			m->conflict = m->fin_written = 0;
		}
	}
	return R.opt_on ? 6 : 4;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dec_limits lim;
	char err[256];
	size_t hlen;

	if (size < 4)
		return -1;
	hlen = setup(data, size);
	dec_limits_default(&lim);
	R.dec = dec_new(&lim, err, sizeof err);
	if (R.dec == NULL)
		return -1;
	for (int s = 0; s < R.nstreams; s++) {
		struct model_dir *c = &R.dir[s][PCAPW_C2S], *sv = &R.dir[s][PCAPW_S2C];
		emit(s, PCAPW_C2S, PCAPW_SYN, c->isn, 0, R.syn_data ? produce(c, 12) : 0, 0, 0);
		emit(s, PCAPW_S2C, PCAPW_SYN | PCAPW_ACK, sv->isn, 0, R.syn_data ? produce(sv, 5) : 0, 0, 0);
		emit(s, PCAPW_C2S, PCAPW_ACK, c->isn + 1 + (uint32_t)c->cur, c->cur, 0, 0, 0);
	}
	for (size_t off = hlen; off + 3 <= size; off += 3)
		operation(data + off);
	finish_streams(data[1] >> 3 & 1, data[1] >> 4 & 1);
	dec_finish(R.dec);
	check();
	dec_free(R.dec);
	return 0;
}
