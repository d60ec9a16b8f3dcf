/* script.h - the fuzz input formats: a TCP script of events over a few connections, and a UDP
 * sequence of datagrams. A pure decoder (bytes -> events) and an encoder (events -> bytes), shared by
 * the fuzz targets and the replay tool (which writes flows as seeds and turns inputs back into pcaps).
 * Every byte string decodes to a valid script: there is no invalid input, only shorter scripts.
 *
 * ---- TCP script -------------------------------------------------------------------------------------
 *
 *   byte 0        header H (absent input: nconn 1, cap index 0)
 *                   bits 0-1  nconn - 1: 1..4 simultaneous connection slots
 *                   bits 2-4  cap index: per-connection buffer bound (SPEC T8), from
 *                             {65536, 1, 2, 3, 16, 255, 1024, 4096}; index 0 is the server default
 *                   bits 5-7  reserved, ignored (the encoder writes 0)
 *   then events, each an op byte E followed by its arguments:
 *                   bits 0-1  slot: the connection the event is about, taken modulo nconn
 *                   bits 2-7  op, taken modulo SCRIPT_NOPS:
 *
 *   op  name     args            meaning
 *    0  SEND     L, data[L+1]    the client sends a chunk of L+1 bytes (1..256). If the input ends
 *                                early, the chunk is what remains; with nothing left the event is
 *                                dropped and the script ends.
 *    1  FIN      -               the client half-closes (shutdown SHUT_WR): the server reads 0 once
 *                                the queued data is read
 *    2  RST      -               the client resets: queued data is discarded, the server's next read
 *                                fails ECONNRESET and its next write fails EPIPE
 *    3  SHORT    k               from now on each write on the slot accepts at most k bytes;
 *                                k = 0 lifts the limit (partial writes, SPEC T3)
 *    4  AGAIN    -               the next write on the slot would block (EAGAIN) once; the socket
 *                                is writable again at the next loop round
 *    5  WERR     e               the next write on the slot fails: e even EPIPE, e odd ECONNRESET
 *    6  STOP     w               the peer stops reading: the socket accepts w more bytes (0..255),
 *                                then every write would block until RESUME (SPEC T7, T8)
 *    7  RESUME   -               the peer reads everything and keeps reading: writable, no window
 *    8  RLIMIT   r               from now on each read on the slot returns at most r bytes;
 *                                r = 0 lifts the limit (short reads)
 *    9  HOLD     -               (slot ignored) toggles hold: while held, the server's event loop
 *                                does not run between events, so events pile up as if one poll()
 *                                returned them together; releasing runs the loop to quiescence
 *   10  TICK     -               (slot ignored) runs exactly one round of the event loop, even held
 *   Kernel events (the simulated kernel under tcp-upper's loop; a connection waits in the listener's
 *   accept queue from its first event until the loop accepts it):
 *   11  ACCEPT   e               (slot ignored) the next accept() fails once with, by e mod 8: EINTR,
 *                                ECONNABORTED, EPROTO, EPERM, ENOBUFS, ENOMEM, EAGAIN, EINVAL
 *   12  NOFILE   e               (slot ignored) the descriptors run out: every accept() fails, EMFILE
 *                                (e bit 0 clear) or ENFILE (set), until the server closes one; bits
 *                                1-2 what the limit line can learn (limit unlimited, count unknown);
 *                                bit 3: the listener's next 1 + (bits 4-5) epoll_ctl() calls fail;
 *                                bits 6-7 both set: the operator reads the next limit and resume lines
 *   13  INTR     k               the next call fails EINTR once, by k mod 4: 0 epoll_wait(), 1 send()
 *                                on the slot, 2 recv() on the slot, 3 all three
 *   14  NOMEM    k               (slot ignored) after (k >> 2) mod 4 allocations of the loop that
 *                                succeed, the next (k mod 4) + 1 fail (a connection or a buffer);
 *                                bit 4: every allocation after them fails too, until the next SLEEP
 *   15  CTLERR   -               the next epoll_ctl() on the slot's connection fails (ENOMEM)
 *   16  SLEEP    t               (slot ignored) time passes: the clock jumps t * 50 ms, then the loop
 *                                runs up to 4 rounds in which a wait with nothing ready lets its
 *                                whole timeout pass (the accept pause, the quiet-period give-back),
 *                                fewer if it waits without a timeout
 *
 *   A missing argument byte (input ends) reads as 0. A client cannot act after its own RST, nor send
 *   or half-close again after its FIN: such events are ignored (they still consume their bytes).
 *
 *   Slots: a slot's first event connects a new client (the server accepts it). Once the server has
 *   closed a slot's connection, the next event on that slot connects a fresh client there.
 *   Unless held, the event loop runs to quiescence after every event. At the end of the script the
 *   runner releases hold, lifts every kernel fault, resumes every peer, half-closes every client still
 *   open and runs the loop, letting time pass, until it waits without a timeout, so every connection
 *   is accepted and ends either reset or with its full reply and FIN.
 *
 * ---- UDP datagrams ----------------------------------------------------------------------------------
 *
 *   A sequence of datagrams as a server's socket sees them (fuzz_udp runs them through udp-upper's batch
 *   loop over a simulated kernel, harness/fuzz/udpsim.h), each a tag byte T, an event byte E when T's
 *   bit 7 is set, and the body:
 *                   bits 0-1  kind
 *                   bit  2    family: 0 IPv4 (max payload 65507), 1 IPv6 (max 65527)
 *                   bits 3-5  sender 0..7: who sent it (its own address and port)
 *                   bit  6    batch: it arrives only once the server has received every datagram before
 *                             it (a new recvmmsg batch); without it, datagrams arrive together and are
 *                             received up to a batch at a time
 *                   bit  7    events: the byte E follows
 *     kind 0  SHORT  L, data[L]        a datagram of L bytes, 0..255
 *     kind 1  LONG   Lhi Llo, data[L]  L big-endian, clamped to the family's max
 *     kind 2  FILL   Lhi Llo, P, pat[P+1]
 *                                      L bytes (clamped to max) of pat repeated; so a maximum-size
 *                                      datagram costs 4 + P+1 input bytes. A pattern cut short by
 *                                      the end of input is what remains; none left: one 0x00 byte
 *     kind 3  EMPTY  -                 an empty datagram (SPEC U3)
 *   Data cut short by the end of input gives a shorter datagram (possibly empty); the sequence then
 *   ends. A missing length or event byte reads as 0. Input that ends right after a whole datagram ends
 *   the sequence; the empty input is the empty sequence. Bits 3-7 were reserved before senders and
 *   events, and the encoder wrote 0 there: such input is a sequence from sender 0 with no events.
 *
 *   E, the kernel's events around the datagram (enum script_udp_recv_event, script_udp_send_event):
 *                   bits 0-2  receive event, on the way to the datagram being received:
 *                     0 none
 *                     1 WAIT_EINTR  the wait for readability before its batch fails EINTR once
 *                     2 RECV_EAGAIN the receive that would take it fails EAGAIN once (a spurious wakeup)
 *                     3 RECV_EINTR  the receive that would take it fails EINTR once
 *                     4 ICMP_RECV   an ICMP error is pending: that receive fails ECONNREFUSED once
 *                     5 ICMP_SEND   an ICMP error arrives once its batch is received: the batch's next
 *                                   send fails ECONNREFUSED (that send's first reply is lost)
 *                     6 TRUNC       it was longer than the receive slot: delivered cut, with MSG_TRUNC
 *                     7 WAIT_FAIL   the wait for readability before its batch fails ENOMEM (the loop
 *                                   ends with an error)
 *                   bits 3-5  send event, when a send call reaches its reply (the call sends the
 *                             replies before it and returns their count; when its reply is the
 *                             call's first, the event happens to it):
 *                     0 none
 *                     1 EAGAIN      the call fails EAGAIN; the wait for writability then finds room
 *                     2 ENOBUFS     the same with ENOBUFS
 *                     3 EINTR       the call fails EINTR
 *                     4 PARTIAL     the call sends only the replies before it (it alone when first)
 *                     5 FULL        the call fails EAGAIN and the buffer stays full past the wait:
 *                                   the reply is lost (SPEC U5: the others still go)
 *                     6 UNREACH     the call fails EHOSTUNREACH: the reply is lost
 *                     7 STOP        the call fails EAGAIN and the server is told to stop while it
 *                                   waits (the loop ends)
 *                   bits 6-7  reserved, ignored (the encoder writes 0)
 *   Each event happens once.
 */
