/* script.c - decoder and encoder of the fuzz input formats described in script.h. Pure: no I/O. */
#include "script.h"

#include <string.h>

static const size_t caps[SCRIPT_NCAPS] = {65536, 1, 2, 3, 16, 255, 1024, 4096};

static const char *const op_names[SCRIPT_NOPS] = {
    "SEND", "FIN", "RST", "SHORT", "AGAIN", "WERR", "STOP", "RESUME", "RLIMIT", "HOLD", "TICK",
};

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
	unsigned e;

	if (d->off >= d->n)
		return 0;
	e = d->p[d->off++];
	memset(ev, 0, sizeof *ev);
	ev->slot = (e & 3u) % d->nconn;
	ev->op = (enum script_op)((e >> 2) % SCRIPT_NOPS);
	switch (ev->op) {
	case SCRIPT_SEND: {
		size_t want = (size_t)take(d->p, d->n, &d->off) + 1;
		size_t have = d->n - d->off;

		ev->len = want < have ? want : have;
		if (ev->len == 0)
			return 0;
		ev->data = d->p + d->off;
		d->off += ev->len;
		break;
	}
	case SCRIPT_SHORT:
	case SCRIPT_WERR:
	case SCRIPT_STOP:
	case SCRIPT_RLIMIT:
		ev->arg = take(d->p, d->n, &d->off);
		break;
	default:
		break;
	}
	if (ev->op == SCRIPT_HOLD || ev->op == SCRIPT_TICK)
		ev->slot = 0;
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
	switch (ev->op) {
	case SCRIPT_SEND: {
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
	case SCRIPT_SHORT:
	case SCRIPT_WERR:
	case SCRIPT_STOP:
	case SCRIPT_RLIMIT:
		need = 2;
		break;
	default:
		need = 1;
		break;
	}
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

int script_udp_next(struct script_udp_dec *d, unsigned char *out, size_t *len, int *family)
{
	unsigned t;
	size_t max, want, have;

	if (d->off >= d->n)
		return 0;
	t = d->p[d->off++];
	*family = (t & 4u) ? 6 : 4;
	max = (t & 4u) ? SCRIPT_UDP_MAX6 : SCRIPT_UDP_MAX4;
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
		memcpy(out, d->p + d->off, *len);
		d->off += *len;
		if (*len < want)
			d->off = d->n; /* cut short: the sequence ends after this datagram */
		return 1;
	case SCRIPT_UDP_FILL: {
		size_t plen;
		const unsigned char *pat;
		static const unsigned char zero = 0;

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
		for (size_t i = 0; i < want; i += plen)
			memcpy(out + i, pat, want - i < plen ? want - i : plen);
		*len = want;
		return 1;
	}
	default:
		*len = 0;
		return 1;
	}
}

size_t script_udp_enc(unsigned char *out, size_t outlen, const unsigned char *data, size_t len, int family)
{
	unsigned char fam = family == 6 ? 4u : 0u;
	size_t max = family == 6 ? SCRIPT_UDP_MAX6 : SCRIPT_UDP_MAX4;
	size_t need;
	int same = len > 0;

	if (len > max)
		return 0;
	if (len == 0) {
		if (outlen >= 1)
			out[0] = (unsigned char)(fam | SCRIPT_UDP_EMPTY);
		return 1;
	}
	for (size_t i = 1; i < len && same; i++)
		same = data[i] == data[0];
	if (same && len > 5) {
		need = 5;
		if (need > outlen)
			return need;
		out[0] = (unsigned char)(fam | SCRIPT_UDP_FILL);
		out[1] = (unsigned char)(len >> 8);
		out[2] = (unsigned char)len;
		out[3] = 0;
		out[4] = data[0];
		return need;
	}
	if (len <= 255) {
		need = 2 + len;
		if (need > outlen)
			return need;
		out[0] = (unsigned char)(fam | SCRIPT_UDP_SHORT);
		out[1] = (unsigned char)len;
		memcpy(out + 2, data, len);
		return need;
	}
	need = 3 + len;
	if (need > outlen)
		return need;
	out[0] = (unsigned char)(fam | SCRIPT_UDP_LONG);
	out[1] = (unsigned char)(len >> 8);
	out[2] = (unsigned char)len;
	memcpy(out + 3, data, len);
	return need;
}
