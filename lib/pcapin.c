/* pcapin.c - reads capture files with libpcap and yields frames (see pcapin.h). */
#include "pcapin.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pcapin {
	pcap_t *p;
	uint64_t n;
	char path[512];
};

struct pcapin *pcapin_open(const char *path, char *err, size_t errlen)
{
	char perr[PCAP_ERRBUF_SIZE] = "";
	struct pcapin *r = calloc(1, sizeof *r);

	if (!r) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	snprintf(r->path, sizeof r->path, "%s", path);
	r->p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, perr);
	if (!r->p) {
		/* libpcap says "truncated dump file" for an empty or cut header: make that plain. */
		snprintf(err, errlen, "%s: not a readable pcap/pcapng file: %s", path, perr);
		free(r);
		return NULL;
	}
	return r;
}

int pcapin_linktype(const struct pcapin *r)
{
	return pcap_datalink(r->p);
}

int pcapin_next(struct pcapin *r, const uint8_t **buf, size_t *caplen, size_t *wirelen, uint64_t *ts_ns,
                char *err, size_t errlen)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc = pcap_next_ex(r->p, &h, &data);

	if (rc == PCAP_ERROR_BREAK)
		return PCAPIN_END;
	if (rc != 1) {
		const char *e = pcap_geterr(r->p);
		snprintf(err, errlen, "%s: packet %llu: %s", r->path, (unsigned long long)r->n + 1, e);
		/* libpcap reports a file cut inside the last record as "truncated ..." (pcap and pcapng). */
		return strstr(e, "truncated") ? PCAPIN_TRUNCATED : PCAPIN_ERROR;
	}
	r->n++;
	*buf = data;
	*caplen = h->caplen;
	*wirelen = h->len;
	/* With nanosecond precision requested, tv_usec holds nanoseconds. */
	*ts_ns = (uint64_t)h->ts.tv_sec * 1000000000u + (uint64_t)h->ts.tv_usec;
	return PCAPIN_FRAME;
}

uint64_t pcapin_count(const struct pcapin *r)
{
	return r->n;
}

void pcapin_close(struct pcapin *r)
{
	if (!r)
		return;
	pcap_close(r->p);
	free(r);
}