#ifndef SCRIPT_H
#define SCRIPT_H

#include <stddef.h>

/* ---- TCP script ---- */

#define SCRIPT_MAX_CONNS 4u
#define SCRIPT_MAX_CHUNK 256u
#define SCRIPT_NCAPS 8u

enum script_op {
	SCRIPT_SEND = 0,
	SCRIPT_FIN,
	SCRIPT_RST,
	SCRIPT_SHORT,
	SCRIPT_AGAIN,
	SCRIPT_WERR,
	SCRIPT_STOP,
	SCRIPT_RESUME,
	SCRIPT_RLIMIT,
	SCRIPT_HOLD,
	SCRIPT_TICK,
	SCRIPT_ACCEPT, /* kernel events, appended: the ops above keep their numbers */
	SCRIPT_NOFILE,
	SCRIPT_INTR,
	SCRIPT_NOMEM,
	SCRIPT_CTLERR,
	SCRIPT_SLEEP,
	SCRIPT_NOPS
};

/* One decoded event. For SEND, data points into the decoded input (len bytes, 1..256); for SHORT,
 * STOP, RLIMIT, WERR, ACCEPT, NOFILE, INTR, NOMEM and SLEEP, arg is the argument byte; otherwise len
 * and arg are 0. */
struct script_event {
	enum script_op op;
	unsigned slot;             /* 0 .. nconn-1 */
	unsigned arg;              /* 0..255 */
	const unsigned char *data; /* SEND only, borrowed from the input */
	size_t len;                /* SEND only */
};

