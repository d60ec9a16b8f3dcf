/* payload.h - what the bench's load engine sends and what it accepts back: a pseudo-random pattern, the
 * reply expected to it (SPEC X1's plain rule, oracle_expect(), or the identity for the echo server), and
 * the oracle of a TCP stream of it. Pure: no I/O; payload_init() allocates, payload_free() frees. */
#ifndef PAYLOAD_H
#define PAYLOAD_H

#include <stddef.h>

#include "exchange_oracle.h"
#include "load.h"

/* The pattern's period: prime, so that a server which drops or repeats a block whose length is a power
 * of two is caught. */
#define PAYLOAD_PERIOD 65521u
/* The longest read or check at once: the pattern is laid out over PAYLOAD_PERIOD + PAYLOAD_SPAN bytes,
 * so that PAYLOAD_SPAN bytes from any offset below the period are contiguous. */
#define PAYLOAD_SPAN (256u * 1024u)

/* The expected reply is computed once, so checking a reply costs the same memcmp() whichever server is
 * measured: the ratio between servers then measures the servers, not the checker. */
struct payload {
	unsigned char *p; /* sent: p[i] == p[i % PAYLOAD_PERIOD], half lowercase letters */
	unsigned char *x; /* the reply expected to p, same layout */
	enum load_expect ex;
};

/* Fills pl: every byte value, or with text printable ASCII and newlines only (valid UTF-8, for servers
 * that decode it), and the reply ex expects. Returns 0, or -1 when out of memory (payload_free() still
 * frees what was allocated). */
int payload_init(struct payload *pl, enum load_expect ex, int text);

/* Frees what payload_init() allocated. */
void payload_free(struct payload *pl);

/* Starts the oracle o of a TCP stream whose first byte is pattern byte base (< PAYLOAD_PERIOD): len
 * bytes, or an endless stream when len is 0. With half_close the client half-closes at the end and the
 * server's FIN must follow every byte owed (T4); without, any close from the server is wrong. */
void payload_stream_oracle(struct xchg_oracle *o, const struct payload *pl, size_t base, size_t len,
                           int half_close);

/* Writes the failure the oracle o found on connection conn (a stream starting at pattern byte base)
 * into err[0..errlen): the offset, the bytes got, expected and sent, and the rule. Returns LOAD_WRONG. */
int payload_stream_wrong(const struct xchg_oracle *o, const struct payload *pl, size_t base, int conn,
                         char *err, size_t errlen);

#endif
