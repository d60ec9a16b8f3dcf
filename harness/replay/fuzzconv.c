/* fuzzconv.c - flows to fuzz seeds and fuzz inputs to pcaps, with the fuzz helper's own encoder and
 * decoder (lib/script.h) and the pcap writer (pcapw.h). */
#include "fuzzconv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oracle.h"
#include "pcapw.h"
#include "script.h"

struct obuf {
	uint8_t *p;
	size_t n, cap;
};

static int ob_reserve(struct obuf *b, size_t k)
{
	if (b->cap - b->n >= k)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap - b->n < k)
		cap *= 2;
	uint8_t *np = realloc(b->p, cap);
	if (!np)
		return -1;
	b->p = np;
	b->cap = cap;
	return 0;
}

uint8_t *fz_seed(const struct dec_flow *f, size_t *n, const char **target, char *err, size_t errlen)
{
	struct obuf b = {0};
	const struct dec_dir *cs = &f->dir[DEC_C2S];
	size_t i, k;

	if (f->proto == 6) {
		*target = "fuzz_tcp";
		if (ob_reserve(&b, 1) < 0)
			goto nomem;
		b.n += script_enc_header(b.p, 1, 1, 0);
	} else {
		*target = "fuzz_udp";
	}
	for (i = 0; i < f->nev; i++) {
		const struct dec_ev *e = &f->ev[i];
		if (e->dir != DEC_C2S)
			continue;
		if (f->proto == 17) {
			k = script_udp_enc(NULL, 0, cs->data + e->off, e->len, f->family);
			if (!k) {
				snprintf(err, errlen, "datagram of %zu bytes is too long for the fuzz format",
				         e->len);
				free(b.p);
				return NULL;
			}
			if (ob_reserve(&b, k) < 0)
				goto nomem;
			b.n += script_udp_enc(b.p + b.n, k, cs->data + e->off, e->len, f->family);
			continue;
		}
		struct script_event ev = {0};
		if (e->kind == DEC_EV_DATA) {
			ev.op = SCRIPT_SEND;
			ev.data = cs->data + e->off;
			ev.len = e->len;
		} else if (e->kind == DEC_EV_FIN) {
			ev.op = SCRIPT_FIN;
		} else if (e->kind == DEC_EV_RST) {
			ev.op = SCRIPT_RST;
		} else {
			continue;
		}
		k = script_enc_event(NULL, 0, &ev);
		if (ob_reserve(&b, k) < 0)
			goto nomem;
		b.n += script_enc_event(b.p + b.n, k, &ev);
	}
	if (!b.p && ob_reserve(&b, 1) < 0)
		goto nomem;
	*n = b.n;
	return b.p;
nomem:
	free(b.p);
	snprintf(err, errlen, "out of memory");
	return NULL;
}

#define FZ_T0 (1700000000ull * 1000000000ull)

struct slot {
	int open; /* a connection is on the slot */
	struct pcapw_tcp f;
};

static int tcp_close_both(struct slot *s, char *err, size_t errlen)
{
	if (pcapw_tcp_fin(&s->f, PCAPW_C2S, err, errlen) < 0 ||
	    pcapw_tcp_fin(&s->f, PCAPW_S2C, err, errlen) < 0)
		return -1;
	s->open = 0;
	return 0;
}

