/* exchange_oracle.h - the stream oracle of a TCP exchange with an uppercase server: it judges what the
 * server sends back (bytes, FIN, RST) against what the client sent and says where a failure is (verdict,
 * stream offset, SPEC rule). Pure: no syscalls, no globals, no allocation; feed it events, read its
 * verdict. Expected bytes come from SPEC X1's plain rule (oracle_x1 in oracle.h), never from the servers'
 * fast transform, or from an explicit stream the caller gives (a recording). The driver in exchange.h
 * feeds it from sockets; a caller doing its own I/O (the load generator's epoll engine) feeds it
 * directly. Every public name starts with xchg_, like the driver's: the two are one exchange. */
#ifndef EXCHANGE_ORACLE_H
#define EXCHANGE_ORACLE_H

#include <stddef.h>

/* What reply the server owes. */
enum xchg_mode {
	XCHG_MODE_X1 = 0,   /* reply byte i is oracle_x1(sent byte i); owed: every byte sent (X1, T1) */
	XCHG_MODE_MIRROR,   /* reply byte i is reply[i], which answers sent byte i (a transform the caller
	                     * computed, e.g. identity for an echo server, or X1 precomputed for speed); owed:
	                     * every byte sent (T1) */
	XCHG_MODE_RECORDED, /* the reply is the stream reply[0..reply_len) whatever was sent (a recorded
	                     * server's output); owed: reply_len bytes */
	XCHG_MODE_LENGTH    /* bytes are not compared, only counted (a client that does not keep what it
	                     * sent); owed: every byte sent; more is extra (T1) */
};

/* How the server is to close its side once it has sent everything owed. */
enum xchg_close {
	XCHG_CLOSE_DEFAULT = 0, /* XCHG_CLOSE_FIN when the client half-closes, else XCHG_CLOSE_NONE */
	XCHG_CLOSE_NONE,        /* the server keeps the connection open: a FIN or RST from it is wrong */
	XCHG_CLOSE_FIN,         /* FIN (T4 after the client's half-close; or as recorded) */
	XCHG_CLOSE_RST,         /* RST, as recorded */
	XCHG_CLOSE_ANY          /* not judged: any close, or none, once every owed byte came */
};

/* What the client sends and what it expects back. Zero-fill, then set what applies. The oracle keeps
 * the pointers, not copies: the bytes must stay valid while it is used. */
struct xchg_expect {
	enum xchg_mode mode;
	/* Every byte the client will send, in order: sent[0..sent_len). May be NULL in XCHG_MODE_LENGTH
	 * and XCHG_MODE_RECORDED without open_end. How many of them have actually gone out is told to
	 * the oracle with xchg_oracle_sent(). */
	const unsigned char *sent;
	size_t sent_len;
	/* > 0: client byte i is sent[i % period] (and in XCHG_MODE_MIRROR reply byte i is
	 * reply[i % period]): a repeating pattern, with endless. Not used with XCHG_MODE_RECORDED. */
	size_t period;
	/* The stream has no set length (a load generator, a pipe): sent_len is ignored and the client
	 * has finished sending only once xchg_oracle_shut() says so. Needs period, or XCHG_MODE_LENGTH. */
	int endless;
	/* XCHG_MODE_MIRROR: reply[i] answers sent[i] (reply_len is sent_len, or period); ignored
	 * otherwise. XCHG_MODE_RECORDED: the expected stream. */
	const unsigned char *reply;
	size_t reply_len;
	/* The client half-closes (shutdown SHUT_WR) once it has sent everything: every byte still owed
	 * must then come back, followed by the close (T4). The driver does the shutdown; a caller doing
	 * its own I/O tells the oracle with xchg_oracle_shut(). */
	int half_close;
	enum xchg_close close;
	/* XCHG_MODE_RECORDED: the recording was cut short by the client's reset while the server still
	 * owed output (T6), so the server may send more than reply_len: bytes past reply_len are judged
	 * as the X1 transform of sent (offset i against oracle_x1(sent[i])), up to the bytes sent. */
	int open_end;
	/* The client will reset the connection (it does not wait for the whole answer): the server's
	 * FIN or RST is not judged, and the bytes that came are judged as they are (a right prefix is
	 * all that is asked). Wrong and extra bytes are still failures. */
	int client_resets;
};

/* The oracle's verdict. XCHG_RIGHT_SO_FAR and XCHG_COMPLETE are not failures; every other value is,
 * and the first failure sticks (later events do not change it). */
enum xchg_verdict {
	XCHG_RIGHT_SO_FAR = 0, /* every byte received is right; more bytes or the close are still owed */
	XCHG_COMPLETE,         /* every owed byte came back right, then the close expected (if any) */
	XCHG_WRONG_BYTE,       /* a received byte differs from the expected one (offset: that byte) */
	XCHG_EXTRA_BYTES,      /* more bytes than owed: the server added bytes (offset: the first extra) */
	XCHG_EARLY_FIN,        /* the server's FIN came while bytes were still owed (offset: bytes got) */
	XCHG_FIN_BEFORE_SHUT,  /* every byte sent came back, but the server closed (FIN) before the client
	                        * half-closed, when it was to keep the connection open */
	XCHG_RESET,            /* the server reset the connection (RST, or a send/recv error) when FIN or
	                        * nothing was expected (offset: bytes got) */
	XCHG_WRONG_CLOSE,      /* every owed byte came, then a close other than the expected one (a
	                        * recorded FIN answered by RST, a recorded RST by FIN) */
	XCHG_INCOMPLETE,       /* final (xchg_oracle_finish, xchg_oracle_client_reset): the bytes that came
	                        * are right but fewer than owed (offset: bytes got) */
	XCHG_NO_CLOSE          /* final: every owed byte came but not the expected close (no FIN after the
	                        * client's half-close: T4) */
};

