/* drive.h - one wakeup of a TCP connection: the loop that turns the core's UPPER_WANT_* bits into I/O
 * calls and their results into UPPER_EV_* events, shared by tcp-upper (real sockets) and the fuzz
 * target (simulated sockets), so the fuzzer runs the very code the server runs. Pure: no syscalls, no
 * globals, no allocation; every effect goes through the caller's struct drive_io callbacks. */
#ifndef DRIVE_H
#define DRIVE_H

#include <stddef.h>
#include <sys/types.h>

#include "upper.h"

/* A fast sender yields to the other connections after this many reads in one wakeup (SPEC T7). */
#define DRIVE_READS 16

/* Classified failures of the send and recv callbacks. For send, any other value below 1 counts as
 * DRIVE_IO_ERR; for recv, any other negative value. */
enum {
	DRIVE_IO_AGAIN = -1, /* would block (EAGAIN, EWOULDBLOCK) */
	DRIVE_IO_INTR = -2,  /* interrupted (EINTR): the drive retries */
	DRIVE_IO_ERR = -3    /* failed for good (EPIPE, ECONNRESET, ...) */
};

/* What the socket reported at this wakeup (a bit set for drive_wakeup()'s ready argument). */
enum {
	DRIVE_READY_IN = 1u << 0, /* readable, or an error or hang-up (EPOLLIN, EPOLLERR, EPOLLHUP) */
	DRIVE_READY_OUT = 1u << 1 /* writable (EPOLLOUT) */
};

/* The caller's side of the connection. ctx is passed back unchanged to every callback. */
struct drive_io {
	/* Offers p[0..n) (n > 0) to the socket. Returns the k bytes accepted, 1 <= k <= n, or an
	 * DRIVE_IO_* code. Required. */
	ssize_t (*send)(void *ctx, const unsigned char *p, size_t n);
	/* Reads at most n bytes (n > 0) into p. Returns k, 1 <= k <= n; 0 for end of input (FIN); or an
	 * DRIVE_IO_* code. Required. */
	ssize_t (*recv)(void *ctx, unsigned char *p, size_t n);
	/* Half-closes the sending side (shutdown SHUT_WR). A failure is ignored: the peer is gone and the
	 * close that follows is all that is left. Required. */
	void (*shutdown_wr)(void *ctx);
	/* Buffer lending: returns a free buffer of the cap given to upper_conn_init(), now owned by the
	 * connection, or NULL when none is available (the drive stops reading until the next wakeup).
	 * Required. */
	unsigned char *(*buf_get)(void *ctx);
	/* Takes back a buffer that buf_get gave (never NULL). Required. */
	void (*buf_put)(void *ctx, unsigned char *b);
	/* Optional (NULL: none), for checkers and diagnostics: called after every event the drive feeds
	 * the core, with upper_conn_event()'s result (-1 if the core refused it). A nonzero return stops
	 * the drive at once: drive_wakeup() returns DRIVE_STOPPED. */
	int (*fed)(void *ctx, enum upper_ev ev, size_t n, int result);
};

/* drive_wakeup()'s results. */
enum {
	DRIVE_WAIT = 0,    /* wait for *interest (UPPER_WANT_READ and/or UPPER_WANT_POLLOUT) */
	DRIVE_CLOSE = 1,   /* the connection is over: close the descriptor, free c */
	DRIVE_BROKEN = -1, /* the core broke its contract (refused an event the drive fed, or
	                    * wanted READ with no space): a bug, c is unusable */
	DRIVE_STOPPED = -2 /* io->fed asked to stop; c is consistent but the wakeup is cut short */
};

/* Runs one wakeup of connection c (initialised with upper_conn_init(), its buffer possibly released).
 * ready is the DRIVE_READY_* bits the event loop saw. First, DRIVE_READY_OUT unblocks a connection
 * waiting for writability (UPPER_EV_WRITABLE). Then, until the connection must wait: write the pending
 * output; else send FIN once every owed byte is out after the peer's; else, while DRIVE_READY_IN and
 * at most DRIVE_READS times, read (lending a buffer through io->buf_get when c has none). A read
 * shorter than the space, or DRIVE_IO_AGAIN, means the socket is drained. At the end an empty
 * buffer goes back through io->buf_put, so an idle connection holds none.
 * Returns DRIVE_WAIT and sets *interest (never NULL) to the UPPER_WANT_READ and
 * UPPER_WANT_POLLOUT bits to wait for; or DRIVE_CLOSE, with c's buffer (if any) already given
 * back through io->buf_put and c->buf NULL; or a negative DRIVE_* code (*interest is then 0). */
int drive_wakeup(struct upper_conn *c, const struct drive_io *io, void *ctx, unsigned ready,
                 unsigned *interest);

#endif
