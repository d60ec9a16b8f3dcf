/* pcapw_frame.c - the pure part of the pcap writer (see pcapw.h): endpoints and pcapw_frame(), which
 * builds the frames pcapw_packet() stores. No libpcap, so a fuzz target builds the same frames in memory. */
#include "pcapw.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "decode.h"

#define PCAPW_L2 14u       /* Ethernet header */
#define PCAPW_MAXIP 65535u /* largest IP packet (IPv4 total length, IPv6 payload + 40) */

void pcapw_ep_v4(struct pcapw_ep *ep, uint32_t caddr, uint16_t cport, uint32_t saddr, uint16_t sport)
{
	memset(ep, 0, sizeof *ep);
	ep->family = 4;
	ep->caddr[0] = (uint8_t)(caddr >> 24);
	ep->caddr[1] = (uint8_t)(caddr >> 16);
	ep->caddr[2] = (uint8_t)(caddr >> 8);
	ep->caddr[3] = (uint8_t)caddr;
	ep->saddr[0] = (uint8_t)(saddr >> 24);
	ep->saddr[1] = (uint8_t)(saddr >> 16);
	ep->saddr[2] = (uint8_t)(saddr >> 8);
	ep->saddr[3] = (uint8_t)saddr;
	ep->cport = cport;
	ep->sport = sport;
}

static int sa_fill(const struct sockaddr *sa, int *family, uint8_t *addr, uint16_t *port)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
		*family = 4;
		memcpy(addr, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
		*family = 6;
		memcpy(addr, &s6->sin6_addr, 16);
		*port = ntohs(s6->sin6_port);
		return 0;
	}
	return -1;
}

int pcapw_ep_sockaddr(struct pcapw_ep *ep, const struct sockaddr *client, const struct sockaddr *server,
                      char *err, size_t errlen)
{
	int fc, fs;

	memset(ep, 0, sizeof *ep);
	if (sa_fill(client, &fc, ep->caddr, &ep->cport) < 0 ||
	    sa_fill(server, &fs, ep->saddr, &ep->sport) < 0) {
		snprintf(err, errlen, "pcapw: address family is not IPv4 or IPv6");
		return -1;
	}
	if (fc != fs) {
		snprintf(err, errlen, "pcapw: client and server address families differ");
		return -1;
	}
	ep->family = fc;
	return 0;
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* One's-complement sum of p[0..n) added to sum (not folded). */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)~sum;
}

/* IPv4 options (opt->ipopt) into o[0..40): returns their length, a multiple of 4. */
static size_t ip4_options(uint8_t *o, const struct pcapw_frame_opts *opt, const uint8_t *src)
{
	size_t n = 0;

	if (opt->ipopt & PCAPW_IPOPT_RA) {
		memcpy(o + n, "\x94\x04\0\0", 4); /* router alert, value 0 */
		n += 4;
	}
	if (opt->ipopt & PCAPW_IPOPT_RR) { /* record route: two slots, the first filled */
		memcpy(o + n, "\x07\x0b\x08", 3);
		memcpy(o + n + 3, src, 4);
		memset(o + n + 7, 0, 4);
		n += 11;
	}
	if (opt->ipopt & PCAPW_IPOPT_TS) { /* timestamps only, two slots, the first filled */
		memcpy(o + n, "\x44\x0c\x09\0", 4);
		put32(o + n + 4, opt->tsval);
		put32(o + n + 8, 0);
		n += 12;
	}
	while (n % 4)
		o[n++] = 0; /* EOL */
	return n;
}

/* The IPv6 extension headers (opt->ext) into o, the last naming proto: returns their length. A routing
 * header (type 0, no segments left) lists dst in every address slot, so it stays the final destination
 * of the TCP/UDP checksum. */
static size_t ip6_extensions(uint8_t *o, const struct pcapw_frame_opts *opt, int proto, uint16_t ipid,
                             const uint8_t *dst)
{
	size_t n = 0;

	for (size_t i = 0; i < opt->next; i++) {
		uint8_t type = opt->ext[i].type;
		size_t len = type == PCAPW_EXT_FRAG ? 8 : 8 + 8 * (size_t)opt->ext[i].len8;
		memset(o + n, 0, len);
		o[n] = i + 1 < opt->next ? opt->ext[i + 1].type : (uint8_t)proto;
		if (type == PCAPW_EXT_FRAG) {
			o[n + 3] = 1; /* offset 0, more fragments */
			put32(o + n + 4, ipid);
		} else {
			o[n + 1] = opt->ext[i].len8;
			if (type != PCAPW_EXT_ROUTING) { /* options: one PadN over the rest */
				o[n + 2] = 1;
				o[n + 3] = (uint8_t)(len - 4);
			}
			for (size_t at = 8; type == PCAPW_EXT_ROUTING && at + 16 <= len; at += 16)
				memcpy(o + n + at, dst, 16);
		}
		n += len;
	}
	return n;
}

