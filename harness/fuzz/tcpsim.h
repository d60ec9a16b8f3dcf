/* tcpsim.h - runs a TCP script (script.h) against the core's struct upper_conn through tcp-upper's own
 * drive_wakeup() (drive.h) over simulated sockets, checking SPEC T1, T4, T6, T8 at every step. Pure: no
 * syscalls; it allocates per run and frees before returning. Used by the fuzz_tcp target; the optional
 * wire hook reports what a capture of the run would show (the unit tests check traces with it). */
#ifndef TCPSIM_H
#define TCPSIM_H

#include <stddef.h>

/* What crosses the wire, reported in order through the optional hook. */
enum tcpsim_wire {
	TCPSIM_CONNECT = 1, /* a client connects on the slot (the server accepts) */
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
	size_t resets;    /* connections that ended reset (client RST or write error) */
	size_t fins;      /* connections that ended with the server's FIN */
};

/* Runs the script in[0..n). hooks and st may be NULL. Returns 0 when every SPEC check held, 1 when one
 * failed (why says which rule, slot and offset), or -1 when memory ran out (why says so). */
int tcpsim_run(const unsigned char *in, size_t n, const struct tcpsim_hooks *hooks, struct tcpsim_stats *st,
               char *why, size_t whylen);

#endif
