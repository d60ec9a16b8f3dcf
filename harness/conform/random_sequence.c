/* random_sequence.c - the random phase's sequences (random_sequence.h): generation from a seed, text,
 * and the fuzz inputs of lib/script.h. */
#include "random_sequence.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script.h"

enum {
	MIN_OPERATIONS = 16,
	BULK_MIN = 16384,      /* a bulk send */
	BULK_MAX = 1 << 20,    /* ... at most */
	STALLED_MIN = 1 << 20, /* a bulk send to a stopped reader: more than the sockets' buffers hold */
	STALLED_MAX = 4 << 20, /* (on loopback up to about 1 MiB with their default sizes) */
	LARGE_BURST = 4        /* datagrams a burst of large ones may hold at most */
};

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A number in [0, n) from the generator. */
static unsigned below(uint64_t *s, unsigned n)
{
	return (unsigned)(splitmix(s) % n);
}

void sequence_bytes(unsigned char *p, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(splitmix(&seed) >> 56);
}

uint64_t sequence_datagram_seed(const struct sequence_operation *o, unsigned sender, unsigned index)
{
	uint64_t s = o->seed ^ ((uint64_t)(sender * SEQUENCE_MAX_PER_SENDER + index + 1) << 40);
	return splitmix(&s);
}

size_t sequence_datagram_length(const struct sequence_operation *o, unsigned sender, unsigned index)
{
	uint64_t s = sequence_datagram_seed(o, sender, index) ^ 0x5bd1e995u;
	return (size_t)(splitmix(&s) % (o->length + 1));
}

/* The bytes of a burst's datagrams in all. */
static size_t burst_bytes(const struct sequence_operation *o)
{
	size_t n = 0;
	for (unsigned s = 0; s < o->senders; s++)
		for (unsigned d = 0; d < o->per_sender; d++)
			n += sequence_datagram_length(o, s, d);
	return n;
}

/* A burst: 1-8 senders of 1-6 datagrams, mostly small; a few large ones at most. */
static void generate_burst(uint64_t *r, struct sequence_operation *o)
{
	unsigned size = below(r, 100);
	o->kind = SEQUENCE_BURST;
	o->senders = 1 + below(r, SEQUENCE_MAX_SENDERS);
	o->per_sender = 1 + below(r, SEQUENCE_MAX_PER_SENDER);
	o->ipv6 = below(r, 3) == 0;
	o->length = size < 70   ? below(r, 201)
	            : size < 95 ? below(r, 2001)
	                        : below(r, SEQUENCE_MAX_DATAGRAM + 1);
	if (o->length > 9000)
		while (o->senders * o->per_sender > LARGE_BURST)
			o->senders > 1 ? o->senders-- : o->per_sender--;
	while (burst_bytes(o) > SEQUENCE_BURST_MAX_BYTES && o->senders * o->per_sender > 1)
		o->senders > 1 ? o->senders-- : o->per_sender--;
}

/* A TCP operation on one slot of one script. stopped[script * 4 + slot] tells which clients have
 * stopped reading: one of them is sent a bulk half the time, so that the server owes it more than the
 * sockets' buffers hold while the others go on. */
static void generate_tcp(uint64_t *r, const struct sequence *s, int *stopped, struct sequence_operation *o)
{
	unsigned kind = below(r, 100), size = below(r, 100);
	o->script = below(r, s->scripts);
	o->slot = below(r, s->slots[o->script]);
	int *slot_stopped = &stopped[o->script * SCRIPT_MAX_CONNS + o->slot];
	o->kind = kind < 50   ? SEQUENCE_SEND
	          : kind < 60 ? SEQUENCE_FIN
	          : kind < 68 ? SEQUENCE_RST
	          : kind < 80 ? SEQUENCE_STOP
	          : kind < 88 ? SEQUENCE_RESUME
	                      : SEQUENCE_SYNC;
	if (o->kind == SEQUENCE_SEND && *slot_stopped && size < 50)
		o->length = STALLED_MIN + below(r, STALLED_MAX - STALLED_MIN);
	else if (o->kind == SEQUENCE_SEND)
		o->length = size < 70   ? 1 + below(r, 64)
		            : size < 95 ? 65 + below(r, 4032)
		                        : BULK_MIN + below(r, BULK_MAX - BULK_MIN);
	if (o->kind == SEQUENCE_STOP)
		o->window = below(r, 256);
	if (o->kind == SEQUENCE_STOP || o->kind == SEQUENCE_RESUME || o->kind == SEQUENCE_RST)
		*slot_stopped = o->kind == SEQUENCE_STOP;
}

void sequence_generate(uint64_t seed, int tcp, int udp, struct sequence *s)
{
	int stopped[SEQUENCE_MAX_SCRIPTS * SCRIPT_MAX_CONNS] = {0};
	uint64_t r = seed;
	memset(s, 0, sizeof *s);
	if (tcp) {
		s->scripts = 2 + below(&r, SEQUENCE_MAX_SCRIPTS - 1);
		for (unsigned k = 0; k < s->scripts; k++) {
			s->slots[k] = 1 + below(&r, SCRIPT_MAX_CONNS);
			s->ipv6[k] = below(&r, 3) == 0;
		}
	}
	s->count = MIN_OPERATIONS + below(&r, SEQUENCE_MAX_OPERATIONS - MIN_OPERATIONS + 1);
	for (size_t i = 0; i < s->count; i++) {
		struct sequence_operation *o = &s->operations[i];
		unsigned transport = below(&r, 100);
		o->seed = splitmix(&r);
		if (!tcp || (udp && transport < 10))
			generate_burst(&r, o);
		else
			generate_tcp(&r, s, stopped, o);
	}
}