/* TCP options (opt->tcpopt) into o[0..40): returns their length, a multiple of 4. */
static size_t tcp_options(uint8_t *o, const struct pcapw_frame_opts *opt, uint32_t ack)
{
	size_t n = 0;

	if (opt->tcpopt & PCAPW_TCPOPT_MSS) {
		memcpy(o + n, "\x02\x04", 2);
		put16(o + n + 2, opt->mss);
		n += 4;
	}
	if (opt->tcpopt & PCAPW_TCPOPT_SACKOK) {
		memcpy(o + n, "\x01\x01\x04\x02", 4);
		n += 4;
	}
	if (opt->tcpopt & PCAPW_TCPOPT_TS) {
		memcpy(o + n, "\x01\x01\x08\x0a", 4);
		put32(o + n + 4, opt->tsval);
		put32(o + n + 8, opt->tsecr);
		n += 12;
	}
	if (opt->tcpopt & PCAPW_TCPOPT_WSCALE) {
		memcpy(o + n, "\x01\x03\x03", 3);
		o[n + 3] = opt->wscale;
		n += 4;
	}
	if (opt->tcpopt & PCAPW_TCPOPT_SACK) { /* a block above the cumulative ACK */
		memcpy(o + n, "\x01\x01\x05\x0a", 4);
		put32(o + n + 4, ack + 1000);
		put32(o + n + 8, ack + 2000);
		n += 12;
	}
	return n;
}

/* The IP header with its options or extension headers (hdr of them, len bytes in all) before l4len
 * bytes of TCP/UDP. */
static size_t ip_header(uint8_t *ip, const struct pcapw_frame_spec *s, const uint8_t *src, const uint8_t *dst,
                        const uint8_t *hdr, size_t len, size_t l4len)
{
	if (s->ep->family == 4) {
		memset(ip, 0, 20);
		ip[0] = (uint8_t)(0x40 | (20 + len) / 4);
		put16(ip + 2, (unsigned)(20 + len + l4len));
		put16(ip + 4, s->ipid);
		put16(ip + 6, s->opt && s->opt->more_frags ? 0x2000 : 0x4000); /* MF, or DF */
		ip[8] = 64;
		ip[9] = (uint8_t)s->proto;
		memcpy(ip + 12, src, 4);
		memcpy(ip + 16, dst, 4);
		memcpy(ip + 20, hdr, len);
		put16(ip + 10, csum_fold(csum_add(0, ip, 20 + len)));
		return 20 + len;
	}
	memset(ip, 0, 40);
	ip[0] = 0x60;
	put16(ip + 4, (unsigned)(len + l4len));
	ip[6] = len ? s->opt->ext[0].type : (uint8_t)s->proto;
	ip[7] = 64;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	memcpy(ip + 40, hdr, len);
	return 40 + len;
}

