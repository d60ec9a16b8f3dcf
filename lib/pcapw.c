/* pcapw.c - writes pcap files of synthesized TCP flows and UDP datagrams with libpcap (see pcapw.h). */
#include "pcapw.h"

#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCAPW_L2 14u       /* Ethernet header */
#define PCAPW_MAXIP 65535u /* largest IP packet (IPv4 total length, IPv6 payload + 40) */
#define PCAPW_BUF (PCAPW_L2 + 40u + 65535u)

struct pcapw {
	pcap_t *p;
	pcap_dumper_t *d;
	int linktype;
	int nano;
	uint16_t ipid;
	uint64_t count;
	char path[256];
	uint8_t buf[PCAPW_BUF];
};

struct pcapw *pcapw_open(const char *path, int linktype, int nano, char *err, size_t errlen)
{
	struct pcapw *w;
	int dlt;

	if (linktype == PCAPW_EN10MB)
		dlt = DLT_EN10MB;
	else if (linktype == PCAPW_RAW)
		dlt = DLT_RAW;
	else {
		snprintf(err, errlen, "%s: unsupported link type %d for writing", path, linktype);
		return NULL;
	}
	w = calloc(1, sizeof *w);
	if (!w) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	w->linktype = linktype;
	w->nano = nano;
	w->ipid = 1;
	snprintf(w->path, sizeof w->path, "%s", path);
	w->p = pcap_open_dead_with_tstamp_precision(
	    dlt, (int)PCAPW_BUF, nano ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO);
	if (!w->p) {
		snprintf(err, errlen, "%s: pcap_open_dead failed", path);
		free(w);
		return NULL;
	}
	w->d = pcap_dump_open(w->p, path);
	if (!w->d) {
		snprintf(err, errlen, "%s: %s", path, pcap_geterr(w->p));
		pcap_close(w->p);
		free(w);
		return NULL;
	}
	return w;
}

int pcapw_close(struct pcapw *w, char *err, size_t errlen)
{
	int rc = 0;

	if (!w)
		return 0;
	if (pcap_dump_flush(w->d) != 0 || ferror(pcap_dump_file(w->d))) {
		snprintf(err, errlen, "%s: write error", w->path);
		rc = -1;
	}
	pcap_dump_close(w->d);
	pcap_close(w->p);
	free(w);
	return rc;
}

uint64_t pcapw_count(const struct pcapw *w)
{
	return w->count;
}

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

int pcapw_packet(struct pcapw *w, const struct pcapw_ep *ep, int dir, int proto, uint32_t seq, uint32_t ack,
                 unsigned flags, const void *data, size_t len, uint64_t ts_ns, char *err, size_t errlen)
{
	const uint8_t *src = dir == PCAPW_C2S ? ep->caddr : ep->saddr;
	const uint8_t *dst = dir == PCAPW_C2S ? ep->saddr : ep->caddr;
	unsigned sport = dir == PCAPW_C2S ? ep->cport : ep->sport;
	unsigned dport = dir == PCAPW_C2S ? ep->sport : ep->cport;
	size_t l2 = w->linktype == PCAPW_EN10MB ? PCAPW_L2 : 0;
	size_t iph = ep->family == 6 ? 40 : 20;
	size_t l4h = proto == 6 ? 20 : 8;
	size_t l4len = l4h + len, alen = ep->family == 6 ? 16 : 4;
	uint8_t *ip = w->buf + l2, *l4 = ip + iph;
	struct pcap_pkthdr h;
	uint32_t sum;

	if ((proto != 6 && proto != 17) || (ep->family != 4 && ep->family != 6)) {
		snprintf(err, errlen, "%s: bad protocol %d or family %d", w->path, proto, ep->family);
		return -1;
	}
	if ((ep->family == 4 && iph + l4len > PCAPW_MAXIP) || (ep->family == 6 && l4len > PCAPW_MAXIP)) {
		snprintf(err, errlen, "%s: payload of %zu bytes does not fit in one IPv%d packet", w->path,
		         len, ep->family);
		return -1;
	}
	if (l2) {
		static const uint8_t mac[2][6] = {{0x02, 0, 0, 0, 0, 1}, {0x02, 0, 0, 0, 0, 2}};
		memcpy(w->buf, mac[dir == PCAPW_C2S], 6);
		memcpy(w->buf + 6, mac[dir != PCAPW_C2S], 6);
		put16(w->buf + 12, ep->family == 6 ? 0x86dd : 0x0800);
	}
	if (ep->family == 4) {
		memset(ip, 0, 20);
		ip[0] = 0x45;
		put16(ip + 2, (unsigned)(20 + l4len));
		put16(ip + 4, w->ipid++);
		put16(ip + 6, 0x4000); /* DF */
		ip[8] = 64;
		ip[9] = (uint8_t)proto;
		memcpy(ip + 12, src, 4);
		memcpy(ip + 16, dst, 4);
		put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	} else {
		memset(ip, 0, 40);
		ip[0] = 0x60;
		put16(ip + 4, (unsigned)l4len);
		ip[6] = (uint8_t)proto;
		ip[7] = 64;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
	}
	memset(l4, 0, l4h);
	put16(l4, sport);
	put16(l4 + 2, dport);
	if (proto == 6) {
		put32(l4 + 4, seq);
		put32(l4 + 8, flags & PCAPW_ACK ? ack : 0);
		l4[12] = 5 << 4;
		l4[13] = (uint8_t)flags;
		put16(l4 + 14, 65535);
	} else {
		put16(l4 + 4, (unsigned)l4len);
	}
	if (len)
		memcpy(l4 + l4h, data, len);
	/* Pseudo-header: addresses, protocol, L4 length. */
	sum = csum_add(0, src, alen);
	sum = csum_add(sum, dst, alen);
	sum += (uint32_t)proto + (uint32_t)(l4len & 0xffff) + (uint32_t)(l4len >> 16);
	sum = csum_add(sum, l4, l4len);
	{
		uint16_t c = csum_fold(sum);
		if (proto == 17 && c == 0)
			c = 0xffff; /* UDP: 0 means "no checksum" */
		put16(l4 + (proto == 6 ? 16 : 6), c);
	}
	memset(&h, 0, sizeof h);
	h.ts.tv_sec = (time_t)(ts_ns / 1000000000u);
	h.ts.tv_usec = (suseconds_t)(w->nano ? ts_ns % 1000000000u : ts_ns % 1000000000u / 1000u);
	h.caplen = h.len = (bpf_u_int32)(l2 + iph + l4len);
	pcap_dump((u_char *)w->d, &h, w->buf);
	w->count++;
	return 0;
}