char *sequence_describe(const struct sequence *s, const struct sequence_operation *o, char *buf, size_t len)
{
	static const char *const names[] = {[SEQUENCE_FIN] = "half-close",
	                                    [SEQUENCE_RST] = "reset",
	                                    [SEQUENCE_STOP] = "stop reading",
	                                    [SEQUENCE_RESUME] = "read again"};
	const char *v6 = o->kind != SEQUENCE_BURST && s->ipv6[o->script] ? " (IPv6)" : "";
	switch (o->kind) {
	case SEQUENCE_SEND:
		snprintf(buf, len, "tcp %u.%u%s: send %zu bytes", o->script, o->slot, v6, o->length);
		break;
	case SEQUENCE_SYNC:
		snprintf(buf, len, "sync (every reading client waits for its answers)");
		break;
	case SEQUENCE_BURST:
		snprintf(buf, len, "udp burst: %u senders x %u datagrams of 0-%zu bytes%s", o->senders,
		         o->per_sender, o->length, o->ipv6 ? " (IPv6)" : "");
		break;
	default:
		snprintf(buf, len, "tcp %u.%u%s: %s", o->script, o->slot, v6, names[o->kind]);
		break;
	}
	return buf;
}

/* An output buffer that grows. */
struct output {
	unsigned char *p;
	size_t n, cap;
	int failed;
};

static unsigned char *output_room(struct output *b, size_t k)
{
	if (b->failed)
		return NULL;
	if (b->cap - b->n < k) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap - b->n < k)
			cap *= 2;
		unsigned char *p = realloc(b->p, cap);
		if (p == NULL) {
			b->failed = 1;
			return NULL;
		}
		b->p = p;
		b->cap = cap;
	}
	return b->p + b->n;
}

static void output_event(struct output *b, const struct script_event *ev)
{
	size_t k = script_enc_event(NULL, 0, ev);
	unsigned char *at = output_room(b, k);
	if (at != NULL)
		b->n += script_enc_event(at, k, ev);
}

/* Hands the buffer over: 0, 1 when it is empty (freed), -1 when it could not grow (freed). */
static int output_finish(struct output *b, int empty, unsigned char **out, size_t *out_len)
{
	if (b->failed || empty) {
		free(b->p);
		return b->failed ? -1 : 1;
	}
	*out = b->p;
	*out_len = b->n;
	return 0;
}

int sequence_encode_script(const struct sequence *s, unsigned script, unsigned char **out, size_t *out_len)
{
	static const enum script_op ops[] = {[SEQUENCE_SEND] = SCRIPT_SEND,
	                                     [SEQUENCE_FIN] = SCRIPT_FIN,
	                                     [SEQUENCE_RST] = SCRIPT_RST,
	                                     [SEQUENCE_STOP] = SCRIPT_STOP,
	                                     [SEQUENCE_RESUME] = SCRIPT_RESUME};
	struct output b = {0};
	int events = 0;
	unsigned char *at = output_room(&b, 1);
	if (at != NULL)
		b.n += script_enc_header(at, 1, s->slots[script], 0);
	for (size_t i = 0; i < s->count; i++) {
		const struct sequence_operation *o = &s->operations[i];
		if (o->kind > SEQUENCE_RESUME || o->script != script)
			continue;
		struct script_event ev = {.op = ops[o->kind], .slot = o->slot, .arg = o->window};
		unsigned char *data = NULL;
		if (o->kind == SEQUENCE_SEND) {
			data = malloc(o->length);
			if (data == NULL) {
				b.failed = 1;
				break;
			}
			sequence_bytes(data, o->length, o->seed);
			ev.data = data;
			ev.len = o->length;
		}
		output_event(&b, &ev);
		free(data);
		events++;
	}
	return output_finish(&b, events == 0, out, out_len);
}

int sequence_encode_datagrams(const struct sequence *s, unsigned char **out, size_t *out_len)
{
	static unsigned char data[SEQUENCE_MAX_DATAGRAM];
	struct output b = {0};
	int datagrams = 0;
	for (size_t i = 0; i < s->count; i++) {
		const struct sequence_operation *o = &s->operations[i];
		if (o->kind != SEQUENCE_BURST)
			continue;
		for (unsigned sender = 0; sender < o->senders; sender++)
			for (unsigned d = 0; d < o->per_sender; d++) {
				size_t n = sequence_datagram_length(o, sender, d);
				struct script_udp_meta m = {.family = o->ipv6 ? 6 : 4,
				                            .sender = sender,
				                            .batch = sender == 0 && d == 0};
				sequence_bytes(data, n, sequence_datagram_seed(o, sender, d));
				size_t k = script_udp_enc_meta(NULL, 0, data, n, &m);
				unsigned char *at = output_room(&b, k);
				if (at != NULL)
					b.n += script_udp_enc_meta(at, k, data, n, &m);
				datagrams++;
			}
	}
	return output_finish(&b, datagrams == 0, out, out_len);
}
