/* fuzz_pcap.c - fuzz target: the replayer's pure frame decoder and flow reassembly (lib/decode.h) fed
 * a classic pcap file from memory, with small limits. Checks that nothing crashes and that the output
 * keeps its invariants: reassembled bytes never exceed the input's bytes, every event lies inside its
 * stream, the limits hold. Input: a classic pcap (either byte order, micro- or nanosecond magic); any
 * other bytes end the walk where they stop making sense.
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

#define CHECK(cond, ...) FUZZ_ASSERT(cond, "invariant broken", __VA_ARGS__)

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
