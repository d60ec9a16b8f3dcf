/* decode.c - pure frame decoding and TCP/UDP flow reassembly for bin/replay (see decode.h). */
#include "decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Bounds-checked reads: every offset and length in a frame is hostile --------------------------- */

struct rd {
	const uint8_t *p;
	size_t n; /* bytes readable */
};

static int rd_u8(const struct rd *r, size_t off, unsigned *v)
{
	if (off >= r->n)
		return -1;
	*v = r->p[off];
	return 0;
}

static int rd_u16(const struct rd *r, size_t off, unsigned *v)
{
	if (off > r->n || r->n - off < 2)
		return -1;
	*v = (unsigned)r->p[off] << 8 | r->p[off + 1];
	return 0;
}

static int rd_u32(const struct rd *r, size_t off, uint32_t *v)
{
	if (off > r->n || r->n - off < 4)
		return -1;
	*v = (uint32_t)r->p[off] << 24 | (uint32_t)r->p[off + 1] << 16 | (uint32_t)r->p[off + 2] << 8 |
	     r->p[off + 3];
	return 0;
}

static int rd_bytes(const struct rd *r, size_t off, size_t len, uint8_t *out)
{
	if (off > r->n || r->n - off < len)
		return -1;
	memcpy(out, r->p + off, len);
	return 0;
}

/* ---- Link types ------------------------------------------------------------------------------------- */

int dec_link_supported(int lt)
{
	switch (lt) {
	case DEC_LINK_NULL:
	case DEC_LINK_EN10MB:
	case DEC_LINK_RAW_BSD:
	case DEC_LINK_RAW_OPENBSD:
	case DEC_LINK_RAW:
	case DEC_LINK_LOOP:
	case DEC_LINK_LINUX_SLL:
	case DEC_LINK_IPV4:
	case DEC_LINK_IPV6:
	case DEC_LINK_LINUX_SLL2:
		return 1;
	default:
		return 0;
	}
}

const char *dec_link_name(int lt)
{
	switch (lt) {
	case DEC_LINK_NULL:
		return "NULL";
	case DEC_LINK_EN10MB:
		return "EN10MB";
	case DEC_LINK_RAW_BSD:
	case DEC_LINK_RAW_OPENBSD:
	case DEC_LINK_RAW:
		return "RAW";
	case DEC_LINK_LOOP:
		return "LOOP";
	case DEC_LINK_LINUX_SLL:
		return "LINUX_SLL";
	case DEC_LINK_IPV4:
		return "IPV4";
	case DEC_LINK_IPV6:
		return "IPV6";
	case DEC_LINK_LINUX_SLL2:
		return "LINUX_SLL2";
	default:
		return "unknown";
	}
}

enum { NET_NONE = 0, NET_V4 = 4, NET_V6 = 6, NET_BYVERSION = 1 };

/* BSD AF_ values for the NULL/LOOP headers: AF_INET is 2 everywhere, AF_INET6 differs by system. */
static int af_to_net(uint32_t af)
{
	if (af == 2)
		return NET_V4;
	if (af == 10 || af == 24 || af == 28 || af == 30)
		return NET_V6;
	return NET_NONE;
}

static int ethertype_to_net(unsigned et)
{
	return et == 0x0800 ? NET_V4 : et == 0x86dd ? NET_V6 : NET_NONE;
}

/* Finds the network layer: sets *off to its start and returns NET_V4/NET_V6/NET_BYVERSION, NET_NONE
 * (not IP: skip), or -1 (truncated link header, reason in err). */
static int link_layer(int lt, const struct rd *r, size_t *off, char *err, size_t errlen)
{
	unsigned et, tags;
	uint32_t af;

	switch (lt) {
	case DEC_LINK_RAW_BSD:
	case DEC_LINK_RAW_OPENBSD:
	case DEC_LINK_RAW:
		*off = 0;
		return NET_BYVERSION;
	case DEC_LINK_IPV4:
		*off = 0;
		return NET_V4;
	case DEC_LINK_IPV6:
		*off = 0;
		return NET_V6;
	case DEC_LINK_NULL:
	case DEC_LINK_LOOP:
		if (rd_u32(r, 0, &af) < 0)
			goto trunc;
		*off = 4;
		if (lt == DEC_LINK_LOOP)
			return af_to_net(af);
		/* NULL stores the AF in the capturing host's byte order, which the file does not say. */
		if (af_to_net(af) != NET_NONE)
			return af_to_net(af);
		return af_to_net((af >> 24) | (af >> 8 & 0xff00u) | (af << 8 & 0xff0000u) | (af << 24));
	case DEC_LINK_EN10MB:
		if (rd_u16(r, 12, &et) < 0)
			goto trunc;
		*off = 14;
		for (tags = 0; et == 0x8100 || et == 0x88a8 || et == 0x9100; tags++) {
			if (tags == 8) {
				snprintf(err, errlen, "more than 8 VLAN tags");
				return -1;
			}
			if (rd_u16(r, *off + 2, &et) < 0)
				goto trunc;
			*off += 4;
		}
		return ethertype_to_net(et);
	case DEC_LINK_LINUX_SLL:
		if (rd_u16(r, 14, &et) < 0)
			goto trunc;
		*off = 16;
		return ethertype_to_net(et);
	case DEC_LINK_LINUX_SLL2:
		if (rd_u16(r, 0, &et) < 0 || r->n < 20)
			goto trunc;
		*off = 20;
		return ethertype_to_net(et);
	default:
		snprintf(err, errlen, "unsupported link type %d", lt);
		return -2;
	}
trunc:
	snprintf(err, errlen, "truncated %s header (%zu bytes captured)", dec_link_name(lt), r->n);
	return -1;
}