int pcapw_frame(uint8_t *buf, size_t bufsize, int linktype, const struct pcapw_frame_spec *s,
                size_t *framelen, char *err, size_t errlen)
{
	static const struct pcapw_frame_opts none;
	const struct pcapw_frame_opts *opt = s->opt ? s->opt : &none;
	const struct pcapw_ep *ep = s->ep;
	const uint8_t *src = s->dir == PCAPW_C2S ? ep->caddr : ep->saddr;
	const uint8_t *dst = s->dir == PCAPW_C2S ? ep->saddr : ep->caddr;
	uint8_t iphdr[PCAPW_EXT_MAX * 2048], tcpopt[40];
	size_t l2 = linktype == PCAPW_EN10MB ? PCAPW_L2 : 0, iplen, toptlen = 0;
	size_t l4h, l4len, alen = ep->family == 6 ? 16 : 4;
	uint8_t *l4;
	uint32_t sum;
	uint16_t c;

	if ((s->proto != 6 && s->proto != 17) || (ep->family != 4 && ep->family != 6) ||
	    (linktype != PCAPW_EN10MB && linktype != PCAPW_RAW) || opt->next > PCAPW_EXT_MAX) {
		snprintf(err, errlen, "bad protocol %d, family %d, link type %d or %zu extension headers",
		         s->proto, ep->family, linktype, opt->next);
		return -1;
	}
	iplen = ep->family == 4 ? ip4_options(iphdr, opt, src)
	                        : ip6_extensions(iphdr, opt, s->proto, s->ipid, dst);
	if (s->proto == 6)
		toptlen = tcp_options(tcpopt, opt, s->ack);
	l4h = s->proto == 6 ? 20 + toptlen : 8;
	l4len = l4h + s->len;
	if ((ep->family == 4 && 20 + iplen + l4len > PCAPW_MAXIP) ||
	    (ep->family == 6 && iplen + l4len > PCAPW_MAXIP)) {
		snprintf(err, errlen, "payload of %zu bytes does not fit in one IPv%d packet", s->len,
		         ep->family);
		return -1;
	}
	iplen += ep->family == 6 ? 40 : 20;
	if (l2 + iplen + l4len > bufsize) {
		snprintf(err, errlen, "a frame of %zu bytes does not fit in a buffer of %zu",
		         l2 + iplen + l4len, bufsize);
		return -1;
	}
	if (l2) {
		static const uint8_t mac[2][6] = {{0x02, 0, 0, 0, 0, 1}, {0x02, 0, 0, 0, 0, 2}};
		memcpy(buf, mac[s->dir == PCAPW_C2S], 6);
		memcpy(buf + 6, mac[s->dir != PCAPW_C2S], 6);
		put16(buf + 12, ep->family == 6 ? 0x86dd : 0x0800);
	}
	l4 = buf + l2 + ip_header(buf + l2, s, src, dst, iphdr, iplen - (ep->family == 6 ? 40 : 20), l4len);
	memset(l4, 0, l4h);
	put16(l4, s->dir == PCAPW_C2S ? ep->cport : ep->sport);
	put16(l4 + 2, s->dir == PCAPW_C2S ? ep->sport : ep->cport);
	if (s->proto == 6) {
		put32(l4 + 4, s->seq);
		put32(l4 + 8, s->flags & PCAPW_ACK ? s->ack : 0);
		l4[12] = (uint8_t)(l4h / 4 << 4);
		l4[13] = (uint8_t)s->flags;
		put16(l4 + 14, 65535);
		memcpy(l4 + 20, tcpopt, toptlen);
	} else {
		put16(l4 + 4, (unsigned)l4len);
	}
	if (s->len)
		memcpy(l4 + l4h, s->data, s->len);
	/* Pseudo-header: addresses, protocol, L4 length. */
	sum = csum_add(0, src, alen);
	sum = csum_add(sum, dst, alen);
	sum += (uint32_t)s->proto + (uint32_t)(l4len & 0xffff) + (uint32_t)(l4len >> 16);
	sum = csum_add(sum, l4, l4len);
	c = csum_fold(sum);
	if (s->proto == 17 && c == 0)
		c = 0xffff; /* UDP: 0 means "no checksum" */
	put16(l4 + (s->proto == 6 ? 16 : 6), c);
	*framelen = l2 + iplen + l4len;
	return 0;
}

int pcapw_note_frame(uint8_t *buf, size_t bufsize, int linktype, const char *text, size_t *framelen,
                     char *err, size_t errlen)
{
	size_t l2 = linktype == PCAPW_EN10MB ? PCAPW_L2 : 0, n = strlen(text), i;
	uint8_t *ip;

	if ((linktype != PCAPW_EN10MB && linktype != PCAPW_RAW) ||
	    strncmp(text, DEC_NOTE_PREFIX, sizeof DEC_NOTE_PREFIX - 1) != 0 || n >= DEC_NOTE_MAX) {
		snprintf(err, errlen,
		         "bad link type %d, or a note that does not start with \"%s\" or is "
		         "longer than %d bytes",
		         linktype, DEC_NOTE_PREFIX, DEC_NOTE_MAX - 1);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (text[i] < 0x20 || text[i] > 0x7e) {
			snprintf(err, errlen, "a note must be printable ASCII (byte %zu is not)", i);
			return -1;
		}
	if (l2 + 20 + n > bufsize) {
		snprintf(err, errlen, "a frame of %zu bytes does not fit in a buffer of %zu", l2 + 20 + n,
		         bufsize);
		return -1;
	}
	if (l2) {
		memset(buf, 0, 12);
		buf[0] = buf[6] = 0x02;
		put16(buf + 12, 0x0800);
	}
	ip = buf + l2;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, (unsigned)(20 + n));
	put16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = DEC_NOTE_PROTO;
	ip[12] = ip[16] = 127;
	ip[15] = ip[19] = 1;
	put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	memcpy(ip + 20, text, n);
	*framelen = l2 + 20 + n;
	return 0;
}
