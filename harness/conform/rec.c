/* rec.c - conform's record of a case's exchange (what it sent and received on each connection and
 * datagram socket), written as a pcap of synthesized flows with the replay helper's writer (pcapw). */
#include "cf.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "pcapw.h"

void cf_rec_init(struct cf_rec *r, size_t maxbytes)
{
	memset(r, 0, sizeof *r);
	r->capdata = maxbytes;
}

void cf_rec_reset(struct cf_rec *r)
{
	r->nev = 0;
	r->ndata = 0;
	r->truncated = 0;
}

void cf_rec_free(struct cf_rec *r)
{
	free(r->ev);
	free(r->data);
	memset(r, 0, sizeof *r);
}

void cf_rec_add(struct cf_rec *r, int kind, unsigned conn, const void *data, size_t len,
		const struct net_addr *local, const struct net_addr *remote)
{
	if (r->truncated)
		return; /* a capture with a gap would replay wrong: it ends at the first event that did not fit */
	if (r->nev == r->capev) {
		size_t cap = r->capev ? 2 * r->capev : 256;
		if (cap > 131072) { /* events carry two addresses each: bound the memory (~40 MB) */
			r->truncated = 1;
			return;
		}
		struct cf_rev *ev = realloc(r->ev, cap * sizeof *ev);
		if (ev == NULL) {
			r->truncated = 1;
			return;
		}
		r->ev = ev;
		r->capev = cap;
	}
	if (len > 0) {
		if (r->data == NULL && r->capdata > 0)
			r->data = malloc(r->capdata);
		if (r->data == NULL || r->ndata + len > r->capdata) {
			r->truncated = 1;
			return; /* beyond the bound nothing more is kept: the capture ends here */
		}
	}
	struct cf_rev *e = &r->ev[r->nev++];
	memset(e, 0, sizeof *e);
	e->kind = kind;
	e->conn = conn;
	e->ts_ns = cf_now_ns();
	e->off = r->ndata;
	e->len = len;
	if (len > 0) {
		memcpy(r->data + r->ndata, data, len);
		r->ndata += len;
	}
	if (local != NULL)
		e->local = *local;
	if (remote != NULL)
		e->remote = *remote;
}

/* A synthesized TCP flow per connection id. */
struct flowmap {
	unsigned conn;
	struct pcapw_tcp f;
	int open;
};

int cf_rec_write_pcap(const struct cf_rec *r, const char *path, char *err, size_t errlen)
{
	struct pcapw *w = pcapw_open(path, PCAPW_EN10MB, 0, err, errlen);
	struct flowmap *fm = NULL;
	size_t nfm = 0;
	int rc = -1;
	if (w == NULL)
		return -1;
	fm = calloc(r->nev + 1, sizeof *fm);
	if (fm == NULL) {
		snprintf(err, errlen, "out of memory writing %s", path);
		goto out;
	}
	uint64_t base = r->nev > 0 ? r->ev[0].ts_ns : 0;
	uint64_t wall = 1700000000ull * 1000000000ull; /* a fixed epoch: reproducible files */
	for (size_t i = 0; i < r->nev; i++) {
		const struct cf_rev *e = &r->ev[i];
		const unsigned char *d = r->data + e->off;
		uint64_t ts = wall + (e->ts_ns - base);
		if (e->kind == CF_R_DOUT || e->kind == CF_R_DIN) {
			struct pcapw_ep ep;
			const struct net_addr *cl = e->kind == CF_R_DOUT ? &e->local : &e->local;
			const struct net_addr *sv = &e->remote;
			if (pcapw_ep_sockaddr(&ep, (const struct sockaddr *)&cl->ss, (const struct sockaddr *)&sv->ss, err,
					      errlen) < 0)
				continue; /* mixed families cannot be drawn; skip the datagram */
			if (pcapw_udp(w, &ep, e->kind == CF_R_DOUT ? PCAPW_C2S : PCAPW_S2C, d, e->len, ts, err, errlen) < 0)
				goto out;
			continue;
		}
		struct flowmap *m = NULL;
		for (size_t j = 0; j < nfm; j++)
			if (fm[j].conn == e->conn)
				m = &fm[j];
		if (e->kind == CF_R_OPEN) {
			struct pcapw_ep ep;
			if (m != NULL)
				continue;
			if (pcapw_ep_sockaddr(&ep, (const struct sockaddr *)&e->local.ss,
					      (const struct sockaddr *)&e->remote.ss, err, errlen) < 0)
				continue;
			m = &fm[nfm++];
			m->conn = e->conn;
			pcapw_tcp_init(&m->f, w, &ep, ts);
			if (pcapw_tcp_connect(&m->f, err, errlen) < 0)
				goto out;
			m->open = 1;
			continue;
		}
		if (m == NULL || !m->open || m->f.closed)
			continue;
		if (m->f.ts_ns < ts)
			m->f.ts_ns = ts;
		int erc = 0;
		switch (e->kind) {
		case CF_R_SEND:
			if (!m->f.fin[PCAPW_C2S])
				erc = pcapw_tcp_send(&m->f, PCAPW_C2S, d, e->len, err, errlen);
			break;
		case CF_R_RECV:
			if (!m->f.fin[PCAPW_S2C])
				erc = pcapw_tcp_send(&m->f, PCAPW_S2C, d, e->len, err, errlen);
			break;
		case CF_R_SHUT:
			if (!m->f.fin[PCAPW_C2S])
				erc = pcapw_tcp_fin(&m->f, PCAPW_C2S, err, errlen);
			break;
		case CF_R_FIN:
			if (!m->f.fin[PCAPW_S2C])
				erc = pcapw_tcp_fin(&m->f, PCAPW_S2C, err, errlen);
			break;
		case CF_R_RST:
			erc = pcapw_tcp_rst(&m->f, PCAPW_C2S, err, errlen);
			break;
		case CF_R_RSTIN:
			erc = pcapw_tcp_rst(&m->f, PCAPW_S2C, err, errlen);
			break;
		default:
			break;
		}
		if (erc < 0)
			goto out;
	}
	rc = 0;
out:
	free(fm);
	if (pcapw_close(w, rc == 0 ? err : NULL, rc == 0 ? errlen : 0) < 0)
		rc = -1;
	return rc;
}