/* Decodes TCP or UDP at r[off..): l4wire is the L4 length the IP header gives, l4cap what was captured
 * of it (<= l4wire). */
static int transport(const struct rd *r, size_t off, size_t l4wire, struct dec_pkt *p, char *err,
                     size_t errlen)
{
	struct rd l4;
	size_t l4cap;
	unsigned v, doff, win;

	if (off > r->n) {
		/* IPv6 extension headers can end beyond the captured bytes. */
		snprintf(err, errlen, "truncated %s header at frame offset %zu (%zu bytes captured)",
		         p->proto == 6 ? "TCP" : "UDP", off, r->n);
		return DEC_EMALFORMED;
	}
	l4cap = r->n - off < l4wire ? r->n - off : l4wire;
	l4.p = r->p + off;
	l4.n = l4cap;
	if (p->proto == 6) {
		if (l4wire < 20) {
			snprintf(err, errlen, "IP payload of %zu bytes is shorter than a TCP header", l4wire);
			return DEC_EMALFORMED;
		}
		if (rd_u32(&l4, 4, &p->seq) < 0 || rd_u32(&l4, 8, &p->ack) < 0 || rd_u8(&l4, 12, &doff) < 0 ||
		    rd_u8(&l4, 13, &v) < 0 || rd_u16(&l4, 14, &win) < 0)
			goto trunc;
		p->tcpflags = (uint8_t)v;
		p->win = (uint16_t)win;
		doff = (doff >> 4) * 4;
		if (doff < 20) {
			snprintf(err, errlen, "TCP data offset %u < 20 at frame offset %zu", doff, off + 12);
			return DEC_EMALFORMED;
		}
		if (doff > l4wire) {
			snprintf(err, errlen, "TCP data offset %u beyond the IP payload of %zu bytes", doff,
			         l4wire);
			return DEC_EMALFORMED;
		}
		if (doff > l4cap)
			goto trunc;
		p->len = l4wire - doff;
		p->caplen = l4cap - doff;
		p->payload = l4.p + doff;
	} else {
		unsigned ulen;
		if (l4wire < 8) {
			snprintf(err, errlen, "IP payload of %zu bytes is shorter than a UDP header", l4wire);
			return DEC_EMALFORMED;
		}
		if (rd_u16(&l4, 4, &ulen) < 0)
			goto trunc;
		if (ulen < 8 || ulen > l4wire) {
			snprintf(err, errlen, "UDP length %u outside 8..%zu at frame offset %zu", ulen,
			         l4wire, off + 4);
			return DEC_EMALFORMED;
		}
		if (l4cap < 8)
			goto trunc;
		p->len = ulen - 8;
		p->caplen = l4cap - 8 < p->len ? l4cap - 8 : p->len;
		p->payload = l4.p + 8;
	}
	if (rd_u16(&l4, 0, &v) < 0)
		goto trunc;
	p->sport = (uint16_t)v;
	if (rd_u16(&l4, 2, &v) < 0)
		goto trunc;
	p->dport = (uint16_t)v;
	return DEC_OK;
trunc:
	snprintf(err, errlen, "truncated %s header at frame offset %zu (%zu bytes captured)",
	         p->proto == 6 ? "TCP" : "UDP", off, l4cap);
	return DEC_EMALFORMED;
}

static unsigned be16(const uint8_t *b)
{
	return (unsigned)b[0] << 8 | b[1];
}

/* The fixed part of the IPv4 (version 4: 20 bytes, addresses from byte 12) or IPv6 (version 6: 40
 * bytes, addresses from byte 8) header at off: checks that it is captured whole and of that version,
 * and copies the source and destination addresses into p. 0, or DEC_EMALFORMED with the reason. */
static int ip_fixed_header(const struct rd *r, size_t off, unsigned version, struct dec_pkt *p, char *err,
                           size_t errlen)
{
	size_t addr_len = version == 4 ? 4 : 16, addr_at = version == 4 ? 12 : 8;
	unsigned first;

	if (rd_u8(r, off, &first) < 0 || rd_bytes(r, off + addr_at, addr_len, p->src) < 0 ||
	    rd_bytes(r, off + addr_at + addr_len, addr_len, p->dst) < 0) {
		snprintf(err, errlen, "truncated IPv%u header at frame offset %zu (%zu bytes captured)",
		         version, off, r->n - off);
		return DEC_EMALFORMED;
	}
	if (first >> 4 != version) {
		snprintf(err, errlen, "IP version %u in an IPv%u header at frame offset %zu", first >> 4,
		         version, off);
		return DEC_EMALFORMED;
	}
	return 0;
}

