/* upper.h - the pure core of the uppercase protocol (SPEC.md): transform, TCP connection
 * state machine and UDP rule that the servers run and the fuzz targets drive (the checkers' oracles
 * are in oracle.h). No syscalls, no globals, no allocation. */
#ifndef UPPER_H
#define UPPER_H

#include <stddef.h>
#include <stdint.h>

/* ---- Transform (SPEC X1) ------------------------------------------------------------------------ */

/* Returns the transform of one byte: 'a'-'z' -> 'A'-'Z', every other value unchanged. */
static inline unsigned char upper_byte(unsigned char c)
{
	return (unsigned char)(c - ((unsigned char)(c - 'a') < 26u ? 0x20u : 0u));
}

/* Writes the transform of src[0..n) to dst[0..n). dst may equal src (in place); otherwise the ranges
 * must not overlap. Runs at memory speed (AVX2 where the CPU has it, SSE2 where the compiler targets it,
 * a vectorizable loop elsewhere). */
void upper_transform(unsigned char *dst, const unsigned char *src, size_t n);

/* ---- UDP (SPEC U1-U6) --------------------------------------------------------------------------- */

#define UPPER_UDP_MAX4 65507u /* largest UDP payload over IPv4 */
#define UPPER_UDP_MAX6 65527u /* largest UDP payload over IPv6 (without jumbograms) */

/* Computes the one reply (U1) to a datagram of n bytes: the transform, same length (U2, U3, U6).
 * out must hold n bytes and may equal in. Returns the reply length, always n. */
size_t upper_udp_reply(unsigned char *out, const unsigned char *in, size_t n);

/* ---- TCP connection state machine (SPEC T1-T8) -------------------------------------------------- */

/* Every syscall result on a connection becomes one of these events. */
enum upper_ev {
	UPPER_EV_READ = 1, /* read() placed n > 0 bytes at the space upper_conn_rspace() gave */
	UPPER_EV_EOF,      /* read() returned 0: the peer half-closed (FIN) */
	UPPER_EV_RESET,    /* read() failed (ECONNRESET, ...) or the socket reported an error */
	UPPER_EV_WROTE,    /* write() accepted n > 0 bytes of the pending output */
	UPPER_EV_AGAIN,    /* write() would block (EAGAIN): wait until writable */
	UPPER_EV_WERROR,   /* write() failed (EPIPE, ECONNRESET, ...) */
	UPPER_EV_WRITABLE, /* the socket became writable again after UPPER_EV_AGAIN */
	UPPER_EV_SHUTDOWN  /* the loop did shutdown(SHUT_WR) as UPPER_WANT_SHUTDOWN asked */
};

/* What the connection wants the event loop to do next (a bit set, from upper_conn_want()). */
enum {
	UPPER_WANT_READ = 1u << 0,     /* read into upper_conn_rspace() */
	UPPER_WANT_WRITE = 1u << 1,    /* write upper_conn_pending() now */
	UPPER_WANT_POLLOUT = 1u << 2,  /* output is owed but the socket is full: wait for writability */
	UPPER_WANT_SHUTDOWN = 1u << 3, /* every owed byte is sent after the peer's FIN: send our FIN */
	UPPER_WANT_CLOSE = 1u << 4     /* the connection is over: close the descriptor */
};

/* Connection state. Zero-fill it, then call upper_conn_init() with a caller-owned buffer; the buffer
 * bounds the bytes held per connection (SPEC T8). The core never allocates. */
struct upper_conn {
	unsigned char *buf; /* owned by the caller, cap bytes */
	size_t cap;         /* bound on bytes held (received but not yet written) */
	size_t off, len;    /* pending output is buf[off .. off+len) */
	unsigned flags;     /* UPPER_CF_* */
	uint64_t bytes_in;  /* total bytes received */
	uint64_t bytes_out; /* total bytes the socket accepted */
};

enum {
	UPPER_CF_EOF = 1u << 0,      /* peer sent FIN */
	UPPER_CF_BLOCKED = 1u << 1,  /* last write would block */
	UPPER_CF_SHUTDOWN = 1u << 2, /* our FIN is sent */
	UPPER_CF_DEAD = 1u << 3,     /* reset or write error: nothing more is sent */
	UPPER_CF_INIT = 1u << 4      /* upper_conn_init() was called */
};

/* Prepares c to use buf[0..cap) (cap > 0). Returns 0, or -1 if cap is 0 or buf is NULL. */
int upper_conn_init(struct upper_conn *c, unsigned char *buf, size_t cap);

/* Returns the number of bytes the loop may read now and sets *p to where they go; 0 means "do not
 * read" (buffer full: backpressure, or the peer is at EOF, or the connection is over). */
size_t upper_conn_rspace(struct upper_conn *c, unsigned char **p);

/* Returns the number of owed bytes ready to write and sets *p to them (0 when nothing is owed or the
 * connection is dead). The bytes are already transformed. */
size_t upper_conn_pending(const struct upper_conn *c, const unsigned char **p);

/* Returns the UPPER_WANT_* bits for the connection's current state. */
unsigned upper_conn_want(const struct upper_conn *c);

/* Feeds one event. n is the byte count for UPPER_EV_READ and UPPER_EV_WROTE and ignored otherwise.
 * Returns upper_conn_want() after the event, or -1 if the event is impossible in this state (a read
 * larger than the space given, a write of more than is pending, an event after close); on -1 the
 * state is unchanged. */
int upper_conn_event(struct upper_conn *c, enum upper_ev ev, size_t n);

/* Buffer lending, optional: a loop that holds many idle connections can attach a buffer to a
 * connection only while it holds bytes. upper_conn_release() detaches the buffer when nothing is pending
 * and returns it to the caller (NULL if bytes are pending or no buffer is attached). upper_conn_lend()
 * attaches a caller-owned buffer of the cap given to upper_conn_init(); returns 0, or -1 if buf is NULL
 * or c already holds one. While detached, upper_conn_want() is unchanged (it may say UPPER_WANT_READ:
 * lend, then call upper_conn_rspace()), upper_conn_rspace() returns 0 and a READ event returns -1. */
unsigned char *upper_conn_release(struct upper_conn *c);
int upper_conn_lend(struct upper_conn *c, unsigned char *buf);

/* ---- SPEC rules, for reports --------------------------------------------------------------------- */

/* Returns the one-line text of a SPEC rule id ("T4", "U2", ...), or NULL if there is no such rule. */
const char *upper_rule_text(const char *id);

#endif
