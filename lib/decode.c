/* decode.c - pure frame decoding for bin/replay (see decode.h): the table of link types, then IPv4/IPv6
 * and TCP/UDP headers. Reassembly is in decode_flows.c. */
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

/* ---- Link types: one row each, the only place that knows their numbers --------------------------- */

/* BSD AF_ values for the NULL/LOOP headers: AF_INET is 2 everywhere, AF_INET6 differs by system. */
static int af_to_net(uint32_t af)
{
	if (af == 2)
		return DEC_NET_V4;
	if (af == 10 || af == 24 || af == 28 || af == 30)
		return DEC_NET_V6;
	return DEC_NET_NONE;
}

static int ethertype_to_net(unsigned et)
{
	return et == 0x0800 ? DEC_NET_V4 : et == 0x86dd ? DEC_NET_V6 : DEC_NET_NONE;
}

static unsigned ethertype_of(int family)
{
	return family == 6 ? 0x86dd : 0x0800;
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static int truncated(const char *name, size_t caplen, char *err, size_t errlen)
{
	snprintf(err, errlen, "truncated %s header (%zu bytes captured)", name, caplen);
	return -1;
}

/* The header of most link types: header_len bytes, with the network layer named by the field at
 * field_at, or by nothing (raw IP: the first byte's version, or the one the link type carries). */
static int plain_parse(const struct dec_link_type *t, const uint8_t *frame, size_t caplen, size_t *net_off,
                       char *err, size_t errlen)
{
	const struct rd r = {frame, caplen};
	unsigned et;
	uint32_t af;

	if (caplen < t->header_len)
		return truncated(t->name, caplen, err, errlen);
	*net_off = t->header_len;
	switch (t->field) {
	case DEC_FIELD_ETHERTYPE:
		return rd_u16(&r, t->field_at, &et) < 0 ? truncated(t->name, caplen, err, errlen)
		                                        : ethertype_to_net(et);
	case DEC_FIELD_AF:
	case DEC_FIELD_AF_EITHER_ORDER:
		if (rd_u32(&r, t->field_at, &af) < 0)
			return truncated(t->name, caplen, err, errlen);
		if (t->field == DEC_FIELD_AF || af_to_net(af) != DEC_NET_NONE)
			return af_to_net(af);
		return af_to_net((af >> 24) | (af >> 8 & 0xff00u) | (af << 8 & 0xff0000u) | (af << 24));
	default:
		return t->family ? t->family : DEC_NET_BYVERSION;
	}
}

static int plain_build(const struct dec_link_type *t, uint8_t *out, int family, unsigned variant)
{
	(void)variant;
	memset(out, 0, t->header_len);
	if (t->field == DEC_FIELD_ETHERTYPE)
		put16(out + t->field_at, ethertype_of(family));
	else if (t->field == DEC_FIELD_AF)
		out[t->field_at + 3] = family == 6 ? 24 : 2; /* AF_INET6 of OpenBSD */
	else if (t->field == DEC_FIELD_AF_EITHER_ORDER)
		out[t->field_at] = family == 6 ? 30 : 2; /* a little-endian host; AF_INET6 of macOS */
	return (int)t->header_len;
}

/* Ethernet, with any number of 802.1Q / 802.1ad tags up to 8 between the addresses and the EtherType. */
static int en10mb_parse(const struct dec_link_type *t, const uint8_t *frame, size_t caplen, size_t *net_off,
                        char *err, size_t errlen)
{
	const struct rd r = {frame, caplen};
	unsigned et, tags;

	if (rd_u16(&r, t->field_at, &et) < 0)
		return truncated(t->name, caplen, err, errlen);
	*net_off = t->header_len;
	for (tags = 0; et == 0x8100 || et == 0x88a8 || et == 0x9100; tags++) {
		if (tags == 8) {
			snprintf(err, errlen, "more than 8 VLAN tags");
			return -1;
		}
		if (rd_u16(&r, *net_off + 2, &et) < 0)
			return truncated(t->name, caplen, err, errlen);
		*net_off += 4;
	}
	return ethertype_to_net(et);
}

/* Variant 0: no tag; 1: an 802.1Q tag; 2: an 802.1ad tag, then an 802.1Q one. */
static int en10mb_build(const struct dec_link_type *t, uint8_t *out, int family, unsigned variant)
{
	static const uint8_t macs[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};
	size_t n = t->field_at;

	memcpy(out, macs, sizeof macs);
	if (variant == 2) {
		put16(out + n, 0x88a8);
		put16(out + n + 2, 100);
		n += 4;
	}
	if (variant >= 1) {
		put16(out + n, 0x8100);
		put16(out + n + 2, 7);
		n += 4;
	}
	put16(out + n, ethertype_of(family));
	return (int)n + 2;
}

/* The numbers are libpcap's: DLT_* as pcap_datalink() reports them, LINKTYPE_* as files store them. Raw
 * IP has three: LINKTYPE_RAW (the first, which writers store), DLT_RAW on most systems and on OpenBSD.
 * A name is listed once, at its first row. NULL holds the AF in the capturing host's byte order, which
 * the file does not say; LOOP in network order. */
/* clang-format off */
const struct dec_link_type dec_link_types[] = {
    {.number = 1,   .name = "EN10MB",     .header_len = 14, .field = DEC_FIELD_ETHERTYPE, .field_at = 12,
     .parse = en10mb_parse, .build = en10mb_build, .variants = 2},
    {.number = 101, .name = "RAW"},
    {.number = 12,  .name = "RAW"},
    {.number = 14,  .name = "RAW"},
    {.number = 0,   .name = "NULL",       .header_len = 4,  .field = DEC_FIELD_AF_EITHER_ORDER},
    {.number = 108, .name = "LOOP",       .header_len = 4,  .field = DEC_FIELD_AF},
    {.number = 113, .name = "LINUX_SLL",  .header_len = 16, .field = DEC_FIELD_ETHERTYPE, .field_at = 14},
    {.number = 276, .name = "LINUX_SLL2", .header_len = 20, .field = DEC_FIELD_ETHERTYPE, .field_at = 0},
    {.number = 228, .name = "IPV4",       .family = 4},
    {.number = 229, .name = "IPV6",       .family = 6},
};
/* clang-format on */
const size_t dec_link_ntypes = sizeof dec_link_types / sizeof dec_link_types[0];

int dec_link_parse(const struct dec_link_type *t, const uint8_t *frame, size_t caplen, size_t *net_off,
                   char *err, size_t errlen)
{
	return (t->parse ? t->parse : plain_parse)(t, frame, caplen, net_off, err, errlen);
}

int dec_link_build(const struct dec_link_type *t, uint8_t *out, int family, unsigned variant)
{
	if ((t->family && t->family != family) || variant > t->variants)
		return -1;
	return (t->build ? t->build : plain_build)(t, out, family, variant);
}

const struct dec_link_type *dec_link_find(int lt)
{
	for (size_t i = 0; i < dec_link_ntypes; i++)
		if (dec_link_types[i].number == lt)
			return &dec_link_types[i];
	return NULL;
}

const struct dec_link_type *dec_link_named(const char *name)
{
	for (size_t i = 0; i < dec_link_ntypes; i++)
		if (strcmp(dec_link_types[i].name, name) == 0)
			return &dec_link_types[i];
	return NULL;
}

int dec_link_supported(int lt)
{
	return dec_link_find(lt) != NULL;
}

const char *dec_link_name(int lt)
{
	const struct dec_link_type *t = dec_link_find(lt);

	return t ? t->name : "unknown";
}

const char *dec_link_list(char *buf, size_t len)
{
	size_t used = 0;

	if (len)
		buf[0] = 0;
	for (size_t i = 0; i < dec_link_ntypes; i++) {
		const char *name = dec_link_types[i].name;
		int k;
		if (dec_link_named(name) != &dec_link_types[i])
			continue; /* listed at its first row */
		k = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", name);
		if (k < 0 || (size_t)k >= len - used) {
			buf[used] = 0; /* no half name */
			break;
		}
		used += (size_t)k;
	}
	return buf;
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
	const struct dec_link_type *link = dec_link_find(lt);
	struct rd r;
	size_t off = 0;
	int net;
	unsigned v;

	(void)wirelen; /* the IP lengths say how much was cut; wirelen adds nothing they do not */
	memset(p, 0, sizeof *p);
	p->ts_ns = ts_ns;
	r.p = buf;
	r.n = buf ? caplen : 0;
	if (!link) {
		snprintf(err, errlen, "unsupported link type %d", lt);
		return DEC_ELINK;
	}
	net = dec_link_parse(link, r.p, r.n, &off, err, errlen);
	if (net < 0)
		return DEC_EMALFORMED;
	if (net == DEC_NET_NONE) {
		snprintf(err, errlen, "not an IP packet");
		return DEC_SKIP;
	}
	if (net == DEC_NET_BYVERSION) {
		if (rd_u8(&r, off, &v) < 0) {
			snprintf(err, errlen, "empty RAW frame");
			return DEC_EMALFORMED;
		}
		net = (int)(v >> 4);
		if (net != 4 && net != 6) {
			snprintf(err, errlen, "IP version %d in a RAW frame", net);
			return DEC_EMALFORMED;
		}
	}
	return net == DEC_NET_V4 ? ipv4(&r, off, p, err, errlen) : ipv6(&r, off, p, err, errlen);
}

int dec_note(int lt, const uint8_t *buf, size_t caplen, char *text, size_t textlen, char *err, size_t errlen)
{
	static const uint8_t loopback[4] = {127, 0, 0, 1};
	const struct dec_link_type *link = dec_link_find(lt);
	const struct rd r = {buf, buf ? caplen : 0};
	size_t off = 0, ihl, n, plen = sizeof DEC_NOTE_PREFIX - 1, i;
	unsigned v, tot;
	int net;

	if (!link || !textlen)
		return 0;
	net = dec_link_parse(link, r.p, r.n, &off, err, errlen);
	if ((net != DEC_NET_V4 && net != DEC_NET_BYVERSION) || rd_u8(&r, off, &v) < 0 || v >> 4 != 4 ||
	    r.n - off < 20 || r.p[off + 9] != DEC_NOTE_PROTO || memcmp(r.p + off + 12, loopback, 4) != 0 ||
	    memcmp(r.p + off + 16, loopback, 4) != 0)
		return 0;
	ihl = (v & 15u) * 4;
	tot = be16(r.p + off + 2);
	if (ihl < 20 || tot < ihl || ihl > r.n - off)
		return 0;
	n = tot - ihl;
	if (n < plen || memcmp(r.p + off + ihl, DEC_NOTE_PREFIX, plen) != 0 ||
	    (n > plen && r.p[off + ihl + plen] != ' '))
		return 0;
	if (tot > r.n - off) {
		snprintf(err, errlen, "a capslock note cut by the snap length (%zu of its %u bytes captured)",
		         r.n - off, tot);
		return -1;
	}
	if (n >= DEC_NOTE_MAX || n >= textlen) {
		snprintf(err, errlen, "a capslock note of %zu bytes (at most %d)", n, DEC_NOTE_MAX - 1);
		return -1;
	}
	for (i = 0; i < n; i++) {
		uint8_t c = r.p[off + ihl + i];
		if (c < 0x20 || c > 0x7e) {
			snprintf(err, errlen,
			         "a capslock note with byte 0x%02x at offset %zu (not printable ASCII)", c,
			         i);
			return -1;
		}
		text[i] = (char)c;
	}
	text[n] = 0;
	return 1;
}

int dec_note_get(const char *text, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key);
	const char *p = text;

	while ((p = strchr(p, ' ')) != NULL) {
		const char *w = ++p, *end = strchr(w, ' ');
		size_t wlen = end ? (size_t)(end - w) : strlen(w);
		if (wlen > klen && strncmp(w, key, klen) == 0 && w[klen] == '=') {
			snprintf(out, outlen, "%.*s", (int)(wlen - klen - 1), w + klen + 1);
			return 1;
		}
	}
	return 0;
}
