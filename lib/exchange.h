/* exchange.h - the client side of a TCP exchange with an uppercase server: a pure stream oracle that
 * judges what the server sends back (bytes, FIN, RST) against what the client sent, and one poll()-based
 * driver that runs one or many connections with bounded waits. Replay's player, conform's flows, the
 * load generator, the integration tests and upper-client all use this one engine.
 *
 * The oracle (xchg_oracle_*) is pure: no syscalls, no globals, no allocation; feed it events, read its
 * verdict. The driver (xchg_run) does the socket I/O and feeds the oracle; it never prints or exits:
 * results are a status enum plus each connection's oracle, and xchg_*_describe() render one-line text.
 * Expected bytes come from SPEC X1's plain rule (oracle_x1 in oracle.h), never from the servers' fast
 * transform, or from an explicit stream the caller gives (a recording). */
#ifndef EXCHANGE_H
#define EXCHANGE_H

#include <stddef.h>

/* ---- The stream oracle --------------------------------------------------------------------------- */

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

/* ---- The driver ---------------------------------------------------------------------------------- */

/* Events the driver reports to a connection's hook, in the order they happen. */
enum xchg_event {
	XCHG_EV_SEND,  /* the client sent p[0..n) */
	XCHG_EV_RECV,  /* the server's bytes p[0..n) arrived (reported before the oracle judges them) */
	XCHG_EV_SHUT,  /* the client half-closed */
	XCHG_EV_FIN,   /* the server's FIN arrived */
	XCHG_EV_RST,   /* the server reset the connection (or the socket failed: c->error) */
	XCHG_EV_CLOSE, /* the client closed the connection (xchg_conn_close) */
	XCHG_EV_RESET  /* the client reset the connection (xchg_conn_reset) */
};

struct xchg_conn;

/* Called for every event on a connection: p/n hold the bytes for XCHG_EV_SEND and XCHG_EV_RECV (NULL,
 * 0 otherwise). Returns 0 to go on, -1 to stop the run (XCHG_RUN_HOOK; for example output that could
 * not be written). May sleep (a slow reader) and may do its own I/O on other descriptors. */
typedef int (*xchg_hook)(void *arg, const struct xchg_conn *c, enum xchg_event ev, const unsigned char *p,
                         size_t n);

/* When a connection's part of a run is over. A failure verdict ends it in every case. */
enum xchg_until {
	XCHG_UNTIL_END = 0, /* its verdict is XCHG_COMPLETE (or, with expect.client_resets, everything up
	                     * to send_limit is sent, or its stall phase is over when it has one) */
	XCHG_UNTIL_SENT,    /* every byte up to send_limit has gone out (reading all the while), and the
	                     * half-close is done when asked; or the server reset (nothing more can go) */
	XCHG_UNTIL_GOT      /* at least until_got reply bytes came, or the server closed (FIN or RST) */
};

/* One connection of a run. Set up with xchg_conn_init(), adjust the options, then run it with
 * xchg_run(), once or step by step (raise send_limit or until_got, set expect.half_close through
 * xchg_conn_half_close(), between runs). */
struct xchg_conn {
	/* ---- options, set by the caller ---- */
	int fd;            /* a connected stream socket; xchg_run() makes it non-blocking */
	unsigned id;       /* the connection's number in descriptions ("connection 3") */
	size_t wchunk;     /* at most this many bytes per send() (0: as many as the socket takes) */
	size_t rchunk;     /* at most this many bytes per recv() (0: 64 KiB) */
	int lockstep;      /* send the next chunk only once every byte sent came back */
	int stall_ms;      /* > 0: first, before anything else in its first run, send without reading until
	                    * the server has taken nothing for stall_ms (it pushes back, T8) or all is sent */
	int hold;          /* read no more than is owed (XCHG_MODE_RECORDED: reply_len): what comes after
	                    * stays in the socket, as with a client that reads only its answer. When the
	                    * server stops reading too (a holding connection could not send for 250 ms), the
	                    * hold is dropped so that neither side waits for the other forever */
	int send_first;    /* in a wakeup that can both send and receive, send first: the client's bytes go
	                    * out before what came back is judged, so a server that sends garbage before
	                    * reading is judged the same whichever of the two the poll saw first */
	size_t send_limit; /* send no byte at or past this stream offset (xchg_conn_init: sent_len) */
	enum xchg_until until;
	size_t until_got; /* with XCHG_UNTIL_GOT */
	/* >= 0: the bytes to send are read from this descriptor (a pipe, stdin) as they come, into
	 * source_buf[0..source_cap), instead of expect.sent (use XCHG_MODE_LENGTH and endless). Its end of
	 * file ends the stream (then the half-close, if asked). While it is open the idle timeout does
	 * not run: waiting for input is not the server's doing. -1: not used (xchg_conn_init). */
	int source_fd;
	unsigned char *source_buf;
	size_t source_cap;
	/* Not NULL: the reply bytes are also stored at their stream offset, as far as store_cap. */
	unsigned char *store;
	size_t store_cap;
	xchg_hook hook; /* NULL: none */
	void *hook_arg;
	/* ---- state, read-only for the caller ---- */
	struct xchg_oracle oracle; /* sent, got, close seen, verdict */
	int error;         /* errno of the failed send() or recv() that ended the connection, 0 if none */
	int reset_on_send; /* the server's reset was seen by send() (EPIPE, ECONNRESET), not recv() */
	int shut_done;     /* the driver half-closed */
	int stall_done;    /* the stall phase is over */
	int stalled;       /* the stall phase ended with bytes unsent: the server stopped taking them */
	size_t stalled_at; /* bytes sent when the stall phase ended */
	int source_eof;    /* source_fd reached its end */
	size_t source_off, source_len; /* source_buf[source_off..source_len) is read but not yet sent */
};

