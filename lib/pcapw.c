/* pcapw.c - writes pcap files of synthesized TCP flows and UDP datagrams with libpcap (see pcapw.h); the
 * frames come from pcapw_frame() (pcapw_frame.c). */
#include "pcapw.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pcapw {
	pcap_t *p;
	pcap_dumper_t *d;
	int linktype;
	int nano;
	uint16_t ipid;
	uint64_t count;
	char path[256];
	uint8_t buf[PCAPW_FRAME_MAX];
};

struct pcapw *pcapw_open(const char *path, int linktype, int nano, char *err, size_t errlen)
{
	struct pcapw *w;
	int dlt;

	if (linktype == PCAPW_EN10MB)
		dlt = pcap_datalink_name_to_val("EN10MB");
	else if (linktype == PCAPW_RAW)
		dlt = pcap_datalink_name_to_val("RAW");
	else
		dlt = -1;
	if (dlt < 0) {
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
	    dlt, (int)PCAPW_FRAME_MAX, nano ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO);
	if (!w->p) {
		snprintf(err, errlen, "%s: pcap_open_dead failed", path);
		free(w);
		return NULL;
	}
	if (strcmp(path, "-") == 0) {
		/* standard output, through a copy of its descriptor: closing the writer leaves stdout open */
		int fd;
		FILE *f;
		fflush(stdout);
		fd = dup(STDOUT_FILENO);
		f = fd >= 0 ? fdopen(fd, "wb") : NULL;
		if (f == NULL && fd >= 0)
			close(fd);
		w->d = f != NULL ? pcap_dump_fopen(w->p, f) : NULL;
		if (w->d == NULL && f != NULL)
			fclose(f);
	} else
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

/* Writes the n bytes of frame in w->buf as one record stamped ts_ns. */
static void dump(struct pcapw *w, size_t n, uint64_t ts_ns)
{
	struct pcap_pkthdr h;

	memset(&h, 0, sizeof h);
	h.ts.tv_sec = (time_t)(ts_ns / 1000000000u);
	h.ts.tv_usec = (suseconds_t)(w->nano ? ts_ns % 1000000000u : ts_ns % 1000000000u / 1000u);
	h.caplen = h.len = (bpf_u_int32)n;
	pcap_dump((u_char *)w->d, &h, w->buf);
	w->count++;
}

int pcapw_packet(struct pcapw *w, const struct pcapw_ep *ep, int dir, int proto, uint32_t seq, uint32_t ack,
                 unsigned flags, const void *data, size_t len, uint64_t ts_ns, char *err, size_t errlen)
{
	struct pcapw_frame_spec s = {ep, dir, proto, seq, ack, flags, w->ipid, data, len, NULL};
	size_t n;
	char why[160];

	if (pcapw_frame(w->buf, sizeof w->buf, w->linktype, &s, &n, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s: %s", w->path, why);
		return -1;
	}
	if (ep->family == 4)
		w->ipid++;
	dump(w, n, ts_ns);
	return 0;
}

int pcapw_note(struct pcapw *w, const char *text, uint64_t ts_ns, char *err, size_t errlen)
{
	size_t n;
	char why[160];

	if (pcapw_note_frame(w->buf, sizeof w->buf, w->linktype, text, &n, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s: %s", w->path, why);
		return -1;
	}
	dump(w, n, ts_ns);
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