static int tcp_to_pcap(struct pcapw *w, const uint8_t *in, size_t n, char *err, size_t errlen)
{
	struct script_dec d;
	struct script_event ev;
	struct slot slots[SCRIPT_MAX_CONNS];
	unsigned char up[SCRIPT_MAX_CHUNK];
	uint64_t ts = FZ_T0;
	unsigned conns = 0, i;

	memset(slots, 0, sizeof slots);
	script_dec_init(&d, in, n);
	while (script_dec_next(&d, &ev)) {
		struct slot *s = &slots[ev.slot % SCRIPT_MAX_CONNS];
		if (ev.op != SCRIPT_SEND && ev.op != SCRIPT_FIN && ev.op != SCRIPT_RST)
			continue; /* server-side syscall behaviour: nothing on the wire */
		if (!s->open) {
			struct pcapw_ep ep;
			pcapw_ep_v4(&ep, 0x7f000001, (uint16_t)(40000 + conns++ % 20000), 0x7f000001, 8082);
			pcapw_tcp_init(&s->f, w, &ep, ts);
			s->f.mss = SCRIPT_MAX_CHUNK;
			if (pcapw_tcp_connect(&s->f, err, errlen) < 0)
				return -1;
			s->open = 1;
			ts = s->f.ts_ns;
		}
		s->f.ts_ns = ts;
		if (ev.op == SCRIPT_SEND) {
			oracle_expect(up, ev.data, ev.len);
			if (pcapw_tcp_send(&s->f, PCAPW_C2S, ev.data, ev.len, err, errlen) < 0 ||
			    pcapw_tcp_send(&s->f, PCAPW_S2C, up, ev.len, err, errlen) < 0)
				return -1;
		} else if (ev.op == SCRIPT_FIN) {
			/* SPEC T4: the server has sent what it owed; it answers with its own FIN. */
			if (tcp_close_both(s, err, errlen) < 0)
				return -1;
		} else {
			if (pcapw_tcp_rst(&s->f, PCAPW_C2S, err, errlen) < 0)
				return -1;
			s->open = 0;
		}
		ts = s->f.ts_ns;
	}
	for (i = 0; i < SCRIPT_MAX_CONNS; i++)
		if (slots[i].open) {
			slots[i].f.ts_ns = ts;
			if (tcp_close_both(&slots[i], err, errlen) < 0)
				return -1;
			ts = slots[i].f.ts_ns;
		}
	return 0;
}

static int udp_to_pcap(struct pcapw *w, const uint8_t *in, size_t n, char *err, size_t errlen)
{
	struct script_udp_dec d;
	unsigned char *dg = malloc(SCRIPT_UDP_MAX6), *rep = malloc(SCRIPT_UDP_MAX6);
	struct pcapw_ep ep4, ep6;
	struct script_udp_meta m;
	size_t len;
	int rc = 0;
	uint64_t ts = FZ_T0;

	if (!dg || !rep) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
		goto out;
	}
	pcapw_ep_v4(&ep4, 0x7f000001, 40000, 0x7f000001, 8080);
	memset(&ep6, 0, sizeof ep6);
	ep6.family = 6;
	ep6.caddr[15] = ep6.saddr[15] = 1;
	ep6.cport = 40000;
	ep6.sport = 8080;
	script_udp_init(&d, in, n);
	while (script_udp_read(&d, dg, &len, &m)) {
		/* each sender its own client port; the kernel events of the input do not show on the wire */
		struct pcapw_ep *ep = m.family == 6 ? &ep6 : &ep4;
		ep->cport = (uint16_t)(40000 + m.sender);
		oracle_expect(rep, dg, len);
		if (pcapw_udp(w, ep, PCAPW_C2S, dg, len, ts, err, errlen) < 0 ||
		    pcapw_udp(w, ep, PCAPW_S2C, rep, len, ts + 10000, err, errlen) < 0) {
			rc = -1;
			goto out;
		}
		ts += 20000;
	}
out:
	free(dg);
	free(rep);
	return rc;
}

int fz_to_pcap(const uint8_t *in, size_t n, int udp, const char *out, uint64_t *npkts, char *err,
               size_t errlen)
{
	struct pcapw *w = pcapw_open(out, PCAPW_EN10MB, 0, err, errlen);
	int rc;
	char cerr[256];

	if (!w)
		return -1;
	rc = udp ? udp_to_pcap(w, in, n, err, errlen) : tcp_to_pcap(w, in, n, err, errlen);
	*npkts = pcapw_count(w);
	if (pcapw_close(w, cerr, sizeof cerr) < 0 && rc == 0) {
		snprintf(err, errlen, "%s", cerr);
		rc = -1;
	}
	return rc;
}
