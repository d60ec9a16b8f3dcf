/* recording.c - the record of a case's exchange, written as a pcap of synthesized flows with the
 * library's pcap writer (pcapw). */
#include "recording.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "pcapw.h"
#include "util.h"

/* Events carry two addresses each: their number is bounded too (about 40 MB). */
#define MAX_EVENTS 131072

void recording_init(struct recording *r, size_t max_bytes)
{
	memset(r, 0, sizeof *r);
	r->data_capacity = max_bytes;
}

void recording_clear(struct recording *r)
{
	r->event_count = 0;
	r->data_len = 0;
	r->truncated = 0;
	r->case_id[0] = r->rule[0] = '\0';
}

void recording_label(struct recording *r, const char *case_id, const char *rule)
{
	snprintf(r->case_id, sizeof r->case_id, "%s", case_id ? case_id : "");
	snprintf(r->rule, sizeof r->rule, "%s", rule ? rule : "");
}

/* The pcap's note: what SPEC expects (the rule, not the recorded answers) and which case it is. Words
 * with a space or an unprintable byte would not read back as one KEY=VALUE: they are left out. */
static void note_text(const struct recording *r, char *out, size_t outlen)
{
	size_t n = (size_t)snprintf(out, outlen, "%s expect=upper", DEC_NOTE_PREFIX);
	const char *keys[] = {"case", "rule"}, *values[] = {r->case_id, r->rule};

	for (size_t i = 0; i < 2 && n < outlen; i++) {
		int printable = values[i][0] != '\0';
		for (const char *p = values[i]; *p != '\0'; p++)
			printable &= *p > 0x20 && *p < 0x7f;
		if (printable)
			n += (size_t)snprintf(out + n, outlen - n, " %s=%s", keys[i], values[i]);
	}
	/* A record that stopped at its bound lacks the rest of the exchange: replay must not call it whole.
	 */
	if (r->truncated && n < outlen)
		snprintf(out + n, outlen - n, " cut=recording-bound");
}

void recording_free(struct recording *r)
{
	free(r->events);
	free(r->data);
	memset(r, 0, sizeof *r);
}

/* Makes room for one more event and len more bytes. Returns 0, or -1 when they do not fit. */
static int make_room(struct recording *r, size_t len)
{
	if (r->event_count == r->event_capacity) {
		size_t capacity = r->event_capacity ? 2 * r->event_capacity : 256;
		if (capacity > MAX_EVENTS)
			return -1;
		struct recording_event *events = realloc(r->events, capacity * sizeof *events);
		if (events == NULL)
			return -1;
		r->events = events;
		r->event_capacity = capacity;
	}
	if (len > 0) {
		if (r->data == NULL && r->data_capacity > 0)
			r->data = malloc(r->data_capacity);
		if (r->data == NULL || r->data_len + len > r->data_capacity)
			return -1;
	}
	return 0;
}

void recording_add(struct recording *r, enum recording_event_kind kind, unsigned connection, const void *data,
                   size_t len, const struct net_addr *local, const struct net_addr *remote)
{
	if (r->truncated)
		return; /* a capture with a gap would replay wrong: it ends at the first event that did not
		           fit */
	if (make_room(r, len) < 0) {
		r->truncated = 1;
		return;
	}
	struct recording_event *e = &r->events[r->event_count++];
	memset(e, 0, sizeof *e);
	e->kind = kind;
	e->connection = connection;
	e->time_ns = util_now_ns();
	e->offset = r->data_len;
	e->length = len;
	if (len > 0) {
		memcpy(r->data + r->data_len, data, len);
		r->data_len += len;
	}
	if (local != NULL)
		e->local = *local;
	if (remote != NULL)
		e->remote = *remote;
}

/* A synthesized TCP flow per connection id. */
struct tcp_flow {
	unsigned connection;
	struct pcapw_tcp flow;
};

struct pcap_writer {
	struct pcapw *w;
	struct tcp_flow *flows;
	size_t flow_count;
	char *err;
	size_t errlen;
};

static int write_datagram(struct pcap_writer *pw, const struct recording_event *e, const unsigned char *data,
                          uint64_t ts)
{
	struct pcapw_ep ep;
	if (pcapw_ep_sockaddr(&ep, (const struct sockaddr *)&e->local.ss,
	                      (const struct sockaddr *)&e->remote.ss, pw->err, pw->errlen) < 0)
		return 0; /* mixed families cannot be drawn; the datagram is left out */
	return pcapw_udp(pw->w, &ep, e->kind == RECORDING_UDP_SEND ? PCAPW_C2S : PCAPW_S2C, data, e->length,
	                 ts, pw->err, pw->errlen);
}

