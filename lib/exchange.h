/* exchange.h - the client side of a TCP exchange with an uppercase server: one poll()-based driver that
 * runs one or many connections with bounded waits, sending while reading, and feeds each connection's
 * stream oracle (exchange_oracle.h, included here). Replay's player, conform's flows, the integration
 * tests and upper-client all use this one engine. It does the socket I/O but never prints or exits:
 * results are a status enum plus each connection's oracle, and xchg_*_describe() render one-line text. */
#ifndef EXCHANGE_H
#define EXCHANGE_H

#include <stddef.h>

#include "exchange_oracle.h"

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

/* Sends, without waiting and without reading, what c's socket takes now (up to send_limit, at most
 * wchunk bytes a call), feeding the oracle and the hook; a failed send is the server's reset. For a
 * client that has stopped reading. Returns 1 when the socket is full, 0 when everything allowed went
 * out (or the connection was reset), -1 when the hook asked to stop. */
int xchg_conn_push(struct xchg_conn *c);

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

/* ---- A set of client connections that open and close during one play against a server (conform's
 * random phase, fuzz-impl's TCP player). The caller keeps its own array of elements that each hold a
 * struct xchg_client. ---- */

struct xchg_client {
	int open;    /* connected */
	int stopped; /* its client has stopped reading */
	int done;    /* reset, or answered in full and closed */
	struct xchg_conn x;
};

struct xchg_set {
	struct xchg_client *first; /* the struct xchg_client of the array's first element */
	size_t count;              /* elements in use */
	size_t stride;             /* the size of one element */
};

/* Element k of s. */
struct xchg_client *xchg_set_at(const struct xchg_set *s, size_t k);

/* For a timeout's message: the index of the connection that may hold the server up while connection
 * besides waits, an open one not done whose client stopped reading while owed bytes, else any other
 * open one not done; s->count when there is none. */
size_t xchg_set_holding_up(const struct xchg_set *s, size_t besides);

/* Writes how c may hold the server up, named name: " while NAME stopped reading, owed N bytes" or
 * " while NAME stayed open". */
void xchg_client_holding(const struct xchg_client *c, const char *name, char *buf, size_t len);

/* Picks the open, unfinished connections to wait on into list (room for s->count) and sets their
 * goal: with finish every one (a stopped reader reads again and half-closes) to the end of its
 * exchange, else each reading one that is owed bytes until all it sent is answered. Returns how
 * many. */
size_t xchg_set_waiting(const struct xchg_set *s, int finish, size_t *list);

/* Runs the connections list[0..n) of s together under l (xchg_run() on copies, written back);
 * r->conn is an index into s, not into list. Returns r->status (XCHG_RUN_DONE for n = 0,
 * XCHG_RUN_ERROR with err when out of memory). */
enum xchg_run_status xchg_set_run(const struct xchg_set *s, const size_t *list, size_t n,
                                  const struct xchg_limits *l, struct xchg_run_result *r, char *err,
                                  size_t errlen);

/* Closes (FIN) every open connection whose server finished its answer, complete, and marks it done. */
void xchg_set_close_finished(const struct xchg_set *s);

#endif