/* Decoder state. Holds a borrowed pointer to the input; the input must outlive it. */
struct script_dec {
	const unsigned char *p;
	size_t n, off;
	unsigned nconn; /* 1..SCRIPT_MAX_CONNS */
	size_t cap;     /* per-connection buffer bound */
};

/* Returns the buffer bound of cap index i (taken modulo SCRIPT_NCAPS). */
size_t script_cap(unsigned i);

/* Starts decoding buf[0..n) (buf may be NULL when n is 0): reads the header. Never fails. */
void script_dec_init(struct script_dec *d, const unsigned char *buf, size_t n);

/* Decodes the next event into *ev. Returns 1 if an event was decoded, 0 at the end of the script. */
int script_dec_next(struct script_dec *d, struct script_event *ev);

/* Returns the name of an op ("SEND", ...), or "?" for a value out of range. */
const char *script_op_name(enum script_op op);

/* Encoder. Each function writes into out[0..outlen) and returns the number of bytes the encoding
 * needs, like snprintf: when the result is larger than outlen nothing is written, so a caller may
 * call with outlen 0 to size its buffer. */

/* Encodes a header for nconn slots (clamped to 1..4) and cap index capidx (0..7). Needs 1 byte. */
size_t script_enc_header(unsigned char *out, size_t outlen, unsigned nconn, unsigned capidx);

/* Encodes one event. A SEND of any len >= 1 is split into chunks of at most 256 bytes (several
 * events); a SEND of len 0 encodes to nothing (returns 0). slot is taken modulo 4, arg modulo 256. */
size_t script_enc_event(unsigned char *out, size_t outlen, const struct script_event *ev);

/* ---- UDP datagrams ---- */

#define SCRIPT_UDP_MAX4 65507u
#define SCRIPT_UDP_MAX6 65527u

enum script_udp_kind { SCRIPT_UDP_SHORT = 0, SCRIPT_UDP_LONG, SCRIPT_UDP_FILL, SCRIPT_UDP_EMPTY };

#define SCRIPT_UDP_TAG_BATCH 0x40u
#define SCRIPT_UDP_TAG_EVENTS 0x80u
#define SCRIPT_UDP_SENDERS 8u

/* The event byte's receive events (bits 0-2). */
enum script_udp_recv_event {
	SCRIPT_UDP_RECV_NONE = 0,
	SCRIPT_UDP_WAIT_EINTR,
	SCRIPT_UDP_RECV_EAGAIN,
	SCRIPT_UDP_RECV_EINTR,
	SCRIPT_UDP_ICMP_RECV,
	SCRIPT_UDP_ICMP_SEND,
	SCRIPT_UDP_TRUNC,
	SCRIPT_UDP_WAIT_FAIL
};

/* The event byte's send events (bits 3-5). */
enum script_udp_send_event {
	SCRIPT_UDP_SEND_NONE = 0,
	SCRIPT_UDP_SEND_EAGAIN,
	SCRIPT_UDP_SEND_ENOBUFS,
	SCRIPT_UDP_SEND_EINTR,
	SCRIPT_UDP_SEND_PARTIAL,
	SCRIPT_UDP_SEND_FULL,
	SCRIPT_UDP_SEND_UNREACH,
	SCRIPT_UDP_SEND_STOP
};

/* A datagram's tag and events, decoded. */
struct script_udp_meta {
	int family;      /* 4 or 6 */
	unsigned sender; /* 0..SCRIPT_UDP_SENDERS-1 */
	unsigned batch;  /* 1: arrives only once every datagram before it is received */
	enum script_udp_recv_event recv;
	enum script_udp_send_event send;
	size_t period; /* decoded FILL: its pattern's length (the body repeats it); otherwise 0 */
};

struct script_udp_dec {
	const unsigned char *p;
	size_t n, off;
};

/* Starts decoding buf[0..n). Never fails. */
void script_udp_init(struct script_udp_dec *d, const unsigned char *buf, size_t n);

/* Decodes the next datagram into out (which must hold SCRIPT_UDP_MAX6 bytes; NULL skips the body), its
 * length into *len and its tag and events into *m. Returns 1 for a datagram, 0 at the end. */
int script_udp_read(struct script_udp_dec *d, unsigned char *out, size_t *len, struct script_udp_meta *m);

/* script_udp_read() for callers that need only the family (4 or 6). */
int script_udp_next(struct script_udp_dec *d, unsigned char *out, size_t *len, int *family);

/* Encodes one datagram of len bytes (len <= 65507 for family 4, <= 65527 for family 6; other
 * families are taken as 4) with its sender, batch bit and events, and the shortest kind: EMPTY, SHORT,
 * FILL when data is one repeated byte and long, else LONG. Returns the bytes needed as above, or 0 if
 * len is too large. */
size_t script_udp_enc_meta(unsigned char *out, size_t outlen, const unsigned char *data, size_t len,
                           const struct script_udp_meta *m);

/* script_udp_enc_meta() of a datagram from sender 0 with no events. */
size_t script_udp_enc(unsigned char *out, size_t outlen, const unsigned char *data, size_t len, int family);

#endif
