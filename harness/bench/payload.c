/* payload.c - the load engine's pattern, the reply expected to it, and the oracle of a stream of it. On a
 * difference, the core's oracle (oracle_mismatch, oracle_udp_check) names the offset and the rule. */
#include "payload.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oracle.h"

int payload_init(struct payload *pl, enum load_expect ex, int text)
{
	size_t n = PAYLOAD_PERIOD + PAYLOAD_SPAN;
	uint64_t s = 0x9e3779b97f4a7c15ull;

	pl->ex = ex;
	pl->p = malloc(n);
	pl->x = malloc(n);
	if (pl->p == NULL || pl->x == NULL)
		return -1;
	for (size_t i = 0; i < PAYLOAD_PERIOD; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		if (s & 1)
			pl->p[i] = (unsigned char)('a' + (s >> 8) % 26);
		else if (text) /* printable ASCII and newlines: valid UTF-8 */
			pl->p[i] = (s >> 8) % 97 == 96 ? '\n' : (unsigned char)(' ' + (s >> 8) % 95);
		else
			pl->p[i] = (unsigned char)(s >> 8);
	}
	for (size_t i = PAYLOAD_PERIOD; i < n; i++)
		pl->p[i] = pl->p[i - PAYLOAD_PERIOD];
	if (ex == LOAD_UPPER)
		oracle_expect(pl->x, pl->p, n);
	else
		memcpy(pl->x, pl->p, n);
	return 0;
}

void payload_free(struct payload *pl)
{
	free(pl->p);
	free(pl->x);
}

void payload_stream_oracle(struct xchg_oracle *o, const struct payload *pl, size_t base, size_t len,
                           int half_close)
{
	/* The oracle compares with the pattern's x by memcmp() whatever the server: the same cost for
	 * every server measured. */
	struct xchg_expect e = {
	    .mode = XCHG_MODE_MIRROR, .sent = pl->p + base, .reply = pl->x + base, .half_close = half_close};

	if (len == 0) {
		e.period = PAYLOAD_PERIOD;
		e.endless = 1;
	} else {
		e.sent_len = e.reply_len = len;
	}
	xchg_oracle_init(o, &e);
}

int payload_stream_wrong(const struct xchg_oracle *o, const struct payload *pl, size_t base, int conn,
                         char *err, size_t errlen)
{
	char why[200];

	if (o->verdict == XCHG_WRONG_BYTE)
		snprintf(err, errlen,
		         "wrong reply on connection %d: byte %zu of the stream is 0x%02x, expected 0x%02x "
		         "(sent 0x%02x; %s)",
		         conn, o->offset, (unsigned)o->got_byte, (unsigned)o->want_byte,
		         pl->p[(base + o->offset) % PAYLOAD_PERIOD],
		         pl->ex == LOAD_UPPER ? "X1/T1" : "echo: identity");
	else
		snprintf(err, errlen, "wrong reply on connection %d: %s", conn,
		         xchg_oracle_describe(o, why, sizeof why));
	return LOAD_WRONG;
}