static int open_flow(struct pcap_writer *pw, const struct recording_event *e, uint64_t ts)
{
	struct pcapw_ep ep;
	for (size_t j = 0; j < pw->flow_count; j++)
		if (pw->flows[j].connection == e->connection)
			return 0;
	if (pcapw_ep_sockaddr(&ep, (const struct sockaddr *)&e->local.ss,
	                      (const struct sockaddr *)&e->remote.ss, pw->err, pw->errlen) < 0)
		return 0;
	struct tcp_flow *m = &pw->flows[pw->flow_count++];
	m->connection = e->connection;
	pcapw_tcp_init(&m->flow, pw->w, &ep, ts);
	return pcapw_tcp_connect(&m->flow, pw->err, pw->errlen);
}

/* Draws one event of an open connection: data, FIN or RST, in its direction. */
static int write_tcp_event(struct pcap_writer *pw, const struct recording_event *e, const unsigned char *data,
                           uint64_t ts)
{
	struct pcapw_tcp *f = NULL;
	for (size_t j = 0; j < pw->flow_count; j++)
		if (pw->flows[j].connection == e->connection)
			f = &pw->flows[j].flow;
	if (f == NULL || f->closed)
		return 0;
	if (f->ts_ns < ts)
		f->ts_ns = ts;
	switch (e->kind) {
	case RECORDING_TCP_SEND:
		return f->fin[PCAPW_C2S] ? 0
		                         : pcapw_tcp_send(f, PCAPW_C2S, data, e->length, pw->err, pw->errlen);
	case RECORDING_TCP_RECEIVE:
		return f->fin[PCAPW_S2C] ? 0
		                         : pcapw_tcp_send(f, PCAPW_S2C, data, e->length, pw->err, pw->errlen);
	case RECORDING_TCP_HALF_CLOSE:
		return f->fin[PCAPW_C2S] ? 0 : pcapw_tcp_fin(f, PCAPW_C2S, pw->err, pw->errlen);
	case RECORDING_TCP_SERVER_FIN:
		return f->fin[PCAPW_S2C] ? 0 : pcapw_tcp_fin(f, PCAPW_S2C, pw->err, pw->errlen);
	case RECORDING_TCP_RESET:
		return pcapw_tcp_rst(f, PCAPW_C2S, pw->err, pw->errlen);
	case RECORDING_TCP_SERVER_RESET:
		return pcapw_tcp_rst(f, PCAPW_S2C, pw->err, pw->errlen);
	default:
		return 0;
	}
}

int recording_write_pcap(const struct recording *r, const char *path, char *err, size_t errlen)
{
	struct pcap_writer pw = {pcapw_open(path, PCAPW_EN10MB, 0, err, errlen), NULL, 0, err, errlen};
	int rc = -1;
	if (pw.w == NULL)
		return -1;
	pw.flows = calloc(r->event_count + 1, sizeof *pw.flows);
	if (pw.flows == NULL) {
		snprintf(err, errlen, "out of memory writing %s", path);
		goto out;
	}
	uint64_t base = r->event_count > 0 ? r->events[0].time_ns : 0;
	uint64_t wall = 1700000000ull * 1000000000ull; /* a fixed epoch: reproducible files */
	char note[DEC_NOTE_MAX];
	note_text(r, note, sizeof note);
	if (pcapw_note(pw.w, note, wall, err, errlen) < 0)
		goto out;
	for (size_t i = 0; i < r->event_count; i++) {
		const struct recording_event *e = &r->events[i];
		const unsigned char *data = r->data + e->offset;
		uint64_t ts = wall + (e->time_ns - base);
		int erc;
		if (e->kind == RECORDING_UDP_SEND || e->kind == RECORDING_UDP_RECEIVE)
			erc = write_datagram(&pw, e, data, ts);
		else if (e->kind == RECORDING_TCP_OPEN)
			erc = open_flow(&pw, e, ts);
		else
			erc = write_tcp_event(&pw, e, data, ts);
		if (erc < 0)
			goto out;
	}
	rc = 0;
out:
	free(pw.flows);
	if (pcapw_close(pw.w, rc == 0 ? err : NULL, rc == 0 ? errlen : 0) < 0)
		rc = -1;
	return rc;
}
