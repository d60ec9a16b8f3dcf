/* decode_flows.c - the flow table and TCP/UDP reassembly of the decoder (see decode.h): decoded packets
 * become flows of events and streams. Pure: no syscalls, no globals; memory bounded by struct dec_limits. */
#include "decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dec_limits_default(struct dec_limits *l)
{
	memset(l, 0, sizeof *l);
	l->max_flows = 65536;
	l->max_bytes = (size_t)256 << 20;
	l->max_events = (size_t)4 << 20;
	l->max_pending = 4096;
	l->dup_window_ns = 1000000;
}

struct seg {
	size_t off, len;
	uint8_t *data;
};

struct sig {
	uint64_t ts;
	uint32_t seq, ack, hash;
	size_t len;
	uint16_t ipid, win;
	uint8_t flags;
};

#define NSIG 4

/* One side of a flow while packets come in; side 0 sent the flow's first packet. */
struct side {
	int have_isn;
	uint32_t isn;
	size_t cap;       /* allocated bytes of dir.data */
	struct seg *pend; /* held out-of-order segments, sorted by off, disjoint */
	size_t npend, cpend;
	int fin_pending;
	size_t fin_at;
	struct sig last[NSIG]; /* recent packets, to drop capture duplicates */
	unsigned nlast, ilast;
};

struct flowi {
	struct dec_flow f; /* dir[i] and caddr/cport are side i's until dec_finish() swaps */
	struct side s[2];
	size_t evcap;
	int client; /* side that is the client: -1 unknown */
	int closed; /* RST seen or both FINs: a new SYN on the tuple starts a new flow */
	struct flowi *hnext;
};

struct dec_ctx {
	struct dec_limits lim;
	struct flowi **flows;
	size_t nflows, cflows;
	struct flowi **hash;
	size_t hmask;
	size_t bytes, events;
	int finished;
	struct dec_stats st;
};

struct dec_ctx *dec_new(const struct dec_limits *lim, char *err, size_t errlen)
{
	struct dec_ctx *c;
	size_t nb = 64;

	if (!lim->max_flows || !lim->max_bytes || !lim->max_events || !lim->max_pending) {
		snprintf(err, errlen, "a decoder limit is 0");
		return NULL;
	}
	c = calloc(1, sizeof *c);
	if (!c)
		goto nomem;
	c->lim = *lim;
	while (nb < lim->max_flows && nb < ((size_t)1 << 20))
		nb <<= 1;
	c->hash = calloc(nb, sizeof *c->hash);
	if (!c->hash)
		goto nomem;
	c->hmask = nb - 1;
	return c;
nomem:
	free(c);
	snprintf(err, errlen, "out of memory for the flow table");
	return NULL;
}

static void flow_free(struct flowi *fi)
{
	int d;
	size_t i;

	for (d = 0; d < 2; d++) {
		for (i = 0; i < fi->s[d].npend; i++)
			free(fi->s[d].pend[i].data);
		free(fi->s[d].pend);
		free(fi->f.dir[d].data);
	}
	free(fi->f.ev);
	free(fi);
}

void dec_free(struct dec_ctx *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->nflows; i++)
		flow_free(c->flows[i]);
	free(c->flows);
	free(c->hash);
	free(c);
}

size_t dec_nflows(const struct dec_ctx *c)
{
	return c->nflows;
}

const struct dec_flow *dec_flow(const struct dec_ctx *c, size_t i)
{
	return i < c->nflows ? &c->flows[i]->f : NULL;
}

void dec_stats(const struct dec_ctx *c, struct dec_stats *s)
{
	*s = c->st;
	s->bytes = c->bytes;
}

