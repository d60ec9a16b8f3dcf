/* script.c - decoder and encoder of the fuzz input formats described in script.h. Pure: no I/O. */
#include "script.h"

#include <string.h>

static const size_t caps[SCRIPT_NCAPS] = {65536, 1, 2, 3, 16, 255, 1024, 4096};

static const char *const op_names[SCRIPT_NOPS] = {
    "SEND", "FIN",  "RST",    "SHORT",  "AGAIN", "WERR",  "STOP",   "RESUME", "RLIMIT",
    "HOLD", "TICK", "ACCEPT", "NOFILE", "INTR",  "NOMEM", "CTLERR", "SLEEP",
};

/* Per op: whether it takes an argument byte, and the mask of the slot bits it keeps (0: about no
 * slot, the slot bits are ignored). A table rather than comparisons: a fuzzing build traces every
 * comparison, and the decoder runs once per event of every input. */
enum { OP_ARG = 1u << 2, OP_SLOT = 3u };

static const unsigned char op_traits[SCRIPT_NOPS] = {
    [SCRIPT_SEND] = OP_SLOT,
    [SCRIPT_FIN] = OP_SLOT,
    [SCRIPT_RST] = OP_SLOT,
    [SCRIPT_SHORT] = OP_SLOT | OP_ARG,
    [SCRIPT_AGAIN] = OP_SLOT,
    [SCRIPT_WERR] = OP_SLOT | OP_ARG,
    [SCRIPT_STOP] = OP_SLOT | OP_ARG,
    [SCRIPT_RESUME] = OP_SLOT,
    [SCRIPT_RLIMIT] = OP_SLOT | OP_ARG,
    [SCRIPT_HOLD] = 0,
    [SCRIPT_TICK] = 0,
    [SCRIPT_ACCEPT] = OP_ARG,
    [SCRIPT_NOFILE] = OP_ARG,
    [SCRIPT_INTR] = OP_SLOT | OP_ARG,
    [SCRIPT_NOMEM] = OP_ARG,
    [SCRIPT_CTLERR] = OP_SLOT,
    [SCRIPT_SLEEP] = OP_ARG,
};

/* Whether op (below SCRIPT_NOPS) takes an argument byte. */
static int has_arg(enum script_op op)
{
	return (op_traits[op] & OP_ARG) != 0;
}

size_t script_cap(unsigned i)
{
	return caps[i % SCRIPT_NCAPS];
}

const char *script_op_name(enum script_op op)
{
	return (unsigned)op < SCRIPT_NOPS ? op_names[op] : "?";
}

/* Reads one byte, or 0 past the end (a missing argument reads as 0). */
static unsigned take(const unsigned char *p, size_t n, size_t *off)
{
	if (*off >= n)
		return 0;
	return p[(*off)++];
}

void script_dec_init(struct script_dec *d, const unsigned char *buf, size_t n)
{
	unsigned h;

	d->p = buf;
	d->n = buf != NULL ? n : 0;
	d->off = 0;
	h = take(d->p, d->n, &d->off);
	d->nconn = (h & 3u) + 1u;
	d->cap = script_cap((h >> 2) & 7u);
}

int script_dec_next(struct script_dec *d, struct script_event *ev)
{
	unsigned e, traits;

	if (d->off >= d->n)
		return 0;
	e = d->p[d->off++];
	ev->op = (enum script_op)((e >> 2) % SCRIPT_NOPS);
	traits = op_traits[ev->op];
	ev->slot = (e & traits & OP_SLOT) % d->nconn;
	ev->arg = 0;
	ev->data = NULL;
	ev->len = 0;
	if (ev->op == SCRIPT_SEND) {
		size_t want = (size_t)take(d->p, d->n, &d->off) + 1;
		size_t have = d->n - d->off;

		ev->len = want < have ? want : have;
		if (ev->len == 0)
			return 0;
		ev->data = d->p + d->off;
		d->off += ev->len;
	} else if (traits & OP_ARG) {
		ev->arg = take(d->p, d->n, &d->off);
	}
	return 1;
}

