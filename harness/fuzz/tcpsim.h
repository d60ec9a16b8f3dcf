/* tcpsim.h - runs a TCP script (script.h) against tcp-upper's whole event loop (servers/tcp_loop.h:
 * accept path, connection table, dispatch to drive_wakeup(), epoll interest, close and reset paths,
 * buffer pool, memory give-back) bound to a simulated kernel: an accept queue, sockets, a
 * level-triggered epoll, a clock and an allocator, with the faults the script injects (descriptor
 * exhaustion, EINTR, accept errors, allocation and epoll_ctl failures). It checks SPEC T1 (each client
 * gets exactly its own bytes back, judged with oracle.h's plain rule), T4, T6, T8 at every event; that
 * every close has a cause it can name (the client's reset, an injected error or fault the loop met, or
 * FIN both ways after every owed byte); that the loop pauses at the descriptor limit and resumes, does
 * not spin, and ends holding no connection, no descriptor and no memory beyond its idle pool (T5, T7,
 * T9). Pure: no syscalls; it allocates per run and frees before returning. Used by the fuzz_tcp target;
 * the optional wire hook reports what a capture of the run would show (the unit tests check traces
 * with it). */
#ifndef TCPSIM_H
#define TCPSIM_H

#include <stddef.h>

/* What crosses the wire, reported in order through the optional hook. */
enum tcpsim_wire {
	TCPSIM_CONNECT = 1, /* a client connects on the slot (it waits in the accept queue) */
	TCPSIM_C_DATA,      /* the client sent p[0..n) */
	TCPSIM_C_FIN,       /* the client half-closed */
	TCPSIM_C_RST,       /* the client reset */
	TCPSIM_S_DATA,      /* the server's socket accepted p[0..n) (the client receives them) */
	TCPSIM_S_FIN,       /* the server half-closed (shutdown SHUT_WR) */
	TCPSIM_S_CLOSE      /* the server closed the descriptor */
};

struct tcpsim_hooks {
	/* Called for each wire event. gen counts connections on the slot (0 for the first). p is NULL
	 * unless data; it is valid during the call only. */
	void (*wire)(void *ctx, unsigned slot, unsigned gen, enum tcpsim_wire what, const unsigned char *p,
	             size_t n);
	void *ctx;
};

/* Run statistics. */
struct tcpsim_stats {
	size_t events;    /* script events decoded */
	size_t conns;     /* connections accepted */
	size_t bytes_in;  /* bytes the server read */
	size_t bytes_out; /* bytes the server's sockets accepted */
	size_t resets;    /* connections that ended reset (client RST, write error, injected fault) */
	size_t fins;      /* connections that ended with the server's FIN */
};

/* Runs the script in[0..n). hooks and st may be NULL. Returns 0 when every SPEC check held, 1 when one
 * failed (why says which rule, slot and offset), or -1 when memory ran out (why says so). */
int tcpsim_run(const unsigned char *in, size_t n, const struct tcpsim_hooks *hooks, struct tcpsim_stats *st,
               char *why, size_t whylen);

#endif