/* Sets c up for one exchange on fd: every option zero (but send_limit = e->sent_len, or SIZE_MAX when
 * e->endless; source_fd = -1) and the oracle started with e. */
void xchg_conn_init(struct xchg_conn *c, int fd, unsigned id, const struct xchg_expect *e);

/* Asks for the half-close once everything up to expect.sent_len is sent (a step of a stepwise run). */
void xchg_conn_half_close(struct xchg_conn *c);

/* Closes c->fd normally (FIN) and sets it to -1; reports XCHG_EV_CLOSE to the hook first. Does
 * nothing when fd is -1. */
void xchg_conn_close(struct xchg_conn *c);

/* Reads, without waiting, what has already arrived on c (as far as hold allows), feeding the oracle
 * and the hook, until the socket is empty, the server closed or the verdict is a failure. Returns 0,
 * or -1 when the hook asked to stop. */
int xchg_conn_drain(struct xchg_conn *c);

/* Resets the connection of c (set up by xchg_conn_init; SO_LINGER 0, then close: RST), sets fd to
 * -1, reports XCHG_EV_RESET and tells the oracle (xchg_oracle_client_reset with owed_min). Reads
 * nothing first: xchg_conn_drain() takes what has already come. */
void xchg_conn_reset(struct xchg_conn *c, size_t owed_min);

/* Bounds on a run's waits. */
struct xchg_limits {
	int idle_ms;    /* a run with no progress (no byte sent or received, no close) for this long ends
	                 * with XCHG_RUN_IDLE (0: no idle bound) */
	int budget_ms;  /* the whole run ends with XCHG_RUN_BUDGET after this long (0: no bound) */
	int keep_going; /* a failing connection is set aside and the others go on (the status is still
	                 * XCHG_RUN_FAILED, result.conn the first to fail, result.failed how many); 0: the
	                 * run stops at the first failure */
};

/* How a run ended. */
enum xchg_run_status {
	XCHG_RUN_DONE = 0, /* every connection reached its goal (see enum xchg_until) without a failure */
	XCHG_RUN_FAILED,   /* a connection's verdict is a failure (result.conn); the run stopped there */
	XCHG_RUN_IDLE,     /* no progress for idle_ms (result.conn: the last unfinished connection) */
	XCHG_RUN_BUDGET,   /* budget_ms passed (result.conn: the last unfinished connection) */
	XCHG_RUN_HOOK,     /* a hook returned -1 (result.conn: whose) */
	XCHG_RUN_ERROR     /* a local error: poll(), memory, shutdown(), the source descriptor (errno in
	                    * result.error, a reason in err) */
};

struct xchg_run_result {
	enum xchg_run_status status;
	size_t conn;   /* index into the run's connections that the status is about (0 when DONE) */
	size_t done;   /* connections that reached their goal */
	size_t failed; /* connections whose verdict is a failure */
	int error;     /* XCHG_RUN_ERROR: errno */
	int elapsed_ms;
};

/* Runs c[0..n) together until each has reached its goal (c[i].until), one fails, a bound of l passes
 * (l NULL: no bounds), a hook stops it, or a local error. First come the stall phases, one connection
 * after the other; then all connections at once: sending while reading (so the server's backpressure
 * cannot deadlock the client), at most wchunk/rchunk bytes per call, with lockstep one chunk at a
 * time; a connection is half-closed once it has sent all of expect.sent_len (or its source ended)
 * when expect.half_close asks, and no longer read after the server's FIN or RST. Every event goes to
 * the oracle and the hook. A connection already at its goal, or whose fd is -1, is not touched and
 * counts as done; one whose verdict is already a failure counts as failed. A run that ends on a bound
 * leaves the verdicts as they are: xchg_oracle_finish() gives the final one. Fills *r and returns
 * r->status; err (may be NULL) gets a reason for XCHG_RUN_ERROR ("poll: ...", "shutdown: ...",
 * "source: ..."). Prints nothing. Thread-safe for distinct connections. */
enum xchg_run_status xchg_run(struct xchg_conn *c, size_t n, const struct xchg_limits *l,
                              struct xchg_run_result *r, char *err, size_t errlen);

/* Writes one line (no newline, cut to len) about a run's outcome, from r and the connections it ran
 * (l, which may be NULL, for the bounds it names): for a failure "connection 3: wrong byte at offset
 * 17: got 0x61, expected 0x41 (X1)" (and, with more than one connection, "; 1 of 5 connections
 * failed"), for a timeout "no progress for 2000 ms: connection 3 got 10 of 20 bytes answered (20 sent,
 * half-closed); 4 of 5 connections complete", for DONE "5 connections complete". Returns buf. */
char *xchg_run_describe(const struct xchg_conn *c, size_t n, const struct xchg_run_result *r,
                        const struct xchg_limits *l, char *buf, size_t len);

#endif