size_t script_enc_header(unsigned char *out, size_t outlen, unsigned nconn, unsigned capidx)
{
	if (nconn < 1)
		nconn = 1;
	if (nconn > SCRIPT_MAX_CONNS)
		nconn = SCRIPT_MAX_CONNS;
	if (outlen >= 1)
		out[0] = (unsigned char)((nconn - 1u) | ((capidx & 7u) << 2));
	return 1;
}

static unsigned char op_byte(enum script_op op, unsigned slot)
{
	return (unsigned char)(((unsigned)op << 2) | (slot & 3u));
}

size_t script_enc_event(unsigned char *out, size_t outlen, const struct script_event *ev)
{
	size_t need = 0;

	if ((unsigned)ev->op >= SCRIPT_NOPS)
		return 0;
	if (ev->op == SCRIPT_SEND) {
		size_t chunks = (ev->len + SCRIPT_MAX_CHUNK - 1) / SCRIPT_MAX_CHUNK;

		need = ev->len + 2 * chunks;
		if (need > outlen)
			return need;
		for (size_t i = 0, o = 0; i < ev->len; i += SCRIPT_MAX_CHUNK) {
			size_t k = ev->len - i < SCRIPT_MAX_CHUNK ? ev->len - i : SCRIPT_MAX_CHUNK;

			out[o++] = op_byte(ev->op, ev->slot);
			out[o++] = (unsigned char)(k - 1);
			memcpy(out + o, ev->data + i, k);
			o += k;
		}
		return need;
	}
	need = has_arg(ev->op) ? 2 : 1;
	if (need > outlen)
		return need;
	out[0] = op_byte(ev->op, ev->slot);
	if (need == 2)
		out[1] = (unsigned char)(ev->arg & 0xffu);
	return need;
}

/* ---- UDP ---- */

void script_udp_init(struct script_udp_dec *d, const unsigned char *buf, size_t n)
{
	d->p = buf;
	d->n = buf != NULL ? n : 0;
	d->off = 0;
}

/* Writes want bytes of pat[0..plen) repeated into out: the pattern once, then copies of what is written
 * so far, each starting at a multiple of plen, so a 65 KB datagram takes a few calls, not one per byte. */
static void fill(unsigned char *out, size_t want, const unsigned char *pat, size_t plen)
{
	size_t have = want < plen ? want : plen;

	memcpy(out, pat, have);
	while (have < want) {
		size_t k = want - have < have ? want - have : have;
		memcpy(out + have, out, k);
		have += k;
	}
}

/* Reads a datagram's length bytes and body (the tag and event byte read), into out unless it is NULL. */
static int udp_body(struct script_udp_dec *d, unsigned t, unsigned char *out, size_t *len, size_t max,
                    size_t *period)
{
	size_t want, have, plen;
	const unsigned char *pat;
	static const unsigned char zero = 0;

	switch (t & 3u) {
	case SCRIPT_UDP_SHORT:
	case SCRIPT_UDP_LONG:
		want = take(d->p, d->n, &d->off);
		if ((t & 3u) == SCRIPT_UDP_LONG)
			want = (want << 8) | take(d->p, d->n, &d->off);
		if (want > max)
			want = max;
		have = d->n - d->off;
		*len = want < have ? want : have;
		if (out != NULL)
			memcpy(out, d->p + d->off, *len);
		d->off += *len;
		if (*len < want)
			d->off = d->n; /* cut short: the sequence ends after this datagram */
		return 1;
	case SCRIPT_UDP_FILL:
		want = take(d->p, d->n, &d->off);
		want = (want << 8) | take(d->p, d->n, &d->off);
		if (want > max)
			want = max;
		plen = (size_t)take(d->p, d->n, &d->off) + 1;
		have = d->n - d->off;
		if (plen > have)
			plen = have;
		pat = d->p + d->off;
		d->off += plen;
		if (plen == 0) {
			pat = &zero;
			plen = 1;
		}
		if (out != NULL)
			fill(out, want, pat, plen);
		*len = want;
		*period = plen;
		return 1;
	default:
		*len = 0;
		return 1;
	}
}