static uint32_t fnv(uint32_t h, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static size_t key_hash(const struct dec_pkt *p)
{
	/* Symmetric in the two ends so both directions land in the same bucket. */
	uint32_t a = fnv(2166136261u, p->src, 16) ^ p->sport;
	uint32_t b = fnv(2166136261u, p->dst, 16) ^ p->dport;
	return (size_t)((a ^ b) * 2654435761u ^ p->proto);
}

/* Returns 0 if p goes from side 0 to side 1 of fi, 1 for the reverse, -1 if p is not fi's. */
static int flow_side(const struct flowi *fi, const struct dec_pkt *p)
{
	const struct dec_flow *f = &fi->f;

	if (f->proto != p->proto || f->family != p->family)
		return -1;
	if (f->cport == p->sport && f->sport == p->dport && !memcmp(f->caddr, p->src, 16) &&
	    !memcmp(f->saddr, p->dst, 16))
		return 0;
	if (f->sport == p->sport && f->cport == p->dport && !memcmp(f->saddr, p->src, 16) &&
	    !memcmp(f->caddr, p->dst, 16))
		return 1;
	return -1;
}

static int limit(char *err, size_t errlen, const char *what, size_t max)
{
	snprintf(err, errlen, "capture exceeds the limit of %zu %s", max, what);
	return DEC_ELIMIT;
}

static struct flowi *flow_new(struct dec_ctx *c, const struct dec_pkt *p, size_t h, char *err, size_t errlen,
                              int *rc)
{
	struct flowi *fi;

	if (c->nflows == c->lim.max_flows) {
		*rc = limit(err, errlen, "flows", c->lim.max_flows);
		return NULL;
	}
	if (c->nflows == c->cflows) {
		size_t n = c->cflows ? c->cflows * 2 : 64;
		struct flowi **nf = realloc(c->flows, n * sizeof *nf);
		if (!nf)
			goto nomem;
		c->flows = nf;
		c->cflows = n;
	}
	fi = calloc(1, sizeof *fi);
	if (!fi)
		goto nomem;
	fi->f.proto = p->proto;
	fi->f.family = p->family;
	memcpy(fi->f.caddr, p->src, 16);
	memcpy(fi->f.saddr, p->dst, 16);
	fi->f.cport = p->sport;
	fi->f.sport = p->dport;
	fi->f.first_ns = p->ts_ns;
	fi->f.index = c->nflows;
	fi->client = -1;
	fi->hnext = c->hash[h];
	c->hash[h] = fi;
	c->flows[c->nflows++] = fi;
	return fi;
nomem:
	snprintf(err, errlen, "out of memory for flow %zu", c->nflows + 1);
	*rc = DEC_ENOMEM;
	return NULL;
}

static void hash_remove(struct dec_ctx *c, size_t h, struct flowi *fi)
{
	struct flowi **pp;

	for (pp = &c->hash[h]; *pp; pp = &(*pp)->hnext)
		if (*pp == fi) {
			*pp = fi->hnext;
			return;
		}
}

static int ev_add(struct dec_ctx *c, struct flowi *fi, int d, int kind, size_t off, size_t len, uint64_t ts,
                  char *err, size_t errlen)
{
	struct dec_ev *e;

	if (c->events == c->lim.max_events)
		return limit(err, errlen, "events", c->lim.max_events);
	if (fi->f.nev == fi->evcap) {
		size_t n = fi->evcap ? fi->evcap * 2 : 16;
		struct dec_ev *ne = realloc(fi->f.ev, n * sizeof *ne);
		if (!ne) {
			snprintf(err, errlen, "out of memory for the events of flow %zu", fi->f.index + 1);
			return DEC_ENOMEM;
		}
		fi->f.ev = ne;
		fi->evcap = n;
	}
	e = &fi->f.ev[fi->f.nev++];
	e->ts_ns = ts;
	e->dir = (uint8_t)d;
	e->kind = (uint8_t)kind;
	e->off = off;
	e->len = len;
	e->peer_before = fi->f.dir[!d].len;
	c->events++;
	return DEC_OK;
}

/* Appends n bytes to side d's stream. */
static int stream_append(struct flowi *fi, int d, const uint8_t *b, size_t n, char *err, size_t errlen)
{
	struct dec_dir *dd = &fi->f.dir[d];
	struct side *s = &fi->s[d];

	if (dd->len + n > s->cap) {
		size_t cap = s->cap ? s->cap : 256;
		uint8_t *nd;
		while (cap < dd->len + n)
			cap *= 2;
		nd = realloc(dd->data, cap);
		if (!nd) {
			snprintf(err, errlen, "out of memory for the stream of flow %zu", fi->f.index + 1);
			return DEC_ENOMEM;
		}
		dd->data = nd;
		s->cap = cap;
	}
	if (n)
		memcpy(dd->data + dd->len, b, n);
	dd->len += n;
	return DEC_OK;
}

/* Delivers held segments that now continue the stream, then a FIN that the stream has reached. */
static int drain(struct dec_ctx *c, struct flowi *fi, int d, uint64_t ts, char *err, size_t errlen)
{
	struct side *s = &fi->s[d];
	struct dec_dir *dd = &fi->f.dir[d];
	int rc;

	while (s->npend && s->pend[0].off == dd->len) {
		struct seg g = s->pend[0];
		rc = stream_append(fi, d, g.data, g.len, err, errlen);
		if (rc)
			return rc;
		free(g.data);
		memmove(s->pend, s->pend + 1, (s->npend - 1) * sizeof *s->pend);
		s->npend--;
		rc = ev_add(c, fi, d, DEC_EV_DATA, g.off, g.len, ts, err, errlen);
		if (rc)
			return rc;
	}
	if (s->fin_pending && dd->len >= s->fin_at && !dd->fin) {
		dd->fin = 1;
		dd->fin_off = dd->len;
		s->fin_pending = 0;
		if (fi->f.dir[!d].fin)
			fi->closed = 1;
		return ev_add(c, fi, d, DEC_EV_FIN, dd->len, 0, ts, err, errlen);
	}
	return DEC_OK;
}

/* Holds [off, off+len) (all beyond the stream's end) except the parts already held (first copy wins). */
static int hold(struct dec_ctx *c, struct flowi *fi, int d, size_t off, const uint8_t *b, size_t len,
                char *err, size_t errlen)
{
	struct side *s = &fi->s[d];
	struct dec_dir *dd = &fi->f.dir[d];
	size_t end = off + len, i = 0, covered = 0;
	int added = 0;

	while (off < end) {
		size_t piece_end;
		struct seg *g;
		while (i < s->npend && s->pend[i].off + s->pend[i].len <= off)
			i++;
		if (i < s->npend && s->pend[i].off <= off) {
			/* Covered by a held segment: compare, keep the first copy. */
			struct seg *h = &s->pend[i];
			size_t k = h->off + h->len < end ? h->off + h->len - off : end - off;
			if (memcmp(h->data + (off - h->off), b, k))
				dd->conflicts++;
			covered += k;
			off += k;
			b += k;
			continue;
		}
		piece_end = i < s->npend && s->pend[i].off < end ? s->pend[i].off : end;
		if (s->npend == c->lim.max_pending)
			return limit(err, errlen, "held out-of-order segments per direction",
			             c->lim.max_pending);
		if (c->bytes + (piece_end - off) > c->lim.max_bytes)
			return limit(err, errlen, "payload bytes", c->lim.max_bytes);
		if (s->npend == s->cpend) {
			size_t n = s->cpend ? s->cpend * 2 : 8;
			struct seg *np = realloc(s->pend, n * sizeof *np);
			if (!np)
				goto nomem;
			s->pend = np;
			s->cpend = n;
		}
		memmove(s->pend + i + 1, s->pend + i, (s->npend - i) * sizeof *s->pend);
		g = &s->pend[i];
		g->off = off;
		g->len = piece_end - off;
		g->data = malloc(g->len ? g->len : 1);
		if (!g->data) {
			memmove(s->pend + i, s->pend + i + 1, (s->npend - i) * sizeof *s->pend);
			goto nomem;
		}
		memcpy(g->data, b, g->len);
		s->npend++;
		c->bytes += g->len;
		b += g->len;
		off = piece_end;
		i++;
		added = 1;
	}
	if (covered)
		covered == len ? dd->retrans++ : dd->overlaps++;
	if (added && s->pend[0].off > dd->len)
		dd->ooo++;
	return DEC_OK;
nomem:
	snprintf(err, errlen, "out of memory for held segments of flow %zu", fi->f.index + 1);
	return DEC_ENOMEM;
}

/* Places a segment's payload at stream offset off (which may lie before the stream's start when the
 * ISN was guessed: those bytes are old). */
static int place(struct dec_ctx *c, struct flowi *fi, int d, int32_t rel, const uint8_t *b, size_t len,
                 uint64_t ts, char *err, size_t errlen)
{
	struct dec_dir *dd = &fi->f.dir[d];
	struct side *s = &fi->s[d];
	size_t off, next = dd->len;
	int rc, trimmed = 0;

	if (!len)
		return DEC_OK;
	if (rel < 0) {
		size_t old = (size_t) - (int64_t)rel;
		if (old >= len) {
			dd->retrans++;
			return DEC_OK;
		}
		trimmed = 1;
		b += old;
		len -= old;
		rel = 0;
	}
	off = (size_t)rel;
	if (off + len <= next) {
		if (memcmp(dd->data + off, b, len))
			dd->conflicts++;
		dd->retrans++;
		return DEC_OK;
	}
	if (off < next) {
		if (memcmp(dd->data + off, b, next - off))
			dd->conflicts++;
		trimmed = 1;
		b += next - off;
		len -= next - off;
		off = next;
	}
	if (trimmed)
		dd->overlaps++;
	if (off == next && (!s->npend || s->pend[0].off >= off + len)) {
		if (c->bytes + len > c->lim.max_bytes)
			return limit(err, errlen, "payload bytes", c->lim.max_bytes);
		rc = stream_append(fi, d, b, len, err, errlen);
		if (rc)
			return rc;
		c->bytes += len;
		rc = ev_add(c, fi, d, DEC_EV_DATA, off, len, ts, err, errlen);
		if (rc)
			return rc;
	} else {
		rc = hold(c, fi, d, off, b, len, err, errlen);
		if (rc)
			return rc;
		/* Held bytes were counted in c->bytes already; drain moves them without recounting. */
	}
	return DEC_OK;
}

/* Returns 1 if p repeats one of side d's recent packets within the duplicate window. */
static int is_dup(const struct dec_ctx *c, struct side *s, const struct dec_pkt *p)
{
	struct sig g;
	unsigned i;

	g.ts = p->ts_ns;
	g.seq = p->seq;
	g.ack = p->ack;
	g.len = p->len;
	g.ipid = p->ipid;
	g.win = p->win;
	g.flags = p->tcpflags;
	g.hash = fnv(2166136261u, p->payload, p->caplen);
	for (i = 0; i < s->nlast; i++) {
		const struct sig *o = &s->last[i];
		if (o->seq == g.seq && o->ack == g.ack && o->len == g.len && o->ipid == g.ipid &&
		    o->win == g.win && o->flags == g.flags && o->hash == g.hash && g.ts >= o->ts &&
		    g.ts - o->ts <= c->lim.dup_window_ns)
			return 1;
	}
	s->last[s->ilast] = g;
	s->ilast = (s->ilast + 1) % NSIG;
	if (s->nlast < NSIG)
		s->nlast++;
	return 0;
}

static int add_tcp(struct dec_ctx *c, struct flowi *fi, int d, const struct dec_pkt *p, char *err,
                   size_t errlen)
{
	struct side *s = &fi->s[d];
	struct dec_dir *dd = &fi->f.dir[d];
	uint32_t dseq = p->seq;
	int32_t rel;
	int rc;

	if (p->tcpflags & DEC_TH_SYN) {
		if (!(p->tcpflags & DEC_TH_ACK)) {
			fi->f.flags |= DEC_F_SYN;
			if (fi->client < 0)
				fi->client = d;
		} else {
			fi->f.flags |= DEC_F_SYNACK;
			if (fi->client < 0)
				fi->client = !d;
		}
		if (!s->have_isn) {
			s->have_isn = 1;
			s->isn = p->seq + 1;
		}
		dseq = p->seq + 1;
	}
	if (!s->have_isn) {
		s->have_isn = 1;
		s->isn = dseq;
	}
	rel = (int32_t)(dseq - s->isn);
	if (p->caplen < p->len) {
		dd->truncated++;
		fi->f.flags |= DEC_F_INCOMPLETE;
	} else {
		rc = place(c, fi, d, rel, p->payload, p->len, p->ts_ns, err, errlen);
		if (rc)
			return rc;
	}
	if ((p->tcpflags & DEC_TH_FIN) && !dd->fin && !s->fin_pending) {
		int64_t at = (int64_t)rel + (int64_t)p->len;
		s->fin_pending = 1;
		s->fin_at = at < 0 ? 0 : (size_t)at;
	}
	rc = drain(c, fi, d, p->ts_ns, err, errlen);
	if (rc)
		return rc;
	if ((p->tcpflags & DEC_TH_RST) && !dd->rst) {
		dd->rst = 1;
		dd->rst_off = dd->len;
		fi->closed = 1;
		rc = ev_add(c, fi, d, DEC_EV_RST, dd->len, 0, p->ts_ns, err, errlen);
	}
	return rc;
}

static int add_udp(struct dec_ctx *c, struct flowi *fi, int d, const struct dec_pkt *p, char *err,
                   size_t errlen)
{
	struct dec_dir *dd = &fi->f.dir[d];
	size_t off = dd->len;
	int rc;

	if (p->caplen < p->len) {
		dd->truncated++;
		fi->f.flags |= DEC_F_INCOMPLETE;
	}
	if (c->bytes + p->caplen > c->lim.max_bytes)
		return limit(err, errlen, "payload bytes", c->lim.max_bytes);
	rc = stream_append(fi, d, p->payload, p->caplen, err, errlen);
	if (rc)
		return rc;
	c->bytes += p->caplen;
	return ev_add(c, fi, d, DEC_EV_DGRAM, off, p->caplen, p->ts_ns, err, errlen);
}

int dec_add(struct dec_ctx *c, const struct dec_pkt *p, char *err, size_t errlen)
{
	size_t h;
	struct flowi *fi;
	int d = -1, rc = DEC_OK;

	if (c->finished) {
		snprintf(err, errlen, "packet added after the end of the capture");
		return DEC_ELIMIT;
	}
	if ((p->proto != 6 && p->proto != 17) || (p->family != 4 && p->family != 6) || p->caplen > p->len ||
	    (p->caplen && !p->payload)) {
		snprintf(err, errlen, "not a decoded TCP/UDP packet");
		return DEC_EMALFORMED;
	}
	h = key_hash(p) & c->hmask;
	for (fi = c->hash[h]; fi; fi = fi->hnext)
		if ((d = flow_side(fi, p)) >= 0)
			break;
	if (fi && fi->closed && p->proto == 6 && (p->tcpflags & (DEC_TH_SYN | DEC_TH_ACK)) == DEC_TH_SYN &&
	    (!fi->s[d].have_isn || fi->s[d].isn != p->seq + 1)) {
		hash_remove(c, h, fi); /* the 4-tuple is reused by a new connection */
		fi = NULL;
	}
	if (!fi) {
		fi = flow_new(c, p, h, err, errlen, &rc);
		if (!fi)
			return rc;
		d = 0;
	}
	if (is_dup(c, &fi->s[d], p)) {
		fi->f.dir[d].dups++;
		c->st.dups++;
		return DEC_OK;
	}
	fi->f.dir[d].packets++;
	fi->f.last_ns = p->ts_ns;
	if (p->proto == 6) {
		c->st.tcp++;
		return add_tcp(c, fi, d, p, err, errlen);
	}
	c->st.udp++;
	return add_udp(c, fi, d, p, err, errlen);
}

int dec_feed(struct dec_ctx *c, int lt, const uint8_t *buf, size_t caplen, size_t wirelen, uint64_t ts_ns,
             char *err, size_t errlen)
{
	struct dec_pkt p;
	int rc;

	c->st.frames++;
	rc = dec_frame(lt, buf, caplen, wirelen, ts_ns, &p, err, errlen);
	if (rc == DEC_SKIP)
		c->st.skipped++;
	if (rc != DEC_OK)
		return rc;
	return dec_add(c, &p, err, errlen);
}

static int is_server_port(const struct dec_ctx *c, uint16_t port)
{
	size_t i;

	for (i = 0; i < c->lim.n_server_ports; i++)
		if (c->lim.server_ports[i] == port)
			return 1;
	return 0;
}

static void flow_swap(struct flowi *fi)
{
	struct dec_flow *f = &fi->f;
	struct dec_dir t = f->dir[0];
	uint8_t a[16];
	uint16_t port = f->cport;
	size_t i;

	f->dir[0] = f->dir[1];
	f->dir[1] = t;
	memcpy(a, f->caddr, 16);
	memcpy(f->caddr, f->saddr, 16);
	memcpy(f->saddr, a, 16);
	f->cport = f->sport;
	f->sport = port;
	for (i = 0; i < f->nev; i++)
		f->ev[i].dir = (uint8_t)!f->ev[i].dir;
}

void dec_finish(struct dec_ctx *c)
{
	size_t i;
	int d;

	if (c->finished)
		return;
	c->finished = 1;
	for (i = 0; i < c->nflows; i++) {
		struct flowi *fi = c->flows[i];
		struct dec_flow *f = &fi->f;
		int client = fi->client;
		for (d = 0; d < 2; d++) {
			struct side *s = &fi->s[d];
			size_t k, at = f->dir[d].len;
			for (k = 0; k < s->npend; k++) {
				f->dir[d].gap_bytes += s->pend[k].off - at;
				at = s->pend[k].off + s->pend[k].len;
				c->bytes -= s->pend[k].len;
				free(s->pend[k].data);
			}
			if (s->npend || s->fin_pending)
				f->flags |= DEC_F_GAP | DEC_F_INCOMPLETE;
			free(s->pend);
			s->pend = NULL;
			s->npend = s->cpend = 0;
		}
		if (f->proto == 6 && !(f->flags & DEC_F_SYN))
			f->flags |= DEC_F_INCOMPLETE;
		if (client < 0 || f->proto == 17) {
			if (f->proto == 17 && !c->lim.n_server_ports)
				client = 0; /* UDP: the side that spoke first */
			else if (is_server_port(c, f->sport) && !is_server_port(c, f->cport))
				client = 0;
			else if (is_server_port(c, f->cport) && !is_server_port(c, f->sport))
				client = 1;
			else if (f->proto == 17)
				client = 0;
			else {
				/* TCP without a SYN: the lower port is most likely the server's. */
				client = f->cport < f->sport ? 1 : 0;
				f->flags |= DEC_F_GUESSED;
			}
		}
		if (client == 1)
			flow_swap(fi);
	}
}