int pcapw_udp(struct pcapw *w, const struct pcapw_ep *ep, int dir, const void *data, size_t len,
              uint64_t ts_ns, char *err, size_t errlen)
{
	return pcapw_packet(w, ep, dir, 17, 0, 0, 0, data, len, ts_ns, err, errlen);
}

void pcapw_tcp_init(struct pcapw_tcp *f, struct pcapw *w, const struct pcapw_ep *ep, uint64_t ts_ns)
{
	memset(f, 0, sizeof *f);
	f->w = w;
	f->ep = *ep;
	f->isn[PCAPW_C2S] = 0x10000000u + (uint32_t)ep->cport * 7919u;
	f->isn[PCAPW_S2C] = 0x80000000u + (uint32_t)ep->sport * 104729u + (uint32_t)ep->cport;
	f->nxt[0] = f->isn[0];
	f->nxt[1] = f->isn[1];
	f->ts_ns = ts_ns;
	f->step_ns = 10000;
	f->mss = 65483;
	f->ack_data = 1;
}

static int seg(struct pcapw_tcp *f, int dir, unsigned flags, const void *data, size_t len, char *err,
               size_t errlen)
{
	int rc = pcapw_packet(f->w, &f->ep, dir, 6, f->nxt[dir], f->nxt[!dir], flags, data, len, f->ts_ns,
	                      err, errlen);

	f->ts_ns += f->step_ns;
	return rc;
}

int pcapw_tcp_connect(struct pcapw_tcp *f, char *err, size_t errlen)
{
	if (seg(f, PCAPW_C2S, PCAPW_SYN, NULL, 0, err, errlen) < 0)
		return -1;
	f->nxt[PCAPW_C2S]++;
	if (seg(f, PCAPW_S2C, PCAPW_SYN | PCAPW_ACK, NULL, 0, err, errlen) < 0)
		return -1;
	f->nxt[PCAPW_S2C]++;
	return seg(f, PCAPW_C2S, PCAPW_ACK, NULL, 0, err, errlen);
}

static int check_open(const struct pcapw_tcp *f, int dir, char *err, size_t errlen)
{
	if (f->closed || f->fin[dir]) {
		snprintf(err, errlen, "pcapw: side %s of the flow has already closed",
		         dir ? "server" : "client");
		return -1;
	}
	return 0;
}

int pcapw_tcp_send(struct pcapw_tcp *f, int dir, const void *data, size_t len, char *err, size_t errlen)
{
	const uint8_t *p = data;
	size_t mss = f->mss ? f->mss : 1;

	if (check_open(f, dir, err, errlen) < 0)
		return -1;
	while (len) {
		size_t n = len < mss ? len : mss;
		unsigned fl = PCAPW_ACK | (n == len ? PCAPW_PSH : 0);
		if (seg(f, dir, fl, p, n, err, errlen) < 0)
			return -1;
		f->nxt[dir] += (uint32_t)n;
		p += n;
		len -= n;
		if (f->ack_data && !f->closed && seg(f, !dir, PCAPW_ACK, NULL, 0, err, errlen) < 0)
			return -1;
	}
	return 0;
}

int pcapw_tcp_fin(struct pcapw_tcp *f, int dir, char *err, size_t errlen)
{
	if (check_open(f, dir, err, errlen) < 0)
		return -1;
	if (seg(f, dir, PCAPW_FIN | PCAPW_ACK, NULL, 0, err, errlen) < 0)
		return -1;
	f->nxt[dir]++;
	f->fin[dir] = 1;
	if (seg(f, !dir, PCAPW_ACK, NULL, 0, err, errlen) < 0)
		return -1;
	if (f->fin[!dir])
		f->closed = 1;
	return 0;
}

int pcapw_tcp_rst(struct pcapw_tcp *f, int dir, char *err, size_t errlen)
{
	if (f->closed) {
		snprintf(err, errlen, "pcapw: the flow has already closed");
		return -1;
	}
	if (seg(f, dir, PCAPW_RST | PCAPW_ACK, NULL, 0, err, errlen) < 0)
		return -1;
	f->closed = 1;
	return 0;
}