int script_udp_read(struct script_udp_dec *d, unsigned char *out, size_t *len, struct script_udp_meta *m)
{
	unsigned t, e = 0;

	if (d->off >= d->n)
		return 0;
	t = d->p[d->off++];
	if (t & SCRIPT_UDP_TAG_EVENTS)
		e = take(d->p, d->n, &d->off);
	m->family = (t & 4u) ? 6 : 4;
	m->sender = (t >> 3) & 7u;
	m->batch = (t & SCRIPT_UDP_TAG_BATCH) ? 1 : 0;
	m->recv = (enum script_udp_recv_event)(e & 7u);
	m->send = (enum script_udp_send_event)((e >> 3) & 7u);
	m->period = 0;
	return udp_body(d, t, out, len, m->family == 6 ? SCRIPT_UDP_MAX6 : SCRIPT_UDP_MAX4, &m->period);
}

int script_udp_next(struct script_udp_dec *d, unsigned char *out, size_t *len, int *family)
{
	struct script_udp_meta m;
	int r = script_udp_read(d, out, len, &m);

	if (r)
		*family = m.family;
	return r;
}

size_t script_udp_enc_meta(unsigned char *out, size_t outlen, const unsigned char *data, size_t len,
                           const struct script_udp_meta *m)
{
	unsigned char tag = (unsigned char)((m->family == 6 ? 4u : 0u) | (m->sender & 7u) << 3 |
	                                    (m->batch ? SCRIPT_UDP_TAG_BATCH : 0u));
	unsigned event = ((unsigned)m->recv & 7u) | ((unsigned)m->send & 7u) << 3;
	size_t max = m->family == 6 ? SCRIPT_UDP_MAX6 : SCRIPT_UDP_MAX4;
	size_t head = event != 0 ? 2 : 1, need;
	int same = len > 0;

	if (len > max)
		return 0;
	if (event != 0)
		tag |= SCRIPT_UDP_TAG_EVENTS;
	for (size_t i = 1; i < len && same; i++)
		same = data[i] == data[0];
	if (len == 0) {
		tag |= SCRIPT_UDP_EMPTY;
		need = head;
	} else if (same && len > 5) {
		tag |= SCRIPT_UDP_FILL;
		need = head + 4;
	} else if (len <= 255) {
		tag |= SCRIPT_UDP_SHORT;
		need = head + 1 + len;
	} else {
		tag |= SCRIPT_UDP_LONG;
		need = head + 2 + len;
	}
	if (need > outlen)
		return need;
	out[0] = tag;
	if (event != 0)
		out[1] = (unsigned char)event;
	out += head;
	switch (tag & 3u) {
	case SCRIPT_UDP_FILL:
		out[0] = (unsigned char)(len >> 8);
		out[1] = (unsigned char)len;
		out[2] = 0;
		out[3] = data[0];
		break;
	case SCRIPT_UDP_SHORT:
		out[0] = (unsigned char)len;
		memcpy(out + 1, data, len);
		break;
	case SCRIPT_UDP_LONG:
		out[0] = (unsigned char)(len >> 8);
		out[1] = (unsigned char)len;
		memcpy(out + 2, data, len);
		break;
	default:
		break;
	}
	return need;
}

size_t script_udp_enc(unsigned char *out, size_t outlen, const unsigned char *data, size_t len, int family)
{
	const struct script_udp_meta m = {.family = family == 6 ? 6 : 4};

	return script_udp_enc_meta(out, outlen, data, len, &m);
}