/* The oracle's state. Zero-fill by xchg_oracle_init(); the fields are read-only for the caller. */
struct xchg_oracle {
	struct xchg_expect expect;
	size_t sent;               /* client bytes that have gone out (xchg_oracle_sent) */
	size_t got;                /* server bytes received, every one, right or not */
	int shut;                  /* the client half-closed */
	int fin, rst;              /* the server's FIN / RST was seen */
	int client_reset;          /* the client reset (xchg_oracle_client_reset) */
	size_t reset_owed;         /* the owed_min given to xchg_oracle_client_reset */
	enum xchg_verdict verdict; /* a failure sticks; otherwise it follows the state (more bytes sent
	                            * after XCHG_COMPLETE make it XCHG_RIGHT_SO_FAR again) */
	const char *rule; /* the SPEC rule the failure breaks ("X1", "T1", "T4"), NULL when none applies
	                   * (right so far, complete, or a difference from a recording) */
	size_t offset;    /* with a failure: the stream offset it is at (see enum xchg_verdict) */
	int got_byte;     /* XCHG_WRONG_BYTE, XCHG_EXTRA_BYTES: the byte received at offset; else -1 */
	int want_byte;    /* XCHG_WRONG_BYTE: the byte expected at offset; else -1 */
	/* With a failure at a received byte: received bytes around it, window[0..window_len) being
	 * stream bytes window_off.. (up to 16 bytes before offset, as far as they were seen, and the
	 * rest of that chunk up to 32 bytes in all). */
	unsigned char window[32];
	size_t window_off, window_len;
	unsigned char tail[16]; /* the last bytes received (tail_len of them), for the window */
	size_t tail_len;
};

/* Starts judging one exchange described by e (copied; the bytes it points to are not). */
void xchg_oracle_init(struct xchg_oracle *o, const struct xchg_expect *e);

/* The client has sent n more bytes (the next n of the stream). Returns the verdict. */
enum xchg_verdict xchg_oracle_sent(struct xchg_oracle *o, size_t n);

/* The client half-closed: it sends nothing more. Returns the verdict. */
enum xchg_verdict xchg_oracle_shut(struct xchg_oracle *o);

/* The server sent p[0..n) (the next n bytes of its stream; n may be 0). Returns the verdict. Each
 * byte is judged once, at any split: feeding a stream whole or one byte at a time gives the same
 * verdict, offset and rule. */
enum xchg_verdict xchg_oracle_recv(struct xchg_oracle *o, const unsigned char *p, size_t n);

/* The server's FIN was seen (recv returned 0). Returns the verdict. */
enum xchg_verdict xchg_oracle_fin(struct xchg_oracle *o);

/* The server reset the connection (ECONNRESET, EPIPE or another error on the socket). Returns the
 * verdict. */
enum xchg_verdict xchg_oracle_rst(struct xchg_oracle *o);

/* The client reset the connection, having asked for at least owed_min reply bytes before it (replay:
 * the bytes that came before the reset in the capture). The exchange ends: a right stream of at
 * least owed_min bytes is XCHG_COMPLETE, a shorter one XCHG_INCOMPLETE. Returns the verdict. */
enum xchg_verdict xchg_oracle_client_reset(struct xchg_oracle *o, size_t owed_min);

/* The caller stops waiting (a timeout, or the end of its plan): a stream still right so far becomes
 * XCHG_INCOMPLETE when bytes are owed, XCHG_NO_CLOSE when only the close is, XCHG_COMPLETE when
 * nothing is (no half-close asked and every byte sent came back). Returns the final verdict. */
enum xchg_verdict xchg_oracle_finish(struct xchg_oracle *o);

/* Reply bytes the server owes in all so far: reply_len in XCHG_MODE_RECORDED, else the bytes sent. */
size_t xchg_oracle_owed(const struct xchg_oracle *o);

/* Reply bytes the client expects in all: reply_len in XCHG_MODE_RECORDED, else every byte it means to
 * send (sent_len, or the bytes sent so far when endless or past sent_len). */
size_t xchg_oracle_planned(const struct xchg_oracle *o);

/* Writes the expected reply bytes at stream offsets [off, off + n) into dst, as far as they are known
 * (not past the bytes owed). Returns how many were written. For reports (excerpts, hexdumps). */
size_t xchg_oracle_expected(const struct xchg_oracle *o, size_t off, unsigned char *dst, size_t n);

/* Tells whether v is a failure (anything but XCHG_RIGHT_SO_FAR and XCHG_COMPLETE). */
int xchg_failed(enum xchg_verdict v);

/* The verdict's name: "right so far", "complete", "wrong byte", "extra bytes", "FIN too early",
 * "FIN before the half-close", "reset", "wrong close", "incomplete", "no close". */
const char *xchg_verdict_name(enum xchg_verdict v);

/* Writes one line (no newline, cut to len) saying where the exchange stands, e.g. "wrong byte at
 * offset 17: got 0x61, expected 0x41 (X1)", "FIN after 3 of 5 bytes (T1)", "3 of 5 bytes back so
 * far", "5 of 5 bytes back (half-closed), then FIN: complete". Returns buf. */
char *xchg_oracle_describe(const struct xchg_oracle *o, char *buf, size_t len);

#endif
