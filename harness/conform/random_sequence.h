/* random_sequence.h - the random phase's sequences: what one sequence does (TCP scripts in the fuzz_tcp
 * event format of lib/script.h, run together, and UDP bursts from many senders), its generation from a
 * seed, its text, and its encoding as fuzz inputs (the seed files a failure leaves behind).
 *
 * A sequence is a set of up to SEQUENCE_MAX_SCRIPTS TCP scripts of 1-4 connection slots each (so tens
 * of connections at once) and one list of operations over all of them, run in order:
 *
 *   SEND n      the slot's client sends n more bytes, without waiting for the answer: sends that follow
 *               one another are pipelined (the answers are read at the next SYNC, or while sending).
 *               Mostly 1-64 bytes, some up to 4 KiB or 1 MiB; a client that stopped reading is sent
 *               1-4 MiB half the time, more than loopback's socket buffers hold, so that the server
 *               owes it bytes it cannot write while it serves the others
 *   FIN         it half-closes once every byte it was given has gone out (a stopped client: once it
 *               reads again, so its FIN comes while the server still owes it what it sent meanwhile)
 *   RST         it resets (SO_LINGER 0), whatever the server still owes it
 *   STOP w      it stops reading (the kernel's buffers fill; w is kept for the fuzz input's simulator)
 *   RESUME      it reads again
 *   SYNC        every connection that reads waits for all its answers: none may be held up by one that
 *               stopped (SPEC T7). Not part of the fuzz format (the simulator runs to quiescence anyway)
 *   BURST       m UDP senders (sockets, 1-8) each send k datagrams (1-6) at once, then every reply is
 *               checked; in the fuzz input each datagram names its sender and a burst starts a batch.
 *               At most SEQUENCE_BURST_MAX_BYTES in all (fewer senders, then fewer datagrams each)
 *
 * A slot's first operation connects it. After the client's FIN or RST, the slot's next SEND or FIN
 * (after RST also STOP and RESUME) connects a fresh client there, as in the fuzz format once the
 * server has closed. At the end every client that did not reset reads again, half-closes and must get
 * every byte owed, then FIN. A script (and a burst) marked IPv6 runs over [::1] when the target has it. */
#ifndef RANDOM_SEQUENCE_H
#define RANDOM_SEQUENCE_H

#include <stddef.h>
#include <stdint.h>

#define SEQUENCE_MAX_SCRIPTS 12u
#define SEQUENCE_MAX_OPERATIONS 96u
#define SEQUENCE_MAX_SENDERS 8u    /* UDP senders of one burst: the fuzz format's senders */
#define SEQUENCE_MAX_PER_SENDER 6u /* datagrams each sends in one burst */
#define SEQUENCE_MAX_DATAGRAM 65507u
/* The largest burst a server must absorb (SPEC U5): its datagrams hold at most this many bytes in all,
 * which a socket's default receive buffer (208 KiB on Linux) holds even when the server does not read
 * meanwhile; the fixed cases stay within it too (udp/boundary/burst: 40 datagrams, 28900 bytes;
 * udp/senders/many: 64 senders of one small datagram) */
#define SEQUENCE_BURST_MAX_BYTES 65536u

enum sequence_kind {
	SEQUENCE_SEND = 0,
	SEQUENCE_FIN,
	SEQUENCE_RST,
	SEQUENCE_STOP,
	SEQUENCE_RESUME,
	SEQUENCE_SYNC,
	SEQUENCE_BURST
};

struct sequence_operation {
	enum sequence_kind kind;
	unsigned script, slot; /* TCP operations: the script and its connection slot */
	size_t length;         /* SEND: bytes; BURST: the largest datagram (each is 0..length bytes) */
	unsigned senders;      /* BURST: sockets */
	unsigned per_sender;   /* BURST: datagrams each sends */
	unsigned window;       /* STOP: w */
	int ipv6;              /* BURST: over IPv6 */
	uint64_t seed;         /* of the bytes sent */
};

struct sequence {
	unsigned scripts;                     /* 0 when the target has no TCP */
	unsigned slots[SEQUENCE_MAX_SCRIPTS]; /* connection slots of each script, 1..4 */
	int ipv6[SEQUENCE_MAX_SCRIPTS];       /* the script runs over IPv6 */
	struct sequence_operation operations[SEQUENCE_MAX_OPERATIONS];
	size_t count;
};

/* Generates the sequence of seed for a target with TCP and/or UDP. */
void sequence_generate(uint64_t seed, int tcp, int udp, struct sequence *s);

/* Fills p[0..n) with the bytes of seed. */
void sequence_bytes(unsigned char *p, size_t n, uint64_t seed);

/* The length of datagram `index` of sender `sender` of a burst. */
size_t sequence_datagram_length(const struct sequence_operation *o, unsigned sender, unsigned index);

/* The seed of the bytes of that datagram. */
uint64_t sequence_datagram_seed(const struct sequence_operation *o, unsigned sender, unsigned index);

/* One operation as text ("tcp 3.1: send 40 bytes", "udp burst: 4 senders x 2 datagrams of 0-300
 * bytes, IPv6", ...), into buf. Returns buf. */
char *sequence_describe(const struct sequence *s, const struct sequence_operation *o, char *buf, size_t len);

/* Encodes script number `script` of s (lib/script.h TCP format, its own slots, cap index 0) into a
 * buffer it allocates: *out, *out_len. Returns 0, 1 when the script has no operation (nothing
 * allocated), -1 when out of memory. */
int sequence_encode_script(const struct sequence *s, unsigned script, unsigned char **out, size_t *out_len);

/* Encodes every burst's datagrams, sender by sender, likewise (lib/script.h UDP format: each with its
 * sender, the first of a burst starting a new batch). Returns 0, 1 when there is none, -1 when out of
 * memory. */
int sequence_encode_datagrams(const struct sequence *s, unsigned char **out, size_t *out_len);

#endif