static int ipv4(const struct rd *r, size_t off, struct dec_pkt *p, char *err, size_t errlen)
{
	int rc = ip_fixed_header(r, off, 4, p, err, errlen);
	const uint8_t *h;
	unsigned tot, frag, proto, id;
	size_t ihl, avail = r->n - off;

	if (rc != 0)
		return rc;
	h = r->p + off; /* its 20 fixed bytes are captured */
	tot = be16(h + 2);
	id = be16(h + 4);
	frag = be16(h + 6);
	proto = h[9];
	ihl = (h[0] & 15u) * 4;
	if (ihl < 20) {
		snprintf(err, errlen, "IPv4 header length %zu < 20 at frame offset %zu", ihl, off);
		return DEC_EMALFORMED;
	}
	if (tot == 0) /* TSO on the capturing host: the length is what was captured */
		tot = avail > 65535 ? 65535 : (unsigned)avail;
	if (tot < ihl) {
		snprintf(err, errlen, "IPv4 total length %u < header length %zu at frame offset %zu", tot,
		         ihl, off);
		return DEC_EMALFORMED;
	}
	if (ihl > avail) {
		snprintf(err, errlen, "truncated IPv4 options at frame offset %zu", off);
		return DEC_EMALFORMED;
	}
	p->family = 4;
	p->ipid = (uint16_t)id;
	if ((frag & 0x3fffu) != 0) {
		snprintf(err, errlen, "IPv4 fragment");
		return DEC_SKIP;
	}
	if (proto != 6 && proto != 17) {
		snprintf(err, errlen, "IPv4 protocol %u is neither TCP nor UDP", proto);
		return DEC_SKIP;
	}
	p->proto = (uint8_t)proto;
	return transport(r, off + ihl, tot - ihl, p, err, errlen);
}

static int ipv6(const struct rd *r, size_t off, struct dec_pkt *p, char *err, size_t errlen)
{
	int rc = ip_fixed_header(r, off, 6, p, err, errlen);
	unsigned v, nh, plen, n;
	size_t avail = r->n - off, hoff;

	if (rc != 0)
		return rc;
	plen = be16(r->p + off + 4); /* the 40 fixed bytes are captured */
	nh = r->p[off + 6];
	if (plen == 0) /* jumbogram or TSO: use what was captured */
		plen = avail - 40 > 65535 ? 65535 : (unsigned)(avail - 40);
	p->family = 6;
	hoff = 40;
	for (n = 0;; n++) {
		unsigned hl;
		if (nh == 6 || nh == 17)
			break;
		if (nh == 44) {
			snprintf(err, errlen, "IPv6 fragment");
			return DEC_SKIP;
		}
		if ((nh != 0 && nh != 43 && nh != 60) || n == 8) {
			snprintf(err, errlen, "IPv6 next header %u is neither TCP nor UDP", nh);
			return DEC_SKIP;
		}
		if (rd_u8(r, off + hoff, &v) < 0 || rd_u8(r, off + hoff + 1, &hl) < 0) {
			snprintf(err, errlen, "truncated IPv6 extension header at frame offset %zu",
			         off + hoff);
			return DEC_EMALFORMED;
		}
		nh = v;
		hoff += (hl + 1) * 8;
		if (hoff - 40 > plen) {
			snprintf(err, errlen, "IPv6 extension headers exceed the payload length %u", plen);
			return DEC_EMALFORMED;
		}
	}
	p->proto = (uint8_t)nh;
	return transport(r, off + hoff, plen - (hoff - 40), p, err, errlen);
}

int dec_frame(int lt, const uint8_t *buf, size_t caplen, size_t wirelen, uint64_t ts_ns, struct dec_pkt *p,
              char *err, size_t errlen)
{
	struct rd r;
	size_t off = 0;
	int net;
	unsigned v;

	(void)wirelen; /* the IP lengths say how much was cut; wirelen adds nothing they do not */
	memset(p, 0, sizeof *p);
	p->ts_ns = ts_ns;
	r.p = buf;
	r.n = buf ? caplen : 0;
	net = link_layer(lt, &r, &off, err, errlen);
	if (net == -2)
		return DEC_ELINK;
	if (net < 0)
		return DEC_EMALFORMED;
	if (net == NET_NONE) {
		snprintf(err, errlen, "not an IP packet");
		return DEC_SKIP;
	}
	if (net == NET_BYVERSION) {
		if (rd_u8(&r, off, &v) < 0) {
			snprintf(err, errlen, "empty RAW frame");
			return DEC_EMALFORMED;
		}
		net = v >> 4;
		if (net != 4 && net != 6) {
			snprintf(err, errlen, "IP version %d in a RAW frame", net);
			return DEC_EMALFORMED;
		}
	}
	return net == NET_V4 ? ipv4(&r, off, p, err, errlen) : ipv6(&r, off, p, err, errlen);
}

/* ---- Flow table and reassembly ------------------------------------------------------------------- */

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
